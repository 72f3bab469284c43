/*
 * tests/export/test_otel_config.c - the OpenTelemetry SDK environment
 * variables into the exporter's configuration: defaults, every variable,
 * per-signal precedence, and invalid values (a message naming the
 * variable, the default in its place, the other variables still read).
 */
#include "export/otel_config.h"
#include "sonde.h"
#include "test.h"

/* NULL-terminated name, value pairs */
static const char *lookup(void *ctx, const char *name)
{
	const char *const *t = ctx;

	for (; t[0]; t += 2)
		if (!strcmp(t[0], name))
			return t[1];
	return NULL;
}

static const char *hdr(const sonde__otlp_signal *s, const char *name)
{
	for (size_t i = 0; i < s->headers.n; i++)
		if (!strcmp(s->headers.v[i].key, name))
			return s->headers.v[i].value;
	return NULL;
}

TEST(otel_config_defaults)
{
	const char *env[] = {NULL};
	sonde__otel_config c;

	ASSERT_OK(sonde__otel_config_read(&c, lookup, (void *)env));
	ASSERT_FALSE(c.sdk_disabled);
	ASSERT_NULL(c.service_name);
	ASSERT_EQ_INT(c.resource.n, 0);
	ASSERT_TRUE(c.traces.enabled && c.logs.enabled);
	ASSERT_STREQ(c.traces.url, "http://localhost:4318/v1/traces");
	ASSERT_STREQ(c.traces.host, "localhost");
	ASSERT_EQ_INT(c.traces.port, 4318);
	ASSERT_STREQ(c.traces.path, "/v1/traces");
	ASSERT_STREQ(c.logs.url, "http://localhost:4318/v1/logs");
	ASSERT_EQ_INT(c.traces.timeout_ms, 10000);
	ASSERT_FALSE(c.traces.gzip);
	ASSERT_FALSE(c.traces.json);
	ASSERT_EQ_INT(c.traces.headers.n, 0);
	ASSERT_EQ_INT(c.sampler, SONDE__SAMPLER_PARENTBASED_ALWAYS_ON);
	ASSERT_EQ_DBL(c.sampler_ratio, 1.0);
	ASSERT_EQ_INT(c.bsp_schedule_delay_ms, 5000);
	ASSERT_EQ_INT(c.bsp_export_timeout_ms, 30000);
	ASSERT_EQ_INT(c.bsp_max_queue_size, 2048);
	ASSERT_EQ_INT(c.bsp_max_export_batch_size, 512);
	sonde__otel_config_destroy(&c);
	sonde__otel_config_destroy(NULL);
}

TEST(otel_config_every_variable)
{
	const char *env[] = {"OTEL_SDK_DISABLED",
	                     "TRUE",
	                     "OTEL_SERVICE_NAME",
	                     "checkout",
	                     "OTEL_RESOURCE_ATTRIBUTES",
	                     "service.version=1.2.3, deployment.environment=prod,team=a%2Cb%20c,",
	                     "OTEL_EXPORTER_OTLP_ENDPOINT",
	                     "http://collector:4318/",
	                     "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
	                     "http://[::1]:9999/custom/logs",
	                     "OTEL_EXPORTER_OTLP_HEADERS",
	                     "api-key=secret,X-Tenant=t1",
	                     "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	                     "x-tenant=t2",
	                     "OTEL_EXPORTER_OTLP_TIMEOUT",
	                     "2500",
	                     "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
	                     "700",
	                     "OTEL_EXPORTER_OTLP_COMPRESSION",
	                     "gzip",
	                     "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
	                     "none",
	                     "OTEL_EXPORTER_OTLP_PROTOCOL",
	                     "http/json",
	                     "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	                     "http/protobuf",
	                     "OTEL_TRACES_SAMPLER",
	                     "parentbased_traceidratio",
	                     "OTEL_TRACES_SAMPLER_ARG",
	                     "0.25",
	                     "OTEL_BSP_SCHEDULE_DELAY",
	                     "0",
	                     "OTEL_BSP_EXPORT_TIMEOUT",
	                     "1000",
	                     "OTEL_BSP_MAX_QUEUE_SIZE",
	                     "100",
	                     "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	                     "10",
	                     "OTEL_LOGS_EXPORTER",
	                     "none",
	                     "OTEL_TRACES_EXPORTER",
	                     "otlp",
	                     NULL};
	sonde__otel_config c;

	ASSERT_OK(sonde__otel_config_read(&c, lookup, (void *)env));
	ASSERT_TRUE(c.sdk_disabled);
	ASSERT_STREQ(c.service_name, "checkout");
	ASSERT_EQ_INT(c.resource.n, 3);
	ASSERT_STREQ(c.resource.v[0].key, "service.version");
	ASSERT_STREQ(c.resource.v[0].value, "1.2.3");
	ASSERT_STREQ(c.resource.v[1].key, "deployment.environment");
	ASSERT_STREQ(c.resource.v[2].value, "a,b c");
	/* the base gets the signal path; the signal's own URL is used as is */
	ASSERT_STREQ(c.traces.url, "http://collector:4318/v1/traces");
	ASSERT_STREQ(c.traces.host, "collector");
	ASSERT_STREQ(c.logs.url, "http://[::1]:9999/custom/logs");
	ASSERT_STREQ(c.logs.host, "::1");
	ASSERT_EQ_INT(c.logs.port, 9999);
	ASSERT_STREQ(c.logs.path, "/custom/logs");
	/* headers: the signal's value wins, names compared ignoring case */
	ASSERT_EQ_INT(c.traces.headers.n, 2);
	ASSERT_STREQ(hdr(&c.traces, "api-key"), "secret");
	ASSERT_STREQ(hdr(&c.traces, "x-tenant"), "t2");
	ASSERT_NULL(hdr(&c.traces, "X-Tenant"));
	ASSERT_STREQ(hdr(&c.logs, "X-Tenant"), "t1");
	ASSERT_EQ_INT(c.traces.timeout_ms, 2500);
	ASSERT_EQ_INT(c.logs.timeout_ms, 700);
	ASSERT_TRUE(c.traces.gzip);
	ASSERT_FALSE(c.logs.gzip);
	ASSERT_FALSE(c.traces.json);
	ASSERT_TRUE(c.logs.json);
	ASSERT_EQ_INT(c.sampler, SONDE__SAMPLER_PARENTBASED_TRACEIDRATIO);
	ASSERT_EQ_DBL(c.sampler_ratio, 0.25);
	ASSERT_EQ_INT(c.bsp_schedule_delay_ms, 0);
	ASSERT_EQ_INT(c.bsp_export_timeout_ms, 1000);
	ASSERT_EQ_INT(c.bsp_max_queue_size, 100);
	ASSERT_EQ_INT(c.bsp_max_export_batch_size, 10);
	ASSERT_TRUE(c.traces.enabled);
	ASSERT_FALSE(c.logs.enabled);
	sonde__otel_config_destroy(&c);
}

