/*
 * lib/metrics/family.c - metric families: definition, validation, the child table
 * (lock-free lookup, insertion under the family mutex), removal.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "metrics/metrics-int.h"
#include "metrics/summary.h"

static const double default_quantiles[] = {0.5, 0.9, 0.99};
static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

unsigned long sonde__static_gen;

void sonde__static_gen_bump(void)
{
	/* release: pairs with the acquire in sonde__static_child(); a site that
	 * sees the new generation drops its cached (maybe removed) child. */
	sonde__plain_fetch_add_release(&sonde__static_gen, 1);
}

void sonde_metric_opts_init(sonde_metric_opts *o, sonde_metric_type type, const char *name,
                            const char *help)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->type = type;
	o->name = name;
	o->help = help;
}

static const char *type_name(sonde_metric_type t)
{
	switch (t) {
	case SONDE_TYPE_COUNTER: return "counter";
	case SONDE_TYPE_GAUGE: return "gauge";
	case SONDE_TYPE_HISTOGRAM: return "histogram";
	case SONDE_TYPE_SUMMARY: return "summary";
	case SONDE_TYPE_INFO: return "info";
	case SONDE_TYPE_STATESET: return "stateset";
	case SONDE_TYPE_UNTYPED: return "untyped";
	}
	return "unknown";
}

/* ---- hashing and label comparison ------------------------------------------ */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static inline uint64_t load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

#define HASH_SEED 0x6a09e667f3bcc908ull

/* One label value into the hash: its bytes eight at a time (the last word
 * zero-padded, little-endian), then its length, so ("ab","c") and
 * ("a","bc") hash apart. */
static inline uint64_t hash_value(uint64_t h, const char *p, size_t n)
{
	size_t j, k;
	uint64_t w;

	for (j = 0; j + 8 <= n; j += 8)
		h = mix(h, load8(p + j));
	if (j < n) {
		/* byte by byte: a variable-length memcpy would be a libc call */
		w = 0;
		for (k = 0; j + k < n; k++)
			w |= (uint64_t)(unsigned char)p[j + k] << (8 * k);
		h = mix(h, w);
	}
	return mix(h, n);
}

/* hash_value() of a NUL-terminated value, measuring it on the way: one
 * pass instead of strnlen and then the hash. Stops once past
 * SONDE_LABEL_VALUE_MAX bytes (*len then says too long). */
static inline uint64_t hash_cstr(uint64_t h, const char *p, size_t *len)
{
	size_t j = 0;
	unsigned k;
	uint64_t w;

	for (;;) {
		w = 0;
		for (k = 0; k < 8; k++) {
			unsigned char ch = (unsigned char)p[j + k];
			if (!ch)
				break;
			w |= (uint64_t)ch << (8 * k);
		}
		j += k;
		if (k)
			h = mix(h, w);
		if (k < 8 || j > SONDE_LABEL_VALUE_MAX)
			break;
	}
	*len = j;
	return mix(h, j);
}

/* A murmur3 finalizer, so the low bits that pick the slot are well mixed. */
static inline uint64_t hash_end(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_values(size_t count, const char *const *values, const size_t *lens)
{
	uint64_t h = HASH_SEED;
	size_t i;

	for (i = 0; i < count; i++)
		h = hash_value(h, values[i], lens[i]);
	return hash_end(h);
}

/* Label values are short: an inline loop beats a call to memcmp. */
static inline bool bytes_equal(const char *a, const char *b, size_t n)
{
	size_t j;

	if (n > 64)
		return memcmp(a, b, n) == 0;
	for (j = 0; j + 8 <= n; j += 8)
		if (load8(a + j) != load8(b + j))
			return false;
	for (; j < n; j++)
		if (a[j] != b[j])
			return false;
	return true;
}

static bool child_matches(const sonde__child *c, uint64_t h, size_t count,
                          const char *const *values, const size_t *lens)
{
	size_t i;

	if (c->hash != h)
		return false;
	for (i = 0; i < count; i++)
		if (c->lens[i] != lens[i] || !bytes_equal(c->vals[i], values[i], lens[i]))
			return false;
	return true;
}

/* ---- the child table ------------------------------------------------------------ */

static sonde__table *table_new(size_t cap)
{
	sonde__table *t = sonde__calloc(1, sizeof(*t) + cap * sizeof(t->slot[0]));

	if (t)
		t->cap = cap;
	return t;
}

static size_t table_bytes(const sonde__table *t)
{
	return sizeof(*t) + t->cap * sizeof(t->slot[0]);
}

/* Lock-free: the acquire loads pair with the release stores in
 * table_put() and in table resize, which publish a child (and a table)
 * only once its fields are written. */
static sonde__child *table_find(sonde_family *f, uint64_t h, size_t count,
                                const char *const *values, const size_t *lens)
{
	sonde__table *t = sonde__load_acquire(&f->table);
	size_t i, n;

	if (!t)
		return NULL;
	for (i = h & (t->cap - 1), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		sonde__child *c = sonde__load_acquire(&t->slot[i]);
		if (!c)
			return NULL;
		if (c != SONDE_TOMBSTONE && child_matches(c, h, count, values, lens))
			return c;
	}
	return NULL;
}

/* Under f->mu. */
static int table_put(sonde_family *f, sonde__child *c)
{
	sonde__table *t = sonde__load_relaxed(&f->table);
	size_t i;

	if (!t || (t->used + 1) * 2 > t->cap) {
		size_t live = sonde__load_relaxed(&f->nchildren) + 1, cap = 16;
		sonde__table *nt;
		while (cap < live * 4)
			cap *= 2;
		nt = table_new(cap);
		if (!nt)
			return SONDE_ENOMEM;
		if (t) {
			for (i = 0; i < t->cap; i++) {
				sonde__child *e = sonde__load_relaxed(&t->slot[i]);
				size_t j;
				if (!e || e == SONDE_TOMBSTONE)
					continue;
				for (j = e->hash & (cap - 1); sonde__load_relaxed(&nt->slot[j]);
				     j = (j + 1) & (cap - 1))
					;
				sonde__store_relaxed(&nt->slot[j], e);
				nt->used++;
			}
			/* Readers may still probe the old table: keep it until the
			 * family is freed (the tables form a geometric series, so
			 * this at most doubles the table memory). */
			t->retired_next = f->retired_tables;
			f->retired_tables = t;
		}
		/* release: publishes the filled table to table_find(). */
		sonde__store_release(&f->table, nt);
		t = nt;
	}
	for (i = c->hash & (t->cap - 1); sonde__load_relaxed(&t->slot[i]);
	     i = (i + 1) & (t->cap - 1))
		;
	t->used++;
	/* release: publishes the child's fields to table_find(). */
	sonde__store_release(&t->slot[i], c);
	return SONDE_OK;
}

/* Under f->mu: replaces c's slot with a tombstone. */
static void table_del(sonde_family *f, sonde__child *c)
{
	sonde__table *t = sonde__load_relaxed(&f->table);
	size_t i, n;

	if (!t)
		return;
	for (i = c->hash & (t->cap - 1), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		sonde__child *e = sonde__load_relaxed(&t->slot[i]);
		if (!e)
			return;
		if (e == c) {
			sonde__store_release(&t->slot[i], SONDE_TOMBSTONE);
			return;
		}
	}
}

/* ---- children ---------------------------------------------------------------------- */

static uint32_t cells_needed(const sonde_family *f)
{
	switch (f->type) {
	case SONDE_TYPE_COUNTER: return 2; /* integer part, fractional part */
	case SONDE_TYPE_HISTOGRAM: return (uint32_t)f->nbounds + 2; /* buckets, +Inf, sum */
	default: return 0;
	}
}

static int child_cells(const sonde_family *f, uint32_t *idx)
{
	uint8_t kinds[SONDE_BUCKETS_MAX + 2];
	uint32_t n = cells_needed(f), i;

	for (i = 0; i < n; i++)
		kinds[i] = SONDE_CELL_U64;
	if (n)
		kinds[n - 1] = SONDE_CELL_F64; /* counter fraction / histogram sum */
	if (!n) {
		*idx = SONDE_CELL_TRASH;
		return SONDE_OK;
	}
	return sonde__cells_alloc(n, kinds, idx);
}

static size_t label_string(const sonde_family *f, size_t count, const char *const *values,
                           const size_t *lens, sonde_buf *b)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (i)
			sonde__buf_putc(b, ',');
		sonde__buf_puts(b, f->label_names[i]);
		sonde__buf_put(b, "=\"", 2);
		sonde__put_label_value(b, values[i], lens[i]);
		sonde__buf_putc(b, '"');
	}
	sonde__buf_terminate(b);
	return b->len;
}

