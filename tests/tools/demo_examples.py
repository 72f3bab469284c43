#!/usr/bin/python3
"""demo_examples.py log_and_trace BINARY | microhttpd BINARY

log_and_trace: runs examples/log_and_trace with an incoming traceparent;
every stdout line is JSON, the lines of the first request (from both
threads) carry the incoming trace id, the second request has a trace of its
own, spans end with the right parents, and the OpenMetrics exposition on
stderr parses and carries exemplars from those traces.

microhttpd: runs examples/microhttpd on a free port and scrapes /metrics
with both formats and gzip; promtool and the Python parsers accept it.

make_demo VARIANT_DIR: `make demo` in a build directory where sonde-demo
is still to be built (the library objects copied from VARIANT_DIR/..,
their times kept, so only the demo compiles): stdout must hold the demo's
JSON lines only, the compile lines going to stderr, so that
`make demo | jq .` works (issue 13.19); also through `| head -1`.

readme VARIANT_DIR: the README's quick-start block is examples/minimal.c byte
for byte (issue 13.22), and the one-file examples build with plain
`cc -std=c11` (no -D_GNU_SOURCE) and run.
"""
import gzip
import json
import os
import re
import shutil
import tempfile
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import SANITIZER_MARKS, Problems, die_with_parent, main_guard, new_span_id, new_trace_id  # noqa: E402

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402


def log_and_trace(p, binary):
    t, s = new_trace_id(), new_span_id()
    r = subprocess.run([binary, f"00-{t}-{s}-01"], capture_output=True, timeout=60,
                       preexec_fn=die_with_parent)
    err = r.stderr.decode("utf-8", "replace")
    p.eq(r.returncode, 0, f"log_and_trace exit status; stderr:\n{err[-3000:]}")
    for mark in SANITIZER_MARKS:
        p.check(mark not in err, f"sanitizer report:\n{err[-4000:]}")
    recs = []
    for i, line in enumerate(r.stdout.decode().splitlines()):
        try:
            recs.append(json.loads(line))
        except ValueError:
            p.check(False, f"stdout line {i + 1} is not JSON: {line[:200]!r}")
    req0 = [x for x in recs if x.get("request") == 0]
    req1 = [x for x in recs if x.get("request") == 1]
    p.eq(len(req0), 5, "log lines of request 0 (received, picked up, 2 queries, done)")
    p.eq(len(req1), 6, "log lines of request 1 (received, picked up, 3 queries, done)")
    p.eq({x.get("trace_id") for x in req0}, {t}, "request 0 lines carry the incoming trace id")
    p.eq({x.get("thread") for x in req0}, {"main", "worker"}, "request 0 logged from both threads")
    t1 = {x.get("trace_id") for x in req1}
    p.check(len(t1) == 1 and t not in t1 and None not in t1, f"request 1 has its own trace: {t1}")
    spans = [x for x in recs if x.get("message") == "span ended"]
    server0 = [x for x in spans if x.get("span") == "handle request" and x.get("span_trace_id") == t]
    p.eq(len(server0), 1, "server span of request 0 ended")
    if server0:
        p.eq(server0[0].get("parent_span_id"), s, "server span's parent is the caller's span")
        queries = [x for x in spans if x.get("span") == "db query" and x.get("span_trace_id") == t]
        p.eq(len(queries), 2, "query spans of request 0")
        p.check(all(q.get("parent_span_id") == server0[0]["span_span_id"] for q in queries),
                "query spans are children of the server span (context passed to the worker thread)")
    # the exposition after the JSON: OpenMetrics with exemplars from these traces
    om = err[err.find("# TYPE"):] if "# TYPE" in err else ""
    try:
        fams = list(om_parse(om))
    except Exception as e:  # the parser raises ValueError and friends
        p.check(False, f"OpenMetrics exposition does not parse: {e}\n{om[:2000]}")
        return
    ex = [smp.exemplar for f in fams for smp in f.samples if smp.exemplar]
    p.check(len(ex) >= 3, f"exemplars in the exposition: {len(ex)}")
    known = {t} | t1
    p.check(all(e.labels.get("trace_id") in known for e in ex),
            f"exemplar trace ids {[e.labels.get('trace_id') for e in ex]} not among {known}")
    vals = {(smp.name, frozenset(smp.labels.items())): smp.value for f in fams for smp in f.samples}
    p.eq(vals.get(("example_query_duration_seconds_count", frozenset())), 5, "query histogram count")
    p.eq(vals.get(("example_rows_read_total", frozenset())), 90, "rows counter")


