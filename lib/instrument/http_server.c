/*
 * lib/instrument/http_server.c - sonde_http_server: RED metrics, the
 * SERVER span, the correlation id and the access log of one HTTP request
 * in one call pair (include/sonde/http.h).
 *
 * The families are made once; a request costs one extract, one span, two
 * or three child lookups (the label arrays are on the stack), one clock
 * read at each end and one log record. Nothing is allocated per request:
 * the incoming tracestate and baggage go into the caller's carrier or one
 * kept per thread (a pthread key; freed at the thread's exit).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sonde.h"
#include "sonde/http.h"
#include "core/sonde-int.h"
#include "metrics/metrics-int.h"

#define REQ_MAGIC 0x48545251u /* "HTRQ": begun, not ended */
#define REQ_ENDED 0x48545245u /* "HTRE" */
#define NBASE 3               /* method, route, status */
#define NLABELS (NBASE + SONDE_HTTP_CONST_LABELS_MAX)

struct sonde_http_server {
	sonde_family *requests, *duration, *req_size, *resp_size;
	sonde_gauge *in_flight;
	sonde_logger *log;
	unsigned flags;
};

/* prom-client's default buckets (seconds) */
static const double default_duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,   1,    2.5,   5,    10};
/* sizes: 100 B .. 10 MB by 10x */
static const double size_buckets[] = {100, 1000, 10000, 100000, 1000000, 10000000};

void sonde_http_server_opts_init(sonde_http_server_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
}

void sonde_http_request_info_init(sonde_http_request_info *in, const char *method,
                                  const char *route)
{
	if (!in)
		return;
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	in->method = method;
	in->method_len = SIZE_MAX;
	in->route = route;
	in->request_bytes = -1;
}

/* ---- the instrument ----------------------------------------------------------------- */

static void server_destroy(sonde_http_server *s)
{
	sonde__free(s, sizeof(*s));
}

static sonde_family *make_family(const sonde_http_server_opts *o, sonde_metric_type type,
                                 const char *name, const char *help, const char *const *labels,
                                 size_t nlabels, const double *buckets, size_t nbuckets,
                                 bool native)
{
	sonde_metric_opts mo;

	sonde_metric_opts_init(&mo, type, name, help);
	mo.label_names = labels;
	mo.label_count = nlabels;
	mo.const_labels = o->const_labels; /* the families' constant labels */
	mo.const_label_count = o->nconst;
	mo.buckets = buckets;
	mo.bucket_count = nbuckets;
	mo.max_children = o->max_children;
	if (native) {
		mo.native = o->native;
		mo.native_bucket_factor = o->native_bucket_factor;
	}
	return sonde_family_new(o->registry, &mo);
}

/* name given NULL: the default; "" (off) is allowed only when optional. */
static int pick_name(const char *given, const char *dflt, bool optional, const char *what,
                     const char **out)
{
	*out = given ? given : dflt;
	if (*out && !**out) {
		if (!optional)
			return sonde__fail(SONDE_EINVAL, "sonde_http_server_new: %s cannot be off",
			                   what);
		*out = NULL;
	}
	return SONDE_OK;
}

static int check_labels(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = sonde__check_label_name(names[i], SONDE_TYPE_HISTOGRAM);
		if (rc != SONDE_OK)
			return sonde__fail(rc, "sonde_http_server_new: %s", sonde_last_error());
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				return sonde__fail(
				        SONDE_EINVAL,
				        "sonde_http_server_new: label \"%s\" given twice",
				        names[i]);
	}
	return SONDE_OK;
}

