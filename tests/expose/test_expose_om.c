/* tests/expose/test_expose_om.c - OpenMetrics 1.0 output, negotiation, gzip. */
#ifdef SONDE_HAVE_ZLIB
#include <zlib.h>
#endif

#include "metrics/metrics-int.h"
#include "test.h"

TEST(om_exact_output)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_metric_opts o;
	const char *l[] = {"code"};
	const double bounds[] = {0.5, 1, 1e6};
	sonde_family *f;
	sonde_counter *c;
	sonde_histogram *h;
	char want[2048];

	ASSERT_OK(sonde_registry_set_created(r, true));
	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "req_duration_seconds",
	                       "Duration \"quoted\".");
	o.unit = "seconds";
	o.buckets = bounds;
	o.bucket_count = 3;
	f = sonde_family_new(r, &o);
	ASSERT_NOT_NULL(f);
	h = sonde_histogram_labels(f, 0, NULL, NULL);
	sonde_histogram_observe(h, 0.25);
	sonde_histogram_observe(h, 2);
	c = sonde_counter_with(sonde_counter_family_new(r, "jobs_total", "Jobs.", 1, l), "200");
	sonde_counter_add(c, 7);
	sonde_gauge_set(sonde_gauge_new(r, "temp", "T."), 0.5);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	/* created timestamps are checked for value below; blank them here */
	snprintf(want, sizeof(want),
	         "# TYPE jobs counter\n"
	         "# HELP jobs Jobs.\n"
	         "jobs_total{code=\"200\"} 7\n"
	         "jobs_created{code=\"200\"} C\n"
	         "# TYPE req_duration_seconds histogram\n"
	         "# UNIT req_duration_seconds seconds\n"
	         "# HELP req_duration_seconds Duration \\\"quoted\\\".\n"
	         "req_duration_seconds_bucket{le=\"0.5\"} 1\n"
	         "req_duration_seconds_bucket{le=\"1.0\"} 1\n"
	         "req_duration_seconds_bucket{le=\"1e+06\"} 2\n"
	         "req_duration_seconds_bucket{le=\"+Inf\"} 2\n"
	         "req_duration_seconds_sum 2.25\n"
	         "req_duration_seconds_count 2\n"
	         "req_duration_seconds_created C\n"
	         "# TYPE temp gauge\n"
	         "# HELP temp T.\n"
	         "temp 0.5\n"
	         "# EOF\n");
	{
		/* each _created line: check its value is now, then write C */
		char got[2048], *line, *save = NULL;
		size_t n = 0;
		for (line = strtok_r(b.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *sp = strrchr(line, ' ');
			if (strstr(line, "_created") && sp) {
				if (fabs(strtod(sp + 1, NULL) - (double)sonde_now_unix_ns() / 1e9) >
				    60)
					FAIL("created value %s is not now", sp + 1);
				sp[1] = 'C';
				sp[2] = '\0';
			}
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s\n", line);
		}
		ASSERT_STREQ(got, want);
	}
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(om_unit_must_match_name)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, SONDE_TYPE_GAUGE, "size", "S.");
	o.unit = "bytes";
	ASSERT_NULL(sonde_family_new(r, &o));
	ASSERT_CONTAINS(sonde_last_error(), "suffix");
	sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, "sent_bytes_total", "S.");
	o.unit = "bytes";
	ASSERT_NOT_NULL(sonde_family_new(r, &o));
	sonde_registry_free(r);
}

