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
	if (!pthread_equal(pthread_self(), __atomic_load_n(&scenario_thread, __ATOMIC_RELAXED)))
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

/* ---- output profiles, nested fields, errors (issue 15) ------------------------------------ */

/* Sinks of every profile with their options, a record with an object and
 * an error field through the macros and through sonde_log_write (a new
 * interned combination: the tree type), colliding keys. The tree builder
 * itself never allocates. */
static int profiles_scenario(long n)
{
	sonde_log_sink *s[5] = {NULL, NULL, NULL, NULL, NULL};
	sonde_log_sink_opts so;
	sonde_log_opts o;
	sonde_logger *l = NULL;
	unsigned char mem[256], emem[128];
	sonde_log_tree t, e;
	sonde_log_field f[3];
	int rc = SONDE_OK, k;

	for (k = 0; k < 5; k++) {
		sonde_log_sink_opts_init(&so);
		so.format = (sonde_log_format)k;
		so.format_env = "";
		so.time_key = k == 0 ? "timestamp" : NULL;
		so.level_upper = 1;
		s[k] = sonde_log_sink_callback(count_line, NULL, &so);
		if (!s[k]) {
			rc = sonde_last_status();
			goto out;
		}
	}
	sonde_log_opts_init(&o, "oom");
	o.level_env = "";
	o.sinks = s;
	o.sink_count = 5;
	l = sonde_logger_new(&o);
	if (!l) {
		rc = sonde_last_status();
		goto out;
	}
	sonde_log_tree_init(&t, mem, sizeof mem);
	(void)sonde_log_tree_object(&t);
	(void)sonde_log_tree_key(&t, "n");
	(void)sonde_log_tree_i64(&t, n);
	(void)sonde_log_tree_key(&t, "tags");
	(void)sonde_log_tree_array(&t);
	(void)sonde_log_tree_str(&t, "a", SIZE_MAX);
	(void)sonde_log_tree_end(&t);
	if (sonde_log_tree_end(&t) != SONDE_OK)
		FAIL("tree: %s", sonde_last_error());
	sonde_log_tree_init(&e, emem, sizeof emem);
	if (sonde_log_tree_error(&e, "IOError", SIZE_MAX, "disk", SIZE_MAX, "at x", SIZE_MAX))
		FAIL("error tree: %s", sonde_last_error());
	LOG_ERROR(l, "failed", LOG_OBJ("metadata", &t), LOG_ERR("err", &e),
	          LOG_STR("service", "user"));
	f[0] = sonde_log_field_tree("metadata", &t);
	f[1] = sonde_log_field_tree("error", &e);
	f[2] = sonde_log_field_str("timestamp", "x");
	rc = sonde_log_write(l, SONDE_LOG_LEVEL_ERROR, "runtime", 7, f, 3);
	if (!rc)
		rc = sonde_log_flush();
out:
	sonde_logger_free(l);
	for (k = 0; k < 5; k++)
		sonde_log_sink_free(s[k]);
	{
		int sr = sonde_log_shutdown();
		if (sr != SONDE_OK && sr != SONDE_ETIMEDOUT)
			FAIL("shutdown: %d %s", sr, sonde_last_error());
	}
	return rc;
}

TEST_TIMEOUT(oom_log_profiles_every_allocation, 180)
{
	install();
	ASSERT_TRUE(oom_loop(profiles_scenario, log_check) > 3);
}

/* ---- the flight recorder: a thread's store, a replay's candidate list -------------------- */

static int flight_replayed, flight_errors;
static int flight_line(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)ctx;
	(void)level;
	/* line is not NUL-terminated: line[len] is its newline */
	if (memmem(line, len, "\"_replayed\":true", 16))
		__atomic_fetch_add(&flight_replayed, 1, __ATOMIC_RELAXED);
	if (memmem(line, len, "\"message\":\"trigger\"", 19))
		__atomic_fetch_add(&flight_errors, 1, __ATOMIC_RELAXED);
	return 0;
}

static void *flight_thread(void *arg)
{
	sonde_logger *l = arg;

	/* a fresh thread: its store is allocated by this call, the
	 * scenario's counted allocation (the scenario thread is this one) */
	__atomic_store_n(&scenario_thread, pthread_self(), __ATOMIC_RELAXED);
	LOG_DEBUG(l, "kept");
	LOG_ERROR(l, "trigger"); /* scope ALL: the candidate list */
	return NULL;
}