sonde_http_server *sonde_http_server_new(const sonde_http_server_opts *opts)
{
	sonde_http_server_opts o;
	sonde_http_server *s;
	const char *labels[NLABELS];
	const char *n_req, *n_dur, *n_inf, *n_rqs, *n_rss;
	size_t i;
	int rc;

	if (sonde__opts_copy(&o, sizeof(o), opts, SONDE__V1_SIZE(sonde_http_server_opts, flags),
	                     "sonde_http_server_new") != SONDE_OK)
		return NULL;
	if (o.flags & ~SONDE_HTTP_NO_TRACE) {
		sonde__fail(SONDE_EINVAL, "sonde_http_server_new: unknown flags 0x%x", o.flags);
		return NULL;
	}
	if (o.nconst > SONDE_HTTP_CONST_LABELS_MAX || (o.nconst && !o.const_labels)) {
		sonde__fail(SONDE_EINVAL,
		            "sonde_http_server_new: %zu constant labels (at most %d, and "
		            "const_labels must not be NULL)",
		            o.nconst, SONDE_HTTP_CONST_LABELS_MAX);
		return NULL;
	}
	if (pick_name(o.requests_name, "http_requests_total", false, "requests_name", &n_req) ||
	    pick_name(o.duration_name, "http_request_duration_seconds", false, "duration_name",
	              &n_dur) ||
	    pick_name(o.in_flight_name, "http_requests_in_flight", true, "in_flight_name",
	              &n_inf) ||
	    pick_name(o.request_size_name, NULL, true, "request_size_name", &n_rqs) ||
	    pick_name(o.response_size_name, NULL, true, "response_size_name", &n_rss))
		return NULL;
	labels[0] = o.method_label ? o.method_label : "method";
	labels[1] = o.route_label ? o.route_label : "route";
	labels[2] = o.status_label ? o.status_label : "status";
	/* the constant labels' own checks are the families'; their names are
	 * checked against the three here, for a message that says so */
	for (i = 0; i < o.nconst; i++)
		labels[NBASE + i] = o.const_labels[2 * i];
	if (check_labels(labels, NBASE + o.nconst) != SONDE_OK)
		return NULL;

	s = sonde__calloc(1, sizeof(*s));
	if (!s) {
		sonde__fail(SONDE_ENOMEM, "sonde_http_server_new: out of memory");
		return NULL;
	}
	s->flags = o.flags;
	s->log = o.access_log;
	s->requests = make_family(&o, SONDE_TYPE_COUNTER, n_req,
	                          "HTTP requests answered, by method, route and status code.",
	                          labels, NBASE, NULL, 0, false);
	s->duration = s->requests
	                      ? make_family(&o, SONDE_TYPE_HISTOGRAM, n_dur,
	                                    "Time from a request's begin to its end, in seconds, "
	                                    "by method, route and status code.",
	                                    labels, NBASE,
	                                    o.duration_buckets ? o.duration_buckets
	                                                       : default_duration_buckets,
	                                    o.duration_buckets ? o.duration_bucket_count
	                                                       : sizeof(default_duration_buckets) /
	                                                                 sizeof(double),
	                                    true)
	                      : NULL;
	rc = s->duration ? SONDE_OK : sonde_last_status();
	if (rc == SONDE_OK && n_rqs) {
		s->req_size = make_family(&o, SONDE_TYPE_HISTOGRAM, n_rqs,
		                          "HTTP request body sizes in bytes, by method, route and "
		                          "status code.",
		                          labels, NBASE, size_buckets, 6, false);
		rc = s->req_size ? SONDE_OK : sonde_last_status();
	}
	if (rc == SONDE_OK && n_rss) {
		s->resp_size =
		        make_family(&o, SONDE_TYPE_HISTOGRAM, n_rss,
		                    "HTTP response body sizes in bytes, by method, route and "
		                    "status code.",
		                    labels, NBASE, size_buckets, 6, false);
		rc = s->resp_size ? SONDE_OK : sonde_last_status();
	}
	if (rc == SONDE_OK && n_inf) {
		/* the gauge carries the constant labels too */
		sonde_family *f = make_family(&o, SONDE_TYPE_GAUGE, n_inf,
		                              "HTTP requests being handled right now.", NULL, 0,
		                              NULL, 0, false);
		s->in_flight = f ? sonde_gauge_labels(f, 0, NULL, NULL) : NULL;
		rc = s->in_flight ? SONDE_OK : sonde_last_status();
	}
	if (rc != SONDE_OK) {
		/* the families made stay registered (a registry never drops a
		 * family on its own); a retry with the same options finds them */
		sonde__fail(rc, "sonde_http_server_new: %s", sonde_last_error());
		server_destroy(s);
		return NULL;
	}
	return s;
}

