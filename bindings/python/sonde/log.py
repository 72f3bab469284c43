"""The structured logger: libsonde's rings and backend thread, from Python.

    log = sonde.Logger("checkout", sinks=[sonde.file_sink("/var/log/app.log")])
    log.info("request done", status=200, path="/a", ms=1.25, cached=True)
    api = log.child(component="api")
    api.warn("slow", ms=812)
    sonde.log_flush()

Records from Python, C, Go and Rust in one process go through the same
backend and sinks, and carry the thread's current trace context.

Field types: bool -> bool, int -> int64 (uint64 above 2**63-1, a string
beyond), float -> double, None -> null, str/bytes -> string (str as UTF-8;
invalid bytes are escaped by the logger), an exception -> an error field
(its class name, str(e) and its traceback: "error":{"type","message",
"stack"} in json, error.* in ecs, exception.* attributes in otel),
anything else -> str(value).

Messages and field keys may be any strings: records go through
sonde_log_write(), which copies the message with the record and interns
each distinct (level, keys, types) combination once in C (at most 4096 of
them, so keys must not vary with data; past that the call raises
sonde.LimitReached). At most 15 fields per record.

Scoped context fields (MDC, AsyncLocalStorage):

    with sonde.log_context(user_id="u1", session_id=sid):
        log.info("checkout")          # carries user_id and session_id
        with sonde.log_context(tenant="acme", user_id="u2"):
            log.info("inner")         # user_id "u2" (inner wins), tenant

The context follows contextvars, like the trace context: a thread's, or an
asyncio task's and the tasks it starts (each task sees its own). Around
each record the binding pushes the context's C scopes
(sonde_log_scope_push) on the calling OS thread and pops them after the
write, so the fields are copied into the record and the key rules are the
C library's (a call's field beats a scoped one, an inner context an outer
one; every line keeps unique keys). They reach records logged through
this module (Logger, LogHandler); C code called inside the block does not
see them unless it pushes its own scope.

Sampling per call site (off by default): Logger(..., sample_first=N,
sample_thereafter=M, sample_interval_ms=1000) writes the first N records
of each (level, field keys) combination per interval, then one in M;
error and fatal only with sample_errors=True. log_sampled_total(level)
counts what was left out (also sonde_log_sampled_total{level}).
"""

import contextvars
import ctypes
import traceback

from . import _errors, _lib
from .metrics import to_bytes
from .trace import _scoped

if not _lib.HAVE_LOG:  # pragma: no cover - depends on the library build
    raise ImportError("this libsonde has no logger (sonde_logger_new is not exported)")

TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF = range(7)
_LEVELS = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "warning": 3, "error": 4,
           "fatal": 5, "off": 6}
_T_STR, _T_I64, _T_U64, _T_F64, _T_BOOL, _T_TREE = 1, 2, 3, 4, 5, 6
_TREE_MAX = 65536  # SONDE_LOG_TREE_BYTES_MAX
MAX_FIELDS = 15

_write_nb = _lib.hot.sonde_log_write   # keeps the GIL: never blocks (drop policy)
_write_blk = _lib.lib.sonde_log_write  # releases the GIL: may wait (block policy)
_level_of = _lib.hot.sonde_logger_level
# what a call must reach to be written or kept by the flight recorder
_gate_of = _lib.hot.sonde_logger_min_level


def _level(level):
    if isinstance(level, int) and not isinstance(level, bool):
        if 0 <= level <= 6:
            return level
        raise _errors.InvalidArgument(-1, "log level %d out of range 0..6" % level)
    if isinstance(level, str):
        b = level.encode("utf-8", "replace")
        out = ctypes.c_int()
        _errors.check(_lib.lib.sonde_log_level_parse(b, len(b), ctypes.byref(out)))
        return out.value
    raise _errors.InvalidArgument(-1, "log level must be a name or 0..6, not %r" % (level,))


