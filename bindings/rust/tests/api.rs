use sonde::{status, Counter, CounterVec, Format, Gauge, Histogram, HistogramVec, Level, Logger, LoggerOpts, Registry, Sink, SinkOpts, Span, Summary, Traceparent, Value};

fn text(r: &Registry) -> String {
    String::from_utf8(r.expose(Format::Text).unwrap()).unwrap()
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    assert_send_sync::<Counter>();
    assert_send_sync::<CounterVec>();
    assert_send_sync::<Histogram>();
    assert_send_sync::<Registry>();
    assert_send_sync::<Logger>();
}

#[test]
fn counter_values_and_exposition() {
    let r = Registry::new().unwrap();
    let c = Counter::new(Some(&r), "jobs_total", "Jobs.").unwrap();
    c.inc();
    c.add(2.5);
    c.add_u64(3);
    c.add(-1.0); // dropped and counted by sonde
    c.add(f64::NAN);
    assert_eq!(c.get(), 6.5);
    assert!(text(&r).contains("# TYPE jobs_total counter\njobs_total 6.5\n"));
}

#[test]
fn labels_and_errors_carry_the_c_message() {
    let r = Registry::new().unwrap();
    let v = CounterVec::new(Some(&r), "req_total", "R.", &["method", "code"]).unwrap();
    v.with_label_values(&["GET", "200"]).unwrap().inc();
    v.with_label_values(&["GET", "200"]).unwrap().add(2.0);
    v.with_label_bytes(&["a\u{e9}b".as_bytes(), b"q\"\\\n"]).unwrap().inc();
    // label values must be UTF-8: an invalid one is refused, never exposed
    // as U+FFFD (two such values would collapse into one series)
    let e = v.with_label_bytes(&[b"a\xffb", b"x"]).err().unwrap();
    assert_eq!(e.code, status::EINVAL);
    assert!(e.message.contains("not valid UTF-8"), "{e}");
    assert_eq!(v.len(), 2);
    let e = v.with_label_values(&["only-one"]).err().unwrap();
    assert_eq!((e.code, e.name.as_str()), (status::EINVAL, "EINVAL"));
    assert!(e.message.contains("1 label values given"), "{e}");
    let long = "x".repeat(2000);
    assert_eq!(v.with_label_values(&["GET", &long]).err().unwrap().code, status::EINVAL);
    let many: Vec<&str> = vec![""; 40];
    assert!(v.with_label_values(&many).is_err());
    let out = text(&r);
    assert!(out.contains("req_total{method=\"GET\",code=\"200\"} 3\n"), "{out}");
    assert!(out.contains("req_total{method=\"a\u{e9}b\",code=\"q\\\"\\\\\\n\"} 1\n"), "{out}");
}

#[test]
fn names_conflicts_limits() {
    let r = Registry::new().unwrap();
    let e = Counter::new(Some(&r), "9bad", "").err().unwrap();
    assert!(e.code == status::EINVAL && e.message.contains("\"9bad\" is invalid"), "{e}");
    assert_eq!(Counter::new(Some(&r), "nul\0name", "").err().unwrap().code, status::EINVAL);
    Gauge::new(Some(&r), "same", "one").unwrap();
    Gauge::new(Some(&r), "same", "one").unwrap();
    assert_eq!(Gauge::new(Some(&r), "same", "two").err().unwrap().code, status::EEXIST);
    assert!(HistogramVec::new(Some(&r), "h", "", &["le"], None).is_err());
    assert!(Histogram::new(Some(&r), "bad_seconds", "", Some(&[1.0, 0.5])).is_err());
}

#[test]
fn remove_clear_unregister() {
    let r = Registry::new().unwrap();
    let v = CounterVec::new(Some(&r), "rm_total", "", &["k"]).unwrap();
    let old = v.with_label_values(&["a"]).unwrap();
    old.inc();
    v.remove(&["a"]).unwrap();
    old.inc(); // discarded, never a crash
    assert!(!text(&r).contains("rm_total{k=\"a\"}"));
    assert_eq!(v.remove(&["zz"]).err().unwrap().code, status::ENOENT);
    v.with_label_values(&["b"]).unwrap().inc();
    v.clear();
    assert!(v.is_empty());
    r.unregister(&v).unwrap();
    assert_eq!(r.unregister(&v).err().unwrap().code, status::ENOENT);
}

