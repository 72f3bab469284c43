#!/usr/bin/python3
"""demo_scrape.py SONDE_DEMO - drives a known number of requests through
sonde-demo, then checks its /metrics with real clients we did not write:
promtool (text 0.0.4), prometheus_client's text and OpenMetrics parsers,
and gzip. Every count read back must equal what was sent. Finally checks
that every log line is JSON and that the lines of traced requests carry the
trace id of the traceparent that was sent.
"""
import gzip
import json
import re
import subprocess
import sys
import threading
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, __import__("os").path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard, new_span_id, new_trace_id  # noqa: E402

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402

N_FAST = 20   # GET /work?ms=0           -> 200
N_SLOW = 3    # GET /work?ms=300         -> 200, in parallel
N_ERR = 4     # GET /work?ms=1&status=503 with a traceparent each
N_BAD = 3     # GET /work?ms=abc         -> 400
N_404 = 2     # GET /nope                -> 404

TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
OM_CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def samples(families):
    """{(sample name, frozenset(labels)): value} and the exemplars by key."""
    vals, exemplars = {}, {}
    for fam in families:
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            vals[key] = s.value
            if getattr(s, "exemplar", None):
                exemplars[key] = s.exemplar
    return vals, exemplars


def key(name, **labels):
    return (name, frozenset(labels.items()))


def check_values(p, vals, fmt):
    """The counts sonde-demo must report for the traffic sent."""
    w200 = dict(method="GET", route="/work", status="200")
    w503 = dict(method="GET", route="/work", status="503")
    w400 = dict(method="GET", route="/work", status="400")
    p.eq(vals.get(key("http_requests_total", **w200)), N_FAST + N_SLOW, f"{fmt}: requests 200")
    p.eq(vals.get(key("http_requests_total", **w503)), N_ERR, f"{fmt}: requests 503")
    p.eq(vals.get(key("http_requests_total", **w400)), N_BAD, f"{fmt}: requests 400")
    p.eq(vals.get(key("http_requests_total", method="GET", route="other", status="404")), N_404,
         f"{fmt}: requests 404")
    h = "http_request_duration_seconds"
    p.eq(vals.get(key(h + "_count", **w200)), N_FAST + N_SLOW, f"{fmt}: histogram count 200")
    p.eq(vals.get(key(h + "_bucket", le="+Inf", **w200)), N_FAST + N_SLOW, f"{fmt}: +Inf bucket")
    # ms=0 answers well under 0.25 s; ms=300 ones cannot be faster than 0.3 s
    p.eq(vals.get(key(h + "_bucket", le="0.25", **w200)), N_FAST, f"{fmt}: le=0.25 bucket")
    s = vals.get(key(h + "_sum", **w200))
    p.check(s is not None and 0.3 * N_SLOW <= s < 0.3 * N_SLOW + 5,
            f"{fmt}: histogram sum {s} not in [{0.3 * N_SLOW}, {0.3 * N_SLOW + 5})")
    p.eq(vals.get(key(h + "_count", **w503)), N_ERR, f"{fmt}: histogram count 503")
    # the scrape itself is the one request in flight
    p.eq(vals.get(key("http_requests_in_flight")), 1, f"{fmt}: in flight during the scrape")
    # the default registry's collectors
    p.check(any(k[0] == "process_resident_memory_bytes" for k in vals),
            f"{fmt}: no process collector samples")
    p.check(any(k[0].startswith("sonde_") for k in vals), f"{fmt}: no sonde self-metrics")
    p.eq(vals.get(key("sonde_health_check_status", check="accepting", probe="readiness")), 1,
         f"{fmt}: readiness check gauge")
    p.check(vals.get(key("http_response_size_bytes_count", route="/work"), 0) >=
            N_FAST + N_SLOW + N_ERR + N_BAD, f"{fmt}: response size summary count")


