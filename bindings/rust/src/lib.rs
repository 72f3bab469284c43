//! Rust binding of libsonde: metrics, exposition, the structured logger and
//! W3C trace context, shared with the C/C++ (and Python, Go) parts of the
//! same process. A thin layer: every value lives in libsonde.
//!
//! ```no_run
//! let reqs = sonde::CounterVec::new(None, "app_requests_total", "Requests.", &["method"]).unwrap();
//! reqs.with_label_values(&["GET"]).unwrap().inc();
//! let lat = sonde::Histogram::new(None, "app_latency_seconds", "Latency.", None).unwrap();
//! {
//!     let _t = lat.start_timer();            // observes on drop
//!     let _span = sonde::Span::start("work"); // current context until dropped
//! }
//! print!("{}", String::from_utf8_lossy(&sonde::Registry::default_registry().expose(sonde::Format::Text).unwrap()));
//! ```
//!
//! Thread safety: metric handles, registries and loggers are `Send + Sync`
//! (the C side is thread-safe for them). Spans and context guards are
//! neither: sonde's current context is per thread, so a guard must be
//! dropped on the thread that made it.

mod sys;

use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int};
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

// ---- errors ---------------------------------------------------------------------------

/// A failed sonde call: the C status, its symbol and the thread's
/// last-error message (what was wrong, with which name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub name: String,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.name)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Status codes (include/sonde/common.h), for matching on `Error::code`.
pub mod status {
    pub const EINVAL: i32 = -1;
    pub const ENOMEM: i32 = -2;
    pub const EEXIST: i32 = -3;
    pub const ENOENT: i32 = -4;
    pub const ELIMIT: i32 = -5;
    pub const ETYPE: i32 = -6;
    pub const EIO: i32 = -8;
    pub const ESTATE: i32 = -9;
    pub const ETIMEDOUT: i32 = -10;
}

fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Error {
    fn new(code: i32, message: impl Into<String>) -> Error {
        Error { code, name: cstr(unsafe { sys::sonde_status_name(code) }), message: message.into() }
    }
    /// The error of the sonde call that just failed on this thread.
    fn last(status: c_int) -> Error {
        let mut code = status;
        if code == 0 {
            code = unsafe { sys::sonde_last_status() };
        }
        if code == 0 {
            code = status::EINVAL;
        }
        let mut msg = cstr(unsafe { sys::sonde_last_error() });
        if msg.is_empty() {
            msg = cstr(unsafe { sys::sonde_strerror(code) });
        }
        Error::new(code, msg)
    }
}

fn check(st: c_int) -> Result<()> {
    if st < 0 {
        Err(Error::last(st))
    } else {
        Ok(())
    }
}

fn nonnull<T>(p: *mut T) -> Result<*mut T> {
    if p.is_null() {
        Err(Error::last(0))
    } else {
        Ok(p)
    }
}

/// A C string from Rust text; an interior NUL is an InvalidArgument error.
fn c(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(status::EINVAL, format!("{what} {s:?} contains a NUL byte")))
}

/// The version of the linked libsonde.
pub fn version() -> String {
    cstr(unsafe { sys::sonde_version() })
}

/// `Ok(())` when the libsonde this crate uses found no other copy of
/// libsonde loaded in the process when it initialized; otherwise an
/// `ESTATE` error naming the objects that hold both copies. Each copy has
/// its own registry, so one copy's series never reach the other's
/// exposition. The crate links the shared libsonde.so by default for that
/// reason (the `static` feature links libsonde.a). Issue 13.17.
pub fn instance_check() -> Result<()> {
    check(unsafe { sys::sonde_instance_check() })
}

// ---- registries -------------------------------------------------------------------------

struct RegInner {
    p: *mut sys::sonde_registry,
}

impl Drop for RegInner {
    fn drop(&mut self) {
        unsafe { sys::sonde_registry_free(self.p) } // NULL (default) is a no-op
    }
}

// The C registry is thread-safe (see include/sonde/metrics.h).
unsafe impl Send for RegInner {}
unsafe impl Sync for RegInner {}

/// A registry. Every metric handle keeps its registry alive, so a
/// registry is freed when the last `Registry` clone and handle are gone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RegInner>,
}

impl Registry {
    /// A new, empty registry.
    pub fn new() -> Result<Registry> {
        let p = nonnull(unsafe { sys::sonde_registry_new() })?;
        Ok(Registry { inner: Arc::new(RegInner { p }) })
    }

    /// The process-wide default registry (NULL on the C side).
    pub fn default_registry() -> Registry {
        Registry { inner: Arc::new(RegInner { p: ptr::null_mut() }) }
    }

    /// The C pointer (null for the default registry), for C code.
    pub fn as_ptr(&self) -> *mut std::ffi::c_void {
        self.inner.p as *mut _
    }

    /// Renders every family.
    pub fn expose(&self, fmt: Format) -> Result<Vec<u8>> {
        let mut b = sys::sonde_buf { data: ptr::null_mut(), len: 0, cap: 0, oom: 0 };
        let st = unsafe { sys::sonde_expose(self.inner.p, fmt as c_int, &mut b) };
        let out = take_buf(&mut b);
        check(st).map(|_| out)
    }

    /// For a /metrics handler: (body, content type, content encoding).
    pub fn expose_http(&self, accept: Option<&str>, accept_encoding: Option<&str>) -> Result<(Vec<u8>, &'static str, Option<&'static str>)> {
        let a = accept.map(|s| c(s, "accept")).transpose()?;
        let e = accept_encoding.map(|s| c(s, "accept-encoding")).transpose()?;
        let mut b = sys::sonde_buf { data: ptr::null_mut(), len: 0, cap: 0, oom: 0 };
        let mut res = sys::sonde_expose_result { format: 0, content_type: ptr::null(), content_encoding: ptr::null() };
        let st = unsafe {
            sys::sonde_expose_http(self.inner.p, a.as_ref().map_or(ptr::null(), |x| x.as_ptr()),
                e.as_ref().map_or(ptr::null(), |x| x.as_ptr()), &mut b, &mut res)
        };
        let body = take_buf(&mut b);
        check(st)?;
        Ok((body, static_str(res.content_type), if res.content_encoding.is_null() { None } else { Some(static_str(res.content_encoding)) }))
    }

    /// Removes a family from the exposition (its handles stay safe).
    pub fn unregister(&self, f: &impl AsFamily) -> Result<()> {
        check(unsafe { sys::sonde_registry_unregister(self.inner.p, f.family_ptr()) })
    }
}

// ---- RED for an HTTP server ----------------------------------------------------------------

/// Options of `HttpMetrics` (sonde_http_server_opts): None = sonde's
/// default name (http_requests_total, http_request_duration_seconds,
/// http_requests_in_flight; labels method, route, status); the size
/// histograms are off unless named.
#[derive(Default)]
pub struct HttpMetricsOpts<'a> {
    pub registry: Option<&'a Registry>,
    pub requests_name: Option<&'a str>,
    pub duration_name: Option<&'a str>,
    pub request_size_name: Option<&'a str>,
    pub response_size_name: Option<&'a str>,
    pub method_label: Option<&'a str>,
    pub route_label: Option<&'a str>,
    pub status_label: Option<&'a str>,
    pub const_labels: &'a [(&'a str, &'a str)],
    pub access_log: Option<&'a Logger>,
}

/// RED for an HTTP server in one call pair over libsonde's request
/// instrumentation: `request()` continues the caller's trace in a SERVER
/// span, keeps or makes the request id and counts the request in flight;
/// `HttpRequest::end` (or dropping it: a 500) counts http_requests_total,
/// observes http_request_duration_seconds (with exemplars) and writes the
/// access-log record.
pub struct HttpMetrics {
    p: *mut sys::sonde_http_server,
    _registry: Option<Registry>,
}

unsafe impl Send for HttpMetrics {}
unsafe impl Sync for HttpMetrics {}

impl HttpMetrics {
    pub fn new(o: &HttpMetricsOpts) -> Result<HttpMetrics> {
        let opt = |v: Option<&str>, w: &str| v.map(|x| c(x, w)).transpose();
        let names = [
            opt(o.requests_name, "requests_name")?,
            opt(o.duration_name, "duration_name")?,
            opt(o.request_size_name, "request_size_name")?,
            opt(o.response_size_name, "response_size_name")?,
            opt(o.method_label, "method_label")?,
            opt(o.route_label, "route_label")?,
            opt(o.status_label, "status_label")?,
        ];
        let p = |i: usize| names[i].as_ref().map_or(ptr::null(), |x| x.as_ptr());
        let mut consts = Vec::new();
        for (k, v) in o.const_labels {
            consts.push(c(k, "constant label")?);
            consts.push(c(v, "constant label value")?);
        }
        let cp: Vec<*const c_char> = consts.iter().map(|x| x.as_ptr()).collect();
        let mut co: sys::sonde_http_server_opts = unsafe { std::mem::zeroed() };
        unsafe { sys::sonde_http_server_opts_init(&mut co) };
        co.registry = o.registry.map_or(ptr::null_mut(), |r| r.inner.p);
        co.requests_name = p(0);
        co.duration_name = p(1);
        co.request_size_name = p(2);
        co.response_size_name = p(3);
        co.method_label = p(4);
        co.route_label = p(5);
        co.status_label = p(6);
        co.const_labels = if cp.is_empty() { ptr::null() } else { cp.as_ptr() };
        co.nconst = cp.len() / 2;
        co.access_log = o.access_log.map_or(ptr::null_mut(), |l| l.p);
        let p = nonnull(unsafe { sys::sonde_http_server_new(&co) })?;
        Ok(HttpMetrics { p, _registry: o.registry.cloned() })
    }

    /// Begins a request: method, route template (None = "other"), path
    /// (url.path on the span) and the request's headers.
    pub fn request(&self, method: &str, route: Option<&str>, path: Option<&str>, headers: &[(&str, &str)]) -> Result<HttpRequest<'_>> {
        let m = c(method, "method")?;
        let r = route.map(|x| c(x, "route")).transpose()?;
        let hs: Vec<sys::sonde_header> = headers
            .iter()
            .map(|(k, v)| sys::sonde_header { name: k.as_ptr() as *const c_char, name_len: k.len(), value: v.as_ptr() as *const c_char, value_len: v.len() })
            .collect();
        let mut info: sys::sonde_http_request_info = unsafe { std::mem::zeroed() };
        unsafe { sys::sonde_http_request_info_init(&mut info, m.as_ptr(), r.as_ref().map_or(ptr::null(), |x| x.as_ptr())) };
        if let Some(p) = path {
            info.path = p.as_ptr() as *const c_char;
            info.path_len = p.len();
        }
        info.headers = if hs.is_empty() { ptr::null() } else { hs.as_ptr() };
        info.nheaders = hs.len();
        let mut rq: Box<sys::sonde_http_request> = Box::new(unsafe { std::mem::zeroed() });
        check(unsafe { sys::sonde_http_request_begin(self.p, &mut *rq, &info) })?;
        Ok(HttpRequest { rq, ended: false, _m: PhantomData, _not_send: PhantomData })
    }
}

impl Drop for HttpMetrics {
    fn drop(&mut self) {
        unsafe { sys::sonde_http_server_free(self.p) }
    }
}

/// One request between begin and end (not Send: it ends on its thread).
pub struct HttpRequest<'m> {
    rq: Box<sys::sonde_http_request>, // the span is attached: must not move
    ended: bool,
    _m: PhantomData<&'m HttpMetrics>,
    _not_send: PhantomData<*const ()>,
}

impl HttpRequest<'_> {
    /// The request id: the caller's x-request-id / x-correlation-id, or a
    /// fresh UUID v4.
    pub fn id(&self) -> String {
        cstr(unsafe { sys::sonde_http_request_id(&*self.rq) })
    }
    /// Counts, observes, logs and ends the span (bytes None: unknown).
    pub fn end(mut self, status: u16, response_bytes: Option<u64>) -> Result<()> {
        self.ended = true;
        check(unsafe { sys::sonde_http_request_end(&mut *self.rq, status as c_int, response_bytes.map_or(-1, |b| b as i64)) })
    }
}

impl Drop for HttpRequest<'_> {
    fn drop(&mut self) {
        if !self.ended {
            // dropped without end (an early return, a panic): a 500
            unsafe { sys::sonde_http_request_end(&mut *self.rq, 500, -1) };
        }
    }
}

// ---- the embedded exporter ---------------------------------------------------------------

/// libsonde's embedded `/metrics` server (`sonde_exporter`): one background
/// thread serving the registry (negotiated format, gzip) and, with a
/// `Health`, `/healthz`, `/readyz` and `/startupz`; bounded request size and
/// time, a fixed number of connections. Stopped when dropped.
///
/// ```no_run
/// let e = sonde::Exporter::start("127.0.0.1:9464", None, None).unwrap();
/// println!("serving on port {}", e.port());
/// ```
pub struct Exporter<'h> {
    p: *mut sys::sonde_exporter,
    _registry: Option<Registry>,
    _health: std::marker::PhantomData<&'h Health>,
}