void sonde_http_server_free(sonde_http_server *s)
{
	if (s)
		server_destroy(s);
}

/* ---- per request ----------------------------------------------------------------------- */

static const char *method_label(const char *m, size_t n)
{
	static const char *const known[] = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
	                                    "PATCH", "OPTIONS", "CONNECT", "TRACE"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && memcmp(known[i], m, n) == 0)
			return known[i];
	return "other";
}

/* The library's carrier for this thread, made on first use. */
static pthread_once_t carrier_once = PTHREAD_ONCE_INIT;
static pthread_key_t carrier_key;
static bool carrier_key_ok;

static void carrier_exit(void *p)
{
	sonde_trace_carrier_free(p);
}

static void carrier_key_init(void)
{
	carrier_key_ok = pthread_key_create(&carrier_key, carrier_exit) == 0;
}

static sonde_trace_carrier *thread_carrier(void)
{
	sonde_trace_carrier *c;

	pthread_once(&carrier_once, carrier_key_init);
	if (!carrier_key_ok)
		return NULL;
	c = pthread_getspecific(carrier_key);
	if (!c) {
		c = sonde_trace_carrier_new();
		if (c && pthread_setspecific(carrier_key, c) != 0) {
			sonde_trace_carrier_free(c);
			c = NULL;
		}
	}
	return c;
}

/* A UUID version 4 (RFC 9562 5.4) in lower-case text, 36 characters. */
static void uuid4(char out[37])
{
	const char *hex = sonde__hex_digits;
	uint8_t b[16];
	size_t k = 0;

	sonde_trace_id_generate(b);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = '\0';
}

/* The caller's x-request-id / x-correlation-id when extract kept one:
 * extract falls back to the trace id's hex, which is not a request id the
 * caller gave. */
static bool id_from_headers(const sonde_span_context *ctx)
{
	char hex[33];

	if (ctx->correlation_len != 32)
		return ctx->correlation_len > 0;
	sonde__hex_put(hex, ctx->trace_id, 16);
	return memcmp(hex, ctx->correlation_id, 32) != 0;
}

