"""The OTLP/HTTP span exporter (libsonde's, include/sonde/export.h): every
sampled span ended in the process, from Python, C, Go or Rust code, goes
to an OpenTelemetry Collector, Jaeger or anything that accepts OTLP over
HTTP.

    import sonde
    sonde.otlp.set_service("checkout", version="1.4.2", environment="prod")
    sonde.otlp.start(endpoint="http://localhost:4318/v1/traces",
                     headers={"x-tenant": "a"}, protocol="http/protobuf")
    with sonde.span("GET /cart", kind="server") as s:
        s.set_attribute("http.response.status_code", 200)
    sonde.otlp.shutdown(timeout=2.0)

Log records go the same way through an OTLP log sink (POST /v1/logs,
OTLP LogRecords with the record's typed fields as attributes, severity,
body, trace context; the mapping is include/sonde/export.h's):

    log = sonde.Logger("checkout", sinks=[sonde.otlp.log_sink(), sonde.stdout_sink()])
    log.info("order placed", items=3)
    sonde.log.flush()                 # the logger hands its records over
    sonde.otlp.shutdown(timeout=2.0)  # and they are sent

start() with no argument takes everything from the OTEL_* variables
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_BSP_*, ...); an
argument given overrides its variable. Durations are in seconds (floats;
libsonde counts milliseconds, a positive value under 1 ms is 1 ms).
Only spans started after start() are exported. The exporter is
process-wide: one per process, shared with C, Go and Rust code.

Errors: a bad argument (negative or NaN duration, unknown protocol or
compression, a NUL in a string, a size that is not a positive int) raises
sonde.InvalidArgument (a ValueError) and nothing is started. A value
libsonde itself refuses (an https:// or malformed endpoint, a bad OTEL_*
variable, a batch size above the queue size) raises InvalidArgument with
libsonde's message AFTER the exporter started with the default in its
place: running() is then True (call shutdown() to stop it).
"""

import ctypes
import math
from dataclasses import dataclass, fields

from . import _errors, _lib
from .metrics import to_bytes

_PROTOCOLS = {"http/protobuf": 1, "http/json": 2}
_COMPRESSIONS = {"none": 1, "gzip": 2}
_INT_MAX = (1 << 31) - 1


def _bad(msg):
    return _errors.InvalidArgument(-1, "sonde.otlp: " + msg)


