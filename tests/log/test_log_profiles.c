/* tests/log/test_log_profiles.c - the output profiles (json with its key
 * options, ecs, otel, logfmt, console), SONDE_LOG_FORMAT, nested fields
 * (sonde_log_tree) and error fields. JSON lines are parsed back by
 * python3's json module, strict (no NaN literals, duplicate keys refused),
 * and checked value by value; the ecs and json lines are compared key by
 * key with what the real formatters write for the same record (npm
 * @elastic/ecs-winston-format, winston's format.json(); tests/logprofiles). */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sonde.h"
#include "sonde/log.h"
#include "test.h"

/* ---- a capturing callback sink ---------------------------------------------------- */

typedef struct pcap {
	pthread_mutex_t mu;
	char *lines[256];
	size_t n;
} pcap;

static int pcap_fn(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	pcap *c = ctx;

	(void)level;
	pthread_mutex_lock(&c->mu);
	if (c->n < 256)
		c->lines[c->n++] = strndup(line, len);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static pcap *pcap_new(void)
{
	pcap *c = calloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void pcap_free(pcap *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static char *pcap_join(pcap *c)
{
	size_t len = 1, i;
	char *s;

	for (i = 0; i < c->n; i++)
		len += strlen(c->lines[i]) + 1;
	s = calloc(1, len);
	for (i = 0; i < c->n; i++) {
		strcat(s, c->lines[i]);
		strcat(s, "\n");
	}
	return s;
}

static sonde_log_sink *psink(pcap *c, const sonde_log_sink_opts *base, sonde_log_format fmt)
{
	sonde_log_sink_opts o;
	sonde_log_sink *s;

	if (base)
		o = *base;
	else
		sonde_log_sink_opts_init(&o);
	o.format = fmt;
	o.format_env = "";
	o.name = "capture";
	s = sonde_log_sink_callback(pcap_fn, c, &o);
	ASSERT_NOT_NULL(s);
	return s;
}

static sonde_logger *plogger(const char *service, sonde_log_sink **s, size_t n)
{
	sonde_log_opts o;
	sonde_logger *l;

	sonde_log_opts_init(&o, service);
	o.level = SONDE_LOG_LEVEL_TRACE;
	o.level_env = "";
	o.sinks = s;
	o.sink_count = n;
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	return l;
}

/* ---- the checker ------------------------------------------------------------------------- */

/* Every line strict JSON (no duplicate key at any depth, no NaN literal,
 * valid UTF-8); spec {"count": N, "expect": [[[path...], value], ...] per
 * line or null, "absent": [[path...], ...] per line or null}. A path is a
 * list of keys (literal: "log.level" is one key). Prints "ok N". */
static const char checker_py[] =
        "import json, sys\n"
        "raw = open(sys.argv[1], 'rb').read().decode('utf-8', 'strict')\n"
        "lines = raw.split('\\n')\n"
        "if lines and lines[-1] == '': lines.pop()\n"
        "spec = json.load(open(sys.argv[2]))\n"
        "probs = []\n"
        "def bad_const(c): raise ValueError('non-JSON constant ' + c)\n"
        "def pairs(kv):\n"
        "    keys = [k for k, _ in kv]\n"
        "    if len(set(keys)) != len(keys): raise ValueError('duplicate key in %r' % keys)\n"
        "    return dict(kv)\n"
        "def typ(v):\n"
        "    return 'bool' if isinstance(v, bool) else type(v).__name__\n"
        "def get(o, p):\n"
        "    for k in p:\n"
        "        if not isinstance(o, dict) or k not in o: return (False, None)\n"
        "        o = o[k]\n"
        "    return (True, o)\n"
        "if 'count' in spec and spec['count'] != len(lines):\n"
        "    probs.append('want %d lines, got %d' % (spec['count'], len(lines)))\n"
        "for i, line in enumerate(lines):\n"
        "    try:\n"
        "        o = json.loads(line, parse_constant=bad_const, object_pairs_hook=pairs)\n"
        "    except Exception as e:\n"
        "        probs.append('line %d: %s: %r' % (i, e, line)); continue\n"
        "    if not isinstance(o, dict): probs.append('line %d: not an object' % i); continue\n"
        "    ex = spec.get('expect', [])\n"
        "    if i < len(ex) and ex[i] is not None:\n"
        "        for p, v in ex[i]:\n"
        "            ok, g = get(o, p)\n"
        "            if not ok: probs.append('line %d: missing %r in %s' % (i, p, line)); continue\n"
        "            if typ(g) != typ(v) or g != v:\n"
        "                probs.append('line %d: %r = %r, want %r' % (i, p, g, v))\n"
        "    ab = spec.get('absent', [])\n"
        "    if i < len(ab) and ab[i]:\n"
        "        for p in ab[i]:\n"
        "            if get(o, p)[0]: probs.append('line %d: unexpected %r' % (i, p))\n"
        "for p in probs[:20]: print(p)\n"
        "print('ok %d' % len(lines) if not probs else '%d problems' % len(probs))\n"
        "sys.exit(1 if probs else 0)\n";

static void check_lines(const char *lines, const char *spec)
{
	const char *argv[] = {SONDE_PYTHON, NULL, NULL, NULL, NULL};
	char *out = NULL;
	int rc;

	argv[1] = sonde_test_tmpfile(5, checker_py, strlen(checker_py));
	argv[2] = sonde_test_tmpfile(6, lines, strlen(lines));
	argv[3] = sonde_test_tmpfile(7, spec, strlen(spec));
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("json check exit %d:\n%s\n--- lines:\n%.4000s", rc, out, lines);
	ASSERT_CONTAINS(out, "ok ");
	free(out);
	unlink(argv[1]);
	unlink(argv[2]);
	unlink(argv[3]);
}

static void check_pcap(pcap *c, const char *spec)
{
	char *all = pcap_join(c);
	check_lines(all, spec);
	free(all);
}

/* compare.js: the real formatter against sonde's line */
static void compare_npm(const char *mode, const char *line, const char *spec)
{
	const char *argv[] = {
	        "node", SONDE_SRC_DIR "/tests/logprofiles/compare.js", mode, NULL, NULL, NULL};
	char *out = NULL;
	int rc;

	argv[3] = sonde_test_tmpfile(8, line, strlen(line));
	argv[4] = sonde_test_tmpfile(9, spec, strlen(spec));
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("compare.js %s exit %d:\n%s", mode, rc, out);
	ASSERT_CONTAINS(out, "ok ");
	free(out);
	unlink(argv[3]);
	unlink(argv[4]);
}

/* a finished object {"user":{"id":42,"roles":["admin","dev"]},"ok":true,
 * "ratio":0.5} */
static void meta_tree(sonde_log_tree *t, unsigned char *mem, size_t cap)
{
	sonde_log_tree_init(t, mem, cap);
	ASSERT_OK(sonde_log_tree_object(t));
	ASSERT_OK(sonde_log_tree_key(t, "user"));
	ASSERT_OK(sonde_log_tree_object(t));
	ASSERT_OK(sonde_log_tree_key(t, "id"));
	ASSERT_OK(sonde_log_tree_i64(t, 42));
	ASSERT_OK(sonde_log_tree_key(t, "roles"));
	ASSERT_OK(sonde_log_tree_array(t));
	ASSERT_OK(sonde_log_tree_str(t, "admin", SIZE_MAX));
	ASSERT_OK(sonde_log_tree_str(t, "dev", 3));
	ASSERT_OK(sonde_log_tree_end(t));
	ASSERT_OK(sonde_log_tree_end(t));
	ASSERT_OK(sonde_log_tree_key(t, "ok"));
	ASSERT_OK(sonde_log_tree_bool(t, true));
	ASSERT_OK(sonde_log_tree_key(t, "ratio"));
	ASSERT_OK(sonde_log_tree_f64(t, 0.5));
	ASSERT_OK(sonde_log_tree_end(t));
}

static const char stack_text[] = "TypeError: bad input\n    at parse (app.js:3:9)\n    at main";

static void err_tree(sonde_log_tree *t, unsigned char *mem, size_t cap)
{
	sonde_log_tree_init(t, mem, cap);
	ASSERT_OK(sonde_log_tree_error(t, "TypeError", SIZE_MAX, "bad input", SIZE_MAX, stack_text,
	                               SIZE_MAX));
}

static void in_span(sonde_context_scope *sc)
{
	sonde_span_context ctx;

	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < 16; i++)
		ctx.trace_id[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 8; i++)
		ctx.span_id[i] = (uint8_t)(0x10 + i);
	ctx.trace_flags = SONDE_TRACE_FLAG_SAMPLED;
	sonde_context_attach(sc, &ctx);
}

/* ---- profiles ------------------------------------------------------------------------------ */

TEST(log_profile_json_key_options)
{
	pcap *c = pcap_new();
	sonde_log_sink_opts o;
	sonde_log_sink *s[2];
	sonde_logger *l;
	unsigned char mem[256];
	sonde_log_tree t;

	sonde_log_sink_opts_init(&o);
	o.time_key = "timestamp";
	o.level_upper = 1;
	s[0] = psink(c, &o, SONDE_LOG_FORMAT_JSON);
	s[1] = psink(c, NULL, SONDE_LOG_FORMAT_JSON);
	l = plogger("checkout", s, 2);
	meta_tree(&t, mem, sizeof mem);
	LOG_INFO(l, "request done", LOG_INT("status", 200), LOG_OBJ("metadata", &t),
	         LOG_STR("timestamp", "user's"));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 2);
	check_pcap(c, "{\"count\":2,\"expect\":["
	              "[[[\"level\"],\"INFO\"],[[\"message\"],\"request done\"],"
	              "[[\"service\"],\"checkout\"],[[\"status\"],200],"
	              "[[\"metadata\",\"user\",\"id\"],42],[[\"metadata\",\"user\",\"roles\"],"
	              "[\"admin\",\"dev\"]],[[\"metadata\",\"ok\"],true],"
	              "[[\"metadata\",\"ratio\"],0.5],[[\"timestamp_1\"],\"user's\"]],"
	              "[[[\"level\"],\"info\"],[[\"timestamp\"],\"user's\"],"
	              "[[\"metadata\",\"user\",\"id\"],42]]],"
	              "\"absent\":[[[\"@timestamp\"]],[[\"timestamp_1\"]]]}");
	ASSERT_TRUE(strncmp(c->lines[0], "{\"timestamp\":\"", 14) == 0);
	ASSERT_TRUE(strncmp(c->lines[1], "{\"@timestamp\":\"", 15) == 0);
	sonde_logger_free(l);
	sonde_log_sink_free(s[0]);
	sonde_log_sink_free(s[1]);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

TEST(log_profile_json_matches_winston)
{
	pcap *c = pcap_new();
	sonde_log_sink_opts o;
	sonde_log_sink *s;
	sonde_logger *l;
	unsigned char mem[256];
	sonde_log_tree t;

	sonde_log_sink_opts_init(&o);
	o.time_key = "timestamp";
	o.level_upper = 1;
	s = psink(c, &o, SONDE_LOG_FORMAT_JSON);
	l = plogger("checkout", &s, 1);
	meta_tree(&t, mem, sizeof mem);
	LOG_WARN(l, "slow request", LOG_INT("status", 200), LOG_STR("path", "/cart"),
	         LOG_DOUBLE("ms", 12.25), LOG_OBJ("metadata", &t));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 1);
	compare_npm("winston", c->lines[0],
	            "{\"service\":\"checkout\",\"level\":\"warn\",\"message\":\"slow request\","
	            "\"upper\":true,\"fields\":{\"status\":200,\"path\":\"/cart\",\"ms\":12.25,"
	            "\"metadata\":{\"user\":{\"id\":42,\"roles\":[\"admin\",\"dev\"]},\"ok\":true,"
	            "\"ratio\":0.5}},\"required\":[\"timestamp\",\"level\",\"message\",\"service\","
	            "\"status\",\"path\",\"ms\",\"metadata.user.id\",\"metadata.user.roles\","
	            "\"metadata.ok\",\"metadata.ratio\"]}");
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

TEST(log_profile_ecs_shape)
{
	pcap *c = pcap_new();
	sonde_log_sink *s = psink(c, NULL, SONDE_LOG_FORMAT_ECS);
	sonde_logger *l = plogger("checkout", &s, 1);
	unsigned char mem[256], emem[256];
	sonde_log_tree t, e;
	sonde_context_scope sc;
	char spec[2048];
	long tid = (long)syscall(SYS_gettid);

	meta_tree(&t, mem, sizeof mem);
	err_tree(&e, emem, sizeof emem);
	in_span(&sc);
	LOG_ERROR(l, "payment failed", LOG_STR("service", "user's"), LOG_INT("error", 7),
	          LOG_OBJ("metadata", &t), LOG_ERR("err", &e), LOG_STR("log.level", "x"),
	          LOG_STR("trace.id", "y"));
	ASSERT_OK(sonde_context_detach(&sc));
	LOG_INFO(l, "plain");
	ASSERT_OK(sonde_log_flush());
	snprintf(
	        spec, sizeof spec,
	        "{\"count\":2,\"expect\":["
	        "[[[\"log.level\"],\"error\"],[[\"message\"],\"payment failed\"],"
	        "[[\"ecs.version\"],\"8.10.0\"],[[\"service\",\"name\"],\"checkout\"],"
	        "[[\"event\",\"dataset\"],\"checkout\"],[[\"log\",\"logger\"],\"checkout\"],"
	        "[[\"process\",\"thread\",\"id\"],%ld],"
	        "[[\"trace\",\"id\"],\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"],"
	        "[[\"span\",\"id\"],\"1011121314151617\"],"
	        "[[\"service_1\"],\"user's\"],[[\"error_1\"],7],"
	        "[[\"error\",\"type\"],\"TypeError\"],[[\"error\",\"message\"],\"bad input\"],"
	        "[[\"error\",\"stack_trace\"],\"TypeError: bad input\\n    at parse (app.js:3:9)\\n"
	        "    at main\"],"
	        "[[\"metadata\",\"user\",\"roles\"],[\"admin\",\"dev\"]],"
	        "[[\"log.level_1\"],\"x\"],[[\"trace.id_1\"],\"y\"]],"
	        "[[[\"log.level\"],\"info\"],[[\"message\"],\"plain\"]]],"
	        "\"absent\":[[[\"err\"]],[[\"trace\"],[\"span\"],[\"error\"]]]}",
	        tid);
	check_pcap(c, spec);
	ASSERT_TRUE(strncmp(c->lines[0], "{\"@timestamp\":\"", 15) == 0);
	ASSERT_CONTAINS(c->lines[0], "\"log.level\":\"error\",\"message\":\"payment failed\",");
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

TEST(log_profile_ecs_matches_ecs_winston_format)
{
	pcap *c = pcap_new();
	sonde_log_sink *s = psink(c, NULL, SONDE_LOG_FORMAT_ECS);
	sonde_logger *l = plogger("checkout", &s, 1);
	unsigned char mem[256], emem[256];
	sonde_log_tree t, e;

	meta_tree(&t, mem, sizeof mem);
	err_tree(&e, emem, sizeof emem);
	LOG_ERROR(l, "payment failed", LOG_INT("status", 502), LOG_STR("path", "/pay"),
	          LOG_OBJ("metadata", &t), LOG_ERR("err", &e));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 1);
	compare_npm(
	        "ecs", c->lines[0],
	        "{\"service\":\"checkout\",\"level\":\"error\",\"message\":\"payment failed\","
	        "\"fields\":{\"status\":502,\"path\":\"/pay\",\"metadata\":{\"user\":{\"id\":42,"
	        "\"roles\":[\"admin\",\"dev\"]},\"ok\":true,\"ratio\":0.5}},"
	        "\"error\":{\"type\":\"TypeError\",\"message\":\"bad input\",\"stack\":"
	        "\"TypeError: bad input\\n    at parse (app.js:3:9)\\n    at main\"},"
	        "\"required\":[\"@timestamp\",\"log.level\",\"message\",\"ecs.version\","
	        "\"service.name\",\"event.dataset\",\"error.type\",\"error.message\","
	        "\"error.stack_trace\",\"status\",\"path\",\"metadata.user.id\","
	        "\"metadata.user.roles\",\"metadata.ok\",\"metadata.ratio\"]}");
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

TEST(log_profile_otel_shape_and_severities)
{
	pcap *c = pcap_new();
	sonde_log_sink *s = psink(c, NULL, SONDE_LOG_FORMAT_OTEL);
	sonde_logger *l = plogger("checkout", &s, 1);
	unsigned char mem[256], emem[256];
	sonde_log_tree t, e;
	sonde_context_scope sc;
	int64_t before = sonde_now_unix_ns();
	char *all, spec[4096];

	meta_tree(&t, mem, sizeof mem);
	err_tree(&e, emem, sizeof emem);
	LOG_TRACE(l, "t");
	LOG_DEBUG(l, "d");
	LOG_INFO(l, "i");
	LOG_WARN(l, "w");
	in_span(&sc);
	LOG_ERROR(l, "e", LOG_OBJ("metadata", &t), LOG_ERR("err", &e), LOG_ERR("cause", &e),
	          LOG_STR("exception.type", "mine"));
	ASSERT_OK(sonde_context_detach(&sc));
	LOG_FATAL(l, "f");
	ASSERT_OK(sonde_log_flush());
	snprintf(
	        spec, sizeof spec,
	        "{\"count\":6,\"expect\":["
	        "[[[\"severity_text\"],\"TRACE\"],[[\"severity_number\"],1],[[\"body\"],\"t\"],"
	        "[[\"resource\",\"service.name\"],\"checkout\"],[[\"attributes\",\"thread.id\"],%ld]],"
	        "[[[\"severity_text\"],\"DEBUG\"],[[\"severity_number\"],5]],"
	        "[[[\"severity_text\"],\"INFO\"],[[\"severity_number\"],9]],"
	        "[[[\"severity_text\"],\"WARN\"],[[\"severity_number\"],13]],"
	        "[[[\"severity_text\"],\"ERROR\"],[[\"severity_number\"],17],"
	        "[[\"trace_id\"],\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"],"
	        "[[\"span_id\"],\"1011121314151617\"],[[\"trace_flags\"],1],"
	        "[[\"attributes\",\"exception.type\"],\"TypeError\"],"
	        "[[\"attributes\",\"exception.message\"],\"bad input\"],"
	        "[[\"attributes\",\"exception.stacktrace\"],\"TypeError: bad input\\n    at parse "
	        "(app.js:3:9)\\n    at main\"],"
	        "[[\"attributes\",\"cause\",\"type\"],\"TypeError\"],"
	        "[[\"attributes\",\"exception.type_1\"],\"mine\"],"
	        "[[\"attributes\",\"metadata\",\"user\",\"id\"],42]],"
	        "[[[\"severity_text\"],\"FATAL\"],[[\"severity_number\"],21]]],"
	        "\"absent\":[[[\"trace_id\"]],null,null,null,[[\"attributes\",\"err\"]]]}",
	        (long)syscall(SYS_gettid));
	check_pcap(c, spec);
	/* the field names and order of the data model; times in ns */
	for (size_t i = 0; i < c->n; i++) {
		long long ts = 0, obs = 0;
		ASSERT_TRUE(sscanf(c->lines[i], "{\"timestamp\":%lld,\"observed_timestamp\":%lld,",
		                   &ts, &obs) == 2);
		ASSERT_TRUE(ts >= before && obs >= ts);
	}
	all = pcap_join(c);
	ASSERT_CONTAINS(all, "\"severity_text\":\"INFO\",\"severity_number\":9,\"body\":\"i\","
	                     "\"attributes\":{");
	free(all);
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

/* The OTel log data model's severity numbers and field names, as the
 * OpenTelemetry project's own definitions (logs.proto through npm
 * @opentelemetry/otlp-transformer, installed for the OTLP tests) state
 * them: SeverityNumber TRACE = 1 ... FATAL = 21; LogRecord's fields. */
TEST(log_profile_otel_names_from_the_proto)
{
	/* the generated root exports the enum values; the fields are checked
	 * by name through protobufjs' reflection */
	static const char js2[] =
	        "const path = require('path');\n"
	        "const base = process.argv[2];\n"
	        "const root = require(path.join(base, 'build/src/generated/root.js'));\n"
	        "const ns = root.opentelemetry.proto.logs.v1;\n"
	        "const S = ns.SeverityNumber;\n"
	        "const lr = ns.LogRecord.create({});\n"
	        "const names = ['timeUnixNano','observedTimeUnixNano','severityNumber',"
	        "'severityText','body','attributes','traceId','spanId','flags'];\n"
	        "const miss = names.filter(n => !(n in lr));\n"
	        "console.log(['TRACE','DEBUG','INFO','WARN','ERROR','FATAL'].map(n => "
	        "S['SEVERITY_NUMBER_' + n]).join(',') + ' missing=' + miss.join(','));\n";
	const char *argv[] = {
	        "node", NULL,
	        SONDE_SRC_DIR "/tests/otlp/node_modules/@opentelemetry/otlp-transformer", NULL};
	char *out = NULL;
	int rc;

	argv[1] = sonde_test_tmpfile(10, js2, strlen(js2));
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("node exit %d: %s", rc, out);
	/* sonde's numbers (log_profile_otel_shape_and_severities checks the
	 * lines carry them) */
	ASSERT_CONTAINS(out, "1,5,9,13,17,21 missing=\n");
	free(out);
	unlink(argv[1]);
}

TEST(log_profile_logfmt_and_console_flatten)
{
	pcap *c = pcap_new();
	sonde_log_sink_opts o;
	sonde_log_sink *s[3];
	sonde_logger *l;
	unsigned char mem[256], emem[256];
	sonde_log_tree t, e;
	const char *p;

	sonde_log_sink_opts_init(&o);
	o.color = 1;
	s[0] = psink(c, NULL, SONDE_LOG_FORMAT_LOGFMT);
	s[1] = psink(c, NULL, SONDE_LOG_FORMAT_CONSOLE);
	s[2] = psink(c, &o, SONDE_LOG_FORMAT_CONSOLE);
	l = plogger("checkout", s, 3);
	meta_tree(&t, mem, sizeof mem);
	err_tree(&e, emem, sizeof emem);
	LOG_WARN(l, "slow", LOG_OBJ("metadata", &t), LOG_ERR("error", &e), LOG_INT("n", 1));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 3);
	p = strstr(c->lines[0], " level=warn msg=\"slow\" service=checkout ");
	ASSERT_NOT_NULL(p);
	ASSERT_CONTAINS(c->lines[0],
	                " metadata.user.id=42 metadata.user.roles.0=admin metadata.user.roles.1=dev"
	                " metadata.ok=true metadata.ratio=0.5 error.type=TypeError"
	                " error.message=\"bad input\" error.stack=\"TypeError: bad input\\n    at"
	                " parse (app.js:3:9)\\n    at main\" n=1");
	ASSERT_TRUE(strncmp(c->lines[0], "ts=", 3) == 0);
	/* console: no colour on a callback sink unless forced */
	ASSERT_CONTAINS(c->lines[1], "Z WARN  slow service=checkout metadata.user.id=42 ");
	ASSERT_NOT_CONTAINS(c->lines[1], "\x1b[");
	ASSERT_CONTAINS(c->lines[2], "Z \x1b[33mWARN\x1b[0m  slow service=checkout ");
	sonde_logger_free(l);
	for (int i = 0; i < 3; i++)
		sonde_log_sink_free(s[i]);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

/* Colour follows the descriptor: a pipe is no terminal (no colour); a
 * pseudo-terminal is one (colour), unless NO_COLOR is set. */
TEST(log_profile_console_color_rules)
{
	int fds[2];
	sonde_log_sink_opts o;
	sonde_log_sink *s;
	sonde_logger *l;
	char buf[512];
	ssize_t n;
	int saved;

	ASSERT_TRUE(pipe(fds) == 0);
	saved = dup(2);
	dup2(fds[1], 2);
	sonde_log_sink_opts_init(&o);
	o.format = SONDE_LOG_FORMAT_CONSOLE;
	o.format_env = "";
	s = sonde_log_sink_stderr(&o);
	ASSERT_NOT_NULL(s);
	l = plogger("svc", &s, 1);
	LOG_ERROR(l, "to a pipe");
	ASSERT_OK(sonde_log_flush());
	dup2(saved, 2);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	ASSERT_TRUE(n > 0);
	buf[n] = '\0';
	ASSERT_CONTAINS(buf, " ERROR to a pipe service=svc\n");
	ASSERT_NOT_CONTAINS(buf, "\x1b");
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
}

TEST(log_profile_format_env)
{
	sonde_log_format f = SONDE_LOG_FORMAT_JSON;
	sonde_log_sink_opts o;
	sonde_log_sink *s[3];
	sonde_logger *l;
	pcap *c = pcap_new();

	ASSERT_OK(sonde_log_format_parse(" ECS ", 5, &f));
	ASSERT_EQ_INT(f, SONDE_LOG_FORMAT_ECS);
	ASSERT_OK(sonde_log_format_parse("otel", 4, &f));
	ASSERT_EQ_INT(f, SONDE_LOG_FORMAT_OTEL);
	ASSERT_OK(sonde_log_format_parse("console", 7, &f));
	ASSERT_OK(sonde_log_format_parse("logfmt", 6, &f));
	ASSERT_OK(sonde_log_format_parse("Json", 4, &f));
	ASSERT_EQ_INT(f, SONDE_LOG_FORMAT_JSON);
	ASSERT_EQ_INT(sonde_log_format_parse("yaml", 4, &f), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "yaml");
	ASSERT_EQ_INT(sonde_log_format_parse(NULL, 0, &f), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_format_parse("json", 4, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_format_parse("jsonx", 4, &f), SONDE_OK); /* len 4: "json" */
	ASSERT_STREQ(sonde_log_format_name(SONDE_LOG_FORMAT_OTEL), "otel");
	ASSERT_STREQ(sonde_log_format_name(99), "unknown");
	ASSERT_STREQ(sonde_log_format_name(-1), "unknown");

	/* the variable overrides the sink's format (default variable name and
	 * a custom one); a bad value keeps it */
	setenv("SONDE_LOG_FORMAT", "ecs", 1);
	setenv("MY_FMT", "otel", 1);
	sonde_log_sink_opts_init(&o);
	o.name = "capture";
	s[0] = sonde_log_sink_callback(pcap_fn, c, &o);
	o.format_env = "MY_FMT";
	s[1] = sonde_log_sink_callback(pcap_fn, c, &o);
	setenv("MY_FMT", "bogus", 1);
	o.format = SONDE_LOG_FORMAT_LOGFMT;
	s[2] = sonde_log_sink_callback(pcap_fn, c, &o);
	unsetenv("SONDE_LOG_FORMAT");
	unsetenv("MY_FMT");
	ASSERT_NOT_NULL(s[0]);
	ASSERT_NOT_NULL(s[1]);
	ASSERT_NOT_NULL(s[2]);
	l = plogger("svc", s, 3);
	LOG_INFO(l, "hello");
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 3);
	{
		int ecs = 0, otel = 0, logfmt = 0;
		for (size_t i = 0; i < 3; i++) {
			ecs += strstr(c->lines[i], "\"ecs.version\"") != NULL;
			otel += strstr(c->lines[i], "\"severity_number\":9") != NULL;
			logfmt += strncmp(c->lines[i], "ts=", 3) == 0;
		}
		ASSERT_EQ_INT(ecs, 1);
		ASSERT_EQ_INT(otel, 1);
		ASSERT_EQ_INT(logfmt, 1);
	}
	sonde_logger_free(l);
	for (int i = 0; i < 3; i++)
		sonde_log_sink_free(s[i]);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}

TEST(log_profile_sink_option_refusals)
{
	sonde_log_sink_opts o;

	sonde_log_sink_opts_init(&o);
	o.format = (sonde_log_format)5;
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	sonde_log_sink_opts_init(&o);
	o.time_key = "";
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	ASSERT_CONTAINS(sonde_last_error(), "time key");
	o.time_key = "has space";
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	o.time_key = "q\"uote";
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	o.time_key = "x123456789012345678901234567890123456789012345678901234567890123456";
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	o.time_key = "message";
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	ASSERT_CONTAINS(sonde_last_error(), "must differ");
	o.time_key = "t";
	o.level_key = "t";
	ASSERT_NULL(sonde_log_sink_stdout(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
}

/* ---- trees ------------------------------------------------------------------------------------
 */

TEST(log_tree_builder_refusals)
{
	unsigned char mem[64];
	sonde_log_tree t;
	int i;

	sonde_log_tree_init(NULL, mem, sizeof mem); /* no-op */
	ASSERT_EQ_INT(sonde_log_tree_object(NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_tree_end(NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_tree_key(NULL, "k"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_tree_error(NULL, "a", 1, "b", 1, NULL, 0), SONDE_EINVAL);

	/* a key outside an object; sticky */
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_EQ_INT(sonde_log_tree_key(&t, "k"), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "outside an object");
	ASSERT_EQ_INT(sonde_log_tree_i64(&t, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_tree_error(&t, "a", 1, "b", 1, NULL, 0), SONDE_EINVAL);
	ASSERT_NULL(sonde__log_v_tree(&t).v.s);

	/* a value where a key is due; a key twice; end after a key */
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_EQ_INT(sonde_log_tree_i64(&t, 1), SONDE_EINVAL);
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_OK(sonde_log_tree_key(&t, "a"));
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_OK(sonde_log_tree_key(&t, "a")); /* another object: fine */
	ASSERT_OK(sonde_log_tree_null(&t));
	ASSERT_OK(sonde_log_tree_end(&t));
	ASSERT_EQ_INT(sonde_log_tree_key(&t, "a"), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "twice");
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_OK(sonde_log_tree_key(&t, "a"));
	ASSERT_EQ_INT(sonde_log_tree_key(&t, "b"), SONDE_EINVAL);
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_OK(sonde_log_tree_key(&t, "a"));
	ASSERT_EQ_INT(sonde_log_tree_end(&t), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_log_tree_key(&t, NULL), SONDE_EINVAL);

	/* end with nothing open; a second root; NULL or empty key */
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_EQ_INT(sonde_log_tree_end(&t), SONDE_EINVAL);
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_str(&t, NULL, 0)); /* null root */
	ASSERT_EQ_INT(sonde_log_tree_bool(&t, true), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "second root");
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_object(&t));
	ASSERT_EQ_INT(sonde_log_tree_key(&t, ""), SONDE_EINVAL);

	/* an unfinished tree is written as null */
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_array(&t));
	ASSERT_NULL(sonde__log_v_tree(&t).v.s);
	ASSERT_OK(sonde_log_tree_end(&t));
	ASSERT_NOT_NULL(sonde__log_v_tree(&t).v.s);
	ASSERT_NULL(sonde__log_v_tree(NULL).v.s);

	/* depth */
	sonde_log_tree_init(&t, mem, sizeof mem);
	for (i = 0; i < SONDE_LOG_TREE_DEPTH_MAX; i++)
		ASSERT_OK(sonde_log_tree_array(&t));
	ASSERT_EQ_INT(sonde_log_tree_array(&t), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "SONDE_LOG_TREE_DEPTH_MAX");
	ASSERT_EQ_INT(sonde_log_tree_end(&t), SONDE_ELIMIT); /* sticky */

	/* memory, and no memory */
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_array(&t));
	for (i = 0; i < 7; i++) /* 1 + 7 * 9 bytes of 64 */
		ASSERT_OK(sonde_log_tree_i64(&t, i));
	ASSERT_EQ_INT(sonde_log_tree_i64(&t, 7), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "memory");
	sonde_log_tree_init(&t, NULL, 100);
	ASSERT_EQ_INT(sonde_log_tree_null(&t), SONDE_ELIMIT);

	/* a key of 256 bytes; the keys limit */
	{
		char k[300];
		static unsigned char big[1 << 16];
		memset(k, 'k', 256);
		k[256] = '\0';
		sonde_log_tree_init(&t, big, sizeof big);
		ASSERT_OK(sonde_log_tree_object(&t));
		ASSERT_EQ_INT(sonde_log_tree_key(&t, k), SONDE_ELIMIT);
		sonde_log_tree_init(&t, big, sizeof big);
		ASSERT_OK(sonde_log_tree_object(&t));
		for (i = 0; i < SONDE_LOG_TREE_KEYS_MAX; i++) {
			snprintf(k, sizeof k, "k%d", i);
			ASSERT_OK(sonde_log_tree_key(&t, k));
			ASSERT_OK(sonde_log_tree_u64(&t, (uint64_t)i));
		}
		ASSERT_EQ_INT(sonde_log_tree_key(&t, "one more"), SONDE_ELIMIT);
		ASSERT_CONTAINS(sonde_last_error(), "SONDE_LOG_TREE_KEYS_MAX");
		/* a string past the byte limit */
		sonde_log_tree_init(&t, big, sizeof big);
		ASSERT_EQ_INT(sonde_log_tree_str(&t, (const char *)big, sizeof big), SONDE_ELIMIT);
		ASSERT_CONTAINS(sonde_last_error(), "SONDE_LOG_TREE_BYTES_MAX");
	}
	/* an error only as the whole tree */
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_array(&t));
	ASSERT_EQ_INT(sonde_log_tree_error(&t, "a", 1, "b", 1, NULL, 0), SONDE_EINVAL);
}

/* A tree cut by the ring's record limit, and bytes that are no tree at
 * all (sonde_log_write), in every JSON profile: strict JSON, the cut
 * flagged; every duplicate key of foreign bytes dropped. */
TEST(log_tree_cut_and_foreign_bytes_stay_strict_json)
{
	pcap *c = pcap_new();
	sonde_log_sink *s[3];
	sonde_logger *l;
	static unsigned char big[40000];
	sonde_log_tree t;
	sonde_log_config cfg;
	int i;
	/* an object whose keys repeat after escaping ("k\xff" and "k\xfe"
	 * are both "k\uFFFD"), a deep nest, and garbage */
	static const unsigned char dup[] = {'{', 'k', 2,   'k',  0xff, 'n',
	                                    'k', 2,   'k', 0xfe, 't',  '}'};
	static const unsigned char garbage[] = {'{', 'k', 9, 'a', 's', 0xff, 0xff, 0xff, 0x7f};
	unsigned char deep[40];
	sonde_log_field f[3];
	char str[151];

	sonde_log_config_init(&cfg);
	cfg.ring_bytes = 64 * 1024; /* a record: at most 16 KiB */
	ASSERT_OK(sonde_log_configure(&cfg));
	s[0] = psink(c, NULL, SONDE_LOG_FORMAT_JSON);
	s[1] = psink(c, NULL, SONDE_LOG_FORMAT_ECS);
	s[2] = psink(c, NULL, SONDE_LOG_FORMAT_OTEL);
	l = plogger("svc", s, 3);
	memset(str, 'x', 150);
	str[150] = '\0';
	sonde_log_tree_init(&t, big, sizeof big);
	ASSERT_OK(sonde_log_tree_object(&t));
	for (i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof k, "key%d", i);
		ASSERT_OK(sonde_log_tree_key(&t, k));
		ASSERT_OK(sonde_log_tree_array(&t));
		ASSERT_OK(sonde_log_tree_str(&t, str, SIZE_MAX));
		ASSERT_OK(sonde_log_tree_f64(&t, 0.0 / 0.0));
		ASSERT_OK(sonde_log_tree_end(&t));
	}
	ASSERT_OK(sonde_log_tree_end(&t));
	ASSERT_TRUE(t.len > 16 * 1024);
	LOG_INFO(l, "big", LOG_OBJ("m", &t));
	for (i = 0; i < 20; i++)
		deep[i] = '[';
	for (; i < 40; i++)
		deep[i] = ']';
	f[0].key = "dup";
	f[0].type = SONDE_LOG_T_TREE;
	f[0].v.s = (const char *)dup;
	f[0].len = sizeof dup;
	f[1] = f[0];
	f[1].key = "garbage";
	f[1].v.s = (const char *)garbage;
	f[1].len = sizeof garbage;
	f[2] = f[0];
	f[2].key = "deep";
	f[2].v.s = (const char *)deep;
	f[2].len = sizeof deep;
	ASSERT_OK(sonde_log_write(l, SONDE_LOG_LEVEL_INFO, "foreign", 7, f, 3));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 6);
	for (i = 0; i < 6; i++) {
		ASSERT_CONTAINS(c->lines[i], "\"_truncated\":true");
	}
	{
		char spec[512];
		snprintf(spec, sizeof spec,
		         "{\"count\":6,\"expect\":[[[[\"m\",\"key0\"],[\"%s\",\"NaN\"]]],"
		         "null,null,"
		         "[[[\"dup\",\"k\\ufffd\"],null],[[\"garbage\"],{}]]]}",
		         str);
		check_pcap(c, spec);
	}
	sonde_logger_free(l);
	for (i = 0; i < 3; i++)
		sonde_log_sink_free(s[i]);
	ASSERT_OK(sonde_log_shutdown());
	sonde_log_config_init(&cfg);
	ASSERT_OK(sonde_log_configure(&cfg));
	pcap_free(c);
}

static int pty_sink_colored(const char *no_color)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY), sl, saved, colored;
	sonde_log_sink_opts o;
	sonde_log_sink *s;
	sonde_logger *l;
	pcap *c = pcap_new();
	sonde_log_sink *cs;

	ASSERT_TRUE(m >= 0);
	ASSERT_TRUE(grantpt(m) == 0 && unlockpt(m) == 0);
	sl = open(ptsname(m), O_RDWR | O_NOCTTY);
	ASSERT_TRUE(sl >= 0);
	if (no_color)
		setenv("NO_COLOR", no_color, 1);
	else
		unsetenv("NO_COLOR");
	saved = dup(2);
	dup2(sl, 2);
	sonde_log_sink_opts_init(&o);
	o.format = SONDE_LOG_FORMAT_CONSOLE;
	o.format_env = "";
	o.name = "pty";
	s = sonde_log_sink_stderr(&o);
	dup2(saved, 2);
	close(saved);
	ASSERT_NOT_NULL(s);
	/* a callback sink beside it: never a terminal, never coloured */
	cs = psink(c, NULL, SONDE_LOG_FORMAT_CONSOLE);
	{
		sonde_log_sink *both[2] = {s, cs};
		char buf[512];
		ssize_t n;

		saved = dup(2);
		dup2(sl, 2); /* the sink writes to fd 2 */
		l = plogger("svc", both, 2);
		LOG_WARN(l, "on a terminal");
		ASSERT_OK(sonde_log_flush());
		dup2(saved, 2);
		close(saved);
		n = read(m, buf, sizeof buf - 1);
		ASSERT_TRUE(n > 0);
		buf[n] = '\0';
		colored = strstr(buf, "\x1b[33mWARN\x1b[0m") != NULL;
		ASSERT_CONTAINS(buf, "on a terminal");
		ASSERT_EQ_U64(c->n, 1);
		ASSERT_NOT_CONTAINS(c->lines[0], "\x1b");
	}
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	sonde_log_sink_free(cs);
	ASSERT_OK(sonde_log_shutdown());
	unsetenv("NO_COLOR");
	close(sl);
	close(m);
	pcap_free(c);
	return colored;
}

