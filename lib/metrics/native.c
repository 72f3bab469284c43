/* lib/metrics/native.c - native histograms: bucket indices, the hot path,
 * generation switches and the merging read. See native.h for the design and
 * the synchronization table. */
#include <float.h>
#include <math.h>
#include <pthread.h>

#include "metrics/cells.h"
#include "metrics/native.h"

uint64_t sonde__native_tab[SONDE__NH_TAB_ENTRIES];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Schema s's slice table starts at entry 2^(s+1) - 2. */
static inline uint64_t *tab_row(int32_t s)
{
	return sonde__native_tab + ((2u << s) - 2);
}

/* The mantissa of the bound of schema s's row j (j < 2^s; schema 0's
 * single bound is 0.5, mantissa 0). */
static uint64_t bound_mant(int32_t s, uint32_t j)
{
	return s == 0 ? 0 : sonde__dbl_bits(sonde__native_row(s)[j]) & SONDE__NH_MANT_MASK;
}

static void tables_init(void)
{
	int32_t s;

	for (s = 0; s <= SONDE_NATIVE_SCHEMA_MAX; s++) {
		uint64_t *row = tab_row(s);
		uint32_t len = 1u << s, nslices = 2u << s, shift = 52 - (uint32_t)(s + 1), t, j = 0;
		for (t = 0; t < nslices; t++) {
			uint64_t start = (uint64_t)t << shift, end = (uint64_t)(t + 1) << shift,
			         inside = SONDE__NH_MANT_MASK;
			/* the bounds strictly below the slice's first mantissa */
			while (j < len && bound_mant(s, j) < start)
				j++;
			/* at most one bound in [start, end) (see native.h) */
			if (j < len && bound_mant(s, j) < end)
				inside = bound_mant(s, j);
			row[t] = (uint64_t)j << 52 | inside;
		}
	}
}

void sonde__native_tables_init(void)
{
	pthread_once(&tables_once, tables_init);
}

int32_t sonde__native_key_of(double a, int32_t schema)
{
	uint64_t bits = sonde__dbl_bits(a), m = bits & SONDE__NH_MANT_MASK;
	int32_t e = (int32_t)(bits >> 52), exp;

	if (e == 0) {
		/* subnormal: move the top set bit to bit 52 */
		int lz = __builtin_clzll(m) - 11;
		m = (m << lz) & SONDE__NH_MANT_MASK;
		exp = -1021 - lz;
	} else {
		exp = e - 1022;
	}
	if (schema > 0) {
		/* the first j with bound[j] >= frac, a binary search over the
		 * generated row (no libm) */
		const double *row = sonde__native_row(schema);
		double frac = sonde__bits_dbl(m | (UINT64_C(0x3fe) << 52));
		uint32_t lo = 0, hi = 1u << schema;
		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			if (row[mid] < frac)
				lo = mid + 1;
			else
				hi = mid;
		}
		return (int32_t)lo + (exp - 1) * (1 << schema);
	}
	if (m == 0)
		exp--; /* a power of two ends the bucket below */
	return sonde__native_floor_shift(exp + (1 << -schema) - 1, -schema);
}

int32_t sonde__native_key(double a, int32_t schema)
{
	if (!(a > 0))
		return 0;
	return sonde__native_key_of(a > DBL_MAX ? DBL_MAX : a, schema);
}

/* 2^e as a double: 0 below the subnormals, +Inf above DBL_MAX. */
static double pow2i(int32_t e)
{
	if (e > 1023)
		return INFINITY;
	if (e >= -1022)
		return sonde__bits_dbl((uint64_t)(e + 1023) << 52);
	if (e >= -1074)
		return sonde__bits_dbl(UINT64_C(1) << (e + 1074));
	return 0;
}

double sonde__native_upper(int32_t key, int32_t schema)
{
	if (schema > 0) {
		int32_t len = 1 << schema, q = sonde__native_floor_shift(key, schema),
		        r = key - q * len;
		/* 2^q * 2^(r/len) = 2^(q+1) * bound[r] (bound[r] = 2^(r/len - 1)) */
		return r == 0 ? pow2i(q) : pow2i(q + 1) * sonde__native_row(schema)[r];
	}
	if (key > (1 << 11) || key < -(1 << 11))
		return key > 0 ? INFINITY : 0;
	return pow2i(key * (1 << -schema));
}

