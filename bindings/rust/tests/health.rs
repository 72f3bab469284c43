//! sonde::Health: Rust closures answer liveness, readiness and startup
//! probes through libsonde (aggregation, panics, timeouts, cache, metrics,
//! release of the closures), and a C check joins the same probe.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde::{CheckOpts, Health, Probe, Registry, Verdict};

fn field<'a>(body: &'a str, check: &str) -> &'a str {
    let start = body.find(&format!("\"{check}\":{{")).unwrap_or_else(|| panic!("{check} not in {body}"));
    let rest = &body[start..];
    &rest[..rest.find('}').unwrap() + 1]
}

#[test]
fn results_aggregate_into_status_and_body() {
    let reg = Registry::new().unwrap();
    let h = Health::new(Some(&reg), Some("2.0.1")).unwrap();
    h.add_check("ok", CheckOpts::default(), Verdict::pass).unwrap();
    h.add_check("slowish", CheckOpts::default(), || Verdict::warn("3 of 4 nodes")).unwrap();
    h.add_check("io", CheckOpts::default(), || -> Result<(), std::io::Error> { Ok(()) }).unwrap();
    let (code, body) = h.evaluate(Probe::Readiness).unwrap();
    assert_eq!(code, 200);
    assert!(body.starts_with("{\"status\":\"degraded\",\"probe\":\"readiness\""), "{body}");
    assert!(body.contains("\"version\":\"2.0.1\""), "{body}");
    assert!(field(&body, "slowish").contains("\"message\":\"3 of 4 nodes\""), "{body}");
    assert!(field(&body, "io").contains("\"status\":\"pass\""), "{body}");
    assert_eq!(h.len(), 3);

    h.add_check("db", CheckOpts::default(), || -> Result<(), String> { Err("refused on 5432".into()) }).unwrap();
    let (code, body) = h.evaluate(Probe::Readiness).unwrap();
    assert_eq!(code, 503);
    assert!(body.starts_with("{\"status\":\"unhealthy\""), "{body}");
    assert!(field(&body, "db").contains("\"error\":\"refused on 5432\""), "{body}");

    let text = String::from_utf8(reg.expose(sonde::Format::Text).unwrap()).unwrap();
    assert!(text.contains("sonde_health_check_status{check=\"slowish\",probe=\"readiness\"} 0.5"), "{text}");
    assert!(text.contains("sonde_health_check_status{check=\"db\",probe=\"readiness\"} 0"), "{text}");
}

#[test]
fn a_panicking_check_fails_and_the_process_survives() {
    let h = Health::new(Some(&Registry::new().unwrap()), None).unwrap();
    h.add_check("boom", CheckOpts::default(), || -> Verdict { panic!("pool poisoned") }).unwrap();
    let (code, body) = h.evaluate(Probe::Readiness).unwrap();
    assert_eq!(code, 503);
    assert!(field(&body, "boom").contains("check panicked: pool poisoned"), "{body}");
}

#[test]
fn timeouts_and_cache() {
    let h = Health::new(Some(&Registry::new().unwrap()), None).unwrap();
    let slow = CheckOpts { timeout: Some(Duration::from_millis(100)), ..CheckOpts::default() };
    h.add_check("slow", slow, || {
        std::thread::sleep(Duration::from_millis(400));
        Verdict::pass()
    })
    .unwrap();
    let t0 = Instant::now();
    let (code, body) = h.evaluate(Probe::Readiness).unwrap();
    assert_eq!(code, 503);
    assert!(t0.elapsed() < Duration::from_millis(350), "{:?}", t0.elapsed());
    assert!(field(&body, "slow").contains("timed out after 100 ms"), "{body}");

    let h2 = Health::new(Some(&Registry::new().unwrap()), None).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let cached = CheckOpts { cache: Some(Duration::from_secs(30)), ..CheckOpts::default() };
    h2.add_check("db", cached, move || {
        r.fetch_add(1, Ordering::SeqCst);
        Verdict::fail("down")
    })
    .unwrap();
    h2.evaluate(Probe::Readiness).unwrap();
    let (_, body) = h2.evaluate(Probe::Readiness).unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(field(&body, "db").contains("\"cached\":true"), "{body}");
}

