/*
 * bench/bench_log_profiles.c - the output profiles (issue 15): what a log
 * call with three typed fields costs the caller in each profile (the same:
 * formatting is the backend thread's), and the backend's throughput per
 * profile in records/s.
 *
 * Caller cost: batches of 256 calls timed together (the ring never fills:
 * the backend drains it between batches, untimed), one batch of each
 * profile per round, the median of the batches' per-call means, as a
 * ratio to the json profile's in the same run. Throughput: 1 producer, block policy, a /dev/null
 * file sink; 500k records with three varying values; the median of 3.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "sonde.h"
#include "sonde/log.h"

#define BATCH 256
#define NBATCH 400

static sonde_logger *profile_logger(sonde_log_format fmt, sonde_log_overflow ov,
                                    sonde_log_sink **sink)
{
	sonde_log_sink_opts so;
	sonde_log_opts o;
	sonde_logger *l;

	sonde_log_sink_opts_init(&so);
	so.format = fmt;
	so.format_env = "";
	*sink = sonde_log_sink_file("/dev/null", &so);
	if (!*sink)
		return NULL;
	sonde_log_opts_init(&o, "bench");
	o.level_env = "";
	o.sinks = sink;
	o.sink_count = 1;
	o.overflow = ov;
	l = sonde_logger_new(&o);
	if (!l)
		sonde_log_sink_free(*sink);
	return l;
}

/* The five profiles' caller costs, measured in rounds (one batch of each
 * profile per round), so that load from elsewhere weighs on all alike. */
static void caller_ns(const sonde_log_format *fmts, int nf, double *out)
{
	static double per[5][NBATCH];
	sonde_log_sink *s[5];
	sonde_logger *l[5];
	int n = bench_long ? NBATCH : NBATCH / 4, k;

	for (k = 0; k < nf; k++) {
		out[k] = 0;
		l[k] = profile_logger(fmts[k], SONDE_LOG_OVERFLOW_DROP, &s[k]);
		if (!l[k])
			return;
		LOG_INFO(l[k], "warm", LOG_INT("status", 200));
	}
	for (int b = 0; b < n; b++)
		for (k = 0; k < nf; k++) {
			uint64_t t0;

			if (sonde_log_flush() != SONDE_OK)
				return;
			t0 = bench_now_ns();
			for (int i = 0; i < BATCH; i++)
				LOG_INFO(l[k], "request served", LOG_INT("status", 200),
				         LOG_INT("us", i), LOG_DOUBLE("ratio", 0.75));
			per[k][b] = (double)(bench_now_ns() - t0) / BATCH;
		}
	if (sonde_log_flush() != SONDE_OK)
		return;
	for (k = 0; k < nf; k++) {
		sonde_logger_free(l[k]);
		sonde_log_sink_free(s[k]);
		bench_sort(per[k], (size_t)n);
		out[k] = per[k][n / 2];
	}
}

static double throughput(sonde_log_format fmt)
{
	sonde_log_sink *s;
	sonde_logger *l = profile_logger(fmt, SONDE_LOG_OVERFLOW_BLOCK, &s);
	const int n = bench_long ? 2000000 : 500000;
	uint64_t t0, t1;

	if (!l)
		return 0;
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++)
		LOG_INFO(l, "request served", LOG_INT("seq", i),
		         LOG_INT("bytes", (i * 7919) % 100003),
		         LOG_DOUBLE("ms", (double)i * 0.001 + 0.25));
	if (sonde_log_flush() != SONDE_OK)
		return 0;
	t1 = bench_now_ns();
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

BENCH(log_profiles)
{
	static const sonde_log_format fmts[5] = {SONDE_LOG_FORMAT_JSON, SONDE_LOG_FORMAT_ECS,
	                                         SONDE_LOG_FORMAT_OTEL, SONDE_LOG_FORMAT_LOGFMT,
	                                         SONDE_LOG_FORMAT_CONSOLE};
	double ns[5];
	char id[64], what[128];

	caller_ns(fmts, 5, ns);
	for (int k = 0; k < 5; k++) {
		const char *name = sonde_log_format_name(fmts[k]);

		snprintf(id, sizeof id, "log.profile.%s.caller", name);
		snprintf(what, sizeof what, "LOG_INFO + 3 fields, %s sink, batch mean, median",
		         name);
		bench_row(id, what, ns[k], "ns/call");
		if (k > 0 && ns[0] > 0) {
			snprintf(id, sizeof id, "log.profile.%s.caller_vs_json", name);
			snprintf(what, sizeof what, "caller cost, %s / json", name);
			bench_ratio(id, what, ns[k] / ns[0], "~1.0 (formatting is on the backend)");
		}
	}
	for (int k = 0; k < 5; k++) {
		const char *name = sonde_log_format_name(fmts[k]);
		double tp[3];

		for (int r = 0; r < 3; r++)
			tp[r] = throughput(fmts[k]);
		bench_sort(tp, 3);
		snprintf(id, sizeof id, "log.profile.%s.backend_throughput", name);
		snprintf(what, sizeof what,
		         "1 producer -> backend -> /dev/null (%s), 3 varying values, median of 3",
		         name);
		bench_row(id, what, tp[1] / 1e6, "M rec/s");
	}
	if (sonde_log_shutdown() != SONDE_OK)
		fprintf(stderr, "bench log_profiles: shutdown: %s\n", sonde_last_error());
}
