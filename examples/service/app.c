/*
 * examples/service/app.c - the demo's routes and their instrumentation.
 *
 * Every request, good or bad, goes through demo_app_serve(), which is one
 * call pair of sonde's request instrumentation (include/sonde/http.h):
 *   1. sonde_http_request_begin() continues the caller's trace
 *      (traceparent, tracestate, baggage) in a SERVER span, keeps or makes
 *      the request id and counts the request in flight, so every log line
 *      and exemplar of the request carries its trace id;
 *   2. the route's handler fills the response;
 *   3. sonde_http_request_end() counts http_requests_total, observes
 *      http_request_duration_seconds (native and classic buckets, with an
 *      exemplar) and ends the span; the demo adds its own
 *      http_response_size_bytes summary and one JSON access-log line with
 *      the peer and the worker, before the response goes out.
 */
#include "app.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sonde.h>
#include <sonde/log.h>

#include "json.h"

#define TEXT_CAP 65536         /* response bodies the demo writes itself */
#define TEST_MAX_CALLBACKS 32  /* elements of one POST /test body */
#define TEST_DEADLINE_MS 10000 /* all callbacks of one POST /test */
#define TEST_CALL_TIMEOUT_MS 5000
#define WORK_MAX_MS 10000

struct demo_app {
	demo_config cfg;
	demo_server *srv;
	sonde_logger *log;      /* component=main */
	sonde_logger *http_log; /* component=http */
	sonde_health *health;
	sonde_http_server *http; /* http_requests_total, http_request_duration_seconds
	                            {method,route,status}, http_requests_in_flight */
	sonde_family *resp_size; /* http_response_size_bytes{route} (summary) */
	sonde_family *funcs[4];  /* callback metrics reading the server's state */
	size_t nfuncs;
};

/* Text the demo renders itself (JSON bodies, the index): a fixed buffer
 * that truncates rather than grows, and says so. */
typedef struct text {
	char *p;
	size_t len, cap;
	bool overflow;
} text;

struct demo_worker_ctx {
	demo_app *app;
	int id;
	sonde_buf metrics;              /* /metrics and health bodies (sonde fills it) */
	text out;                       /* other bodies */
	sonde_trace_carrier *carrier;   /* what the request brought */
	sonde_http_request *rq;         /* the request being served */
	sonde_http_headers headers;     /* what a /test callback carries */
	char extra[256];                /* the response's extra header lines */
	char *accept, *accept_encoding; /* NUL-terminated copies for sonde_expose_http */
	http_url *urls;                 /* TEST_MAX_CALLBACKS parsed callback URLs */
};

/* ---- text helpers --------------------------------------------------------------------- */

static void text_reset(text *t)
{
	t->len = 0;
	t->overflow = false;
	t->p[0] = '\0';
}

static void text_printf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->overflow = true;
		t->p[t->len] = '\0';
		return;
	}
	t->len += (size_t)n;
}

/* A JSON string literal for s[0..n): quotes, backslashes and control
 * characters escaped (RFC 8259 7). */
static void text_json_str(text *t, const char *s, size_t n)
{
	text_printf(t, "\"");
	for (size_t i = 0; i < n && !t->overflow; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			text_printf(t, "\\%c", c);
		else if (c < 0x20)
			text_printf(t, "\\u%04x", c);
		else
			text_printf(t, "%c", c);
	}
	text_printf(t, "\"");
}

/* ---- routes ------------------------------------------------------------------------------ */

typedef void (*handler_fn)(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);

static void handle_index(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);
static void handle_metrics(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);
static void handle_healthz(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);
static void handle_readyz(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);
static void handle_startupz(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);
static void handle_work(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);
static void handle_test(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);

typedef struct route {
	const char *path; /* also the route label */
	const char *method;
	const char *allow; /* the Allow header of a 405 */
	handler_fn fn;
} route;

static const route routes[] = {
        {"/", "GET", "Allow: GET\r\n", handle_index},
        {"/metrics", "GET", "Allow: GET\r\n", handle_metrics},
        {"/healthz", "GET", "Allow: GET\r\n", handle_healthz},
        {"/readyz", "GET", "Allow: GET\r\n", handle_readyz},
        {"/startupz", "GET", "Allow: GET\r\n", handle_startupz},
        {"/work", "GET", "Allow: GET\r\n", handle_work},
        {"/test", "POST", "Allow: POST\r\n", handle_test},
};

