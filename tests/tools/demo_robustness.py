#!/usr/bin/python3
"""demo_robustness.py SONDE_DEMO - bad and hostile clients get an answer
(400/404/405/408/413/501/505), never a crash or a stuck worker: malformed
request lines, oversized heads and bodies, slow and trickling clients (more
of them than there are workers), pipelining, keep-alive and its idle
timeout, Expect: 100-continue, HTTP/1.0, and a graceful stop that finishes
the request in flight. Each rejection is counted in http_requests_total.
"""
import json
import os
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard, read_all, split_responses, status_of  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402

READ_TIMEOUT_MS = 700
IDLE_TIMEOUT_MS = 600
THREADS = 2


def trickle(port, data, every_s, budget_s):
    """Sends data one byte every every_s seconds; returns (answer, seconds)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=budget_s) as s:
        for b in data:
            try:
                s.sendall(bytes([b]))
            except OSError:
                break  # the server answered and closed: stop sending
            time.sleep(every_s)
            if time.monotonic() - t0 > budget_s:
                break
        got = read_all(s, max(0.1, budget_s - (time.monotonic() - t0)))
    return got, time.monotonic() - t0


def run(argv):
    p = Problems("demo_robustness")
    with Demo(argv[0], "--threads", str(THREADS), "--read-timeout-ms", str(READ_TIMEOUT_MS),
              "--idle-timeout-ms", str(IDLE_TIMEOUT_MS), "--max-header-bytes", "4096",
              "--max-body-bytes", "1024") as d:
        want = {}  # (method, route, status) -> count expected in http_requests_total

        def expect(raw_req, status, label, counted=None, **kw):
            got = d.raw(raw_req, **kw)
            p.eq(status_of(got), status, f"{label}: status")
            if counted:
                want[counted] = want.get(counted, 0) + 1
            return got

        # ---- malformed heads: 400, counted as method/route "other" ----
        expect(b"GARBAGE\r\n\r\n", 400, "no target", ("other", "other", "400"))
        expect(b"GET /work HTTP/1.1\r\nHost: x\r\n folded: line\r\n\r\n", 400, "obs-fold",
               ("other", "other", "400"))
        expect(b"GET /work\r\n\r\n", 400, "HTTP/0.9 request line", ("other", "other", "400"))
        expect(b"GET /work HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "space in a header name",
               ("other", "other", "400"))
        expect(b"GET /work HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400, "control byte in a value",
               ("other", "other", "400"))
        expect(b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2.0 request line", ("other", "other", "505"))

        # ---- oversized: 413 ----
        expect(b"GET /work HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 413,
               "a 5000-byte header (limit 4096)", ("other", "other", "413"))
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(70))
        expect(b"GET /work HTTP/1.1\r\n" + many + b"\r\n", 413, "70 header lines",
               ("other", "other", "413"))
        expect(b"POST /test HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"[" * 100, 413,
               "Content-Length over --max-body-bytes", ("POST", "/test", "413"))
        expect(b"POST /test HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, "bad Content-Length",
               ("POST", "/test", "400"))
        expect(b"POST /test HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n[]", 400,
               "conflicting Content-Length", ("POST", "/test", "400"))
        expect(b"POST /test HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n",
               501, "chunked body", ("POST", "/test", "501"))

        # ---- routing and parameters ----
        st, hdr, body = d.get("/does/not/exist")
        p.eq(st, 404, "unknown path")
        p.check(json.loads(body).get("status") == 404, "404 body is JSON")
        want[("GET", "other", "404")] = 1
        st, hdr, _ = d.request("POST", "/work", body=b"")
        p.eq(st, 405, "POST /work")
        p.eq(hdr.get("allow"), "GET", "Allow header of the 405")
        want[("POST", "/work", "405")] = 1
        for q in ("ms=99999", "ms=-1", "ms=", "ms=1&status=700", "ms=1&status=abc"):
            st, _, _ = d.get("/work?" + q)
            p.eq(st, 400, f"/work?{q}")
        want[("GET", "/work", "400")] = 5
        for body, what in ((b"{", "truncated JSON"), (b'[{"url": 1}]', "url not a string"),
                           (b'[{"url": "https://127.0.0.1:1/x"}]', "https url"),
                           (b'[{"arguments": []}]', "no url"), (b"[] x", "trailing text"),
                           (b"[" + b",".join([b'{"url":"http://127.0.0.1:1/"}'] * 33) + b"]",
                            "33 callbacks")):
            st, _, rb = d.request("POST", "/test", body=body)
            p.eq(st, 400, f"POST /test with {what}")
        want[("POST", "/test", "400")] = want.get(("POST", "/test", "400"), 0) + 6

        # ---- slow clients: 408 within the read deadline, however they trickle ----
        got, secs = trickle(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", 0.0, 5)
        p.eq(status_of(got), 408, "a head that never ends")
        p.check(secs < READ_TIMEOUT_MS / 1000 + 1.5, f"408 took {secs:.2f} s")
        want[("other", "other", "408")] = 1
        got, secs = trickle(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 100, 0.15, 6)
        p.eq(status_of(got), 408, "a head trickled one byte per 150 ms")
        p.check(secs < READ_TIMEOUT_MS / 1000 + 1.5,
                f"the trickled head was cut after {secs:.2f} s (deadline per request, not per read)")
        want[("other", "other", "408")] += 1
        got = d.raw(b"POST /test HTTP/1.1\r\nContent-Length: 100\r\n\r\n[", timeout=5)
        p.eq(status_of(got), 408, "a body that never completes")
        want[("POST", "/test", "408")] = 1

        # more slow clients than workers, all at once: each gets its 408 and a
        # normal request is still served right after
        n_slow = THREADS * 3
        answers = [None] * n_slow

        def slow(i):
            answers[i] = status_of(d.raw(b"GET /readyz HTTP/1.1\r\n", timeout=10))
        ts = [threading.Thread(target=slow, args=(i,)) for i in range(n_slow)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        p.eq(answers, [408] * n_slow, f"{n_slow} concurrent slow clients")
        want[("other", "other", "408")] += n_slow
        t1 = time.monotonic()
        st, _, _ = d.get("/healthz", timeout=5)
        p.eq(st, 200, "/healthz after the slow clients")
        p.check(time.monotonic() - t1 < 1.0, "no worker stuck after the slow clients")
        p.check(t1 - t0 < (n_slow / THREADS + 1) * READ_TIMEOUT_MS / 1000 + 2,
                f"slow clients held workers for {t1 - t0:.2f} s")

        # a client that leaves halfway, and one that connects and says nothing
        with socket.create_connection(("127.0.0.1", d.port)) as s:
            s.sendall(b"GET /work HTTP/1.1\r\nHo")
        with socket.create_connection(("127.0.0.1", d.port)):
            pass

        # ---- pipelining, keep-alive, idle timeout, 100-continue, HTTP/1.0 ----
        got = d.raw(b"GET /work?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
        codes = [r[0] for r in split_responses(got)]
        p.eq(codes, [200, 404, 200], "three pipelined requests answered in order")
        want[("GET", "/work", "200")] = 1
        want[("GET", "other", "404")] += 1
        got = d.raw(b"\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", timeout=5)
        p.eq(status_of(got), 200, "an empty line before the request line is ignored")
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(b"GET /work?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            first = s.recv(65536)
            p.eq(status_of(first), 200, "keep-alive: first answer")
            p.check(b"Connection: keep-alive" in first, "keep-alive answer says so")
            time.sleep(0.1)
            s.sendall(b"GET /work?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            second = s.recv(65536)
            p.eq(status_of(second), 200, "keep-alive: second answer on the same connection")
            t0 = time.monotonic()
            rest = read_all(s, 5)
            idle = time.monotonic() - t0
            p.eq(rest, b"", "nothing more on an idle connection")
            p.check(IDLE_TIMEOUT_MS / 1000 - 0.2 < idle < IDLE_TIMEOUT_MS / 1000 + 1.5,
                    f"idle connection closed after {idle:.2f} s (idle timeout {IDLE_TIMEOUT_MS} ms)")
        want[("GET", "/work", "200")] += 2
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(b"POST /test HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
            interim = s.recv(65536)
            p.check(interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), f"100 Continue, got {interim[:40]!r}")
            s.sendall(b"[]")
            final = interim[25:] + read_all(s, 5)
            p.eq(status_of(final), 200, "POST /test [] after 100-continue")
            p.check(final.endswith(b'{"callbacks":[]}\n'), f"empty /test answer: {final[-60:]!r}")
        want[("POST", "/test", "200")] = 1
        got = d.raw(b"GET /healthz HTTP/1.0\r\n\r\n", timeout=5)
        p.check(got.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in got,
                "HTTP/1.0 without keep-alive is answered and closed")

        # ---- every rejection counted ----
        st, _, text = d.get("/metrics")
        vals = {}
        for fam in text_parse(text.decode()):
            for s in fam.samples:
                if s.name == "http_requests_total":
                    vals[(s.labels["method"], s.labels["route"], s.labels["status"])] = s.value
        for k, n in sorted(want.items()):
            p.eq(vals.get(k), n, f"http_requests_total{{method,route,status}}={k}")

        # ---- graceful stop: the request in flight is finished ----
        result = {}

        def inflight():
            result["r"] = d.get("/work?ms=800", timeout=10)
        t = threading.Thread(target=inflight)
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        t.join()
        rc = d.stop()
        p.eq(result.get("r", (None,))[0], 200, "request in flight during SIGTERM answered")
        p.check(result.get("r", (0, {}))[1].get("connection") == "close",
                "the answer during the stop closes the connection")
        p.check(time.monotonic() - t0 < 5, "the demo stopped promptly")
        d.check_clean_exit(p, rc)
        recs = d.json_logs(p)
        rejected = [r for r in recs if r.get("message") == "request rejected"]
        p.check(len(rejected) >= 20, f"'request rejected' log lines: {len(rejected)}")
        p.check(all("error" in r and "trace_id" in r for r in rejected),
                "rejections log their reason and a trace id")
        # issue 13.20: a rejected 5xx (501, 505) logs at error, a 4xx at warn
        for r in rejected:
            want = "error" if r.get("status", 0) >= 500 else "warn"
            p.eq(r.get("level"), want, f"level of a rejected {r.get('status')}")
        p.check(any(r.get("status", 0) >= 500 for r in rejected), "a rejected 5xx was logged")
        stopped = [r for r in recs if r.get("message") == "stopped"]
        p.check(len(stopped) == 1 and stopped[0].get("reason") == "signal", f"stopped line: {stopped}")
    return p.report()


if __name__ == "__main__":
    main_guard(run)
