/* tests/expose/test_expose.c - the text format 0.0.4: exact output, escaping,
 * and the real parsers (promtool, prometheus_client) reading it back. */
#include "metrics/metrics-int.h"
#include "test.h"

static const char *expose(sonde_registry *r, sonde_buf *b)
{
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, b));
	ASSERT_EQ_INT(strlen(b->data), b->len);
	return b->data;
}

TEST(expose_exact_text)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	const char *l[] = {"method", "code"};
	const double bounds[] = {0.1, 0.5, 1};
	sonde_family *f =
	        sonde_counter_family_new(r, "http_requests_total", "Requests served.", 2, l);
	sonde_histogram *h = sonde_histogram_new(r, "a_latency_seconds", "Latency.", bounds, 3);
	sonde_gauge *g = sonde_gauge_new(r, "in_flight", "In flight.");

	sonde_counter_add(sonde_counter_with(f, "GET", "200"), 3);
	sonde_counter_add(sonde_counter_with(f, "POST", "500"), 0.5);
	sonde_histogram_observe(h, 0.05);
	sonde_histogram_observe(h, 0.7);
	sonde_histogram_observe(h, 3);
	sonde_gauge_set(g, -2.5);
	ASSERT_STREQ(expose(r, &b), "# HELP a_latency_seconds Latency.\n"
	                            "# TYPE a_latency_seconds histogram\n"
	                            "a_latency_seconds_bucket{le=\"0.1\"} 1\n"
	                            "a_latency_seconds_bucket{le=\"0.5\"} 1\n"
	                            "a_latency_seconds_bucket{le=\"1\"} 2\n"
	                            "a_latency_seconds_bucket{le=\"+Inf\"} 3\n"
	                            "a_latency_seconds_sum 3.75\n"
	                            "a_latency_seconds_count 3\n"
	                            "# HELP http_requests_total Requests served.\n"
	                            "# TYPE http_requests_total counter\n"
	                            "http_requests_total{method=\"GET\",code=\"200\"} 3\n"
	                            "http_requests_total{method=\"POST\",code=\"500\"} 0.5\n"
	                            "# HELP in_flight In flight.\n"
	                            "# TYPE in_flight gauge\n"
	                            "in_flight -2.5\n");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(expose_escaping_and_special_values)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	const char *l[] = {"v"};
	sonde_family *f = sonde_gauge_family_new(
	        r, "esc", "Help with \\ backslash\nnewline and \"quotes\".", 1, l);

	sonde_gauge_set(sonde_gauge_with(f, "a\"b\\c\nd"), NAN);
	/* invalid UTF-8 is refused, never written as U+FFFD (issue 13.7) */
	ASSERT_TRUE(sonde_gauge_with(f, "bad\xff utf8 \xe2\x82") == NULL);
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	sonde_gauge_set(sonde_gauge_with(f, "caf\xc3\xa9 \xe2\x82\xac"), -INFINITY);
	sonde_gauge_set(sonde_gauge_with(f, ""), 1e-7);
	expose(r, &b);
	ASSERT_CONTAINS(b.data, "# HELP esc Help with \\\\ backslash\\nnewline and \"quotes\".\n");
	ASSERT_CONTAINS(b.data, "esc{v=\"a\\\"b\\\\c\\nd\"} NaN\n");
	ASSERT_TRUE(strstr(b.data, "bad") == NULL);
	ASSERT_CONTAINS(b.data, "esc{v=\"caf\xc3\xa9 \xe2\x82\xac\"} -Inf\n");
	ASSERT_CONTAINS(b.data, "esc{v=\"\"} 1e-07\n");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(expose_empty_families_and_registry)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	const char *l[] = {"x"};

	ASSERT_STREQ(expose(r, &b), "");
	ASSERT_NOT_NULL(sonde_counter_family_new(r, "none_total", "No children.", 1, l));
	ASSERT_STREQ(expose(r, &b), "");
	ASSERT_EQ_INT(sonde_expose(r, (sonde_format)7, &b), SONDE_EINVAL);
	ASSERT_STREQ(sonde_format_content_type(SONDE_FORMAT_TEXT),
	             "text/plain; version=0.0.4; charset=utf-8");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(expose_default_registry_has_self_metrics)
{
	sonde_buf b = SONDE_BUF_INIT;
	sonde_counter *c = sonde_counter_new(NULL, "selftest_total", "x");

	sonde_counter_add(c, -5);
	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "# TYPE sonde_rejected_values_total counter\n");
	ASSERT_CONTAINS(
	        b.data,
	        "sonde_rejected_values_total{metric_type=\"counter\",reason=\"negative\"} 1\n");
	ASSERT_CONTAINS(b.data, "sonde_children_rejected_total{reason=\"cardinality_limit\"} 0\n");
	ASSERT_CONTAINS(b.data, "selftest_total 0\n");
	sonde_buf_destroy(&b);
}

