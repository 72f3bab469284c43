/* tests/log/test_log_scope.c - scoped context fields (sonde_log_scope_push
 * and _pop) and call-site sampling (sonde_log_opts.sample_*,
 * SONDE_LOG_SAMPLED): every line parsed back by python3's json module
 * (strict: duplicate keys and NaN literals rejected) and compared with the
 * exact expected object, key order included; error paths with their
 * status and message; threads (TSan) for both. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "sonde.h"
#include "sonde/log.h"
#include "test.h"

/* ---- capture ---------------------------------------------------------------------- */

typedef struct scap {
	pthread_mutex_t mu;
	char *text; /* every line, '\n'-terminated */
	size_t len, n;
} scap;

static int scap_fn(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	scap *c = ctx;

	(void)level;
	pthread_mutex_lock(&c->mu);
	c->text = realloc(c->text, c->len + len + 2);
	memcpy(c->text + c->len, line, len);
	c->len += len;
	c->text[c->len++] = '\n';
	c->text[c->len] = '\0';
	c->n++;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static scap *scap_new(void)
{
	scap *c = calloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->text = calloc(1, 1);
	return c;
}

static void scap_free(scap *c)
{
	free(c->text);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static sonde_logger *scap_logger(scap *c, sonde_log_format fmt, const sonde_log_opts *base,
                                 sonde_log_sink **sink_out)
{
	sonde_log_sink_opts so;
	sonde_log_opts o;
	sonde_log_sink *s;
	sonde_logger *l;

	sonde_log_sink_opts_init(&so);
	so.format = fmt;
	s = sonde_log_sink_callback(scap_fn, c, &so);
	ASSERT_NOT_NULL(s);
	if (base)
		o = *base;
	else
		sonde_log_opts_init(&o, "svc");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	*sink_out = s;
	return l;
}

/* Each line parsed strictly; printed back without @timestamp, compact,
 * in its own key order, one per line. */
static const char dump_py[] =
        "import json, sys\n"
        "def pairs(kv):\n"
        "    keys = [k for k, _ in kv]\n"
        "    if len(set(keys)) != len(keys): raise ValueError('duplicate key %r' % keys)\n"
        "    return dict(kv)\n"
        "def bad(c): raise ValueError('constant ' + c)\n"
        "for line in open(sys.argv[1], encoding='utf-8', errors='strict').read().splitlines():\n"
        "    o = json.loads(line, object_pairs_hook=pairs, parse_constant=bad)\n"
        "    o.pop('@timestamp')\n"
        "    print(json.dumps(o, separators=(',', ':')))\n";

/* The captured lines as python sees them (malloc'ed). */
static char *dump(scap *c)
{
	const char *argv[] = {SONDE_PYTHON, NULL, NULL, NULL};
	char *out = NULL;
	int rc;

	argv[1] = sonde_test_tmpfile(5, dump_py, strlen(dump_py));
	pthread_mutex_lock(&c->mu);
	argv[2] = sonde_test_tmpfile(6, c->text, c->len);
	pthread_mutex_unlock(&c->mu);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("json check exit %d:\n%s\n--- lines:\n%.3000s", rc, out, c->text);
	unlink(argv[1]);
	unlink(argv[2]);
	return out;
}

#define ASSERT_DUMP(c, want)                                                          \
	do {                                                                          \
		char *got_ = dump(c);                                                 \
		if (strcmp(got_, (want)) != 0)                                        \
			FAIL("lines differ:\n--- got\n%s--- want\n%s", got_, (want)); \
		free(got_);                                                           \
	} while (0)

/* ---- scopes: what the lines carry ---------------------------------------------------- */

static void *log_elsewhere(void *p)
{
	LOG_INFO((sonde_logger *)p, "other thread");
	return NULL;
}

TEST(log_scope_fields_on_every_record_nested_inner_wins)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l = scap_logger(c, SONDE_LOG_FORMAT_JSON, NULL, &s);
	sonde_log_field bf[] = {sonde_log_field_str("component", "api")};
	sonde_logger *child = sonde_logger_child(l, bf, 1);
	sonde_log_scope outer, inner;
	sonde_log_field of[] = {sonde_log_field_str("user_id", "u1"),
	                        sonde_log_field_i64("tenant", 7)};
	sonde_log_field inf[] = {sonde_log_field_str("session_id", "s9"),
	                         sonde_log_field_str("user_id", "u2")};
	sonde_log_field wf[] = {sonde_log_field_u64("n", 5)};
	pthread_t t;

	ASSERT_NOT_NULL(child);
	LOG_INFO(l, "before");
	ASSERT_OK(sonde_log_scope_push(&outer, of, 2));
	ASSERT_EQ_INT(sonde_log_scope_fields(), 2);
	LOG_INFO(l, "outer", LOG_INT("items", 3));
	LOG_WARN(child, "child logger");
	ASSERT_EQ_INT(pthread_create(&t, NULL, log_elsewhere, l), 0);
	pthread_join(t, NULL);
	ASSERT_OK(sonde_log_scope_push(&inner, inf, 2));
	ASSERT_EQ_INT(sonde_log_scope_fields(), 4);
	LOG_INFO(l, "inner", LOG_INT("tenant", 8));
	ASSERT_OK(sonde_log_write(l, SONDE_LOG_LEVEL_ERROR, "runtime", 7, wf, 1));
	ASSERT_OK(sonde_log_scope_pop(&inner));
	LOG_INFO(l, "outer again");
	ASSERT_OK(sonde_log_scope_pop(&outer));
	ASSERT_EQ_INT(sonde_log_scope_fields(), 0);
	LOG_INFO(l, "after");
	ASSERT_OK(sonde_log_flush());
	ASSERT_DUMP(c, "{\"level\":\"info\",\"message\":\"before\",\"service\":\"svc\"}\n"
	               "{\"level\":\"info\",\"message\":\"outer\",\"service\":\"svc\","
	               "\"user_id\":\"u1\",\"tenant\":7,\"items\":3}\n"
	               "{\"level\":\"warn\",\"message\":\"child logger\",\"service\":\"svc\","
	               "\"component\":\"api\",\"user_id\":\"u1\",\"tenant\":7}\n"
	               "{\"level\":\"info\",\"message\":\"other thread\",\"service\":\"svc\"}\n"
	               /* inner user_id beats the outer; the call's tenant beats both */
	               "{\"level\":\"info\",\"message\":\"inner\",\"service\":\"svc\","
	               "\"session_id\":\"s9\",\"user_id\":\"u2\",\"tenant\":8}\n"
	               "{\"level\":\"error\",\"message\":\"runtime\",\"service\":\"svc\","
	               "\"tenant\":7,\"session_id\":\"s9\",\"user_id\":\"u2\",\"n\":5}\n"
	               "{\"level\":\"info\",\"message\":\"outer again\",\"service\":\"svc\","
	               "\"user_id\":\"u1\",\"tenant\":7}\n"
	               "{\"level\":\"info\",\"message\":\"after\",\"service\":\"svc\"}\n");
	sonde_logger_free(child);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

TEST(log_scope_types_trace_logfmt_and_key_rules)
{
	scap *c = scap_new(), *cf = scap_new();
	sonde_log_sink *s, *sf;
	sonde_log_opts o;
	const char *redact[] = {"secret"};
	sonde_logger *l, *lf;
	sonde_log_field bf[] = {sonde_log_field_str("region", "eu")};
	sonde_logger *child;
	sonde_log_scope sc;
	sonde_log_field f[] = {
	        sonde_log_field_str("level", "shadow"),      sonde_log_field_str("region", "us"),
	        sonde_log_field_str("secret", "hunter2"),    sonde_log_field_f64("ratio", 0.5),
	        sonde_log_field_bool("vip", true),           sonde_log_field_str("nothing", NULL),
	        sonde_log_field_str("esc", "a \"b\"\n\xff"), sonde_log_field_i64("neg", -1)};
	sonde_span_context ctx;
	sonde_context_scope cs;
	uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	uint8_t sid[8] = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2};

	sonde_log_opts_init(&o, "svc");
	o.redact_keys = redact;
	o.redact_count = 1;
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	lf = scap_logger(cf, SONDE_LOG_FORMAT_LOGFMT, &o, &sf);
	child = sonde_logger_child(l, bf, 1);
	ASSERT_NOT_NULL(child);
	memset(&ctx, 0, sizeof(ctx));
	memcpy(ctx.trace_id, tid, 16);
	memcpy(ctx.span_id, sid, 8);
	ctx.trace_flags = 1;
	sonde_context_attach(&cs, &ctx);
	ASSERT_OK(sonde_log_scope_push(&sc, f, 8));
	LOG_INFO(child, "keys");
	LOG_INFO(lf, "logfmt", LOG_INT("neg", 2));
	ASSERT_OK(sonde_log_scope_pop(&sc));
	ASSERT_OK(sonde_context_detach(&cs));
	ASSERT_OK(sonde_log_flush());
	/* "level" is a line key: renamed level_1; the scoped region beats the
	 * bound one at its own place; redaction applies to scoped keys */
	ASSERT_DUMP(c, "{\"level\":\"info\",\"message\":\"keys\",\"service\":\"svc\","
	               "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
	               "\"span_id\":\"0a0b0c0d0e0f0102\",\"trace_flags\":\"01\","
	               "\"level_1\":\"shadow\",\"region\":\"us\",\"secret\":\"[REDACTED]\","
	               "\"ratio\":0.5,\"vip\":true,\"nothing\":null,"
	               "\"esc\":\"a \\\"b\\\"\\n\\ufffd\",\"neg\":-1}\n");
	pthread_mutex_lock(&cf->mu);
	ASSERT_CONTAINS(cf->text,
	                " msg=\"logfmt\" service=svc trace_id=0102030405060708090a0b0c0d0e0f10"
	                " span_id=0a0b0c0d0e0f0102 trace_flags=01 level_1=shadow region=us"
	                " secret=\"[REDACTED]\" ratio=0.5 vip=true nothing=null"
	                " esc=\"a \\\"b\\\"\\n\xef\xbf\xbd\" neg=2\n");
	pthread_mutex_unlock(&cf->mu);
	sonde_logger_free(child);
	sonde_logger_free(l);
	sonde_logger_free(lf);
	sonde_log_sink_free(s);
	sonde_log_sink_free(sf);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
	scap_free(cf);
}

TEST(log_scope_values_copied_at_the_call)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l = scap_logger(c, SONDE_LOG_FORMAT_JSON, NULL, &s);
	sonde_log_scope *sc = malloc(sizeof(*sc));
	char *uid = strdup("alice");
	char key[16] = "user_id";
	sonde_log_field f[] = {sonde_log_field_str(key, uid)};
	sonde_log_field g = {"part", SONDE_LOG_T_STR, {0}, 3};

	g.v.s = "abcdef"; /* explicit length: 3 bytes */
	ASSERT_OK(sonde_log_scope_push(sc, f, 1));
	f[0].key = "changed"; /* the field array is copied at push */
	LOG_INFO(l, "one");
	ASSERT_OK(sonde_log_scope_pop(sc));
	/* the scope, its key and its value are gone before the backend runs */
	memset(sc, 0xa5, sizeof(*sc));
	free(sc);
	memset(uid, 'X', 5);
	free(uid);
	strcpy(key, "garbage");
	{
		sonde_log_scope s2;
		ASSERT_OK(sonde_log_scope_push(&s2, &g, 1));
		LOG_INFO(l, "two");
		ASSERT_OK(sonde_log_scope_pop(&s2));
	}
	ASSERT_OK(sonde_log_flush());
	ASSERT_DUMP(c, "{\"level\":\"info\",\"message\":\"one\",\"service\":\"svc\","
	               "\"user_id\":\"alice\"}\n"
	               "{\"level\":\"info\",\"message\":\"two\",\"service\":\"svc\","
	               "\"part\":\"abc\"}\n");
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

/* Scopes whose keys and strings pass SONDE_LOG_SCOPE_INLINE are read at
 * each call instead of from the copy made at push: both paths, nested. */
TEST(log_scope_long_values_read_at_the_call)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l = scap_logger(c, SONDE_LOG_FORMAT_JSON, NULL, &s);
	sonde_log_scope a, b;
	char longv[501], want[700];
	sonde_log_field fa[] = {sonde_log_field_str("long", longv), sonde_log_field_i64("n", 1)};
	sonde_log_field fb[] = {sonde_log_field_str("short", "s"),
	                        sonde_log_field_str("nul", NULL)};

	memset(longv, 'L', 500);
	longv[500] = '\0';
	ASSERT_OK(sonde_log_scope_push(&a, fa, 2));
	ASSERT_OK(sonde_log_scope_push(&b, fb, 2));
	LOG_INFO(l, "mixed", LOG_INT("own", 2));
	ASSERT_OK(sonde_log_scope_pop(&b));
	ASSERT_OK(sonde_log_scope_pop(&a));
	ASSERT_OK(sonde_log_flush());
	snprintf(want, sizeof(want),
	         "{\"level\":\"info\",\"message\":\"mixed\",\"service\":\"svc\",\"long\":\"%s\","
	         "\"n\":1,\"short\":\"s\",\"nul\":null,\"own\":2}\n",
	         longv);
	ASSERT_DUMP(c, want);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

TEST(log_scope_too_big_for_the_record_is_left_out_and_flagged)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l;
	sonde_log_config cfg;
	sonde_log_scope sc;
	char big[600];
	sonde_log_field f[2];
	sonde_log_stats st;
	uint64_t trunc0;

	sonde_log_config_init(&cfg);
	cfg.ring_bytes = 1024; /* a record takes at most 256 bytes */
	ASSERT_OK(sonde_log_configure(&cfg));
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, NULL, &s);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ASSERT_OK(sonde_log_stats_get(&st));
	trunc0 = st.truncated;
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f[0] = sonde_log_field_str("big", big);
	f[1] = sonde_log_field_i64("small", 1);
	ASSERT_OK(sonde_log_scope_push(&sc, f, 2));
	LOG_INFO(l, "no room", LOG_INT("mine", 1));
	ASSERT_OK(sonde_log_scope_pop(&sc));
	ASSERT_OK(sonde_log_flush());
	ASSERT_DUMP(c, "{\"level\":\"info\",\"message\":\"no room\",\"service\":\"svc\","
	               "\"mine\":1,\"_truncated\":true}\n");
	ASSERT_OK(sonde_log_stats_get(&st));
	ASSERT_EQ_U64(st.truncated - trunc0, 1);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

