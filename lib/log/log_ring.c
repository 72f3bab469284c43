/*
 * lib/log/log_ring.c - the ring's cold operations: creating and freeing a
 * ring, the list of rings, a producer waiting for room (block policy) and
 * the consumer waking it, discarding what no backend will write, and the
 * rings' state in a forked child. Layout, synchronization table and the
 * per-record operations: log_ring.h. Calls: log_state.c (the ring list,
 * the backend state, wait_mu).
 */
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "log/log_ring.h"

#define G sonde__log_g

sonde__log_ring *sonde__log_ring_new(uint64_t cap)
{
	/* the consumer's copy of a scoped block sits after the data */
	size_t save = cap / 4 < SONDE__LOG_SCOPE_SAVE ? (size_t)cap / 4 : SONDE__LOG_SCOPE_SAVE;
	size_t sz = sizeof(sonde__log_ring) + cap + save + SONDE_CACHELINE;
	void *base = sonde__malloc(sz);
	sonde__log_ring *r;

	if (!base)
		return NULL;
	/* malloc aligns to 16; the struct wants its cache lines. */
	r = (sonde__log_ring *)(((uintptr_t)base + SONDE_CACHELINE - 1) &
	                        ~(uintptr_t)(SONDE_CACHELINE - 1));
	memset(r, 0, sizeof(*r));
	r->cap = cap;
	r->mask = cap - 1;
	r->prefetchw = sonde__cpu_prefetchw();
	r->scope_save = (uint64_t *)(void *)(r->data + cap);
	r->scope_save_cap = save;
	r->alloc_base = base;
	r->alloc_size = sz;
	return r;
}

void sonde__log_ring_free(sonde__log_ring *r)
{
	if (!r)
		return;
	sonde__free(r->alloc_base, r->alloc_size);
}

void sonde__log_ring_link_locked(sonde__log_ring *r)
{
	r->next = G.rings;
	if (G.rings)
		G.rings->prev = r;
	G.rings = r;
	sonde__fetch_add_relaxed(&G.nrings, 1);
}

void sonde__log_ring_unlink_locked(sonde__log_ring *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		G.rings = r->next;
	if (r->next)
		r->next->prev = r->prev;
	sonde__fetch_add_relaxed(&G.nrings, (uint64_t)-1);
}

bool sonde__log_rings_pending_locked(void)
{
	sonde__log_ring *r;

	for (r = G.rings; r; r = r->next)
		if (sonde__ring_published_spsc(r) != sonde__ring_rpos_spsc(r))
			return true;
	return false;
}

uint64_t sonde__log_ring_discard_locked(sonde__log_ring *r)
{
	uint64_t end = sonde__ring_published_spsc(r), p = sonde__ring_rpos_spsc(r), n = 0;
	const rec_hdr *h;

	while ((h = sonde__ring_peek_spsc(r, &p, end)) != NULL) {
		if (!(h->flags & REC_F_NOTICE))
			n++; /* peek skipped the PADs: h is a REC_LOG */
		p += h->size;
	}
	sonde__ring_release_spsc(r, end);
	/* a whole scoped block may have gone unread */
	sonde__fetch_add_relaxed(&r->scope_resync, 1);
	return n;
}

uint64_t sonde__log_rings_discard_locked(void)
{
	sonde__log_ring *r;
	uint64_t n = 0;

	for (r = G.rings; r; r = r->next)
		n += sonde__log_ring_discard_locked(r);
	return n;
}

void sonde__log_rings_fork_child(const sonde__log_ring *self)
{
	sonde__log_ring *r;

	/* Only the forking thread exists here: no ordering to pair with. */
	for (r = G.rings; r; r = r->next) {
		sonde__store_relaxed(&r->rpos, sonde__load_relaxed(&r->wpos));
		sonde__store_relaxed(&r->waiting, 0);
		sonde__fetch_add_relaxed(&r->scope_resync, 1);
		if (r != self)
			sonde__store_relaxed(&r->orphaned, 1);
	}
}

/* A deadline us microseconds from now on CLOCK_REALTIME (condvars). */
static void deadline_in_us(struct timespec *ts, unsigned us)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)us * 1000;
	while (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Producer: room for need bytes at pos, judging by a fresh rpos. */
static bool fits(sonde__log_ring *r, uint64_t pos, uint64_t need)
{
	/* acquire: pairs with the seq_cst (release) store of rpos in
	 * sonde__ring_release_spsc(), like the one in reserve_spsc. */
	return pos + need - sonde__load_acquire(&r->rpos) <= r->cap;
}

bool sonde__ring_wait_room_spsc(sonde__log_ring *r, uint64_t pos, uint32_t size)
{
	uint64_t off = pos & r->mask, tail = r->cap - off;
	uint64_t need = size <= tail ? size : tail + size;
	int i;

	if (sonde__log_is_backend)
		return false;       /* the backend would wait for itself */
	for (i = 0; i < 200; i++) { /* ~1 us of pause */
#if defined(__x86_64__) || defined(__i386__)
		_mm_pause();
#endif
		if (fits(r, pos, need))
			return true;
	}
	pthread_cond_signal(&G.backend_cv);
	pthread_mutex_lock(&G.wait_mu);
	for (;;) {
		struct timespec ts;
		int st = sonde__load_relaxed(&G.state);

		if (st != ST_RUNNING && st != ST_STOPPING)
			break;
		/* seq_cst pair with the consumer (sonde__ring_release_spsc): it
		 * stores rpos, then loads waiting; we store waiting, then load
		 * rpos. One of us sees the other, so a wake-up cannot be lost
		 * (the 1 ms timeout is only a safety net). */
		sonde__store_seq_cst(&r->waiting, 1);
		if (pos + need - sonde__load_seq_cst(&r->rpos) <= r->cap) {
			/* seq_cst like the store above: a consumer that
			 * still sees 1 only broadcasts once more */
			sonde__store_seq_cst(&r->waiting, 0);
			pthread_mutex_unlock(&G.wait_mu);
			return true;
		}
		pthread_cond_signal(&G.backend_cv);
		deadline_in_us(&ts, 1000);
		pthread_cond_timedwait(&G.wait_cv, &G.wait_mu, &ts);
	}
	sonde__store_seq_cst(&r->waiting, 0); /* as above */
	pthread_mutex_unlock(&G.wait_mu);
	return false;
}

void sonde__ring_wake_producer(sonde__log_ring *r)
{
	(void)r; /* one condition serves every ring's blocked producer */
	pthread_mutex_lock(&G.wait_mu);
	pthread_cond_broadcast(&G.wait_cv);
	pthread_mutex_unlock(&G.wait_mu);
}
