/*
 * sonde/metrics.h - registries, metric families, counters, gauges,
 * histograms, and the hot-path macros.
 *
 * Concurrency contract
 *   - Hot-path calls (inc, add, set, observe) never take a lock, never
 *     allocate once the calling thread has touched the metric's cell page,
 *     and never fail loudly: a NULL handle is a no-op, a bad value (a NaN or
 *     negative counter add, a NaN observation) is dropped and counted in the
 *     library's self-metrics (see sonde_self_stats_get() below).
 *   - Counters and histograms keep one 8-byte cell per thread: the calling
 *     thread is the only writer of its cell, so threads incrementing the same
 *     counter do not share a cache line. A scrape sums the cells.
 *   - Gauges are one shared atomic value (a set cannot be sharded).
 *   - Registration, label lookup of a new child, removal and scrapes take
 *     locks that the hot path never takes.
 *
 * Handles
 *   - Child handles (sonde_counter, sonde_gauge, sonde_histogram) stay valid
 *     memory until their registry is freed, even after the child is removed:
 *     calls through a removed handle are discarded, never written into
 *     another series.
 *   - A removed child's cells are reused by a new child only after a grace
 *     period (SONDE_CELL_GRACE_MS, 2 s, and two reclaim passes), so that a
 *     thread that was in the middle of an increment when the child was
 *     removed has finished it. A thread descheduled for longer than that
 *     between reading the handle and writing its cell (a handful of
 *     instructions) could land that one increment in the new child; this is
 *     the design's stated bound.
 *
 * Names
 *   - Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 *     [a-zA-Z_][a-zA-Z0-9_]*, and label names starting with "__" are
 *     reserved. "le" is forbidden on histograms, "quantile" on summaries.
 *   - Label values must be valid UTF-8 (the exposition formats are UTF-8;
 *     client_golang applies the same rule): a child with an invalid value
 *     is refused with SONDE_EINVAL, so distinct values can never collapse
 *     into one exposed series. They are limited to SONDE_LABEL_VALUE_MAX
 *     bytes each, and may hold NUL bytes when their lengths are given.
 */
#ifndef SONDE_METRICS_H
#define SONDE_METRICS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_registry sonde_registry;
typedef struct sonde_family sonde_family;
typedef struct sonde_counter sonde_counter;
typedef struct sonde_gauge sonde_gauge;
typedef struct sonde_histogram sonde_histogram;
typedef struct sonde_summary sonde_summary;
typedef struct sonde_stateset sonde_stateset;

typedef enum sonde_metric_type {
	SONDE_TYPE_COUNTER = 1,
	SONDE_TYPE_GAUGE = 2,
	SONDE_TYPE_HISTOGRAM = 3,
	SONDE_TYPE_SUMMARY = 4,
	SONDE_TYPE_INFO = 5,
	SONDE_TYPE_STATESET = 6,
	SONDE_TYPE_UNTYPED = 7
} sonde_metric_type;

#define SONDE_LABELS_MAX 32        /* label names per family */
#define SONDE_LABEL_VALUE_MAX 1024 /* bytes per label value */
#define SONDE_NAME_MAX 256         /* bytes per metric or label name */
#define SONDE_HELP_MAX 4096        /* bytes of help text */
#define SONDE_BUCKETS_MAX 256      /* histogram bounds, +Inf not counted */
#define SONDE_DEFAULT_MAX_CHILDREN 10000
#define SONDE_CELL_GRACE_MS 2000
#define SONDE_QUANTILES_MAX 32
#define SONDE_STATES_MAX 64

/* ---- registries ---------------------------------------------------------- */

/* A new, empty registry (no self-metrics, no process collector).
 * Returns NULL on out-of-memory (sonde_last_error() says so).
 * Free with sonde_registry_free(). */
SONDE_API SONDE_WUR sonde_registry *sonde_registry_new(void);

/* Frees the registry, its families and every child handle taken from it.
 * Call it only when no thread uses those handles any more. NULL is a
 * no-op. The default registry cannot be freed (the call is a no-op). */
SONDE_API void sonde_registry_free(sonde_registry *r);

/* The process-wide default registry, created on first use; it carries the
 * library's self-metrics. Every function that takes a registry takes NULL
 * to mean this one. Returns NULL only if its creation ran out of memory. */
SONDE_API sonde_registry *sonde_registry_default(void);

/* Whether the OpenMetrics exposition of r writes a `_created` sample (the
 * child's creation time) beside every counter, histogram and summary
 * child. Off by default, as client_golang has it: Prometheus stores each
 * _created as a series of its own. Text 0.0.4 never writes them. NULL
 * means the default registry (SONDE_ENOMEM if it could not be created).
 * Takes the registry's mutex; safe while other threads scrape. */
SONDE_API int sonde_registry_set_created(sonde_registry *r, bool enabled);

/* Default labels of a registry (like a scrape target's labels, or
 * prom-client's register.setDefaultLabels): written on every series the
 * registry exposes, in every format, after the series' own labels. pairs
 * holds 2 * n strings (name, value, ...); n = 0 removes them; a second call
 * replaces the first. NULL r is the default registry. Takes the registry's
 * mutex (safe while other threads scrape); the hot path is not touched.
 * Returns SONDE_OK; SONDE_EINVAL (pairs NULL with n > 0, n over
 * SONDE_LABELS_MAX, an invalid or reserved name (le, quantile, a name
 * starting with __), a name given twice, a value NULL, not UTF-8 or too
 * long, or a name that a registered family already uses as a label, a
 * constant label or a stateset name: the message names the family);
 * SONDE_ENOMEM. A family registered later whose labels use one of these
 * names is refused with SONDE_EINVAL. */
