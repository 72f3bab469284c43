"""W3C trace context: traceparent, tracestate, baggage, the current
context and spans.

The current context is libsonde's, per OS thread: a span started in
Python is the parent of one started by C code called on the same thread,
and the logger stamps its trace_id. A Python thread is an OS thread, so
`with span(...)` works across threading.

Python code also follows contextvars: a span or attach() records its
context in a ContextVar, so asyncio tasks sharing one thread each see their
own (a task inherits the context of the code that created it, as
asyncio.create_task copies contextvars; so does asyncio.to_thread). When
the ContextVar of the running code and the thread's spans disagree (another
task's span is open on the thread), span(), current_context() and the log
calls of sonde.Logger and sonde.LogHandler use the ContextVar's context:
span() makes its span a child of it (a new trace when it holds none), and a
log call attaches it around the write. C code called from Python sees the
thread's context, as before.
"""

import contextvars
import ctypes
import threading

from . import _errors, _lib
from .metrics import to_bytes

_f = _lib.fn
_current = _f("sonde_context_current")
_attach = _f("sonde_context_attach")
_detach = _f("sonde_context_detach")
_start = _f("sonde_span_start")
_start_child = _f("sonde_span_start_child_of")
_end = _f("sonde_span_end")

SAMPLED = 0x01
RANDOM = 0x02

# Spans and scopes started on this thread and not yet ended. sonde copies a
# context onto the thread's own stack (it never links a Python object's
# memory), so this is not what keeps memory safe: it keeps a started span
# reachable until it is ended, and _release finds it whichever thread ends
# it (each object remembers the list that holds it).
_attached = threading.local()


def _hold(obj):
    lst = getattr(_attached, "objs", None)
    if lst is None:
        lst = _attached.objs = []
    lst.append(obj)
    return lst


# (SpanContext, owner): the context the running code is in and the Span or
# attach object that set it; None when Python set none in this context.
_cv = contextvars.ContextVar("sonde_trace_context", default=None)


def _innermost():
    lst = getattr(_attached, "objs", None)
    return lst[-1] if lst else None


def _live(v):
    """v, or the nearest enclosing entry whose owner is still open (an
    owner ended out of order, or on another thread, no longer counts)."""
    while v is not None and v[1]._holder is None:
        v = v[1]._prev
    return v


def _leave(owner):
    """At owner's end: if the running code's ContextVar holds owner, it goes
    back to the nearest enclosing entry still open (out-of-order ends
    leave another owner's entry alone)."""
    v = _cv.get()
    if v is not None and v[1] is owner:
        _cv.set(_live(owner._prev))


def _diverged():
    """(True, ctx or None) when the running code's ContextVar disagrees with
    the Python spans open on this thread (another task's span is innermost,
    or this code runs in another thread than its span's); then ctx is the
    context to use (None: none). (False, None) when the thread's current
    context is right."""
    v = _live(_cv.get())
    inner = _innermost()
    if v is None:
        return (inner is not None), None
    if v[1] is inner:
        return False, None
    return True, v[0]


class _scoped:
    """Attaches ctx (None hides the thread's) for one call, if needed."""

    __slots__ = ("_scope", "_on")

    def __init__(self):
        self._on = False

    def __enter__(self):
        on, ctx = _diverged()
        if on:
            self._scope = _lib.ContextScope()
            _attach(ctypes.byref(self._scope), None if ctx is None else ctypes.byref(ctx._c))
            self._on = True
        return self

    def __exit__(self, *exc):
        if self._on:
            _detach(ctypes.byref(self._scope))
            self._on = False
        return False


def _release(obj, lst):
    if lst:
        for i in range(len(lst) - 1, -1, -1):
            if lst[i] is obj:
                del lst[i]
                return


