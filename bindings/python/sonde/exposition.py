"""Rendering a registry: generate_latest(), negotiation, a WSGI app."""

import ctypes

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
