/*
 * tests/integration/test_oom.c - allocation failure, SQLite/curl style: for N = 0, 1,
 * 2, ... fail the Nth allocation of a scenario and check that it ends in a
 * clean SONDE_ENOMEM (never a crash or another error), that what existed
 * before is still consistent and usable, and - under make test-asan - that
 * nothing leaks (LeakSanitizer runs at each test's exit). The loop stops at
 * the first N where nothing failed, i.e. once every allocation point of
 * the scenario has been failed once.
 */
#include <math.h>
#include <pthread.h>

#include "sonde.h"
#include "test.h"

static long n_allocs, fail_at = -1, failures;
/* Only the scenario's own allocations are counted and failed: the
 * logger's backend allocates on its own thread at its own pace, so
 * counting it too would race and make N mean a different allocation on
 * every run. */
static pthread_t scenario_thread;

static bool should_fail(void)
{
	if (!pthread_equal(pthread_self(), scenario_thread))
		return false;
	if (fail_at >= 0 && n_allocs++ == fail_at) {
		failures++;
		return true;
	}
	return false;
}
/* Every block carries its size in a header, so the suite also checks the
 * allocator contract: realloc and free are given the block's true size
 * (issue 13.4: a stale capacity after a failed growth passed 0 for a
 * 512-byte block). Mismatches are counted (any thread) and asserted by
 * oom_loop. */
#define HDR 16
static long size_mismatches;

static void *hdr_out(char *raw, size_t n)
{
	if (!raw)
		return NULL;
	memcpy(raw, &n, sizeof(n));
	return raw + HDR;
}
static void check_size(void *p, size_t n)
{
	size_t have;

	memcpy(&have, (char *)p - HDR, sizeof(have));
	if (have != n)
		__atomic_fetch_add(&size_mismatches, 1, __ATOMIC_RELAXED);
}
static void *o_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return should_fail() ? NULL : hdr_out(malloc(n + HDR), n);
}
static void *o_calloc(void *ctx, size_t c, size_t n)
{
	(void)ctx;
	if (n && c > (SIZE_MAX - HDR) / n)
		return NULL;
	return should_fail() ? NULL : hdr_out(calloc(1, c * n + HDR), c * n);
}
static void *o_realloc(void *ctx, void *p, size_t o, size_t n)
{
	(void)ctx;
	if (should_fail())
		return NULL;
	if (!p)
		return hdr_out(malloc(n + HDR), n);
	check_size(p, o);
	return hdr_out(realloc((char *)p - HDR, n + HDR), n);
}
static void o_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (!p)
		return;
	check_size(p, n);
	free((char *)p - HDR);
}

static void install(void)
{
	sonde_allocator a = {sizeof(a), o_malloc, o_calloc, o_realloc, o_free, NULL};
	scenario_thread = pthread_self();
	ASSERT_OK(sonde_set_allocator(&a));
}

/* Runs scenario with the Nth allocation failing, for every N. The
 * scenario returns SONDE_OK or the status it stopped with; check() then
 * runs with allocation working again. */
static int oom_loop(int (*scenario)(long n), void (*check)(long n))
{
	long n;

	for (n = 0; n < 5000; n++) {
		int rc;
		n_allocs = 0;
		failures = 0;
		fail_at = n;
		rc = scenario(n);
		fail_at = -1;
		if (rc != SONDE_OK && rc != SONDE_ENOMEM)
			FAIL("allocation %ld failed: status %d (%s), want ENOMEM: %s", n, rc,
			     sonde_status_name(rc), sonde_last_error());
		if (rc == SONDE_ENOMEM && failures == 0)
			FAIL("allocation %ld: ENOMEM without a failed allocation", n);
		if (check)
			check(n);
		if (__atomic_load_n(&size_mismatches, __ATOMIC_RELAXED))
			FAIL("allocation %ld: realloc or free was given a size other than the "
			     "block's",
			     n);
		if (failures == 0) {
			if (rc != SONDE_OK)
				FAIL("no allocation failed but the scenario returned %d", rc);
			return (int)n; /* every allocation point was failed once */
		}
	}
	FAIL("scenario never completed");
	return -1;
}