class SpanContext:
    """An immutable copy of a sonde_span_context."""

    __slots__ = ("_c",)

    def __init__(self, c=None):
        self._c = _lib.SpanContext()
        if c is not None:
            ctypes.memmove(ctypes.byref(self._c), ctypes.byref(c), ctypes.sizeof(self._c))

    @classmethod
    def _from_ptr(cls, p):
        return cls(p.contents)

    @classmethod
    def create(cls, trace_id, span_id, flags=SAMPLED, remote=True):
        """From hex strings or bytes (16 and 8 bytes)."""
        def raw(x, n, what):
            if isinstance(x, str):
                try:
                    x = bytes.fromhex(x)
                except ValueError:
                    raise _errors.InvalidArgument(-1, "%s is not hex" % what)
            if not isinstance(x, (bytes, bytearray)) or len(x) != n:
                raise _errors.InvalidArgument(-1, "%s must be %d bytes" % (what, n))
            return x
        c = _lib.SpanContext()
        c.trace_id[:] = list(raw(trace_id, 16, "trace_id"))
        c.span_id[:] = list(raw(span_id, 8, "span_id"))
        c.trace_flags = flags & 0xFF
        c.is_remote = 1 if remote else 0
        return cls(c)

    @property
    def trace_id(self):
        return bytes(self._c.trace_id).hex()

    @property
    def span_id(self):
        return bytes(self._c.span_id).hex()

    @property
    def trace_flags(self):
        return self._c.trace_flags

    @property
    def sampled(self):
        return bool(self._c.trace_flags & SAMPLED)

    @property
    def is_remote(self):
        return bool(self._c.is_remote)

    @property
    def correlation_id(self):
        return self._c.correlation_id[:self._c.correlation_len].decode("ascii", "replace")

    def is_valid(self):
        return bool(_lib.lib.sonde_span_context_valid(ctypes.byref(self._c)))

    __bool__ = is_valid

    def traceparent(self):
        """The traceparent header for an outgoing request in this context."""
        out = ctypes.create_string_buffer(56)
        n = _lib.lib.sonde_span_context_format_traceparent(ctypes.byref(self._c), out, 56)
        if n == 0:
            raise _errors.last("context has no valid trace")
        return out.raw[:n].decode()

    def __repr__(self):
        return "SpanContext(trace_id=%s, span_id=%s, flags=%02x)" % (
            self.trace_id, self.span_id, self.trace_flags)


def current_context():
    """A copy of the current context (falsy when none): the running code's
    (contextvars) when another task's span is open on this thread, else
    the thread's."""
    on, ctx = _diverged()
    if on:
        return ctx if ctx is not None else SpanContext()
    return SpanContext._from_ptr(_current())


class attach:
    """with attach(ctx): makes ctx (a SpanContext, or None to hide the outer
    one) the thread's current context for the block."""

    __slots__ = ("_scope", "_ctx", "_holder", "_prev")

    def __init__(self, ctx):
        self._ctx = ctx
        self._scope = _lib.ContextScope()
        self._holder = None
        self._prev = None

    def __enter__(self):
        _attach(ctypes.byref(self._scope),
                None if self._ctx is None else ctypes.byref(self._ctx._c))
        self._holder = _hold(self)
        self._prev = _cv.get()
        _cv.set((self._ctx, self))
        return self._ctx

    def __exit__(self, *exc):
        _release(self, self._holder)
        self._holder = None
        _leave(self)
        _errors.check(_detach(ctypes.byref(self._scope)))
        return False



class TraceParent:
    """A parsed traceparent header."""

    __slots__ = ("version", "flags", "trace_id", "parent_id")

    def __init__(self, trace_id, parent_id, flags=SAMPLED, version=0):
        self.trace_id, self.parent_id, self.flags, self.version = (
            trace_id, parent_id, flags, version)

    @classmethod
    def parse(cls, header):
        """Parses per W3C Trace Context; raises InvalidArgument (a
        ValueError) with sonde's reason otherwise."""
        b = to_bytes(header, "traceparent")
        if b is None:
            raise _errors.InvalidArgument(-1, "traceparent is None")
        tp = _lib.TraceParentC()
        _errors.check(_lib.lib.sonde_traceparent_parse(b, len(b), ctypes.byref(tp)))
        return cls(bytes(tp.trace_id).hex(), bytes(tp.parent_id).hex(), tp.flags, tp.version)

    def format(self):
        tp = _lib.TraceParentC()
        try:
            tp.trace_id[:] = list(bytes.fromhex(self.trace_id))
            tp.parent_id[:] = list(bytes.fromhex(self.parent_id))
        except ValueError:
            raise _errors.InvalidArgument(-1, "trace_id / parent_id must be 32 / 16 hex digits")
        tp.flags = self.flags & 0xFF
        tp.version = self.version & 0xFF
        out = ctypes.create_string_buffer(56)
        n = _lib.lib.sonde_traceparent_format(ctypes.byref(tp), out, 56)
        if n == 0:
            raise _errors.last()
        return out.raw[:n].decode()

    def context(self):
        return SpanContext.create(self.trace_id, self.parent_id, self.flags, remote=True)

    def __repr__(self):
        return "TraceParent(%r)" % self.format()