/* A registry with every shape the exposition has, and the samples it must
 * produce, for the external parsers. */
static sonde_registry *zoo(sonde_buf *expected)
{
	sonde_registry *r = sonde_registry_new();
	const char *l2[] = {"method", "path"};
	const char *l1[] = {"v"};
	const double bounds[] = {0.005, 0.25, 1, 2.5, 100000, 1e6};
	sonde_family *req = sonde_counter_family_new(r, "zoo_requests_total",
	                                             "Requests, with \\ and\nnewline.", 2, l2);
	sonde_family *g = sonde_gauge_family_new(r, "zoo_values", "Odd values.", 1, l1);
	sonde_histogram *h =
	        sonde_histogram_new(r, "zoo_duration_seconds", "Durations.", bounds, 6);
	sonde_family *hf =
	        sonde_histogram_family_new(r, "zoo_size_bytes", "Sizes.", NULL, 0, 1, l1);
	sonde_counter *frac = sonde_counter_new(r, "zoo_fraction_total", "Fractions.");
	char line[512];
	int i;

	sonde_counter_add(sonde_counter_with(req, "GET", "/a\"b"), 12);
	sonde_counter_add(sonde_counter_with(req, "POST", "back\\slash\nnl"), 3);
	sonde_counter_add(sonde_counter_with(req, "PUT", "caf\xc3\xa9"), 1e15);
	for (i = 0; i < 10; i++)
		sonde_counter_add(frac, 0.1);
	sonde_gauge_set(sonde_gauge_with(g, "tiny"), 1.5e-300);
	sonde_gauge_set(sonde_gauge_with(g, "huge"), -1.7976931348623157e308);
	sonde_gauge_set(sonde_gauge_with(g, "third"), 1.0 / 3);
	sonde_gauge_set(sonde_gauge_with(g, "inf"), INFINITY);
	sonde_gauge_set(sonde_gauge_with(g, "nan"), NAN);
	sonde_histogram_observe(h, 0.001);
	sonde_histogram_observe(h, 0.3);
	sonde_histogram_observe(h, 2);
	sonde_histogram_observe(h, 5e6);
	sonde_histogram_observe(sonde_histogram_with(hf, "x"), 0.01);

#define W(...)                                             \
	do {                                               \
		snprintf(line, sizeof(line), __VA_ARGS__); \
		sonde__buf_puts(expected, line);           \
	} while (0)
	W("zoo_requests_total\t{\"method\": \"GET\", \"path\": \"/a\\\"b\"}\t12\n");
	W("zoo_requests_total\t{\"method\": \"POST\", \"path\": \"back\\\\slash\\nnl\"}\t3\n");
	W("zoo_requests_total\t{\"method\": \"PUT\", \"path\": \"caf\\u00e9\"}\t1e15\n");
	W("zoo_fraction_total\t{}\t%.17g\n",
	  0.1 * 1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1 + 0.1);
	W("zoo_values\t{\"v\": \"tiny\"}\t1.5e-300\n");
	W("zoo_values\t{\"v\": \"huge\"}\t-1.7976931348623157e308\n");
	W("zoo_values\t{\"v\": \"third\"}\t%.17g\n", 1.0 / 3);
	W("zoo_values\t{\"v\": \"inf\"}\tinf\n");
	W("zoo_values\t{\"v\": \"nan\"}\tnan\n");
	{
		const char *les[] = {"0.005", "0.25", "1", "2.5", "100000", "1000000", "+Inf"};
		const int cum[] = {1, 1, 2, 3, 3, 3, 4};
		for (i = 0; i < 7; i++)
			W("zoo_duration_seconds_bucket\t{\"le\": \"%s\"}\t%d\n", les[i], cum[i]);
	}
	W("zoo_duration_seconds_sum\t{}\t%.17g\n", 0.001 + 0.3 + 2 + 5e6);
	W("zoo_duration_seconds_count\t{}\t4\n");
	{
		const char *les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
		                     "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
		for (i = 0; i < 12; i++)
			W("zoo_size_bytes_bucket\t{\"v\": \"x\", \"le\": \"%s\"}\t%d\n", les[i],
			  i == 0 ? 0 : 1);
	}
	W("zoo_size_bytes_sum\t{\"v\": \"x\"}\t0.01\n");
	W("zoo_size_bytes_count\t{\"v\": \"x\"}\t1\n");
#undef W
	sonde__buf_terminate(expected);
	return r;
}

