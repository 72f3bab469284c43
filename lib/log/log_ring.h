/*
 * lib/log/log_ring.h - the per-thread single-producer single-consumer byte
 * ring that carries records from one thread's log calls (the producer) to
 * the backend thread (the consumer): its layout, its synchronization table
 * and its per-record operations, inline because the log call and the
 * backend's merge run them for every record. The cold operations (creating
 * and freeing, the ring list, waiting for room, discarding, fork) are in
 * log_ring.c. Calls: log_ring.c (waking a blocked producer), log_state.c.
 *
 * Positions are byte counts that only grow (uint64, never wrap in
 * practice); offset = pos & mask. Records are 8-byte aligned, so the room
 * left before the end of the buffer is always >= 8 bytes: a record that
 * does not fit there is preceded by a PAD header covering the rest, and
 * starts at offset 0 (NanoLog's skip marker; no mirror mapping).
 *
 * Who calls what (the names say the contract, as concurrencykit's do):
 *   producer  the thread that owns the ring, one call at a time (a nested
 *             call from a signal handler is refused by in_push before it
 *             gets here): sonde__ring_wpos_spsc, sonde__ring_reserve_spsc,
 *             sonde__ring_commit_spsc, sonde__ring_wait_room_spsc.
 *   consumer  the backend thread; while no backend runs (before a restart,
 *             after a shutdown, in a forked child) a thread holding log_mu
 *             takes its place: sonde__ring_rpos_spsc,
 *             sonde__ring_published_spsc, sonde__ring_peek_spsc,
 *             sonde__ring_release_spsc.
 */
/* clang-format off */
/*
 * Synchronization table (ring)
 *   field            written by              read by                    how
 *   wpos             producer (release,      consumer (acquire,         publishes the record
 *                    commit_spsc)            published_spsc)            bytes before it
 *   record bytes     producer, before wpos   consumer, after acquiring  ordered by wpos
 *   rpos             consumer (seq_cst,      producer (acquire in       frees the bytes before
 *                    release_spsc)           reserve_spsc, only when    it for reuse
 *                                            its cache says full)
 *   rpos_cache,      producer only           -                          plain
 *   pending_drops,
 *   in_push
 *   orphaned         thread-exit destructor  backend (acquire,          after it, wpos is final
 *                    (release, orphan(),     is_orphaned(), before
 *                    after its last commit)  its wpos load)
 *   waiting          blocked producer        consumer after storing     seq_cst pair (Dekker):
 *                    (seq_cst, then re-      rpos (seq_cst store, then  one side always sees
 *                    reads rpos)             seq_cst load of waiting)   the other
 *   next, prev       ring list: log_mu
 *   last_ns          backend only
 */
/* clang-format on */
#ifndef SONDE_LOG_RING_H
#define SONDE_LOG_RING_H

#include "log/log-int.h"

struct sonde__log_ring {
	/* producer's line */
	_Alignas(SONDE_CACHELINE) _Atomic uint64_t wpos;
	uint64_t rpos_cache;
	uint64_t pending_drops;
	volatile uint8_t in_push;
	/* the CPU has PREFETCHW (set at creation, immutable) */
	uint8_t prefetchw;
	/* the scope generation whose whole block this ring's consumer has
	 * (log-int.h, REC_F_SCOPE_SAME), and scope_resync when it was sent */
	uint64_t scope_sent, scope_sent_resync;
	/* backend's line */
	_Alignas(SONDE_CACHELINE) _Atomic uint64_t rpos;
	int64_t last_ns;
	/* the consumer's copy of the last whole scoped block (count slot,
	 * field slots, strings) and its generation (0: none); the copy's
	 * room is allocated with the ring, after its data (immutable) */
	uint64_t *scope_save;
	size_t scope_save_cap;
	uint64_t scope_save_gen;
	/* rarely written */
	_Alignas(SONDE_CACHELINE) _Atomic int orphaned;
	_Atomic int waiting;
	/* bumped when records were skipped unread (a discard, a crash flush,
	 * a fork): the producer then sends its scoped block whole again */
	_Atomic uint64_t scope_resync;
	long tid; /* the owner thread's id (gettid), set at attach */
	uint64_t cap, mask;
	struct sonde__log_ring *next, *prev;
	void *alloc_base;
	size_t alloc_size;
	_Alignas(SONDE_CACHELINE) uint8_t data[];
};