static sonde_registry *om_zoo(void)
{
	sonde_registry *r = sonde_registry_new();

	if (sonde_registry_set_created(r, true) != SONDE_OK)
		FAIL("set_created");
	const char *l[] = {"path"};
	sonde_family *req = sonde_counter_family_new(r, "om_requests_total",
	                                             "Requests \"with\" \\ and\nnewline.", 1, l);
	sonde_counter *plain = sonde_counter_new(r, "om_events", "A counter without _total.");
	sonde_histogram *h = sonde_histogram_new(r, "om_latency_seconds", "Latency.", NULL, 0);
	sonde_gauge *g = sonde_gauge_new(r, "om_temperature", "Temp.");

	sonde_counter_add(sonde_counter_with(req, "/a\"b\\c\nd"), 5);
	sonde_counter_add(sonde_counter_with(req, "caf\xc3\xa9"), 0.25);
	sonde_counter_add(plain, 3);
	sonde_histogram_observe(h, 0.003);
	sonde_histogram_observe(h, 0.7);
	sonde_histogram_observe(h, 70);
	sonde_gauge_set(g, -1e-300);
	return r;
}

TEST(om_python_parser_accepts_and_reads_values)
{
	sonde_buf b = SONDE_BUF_INIT;
	sonde_registry *r = om_zoo();
	const char *check =
	        "import sys, math\n"
	        "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
	        "fams = {f.name: f for f in p(open(sys.argv[1]).read())}\n"
	        "s = lambda n: {(x.name, tuple(sorted(x.labels.items()))): x.value for x in fams[n].samples}\n"
	        "assert fams['om_requests'].type == 'counter'\n"
	        "assert fams['om_requests'].documentation == 'Requests \"with\" \\\\ and\\nnewline.', fams['om_requests'].documentation\n"
	        "r = s('om_requests')\n"
	        "assert r[('om_requests_total', (('path', '/a\"b\\\\c\\nd'),))] == 5, r\n"
	        "assert r[('om_requests_total', (('path', 'caf\\u00e9'),))] == 0.25, r\n"
	        "assert s('om_events')[('om_events_total', ())] == 3\n"
	        "h = s('om_latency_seconds')\n"
	        "assert h[('om_latency_seconds_bucket', (('le', '0.005'),))] == 1, h\n"
	        "assert h[('om_latency_seconds_bucket', (('le', '1.0'),))] == 2, h\n"
	        "assert h[('om_latency_seconds_bucket', (('le', '10.0'),))] == 2, h\n"
	        "assert h[('om_latency_seconds_bucket', (('le', '+Inf'),))] == 3, h\n"
	        "assert h[('om_latency_seconds_count', ())] == 3\n"
	        "assert h[('om_latency_seconds_sum', ())] == 0.003 + 0.7 + 70, h\n"
	        "assert abs(h[('om_latency_seconds_created', ())] - __import__('time').time()) < 60\n"
	        "assert s('om_temperature')[('om_temperature', ())] == -1e-300\n"
	        "print('om ok')\n";
	const char *argv[] = {SONDE_PYTHON, "-c", check, NULL, NULL};
	char *out = NULL;
	int rc;

	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	argv[3] = sonde_test_tmpfile(0, b.data, b.len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("OpenMetrics parser check exit %d:\n%s\n--- input:\n%s", rc, out, b.data);
	ASSERT_CONTAINS(out, "om ok");
	free(out);
	/* the default registry (self-metrics included) parses too */
	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_OPENMETRICS, &b));
	{
		const char *argv2[] = {
		        SONDE_PYTHON, "-c",
		        "import sys\nfrom prometheus_client.openmetrics.parser import "
		        "text_string_to_metric_families as p\n"
		        "n = sum(len(f.samples) for f in p(open(sys.argv[1]).read()))\n"
		        "print('samples', n)\n",
		        NULL, NULL};
		argv2[3] = sonde_test_tmpfile(1, b.data, b.len);
		rc = sonde_test_run(argv2, NULL, &out);
		if (rc != 0)
			FAIL("default registry OM parse exit %d:\n%s\n%s", rc, out, b.data);
		free(out);
	}
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

static sonde_format neg(const char *accept, const char **ct)
{
	sonde_format f;
	ASSERT_OK(sonde_expose_negotiate(accept, SIZE_MAX, &f, ct));
	return f;
}

