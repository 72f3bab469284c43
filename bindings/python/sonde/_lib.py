"""Loading libsonde and declaring the C ABI (ctypes only, no compiler).

Search order for the shared library:
  1. $SONDE_LIBRARY: a path to libsonde.so (or libsonde.so.0).
  2. The package folder: sonde/libsonde.so.0, then sonde/libsonde.so
     (where `pip install ./bindings/python` puts the library it built).
  3. The library `make install` installed with this package (sonde/_install.py).
  4. Inside a source tree: its build/libsonde.so.0 after `make`.
  5. The system search path: libsonde.so.0 (the soname), then
     ctypes.util.find_library("sonde").
The first that loads wins; a library whose major version differs from
the one these declarations were written for is refused.

Two handles are opened on the same library: `lib` (ctypes.CDLL, releases
the GIL around each call; used for anything that can block or take a
lock for long) and `hot` (ctypes.PyDLL, keeps the GIL; used only for
calls that never block: increments, observations, label lookups,
exposition of nothing). Both refer to one loaded copy, so there is one
registry, one logger and one trace context per process.
"""

import ctypes
import ctypes.util
import os

ABI_MAJOR = 0

c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_bool = ctypes.c_bool
c_u8 = ctypes.c_uint8
c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64
c_i64 = ctypes.c_int64
P = ctypes.POINTER


class LibraryNotFound(OSError):
    pass


def _candidates():
    env = os.environ.get("SONDE_LIBRARY")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libsonde.so.0", "libsonde.so"):
        p = os.path.join(here, name)
        if os.path.exists(p):
            yield p
    try:  # written by `make install`: the library it installed beside us
        from . import _install
        yield os.path.join(_install.LIBDIR, "libsonde.so.0")
    except ImportError:
        pass
    # inside a source tree after `make`: bindings/python/sonde -> build/
    tree = os.path.join(here, "..", "..", "..")
    if os.path.exists(os.path.join(tree, "lib", "api", "sonde.map")):
        for name in ("libsonde.so.0", "libsonde.so"):
            p = os.path.normpath(os.path.join(tree, "build", name))
            if os.path.exists(p):
                yield p
    yield "libsonde.so.0"
    found = ctypes.util.find_library("sonde")
    if found:
        yield found


def _load():
    errors = []
    for path in _candidates():
        try:
            cdll = ctypes.CDLL(path)
        except OSError as e:
            errors.append("%s: %s" % (path, e))
            continue
        cdll.sonde_version_hex.restype = c_uint
        cdll.sonde_version_hex.argtypes = []
        major = cdll.sonde_version_hex() >> 16
        if major != ABI_MAJOR:
            errors.append("%s: major version %d, expected %d" % (path, major, ABI_MAJOR))
            continue
        return path, cdll, ctypes.PyDLL(path)
    raise LibraryNotFound(
        "libsonde not found: `pip install ./bindings/python` builds it into the package, "
        "or run `make` in the source tree, or set SONDE_LIBRARY to the path of libsonde.so; tried: "
        + "; ".join(errors))


path, lib, hot = _load()


# ---- structs (layouts checked against a C compiler by tests/test_abi.py) --------

class Buf(ctypes.Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t), ("cap", c_size_t), ("oom", c_int)]


class MetricOpts(ctypes.Structure):
    _fields_ = [
        ("size", c_size_t), ("type", c_int), ("name", c_char_p), ("help", c_char_p),
        ("unit", c_char_p), ("label_names", P(c_char_p)), ("label_count", c_size_t),
        ("buckets", P(c_double)), ("bucket_count", c_size_t), ("max_children", c_size_t),
        ("quantiles", P(c_double)), ("quantile_count", c_size_t),
        ("max_age_seconds", c_double), ("age_buckets", c_uint),
        ("states", P(c_char_p)), ("state_count", c_size_t),
        # native histograms (issue 17)
        ("native", c_int), ("native_bucket_factor", c_double),
        ("native_zero_threshold", c_double), ("native_max_zero_threshold", c_double),
        ("native_max_buckets", ctypes.c_uint32), ("native_min_reset_seconds", c_double),
        # constant labels (issue 16)
        ("const_labels", P(c_char_p)), ("const_label_count", c_size_t),
    ]


