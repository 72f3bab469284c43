#!/usr/bin/python3
"""w3c_harness.py SONDE_DEMO - plays the W3C Trace Context test harness
(w3c/trace-context test/, which needs the network and aiohttp) against
sonde-demo's POST /test, with the standard library only.

Like the real harness it runs its own HTTP server on loopback, POSTs /test
with crafted traceparent/tracestate headers and a JSON array of
{"url", "arguments"} callbacks that point at that server, and checks the
callbacks the service makes before it answers: exactly one version-00
traceparent, the same trace id (or a new one when the incoming header was
invalid), a new parent id per call, flags propagated with the reserved bits
cleared, tracestate propagated, or dropped whole when invalid, and the
arguments as the callback body. Cases follow the spec
(spec/20-http_request_header_format.md) and the harness's test.py
(SPEC_LEVEL=2), plus what the harness does not check (uppercase hex,
reserved flag bits). Then checks the demo's JSON log lines for each case.
"""
import http.server
import json
import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import (Demo, Problems, free_port, main_guard, new_span_id,  # noqa: E402
                      new_trace_id, read_all, split_responses)

TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
KEY_RE = re.compile(r"^[a-z0-9][_0-9a-z\-*/@]{0,255}$")       # Level 2 keys
VALUE_RE = re.compile(r"^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$")


def parse_tracestate(value):
    """The harness's acceptance of a tracestate value: a list of (key, value),
    or None when invalid (bad member, duplicate key, over 32 members)."""
    members, keys = [], set()
    for m in value.split(","):
        m = m.strip(" \t")
        if not m:
            continue
        k, eq, v = m.partition("=")
        if not eq or not KEY_RE.match(k) or not VALUE_RE.match(v) or k in keys:
            return None
        keys.add(k)
        members.append((k, v))
    return members if len(members) <= 32 else None