def _ptr_bytes(p, n):
    return ctypes.string_at(p.value, n.value) if n.value else b""


class TraceState:
    """A W3C tracestate list (keys move to the front when set)."""

    def __init__(self, header=None):
        h = _lib.lib.sonde_tracestate_new()
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)
        if header is not None:
            self.parse(header)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.lib.sonde_tracestate_free(self._h)
            self._h = None

    def parse(self, header):
        b = to_bytes(header, "tracestate") or b""
        _errors.check(_lib.lib.sonde_tracestate_parse(self._h, b, len(b)))

    def __setitem__(self, key, value):
        k, v = to_bytes(key, "key"), to_bytes(value, "value")
        _errors.check(_lib.lib.sonde_tracestate_set(self._h, k, len(k or b""), v,
                                                     len(v or b"")))

    def __getitem__(self, key):
        k = to_bytes(key, "key") or b""
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        if not _lib.lib.sonde_tracestate_get(self._h, k, len(k), ctypes.byref(p),
                                             ctypes.byref(n)):
            raise KeyError(key)
        return _ptr_bytes(p, n).decode()

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __delitem__(self, key):
        k = to_bytes(key, "key") or b""
        st = _lib.lib.sonde_tracestate_remove(self._h, k, len(k))
        if st == -4:
            raise KeyError(key)
        _errors.check(st)

    def __len__(self):
        return _lib.lib.sonde_tracestate_count(self._h)

    def items(self):
        out = []
        for i in range(len(self)):
            k, kn, v, vn = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p(), ctypes.c_size_t()
            _errors.check(_lib.lib.sonde_tracestate_member(
                self._h, i, ctypes.byref(k), ctypes.byref(kn), ctypes.byref(v), ctypes.byref(vn)))
            out.append((_ptr_bytes(k, kn).decode(), _ptr_bytes(v, vn).decode()))
        return out

    def format(self, limit=0):
        out = ctypes.create_string_buffer(4096)
        n = _lib.lib.sonde_tracestate_format(self._h, limit, out, 4096)
        return out.raw[:n].decode()

    __str__ = format


class Baggage:
    """W3C baggage: str keys, str values (percent-decoded), properties."""

    def __init__(self, header=None):
        h = _lib.lib.sonde_baggage_new()
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)
        if header is not None:
            self.parse(header)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.lib.sonde_baggage_free(self._h)
            self._h = None

    def parse(self, header):
        """Raises InvalidArgument on a malformed header (the baggage is then
        empty) and LimitReached past 64 members / 8192 bytes (the members
        that fit are kept)."""
        b = to_bytes(header, "baggage") or b""
        _errors.check(_lib.lib.sonde_baggage_parse(self._h, b, len(b)))

    def set(self, key, value, properties=None):
        k, v, p = to_bytes(key, "key"), to_bytes(value, "value"), to_bytes(properties) or b""
        _errors.check(_lib.lib.sonde_baggage_set(self._h, k, len(k or b""), v, len(v or b""),
                                                 p, len(p)))

    __setitem__ = set

    def __getitem__(self, key):
        k = to_bytes(key, "key") or b""
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        if not _lib.lib.sonde_baggage_get(self._h, k, len(k), ctypes.byref(p), ctypes.byref(n)):
            raise KeyError(key)
        return _ptr_bytes(p, n).decode("utf-8", "replace")

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __delitem__(self, key):
        k = to_bytes(key, "key") or b""
        st = _lib.lib.sonde_baggage_remove(self._h, k, len(k))
        if st == -4:
            raise KeyError(key)
        _errors.check(st)

    def __len__(self):
        return _lib.lib.sonde_baggage_count(self._h)

    def entries(self):
        """[(key, value, properties)] in order."""
        out = []
        for i in range(len(self)):
            ptrs = [ctypes.c_void_p() if j % 2 == 0 else ctypes.c_size_t() for j in range(6)]
            _errors.check(_lib.lib.sonde_baggage_entry(self._h, i,
                                                       *[ctypes.byref(x) for x in ptrs]))
            out.append(tuple(_ptr_bytes(ptrs[j], ptrs[j + 1]).decode("utf-8", "replace")
                             for j in (0, 2, 4)))
        return out

    def format(self):
        buf = _lib.Buf()
        try:
            _errors.check(_lib.lib.sonde_baggage_format(self._h, ctypes.byref(buf)))
            return ctypes.string_at(buf.data, buf.len).decode() if buf.len else ""
        finally:
            _lib.lib.sonde_buf_destroy(ctypes.byref(buf))

    __str__ = format