class SpanContext(ctypes.Structure):
    _fields_ = [
        ("trace_id", c_u8 * 16), ("span_id", c_u8 * 8), ("trace_flags", c_u8),
        ("is_remote", c_u8), ("correlation_len", c_u8), ("correlation_id", ctypes.c_char * 65),
    ]


class ContextScope(ctypes.Structure):
    _fields_ = [("ctx", SpanContext), ("id", c_u64), ("magic", c_u32)]


class _AttrValue(ctypes.Union):
    _fields_ = [("str", c_void_p), ("i", c_i64), ("d", c_double), ("b", c_bool)]


class SpanAttr(ctypes.Structure):
    _fields_ = [("key", c_void_p), ("type", c_int), ("str_len", c_size_t), ("v", _AttrValue)]


class SpanEvent(ctypes.Structure):
    _fields_ = [("name", c_void_p), ("name_len", c_size_t), ("time_unix_ns", c_i64),
                ("attrs", ctypes.POINTER(SpanAttr)), ("attr_count", c_u32),
                ("attrs_dropped", c_u32)]


class SpanLink(ctypes.Structure):
    _fields_ = [("trace_id", c_u8 * 16), ("span_id", c_u8 * 8), ("trace_flags", c_u8),
                ("attrs", ctypes.POINTER(SpanAttr)), ("attr_count", c_u32),
                ("attrs_dropped", c_u32)]


class Span(ctypes.Structure):
    _fields_ = [
        ("scope", ContextScope), ("parent_span_id", c_u8 * 8), ("name", c_void_p),
        ("name_len", c_size_t), ("start_mono_ns", c_i64), ("duration_ns", c_i64),
        ("end_unix_ns", c_i64), ("status_msg", c_void_p), ("status", c_int),
        ("attr_count", c_u32), ("attrs_dropped", c_u32), ("state", c_u32),
        ("attrs", SpanAttr * 8), ("kind", c_u32), ("reserved", c_u32), ("data", c_void_p),
    ]


class HttpServerOpts(ctypes.Structure):
    _fields_ = [
        ("size", c_size_t), ("registry", c_void_p), ("requests_name", c_char_p),
        ("duration_name", c_char_p), ("in_flight_name", c_char_p),
        ("request_size_name", c_char_p), ("response_size_name", c_char_p),
        ("method_label", c_char_p), ("route_label", c_char_p), ("status_label", c_char_p),
        ("const_labels", P(c_char_p)), ("nconst", c_size_t),
        ("duration_buckets", P(c_double)), ("duration_bucket_count", c_size_t),
        ("native", c_int), ("native_bucket_factor", c_double), ("max_children", c_size_t),
        ("access_log", c_void_p), ("flags", c_uint),
    ]


class HttpRequestInfo(ctypes.Structure):
    _fields_ = [
        ("size", c_size_t), ("method", c_void_p), ("method_len", c_size_t), ("route", c_char_p),
        ("path", c_void_p), ("path_len", c_size_t), ("headers", c_void_p), ("nheaders", c_size_t),
        ("request_bytes", c_i64), ("carrier", c_void_p),
    ]


class HttpRequest(ctypes.Structure):
    _fields_ = [
        ("server", c_void_p), ("t0_mono_ns", c_i64), ("request_bytes", c_i64),
        ("method", c_void_p), ("carrier", c_void_p), ("magic", c_u32), ("traced", c_u8),
        ("route_len", c_u8), ("route", ctypes.c_char * 129), ("span_name", ctypes.c_char * 137),
        ("path", ctypes.c_char * 257), ("request_id", ctypes.c_char * 65), ("span", Span),
    ]


class TraceParentC(ctypes.Structure):
    _fields_ = [("version", c_u8), ("flags", c_u8), ("trace_id", c_u8 * 16),
                ("parent_id", c_u8 * 8)]


class ExposeResult(ctypes.Structure):
    _fields_ = [("format", c_int), ("content_type", c_char_p), ("content_encoding", c_char_p)]


class Header(ctypes.Structure):
    _fields_ = [("name", c_void_p), ("name_len", c_size_t), ("value", c_void_p),
                ("value_len", c_size_t)]


class TraceHeaders(ctypes.Structure):
    _fields_ = [("count", c_size_t), ("headers", Header * 3),
                ("traceparent", ctypes.c_char * 56), ("tracestate", ctypes.c_char * 513),
                ("baggage", Buf)]


