"""sonde.Health: Python checks answer liveness, readiness and startup probes
through libsonde (aggregation, timeouts, caching, JSON body, metrics), and a
C check and a Python check share one probe."""

import ctypes
import json
import threading
import time
import unittest

import sonde
from sonde import health as sh
from sonde.exposition import generate_latest

from _support import build_shared

C_CHECK = r"""
#include <stdio.h>
#include <sonde.h>

static sonde_health_result from_c(void *user, char *msg, size_t cap)
{
	(void)user;
	snprintf(msg, cap, "warned from C");
	return SONDE_HEALTH_WARN;
}

int add_c_check(sonde_health *h);
int add_c_check(sonde_health *h)
{
	sonde_health_check_opts o;
	sonde_health_check_opts_init(&o, "c_side", from_c, NULL);
	o.probes = SONDE_HEALTH_READINESS;
	return sonde_health_add_check(h, &o);
}
"""


class TestHealth(unittest.TestCase):
    def setUp(self):
        self.reg = sonde.Registry()
        self.h = sonde.Health(version="9.9.9", registry=self.reg, free_wait=0.5)

    def tearDown(self):
        self.h.close()

    def test_results_aggregate_and_body_shape(self):
        self.h.add_check("ok", lambda: None)
        self.h.add_check("ok_true", lambda: True)
        self.h.add_check("degraded", lambda: ("warn", "3 of 4 nodes"))
        code, body = self.h.evaluate("readiness")
        doc = json.loads(body)
        self.assertEqual(code, 200)
        self.assertEqual(doc["status"], "degraded")
        self.assertEqual(doc["probe"], "readiness")
        self.assertEqual(doc["version"], "9.9.9")
        self.assertGreaterEqual(doc["uptime"], 0)
        self.assertRegex(doc["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(list(doc["checks"]), ["ok", "ok_true", "degraded"])
        self.assertEqual(doc["checks"]["ok"]["status"], "pass")
        self.assertEqual(doc["checks"]["degraded"],
                         {"status": "warn", "responseTime": doc["checks"]["degraded"]["responseTime"],
                          "message": "3 of 4 nodes"})
        self.assertEqual(len(self.h), 3)

    def test_fail_by_false_by_raise_and_by_bad_return(self):
        def broken():
            raise ConnectionError("refused on 5432")
        self.h.add_check("down", broken)
        self.h.add_check("false", lambda: False)
        self.h.add_check("odd", lambda: 42)
        code, body = self.h.evaluate("readiness")
        checks = json.loads(body)["checks"]
        self.assertEqual(code, 503)
        self.assertEqual(json.loads(body)["status"], "unhealthy")
        self.assertEqual(checks["down"]["status"], "fail")
        self.assertEqual(checks["down"]["error"], "ConnectionError: refused on 5432")
        self.assertEqual(checks["false"]["error"], "check failed")
        self.assertIn("check returned 42", checks["odd"]["error"])

    def test_long_message_is_cut_not_overflowed(self):
        self.h.add_check("chatty", lambda: ("pass", "é" * 400))
        _, body = self.h.evaluate("readiness")
        msg = json.loads(body)["checks"]["chatty"]["message"]
        # 255 bytes at most; a cut inside a UTF-8 sequence becomes U+FFFD
        self.assertLessEqual(len(msg.encode()), 255 + 2)
        self.assertTrue(msg.startswith("é" * 100))

    def test_probes_select_their_checks(self):
        self.h.add_check("live", lambda: None, probes="liveness")
        self.h.add_check("both", lambda: None, probes=("readiness", "startup"))
        self.assertEqual(list(json.loads(self.h.evaluate("liveness")[1])["checks"]), ["live"])
        self.assertEqual(list(json.loads(self.h.evaluate("startup")[1])["checks"]), ["both"])
        self.assertEqual(list(json.loads(self.h.evaluate("readiness")[1])["checks"]), ["both"])

    def test_timeout_fails_the_check_without_holding_the_probe(self):
        gate = threading.Event()
        self.h.add_check("slow", lambda: gate.wait(5), timeout=0.1)
        t0 = time.monotonic()
        code, body = self.h.evaluate("readiness")
        took = time.monotonic() - t0
        gate.set()
        self.assertEqual(code, 503)
        self.assertIn("timed out after 100 ms", json.loads(body)["checks"]["slow"]["error"])
        self.assertLess(took, 2.0)

    def test_cache_reuses_results_including_failures(self):
        runs = []

        def flaky():
            runs.append(1)
            return False
        self.h.add_check("db", flaky, cache=30)
        first = json.loads(self.h.evaluate("readiness")[1])["checks"]["db"]
        second = json.loads(self.h.evaluate("readiness")[1])["checks"]["db"]
        self.assertEqual(len(runs), 1)
        self.assertNotIn("cached", first)
        self.assertTrue(second["cached"])
        self.assertEqual(second["status"], "fail")

    def test_concurrent_evaluations_from_threads(self):
        n = [0]
        lock = threading.Lock()

        def counted():
            with lock:
                n[0] += 1
            time.sleep(0.01)
        self.h.add_check("counted", counted)
        codes = []

        def worker():
            for _ in range(5):
                codes.append(self.h.evaluate("readiness")[0])
        ts = [threading.Thread(target=worker) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(codes, [200] * 20)
        # concurrent evaluations join a run in flight instead of starting another
        self.assertGreaterEqual(n[0], 1)
        self.assertLessEqual(n[0], 20)

    def test_metrics_in_the_registry(self):
        self.h.add_check("up", lambda: None)
        self.h.add_check("half", lambda: "warn")
        self.h.evaluate("readiness")
        text = generate_latest(self.reg).decode()
        self.assertIn('sonde_health_check_status{check="up",probe="readiness"} 1', text)
        self.assertIn('sonde_health_check_status{check="half",probe="readiness"} 0.5', text)
        self.assertIn('sonde_health_check_duration_seconds_count{check="up"} 1', text)

    def test_bad_input_raises_with_the_c_message(self):
        with self.assertRaises(ValueError) as cm:
            self.h.add_check("bad name!", lambda: None)
        self.assertIn("bad name!", str(cm.exception))
        self.h.add_check("dup", lambda: None)
        with self.assertRaises(sonde.AlreadyExists):
            self.h.add_check("dup", lambda: None)
        with self.assertRaises(ValueError):
            self.h.add_check("x", lambda: None, probes="sideways")
        with self.assertRaises(ValueError):
            self.h.add_check("x", "not callable")
        with self.assertRaises(ValueError):
            self.h.add_check(None, lambda: None)
        with self.assertRaises(ValueError):
            self.h.add_check("x", lambda: None, timeout=float("nan"))
        with self.assertRaises(ValueError):
            self.h.add_check("x", lambda: None, timeout=10 ** 7)  # over one hour
        with self.assertRaises(ValueError):
            self.h.evaluate("everything")
        self.assertEqual(len(self.h), 1)

    def test_close_releases_checks_and_later_calls_raise(self):
        before = len(sh._live)
        h = sonde.Health(registry=self.reg)
        h.add_check("a", lambda: None)
        h.add_check("b", lambda: None)
        self.assertEqual(len(sh._live), before + 2)
        h.close()
        self.assertEqual(len(sh._live), before)
        with self.assertRaises(sonde.StateError):
            h.evaluate("readiness")
        h.close()  # twice is harmless

    def test_decorator_and_startup_latch(self):
        calls = []

        @self.h.check("boot", probes="startup")
        def boot():
            calls.append(1)
        self.assertEqual(self.h.evaluate("startup")[0], 200)
        self.assertEqual(self.h.evaluate("startup")[0], 200)
        self.assertEqual(len(calls), 1)  # latched after the first success
        self.assertTrue(callable(boot))

    def test_c_and_python_checks_share_one_probe(self):
        so = build_shared("healthc", C_CHECK)
        if not so:
            self.skipTest("no C compiler")
        c = ctypes.CDLL(so)
        c.add_c_check.argtypes = [ctypes.c_void_p]
        c.add_c_check.restype = ctypes.c_int
        self.h.add_check("py_side", lambda: None)
        self.assertEqual(c.add_c_check(self.h._h), 0)
        code, body = self.h.evaluate("readiness")
        doc = json.loads(body)
        self.assertEqual(code, 200)
        self.assertEqual(doc["status"], "degraded")
        self.assertEqual(doc["checks"]["py_side"]["status"], "pass")
        self.assertEqual(doc["checks"]["c_side"]["message"], "warned from C")


if __name__ == "__main__":
    unittest.main()