class Span:
    """A sonde span. Use `with span("name") as s:`; it becomes the thread's
    current context, so C code and the logger see it. An exception leaving
    the block sets the span's status to ERROR. End it on the thread that
    started it, innermost first; any other order is safe (generators or
    asyncio tasks that finish out of order): a span ended out of order
    leaves the current context alone and is dropped from it when the spans
    started after it end; ended on another thread, its starting thread
    keeps a copy of its context as current."""

    __slots__ = ("_s", "_name", "_keep", "_parent", "_started", "_holder", "_prev", "_kind")

    def __init__(self, name, child_of=None, kind=None, attributes=None):
        self._s = _lib.Span()
        self._name = to_bytes(name, "span name", True) if name is not None else None
        self._keep = []
        self._parent = child_of
        self._started = False
        self._holder = None
        self._prev = None
        self._kind = _kind_of(kind)
        if attributes:
            self._keep.append(dict(attributes))  # set once started

    def start(self):
        if self._started:
            raise _errors.StateError(-9, "span already started")
        self._started = True
        if self._parent is not None:
            _start_child(ctypes.byref(self._s), self._name, ctypes.byref(self._parent._c))
        else:
            on, ctx = _diverged()
            if on:  # the running code's context, not another task's span
                _start_child(ctypes.byref(self._s), self._name,
                             None if ctx is None else ctypes.byref(ctx._c))
            else:
                _start(ctypes.byref(self._s), self._name)
        self._holder = _hold(self)
        self._prev = _cv.get()
        _cv.set((SpanContext(self._s.scope.ctx), self))
        if self._kind:
            _lib.lib.sonde_span_set_kind(ctypes.byref(self._s), self._kind)
        if self._keep and isinstance(self._keep[0], dict):
            for k, v in self._keep.pop(0).items():
                self.set_attribute(k, v)
        return self

    def end(self):
        """Ends the span (on the thread that started it, innermost first;
        other orders and threads are safe, see the class); twice is a
        no-op."""
        _end(ctypes.byref(self._s))
        _release(self, self._holder)
        self._holder = None
        _leave(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, typ, value, tb):
        if typ is not None:
            # OpenTelemetry's rule: the exception is recorded as an event,
            # and it failed the operation
            self.record_exception(value if value is not None else typ())
            self.set_error("%s: %s" % (typ.__name__, value))
        self.end()
        return False

    def _k(self, s, what):
        b = to_bytes(s, what, True)
        if b is None:
            return None
        b = ctypes.create_string_buffer(b)  # must outlive the span: kept
        self._keep.append(b)
        return ctypes.addressof(b)

    def set_attribute(self, key, value):
        """str, int, float or bool values, or a list or tuple of one of
        them (an OpenTelemetry array: ints and floats together are floats);
        anything else goes through str()."""
        k = self._k(key, "attribute key")
        if k is None:
            raise _errors.InvalidArgument(-1, "attribute key is None")
        sp = ctypes.byref(self._s)
        if isinstance(value, (list, tuple)):
            kind, arr = _array(value)
            self._keep.append(arr)
            fn = {"str": _lib.lib.sonde_span_set_str_array,
                  "int": _lib.lib.sonde_span_set_int_array,
                  "double": _lib.lib.sonde_span_set_double_array,
                  "bool": _lib.lib.sonde_span_set_bool_array}[kind]
            fn(sp, k, ctypes.cast(arr[0], ctypes.c_void_p) if arr[0] is not None else None,
               len(value))
            return
        if isinstance(value, bool):
            _lib.lib.sonde_span_set_bool(sp, k, value)
        elif isinstance(value, int) and -(1 << 63) <= value < (1 << 63):
            _lib.lib.sonde_span_set_int(sp, k, value)
        elif isinstance(value, float):
            _lib.lib.sonde_span_set_double(sp, k, value)
        else:
            _lib.lib.sonde_span_set_str(sp, k, self._k(value, "attribute value"))

    def set_status(self, ok=True, message=None):
        _lib.lib.sonde_span_set_status(ctypes.byref(self._s), 1 if ok else 2,
                                       self._k(message, "message"))

    def set_error(self, message=None):
        _lib.lib.sonde_span_set_error(ctypes.byref(self._s), self._k(message, "message"))

    def set_kind(self, kind):
        """"internal", "server", "client", "producer" or "consumer"."""
        self._kind = _kind_of(kind)
        if self._started:
            _lib.lib.sonde_span_set_kind(ctypes.byref(self._s), self._kind)

    def add_event(self, name, attributes=None, timestamp_ns=None):
        """An event (name, attributes, its time: now unless timestamp_ns,
        nanoseconds since the epoch). Copied by sonde; ignored on a span
        that is not sampled or has ended."""
        arr, n, keep = _attr_array(attributes)
        _lib.lib.sonde_span_add_event_at(ctypes.byref(self._s),
                                         to_bytes(name, "event name", True),
                                         int(timestamp_ns or 0), arr, n)
        del keep

    def record_exception(self, exc):
        """OpenTelemetry's RecordException: an "exception" event with
        exception.type (the qualified class name), exception.message and
        exception.stacktrace (the formatted traceback). The status is not
        changed (a `with` block that raises sets it)."""
        import traceback
        t = type(exc)
        tname = t.__qualname__ if t.__module__ in ("builtins", None) else \
            "%s.%s" % (t.__module__, t.__qualname__)
        stack = "".join(traceback.format_exception(t, exc, exc.__traceback__))
        _lib.lib.sonde_span_record_exception(
            ctypes.byref(self._s), to_bytes(tname, "exception type", True),
            to_bytes(str(exc), "exception message", True),
            to_bytes(stack, "stack trace", True))

    def add_link(self, context, attributes=None):
        """A link to another span's context (a SpanContext)."""
        if not isinstance(context, SpanContext):
            raise TypeError("sonde: add_link takes a SpanContext")
        arr, n, keep = _attr_array(attributes)
        _lib.lib.sonde_span_add_link(ctypes.byref(self._s), ctypes.byref(context._c), arr, n)
        del keep

    @property
    def kind(self):
        return _KINDS[self._s.kind] if 0 < self._s.kind < len(_KINDS) else "internal"

    @property
    def recording(self):
        """True when sonde keeps a record of the span (events, links)."""
        return bool(_lib.lib.sonde_span_is_recording(ctypes.byref(self._s)))

    @property
    def attributes(self):
        """The span's attributes as sonde holds them (before its end)."""
        p = ctypes.POINTER(_lib.SpanAttr)()
        n = _lib.lib.sonde_span_get_attrs(ctypes.byref(self._s), ctypes.byref(p))
        return dict(_read_attr(p[i]) for i in range(n))

    @property
    def events(self):
        """[(name, time_unix_ns, {attributes})] of a recorded span."""
        p = ctypes.POINTER(_lib.SpanEvent)()
        n = _lib.lib.sonde_span_get_events(ctypes.byref(self._s), ctypes.byref(p))
        return [(ctypes.string_at(p[i].name, p[i].name_len).decode(), p[i].time_unix_ns,
                 dict(_read_attr(p[i].attrs[j]) for j in range(p[i].attr_count)))
                for i in range(n)]

    @property
    def links(self):
        """[(trace id hex, span id hex, {attributes})] of a recorded span."""
        p = ctypes.POINTER(_lib.SpanLink)()
        n = _lib.lib.sonde_span_get_links(ctypes.byref(self._s), ctypes.byref(p))
        return [(bytes(p[i].trace_id).hex(), bytes(p[i].span_id).hex(),
                 dict(_read_attr(p[i].attrs[j]) for j in range(p[i].attr_count)))
                for i in range(n)]

    @property
    def context(self):
        return SpanContext(self._s.scope.ctx)

    @property
    def sampled(self):
        return bool(_lib.lib.sonde_span_is_sampled(ctypes.byref(self._s)))

    @property
    def parent_span_id(self):
        return bytes(self._s.parent_span_id).hex()

    @property
    def duration_ns(self):
        return self._s.duration_ns

    @property
    def status(self):
        return ("unset", "ok", "error")[self._s.status] if 0 <= self._s.status < 3 else "?"