int sonde_http_request_begin(sonde_http_server *s, sonde_http_request *r,
                             const sonde_http_request_info *info)
{
	sonde_http_request_info in;
	sonde_span_context parent;
	size_t mlen, rlen = 0;
	int rc;

	if (!s || !r)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_begin: NULL %s",
		                   s ? "request" : "server");
	if ((rc = sonde__opts_copy(&in, sizeof(in), info,
	                           SONDE__V1_SIZE(sonde_http_request_info, carrier),
	                           "sonde_http_request_begin")) != SONDE_OK)
		return rc;
	if (!in.method)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_begin: no method");
	if (in.route && (rlen = strlen(in.route)) > SONDE_HTTP_ROUTE_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_http_request_begin: route is %zu bytes, the limit is %d",
		                   rlen, SONDE_HTTP_ROUTE_MAX);
	if (in.nheaders && !in.headers)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_http_request_begin: headers is NULL with "
		                   "nheaders %zu",
		                   in.nheaders);
	mlen = in.method_len == SIZE_MAX ? strlen(in.method) : in.method_len;

	r->server = s;
	r->method = method_label(in.method, mlen);
	r->request_bytes = in.request_bytes;
	r->magic = 0;
	if (!in.route) {
		in.route = "other";
		rlen = 5;
	}
	memcpy(r->route, in.route, rlen + 1);
	r->route_len = (uint8_t)rlen;
	r->path[0] = '\0';
	if (in.path) {
		size_t plen = in.path_len == SIZE_MAX ? strlen(in.path) : in.path_len;
		if (plen > SONDE_HTTP_PATH_MAX)
			plen = SONDE_HTTP_PATH_MAX;
		memcpy(r->path, in.path, plen);
		r->path[plen] = '\0';
	}
	/* the span's name: "METHOD route" (OpenTelemetry's HTTP server span) */
	mlen = strlen(r->method);
	memcpy(r->span_name, r->method, mlen);
	r->span_name[mlen] = ' ';
	memcpy(r->span_name + mlen + 1, r->route, rlen + 1);

	r->carrier = in.carrier ? in.carrier : thread_carrier();
	/* no carrier (out of memory for the per-thread one): a new trace */
	memset(&parent, 0, sizeof(parent));
	if (r->carrier && sonde_trace_extract(r->carrier, in.headers, in.nheaders) == SONDE_OK)
		parent = *sonde_trace_carrier_context(r->carrier);
	if (!id_from_headers(&parent)) {
		uuid4(r->request_id);
		memcpy(parent.correlation_id, r->request_id, 37);
		parent.correlation_len = 36;
	} else {
		memcpy(r->request_id, parent.correlation_id, parent.correlation_len);
		r->request_id[parent.correlation_len] = '\0';
	}

	r->traced = !(s->flags & SONDE_HTTP_NO_TRACE);
	if (r->traced) {
		sonde_span_start_child_of(&r->span, r->span_name, &parent);
		sonde_span_set_kind(&r->span, SONDE_SPAN_KIND_SERVER);
		sonde_span_set_str(&r->span, "http.request.method", r->method);
		sonde_span_set_str(&r->span, "http.route", r->route);
		if (in.path)
			sonde_span_set_str(&r->span, "url.path", r->path);
	}
	sonde_gauge_inc(s->in_flight);
	r->magic = REQ_MAGIC;
	r->t0_mono_ns = sonde_now_mono_ns();
	return SONDE_OK;
}

/* The label values of one request: method, route, status. */
static size_t label_values(const sonde_http_request *r, const char *status, const char **v,
                           size_t *lens)
{
	v[0] = r->method;
	lens[0] = strlen(r->method);
	v[1] = r->route;
	lens[1] = r->route_len;
	v[2] = status;
	lens[2] = strlen(status);
	return NBASE;
}

/* The access-log record: info, error for a 5xx; "bytes" only when known.
 * The request id is the record's correlation_id (the span's context). */
#define ACCESS_FIELDS(r, status, ms)                                                              \
	LOG_STR("method", (r)->method), LOG_STR("route", (r)->route), LOG_STR("path", (r)->path), \
	        LOG_INT("status", status), LOG_DOUBLE("duration_ms", ms)

static void access_log(const sonde_http_request *r, int status, double ms, int64_t bytes)
{
	sonde_logger *log = r->server->log;

	if (!log)
		return;
	if (status >= 500 && bytes >= 0)
		SONDE_LOG_ERROR(log, "request", ACCESS_FIELDS(r, status, ms),
		                LOG_INT("bytes", bytes));
	else if (status >= 500)
		SONDE_LOG_ERROR(log, "request", ACCESS_FIELDS(r, status, ms));
	else if (bytes >= 0)
		SONDE_LOG_INFO(log, "request", ACCESS_FIELDS(r, status, ms),
		               LOG_INT("bytes", bytes));
	else
		SONDE_LOG_INFO(log, "request", ACCESS_FIELDS(r, status, ms));
}

int sonde_http_request_end(sonde_http_request *r, int status, int64_t response_bytes)
{
	return sonde_http_request_end_at(r, status, response_bytes, sonde_now_mono_ns());
}

