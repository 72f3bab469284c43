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
cleared, tracestate propagated, or dropped whole when invalid (a repeated
key is not invalid: kept as-is or reduced to one member), and the arguments
as the callback body. Cases follow the spec
(spec/20-http_request_header_format.md) and every case of the harness's
test.py (SPEC_LEVEL=2, STRICT_LEVEL=2; the "official:" cases and the
duplicate-key cases, written here from its assertions), plus what the
harness does not check (uppercase hex, reserved flag bits). Then checks the
demo's JSON log lines for each case.
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
    or None when invalid (bad member, over 32 members). A repeated key is
    not invalid: the official harness (test_tracestate_duplicated_keys)
    accepts it kept as-is or reduced to one member; Case.tracestate says
    which outcomes a case accepts."""
    members = []
    for m in value.split(","):
        m = m.strip(" \t")
        if not m:
            continue
        k, eq, v = m.partition("=")
        if not eq or not KEY_RE.match(k) or not VALUE_RE.match(v):
            return None
        members.append((k, v))
    return members if len(members) <= 32 else None


def dups_ok(got, sent):
    """test_tracestate_duplicated_keys: the members sent, kept as they are,
    or with each repeated key reduced to one of its members."""
    if got is None:
        return False
    if got == sent:
        return True
    keys = [k for k, _ in got]
    return (len(keys) == len(set(keys)) and set(keys) == {k for k, _ in sent}
            and all(m in sent for m in got))


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
        # expected members; None = absent; ("dups", sent) = sent kept as-is
        # or each repeated key reduced to one member (dups_ok)
        self.tracestate = tracestate
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
    # duplicates: propagated, kept as-is or reduced to one member (the
    # official test_tracestate_duplicated_keys; sonde keeps the first)
    for name, lines in (("one line, same value", ["foo=1,foo=1"]),
                        ("one line, two values", ["foo=1,foo=2"]),
                        ("two lines, same value", ["foo=1", "foo=1"]),
                        ("two lines, two values", ["foo=1", "foo=2"]),
                        ("among other keys", ["a=1,foo=1", "b=2,foo=3"])):
        sent = [tuple(m.split("=")) for line in lines for m in line.split(",")]
        cont(f"tracestate duplicate keys: {name}",
             [("traceparent", tp(flags="00"))] + [("tracestate", v) for v in lines],
             tracestate=("dups", sent), flags="00")

    # ---- the official harness's cases (w3c/trace-context test/test.py,
    # SPEC_LEVEL=2, STRICT_LEVEL=2), one by one, where the ones above do not
    # already send the same headers
    # test_both_traceparent_and_tracestate_missing
    restart("official: no headers at all", [])
    # test_traceparent_header_name: wrong names are not traceparent
    for n in ("trace-parent", "trace.parent"):
        restart(f"official: header named {n}", [(n, tp())])
    # test_traceparent_header_name_valid_casing
    for n in ("TraceParent", "TRACEPARENT"):
        cont(f"official: header named {n}", [(n, tp())])
    # test_traceparent_version_0x00
    restart("official: version 00 with a trailing dot", [("traceparent", tp(tail="."))])
    restart("official: version 00 with extra fields",
            [("traceparent", tp(tail="-what-the-future-will-be-like"))])
    # test_traceparent_version_0xcc
    cont("official: version cc", [("traceparent", tp("cc"))])
    cont("official: version cc with extra fields",
         [("traceparent", tp("cc", tail="-what-the-future-will-be-like"))])
    restart("official: version cc, flags followed by a dot",
            [("traceparent", tp("cc", tail=".what-the-future-will-be-like"))])
    # test_traceparent_version_illegal_characters, _too_long
    for v in (".0", "0.", "000", "0000"):
        restart(f"official: version {v!r}", [("traceparent", tp(v))])
    # test_traceparent_trace_id_illegal_characters, _too_long
    for name, tid in (("leading dot", "." + t[1:]), ("trailing dot", t[:-1] + "."),
                      ("33 digits", t + "3")):
        restart(f"official: trace id {name}", [("traceparent", tp(tid=tid))])
    # test_traceparent_parent_id_illegal_characters, _too_short
    for name, sid in (("leading dot", "." + s[1:]), ("trailing dot", s[:-1] + "."),
                      ("15 digits", s[:-1])):
        restart(f"official: parent id {name}", [("traceparent", tp(sid=sid))])
    # test_traceparent_trace_flags_illegal_characters, _too_long, _too_short
    for f in (".0", "0.", "001", "1"):
        restart(f"official: flags {f!r}", [("traceparent", tp(flags=f))])
    # test_traceparent_ows_handling
    for name, (a, b) in (("leading space", (" ", "")), ("leading tab", ("\t", "")),
                         ("trailing space", ("", " ")), ("trailing tab", ("", "\t")),
                         ("tab and space both sides", ("\t ", " \t"))):
        cont(f"official: traceparent OWS, {name}", [("traceparent", a + tp() + b)])
    # test_tracestate_included_traceparent_missing
    restart("official: tracestate of two members without traceparent",
            [("tracestate", "foo=1,bar=2")])
    # test_tracestate_included_traceparent_included (flags 00)
    cont("official: tracestate with traceparent, flags 00",
         [("traceparent", tp(flags="00")), ("tracestate", "foo=1,bar=2")],
         tracestate=[("foo", "1"), ("bar", "2")], flags="00")
    # test_tracestate_header_name: wrong names are not tracestate
    for n in ("trace-state", "trace.state"):
        cont(f"official: header named {n}", [("traceparent", tp()), (n, "foo=1")])
    # test_tracestate_header_name_valid_casing
    for n in ("TraceState", "TRACESTATE"):
        cont(f"official: header named {n}", [("traceparent", tp()), (n, "foo=1")],
             tracestate=[("foo", "1")])
    # test_tracestate_empty_header: an empty line beside a member
    cont("official: tracestate foo=1 then an empty line",
         [("traceparent", tp()), ("tracestate", "foo=1"), ("tracestate", "")],
         tracestate=[("foo", "1")])
    cont("official: tracestate empty line then foo=1",
         [("traceparent", tp()), ("tracestate", ""), ("tracestate", "foo=1")],
         tracestate=[("foo", "1")])
    # test_tracestate_multiple_headers_different_keys
    cont("official: tracestate on three lines",
         [("traceparent", tp()), ("tracestate", "foo=1,bar=2"),
          ("tracestate", "rojo=1,congo=2"), ("tracestate", "baz=3")],
         tracestate=[("foo", "1"), ("bar", "2"), ("rojo", "1"), ("congo", "2"), ("baz", "3")])
    # test_tracestate_all_allowed_characters
    key = "".join(map(chr, range(0x61, 0x7b))) + "0123456789_-*/"
    value = "".join(map(chr, list(range(0x20, 0x2c)) + list(range(0x2d, 0x3d))
                        + list(range(0x3e, 0x7f))))
    for k in (key, key + "@a-z0-9_-*/"):
        cont(f"official: all allowed characters, key of {len(k)}",
             [("traceparent", tp()), ("tracestate", f"{k}={value}")], tracestate=[(k, value)])
    # test_tracestate_ows_handling
    three = [("foo", "1"), ("bar", "2"), ("baz", "3")]
    for v in ("foo=1 \t , \t bar=2, \t baz=3", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"):
        cont(f"official: tracestate OWS {v!r}", [("traceparent", tp()), ("tracestate", v)],
             tracestate=three)
    for v in (" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"):
        cont(f"official: tracestate OWS {v!r}", [("traceparent", tp()), ("tracestate", v)],
             tracestate=[("foo", "1")])
    # test_tracestate_key_illegal_characters: dropped whole
    for v in ("foo =1", "FOO=1", "foo.bar=1"):
        cont(f"official: tracestate {v!r} dropped", [("traceparent", tp()), ("tracestate", v)])
    # test_tracestate_key_illegal_vendor_format: Level 2 keys accept '@'
    # anywhere after the first character; a leading '@' drops the header
    for k in ("foo@", "foo@@bar", "foo@bar@baz"):
        cont(f"official: tracestate {k}=1,bar=2 kept",
             [("traceparent", tp()), ("tracestate", f"{k}=1,bar=2")],
             tracestate=[(k, "1"), ("bar", "2")])
    cont("official: tracestate @foo=1,bar=2 dropped",
         [("traceparent", tp()), ("tracestate", "@foo=1,bar=2")])
    # test_tracestate_member_count_limit: 32 and 33 members over four lines
    lines = [",".join(f"bar{i:02d}={i:02d}" for i in range(a, b)) for a, b in
             ((1, 11), (11, 21), (21, 31), (31, 33))]
    cont("official: 32 members on four lines",
         [("traceparent", tp())] + [("tracestate", v) for v in lines],
         tracestate=[(f"bar{i:02d}", f"{i:02d}") for i in range(1, 33)])
    cont("official: 33 members on four lines dropped",
         [("traceparent", tp())] + [("tracestate", v) for v in lines[:3]]
         + [("tracestate", lines[3] + ",bar33=33")])
    # test_tracestate_key_length_limit (Level 2 keys: 256 characters in
    # all, '@' anywhere; Level 1's tenant/vendor lengths no longer apply)
    for k, ok in (("z" * 256, True), ("z" * 257, False), ("t" * 241 + "@" + "v" * 14, True),
                  ("t" * 242 + "@v", True), ("t@" + "v" * 15, True)):
        cont(f"official: tracestate key of {len(k)} ({k[:3]}...) {'kept' if ok else 'dropped'}",
             [("traceparent", tp()), ("tracestate", "foo=1"), ("tracestate", k + "=1")],
             tracestate=[("foo", "1"), (k, "1")] if ok else None)
    # test_tracestate_value_illegal_characters
    for v in ("foo=bar=baz", "foo=,bar=3"):
        cont(f"official: tracestate {v!r} dropped", [("traceparent", tp()), ("tracestate", v)])
    # AdvancedTest: three callbacks, valid / no / illegal traceparent
    cont("official: three callbacks, valid traceparent", [("traceparent", tp())], calls=3)
    restart("official: three callbacks, no traceparent", [], calls=3)
    restart("official: three callbacks, all-zero trace id",
            [("traceparent", tp(tid="0" * 32))], calls=3)
    # TraceContext2Test: the random flag is propagated
    cont("official: flags 02 propagated", [("traceparent", tp(flags="02"))], flags="02")
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
                        if isinstance(c.tracestate, tuple):
                            p.check(dups_ok(ts, c.tracestate[1]),
                                    f"[{c.name}] tracestate {tss} is neither the members "
                                    f"sent nor each key once")
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