/* ---- metrics: define, label, observe, expose (both formats, gzip) ---------------- */

static sonde_registry *mreg; /* created with a working allocator */
static long made;            /* families fully made */

static int metrics_scenario(long n)
{
	char name[64];
	const char *l[] = {"method", "code"};
	const double b[] = {0.1, 1};
	sonde_family *f, *h, *s;
	sonde_buf buf = SONDE_BUF_INIT;
	sonde_expose_result res;
	sonde_span_context ctx;
	int rc;

	snprintf(name, sizeof(name), "oom_%ld_total", n);
	f = sonde_counter_family_new(mreg, name, "C.", 2, l);
	if (!f)
		return sonde_last_status();
	if (!sonde_counter_with(f, "GET", "200"))
		return sonde_last_status();
	memset(&ctx, 0, sizeof(ctx));
	memset(ctx.trace_id, 1, 16);
	memset(ctx.span_id, 2, 8);
	sonde_counter_add_exemplar(sonde_counter_with(f, "GET", "200"), 1, &ctx);
	snprintf(name, sizeof(name), "oom_%ld_seconds", n);
	h = sonde_histogram_family_new(mreg, name, "H.", b, 2, 2, l);
	if (!h || !sonde_histogram_with(h, "PUT", "500"))
		return sonde_last_status();
	sonde_histogram_observe(sonde_histogram_with(h, "PUT", "500"), 0.5);
	snprintf(name, sizeof(name), "oom_%ld_summary", n);
	s = sonde_summary_family_new(mreg, name, "S.", 2, l);
	if (!s || !sonde_summary_with(s, "GET", "404"))
		return sonde_last_status();
	sonde_summary_observe(sonde_summary_with(s, "GET", "404"), 3);
	rc = sonde_expose(mreg, SONDE_FORMAT_TEXT, &buf);
	if (!rc)
		rc = sonde_expose(mreg, SONDE_FORMAT_OPENMETRICS, &buf);
	if (!rc)
		rc = sonde_expose_http(mreg, "application/openmetrics-text", "gzip", &buf, &res);
	sonde_buf_destroy(&buf);
	if (!rc)
		made++;
	return rc;
}

static void metrics_check(long n)
{
	sonde_buf buf = SONDE_BUF_INIT;
	char name[64];
	(void)n;

	/* whatever was made before still exposes, in both formats */
	ASSERT_OK(sonde_expose(mreg, SONDE_FORMAT_TEXT, &buf));
	ASSERT_OK(sonde_expose(mreg, SONDE_FORMAT_OPENMETRICS, &buf));
	ASSERT_CONTAINS(buf.data, "# EOF\n");
	snprintf(name, sizeof(name), "oom_%ld_total", n);
	{
		/* a family that was made is exposed, with its child if it got one */
		sonde_family *f = sonde_registry_find(mreg, name);
		if (f && sonde_family_size(f) == 1) {
			snprintf(name, sizeof(name), "oom_%ld_total{method=\"GET\",code=\"200\"} ",
			         n);
			ASSERT_CONTAINS(buf.data, name);
		}
	}
	/* and the registry still takes new children */
	{
		sonde_family *f = sonde_counter_family_new(mreg, "oom_after_total", "A.", 0, NULL);
		ASSERT_NOT_NULL(f);
		sonde_counter_inc(sonde_counter_labels(f, 0, NULL, NULL));
	}
	/* unregister this round's families so every round renders the same
	 * set (the allocation count must not grow with n) */
	{
		static const char *const fmt[] = {"oom_%ld_total", "oom_%ld_seconds",
		                                  "oom_%ld_summary"};
		for (int i = 0; i < 3; i++) {
			sonde_family *f;
			snprintf(name, sizeof(name), fmt[i], n);
			f = sonde_registry_find(mreg, name);
			if (f)
				ASSERT_OK(sonde_registry_unregister(mreg, f));
		}
	}
	sonde_buf_destroy(&buf);
}

