/* tests/trace/test_trace_span.c - spans, nesting, sampling, the span histogram
 * and end hook, and the extract/inject helpers. */
#include <pthread.h>
#include <stdlib.h>

#include "sonde.h"
#include "sonde/trace.h"
#include "test.h"

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

TEST(trace_span_root_and_nested)
{
	sonde_span outer, inner;
	const sonde_span_context *oc, *ic;

	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	sonde_span_start(&outer, "outer");
	oc = sonde_span_get_context(&outer);
	ASSERT_TRUE(sonde_span_context_valid(oc));
	ASSERT_TRUE(memcmp(sonde_context_current(), oc, sizeof(*oc)) == 0); /* attached */
	ASSERT_TRUE(zero(outer.parent_span_id, 8));
	ASSERT_TRUE(oc->trace_flags & SONDE_TRACE_FLAG_RANDOM);
	ASSERT_TRUE(sonde_span_is_sampled(&outer)); /* default ratio 1 */
	ASSERT_EQ_INT(oc->correlation_len, 32);     /* derived from the trace id */
	{
		char hex[33];
		sonde_id_to_hex(oc->trace_id, 16, hex);
		ASSERT_STREQ(oc->correlation_id, hex);
	}

	sonde_span_start(&inner, "inner");
	ic = sonde_span_get_context(&inner);
	ASSERT_TRUE(memcmp(ic->trace_id, oc->trace_id, 16) == 0);
	ASSERT_TRUE(memcmp(inner.parent_span_id, oc->span_id, 8) == 0);
	ASSERT_TRUE(memcmp(ic->span_id, oc->span_id, 8) != 0);
	ASSERT_STREQ(ic->correlation_id, oc->correlation_id);
	ASSERT_TRUE(memcmp(sonde_context_current(), ic, sizeof(*ic)) == 0);
	sonde_span_end(&inner);
	ASSERT_TRUE(memcmp(sonde_context_current(), oc, sizeof(*oc)) == 0); /* restored */
	ASSERT_TRUE(inner.duration_ns >= 0);
	sonde_span_end(&inner); /* twice: ignored */
	ASSERT_TRUE(memcmp(sonde_context_current(), oc, sizeof(*oc)) == 0);
	sonde_span_end(&outer);
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	sonde_span_end(NULL);
	sonde_span_start(NULL, "x");
}

TEST(trace_span_out_of_order_end)
{
	sonde_span a, b;
	sonde_span_context before_a;

	before_a = *sonde_context_current();
	sonde_span_start(&a, "a");
	sonde_span_start(&b, "b");
	sonde_span_end(&a); /* wrong order: measured, context left alone */
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ESTATE);
	ASSERT_TRUE(memcmp(sonde_context_current(), sonde_span_get_context(&b),
	                   sizeof(sonde_span_context)) == 0);
	sonde_span_end(&b);
	/* b restores what was current before a: a already ended */
	ASSERT_TRUE(memcmp(sonde_context_current(), &before_a, sizeof(before_a)) == 0);
}

/* issue 13.2: start A, start B, end A, end B, free both: the thread's
 * context must not point into either (ASan: heap-use-after-free before) */
TEST(trace_span_out_of_order_end_then_free)
{
	sonde_span *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	sonde_span *c;

	ASSERT_NOT_NULL(a);
	ASSERT_NOT_NULL(b);
	sonde_span_start(a, "a");
	sonde_span_start(b, "b");
	sonde_span_end(a);
	sonde_span_end(b);
	memset(a, 0xa5, sizeof(*a));
	memset(b, 0xb5, sizeof(*b));
	free(a);
	free(b);
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	/* the thread keeps working: a new span is a root, and ends cleanly */
	c = malloc(sizeof(*c));
	ASSERT_NOT_NULL(c);
	sonde_span_start(c, "c");
	ASSERT_TRUE(zero(c->parent_span_id, 8));
	sonde_span_end(c);
	free(c);
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
}