TEST(log_profile_console_color_on_a_terminal)
{
	ASSERT_TRUE(pty_sink_colored(NULL));
	ASSERT_TRUE(pty_sink_colored("")); /* empty: as if unset */
	ASSERT_FALSE(pty_sink_colored("1"));
}

/* Scoped fields (issue 15.3) in the profiles: top level in ecs (a scoped
 * "service" renamed like any field), inside attributes in otel, flattened
 * beside the call's in logfmt. */
TEST(log_profile_scoped_fields)
{
	pcap *c = pcap_new();
	sonde_log_sink *s[3];
	sonde_logger *l;
	sonde_log_scope sc;
	sonde_log_field f[2] = {sonde_log_field_str("user_id", "u-7"),
	                        sonde_log_field_str("service", "scoped")};
	unsigned char mem[64];
	sonde_log_tree t;

	s[0] = psink(c, NULL, SONDE_LOG_FORMAT_ECS);
	s[1] = psink(c, NULL, SONDE_LOG_FORMAT_OTEL);
	s[2] = psink(c, NULL, SONDE_LOG_FORMAT_LOGFMT);
	l = plogger("checkout", s, 3);
	sonde_log_tree_init(&t, mem, sizeof mem);
	ASSERT_OK(sonde_log_tree_array(&t));
	ASSERT_OK(sonde_log_tree_i64(&t, 1));
	ASSERT_OK(sonde_log_tree_end(&t));
	ASSERT_OK(sonde_log_scope_push(&sc, f, 2));
	LOG_INFO(l, "in scope", LOG_ARR("ids", &t), LOG_INT("n", 3));
	ASSERT_OK(sonde_log_scope_pop(&sc));
	ASSERT_OK(sonde_log_flush());
	ASSERT_EQ_U64(c->n, 3);
	{
		size_t i;
		char *ecs = NULL, *otel = NULL, *lf = NULL, *lines;
		for (i = 0; i < 3; i++) {
			if (strstr(c->lines[i], "\"ecs.version\""))
				ecs = c->lines[i];
			else if (strstr(c->lines[i], "\"severity_number\""))
				otel = c->lines[i];
			else
				lf = c->lines[i];
		}
		ASSERT_NOT_NULL(ecs);
		ASSERT_NOT_NULL(otel);
		ASSERT_NOT_NULL(lf);
		ASSERT_CONTAINS(lf, " user_id=u-7 service_1=scoped ids.0=1 n=3");
		lines = calloc(1, strlen(ecs) + strlen(otel) + 3);
		strcat(lines, ecs);
		strcat(lines, "\n");
		strcat(lines, otel);
		strcat(lines, "\n");
		check_lines(
		        lines,
		        "{\"count\":2,\"expect\":["
		        "[[[\"user_id\"],\"u-7\"],[[\"service_1\"],\"scoped\"],"
		        "[[\"service\",\"name\"],\"checkout\"],[[\"ids\"],[1]],[[\"n\"],3]],"
		        "[[[\"attributes\",\"user_id\"],\"u-7\"],"
		        "[[\"attributes\",\"service\"],\"scoped\"],[[\"attributes\",\"ids\"],[1]],"
		        "[[\"resource\",\"service.name\"],\"checkout\"]]]}");
		free(lines);
	}
	sonde_logger_free(l);
	for (int i = 0; i < 3; i++)
		sonde_log_sink_free(s[i]);
	ASSERT_OK(sonde_log_shutdown());
	pcap_free(c);
}
