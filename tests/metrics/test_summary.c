/* tests/metrics/test_summary.c - summaries: the quantile error bound against exact
 * quantiles, the sliding window, threads, exposition. */
#include <pthread.h>

#include "metrics/summary.h"
#include "test.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static double urand(void) /* [0, 1) */
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}

static double nrand(void)
{
	double u1 = urand(), u2 = urand();
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double worst_err;

/* Feeds xs to a fresh summary and checks every quantile against the exact
 * one: the observation of rank floor(q (n-1)). */
static void check_dist(const char *what, double *xs, size_t n)
{
	static const double qs[] = {0,    0.001, 0.01, 0.1,  0.25,  0.5,
	                            0.75, 0.9,   0.95, 0.99, 0.999, 1};
	sonde_registry *r = sonde_registry_new();
	sonde_summary *s = sonde_summary_new(r, "dist", "D.");
	double sum = 0;
	size_t i;

	ASSERT_NOT_NULL(s);
	for (i = 0; i < n; i++) {
		sonde_summary_observe(s, xs[i]);
		sum += xs[i];
	}
	qsort(xs, n, sizeof(double), cmp_dbl);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double exact = xs[(size_t)floor(qs[i] * (double)(n - 1))];
		double got = sonde_summary_quantile(s, qs[i]);
		double err = exact == 0 ? fabs(got) : fabs(got - exact) / fabs(exact);
		if (exact == 0 && got != 0)
			FAIL("%s q=%g: exact 0, got %.17g", what, qs[i], got);
		if (!(err <= 0.01))
			FAIL("%s q=%g: exact %.17g got %.17g (relative error %.4f%%)", what, qs[i],
			     exact, got, err * 100);
		if (err > worst_err)
			worst_err = err;
	}
	ASSERT_EQ_U64(sonde_summary_count(s), n);
	ASSERT_NEAR(sonde_summary_sum(s), sum, fabs(sum) * 1e-9 + 1e-9);
	sonde_registry_free(r);
}

TEST(summary_quantile_error_bound)
{
	size_t n = 100000, i;
	double *xs = malloc(n * sizeof(double));

	for (i = 0; i < n; i++)
		xs[i] = urand();
	check_dist("uniform", xs, n);
	for (i = 0; i < n; i++)
		xs[i] = exp(2 * nrand()); /* lognormal, sigma 2: ~6 decades */
	check_dist("lognormal", xs, n);
	for (i = 0; i < n; i++)
		xs[i] = urand() < 0.5 ? 1 + 0.1 * nrand() : 1000 + 50 * nrand();
	check_dist("bimodal", xs, n);
	for (i = 0; i < n; i++)
		xs[i] = 42.125;
	check_dist("constant", xs, n);
	for (i = 0; i < n; i++) {
		double u = urand();
		xs[i] = u < 0.3 ? 0 : u < 0.6 ? 1 + 99 * urand() : 1e-3 + 1e3 * urand();
	}
	check_dist("zeros and a wide spread", xs, n);
	for (i = 0; i < n; i++)
		xs[i] = exp(3 * nrand()); /* lognormal, sigma 3: ~9 decades */
	check_dist("very wide", xs, n);
	for (i = 0; i < n; i++)
		xs[i] = (double)(i % 7) * 1e-6; /* tiny, with zeros */
	check_dist("tiny", xs, n);
	/* the bound the header states */
	if (!(worst_err <= 0.0079))
		FAIL("worst relative error %.5f exceeds 0.78%%", worst_err);
	free(xs);
}

static int64_t fake_ms;
static int64_t fake_clock(void)
{
	return fake_ms;
}