/* the same with three spans ended bottom, top, middle */
TEST(trace_span_out_of_order_three)
{
	sonde_span a, b, c;

	sonde_span_start(&a, "a");
	sonde_span_start(&b, "b");
	sonde_span_start(&c, "c");
	sonde_span_end(&a);
	ASSERT_TRUE(memcmp(sonde_context_current(), sonde_span_get_context(&c),
	                   sizeof(sonde_span_context)) == 0);
	sonde_span_end(&c);
	ASSERT_TRUE(memcmp(sonde_context_current(), sonde_span_get_context(&b),
	                   sizeof(sonde_span_context)) == 0);
	memset(&c, 0, sizeof(c));
	sonde_span_end(&b);
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
}

static void *end_elsewhere(void *arg)
{
	sonde_span_end(arg);
	return (void *)(intptr_t)sonde_last_status();
}

/* issue 13.2: a span ended on another thread and freed: its starting
 * thread still reads a valid context (a copy), never the freed span */
TEST(trace_span_end_on_other_thread_then_free)
{
	sonde_span *a = malloc(sizeof(*a));
	sonde_span_context ctx_a;
	sonde_span b;
	pthread_t t;
	void *st;

	ASSERT_NOT_NULL(a);
	sonde_span_start(a, "a");
	ctx_a = *sonde_span_get_context(a);
	pthread_create(&t, NULL, end_elsewhere, a);
	pthread_join(t, &st);
	ASSERT_EQ_INT((int)(intptr_t)st, SONDE_ESTATE);
	ASSERT_TRUE(a->duration_ns >= 0);
	memset(a, 0xa5, sizeof(*a));
	free(a);
	/* left alone: this thread still sees a's context, as a copy */
	ASSERT_TRUE(memcmp(sonde_context_current(), &ctx_a, sizeof(ctx_a)) == 0);
	sonde_span_start(&b, "b");
	ASSERT_TRUE(memcmp(b.parent_span_id, ctx_a.span_id, 8) == 0);
	sonde_span_end(&b);
	ASSERT_TRUE(memcmp(sonde_context_current(), &ctx_a, sizeof(ctx_a)) == 0);
}

TEST(trace_span_parent_based_sampling)
{
	sonde_span_context p;
	sonde_span s;

	memset(&p, 0, sizeof(p));
	memset(p.trace_id, 0x11, 16);
	memset(p.span_id, 0x22, 8);
	p.is_remote = 1;
	p.trace_flags = 0; /* unsampled parent: child unsampled, whatever the ratio */
	sonde_trace_set_sampler_ratio(1.0);
	sonde_span_start_child_of(&s, "child", &p);
	ASSERT_FALSE(sonde_span_is_sampled(&s));
	ASSERT_EQ_INT(sonde_span_get_context(&s)->is_remote, 0);
	sonde_span_end(&s);
	p.trace_flags = SONDE_TRACE_FLAG_SAMPLED | SONDE_TRACE_FLAG_RANDOM | 0x80;
	sonde_trace_set_sampler_ratio(0.0);
	sonde_span_start_child_of(&s, "child", &p);
	ASSERT_TRUE(sonde_span_is_sampled(&s));
	ASSERT_EQ_INT(sonde_span_get_context(&s)->trace_flags, 3); /* unknown bit dropped */
	sonde_span_end(&s);
	/* roots follow the ratio */
	sonde_span_start_child_of(&s, "root", NULL);
	ASSERT_FALSE(sonde_span_is_sampled(&s));
	sonde_span_end(&s);
	sonde_trace_set_sampler_ratio(5);
	ASSERT_EQ_DBL(sonde_trace_sampler_ratio(), 1.0);
	sonde_trace_set_sampler_ratio(NAN);
	ASSERT_EQ_DBL(sonde_trace_sampler_ratio(), 0.0);
}

TEST(trace_span_root_ratio_statistical)
{
	const int n = 40000;
	int hits = 0;
	double p = 0.2, sd = sqrt(n * p * (1 - p));

	sonde_trace_set_sampler_ratio(p);
	for (int i = 0; i < n; i++) {
		sonde_span s;
		sonde_span_start(&s, "r");
		hits += sonde_span_is_sampled(&s);
		sonde_span_end(&s);
	}
	if (fabs(hits - n * p) > 5 * sd)
		FAIL("%d of %d sampled at ratio %g", hits, n, p);
}

static int hook_calls;
static sonde_span seen;

