/* tests/metrics/test_metrics.c - counters, gauges, histograms, families,
 * validation, removal, cardinality, macros. */
#include "metrics/cells.h"
#include "metrics/metrics-int.h"
#include "test.h"

static sonde_registry *reg(void)
{
	sonde_registry *r = sonde_registry_new();
	ASSERT_NOT_NULL(r);
	return r;
}

TEST(counter_inc_add_value)
{
	sonde_registry *r = reg();
	sonde_counter *c = sonde_counter_new(r, "a_total", "A.");

	ASSERT_NOT_NULL(c);
	sonde_counter_inc(c);
	sonde_counter_add(c, 2);
	sonde_counter_add(c, 0.5);
	sonde_counter_add_u64(c, 10);
	ASSERT_EQ_DBL(sonde_counter_value(c), 13.5);
	sonde_registry_free(r);
}

TEST(counter_rejects_negative_and_nan)
{
	sonde_registry *r = reg();
	sonde_counter *c = sonde_counter_new(r, "a_total", "A.");
	sonde_self_stats before, after;

	sonde_self_stats_get(&before);
	sonde_counter_add(c, -1);
	sonde_counter_add(c, NAN);
	sonde_counter_add(c, -INFINITY);
	sonde_self_stats_get(&after);
	ASSERT_EQ_DBL(sonde_counter_value(c), 0);
	ASSERT_EQ_U64(after.counter_negative - before.counter_negative, 2);
	ASSERT_EQ_U64(after.counter_nan - before.counter_nan, 1);
	/* +Inf is a legal counter value */
	sonde_counter_add(c, INFINITY);
	ASSERT_EQ_DBL(sonde_counter_value(c), INFINITY);
	sonde_registry_free(r);
}

TEST(counter_large_integer_adds_are_exact)
{
	sonde_registry *r = reg();
	sonde_counter *c = sonde_counter_new(r, "bytes_total", "Bytes.");
	int i;

	for (i = 0; i < 1000; i++)
		sonde_counter_add(c, 4294967296.0); /* 2^32 */
	sonde_counter_add(c, 1);
	ASSERT_EQ_DBL(sonde_counter_value(c), 4294967296000.0 + 1);
	sonde_registry_free(r);
}

TEST(null_handles_are_noops)
{
	sonde_counter_inc(NULL);
	sonde_counter_add(NULL, 1);
	sonde_counter_add_u64(NULL, 1);
	sonde_gauge_set(NULL, 1);
	sonde_gauge_add(NULL, 1);
	sonde_gauge_inc(NULL);
	sonde_gauge_dec(NULL);
	sonde_gauge_set_to_current_time(NULL);
	sonde_histogram_observe(NULL, 1);
	ASSERT_EQ_DBL(sonde_counter_value(NULL), 0);
	ASSERT_EQ_DBL(sonde_gauge_value(NULL), 0);
	ASSERT_EQ_U64(sonde_histogram_count(NULL), 0);
	ASSERT_EQ_INT(sonde_family_size(NULL), 0);
	ASSERT_NULL(sonde_family_name(NULL));
	sonde_family_clear(NULL);
	sonde_registry_free(NULL);
	sonde_metric_opts_init(NULL, SONDE_TYPE_COUNTER, "x", "y");
	sonde_self_stats_get(NULL);
	ASSERT_NULL(sonde_counter_with(NULL, "x"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_expose(NULL, SONDE_FORMAT_TEXT, NULL), SONDE_EINVAL);
}

TEST(gauge_ops)
{
	sonde_registry *r = reg();
	sonde_gauge *g = sonde_gauge_new(r, "temp", "T.");
	double t0 = (double)sonde_now_unix_ns() / 1e9;

	sonde_gauge_set(g, 5);
	sonde_gauge_inc(g);
	sonde_gauge_dec(g);
	sonde_gauge_dec(g);
	sonde_gauge_add(g, 0.25);
	sonde_gauge_sub(g, 1.25);
	ASSERT_EQ_DBL(sonde_gauge_value(g), 3);
	sonde_gauge_set(g, NAN);
	ASSERT_TRUE(isnan(sonde_gauge_value(g)));
	sonde_gauge_set_to_current_time(g);
	ASSERT_TRUE(sonde_gauge_value(g) >= t0 && sonde_gauge_value(g) < t0 + 60);
	sonde_registry_free(r);
}

TEST(histogram_buckets_sum_count)
{
	sonde_registry *r = reg();
	const double b[] = {1, 2, 5};
	sonde_histogram *h = sonde_histogram_new(r, "lat_seconds", "L.", b, 3);

	ASSERT_NOT_NULL(h);
	sonde_histogram_observe(h, 0.5); /* le 1 */
	sonde_histogram_observe(h, 1);   /* le 1: bounds are inclusive */
	sonde_histogram_observe(h, 1.5); /* le 2 */
	sonde_histogram_observe(h, 7);   /* +Inf */
	sonde_histogram_observe(h, 0);   /* le 1 */
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 0), 3);
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 1), 4);
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 2), 4);
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 3), 5);
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 4), 0);
	ASSERT_EQ_U64(sonde_histogram_count(h), 5);
	ASSERT_EQ_DBL(sonde_histogram_sum(h), 10);
	sonde_registry_free(r);
}

