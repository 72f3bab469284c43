/*
 * lib/metrics/child.c - a child's life: created with its cells and label
 * text, inserted under the family mutex, removed (its handle pointed at the
 * trash run, its cells reused after the grace period), freed with the
 * family. Calls labels, the child table, cells, summaries and exemplars.
 */
#include "core/pb.h"
#include "metrics/metrics-int.h"
#include "metrics/native.h"
#include "metrics/summary.h"

/* The removal generation: METRIC_*_LABELS call sites cache a child and
 * drop it when this has moved (static.c). */
unsigned long sonde__static_gen;

void sonde__static_gen_bump(void)
{
	/* release: pairs with the acquire in sonde__static_child(); a site that
	 * sees the new generation drops its cached (maybe removed) child. */
	sonde__plain_fetch_add_release(&sonde__static_gen, 1);
}

static uint32_t cells_needed(const sonde_family *f)
{
	switch (f->type) {
	case SONDE_TYPE_COUNTER: return 2; /* SONDE__ABI_COUNTER_U64_CELL, _F64_CELL */
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

/* One allocation: the child, the value pointers, lengths, values and the
 * escaped label string. */
static sonde__child *child_new(sonde_family *f, uint64_t h, size_t count, const char *const *values,
                               const size_t *lens, bool with_cells)
{
	sonde_buf lb = SONDE_BUF_INIT, pb = SONDE_BUF_INIT;
	size_t size, i, vbytes = 0;
	sonde__child *c;
	char *p;
	int rc;
	uint32_t idx;

	sonde__put_label_pairs(&lb, (const char *const *)f->label_names, values, lens, count);
	if (f->konst.n) { /* the family's constant labels follow its own */
		if (count)
			sonde__buf_putc(&lb, ',');
		sonde__buf_put(&lb, f->konst.txt, f->konst.txt_len);
	}
	sonde__buf_terminate(&lb);
	/* the protobuf exposition's Metric.label fields, encoded once here
	 * (the values were checked as UTF-8 by the caller) */
	for (i = 0; i < count; i++) {
		size_t m = sonde__pb_begin(&pb, 1);
		sonde__pb_bytes(&pb, 1, f->label_names[i], strlen(f->label_names[i]));
		sonde__pb_bytes(&pb, 2, values[i], lens[i]);
		sonde__pb_end(&pb, m);
	}
	if (f->konst.n)
		sonde__buf_put(&pb, f->konst.pb, f->konst.pb_len);
	if (lb.oom || pb.oom) {
		sonde_buf_destroy(&pb);
		sonde_buf_destroy(&lb);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory for a new child", f->name);
		return NULL;
	}
	for (i = 0; i < count; i++)
		vbytes += lens[i] + 1;
	size = sizeof(*c) + count * (sizeof(char *) + sizeof(uint32_t)) + vbytes + lb.len + 1 +
	       pb.len;
	c = sonde__calloc(1, size);
	if (!c) {
		sonde_buf_destroy(&pb);
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
	c->pb_lbl = p + lb.len + 1;
	c->pb_lbl_len = pb.len;
	if (pb.len)
		memcpy(c->pb_lbl, pb.data, pb.len);
	sonde_buf_destroy(&lb);
	sonde_buf_destroy(&pb);

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
	c->fam = f; /* sonde__native_of() reads it */
	if (f->type == SONDE_TYPE_HISTOGRAM && f->native && with_cells &&
	    (rc = sonde__native_child_init(c, f)) != SONDE_OK) {
		sonde__cells_free(idx, cells_needed(f));
		sonde__free(c, size);
		sonde__fail(rc, "%s: %s for a new child", f->name,
		            rc == SONDE_ELIMIT ? "no metric cell left" : "out of memory");
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

void sonde__child_free(sonde__child *c)
{
	sonde__exemplars_free(c);
	if (c->ext && c->fam && c->fam->type == SONDE_TYPE_HISTOGRAM)
		sonde__native_child_free(c);
	else if (c->ext)
		sonde__summary_child_free(c);
	sonde__free(c, c->alloc_size);
}

/* Under f->mu: creates, indexes and links a new child. */
sonde__child *sonde__child_insert(sonde_family *f, uint64_t h, size_t count,
                                  const char *const *values, const size_t *lens, bool with_cells)
{
	sonde__child *c;
	size_t i, at;

	/* Checked here, on a miss only: a lookup that finds a child matched
	 * values that were checked when it was created. */
	for (i = 0; i < count; i++)
		if ((at = sonde__utf8_invalid_at(values[i], lens[i])) != SIZE_MAX) {
			sonde__fail(SONDE_EINVAL,
			            "%s: value of label \"%s\" is not valid UTF-8 (byte %zu)",
			            f->name, f->label_names[i], at);
			return NULL;
		}
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
	if (sonde__table_put(f, c)) {
		sonde__cells_free(sonde__load_relaxed(&c->cell), c->ncells);
		sonde__child_free(c);
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

/* Under f->mu. */
static void child_remove_locked(sonde_family *f, sonde__child *c)
{
	uint32_t idx = sonde__load_relaxed(&c->cell);

	sonde__table_del(f, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		f->tail = c->prev;
	/* Later calls through old handles land in the trash run. release:
	 * orders the unlinking before the index; the hot path's relaxed load
	 * needs no pairing acquire (any index it reads is a valid run), and
	 * the cells are reused only after the grace period (cells.c). */
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
	if (sonde__labels_check(f, count, values, lens_in, lens, &h))
		return sonde_last_status();
	sonde__fam_lock(f);
	c = sonde__table_find(f, h, count, values, lens);
	if (!c || f->internal) {
		sonde__fam_unlock(f);
		return sonde__fail(SONDE_ENOENT, "%s: no child with these label values", f->name);
	}
	child_remove_locked(f, c);
	sonde__fam_unlock(f);
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
	/* release: the new run was zeroed in every thread (cells_alloc) before
	 * the handle points at it; as above, the hot path reads it relaxed. */
	sonde__store_release(&c->cell, idx);
	sonde__cells_free(old, c->ncells);
	c->created_ns = sonde_now_unix_ns();
}

void sonde_family_clear(sonde_family *f)
{
	if (!f || f->internal)
		return;
	sonde__fam_lock(f);
	if (f->nlabels == 0) {
		if (f->head)
			reset_only_child(f, f->head);
	} else {
		while (f->head)
			child_remove_locked(f, f->head);
	}
	sonde__fam_unlock(f);
	sonde__static_gen_bump();
}

/* Unregistering: every child is removed, the only child of an unlabelled
 * family too. Its handle stays valid (hosts hold it); its writes land in
 * the trash run and its cells are reused after the grace period. */
void sonde__family_retire(sonde_family *f)
{
	sonde__fam_lock(f);
	while (f->head)
		child_remove_locked(f, f->head);
	f->unregistered = true;
	sonde__fam_unlock(f);
	sonde__static_gen_bump();
}
