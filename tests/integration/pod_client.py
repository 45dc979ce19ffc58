#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Load for one simulated pod, run inside the pod's network namespace:

    nsenter --net=/proc/PID/ns/net /usr/bin/python3 pod_client.py --port 8000 PLAN

PLAN is JSON: a list of [method, path, count, "keepalive" | "oneshot"], sent
in order; or {"concurrent": N, "path": P}: N connections that each send one
GET at once and wait for its answer.  Prints {"method status": count} of the
answers as JSON; exits 1 if a request failed.
"""

import argparse
import collections
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import KeepAlive, one_shot  # noqa: E402

HOST = "127.0.0.1"


def run_plan(port, plan, answers):
    for method, path, count, mode in plan:
        body = b"x" * 100 if method in ("POST", "PUT") else None
        if mode == "keepalive":
            conn = KeepAlive(HOST, port)
            try:
                for _ in range(count):
                    status, _ = conn.request(method, path, body=body)
                    answers["%s %d" % (method, status)] += 1
            finally:
                conn.close()
        elif mode == "oneshot":
            for _ in range(count):
                status, _ = one_shot(HOST, port, method, path, body=body)
                answers["%s %d" % (method, status)] += 1
        else:
            raise ValueError("unknown mode %r" % mode)


def run_concurrent(port, count, path, answers):
    lock = threading.Lock()
    errors = []

    def one():
        try:
            status, _ = one_shot(HOST, port, "GET", path, timeout=60.0)
            with lock:
                answers["GET %d" % status] += 1
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("; ".join(errors))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("plan")
    args = ap.parse_args()
    plan = json.loads(args.plan)
    answers = collections.Counter()
    try:
        if isinstance(plan, dict):
            run_concurrent(args.port, plan["concurrent"], plan["path"], answers)
        else:
            run_plan(args.port, plan, answers)
    finally:
        print(json.dumps(answers), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
