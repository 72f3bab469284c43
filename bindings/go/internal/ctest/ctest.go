// Package ctest is C code compiled into the Go tests through cgo: it uses
// sonde's C macros (with the inlined hot path) in the same process as the
// Go binding, so the tests can check that both meet in one registry, one
// trace context and one log stream.
package ctest

/*
#cgo LDFLAGS: -lpthread -lm
#include <stdio.h>
#include <string.h>
#include <sonde.h>
#include <sonde/log.h>

METRIC_DEFINE_COUNTER(c_jobs, "polyglot_c_jobs_total", "Jobs counted by C.");
METRIC_DEFINE_COUNTER_FAMILY(c_req, "polyglot_requests_total", "Requests.", "lang");

static void helper_inc(int n)
{
	for (int i = 0; i < n; i++) {
		METRIC_INC(c_jobs);
		METRIC_INC_LABELS(c_req, "c");
	}
}

static void helper_child_span(char trace_hex[33], char parent_hex[17])
{
	sonde_span s;
	sonde_span_start(&s, "c-child");
	sonde_id_to_hex(sonde_span_get_context(&s)->trace_id, 16, trace_hex);
	sonde_id_to_hex(s.parent_span_id, 8, parent_hex);
	sonde_span_end(&s);
}

static void helper_log(void *l, int n)
{
	LOG_INFO((sonde_logger *)l, "from C", LOG_INT("n", n), LOG_STR("lang", "c"));
}

static size_t helper_sizeof_span(void) { return sizeof(sonde_span); }

static sonde_health_result c_check(void *user, char *msg, size_t cap)
{
	(void)user;
	snprintf(msg, cap, "warned from C");
	return SONDE_HEALTH_WARN;
}

static int helper_add_health_check(void *h)
{
	sonde_health_check_opts o;
	sonde_health_check_opts_init(&o, "c_side", c_check, NULL);
	return sonde_health_add_check((sonde_health *)h, &o);
}
*/
import "C"

import "unsafe"

// Inc runs METRIC_INC n times on polyglot_c_jobs_total and
// polyglot_requests_total{lang="c"}.
func Inc(n int) { C.helper_inc(C.int(n)) }

// ChildSpan starts and ends a C span under the thread's current context and
// returns its trace id and parent span id in hex.
func ChildSpan() (trace, parent string) {
	var t [33]C.char
	var p [17]C.char
	C.helper_child_span(&t[0], &p[0])
	return C.GoString(&t[0]), C.GoString(&p[0])
}

// Log writes one record from C through logger l (a *sonde_logger).
func Log(l unsafe.Pointer, n int) { C.helper_log(l, C.int(n)) }

// SizeofSpan is sizeof(sonde_span) as the C compiler sees it.
func SizeofSpan() int { return int(C.helper_sizeof_span()) }

// AddHealthCheck adds the C check "c_side" (warns "warned from C") to h, a
// *sonde_health; 0 or a negative sonde status.
func AddHealthCheck(h unsafe.Pointer) int { return int(C.helper_add_health_check(h)) }
