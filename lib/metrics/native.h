/*
 * lib/metrics/native.h - native (sparse, exponential) histograms.
 *
 * A native histogram child keeps, besides its classic cells (the +Inf
 * bucket and the sum when it is native only), a chain of generations. A
 * generation is one resolution: a schema (bucket i of schema s covers
 * (2^((i-1)/2^s), 2^(i/2^s)]), a zero threshold, and one cell run of every
 * thread holding [sum][zero count][W positive buckets][W negative buckets],
 * W = the child's bucket limit. Each sign's populated bucket indices span
 * at most W: bucket index k lives in cell (k - base) mod W of its sign,
 * base being the first index the generation saw for that sign. The span
 * [lo, hi] and base of each sign are one atomic word.
 *
 * Observing is lock-free on the thread's own cells: one acquire load of the
 * current generation, the bucket index (bit arithmetic and a table, no
 * libm), one relaxed load of the sign's span and two cell adds. A value
 * outside the span extends it with one CAS (rare: the first time a bucket
 * range is seen); a value that would make the span exceed W switches to a
 * new generation under the family mutex, following client_golang's
 * strategy in its order: reset (when min_reset has passed since the last
 * reset), widen the zero bucket up to the lowest bucket's upper bound (while
 * that stays within max_zero_threshold), halve the resolution (schema - 1,
 * down to -4). At schema -4 with the zero bucket at its limit, the zero
 * bucket widens past the limit (the only way left to bound the buckets).
 * The old generation is frozen (its span words refuse extension) and stays
 * in the chain: a scrape merges every generation since the last reset into
 * the newest one's schema (halving is exact: bucket k of schema s is inside
 * bucket ceil(k/2) of schema s-1) and moves buckets at or below the zero
 * threshold into the zero bucket. A reset drops the older generations: their
 * cells are freed (reused after the cells' grace period), their structs
 * after the same period.
 *
 * Synchronization table
 *   what                       written by                       read by            guarded by
 *   native's current gen       switch (family mutex)            observers, scrape  release/acquire
 *   gen's span words           observers (CAS), switch (freeze) observers, scrape  atomic CAS
 *   gen's schema, zt, cell,    switch, before publication       anyone after       immutable
 *   W, prev                                                     acquire
 *   gen's cells                owner threads                    scrape             cells (relaxed)
 *   dead gens list, last reset switch                           switch             family mutex
 */
#ifndef SONDE_NATIVE_H
#define SONDE_NATIVE_H

#include "metrics/metrics-int.h"

#define SONDE_NATIVE_SCHEMA_MIN (-4)
#define SONDE_NATIVE_SCHEMA_MAX 8
#define SONDE_NATIVE_DEFAULT_MAX_BUCKETS 160
#define SONDE_NATIVE_MAX_BUCKETS_LIMIT 255 /* 2 + 2 * 255 cells fit a page */

/* 2^(j/2^s - 1) for s in 1..8, j in 0..2^s-1: schema s's row starts at
 * 2^s - 2 (native_bounds.c, generated). */
extern const double sonde__native_bounds[511];

typedef struct sonde__native sonde__native;

/* One sign of a scrape: count[i] is bucket lo + i's count, n of them. */
typedef struct sonde__native_side {
	int32_t lo;
	uint32_t n;
	uint64_t *count;
} sonde__native_side;

typedef struct sonde__native_read {
	int32_t schema;
	double zero_threshold;
	uint64_t zero_count;
	uint64_t count; /* zero count plus every bucket: exact for the buckets read */
	double sum;
	sonde__native_side pos, neg;
} sonde__native_read;

/* The native state of a histogram child, or NULL for a classic one. */
static inline const sonde__native *sonde__native_of(const sonde__child *c)
{
	return c->fam && c->fam->type == SONDE_TYPE_HISTOGRAM ? (const sonde__native *)c->ext
	                                                      : NULL;
}

/* Family configuration from options (histograms): validated, defaults
 * applied, stored in f. SONDE_EINVAL. */
int sonde__native_config(const sonde_metric_opts *o, int *mode, int32_t *schema, double *zt,
                         double *max_zt, uint32_t *max_buckets, double *min_reset_s);
/* Child state (under the family mutex, before publication): its first
 * generation. SONDE_ENOMEM, SONDE_ELIMIT (no cells). Free: with the child. */
int sonde__native_child_init(sonde__child *c, const sonde_family *f);
void sonde__native_child_free(sonde__child *c);
/* One observation of a non-NaN v (any sign, infinities in the extreme
 * buckets). Lock-free except when it switches generations. */
void sonde__native_observe(sonde__child *c, double v);
/* Merges every generation since the last reset (call under the family
 * mutex; takes the cells lock). Allocates the bucket arrays: free them
 * with sonde__native_read_free. SONDE_ENOMEM. */
int sonde__native_snapshot(const sonde__child *c, sonde__native_read *out);
void sonde__native_read_free(sonde__native_read *r);

/* The bucket index of a > 0 (finite) at schema s; and bucket k's upper
 * bound 2^(k/2^s) (tests compare them with Prometheus' definitions). */
int32_t sonde__native_key(double a, int32_t schema);
double sonde__native_upper(int32_t key, int32_t schema);
/* The largest schema whose growth factor 2^(2^-s) is at most factor
 * (factor > 1), clamped to -4..8: client_golang's choice. */
int32_t sonde__native_schema_for(double factor);

#endif
