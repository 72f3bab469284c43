import threading
import unittest

import sonde
from sonde import Counter, Gauge, Histogram, Registry, Summary, generate_latest


class TestCounter(unittest.TestCase):
    def setUp(self):
        self.reg = Registry()

    def test_inc_add_and_total_suffix(self):
        c = Counter("jobs", "Jobs.", registry=self.reg)
        self.assertEqual(c.name, "jobs_total")
        c.inc()
        c.inc(41)
        c.inc(0.5)
        self.assertEqual(c.get(), 42.5)
        self.assertIn(b"jobs_total 42.5", generate_latest(self.reg))
        big = Counter("big", "Big.", registry=self.reg)
        big.inc(2 ** 53 + 1)  # an exact integer add (uint64 cell)
        self.assertEqual(int(big.get()), 2 ** 53)  # a double reads it rounded
        # the exposition prints the integer cell exactly
        self.assertIn(b"big_total 9007199254740993\n", generate_latest(self.reg))

    def test_negative_inc_raises_and_nan_is_dropped(self):
        c = Counter("neg_total", "N.", registry=self.reg)
        with self.assertRaises(ValueError):
            c.inc(-1)
        c.inc(float("nan"))
        self.assertEqual(c.get(), 0.0)

    def test_labels_cached_positional_and_keyword(self):
        c = Counter("req_total", "R.", ["method", "code"], registry=self.reg)
        a = c.labels("GET", 200)
        self.assertIs(a, c.labels("GET", 200))
        c.labels(method="GET", code="200").inc(2)
        a.inc()
        self.assertEqual(a.get(), 3.0)
        self.assertEqual(len(c), 1)
        with self.assertRaises(ValueError):
            c.inc()  # a labelled family needs labels first
        with self.assertRaises(ValueError):
            c.labels(method="GET")

    def test_bad_labels_raise_with_c_message(self):
        c = Counter("bad_total", "B.", ["a"], registry=self.reg)
        with self.assertRaises(sonde.InvalidArgument) as cm:
            c.labels("x", "y")
        self.assertIn("2 label values given", str(cm.exception))
        self.assertEqual(cm.exception.status, -1)
        self.assertEqual(cm.exception.name, "EINVAL")
        with self.assertRaises(sonde.InvalidArgument) as cm:
            c.labels(None)
        self.assertIn("NULL", str(cm.exception))
        with self.assertRaises(ValueError):
            c.labels("\ud800")  # a lone surrogate has no UTF-8 form
        with self.assertRaises(sonde.InvalidArgument):
            c.labels("x" * 2000)

    def test_label_values_must_be_utf8_bytes_or_str(self):
        c = Counter("bytes_total", "B.", ["p"], registry=self.reg)
        c.labels("caf\u00e9".encode()).inc()
        c.labels("caf\u00e9").inc()  # str and its UTF-8 bytes: one child
        c.labels('q"\\\n').inc()
        self.assertEqual(len(c), 2)
        self.assertEqual(c.labels(b"caf\xc3\xa9").get(), 2.0)
        # invalid UTF-8 is refused (two such values would otherwise be
        # exposed as one series), whether given as bytes or as the
        # surrogate-escaped str of os.fsdecode()
        for bad in (b"a\xffb", "a\udcffb", b"\xfe"):
            with self.assertRaises(sonde.InvalidArgument, msg=repr(bad)) as cm:
                c.labels(bad)
            self.assertIn("not valid UTF-8", str(cm.exception))
        self.assertEqual(len(c), 2)
        out = generate_latest(self.reg)
        self.assertIn(b'bytes_total{p="q\\"\\\\\\n"} 1', out)
        self.assertIn('bytes_total{p="caf\u00e9"} 2'.encode(), out)
        self.assertNotIn("\ufffd".encode(), out)

    def test_invalid_name_and_conflict(self):
        with self.assertRaises(sonde.InvalidArgument) as cm:
            Counter("9bad", "x", registry=self.reg)
        self.assertIn('"9bad_total" is invalid', str(cm.exception))
        for bad in (None, "", "a\0b"):
            with self.assertRaises(sonde.InvalidArgument, msg=repr(bad)):
                Counter(bad, "x", registry=self.reg)
        with self.assertRaises(sonde.InvalidArgument):
            Counter("nul_help", "a\0b", registry=self.reg)
        with self.assertRaises(sonde.InvalidArgument):
            Counter("nul_label", "h", ["a\0b"], registry=self.reg)
        Counter("same", "help one", registry=self.reg)
        Counter("same", "help one", registry=self.reg)  # identical: the same family
        with self.assertRaises(sonde.AlreadyExists):
            Counter("same", "another help", registry=self.reg)

    def test_cardinality_limit(self):
        c = Counter("lim_total", "L.", ["k"], registry=self.reg, max_children=2)
        c.labels("a")
        c.labels("b")
        with self.assertRaises(sonde.LimitReached):
            c.labels("c")

    def test_remove_and_clear(self):
        c = Counter("rm_total", "R.", ["k"], registry=self.reg)
        old = c.labels("a")
        old.inc()
        c.remove("a")
        old.inc()  # discarded, not a crash
        self.assertNotIn(b'rm_total{k="a"}', generate_latest(self.reg))
        self.assertIsNot(c.labels("a"), old)
        with self.assertRaises(sonde.NotFound):
            c.remove("zz")
        c.labels("b").inc()
        c.clear()
        self.assertEqual(len(c), 0)

    def test_remove_through_one_object_is_seen_by_another(self):
        # issue 13.5: identical definitions share one C family; a child
        # removed through one object must not stay cached in the other.
        a = Counter("shared_total", "S.", ["k"], registry=self.reg)
        b = Counter("shared_total", "S.", ["k"], registry=self.reg)
        b.labels("x").inc()
        a.remove("x")
        for _ in range(5):
            b.labels("x").inc()  # each write must land in a live child
        self.assertEqual(b.labels("x").get(), 5.0)
        self.assertIn(b'shared_total{k="x"} 5', generate_latest(self.reg))

    def test_c_side_clear_and_unregister_drop_cached_children(self):
        c = Counter("cclear_total", "C.", ["k"], registry=self.reg)
        c.labels("x").inc()
        sonde._lib.lib.sonde_family_clear(c._fam)  # as C code would
        c.labels("x").inc(2)
        self.assertEqual(c.labels("x").get(), 2.0)
        self.assertIn(b'cclear_total{k="x"} 2', generate_latest(self.reg))
        # a clear of another family (or any removal) also revalidates, and
        # a still-live child is found again by the C lookup
        other = Counter("cclear_other_total", "O.", ["k"], registry=self.reg)
        other.labels("y").inc()
        other.remove("y")
        c.labels("x").inc()
        self.assertEqual(c.labels("x").get(), 3.0)

    def test_count_exceptions(self):
        c = Counter("exc_total", "E.", registry=self.reg)

        @c.count_exceptions(KeyError)
        def f(x):
            if x:
                raise KeyError(x)
        f(0)
        with self.assertRaises(KeyError):
            f(1)
        with self.assertRaises(ValueError):
            with c.count_exceptions():
                raise ValueError()
        self.assertEqual(c.get(), 2.0)

    def test_threads_sum(self):
        c = Counter("thr_total", "T.", registry=self.reg)

        def work():
            for _ in range(10000):
                c.inc()
        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(c.get(), 40000.0)


