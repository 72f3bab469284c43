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


if __name__ == "__main__":
    unittest.main()
