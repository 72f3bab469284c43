#!/usr/bin/env python3
"""tests/tools/http_peer.py - the HTTP server the HTTP client's tests
(tests/net/test_http.c) talk to: Python's own http.server speaking
HTTP/1.1 with keep-alive, plus paths that misbehave on purpose.

Usage: http_peer.py 4|6
Listens on 127.0.0.1 (4) or ::1 (6), port chosen by the kernel, prints
"PORT <n>" on stdout, then serves until stdin closes (the test's end).

Paths (any method; a request body is read by its Content-Length):
  /echo          200, the request body back, X-Peer-Port (the client's
                 port: the same port twice proves one connection was reused),
                 X-Method, X-Host, X-Got-Length (what Content-Length said)
  /whoami        200, body "METHOD|Host|Content-Length" of the request
  /chunked       200 with Transfer-Encoding: chunked, body "hello, chunked world"
                 cut in three chunks, one with an extension, and a trailer
  /retry         503 with Retry-After: 7
  /retry-date    503 with Retry-After: an IMF-fixdate 120 s from now
  /close         Connection: close on a 200
  /slow          sleeps 3 s before answering
  /mid           promises 100 body bytes, sends 10, closes
  /big-headers   a 100 KB header
  /eof-body      200 without Content-Length, body delimited by the close
  /bad           a malformed status line
  /quiet-close   200 without "Connection: close", then the server closes the
                 idle connection anyway (the client must notice before reuse)
  /drop-once     the first time: read the request and close without a word;
                 afterwards 200 "second try"
"""
import email.utils
import http.server
import socket
import sys
import threading
import time


LOCK = threading.Lock()
DROPPED = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        body = self._body()
        p = self.path
        if p == "/echo":
            self._send(200, body, [("Content-Type", "application/x-protobuf"),
                                   ("X-Peer-Port", str(self.client_address[1])),
                                   ("X-Method", self.command),
                                   ("X-Host", self.headers.get("Host", "")),
                                   ("X-Got-Length", self.headers.get("Content-Length", "none"))])
        elif p == "/whoami":
            info = "%s|%s|%s" % (self.command, self.headers.get("Host", ""),
                                 self.headers.get("Content-Length", "none"))
            self._send(200, info.encode())
        elif p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n8;ext=1\r\n, chunke\r\n7\r\nd world\r\n0\r\nX-Trailer: t\r\n\r\n")
        elif p == "/retry":
            self._send(503, b"busy", [("Retry-After", "7")])
        elif p == "/retry-date":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            self._send(503, b"busy", [("Retry-After", when)])
        elif p == "/close":
            self._send(200, b"bye", [("Connection", "close")])
            self.close_connection = True
        elif p == "/slow":
            time.sleep(3)
            self._send(200, b"late")
        elif p == "/mid":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            self.wfile.flush()
            self.close_connection = True
        elif p == "/big-headers":
            self.send_response(200)
            self.send_header("X-Big", "a" * 100000)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif p == "/eof-body":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the close")
            self.close_connection = True
        elif p == "/quiet-close":
            self._send(200, b"quiet")
            self.close_connection = True
        elif p == "/drop-once":
            with LOCK:
                first = not DROPPED
                DROPPED.append(1)
            if first:
                self.close_connection = True
                return
            self._send(200, b"second try")
        elif p == "/bad":
            self.wfile.write(b"HTTP/1.1 2x0 Nope\r\n\r\n")
            self.close_connection = True
        else:
            self._send(404, b"no such path")

    do_GET = do_POST = do_PUT = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the tests reset and time out connections on purpose


class V6Server(Server):
    address_family = socket.AF_INET6


def main():
    six = len(sys.argv) > 1 and sys.argv[1] == "6"
    cls = V6Server if six else Server
    srv = cls(("::1" if six else "127.0.0.1", 0), Handler)
    print("PORT", srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test closes our stdin (or dies) when done
    srv.shutdown()


if __name__ == "__main__":
    main()