static void on_end(const sonde_span *s, void *arg)
{
	hook_calls += *(int *)arg;
	seen = *s;
}

TEST(trace_span_attrs_status_hook)
{
	sonde_span s;
	int one = 1;

	sonde_trace_set_span_end_hook(on_end, &one);
	sonde_span_start(&s, "db.query");
	sonde_span_set_str(&s, "db.system", "postgres");
	sonde_span_set_int(&s, "rows", 42);
	sonde_span_set_double(&s, "ratio", 0.5);
	sonde_span_set_bool(&s, "cached", true);
	for (int i = 0; i < 6; i++)
		sonde_span_set_int(&s, "extra", i);
	sonde_span_set_error(&s, "timeout");
	sonde_span_set_status(&s, SONDE_SPAN_STATUS_OK, NULL); /* does not clear ERROR */
	sonde_span_end(&s);
	ASSERT_EQ_INT(hook_calls, 1);
	ASSERT_STREQ(seen.name, "db.query");
	ASSERT_EQ_INT(seen.attr_count, SONDE_SPAN_ATTRS_MAX);
	ASSERT_EQ_INT(seen.attrs_dropped, 2);
	ASSERT_EQ_INT(seen.attrs[0].type, SONDE_ATTR_STRING);
	ASSERT_STREQ(seen.attrs[0].v.str, "postgres");
	ASSERT_EQ_INT(seen.attrs[1].v.i, 42);
	ASSERT_EQ_DBL(seen.attrs[2].v.d, 0.5);
	ASSERT_TRUE(seen.attrs[3].v.b);
	ASSERT_EQ_INT(seen.status, SONDE_SPAN_STATUS_ERROR);
	ASSERT_STREQ(seen.status_msg, "timeout");
	ASSERT_TRUE(seen.end_unix_ns > 0);
	sonde_span_set_int(&s, "late", 1); /* after end: no-op */
	ASSERT_EQ_INT(s.attr_count, SONDE_SPAN_ATTRS_MAX);
	sonde_trace_set_span_end_hook(NULL, NULL);
	sonde_span_start(&s, "x");
	sonde_span_end(&s);
	ASSERT_EQ_INT(hook_calls, 1);
}

TEST(trace_span_histogram)
{
	sonde_registry *r = sonde_registry_new();
	sonde_family *f;
	const char *v[1] = {"work"};
	sonde_span s;

	ASSERT_OK(sonde_trace_enable_span_metrics(r, NULL));
	for (int i = 0; i < 3; i++) {
		sonde_span_start(&s, "work");
		sonde_span_end(&s);
	}
	sonde_span_start(&s, "other");
	sonde_span_end(&s);
	f = sonde_histogram_family_new(
	        r, "span_duration_seconds",
	        "Duration of finished spans, by span name and status (ok or error).", NULL, 0, 2,
	        (const char *const[]){"name", "status"});
	ASSERT_NOT_NULL(f);
	ASSERT_EQ_U64(sonde_histogram_count(sonde_histogram_labels(
	                      f, 2, (const char *const[]){"work", "ok"}, NULL)),
	              3);
	ASSERT_EQ_INT(sonde_family_size(f), 2);
	/* wrong shapes are refused */
	ASSERT_EQ_INT(sonde_trace_set_span_histogram(sonde_counter_family_new(
	                      r, "c_total", "c", 1, (const char *const[]){"name"})),
	              SONDE_ETYPE);
	ASSERT_EQ_INT(sonde_trace_set_span_histogram(
	                      sonde_histogram_family_new(r, "h2", "h", NULL, 0, 0, NULL)),
	              SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_trace_set_span_histogram(sonde_histogram_family_new(
	                      r, "h3", "h", NULL, 0, 3, (const char *const[]){"a", "b", "c"})),
	              SONDE_EINVAL);
	ASSERT_OK(sonde_trace_set_span_histogram(NULL));
	sonde_span_start(&s, "work");
	sonde_span_end(&s);
	ASSERT_EQ_U64(sonde_histogram_count(sonde_histogram_labels(
	                      f, 2, (const char *const[]){"work", "ok"}, NULL)),
	              3);
	/* a family of one label (the name) still works: no status dimension */
	{
		sonde_family *one = sonde_histogram_family_new(r, "one_label_seconds", "h", NULL, 0,
		                                               1, (const char *const[]){"name"});
		ASSERT_OK(sonde_trace_set_span_histogram(one));
		sonde_span_start(&s, "work");
		sonde_span_set_error(&s, "x");
		sonde_span_end(&s);
		ASSERT_EQ_U64(sonde_histogram_count(sonde_histogram_labels(one, 1, v, NULL)), 1);
		ASSERT_OK(sonde_trace_set_span_histogram(NULL));
	}
	sonde_registry_free(r);
}

