//! The binding's protobuf exposition (`Format::Protobuf`) read back with
//! Google's protobuf: there is no protobuf crate offline, so the test writes
//! the bytes and what it observed, and tests/tools/check_pb_expo.py decodes
//! them with python3-protobuf and client_model's metrics.proto compiled by
//! protoc (as the C suite does), recomputing every native bucket from the
//! observations independently of sonde.
use sonde::{CounterVec, Format, Gauge, Histogram, NativeOpts, Registry};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn json_list(v: &[f64]) -> String {
    // {:?} is the shortest text that reads back as the same double
    let items: Vec<String> = v.iter().map(|x| format!("{:?}", x)).collect();
    format!("[{}]", items.join(","))
}

fn cumulative(obs: &[f64], bounds: &[f64]) -> String {
    let items: Vec<String> = bounds
        .iter()
        .map(|b| format!("[{:?},{}]", b, obs.iter().filter(|&&v| v <= *b).count()))
        .collect();
    format!("[{}]", items.join(","))
}

fn native_json(schema: i32, zt: f64, obs: &[f64], classic: Option<&str>) -> String {
    let mut s = format!("{{\"schema\":{},\"zero_threshold\":{:?},\"observations\":{}", schema, zt, json_list(obs));
    if let Some(c) = classic {
        write!(s, ",\"classic\":{}", c).unwrap();
    }
    s.push('}');
    s
}

#[test]
fn protobuf_exposition_decodes_with_google_protobuf() {
    let r = Registry::new().unwrap();
    let reqs = CounterVec::new(Some(&r), "rs_pb_requests_total", "R.", &["path"]).unwrap();
    reqs.with_label_values(&["/a"]).unwrap().add(7.5);
    let g = Gauge::new(Some(&r), "rs_pb_temp", "").unwrap();
    g.set(-2.25);
    let bounds = [0.1, 1.0, 10.0];
    let classic = Histogram::new(Some(&r), "rs_pb_classic_seconds", "C.", Some(&bounds)).unwrap();
    let native = Histogram::new_native(Some(&r), "rs_pb_native_seconds", "N.", None, &NativeOpts { bucket_factor: 1.1, ..Default::default() }).unwrap();
    let mixed = Histogram::new_native(
        Some(&r),
        "rs_pb_mixed",
        "M.",
        None,
        &NativeOpts { bucket_factor: 2.0, zero_threshold: 0.001, ..Default::default() },
    )
    .unwrap();
    let both = Histogram::new_native(Some(&r), "rs_pb_both_seconds", "B.", Some(&bounds), &NativeOpts { classic: true, ..Default::default() }).unwrap();

    let mut rng = Rng(88172645463325252);
    let (mut nobs, mut mobs) = (Vec::new(), Vec::new());
    for i in 0..3000 {
        // five decades, and exact powers of two (bucket edges) now and then
        let v = if i % 500 == 0 { 2f64.powi(i / 500 - 2) } else { 1e-3 * 1e5f64.powf(rng.next()) };
        nobs.push(v);
        native.observe(v);
        classic.observe(v);
        both.observe(v);
        let u = rng.next();
        let m = if u < 0.1 {
            0.0
        } else if u < 0.15 {
            0.0004 // inside the zero bucket
        } else if u < 0.5 {
            -(4.0 * (rng.next() - 0.5)).exp()
        } else {
            (6.0 * (rng.next() - 0.5)).exp()
        };
        mobs.push(m);
        mixed.observe(m);
    }
    let nsum: f64 = nobs.iter().sum();
    let zt = 2f64.powi(-128);
    let cum = cumulative(&nobs, &bounds);

    // the families in exposition order (by name)
    let mut want = String::from("[\n");
    writeln!(want, "{{\"name\":\"rs_pb_both_seconds\",\"type\":\"histogram\",\"help\":\"B.\",\"metrics\":[{{\"native\":{}}}]}},", native_json(3, zt, &nobs, Some(&cum))).unwrap();
    writeln!(
        want,
        "{{\"name\":\"rs_pb_classic_seconds\",\"type\":\"histogram\",\"help\":\"C.\",\"metrics\":[{{\"histogram\":{{\"count\":{},\"sum\":{:?},\"buckets\":{}}}}}]}},",
        nobs.len(),
        nsum,
        cum
    )
    .unwrap();
    writeln!(want, "{{\"name\":\"rs_pb_mixed\",\"type\":\"histogram\",\"help\":\"M.\",\"metrics\":[{{\"native\":{}}}]}},", native_json(0, 0.001, &mobs, None)).unwrap();
    writeln!(want, "{{\"name\":\"rs_pb_native_seconds\",\"type\":\"histogram\",\"help\":\"N.\",\"metrics\":[{{\"native\":{}}}]}},", native_json(3, zt, &nobs, None)).unwrap();
    writeln!(want, "{{\"name\":\"rs_pb_requests_total\",\"type\":\"counter\",\"help\":\"R.\",\"metrics\":[{{\"labels\":{{\"path\":\"/a\"}},\"counter\":7.5}}]}},").unwrap();
    writeln!(want, "{{\"name\":\"rs_pb_temp\",\"type\":\"gauge\",\"metrics\":[{{\"gauge\":-2.25}}]}}\n]").unwrap();

    let dir = std::env::temp_dir().join(format!("sonde-rs-pb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stream = dir.join("expo.pb");
    let expected = dir.join("expected.json");
    std::fs::write(&stream, r.expose(Format::Protobuf).unwrap()).unwrap();
    std::fs::write(&expected, &want).unwrap();
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "tests", "tools", "check_pb_expo.py"].iter().collect();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let out = Command::new(&python).arg(&script).arg(&stream).arg(&expected).output().expect("run check_pb_expo.py");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success() && text.contains("6 families ok"), "check_pb_expo.py ({}):\n{}", out.status, text);
}