TEST_TIMEOUT(oom_metrics_every_allocation, 120)
{
	install();
	mreg = sonde_registry_new();
	ASSERT_NOT_NULL(mreg);
	ASSERT_TRUE(oom_loop(metrics_scenario, metrics_check) > 10);
	ASSERT_TRUE(made >= 1);
	sonde_registry_free(mreg);
}

/* ---- native histograms and the protobuf exposition ------------------------------ */

static sonde_registry *nreg;

/* A native+classic family with a small bucket limit, observations that
 * force generation switches (each allocates a cell run), and the protobuf
 * exposition (the merge allocates its bucket arrays). A switch whose
 * allocation fails drops that observation (counted); everything else ends
 * in SONDE_ENOMEM or works. */
static int native_scenario(long n)
{
	char name[64];
	const char *l[] = {"code"};
	sonde_metric_opts o;
	sonde_family *f;
	sonde_histogram *h;
	sonde_buf buf = SONDE_BUF_INIT;
	sonde_expose_result res;
	int rc, i;

	snprintf(name, sizeof(name), "oom_native_%ld_seconds", n);
	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, name, "N.");
	o.native = SONDE_NATIVE_AND_CLASSIC;
	o.native_max_buckets = 4;
	o.native_max_zero_threshold = 0.01;
	o.label_names = l;
	o.label_count = 1;
	f = sonde_family_new(nreg, &o);
	if (!f)
		return sonde_last_status();
	h = sonde_histogram_with(f, "200");
	if (!h)
		return sonde_last_status();
	for (i = -12; i < 12; i++)
		sonde_histogram_observe(h, (i & 1 ? -1 : 1) * ldexp(1.0, i));
	rc = sonde_expose(nreg, SONDE_FORMAT_PROTOBUF, &buf);
	if (!rc)
		rc = sonde_expose_http(nreg,
		                       "application/vnd.google.protobuf;proto=io.prometheus.client."
		                       "MetricFamily;encoding=delimited",
		                       "gzip", &buf, &res);
	sonde_buf_destroy(&buf);
	return rc;
}

static void native_check(long n)
{
	sonde_buf buf = SONDE_BUF_INIT;
	char name[64];
	sonde_family *f;

	/* what exists still exposes, and the family's child still counts */
	ASSERT_OK(sonde_expose(nreg, SONDE_FORMAT_PROTOBUF, &buf));
	ASSERT_OK(sonde_expose(nreg, SONDE_FORMAT_TEXT, &buf));
	snprintf(name, sizeof(name), "oom_native_%ld_seconds", n);
	f = sonde_registry_find(nreg, name);
	if (f) {
		sonde_histogram *h = sonde_histogram_with(f, "200");
		ASSERT_NOT_NULL(h);
		sonde_histogram_observe(h, 1e6);
		ASSERT_TRUE(sonde_histogram_count(h) >= 1);
		ASSERT_OK(sonde_expose(nreg, SONDE_FORMAT_PROTOBUF, &buf));
		ASSERT_OK(sonde_registry_unregister(nreg, f));
	}
	sonde_buf_destroy(&buf);
}

TEST_TIMEOUT(oom_native_histogram_every_allocation, 120)
{
	install();
	nreg = sonde_registry_new();
	ASSERT_NOT_NULL(nreg);
	ASSERT_TRUE(oom_loop(native_scenario, native_check) > 5);
	sonde_registry_free(nreg);
}

/* ---- trace: tracestate, baggage, carrier extract/inject, spans --------------------- */

