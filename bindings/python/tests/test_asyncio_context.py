"""Trace context follows contextvars (issue 18): asyncio tasks sharing one
thread each see their own span, in span parents, current_context() and the
trace ids of their log records, without passing contexts by hand."""

import asyncio
import json
import os
import shutil
import tempfile
import unittest

import sonde


class AsyncioContext(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "log.jsonl")
        self.log = sonde.Logger("asyncsvc", sinks=[sonde.file_sink(self.path)])

    def tearDown(self):
        shutil.rmtree(self.dir)

    def lines(self):
        sonde.log_flush()
        with open(self.path) as f:
            return {r["message"]: r for r in map(json.loads, f)}

    def test_interleaved_tasks_keep_their_own_spans(self):
        seen = {}

        async def worker(name, gate, other_gate):
            with sonde.span(name) as s:
                mine = s.context
                gate.set()
                await other_gate.wait()  # the other task's span is now open too
                cur = sonde.current_context()
                self.log.info("in " + name)
                with sonde.span(name + "-child") as c:
                    await asyncio.sleep(0)
                    child = (c.context.trace_id, c.parent_span_id)
                    self.log.info("child " + name)
                seen[name] = (mine, cur, child)
            self.log.info("after " + name)

        async def main():
            ga, gb = asyncio.Event(), asyncio.Event()
            await asyncio.gather(worker("a", ga, gb), worker("b", gb, ga))

        asyncio.run(main())
        lines = self.lines()
        for name in ("a", "b"):
            mine, cur, (child_trace, child_parent) = seen[name]
            self.assertEqual(cur.span_id, mine.span_id, name)
            self.assertEqual(child_trace, mine.trace_id, name)
            self.assertEqual(child_parent, mine.span_id, name)
            self.assertEqual(lines["in " + name]["trace_id"], mine.trace_id, name)
            self.assertEqual(lines["in " + name]["span_id"], mine.span_id, name)
            self.assertEqual(lines["child " + name]["trace_id"], mine.trace_id, name)
            self.assertNotIn("trace_id", lines["after " + name])
        self.assertNotEqual(seen["a"][0].trace_id, seen["b"][0].trace_id)

    def test_task_inherits_and_plain_task_sees_none(self):
        out = {}

        async def child_task():
            await asyncio.sleep(0)
            with sonde.span("in-task") as s:
                out["child"] = (s.context.trace_id, s.parent_span_id)
            self.log.info("from child task")

        async def unrelated(gate):
            await gate.wait()  # while main's span is open on the thread
            out["unrelated_ctx"] = bool(sonde.current_context())
            with sonde.span("unrelated") as s:
                out["unrelated"] = (s.context.trace_id, s.parent_span_id)
            self.log.info("from unrelated task")

        async def main():
            gate = asyncio.Event()
            u = asyncio.create_task(unrelated(gate))  # created outside the span
            with sonde.span("parent") as p:
                out["parent"] = p.context
                t = asyncio.create_task(child_task())
                gate.set()
                await t
                await u
                # and a thread: asyncio.to_thread copies the context
                out["thread"] = await asyncio.to_thread(lambda: sonde.current_context().span_id)

        asyncio.run(main())
        parent = out["parent"]
        self.assertEqual(out["child"], (parent.trace_id, parent.span_id))
        self.assertFalse(out["unrelated_ctx"])
        self.assertNotEqual(out["unrelated"][0], parent.trace_id)
        self.assertEqual(out["unrelated"][1], "0" * 16)  # a root span
        self.assertEqual(out["thread"], parent.span_id)
        lines = self.lines()
        self.assertEqual(lines["from child task"]["trace_id"], parent.trace_id)
        self.assertNotIn("trace_id", lines["from unrelated task"])

    def test_threads_and_sync_code_unchanged(self):
        with sonde.span("sync") as s:
            self.assertEqual(sonde.current_context().span_id, s.context.span_id)
            with sonde.attach(None):
                self.assertFalse(sonde.current_context())
                self.log.info("hidden")
            self.log.info("shown")
        self.assertFalse(sonde.current_context())
        lines = self.lines()
        self.assertNotIn("trace_id", lines["hidden"])
        self.assertEqual(lines["shown"]["span_id"], s.context.span_id)


if __name__ == "__main__":
    unittest.main()