/* ---- scopes: the block sent once per change ---------------------------------------------- */

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* A ring carries a scope whole once per push or pop and then only names
 * it: through many wraps of a small ring every record still carries it. */
TEST(log_scope_named_records_keep_their_fields_across_ring_wraps)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l;
	sonde_log_config cfg;
	sonde_log_scope a, b;
	sonde_log_field fa[] = {sonde_log_field_str("user_id", "u1"),
	                        sonde_log_field_i64("tenant", 7)};
	sonde_log_field fb[] = {sonde_log_field_str("req", "r-2")};
	int i;

	sonde_log_opts o;

	sonde_log_config_init(&cfg);
	cfg.ring_bytes = 4096;
	ASSERT_OK(sonde_log_configure(&cfg));
	sonde_log_opts_init(&o, "svc");
	o.overflow = SONDE_LOG_OVERFLOW_BLOCK; /* every record, wrapping */
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	ASSERT_OK(sonde_log_scope_push(&a, fa, 2));
	for (i = 0; i < 3000; i++) {
		if (i == 1000)
			ASSERT_OK(sonde_log_scope_push(&b, fb, 1));
		if (i == 2000)
			ASSERT_OK(sonde_log_scope_pop(&b));
		LOG_INFO(l, "r", LOG_INT("i", i));
	}
	ASSERT_OK(sonde_log_scope_pop(&a));
	LOG_INFO(l, "after");
	ASSERT_OK(sonde_log_flush());
	pthread_mutex_lock(&c->mu);
	ASSERT_EQ_U64(c->n, 3001);
	ASSERT_EQ_U64(
	        count_of(c->text, "\"service\":\"svc\",\"user_id\":\"u1\",\"tenant\":7,\"i\":"),
	        2000);
	ASSERT_EQ_U64(count_of(c->text, "\"service\":\"svc\",\"user_id\":\"u1\",\"tenant\":7,"
	                                "\"req\":\"r-2\",\"i\":"),
	              1000);
	ASSERT_EQ_U64(count_of(c->text, "_truncated"), 0);
	ASSERT_CONTAINS(c->text, "\"message\":\"after\",\"service\":\"svc\"}\n");
	ASSERT_CONTAINS(c->text, "\"i\":999}\n");
	ASSERT_CONTAINS(c->text, "\"req\":\"r-2\",\"i\":1000}\n");
	ASSERT_CONTAINS(c->text, "\"req\":\"r-2\",\"i\":1999}\n");
	ASSERT_CONTAINS(c->text, "\"tenant\":7,\"i\":2000}\n");
	pthread_mutex_unlock(&c->mu);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