TEST(negotiate_accept_header)
{
	const char *ct;

	/* what Prometheus 2.42 sends */
	ASSERT_EQ_INT(neg("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
	                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
	                  &ct),
	              SONDE_FORMAT_OPENMETRICS);
	ASSERT_STREQ(ct, "application/openmetrics-text; version=1.0.0; charset=utf-8");
	/* with native histograms protobuf first: served since issue 17 */
	ASSERT_EQ_INT(
	        neg("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
	            "encoding=delimited;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8,"
	            "text/plain;version=0.0.4;q=0.3",
	            &ct),
	        SONDE_FORMAT_PROTOBUF);
	/* a protobuf encoding sonde does not serve is skipped */
	ASSERT_EQ_INT(
	        neg("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
	            "encoding=compact-text;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8",
	            &ct),
	        SONDE_FORMAT_OPENMETRICS);
	ASSERT_EQ_INT(neg("application/openmetrics-text; version=0.0.1", &ct),
	              SONDE_FORMAT_OPENMETRICS);
	ASSERT_STREQ(ct, "application/openmetrics-text; version=0.0.1; charset=utf-8");
	ASSERT_EQ_INT(neg("Application/OpenMetrics-Text", &ct), SONDE_FORMAT_OPENMETRICS);
	/* q ordering: text preferred */
	ASSERT_EQ_INT(neg("application/openmetrics-text;q=0.5, text/plain;q=0.9", &ct),
	              SONDE_FORMAT_TEXT);
	/* q=0 refuses; unknown versions are skipped */
	ASSERT_EQ_INT(neg("application/openmetrics-text;q=0", &ct), SONDE_FORMAT_TEXT);
	ASSERT_EQ_INT(neg("application/openmetrics-text;version=2.0.0", &ct), SONDE_FORMAT_TEXT);
	ASSERT_EQ_INT(neg("*/*", &ct), SONDE_FORMAT_TEXT);
	ASSERT_STREQ(ct, "text/plain; version=0.0.4; charset=utf-8");
	ASSERT_EQ_INT(neg("", &ct), SONDE_FORMAT_TEXT);
	ASSERT_EQ_INT(neg(NULL, &ct), SONDE_FORMAT_TEXT);
	ASSERT_EQ_INT(neg(";;;,,,=;q=;version", &ct), SONDE_FORMAT_TEXT);
	ASSERT_EQ_INT(neg("application/openmetrics-text;q=abc", &ct), SONDE_FORMAT_TEXT);
	ASSERT_EQ_INT(sonde_expose_negotiate("x", 1, NULL, NULL), SONDE_EINVAL);
	/* length-bounded: the OM part beyond len is not read */
	{
		const char *s = "text/plain,application/openmetrics-text";
		sonde_format f;
		ASSERT_OK(sonde_expose_negotiate(s + 11, 28, &f, NULL));
		ASSERT_EQ_INT(f, SONDE_FORMAT_OPENMETRICS);
		ASSERT_OK(sonde_expose_negotiate(s, 10, &f, NULL));
		ASSERT_EQ_INT(f, SONDE_FORMAT_TEXT);
	}
}

TEST(negotiate_accept_encoding)
{
	ASSERT_TRUE(sonde_accepts_gzip("gzip", SIZE_MAX));
	ASSERT_TRUE(sonde_accepts_gzip("deflate, gzip;q=0.8, br", SIZE_MAX));
	ASSERT_TRUE(sonde_accepts_gzip("*", SIZE_MAX));
	ASSERT_TRUE(sonde_accepts_gzip("GZIP", SIZE_MAX));
	ASSERT_FALSE(sonde_accepts_gzip("gzip;q=0", SIZE_MAX));
	ASSERT_FALSE(sonde_accepts_gzip("*, gzip;q=0", SIZE_MAX));
	ASSERT_FALSE(sonde_accepts_gzip("identity", SIZE_MAX));
	ASSERT_FALSE(sonde_accepts_gzip("", SIZE_MAX));
	ASSERT_FALSE(sonde_accepts_gzip(NULL, 0));
	ASSERT_FALSE(sonde_accepts_gzip("gzipx", SIZE_MAX));
}

