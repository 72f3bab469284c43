/* lib/metrics/self_count.c - the library's own counts: what the hot path
 * dropped and which children it refused. A leaf: process-wide atomics
 * (these paths are rare), no call out of this file. The families that
 * expose the counts are registered from above (collectors/self_metrics.c). */
#include "metrics/metrics-int.h"

/* SONDE_SELF_* order; the rejections follow at SONDE_SELF_REJECTED. */
static atomic_uint_fast64_t counts[SONDE_SELF_REJECTED + 3];

void sonde__self_count_counter_negative(void)
{
	sonde__fetch_add_relaxed(&counts[SONDE_SELF_COUNTER_NEGATIVE], 1);
}

void sonde__self_count_counter_nan(void)
{
	sonde__fetch_add_relaxed(&counts[SONDE_SELF_COUNTER_NAN], 1);
}

void sonde__self_count_histogram_nan(void)
{
	sonde__fetch_add_relaxed(&counts[SONDE_SELF_HISTOGRAM_NAN], 1);
}

void sonde__self_count_histogram_negative(void)
{
	sonde__fetch_add_relaxed(&counts[SONDE_SELF_HISTOGRAM_NEGATIVE], 1);
}

void sonde__self_count_summary_nan(void)
{
	sonde__fetch_add_relaxed(&counts[SONDE_SELF_SUMMARY_NAN], 1);
}

void sonde__self_count_summary_negative(void)
{
	sonde__fetch_add_relaxed(&counts[SONDE_SELF_SUMMARY_NEGATIVE], 1);
}

void sonde__self_count_rejected(int reason)
{
	if (reason >= 0 && reason < 3)
		sonde__fetch_add_relaxed(&counts[SONDE_SELF_REJECTED + reason], 1);
}

const atomic_uint_fast64_t *sonde__self_count_cell(int which)
{
	return &counts[which];
}

void sonde_self_stats_get(sonde_self_stats *out)
{
	if (!out)
		return;
	out->counter_negative = sonde__load_relaxed(&counts[SONDE_SELF_COUNTER_NEGATIVE]);
	out->counter_nan = sonde__load_relaxed(&counts[SONDE_SELF_COUNTER_NAN]);
	/* the struct predates summaries' own count: both kinds of NaN */
	out->histogram_nan = sonde__load_relaxed(&counts[SONDE_SELF_HISTOGRAM_NAN]) +
	                     sonde__load_relaxed(&counts[SONDE_SELF_SUMMARY_NAN]);
	out->label_sets_rejected =
	        sonde__load_relaxed(&counts[SONDE_SELF_REJECTED + SONDE_REJECT_CARDINALITY]);
	out->cells_exhausted =
	        sonde__load_relaxed(&counts[SONDE_SELF_REJECTED + SONDE_REJECT_CELLS]);
}
