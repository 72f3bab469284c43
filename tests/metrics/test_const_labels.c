/*
 * tests/metrics/test_const_labels.c - constant labels of a family
 * (sonde_metric_opts.const_labels) and default labels of a registry
 * (sonde_registry_set_labels): on every series in every format, checked
 * with promtool, and the protobuf with Google's protobuf against
 * client_model's metrics.proto; the refusals and the clash rules.
 */
#include "sonde.h"
#include "test.h"

#define METRICS_PROTO \
	"/usr/share/gocode/src/github.com/prometheus/client_model/io/prometheus/client/metrics.proto"

static sonde_family *family(sonde_registry *r, sonde_metric_type t, const char *name,
                            const char *const *labels, size_t nl, const char *const *consts,
                            size_t nc)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, t, name, "Help.");
	o.label_names = labels;
	o.label_count = nl;
	o.const_labels = consts;
	o.const_label_count = nc;
	return sonde_family_new(r, &o);
}

static void promtool_ok(const char *text)
{
	const char *argv[] = {"promtool", "check", "metrics", NULL};
	char *out = NULL;
	int rc = sonde_test_run(argv, sonde_test_tmpfile(0, text, strlen(text)), &out);

	if (rc != 0)
		FAIL("promtool check metrics exit %d: %s\n%s", rc, out, text);
	free(out);
}

TEST(const_labels_on_every_series_and_format)
{
	static const char *const lab[] = {"method"};
	static const char *const svc[] = {"service", "api", "team", "a\"b"};
	static const char *const reg_labels[] = {"region", "eu-1"};
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_family *c, *g, *h;

	c = family(r, SONDE_TYPE_COUNTER, "cl_requests_total", lab, 1, svc, 2);
	g = family(r, SONDE_TYPE_GAUGE, "cl_up", NULL, 0, svc, 1);
	h = family(r, SONDE_TYPE_HISTOGRAM, "cl_seconds", lab, 1, svc, 1);
	ASSERT_NOT_NULL(c);
	ASSERT_NOT_NULL(g);
	ASSERT_NOT_NULL(h);
	sonde_counter_inc(sonde_counter_with(c, "GET"));
	sonde_gauge_set(sonde_gauge_labels(g, 0, NULL, NULL), 1);
	sonde_histogram_observe(sonde_histogram_with(h, "GET"), 0.2);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data,
	                "cl_requests_total{method=\"GET\",service=\"api\",team=\"a\\\"b\"} 1\n");
	ASSERT_CONTAINS(b.data, "cl_up{service=\"api\"} 1\n");
	ASSERT_CONTAINS(b.data,
	                "cl_seconds_bucket{method=\"GET\",service=\"api\",le=\"0.25\"} 1\n");
	promtool_ok(b.data);

	/* the registry's labels after the series' own, before le */
	ASSERT_OK(sonde_registry_set_labels(r, reg_labels, 1));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "cl_requests_total{method=\"GET\",service=\"api\",team=\"a\\\"b\","
	                        "region=\"eu-1\"} 1\n");
	ASSERT_CONTAINS(b.data, "cl_up{service=\"api\",region=\"eu-1\"} 1\n");
	ASSERT_CONTAINS(b.data, "cl_seconds_bucket{method=\"GET\",service=\"api\",region=\"eu-1\","
	                        "le=\"+Inf\"} 1\n");
	promtool_ok(b.data);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "cl_up{service=\"api\",region=\"eu-1\"} 1\n");
	/* a family without labels of its own, and a registry label alone */
	ASSERT_NOT_NULL(family(r, SONDE_TYPE_GAUGE, "cl_plain", NULL, 0, NULL, 0));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "cl_plain{region=\"eu-1\"} 0\n");
	/* removed again */
	ASSERT_OK(sonde_registry_set_labels(r, NULL, 0));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "cl_plain 0\n");
	ASSERT_FALSE(strstr(b.data, "region"));
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* The protobuf exposition, decoded by Google's protobuf with client_model's
 * metrics.proto: the constant and default labels are LabelPairs after the
 * series' own. */