/* issue 13.18: RED metrics from one span: the span histogram carries the
 * status (unset counts as ok, as OpenTelemetry's span metrics connector
 * does) */
TEST(trace_span_histogram_status_label)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	sonde_span s;

	ASSERT_OK(sonde_trace_enable_span_metrics(r, NULL));
	sonde_span_start(&s, "db"); /* unset: ok */
	sonde_span_end(&s);
	sonde_span_start(&s, "db");
	sonde_span_set_status(&s, SONDE_SPAN_STATUS_OK, NULL);
	sonde_span_end(&s);
	sonde_span_start(&s, "db");
	sonde_span_set_error(&s, "timeout");
	sonde_span_end(&s);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "span_duration_seconds_count{name=\"db\",status=\"ok\"} 2\n");
	ASSERT_CONTAINS(b.data, "span_duration_seconds_count{name=\"db\",status=\"error\"} 1\n");
	ASSERT_OK(sonde_trace_set_span_histogram(NULL));
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* ---- the span log line (issue 13.18) -------------------------------------------- */

typedef struct cap_lines {
	pthread_mutex_t mu;
	char buf[8192];
	size_t len;
	int n;
} cap_lines;

static int cap_line(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	cap_lines *c = ctx;
	(void)level;
	pthread_mutex_lock(&c->mu);
	if (c->len + len < sizeof(c->buf)) {
		memcpy(c->buf + c->len, line, len);
		c->len += len;
		c->buf[c->len] = '\0';
	}
	c->n++;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static sonde_logger *cap_logger(cap_lines *c)
{
	sonde_log_opts o;
	sonde_log_sink *sink = sonde_log_sink_callback(cap_line, c, NULL);
	sonde_logger *l;

	sonde_log_opts_init(&o, "svc");
	o.level_env = "";
	o.sinks = &sink;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	sonde_log_sink_free(sink);
	return l;
}

TEST(trace_span_log_line_per_ended_span)
{
	static cap_lines c = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
	sonde_logger *l = cap_logger(&c);
	sonde_span outer, s;
	char tid[33], sid[17], want[128];

	ASSERT_NOT_NULL(l);
	ASSERT_OK(sonde_trace_set_span_logger(l, SONDE_LOG_LEVEL_INFO));
	sonde_span_start(&outer, "outer");
	sonde_span_start(&s, "db.query");
	sonde_span_set_error(&s, "timeout");
	sonde_id_to_hex(sonde_span_get_context(&s)->trace_id, 16, tid);
	sonde_id_to_hex(sonde_span_get_context(&s)->span_id, 8, sid);
	sonde_span_end(&s);
	sonde_span_end(&outer);
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c.n, 2);
	/* the line carries the ended span's own ids, not its parent's */
	ASSERT_CONTAINS(c.buf, "\"message\":\"span\"");
	ASSERT_CONTAINS(c.buf, "\"span_name\":\"db.query\"");
	ASSERT_CONTAINS(c.buf, "\"span_status\":\"error\"");
	ASSERT_CONTAINS(c.buf, "\"span_duration_s\":");
	ASSERT_CONTAINS(c.buf, "\"span_status_message\":\"timeout\"");
	snprintf(want, sizeof(want), "\"trace_id\":\"%s\",\"span_id\":\"%s\"", tid, sid);
	ASSERT_CONTAINS(c.buf, want);
	ASSERT_CONTAINS(c.buf, "\"span_name\":\"outer\"");
	ASSERT_CONTAINS(c.buf, "\"span_status\":\"ok\"");
	/* below the logger's level: nothing; off: nothing */
	ASSERT_OK(sonde_trace_set_span_logger(l, SONDE_LOG_LEVEL_DEBUG));
	sonde_span_start(&s, "quiet");
	sonde_span_end(&s);
	ASSERT_OK(sonde_trace_set_span_logger(NULL, SONDE_LOG_LEVEL_INFO));
	sonde_span_start(&s, "off");
	sonde_span_end(&s);
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c.n, 2);
	ASSERT_EQ_INT(sonde_trace_set_span_logger(l, 99), SONDE_EINVAL);
	sonde_trace_reset_span_logger();
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
}