TEST(expose_http_gzip_round_trip)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf plain = SONDE_BUF_INIT, body = SONDE_BUF_INIT;
	sonde_expose_result res;
	const char *l[] = {"i"};
	sonde_family *f = sonde_counter_family_new(r, "gz_total", "G.", 1, l);
	char v[16];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(v, sizeof(v), "%d", i);
		sonde_counter_add(sonde_counter_with(f, v), i);
	}
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &plain));
	ASSERT_OK(sonde_expose_http(r, "application/openmetrics-text", "gzip", &body, &res));
	ASSERT_EQ_INT(res.format, SONDE_FORMAT_OPENMETRICS);
#ifdef SONDE_HAVE_ZLIB
	ASSERT_STREQ(res.content_encoding, "gzip");
	ASSERT_TRUE(body.len < plain.len / 3);
	{
		/* decompress with zlib and compare byte for byte */
		char *out = malloc(plain.len + 1);
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		ASSERT_EQ_INT(inflateInit2(&zs, 15 + 16), Z_OK);
		zs.next_in = (Bytef *)body.data;
		zs.avail_in = (uInt)body.len;
		zs.next_out = (Bytef *)out;
		zs.avail_out = (uInt)plain.len + 1;
		ASSERT_EQ_INT(inflate(&zs, Z_FINISH), Z_STREAM_END);
		ASSERT_EQ_INT(zs.total_out, plain.len);
		ASSERT_TRUE(memcmp(out, plain.data, plain.len) == 0);
		inflateEnd(&zs);
		free(out);
	}
#else
	ASSERT_NULL(res.content_encoding);
#endif
	ASSERT_OK(sonde_expose_http(r, NULL, "identity", &body, &res));
	ASSERT_NULL(res.content_encoding);
	ASSERT_EQ_INT(res.format, SONDE_FORMAT_TEXT);
	ASSERT_CONTAINS(body.data, "gz_total{i=\"1999\"} 1999\n");
	ASSERT_EQ_INT(sonde_expose_http(r, NULL, NULL, NULL, &res), SONDE_EINVAL);
	sonde_buf_destroy(&plain);
	sonde_buf_destroy(&body);
	sonde_registry_free(r);
}

