# SPDX-License-Identifier: MIT
"""The seed's approach (asgi-runway 0.2.0), rebuilt for the bench: a raw ASGI
middleware that keeps prometheus_client metrics inside the app.

As the seed describes it: on every request that is not an excluded path,
runway_requests_in_flight.inc(); the app runs; in a `finally`,
runway_requests_in_flight.dec(), runway_requests_total{method,status}.inc()
and runway_request_duration_seconds{method}.observe(duration).

    app     the bench's hello world (bench/hello_app.py) wrapped
    sample  tests/apps/sample_app.py wrapped (for the accuracy comparison)

With SEED_METRICS_PORT=N in the environment the metrics are also served the
way the seed's "Option A" does: a ThreadingHTTPServer in a daemon thread of
the app process (prometheus_client.start_http_server), on 127.0.0.1:N.
"""

import os
import sys
import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

HERE = os.path.dirname(os.path.abspath(__file__))

REQUESTS_IN_FLIGHT = Gauge(
    "runway_requests_in_flight",
    "Requests currently being processed.",
    multiprocess_mode="livesum",
)
REQUESTS_TOTAL = Counter(
    "runway_requests_total",
    "Total requests by method and status.",
    ["method", "status"],
)
REQUEST_DURATION_SECONDS = Histogram(
    "runway_request_duration_seconds",
    "Request latency by method.",
    ["method"],
)

DEFAULT_EXCLUDE_PATHS = ("/metrics", "/healthz", "/health")


class RunwayMiddleware:
    """Raw ASGI (not BaseHTTPMiddleware), like the seed's."""

    def __init__(self, app, exclude_paths=DEFAULT_EXCLUDE_PATHS):
        self.app = app
        self.exclude_paths = frozenset(exclude_paths)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status_code = 500

        async def send_wrapper(message):
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        REQUESTS_IN_FLIGHT.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUESTS_IN_FLIGHT.dec()
            REQUESTS_TOTAL.labels(method=method, status=str(status_code)).inc()
            REQUEST_DURATION_SECONDS.labels(method=method).observe(time.perf_counter() - start)


def _inner_hello():
    sys.path.insert(0, HERE)
    import hello_app
    return hello_app.app


def _inner_sample():
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "apps"))
    import sample_app
    return sample_app.app


app = RunwayMiddleware(_inner_hello())

if os.environ.get("SEED_METRICS_PORT"):
    start_http_server(int(os.environ["SEED_METRICS_PORT"]), addr="127.0.0.1")


def __getattr__(name):
    # `seed_middleware_app:sample` imports the FastAPI sample app only when asked.
    if name == "sample":
        wrapped = RunwayMiddleware(_inner_sample())
        globals()["sample"] = wrapped
        return wrapped
    raise AttributeError(name)