TEST(expose_promtool_accepts)
{
	sonde_buf b = SONDE_BUF_INIT, want = SONDE_BUF_INIT;
	sonde_registry *r = zoo(&want);
	const char *argv[] = {"promtool", "check", "metrics", NULL};
	char *out = NULL;
	int rc;

	if (!sonde_test_have("promtool"))
		FAIL("promtool not found: apt-get install prometheus");
	expose(r, &b);
	rc = sonde_test_run(argv, sonde_test_tmpfile(0, b.data, b.len), &out);
	if (rc != 0)
		FAIL("promtool check metrics exit %d:\n%s\n--- input:\n%s", rc, out, b.data);
	free(out);
	sonde_buf_destroy(&b);
	sonde_buf_destroy(&want);
	sonde_registry_free(r);
}

TEST(expose_python_parser_reads_exact_values)
{
	sonde_buf b = SONDE_BUF_INIT, want = SONDE_BUF_INIT;
	sonde_registry *r = zoo(&want);
	const char *argv[] = {SONDE_PYTHON, SONDE_SRC_DIR "/tests/tools/check_text.py", NULL, NULL,
	                      NULL};
	char *out = NULL;
	int rc;

	expose(r, &b);
	argv[2] = sonde_test_tmpfile(0, b.data, b.len);
	argv[3] = sonde_test_tmpfile(1, want.data, want.len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("python parser check exit %d:\n%s\n--- input:\n%s", rc, out, b.data);
	ASSERT_CONTAINS(out, "0 problems");
	free(out);
	sonde_buf_destroy(&b);
	sonde_buf_destroy(&want);
	sonde_registry_free(r);
}

TEST(cxx_headers_compile_and_run)
{
	const char *argv[] = {SONDE_VARIANT_DIR "/cxx-test", NULL};
	char *out = NULL;
	int rc = sonde_test_run(argv, NULL, &out);

	if (rc != 0)
		FAIL("cxx-test exit %d:\n%s", rc, out);
	ASSERT_CONTAINS(out, "cxx ok");
	free(out);
}

TEST(expose_counter_integer_exact_above_2_53)
{
	sonde_registry *r = sonde_registry_new();
	sonde_counter *c = sonde_counter_new(r, "big_total", "B.");
	sonde_counter *f = sonde_counter_new(r, "frac_total", "F.");
	sonde_buf b = SONDE_BUF_INIT;

	sonde_counter_add_u64(c, 9007199254740993ull); /* 2^53 + 1: no double holds it */
	sonde_counter_add_u64(c, 1);
	sonde_counter_add_u64(f, 3);
	sonde_counter_add(f, 0.5);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "big_total 9007199254740994\n");
	ASSERT_CONTAINS(b.data, "frac_total 3.5\n");
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "big_total 9007199254740994\n");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* Issue 13.14: a gauge set to -0.0 was exposed as 0; client_golang (Go's
 * strconv) writes -0, and so do the OpenMetrics and text parsers' readers. */
TEST(expose_negative_zero_keeps_its_sign)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_gauge *g = sonde_gauge_new(r, "temp", "h");
	sonde_gauge *z = sonde_gauge_new(r, "zero", "h");

	sonde_gauge_set(g, -0.0);
	sonde_gauge_set(z, 0.0);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "\ntemp -0\n");
	ASSERT_CONTAINS(b.data, "\nzero 0\n");
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "\ntemp -0\n");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}
