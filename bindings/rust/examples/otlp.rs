//! The README's OTLP example: `cargo run --example otlp [ENDPOINT]` sends
//! one span to a Collector's OTLP/HTTP receiver (default
//! http://localhost:4318/v1/traces) and prints the exporter's statistics.
use sonde::{Attr, Span, SpanKind};
use std::time::Duration;

fn main() -> sonde::Result<()> {
    let endpoint = std::env::args().nth(1).unwrap_or_else(|| "http://localhost:4318/v1/traces".into());
    sonde::otlp::set_service(Some("checkout"), Some("1.4.2"), None)?;
    sonde::otlp::Options::new()
        .endpoint(&endpoint)
        .header("x-tenant", "blue")
        .schedule_delay(Duration::from_secs(1))
        .start()?;
    {
        let mut s = Span::start("GET /cart");
        s.set_kind(SpanKind::Server);
        s.set_attr("http.response.status_code", Attr::Int(200));
    }
    let r = sonde::otlp::shutdown(Duration::from_secs(2));
    println!("{:?}", sonde::otlp::stats());
    r
}
