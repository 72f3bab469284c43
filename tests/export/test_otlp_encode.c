/*
 * tests/export/test_otlp_encode.c - the OTLP encoders checked by the
 * OpenTelemetry project's own definitions: the bytes are decoded by the
 * protobufjs root of @opentelemetry/otlp-transformer@0.52.1
 * (tests/otlp/otlp_decode.js), never by a decoder of ours. The JSON body
 * of the same spans must be made of the messages' fields only and decode
 * to the same request.
 */
#include <unistd.h>

#include "export/otlp.h"
#include "sonde.h"
#include "test.h"

#define NODE_CHECKER SONDE_SRC_DIR "/tests/otlp/otlp_decode.js"

/* The ended records, captured by a processor of the test's own. */
static sonde__span_data *got[16];
static size_t ngot;

static void capture(sonde__span_data *d, void *arg)
{
	(void)arg;
	if (ngot < SONDE_ARRAY_LEN(got))
		got[ngot++] = d;
	else
		sonde__span_data_free(d);
}

static const sonde__span_processor capture_proc = {capture, NULL};

static void release(void)
{
	sonde__trace_set_processor(NULL);
	for (size_t i = 0; i < ngot; i++)
		sonde__span_data_free(got[i]);
	ngot = 0;
}

void otlp_test_require_node(void);
void otlp_test_require_node(void)
{
	if (!sonde_test_have("node"))
		FAIL("node not found: apt-get install nodejs npm, then make otlp-deps");
	if (access(SONDE_SRC_DIR "/tests/otlp/node_modules/@opentelemetry/otlp-transformer/"
	                         "package.json",
	           R_OK) != 0)
		FAIL("@opentelemetry/otlp-transformer missing: make otlp-deps");
}

