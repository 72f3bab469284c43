/*
 * sonde/http.h - RED instrumentation of an HTTP server in one call pair.
 *
 *   sonde_http_server *hs = sonde_http_server_new(&opts);    (once)
 *   ...
 *   sonde_http_request rq;                                   (per request,
 *   sonde_http_request_info in;                               on the stack)
 *   sonde_http_request_info_init(&in, method, route);
 *   in.headers = hdrs; in.nheaders = n; in.path = path;
 *   sonde_http_request_begin(hs, &rq, &in);
 *   ... handle it: log lines and exemplars carry its trace ...
 *   sonde_http_request_end(&rq, status, response_bytes);
 *
 * begin continues the caller's trace (W3C traceparent, tracestate,
 * baggage) or starts one, in a SERVER span named "METHOD route" with the
 * OpenTelemetry HTTP attributes (http.request.method, http.route, url.path,
 * and http.response.status_code at the end), made current on the calling
 * thread; reads the correlation id (x-request-id, then x-correlation-id) or
 * makes one (a UUID version 4); and counts the request in flight. end
 * counts http_requests_total{method,route,status}, observes
 * http_request_duration_seconds{method,route,status} (prom-client's default
 * buckets; exemplars point at the request's trace), optionally the request
 * and response sizes, sets the span's status (error on 5xx), writes one
 * access-log record (info, or error for a 5xx) when a logger is given, and
 * ends the span. The names are prom-client's and the seed guides' by
 * default and each one is configurable; constant labels (service,
 * environment) go on every family of the instrument.
 *
 * The method label is the method as sent when it is one of the nine
 * standard ones, else "other"; the route is the caller's route template
 * ("/users/:id", never the raw path: that would make one series per user)
 * and "other" when NULL. Statuses 100..599 are their number; anything else
 * is counted as "other" (and end says SONDE_EINVAL).
 *
 * Threads: a sonde_http_server may be used by any number of threads at
 * once. One request begins and ends on the same thread (the span is the
 * thread's current context in between); free the server only when no
 * request is between begin and end.
 */
#ifndef SONDE_HTTP_H
#define SONDE_HTTP_H

#include "common.h"
#include "context.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SONDE_HTTP_CONST_LABELS_MAX 8
#define SONDE_HTTP_ROUTE_MAX 128 /* bytes of a route template */
#define SONDE_HTTP_PATH_MAX 256  /* bytes of url.path kept on the span (cut beyond) */

/* Flags of sonde_http_server_opts. */
#define SONDE_HTTP_NO_TRACE                                \
	1u /* no span and no extract: metrics and log only \
	      (the correlation id is still read or made) */

typedef struct sonde_http_server_opts {
	size_t size;              /* sizeof(sonde_http_server_opts) as the caller
	                             was compiled; fields past it read as zero;
	                             below the first layout (up to flags):
	                             SONDE_EINVAL */
	sonde_registry *registry; /* NULL = the default registry */
	/* metric names: NULL = the default in brackets; "" = that metric off
	 * (not for requests and duration) */
	const char *requests_name;      /* [http_requests_total] */
	const char *duration_name;      /* [http_request_duration_seconds] */
	const char *in_flight_name;     /* [http_requests_in_flight] */
	const char *request_size_name;  /* [off]: a histogram of request bytes,
	                                   e.g. "http_request_size_bytes" */
	const char *response_size_name; /* [off]: e.g. "http_response_size_bytes" */
	/* label names: NULL = [method], [route], [status]; for example
	 * "status_code" or "endpoint" */
	const char *method_label;
	const char *route_label;
	const char *status_label;
	/* constant labels on every family: 2 * nconst strings, name, value, ...
	 * (valid label names, not one of the three above, each once) */
	const char *const *const_labels;
	size_t nconst;                  /* <= SONDE_HTTP_CONST_LABELS_MAX */
	const double *duration_buckets; /* NULL = prom-client's defaults (0.005 ..
	                                   10 s); strictly increasing */
	size_t duration_bucket_count;
	sonde_native_mode native;    /* native buckets on the duration histogram:
	                                SONDE_NATIVE_NONE (default), _ONLY,
	                                _AND_CLASSIC */
	double native_bucket_factor; /* as in sonde_metric_opts; 0 = 1.1 */
	size_t max_children;         /* per family; 0 = the default */
	sonde_logger *access_log;    /* NULL = no access-log record; the logger
	                                must outlive the server */
	unsigned flags;              /* SONDE_HTTP_NO_TRACE or 0 */
} sonde_http_server_opts;

/* Zeroes *o and sets size. NULL is a no-op. */
SONDE_API void sonde_http_server_opts_init(sonde_http_server_opts *o);

typedef struct sonde_http_server sonde_http_server;

/* Creates the families (or finds identical ones: two servers with the same
 * options share them). NULL with the last error set: SONDE_EINVAL (NULL
 * opts or a size below the first layout, a bad metric or label name, a
 * label name used twice, too many constant labels, a constant label value
 * that is not UTF-8, bad buckets), SONDE_EEXIST (a family of one of these
 * names exists with another definition), SONDE_ENOMEM. Free with
 * sonde_http_server_free(). */
SONDE_API SONDE_WUR sonde_http_server *sonde_http_server_new(const sonde_http_server_opts *o);
/* Frees the instrument (its families stay in the registry). NULL is a
 * no-op. */
SONDE_API void sonde_http_server_free(sonde_http_server *s);

