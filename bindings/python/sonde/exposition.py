"""Rendering a registry: generate_latest(), negotiation, a WSGI app."""

import ctypes
import urllib.error

from . import _errors, _lib
from .metrics import REGISTRY

CONTENT_TYPE_LATEST = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CONTENT_TYPE_PROTOBUF = ("application/vnd.google.protobuf; "
                         "proto=io.prometheus.client.MetricFamily; encoding=delimited")
_FORMATS = {"text": 0, "openmetrics": 1, "protobuf": 2, 0: 0, 1: 1, 2: 2}
_NAMES = {0: "text", 1: "openmetrics", 2: "protobuf"}


def _fmt(fmt):
    try:
        return _FORMATS[fmt]
    except (KeyError, TypeError):
        raise _errors.InvalidArgument(-1, "unknown format %r (text, openmetrics or protobuf)"
                                      % (fmt,))


def _take(buf):
    try:
        return ctypes.string_at(buf.data, buf.len) if buf.len else b""
    finally:
        _lib.lib.sonde_buf_destroy(ctypes.byref(buf))


def generate_latest(registry=REGISTRY, fmt="text"):
    """The exposition of registry as bytes: Prometheus text 0.0.4 by
    default, fmt="openmetrics" (OpenMetrics 1.0.0, ends with # EOF) or
    fmt="protobuf" (length-delimited io.prometheus.client.MetricFamily
    messages, the only format with native histogram buckets)."""
    buf = _lib.Buf()
    st = _lib.lib.sonde_expose(registry._h, _fmt(fmt), ctypes.byref(buf))
    if st < 0:
        _lib.lib.sonde_buf_destroy(ctypes.byref(buf))
        raise _errors.from_status(st)
    return _take(buf)


def negotiate(accept):
    """(format, content_type) for a scraper's Accept header, e.g.
    ("openmetrics", "application/openmetrics-text; version=1.0.0; ...")."""
    b = b"" if accept is None else (accept.encode("latin-1", "replace")
                                    if isinstance(accept, str) else bytes(accept))
    fmt = ctypes.c_int()
    ct = ctypes.c_char_p()
    _errors.check(_lib.lib.sonde_expose_negotiate(b, len(b), ctypes.byref(fmt),
                                                  ctypes.byref(ct)))
    return _NAMES.get(fmt.value, "text"), ct.value.decode()


def choose_encoder(accept_header):
    """prometheus_client's shape: (encoder(registry) -> bytes, content_type)."""
    fmt, ct = negotiate(accept_header)
    return (lambda registry=REGISTRY: generate_latest(registry, fmt)), ct


def expose_http(registry=REGISTRY, accept=None, accept_encoding=None):
    """One call for a /metrics handler: (body bytes, [(header, value), ...])
    with Content-Type, and Content-Encoding: gzip when the scraper accepts
    it and libsonde has zlib."""
    def enc(s):
        return None if s is None else (s.encode("latin-1", "replace") if isinstance(s, str)
                                       else bytes(s))
    buf = _lib.Buf()
    res = _lib.ExposeResult()
    st = _lib.lib.sonde_expose_http(registry._h, enc(accept), enc(accept_encoding),
                                    ctypes.byref(buf), ctypes.byref(res))
    if st < 0:
        _lib.lib.sonde_buf_destroy(ctypes.byref(buf))
        raise _errors.from_status(st)
    headers = [("Content-Type", res.content_type.decode())]
    if res.content_encoding:
        headers.append(("Content-Encoding", res.content_encoding.decode()))
    return _take(buf), headers


def make_wsgi_app(registry=REGISTRY):
    """A WSGI app serving the exposition (format and gzip negotiated)."""
    def app(environ, start_response):
        body, headers = expose_http(registry, environ.get("HTTP_ACCEPT"),
                                    environ.get("HTTP_ACCEPT_ENCODING"))
        start_response("200 OK", headers + [("Content-Length", str(len(body)))])
        return [body]
    return app


