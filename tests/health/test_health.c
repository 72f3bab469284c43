/* tests/health/test_health.c - health checks: aggregation, timeouts, caching,
 * coalescing, the startup latch, metrics, concurrency, lifetime after an
 * overrun, validation, and the JSON body parsed back by python's json. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/sonde-int.h" /* SONDE__V1_SIZE */
#include "sonde.h"
#include "sonde/health.h"
#include "test.h"

/* ---- a controllable check ---------------------------------------------------- */

typedef struct fake {
	atomic_int result;   /* what the callback returns */
	const char *msg;     /* written into the message buffer when not NULL */
	int fill_msg;        /* fill the whole buffer without a NUL */
	int sleep_ms;        /* how long each run takes */
	atomic_int block;    /* while set, the callback waits */
	atomic_int calls;    /* runs entered */
	atomic_int finished; /* runs returned */
	atomic_int inflight, max_inflight;
	atomic_int released; /* release() calls */
} fake;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0) {
	}
}

static int64_t now_ms(void)
{
	return sonde_now_mono_ns() / 1000000;
}

static sonde_health_result fake_fn(void *user, char *msg, size_t cap)
{
	fake *f = user;
	int in = atomic_fetch_add(&f->inflight, 1) + 1;
	int m = atomic_load(&f->max_inflight);
	sonde_health_result r;

	while (in > m && !atomic_compare_exchange_weak(&f->max_inflight, &m, in)) {
	}
	atomic_fetch_add(&f->calls, 1);
	if (f->sleep_ms)
		sleep_ms(f->sleep_ms);
	while (atomic_load(&f->block))
		sleep_ms(1);
	if (f->fill_msg)
		memset(msg, 'x', cap); /* no NUL: sonde must cut it */
	else if (f->msg)
		snprintf(msg, cap, "%s", f->msg);
	r = (sonde_health_result)atomic_load(&f->result);
	atomic_fetch_sub(&f->inflight, 1);
	atomic_fetch_add(&f->finished, 1);
	return r;
}

static void fake_release(void *user)
{
	atomic_fetch_add(&((fake *)user)->released, 1);
}

static void add(sonde_health *h, const char *name, fake *f, unsigned probes, uint32_t timeout_ms,
                uint32_t cache_ms)
{
	sonde_health_check_opts o;

	sonde_health_check_opts_init(&o, name, fake_fn, f);
	o.probes = probes;
	o.timeout_ms = timeout_ms;
	o.cache_ms = cache_ms;
	o.release = fake_release;
	ASSERT_OK(sonde_health_add_check(h, &o));
}

static sonde_health *health(sonde_registry *r, const char *version)
{
	sonde_health_opts o;
	sonde_health *h;

	sonde_health_opts_init(&o);
	o.registry = r;
	o.version = version;
	h = sonde_health_new(&o);
	ASSERT_NOT_NULL(h);
	return h;
}

/* Waits (bounded) until f has returned n times. */
static void wait_finished(fake *f, int n)
{
	int64_t until = now_ms() + 5000;

	while (atomic_load(&f->finished) < n && now_ms() < until)
		sleep_ms(1);
	ASSERT_EQ_INT(atomic_load(&f->finished), n);
}

/* ---- parsing the body back with python's json -------------------------------------
 * Strict: duplicate keys, NaN/Infinity and invalid UTF-8 are errors. Prints
 * the keys in document order and every value, numbers masked as '#' (their
 * type and sign checked), and the timestamp as epoch milliseconds on a last
 * line "ts_ms=N" that parse_back() splits off. */
static const char parse_py[] =
        "import json, sys, re, calendar, time\n"
        "def pairs(p):\n"
        "    ks = [k for k, _ in p]\n"
        "    if len(set(ks)) != len(ks): sys.exit('duplicate key in %r' % ks)\n"
        "    return p\n"
        "def bad(c): sys.exit('bad constant ' + c)\n"
        "def num(v): return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0\n"
        "raw = open(sys.argv[1], 'rb').read()\n"
        "doc = json.loads(raw.decode('utf-8'), object_pairs_hook=pairs, parse_constant=bad)\n"
        "out = ['keys=' + ','.join(k for k, _ in doc)]\n"
        "ts = None\n"
        "for k, v in doc:\n"
        "    if k == 'checks':\n"
        "        out.append('checks=%d' % len(v))\n"
        "        for name, c in v:\n"
        "            parts = []\n"
        "            for ck, cv in c:\n"
        "                if ck == 'responseTime':\n"
        "                    if not num(cv): sys.exit('bad responseTime %r' % cv)\n"
        "                    parts.append('responseTime=#')\n"
        "                else:\n"
        "                    parts.append(ck + '=' + json.dumps(cv))\n"
        "            out.append(name + ': ' + ' '.join(parts))\n"
        "    elif k == 'timestamp':\n"
        "        m = re.fullmatch(r'(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)\\.(\\d{3})Z', v)\n"
        "        if not m: sys.exit('bad timestamp ' + v)\n"
        "        ts = calendar.timegm(time.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S')) * 1000 + int(m.group(2))\n"
        "        out.append('timestamp=ok')\n"
        "    elif k == 'uptime':\n"
        "        if not num(v): sys.exit('bad uptime %r' % v)\n"
        "        out.append('uptime=#')\n"
        "    else:\n"
        "        out.append(k + '=' + json.dumps(v))\n"
        "out.append('ts_ms=%d' % ts)\n"
        "print('\\n'.join(out))\n";