span = Span

_KINDS = ("", "internal", "server", "client", "producer", "consumer")


def _kind_of(kind):
    if kind is None:
        return 0
    if isinstance(kind, str) and kind.lower() in _KINDS[1:]:
        return _KINDS.index(kind.lower())
    raise ValueError("sonde: span kind %r is not one of internal, server, client, producer, "
                     "consumer" % (kind,))


def _array(values):
    """(kind, [C array or None, keep...]) for an OpenTelemetry array value."""
    vals = list(values)
    if vals and all(isinstance(v, bool) for v in vals):
        arr = (ctypes.c_bool * len(vals))(*vals)
        return "bool", [arr]
    if vals and all(isinstance(v, int) and not isinstance(v, bool) and
                    -(1 << 63) <= v < (1 << 63) for v in vals):
        return "int", [(ctypes.c_int64 * len(vals))(*vals)]
    if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "double", [(ctypes.c_double * len(vals))(*[float(v) for v in vals])]
    bufs = [ctypes.create_string_buffer(to_bytes(v if isinstance(v, str) else str(v),
                                                 "attribute value")) for v in vals]
    if not bufs:
        return "str", [None]
    arr = (ctypes.c_void_p * len(bufs))(*[ctypes.addressof(b) for b in bufs])
    return "str", [arr] + bufs


