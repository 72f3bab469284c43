"""prometheus_client's remaining surface in sonde (issue 18): Info, Enum,
CollectorRegistry, start_http_server, make_asgi_app, write_to_textfile,
push_to_gateway against the real Prometheus Pushgateway, read back with
the official parsers; and logging.Handler."""

import asyncio
import gzip
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import sonde

from prometheus_client import parser as text_parser
from prometheus_client.openmetrics import parser as om_parser

PUSHGATEWAY = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")


def families(text):
    return {f.name: f for f in text_parser.text_string_to_metric_families(text)}


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_parser.text_string_to_metric_families(text) for s in f.samples}


class InfoEnumRegistry(unittest.TestCase):
    def test_info_enum_in_both_formats(self):
        reg = sonde.CollectorRegistry()
        i = sonde.Info("build", "Build metadata.", registry=reg)
        i.info({"version": "1.2.3", "commit": "abc"})
        e = sonde.Enum("mode", "Run mode.", states=["starting", "running", "stopped"],
                       registry=reg)
        self.assertEqual(e.get(), "starting")
        e.state("running")
        self.assertEqual(e.get(), "running")
        li = sonde.Info("component", "Components.", ["name"], registry=reg)
        li.labels("db").info({"driver": "pg"})
        li.labels("cache").info({"driver": "redis"})
        om = sonde.generate_latest(reg, "openmetrics").decode()
        fams = {f.name: f for f in om_parser.text_string_to_metric_families(om)}
        self.assertEqual(fams["build"].type, "info")
        self.assertEqual(fams["build"].samples[0].labels, {"version": "1.2.3", "commit": "abc"})
        self.assertEqual(fams["mode"].type, "stateset")
        self.assertEqual({s.labels["mode"]: s.value for s in fams["mode"].samples},
                         {"starting": 0, "running": 1, "stopped": 0})
        self.assertEqual(sorted((s.labels["name"], s.labels["driver"])
                                for s in fams["component"].samples),
                         [("cache", "redis"), ("db", "pg")])
        # info() replaces the previous pairs, also with other keys
        i.info({"version": "1.2.4", "commit": "def"})
        i.info({"release": "r9"})
        s = samples(sonde.generate_latest(reg).decode())
        self.assertEqual([k for k in s if k[0] == "build_info"],
                         [("build_info", (("release", "r9"),))])
        with self.assertRaises(sonde.NotFound):
            e.state("flying")
        with self.assertRaises(ValueError):
            sonde.Enum("labelled", "x", ["a"], states=["x"], registry=reg)
        with self.assertRaises(ValueError):
            li.labels("db").info({"other": "keys"})
        with self.assertRaises(ValueError):  # a key that is also a label name
            sonde.Info("k", "", ["name"], registry=reg).labels("a").info({"name": "clash"})
        with self.assertRaises(TypeError):
            reg.register(object())

    def test_collector_registry_target_info(self):
        reg = sonde.CollectorRegistry(target_info={"env": "prod"})
        c = sonde.Counter("jobs", "Jobs.", registry=reg)
        c.inc()
        reg.register(c)  # already in it: accepted
        s = samples(sonde.generate_latest(reg).decode())
        self.assertEqual(s[("target_info", (("env", "prod"),))], 1)
        self.assertEqual(s[("jobs_total", ())], 1)


class Serving(unittest.TestCase):
    def setUp(self):
        self.reg = sonde.CollectorRegistry()
        c = sonde.Counter("served", "Served.", ["path"], registry=self.reg)
        c.labels("/a").inc(3)

    def test_start_http_server(self):
        server, thread = sonde.start_http_server(0, "127.0.0.1", registry=self.reg)
        try:
            url = "http://127.0.0.1:%d/metrics" % server.server_port
            with urllib.request.urlopen(url, timeout=10) as r:
                self.assertEqual(r.headers["Content-Type"], sonde.CONTENT_TYPE_LATEST)
                body = r.read().decode()
            self.assertEqual(samples(body)[("served_total", (("path", "/a"),))], 3)
            req = urllib.request.Request(url, headers={
                "Accept": "application/openmetrics-text; version=1.0.0",
                "Accept-Encoding": "gzip"})
            with urllib.request.urlopen(req, timeout=10) as r:
                self.assertTrue(r.headers["Content-Type"].startswith("application/openmetrics-text"))
                raw = r.read()
                if r.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
            fams = {f.name: f for f in om_parser.text_string_to_metric_families(raw.decode())}
            self.assertEqual(fams["served"].samples[0].value, 3)
        finally:
            server.shutdown()
            server.server_close()
        thread.join(10)
        self.assertFalse(thread.is_alive())

    def test_make_asgi_app(self):
        app = sonde.make_asgi_app(self.reg)
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "method": "GET", "path": "/metrics",
                 "headers": [(b"accept", b"application/openmetrics-text; version=1.0.0")]}
        asyncio.run(app(scope, receive, send))
        self.assertEqual(sent[0]["type"], "http.response.start")
        self.assertEqual(sent[0]["status"], 200)
        headers = dict(sent[0]["headers"])
        self.assertTrue(headers[b"content-type"].startswith(b"application/openmetrics-text"))
        body = sent[1]["body"]
        self.assertEqual(int(headers[b"content-length"]), len(body))
        fams = {f.name: f for f in om_parser.text_string_to_metric_families(body.decode())}
        self.assertEqual(fams["served"].samples[0].value, 3)
        with self.assertRaises(ValueError):
            asyncio.run(app({"type": "websocket"}, receive, send))

    def test_write_to_textfile(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "app.prom")
            sonde.write_to_textfile(path, self.reg)
            with open(path) as f:
                self.assertEqual(samples(f.read())[("served_total", (("path", "/a"),))], 3)
            self.assertEqual(os.listdir(d), ["app.prom"])  # no temporary left
            with self.assertRaises(OSError):
                sonde.write_to_textfile(os.path.join(d, "no", "dir.prom"), self.reg)
            self.assertEqual(os.listdir(d), ["app.prom"])
        finally:
            shutil.rmtree(d)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@unittest.skipUnless(PUSHGATEWAY, "prometheus-pushgateway not installed "
                                  "(apt-get install prometheus-pushgateway)")
class Pushgateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        for _ in range(5):
            cls.port = free_port()
            with open(os.path.join(cls.dir, "pgw.log"), "w") as err:
                cls.proc = subprocess.Popen(
                    [PUSHGATEWAY, "--web.listen-address=127.0.0.1:%d" % cls.port,
                     "--persistence.file="],  # in memory (Debian's default is a file)
                    stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.time() + 15
            while time.time() < deadline and cls.proc.poll() is None:
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % cls.port, timeout=1)
                    return
                except OSError:
                    time.sleep(0.1)
            cls.proc.kill()
            cls.proc.wait()
        raise RuntimeError("the Pushgateway did not start: " +
                           open(os.path.join(cls.dir, "pgw.log")).read()[-2000:])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            cls.proc.wait(10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        shutil.rmtree(cls.dir)

    def gateway_page(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=10) as r:
            return samples(r.read().decode())

    def test_push_pushadd_delete(self):
        gw = "127.0.0.1:%d" % self.port
        reg = sonde.CollectorRegistry()
        c = sonde.Counter("batch_items", "Items.", ["kind"], registry=reg)
        c.labels("a").inc(7)
        g = sonde.Gauge("batch_last_success_unixtime", "Last success.", registry=reg)
        g.set(1700000000)
        key = {"instance": "host/1", "zone": ""}  # '/' and '' need the base64 form
        sonde.push_to_gateway(gw, "nightly", reg, grouping_key=key)
        page = self.gateway_page()
        # the gateway keeps the grouping key's labels, the empty one too
        lab = (("instance", "host/1"), ("job", "nightly"), ("kind", "a"), ("zone", ""))
        lab_g = (("instance", "host/1"), ("job", "nightly"), ("zone", ""))
        self.assertEqual(page[("batch_items_total", lab)], 7)
        self.assertEqual(page[("batch_last_success_unixtime", lab_g)], 1700000000)
        # pushadd replaces only the names pushed; push replaces the group
        reg2 = sonde.CollectorRegistry()
        sonde.Gauge("batch_last_success_unixtime", "Last success.", registry=reg2).set(1700000500)
        sonde.pushadd_to_gateway(gw, "nightly", reg2, grouping_key=key)
        page = self.gateway_page()
        self.assertEqual(page[("batch_items_total", lab)], 7)
        self.assertEqual(page[("batch_last_success_unixtime", lab_g)], 1700000500)
        sonde.push_to_gateway(gw, "nightly", reg2, grouping_key=key)
        self.assertNotIn(("batch_items_total", lab), self.gateway_page())
        sonde.delete_from_gateway(gw, "nightly", grouping_key=key)
        self.assertFalse([k for k in self.gateway_page() if ("job", "nightly") in k[1]])
        # the gateway's refusal comes back as an error naming it
        # (a family whose type differs from the one another group pushed)
        first = sonde.CollectorRegistry()
        sonde.Gauge("batch_clash", "Clash.", registry=first).set(1)
        sonde.push_to_gateway(gw, "first", first)
        bad = sonde.CollectorRegistry()
        sonde.Histogram("batch_clash", "Clash.", registry=bad).observe(1)
        with self.assertRaises(OSError) as cm:
            sonde.push_to_gateway(gw, "second", bad)
        sonde.delete_from_gateway(gw, "first")
        self.assertIn("HTTP 400", str(cm.exception))
        with self.assertRaises(sonde.InvalidArgument):
            sonde.push_to_gateway(gw, "", reg)


class StdlibLogging(unittest.TestCase):
    def test_handler_fields_exceptions_and_trace(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "log.jsonl")
            slog = sonde.Logger("pysvc", level="debug", sinks=[sonde.file_sink(path)])
            h = sonde.LogHandler(slog)
            lg = logging.getLogger("sonde.test.handler")
            lg.propagate = False
            lg.setLevel(logging.DEBUG)
            lg.addHandler(h)
            try:
                with sonde.span("op") as sp:
                    lg.warning("slow %s", "query", extra={"ms": 812, "user": "u1", "ok": False})
                    trace_id = sp.context.trace_id
                try:
                    1 / 0
                except ZeroDivisionError:
                    lg.exception("failed")
                lg.debug("many", extra={"k%02d" % i: i for i in range(20)})
                lg.log(5, "below debug")
            finally:
                lg.removeHandler(h)
            sonde.log_flush()
            with open(path) as f:
                lines = [json.loads(l) for l in f]
            by_msg = {l["message"]: l for l in lines}
            w = by_msg["slow query"]
            self.assertEqual((w["level"], w["logger"], w["ms"], w["user"], w["ok"]),
                             ("warn", "sonde.test.handler", 812, "u1", False))
            self.assertEqual(w["trace_id"], trace_id)
            e = by_msg["failed"]
            self.assertEqual((e["level"], e["exc_type"]), ("error", "ZeroDivisionError"))
            self.assertIn("Traceback", e["exception"])
            self.assertIn("1 / 0", e["exception"])
            m = by_msg["many"]
            self.assertEqual(m["level"], "debug")
            kept = [k for k in m if k.startswith("k")]
            self.assertEqual(len(kept) + m["fields_dropped"], 20)
            self.assertNotIn("below debug", by_msg)  # level 5 -> trace, below the logger's debug
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