TEST(const_labels_protobuf_with_google_protobuf)
{
	static const char *const lab[] = {"k"};
	static const char *const svc[] = {"service", "api"};
	static const char *const reg_labels[] = {"region", "eu"};
	static const char expected[] = "name: \"pb_temp\"\nhelp: \"Help.\"\ntype: GAUGE\n"
	                               "metric {\n label { name: \"k\" value: \"x\" }\n"
	                               " label { name: \"service\" value: \"api\" }\n"
	                               " label { name: \"region\" value: \"eu\" }\n"
	                               " gauge { value: 3.5 }\n}\n";
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_family *g = family(r, SONDE_TYPE_GAUGE, "pb_temp", lab, 1, svc, 1);
	const char *argv[] = {SONDE_PYTHON,  SONDE_SRC_DIR "/tests/tools/check_pb.py",
	                      METRICS_PROTO, "MetricFamily",
	                      NULL,          NULL,
	                      NULL};
	char *out = NULL;
	int rc;

	if (!sonde_test_have("protoc"))
		FAIL("protoc not found: apt-get install protobuf-compiler python3-protobuf");
	ASSERT_NOT_NULL(g);
	sonde_gauge_set(sonde_gauge_with(g, "x"), 3.5);
	ASSERT_OK(sonde_registry_set_labels(r, reg_labels, 1));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b));
	argv[4] = sonde_test_tmpfile(0, b.data, b.len);
	argv[5] = sonde_test_tmpfile(1, expected, sizeof(expected) - 1);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("check_pb.py exit %d:\n%.4000s", rc, out);
	ASSERT_CONTAINS(out, "1 messages ok");
	free(out);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(const_labels_refusals_and_clashes)
{
	static const char *const lab[] = {"method"};
	static const char *const clash[] = {"method", "x"};
	static const char *const twice[] = {"a", "1", "a", "2"};
	static const char *const le[] = {"le", "x"};
	static const char *const bad_utf8[] = {"a", "\xc3"};
	static const char *const null_v[] = {"a", NULL};
	static const char *const svc1[] = {"service", "one"};
	static const char *const svc2[] = {"service", "two"};
	static const char *const reg_method[] = {"method", "m"};
	static const char *const reg_q[] = {"quantile", "x"};
	static const char *const reg_zone[] = {"zone", "z"};
	static const char *const fam_zone[] = {"zone"};
	static const char *const st_states[] = {"on", "off"};
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;

	ASSERT_NULL(family(r, SONDE_TYPE_COUNTER, "x_total", lab, 1, clash, 1));
	ASSERT_CONTAINS(sonde_last_error(), "both a label and a constant label");
	ASSERT_NULL(family(r, SONDE_TYPE_COUNTER, "x_total", NULL, 0, twice, 2));
	ASSERT_CONTAINS(sonde_last_error(), "given twice");
	ASSERT_NULL(family(r, SONDE_TYPE_HISTOGRAM, "x_seconds", NULL, 0, le, 1));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_NULL(family(r, SONDE_TYPE_COUNTER, "x_total", NULL, 0, bad_utf8, 1));
	ASSERT_CONTAINS(sonde_last_error(), "not UTF-8");
	ASSERT_NULL(family(r, SONDE_TYPE_COUNTER, "x_total", NULL, 0, null_v, 1));
	ASSERT_CONTAINS(sonde_last_error(), "NULL value");
	ASSERT_NULL(family(r, SONDE_TYPE_COUNTER, "x_total", NULL, 0, NULL, 1));
	ASSERT_CONTAINS(sonde_last_error(), "pairs are NULL");
	/* a stateset's name is its state label */
	sonde_metric_opts_init(&o, SONDE_TYPE_STATESET, "mode", "Mode.");
	o.states = st_states;
	o.state_count = 2;
	{
		static const char *const self[] = {"mode", "x"};
		o.const_labels = self;
		o.const_label_count = 1;
		ASSERT_NULL(sonde_family_new(r, &o));
		ASSERT_CONTAINS(sonde_last_error(), "state label");
	}
	/* part of the definition */
	ASSERT_NOT_NULL(family(r, SONDE_TYPE_COUNTER, "y_total", NULL, 0, svc1, 1));
	ASSERT_NOT_NULL(family(r, SONDE_TYPE_COUNTER, "y_total", NULL, 0, svc1, 1));
	ASSERT_NULL(family(r, SONDE_TYPE_COUNTER, "y_total", NULL, 0, svc2, 1));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	/* registry labels: no clash with a family's labels, either way round */
	ASSERT_NOT_NULL(family(r, SONDE_TYPE_COUNTER, "z_total", lab, 1, NULL, 0));
	ASSERT_EQ_INT(sonde_registry_set_labels(r, reg_method, 1), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "\"method\" is already a label of z_total");
	ASSERT_EQ_INT(sonde_registry_set_labels(r, svc1, 1), SONDE_EINVAL); /* y_total's const */
	ASSERT_EQ_INT(sonde_registry_set_labels(r, reg_q, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_registry_set_labels(r, NULL, 1), SONDE_EINVAL);
	ASSERT_OK(sonde_registry_set_labels(r, reg_zone, 1));
	ASSERT_NULL(family(r, SONDE_TYPE_GAUGE, "w", fam_zone, 1, NULL, 0));
	ASSERT_CONTAINS(sonde_last_error(), "one of the registry's default labels");
	sonde_registry_free(r);
}