/* Records replayed by the flight recorder carry their own moment's scope
 * and do not change what the ring's next records name. */
TEST(log_scope_named_records_after_a_flight_replay)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l;
	sonde_log_opts o;
	sonde_log_scope a, b;
	sonde_log_field fa[] = {sonde_log_field_str("user_id", "u1")};
	sonde_log_field fb[] = {sonde_log_field_i64("step", 2)};

	sonde_log_opts_init(&o, "svc");
	o.flight_recorder = 1;
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	ASSERT_OK(sonde_log_scope_push(&a, fa, 1));
	LOG_DEBUG(l, "kept a");
	LOG_INFO(l, "i1");
	LOG_INFO(l, "i2");
	ASSERT_OK(sonde_log_scope_push(&b, fb, 1));
	LOG_DEBUG(l, "kept b");
	LOG_INFO(l, "i3");
	ASSERT_OK(sonde_log_scope_pop(&b));
	LOG_ERROR(l, "trigger");
	LOG_INFO(l, "i4");
	ASSERT_OK(sonde_log_scope_pop(&a));
	LOG_INFO(l, "i5");
	ASSERT_OK(sonde_log_flush());
	ASSERT_DUMP(
	        c,
	        "{\"level\":\"info\",\"message\":\"i1\",\"service\":\"svc\",\"user_id\":\"u1\"}\n"
	        "{\"level\":\"info\",\"message\":\"i2\",\"service\":\"svc\",\"user_id\":\"u1\"}\n"
	        "{\"level\":\"info\",\"message\":\"i3\",\"service\":\"svc\",\"user_id\":\"u1\","
	        "\"step\":2}\n"
	        "{\"level\":\"debug\",\"message\":\"kept a\",\"service\":\"svc\","
	        "\"user_id\":\"u1\",\"_replayed\":true}\n"
	        "{\"level\":\"debug\",\"message\":\"kept b\",\"service\":\"svc\","
	        "\"user_id\":\"u1\",\"step\":2,\"_replayed\":true}\n"
	        "{\"level\":\"error\",\"message\":\"trigger\",\"service\":\"svc\","
	        "\"user_id\":\"u1\"}\n"
	        "{\"level\":\"info\",\"message\":\"i4\",\"service\":\"svc\",\"user_id\":\"u1\"}\n"
	        "{\"level\":\"info\",\"message\":\"i5\",\"service\":\"svc\"}\n");
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

