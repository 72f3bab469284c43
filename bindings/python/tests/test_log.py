import json
import os
import tempfile
import unittest

import sonde
from sonde import _lib


def read(path):
    with open(path) as f:
        return f.read().splitlines()


@unittest.skipUnless(_lib.HAVE_LOG, "libsonde without logger")
class TestLogger(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "app.log")

    def logger(self, **kw):
        kw.setdefault("level_env", "")
        return sonde.Logger("svc", sinks=[sonde.file_sink(self.path)], **kw)

    def records(self):
        sonde.log_flush()
        return [json.loads(line) for line in read(self.path)]

    def test_typed_fields(self):
        log = self.logger()
        log.info("typed", i=-5, u=2 ** 64 - 1, huge=2 ** 70, f=0.1, t=True, n=None, s="é",
                 b=b"\xff", o=[1])
        r = self.records()[0]
        self.assertEqual(r["message"], "typed")
        self.assertEqual(r["level"], "info")
        self.assertEqual(r["service"], "svc")
        self.assertEqual((r["i"], r["u"], r["huge"], r["f"], r["t"], r["n"], r["s"], r["o"]),
                         (-5, 2 ** 64 - 1, str(2 ** 70), 0.1, True, None, "é", "[1]"))
        self.assertEqual(r["b"], "\ufffd")  # invalid UTF-8 is escaped by the logger

    def test_exception_is_an_error_field_in_every_profile(self):
        # issue 15: an exception value becomes an error field (type, message,
        # traceback), mapped per profile
        paths = {f: os.path.join(self.dir, f + ".log") for f in ("json", "ecs", "otel")}
        sinks = [sonde.file_sink(p, format=f) for f, p in paths.items()]
        log = sonde.Logger("svc", sinks=sinks, level_env="")

        def parse():
            raise ValueError("bad quantity: -3")
        try:
            parse()
        except ValueError as e:
            log.error("order rejected", err=e, order=7)
        sonde.log_flush()
        got = {f: json.loads(read(p)[0]) for f, p in paths.items()}
        err = got["json"]["err"]
        self.assertEqual((err["type"], err["message"]), ("ValueError", "bad quantity: -3"))
        self.assertIn("in parse", err["stack"])
        self.assertTrue(err["stack"].startswith("Traceback (most recent call last):"))
        ecs = got["ecs"]
        self.assertEqual(ecs["log.level"], "error")
        self.assertEqual(ecs["error"]["type"], "ValueError")
        self.assertEqual(ecs["error"]["stack_trace"], err["stack"])
        self.assertEqual(ecs["service"], {"name": "svc"})
        attrs = got["otel"]["attributes"]
        self.assertEqual(got["otel"]["severity_number"], 17)
        self.assertEqual(attrs["exception.type"], "ValueError")
        self.assertEqual(attrs["exception.message"], "bad quantity: -3")
        self.assertEqual(attrs["exception.stacktrace"], err["stack"])
        self.assertEqual(attrs["order"], 7)
        # an exception never raised: no traceback, no stack
        log.warn("not raised", err=KeyError("k"))
        sonde.log_flush()
        r = json.loads(read(paths["json"])[1])
        self.assertEqual(r["err"], {"type": "KeyError", "message": "'k'"})
        with self.assertRaises(ValueError):
            sonde.file_sink(self.path, format="yaml")

    def test_flight_recorder_replays_before_the_error(self):
        # issue 20: debug records kept below the level, written before the error
        log = self.logger(flight_recorder=True)
        for i in range(3):
            log.debug("kept", i=i)
        log.info("written")
        sonde.log_flush()
        self.assertEqual([r["message"] for r in self.records()], ["written"])
        log.error("boom")
        recs = self.records()
        self.assertEqual([r["message"] for r in recs], ["written", "kept", "kept", "kept", "boom"])
        self.assertEqual([r.get("i") for r in recs[1:4]], [0, 1, 2])
        self.assertTrue(all(r["_replayed"] is True for r in recs[1:4]))
        self.assertNotIn("_replayed", recs[4])
        with self.assertRaises(ValueError):
            self.logger(flight_recorder=True, flight_scope="galaxy")

    def test_crash_flush_in_a_dying_child(self):
        # issue 20: a Python process killed by SIGABRT leaves its records
        import subprocess
        import sys
        code = (
            "import os, sonde\n"
            "log = sonde.Logger('dying', sinks=[sonde.file_sink(%r)], level_env='',"
            " flight_recorder=True)\n"
            "sonde.log.crash_flush_enable()\n"
            "for i in range(500):\n"
            "    log.debug('detail', i=i)\n"
            "for i in range(500):\n"
            "    log.info('step', i=i)\n"
            "log.error('last words')\n"
            "os.abort()\n" % self.path)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, -6, r.stderr.decode(errors="replace"))
        recs = [json.loads(line) for line in read(self.path)]
        msgs = [x["message"] for x in recs]
        self.assertEqual(msgs.count("step"), 500)
        self.assertEqual(msgs.count("detail"), 128)  # the last 128 kept
        self.assertLess(msgs.index("detail"), msgs.index("last words"))
        crash = [x for x in recs if x["message"] == "crash"]
        self.assertEqual(len(crash), 1)
        self.assertEqual((crash[0]["signal"], crash[0]["level"]), ("SIGABRT", "fatal"))

    def test_levels(self):
        log = self.logger(level="warn")
        log.info("hidden")
        log.warn("shown")
        log.level = "debug"
        self.assertEqual(log.level, sonde.log.DEBUG)
        self.assertTrue(log.is_enabled("debug"))
        log.debug("now shown")
        log.trace("still hidden")
        log.log("error", "via log()")
        self.assertEqual([r["message"] for r in self.records()],
                         ["shown", "now shown", "via log()"])
        with self.assertRaises(sonde.InvalidArgument):
            log.level = "loud"
        with self.assertRaises(ValueError):
            log.level = 9

    def test_level_env(self):
        os.environ["SONDE_PY_TEST_LEVEL"] = "error"
        try:
            log = self.logger(level_env="SONDE_PY_TEST_LEVEL")
        finally:
            del os.environ["SONDE_PY_TEST_LEVEL"]
        self.assertEqual(log.level, sonde.log.ERROR)

    def test_child_loggers_bind_fields(self):
        log = self.logger()
        api = log.child(component="api", shard=3)
        api.child(user="bob").info("deep", x=1)
        log.info("root")
        recs = self.records()
        self.assertEqual((recs[0]["component"], recs[0]["shard"], recs[0]["user"], recs[0]["x"]),
                         ("api", 3, "bob", 1))
        self.assertNotIn("component", recs[1])
        del api  # freeing a parent keeps the child usable (C contract)

    def test_redaction_and_logfmt(self):
        path2 = os.path.join(self.dir, "fmt.log")
        log = sonde.Logger("svc", sinks=[sonde.file_sink(path2, format="logfmt")],
                           redact=["password"], level_env="")
        log.info("login", user="ann", password="hunter2")
        sonde.log_flush()
        line = read(path2)[0]
        self.assertIn("user=ann", line)
        self.assertIn("REDACTED", line)
        self.assertNotIn("hunter2", line)

    def test_trace_context_stamped(self):
        log = self.logger()
        with sonde.span("op") as sp:
            log.info("inside")
        log.info("outside")
        a, line, b = self.records()
        self.assertEqual(a["trace_id"], sp.context.trace_id)
        self.assertEqual(a["span_id"], sp.context.span_id)
        self.assertNotIn("trace_id", b)
        # the span's own line, through the default logger (the only root)
        self.assertEqual((line["message"], line["span_name"]), ("span", "op"))
        self.assertEqual(line["span_id"], sp.context.span_id)

    def test_varying_messages_and_field_limit(self):
        log = self.logger()
        # messages are copied with each record: any number of distinct ones
        for i in range(50):
            log.info("message number %d" % i, k=i)
        log.info("fifteen", **{"f%d" % i: i for i in range(15)})
        with self.assertRaises(sonde.InvalidArgument):
            log.info("sixteen", **{"f%d" % i: i for i in range(16)})
        recs = self.records()
        self.assertEqual(len(recs), 51)
        self.assertEqual(recs[49]["message"], "message number 49")
        self.assertEqual(recs[49]["k"], 49)
        self.assertEqual(recs[50]["f14"], 14)

    def test_bad_arguments(self):
        with self.assertRaises(sonde.InvalidArgument):
            sonde.Logger("")
        with self.assertRaises(ValueError):
            sonde.file_sink(self.path, format="xml")
        with self.assertRaises(sonde.SondeError) as cm:
            sonde.file_sink(os.path.join(self.dir, "no", "such", "dir.log"))
        self.assertEqual(cm.exception.name, "EIO")
        self.assertIn("no", str(cm.exception))

    def test_stats(self):
        log = self.logger()
        before = sonde.log.stats()["written"]["error"]
        log.error("counted")
        sonde.log_flush()
        self.assertEqual(sonde.log.stats()["written"]["error"], before + 1)


if __name__ == "__main__":
    unittest.main()
