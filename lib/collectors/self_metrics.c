/* lib/collectors/self_metrics.c - the families that expose the library's
 * own counts (metrics/self_count.c) on the default registry, as callback
 * children read at scrape time. Registered by the top layer
 * (api/defaults.c). */
#include "collectors/collectors.h"

static double read_count(void *arg)
{
	return (double)sonde__load_relaxed((const atomic_uint_fast64_t *)arg);
}

static double read_lost(void *arg)
{
	(void)arg;
	return (double)sonde__cells_lost_writes();
}

static void add_count(sonde_family *f, const char *const *values, int which)
{
	/* Out of memory leaves this child out; sonde_self_stats_get() still
	 * reads the count. */
	sonde__ignore(sonde__family_add_fn_child(f, values, read_count,
	                                         (void *)sonde__self_count_cell(which)));
}

void sonde__self_metrics_register(sonde_registry *r)
{
	static const char *const v_labels[] = {"metric_type", "reason"};
	static const char *const c_labels[] = {"reason"};
	static const char *const neg[] = {"counter", "negative"};
	static const char *const cnan[] = {"counter", "nan"};
	static const char *const hnan[] = {"histogram", "nan"};
	static const char *const hneg[] = {"histogram", "negative"};
	static const char *const snan[] = {"summary", "nan"};
	static const char *const sneg[] = {"summary", "negative"};
	static const char *const card[] = {"cardinality_limit"};
	static const char *const cells[] = {"cells_exhausted"};
	static const char *const oom[] = {"out_of_memory"};
	sonde_family *f;

	/* Failure here (out of memory) leaves the registry without
	 * self-metrics; sonde_self_stats_get() still works. */
	f = sonde__family_new_internal(
	        r, SONDE_TYPE_COUNTER, "sonde_rejected_values_total",
	        "Values dropped by sonde's hot path (negative or NaN counter "
	        "adds, NaN observations, negative observations of summaries and "
	        "of histograms without a negative bound).",
	        2, v_labels);
	if (f) {
		add_count(f, neg, SONDE_SELF_COUNTER_NEGATIVE);
		add_count(f, cnan, SONDE_SELF_COUNTER_NAN);
		add_count(f, hnan, SONDE_SELF_HISTOGRAM_NAN);
		add_count(f, hneg, SONDE_SELF_HISTOGRAM_NEGATIVE);
		add_count(f, snan, SONDE_SELF_SUMMARY_NAN);
		add_count(f, sneg, SONDE_SELF_SUMMARY_NEGATIVE);
	}
	f = sonde__family_new_internal(r, SONDE_TYPE_COUNTER, "sonde_children_rejected_total",
	                               "Label sets sonde refused to create a child for.", 1,
	                               c_labels);
	if (f) {
		add_count(f, card, SONDE_SELF_REJECTED + SONDE_REJECT_CARDINALITY);
		add_count(f, cells, SONDE_SELF_REJECTED + SONDE_REJECT_CELLS);
		add_count(f, oom, SONDE_SELF_REJECTED + SONDE_REJECT_OOM);
	}
	f = sonde__family_new_internal(r, SONDE_TYPE_COUNTER, "sonde_lost_writes_total",
	                               "Metric writes lost because no memory could be had for a "
	                               "thread's cell page.",
	                               0, NULL);
	if (f)
		sonde__ignore(sonde__family_add_fn_child(f, NULL, read_lost, NULL));
}