static int flight_scenario(long n)
{
	sonde_log_sink *s = sonde_log_sink_callback(flight_line, NULL, NULL);
	sonde_log_opts o;
	sonde_logger *l;
	pthread_t t, self = pthread_self();
	int rc = SONDE_OK;

	(void)n;
	if (!s)
		return sonde_last_status();
	__atomic_store_n(&flight_replayed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&flight_errors, 0, __ATOMIC_RELAXED);
	sonde_log_opts_init(&o, "oom");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	o.flight_recorder = 1;
	o.flight_scope = SONDE_LOG_FLIGHT_ALL;
	l = sonde_logger_new(&o);
	sonde_log_sink_free(s);
	if (!l)
		return sonde_last_status();
	pthread_create(&t, NULL, flight_thread, l);
	pthread_join(t, NULL);
	__atomic_store_n(&scenario_thread, self, __ATOMIC_RELAXED);
	rc = sonde_log_flush();
	/* the trigger is always written; the kept record when its store
	 * could be had (a failed store keeps nothing, a failed candidate
	 * list still replays the thread's own) */
	if (rc == SONDE_OK && __atomic_load_n(&flight_errors, __ATOMIC_RELAXED) != 1)
		FAIL("allocation %ld: %d trigger lines", n, flight_errors);
	if (rc == SONDE_OK && failures == 0 &&
	    __atomic_load_n(&flight_replayed, __ATOMIC_RELAXED) != 1)
		FAIL("no failure, but %d replayed lines", flight_replayed);
	sonde_logger_free(l);
	{
		int sr = sonde_log_shutdown();
		if (sr != SONDE_OK && sr != SONDE_ETIMEDOUT)
			FAIL("shutdown: %d %s", sr, sonde_last_error());
	}
	return rc;
}

TEST_TIMEOUT(oom_log_flight_every_allocation, 120)
{
	install();
	ASSERT_TRUE(oom_loop(flight_scenario, NULL) >= 3); /* ring, store, candidates */
}

/* ---- scoped fields and sampling (issue 15) ------------------------------------------------
 * A scope push and pop never allocate: under every failure the scope is
 * pushed and popped cleanly, and a record that is written carries its
 * scoped field. The allocations failed are the logger's, the thread's
 * ring and sonde_log_write's interned site (with its sampling state). */

static int scope_lines, scope_tagged;
static int scope_line(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)ctx;
	(void)level;
	__atomic_fetch_add(&scope_lines, 1, __ATOMIC_RELAXED);
	if (memmem(line, len, "\"user_id\":\"u1\"", 14))
		__atomic_fetch_add(&scope_tagged, 1, __ATOMIC_RELAXED);
	return 0;
}

static int scope_scenario(long n)
{
	sonde_log_sink *s = sonde_log_sink_callback(scope_line, NULL, NULL);
	sonde_log_field sf = sonde_log_field_str("user_id", "u1");
	sonde_log_field wf = sonde_log_field_i64("k", n);
	sonde_log_scope sc;
	sonde_log_opts o;
	sonde_logger *l;
	int rc = SONDE_OK, i;

	if (!s)
		return sonde_last_status();
	__atomic_store_n(&scope_lines, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&scope_tagged, 0, __ATOMIC_RELAXED);
	sonde_log_opts_init(&o, "oom");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	/* sampling on, with room: the sites' counts live as long as the
	 * process, across the loop's runs, so a small first would sample
	 * later runs out; every decision is still taken */
	o.sample_first = 100000;
	o.sample_interval_ms = 0xffffffffu;
	l = sonde_logger_new(&o);
	sonde_log_sink_free(s);
	if (!l)
		return sonde_last_status();
	if (sonde_log_scope_push(&sc, &sf, 1) != SONDE_OK)
		FAIL("allocation %ld: push failed: %s", n, sonde_last_error());
	for (i = 0; i < 3; i++)
		LOG_INFO(l, "scoped", LOG_INT("i", i));
	for (i = 0; i < 3 && rc == SONDE_OK; i++)
		rc = sonde_log_write(l, SONDE_LOG_LEVEL_INFO, "runtime", 7, &wf, 1);
	if (sonde_log_scope_pop(&sc) != SONDE_OK)
		FAIL("allocation %ld: pop failed: %s", n, sonde_last_error());
	if (sonde_log_scope_fields() != 0)
		FAIL("allocation %ld: scope left pushed", n);
	if (rc == SONDE_OK)
		rc = sonde_log_flush();
	if (rc == SONDE_OK && __atomic_load_n(&scope_tagged, __ATOMIC_RELAXED) !=
	                              __atomic_load_n(&scope_lines, __ATOMIC_RELAXED))
		FAIL("allocation %ld: %d lines, %d with the scoped field", n, scope_lines,
		     scope_tagged);
	if (rc == SONDE_OK && failures == 0 && __atomic_load_n(&scope_lines, __ATOMIC_RELAXED) != 6)
		FAIL("no failure, but %d lines (want 6)", scope_lines);
	sonde_logger_free(l);
	{
		int sr = sonde_log_shutdown();
		if (sr != SONDE_OK && sr != SONDE_ETIMEDOUT)
			FAIL("shutdown: %d %s", sr, sonde_last_error());
	}
	return rc;
}

TEST_TIMEOUT(oom_log_scope_and_sampling_every_allocation, 120)
{
	install();
	ASSERT_TRUE(oom_loop(scope_scenario, NULL) >= 2); /* logger, ring, site */
}