/* a level of its own for the named logger; sonde_trace_span_logger()
 * reports the logger and the level in use */
TEST(trace_span_logger_named_level)
{
	static cap_lines c = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
	sonde_logger *l = cap_logger(&c);
	sonde_log_level lv = SONDE_LOG_LEVEL_TRACE;
	sonde_span s;

	ASSERT_TRUE(sonde_trace_span_logger(&lv) == l); /* the default */
	ASSERT_EQ_INT(lv, SONDE_LOG_LEVEL_INFO);
	ASSERT_OK(sonde_trace_set_span_logger(l, SONDE_LOG_LEVEL_WARN));
	ASSERT_TRUE(sonde_trace_span_logger(&lv) == l);
	ASSERT_EQ_INT(lv, SONDE_LOG_LEVEL_WARN);
	sonde_span_start(&s, "warned");
	sonde_span_end(&s);
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c.n, 1);
	ASSERT_CONTAINS(c.buf, "\"level\":\"warn\"");
	ASSERT_OK(sonde_trace_set_span_logger(l, SONDE_LOG_LEVEL_INFO));
	sonde_trace_reset_span_logger();
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
}

static int span_lines(cap_lines *c)
{
	int n;

	pthread_mutex_lock(&c->mu);
	n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static void end_one(const char *name)
{
	sonde_span s;

	sonde_span_start(&s, name);
	sonde_span_end(&s);
}

/* on by default: with no call, the lines go to the oldest live root logger
 * (never a child), then to the next oldest when it is freed; naming NULL
 * turns them off, reset follows the default again */
TEST(trace_span_logger_follows_default_logger)
{
	static cap_lines ca = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
	static cap_lines cb = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
	sonde_log_field f = sonde_log_field_str("component", "db");
	sonde_logger *a, *b, *child;

	ASSERT_NULL(sonde_log_default_logger());
	ASSERT_NULL(sonde_trace_span_logger(NULL));
	end_one("nobody"); /* no logger: no line, no crash */
	a = cap_logger(&ca);
	ASSERT_NOT_NULL(a);
	child = sonde_logger_child(a, &f, 1);
	ASSERT_NOT_NULL(child);
	b = cap_logger(&cb);
	ASSERT_NOT_NULL(b);
	ASSERT_TRUE(sonde_log_default_logger() == a);
	ASSERT_TRUE(sonde_trace_span_logger(NULL) == a);
	end_one("first");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(span_lines(&ca), 1);
	ASSERT_CONTAINS(ca.buf, "\"span_name\":\"first\"");
	ASSERT_EQ_INT(span_lines(&cb), 0);

	sonde_logger_free(a); /* the child is no root: b takes over */
	ASSERT_TRUE(sonde_log_default_logger() == b);
	end_one("second");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(span_lines(&cb), 1);
	ASSERT_CONTAINS(cb.buf, "\"span_name\":\"second\"");

	ASSERT_OK(sonde_trace_set_span_logger(NULL, SONDE_LOG_LEVEL_INFO));
	ASSERT_NULL(sonde_trace_span_logger(NULL));
	end_one("silenced");
	sonde_trace_reset_span_logger();
	ASSERT_TRUE(sonde_trace_span_logger(NULL) == b);
	end_one("third");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(span_lines(&cb), 2);
	ASSERT_CONTAINS(cb.buf, "\"span_name\":\"third\"");
	ASSERT_TRUE(strstr(cb.buf, "silenced") == NULL);

	sonde_logger_free(b);
	ASSERT_NULL(sonde_log_default_logger()); /* a child never becomes it */
	ASSERT_EQ_INT(span_lines(&ca), 1);
	sonde_logger_free(child);
	ASSERT_OK(sonde_log_shutdown());
}

/* hook swapped while other threads end spans: never a torn (fn, arg) */
static int arg_a = 1, arg_b = 2;
static _Atomic int torn;
static void hook_a(const sonde_span *s, void *arg)
{
	(void)s;
	if (arg != &arg_a)
		torn = 1;
}
static void hook_b(const sonde_span *s, void *arg)
{
	(void)s;
	if (arg != &arg_b)
		torn = 1;
}

static void *span_loop(void *x)
{
	(void)x;
	for (int i = 0; i < 20000; i++) {
		sonde_span s;
		sonde_span_start(&s, "t");
		sonde_span_end(&s);
	}
	return NULL;
}

TEST(trace_span_hook_swap_threads)
{
	pthread_t t[2];

	sonde_trace_set_span_end_hook(hook_a, &arg_a);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, span_loop, NULL);
	for (int i = 0; i < 2000; i++) {
		if (i & 1)
			sonde_trace_set_span_end_hook(hook_a, &arg_a);
		else
			sonde_trace_set_span_end_hook(hook_b, &arg_b);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	sonde_trace_set_span_end_hook(NULL, NULL);
	ASSERT_EQ_INT(torn, 0);
}

/* ---- extract / inject ------------------------------------------------------ */

/* clang-format off */
#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}
/* clang-format on */

TEST(trace_propagate_continue)
{
	sonde_trace_carrier *c = sonde_trace_carrier_new();
	sonde_header in[] = {
	        H("TrAcEpArEnT", " \t00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03 \t"),
	        H("TRACESTATE", "foo=1,bar=2"),
	        H("tracestate", "baz=3"),
	        H("Baggage", "user=alice;p"),
	        H("baggage", "tenant=t%201"),
	        H("X-Request-ID", "req-123_abc"),
	        H("trace-state", "ignored=1"),
	};
	sonde_trace_headers out = SONDE_TRACE_HEADERS_INIT;
	const sonde_span_context *ctx;
	sonde_span server, client;

	ASSERT_OK(sonde_trace_extract(c, in, sizeof(in) / sizeof(in[0])));
	ASSERT_TRUE(sonde_trace_carrier_continued(c));
	ctx = sonde_trace_carrier_context(c);
	ASSERT_EQ_INT(ctx->trace_id[0], 0x0a);
	ASSERT_EQ_INT(ctx->span_id[0], 0xb7);
	ASSERT_EQ_INT(ctx->trace_flags, 3);
	ASSERT_EQ_INT(ctx->is_remote, 1);
	ASSERT_STREQ(ctx->correlation_id, "req-123_abc");
	ASSERT_EQ_INT(sonde_tracestate_count(sonde_trace_carrier_tracestate(c)), 3);
	ASSERT_EQ_INT(sonde_baggage_count(sonde_trace_carrier_baggage(c)), 2);

	sonde_span_start_child_of(&server, "GET /", ctx);
	ASSERT_TRUE(memcmp(server.parent_span_id, ctx->span_id, 8) == 0);
	ASSERT_STREQ(sonde_context_current()->correlation_id, "req-123_abc");
	sonde_span_start(&client, "call");
	ASSERT_OK(sonde_tracestate_set(sonde_trace_carrier_tracestate(c), "sonde", 5, "1", 1));
	ASSERT_OK(sonde_trace_inject(c, NULL, &out));
	ASSERT_EQ_INT(out.count, 3);
	{
		char want[SONDE_TRACEPARENT_BUFSZ];
		sonde_span_context_format_traceparent(sonde_span_get_context(&client), want,
		                                      sizeof(want));
		ASSERT_STREQ(out.headers[0].name, "traceparent");
		ASSERT_STREQ(out.headers[0].value, want);
		ASSERT_TRUE(strncmp(want, "00-0af7651916cd43dd8448eb211c80319c-", 36) == 0);
		ASSERT_STREQ(want + 53, "03"); /* random flag copied exactly */
	}
	ASSERT_STREQ(out.headers[1].name, "tracestate");
	ASSERT_STREQ(out.headers[1].value, "sonde=1,foo=1,bar=2,baz=3");
	ASSERT_STREQ(out.headers[2].name, "baggage");
	ASSERT_STREQ(out.headers[2].value, "user=alice;p,tenant=t%201");
	ASSERT_EQ_INT(out.headers[2].value_len, strlen("user=alice;p,tenant=t%201"));
	sonde_span_end(&client);
	sonde_span_end(&server);
	sonde_trace_headers_destroy(&out);
	sonde_trace_carrier_free(c);
}

TEST(trace_propagate_restart_cases)
{
	sonde_trace_carrier *c = sonde_trace_carrier_new();
	sonde_trace_headers out = SONDE_TRACE_HEADERS_INIT;
	const sonde_span_context *ctx;
	sonde_header invalid[] = {
	        H("traceparent", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"),
	        H("tracestate", "foo=1"),
	        H("x-correlation-id", "has space"),
	};
	sonde_header two[] = {
	        H("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
	        H("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
	};
	sonde_header bad_state[] = {
	        H("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
	        H("tracestate", "foo=1"),
	        H("tracestate", "Bad=2"),
	        H("x-correlation-id", "corr:1/2"),
	};

	sonde_trace_set_sampler_ratio(1.0);
	ASSERT_OK(sonde_trace_extract(c, invalid, 3));
	ASSERT_FALSE(sonde_trace_carrier_continued(c));
	ctx = sonde_trace_carrier_context(c);
	ASSERT_TRUE(sonde_span_context_valid(ctx));
	ASSERT_EQ_INT(ctx->trace_id[0] == 0x0a && ctx->trace_id[1] == 0xf7, 0);
	ASSERT_TRUE(zero(ctx->span_id, 8));
	ASSERT_EQ_INT(ctx->trace_flags, SONDE_TRACE_FLAG_RANDOM | SONDE_TRACE_FLAG_SAMPLED);
	ASSERT_EQ_INT(ctx->correlation_len, 32); /* bad request id: derived */
	ASSERT_EQ_INT(sonde_tracestate_count(sonde_trace_carrier_tracestate(c)), 0);
	/* inject without a span: a fresh parent-id each call */
	ASSERT_OK(sonde_trace_inject(c, ctx, &out));
	ASSERT_EQ_INT(out.count, 1);
	{
		sonde_traceparent a, b;
		ASSERT_OK(sonde_traceparent_parse(out.traceparent, 55, &a));
		ASSERT_OK(sonde_trace_inject(c, ctx, &out));
		ASSERT_OK(sonde_traceparent_parse(out.traceparent, 55, &b));
		ASSERT_TRUE(memcmp(a.trace_id, ctx->trace_id, 16) == 0);
		ASSERT_TRUE(memcmp(a.trace_id, b.trace_id, 16) == 0);
		ASSERT_TRUE(memcmp(a.parent_id, b.parent_id, 8) != 0);
		ASSERT_EQ_INT(a.flags, 3);
	}

	ASSERT_OK(sonde_trace_extract(c, two, 2));
	ASSERT_FALSE(sonde_trace_carrier_continued(c));

	ASSERT_OK(sonde_trace_extract(c, bad_state, 4));
	ASSERT_TRUE(sonde_trace_carrier_continued(c));
	ASSERT_EQ_INT(sonde_tracestate_count(sonde_trace_carrier_tracestate(c)), 0);
	ASSERT_STREQ(sonde_trace_carrier_context(c)->correlation_id, "corr:1/2");
	ASSERT_OK(sonde_trace_inject(c, sonde_trace_carrier_context(c), &out));
	ASSERT_EQ_INT(out.count, 1);
	ASSERT_STREQ(out.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");

	/* nothing at all: a new trace; no current context: inject starts one */
	ASSERT_OK(sonde_trace_extract(c, NULL, 0));
	ASSERT_FALSE(sonde_trace_carrier_continued(c));
	ASSERT_OK(sonde_trace_inject(NULL, NULL, &out));
	ASSERT_EQ_INT(out.count, 1);
	ASSERT_EQ_INT(strlen(out.traceparent), 55);
	ASSERT_EQ_INT(sonde_trace_extract(NULL, NULL, 0), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_trace_extract(c, NULL, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_trace_inject(c, NULL, NULL), SONDE_EINVAL);
	sonde_trace_headers_destroy(&out);
	sonde_trace_carrier_free(c);
	sonde_trace_carrier_free(NULL);
}

/* issue 13.15: the official W3C harness (test_tracestate_duplicated_keys)
 * expects a tracestate with a repeated key, on one line or two, to be
 * propagated: sonde keeps the first member of each key */
TEST(trace_propagate_tracestate_duplicate_keys)
{
	sonde_trace_carrier *c = sonde_trace_carrier_new();
	sonde_trace_headers out = SONDE_TRACE_HEADERS_INIT;
	sonde_header one_line[] = {
	        H("traceparent", "00-12345678901234567890123456789012-1234567890123456-00"),
	        H("tracestate", "foo=1,foo=2"),
	};
	sonde_header two_lines[] = {
	        H("traceparent", "00-12345678901234567890123456789012-1234567890123456-00"),
	        H("tracestate", "foo=1"),
	        H("TraceState", "foo=1"),
	};

	ASSERT_OK(sonde_trace_extract(c, one_line, 2));
	ASSERT_TRUE(sonde_trace_carrier_continued(c));
	ASSERT_OK(sonde_trace_inject(c, sonde_trace_carrier_context(c), &out));
	ASSERT_EQ_INT(out.count, 2);
	ASSERT_STREQ(out.tracestate, "foo=1");
	ASSERT_OK(sonde_trace_extract(c, two_lines, 3));
	ASSERT_OK(sonde_trace_inject(c, sonde_trace_carrier_context(c), &out));
	ASSERT_EQ_INT(out.count, 2);
	ASSERT_STREQ(out.tracestate, "foo=1");
	sonde_trace_headers_destroy(&out);
	sonde_trace_carrier_free(c);
}

TEST(trace_propagate_request_id_bounds)
{
	sonde_trace_carrier *c = sonde_trace_carrier_new();
	char id65[66];
	sonde_header h[2];

	memset(id65, 'a', 65);
	id65[65] = '\0';
	h[0] = (sonde_header){"x-request-id", 12, id65, 64};
	ASSERT_OK(sonde_trace_extract(c, h, 1));
	ASSERT_EQ_INT(sonde_trace_carrier_context(c)->correlation_len, 64);
	h[0].value_len = 65; /* too long: ignored, falls back to x-correlation-id */
	h[1] = (sonde_header){"X-Correlation-Id", 16, "\"quoted\"", 8};
	ASSERT_OK(sonde_trace_extract(c, h, 2));
	ASSERT_EQ_INT(sonde_trace_carrier_context(c)->correlation_len, 32);
	h[1] = (sonde_header){"X-Correlation-Id", 16, "ok-1", 4};
	ASSERT_OK(sonde_trace_extract(c, h, 2));
	ASSERT_STREQ(sonde_trace_carrier_context(c)->correlation_id, "ok-1");
	sonde_trace_carrier_free(c);
}

/* spans end on two threads while root loggers come and go beside the
 * default one: every span's line reaches the default logger or is counted
 * as dropped, and none reaches the short-lived loggers (TSan checks the
 * default's publication) */
static void *end_many(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 500; i++)
		end_one("threaded");
	return NULL;
}

TEST(trace_span_default_logger_stable_under_churn)
{
	static cap_lines ca = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
	static cap_lines cb = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};
	sonde_log_stats before, after;
	sonde_logger *a = cap_logger(&ca);
	pthread_t t[2];
	int i;

	ASSERT_NOT_NULL(a);
	before.size = sizeof(before);
	ASSERT_OK(sonde_log_stats_get(&before));
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, end_many, NULL);
	for (i = 0; i < 50; i++) {
		sonde_logger *b = cap_logger(&cb);
		ASSERT_NOT_NULL(b);
		ASSERT_TRUE(sonde_log_default_logger() == a);
		sonde_logger_free(b);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ASSERT_OK(sonde_log_flush());
	after.size = sizeof(after);
	ASSERT_OK(sonde_log_stats_get(&after));
	ASSERT_EQ_INT(span_lines(&cb), 0);
	ASSERT_EQ_INT((uint64_t)span_lines(&ca) + (after.dropped - before.dropped), 1000);
	sonde_logger_free(a);
	ASSERT_OK(sonde_log_shutdown());
}