# logger
class LogSinkOpts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("format", c_int), ("level", c_int), ("name", c_char_p),
                ("max_bytes", c_u64), ("max_files", c_uint), ("format_env", c_char_p),
                ("time_key", c_char_p), ("level_key", c_char_p), ("message_key", c_char_p),
                ("level_upper", c_int), ("color", c_int)]


class LogOpts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("service", c_char_p), ("level", c_int),
                ("level_env", c_char_p), ("overflow", c_int), ("redact_keys", P(c_char_p)),
                ("redact_count", c_size_t), ("sinks", P(c_void_p)), ("sink_count", c_size_t),
                ("flight_recorder", c_int), ("flight_level", c_int), ("flight_trigger", c_int),
                ("flight_scope", c_int), ("sample_first", c_uint), ("sample_thereafter", c_uint),
                ("sample_interval_ms", c_uint), ("sample_errors", c_int)]


class _LogUnion(ctypes.Union):
    _fields_ = [("i", c_i64), ("u", c_u64), ("d", c_double), ("s", c_void_p)]


class LogField(ctypes.Structure):
    _fields_ = [("key", c_char_p), ("type", c_int), ("v", _LogUnion), ("len", c_size_t)]


class LogSite(ctypes.Structure):
    _fields_ = [("message", c_void_p), ("file", c_void_p), ("keys", c_void_p),
                ("types", c_void_p), ("line", c_int), ("level", ctypes.c_ubyte),
                ("nfields", ctypes.c_ubyte), ("flags", ctypes.c_ubyte), ("state", c_void_p)]


LOG_SCOPE_FIELDS = 8
LOG_SCOPE_INLINE = 192


class LogScope(ctypes.Structure):
    """sonde_log_scope: caller-owned, private fields (written by C)."""
    _fields_ = [("priv_up", c_void_p), ("priv_owner", c_void_p), ("priv_magic", c_u32),
                ("priv_n", c_u32), ("priv_total_n", c_u32), ("priv_total_bytes", c_u32),
                ("priv_depth", c_u32), ("priv_bytes", c_u32),
                ("priv_klen", c_u32 * LOG_SCOPE_FIELDS),
                ("priv_slots", c_u64 * (2 * LOG_SCOPE_FIELDS)),
                ("priv_f", LogField * LOG_SCOPE_FIELDS),
                ("priv_text", ctypes.c_char * LOG_SCOPE_INLINE)]


class LogValue(ctypes.Structure):
    _fields_ = [("v", _LogUnion), ("len", c_size_t)]


class LogTree(ctypes.Structure):
    _fields_ = [("buf", c_void_p), ("cap", c_size_t), ("len", c_size_t), ("status", c_int),
                ("depth", c_uint), ("nkeys", c_uint), ("key_due", c_bool), ("done", c_bool),
                ("open", c_size_t * 8)]


class LogStats(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("written", c_u64 * 6), ("dropped", c_u64),
                ("truncated", c_u64), ("sink_errors", c_u64), ("rings", c_u64)]


# the OTLP exporter (include/sonde/export.h)
class OtlpOptions(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("endpoint", c_char_p), ("headers", P(Header)),
                ("nheaders", c_size_t), ("timeout_ms", c_int), ("protocol", c_int),
                ("compression", c_int), ("schedule_delay_ms", c_int),
                ("export_timeout_ms", c_int), ("max_queue_size", c_int),
                ("max_export_batch_size", c_int), ("retry_initial_ms", c_int),
                ("retry_max_ms", c_int), ("logs_endpoint", c_char_p)]


class OtlpStats(ctypes.Structure):
    _fields_ = [("size", c_size_t)] + [(n, c_u64) for n in (
        "spans_ended", "spans_exported", "dropped_queue_full", "dropped_rejected",
        "dropped_failed", "dropped_shutdown", "dropped_oom", "export_requests",
        "export_failures", "queue_length", "export_duration_ns", "export_thread_cpu_ns",
        "dropped_partial", "logs_handed", "logs_exported", "logs_dropped_queue_full",
        "logs_dropped_rejected", "logs_dropped_failed", "logs_dropped_shutdown",
        "logs_dropped_oom", "logs_dropped_partial", "logs_queue_length",
        "logs_export_requests", "logs_export_failures", "logs_export_duration_ns")]


HEALTH_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
HEALTH_RELEASE = ctypes.CFUNCTYPE(None, c_void_p)