// The exporter's thread is libsonde's; the handle only stops it.
unsafe impl Send for Exporter<'_> {}
unsafe impl Sync for Exporter<'_> {}

impl<'h> Exporter<'h> {
    /// Starts serving on `address` (`"HOST:PORT"`, `"[IPV6]:PORT"`,
    /// `":PORT"`; port 0 picks one) the registry (None: the default one)
    /// and the health probes when given.
    pub fn start(address: &str, registry: Option<&Registry>, health: Option<&'h Health>) -> Result<Exporter<'h>> {
        let a = c(address, "address")?;
        let o = sys::sonde_exporter_opts {
            size: std::mem::size_of::<sys::sonde_exporter_opts>(),
            address: a.as_ptr(),
            registry: registry.map_or(ptr::null_mut(), |r| r.inner.p),
            health: health.map_or(ptr::null_mut(), |h| h.p),
            max_connections: 0,
            max_request_bytes: 0,
            request_timeout_ms: 0,
            write_timeout_ms: 0,
            metrics_path: ptr::null(),
        };
        let p = nonnull(unsafe { sys::sonde_exporter_start(&o) })?;
        Ok(Exporter { p, _registry: registry.cloned(), _health: std::marker::PhantomData })
    }
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        unsafe { sys::sonde_exporter_port(self.p) }
    }
}

impl Drop for Exporter<'_> {
    fn drop(&mut self) {
        unsafe { sys::sonde_exporter_stop(self.p) };
    }
}

// ---- Pushgateway -------------------------------------------------------------------------

/// Pushes a registry to a Prometheus Pushgateway, shaped like
/// client_golang's `push.Pusher` (through `sonde_push`, libsonde's own HTTP
/// client):
///
/// ```no_run
/// let reg = sonde::Registry::new().unwrap();
/// sonde::Pusher::new("http://127.0.0.1:9091", "nightly")
///     .grouping("instance", "host-1")
///     .registry(&reg)
///     .push()
///     .unwrap();
/// ```
///
/// `push` replaces the group (PUT), `add` replaces only the metrics of the
/// names pushed (POST), `delete` removes the group. Each call opens one
/// connection and is bounded by the timeout (default 10 s) for connecting,
/// sending and the answer. Job and grouping values may be any UTF-8, empty
/// too. Errors carry sonde's message: `EINVAL` for bad arguments and for
/// the gateway's 400, `EIO` for a failed connection or another status.
#[derive(Clone)]
pub struct Pusher {
    url: String,
    job: String,
    grouping: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    registry: Option<Registry>,
    timeout_ms: u32,
    format: Format,
}

impl Pusher {
    /// A pusher of the default registry to the gateway at `url`
    /// (`http://host[:port][/prefix]`) for `job`.
    pub fn new(url: &str, job: &str) -> Pusher {
        Pusher { url: url.into(), job: job.into(), grouping: Vec::new(), headers: Vec::new(), registry: None, timeout_ms: 0, format: Format::Text }
    }
    /// Adds a grouping label (not `job`; each name once).
    pub fn grouping(mut self, name: &str, value: &str) -> Pusher {
        self.grouping.push((name.into(), value.into()));
        self
    }
    /// The registry to push (default: the default registry).
    pub fn registry(mut self, r: &Registry) -> Pusher {
        self.registry = Some(r.clone());
        self
    }
    /// Adds a request header (`Authorization`, ...).
    pub fn header(mut self, name: &str, value: &str) -> Pusher {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Bounds connecting, sending and the answer, each (zero: 10 s; over
    /// 600 s is refused).
    pub fn timeout(mut self, d: std::time::Duration) -> Pusher {
        let ms = d.as_millis();
        self.timeout_ms = if ms == 0 && !d.is_zero() { 1 } else { ms.min(600_001) as u32 };
        self
    }
    /// `Format::Text` (the default) or `Format::Protobuf` (which carries
    /// native histogram buckets).
    pub fn format(mut self, f: Format) -> Pusher {
        self.format = f;
        self
    }
    /// PUT: the group's metrics become the registry's.
    pub fn push(&self) -> Result<()> {
        self.send(0)
    }
    /// POST: the group's metrics of the names pushed are replaced.
    pub fn add(&self) -> Result<()> {
        self.send(1)
    }
    /// DELETE: the group is removed.
    pub fn delete(&self) -> Result<()> {
        self.send(2)
    }

    fn send(&self, method: c_int) -> Result<()> {
        let url = c(&self.url, "gateway url")?;
        let job = c(&self.job, "job")?;
        let mut owned = Vec::with_capacity(2 * self.grouping.len());
        for (k, v) in &self.grouping {
            owned.push(c(k, "grouping label name")?);
            owned.push(c(v, "grouping label value")?);
        }
        let ptrs: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
        let hs: Vec<sys::sonde_header> = self
            .headers
            .iter()
            .map(|(k, v)| sys::sonde_header { name: k.as_ptr() as *const c_char, name_len: k.len(), value: v.as_ptr() as *const c_char, value_len: v.len() })
            .collect();
        let o = sys::sonde_push_opts {
            size: std::mem::size_of::<sys::sonde_push_opts>(),
            job: job.as_ptr(),
            grouping: if ptrs.is_empty() { ptr::null() } else { ptrs.as_ptr() },
            ngrouping: self.grouping.len(),
            headers: if hs.is_empty() { ptr::null() } else { hs.as_ptr() },
            nheaders: hs.len(),
            timeout_ms: self.timeout_ms,
            format: self.format as c_int,
        };
        let reg = self.registry.as_ref().map_or(ptr::null_mut(), |r| r.inner.p);
        check(unsafe { sys::sonde_push(url.as_ptr(), method, reg, &o) })
    }
}

fn static_str(p: *const c_char) -> &'static str {
    // sonde's content types are static ASCII strings
    if p.is_null() { "" } else { unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("") }
}

fn take_buf(b: &mut sys::sonde_buf) -> Vec<u8> {
    let v = if b.data.is_null() || b.len == 0 {
        Vec::new()
    } else {
        unsafe { std::slice::from_raw_parts(b.data as *const u8, b.len) }.to_vec()
    };
    unsafe { sys::sonde_buf_destroy(b) };
    v
}

/// Exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4
    Text = 0,
    /// OpenMetrics 1.0.0
    OpenMetrics = 1,
    /// Prometheus protobuf (length-delimited io.prometheus.client.MetricFamily):
    /// the only format with native histogram buckets; `negotiate` picks it
    /// only for a scraper that names it.
    Protobuf = 2,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        static_str(unsafe { sys::sonde_format_content_type(self as c_int) })
    }
}

/// The format and Content-Type for a scraper's Accept header (any bytes).
pub fn negotiate(accept: &[u8]) -> (Format, &'static str) {
    let mut f: c_int = 0;
    let mut ct: *const c_char = ptr::null();
    unsafe { sys::sonde_expose_negotiate(accept.as_ptr() as *const c_char, accept.len(), &mut f, &mut ct) };
    (
        match f {
            1 => Format::OpenMetrics,
            2 => Format::Protobuf,
            _ => Format::Text,
        },
        static_str(ct),
    )
}

// ---- families and children ----------------------------------------------------------------

/// Anything backed by a metric family.
pub trait AsFamily {
    fn family_ptr(&self) -> *mut sys_family::Family;
}

#[doc(hidden)]
pub mod sys_family {
    pub type Family = super::sys::sonde_family;
}

struct Fam {
    p: *mut sys::sonde_family,
    reg: Registry,
    labels: usize,
}
unsafe impl Send for Fam {}
unsafe impl Sync for Fam {}

struct Def<'a> {
    ty: c_int,
    name: &'a str,
    help: &'a str,
    labels: &'a [&'a str],
    buckets: Option<&'a [f64]>,
    quantiles: Option<&'a [f64]>,
    native: Option<&'a NativeOpts>,
}

/// Native (sparse exponential) histogram options, as client_golang's
/// NativeHistogram* options. Zero fields take sonde's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NativeOpts {
    /// Also keep the classic buckets (`buckets`, None = defaults); false:
    /// native only (no classic buckets may be given).
    pub classic: bool,
    /// > 1: each bucket at most this factor wider than the last; 0 = 1.1.
    pub bucket_factor: f64,
    /// |v| at or below it counts in the zero bucket; 0 = 2^-128, < 0 = exact zeros.
    pub zero_threshold: f64,
    /// Span of bucket indices per sign, 1..255; 0 = 160.
    pub max_buckets: u32,
    /// How far the zero bucket may widen to keep the limit; 0 = never.
    pub max_zero_threshold: f64,
    /// At the limit, reset if this many seconds passed since the last reset; 0 = never.
    pub min_reset_seconds: f64,
}

fn new_family(reg: Option<&Registry>, d: Def) -> Result<Arc<Fam>> {
    let reg = reg.cloned().unwrap_or_else(Registry::default_registry);
    let name = c(d.name, "metric name")?;
    let help = c(d.help, "help")?;
    let labels: Vec<CString> = d.labels.iter().map(|l| c(l, "label name")).collect::<Result<_>>()?;
    let lp: Vec<*const c_char> = labels.iter().map(|l| l.as_ptr()).collect();
    let mut o: sys::sonde_metric_opts = unsafe { std::mem::zeroed() };
    unsafe { sys::sonde_metric_opts_init(&mut o, d.ty, name.as_ptr(), help.as_ptr()) };
    o.label_names = if lp.is_empty() { ptr::null() } else { lp.as_ptr() };
    o.label_count = lp.len();
    let b: Vec<f64> = d.buckets.map(|b| b.iter().copied().filter(|x| *x != f64::INFINITY).collect()).unwrap_or_default();
    if d.buckets.is_some() {
        o.buckets = b.as_ptr();
        o.bucket_count = b.len();
    }
    if let Some(q) = d.quantiles {
        o.quantiles = q.as_ptr();
        o.quantile_count = q.len();
    }
    if let Some(n) = d.native {
        o.native = if n.classic { 2 } else { 1 };
        o.native_bucket_factor = n.bucket_factor;
        o.native_zero_threshold = n.zero_threshold;
        o.native_max_buckets = n.max_buckets;
        o.native_max_zero_threshold = n.max_zero_threshold;
        o.native_min_reset_seconds = n.min_reset_seconds;
    }
    let p = nonnull(unsafe { sys::sonde_family_new(reg.inner.p, &o) })?;
    Ok(Arc::new(Fam { p, reg, labels: d.labels.len() }))
}

/// Label values as byte strings with lengths; they must be valid UTF-8
/// (EINVAL otherwise, with the label and byte in the message).
fn child<T>(f: &Fam, values: &[&[u8]], get: unsafe extern "C" fn(*mut sys::sonde_family, usize, *const *const c_char, *const usize) -> *mut T) -> Result<*mut T> {
    let ptrs: Vec<*const c_char> = values.iter().map(|v| if v.is_empty() { b"\0".as_ptr() as *const c_char } else { v.as_ptr() as *const c_char }).collect();
    let lens: Vec<usize> = values.iter().map(|v| v.len()).collect();
    nonnull(unsafe { get(f.p, values.len(), if ptrs.is_empty() { ptr::null() } else { ptrs.as_ptr() }, if lens.is_empty() { ptr::null() } else { lens.as_ptr() }) })
}

