/*
 * lib/log/log_backend.c - the logger's background thread, the consumer of
 * every ring: drains the rings, merges the records of a batch by
 * timestamp, formats them and hands the lines to the sinks; and the end of
 * a shutdown (sonde__log_finish_shutdown), run by whoever stopped it.
 * Calls: log_logger_build.c (destroying retired loggers), log_sink.c,
 * log_format.c, log_stats.c, log_ring.c/.h (consumer side), log_clock.c,
 * log_state.c. Started by log_lifecycle.c.
 *
 * A batch: under log_mu, note the flush request, copy the ring list and
 * take the retire list; then load each ring's wpos (acquire) as the end of
 * the batch, merge up to those ends, flush the sinks, free the retired
 * loggers (every record that can name them was published before they were
 * retired, so it was in this batch), and answer the flush. When a batch
 * found records the next starts at once; when the rings are empty the
 * thread sleeps 50 us, doubling up to idle_sleep_max_us (1 ms): it never
 * spins on the producers' cache lines. Flush, shutdown and blocked
 * producers wake it through backend_cv.
 *
 * Timestamps are kept non-decreasing per ring (a recalibration of the
 * tick rate, log_clock.c, can move the conversion back by a few ns).
 */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log/log_record.h"
#include "log/log_ring.h"

#define G sonde__log_g

/* ---- state of the thread (backend only) ------------------------------------------------ */

typedef sonde__log_cursor cursor;

static cursor *cur;
static size_t ncur, cur_cap;
static sonde_buf line[SONDE__LOG_MAX_SINKS]; /* by the first sink of each profile */
static uint64_t written_local[6];

/* Sinks written in this batch, for the metric export after it. */
static sonde_log_sink **export_list;
static size_t nexport, export_cap;

/* One batch as the loop sees it. */
typedef struct batch {
	uint64_t req; /* the flush request this batch answers */
	int stopping; /* shutdown asked before the batch */
	bool all;     /* every ring is in the batch */
	uint64_t n;   /* records written */
	sonde_logger *retired;
} batch;

/* ---- records --------------------------------------------------------------------------- */

static void publish_rpos(cursor *c)
{
	if (c->published == c->pos)
		return;
	sonde__ring_release_spsc(c->r, c->pos);
	c->published = c->pos;
}

/* The ring's scoped block for its records (log-int.h, REC_F_SCOPE_SAME):
 * a whole block of the ring's own thread is copied into the ring's room
 * for it, a record naming it points at the copy. */
static void scope_take(sonde__log_ring *r, sonde__log_rec *rec)
{
	const rec_hdr *h = rec->h;
	size_t n, i, slots, strs = 0;

	if (h->flags & REC_F_SCOPE_SAME) {
		if (r->scope_save_gen && r->scope_save_gen == rec->scope_gen) {
			rec->scope = r->scope_save;
			rec->scope_strs = (const char *)(r->scope_save + 1 + 2 * r->scope_save[0]);
		} else {
			rec->scope_lost = true;
			sonde__fetch_add_relaxed(&G.truncated, 1);
		}
		return;
	}
	if (!rec->scope || (h->flags & REC_F_REPLAY))
		return; /* a replayed record is another moment's, maybe another thread's */
	n = (size_t)rec->scope[0];
	slots = 8u * (1u + 2u * n);
	for (i = 0; i < n; i++) {
		uint64_t meta = rec->scope[1 + 2 * i], u = rec->scope[2 + 2 * i];

		strs += REC_SCOPE_KLEN(meta) + 1;
		if (REC_SCOPE_TYPE(meta) == SONDE_LOG_T_STR && !(u & REC_STR_NULL))
			strs += (uint32_t)u;
	}
	if (slots + strs > r->scope_save_cap) {
		r->scope_save_gen = 0; /* its producer never names it */
		return;
	}
	memcpy(r->scope_save, rec->scope, slots);
	memcpy((char *)r->scope_save + slots, rec->scope_strs, strs);
	r->scope_save_gen = rec->scope_gen;
}