class HealthOpts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("registry", c_void_p), ("version", c_char_p),
                ("flags", c_uint), ("free_wait_ms", c_u32)]


class HealthCheckOpts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("name", c_char_p), ("fn", HEALTH_FN), ("user", c_void_p),
                ("probes", c_uint), ("timeout_ms", c_u32), ("cache_ms", c_u32),
                ("release", HEALTH_RELEASE)]


STRUCTS = {
    "sonde_buf": Buf, "sonde_metric_opts": MetricOpts, "sonde_span_context": SpanContext,
    "sonde_context_scope": ContextScope, "sonde_span_attr": SpanAttr, "sonde_span": Span,
    "sonde_traceparent": TraceParentC, "sonde_expose_result": ExposeResult,
    "sonde_header": Header, "sonde_trace_headers": TraceHeaders,
    "sonde_log_sink_opts": LogSinkOpts, "sonde_log_opts": LogOpts, "sonde_log_field": LogField,
    "sonde_log_site": LogSite, "sonde_log_scope": LogScope, "sonde_log_value": LogValue, "sonde_log_stats": LogStats,
    "sonde_log_tree": LogTree,
    "sonde_health_opts": HealthOpts, "sonde_health_check_opts": HealthCheckOpts,
    "sonde_span_event": SpanEvent, "sonde_span_link": SpanLink,
    "sonde_http_server_opts": HttpServerOpts, "sonde_http_request_info": HttpRequestInfo,
    "sonde_http_request": HttpRequest, "sonde_otlp_options": OtlpOptions,
    "sonde_otlp_stats": OtlpStats,
}