/* One allocation: the child, the value pointers, lengths, values and the
 * escaped label string. */
static sonde__child *child_new(sonde_family *f, uint64_t h, size_t count, const char *const *values,
                               const size_t *lens, bool with_cells)
{
	sonde_buf lb = SONDE_BUF_INIT;
	size_t size, i, vbytes = 0;
	sonde__child *c;
	char *p;
	int rc;
	uint32_t idx;

	label_string(f, count, values, lens, &lb);
	if (lb.oom) {
		sonde_buf_destroy(&lb);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory for a new child", f->name);
		return NULL;
	}
	for (i = 0; i < count; i++)
		vbytes += lens[i] + 1;
	size = sizeof(*c) + count * (sizeof(char *) + sizeof(uint32_t)) + vbytes + lb.len + 1;
	c = sonde__calloc(1, size);
	if (!c) {
		sonde_buf_destroy(&lb);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory for a new child", f->name);
		return NULL;
	}
	c->alloc_size = size;
	c->vals = (const char **)(void *)(c + 1);
	c->lens = (uint32_t *)(void *)(c->vals + count);
	p = (char *)(c->lens + count);
	for (i = 0; i < count; i++) {
		memcpy(p, values[i], lens[i]);
		p[lens[i]] = '\0';
		c->vals[i] = p;
		c->lens[i] = (uint32_t)lens[i];
		p += lens[i] + 1;
	}
	c->lbl = p;
	c->lbl_len = lb.len;
	if (lb.len)
		memcpy(p, lb.data, lb.len);
	p[lb.len] = '\0';
	sonde_buf_destroy(&lb);

	idx = SONDE_CELL_TRASH;
	rc = with_cells ? child_cells(f, &idx) : SONDE_OK;
	if (rc) {
		sonde__free(c, size);
		if (rc == SONDE_ELIMIT) {
			sonde__self_count_rejected(SONDE_REJECT_CELLS);
			sonde__fail(SONDE_ELIMIT, "%s: no metric cell left (%u in all)", f->name,
			            SONDE_CELLS_MAX);
		} else {
			sonde__fail(SONDE_ENOMEM, "%s: out of memory for a new child", f->name);
		}
		return NULL;
	}
	if (f->type == SONDE_TYPE_SUMMARY && sonde__summary_child_init(c, f) != SONDE_OK) {
		sonde__free(c, size);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory for a new child", f->name);
		return NULL;
	}
	sonde__store_relaxed(&c->cell, idx);
	c->ncells = with_cells ? cells_needed(f) : 0;
	c->bounds = f->bounds;
	c->nbounds = (uint32_t)f->nbounds;
	c->fam = f;
	c->hash = h;
	c->created_ns = sonde_now_unix_ns();
	return c;
}

static void child_free(sonde__child *c)
{
	sonde__exemplars_free(c);
	if (c->ext)
		sonde__summary_child_free(c);
	sonde__free(c, c->alloc_size);
}

/* Under f->mu: creates, indexes and links a new child. */
static sonde__child *child_insert(sonde_family *f, uint64_t h, size_t count,
                                  const char *const *values, const size_t *lens, bool with_cells)
{
	sonde__child *c;

	if (sonde__load_relaxed(&f->nchildren) >= f->max_children) {
		sonde__self_count_rejected(SONDE_REJECT_CARDINALITY);
		sonde__fail(SONDE_ELIMIT,
		            "%s: cardinality limit of %zu children reached; label set refused",
		            f->name, f->max_children);
		return NULL;
	}
	c = child_new(f, h, count, values, lens, with_cells);
	if (!c)
		return NULL;
	if (table_put(f, c)) {
		sonde__cells_free(sonde__load_relaxed(&c->cell), c->ncells);
		child_free(c);
		sonde__self_count_rejected(SONDE_REJECT_OOM);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory growing the child table", f->name);
		return NULL;
	}
	c->prev = f->tail;
	if (f->tail)
		f->tail->next = c;
	else
		f->head = c;
	f->tail = c;
	sonde__fetch_add_relaxed(&f->nchildren, 1);
	return c;
}

