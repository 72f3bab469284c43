#!/usr/bin/python3
"""monitoring_check.py SONDE_DEMO - examples/monitoring/ against the real
tools: `promtool check rules` and `promtool test rules` on rules.yml and
rules_test.yml; then a real Prometheus, with rules.yml loaded, scrapes
sonde-demo while the test sends it traffic (fast, slow and 5xx requests),
and every query of every panel of dashboard.json (Grafana's $job and
$__rate_interval filled in as Grafana would) must return data, every rule
must evaluate without error, and the job variable's query must offer the
demo's job.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import shutil

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard  # noqa: E402
from demo_prometheus import Prometheus  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MON = os.path.join(HERE, "..", "..", "examples", "monitoring")
WAIT_S = 60


def panel_queries(dash):
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["refId"], t["expr"]))
        for sub in p.get("panels", []):
            for t in sub.get("targets", []):
                out.append((sub["title"], t["refId"], t["expr"]))
    return out


def grafana_fill(expr, job):
    # what Grafana sends: the variable's value, and a rate interval of at
    # least four scrape intervals (1 s here) - 15 s
    # Grafana escapes regex metacharacters of a value put into =~ (a
    # backslash doubled inside PromQL's double-quoted string)
    value = re.sub(r'([.*+?^${}()|\[\]\\])', r'\\\\\1', job)
    return expr.replace("$job", value).replace("$__rate_interval", "15s")


def run(argv):
    p = Problems("monitoring")
    for args in (["check", "rules", "rules.yml"], ["test", "rules", "rules_test.yml"]):
        r = subprocess.run(["promtool"] + args, cwd=MON, capture_output=True, text=True,
                           timeout=120)
        p.check(r.returncode == 0, "promtool %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    with open(os.path.join(MON, "dashboard.json")) as f:
        dash = json.load(f)
    queries = panel_queries(dash)
    p.check(len(queries) >= 14, "dashboard has %d queries" % len(queries))

    tmp = tempfile.mkdtemp(prefix="sonde-mon-test.")
    prom = None
    stop = threading.Event()
    try:
        with Demo(argv[0], "--threads", "4") as d:
            def traffic():
                # a third 5xx, a third over 0.5 s: both pages fire even
                # with Prometheus' own scrapes (fast 200s) in the ratios
                paths = ["/work?ms=0", "/work?ms=1&status=500", "/work?ms=600", "/",
                         "/work?ms=600&status=503", "/nope"]
                i = 0
                while not stop.is_set():
                    try:
                        d.get(paths[i % len(paths)])
                    except OSError:
                        pass
                    i += 1
                    time.sleep(0.02)
            th = threading.Thread(target=traffic)
            th.start()
            try:
                prom = Prometheus(d.port, tmp, rule_files=[os.path.abspath(
                    os.path.join(MON, "rules.yml"))])
                # the job variable: label_values(http_requests_total, job)
                jobs = set()
                t0 = time.monotonic()
                while time.monotonic() - t0 < WAIT_S and not jobs:
                    jobs = set(prom.api("label/job/values", **{"match[]": "http_requests_total"}))
                    time.sleep(0.5)
                p.eq(jobs, {"sonde-demo"}, "the job variable's values")
                job = "sonde-demo"
                empty = list(queries)
                while time.monotonic() - t0 < WAIT_S and empty:
                    empty = [q for q in empty
                             if not prom.api("query", query=grafana_fill(q[2], job))["result"]]
                    if empty:
                        time.sleep(1)
                for title, ref, expr in empty:
                    p.check(False, "panel %r query %s returned no data: %s" % (title, ref, expr))
                p.check(len(queries) > 0 and not empty,
                        "%d panel queries all returned data" % len(queries))
                # every rule loaded and evaluated without error
                groups = prom.api("rules")["groups"]
                rules = [r for g in groups for r in g["rules"]]
                p.eq(len(groups), 4, "rule groups loaded")
                p.eq(len(rules), 31, "rules loaded")
                bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
                p.eq(bad, [], "rules not healthy")
                # both fast pages fire on the demo's job (the rules are
                # evaluated every second: wait for the next evaluation)
                want = {"ErrorBudgetBurnFast", "LatencyBudgetBurnFast"}
                firing = set()
                while time.monotonic() - t0 < WAIT_S and firing != want:
                    alerts = prom.api("alerts")["alerts"]
                    firing = {a["labels"].get("alertname") for a in alerts
                              if a["labels"].get("job") == job and a["state"] == "firing"} & want
                    if firing != want:
                        time.sleep(0.5)
                p.eq(firing, want, "fast pages firing on %s" % job)
            finally:
                stop.set()
                th.join()
    finally:
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return p.report()


if __name__ == "__main__":
    main_guard(run)
