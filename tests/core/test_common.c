/* tests/core/test_common.c - status codes, errors, buffers, number formatting,
 * allocator hooks. */
#include <errno.h>
#include <locale.h>

#include "metrics/cells.h"
#include "core/sonde-int.h"
#include "test.h"

TEST(status_names_and_messages)
{
	ASSERT_STREQ(sonde_status_name(SONDE_OK), "OK");
	ASSERT_STREQ(sonde_status_name(SONDE_EEXIST), "EEXIST");
	ASSERT_STREQ(sonde_strerror(SONDE_ENOMEM), "out of memory");
	ASSERT_STREQ(sonde_strerror(-999), "unknown status");
	ASSERT_STREQ(sonde_status_name(12345), "UNKNOWN");
	/* codes are fixed forever */
	ASSERT_EQ_INT(SONDE_EINVAL, -1);
	ASSERT_EQ_INT(SONDE_ELIMIT, -5);
	ASSERT_EQ_INT(SONDE_ETRUNC, -12);
}

TEST(version_matches_header)
{
	ASSERT_EQ_INT(sonde_version_hex(), SONDE_VERSION_HEX);
	ASSERT_STREQ(sonde_version(), SONDE_VERSION_STRING);
}

TEST(last_error_is_per_call_and_specific)
{
	ASSERT_NULL(sonde_counter_new(NULL, "9bad", "x"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "9bad");
}

static const char *fmt(double v)
{
	static char b[4][SONDE_DBL_MAX + 1];
	static int i;
	char *o = b[i++ & 3];
	o[sonde__fmt_double(o, v)] = '\0';
	return o;
}

static const char *fmtc(double v)
{
	static char b[SONDE_DBL_MAX + 1];
	b[sonde__fmt_double_canonical(b, v)] = '\0';
	return b;
}

TEST(fmt_double_shortest_go_layout)
{
	ASSERT_STREQ(fmt(0), "0");
	ASSERT_STREQ(fmt(1), "1");
	ASSERT_STREQ(fmt(-3), "-3");
	ASSERT_STREQ(fmt(0.1), "0.1");
	ASSERT_STREQ(fmt(0.3), "0.3");
	ASSERT_STREQ(fmt(0.1 + 0.2), "0.30000000000000004");
	ASSERT_STREQ(fmt(2.5), "2.5");
	ASSERT_STREQ(fmt(0.005), "0.005");
	ASSERT_STREQ(fmt(1e-05), "1e-05");
	ASSERT_STREQ(fmt(0.0001), "0.0001");
	ASSERT_STREQ(fmt(1234567.5), "1234567.5");
	ASSERT_STREQ(fmt(1e21), "1e+21");
	ASSERT_STREQ(fmt(1.5e300), "1.5e+300");
	ASSERT_STREQ(fmt(-2.5e-300), "-2.5e-300");
	ASSERT_STREQ(fmt(5e-324), "5e-324");
	ASSERT_STREQ(fmt(1.7976931348623157e308), "1.7976931348623157e+308");
	ASSERT_STREQ(fmt(9007199254740991.0), "9007199254740991");
	ASSERT_STREQ(fmt(NAN), "NaN");
	ASSERT_STREQ(fmt(INFINITY), "+Inf");
	ASSERT_STREQ(fmt(-INFINITY), "-Inf");
}

TEST(fmt_double_canonical_openmetrics)
{
	ASSERT_STREQ(fmtc(0), "0.0");
	ASSERT_STREQ(fmtc(1), "1.0");
	ASSERT_STREQ(fmtc(10), "10.0");
	ASSERT_STREQ(fmtc(0.001), "0.001");
	ASSERT_STREQ(fmtc(1e-05), "1e-05");
	ASSERT_STREQ(fmtc(100000), "100000.0");
	ASSERT_STREQ(fmtc(1e6), "1e+06");
	ASSERT_STREQ(fmtc(0.0012345678), "0.0012345678");
	ASSERT_STREQ(fmtc(5e-05), "5e-05");
}

/* xorshift: deterministic random doubles over the whole range. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next_u64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

TEST(fmt_double_round_trips_randomly)
{
	char buf[SONDE_DBL_MAX + 1], c[SONDE_DBL_MAX + 1];
	int i;

	for (i = 0; i < 200000; i++) {
		uint64_t bits = next_u64();
		double v, back;
		size_t n, used;
		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		if (i & 1) /* also plenty of human-scale numbers */
			v = (double)(int64_t)(next_u64() % 2000000) / 1000.0 - 1000.0;
		n = sonde__fmt_double(buf, v);
		buf[n] = '\0';
		back = sonde__parse_double(buf, n, &used);
		if (used != n || back != v)
			FAIL("%.17g formatted as %s, read back %.17g", v, buf, back);
		n = sonde__fmt_double_canonical(c, v);
		c[n] = '\0';
		if (sonde__parse_double(c, n, &used) != v || used != n)
			FAIL("canonical %.17g formatted as %s", v, c);
	}
}