def make_asgi_app(registry=REGISTRY):
    """An ASGI 3 app serving the exposition (format and gzip negotiated),
    for Starlette, FastAPI, Quart... `app.mount("/metrics", make_asgi_app())`.
    Any other scope type than "http" is refused with a ValueError (the
    lifespan protocol is the host framework's)."""
    async def app(scope, receive, send):
        if scope.get("type") != "http":
            raise ValueError("sonde: the metrics app serves http scopes only, not %r"
                             % scope.get("type"))
        accept = encoding = None
        for k, v in scope.get("headers") or ():
            k = k.lower()
            if k == b"accept":
                accept = v if accept is None else accept + b"," + v
            elif k == b"accept-encoding":
                encoding = v if encoding is None else encoding + b"," + v
        body, headers = expose_http(registry, accept, encoding)
        if scope.get("method") == "HEAD":
            payload = b""
        else:
            payload = body
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers] +
                               [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": payload})
    return app


def start_http_server(port, addr="0.0.0.0", registry=REGISTRY):
    """Serves the exposition on http://addr:port/ (any path) from a daemon
    thread, as prometheus_client's start_http_server does, over the
    standard library's http.server (one thread per request). Returns
    (server, thread); server.shutdown() stops it. port 0 picks a free port:
    server.server_port tells which."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, send_body):
            try:
                body, headers = expose_http(registry, self.headers.get("Accept"),
                                            self.headers.get("Accept-Encoding"))
            except Exception as e:  # an exposition error: 500 with its message
                msg = ("sonde: exposition failed: %s\n" % e).encode()
                self.send_response(500)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                if send_body:
                    self.wfile.write(msg)
                return
            self.send_response(200)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def do_GET(self):
            self._serve(True)

        def do_HEAD(self):
            self._serve(False)

        def log_message(self, *args):  # no access log on stderr
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

    if ":" in addr and not addr.startswith("["):
        import socket
        Server.address_family = socket.AF_INET6
    server = Server((addr.strip("[]"), int(port)), Handler)
    thread = threading.Thread(target=server.serve_forever, name="sonde-metrics", daemon=True)
    thread.start()
    return server, thread


def write_to_textfile(path, registry=REGISTRY):
    """Writes the text exposition to path atomically (a temporary file in
    the same folder, then a rename), for node_exporter's textfile
    collector. The temporary file is removed when anything fails."""
    import os
    import tempfile
    body = generate_latest(registry)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _gateway_url(gateway, job, grouping_key):
    import base64
    from urllib.parse import quote

    def part(name, value):
        value = str(value)
        if value == "" or "/" in value:
            # the Pushgateway's encoding for values a path cannot hold
            enc = base64.urlsafe_b64encode(value.encode()).decode() or "="
            return "/%s@base64/%s" % (name, enc)
        return "/%s/%s" % (name, quote(value, safe=""))

    if not job:
        raise _errors.InvalidArgument(-1, "push_to_gateway: job must be a non-empty string")
    if "://" not in gateway:
        gateway = "http://" + gateway
    url = gateway.rstrip("/") + "/metrics" + part("job", job)
    for k, v in (grouping_key or {}).items():
        url += part(k, v)
    return url


def _push(method, gateway, job, registry, grouping_key, timeout):
    import urllib.request
    url = _gateway_url(gateway, job, grouping_key)
    data = generate_latest(registry) if registry is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", CONTENT_TYPE_LATEST)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace").strip()
        raise OSError("sonde: %s %s: HTTP %d %s%s" % (method, url, e.code, e.reason,
                                                       (": " + detail) if detail else ""))


def push_to_gateway(gateway, job, registry=REGISTRY, grouping_key=None, timeout=30):
    """Replaces the group (job and grouping_key) on a Prometheus Pushgateway
    with registry's metrics (HTTP PUT). gateway: "host:port" or a URL.
    Errors: OSError naming the URL and the gateway's answer."""
    _push("PUT", gateway, job, registry, grouping_key, timeout)


def pushadd_to_gateway(gateway, job, registry=REGISTRY, grouping_key=None, timeout=30):
    """Like push_to_gateway, but replaces only the metrics of the same names
    (HTTP POST)."""
    _push("POST", gateway, job, registry, grouping_key, timeout)


def delete_from_gateway(gateway, job, grouping_key=None, timeout=30):
    """Deletes the group from the Pushgateway (HTTP DELETE)."""
    _push("DELETE", gateway, job, None, grouping_key, timeout)