/* A sink that holds the backend for 1 s on each line with "hold". */
static atomic_int holds;
static int hold_fn(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	struct timespec ts = {1, 0};

	if (memmem(line, len, "hold", 4)) {
		atomic_fetch_add(&holds, 1);
		nanosleep(&ts, NULL);
	}
	return scap_fn(ctx, level, line, len);
}

static void wait_holds(int n)
{
	struct timespec ts = {0, 1000000};
	int spins = 0;

	while (atomic_load(&holds) < n && spins++ < 5000)
		nanosleep(&ts, NULL);
	ASSERT_EQ_INT(atomic_load(&holds), n);
}

/* The record carrying a scope whole is discarded by a shutdown whose
 * deadline passed: after the restart the ring sends the scope again
 * instead of naming a block its consumer never saw. */
TEST(log_scope_sent_again_after_a_discard)
{
	scap *c = scap_new(), *c2 = scap_new();
	sonde_log_sink *s, *s2;
	sonde_logger *l, *l2;
	sonde_log_opts o;
	sonde_log_config cfg;
	sonde_log_scope a, b;
	sonde_log_field fa[] = {sonde_log_field_str("user_id", "u1")};
	sonde_log_field fb[] = {sonde_log_field_str("req", "r9")};
	struct timespec ts = {1, 500000000};
	sonde_log_sink_opts so;

	sonde_log_config_init(&cfg);
	cfg.shutdown_timeout_ms = 100;
	ASSERT_OK(sonde_log_configure(&cfg));
	sonde_log_sink_opts_init(&so);
	s = sonde_log_sink_callback(hold_fn, c, &so);
	ASSERT_NOT_NULL(s);
	sonde_log_opts_init(&o, "svc");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	ASSERT_OK(sonde_log_scope_push(&a, fa, 1));
	LOG_INFO(l, "hold 1");
	wait_holds(1);
	/* the deadline passes while the backend is held */
	ASSERT_TRUE(sonde_log_shutdown() != SONDE_OK);
	LOG_INFO(l, "hold 2"); /* the stopping batch takes it and is held */
	wait_holds(2);
	/* after that batch's end: discarded at the deadline, and with it the
	 * new scope whole */
	ASSERT_OK(sonde_log_scope_push(&b, fb, 1));
	LOG_INFO(l, "discarded");
	nanosleep(&ts, NULL); /* the held line ends, the old backend exits */
	l2 = scap_logger(c2, SONDE_LOG_FORMAT_JSON, NULL, &s2);
	LOG_INFO(l2, "after restart");
	ASSERT_OK(sonde_log_flush());
	ASSERT_DUMP(c2, "{\"level\":\"info\",\"message\":\"after restart\",\"service\":\"svc\","
	                "\"user_id\":\"u1\",\"req\":\"r9\"}\n");
	pthread_mutex_lock(&c->mu);
	ASSERT_EQ_U64(c->n, 2);
	ASSERT_TRUE(strstr(c->text, "discarded") == NULL);
	pthread_mutex_unlock(&c->mu);
	ASSERT_OK(sonde_log_scope_pop(&b));
	ASSERT_OK(sonde_log_scope_pop(&a));
	sonde_logger_free(l2);
	sonde_logger_free(l);
	sonde_log_sink_free(s2);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c2);
	scap_free(c);
}

