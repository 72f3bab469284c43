#!/usr/bin/python3
"""demo_prometheus_native.py SONDE_DEMO - a real Prometheus 2.42 started
with --enable-feature=native-histograms scrapes sonde-demo, whose
http_request_duration_seconds has native and classic buckets. Prometheus
then asks for the protobuf exposition first (its Accept header), and stores
the native histogram. The test sends requests of known delays, reads the
exact duration of each one from the demo's JSON request log (the same
nanoseconds the histogram observed), and checks through Prometheus' HTTP API
that histogram_count() and histogram_sum() of the native series equal the
count and the sum of those durations, and that histogram_quantile() lies
within the schema's bucket factor (2^(2^-3) for the demo's schema 3) of the
exact quantile. Both processes are killed on every path; waits are bounded.
"""
import math
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard  # noqa: E402
from demo_prometheus import Prometheus  # noqa: E402

DELAYS_MS = [0] * 6 + [2] * 5 + [10] * 5 + [30] * 4 + [80] * 3 + [150] * 2
WAIT_S = 40
FACTOR = 2 ** (2 ** -3)
SERIES = 'http_request_duration_seconds{route="/work",status="200"}'


def run(argv):
    p = Problems("demo_prometheus_native")
    tmp = tempfile.mkdtemp(prefix="sonde-prom-native.")
    prom = None
    try:
        with Demo(argv[0], "--threads", "2") as d:
            for ms in DELAYS_MS:
                p.eq(d.get(f"/work?ms={ms}")[0], 200, f"/work?ms={ms}")
            # the demo's own account: the request log's durations
            time.sleep(0.3)
            durs = [r["duration_ms"] / 1e3 for r in d.json_logs(p)
                    if r.get("message") == "request" and r.get("route") == "/work"]
            if not p.check(len(durs) == len(DELAYS_MS), f"logged /work requests: {len(durs)}"):
                return p.report()
            t0 = time.monotonic()
            prom = Prometheus(d.port, tmp, features="native-histograms")
            count = None
            while time.monotonic() - t0 < WAIT_S:
                r = prom.query(f"histogram_count({SERIES})")
                if r:
                    count = list(r.values())[0]
                    break
                time.sleep(0.5)
            if not p.check(count is not None, f"no native histogram stored in {WAIT_S} s:\n"
                           + prom.logtext()):
                return p.report()
            p.eq(count, float(len(durs)), "histogram_count")
            total = list(prom.query(f"histogram_sum({SERIES})").values())[0]
            p.check(abs(total - math.fsum(durs)) <= 1e-6 * max(1.0, total),
                    f"histogram_sum {total} vs the logged durations' sum {math.fsum(durs)}")
            print(f"  prometheus histogram_count {count} (sent {len(durs)}), "
                  f"histogram_sum {total:.6f} (logged {math.fsum(durs):.6f})")
            # the classic view is not what Prometheus stored: with native
            # histograms on, 2.42 keeps the native one only
            classic = prom.query(f'http_request_duration_seconds_count{{route="/work"}}')
            p.check(not classic, f"classic _count series stored too: {classic}")
            ordered = sorted(durs)
            n = len(ordered)
            for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
                est = list(prom.query(f"histogram_quantile({q}, {SERIES})").values())[0]
                # the order statistics around rank q*n: Prometheus' rank
                # lies between them
                lo = ordered[max(0, math.ceil(q * n) - 2)]
                hi = ordered[min(n - 1, math.ceil(q * n))]
                ok = lo / FACTOR <= est <= hi * FACTOR
                p.check(ok, f"histogram_quantile({q}) = {est}, exact between {lo} and {hi}")
                print(f"  prometheus histogram_quantile({q}) = {est:.6f}, exact "
                      f"{ordered[max(0, math.ceil(q * n) - 1)]:.6f}")
            # the scrape used protobuf: Prometheus reports no errors
            targets = prom.api("targets")["activeTargets"]
            p.check(len(targets) == 1 and targets[0]["health"] == "up",
                    f"target health: {[(x['health'], x['lastError']) for x in targets]}")
            prom.stop()
            rc = d.stop()
            d.check_clean_exit(p, rc)
    finally:
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return p.report()


if __name__ == "__main__":
    main_guard(run)