macro_rules! metric {
    ($(#[$m:meta])* $name:ident, $vec:ident, $cty:ty, $labels_fn:path) => {
        $(#[$m])*
        #[derive(Clone)]
        pub struct $name {
            p: *mut $cty,
            _fam: Arc<Fam>,
        }
        // Hot-path calls on one child are thread-safe in C (per-thread
        // cells or atomics), and the handle lives as long as its registry.
        unsafe impl Send for $name {}
        unsafe impl Sync for $name {}

        /// A family with labels; children are created on first use (the C
        /// side keeps them: the same values give the same child).
        #[derive(Clone)]
        pub struct $vec {
            fam: Arc<Fam>,
        }

        impl $vec {
            /// The child for these label values, as text.
            pub fn with_label_values(&self, values: &[&str]) -> Result<$name> {
                let v: Vec<&[u8]> = values.iter().map(|s| s.as_bytes()).collect();
                self.with_label_bytes(&v)
            }
            /// The child for these label values, as bytes.
            pub fn with_label_bytes(&self, values: &[&[u8]]) -> Result<$name> {
                let p = child(&self.fam, values, $labels_fn)?;
                Ok($name { p, _fam: self.fam.clone() })
            }
            /// Removes a child; handles to it stay safe (writes discarded).
            pub fn remove(&self, values: &[&str]) -> Result<()> {
                let ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr() as *const c_char).collect();
                let lens: Vec<usize> = values.iter().map(|v| v.len()).collect();
                check(unsafe { sys::sonde_family_remove(self.fam.p, values.len(), ptrs.as_ptr(), lens.as_ptr()) })
            }
            /// Removes every child.
            pub fn clear(&self) {
                unsafe { sys::sonde_family_clear(self.fam.p) }
            }
            /// Live children.
            pub fn len(&self) -> usize {
                unsafe { sys::sonde_family_size(self.fam.p) }
            }
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
            /// The label names' count.
            pub fn label_count(&self) -> usize {
                self.fam.labels
            }
            /// The registry this family is in.
            pub fn registry(&self) -> &Registry {
                &self.fam.reg
            }
        }

        impl AsFamily for $vec {
            fn family_ptr(&self) -> *mut sys::sonde_family {
                self.fam.p
            }
        }
        impl AsFamily for $name {
            fn family_ptr(&self) -> *mut sys::sonde_family {
                self._fam.p
            }
        }
    };
}

metric!(
    /// One counter series.
    Counter, CounterVec, sys::sonde_counter, sys::sonde_counter_labels);
metric!(
    /// One gauge series.
    Gauge, GaugeVec, sys::sonde_gauge, sys::sonde_gauge_labels);
metric!(
    /// One histogram series.
    Histogram, HistogramVec, sys::sonde_histogram, sys::sonde_histogram_labels);
metric!(
    /// One summary series (quantiles over a sliding window).
    Summary, SummaryVec, sys::sonde_summary, sys::sonde_summary_labels);

fn def<'a>(ty: c_int, name: &'a str, help: &'a str, labels: &'a [&'a str]) -> Def<'a> {
    Def { ty, name, help, labels, buckets: None, quantiles: None, native: None }
}

impl Counter {
    /// A counter without labels in `reg` (None = the default registry).
    pub fn new(reg: Option<&Registry>, name: &str, help: &str) -> Result<Counter> {
        CounterVec::new(reg, name, help, &[])?.with_label_bytes(&[])
    }
    #[inline]
    pub fn inc(&self) {
        unsafe { sys::sonde_counter_inc(self.p) }
    }
    /// Adds v (negative or NaN: dropped and counted by sonde).
    #[inline]
    pub fn add(&self, v: f64) {
        unsafe { sys::sonde_counter_add(self.p, v) }
    }
    #[inline]
    pub fn add_u64(&self, v: u64) {
        unsafe { sys::sonde_counter_add_u64(self.p, v) }
    }
    /// Sums every thread's cell (not for hot paths).
    pub fn get(&self) -> f64 {
        unsafe { sys::sonde_counter_value(self.p) }
    }
}

impl CounterVec {
    pub fn new(reg: Option<&Registry>, name: &str, help: &str, labels: &[&str]) -> Result<CounterVec> {
        Ok(CounterVec { fam: new_family(reg, def(sys::TYPE_COUNTER, name, help, labels))? })
    }
}

impl Gauge {
    pub fn new(reg: Option<&Registry>, name: &str, help: &str) -> Result<Gauge> {
        GaugeVec::new(reg, name, help, &[])?.with_label_bytes(&[])
    }
    pub fn set(&self, v: f64) {
        unsafe { sys::sonde_gauge_set(self.p, v) }
    }
    pub fn add(&self, v: f64) {
        unsafe { sys::sonde_gauge_add(self.p, v) }
    }
    pub fn sub(&self, v: f64) {
        unsafe { sys::sonde_gauge_sub(self.p, v) }
    }
    pub fn inc(&self) {
        unsafe { sys::sonde_gauge_inc(self.p) }
    }
    pub fn dec(&self) {
        unsafe { sys::sonde_gauge_dec(self.p) }
    }
    pub fn get(&self) -> f64 {
        unsafe { sys::sonde_gauge_value(self.p) }
    }
}

impl GaugeVec {
    pub fn new(reg: Option<&Registry>, name: &str, help: &str, labels: &[&str]) -> Result<GaugeVec> {
        Ok(GaugeVec { fam: new_family(reg, def(sys::TYPE_GAUGE, name, help, labels))? })
    }
}

impl Histogram {
    /// buckets None = Prometheus' defaults; a trailing +Inf is optional.
    pub fn new(reg: Option<&Registry>, name: &str, help: &str, buckets: Option<&[f64]>) -> Result<Histogram> {
        HistogramVec::new(reg, name, help, &[], buckets)?.with_label_bytes(&[])
    }
    /// A single native histogram (see `NativeOpts`).
    pub fn new_native(reg: Option<&Registry>, name: &str, help: &str, buckets: Option<&[f64]>, native: &NativeOpts) -> Result<Histogram> {
        HistogramVec::new_native(reg, name, help, &[], buckets, native)?.with_label_bytes(&[])
    }
    #[inline]
    pub fn observe(&self, v: f64) {
        unsafe { sys::sonde_histogram_observe(self.p, v) }
    }
    /// A guard that observes the seconds until it is dropped (or `stop`).
    pub fn start_timer(&self) -> Timer<'_> {
        Timer { h: self, start: Instant::now(), done: false }
    }
    pub fn count(&self) -> u64 {
        unsafe { sys::sonde_histogram_count(self.p) }
    }
    pub fn sum(&self) -> f64 {
        unsafe { sys::sonde_histogram_sum(self.p) }
    }
    /// Cumulative count of bucket i (the last is +Inf).
    pub fn bucket(&self, i: usize) -> u64 {
        unsafe { sys::sonde_histogram_bucket(self.p, i) }
    }
}

impl HistogramVec {
    pub fn new(reg: Option<&Registry>, name: &str, help: &str, labels: &[&str], buckets: Option<&[f64]>) -> Result<HistogramVec> {
        let mut d = def(sys::TYPE_HISTOGRAM, name, help, labels);
        d.buckets = buckets;
        Ok(HistogramVec { fam: new_family(reg, d)? })
    }
    /// A histogram family with native buckets (and classic ones when
    /// `native.classic`: `buckets` None = defaults).
    pub fn new_native(reg: Option<&Registry>, name: &str, help: &str, labels: &[&str], buckets: Option<&[f64]>, native: &NativeOpts) -> Result<HistogramVec> {
        let mut d = def(sys::TYPE_HISTOGRAM, name, help, labels);
        d.buckets = buckets;
        d.native = Some(native);
        Ok(HistogramVec { fam: new_family(reg, d)? })
    }
}

/// Observes elapsed seconds into a histogram when dropped.
pub struct Timer<'a> {
    h: &'a Histogram,
    start: Instant,
    done: bool,
}

impl Timer<'_> {
    /// Observes now and returns the seconds.
    pub fn stop(mut self) -> f64 {
        self.done = true;
        let s = self.start.elapsed().as_secs_f64();
        self.h.observe(s);
        s
    }
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.h.observe(self.start.elapsed().as_secs_f64());
        }
    }
}

impl Summary {
    pub fn new(reg: Option<&Registry>, name: &str, help: &str, quantiles: Option<&[f64]>) -> Result<Summary> {
        SummaryVec::new(reg, name, help, &[], quantiles)?.with_label_bytes(&[])
    }
    pub fn observe(&self, v: f64) {
        unsafe { sys::sonde_summary_observe(self.p, v) }
    }
    pub fn count(&self) -> u64 {
        unsafe { sys::sonde_summary_count(self.p) }
    }
    pub fn sum(&self) -> f64 {
        unsafe { sys::sonde_summary_sum(self.p) }
    }
    /// NaN when the window is empty or q is out of range.
    pub fn quantile(&self, q: f64) -> f64 {
        unsafe { sys::sonde_summary_quantile(self.p, q) }
    }
}

impl SummaryVec {
    pub fn new(reg: Option<&Registry>, name: &str, help: &str, labels: &[&str], quantiles: Option<&[f64]>) -> Result<SummaryVec> {
        let mut d = def(sys::TYPE_SUMMARY, name, help, labels);
        d.quantiles = quantiles;
        Ok(SummaryVec { fam: new_family(reg, d)? })
    }
}

// ---- trace context -------------------------------------------------------------------------

pub const FLAG_SAMPLED: u8 = 0x01;
pub const FLAG_RANDOM: u8 = 0x02;

/// A copy of a sonde_span_context (plain data: Send, Copy).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct SpanContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub flags: u8,
    pub remote: bool,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl SpanContext {
    fn from_c(c: &sys::sonde_span_context) -> SpanContext {
        SpanContext { trace_id: c.trace_id, span_id: c.span_id, flags: c.trace_flags, remote: c.is_remote != 0 }
    }
    fn to_c(&self) -> sys::sonde_span_context {
        let mut c: sys::sonde_span_context = unsafe { std::mem::zeroed() };
        c.trace_id = self.trace_id;
        c.span_id = self.span_id;
        c.trace_flags = self.flags;
        c.is_remote = self.remote as u8;
        c
    }
    pub fn is_valid(&self) -> bool {
        self.trace_id != [0; 16]
    }
    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }
    /// The traceparent header for an outgoing request in this context.
    pub fn traceparent(&self) -> Result<String> {
        let c = self.to_c();
        let mut out = [0 as c_char; 56];
        let n = unsafe { sys::sonde_span_context_format_traceparent(&c, out.as_mut_ptr(), 56) };
        if n == 0 {
            return Err(Error::last(0));
        }
        Ok(cstr(out.as_ptr()))
    }
}

/// The calling thread's current context (invalid when none).
pub fn current_context() -> SpanContext {
    SpanContext::from_c(unsafe { &*sys::sonde_context_current() })
}

/// A parsed traceparent header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Traceparent {
    pub version: u8,
    pub flags: u8,
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
}

impl Traceparent {
    /// Parses per W3C Trace Context (any bytes in; EINVAL with sonde's reason).
    pub fn parse(s: &[u8]) -> Result<Traceparent> {
        let mut tp = sys::sonde_traceparent::default();
        check(unsafe { sys::sonde_traceparent_parse(s.as_ptr() as *const c_char, s.len(), &mut tp) })?;
        Ok(Traceparent { version: tp.version, flags: tp.flags, trace_id: tp.trace_id, parent_id: tp.parent_id })
    }
    /// Formats version 00 with the unknown flag bits cleared.
    pub fn format(&self) -> Result<String> {
        let tp = sys::sonde_traceparent { version: self.version, flags: self.flags, trace_id: self.trace_id, parent_id: self.parent_id };
        let mut out = [0 as c_char; 56];
        if unsafe { sys::sonde_traceparent_format(&tp, out.as_mut_ptr(), 56) } == 0 {
            return Err(Error::last(0));
        }
        Ok(cstr(out.as_ptr()))
    }
    /// The remote parent context it describes.
    pub fn context(&self) -> SpanContext {
        SpanContext { trace_id: self.trace_id, span_id: self.parent_id, flags: self.flags & 0x03, remote: true }
    }
}

/// A W3C tracestate list.
pub struct TraceState {
    p: *mut sys::sonde_tracestate,
}
// One object may be used from one thread at a time (C contract): Send, not Sync.
unsafe impl Send for TraceState {}

impl TraceState {
    pub fn new() -> Result<TraceState> {
        Ok(TraceState { p: nonnull(unsafe { sys::sonde_tracestate_new() })? })
    }
    pub fn parse(&mut self, s: &[u8]) -> Result<()> {
        check(unsafe { sys::sonde_tracestate_parse(self.p, s.as_ptr() as *const c_char, s.len()) })
    }
    /// Adds or updates key and moves it to the front.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        check(unsafe { sys::sonde_tracestate_set(self.p, key.as_ptr() as *const c_char, key.len(), value.as_ptr() as *const c_char, value.len()) })
    }
    pub fn get(&self, key: &str) -> Option<String> {
        let mut v: *const c_char = ptr::null();
        let mut n = 0usize;
        if unsafe { sys::sonde_tracestate_get(self.p, key.as_ptr() as *const c_char, key.len(), &mut v, &mut n) } {
            Some(String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(v as *const u8, n) }).into_owned())
        } else {
            None
        }
    }
    pub fn remove(&mut self, key: &str) -> Result<()> {
        check(unsafe { sys::sonde_tracestate_remove(self.p, key.as_ptr() as *const c_char, key.len()) })
    }
    pub fn len(&self) -> usize {
        unsafe { sys::sonde_tracestate_count(self.p) }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = vec![0 as c_char; 4096];
        unsafe { sys::sonde_tracestate_format(self.p, 0, out.as_mut_ptr(), out.len()) };
        f.write_str(&cstr(out.as_ptr()))
    }
}