/* Returns the normalized document without the ts_ms line (static storage)
 * and checks the timestamp lies between lo_ms and hi_ms. */
static const char *parse_back(const sonde_buf *b, int64_t lo_ms, int64_t hi_ms)
{
	static char norm[8192];
	const char *argv[] = {SONDE_PYTHON, "-c", parse_py, NULL, NULL};
	char *out = NULL, *ts;
	long long ms;
	int rc;

	ASSERT_EQ_INT(strlen(b->data), b->len);
	argv[3] = sonde_test_tmpfile(0, b->data, b->len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("python json parse failed (%d): %s\nbody: %s", rc, out ? out : "", b->data);
	ts = strstr(out, "\nts_ms=");
	ASSERT_NOT_NULL(ts);
	ms = strtoll(ts + 7, NULL, 10);
	if (ms < lo_ms || ms > hi_ms)
		FAIL("timestamp %lld ms not in [%lld, %lld]", ms, (long long)lo_ms,
		     (long long)hi_ms);
	*ts = '\0';
	ASSERT_TRUE(strlen(out) < sizeof(norm));
	snprintf(norm, sizeof(norm), "%s", out);
	free(out);
	return norm;
}

/* The number after "key": in the check object of name (raw body). */
static double body_num(const char *body, const char *name, const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":{", name);
	p = strstr(body, pat);
	ASSERT_NOT_NULL(p);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	ASSERT_NOT_NULL(p);
	return strtod(p + strlen(pat), NULL);
}

static int evaluate(sonde_health *h, sonde_health_probe p, sonde_buf *b, sonde_health_status *st)
{
	int rc = sonde_health_evaluate(h, p, b, st);

	if (rc < 0)
		FAIL("sonde_health_evaluate: %d %s", rc, sonde_last_error());
	return rc;
}

/* ---- tests --------------------------------------------------------------------------- */

