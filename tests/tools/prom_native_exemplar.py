#!/usr/bin/python3
"""prom_native_exemplar.py STREAM NAME COUNT TRACE_ID VALUE - a real
Prometheus 2.42 (native histograms and exemplar storage on) scrapes STREAM,
the protobuf exposition sonde wrote for one native-only histogram NAME with
COUNT observations and one exemplar {trace_id=TRACE_ID} of value VALUE. A
small HTTP server on loopback serves STREAM with the protobuf content type
to a scraper whose Accept asks for it (and 406 to any other). The test
waits until histogram_count(NAME) is stored, checks it equals COUNT, then
reads the exemplar back through /api/v1/query_exemplars: its labels and
value must be what sonde recorded. Prometheus is killed on every path;
every wait is bounded.
"""
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Problems, main_guard  # noqa: E402
from demo_prometheus import Prometheus  # noqa: E402

PB = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
WAIT_S = 40


def serve(data, accepts):
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            accept = self.headers.get("Accept", "")
            accepts.append(accept)
            if "application/vnd.google.protobuf" not in accept:
                self.send_response(406)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", PB)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def run(argv):
    stream, name, count, trace_id, value = argv[0], argv[1], int(argv[2]), argv[3], float(argv[4])
    p = Problems("prom_native_exemplar")
    tmp = tempfile.mkdtemp(prefix="sonde-prom-nex.")
    accepts = []
    srv = serve(open(stream, "rb").read(), accepts)
    prom = None
    try:
        prom = Prometheus(srv.server_address[1], tmp,
                          features="native-histograms,exemplar-storage")
        got, t0 = None, time.monotonic()
        while time.monotonic() - t0 < WAIT_S:
            r = prom.query(f"histogram_count({name})")
            if r:
                got = list(r.values())[0]
                break
            time.sleep(0.5)
        if not p.check(got is not None, f"no native histogram stored in {WAIT_S} s "
                       f"(Accept seen: {accepts[-1:]}):\n" + prom.logtext()):
            return p.report()
        p.eq(got, float(count), "histogram_count")
        now = time.time()
        exs = []
        for _ in range(10):
            data = prom.api("query_exemplars", query=name, start=str(now - 3600),
                            end=str(now + 3600))
            exs = [e for s in data for e in s.get("exemplars", [])]
            if exs:
                break
            time.sleep(0.5)
        if p.check(len(exs) >= 1, f"query_exemplars({name}) returned none: {data}"):
            e = exs[0]
            p.eq(e["labels"], {"trace_id": trace_id}, "exemplar labels")
            p.check(abs(float(e["value"]) - value) <= 1e-12 * max(1.0, abs(value)),
                    f"exemplar value {e['value']} != {value!r}")
        return p.report()
    finally:
        if prom:
            prom.stop()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main_guard(run)
