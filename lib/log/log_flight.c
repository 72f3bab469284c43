/*
 * lib/log/log_flight.c - the flight recorder's memory: one store per
 * thread of the last SONDE__FLIGHT_SLOTS records logged below their
 * logger's level (on loggers with the recorder on), kept as record images
 * (the ring's encoding) and replayed into the thread's ring before a
 * record at the trigger level. Calls: log_ring.h (producer side),
 * log_state.c.
 *
 * A store belongs to one thread (its owner writes it, one call at a time;
 * a nested call from a signal handler is refused by the ring's in_push).
 * Other threads read it: a replay of scope TRACE or ALL, the backend
 * checking whether a freed logger is still named, the crash flush. Each
 * slot is a seqlock: seq odd while the owner writes, the image in relaxed
 * 64-bit words, seq even after (release); a reader keeps a copy only when
 * seq was even and unchanged around it.
 *
 * Synchronization table (store)
 *   field     written by                   read by                how
 *   slot seq  owner (relaxed odd, release  readers (seq_cst)      seqlock
 *             fence, release even)
 *   slot w[]  owner (relaxed)              readers (relaxed)      seqlock
 *   head      owner (seq_cst)              readers (seq_cst)      records ever kept
 *   cleared   owner at a replay, anyone    readers (seq_cst)      records before it
 *             clearing all (CAS max)                              are gone
 *   owner     CAS 0 -> 1 by the taker,     scan                   free store when 0
 *             release 0 at thread exit
 * seq_cst on head, cleared, seq and G.replaying puts the backend's check
 * (sonde__log_flight_names) and replays in one total order: a check that
 * finds a logger named nowhere and no replay running happened before any
 * replay that could read it, so the logger may be destroyed.
 *
 * Memory: SONDE__FLIGHT_SLOTS slots of SONDE__FLIGHT_SLOT_BYTES per store,
 * at most SONDE__FLIGHT_STORES stores (threads past that keep nothing, and
 * the records are dropped as below-level records always were); the stores
 * of exited threads are reused, never freed.
 */
#include "log/log_ring.h"

#define G sonde__log_g

#define SLOT_WORDS (SONDE__FLIGHT_SLOT_BYTES / 8 - 1)

typedef struct flight_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t w[SLOT_WORDS];
} flight_slot;

struct sonde__flight {
	_Atomic uint64_t head;
	_Atomic uint64_t cleared;
	_Atomic int owner;
	flight_slot slot[SONDE__FLIGHT_SLOTS];
};

SONDE_STATIC_ASSERT(sizeof(flight_slot) == SONDE__FLIGHT_SLOT_BYTES, "a slot is its size");

static _Atomic(sonde__flight *) stores[SONDE__FLIGHT_STORES];
static _Atomic int replaying;
static SONDE_TLS sonde__flight *tls_store;

/* ---- a thread's store ------------------------------------------------------------------- */

static sonde__flight *take_store(void)
{
	sonde__flight *f;
	size_t i;

	/* a free one (its thread exited) */
	for (i = 0; i < SONDE__FLIGHT_STORES; i++) {
		int expect = 0;
		f = sonde__load_acquire(&stores[i]);
		if (!f)
			break;
		if (sonde__cas_strong_acqrel(&f->owner, &expect, 1))
			return f;
	}
	f = sonde__calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->owner = 1;
	for (; i < SONDE__FLIGHT_STORES; i++) {
		sonde__flight *expect = NULL;
		/* release: publishes the zeroed store */
		if (sonde__cas_strong_acqrel(&stores[i], &expect, f))
			return f;
	}
	sonde__free(f, sizeof(*f));
	return NULL; /* every store taken: this thread keeps nothing */
}

/* Everything kept so far is gone: cleared moves up to head (CAS max:
 * the owner may clear at the same time). */
static void clear_store(sonde__flight *f)
{
	uint64_t h = sonde__load_seq_cst(&f->head), c = sonde__load_seq_cst(&f->cleared);

	while (c < h && !sonde__cas_strong_seq_cst(&f->cleared, &c, h))
		;
}

void sonde__log_flight_keep(const uint64_t *img, uint32_t size)
{
	sonde__flight *f = tls_store;
	flight_slot *s;
	uint64_t h, seq;
	uint32_t i, words = size / 8;

	if (SONDE_UNLIKELY(!f)) {
		f = tls_store = take_store();
		if (!f)
			return;
	}
	if (words > SLOT_WORDS)
		return;                    /* the caller cut the image to fit: never */
	h = sonde__load_relaxed(&f->head); /* the owner's own counter */
	s = &f->slot[h % SONDE__FLIGHT_SLOTS];
	seq = sonde__load_relaxed(&s->seq);
	sonde__store_relaxed(&s->seq, seq + 1);
	/* release fence: the odd seq is ordered before the words, so a reader
	 * that read any new word (then its acquire fence) re-reads seq odd or
	 * newer and drops the copy */
	sonde__fence_release();
	for (i = 0; i < words; i++)
		sonde__store_relaxed(&s->w[i], img[i]);
	/* release: pairs with the readers' loads of seq; the image is whole */
	sonde__store_release(&s->seq, seq + 2);
	sonde__store_seq_cst(&f->head, h + 1);
}

