/* tests/metrics/test_cells.c - the per-thread cell pages and the run
 * allocator under allocation failure and churn. */
#include <pthread.h>

#include "metrics/metrics-int.h"
#include "test.h"

/* An allocator that scribbles over what it frees (so a read through a
 * freed pointer finds garbage even without ASan) and can fail the page
 * allocation (512 cells) that follows a directory growth. */
static int arm_page_failure, dir_grown, page_failures;

static void *s_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}
static void *s_calloc(void *ctx, size_t c, size_t n)
{
	(void)ctx;
	if (arm_page_failure && n == sizeof(sonde__cell_t) && c >= 16 && c < SONDE_PAGE_CELLS)
		dir_grown = 1; /* a directory of 16 pages or more */
	else if (dir_grown && c == SONDE_PAGE_CELLS && n == sizeof(sonde__cell_t)) {
		dir_grown = 0;
		arm_page_failure = 0;
		page_failures++;
		return NULL;
	}
	return calloc(c, n);
}
static void *s_realloc(void *ctx, void *p, size_t o, size_t n)
{
	(void)ctx;
	(void)o;
	return realloc(p, n);
}
static void s_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (p)
		memset(p, 0xa5, n);
	free(p);
}

static sonde_counter *counters[8 * SONDE_PAGE_CELLS];

static void *late_thread(void *arg)
{
	sonde_counter *first = counters[0], *far = arg;
	int i;

	sonde_counter_inc(first); /* this thread's directory: 8 pages */
	arm_page_failure = 1;
	sonde_counter_inc(far); /* grows the directory, then the page fails */
	for (i = 0; i < 1000; i++)
		sonde_counter_inc(first); /* inlined: through the thread's directory */
	return NULL;
}

/* Issue 13.1: a directory growth followed by a failed page allocation
 * left the thread-local directory pointing at the freed array. */
TEST(cells_failed_page_after_directory_growth_keeps_hot_path_valid)
{
	sonde_allocator a = {sizeof(a), s_malloc, s_calloc, s_realloc, s_free, NULL};
	sonde_registry *r;
	pthread_t t;
	size_t i, far = 0;
	char name[32];

	ASSERT_OK(sonde_set_allocator(&a));
	r = sonde_registry_new();
	ASSERT_TRUE(r != NULL);
	/* enough counters (2 cells each) to reach past page 8 */
	for (i = 0; i < SONDE_ARRAY_LEN(counters); i++) {
		snprintf(name, sizeof(name), "c%zu_total", i);
		counters[i] = sonde_counter_new(r, name, "h");
		ASSERT_TRUE(counters[i] != NULL);
		if (!far && (sonde__load_relaxed(&counters[i]->c.cell) >> SONDE_PAGE_SHIFT) >= 8)
			far = i;
	}
	ASSERT_TRUE(far != 0);
	ASSERT_EQ_INT(pthread_create(&t, NULL, late_thread, counters[far]), 0);
	ASSERT_EQ_INT(pthread_join(t, NULL), 0);
	ASSERT_EQ_INT(page_failures, 1);
	ASSERT_TRUE(sonde_counter_value(counters[0]) == 1001);
	ASSERT_TRUE(sonde_counter_value(counters[far]) == 0); /* the lost write */
	sonde_registry_free(r);
}

/* Issue 13.6: freed runs were reused only by a request of exactly their
 * length, so small runs freed early could never serve larger ones and the
 * index space filled although few cells were live. */
TEST_TIMEOUT(cells_freed_runs_of_any_length_serve_later_requests, 120)
{
	static const uint8_t kinds[SONDE_PAGE_CELLS];
	uint32_t idx, *runs;
	size_t n = 0, i, cap = SONDE_CELLS_MAX / 2;
	int rc;

	sonde__cells_grace_ms = 0;
	runs = malloc(cap * sizeof(*runs));
	ASSERT_TRUE(runs != NULL);
	/* fill the whole index space with 2-cell runs, then free them all */
	while ((rc = sonde__cells_alloc(2, kinds, &idx)) == SONDE_OK && n < cap)
		runs[n++] = idx;
	ASSERT_EQ_INT(rc, SONDE_ELIMIT);
	ASSERT_TRUE(n > cap / 2);
	for (i = 0; i < n; i++)
		sonde__cells_free(runs[i], 2);
	/* nothing is live: runs of other lengths must fit again, as many as
	 * the space holds (a 42-cell run: a 40-bucket histogram) */
	for (i = 0; i < 2000; i++) {
		rc = sonde__cells_alloc(42, kinds, &idx);
		if (rc != SONDE_OK)
			FAIL("42-cell run %zu refused (%d) with no cell live", i, rc);
	}
	free(runs);
}

/* A steady state of at most 200 live histogram children of random sizes
 * (3 to 66 cells, first fit over merged free cells) runs for as long as it
 * likes: 128,000 children, about 4.3 M cells in all, more than the index
 * space holds. */
TEST_TIMEOUT(cells_bounded_live_children_never_exhaust, 300)
{
	static const char *const labels[] = {"id"};
	double bounds[64];
	sonde_registry *r = sonde_registry_new();
	sonde_family *fams[64];
	struct {
		sonde_family *f;
		char id[16];
	} live[200];
	size_t round, i;
	uint64_t rnd = 88172645463325252ull;
	char name[32];

	sonde__cells_grace_ms = 0;
	for (i = 0; i < 64; i++) {
		bounds[i] = (double)(i + 1);
		snprintf(name, sizeof(name), "h%zu", i);
		fams[i] = sonde_histogram_family_new(r, name, "h", bounds, i + 1, 1, labels);
		ASSERT_TRUE(fams[i] != NULL);
	}
	memset(live, 0, sizeof(live));
	for (round = 0; round < 128000; round++) {
		size_t slot = round % 200;
		const char *v[1];
		sonde_histogram *h;
		if (live[slot].f) {
			v[0] = live[slot].id;
			ASSERT_OK(sonde_family_remove(live[slot].f, 1, v, NULL));
		}
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		live[slot].f = fams[rnd % 64];
		snprintf(live[slot].id, sizeof(live[slot].id), "%zu", round);
		v[0] = live[slot].id;
		h = sonde_histogram_labels(live[slot].f, 1, v, NULL);
		if (!h)
			FAIL("round %zu: %s", round, sonde_last_error());
		sonde_histogram_observe(h, 1.5);
	}
	sonde_registry_free(r);
}

/* Unregistering a family gives its cells back: before, the only child of
 * an unlabelled family was moved to fresh cells that were never freed, so
 * registering and unregistering (a plugin reloaded, a test harness) ran
 * the index space out. 120,000 histograms of 42 cells are 5 M cells. */
TEST_TIMEOUT(cells_unregistered_families_give_their_cells_back, 300)
{
	static const double bounds[40] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
	                                  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	                                  29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40};
	sonde_registry *r = sonde_registry_new();
	char name[32];
	size_t i;

	sonde__cells_grace_ms = 0;
	for (i = 0; i < 120000; i++) {
		sonde_histogram *h;
		snprintf(name, sizeof(name), "h%zu", i);
		h = sonde_histogram_new(r, name, "h", bounds, 40);
		if (!h)
			FAIL("histogram %zu: %s", i, sonde_last_error());
		ASSERT_OK(sonde_registry_unregister(r, sonde_registry_find(r, name)));
		ASSERT_EQ_INT(sonde__load_relaxed(&h->c.cell), SONDE_CELL_TRASH);
		sonde_histogram_observe(h, 1); /* discarded, harmless */
	}
	sonde_registry_free(r);
}