TEST(om_info_and_stateset)
{
	sonde_registry *r = sonde_registry_new();
	const char *bl[] = {"version", "commit"};
	const char *st[] = {"starting", "active", "draining \"x\""};
	sonde_family *info = sonde_info_family_new(r, "build_info", "Build.", 2, bl);
	sonde_family *info2 = sonde_info_family_new(r, "runtime", "Runtime.", 1, bl);
	sonde_stateset *mode = sonde_stateset_new(r, "mode", "Mode.", 3, st);
	sonde_buf b = SONDE_BUF_INIT;
	char *out = NULL;
	int rc;

	ASSERT_NOT_NULL(info);
	ASSERT_NOT_NULL(info2);
	ASSERT_NOT_NULL(mode);
	ASSERT_OK(sonde_info_add(info, 2, (const char *[]){"1.2.3", "abc"}, NULL));
	ASSERT_OK(sonde_info_add(info2, 1, (const char *[]){"c11"}, NULL));
	ASSERT_OK(sonde_stateset_enum(mode, "active"));
	ASSERT_EQ_U64(sonde_stateset_mask(mode), 2);
	ASSERT_OK(sonde_stateset_set(mode, "draining \"x\"", true));
	ASSERT_EQ_INT(sonde_stateset_set(mode, "nope", true), SONDE_ENOENT);
	ASSERT_EQ_INT(sonde_info_add(info, 1, (const char *[]){"x"}, NULL), SONDE_EINVAL);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(
	        b.data,
	        "# TYPE build info\n# HELP build Build.\nbuild_info{version=\"1.2.3\",commit=\"abc\"} 1\n");
	ASSERT_CONTAINS(b.data, "# TYPE runtime info\n");
	ASSERT_CONTAINS(b.data, "runtime_info{version=\"c11\"} 1\n");
	ASSERT_CONTAINS(b.data,
	                "# TYPE mode stateset\n# HELP mode Mode.\nmode{mode=\"starting\"} 0\n"
	                "mode{mode=\"active\"} 1\nmode{mode=\"draining \\\"x\\\"\"} 1\n");
	{
		const char *check =
		        "import sys\n"
		        "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
		        "f = {x.name: x for x in p(open(sys.argv[1]).read())}\n"
		        "assert f['build'].type == 'info' and f['build'].samples[0].labels == {'version': '1.2.3', 'commit': 'abc'}\n"
		        "m = f['mode']\n"
		        "assert m.type == 'stateset'\n"
		        "assert {s.labels['mode']: s.value for s in m.samples} == {'starting': 0, 'active': 1, 'draining \"x\"': 1}, m.samples\n"
		        "print('types ok')\n";
		const char *argv[] = {SONDE_PYTHON, "-c", check, NULL, NULL};
		argv[3] = sonde_test_tmpfile(0, b.data, b.len);
		rc = sonde_test_run(argv, NULL, &out);
		if (rc != 0)
			FAIL("parser: %s\n%s", out, b.data);
		free(out);
	}
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(
	        b.data,
	        "# TYPE build_info gauge\nbuild_info{version=\"1.2.3\",commit=\"abc\"} 1\n");
	ASSERT_CONTAINS(b.data, "# TYPE mode gauge\n");
	{
		const char *argv[] = {"promtool", "check", "metrics", NULL};
		rc = sonde_test_run(argv, sonde_test_tmpfile(1, b.data, b.len), &out);
		if (rc != 0)
			FAIL("promtool %d: %s\n%s", rc, out, b.data);
		free(out);
	}
	/* validation */
	ASSERT_NULL(sonde_stateset_new(r, "bad-name", "x", 1, st));
	ASSERT_NULL(sonde_stateset_new(r, "s2", "x", 0, st));
	ASSERT_NULL(sonde_stateset_new(r, "s3", "x", 2, (const char *[]){"a", "a"}));
	ASSERT_CONTAINS(sonde_last_error(), "twice");
	ASSERT_NULL(sonde_stateset_new(r, "s4", "x", 1, (const char *[]){""}));
	ASSERT_NULL(sonde_info_family_new(r, "build_info", "Other help.", 2, bl)); /* clash */
	sonde_stateset_set_mask(mode, ~0ull);
	ASSERT_EQ_U64(sonde_stateset_mask(mode), 7);
	sonde_stateset_set_mask(NULL, 1);
	ASSERT_EQ_U64(sonde_stateset_mask(NULL), 0);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* Issue 13.21: Prometheus negotiates OpenMetrics and stored a _created
 * series beside every counter, histogram and summary child (18 of 153
 * samples in a small scrape). Off by default now, on per registry. */
TEST(om_created_is_opt_in_per_registry)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	const char *q[] = {"q"};

	sonde_counter_inc(sonde_counter_new(r, "jobs_total", "J."));
	sonde_histogram_observe(sonde_histogram_new(r, "lat_seconds", "L.", NULL, 0), 0.1);
	sonde_summary_observe(sonde_summary_new(r, "size_bytes", "S."), 3);
	sonde_counter_inc(
	        sonde_counter_with(sonde_counter_family_new(r, "x_total", "X.", 1, q), "a"));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_NOT_CONTAINS(b.data, "_created");
	ASSERT_CONTAINS(b.data, "jobs_total 1\n");
	ASSERT_OK(sonde_registry_set_created(r, true));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "\njobs_created ");
	ASSERT_CONTAINS(b.data, "\nlat_seconds_created ");
	ASSERT_CONTAINS(b.data, "\nsize_bytes_created ");
	ASSERT_CONTAINS(b.data, "\nx_created{q=\"a\"} ");
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b)); /* never in text */
	ASSERT_NOT_CONTAINS(b.data, "_created");
	ASSERT_OK(sonde_registry_set_created(r, false));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_NOT_CONTAINS(b.data, "_created");
	/* the default registry too, through NULL */
	ASSERT_OK(sonde_registry_set_created(NULL, false));
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* Issue 13.11: one bad observation invalidated a whole OpenMetrics page:
 * observe(-0.001) on a duration histogram (a clock step), +Inf then -Inf,
 * a histogram with negative bounds (which must carry no _sum), a negative
 * summary observation. The official parser now reads every page, with
 * the values the rules promise. */