class Callbacks:
    """What the harness's server received, by path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = {}

    def add(self, path, headers, body):
        with self.lock:
            self.got.setdefault(path, []).append((headers, body, time.monotonic()))

    def take(self, prefix):
        with self.lock:
            return {k: v for k, v in self.got.items() if k.startswith(prefix)}


def make_server(cb):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            # every header line, duplicates and names as sent
            cb.add(self.path, [(k.lower(), v) for k, v in self.headers.items()], body)
            out = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class Case:
    def __init__(self, name, headers, calls=3, expect="continue", tracestate=None,
                 trace_id=None, flags=None, args=None):
        self.name = name
        self.headers = headers      # [(name, value)] sent as they are
        self.calls = calls
        self.expect = expect        # "continue" or "restart"
        self.tracestate = tracestate  # expected members, None = absent, "nodup" = absent or no dups
        self.trace_id = trace_id    # the incoming trace id when continuing
        self.flags = flags          # expected flags (hex) when continuing
        self.args = args if args is not None else []


def cases():
    t, s = new_trace_id(), new_span_id()
    out = []

    def tp(version="00", tid=None, sid=None, flags="01", tail=""):
        return f"{version}-{tid or t}-{sid or s}-{flags}{tail}"

    def cont(name, headers, tracestate=None, flags="01", tid=None, **kw):
        out.append(Case(name, headers, trace_id=tid or t, flags=flags, tracestate=tracestate, **kw))

    def restart(name, headers, **kw):
        out.append(Case(name, headers, expect="restart", **kw))

    # traceparent: valid, flags
    cont("valid, sampled", [("traceparent", tp())])
    for f, want in (("00", "00"), ("01", "01"), ("02", "02"), ("03", "03"), ("ff", "03"), ("09", "01")):
        tid = new_trace_id()
        cont(f"flags {f}", [("traceparent", tp(tid=tid, flags=f))], flags=want, tid=tid)
    # header-name case and optional whitespace
    cont("TrAcEpArEnT / TrAcEsTaTe", [("TrAcEpArEnT", tp()), ("TrAcEsTaTe", "foo=1")],
         tracestate=[("foo", "1")])
    cont("spaces and tabs around the value", [("traceparent", " \t" + tp() + "\t ")])
    # higher versions: read at the 00 positions, re-emitted as 00
    cont("version 01 with extra fields", [("traceparent", tp("01", tail="-what-the-future-will-be-like"))])
    cont("version 01, exactly 55 chars", [("traceparent", tp("01"))])
    cont("version cc with a dash after the flags", [("traceparent", tp("cc", tail="-"))])
    restart("version 01, flags followed by a dot", [("traceparent", tp("01", tail=".what"))])
    # invalid traceparent: a new trace, tracestate ignored
    bad = {
        "no traceparent": None,
        "uppercase trace id": tp(tid=t.upper()),
        "uppercase parent id": tp(sid=s.upper()),
        "all-zero trace id": tp(tid="0" * 32),
        "all-zero parent id": tp(sid="0" * 16),
        "version ff": tp("ff"),
        "version 00 with trailing text": tp(tail="-what"),
        "version 00 with a trailing dash": tp(tail="-"),
        "short trace id": tp(tid=t[:31]),
        "long parent id": tp(sid=s + "0"),
        "bad flags": tp(flags="0g"),
        "underscores": tp().replace("-", "_"),
        "one-digit version": "0" + tp()[2:],
        "non-hex version": tp("zz"),
        "empty value": "",
    }
    for name, value in bad.items():
        hs = [("tracestate", "foo=1")]
        if value is not None:
            hs.insert(0, ("traceparent", value))
        restart(name, hs)
    restart("two traceparent lines", [("traceparent", tp()), ("traceparent", tp(tid=new_trace_id())),
                                      ("tracestate", "foo=1")])
    # tracestate: propagated (members in order), repeated lines joined
    cont("tracestate two members", [("traceparent", tp()), ("tracestate", "foo=1,bar=2")],
         tracestate=[("foo", "1"), ("bar", "2")])
    cont("tracestate on two lines", [("traceparent", tp()), ("tracestate", "foo=1"),
                                     ("tracestate", "bar=2")],
         tracestate=[("foo", "1"), ("bar", "2")])
    cont("tracestate empty members and OWS", [("traceparent", tp()),
                                              ("tracestate", ",  foo=1 ,\t, bar=2 ,")],
         tracestate=[("foo", "1"), ("bar", "2")])
    cont("tracestate value with inner spaces", [("traceparent", tp()), ("tracestate", "foo=a b")],
         tracestate=[("foo", "a b")])
    for k in ("foo@", "foo@@bar", "foo@bar@baz", "0foo", "a-b_c*d/e"):
        cont(f"tracestate key {k!r} accepted", [("traceparent", tp()), ("tracestate", f"{k}=1")],
             tracestate=[(k, "1")])
    m32 = [(f"k{i}", str(i)) for i in range(32)]
    cont("tracestate 32 members", [("traceparent", tp()),
                                   ("tracestate", ",".join(f"{k}={v}" for k, v in m32))],
         tracestate=m32)
    cont("tracestate 256-char value", [("traceparent", tp()), ("tracestate", "foo=" + "v" * 256)],
         tracestate=[("foo", "v" * 256)])
    cont("empty tracestate is not sent", [("traceparent", tp()), ("tracestate", "")])
    # invalid tracestate: dropped whole, traceparent still continued
    for name, value in (("uppercase key", "FOO=1"), ("empty value", "foo="),
                        ("two '='", "foo=bar=baz"), ("no '='", "foo=1,bar"),
                        ("key starting with @", "@foo=1"), ("257-char key", "k" * 257 + "=1"),
                        ("257-char value", "foo=" + "v" * 257),
                        ("33 members", ",".join(f"k{i}={i}" for i in range(33))),
                        ("bad key character", "fo.o=1")):
        cont(f"invalid tracestate: {name}", [("traceparent", tp()), ("tracestate", "bar=1," + value)])
    # duplicates: dropped whole, or reduced to one (the harness allows both)
    cont("tracestate duplicate keys", [("traceparent", tp()), ("tracestate", "foo=1,foo=2")],
         tracestate="nodup")
    cont("tracestate duplicate across lines", [("traceparent", tp()), ("tracestate", "foo=1"),
                                               ("tracestate", "foo=2")], tracestate="nodup")
    # arguments travel as the callback body
    cont("arguments forwarded", [("traceparent", tp())], calls=2,
         args=[1, "two", {"three": [3, None, True]}, -1.5e3, "\u00e9\U0001F600"])
    cont("one callback", [("traceparent", tp())], calls=1)
    cont("no callbacks", [("traceparent", tp())], calls=0)
    # one trace id per case, so that each case's log lines can be told apart
    for c in out:
        nt, ns = new_trace_id(), new_span_id()

        def sub(v):
            for old, new in ((t, nt), (t.upper(), nt.upper()), (t[:31], nt[:31]),
                             (s, ns), (s.upper(), ns.upper())):
                v = v.replace(old, new)
            return v
        c.headers = [(k, sub(v)) for k, v in c.headers]
        if c.trace_id == t:
            c.trace_id = nt
    return out


def post_test(port, body, headers, timeout=20):
    req = [b"POST /test HTTP/1.1", f"Host: 127.0.0.1:{port}".encode(),
           b"Content-Type: application/json", f"Content-Length: {len(body)}".encode(),
           b"Connection: close"]
    req += [f"{k}: {v}".encode() for k, v in headers]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"\r\n".join(req) + b"\r\n\r\n" + body)
        raw = read_all(s, timeout)
    done = time.monotonic()
    rs = split_responses(raw)
    return (rs[0] if rs else (None, {}, raw)), done


def run(argv):
    p = Problems("w3c_harness")
    cb = Callbacks()
    srv = make_server(cb)
    hport = srv.server_address[1]
    results = []  # (case, trace id the callbacks carried)
    try:
        with Demo(argv[0], "--threads", "2") as d:
            for n, c in enumerate(cases()):
                scope = f"/case{n}."
                body = json.dumps([{"url": f"http://127.0.0.1:{hport}{scope}{i}", "arguments": c.args}
                                   for i in range(c.calls)]).encode()
                (st, _, rbody), done = post_test(d.port, body, c.headers)
                got = cb.take(scope)
                p.eq(st, 200, f"[{c.name}] /test status (answer {rbody[:200]!r})")
                p.eq(sorted(got), [f"{scope}{i}" for i in range(c.calls)],
                     f"[{c.name}] callbacks received")
                tids, pids = set(), []
                for path, recs in sorted(got.items()):
                    p.eq(len(recs), 1, f"[{c.name}] {path} called once")
                    hdrs, cbody, when = recs[0]
                    p.check(when <= done, f"[{c.name}] {path} arrived after /test answered")
                    tps = [v for k, v in hdrs if k == "traceparent"]
                    if not p.eq(len(tps), 1, f"[{c.name}] {path} traceparent lines"):
                        continue
                    m = TP_RE.match(tps[0])
                    if not p.check(m, f"[{c.name}] {path} traceparent {tps[0]!r} is not version-00 form"):
                        continue
                    tid, pid, flags = m.groups()
                    p.check(tid != "0" * 32 and pid != "0" * 16, f"[{c.name}] zero id in {tps[0]}")
                    p.check(int(flags, 16) & ~3 == 0, f"[{c.name}] reserved flag bits sent: {flags}")
                    tids.add(tid)
                    pids.append(pid)
                    tss = [v for k, v in hdrs if k == "tracestate"]
                    p.check(len(tss) <= 1, f"[{c.name}] {len(tss)} tracestate lines")
                    ts = parse_tracestate(tss[0]) if tss else None
                    if tss:
                        p.check(ts is not None, f"[{c.name}] tracestate {tss[0][:80]!r} is invalid")
                        p.check(tss[0].strip() != "", f"[{c.name}] empty tracestate sent")
                    if c.expect == "continue":
                        p.eq(tid, c.trace_id, f"[{c.name}] trace id continued")
                        p.eq(flags, c.flags, f"[{c.name}] flags")
                        sent_pids = [v.strip(" \t").split("-")[2] for k, v in c.headers
                                     if k.lower() == "traceparent"]
                        p.check(pid not in sent_pids, f"[{c.name}] parent id not replaced")
                        if c.tracestate == "nodup":
                            if ts is not None:
                                keys = [k for k, _ in ts]
                                p.eq(len(keys), len(set(keys)), f"[{c.name}] duplicate keys sent")
                        else:
                            p.eq(ts, c.tracestate, f"[{c.name}] tracestate")
                    else:
                        sent = [v for k, v in c.headers if k.lower() == "traceparent"]
                        for v in sent:
                            p.check(tid not in v.lower(), f"[{c.name}] invalid traceparent continued")
                        p.check(not tss, f"[{c.name}] tracestate {tss} sent on a new trace")
                        # a new trace sets the random flag (Level 2): all 16 bytes are random
                        p.check(int(flags, 16) & 2, f"[{c.name}] random flag not set on a new trace")
                    try:
                        p.eq(json.loads(cbody), c.args, f"[{c.name}] {path} body")
                    except ValueError:
                        p.check(False, f"[{c.name}] {path} body is not JSON: {cbody[:100]!r}")
                p.check(len(tids) <= 1, f"[{c.name}] callbacks of one request in {len(tids)} traces")
                p.eq(len(set(pids)), len(pids), f"[{c.name}] parent ids not distinct: {pids}")
                results.append((c, tids.pop() if tids else None))

            # a callback that cannot be made: 502 after trying all of them
            dead = free_port()
            body = json.dumps([{"url": f"http://127.0.0.1:{dead}/x", "arguments": []},
                               {"url": f"http://127.0.0.1:{hport}/after-dead.0", "arguments": []}]).encode()
            (st, _, rbody), _ = post_test(d.port, body, [])
            p.eq(st, 502, f"/test with an unreachable callback ({rbody[:200]!r})")
            p.check(b'"status":-1' in rbody and b'"status":200' in rbody,
                    f"/test answer lists both callbacks: {rbody[:300]!r}")
            p.eq(sorted(cb.take("/after-dead")), ["/after-dead.0"], "callbacks after a failed one")
            # non-loopback callbacks are refused unless --allow-remote-callbacks
            body = json.dumps([{"url": "http://192.0.2.1:9/x", "arguments": []}]).encode()
            (st, _, rbody), _ = post_test(d.port, body, [])
            p.check(st == 502 and b"loopback" in rbody, f"remote callback refused: {st} {rbody[:200]!r}")

            rc = d.stop()
            d.check_clean_exit(p, rc)
            recs = d.json_logs(p)
    finally:
        srv.shutdown()

    # the log lines of each /test request carry the trace its callbacks carried
    for c, tid in results:
        if tid is None:
            continue
        mine = [r for r in recs if r.get("trace_id") == tid]
        reqs = [r for r in mine if r.get("message") == "request" and r.get("route") == "/test"]
        cbs = [r for r in mine if r.get("message") == "callback"]
        p.eq(len(reqs), 1, f"[{c.name}] request log lines with trace_id {tid}")
        p.eq(len(cbs), c.calls, f"[{c.name}] callback log lines with trace_id {tid}")
        for r in cbs:
            p.check(isinstance(r.get("traceparent"), str) and tid in r["traceparent"],
                    f"[{c.name}] callback line's traceparent {r.get('traceparent')}")
        if c.expect == "continue" and reqs:
            p.eq(reqs[0].get("trace_continued"), True, f"[{c.name}] trace_continued")
    p.check(len(results) >= 50, f"only {len(results)} cases ran")
    return p.report()


if __name__ == "__main__":
    main_guard(run)
