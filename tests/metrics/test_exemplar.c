/* tests/metrics/test_exemplar.c - OpenMetrics exemplars on counters and buckets. */
#include <pthread.h>

#include "metrics/metrics-int.h"
#include "test.h"

static sonde_span_context ctx_of(uint8_t t, uint8_t s)
{
	sonde_span_context c;
	memset(&c, 0, sizeof(c));
	memset(c.trace_id, t, 16);
	memset(c.span_id, s, 8);
	c.trace_flags = SONDE_TRACE_FLAG_SAMPLED;
	return c;
}

TEST(exemplar_counter_and_buckets_from_current_context)
{
	sonde_registry *r = sonde_registry_new();
	const double bounds[] = {0.1, 1};
	sonde_counter *c = sonde_counter_new(r, "ex_requests_total", "R.");
	sonde_histogram *h = sonde_histogram_new(r, "ex_latency_seconds", "L.", bounds, 2);
	sonde_buf b = SONDE_BUF_INIT;
	sonde_span_context ctx = ctx_of(0xab, 0x12);
	sonde_context_scope scope;

	sonde_counter_add_exemplar(c, 1, NULL); /* no context: counted, no exemplar */
	sonde_context_attach(&scope, &ctx);
	sonde_counter_add_exemplar(c, 2, NULL);
	sonde_histogram_observe_exemplar(h, 0.5, NULL);
	ASSERT_OK(sonde_context_detach(&scope));
	ASSERT_EQ_DBL(sonde_counter_value(c), 3);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data,
	                "ex_requests_total 3 # {trace_id=\"abababababababababababababababab\","
	                "span_id=\"1212121212121212\"} 2 ");
	ASSERT_CONTAINS(b.data, "ex_latency_seconds_bucket{le=\"0.1\"} 0\n");
	ASSERT_CONTAINS(b.data, "ex_latency_seconds_bucket{le=\"1.0\"} 1 # {trace_id=\"abab");
	ASSERT_CONTAINS(b.data, "ex_latency_seconds_bucket{le=\"+Inf\"} 1\n");
	/* the text format has no exemplars */
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_NOT_CONTAINS(b.data, "trace_id");
	/* an explicit context */
	ctx = ctx_of(0xcd, 0x34);
	sonde_histogram_observe_exemplar(h, 7, &ctx);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "ex_latency_seconds_bucket{le=\"+Inf\"} 2 # {trace_id=\"cdcd");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(exemplar_label_limit_and_validation)
{
	sonde_registry *r = sonde_registry_new();
	sonde_counter *c = sonde_counter_new(r, "ex_total", "E.");
	char big[130];
	const char *names[] = {"user"};
	const char *vals[] = {big};
	const char *bad[] = {"__x"};
	sonde_buf b = SONDE_BUF_INIT;

	memset(big, 'x', 124);
	big[124] = '\0'; /* "user" + 124 = 128 code points: allowed */
	ASSERT_OK(sonde_counter_add_exemplar_labels(c, 1, 1, names, vals));
	big[124] = 'y';
	big[125] = '\0'; /* 129 */
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(c, 1, 1, names, vals), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "128");
	ASSERT_EQ_DBL(sonde_counter_value(c), 1); /* refused: not counted */
	/* code points, not bytes: 64 two-byte characters are 64 */
	{
		char utf[200];
		int i;
		for (i = 0; i < 60; i++) {
			utf[2 * i] = (char)0xc3;
			utf[2 * i + 1] = (char)0xa9;
		}
		utf[120] = '\0';
		vals[0] = utf;
		ASSERT_OK(sonde_counter_add_exemplar_labels(c, 1, 1, names, vals));
	}
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(c, 1, 1, bad, vals), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(c, -1, 1, names, vals), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(NULL, 1, 1, names, vals), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(c, 1, 1, NULL, vals), SONDE_EINVAL);
	sonde_counter_add_exemplar(NULL, 1, NULL);
	sonde_histogram_observe_exemplar(NULL, 1, NULL);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "ex_total 2 # {user=\"\xc3\xa9");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(exemplar_python_openmetrics_parser)
{
	sonde_registry *r = sonde_registry_new();
	sonde_counter *c = sonde_counter_new(r, "pex_total", "P.");
	sonde_histogram *h = sonde_histogram_new(r, "pex_seconds", "P.", NULL, 0);
	sonde_span_context ctx = ctx_of(0x01, 0x02);
	sonde_buf b = SONDE_BUF_INIT;
	const char *check =
	        "import sys\n"
	        "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
	        "n = 0\n"
	        "for f in p(open(sys.argv[1]).read()):\n"
	        "    for s in f.samples:\n"
	        "        if s.exemplar:\n"
	        "            assert s.exemplar.labels == {'trace_id': '01'*16, 'span_id': '02'*8}, s\n"
	        "            n += 1\n"
	        "            if s.name == 'pex_total': assert s.exemplar.value == 4, s\n"
	        "            else: assert s.labels['le'] == '0.5' and s.exemplar.value == 0.3, s\n"
	        "assert n == 2, n\n"
	        "print('exemplars ok')\n";
	const char *argv[] = {SONDE_PYTHON, "-c", check, NULL, NULL};
	char *out = NULL;
	int rc;

	sonde_counter_add_exemplar(c, 4, &ctx);
	sonde_histogram_observe_exemplar(h, 0.3, &ctx);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	argv[3] = sonde_test_tmpfile(0, b.data, b.len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("parser exit %d: %s\n%s", rc, out, b.data);
	ASSERT_CONTAINS(out, "exemplars ok");
	free(out);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

static sonde_histogram *eh;
static void *ex_writer(void *arg)
{
	sonde_span_context ctx = ctx_of((uint8_t)(uintptr_t)arg, 7);
	int i;
	for (i = 0; i < 20000; i++)
		sonde_histogram_observe_exemplar(eh, (i % 3) * 0.4, &ctx);
	return NULL;
}

TEST_TIMEOUT(exemplar_concurrent_writers_and_scrapes, 60)
{
	sonde_registry *r = sonde_registry_new();
	const double bounds[] = {0.1, 0.5, 1};
	sonde_buf b = SONDE_BUF_INIT;
	pthread_t t[3];
	int i, scrapes = 0;

	eh = sonde_histogram_new(r, "cex_seconds", "C.", bounds, 3);
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, ex_writer, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < 50; i++, scrapes++) {
		ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
		/* every exemplar seen is whole: a trace id of one repeated byte */
		const char *p = b.data;
		while ((p = strstr(p, "trace_id=\"")) != NULL) {
			p += 10;
			for (int k = 1; k < 32; k++)
				if (p[k] != p[k % 2])
					FAIL("torn exemplar: %.40s", p);
		}
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ_U64(sonde_histogram_count(eh), 60000);
	ASSERT_TRUE(scrapes == 50);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(exemplar_from_sampled_span_histogram)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_span span;
	char hex[33];

	ASSERT_OK(sonde_trace_enable_span_metrics(r, NULL));
	sonde_span_start(&span, "checkout");
	sonde_id_to_hex(sonde_span_get_context(&span)->trace_id, 16, hex);
	sonde_span_end(&span);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "span_duration_seconds_count{name=\"checkout\",status=\"ok\"} 1\n");
	ASSERT_CONTAINS(b.data, hex);
	sonde_buf_destroy(&b);
	ASSERT_OK(sonde_trace_set_span_histogram(NULL));
	sonde_registry_free(r);
}

/* Issue 13.12: 200 lone continuation bytes counted as 0 code points but
 * were written as 200 U+FFFD, and the parser rejected the page for an
 * exemplar over 128 code points. Exemplar label values must be UTF-8, as
 * a child's label values: invalid ones are refused with EINVAL, and the
 * page stays valid for the official parser. */
TEST(exemplar_invalid_utf8_is_refused_not_multiplied)
{
	sonde_registry *r = sonde_registry_new();
	sonde_counter *c = sonde_counter_new(r, "ex_total", "E.");
	char cont[201];
	const char *names[] = {"user"};
	const char *vals[] = {cont};
	sonde_buf b = SONDE_BUF_INIT;
	const char *argv[] = {
	        SONDE_PYTHON, "-c",
	        "import sys\nfrom prometheus_client.openmetrics.parser import "
	        "text_string_to_metric_families as p\nlist(p(open(sys.argv[1]).read()))\n"
	        "print('om ok')\n",
	        NULL, NULL};
	char *out = NULL;
	int rc;

	memset(cont, 0x80, 200);
	cont[200] = '\0';
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(c, 1, 1, names, vals), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "not valid UTF-8");
	vals[0] = "\xff";
	ASSERT_EQ_INT(sonde_counter_add_exemplar_labels(c, 1, 1, names, vals), SONDE_EINVAL);
	ASSERT_EQ_DBL(sonde_counter_value(c), 0); /* refused: not counted */
	vals[0] = "ok";
	ASSERT_OK(sonde_counter_add_exemplar_labels(c, 1, 1, names, vals));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	argv[3] = sonde_test_tmpfile(0, b.data, b.len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("parser exit %d:\n%s\n%s", rc, out, b.data);
	free(out);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}