// Issue 13.5: two vecs of one definition share the C family. The crate
// keeps no label cache (each with_label_values asks C, which is lock-free
// for an existing child), so a child removed or cleared through one is
// never handed out by the other; this pins that down.
#[test]
fn removal_through_another_vec_is_seen() {
    let r = Registry::new().unwrap();
    let a = CounterVec::new(Some(&r), "shared_total", "S.", &["k"]).unwrap();
    let b = CounterVec::new(Some(&r), "shared_total", "S.", &["k"]).unwrap();
    b.with_label_values(&["x"]).unwrap().inc();
    a.remove(&["x"]).unwrap();
    for _ in 0..5 {
        b.with_label_values(&["x"]).unwrap().inc();
    }
    assert!(text(&r).contains("shared_total{k=\"x\"} 5\n"), "{}", text(&r));
    b.with_label_values(&["y"]).unwrap().add(2.0);
    a.clear(); // sonde_family_clear through the other handle
    b.with_label_values(&["y"]).unwrap().add(3.0);
    assert!(text(&r).contains("shared_total{k=\"y\"} 3\n"), "{}", text(&r));
}

#[test]
fn gauge_histogram_summary_and_timer() {
    let r = Registry::new().unwrap();
    let g = Gauge::new(Some(&r), "temp", "").unwrap();
    g.set(10.0);
    g.inc();
    g.add(2.5);
    g.dec();
    g.sub(0.5);
    assert_eq!(g.get(), 12.0);
    let h = Histogram::new(Some(&r), "lat_seconds", "", Some(&[0.1, 1.0, f64::INFINITY])).unwrap();
    for v in [0.05, 0.1, 0.5, 3.0] {
        h.observe(v);
    }
    assert_eq!((h.bucket(0), h.bucket(1), h.bucket(2), h.count()), (2, 3, 4, 4));
    {
        let _t = h.start_timer();
    }
    let secs = h.start_timer().stop();
    assert!(secs >= 0.0 && h.count() == 6 && h.bucket(0) == 4);
    let s = Summary::new(Some(&r), "size_bytes", "", Some(&[0.5, 0.99])).unwrap();
    for i in 1..=100 {
        s.observe(i as f64);
    }
    assert_eq!((s.count(), s.sum()), (100, 5050.0));
    assert!((s.quantile(0.5) - 50.0).abs() / 50.0 < 0.01);
    let out = text(&r);
    assert!(out.contains("lat_seconds_bucket{le=\"+Inf\"} 6\n") && out.contains("size_bytes{quantile=\"0.99\"}"), "{out}");
}

#[test]
fn threads_share_one_counter() {
    let r = Registry::new().unwrap();
    let c = Counter::new(Some(&r), "thr_total", "").unwrap();
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || (0..10000).for_each(|_| c.inc()))
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(c.get(), 40000.0);
}

#[test]
fn registry_lifetime_follows_handles() {
    let c = {
        let r = Registry::new().unwrap();
        Counter::new(Some(&r), "outlives_total", "").unwrap()
    }; // the registry object is gone, the handle keeps it alive
    c.inc();
    assert_eq!(c.get(), 1.0);
    let d = Counter::new(None, "rust_default_total", "D.").unwrap();
    d.inc();
    let out = text(&Registry::default_registry());
    assert!(out.contains("rust_default_total 1\n") && out.contains("# TYPE process_cpu_seconds_total counter"));
}

#[test]
fn exposition_formats_and_negotiation() {
    let r = Registry::new().unwrap();
    Counter::new(Some(&r), "http_x_total", "X.").unwrap().add(3.0);
    let om = String::from_utf8(r.expose(Format::OpenMetrics).unwrap()).unwrap();
    assert!(om.contains("# TYPE http_x counter\n") && om.ends_with("# EOF\n"), "{om}");
    assert_eq!(sonde::negotiate(b"application/openmetrics-text;version=1.0.0,*/*;q=0.1"), (Format::OpenMetrics, Format::OpenMetrics.content_type()));
    assert_eq!(sonde::negotiate(b"\xff garbage").0, Format::Text);
    let (body, ct, enc) = r.expose_http(Some("text/plain"), None).unwrap();
    assert_eq!((ct, enc), (Format::Text.content_type(), None));
    assert!(String::from_utf8(body).unwrap().contains("http_x_total 3\n"));
}

