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
 * [lo, lo + n) and base of each sign are one atomic word.
 *
 * Observing is lock-free on the thread's own cells, and flat: the child's
 * native state, one acquire load of the current generation (whose first
 * cache line holds all the observation reads), the bucket index from the
 * double's bits and one slice-table load (no libm, no search), one relaxed
 * load of the sign's span word and one unsigned comparison against it, a
 * branch-free cell position, two cell adds; no atomic read-modify-write
 * and no branch that depends on the value but the rare ones below. Those
 * (subnormals, infinities, an index outside the span) go to an out-of-line
 * slow path that recomputes everything with the reference index. A value
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
 *   W, key fields, prev                                         acquire
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

/* ---- bucket indices -------------------------------------------------------------
 * The reference definition (client_golang's and Prometheus'): a = frac *
 * 2^exp with frac in [0.5, 1) (frexp's split, read from the bits). Schema
 * s > 0: the first j with bound[s][j] >= frac, plus (exp - 1) * 2^s. Schema
 * s <= 0: exp, one less when frac is exactly 0.5, then divided by 2^-s
 * rounding up. sonde__native_key_of computes it for any double > 0; the hot
 * path computes the same index with one table load (sonde__native_gen_key,
 * below), and a test compares the two over every schema. */

#define SONDE__NH_MANT_MASK ((UINT64_C(1) << 52) - 1)

static inline const double *sonde__native_row(int32_t s)
{
	return sonde__native_bounds + ((1u << s) - 2);
}

/* floor(x / 2^s) for any sign, without relying on >> of a negative. */
static inline int32_t sonde__native_floor_shift(int32_t x, int32_t s)
{
	return x >= 0 ? x >> s : -(int32_t)(((uint32_t)-x + (1u << s) - 1) >> s);
}

/* The reference: any finite a > 0 (subnormals included), any schema. */
int32_t sonde__native_key_of(double a, int32_t schema);

/* Slice tables. Schema s >= 0 splits the fractions [0.5, 1) into 2^(s+1)
 * equal slices by the mantissa's top s + 1 bits. Bounds of schema s are at
 * least 0.5 * (2^(2^-s) - 1) > 0.69 * 2^-s * 0.5 apart, a slice is 2^-(s+1)
 * * 0.5 wide, so no slice holds two bounds. An entry is j << 52 | t: j the
 * number of bounds below the slice, t the mantissa of the bound inside it
 * (all ones when none), so the bounds below frac are j + (m > t), m the
 * mantissa of frac. Schemas below 0 use schema 0's table (one bound, 0.5)
 * and divide. 2 + 4 + ... + 512 entries: 8 KiB, filled by
 * sonde__native_tables_init (a histogram touches only its schema's row:
 * schema 3's is 128 bytes). */
#define SONDE__NH_TAB_ENTRIES 1022
extern uint64_t sonde__native_tab[SONDE__NH_TAB_ENTRIES];
void sonde__native_tables_init(void);

/* A sign's span word: lo (the lowest bucket index held), n (how many
 * indices from lo are held) and base (the first index the generation saw,
 * held in cell 0 of the sign), each index biased by SONDE__NH_KEY_BIAS
 * into 21 bits, and SONDE__NH_FROZEN (bit 63) once a newer generation
 * replaced this one. Indices stay within +-2^19 (schema 8 spans
 * -274944..262144). n = 0: no bucket yet. Storing lo and n (not lo and hi)
 * makes the hot path's membership test one unsigned comparison. */
#define SONDE__NH_KEY_BITS 21
#define SONDE__NH_KEY_BIAS (1 << 20)
#define SONDE__NH_KEY_MASK ((UINT64_C(1) << SONDE__NH_KEY_BITS) - 1)
#define SONDE__NH_FROZEN (UINT64_C(1) << 63)
#define SONDE__NH_EMPTY_SPAN sonde__nh_pack(1, 0, 0)

/* lo > hi packs an empty span */
static inline uint64_t sonde__nh_pack(int32_t lo, int32_t hi, int32_t base)
{
	uint32_t n = lo > hi ? 0 : (uint32_t)(hi - lo + 1);
	return (uint64_t)(lo + SONDE__NH_KEY_BIAS) | (uint64_t)n << SONDE__NH_KEY_BITS |
	       (uint64_t)(base + SONDE__NH_KEY_BIAS) << (2 * SONDE__NH_KEY_BITS);
}
static inline int32_t sonde__nh_span_lo(uint64_t r)
{
	return (int32_t)(r & SONDE__NH_KEY_MASK) - SONDE__NH_KEY_BIAS;
}
static inline int32_t sonde__nh_span_hi(uint64_t r)
{
	return sonde__nh_span_lo(r) + (int32_t)((r >> SONDE__NH_KEY_BITS) & SONDE__NH_KEY_MASK) - 1;
}
static inline int32_t sonde__nh_span_base(uint64_t r)
{
	return (int32_t)((r >> (2 * SONDE__NH_KEY_BITS)) & SONDE__NH_KEY_MASK) - SONDE__NH_KEY_BIAS;
}

