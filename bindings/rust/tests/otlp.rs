//! The OTLP exporter from Rust: configuration and lifecycle (sonde::otlp),
//! and spans ended in Rust checked on the wire with the OpenTelemetry
//! project's own definitions: tests/otlp/otlp_receiver.py records what the
//! exporter POSTs, tests/otlp/otlp_decode.js decodes it with the protobufjs
//! root of @opentelemetry/otlp-transformer@0.52.1 (`make otlp-deps`).
//! The exporter is process-wide: the tests of this file take turns (LOCK).
mod common;
use common::{Inner, Outer};
use sonde::otlp::{self, Compression, Options, Protocol};
use sonde::{status, Attr, Span, SpanKind, Traceparent};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shuts the exporter down when a test ends, passed or not.
struct Stop;
impl Drop for Stop {
    fn drop(&mut self) {
        if otlp::running() {
            let _ = otlp::shutdown(Duration::from_secs(2));
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// The node binary, or None (with the reason printed) when the decoder
/// cannot run: the test is then skipped.
fn decoder() -> Option<PathBuf> {
    let node = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("node")).find(|f| f.is_file()));
    let Some(node) = node else {
        eprintln!("skipped: node not found (apt-get install nodejs): the OTLP bodies cannot be decoded with OpenTelemetry's definitions");
        return None;
    };
    let root = repo().join("tests/otlp/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js");
    if !root.exists() {
        eprintln!("skipped: {} missing: run `make otlp-deps` (npm install of @opentelemetry/otlp-transformer@0.52.1)", root.display());
        return None;
    }
    Some(node)
}

struct Receiver {
    dir: PathBuf,
    child: Child,
    url: String,
    node: PathBuf,
}

impl Receiver {
    fn start(node: PathBuf, plan: &str) -> Receiver {
        let dir = std::env::temp_dir().join(format!("sonde-rs-otlp-{}-{}", std::process::id(), SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new("python3")
            .arg(repo().join("tests/otlp/otlp_receiver.py"))
            .arg(&dir)
            .arg(plan)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().strip_prefix("port ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("receiver did not start: {line:?}"));
        Receiver { dir, child, url: format!("http://127.0.0.1:{port}/v1/traces"), node }
    }

    fn bodies(&self) -> Vec<PathBuf> {
        let mut v: Vec<(u32, PathBuf)> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.ok()?.path();
                let n = p.file_name()?.to_str()?.strip_prefix("req-")?.strip_suffix(".body")?.parse().ok()?;
                Some((n, p))
            })
            .collect();
        v.sort();
        assert!(!v.is_empty(), "the receiver got no request");
        v.into_iter().map(|(_, p)| p).collect()
    }

    fn meta(&self, i: usize) -> HashMap<String, String> {
        std::fs::read_to_string(self.dir.join(format!("req-{i}.meta")))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect()
    }

    /// span id hex -> the span's flattened fields, with "resource.*" and
    /// "scope.*" of its ResourceSpans / ScopeSpans.
    fn decode(&self, json: bool) -> HashMap<String, HashMap<String, String>> {
        let mut cmd = Command::new(&self.node);
        cmd.arg(repo().join("tests/otlp/otlp_decode.js")).args(["traces", "--many"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.args(self.bodies()).output().unwrap();
        assert!(out.status.success(), "otlp_decode.js: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        // one "path=value" line per field; a value holding newlines (a
        // stack trace) goes on over the next lines
        let mut lines: Vec<String> = Vec::new();
        for l in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
            if l.starts_with("== ") || l.starts_with("resourceSpans.") || lines.is_empty() {
                lines.push(l.to_owned());
            } else {
                let last = lines.last_mut().unwrap();
                last.push('\n');
                last.push_str(l);
            }
        }
        // (request, resource index) -> (spans by (scope, index), common fields by (scope or "", key))
        type Group = (HashMap<(String, String), HashMap<String, String>>, Vec<(String, String, String)>);
        let mut groups: HashMap<(String, String), Group> = HashMap::new();
        let mut req = String::new();
        for l in &lines {
            if let Some(r) = l.strip_prefix("== ") {
                req = r.to_owned();
                continue;
            }
            let (path, value) = l.split_once('=').unwrap_or((l, ""));
            let Some(rest) = path.strip_prefix("resourceSpans.") else { continue };
            let (ri, rest) = rest.split_once('.').unwrap();
            let g = groups.entry((req.clone(), ri.to_owned())).or_default();
            if let Some(s) = rest.strip_prefix("scopeSpans.") {
                let (si, s) = s.split_once('.').unwrap();
                if let Some(sp) = s.strip_prefix("spans.") {
                    let (n, field) = sp.split_once('.').unwrap();
                    g.0.entry((si.to_owned(), n.to_owned())).or_default().insert(field.to_owned(), value.to_owned());
                } else if s.starts_with("scope.") {
                    g.1.push((si.to_owned(), s.to_owned(), value.to_owned()));
                }
            } else if rest.starts_with("resource.") {
                g.1.push((String::new(), rest.to_owned(), value.to_owned()));
            }
        }
        let mut spans = HashMap::new();
        for (_, (ss, common)) in groups {
            for ((si, _), mut f) in ss {
                for (cs, k, v) in &common {
                    if cs.is_empty() || *cs == si {
                        f.insert(k.clone(), v.clone());
                    }
                }
                spans.insert(f["spanId"].clone(), f);
            }
        }
        spans
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}


fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i128
}

/// Ends a SERVER parent with every attribute type, an event, an exception,
/// a link and an error, its CLIENT child and a PRODUCER root; returns their
/// (trace id, span id) in hex.
fn end_spans() -> [(String, String); 3] {
    let tp = Traceparent::parse(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    let (parent, child);
    {
        let mut p = Span::start("GET /cart");
        p.set_kind(SpanKind::Server);
        p.set_attr("http.request.method", "GET".into());
        p.set_attr("http.response.status_code", Attr::Int(503));
        p.set_attr("ratio", Attr::F64(0.25));
        p.set_attr("cached", Attr::Bool(false));
        p.set_attr("tags", Attr::StrArray(vec!["a".into(), "b".into()]));
        p.set_attr("ids", Attr::IntArray(vec![1, -2]));
        p.set_attr("weights", Attr::F64Array(vec![1.5, 2.5]));
        p.set_attr("flags", Attr::BoolArray(vec![true, false]));
        p.add_event("cache miss", Some(UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_005)), &[("key", "cart:7".into()), ("size", Attr::Int(3))]);
        p.add_link(&tp.context(), &[("reason", "batch".into())]);
        p.record_error(&Outer("saving the cart failed", Inner));
        p.set_error("backend unavailable");
        let ctx = p.context();
        parent = (ctx.trace_id_hex(), ctx.span_id_hex());
        let mut c = Span::start("SELECT cart");
        c.set_kind(SpanKind::Client);
        c.set_attr("db.system", "postgresql".into());
        let cc = c.context();
        child = (cc.trace_id_hex(), cc.span_id_hex());
    }
    let mut o = Span::start("enqueue");
    o.set_kind(SpanKind::Producer);
    let oc = o.context();
    drop(o);
    [parent, child, (oc.trace_id_hex(), oc.span_id_hex())]
}

fn check_spans(spans: &HashMap<String, HashMap<String, String>>, ids: &[(String, String); 3], t0: i128, t1: i128) {
    let get = |i: usize| spans.get(&ids[i].1).unwrap_or_else(|| panic!("span {} not on the wire ({} decoded)", ids[i].1, spans.len()));
    let (p, c, o) = (get(0), get(1), get(2));
    let f = |m: &HashMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    assert_eq!(f(p, "traceId"), ids[0].0);
    assert_eq!(f(c, "traceId"), ids[0].0);
    assert_eq!(f(c, "parentSpanId"), ids[0].1);
    assert_eq!(f(o, "parentSpanId"), "");
    assert_ne!(f(o, "traceId"), ids[0].0);
    assert_eq!((f(p, "name").as_str(), f(p, "kind").as_str()), ("GET /cart", "2"));
    assert_eq!((f(c, "name").as_str(), f(c, "kind").as_str()), ("SELECT cart", "3"));
    assert_eq!((f(o, "name").as_str(), f(o, "kind").as_str()), ("enqueue", "4"));
    let pid = std::process::id().to_string();
    let (scope_name, scope_version) = otlp::scope();
    for s in [p, c, o] {
        let start: i128 = f(s, "startTimeUnixNano").parse().unwrap();
        let end: i128 = f(s, "endTimeUnixNano").parse().unwrap();
        assert!(t0 - 1_000_000 <= start && start <= end && end <= t1 + 1_000_000, "{} times {start}..{end} outside {t0}..{t1}", f(s, "name"));
        assert_eq!(f(s, "resource.attributes[service.name].stringValue"), "rust-otlp-test");
        assert_eq!(f(s, "resource.attributes[service.version].stringValue"), "1.2.3");
        assert_eq!(f(s, "resource.attributes[telemetry.sdk.name].stringValue"), "sonde");
        assert_eq!(f(s, "resource.attributes[process.pid].intValue"), pid);
        assert_eq!(f(s, "scope.name"), scope_name);
        assert_eq!(f(s, "scope.version"), scope_version);
    }
    assert_eq!(scope_name, "sonde");
    assert_eq!(scope_version, sonde::version());
    let a = |k: &str, rest: &str| f(p, &format!("attributes[{k}].{rest}"));
    assert_eq!(a("http.request.method", "stringValue"), "GET");
    assert_eq!(a("http.response.status_code", "intValue"), "503");
    assert_eq!(a("ratio", "doubleValue"), "0.25");
    assert_eq!(a("cached", "boolValue"), "false");
    assert_eq!([a("tags", "arrayValue.values.0.stringValue"), a("tags", "arrayValue.values.1.stringValue")], ["a", "b"]);
    assert_eq!([a("ids", "arrayValue.values.0.intValue"), a("ids", "arrayValue.values.1.intValue")], ["1", "-2"]);
    assert_eq!([a("weights", "arrayValue.values.0.doubleValue"), a("weights", "arrayValue.values.1.doubleValue")], ["1.5", "2.5"]);
    assert_eq!([a("flags", "arrayValue.values.0.boolValue"), a("flags", "arrayValue.values.1.boolValue")], ["true", "false"]);
    assert_eq!(f(c, "attributes[db.system].stringValue"), "postgresql");
    assert_eq!(f(p, "events.0.name"), "cache miss");
    assert_eq!(f(p, "events.0.timeUnixNano"), "1700000000000000005");
    assert_eq!(f(p, "events.0.attributes[key].stringValue"), "cart:7");
    assert_eq!(f(p, "events.0.attributes[size].intValue"), "3");
    assert_eq!(f(p, "events.1.name"), "exception");
    assert_eq!(f(p, "events.1.attributes[exception.type].stringValue"), "otlp::common::Outer");
    assert_eq!(f(p, "events.1.attributes[exception.message].stringValue"), "saving the cart failed");
    assert_eq!(f(p, "events.1.attributes[exception.stacktrace].stringValue"), "otlp::common::Outer: saving the cart failed\ncaused by: disk full\n");
    assert!(!p.contains_key("events.2.name"));
    assert_eq!(f(p, "links.0.traceId"), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(f(p, "links.0.spanId"), "b7ad6b7169203331");
    assert_eq!(f(p, "links.0.attributes[reason].stringValue"), "batch");
    assert_eq!(f(p, "status.code"), "2");
    assert_eq!(f(p, "status.message"), "backend unavailable");
    assert!(matches!(f(c, "status.code").as_str(), "" | "0"), "child status {:?}", f(c, "status.code"));
}

fn wire(protocol: Protocol) {
    let _g = lock();
    let Some(node) = decoder() else { return };
    let rx = Receiver::start(node, "200");
    let _stop = Stop;
    otlp::set_service(Some("rust-otlp-test"), Some("1.2.3"), None).unwrap();
    Options::new()
        .endpoint(&rx.url)
        .header("x-tenant", "blue")
        .timeout(Duration::from_secs(5))
        .protocol(protocol)
        .compression(Compression::None)
        .schedule_delay(Duration::from_millis(50))
        .export_timeout(Duration::from_secs(10))
        .max_queue_size(64)
        .max_export_batch_size(8)
        .retry_initial(Duration::from_millis(50))
        .retry_max(Duration::from_millis(200))
        .start()
        .unwrap();
    assert!(otlp::running());
    let t0 = now_ns();
    let ids = end_spans();
    let t1 = now_ns();
    otlp::flush(Duration::from_secs(10)).unwrap();
    otlp::shutdown(Duration::from_secs(2)).unwrap();
    assert!(!otlp::running());
    let st = otlp::stats();
    assert_eq!(st.spans_ended, st.spans_exported + st.dropped(), "{st:?}");
    assert_eq!(st.dropped(), 0, "{st:?}");
    assert!(st.spans_exported >= 3 && st.export_requests > 0 && st.queue_length == 0, "{st:?}");
    let spans = rx.decode(protocol == Protocol::Json);
    assert_eq!(spans.len() as u64, st.spans_exported);
    check_spans(&spans, &ids, t0, t1);
    let ct = if protocol == Protocol::Json { "application/json" } else { "application/x-protobuf" };
    for i in 0..rx.bodies().len() {
        let m = rx.meta(i);
        assert_eq!(m["path"], "/v1/traces");
        assert_eq!(m["content-type"], ct);
        assert_eq!(m["x-tenant"], "blue");
    }
}

#[test]
fn wire_protobuf() {
    wire(Protocol::Protobuf);
}

#[test]
fn wire_json() {
    wire(Protocol::Json);
}

#[test]
fn bad_options_are_refused_before_start() {
    let _g = lock();
    let _stop = Stop;
    let cases = [
        Options::new().timeout(Duration::ZERO),
        Options::new().schedule_delay(Duration::from_nanos(0)),
        Options::new().export_timeout(Duration::from_secs(u64::MAX)),
        Options::new().retry_max(Duration::from_secs(3_000_000)),
        Options::new().max_queue_size(0),
        Options::new().max_export_batch_size(usize::MAX),
        Options::new().endpoint("http://127.0.0.1:1/v1/\0traces"),
        Options::new().header("x-a", "b\0c"),
        Options::new().header("x\0a", "b"),
    ];
    for (i, o) in cases.iter().enumerate() {
        let e = o.start().expect_err(&format!("case {i}"));
        assert_eq!(e.code, status::EINVAL, "case {i}: {e}");
        assert!(e.message.contains("sonde::otlp") || e.message.contains("NUL"), "case {i}: {e}");
        assert!(!otlp::running(), "case {i} started");
    }
    assert_eq!("grpc".parse::<Protocol>().unwrap_err().code, status::EINVAL);
    assert_eq!("http/JSON".parse::<Protocol>().unwrap(), Protocol::Json);
    assert_eq!("zstd".parse::<Compression>().unwrap_err().code, status::EINVAL);
    assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip);
    // libsonde's own refusal: started on the default, with its message
    let e = Options::new().endpoint("https://collector:4318/v1/traces").schedule_delay(Duration::from_millis(50)).start().unwrap_err();
    assert_eq!(e.code, status::EINVAL);
    assert!(e.message.contains("https://collector:4318"), "{e}");
    assert!(otlp::running());
    assert_eq!(Options::new().start().unwrap_err().code, status::ESTATE);
    otlp::shutdown(Duration::ZERO).unwrap();
    assert!(!otlp::running());
    assert_eq!(otlp::flush(Duration::from_millis(100)).unwrap_err().code, status::ESTATE);
    assert_eq!(otlp::shutdown(Duration::from_millis(1)).unwrap_err().code, status::ESTATE);
}

#[test]
fn resource_and_scope() {
    let _g = lock();
    otlp::set_service(Some("rust-otlp-test"), Some("9.9"), Some("test")).unwrap();
    assert_eq!(otlp::resource("service.name").as_deref(), Some("rust-otlp-test"));
    assert_eq!(otlp::resource("deployment.environment").as_deref(), Some("test"));
    otlp::set_resource_int("shard", -7).unwrap();
    assert_eq!(otlp::resource("shard").as_deref(), Some("-7"));
    otlp::set_resource_str("team", "checkout").unwrap();
    otlp::remove_resource("shard").unwrap();
    assert_eq!(otlp::resource("shard"), None);
    assert_eq!(otlp::resource("process.pid"), Some(std::process::id().to_string()));
    assert_eq!(otlp::set_resource_str("", "x").unwrap_err().code, status::EINVAL);
    assert_eq!(otlp::set_service(Some("a\0b"), None, None).unwrap_err().code, status::EINVAL);
    assert_eq!(otlp::set_scope("", None).unwrap_err().code, status::EINVAL);
    let old = otlp::scope();
    otlp::set_scope("rust.tests", Some("0.3")).unwrap();
    assert_eq!(otlp::scope(), ("rust.tests".to_owned(), "0.3".to_owned()));
    otlp::set_scope(&old.0, Some(&old.1)).unwrap();
}

#[test]
fn from_environment_alone() {
    let _g = lock();
    let Some(node) = decoder() else { return };
    let rx = Receiver::start(node, "200");
    let _stop = Stop;
    let vars = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rx.url.as_str()),
        ("OTEL_SERVICE_NAME", "rust-from-env"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-env=1"),
    ];
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let r = otlp::start_from_env();
    for (k, _) in vars {
        std::env::remove_var(k);
    }
    r.unwrap();
    assert!(otlp::running());
    let id = {
        let mut s = Span::start("from env");
        s.set_kind(SpanKind::Consumer);
        s.context().span_id_hex()
    };
    otlp::flush(Duration::from_secs(10)).unwrap();
    let spans = rx.decode(true);
    let got = &spans[&id];
    assert_eq!(got["name"], "from env");
    assert_eq!(got["kind"], "5");
    assert_eq!(got["resource.attributes[service.name].stringValue"], "rust-from-env");
    let m = rx.meta(0);
    assert_eq!(m["x-env"], "1");
    assert_eq!(m["content-type"], "application/json");
}

/// Records of a Rust logger through `Sink::otlp`, decoded with
/// OpenTelemetry's definitions: body, severity, typed attributes, the trace
/// context of the call, the logger's service as the scope.
#[test]
fn log_sink() {
    let _g = lock();
    let Some(node) = decoder() else { return };
    let r = Receiver::start(node, "200");
    let _stop = Stop;
    let logs_url = r.url.replace("/v1/traces", "/v1/logs");
    Options::new()
        .endpoint(&r.url)
        .logs_endpoint(&logs_url)
        .protocol(Protocol::Protobuf)
        .compression(Compression::None)
        .schedule_delay(Duration::from_millis(50))
        .start()
        .unwrap();
    let sink = sonde::Sink::otlp(&sonde::SinkOpts::default()).unwrap();
    let log = sonde::Logger::new("rust-logs", &sonde::LoggerOpts { level: Some(sonde::Level::Info), sinks: &[&sink], ..Default::default() }).unwrap();
    let (trace_id, span_id) = {
        let mut sp = Span::start("req");
        let ids = (sp.context().trace_id_hex(), sp.context().span_id_hex());
        log.info("paid", &[("amount", 42i64.into()), ("user", "u1".into()), ("ms", 1.5f64.into()), ("ok", true.into())]);
        sp.end();
        ids
    };
    log.warn("outside", &[]);
    log.debug("below the level", &[]);
    sonde::log_flush().unwrap();
    otlp::flush(Duration::from_secs(5)).unwrap();
    let st = otlp::stats();
    // the two calls at or above Info (and the span's own line when this
    // logger is the default one)
    assert!(st.logs_handed >= 2 && st.logs_exported == st.logs_handed && st.logs_dropped() == 0, "{st:?}");
    let logs: Vec<PathBuf> = r.bodies().into_iter().enumerate().filter(|(i, _)| r.meta(*i).get("path").map(String::as_str) == Some("/v1/logs")).map(|(_, p)| p).collect();
    assert!(!logs.is_empty(), "no request on /v1/logs");
    let out = Command::new(&r.node).arg(repo().join("tests/otlp/otlp_decode.js")).args(["logs", "--many"]).args(&logs).output().unwrap();
    assert!(out.status.success(), "otlp_decode.js: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    // (request, scope, record) -> fields; scope names seen
    let mut recs: HashMap<(String, String, String), HashMap<String, String>> = HashMap::new();
    let mut scopes = Vec::new();
    let mut req = String::new();
    for l in text.lines() {
        if let Some(q) = l.strip_prefix("== ") {
            req = q.to_owned();
            continue;
        }
        let (path, value) = l.split_once('=').unwrap_or((l, ""));
        let Some(rest) = path.strip_prefix("resourceLogs.").and_then(|p| p.split_once(".scopeLogs.")).map(|(_, p)| p) else { continue };
        let (si, rest) = rest.split_once('.').unwrap();
        if rest == "scope.name" {
            scopes.push(value.to_owned());
        } else if let Some(rec) = rest.strip_prefix("logRecords.") {
            let (n, field) = rec.split_once('.').unwrap();
            recs.entry((req.clone(), si.to_owned(), n.to_owned())).or_default().insert(field.to_owned(), value.to_owned());
        }
    }
    let by_body: HashMap<String, HashMap<String, String>> = recs.into_values().map(|f| (f.get("body.stringValue").cloned().unwrap_or_default(), f)).collect();
    assert!(scopes.iter().any(|s| s == "rust-logs"), "scopes {scopes:?}");
    assert!(!by_body.contains_key("below the level"), "{by_body:?}");
    let paid = by_body.get("paid").unwrap_or_else(|| panic!("no paid record: {text}"));
    for (k, want) in [
        ("severityNumber", "9"),
        ("severityText", "INFO"),
        ("traceId", trace_id.as_str()),
        ("spanId", span_id.as_str()),
        ("attributes[amount].intValue", "42"),
        ("attributes[user].stringValue", "u1"),
        ("attributes[ms].doubleValue", "1.5"),
        ("attributes[ok].boolValue", "true"),
    ] {
        assert_eq!(paid.get(k).map(String::as_str), Some(want), "paid.{k}: {paid:?}");
    }
    let outside = by_body.get("outside").unwrap_or_else(|| panic!("no outside record: {text}"));
    assert_eq!(outside.get("severityNumber").map(String::as_str), Some("13"));
    assert_eq!(outside.get("severityText").map(String::as_str), Some("WARN"));
    assert_eq!(outside.get("traceId"), None, "{outside:?}");
    drop(log);
    drop(sink);
}