TEST(health_aggregation_pass_warn_fail)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "1.2.3");
	fake db = {0}, cache = {0};
	sonde_buf b = SONDE_BUF_INIT;
	sonde_health_status st;
	int64_t lo = sonde_now_unix_ns() / 1000000;

	add(h, "database", &db, SONDE_HEALTH_READINESS, 1000, 0);
	add(h, "cache", &cache, SONDE_HEALTH_READINESS, 1000, 0);
	ASSERT_EQ_INT(sonde_health_check_count(h), 2);

	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, &st), 200);
	ASSERT_EQ_INT(st, SONDE_HEALTH_HEALTHY);
	ASSERT_STREQ(parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	             "keys=status,probe,timestamp,checks,version,uptime\n"
	             "status=\"healthy\"\n"
	             "probe=\"readiness\"\n"
	             "timestamp=ok\n"
	             "checks=2\n"
	             "database: status=\"pass\" responseTime=#\n"
	             "cache: status=\"pass\" responseTime=#\n"
	             "version=\"1.2.3\"\n"
	             "uptime=#");

	atomic_store(&cache.result, SONDE_HEALTH_WARN);
	cache.msg = "3 of 4 nodes";
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, &st), 200);
	ASSERT_EQ_INT(st, SONDE_HEALTH_DEGRADED);
	ASSERT_STREQ(parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	             "keys=status,probe,timestamp,checks,version,uptime\n"
	             "status=\"degraded\"\n"
	             "probe=\"readiness\"\n"
	             "timestamp=ok\n"
	             "checks=2\n"
	             "database: status=\"pass\" responseTime=#\n"
	             "cache: status=\"warn\" responseTime=# message=\"3 of 4 nodes\"\n"
	             "version=\"1.2.3\"\n"
	             "uptime=#");

	/* fail beats warn */
	atomic_store(&db.result, SONDE_HEALTH_FAIL);
	db.msg = "connect: \"refused\"\n";
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, &st), 503);
	ASSERT_EQ_INT(st, SONDE_HEALTH_UNHEALTHY);
	ASSERT_STREQ(
	        parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	        "keys=status,probe,timestamp,checks,version,uptime\n"
	        "status=\"unhealthy\"\n"
	        "probe=\"readiness\"\n"
	        "timestamp=ok\n"
	        "checks=2\n"
	        "database: status=\"fail\" responseTime=# error=\"connect: \\\"refused\\\"\\n\"\n"
	        "cache: status=\"warn\" responseTime=# message=\"3 of 4 nodes\"\n"
	        "version=\"1.2.3\"\n"
	        "uptime=#");
	ASSERT_CONTAINS(b.data, "\"error\":\"connect: \\\"refused\\\"\\n\"");

	/* fail without a message, pass with none */
	atomic_store(&cache.result, SONDE_HEALTH_FAIL);
	cache.msg = NULL;
	atomic_store(&db.result, SONDE_HEALTH_PASS);
	db.msg = NULL;
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_CONTAINS(b.data, "\"cache\":{\"status\":\"fail\",\"responseTime\":");
	ASSERT_CONTAINS(b.data, ",\"error\":\"check failed\"}");
	ASSERT_NOT_CONTAINS(b.data, "message");
	ASSERT_EQ_INT(atomic_load(&db.calls), 4);
	ASSERT_EQ_INT(atomic_load(&cache.calls), 4);

	sonde_health_free(h);
	ASSERT_EQ_INT(atomic_load(&db.released), 1);
	ASSERT_EQ_INT(atomic_load(&cache.released), 1);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_probes_select_their_checks)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, NULL);
	fake live = {0}, ready = {0}, both = {0};
	sonde_buf b = SONDE_BUF_INIT;
	int64_t lo = sonde_now_unix_ns() / 1000000;

	/* no checks at all: healthy, empty object */
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 200);
	ASSERT_STREQ(parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	             "keys=status,probe,timestamp,checks,version,uptime\n"
	             "status=\"healthy\"\nprobe=\"liveness\"\ntimestamp=ok\nchecks=0\n"
	             "version=\"unknown\"\nuptime=#");
	ASSERT_CONTAINS(b.data, "\"checks\":{},");

	add(h, "event-loop", &live, SONDE_HEALTH_LIVENESS, 1000, 0);
	add(h, "db.primary", &ready, 0 /* readiness by default */, 1000, 0);
	add(h, "disk_space", &both, SONDE_HEALTH_LIVENESS | SONDE_HEALTH_READINESS, 1000, 0);
	atomic_store(&ready.result, SONDE_HEALTH_FAIL);

	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 200);
	ASSERT_STREQ(parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	             "keys=status,probe,timestamp,checks,version,uptime\n"
	             "status=\"healthy\"\nprobe=\"liveness\"\ntimestamp=ok\nchecks=2\n"
	             "event-loop: status=\"pass\" responseTime=#\n"
	             "disk_space: status=\"pass\" responseTime=#\n"
	             "version=\"unknown\"\nuptime=#");
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_STREQ(parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	             "keys=status,probe,timestamp,checks,version,uptime\n"
	             "status=\"unhealthy\"\nprobe=\"readiness\"\ntimestamp=ok\nchecks=2\n"
	             "db.primary: status=\"fail\" responseTime=# error=\"check failed\"\n"
	             "disk_space: status=\"pass\" responseTime=#\n"
	             "version=\"unknown\"\nuptime=#");
	/* startup has no checks here */
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_STARTUP, NULL, NULL), 200);
	ASSERT_EQ_INT(atomic_load(&live.calls), 1);
	ASSERT_EQ_INT(atomic_load(&ready.calls), 1);
	ASSERT_EQ_INT(atomic_load(&both.calls), 2);
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_timeout_does_not_block_the_probe)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake slow = {0}, quick = {0};
	sonde_buf b = SONDE_BUF_INIT;
	int64_t t0, took;

	atomic_store(&slow.block, 1);
	add(h, "slow", &slow, SONDE_HEALTH_READINESS, 100, 0);
	add(h, "quick", &quick, SONDE_HEALTH_READINESS, 1000, 0);

	t0 = now_ms();
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	took = now_ms() - t0;
	ASSERT_TRUE(took >= 100);
	ASSERT_TRUE(took < 1000);
	ASSERT_CONTAINS(b.data, "\"slow\":{\"status\":\"fail\",\"responseTime\":");
	ASSERT_CONTAINS(b.data, ",\"error\":\"timed out after 100 ms\"}");
	ASSERT_CONTAINS(b.data, "\"quick\":{\"status\":\"pass\"");
	ASSERT_TRUE(body_num(b.data, "slow", "responseTime") >= 100);
	ASSERT_TRUE(body_num(b.data, "slow", "responseTime") < 1000);

	/* still hung: reported at once (well before its 100 ms timeout), not
	 * started again */
	t0 = now_ms();
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_TRUE(now_ms() - t0 < 80);
	ASSERT_CONTAINS(b.data, "\"error\":\"still running from a previous probe (started ");
	ASSERT_CONTAINS(b.data, " ms ago, timeout 100 ms)\"");
	ASSERT_EQ_INT(atomic_load(&slow.calls), 1);
	ASSERT_EQ_INT(atomic_load(&quick.calls), 2);

	/* it returns late with PASS: recorded as a timeout, not as a pass; no
	 * cache, so the next probe runs it again and it passes in time */
	atomic_store(&slow.block, 0);
	wait_finished(&slow, 1);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 200);
	ASSERT_EQ_INT(atomic_load(&slow.calls), 2);
	ASSERT_CONTAINS(b.data, "\"slow\":{\"status\":\"pass\"");
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_late_result_is_a_cached_failure)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake slow = {0};
	sonde_buf b = SONDE_BUF_INIT;

	atomic_store(&slow.block, 1);
	add(h, "slow", &slow, SONDE_HEALTH_READINESS, 20, 60000);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_CONTAINS(b.data, "\"error\":\"timed out after 20 ms\"");
	sleep_ms(40);
	atomic_store(&slow.block, 0);
	wait_finished(&slow, 1);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_CONTAINS(b.data, "\"error\":\"timed out after 20 ms (took ");
	ASSERT_CONTAINS(b.data, " ms)\",\"cached\":true}");
	ASSERT_TRUE(body_num(b.data, "slow", "responseTime") >= 40);
	ASSERT_EQ_INT(atomic_load(&slow.calls), 1);
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_cache_interval)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake db = {0};
	sonde_buf b = SONDE_BUF_INIT;
	int i;

	add(h, "db", &db, SONDE_HEALTH_READINESS | SONDE_HEALTH_LIVENESS, 1000, 300);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 200);
	ASSERT_NOT_CONTAINS(b.data, "cached");
	/* a storm of probes, of both kinds, runs it once */
	atomic_store(&db.result, SONDE_HEALTH_FAIL);
	for (i = 0; i < 20; i++) {
		ASSERT_EQ_INT(evaluate(h, i % 2 ? SONDE_HEALTH_READINESS : SONDE_HEALTH_LIVENESS,
		                       &b, NULL),
		              200);
		ASSERT_CONTAINS(b.data, "\"db\":{\"status\":\"pass\",\"responseTime\":");
		ASSERT_CONTAINS(b.data, ",\"cached\":true}");
	}
	ASSERT_EQ_INT(atomic_load(&db.calls), 1);
	sleep_ms(320);
	/* expired: runs again; the failure is cached in its turn */
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_NOT_CONTAINS(b.data, "cached");
	atomic_store(&db.result, SONDE_HEALTH_PASS);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_CONTAINS(b.data, "\"error\":\"check failed\",\"cached\":true}");
	ASSERT_EQ_INT(atomic_load(&db.calls), 2);
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* Two evaluations while a run is in flight share it. */
typedef struct eval_arg {
	sonde_health *h;
	sonde_health_probe probe;
	int rounds;
	int codes[2];    /* count of 200 and 503 */
	int bad;         /* bodies that did not look right */
	char last[4096]; /* the last body (cut to fit) */
} eval_arg;

