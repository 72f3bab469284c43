/* lib/metrics/cells.c - per-thread cell pages, their directory, the run allocator
 * and the accumulator of exited threads. See cells.h for the design and the
 * synchronization table. */
#include <pthread.h>

#include "metrics/cells.h"

SONDE_TLS sonde__cell_t **sonde__tls_dir;
SONDE_TLS uint32_t sonde__tls_npages;

typedef struct slab {
	sonde__cell_t **dir; /* npages entries, NULL where untouched */
	uint32_t npages;
	struct slab *next, *prev;
} slab;

/* Slow-path only, so the default TLS model is fine here. */
static SONDE_TLS_DYNAMIC slab *tls_slab;

static pthread_mutex_t cells_mu = PTHREAD_MUTEX_INITIALIZER;
static slab *slabs; /* live threads, guarded by cells_mu */

/* Per page of the index space, guarded by cells_mu: what each cell holds,
 * and what exited threads left in it. Allocated when the allocator first
 * hands out a run in that page, so folding at thread exit never allocates. */
static uint8_t *kind_pages[SONDE_MAX_PAGES];
static sonde__cell_t *acc_pages[SONDE_MAX_PAGES];

/* The sink for writes that found no memory: many writers, never read. */
static sonde__cell_t oom_sink[SONDE_PAGE_CELLS];
static atomic_uint_fast64_t lost_writes;

int64_t sonde__cells_grace_ms = SONDE_CELL_GRACE_MS;

static pthread_key_t slab_key;
static pthread_once_t slab_key_once = PTHREAD_ONCE_INIT;
static int slab_key_ok;

static void slab_exit(void *arg);

static void fork_prepare(void)
{
	pthread_mutex_lock(&cells_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&cells_mu);
}

static void slab_key_init(void)
{
	slab_key_ok = pthread_key_create(&slab_key, slab_exit) == 0;
	/* A fork while another thread reads or folds must not leave the child
	 * with cells_mu held. Other threads' slabs stay listed in the child:
	 * their memory was copied, so what they counted still counts. */
	pthread_atfork(fork_prepare, fork_release, fork_release);
}

uint64_t sonde__cells_lost_writes(void)
{
	return sonde__load_relaxed(&lost_writes);
}

static sonde__cell_t *lost(void)
{
	sonde__fetch_add_relaxed(&lost_writes, 1);
	return oom_sink;
}

/* Folds a thread's cells into the accumulator and unlinks it. Runs in the
 * exiting thread (pthread key destructor). */
static void slab_exit(void *arg)
{
	slab *s = arg;
	uint32_t pg, i;

	if (!s)
		return;
	pthread_mutex_lock(&cells_mu);
	for (pg = 0; pg < s->npages; pg++) {
		sonde__cell_t *p = s->dir[pg];
		if (!p || !kind_pages[pg])
			continue;
		for (i = 0; i < SONDE_PAGE_CELLS; i++) {
			uint64_t v = sonde__load_relaxed(&p[i]);
			sonde__cell_t *a = &acc_pages[pg][i];
			if (!v)
				continue;
			if (kind_pages[pg][i] == SONDE_CELL_U64)
				sonde__store_relaxed(a, sonde__load_relaxed(a) + v);
			else if (kind_pages[pg][i] == SONDE_CELL_F64)
				sonde__store_relaxed(
				        a, sonde__dbl_bits(sonde__bits_dbl(sonde__load_relaxed(a)) +
				                           sonde__bits_dbl(v)));
		}
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		slabs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&cells_mu);

	for (pg = 0; pg < s->npages; pg++)
		sonde__free(s->dir[pg], SONDE_PAGE_CELLS * sizeof(sonde__cell_t));
	sonde__free(s->dir, s->npages * sizeof(*s->dir));
	sonde__free(s, sizeof(*s));
	/* A later metric call from another TLS destructor starts a new slab. */
	tls_slab = NULL;
	sonde__tls_dir = NULL;
	sonde__tls_npages = 0;
}