static const route *route_find(const char *path, size_t len)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == len && memcmp(routes[i].path, path, len) == 0)
			return &routes[i];
	return NULL;
}

static void reply_json_error(demo_worker_ctx *w, demo_exchange *ex, int status, const char *why)
{
	text_reset(&w->out);
	text_printf(&w->out, "{\"error\":");
	text_json_str(&w->out, why, strlen(why));
	text_printf(&w->out, ",\"status\":%d}\n", status);
	ex->res.status = status;
	ex->res.content_type = "application/json";
	ex->res.body = w->out.p;
	ex->res.body_len = w->out.len;
}

static void handle_index(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	(void)app;
	text_reset(&w->out);
	text_printf(
	        &w->out,
	        "sonde-demo %s: a small HTTP service instrumented with sonde.\n\n"
	        "GET  /metrics        Prometheus text 0.0.4 or OpenMetrics (Accept), gzip (Accept-Encoding)\n"
	        "GET  /healthz        liveness  (JSON; 200 or 503)\n"
	        "GET  /readyz         readiness (JSON; 200 or 503)\n"
	        "GET  /startupz       startup   (JSON; 200 or 503)\n"
	        "GET  /work?ms=N      simulated work of N ms (0..%d); &status=S answers S\n"
	        "POST /test           W3C Trace Context test-service protocol\n",
	        sonde_version(), WORK_MAX_MS);
	ex->res.status = 200;
	ex->res.content_type = "text/plain; charset=utf-8";
	ex->res.body = w->out.p;
	ex->res.body_len = w->out.len;
}

static void header_cstr(const http_request *req, const char *name, char *out, size_t cap)
{
	http_value_copy(http_header_find(req, name), out, cap);
}

static void handle_metrics(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	sonde_expose_result er;
	size_t cap = app->cfg.max_header_bytes + 1;
	int rc;

	header_cstr(ex->req, "accept", w->accept, cap);
	header_cstr(ex->req, "accept-encoding", w->accept_encoding, cap);
	rc = sonde_expose_http(NULL, w->accept, w->accept_encoding, &w->metrics, &er);
	if (rc != SONDE_OK) {
		reply_json_error(w, ex, 500, sonde_last_error());
		return;
	}
	ex->res.status = 200;
	ex->res.content_type = er.content_type;
	ex->res.content_encoding = er.content_encoding;
	ex->res.extra = "Vary: Accept, Accept-Encoding\r\n";
	ex->res.body = w->metrics.data;
	ex->res.body_len = w->metrics.len;
}

static void handle_probe(demo_app *app, demo_worker_ctx *w, demo_exchange *ex,
                         sonde_health_probe probe)
{
	int code = sonde_health_evaluate(app->health, probe, &w->metrics, NULL);

	if (code < 0) {
		reply_json_error(w, ex, 500, sonde_last_error());
		return;
	}
	ex->res.status = code;
	ex->res.content_type = "application/json";
	ex->res.extra = "Cache-Control: no-store\r\n";
	ex->res.body = w->metrics.data;
	ex->res.body_len = w->metrics.len;
}

static void handle_healthz(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	handle_probe(app, w, ex, SONDE_HEALTH_LIVENESS);
}

static void handle_readyz(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	handle_probe(app, w, ex, SONDE_HEALTH_READINESS);
}

static void handle_startupz(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	handle_probe(app, w, ex, SONDE_HEALTH_STARTUP);
}

