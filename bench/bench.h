/*
 * bench/bench.h - sonde's benchmark harness: in-run baselines, ns/op.
 *
 *   BENCH(counter) { double ns = bench_ns_per_op(1, body, arg); bench_row(...); }
 *
 * A body runs n operations on each of T threads; each thread is pinned to
 * its own CPU and a barrier releases them together. Cost = wall time from
 * release to the last finish, divided by n: the cost of one operation as
 * each thread sees it. n is calibrated so one repetition lasts ~40 ms; the
 * figure is the median of 5 repetitions after a warm-up. Compare rows only
 * as ratios within one run.
 *
 * The soak (make bench-long, SONDE_BENCH_LONG=1 in the environment): 400 ms
 * repetitions, the median of 11, and ten times the logger's timed calls.
 */
#ifndef SONDE_BENCH_H
#define SONDE_BENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*bench_body)(void *arg, uint64_t n, int tid);

typedef struct bench_case {
	const char *name;
	void (*fn)(void);
	struct bench_case *next;
} bench_case;

void bench_register(bench_case *bc);

#define BENCH(name)                                                     \
	static void bench_##name(void);                                 \
	__attribute__((constructor)) static void bench_reg_##name(void) \
	{                                                               \
		static bench_case bc = {#name, bench_##name, NULL};     \
		bench_register(&bc);                                    \
	}                                                               \
	static void bench_##name(void)

/* 1 when SONDE_BENCH_LONG is set to a non-empty value other than "0". */
extern int bench_long;

/* Sorts n doubles, smallest first (medians and minimums of repetitions). */
void bench_sort(double *v, size_t n);
/* Median ns per operation per thread over 5 (soak: 11) repetitions. */
double bench_ns_per_op(int threads, bench_body body, void *arg);
/* One table row: id, what it measures, value, unit. */
void bench_row(const char *id, const char *what, double value, const char *unit);
/* A ratio row, with the target it is judged against (NULL for none). */
void bench_ratio(const char *id, const char *what, double ratio, const char *target);
/* Monotonic nanoseconds. */
uint64_t bench_now_ns(void);
/* Keeps a value alive without a memory barrier for the compiler. */
#define BENCH_KEEP(x) __asm__ volatile("" : : "g"(x) : "memory")

#ifdef __cplusplus
}
#endif
#endif
