/* tests/collectors/test_collectors.c - callback metrics and the process collector. */
#include <fcntl.h>
#include <unistd.h>

#include "metrics/metrics-int.h"
#include "test.h"

static double pool_size(void *user)
{
	return *(double *)user;
}

static sonde_counter *other;
static double reads_other(void *user)
{
	(void)user;
	/* a callback may read other metrics: no deadlock with the scrape */
	return sonde_counter_value(other) * 2;
}

static double bad_counter(void *user)
{
	return *(double *)user;
}

TEST(collectors_callback_gauge_and_counter)
{
	sonde_registry *r = sonde_registry_new();
	sonde_buf b = SONDE_BUF_INIT;
	double size = 7, bad = -3;
	const char *l[] = {"pool"};
	sonde_family *fam;
	sonde_self_stats a, z;

	ASSERT_NOT_NULL(sonde_gauge_func_new(r, "pool_size", "Pool size.", pool_size, &size));
	other = sonde_counter_new(r, "other_total", "Other.");
	sonde_counter_add(other, 21);
	ASSERT_NOT_NULL(sonde_counter_func_new(r, "derived_total", "Derived.", reads_other, NULL));
	fam = sonde_gauge_family_new(r, "pools", "Pools.", 1, l);
	ASSERT_OK(sonde_family_add_func(fam, 1, (const char *[]){"db"}, NULL, pool_size, &size));
	ASSERT_EQ_INT(sonde_family_add_func(fam, 1, (const char *[]){"db"}, NULL, pool_size, &size),
	              SONDE_EEXIST);
	ASSERT_EQ_INT(sonde_family_add_func(fam, 1, (const char *[]){"x"}, NULL, NULL, NULL),
	              SONDE_EINVAL);
	ASSERT_EQ_INT(
	        sonde_family_add_func(fam, 2, (const char *[]){"x", "y"}, NULL, pool_size, &size),
	        SONDE_EINVAL);
	ASSERT_NULL(sonde_gauge_func_new(r, "nofn", "x", NULL, NULL));
	/* a callback family is never "identical": a second one is a clash */
	ASSERT_NULL(sonde_gauge_func_new(r, "pool_size", "Pool size.", pool_size, &size));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	ASSERT_NOT_NULL(sonde_counter_func_new(r, "bad_total", "Bad.", bad_counter, &bad));

	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "pool_size 7\n");
	ASSERT_CONTAINS(b.data, "derived_total 42\n");
	ASSERT_CONTAINS(b.data, "pools{pool=\"db\"} 7\n");
	size = 9.5;
	sonde_self_stats_get(&a);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b));
	sonde_self_stats_get(&z);
	ASSERT_CONTAINS(b.data, "pool_size 9.5\n");
	ASSERT_CONTAINS(b.data,
	                "# TYPE derived counter\n# HELP derived Derived.\nderived_total 42\n");
	ASSERT_NOT_CONTAINS(b.data, "derived_created"); /* no creation time for callbacks */
	ASSERT_CONTAINS(b.data, "bad_total 0\n");       /* a negative counter is exposed as 0 */
	ASSERT_EQ_U64(z.counter_negative - a.counter_negative, 1);
	ASSERT_EQ_DBL(sonde_gauge_value((sonde_gauge *)sonde_registry_find(r, "pool_size")->head),
	              9.5);
	/* find */
	ASSERT_NULL(sonde_registry_find(r, "nope"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ENOENT);
	ASSERT_NULL(sonde_registry_find(r, NULL));
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

static double value_of(const char *text, const char *name)
{
	char key[128];
	const char *p;
	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(text, key);
	if (!p)
		FAIL("%s not in exposition", name);
	return strtod(p + strlen(key), NULL);
}

TEST(collectors_process_metrics)
{
	sonde_buf b = SONDE_BUF_INIT;
	sonde_registry *r = sonde_registry_new();
	double t0 = (double)sonde_now_unix_ns() / 1e9;
	int fds[8], i;
	double open1, open2;
	volatile double spin = 0;

	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "# TYPE process_cpu_seconds_total counter\n");
	ASSERT_TRUE(value_of(b.data, "process_resident_memory_bytes") > 100000);
	ASSERT_TRUE(value_of(b.data, "process_virtual_memory_bytes") >=
	            value_of(b.data, "process_resident_memory_bytes"));
	ASSERT_TRUE(value_of(b.data, "process_max_fds") >= 64);
	ASSERT_TRUE(value_of(b.data, "process_threads") >= 1);
	/* started within the last hour of this test's clock */
	ASSERT_TRUE(value_of(b.data, "process_start_time_seconds") <= t0 + 1);
	ASSERT_TRUE(value_of(b.data, "process_start_time_seconds") > t0 - 3600);
	open1 = value_of(b.data, "process_open_fds");
	for (i = 0; i < 8; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	for (i = 0; i < 30000000; i++)
		spin += i; /* some CPU time */
	ASSERT_TRUE(spin > 0);
	usleep(120000); /* past the 100 ms cache */
	ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &b));
	open2 = value_of(b.data, "process_open_fds");
	ASSERT_EQ_DBL(open2 - open1, 8);
	ASSERT_TRUE(value_of(b.data, "process_cpu_seconds_total") > 0);
	for (i = 0; i < 8; i++)
		close(fds[i]);
	/* other registries on demand, and removable */
	ASSERT_OK(sonde_process_collector_register(r));
	ASSERT_EQ_INT(sonde_process_collector_register(r), SONDE_EEXIST);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "process_threads ");
	ASSERT_OK(sonde_process_collector_unregister(r));
	ASSERT_EQ_INT(sonde_process_collector_unregister(r), SONDE_ENOENT);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_NOT_CONTAINS(b.data, "process_");
	/* the output with process metrics passes promtool */
	if (sonde_test_have("promtool")) {
		const char *argv[] = {"promtool", "check", "metrics", NULL};
		char *out = NULL;
		ASSERT_OK(sonde_expose(NULL, SONDE_FORMAT_TEXT, &b));
		if (sonde_test_run(argv, sonde_test_tmpfile(0, b.data, b.len), &out) != 0)
			FAIL("promtool: %s\n%s", out, b.data);
		free(out);
	}
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}