def _ms(value, what):
    """seconds (None: unset) -> a positive int of ms for C, 0 when unset."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad("%s must be a number of seconds, not %r" % (what, value))
    if math.isnan(value) or value <= 0:
        raise _bad("%s %r must be a positive number of seconds" % (what, value))
    ms = value * 1000.0
    if ms > _INT_MAX:
        raise _bad("%s %r s is above %d ms" % (what, value, _INT_MAX))
    return max(1, int(round(ms)))


def _count(value, what):
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("%s must be an int, not %r" % (what, value))
    if not 0 < value <= _INT_MAX:
        raise _bad("%s %d must be in [1, %d]" % (what, value, _INT_MAX))
    return value


def _choice(value, table, what):
    if value is None:
        return 0
    if isinstance(value, str) and value.lower() in table:
        return table[value.lower()]
    raise _bad("%s %r is not one of %s" % (what, value, ", ".join(sorted(table))))


def start(endpoint=None, headers=None, timeout=None, protocol=None, compression=None,
          schedule_delay=None, export_timeout=None, max_queue_size=None,
          max_export_batch_size=None, retry_initial=None, retry_max=None,
          logs_endpoint=None):
    """Starts the exporter. Every argument None takes its OTEL_* variable,
    then OpenTelemetry's default:
      endpoint       the full traces URL, http://host[:port][/path]
                     [http://localhost:4318/v1/traces]; http only (TLS is
                     the job of a local Collector that forwards)
      headers        a dict (or (name, value) pairs) of request headers,
                     added to OTEL_EXPORTER_OTLP_[TRACES_]HEADERS
      timeout        one request, seconds [10]
      protocol       "http/protobuf" or "http/json" [http/protobuf]
      compression    "gzip" or "none" [none]
      schedule_delay seconds between batches [5]
      export_timeout one batch, retries included, seconds [30]
      max_queue_size spans waiting [2048]; a full queue drops and counts
      max_export_batch_size  spans per request [512]
      retry_initial, retry_max  the retry backoff's first wait and ceiling,
                     seconds [1, 5]
      logs_endpoint  the full logs URL [http://localhost:4318/v1/logs, or
                     OTEL_EXPORTER_OTLP_[LOGS_]ENDPOINT]; the other
                     arguments serve log records too (a separate queue of
                     max_queue_size records)
    Returns True when it runs, False when OTEL_SDK_DISABLED=true or both
    OTEL_TRACES_EXPORTER=none and OTEL_LOGS_EXPORTER=none kept it off.
    Raises StateError when it is already running; InvalidArgument as the
    module says."""
    o = _lib.OtlpOptions()
    o.size = ctypes.sizeof(o)
    keep = []
    if endpoint is not None:
        if not isinstance(endpoint, (str, bytes)):
            raise _bad("endpoint must be a str, not %r" % (endpoint,))
        eb = to_bytes(endpoint, "sonde.otlp: endpoint", True)
        keep.append(eb)
        o.endpoint = eb
    if logs_endpoint is not None:
        if not isinstance(logs_endpoint, (str, bytes)):
            raise _bad("logs_endpoint must be a str, not %r" % (logs_endpoint,))
        lb = to_bytes(logs_endpoint, "sonde.otlp: logs_endpoint", True)
        keep.append(lb)
        o.logs_endpoint = lb
    items = list(headers.items()) if hasattr(headers, "items") else list(headers or ())
    if items:
        arr = (_lib.Header * len(items))()
        for i, pair in enumerate(items):
            try:
                k, v = pair
            except (TypeError, ValueError):
                raise _bad("headers must be a dict or (name, value) pairs, not %r" % (pair,))
            kb = to_bytes(k, "sonde.otlp: header name", True)
            vb = to_bytes(v, "sonde.otlp: header value", True)
            if kb is None or vb is None:
                raise _bad("header %r: None is not a header name or value" % (pair,))
            kbuf, vbuf = ctypes.create_string_buffer(kb), ctypes.create_string_buffer(vb)
            keep += [kbuf, vbuf]
            arr[i].name, arr[i].name_len = ctypes.addressof(kbuf), len(kb)
            arr[i].value, arr[i].value_len = ctypes.addressof(vbuf), len(vb)
        keep.append(arr)
        o.headers, o.nheaders = ctypes.cast(arr, ctypes.POINTER(_lib.Header)), len(items)
    o.timeout_ms = _ms(timeout, "timeout")
    o.protocol = _choice(protocol, _PROTOCOLS, "protocol")
    o.compression = _choice(compression, _COMPRESSIONS, "compression")
    o.schedule_delay_ms = _ms(schedule_delay, "schedule_delay")
    o.export_timeout_ms = _ms(export_timeout, "export_timeout")
    o.max_queue_size = _count(max_queue_size, "max_queue_size")
    o.max_export_batch_size = _count(max_export_batch_size, "max_export_batch_size")
    o.retry_initial_ms = _ms(retry_initial, "retry_initial")
    o.retry_max_ms = _ms(retry_max, "retry_max")
    # C copies every string and header during the call: keep holds them
    # until it returns
    _errors.check(_lib.lib.sonde_otlp_start(ctypes.byref(o)))
    del keep
    return running()


def start_from_env():
    """Starts the exporter configured by the OTEL_* variables alone (the C
    API's sonde_otlp_start(NULL)). Returns and raises as start()."""
    _errors.check(_lib.lib.sonde_otlp_start(None))
    return running()


def running():
    """True while the exporter runs."""
    return bool(_lib.lib.sonde_otlp_running())


def _wait_ms(timeout):
    if timeout is None:
        raise _bad("timeout must be a number of seconds, not None")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
            math.isnan(timeout) or timeout < 0:
        raise _bad("timeout %r must be a number of seconds >= 0" % (timeout,))
    ms = timeout * 1000.0
    return _INT_MAX if ms >= _INT_MAX else int(math.ceil(ms))


def flush(timeout=5.0):
    """Waits until every span ended before the call has been exported or
    dropped, for at most timeout seconds. Raises Timeout (a TimeoutError)
    when time ran out, StateError when the exporter is not running."""
    _errors.check(_lib.lib.sonde_otlp_flush(_wait_ms(timeout)))


def shutdown(timeout=2.0):
    """Stops the exporter: sends what is queued for at most timeout seconds
    (0: nothing is sent), then drops (and counts) the rest. Raises Timeout
    when the deadline dropped spans (the exporter is stopped all the same),
    StateError when it was not running. Bounded: a dead collector never
    holds the caller longer than timeout (plus one name resolution)."""
    _errors.check(_lib.lib.sonde_otlp_shutdown(_wait_ms(timeout)))


@dataclass(frozen=True)
class Stats:
    """The exporter's self-metrics since it last started (kept after
    shutdown). After shutdown, spans_ended == spans_exported + dropped."""
    spans_ended: int
    spans_exported: int
    dropped_queue_full: int
    dropped_rejected: int
    dropped_failed: int
    dropped_shutdown: int
    dropped_oom: int
    export_requests: int
    export_failures: int
    queue_length: int
    export_duration_ns: int
    export_thread_cpu_ns: int
    dropped_partial: int  # a 2xx partial success: the collector refused them
    # log records (log_sink()): logs_exported + logs_dropped == logs_handed
    logs_handed: int
    logs_exported: int
    logs_dropped_queue_full: int
    logs_dropped_rejected: int
    logs_dropped_failed: int
    logs_dropped_shutdown: int
    logs_dropped_oom: int
    logs_dropped_partial: int
    logs_queue_length: int
    logs_export_requests: int
    logs_export_failures: int
    logs_export_duration_ns: int

    @property
    def dropped(self):
        return (self.dropped_queue_full + self.dropped_rejected + self.dropped_failed +
                self.dropped_shutdown + self.dropped_oom + self.dropped_partial)

    @property
    def logs_dropped(self):
        return (self.logs_dropped_queue_full + self.logs_dropped_rejected +
                self.logs_dropped_failed + self.logs_dropped_shutdown + self.logs_dropped_oom +
                self.logs_dropped_partial)


def stats():
    """A Stats snapshot."""
    s = _lib.OtlpStats()
    s.size = ctypes.sizeof(s)
    _lib.lib.sonde_otlp_get_stats(ctypes.byref(s))
    return Stats(**{f.name: getattr(s, f.name) for f in fields(Stats)})


def set_service(name=None, version=None, environment=None):
    """The resource's service.name, service.version and
    deployment.environment (None leaves one as it is). OTEL_SERVICE_NAME,
    read by start(), wins over a name set before it."""
    _errors.check(_lib.lib.sonde_resource_set_service(
        to_bytes(name, "service name", True), to_bytes(version, "service version", True),
        to_bytes(environment, "deployment environment", True)))


def set_resource_attribute(key, value):
    """A resource attribute (str or int; None removes key)."""
    kb = to_bytes(key, "resource attribute key", True)
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(1 << 63) <= value < (1 << 63):
            raise _bad("resource attribute %r: %d does not fit in 64 bits" % (key, value))
        _errors.check(_lib.lib.sonde_resource_set_int(kb, value))
    else:
        _errors.check(_lib.lib.sonde_resource_set_str(
            kb, to_bytes(value, "resource attribute value", True)))


def resource_attribute(key):
    """The resource attribute's value as text (an int in decimal), None
    when it is not set."""
    kb = to_bytes(key, "resource attribute key", True)
    n = _lib.lib.sonde_resource_get(kb, None, 0)
    if n == -4:
        return None
    _errors.check(n)
    out = ctypes.create_string_buffer(n + 1)
    _errors.check(_lib.lib.sonde_resource_get(kb, out, n + 1))
    return out.value.decode("utf-8", "replace")


def set_scope(name, version=None):
    """The instrumentation scope sent with the spans (default: "sonde" and
    libsonde's version)."""
    _errors.check(_lib.lib.sonde_trace_set_scope(to_bytes(name, "scope name", True),
                                                 to_bytes(version, "scope version", True)))


def scope():
    """(name, version) of the instrumentation scope."""
    name, version = ctypes.create_string_buffer(256), ctypes.create_string_buffer(256)
    _lib.lib.sonde_trace_get_scope(name, 256, version, 256)
    return name.value.decode("utf-8", "replace"), version.value.decode("utf-8", "replace")


def log_sink(level=None, name=None):
    """A log sink (give it to sonde.Logger(sinks=[...])) whose records the
    exporter sends as OTLP LogRecords to the logs endpoint. Records it sees
    while the exporter is not running (or OTEL_LOGS_EXPORTER=none) are
    dropped, not counted. level: records below it are not sent; name: the
    sink's metric label ["otlp"]. Raises InvalidArgument for a bad level,
    MemoryError-like sonde errors as the other sinks."""
    from .log import _new_sink, _sink_opts
    o = _sink_opts("json", level, name if name is not None else "otlp")
    return _new_sink(_lib.lib.sonde_otlp_log_sink(ctypes.byref(o)))