SONDE_API int sonde_registry_set_labels(sonde_registry *r, const char *const *pairs, size_t n);

/* Removes a family from the registry's exposition. Its handles stay valid
 * (calls through them are discarded) until the registry is freed, and the
 * name can be registered again. SONDE_ENOENT if f is not in r,
 * SONDE_EINVAL on NULL f. */
SONDE_API SONDE_WUR int sonde_registry_unregister(sonde_registry *r, sonde_family *f);

/* ---- defining families ----------------------------------------------------
 * A family is a metric with a set of label names (possibly none). Every
 * sonde_metric_opts field that may be left zero says so.
 */
/* Whether a histogram has native (sparse, exponential) buckets, chosen at
 * definition: classic only (the default), native only, or both (the usual
 * migration setup: scrapers that ask for protobuf get the native buckets,
 * the others the classic ones). */
typedef enum sonde_native_mode {
	SONDE_NATIVE_NONE = 0,
	SONDE_NATIVE_ONLY = 1,
	SONDE_NATIVE_AND_CLASSIC = 2
} sonde_native_mode;

typedef struct sonde_metric_opts {
	size_t size;                    /* sizeof(sonde_metric_opts) as the caller
	                                   was compiled; fields past it read as
	                                   zero (older callers keep working) */
	sonde_metric_type type;         /* required */
	const char *name;               /* required, validated */
	const char *help;               /* NULL or "" = none; <= SONDE_HELP_MAX */
	const char *unit;               /* NULL = none (OpenMetrics # UNIT) */
	const char *const *label_names; /* label_count names, validated */
	size_t label_count;             /* <= SONDE_LABELS_MAX */
	const double *buckets;          /* histograms: strictly increasing,
	                                   finite bounds; NULL = defaults */
	size_t bucket_count;            /* <= SONDE_BUCKETS_MAX */
	size_t max_children;            /* 0 = SONDE_DEFAULT_MAX_CHILDREN */
	/* summaries */
	const double *quantiles; /* strictly increasing, in [0, 1];
	                            NULL = 0.5, 0.9, 0.99 */
	size_t quantile_count;   /* <= SONDE_QUANTILES_MAX */
	double max_age_seconds;  /* window length; 0 = 600 */
	unsigned age_buckets;    /* slots in the window, 1..16; 0 = 5 */
	/* statesets */
	const char *const *states; /* state names: non-empty, unique */
	size_t state_count;        /* 1..SONDE_STATES_MAX */
	/* native histograms (histograms only; see "native histograms" below).
	 * Zero everywhere: a classic histogram, as before these fields. */
	sonde_native_mode native;         /* SONDE_NATIVE_NONE, _ONLY, _AND_CLASSIC */
	double native_bucket_factor;      /* > 1: each bucket at most this factor
	                                     wider than the last (the schema is the
	                                     finest whose factor fits, -4..8);
	                                     0 = 1.1 (schema 3) */
	double native_zero_threshold;     /* |v| <= it counts in the zero bucket;
	                                     0 = 2^-128; < 0 = exact zeros only */
	double native_max_zero_threshold; /* how far the zero bucket may widen
	                                     to keep the bucket limit; 0 = never */
	uint32_t native_max_buckets;      /* span of bucket indices per sign,
	                                     1..255; 0 = 160 */
	double native_min_reset_seconds;  /* > 0: at the limit, reset instead of
	                                     widening if this long has passed
	                                     since the last reset; 0 = never */
	/* constant labels (client_golang's ConstLabels): written on every
	 * series of the family after its own labels, at no cost when counting.
	 * 2 * const_label_count strings: name, value, ... Names: valid label
	 * names, not one of label_names, not twice, not reserved for the type
	 * (le, quantile, a stateset's own name); values: UTF-8, <=
	 * SONDE_LABEL_VALUE_MAX bytes. Part of the definition: a family of the
	 * same name with other constant labels is another definition
	 * (SONDE_EEXIST). label_count + const_label_count <= SONDE_LABELS_MAX. */
	const char *const *const_labels;
	size_t const_label_count;
} sonde_metric_opts;

/* Zeroes *o and fills size, type, name and help. NULL o is a no-op. */
SONDE_API void sonde_metric_opts_init(sonde_metric_opts *o, sonde_metric_type type,
                                      const char *name, const char *help);

/* Registers a family in r (NULL = default registry) and returns it.
 * All strings are copied. If a family of that name exists with an identical
 * definition (type, help, unit, label names, buckets), it is returned;
 * otherwise NULL with SONDE_EEXIST. Other failures return NULL with:
 * SONDE_EINVAL (NULL opts, bad size, bad name, reserved or duplicate label
 * name, bad buckets, over a limit above), SONDE_ENOTSUP (a type not yet
 * implemented), SONDE_ENOMEM. The reason is in sonde_last_error(). */
SONDE_API SONDE_WUR sonde_family *sonde_family_new(sonde_registry *r, const sonde_metric_opts *o);

/* Shorthands for the common cases; same errors as sonde_family_new. */
SONDE_API SONDE_WUR sonde_family *sonde_counter_family_new(sonde_registry *r, const char *name,
                                                           const char *help, size_t label_count,
                                                           const char *const *label_names);
SONDE_API SONDE_WUR sonde_family *sonde_gauge_family_new(sonde_registry *r, const char *name,
                                                         const char *help, size_t label_count,
                                                         const char *const *label_names);
/* bounds NULL and bucket_count 0 select the Prometheus defaults
 * (.005 .01 .025 .05 .1 .25 .5 1 2.5 5 10). */
