//! Scoped context fields (`sonde::log_scope`, an RAII guard) and call-site
//! sampling, through the C library: lines read back from a file sink.

use sonde::{status, Logger, LoggerOpts, Sink, Value};

fn log_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-rs-scope-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("app.log");
    let _ = std::fs::remove_file(&p);
    p
}

/// The lines without their timestamp (key order matters).
fn lines(path: &std::path::Path) -> Vec<String> {
    sonde::log_flush().unwrap();
    std::fs::read_to_string(path).unwrap().lines().map(|l| l[l.find("\"level\"").unwrap()..].to_string()).collect()
}

#[test]
fn guard_nests_inner_wins_and_pops_on_drop() {
    let path = log_file("nest");
    let sink = Sink::file(path.to_str().unwrap(), &Default::default()).unwrap();
    let log = Logger::new("svc", &LoggerOpts { level_env: Some(""), sinks: &[&sink], ..Default::default() }).unwrap();
    log.info("before", &[]);
    {
        let uid = String::from("u1");
        let _outer = sonde::log_scope(&[("user_id", Value::from(&uid)), ("tenant", 7i64.into())]).unwrap();
        assert_eq!(sonde::log_scope_fields(), 2);
        log.info("outer", &[("items", 3i64.into())]);
        {
            let _inner = sonde::log_scope(&[("user_id", "u2".into())]).unwrap();
            log.info("inner", &[("tenant", 8i64.into())]);
        }
        log.warn("outer again", &[]);
    }
    assert_eq!(sonde::log_scope_fields(), 0);
    log.info("after", &[]);
    // another thread does not see this thread's scope
    let _s = sonde::log_scope(&[("here", true.into())]).unwrap();
    let l2 = &log;
    std::thread::scope(|t| {
        t.spawn(|| l2.info("other thread", &[]));
    });
    drop(_s);
    assert_eq!(
        lines(&path),
        vec![
            r#""level":"info","message":"before","service":"svc"}"#,
            r#""level":"info","message":"outer","service":"svc","user_id":"u1","tenant":7,"items":3}"#,
            r#""level":"info","message":"inner","service":"svc","user_id":"u2","tenant":8}"#,
            r#""level":"warn","message":"outer again","service":"svc","user_id":"u1","tenant":7}"#,
            r#""level":"info","message":"after","service":"svc"}"#,
            r#""level":"info","message":"other thread","service":"svc"}"#,
        ]
    );
}

#[test]
fn errors_and_out_of_order_drops_never_crash() {
    let nine: Vec<(String, Value)> = (0..9).map(|i| (format!("k{i}"), Value::I64(i))).collect();
    let nine_ref: Vec<(&str, Value)> = nine.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    assert_eq!(sonde::log_scope(&nine_ref).err().unwrap().code, status::EINVAL);
    assert_eq!(sonde::log_scope(&[("", 1i64.into())]).err().unwrap().code, status::EINVAL);
    assert_eq!(sonde::log_scope(&[("k", 1i64.into()), ("k", 2i64.into())]).err().unwrap().code, status::EINVAL);
    let big = "x".repeat(2000);
    assert_eq!(sonde::log_scope(&[("big", Value::from(&big))]).err().unwrap().code, status::ELIMIT);
    assert!(sonde::log_scope(&[("a\0b", 1i64.into())]).is_err());
    assert_eq!(sonde::log_scope_fields(), 0);
    // outer dropped first: the inner scope goes with it; its drop is harmless
    let outer = sonde::log_scope(&[("a", 1i64.into())]).unwrap();
    let inner = sonde::log_scope(&[("b", 2i64.into())]).unwrap();
    assert_eq!(outer.pop().err().unwrap().code, status::ESTATE);
    assert_eq!(sonde::log_scope_fields(), 0);
    assert_eq!(inner.pop().err().unwrap().code, status::ESTATE);
    let g = sonde::log_scope(&[("c", 3i64.into())]).unwrap();
    g.pop().unwrap();
    assert_eq!(sonde::log_scope_fields(), 0);
}

#[test]
fn sampling_first_then_one_in_m() {
    let path = log_file("sample");
    let sink = Sink::file(path.to_str().unwrap(), &Default::default()).unwrap();
    let log = Logger::new(
        "svc",
        &LoggerOpts { level_env: Some(""), sinks: &[&sink], sample_first: 1, sample_thereafter: 4, sample_interval_ms: u32::MAX, ..Default::default() },
    )
    .unwrap();
    let before = sonde::log_sampled_total(sonde::Level::Info);
    for i in 1..=9i64 {
        log.info("hot", &[("i", i.into())]);
    }
    for _ in 0..3 {
        log.error("bad", &[]);
    }
    let got = lines(&path);
    let hot: Vec<&String> = got.iter().filter(|l| l.contains("\"hot\"")).collect();
    assert_eq!(hot.len(), 3, "{got:?}"); // 1, then 5 and 9
    assert!(hot[1].contains("\"i\":5") && hot[2].contains("\"i\":9"), "{hot:?}");
    assert_eq!(got.iter().filter(|l| l.contains("\"bad\"")).count(), 3);
    assert_eq!(sonde::log_sampled_total(sonde::Level::Info) - before, 6);
}
