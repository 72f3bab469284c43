//! The OpenTelemetry span model from Rust: kind, scalar and array
//! attributes, events with time and attributes, record_error with the
//! source chain, links; read back from sonde's record of the span.
mod common;
use common::{Inner, Outer};
use sonde::{Attr, Span, SpanKind, Traceparent};
use std::time::{Duration, UNIX_EPOCH};


#[test]
fn kind_attributes_events_errors_links() {
    let tp = Traceparent::parse(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    let mut s = Span::start("POST /orders");
    s.set_kind(SpanKind::Server);
    let at = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_005);
    // the first event makes the record: later attributes are all copied
    s.add_event("cache miss", Some(at), &[("key", "user:7".into()), ("size", Attr::Int(3)), ("tags", Attr::StrArray(vec!["x".into()]))]);
    s.set_attr("http.request.method", "POST".into());
    s.set_attr("code", Attr::Int(201));
    s.set_attr("ratio", Attr::F64(0.5));
    s.set_attr("hit", Attr::Bool(true));
    s.set_attr("tags", Attr::StrArray(vec!["a".into(), "b".into()]));
    s.set_attr("ids", Attr::IntArray(vec![1, 2]));
    s.set_attr("w", Attr::F64Array(vec![1.5]));
    s.set_attr("flags", Attr::BoolArray(vec![true, false]));
    s.set_attr("extra", Attr::Int(9));
    s.record_error(&Outer("saving the order failed", Inner));
    s.add_link(&tp.context(), &[("reason", "batch".into())]);
    assert_eq!(s.kind(), SpanKind::Server);
    assert!(s.is_recording());
    let attrs = s.attributes();
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(attrs.len(), 9, "{attrs:?}");
    assert_eq!(get("http.request.method"), Some(Attr::Str("POST".into())));
    assert_eq!(get("code"), Some(Attr::Int(201)));
    assert_eq!(get("ratio"), Some(Attr::F64(0.5)));
    assert_eq!(get("hit"), Some(Attr::Bool(true)));
    assert_eq!(get("tags"), Some(Attr::StrArray(vec!["a".into(), "b".into()])));
    assert_eq!(get("ids"), Some(Attr::IntArray(vec![1, 2])));
    assert_eq!(get("w"), Some(Attr::F64Array(vec![1.5])));
    assert_eq!(get("flags"), Some(Attr::BoolArray(vec![true, false])));
    let ev = s.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].0, "cache miss");
    assert_eq!(ev[0].1, 1_700_000_000_000_000_005);
    assert_eq!(ev[0].2, vec![("key".into(), Attr::Str("user:7".into())), ("size".into(), Attr::Int(3)), ("tags".into(), Attr::StrArray(vec!["x".into()]))]);
    assert_eq!(ev[1].0, "exception");
    let ex = &ev[1].2;
    let exv = |k: &str| ex.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(exv("exception.type"), Some(Attr::Str("span_model::common::Outer".into())));
    assert_eq!(exv("exception.message"), Some(Attr::Str("saving the order failed".into())));
    match exv("exception.stacktrace") {
        Some(Attr::Str(st)) => assert!(st.contains("caused by: disk full"), "{st}"),
        other => panic!("stacktrace {other:?}"),
    }
    let links = s.links();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].0, tp.trace_id);
    assert_eq!(links[0].1, tp.parent_id);
    assert_eq!(links[0].2, vec![("reason".into(), Attr::Str("batch".into()))]);
    s.set_error("failed");
    assert_eq!(s.status(), 2);
}
