/*
 * tests/integration/test_faults.c - fault and concurrency tests across the library:
 * a sink that blocks forever at shutdown, fork() while other threads log
 * and increment, and a mixed stress run (children created, incremented and
 * removed, logging, level changes, scrapes) with exact totals.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

static _Atomic int release_sink;
static _Atomic int sink_entered;

static int blocking_sink(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)ctx;
	(void)level;
	(void)line;
	(void)len;
	atomic_store(&sink_entered, 1);
	while (!atomic_load(&release_sink))
		usleep(1000);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST_TIMEOUT(fault_shutdown_with_blocked_sink_is_bounded, 30)
{
	sonde_log_config cfg;
	sonde_log_sink *s;
	sonde_log_opts o;
	sonde_logger *l;
	double t0, took;
	int rc, i;

	sonde_log_config_init(&cfg);
	cfg.shutdown_timeout_ms = 300;
	ASSERT_OK(sonde_log_configure(&cfg));
	s = sonde_log_sink_callback(blocking_sink, NULL, NULL);
	ASSERT_NOT_NULL(s);
	sonde_log_opts_init(&o, "blocked");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	ASSERT_NOT_NULL(l);
	for (i = 0; i < 10; i++)
		LOG_INFO(l, "stuck", LOG_INT("i", i));
	while (!atomic_load(&sink_entered))
		usleep(1000);
	/* the sink never returns: shutdown must give up after its bound */
	t0 = now_s();
	rc = sonde_log_shutdown();
	took = now_s() - t0;
	ASSERT_EQ_INT(rc, SONDE_ETIMEDOUT);
	/* liveness, not speed: it must come back (0.3 s + the 0.5 s join
	 * grace), never hang; 10 s leaves room for a loaded sanitizer run */
	if (took > 10.0)
		FAIL("shutdown took %.2f s with a 0.3 s bound", took);
	atomic_store(&release_sink, 1); /* let the stuck backend thread finish */
	sonde_logger_free(l);
	sonde_log_sink_free(s);
}

/* ---- fork under load -------------------------------------------------------------- */

static sonde_counter *fc;
static sonde_logger *flog;
static _Atomic int stop_load;

static void *load(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_load)) {
		sonde_counter_inc(fc);
		LOG_DEBUG(flog, "tick");
	}
	return NULL;
}

static int count_lines(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)level;
	(void)line;
	(void)len;
	__atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
	return 0;
}

TEST_TIMEOUT(fault_fork_while_threads_log_and_increment, 60)
{
	static int lines;
	sonde_registry *r = sonde_registry_new();
	sonde_log_sink *s = sonde_log_sink_callback(count_lines, &lines, NULL);
	sonde_log_opts o;
	pthread_t t[2];
	int round, st;

	fc = sonde_counter_new(r, "forked_total", "F.");
	sonde_log_opts_init(&o, "forker");
	o.level = SONDE_LOG_LEVEL_TRACE;
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	flog = sonde_logger_new(&o);
	ASSERT_NOT_NULL(flog);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, load, NULL);
	for (round = 0; round < 5; round++) {
		pid_t pid;
		usleep(20000);
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			/* the child: only this thread exists; sonde must work */
			sonde_buf b = SONDE_BUF_INIT;
			double before = sonde_counter_value(fc);
			int ok = 1;
			sonde_counter_add(fc, 1000);
			ok &= sonde_counter_value(fc) == before + 1000;
			ok &= sonde_expose(r, SONDE_FORMAT_TEXT, &b) == SONDE_OK &&
			      strstr(b.data, "forked_total ") != NULL;
#ifndef __SANITIZE_THREAD__
			/* TSan cannot start a thread (the child's log backend) after a
			 * multi-threaded fork; the plain and ASan runs cover this */
			lines = 0;
			LOG_INFO(flog, "from the child");
			ok &= sonde_log_flush() == SONDE_OK;
			ok &= __atomic_load_n(&lines, __ATOMIC_RELAXED) >= 1;
#endif
			_exit(ok ? 0 : 1);
		}
		ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			FAIL("child of round %d failed (status 0x%x)", round, st);
	}
	atomic_store(&stop_load, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* the parent carries on too */
	ASSERT_TRUE(sonde_counter_value(fc) > 0);
	ASSERT_OK(sonde_log_flush());
	sonde_logger_free(flog);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	sonde_registry_free(r);
}