TEST(om_bad_observations_never_invalidate_the_page)
{
	static const double temp_bounds[] = {-10, 0, 10};
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_histogram *dur = sonde_histogram_new(r, "dur_seconds", "D.", NULL, 0);
	sonde_histogram *inf = sonde_histogram_new(r, "inf_seconds", "I.", NULL, 0);
	sonde_histogram *temp = sonde_histogram_new(r, "temp_celsius", "T.", temp_bounds, 3);
	sonde_summary *sz = sonde_summary_new(r, "sz_bytes", "S.");
	const char *check =
	        "import sys, math\n"
	        "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
	        "fams = {f.name: f for f in p(open(sys.argv[1]).read())}\n"
	        "s = lambda n: {(x.name, tuple(sorted(x.labels.items()))): x.value for x in fams[n].samples}\n"
	        "d = s('dur_seconds')\n"
	        "assert d[('dur_seconds_count', ())] == 1 and d[('dur_seconds_sum', ())] == 0.25, d\n"
	        "i = s('inf_seconds')\n"
	        "assert i[('inf_seconds_count', ())] == 2 and i[('inf_seconds_sum', ())] == math.inf, i\n"
	        "t = s('temp_celsius')\n"
	        "assert ('temp_celsius_sum', ()) not in t and ('temp_celsius_count', ()) not in t, t\n"
	        "assert t[('temp_celsius_bucket', (('le', '-10.0'),))] == 1, t\n"
	        "assert t[('temp_celsius_bucket', (('le', '+Inf'),))] == 3, t\n"
	        "z = s('sz_bytes')\n"
	        "assert z[('sz_bytes_count', ())] == 1 and z[('sz_bytes_sum', ())] == 5, z\n"
	        "print('om ok')\n";
	const char *argv[] = {SONDE_PYTHON, "-c", check, NULL, NULL};
	char *out = NULL;
	int rc;

	sonde_histogram_observe(dur, -0.001); /* refused: no negative bound */
	sonde_histogram_observe(dur, 0.25);
	sonde_histogram_observe(inf, INFINITY);
	sonde_histogram_observe(inf, -INFINITY); /* refused: the sum stays +Inf */
	sonde_histogram_observe(inf, 1);
	sonde_histogram_observe(temp, -20); /* negative bounds: kept */
	sonde_histogram_observe(temp, 5);
	sonde_histogram_observe(temp, 15);
	sonde_summary_observe(sz, -3); /* refused */
	sonde_summary_observe(sz, 5);
	ASSERT_EQ_U64(sonde_histogram_count(dur), 1);
	ASSERT_EQ_U64(sonde_histogram_count(temp), 3);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	argv[3] = sonde_test_tmpfile(0, b.data, b.len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("OpenMetrics parser exit %d:\n%s\n--- input:\n%s", rc, out, b.data);
	ASSERT_CONTAINS(out, "om ok");
	free(out);
	/* text 0.0.4 has no such rule: the negative-bound histogram keeps its
	 * _sum and _count there */
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "\ntemp_celsius_sum 0\n");
	ASSERT_CONTAINS(b.data, "\ntemp_celsius_count 3\n");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}