/* A decimal query parameter in [lo, hi]; *out keeps def when absent. */
static bool query_int(const http_request *req, const char *key, long def, long lo, long hi,
                      long *out)
{
	const char *v;
	size_t n;
	long x = 0;

	*out = def;
	if (!http_query_get(req->query, req->query_len, key, &v, &n))
		return true;
	if (n == 0 || n > 6)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void handle_work(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	char trace_hex[33];
	sonde_span work;
	long ms, status;

	if (!query_int(ex->req, "ms", 0, 0, WORK_MAX_MS, &ms)) {
		reply_json_error(w, ex, 400, "ms must be an integer from 0 to 10000");
		return;
	}
	if (!query_int(ex->req, "status", 200, 200, 599, &status)) {
		reply_json_error(w, ex, 400, "status must be an integer from 200 to 599");
		return;
	}
	/* a child span of the request's server span: its duration lands in
	 * span_duration_seconds{name="work",status="ok"} */
	sonde_span_start(&work, "work");
	sonde_span_set_int(&work, "work.ms", ms);
	/* below the level: kept by the flight recorder, written only before
	 * this request's error line (a 5xx) */
	LOG_DEBUG(app->http_log, "work started", LOG_INT("ms", ms), LOG_INT("status", status));
	sleep_ms(ms);
	sonde_id_to_hex(sonde_span_get_context(&work)->trace_id, 16, trace_hex);
	sonde_span_end(&work);

	text_reset(&w->out);
	text_printf(&w->out, "{\"ms\":%ld,\"status\":%ld,\"trace_id\":\"%s\"}\n", ms, status,
	            trace_hex);
	ex->res.status = (int)status;
	ex->res.content_type = "application/json";
	ex->res.body = w->out.p;
	ex->res.body_len = w->out.len;
}

/* ---- POST /test: the W3C Trace Context test-service protocol -----------------------------
 * Body: [{"url": "...", "arguments": [...]}, ...]. For each element, POST
 * the JSON of "arguments" to "url" with the propagated traceparent and
 * tracestate; answer only after every callback returned (w3c/trace-context
 * test/README.md). Each callback is a client span, child of the request's
 * server span, so each carries a new parent-id.
 */

typedef struct test_call {
	const char *args;
	size_t args_len;
} test_call;

/* The error field of a 5xx request line: type "HTTPError", the status as
 * its message's start (ECS error.type/error.message, OTel exception.*). */
static void server_error(sonde_log_tree *t, unsigned char *mem, size_t cap, int status,
                         const char *why)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%d %s", status, why ? why : "");
	sonde_log_tree_init(t, mem, cap);
	if (sonde_log_tree_error(t, "HTTPError", SIZE_MAX, msg, SIZE_MAX, NULL, 0) != SONDE_OK) {
		/* cannot fail with this buffer; it would be written as null */
	}
}

/* Parses and validates the whole body before making any call. */
static bool test_parse(demo_worker_ctx *w, const char *body, size_t len, test_call *calls,
                       size_t *ncalls, const char **why)
{
	json_reader r;
	char url[sizeof(w->urls[0].path) + 300];
	size_t n = 0;

	json_reader_init(&r, body, len);
	if (!json_expect(&r, '['))
		goto bad;
	if (!json_accept(&r, ']')) {
		do {
			bool have_url = false;

			if (n == TEST_MAX_CALLBACKS) {
				*why = "at most 32 callbacks per request";
				return false;
			}
			calls[n].args = "[]";
			calls[n].args_len = 2;
			if (!json_expect(&r, '{'))
				goto bad;
			if (!json_accept(&r, '}')) {
				do {
					json_reader kr;
					const char *ks, *ke;
					char key[32];

					/* the key, validated; decoded only when short enough
					 * to be one we know ("url", "arguments") */
					if (!json_skip_value(&r, &ks, &ke) || *ks != '"')
						goto bad;
					json_reader_init(&kr, ks, (size_t)(ke - ks));
					if (!json_read_string(&kr, key, sizeof(key), NULL))
						key[0] = '\0';
					if (!json_expect(&r, ':'))
						goto bad;
					if (strcmp(key, "url") == 0) {
						size_t ulen;
						if (!json_read_string(&r, url, sizeof(url), &ulen))
							goto bad;
						if (!http_url_parse(url, ulen, &w->urls[n])) {
							*why = "url must be http://host[:port]/path";
							return false;
						}
						have_url = true;
					} else if (strcmp(key, "arguments") == 0) {
						const char *s, *e;
						if (!json_skip_value(&r, &s, &e))
							goto bad;
						calls[n].args = s;
						calls[n].args_len = (size_t)(e - s);
					} else if (!json_skip_value(&r, NULL, NULL)) {
						goto bad;
					}
				} while (json_accept(&r, ','));
				if (!json_expect(&r, '}'))
					goto bad;
			}
			if (!have_url) {
				*why = "each element needs a \"url\"";
				return false;
			}
			n++;
		} while (json_accept(&r, ','));
		if (!json_expect(&r, ']'))
			goto bad;
	}
	if (!json_at_end(&r)) {
		*why = "invalid JSON: text after the array";
		return false;
	}
	*ncalls = n;
	return true;
bad:
	*why = r.err ? r.err : "invalid JSON";
	return false;
}

