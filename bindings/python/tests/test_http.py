"""sonde.HTTPMetrics over libsonde's request instrumentation: RED metrics
read back with prometheus_client's parser, the SERVER span continuing the
caller's trace, request ids, outgoing headers, constant labels."""
import re
import unittest

from prometheus_client.parser import text_string_to_metric_families

import sonde

TRACE = "0af7651916cd43dd8448eb211c80319c"
TP = "00-%s-b7ad6b7169203331-01" % TRACE


def samples(reg):
    out = {}
    for fam in text_string_to_metric_families(sonde.generate_latest(reg).decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


class TestHTTPMetrics(unittest.TestCase):
    def test_red_span_and_ids(self):
        reg = sonde.CollectorRegistry()
        red = sonde.HTTPMetrics(registry=reg, const_labels={"service": "api"},
                                response_size_name="http_response_size_bytes")
        with red.request("GET", "/users/:id", headers={"traceparent": TP, "tracestate": "v=1",
                                                       "x-request-id": "abc"},
                         path="/users/7") as rq:
            cur = sonde.current_context()
            self.assertEqual(cur.trace_id, TRACE)
            self.assertEqual(rq.request_id, "abc")
            self.assertEqual(rq.response_headers(), [("x-request-id", "abc")])
            out = rq.outgoing_headers()
            self.assertTrue(out["traceparent"].startswith("00-" + TRACE + "-"))
            self.assertEqual(out["tracestate"], "v=1")
            self.assertEqual(out["x-request-id"], "abc")
            rq.end(201, 10)
        with self.assertRaises(RuntimeError):
            with red.request("POST", "/orders"):
                raise RuntimeError("boom")  # counted as a 500
        with red.request("GET", "/users/:id") as rq:
            self.assertRegex(rq.request_id, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]")
        got = samples(reg)
        key = lambda **kw: tuple(sorted(dict(kw, service="api").items()))
        self.assertEqual(got[("http_requests_total", key(method="GET", route="/users/:id",
                                                         status="201"))], 1)
        self.assertEqual(got[("http_requests_total", key(method="POST", route="/orders",
                                                         status="500"))], 1)
        self.assertEqual(got[("http_requests_total", key(method="GET", route="/users/:id",
                                                         status="200"))], 1)
        self.assertEqual(got[("http_request_duration_seconds_count",
                              key(method="GET", route="/users/:id", status="201"))], 1)
        self.assertEqual(got[("http_response_size_bytes_sum",
                              key(method="GET", route="/users/:id", status="201"))], 10)
        self.assertEqual(got[("http_requests_in_flight", (("service", "api"),))], 0)
        red.close()

    def test_refusals(self):
        reg = sonde.CollectorRegistry()
        with self.assertRaises(sonde.InvalidArgument):
            sonde.HTTPMetrics(registry=reg, requests_name="bad name")
        red = sonde.HTTPMetrics(registry=reg, status_label="status_code", route_label="endpoint")
        rq = red.request("GET", "/x")
        with self.assertRaises(sonde.StateError):
            rq.end(200)
        rq.begin()
        with self.assertRaises(sonde.InvalidArgument):
            rq.end(42)  # counted as "other" all the same
        with self.assertRaises(sonde.StateError):
            rq.end(200)
        with self.assertRaises(sonde.InvalidArgument):
            red.request("GET", "/" + "r" * 200).begin()
        text = sonde.generate_latest(reg).decode()
        self.assertIn('http_requests_total{method="GET",endpoint="/x",status_code="other"} 1\n',
                      text)
        self.assertTrue(re.search(r"^http_requests_in_flight 0$", text, re.M), text)
