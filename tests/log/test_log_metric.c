/*
 * tests/log/test_log_metric.c - logs as metrics under a name of the user's
 * (sonde_log_config.records_metric): log_entries_total{level} with the
 * constant label service, counting what the backend writes; set once.
 */
#include <unistd.h>

#include "sonde.h"
#include "test.h"

static int null_sink(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)ctx;
	(void)level;
	(void)line;
	(void)len;
	return 0;
}

TEST(log_records_metric_named_by_the_user)
{
	static const char *const svc[] = {"service", "checkout"};
	/* the metric lives as long as the logger: a registry never freed */
	sonde_registry *r = sonde_registry_new();
	sonde_log_config c;
	sonde_log_sink_opts so;
	sonde_log_opts lo;
	sonde_log_sink *sink;
	sonde_logger *l;
	sonde_buf b = SONDE_BUF_INIT;
	char want[160];

	sonde_log_config_init(&c);
	c.records_metric = "log_entries_total";
	c.records_registry = r;
	c.records_labels = svc;
	c.records_label_count = 1;
	ASSERT_OK(sonde_log_configure(&c));
	ASSERT_OK(sonde_log_configure(&c)); /* the same again: accepted */
	c.records_metric = "other_total";
	ASSERT_EQ_INT(sonde_log_configure(&c), SONDE_ESTATE);
	ASSERT_CONTAINS(sonde_last_error(), "already \"log_entries_total\"");

	sonde_log_sink_opts_init(&so);
	sink = sonde_log_sink_callback(null_sink, NULL, &so);
	ASSERT_NOT_NULL(sink);
	sonde_log_opts_init(&lo, "checkout");
	lo.level_env = "";
	lo.sinks = &sink;
	lo.sink_count = 1;
	l = sonde_logger_new(&lo);
	ASSERT_NOT_NULL(l);
	for (int i = 0; i < 3; i++)
		LOG_ERROR(l, "payment failed", LOG_INT("i", i));
	for (int i = 0; i < 2; i++)
		LOG_INFO(l, "ok");
	ASSERT_OK(sonde_log_flush());
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	snprintf(want, sizeof(want), "log_entries_total{level=\"error\",service=\"checkout\"} 3\n");
	ASSERT_CONTAINS(b.data, want);
	ASSERT_CONTAINS(b.data, "log_entries_total{level=\"info\",service=\"checkout\"} 2\n");
	ASSERT_CONTAINS(b.data, "log_entries_total{level=\"debug\",service=\"checkout\"} 0\n");
	sonde_buf_destroy(&b);
	sonde_logger_free(l);
	sonde_log_sink_free(sink);
}

TEST(log_records_metric_refusals)
{
	static const char *const bad[] = {"__reserved", "x"};
	sonde_registry *r = sonde_registry_new();
	sonde_log_config c;

	sonde_log_config_init(&c);
	c.records_registry = r;
	c.records_metric = "bad name";
	ASSERT_EQ_INT(sonde_log_configure(&c), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "sonde_log_configure");
	c.records_metric = "log_entries_total";
	c.records_labels = bad;
	c.records_label_count = 1;
	ASSERT_EQ_INT(sonde_log_configure(&c), SONDE_EINVAL);
	/* a name taken with another definition */
	ASSERT_NOT_NULL(sonde_gauge_new(r, "taken_total", "x"));
	c.records_metric = "taken_total";
	c.records_label_count = 0;
	ASSERT_EQ_INT(sonde_log_configure(&c), SONDE_EEXIST);
	sonde_registry_free(r);
}