# ---- functions: name -> (restype, argtypes, hot) ----------------------------------
vp, sz, d = c_void_p, c_size_t, c_double
CSTRS = P(c_char_p)
SIZES = P(c_size_t)
_DECLS = {
    "sonde_version": (c_char_p, [], False),
    "sonde_strerror": (c_char_p, [c_int], False),
    "sonde_status_name": (c_char_p, [c_int], False),
    "sonde_last_error": (c_char_p, [], True),
    "sonde_last_status": (c_int, [], True),
    "sonde_instance_check": (c_int, [], False),
    "sonde_buf_destroy": (None, [P(Buf)], False),
    "sonde_now_mono_ns": (c_i64, [], True),
    # registries and families
    "sonde_registry_new": (vp, [], False),
    "sonde_registry_free": (None, [vp], False),
    "sonde_registry_default": (vp, [], False),
    "sonde_registry_unregister": (c_int, [vp, vp], False),
    "sonde_registry_find": (vp, [vp, c_char_p], False),
    "sonde_metric_opts_init": (None, [P(MetricOpts), c_int, c_char_p, c_char_p], False),
    "sonde_family_new": (vp, [vp, P(MetricOpts)], False),
    "sonde_family_remove": (c_int, [vp, sz, CSTRS, SIZES], False),
    "sonde_family_clear": (None, [vp], False),
    "sonde_family_size": (sz, [vp], False),
    "sonde_info_family_new": (vp, [vp, c_char_p, c_char_p, sz, CSTRS], False),
    "sonde_info_add": (c_int, [vp, sz, CSTRS, SIZES], False),
    "sonde_stateset_new": (vp, [vp, c_char_p, c_char_p, sz, CSTRS], False),
    "sonde_stateset_enum": (c_int, [vp, c_char_p], False),
    "sonde_stateset_mask": (c_u64, [vp], False),
    "sonde_family_name": (c_char_p, [vp], False),
    "sonde_family_set_max_children": (c_int, [vp, sz], False),
    "sonde_counter_labels": (vp, [vp, sz, CSTRS, SIZES], True),
    "sonde_gauge_labels": (vp, [vp, sz, CSTRS, SIZES], True),
    "sonde_histogram_labels": (vp, [vp, sz, CSTRS, SIZES], True),
    "sonde_summary_labels": (vp, [vp, sz, CSTRS, SIZES], True),
    # hot path
    "sonde_counter_inc": (None, [vp], True),
    "sonde_counter_add": (None, [vp, d], True),
    "sonde_counter_add_u64": (None, [vp, c_u64], True),
    "sonde_counter_value": (d, [vp], False),
    "sonde_gauge_set": (None, [vp, d], True),
    "sonde_gauge_add": (None, [vp, d], True),
    "sonde_gauge_sub": (None, [vp, d], True),
    "sonde_gauge_inc": (None, [vp], True),
    "sonde_gauge_dec": (None, [vp], True),
    "sonde_gauge_set_to_current_time": (None, [vp], True),
    "sonde_gauge_value": (d, [vp], True),
    "sonde_histogram_observe": (None, [vp, d], True),
    "sonde_histogram_count": (c_u64, [vp], False),
    "sonde_histogram_sum": (d, [vp], False),
    "sonde_histogram_bucket": (c_u64, [vp, sz], False),
    "sonde_summary_observe": (None, [vp, d], True),
    "sonde_summary_count": (c_u64, [vp], False),
    "sonde_summary_sum": (d, [vp], False),
    "sonde_summary_quantile": (d, [vp, d], False),
    "sonde_buckets_linear": (c_int, [d, d, sz, P(c_double)], False),
    "sonde_buckets_exponential": (c_int, [d, d, sz, P(c_double)], False),
    # exposition
    "sonde_format_content_type": (c_char_p, [c_int], False),
    "sonde_expose": (c_int, [vp, c_int, P(Buf)], False),
    "sonde_expose_negotiate": (c_int, [c_char_p, sz, P(c_int), P(c_char_p)], False),
    "sonde_accepts_gzip": (c_bool, [c_char_p, sz], False),
    "sonde_expose_http": (c_int, [vp, c_char_p, c_char_p, P(Buf), P(ExposeResult)], False),
    # context and trace
    "sonde_span_context_valid": (c_bool, [P(SpanContext)], True),
    "sonde_context_current": (P(SpanContext), [], True),
    "sonde_context_attach": (None, [P(ContextScope), P(SpanContext)], True),
    "sonde_context_detach": (c_int, [P(ContextScope)], True),
    "sonde_trace_id_generate": (None, [P(c_u8)], True),
    "sonde_span_id_generate": (None, [P(c_u8)], True),
    "sonde_traceparent_parse": (c_int, [c_char_p, sz, P(TraceParentC)], True),
    "sonde_traceparent_format": (sz, [P(TraceParentC), c_char_p, sz], True),
    "sonde_span_context_format_traceparent": (sz, [P(SpanContext), c_char_p, sz], True),
    "sonde_tracestate_new": (vp, [], False),
    "sonde_tracestate_free": (None, [vp], False),
    "sonde_tracestate_clear": (None, [vp], False),
    "sonde_tracestate_parse": (c_int, [vp, c_char_p, sz], False),
    "sonde_tracestate_set": (c_int, [vp, c_char_p, sz, c_char_p, sz], False),
    "sonde_tracestate_remove": (c_int, [vp, c_char_p, sz], False),
    "sonde_tracestate_get": (c_bool, [vp, c_char_p, sz, P(c_void_p), P(c_size_t)], False),
    "sonde_tracestate_count": (sz, [vp], False),
    "sonde_tracestate_member": (c_int, [vp, sz, P(c_void_p), P(c_size_t), P(c_void_p),
                                        P(c_size_t)], False),
    "sonde_tracestate_format": (sz, [vp, sz, c_char_p, sz], False),
    "sonde_baggage_new": (vp, [], False),
    "sonde_baggage_free": (None, [vp], False),
    "sonde_baggage_clear": (None, [vp], False),
    "sonde_baggage_parse": (c_int, [vp, c_char_p, sz], False),
    "sonde_baggage_set": (c_int, [vp, c_char_p, sz, c_char_p, sz, c_char_p, sz], False),
    "sonde_baggage_remove": (c_int, [vp, c_char_p, sz], False),
    "sonde_baggage_get": (c_bool, [vp, c_char_p, sz, P(c_void_p), P(c_size_t)], False),
    "sonde_baggage_count": (sz, [vp], False),
    "sonde_baggage_entry": (c_int, [vp, sz, P(c_void_p), P(c_size_t), P(c_void_p),
                                    P(c_size_t), P(c_void_p), P(c_size_t)], False),
    "sonde_baggage_format": (c_int, [vp, P(Buf)], False),
    "sonde_trace_set_sampler_ratio": (None, [d], False),
    "sonde_trace_sampler_ratio": (d, [], False),
    "sonde_span_start": (None, [P(Span), c_void_p], True),
    "sonde_span_start_child_of": (None, [P(Span), c_void_p, P(SpanContext)], True),
    "sonde_span_end": (None, [P(Span)], False),  # may run the span-end hook
    "sonde_span_set_str": (None, [P(Span), c_void_p, c_void_p], True),
    "sonde_span_set_int": (None, [P(Span), c_void_p, c_i64], True),
    "sonde_span_set_double": (None, [P(Span), c_void_p, d], True),
    "sonde_span_set_bool": (None, [P(Span), c_void_p, c_bool], True),
    "sonde_span_set_status": (None, [P(Span), c_int, c_void_p], True),
    "sonde_span_set_error": (None, [P(Span), c_void_p], True),
    "sonde_span_is_sampled": (c_bool, [P(Span)], True),
    "sonde_span_set_kind": (None, [P(Span), c_int], True),
    "sonde_http_server_opts_init": (None, [P(HttpServerOpts)], False),
    "sonde_http_server_new": (vp, [P(HttpServerOpts)], False),
    "sonde_http_server_free": (None, [vp], False),
    "sonde_http_request_info_init": (None, [P(HttpRequestInfo), c_void_p, c_char_p], False),
    "sonde_http_request_begin": (c_int, [vp, P(HttpRequest), P(HttpRequestInfo)], False),
    "sonde_http_request_end": (c_int, [P(HttpRequest), c_int, c_i64], False),
    "sonde_http_request_id": (c_char_p, [P(HttpRequest)], False),
    "sonde_span_set_strn": (None, [P(Span), c_void_p, c_void_p, sz], True),
    "sonde_span_set_str_array": (None, [P(Span), c_void_p, c_void_p, sz], False),
    "sonde_span_set_int_array": (None, [P(Span), c_void_p, c_void_p, sz], False),
    "sonde_span_set_double_array": (None, [P(Span), c_void_p, c_void_p, sz], False),
    "sonde_span_set_bool_array": (None, [P(Span), c_void_p, c_void_p, sz], False),
    "sonde_span_add_event_at": (None, [P(Span), c_void_p, c_i64, P(SpanAttr), sz], False),
    "sonde_span_record_exception": (None, [P(Span), c_void_p, c_void_p, c_void_p], False),
    "sonde_span_add_link": (None, [P(Span), P(SpanContext), P(SpanAttr), sz], False),
    "sonde_span_is_recording": (c_bool, [P(Span)], True),
    "sonde_span_get_attrs": (sz, [P(Span), P(P(SpanAttr))], False),
    "sonde_span_get_events": (sz, [P(Span), P(P(SpanEvent))], False),
    "sonde_span_get_links": (sz, [P(Span), P(P(SpanLink))], False),
    "sonde_trace_enable_span_metrics": (c_int, [vp, c_char_p], False),
    "sonde_trace_set_span_histogram": (c_int, [vp], False),
    "sonde_trace_set_span_logger": (c_int, [vp, c_int], False),
    "sonde_trace_reset_span_logger": (None, [], False),
    "sonde_trace_carrier_new": (vp, [], False),
    "sonde_trace_carrier_free": (None, [vp], False),
    "sonde_trace_extract": (c_int, [vp, P(Header), sz], False),
    "sonde_trace_carrier_context": (P(SpanContext), [vp], False),
    "sonde_trace_carrier_continued": (c_bool, [vp], False),
    "sonde_trace_carrier_tracestate": (vp, [vp], False),
    "sonde_trace_carrier_baggage": (vp, [vp], False),
    "sonde_trace_inject": (c_int, [vp, P(SpanContext), P(TraceHeaders)], False),
    "sonde_trace_headers_destroy": (None, [P(TraceHeaders)], False),
    # the resource and scope every exporter sends (sonde/trace.h)
    "sonde_resource_set_str": (c_int, [c_char_p, c_char_p], False),
    "sonde_resource_set_int": (c_int, [c_char_p, c_i64], False),
    "sonde_resource_set_service": (c_int, [c_char_p, c_char_p, c_char_p], False),
    "sonde_resource_get": (c_int, [c_char_p, c_char_p, sz], False),
    "sonde_trace_set_scope": (c_int, [c_char_p, c_char_p], False),
    "sonde_trace_get_scope": (None, [c_char_p, sz, c_char_p, sz], False),
    # the OTLP exporter (sonde/export.h): start, flush and shutdown block
    "sonde_otlp_start": (c_int, [P(OtlpOptions)], False),
    "sonde_otlp_running": (c_bool, [], False),
    "sonde_otlp_flush": (c_int, [c_int], False),
    "sonde_otlp_shutdown": (c_int, [c_int], False),
    "sonde_otlp_get_stats": (None, [P(OtlpStats)], False),
    "sonde_otlp_log_sink": (vp, [P(LogSinkOpts)], False),
}