const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[test]
fn traceparent_tracestate_baggage() {
    let tp = Traceparent::parse(TP.as_bytes()).unwrap();
    assert_eq!(tp.format().unwrap(), TP);
    assert!(tp.context().sampled());
    for bad in [TP.to_uppercase().into_bytes(), format!("00-{}-b7ad6b7169203331-01", "0".repeat(32)).into_bytes(), TP[..54].as_bytes().to_vec(), vec![], vec![0xff; 55]] {
        assert_eq!(Traceparent::parse(&bad).err().unwrap().code, status::EINVAL);
    }
    let mut ts = sonde::TraceState::new().unwrap();
    ts.parse(b"a=1,b=2").unwrap();
    ts.set("b", "3").unwrap();
    assert_eq!(ts.to_string(), "b=3,a=1");
    assert_eq!(ts.get("a").as_deref(), Some("1"));
    assert!(ts.parse(b"A=1").is_err() && ts.is_empty());
    let mut bg = sonde::Baggage::new().unwrap();
    bg.parse(b"userId=alice,serverNode=DF%2028;ttl=3").unwrap();
    assert_eq!(bg.get("serverNode").unwrap(), b"DF 28");
    bg.set("city", "Zürich".as_bytes(), "").unwrap();
    assert!(bg.format().unwrap().contains("city=Z%C3%BCrich"));
    assert_eq!(bg.remove("nope").err().unwrap().code, status::ENOENT);
}

// issue 13.2: A then B, A ended and dropped first: B stays current and
// B's end restores what was current before A, never A's freed memory.
#[test]
fn spans_ended_out_of_order() {
    std::thread::spawn(|| {
        let mut a = Span::start("a");
        let b = Span::start("b");
        let bctx = b.context();
        a.end();
        assert_eq!(sonde::current_context(), bctx);
        drop(a);
        let junk: Vec<Vec<u8>> = (0..256).map(|_| vec![0xa5u8; 512]).collect();
        drop(b);
        drop(junk);
        assert!(!sonde::current_context().is_valid());
        let c = Span::start("c");
        assert_eq!(c.parent_span_id(), [0u8; 8]);
    })
    .join()
    .unwrap();
}

#[test]
fn span_status_ok_and_error() {
    let mut s = Span::start("st");
    assert_eq!(s.status(), 0);
    s.set_ok();
    assert_eq!(s.status(), 1);
    s.set_error("boom");
    s.set_ok(); // an error is kept
    assert_eq!(s.status(), 2);
}

#[test]
fn span_guards_nest_and_restore() {
    assert!(!sonde::current_context().is_valid());
    {
        let outer = Span::start("outer");
        {
            let mut inner = Span::start("inner");
            assert_eq!(inner.parent_span_id(), outer.context().span_id);
            assert_eq!(inner.context().trace_id, outer.context().trace_id);
            inner.set_int("n", 3);
            inner.set_str("path", "/a");
            inner.set_bool("ok", true);
            inner.set_f64("r", 0.5);
            inner.set_error("boom");
            assert_eq!(inner.status(), 2);
            inner.end();
            assert!(inner.duration_ns() > 0);
            assert_eq!(sonde::current_context(), outer.context());
        }
        let remote = Traceparent::parse(TP.as_bytes()).unwrap().context();
        let s = Span::start_child_of("server", &remote);
        assert_eq!(s.parent_span_id(), remote.span_id);
        assert!(s.context().traceparent().unwrap().starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
        drop(s);
        let _g = sonde::attach(Some(&remote));
        assert_eq!(sonde::current_context().span_id_hex(), "b7ad6b7169203331");
    }
    assert!(!sonde::current_context().is_valid());
    let seen = std::thread::spawn(|| sonde::current_context().is_valid());
    let _s = Span::start("main");
    assert!(!seen.join().unwrap(), "context leaked across threads");
}

fn log_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-rs-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("app.log");
    let _ = std::fs::remove_file(&p);
    p
}