def _attr_array(attributes):
    """(SpanAttr array or None, n, keep) for a dict of scalar or array
    values; sonde copies what it points at during the call."""
    items = list((attributes or {}).items())
    if not items:
        return None, 0, None
    arr = (_lib.SpanAttr * len(items))()
    keep = []
    for i, (k, v) in enumerate(items):
        kb = ctypes.create_string_buffer(to_bytes(k, "attribute key"))
        keep.append(kb)
        a = arr[i]
        a.key = ctypes.addressof(kb)
        if isinstance(v, (list, tuple)):
            kind, held = _array(v)
            keep.append(held)
            a.type = {"str": 5, "int": 6, "double": 7, "bool": 8}[kind]
            a.str_len = len(v)
            a.v.str = ctypes.cast(held[0], ctypes.c_void_p).value if held[0] is not None else None
        elif isinstance(v, bool):
            a.type, a.v.b = 4, v
        elif isinstance(v, int) and -(1 << 63) <= v < (1 << 63):
            a.type, a.v.i = 2, v
        elif isinstance(v, float):
            a.type, a.v.d = 3, v
        else:
            b = to_bytes(v if isinstance(v, str) else str(v), "attribute value")
            vb = ctypes.create_string_buffer(b)
            keep.append(vb)
            a.type, a.str_len, a.v.str = 1, len(b), ctypes.addressof(vb)
    return arr, len(items), keep


def _read_attr(a):
    """(key, value) of a sonde_span_attr."""
    key = ctypes.string_at(a.key).decode()
    t, n = a.type, a.str_len
    if t == 1:
        return key, ctypes.string_at(a.v.str, n).decode("utf-8", "replace") if n else ""
    if t == 2:
        return key, a.v.i
    if t == 3:
        return key, a.v.d
    if t == 4:
        return key, bool(a.v.b)
    if t == 5:
        ptrs = ctypes.cast(a.v.str, ctypes.POINTER(ctypes.c_char_p))
        return key, [(ptrs[i] or b"").decode("utf-8", "replace") for i in range(n)]
    ctype = {6: ctypes.c_int64, 7: ctypes.c_double, 8: ctypes.c_bool}.get(t)
    if ctype is None:
        return key, None
    vals = ctypes.cast(a.v.str, ctypes.POINTER(ctype))
    return key, [bool(vals[i]) if t == 8 else vals[i] for i in range(n)]


_span_logger = None  # the Logger C writes span lines to: kept alive while set