SONDE_API SONDE_WUR sonde_family *sonde_histogram_family_new(sonde_registry *r, const char *name,
                                                             const char *help, const double *bounds,
                                                             size_t bucket_count,
                                                             size_t label_count,
                                                             const char *const *label_names);

/* Single series (a family without labels) returning its only child. */
SONDE_API SONDE_WUR sonde_counter *sonde_counter_new(sonde_registry *r, const char *name,
                                                     const char *help);
SONDE_API SONDE_WUR sonde_gauge *sonde_gauge_new(sonde_registry *r, const char *name,
                                                 const char *help);
SONDE_API SONDE_WUR sonde_histogram *sonde_histogram_new(sonde_registry *r, const char *name,
                                                         const char *help, const double *bounds,
                                                         size_t bucket_count);

/* Bucket helpers: fill out[0..count-1]. SONDE_EINVAL when out is NULL,
 * count is 0 or > SONDE_BUCKETS_MAX, width <= 0, start <= 0 for the
 * exponential form, factor <= 1, or a bound is not finite. */
SONDE_API SONDE_WUR int sonde_buckets_linear(double start, double width, size_t count, double *out);
SONDE_API SONDE_WUR int sonde_buckets_exponential(double start, double factor, size_t count,
                                                  double *out);

/* ---- children --------------------------------------------------------------
 * sonde_X_labels() returns the child of family f for the given label values,
 * creating it on first use. values[i] has lens[i] bytes of UTF-8; lens
 * NULL means each value is NUL-terminated. Lookup of an existing child takes
 * no lock. Returns NULL with:
 *   SONDE_EINVAL  f NULL, count != the family's label count, a NULL value,
 *                 a value longer than SONDE_LABEL_VALUE_MAX, a value that
 *                 is not valid UTF-8 (checked when the child is created:
 *                 the message names the label and the byte);
 *   SONDE_ETYPE   f is not a family of that type;
 *   SONDE_ELIMIT  the family already has max_children children, or no
 *                 metric cell is left (the rejection is counted in
 *                 sonde_children_rejected_total{reason="cardinality_limit"}
 *                 or {reason="cells_exhausted"});
 *   SONDE_ENOMEM  (counted in {reason="out_of_memory"} when the child
 *                 table could not grow).
 * Hot paths should keep the returned handle.
 *
 * sonde_X_with(f, "v1", "v2", ...) is the same with NUL-terminated values
 * counted by the macro (at most 16).
 */
SONDE_API sonde_counter *sonde_counter_labels(sonde_family *f, size_t count,
                                              const char *const *values, const size_t *lens);
SONDE_API sonde_gauge *sonde_gauge_labels(sonde_family *f, size_t count, const char *const *values,
                                          const size_t *lens);
SONDE_API sonde_histogram *sonde_histogram_labels(sonde_family *f, size_t count,
                                                  const char *const *values, const size_t *lens);
SONDE_API sonde_counter *sonde_counter_with_n(sonde_family *f, size_t count, ...);
SONDE_API sonde_gauge *sonde_gauge_with_n(sonde_family *f, size_t count, ...);
SONDE_API sonde_histogram *sonde_histogram_with_n(sonde_family *f, size_t count, ...);

#define SONDE__NARG(...) \
	SONDE__NARG_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define SONDE__NARG_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, n, \
                     ...)                                                                      \
	n
#define sonde_counter_with(f, ...) sonde_counter_with_n((f), SONDE__NARG(__VA_ARGS__), __VA_ARGS__)
#define sonde_gauge_with(f, ...) sonde_gauge_with_n((f), SONDE__NARG(__VA_ARGS__), __VA_ARGS__)
#define sonde_histogram_with(f, ...) \
	sonde_histogram_with_n((f), SONDE__NARG(__VA_ARGS__), __VA_ARGS__)

/* Removes the child with these label values. Handles to it stay valid and
 * calls through them are discarded. SONDE_ENOENT if there is no such child;
 * the errors of sonde_X_labels() otherwise. */
SONDE_API SONDE_WUR int sonde_family_remove(sonde_family *f, size_t count,
                                            const char *const *values, const size_t *lens);
/* Removes every child of f (for a family without labels, the series
 * starts again from zero). NULL is a no-op. */
SONDE_API void sonde_family_clear(sonde_family *f);
/* Changes the cardinality limit (0 = default). Children beyond a lowered
 * limit are kept; only new ones are refused. SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_family_set_max_children(sonde_family *f, size_t max_children);
/* Number of live children. 0 on NULL. */
SONDE_API size_t sonde_family_size(const sonde_family *f);
/* The family's name (owned by the family), or NULL on NULL. */
SONDE_API const char *sonde_family_name(const sonde_family *f);

/* ---- counters --------------------------------------------------------------
 * Monotonic. inc adds 1. add(v) with v < 0 or NaN is dropped and counted;
 * +Inf is accepted (the counter becomes +Inf). Integral v below 2^53 is
 * added exactly to an integer cell; any other v to a double cell.
 * Exposition prints the integer cell exactly (to 2^64, wrapping beyond)
 * while no fractional value was added; otherwise integer + fraction as a
 * double. value() returns that sum as a double (exact below 2^53); it sums
 * all threads' cells under the thread-list lock (not for hot paths); NULL
 * gives 0.
 */
SONDE_API void sonde_counter_inc(sonde_counter *c);
SONDE_API void sonde_counter_add(sonde_counter *c, double v);
SONDE_API void sonde_counter_add_u64(sonde_counter *c, uint64_t v);
SONDE_API double sonde_counter_value(const sonde_counter *c);

