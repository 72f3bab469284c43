/*
 * lib/log/log_backend.c - the logger's background thread: drains every ring,
 * merges the records of a batch by timestamp, formats them and hands the
 * lines to the sinks.
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
 * Clock: with an invariant TSC, records carry raw ticks. The backend pairs
 * ticks with CLOCK_REALTIME at start and again every 500 ms (each pair is
 * the best of 5 bracketed reads); ns per tick is the slope from the first
 * pair to the latest, so it gets more exact as the process runs.
 * Timestamps are kept non-decreasing per ring (a recalibration can move
 * the conversion back by a few ns).
 */
#include <time.h>

#include "log/log-int.h"

#define G sonde__log_g

/* ---- clock ---------------------------------------------------------------------- */

typedef struct clock_pair {
	uint64_t tsc;
	int64_t ns;
} clock_pair;

static clock_pair clk_first, clk_last;
static double ns_per_tick = 1.0;
static int64_t clk_last_mono;

static int64_t mono_ns(void)
{
	return sonde_now_mono_ns();
}

static clock_pair read_pair(void)
{
	clock_pair best = {0, 0};
	uint64_t best_w = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t a = sonde__log_now_ticks();
		int64_t ns = sonde_now_unix_ns();
		uint64_t b = sonde__log_now_ticks();
		if (b - a < best_w) {
			best_w = b - a;
			best.tsc = a + (b - a) / 2;
			best.ns = ns;
		}
	}
	return best;
}

static void clock_start(void)
{
	struct timespec d = {0, 2000000};

	if (!sonde__load_relaxed(&G.tsc))
		return;
	clk_first = read_pair();
	/* 2 ms of slope before the first batch; refined every 500 ms */
	nanosleep(&d, NULL);
	clk_last = read_pair();
	if (clk_last.tsc > clk_first.tsc)
		ns_per_tick = (double)(clk_last.ns - clk_first.ns) /
		              (double)(clk_last.tsc - clk_first.tsc);
	clk_last_mono = mono_ns();
}

static void clock_refresh(void)
{
	int64_t now;

	if (!sonde__load_relaxed(&G.tsc))
		return;
	now = mono_ns();
	if (now - clk_last_mono < 500000000)
		return;
	clk_last = read_pair();
	if (clk_last.tsc > clk_first.tsc && clk_last.ns > clk_first.ns)
		ns_per_tick = (double)(clk_last.ns - clk_first.ns) /
		              (double)(clk_last.tsc - clk_first.tsc);
	clk_last_mono = now;
}

static int64_t ticks_to_ns(uint64_t t)
{
	if (!sonde__load_relaxed(&G.tsc))
		return (int64_t)t;
	return clk_last.ns + (int64_t)((double)(int64_t)(t - clk_last.tsc) * ns_per_tick);
}

/* ---- one batch ------------------------------------------------------------------- */

typedef struct cursor {
	sonde__log_ring *r;
	uint64_t pos, end, published;
	int orphaned;
} cursor;

static cursor *cur;
static size_t ncur, cur_cap;
static sonde_buf line[2]; /* JSON, logfmt */
static uint64_t written_local[6], written_exported[6];
static uint64_t dropped_exported;

static void wake_producer(sonde__log_ring *r)
{
	/* seq_cst: pairs with the blocked producer's store of waiting and
	 * load of rpos (see wait_room() in log.c). */
	if (atomic_load(&r->waiting)) {
		pthread_mutex_lock(&G.wait_mu);
		pthread_cond_broadcast(&G.wait_cv);
		pthread_mutex_unlock(&G.wait_mu);
	}
}

static void publish_rpos(cursor *c)
{
	if (c->published == c->pos)
		return;
	/* release (seq_cst, for the blocked-producer pair): pairs with the
	 * producer's acquire load of rpos; our reads of the bytes before pos
	 * are done, so it may overwrite them. */
	atomic_store(&c->r->rpos, c->pos);
	c->published = c->pos;
	wake_producer(c->r);
}

