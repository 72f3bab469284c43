/* lib/metrics/self.c - the library's own metrics: what the hot path dropped.
 * The counts are process-wide atomics (these paths are rare); the default
 * registry exposes them through callback children. */
#include "metrics/metrics-int.h"

static atomic_uint_fast64_t n_counter_negative, n_counter_nan, n_histogram_nan;
static atomic_uint_fast64_t n_rejected[3];

void sonde__self_count_counter_negative(void)
{
	sonde__fetch_add_relaxed(&n_counter_negative, 1);
}

void sonde__self_count_counter_nan(void)
{
	sonde__fetch_add_relaxed(&n_counter_nan, 1);
}

void sonde__self_count_histogram_nan(void)
{
	sonde__fetch_add_relaxed(&n_histogram_nan, 1);
}

void sonde__self_count_rejected(int reason)
{
	if (reason >= 0 && reason < 3)
		sonde__fetch_add_relaxed(&n_rejected[reason], 1);
}

void sonde_self_stats_get(sonde_self_stats *out)
{
	if (!out)
		return;
	out->counter_negative = sonde__load_relaxed(&n_counter_negative);
	out->counter_nan = sonde__load_relaxed(&n_counter_nan);
	out->histogram_nan = sonde__load_relaxed(&n_histogram_nan);
	out->label_sets_rejected = sonde__load_relaxed(&n_rejected[SONDE_REJECT_CARDINALITY]);
	out->cells_exhausted = sonde__load_relaxed(&n_rejected[SONDE_REJECT_CELLS]);
}

static double read_atomic(void *arg)
{
	return (double)sonde__load_relaxed((atomic_uint_fast64_t *)arg);
}

static double read_lost(void *arg)
{
	(void)arg;
	return (double)sonde__cells_lost_writes();
}

void sonde__self_register(sonde_registry *r)
{
	static const char *const v_labels[] = {"metric_type", "reason"};
	static const char *const c_labels[] = {"reason"};
	static const char *const neg[] = {"counter", "negative"};
	static const char *const cnan[] = {"counter", "nan"};
	static const char *const hnan[] = {"histogram", "nan"};
	static const char *const card[] = {"cardinality_limit"};
	static const char *const cells[] = {"cells_exhausted"};
	static const char *const oom[] = {"out_of_memory"};
	sonde_family *f;

	/* Failure here (out of memory) leaves the registry without
	 * self-metrics; sonde_self_stats_get() still works. */
	f = sonde__family_new_internal(
	        r, SONDE_TYPE_COUNTER, "sonde_rejected_values_total",
	        "Values dropped by sonde's hot path (negative or NaN counter "
	        "adds, NaN observations).",
	        2, v_labels);
	if (f) {
		(void)sonde__family_add_fn_child(f, neg, read_atomic, (void *)&n_counter_negative);
		(void)sonde__family_add_fn_child(f, cnan, read_atomic, (void *)&n_counter_nan);
		(void)sonde__family_add_fn_child(f, hnan, read_atomic, (void *)&n_histogram_nan);
	}
	f = sonde__family_new_internal(r, SONDE_TYPE_COUNTER, "sonde_children_rejected_total",
	                               "Label sets sonde refused to create a child for.", 1,
	                               c_labels);
	if (f) {
		(void)sonde__family_add_fn_child(f, card, read_atomic,
		                                 &n_rejected[SONDE_REJECT_CARDINALITY]);
		(void)sonde__family_add_fn_child(f, cells, read_atomic,
		                                 (void *)&n_rejected[SONDE_REJECT_CELLS]);
		(void)sonde__family_add_fn_child(f, oom, read_atomic,
		                                 (void *)&n_rejected[SONDE_REJECT_OOM]);
	}
	f = sonde__family_new_internal(r, SONDE_TYPE_COUNTER, "sonde_lost_writes_total",
	                               "Metric writes lost because no memory could be had for a "
	                               "thread's cell page.",
	                               0, NULL);
	if (f)
		(void)sonde__family_add_fn_child(f, NULL, read_lost, NULL);
}
