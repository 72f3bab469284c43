#!/usr/bin/python3
"""demo_otlp.py SONDE_DEMO - with OTEL_EXPORTER_OTLP_ENDPOINT set, sonde-demo
exports one SERVER span per request to a stand-in collector
(tests/otlp/otlp_receiver.py), continuing the caller's traceparent (same
trace id, parent = the caller's span id), with the HTTP semantic-convention
attributes, status error on a 5xx, the "work" child span, and service.name
from OTEL_SERVICE_NAME (default sonde-demo). What the collector received is
decoded with the OpenTelemetry project's definitions (tests/otlp/otlp_decode.js).
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard, new_span_id, new_trace_id  # noqa: E402

OTLP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "otlp")


def receiver(out_dir):
    proc = subprocess.Popen([sys.executable, os.path.join(OTLP_DIR, "otlp_receiver.py"), out_dir,
                             "200"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.match(r"port (\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("receiver did not start: %r" % line)
    return proc, int(m.group(1))


def decode(out_dir):
    """{span name: {flattened key below the span: value}} over every request."""
    files = sorted((f for f in os.listdir(out_dir) if f.endswith(".body")),
                   key=lambda f: int(f[4:-5]))
    if not files:
        return {}, ""
    out = subprocess.run(["node", os.path.join(OTLP_DIR, "otlp_decode.js"), "traces", "--many",
                          *[os.path.join(out_dir, f) for f in files]],
                         capture_output=True, text=True, check=True).stdout
    every, resource, per = [], "", {}
    for line in out.splitlines():
        if line.startswith("== "):
            per = {}
            continue
        m = re.match(r"resourceSpans\.0\.scopeSpans\.0\.spans\.(\d+)\.(.*?)=(.*)$", line)
        if m:
            if m.group(1) not in per:
                per[m.group(1)] = {}
                every.append(per[m.group(1)])
            per[m.group(1)][m.group(2)] = m.group(3)
        elif line.startswith("resourceSpans.0.resource."):
            resource += line + "\n"
    spans = {}
    for span in every:
        spans.setdefault(span.get("name"), []).append(span)
    return spans, resource


def run(argv):
    p = Problems("demo_otlp")
    out_dir = tempfile.mkdtemp(prefix="sonde-demo-otlp.")
    rproc, port = receiver(out_dir)
    trace_id, parent_id = new_trace_id(), new_span_id()
    saved = dict(os.environ)
    try:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:%d" % port
        os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "100"
        os.environ.pop("OTEL_SERVICE_NAME", None)
        with Demo(argv[0], "--threads", "2") as d:
            tp = "00-%s-%s-01" % (trace_id, parent_id)
            st, _, _ = d.get("/work?ms=1", headers={"traceparent": tp})
            p.eq(st, 200, "GET /work status")
            st, _, _ = d.get("/work?ms=0&status=503")
            p.eq(st, 503, "GET /work?status=503 status")
            rc = d.stop()
            p.eq(rc, 0, "demo exit status")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        time.sleep(0.1)
        rproc.terminate()
        rproc.wait()
    spans, resource = decode(out_dir)
    p.check("attributes[service.name].stringValue=sonde-demo\n" in resource,
            "service.name sonde-demo in the resource:\n" + resource)
    servers = spans.get("GET /work", [])
    p.eq(len(servers), 2, "GET /work server spans")
    works = spans.get("work", [])
    p.eq(len(works), 2, "work child spans")
    cont = [s for s in servers if s.get("traceId") == trace_id]
    p.eq(len(cont), 1, "a server span continues the incoming trace")
    if cont:
        s = cont[0]
        p.eq(s.get("parentSpanId"), parent_id, "its parent is the caller's span")
        p.eq(s.get("kind"), "2", "kind SERVER")
        p.eq(s.get("attributes[http.request.method].stringValue"), "GET", "http.request.method")
        p.eq(s.get("attributes[url.path].stringValue"), "/work", "url.path")
        p.eq(s.get("attributes[http.route].stringValue"), "/work", "http.route")
        p.eq(s.get("attributes[http.response.status_code].intValue"), "200",
             "http.response.status_code")
        p.check("status.code" not in s or s["status.code"] != "2", "no error status on a 200")
        child = [w for w in works if w.get("parentSpanId") == s.get("spanId")]
        p.eq(len(child), 1, "the work span is the server span's child")
        if child:
            p.eq(child[0].get("traceId"), trace_id, "the work span's trace")
    err = [s for s in servers if s.get("traceId") != trace_id]
    if err:
        s = err[0]
        p.check("parentSpanId" not in s, "a request without traceparent: a root span")
        p.eq(s.get("attributes[http.response.status_code].intValue"), "503", "the 5xx status code")
        p.eq(s.get("status.code"), "2", "status error on a 5xx")
    return p.report()


if __name__ == "__main__":
    main_guard(run)
