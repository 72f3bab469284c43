"""The OTLP exporter from Python: configuration and lifecycle (sonde.otlp),
and spans ended in Python checked on the wire with the OpenTelemetry
project's own definitions: tests/otlp/otlp_receiver.py records what the
exporter POSTs, tests/otlp/otlp_decode.js decodes it with the protobufjs
root of @opentelemetry/otlp-transformer@0.52.1 (`make otlp-deps`)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import sonde
from sonde import otlp

from _support import REPO

RECEIVER = os.path.join(REPO, "tests", "otlp", "otlp_receiver.py")
DECODER = os.path.join(REPO, "tests", "otlp", "otlp_decode.js")
ROOT_JS = os.path.join(REPO, "tests", "otlp", "node_modules", "@opentelemetry",
                       "otlp-transformer", "build", "src", "generated", "root.js")
NODE = shutil.which("node")


def _need_decoder(test):
    if not NODE:
        test.skipTest("node not found (apt-get install nodejs): the OTLP bodies cannot be "
                      "decoded with OpenTelemetry's definitions")
    if not os.path.exists(ROOT_JS):
        test.skipTest("%s missing: run `make otlp-deps` (npm install of "
                      "@opentelemetry/otlp-transformer@0.52.1)" % ROOT_JS)


class Receiver:
    """otlp_receiver.py in a temporary folder."""

    def __init__(self, plan="200"):
        self.dir = tempfile.mkdtemp(prefix="sonde-py-otlp-")
        self.proc = subprocess.Popen([sys.executable, RECEIVER, self.dir, plan],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"port (\d+)", line)
        if not m:
            self.stop()
            raise AssertionError("receiver did not start: %r" % line)
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d/v1/traces" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def bodies(self):
        names = [n for n in os.listdir(self.dir) if n.endswith(".body")]
        names.sort(key=lambda n: int(n[4:-5]))
        return [os.path.join(self.dir, n) for n in names]

    def meta(self, i):
        with open(os.path.join(self.dir, "req-%d.meta" % i)) as f:
            return dict(line.rstrip("\n").split(": ", 1) for line in f if ": " in line)

    def decode(self, json=False):
        """{span id hex: {field: value}} over every request, each span's
        dict holding its own flattened fields plus "resource.*" and
        "scope.*" of its ResourceSpans / ScopeSpans."""
        files = self.bodies()
        assert files, "the receiver got no request"
        cmd = [NODE, DECODER, "traces", "--many"] + (["--json"] if json else []) + files
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, "otlp_decode.js: %s" % out.stderr
        spans = {}
        groups = {}
        # one "path=value" line per field; a string value holding newlines
        # (a stack trace) goes on over the next lines
        lines = []
        for line in out.stdout[:-1].split("\n") if out.stdout.endswith("\n") else \
                out.stdout.split("\n"):
            if line.startswith("== ") or line.startswith("resourceSpans.") or not lines:
                lines.append(line)
            else:
                lines[-1] += "\n" + line
        for line in lines:
            if line.startswith("== "):
                req = line[3:]
                continue
            path, _, value = line.partition("=")
            m = re.match(r"resourceSpans\.(\d+)\.(.*)", path)
            if not m:
                continue
            r, rest = m.group(1), m.group(2)
            g = groups.setdefault((req, r), {"spans": {}, "common": {}})
            m = re.match(r"scopeSpans\.(\d+)\.spans\.(\d+)\.(.*)", rest)
            if m:
                g["spans"].setdefault((m.group(1), m.group(2)), {})[m.group(3)] = value
                continue
            m = re.match(r"scopeSpans\.(\d+)\.(scope\..*)", rest)
            if m:
                g["common"][(m.group(1), m.group(2))] = value
            elif rest.startswith("resource."):
                g["common"][(None, rest)] = value
        for g in groups.values():
            for (s, _), fields in g["spans"].items():
                d = dict(fields)
                for (cs, k), v in g["common"].items():
                    if cs is None or cs == s:
                        d[k] = v
                spans[d["spanId"]] = d
        return spans


class TestOtlpConfig(unittest.TestCase):
    """Configuration checks that need no collector."""

    def tearDown(self):
        if otlp.running():
            otlp.shutdown(0)

    def test_bad_values_are_refused_before_start(self):
        cases = [dict(timeout=-1), dict(timeout=float("nan")), dict(timeout=0),
                 dict(schedule_delay=-0.5), dict(export_timeout="1"), dict(retry_max=True),
                 dict(protocol="grpc"), dict(protocol=2), dict(compression="zstd"),
                 dict(max_queue_size=0), dict(max_queue_size=2.5),
                 dict(max_export_batch_size=1 << 40), dict(timeout=1e9),
                 dict(endpoint="http://127.0.0.1:1/v1/tr\0aces"), dict(endpoint=42),
                 dict(headers={"x-a": "b\0c"}), dict(headers={"x\0a": "b"}),
                 dict(headers=[("only-name",)]), dict(headers={"x-a": None})]
        for kw in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(sonde.InvalidArgument) as cm:
                    otlp.start(**kw)
                self.assertIn("sonde.otlp", str(cm.exception))
                self.assertFalse(otlp.running())

    def test_c_refusal_starts_with_the_default_and_raises(self):
        # https is libsonde's to refuse: it starts on the default endpoint
        with self.assertRaises(sonde.InvalidArgument) as cm:
            otlp.start(endpoint="https://collector:4318/v1/traces", schedule_delay=0.05)
        self.assertIn("https://collector:4318/v1/traces", str(cm.exception))
        self.assertTrue(otlp.running())
        with self.assertRaises(sonde.StateError):
            otlp.start()
        otlp.shutdown(0)
        self.assertFalse(otlp.running())

    def test_not_running(self):
        self.assertFalse(otlp.running())
        with self.assertRaises(sonde.StateError):
            otlp.flush(0.1)
        with self.assertRaises(sonde.StateError):
            otlp.shutdown(0.1)
        with self.assertRaises(sonde.StateError):  # no overflow: capped at INT_MAX ms
            otlp.flush(float("inf"))
        for bad in (-1, None, float("nan"), "1"):
            with self.assertRaises(sonde.InvalidArgument):
                otlp.flush(bad)
            with self.assertRaises(sonde.InvalidArgument):
                otlp.shutdown(bad)

    def test_resource_and_scope(self):
        otlp.set_service("py-otlp-test", version="9.9", environment="test")
        self.assertEqual(otlp.resource_attribute("service.name"), "py-otlp-test")
        self.assertEqual(otlp.resource_attribute("deployment.environment"), "test")
        otlp.set_resource_attribute("team", "checkout")
        otlp.set_resource_attribute("shard", 7)
        self.assertEqual(otlp.resource_attribute("shard"), "7")
        otlp.set_resource_attribute("shard", None)
        self.assertIsNone(otlp.resource_attribute("shard"))
        self.assertEqual(otlp.resource_attribute("process.pid"), str(os.getpid()))
        with self.assertRaises(sonde.InvalidArgument):
            otlp.set_resource_attribute("", "x")
        with self.assertRaises(sonde.InvalidArgument):
            otlp.set_service("a\0b")
        with self.assertRaises(sonde.InvalidArgument):
            otlp.set_scope(None)
        old = otlp.scope()
        self.assertEqual(old, ("sonde", sonde.library_version()))
        otlp.set_scope("py.tests", "0.3")
        self.assertEqual(otlp.scope(), ("py.tests", "0.3"))
        otlp.set_scope(*old)


class TestOtlpWire(unittest.TestCase):
    """Spans from Python decoded with OpenTelemetry's own definitions."""

    def setUp(self):
        _need_decoder(self)
        self.rx = Receiver()
        self.addCleanup(self.rx.stop)
        otlp.set_service("py-otlp-test", version="1.2.3")

    def tearDown(self):
        if otlp.running():
            otlp.shutdown(2)

    def _spans(self, protocol):
        """Ends the test's spans with the exporter pointed at the receiver
        over protocol; returns (spans by id, their contexts, stats)."""
        self.assertTrue(otlp.start(endpoint=self.rx.url, headers={"x-tenant": "blue"},
                                   protocol=protocol, timeout=5, schedule_delay=0.05,
                                   export_timeout=10, max_queue_size=64,
                                   max_export_batch_size=8, retry_initial=0.05,
                                   retry_max=0.2))
        sonde.set_sampler_ratio(1.0)
        linked = sonde.SpanContext.create("0af7651916cd43dd8448eb211c80319c",
                                          "b7ad6b7169203331")
        t0 = time.time_ns()
        with sonde.span("GET /cart", kind="server") as parent:
            parent.set_attribute("http.request.method", "GET")
            parent.set_attribute("http.response.status_code", 503)
            parent.set_attribute("ratio", 0.25)
            parent.set_attribute("cached", False)
            parent.set_attribute("tags", ["a", "b"])
            parent.set_attribute("ids", [1, -2])
            parent.set_attribute("weights", [1.5, 2.5])
            parent.set_attribute("flags", [True, False])
            parent.add_event("cache miss", {"key": "cart:7", "size": 3},
                             timestamp_ns=1700000000000000005)
            parent.add_link(linked, {"reason": "batch"})
            try:
                raise KeyError("cart:7")
            except KeyError as e:
                parent.record_exception(e)
            parent.set_error("backend unavailable")
            with sonde.span("SELECT cart", kind="client") as child:
                child.set_attribute("db.system", "postgresql")
        with self.assertRaises(ZeroDivisionError):
            with sonde.span("divide", kind="internal") as failing:
                1 / 0
        t1 = time.time_ns()
        otlp.flush(10)
        st = otlp.stats()
        spans = self.rx.decode(json=(protocol == "http/json"))
        return spans, (parent.context, child.context, failing.context), (t0, t1), st

    def _check(self, spans, ctxs, times):
        pc, cc, fc = ctxs
        t0, t1 = times
        p, c, f = spans[pc.span_id], spans[cc.span_id], spans[fc.span_id]
        # ids and parentage
        self.assertEqual(p["traceId"], pc.trace_id)
        self.assertEqual(c["traceId"], pc.trace_id)
        self.assertEqual(c["parentSpanId"], pc.span_id)
        self.assertEqual(f.get("parentSpanId", ""), "")
        self.assertNotEqual(f["traceId"], pc.trace_id)
        # names, kinds (SPAN_KIND_SERVER 2, CLIENT 3, INTERNAL 1)
        self.assertEqual((p["name"], p["kind"]), ("GET /cart", "2"))
        self.assertEqual((c["name"], c["kind"]), ("SELECT cart", "3"))
        self.assertEqual((f["name"], f["kind"]), ("divide", "1"))
        # times: inside the test's window, end after start
        for s in (p, c, f):
            start, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
            self.assertLessEqual(t0 - 1000000, start)
            self.assertLessEqual(start, end)
            self.assertLessEqual(end, t1 + 1000000)
        # attributes of every type
        a = "attributes[%s]."
        self.assertEqual(p[a % "http.request.method" + "stringValue"], "GET")
        self.assertEqual(p[a % "http.response.status_code" + "intValue"], "503")
        self.assertEqual(p[a % "ratio" + "doubleValue"], "0.25")
        self.assertEqual(p[a % "cached" + "boolValue"], "false")
        self.assertEqual([p[a % "tags" + "arrayValue.values.%d.stringValue" % i]
                          for i in range(2)], ["a", "b"])
        self.assertEqual([p[a % "ids" + "arrayValue.values.%d.intValue" % i]
                          for i in range(2)], ["1", "-2"])
        self.assertEqual([p[a % "weights" + "arrayValue.values.%d.doubleValue" % i]
                          for i in range(2)], ["1.5", "2.5"])
        self.assertEqual([p[a % "flags" + "arrayValue.values.%d.boolValue" % i]
                          for i in range(2)], ["true", "false"])
        self.assertEqual(c[a % "db.system" + "stringValue"], "postgresql")
        # events: the explicit one, then record_exception's
        self.assertEqual(p["events.0.name"], "cache miss")
        self.assertEqual(p["events.0.timeUnixNano"], "1700000000000000005")
        self.assertEqual(p["events.0.attributes[key].stringValue"], "cart:7")
        self.assertEqual(p["events.0.attributes[size].intValue"], "3")
        self.assertEqual(p["events.1.name"], "exception")
        self.assertEqual(p["events.1.attributes[exception.type].stringValue"], "KeyError")
        self.assertEqual(p["events.1.attributes[exception.message].stringValue"], "'cart:7'")
        self.assertIn("KeyError: 'cart:7'",
                      p["events.1.attributes[exception.stacktrace].stringValue"])
        self.assertNotIn("events.2.name", p)
        # the link
        self.assertEqual(p["links.0.traceId"], "0af7651916cd43dd8448eb211c80319c")
        self.assertEqual(p["links.0.spanId"], "b7ad6b7169203331")
        self.assertEqual(p["links.0.attributes[reason].stringValue"], "batch")
        # status: error with its message (STATUS_CODE_ERROR 2); the child unset
        self.assertEqual((p["status.code"], p["status.message"]), ("2", "backend unavailable"))
        self.assertIn(c.get("status.code", "0"), ("0",))
        # an exception leaving `with span` is recorded and fails the span
        self.assertEqual(f["events.0.name"], "exception")
        self.assertEqual(f["events.0.attributes[exception.type].stringValue"],
                         "ZeroDivisionError")
        self.assertEqual(f["events.0.attributes[exception.message].stringValue"],
                         "division by zero")
        self.assertIn("1 / 0", f["events.0.attributes[exception.stacktrace].stringValue"])
        self.assertEqual(f["status.code"], "2")
        self.assertEqual(f["status.message"], "ZeroDivisionError: division by zero")
        # resource and scope
        for s in (p, c, f):
            self.assertEqual(s["resource.attributes[service.name].stringValue"], "py-otlp-test")
            self.assertEqual(s["resource.attributes[service.version].stringValue"], "1.2.3")
            self.assertEqual(s["resource.attributes[telemetry.sdk.name].stringValue"], "sonde")
            self.assertEqual(s["resource.attributes[process.pid].intValue"], str(os.getpid()))
            self.assertEqual(s["scope.name"], "sonde")
            self.assertEqual(s["scope.version"], sonde.library_version())

    def _check_requests(self, content_type):
        for i in range(len(self.rx.bodies())):
            m = self.rx.meta(i)
            self.assertEqual(m["path"], "/v1/traces")
            self.assertEqual(m["content-type"], content_type)
            self.assertEqual(m["x-tenant"], "blue")

    def test_protobuf(self):
        spans, ctxs, times, st = self._spans("http/protobuf")
        self._check(spans, ctxs, times)
        self._check_requests("application/x-protobuf")
        self.assertGreaterEqual(st.spans_exported, 3)
        self.assertEqual(st.queue_length, 0)
        otlp.shutdown(2)
        st = otlp.stats()
        self.assertFalse(otlp.running())
        self.assertEqual(st.spans_ended, st.spans_exported + st.dropped)
        self.assertEqual(st.dropped, 0)
        # every exported span is on the wire
        self.assertEqual(len(spans), st.spans_exported)

    def test_json(self):
        spans, ctxs, times, st = self._spans("http/json")
        self._check(spans, ctxs, times)
        self._check_requests("application/json")

    def test_environment_alone(self):
        env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.rx.url,
               "OTEL_SERVICE_NAME": "py-from-env", "OTEL_BSP_SCHEDULE_DELAY": "50",
               "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
               "OTEL_EXPORTER_OTLP_HEADERS": "x-env=1"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.assertTrue(otlp.start_from_env())
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        sonde.set_sampler_ratio(1.0)
        with sonde.span("from env", kind="producer") as s:
            s.set_attribute("n", 1)
        otlp.flush(10)
        got = self.rx.decode(json=True)[s.context.span_id]
        self.assertEqual(got["name"], "from env")
        self.assertEqual(got["kind"], "4")
        self.assertEqual(got["resource.attributes[service.name].stringValue"], "py-from-env")
        self.assertEqual(self.rx.meta(0)["x-env"], "1")
        self.assertEqual(self.rx.meta(0)["content-type"], "application/json")

    def test_disabled_by_environment(self):
        os.environ["OTEL_SDK_DISABLED"] = "true"
        try:
            self.assertFalse(otlp.start(endpoint=self.rx.url))
        finally:
            del os.environ["OTEL_SDK_DISABLED"]
        self.assertFalse(otlp.running())