TEST(fmt_double_ignores_host_locale)
{
	char buf[SONDE_DBL_MAX + 1];

	/* A host that switches LC_NUMERIC must not get "0,5" in exposition.
	 * de_DE may not exist on the machine; C.UTF-8 always does, so try
	 * both and check the output either way. */
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		setlocale(LC_NUMERIC, "C.UTF-8");
	buf[sonde__fmt_double(buf, 0.5)] = '\0';
	ASSERT_STREQ(buf, "0.5");
	buf[sonde__fmt_double(buf, 1.25e-7)] = '\0';
	ASSERT_STREQ(buf, "1.25e-07");
}

TEST(buf_grows_and_resets)
{
	sonde_buf b = SONDE_BUF_INIT;
	int i;

	for (i = 0; i < 10000; i++)
		sonde__buf_puts(&b, "abcdef");
	sonde__buf_terminate(&b);
	ASSERT_EQ_INT(b.len, 60000);
	ASSERT_EQ_INT(strlen(b.data), 60000);
	sonde_buf_reset(&b);
	ASSERT_EQ_INT(b.len, 0);
	ASSERT_TRUE(b.cap >= 60000);
	sonde_buf_destroy(&b);
	ASSERT_NULL(b.data);
	sonde_buf_reset(NULL);
	sonde_buf_destroy(NULL);
}

/* The inline appends stop at the last byte before the NUL's room and go
 * through the slow path there; an out-of-memory buffer takes nothing more. */
TEST(buf_appends_at_the_capacity_edge)
{
	sonde_buf b = SONDE_BUF_INIT;
	size_t cap, i;

	sonde__buf_putc(&b, 'x');
	cap = b.cap;
	ASSERT_TRUE(cap > 2);
	/* fill to cap - 1 bytes (the last byte is the NUL's) one by one, then
	 * one more: that one grows the buffer */
	for (i = 1; i < cap - 1; i++)
		sonde__buf_putc(&b, (char)('a' + i % 26));
	ASSERT_EQ_INT(b.len, cap - 1);
	ASSERT_EQ_INT(b.cap, cap);
	sonde__buf_putc(&b, '!');
	ASSERT_TRUE(b.cap > cap);
	ASSERT_EQ_INT(b.len, cap);
	sonde__buf_put(&b, "0123456789", 10);
	sonde__buf_terminate(&b);
	ASSERT_EQ_INT(strlen(b.data), cap + 10);
	ASSERT_TRUE(memcmp(b.data + cap - 1, "!0123456789", 11) == 0);
	b.oom = 1;
	sonde__buf_putc(&b, 'y');
	sonde__buf_put(&b, "zz", 2);
	ASSERT_EQ_INT(b.len, cap + 10);
	sonde_buf_destroy(&b);
}

/* Every digit count, both sides of each power of ten, against printf. */
TEST(fmt_u64_matches_printf)
{
	char got[32], want[32];
	uint64_t p = 1, v;
	size_t n;
	int k, d;

	for (v = 0; v < 1000; v++) {
		n = sonde__fmt_u64(got, v);
		got[n] = '\0';
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		ASSERT_STREQ(got, want);
	}
	for (k = 0; k < 20; k++, p *= 10) {
		for (d = -2; d <= 2; d++) {
			v = p + (uint64_t)(int64_t)d;
			n = sonde__fmt_u64(got, v);
			got[n] = '\0';
			snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
			ASSERT_STREQ(got, want);
		}
	}
	n = sonde__fmt_u64(got, UINT64_MAX);
	got[n] = '\0';
	ASSERT_STREQ(got, "18446744073709551615");
	n = sonde__fmt_i64(got, INT64_MIN);
	got[n] = '\0';
	ASSERT_STREQ(got, "-9223372036854775808");
}