# The logger (include/sonde/log.h). Declared only when the library exports it.
_LOG_DECLS = {
    "sonde_log_level_name": (c_char_p, [c_int], False),
    "sonde_log_level_parse": (c_int, [c_char_p, sz, P(c_int)], False),
    "sonde_log_sink_opts_init": (None, [P(LogSinkOpts)], False),
    "sonde_log_sink_stdout": (vp, [P(LogSinkOpts)], False),
    "sonde_log_sink_stderr": (vp, [P(LogSinkOpts)], False),
    "sonde_log_sink_file": (vp, [c_char_p, P(LogSinkOpts)], False),
    "sonde_log_sink_free": (None, [vp], False),
    "sonde_log_sink_reopen": (c_int, [vp], False),
    "sonde_log_sink_set_level": (None, [vp, c_int], False),
    "sonde_log_sink_errors": (c_u64, [vp], False),
    "sonde_log_opts_init": (None, [P(LogOpts), c_char_p], False),
    "sonde_logger_new": (vp, [P(LogOpts)], False),
    "sonde_logger_child": (vp, [vp, P(LogField), sz], False),
    "sonde_logger_free": (None, [vp], False),
    "sonde_logger_set_level": (None, [vp, c_int], False),
    "sonde_logger_level": (c_int, [vp], False),
    "sonde_logger_min_level": (c_int, [vp], False),
    "sonde_log_set_level_all": (None, [c_int], False),
    "sonde_log_flush": (c_int, [], False),
    "sonde_log_crash_flush_enable": (c_int, [], False),
    "sonde_log_crash_flush_disable": (c_int, [], False),
    "sonde_log_crash_flush_enabled": (ctypes.c_bool, [], False),
    "sonde_log_shutdown": (c_int, [], False),
    "sonde_log_stats_get": (c_int, [P(LogStats)], False),
    "sonde__log_emit": (None, [vp, P(LogSite), c_void_p], False),
    "sonde_log_write": (c_int, [vp, c_int, c_char_p, sz, P(LogField), sz], False),
    "sonde_log_tree_init": (None, [P(LogTree), vp, sz], False),
    "sonde_log_tree_error": (c_int, [P(LogTree), c_char_p, sz, c_char_p, sz, c_char_p, sz],
                             False),
    # scoped context fields: never block, never allocate (hot: keep the GIL)
    "sonde_log_scope_push": (c_int, [P(LogScope), P(LogField), sz], True),
    "sonde_log_scope_pop": (c_int, [P(LogScope)], True),
    "sonde_log_scope_fields": (sz, [], True),
    "sonde_log_sampled_total": (c_u64, [c_int], True),
}

