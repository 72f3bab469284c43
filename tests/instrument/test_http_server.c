/*
 * tests/instrument/test_http_server.c - sonde_http_server: the RED metrics,
 * the SERVER span continuing the caller's trace, the correlation id (kept
 * or a UUID v4), the headers for the response and for outgoing calls, the
 * access log, configurable names and constant labels, the refusals, and
 * exact counts from several threads.
 */
#include <pthread.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

#define TP_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP_PARENT "00f067aa0ba902b7"

static const char *expose_text(sonde_registry *r, sonde_buf *b)
{
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, b));
	return b->data;
}

static sonde_header hdr(const char *n, const char *v)
{
	sonde_header h = {n, strlen(n), v, strlen(v)};
	return h;
}

static const sonde_span_attr *attr(const sonde_span *s, const char *key)
{
	for (uint32_t i = 0; i < s->attr_count; i++)
		if (strcmp(s->attrs[i].key, key) == 0)
			return &s->attrs[i];
	return NULL;
}

static sonde_http_server *server_on(sonde_registry *reg, sonde_logger *log)
{
	sonde_http_server_opts o;
	sonde_http_server *s;

	sonde_http_server_opts_init(&o);
	o.registry = reg;
	o.access_log = log;
	s = sonde_http_server_new(&o);
	ASSERT_NOT_NULL(s);
	return s;
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

TEST(http_server_continues_the_trace_and_counts)
{
	sonde_registry *reg = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_http_server *s = server_on(reg, NULL);
	sonde_http_request rq;
	sonde_http_request_info in;
	sonde_header h[4] = {hdr("traceparent", "00-" TP_TRACE "-" TP_PARENT "-01"),
	                     hdr("tracestate", "vendor=abc"), hdr("baggage", "tenant=acme"),
	                     hdr("X-Request-Id", "req-42")};
	sonde_header rh;
	sonde_http_headers out = SONDE_HTTP_HEADERS_INIT;
	const sonde_span_context *cur;
	char hex[33];

	sonde_http_request_info_init(&in, "GET", "/users/:id");
	in.path = "/users/7";
	in.path_len = SIZE_MAX;
	in.headers = h;
	in.nheaders = 4;
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	/* between begin and end: the span is current, one request in flight */
	cur = sonde_context_current();
	hex_of(cur->trace_id, 16, hex);
	ASSERT_STREQ(hex, TP_TRACE);
	hex_of(rq.span.parent_span_id, 8, hex);
	ASSERT_STREQ(hex, TP_PARENT);
	ASSERT_EQ_INT(rq.span.kind, SONDE_SPAN_KIND_SERVER);
	ASSERT_STREQ(rq.span.name, "GET /users/:id");
	ASSERT_STREQ(attr(&rq.span, "http.request.method")->v.str, "GET");
	ASSERT_STREQ(attr(&rq.span, "http.route")->v.str, "/users/:id");
	ASSERT_STREQ(attr(&rq.span, "url.path")->v.str, "/users/7");
	ASSERT_STREQ(sonde_http_request_id(&rq), "req-42");
	ASSERT_STREQ(cur->correlation_id, "req-42");
	ASSERT_CONTAINS(expose_text(reg, &b), "http_requests_in_flight 1\n");
	ASSERT_OK(sonde_http_request_response_header(&rq, &rh));
	ASSERT_EQ_INT(rh.name_len, 12);
	ASSERT_TRUE(memcmp(rh.name, "x-request-id", 12) == 0 && strcmp(rh.value, "req-42") == 0);
	/* outgoing: traceparent in the current context (the server span), the
	 * incoming tracestate and baggage, the request id */
	ASSERT_OK(sonde_http_request_outgoing(&rq, &out));
	ASSERT_EQ_INT(out.count, 4);
	hex_of(sonde_span_get_context(&rq.span)->span_id, 8, hex);
	ASSERT_CONTAINS(out.headers[0].value, TP_TRACE);
	ASSERT_CONTAINS(out.headers[0].value, hex);
	ASSERT_STREQ(out.headers[1].value, "vendor=abc");
	ASSERT_STREQ(out.headers[2].value, "tenant=acme");
	ASSERT_STREQ(out.headers[3].name, "x-request-id");
	ASSERT_STREQ(out.headers[3].value, "req-42");
	sonde_http_headers_destroy(&out);

	ASSERT_OK(sonde_http_request_end(&rq, 200, 123));
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	ASSERT_EQ_INT(rq.span.status, SONDE_SPAN_STATUS_UNSET);
	ASSERT_EQ_INT(attr(&rq.span, "http.response.status_code")->v.i, 200);
	expose_text(reg, &b);
	ASSERT_CONTAINS(
	        b.data,
	        "http_requests_total{method=\"GET\",route=\"/users/:id\",status=\"200\"} 1\n");
	ASSERT_CONTAINS(b.data, "http_request_duration_seconds_count{method=\"GET\",route=\"/users/"
	                        ":id\",status=\"200\"} 1\n");
	ASSERT_CONTAINS(b.data, "le=\"0.005\"");
	ASSERT_CONTAINS(b.data, "le=\"10\"");
	ASSERT_CONTAINS(b.data, "http_requests_in_flight 0\n");
	ASSERT_FALSE(strstr(b.data, "size_bytes"));
	/* the exemplar points at the request's trace (OpenMetrics) */
	ASSERT_OK(sonde_expose(reg, SONDE_FORMAT_OPENMETRICS, &b));
	ASSERT_CONTAINS(b.data, "trace_id=\"" TP_TRACE "\"");
	/* ended twice: refused, nothing counted again */
	ASSERT_EQ_INT(sonde_http_request_end(&rq, 200, 1), SONDE_ESTATE);
	ASSERT_STREQ(sonde_http_request_id(&rq), "");
	ASSERT_CONTAINS(expose_text(reg, &b), "status=\"200\"} 1\n");
	sonde_buf_destroy(&b);
	sonde_http_server_free(s);
	sonde_registry_free(reg);
}

static bool is_uuid4(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash != (s[i] == '-'))
			return false;
		if (!dash && !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

/* No request id: a fresh UUID v4 per request, on the log records through
 * the context; x-correlation-id is taken when x-request-id is absent; a
 * request without traceparent starts a trace. Unknown methods are
 * "other", a NULL route is "other". */
TEST(http_server_request_ids_and_labels)
{
	sonde_registry *reg = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_http_server *s = server_on(reg, NULL);
	sonde_http_request rq;
	sonde_http_request_info in;
	sonde_header h = hdr("x-correlation-id", "corr-1");
	char first[40];

	sonde_http_request_info_init(&in, "BREW", NULL);
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_TRUE(is_uuid4(sonde_http_request_id(&rq)));
	ASSERT_STREQ(sonde_context_current()->correlation_id, sonde_http_request_id(&rq));
	ASSERT_TRUE(sonde_span_context_valid(sonde_context_current()));
	snprintf(first, sizeof(first), "%s", sonde_http_request_id(&rq));
	ASSERT_OK(sonde_http_request_end(&rq, 404, -1));
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_TRUE(is_uuid4(sonde_http_request_id(&rq)));
	ASSERT_TRUE(strcmp(first, sonde_http_request_id(&rq)) != 0);
	ASSERT_OK(sonde_http_request_end(&rq, 404, -1));
	in.headers = &h;
	in.nheaders = 1;
	in.method = "POST";
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_STREQ(sonde_http_request_id(&rq), "corr-1");
	/* 5xx: error status on the span */
	ASSERT_OK(sonde_http_request_end(&rq, 503, -1));
	ASSERT_EQ_INT(rq.span.status, SONDE_SPAN_STATUS_ERROR);
	/* a status outside 100..599 is still counted, as "other" */
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_EQ_INT(sonde_http_request_end(&rq, 42, -1), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "status 42");
	expose_text(reg, &b);
	ASSERT_CONTAINS(b.data, "http_requests_total{method=\"other\",route=\"other\",status="
	                        "\"404\"} 2\n");
	ASSERT_CONTAINS(b.data, "http_requests_total{method=\"POST\",route=\"other\",status="
	                        "\"503\"} 1\n");
	ASSERT_CONTAINS(b.data, "http_requests_total{method=\"POST\",route=\"other\",status="
	                        "\"other\"} 1\n");
	sonde_buf_destroy(&b);
	sonde_http_server_free(s);
	sonde_registry_free(reg);
}

/* Names and labels as configured: status_code, endpoint, constant labels,
 * the size histograms on, the in-flight gauge off, native buckets. */
TEST(http_server_configured_names)
{
	static const char *const consts[] = {"service", "checkout", "environment", "prod"};
	sonde_registry *reg = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_http_server_opts o;
	sonde_http_server *s, *again;
	sonde_http_request rq;
	sonde_http_request_info in;

	sonde_http_server_opts_init(&o);
	o.registry = reg;
	o.requests_name = "api_requests_total";
	o.status_label = "status_code";
	o.route_label = "endpoint";
	o.const_labels = consts;
	o.nconst = 2;
	o.in_flight_name = "";
	o.request_size_name = "http_request_size_bytes";
	o.response_size_name = "http_response_size_bytes";
	o.native = SONDE_NATIVE_AND_CLASSIC;
	s = sonde_http_server_new(&o);
	ASSERT_NOT_NULL(s);
	again = sonde_http_server_new(&o); /* same definition: the same families */
	ASSERT_NOT_NULL(again);
	sonde_http_request_info_init(&in, "PUT", "/cart");
	in.request_bytes = 2000;
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_OK(sonde_http_request_end(&rq, 201, 50));
	ASSERT_OK(sonde_http_request_begin(again, &rq, &in));
	ASSERT_OK(sonde_http_request_end(&rq, 201, 50));
	expose_text(reg, &b);
	ASSERT_CONTAINS(b.data, "api_requests_total{method=\"PUT\",endpoint=\"/cart\",status_code="
	                        "\"201\",service=\"checkout\",environment=\"prod\"} 2\n");
	ASSERT_CONTAINS(b.data, "http_request_size_bytes_bucket{method=\"PUT\",endpoint=\"/cart\","
	                        "status_code=\"201\",service=\"checkout\",environment=\"prod\","
	                        "le=\"10000\"} 2\n");
	ASSERT_CONTAINS(b.data, "http_response_size_bytes_bucket{method=\"PUT\",endpoint=\"/"
	                        "cart\",status_code=\"201\",service=\"checkout\",environment="
	                        "\"prod\",le=\"100\"} 2\n");
	ASSERT_FALSE(strstr(b.data, "in_flight"));
	sonde_http_server_free(again);
	sonde_http_server_free(s);
	/* with the in-flight gauge: it carries the constant labels */
	o.in_flight_name = NULL;
	s = sonde_http_server_new(&o);
	ASSERT_NOT_NULL(s);
	ASSERT_CONTAINS(expose_text(reg, &b),
	                "http_requests_in_flight{service=\"checkout\",environment=\"prod\"} 0\n");
	sonde_http_server_free(s);
	sonde_buf_destroy(&b);
	sonde_registry_free(reg);
}

TEST(http_server_refusals)
{
	static const char *const dup[] = {"route", "x"};
	static const char *const bad_utf8[] = {"service", "\xff"};
	static const char *const many[2 * (SONDE_HTTP_CONST_LABELS_MAX + 1)] = {0};
	sonde_registry *reg = sonde_registry_new();
	sonde_http_server_opts o, small;
	sonde_http_server *s;
	sonde_http_request rq;
	sonde_http_request_info in;
	char long_route[SONDE_HTTP_ROUTE_MAX + 2];

	ASSERT_NULL(sonde_http_server_new(NULL));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	sonde_http_server_opts_init(&o);
	o.registry = reg;
	small = o;
	small.size = 8;
	ASSERT_NULL(sonde_http_server_new(&small));
	ASSERT_CONTAINS(sonde_last_error(), "options size");
	o.flags = 0x80;
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_CONTAINS(sonde_last_error(), "unknown flags");
	o.flags = 0;
	o.requests_name = "";
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_CONTAINS(sonde_last_error(), "requests_name cannot be off");
	o.requests_name = "bad name";
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	o.requests_name = NULL;
	o.status_label = "le";
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_CONTAINS(sonde_last_error(), "le");
	o.status_label = NULL;
	o.const_labels = dup;
	o.nconst = 1;
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_CONTAINS(sonde_last_error(), "\"route\" given twice");
	o.const_labels = bad_utf8;
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_CONTAINS(sonde_last_error(), "not UTF-8");
	o.const_labels = many;
	o.nconst = SONDE_HTTP_CONST_LABELS_MAX + 1;
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_CONTAINS(sonde_last_error(), "constant labels");
	o.const_labels = NULL;
	o.nconst = 0;
	/* a family of the name with another definition */
	ASSERT_NOT_NULL(sonde_gauge_new(reg, "http_requests_in_flight_x", "x"));
	o.requests_name = "http_requests_in_flight_x";
	ASSERT_NULL(sonde_http_server_new(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	o.requests_name = NULL;
	s = sonde_http_server_new(&o);
	ASSERT_NOT_NULL(s);

	sonde_http_request_info_init(&in, NULL, "/");
	ASSERT_EQ_INT(sonde_http_request_begin(s, &rq, &in), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_http_request_begin(NULL, &rq, &in), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_http_request_begin(s, NULL, &in), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_http_request_begin(s, &rq, NULL), SONDE_EINVAL);
	memset(long_route, 'r', sizeof(long_route) - 1);
	long_route[sizeof(long_route) - 1] = '\0';
	sonde_http_request_info_init(&in, "GET", long_route);
	ASSERT_EQ_INT(sonde_http_request_begin(s, &rq, &in), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "the limit is 128");
	sonde_http_request_info_init(&in, "GET", "/");
	in.nheaders = 2;
	ASSERT_EQ_INT(sonde_http_request_begin(s, &rq, &in), SONDE_EINVAL);
	memset(&rq, 0, sizeof(rq));
	ASSERT_EQ_INT(sonde_http_request_end(&rq, 200, 0), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_http_request_end(NULL, 200, 0), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_http_request_response_header(&rq, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_http_request_outgoing(NULL, NULL), SONDE_EINVAL);
	sonde_http_server_free(s);
	sonde_http_server_free(NULL);
	sonde_http_headers_destroy(NULL);
	sonde_http_server_opts_init(NULL);
	sonde_http_request_info_init(NULL, "GET", "/");
	sonde_registry_free(reg);
}

/* One access-log record per request: info, error for a 5xx, with the
 * request id and the trace id of the request's span. */
TEST(http_server_access_log)
{
	char path[64], *text;
	sonde_log_sink *sink;
	sonde_log_opts lo;
	sonde_logger *log;
	sonde_registry *reg = sonde_registry_new();
	sonde_http_server *s;
	sonde_http_request rq;
	sonde_http_request_info in;
	sonde_header h[2] = {hdr("traceparent", "00-" TP_TRACE "-" TP_PARENT "-01"),
	                     hdr("x-request-id", "abc")};

	snprintf(path, sizeof(path), "/tmp/sonde-http-log-%d.json", (int)getpid());
	unlink(path);
	sink = sonde_log_sink_file(path, NULL);
	ASSERT_NOT_NULL(sink);
	sonde_log_opts_init(&lo, "http-test");
	lo.level_env = "";
	lo.sinks = &sink;
	lo.sink_count = 1;
	log = sonde_logger_new(&lo);
	ASSERT_NOT_NULL(log);
	s = server_on(reg, log);
	sonde_http_request_info_init(&in, "GET", "/items");
	in.path = "/items?page=2";
	in.path_len = 6;
	in.headers = h;
	in.nheaders = 2;
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_OK(sonde_http_request_end(&rq, 200, 17));
	in.nheaders = 0;
	ASSERT_OK(sonde_http_request_begin(s, &rq, &in));
	ASSERT_OK(sonde_http_request_end(&rq, 500, -1));
	ASSERT_OK(sonde_log_flush());
	text = sonde_test_read_file(path);
	ASSERT_NOT_NULL(text);
	ASSERT_CONTAINS(text, "\"level\":\"info\"");
	ASSERT_CONTAINS(text, "\"correlation_id\":\"abc\",\"method\":\"GET\",\"route\":\"/"
	                      "items\",\"path\":\"/items\",\"status\":200");
	ASSERT_CONTAINS(text, "\"bytes\":17}");
	ASSERT_CONTAINS(text, "\"trace_id\":\"" TP_TRACE "\"");
	ASSERT_CONTAINS(text, "\"level\":\"error\"");
	ASSERT_CONTAINS(text, "\"status\":500");
	ASSERT_EQ_INT(sonde_test_count(text, "\"bytes\""), 1); /* unknown: left out */
	ASSERT_EQ_INT(sonde_test_count(text, "\"message\":\"request\""), 2);
	free(text);
	sonde_http_server_free(s);
	sonde_logger_free(log);
	sonde_log_sink_free(sink);
	unlink(path);
	sonde_registry_free(reg);
}

#define THREADS 4
#define PER_THREAD 2000

static void *hammer(void *arg)
{
	sonde_http_server *s = arg;
	sonde_http_request rq;
	sonde_http_request_info in;

	sonde_http_request_info_init(&in, "GET", "/hot");
	for (int i = 0; i < PER_THREAD; i++) {
		if (sonde_http_request_begin(s, &rq, &in) != SONDE_OK)
			return (void *)1;
		if (sonde_http_request_end(&rq, i % 10 ? 200 : 500, i) != SONDE_OK)
			return (void *)1;
	}
	return NULL;
}

/* Exact counts from several threads, each with the library's per-thread
 * carrier (freed at its exit), and nothing left in flight. */
TEST(http_server_threads_exact_counts)
{
	sonde_registry *reg = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_http_server *s = server_on(reg, NULL);
	pthread_t t[THREADS];
	char want[128];

	for (int i = 0; i < THREADS; i++)
		ASSERT_EQ_INT(pthread_create(&t[i], NULL, hammer, s), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		ASSERT_NULL(rc);
	}
	expose_text(reg, &b);
	snprintf(want, sizeof(want), "route=\"/hot\",status=\"200\"} %d\n",
	         THREADS * PER_THREAD * 9 / 10);
	ASSERT_CONTAINS(b.data, want);
	snprintf(want, sizeof(want), "route=\"/hot\",status=\"500\"} %d\n",
	         THREADS * PER_THREAD / 10);
	ASSERT_CONTAINS(b.data, want);
	ASSERT_CONTAINS(b.data, "http_requests_in_flight 0\n");
	sonde_buf_destroy(&b);
	sonde_http_server_free(s);
	sonde_registry_free(reg);
}