TEST(histogram_many_bounds_binary_search)
{
	sonde_registry *r = reg();
	double b[100];
	sonde_histogram *h;
	int i;

	ASSERT_OK(sonde_buckets_linear(1, 1, 100, b));
	h = sonde_histogram_new(r, "big", "B.", b, 100);
	for (i = 0; i <= 101; i++)
		sonde_histogram_observe(h, i);
	/* bucket k (bound k+1) holds every i <= k+1 */
	for (i = 0; i < 100; i++)
		ASSERT_EQ_U64(sonde_histogram_bucket(h, (size_t)i), (uint64_t)i + 2);
	ASSERT_EQ_U64(sonde_histogram_count(h), 102);
	sonde_registry_free(r);
}

/* Every bound count from 1 to 20 (odd ones use the +Inf padding of the
 * pairwise search; past 16, the binary search): a value on a bound lands
 * in that bucket, one just above it in the next, infinities at the ends. */
TEST(histogram_bucket_choice_every_bound_count)
{
	sonde_registry *r = reg();
	double b[20];
	char name[32];
	size_t nb, i;

	for (nb = 1; nb <= 20; nb++) {
		sonde_histogram *h;

		for (i = 0; i < nb; i++)
			b[i] = (double)i * 1.5 - 3; /* negatives, zero, positives */
		snprintf(name, sizeof(name), "h%zu", nb);
		h = sonde_histogram_new(r, name, "H.", b, nb);
		ASSERT_NOT_NULL(h);
		sonde_histogram_observe(h, -INFINITY);
		for (i = 0; i < nb; i++) {
			sonde_histogram_observe(h, b[i]);
			sonde_histogram_observe(h, nextafter(b[i], INFINITY));
		}
		sonde_histogram_observe(h, INFINITY);
		/* cumulative: bucket k holds -Inf, b[0..k] and the k values just
		 * above b[0..k-1] */
		for (i = 0; i < nb; i++)
			ASSERT_EQ_U64(sonde_histogram_bucket(h, i), 2 * (uint64_t)i + 2);
		ASSERT_EQ_U64(sonde_histogram_bucket(h, nb), 2 * (uint64_t)nb + 2);
		ASSERT_EQ_U64(sonde_histogram_count(h), 2 * (uint64_t)nb + 2);
	}
	sonde_registry_free(r);
}

TEST(histogram_nan_dropped_and_counted)
{
	sonde_registry *r = reg();
	sonde_histogram *h = sonde_histogram_new(r, "h", "H.", NULL, 0);
	sonde_self_stats a, b;

	sonde_self_stats_get(&a);
	sonde_histogram_observe(h, NAN);
	sonde_histogram_observe(h, INFINITY);
	sonde_self_stats_get(&b);
	ASSERT_EQ_U64(b.histogram_nan - a.histogram_nan, 1);
	ASSERT_EQ_U64(sonde_histogram_count(h), 1);
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 10), 0); /* 10 is the last default bound */
	ASSERT_EQ_U64(sonde_histogram_bucket(h, 11), 1); /* +Inf */
	sonde_registry_free(r);
}