static slab *slab_get(void)
{
	slab *s = tls_slab;

	if (s)
		return s;
	pthread_once(&slab_key_once, slab_key_init);
	s = sonde__calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_lock(&cells_mu);
	s->next = slabs;
	if (slabs)
		slabs->prev = s;
	slabs = s;
	pthread_mutex_unlock(&cells_mu);
	tls_slab = s;
	if (slab_key_ok)
		pthread_setspecific(slab_key, s);
	return s;
}

sonde__cell_t *sonde__cell_slow(uint32_t idx)
{
	uint32_t pg = idx >> SONDE_PAGE_SHIFT;
	slab *s;
	sonde__cell_t *page;

	if (pg >= SONDE_MAX_PAGES)
		return lost();
	s = slab_get();
	if (!s)
		return lost();
	if (pg >= s->npages) {
		uint32_t n = s->npages ? s->npages : 8;
		sonde__cell_t **dir, **old = s->dir;
		uint32_t oldn = s->npages;

		while (n <= pg)
			n *= 2;
		if (n > SONDE_MAX_PAGES)
			n = SONDE_MAX_PAGES;
		dir = sonde__calloc(n, sizeof(*dir));
		if (!dir)
			return lost();
		if (oldn)
			memcpy(dir, old, oldn * sizeof(*dir));
		/* Readers walk s->dir under cells_mu; swap it under the same lock
		 * so none of them sees the old array after it is freed. */
		pthread_mutex_lock(&cells_mu);
		s->dir = dir;
		s->npages = n;
		pthread_mutex_unlock(&cells_mu);
		/* The inlined hot path reads these: point them at the new array
		 * before the old one is freed, whatever happens next (a failed
		 * page allocation below returns early). */
		sonde__tls_dir = s->dir;
		sonde__tls_npages = s->npages;
		sonde__free(old, oldn * sizeof(*old));
	}
	page = s->dir[pg];
	if (!page) {
		page = sonde__calloc(SONDE_PAGE_CELLS, sizeof(sonde__cell_t));
		if (!page)
			return lost();
		pthread_mutex_lock(&cells_mu);
		s->dir[pg] = page;
		pthread_mutex_unlock(&cells_mu);
	}
	sonde__tls_dir = s->dir;
	sonde__tls_npages = s->npages;
	return page + (idx & SONDE_PAGE_MASK);
}

/* ---- the run allocator (all under cells_mu) ------------------------------ */

typedef struct qrun {
	uint32_t idx;
	int64_t freed_ms;
	struct qrun *next;
} qrun;

/* Freed runs by length, oldest first, so the head is the first eligible. */
static qrun *q_head[SONDE_PAGE_CELLS + 1], *q_tail[SONDE_PAGE_CELLS + 1];
static uint32_t next_free = SONDE_PAGE_CELLS; /* page 0 is the trash run */

static int64_t now_ms(void)
{
	return sonde_now_mono_ns() / 1000000;
}

static int page_meta(uint32_t pg)
{
	if (!kind_pages[pg]) {
		uint8_t *k = sonde__calloc(SONDE_PAGE_CELLS, 1);
		sonde__cell_t *a = sonde__calloc(SONDE_PAGE_CELLS, sizeof(sonde__cell_t));
		if (!k || !a) {
			sonde__free(k, SONDE_PAGE_CELLS);
			sonde__free(a, SONDE_PAGE_CELLS * sizeof(sonde__cell_t));
			return SONDE_ENOMEM;
		}
		kind_pages[pg] = k;
		acc_pages[pg] = a;
	}
	return SONDE_OK;
}

/* Zeroes a reused run in every thread's pages and in the accumulator.
 * Writing another thread's cell is safe here only because no handle points
 * at this run any more and the grace period has passed, so its owner no
 * longer writes it; the new child is published after this (release), so
 * the owner's next read of the cell sees the zero. */
