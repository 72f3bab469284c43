"""One process, two languages: metrics, spans and log records made from C
and from Python meet in the same registry, context and log stream."""

import ctypes
import json
import os
import subprocess
import tempfile
import unittest

import sonde
from sonde import _lib

import _support
from _support import CC, build_shared

HELPER_C = r"""
#include <string.h>
#include <sonde.h>
#include <sonde/log.h>

METRIC_DEFINE_COUNTER(c_jobs, "polyglot_c_jobs_total", "Jobs counted by C.");
METRIC_DEFINE_COUNTER_FAMILY(c_req, "polyglot_requests_total", "Requests.", "lang");

void helper_inc(int n);
void helper_inc(int n)
{
	for (int i = 0; i < n; i++) {
		METRIC_INC(c_jobs);                   /* the inlined hot path */
		METRIC_INC_LABELS(c_req, "c");
	}
}

/* A child span started in C under whatever is current (a Python span). */
void helper_child_span(char trace_hex[33], char parent_hex[17]);
void helper_child_span(char trace_hex[33], char parent_hex[17])
{
	sonde_span s;
	sonde_span_start(&s, "c-child");
	sonde_id_to_hex(sonde_span_get_context(&s)->trace_id, 16, trace_hex);
	sonde_id_to_hex(s.parent_span_id, 8, parent_hex);
	sonde_span_end(&s);
}

void helper_log(sonde_logger *l, int n);
void helper_log(sonde_logger *l, int n)
{
	LOG_INFO(l, "from C", LOG_INT("n", n), LOG_STR("lang", "c"));
}
"""


class TestRawCtypes(unittest.TestCase):
    """No compiler needed: C functions of libsonde called directly."""

    def test_c_registered_metric_and_python_metric_share_exposition(self):
        lib = ctypes.CDLL(sonde.library_path)  # a fresh handle on the same library
        lib.sonde_counter_new.restype = ctypes.c_void_p
        lib.sonde_counter_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.sonde_counter_inc.argtypes = [ctypes.c_void_p]
        lib.sonde_counter_add_u64.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        lib.sonde_registry_find.restype = ctypes.c_void_p
        lib.sonde_registry_find.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.sonde_family_name.restype = ctypes.c_char_p
        lib.sonde_family_name.argtypes = [ctypes.c_void_p]
        h = lib.sonde_counter_new(None, b"raw_c_counter_total", b"Registered through the C ABI.")
        self.assertTrue(h)
        for _ in range(3):
            lib.sonde_counter_inc(h)
        lib.sonde_counter_add_u64(h, 4)
        sonde.Counter("raw_py_counter", "Registered by the binding.").inc(2)
        out = sonde.generate_latest()
        self.assertIn(b"raw_c_counter_total 7", out)
        self.assertIn(b"raw_py_counter_total 2", out)
        # and the binding finds the C family by name: the same object
        fam = lib.sonde_registry_find(None, b"raw_c_counter_total")
        self.assertTrue(fam)
        self.assertEqual(lib.sonde_family_name(fam), b"raw_c_counter_total")


@unittest.skipIf(not CC, "no C compiler for the helper")
class TestCompiledHelper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = ctypes.CDLL(build_shared("polyglot", HELPER_C))
        cls.c.helper_inc.argtypes = [ctypes.c_int]
        cls.c.helper_log.argtypes = [ctypes.c_void_p, ctypes.c_int]

    def test_macros_from_c_and_labels_from_python_in_one_family(self):
        fam = sonde.Counter("polyglot_requests", "Requests.", ["lang"])
        fam.labels("python").inc(5)
        self.c.helper_inc(3)
        fam.labels("c").inc()  # the same child C's macro incremented
        out = sonde.generate_latest()
        self.assertIn(b'polyglot_requests_total{lang="python"} 5', out)
        self.assertIn(b'polyglot_requests_total{lang="c"} 4', out)
        self.assertIn(b"polyglot_c_jobs_total 3", out)

    def test_python_span_is_parent_of_c_span(self):
        trace_hex, parent_hex = ctypes.create_string_buffer(33), ctypes.create_string_buffer(17)
        with sonde.span("py-parent") as sp:
            self.c.helper_child_span(trace_hex, parent_hex)
            ctx = sp.context
        self.assertEqual(trace_hex.value.decode(), ctx.trace_id)
        self.assertEqual(parent_hex.value.decode(), ctx.span_id)
        self.assertFalse(sonde.current_context())

    @unittest.skipUnless(_lib.HAVE_LOG, "libsonde without logger")
    def test_python_and_c_records_in_one_stream(self):
        path = os.path.join(tempfile.mkdtemp(), "mixed.log")
        log = sonde.Logger("poly", sinks=[sonde.file_sink(path)])
        with sonde.span("req") as sp:
            log.info("from python", lang="python")
            self.c.helper_log(log._h, 7)
        sonde.log_flush()
        with open(path) as f:
            recs = [json.loads(line) for line in f]
        # the span's line comes last, through the default logger
        self.assertEqual([r["message"] for r in recs], ["from python", "from C", "span"])
        self.assertEqual(recs[1]["n"], 7)
        self.assertEqual({r["trace_id"] for r in recs}, {sp.context.trace_id})


