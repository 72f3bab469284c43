/* tests/fuzz/fuzz_otelconfig.c - the OpenTelemetry environment variables
 * (lib/export/otel_config.c): the input, cut at NUL bytes, gives the values
 * of the variables whose values are parsed (key=value lists, URLs, numbers,
 * names). Whatever they hold, the reader returns OK or EINVAL, and the
 * configuration is complete and usable: a parsed http URL for each signal,
 * positive timeouts, a ratio in [0, 1], a batch no larger than the queue. */
#include "export/otel_config.h"
#include "fuzz.h"

static const char *const names[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                                    "OTEL_EXPORTER_OTLP_HEADERS",
                                    "OTEL_RESOURCE_ATTRIBUTES",
                                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
                                    "OTEL_TRACES_SAMPLER_ARG",
                                    "OTEL_EXPORTER_OTLP_TIMEOUT",
                                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                    "OTEL_TRACES_EXPORTER",
                                    "OTEL_TRACES_SAMPLER"};
#define NVARS (sizeof(names) / sizeof(names[0]))

typedef struct vars {
	char *v[NVARS];
} vars;

static const char *get(void *ctx, const char *name)
{
	vars *vs = ctx;
	for (size_t i = 0; i < NVARS; i++)
		if (!strcmp(names[i], name))
			return vs->v[i];
	return NULL;
}

FUZZ_TARGET(otelconfig)
{
	char *copy = malloc(size + 1), *p;
	vars vs;
	sonde__otel_config c;
	size_t i;
	int rc;

	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&vs, 0, sizeof(vs));
	for (i = 0, p = copy; i < NVARS && p <= copy + size; i++) {
		vs.v[i] = p;
		p += strlen(p) + 1;
	}
	rc = sonde__otel_config_read(&c, get, &vs);
	FUZZ_CHECK(rc == 0 || rc == -1, "status %d", rc);
	FUZZ_CHECK(c.traces.url && c.traces.host && c.traces.path && c.traces.path[0] == '/' &&
	                   c.traces.port > 0,
	           "traces endpoint");
	FUZZ_CHECK(c.logs.url && c.logs.host && c.logs.port > 0, "logs endpoint");
	FUZZ_CHECK(c.traces.timeout_ms > 0, "timeout");
	FUZZ_CHECK(c.sampler_ratio >= 0 && c.sampler_ratio <= 1, "ratio");
	FUZZ_CHECK(c.bsp_max_export_batch_size <= c.bsp_max_queue_size, "batch");
	for (i = 0; i < c.traces.headers.n; i++)
		FUZZ_CHECK(c.traces.headers.v[i].key[0] != '\0', "empty header name");
	sonde__otel_config_destroy(&c);
	free(copy);
	return 0;
}