static void handle_test(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	test_call calls[TEST_MAX_CALLBACKS];
	size_t ncalls = 0, failed = 0;
	const char *why = NULL;
	int64_t deadline = sonde_now_mono_ns() / 1000000 + TEST_DEADLINE_MS;

	if (!test_parse(w, ex->body, ex->body_len, calls, &ncalls, &why)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "bad /test body: %s", why);
		reply_json_error(w, ex, 400, msg);
		return;
	}
	text_reset(&w->out);
	text_printf(&w->out, "{\"callbacks\":[");
	for (size_t i = 0; i < ncalls; i++) {
		sonde_span client;
		char err[300] = "";
		int64_t left = deadline - sonde_now_mono_ns() / 1000000;
		int status = -1;

		sonde_span_start(&client, "POST callback");
		sonde_span_set_kind(&client, SONDE_SPAN_KIND_CLIENT);
		sonde_span_set_str(&client, "http.url.host", w->urls[i].host);
		if (left <= 0) {
			snprintf(err, sizeof(err),
			         "no time left for this callback (10 s per /test)");
		} else if (sonde_http_request_outgoing(w->rq, &w->headers) != SONDE_OK) {
			snprintf(err, sizeof(err), "outgoing headers: %s", sonde_last_error());
		} else {
			status = http_post_json(&w->urls[i], w->headers.headers, w->headers.count,
			                        calls[i].args, calls[i].args_len,
			                        left < TEST_CALL_TIMEOUT_MS ? (int)left
			                                                    : TEST_CALL_TIMEOUT_MS,
			                        !app->cfg.allow_remote_callbacks, err, sizeof(err));
		}
		sonde_span_set_int(&client, "http.status_code", status);
		if (status < 0) {
			failed++;
			sonde_span_set_error(&client, "callback failed");
			LOG_WARN(app->http_log, "callback failed", LOG_INT("index", (int64_t)i),
			         LOG_STR("host", w->urls[i].host), LOG_STR("port", w->urls[i].port),
			         LOG_STR("path", w->urls[i].path), LOG_STR("error", err));
		} else {
			LOG_INFO(app->http_log, "callback", LOG_INT("index", (int64_t)i),
			         LOG_STR("host", w->urls[i].host), LOG_STR("port", w->urls[i].port),
			         LOG_STR("path", w->urls[i].path), LOG_INT("status", status),
			         LOG_STR("traceparent", w->headers.trace.traceparent));
		}
		sonde_span_end(&client);
		text_printf(&w->out, "%s{\"status\":%d", i ? "," : "", status);
		if (status < 0) {
			text_printf(&w->out, ",\"error\":");
			text_json_str(&w->out, err, strlen(err));
		}
		text_printf(&w->out, "}");
	}
	text_printf(&w->out, "]}\n");
	if (w->out.overflow) { /* long error messages: send the counts only */
		text_reset(&w->out);
		text_printf(&w->out, "{\"callbacks\":%zu,\"failed\":%zu}\n", ncalls, failed);
	}
	/* 502: the request was fine, a callback it asked for was not */
	ex->res.status = failed ? 502 : 200;
	ex->res.content_type = "application/json";
	ex->res.body = w->out.p;
	ex->res.body_len = w->out.len;
}

/* ---- the one entry point ---------------------------------------------------------------- */