class TestOtlpLogs(unittest.TestCase):
    """Log records of a Python logger with an OTLP log sink, decoded as
    ExportLogsServiceRequest with the project's definitions."""

    def setUp(self):
        _need_decoder(self)
        self.rx = Receiver()
        self.logs_url = "http://127.0.0.1:%d/v1/logs" % self.rx.port

    def tearDown(self):
        if otlp.running():
            otlp.shutdown(0)
        self.rx.stop()

    def decode_logs(self, json=False):
        # the log requests only (the spans went to /v1/traces)
        files = [f for i, f in enumerate(self.rx.bodies())
                 if self.rx.meta(i)["path"] == "/v1/logs"]
        self.assertTrue(files, "the receiver got no request")
        cmd = [NODE, DECODER, "logs", "--many"] + (["--json"] if json else []) + files
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, "otlp_decode.js: %s" % out.stderr)
        return out.stdout

    def roundtrip(self, protocol):
        otlp.set_service("py-logs")
        self.assertTrue(otlp.start(endpoint=self.rx.url, logs_endpoint=self.logs_url,
                                   protocol=protocol, schedule_delay=0.05))
        sonde.set_span_logger(None)  # no span line among the records counted
        log = sonde.Logger("py-checkout", level="debug",
                           sinks=[otlp.log_sink(level="info", name="to-collector")])
        child = log.child(region="eu")
        with sonde.span("handler") as sp:
            child.info("order placed", items=3, total=42.5, paid=True, user="u1",
                       big=1 << 63, none=None)
        child.debug("below the sink's level")
        child.error("failed", code=-2)
        sonde.log.flush()
        otlp.flush(10)
        st = otlp.stats()
        self.assertEqual(st.logs_handed, 2)
        self.assertEqual(st.logs_exported, 2)
        otlp.shutdown(5)
        sonde.reset_span_logger()
        st = otlp.stats()
        self.assertEqual(st.logs_exported + st.logs_dropped, st.logs_handed)
        self.assertEqual(st.spans_exported, 1)
        out = self.decode_logs(json=protocol == "http/json")
        r0 = "resourceLogs.0.scopeLogs.0.logRecords.0."
        r1 = "resourceLogs.0.scopeLogs.0.logRecords.1."
        for want in ["resourceLogs.0.resource.attributes[service.name].stringValue=py-logs",
                     "resourceLogs.0.scopeLogs.0.scope.name=py-checkout",
                     r0 + "severityNumber=9", r0 + "severityText=INFO",
                     r0 + "body.stringValue=order placed",
                     r0 + "attributes[region].stringValue=eu",
                     r0 + "attributes[items].intValue=3",
                     r0 + "attributes[total].doubleValue=42.5",
                     r0 + "attributes[paid].boolValue=true",
                     r0 + "attributes[user].stringValue=u1",
                     r0 + "attributes[big].stringValue=9223372036854775808",
                     r0 + "traceId=" + sp.context.trace_id,
                     r0 + "spanId=" + sp.context.span_id,
                     r1 + "severityNumber=17", r1 + "attributes[code].intValue=-2"]:
            self.assertIn(want + "\n", out)
        m = re.search(r"logRecords\.0\.flags=(\d+)\n", out)
        self.assertTrue(m and int(m.group(1)) & 1, "the sampled flag: %r" % (m,))
        self.assertNotIn("below the sink", out)
        self.assertNotIn(r1 + "traceId", out)
        paths = sorted(self.rx.meta(i)["path"] for i in range(len(self.rx.bodies())))
        self.assertIn("/v1/logs", paths)
        self.assertIn("/v1/traces", paths)

    def test_protobuf(self):
        self.roundtrip("http/protobuf")

    def test_json(self):
        self.roundtrip("http/json")

    def test_sink_arguments(self):
        with self.assertRaises(sonde.InvalidArgument):
            otlp.log_sink(level="loud")
        s = otlp.log_sink()
        self.assertEqual(s.errors, 0)
        with self.assertRaises(sonde.SondeError):
            s.reopen()  # not a file


if __name__ == "__main__":
    unittest.main()