/* Checks the label values and hashes them (*h); lens gets their lengths. */
static int check_values(const sonde_family *f, size_t count, const char *const *values,
                        const size_t *lens_in, size_t *lens, uint64_t *h)
{
	uint64_t hh = HASH_SEED;
	size_t i;

	if (count != f->nlabels)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: %zu label values given, the family has %zu labels", f->name,
		                   count, f->nlabels);
	if (count && !values)
		return sonde__fail(SONDE_EINVAL, "%s: label values array is NULL", f->name);
	for (i = 0; i < count; i++) {
		if (!values[i])
			return sonde__fail(SONDE_EINVAL, "%s: value of label \"%s\" is NULL",
			                   f->name, f->label_names[i]);
		if (lens_in) {
			lens[i] = lens_in[i];
			if (lens[i] <= SONDE_LABEL_VALUE_MAX)
				hh = hash_value(hh, values[i], lens[i]);
		} else {
			hh = hash_cstr(hh, values[i], &lens[i]);
		}
		if (lens[i] > SONDE_LABEL_VALUE_MAX)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: value of label \"%s\" is longer than %d bytes",
			                   f->name, f->label_names[i], SONDE_LABEL_VALUE_MAX);
	}
	*h = hash_end(hh);
	return SONDE_OK;
}

sonde__child *sonde__family_child(sonde_family *f, sonde_metric_type want, size_t count,
                                  const char *const *values, const size_t *lens_in)
{
	size_t lens[SONDE_LABELS_MAX];
	sonde__child *c;
	uint64_t h;

	if (!f) {
		sonde__fail(SONDE_EINVAL, "family is NULL");
		return NULL;
	}
	if (f->type != want) {
		sonde__fail(SONDE_ETYPE, "%s is a %s, not a %s", f->name, type_name(f->type),
		            type_name(want));
		return NULL;
	}
	if (count > SONDE_LABELS_MAX || check_values(f, count, values, lens_in, lens, &h))
		return count > SONDE_LABELS_MAX
		               ? (sonde__fail(SONDE_EINVAL, "%s: too many label values", f->name),
		                  NULL)
		               : NULL;
	c = table_find(f, h, count, values, lens);
	if (c)
		return c;
	pthread_mutex_lock(&f->mu);
	if (f->unregistered) {
		pthread_mutex_unlock(&f->mu);
		sonde__fail(SONDE_ESTATE, "%s: family was unregistered", f->name);
		return NULL;
	}
	c = table_find(f, h, count, values, lens);
	if (!c)
		c = child_insert(f, h, count, values, lens, true);
	pthread_mutex_unlock(&f->mu);
	return c;
}

