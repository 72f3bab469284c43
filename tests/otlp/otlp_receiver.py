#!/usr/bin/env python3
"""tests/otlp/otlp_receiver.py - a stand-in OTLP/HTTP collector for the
exporter's tests: records every request and answers by a plan.

Usage: otlp_receiver.py DIR PLAN
  Listens on 127.0.0.1 (a free port, printed as "port N" on stdout once
  ready). Request i (from 0) is saved as DIR/req-i.body (gunzipped when it
  came with Content-Encoding: gzip) and DIR/req-i.meta (one "name: value"
  line per header, then "path: ...", "time: <monotonic seconds>",
  "gzip: 0|1"). PLAN is a comma-separated list of answers, one per request
  in order, the last one repeated:
    200, 400, 503, ...  that status (with an empty protobuf body)
    503ra2              503 with Retry-After: 2
    partial3            200 with a partial success: 3 rejected, made by
                        otlp_response.js (protobuf or OTLP/JSON, as the
                        request's Content-Type was)
    slow3000            wait 3000 ms, then 200
    close               read the request, send half a status line, close
Runs until killed (SIGTERM).
"""
import gzip
import http.server
import os
import socketserver
import subprocess
import sys
import time

out_dir, plan = sys.argv[1], sys.argv[2].split(",")
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        global count
        i = count
        count += 1
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        gz = self.headers.get("Content-Encoding", "") == "gzip"
        if gz:
            body = gzip.decompress(body)
        with open(os.path.join(out_dir, "req-%d.body" % i), "wb") as f:
            f.write(body)
        with open(os.path.join(out_dir, "req-%d.meta" % i), "w") as f:
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k.lower(), v))
            f.write("path: %s\ntime: %.6f\ngzip: %d\n" % (self.path, time.monotonic(), gz))
        answer = plan[min(i, len(plan) - 1)]
        if answer == "close":
            self.wfile.write(b"HTTP/1.1 2")
            self.wfile.flush()
            self.close_connection = True
            return
        status, extra, body = 200, [], b""
        ctype = "application/x-protobuf"
        if answer.startswith("partial"):
            json_req = self.headers.get("Content-Type", "").startswith("application/json")
            kind = "logs" if self.path.endswith("/logs") else "traces"
            body = subprocess.run(
                ["node", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                      "otlp_response.js"),
                 kind, answer[7:], "over the limit", "json" if json_req else "pb"],
                check=True, stdout=subprocess.PIPE).stdout
            if json_req:
                ctype = "application/json"
        elif answer.startswith("slow"):
            time.sleep(int(answer[4:]) / 1000.0)
        elif "ra" in answer:
            s, ra = answer.split("ra")
            status, extra = int(s), [("Retry-After", ra)]
        else:
            status = int(answer)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
