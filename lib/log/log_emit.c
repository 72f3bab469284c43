/*
 * lib/log/log_emit.c - the log call (sonde__log_emit, behind the LOG_*
 * macros and sonde_log_write): the producer side of the calling thread's
 * ring. Calls: log_ring.h/.c (producer side), log_thread.c (the thread's
 * first ring), log_lifecycle.c (a forked child's first log call starts its
 * backend), log_state.c (and the inline timestamp of log-int.h, which
 * log_clock.c sets up), core's current trace context.
 *
 * The log call, in order: one TLS load (the thread's ring), one relaxed
 * load of the backend state, the trace context (a call and a 16-byte
 * test), the record's size, a timestamp (rdtsc, ~10 ns on the project VM,
 * or clock_gettime when the TSC is not invariant), stores of the values,
 * and one release store of the write position. The free-space check uses
 * the producer's cached read position and only loads the backend's (a
 * shared line) when the cache says the ring is full.
 */
#include "log/log_ring.h"

#define G sonde__log_g

/* The size of one record, worked out before it is reserved. */
typedef struct rec_shape {
	size_t slen[SONDE__LOG_MAX_FIELDS]; /* bytes kept of each string field */
	uint32_t cut;                       /* bit i: string field i was truncated */
	uint32_t size;                      /* the record's bytes, a multiple of 8 */
	uint8_t flags;                      /* REC_F_* */
} rec_shape;

/* The drop notice: a normal record through a static site. */
static const char *const drop_keys[] = {"dropped"};
static const unsigned char drop_types[] = {SONDE_LOG_T_U64};
static const sonde_log_site drop_site = {
        "log records dropped", __FILE__, drop_keys, drop_types, __LINE__, SONDE_LOG_LEVEL_WARN, 1};

/* n records dropped: counted, and (with a ring) announced by a notice
 * before the thread's next record. */
static void count_drops(sonde__log_ring *r, uint64_t n)
{
	if (!n)
		return; /* a replay that lost nothing: no RMW on the shared line */
	if (r)
		r->pending_drops += n;
	sonde__fetch_add_relaxed(&G.dropped, n);
}

/* The thread's ring when the fast path cannot take it: no ring yet, or the
 * backend is not running. NULL (and the record counted as dropped) when
 * no backend will ever write it. */
static sonde__log_ring *emit_slow_ring(void)
{
	int st = sonde__load_relaxed(&G.state);

	if (st == ST_STOPPED || st == ST_INIT) {
		count_drops(NULL, 1);
		return NULL;
	}
	if (st == ST_NEED_START) {
		/* a forked child's first log call starts its backend */
		pthread_mutex_lock(&G.log_mu);
		(void)sonde__log_start_locked();
		pthread_mutex_unlock(&G.log_mu);
	}
	return sonde__log_tls_ring ? sonde__log_tls_ring : sonde__log_thread_ring_attach();
}

/* A record takes at most a quarter of the ring: cuts strings in field
 * order to fit budget bytes (the correlation id, corr <= 64 bytes, always
 * fits). Returns the string bytes kept. */
static size_t cut_strings(rec_shape *sh, const sonde_log_site *site, const sonde_log_value *vals,
                          unsigned n, size_t budget, size_t corr)
{
	size_t strbytes = corr;
	unsigned i;

	budget -= corr;
	for (i = 0; i < n; i++) {
		if (!SONDE__LOG_T_BYTES(site->types[i]) || !vals[i].v.s)
			continue;
		if (sh->slen[i] > budget) {
			sh->slen[i] = budget;
			sh->cut |= 1u << i;
			sh->flags |= REC_F_TRUNC;
		}
		budget -= sh->slen[i];
		strbytes += sh->slen[i];
	}
	sonde__fetch_add_relaxed(&G.truncated, 1);
	return strbytes;
}

/* Fills *sh for a record of n fields of at most limit bytes (strings are
 * cut to fit); ctx is the thread's trace context, present when has_ctx. */
