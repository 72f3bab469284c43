"""sonde's Python binding and Debian's prometheus_client render the same
metrics; the official parsers read identical families and values from both
(text 0.0.4 and OpenMetrics)."""

import gzip
import math
import unittest

import sonde

try:
    import prometheus_client as pc
    from prometheus_client.openmetrics import exposition as pc_om
    from prometheus_client.openmetrics import parser as om_parser
    from prometheus_client import parser as text_parser
except ImportError:  # pragma: no cover
    pc = None


def populate(mod, reg):
    """The same program against either library (same API shape)."""
    c = mod.Counter("http_requests", "Requests by method.", ["method", "code"], registry=reg)
    c.labels("GET", "200").inc()
    c.labels("GET", "200").inc(4)
    c.labels(method="POST", code="500").inc(2.5)
    c.labels("PUT", 'we"ird\\va\nlue').inc()
    g = mod.Gauge("queue_depth", "Queue depth.", registry=reg)
    g.set(17)
    g.dec(0.25)
    g2 = mod.Gauge("temp_celsius", "Temp.", ["room"], registry=reg)
    g2.labels("a").set(-3.5)
    g2.labels("b").set(1e-7)
    h = mod.Histogram("latency_seconds", "Latency.", ["route"],
                      buckets=[0.005, 0.1, 0.25, 1, 2.5], registry=reg)
    for v in (0.001, 0.004, 0.09, 0.2, 0.2, 0.7, 3, 10):
        h.labels("/api").observe(v)
    h.labels("/x").observe(0.3)
    hd = mod.Histogram("default_seconds", "Default buckets.", registry=reg)
    hd.observe(0.03)
    s = mod.Summary("payload_bytes", "Payload.", registry=reg)
    for v in (10, 20, 30):
        s.observe(v)


def families(text, parser, drop_quantiles=False, numeric_le=False):
    """{family: (type, help, sorted samples)}. numeric_le: compare le as a
    number (text 0.0.4 leaves its spelling free: prometheus_client writes
    "1.0", sonde "1", and Prometheus reads both as 1; OpenMetrics fixes the
    spelling, so that comparison is exact)."""
    out = {}
    for fam in parser.text_string_to_metric_families(text):
        if fam.name.endswith("_created") and all(s.name == fam.name for s in fam.samples):
            continue  # prometheus_client writes _created as gauges in text 0.0.4
        samples = []
        for s in fam.samples:
            if s.name.endswith("_created"):
                continue  # creation times differ between any two runs
            if drop_quantiles and "quantile" in s.labels:
                continue  # prometheus_client's Summary has no quantiles
            v = s.value
            labels = dict(s.labels)
            if numeric_le and "le" in labels:
                labels["le"] = float(labels["le"])
            samples.append((s.name, tuple(sorted(labels.items())),
                            "nan" if isinstance(v, float) and math.isnan(v) else v))
        out[fam.name] = (fam.type, fam.documentation, sorted(samples))
    return out


@unittest.skipIf(pc is None, "python3-prometheus-client is not installed")
class TestAgainstPrometheusClient(unittest.TestCase):
    def render_both(self):
        sreg = sonde.Registry()
        populate(sonde, sreg)
        preg = pc.CollectorRegistry()
        populate(pc, preg)
        return sreg, preg

    def test_text_format_parses_identically(self):
        sreg, preg = self.render_both()
        mine = families(sonde.generate_latest(sreg).decode(), text_parser, True, True)
        theirs = families(pc.generate_latest(preg).decode(), text_parser, True, True)
        self.assertEqual(sorted(mine), sorted(theirs))
        for name in theirs:
            self.assertEqual(mine[name], theirs[name], name)
        self.assertEqual(len(theirs), 6)
        self.assertEqual(mine["http_requests"][2][0],
                         ("http_requests_total", (("code", "200"), ("method", "GET")), 5.0))

    def test_openmetrics_parses_identically(self):
        sreg, preg = self.render_both()
        mine_text = sonde.generate_latest(sreg, "openmetrics").decode()
        self.assertTrue(mine_text.endswith("# EOF\n"))
        mine = families(mine_text, om_parser, True)
        theirs = families(pc_om.generate_latest(preg).decode(), om_parser, True)
        self.assertEqual(sorted(mine), sorted(theirs))
        for name in theirs:
            self.assertEqual(mine[name], theirs[name], name)

    def test_summary_quantiles_present_in_sonde(self):
        sreg, _ = self.render_both()
        fam = families(sonde.generate_latest(sreg).decode(), text_parser)["payload_bytes"]
        qs = {dict(l)["quantile"]: v for n, l, v in fam[2] if n == "payload_bytes"}
        self.assertEqual(sorted(qs), ["0.5", "0.9", "0.99"])
        self.assertLess(abs(qs["0.5"] - 20) / 20, 0.01)