/* ---- scopes: errors ---------------------------------------------------------------- */

static sonde_log_scope *foreign_scope;
static int foreign_rc;
static char foreign_msg[256];

static void *pop_foreign(void *p)
{
	(void)p;
	foreign_rc = sonde_log_scope_pop(foreign_scope);
	snprintf(foreign_msg, sizeof(foreign_msg), "%s", sonde_last_error());
	return NULL;
}

TEST(log_scope_api_errors_never_crash)
{
	sonde_log_scope a, b, c2, d, many[SONDE_LOG_SCOPE_DEPTH + 1];
	sonde_log_field ok1 = sonde_log_field_str("k", "v");
	sonde_log_field f9[9], f16[8];
	char longkey[SONDE_LOG_SCOPE_KEY_MAX + 2], huge[SONDE_LOG_SCOPE_BYTES + 8];
	sonde_log_field bad;
	pthread_t t;
	int i;

	ASSERT_EQ_INT(sonde_log_scope_push(NULL, &ok1, 1), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "scope is NULL");
	ASSERT_EQ_INT(sonde_log_scope_push(&a, NULL, 1), SONDE_EINVAL);
	for (i = 0; i < 9; i++)
		f9[i] = sonde_log_field_i64(i ? "b" : "a", i);
	ASSERT_EQ_INT(sonde_log_scope_push(&a, f9, 9), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "at most 8");
	bad = sonde_log_field_i64(NULL, 1);
	ASSERT_EQ_INT(sonde_log_scope_push(&a, &bad, 1), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "no key");
	bad = sonde_log_field_i64("", 1);
	ASSERT_EQ_INT(sonde_log_scope_push(&a, &bad, 1), SONDE_EINVAL);
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	bad = sonde_log_field_i64(longkey, 1);
	ASSERT_EQ_INT(sonde_log_scope_push(&a, &bad, 1), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "longer than 64 bytes");
	bad = sonde_log_field_i64("t", 1);
	bad.type = 99;
	ASSERT_EQ_INT(sonde_log_scope_push(&a, &bad, 1), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "type 99");
	ASSERT_EQ_INT(sonde_log_scope_push(&a, f9, 3), SONDE_EINVAL); /* "b" twice */
	ASSERT_CONTAINS(sonde_last_error(), "\"b\" appears twice");
	memset(huge, 'h', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	bad = sonde_log_field_str("h", huge);
	ASSERT_EQ_INT(sonde_log_scope_push(&a, &bad, 1), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "1024 bytes");
	bad.len = SIZE_MAX - 1; /* explicit and absurd: no wrap-around */
	ASSERT_EQ_INT(sonde_log_scope_push(&a, &bad, 1), SONDE_ELIMIT);
	ASSERT_EQ_INT(sonde_log_scope_fields(), 0); /* nothing pushed by a failure */

	/* totals: 8 + 8 fields fit, one more does not */
	for (i = 0; i < 8; i++) {
		static const char *const k[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
		f16[i] = sonde_log_field_i64(k[i], i);
	}
	ASSERT_OK(sonde_log_scope_push(&a, f16, 8));
	ASSERT_OK(sonde_log_scope_push(&b, f16, 8));
	ASSERT_EQ_INT(sonde_log_scope_push(&c2, &ok1, 1), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "at most 16");
	ASSERT_EQ_INT(sonde_log_scope_push(&b, &ok1, 1), SONDE_ESTATE); /* already pushed */
	ASSERT_CONTAINS(sonde_last_error(), "already pushed");
	ASSERT_OK(sonde_log_scope_pop(&b));
	ASSERT_OK(sonde_log_scope_pop(&a));

	/* out of order: popping a pops b and c2 with it */
	ASSERT_OK(sonde_log_scope_push(&a, &ok1, 1));
	ASSERT_OK(sonde_log_scope_push(&b, &ok1, 1));
	ASSERT_OK(sonde_log_scope_push(&c2, &ok1, 1));
	ASSERT_EQ_INT(sonde_log_scope_pop(&a), SONDE_ESTATE);
	ASSERT_CONTAINS(sonde_last_error(), "out of order: 2 scope(s)");
	ASSERT_EQ_INT(sonde_log_scope_fields(), 0);
	ASSERT_EQ_INT(sonde_log_scope_pop(&c2), SONDE_ESTATE);
	ASSERT_CONTAINS(sonde_last_error(), "popped already");
	ASSERT_EQ_INT(sonde_log_scope_pop(&b), SONDE_ESTATE);
	ASSERT_EQ_INT(sonde_log_scope_pop(&a), SONDE_ESTATE);
	ASSERT_EQ_INT(sonde_log_scope_pop(NULL), SONDE_EINVAL);
	memset(&d, 0x5a, sizeof(d)); /* never pushed, garbage links */
	ASSERT_EQ_INT(sonde_log_scope_pop(&d), SONDE_ESTATE);

	/* another thread cannot pop this thread's scope */
	ASSERT_OK(sonde_log_scope_push(&a, &ok1, 1));
	foreign_scope = &a;
	ASSERT_EQ_INT(pthread_create(&t, NULL, pop_foreign, NULL), 0);
	pthread_join(t, NULL);
	ASSERT_EQ_INT(foreign_rc, SONDE_ESTATE);
	ASSERT_CONTAINS(foreign_msg, "not pushed by this thread");
	ASSERT_EQ_INT(sonde_log_scope_fields(), 1); /* still ours */
	ASSERT_OK(sonde_log_scope_pop(&a));

	/* depth: 64 empty scopes, the 65th refused */
	for (i = 0; i < SONDE_LOG_SCOPE_DEPTH; i++)
		ASSERT_OK(sonde_log_scope_push(&many[i], NULL, 0));
	ASSERT_EQ_INT(sonde_log_scope_push(&many[i], NULL, 0), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "64 scopes deep");
	while (i--)
		ASSERT_OK(sonde_log_scope_pop(&many[i]));
}

/* ---- scopes: threads ------------------------------------------------------------------ */

#define SC_THREADS 4
#define SC_PER 300

static void *scoped_worker(void *p)
{
	sonde_logger *l = p;
	char uid[32];
	int me = (int)(intptr_t)pthread_self() & 0xffff, i;
	sonde_log_scope sc, in;

	snprintf(uid, sizeof(uid), "user-%d", me);
	for (i = 0; i < SC_PER; i++) {
		sonde_log_field f[] = {sonde_log_field_str("user_id", uid),
		                       sonde_log_field_i64("who", me)};
		sonde_log_field g[] = {sonde_log_field_i64("i", i)};
		if (sonde_log_scope_push(&sc, f, 2) != SONDE_OK)
			return (void *)1;
		if (sonde_log_scope_push(&in, g, 1) != SONDE_OK)
			return (void *)1;
		LOG_INFO(l, "work", LOG_INT("me", me), LOG_INT("j", i));
		if (sonde_log_scope_pop(&in) != SONDE_OK || sonde_log_scope_pop(&sc) != SONDE_OK)
			return (void *)1;
	}
	return NULL;
}

static const char threads_py[] =
        "import json, sys\n"
        "n = 0\n"
        "for line in open(sys.argv[1]).read().splitlines():\n"
        "    o = json.loads(line)\n"
        "    assert o['who'] == o['me'] and o['user_id'] == 'user-%d' % o['me'], line\n"
        "    assert o['i'] == o['j'], line\n"
        "    n += 1\n"
        "print('ok', n)\n";

TEST(log_scope_threads_each_see_their_own)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l = scap_logger(c, SONDE_LOG_FORMAT_JSON, NULL, &s);
	pthread_t t[SC_THREADS];
	const char *argv[] = {SONDE_PYTHON, NULL, NULL, NULL};
	char *out = NULL, want[32];
	void *rv;
	int i;

	for (i = 0; i < SC_THREADS; i++)
		ASSERT_EQ_INT(pthread_create(&t[i], NULL, scoped_worker, l), 0);
	for (i = 0; i < SC_THREADS; i++) {
		pthread_join(t[i], &rv);
		ASSERT_NULL(rv);
	}
	ASSERT_OK(sonde_log_flush());
	argv[1] = sonde_test_tmpfile(5, threads_py, strlen(threads_py));
	argv[2] = sonde_test_tmpfile(6, c->text, c->len);
	ASSERT_EQ_INT(sonde_test_run(argv, NULL, &out), 0);
	snprintf(want, sizeof(want), "ok %d", SC_THREADS * SC_PER);
	ASSERT_CONTAINS(out, want);
	free(out);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

/* ---- sampling ----------------------------------------------------------------------- */

static uint64_t sampled(int level)
{
	return sonde_log_sampled_total(level);
}

static void hot_info(sonde_logger *l, int i)
{
	LOG_INFO(l, "hot", LOG_INT("i", i));
}

static void hot_error(sonde_logger *l, int i)
{
	LOG_ERROR(l, "hot error", LOG_INT("i", i));
}

TEST(log_sampling_first_n_then_one_in_m_per_site)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_log_opts o;
	sonde_logger *l, *child;
	uint64_t info0 = sampled(SONDE_LOG_LEVEL_INFO), err0 = sampled(SONDE_LOG_LEVEL_ERROR);
	char *text, *metrics;
	sonde_buf b = SONDE_BUF_INIT;
	sonde_log_stats st;
	int i;

	sonde_log_opts_init(&o, "svc");
	o.sample_first = 3;
	o.sample_thereafter = 5;
	o.sample_interval_ms = 0xffffffffu;
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	child = sonde_logger_child(l, NULL, 0); /* inherits the sampling */
	ASSERT_NOT_NULL(child);
	for (i = 1; i <= 23; i++)
		hot_info(i % 2 ? l : child, i); /* one site: the state is the site's */
	for (i = 1; i <= 10; i++)
		hot_error(l, i);     /* error: never sampled unless asked */
	LOG_INFO(l, "another site"); /* its own count */
	ASSERT_OK(sonde_log_flush());
	/* records 1-3, then the 5th, 10th, 15th, 20th after them */
	text = dump(c);
	ASSERT_EQ_INT(sonde_test_count(text, "\"message\":\"hot\""), 7);
	ASSERT_CONTAINS(text, "\"i\":1}\n{\"level\":\"info\",\"message\":\"hot\","
	                      "\"service\":\"svc\",\"i\":2}\n{\"level\":\"info\","
	                      "\"message\":\"hot\",\"service\":\"svc\",\"i\":3}\n"
	                      "{\"level\":\"info\",\"message\":\"hot\",\"service\":\"svc\","
	                      "\"i\":8}\n");
	ASSERT_CONTAINS(text, "\"i\":13}");
	ASSERT_CONTAINS(text, "\"i\":18}");
	ASSERT_CONTAINS(text, "\"i\":23}");
	ASSERT_EQ_INT(sonde_test_count(text, "hot error"), 10);
	ASSERT_CONTAINS(text, "another site");
	free(text);
	ASSERT_EQ_U64(sampled(SONDE_LOG_LEVEL_INFO) - info0, 16);
	ASSERT_EQ_U64(sampled(SONDE_LOG_LEVEL_ERROR) - err0, 0);
	ASSERT_EQ_U64(sonde_log_sampled_total(-1), 0);
	ASSERT_EQ_U64(sonde_log_sampled_total(6), 0);
	/* a sampled-out record is neither written nor dropped */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ASSERT_OK(sonde_log_stats_get(&st));
	ASSERT_EQ_U64(st.dropped, 0);
	/* the self-metric, on the default registry */
	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &b));
	metrics = strndup(b.data, b.len);
	ASSERT_CONTAINS(metrics, "# TYPE sonde_log_sampled_total counter");
	{
		char want[64];
		snprintf(want, sizeof(want), "sonde_log_sampled_total{level=\"info\"} %llu",
		         (unsigned long long)sampled(SONDE_LOG_LEVEL_INFO));
		ASSERT_CONTAINS(metrics, want);
	}
	free(metrics);
	sonde_buf_destroy(&b);
	sonde_logger_free(child);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