def _error_tree(e):
    """An error tree (sonde_log_tree_error) for exception e: (buffer, length).
    Long tracebacks keep their end (the frame that raised)."""
    name = type(e).__qualname__.encode("utf-8", "replace")
    msg = str(e).encode("utf-8", "replace")
    stack = None
    if e.__traceback__ is not None:
        stack = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        stack = stack.encode("utf-8", "replace")
    room = _TREE_MAX - 64
    msg = msg[:room // 4]
    name = name[:255]
    if stack is not None and len(stack) > room - len(msg) - len(name):
        stack = stack[len(stack) - (room - len(msg) - len(name)):]
    cap = 32 + len(name) + len(msg) + (len(stack) if stack else 0)
    buf = ctypes.create_string_buffer(cap)
    t = _lib.LogTree()
    _lib.lib.sonde_log_tree_init(ctypes.byref(t), buf, cap)
    _errors.check(_lib.lib.sonde_log_tree_error(ctypes.byref(t), name, len(name), msg, len(msg),
                                                stack, len(stack) if stack else 0))
    return buf, t.len


def _typed(v):
    """(type, LogValue-compatible raw, keepalive)"""
    if v is None:
        return _T_STR, None
    if isinstance(v, BaseException):
        return _T_TREE, _error_tree(v)
    if v is True or v is False:
        return _T_BOOL, int(v)
    t = type(v)
    if t is int or (isinstance(v, int)):
        if -(1 << 63) <= v < (1 << 63):
            return _T_I64, v
        if 0 <= v < (1 << 64):
            return _T_U64, v
        return _T_STR, str(v).encode()
    if t is float or isinstance(v, float):
        return _T_F64, v
    if t is bytes:
        return _T_STR, v
    return _T_STR, to_bytes(v if isinstance(v, str) else str(v), "field value")


class Sink:
    """A log destination (reference-counted in C; loggers hold their own)."""

    def __init__(self, handle):
        self._h = ctypes.c_void_p(handle)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.lib.sonde_log_sink_free(self._h)
            self._h = None

    def reopen(self):
        """File sinks: reopen the path before the next write (logrotate)."""
        _errors.check(_lib.lib.sonde_log_sink_reopen(self._h))

    def set_level(self, level):
        _lib.lib.sonde_log_sink_set_level(self._h, _level(level))

    @property
    def errors(self):
        return _lib.lib.sonde_log_sink_errors(self._h)


# sonde_log_format (the sink's profile; SONDE_LOG_FORMAT overrides it)
_FORMATS = {"json": 0, "logfmt": 1, "ecs": 2, "otel": 3, "console": 4}


def _sink_opts(format, level, name, max_bytes=0, max_files=0):
    o = _lib.LogSinkOpts()
    _lib.lib.sonde_log_sink_opts_init(ctypes.byref(o))
    if format not in _FORMATS:
        raise _errors.InvalidArgument(
            -1, "log format must be one of 'json', 'logfmt', 'ecs', 'otel', 'console'")
    o.format = _FORMATS[format]
    o.level = _level(level) if level is not None else TRACE
    o.name = to_bytes(name, "sink name", True)
    o.max_bytes = max_bytes
    o.max_files = max_files
    return o


def _new_sink(h):
    if not h:
        raise _errors.last()
    return Sink(h)


def stdout_sink(format="json", level=None, name=None):
    return _new_sink(_lib.lib.sonde_log_sink_stdout(ctypes.byref(_sink_opts(format, level, name))))


def stderr_sink(format="json", level=None, name=None):
    return _new_sink(_lib.lib.sonde_log_sink_stderr(ctypes.byref(_sink_opts(format, level, name))))


def file_sink(path, format="json", level=None, name=None, max_bytes=0, max_files=0):
    """Appends to path; with max_bytes, rotates (path.1 newest, max_files kept)."""
    p = to_bytes(path, "path", True)
    o = _sink_opts(format, level, name, max_bytes, max_files)
    return _new_sink(_lib.lib.sonde_log_sink_file(p, ctypes.byref(o)))


# ---- scoped context fields ---------------------------------------------------------

_push = _lib.hot.sonde_log_scope_push
_pop = _lib.hot.sonde_log_scope_pop
_context = contextvars.ContextVar("sonde_log_context", default=())


def _field_array(fields, what):
    """A LogField array for fields (a dict), and the bytes it points into."""
    arr = (_lib.LogField * max(len(fields), 1))()
    keep = []
    for i, (k, v) in enumerate(fields.items()):
        t, raw = _typed(v)
        f = arr[i]
        kb = to_bytes(k, what, True)
        keep.append(kb)
        f.key = kb
        f.type = t
        if t == _T_STR:
            if raw is None:
                f.v.s = None
                f.len = 0
            else:
                keep.append(raw)
                f.v.s = ctypes.cast(ctypes.c_char_p(raw), ctypes.c_void_p).value
                f.len = len(raw)
        elif t == _T_TREE:
            keep.append(raw[0])
            f.v.s = ctypes.addressof(raw[0])
            f.len = raw[1]
        elif t == _T_F64:
            f.v.d = raw
        elif t == _T_I64:
            f.v.i = raw
        else:
            f.v.u = raw
    return arr, keep


class _Layer:
    __slots__ = ("arr", "n", "keep")


class _pushed:
    """Pushes the layers' C scopes on this OS thread for one call; a fresh
    struct per layer and call (a layer may be in use on several threads:
    contexts are copied into executors and tasks)."""

    __slots__ = ("_layers", "_scopes")

    def __init__(self, layers):
        self._layers = layers
        self._scopes = []

    def __enter__(self):
        try:
            for layer in self._layers:
                sc = _lib.LogScope()
                if _push(ctypes.byref(sc), layer.arr, layer.n):
                    raise _errors.last()
                self._scopes.append(sc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        while self._scopes:
            _pop(ctypes.byref(self._scopes.pop()))
        return False


class log_context:
    """with sonde.log_context(user_id="u1", tenant=7): ...

    Every record logged through sonde's Python loggers inside the block
    (this thread, or this asyncio task and the tasks it creates) carries
    these fields, after the trace context and before the call's own.
    Contexts nest: an inner one wins on a repeated key, a call's field wins
    over both. A mapping may be passed for keys that are not identifiers:
    log_context({"user.id": 1}). Checked on entry, with the C library's
    limits: at most 8 fields per context, 16 in all and 64 contexts deep,
    keys of 1..64 bytes, keys and string values of one context at most
    1024 bytes (sonde.InvalidArgument / sonde.LimitReached). Reusable, not
    reentrant: each `with` sets it once."""

    def __init__(self, fields=None, /, **kw):
        f = dict(fields or {})
        f.update(kw)
        layer = _Layer()
        layer.arr, layer.keep = _field_array(f, "context key")
        layer.n = len(f)
        self._layer = layer
        self._token = None

    def __enter__(self):
        layers = _context.get() + (self._layer,)
        with _pushed(layers):  # the C library's checks, on this thread
            pass
        self._token = _context.set(layers)
        return self

    def __exit__(self, *exc):
        _context.reset(self._token)
        self._token = None
        return False


def context_fields():
    """How many scoped fields the running context holds (all levels)."""
    return sum(layer.n for layer in _context.get())


def sampled_total(level):
    """Records left out by call-site sampling at level, all loggers."""
    return _lib.hot.sonde_log_sampled_total(_level(level))


class Logger:
    """Logger(service, level="info", sinks=None (stdout JSON), level_env=None
    ("LOG_LEVEL"; "" for none), overflow="drop"|"block", redact=(keys...),
    flight_recorder=False, flight_level="debug", flight_trigger="error",
    flight_scope="thread"|"trace"|"all", sample_first=0,
    sample_thereafter=0, sample_interval_ms=1000, sample_errors=False):
    with the flight recorder on, records below level down to flight_level
    are kept in memory per thread and written, marked "_replayed": true,
    before the next record at flight_trigger or above. With sample_first
    > 0, each (level, field keys) combination writes its first
    sample_first records per interval, then one in sample_thereafter (0:
    none); error and fatal only when sample_errors."""

    def __init__(self, service, level="info", sinks=None, level_env=None, overflow="drop",
                 redact=(), flight_recorder=False, flight_level="debug", flight_trigger="error",
                 flight_scope="thread", sample_first=0, sample_thereafter=0,
                 sample_interval_ms=0, sample_errors=False, _handle=None):
        if _handle is not None:
            self._h = ctypes.c_void_p(_handle)
            return
        o = _lib.LogOpts()
        svc = to_bytes(service, "service", True)
        _lib.lib.sonde_log_opts_init(ctypes.byref(o), svc)
        o.level = _level(level)
        o.level_env = to_bytes(level_env, "level_env", True)
        if overflow not in ("drop", "block"):
            raise _errors.InvalidArgument(-1, "overflow must be 'drop' or 'block'")
        o.overflow = 0 if overflow == "drop" else 1
        rk = [to_bytes(k, "redact key", True) for k in redact]
        rarr = (ctypes.c_char_p * max(len(rk), 1))(*rk)
        o.redact_keys, o.redact_count = rarr, len(rk)
        sinks = list(sinks or ())
        sarr = (ctypes.c_void_p * max(len(sinks), 1))(*[s._h.value for s in sinks])
        o.sinks, o.sink_count = sarr, len(sinks)
        if flight_recorder:
            scopes = {"thread": 0, "trace": 1, "all": 2}
            if flight_scope not in scopes:
                raise _errors.InvalidArgument(-1, "flight_scope must be 'thread', 'trace' or 'all'")
            o.flight_recorder = 1
            o.flight_level = _level(flight_level)
            o.flight_trigger = _level(flight_trigger)
            o.flight_scope = scopes[flight_scope]
        for name, v in (("sample_first", sample_first), ("sample_thereafter", sample_thereafter),
                        ("sample_interval_ms", sample_interval_ms)):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < (1 << 32):
                raise _errors.InvalidArgument(-1, "%s must be an int in 0..2**32-1" % name)
            setattr(o, name, v)
        o.sample_errors = 1 if sample_errors else 0
        h = _lib.lib.sonde_logger_new(ctypes.byref(o))
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)
        self._blocking = overflow == "block"

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.lib.sonde_logger_free(self._h)
            self._h = None

    def child(self, **fields):
        """A logger with these fields bound to every record."""
        keep = []
        arr = (_lib.LogField * max(len(fields), 1))()
        for i, (k, v) in enumerate(fields.items()):
            # bound fields are scalars: an exception is bound as its text
            t, raw = _typed(str(v) if isinstance(v, BaseException) else v)
            f = arr[i]
            f.key = to_bytes(k, "field key", True)
            f.type = t
            if t == _T_STR:
                keep.append(raw)
                f.v.s = ctypes.cast(ctypes.c_char_p(raw), ctypes.c_void_p).value if raw else None
                f.len = len(raw) if raw is not None else 0
            elif t == _T_F64:
                f.v.d = raw
            elif t == _T_U64 or t == _T_BOOL:
                f.v.u = raw
            else:
                f.v.i = raw
        h = _lib.lib.sonde_logger_child(self._h, arr, len(fields))
        if not h:
            raise _errors.last()
        c = Logger(None, _handle=h)
        c._blocking = self._blocking
        return c

    @property
    def level(self):
        return _lib.lib.sonde_logger_level(self._h)

    @level.setter
    def level(self, level):
        _lib.lib.sonde_logger_set_level(self._h, _level(level))

    def set_level(self, level):
        self.level = level

    def is_enabled(self, level):
        return _level(level) >= _level_of(self._h)

    def log(self, level, msg, /, **fields):
        lv = _level(level)
        if lv >= _gate_of(self._h):
            self._emit(lv, msg, fields)

    def _emit(self, lv, msg, fields):
        m = to_bytes(msg, "message", True) or b""
        n = len(fields)
        if n > MAX_FIELDS:
            raise _errors.InvalidArgument(-1, "at most %d fields per record, got %d"
                                          % (MAX_FIELDS, n))
        arr, keep = _field_array(fields, "field key")
        # the bytes in keep stay alive until the call returns (it copies);
        # the record carries the running code's trace context (contextvars:
        # another asyncio task's span may be the thread's current one) and
        # its log context (the C scopes pushed around the call)
        layers = _context.get()
        if layers:
            with _pushed(layers), _scoped():
                rc = (_write_blk if self._blocking else _write_nb)(self._h, lv, m, len(m), arr,
                                                                   n)
        else:
            with _scoped():
                rc = (_write_blk if self._blocking else _write_nb)(self._h, lv, m, len(m), arr,
                                                                   n)
        if rc:
            raise _errors.last()

    def trace(self, msg, /, **fields):
        if 0 >= _gate_of(self._h):
            self._emit(0, msg, fields)

    def debug(self, msg, /, **fields):
        if 1 >= _gate_of(self._h):
            self._emit(1, msg, fields)

    def info(self, msg, /, **fields):
        if 2 >= _gate_of(self._h):
            self._emit(2, msg, fields)

    def warn(self, msg, /, **fields):
        if 3 >= _gate_of(self._h):
            self._emit(3, msg, fields)

    warning = warn

    def error(self, msg, /, **fields):
        if 4 >= _gate_of(self._h):
            self._emit(4, msg, fields)

    def fatal(self, msg, /, **fields):
        if 5 >= _gate_of(self._h):
            self._emit(5, msg, fields)


def crash_flush_enable():
    """On SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, write what the rings
    (and the flight recorder) still hold and one "crash" record to the file
    and stdout/stderr sinks, then let the signal go on (to the handler that
    was there before, e.g. faulthandler's, or the default action). Install
    it after faulthandler.enable() so that both run."""
    _errors.check(_lib.lib.sonde_log_crash_flush_enable())


def crash_flush_disable():
    _errors.check(_lib.lib.sonde_log_crash_flush_disable())


def flush():
    """Returns once every record emitted before the call is written."""
    _errors.check(_lib.lib.sonde_log_flush())


def shutdown():
    """Drains the rings and stops the backend (a new Logger restarts it)."""
    _errors.check(_lib.lib.sonde_log_shutdown())


def set_level_all(level):
    _lib.lib.sonde_log_set_level_all(_level(level))


def stats():
    s = _lib.LogStats()
    s.size = ctypes.sizeof(s)
    _errors.check(_lib.lib.sonde_log_stats_get(ctypes.byref(s)))
    names = ("trace", "debug", "info", "warn", "error", "fatal")
    return {"written": {names[i]: s.written[i] for i in range(6)}, "dropped": s.dropped,
            "truncated": s.truncated, "sink_errors": s.sink_errors, "rings": s.rings}


# LogRecord attributes that are the record's own, not extra= fields.
_RECORD_ATTRS = frozenset(vars(__import__("logging").LogRecord(
    "n", 0, "p", 0, "m", (), None, "f")).keys()) | {"message", "asctime", "taskName"}


class LogHandler(__import__("logging").Handler):
    """A logging.Handler writing stdlib `logging` records through sonde's
    logger, so Python's log lines join the process's one sonde stream (same
    sinks, the current trace_id/span_id):

        logging.getLogger().addHandler(sonde.LogHandler(sonde.Logger("app")))
        logging.getLogger("db").warning("slow %s", q, extra={"ms": 812})

    The message is record.getMessage(); the fields are `logger` (the
    record's logger name), every extra= field, and for a record with an
    exception `exc_type` and `exception` (the formatted traceback), for one
    with stack_info `stack`. Levels map down to sonde's: CRITICAL -> fatal,
    ERROR -> error, WARNING -> warn, INFO -> info, DEBUG -> debug, lower ->
    trace. A record with more fields than a sonde record holds (15) keeps
    the first ones and counts the rest in `fields_dropped`. A record sonde
    refuses goes to Handler.handleError (stderr), never raises into the
    caller. logger=None makes a Logger for service (default "python")."""

    def __init__(self, logger=None, level=0, service="python"):
        super().__init__(level)
        self.sonde_logger = logger if logger is not None else Logger(service)

    @staticmethod
    def sonde_level(levelno):
        if levelno >= 50:
            return FATAL
        if levelno >= 40:
            return ERROR
        if levelno >= 30:
            return WARN
        if levelno >= 20:
            return INFO
        if levelno >= 10:
            return DEBUG
        return TRACE

    def emit(self, record):
        try:
            lv = self.sonde_level(record.levelno)
            if not self.sonde_logger.is_enabled(lv):
                return
            fields = {"logger": record.name}
            if record.exc_info and record.exc_info[0] is not None:
                fields["exc_type"] = record.exc_info[0].__name__
                fields["exception"] = (self.formatter or _FORMATTER).formatException(
                    record.exc_info)
            elif record.exc_text:
                fields["exception"] = record.exc_text
            if record.stack_info:
                fields["stack"] = record.stack_info
            extras = [(k, v) for k, v in vars(record).items()
                      if k not in _RECORD_ATTRS and k not in fields]
            room = MAX_FIELDS - len(fields)
            if len(extras) > room:
                room -= 1
                fields["fields_dropped"] = len(extras) - room
            for k, v in extras[:room]:
                fields[k] = v
            self.sonde_logger._emit(lv, record.getMessage(), fields)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


_FORMATTER = __import__("logging").Formatter()