void sonde__log_flight_thread_exit(void)
{
	sonde__flight *f = tls_store;

	if (!f)
		return;
	tls_store = NULL;
	clear_store(f);
	/* release: the next owner starts after everything we wrote */
	sonde__store_release(&f->owner, 0);
}

void sonde__log_flight_fork_child(void)
{
	size_t i;

	/* only the forking thread exists: the other owners are gone */
	for (i = 0; i < SONDE__FLIGHT_STORES; i++) {
		sonde__flight *f = sonde__load_relaxed(&stores[i]);
		if (!f)
			break;
		if (f == tls_store)
			continue;
		clear_store(f);
		sonde__store_relaxed(&f->owner, 0);
	}
	sonde__store_relaxed(&replaying, 0);
}

void sonde__log_flight_clear_all(void)
{
	size_t i;

	for (i = 0; i < SONDE__FLIGHT_STORES; i++) {
		sonde__flight *f = sonde__load_acquire(&stores[i]);
		if (!f)
			break;
		clear_store(f);
	}
}

/* ---- reading --------------------------------------------------------------------------- */

/* Copies record k of f into img (SLOT_WORDS words); its size, or 0 when
 * the slot no longer holds it (overwritten, being written, cleared). */
static uint32_t read_rec(sonde__flight *f, uint64_t k, uint64_t *img)
{
	flight_slot *s = &f->slot[k % SONDE__FLIGHT_SLOTS];
	uint64_t s1 = sonde__load_seq_cst(&s->seq), s2;
	uint32_t size, i, words;

	if (s1 & 1)
		return 0;
	img[0] = sonde__load_relaxed(&s->w[0]);
	memcpy(&size, &img[0], sizeof(size)); /* rec_hdr.size */
	words = size / 8;
	if (size < sizeof(rec_hdr) || words > SLOT_WORDS)
		return 0;
	for (i = 1; i < words; i++)
		img[i] = sonde__load_relaxed(&s->w[i]);
	/* acquire fence: the words are read before seq is read again */
	sonde__fence_acquire();
	s2 = sonde__load_seq_cst(&s->seq);
	/* the slot of record k was written for the (seq/2)th time when it
	 * took record k: one pass of the ring per SONDE__FLIGHT_SLOTS */
	if (s1 != s2 || s1 / 2 != k / SONDE__FLIGHT_SLOTS + 1)
		return 0;
	return size;
}

/* The live window of f: [*lo, *hi). */
static void window(sonde__flight *f, uint64_t *lo, uint64_t *hi)
{
	uint64_t h = sonde__load_seq_cst(&f->head), c = sonde__load_seq_cst(&f->cleared);

	*hi = h;
	*lo = h > SONDE__FLIGHT_SLOTS ? h - SONDE__FLIGHT_SLOTS : 0;
	if (c > *lo)
		*lo = c;
}

/* Calls fn on a copy of each live kept record of every store (with the
 * store and the record's number in it), until fn returns true; true when
 * one did. */
typedef bool (*live_fn)(sonde__flight *f, uint64_t k, const uint64_t *img, void *arg);

static bool each_live(live_fn fn, void *arg)
{
	uint64_t img[SLOT_WORDS];
	size_t i;

	for (i = 0; i < SONDE__FLIGHT_STORES; i++) {
		sonde__flight *f = sonde__load_acquire(&stores[i]);
		uint64_t k, lo, hi;

		if (!f)
			break;
		window(f, &lo, &hi);
		for (k = lo; k < hi; k++)
			if (read_rec(f, k, img) && fn(f, k, img, arg))
				return true;
	}
	return false;
}

static bool names(sonde__flight *f, uint64_t k, const uint64_t *img, void *arg)
{
	rec_hdr h;

	(void)f, (void)k;
	memcpy(&h, img, sizeof(h));
	return h.logger == arg;
}

bool sonde__log_flight_names(const sonde_logger *l)
{
	/* seq_cst: see the table at the top */
	if (sonde__load_seq_cst(&replaying))
		return true;
	return each_live(names, (void *)l);
}

typedef struct each_arg {
	void (*fn)(rec_hdr *h, void *arg);
	void *arg;
	size_t n;
} each_arg;