/* ---- allocator hooks ------------------------------------------------------ */
static size_t live_bytes, n_allocs;
static long fail_at = -1;
static void *t_malloc(void *ctx, size_t n)
{
	(void)ctx;
	if (fail_at >= 0 && (long)n_allocs++ == fail_at)
		return NULL;
	live_bytes += n;
	return malloc(n);
}
static void *t_calloc(void *ctx, size_t c, size_t n)
{
	(void)ctx;
	if (fail_at >= 0 && (long)n_allocs++ == fail_at)
		return NULL;
	live_bytes += c * n;
	return calloc(c, n);
}
static void *t_realloc(void *ctx, void *p, size_t o, size_t n)
{
	(void)ctx;
	if (fail_at >= 0 && (long)n_allocs++ == fail_at)
		return NULL;
	live_bytes += n - o;
	return realloc(p, n);
}
static void t_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	live_bytes -= n;
	free(p);
}

TEST(allocator_hooks_all_or_nothing)
{
	sonde_allocator a = {sizeof(a), t_malloc, t_calloc, t_realloc, NULL, NULL};
	ASSERT_EQ_INT(sonde_set_allocator(&a), SONDE_EINVAL);
	a.free_fn = t_free;
	a.size = 3;
	ASSERT_EQ_INT(sonde_set_allocator(&a), SONDE_EINVAL);
	a.size = sizeof(a);
	ASSERT_OK(sonde_set_allocator(&a));
}

/* One rule for size fields: an allocator struct of exactly its first
 * layout's size, held in a heap block of that many bytes (ASan sees any
 * read past it), is accepted and used; size 4 is SONDE_EINVAL with a
 * message naming the call. */
TEST(allocator_size_rule)
{
	const size_t v1 = SONDE__V1_SIZE(sonde_allocator, ctx);
	sonde_allocator a = {sizeof(a), t_malloc, t_calloc, t_realloc, t_free, NULL};
	sonde_registry *r;
	void *blk;

	a.size = 4;
	ASSERT_EQ_INT(sonde_set_allocator(&a), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "sonde_set_allocator");
	a.size = v1;
	blk = malloc(v1);
	ASSERT_NOT_NULL(blk);
	memcpy(blk, &a, v1);
	ASSERT_OK(sonde_set_allocator(blk));
	free(blk);
	live_bytes = 0;
	r = sonde_registry_new();
	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(live_bytes > 0); /* the hooks were installed */
	sonde_registry_free(r);
}

TEST(allocator_hooks_see_every_byte)
{
	sonde_allocator a = {sizeof(a), t_malloc, t_calloc, t_realloc, t_free, NULL};
	sonde_registry *r;
	sonde_buf b = SONDE_BUF_INIT;
	const char *lbl[] = {"method"};
	sonde_family *f;

	ASSERT_OK(sonde_set_allocator(&a));
	r = sonde_registry_new();
	ASSERT_NOT_NULL(r);
	/* once sonde has allocated, the hooks are fixed */
	ASSERT_EQ_INT(sonde_set_allocator(NULL), SONDE_ESTATE);
	f = sonde_counter_family_new(r, "x_total", "x", 1, lbl);
	ASSERT_NOT_NULL(f);
	sonde_counter_inc(sonde_counter_with(f, "GET"));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
	/* What remains is process-wide and kept for reuse: this thread's cell
	 * pages and the run metadata; nothing per registry. */
	ASSERT_TRUE(live_bytes < 64 * 1024);
}

/* Fails the Nth allocation for every N on the create/label/expose path:
 * each run must end in a clean error or success, never a crash or leak
 * (ASan's leak check covers the leak part in make test-asan). */