/* ---- the log backend's own allocations ------------------------------------------------------
 * The backend formats on its own thread: its line buffers grow for a long
 * record, a nested field and a second profile. Here the failures are the
 * backend's (its allocations are counted once it is known, after a first
 * record): every record reaches each sink or is counted as a line that
 * sink lost, exactly. */

static pthread_t backend_thr;
static int backend_known, lines_json, lines_ecs;
static int backend_line(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)level;
	(void)line;
	(void)len;
	if (!__atomic_load_n(&backend_known, __ATOMIC_ACQUIRE)) {
		backend_thr = pthread_self();
		__atomic_store_n(&backend_known, 1, __ATOMIC_RELEASE);
	}
	__atomic_fetch_add(ctx ? &lines_ecs : &lines_json, 1, __ATOMIC_RELAXED);
	return 0;
}

static int backend_scenario(long n)
{
	static int tag = 1;
	static char big[20000];
	long fail = fail_at;
	sonde_log_sink_opts so;
	sonde_log_sink *s[2];
	sonde_log_opts o;
	sonde_logger *l;
	sonde_log_tree t;
	unsigned char mem[256];
	int i, rc;
	uint64_t e0, e1;

	/* setup with every allocation working, on this thread */
	fail_at = -1;
	__atomic_store_n(&backend_known, 0, __ATOMIC_RELAXED);
	sonde_log_sink_opts_init(&so);
	s[0] = sonde_log_sink_callback(backend_line, NULL, &so);
	so.format = SONDE_LOG_FORMAT_ECS;
	s[1] = sonde_log_sink_callback(backend_line, &tag, &so);
	ASSERT_NOT_NULL(s[0]);
	ASSERT_NOT_NULL(s[1]);
	sonde_log_opts_init(&o, "oom");
	o.level_env = "";
	o.sinks = s;
	o.sink_count = 2;
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	LOG_INFO(l, "first");
	ASSERT_OK(sonde_log_flush());
	ASSERT_TRUE(__atomic_load_n(&backend_known, __ATOMIC_ACQUIRE));
	__atomic_store_n(&lines_json, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lines_ecs, 0, __ATOMIC_RELAXED);
	sonde_log_tree_init(&t, mem, sizeof(mem));
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_OK(sonde_log_tree_key(&t, "k"));
	ASSERT_OK(sonde_log_tree_str(&t, "v", SIZE_MAX));
	ASSERT_OK(sonde_log_tree_end(&t));
	memset(big, 'x', sizeof(big) - 1);
	e0 = sonde_log_sink_errors(s[0]) + sonde_log_sink_errors(s[1]);

	/* the backend's allocations from here on */
	n_allocs = 0;
	__atomic_store_n(&scenario_thread, backend_thr, __ATOMIC_RELAXED);
	fail_at = fail;
	LOG_INFO(l, "big", LOG_STR("body", big));
	LOG_WARN(l, "nested", LOG_OBJ("meta", &t), LOG_INT("n", n));
	for (i = 0; i < 3; i++)
		LOG_INFO(l, "plain", LOG_INT("i", i));
	rc = sonde_log_flush();
	fail_at = -1;
	__atomic_store_n(&scenario_thread, pthread_self(), __ATOMIC_RELAXED);

	ASSERT_OK(rc);
	e1 = sonde_log_sink_errors(s[0]) + sonde_log_sink_errors(s[1]);
	/* 5 records to each of the 2 sinks: written or counted lost */
	if (__atomic_load_n(&lines_json, __ATOMIC_RELAXED) +
	            __atomic_load_n(&lines_ecs, __ATOMIC_RELAXED) + (int)(e1 - e0) <
	    10)
		FAIL("allocation %ld: %d + %d lines written, %d counted lost (want 10)", n,
		     lines_json, lines_ecs, (int)(e1 - e0));
	sonde_logger_free(l);
	sonde_log_sink_free(s[0]);
	sonde_log_sink_free(s[1]);
	rc = sonde_log_shutdown();
	if (rc != SONDE_OK)
		FAIL("shutdown: %d %s", rc, sonde_last_error());
	return SONDE_OK;
}