void demo_app_serve(demo_app *app, demo_worker_ctx *w, demo_exchange *ex)
{
	const http_request *req = ex->req;
	const route *rt = req ? route_find(req->path, req->path_len) : NULL;
	sonde_http_request rq;
	sonde_http_request_info in;
	sonde_header rid;
	const char *rlabel = rt ? rt->path : "other", *mlabel;
	bool begun, scoped = false;
	sonde_log_scope scope;
	sonde_log_tree err;
	unsigned char err_mem[512];
	int64_t ns, t1;
	size_t bytes;
	int status, n;

	/* a request without a parsable head brings no headers: begin starts a
	 * new trace, so even a 400 has a trace id and a request id in its log */
	sonde_http_request_info_init(&in, req ? req->method : "other", rt ? rt->path : NULL);
	in.method_len = req ? req->method_len : SIZE_MAX;
	if (req) {
		in.path = req->path;
		in.path_len = req->path_len;
		in.headers = req->headers;
		in.nheaders = req->nheaders;
		in.request_bytes = (int64_t)ex->body_len;
	}
	in.carrier = w->carrier;
	begun = sonde_http_request_begin(app->http, &rq, &in) == SONDE_OK;
	mlabel = begun ? rq.method : "other";
	w->rq = &rq;
	/* every record of this request, the handler's and the request line,
	 * carries its request id as a scoped field (as MDC would) */
	if (begun) {
		sonde_log_field rf = sonde_log_field_str("request_id", sonde_http_request_id(&rq));
		scoped = sonde_log_scope_push(&scope, &rf, 1) == SONDE_OK;
	}

	memset(&ex->res, 0, sizeof(ex->res));
	if (ex->error_status)
		reply_json_error(w, ex, ex->error_status, ex->error);
	else if (!rt)
		reply_json_error(w, ex, 404, "no such path; GET / lists the endpoints");
	else if (strlen(rt->method) != req->method_len ||
	         memcmp(rt->method, req->method, req->method_len) != 0) {
		reply_json_error(w, ex, 405, "method not allowed");
		ex->res.extra = rt->allow;
	} else
		rt->fn(app, w, ex);

	status = ex->res.status;
	bytes = ex->res.body_len;
	/* the response carries the request id (x-request-id) */
	if (begun && sonde_http_request_response_header(&rq, &rid) == SONDE_OK) {
		n = snprintf(w->extra, sizeof(w->extra), "%s%.*s: %.*s\r\n",
		             ex->res.extra ? ex->res.extra : "", (int)rid.name_len, rid.name,
		             (int)rid.value_len, rid.value);
		if (n > 0 && (size_t)n < sizeof(w->extra))
			ex->res.extra = w->extra;
	}
	sonde_summary_observe(sonde_summary_with(app->resp_size, rlabel), (double)bytes);
	/* one end time for the log line and the histogram */
	t1 = sonde_now_mono_ns();
	ns = begun ? t1 - rq.t0_mono_ns : 0;

	/* The level says who is at fault: a 5xx is the service's (error, what
	 * teams alert on), a rejected 4xx the client's (warn). Logged inside
	 * the span: the line carries the request's trace and request id. */
	if (ex->error_status && status >= 500) {
		server_error(&err, err_mem, sizeof(err_mem), status, ex->error);
		LOG_ERROR(app->http_log, "request rejected", LOG_STR("method", mlabel),
		          LOG_STRN("path", req ? req->path : "", req ? req->path_len : 0),
		          LOG_STR("route", rlabel), LOG_INT("status", status),
		          LOG_DOUBLE("duration_ms", (double)ns / 1e6), LOG_ERR("error", &err),
		          LOG_STR("peer", ex->peer), LOG_INT("worker", ex->worker));
	} else if (ex->error_status) {
		LOG_WARN(app->http_log, "request rejected", LOG_STR("method", mlabel),
		         LOG_STRN("path", req ? req->path : "", req ? req->path_len : 0),
		         LOG_STR("route", rlabel), LOG_INT("status", status),
		         LOG_DOUBLE("duration_ms", (double)ns / 1e6), LOG_STR("error", ex->error),
		         LOG_STR("peer", ex->peer), LOG_INT("worker", ex->worker));
	} else if (status >= 500) {
		server_error(&err, err_mem, sizeof(err_mem), status, http_reason(status));
		LOG_ERROR(app->http_log, "request", LOG_STR("method", mlabel),
		          LOG_STRN("path", req->path, req->path_len), LOG_STR("route", rlabel),
		          LOG_INT("status", status), LOG_DOUBLE("duration_ms", (double)ns / 1e6),
		          LOG_UINT("bytes", bytes), LOG_STR("peer", ex->peer),
		          LOG_INT("worker", ex->worker),
		          LOG_BOOL("trace_continued", sonde_trace_carrier_continued(w->carrier)),
		          LOG_ERR("error", &err));
	} else {
		LOG_INFO(app->http_log, "request", LOG_STR("method", mlabel),
		         LOG_STRN("path", req->path, req->path_len), LOG_STR("route", rlabel),
		         LOG_INT("status", status), LOG_DOUBLE("duration_ms", (double)ns / 1e6),
		         LOG_UINT("bytes", bytes), LOG_STR("peer", ex->peer),
		         LOG_INT("worker", ex->worker),
		         LOG_BOOL("trace_continued", sonde_trace_carrier_continued(w->carrier)));
	}
	w->rq = NULL;
	if (scoped && sonde_log_scope_pop(&scope) != SONDE_OK)
		LOG_WARN(app->http_log, "log scope", LOG_STR("error", sonde_last_error()));
	if (begun)
		(void)sonde_http_request_end_at(&rq, status, (int64_t)bytes, t1);
}

