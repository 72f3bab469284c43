"""RED for an HTTP server in one call pair, over libsonde's request
instrumentation (sonde_http_server, include/sonde/http.h):

    red = sonde.HTTPMetrics()                       # once
    with red.request("GET", "/users/:id", headers=request_headers, path=path) as rq:
        ...                                          # handler: logs carry its trace
        rq.end(200, len(body))                       # or leave the block: 200, or 500
        response_headers += rq.response_headers()    # x-request-id

begin (entering the block) continues the caller's trace in a SERVER span,
keeps the caller's x-request-id / x-correlation-id or makes a UUID v4, and
counts the request in flight; end counts http_requests_total, observes
http_request_duration_seconds (prom-client's buckets, exemplars) and, when
named, the size histograms, and writes one access-log record when a logger
is given. The names, label names and constant labels are options. A request
begins and ends on one thread (a WSGI worker, or one asyncio task without
other requests interleaved on its thread).
"""
import ctypes

from . import _errors, _lib
from .metrics import REGISTRY, to_bytes


class HTTPMetrics:
    """The instrument: its families are made once (two instruments with the
    same options share them)."""

    def __init__(self, registry=REGISTRY, requests_name=None, duration_name=None,
                 in_flight_name=None, request_size_name=None, response_size_name=None,
                 method_label=None, route_label=None, status_label=None, const_labels=None,
                 buckets=None, logger=None, trace=True):
        o = _lib.HttpServerOpts()
        _lib.lib.sonde_http_server_opts_init(ctypes.byref(o))
        self._keep = []

        def cs(v, what):
            return None if v is None else to_bytes(v, what, True)
        o.registry = registry._h if registry is not None else None
        o.requests_name = cs(requests_name, "requests_name")
        o.duration_name = cs(duration_name, "duration_name")
        o.in_flight_name = cs(in_flight_name, "in_flight_name")
        o.request_size_name = cs(request_size_name, "request_size_name")
        o.response_size_name = cs(response_size_name, "response_size_name")
        o.method_label = cs(method_label, "method_label")
        o.route_label = cs(route_label, "route_label")
        o.status_label = cs(status_label, "status_label")
        if const_labels:
            flat = []
            for k in sorted(const_labels):
                flat += [to_bytes(k, "label name", True), to_bytes(const_labels[k], "label value", True)]
            arr = (ctypes.c_char_p * len(flat))(*flat)
            self._keep.append(arr)
            o.const_labels = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
            o.nconst = len(flat) // 2
        if buckets is not None:
            b = (ctypes.c_double * len(buckets))(*[float(x) for x in buckets])
            self._keep.append(b)
            o.duration_buckets = ctypes.cast(b, ctypes.POINTER(ctypes.c_double))
            o.duration_bucket_count = len(buckets)
        self._logger = logger  # kept alive: the C side points at it
        o.access_log = logger._h if logger is not None else None
        o.flags = 0 if trace else 1
        h = _lib.lib.sonde_http_server_new(ctypes.byref(o))
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)

    def request(self, method, route, headers=(), path=None, request_bytes=-1):
        """A request, begun when its `with` block is entered (or by
        begin()). headers: a mapping or (name, value) pairs."""
        return Request(self, method, route, headers, path, request_bytes)

    def close(self):
        if self._h:
            _lib.lib.sonde_http_server_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Request:
    __slots__ = ("_m", "_rq", "_info", "_keep", "_begun", "_ended", "status")

    def __init__(self, metrics, method, route, headers, path, request_bytes):
        self._m = metrics
        self._rq = _lib.HttpRequest()
        self._info = _lib.HttpRequestInfo()
        self._keep = []
        self._begun = self._ended = False
        self.status = None
        mb = to_bytes(method, "method", True)
        if mb is None:
            raise _errors.InvalidArgument(-1, "sonde: the method is None")
        mbuf = ctypes.create_string_buffer(mb)
        rbuf = None if route is None else ctypes.create_string_buffer(
            to_bytes(route, "route", True))
        self._keep += [mbuf, rbuf]  # the info points at them until begin
        _lib.lib.sonde_http_request_info_init(ctypes.byref(self._info), ctypes.addressof(mbuf),
                                              None)
        if rbuf is not None:
            self._info.route = ctypes.cast(rbuf, ctypes.c_char_p)
        self._info.method_len = len(mb)
        if path is not None:
            pb = to_bytes(path, "path")
            pbuf = ctypes.create_string_buffer(pb)
            self._keep.append(pbuf)
            self._info.path, self._info.path_len = ctypes.addressof(pbuf), len(pb)
        items = list(headers.items()) if hasattr(headers, "items") else list(headers or ())
        if items:
            arr = (_lib.Header * len(items))()
            for i, (k, v) in enumerate(items):
                kb, vb = to_bytes(k, "header name") or b"", to_bytes(v, "header value") or b""
                kbuf, vbuf = ctypes.create_string_buffer(kb), ctypes.create_string_buffer(vb)
                self._keep += [kbuf, vbuf]
                arr[i].name, arr[i].name_len = ctypes.addressof(kbuf), len(kb)
                arr[i].value, arr[i].value_len = ctypes.addressof(vbuf), len(vb)
            self._keep.append(arr)
            self._info.headers, self._info.nheaders = ctypes.addressof(arr), len(items)
        self._info.request_bytes = int(request_bytes)

    def begin(self):
        if self._begun:
            raise _errors.StateError(-9, "sonde: request already begun")
        _errors.check(_lib.lib.sonde_http_request_begin(self._m._h, ctypes.byref(self._rq),
                                                        ctypes.byref(self._info)))
        self._begun = True
        return self

    def end(self, status, response_bytes=-1):
        """Counts, observes, logs and ends the span. A status outside
        100..599 is counted as "other" and raises InvalidArgument."""
        if not self._begun or self._ended:
            raise _errors.StateError(-9, "sonde: request not begun, or ended already")
        self._ended = True
        self.status = int(status)
        _errors.check(_lib.lib.sonde_http_request_end(ctypes.byref(self._rq), int(status),
                                                      int(response_bytes)))

    def __enter__(self):
        return self.begin()

    def __exit__(self, typ, value, tb):
        if self._begun and not self._ended:
            self.end(500 if typ is not None else 200)
        return False

    @property
    def request_id(self):
        """The caller's x-request-id / x-correlation-id, or a fresh UUID v4."""
        if not self._begun or self._ended:
            return ""
        return _lib.lib.sonde_http_request_id(ctypes.byref(self._rq)).decode()

    def response_headers(self):
        """[("x-request-id", id)] for the response."""
        return [("x-request-id", self.request_id)] if self._begun and not self._ended else []

    def outgoing_headers(self):
        """Headers for a call made while handling the request: traceparent
        (in the current context: start a client span first), the incoming
        tracestate and baggage, and x-request-id."""
        if not self._begun or self._ended:
            raise _errors.StateError(-9, "sonde: request not between begin and end")
        h = _lib.TraceHeaders()
        try:
            _errors.check(_lib.lib.sonde_trace_inject(self._rq.carrier, None, ctypes.byref(h)))
            out = {}
            for i in range(h.count):
                x = h.headers[i]
                out[ctypes.string_at(x.name, x.name_len).decode()] = \
                    ctypes.string_at(x.value, x.value_len).decode()
        finally:
            _lib.lib.sonde_trace_headers_destroy(ctypes.byref(h))
        out["x-request-id"] = self.request_id
        return out