/* ---- log_ring.c: creating, listing, the slow paths -------------------------------- */

/* A ring of cap bytes (a power of two), zeroed; NULL on out of memory. */
sonde__log_ring *sonde__log_ring_new(uint64_t cap);
/* NULL is a no-op. The ring must be off the list. */
void sonde__log_ring_free(sonde__log_ring *r);
/* Puts r on / takes r off the ring list (and the ring count). log_mu held. */
void sonde__log_ring_link_locked(sonde__log_ring *r);
void sonde__log_ring_unlink_locked(sonde__log_ring *r);
/* True when some ring holds records not yet consumed. log_mu held. */
bool sonde__log_rings_pending_locked(void);
/* Consumer's place, no backend running: skips r's records / every ring's
 * records; returns how many callers' records there were (drop notices are
 * not counted: their drops were). log_mu held. */
uint64_t sonde__log_ring_discard_locked(sonde__log_ring *r);
uint64_t sonde__log_rings_discard_locked(void);
/* Forked child, from the atfork handler (only this thread exists): skips
 * the records made before the fork, clears waiting, and marks every ring
 * but self orphaned. */
void sonde__log_rings_fork_child(const sonde__log_ring *self);

/* Producer, block policy: waits until size bytes fit at pos (spinning
 * first, then sleeping on wait_cv). False when waiting is not allowed (on
 * the backend thread) or the backend stopped. */
bool sonde__ring_wait_room_spsc(sonde__log_ring *r, uint64_t pos, uint32_t size);
/* Consumer: wakes the producer blocked on r (release_spsc calls it). */
void sonde__ring_wake_producer(sonde__log_ring *r);

/* The thread-exit destructor, after the thread's last commit: no record
 * will be published in r any more. */
static inline void sonde__ring_orphan(sonde__log_ring *r)
{
	/* release: pairs with the acquire in sonde__ring_is_orphaned(), which
	 * the backend runs before its last load of wpos; publishes every
	 * commit made before it, so a ring seen orphaned and drained to that
	 * wpos is empty for good. */
	sonde__store_release(&r->orphaned, 1);
}

/* Consumer: true once the owner thread has exited. Load it before the
 * batch's sonde__ring_published_spsc(). */
static inline bool sonde__ring_is_orphaned(sonde__log_ring *r)
{
	/* acquire: pairs with the release in sonde__ring_orphan(); the wpos
	 * loaded after it is final. */
	return sonde__load_acquire(&r->orphaned) != 0;
}

/* ---- producer ------------------------------------------------------------------------- */

/* Producer only: its own write position (relaxed: nobody else writes it). */
static inline uint64_t sonde__ring_wpos_spsc(sonde__log_ring *r)
{
	return sonde__load_relaxed(&r->wpos);
}

/* Producer only. Room for size bytes at *pos (the producer's write
 * position, not yet published): returns where to write and advances *pos
 * past the record, or returns NULL (ring full, *pos unchanged). A record
 * never straddles the end: a PAD header covers the tail and the record
 * starts at 0. Nothing is visible to the consumer before
 * sonde__ring_commit_spsc(). */
static inline uint8_t *sonde__ring_reserve_spsc(sonde__log_ring *r, uint64_t *pos, uint32_t size)
{
	uint64_t p = *pos, off = p & r->mask, tail = r->cap - off;
	uint64_t need = size <= tail ? size : tail + size;

	if (SONDE_UNLIKELY(p + need - r->rpos_cache > r->cap)) {
		/* acquire: pairs with the seq_cst (release) store of rpos in
		 * sonde__ring_release_spsc(); the consumer's reads of the bytes
		 * we are about to overwrite happened before it. */
		r->rpos_cache = sonde__load_acquire(&r->rpos);
		if (p + need - r->rpos_cache > r->cap)
			return NULL;
	}
	if (size > tail) {
		rec_hdr *pad = (rec_hdr *)(void *)(r->data + off);
		pad->size = (uint32_t)tail;
		pad->kind = REC_PAD;
		p += tail;
		off = 0;
	}
	*pos = p + size;
	return r->data + off;
}

/* Producer only, after a reserve that advanced its position to pos: asks
 * for the two cache lines 256 bytes ahead in exclusive state (PREFETCHW),
 * a few records before they are written. The consumer read those lines a
 * lap ago, so each sits shared in its core's cache; without this every
 * new line of a burst waits for that copy to be invalidated once the
 * stores fill the store buffer (bench/bench_log.c: a burst of 20
 * three-field calls went from about 88 to 53 ns a call with the backend on
 * another core; on the caller's core, 25 ns either way). Not past the
 * consumer's last known position: in a full ring those lines are the ones
 * it is reading. A hint only: it never faults, and changes no byte. */