static void *eval_thread(void *p)
{
	eval_arg *a = p;
	sonde_buf b = SONDE_BUF_INIT;
	int i;

	for (i = 0; i < a->rounds; i++) {
		int rc = sonde_health_evaluate(a->h, a->probe, &b, NULL);
		if (rc == 200)
			a->codes[0]++;
		else if (rc == 503)
			a->codes[1]++;
		if (rc < 0 || !b.data || b.data[0] != '{' || b.data[b.len - 1] != '}' ||
		    !strstr(b.data, "\"status\":"))
			a->bad++;
	}
	snprintf(a->last, sizeof(a->last), "%s", b.data ? b.data : "");
	sonde_buf_destroy(&b);
	return NULL;
}

TEST(health_inflight_run_is_shared)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake db = {0};
	eval_arg a = {h, SONDE_HEALTH_READINESS, 1, {0, 0}, 0, ""};
	eval_arg a2 = {h, SONDE_HEALTH_READINESS, 1, {0, 0}, 0, ""};
	pthread_t t, t2;
	int64_t until = now_ms() + 5000;

	atomic_store(&db.block, 1);
	add(h, "db", &db, SONDE_HEALTH_READINESS, 2000, 0);
	ASSERT_EQ_INT(pthread_create(&t, NULL, eval_thread, &a), 0);
	while (atomic_load(&db.calls) == 0 && now_ms() < until)
		sleep_ms(1);
	ASSERT_EQ_INT(atomic_load(&db.calls), 1);
	/* the second evaluation joins the run the first one started: the run
	 * stays blocked until it has had 100 ms to get there (unblocking
	 * first let a loaded machine finish the run before the second
	 * evaluation began, which then rightly started its own) */
	ASSERT_EQ_INT(pthread_create(&t2, NULL, eval_thread, &a2), 0);
	sleep_ms(100);
	ASSERT_EQ_INT(atomic_load(&db.calls), 1);
	atomic_store(&db.block, 0);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	ASSERT_EQ_INT(a.codes[0], 1);
	ASSERT_EQ_INT(a2.codes[0], 1);
	ASSERT_EQ_INT(a.bad + a2.bad, 0);
	ASSERT_EQ_INT(atomic_load(&db.calls), 1);
	ASSERT_TRUE(body_num(a2.last, "db", "responseTime") >= 100);
	sonde_health_free(h);
	sonde_registry_free(r);
}

TEST(health_concurrent_evaluation)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake a = {0}, bb = {0}, c = {0};
	eval_arg args[6];
	pthread_t t[6];
	sonde_buf buf = SONDE_BUF_INIT;
	int i, total = 0;

	a.sleep_ms = 1;
	bb.sleep_ms = 2;
	add(h, "a", &a, SONDE_HEALTH_LIVENESS | SONDE_HEALTH_READINESS, 1000, 0);
	add(h, "b", &bb, SONDE_HEALTH_READINESS | SONDE_HEALTH_STARTUP, 1000, 0);
	add(h, "c", &c, SONDE_HEALTH_READINESS, 1000, 5);
	for (i = 0; i < 6; i++) {
		args[i].h = h;
		args[i].probe = i % 3 == 0   ? SONDE_HEALTH_LIVENESS
		                : i % 3 == 1 ? SONDE_HEALTH_READINESS
		                             : SONDE_HEALTH_STARTUP;
		args[i].rounds = 40;
		args[i].codes[0] = args[i].codes[1] = 0;
		args[i].bad = 0;
		ASSERT_EQ_INT(pthread_create(&t[i], NULL, eval_thread, &args[i]), 0);
	}
	/* checks added while probes run are picked up by later evaluations */
	{
		fake late = {0};
		add(h, "late", &late, SONDE_HEALTH_READINESS, 1000, 0);
		for (i = 0; i < 6; i++) {
			pthread_join(t[i], NULL);
			ASSERT_EQ_INT(args[i].bad, 0);
			ASSERT_EQ_INT(args[i].codes[0], 40);
			total += args[i].codes[0];
		}
		ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &buf, NULL), 200);
		ASSERT_CONTAINS(buf.data, "\"late\":{\"status\":\"pass\"");
		ASSERT_TRUE(atomic_load(&late.calls) >= 1);
		sonde_health_free(h);
		ASSERT_EQ_INT(atomic_load(&late.released), 1);
	}
	ASSERT_EQ_INT(total, 240);
	/* a callback never ran concurrently with itself */
	ASSERT_EQ_INT(atomic_load(&a.max_inflight), 1);
	ASSERT_EQ_INT(atomic_load(&bb.max_inflight), 1);
	ASSERT_EQ_INT(atomic_load(&c.max_inflight), 1);
	ASSERT_TRUE(atomic_load(&a.calls) >= 1);
	ASSERT_EQ_INT(atomic_load(&a.calls), atomic_load(&a.finished));
	sonde_buf_destroy(&buf);
	sonde_registry_free(r);
}