/* Under f->mu. */
static void child_remove_locked(sonde_family *f, sonde__child *c)
{
	uint32_t idx = sonde__load_relaxed(&c->cell);

	table_del(f, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		f->tail = c->prev;
	/* Later calls through old handles land in the trash run. */
	sonde__store_release(&c->cell, SONDE_CELL_TRASH);
	c->removed = true;
	if (c->ext)
		sonde__summary_child_retire(c);
	c->prev = NULL;
	c->next = f->graveyard;
	f->graveyard = c;
	sonde__cells_free(idx, c->ncells);
	sonde__fetch_add_relaxed(&f->nchildren, (size_t)-1);
}

int sonde_family_remove(sonde_family *f, size_t count, const char *const *values,
                        const size_t *lens_in)
{
	size_t lens[SONDE_LABELS_MAX];
	sonde__child *c;
	uint64_t h;

	if (!f)
		return sonde__fail(SONDE_EINVAL, "sonde_family_remove: family is NULL");
	if (count > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: too many label values", f->name);
	if (check_values(f, count, values, lens_in, lens, &h))
		return sonde_last_status();
	pthread_mutex_lock(&f->mu);
	c = table_find(f, h, count, values, lens);
	if (!c || f->internal) {
		pthread_mutex_unlock(&f->mu);
		return sonde__fail(SONDE_ENOENT, "%s: no child with these label values", f->name);
	}
	child_remove_locked(f, c);
	pthread_mutex_unlock(&f->mu);
	sonde__static_gen_bump();
	return SONDE_OK;
}

/* A family without labels keeps its only child (hosts hold that handle):
 * clearing moves it to fresh zeroed cells instead. */
static void reset_only_child(sonde_family *f, sonde__child *c)
{
	uint32_t idx, old = sonde__load_relaxed(&c->cell);

	sonde__store_relaxed(&c->gauge, 0);
	if (c->ext) /* summaries cannot be reset in place (documented) */
		return;
	if (!c->ncells || child_cells(f, &idx) != SONDE_OK)
		return;
	sonde__store_release(&c->cell, idx);
	sonde__cells_free(old, c->ncells);
	c->created_ns = sonde_now_unix_ns();
}

void sonde_family_clear(sonde_family *f)
{
	if (!f || f->internal)
		return;
	pthread_mutex_lock(&f->mu);
	if (f->nlabels == 0) {
		if (f->head)
			reset_only_child(f, f->head);
	} else {
		while (f->head)
			child_remove_locked(f, f->head);
	}
	pthread_mutex_unlock(&f->mu);
	sonde__static_gen_bump();
}

int sonde_family_set_max_children(sonde_family *f, size_t max_children)
{
	if (!f)
		return sonde__fail(SONDE_EINVAL, "sonde_family_set_max_children: family is NULL");
	pthread_mutex_lock(&f->mu);
	f->max_children = max_children ? max_children : SONDE_DEFAULT_MAX_CHILDREN;
	pthread_mutex_unlock(&f->mu);
	return SONDE_OK;
}

size_t sonde_family_size(const sonde_family *f)
{
	return f ? sonde__load_relaxed(&((sonde_family *)f)->nchildren) : 0;
}

const char *sonde_family_name(const sonde_family *f)
{
	return f ? f->name : NULL;
}

void sonde__family_free(sonde_family *f)
{
	sonde__child *c, *n;
	sonde__table *t, *tn;
	size_t i;

	if (!f)
		return;
	for (c = f->head; c; c = n) {
		n = c->next;
		sonde__cells_free(sonde__load_relaxed(&c->cell), c->ncells);
		child_free(c);
	}
	for (c = f->graveyard; c; c = n) {
		n = c->next;
		child_free(c);
	}
	sonde__free(f->quantiles, f->nquantiles * sizeof(double));
	if (f->alt_name)
		sonde__free(f->alt_name, f->alt_len + 1);
	for (i = 0; i < f->nstates; i++) {
		if (f->states && f->states[i])
			sonde__free(f->states[i], strlen(f->states[i]) + 1);
		if (f->states_esc && f->states_esc[i])
			sonde__free(f->states_esc[i], strlen(f->states_esc[i]) + 1);
	}
	sonde__free(f->states, f->nstates * sizeof(char *));
	sonde__free(f->states_esc, f->nstates * sizeof(char *));
	t = sonde__load_relaxed(&f->table);
	if (t)
		sonde__free(t, table_bytes(t));
	for (t = f->retired_tables; t; t = tn) {
		tn = t->retired_next;
		sonde__free(t, table_bytes(t));
	}
	/* A family that ran out of memory half-built may lack its arrays. */
	for (i = 0; f->label_names && i < f->nlabels; i++)
		if (f->label_names[i])
			sonde__free(f->label_names[i], strlen(f->label_names[i]) + 1);
	sonde__free(f->label_names, f->nlabels * sizeof(char *));
	sonde__free(f->bounds, SONDE__BOUNDS_PADDED(f->nbounds) * sizeof(double));
	if (f->name)
		sonde__free(f->name, f->name_len + 1);
	if (f->help)
		sonde__free(f->help, f->help_len + 1);
	if (f->unit)
		sonde__free(f->unit, strlen(f->unit) + 1);
	pthread_mutex_destroy(&f->mu);
	sonde__free(f, sizeof(*f));
}

/* ---- definition ---------------------------------------------------------------------- */

static int check_buckets(const sonde_metric_opts *o, const double **b, size_t *n)
{
	size_t i, cnt = o->bucket_count;

	if (!o->buckets) {
		if (cnt)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: bucket_count is %zu but buckets is NULL", o->name,
			                   cnt);
		*b = default_buckets;
		*n = SONDE_ARRAY_LEN(default_buckets);
		return SONDE_OK;
	}
	/* An explicit trailing +Inf is allowed and dropped: it is implied. */
	if (cnt && isinf(o->buckets[cnt - 1]) && o->buckets[cnt - 1] > 0)
		cnt--;
	if (cnt == 0)
		return sonde__fail(SONDE_EINVAL, "%s: at least one finite bucket bound is needed",
		                   o->name);
	if (cnt > SONDE_BUCKETS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: %zu bucket bounds, the limit is %d", o->name,
		                   cnt, SONDE_BUCKETS_MAX);
	for (i = 0; i < cnt; i++) {
		if (!isfinite(o->buckets[i]))
			return sonde__fail(SONDE_EINVAL, "%s: bucket bound %zu is not finite",
			                   o->name, i);
		if (i && !(o->buckets[i] > o->buckets[i - 1]))
			return sonde__fail(
			        SONDE_EINVAL,
			        "%s: bucket bounds must be strictly increasing (bound %zu)",
			        o->name, i);
	}
	*b = o->buckets;
	*n = cnt;
	return SONDE_OK;
}

static int check_opts(const sonde_metric_opts *o, const double **b, size_t *nb)
{
	size_t i, j;
	int rc;

	if (!o)
		return sonde__fail(SONDE_EINVAL, "metric options are NULL");
	if (o->size < sizeof(sonde_metric_opts))
		return sonde__fail(SONDE_EINVAL, "metric options: size is %zu, want %zu", o->size,
		                   sizeof(sonde_metric_opts));
	if ((rc = sonde__check_metric_name("metric", o->name)))
		return rc;
	switch (o->type) {
	case SONDE_TYPE_COUNTER:
	case SONDE_TYPE_GAUGE:
	case SONDE_TYPE_HISTOGRAM:
	case SONDE_TYPE_SUMMARY:
	case SONDE_TYPE_INFO:
	case SONDE_TYPE_STATESET: break;
	case SONDE_TYPE_UNTYPED:
		return sonde__fail(SONDE_ENOTSUP,
		                   "%s: metric type %s is not available in this version", o->name,
		                   type_name(o->type));
	default:
		return sonde__fail(SONDE_EINVAL, "%s: unknown metric type %d", o->name,
		                   (int)o->type);
	}
	if (o->help && strnlen(o->help, SONDE_HELP_MAX + 1) > SONDE_HELP_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: help text is longer than %d bytes", o->name,
		                   SONDE_HELP_MAX);
	if (o->unit && *o->unit) {
		/* OpenMetrics: the name must end in _<unit> (before _total) */
		size_t nl = strlen(o->name), ul = strlen(o->unit);
		if ((rc = sonde__check_unit(o->unit)))
			return rc;
		if (o->type == SONDE_TYPE_COUNTER && nl > 6 &&
		    strcmp(o->name + nl - 6, "_total") == 0)
			nl -= 6;
		if (nl < ul + 1 || o->name[nl - ul - 1] != '_' ||
		    memcmp(o->name + nl - ul, o->unit, ul) != 0)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: unit \"%s\" must be the name's suffix (name_%s)",
			                   o->name, o->unit, o->unit);
	}
	if (o->label_count > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: %zu labels, the limit is %d", o->name,
		                   o->label_count, SONDE_LABELS_MAX);
	if (o->label_count && !o->label_names)
		return sonde__fail(SONDE_EINVAL, "%s: label_count is %zu but label_names is NULL",
		                   o->name, o->label_count);
	for (i = 0; i < o->label_count; i++) {
		if ((rc = sonde__check_label_name(o->label_names[i], o->type)))
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(o->label_names[i], o->label_names[j]) == 0)
				return sonde__fail(SONDE_EINVAL,
				                   "%s: label name \"%s\" appears twice", o->name,
				                   o->label_names[i]);
	}
	if (o->type == SONDE_TYPE_SUMMARY) {
		size_t nq = o->quantiles ? o->quantile_count : 0;
		if (!o->quantiles && o->quantile_count)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: quantile_count is %zu but quantiles is NULL",
			                   o->name, o->quantile_count);
		if (nq > SONDE_QUANTILES_MAX)
			return sonde__fail(SONDE_EINVAL, "%s: %zu quantiles, the limit is %d",
			                   o->name, nq, SONDE_QUANTILES_MAX);
		for (i = 0; i < nq; i++)
			if (!(o->quantiles[i] >= 0 && o->quantiles[i] <= 1) ||
			    (i && !(o->quantiles[i] > o->quantiles[i - 1])))
				return sonde__fail(
				        SONDE_EINVAL,
				        "%s: quantiles must be strictly increasing within [0, 1] "
				        "(quantile %zu)",
				        o->name, i);
		if (o->max_age_seconds != 0 &&
		    !(o->max_age_seconds >= 0.001 && o->max_age_seconds <= 86400.0 * 365))
			return sonde__fail(SONDE_EINVAL,
			                   "%s: max_age_seconds must be in [0.001, 1 year]",
			                   o->name);
		if (o->age_buckets > SONDE_SUMMARY_SLOTS_MAX)
			return sonde__fail(SONDE_EINVAL, "%s: age_buckets must be 1..%d", o->name,
			                   SONDE_SUMMARY_SLOTS_MAX);
	}
	if (o->type == SONDE_TYPE_STATESET) {
		if (o->label_count)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: a stateset has no labels but its states", o->name);
		if (sonde__check_label_name(o->name, SONDE_TYPE_STATESET))
			return sonde__fail(
			        SONDE_EINVAL,
			        "%s: a stateset's name is also its label name: must match "
			        "[a-zA-Z_][a-zA-Z0-9_]* and not start with __",
			        o->name);
		if (!o->states || o->state_count == 0 || o->state_count > SONDE_STATES_MAX)
			return sonde__fail(SONDE_EINVAL, "%s: a stateset needs 1..%d states",
			                   o->name, SONDE_STATES_MAX);
		for (i = 0; i < o->state_count; i++) {
			if (!o->states[i] || !o->states[i][0] ||
			    strlen(o->states[i]) > SONDE_LABEL_VALUE_MAX)
				return sonde__fail(SONDE_EINVAL,
				                   "%s: state %zu is NULL, empty or too long",
				                   o->name, i);
			for (j = 0; j < i; j++)
				if (strcmp(o->states[i], o->states[j]) == 0)
					return sonde__fail(SONDE_EINVAL,
					                   "%s: state \"%s\" appears twice",
					                   o->name, o->states[i]);
		}
	} else if (o->states || o->state_count) {
		return sonde__fail(SONDE_EINVAL, "%s: states are only for statesets", o->name);
	}
	if (o->type == SONDE_TYPE_HISTOGRAM)
		return check_buckets(o, b, nb);
	if (o->buckets || o->bucket_count)
		return sonde__fail(SONDE_EINVAL, "%s: buckets are only for histograms", o->name);
	*b = NULL;
	*nb = 0;
	return SONDE_OK;
}

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool same_definition(const sonde_family *f, const sonde_metric_opts *o, const double *b,
                            size_t nb)
{
	size_t i;

	if (f->internal || f->func || f->type != o->type || !same_str(f->help, o->help) ||
	    !same_str(f->unit, o->unit) || f->nlabels != o->label_count || f->nbounds != nb)
		return false;
	for (i = 0; i < f->nlabels; i++)
		if (strcmp(f->label_names[i], o->label_names[i]) != 0)
			return false;
	for (i = 0; i < nb; i++)
		if (f->bounds[i] != b[i])
			return false;
	if (f->type == SONDE_TYPE_STATESET) {
		if (f->nstates != o->state_count)
			return false;
		for (i = 0; i < f->nstates; i++)
			if (strcmp(f->states[i], o->states[i]) != 0)
				return false;
	}
	if (f->type == SONDE_TYPE_SUMMARY) {
		const double *q = o->quantiles ? o->quantiles : default_quantiles;
		size_t nq = o->quantiles ? o->quantile_count : SONDE_ARRAY_LEN(default_quantiles);
		if (nq != f->nquantiles || memcmp(q, f->quantiles, nq * sizeof(double)) != 0 ||
		    (o->max_age_seconds ? o->max_age_seconds : 600) != f->max_age_s ||
		    (o->age_buckets ? o->age_buckets : 5) != f->age_buckets)
			return false;
	}
	return true;
}