int32_t sonde__native_schema_for(double factor)
{
	int32_t s;

	/* the coarsest schema whose factor 2^(2^-s) does not exceed factor */
	for (s = SONDE_NATIVE_SCHEMA_MIN; s < SONDE_NATIVE_SCHEMA_MAX; s++)
		if ((s <= 0 ? pow2i(1 << -s) : 2 * sonde__native_row(s)[1]) <= factor)
			return s;
	return SONDE_NATIVE_SCHEMA_MAX;
}

/* ---- state -------------------------------------------------------------------- */

/* Generations since a reset that may widen the zero bucket; after that a
 * switch halves the resolution. With the 12 halvings and the ~132 widenings
 * at schema -4, a chain stays under SONDE__NH_MAX_CHAIN. */
#define SONDE__NH_MAX_WIDEN_DEPTH 48
#define SONDE__NH_MAX_CHAIN 256

int sonde__native_config(const sonde_metric_opts *o, int *mode, int32_t *schema, double *zt,
                         double *max_zt, uint32_t *max_buckets, double *min_reset_s)
{
	*mode = o->native;
	if (o->native == SONDE_NATIVE_NONE)
		return SONDE_OK;
	if (o->type != SONDE_TYPE_HISTOGRAM)
		return sonde__fail(SONDE_EINVAL, "%s: native buckets are only for histograms",
		                   o->name);
	if (o->native != SONDE_NATIVE_ONLY && o->native != SONDE_NATIVE_AND_CLASSIC)
		return sonde__fail(SONDE_EINVAL, "%s: unknown native mode %d", o->name,
		                   (int)o->native);
	if (o->native == SONDE_NATIVE_ONLY && (o->buckets || o->bucket_count))
		return sonde__fail(SONDE_EINVAL,
		                   "%s: a native-only histogram takes no classic buckets (use "
		                   "SONDE_NATIVE_AND_CLASSIC)",
		                   o->name);
	if (o->native_bucket_factor != 0 &&
	    !(o->native_bucket_factor > 1 && o->native_bucket_factor <= 65536))
		return sonde__fail(SONDE_EINVAL,
		                   "%s: native_bucket_factor must be > 1 and <= 65536 (0: 1.1)",
		                   o->name);
	if (isnan(o->native_zero_threshold) || isinf(o->native_zero_threshold) ||
	    isnan(o->native_max_zero_threshold) || isinf(o->native_max_zero_threshold) ||
	    o->native_max_zero_threshold < 0)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: native zero thresholds must be finite (max >= 0)", o->name);
	if (o->native_max_buckets > SONDE_NATIVE_MAX_BUCKETS_LIMIT)
		return sonde__fail(SONDE_EINVAL, "%s: native_max_buckets %u is over the limit %d",
		                   o->name, o->native_max_buckets, SONDE_NATIVE_MAX_BUCKETS_LIMIT);
	if (!(o->native_min_reset_seconds >= 0) || isinf(o->native_min_reset_seconds))
		return sonde__fail(SONDE_EINVAL, "%s: native_min_reset_seconds must be >= 0",
		                   o->name);
	sonde__native_tables_init();
	*schema = sonde__native_schema_for(o->native_bucket_factor ? o->native_bucket_factor : 1.1);
	/* 2^-128, client_golang's DefNativeHistogramZeroThreshold; negative:
	 * only exact zeros */
	*zt = o->native_zero_threshold == 0  ? pow2i(-128)
	      : o->native_zero_threshold < 0 ? 0
	                                     : o->native_zero_threshold;
	*max_zt = o->native_max_zero_threshold;
	*max_buckets =
	        o->native_max_buckets ? o->native_max_buckets : SONDE_NATIVE_DEFAULT_MAX_BUCKETS;
	*min_reset_s = o->native_min_reset_seconds;
	return SONDE_OK;
}