static void zero_run(uint32_t idx, uint32_t n)
{
	uint32_t pg = idx >> SONDE_PAGE_SHIFT, off = idx & SONDE_PAGE_MASK, i;
	slab *s;

	for (s = slabs; s; s = s->next)
		if (pg < s->npages && s->dir[pg])
			for (i = 0; i < n; i++)
				sonde__store_relaxed(&s->dir[pg][off + i], 0);
	for (i = 0; i < n; i++)
		sonde__store_relaxed(&acc_pages[pg][off + i], 0);
}

int sonde__cells_alloc(uint32_t n, const uint8_t *kinds, uint32_t *out_idx)
{
	uint32_t idx, pg;
	qrun *q;
	int rc;

	if (n == 0 || n > SONDE_PAGE_CELLS)
		return SONDE_EINVAL;
	pthread_mutex_lock(&cells_mu);
	q = q_head[n];
	if (q && now_ms() - q->freed_ms >= sonde__cells_grace_ms) {
		q_head[n] = q->next;
		if (!q_head[n])
			q_tail[n] = NULL;
		idx = q->idx;
		sonde__free(q, sizeof(*q));
		zero_run(idx, n);
	} else {
		idx = next_free;
		if ((idx & SONDE_PAGE_MASK) + n > SONDE_PAGE_CELLS)
			idx = (idx | SONDE_PAGE_MASK) + 1;
		if ((uint64_t)idx + n > SONDE_CELLS_MAX) {
			pthread_mutex_unlock(&cells_mu);
			return SONDE_ELIMIT;
		}
		rc = page_meta(idx >> SONDE_PAGE_SHIFT);
		if (rc) {
			pthread_mutex_unlock(&cells_mu);
			return rc;
		}
		next_free = idx + n;
	}
	pg = idx >> SONDE_PAGE_SHIFT;
	memcpy(&kind_pages[pg][idx & SONDE_PAGE_MASK], kinds, n);
	pthread_mutex_unlock(&cells_mu);
	*out_idx = idx;
	return SONDE_OK;
}

void sonde__cells_free(uint32_t idx, uint32_t n)
{
	qrun *q;

	if (idx < SONDE_PAGE_CELLS || n == 0 || n > SONDE_PAGE_CELLS)
		return;
	q = sonde__malloc(sizeof(*q));
	if (!q)
		return; /* the run is simply never reused */
	q->idx = idx;
	q->freed_ms = now_ms();
	q->next = NULL;
	pthread_mutex_lock(&cells_mu);
	if (q_tail[n])
		q_tail[n]->next = q;
	else
		q_head[n] = q;
	q_tail[n] = q;
	pthread_mutex_unlock(&cells_mu);
}

void sonde__cells_lock(void)
{
	pthread_mutex_lock(&cells_mu);
}

void sonde__cells_unlock(void)
{
	pthread_mutex_unlock(&cells_mu);
}

uint64_t sonde__cells_sum_u64_locked(uint32_t idx)
{
	uint32_t pg = idx >> SONDE_PAGE_SHIFT, off = idx & SONDE_PAGE_MASK;
	uint64_t sum;
	slab *s;

	if (pg >= SONDE_MAX_PAGES || !acc_pages[pg])
		return 0;
	sum = sonde__load_relaxed(&acc_pages[pg][off]);
	for (s = slabs; s; s = s->next)
		if (pg < s->npages && s->dir[pg])
			sum += sonde__load_relaxed(&s->dir[pg][off]);
	return sum;
}

double sonde__cells_sum_f64_locked(uint32_t idx)
{
	uint32_t pg = idx >> SONDE_PAGE_SHIFT, off = idx & SONDE_PAGE_MASK;
	double sum;
	slab *s;

	if (pg >= SONDE_MAX_PAGES || !acc_pages[pg])
		return 0;
	sum = sonde__bits_dbl(sonde__load_relaxed(&acc_pages[pg][off]));
	for (s = slabs; s; s = s->next)
		if (pg < s->npages && s->dir[pg])
			sum += sonde__bits_dbl(sonde__load_relaxed(&s->dir[pg][off]));
	return sum;
}