TEST_TIMEOUT(oom_log_backend_formatting_every_allocation, 120)
{
	install();
	/* the line buffers of two profiles grow */
	ASSERT_TRUE(oom_loop(backend_scenario, NULL) >= 2);
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

/* ---- instrument: sonde_http_server (families, constant labels, a request) ---------- */

static int http_server_scenario(long n)
{
	static const char *const consts[] = {"service", "oom"};
	sonde_header h[2] = {
	        {"traceparent", 11, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55},
	        {"baggage", 7, "tenant=acme,k=v", 15}};
	sonde_registry *r = sonde_registry_new();
	sonde_http_server_opts o;
	sonde_http_server *s;
	sonde_http_request rq;
	sonde_http_request_info in;
	sonde_http_headers out = SONDE_HTTP_HEADERS_INIT;
	sonde_buf b = SONDE_BUF_INIT;
	int rc;
	(void)n;

	if (!r)
		return sonde_last_status();
	sonde_http_server_opts_init(&o);
	o.registry = r;
	o.const_labels = consts;
	o.nconst = 1;
	o.response_size_name = "http_response_size_bytes";
	o.native = SONDE_NATIVE_AND_CLASSIC;
	s = sonde_http_server_new(&o);
	if (!s) {
		rc = sonde_last_status();
		sonde_registry_free(r);
		return rc;
	}
	sonde_http_request_info_init(&in, "GET", "/oom");
	in.headers = h;
	in.nheaders = 2;
	rc = sonde_http_request_begin(s, &rq, &in);
	if (rc == SONDE_OK) {
		int orc = sonde_http_request_outgoing(&rq, &out);
		if (sonde_http_request_end(&rq, 200, 10) != SONDE_OK)
			FAIL("end: %s", sonde_last_error());
		rc = sonde_expose(r, SONDE_FORMAT_TEXT, &b);
		/* a child that could not be made lost its count (counted in
		 * sonde_children_rejected_total): out of memory, cleanly */
		if (rc == SONDE_OK &&
		    !strstr(b.data, "route=\"/oom\",status=\"200\",service=\"oom\"} 1"))
			rc = SONDE_ENOMEM;
		if (rc == SONDE_OK)
			rc = orc;
	}
	sonde_http_headers_destroy(&out);
	sonde_buf_destroy(&b);
	sonde_http_server_free(s);
	sonde_registry_free(r);
	return rc;
}

TEST_TIMEOUT(oom_http_server_every_allocation, 120)
{
	install();
	ASSERT_TRUE(oom_loop(http_server_scenario, NULL) > 5);
}

/* ---- metrics: constant labels and a registry's default labels ------------------------ */

static int const_labels_scenario(long n)
{
	static const char *const consts[] = {"service", "api", "team", "core"};
	static const char *const lab[] = {"method"};
	static const char *const reg_labels[] = {"region", "eu"};
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	sonde_family *f;
	sonde_buf b = SONDE_BUF_INIT;
	int rc;
	(void)n;

	if (!r)
		return sonde_last_status();
	sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, "oom_const_total", "x");
	o.label_names = lab;
	o.label_count = 1;
	o.const_labels = consts;
	o.const_label_count = 2;
	f = sonde_family_new(r, &o);
	rc = f ? sonde_registry_set_labels(r, reg_labels, 1) : sonde_last_status();
	if (rc == SONDE_OK && !sonde_counter_with(f, "GET"))
		rc = sonde_last_status();
	if (rc == SONDE_OK)
		rc = sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
	return rc;
}

TEST_TIMEOUT(oom_const_labels_every_allocation, 60)
{
	install();
	ASSERT_TRUE(oom_loop(const_labels_scenario, NULL) > 10);
}

/* ---- log: the user's records metric (sonde_log_config.records_metric) ---------------- */

static sonde_registry *records_reg; /* lives as long as the logger: never freed */

static int records_metric_scenario(long n)
{
	static const char *const svc[] = {"service", "oom"};
	sonde_log_config c;
	(void)n;

	sonde_log_config_init(&c);
	c.records_metric = "oom_log_entries_total";
	c.records_registry = records_reg;
	c.records_labels = svc;
	c.records_label_count = 1;
	return sonde_log_configure(&c);
}

TEST_TIMEOUT(oom_log_records_metric_every_allocation, 60)
{
	install();
	records_reg = sonde_registry_new();
	ASSERT_NOT_NULL(records_reg);
	ASSERT_TRUE(oom_loop(records_metric_scenario, NULL) > 3);
}

/* ---- instrument: the embedded exporter's start (slots, buffers, poll set) ------------ */

static int exporter_scenario(long n)
{
	sonde_exporter_opts o;
	sonde_exporter *e;
	(void)n;

	sonde_exporter_opts_init(&o);
	o.address = "127.0.0.1:0";
	o.max_connections = 4;
	e = sonde_exporter_start(&o);
	if (!e)
		return sonde_last_status();
	return sonde_exporter_stop(e);
}

