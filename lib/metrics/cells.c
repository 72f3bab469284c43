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

/* A fork while another thread reads, folds or allocates runs must not
 * leave the child with cells_mu held. Other threads' slabs stay listed in
 * the child: their memory was copied, so what they counted still counts. */
static const sonde__fork_hooks cells_fork = {SONDE_FORK_RANK_CELLS, fork_prepare, fork_release,
                                             fork_release};
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_init(void)
{
	sonde__fork_register(&cells_fork);
}

static void slab_key_init(void)
{
	slab_key_ok = pthread_key_create(&slab_key, slab_exit) == 0;
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
	pthread_once(&fork_once, fork_init);
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

/* ---- the run allocator (all under cells_mu) ------------------------------
 *
 * Each page of the index space that has been handed out has a bitmap of
 * its free cells. A free cell reads zero in every thread and in the
 * accumulator, so an allocation takes any n adjacent free cells of one
 * page (runs never cross a page) and needs no zeroing. Adjacent free runs
 * merge by construction, whatever their lengths: what bounds the children
 * that can exist is the live cells, not the history of lengths.
 *
 * A freed run first waits in a FIFO for the grace period (a thread may
 * still be inside an increment through its old handle); an allocation
 * promotes the runs whose grace has passed, zeroing them in every thread,
 * into the bitmap. */

typedef struct qrun {
	uint32_t idx, n;
	int64_t freed_ms;
	struct qrun *next;
} qrun;

static qrun *q_head, *q_tail;
static uint64_t *free_map[SONDE_MAX_PAGES]; /* SONDE_PAGE_CELLS bits a page */
static uint16_t free_cnt[SONDE_MAX_PAGES];
static uint32_t npages_used = 1;   /* page 0 is the trash run */
static uint32_t first_free_pg = 1; /* no free cell below it */

#define MAP_WORDS (SONDE_PAGE_CELLS / 64)

static int64_t now_ms(void)
{
	return sonde_now_mono_ns() / 1000000;
}

/* The page's metadata, all of it free. */
static int page_new(uint32_t pg)
{
	uint8_t *k = sonde__calloc(SONDE_PAGE_CELLS, 1);
	sonde__cell_t *a = sonde__calloc(SONDE_PAGE_CELLS, sizeof(sonde__cell_t));
	uint64_t *m = sonde__malloc(MAP_WORDS * sizeof(uint64_t));

	if (!k || !a || !m) {
		sonde__free(k, SONDE_PAGE_CELLS);
		sonde__free(a, SONDE_PAGE_CELLS * sizeof(sonde__cell_t));
		sonde__free(m, MAP_WORDS * sizeof(uint64_t));
		return SONDE_ENOMEM;
	}
	memset(m, 0xff, MAP_WORDS * sizeof(uint64_t));
	kind_pages[pg] = k;
	acc_pages[pg] = a;
	free_map[pg] = m;
	free_cnt[pg] = SONDE_PAGE_CELLS;
	return SONDE_OK;
}

static void map_mark(uint32_t pg, uint32_t off, uint32_t n, bool free)
{
	uint32_t i;

	for (i = off; i < off + n; i++) {
		if (free)
			free_map[pg][i >> 6] |= (uint64_t)1 << (i & 63);
		else
			free_map[pg][i >> 6] &= ~((uint64_t)1 << (i & 63));
	}
	free_cnt[pg] = (uint16_t)(free ? free_cnt[pg] + n : free_cnt[pg] - n);
}

/* The first n adjacent free cells of page pg (first fit). */
static bool map_find(uint32_t pg, uint32_t n, uint32_t *off)
{
	const uint64_t *m = free_map[pg];
	uint32_t i, run = 0;

	for (i = 0; i < SONDE_PAGE_CELLS; i++) {
		if ((i & 63) == 0 && m[i >> 6] == 0) {
			run = 0;
			i += 63; /* a full word: nothing free in it */
			continue;
		}
		if ((m[i >> 6] >> (i & 63)) & 1) {
			if (++run == n) {
				*off = i + 1 - n;
				return true;
			}
		} else {
			run = 0;
		}
	}
	return false;
}

/* Zeroes a run in every thread's pages and in the accumulator. Writing
 * another thread's cell is safe here only because no handle points at
 * this run any more and the grace period has passed, so its owner no
 * longer writes it; the next child is published after this (release), so
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

/* Freed runs whose grace period has passed become free cells. */
static void promote(int64_t now)
{
	qrun *q;

	while ((q = q_head) && now - q->freed_ms >= sonde__cells_grace_ms) {
		uint32_t pg = q->idx >> SONDE_PAGE_SHIFT;
		q_head = q->next;
		if (!q_head)
			q_tail = NULL;
		zero_run(q->idx, q->n);
		map_mark(pg, q->idx & SONDE_PAGE_MASK, q->n, true);
		if (pg < first_free_pg)
			first_free_pg = pg;
		sonde__free(q, sizeof(*q));
	}
}

/* Under cells_mu: a run of n free cells, from a new page if no page in
 * use has one. */
static int run_take(uint32_t n, uint32_t *idx)
{
	uint32_t pg, off;
	int rc;

	promote(now_ms());
	for (pg = first_free_pg; pg < npages_used; pg++)
		if (free_cnt[pg] >= n && map_find(pg, n, &off))
			goto found;
	if (npages_used >= SONDE_MAX_PAGES)
		return SONDE_ELIMIT;
	if ((rc = page_new(npages_used)))
		return rc;
	pg = npages_used++;
	off = 0;
found:
	map_mark(pg, off, n, false);
	while (first_free_pg < npages_used && free_cnt[first_free_pg] == 0)
		first_free_pg++;
	*idx = pg << SONDE_PAGE_SHIFT | off;
	return SONDE_OK;
}

int sonde__cells_alloc(uint32_t n, const uint8_t *kinds, uint32_t *out_idx)
{
	uint32_t idx;
	int rc;

	if (n == 0 || n > SONDE_PAGE_CELLS)
		return SONDE_EINVAL;
	pthread_once(&fork_once, fork_init);
	pthread_mutex_lock(&cells_mu);
	rc = run_take(n, &idx);
	if (rc == SONDE_OK)
		memcpy(&kind_pages[idx >> SONDE_PAGE_SHIFT][idx & SONDE_PAGE_MASK], kinds, n);
	pthread_mutex_unlock(&cells_mu);
	if (rc == SONDE_OK)
		*out_idx = idx;
	return rc;
}

void sonde__cells_free(uint32_t idx, uint32_t n)
{
	qrun *q;

	if (idx < SONDE_PAGE_CELLS || n == 0 || n > SONDE_PAGE_CELLS)
		return;
	q = sonde__malloc(sizeof(*q));
	if (!q)
		return; /* out of memory: the run is never reused (documented) */
	q->idx = idx;
	q->n = n;
	q->freed_ms = now_ms();
	q->next = NULL;
	pthread_mutex_lock(&cells_mu);
	if (q_tail)
		q_tail->next = q;
	else
		q_head = q;
	q_tail = q;
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