/* Skips PAD records; true when the cursor has a record. */
static bool cursor_peek(cursor *c, const rec_hdr **out)
{
	while (c->pos < c->end) {
		const rec_hdr *h =
		        (const rec_hdr *)(const void *)(c->r->data + (c->pos & c->r->mask));
		if (h->kind != REC_PAD) {
			*out = h;
			return true;
		}
		c->pos += h->size;
	}
	return false;
}

static void write_record(sonde__log_ring *r, const rec_hdr *h, sonde_log_sink **dirty)
{
	sonde__log_rec rec;
	const uint8_t *p = (const uint8_t *)(h + 1);
	sonde_logger *l = h->logger;
	bool have[2] = {false, false};
	size_t i;

	rec.h = h;
	rec.ctx = NULL;
	if (h->flags & REC_F_CTX) {
		rec.ctx = (const rec_ctx *)(const void *)p;
		p += sizeof(rec_ctx);
	}
	rec.vals = (const uint64_t *)(const void *)p;
	rec.strs = (const char *)(rec.vals + h->nfields);
	rec.ns = ticks_to_ns(h->ts);
	if (rec.ns < r->last_ns)
		rec.ns = r->last_ns;
	r->last_ns = rec.ns;
	if (h->level < 6)
		written_local[h->level]++;
	for (i = 0; i < l->nsinks; i++) {
		sonde_log_sink *s = l->sinks[i];
		int f = s->format == SONDE_LOG_FORMAT_LOGFMT ? 1 : 0;

		if ((int)h->level < sonde__load_relaxed(&s->level))
			continue;
		if (!have[f]) {
			sonde_buf_reset(&line[f]);
			sonde__log_format(&line[f], f, &rec);
			have[f] = true;
		}
		if (line[f].oom)
			continue; /* out of memory while formatting: nothing sane to write */
		sonde__log_sink_put(s, h->level, line[f].data, line[f].len, &rec, dirty);
	}
}

