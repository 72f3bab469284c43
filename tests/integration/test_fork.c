/* tests/integration/test_fork.c - a fork at any moment leaves the child
 * every lock free: registries, families, summaries, METRIC_DEFINE
 * resolution, the process collector, the cells, health objects. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

static volatile int stop;
static pthread_t load_thread;

/* Waits for the child of round; a child still running after 10 s hung on
 * a lock held across the fork: it is killed and the test fails. */
static void wait_child(pid_t pid, int round, const char *what)
{
	int st = 0, waited;

	for (waited = 0; waited < 10000; waited++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	if (waited == 10000) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
		pthread_join(load_thread, NULL);
		FAIL("round %d: the child hung on %s held across fork", round, what);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL("round %d: the child failed (status 0x%x)", round, st);
}
static sonde_family *fam, *sfam;

/* Keeps some metrics lock held most of the time: scrapes of the default
 * registry (its lock, every family's, the collector's, the cells'),
 * child creation and removal, summaries, a registry made and freed. */
static void *churn(void *arg)
{
	sonde_buf b = SONDE_BUF_INIT;
	char v[32];
	unsigned i = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		const char *vals[1] = {v};
		sonde_registry *r = sonde_registry_new();
		snprintf(v, sizeof(v), "%u", i++ % 64);
		sonde_counter_inc(sonde_counter_labels(fam, 1, vals, NULL));
		sonde_summary_observe(sonde_summary_labels(sfam, 1, vals, NULL), 1.5);
		if (i % 3 == 0)
			if (sonde_family_remove(fam, 1, vals, NULL)) {
			}
		if (sonde_expose(NULL, SONDE_FORMAT_OPENMETRICS, &b)) {
		}
		sonde_counter_inc(sonde_counter_new(r, "tmp_total", "T."));
		sonde_registry_free(r);
	}
	sonde_buf_destroy(&b);
	return NULL;
}

/* The child: every kind of metrics call that takes a lock. */
static int child_work(void)
{
	const char *vals[1] = {"from-child"};
	sonde_buf b = SONDE_BUF_INIT;
	sonde_registry *r = sonde_registry_new();
	int ok = 1;

	ok &= sonde_counter_labels(fam, 1, vals, NULL) != NULL;
	ok &= sonde_summary_labels(sfam, 1, vals, NULL) != NULL;
	ok &= sonde_family_remove(fam, 1, vals, NULL) == SONDE_OK;
	ok &= sonde_expose(NULL, SONDE_FORMAT_OPENMETRICS, &b) == SONDE_OK;
	ok &= sonde_counter_new(r, "child_total", "C.") != NULL;
	sonde_registry_free(r);
	sonde_buf_destroy(&b);
	return ok;
}

/* Issue 13.3 (metrics side): a fork while another thread scraped the
 * default registry could leave a family mutex held, and the child hung on
 * its first call that took it (a sink creation, a new child, a scrape). */
TEST_TIMEOUT(fork_during_scrapes_and_child_churn_never_hangs_the_child, 120)
{
	static const char *const l[] = {"k"};
	int round;

	fam = sonde_counter_family_new(NULL, "forkt_total", "F.", 1, l);
	sfam = sonde_summary_family_new(NULL, "forkt_sum", "S.", 1, l);
	ASSERT_NOT_NULL(fam);
	ASSERT_NOT_NULL(sfam);
	ASSERT_EQ_INT(pthread_create(&load_thread, NULL, churn, NULL), 0);
	for (round = 0; round < 200; round++) {
		pid_t pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0)
			_exit(child_work() ? 0 : 1);
		wait_child(pid, round, "a metrics lock");
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ_INT(pthread_join(load_thread, NULL), 0);
}

static sonde_health *fh;

static sonde_health_result quick_check(void *user, char *msg, size_t cap)
{
	(void)user;
	(void)msg;
	(void)cap;
	return SONDE_HEALTH_PASS;
}

static void *evaluate_loop(void *arg)
{
	sonde_buf b = SONDE_BUF_INIT;
	int i = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (sonde_health_evaluate(fh, SONDE_HEALTH_READINESS, &b, NULL) < 0)
			break;
		if (++i % 50 == 0)
			sonde_buf_reset(&b);
	}
	sonde_buf_destroy(&b);
	return NULL;
}

/* The same for health objects: a fork while a check run records its
 * result left the child the object's mutex held. */
TEST_TIMEOUT(fork_during_health_evaluations_never_hangs_the_child, 120)
{
	sonde_health_opts o;
	sonde_health_check_opts c;
	int round;

	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	sonde_health_opts_init(&o);
	fh = sonde_health_new(&o);
	ASSERT_NOT_NULL(fh);
	sonde_health_check_opts_init(&c, "quick", quick_check, NULL);
	ASSERT_OK(sonde_health_add_check(fh, &c));
	ASSERT_EQ_INT(pthread_create(&load_thread, NULL, evaluate_loop, NULL), 0);
	for (round = 0; round < 100; round++) {
		pid_t pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			/* takes the object's lock; starts no thread (TSan) */
			sonde_health_check_opts c2;
			sonde_health_check_opts_init(&c2, "child", quick_check, NULL);
			_exit(sonde_health_add_check(fh, &c2) == SONDE_OK ? 0 : 1);
		}
		wait_child(pid, round, "the health object's lock");
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ_INT(pthread_join(load_thread, NULL), 0);
	sonde_health_free(fh);
}
