/* clang-format off */
/*
 * lib/metrics/metrics-int.h - registry, family and child internals.
 *
 * Synchronization table
 *   what                           written by                     read by                 guarded by
 *   registry's family array        registration, unregister       expose, registration,   registry mu
 *                                                                 find
 *   family's child table slots     child insert/remove (fam mu)   lookup (no lock)        release store / acquire load
 *   family's table pointer         resize (fam mu)                lookup (no lock)        release/acquire; old tables kept
 *                                                                                         until the family is freed
 *   family's live list, counts     insert/remove (fam mu)         expose (fam mu)         fam mu
 *   child's cell index             create, remove, clear          hot path (relaxed)      atomic
 *   child's gauge bits             gauge ops                      expose, value()         atomic
 *   child's labels, hash, bounds   create, before publication     anyone after acquire    immutable
 *
 * Lock order: registry mu -> family mu -> cells mu. The hot path takes none.
 */
/* clang-format on */
#ifndef SONDE_METRICS_INT_H
#define SONDE_METRICS_INT_H

#include <pthread.h>

#include "core/atomic.h"
#include "metrics/cells.h"
#include "core/sonde-int.h"

typedef struct sonde__child sonde__child;
typedef struct sonde__exemplars sonde__exemplars;

struct sonde__child {
	_Atomic uint32_t cell; /* first cell of the run, SONDE_CELL_TRASH once removed */
	uint32_t ncells;
	_Atomic uint64_t gauge; /* gauges: the value's bits */
	const double *bounds;   /* histograms: the family's bounds */
	uint32_t nbounds;
	bool removed; /* under fam mu */
	struct sonde_family *fam;
	uint64_t hash;
	const char **vals; /* label values, each NUL-terminated after lens[i] bytes */
	uint32_t *lens;
	char *lbl; /* escaped `k="v",k2="v2"` for exposition, "" if none */
	size_t lbl_len;
	char *pb_lbl; /* the same as protobuf Metric.label fields (tags included) */
	size_t pb_lbl_len;
	size_t alloc_size;      /* bytes of this allocation */
	sonde_value_fn read_fn; /* callback children: value read at scrape */
	void *read_arg;
	int64_t created_ns;
	void *ext;                             /* summaries: per-child state (summary.h) */
	_Atomic(sonde__exemplars *) exemplars; /* exemplar.c, allocated on first use */
	sonde__child *next, *prev;             /* live list (creation order) or graveyard */
};

/* The public handle types are the child itself. */
struct sonde_counter {
	sonde__child c;
};
struct sonde_gauge {
	sonde__child c;
};
struct sonde_histogram {
	sonde__child c;
};
struct sonde_summary {
	sonde__child c;
};
struct sonde_stateset {
	sonde__child c;
};

typedef struct sonde__table {
	size_t cap;  /* power of two */
	size_t used; /* live + tombstones */
	struct sonde__table *retired_next;
	_Atomic(sonde__child *) slot[];
} sonde__table;

#define SONDE_TOMBSTONE ((sonde__child *)(uintptr_t)1)

/* A family's bounds array holds nbounds rounded up to even, padded with
 * +Inf (which no value exceeds), so the bucket search compares two at a
 * time without a tail. */
#define SONDE__BOUNDS_PADDED(nb) (((size_t)(nb) + 1) & ~(size_t)1)

/* labelset.c: a fixed set of label pairs encoded once for the exposition
 * (a family's constant labels, a registry's default labels). */
typedef struct sonde__labelset {
	size_t n;
	char **names, **values; /* n each, NUL-terminated */
	char *txt;              /* `k="v",...` escaped, "" never (NULL when n = 0) */
	size_t txt_len;
	char *pb; /* protobuf Metric.label fields */
	size_t pb_len;
} sonde__labelset;

/* type 0: a registry's labels, which must fit every type (le and quantile
 * reserved). */
int sonde__labelset_check(const char *what, const char *const *pairs, size_t n,
                          sonde_metric_type type);
int sonde__labelset_make(sonde__labelset *ls, const char *const *pairs, size_t n);
void sonde__labelset_free(sonde__labelset *ls);
bool sonde__labelset_has(const sonde__labelset *ls, const char *name);
bool sonde__labelset_same(const sonde__labelset *ls, const char *const *pairs, size_t n);