impl Drop for TraceState {
    fn drop(&mut self) {
        unsafe { sys::sonde_tracestate_free(self.p) }
    }
}

/// W3C baggage.
pub struct Baggage {
    p: *mut sys::sonde_baggage,
}
unsafe impl Send for Baggage {}

impl Baggage {
    pub fn new() -> Result<Baggage> {
        Ok(Baggage { p: nonnull(unsafe { sys::sonde_baggage_new() })? })
    }
    pub fn parse(&mut self, s: &[u8]) -> Result<()> {
        check(unsafe { sys::sonde_baggage_parse(self.p, s.as_ptr() as *const c_char, s.len()) })
    }
    /// value: any bytes; properties in header syntax ("" for none).
    pub fn set(&mut self, key: &str, value: &[u8], properties: &str) -> Result<()> {
        check(unsafe {
            sys::sonde_baggage_set(self.p, key.as_ptr() as *const c_char, key.len(), value.as_ptr() as *const c_char, value.len(),
                properties.as_ptr() as *const c_char, properties.len())
        })
    }
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut v: *const c_char = ptr::null();
        let mut n = 0usize;
        if unsafe { sys::sonde_baggage_get(self.p, key.as_ptr() as *const c_char, key.len(), &mut v, &mut n) } {
            Some(unsafe { std::slice::from_raw_parts(v as *const u8, n) }.to_vec())
        } else {
            None
        }
    }
    pub fn remove(&mut self, key: &str) -> Result<()> {
        check(unsafe { sys::sonde_baggage_remove(self.p, key.as_ptr() as *const c_char, key.len()) })
    }
    pub fn len(&self) -> usize {
        unsafe { sys::sonde_baggage_count(self.p) }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn format(&self) -> Result<String> {
        let mut b = sys::sonde_buf { data: ptr::null_mut(), len: 0, cap: 0, oom: 0 };
        let st = unsafe { sys::sonde_baggage_format(self.p, &mut b) };
        let v = take_buf(&mut b);
        check(st)?;
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
}

impl Drop for Baggage {
    fn drop(&mut self) {
        unsafe { sys::sonde_baggage_free(self.p) }
    }
}

/// A span: RAII guard. Starting it makes it the thread's current context;
/// dropping it (or `end`) ends it and restores the previous one. Not Send:
/// it ends on the thread that started it. End them innermost first; any
/// other order is safe: a span ended out of order leaves the current context
/// alone and is dropped from it when the spans started after it end (sonde
/// copies contexts, it never keeps a pointer into the span).
pub struct Span {
    s: Box<sys::sonde_span>, // must not move while attached: boxed
    _name: CString,
    keep: Vec<CString>,
    arrays: Vec<Box<dyn std::any::Any>>, // array attributes' elements
    ended: bool,
    _not_send: PhantomData<*const ()>,
}

/// OpenTelemetry's span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

impl SpanKind {
    fn from_c(k: u32) -> SpanKind {
        match k {
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Internal,
        }
    }
}

/// An attribute value: OpenTelemetry's scalars and homogeneous arrays.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Str(String),
    Int(i64),
    F64(f64),
    Bool(bool),
    StrArray(Vec<String>),
    IntArray(Vec<i64>),
    F64Array(Vec<f64>),
    BoolArray(Vec<bool>),
}

impl From<&str> for Attr {
    fn from(v: &str) -> Attr {
        Attr::Str(v.into())
    }
}
impl From<i64> for Attr {
    fn from(v: i64) -> Attr {
        Attr::Int(v)
    }
}
impl From<f64> for Attr {
    fn from(v: f64) -> Attr {
        Attr::F64(v)
    }
}
impl From<bool> for Attr {
    fn from(v: bool) -> Attr {
        Attr::Bool(v)
    }
}

/// C attributes for one call (sonde copies them): the array and what it
/// points at.
struct AttrArray {
    attrs: Vec<sys::sonde_span_attr>,
    _keep: Vec<Box<dyn std::any::Any>>,
}

impl AttrArray {
    fn new(attrs: &[(&str, Attr)]) -> AttrArray {
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        let mut out = Vec::with_capacity(attrs.len());
        let cs = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        for (k, v) in attrs {
            let key = cs(k);
            let mut a = sys::sonde_span_attr { key: key.as_ptr(), type_: 0, str_len: 0, v: sys::sonde_attr_value { i: 0 } };
            match v {
                Attr::Str(s) => {
                    let c = cs(s);
                    a.type_ = 1;
                    a.str_len = c.as_bytes().len();
                    a.v.str_ = c.as_ptr();
                    keep.push(Box::new(c));
                }
                Attr::Int(i) => {
                    a.type_ = 2;
                    a.v.i = *i;
                }
                Attr::F64(d) => {
                    a.type_ = 3;
                    a.v.d = *d;
                }
                Attr::Bool(b) => {
                    a.type_ = 4;
                    a.v.b = *b;
                }
                Attr::StrArray(v) => {
                    let c: Vec<CString> = v.iter().map(|x| cs(x)).collect();
                    let p: Vec<*const c_char> = c.iter().map(|x| x.as_ptr()).collect();
                    a.type_ = 5;
                    a.str_len = p.len();
                    a.v.str_ = p.as_ptr() as *const c_char;
                    keep.push(Box::new((c, p)));
                }
                Attr::IntArray(v) => {
                    let b = v.clone();
                    a.type_ = 6;
                    a.str_len = b.len();
                    a.v.str_ = b.as_ptr() as *const c_char;
                    keep.push(Box::new(b));
                }
                Attr::F64Array(v) => {
                    let b = v.clone();
                    a.type_ = 7;
                    a.str_len = b.len();
                    a.v.str_ = b.as_ptr() as *const c_char;
                    keep.push(Box::new(b));
                }
                Attr::BoolArray(v) => {
                    let b = v.clone();
                    a.type_ = 8;
                    a.str_len = b.len();
                    a.v.str_ = b.as_ptr() as *const c_char;
                    keep.push(Box::new(b));
                }
            }
            keep.push(Box::new(key));
            out.push(a);
        }
        AttrArray { attrs: out, _keep: keep }
    }
    fn ptr(&self) -> *const sys::sonde_span_attr {
        if self.attrs.is_empty() { ptr::null() } else { self.attrs.as_ptr() }
    }
    fn len(&self) -> usize {
        self.attrs.len()
    }
}

/// (key, value) of a C attribute sonde holds.
unsafe fn read_attr(a: &sys::sonde_span_attr) -> (String, Attr) {
    let key = CStr::from_ptr(a.key).to_string_lossy().into_owned();
    let n = a.str_len;
    let v = match a.type_ {
        1 => Attr::Str(if n == 0 { String::new() } else { String::from_utf8_lossy(std::slice::from_raw_parts(a.v.str_ as *const u8, n)).into_owned() }),
        2 => Attr::Int(a.v.i),
        3 => Attr::F64(a.v.d),
        4 => Attr::Bool(a.v.b),
        5 => {
            let p = a.v.str_ as *const *const c_char;
            Attr::StrArray((0..n).map(|i| { let s = *p.add(i); if s.is_null() { String::new() } else { CStr::from_ptr(s).to_string_lossy().into_owned() } }).collect())
        }
        6 => Attr::IntArray(std::slice::from_raw_parts(a.v.str_ as *const i64, n).to_vec()),
        7 => Attr::F64Array(std::slice::from_raw_parts(a.v.str_ as *const f64, n).to_vec()),
        8 => Attr::BoolArray(std::slice::from_raw_parts(a.v.str_ as *const bool, n).to_vec()),
        _ => Attr::Str(String::new()),
    };
    (key, v)
}

impl Span {
    /// A child of the current context, or the root of a new trace.
    pub fn start(name: &str) -> Span {
        Self::start_impl(name, None)
    }
    /// A child of an explicit parent (e.g. from `Traceparent::context`).
    pub fn start_child_of(name: &str, parent: &SpanContext) -> Span {
        Self::start_impl(name, Some(parent))
    }
    fn start_impl(name: &str, parent: Option<&SpanContext>) -> Span {
        let n = CString::new(name.replace('\0', "")).unwrap_or_default();
        let mut s: Box<sys::sonde_span> = Box::new(unsafe { std::mem::zeroed() });
        unsafe {
            match parent {
                Some(p) => {
                    let c = p.to_c();
                    sys::sonde_span_start_child_of(&mut *s, n.as_ptr(), &c)
                }
                None => sys::sonde_span_start(&mut *s, n.as_ptr()),
            }
        }
        Span { s, _name: n, keep: Vec::new(), arrays: Vec::new(), ended: false, _not_send: PhantomData }
    }
    pub fn context(&self) -> SpanContext {
        SpanContext::from_c(unsafe { &*sys::sonde_span_get_context(&*self.s) })
    }
    pub fn parent_span_id(&self) -> [u8; 8] {
        self.s.parent_span_id
    }
    pub fn duration_ns(&self) -> i64 {
        self.s.duration_ns
    }
    fn keep(&mut self, s: &str) -> *const c_char {
        let c = CString::new(s.replace('\0', "")).unwrap_or_default();
        let p = c.as_ptr();
        self.keep.push(c); // sonde keeps the pointer until the span ends
        p
    }
    pub fn set_str(&mut self, key: &str, value: &str) {
        let (k, v) = (self.keep(key), self.keep(value));
        unsafe { sys::sonde_span_set_str(&mut *self.s, k, v) }
    }
    pub fn set_int(&mut self, key: &str, value: i64) {
        let k = self.keep(key);
        unsafe { sys::sonde_span_set_int(&mut *self.s, k, value) }
    }
    pub fn set_f64(&mut self, key: &str, value: f64) {
        let k = self.keep(key);
        unsafe { sys::sonde_span_set_double(&mut *self.s, k, value) }
    }
    pub fn set_bool(&mut self, key: &str, value: bool) {
        let k = self.keep(key);
        unsafe { sys::sonde_span_set_bool(&mut *self.s, k, value) }
    }
    pub fn set_error(&mut self, msg: &str) {
        let m = self.keep(msg);
        unsafe { sys::sonde_span_set_error(&mut *self.s, m) }
    }
    /// Marks the span successful (status OK). An earlier error is kept.
    pub fn set_ok(&mut self) {
        unsafe { sys::sonde_span_set_status(&mut *self.s, 1, ptr::null()) }
    }
    /// The status: 0 unset, 1 ok, 2 error.
    pub fn status(&self) -> i32 {
        self.s.status
    }
    /// Sets OpenTelemetry's span kind (internal by default).
    pub fn set_kind(&mut self, kind: SpanKind) {
        unsafe { sys::sonde_span_set_kind(&mut *self.s, kind as c_int) }
    }
    pub fn kind(&self) -> SpanKind {
        SpanKind::from_c(self.s.kind)
    }
    /// Any attribute, arrays included (`Attr::StrArray`, ...).
    pub fn set_attr(&mut self, key: &str, value: Attr) {
        let k = self.keep(key);
        let sp = &mut *self.s;
        match value {
            Attr::Str(v) => {
                let p = CString::new(v.replace('\0', "")).unwrap_or_default();
                unsafe { sys::sonde_span_set_str(sp, k, p.as_ptr()) };
                self.keep.push(p);
            }
            Attr::Int(v) => unsafe { sys::sonde_span_set_int(sp, k, v) },
            Attr::F64(v) => unsafe { sys::sonde_span_set_double(sp, k, v) },
            Attr::Bool(v) => unsafe { sys::sonde_span_set_bool(sp, k, v) },
            Attr::StrArray(v) => {
                let cs: Vec<CString> = v.iter().map(|x| CString::new(x.replace('\0', "")).unwrap_or_default()).collect();
                let ps: Vec<*const c_char> = cs.iter().map(|c| c.as_ptr()).collect();
                unsafe { sys::sonde_span_set_str_array(sp, k, ps.as_ptr(), ps.len()) };
                self.arrays.push(Box::new((cs, ps))); // the inline attribute keeps the pointers
            }
            Attr::IntArray(v) => {
                unsafe { sys::sonde_span_set_int_array(sp, k, v.as_ptr(), v.len()) };
                self.arrays.push(Box::new(v));
            }
            Attr::F64Array(v) => {
                unsafe { sys::sonde_span_set_double_array(sp, k, v.as_ptr(), v.len()) };
                self.arrays.push(Box::new(v));
            }
            Attr::BoolArray(v) => {
                unsafe { sys::sonde_span_set_bool_array(sp, k, v.as_ptr(), v.len()) };
                self.arrays.push(Box::new(v));
            }
        }
    }
    /// An event now (`at` None) or at a time, with attributes; sonde copies
    /// it. Ignored on a span that is not sampled.
    pub fn add_event(&mut self, name: &str, at: Option<std::time::SystemTime>, attrs: &[(&str, Attr)]) {
        let n = CString::new(name.replace('\0', "")).unwrap_or_default();
        let ns = at.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i64);
        let a = AttrArray::new(attrs);
        unsafe { sys::sonde_span_add_event_at(&mut *self.s, n.as_ptr(), ns, a.ptr(), a.len()) }
    }
    /// OpenTelemetry's RecordException for a Rust error: an "exception"
    /// event with exception.type (the error's type name), exception.message
    /// (its Display) and exception.stacktrace (its chain of sources, one
    /// per line). The status is not changed: call `set_error` too when the
    /// error failed the operation.
    pub fn record_error<E: std::error::Error + 'static>(&mut self, err: &E) {
        let mut chain = format!("{}: {}\n", std::any::type_name::<E>(), err);
        let mut src = err.source();
        while let Some(e) = src {
            chain.push_str(&format!("caused by: {}\n", e));
            src = e.source();
        }
        let cs = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let (t, m, st) = (cs(std::any::type_name::<E>()), cs(&err.to_string()), cs(&chain));
        unsafe { sys::sonde_span_record_exception(&mut *self.s, t.as_ptr(), m.as_ptr(), st.as_ptr()) }
    }
    /// A link to another span's context, with attributes.
    pub fn add_link(&mut self, ctx: &SpanContext, attrs: &[(&str, Attr)]) {
        let c = ctx.to_c();
        let a = AttrArray::new(attrs);
        unsafe { sys::sonde_span_add_link(&mut *self.s, &c, a.ptr(), a.len()) }
    }
    /// Whether sonde keeps a record of the span (events, links).
    pub fn is_recording(&self) -> bool {
        unsafe { sys::sonde_span_is_recording(&*self.s) }
    }
    /// The attributes as sonde holds them (before the end).
    pub fn attributes(&self) -> Vec<(String, Attr)> {
        let mut p = ptr::null();
        let n = unsafe { sys::sonde_span_get_attrs(&*self.s, &mut p) };
        (0..n).map(|i| unsafe { read_attr(&*p.add(i)) }).collect()
    }
    /// The events of a recorded span: (name, time in ns since the epoch,
    /// attributes).
    pub fn events(&self) -> Vec<(String, i64, Vec<(String, Attr)>)> {
        let mut p = ptr::null();
        let n = unsafe { sys::sonde_span_get_events(&*self.s, &mut p) };
        (0..n)
            .map(|i| unsafe {
                let e = &*p.add(i);
                let name = String::from_utf8_lossy(std::slice::from_raw_parts(e.name as *const u8, e.name_len)).into_owned();
                (name, e.time_unix_ns, (0..e.attr_count as usize).map(|j| read_attr(&*e.attrs.add(j))).collect())
            })
            .collect()
    }
    /// The links of a recorded span: (trace id, span id, attributes).
    pub fn links(&self) -> Vec<([u8; 16], [u8; 8], Vec<(String, Attr)>)> {
        let mut p = ptr::null();
        let n = unsafe { sys::sonde_span_get_links(&*self.s, &mut p) };
        (0..n)
            .map(|i| unsafe {
                let l = &*p.add(i);
                (l.trace_id, l.span_id, (0..l.attr_count as usize).map(|j| read_attr(&*l.attrs.add(j))).collect())
            })
            .collect()
    }
    /// Ends the span now (dropping it does the same).
    pub fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            unsafe { sys::sonde_span_end(&mut *self.s) }
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        self.end();
    }
}

