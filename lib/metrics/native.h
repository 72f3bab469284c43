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

#include <float.h>

#include "metrics/cells.h"
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

/* ---- the hot path, inlined into sonde_histogram_observe ------------------------ */

#define SONDE__NH_SLICE_BITS 10
extern uint16_t sonde__native_slice_first[SONDE_NATIVE_SCHEMA_MAX + 1][1u << SONDE__NH_SLICE_BITS];

static inline const double *sonde__native_row(int32_t s)
{
	return sonde__native_bounds + ((1u << s) - 2);
}

#define SONDE__NH_MANT_MASK ((UINT64_C(1) << 52) - 1)

/* floor(x / 2^s) for any sign, without relying on >> of a negative. */
static inline int32_t sonde__native_floor_shift(int32_t x, int32_t s)
{
	return x >= 0 ? x >> s : -(int32_t)(((uint32_t)-x + (1u << s) - 1) >> s);
}

static inline int32_t sonde__native_key_of(double a, int32_t schema)
{
	uint64_t bits = sonde__dbl_bits(a), m = bits & SONDE__NH_MANT_MASK;
	int32_t e = (int32_t)(bits >> 52), exp;

	if (SONDE_UNLIKELY(e == 0)) {
		/* subnormal: move the top set bit to bit 52 */
		int lz = __builtin_clzll(m) - 11;
		m = (m << lz) & SONDE__NH_MANT_MASK;
		exp = -1021 - lz;
	} else {
		exp = e - 1022;
	}
	if (schema > 0) {
		uint32_t len = 1u << schema,
		         j = sonde__native_slice_first[schema][m >> (52 - SONDE__NH_SLICE_BITS)];
		double frac = sonde__bits_dbl(m | (UINT64_C(0x3fe) << 52));
		if (j < len && sonde__native_row(schema)[j] < frac)
			j++;
		return (int32_t)j + (exp - 1) * (int32_t)len;
	}
	if (m == 0)
		exp--; /* a power of two ends the bucket below */
	return sonde__native_floor_shift(exp + (1 << -schema) - 1, -schema);
}

/* A sign's span word: lo, hi and base, each biased by SONDE__NH_KEY_BIAS into 21
 * bits, and SONDE__NH_FROZEN (bit 63) once a newer generation replaced this one.
 * Indices stay within +-2^19 (schema 8 spans -274944..262144). lo > hi
 * means no bucket yet. */
#define SONDE__NH_KEY_BITS 21
#define SONDE__NH_KEY_BIAS (1 << 20)
#define SONDE__NH_KEY_MASK ((UINT64_C(1) << SONDE__NH_KEY_BITS) - 1)
#define SONDE__NH_FROZEN (UINT64_C(1) << 63)
#define SONDE__NH_EMPTY_SPAN sonde__nh_pack(1, 0, 0)

static inline uint64_t sonde__nh_pack(int32_t lo, int32_t hi, int32_t base)
{
	return (uint64_t)(lo + SONDE__NH_KEY_BIAS) |
	       (uint64_t)(hi + SONDE__NH_KEY_BIAS) << SONDE__NH_KEY_BITS |
	       (uint64_t)(base + SONDE__NH_KEY_BIAS) << (2 * SONDE__NH_KEY_BITS);
}
static inline int32_t sonde__nh_span_lo(uint64_t r)
{
	return (int32_t)(r & SONDE__NH_KEY_MASK) - SONDE__NH_KEY_BIAS;
}
static inline int32_t sonde__nh_span_hi(uint64_t r)
{
	return (int32_t)((r >> SONDE__NH_KEY_BITS) & SONDE__NH_KEY_MASK) - SONDE__NH_KEY_BIAS;
}
static inline int32_t sonde__nh_span_base(uint64_t r)
{
	return (int32_t)((r >> (2 * SONDE__NH_KEY_BITS)) & SONDE__NH_KEY_MASK) - SONDE__NH_KEY_BIAS;
}

typedef struct sonde__native_gen {
	uint32_t cell; /* [sum][zero][W pos][W neg] */
	int32_t schema;
	double zt;
	bool reset;     /* a scrape stops here: older generations were reset */
	uint32_t depth; /* generations since the last reset, this one included */
	_Atomic uint64_t span[2];
	struct sonde__native_gen *prev;
	int64_t dead_ms;                     /* dead list: when it was dropped */
	struct sonde__native_gen *dead_next; /* under the family mutex */
} sonde__native_gen;

struct sonde__native {
	_Atomic(sonde__native_gen *) cur;
	uint32_t w; /* bucket limit per sign */
	int32_t schema0;
	double zt0, max_zt;
	int64_t min_reset_ns, last_reset_ns; /* last_reset_ns under the family mutex */
	sonde__native_gen *dead;             /* reset generations awaiting the grace period */
};

#define SONDE__NH_CELL_SUM 0
#define SONDE__NH_CELL_ZERO 1
#define SONDE__NH_CELL_BUCKETS 2

uint64_t sonde__native_extend(sonde__child *c, sonde__native *nh, sonde__native_gen *g, int side,
                              int32_t k, double v, bool *dropped);

__attribute__((always_inline)) static inline void sonde__native_observe(sonde__child *c, double v)
{
	sonde__native *nh = c->ext;
	double a = v < 0 ? -v : v;
	bool dropped = false;

	if (a > DBL_MAX)
		a = DBL_MAX; /* infinities count in the extreme bucket */
	for (;;) {
		/* acquire: pairs with the release in next_gen() */
		sonde__native_gen *g = sonde__load_acquire(&nh->cur);
		uint32_t off = SONDE__NH_CELL_ZERO;
		sonde__cell_t *cells;

		if (a > g->zt) {
			int side = v < 0;
			int32_t k = sonde__native_key_of(a, g->schema), pos;
			uint64_t r = sonde__load_relaxed(&g->span[side]);
			if (SONDE_UNLIKELY((r & SONDE__NH_FROZEN) || k < sonde__nh_span_lo(r) ||
			                   k > sonde__nh_span_hi(r))) {
				r = sonde__native_extend(c, nh, g, side, k, v, &dropped);
				if (dropped)
					return;
				if (!r)
					continue;
			}
			/* k is within w - 1 of base: one conditional add, no
			 * division, maps it into the sign's w cells */
			pos = k - sonde__nh_span_base(r);
			if (pos < 0)
				pos += (int32_t)nh->w;
			off = SONDE__NH_CELL_BUCKETS + (uint32_t)side * nh->w + (uint32_t)pos;
		}
		cells = sonde__cell(g->cell);
		sonde__cell_add_u64(cells + off, 1);
		sonde__cell_add_f64(cells + SONDE__NH_CELL_SUM, v);
		return;
	}
}

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