/* ---- fork while another thread starts and stops the logger ------------------------- */

static sonde_log_sink *cycle_sink;
static _Atomic int cycle_stop;
static _Atomic int cycle_child_lines;

static int count_child(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	static const char want[] = "\"message\":\"child\"";
	(void)ctx;
	(void)level;
	if (memmem(line, len, want, sizeof(want) - 1))
		atomic_fetch_add(&cycle_child_lines, 1);
	return 0;
}

static sonde_logger *cycle_logger(void)
{
	sonde_log_opts o;

	sonde_log_opts_init(&o, "cycle");
	o.level = SONDE_LOG_LEVEL_TRACE;
	o.level_env = "";
	o.sinks = &cycle_sink;
	o.sink_count = 1;
	return sonde_logger_new(&o);
}

/* Starts the backend (a new logger), logs, shuts it down, over and over:
 * forks land in its start-up, its batches, its exit and its join. */
static void *start_stop(void *arg)
{
	(void)arg;
	while (!atomic_load(&cycle_stop)) {
		sonde_logger *l = cycle_logger();
		int rc;
		for (int i = 0; l && i < 50; i++)
			LOG_INFO(l, "tick", LOG_INT("i", i));
		sonde_logger_free(l);
		rc = sonde_log_shutdown();
		(void)rc;
	}
	return NULL;
}

TEST_TIMEOUT(fault_fork_while_logger_starts_and_stops, 120)
{
	pthread_t t;
	int bad = 0;

#if defined(__SANITIZE_ADDRESS__)
	/* Not under ASan: start_stop() is a host thread that allocates
	 * (loggers, the backend's pthread_create), and ASan's allocator,
	 * unlike glibc's, takes no lock around fork(): a fork while that
	 * thread is inside malloc leaves the child's allocator locked, which
	 * no library can prevent (seen: the child's backend hung in ASan's
	 * GetFromAllocator). The logger's own threads are covered under ASan
	 * by log_fork_child_keeps_working; plain and TSan runs cover this. */
	return;
#endif
	cycle_sink = sonde_log_sink_callback(count_child, NULL, NULL);
	ASSERT_NOT_NULL(cycle_sink);
	pthread_create(&t, NULL, start_stop, NULL);
	for (int round = 0; round < 40; round++) {
		pid_t pid;
		int st = 0, waited;

		usleep(1500);
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
#ifdef __SANITIZE_THREAD__
			/* TSan cannot start the child's backend after a
			 * multi-threaded fork: only check that shutting the
			 * inherited logger down does not hang. */
			_exit(sonde_log_shutdown() == SONDE_OK ? 0 : 1);
#else
			sonde_logger *l = cycle_logger();
			atomic_store(&cycle_child_lines, 0);
			if (!l)
				_exit(2);
			LOG_INFO(l, "child");
			if (sonde_log_flush() != SONDE_OK || atomic_load(&cycle_child_lines) != 1)
				_exit(3);
			_exit(sonde_log_shutdown() == SONDE_OK ? 0 : 4);
#endif
		}
		/* bounded wait: a hung child fails the test, it does not hang it */
		for (waited = 0; waited < 10000; waited++) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				break;
			usleep(1000);
		}
		if (waited == 10000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			FAIL("round %d: child hung", round);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "round %d: child status 0x%x\n", round, st);
			bad++;
		}
	}
	atomic_store(&cycle_stop, 1);
	pthread_join(t, NULL);
	ASSERT_EQ_INT(bad, 0);
	sonde_log_sink_free(cycle_sink);
	ASSERT_OK(sonde_log_shutdown());
}

/* ---- mixed stress --------------------------------------------------------------------- */

#define MIX_THREADS 4
#define MIX_ITERS 4000

static sonde_family *mfam;
static sonde_logger *mlog;
static _Atomic int mix_stop;
static _Atomic long mix_logged;

