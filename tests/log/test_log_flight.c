/*
 * tests/log/test_log_flight.c - the flight recorder (issue 20): records
 * below the level are kept per thread and replayed, marked, before a
 * record at the trigger level; scopes; limits; loggers freed while kept.
 */
#include <pthread.h>

#include "sonde.h"
#include "sonde/log.h"
#include "sonde/trace.h"
#include "test.h"

typedef struct lines {
	pthread_mutex_t mu;
	char buf[1 << 18];
	size_t len;
	int n;
} lines;

static int cap(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	lines *c = ctx;

	(void)level;
	pthread_mutex_lock(&c->mu);
	if (c->len + len + 1 < sizeof(c->buf)) {
		memcpy(c->buf + c->len, line, len);
		c->len += len;
		c->buf[c->len++] = '\n';
		c->buf[c->len] = '\0';
	}
	c->n++;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static lines *lines_new(void)
{
	lines *c = calloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static sonde_logger *flight_logger(lines *c, int scope)
{
	sonde_log_sink *s = sonde_log_sink_callback(cap, c, NULL);
	sonde_log_opts o;
	sonde_logger *l;

	sonde_log_opts_init(&o, "flight");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	o.flight_recorder = 1;
	o.flight_scope = scope;
	l = sonde_logger_new(&o);
	sonde_log_sink_free(s);
	return l;
}

#define count sonde_test_count

TEST(log_flight_replays_kept_records_before_the_trigger)
{
	lines *c = lines_new();
	sonde_logger *l = flight_logger(c, SONDE_LOG_FLIGHT_THREAD);
	const char *a, *b, *e, *info;
	int i;

	ASSERT_NOT_NULL(l);
	ASSERT_EQ_INT(sonde_logger_level(l), SONDE_LOG_LEVEL_INFO);
	LOG_TRACE(l, "below the flight level"); /* neither kept nor written */
	for (i = 0; i < 5; i++)
		LOG_DEBUG(l, "kept", LOG_INT("i", i));
	LOG_INFO(l, "written");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 1); /* the debug records are kept, not written */
	LOG_ERROR(l, "trigger", LOG_STR("why", "test"));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 7);
	ASSERT_EQ_INT(count(c->buf, "\"_replayed\":true"), 5);
	ASSERT_NOT_CONTAINS(c->buf, "below the flight level");
	info = strstr(c->buf, "\"message\":\"written\"");
	a = strstr(c->buf,
	           "\"message\":\"kept\",\"service\":\"flight\",\"i\":0,\"_replayed\":true}");
	b = strstr(c->buf,
	           "\"message\":\"kept\",\"service\":\"flight\",\"i\":4,\"_replayed\":true}");
	e = strstr(c->buf, "\"message\":\"trigger\"");
	ASSERT_TRUE(info && a && b && e);
	ASSERT_TRUE(info < a && a < b && b < e);
	ASSERT_CONTAINS(a - 60, "\"level\":\"debug\"");
	/* replayed once: a second trigger finds nothing kept */
	LOG_ERROR(l, "again");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 8);
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
	free(c);
}

TEST(log_flight_keeps_the_last_128)
{
	lines *c = lines_new();
	sonde_logger *l = flight_logger(c, SONDE_LOG_FLIGHT_THREAD);
	char want[96];
	int i;

	ASSERT_NOT_NULL(l);
	for (i = 0; i < 1000; i++)
		LOG_DEBUG(l, "kept", LOG_INT("i", i));
	LOG_FATAL(l, "trigger");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 129);
	ASSERT_NOT_CONTAINS(c->buf, "\"i\":871,");
	for (i = 872; i < 1000; i++) {
		snprintf(want, sizeof(want), "\"i\":%d,\"_replayed\":true}", i);
		ASSERT_CONTAINS(c->buf, want);
	}
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
	free(c);
}