TEST(log_sampling_errors_when_asked_per_call_and_runtime)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_log_opts o;
	sonde_logger *l, *plain;
	uint64_t err0 = sampled(SONDE_LOG_LEVEL_ERROR), warn0 = sampled(SONDE_LOG_LEVEL_WARN),
	         dbg0 = sampled(SONDE_LOG_LEVEL_DEBUG);
	sonde_log_field f = sonde_log_field_i64("k", 1);
	char *text;
	int i;

	sonde_log_opts_init(&o, "svc");
	o.level = SONDE_LOG_LEVEL_DEBUG;
	o.sample_first = 2;
	o.sample_thereafter = 0; /* none after the first two */
	o.sample_interval_ms = 0xffffffffu;
	o.sample_errors = 1;
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	for (i = 0; i < 6; i++)
		hot_error(l, i);
	/* sonde_log_write: one state per (level, keys, types) */
	for (i = 0; i < 5; i++)
		ASSERT_OK(sonde_log_write(l, SONDE_LOG_LEVEL_DEBUG, "rt", 2, &f, 1));
	for (i = 0; i < 5; i++)
		ASSERT_OK(sonde_log_write(l, SONDE_LOG_LEVEL_DEBUG, "rt2", 3, NULL, 0));
	ASSERT_OK(sonde_log_flush());
	text = dump(c);
	ASSERT_EQ_INT(sonde_test_count(text, "hot error"), 2);
	ASSERT_EQ_INT(sonde_test_count(text, "\"rt\""), 2);
	ASSERT_EQ_INT(sonde_test_count(text, "\"rt2\""), 2);
	free(text);
	ASSERT_EQ_U64(sampled(SONDE_LOG_LEVEL_ERROR) - err0, 4);
	ASSERT_EQ_U64(sampled(SONDE_LOG_LEVEL_DEBUG) - dbg0, 6);
	sonde_logger_free(l);
	sonde_log_sink_free(s);

	/* per call, on a logger without sampling: any level, 1 then 1 in 3 */
	sonde_log_opts_init(&o, "svc");
	plain = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	for (i = 1; i <= 10; i++)
		LOG_SAMPLED(SONDE_LOG_LEVEL_WARN, plain, 1, 3, 0xffffffffu, "per call",
		            LOG_INT("i", i));
	for (i = 1; i <= 4; i++)
		LOG_SAMPLED(SONDE_LOG_LEVEL_WARN, plain, 0, 2, 0, "every other");
	for (i = 1; i <= 4; i++)
		LOG_WARN(plain, "unsampled");
	ASSERT_OK(sonde_log_flush());
	text = dump(c);
	/* 1, then the 3rd, 6th, 9th after it: i = 1, 4, 7, 10 */
	ASSERT_EQ_INT(sonde_test_count(text, "per call"), 4);
	ASSERT_CONTAINS(text, "\"per call\",\"service\":\"svc\",\"i\":4}");
	ASSERT_CONTAINS(text, "\"per call\",\"service\":\"svc\",\"i\":10}");
	ASSERT_EQ_INT(sonde_test_count(text, "every other"), 2);
	ASSERT_EQ_INT(sonde_test_count(text, "unsampled"), 4);
	free(text);
	ASSERT_EQ_U64(sampled(SONDE_LOG_LEVEL_WARN) - warn0, 6 + 2);
	sonde_logger_free(plain);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