def run(argv):
    p = Problems("demo_scrape")
    err_traces = []  # (trace id, parent id) sent with the 503 requests
    with Demo(argv[0], "--threads", "4") as d:
        for _ in range(N_FAST):
            st, _, _ = d.get("/work?ms=0")
            p.eq(st, 200, "GET /work?ms=0")
        for _ in range(N_ERR):
            t, s = new_trace_id(), new_span_id()
            err_traces.append((t, s))
            st, _, body = d.get("/work?ms=1&status=503", headers={"traceparent": f"00-{t}-{s}-01"})
            p.eq(st, 503, "GET /work?ms=1&status=503")
            p.eq(json.loads(body).get("trace_id"), t, "trace id echoed by /work")
        for _ in range(N_BAD):
            st, _, _ = d.get("/work?ms=abc")
            p.eq(st, 400, "GET /work?ms=abc")
        for _ in range(N_404):
            st, _, _ = d.get("/nope")
            p.eq(st, 404, "GET /nope")
        slow = []

        def slow_one():
            slow.append(d.get("/work?ms=300")[0])
        threads = [threading.Thread(target=slow_one) for _ in range(N_SLOW)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        p.eq(sorted(slow), [200] * N_SLOW, "GET /work?ms=300 in parallel")
        st, _, _ = d.get("/readyz")
        p.eq(st, 200, "GET /readyz")

        # ---- text 0.0.4: promtool and the Python parser ----
        st, hdr, text = d.get("/metrics")
        p.eq(st, 200, "GET /metrics")
        p.eq(hdr.get("content-type"), TEXT_CT, "text Content-Type")
        p.check("content-encoding" not in hdr, "no Content-Encoding without Accept-Encoding")
        p.check("Accept" in hdr.get("vary", ""), "Vary names Accept")
        pt = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                            timeout=30)
        p.check(pt.returncode == 0, f"promtool check metrics exit {pt.returncode}: "
                f"{(pt.stdout + pt.stderr).decode()[:2000]}")
        vals, _ = samples(text_parse(text.decode()))
        check_values(p, vals, "text")
        # the request instrumentation (sonde_http_server) exposes what the
        # demo exposed before it used it: the same families, types and
        # label names
        schema = {}
        for fam in text_parse(text.decode()):
            if fam.name.startswith("http_"):
                labs = set()
                for smp in fam.samples:
                    labs |= set(smp.labels) - {"le", "quantile"}
                schema[fam.name] = (fam.type, tuple(sorted(labs)))
        p.eq(schema, {"http_request_duration_seconds": ("histogram", ("method", "route", "status")),
                      "http_requests": ("counter", ("method", "route", "status")),
                      "http_requests_in_flight": ("gauge", ()),
                      "http_response_size_bytes": ("summary", ("route",))},
             "the http_* families, types and label names")

        # ---- the request id: echoed when sent, a UUID v4 when not (on "/",
        # which the counts below leave alone) ----
        st, hdr, _ = d.get("/", headers={"X-Request-Id": "abc-123"})
        p.eq(hdr.get("x-request-id"), "abc-123", "x-request-id echoed")
        st, hdr, _ = d.get("/", headers={"X-Correlation-Id": "corr.9"})
        p.eq(hdr.get("x-request-id"), "corr.9", "x-correlation-id answered as x-request-id")
        ids = [d.get("/")[1].get("x-request-id", "") for _ in range(2)]
        uuid4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        p.check(all(uuid4.match(i) for i in ids) and ids[0] != ids[1],
                f"fresh UUID v4 request ids: {ids}")

        # ---- OpenMetrics: the Python OM parser, exemplars ----
        st, hdr, om = d.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        p.eq(st, 200, "GET /metrics (OpenMetrics)")
        p.eq(hdr.get("content-type"), OM_CT, "OpenMetrics Content-Type")
        p.check(om.endswith(b"# EOF\n"), "OpenMetrics body ends with # EOF")
        vals, ex = samples(om_parse(om.decode()))
        check_values(p, vals, "openmetrics")
        w503 = dict(method="GET", route="/work", status="503")
        b503 = {k: e for k, e in ex.items() if k[0] == "http_request_duration_seconds_bucket"
                and set(w503.items()) <= set(k[1])}
        # One exemplar per bucket that saw a 503 request: usually one bucket,
        # more when a loaded machine stretched some of the 1 ms requests.
        p.check(1 <= len(b503) <= N_ERR, f"exemplars on the 503 histogram: {len(b503)}")
        bounds = sorted(float(dict(k[1])["le"]) for k in vals
                        if k[0] == "http_request_duration_seconds_bucket"
                        and set(w503.items()) <= set(k[1]))
        sent = {t for t, _ in err_traces}
        for k, e in b503.items():
            p.check(e.labels.get("trace_id") in sent,
                    f"503 exemplar trace_id {e.labels.get('trace_id')} is not one we sent")
            le = float(dict(k[1])["le"])
            below = [b for b in bounds if b < le]
            p.check((below[-1] if below else float("-inf")) < e.value <= le,
                    f"503 exemplar value {e.value} outside its bucket le={le}")
        ec = ex.get(key("http_requests_total", **w503))
        p.check(ec is not None and ec.labels.get("trace_id") == err_traces[-1][0],
                f"503 counter exemplar {ec} is not the last request's trace")

        # ---- gzip, both formats; q=0 refuses it ----
        st, hdr, z = d.get("/metrics", headers={"Accept-Encoding": "gzip"})
        p.eq(hdr.get("content-encoding"), "gzip", "Content-Encoding with Accept-Encoding: gzip")
        p.eq(hdr.get("content-type"), TEXT_CT, "gzip text Content-Type")
        p.eq(int(hdr.get("content-length", -1)), len(z), "gzip Content-Length")
        try:
            vals, _ = samples(text_parse(gzip.decompress(z).decode()))
            check_values(p, vals, "text+gzip")
        except (OSError, zlib.error) as e:
            p.check(False, f"gzip body does not decompress: {e}")
        st, hdr, z = d.get("/metrics", headers={"Accept-Encoding": "br, gzip;q=0.5",
                                                "Accept": "application/openmetrics-text"})
        p.eq(hdr.get("content-encoding"), "gzip", "Content-Encoding for OpenMetrics + gzip")
        try:
            vals, _ = samples(om_parse(gzip.decompress(z).decode()))
            check_values(p, vals, "openmetrics+gzip")
        except (OSError, zlib.error) as e:
            p.check(False, f"gzip OpenMetrics body does not decompress: {e}")
        st, hdr, _ = d.get("/metrics", headers={"Accept-Encoding": "gzip;q=0, identity"})
        p.check("content-encoding" not in hdr, "gzip;q=0 must not be gzipped")

        rc = d.stop()
        d.check_clean_exit(p, rc)

        # ---- logs: JSON lines, trace ids of the traced requests ----
        recs = d.json_logs(p)
        reqs = [r for r in recs if r.get("message") == "request" and r.get("route") == "/work"]
        p.eq(len(reqs), N_FAST + N_SLOW + N_ERR + N_BAD, "request log lines for /work")
        for t, s in err_traces:
            mine = [r for r in recs if r.get("trace_id") == t and r.get("message") != "span"
                    and not r.get("_replayed")]
            p.eq(len(mine), 1, f"log lines with trace_id {t} (besides span and replayed lines)")
            # issue 20: the request's DEBUG line, kept by the flight recorder,
            # is written (marked) before its error line
            kept = [i for i, r in enumerate(recs) if r.get("trace_id") == t
                    and r.get("_replayed") is True and r.get("message") == "work started"]
            p.eq(len(kept), 1, f"replayed 'work started' lines with trace_id {t}")
            if kept and mine:
                p.check(recs[kept[0]].get("level") == "debug", "a replayed line keeps its level")
                p.check(kept[0] < recs.index(mine[0]), "the replayed line comes before the error")
            # the server span's own line: its span_id is the request line's,
            # and its status is the 503's error (issue 13.18)
            spans = [r for r in recs if r.get("trace_id") == t and r.get("message") == "span"
                     and mine and r.get("span_id") == mine[0].get("span_id")]
            p.eq(len(spans), 1, f"server span log line with trace_id {t}")
            for r in spans:
                p.eq(r.get("span_status"), "error", "span_status of a 503's server span")
                p.check(isinstance(r.get("span_duration_s"), (int, float)),
                        f"span_duration_s is a number: {r.get('span_duration_s')!r}")
                p.check(isinstance(r.get("span_name"), str) and r["span_name"],
                        f"span_name: {r.get('span_name')!r}")
            for r in mine:
                p.eq(r.get("status"), 503, "status in the traced request's log line")
                # issue 13.20: teams alert on level:error, so a 5xx is an error
                p.eq(r.get("level"), "error", "level of a 5xx request's log line")
                p.eq(r.get("trace_continued"), True, "trace_continued")
                p.check(r.get("span_id") not in (None, s),
                        f"span_id {r.get('span_id')} should be the server span, not the caller's {s}")
                p.eq(r.get("trace_flags"), "01", "trace_flags of a sampled caller")
        # issue 15.7: the request id is a scoped field of every record of
        # the request (the handler's kept debug line too); /work's ids are
        # fresh UUIDs, so each request line has its own
        for r in reqs:
            p.check(r.get("request_id") and r.get("request_id") == r.get("correlation_id"),
                    f"request_id of a request line: {r.get('request_id')!r}")
        p.eq(len({r.get("request_id") for r in reqs}), len(reqs), "one request id a request")
        for t, _ in err_traces:
            kept = [r for r in recs if r.get("trace_id") == t and r.get("_replayed")]
            mine = [r for r in recs if r.get("trace_id") == t and r.get("message") == "request"]
            p.check(kept and mine and kept[0].get("request_id") == mine[0].get("request_id"),
                    "the handler's line carries its request's request_id")
        untraced = [r for r in reqs if r.get("status") == 200]
        p.check(all(r.get("level") == "info" for r in untraced), "200 requests log at info")
        ids = {r.get("trace_id") for r in untraced}
        p.eq(len(ids), len(untraced), "each untraced request starts its own trace")
        p.check(all(isinstance(r.get("duration_ms"), (int, float)) for r in reqs),
                "duration_ms is a number")
        p.check(any(r.get("message") == "listening" for r in recs), "a 'listening' log line")
        p.check(any(r.get("message") == "stopped" for r in recs), "a 'stopped' log line")
    return p.report()


if __name__ == "__main__":
    main_guard(run)