/* The sample names a family writes besides its own name, which no other
 * family may use as its name. */
static const char *const *suffixes(sonde_metric_type t)
{
	static const char *const hist[] = {"_bucket", "_sum", "_count", "_created", NULL};
	static const char *const sum[] = {"_sum", "_count", "_created", NULL};
	static const char *const ctr[] = {"_total", "_created", NULL};
	static const char *const info[] = {"_info", NULL};
	static const char *const none[] = {NULL};

	switch (t) {
	case SONDE_TYPE_HISTOGRAM: return hist;
	case SONDE_TYPE_SUMMARY: return sum;
	case SONDE_TYPE_COUNTER: return ctr;
	case SONDE_TYPE_INFO: return info;
	default: return none;
	}
}

static bool is_name_plus_suffix(const char *full, const char *base, const char *const *suf)
{
	size_t bl = strlen(base);

	if (strncmp(full, base, bl) != 0)
		return false;
	for (; *suf; suf++)
		if (strcmp(full + bl, *suf) == 0)
			return true;
	return false;
}

/* Under r->mu: a family whose samples would collide with f's, or NULL. */
static const sonde_family *clash(const sonde_registry *r, const char *name, sonde_metric_type t)
{
	size_t i;

	for (i = 0; i < r->nfams; i++) {
		const sonde_family *e = r->fams[i];
		if (is_name_plus_suffix(e->name, name, suffixes(t)) ||
		    is_name_plus_suffix(name, e->name, suffixes(e->type)))
			return e;
	}
	return NULL;
}