TEST(health_startup_latch)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	sonde_health *h2;
	sonde_health_opts o;
	fake init = {0};
	sonde_buf b = SONDE_BUF_INIT;
	sonde_health_status st;
	int64_t lo = sonde_now_unix_ns() / 1000000;

	atomic_store(&init.result, SONDE_HEALTH_FAIL);
	init.msg = "migrations pending";
	add(h, "init", &init, SONDE_HEALTH_STARTUP | SONDE_HEALTH_READINESS, 1000, 0);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_STARTUP, &b, NULL), 503);
	ASSERT_CONTAINS(b.data, "\"error\":\"migrations pending\"");
	atomic_store(&init.result, SONDE_HEALTH_WARN);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_STARTUP, &b, &st), 200);
	ASSERT_EQ_INT(st, SONDE_HEALTH_DEGRADED);
	/* latched: no more runs for startup, even when the check would fail */
	atomic_store(&init.result, SONDE_HEALTH_FAIL);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_STARTUP, &b, &st), 200);
	ASSERT_EQ_INT(st, SONDE_HEALTH_HEALTHY);
	ASSERT_STREQ(parse_back(&b, lo, sonde_now_unix_ns() / 1000000),
	             "keys=status,probe,timestamp,checks,version,uptime\n"
	             "status=\"healthy\"\nprobe=\"startup\"\ntimestamp=ok\nchecks=0\n"
	             "version=\"v\"\nuptime=#");
	ASSERT_EQ_INT(atomic_load(&init.calls), 2);
	/* readiness still runs it */
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_EQ_INT(atomic_load(&init.calls), 3);
	sonde_health_free(h);

	/* without the latch, startup keeps running its checks */
	sonde_health_opts_init(&o);
	o.registry = r;
	o.flags = SONDE_HEALTH_NO_STARTUP_LATCH;
	h2 = sonde_health_new(&o);
	ASSERT_NOT_NULL(h2);
	atomic_store(&init.result, SONDE_HEALTH_PASS);
	atomic_store(&init.calls, 0);
	add(h2, "init", &init, SONDE_HEALTH_STARTUP, 1000, 0);
	ASSERT_EQ_INT(evaluate(h2, SONDE_HEALTH_STARTUP, NULL, NULL), 200);
	atomic_store(&init.result, SONDE_HEALTH_FAIL);
	ASSERT_EQ_INT(evaluate(h2, SONDE_HEALTH_STARTUP, NULL, NULL), 503);
	ASSERT_EQ_INT(atomic_load(&init.calls), 2);
	sonde_health_free(h2);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_metrics)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake db = {0}, cache = {0};
	sonde_buf b = SONDE_BUF_INIT, m = SONDE_BUF_INIT;

	add(h, "db", &db, SONDE_HEALTH_READINESS | SONDE_HEALTH_LIVENESS, 1000, 0);
	add(h, "cache", &cache, SONDE_HEALTH_READINESS, 1000, 60000);
	atomic_store(&cache.result, SONDE_HEALTH_WARN);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 200);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &m));
	ASSERT_CONTAINS(m.data, "# TYPE sonde_health_check_status gauge\n");
	ASSERT_CONTAINS(m.data, "sonde_health_check_status{check=\"db\",probe=\"readiness\"} 1\n");
	ASSERT_CONTAINS(m.data, "sonde_health_check_status{check=\"db\",probe=\"liveness\"} 0\n");
	ASSERT_CONTAINS(m.data,
	                "sonde_health_check_status{check=\"cache\",probe=\"readiness\"} 0.5\n");
	ASSERT_CONTAINS(m.data, "# TYPE sonde_health_check_duration_seconds histogram\n");
	ASSERT_CONTAINS(m.data, "sonde_health_check_duration_seconds_count{check=\"db\"} 1\n");
	ASSERT_CONTAINS(m.data, "sonde_health_check_duration_seconds_count{check=\"cache\"} 1\n");

	atomic_store(&db.result, SONDE_HEALTH_FAIL);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 503);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &m));
	ASSERT_CONTAINS(m.data, "sonde_health_check_status{check=\"db\",probe=\"readiness\"} 0\n");
	ASSERT_CONTAINS(m.data, "sonde_health_check_status{check=\"db\",probe=\"liveness\"} 0\n");
	ASSERT_CONTAINS(m.data, "sonde_health_check_duration_seconds_count{check=\"db\"} 3\n");
	/* cached reuse observes no duration */
	ASSERT_CONTAINS(m.data, "sonde_health_check_duration_seconds_count{check=\"cache\"} 1\n");

	/* a second health object on the same registry shares the families */
	{
		sonde_health *h2 = health(r, "w");
		sonde_health_free(h2);
	}
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_buf_destroy(&m);
	sonde_registry_free(r);
}

