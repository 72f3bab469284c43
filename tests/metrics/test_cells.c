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