def set_span_logger(logger, level="info"):
    """One log line per ended span ("message": "span", span_name,
    span_duration_s, span_status "ok"/"error", the span's own trace_id and
    span_id) through logger (a sonde.Logger) at level; None turns the lines
    off. The logger is kept alive while it is set. Without a call the lines
    go to the process's default logger at info: the oldest root Logger still
    alive (drop it only once no thread ends spans any more)."""
    global _span_logger
    from .log import _level
    lv = _level(level)
    _errors.check(_lib.lib.sonde_trace_set_span_logger(
        None if logger is None else logger._h, lv))
    _span_logger = logger


def reset_span_logger():
    """Span lines follow the default logger again (see set_span_logger)."""
    global _span_logger
    _lib.lib.sonde_trace_reset_span_logger()
    _span_logger = None


def set_sampler_ratio(ratio):
    _lib.lib.sonde_trace_set_sampler_ratio(float(ratio))


def enable_span_metrics(registry=None, metric_name=None):
    """Observe every span's duration in metric_name{name=...} (default
    span_duration_seconds) in registry (default REGISTRY)."""
    from .metrics import REGISTRY
    reg = registry or REGISTRY
    _errors.check(_lib.lib.sonde_trace_enable_span_metrics(
        reg._h, to_bytes(metric_name, "metric name", True)))


def extract(headers):
    """The context of an incoming request: headers is a mapping or a list of
    (name, value). Returns (SpanContext, continued, TraceState copy of the
    raw header, Baggage) where continued says whether a valid traceparent
    was received; start the server span with span(name, child_of=ctx)."""
    items = list(headers.items()) if hasattr(headers, "items") else list(headers)
    keep = []
    arr = (_lib.Header * max(len(items), 1))()
    for i, (k, v) in enumerate(items):
        kb, vb = to_bytes(k, "header name") or b"", to_bytes(v, "header value") or b""
        kbuf, vbuf = ctypes.create_string_buffer(kb), ctypes.create_string_buffer(vb)
        keep += [kbuf, vbuf]
        arr[i].name, arr[i].name_len = ctypes.addressof(kbuf), len(kb)
        arr[i].value, arr[i].value_len = ctypes.addressof(vbuf), len(vb)
    c = _lib.lib.sonde_trace_carrier_new()
    if not c:
        raise _errors.last()
    try:
        _errors.check(_lib.lib.sonde_trace_extract(c, arr, len(items)))
        ctx = SpanContext._from_ptr(_lib.lib.sonde_trace_carrier_context(c))
        continued = bool(_lib.lib.sonde_trace_carrier_continued(c))
        ts = TraceState()
        ts.parse(_fmt_ts(_lib.lib.sonde_trace_carrier_tracestate(c)))
        bg = Baggage()
        bh = _fmt_bg(_lib.lib.sonde_trace_carrier_baggage(c))
        if bh:
            bg.parse(bh)
        return ctx, continued, ts, bg
    finally:
        _lib.lib.sonde_trace_carrier_free(c)


def _fmt_ts(h):
    out = ctypes.create_string_buffer(4096)
    n = _lib.lib.sonde_tracestate_format(h, 4095, out, 4096)
    return out.raw[:n]


def _fmt_bg(h):
    buf = _lib.Buf()
    try:
        _errors.check(_lib.lib.sonde_baggage_format(h, ctypes.byref(buf)))
        return ctypes.string_at(buf.data, buf.len) if buf.len else b""
    finally:
        _lib.lib.sonde_buf_destroy(ctypes.byref(buf))


def inject(ctx=None, tracestate=None, baggage=None):
    """Headers for an outgoing request: a dict with traceparent, and
    tracestate / baggage when given and non-empty. ctx None = the current
    context (a new trace when there is none)."""
    h = _lib.TraceHeaders()
    try:
        _errors.check(_lib.lib.sonde_trace_inject(
            None, None if ctx is None else ctypes.byref(ctx._c), ctypes.byref(h)))
        out = {"traceparent": h.traceparent.decode()}
    finally:
        _lib.lib.sonde_trace_headers_destroy(ctypes.byref(h))
    if tracestate is not None and len(tracestate):
        out["tracestate"] = tracestate.format()
    if baggage is not None and len(baggage):
        out["baggage"] = baggage.format()
    return out