/// Makes a context current on this thread until dropped (not Send).
pub struct ContextGuard {
    scope: Box<sys::sonde_context_scope>,
    _not_send: PhantomData<*const ()>,
}

/// Attaches ctx (None hides the outer context) until the guard drops.
pub fn attach(ctx: Option<&SpanContext>) -> ContextGuard {
    let mut scope: Box<sys::sonde_context_scope> = Box::new(unsafe { std::mem::zeroed() });
    let c = ctx.map(|c| c.to_c());
    unsafe { sys::sonde_context_attach(&mut *scope, c.as_ref().map_or(ptr::null(), |c| c as *const _)) };
    ContextGuard { scope, _not_send: PhantomData }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        unsafe { sys::sonde_context_detach(&mut *self.scope) };
    }
}

// ---- logger ------------------------------------------------------------------------------

/// Log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Fatal = 5,
    Off = 6,
}

impl Level {
    /// "trace".."fatal", "off" (any case, "warning" too).
    pub fn parse(s: &str) -> Result<Level> {
        let mut l: c_int = 0;
        check(unsafe { sys::sonde_log_level_parse(s.as_ptr() as *const c_char, s.len(), &mut l) })?;
        Ok(Level::from_int(l))
    }
    fn from_int(l: c_int) -> Level {
        [Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Fatal, Level::Off][l.clamp(0, 6) as usize]
    }
}

/// A typed field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a [u8]),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Null,
    /// A nested value's encoding (an `ErrorTree`'s bytes: see `Value::error`).
    Tree(&'a [u8]),
}

/// An error as an error field (issue 15): its type name, its message and,
/// as the stack, its chain of sources (`Error::source`), one line each.
/// In json `"k":{"type","message","stack"}`; in ecs the first error field
/// of a record is `error.type`, `error.message`, `error.stack_trace`; in
/// otel the attributes `exception.type`, `exception.message`,
/// `exception.stacktrace`. Log it with `Value::error(&tree)`.
#[derive(Clone, Debug)]
pub struct ErrorTree {
    bytes: Vec<u8>,
}

impl ErrorTree {
    /// The error field of `e` (its type is `E`'s name).
    pub fn new<E: std::error::Error + ?Sized>(e: &E) -> ErrorTree {
        let ty = std::any::type_name::<E>();
        let msg = e.to_string();
        let mut chain = Vec::new();
        let mut cur = e.source();
        while let Some(c) = cur {
            if chain.len() >= 64 {
                break;
            }
            chain.push(format!("caused by: {c}"));
            cur = c.source();
        }
        const MAX: usize = 60000; // under SONDE_LOG_TREE_BYTES_MAX with the encoding's bytes
        let cut = |s: &str, n: usize| -> String {
            let mut n = n.min(s.len());
            while !s.is_char_boundary(n) {
                n -= 1;
            }
            s[..n].to_owned()
        };
        let ty = cut(ty, 255);
        let msg = cut(&msg, MAX / 4);
        let stack = cut(&chain.join("\n"), MAX - msg.len() - ty.len());
        let mut bytes = vec![0u8; 32 + ty.len() + msg.len() + stack.len()];
        let mut t: sys::sonde_log_tree = unsafe { std::mem::zeroed() };
        let len = unsafe {
            sys::sonde_log_tree_init(&mut t, bytes.as_mut_ptr() as *mut std::ffi::c_void, bytes.len());
            let rc = sys::sonde_log_tree_error(
                &mut t,
                ty.as_ptr() as *const c_char,
                ty.len(),
                msg.as_ptr() as *const c_char,
                msg.len(),
                if chain.is_empty() { ptr::null() } else { stack.as_ptr() as *const c_char },
                stack.len(),
            );
            if rc == 0 {
                t.len
            } else {
                0
            }
        };
        bytes.truncate(len);
        ErrorTree { bytes }
    }
}

impl<'a> Value<'a> {
    /// An error field's value (null if the tree could not be built).
    pub fn error(t: &'a ErrorTree) -> Value<'a> {
        if t.bytes.is_empty() {
            Value::Null
        } else {
            Value::Tree(&t.bytes)
        }
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(s.as_bytes())
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::Str(s.as_bytes())
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(s: &'a [u8]) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::I64(v as i64)
    }
}
impl From<u64> for Value<'_> {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Value<'_> {
    fn ty(&self) -> u8 {
        match self {
            Value::Str(_) | Value::Null => sys::LOG_T_STR,
            Value::I64(_) => sys::LOG_T_I64,
            Value::U64(_) => sys::LOG_T_U64,
            Value::F64(_) => sys::LOG_T_F64,
            Value::Bool(_) => sys::LOG_T_BOOL,
            Value::Tree(_) => sys::LOG_T_TREE,
        }
    }
    fn raw(&self) -> sys::sonde_log_value {
        match *self {
            Value::Str(s) => sys::sonde_log_value { v: sys::sonde_log_union { s: s.as_ptr() as *const c_char }, len: s.len() },
            Value::Null => sys::sonde_log_value { v: sys::sonde_log_union { s: ptr::null() }, len: usize::MAX },
            Value::I64(i) => sys::sonde_log_value { v: sys::sonde_log_union { i }, len: 0 },
            Value::U64(u) => sys::sonde_log_value { v: sys::sonde_log_union { u }, len: 0 },
            Value::F64(d) => sys::sonde_log_value { v: sys::sonde_log_union { d }, len: 0 },
            Value::Bool(b) => sys::sonde_log_value { v: sys::sonde_log_union { u: b as u64 }, len: 0 },
            Value::Tree(t) => sys::sonde_log_value { v: sys::sonde_log_union { s: t.as_ptr() as *const c_char }, len: t.len() },
        }
    }
}

/// A log destination; loggers hold their own reference.
pub struct Sink {
    p: *mut sys::sonde_log_sink,
}
unsafe impl Send for Sink {}
unsafe impl Sync for Sink {}

impl Drop for Sink {
    fn drop(&mut self) {
        unsafe { sys::sonde_log_sink_free(self.p) }
    }
}

/// How a sink writes: "json" (default) or "logfmt" lines (or `profile`:
/// "json", "logfmt", "ecs", "otel", "console"; SONDE_LOG_FORMAT overrides
/// it), its minimum level, and size rotation for files.
#[derive(Clone, Debug, Default)]
pub struct SinkOpts {
    pub logfmt: bool,
    pub level: Option<Level>,
    pub max_bytes: u64,
    pub max_files: u32,
    pub profile: Option<&'static str>,
}

impl Sink {
    fn make(o: &SinkOpts, f: impl FnOnce(*const sys::sonde_log_sink_opts) -> *mut sys::sonde_log_sink) -> Result<Sink> {
        let mut co: sys::sonde_log_sink_opts = unsafe { std::mem::zeroed() };
        unsafe { sys::sonde_log_sink_opts_init(&mut co) };
        co.format = match o.profile {
            None => o.logfmt as c_int,
            Some("json") => 0,
            Some("logfmt") => 1,
            Some("ecs") => 2,
            Some("otel") => 3,
            Some("console") => 4,
            Some(p) => return Err(Error::new(status::EINVAL, format!("log profile {p:?}: want json, logfmt, ecs, otel or console"))),
        };
        co.level = o.level.map_or(0, |l| l as c_int);
        co.max_bytes = o.max_bytes;
        co.max_files = o.max_files;
        Ok(Sink { p: nonnull(f(&co))? })
    }
    pub fn stdout(o: &SinkOpts) -> Result<Sink> {
        Sink::make(o, |co| unsafe { sys::sonde_log_sink_stdout(co) })
    }
    pub fn stderr(o: &SinkOpts) -> Result<Sink> {
        Sink::make(o, |co| unsafe { sys::sonde_log_sink_stderr(co) })
    }
    pub fn file(path: &str, o: &SinkOpts) -> Result<Sink> {
        let p = c(path, "path")?;
        Sink::make(o, |co| unsafe { sys::sonde_log_sink_file(p.as_ptr(), co) })
    }
    /// Records to the OTLP exporter's logs endpoint as OpenTelemetry
    /// LogRecords (fields as typed attributes, severity, body, the trace
    /// context of the call; the scope is the logger's service), encoded on
    /// the logger's backend thread. Records it sees while the exporter is
    /// not running are dropped at once, not counted. Only `o.level`
    /// applies (the format is OTLP's). Flush with `log_flush`, then
    /// `otlp::flush`.
    pub fn otlp(o: &SinkOpts) -> Result<Sink> {
        Sink::make(&SinkOpts { profile: None, logfmt: false, ..o.clone() }, |co| unsafe { sys::sonde_otlp_log_sink(co) })
    }
}

/// A sonde logger (Send + Sync: log calls are thread-safe in C).
pub struct Logger {
    p: *mut sys::sonde_logger,
}
unsafe impl Send for Logger {}
unsafe impl Sync for Logger {}

impl Drop for Logger {
    fn drop(&mut self) {
        unsafe { sys::sonde_logger_free(self.p) }
    }
}

/// Root logger options. `level_env` None = "LOG_LEVEL", Some("") = none.
#[derive(Default)]
pub struct LoggerOpts<'a> {
    pub level: Option<Level>,
    pub level_env: Option<&'a str>,
    pub block: bool,
    pub redact: &'a [&'a str],
    pub sinks: &'a [&'a Sink],
    /// The flight recorder: records below `level`, down to `flight_level`
    /// (default Debug), are kept in memory per thread and written, marked
    /// `"_replayed":true`, before the next record at `flight_trigger`
    /// (default Error) or above.
    pub flight_recorder: bool,
    pub flight_level: Option<Level>,
    pub flight_trigger: Option<Level>,
    pub flight_scope: FlightScope,
    /// Sampling per call site (zap's scheme; off when `sample_first` is
    /// 0): in each interval of `sample_interval_ms` (0: 1000) a (level,
    /// field keys) combination writes its first `sample_first` records,
    /// then one in `sample_thereafter` (0: none). Error and fatal records
    /// only with `sample_errors`. See [`log_sampled_total`].
    pub sample_first: u32,
    pub sample_thereafter: u32,
    pub sample_interval_ms: u32,
    pub sample_errors: bool,
}