static void write_record(sonde__log_ring *r, const rec_hdr *h, sonde_log_sink **dirty)
{
	sonde__log_rec rec;
	sonde_logger *l = h->logger;
	const sonde_log_sink *have[SONDE__LOG_MAX_SINKS] = {0};
	size_t i;

	sonde__log_rec_view(&rec, h);
	if (SONDE_UNLIKELY(h->flags & (REC_F_SCOPE | REC_F_SCOPE_SAME)))
		scope_take(r, &rec);
	if (!(h->flags & REC_F_REPLAY))
		rec.tid = r->tid; /* a replayed record may be another thread's */
	rec.ns = sonde__log_ticks_to_ns(h->ts);
	if (rec.ns < r->last_ns)
		rec.ns = r->last_ns;
	r->last_ns = rec.ns;
	if (sonde__log_rec_counted(h))
		written_local[h->level]++;
	for (i = 0; i < l->nsinks; i++) {
		sonde_log_sink *s = l->sinks[i];
		size_t f;

		if ((int)h->level < sonde__load_relaxed(&s->level))
			continue;
		if (s->kind == SINK_RECORD) {
			/* no line: the record itself; the batch's end is its
			 * flush (sonde__log_sink_flush) */
			s->rops->record(s->rctx, &rec);
			if (!s->dirty) {
				s->dirty = true;
				s->dirty_next = *dirty;
				*dirty = s;
			}
			continue;
		}
		/* one line per distinct profile among the logger's sinks */
		for (f = 0; f < i && !(have[f] && sonde__log_same_profile(have[f], s)); f++)
			;
		if (f == i) {
			sonde_buf_reset(&line[i]);
			sonde__log_format(&line[i], s, &rec);
			have[i] = s;
		}
		if (line[f].oom) {
			/* out of memory while formatting: nothing sane to write,
			 * counted as a line the sink lost */
			sonde__log_sink_lost(s, dirty);
			continue;
		}
		sonde__log_sink_put(s, h->level, line[f].data, line[f].len, &rec, dirty);
	}
}

/* Merges the rings up to their batch ends; returns the records written. */
static uint64_t drain(sonde_log_sink **dirty)
{
	uint64_t n = 0;

	for (;;) {
		cursor *best;
		/* the oldest head first: a k-way merge by timestamp */
		const rec_hdr *bh = sonde__log_cursors_oldest(cur, ncur, &best);

		if (!bh)
			break;
		write_record(best->r, bh, dirty);
		best->pos += bh->size;
		n++;
		if (best->pos - best->published >= best->r->cap / 8)
			publish_rpos(best);
	}
	for (size_t i = 0; i < ncur; i++)
		publish_rpos(&cur[i]);
	return n;
}

/* ---- growing arrays -------------------------------------------------------------------- */

static bool grow_cursors(size_t n)
{
	cursor *c;

	if (n <= cur_cap)
		return true;
	c = sonde__realloc(cur, cur_cap * sizeof(*cur), n * 2 * sizeof(*cur));
	if (!c)
		return false;
	cur = c;
	cur_cap = n * 2;
	return true;
}

static bool grow_export(size_t n)
{
	sonde_log_sink **p;

	if (n <= export_cap)
		return true;
	p = sonde__realloc(export_list, export_cap * sizeof(*p), n * 2 * sizeof(*p));
	if (!p)
		return false;
	export_list = p;
	export_cap = n * 2;
	return true;
}

/* ---- one batch, step by step ---------------------------------------------------------- */

/* log_mu held: notes the flush request, takes a cursor per ring and the
 * retire list (only when every ring is in the batch). */
static void batch_begin_locked(batch *b)
{
	sonde__log_ring *r;
	size_t count = 0;

	b->req = G.flush_req;
	b->stopping = G.stopping;
	for (r = G.rings; r; r = r->next)
		count++;
	b->all = grow_cursors(count);
	if (!b->all)
		count = cur_cap; /* out of memory: serve the first rings */
	ncur = 0;
	for (r = G.rings; r && ncur < count; r = r->next) {
		cursor *c = &cur[ncur++];
		c->r = r;
		/* read before the batch's wpos (sonde__ring_is_orphaned says
		 * why): a ring seen orphaned and drained to that wpos is empty
		 * for good. */
		c->orphaned = sonde__ring_is_orphaned(r);
	}
	/* loggers can be freed only after a batch covering every ring */
	b->retired = b->all ? G.retired : NULL;
	if (b->all)
		G.retired = NULL;
	/* ... and, when the flight recorder kept records of theirs, once no
	 * live kept record names them (log_flight.c says why checking here,
	 * before the batch's ring ends are loaded, is enough) */
	if (b->retired) {
		sonde_logger **pp = &b->retired, *l;
		/* stopping: nothing kept will be written any more */
		if (b->stopping)
			sonde__log_flight_clear_all();
		while ((l = *pp) != NULL) {
			if (sonde__load_relaxed(&l->flight_used) && sonde__log_flight_names(l)) {
				*pp = l->retire_next;
				l->retire_next = G.retired;
				G.retired = l;
			} else {
				pp = &l->retire_next;
			}
		}
	}
}

