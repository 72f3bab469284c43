use sonde::{CounterVec, Histogram, Logger, LoggerOpts, Registry, Span, Format};

fn main() -> Result<(), sonde::Error> {
    let reqs = CounterVec::new(None, "app_requests_total", "Requests.", &["method"])?;
    let lat = Histogram::new(None, "app_latency_seconds", "Latency.", Some(&[0.01, 0.1, 1.0]))?;
    let log = Logger::new("checkout", &LoggerOpts::default())?;
    {
        let _span = Span::start("handle");      // RAII: current context until dropped
        let _t = lat.start_timer();             // observes on drop
        reqs.with_label_values(&["GET"])?.inc();
        log.info("request done", &[("status", 200.into()), ("path", "/a".into())]);
    }
    print!("{}", String::from_utf8_lossy(&Registry::default_registry().expose(Format::Text)?));
    sonde::log_flush()?;
    Ok(())
}
