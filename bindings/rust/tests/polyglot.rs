//! C and Rust in one process: one registry, one trace context, one log
//! stream; and the crate's struct layouts equal the C compiler's.
#![cfg(not(sonde_no_ctest))]

use std::os::raw::{c_char, c_int, c_void};

#[link(name = "sonde_ctest", kind = "static")]
extern "C" {
    fn helper_inc(n: c_int);
    fn helper_child_span(trace: *mut c_char, parent: *mut c_char);
    fn helper_log(l: *mut c_void, n: c_int);
    fn helper_layout(name: *const c_char, size: *mut usize, align: *mut usize) -> c_int;
    fn helper_offset(i: c_int) -> usize;
}

fn text() -> String {
    String::from_utf8(sonde::Registry::default_registry().expose(sonde::Format::Text).unwrap()).unwrap()
}

#[test]
fn struct_layouts_match_c() {
    let names = ["sonde_buf", "sonde_metric_opts", "sonde_span_context", "sonde_context_scope", "sonde_span_attr", "sonde_span",
        "sonde_traceparent", "sonde_expose_result", "sonde_log_sink_opts", "sonde_log_opts", "sonde_log_field", "sonde_log_site", "sonde_log_scope",
        "sonde_log_value", "sonde_log_tree", "sonde_health_opts", "sonde_health_check_opts", "sonde_header", "sonde_push_opts", "sonde_exporter_opts", "sonde_span_event", "sonde_span_link", "sonde_http_server_opts", "sonde_http_request_info", "sonde_http_request", "sonde_otlp_options", "sonde_otlp_stats"];
    for n in names {
        let cn = std::ffi::CString::new(n).unwrap();
        let (mut s, mut a) = (0usize, 0usize);
        assert_eq!(unsafe { helper_layout(cn.as_ptr(), &mut s, &mut a) }, 1, "{n}");
        assert_eq!(sonde::layout_of(n), Some((s, a)), "{n}: C has size {s} align {a}");
    }
    // the fields Rust reads or writes by name, at C's offsets
    for (i, e) in sonde::field_offsets().iter().enumerate() {
        assert_eq!(unsafe { helper_offset(i as c_int) }, *e, "offset {i}");
    }
}

#[test]
fn rust_and_c_metrics_in_one_exposition() {
    let v = sonde::CounterVec::new(None, "polyglot_requests_total", "Requests.", &["lang"]).unwrap();
    v.with_label_values(&["rust"]).unwrap().add(5.0);
    unsafe { helper_inc(3) };
    v.with_label_values(&["c"]).unwrap().inc();
    let out = text();
    assert!(out.contains("polyglot_requests_total{lang=\"rust\"} 5\n"), "{out}");
    assert!(out.contains("polyglot_requests_total{lang=\"c\"} 4\n"), "{out}");
    assert!(out.contains("polyglot_c_jobs_total 3\n"), "{out}");
}

#[test]
fn rust_span_is_parent_of_c_span() {
    let sp = sonde::Span::start("rust-parent");
    let mut t = [0 as c_char; 33];
    let mut p = [0 as c_char; 17];
    unsafe { helper_child_span(t.as_mut_ptr(), p.as_mut_ptr()) };
    let s = |b: &[c_char]| unsafe { std::ffi::CStr::from_ptr(b.as_ptr()) }.to_str().unwrap().to_owned();
    assert_eq!(s(&t), sp.context().trace_id_hex());
    assert_eq!(s(&p), sp.context().span_id_hex());
    drop(sp);
    assert!(!sonde::current_context().is_valid());
}

#[test]
fn rust_and_c_records_in_one_stream() {
    let dir = std::env::temp_dir().join(format!("sonde-rs-poly-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mixed.log");
    let _ = std::fs::remove_file(&path);
    let sink = sonde::Sink::file(path.to_str().unwrap(), &Default::default()).unwrap();
    let log = sonde::Logger::new("poly", &sonde::LoggerOpts { level_env: Some(""), sinks: &[&sink], ..Default::default() }).unwrap();
    let trace;
    {
        let sp = sonde::Span::start("req");
        trace = sp.context().trace_id_hex();
        log.info("from rust", &[("lang", "rust".into())]);
        unsafe { helper_log(log.as_ptr(), 7) };
    }
    sonde::log_flush().unwrap();
    // span lines go to the process's default logger, which may be another
    // test's (tests run concurrently): this test checks the records it wrote
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"message\":\"span\""))
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("\"message\":\"from rust\"") && lines[1].contains("\"message\":\"from C\""), "{lines:?}");
    assert!(lines[1].contains("\"n\":7"), "{lines:?}");
    for l in &lines {
        assert!(l.contains(&format!("\"trace_id\":\"{trace}\"")), "{l}");
    }
}