/* ---- the inlined counter hot path ------------------------------------------
 * In code that includes this header, sonde_counter_inc() and
 * sonde_counter_add_u64() expand inline: a relaxed load of the handle's
 * cell index, two thread-local loads, and a load/add/store on the calling
 * thread's own cell. This freezes, for major version 0, three facts of the
 * ABI: the first 4 bytes of a counter handle hold its cell index; the
 * exported thread-locals sonde__tls_dir / sonde__tls_npages reach the
 * thread's cell pages of 512 cells; sonde__cell_slow() handles the first
 * touch. The exported functions stay (bindings call them, and so does
 * taking their address). Define SONDE_NO_INLINE to call them instead.
 *
 * The SONDE__ABI_ macros are the one statement of those facts: lib/ builds
 * its cell layout from them and checks each with _Static_assert
 * (lib/metrics/counter.c), so a change that would break compiled hosts
 * fails the library's build instead.
 */
#define SONDE__ABI_PAGE_SHIFT 9         /* a thread's cell page: 512 cells */
#define SONDE__ABI_HANDLE_CELL_OFFSET 0 /* a handle's uint32_t cell index */
#define SONDE__ABI_COUNTER_U64_CELL 0   /* a counter's run: the integer cell, */
#define SONDE__ABI_COUNTER_F64_CELL 1   /* then the fraction cell */
#if !defined(SONDE_BUILDING) && !defined(SONDE_NO_INLINE) && \
        (defined(__GNUC__) || defined(__clang__))
extern __thread uint64_t **sonde__hot_dir __asm__("sonde__tls_dir");
extern __thread uint32_t sonde__hot_npages __asm__("sonde__tls_npages");
SONDE_API uint64_t *sonde__hot_cell_slow(uint32_t idx) __asm__("sonde__cell_slow");

static inline uint64_t *sonde__hot_cell(const void *handle)
{
	uint32_t idx = __atomic_load_n(
	        (const uint32_t *)((const char *)handle + SONDE__ABI_HANDLE_CELL_OFFSET),
	        __ATOMIC_RELAXED);
	uint32_t pg = idx >> SONDE__ABI_PAGE_SHIFT;

	if (SONDE_LIKELY(pg < sonde__hot_npages)) {
		uint64_t *p = sonde__hot_dir[pg];
		if (SONDE_LIKELY(p != NULL))
			return p + (idx & ((1u << SONDE__ABI_PAGE_SHIFT) - 1));
	}
	return sonde__hot_cell_slow(idx);
}