struct sonde_family {
	sonde_registry *reg;
	sonde__labelset konst; /* constant labels */
	sonde_metric_type type;
	char *name, *help, *unit;
	size_t name_len, help_len;
	size_t nlabels;
	char **label_names;
	double *bounds; /* SONDE__BOUNDS_PADDED(nbounds) of them: +Inf pads */
	size_t nbounds;
	size_t max_children;
	double *quantiles; /* summaries */
	size_t nquantiles;
	double max_age_s;
	uint32_t age_buckets;
	char *alt_name; /* info: base + "_info" (both formats use it) */
	size_t alt_len, base_len;
	char **states; /* stateset: raw names and escaped label values */
	char **states_esc;
	size_t nstates;
	_Atomic size_t nchildren;
	pthread_mutex_t mu;
	_Atomic(sonde__table *) table;
	sonde__table *retired_tables;
	sonde__child *head, *tail; /* live children, creation order */
	sonde__child *graveyard;   /* removed children, freed with the family */
	bool unregistered;
	bool internal; /* self-metrics: callback children */
	bool func;     /* created by a *_func_new call */
	/* native histograms (native.h): mode, then the validated options */
	int native;
	int32_t n_schema;
	double n_zt, n_max_zt, n_min_reset_s;
	uint32_t n_max_buckets;
};

struct sonde_registry {
	pthread_mutex_t mu;
	sonde_family **fams; /* sorted by name */
	size_t nfams, cap;
	sonde_family **gone; /* unregistered families, freed with the registry */
	size_t ngone, gone_cap;
	bool is_default;
	bool created;           /* OpenMetrics _created samples (under mu) */
	sonde__labelset labels; /* default labels on every series (under mu) */
};

/* gate.c: the metrics gate (see there). Every registry, family and
 * summary mutex is taken through these, never directly. */
void sonde__gate_enter(void);
void sonde__gate_leave(void);

static inline void sonde__reg_lock(sonde_registry *r)
{
	sonde__gate_enter();
	pthread_mutex_lock(&r->mu);
}

static inline void sonde__reg_unlock(sonde_registry *r)
{
	pthread_mutex_unlock(&r->mu);
	sonde__gate_leave();
}

static inline void sonde__fam_lock(sonde_family *f)
{
	sonde__gate_enter();
	pthread_mutex_lock(&f->mu);
}

static inline void sonde__fam_unlock(sonde_family *f)
{
	pthread_mutex_unlock(&f->mu);
	sonde__gate_leave();
}

/* names.c */
int sonde__check_metric_name(const char *what, const char *s);
int sonde__check_label_name(const char *s, sonde_metric_type type);
int sonde__check_unit(const char *s);

/* metric_opts.c: a definition's validation (*b, *nb: the bucket bounds to
 * use, defaults included), whether family f has the same definition, and
 * the name of a metric type ("counter", ...). */
#define SONDE__DEFAULT_QUANTILES 3
extern const double sonde__default_quantiles[SONDE__DEFAULT_QUANTILES];
int sonde__metric_opts_check(const sonde_metric_opts *o, const double **b, size_t *nb);
/* The same, plus the native options into the family's n_ fields
 * (sonde__family_alloc applies them). */
int sonde__metric_opts_native(const sonde_metric_opts *o, sonde_family *f);
bool sonde__metric_opts_same(const sonde_family *f, const sonde_metric_opts *o, const double *b,
                             size_t nb);
const char *sonde__metric_type_name(sonde_metric_type t);

/* labels.c: checks count label values against f's labels and hashes them
 * (*h); lens_in NULL means NUL-terminated values; lens gets the lengths.
 * sonde__labels_hash hashes values already checked. */
int sonde__labels_check(const sonde_family *f, size_t count, const char *const *values,
                        const size_t *lens_in, size_t *lens, uint64_t *h);
uint64_t sonde__labels_hash(size_t count, const char *const *values, const size_t *lens);

/* child_table.c: find is lock-free; put and del run under f->mu. */
sonde__child *sonde__table_find(sonde_family *f, uint64_t h, size_t count,
                                const char *const *values, const size_t *lens);
int sonde__table_put(sonde_family *f, sonde__child *c);
void sonde__table_del(sonde_family *f, sonde__child *c);
void sonde__table_free_all(sonde_family *f);

