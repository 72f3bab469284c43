"""Scoped context fields (sonde.log_context) and call-site sampling, through
the C library: lines read back from a file sink and parsed by json (strict:
duplicate keys rejected)."""

import asyncio
import json
import os
import tempfile
import threading
import unittest

import sonde
from sonde import _lib


def strict(line):
    def pairs(kv):
        keys = [k for k, _ in kv]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key in %r" % line)
        return dict(kv)
    return json.loads(line, object_pairs_hook=pairs)


@unittest.skipUnless(_lib.HAVE_LOG, "libsonde without logger")
class TestLogContext(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "app.log")

    def logger(self, **kw):
        kw.setdefault("level_env", "")
        return sonde.Logger("svc", sinks=[sonde.file_sink(self.path)], **kw)

    def records(self):
        sonde.log_flush()
        with open(self.path) as f:
            return [strict(line) for line in f.read().splitlines()]

    def test_nested_contexts_inner_and_call_win(self):
        log = self.logger()
        log.info("before")
        with sonde.log_context(user_id="u1", tenant=7):
            self.assertEqual(sonde.log.context_fields(), 2)
            log.info("outer", items=3)
            with sonde.log_context({"user_id": "u2", "session.id": "s9"}):
                log.info("inner", tenant=8)
            log.warn("outer again")
        log.info("after")
        self.assertEqual(sonde.log.context_fields(), 0)
        recs = self.records()
        strip = [{k: v for k, v in r.items() if k not in ("@timestamp", "service")}
                 for r in recs]
        self.assertEqual(strip, [
            {"level": "info", "message": "before"},
            {"level": "info", "message": "outer", "user_id": "u1", "tenant": 7, "items": 3},
            {"level": "info", "message": "inner", "user_id": "u2", "session.id": "s9",
             "tenant": 8},
            {"level": "warn", "message": "outer again", "user_id": "u1", "tenant": 7},
            {"level": "info", "message": "after"},
        ])
        # key order: scoped fields after service, outermost first, before the call's
        self.assertEqual(list(recs[2].keys()),
                         ["@timestamp", "level", "message", "service", "user_id",
                          "session.id", "tenant"])

    def test_threads_and_asyncio_tasks_see_their_own(self):
        log = self.logger()
        errors = []

        def worker(n):
            try:
                with sonde.log_context(worker=n):
                    for i in range(50):
                        log.info("w", i=i, me=n)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        ts = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

        async def task(n):
            with sonde.log_context(task=n):
                for i in range(5):
                    await asyncio.sleep(0)
                    log.info("t", me=n)

        async def main():
            await asyncio.gather(*(task(n) for n in range(3)))

        asyncio.run(main())
        self.assertEqual(errors, [])
        recs = self.records()
        w = [r for r in recs if r["message"] == "w"]
        t = [r for r in recs if r["message"] == "t"]
        self.assertEqual(len(w), 200)
        self.assertTrue(all(r["worker"] == r["me"] for r in w))
        self.assertEqual(len(t), 15)
        self.assertTrue(all(r["task"] == r["me"] and "worker" not in r for r in t))

    def test_errors_at_entry(self):
        with self.assertRaises(sonde.InvalidArgument):
            with sonde.log_context(**{"k%d" % i: i for i in range(9)}):
                pass
        with self.assertRaises(sonde.InvalidArgument):
            with sonde.log_context({"": 1}):
                pass
        with self.assertRaises(sonde.InvalidArgument):
            with sonde.log_context({"k" * 65: 1}):
                pass
        with self.assertRaises(sonde.LimitReached):
            with sonde.log_context(big="x" * 2000):
                pass
        with sonde.log_context(**{"a%d" % i: i for i in range(8)}):
            with sonde.log_context(**{"b%d" % i: i for i in range(8)}):
                with self.assertRaises(sonde.LimitReached):
                    with sonde.log_context(c=1):
                        pass
                self.assertEqual(sonde.log.context_fields(), 16)
        self.assertEqual(sonde.log.context_fields(), 0)
        # nothing stays pushed on the C side after a failure
        self.assertEqual(_lib.hot.sonde_log_scope_fields(), 0)

    def test_sampling_per_combination(self):
        before = sonde.log_sampled_total("info")
        err_before = sonde.log_sampled_total("error")
        log = self.logger(sample_first=2, sample_thereafter=4, sample_interval_ms=2 ** 32 - 1)
        for i in range(1, 15):
            log.info("hot", i=i)
        for i in range(5):
            log.error("bad", i=i)
        recs = self.records()
        self.assertEqual([r["i"] for r in recs if r["message"] == "hot"], [1, 2, 6, 10, 14])
        self.assertEqual(len([r for r in recs if r["message"] == "bad"]), 5)
        self.assertEqual(sonde.log_sampled_total("info") - before, 9)
        self.assertEqual(sonde.log_sampled_total("error") - err_before, 0)
        with self.assertRaises(sonde.InvalidArgument):
            self.logger(sample_first=-1)


if __name__ == "__main__":
    unittest.main()