static bool call_each(sonde__flight *f, uint64_t k, const uint64_t *img, void *arg)
{
	each_arg *e = arg;

	(void)f, (void)k;
	e->fn((rec_hdr *)(void *)img, e->arg); /* a copy: the callee may mark it */
	e->n++;
	return false;
}

size_t sonde__log_flight_each(void (*fn)(rec_hdr *h, void *arg), void *arg)
{
	each_arg e = {fn, arg, 0};

	(void)each_live(call_each, &e);
	return e.n;
}

/* ---- replay ----------------------------------------------------------------------------- */

typedef struct cand {
	uint64_t ts, k;
	sonde__flight *f;
} cand;

static int cand_cmp(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	int64_t d = (int64_t)(x->ts - y->ts);

	return d < 0 ? -1 : d > 0;
}

/* Does the image belong to the trace? */
static bool same_trace(const uint64_t *img, const uint64_t tid[2])
{
	rec_hdr h;
	rec_ctx c;

	memcpy(&h, img, sizeof(h));
	if (!(h.flags & REC_F_CTX))
		return false;
	memcpy(&c, (const uint8_t *)img + sizeof(rec_hdr), sizeof(c));
	return memcmp(c.trace_id, tid, 16) == 0;
}

/* One image into the ring at *pos as a replayed record; false when the
 * ring has no room. */
static bool put_replayed(sonde__log_ring *r, uint64_t *pos, uint64_t *img, uint32_t size)
{
	uint8_t *p = sonde__ring_reserve_spsc(r, pos, size);
	rec_hdr *h;

	if (!p)
		return false;
	memcpy(p, img, size);
	h = (rec_hdr *)(void *)p;
	h->flags |= REC_F_REPLAY;
	return true;
}

/* The thread's own kept records into the ring; how many found no room. */
static uint64_t replay_own(sonde__flight *own, sonde__log_ring *r, uint64_t *pos)
{
	uint64_t img[SLOT_WORDS], k, lo, hi, lost = 0;

	if (!own)
		return 0;
	window(own, &lo, &hi);
	for (k = lo; k < hi; k++) {
		uint32_t size = read_rec(own, k, img);
		if (size && !put_replayed(r, pos, img, size))
			lost++;
	}
	return lost;
}

/* The records a TRACE or ALL replay writes, gathered by each_live. */
typedef struct gather {
	cand *c;
	size_t n, cap;
	int scope;
	const sonde__flight *own;
	const uint64_t *tid;
} gather;

static bool gather_one(sonde__flight *f, uint64_t k, const uint64_t *img, void *arg)
{
	gather *g = arg;
	rec_hdr h;

	/* in scope TRACE, this thread's own records always; the others'
	 * when they carry the trace */
	if (g->scope == SONDE_LOG_FLIGHT_TRACE && f != g->own &&
	    (!(g->tid[0] | g->tid[1]) || !same_trace(img, g->tid)))
		return false;
	memcpy(&h, img, sizeof(h));
	g->c[g->n].ts = h.ts;
	g->c[g->n].k = k;
	g->c[g->n].f = f;
	return ++g->n == g->cap; /* full: stop */
}

uint64_t sonde__log_flight_replay(sonde__log_ring *r, uint64_t *pos, int scope,
                                  const uint64_t tid[2])
{
	gather g = {NULL, 0, 0, scope, tls_store, tid};
	uint64_t img[SLOT_WORDS], lost = 0;
	size_t i;

	/* seq_cst: see the table at the top; undone by
	 * sonde__log_flight_replay_done() after the commit */
	sonde__fetch_add_seq_cst(&replaying, 1);
	if (scope == SONDE_LOG_FLIGHT_THREAD)
		return replay_own(tls_store, r, pos);
	/* TRACE or ALL: every store's live records, by time */
	for (i = 0; i < SONDE__FLIGHT_STORES && sonde__load_acquire(&stores[i]); i++)
		g.cap += SONDE__FLIGHT_SLOTS;
	g.c = g.cap ? sonde__malloc(g.cap * sizeof(*g.c)) : NULL;
	if (!g.c) /* out of memory: this thread's own records at least */
		return replay_own(tls_store, r, pos);
	(void)each_live(gather_one, &g);
	qsort(g.c, g.n, sizeof(*g.c), cand_cmp);
	for (i = 0; i < g.n; i++) {
		uint32_t size = read_rec(g.c[i].f, g.c[i].k, img);
		if (size && !put_replayed(r, pos, img, size))
			lost++;
	}
	sonde__free(g.c, g.cap * sizeof(*g.c));
	return lost;
}

void sonde__log_flight_replay_done(void)
{
	/* after the ring's commit: what was replayed is published, then
	 * forgotten, then the replay ends (the table at the top) */
	if (tls_store)
		clear_store(tls_store);
	sonde__fetch_sub_seq_cst(&replaying, 1);
}
