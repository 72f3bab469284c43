/* lib/metrics/histogram.c - histogram hot path, bucket helpers and reads.
 *
 * Each child owns nbounds + 2 cells: one non-cumulative count per bucket
 * (the last is +Inf) and the sum. _count is the sum of the buckets, so a
 * scrape can never show a _count different from the +Inf bucket. */
#include <math.h>
#include <string.h>

#include "metrics/metrics-int.h"
#include "metrics/native.h"

/* Index of the first bound >= v (nb for +Inf). Few bounds: count the
 * bounds below v without branches, two at a time (the array is padded
 * with +Inf to an even length, see SONDE__BOUNDS_PADDED); many: binary
 * search. */
static inline uint32_t find_bucket(const double *b, uint32_t nb, double v)
{
	uint32_t i, lo, hi;

	if (nb <= 16) {
#if defined(__GNUC__) || defined(__clang__)
		typedef double v2d __attribute__((vector_size(16)));
		typedef long long v2i __attribute__((vector_size(16)));
		v2d vv = {v, v}, bb;
		v2i acc = {0, 0};

		for (i = 0; i < nb; i += 2) {
			memcpy(&bb, b + i, sizeof(bb));
			acc += (v2i)(vv > bb); /* -1 in each lane where v > bound */
		}
		return (uint32_t)(-(acc[0] + acc[1]));
#else
		uint32_t n = 0;
		for (i = 0; i < nb; i++)
			n += v > b[i];
		return n;
#endif
	}
	lo = 0;
	hi = nb;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (v > b[mid])
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline void classic_add(sonde_histogram *h, uint32_t b, double v)
{
	sonde__cell_t *cells = sonde__cell(sonde__load_relaxed(&h->c.cell));

	sonde__cell_add_u64(cells + b, 1);
	sonde__cell_add_f64(cells + h->c.nbounds + 1, v);
}

static inline void add(sonde_histogram *h, uint32_t b, double v)
{
	if (SONDE_UNLIKELY(h->c.ext != NULL)) {
		sonde__native_observe(&h->c, v);
		/* native only: its count and sum are the native buckets' (the
		 * classic view is read from them), so the cells stay unused */
		if (h->c.nbounds == 0)
			return;
	}
	classic_add(h, b, v);
}

/* NaN, and a negative v when no bound is negative (the histogram measures
 * a quantity that cannot be negative: a negative v is a clock step or a
 * bug, and it would make _sum negative, which OpenMetrics forbids), are
 * refused and counted. */
bool sonde__histogram_refuses(const sonde__child *c, double v)
{
	if (isnan(v)) {
		sonde__self_count_histogram_nan();
		return true;
	}
	if (v < 0 && !c->ext && c->bounds[0] >= 0) {
		sonde__self_count_histogram_negative();
		return true;
	}
	return false;
}

void sonde_histogram_observe(sonde_histogram *h, double v)
{
	if (SONDE_UNLIKELY(!h))
		return;
	/* one test for the common case: v >= 0 (false for NaN) */
	if (SONDE_UNLIKELY(!(v >= 0)) && sonde__histogram_refuses(&h->c, v))
		return;
	if (h->c.ext != NULL) {
		/* native first: a native-only histogram (nbounds 0) stops here
		 * without a bucket search */
		sonde__native_observe(&h->c, v);
		if (h->c.nbounds == 0)
			return;
	}
	classic_add(h, find_bucket(h->c.bounds, h->c.nbounds, v), v);
}

uint32_t sonde__histogram_bucket(const sonde__child *c, double v)
{
	return find_bucket(c->bounds, c->nbounds, v);
}

void sonde__histogram_add(sonde_histogram *h, uint32_t b, double v)
{
	add(h, b, v);
}

/* A native-only histogram's count and sum, merged from its native
 * buckets under the family mutex. False when the merge ran out of memory
 * (the reads then give 0). */
static bool native_only(const sonde_histogram *h, uint64_t *count, double *sum)
{
	sonde__native_read rd;
	int rc;

	sonde__fam_lock(h->c.fam);
	rc = sonde__native_snapshot(&h->c, &rd);
	sonde__fam_unlock(h->c.fam);
	*count = 0;
	*sum = 0;
	if (rc != SONDE_OK)
		return false;
	*count = rd.count;
	*sum = rd.sum;
	sonde__native_read_free(&rd);
	return true;
}

static uint64_t count_locked(const sonde_histogram *h, size_t upto)
{
	uint32_t idx = sonde__load_relaxed(&((sonde_histogram *)h)->c.cell);
	uint64_t n = 0;
	size_t i;

	for (i = 0; i <= upto; i++)
		n += sonde__cells_sum_u64_locked(idx + (uint32_t)i);
	return n;
}

uint64_t sonde_histogram_count(const sonde_histogram *h)
{
	uint64_t n;

	if (!h)
		return 0;
	if (h->c.ext && !h->c.nbounds) {
		double s;
		native_only(h, &n, &s);
		return n;
	}
	sonde__cells_lock();
	n = count_locked(h, h->c.nbounds);
	sonde__cells_unlock();
	return n;
}

uint64_t sonde_histogram_bucket(const sonde_histogram *h, size_t i)
{
	uint64_t n;

	if (!h || i > h->c.nbounds)
		return 0;
	if (h->c.ext && !h->c.nbounds)
		return sonde_histogram_count(h); /* only the +Inf bucket */
	sonde__cells_lock();
	n = count_locked(h, i);
	sonde__cells_unlock();
	return n;
}

double sonde_histogram_sum(const sonde_histogram *h)
{
	double s;

	if (!h)
		return 0;
	if (h->c.ext && !h->c.nbounds) {
		uint64_t n;
		native_only(h, &n, &s);
		return s;
	}
	sonde__cells_lock();
	s = sonde__cells_sum_f64_locked(sonde__load_relaxed(&((sonde_histogram *)h)->c.cell) +
	                                h->c.nbounds + 1);
	sonde__cells_unlock();
	return s;
}

int sonde_buckets_linear(double start, double width, size_t count, double *out)
{
	size_t i;

	if (!out || count == 0 || count > SONDE_BUCKETS_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_buckets_linear: out is NULL or count %zu is "
		                   "not in 1..%d",
		                   count, SONDE_BUCKETS_MAX);
	if (!(width > 0) || !isfinite(start) || !isfinite(width))
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_buckets_linear: width must be > 0 and finite");
	for (i = 0; i < count; i++) {
		out[i] = start + width * (double)i;
		if (!isfinite(out[i]))
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_buckets_linear: bound %zu overflows", i);
	}
	return SONDE_OK;
}

int sonde_buckets_exponential(double start, double factor, size_t count, double *out)
{
	size_t i;

	if (!out || count == 0 || count > SONDE_BUCKETS_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_buckets_exponential: out is NULL or count %zu "
		                   "is not in 1..%d",
		                   count, SONDE_BUCKETS_MAX);
	if (!(start > 0) || !isfinite(start) || !(factor > 1) || !isfinite(factor))
		return sonde__fail(
		        SONDE_EINVAL,
		        "sonde_buckets_exponential: need start > 0 and factor > 1, finite");
	for (i = 0; i < count; i++) {
		out[i] = i ? out[i - 1] * factor : start;
		if (!isfinite(out[i]))
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_buckets_exponential: bound %zu overflows", i);
	}
	return SONDE_OK;
}