// issue 15: an error and its sources as an error field, in json, ecs, otel
#[derive(Debug)]
struct ConfigError {
    source: std::io::Error,
}
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "load config")
    }
}
impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[test]
fn logger_error_field_in_profiles() {
    let paths: Vec<(&'static str, std::path::PathBuf)> =
        ["json", "ecs", "otel"].iter().map(|p| (*p, log_file(&format!("err-{p}")))).collect();
    let sinks: Vec<Sink> = paths
        .iter()
        .map(|(p, path)| Sink::file(path.to_str().unwrap(), &SinkOpts { profile: Some(p), ..Default::default() }).unwrap())
        .collect();
    let refs: Vec<&Sink> = sinks.iter().collect();
    let log = Logger::new("svc", &LoggerOpts { level_env: Some(""), sinks: &refs, ..Default::default() }).unwrap();
    let e = ConfigError { source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file") };
    let tree = sonde::ErrorTree::new(&e);
    log.error("startup failed", &[("err", Value::error(&tree)), ("attempt", 2i64.into())]);
    sonde::log_flush().unwrap();
    let line = |i: usize| std::fs::read_to_string(&paths[i].1).unwrap();
    let j = line(0);
    for want in ["\"err\":{\"type\":\"api::ConfigError\",\"message\":\"load config\",\"stack\":\"caused by: no such file\"}", "\"attempt\":2"] {
        assert!(j.contains(want), "{want} not in {j}");
    }
    let e = line(1);
    assert!(e.contains("\"error\":{\"type\":\"api::ConfigError\",\"message\":\"load config\",\"stack_trace\":\"caused by: no such file\"}"), "{e}");
    let o = line(2);
    assert!(o.contains("\"exception.type\":\"api::ConfigError\",\"exception.message\":\"load config\",\"exception.stacktrace\":\"caused by: no such file\""), "{o}");
    assert!(o.contains("\"severity_number\":17"), "{o}");
    assert_eq!(Sink::file("/tmp/x", &SinkOpts { profile: Some("yaml"), ..Default::default() }).err().unwrap().code, status::EINVAL);
}

#[test]
fn logger_fields_levels_children() {
    let path = log_file("fields");
    let sink = Sink::file(path.to_str().unwrap(), &Default::default()).unwrap();
    let log = Logger::new("svc", &LoggerOpts { level_env: Some(""), sinks: &[&sink], ..Default::default() }).unwrap();
    log.debug("hidden", &[]);
    log.info("typed", &[("i", (-5i64).into()), ("u", u64::MAX.into()), ("f", 0.1.into()), ("t", true.into()), ("s", "é".into()),
        ("n", Value::Null), ("b", Value::Str(b"\xff")), ("o", Some(3i64).into())]);
    let api = log.with(&[("component", "api".into()), ("shard", 3i64.into())]).unwrap();
    api.warn("child", &[]);
    log.set_level(Level::Debug);
    assert_eq!(log.level(), Level::Debug);
    log.debug("now shown", &[]);
    sonde::log_flush().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for want in ["\"message\":\"typed\"", "\"i\":-5", "\"u\":18446744073709551615", "\"f\":0.1", "\"t\":true", "\"s\":\"é\"", "\"n\":null", "\"b\":\"\u{fffd}\"", "\"o\":3"] {
        assert!(lines[0].contains(want), "{want} not in {}", lines[0]);
    }
    assert!(lines[1].contains("\"component\":\"api\"") && lines[1].contains("\"shard\":3") && lines[1].contains("\"level\":\"warn\""), "{}", lines[1]);
    assert!(lines[2].contains("now shown"));
    assert_eq!(Level::parse("WARNING").unwrap(), Level::Warn);
    assert!(Level::parse("loud").is_err());
    assert_eq!(Logger::new("", &Default::default()).err().unwrap().code, status::EINVAL);
    let e = Sink::file("/nonexistent-dir/x/y.log", &Default::default()).err().unwrap();
    assert_eq!(e.code, status::EIO, "{e}");
}

#[test]
fn logger_varying_messages_and_limits() {
    let path = log_file("varying");
    let sink = Sink::file(path.to_str().unwrap(), &Default::default()).unwrap();
    let log = Logger::new("svc", &LoggerOpts { level_env: Some(""), sinks: &[&sink], ..Default::default() }).unwrap();
    // messages are copied with each record: any number of distinct ones
    for i in 0..50i64 {
        log.info(&format!("message number {i}"), &[("k", i.into())]);
    }
    let names: Vec<String> = (0..16).map(|i| format!("f{i}")).collect();
    let many: Vec<(&str, Value)> = names.iter().enumerate().map(|(i, n)| (n.as_str(), (i as i64).into())).collect();
    log.try_log(Level::Info, "fifteen", &many[..15]).unwrap();
    assert_eq!(log.try_log(Level::Info, "sixteen", &many).err().unwrap().code, status::EINVAL);
    assert_eq!(log.try_log(Level::Info, "dup", &[("a", 1i64.into()), ("a", 2i64.into())]).err().unwrap().code, status::EINVAL);
    sonde::log_flush().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 51, "{text}");
    assert!(lines[49].contains("\"message\":\"message number 49\"") && lines[49].contains("\"k\":49"), "{}", lines[49]);
    assert!(lines[50].contains("\"f14\":14"), "{}", lines[50]);
}

// issue 20: records below the level are kept and written before the error
#[test]
fn logger_flight_recorder() {
    let path = log_file("flight");
    let sink = Sink::file(path.to_str().unwrap(), &Default::default()).unwrap();
    let log = Logger::new(
        "svc",
        &LoggerOpts { level_env: Some(""), sinks: &[&sink], flight_recorder: true, flight_scope: sonde::FlightScope::Thread, ..Default::default() },
    )
    .unwrap();
    assert_eq!(log.level(), Level::Info);
    assert!(log.enabled(Level::Debug) && !log.enabled(Level::Trace));
    log.debug("kept", &[("i", 1i64.into())]);
    log.error("boom", &[]);
    sonde::log_flush().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("\"message\":\"kept\"") && lines[0].contains("\"_replayed\":true"), "{lines:?}");
    assert!(lines[1].contains("\"message\":\"boom\""), "{lines:?}");
}