/* ---- health checks -----------------------------------------------------------------------------
 */

/* liveness: no worker is stuck. The longest legitimate hold of a worker
 * is a request read to its deadline, 10 s of /work or /test, and a slow
 * reader's write timeout; twice that means something hangs. */
static sonde_health_result check_workers(void *user, char *msg, size_t cap)
{
	demo_app *app = user;
	demo_server_stats st;
	int64_t limit = 2 * ((int64_t)app->cfg.read_timeout_ms + app->cfg.write_timeout_ms +
	                     TEST_DEADLINE_MS);

	demo_server_stats_get(app->srv, &st);
	if (st.longest_busy_ms > limit) {
		snprintf(msg, cap, "a worker has been busy for %lld ms (limit %lld ms)",
		         (long long)st.longest_busy_ms, (long long)limit);
		return SONDE_HEALTH_FAIL;
	}
	snprintf(msg, cap, "%d of %d workers busy", st.busy, st.workers);
	return SONDE_HEALTH_PASS;
}

/* readiness: accepting and not swamped. */
static sonde_health_result check_accepting(void *user, char *msg, size_t cap)
{
	demo_app *app = user;
	demo_server_stats st;

	demo_server_stats_get(app->srv, &st);
	if (st.draining) {
		snprintf(msg, cap, "shutting down");
		return SONDE_HEALTH_FAIL;
	}
	if (!st.running) {
		snprintf(msg, cap, "workers not started");
		return SONDE_HEALTH_FAIL;
	}
	if (st.queued * 4 >= st.queue_cap * 3) {
		snprintf(msg, cap, "%zu of %zu queue slots used", st.queued, st.queue_cap);
		return SONDE_HEALTH_WARN;
	}
	return SONDE_HEALTH_PASS;
}

/* startup: the listener is bound and the workers run. */
static sonde_health_result check_listener(void *user, char *msg, size_t cap)
{
	demo_app *app = user;
	demo_server_stats st;

	demo_server_stats_get(app->srv, &st);
	if (!st.running) {
		snprintf(msg, cap, "starting");
		return SONDE_HEALTH_FAIL;
	}
	snprintf(msg, cap, "listening on %s", demo_server_address(app->srv));
	return SONDE_HEALTH_PASS;
}

static double gauge_busy(void *user)
{
	demo_server_stats st;
	demo_server_stats_get(user, &st);
	return st.busy;
}

static double gauge_queued(void *user)
{
	demo_server_stats st;
	demo_server_stats_get(user, &st);
	return (double)st.queued;
}

static double gauge_idle(void *user)
{
	demo_server_stats st;
	demo_server_stats_get(user, &st);
	return (double)st.parked;
}

static double counter_rejected(void *user)
{
	demo_server_stats st;
	demo_server_stats_get(user, &st);
	return (double)st.rejected;
}