static inline void sonde__ring_prefetch_spsc(const sonde__log_ring *r, uint64_t pos)
{
	/* only lines the consumer is done with, by the producer's last look
	 * at rpos: a full ring's next lines are the ones it is reading
	 * (r->prefetchw is 0 where the CPU has no PREFETCHW) */
	if (SONDE_LIKELY(r->prefetchw) && pos + 384 - r->rpos_cache <= r->cap) {
		const uint8_t *a = r->data + ((pos + 256) & r->mask);
		const uint8_t *b = r->data + ((pos + 320) & r->mask);
		sonde__prefetchw(a);
		sonde__prefetchw(b);
	}
}

/* Producer only: publishes every record reserved and written up to pos. */
static inline void sonde__ring_commit_spsc(sonde__log_ring *r, uint64_t pos)
{
	/* release: pairs with the acquire in sonde__ring_published_spsc();
	 * publishes the record bytes written before it. */
	sonde__store_release(&r->wpos, pos);
}

/* ---- consumer ------------------------------------------------------------------------- */

/* Consumer only: its own read position (relaxed: only the consumer
 * writes rpos). */
static inline uint64_t sonde__ring_rpos_spsc(sonde__log_ring *r)
{
	return sonde__load_relaxed(&r->rpos);
}

/* Consumer only: the end of what the producer has published. */
static inline uint64_t sonde__ring_published_spsc(sonde__log_ring *r)
{
	/* acquire: pairs with the release in sonde__ring_commit_spsc(); the
	 * record bytes before the returned position are visible. */
	return sonde__load_acquire(&r->wpos);
}

/* Consumer only: the record at *pos, skipping PAD records (which advances
 * *pos), or NULL when none is left before end (a value returned by
 * sonde__ring_published_spsc()). The caller advances *pos by the record's
 * size once it is done with it. */
static inline const rec_hdr *sonde__ring_peek_spsc(const sonde__log_ring *r, uint64_t *pos,
                                                   uint64_t end)
{
	while (*pos < end) {
		const rec_hdr *h = (const rec_hdr *)(const void *)(r->data + (*pos & r->mask));
		if (h->kind != REC_PAD)
			return h;
		*pos += h->size;
	}
	return NULL;
}

/* A consumer's place in one ring: from pos up to end (a published
 * position); the backend also keeps what it released and whether the
 * ring's thread exited. */
typedef struct sonde__log_cursor {
	sonde__log_ring *r;
	uint64_t pos, end, published;
	int orphaned;
} sonde__log_cursor;

/* Consumer only: the oldest head record of the n cursors (a k-way merge
 * by timestamp; PAD records are skipped), NULL when all are drained; *best
 * is its cursor. */
static inline const rec_hdr *sonde__log_cursors_oldest(sonde__log_cursor *c, size_t n,
                                                       sonde__log_cursor **best)
{
	const rec_hdr *bh = NULL, *h;
	size_t i;

	*best = NULL;
	for (i = 0; i < n; i++) {
		h = sonde__ring_peek_spsc(c[i].r, &c[i].pos, c[i].end);
		if (h && (!bh || (int64_t)(h->ts - bh->ts) < 0)) {
			*best = &c[i];
			bh = h;
		}
	}
	return bh;
}

/* Consumer only: gives the bytes before pos back to the producer, and
 * wakes it if it is blocked waiting for room. */
static inline void sonde__ring_release_spsc(sonde__log_ring *r, uint64_t pos)
{
	/* release (seq_cst, for the blocked-producer pair): pairs with the
	 * acquire in sonde__ring_reserve_spsc(); our reads of the bytes before
	 * pos are done, so the producer may overwrite them. */
	sonde__store_seq_cst(&r->rpos, pos);
	/* seq_cst: pairs with the blocked producer's seq_cst store of waiting
	 * and load of rpos in sonde__ring_wait_room_spsc(): either it sees
	 * the new rpos or we see waiting. */
	if (SONDE_UNLIKELY(sonde__load_seq_cst(&r->waiting)))
		sonde__ring_wake_producer(r);
}

#endif