TEST(log_sampling_interval_restarts_the_count)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_log_opts o;
	sonde_logger *l;
	struct timespec nap = {0, 150 * 1000 * 1000};
	char *text;
	int i;

	sonde_log_opts_init(&o, "svc");
	o.sample_first = 1;
	o.sample_interval_ms = 100;
	l = scap_logger(c, SONDE_LOG_FORMAT_JSON, &o, &s);
	for (i = 0; i < 5; i++)
		hot_info(l, i);
	nanosleep(&nap, NULL);
	for (i = 0; i < 5; i++)
		hot_info(l, 10 + i);
	ASSERT_OK(sonde_log_flush());
	text = dump(c);
	/* the first of each interval (a burst could straddle a boundary, at
	 * most one more each time) */
	i = sonde_test_count(text, "\"message\":\"hot\"");
	ASSERT_TRUE(i >= 2 && i <= 4);
	ASSERT_CONTAINS(text, "\"i\":0}");
	ASSERT_CONTAINS(text, "\"i\":10}");
	free(text);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

#define SA_THREADS 4
#define SA_PER 20000

static void *sampled_worker(void *p)
{
	int i;
	for (i = 0; i < SA_PER; i++)
		hot_info(p, i);
	return NULL;
}

static int count_only(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)level;
	(void)line;
	(void)len;
	atomic_fetch_add((_Atomic uint64_t *)ctx, 1);
	return 0;
}