int demo_app_attach(demo_app *app, demo_server *srv, char *err, size_t err_cap)
{
	static const struct {
		const char *name;
		sonde_health_fn fn;
		unsigned probes;
	} checks[] = {
	        {"workers", check_workers, SONDE_HEALTH_LIVENESS},
	        {"accepting", check_accepting, SONDE_HEALTH_READINESS},
	        {"listener", check_listener, SONDE_HEALTH_STARTUP},
	};
	sonde_health_opts ho;

	app->srv = srv;
	sonde_health_opts_init(&ho);
	ho.version = sonde_version();
	ho.free_wait_ms = 1000;
	app->health = sonde_health_new(&ho);
	if (!app->health)
		goto fail;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		sonde_health_check_opts c;
		sonde_health_check_opts_init(&c, checks[i].name, checks[i].fn, app);
		c.probes = checks[i].probes;
		c.timeout_ms = 500;
		if (sonde_health_add_check(app->health, &c) != SONDE_OK)
			goto fail;
	}
	app->funcs[0] =
	        sonde_gauge_func_new(NULL, "demo_workers_busy",
	                             "Worker threads handling a connection.", gauge_busy, srv);
	app->funcs[1] = sonde_gauge_func_new(NULL, "demo_connections_queued",
	                                     "Accepted connections waiting for a worker.",
	                                     gauge_queued, srv);
	app->funcs[2] = sonde_gauge_func_new(
	        NULL, "demo_connections_idle",
	        "Kept-alive connections waiting for their next request.", gauge_idle, srv);
	app->funcs[3] = sonde_counter_func_new(
	        NULL, "demo_connections_rejected_total",
	        "Connections answered 503 because every worker was busy and the queue full.",
	        counter_rejected, srv);
	app->nfuncs = 4;
	for (size_t i = 0; i < app->nfuncs; i++)
		if (!app->funcs[i])
			goto fail;
	return 0;
fail:
	snprintf(err, err_cap, "%s", sonde_last_error());
	return -1;
}

/* ---- lifecycle
 * ------------------------------------------------------------------------------------------ */

/* OTLP export of the spans (one SERVER span per request, continuing the
 * caller's traceparent, and its children) when an OTLP endpoint is set
 * in the environment; every OTEL_* variable applies (sonde/export.h). */
static void start_otlp(sonde_logger *log)
{
	const char *e = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	const char *te = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	const char *svc = getenv("OTEL_SERVICE_NAME");
	int rc;

	if ((!e || !*e) && (!te || !*te))
		return;
	/* the default service name; OTEL_SERVICE_NAME (read by the start) wins */
	if ((!svc || !*svc) && sonde_resource_set_service("sonde-demo", NULL, NULL) != SONDE_OK)
		LOG_WARN(log, "otlp service name", LOG_STR("error", sonde_last_error()));
	rc = sonde_otlp_start(NULL);
	if (rc == SONDE_OK && sonde_otlp_running())
		LOG_INFO(log, "otlp export on", LOG_STR("endpoint", te && *te ? te : e));
	else if (rc == SONDE_EINVAL)
		LOG_WARN(log, "otlp export on, with defaults for invalid settings",
		         LOG_STR("error", sonde_last_error()));
	else if (rc != SONDE_OK)
		LOG_ERROR(log, "otlp export off", LOG_STR("error", sonde_last_error()));
}

demo_app *demo_app_new(const demo_config *cfg, char *err, size_t err_cap)
{
	static const char *const route_label[] = {"route"};
	sonde_http_server_opts ho;
	sonde_metric_opts mo;
	sonde_log_opts lo;
	sonde_log_field f;
	demo_app *app = calloc(1, sizeof(*app));

	if (!app) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	app->cfg = *cfg;
	/* http_requests_total, http_request_duration_seconds and
	 * http_requests_in_flight, with the default names and labels; native
	 * and classic buckets on the duration: a Prometheus with native
	 * histograms enabled scrapes protobuf and stores the native histogram
	 * (factor 1.1: schema 3), every other scraper gets the default classic
	 * buckets. The demo writes its own access-log line (with the peer and
	 * the worker), so the instrument has no logger. */
	sonde_http_server_opts_init(&ho);
	ho.native = SONDE_NATIVE_AND_CLASSIC;
	ho.native_bucket_factor = 1.1;
	app->http = sonde_http_server_new(&ho);
	sonde_metric_opts_init(&mo, SONDE_TYPE_SUMMARY, "http_response_size_bytes",
	                       "Response body sizes as sent (after compression), by route.");
	mo.label_names = route_label;
	mo.label_count = 1;
	mo.max_age_seconds = 60;
	app->resp_size = sonde_family_new(NULL, &mo);
	if (!app->http || !app->resp_size)
		goto fail;
	/* span_duration_seconds{name,status}: every span's duration and
	 * outcome, "work" included */
	if (sonde_trace_enable_span_metrics(NULL, NULL) != SONDE_OK)
		goto fail;

	sonde_log_opts_init(&lo, "sonde-demo");
	/* the flight recorder: DEBUG lines are kept per thread and written,
	 * marked "_replayed", before the next ERROR (a 5xx) of that thread */
	lo.flight_recorder = 1;
	app->log = sonde_logger_new(&lo); /* JSON lines on stdout; LOG_LEVEL overrides */
	start_otlp(app->log);
	if (!app->log)
		goto fail;
	/* a crash writes what the rings hold, then a "crash" line */
	if (sonde_log_crash_flush_enable() != SONDE_OK)
		goto fail;
	f = sonde_log_field_str("component", "http");
	app->http_log = sonde_logger_child(app->log, &f, 1);
	if (!app->http_log)
		goto fail;
	/* app->log, the first root logger, is the process's default logger:
	 * each ended span writes a "span" line (name, duration, status, its
	 * ids) through it with no further call */
	return app;
fail:
	snprintf(err, err_cap, "%s", sonde_last_error());
	demo_app_free(app);
	return NULL;
}