TEST(allocation_failure_every_step)
{
	sonde_allocator a = {sizeof(a), t_malloc, t_calloc, t_realloc, t_free, NULL};
	long n;
	int completed = 0;

	ASSERT_OK(sonde_set_allocator(&a));
	for (n = 0; n < 400 && !completed; n++) {
		sonde_registry *r;
		sonde_family *f = NULL;
		sonde_counter *c = NULL;
		sonde_buf b = SONDE_BUF_INIT;
		const char *lbl[] = {"method", "code"};
		int rc = -1;

		n_allocs = 0;
		fail_at = n;
		r = sonde_registry_new();
		if (r)
			f = sonde_counter_family_new(r, "req_total", "Requests.", 2, lbl);
		if (f)
			c = sonde_counter_with(f, "GET", "200");
		uint64_t lost0 = sonde__cells_lost_writes();
		if (c) {
			sonde_counter_inc(c);
			rc = sonde_expose(r, SONDE_FORMAT_TEXT, &b);
		}
		if (!r || !f || !c || rc != SONDE_OK)
			ASSERT_EQ_INT(sonde_last_status(), SONDE_ENOMEM);
		if (rc == SONDE_OK) {
			/* the increment counts, or (its page could not be had) it
			 * is counted as lost */
			if (sonde__cells_lost_writes() == lost0)
				ASSERT_CONTAINS(b.data,
				                "req_total{method=\"GET\",code=\"200\"} 1\n");
			else
				ASSERT_CONTAINS(b.data,
				                "req_total{method=\"GET\",code=\"200\"} 0\n");
			completed = fail_at >= (long)n_allocs; /* nothing failed this time */
		}
		fail_at = -1;
		/* the registry stays usable after the failure */
		if (r && f) {
			sonde_counter *c2 = sonde_counter_with(f, "PUT", "500");
			ASSERT_NOT_NULL(c2);
			sonde_counter_inc(c2);
			ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
			ASSERT_CONTAINS(b.data, "code=\"500\"} 1\n");
		}
		sonde_buf_destroy(&b);
		sonde_registry_free(r);
	}
	ASSERT_TRUE(completed);
}

/* ---- errno: sonde never changes it ---------------------------------------
 * An allocator that scribbles on errno on every call, as a host allocator
 * may, and sets ENOMEM when it fails, as libc's does. */
static int e_fail;
static void *e_malloc(void *ctx, size_t n)
{
	(void)ctx;
	errno = e_fail ? ENOMEM : EAGAIN;
	return e_fail ? NULL : malloc(n);
}
static void *e_calloc(void *ctx, size_t c, size_t n)
{
	(void)ctx;
	errno = e_fail ? ENOMEM : EAGAIN;
	return e_fail ? NULL : calloc(c, n);
}
static void *e_realloc(void *ctx, void *p, size_t o, size_t n)
{
	(void)ctx;
	(void)o;
	errno = e_fail ? ENOMEM : EAGAIN;
	return e_fail ? NULL : realloc(p, n);
}
static void e_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	errno = EBADF;
	free(p);
}

#define SENTINEL 4242
#define ASSERT_ERRNO_KEPT(what)                                                      \
	do {                                                                         \
		int e_ = errno;                                                      \
		if (e_ != SENTINEL)                                                  \
			FAIL("%s changed errno to %d (%s)", what, e_, strerror(e_)); \
	} while (0)