static void *mix_worker(void *arg)
{
	long id = (long)arg;
	char v[32];
	int i;

	for (i = 0; i < MIX_ITERS; i++) {
		snprintf(v, sizeof(v), "tmp-%ld-%d", id, i % 20);
		sonde_counter_inc(sonde_counter_with(mfam, v));
		if (i % 5 == 0) {
			int rc = sonde_family_remove(mfam, 1, (const char *[]){v}, NULL);
			if (rc != SONDE_OK && rc != SONDE_ENOENT)
				FAIL("remove: %s", sonde_last_error());
		}
		snprintf(v, sizeof(v), "keep-%ld", id);
		sonde_counter_inc(sonde_counter_with(mfam, v));
		LOG_INFO(mlog, "work", LOG_INT("i", i));
		atomic_fetch_add(&mix_logged, 1);
	}
	return NULL;
}

static void *mix_scraper(void *arg)
{
	sonde_buf b = SONDE_BUF_INIT;
	sonde_registry *r = arg;
	while (!atomic_load(&mix_stop)) {
		if (sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b) != SONDE_OK)
			FAIL("expose: %s", sonde_last_error());
	}
	sonde_buf_destroy(&b);
	return NULL;
}

static void *mix_leveler(void *arg)
{
	int k = 0;
	(void)arg;
	while (!atomic_load(&mix_stop)) {
		sonde_logger_set_level(mlog,
		                       (k++ & 1) ? SONDE_LOG_LEVEL_INFO : SONDE_LOG_LEVEL_ERROR);
		usleep(200);
	}
	sonde_logger_set_level(mlog, SONDE_LOG_LEVEL_INFO);
	return NULL;
}

/* Counts lines per level: ctx is an int[6]. */
static int count_by_level(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)line;
	(void)len;
	if ((unsigned)level < 6)
		__atomic_fetch_add(&((int *)ctx)[level], 1, __ATOMIC_RELAXED);
	return 0;
}

TEST_TIMEOUT(fault_mixed_stress_exact_totals, 120)
{
	static int lines[6];
	sonde_registry *r = sonde_registry_new();
	const char *l[] = {"k"};
	sonde_log_sink *s = sonde_log_sink_callback(count_by_level, lines, NULL);
	sonde_log_opts o;
	pthread_t w[MIX_THREADS], sc, lv;
	sonde_log_stats st;
	char v[32];
	long i;

	mfam = sonde_counter_family_new(r, "mix_total", "Mix.", 1, l);
	sonde_log_opts_init(&o, "mix");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	mlog = sonde_logger_new(&o);
	ASSERT_NOT_NULL(mlog);
	pthread_create(&sc, NULL, mix_scraper, r);
	pthread_create(&lv, NULL, mix_leveler, NULL);
	for (i = 0; i < MIX_THREADS; i++)
		pthread_create(&w[i], NULL, mix_worker, (void *)i);
	for (i = 0; i < MIX_THREADS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&mix_stop, 1);
	pthread_join(sc, NULL);
	pthread_join(lv, NULL);
	for (i = 0; i < MIX_THREADS; i++) {
		snprintf(v, sizeof(v), "keep-%ld", i);
		ASSERT_EQ_DBL(sonde_counter_value(sonde_counter_with(mfam, v)), MIX_ITERS);
	}
	ASSERT_OK(sonde_log_flush());
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ASSERT_OK(sonde_log_stats_get(&st));
	/* exact accounting, level by level: the sink saw every record the
	 * logger wrote (the WARN lines are the logger's own drop notices,
	 * emitted when the ring was full), and written + dropped never
	 * exceeds what was emitted */
	for (i = 0; i < 6; i++)
		ASSERT_EQ_U64((uint64_t)__atomic_load_n(&lines[i], __ATOMIC_RELAXED),
		              st.written[i]);
	ASSERT_TRUE((long)st.written[SONDE_LOG_LEVEL_INFO] + (long)st.dropped <=
	            atomic_load(&mix_logged));
	ASSERT_TRUE(__atomic_load_n(&lines[SONDE_LOG_LEVEL_INFO], __ATOMIC_RELAXED) > 0);
	/* a drop notice appears only when something was dropped */
	if (!st.dropped)
		ASSERT_EQ_U64(st.written[SONDE_LOG_LEVEL_WARN], 0);
	sonde_logger_free(mlog);
	sonde_log_sink_free(s);
	ASSERT_OK(sonde_log_shutdown());
	sonde_registry_free(r);
}