static inline void sonde__counter_add_u64_inline(sonde_counter *c, uint64_t v)
{
	uint64_t *cell;

	if (SONDE_UNLIKELY(c == NULL))
		return;
	cell = sonde__hot_cell(c) + SONDE__ABI_COUNTER_U64_CELL;
	/* single writer: this thread owns the cell, so no read-modify-write */
	__atomic_store_n(cell, __atomic_load_n(cell, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

#define sonde_counter_inc(c) sonde__counter_add_u64_inline((c), 1)
#define sonde_counter_add_u64(c, v) sonde__counter_add_u64_inline((c), (v))
#endif

/* ---- gauges ------------------------------------------------------------------
 * set stores; add/sub/inc/dec are atomic read-modify-writes. NaN is stored
 * as given (a gauge may legitimately be NaN). set_to_current_time stores the
 * Unix time in seconds. value() of NULL is 0.
 */
SONDE_API void sonde_gauge_set(sonde_gauge *g, double v);
SONDE_API void sonde_gauge_add(sonde_gauge *g, double v);
SONDE_API void sonde_gauge_sub(sonde_gauge *g, double v);
SONDE_API void sonde_gauge_inc(sonde_gauge *g);
SONDE_API void sonde_gauge_dec(sonde_gauge *g);
SONDE_API void sonde_gauge_set_to_current_time(sonde_gauge *g);
SONDE_API double sonde_gauge_value(const sonde_gauge *g);

/* ---- histograms ----------------------------------------------------------------
 * observe(v) counts v in the first bucket whose bound is >= v (+Inf last)
 * and adds it to the sum. Refused and counted in
 * sonde_rejected_values_total{metric_type="histogram"}: NaN (reason "nan"),
 * and a negative v when no bound is negative (reason "negative": such a
 * histogram measures durations or sizes, a negative v is a clock step, and
 * it would make _sum negative, which OpenMetrics forbids). A histogram
 * with a negative bound takes negative values; its OpenMetrics samples
 * then carry no _sum and no _count (OpenMetrics forbids the _sum, and
 * _count goes only with _sum; the +Inf bucket is the count), while text
 * 0.0.4 carries both. -Inf is negative; +Inf is kept. So every page
 * parses. The read calls sum all threads' cells; NULL gives 0.
 */
/*
 * Native histograms (sonde_metric_opts.native): every observation also
 * counts in an exponential bucket: bucket i of schema s holds values in
 * (2^((i-1)/2^s), 2^(i/2^s)], for positive and negative values alike
 * (negative values are taken, never refused), |v| <= the zero threshold in
 * the zero bucket, +-Inf in the extreme buckets; NaN is refused and counted
 * as above. Observing stays lock-free on the thread's own cells and
 * allocates nothing once a bucket range has been seen (the first value in a
 * new range takes one CAS). When a value would make a sign's buckets span
 * more than native_max_buckets, the histogram follows client_golang's
 * strategy: it resets (native_min_reset_seconds), else widens the zero
 * bucket over the lowest bucket (up to native_max_zero_threshold), else
 * halves the resolution (schema - 1, down to -4, where the zero bucket
 * widens past its limit as the last resort); that step takes the family's
 * mutex. A reset drops the native buckets, count and sum (Prometheus sees a
 * counter reset); a native+classic histogram's classic buckets, count and
 * sum never reset.
 * Only the protobuf exposition carries native buckets (with spans and
 * delta-encoded counts). The text and OpenMetrics formats show a
 * native-only histogram as client_golang does: its +Inf bucket, _sum and
 * _count (a native+classic one: its classic buckets). sonde_histogram_count,
 * _sum and _bucket read that view (for native only, they merge the native
 * buckets under the family's mutex).
 */
SONDE_API void sonde_histogram_observe(sonde_histogram *h, double v);
SONDE_API uint64_t sonde_histogram_count(const sonde_histogram *h);
SONDE_API double sonde_histogram_sum(const sonde_histogram *h);
/* Cumulative count of bucket i (i == bucket_count is +Inf). 0 when out of
 * range or NULL. */
SONDE_API uint64_t sonde_histogram_bucket(const sonde_histogram *h, size_t i);

/* ---- summaries -------------------------------------------------------------------
 * Quantiles over a sliding window (max_age, default 600 s, in age_buckets
 * slots, default 5; the window covers between max_age - max_age /
 * age_buckets and max_age), plus _sum and _count over the whole lifetime,
 * as the Prometheus clients define them. Empty window: quantiles are NaN.
 *
 * Error: every reported quantile is within 0.78 % (relative) of the exact
 * quantile of the observations in the window, the observation of rank
 * floor(q * (n - 1)), for 2^-40 <= v < 2^41; smaller magnitudes count as
 * 0, larger ones are clamped to the top bucket. Observe takes no lock and
 * writes only the calling thread's own block (one coarse clock read, an
 * index computed from the double's bits, two adds).
 * Memory bound: per thread that observes a child, with the default 5 age
 * buckets, 1.1 KiB plus 2560 bytes per distinct binary exponent observed
 * (at most 81): <= 209 KiB. Counts are 64-bit: they do not wrap.
 * NaN and negative values (-Inf included) are refused and counted in
 * sonde_rejected_values_total{metric_type="summary",reason="nan"|"negative"}:
 * OpenMetrics forbids a negative or NaN _sum and negative quantiles, and
 * one would make strict parsers reject the whole page. A NULL handle is a
 * no-op. Reading quantiles
 * allocates 83 KiB of scratch for the merge. A label-less summary cannot be
 * reset by sonde_family_clear (a no-op for it).
 */
SONDE_API SONDE_WUR sonde_summary *sonde_summary_new(sonde_registry *r, const char *name,
                                                     const char *help);
SONDE_API SONDE_WUR sonde_family *sonde_summary_family_new(sonde_registry *r, const char *name,
                                                           const char *help, size_t label_count,
                                                           const char *const *label_names);
SONDE_API sonde_summary *sonde_summary_labels(sonde_family *f, size_t count,
                                              const char *const *values, const size_t *lens);
SONDE_API sonde_summary *sonde_summary_with_n(sonde_family *f, size_t count, ...);
#define sonde_summary_with(f, ...) sonde_summary_with_n((f), SONDE__NARG(__VA_ARGS__), __VA_ARGS__)
SONDE_API void sonde_summary_observe(sonde_summary *s, double v);
/* Lifetime count and sum; 0 on NULL. */
SONDE_API uint64_t sonde_summary_count(const sonde_summary *s);
SONDE_API double sonde_summary_sum(const sonde_summary *s);
/* The q-quantile (0 <= q <= 1) of the current window: NaN when the window
 * is empty, q is out of range, s is NULL or memory ran out. */
SONDE_API double sonde_summary_quantile(const sonde_summary *s, double q);

/* ---- exemplars ----------------------------------------------------------------------
 * An exemplar links a counter or a histogram bucket to one traced request:
 * OpenMetrics exposition writes the latest one after the sample
 * (`x_total 7 # {trace_id="..",span_id=".."} 1 1700000000.5`); the text
 * format has none. One is kept per counter child and per histogram bucket
 * (the bucket the value falls in), in storage allocated on a child's first
 * exemplar (about 800 bytes per slot). Recording costs a seqlock write; a
 * concurrent writer of the same slot drops its exemplar rather than wait.
 *
 * _add_exemplar / _observe_exemplar: count v as add/observe do, and when
 * ctx (NULL = the calling thread's current context) holds a trace, record
 * {trace_id, span_id} = v. Never fail loudly; NULL handle is a no-op.
 * _labels variants: any labels, names validated, at most 128 code points of
 * names and values together (SONDE_ELIMIT beyond, and nothing is counted),
 * SONDE_EINVAL for NULLs, a value that is not valid UTF-8, a negative/NaN
 * counter value, a NaN observation or one the histogram refuses (above),
 * SONDE_ENOMEM.
 */
#define SONDE_EXEMPLAR_MAX_CHARS 128
struct sonde_span_context;
SONDE_API void sonde_counter_add_exemplar(sonde_counter *c, double v,
                                          const struct sonde_span_context *ctx);
SONDE_API void sonde_histogram_observe_exemplar(sonde_histogram *h, double v,
                                                const struct sonde_span_context *ctx);
SONDE_API SONDE_WUR int sonde_counter_add_exemplar_labels(sonde_counter *c, double v, size_t n,
                                                          const char *const *names,
                                                          const char *const *values);
SONDE_API SONDE_WUR int sonde_histogram_observe_exemplar_labels(sonde_histogram *h, double v,
                                                                size_t n, const char *const *names,
                                                                const char *const *values);

/* ---- info and stateset (OpenMetrics types) --------------------------------------
 * An info family exposes one sample of value 1 per child, carrying
 * metadata in its labels (build info, versions): OpenMetrics writes
 * `# TYPE build info` and `build_info{version="1.2"} 1`; text 0.0.4 writes a
 * gauge `build_info`, as client_golang and prometheus-cpp do. The name may
 * be given with or without the `_info` suffix.
 * A stateset is a set of named boolean states (at most 64), exposed as one
 * sample per state with a label named after the family:
 * `mode{mode="active"} 1`, `mode{mode="standby"} 0` (a gauge in text 0.0.4).
 * Its name must also be a valid label name; it has no other labels.
 */
/* Same errors as sonde_family_new. */
SONDE_API SONDE_WUR sonde_family *sonde_info_family_new(sonde_registry *r, const char *name,
                                                        const char *help, size_t label_count,
                                                        const char *const *label_names);
/* Adds the child with these label values (reading 1), or finds it.
 * Errors as sonde_counter_labels; SONDE_ETYPE if f is not an info family. */
SONDE_API SONDE_WUR int sonde_info_add(sonde_family *f, size_t count, const char *const *values,
                                       const size_t *lens);
/* A stateset with these states, all false. Errors as sonde_family_new,
 * plus SONDE_EINVAL for no states, more than SONDE_STATES_MAX, an empty or
 * repeated state name, or a name that is not a valid label name. */
SONDE_API SONDE_WUR sonde_stateset *sonde_stateset_new(sonde_registry *r, const char *name,
                                                       const char *help, size_t state_count,
                                                       const char *const *states);
/* Sets one state. SONDE_ENOENT for an unknown state, SONDE_EINVAL on NULL.
 * Lock-free (an atomic bit). */
SONDE_API SONDE_WUR int sonde_stateset_set(sonde_stateset *s, const char *state, bool on);
/* Sets exactly this state true and every other false (an enum).
 * SONDE_ENOENT for an unknown state, SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_stateset_enum(sonde_stateset *s, const char *state);
/* All states at once: bit i is state i (bits past the state count are
 * ignored). NULL is a no-op; mask() of NULL is 0. */
SONDE_API void sonde_stateset_set_mask(sonde_stateset *s, uint64_t mask);
SONDE_API uint64_t sonde_stateset_mask(const sonde_stateset *s);

/* ---- callback metrics -------------------------------------------------------
 * For values the host already keeps (a pool size, a queue length): the
 * value is read from fn(user) at every scrape, on the scraping thread,
 * while the family's lock is held. fn must be thread-safe if scrapes run
 * concurrently, must not register or remove metrics of the same family
 * (that would deadlock), and may read any metric. A counter callback that
 * returns NaN or a negative value is exposed as 0 and counted in
 * sonde_rejected_values_total.
 */
typedef double (*sonde_value_fn)(void *user);

/* A gauge or counter without labels whose value comes from fn. Same
 * errors as sonde_family_new, plus SONDE_EINVAL for a NULL fn. The
 * returned family can be unregistered with sonde_registry_unregister(). */
SONDE_API SONDE_WUR sonde_family *sonde_gauge_func_new(sonde_registry *r, const char *name,
                                                       const char *help, sonde_value_fn fn,
                                                       void *user);
SONDE_API SONDE_WUR sonde_family *sonde_counter_func_new(sonde_registry *r, const char *name,
                                                         const char *help, sonde_value_fn fn,
                                                         void *user);
/* Adds a child with these label values to a labelled gauge or counter
 * family, its value read from fn. SONDE_EEXIST if the child exists;
 * SONDE_EINVAL (NULL fn, f, a family without labels, wrong count or bad
 * value), SONDE_ETYPE (a histogram family), SONDE_ELIMIT, SONDE_ENOMEM. */
SONDE_API SONDE_WUR int sonde_family_add_func(sonde_family *f, size_t count,
                                              const char *const *values, const size_t *lens,
                                              sonde_value_fn fn, void *user);

/* The family called name in r (NULL = default registry), or NULL with
 * SONDE_ENOENT (SONDE_EINVAL for a NULL name). */
SONDE_API sonde_family *sonde_registry_find(sonde_registry *r, const char *name);

/* The standard process metrics from /proc (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds,
 * process_threads), as client_golang names them. The default registry has
 * them unless the environment variable SONDE_NO_PROCESS_METRICS is set
 * when it is created; register adds them to another registry
 * (SONDE_EEXIST if already there), unregister removes them (SONDE_ENOENT
 * if absent). /proc is read at most every 100 ms however many scrapes. */
SONDE_API SONDE_WUR int sonde_process_collector_register(sonde_registry *r);
SONDE_API SONDE_WUR int sonde_process_collector_unregister(sonde_registry *r);

/* ---- self-metrics -----------------------------------------------------------
 * What the hot path dropped, for hosts and tests. The default registry
 * (not sonde_registry_new()'s) also exposes the process-wide counts as:
 *   sonde_rejected_values_total{metric_type,reason}  counter adds < 0
 *       ("counter","negative") or NaN ("counter","nan"), histogram
 *       observations of NaN ("histogram","nan");
 *   sonde_children_rejected_total{reason}  label sets refused a child:
 *       "cardinality_limit", "cells_exhausted", "out_of_memory";
 *   sonde_lost_writes_total  metric writes lost because no memory could be
 *       had for a thread's cell page.
 */
typedef struct sonde_self_stats {
	uint64_t counter_negative;    /* counter adds < 0 dropped */
	uint64_t counter_nan;         /* counter adds of NaN dropped */
	uint64_t histogram_nan;       /* NaN observations dropped (histograms and summaries) */
	uint64_t label_sets_rejected; /* children refused by a cardinality limit:
	                                 sonde_children_rejected_total{reason=
	                                 "cardinality_limit"} */
	uint64_t cells_exhausted;     /* children refused: no cell left */
} sonde_self_stats;
/* Copies the process-wide counts into *out. NULL is a no-op. */
SONDE_API void sonde_self_stats_get(sonde_self_stats *out);

/* ---- hot-path macros -------------------------------------------------------
 * Define a metric at file scope, use it anywhere in that file:
 *
 *   METRIC_DEFINE_COUNTER(requests, "app_requests_total", "Requests served.");
 *   METRIC_DEFINE_COUNTER_FAMILY(hits, "app_hits_total", "Hits.", "method", "code");
 *   ...
 *   METRIC_INC(requests);
 *   METRIC_INC_LABELS(hits, "GET", "200");
 *
 * The metric is registered in the default registry on first use. If that
 * fails (a bad name, a clash), every use is a no-op and the reason is in
 * sonde_last_error() of the thread that first used it. Labelled variants
 * cache the child per call site when every label value is a compile-time
 * constant, and look it up otherwise. Each macro evaluates each argument
 * once; define SONDE_NO_SHORT_MACROS to get only the SONDE_ names.
 */
typedef struct sonde_static_site sonde_static_site;
typedef struct sonde_static_metric {
	int type;
	const char *name;
	const char *help;
	const char *const *label_names;
	size_t label_count;
	const double *buckets;
	size_t bucket_count;
	void *handle; /* child or family, published by sonde (atomic) */
	int failed;   /* registration failed: every use is a no-op (atomic) */
} sonde_static_metric;

/* Bumped by sonde whenever a child is removed anywhere, so that call-site
 * caches revalidate (removals are rare; revalidation is one lookup). */
SONDE_API extern unsigned long sonde__static_gen;

struct sonde_static_site {
	void *rec; /* owned by sonde: the cached child and its generation (atomic) */
};

SONDE_API void *sonde_static_resolve(sonde_static_metric *m);
SONDE_API void *sonde_static_child_n(sonde_static_metric *m, sonde_static_site *site, int cacheable,
                                     size_t count, ...);

static inline void *sonde__static_handle(sonde_static_metric *m)
{
	void *h = __atomic_load_n(&m->handle, __ATOMIC_ACQUIRE);
	return SONDE_LIKELY(h != NULL) ? h : sonde_static_resolve(m);
}

/* The site cache: a record {child, gen} published once per generation. */
typedef struct sonde__site_rec {
	void *child;
	unsigned long gen;
} sonde__site_rec;

static inline void *sonde__static_child(sonde_static_metric *m, sonde_static_site *s, int cacheable)
{
	(void)m;
	if (cacheable) {
		sonde__site_rec *r = (sonde__site_rec *)__atomic_load_n(&s->rec, __ATOMIC_ACQUIRE);
		if (SONDE_LIKELY(r != NULL) &&
		    r->gen == __atomic_load_n(&sonde__static_gen, __ATOMIC_ACQUIRE))
			return r->child;
	}
	return NULL;
}

#define SONDE__C1(a) __builtin_constant_p(a)
#define SONDE__CONST_1(a) SONDE__C1(a)
#define SONDE__CONST_2(a, ...) (SONDE__C1(a) && SONDE__CONST_1(__VA_ARGS__))
#define SONDE__CONST_3(a, ...) (SONDE__C1(a) && SONDE__CONST_2(__VA_ARGS__))
#define SONDE__CONST_4(a, ...) (SONDE__C1(a) && SONDE__CONST_3(__VA_ARGS__))
#define SONDE__CONST_5(a, ...) (SONDE__C1(a) && SONDE__CONST_4(__VA_ARGS__))
#define SONDE__CONST_6(a, ...) (SONDE__C1(a) && SONDE__CONST_5(__VA_ARGS__))
#define SONDE__CONST_7(a, ...) (SONDE__C1(a) && SONDE__CONST_6(__VA_ARGS__))
#define SONDE__CONST_8(a, ...) (SONDE__C1(a) && SONDE__CONST_7(__VA_ARGS__))
#define SONDE__CONST_9(...) 0
#define SONDE__CONST_10(...) 0
#define SONDE__CONST_11(...) 0
#define SONDE__CONST_12(...) 0
#define SONDE__CONST_13(...) 0
#define SONDE__CONST_14(...) 0
#define SONDE__CONST_15(...) 0
#define SONDE__CONST_16(...) 0
#define SONDE__CAT(a, b) SONDE__CAT_(a, b)
#define SONDE__CAT_(a, b) a##b
#define SONDE__ALL_CONST(...) SONDE__CAT(SONDE__CONST_, SONDE__NARG(__VA_ARGS__))(__VA_ARGS__)

#define SONDE__STATIC_DEF(var, type, name, help, labels, nlabels, bounds, nbounds)          \
	static sonde_static_metric var = {(type),   (name),    (help), (labels), (nlabels), \
	                                  (bounds), (nbounds), NULL,   0}
#define SONDE__LABEL_ARRAY(var, ...) static const char *const var##_sonde_labels[] = {__VA_ARGS__}
#define SONDE__LABEL_COUNT(var) (sizeof(var##_sonde_labels) / sizeof(var##_sonde_labels[0]))

#define SONDE_METRIC_DEFINE_COUNTER(var, name, help) \
	SONDE__STATIC_DEF(var, SONDE_TYPE_COUNTER, name, help, NULL, 0, NULL, 0)
#define SONDE_METRIC_DEFINE_GAUGE(var, name, help) \
	SONDE__STATIC_DEF(var, SONDE_TYPE_GAUGE, name, help, NULL, 0, NULL, 0)
/* bounds: a const double array (or NULL with nbounds 0 for the defaults) */
#define SONDE_METRIC_DEFINE_HISTOGRAM(var, name, help, bounds, nbounds) \
	SONDE__STATIC_DEF(var, SONDE_TYPE_HISTOGRAM, name, help, NULL, 0, bounds, nbounds)
#define SONDE_METRIC_DEFINE_COUNTER_FAMILY(var, name, help, ...)                   \
	SONDE__LABEL_ARRAY(var, __VA_ARGS__);                                      \
	SONDE__STATIC_DEF(var, SONDE_TYPE_COUNTER, name, help, var##_sonde_labels, \
	                  SONDE__LABEL_COUNT(var), NULL, 0)
#define SONDE_METRIC_DEFINE_GAUGE_FAMILY(var, name, help, ...)                   \
	SONDE__LABEL_ARRAY(var, __VA_ARGS__);                                    \
	SONDE__STATIC_DEF(var, SONDE_TYPE_GAUGE, name, help, var##_sonde_labels, \
	                  SONDE__LABEL_COUNT(var), NULL, 0)
#define SONDE_METRIC_DEFINE_HISTOGRAM_FAMILY(var, name, help, bounds, nbounds, ...)  \
	SONDE__LABEL_ARRAY(var, __VA_ARGS__);                                        \
	SONDE__STATIC_DEF(var, SONDE_TYPE_HISTOGRAM, name, help, var##_sonde_labels, \
	                  SONDE__LABEL_COUNT(var), bounds, nbounds)

#define SONDE_METRIC_INC(var) sonde_counter_inc((sonde_counter *)sonde__static_handle(&(var)))
#define SONDE_METRIC_ADD(var, v) \
	sonde_counter_add((sonde_counter *)sonde__static_handle(&(var)), (v))
#define SONDE_METRIC_SET(var, v) sonde_gauge_set((sonde_gauge *)sonde__static_handle(&(var)), (v))
#define SONDE_METRIC_GAUGE_ADD(var, v) \
	sonde_gauge_add((sonde_gauge *)sonde__static_handle(&(var)), (v))
#define SONDE_METRIC_OBSERVE(var, v) \
	sonde_histogram_observe((sonde_histogram *)sonde__static_handle(&(var)), (v))

/* The child of a labelled static metric for these values (cached per call
 * site when they are all constants). */
#define SONDE__SITE_CHILD(var, ...)                                                                \
	__extension__({                                                                            \
		static sonde_static_site sonde__site_;                                             \
		void *sonde__ch_ =                                                                 \
		        sonde__static_child(&(var), &sonde__site_, SONDE__ALL_CONST(__VA_ARGS__)); \
		if (!sonde__ch_)                                                                   \
			sonde__ch_ = sonde_static_child_n(&(var), &sonde__site_,                   \
			                                  SONDE__ALL_CONST(__VA_ARGS__),           \
			                                  SONDE__NARG(__VA_ARGS__), __VA_ARGS__);  \
		sonde__ch_;                                                                        \
	})

#define SONDE_METRIC_INC_LABELS(var, ...) \
	sonde_counter_inc((sonde_counter *)SONDE__SITE_CHILD(var, __VA_ARGS__))
#define SONDE_METRIC_ADD_LABELS(var, v, ...) \
	sonde_counter_add((sonde_counter *)SONDE__SITE_CHILD(var, __VA_ARGS__), (v))
#define SONDE_METRIC_SET_LABELS(var, v, ...) \
	sonde_gauge_set((sonde_gauge *)SONDE__SITE_CHILD(var, __VA_ARGS__), (v))
#define SONDE_METRIC_OBSERVE_LABELS(var, v, ...) \
	sonde_histogram_observe((sonde_histogram *)SONDE__SITE_CHILD(var, __VA_ARGS__), (v))

#ifndef SONDE_NO_SHORT_MACROS
#define METRIC_DEFINE_COUNTER SONDE_METRIC_DEFINE_COUNTER
#define METRIC_DEFINE_GAUGE SONDE_METRIC_DEFINE_GAUGE
#define METRIC_DEFINE_HISTOGRAM SONDE_METRIC_DEFINE_HISTOGRAM
#define METRIC_DEFINE_COUNTER_FAMILY SONDE_METRIC_DEFINE_COUNTER_FAMILY
#define METRIC_DEFINE_GAUGE_FAMILY SONDE_METRIC_DEFINE_GAUGE_FAMILY
#define METRIC_DEFINE_HISTOGRAM_FAMILY SONDE_METRIC_DEFINE_HISTOGRAM_FAMILY
#define METRIC_INC SONDE_METRIC_INC
#define METRIC_ADD SONDE_METRIC_ADD
#define METRIC_SET SONDE_METRIC_SET
#define METRIC_GAUGE_ADD SONDE_METRIC_GAUGE_ADD
#define METRIC_OBSERVE SONDE_METRIC_OBSERVE
#define METRIC_INC_LABELS SONDE_METRIC_INC_LABELS
#define METRIC_ADD_LABELS SONDE_METRIC_ADD_LABELS
#define METRIC_SET_LABELS SONDE_METRIC_SET_LABELS
#define METRIC_OBSERVE_LABELS SONDE_METRIC_OBSERVE_LABELS
#endif

#ifdef __cplusplus
}
#endif
#endif /* SONDE_METRICS_H */