TEST(health_free_while_a_check_overruns)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	fake hung = {0}, ok = {0};
	sonde_buf b = SONDE_BUF_INIT;
	int64_t t0, until;

	atomic_store(&hung.block, 1);
	add(h, "hung", &hung, SONDE_HEALTH_READINESS, 20, 0);
	add(h, "ok", &ok, SONDE_HEALTH_LIVENESS, 1000, 0);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 200);
	/* the hung run is past its deadline: free does not wait for it */
	t0 = now_ms();
	sonde_health_free(h);
	ASSERT_TRUE(now_ms() - t0 < 1000); /* the hung run returns only when unblocked below */
	ASSERT_EQ_INT(atomic_load(&ok.released), 1);
	ASSERT_EQ_INT(atomic_load(&hung.released), 0);
	/* the registry can go too: the run no longer touches it */
	sonde_registry_free(r);
	atomic_store(&hung.block, 0);
	until = now_ms() + 5000;
	while (atomic_load(&hung.released) == 0 && now_ms() < until)
		sleep_ms(1);
	ASSERT_EQ_INT(atomic_load(&hung.released), 1);
	ASSERT_EQ_INT(atomic_load(&hung.finished), 1);
	sleep_ms(20); /* let the detached thread exit before the leak check */
	sonde_buf_destroy(&b);
}

static void *unblock_later(void *p)
{
	sleep_ms(30);
	atomic_store(&((fake *)p)->block, 0);
	return NULL;
}

TEST(health_free_waits_for_overrunning_runs)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health_opts o;
	sonde_health *h;
	fake slow = {0};
	pthread_t t;
	int64_t t0, took;

	sonde_health_opts_init(&o);
	o.registry = r;
	o.free_wait_ms = 3000;
	h = sonde_health_new(&o);
	ASSERT_NOT_NULL(h);
	atomic_store(&slow.block, 1);
	add(h, "slow", &slow, SONDE_HEALTH_READINESS, 10, 0);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, NULL, NULL), 503);
	ASSERT_EQ_INT(atomic_load(&slow.finished), 0);
	ASSERT_EQ_INT(pthread_create(&t, NULL, unblock_later, &slow), 0);
	t0 = now_ms();
	sonde_health_free(h);
	took = now_ms() - t0;
	/* it waited for the run, which returned, so free released it */
	ASSERT_EQ_INT(atomic_load(&slow.finished), 1);
	ASSERT_EQ_INT(atomic_load(&slow.released), 1);
	ASSERT_TRUE(took >= 15);
	ASSERT_TRUE(took < 3000);
	pthread_join(t, NULL);
	sonde_registry_free(r);
}

static sonde_health_result odd_fn(void *user, char *msg, size_t cap)
{
	(void)user;
	(void)cap;
	strcpy(msg, "bad\xff utf8 \x01 ctl");
	return (sonde_health_result)42;
}