void sonde__native_gen_key_init(sonde__native_gen *g, int32_t schema, double zt)
{
	sonde__native_tables_init();
	g->zt_bits = sonde__dbl_bits(zt);
	if (schema >= 0) {
		g->tab = tab_row(schema);
		g->tab_shift = (uint8_t)(52 - (schema + 1));
		g->up = (uint8_t)schema;
		g->down = 0;
		g->key_add = SONDE__NH_KEY_BIAS - (1023u << schema);
	} else {
		uint32_t d = (uint32_t)-schema;
		g->tab = tab_row(0);
		g->tab_shift = 51;
		g->up = 0;
		g->down = (uint8_t)d;
		g->key_add = ((uint32_t)SONDE__NH_KEY_BIAS << d) + (1u << d) - 1 - 1023;
	}
}

static sonde__native_gen *gen_new(const sonde__native *nh, int32_t schema, double zt)
{
	uint8_t kinds[SONDE__NH_CELL_BUCKETS + 2 * SONDE_NATIVE_MAX_BUCKETS_LIMIT];
	uint32_t n = SONDE__NH_CELL_BUCKETS + 2 * nh->w, i;
	sonde__native_gen *g = sonde__calloc(1, sizeof(*g));
	int rc;

	if (!g) {
		sonde__fail(SONDE_ENOMEM, "native histogram: out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		kinds[i] = SONDE_CELL_U64;
	kinds[SONDE__NH_CELL_SUM] = SONDE_CELL_F64;
	if ((rc = sonde__cells_alloc(n, kinds, &g->cell))) {
		sonde__free(g, sizeof(*g));
		sonde__fail(rc, "native histogram: %s",
		            rc == SONDE_ELIMIT ? "no cells left" : "out of memory");
		return NULL;
	}
	g->schema = schema;
	g->zt = zt;
	g->w = nh->w;
	sonde__native_gen_key_init(g, schema, zt);
	sonde__init_unshared(&g->span[0], SONDE__NH_EMPTY_SPAN);
	sonde__init_unshared(&g->span[1], SONDE__NH_EMPTY_SPAN);
	return g;
}

static void gen_free(const sonde__native *nh, sonde__native_gen *g)
{
	sonde__cells_free(g->cell, SONDE__NH_CELL_BUCKETS + 2 * nh->w);
	sonde__free(g, sizeof(*g));
}

int sonde__native_child_init(sonde__child *c, const sonde_family *f)
{
	sonde__native *nh = sonde__calloc(1, sizeof(*nh));
	sonde__native_gen *g;

	if (!nh)
		return SONDE_ENOMEM;
	nh->w = f->n_max_buckets;
	nh->schema0 = f->n_schema;
	nh->zt0 = f->n_zt;
	nh->max_zt = f->n_max_zt;
	nh->min_reset_ns = (int64_t)(f->n_min_reset_s * 1e9);
	nh->last_reset_ns = sonde_now_mono_ns();
	g = gen_new(nh, nh->schema0, nh->zt0);
	if (!g) {
		int rc = sonde_last_status();
		sonde__free(nh, sizeof(*nh));
		return rc;
	}
	g->depth = 1;
	sonde__init_unshared(&nh->cur, g);
	c->ext = nh;
	return SONDE_OK;
}

void sonde__native_child_free(sonde__child *c)
{
	sonde__native *nh = c->ext;
	sonde__native_gen *g, *p;

	if (!nh)
		return;
	for (g = sonde__load_relaxed(&nh->cur); g; g = p) {
		p = g->prev;
		gen_free(nh, g);
	}
	for (g = nh->dead; g; g = p) {
		p = g->dead_next;
		gen_free(nh, g);
	}
	sonde__free(nh, sizeof(*nh));
	c->ext = NULL;
}

/* ceil(k / 2): bucket k of schema s inside schema s - 1. */
static inline int32_t halve(int32_t k)
{
	return sonde__native_floor_shift(k + 1, 1);
}

static int32_t convert(int32_t k, int32_t from, int32_t to)
{
	while (from > to) {
		k = halve(k);
		from--;
	}
	return k;
}

/* The largest bucket index whose bucket lies entirely at or below zt
 * (those counts belong to the zero bucket), at schema s. */
static int32_t zero_key(double zt, int32_t s)
{
	int32_t k;

	if (!(zt > 0))
		return INT32_MIN;
	k = sonde__native_key_of(zt > DBL_MAX ? DBL_MAX : zt, s);
	return sonde__native_upper(k, s) <= zt ? k : k - 1;
}

/* Frees the generations a reset dropped once no observer can still be
 * writing through them (the cells' grace period). */
static void reap(sonde__native *nh, int64_t now_ms)
{
	sonde__native_gen **pp = &nh->dead, *g;

	while ((g = *pp)) {
		if (now_ms - g->dead_ms >= sonde__cells_grace_ms) {
			*pp = g->dead_next;
			gen_free(nh, g);
		} else {
			pp = &g->dead_next;
		}
	}
}

/* Under the family mutex: g (the current generation) cannot take bucket k
 * of sign side (v the observation) within the limit. Builds and publishes
 * the next generation. False when none could be made (the observation is
 * then dropped and counted). */
static bool next_gen(sonde__native *nh, sonde__native_gen *g, int side, int32_t k, double v)
{
	int32_t lo[2], hi[2], schema = g->schema, s, zk;
	double zt = g->zt, a = v < 0 ? -v : v;
	int64_t now = sonde_now_mono_ns();
	bool reset = false;
	uint64_t r;
	sonde__native_gen *n;

	/* freeze: from here no observer extends g's spans */
	for (s = 0; s < 2; s++) {
		r = sonde__load_relaxed(&g->span[s]);
		while (!sonde__cas_weak(&g->span[s], &r, r | SONDE__NH_FROZEN))
			;
		lo[s] = sonde__nh_span_lo(r);
		hi[s] = sonde__nh_span_hi(r);
	}
	if (lo[side] > hi[side])
		lo[side] = hi[side] = k;
	else if (k < lo[side])
		lo[side] = k;
	else if (k > hi[side])
		hi[side] = k;
	while ((lo[0] <= hi[0] && hi[0] - lo[0] >= (int32_t)nh->w) ||
	       (lo[1] <= hi[1] && hi[1] - lo[1] >= (int32_t)nh->w)) {
		if (nh->min_reset_ns > 0 && now - nh->last_reset_ns >= nh->min_reset_ns) {
			/* 1. reset: start over at the configured resolution */
			reset = true;
			schema = nh->schema0;
			zt = nh->zt0;
			lo[0] = lo[1] = 1;
			hi[0] = hi[1] = 0;
			if (a > zt) {
				k = sonde__native_key_of(a > DBL_MAX ? DBL_MAX : a, schema);
				lo[side] = hi[side] = k;
			}
			break;
		}
		{
			/* the lowest populated bucket of either sign */
			int32_t low = INT32_MAX;
			double ub;
			for (s = 0; s < 2; s++)
				if (lo[s] <= hi[s] && lo[s] < low)
					low = lo[s];
			ub = sonde__native_upper(low, schema);
			/* widenings are bounded: at most SONDE__NH_MAX_WIDEN_DEPTH generations
			 * since a reset widen, and at schema -4 (past the limit) at
			 * most the ~132 buckets of the whole double range */
			if (((ub <= nh->max_zt && g->depth < SONDE__NH_MAX_WIDEN_DEPTH) ||
			     schema == SONDE_NATIVE_SCHEMA_MIN) &&
			    ub < INFINITY) {
				/* 2. widen the zero bucket over the lowest bucket (past
				 * the limit only at the coarsest schema) */
				zt = ub;
				for (s = 0; s < 2; s++)
					if (lo[s] <= low)
						lo[s] = low + 1;
				continue;
			}
		}
		/* 3. halve the resolution */
		if (schema == SONDE_NATIVE_SCHEMA_MIN)
			break; /* unreachable: at -4 the lowest bucket below the top
			          one always widens (see the check below) */
		schema--;
		for (s = 0; s < 2; s++)
			if (lo[s] <= hi[s]) {
				lo[s] = halve(lo[s]);
				hi[s] = halve(hi[s]);
			}
	}
	/* a span wider than the window would index past the run: never
	 * publish one (the observation is dropped instead) */
	n = (lo[0] <= hi[0] && hi[0] - lo[0] >= (int32_t)nh->w) ||
	                    (lo[1] <= hi[1] && hi[1] - lo[1] >= (int32_t)nh->w)
	            ? NULL
	            : gen_new(nh, schema, zt);
	if (!n) {
		/* thaw g: it stays current */
		for (s = 0; s < 2; s++) {
			r = sonde__load_relaxed(&g->span[s]);
			while (!sonde__cas_weak(&g->span[s], &r, r & ~SONDE__NH_FROZEN))
				;
		}
		return false;
	}
	zk = zero_key(zt, schema);
	for (s = 0; s < 2; s++) {
		if (lo[s] <= zk)
			lo[s] = zk + 1;
		if (lo[s] <= hi[s])
			sonde__init_unshared(&n->span[s], sonde__nh_pack(lo[s], hi[s], lo[s]));
	}
	n->reset = reset;
	n->depth = reset ? 1 : g->depth + 1;
	n->prev = g;
	if (reset) {
		/* everything before n is dropped: reclaim it after the grace
		 * period (an observer may still be inside a write through it) */
		sonde__native_gen *d, *p;
		reap(nh, now / 1000000);
		for (d = g; d; d = p) {
			p = d->prev;
			d->dead_ms = now / 1000000;
			d->dead_next = nh->dead;
			nh->dead = d;
		}
		n->prev = NULL;
		nh->last_reset_ns = now;
	}
	/* release: pairs with the acquire in observe and snapshot; publishes
	 * n's spans and fields */
	sonde__store_release(&nh->cur, n);
	return true;
}

/* Bucket k of sign side in g's span: the span word holding it (extended by
 * a CAS when that stays within the limit), or 0 when only a generation
 * switch can take it. */
static uint64_t span_take(const sonde__native *nh, sonde__native_gen *g, int side, int32_t k)
{
	uint64_t r = sonde__load_relaxed(&g->span[side]), want;

	for (;;) {
		int32_t lo = sonde__nh_span_lo(r), hi = sonde__nh_span_hi(r);
		if (lo <= k && k <= hi)
			return r; /* held already (frozen or not, as on the hot path) */
		if (r & SONDE__NH_FROZEN)
			return 0;
		if (lo > hi) {
			want = sonde__nh_pack(k, k, k);
		} else {
			if (k < lo)
				lo = k;
			if (k > hi)
				hi = k;
			if (hi - lo >= (int32_t)nh->w)
				return 0;
			want = sonde__nh_pack(lo, hi, sonde__nh_span_base(r));
		}
		if (sonde__cas_weak(&g->span[side], &r, want))
			return want;
	}
}

/* What the hot path leaves out, from the start: the reference index (any
 * double, infinities counted in the extreme bucket), span extension and
 * generation switches. */
void sonde__native_observe_slow(sonde__child *c, double v)
{
	sonde__native *nh = c->ext;
	double a = v < 0 ? -v : v;
	int side = v < 0;

	if (a > DBL_MAX)
		a = DBL_MAX;
	for (;;) {
		/* acquire: pairs with the release in next_gen() */
		sonde__native_gen *g = sonde__load_acquire(&nh->cur);
		uint32_t off = SONDE__NH_CELL_ZERO;
		sonde__cell_t *cells;

		if (a > g->zt) {
			int32_t k = sonde__native_key_of(a, g->schema), pos;
			uint64_t r = span_take(nh, g, side, k);
			if (!r) {
				/* a switch: under the family mutex, unless another
				 * thread made it; then start over on the new one */
				bool dropped = false;
				sonde__fam_lock(c->fam);
				if (sonde__load_relaxed(&nh->cur) == g &&
				    !next_gen(nh, g, side, k, v)) {
					sonde__self_count_rejected(SONDE_REJECT_OOM);
					dropped = true;
				}
				sonde__fam_unlock(c->fam);
				if (dropped)
					return;
				continue;
			}
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

/* ---- reading -------------------------------------------------------------------- */

void sonde__native_read_free(sonde__native_read *r)
{
	if (r->pos.count)
		sonde__free(r->pos.count, r->pos.n * sizeof(uint64_t));
	if (r->neg.count)
		sonde__free(r->neg.count, r->neg.n * sizeof(uint64_t));
	r->pos.count = r->neg.count = NULL;
	r->pos.n = r->neg.n = 0;
}

int sonde__native_snapshot(const sonde__child *c, sonde__native_read *out)
{
	const sonde__native *nh = c->ext;
	/* acquire: pairs with the release in next_gen() */
	sonde__native_gen *top = sonde__load_acquire(&((sonde__native *)nh)->cur), *g;
	int32_t lo[2] = {INT32_MAX, INT32_MAX}, hi[2] = {INT32_MIN, INT32_MIN}, zk;
	uint64_t spans[SONDE__NH_MAX_CHAIN][2];
	int ng = 0, s;
	sonde__native_side *sd[2];

	memset(out, 0, sizeof(*out));
	sd[0] = &out->pos;
	sd[1] = &out->neg;
	out->schema = top->schema;
	out->zero_threshold = top->zt;
	zk = zero_key(top->zt, top->schema);
	/* the union of every generation's spans, at the newest schema (the
	 * span words are read once: buckets an observer adds after this are
	 * left for the next scrape, and so are their counts) */
	for (g = top; g && ng < SONDE__NH_MAX_CHAIN; g = g->reset ? NULL : g->prev, ng++) {
		for (s = 0; s < 2; s++) {
			uint64_t r = sonde__load_relaxed(&g->span[s]);
			int32_t l = sonde__nh_span_lo(r), h = sonde__nh_span_hi(r);
			spans[ng][s] = r;
			if (l > h)
				continue;
			l = convert(l, g->schema, top->schema);
			h = convert(h, g->schema, top->schema);
			if (l <= zk)
				l = zk + 1;
			if (l > h)
				continue;
			if (l < lo[s])
				lo[s] = l;
			if (h > hi[s])
				hi[s] = h;
		}
	}
	for (s = 0; s < 2; s++) {
		if (lo[s] > hi[s])
			continue;
		sd[s]->lo = lo[s];
		sd[s]->n = (uint32_t)(hi[s] - lo[s] + 1);
		sd[s]->count = sonde__calloc(sd[s]->n, sizeof(uint64_t));
		if (!sd[s]->count) {
			sonde__native_read_free(out);
			return sonde__fail(SONDE_ENOMEM, "native histogram: out of memory reading");
		}
	}
	sonde__cells_lock();
	ng = 0;
	for (g = top; g && ng < SONDE__NH_MAX_CHAIN; g = g->reset ? NULL : g->prev, ng++) {
		out->sum += sonde__cells_sum_f64_locked(g->cell + SONDE__NH_CELL_SUM);
		out->zero_count += sonde__cells_sum_u64_locked(g->cell + SONDE__NH_CELL_ZERO);
		for (s = 0; s < 2; s++) {
			uint64_t r = spans[ng][s];
			int32_t k, l = sonde__nh_span_lo(r), h = sonde__nh_span_hi(r),
			           base = sonde__nh_span_base(r);
			for (k = l; k <= h; k++) {
				int32_t pos = k - base, kk;
				uint64_t n;
				if (pos < 0)
					pos += (int32_t)nh->w;
				n = sonde__cells_sum_u64_locked(g->cell + SONDE__NH_CELL_BUCKETS +
				                                (uint32_t)s * nh->w +
				                                (uint32_t)pos);
				if (!n)
					continue;
				kk = convert(k, g->schema, top->schema);
				if (kk <= zk)
					out->zero_count += n;
				else
					sd[s]->count[kk - lo[s]] += n;
			}
		}
	}
	sonde__cells_unlock();
	out->count = out->zero_count;
	for (s = 0; s < 2; s++) {
		uint32_t i;
		for (i = 0; i < sd[s]->n; i++)
			out->count += sd[s]->count[i];
	}
	return SONDE_OK;
}