/* A generation. Its first 48 bytes hold everything an observation reads,
 * all of it immutable after publication but the span words. */
typedef struct sonde__native_gen {
	/* hot: read by every observation */
	uint64_t zt_bits;         /* the zero threshold's bits: |v|'s bits <= it is a zero */
	const uint64_t *tab;      /* schema max(s, 0)'s slice table */
	_Atomic uint64_t span[2]; /* positive, negative */
	uint32_t cell;            /* [sum][zero][W pos][W neg] */
	uint32_t w;               /* W, the bucket limit per sign (the native's) */
	uint32_t key_add;         /* biased index = (j + exp field * 2^up + key_add) >> down */
	uint8_t tab_shift;        /* slice = mantissa >> tab_shift */
	uint8_t up, down;         /* max(s, 0), max(-s, 0) */
	/* cold */
	int32_t schema;
	double zt;
	bool reset;     /* a scrape stops here: older generations were reset */
	uint32_t depth; /* generations since the last reset, this one included */
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

/* The biased bucket index (index + SONDE__NH_KEY_BIAS) of a normal a > 0
 * (exponent field e in 1..2046, mantissa m) at g's schema: one table load,
 * one comparison, a shift and an add. For s > 0: j + (e - 1023) * 2^s +
 * 2^20 (key_add = 2^20 - 1023 * 2^s, the exponent's 2^s multiple an exact
 * shift). For s <= 0, with d = -s: the schema-0 index k0 = (m > 0) + e -
 * 1023 divided by 2^d rounding up, biased: (k0 + 2^(20+d) + 2^d - 1) >> d
 * (key_add = 2^(20+d) + 2^d - 1 - 1023: all terms stay non-negative and
 * below 2^32, so unsigned arithmetic is exact). */
static inline uint32_t sonde__native_gen_key(const sonde__native_gen *g, uint32_t e, uint64_t m)
{
	uint64_t ent = g->tab[m >> g->tab_shift];
	uint32_t j = (uint32_t)(ent >> 52) + (m > (ent & SONDE__NH_MANT_MASK));
	return (j + (e << g->up) + g->key_add) >> g->down;
}

/* Fills g's zt_bits and key fields for schema and zero threshold zt (g's
 * construction; tests build keys with it). */
void sonde__native_gen_key_init(sonde__native_gen *g, int32_t schema, double zt);

/* Everything the hot path leaves out: subnormals and infinities, an index
 * outside the span (extension, generation switches), under the same
 * contract as sonde__native_observe. Not inlined. */
void sonde__native_observe_slow(sonde__child *c, double v);

/* v not NaN. Lock-free on the thread's own cells: loads of the child's
 * native state, its current generation and one span word, one table load,
 * two cell adds. Anything unusual goes to sonde__native_observe_slow. */
__attribute__((always_inline)) static inline void sonde__native_observe(sonde__child *c, double v)
{
	sonde__native *nh = c->ext;
	/* acquire: pairs with the release in next_gen(); g's fields are
	 * immutable after it */
	sonde__native_gen *g = sonde__load_acquire(&nh->cur);
	uint64_t bits = sonde__dbl_bits(v), ab = bits & ~(UINT64_C(1) << 63);
	uint32_t off = SONDE__NH_CELL_ZERO;
	sonde__cell_t *cells;

	/* |v| > zt compared as bits: both are non-negative doubles */
	if (ab > g->zt_bits) {
		uint32_t e = (uint32_t)(ab >> 52), side = (uint32_t)(bits >> 63), k, d;
		uint64_t r;
		if (SONDE_UNLIKELY(e - 1 >= 0x7fe)) /* subnormal or infinite */
			goto slow;
		k = sonde__native_gen_key(g, e, ab & SONDE__NH_MANT_MASK);
		r = sonde__load_relaxed(&g->span[side]);
		/* k in [lo, lo + n): one unsigned comparison. A frozen span (a
		 * switch under way or done) still takes the indices it holds:
		 * the scrape merges g until the next reset. */
		d = k - (uint32_t)(r & SONDE__NH_KEY_MASK);
		if (SONDE_UNLIKELY(d >= (uint32_t)((r >> SONDE__NH_KEY_BITS) & SONDE__NH_KEY_MASK)))
			goto slow;
		/* k is within w - 1 of base: adding w when k < base (a mask,
		 * not a branch: which side of base a value falls on is as
		 * random as the values) maps it into the sign's w cells */
		d = k - (uint32_t)((r >> (2 * SONDE__NH_KEY_BITS)) & SONDE__NH_KEY_MASK);
		d += g->w & (0u - (d >> 31));
		off = SONDE__NH_CELL_BUCKETS + (g->w & (0u - side)) + d;
	}
	cells = sonde__cell(g->cell);
	sonde__cell_add_u64(cells + off, 1);
	sonde__cell_add_f64(cells + SONDE__NH_CELL_SUM, v);
	return;
slow:
	sonde__native_observe_slow(c, v);
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