// issue 20: a Rust process dying by SIGABRT leaves its records and a crash record
#[test]
fn crash_flush_in_a_child() {
    if let Ok(path) = std::env::var("SONDE_CRASH_CHILD") {
        let sink = Sink::file(&path, &Default::default()).unwrap();
        let log = Logger::new("rust-crash", &LoggerOpts { level_env: Some(""), sinks: &[&sink], ..Default::default() }).unwrap();
        sonde::crash_flush_enable().unwrap();
        for i in 0..300i64 {
            log.info("step", &[("i", i.into())]);
        }
        std::process::abort();
    }
    let path = log_file("crash");
    let _ = std::fs::remove_file(&path);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_flush_in_a_child", "--test-threads=1"])
        .env("SONDE_CRASH_CHILD", &path)
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "{out:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches("\"message\":\"step\"").count(), 300);
    assert_eq!(text.matches("\"message\":\"crash\"").count(), 1);
    assert!(text.contains("\"signal\":\"SIGABRT\""));
}

#[test]
fn native_histogram_and_protobuf() {
    let r = Registry::new().unwrap();
    let n = sonde::NativeOpts { bucket_factor: 2.0, max_buckets: 30, ..Default::default() };
    let h = sonde::Histogram::new_native(Some(&r), "rs_native_seconds", "N.", None, &n).unwrap();
    for i in 0..100 {
        h.observe(if i % 2 == 0 { i as f64 } else { -(i as f64) / 8.0 });
    }
    assert_eq!(h.count(), 100);
    assert!(text(&r).contains("rs_native_seconds_bucket{le=\"+Inf\"} 100\n"));
    let pb = r.expose(sonde::Format::Protobuf).unwrap();
    assert!(pb.len() > 20 && pb.windows(17).any(|w| w == b"rs_native_seconds"));
    let both = sonde::NativeOpts { classic: true, ..Default::default() };
    let hb = sonde::Histogram::new_native(Some(&r), "rs_both_seconds", "B.", Some(&[0.1, 1.0]), &both).unwrap();
    hb.observe(0.5);
    assert_eq!(hb.bucket(1), 1);
    let (f, ct) = sonde::negotiate(b"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited");
    assert_eq!(f, sonde::Format::Protobuf);
    assert_eq!(ct, sonde::Format::Protobuf.content_type());
    assert_eq!(sonde::negotiate(b"*/*").0, sonde::Format::Text);
    let bad = sonde::NativeOpts { max_buckets: 999, ..Default::default() };
    assert!(sonde::Histogram::new_native(Some(&r), "rs_bad_seconds", "X.", None, &bad).is_err());
}