/* Runs the checker on pb (and json when not NULL); returns its output. */
static char *decode(const sonde_buf *pb, const sonde_buf *json)
{
	const char *argv[] = {"node", NODE_CHECKER, "traces", NULL, NULL, NULL};
	char *out = NULL;
	int rc;

	otlp_test_require_node();
	argv[3] = sonde_test_tmpfile(0, pb->data, pb->len);
	if (json)
		argv[4] = sonde_test_tmpfile(1, json->data, json->len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("otlp_decode.js exited %d:\n%s", rc, out ? out : "");
	return out;
}

static void hex(char *out, const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

/* "prefix.key=value" as one whole line of out */
static void expect_line(const char *out, const char *line)
{
	size_t n = strlen(line);
	const char *p = out;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return;
		p += 1;
	}
	FAIL("line \"%s\" not found in:\n%s", line, out);
}

#define S0 "resourceSpans.0.scopeSpans.0.spans.0"
#define S1 "resourceSpans.0.scopeSpans.0.spans.1"

TEST(otlp_encode_traces_every_field)
{
	static const char *const strs[] = {"a", "", "ü"};
	static const int64_t ints[] = {-1, 0, INT64_MAX};
	static const double dbls[] = {0.5, -2.25};
	static const bool bools[] = {true, false};
	sonde_span_context link_ctx;
	sonde_span parent, child;
	sonde_buf pb = SONDE_BUF_INIT, js = SONDE_BUF_INIT;
	sonde_span_attr la[1];
	char line[512], tid[33], sid[17], pid[17], ltid[33], lsid[17];
	char *out;

	ASSERT_OK(sonde_resource_set_service("checkout", "1.2.3", "staging"));
	ASSERT_OK(sonde_trace_set_scope("my.lib", "0.9"));
	sonde__trace_set_processor(&capture_proc);

	memset(&link_ctx, 0, sizeof(link_ctx));
	for (int i = 0; i < 16; i++)
		link_ctx.trace_id[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 8; i++)
		link_ctx.span_id[i] = (uint8_t)(0x10 + i);
	link_ctx.trace_flags = 1;

	sonde_span_start(&parent, "GET /cart");
	sonde_span_set_kind(&parent, SONDE_SPAN_KIND_SERVER);
	sonde_span_set_str(&parent, "http.request.method", "GET");
	sonde_span_set_int(&parent, "http.response.status_code", 503);
	sonde_span_set_int(&parent, "neg", INT64_MIN);
	sonde_span_set_double(&parent, "ratio", 0.125);
	sonde_span_set_bool(&parent, "cached", false);
	sonde_span_set_strn(&parent, "raw", "ok\xff", 3);
	sonde_span_set_str_array(&parent, "tags", strs, 3);
	sonde_span_set_int_array(&parent, "ints", ints, 3);
	sonde_span_set_double_array(&parent, "dbls", dbls, 2);
	sonde_span_set_bool_array(&parent, "bools", bools, 2);
	sonde_span_set_int_array(&parent, "empty", NULL, 0);
	{
		sonde_span_attr ea[2] = {sonde_attr_str("k", "v"), sonde_attr_int("n", 7)};
		sonde_span_add_event_at(&parent, "cache.miss", 1700000000123456789LL, ea, 2);
	}
	sonde_span_record_exception(&parent, "IOError", "disk full", "at f()\nat g()");
	la[0] = sonde_attr_bool("follows", true);
	sonde_span_add_link(&parent, &link_ctx, la, 1);
	sonde_span_set_error(&parent, "upstream down");

	sonde_span_start(&child, "work");
	sonde_span_set_kind(&child, SONDE_SPAN_KIND_CLIENT);
	sonde_span_end(&child);
	sonde_span_end(&parent);
	ASSERT_EQ_INT(ngot, 2); /* child first */

	sonde__otlp_traces_pb(&pb, got, ngot);
	sonde__otlp_traces_json(&js, got, ngot);
	ASSERT_FALSE(pb.oom || js.oom);
	out = decode(&pb, &js);
	ASSERT_CONTAINS(out, "json: equal");

	/* resource and scope */
	expect_line(out, "resourceSpans.0.resource.attributes[service.name].stringValue=checkout");
	expect_line(out, "resourceSpans.0.resource.attributes[service.version].stringValue=1.2.3");
	expect_line(
	        out,
	        "resourceSpans.0.resource.attributes[deployment.environment].stringValue=staging");
	expect_line(out,
	            "resourceSpans.0.resource.attributes[telemetry.sdk.name].stringValue=sonde");
	snprintf(line, sizeof(line), "resourceSpans.0.resource.attributes[process.pid].intValue=%d",
	         (int)getpid());
	expect_line(out, line);
	expect_line(out, "resourceSpans.0.scopeSpans.0.scope.name=my.lib");
	expect_line(out, "resourceSpans.0.scopeSpans.0.scope.version=0.9");

	/* the child: ids, parent id, kind, times */
	hex(tid, got[1]->trace_id, 16);
	hex(pid, got[1]->span_id, 8);
	hex(sid, got[0]->span_id, 8);
	snprintf(line, sizeof(line), S0 ".traceId=%s", tid);
	expect_line(out, line);
	snprintf(line, sizeof(line), S0 ".spanId=%s", sid);
	expect_line(out, line);
	snprintf(line, sizeof(line), S0 ".parentSpanId=%s", pid);
	expect_line(out, line);
	expect_line(out, S0 ".name=work");
	expect_line(out, S0 ".kind=3");
	snprintf(line, sizeof(line), S0 ".startTimeUnixNano=%" PRId64, got[0]->start_unix_ns);
	expect_line(out, line);
	snprintf(line, sizeof(line), S0 ".endTimeUnixNano=%" PRId64, got[0]->end_unix_ns);
	expect_line(out, line);
	ASSERT_TRUE(got[0]->end_unix_ns >= got[0]->start_unix_ns);
	ASSERT_TRUE(got[0]->start_unix_ns > 1600000000000000000LL);

	/* the parent: a root (no parentSpanId), server, every attribute type */
	snprintf(line, sizeof(line), S1 ".traceId=%s", tid);
	expect_line(out, line);
	snprintf(line, sizeof(line), S1 ".spanId=%s", pid);
	expect_line(out, line);
	ASSERT_NOT_CONTAINS(out, S1 ".parentSpanId");
	expect_line(out, S1 ".name=GET /cart");
	expect_line(out, S1 ".kind=2");
	expect_line(out, S1 ".attributes[http.request.method].stringValue=GET");
	expect_line(out, S1 ".attributes[http.response.status_code].intValue=503");
	expect_line(out, S1 ".attributes[neg].intValue=-9223372036854775808");
	expect_line(out, S1 ".attributes[ratio].doubleValue=0.125");
	expect_line(out, S1 ".attributes[cached].boolValue=false");
	expect_line(out, S1 ".attributes[raw].stringValue=ok\xef\xbf\xbd"); /* U+FFFD */
	expect_line(out, S1 ".attributes[tags].arrayValue.values.0.stringValue=a");
	expect_line(out, S1 ".attributes[tags].arrayValue.values.1.stringValue=");
	expect_line(out, S1 ".attributes[tags].arrayValue.values.2.stringValue=\xc3\xbc");
	expect_line(out, S1 ".attributes[ints].arrayValue.values.0.intValue=-1");
	expect_line(out, S1 ".attributes[ints].arrayValue.values.1.intValue=0");
	expect_line(out, S1 ".attributes[ints].arrayValue.values.2.intValue=9223372036854775807");
	expect_line(out, S1 ".attributes[dbls].arrayValue.values.0.doubleValue=0.5");
	expect_line(out, S1 ".attributes[dbls].arrayValue.values.1.doubleValue=-2.25");
	expect_line(out, S1 ".attributes[bools].arrayValue.values.0.boolValue=true");
	expect_line(out, S1 ".attributes[bools].arrayValue.values.1.boolValue=false");
	expect_line(out, S1 ".attributes[empty].arrayValue.values=[]");

	/* events: the timed one, then the exception */
	expect_line(out, S1 ".events.0.name=cache.miss");
	expect_line(out, S1 ".events.0.timeUnixNano=1700000000123456789");
	expect_line(out, S1 ".events.0.attributes[k].stringValue=v");
	expect_line(out, S1 ".events.0.attributes[n].intValue=7");
	expect_line(out, S1 ".events.1.name=exception");
	expect_line(out, S1 ".events.1.attributes[exception.type].stringValue=IOError");
	expect_line(out, S1 ".events.1.attributes[exception.message].stringValue=disk full");
	ASSERT_CONTAINS(out,
	                S1 ".events.1.attributes[exception.stacktrace].stringValue=at f()\nat g()");

	/* the link */
	hex(ltid, link_ctx.trace_id, 16);
	hex(lsid, link_ctx.span_id, 8);
	snprintf(line, sizeof(line), S1 ".links.0.traceId=%s", ltid);
	expect_line(out, line);
	snprintf(line, sizeof(line), S1 ".links.0.spanId=%s", lsid);
	expect_line(out, line);
	expect_line(out, S1 ".links.0.attributes[follows].boolValue=true");

	/* status */
	expect_line(out, S1 ".status.code=2");
	expect_line(out, S1 ".status.message=upstream down");
	ASSERT_NOT_CONTAINS(out, S0 ".status");

	free(out);
	sonde_buf_destroy(&pb);
	sonde_buf_destroy(&js);
	release();
}

/* Dropped counts, non-finite doubles, the OK status without a message, and
 * the span flags that 0.52.1's root does not know (it skips field 16, and
 * the rest still decodes). */
TEST(otlp_encode_traces_limits_and_specials)
{
	sonde_span_limits lim = {sizeof(lim), 2, 1, 0, 1, 0, 0};
	sonde_buf pb = SONDE_BUF_INIT, js = SONDE_BUF_INIT;
	sonde_span s;
	char *out;

	ASSERT_OK(sonde_trace_set_limits(&lim));
	sonde__trace_set_processor(&capture_proc);
	sonde_span_start(&s, "limited");
	sonde_span_set_double(&s, "nan", NAN);
	sonde_span_set_double(&s, "inf", -INFINITY);
	sonde_span_set_int(&s, "third", 3); /* past 2: dropped */
	{
		sonde_span_attr ea[2] = {sonde_attr_int("a", 1), sonde_attr_int("b", 2)};
		sonde_span_add_event(&s, "e1", ea, 2);   /* b dropped */
		sonde_span_add_event(&s, "e2", NULL, 0); /* past 1: dropped */
	}
	sonde_span_set_status(&s, SONDE_SPAN_STATUS_OK, "ignored");
	sonde_span_end(&s);
	ASSERT_OK(sonde_trace_set_limits(NULL));
	ASSERT_EQ_INT(ngot, 1);

	sonde__otlp_traces_pb(&pb, got, 1);
	sonde__otlp_traces_json(&js, got, 1);
	out = decode(&pb, &js);
	ASSERT_CONTAINS(out, "json: equal");
	expect_line(out, S0 ".attributes[nan].doubleValue=NaN");
	expect_line(out, S0 ".attributes[inf].doubleValue=-Infinity");
	expect_line(out, S0 ".droppedAttributesCount=1");
	expect_line(out, S0 ".droppedEventsCount=1");
	expect_line(out, S0 ".events.0.droppedAttributesCount=1");
	expect_line(out, S0 ".status.code=1");
	ASSERT_NOT_CONTAINS(out, S0 ".status.message");
	free(out);
	sonde_buf_destroy(&pb);
	sonde_buf_destroy(&js);
	release();
}

/* An empty batch is a valid request (resource and scope, no span), and a
 * body that is not OTLP is refused by the checker (it checks something). */
TEST(otlp_encode_traces_empty_and_garbage)
{
	const char *argv[] = {"node", NODE_CHECKER, "traces", NULL, NULL, NULL};
	sonde_buf pb = SONDE_BUF_INIT;
	char *out = NULL;

	sonde__otlp_traces_pb(&pb, NULL, 0);
	out = decode(&pb, NULL);
	expect_line(out, "resourceSpans.0.scopeSpans.0.scope.name=sonde");
	ASSERT_NOT_CONTAINS(out, "spans.0");
	free(out);
	out = NULL;
	argv[3] = sonde_test_tmpfile(0, "\x0a\xff\xff\xff", 4);
	ASSERT_TRUE(sonde_test_run(argv, NULL, &out) != 0);
	free(out);
	out = NULL;
	argv[3] = sonde_test_tmpfile(0, "{\"resourceSpans\":[{\"bogus\":1}]}", 31);
	argv[4] = "--json-only";
	ASSERT_TRUE(sonde_test_run(argv, NULL, &out) != 0);
	ASSERT_CONTAINS(out, "bogus");
	free(out);
	sonde_buf_destroy(&pb);
}