int sonde_http_request_end_at(sonde_http_request *r, int status, int64_t response_bytes,
                              int64_t end_mono_ns)
{
	const char *v[NBASE];
	size_t lens[NBASE], n;
	char st[8];
	int64_t ns;
	double seconds;
	sonde_http_server *s;
	bool bad = status < 100 || status > 599;

	if (!r)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_end: NULL request");
	if (r->magic == REQ_ENDED)
		return sonde__fail(SONDE_ESTATE, "sonde_http_request_end: the request was ended "
		                                 "already");
	if (r->magic != REQ_MAGIC)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_end: the request was not "
		                                 "begun");
	ns = end_mono_ns > r->t0_mono_ns ? end_mono_ns - r->t0_mono_ns : 0;
	seconds = (double)ns / 1e9;
	s = r->server;
	if (bad)
		memcpy(st, "other", 6);
	else { /* 100..599: three digits */
		st[0] = (char)('0' + status / 100);
		st[1] = (char)('0' + status / 10 % 10);
		st[2] = (char)('0' + status % 10);
		st[3] = '\0';
	}
	n = label_values(r, st, v, lens);
	/* exemplars: the span is the current context, so the counter and the
	 * bucket point at this request's trace */
	sonde_counter_add_exemplar(sonde_counter_labels(s->requests, n, v, lens), 1, NULL);
	sonde_histogram_observe_exemplar(sonde_histogram_labels(s->duration, n, v, lens), seconds,
	                                 NULL);
	if (s->req_size && r->request_bytes >= 0)
		sonde_histogram_observe(sonde_histogram_labels(s->req_size, n, v, lens),
		                        (double)r->request_bytes);
	if (s->resp_size && response_bytes >= 0)
		sonde_histogram_observe(sonde_histogram_labels(s->resp_size, n, v, lens),
		                        (double)response_bytes);
	sonde_gauge_dec(s->in_flight);
	if (r->traced) {
		sonde_span_set_int(&r->span, "http.response.status_code", status);
		if (status >= 500 || bad)
			sonde_span_set_error(&r->span, bad ? "invalid status" : "server error");
	}
	access_log(r, status, (double)ns / 1e6, response_bytes);
	if (r->traced)
		sonde_span_end(&r->span);
	r->magic = REQ_ENDED;
	if (bad)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_http_request_end: status %d is outside 100..599 (counted "
		                   "as \"other\")",
		                   status);
	return SONDE_OK;
}

const char *sonde_http_request_id(const sonde_http_request *r)
{
	return r && r->magic == REQ_MAGIC ? r->request_id : "";
}

int sonde_http_request_response_header(const sonde_http_request *r, sonde_header *out)
{
	if (!r || !out)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_response_header: NULL %s",
		                   r ? "out" : "request");
	if (r->magic != REQ_MAGIC)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_response_header: the request "
		                                 "is not between begin and end");
	out->name = "x-request-id";
	out->name_len = 12;
	out->value = r->request_id;
	out->value_len = strlen(r->request_id);
	return SONDE_OK;
}

int sonde_http_request_outgoing(const sonde_http_request *r, sonde_http_headers *out)
{
	int rc;

	if (!r || !out)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_outgoing: NULL %s",
		                   r ? "out" : "request");
	if (r->magic != REQ_MAGIC)
		return sonde__fail(SONDE_EINVAL, "sonde_http_request_outgoing: the request is not "
		                                 "between begin and end");
	rc = sonde_trace_inject(r->carrier, NULL, &out->trace);
	out->count = 0;
	for (size_t i = 0; i < out->trace.count; i++)
		out->headers[out->count++] = out->trace.headers[i];
	memcpy(out->request_id, r->request_id, sizeof(out->request_id));
	out->headers[out->count].name = "x-request-id";
	out->headers[out->count].name_len = 12;
	out->headers[out->count].value = out->request_id;
	out->headers[out->count].value_len = strlen(out->request_id);
	out->count++;
	return rc;
}

void sonde_http_headers_destroy(sonde_http_headers *out)
{
	if (!out)
		return;
	sonde_trace_headers_destroy(&out->trace);
	out->count = 0;
}