TEST(log_sampling_threads_exact_counts)
{
	_Atomic uint64_t lines = 0;
	sonde_log_sink_opts so;
	sonde_log_sink *s;
	sonde_log_opts o;
	sonde_logger *l;
	pthread_t t[SA_THREADS];
	uint64_t info0 = sampled(SONDE_LOG_LEVEL_INFO);
	int i;

	sonde_log_sink_opts_init(&so);
	s = sonde_log_sink_callback(count_only, (void *)&lines, &so);
	ASSERT_NOT_NULL(s);
	sonde_log_opts_init(&o, "svc");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	o.overflow = SONDE_LOG_OVERFLOW_BLOCK;
	o.sample_first = 100;
	o.sample_thereafter = 10;
	o.sample_interval_ms = 0xffffffffu; /* one interval for the test */
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	for (i = 0; i < SA_THREADS; i++)
		ASSERT_EQ_INT(pthread_create(&t[i], NULL, sampled_worker, l), 0);
	for (i = 0; i < SA_THREADS; i++)
		pthread_join(t[i], NULL);
	ASSERT_OK(sonde_log_flush());
	/* the count is one fetch_add: exact over all threads */
	ASSERT_EQ_U64(atomic_load(&lines), 100 + (SA_THREADS * SA_PER - 100) / 10);
	ASSERT_EQ_U64(atomic_load(&lines) + sampled(SONDE_LOG_LEVEL_INFO) - info0,
	              SA_THREADS * SA_PER);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
}

/* ---- baggage members stamped through a scope ------------------------------------------ */

TEST(log_scope_push_baggage_stamps_selected_members)
{
	scap *c = scap_new();
	sonde_log_sink *s;
	sonde_logger *l = scap_logger(c, SONDE_LOG_FORMAT_JSON, NULL, &s);
	sonde_baggage *b = sonde_baggage_new();
	static const char *const keep[] = {"tenant", "user_id", "absent"};
	static const char *const twice[] = {"tenant", "tenant"};
	static const char *const empty[] = {""};
	const char *nine[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
	sonde_log_scope sc;
	const char *hdr = "user_id=alice%20b,secret=x,tenant=acme;ttl=3,tenant=%E2%82%ACuro";

	ASSERT_NOT_NULL(b);
	ASSERT_OK(sonde_baggage_parse(b, hdr, strlen(hdr)));
	ASSERT_OK(sonde_log_scope_push_baggage(&sc, b, keep, 3));
	ASSERT_EQ_INT(sonde_log_scope_fields(), 2);
	LOG_INFO(l, "stamped");
	ASSERT_OK(sonde_log_scope_pop(&sc));
	ASSERT_EQ_INT(sonde_log_scope_push_baggage(NULL, b, keep, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_scope_push_baggage(&sc, NULL, keep, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_scope_push_baggage(&sc, b, NULL, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_scope_push_baggage(&sc, b, twice, 2), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "twice");
	ASSERT_EQ_INT(sonde_log_scope_push_baggage(&sc, b, empty, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_scope_push_baggage(&sc, b, nine, 9), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_scope_fields(), 0);
	/* none present: an empty scope, popped as usual */
	ASSERT_OK(sonde_log_scope_push_baggage(&sc, b, keep + 2, 1));
	ASSERT_OK(sonde_log_scope_pop(&sc));
	ASSERT_OK(sonde_log_flush());
	/* the last "tenant" member wins, decoded ("%E2%82%AC" is the euro sign) */
	ASSERT_DUMP(c, "{\"level\":\"info\",\"message\":\"stamped\",\"service\":\"svc\","
	               "\"tenant\":\"\\u20acuro\",\"user_id\":\"alice b\"}\n");
	sonde_baggage_free(b);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	scap_free(c);
}

/* ---- the header, as C11 and C++17 ------------------------------------------------------ */

TEST(log_scope_and_sampled_macros_compile_as_cxx17_and_c11)
{
	static const char src[] =
	        "#include \"sonde/log.h\"\n"
	        "int use(sonde_logger *l, const char *p);\n"
	        "int use(sonde_logger *l, const char *p) {\n"
	        "  sonde_log_scope sc;\n"
	        "  sonde_log_field f[2] = {sonde_log_field_str(\"user_id\", p),\n"
	        "                          sonde_log_field_i64(\"tenant\", 7)};\n"
	        "  if (sonde_log_scope_push(&sc, f, 2) != SONDE_OK) return 1;\n"
	        "  LOG_SAMPLED(SONDE_LOG_LEVEL_INFO, l, 10, 100, 1000, \"hot\");\n"
	        "  LOG_SAMPLED(SONDE_LOG_LEVEL_WARN, l, 1, 0, 0, \"hot\", LOG_INT(\"a\", 1),\n"
	        "              LOG_STR(\"p\", p));\n"
	        "  SONDE_LOG_SAMPLED(SONDE_LOG_LEVEL_ERROR, l, 0, 2, 0, \"e\");\n"
	        "  LOG_INFO(l, \"in scope\");\n"
	        "  if (sonde_log_scope_pop(&sc) != SONDE_OK) return 1;\n"
	        "  return (int)sonde_log_sampled_total(SONDE_LOG_LEVEL_INFO) +\n"
	        "         (int)sonde_log_scope_fields();\n"
	        "}\n";
	sonde_test_compiles_c_and_cxx(src);
}
