/*
 * lib/log/log_clock.c - record timestamps. A log call stamps its record
 * with sonde__log_now_ticks() (inline, log-int.h): raw TSC ticks when the
 * TSC is invariant, else CLOCK_REALTIME ns. The backend converts ticks to
 * Unix time: it pairs ticks with CLOCK_REALTIME at start and again every
 * 500 ms (each pair is the best of 5 bracketed reads); ns per tick is the
 * slope from the first pair to the latest, so it gets more exact as the
 * process runs. Calls: log_state.c (the tsc flag), core's clocks.
 */
#include <errno.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "log/log-int.h"

#define G sonde__log_g

static bool tsc_invariant(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	/* CPUID 0x80000007 EDX bit 8: invariant TSC (constant rate, runs in
	 * every C-state); without it ticks cannot be converted to time. */
	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return false;
	if (!__get_cpuid(0x80000007u, &a, &b, &c, &d))
		return false;
	return (d >> 8) & 1u;
#else
	return false;
#endif
}

void sonde__log_clock_init(void)
{
	sonde__store_relaxed(&G.tsc, tsc_invariant() ? 1 : 0);
}

/* ---- backend side: ticks to time ---------------------------------------------------- */

typedef struct clock_pair {
	uint64_t tsc;
	int64_t ns;
} clock_pair;

/* backend thread only */
static clock_pair clk_first, clk_last;
static double ns_per_tick = 1.0;
static int64_t clk_last_mono;

static clock_pair read_pair(void)
{
	clock_pair best = {0, 0};
	uint64_t best_w = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t a = sonde__log_now_ticks();
		int64_t ns = sonde_now_unix_ns();
		uint64_t b = sonde__log_now_ticks();
		if (b - a < best_w) {
			best_w = b - a;
			best.tsc = a + (b - a) / 2;
			best.ns = ns;
		}
	}
	return best;
}

/* Two pairs 2 ms apart into *first and *last; the ns per tick between
 * them, or 0 when the ticks did not move. Async-signal-safe (the crash
 * flush pairs with it too). */
static double pair_slope(clock_pair *first, clock_pair *last)
{
	struct timespec d = {0, 2000000};

	*first = read_pair();
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
	*last = read_pair();
	return last->tsc > first->tsc
	               ? (double)(last->ns - first->ns) / (double)(last->tsc - first->tsc)
	               : 0;
}

void sonde__log_clock_start(void)
{
	double rate;

	if (!sonde__load_relaxed(&G.tsc))
		return;
	/* 2 ms of slope before the first batch; refined every 500 ms */
	rate = pair_slope(&clk_first, &clk_last);
	if (rate > 0)
		ns_per_tick = rate;
	clk_last_mono = sonde_now_mono_ns();
}

void sonde__log_clock_refresh(void)
{
	int64_t now;

	if (!sonde__load_relaxed(&G.tsc))
		return;
	now = sonde_now_mono_ns();
	if (now - clk_last_mono < 500000000)
		return;
	clk_last = read_pair();
	if (clk_last.tsc > clk_first.tsc && clk_last.ns > clk_first.ns)
		ns_per_tick = (double)(clk_last.ns - clk_first.ns) /
		              (double)(clk_last.tsc - clk_first.tsc);
	clk_last_mono = now;
}

int64_t sonde__log_ticks_to_ns(uint64_t t)
{
	if (!sonde__load_relaxed(&G.tsc))
		return (int64_t)t;
	return clk_last.ns + (int64_t)((double)(int64_t)(t - clk_last.tsc) * ns_per_tick);
}

/* ---- the crash flush: the backend's pairing if it has one ------------------------------- */

static clock_pair crash_pair;
static double crash_rate;

void sonde__log_clock_crash_prepare(void)
{
	clock_pair a;

	crash_rate = 0;
	/* the backend paired (or is pausing with a pairing): use its; a
	 * backend still in sonde__log_clock_start() (or none) has none yet,
	 * so pair here, as it would */
	if (!sonde__load_relaxed(&G.tsc) || (clk_last.ns != 0 && clk_last.tsc > clk_first.tsc))
		return;
	crash_rate = pair_slope(&a, &crash_pair);
}

int64_t sonde__log_ticks_to_ns_crash(uint64_t t)
{
	if (crash_rate > 0)
		return crash_pair.ns +
		       (int64_t)((double)(int64_t)(t - crash_pair.tsc) * crash_rate);
	return sonde__log_ticks_to_ns(t);
}