/* Merges the rings up to their batch ends; returns the records written. */
static uint64_t drain(sonde_log_sink **dirty)
{
	uint64_t n = 0;

	for (;;) {
		cursor *best = NULL;
		const rec_hdr *bh = NULL, *h;
		size_t i;

		for (i = 0; i < ncur; i++) {
			if (!cursor_peek(&cur[i], &h))
				continue;
			/* the oldest head first: a k-way merge by timestamp */
			if (!best || (int64_t)(h->ts - bh->ts) < 0) {
				best = &cur[i];
				bh = h;
			}
		}
		if (!best)
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

static void export_metrics(void)
{
	uint64_t d;
	int i;

	for (i = 0; i < 6; i++) {
		d = written_local[i] - written_exported[i];
		if (!d)
			continue;
		sonde__fetch_add_relaxed(&G.written[i], d);
		if (G.m_records[i])
			sonde_counter_add_u64(G.m_records[i], d);
		written_exported[i] = written_local[i];
	}
	d = sonde__load_relaxed(&G.dropped);
	if (d != dropped_exported && G.m_dropped)
		sonde_counter_add_u64(G.m_dropped, d - dropped_exported);
	dropped_exported = d;
}

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

/* Sinks written in this batch, for the metric export after it. */
static sonde_log_sink **export_list;
static size_t nexport, export_cap;

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

static void sleep_until(struct timespec *ts, unsigned us)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)us * 1000;
	while (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

void *sonde__log_backend_main(void *arg)
{
	unsigned sleep_us = 50;
	sonde__log_ring *r, *rnext;
	sonde_logger *retired, *l, *lnext;

	(void)arg;
	sonde__log_is_backend = 1;
	clock_start();
	ncur = 0;
	pthread_mutex_lock(&G.log_mu);
	for (;;) {
		uint64_t req = G.flush_req, n;
		int stopping = G.stopping;
		size_t count = 0, i;
		sonde_log_sink *dirty = NULL, *s, *snext;

		for (r = G.rings; r; r = r->next)
			count++;
		bool all = grow_cursors(count);

		if (!all)
			count = cur_cap; /* out of memory: serve the first rings */
		ncur = 0;
		for (r = G.rings; r && ncur < count; r = r->next) {
			cursor *c = &cur[ncur++];
			c->r = r;
			/* acquire: pairs with the release store in ring_key_dtor;
			 * read before wpos, so a ring seen orphaned and drained to
			 * this wpos is empty for good. */
			c->orphaned = sonde__load_acquire(&r->orphaned);
		}
		/* loggers can be freed only after a batch covering every ring */
		retired = all ? G.retired : NULL;
		if (all)
			G.retired = NULL;
		pthread_mutex_unlock(&G.log_mu);

		pthread_mutex_lock(&G.cycle_mu);
		clock_refresh();
		for (i = 0; i < ncur; i++) {
			cursor *c = &cur[i];
			c->pos = c->published = sonde__load_relaxed(&c->r->rpos);
			/* acquire: pairs with the producer's release store of
			 * wpos; the record bytes before it are visible. */
			c->end = sonde__load_acquire(&c->r->wpos);
		}
		n = drain(&dirty);
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
		pthread_mutex_unlock(&G.cycle_mu);

		/* Metrics outside cycle_mu: their first use on this thread takes
		 * the cells lock, whose atfork handler runs in an order we do not
		 * control (a lock-order inversion with fork_prepare otherwise). */
		for (i = 0; i < nexport; i++)
			sonde__log_sink_export(export_list[i]);
		export_metrics();
		/* every record naming a retired logger was published before it
		 * was retired, so it was inside this batch */
		for (l = retired; l; l = lnext) {
			lnext = l->retire_next;
			sonde__logger_destroy(l);
		}

		pthread_mutex_lock(&G.log_mu);
		for (i = 0; i < ncur; i++) {
			cursor *c = &cur[i];
			if (!c->orphaned || c->pos != c->end)
				continue;
			r = c->r;
			sonde__log_ring_unlink_locked(r);
			sonde__log_ring_free(r);
		}
		ncur = 0;
		G.flush_done = req;
		pthread_cond_broadcast(&G.flush_cv);
		if (stopping) {
			struct timespec ts;
			bool pending = false;

			for (r = G.rings; r; r = rnext) {
				rnext = r->next;
				if (sonde__load_acquire(&r->wpos) != sonde__load_relaxed(&r->rpos))
					pending = true;
			}
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if ((!pending && !G.retired) ||
			    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec > G.stop_deadline_ns)
				break;
			continue;
		}
		if (n > 0 || G.flush_req != req || G.retired) {
			sleep_us = 50;
			continue;
		}
		{
			struct timespec ts;
			unsigned max = G.idle_sleep_max_us ? G.idle_sleep_max_us : 1000;

			sleep_until(&ts, sleep_us);
			pthread_cond_timedwait(&G.backend_cv, &G.log_mu, &ts);
			sleep_us = sleep_us * 2 > max ? max : sleep_us * 2;
		}
	}
	pthread_mutex_unlock(&G.log_mu);
	sonde__free(cur, cur_cap * sizeof(*cur));
	cur = NULL;
	cur_cap = 0;
	sonde__free(export_list, export_cap * sizeof(*export_list));
	export_list = NULL;
	export_cap = nexport = 0;
	sonde_buf_destroy(&line[0]);
	sonde_buf_destroy(&line[1]);
	/* If sonde_log_shutdown() gave up on us (a sink held us past its
	 * bound), nobody joins: finish the shutdown here. The flags are read
	 * and written under log_mu by both sides, so exactly one runs it. */
	{
		int ab;
		pthread_mutex_lock(&G.log_mu);
		G.backend_exited = 1;
		ab = G.abandoned;
		pthread_mutex_unlock(&G.log_mu);
		if (ab)
			sonde__ignore((int)sonde__log_finish_shutdown());
	}
	return NULL;
}