static inline void measure(rec_shape *sh, size_t limit, const sonde_log_site *site,
                           const sonde_log_value *vals, unsigned n, const sonde_span_context *ctx,
                           bool has_ctx)
{
	size_t corr = has_ctx ? ctx->correlation_len : 0, strbytes = corr, fixed;
	unsigned i;

	sh->cut = 0;
	sh->flags = has_ctx ? REC_F_CTX : 0;
	fixed = sizeof(rec_hdr) + (has_ctx ? sizeof(rec_ctx) : 0) + 8u * n;
	for (i = 0; i < n; i++) {
		if (!SONDE__LOG_T_BYTES(site->types[i]))
			continue;
		if (!vals[i].v.s) {
			sh->slen[i] = 0;
			continue;
		}
		sh->slen[i] = vals[i].len == (size_t)-1 ? strlen(vals[i].v.s) : vals[i].len;
		strbytes += sh->slen[i];
	}
	if (SONDE_UNLIKELY(fixed + strbytes > limit))
		strbytes = cut_strings(sh, site, vals, n, limit - fixed, corr);
	sh->size = (uint32_t)((fixed + strbytes + 7) & ~(size_t)7);
}

/* After drops: reserves and writes the "log records dropped" notice at
 * *pos, but only when the record of size bytes fits after it too (room
 * has to hold both, in that order); otherwise *pos is unchanged and the
 * drops keep counting. */
static void put_drop_notice(sonde__log_ring *r, sonde_logger *l, uint64_t *pos, uint32_t size)
{
	uint64_t p = *pos, after;
	rec_hdr *d = (rec_hdr *)(void *)sonde__ring_reserve_spsc(r, &p, sizeof(rec_hdr) + 8);

	after = p;
	if (!d || !sonde__ring_reserve_spsc(r, &after, size))
		return; /* only the notice would fit: keep counting */
	d->kind = REC_LOG;
	d->size = sizeof(rec_hdr) + 8;
	d->level = SONDE_LOG_LEVEL_WARN;
	d->nfields = 1;
	d->flags = REC_F_NOTICE;
	d->ts = sonde__log_now_ticks();
	d->site = &drop_site;
	d->logger = l;
	memcpy(d + 1, &r->pending_drops, 8);
	r->pending_drops = 0;
	*pos = p;
}

/* The ring is full: waits for room under the block policy. NULL when the
 * record is to be dropped. */
static uint8_t *reserve_slow(sonde__log_ring *r, sonde_logger *l, uint64_t *pos, uint32_t size)
{
	if (sonde__plain_load_relaxed(&l->overflow) != SONDE_LOG_OVERFLOW_BLOCK ||
	    r->pending_drops || !sonde__ring_wait_room_spsc(r, *pos, size))
		return NULL;
	return sonde__ring_reserve_spsc(r, pos, size);
}

/* Writes the record at p: header, trace context, value slots, strings. */
static inline void put_record(uint8_t *p, sonde_logger *l, const sonde_log_site *site,
                              const sonde_log_value *vals, unsigned n, const rec_shape *sh,
                              const sonde_span_context *ctx, const uint64_t tid[2])
{
	rec_hdr *h = (rec_hdr *)(void *)p;
	uint64_t *v;
	char *s;
	unsigned i;

	h->size = sh->size;
	h->kind = REC_LOG;
	h->level = site->level;
	h->nfields = (uint8_t)n;
	h->flags = sh->flags;
	h->ts = sonde__log_now_ticks();
	h->site = site;
	h->logger = l;
	p += sizeof(rec_hdr);
	if (sh->flags & REC_F_CTX) {
		rec_ctx *c = (rec_ctx *)(void *)p;
		memcpy(c->trace_id, tid, 16);
		memcpy(c->span_id, ctx->span_id, 8);
		c->trace_flags = ctx->trace_flags;
		c->corr_len = ctx->correlation_len;
		p += sizeof(rec_ctx);
	}
	v = (uint64_t *)(void *)p;
	s = (char *)(v + n);
	if ((sh->flags & REC_F_CTX) && ctx->correlation_len) {
		memcpy(s, ctx->correlation_id, ctx->correlation_len);
		s += ctx->correlation_len;
	}
	for (i = 0; i < n; i++) {
		if (!SONDE__LOG_T_BYTES(site->types[i])) {
			v[i] = vals[i].v.u;
		} else if (!vals[i].v.s) {
			v[i] = REC_STR_NULL;
		} else {
			v[i] = ((sh->cut >> i) & 1u ? REC_STR_TRUNC : 0) | (uint64_t)sh->slen[i];
			memcpy(s, vals[i].v.s, sh->slen[i]);
			s += sh->slen[i];
		}
	}
}

/* The flight recorder: a record below the logger's level, built as the
 * ring's records are, into the thread's store. */