def fetch(url, headers):
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def microhttpd(p, binary):
    proc = subprocess.Popen([binary, "0", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    try:
        line = proc.stdout.readline().decode()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        if not p.check(m, f"no address line: {line!r} {proc.stderr.read(2000) if proc.poll() is not None else ''}"):
            return
        url = f"http://127.0.0.1:{m.group(1)}/metrics"
        st, hdr, text = fetch(url, {})
        p.eq(st, 200, "GET /metrics")
        p.eq(hdr.get("content-type"), "text/plain; version=0.0.4; charset=utf-8", "text Content-Type")
        pt = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=30)
        p.check(pt.returncode == 0, f"promtool: {(pt.stdout + pt.stderr).decode()[:1500]}")
        vals = {(s.name, frozenset(s.labels.items())): s.value
                for f in text_parse(text.decode()) for s in f.samples}
        p.eq(vals.get(("example_http_requests_total",
                       frozenset({"path": "/metrics", "code": "200"}.items()))), 1,
             "the first scrape counts itself")
        st, hdr, om = fetch(url, {"Accept": "application/openmetrics-text; version=1.0.0",
                                  "Accept-Encoding": "gzip"})
        p.eq(hdr.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8",
             "OpenMetrics Content-Type")
        p.eq(hdr.get("content-encoding"), "gzip", "Content-Encoding")
        body = gzip.decompress(om).decode()
        p.check(body.endswith("# EOF\n"), "OpenMetrics ends with # EOF")
        vals = {(s.name, frozenset(s.labels.items())): s.value for f in om_parse(body) for s in f.samples}
        p.eq(vals.get(("example_http_requests_total",
                       frozenset({"path": "/metrics", "code": "200"}.items()))), 2,
             "the second scrape counts both")
        try:
            fetch(url.replace("/metrics", "/nope"), {})
            p.check(False, "GET /nope did not fail")
        except urllib.error.HTTPError as e:
            p.eq(e.code, 404, "GET /nope")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode("utf-8", "replace")
        p.eq(proc.returncode, 0, f"microhttpd exit status; stderr:\n{err[-3000:]}")
        for mark in SANITIZER_MARKS:
            p.check(mark not in err, f"sanitizer report:\n{err[-4000:]}")


SRC_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_env():
    """The environment without the outer make's jobserver and flags."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def json_lines(p, out, what):
    lines = out.decode("utf-8", "replace").splitlines()
    p.check(lines, f"{what}: no line on stdout")
    for i, line in enumerate(lines):
        try:
            json.loads(line)
        except ValueError:
            p.check(False, f"{what}: stdout line {i + 1} is not JSON: {line[:200]!r}")
            break
    return lines


def make_demo(p, variant_dir):
    top = os.path.dirname(os.path.abspath(variant_dir))
    tmp = tempfile.mkdtemp(prefix="sonde-make-demo.")
    try:
        # the library as built (times kept: up to date), no sonde-demo yet
        shutil.copytree(os.path.join(top, "rel"), os.path.join(tmp, "rel"))
        shutil.copy2(os.path.join(top, "libsonde.a"), tmp)
        cmd = ["make", "-C", SRC_DIR, "--no-print-directory", "demo", "DURATION=1",
               f"BUILD={tmp}", "DEMO_ARGS=--listen 127.0.0.1:0 --threads 2"]
        # the README's pipe: the first line a consumer reads is JSON
        r = subprocess.run(" ".join(f"'{a}'" for a in cmd) + " | head -n 1", shell=True,
                           capture_output=True, timeout=240, env=make_env(),
                           preexec_fn=die_with_parent)
        err = r.stderr.decode("utf-8", "replace")
        json_lines(p, r.stdout, "make demo | head -n 1")
        p.check("sonde-demo" in err and " -o " in err,
                f"the demo was built and its compile line went to stderr:\n{err[-2000:]}")
        # unsilenced, to the end: every stdout line is JSON
        shutil.rmtree(os.path.join(tmp, "examples"), ignore_errors=True)
        r = subprocess.run(cmd, capture_output=True, timeout=240, env=make_env(),
                           preexec_fn=die_with_parent)
        err = r.stderr.decode("utf-8", "replace")
        p.eq(r.returncode, 0, f"make demo exit status; stderr:\n{err[-3000:]}")
        lines = json_lines(p, r.stdout, "make demo")
        p.check(any('"message":"listening"' in x for x in lines), "the demo's 'listening' line")
        p.check(" -o " in err, f"the compile line is on stderr:\n{err[-2000:]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def readme(p, variant_dir):
    src = SRC_DIR
    text = open(os.path.join(src, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## Quick start\n\n```c\n(.*?)^```$", text, re.S | re.M)
    if not p.check(m, "README.md has a ```c block right under '## Quick start'"):
        return
    minimal = open(os.path.join(src, "examples/minimal.c"), encoding="utf-8").read()
    p.eq(m.group(1), minimal, "README quick start == examples/minimal.c")
    tmp = tempfile.mkdtemp(prefix="sonde-readme.")
    try:
        built = os.path.join(os.path.dirname(os.path.abspath(variant_dir)), "libsonde.a")
        for name in ("minimal", "log_and_trace"):
            exe = os.path.join(tmp, name)
            cc = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(src, "include"),
                  os.path.join(src, "examples", name + ".c"), built, "-lpthread", "-lm", "-o", exe]
            if b"deflateInit2_" in open(built, "rb").read():
                cc.insert(-2, "-lz")
            r = subprocess.run(cc, capture_output=True, timeout=120)
            p.eq(r.returncode, 0, f"cc -std=c11 examples/{name}.c: {r.stderr.decode()[-2000:]}")
            if r.returncode == 0:
                r = subprocess.run([exe], capture_output=True, timeout=60, preexec_fn=die_with_parent)
                p.eq(r.returncode, 0, f"{name} runs: {r.stderr.decode()[-2000:]}")
                if name == "minimal":
                    p.check(b'app_requests_total{method="GET",status="200"} 1\n' in r.stdout,
                            f"minimal prints the exposition: {r.stdout[:500]!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(argv):
    which, binary = argv
    p = Problems(f"demo_examples {which}")
    t0 = time.monotonic()
    {"log_and_trace": log_and_trace, "microhttpd": microhttpd, "make_demo": make_demo,
     "readme": readme}[which](p, binary)
    print(f"{which}: {time.monotonic() - t0:.2f} s")
    return p.report()


if __name__ == "__main__":
    main_guard(run)