/// Whose kept records a trigger writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlightScope {
    /// The triggering thread's.
    #[default]
    Thread = 0,
    /// And other threads' records of the same trace.
    Trace = 1,
    /// Every thread's.
    All = 2,
}

/// Installs sonde's crash handlers (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
/// SIGABRT): they write what the rings and the flight recorder hold, and a
/// "crash" record, to the file and stdout/stderr sinks, then hand the
/// signal on (Rust's own stack-overflow handler, or the default action).
pub fn crash_flush_enable() -> Result<()> {
    check(unsafe { sys::sonde_log_crash_flush_enable() })
}

/// Puts the handlers that were there before back.
pub fn crash_flush_disable() -> Result<()> {
    check(unsafe { sys::sonde_log_crash_flush_disable() })
}

impl Logger {
    pub fn new(service: &str, o: &LoggerOpts) -> Result<Logger> {
        let svc = c(service, "service")?;
        let env = o.level_env.map(|e| c(e, "level_env")).transpose()?;
        let redact: Vec<CString> = o.redact.iter().map(|k| c(k, "redact key")).collect::<Result<_>>()?;
        let rp: Vec<*const c_char> = redact.iter().map(|k| k.as_ptr()).collect();
        let sp: Vec<*mut sys::sonde_log_sink> = o.sinks.iter().map(|s| s.p).collect();
        let mut co: sys::sonde_log_opts = unsafe { std::mem::zeroed() };
        unsafe { sys::sonde_log_opts_init(&mut co, svc.as_ptr()) };
        if let Some(l) = o.level {
            co.level = l as c_int;
        }
        co.level_env = env.as_ref().map_or(ptr::null(), |e| e.as_ptr());
        co.overflow = o.block as c_int;
        co.redact_keys = if rp.is_empty() { ptr::null() } else { rp.as_ptr() };
        co.redact_count = rp.len();
        co.sinks = if sp.is_empty() { ptr::null() } else { sp.as_ptr() };
        co.sink_count = sp.len();
        if o.flight_recorder {
            co.flight_recorder = 1;
            if let Some(l) = o.flight_level {
                co.flight_level = l as c_int;
            }
            if let Some(l) = o.flight_trigger {
                co.flight_trigger = l as c_int;
            }
            co.flight_scope = o.flight_scope as c_int;
        }
        co.sample_first = o.sample_first;
        co.sample_thereafter = o.sample_thereafter;
        co.sample_interval_ms = o.sample_interval_ms;
        co.sample_errors = o.sample_errors as c_int;
        Ok(Logger { p: nonnull(unsafe { sys::sonde_logger_new(&co) })? })
    }

    /// A child logger with these fields bound to every record.
    pub fn with(&self, fields: &[(&str, Value)]) -> Result<Logger> {
        let keys: Vec<CString> = fields.iter().map(|(k, _)| c(k, "field key")).collect::<Result<_>>()?;
        let arr: Vec<sys::sonde_log_field> = fields
            .iter()
            .zip(&keys)
            .map(|((_, v), k)| {
                let r = v.raw();
                sys::sonde_log_field { key: k.as_ptr(), type_: v.ty() as c_int, v: r.v, len: if matches!(v, Value::Null) { 0 } else { r.len } }
            })
            .collect();
        Ok(Logger { p: nonnull(unsafe { sys::sonde_logger_child(self.p, if arr.is_empty() { ptr::null() } else { arr.as_ptr() }, arr.len()) })? })
    }

    pub fn level(&self) -> Level {
        Level::from_int(unsafe { sys::sonde_logger_level(self.p) })
    }
    pub fn set_level(&self, l: Level) {
        unsafe { sys::sonde_logger_set_level(self.p, l as c_int) }
    }
    /// Whether a record at `l` is written, or kept by the flight recorder.
    pub fn enabled(&self, l: Level) -> bool {
        l as c_int >= unsafe { sys::sonde_logger_min_level(self.p) } && l != Level::Off
    }
    /// The C pointer, for handing the logger to C code.
    pub fn as_ptr(&self) -> *mut std::ffi::c_void {
        self.p as *mut _
    }

    /// Emits one record with typed fields through `sonde_log_write`: the
    /// message is copied with the record (it may vary freely); keys are
    /// interned once per (level, keys, types) in C, so keep them constant.
    /// A record sonde refuses (more than 15 fields, a key given twice, a key
    /// with a NUL) is not written; `try_log` says why.
    pub fn log(&self, level: Level, msg: &str, fields: &[(&str, Value)]) {
        let _ = self.try_log(level, msg, fields);
    }

    /// `log`, returning sonde's error for a refused record.
    pub fn try_log(&self, level: Level, msg: &str, fields: &[(&str, Value)]) -> Result<()> {
        if !self.enabled(level) {
            return Ok(());
        }
        let keys: Vec<CString> = fields.iter().map(|(k, _)| c(k, "field key")).collect::<Result<_>>()?;
        let arr: Vec<sys::sonde_log_field> = fields
            .iter()
            .zip(&keys)
            .map(|((_, v), k)| {
                let r = v.raw();
                sys::sonde_log_field { key: k.as_ptr(), type_: v.ty() as c_int, v: r.v, len: if matches!(v, Value::Null) { 0 } else { r.len } }
            })
            .collect();
        // keys, values and the bytes they point to outlive the call; it copies them
        check(unsafe {
            sys::sonde_log_write(self.p, level as c_int, msg.as_ptr() as *const c_char, msg.len(), if arr.is_empty() { ptr::null() } else { arr.as_ptr() }, arr.len())
        })
    }
    pub fn trace(&self, msg: &str, f: &[(&str, Value)]) {
        self.log(Level::Trace, msg, f)
    }
    pub fn debug(&self, msg: &str, f: &[(&str, Value)]) {
        self.log(Level::Debug, msg, f)
    }
    pub fn info(&self, msg: &str, f: &[(&str, Value)]) {
        self.log(Level::Info, msg, f)
    }
    pub fn warn(&self, msg: &str, f: &[(&str, Value)]) {
        self.log(Level::Warn, msg, f)
    }
    pub fn error(&self, msg: &str, f: &[(&str, Value)]) {
        self.log(Level::Error, msg, f)
    }
    pub fn fatal(&self, msg: &str, f: &[(&str, Value)]) {
        self.log(Level::Fatal, msg, f)
    }
}

/// Records left out by call-site sampling at `level`, all loggers, the
/// process's life (also `sonde_log_sampled_total{level}`).
pub fn log_sampled_total(level: Level) -> u64 {
    unsafe { sys::sonde_log_sampled_total(level as c_int) }
}

/// Scoped context fields (MDC): while the guard lives, every record the
/// current thread logs, through any sonde logger (Rust, C, ...), carries
/// these fields, after the trace context and before the record's own.
/// Guards nest: an inner field beats an outer one of the same key, a
/// record's own field beats both (every line keeps unique keys). The guard
/// is `!Send`: the scope belongs to the thread that made it and is popped
/// by its drop there; async code that moves between threads should carry
/// its fields itself (push a scope around each synchronous stretch). Keys
/// are copied; string values are borrowed for the guard's life (the C
/// scope points at them; each record copies them).
///
/// ```no_run
/// let log = sonde::Logger::new("svc", &Default::default()).unwrap();
/// let _s = sonde::log_scope(&[("user_id", "u1".into()), ("tenant", 7i64.into())]).unwrap();
/// log.info("checkout", &[]); // carries user_id and tenant
/// ```
///
/// Errors (nothing pushed): more than 8 fields, an empty key, a key over
/// 64 bytes or with a NUL, a key twice, keys and strings over 1024 bytes
/// (`Limit`), more than 16 scoped fields or 64 scopes on the thread
/// (`Limit`). Dropping guards out of order pops the inner scopes with the
/// outer one (their own drops then do nothing); `mem::forget` leaves the
/// scope pushed (its storage is leaked with it, never freed under C).
pub fn log_scope<'a>(fields: &[(&str, Value<'a>)]) -> Result<LogScope<'a>> {
    let keys: Vec<CString> = fields.iter().map(|(k, _)| c(k, "field key")).collect::<Result<_>>()?;
    let arr: Vec<sys::sonde_log_field> = fields
        .iter()
        .zip(&keys)
        .map(|((_, v), k)| {
            let r = v.raw();
            sys::sonde_log_field { key: k.as_ptr(), type_: v.ty() as c_int, v: r.v, len: if matches!(v, Value::Null) { 0 } else { r.len } }
        })
        .collect();
    // the C scope must not move while pushed: boxed
    let mut sc: Box<std::mem::MaybeUninit<sys::sonde_log_scope>> = Box::new(std::mem::MaybeUninit::zeroed());
    check(unsafe { sys::sonde_log_scope_push(sc.as_mut_ptr(), if arr.is_empty() { ptr::null() } else { arr.as_ptr() }, arr.len()) })?;
    Ok(LogScope { sc, popped: false, _keys: keys, _vals: std::marker::PhantomData, _not_send: std::marker::PhantomData })
}

/// The guard of [`log_scope`]; pops the scope when dropped. Not `Send`
/// (the scope is its thread's):
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(sonde::log_scope(&[]).unwrap());
/// ```
pub struct LogScope<'a> {
    sc: Box<std::mem::MaybeUninit<sys::sonde_log_scope>>,
    popped: bool,
    _keys: Vec<CString>,
    _vals: std::marker::PhantomData<&'a [u8]>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LogScope<'_> {
    /// Pops now, returning C's verdict (`State` when popped out of order
    /// or already gone with an outer scope).
    pub fn pop(mut self) -> Result<()> {
        self.popped = true;
        check(unsafe { sys::sonde_log_scope_pop(self.sc.as_mut_ptr()) })
    }
}

impl Drop for LogScope<'_> {
    fn drop(&mut self) {
        // a scope popped already with an outer one is refused by C
        // without harm (it checks the thread's stack, not the scope)
        if !self.popped {
            let _ = unsafe { sys::sonde_log_scope_pop(self.sc.as_mut_ptr()) };
        }
    }
}

/// Scoped fields the current thread holds (all its scopes).
pub fn log_scope_fields() -> usize {
    unsafe { sys::sonde_log_scope_fields() }
}

/// Returns once every record emitted before the call is written.
pub fn log_flush() -> Result<()> {
    check(unsafe { sys::sonde_log_flush() })
}

/// Drains the rings and stops the backend thread.
pub fn log_shutdown() -> Result<()> {
    check(unsafe { sys::sonde_log_shutdown() })
}

// ---- health checks ----------------------------------------------------------------------

/// A probe kind (Kubernetes liveness, readiness, startup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Liveness = 1,
    Readiness = 2,
    Startup = 4,
}

/// What a check reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckResult {
    Pass = 0,
    Warn = 1,
    Fail = 2,
}

/// A check's result and optional message (at most 255 bytes are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub result: CheckResult,
    pub message: Option<String>,
}

impl Verdict {
    pub fn pass() -> Verdict {
        Verdict { result: CheckResult::Pass, message: None }
    }
    pub fn warn(msg: impl Into<String>) -> Verdict {
        Verdict { result: CheckResult::Warn, message: Some(msg.into()) }
    }
    pub fn fail(msg: impl Into<String>) -> Verdict {
        Verdict { result: CheckResult::Fail, message: Some(msg.into()) }
    }
}

/// `Ok(())` passes; `Err(e)` fails with `e` as the error.
impl<E: fmt::Display> From<std::result::Result<(), E>> for Verdict {
    fn from(r: std::result::Result<(), E>) -> Verdict {
        match r {
            Ok(()) => Verdict::pass(),
            Err(e) => Verdict::fail(e.to_string()),
        }
    }
}

/// Where a check runs and how long it may take.
#[derive(Debug, Clone)]
pub struct CheckOpts {
    /// The probes the check belongs to; empty means readiness.
    pub probes: Vec<Probe>,
    /// Bound on one run; None = 1 s. At most one hour.
    pub timeout: Option<std::time::Duration>,
    /// Reuse a result (failures too) for this long; None = run every time.
    pub cache: Option<std::time::Duration>,
}

