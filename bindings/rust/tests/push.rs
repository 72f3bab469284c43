//! sonde::Pusher against the real Pushgateway (Debian's
//! prometheus-pushgateway), started on a free loopback port, in memory.
use sonde::{status, Counter, Format, Gauge, Pusher, Registry};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Gateway {
    child: Child,
    addr: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    if !out.starts_with("HTTP/1.1 200") {
        return None;
    }
    Some(out.split_once("\r\n\r\n")?.1.to_string())
}

fn start() -> Option<Gateway> {
    let bin = ["/usr/bin/prometheus-pushgateway", "/usr/local/bin/pushgateway"].into_iter().find(|p| std::path::Path::new(p).exists())?;
    for _ in 0..5 {
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        let child = Command::new(bin)
            .arg(format!("--web.listen-address={addr}"))
            .arg("--persistence.file=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let gw = Gateway { child, addr };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(15) {
            if get(&gw.addr, "/-/ready").is_some() {
                return Some(gw);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("the Pushgateway did not start");
}

#[test]
fn pusher_against_real_pushgateway() {
    let Some(gw) = start() else {
        eprintln!("skipped: prometheus-pushgateway not installed");
        return;
    };
    let url = format!("http://{}", gw.addr);
    let reg = Registry::new().unwrap();
    Counter::new(Some(&reg), "rust_batch_items_total", "Items.").unwrap().add(7.0);
    Pusher::new(&url, "rust/job").grouping("instance", "é x").registry(&reg).header("X-Test", "1").timeout(Duration::from_secs(5)).push().unwrap();
    let page = get(&gw.addr, "/metrics").unwrap();
    assert!(page.contains("rust_batch_items_total{instance=\"é x\",job=\"rust/job\"} 7\n"), "{page}");
    // add keeps the group's other names, push replaces the group
    let reg2 = Registry::new().unwrap();
    Gauge::new(Some(&reg2), "rust_batch_last_success", "Last.").unwrap().set(42.0);
    Pusher::new(&url, "rust/job").grouping("instance", "é x").registry(&reg2).add().unwrap();
    let page = get(&gw.addr, "/metrics").unwrap();
    assert!(page.contains("rust_batch_items_total{instance=\"é x\",job=\"rust/job\"} 7\n"), "{page}");
    assert!(page.contains("rust_batch_last_success{instance=\"é x\",job=\"rust/job\"} 42\n"), "{page}");
    Pusher::new(&url, "rust/job").grouping("instance", "é x").registry(&reg2).format(Format::Protobuf).push().unwrap();
    let page = get(&gw.addr, "/metrics").unwrap();
    assert!(!page.contains("rust_batch_items_total{"), "{page}");
    assert!(page.contains("rust_batch_last_success{instance=\"é x\",job=\"rust/job\"} 42\n"), "{page}");
    Pusher::new(&url, "rust/job").grouping("instance", "é x").delete().unwrap();
    let page = get(&gw.addr, "/metrics").unwrap();
    assert!(!page.contains("job=\"rust/job\""), "{page}");
    // refusals, with sonde's message
    let e = Pusher::new(&url, "j").grouping("job", "x").push().unwrap_err();
    assert_eq!(e.code, status::EINVAL);
    assert!(e.message.contains("is the job"), "{e}");
    let e = Pusher::new("https://127.0.0.1:1", "j").push().unwrap_err();
    assert!(e.code == status::EINVAL && e.message.contains("https"), "{e}");
    let e = Pusher::new(&url, "j\0").push().unwrap_err();
    assert_eq!(e.code, status::EINVAL);
    let e = Pusher::new(&url, "j").timeout(Duration::from_secs(601)).push().unwrap_err();
    assert!(e.message.contains("timeout_ms"), "{e}");
}

#[test]
fn exporter_serves_the_registry_and_probes() {
    let reg = Registry::new().unwrap();
    Counter::new(Some(&reg), "rust_exported_total", "Exported.").unwrap().add(3.0);
    let health = sonde::Health::new(Some(&reg), None).unwrap();
    let e = sonde::Exporter::start("127.0.0.1:0", Some(&reg), Some(&health)).unwrap();
    let addr = format!("127.0.0.1:{}", e.port());
    let page = get(&addr, "/metrics").unwrap();
    assert!(page.contains("rust_exported_total 3\n"), "{page}");
    assert!(get(&addr, "/readyz").unwrap().contains("\"status\""));
    assert!(get(&addr, "/nope").is_none()); // 404
    drop(e);
    // stopped on drop: nothing there serves this registry any more (the
    // port itself may already be another parallel test's)
    let after = get(&addr, "/metrics").unwrap_or_default();
    assert!(!after.contains("rust_exported_total"), "still served after drop: {after}");
    let err = sonde::Exporter::start("nonsense", None, None).err().unwrap();
    assert_eq!(err.code, status::EINVAL);
    assert!(err.message.contains("HOST:PORT"), "{err}");
}

#[test]
fn http_metrics_red_and_request_ids() {
    let reg = Registry::new().unwrap();
    let m = sonde::HttpMetrics::new(&sonde::HttpMetricsOpts { registry: Some(&reg), const_labels: &[("service", "api")], ..Default::default() }).unwrap();
    let rq = m
        .request("GET", Some("/users/:id"), Some("/users/7"), &[("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("x-request-id", "abc")])
        .unwrap();
    assert_eq!(rq.id(), "abc");
    rq.end(201, Some(10)).unwrap();
    {
        let rq = m.request("POST", Some("/orders"), None, &[]).unwrap();
        let id = rq.id();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
        // dropped without end: counted as a 500
    }
    let text = String::from_utf8(reg.expose(Format::Text).unwrap()).unwrap();
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"/users/:id\",status=\"201\",service=\"api\"} 1\n"), "{text}");
    assert!(text.contains("http_requests_total{method=\"POST\",route=\"/orders\",status=\"500\",service=\"api\"} 1\n"), "{text}");
    assert!(text.contains("http_requests_in_flight{service=\"api\"} 0\n"), "{text}");
    let long = "r".repeat(200);
    assert_eq!(m.request("GET", Some(&long), None, &[]).err().unwrap().code, status::EINVAL);
}