static size_t find_pos(const sonde_registry *r, const char *name, bool *found)
{
	size_t lo = 0, hi = r->nfams;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->fams[mid]->name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static sonde_family *family_alloc(const sonde_metric_opts *o, const double *b, size_t nb)
{
	sonde_family *f = sonde__calloc(1, sizeof(*f));
	size_t i;

	if (!f)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	f->type = o->type;
	f->name_len = strlen(o->name);
	f->name = sonde__strndup(o->name, f->name_len);
	f->help_len = o->help ? strlen(o->help) : 0;
	f->help = sonde__strndup(o->help ? o->help : "", f->help_len);
	f->unit = o->unit && *o->unit ? sonde__strndup(o->unit, strlen(o->unit)) : NULL;
	f->max_children = o->max_children ? o->max_children : SONDE_DEFAULT_MAX_CHILDREN;
	f->nlabels = o->label_count;
	if (!f->name || !f->help || (o->unit && *o->unit && !f->unit))
		goto oom;
	if (f->nlabels) {
		f->label_names = sonde__calloc(f->nlabels, sizeof(char *));
		if (!f->label_names)
			goto oom;
		for (i = 0; i < f->nlabels; i++) {
			f->label_names[i] =
			        sonde__strndup(o->label_names[i], strlen(o->label_names[i]));
			if (!f->label_names[i])
				goto oom;
		}
	}
	if (o->type == SONDE_TYPE_SUMMARY) {
		const double *q = o->quantiles ? o->quantiles : default_quantiles;
		size_t nq = o->quantiles ? o->quantile_count : SONDE_ARRAY_LEN(default_quantiles);
		f->max_age_s = o->max_age_seconds ? o->max_age_seconds : 600;
		f->age_buckets = o->age_buckets ? o->age_buckets : 5;
		if (nq) {
			f->quantiles = sonde__malloc(nq * sizeof(double));
			if (!f->quantiles)
				goto oom;
			memcpy(f->quantiles, q, nq * sizeof(double));
			f->nquantiles = nq;
		}
	}
	if (o->type == SONDE_TYPE_INFO) {
		/* "build" or "build_info": the samples are build_info either way */
		f->base_len = f->name_len;
		if (f->base_len > 5 && !strcmp(f->name + f->base_len - 5, "_info"))
			f->base_len -= 5;
		f->alt_len = f->base_len + 5;
		f->alt_name = sonde__malloc(f->alt_len + 1);
		if (!f->alt_name)
			goto oom;
		memcpy(f->alt_name, f->name, f->base_len);
		memcpy(f->alt_name + f->base_len, "_info", 6);
	}
	if (o->type == SONDE_TYPE_STATESET) {
		f->states = sonde__calloc(o->state_count, sizeof(char *));
		f->states_esc = sonde__calloc(o->state_count, sizeof(char *));
		if (!f->states || !f->states_esc)
			goto oom;
		f->nstates = o->state_count;
		for (i = 0; i < o->state_count; i++) {
			sonde_buf e = SONDE_BUF_INIT;
			sonde__put_label_value(&e, o->states[i], strlen(o->states[i]));
			sonde__buf_terminate(&e);
			f->states[i] = sonde__strndup(o->states[i], strlen(o->states[i]));
			f->states_esc[i] = e.oom ? NULL : sonde__strndup(e.data, e.len);
			sonde_buf_destroy(&e);
			if (!f->states[i] || !f->states_esc[i])
				goto oom;
		}
	}
	if (nb) {
		f->bounds = sonde__malloc(SONDE__BOUNDS_PADDED(nb) * sizeof(double));
		if (!f->bounds)
			goto oom;
		memcpy(f->bounds, b, nb * sizeof(double));
		for (i = nb; i < SONDE__BOUNDS_PADDED(nb); i++)
			f->bounds[i] = INFINITY;
		f->nbounds = nb;
	}
	return f;
oom:
	sonde__family_free(f);
	return NULL;
}

/* Under r->mu: inserts f at pos, growing the array. */
static int registry_insert(sonde_registry *r, size_t pos, sonde_family *f)
{
	if (r->nfams == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		sonde_family **a = sonde__realloc(r->fams, r->cap * sizeof(*a), nc * sizeof(*a));
		if (!a)
			return SONDE_ENOMEM;
		r->fams = a;
		r->cap = nc;
	}
	memmove(&r->fams[pos + 1], &r->fams[pos], (r->nfams - pos) * sizeof(*r->fams));
	r->fams[pos] = f;
	r->nfams++;
	f->reg = r;
	return SONDE_OK;
}

/* internal: self-metrics; func: callback families (no automatic child). */
/* The options as this library knows them: a caller compiled against an
 * older, smaller sonde_metric_opts passes its own size, and the fields it
 * does not have read as zero. */
#define OPTS_V1_SIZE offsetof(sonde_metric_opts, quantiles)

static sonde_family *family_register(sonde_registry *r, const sonde_metric_opts *o_in,
                                     bool internal, bool func)
{
	sonde_metric_opts copy;
	const sonde_metric_opts *o = &copy;
	const double *b = NULL;
	size_t nb = 0, pos;
	sonde_family *f;
	const sonde_family *other;
	bool found;

	if (sonde__opts_copy(&copy, sizeof(copy), o_in, OPTS_V1_SIZE, "metric options") != 0)
		return NULL;
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return NULL;
	if (check_opts(o, &b, &nb))
		return NULL;
	pthread_mutex_lock(&r->mu);
	pos = find_pos(r, o->name, &found);
	if (found) {
		f = r->fams[pos];
		pthread_mutex_unlock(&r->mu);
		if (!internal && same_definition(f, o, b, nb))
			return f;
		sonde__fail(SONDE_EEXIST,
		            "metric \"%s\" is already registered with a different definition",
		            o->name);
		return NULL;
	}
	other = clash(r, o->name, o->type);
	if (other) {
		pthread_mutex_unlock(&r->mu);
		sonde__fail(SONDE_EEXIST, "metric \"%s\" would collide with the samples of \"%s\"",
		            o->name, other->name);
		return NULL;
	}
	f = family_alloc(o, b, nb);
	if (!f) {
		pthread_mutex_unlock(&r->mu);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory", o->name);
		return NULL;
	}
	f->internal = internal;
	f->func = func;
	if (f->nlabels == 0 && !internal && !func) {
		pthread_mutex_lock(&f->mu);
		sonde__child *c = child_insert(f, hash_values(0, NULL, NULL), 0, NULL, NULL, true);
		pthread_mutex_unlock(&f->mu);
		if (!c) {
			pthread_mutex_unlock(&r->mu);
			sonde__family_free(f);
			return NULL;
		}
	}
	if (registry_insert(r, pos, f)) {
		pthread_mutex_unlock(&r->mu);
		sonde__family_free(f);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory", o->name);
		return NULL;
	}
	pthread_mutex_unlock(&r->mu);
	return f;
}

sonde_family *sonde_family_new(sonde_registry *r, const sonde_metric_opts *o)
{
	return family_register(r, o, false, false);
}

sonde_family *sonde__family_new_internal(sonde_registry *r, sonde_metric_type type,
                                         const char *name, const char *help, size_t nlabels,
                                         const char *const *label_names)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, type, name, help);
	o.label_count = nlabels;
	o.label_names = label_names;
	return family_register(r, &o, true, false);
}