TEST(errno_is_never_changed)
{
	sonde_allocator a = {sizeof(a), e_malloc, e_calloc, e_realloc, e_free, NULL};
	const char *lbl[] = {"method"};
	sonde_registry *r;
	sonde_family *f;
	sonde_buf b = SONDE_BUF_INIT;
	sonde_tracestate *ts;
	sonde_baggage *bg;
	sonde_health *h;
	sonde_span span;
	uint8_t id[16];
	char tp[SONDE_TRACEPARENT_BUFSZ];
	sonde_traceparent parsed;

	ASSERT_OK(sonde_set_allocator(&a));

	/* calls that allocate and free */
	errno = SENTINEL;
	r = sonde_registry_new();
	f = sonde_counter_family_new(r, "errno_total", "Errno test.", 1, lbl);
	sonde_counter_inc(sonde_counter_with(f, "GET"));
	ASSERT_ERRNO_KEPT("registry, family, child");
	ASSERT_NOT_NULL(f);
	errno = SENTINEL;
	ts = sonde_tracestate_new();
	bg = sonde_baggage_new();
	ASSERT_EQ_INT(sonde_baggage_parse(bg, "k=v;p=1", 7), SONDE_OK);
	ASSERT_EQ_INT(sonde_baggage_format(bg, &b), SONDE_OK);
	sonde_baggage_free(bg);
	sonde_tracestate_free(ts);
	sonde_buf_destroy(&b);
	ASSERT_ERRNO_KEPT("tracestate, baggage, buffer");
	errno = SENTINEL;
	sonde_trace_id_generate(id); /* seeds this thread's generator (getrandom) */
	sonde_span_start(&span, "errno");
	sonde_span_end(&span);
	ASSERT_EQ_INT(sonde_span_context_format_traceparent(sonde_span_get_context(&span), tp,
	                                                    sizeof(tp)),
	              SONDE_TRACEPARENT_LEN);
	ASSERT_EQ_INT(sonde_traceparent_parse(tp, SONDE_TRACEPARENT_LEN, &parsed), SONDE_OK);
	(void)sonde_now_unix_ns();
	(void)sonde_now_mono_ns();
	ASSERT_ERRNO_KEPT("ids, spans, traceparent, clocks");
	errno = SENTINEL;
	{
		sonde_health_opts ho;
		sonde_health_opts_init(&ho);
		ho.registry = r;
		h = sonde_health_new(&ho);
		sonde_health_free(h);
	}
	ASSERT_ERRNO_KEPT("health new and free");
	ASSERT_NOT_NULL(h);

	/* calls that fail: SONDE_EINVAL, SONDE_ESTATE */
	errno = SENTINEL;
	ASSERT_NULL(sonde_counter_family_new(r, "9bad", "Bad.", 0, NULL));
	ASSERT_ERRNO_KEPT("a bad metric name");
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	errno = SENTINEL;
	ASSERT_EQ_INT(sonde_traceparent_parse("00-zz", 5, &parsed), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_set_allocator(&a), SONDE_ESTATE);
	ASSERT_ERRNO_KEPT("a bad traceparent, a late allocator");

	/* calls that fail: out of memory (the allocator set ENOMEM) */
	e_fail = 1;
	errno = SENTINEL;
	ASSERT_NULL(sonde_registry_new());
	ASSERT_ERRNO_KEPT("sonde_registry_new out of memory");
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ENOMEM);
	errno = SENTINEL;
	ASSERT_NULL(sonde_tracestate_new());
	ASSERT_NULL(sonde_counter_with(f, "PUT"));
	ASSERT_EQ_INT(sonde_expose(r, SONDE_FORMAT_TEXT, &b), SONDE_ENOMEM);
	ASSERT_ERRNO_KEPT("tracestate, child and exposition out of memory");
	errno = SENTINEL;
	{
		sonde_health_opts ho;
		sonde_health_opts_init(&ho);
		ho.registry = r;
		ASSERT_NULL(sonde_health_new(&ho));
	}
	ASSERT_ERRNO_KEPT("sonde_health_new out of memory");
	e_fail = 0;

	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

static const char *json(const char *s, size_t n)
{
	static sonde_buf b = SONDE_BUF_INIT;
	sonde_buf_reset(&b);
	sonde__json_put_string(&b, s, n);
	sonde__buf_terminate(&b);
	return b.data;
}

TEST(json_string_escaping)
{
	ASSERT_STREQ(json("plain", 5), "\"plain\"");
	ASSERT_STREQ(json("q\"b\\n\nr\rt\t", 10), "\"q\\\"b\\\\n\\nr\\rt\\t\"");
	ASSERT_STREQ(json("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	ASSERT_STREQ(json("a\0b", 3), "\"a\\u0000b\"");
	ASSERT_STREQ(json("caf\xc3\xa9 \xf0\x9f\x98\x80", 10), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
	/* invalid UTF-8: lone continuation, truncated sequence, overlong,
	 * surrogate: each maximal invalid subpart becomes one U+FFFD */
	ASSERT_STREQ(json("\x80x", 2), "\"\xef\xbf\xbdx\"");
	ASSERT_STREQ(json("\xe2\x82", 2), "\"\xef\xbf\xbd\"");
	ASSERT_STREQ(json("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	ASSERT_STREQ(json("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(json_numbers)
{
	sonde_buf b = SONDE_BUF_INIT;
	sonde__json_put_double(&b, 0.1);
	sonde__buf_putc(&b, ' ');
	sonde__json_put_double(&b, NAN);
	sonde__buf_putc(&b, ' ');
	sonde__json_put_double(&b, -INFINITY);
	sonde__buf_putc(&b, ' ');
	sonde__json_put_i64(&b, INT64_MIN);
	sonde__buf_putc(&b, ' ');
	sonde__json_put_u64(&b, UINT64_MAX);
	sonde__buf_terminate(&b);
	ASSERT_STREQ(b.data, "0.1 \"NaN\" \"-Inf\" -9223372036854775808 18446744073709551615");
	sonde_buf_destroy(&b);
}