class TestGaugeHistogramSummary(unittest.TestCase):
    def setUp(self):
        self.reg = Registry()

    def test_gauge(self):
        g = Gauge("temp", "T.", registry=self.reg)
        g.set(10)
        g.inc()
        g.inc(2.5)
        g.dec()
        g.dec(0.5)
        self.assertEqual(g.get(), 12.0)
        with g.track_inprogress():
            self.assertEqual(g.get(), 13.0)
        self.assertEqual(g.get(), 12.0)
        g.set_to_current_time()
        self.assertGreater(g.get(), 1.6e9)
        with g.time():
            pass
        self.assertLess(g.get(), 1.0)

    def test_histogram_buckets_and_timer(self):
        h = Histogram("lat_seconds", "L.", buckets=[0.1, 1, float("inf")], registry=self.reg)
        for v in (0.05, 0.1, 0.5, 3):
            h.observe(v)
        self.assertEqual([h.get_bucket(i) for i in range(3)], [2, 3, 4])
        self.assertEqual(h.get_count(), 4)
        self.assertAlmostEqual(h.get_sum(), 3.65)

        @h.time()
        def f():
            return 7
        self.assertEqual(f(), 7)
        with h.time():
            pass
        self.assertEqual(h.get_count(), 6)
        self.assertEqual(h.get_bucket(0), 4)
        with self.assertRaises(ValueError):
            Histogram("bad_seconds", "B.", buckets=[1, 0.5], registry=self.reg)
        with self.assertRaises(ValueError):
            Histogram("bad2_seconds", "B.", ["le"], registry=self.reg)

    def test_histogram_labels(self):
        h = Histogram("req_seconds", "R.", ["route"], registry=self.reg)
        h.labels("/a").observe(0.2)
        h.labels(route="/a").observe(0.3)
        self.assertEqual(h.labels("/a").get_count(), 2)
        self.assertIn(b'req_seconds_bucket{route="/a",le="0.25"} 1', generate_latest(self.reg))

    def test_summary(self):
        s = Summary("size_bytes", "S.", quantiles=[0.5, 0.99], registry=self.reg)
        for v in range(1, 101):
            s.observe(v)
        self.assertEqual(s.get_count(), 100)
        self.assertEqual(s.get_sum(), 5050.0)
        self.assertLess(abs(s.quantile(0.5) - 50) / 50, 0.01)
        out = generate_latest(self.reg)
        self.assertIn(b'size_bytes{quantile="0.99"}', out)
        self.assertIn(b"size_bytes_count 100", out)

    def test_bucket_helpers(self):
        self.assertEqual(sonde.buckets_linear(1, 2, 3), [1, 3, 5])
        self.assertEqual(sonde.buckets_exponential(1, 10, 3), [1, 10, 100])
        with self.assertRaises(sonde.InvalidArgument):
            sonde.buckets_linear(1, 0, 3)


class TestRegistry(unittest.TestCase):
    def test_separate_registries_and_none(self):
        a, b = Registry(), Registry()
        Counter("only_in_a", "A.", registry=a).inc()
        self.assertIn(b"only_in_a_total 1", generate_latest(a))
        self.assertNotIn(b"only_in_a", generate_latest(b))
        Counter("unregistered_x", "U.", registry=None).inc()
        self.assertNotIn(b"unregistered_x", generate_latest())
        with self.assertRaises(TypeError):
            Counter("x", "y", registry="nope")

    def test_unregister(self):
        r = Registry()
        c = Counter("gone", "G.", registry=r)
        r.unregister(c)
        c.inc()
        self.assertNotIn(b"gone", generate_latest(r))
        with self.assertRaises(sonde.NotFound):
            r.unregister(c)

    def test_default_registry_carries_process_metrics(self):
        Counter("py_default_total", "D.").inc()
        out = generate_latest()
        self.assertIn(b"py_default_total 1", out)
        self.assertIn(b"# TYPE process_cpu_seconds_total counter", out)


if __name__ == "__main__":
    unittest.main()