/* Under cycle_mu: drains every cursor to the batch's end and writes the
 * dirty sinks' buffers; fills export_list. */
static void batch_write(batch *b)
{
	sonde_log_sink *dirty = NULL, *s, *snext;
	size_t i;

	sonde__log_clock_refresh();
	for (i = 0; i < ncur; i++) {
		cursor *c = &cur[i];
		c->pos = c->published = sonde__ring_rpos_spsc(c->r);
		c->end = sonde__ring_published_spsc(c->r);
	}
	b->n = drain(&dirty);
	nexport = 0;
	for (s = dirty; s; s = snext) {
		snext = s->dirty_next;
		sonde__log_sink_flush(s);
		/* unlink inside cycle_mu: a fork child must not inherit a
		 * sink marked dirty on a list nobody walks */
		s->dirty = false;
		s->dirty_next = NULL;
		if (grow_export(nexport + 1))
			export_list[nexport++] = s;
	}
}

/* Outside every lock: metrics, then the retired loggers. */
static void batch_after(batch *b)
{
	sonde_logger *l, *lnext;
	size_t i;

	/* Metrics outside cycle_mu: their first use on this thread takes
	 * the cells lock, whose atfork handler runs in an order we do not
	 * control (a lock-order inversion with fork_prepare otherwise). */
	for (i = 0; i < nexport; i++)
		sonde__log_sink_export(export_list[i]);
	sonde__log_stats_publish(written_local);
	/* every record naming a retired logger was published before it
	 * was retired, so it was inside this batch */
	for (l = b->retired; l; l = lnext) {
		lnext = l->retire_next;
		sonde__logger_destroy(l);
	}
}

/* log_mu held: frees the rings of exited threads drained for good and
 * answers the flush request. */
static void batch_end_locked(const batch *b)
{
	size_t i;

	for (i = 0; i < ncur; i++) {
		cursor *c = &cur[i];
		if (!c->orphaned || c->pos != c->end)
			continue;
		sonde__log_ring_unlink_locked(c->r);
		sonde__log_ring_free(c->r);
	}
	ncur = 0;
	G.flush_done = b->req;
	pthread_cond_broadcast(&G.flush_cv);
}

/* log_mu held, stopping: true when the drain is complete or past its
 * deadline. */
static bool stop_now_locked(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (!sonde__log_rings_pending_locked() && !G.retired) ||
	       (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec > G.stop_deadline_ns;
}

/* log_mu held: sleeps sleep_us (or until woken), doubles sleep_us up to
 * the configured maximum. */
static void idle_wait_locked(unsigned *sleep_us)
{
	struct timespec ts;
	unsigned max = G.idle_sleep_max_us ? G.idle_sleep_max_us : 1000;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)*sleep_us * 1000;
	while (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&G.backend_cv, &G.log_mu, &ts);
	*sleep_us = *sleep_us * 2 > max ? max : *sleep_us * 2;
}

/* The thread leaves: frees its buffers; finishes the shutdown itself when
 * sonde_log_shutdown() gave up on it. */
static void backend_exit(void)
{
	int ab;

	sonde__free(cur, cur_cap * sizeof(*cur));
	cur = NULL;
	cur_cap = 0;
	sonde__free(export_list, export_cap * sizeof(*export_list));
	export_list = NULL;
	export_cap = nexport = 0;
	for (size_t k = 0; k < SONDE__LOG_MAX_SINKS; k++)
		sonde_buf_destroy(&line[k]);
	/* If sonde_log_shutdown() gave up on us (a sink held us past its
	 * bound), nobody joins: finish the shutdown here. The flags are read
	 * and written under log_mu by both sides, so exactly one runs it. */
	pthread_mutex_lock(&G.log_mu);
	G.backend_exited = 1;
	ab = G.abandoned;
	pthread_mutex_unlock(&G.log_mu);
	if (ab) {
		sonde__ignore((int)sonde__log_finish_shutdown());
		/* nobody joins a detached thread: from here on a fork no
		 * longer waits for it (only its thread exit is left) */
		pthread_mutex_lock(&G.log_mu);
		G.backend_alive = 0;
		pthread_cond_broadcast(&G.park_cv);
		pthread_mutex_unlock(&G.log_mu);
	}
}