#[test]
fn probes_select_checks_and_errors_are_results() {
    let h = Health::new(Some(&Registry::new().unwrap()), None).unwrap();
    let live = CheckOpts { probes: vec![Probe::Liveness], ..CheckOpts::default() };
    h.add_check("live", live, Verdict::pass).unwrap();
    let (_, body) = h.evaluate(Probe::Readiness).unwrap();
    assert!(!body.contains("\"live\""), "{body}");
    let (_, body) = h.evaluate(Probe::Liveness).unwrap();
    assert!(body.contains("\"live\":{"), "{body}");

    let e = h.add_check("bad name!", CheckOpts::default(), Verdict::pass).unwrap_err();
    assert_eq!(e.code, sonde::status::EINVAL);
    assert!(e.message.contains("bad name!"), "{e}");
    let e = h.add_check("live", CheckOpts::default(), Verdict::pass).unwrap_err();
    assert_eq!(e.code, sonde::status::EEXIST);
    let e = h.add_check("nul\0", CheckOpts::default(), Verdict::pass).unwrap_err();
    assert_eq!(e.code, sonde::status::EINVAL);
    let too_long = CheckOpts { timeout: Some(Duration::from_secs(7200)), ..CheckOpts::default() };
    assert!(h.add_check("x", too_long, Verdict::pass).is_err());
    assert_eq!(h.len(), 1);
}

#[test]
fn closures_are_dropped_when_the_health_object_is() {
    let token = Arc::new(());
    let h = Health::new(Some(&Registry::new().unwrap()), None).unwrap();
    for name in ["a", "b"] {
        let t = token.clone();
        h.add_check(name, CheckOpts::default(), move || {
            let _ = &t;
            Verdict::pass()
        })
        .unwrap();
    }
    // a refused registration drops its closure at once
    let t = token.clone();
    assert!(h
        .add_check("a", CheckOpts::default(), move || {
            let _ = &t;
            Verdict::pass()
        })
        .is_err());
    assert_eq!(Arc::strong_count(&token), 3);
    h.evaluate(Probe::Readiness).unwrap();
    drop(h);
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn evaluations_from_many_threads() {
    let h = Arc::new(Health::new(Some(&Registry::new().unwrap()), None).unwrap());
    h.add_check("ok", CheckOpts::default(), Verdict::pass).unwrap();
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let h = h.clone();
            std::thread::spawn(move || (0..10).map(|_| h.evaluate(Probe::Readiness).unwrap().0).collect::<Vec<_>>())
        })
        .collect();
    for t in ts {
        assert!(t.join().unwrap().iter().all(|c| *c == 200));
    }
}

#[cfg(not(sonde_no_ctest))]
mod polyglot {
    use super::*;

    #[link(name = "sonde_ctest", kind = "static")]
    extern "C" {
        fn helper_add_health_check(h: *mut std::ffi::c_void) -> std::os::raw::c_int;
    }

    #[test]
    fn a_c_check_and_a_rust_check_share_one_probe() {
        let h = Health::new(Some(&Registry::new().unwrap()), None).unwrap();
        h.add_check("rust_side", CheckOpts::default(), Verdict::pass).unwrap();
        assert_eq!(unsafe { helper_add_health_check(h.as_ptr()) }, 0);
        let (code, body) = h.evaluate(Probe::Readiness).unwrap();
        assert_eq!(code, 200);
        assert!(body.starts_with("{\"status\":\"degraded\""), "{body}");
        assert!(field(&body, "rust_side").contains("\"status\":\"pass\""), "{body}");
        assert!(field(&body, "c_side").contains("\"message\":\"warned from C\""), "{body}");
    }
}
