#!/usr/bin/python3
"""exporter_check.py PORT - the embedded exporter (sonde_exporter) that the
C test started on 127.0.0.1:PORT (registry: exporter_requests_total 7 and a
histogram; health: one passing check; request timeout 500 ms, 16 slots,
1024-byte heads), checked with clients we did not write: Python's
http.client, promtool, prometheus_client's text and OpenMetrics parsers,
gzip, and a real Prometheus server scraping it. Then the bad clients:
malformed, unknown method, HTTP/2.0, a body, an oversized head, a slow
head (slowloris), a silent connection, a thousand connections at once; the
exporter must answer each as documented and keep serving scrapes.
"""
import gzip
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Problems, main_guard, read_all, status_of  # noqa: E402
from demo_prometheus import Prometheus  # noqa: E402

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402


def get(port, path, method="GET", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def raw(port, data, timeout=5, pause=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if pause is None:
            s.sendall(data)
        else:  # byte by byte, pause seconds apart
            for i in range(len(data)):
                try:
                    s.sendall(data[i:i + 1])
                except OSError:
                    break
                time.sleep(pause)
        return read_all(s, timeout)
    finally:
        s.close()


def value(text, parse, name, labels=None):
    for fam in parse(text):
        for s in fam.samples:
            if s.name == name and (labels is None or s.labels == labels):
                return s.value
    return None


def run(argv):
    port = int(argv[0])
    p = Problems("exporter")

    # ---- /metrics in each format ----
    st, hdr, body = get(port, "/metrics")
    p.eq(st, 200, "GET /metrics")
    p.eq(hdr.get("content-type"), "text/plain; version=0.0.4; charset=utf-8", "text type")
    p.eq(hdr.get("connection"), "close", "Connection: close")
    pt = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                        timeout=30)
    p.check(pt.returncode == 0, "promtool: " + (pt.stdout + pt.stderr).decode()[:1000])
    p.eq(value(body.decode(), text_parse, "exporter_requests_total"), 7.0, "counter via text")
    st, hdr, body = get(port, "/metrics?x=1",
                        headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    p.eq(hdr.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8",
         "OpenMetrics type (query string ignored)")
    p.eq(value(body.decode(), om_parse, "exporter_requests_total"), 7.0, "counter via OpenMetrics")
    st, hdr, body = get(port, "/metrics", headers={"Accept-Encoding": "gzip"})
    p.eq(hdr.get("content-encoding"), "gzip", "gzip")
    p.eq(value(gzip.decompress(body).decode(), text_parse, "exporter_requests_total"), 7.0,
         "counter via gzip")
    st, hdr, body = get(port, "/metrics", method="HEAD")
    p.check(st == 200 and body == b"" and int(hdr.get("content-length", "0")) > 0,
            "HEAD: 200, a length, no body")

    # ---- probes and errors ----
    st, hdr, body = get(port, "/readyz")
    p.check(st == 200 and b'"status"' in body and hdr.get("content-type") == "application/json",
            f"/readyz: {st} {body[:200]!r}")
    p.eq(get(port, "/healthz")[0], 200, "/healthz")
    p.eq(get(port, "/nope")[0], 404, "unknown path")
    st, hdr, _ = get(port, "/metrics", method="POST")
    p.check(st == 405 and hdr.get("allow") == "GET, HEAD", f"POST: {st} {hdr}")
    p.eq(status_of(raw(port, b"GET /metrics HTTP/2.0\r\n\r\n")), 505, "HTTP/2.0")
    p.eq(status_of(raw(port, b"GET metrics HTTP/1.1\r\n\r\n")), 400, "no leading slash")
    p.eq(status_of(raw(port, b"GET /metrics HTTP/1.1\r\n folded\r\n\r\n")), 400, "obs-fold")
    p.eq(status_of(raw(port, b"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n")), 400,
         "space in a header name")
    p.eq(status_of(raw(port, b"GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")), 400,
         "a body")
    p.eq(status_of(raw(port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n")), 431,
         "head over 1024 bytes")
    # slowloris: a head that never completes, a byte at a time
    t0 = time.monotonic()
    r = raw(port, b"GET /metrics HTTP/1.1\r\nHost:", pause=0.05)
    p.check(status_of(r) == 408 and time.monotonic() - t0 < 4,
            f"slowloris: {status_of(r)} after {time.monotonic() - t0:.1f} s")
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    got = read_all(s, 5)
    s.close()
    p.check(got == b"" and time.monotonic() - t0 < 2, "a silent connection is closed at 500 ms")

    # ---- a thousand connections at once: the slots fill, the rest are
    # closed at once, and a scrape still gets through once they go ----
    socks = []
    for _ in range(1000):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    p.check(len(socks) >= 500, f"opened {len(socks)} connections")
    ok = []

    def scrape():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if get(port, "/metrics")[0] == 200:
                    ok.append(1)
                    return
            except OSError:
                pass
            time.sleep(0.1)
    th = threading.Thread(target=scrape)
    th.start()
    th.join()
    for s in socks:
        s.close()
    p.check(ok == [1], "a scrape got through while a thousand connections were open")

    # ---- a real Prometheus scrapes it ----
    tmp = tempfile.mkdtemp(prefix="sonde-exporter-test.")
    prom = None
    try:
        prom = Prometheus(port, tmp)
        got = {}
        t0 = time.monotonic()
        while time.monotonic() - t0 < 40 and not got:
            got = prom.query("exporter_requests_total")
            time.sleep(0.5)
        p.eq(list(got.values()), [7.0], "Prometheus stored exporter_requests_total")
        up = prom.query("up")
        p.eq(list(up.values()), [1.0], "Prometheus target up")
    finally:
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return p.report()


if __name__ == "__main__":
    main_guard(run)
