#!/usr/bin/python3
"""demo_health.py SONDE_DEMO - /healthz, /readyz and /startupz answer the
health API's JSON (status, probe, timestamp, checks, version, uptime) with
200 and application/json, each probe runs its own check, and the check
gauges appear in /metrics. Also GET / (the index) and HEAD's 405.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402

PROBES = {"/healthz": ("liveness", "workers"), "/readyz": ("readiness", "accepting"),
          "/startupz": ("startup", "listener")}


def run(argv):
    p = Problems("demo_health")
    with Demo(argv[0], "--threads", "3") as d:
        for path, (probe, check) in PROBES.items():
            for _ in range(2):  # the startup probe latches after its first success
                st, hdr, body = d.get(path)
                p.eq(st, 200, f"{path} status")
                p.eq(hdr.get("content-type"), "application/json", f"{path} Content-Type")
                p.eq(hdr.get("cache-control"), "no-store", f"{path} Cache-Control")
                try:
                    doc = json.loads(body)
                except ValueError:
                    p.check(False, f"{path} body is not JSON: {body[:200]!r}")
                    continue
                p.eq(list(doc), ["status", "probe", "timestamp", "checks", "version", "uptime"],
                     f"{path} keys in order")
                p.eq(doc.get("status"), "healthy", f"{path} status field")
                p.eq(doc.get("probe"), probe, f"{path} probe")
                p.eq(doc.get("version"), "0.1.0", f"{path} version")
                p.check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", doc.get("timestamp", "")),
                        f"{path} timestamp {doc.get('timestamp')!r}")
                p.check(isinstance(doc.get("uptime"), (int, float)) and 0 <= doc["uptime"] < 60,
                        f"{path} uptime {doc.get('uptime')!r}")
                checks = doc.get("checks", {})
                if probe == "startup" and not checks:
                    continue  # latched: answered without running its check
                p.eq(list(checks), [check], f"{path} checks")
                c = checks.get(check, {})
                p.eq(c.get("status"), "pass", f"{path} {check} status")
                p.check(isinstance(c.get("responseTime"), (int, float)), f"{path} responseTime")
        st, hdr, body = d.get("/healthz")
        msg = json.loads(body)["checks"]["workers"].get("message", "")
        p.check(re.match(r"^\d+ of 3 workers busy$", msg), f"workers check message {msg!r}")
        st, hdr, body = d.get("/startupz")
        p.check("listener" in json.loads(body)["checks"] or json.loads(body)["checks"] == {},
                "startup probe body")

        st, hdr, text = d.get("/metrics")
        gauges = {}
        for fam in text_parse(text.decode()):
            for s in fam.samples:
                if s.name == "sonde_health_check_status":
                    gauges[(s.labels["check"], s.labels["probe"])] = s.value
        for probe, check in PROBES.values():
            p.eq(gauges.get((check, probe)), 1.0, f"sonde_health_check_status{{{check},{probe}}}")

        st, hdr, body = d.get("/")
        p.eq(st, 200, "GET /")
        p.check(b"/metrics" in body and b"/test" in body, "the index lists the endpoints")
        st, hdr, _ = d.request("HEAD", "/metrics")
        p.eq(st, 405, "HEAD /metrics")
        rc = d.stop()
        d.check_clean_exit(p, rc)
        d.json_logs(p)
    return p.report()


if __name__ == "__main__":
    main_guard(run)
