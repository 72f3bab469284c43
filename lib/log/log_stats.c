/*
 * lib/log/log_stats.c - the logger's counts: sonde_log_stats_get(), the
 * self-metrics on the default registry (sonde_log_records_total{level},
 * sonde_log_dropped_total, sonde_log_sampled_total{level}, the sink-error
 * family) and the backend's export
 * of its counts into both. Calls: log_level.c (level names as labels),
 * log_state.c, metrics.
 */
#include "log/log-int.h"

#define G sonde__log_g

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void register_metrics(void)
{
	static const char *const lvl_label[] = {"level"};
	static const char *const sink_label[] = {"sink"};
	sonde_family *f;
	int i;

	/* Self-metrics on the default registry. A failure (out of memory, a
	 * name taken with another definition) leaves them NULL: the logger
	 * works without them and sonde_log_stats_get() still counts. */
	f = sonde_counter_family_new(NULL, "sonde_log_records_total",
	                             "Log records written, by level.", 1, lvl_label);
	for (i = 0; f && i < 6; i++)
		G.m_records[i] = sonde_counter_with(f, sonde_log_level_name(i));
	G.m_dropped = sonde_counter_new(NULL, "sonde_log_dropped_total",
	                                "Log records dropped (ring full, after shutdown, or a "
	                                "nested call from a signal handler).");
	/* A write from this thread registers the metrics' per-thread cells
	 * (and their fork handler) now, before the logger registers its own
	 * (log-int.h, "Fork", says why the order matters). Adds 0, through
	 * whichever counter exists. */
	if (G.m_dropped)
		sonde_counter_add_u64(G.m_dropped, 0);
	for (i = 0; i < 6; i++)
		if (G.m_records[i])
			sonde_counter_add_u64(G.m_records[i], 0);
	f = sonde_counter_family_new(NULL, "sonde_log_sampled_total",
	                             "Log records dropped by call-site sampling, by level.", 1,
	                             lvl_label);
	for (i = 0; f && i < 6; i++)
		G.m_sampled[i] = sonde_counter_with(f, sonde_log_level_name(i));
	G.m_sink_errors =
	        sonde_counter_family_new(NULL, "sonde_log_sink_errors_total",
	                                 "Log lines that did not reach their sink (failed writes, "
	                                 "a buffer that could not grow).",
	                                 1, sink_label);
}

void sonde__log_stats_init(void)
{
	pthread_once(&metrics_once, register_metrics);
}

/* What the backend has already exported (backend thread only). */
static uint64_t written_exported[6];
static uint64_t dropped_exported;
static uint64_t sampled_exported[6];

void sonde__log_stats_publish(const uint64_t written[6])
{
	uint64_t d;
	int i;

	sonde_counter **user = sonde__load_acquire(&G.m_user);

	for (i = 0; i < 6; i++) {
		d = written[i] - written_exported[i];
		if (!d)
			continue;
		sonde__fetch_add_relaxed(&G.written[i], d);
		if (G.m_records[i])
			sonde_counter_add_u64(G.m_records[i], d);
		if (user)
			sonde_counter_add_u64(user[i], d);
		written_exported[i] = written[i];
	}
	d = sonde__load_relaxed(&G.dropped);
	if (d != dropped_exported && G.m_dropped)
		sonde_counter_add_u64(G.m_dropped, d - dropped_exported);
	dropped_exported = d;
	for (i = 0; i < 6; i++) {
		d = sonde__load_relaxed(&G.sampled[i]);
		if (d != sampled_exported[i] && G.m_sampled[i])
			sonde_counter_add_u64(G.m_sampled[i], d - sampled_exported[i]);
		sampled_exported[i] = d;
	}
}

uint64_t sonde_log_sampled_total(int level)
{
	if (level < 0 || level > 5)
		return 0;
	return sonde__load_relaxed(&G.sampled[level]);
}

int sonde_log_stats_get(sonde_log_stats *out)
{
	int i;

	/* An output struct: the library writes every field of its own
	 * layout, so the caller's must be at least that big (a caller built
	 * against an older, smaller layout is refused rather than overrun). */
	if (!out)
		return sonde__fail(SONDE_EINVAL, "sonde_log_stats_get: out is NULL");
	if (out->size < sizeof(sonde_log_stats))
		return sonde__fail(SONDE_EINVAL, "sonde_log_stats_get: size field is %zu, want %zu",
		                   out->size, sizeof(sonde_log_stats));
	for (i = 0; i < 6; i++)
		out->written[i] = sonde__load_relaxed(&G.written[i]);
	out->dropped = sonde__load_relaxed(&G.dropped);
	out->truncated = sonde__load_relaxed(&G.truncated);
	out->sink_errors = sonde__load_relaxed(&G.sink_errors);
	out->rings = sonde__load_relaxed(&G.nrings);
	return SONDE_OK;
}