static void keep(sonde_logger *l, const sonde_log_site *site, const sonde_log_value *vals,
                 unsigned n, const sonde_span_context *ctx, const uint64_t tid[2])
{
	uint64_t img[(SONDE__FLIGHT_SLOT_BYTES - 8) / 8];
	rec_shape sh;

	measure(&sh, sizeof(img), site, vals, n, ctx, (tid[0] | tid[1]) != 0);
	put_record((uint8_t *)img, l, site, vals, n, &sh, ctx, tid);
	if (SONDE_UNLIKELY(!sonde__load_relaxed(&l->flight_used)))
		sonde__store_relaxed(&l->flight_used, 1);
	sonde__log_flight_keep(img, sh.size);
}

void sonde__log_emit(sonde_logger *l, const sonde_log_site *site, const sonde_log_value *vals)
{
	sonde__log_ring *r = sonde__log_tls_ring;
	const sonde_span_context *ctx;
	uint64_t tid[2], pos;
	rec_shape sh;
	unsigned n;
	uint8_t *p;
	bool replayed = false;

	if (!l || !site)
		return;
	if (SONDE_UNLIKELY(!r || sonde__load_relaxed(&G.state) != ST_RUNNING)) {
		r = emit_slow_ring();
		if (!r)
			return;
	}
	n = site->nfields;
	if (SONDE_UNLIKELY(n > SONDE__LOG_MAX_FIELDS || r->in_push)) {
		/* a nested call from a signal handler would corrupt the record
		 * being written: drop it */
		count_drops(r, 1);
		return;
	}
	r->in_push = 1;
	/* signal fence: in_push is set before any byte of the record is
	 * written, as a signal handler interrupting this thread sees it
	 * (pairs with the fence below, seen by a nested call's test above) */
	sonde__signal_fence();

	ctx = sonde_context_current();
	memcpy(tid, ctx->trace_id, 16);
	/* below the level with the gate open: the flight recorder keeps it */
	if (SONDE_UNLIKELY((int)site->level < sonde__plain_load_relaxed(&l->out_level))) {
		keep(l, site, vals, n, ctx, tid);
		goto out;
	}
	measure(&sh, r->cap / 4, site, vals, n, ctx, (tid[0] | tid[1]) != 0);
	pos = sonde__ring_wpos_spsc(r);
	if (SONDE_UNLIKELY(r->pending_drops))
		put_drop_notice(r, l, &pos, sh.size);
	if (SONDE_UNLIKELY(l->flight && (int)site->level >= l->flight_trigger)) {
		/* the kept records go first, in the same commit */
		count_drops(r, sonde__log_flight_replay(r, &pos, l->flight_scope, tid));
		replayed = true;
	}
	p = sonde__ring_reserve_spsc(r, &pos, sh.size);
	if (SONDE_UNLIKELY(!p))
		p = reserve_slow(r, l, &pos, sh.size);
	if (SONDE_LIKELY(p != NULL))
		put_record(p, l, site, vals, n, &sh, ctx, tid);
	else
		count_drops(r, 1);
	/* publishes the record (and a drop notice before it), or only the
	 * notice when the record was dropped */
	sonde__ring_commit_spsc(r, pos);
	if (SONDE_UNLIKELY(replayed))
		sonde__log_flight_replay_done();
out:
	/* signal fence: in_push is cleared only after the commit (pairs with
	 * the fence above) */
	sonde__signal_fence();
	r->in_push = 0;
}

int sonde_log_flight_dump(int scope)
{
	sonde__log_ring *r = sonde__log_tls_ring;
	uint64_t pos, tid[2];
	int st;

	if (scope < SONDE_LOG_FLIGHT_THREAD || scope > SONDE_LOG_FLIGHT_ALL)
		return sonde__fail(SONDE_EINVAL, "log_flight_dump: unknown scope %d", scope);
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPED || st == ST_INIT)
		return sonde__fail(SONDE_ESTATE, "log_flight_dump: the logger is stopped");
	if (!r || st != ST_RUNNING) {
		r = emit_slow_ring();
		if (!r)
			return sonde__fail(SONDE_ESTATE, "log_flight_dump: the logger is stopped");
	}
	if (r->in_push)
		return sonde__fail(SONDE_ESTATE, "log_flight_dump: called inside a log call");
	r->in_push = 1;
	/* signal fence: as in sonde__log_emit() */
	sonde__signal_fence();
	memcpy(tid, sonde_context_current()->trace_id, 16);
	pos = sonde__ring_wpos_spsc(r);
	count_drops(r, sonde__log_flight_replay(r, &pos, scope, tid));
	sonde__ring_commit_spsc(r, pos);
	sonde__log_flight_replay_done();
	sonde__signal_fence();
	r->in_push = 0;
	return SONDE_OK;
}