TEST(summary_window_forgets_old_observations)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	sonde_summary *s;
	int i;
	int64_t (*saved_clock)(void) = sonde__summary_clock_ms;

	sonde__summary_clock_ms = fake_clock;
	fake_ms = 1000000; /* slot = 2 s */
	sonde_metric_opts_init(&o, SONDE_TYPE_SUMMARY, "win", "W.");
	o.max_age_seconds = 10;
	o.age_buckets = 5;
	s = (sonde_summary *)sonde__family_child(sonde_family_new(r, &o), SONDE_TYPE_SUMMARY, 0,
	                                         NULL, NULL);
	ASSERT_NOT_NULL(s);
	ASSERT_TRUE(isnan(sonde_summary_quantile(s, 0.5))); /* empty: NaN */
	for (i = 0; i < 100; i++)
		sonde_summary_observe(s, 1);
	fake_ms += 5000;
	ASSERT_NEAR(sonde_summary_quantile(s, 0.5), 1, 0.01);
	for (i = 0; i < 300; i++)
		sonde_summary_observe(s, 5);
	ASSERT_NEAR(sonde_summary_quantile(s, 0.1), 1, 0.01); /* both in the window */
	fake_ms += 6000; /* the first slot has left the window */
	ASSERT_NEAR(sonde_summary_quantile(s, 0.0), 5, 0.05);
	ASSERT_NEAR(sonde_summary_quantile(s, 0.5), 5, 0.05);
	fake_ms += 10000; /* everything has left */
	ASSERT_TRUE(isnan(sonde_summary_quantile(s, 0.5)));
	/* lifetime count and sum stay */
	ASSERT_EQ_U64(sonde_summary_count(s), 400);
	ASSERT_EQ_DBL(sonde_summary_sum(s), 100 + 1500);
	/* a slot reused after a full turn starts empty */
	sonde_summary_observe(s, 7);
	ASSERT_NEAR(sonde_summary_quantile(s, 0.0), 7, 0.07);
	ASSERT_NEAR(sonde_summary_quantile(s, 1.0), 7, 0.07);
	ASSERT_TRUE(isnan(sonde_summary_quantile(s, 1.5)));
	sonde__summary_clock_ms = saved_clock;
	sonde_registry_free(r);
}

static sonde_summary *shared;
static void *observer(void *arg)
{
	long id = (long)arg;
	int i;
	for (i = 0; i < 50000; i++)
		sonde_summary_observe(shared, (double)(id * 1000 + i % 1000 + 1));
	return NULL;
}

TEST_TIMEOUT(summary_threads_and_thread_exit, 60)
{
	sonde_registry *r = sonde_registry_new();
	pthread_t t[4];
	long i;
	double q;

	shared = sonde_summary_new(r, "thr", "T.");
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, observer, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ_U64(sonde_summary_count(shared), 200000);
	/* values 1..4000 evenly: the median is ~2000 */
	q = sonde_summary_quantile(shared, 0.5);
	ASSERT_TRUE(fabs(q - 2000) / 2000 < 0.01);
	/* new threads adopt the exited threads' blocks: still exact */
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, observer, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ_U64(sonde_summary_count(shared), 400000);
	sonde_registry_free(r);
}

