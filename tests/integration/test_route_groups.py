# SPDX-License-Identifier: MIT
"""--route-group: per-group gauges, as asgi-runway's route_groups."""

import threading
import time

from base import RunwayCase, stacks
from client import one_shot

BY_ROUTE = "runway_requests_in_flight_by_route"
QUEUED_BY_ROUTE = "runway_requests_queued_by_route"


@stacks("uvloop", "asyncio")
class RouteGroups:

    def test_concurrent_requests_on_two_groups(self):
        app = self.start_app()
        d = self.start_daemon(app, args=["--pid", str(app.pid),
                                         "--route-group", "sleepy=/sleep",
                                         "--route-group", r"pool=^/sync",
                                         "--route-group", "idle=/never"])
        expo = d.scrape()
        for route in ("sleepy", "pool", "idle"):
            self.assertEqual(expo.get(BY_ROUTE, route=route), 0, "%s before any traffic" % route)
            self.assertEqual(expo.get(QUEUED_BY_ROUTE, route=route), 0)
        errors = []

        def get(path):
            try:
                self.assertEqual(one_shot(app.host, app.port, "GET", path, timeout=30)[0], 200)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=get, args=("/sleep?ms=1500",)) for _ in range(6)]
        threads += [threading.Thread(target=get, args=("/sync?ms=1500",)) for _ in range(3)]
        for t in threads:
            t.start()
        seen = []
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            # Unmatched paths, in flight beside them, in no group.
            self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200)
            e = d.scrape()
            seen.append((e.get(BY_ROUTE, route="sleepy"), e.get(BY_ROUTE, route="pool"),
                         e.get(BY_ROUTE, route="idle")))
            time.sleep(0.05)
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.note("(sleepy, pool, idle) in flight: %s", sorted(set(seen)))
        self.assertIn((6, 3, 0), seen)
        self.assertTrue(all(idle == 0 for _, _, idle in seen))
        after = self.poll(lambda: (lambda e: e if e.get(BY_ROUTE, route="sleepy") == 0 and
                                   e.get(BY_ROUTE, route="pool") == 0 else None)(d.scrape()), timeout=5)
        self.assertTrue(after, "per-route gauges did not return to 0")
        for route in ("sleepy", "pool", "idle"):
            self.assertEqual(after.get(QUEUED_BY_ROUTE, route=route), 0)
        # Each group's integral: 6 and 3 requests of 1.5 s.
        self.assertAlmostEqual(after.get(BY_ROUTE + "_seconds_total", route="sleepy"), 9.0, delta=0.6)
        self.assertAlmostEqual(after.get(BY_ROUTE + "_seconds_total", route="pool"), 4.5, delta=0.4)
        self.assertEqual(after.get(BY_ROUTE + "_seconds_total", route="idle"), 0)