TEST_TIMEOUT(oom_exporter_every_allocation, 60)
{
	install();
	ASSERT_TRUE(oom_loop(exporter_scenario, NULL) > 5);
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

/* ---- net: the HTTP client (lib/net/), a request and a reused connection ------------------ */

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http.h"

/* A plain-libc server on the test's own thread (its allocations are not
 * the scenario's): reads each request by its Content-Length and answers
 * with a chunked 1000-byte body, keeping the connection. */
static int oom_listen_fd;

static void *oom_http_server(void *arg)
{
	(void)arg;
	for (;;) {
		int s = accept(oom_listen_fd, NULL, NULL);
		char req[8192];
		size_t have = 0;
		if (s < 0)
			return NULL;
		for (;;) {
			char *end, *cl;
			size_t want;
			ssize_t n = recv(s, req + have, sizeof(req) - 1 - have, 0);
			if (n <= 0)
				break;
			have += (size_t)n;
			req[have] = '\0';
			end = strstr(req, "\r\n\r\n");
			if (!end)
				continue;
			cl = strstr(req, "Content-Length: ");
			want = (size_t)(end + 4 - req) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
			if (have < want)
				continue;
			if (strncmp(req, "PUT ", 4) == 0) { /* a push (push_scenario) */
				static const char ok[] =
				        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
				if (send(s, ok, sizeof(ok) - 1, MSG_NOSIGNAL) !=
				    (ssize_t)sizeof(ok) - 1)
					break;
			} else {
				char resp[1400];
				int len = snprintf(
				        resp, sizeof(resp),
				        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
				        "Transfer-Encoding: chunked\r\n\r\n3e8\r\n");
				memset(resp + len, 'r', 1000);
				len += 1000;
				memcpy(resp + len, "\r\n0\r\n\r\n", 7);
				len += 7;
				if (send(s, resp, (size_t)len, MSG_NOSIGNAL) != len)
					break;
			}
			memmove(req, req + want, have - want);
			have -= want;
		}
		close(s);
	}
}

static uint16_t oom_port;

static int http_scenario(long n)
{
	sonde__http_client *c;
	sonde__http_response r;
	sonde_header h[] = {{"Content-Type", 12, "application/x-protobuf", 22}};
	int rc, i;
	(void)n;

	c = sonde__http_client_new("127.0.0.1", oom_port, NULL);
	if (!c)
		return sonde_last_status();
	sonde__http_response_init(&r);
	rc = SONDE_OK;
	for (i = 0; i < 2 && rc == SONDE_OK; i++) {
		rc = sonde__http_request(c, "POST", "/v1/traces", h, 1, "payload", 7, &r);
		if (rc == SONDE_OK) {
			ASSERT_EQ_INT(r.status, 429);
			ASSERT_EQ_INT(r.retry_after_s, 3);
			ASSERT_EQ_INT(r.body.len, 1000);
		}
	}
	if (rc == SONDE_OK)
		ASSERT_EQ_U64(sonde__http_client_connects(c), 1);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	return rc;
}

/* sonde_push: the group's path (base64 job), the headers, the body, the
 * client, the response. The registry is small enough for the server's
 * 8 KiB request buffer. */
static sonde_registry *push_reg;

static int push_scenario(long n)
{
	static const char *const grouping[] = {"instance", "", "zone", "eu-1"};
	sonde_header auth = {"Authorization", 13, "Bearer t", 8};
	sonde_push_opts o;
	char url[64];
	(void)n;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/prefix", (unsigned)oom_port);
	sonde_push_opts_init(&o);
	o.job = "oom/job";
	o.grouping = grouping;
	o.ngrouping = 2;
	o.headers = &auth;
	o.nheaders = 1;
	return sonde_push(url, SONDE_PUSH_REPLACE, push_reg, &o);
}

TEST_TIMEOUT(oom_http_client_every_allocation, 120)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	pthread_t t;

	oom_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_OK(bind(oom_listen_fd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(listen(oom_listen_fd, 16));
	ASSERT_OK(getsockname(oom_listen_fd, (struct sockaddr *)&a, &len));
	oom_port = ntohs(a.sin_port);
	ASSERT_OK(pthread_create(&t, NULL, oom_http_server, NULL));
	install();
	ASSERT_TRUE(oom_loop(http_scenario, NULL) > 4);
	push_reg = sonde_registry_new();
	ASSERT_NOT_NULL(push_reg);
	sonde_counter_inc(sonde_counter_new(push_reg, "pushed_total", "Pushed."));
	sonde_histogram_observe(sonde_histogram_new(push_reg, "pushed_seconds", "Took.", NULL, 0),
	                        0.5);
	ASSERT_TRUE(oom_loop(push_scenario, NULL) > 5);
	sonde_registry_free(push_reg);
	/* the server thread blocks in accept; the test process ends with it */
	pthread_detach(t);
}

/* ---- trace: the span model (records, events, links) and the resource ------------------- */

#include "trace/span_data.h"

static int recorded_ok;

static void oom_take(sonde__span_data *d, void *arg)
{
	(void)arg;
	recorded_ok++;
	sonde__span_data_free(d);
}

static int model_scenario(long n)
{
	static const sonde__span_processor proc = {oom_take, NULL};
	sonde_span s;
	sonde_span_attr ea[2];
	char key[32], big[3000];
	int i, rc;

	sonde_trace_set_sampler_ratio(1);
	sonde__trace_set_processor(&proc);
	/* no spare record: the record's own allocation fails too */
	sonde__span_data_pool_drain();
	sonde_span_start(&s, "oom.model");
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 12; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		sonde_span_set_str(&s, key, i == 5 ? big : "value");
	}
	ea[0] = sonde_attr_str("a", big);
	ea[1] = sonde_attr_int("b", 1);
	for (i = 0; i < 10; i++)
		sonde_span_add_event(&s, "ev", ea, 2);
	sonde_span_record_exception(&s, "T", big, "trace");
	{
		const char *tags[3] = {"a", big, NULL};
		const int64_t ints[2] = {1, 2};
		sonde_span_set_str_array(&s, "tags", tags, 3);
		sonde_span_set_int_array(&s, "ints", ints, 2);
	}
	sonde_span_add_link(&s, sonde_span_get_context(&s), ea, 2);
	sonde_span_set_error(&s, "failed");
	sonde_span_end(&s);
	sonde__trace_set_processor(NULL);
	/* a span never fails: a record or an item that could not be made is
	 * dropped and counted; the resource and scope report ENOMEM */
	snprintf(key, sizeof(key), "oom.%ld", n);
	rc = sonde_resource_set_str(key, "v");
	if (!rc)
		rc = sonde_resource_set_str(key, NULL);
	if (!rc)
		rc = sonde_trace_set_scope("oom.scope", "1.0");
	return rc;
}

TEST_TIMEOUT(oom_span_model_every_allocation, 120)
{
	char buf[64];

	install();
	ASSERT_TRUE(oom_loop(model_scenario, NULL) > 4);
	ASSERT_TRUE(recorded_ok > 0);
	ASSERT_TRUE(sonde_resource_get("telemetry.sdk.name", buf, sizeof(buf)) > 0);
}

/* ---- export: the OpenTelemetry configuration from the environment ---------------------- */

#include "export/otel_config.h"

static const char *oom_env(void *ctx, const char *name)
{
	static const char *const t[] = {"OTEL_SERVICE_NAME",
	                                "svc",
	                                "OTEL_RESOURCE_ATTRIBUTES",
	                                "a=1,b=%20two%20,c=3",
	                                "OTEL_EXPORTER_OTLP_ENDPOINT",
	                                "http://collector:4318",
	                                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
	                                "http://[::1]:9/logs",
	                                "OTEL_EXPORTER_OTLP_HEADERS",
	                                "k1=v1,k2=v%2C2",
	                                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	                                "K1=over",
	                                NULL};
	(void)ctx;
	for (int i = 0; t[i]; i += 2)
		if (!strcmp(t[i], name))
			return t[i + 1];
	return NULL;
}

static int config_scenario(long n)
{
	sonde__otel_config c;
	int rc = sonde__otel_config_read(&c, oom_env, NULL);
	(void)n;

	if (rc == SONDE_OK) {
		ASSERT_EQ_INT(c.resource.n, 3);
		ASSERT_EQ_INT(c.traces.headers.n, 2);
		ASSERT_STREQ(c.logs.host, "::1");
	} else {
		/* on ENOMEM the struct is destroyed and zeroed */
		ASSERT_NULL(c.traces.url);
		ASSERT_EQ_INT(c.resource.n, 0);
	}
	sonde__otel_config_destroy(&c);
	return rc;
}

TEST_TIMEOUT(oom_otel_config_every_allocation, 120)
{
	install();
	ASSERT_TRUE(oom_loop(config_scenario, NULL) > 20);
}

/* ---- export: the OTLP encoders and the exporter's start ----------------------------------- */

#include "export/otlp.h"

static sonde__span_data *enc_recs[2];
static size_t enc_n;
static sonde_buf enc_ref_pb = SONDE_BUF_INIT, enc_ref_js = SONDE_BUF_INIT;

static void enc_capture(sonde__span_data *d, void *arg)
{
	(void)arg;
	if (enc_n < 2)
		enc_recs[enc_n++] = d;
	else
		sonde__span_data_free(d);
}

static int encode_scenario(long n)
{
	sonde_buf pb = SONDE_BUF_INIT, js = SONDE_BUF_INIT;
	int rc = SONDE_OK;
	(void)n;

	sonde__otlp_traces_pb(&pb, enc_recs, enc_n);
	sonde__otlp_traces_json(&js, enc_recs, enc_n);
	if (pb.oom || js.oom) {
		rc = SONDE_ENOMEM;
	} else {
		/* what did get encoded is byte for byte the reference */
		ASSERT_EQ_INT(pb.len, enc_ref_pb.len);
		ASSERT_TRUE(!memcmp(pb.data, enc_ref_pb.data, pb.len));
		ASSERT_EQ_INT(js.len, enc_ref_js.len);
		ASSERT_TRUE(!memcmp(js.data, enc_ref_js.data, js.len));
	}
	sonde_buf_destroy(&pb);
	sonde_buf_destroy(&js);
	return rc;
}

TEST_TIMEOUT(oom_otlp_encode_every_allocation, 120)
{
	static const sonde__span_processor proc = {enc_capture, NULL};
	static const char *const strs[] = {"x", "y"};
	sonde_span s, c;
	sonde_span_attr ea[1] = {sonde_attr_str("k", "v")};

	install(); /* first: the records below come from it */
	sonde__trace_set_processor(&proc);
	sonde_span_start(&s, "parent");
	sonde_span_set_str(&s, "s", "a long enough value to need its own bytes in the buffer");
	sonde_span_set_int(&s, "i", -3);
	sonde_span_set_str_array(&s, "arr", strs, 2);
	sonde_span_add_event(&s, "ev", ea, 1);
	sonde_span_add_link(&s, sonde_span_get_context(&s), ea, 1);
	sonde_span_set_error(&s, "bad");
	sonde_span_start(&c, "child");
	sonde_span_end(&c);
	sonde_span_end(&s);
	sonde__trace_set_processor(NULL);
	ASSERT_EQ_INT(enc_n, 2);
	sonde__otlp_traces_pb(&enc_ref_pb, enc_recs, enc_n);
	sonde__otlp_traces_json(&enc_ref_js, enc_recs, enc_n);
	ASSERT_TRUE(oom_loop(encode_scenario, NULL) > 2);
	for (size_t i = 0; i < enc_n; i++)
		sonde__span_data_free(enc_recs[i]);
	sonde_buf_destroy(&enc_ref_pb);
	sonde_buf_destroy(&enc_ref_js);
}

static int started_ok;

static int otlp_exporter_scenario(long n)
{
	sonde_header h[2] = {{"X-A", 3, "1", 1}, {"X-B", 3, "two", 3}};
	sonde_otlp_options o;
	sonde_span s;
	int rc;
	(void)n;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.endpoint = "http://127.0.0.1:9/v1/traces"; /* discard port: nobody listens */
	o.headers = h;
	o.nheaders = 2;
	o.max_queue_size = 64;
	o.max_export_batch_size = 8;
	rc = sonde_otlp_start(&o);
	if (rc == SONDE_ENOMEM) {
		ASSERT_FALSE(sonde_otlp_running());
		return rc;
	}
	ASSERT_OK(rc);
	ASSERT_TRUE(sonde_otlp_running());
	started_ok++;
	sonde_span_start(&s, "under oom"); /* its record may fail: counted by the span model */
	sonde_span_end(&s);
	rc = sonde_otlp_shutdown(0);
	ASSERT_TRUE(rc == SONDE_OK || rc == SONDE_ETIMEDOUT);
	ASSERT_FALSE(sonde_otlp_running());
	return SONDE_OK;
}

TEST_TIMEOUT(oom_otlp_exporter_start_every_allocation, 120)
{
	install();
	ASSERT_TRUE(oom_loop(otlp_exporter_scenario, NULL) > 4);
	ASSERT_TRUE(started_ok > 0);
}

/* ---- export: log records over OTLP (the record view, the encoders, the sink) -------------- */

#include "export/otlp_logs.h"
#include "log/log-int.h"

static const char *const lrec_keys[] = {"n", "s", "t"};
static const unsigned char lrec_types[] = {SONDE_LOG_T_I64, SONDE_LOG_T_STR, SONDE_LOG_T_TREE};
static const sonde_log_site lrec_site = {
        "oom record", "test_oom.c", lrec_keys, lrec_types, 1, SONDE_LOG_LEVEL_INFO, 3, 0, NULL};
static uint64_t lrec_img[64];
static unsigned char lrec_tree_mem[128];

/* A record as the backend would see it (header, three value slots, the
 * string area: "hello" and an object tree), of logger l. */
static void lrec_make(sonde__log_rec *rec, sonde_logger *l)
{
	rec_hdr *h = (rec_hdr *)(void *)lrec_img;
	uint64_t *vals = (uint64_t *)(void *)(h + 1);
	char *strs = (char *)(vals + 3);
	sonde_log_tree t;

	sonde_log_tree_init(&t, lrec_tree_mem, sizeof lrec_tree_mem);
	(void)sonde_log_tree_object(&t);
	(void)sonde_log_tree_key(&t, "k");
	(void)sonde_log_tree_array(&t);
	(void)sonde_log_tree_u64(&t, UINT64_MAX);
	(void)sonde_log_tree_str(&t, "v", 1);
	(void)sonde_log_tree_end(&t);
	ASSERT_OK(sonde_log_tree_end(&t));
	memset(lrec_img, 0, sizeof lrec_img);
	h->kind = REC_LOG;
	h->level = SONDE_LOG_LEVEL_INFO;
	h->nfields = 3;
	h->site = &lrec_site;
	h->logger = l;
	vals[0] = (uint64_t)-7;
	vals[1] = 5;
	vals[2] = t.len;
	memcpy(strs, "hello", 5);
	memcpy(strs + 5, t.buf, t.len);
	h->size = (uint32_t)(sizeof(*h) + 3 * 8 + ((5 + t.len + 7) & ~(size_t)7));
	sonde__log_rec_view(rec, h);
	rec->ns = 1700000000123456789LL;
	rec->tid = 42;
}

static sonde__log_view lenc_view;
static sonde_buf lenc_ref[2] = {SONDE_BUF_INIT, SONDE_BUF_INIT};

/* One record through both encoders, into a chunk, into a request. */
static int lenc_one(sonde_buf *out, bool json)
{
	sonde__otlp_log_chunk *c = sonde__otlp_log_chunk_new(json, "svc", 3);
	int rc = SONDE_OK;

	if (!c)
		return SONDE_ENOMEM;
	if (json)
		sonde__otlp_log_record_json(&c->recs, &lenc_view, 1700000000200000000LL);
	else
		sonde__otlp_log_record_pb(&c->recs, &lenc_view, 1700000000200000000LL);
	c->n = 1;
	if (c->recs.oom) {
		rc = SONDE_ENOMEM;
	} else {
		sonde__otlp_logs_request(out, &c, 1, json);
		if (out->oom)
			rc = SONDE_ENOMEM;
	}
	sonde__otlp_log_chunk_free(c);
	return rc;
}

static int log_encode_scenario(long n)
{
	int rc = SONDE_OK;
	(void)n;

	for (int json = 0; json < 2 && rc == SONDE_OK; json++) {
		sonde_buf b = SONDE_BUF_INIT;
		rc = lenc_one(&b, json);
		if (rc == SONDE_OK) {
			/* what did get encoded is byte for byte the reference */
			ASSERT_EQ_INT(b.len, lenc_ref[json].len);
			ASSERT_TRUE(!memcmp(b.data, lenc_ref[json].data, b.len));
		}
		sonde_buf_destroy(&b);
	}
	return rc;
}

TEST_TIMEOUT(oom_otlp_log_encode_every_allocation, 120)
{
	sonde_log_opts o;
	sonde_logger *l;
	sonde__log_rec rec;

	install(); /* first: sonde allocates below */
	sonde_log_opts_init(&o, "oom-logs");
	o.level_env = "";
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	lrec_make(&rec, l);
	sonde__log_view_read(&lenc_view, &rec);
	ASSERT_EQ_INT(lenc_view.nattrs, 3);
	ASSERT_OK(lenc_one(&lenc_ref[0], false));
	ASSERT_OK(lenc_one(&lenc_ref[1], true));
	ASSERT_TRUE(oom_loop(log_encode_scenario, NULL) > 3);
	sonde_buf_destroy(&lenc_ref[0]);
	sonde_buf_destroy(&lenc_ref[1]);
	sonde_logger_free(l);
}

static sonde_logger *lsink_logger;
static int lsink_started;

/* The exporter started, an OTLP log sink made, five records through its
 * callbacks (as the backend calls them), the sink freed, the exporter shut
 * down: a failed allocation is a clean ENOMEM (start, the sink) or a
 * record counted as dropped (out of memory), and every record handed over
 * is exported or dropped. */
static int log_sink_scenario(long n)
{
	sonde_otlp_options o;
	sonde_log_sink *s;
	sonde__log_rec rec;
	sonde_otlp_stats st;
	int rc;
	(void)n;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.endpoint = "http://127.0.0.1:9/v1/traces"; /* discard port: nobody listens */
	o.logs_endpoint = "http://127.0.0.1:9/v1/logs";
	o.max_queue_size = 64;
	o.max_export_batch_size = 2;
	o.schedule_delay_ms = 100000;
	rc = sonde_otlp_start(&o);
	if (rc == SONDE_ENOMEM) {
		ASSERT_FALSE(sonde_otlp_running());
		return rc;
	}
	ASSERT_OK(rc);
	s = sonde_otlp_log_sink(NULL);
	if (!s) {
		rc = sonde_last_status();
		ASSERT_EQ_INT(rc, SONDE_ENOMEM);
		ASSERT_TRUE(sonde_otlp_shutdown(0) != SONDE_ESTATE);
		return rc;
	}
	lsink_started++;
	lrec_make(&rec, lsink_logger);
	for (int i = 0; i < 5; i++)
		s->rops->record(s->rctx, &rec);
	s->rops->batch_end(s->rctx);
	sonde_log_sink_free(s);
	rc = sonde_otlp_shutdown(0);
	ASSERT_TRUE(rc == SONDE_OK || rc == SONDE_ETIMEDOUT);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	sonde_otlp_get_stats(&st);
	ASSERT_EQ_U64(st.logs_handed, 5);
	ASSERT_EQ_U64(st.logs_exported + st.logs_dropped_queue_full + st.logs_dropped_rejected +
	                      st.logs_dropped_failed + st.logs_dropped_shutdown +
	                      st.logs_dropped_oom + st.logs_dropped_partial,
	              5);
	return SONDE_OK;
}

TEST_TIMEOUT(oom_otlp_log_sink_every_allocation, 120)
{
	sonde_log_opts o;

	install(); /* first: sonde allocates below */
	sonde_log_opts_init(&o, "oom-sink");
	o.level_env = "";
	lsink_logger = sonde_logger_new(&o);
	ASSERT_NOT_NULL(lsink_logger);
	ASSERT_TRUE(oom_loop(log_sink_scenario, NULL) > 6);
	ASSERT_TRUE(lsink_started > 0);
	sonde_logger_free(lsink_logger);
}