/* log_mu held, at the top of the loop: no allocation of this thread is
 * under way (start-up, metric exports and frees are behind it). A fork's
 * prepare handler waits for this; the parent handler wakes it. */
static void park_for_fork_locked(void)
{
	if (!G.fork_pending)
		return;
	G.backend_parked = 1;
	pthread_cond_broadcast(&G.park_cv);
	while (G.fork_pending)
		pthread_cond_wait(&G.backend_cv, &G.log_mu);
	G.backend_parked = 0;
}

/* Before a batch touches the rings: while a crash handler is their
 * consumer (log_crash.c) the backend waits. seq_cst on both sides (a
 * Dekker pair with crash_pause_backend()): either this load sees crashing
 * or the handler sees in_batch and waits for the batch to end. */
static void crash_gate_enter(void)
{
	for (;;) {
		sonde__store_seq_cst(&G.in_batch, 1);
		if (SONDE_LIKELY(!sonde__load_seq_cst(&G.crashing)))
			return;
		sonde__store_seq_cst(&G.in_batch, 0);
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
}

void *sonde__log_backend_main(void *arg)
{
	unsigned sleep_us = 50;

	(void)arg;
	sonde__name_thread("sonde-log");
	sonde__log_is_backend = 1;
	sonde__store_relaxed(&G.backend_tid, (long)syscall(SYS_gettid));
	/* the first pairing is written inside the gate too: a crash handler
	 * reads it (log_crash.c), so it either waits the 2 ms out or pairs
	 * on its own while this waits */
	crash_gate_enter();
	sonde__log_clock_start();
	sonde__store_seq_cst(&G.in_batch, 0);
	ncur = 0;
	pthread_mutex_lock(&G.log_mu);
	for (;;) {
		batch b;

		park_for_fork_locked();
		batch_begin_locked(&b);
		pthread_mutex_unlock(&G.log_mu);

		pthread_mutex_lock(&G.cycle_mu);
		crash_gate_enter();
		batch_write(&b);
		/* seq_cst: see crash_gate_enter() */
		sonde__store_seq_cst(&G.in_batch, 0);
		pthread_mutex_unlock(&G.cycle_mu);
		batch_after(&b);

		pthread_mutex_lock(&G.log_mu);
		batch_end_locked(&b);
		if (b.stopping) {
			if (stop_now_locked())
				break;
			continue;
		}
		if (b.n > 0 || G.flush_req != b.req || G.retired) {
			sleep_us = 50;
			continue;
		}
		idle_wait_locked(&sleep_us);
	}
	pthread_mutex_unlock(&G.log_mu);
	backend_exit();
	return NULL;
}

/* ---- the end of a shutdown ------------------------------------------------------------- */

uint64_t sonde__log_finish_shutdown(void)
{
	sonde_logger *l, *next;
	sonde__log_ring *r, *rnext;
	uint64_t left;

	pthread_mutex_lock(&G.log_mu);
	/* what the deadline left behind is discarded and counted */
	left = sonde__log_rings_discard_locked();
	sonde__fetch_add_relaxed(&G.dropped, left);
	sonde__store_relaxed(&G.state, ST_STOPPED);
	for (r = G.rings; r; r = rnext) {
		rnext = r->next;
		if (!sonde__ring_is_orphaned(r))
			continue;
		sonde__log_ring_unlink_locked(r);
		sonde__log_ring_free(r);
	}
	l = G.retired;
	G.retired = NULL;
	/* no replay can run (nothing is logged after the stop): the kept
	 * records go, and with them every name of a retired logger */
	sonde__log_flight_clear_all();
	G.flush_done = G.flush_req;
	pthread_cond_broadcast(&G.flush_cv);
	pthread_mutex_unlock(&G.log_mu);
	for (; l; l = next) {
		next = l->retire_next;
		sonde__logger_destroy(l);
	}
	/* producers blocked for room give up (state is STOPPED) */
	pthread_mutex_lock(&G.wait_mu);
	pthread_cond_broadcast(&G.wait_cv);
	pthread_mutex_unlock(&G.wait_mu);
	return left;
}