# Health checks: sonde_health_evaluate blocks while checks (Python callbacks
# among them) run on other threads, so it must release the GIL: none is hot.
_HEALTH_DECLS = {
    "sonde_health_opts_init": (None, [P(HealthOpts)], False),
    "sonde_health_new": (vp, [P(HealthOpts)], False),
    "sonde_health_free": (None, [vp], False),
    "sonde_health_check_opts_init": (None, [P(HealthCheckOpts), c_char_p, HEALTH_FN, vp], False),
    "sonde_health_add_check": (c_int, [vp, P(HealthCheckOpts)], False),
    "sonde_health_check_count": (sz, [vp], False),
    "sonde_health_evaluate": (c_int, [vp, c_int, P(Buf), P(c_int)], False),
}


def _declare(decls):
    for name, (res, args, is_hot) in decls.items():
        for handle in (lib, hot):
            f = getattr(handle, name)
            f.restype = res
            f.argtypes = args


_declare(_DECLS)
_declare(_HEALTH_DECLS)
HAVE_LOG = hasattr(lib, "sonde_logger_new") and hasattr(lib, "sonde__log_emit")
if HAVE_LOG:
    _declare(_LOG_DECLS)


def fn(name):
    """The function to call: the GIL-keeping one for hot calls."""
    decl = _DECLS.get(name) or _LOG_DECLS.get(name) or _HEALTH_DECLS.get(name)
    return getattr(hot if decl and decl[2] else lib, name)
