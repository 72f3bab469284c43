//! Hand-written declarations of the libsonde C ABI (include/sonde/*.h).
//! Struct layouts are checked against the C compiler by tests/polyglot.rs.
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_double, c_int, c_uint, c_void};

pub enum sonde_registry {}
pub enum sonde_family {}
pub enum sonde_counter {}
pub enum sonde_gauge {}
pub enum sonde_histogram {}
pub enum sonde_summary {}
pub enum sonde_tracestate {}
pub enum sonde_baggage {}
pub enum sonde_logger {}
pub enum sonde_log_sink {}
pub enum sonde_health {}
pub enum sonde_exporter {}
pub enum sonde_http_server {}
pub enum sonde_trace_carrier {}

pub const TYPE_COUNTER: c_int = 1;
pub const TYPE_GAUGE: c_int = 2;
pub const TYPE_HISTOGRAM: c_int = 3;
pub const TYPE_SUMMARY: c_int = 4;

#[repr(C)]
pub struct sonde_buf {
    pub data: *mut c_char,
    pub len: usize,
    pub cap: usize,
    pub oom: c_int,
}

#[repr(C)]
pub struct sonde_metric_opts {
    pub size: usize,
    pub type_: c_int,
    pub name: *const c_char,
    pub help: *const c_char,
    pub unit: *const c_char,
    pub label_names: *const *const c_char,
    pub label_count: usize,
    pub buckets: *const c_double,
    pub bucket_count: usize,
    pub max_children: usize,
    pub quantiles: *const c_double,
    pub quantile_count: usize,
    pub max_age_seconds: c_double,
    pub age_buckets: c_uint,
    pub states: *const *const c_char,
    pub state_count: usize,
    pub native: c_int,
    pub native_bucket_factor: c_double,
    pub native_zero_threshold: c_double,
    pub native_max_zero_threshold: c_double,
    pub native_max_buckets: u32,
    pub native_min_reset_seconds: c_double,
    pub const_labels: *const *const c_char,
    pub const_label_count: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sonde_span_context {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub trace_flags: u8,
    pub is_remote: u8,
    pub correlation_len: u8,
    pub correlation_id: [c_char; 65],
}

#[repr(C)]
pub struct sonde_context_scope {
    pub ctx: sonde_span_context,
    pub id: u64,
    pub magic: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union sonde_attr_value {
    pub str_: *const c_char,
    pub i: i64,
    pub d: c_double,
    pub b: bool,
}

#[repr(C)]
pub struct sonde_span_attr {
    pub key: *const c_char,
    pub type_: c_int,
    pub str_len: usize,
    pub v: sonde_attr_value,
}

pub const SPAN_ATTRS_MAX: usize = 8;

#[repr(C)]
pub struct sonde_span_event {
    pub name: *const c_char,
    pub name_len: usize,
    pub time_unix_ns: i64,
    pub attrs: *const sonde_span_attr,
    pub attr_count: u32,
    pub attrs_dropped: u32,
}

#[repr(C)]
pub struct sonde_span_link {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub trace_flags: u8,
    pub attrs: *const sonde_span_attr,
    pub attr_count: u32,
    pub attrs_dropped: u32,
}

#[repr(C)]
pub struct sonde_span {
    pub scope: sonde_context_scope,
    pub parent_span_id: [u8; 8],
    pub name: *const c_char,
    pub name_len: usize,
    pub start_mono_ns: i64,
    pub duration_ns: i64,
    pub end_unix_ns: i64,
    pub status_msg: *const c_char,
    pub status: c_int,
    pub attr_count: u32,
    pub attrs_dropped: u32,
    pub state: u32,
    pub attrs: [sonde_span_attr; SPAN_ATTRS_MAX],
    pub kind: u32,
    pub reserved: u32,
    pub data: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct sonde_traceparent {
    pub version: u8,
    pub flags: u8,
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
}

#[repr(C)]
pub struct sonde_header {
    pub name: *const c_char,
    pub name_len: usize,
    pub value: *const c_char,
    pub value_len: usize,
}

#[repr(C)]
pub struct sonde_otlp_options {
    pub size: usize,
    pub endpoint: *const c_char,
    pub headers: *const sonde_header,
    pub nheaders: usize,
    pub timeout_ms: c_int,
    pub protocol: c_int,
    pub compression: c_int,
    pub schedule_delay_ms: c_int,
    pub export_timeout_ms: c_int,
    pub max_queue_size: c_int,
    pub max_export_batch_size: c_int,
    pub retry_initial_ms: c_int,
    pub retry_max_ms: c_int,
    pub logs_endpoint: *const c_char,
}

#[repr(C)]
#[derive(Default)]
pub struct sonde_otlp_stats {
    pub size: usize,
    pub spans_ended: u64,
    pub spans_exported: u64,
    pub dropped_queue_full: u64,
    pub dropped_rejected: u64,
    pub dropped_failed: u64,
    pub dropped_shutdown: u64,
    pub dropped_oom: u64,
    pub export_requests: u64,
    pub export_failures: u64,
    pub queue_length: u64,
    pub export_duration_ns: u64,
    pub export_thread_cpu_ns: u64,
    pub dropped_partial: u64,
    pub logs_handed: u64,
    pub logs_exported: u64,
    pub logs_dropped_queue_full: u64,
    pub logs_dropped_rejected: u64,
    pub logs_dropped_failed: u64,
    pub logs_dropped_shutdown: u64,
    pub logs_dropped_oom: u64,
    pub logs_dropped_partial: u64,
    pub logs_queue_length: u64,
    pub logs_export_requests: u64,
    pub logs_export_failures: u64,
    pub logs_export_duration_ns: u64,
}

#[repr(C)]
pub struct sonde_push_opts {
    pub size: usize,
    pub job: *const c_char,
    pub grouping: *const *const c_char,
    pub ngrouping: usize,
    pub headers: *const sonde_header,
    pub nheaders: usize,
    pub timeout_ms: u32,
    pub format: c_int,
}

#[repr(C)]
pub struct sonde_http_server_opts {
    pub size: usize,
    pub registry: *mut sonde_registry,
    pub requests_name: *const c_char,
    pub duration_name: *const c_char,
    pub in_flight_name: *const c_char,
    pub request_size_name: *const c_char,
    pub response_size_name: *const c_char,
    pub method_label: *const c_char,
    pub route_label: *const c_char,
    pub status_label: *const c_char,
    pub const_labels: *const *const c_char,
    pub nconst: usize,
    pub duration_buckets: *const c_double,
    pub duration_bucket_count: usize,
    pub native: c_int,
    pub native_bucket_factor: c_double,
    pub max_children: usize,
    pub access_log: *mut sonde_logger,
    pub flags: c_uint,
}

#[repr(C)]
pub struct sonde_http_request_info {
    pub size: usize,
    pub method: *const c_char,
    pub method_len: usize,
    pub route: *const c_char,
    pub path: *const c_char,
    pub path_len: usize,
    pub headers: *const sonde_header,
    pub nheaders: usize,
    pub request_bytes: i64,
    pub carrier: *mut c_void,
}

#[repr(C)]
pub struct sonde_http_request {
    pub server: *mut sonde_http_server,
    pub t0_mono_ns: i64,
    pub request_bytes: i64,
    pub method: *const c_char,
    pub carrier: *mut c_void,
    pub magic: u32,
    pub traced: u8,
    pub route_len: u8,
    pub route: [c_char; 129],
    pub span_name: [c_char; 137],
    pub path: [c_char; 257],
    pub request_id: [c_char; 65],
    pub span: sonde_span,
}

#[repr(C)]
pub struct sonde_exporter_opts {
    pub size: usize,
    pub address: *const c_char,
    pub registry: *mut sonde_registry,
    pub health: *mut sonde_health,
    pub max_connections: u32,
    pub max_request_bytes: u32,
    pub request_timeout_ms: u32,
    pub write_timeout_ms: u32,
    pub metrics_path: *const c_char,
}

#[repr(C)]
pub struct sonde_expose_result {
    pub format: c_int,
    pub content_type: *const c_char,
    pub content_encoding: *const c_char,
}

#[repr(C)]
pub struct sonde_log_sink_opts {
    pub size: usize,
    pub format: c_int,
    pub level: c_int,
    pub name: *const c_char,
    pub max_bytes: u64,
    pub max_files: c_uint,
    pub format_env: *const c_char,
    pub time_key: *const c_char,
    pub level_key: *const c_char,
    pub message_key: *const c_char,
    pub level_upper: c_int,
    pub color: c_int,
}

#[repr(C)]
pub struct sonde_log_opts {
    pub size: usize,
    pub service: *const c_char,
    pub level: c_int,
    pub level_env: *const c_char,
    pub overflow: c_int,
    pub redact_keys: *const *const c_char,
    pub redact_count: usize,
    pub sinks: *const *mut sonde_log_sink,
    pub sink_count: usize,
    pub flight_recorder: c_int,
    pub flight_level: c_int,
    pub flight_trigger: c_int,
    pub flight_scope: c_int,
    pub sample_first: c_uint,
    pub sample_thereafter: c_uint,
    pub sample_interval_ms: c_uint,
    pub sample_errors: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union sonde_log_union {
    pub i: i64,
    pub u: u64,
    pub d: c_double,
    pub s: *const c_char,
}

#[repr(C)]
pub struct sonde_log_field {
    pub key: *const c_char,
    pub type_: c_int,
    pub v: sonde_log_union,
    pub len: usize,
}

#[repr(C)]
pub struct sonde_log_site {
    pub message: *const c_char,
    pub file: *const c_char,
    pub keys: *const *const c_char,
    pub types: *const u8,
    pub line: c_int,
    pub level: u8,
    pub nfields: u8,
    pub flags: u8,
    pub state: *mut c_void,
}

pub const SONDE_LOG_SCOPE_FIELDS: usize = 8;
pub const SONDE_LOG_SCOPE_INLINE: usize = 192;

/// Caller-owned storage of a log scope; its fields are C's to write.
#[repr(C)]
pub struct sonde_log_scope {
    pub priv_up: *mut sonde_log_scope,
    pub priv_owner: *const c_void,
    pub priv_magic: u32,
    pub priv_n: u32,
    pub priv_total_n: u32,
    pub priv_total_bytes: u32,
    pub priv_depth: u32,
    pub priv_bytes: u32,
    pub priv_klen: [u32; SONDE_LOG_SCOPE_FIELDS],
    pub priv_slots: [u64; 2 * SONDE_LOG_SCOPE_FIELDS],
    pub priv_f: [sonde_log_field; SONDE_LOG_SCOPE_FIELDS],
    pub priv_text: [c_char; SONDE_LOG_SCOPE_INLINE],
}

#[repr(C)]
pub struct sonde_log_value {
    pub v: sonde_log_union,
    pub len: usize,
}

pub const LOG_T_STR: u8 = 1;
pub const LOG_T_I64: u8 = 2;
pub const LOG_T_U64: u8 = 3;
pub const LOG_T_F64: u8 = 4;
pub const LOG_T_BOOL: u8 = 5;
pub const LOG_T_TREE: u8 = 6;

#[repr(C)]
pub struct sonde_log_tree {
    pub buf: *mut u8,
    pub cap: usize,
    pub len: usize,
    pub status: c_int,
    pub depth: c_uint,
    pub nkeys: c_uint,
    pub key_due: bool,
    pub done: bool,
    pub open: [usize; 8],
}

pub type sonde_health_fn = unsafe extern "C" fn(user: *mut c_void, msg: *mut c_char, cap: usize) -> c_int;
pub type sonde_health_release_fn = unsafe extern "C" fn(user: *mut c_void);

#[repr(C)]
pub struct sonde_health_opts {
    pub size: usize,
    pub registry: *mut sonde_registry,
    pub version: *const c_char,
    pub flags: c_uint,
    pub free_wait_ms: u32,
}

#[repr(C)]
pub struct sonde_health_check_opts {
    pub size: usize,
    pub name: *const c_char,
    pub fn_: Option<sonde_health_fn>,
    pub user: *mut c_void,
    pub probes: c_uint,
    pub timeout_ms: u32,
    pub cache_ms: u32,
    pub release: Option<sonde_health_release_fn>,
}

extern "C" {
    pub fn sonde_version() -> *const c_char;
    pub fn sonde_version_hex() -> c_uint;
    pub fn sonde_strerror(status: c_int) -> *const c_char;
    pub fn sonde_status_name(status: c_int) -> *const c_char;
    pub fn sonde_last_error() -> *const c_char;
    pub fn sonde_last_status() -> c_int;
    pub fn sonde_instance_check() -> c_int;
    pub fn sonde_buf_destroy(b: *mut sonde_buf);

    pub fn sonde_registry_new() -> *mut sonde_registry;
    pub fn sonde_registry_free(r: *mut sonde_registry);
    pub fn sonde_registry_unregister(r: *mut sonde_registry, f: *mut sonde_family) -> c_int;
    pub fn sonde_metric_opts_init(o: *mut sonde_metric_opts, t: c_int, name: *const c_char, help: *const c_char);
    pub fn sonde_family_new(r: *mut sonde_registry, o: *const sonde_metric_opts) -> *mut sonde_family;
    pub fn sonde_family_remove(f: *mut sonde_family, n: usize, v: *const *const c_char, lens: *const usize) -> c_int;
    pub fn sonde_family_clear(f: *mut sonde_family);
    pub fn sonde_family_size(f: *const sonde_family) -> usize;
    pub fn sonde_counter_labels(f: *mut sonde_family, n: usize, v: *const *const c_char, lens: *const usize) -> *mut sonde_counter;
    pub fn sonde_gauge_labels(f: *mut sonde_family, n: usize, v: *const *const c_char, lens: *const usize) -> *mut sonde_gauge;
    pub fn sonde_histogram_labels(f: *mut sonde_family, n: usize, v: *const *const c_char, lens: *const usize) -> *mut sonde_histogram;
    pub fn sonde_summary_labels(f: *mut sonde_family, n: usize, v: *const *const c_char, lens: *const usize) -> *mut sonde_summary;

    pub fn sonde_counter_inc(c: *mut sonde_counter);
    pub fn sonde_counter_add(c: *mut sonde_counter, v: c_double);
    pub fn sonde_counter_add_u64(c: *mut sonde_counter, v: u64);
    pub fn sonde_counter_value(c: *const sonde_counter) -> c_double;
    pub fn sonde_gauge_set(g: *mut sonde_gauge, v: c_double);
    pub fn sonde_gauge_add(g: *mut sonde_gauge, v: c_double);
    pub fn sonde_gauge_sub(g: *mut sonde_gauge, v: c_double);
    pub fn sonde_gauge_inc(g: *mut sonde_gauge);
    pub fn sonde_gauge_dec(g: *mut sonde_gauge);
    pub fn sonde_gauge_value(g: *const sonde_gauge) -> c_double;
    pub fn sonde_histogram_observe(h: *mut sonde_histogram, v: c_double);
    pub fn sonde_histogram_count(h: *const sonde_histogram) -> u64;
    pub fn sonde_histogram_sum(h: *const sonde_histogram) -> c_double;
    pub fn sonde_histogram_bucket(h: *const sonde_histogram, i: usize) -> u64;
    pub fn sonde_summary_observe(s: *mut sonde_summary, v: c_double);
    pub fn sonde_summary_count(s: *const sonde_summary) -> u64;
    pub fn sonde_summary_sum(s: *const sonde_summary) -> c_double;
    pub fn sonde_summary_quantile(s: *const sonde_summary, q: c_double) -> c_double;

    pub fn sonde_format_content_type(fmt: c_int) -> *const c_char;
    pub fn sonde_expose(r: *mut sonde_registry, fmt: c_int, out: *mut sonde_buf) -> c_int;
    pub fn sonde_expose_negotiate(accept: *const c_char, len: usize, fmt: *mut c_int, ct: *mut *const c_char) -> c_int;
    pub fn sonde_http_server_opts_init(o: *mut sonde_http_server_opts);
    pub fn sonde_http_server_new(o: *const sonde_http_server_opts) -> *mut sonde_http_server;
    pub fn sonde_http_server_free(s: *mut sonde_http_server);
    pub fn sonde_http_request_info_init(i: *mut sonde_http_request_info, method: *const c_char, route: *const c_char);
    pub fn sonde_http_request_begin(s: *mut sonde_http_server, r: *mut sonde_http_request, i: *const sonde_http_request_info) -> c_int;
    pub fn sonde_http_request_end(r: *mut sonde_http_request, status: c_int, bytes: i64) -> c_int;
    pub fn sonde_http_request_id(r: *const sonde_http_request) -> *const c_char;
    pub fn sonde_exporter_start(o: *const sonde_exporter_opts) -> *mut sonde_exporter;
    pub fn sonde_exporter_port(e: *const sonde_exporter) -> u16;
    pub fn sonde_exporter_stop(e: *mut sonde_exporter) -> c_int;
    pub fn sonde_push(url: *const c_char, method: c_int, r: *mut sonde_registry, o: *const sonde_push_opts) -> c_int;
    pub fn sonde_expose_http(r: *mut sonde_registry, accept: *const c_char, accept_encoding: *const c_char, body: *mut sonde_buf, res: *mut sonde_expose_result) -> c_int;

    pub fn sonde_span_context_valid(c: *const sonde_span_context) -> bool;
    pub fn sonde_context_current() -> *const sonde_span_context;
    pub fn sonde_context_attach(scope: *mut sonde_context_scope, ctx: *const sonde_span_context);
    pub fn sonde_context_detach(scope: *mut sonde_context_scope) -> c_int;
    pub fn sonde_traceparent_parse(s: *const c_char, len: usize, out: *mut sonde_traceparent) -> c_int;
    pub fn sonde_traceparent_format(tp: *const sonde_traceparent, out: *mut c_char, cap: usize) -> usize;
    pub fn sonde_span_context_format_traceparent(c: *const sonde_span_context, out: *mut c_char, cap: usize) -> usize;
    pub fn sonde_tracestate_new() -> *mut sonde_tracestate;
    pub fn sonde_tracestate_free(t: *mut sonde_tracestate);
    pub fn sonde_tracestate_parse(t: *mut sonde_tracestate, s: *const c_char, len: usize) -> c_int;
    pub fn sonde_tracestate_set(t: *mut sonde_tracestate, k: *const c_char, kl: usize, v: *const c_char, vl: usize) -> c_int;
    pub fn sonde_tracestate_remove(t: *mut sonde_tracestate, k: *const c_char, kl: usize) -> c_int;
    pub fn sonde_tracestate_get(t: *const sonde_tracestate, k: *const c_char, kl: usize, v: *mut *const c_char, vl: *mut usize) -> bool;
    pub fn sonde_tracestate_count(t: *const sonde_tracestate) -> usize;
    pub fn sonde_tracestate_format(t: *const sonde_tracestate, limit: usize, out: *mut c_char, cap: usize) -> usize;
    pub fn sonde_baggage_new() -> *mut sonde_baggage;
    pub fn sonde_baggage_free(b: *mut sonde_baggage);
    pub fn sonde_baggage_parse(b: *mut sonde_baggage, s: *const c_char, len: usize) -> c_int;
    pub fn sonde_baggage_set(b: *mut sonde_baggage, k: *const c_char, kl: usize, v: *const c_char, vl: usize, p: *const c_char, pl: usize) -> c_int;
    pub fn sonde_baggage_remove(b: *mut sonde_baggage, k: *const c_char, kl: usize) -> c_int;
    pub fn sonde_baggage_get(b: *const sonde_baggage, k: *const c_char, kl: usize, v: *mut *const c_char, vl: *mut usize) -> bool;
    pub fn sonde_baggage_count(b: *const sonde_baggage) -> usize;
    pub fn sonde_baggage_format(b: *const sonde_baggage, out: *mut sonde_buf) -> c_int;
    pub fn sonde_span_start(s: *mut sonde_span, name: *const c_char);
    pub fn sonde_span_start_child_of(s: *mut sonde_span, name: *const c_char, parent: *const sonde_span_context);
    pub fn sonde_span_end(s: *mut sonde_span);
    pub fn sonde_span_set_str(s: *mut sonde_span, k: *const c_char, v: *const c_char);
    pub fn sonde_span_set_int(s: *mut sonde_span, k: *const c_char, v: i64);
    pub fn sonde_span_set_double(s: *mut sonde_span, k: *const c_char, v: c_double);
    pub fn sonde_span_set_bool(s: *mut sonde_span, k: *const c_char, v: bool);
    pub fn sonde_span_set_error(s: *mut sonde_span, msg: *const c_char);
    pub fn sonde_span_set_status(s: *mut sonde_span, status: c_int, msg: *const c_char);
    pub fn sonde_span_get_context(s: *const sonde_span) -> *const sonde_span_context;
    pub fn sonde_span_set_kind(s: *mut sonde_span, kind: c_int);
    pub fn sonde_span_set_str_array(s: *mut sonde_span, k: *const c_char, v: *const *const c_char, n: usize);
    pub fn sonde_span_set_int_array(s: *mut sonde_span, k: *const c_char, v: *const i64, n: usize);
    pub fn sonde_span_set_double_array(s: *mut sonde_span, k: *const c_char, v: *const c_double, n: usize);
    pub fn sonde_span_set_bool_array(s: *mut sonde_span, k: *const c_char, v: *const bool, n: usize);
    pub fn sonde_span_add_event_at(s: *mut sonde_span, name: *const c_char, unix_ns: i64, attrs: *const sonde_span_attr, n: usize);
    pub fn sonde_span_record_exception(s: *mut sonde_span, ty: *const c_char, msg: *const c_char, stack: *const c_char);
    pub fn sonde_span_add_link(s: *mut sonde_span, ctx: *const sonde_span_context, attrs: *const sonde_span_attr, n: usize);
    pub fn sonde_span_is_recording(s: *const sonde_span) -> bool;
    pub fn sonde_span_get_attrs(s: *const sonde_span, out: *mut *const sonde_span_attr) -> usize;
    pub fn sonde_span_get_events(s: *const sonde_span, out: *mut *const sonde_span_event) -> usize;
    pub fn sonde_span_get_links(s: *const sonde_span, out: *mut *const sonde_span_link) -> usize;

    pub fn sonde_log_level_parse(s: *const c_char, len: usize, out: *mut c_int) -> c_int;
    pub fn sonde_log_sink_opts_init(o: *mut sonde_log_sink_opts);
    pub fn sonde_log_sink_stdout(o: *const sonde_log_sink_opts) -> *mut sonde_log_sink;
    pub fn sonde_otlp_log_sink(o: *const sonde_log_sink_opts) -> *mut sonde_log_sink;
    pub fn sonde_log_sink_stderr(o: *const sonde_log_sink_opts) -> *mut sonde_log_sink;
    pub fn sonde_log_sink_file(path: *const c_char, o: *const sonde_log_sink_opts) -> *mut sonde_log_sink;
    pub fn sonde_log_sink_free(s: *mut sonde_log_sink);
    pub fn sonde_log_opts_init(o: *mut sonde_log_opts, service: *const c_char);
    pub fn sonde_logger_new(o: *const sonde_log_opts) -> *mut sonde_logger;
    pub fn sonde_logger_child(p: *const sonde_logger, f: *const sonde_log_field, n: usize) -> *mut sonde_logger;
    pub fn sonde_logger_free(l: *mut sonde_logger);
    pub fn sonde_logger_set_level(l: *mut sonde_logger, level: c_int);
    pub fn sonde_logger_level(l: *const sonde_logger) -> c_int;
    pub fn sonde_logger_min_level(l: *const sonde_logger) -> c_int;
    pub fn sonde_log_crash_flush_enable() -> c_int;
    pub fn sonde_log_crash_flush_disable() -> c_int;
    pub fn sonde_log_flush() -> c_int;
    pub fn sonde_log_shutdown() -> c_int;
    pub fn sonde__log_emit(l: *mut sonde_logger, site: *const sonde_log_site, vals: *const sonde_log_value);
    pub fn sonde_log_write(l: *mut sonde_logger, level: c_int, msg: *const c_char, msg_len: usize, f: *const sonde_log_field, n: usize) -> c_int;
    pub fn sonde_log_tree_init(t: *mut sonde_log_tree, mem: *mut c_void, cap: usize);
    pub fn sonde_log_tree_error(
        t: *mut sonde_log_tree, ty: *const c_char, ty_len: usize, msg: *const c_char, msg_len: usize, stack: *const c_char,
        stack_len: usize,
    ) -> c_int;
    pub fn sonde_log_scope_push(s: *mut sonde_log_scope, f: *const sonde_log_field, n: usize) -> c_int;
    pub fn sonde_log_scope_pop(s: *mut sonde_log_scope) -> c_int;
    pub fn sonde_log_scope_fields() -> usize;
    pub fn sonde_log_sampled_total(level: c_int) -> u64;

    pub fn sonde_health_opts_init(o: *mut sonde_health_opts);
    pub fn sonde_health_new(o: *const sonde_health_opts) -> *mut sonde_health;
    pub fn sonde_health_free(h: *mut sonde_health);
    pub fn sonde_health_check_opts_init(o: *mut sonde_health_check_opts, name: *const c_char, f: Option<sonde_health_fn>, user: *mut c_void);
    pub fn sonde_health_add_check(h: *mut sonde_health, o: *const sonde_health_check_opts) -> c_int;
    pub fn sonde_health_check_count(h: *const sonde_health) -> usize;
    pub fn sonde_health_evaluate(h: *mut sonde_health, probe: c_int, body: *mut sonde_buf, status: *mut c_int) -> c_int;

    pub fn sonde_otlp_start(o: *const sonde_otlp_options) -> c_int;
    pub fn sonde_otlp_running() -> bool;
    pub fn sonde_otlp_flush(timeout_ms: c_int) -> c_int;
    pub fn sonde_otlp_shutdown(timeout_ms: c_int) -> c_int;
    pub fn sonde_otlp_get_stats(out: *mut sonde_otlp_stats);
    pub fn sonde_resource_set_str(key: *const c_char, value: *const c_char) -> c_int;
    pub fn sonde_resource_set_int(key: *const c_char, value: i64) -> c_int;
    pub fn sonde_resource_set_service(name: *const c_char, version: *const c_char, env: *const c_char) -> c_int;
    pub fn sonde_resource_get(key: *const c_char, out: *mut c_char, cap: usize) -> c_int;
    pub fn sonde_trace_set_scope(name: *const c_char, version: *const c_char) -> c_int;
    pub fn sonde_trace_get_scope(name: *mut c_char, name_cap: usize, version: *mut c_char, version_cap: usize);
}