TEST(health_messages_and_invalid_results)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "ver\"sion");
	fake full = {0}, uni = {0};
	sonde_health_check_opts o;
	sonde_buf b = SONDE_BUF_INIT;
	char want[SONDE_HEALTH_MSG_MAX + 64];
	int64_t lo = sonde_now_unix_ns() / 1000000;

	full.fill_msg = 1;
	atomic_store(&full.result, SONDE_HEALTH_FAIL);
	add(h, "full", &full, SONDE_HEALTH_READINESS, 1000, 0);
	sonde_health_check_opts_init(&o, "odd", odd_fn, NULL);
	ASSERT_OK(sonde_health_add_check(h, &o));
	uni.msg = "caf\xc3\xa9 bad\xff";
	add(h, "uni", &uni, SONDE_HEALTH_READINESS, 1000, 0);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_READINESS, &b, NULL), 503);
	/* a message that filled the buffer is cut at cap - 1 bytes */
	memset(want, 0, sizeof(want));
	strcpy(want, "\"error\":\"");
	memset(want + strlen(want), 'x', SONDE_HEALTH_MSG_MAX - 1);
	strcat(want, "\"}");
	ASSERT_CONTAINS(b.data, want);
	ASSERT_CONTAINS(b.data, "\"odd\":{\"status\":\"fail\",\"responseTime\":");
	ASSERT_CONTAINS(b.data, "\"error\":\"check returned an invalid result (42)\"}");
	ASSERT_CONTAINS(b.data, "\"message\":\"caf\xc3\xa9 bad\xef\xbf\xbd\"}");
	ASSERT_CONTAINS(b.data, "\"version\":\"ver\\\"sion\"");
	ASSERT_STREQ(strstr(parse_back(&b, lo, sonde_now_unix_ns() / 1000000), "uni:"),
	             "uni: status=\"pass\" responseTime=# message=\"caf\\u00e9 bad\\ufffd\"\n"
	             "version=\"ver\\\"sion\"\nuptime=#");
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_validation)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health *h = health(r, "v");
	sonde_health_check_opts o;
	sonde_health_opts ho;
	sonde_buf b = SONDE_BUF_INIT;
	fake f = {0};
	char longname[SONDE_HEALTH_NAME_MAX + 2];
	char longver[SONDE_HEALTH_VERSION_MAX + 2];
	const char *bad_names[] = {"", "a b", "caf\xc3\xa9", "x\"y", "a/b", "{}"};
	size_t i;

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		sonde_health_check_opts_init(&o, bad_names[i], fake_fn, &f);
		ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
		ASSERT_CONTAINS(sonde_last_error(), "health check name");
	}
	sonde_health_check_opts_init(&o, NULL, fake_fn, &f);
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	sonde_health_check_opts_init(&o, longname, fake_fn, &f);
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	longname[SONDE_HEALTH_NAME_MAX] = '\0'; /* exactly the maximum is fine */
	ASSERT_OK(sonde_health_add_check(h, &o));

	sonde_health_check_opts_init(&o, "ok", NULL, &f);
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	sonde_health_check_opts_init(&o, "ok", fake_fn, &f);
	o.probes = 8;
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	o.probes = SONDE_HEALTH_LIVENESS;
	o.timeout_ms = SONDE_HEALTH_TIMEOUT_MAX_MS + 1;
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	o.timeout_ms = 0;
	o.cache_ms = SONDE_HEALTH_CACHE_MAX_MS + 1;
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	o.cache_ms = 0;
	o.size = sizeof(o) - 1;
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EINVAL);
	o.size = sizeof(o);
	ASSERT_EQ_INT(sonde_health_add_check(NULL, &o), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_health_add_check(h, NULL), SONDE_EINVAL);
	ASSERT_OK(sonde_health_add_check(h, &o));
	ASSERT_EQ_INT(sonde_health_add_check(h, &o), SONDE_EEXIST);
	ASSERT_CONTAINS(sonde_last_error(), "\"ok\" already exists");
	ASSERT_EQ_INT(sonde_health_check_count(h), 2);
	ASSERT_EQ_INT(sonde_health_check_count(NULL), 0);

	ASSERT_EQ_INT(sonde_health_evaluate(NULL, SONDE_HEALTH_LIVENESS, &b, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_health_evaluate(h, (sonde_health_probe)3, &b, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_health_evaluate(h, (sonde_health_probe)0, &b, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 200);

	sonde_health_opts_init(&ho);
	ho.size = 3;
	ASSERT_NULL(sonde_health_new(&ho));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	sonde_health_opts_init(&ho);
	ho.flags = 2;
	ASSERT_NULL(sonde_health_new(&ho));
	memset(longver, 'v', sizeof(longver) - 1);
	longver[sizeof(longver) - 1] = '\0';
	sonde_health_opts_init(&ho);
	ho.version = longver;
	ASSERT_NULL(sonde_health_new(&ho));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	/* a clashing family in the registry */
	{
		sonde_registry *r2 = sonde_registry_new();
		ASSERT_NOT_NULL(sonde_counter_new(r2, "sonde_health_check_status", "clash"));
		sonde_health_opts_init(&ho);
		ho.registry = r2;
		ASSERT_NULL(sonde_health_new(&ho));
		ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
		sonde_registry_free(r2);
	}

	ASSERT_STREQ(sonde_health_status_name(SONDE_HEALTH_DEGRADED), "degraded");
	ASSERT_STREQ(sonde_health_status_name((sonde_health_status)9), "unknown");
	ASSERT_STREQ(sonde_health_result_name(SONDE_HEALTH_WARN), "warn");
	ASSERT_STREQ(sonde_health_result_name((sonde_health_result)-1), "unknown");
	ASSERT_STREQ(sonde_health_probe_name(SONDE_HEALTH_STARTUP), "startup");
	ASSERT_STREQ(sonde_health_probe_name((sonde_health_probe)3), "unknown");
	sonde_health_opts_init(NULL);
	sonde_health_check_opts_init(NULL, "x", fake_fn, NULL);
	sonde_health_free(NULL);
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(health_default_registry_and_uptime)
{
	sonde_health *h = sonde_health_new(NULL);
	sonde_buf b = SONDE_BUF_INIT, m = SONDE_BUF_INIT;
	fake f = {0};
	double up;
	int saved;

	ASSERT_NOT_NULL(h);
	add(h, "dflt", &f, SONDE_HEALTH_LIVENESS, 1000, 0);
	sleep_ms(30);
	errno = 1234;
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 200);
	saved = errno;
	ASSERT_EQ_INT(saved, 1234);
	up = strtod(strstr(b.data, "\"uptime\":") + 9, NULL);
	ASSERT_TRUE(up >= 0.03 && up < 5);
	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &m));
	ASSERT_CONTAINS(m.data, "sonde_health_check_status{check=\"dflt\",probe=\"liveness\"} 1\n");
	sonde_health_free(h);
	sonde_buf_destroy(&b);
	sonde_buf_destroy(&m);
}

/* One rule for size fields: a struct of exactly its first layout's size,
 * held in a heap block of that many bytes (ASan sees any read past it),
 * works; a size below it is SONDE_EINVAL with a message naming the call. */