if __name__ == "__main__":
    unittest.main()


COMPONENT_C = r"""
#include <sonde.h>

/* A component that linked libsonde.a (as a Go or Rust one used to): its
 * copy of sonde is inside this object, its symbols hidden. */
int component_check(void);
int component_check(void) { return sonde_instance_check(); }
const char *component_error(void);
const char *component_error(void) { return sonde_last_error(); }
int component_count(void);
int component_count(void)
{
	sonde_counter *c = sonde_counter_new(NULL, "component_jobs_total", "Jobs.");
	sonde_counter_inc(c);
	return c != NULL;
}
int component_page(char *out, size_t cap);
int component_page(char *out, size_t cap)
{
	sonde_buf b = SONDE_BUF_INIT;
	int rc = sonde_expose(NULL, SONDE_FORMAT_TEXT, &b);
	if (rc == SONDE_OK)
		snprintf(out, cap, "%s", b.data);
	sonde_buf_destroy(&b);
	return rc;
}
"""


@unittest.skipUnless(CC and _support.LIBDIR, "needs a C compiler and the build directory")
class TestSecondCopy(unittest.TestCase):
    """Issue 13.17: a static copy of libsonde loaded beside Python's shared
    one reports itself (last error, sonde_instance_check, a self-metric)."""

    def test_static_copy_in_a_component_reports_itself(self):
        archive = os.path.join(_support.LIBDIR, "libsonde.a")
        d = tempfile.mkdtemp(prefix="sonde-second-copy-")
        src, so = os.path.join(d, "component.c"), os.path.join(d, "libcomponent.so")
        with open(src, "w") as f:
            f.write("#include <stdio.h>\n" + COMPONENT_C)
        libs = ["-lz"] if b"deflateInit2_" in open(archive, "rb").read() else []
        subprocess.run([CC, "-std=c11", "-O1", "-Wall", "-Werror", "-shared", "-fPIC",
                        "-I", _support.INCLUDE, "-o", so, src, archive,
                        "-Wl,--exclude-libs,ALL", "-lpthread"] + libs,
                       check=True, capture_output=True, text=True)
        comp = ctypes.CDLL(so)  # its copy initializes now, on this thread
        comp.component_error.restype = ctypes.c_char_p
        msg = comp.component_error().decode()
        self.assertIn("another copy of libsonde", msg)
        self.assertIn("libsonde.so", msg)  # where Python's copy lives
        self.assertIn("libcomponent.so", msg)  # where this one lives
        self.assertEqual(comp.component_check(), -9)  # SONDE_ESTATE
        # the symptom: the component's series are in its own registry only
        self.assertEqual(comp.component_count(), 1)
        page = ctypes.create_string_buffer(1 << 16)
        self.assertEqual(comp.component_page(page, len(page)), 0)
        self.assertIn(b"\nsonde_duplicate_instances_total 1\n", page.value)
        self.assertIn(b"component_jobs_total 1", page.value)
        self.assertNotIn(b"component_jobs_total", sonde.generate_latest())
        # Python's copy was first: nothing to report on its side
        sonde.instance_check()
