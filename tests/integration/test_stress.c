/* tests/integration/test_stress.c - many threads, exact totals, concurrent scrapes,
 * removal under load. Run under TSan by make test-tsan. */
#include <pthread.h>

#include "metrics/metrics-int.h"
#include "test.h"

#define NT 8
#define ITERS 200000

static sonde_registry *sreg;
static sonde_counter *shared_c;
static sonde_histogram *shared_h;
static sonde_family *sfam;
static _Atomic int stop_scrape;

static void *adder(void *arg)
{
	long id = (long)arg;
	int i;
	sonde_counter *mine;
	char v[32];

	snprintf(v, sizeof(v), "t%ld", id);
	mine = sonde_counter_with(sfam, v);
	for (i = 0; i < ITERS; i++) {
		sonde_counter_inc(shared_c);
		sonde_counter_add(shared_c, (double)id); /* known amounts */
		sonde_histogram_observe(shared_h, (double)(i % 4));
		sonde_counter_inc(mine);
		if ((i & 4095) == 0)
			sonde_counter_inc(sonde_counter_with(sfam, v)); /* lookup path too */
	}
	return NULL;
}

static void *scraper(void *arg)
{
	sonde_buf b = SONDE_BUF_INIT;
	(void)arg;
	while (!atomic_load(&stop_scrape)) {
		if (sonde_expose(sreg, SONDE_FORMAT_TEXT, &b) != SONDE_OK)
			FAIL("expose failed: %s", sonde_last_error());
		/* +Inf equals _count in every snapshot */
		{
			const char *inf = strstr(b.data, "st_hist_bucket{le=\"+Inf\"} ");
			const char *cnt = strstr(b.data, "st_hist_count ");
			if (inf && cnt &&
			    strtoull(inf + 26, NULL, 10) != strtoull(cnt + 14, NULL, 10))
				FAIL("+Inf bucket differs from _count");
		}
	}
	sonde_buf_destroy(&b);
	return NULL;
}

TEST_TIMEOUT(stress_threads_exact_totals, 120)
{
	pthread_t t[NT], s;
	const char *l[] = {"thread"};
	const double bounds[] = {0.5, 1.5, 2.5};
	long i;
	double want_add = 0;
	char v[32];

	sreg = sonde_registry_new();
	shared_c = sonde_counter_new(sreg, "st_total", "Stress.");
	shared_h = sonde_histogram_new(sreg, "st_hist", "Stress.", bounds, 3);
	sfam = sonde_counter_family_new(sreg, "st_per_thread_total", "Per thread.", 1, l);
	pthread_create(&s, NULL, scraper, NULL);
	for (i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, adder, (void *)i);
	for (i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop_scrape, 1);
	pthread_join(s, NULL);
	/* the threads have exited: their cells were folded, nothing lost */
	for (i = 0; i < NT; i++)
		want_add += (double)i * ITERS;
	ASSERT_EQ_DBL(sonde_counter_value(shared_c), (double)NT * ITERS + want_add);
	ASSERT_EQ_U64(sonde_histogram_count(shared_h), (uint64_t)NT * ITERS);
	ASSERT_EQ_U64(sonde_histogram_bucket(shared_h, 0), (uint64_t)NT * ITERS / 4);
	ASSERT_EQ_DBL(sonde_histogram_sum(shared_h), (double)NT * (ITERS / 4) * (0 + 1 + 2 + 3));
	for (i = 0; i < NT; i++) {
		snprintf(v, sizeof(v), "t%ld", i);
		ASSERT_EQ_DBL(sonde_counter_value(sonde_counter_with(sfam, v)),
		              ITERS + (ITERS + 4095) / 4096);
	}
	sonde_registry_free(sreg);
}

/* Children created, incremented and removed by many threads while one
 * scrapes: no crash, no race (TSan), and the kept children exact. */
static void *churner(void *arg)
{
	long id = (long)arg;
	char v[32];
	int i;

	for (i = 0; i < 3000; i++) {
		sonde_counter *c;
		snprintf(v, sizeof(v), "c%ld-%d", id, i % 50);
		c = sonde_counter_with(sfam, v);
		sonde_counter_inc(c);
		if (i % 7 == 0)
			if (sonde_family_remove(sfam, 1, (const char *[]){v}, NULL) != SONDE_OK &&
			    sonde_last_status() != SONDE_ENOENT)
				FAIL("remove: %s", sonde_last_error());
		sonde_counter_inc(c); /* maybe through a removed handle */
		snprintf(v, sizeof(v), "keep%ld", id);
		sonde_counter_inc(sonde_counter_with(sfam, v));
	}
	return NULL;
}

TEST_TIMEOUT(stress_create_remove_while_scraping, 120)
{
	pthread_t t[4], s;
	const char *l[] = {"k"};
	long i;
	char v[32];

	sonde__cells_grace_ms = 1; /* exercise reuse under load */
	sreg = sonde_registry_new();
	sfam = sonde_counter_family_new(sreg, "churn_total", "Churn.", 1, l);
	atomic_store(&stop_scrape, 0);
	pthread_create(&s, NULL, scraper, NULL);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churner, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop_scrape, 1);
	pthread_join(s, NULL);
	for (i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), "keep%ld", i);
		ASSERT_EQ_DBL(sonde_counter_value(sonde_counter_with(sfam, v)), 3000);
	}
	sonde_registry_free(sreg);
}

static void *gauge_worker(void *arg)
{
	sonde_gauge *g = arg;
	int i;
	for (i = 0; i < 100000; i++) {
		sonde_gauge_inc(g);
		sonde_gauge_dec(g);
		sonde_gauge_add(g, 1);
	}
	return NULL;
}

TEST_TIMEOUT(stress_gauge_atomic_adds, 60)
{
	sonde_registry *r = sonde_registry_new();
	sonde_gauge *g = sonde_gauge_new(r, "gg", "G.");
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, gauge_worker, g);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ_DBL(sonde_gauge_value(g), 400000);
	sonde_registry_free(r);
}