static int trace_scenario(long n)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	sonde_baggage *bg = NULL;
	sonde_trace_carrier *c = NULL;
	sonde_trace_headers out;
	sonde_buf b = SONDE_BUF_INIT;
	int rc = SONDE_OK;
	static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	static const char tsv[] = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
	static const char bgv[] = "userId=alice,serverNode=DF%2028;p=1";
	sonde_header h[3] = {{"traceparent", 11, tp, sizeof(tp) - 1},
	                     {"tracestate", 10, tsv, sizeof(tsv) - 1},
	                     {"baggage", 7, bgv, sizeof(bgv) - 1}};
	(void)n;

	memset(&out, 0, sizeof(out));
	if (!ts)
		return sonde_last_status();
	if ((rc = sonde_tracestate_parse(ts, tsv, sizeof(tsv) - 1)) ||
	    (rc = sonde_tracestate_set(ts, "sonde", 5, "x", 1)))
		goto out;
	bg = sonde_baggage_new();
	if (!bg) {
		rc = sonde_last_status();
		goto out;
	}
	if ((rc = sonde_baggage_parse(bg, bgv, sizeof(bgv) - 1)) ||
	    (rc = sonde_baggage_set(bg, "k", 1, "v w", 3, NULL, 0)) ||
	    (rc = sonde_baggage_format(bg, &b)))
		goto out;
	c = sonde_trace_carrier_new();
	if (!c) {
		rc = sonde_last_status();
		goto out;
	}
	if ((rc = sonde_trace_extract(c, h, 3)) || (rc = sonde_trace_inject(c, NULL, &out)))
		goto out;
	ASSERT_TRUE(sonde_trace_carrier_continued(c));
out:
	sonde_trace_headers_destroy(&out);
	sonde_buf_destroy(&b);
	sonde_trace_carrier_free(c);
	sonde_baggage_free(bg);
	sonde_tracestate_free(ts);
	return rc;
}

TEST_TIMEOUT(oom_trace_every_allocation, 120)
{
	install();
	ASSERT_TRUE(oom_loop(trace_scenario, NULL) > 3);
}

/* ---- logger: sinks, loggers, child loggers, records, shutdown ---------------------------- */

static int lines_seen;
static int count_line(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)ctx;
	(void)level;
	(void)line;
	(void)len;
	__atomic_fetch_add(&lines_seen, 1, __ATOMIC_RELAXED);
	return 0;
}

static int log_scenario(long n)
{
	sonde_log_sink *s = sonde_log_sink_callback(count_line, NULL, NULL);
	sonde_log_opts o;
	sonde_logger *l = NULL, *child = NULL;
	sonde_log_field bf = sonde_log_field_str("component", "api");
	sonde_log_field f = sonde_log_field_i64("n", n);
	int rc = SONDE_OK;

	if (!s)
		return sonde_last_status();
	sonde_log_opts_init(&o, "oom");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	if (!l) {
		rc = sonde_last_status();
		goto out;
	}
	child = sonde_logger_child(l, &bf, 1);
	if (!child) {
		rc = sonde_last_status();
		goto out;
	}
	LOG_INFO(child, "hello", LOG_INT("n", n));
	rc = sonde_log_write(child, SONDE_LOG_LEVEL_WARN, "runtime", 7, &f, 1);
	if (!rc)
		rc = sonde_log_flush();
out:
	sonde_logger_free(child);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	/* a failed allocation may have kept the backend from starting: the
	 * shutdown must still come back (bounded) */
	{
		int sr = sonde_log_shutdown();
		if (sr != SONDE_OK && sr != SONDE_ETIMEDOUT)
			FAIL("shutdown: %d %s", sr, sonde_last_error());
	}
	return rc;
}

static void log_check(long n)
{
	/* logging works again once memory is back */
	int before = __atomic_load_n(&lines_seen, __ATOMIC_RELAXED);
	sonde_log_sink *s = sonde_log_sink_callback(count_line, NULL, NULL);
	sonde_log_opts o;
	sonde_logger *l;

	(void)n;
	ASSERT_NOT_NULL(s);
	sonde_log_opts_init(&o, "after");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	LOG_INFO(l, "recovered");
	ASSERT_OK(sonde_log_flush());
	ASSERT_TRUE(__atomic_load_n(&lines_seen, __ATOMIC_RELAXED) > before);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
}