impl Default for CheckOpts {
    fn default() -> CheckOpts {
        CheckOpts { probes: vec![Probe::Readiness], timeout: None, cache: None }
    }
}

type CheckFn = Box<dyn Fn() -> Verdict + Send + Sync + 'static>;

unsafe extern "C" fn health_trampoline(user: *mut std::ffi::c_void, msg: *mut c_char, cap: usize) -> c_int {
    let f = &*(user as *const CheckFn);
    // a panic must not cross into C: it is a failed check
    let v = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Verdict::fail(format!("check panicked: {what}"))
    });
    if let Some(m) = v.message {
        if !msg.is_null() && cap > 1 {
            let b = m.as_bytes();
            let n = b.len().min(cap - 1);
            ptr::copy_nonoverlapping(b.as_ptr(), msg as *mut u8, n);
            *msg.add(n) = 0;
        }
    }
    v.result as c_int
}

unsafe extern "C" fn health_release(user: *mut std::ffi::c_void) {
    drop(Box::from_raw(user as *mut CheckFn));
}

fn duration_ms(d: Option<std::time::Duration>) -> u32 {
    match d {
        None => 0,
        Some(d) if d.is_zero() => 0,
        Some(d) => d.as_millis().clamp(1, u32::MAX as u128) as u32,
    }
}

/// Liveness, readiness and startup probes over `sonde_health`: checks
/// registered here (and from C, Python or Go on the same object) run on
/// libsonde's threads with its timeouts and caching, and an evaluation
/// returns the HTTP status and the JSON body. `Send + Sync`: evaluations
/// and registrations may come from any thread.
pub struct Health {
    p: *mut sys::sonde_health,
    _reg: Registry, // holds the metric families
}

unsafe impl Send for Health {}
unsafe impl Sync for Health {}

impl Health {
    /// A health object whose JSON says `version`, with its metrics in
    /// `reg` (None = the default registry).
    pub fn new(reg: Option<&Registry>, version: Option<&str>) -> Result<Health> {
        let reg = reg.cloned().unwrap_or_else(Registry::default_registry);
        let v = version.map(|v| c(v, "version")).transpose()?;
        let mut o: sys::sonde_health_opts = unsafe { std::mem::zeroed() };
        unsafe { sys::sonde_health_opts_init(&mut o) };
        o.registry = reg.inner.p;
        o.version = v.as_ref().map_or(ptr::null(), |v| v.as_ptr());
        o.free_wait_ms = 2000;
        let p = nonnull(unsafe { sys::sonde_health_new(&o) })?;
        Ok(Health { p, _reg: reg })
    }

    /// Registers `f` as the check `name` (1..64 bytes of [a-zA-Z0-9_.-]).
    /// Errors: a bad name or option (EINVAL), a duplicate name (EEXIST).
    pub fn add_check<F, V>(&self, name: &str, opts: CheckOpts, f: F) -> Result<()>
    where
        F: Fn() -> V + Send + Sync + 'static,
        V: Into<Verdict>,
    {
        let n = c(name, "check name")?;
        let boxed: CheckFn = Box::new(move || f().into());
        let user = Box::into_raw(Box::new(boxed)) as *mut std::ffi::c_void;
        let mut o: sys::sonde_health_check_opts = unsafe { std::mem::zeroed() };
        unsafe { sys::sonde_health_check_opts_init(&mut o, n.as_ptr(), Some(health_trampoline), user) };
        o.probes = opts.probes.iter().fold(0, |a, p| a | *p as u32);
        o.timeout_ms = duration_ms(opts.timeout);
        o.cache_ms = duration_ms(opts.cache);
        o.release = Some(health_release);
        let st = unsafe { sys::sonde_health_add_check(self.p, &o) };
        if st < 0 {
            let e = Error::last(st);
            unsafe { health_release(user) }; // not added: the C side will not release it
            return Err(e);
        }
        Ok(())
    }

    /// Runs the probe's checks: (200 or 503, the JSON body).
    pub fn evaluate(&self, probe: Probe) -> Result<(u16, String)> {
        let mut b = sys::sonde_buf { data: ptr::null_mut(), len: 0, cap: 0, oom: 0 };
        let mut status: c_int = 0;
        let code = unsafe { sys::sonde_health_evaluate(self.p, probe as c_int, &mut b, &mut status) };
        let body = take_buf(&mut b);
        if code < 0 {
            return Err(Error::last(code));
        }
        Ok((code as u16, String::from_utf8_lossy(&body).into_owned()))
    }

    /// The number of checks.
    pub fn len(&self) -> usize {
        unsafe { sys::sonde_health_check_count(self.p) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The C pointer, for C code that adds its own checks.
    pub fn as_ptr(&self) -> *mut std::ffi::c_void {
        self.p as *mut _
    }
}

impl Drop for Health {
    /// Frees the checks, waiting up to 2 s for runs still past their
    /// timeout (their closures are dropped when they return).
    fn drop(&mut self) {
        unsafe { sys::sonde_health_free(self.p) };
    }
}

#[doc(hidden)]
/// Struct sizes and alignments as this crate declares them, for the
/// layout test against the C compiler.
pub fn layout_of(name: &str) -> Option<(usize, usize)> {
    use std::mem::{align_of, size_of};
    macro_rules! l {
        ($t:ty) => {
            Some((size_of::<$t>(), align_of::<$t>()))
        };
    }
    match name {
        "sonde_buf" => l!(sys::sonde_buf),
        "sonde_metric_opts" => l!(sys::sonde_metric_opts),
        "sonde_span_context" => l!(sys::sonde_span_context),
        "sonde_context_scope" => l!(sys::sonde_context_scope),
        "sonde_span_attr" => l!(sys::sonde_span_attr),
        "sonde_span" => l!(sys::sonde_span),
        "sonde_traceparent" => l!(sys::sonde_traceparent),
        "sonde_expose_result" => l!(sys::sonde_expose_result),
        "sonde_log_sink_opts" => l!(sys::sonde_log_sink_opts),
        "sonde_log_opts" => l!(sys::sonde_log_opts),
        "sonde_log_field" => l!(sys::sonde_log_field),
        "sonde_log_site" => l!(sys::sonde_log_site),
        "sonde_log_scope" => l!(sys::sonde_log_scope),
        "sonde_log_value" => l!(sys::sonde_log_value),
        "sonde_log_tree" => l!(sys::sonde_log_tree),
        "sonde_health_opts" => l!(sys::sonde_health_opts),
        "sonde_health_check_opts" => l!(sys::sonde_health_check_opts),
        "sonde_header" => l!(sys::sonde_header),
        "sonde_push_opts" => l!(sys::sonde_push_opts),
        "sonde_exporter_opts" => l!(sys::sonde_exporter_opts),
        "sonde_span_event" => l!(sys::sonde_span_event),
        "sonde_span_link" => l!(sys::sonde_span_link),
        "sonde_http_server_opts" => l!(sys::sonde_http_server_opts),
        "sonde_http_request_info" => l!(sys::sonde_http_request_info),
        "sonde_http_request" => l!(sys::sonde_http_request),
        "sonde_otlp_options" => l!(sys::sonde_otlp_options),
        "sonde_otlp_stats" => l!(sys::sonde_otlp_stats),
        _ => None,
    }
}

#[doc(hidden)]
/// Offsets of the fields this crate reads or writes by name, in the order
/// of the layout test's C helper.
pub fn field_offsets() -> [usize; 10] {
    use std::mem::offset_of;
    [
        offset_of!(sys::sonde_span, parent_span_id),
        offset_of!(sys::sonde_span, duration_ns),
        offset_of!(sys::sonde_span, status),
        offset_of!(sys::sonde_span, attrs),
        offset_of!(sys::sonde_log_site, level),
        offset_of!(sys::sonde_log_site, nfields),
        offset_of!(sys::sonde_metric_opts, age_buckets),
        offset_of!(sys::sonde_log_opts, sink_count),
        offset_of!(sys::sonde_otlp_options, retry_max_ms),
        offset_of!(sys::sonde_otlp_stats, dropped_partial),
    ]
}

// ---- OTLP export ----------------------------------------------------------------------

/// The OTLP/HTTP span exporter (include/sonde/export.h): every sampled span
/// ended in the process, by Rust, C, Python or Go code, goes to an
/// OpenTelemetry Collector, Jaeger or anything that accepts OTLP over HTTP.
/// The exporter is process-wide (one per process); only spans started
/// after `start` are exported.
///
/// ```no_run
/// use std::time::Duration;
/// sonde::otlp::set_service(Some("checkout"), Some("1.4.2"), None).unwrap();
/// sonde::otlp::Options::new()
///     .endpoint("http://localhost:4318/v1/traces")
///     .header("x-tenant", "a")
///     .protocol(sonde::otlp::Protocol::Protobuf)
///     .start()
///     .unwrap();
/// // ... spans end on any thread ...
/// sonde::otlp::shutdown(Duration::from_secs(2)).unwrap();
/// ```
///
/// Errors: a bad option (a zero or too long duration, a size of 0 or above
/// i32::MAX, a NUL in a string, an unknown protocol name given to
/// `"...".parse::<Protocol>()`) is an `EINVAL` error from `start` and
/// nothing starts. A value libsonde refuses (an https:// or malformed
/// endpoint, a bad OTEL_* variable, a batch above the queue size) is an
/// `EINVAL` error with libsonde's message, but the exporter RUNS with the
/// default in its place (`running()` is true; `shutdown` stops it).
pub mod otlp {
    use super::{c, check, status, sys, Error, Result};
    use std::ffi::CString;
    use std::os::raw::{c_char, c_int};
    use std::ptr;
    use std::time::Duration;

    /// The request encoding.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Protocol {
        /// `http/protobuf`
        Protobuf = 1,
        /// `http/json`
        Json = 2,
    }

    impl std::str::FromStr for Protocol {
        type Err = Error;
        /// "http/protobuf" or "http/json" (the OTEL_EXPORTER_OTLP_PROTOCOL
        /// names); anything else is an EINVAL error.
        fn from_str(s: &str) -> Result<Protocol> {
            match s.to_ascii_lowercase().as_str() {
                "http/protobuf" => Ok(Protocol::Protobuf),
                "http/json" => Ok(Protocol::Json),
                _ => Err(Error::new(status::EINVAL, format!("sonde::otlp: protocol {s:?} is not http/protobuf or http/json"))),
            }
        }
    }

    /// The request body's compression.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Compression {
        None = 1,
        /// needs zlib in libsonde
        Gzip = 2,
    }

    impl std::str::FromStr for Compression {
        type Err = Error;
        /// "none" or "gzip"; anything else is an EINVAL error.
        fn from_str(s: &str) -> Result<Compression> {
            match s.to_ascii_lowercase().as_str() {
                "none" => Ok(Compression::None),
                "gzip" => Ok(Compression::Gzip),
                _ => Err(Error::new(status::EINVAL, format!("sonde::otlp: compression {s:?} is not none or gzip"))),
            }
        }
    }