/* child.c: under f->mu, creates, indexes and links a child (with_cells:
 * counters and histograms get their cell run); frees one. */
sonde__child *sonde__child_insert(sonde_family *f, uint64_t h, size_t count,
                                  const char *const *values, const size_t *lens, bool with_cells);
void sonde__child_free(sonde__child *c);
/* Unregistering f: removes every child (an unlabelled family's only child
 * too: its handle then writes to the trash run) and refuses new ones. */
void sonde__family_retire(sonde_family *f);

/* lookup.c: the child of f with these label values, created on a miss. */
sonde__child *sonde__family_child(sonde_family *f, sonde_metric_type want, size_t count,
                                  const char *const *values, const size_t *lens);

/* family.c: a family built from checked options (not registered), and
 * its end with every child it ever had. */
sonde_family *sonde__family_alloc(const sonde_metric_opts *o, const double *b, size_t nb);
void sonde__family_free(sonde_family *f);

/* registry.c: registration. internal: the library's own callback
 * families; func: callback families (no automatic child). */
sonde_family *sonde__registry_register(sonde_registry *r, const sonde_metric_opts *o, bool internal,
                                       bool func);
/* The upper layer's wiring of the default registry (its collectors), run
 * once when the default registry is created. Set before first use. */
void sonde__registry_set_default_wiring(void (*fn)(sonde_registry *r));

/* callback.c: internal families whose children read a callback at scrape
 * time. */
sonde_family *sonde__family_new_internal(sonde_registry *r, sonde_metric_type type,
                                         const char *name, const char *help, size_t nlabels,
                                         const char *const *label_names);
int sonde__family_add_fn_child(sonde_family *f, const char *const *values, sonde_value_fn fn,
                               void *arg);
/* A child's value at scrape time (callback children: fn, NaN/negative
 * counter values replaced by 0 and counted). Takes the cells lock for
 * cell-backed children; call without holding it. */
double sonde__child_value(const sonde__child *c, sonde_metric_type t);
/* Bumped on every child removal: macro call-site caches revalidate. */
void sonde__static_gen_bump(void);

/* histogram.c: the bucket v falls in (first bound >= v, nbounds for +Inf),
 * and one observation of a non-NaN v into bucket b, for the exemplar calls
 * that need the bucket too. */
uint32_t sonde__histogram_bucket(const sonde__child *c, double v);
/* Whether v is refused (and counted): NaN, or negative with no negative
 * bound. */
bool sonde__histogram_refuses(const sonde__child *c, double v);
void sonde__histogram_add(sonde_histogram *h, uint32_t b, double v);

/* exemplar.c */
void sonde__exemplars_free(sonde__child *c);
/* Slot i's exemplar (counter: 0; histogram: bucket i): escaped label
 * text (no braces, up to 768 bytes), value, Unix microseconds. */
bool sonde__exemplar_read(const sonde__child *c, size_t i, char *text, size_t *len, double *v,
                          int64_t *ts_us);

/* self_count.c: the library's own counts (a leaf: atomics only). The
 * families that expose them are registered from above
 * (collectors/self_metrics.c). */
void sonde__self_count_counter_negative(void);
void sonde__self_count_counter_nan(void);
void sonde__self_count_histogram_nan(void);
void sonde__self_count_histogram_negative(void);
void sonde__self_count_summary_nan(void);
void sonde__self_count_summary_negative(void);
void sonde__self_count_rejected(int reason);
enum { SONDE_REJECT_CARDINALITY = 0, SONDE_REJECT_CELLS = 1, SONDE_REJECT_OOM = 2 };
/* The counter behind each of the above, for the exposing families. */
const atomic_uint_fast64_t *sonde__self_count_cell(int which);
enum {
	SONDE_SELF_COUNTER_NEGATIVE = 0,
	SONDE_SELF_COUNTER_NAN,
	SONDE_SELF_HISTOGRAM_NAN,
	SONDE_SELF_HISTOGRAM_NEGATIVE,
	SONDE_SELF_SUMMARY_NAN,
	SONDE_SELF_SUMMARY_NEGATIVE,
	SONDE_SELF_REJECTED /* + SONDE_REJECT_* */
};

/* Values of a child (callers hold the cells lock for the _locked ones). */
double sonde__counter_value_locked(const sonde__child *c);

#endif