demo_worker_ctx *demo_app_worker_new(demo_app *app, int id)
{
	demo_worker_ctx *w = calloc(1, sizeof(*w));
	sonde_http_headers init = SONDE_HTTP_HEADERS_INIT;

	if (!w)
		return NULL;
	w->app = app;
	w->id = id;
	w->headers = init;
	w->out.cap = TEXT_CAP;
	w->out.p = malloc(TEXT_CAP);
	w->accept = malloc(app->cfg.max_header_bytes + 1);
	w->accept_encoding = malloc(app->cfg.max_header_bytes + 1);
	w->urls = calloc(TEST_MAX_CALLBACKS, sizeof(*w->urls));
	w->carrier = sonde_trace_carrier_new();
	if (!w->out.p || !w->accept || !w->accept_encoding || !w->urls || !w->carrier) {
		demo_app_worker_free(w);
		return NULL;
	}
	return w;
}

void demo_app_worker_free(demo_worker_ctx *w)
{
	if (!w)
		return;
	sonde_buf_destroy(&w->metrics);
	sonde_http_headers_destroy(&w->headers);
	sonde_trace_carrier_free(w->carrier);
	free(w->out.p);
	free(w->accept);
	free(w->accept_encoding);
	free(w->urls);
	free(w);
}

void demo_app_log_started(demo_app *app, const char *address, int threads)
{
	LOG_INFO(app->log, "listening", LOG_STR("address", address), LOG_INT("workers", threads),
	         LOG_STR("version", sonde_version()));
}

void demo_app_log_stopped(demo_app *app, const char *why)
{
	LOG_INFO(app->log, "stopped", LOG_STR("reason", why));
}

void demo_app_detach(demo_app *app)
{
	if (!app)
		return;
	/* no health check or gauge callback may read the server after this */
	sonde_health_free(app->health);
	app->health = NULL;
	for (size_t i = 0; i < app->nfuncs; i++) {
		if (app->funcs[i] && sonde_registry_unregister(NULL, app->funcs[i]) != SONDE_OK) {
			/* not registered: nothing reads it */
		}
		app->funcs[i] = NULL;
	}
	app->nfuncs = 0;
	app->srv = NULL;
}

void demo_app_free(demo_app *app)
{
	if (!app)
		return;
	demo_app_detach(app);
	/* the spans still queued, sent within 2 s (a dead collector does not
	 * hold the exit longer) */
	if (sonde_otlp_running() && sonde_otlp_shutdown(2000) != SONDE_OK)
		LOG_WARN(app->log, "otlp shutdown", LOG_STR("error", sonde_last_error()));
	if (sonde_trace_set_span_histogram(NULL) != SONDE_OK) {
		/* NULL always succeeds */
	}
	sonde_logger_free(app->http_log);
	sonde_logger_free(app->log);
	if (sonde_log_shutdown() != SONDE_OK) {
		/* a drain that timed out: the lost records are counted */
	}
	sonde_http_server_free(app->http);
	free(app);
}