/* long strings are cut to fit a slot (and say so); the level can move */
TEST(log_flight_cut_strings_and_level_changes)
{
	lines *c = lines_new();
	sonde_logger *l = flight_logger(c, SONDE_LOG_FLIGHT_THREAD);
	char big[2000];

	ASSERT_NOT_NULL(l);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	LOG_DEBUG(l, "big", LOG_STR("s", big));
	sonde_logger_set_level(l, SONDE_LOG_LEVEL_DEBUG); /* now written */
	ASSERT_EQ_INT(sonde_logger_level(l), SONDE_LOG_LEVEL_DEBUG);
	LOG_DEBUG(l, "direct");
	sonde_logger_set_level(l, SONDE_LOG_LEVEL_WARN); /* INFO now kept */
	LOG_INFO(l, "kept info");
	LOG_ERROR(l, "trigger");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 4);
	ASSERT_CONTAINS(c->buf, "\"message\":\"direct\"");
	ASSERT_CONTAINS(c->buf, "\"_truncated\":true,\"_replayed\":true");
	ASSERT_CONTAINS(c->buf, "\"message\":\"kept info\"");
	ASSERT_TRUE(c->len < 2000); /* the big string was cut */
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
	free(c);
}

TEST(log_flight_bad_options)
{
	sonde_log_opts o;

	sonde_log_opts_init(&o, "flight");
	o.flight_recorder = 1;
	o.flight_level = (sonde_log_level)99;
	ASSERT_NULL(sonde_logger_new(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "flight");
	sonde_log_opts_init(&o, "flight");
	o.flight_recorder = 1;
	o.flight_scope = 7;
	ASSERT_NULL(sonde_logger_new(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "scope");
	/* off: the flight fields are not looked at */
	sonde_log_opts_init(&o, "flight");
	o.flight_scope = 7;
	o.level_env = "";
	{
		sonde_logger *l = sonde_logger_new(&o);
		ASSERT_NOT_NULL(l);
		sonde_logger_free(l);
	}
	ASSERT_OK(sonde_log_shutdown());
}

/* a child freed while its records are kept: the replay writes them with
 * the child's fields (ASan would see a use after free otherwise) */
TEST(log_flight_freed_child_outlives_its_kept_records)
{
	lines *c = lines_new();
	sonde_logger *l = flight_logger(c, SONDE_LOG_FLIGHT_THREAD), *child;
	sonde_log_field f = sonde_log_field_str("request_id", "r-42");
	int i;

	ASSERT_NOT_NULL(l);
	child = sonde_logger_child(l, &f, 1);
	ASSERT_NOT_NULL(child);
	LOG_DEBUG(child, "inside the request");
	sonde_logger_free(child);
	/* batches run: the child is retired but still named by a kept record */
	for (i = 0; i < 5; i++) {
		LOG_INFO(l, "tick");
		ASSERT_OK(sonde_log_flush());
	}
	LOG_ERROR(l, "trigger");
	ASSERT_OK(sonde_log_flush());
	ASSERT_CONTAINS(c->buf, "\"message\":\"inside the request\",\"service\":\"flight\","
	                        "\"request_id\":\"r-42\",\"_replayed\":true");
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
	free(c);
}

/* ---- scopes ------------------------------------------------------------------------------ */

typedef struct job {
	sonde_logger *l;
	const sonde_span_context *ctx; /* NULL: no trace */
	const char *msg;
	pthread_barrier_t *kept;
	pthread_barrier_t *done;
} job;

static void *keep_and_wait(void *arg)
{
	job *j = arg;
	sonde_context_scope sc;

	sonde_context_attach(&sc, j->ctx);
	ASSERT_OK(sonde_log_write(j->l, SONDE_LOG_LEVEL_DEBUG, j->msg, strlen(j->msg), NULL, 0));
	ASSERT_OK(sonde_context_detach(&sc));
	pthread_barrier_wait(j->kept);
	pthread_barrier_wait(j->done); /* alive until the trigger replayed */
	return NULL;
}

static void run_scope(int scope, lines *c)
{
	sonde_logger *l = flight_logger(c, scope);
	pthread_barrier_t kept, done;
	sonde_span root, other;
	pthread_t t[2];
	job j[2];

	ASSERT_NOT_NULL(l);
	sonde_span_start(&other, "other");
	sonde_span_end(&other);
	sonde_span_start(&root, "request");
	pthread_barrier_init(&kept, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	j[0] = (job){l, sonde_span_get_context(&root), "same trace", &kept, &done};
	j[1] = (job){l, sonde_span_get_context(&other), "other trace", &kept, &done};
	pthread_create(&t[0], NULL, keep_and_wait, &j[0]);
	pthread_create(&t[1], NULL, keep_and_wait, &j[1]);
	pthread_barrier_wait(&kept);
	LOG_DEBUG(l, "own");
	LOG_ERROR(l, "trigger"); /* inside the root span: its trace */
	ASSERT_OK(sonde_log_flush());
	pthread_barrier_wait(&done);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	sonde_span_end(&root);
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
}

TEST(log_flight_scope_thread)
{
	lines *c = lines_new();

	ASSERT_OK(sonde_trace_set_span_logger(NULL, SONDE_LOG_LEVEL_INFO));
	run_scope(SONDE_LOG_FLIGHT_THREAD, c);
	ASSERT_CONTAINS(c->buf, "\"message\":\"own\"");
	ASSERT_NOT_CONTAINS(c->buf, "same trace");
	ASSERT_NOT_CONTAINS(c->buf, "other trace");
	free(c);
}

TEST(log_flight_scope_trace)
{
	lines *c = lines_new();

	ASSERT_OK(sonde_trace_set_span_logger(NULL, SONDE_LOG_LEVEL_INFO));
	run_scope(SONDE_LOG_FLIGHT_TRACE, c);
	ASSERT_CONTAINS(c->buf, "\"message\":\"own\"");
	ASSERT_CONTAINS(c->buf, "\"message\":\"same trace\"");
	ASSERT_NOT_CONTAINS(c->buf, "other trace");
	free(c);
}

TEST(log_flight_scope_all)
{
	lines *c = lines_new();
	const char *own, *trig;

	ASSERT_OK(sonde_trace_set_span_logger(NULL, SONDE_LOG_LEVEL_INFO));
	run_scope(SONDE_LOG_FLIGHT_ALL, c);
	ASSERT_CONTAINS(c->buf, "\"message\":\"same trace\"");
	ASSERT_CONTAINS(c->buf, "\"message\":\"other trace\"");
	own = strstr(c->buf, "\"message\":\"own\"");
	trig = strstr(c->buf, "\"message\":\"trigger\"");
	ASSERT_TRUE(own && trig && own < trig);
	ASSERT_EQ_INT(count(c->buf, "\"_replayed\":true"), 3);
	free(c);
}

/* many threads keep and trigger at once, with ALL scope reading the
 * others' stores while they write (TSan checks the seqlock) */
static void *churn(void *arg)
{
	sonde_logger *l = arg;
	int i;

	for (i = 0; i < 2000; i++) {
		LOG_DEBUG(l, "k", LOG_INT("i", i));
		if (i % 97 == 0)
			LOG_ERROR(l, "e", LOG_INT("i", i));
	}
	return NULL;
}

TEST(log_flight_concurrent_keep_and_replay)
{
	lines *c = lines_new();
	sonde_logger *l = flight_logger(c, SONDE_LOG_FLIGHT_ALL);
	pthread_t t[4];
	int i;

	ASSERT_NOT_NULL(l);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, l);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_OK(sonde_log_flush());
	/* every trigger was written (or counted as dropped) */
	ASSERT_TRUE(count(c->buf, "\"message\":\"e\"") > 0);
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
	free(c);
}

/* on demand: the kept records are written now, without a trigger */
TEST(log_flight_dump_on_demand)
{
	lines *c = lines_new();
	sonde_logger *l = flight_logger(c, SONDE_LOG_FLIGHT_THREAD);

	ASSERT_NOT_NULL(l);
	ASSERT_EQ_INT(sonde_log_flight_dump(9), SONDE_EINVAL);
	LOG_DEBUG(l, "kept one");
	LOG_DEBUG(l, "kept two");
	ASSERT_OK(sonde_log_flight_dump(SONDE_LOG_FLIGHT_THREAD));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 2);
	ASSERT_EQ_INT(count(c->buf, "\"_replayed\":true"), 2);
	ASSERT_OK(sonde_log_flight_dump(SONDE_LOG_FLIGHT_ALL)); /* nothing left */
	LOG_ERROR(l, "trigger");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_INT(c->n, 3);
	sonde_logger_free(l);
	ASSERT_OK(sonde_log_shutdown());
	ASSERT_EQ_INT(sonde_log_flight_dump(SONDE_LOG_FLIGHT_THREAD), SONDE_ESTATE);
	free(c);
}