/* Adds a callback child; under f->mu. */
static int add_fn_child(sonde_family *f, uint64_t h, size_t count, const char *const *values,
                        const size_t *lens, sonde_value_fn fn, void *arg)
{
	sonde__child *c;

	pthread_mutex_lock(&f->mu);
	if (table_find(f, h, count, values, lens)) {
		pthread_mutex_unlock(&f->mu);
		return sonde__fail(SONDE_EEXIST, "%s: a child with these label values exists",
		                   f->name);
	}
	c = child_insert(f, h, count, values, lens, false);
	if (c) {
		c->read_fn = fn;
		c->read_arg = arg;
	}
	pthread_mutex_unlock(&f->mu);
	return c ? SONDE_OK : sonde_last_status();
}

int sonde__family_add_fn_child(sonde_family *f, const char *const *values, sonde_value_fn fn,
                               void *arg)
{
	size_t lens[SONDE_LABELS_MAX], i;

	for (i = 0; i < f->nlabels; i++)
		lens[i] = strlen(values[i]);
	return add_fn_child(f, hash_values(f->nlabels, values, lens), f->nlabels, values, lens, fn,
	                    arg);
}

int sonde_family_add_func(sonde_family *f, size_t count, const char *const *values,
                          const size_t *lens_in, sonde_value_fn fn, void *user)
{
	size_t lens[SONDE_LABELS_MAX];
	uint64_t h;

	if (!f || !fn)
		return sonde__fail(SONDE_EINVAL, "sonde_family_add_func: family or fn is NULL");
	if (f->type != SONDE_TYPE_COUNTER && f->type != SONDE_TYPE_GAUGE)
		return sonde__fail(SONDE_ETYPE, "%s: callback children are for counters and gauges",
		                   f->name);
	if (f->nlabels == 0 || f->internal)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: use sonde_gauge_func_new/sonde_counter_func_new "
		                   "for a family without labels",
		                   f->name);
	if (count > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: too many label values", f->name);
	if (check_values(f, count, values, lens_in, lens, &h))
		return sonde_last_status();
	return add_fn_child(f, h, count, values, lens, fn, user);
}

static sonde_family *func_new(sonde_registry *r, sonde_metric_type t, const char *name,
                              const char *help, sonde_value_fn fn, void *user)
{
	sonde_metric_opts o;
	sonde_family *f;

	if (!fn) {
		sonde__fail(SONDE_EINVAL, "%s: callback is NULL", name ? name : "(null)");
		return NULL;
	}
	sonde_metric_opts_init(&o, t, name, help);
	f = family_register(r, &o, false, true);
	if (f && add_fn_child(f, hash_values(0, NULL, NULL), 0, NULL, NULL, fn, user) != SONDE_OK) {
		int st = sonde_last_status();
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", sonde_last_error());
		sonde__ignore(sonde_registry_unregister(f->reg, f));
		sonde__fail(st, "%s", msg);
		return NULL;
	}
	return f;
}

sonde_family *sonde_gauge_func_new(sonde_registry *r, const char *name, const char *help,
                                   sonde_value_fn fn, void *user)
{
	return func_new(r, SONDE_TYPE_GAUGE, name, help, fn, user);
}

sonde_family *sonde_counter_func_new(sonde_registry *r, const char *name, const char *help,
                                     sonde_value_fn fn, void *user)
{
	return func_new(r, SONDE_TYPE_COUNTER, name, help, fn, user);
}

sonde_family *sonde_registry_find(sonde_registry *r, const char *name)
{
	sonde_family *f = NULL;
	size_t pos;
	bool found;

	if (!name) {
		sonde__fail(SONDE_EINVAL, "sonde_registry_find: name is NULL");
		return NULL;
	}
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return NULL;
	pthread_mutex_lock(&r->mu);
	pos = find_pos(r, name, &found);
	if (found)
		f = r->fams[pos];
	pthread_mutex_unlock(&r->mu);
	if (!f)
		sonde__fail(SONDE_ENOENT, "no metric named \"%.64s\"", name);
	return f;
}

static sonde_family *shorthand(sonde_registry *r, sonde_metric_type t, const char *name,
                               const char *help, const double *bounds, size_t nb, size_t nlabels,
                               const char *const *labels)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, t, name, help);
	o.label_count = nlabels;
	o.label_names = labels;
	o.buckets = bounds;
	o.bucket_count = nb;
	return sonde_family_new(r, &o);
}

sonde_family *sonde_counter_family_new(sonde_registry *r, const char *name, const char *help,
                                       size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_COUNTER, name, help, NULL, 0, label_count, label_names);
}

sonde_family *sonde_gauge_family_new(sonde_registry *r, const char *name, const char *help,
                                     size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_GAUGE, name, help, NULL, 0, label_count, label_names);
}

sonde_family *sonde_histogram_family_new(sonde_registry *r, const char *name, const char *help,
                                         const double *bounds, size_t bucket_count,
                                         size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_HISTOGRAM, name, help, bounds, bucket_count, label_count,
	                 label_names);
}

static sonde__child *only_child(sonde_family *f, sonde_metric_type t)
{
	return f ? sonde__family_child(f, t, 0, NULL, NULL) : NULL;
}

sonde_counter *sonde_counter_new(sonde_registry *r, const char *name, const char *help)
{
	return (sonde_counter *)only_child(
	        shorthand(r, SONDE_TYPE_COUNTER, name, help, NULL, 0, 0, NULL), SONDE_TYPE_COUNTER);
}

sonde_gauge *sonde_gauge_new(sonde_registry *r, const char *name, const char *help)
{
	return (sonde_gauge *)only_child(
	        shorthand(r, SONDE_TYPE_GAUGE, name, help, NULL, 0, 0, NULL), SONDE_TYPE_GAUGE);
}