TEST(summary_exposition_and_parsers)
{
	sonde_registry *r = sonde_registry_new();
	const char *l[] = {"route"};
	sonde_family *f = sonde_summary_family_new(r, "rpc_duration_seconds", "RPC latency.", 1, l);
	sonde_summary *a = sonde_summary_with(f, "/a");
	sonde_buf b = SONDE_BUF_INIT;
	char *out = NULL;
	int i, rc;

	ASSERT_NOT_NULL(sonde_summary_with(f, "/empty"));
	for (i = 1; i <= 1000; i++)
		sonde_summary_observe(a, i / 1000.0);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "# TYPE rpc_duration_seconds summary\n");
	ASSERT_CONTAINS(b.data, "rpc_duration_seconds{route=\"/a\",quantile=\"0.5\"} ");
	ASSERT_CONTAINS(b.data, "rpc_duration_seconds{route=\"/a\",quantile=\"0.99\"} ");
	ASSERT_CONTAINS(b.data, "rpc_duration_seconds_count{route=\"/a\"} 1000\n");
	ASSERT_CONTAINS(b.data, "rpc_duration_seconds{route=\"/empty\",quantile=\"0.9\"} NaN\n");
	{
		const char *argv[] = {"promtool", "check", "metrics", NULL};
		rc = sonde_test_run(argv, sonde_test_tmpfile(0, b.data, b.len), &out);
		if (rc != 0)
			FAIL("promtool exit %d: %s\n%s", rc, out, b.data);
		free(out);
	}
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	{
		const char *check =
		        "import sys, math\n"
		        "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
		        "f = {x.name: x for x in p(open(sys.argv[1]).read())}['rpc_duration_seconds']\n"
		        "assert f.type == 'summary'\n"
		        "v = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples}\n"
		        "m = v[('rpc_duration_seconds', (('quantile', '0.5'), ('route', '/a')))]\n"
		        "assert abs(m - 0.5) / 0.5 < 0.01, m\n"
		        "assert v[('rpc_duration_seconds_count', (('route', '/a'),))] == 1000\n"
		        "assert abs(v[('rpc_duration_seconds_sum', (('route', '/a'),))] - 500.5) < 1e-9\n"
		        "assert math.isnan(v[('rpc_duration_seconds', (('quantile', '0.99'), ('route', '/empty')))])\n"
		        "print('summary ok')\n";
		const char *argv[] = {SONDE_PYTHON, "-c", check, NULL, NULL};
		argv[3] = sonde_test_tmpfile(1, b.data, b.len);
		rc = sonde_test_run(argv, NULL, &out);
		if (rc != 0)
			FAIL("OM parser exit %d: %s\n%s", rc, out, b.data);
		ASSERT_CONTAINS(out, "summary ok");
		free(out);
	}
	/* removal: the old handle is discarded */
	ASSERT_OK(sonde_family_remove(f, 1, (const char *[]){"/a"}, NULL));
	sonde_summary_observe(a, 1);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_NOT_CONTAINS(b.data, "route=\"/a\"");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(summary_validation)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	const double bad1[] = {0.5, 0.5};
	const double bad2[] = {0.5, 1.5};
	const double ok[] = {0.1, 0.5};
	const char *q[] = {"quantile"};

	sonde_metric_opts_init(&o, SONDE_TYPE_SUMMARY, "s1", "S.");
	o.quantiles = bad1;
	o.quantile_count = 2;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.quantiles = bad2;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.quantiles = ok;
	o.age_buckets = 17;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.age_buckets = 3;
	o.max_age_seconds = -1;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.max_age_seconds = 60;
	ASSERT_NOT_NULL(sonde_family_new(r, &o));
	ASSERT_NULL(sonde_summary_family_new(r, "s2", "S.", 1, q));
	ASSERT_CONTAINS(sonde_last_error(), "quantile");
	sonde_summary_observe(NULL, 1);
	ASSERT_TRUE(isnan(sonde_summary_quantile(NULL, 0.5)));
	ASSERT_EQ_U64(sonde_summary_count(NULL), 0);
	sonde_registry_free(r);
}

/* Issue 13.11: a negative observation made the summary's _sum and
 * quantiles negative, and the official OpenMetrics parser rejected the
 * whole page. Negative and NaN observations are refused and counted. */
TEST(summary_refuses_negative_and_nan_observations)
{
	sonde_summary *s = sonde_summary_new(NULL, "sz_bytes", "S.");
	sonde_buf b = SONDE_BUF_INIT;

	ASSERT_NOT_NULL(s);
	sonde_summary_observe(s, -0.001);
	sonde_summary_observe(s, -INFINITY);
	sonde_summary_observe(s, NAN);
	sonde_summary_observe(s, -0.0); /* not negative: a zero */
	sonde_summary_observe(s, 2);
	ASSERT_EQ_U64(sonde_summary_count(s), 2);
	ASSERT_EQ_DBL(sonde_summary_sum(s), 2);
	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(
	        b.data,
	        "sonde_rejected_values_total{metric_type=\"summary\",reason=\"negative\"} 2\n");
	ASSERT_CONTAINS(b.data,
	                "sonde_rejected_values_total{metric_type=\"summary\",reason=\"nan\"} 1\n");
	sonde_buf_destroy(&b);
}

/* Issue 13.9: bucket counts were 32-bit per thread and slot, and wrapped
 * at 2^32 observations: a median of 1 read 2.0156 after the wrap. */
TEST(summary_counts_do_not_wrap_at_2_pow_32)
{
	sonde_registry *r = sonde_registry_new();
	sonde_summary *s = sonde_summary_new(r, "many", "M.");
	double q = 0.5, med;
	uint64_t big = ((uint64_t)1 << 32) + 5;

	sonde__summary_observe_n(s, 1.0, big);
	sonde__summary_observe_n(s, 2.0, 1000);
	ASSERT_EQ_U64(sonde_summary_count(s), big + 1000);
	med = sonde_summary_quantile(s, q);
	if (!(fabs(med - 1.0) <= 0.0079))
		FAIL("median %.6f, want 1 within 0.78%%", med);
	ASSERT_NEAR(sonde_summary_quantile(s, 1.0), 2.0, 2.0 * 0.0079);
	sonde_registry_free(r);
}