    /// The exporter's configuration, a builder. A setting left out takes
    /// the OTEL_* variable that sets the same thing, then OpenTelemetry's
    /// default (brackets). Durations are rounded up to whole milliseconds.
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        endpoint: Option<String>,
        headers: Vec<(String, String)>,
        timeout: Option<Duration>,
        protocol: Option<Protocol>,
        compression: Option<Compression>,
        schedule_delay: Option<Duration>,
        export_timeout: Option<Duration>,
        max_queue_size: Option<usize>,
        max_export_batch_size: Option<usize>,
        retry_initial: Option<Duration>,
        retry_max: Option<Duration>,
        logs_endpoint: Option<String>,
    }

    /// Builder setters: `name(value)` sets the option to Some(value).
    macro_rules! setters {
        ($($(#[$doc:meta])* $name:ident: $t:ty,)*) => {
            $($(#[$doc])* pub fn $name(mut self, v: $t) -> Options {
                self.$name = Some(v);
                self
            })*
        };
    }

    impl Options {
        pub fn new() -> Options {
            Options::default()
        }
        /// The full traces URL, http://host[:port][/path]
        /// [http://localhost:4318/v1/traces]; http only (TLS is the job of
        /// a local Collector that forwards).
        pub fn endpoint(mut self, url: &str) -> Options {
            self.endpoint = Some(url.to_owned());
            self
        }
        /// The full logs URL for [`Sink::otlp`]'s records
        /// [OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT
        /// + "/v1/logs", else http://localhost:4318/v1/logs]; the other
        /// options serve both signals.
        pub fn logs_endpoint(mut self, url: &str) -> Options {
            self.logs_endpoint = Some(url.to_owned());
            self
        }
        /// A request header, added to OTEL_EXPORTER_OTLP_[TRACES_]HEADERS.
        pub fn header(mut self, name: &str, value: &str) -> Options {
            self.headers.push((name.to_owned(), value.to_owned()));
            self
        }
        setters! {
            /// One request [10 s].
            timeout: Duration,
            /// [Protobuf]
            protocol: Protocol,
            /// [None]
            compression: Compression,
            /// Between batches [5 s].
            schedule_delay: Duration,
            /// One batch, retries included [30 s].
            export_timeout: Duration,
            /// Spans waiting for export [2048]; a full queue drops and counts.
            max_queue_size: usize,
            /// Spans per request [512].
            max_export_batch_size: usize,
            /// The retry backoff's first wait [1 s].
            retry_initial: Duration,
            /// The retry backoff's ceiling [5 s].
            retry_max: Duration,
        }
        /// `otlp::start(self)`.
        pub fn start(&self) -> Result<()> {
            start(self)
        }
    }

    fn bad(msg: String) -> Error {
        Error::new(status::EINVAL, format!("sonde::otlp: {msg}"))
    }

    fn ceil_ms(d: Duration) -> u128 {
        let ns = d.as_nanos();
        ns / 1_000_000 + u128::from(ns % 1_000_000 != 0)
    }

    fn ms(d: Option<Duration>, what: &str) -> Result<c_int> {
        let Some(d) = d else { return Ok(0) };
        let m = ceil_ms(d);
        if m == 0 {
            return Err(bad(format!("{what} {d:?} must be positive")));
        }
        c_int::try_from(m).map_err(|_| bad(format!("{what} {d:?} is above {} ms", c_int::MAX)))
    }

    fn count(n: Option<usize>, what: &str) -> Result<c_int> {
        match n {
            None => Ok(0),
            Some(v) if v > 0 && v <= c_int::MAX as usize => Ok(v as c_int),
            Some(v) => Err(bad(format!("{what} {v} is not in [1, {}]", c_int::MAX))),
        }
    }

    /// Starts the exporter: the OTEL_* variables (endpoint, headers,
    /// timeout, protocol, compression, OTEL_BSP_*, OTEL_SERVICE_NAME, the
    /// sampler, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER) with the options
    /// set in `o` over them. Ok also when OTEL_SDK_DISABLED=true, or
    /// OTEL_TRACES_EXPORTER=none with OTEL_LOGS_EXPORTER=none, kept it off
    /// (`running()` tells). Errors:
    /// see the module; ESTATE when already running.
    pub fn start(o: &Options) -> Result<()> {
        // every C string and the header array live until the call returns
        // (C copies them)
        let endpoint = o.endpoint.as_deref().map(|e| c(e, "sonde::otlp: endpoint")).transpose()?;
        let logs_endpoint = o.logs_endpoint.as_deref().map(|e| c(e, "sonde::otlp: logs endpoint")).transpose()?;
        let mut hs: Vec<(CString, CString)> = Vec::with_capacity(o.headers.len());
        for (k, v) in &o.headers {
            hs.push((c(k, "sonde::otlp: header name")?, c(v, "sonde::otlp: header value")?));
        }
        let harr: Vec<sys::sonde_header> = hs
            .iter()
            .map(|(k, v)| sys::sonde_header { name: k.as_ptr(), name_len: k.as_bytes().len(), value: v.as_ptr(), value_len: v.as_bytes().len() })
            .collect();
        let opts = sys::sonde_otlp_options {
            size: std::mem::size_of::<sys::sonde_otlp_options>(),
            endpoint: endpoint.as_ref().map_or(ptr::null(), |e| e.as_ptr()),
            headers: if harr.is_empty() { ptr::null() } else { harr.as_ptr() },
            nheaders: harr.len(),
            timeout_ms: ms(o.timeout, "timeout")?,
            protocol: o.protocol.map_or(0, |p| p as c_int),
            compression: o.compression.map_or(0, |x| x as c_int),
            schedule_delay_ms: ms(o.schedule_delay, "schedule_delay")?,
            export_timeout_ms: ms(o.export_timeout, "export_timeout")?,
            max_queue_size: count(o.max_queue_size, "max_queue_size")?,
            max_export_batch_size: count(o.max_export_batch_size, "max_export_batch_size")?,
            retry_initial_ms: ms(o.retry_initial, "retry_initial")?,
            retry_max_ms: ms(o.retry_max, "retry_max")?,
            logs_endpoint: logs_endpoint.as_ref().map_or(ptr::null(), |e| e.as_ptr()),
        };
        check(unsafe { sys::sonde_otlp_start(&opts) })
    }

    /// Starts the exporter configured by the OTEL_* variables alone
    /// (`sonde_otlp_start(NULL)`); errors as `start`.
    pub fn start_from_env() -> Result<()> {
        check(unsafe { sys::sonde_otlp_start(ptr::null()) })
    }

    /// True while the exporter runs.
    pub fn running() -> bool {
        unsafe { sys::sonde_otlp_running() }
    }

    fn wait_ms(d: Duration) -> c_int {
        c_int::try_from(ceil_ms(d)).unwrap_or(c_int::MAX)
    }

    /// Waits until every span ended before the call has been exported or
    /// dropped, at most `timeout`: ETIMEDOUT when it ran out, ESTATE when
    /// the exporter is not running.
    pub fn flush(timeout: Duration) -> Result<()> {
        check(unsafe { sys::sonde_otlp_flush(wait_ms(timeout)) })
    }

    /// Stops the exporter: sends what is queued for at most `timeout`
    /// (zero: nothing), drops and counts the rest, joins its thread.
    /// ETIMEDOUT when the deadline dropped spans (it is stopped all the
    /// same), ESTATE when it was not running. A dead collector never holds
    /// the caller longer than `timeout` (plus one name resolution).
    pub fn shutdown(timeout: Duration) -> Result<()> {
        check(unsafe { sys::sonde_otlp_shutdown(wait_ms(timeout)) })
    }

    /// The exporter's self-metrics since it last started (kept after
    /// shutdown). After `shutdown`, `spans_ended == spans_exported +
    /// dropped()` and `logs_handed == logs_exported + logs_dropped()`;
    /// the request counts, durations and CPU count both signals.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Stats {
        /// handed to the exporter
        pub spans_ended: u64,
        /// acknowledged with a 2xx
        pub spans_exported: u64,
        pub dropped_queue_full: u64,
        /// a non-retryable status (400, ...)
        pub dropped_rejected: u64,
        /// retries ran out of the export timeout
        pub dropped_failed: u64,
        /// still queued at the shutdown's deadline
        pub dropped_shutdown: u64,
        pub dropped_oom: u64,
        /// HTTP requests, retries included
        pub export_requests: u64,
        pub export_failures: u64,
        pub queue_length: u64,
        pub export_duration: Duration,
        pub export_thread_cpu: Duration,
        /// a 2xx partial success: the collector refused them
        pub dropped_partial: u64,
        /// log records handed to the exporter by OTLP log sinks
        pub logs_handed: u64,
        /// log records acknowledged with a 2xx
        pub logs_exported: u64,
        pub logs_dropped_queue_full: u64,
        pub logs_dropped_rejected: u64,
        pub logs_dropped_failed: u64,
        pub logs_dropped_shutdown: u64,
        pub logs_dropped_oom: u64,
        pub logs_dropped_partial: u64,
        pub logs_queue_length: u64,
        /// The log records' share of export_requests, export_failures and export_duration.
        pub logs_export_requests: u64,
        pub logs_export_failures: u64,
        pub logs_export_duration: Duration,
    }

    impl Stats {
        /// The sum of the dropped counts.
        pub fn dropped(&self) -> u64 {
            self.dropped_queue_full + self.dropped_rejected + self.dropped_failed + self.dropped_shutdown + self.dropped_oom + self.dropped_partial
        }
        /// The sum of the log records' dropped counts.
        pub fn logs_dropped(&self) -> u64 {
            self.logs_dropped_queue_full + self.logs_dropped_rejected + self.logs_dropped_failed + self.logs_dropped_shutdown + self.logs_dropped_oom + self.logs_dropped_partial
        }
    }

    /// The exporter's statistics now.
    pub fn stats() -> Stats {
        let mut s = sys::sonde_otlp_stats { size: std::mem::size_of::<sys::sonde_otlp_stats>(), ..Default::default() };
        unsafe { sys::sonde_otlp_get_stats(&mut s) };
        Stats {
            spans_ended: s.spans_ended,
            spans_exported: s.spans_exported,
            dropped_queue_full: s.dropped_queue_full,
            dropped_rejected: s.dropped_rejected,
            dropped_failed: s.dropped_failed,
            dropped_shutdown: s.dropped_shutdown,
            dropped_oom: s.dropped_oom,
            export_requests: s.export_requests,
            export_failures: s.export_failures,
            queue_length: s.queue_length,
            export_duration: Duration::from_nanos(s.export_duration_ns),
            export_thread_cpu: Duration::from_nanos(s.export_thread_cpu_ns),
            dropped_partial: s.dropped_partial,
            logs_handed: s.logs_handed,
            logs_exported: s.logs_exported,
            logs_dropped_queue_full: s.logs_dropped_queue_full,
            logs_dropped_rejected: s.logs_dropped_rejected,
            logs_dropped_failed: s.logs_dropped_failed,
            logs_dropped_shutdown: s.logs_dropped_shutdown,
            logs_dropped_oom: s.logs_dropped_oom,
            logs_dropped_partial: s.logs_dropped_partial,
            logs_queue_length: s.logs_queue_length,
            logs_export_requests: s.logs_export_requests,
            logs_export_failures: s.logs_export_failures,
            logs_export_duration: Duration::from_nanos(s.logs_export_duration_ns),
        }
    }

    fn opt(s: Option<&str>, what: &str) -> Result<Option<CString>> {
        s.map(|v| c(v, what)).transpose()
    }

    fn optp(s: &Option<CString>) -> *const c_char {
        s.as_ref().map_or(ptr::null(), |v| v.as_ptr())
    }

    /// The resource's service.name, service.version and
    /// deployment.environment; None leaves one as it is. OTEL_SERVICE_NAME,
    /// read by `start`, wins over a name set before.
    pub fn set_service(name: Option<&str>, version: Option<&str>, environment: Option<&str>) -> Result<()> {
        let (n, v, e) = (opt(name, "service name")?, opt(version, "service version")?, opt(environment, "deployment environment")?);
        check(unsafe { sys::sonde_resource_set_service(optp(&n), optp(&v), optp(&e)) })
    }

    /// A string resource attribute.
    pub fn set_resource_str(key: &str, value: &str) -> Result<()> {
        let (k, v) = (c(key, "resource attribute key")?, c(value, "resource attribute value")?);
        check(unsafe { sys::sonde_resource_set_str(k.as_ptr(), v.as_ptr()) })
    }

    /// An integer resource attribute.
    pub fn set_resource_int(key: &str, value: i64) -> Result<()> {
        let k = c(key, "resource attribute key")?;
        check(unsafe { sys::sonde_resource_set_int(k.as_ptr(), value) })
    }

    /// Removes a resource attribute.
    pub fn remove_resource(key: &str) -> Result<()> {
        let k = c(key, "resource attribute key")?;
        check(unsafe { sys::sonde_resource_set_str(k.as_ptr(), ptr::null()) })
    }

    /// A resource attribute's value as text (an integer in decimal); None
    /// when it is not set.
    pub fn resource(key: &str) -> Option<String> {
        let k = CString::new(key).ok()?;
        let n = unsafe { sys::sonde_resource_get(k.as_ptr(), ptr::null_mut(), 0) };
        if n < 0 {
            return None;
        }
        let mut buf = vec![0u8; n as usize + 1];
        if unsafe { sys::sonde_resource_get(k.as_ptr(), buf.as_mut_ptr() as *mut c_char, buf.len()) } < 0 {
            return None;
        }
        buf.truncate(n as usize);
        Some(String::from_utf8_lossy(&buf).into_owned())
    }

    /// The instrumentation scope sent with the spans (default: "sonde" and
    /// libsonde's version).
    pub fn set_scope(name: &str, version: Option<&str>) -> Result<()> {
        let (n, v) = (c(name, "scope name")?, opt(version, "scope version")?);
        check(unsafe { sys::sonde_trace_set_scope(n.as_ptr(), optp(&v)) })
    }

    /// The instrumentation scope's name and version.
    pub fn scope() -> (String, String) {
        let (mut n, mut v) = ([0u8; 256], [0u8; 256]);
        unsafe { sys::sonde_trace_get_scope(n.as_mut_ptr() as *mut c_char, 256, v.as_mut_ptr() as *mut c_char, 256) };
        let s = |b: &[u8]| String::from_utf8_lossy(&b[..b.iter().position(|&x| x == 0).unwrap_or(b.len())]).into_owned();
        (s(&n), s(&v))
    }
}