sonde_histogram *sonde_histogram_new(sonde_registry *r, const char *name, const char *help,
                                     const double *bounds, size_t bucket_count)
{
	return (sonde_histogram *)only_child(
	        shorthand(r, SONDE_TYPE_HISTOGRAM, name, help, bounds, bucket_count, 0, NULL),
	        SONDE_TYPE_HISTOGRAM);
}

/* ---- typed child lookup ------------------------------------------------------------ */

sonde_counter *sonde_counter_labels(sonde_family *f, size_t count, const char *const *values,
                                    const size_t *lens)
{
	return (sonde_counter *)sonde__family_child(f, SONDE_TYPE_COUNTER, count, values, lens);
}

sonde_gauge *sonde_gauge_labels(sonde_family *f, size_t count, const char *const *values,
                                const size_t *lens)
{
	return (sonde_gauge *)sonde__family_child(f, SONDE_TYPE_GAUGE, count, values, lens);
}

sonde_histogram *sonde_histogram_labels(sonde_family *f, size_t count, const char *const *values,
                                        const size_t *lens)
{
	return (sonde_histogram *)sonde__family_child(f, SONDE_TYPE_HISTOGRAM, count, values, lens);
}

static sonde__child *with_va(sonde_family *f, sonde_metric_type t, size_t count, va_list ap)
{
	const char *vals[SONDE_LABELS_MAX];
	size_t i;

	if (count > SONDE_LABELS_MAX) {
		sonde__fail(SONDE_EINVAL, "too many label values (%zu)", count);
		return NULL;
	}
	for (i = 0; i < count; i++)
		vals[i] = va_arg(ap, const char *);
	return sonde__family_child(f, t, count, vals, NULL);
}

sonde_counter *sonde_counter_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_COUNTER, count, ap);
	va_end(ap);
	return (sonde_counter *)c;
}

sonde_gauge *sonde_gauge_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_GAUGE, count, ap);
	va_end(ap);
	return (sonde_gauge *)c;
}

sonde_histogram *sonde_histogram_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_HISTOGRAM, count, ap);
	va_end(ap);
	return (sonde_histogram *)c;
}

/* ---- summaries --------------------------------------------------------------------- */

sonde_summary *sonde_summary_new(sonde_registry *r, const char *name, const char *help)
{
	return (sonde_summary *)only_child(
	        shorthand(r, SONDE_TYPE_SUMMARY, name, help, NULL, 0, 0, NULL), SONDE_TYPE_SUMMARY);
}

sonde_family *sonde_summary_family_new(sonde_registry *r, const char *name, const char *help,
                                       size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_SUMMARY, name, help, NULL, 0, label_count, label_names);
}

sonde_summary *sonde_summary_labels(sonde_family *f, size_t count, const char *const *values,
                                    const size_t *lens)
{
	return (sonde_summary *)sonde__family_child(f, SONDE_TYPE_SUMMARY, count, values, lens);
}

sonde_summary *sonde_summary_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_SUMMARY, count, ap);
	va_end(ap);
	return (sonde_summary *)c;
}

uint64_t sonde_summary_count(const sonde_summary *s)
{
	sonde__summ_snapshot snap;
	double q;

	if (!s || sonde__summary_read(&s->c, NULL, 0, &q, &snap) != SONDE_OK)
		return 0;
	return snap.count;
}

double sonde_summary_sum(const sonde_summary *s)
{
	sonde__summ_snapshot snap;
	double q;

	if (!s || sonde__summary_read(&s->c, NULL, 0, &q, &snap) != SONDE_OK)
		return 0;
	return snap.sum;
}

double sonde_summary_quantile(const sonde_summary *s, double q)
{
	sonde__summ_snapshot snap;
	double v = NAN;

	if (!s || !(q >= 0 && q <= 1))
		return NAN;
	if (sonde__summary_read(&s->c, &q, 1, &v, &snap) != SONDE_OK)
		return NAN;
	return v;
}

/* ---- info and stateset ---------------------------------------------------------- */

sonde_family *sonde_info_family_new(sonde_registry *r, const char *name, const char *help,
                                    size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_INFO, name, help, NULL, 0, label_count, label_names);
}

int sonde_info_add(sonde_family *f, size_t count, const char *const *values, const size_t *lens)
{
	return sonde__family_child(f, SONDE_TYPE_INFO, count, values, lens) ? SONDE_OK
	                                                                    : sonde_last_status();
}

sonde_stateset *sonde_stateset_new(sonde_registry *r, const char *name, const char *help,
                                   size_t state_count, const char *const *states)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, SONDE_TYPE_STATESET, name, help);
	o.states = states;
	o.state_count = state_count;
	return (sonde_stateset *)only_child(sonde_family_new(r, &o), SONDE_TYPE_STATESET);
}

static int state_index(const sonde_stateset *s, const char *state)
{
	const sonde_family *f = s->c.fam;
	size_t i;

	for (i = 0; state && i < f->nstates; i++)
		if (strcmp(f->states[i], state) == 0)
			return (int)i;
	sonde__fail(SONDE_ENOENT, "%s: no state \"%.64s\"", f->name, state ? state : "(null)");
	return -1;
}

int sonde_stateset_set(sonde_stateset *s, const char *state, bool on)
{
	int i;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_stateset_set: stateset is NULL");
	i = state_index(s, state);
	if (i < 0)
		return SONDE_ENOENT;
	if (on)
		atomic_fetch_or_explicit(&s->c.gauge, (uint64_t)1 << i, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&s->c.gauge, ~((uint64_t)1 << i), memory_order_relaxed);
	return SONDE_OK;
}

int sonde_stateset_enum(sonde_stateset *s, const char *state)
{
	int i;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_stateset_enum: stateset is NULL");
	i = state_index(s, state);
	if (i < 0)
		return SONDE_ENOENT;
	sonde__store_relaxed(&s->c.gauge, (uint64_t)1 << i);
	return SONDE_OK;
}

void sonde_stateset_set_mask(sonde_stateset *s, uint64_t mask)
{
	size_t n;

	if (!s)
		return;
	n = s->c.fam->nstates;
	sonde__store_relaxed(&s->c.gauge, n >= 64 ? mask : mask & (((uint64_t)1 << n) - 1));
}

uint64_t sonde_stateset_mask(const sonde_stateset *s)
{
	return s ? sonde__load_relaxed(&((sonde_stateset *)s)->c.gauge) : 0;
}