TEST_TIMEOUT(oom_log_every_allocation, 180)
{
	install();
	ASSERT_TRUE(oom_loop(log_scenario, log_check) > 3);
}

/* ---- health ------------------------------------------------------------------------------------
 */

static sonde_health_result pass_check(void *user, char *msg, size_t cap)
{
	(void)user;
	snprintf(msg, cap, "fine");
	return SONDE_HEALTH_PASS;
}

static sonde_registry *hreg;

static int health_scenario(long n)
{
	sonde_health_opts o;
	sonde_health_check_opts c;
	sonde_health *h;
	sonde_buf b = SONDE_BUF_INIT;
	int rc;
	(void)n;

	sonde_health_opts_init(&o);
	o.registry = hreg;
	h = sonde_health_new(&o);
	if (!h)
		return sonde_last_status();
	sonde_health_check_opts_init(&c, "db", pass_check, NULL);
	c.probes = SONDE_HEALTH_READINESS;
	c.timeout_ms = 1000;
	rc = sonde_health_add_check(h, &c);
	if (!rc) {
		rc = sonde_health_evaluate(h, SONDE_HEALTH_READINESS, &b, NULL);
		rc = rc < 0 ? rc : SONDE_OK;
	}
	sonde_buf_destroy(&b);
	sonde_health_free(h);
	return rc;
}

TEST_TIMEOUT(oom_health_every_allocation, 120)
{
	install();
	hreg = sonde_registry_new();
	ASSERT_TRUE(oom_loop(health_scenario, NULL) > 3);
	sonde_registry_free(hreg);
}

/* Issue 13.4: the summaries' slot table grows in two arrays; when the
 * second could not grow, the first's new capacity was forgotten, and the
 * next growth passed the allocator size 0 for the first array's 512-byte
 * block. Fail exactly that second growth (0 to 64 generation words), then
 * create summaries past the first capacity: every realloc and free must
 * be given the true size. */
static size_t fail_realloc_to;
static size_t last_realloc_to;

/* Fails the realloc from 0 to fail_realloc_to bytes that comes right
 * after one from 0 to twice that (the slot pointers, then their
 * generation words). */
static void *sized_realloc_failing(void *ctx, void *p, size_t o, size_t n)
{
	size_t prev = last_realloc_to;

	last_realloc_to = o == 0 ? n : 0;
	if (fail_realloc_to && o == 0 && n == fail_realloc_to && prev == 2 * n) {
		fail_realloc_to = 0;
		return NULL;
	}
	return o_realloc(ctx, p, o, n);
}

TEST(oom_summary_table_growth_keeps_true_sizes)
{
	sonde_allocator a = {sizeof(a), o_malloc, o_calloc, sized_realloc_failing, o_free, NULL};
	sonde_registry *r;
	sonde_family *f;
	const char *l[] = {"i"};
	char v[16];
	int i;

	scenario_thread = pthread_self();
	ASSERT_OK(sonde_set_allocator(&a));
	fail_realloc_to = 64 * sizeof(uint32_t);
	r = sonde_registry_new();
	f = sonde_summary_family_new(r, "s", "S.", 1, l);
	ASSERT_NOT_NULL(f);
	ASSERT_TRUE(sonde_summary_with(f, "first") == NULL); /* that growth failed */
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ENOMEM);
	for (i = 0; i < 200; i++) {
		snprintf(v, sizeof(v), "%d", i);
		ASSERT_NOT_NULL(sonde_summary_with(f, v));
		sonde_summary_observe(sonde_summary_with(f, v), i);
	}
	sonde_registry_free(r);
	ASSERT_EQ_INT(__atomic_load_n(&size_mismatches, __ATOMIC_RELAXED), 0);
}