/* One invalid variable: EINVAL, a message naming it, its default, and
 * the valid variable beside it still read. */
static void one_invalid(const char *name, const char *value, const char *msg_part)
{
	const char *env[] = {name, value, "OTEL_SERVICE_NAME", "still-read", NULL};
	sonde__otel_config c;

	ASSERT_EQ_INT(sonde__otel_config_read(&c, lookup, (void *)env), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), name);
	ASSERT_CONTAINS(sonde_last_error(), msg_part);
	ASSERT_STREQ(c.service_name, "still-read");
	ASSERT_STREQ(c.traces.url, "http://localhost:4318/v1/traces");
	ASSERT_EQ_INT(c.traces.timeout_ms, 10000);
	ASSERT_EQ_INT(c.traces.headers.n, 0);
	ASSERT_EQ_INT(c.resource.n, 0);
	ASSERT_FALSE(c.traces.json);
	ASSERT_FALSE(c.sdk_disabled);
	ASSERT_EQ_INT(c.sampler, SONDE__SAMPLER_PARENTBASED_ALWAYS_ON);
	ASSERT_EQ_DBL(c.sampler_ratio, 1.0);
	ASSERT_EQ_INT(c.bsp_max_queue_size, 2048);
	sonde__otel_config_destroy(&c);
}