class TestNegotiation(unittest.TestCase):
    def test_negotiate(self):
        self.assertEqual(sonde.negotiate(None), ("text", sonde.CONTENT_TYPE_LATEST))
        self.assertEqual(sonde.negotiate("application/openmetrics-text;version=1.0.0,*/*;q=0.1"),
                         ("openmetrics", sonde.CONTENT_TYPE_OPENMETRICS))
        self.assertEqual(sonde.negotiate("text/plain;q=0.9,application/openmetrics-text;q=0.5")[0],
                         "text")
        self.assertEqual(sonde.negotiate(b"\xff\x00garbage")[0], "text")

    def test_choose_encoder(self):
        reg = sonde.Registry()
        sonde.Counter("enc", "E.", registry=reg).inc()
        enc, ct = sonde.choose_encoder("application/openmetrics-text")
        self.assertEqual(ct, sonde.CONTENT_TYPE_OPENMETRICS)
        self.assertIn(b"# EOF", enc(reg))

    def test_expose_http_and_gzip(self):
        reg = sonde.Registry()
        sonde.Counter("http_x", "X.", registry=reg).inc(3)
        body, headers = sonde.expose_http(reg, "text/plain", "gzip")
        h = dict(headers)
        self.assertEqual(h["Content-Type"], sonde.CONTENT_TYPE_LATEST)
        if "Content-Encoding" in h:  # libsonde built with zlib
            body = gzip.decompress(body)
        self.assertIn(b"http_x_total 3", body)
        body, headers = sonde.expose_http(reg, "application/openmetrics-text", None)
        self.assertNotIn("Content-Encoding", dict(headers))
        self.assertTrue(body.endswith(b"# EOF\n"))

    def test_wsgi_app(self):
        reg = sonde.Registry()
        sonde.Gauge("wsgi_g", "G.", registry=reg).set(2)
        got = {}

        def start_response(status, headers):
            got["status"], got["headers"] = status, dict(headers)
        body = b"".join(sonde.make_wsgi_app(reg)({"HTTP_ACCEPT": "text/plain"}, start_response))
        self.assertEqual(got["status"], "200 OK")
        self.assertEqual(int(got["headers"]["Content-Length"]), len(body))
        self.assertIn(b"wsgi_g 2", body)

    def test_bad_format(self):
        with self.assertRaises(sonde.InvalidArgument):
            sonde.generate_latest(sonde.REGISTRY, "xml")


PROTO = ("/usr/share/gocode/src/github.com/prometheus/client_model/io/prometheus/client/"
         "metrics.proto")


def metrics_pb2():
    """client_model's metrics.proto compiled by protoc (under a top-level
    name: its package path io/ would shadow Python's io module)."""
    import importlib
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    tmp = tempfile.mkdtemp(prefix="sonde-py-pb-")
    shutil.copy(PROTO, os.path.join(tmp, "py_prom_metrics.proto"))
    subprocess.run(["protoc", "-I" + tmp, "-I/usr/include", "--python_out=" + tmp,
                    os.path.join(tmp, "py_prom_metrics.proto")], check=True)
    sys.path.insert(0, tmp)
    return importlib.import_module("py_prom_metrics_pb2")


class TestNativeHistogramProtobuf(unittest.TestCase):
    def test_native_histogram_from_python_decodes_with_google_protobuf(self):
        from google.protobuf.internal.decoder import _DecodeVarint
        pb = metrics_pb2()
        reg = sonde.Registry()
        h = sonde.Histogram("py_native_seconds", "N.", ["route"], registry=reg, native="both",
                            buckets=[0.1, 1], native_bucket_factor=2)
        obs = [0.0, 0.003, 0.5, 0.5, 2.0, 7.5, 300.0]
        for v in obs:
            h.labels("/a").observe(v)
        only = sonde.Histogram("py_native_only", "O.", registry=reg, native="only")
        only.observe(-4)
        only.observe(4)
        data = sonde.generate_latest(reg, "protobuf")
        fams, pos = [], 0
        while pos < len(data):
            n, pos = _DecodeVarint(data, pos)
            mf = pb.MetricFamily()
            mf.ParseFromString(data[pos:pos + n])
            pos += n
            fams.append(mf)
        self.assertEqual([f.name for f in fams], ["py_native_only", "py_native_seconds"])
        m = fams[1].metric[0].histogram
        self.assertEqual(m.sample_count, len(obs))
        self.assertAlmostEqual(m.sample_sum, sum(obs))
        self.assertEqual(m.schema, 0)  # factor 2
        self.assertEqual([(b.upper_bound, b.cumulative_count) for b in m.bucket],
                         [(0.1, 2), (1, 4)])
        # spans and deltas: bucket k of schema 0 holds (2^(k-1), 2^k]
        counts, k, cur, i = {}, 0, 0, 0
        for sp in m.positive_span:
            k += sp.offset
            for _ in range(sp.length):
                cur += m.positive_delta[i]
                i += 1
                if cur:
                    counts[k] = cur
                k += 1
        want = {}
        for v in obs:
            if v > m.zero_threshold:
                kk = math.ceil(math.log2(v))
                want[kk] = want.get(kk, 0) + 1
        self.assertEqual(counts, want)
        self.assertEqual(m.zero_count, 1)
        o = fams[0].metric[0].histogram
        self.assertEqual((o.sample_count, o.sample_sum, len(o.bucket)), (2, 0.0, 0))
        self.assertEqual(len(o.negative_delta), 1)
        # the text view of a native-only histogram: +Inf bucket, sum, count
        text = sonde.generate_latest(reg).decode()
        self.assertIn('py_native_only_bucket{le="+Inf"} 2', text)
        self.assertIn("py_native_only_count 2", text)

    def test_protobuf_negotiated_only_when_asked(self):
        prom = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,*/*;q=0.1")
        self.assertEqual(sonde.negotiate(prom), ("protobuf", sonde.CONTENT_TYPE_PROTOBUF))
        self.assertEqual(sonde.negotiate("*/*")[0], "text")
        with self.assertRaises(ValueError):
            sonde.Histogram("py_bad_native", "B.", registry=sonde.Registry(), native="sparse")


if __name__ == "__main__":
    unittest.main()
