#!/usr/bin/python3
"""demo_prometheus.py SONDE_DEMO - a real Prometheus server scrapes
sonde-demo: the test starts both on loopback (Prometheus with a temporary
config and data directory, scrape interval 1 s, exemplar storage on), sends
a known number of requests, waits until Prometheus has stored a scrape,
then queries Prometheus's HTTP API and checks that the request counts,
histogram counts and buckets it stored equal what the test sent (and what
the demo exposes), that the target is healthy, and that the exemplars it
stored point at the traces the test sent. Both processes are killed on
every path; every wait is bounded.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, die_with_parent, free_port, main_guard, new_span_id, new_trace_id  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402

PROMETHEUS = "/usr/bin/prometheus"
N_FAST = 15   # /work?ms=0            -> 200
N_SLOW = 2    # /work?ms=300          -> 200, in parallel
N_ERR = 5     # /work?ms=1&status=500 with a traceparent each
WAIT_S = 40   # longest wait for the first stored scrape


def norm_le(labels):
    """labels with a numeric le (float("+Inf") is inf)."""
    d = dict(labels)
    if "le" in d:
        d["le"] = float(d["le"])
    return frozenset(d.items())


class Prometheus:
    def __init__(self, target_port, tmp, features="exemplar-storage", rule_files=()):
        self.dir = tmp
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n")
            if rule_files:
                f.write("rule_files:\n" + "".join(f"  - {r}\n" for r in rule_files))
            f.write("scrape_configs:\n  - job_name: sonde-demo\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{target_port}']\n")
        chk = subprocess.run(["promtool", "check", "config", cfg], capture_output=True, timeout=30)
        if chk.returncode != 0:
            raise RuntimeError("promtool check config: " + (chk.stdout + chk.stderr).decode())
        self.proc = None
        for _ in range(3):  # the port was free a moment ago; retry if taken since
            self.port = free_port()
            self.log = open(os.path.join(tmp, "prometheus.log"), "wb")
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/data",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
                 "--enable-feature=" + features],
                stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
                time.sleep(0.2)
            self.stop()
        raise RuntimeError("prometheus did not become ready:\n" + self.logtext())

    def logtext(self):
        with open(os.path.join(self.dir, "prometheus.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.loads(r.read())
        if doc.get("status") != "success":
            raise RuntimeError(f"{url}: {doc}")
        return doc["data"]

    def query(self, q):
        """{frozenset(labels without __name__, job, instance): value}"""
        out = {}
        for r in self.api("query", query=q)["result"]:
            labels = {k: v for k, v in r["metric"].items() if k not in ("__name__", "job", "instance")}
            out[frozenset(labels.items())] = float(r["value"][1])
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def run(argv):
    p = Problems("demo_prometheus")
    tmp = tempfile.mkdtemp(prefix="sonde-prom-test.")
    prom = None
    err_traces = set()
    try:
        with Demo(argv[0], "--threads", "4") as d:
            for _ in range(N_FAST):
                p.eq(d.get("/work?ms=0")[0], 200, "/work?ms=0")
            for _ in range(N_ERR):
                t = new_trace_id()
                err_traces.add(t)
                st, _, _ = d.get("/work?ms=1&status=500",
                                 headers={"traceparent": f"00-{t}-{new_span_id()}-01"})
                p.eq(st, 500, "/work?ms=1&status=500")
            ts = [threading.Thread(target=lambda: p.eq(d.get("/work?ms=300")[0], 200, "/work?ms=300"))
                  for _ in range(N_SLOW)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

            # what the demo itself exposes for /work, to compare with what Prometheus stored
            st, _, text = d.get("/metrics")
            own = {}
            for fam in text_parse(text.decode()):
                for s in fam.samples:
                    if s.labels.get("route") == "/work":
                        own[(s.name, frozenset(s.labels.items()))] = s.value

            t0 = time.monotonic()
            prom = Prometheus(d.port, tmp)
            ready_s = time.monotonic() - t0
            q_work = 'http_requests_total{route="/work"}'
            stored = {}
            while time.monotonic() - t0 < WAIT_S:
                stored = prom.query(q_work)
                if len(stored) >= 2:
                    break
                time.sleep(0.5)
            first_s = time.monotonic() - t0
            if not p.check(len(stored) >= 2, f"Prometheus stored no /work series in {WAIT_S} s:\n"
                           + prom.logtext()):
                return p.report()
            print(f"prometheus ready after {ready_s:.1f} s, first stored scrape after {first_s:.1f} s")

            up = prom.query('up{job="sonde-demo"}')
            p.eq(list(up.values()), [1.0], "up")
            targets = prom.api("targets")["activeTargets"]
            p.check(len(targets) == 1 and targets[0]["health"] == "up" and targets[0]["lastError"] == "",
                    f"target health: {[(x['health'], x['lastError']) for x in targets]}")

            def one(q):
                r = prom.query(q)
                return list(r.values())[0] if len(r) == 1 else r

            # the numbers the test sent
            got = {
                "requests 200": one('http_requests_total{route="/work",status="200"}'),
                "requests 500": one('http_requests_total{route="/work",status="500"}'),
                "histogram count 200": one('http_request_duration_seconds_count{route="/work",status="200"}'),
                "histogram count 500": one('http_request_duration_seconds_count{route="/work",status="500"}'),
                "bucket le=0.25 200": one('http_request_duration_seconds_bucket{route="/work",status="200",le="0.25"}'),
                "bucket le=+Inf 200": one('http_request_duration_seconds_bucket{route="/work",status="200",le="+Inf"}'),
                "sum of /work requests": one('sum(http_requests_total{route="/work"})'),
            }
            want = {
                "requests 200": N_FAST + N_SLOW, "requests 500": N_ERR,
                "histogram count 200": N_FAST + N_SLOW, "histogram count 500": N_ERR,
                "bucket le=0.25 200": N_FAST, "bucket le=+Inf 200": N_FAST + N_SLOW,
                "sum of /work requests": N_FAST + N_SLOW + N_ERR,
            }
            for k in want:
                p.eq(got[k], want[k], f"Prometheus: {k}")
                print(f"  prometheus {k}: {got[k]} (sent {want[k]})")
            s = one('http_request_duration_seconds_sum{route="/work",status="200"}')
            p.check(isinstance(s, float) and s >= 0.3 * N_SLOW, f"Prometheus: duration sum {s}")

            # every /work series the demo exposes, stored with the same value
            for name in ("http_requests_total", "http_request_duration_seconds_bucket",
                         "http_request_duration_seconds_count", "http_request_duration_seconds_sum"):
                stored = prom.query(name + '{route="/work"}')
                mine = {k[1]: v for k, v in own.items() if k[0] == name}
                # OpenMetrics writes le="1.0" where text 0.0.4 writes le="1":
                # compare bucket bounds as numbers
                norm = {norm_le(labels): v for labels, v in stored.items()}
                mine_n = {norm_le(labels): v for labels, v in mine.items()}
                p.eq(len(norm), len(mine_n), f"{name}: series stored vs exposed")
                for labels, v in mine_n.items():
                    p.check(labels in norm and abs(norm[labels] - v) <= 1e-9 * max(1, abs(v)),
                            f"{name}{dict(labels)}: exposed {v}, stored {norm.get(labels)}")

            # exemplars: Prometheus negotiated OpenMetrics and kept them
            now = time.time()
            ex = prom.api("query_exemplars",
                          query='http_request_duration_seconds_bucket{route="/work",status="500"}',
                          start=str(now - 600), end=str(now + 60))
            ids = {e["labels"].get("trace_id") for series in ex for e in series["exemplars"]}
            p.check(ids and ids <= err_traces, f"stored exemplar trace ids {ids} are not the sent ones")
            print(f"  prometheus exemplar trace ids on the 500 series: {len(ids)}, all sent by the test")

            prom.stop()
            rc = d.stop()
            d.check_clean_exit(p, rc)
            recs = d.json_logs(p)
            scrapes = [r for r in recs if r.get("route") == "/metrics" and r.get("message") == "request"]
            p.check(len(scrapes) >= 2, f"scrapes logged: {len(scrapes)}")
    finally:
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return p.report()


if __name__ == "__main__":
    main_guard(run)
