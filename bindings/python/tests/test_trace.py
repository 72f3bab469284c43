import threading
import unittest

import sonde
from sonde import Baggage, TraceParent, TraceState

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class TestTraceParent(unittest.TestCase):
    def test_parse_format_roundtrip(self):
        tp = TraceParent.parse(TP)
        self.assertEqual(tp.trace_id, "0af7651916cd43dd8448eb211c80319c")
        self.assertEqual(tp.parent_id, "b7ad6b7169203331")
        self.assertEqual(tp.flags, 1)
        self.assertEqual(tp.format(), TP)
        self.assertTrue(tp.context().sampled)

    def test_invalid_inputs_raise_value_errors(self):
        bad = [TP.upper(), "00-" + "0" * 32 + "-b7ad6b7169203331-01", TP[:-1], "", "ff" + TP[2:],
               b"\xff" * 55, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x"]
        for s in bad:
            with self.assertRaises(ValueError, msg=s):
                TraceParent.parse(s)
        with self.assertRaises(ValueError):
            TraceParent.parse(None)
        with self.assertRaises(ValueError):
            TraceParent("zz", "b7ad6b7169203331").format()

    def test_higher_version_and_flags_masked(self):
        tp = TraceParent.parse("cc" + TP[2:-2] + "ff-more")
        self.assertEqual(tp.version, 0xCC)
        self.assertEqual(tp.flags, 0xFF)
        self.assertTrue(tp.format().endswith("-03"))


class TestTraceState(unittest.TestCase):
    def test_set_moves_to_front(self):
        ts = TraceState("a=1,b=2")
        ts["b"] = "3"
        ts["c"] = "4"
        self.assertEqual(ts.items(), [("c", "4"), ("b", "3"), ("a", "1")])
        self.assertEqual(ts.format(), "c=4,b=3,a=1")
        self.assertEqual(ts["a"], "1")
        del ts["a"]
        self.assertEqual(len(ts), 2)
        with self.assertRaises(KeyError):
            ts["a"]
        with self.assertRaises(KeyError):
            del ts["a"]

    def test_invalid(self):
        ts = TraceState()
        with self.assertRaises(sonde.InvalidArgument):
            ts.parse("A=1")
        self.assertEqual(len(ts), 0)
        with self.assertRaises(sonde.InvalidArgument):
            ts["k"] = "bad,value"
        with self.assertRaises(sonde.LimitReached):
            ts.parse(",".join("k%d=v" % i for i in range(33)))


class TestBaggage(unittest.TestCase):
    def test_parse_decode_format(self):
        b = Baggage("userId=alice, serverNode = DF%2028 ;ttl=3, isProduction=false")
        self.assertEqual(b["serverNode"], "DF 28")
        self.assertEqual(b.entries()[1], ("serverNode", "DF 28", "ttl=3"))
        b.set("city", "Zürich")
        self.assertEqual(b["city"], "Zürich")
        self.assertIn("city=Z%C3%BCrich", b.format())
        del b["userId"]
        self.assertIsNone(b.get("userId"))
        with self.assertRaises(sonde.InvalidArgument):
            b.parse("bad key=1")
        self.assertEqual(len(b), 0)


class TestSpans(unittest.TestCase):
    def test_nesting_and_current_context(self):
        self.assertFalse(sonde.current_context())
        with sonde.span("outer") as outer:
            octx = sonde.current_context()
            self.assertEqual(octx.span_id, outer.context.span_id)
            with sonde.span("inner") as inner:
                self.assertEqual(inner.context.trace_id, octx.trace_id)
                self.assertEqual(inner.parent_span_id, octx.span_id)
                inner.set_attribute("http.status", 200)
                inner.set_attribute("ok", True)
                inner.set_attribute("ratio", 0.5)
                inner.set_attribute("path", "/a")
            self.assertEqual(sonde.current_context().span_id, octx.span_id)
        self.assertFalse(sonde.current_context())
        self.assertGreater(inner.duration_ns, 0)
        self.assertEqual(outer.parent_span_id, "0" * 16)

    def test_unended_span_is_kept_alive_and_nul_names_refused(self):
        def start_and_forget():
            sonde.span("forgotten").start()  # never ended; reference dropped
        start_and_forget()
        import gc
        gc.collect()
        ctx = sonde.current_context()  # the C side keeps a copy of its context
        self.assertTrue(ctx)
        with sonde.span("after") as s:
            self.assertEqual(s.parent_span_id, ctx.span_id)
        with self.assertRaises(ValueError):
            sonde.span("a\0b")
        # leave the thread clean for the other tests
        from sonde import trace
        for obj in list(getattr(trace._attached, "objs", [])):
            obj.end()
        self.assertFalse(sonde.current_context())

    def test_generators_finish_out_of_order(self):
        # issue 13.2: two generators hold a span across a yield and finish
        # out of order; Span.end used to release memory C still linked
        import gc

        def work(name):
            with sonde.span(name) as s:
                yield s
            yield None

        a, b = work("gen-a"), work("gen-b")
        sa = next(a)
        sb = next(b)
        self.assertEqual(sonde.current_context().span_id, sb.context.span_id)
        next(a)  # ends gen-a first: out of order, the context is left alone
        self.assertEqual(sonde.current_context().span_id, sb.context.span_id)
        del a, sa
        gc.collect()
        junk = [bytearray(b"\xa5" * 512) for _ in range(2000)]  # reuse freed memory
        next(b)
        del b, sb, junk
        gc.collect()
        self.assertFalse(sonde.current_context())
        with sonde.span("after") as s:
            self.assertEqual(s.parent_span_id, "0" * 16)
        self.assertFalse(sonde.current_context())

    def test_asyncio_tasks_finish_out_of_order(self):
        import asyncio

        async def task(name, started, release):
            with sonde.span(name):
                started.set()
                await release.wait()

        async def main():
            ea, eb, ra, rb = (asyncio.Event() for _ in range(4))
            ta = asyncio.ensure_future(task("task-a", ea, ra))
            await ea.wait()
            tb = asyncio.ensure_future(task("task-b", eb, rb))
            await eb.wait()
            ra.set()
            await ta  # a ends while b is current
            rb.set()
            await tb

        asyncio.run(main())
        self.assertFalse(sonde.current_context())

    def test_span_ended_on_another_thread(self):
        import gc
        out = {}

        def starter():
            s = sonde.span("moved").start()
            ctx = s.context
            t = threading.Thread(target=s.end)
            t.start()
            t.join()
            out["ended"] = s.duration_ns > 0
            del s
            gc.collect()
            # this thread keeps a copy of the span's context, never its memory
            out["same"] = sonde.current_context().span_id == ctx.span_id
            out["held"] = len(getattr(sonde.trace._attached, "objs", []))

        t = threading.Thread(target=starter)
        t.start()
        t.join()
        self.assertEqual(out, {"ended": True, "same": True, "held": 0})
        self.assertFalse(sonde.current_context())

    def test_exception_marks_error(self):
        with self.assertRaises(RuntimeError):
            with sonde.span("fails") as s:
                raise RuntimeError("boom")
        self.assertEqual(s.status, "error")
        self.assertFalse(sonde.current_context())

    def test_child_of_remote_and_attach(self):
        remote = TraceParent.parse(TP).context()
        with sonde.span("server", child_of=remote) as s:
            self.assertEqual(s.context.trace_id, remote.trace_id)
            self.assertEqual(s.parent_span_id, remote.span_id)
        with sonde.attach(remote):
            self.assertEqual(sonde.current_context().span_id, "b7ad6b7169203331")
            with sonde.attach(None):
                self.assertFalse(sonde.current_context())
        self.assertFalse(sonde.current_context())

    def test_context_is_per_thread(self):
        seen = []
        with sonde.span("main"):
            t = threading.Thread(target=lambda: seen.append(bool(sonde.current_context())))
            t.start()
            t.join()
        self.assertEqual(seen, [False])

    def test_extract_inject(self):
        ctx, continued, ts, bg = sonde.extract({"TraceParent": TP, "tracestate": "x=1",
                                                "baggage": "k=v", "X-Request-Id": "req-1"})
        self.assertTrue(continued)
        self.assertEqual(ctx.correlation_id, "req-1")
        self.assertEqual(ts["x"], "1")
        self.assertEqual(bg["k"], "v")
        with sonde.span("handler", child_of=ctx) as s:
            hdrs = sonde.inject(tracestate=ts, baggage=bg)
        self.assertEqual(hdrs["traceparent"],
                         "00-%s-%s-01" % (ctx.trace_id, s.context.span_id))
        self.assertEqual(hdrs["tracestate"], "x=1")
        ctx2, continued2, _, _ = sonde.extract([("traceparent", "garbage")])
        self.assertFalse(continued2)
        self.assertTrue(ctx2)  # a fresh trace

    def test_span_metrics(self):
        reg = sonde.Registry()
        sonde.enable_span_metrics(reg, "py_span_seconds")
        try:
            with sonde.span("timed"):
                pass
            with sonde.span("timed") as s:
                s.set_status(ok=True)
            with sonde.span("timed") as s:
                s.set_status(ok=False, message="bad")
            self.assertEqual(s.status, "error")
            with self.assertRaises(RuntimeError):
                with sonde.span("timed"):
                    raise RuntimeError("x")
            out = sonde.generate_latest(reg)
            # issue 13.18: the status is a label; unset counts as ok
            self.assertIn(b'py_span_seconds_count{name="timed",status="ok"} 2', out)
            self.assertIn(b'py_span_seconds_count{name="timed",status="error"} 2', out)
        finally:
            sonde._lib.lib.sonde_trace_set_span_histogram(None)

    def test_span_log_line(self):
        # issue 13.18: one line per ended span through the named logger
        import json
        import os
        import tempfile
        if not hasattr(sonde, "Logger"):
            self.skipTest("this libsonde has no logger")
        d = tempfile.mkdtemp()
        path = os.path.join(d, "spans.log")
        log = sonde.Logger("py-span", sinks=[sonde.file_sink(path)], level_env="")
        sonde.set_span_logger(log)
        try:
            with sonde.span("py.work") as s:
                s.set_status(ok=False, message="boom")
            sonde.log_flush()
        finally:
            sonde.reset_span_logger()
        with open(path) as f:
            recs = [json.loads(x) for x in f if x.strip()]
        span = [r for r in recs if r.get("message") == "span"]
        self.assertEqual(len(span), 1)
        self.assertEqual(span[0]["span_name"], "py.work")
        self.assertEqual(span[0]["span_status"], "error")
        self.assertEqual(span[0]["span_status_message"], "boom")
        self.assertEqual(span[0]["span_id"], s.context.span_id)
        self.assertEqual(span[0]["trace_id"], s.context.trace_id)


if __name__ == "__main__":
    unittest.main()


class TestSpanModel(unittest.TestCase):
    """Kind, typed and array attributes, events, exceptions, links and
    status from Python, read back from sonde's record of the span."""

    def setUp(self):
        sonde.set_sampler_ratio(1.0)

    def test_kind_attributes_events_links(self):
        other = sonde.SpanContext.create("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
        with sonde.span("GET /users/:id", kind="server",
                        attributes={"http.request.method": "GET"}) as s:
            s.set_attribute("http.response.status_code", 200)
            s.set_attribute("ratio", 0.5)
            s.set_attribute("cache.hit", True)
            s.set_attribute("tags", ["a", "b"])
            s.set_attribute("ids", [1, 2, 3])
            s.set_attribute("weights", [1, 2.5])
            s.set_attribute("flags", [True, False])
            s.add_event("cache miss", {"key": "user:7", "size": 3, "tags": ["x"]},
                        timestamp_ns=1700000000000000000)
            s.add_link(other, {"reason": "batch"})
            self.assertEqual(s.kind, "server")
            self.assertTrue(s.recording)
            a = s.attributes
            self.assertEqual(a["http.request.method"], "GET")
            self.assertEqual(a["http.response.status_code"], 200)
            self.assertEqual(a["ratio"], 0.5)
            self.assertIs(a["cache.hit"], True)
            self.assertEqual(a["tags"], ["a", "b"])
            self.assertEqual(a["ids"], [1, 2, 3])
            self.assertEqual(a["weights"], [1.0, 2.5])
            self.assertEqual(a["flags"], [True, False])
            self.assertEqual(s.events, [("cache miss", 1700000000000000000,
                                         {"key": "user:7", "size": 3, "tags": ["x"]})])
            self.assertEqual(s.links, [("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331",
                                        {"reason": "batch"})])
        with self.assertRaises(ValueError):
            sonde.span("x", kind="sideways")
        with self.assertRaises(TypeError):
            with sonde.span("x") as s:
                s.add_link("not a context")

    def test_exception_is_recorded_and_sets_the_status(self):
        seen = {}

        class Boom(Exception):
            pass

        with self.assertRaises(Boom):
            with sonde.span("work") as s:
                try:
                    raise Boom("disk full")
                except Boom as e:
                    s.record_exception(e)
                    seen["events"] = s.events
                    raise
        name, t, attrs = seen["events"][0]
        self.assertEqual(name, "exception")
        self.assertGreater(t, 0)
        self.assertTrue(attrs["exception.type"].endswith("Boom"))
        self.assertEqual(attrs["exception.message"], "disk full")
        self.assertIn("Traceback", attrs["exception.stacktrace"])
        self.assertIn("test_exception_is_recorded_and_sets_the_status",
                      attrs["exception.stacktrace"])
        self.assertEqual(s.status, "error")

    def test_unsampled_span_keeps_no_events(self):
        sonde.set_sampler_ratio(0.0)
        try:
            with sonde.span("quiet") as s:
                s.add_event("ignored")
                self.assertFalse(s.recording)
                self.assertEqual(s.events, [])
        finally:
            sonde.set_sampler_ratio(1.0)
