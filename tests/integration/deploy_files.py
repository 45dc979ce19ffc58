# SPDX-License-Identifier: MIT
"""What the files in deploy/ say, read from the files themselves: the KEDA
query and threshold, the prometheus-adapter rule and the HPA target, the
recording and alerting rules, the scrape job, the dashboard's queries.  The
tests evaluate exactly these strings, so a change to deploy/ is tested as
written.  Also the replica counts the Kubernetes HPA computes from them.
"""

import copy
import json
import math
import os
import re

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(os.path.dirname(os.path.dirname(HERE)), "deploy")
KEDA = os.path.join(DEPLOY, "keda-scaledobject.yaml")
HPA = os.path.join(DEPLOY, "hpa.yaml")
RULES = os.path.join(DEPLOY, "prometheus-rules.yaml")
RULES_TEST = os.path.join(DEPLOY, "prometheus-rules.test.yaml")
SCRAPE = os.path.join(DEPLOY, "prometheus-scrape.yaml")
DASHBOARD = os.path.join(DEPLOY, "grafana-dashboard.json")

# The HPA leaves the replica count alone while the ratio of the metric to its
# target is within this of 1 (kube-controller-manager's
# --horizontal-pod-autoscaler-tolerance default).
HPA_TOLERANCE = 0.1


def _documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def _one(path, kind):
    found = [d for d in _documents(path) if d.get("kind") == kind]
    if len(found) != 1:
        raise AssertionError("%s: expected one %s, found %d" % (path, kind, len(found)))
    return found[0]


class Keda:
    """The prometheus trigger of deploy/keda-scaledobject.yaml."""

    def __init__(self, path=KEDA):
        obj = _one(path, "ScaledObject")
        triggers = [t for t in obj["spec"]["triggers"] if t.get("type") == "prometheus"]
        if len(triggers) != 1:
            raise AssertionError("%s: expected one prometheus trigger" % path)
        self.object = obj
        self.trigger = triggers[0]
        self.metadata = self.trigger["metadata"]
        self.query = self.metadata["query"]
        self.threshold = float(self.metadata["threshold"])
        # KEDA's default when metricType is not given.
        self.metric_type = self.trigger.get("metricType", "AverageValue")
        self.namespace = obj["metadata"].get("namespace", "default")
        self.deployment = obj["spec"]["scaleTargetRef"]["name"]


class Hpa:
    """deploy/hpa.yaml: the prometheus-adapter rule and the HPA's Pods target."""

    def __init__(self, path=HPA):
        config_map = _one(path, "ConfigMap")
        config = yaml.safe_load(config_map["data"]["config.yaml"])
        if len(config["rules"]) != 1:
            raise AssertionError("%s: expected one adapter rule" % path)
        self.rule = config["rules"][0]
        hpa = _one(path, "HorizontalPodAutoscaler")
        metrics = [m for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
        if len(metrics) != 1:
            raise AssertionError("%s: expected one Pods metric" % path)
        self.metric_name = metrics[0]["pods"]["metric"]["name"]
        target = metrics[0]["pods"]["target"]
        if target["type"] != "AverageValue":
            raise AssertionError("%s: Pods target type %s" % (path, target["type"]))
        self.target = float(target["averageValue"])
        self.namespace = hpa["metadata"].get("namespace", "default")

    def series(self):
        """The metric name the rule's seriesQuery discovers."""
        return re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", self.rule["seriesQuery"].strip("'\" ")).group(0)

    def metric_query(self, namespace, pods):
        """The query prometheus-adapter sends for the HPA's request for
        these pods: its template with the series, the label matchers for
        the namespace and the pods, and grouping by pod."""
        matchers = 'namespace="%s",pod=~"%s"' % (namespace, "|".join(_promql_regex_literal(p) for p in pods))
        query = self.rule["metricsQuery"]
        for key, value in (("<<.Series>>", self.series()), ("<<.LabelMatchers>>", matchers),
                           ("<<.GroupBy>>", "pod")):
            query = query.replace(key, value)
        if "<<" in query:
            raise AssertionError("adapter metricsQuery has a template field the test does not fill: %s" % query)
        return query


def _promql_regex_literal(text):
    """text as a regex that matches it literally (Go's regexp.QuoteMeta, as
    the adapter builds it), inside a PromQL string (backslashes doubled)."""
    quoted = re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)
    return quoted.replace("\\", "\\\\")


def rule_groups(path=RULES):
    with open(path) as f:
        return yaml.safe_load(f)["groups"]


def recording_rules(path=RULES):
    """{record name: expr}"""
    return {r["record"]: r["expr"] for g in rule_groups(path) for r in g["rules"] if "record" in r}


def alerting_rules(path=RULES):
    """{alert name: expr}"""
    return {r["alert"]: r["expr"] for g in rule_groups(path) for r in g["rules"] if "alert" in r}


def scrape_job(path=SCRAPE, name="runway-bpfd"):
    with open(path) as f:
        config = yaml.safe_load(f)
    jobs = [j for j in config["scrape_configs"] if j["job_name"] == name]
    if len(jobs) != 1:
        raise AssertionError("%s: expected one job %s" % (path, name))
    return config, jobs[0]


def job_with_static_pods(job, pods):
    """The scrape job with its Kubernetes service discovery replaced by
    static targets that carry the labels the pod role would give them
    (__meta_kubernetes_*), so that the job's own relabeling runs on them.
    pods: [(address, {meta label suffix: value})], e.g.
    ("127.0.0.1:9091", {"namespace": "default", "pod_name": "my-api-...",
    "pod_container_port_name": "runway-metrics", "pod_phase": "Running"})."""
    job = copy.deepcopy(job)
    sd = job.pop("kubernetes_sd_configs", None)
    if not sd or [c.get("role") for c in sd] != ["pod"]:
        raise AssertionError("scrape job %s: expected kubernetes_sd_configs with role pod" % job["job_name"])
    job["static_configs"] = [
        {"targets": [address], "labels": {"__meta_kubernetes_" + k: v for k, v in meta.items()}}
        for address, meta in pods]
    return job


def dashboard_queries(substitutions, path=DASHBOARD):
    """[(panel title, refId, expr with the dashboard variables substituted)]"""
    with open(path) as f:
        dashboard = json.load(f)
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            # Longest names first: $__rate_interval before a shorter $x.
            for name in sorted(substitutions, key=len, reverse=True):
                expr = expr.replace("${%s}" % name, substitutions[name]).replace("$" + name, substitutions[name])
            if "$" in expr:
                raise AssertionError("panel %r: variable left in %s" % (panel["title"], expr))
            out.append((panel["title"], target["refId"], expr))
    return out


def dashboard_defaults(path=DASHBOARD):
    """{variable name: its default value} for the textbox variables."""
    with open(path) as f:
        dashboard = json.load(f)
    return {v["name"]: v["query"] for v in dashboard["templating"]["list"] if v["type"] == "textbox"}


def hpa_external_average_value(total, target, current):
    """Replicas the HPA asks for from an External metric with an
    AverageValue target (what KEDA's AverageValue trigger becomes): the
    metric is a total over the pods."""
    ratio = total / (target * current)
    if abs(ratio - 1.0) <= HPA_TOLERANCE:
        return current
    return math.ceil(ratio * current)


def hpa_pods_average_value(values, target, current):
    """Replicas the HPA asks for from a Pods metric with an AverageValue
    target, every pod reporting: the average over the pods against the
    target, times the pods."""
    ratio = sum(values) / len(values) / target
    if abs(ratio - 1.0) <= HPA_TOLERANCE:
        return current
    return math.ceil(ratio * len(values))
