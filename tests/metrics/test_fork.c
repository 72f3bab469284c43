/* tests/metrics/test_fork.c - a fork at any moment leaves the child every
 * metrics lock free: registries, families, summaries, METRIC_DEFINE
 * resolution, the process collector, the cells. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

static volatile int stop;
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
	pthread_t t;
	int round;

	fam = sonde_counter_family_new(NULL, "forkt_total", "F.", 1, l);
	sfam = sonde_summary_family_new(NULL, "forkt_sum", "S.", 1, l);
	ASSERT_NOT_NULL(fam);
	ASSERT_NOT_NULL(sfam);
	ASSERT_EQ_INT(pthread_create(&t, NULL, churn, NULL), 0);
	for (round = 0; round < 200; round++) {
		pid_t pid = fork();
		int st = 0, waited;
		ASSERT_TRUE(pid >= 0);
		if (pid == 0)
			_exit(child_work() ? 0 : 1);
		/* a hung child is killed after 10 s and fails the test */
		for (waited = 0; waited < 10000; waited++) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				break;
			usleep(1000);
		}
		if (waited == 10000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
			pthread_join(t, NULL);
			FAIL("round %d: the child hung on a lock held across fork", round);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			FAIL("round %d: the child failed (status 0x%x)", round, st);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ_INT(pthread_join(t, NULL), 0);
}