/* What begin reads from one request. */
typedef struct sonde_http_request_info {
	size_t size;                 /* sizeof(sonde_http_request_info) */
	const char *method;          /* required; method_len bytes */
	size_t method_len;           /* SIZE_MAX: NUL-terminated */
	const char *route;           /* the route template, NUL-terminated;
	                                NULL = "other"; longer than
	                                SONDE_HTTP_ROUTE_MAX: SONDE_EINVAL */
	const char *path;            /* url.path for the span; NULL = none */
	size_t path_len;             /* SIZE_MAX: NUL-terminated */
	const sonde_header *headers; /* the request's headers (traceparent,
	                                tracestate, baggage, x-request-id,
	                                x-correlation-id are read) */
	size_t nheaders;
	int64_t request_bytes;        /* the body's size; < 0 = unknown */
	sonde_trace_carrier *carrier; /* where the incoming tracestate and
	                                 baggage are kept for the request's
	                                 outgoing calls: one per connection or
	                                 worker thread, reused. NULL = one the
	                                 library keeps per thread (a thread that
	                                 interleaves requests must pass its own
	                                 per request) */
} sonde_http_request_info;

/* Zeroes *in, sets size, method (NUL-terminated), route, request_bytes -1
 * and path_len 0. NULL in is a no-op. */
SONDE_API void sonde_http_request_info_init(sonde_http_request_info *in, const char *method,
                                            const char *route);

/* One request, in the caller's storage (the stack of the handler): treat
 * the fields as private but t0_mono_ns. */
typedef struct sonde_http_request {
	sonde_http_server *server;
	int64_t t0_mono_ns; /* readable: sonde_now_mono_ns() at begin */
	int64_t request_bytes;
	const char *method; /* a static string: the method label */
	sonde_trace_carrier *carrier;
	uint32_t magic;
	uint8_t traced;
	uint8_t route_len;
	char route[SONDE_HTTP_ROUTE_MAX + 1];
	char span_name[8 + SONDE_HTTP_ROUTE_MAX + 1];
	char path[SONDE_HTTP_PATH_MAX + 1];
	char request_id[SONDE_CORRELATION_ID_MAX + 1];
	sonde_span span;
} sonde_http_request;

/* Begins a request: extract, SERVER span, correlation id, in-flight + 1.
 * Returns SONDE_OK, or SONDE_EINVAL (NULL s, r or in, a size below the
 * first layout, no method, a route too long, headers NULL with nheaders >
 * 0): then nothing was begun and end must not be called. Out of memory
 * never fails it: when the per-thread carrier cannot be made (no carrier
 * given), the request starts a new trace instead of continuing the
 * caller's. No allocation but the per-thread carrier's, once per thread,
 * and what a recorded span allocates. */
SONDE_API SONDE_WUR int sonde_http_request_begin(sonde_http_server *s, sonde_http_request *r,
                                                 const sonde_http_request_info *in);

/* Ends a request begun by begin: counts, observes, logs, ends the span (see
 * the top of this file). response_bytes < 0 = unknown (no size observed).
 * Returns SONDE_OK; SONDE_EINVAL when r is NULL or was not begun (nothing
 * done), or when status is outside 100..599 (everything done, with status
 * "other"); SONDE_ESTATE when r was ended already (nothing done). */
SONDE_API int sonde_http_request_end(sonde_http_request *r, int status, int64_t response_bytes);
/* The same with the end time given (sonde_now_mono_ns() read by the
 * caller), for a caller that logs or reports the duration itself before
 * ending: the observed duration is then exactly end_mono_ns minus the
 * request's t0_mono_ns (readable after begin). An end time before the
 * start counts as a zero duration. */
SONDE_API int sonde_http_request_end_at(sonde_http_request *r, int status, int64_t response_bytes,
                                        int64_t end_mono_ns);

/* The request's correlation id (NUL-terminated, 1..64 characters): the
 * incoming x-request-id or x-correlation-id when valid, else a fresh UUID
 * version 4. "" for NULL or a request not begun. Valid until end. */
SONDE_API const char *sonde_http_request_id(const sonde_http_request *r);

/* The header to set on the response: x-request-id with the correlation id.
 * Points into r (valid until end). SONDE_EINVAL on NULL arguments or a
 * request not begun. */
SONDE_API int sonde_http_request_response_header(const sonde_http_request *r, sonde_header *out);

/* Headers for an outgoing call made while handling r: traceparent (in the
 * thread's current context: start a CLIENT span first so the callee's
 * parent is that span), tracestate and baggage as they came in, and
 * x-request-id. */
typedef struct sonde_http_headers {
	size_t count;
	sonde_header headers[4];
	sonde_trace_headers trace; /* storage */
	char request_id[SONDE_CORRELATION_ID_MAX + 1];
} sonde_http_headers;

/* clang-format off */
#define SONDE_HTTP_HEADERS_INIT {0, {{NULL, 0, NULL, 0}}, SONDE_TRACE_HEADERS_INIT, {0}}
/* clang-format on */

/* Fills out (reused across calls; release with sonde_http_headers_destroy).
 * SONDE_OK; SONDE_EINVAL on NULL arguments or a request not begun;
 * SONDE_ENOMEM when the baggage did not fit (the other headers are set). */
SONDE_API SONDE_WUR int sonde_http_request_outgoing(const sonde_http_request *r,
                                                    sonde_http_headers *out);
/* Frees out's memory. NULL is a no-op. */
SONDE_API void sonde_http_headers_destroy(sonde_http_headers *out);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_HTTP_H */