TEST(health_opts_size_rule)
{
	const size_t v1h = SONDE__V1_SIZE(sonde_health_opts, free_wait_ms);
	const size_t v1c = SONDE__V1_SIZE(sonde_health_check_opts, release);
	sonde_registry *r = sonde_registry_new();
	sonde_health_opts ho;
	sonde_health_check_opts co;
	sonde_buf b = SONDE_BUF_INIT;
	sonde_health *h;
	fake f = {0};
	void *blk;

	sonde_health_opts_init(&ho);
	ho.size = v1h;
	ho.registry = r;
	ho.version = "1.2.3";
	ho.free_wait_ms = 50; /* the last V1 field: read, and in bounds */
	blk = malloc(v1h);
	ASSERT_NOT_NULL(blk);
	memcpy(blk, &ho, v1h);
	h = sonde_health_new(blk);
	free(blk);
	ASSERT_NOT_NULL(h);

	sonde_health_check_opts_init(&co, "v1", fake_fn, &f);
	co.size = v1c;
	co.probes = SONDE_HEALTH_LIVENESS;
	co.release = fake_release; /* the last V1 field */
	blk = malloc(v1c);
	ASSERT_NOT_NULL(blk);
	memcpy(blk, &co, v1c);
	ASSERT_OK(sonde_health_add_check(h, blk));
	free(blk);
	ASSERT_EQ_INT(evaluate(h, SONDE_HEALTH_LIVENESS, &b, NULL), 200);
	ASSERT_CONTAINS(b.data, "\"v1\":{\"status\":\"pass\"");
	ASSERT_CONTAINS(b.data, "\"version\":\"1.2.3\"");

	ho.size = 4;
	ASSERT_NULL(sonde_health_new(&ho));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "sonde_health_new");
	co.size = 4;
	co.name = "v1b";
	ASSERT_EQ_INT(sonde_health_add_check(h, &co), SONDE_EINVAL);
	ASSERT_CONTAINS(sonde_last_error(), "sonde_health_add_check");
	ASSERT_EQ_INT(sonde_health_check_count(h), 1);

	sonde_health_free(h);
	ASSERT_EQ_INT(atomic_load(&f.released), 1);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* ---- out of memory: fail the Nth allocation of this thread, for every N ---- */
static atomic_long oom_count;
static long oom_fail_at = -1;
static __thread int oom_counting; /* run threads' allocations never fail */

static int oom_fail(void)
{
	return oom_counting && oom_fail_at >= 0 && atomic_fetch_add(&oom_count, 1) == oom_fail_at;
}
static void *oom_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return oom_fail() ? NULL : malloc(n);
}
static void *oom_calloc(void *ctx, size_t c, size_t n)
{
	(void)ctx;
	return oom_fail() ? NULL : calloc(c, n);
}
static void *oom_realloc(void *ctx, void *p, size_t o, size_t n)
{
	(void)ctx;
	(void)o;
	return oom_fail() ? NULL : realloc(p, n);
}
static void oom_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

TEST(health_out_of_memory_every_allocation)
{
	sonde_allocator a = {sizeof(a), oom_malloc, oom_calloc, oom_realloc, oom_free, NULL};
	long n;
	int completed = 0;

	ASSERT_OK(sonde_set_allocator(&a));
	oom_counting = 1;
	for (n = 0; n < 10000 && !completed; n++) {
		sonde_registry *r;
		sonde_health *h;
		sonde_buf b = SONDE_BUF_INIT;
		fake f1 = {0}, f2 = {0};
		sonde_health_check_opts o;
		int rc;

		atomic_store(&oom_count, 0);
		oom_fail_at = n;
		r = sonde_registry_new();
		if (!r) {
			ASSERT_EQ_INT(sonde_last_status(), SONDE_ENOMEM);
			continue;
		}
		{
			sonde_health_opts ho;
			sonde_health_opts_init(&ho);
			ho.registry = r;
			ho.version = "9.9";
			h = sonde_health_new(&ho);
		}
		if (!h) {
			ASSERT_EQ_INT(sonde_last_status(), SONDE_ENOMEM);
			sonde_registry_free(r);
			continue;
		}
		sonde_health_check_opts_init(&o, "one", fake_fn, &f1);
		o.release = fake_release;
		rc = sonde_health_add_check(h, &o);
		if (rc != 0)
			ASSERT_EQ_INT(rc, SONDE_ENOMEM);
		sonde_health_check_opts_init(&o, "two", fake_fn, &f2);
		o.release = fake_release;
		rc = sonde_health_add_check(h, &o);
		if (rc != 0)
			ASSERT_EQ_INT(rc, SONDE_ENOMEM);
		rc = sonde_health_evaluate(h, SONDE_HEALTH_READINESS, &b, NULL);
		if (rc < 0)
			ASSERT_EQ_INT(rc, SONDE_ENOMEM);
		else
			ASSERT_EQ_INT(rc, 200);
		completed = atomic_load(&oom_count) <= n; /* nothing failed this time */
		if (completed) {
			ASSERT_EQ_INT(sonde_health_check_count(h), 2);
			ASSERT_CONTAINS(b.data, "\"two\":{\"status\":\"pass\"");
		}
		sonde_health_free(h);
		/* a check that was added is released exactly once */
		ASSERT_TRUE(atomic_load(&f1.released) <= 1 && atomic_load(&f2.released) <= 1);
		sonde_buf_destroy(&b);
		sonde_registry_free(r);
	}
	oom_fail_at = -1;
	ASSERT_TRUE(completed);
	ASSERT_TRUE(n > 5);
}