TEST(otel_config_invalid_values_fall_back)
{
	one_invalid("OTEL_SDK_DISABLED", "yes", "not true or false");
	one_invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318", "TLS");
	one_invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "http://");
	one_invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:99999", "port");
	one_invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "http://:4318", "no host");
	one_invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "http://u:p@collector", "user");
	one_invalid("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1/v1", "IPv6");
	one_invalid("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "milliseconds");
	one_invalid("OTEL_EXPORTER_OTLP_TIMEOUT", "0", "milliseconds");
	one_invalid("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "gzip or none");
	one_invalid("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "gRPC");
	one_invalid("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", "http/protobuf");
	one_invalid("OTEL_EXPORTER_OTLP_HEADERS", "novalue", "key=value");
	one_invalid("OTEL_EXPORTER_OTLP_HEADERS", "k=%zz", "key=value");
	one_invalid("OTEL_EXPORTER_OTLP_HEADERS", "k=%0", "key=value");
	one_invalid("OTEL_EXPORTER_OTLP_HEADERS", "k=a%00b", "key=value");
	one_invalid("OTEL_EXPORTER_OTLP_HEADERS", "=v", "key=value");
	one_invalid("OTEL_RESOURCE_ATTRIBUTES", "a=1,broken", "key=value");
	one_invalid("OTEL_RESOURCE_ATTRIBUTES", "a=%ff", "key=value");
	one_invalid("OTEL_TRACES_SAMPLER", "sometimes", "sampler");
	one_invalid("OTEL_BSP_MAX_QUEUE_SIZE", "-1", "positive");
	one_invalid("OTEL_BSP_MAX_QUEUE_SIZE", "99999999999", "positive");
	one_invalid("OTEL_BSP_SCHEDULE_DELAY", "soon", "non-negative");
	one_invalid("OTEL_TRACES_EXPORTER", "jaeger", "otlp and none");
}

TEST(otel_config_dependent_values)
{
	const char *ratio[] = {"OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG",
	                       "1.5", NULL};
	const char *batch[] = {"OTEL_BSP_MAX_QUEUE_SIZE", "64", NULL};
	const char *empty[] = {"OTEL_SERVICE_NAME", "", "OTEL_EXPORTER_OTLP_TIMEOUT", "", NULL};
	const char *mixed[] = {"OTEL_TRACES_EXPORTER",
	                       "none",
	                       "OTEL_LOGS_EXPORTER",
	                       "otlp,console",
	                       "OTEL_TRACES_SAMPLER",
	                       "always_off",
	                       "OTEL_TRACES_SAMPLER_ARG",
	                       "nonsense (ignored: always_off takes none)",
	                       NULL};
	sonde__otel_config c;

	ASSERT_EQ_INT(sonde__otel_config_read(&c, lookup, (void *)ratio), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "OTEL_TRACES_SAMPLER_ARG");
	ASSERT_EQ_INT(c.sampler, SONDE__SAMPLER_TRACEIDRATIO);
	ASSERT_EQ_DBL(c.sampler_ratio, 1.0);
	sonde__otel_config_destroy(&c);
	/* the default batch (512) is larger than the queue: cut to it */
	ASSERT_EQ_INT(sonde__otel_config_read(&c, lookup, (void *)batch), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
	ASSERT_EQ_INT(c.bsp_max_export_batch_size, 64);
	sonde__otel_config_destroy(&c);
	/* empty means unset */
	ASSERT_OK(sonde__otel_config_read(&c, lookup, (void *)empty));
	ASSERT_NULL(c.service_name);
	ASSERT_EQ_INT(c.traces.timeout_ms, 10000);
	sonde__otel_config_destroy(&c);
	/* none turns a signal off; an unknown entry beside otlp is reported */
	ASSERT_EQ_INT(sonde__otel_config_read(&c, lookup, (void *)mixed), SONDE_EINVAL);
	ASSERT_FALSE(c.traces.enabled);
	ASSERT_TRUE(c.logs.enabled);
	ASSERT_EQ_INT(c.sampler, SONDE__SAMPLER_ALWAYS_OFF);
	sonde__otel_config_destroy(&c);
	ASSERT_EQ_INT(sonde__otel_config_read(NULL, lookup, NULL), SONDE_EINVAL);
}

TEST(otel_config_from_the_process_environment)
{
	sonde__otel_config c;

	setenv("OTEL_SERVICE_NAME", "from-env", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces", 1);
	ASSERT_OK(sonde__otel_config_read(&c, sonde__env_getenv, NULL));
	ASSERT_STREQ(c.service_name, "from-env");
	ASSERT_STREQ(c.traces.host, "127.0.0.1");
	sonde__otel_config_destroy(&c);
}

TEST(otel_config_url_parts)
{
	char *h, *p;
	uint16_t port;

	ASSERT_OK(sonde__parse_http_url("http://example.com", &h, &port, &p));
	ASSERT_STREQ(h, "example.com");
	ASSERT_EQ_INT(port, 80);
	ASSERT_STREQ(p, "/");
	sonde__free(h, strlen(h) + 1);
	sonde__free(p, strlen(p) + 1);
	ASSERT_OK(sonde__parse_http_url("http://10.0.0.1:4318/v1/traces?x=1", &h, &port, &p));
	ASSERT_STREQ(h, "10.0.0.1");
	ASSERT_EQ_INT(port, 4318);
	ASSERT_STREQ(p, "/v1/traces?x=1");
	sonde__free(h, strlen(h) + 1);
	sonde__free(p, strlen(p) + 1);
	/* a query without a path: the target starts with "/" (found by fuzzing) */
	ASSERT_OK(sonde__parse_http_url("http://h:4369?q=1", &h, &port, &p));
	ASSERT_STREQ(p, "/?q=1");
	sonde__free(h, strlen(h) + 1);
	sonde__free(p, strlen(p) + 1);
	ASSERT_EQ_INT(sonde__parse_http_url("http://h:/x", &h, &port, &p), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__parse_http_url("http://h:+80/x", &h, &port, &p), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__parse_http_url("http://h:0", &h, &port, &p), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__parse_http_url("http://h/x#frag", &h, &port, &p), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__parse_http_url("http://[::1]x/", &h, &port, &p), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__parse_http_url(NULL, &h, &port, &p), SONDE_EINVAL);
	ASSERT_NULL(h);
}
