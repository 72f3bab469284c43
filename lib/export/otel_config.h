/*
 * lib/export/otel_config.h - the OpenTelemetry SDK environment variables
 * read into one struct (internal; the exporter of the next layer step
 * consumes it, a public C API that sets the same fields comes with it).
 *
 * Pure: the variables come through a lookup function, so tests hand over
 * a table and the library hands over getenv (secure_getenv would hide them
 * from setuid hosts, which is not wanted: they configure the host itself).
 *
 * Every invalid value falls back to its default, and the reason is the
 * last error (sonde_last_error: which variable, what was wrong, what is
 * used instead); the function then returns SONDE_EINVAL after filling the
 * whole struct, so one bad variable never hides the others. An empty value
 * counts as unset, as the specification says.
 *
 * Variables (defaults in brackets):
 *   OTEL_SDK_DISABLED                 true | false [false]
 *   OTEL_SERVICE_NAME                 [unset: the resource's default]
 *   OTEL_RESOURCE_ATTRIBUTES          k=v,k2=v2, values percent-decoded
 *                                     (a malformed list is dropped whole)
 *   OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER
 *                                     otlp | none [otlp]
 *   OTEL_EXPORTER_OTLP_ENDPOINT       base URL [http://localhost:4318]; the
 *                                     signal paths v1/traces, v1/logs appended
 *   OTEL_EXPORTER_OTLP_{TRACES,LOGS}_ENDPOINT   full URL, used as is
 *   OTEL_EXPORTER_OTLP[_{TRACES,LOGS}]_HEADERS  k=v,k2=v2 percent-decoded
 *                                     (per-signal entries override)
 *   OTEL_EXPORTER_OTLP[_{TRACES,LOGS}]_TIMEOUT  milliseconds [10000]
 *   OTEL_EXPORTER_OTLP[_{TRACES,LOGS}]_COMPRESSION  gzip | none [none]
 *   OTEL_EXPORTER_OTLP[_{TRACES,LOGS}]_PROTOCOL http/protobuf | http/json
 *                                     [http/protobuf]; grpc is not supported
 *   OTEL_TRACES_SAMPLER               always_on, always_off, traceidratio,
 *                                     parentbased_always_on,
 *                                     parentbased_always_off,
 *                                     parentbased_traceidratio
 *                                     [parentbased_always_on]
 *   OTEL_TRACES_SAMPLER_ARG           ratio in [0, 1] [1.0]
 *   OTEL_BSP_SCHEDULE_DELAY [5000], OTEL_BSP_EXPORT_TIMEOUT [30000] (ms),
 *   OTEL_BSP_MAX_QUEUE_SIZE [2048], OTEL_BSP_MAX_EXPORT_BATCH_SIZE [512,
 *                                     at most the queue size]
 * Only http:// endpoints: TLS is out of the library's scope (send to a
 * local Collector that forwards with TLS); https:// is refused with that
 * advice and the default endpoint is used.
 */
#ifndef SONDE_EXPORT_OTEL_CONFIG_H
#define SONDE_EXPORT_OTEL_CONFIG_H

#include "core/sonde-int.h"

typedef struct sonde__kv {
	char *key;
	char *value;
} sonde__kv;

/* v[0..n) filled, room for cap */
typedef struct sonde__kv_list {
	sonde__kv *v;
	size_t n, cap;
} sonde__kv_list;

typedef enum sonde__sampler {
	SONDE__SAMPLER_ALWAYS_ON,
	SONDE__SAMPLER_ALWAYS_OFF,
	SONDE__SAMPLER_TRACEIDRATIO,
	SONDE__SAMPLER_PARENTBASED_ALWAYS_ON,
	SONDE__SAMPLER_PARENTBASED_ALWAYS_OFF,
	SONDE__SAMPLER_PARENTBASED_TRACEIDRATIO
} sonde__sampler;

/* One signal's exporter (traces or logs). */
typedef struct sonde__otlp_signal {
	bool enabled;           /* the *_EXPORTER variable says otlp */
	char *url;              /* the full URL */
	char *host;             /* from the URL, without brackets */
	uint16_t port;          /* from the URL, 80 when it names none */
	char *path;             /* from the URL, "/" when it names none */
	sonde__kv_list headers; /* names as given; compare them ignoring case */
	int timeout_ms;
	bool gzip;
	bool json; /* http/json instead of http/protobuf */
} sonde__otlp_signal;

typedef struct sonde__otel_config {
	bool sdk_disabled;
	char *service_name;      /* NULL when unset */
	sonde__kv_list resource; /* OTEL_RESOURCE_ATTRIBUTES, in order */
	sonde__otlp_signal traces, logs;
	sonde__sampler sampler;
	double sampler_ratio;
	int bsp_schedule_delay_ms;
	int bsp_export_timeout_ms;
	int bsp_max_queue_size;
	int bsp_max_export_batch_size;
} sonde__otel_config;

typedef const char *(*sonde__env_fn)(void *ctx, const char *name);

/* Fills cfg (any previous content is not freed: start from a zeroed or
 * destroyed struct) from the variables get returns (NULL or "" = unset).
 * Returns SONDE_OK, SONDE_EINVAL (some value was invalid: the last error
 * names the last one found; the struct is complete, with defaults in its
 * place) or SONDE_ENOMEM (the struct is destroyed and zeroed). */
int sonde__otel_config_read(sonde__otel_config *cfg, sonde__env_fn get, void *ctx);
/* The process environment as an sonde__env_fn (ctx unused). */
const char *sonde__env_getenv(void *ctx, const char *name);
/* Frees what cfg holds and zeroes it. NULL is a no-op. */
void sonde__otel_config_destroy(sonde__otel_config *cfg);

/* http://host[:port][/path] into its parts (allocated; free with
 * sonde__free(p, strlen + 1)). SONDE_EINVAL with a message for anything
 * else (https, no host, a bad port, user info, a fragment); SONDE_ENOMEM. */
int sonde__parse_http_url(const char *url, char **host, uint16_t *port, char **path);

#endif