TEST(bucket_helpers_and_validation)
{
	double b[4];
	sonde_registry *r = reg();
	const double bad1[] = {1, 1};
	const double bad2[] = {2, 1};
	const double bad3[] = {1, NAN};
	const double inf_last[] = {1, 2, INFINITY};

	ASSERT_OK(sonde_buckets_exponential(1, 2, 4, b));
	ASSERT_EQ_DBL(b[3], 8);
	ASSERT_OK(sonde_buckets_linear(-1, 0.5, 4, b));
	ASSERT_EQ_DBL(b[3], 0.5);
	ASSERT_EQ_INT(sonde_buckets_linear(0, 0, 3, b), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_buckets_exponential(0, 2, 3, b), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_buckets_exponential(1, 1, 3, b), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_buckets_exponential(1, 2, 0, b), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_buckets_exponential(1, 2, 3, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_buckets_exponential(1e300, 1e10, 3, b), SONDE_EINVAL);
	ASSERT_NULL(sonde_histogram_new(r, "h1", "", bad1, 2));
	ASSERT_CONTAINS(sonde_last_error(), "strictly increasing");
	ASSERT_NULL(sonde_histogram_new(r, "h2", "", bad2, 2));
	ASSERT_NULL(sonde_histogram_new(r, "h3", "", bad3, 2));
	ASSERT_CONTAINS(sonde_last_error(), "not finite");
	ASSERT_NULL(sonde_histogram_new(r, "h4", "", NULL, 3));
	ASSERT_NOT_NULL(sonde_histogram_new(r, "h5", "", inf_last, 3)); /* +Inf implied */
	sonde_registry_free(r);
}

TEST(name_validation)
{
	sonde_registry *r = reg();
	const char *ok_labels[] = {"method", "_x", "a1"};
	const char *reserved[] = {"__name"};
	const char *le[] = {"le"};
	const char *dup[] = {"a", "a"};
	const char *bad[] = {"1a"};
	const char *dash[] = {"a-b"};

	ASSERT_NOT_NULL(sonde_counter_new(r, "ns:sub_total", "ok"));
	ASSERT_NOT_NULL(sonde_counter_new(r, "_private", "ok"));
	ASSERT_NULL(sonde_counter_new(r, "", "x"));
	ASSERT_NULL(sonde_counter_new(r, NULL, "x"));
	ASSERT_NULL(sonde_counter_new(r, "1abc", "x"));
	ASSERT_NULL(sonde_counter_new(r, "a-b", "x"));
	ASSERT_NULL(sonde_counter_new(r, "caf\xc3\xa9", "x"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_NOT_NULL(sonde_counter_family_new(r, "f_total", "", 3, ok_labels));
	ASSERT_NULL(sonde_counter_family_new(r, "g1", "", 1, reserved));
	ASSERT_CONTAINS(sonde_last_error(), "reserved");
	ASSERT_NULL(sonde_histogram_family_new(r, "g2", "", NULL, 0, 1, le));
	ASSERT_CONTAINS(sonde_last_error(), "le");
	ASSERT_NOT_NULL(sonde_counter_family_new(r, "g3_total", "", 1, le)); /* fine elsewhere */
	ASSERT_NULL(sonde_counter_family_new(r, "g4", "", 2, dup));
	ASSERT_CONTAINS(sonde_last_error(), "twice");
	ASSERT_NULL(sonde_counter_family_new(r, "g5", "", 1, bad));
	ASSERT_NULL(sonde_counter_family_new(r, "g6", "", 1, dash));
	ASSERT_NULL(sonde_counter_family_new(r, "g7", "", 1, NULL));
	ASSERT_NULL(sonde_counter_family_new(r, "g8", "", 33, ok_labels));
	sonde_registry_free(r);
}

TEST(opts_validation)
{
	sonde_registry *r = reg();
	sonde_metric_opts o;
	char help[SONDE_HELP_MAX + 2];

	ASSERT_NULL(sonde_family_new(r, NULL));
	sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, "x_total", "x");
	o.size = 8;
	ASSERT_NULL(sonde_family_new(r, &o));
	ASSERT_CONTAINS(sonde_last_error(), "size");
	sonde_metric_opts_init(&o, (sonde_metric_type)99, "x_total", "x");
	ASSERT_NULL(sonde_family_new(r, &o));
	sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, "x_total", help);
	memset(help, 'h', sizeof(help) - 1);
	help[sizeof(help) - 1] = '\0';
	ASSERT_NULL(sonde_family_new(r, &o));
	ASSERT_CONTAINS(sonde_last_error(), "help");
	sonde_metric_opts_init(&o, SONDE_TYPE_GAUGE, "g", "x");
	o.bucket_count = 2;
	ASSERT_NULL(sonde_family_new(r, &o));
	sonde_metric_opts_init(&o, SONDE_TYPE_GAUGE, "g", "x");
	o.unit = "sec-onds";
	ASSERT_NULL(sonde_family_new(r, &o));
	sonde_registry_free(r);
}

TEST(duplicate_registration)
{
	sonde_registry *r = reg();
	const char *l1[] = {"a"};
	const char *l2[] = {"b"};
	sonde_family *f = sonde_counter_family_new(r, "d_total", "D.", 1, l1);

	ASSERT_NOT_NULL(f);
	/* identical definition: the same family back */
	ASSERT_TRUE(sonde_counter_family_new(r, "d_total", "D.", 1, l1) == f);
	ASSERT_NULL(sonde_counter_family_new(r, "d_total", "D.", 1, l2));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	ASSERT_NULL(sonde_counter_family_new(r, "d_total", "other help", 1, l1));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	ASSERT_NULL(sonde_gauge_family_new(r, "d_total", "D.", 1, l1));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	/* sample-name clashes: histogram lat -> lat_count */
	ASSERT_NOT_NULL(sonde_histogram_new(r, "lat", "L.", NULL, 0));
	ASSERT_NULL(sonde_gauge_new(r, "lat_count", "x"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
	ASSERT_NOT_NULL(sonde_gauge_new(r, "foo_bucket", "x"));
	ASSERT_NULL(sonde_histogram_new(r, "foo", "x", NULL, 0));
	/* same counter handle twice */
	ASSERT_TRUE(sonde_counter_new(r, "same_total", "s") ==
	            sonde_counter_new(r, "same_total", "s"));
	/* a name in another registry is independent */
	{
		sonde_registry *r2 = reg();
		ASSERT_NOT_NULL(sonde_gauge_family_new(r2, "d_total", "D.", 1, l2));
		sonde_registry_free(r2);
	}
	sonde_registry_free(r);
}

TEST(family_children_by_label_values)
{
	sonde_registry *r = reg();
	const char *l[] = {"method", "code"};
	sonde_family *f = sonde_counter_family_new(r, "req_total", "R.", 2, l);
	sonde_counter *a = sonde_counter_with(f, "GET", "200");
	sonde_counter *b = sonde_counter_with(f, "GET", "500");
	const char *vals[] = {"GET", "200"};
	const char *bin[] = {"a\0b", "c"};
	const size_t binlen[] = {3, 1};
	const char *bin2[] = {"a\0c", "c"};

	ASSERT_NOT_NULL(a);
	ASSERT_TRUE(a != b);
	ASSERT_TRUE(sonde_counter_with(f, "GET", "200") == a);
	ASSERT_TRUE(sonde_counter_labels(f, 2, vals, NULL) == a);
	/* values are bytes with lengths: embedded NULs are distinct values */
	ASSERT_TRUE(sonde_counter_labels(f, 2, bin, binlen) !=
	            sonde_counter_labels(f, 2, bin2, binlen));
	/* ("ab","c") and ("a","bc") must not collide (prom-client's bug) */
	ASSERT_TRUE(sonde_counter_with(f, "ab", "c") != sonde_counter_with(f, "a", "bc"));
	ASSERT_EQ_INT(sonde_family_size(f), 6);
	/* wrong number of values, NULL values, wrong type */
	ASSERT_NULL(sonde_counter_with(f, "GET"));
	ASSERT_CONTAINS(sonde_last_error(), "1 label values given, the family has 2");
	ASSERT_NULL(sonde_counter_with(f, "GET", "200", "x"));
	ASSERT_NULL(sonde_counter_with(f, "GET", NULL));
	ASSERT_NULL(sonde_gauge_with(f, "GET", "200"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ETYPE);
	ASSERT_NULL(sonde_counter_labels(f, 2, NULL, NULL));
	sonde_counter_inc(a);
	sonde_counter_inc(sonde_counter_with(f, "GET", "200"));
	ASSERT_EQ_DBL(sonde_counter_value(a), 2);
	sonde_registry_free(r);
}

TEST(label_value_length_limit)
{
	sonde_registry *r = reg();
	const char *l[] = {"v"};
	sonde_family *f = sonde_counter_family_new(r, "v_total", "V.", 1, l);
	char *big = malloc(SONDE_LABEL_VALUE_MAX + 2);

	memset(big, 'x', SONDE_LABEL_VALUE_MAX + 1);
	big[SONDE_LABEL_VALUE_MAX + 1] = '\0';
	ASSERT_NULL(sonde_counter_with(f, big));
	ASSERT_CONTAINS(sonde_last_error(), "longer than");
	big[SONDE_LABEL_VALUE_MAX] = '\0';
	ASSERT_NOT_NULL(sonde_counter_with(f, big));
	free(big);
	sonde_registry_free(r);
}

/* A value is hashed in one pass when its length is measured (NUL-terminated)
 * and from the given length otherwise: both must find the same child, for
 * every length around the 8-byte words, and values that differ only in
 * their last byte must stay apart. */
TEST(label_lookup_by_length_or_nul_agree)
{
	sonde_registry *r = reg();
	const char *l[] = {"a", "b"};
	sonde_family *f = sonde_counter_family_new(r, "agree_total", "A.", 2, l);
	char v[48], w[48];
	size_t n;

	for (n = 0; n <= 40; n++) {
		const char *vals[2], *wv[2];
		size_t lens[2];
		sonde_counter *c;

		memset(v, 'k', n);
		v[n] = '\0';
		memcpy(w, v, n + 1);
		if (n)
			w[n - 1] = 'q';
		vals[0] = v;
		vals[1] = "x";
		lens[0] = n;
		lens[1] = 1;
		c = sonde_counter_with(f, v, "x");
		ASSERT_NOT_NULL(c);
		ASSERT_TRUE(sonde_counter_labels(f, 2, vals, lens) == c);
		ASSERT_TRUE(sonde_counter_labels(f, 2, vals, NULL) == c);
		wv[0] = w;
		wv[1] = "x";
		if (n)
			ASSERT_TRUE(sonde_counter_labels(f, 2, wv, NULL) != c);
	}
	ASSERT_EQ_INT(sonde_family_size(f), 41 + 40);
	sonde_registry_free(r);
}

TEST(many_children_table_growth)
{
	sonde_registry *r = reg();
	const char *l[] = {"id"};
	sonde_family *f = sonde_counter_family_new(r, "ids_total", "I.", 1, l);
	char v[32];
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(v, sizeof(v), "id-%d", i);
		sonde_counter_add(sonde_counter_with(f, v), (double)i);
	}
	ASSERT_EQ_INT(sonde_family_size(f), 5000);
	for (i = 0; i < 5000; i += 97) {
		snprintf(v, sizeof(v), "id-%d", i);
		ASSERT_EQ_DBL(sonde_counter_value(sonde_counter_with(f, v)), i);
	}
	sonde_registry_free(r);
}

TEST(cardinality_limit)
{
	sonde_registry *r = reg();
	const char *l[] = {"id"};
	sonde_metric_opts o;
	sonde_family *f;
	sonde_self_stats a, b;
	char v[16];
	int i;

	sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, "lim_total", "L.");
	o.label_names = l;
	o.label_count = 1;
	o.max_children = 10;
	f = sonde_family_new(r, &o);
	for (i = 0; i < 10; i++) {
		snprintf(v, sizeof(v), "%d", i);
		ASSERT_NOT_NULL(sonde_counter_with(f, v));
	}
	sonde_self_stats_get(&a);
	ASSERT_NULL(sonde_counter_with(f, "overflow"));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "cardinality limit of 10");
	sonde_self_stats_get(&b);
	ASSERT_EQ_U64(b.label_sets_rejected - a.label_sets_rejected, 1);
	/* existing children still resolve */
	ASSERT_NOT_NULL(sonde_counter_with(f, "3"));
	/* raising the limit, or removing a child, makes room */
	ASSERT_OK(sonde_family_remove(f, 1, (const char *[]){"3"}, NULL));
	ASSERT_NOT_NULL(sonde_counter_with(f, "overflow"));
	ASSERT_OK(sonde_family_set_max_children(f, 20));
	ASSERT_NOT_NULL(sonde_counter_with(f, "more"));
	ASSERT_EQ_INT(sonde_family_set_max_children(NULL, 1), SONDE_EINVAL);
	/* the default limit is 10 000 */
	{
		sonde_family *g = sonde_counter_family_new(r, "def_total", "D.", 1, l);
		for (i = 0; i < SONDE_DEFAULT_MAX_CHILDREN; i++) {
			snprintf(v, sizeof(v), "%d", i);
			if (!sonde_counter_with(g, v))
				FAIL("child %d refused: %s", i, sonde_last_error());
		}
		ASSERT_NULL(sonde_counter_with(g, "one-more"));
		ASSERT_EQ_INT(sonde_last_status(), SONDE_ELIMIT);
	}
	sonde_registry_free(r);
}

TEST(remove_child_old_handle_is_discarded)
{
	sonde_registry *r = reg();
	const char *l[] = {"k"};
	sonde_family *f = sonde_counter_family_new(r, "rm_total", "R.", 1, l);
	sonde_counter *a = sonde_counter_with(f, "a");
	sonde_counter *b = sonde_counter_with(f, "b");
	sonde_counter *a2;

	sonde_counter_add(a, 5);
	sonde_counter_add(b, 7);
	ASSERT_OK(sonde_family_remove(f, 1, (const char *[]){"a"}, NULL));
	ASSERT_EQ_INT(sonde_family_remove(f, 1, (const char *[]){"a"}, NULL), SONDE_ENOENT);
	ASSERT_EQ_INT(sonde_family_size(f), 1);
	/* writes through the removed handle go nowhere */
	sonde_counter_add(a, 100);
	ASSERT_EQ_DBL(sonde_counter_value(a), 0);
	ASSERT_EQ_DBL(sonde_counter_value(b), 7);
	/* the same labels again make a new child from zero */
	a2 = sonde_counter_with(f, "a");
	ASSERT_TRUE(a2 != a);
	ASSERT_EQ_DBL(sonde_counter_value(a2), 0);
	sonde_family_clear(f);
	ASSERT_EQ_INT(sonde_family_size(f), 0);
	sonde_counter_inc(b);
	ASSERT_EQ_DBL(sonde_counter_value(b), 0);
	sonde_registry_free(r);
}

TEST(clear_unlabelled_resets_in_place)
{
	sonde_registry *r = reg();
	sonde_counter *c = sonde_counter_new(r, "c_total", "C.");
	sonde_family *f = sonde_counter_family_new(r, "c_total", "C.", 0, NULL);

	sonde_counter_add(c, 3);
	sonde_family_clear(f);
	ASSERT_EQ_DBL(sonde_counter_value(c), 0);
	sonde_counter_inc(c); /* the host's handle keeps working */
	ASSERT_EQ_DBL(sonde_counter_value(c), 1);
	sonde_registry_free(r);
}

TEST(cells_reused_after_grace_start_at_zero)
{
	sonde_registry *r = reg();
	const char *l[] = {"k"};
	sonde_family *f = sonde_histogram_family_new(r, "reuse", "R.", NULL, 0, 1, l);
	sonde_histogram *a = sonde_histogram_with(f, "a"), *b;
	uint32_t cell_a = sonde__load_relaxed(&a->c.cell);
	int i;

	sonde__cells_grace_ms = 0;
	for (i = 0; i < 10; i++)
		sonde_histogram_observe(a, 0.3);
	ASSERT_OK(sonde_family_remove(f, 1, (const char *[]){"a"}, NULL));
	b = sonde_histogram_with(f, "b");
	/* the freed run was reused (grace 0) and reads zero */
	ASSERT_EQ_INT(sonde__load_relaxed(&b->c.cell), cell_a);
	ASSERT_EQ_U64(sonde_histogram_count(b), 0);
	ASSERT_EQ_DBL(sonde_histogram_sum(b), 0);
	sonde_histogram_observe(b, 1);
	ASSERT_EQ_U64(sonde_histogram_count(b), 1);
	/* the removed handle does not write into b */
	sonde_histogram_observe(a, 1);
	ASSERT_EQ_U64(sonde_histogram_count(b), 1);
	sonde_registry_free(r);
}

TEST(cells_not_reused_within_grace)
{
	sonde_registry *r = reg();
	const char *l[] = {"k"};
	sonde_family *f = sonde_counter_family_new(r, "g_total", "G.", 1, l);
	sonde_counter *a = sonde_counter_with(f, "a"), *b;
	uint32_t cell_a = sonde__load_relaxed(&a->c.cell);

	sonde__cells_grace_ms = 60000;
	ASSERT_OK(sonde_family_remove(f, 1, (const char *[]){"a"}, NULL));
	b = sonde_counter_with(f, "b");
	ASSERT_TRUE(sonde__load_relaxed(&b->c.cell) != cell_a);
	sonde_registry_free(r);
}

TEST(unregister_family)
{
	sonde_registry *r = reg();
	sonde_counter *c = sonde_counter_new(r, "u_total", "U.");
	sonde_family *f = sonde_counter_family_new(r, "u_total", "U.", 0, NULL);
	sonde_buf b = SONDE_BUF_INIT;

	sonde_counter_inc(c);
	ASSERT_OK(sonde_registry_unregister(r, f));
	ASSERT_EQ_INT(sonde_registry_unregister(r, f), SONDE_ENOENT);
	ASSERT_EQ_INT(sonde_registry_unregister(r, NULL), SONDE_EINVAL);
	sonde_counter_inc(c); /* still safe */
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_NOT_CONTAINS(b.data, "u_total");
	/* the name is free again */
	ASSERT_NOT_NULL(sonde_gauge_new(r, "u_total", "now a gauge"));
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* ---- macros ---------------------------------------------------------------- */
METRIC_DEFINE_COUNTER(m_requests, "macro_requests_total", "Requests via macros.");
METRIC_DEFINE_GAUGE(m_inflight, "macro_in_flight", "In flight.");
static const double m_bounds[] = {0.1, 1};
METRIC_DEFINE_HISTOGRAM(m_lat, "macro_latency_seconds", "Latency.", m_bounds, 2);
METRIC_DEFINE_COUNTER_FAMILY(m_hits, "macro_hits_total", "Hits.", "method", "code");
METRIC_DEFINE_HISTOGRAM_FAMILY(m_dur, "macro_duration_seconds", "D.", NULL, 0, "route");
SONDE_METRIC_DEFINE_COUNTER(m_bad, "9-not-a-name", "Bad.");

static void hit(const char *method)
{
	METRIC_INC_LABELS(m_hits, method, "200"); /* not constant: looked up */
}

TEST(macros_register_on_first_use)
{
	int i;

	for (i = 0; i < 3; i++)
		METRIC_INC(m_requests);
	METRIC_ADD(m_requests, 2);
	METRIC_SET(m_inflight, 4);
	METRIC_GAUGE_ADD(m_inflight, -1);
	METRIC_OBSERVE(m_lat, 0.5);
	for (i = 0; i < 5; i++)
		METRIC_INC_LABELS(m_hits, "GET", "200"); /* constants: cached */
	hit("GET");
	hit("POST");
	METRIC_ADD_LABELS(m_hits, 10, "PUT", "201");
	METRIC_OBSERVE_LABELS(m_dur, 0.2, "/work");
	ASSERT_EQ_DBL(sonde_counter_value((sonde_counter *)m_requests.handle), 5);
	ASSERT_EQ_DBL(sonde_gauge_value((sonde_gauge *)m_inflight.handle), 3);
	ASSERT_EQ_U64(sonde_histogram_count((sonde_histogram *)m_lat.handle), 1);
	ASSERT_EQ_DBL(sonde_counter_value(
	                      sonde_counter_with((sonde_family *)m_hits.handle, "GET", "200")),
	              6);
	ASSERT_EQ_DBL(sonde_counter_value(
	                      sonde_counter_with((sonde_family *)m_hits.handle, "PUT", "201")),
	              10);
	ASSERT_EQ_U64(
	        sonde_histogram_count(sonde_histogram_with((sonde_family *)m_dur.handle, "/work")),
	        1);
	/* a bad definition: every use is a no-op, the reason is recorded */
	SONDE_METRIC_INC(m_bad);
	ASSERT_CONTAINS(sonde_last_error(), "9-not-a-name");
	SONDE_METRIC_INC(m_bad);
	ASSERT_NULL(m_bad.handle);
}

TEST(macro_site_cache_revalidates_after_removal)
{
	sonde_family *f;
	sonde_counter *first;
	int i;

	for (i = 0; i < 2; i++)
		METRIC_INC_LABELS(m_hits, "DELETE", "204");
	f = (sonde_family *)m_hits.handle;
	first = sonde_counter_with(f, "DELETE", "204");
	ASSERT_EQ_DBL(sonde_counter_value(first), 2);
	sonde_family_clear(f);
	for (i = 0; i < 3; i++)
		METRIC_INC_LABELS(m_hits, "DELETE", "204");
	/* the cached child was dropped: the new child got every increment */
	ASSERT_EQ_DBL(sonde_counter_value(sonde_counter_with(f, "DELETE", "204")), 3);
}

TEST(opts_from_an_older_smaller_struct)
{
	/* A caller compiled against the first layout (fields up to
	 * max_children) passes its own size: sonde must read nothing past it
	 * (the allocation is exactly that big, for ASan) and treat the rest as
	 * zero. */
	size_t v1 = offsetof(sonde_metric_opts, quantiles), smaller;
	unsigned char *o = malloc(v1);
	sonde_metric_opts full;
	sonde_registry *r = sonde_registry_new();
	const char *l[] = {"k"};
	sonde_family *f;

	memset(&full, 0, sizeof(full));
	full.size = v1;
	full.type = SONDE_TYPE_COUNTER;
	full.name = "old_total";
	full.help = "Old.";
	full.label_names = l;
	full.label_count = 1;
	memcpy(o, &full, v1);
	f = sonde_family_new(r, (const sonde_metric_opts *)(void *)o);
	ASSERT_NOT_NULL(f);
	sonde_counter_inc(sonde_counter_with(f, "x"));
	smaller = v1 - 1; /* smaller than any published layout */
	memcpy(o, &smaller, sizeof(smaller));
	ASSERT_NULL(sonde_family_new(r, (const sonde_metric_opts *)(void *)o));
	ASSERT_CONTAINS(sonde_last_error(), "size");
	free(o);
	sonde_registry_free(r);
}

/* Issue 13.7: two children whose values were different invalid UTF-8
 * ("\xff" and "\xfe") were both exposed as {path="\uFFFD"}: a page with a
 * duplicate series. Label values must be UTF-8: the child is refused. */
TEST(label_values_must_be_valid_utf8)
{
	static const char *const names[] = {"path"};
	sonde_registry *r = sonde_registry_new();
	sonde_family *f = sonde_counter_family_new(r, "req_total", "h", 1, names);
	static const char *const bad[] = {"\xff",
	                                  "\xfe",
	                                  "a\xc3",
	                                  "\xed\xa0\x80" /* surrogate */,
	                                  "\xc0\xaf" /* overlong */,
	                                  "\xf4\x90\x80\x80" /* > U+10FFFF */};
	const char *v[1];
	size_t i, len;
	sonde_buf b = SONDE_BUF_INIT;

	ASSERT_NOT_NULL(f);
	for (i = 0; i < SONDE_ARRAY_LEN(bad); i++) {
		v[0] = bad[i];
		ASSERT_TRUE(sonde_counter_labels(f, 1, v, NULL) == NULL);
		ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
		ASSERT_CONTAINS(sonde_last_error(), "not valid UTF-8");
		ASSERT_CONTAINS(sonde_last_error(), "\"path\"");
	}
	ASSERT_EQ_INT(sonde_family_size(f), 0);
	/* valid values of every length class, and a NUL byte given by length */
	v[0] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	ASSERT_NOT_NULL(sonde_counter_labels(f, 1, v, NULL));
	v[0] = "a\0b";
	len = 3;
	ASSERT_NOT_NULL(sonde_counter_labels(f, 1, v, &len));
	ASSERT_EQ_INT(sonde_family_size(f), 2);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_TRUE(strstr(b.data, "\xef\xbf\xbd") == NULL); /* no U+FFFD anywhere */
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* Issue 13.10: families whose OpenMetrics family names or sample names
 * meet: both registered, in either order, and the page carried two
 * families of one name (the official parser rejects the page). Now the
 * second is refused with EEXIST, in either order. */
TEST(registration_refuses_families_whose_written_names_meet)
{
	static const struct {
		sonde_metric_type t1;
		const char *n1;
		sonde_metric_type t2;
		const char *n2;
	} clash[] = {
	        {SONDE_TYPE_GAUGE, "jobs", SONDE_TYPE_COUNTER, "jobs_total"},
	        {SONDE_TYPE_INFO, "x_info", SONDE_TYPE_GAUGE, "x"},
	        {SONDE_TYPE_INFO, "build", SONDE_TYPE_GAUGE, "build_info"},
	        {SONDE_TYPE_COUNTER, "x_total", SONDE_TYPE_HISTOGRAM, "x"},
	        {SONDE_TYPE_COUNTER, "c_total", SONDE_TYPE_GAUGE, "c_created"},
	        {SONDE_TYPE_COUNTER, "plain", SONDE_TYPE_GAUGE, "plain_total"},
	        {SONDE_TYPE_HISTOGRAM, "h", SONDE_TYPE_GAUGE, "h_created"},
	        {SONDE_TYPE_HISTOGRAM, "h", SONDE_TYPE_COUNTER, "h_bucket_total"},
	        {SONDE_TYPE_SUMMARY, "s", SONDE_TYPE_GAUGE, "s_created"},
	        {SONDE_TYPE_SUMMARY, "s", SONDE_TYPE_HISTOGRAM, "s_sum"},
	        {SONDE_TYPE_COUNTER, "a_total", SONDE_TYPE_SUMMARY, "a"},
	};
	static const struct {
		sonde_metric_type t1;
		const char *n1;
		sonde_metric_type t2;
		const char *n2;
	} fine[] = {
	        {SONDE_TYPE_GAUGE, "jobs", SONDE_TYPE_COUNTER, "jobs_done_total"},
	        {SONDE_TYPE_COUNTER, "x_total", SONDE_TYPE_GAUGE, "x_total_bytes"},
	        {SONDE_TYPE_HISTOGRAM, "h", SONDE_TYPE_GAUGE, "h_buckets"},
	        {SONDE_TYPE_GAUGE, "info", SONDE_TYPE_GAUGE, "info_x"},
	};
	size_t i;
	int order;

	for (i = 0; i < SONDE_ARRAY_LEN(clash); i++)
		for (order = 0; order < 2; order++) {
			sonde_registry *r = sonde_registry_new();
			sonde_metric_opts a, b;
			sonde_metric_opts_init(&a, order ? clash[i].t2 : clash[i].t1,
			                       order ? clash[i].n2 : clash[i].n1, "h");
			sonde_metric_opts_init(&b, order ? clash[i].t1 : clash[i].t2,
			                       order ? clash[i].n1 : clash[i].n2, "h");
			if (!sonde_family_new(r, &a))
				FAIL("%s: %s", a.name, sonde_last_error());
			if (sonde_family_new(r, &b))
				FAIL("%s then %s: both registered", a.name, b.name);
			ASSERT_EQ_INT(sonde_last_status(), SONDE_EEXIST);
			ASSERT_CONTAINS(sonde_last_error(), "collide");
			sonde_registry_free(r);
		}
	for (i = 0; i < SONDE_ARRAY_LEN(fine); i++)
		for (order = 0; order < 2; order++) {
			sonde_registry *r = sonde_registry_new();
			sonde_metric_opts a, b;
			sonde_metric_opts_init(&a, order ? fine[i].t2 : fine[i].t1,
			                       order ? fine[i].n2 : fine[i].n1, "h");
			sonde_metric_opts_init(&b, order ? fine[i].t1 : fine[i].t2,
			                       order ? fine[i].n1 : fine[i].n2, "h");
			ASSERT_NOT_NULL(sonde_family_new(r, &a));
			if (!sonde_family_new(r, &b))
				FAIL("%s then %s refused: %s", a.name, b.name, sonde_last_error());
			sonde_registry_free(r);
		}
}
