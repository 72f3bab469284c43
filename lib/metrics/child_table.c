/*
 * lib/metrics/child_table.c - a family's child table: open addressing keyed
 * by the label hash, probed without a lock, changed under the family mutex.
 * Calls core only.
 */
#include "metrics/metrics-int.h"

/* Label values are short: an inline loop beats a call to memcmp. */
static inline bool bytes_equal(const char *a, const char *b, size_t n)
{
	size_t j;

	if (n > 64)
		return memcmp(a, b, n) == 0;
	for (j = 0; j + 8 <= n; j += 8)
		if (sonde__load_le64(a + j) != sonde__load_le64(b + j))
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
 * sonde__table_put() and in table resize, which publish a child (and a table)
 * only once its fields are written. */
sonde__child *sonde__table_find(sonde_family *f, uint64_t h, size_t count,
                                const char *const *values, const size_t *lens)
{
	/* acquire: pairs with the release in sonde__table_put() that publishes
	 * a resized table, filled */
	sonde__table *t = sonde__load_acquire(&f->table);
	size_t i, n;

	if (!t)
		return NULL;
	for (i = h & (t->cap - 1), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		/* acquire: pairs with the release in sonde__table_put() that
		 * publishes the child's fields (hash, values) */
		sonde__child *c = sonde__load_acquire(&t->slot[i]);
		if (!c)
			return NULL;
		if (c != SONDE_TOMBSTONE && child_matches(c, h, count, values, lens))
			return c;
	}
	return NULL;
}

/* Under f->mu. */
int sonde__table_put(sonde_family *f, sonde__child *c)
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
		/* release: publishes the filled table to sonde__table_find(). */
		sonde__store_release(&f->table, nt);
		t = nt;
	}
	for (i = c->hash & (t->cap - 1); sonde__load_relaxed(&t->slot[i]);
	     i = (i + 1) & (t->cap - 1))
		;
	t->used++;
	/* release: publishes the child's fields to sonde__table_find(). */
	sonde__store_release(&t->slot[i], c);
	return SONDE_OK;
}

/* Under f->mu: replaces c's slot with a tombstone. */
void sonde__table_del(sonde_family *f, sonde__child *c)
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
			/* release: pairs with the acquire in sonde__table_find();
			 * a probe that still sees c finds a child that stays
			 * readable (removed children are freed with the family) */
			sonde__store_release(&t->slot[i], SONDE_TOMBSTONE);
			return;
		}
	}
}

/* With the family, at its end: the live table and every retired one. */
void sonde__table_free_all(sonde_family *f)
{
	sonde__table *t = sonde__load_relaxed(&f->table), *tn;

	if (t)
		sonde__free(t, table_bytes(t));
	for (t = f->retired_tables; t; t = tn) {
		tn = t->retired_next;
		sonde__free(t, table_bytes(t));
	}
}
