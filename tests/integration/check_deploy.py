#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Static checks of deploy/ (`make deploy-test`; no root, no BPF needed):

- promtool check config on deploy/prometheus-scrape.yaml (with its rule file);
- promtool test rules deploy/prometheus-rules.test.yaml;
- the KEDA ScaledObject, the HPA and prometheus-adapter ConfigMap, and the
  Grafana dashboard are well formed and agree with each other.

What the queries return is tested against a real Prometheus by
tests/integration/test_prometheus.py.  Prints one line per check; exit code
1 if any failed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import deploy_files  # noqa: E402

# KEDA prometheus trigger fields that are deprecated or removed.
KEDA_DEPRECATED = ("metricName", "cortexOrgID")


def shown(path):
    return os.path.relpath(path, os.path.dirname(deploy_files.DEPLOY))


def promtool(*args):
    p = subprocess.run(["promtool"] + list(args), capture_output=True, text=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).strip()


def check_scrape_config():
    rc, out = promtool("check", "config", deploy_files.SCRAPE)
    if rc == 0:
        return "promtool check config %s" % shown(deploy_files.SCRAPE)
    if "field kubernetes_sd_configs not found" not in out:
        raise AssertionError(out)
    # Debian's Prometheus is built without Kubernetes discovery.  Check the
    # same file with the discovery replaced by a static target carrying the
    # labels the pod role gives (what the integration test scrapes through).
    config, job = deploy_files.scrape_job()
    meta = {"namespace": "default", "pod_name": "my-api-7d9f8b6c5d-x2v7q",
            "pod_container_port_name": "runway-metrics", "pod_phase": "Running",
            "pod_node_name": "node-1"}
    config["scrape_configs"] = [deploy_files.job_with_static_pods(job, [("10.0.0.1:9091", meta)])
                                if j is job else j for j in config["scrape_configs"]]
    with tempfile.TemporaryDirectory(prefix="runway-deploy-") as tmp:
        for rule_file in config.get("rule_files", []):
            shutil.copy(os.path.join(deploy_files.DEPLOY, rule_file), tmp)
        path = os.path.join(tmp, os.path.basename(deploy_files.SCRAPE))
        with open(path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        rc, out = promtool("check", "config", path)
        if rc != 0:
            raise AssertionError(out)
    return ("promtool check config %s (this promtool has no Kubernetes discovery: checked with "
            "kubernetes_sd_configs replaced by a static pod target)" % shown(deploy_files.SCRAPE))


def check_rules():
    rc, out = promtool("test", "rules", deploy_files.RULES_TEST)
    if rc != 0:
        raise AssertionError(out)
    return "promtool test rules %s" % shown(deploy_files.RULES_TEST)


def check_keda():
    keda = deploy_files.Keda()
    stale = [k for k in KEDA_DEPRECATED if k in keda.metadata]
    if stale:
        raise AssertionError("deprecated KEDA trigger fields: %s" % ", ".join(stale))
    if keda.metric_type != "AverageValue":
        raise AssertionError("metricType %s: the query is a total, AverageValue divides it by "
                             "threshold" % keda.metric_type)
    if keda.metadata.get("ignoreNullValues") != "false":
        raise AssertionError('ignoreNullValues must be "false": an empty result must not read as 0')
    if "runway_requests_outstanding_seconds_total" not in keda.query:
        raise AssertionError("KEDA query does not use runway_requests_outstanding_seconds_total")
    return "KEDA ScaledObject: %s, threshold %g per pod" % (keda.metric_type, keda.threshold)


def check_hpa():
    hpa = deploy_files.Hpa()
    name = hpa.rule["name"]["as"]
    if name != hpa.metric_name:
        raise AssertionError("the HPA asks for %s, the adapter serves %s" % (hpa.metric_name, name))
    if hpa.series() != "runway_requests_outstanding_seconds_total":
        raise AssertionError("adapter rule discovers %s" % hpa.series())
    keda = deploy_files.Keda()
    if hpa.target != keda.threshold:
        raise AssertionError("HPA averageValue %g vs KEDA threshold %g" % (hpa.target, keda.threshold))
    return "HPA and prometheus-adapter ConfigMap: %s, averageValue %g" % (name, hpa.target)


def check_dashboard():
    with open(deploy_files.DASHBOARD) as f:
        dashboard = json.load(f)
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        raise AssertionError("panel ids repeat: %s" % ids)
    for panel in dashboard["panels"]:
        if not panel.get("targets"):
            raise AssertionError("panel %r has no query" % panel["title"])
    queries = deploy_files.dashboard_queries(
        dict(deploy_files.dashboard_defaults(), namespace="default", __rate_interval="1m"))
    return "Grafana dashboard: %d panels, %d queries" % (len(ids), len(queries))


def main():
    failed = 0
    checks = (check_scrape_config, check_rules, check_keda, check_hpa, check_dashboard)
    for check in checks:
        try:
            print("ok    %s" % check(), flush=True)
        except (AssertionError, OSError, KeyError, ValueError, yaml.YAMLError) as e:
            failed += 1
            print("FAIL  %s: %s" % (check.__name__, e), flush=True)
    print("deploy: %d checks, %d failed" % (len(checks), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
