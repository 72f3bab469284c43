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
#include <time.h>

#include "log/log_ring.h"

#define G sonde__log_g

/* The size of one record, worked out before it is reserved. */
typedef struct rec_shape {
	size_t slen[SONDE__LOG_MAX_FIELDS]; /* bytes kept of each string field */
	uint32_t cut;                       /* bit i: string field i was truncated */
	uint32_t size;                      /* the record's bytes, a multiple of 8 */
	uint32_t bytes;                     /* bit i: field i is bytes (string, tree) */
	uint8_t flags;                      /* REC_F_* */
	unsigned extra;                     /* slots after the value slots (scoped) */
	const sonde_log_scope *scope;       /* the scoped fields it carries whole, or NULL */
	uint64_t gen;                       /* the scope generation (REC_F_SCOPE*) */
} rec_shape;

/* The fields of the site that are bytes (strings and trees), as a bit
 * mask: worked out at the site's first call and kept in its state
 * (log-int.h, SITE_ST_MASK); sites without a state work it out each call. */
static uint32_t bytes_mask_slow(const sonde_log_site *site, unsigned n)
{
	uint32_t m = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		if (SONDE__LOG_T_BYTES(site->types[i]))
			m |= 1u << i;
	if ((site->flags & SONDE_LOG_SITE_F_STATE) && site->state)
		sonde__plain_fetch_or_relaxed(&site->state->flags, m | SITE_ST_MASK);
	return m;
}

static inline uint32_t bytes_mask(const sonde_log_site *site, unsigned n)
{
	if (SONDE_LIKELY(site->flags & SONDE_LOG_SITE_F_STATE) && site->state) {
		uint32_t f = sonde__plain_load_relaxed(&site->state->flags);
		if (SONDE_LIKELY(f & SITE_ST_MASK))
			return f & SITE_ST_BYTES;
	}
	return bytes_mask_slow(site, n);
}

/* The drop notice: a normal record through a static site. */
static const char *const drop_keys[] = {"dropped"};
static const unsigned char drop_types[] = {SONDE_LOG_T_U64};
static const sonde_log_site drop_site = {
        "log records dropped", __FILE__, drop_keys, drop_types, __LINE__,
        SONDE_LOG_LEVEL_WARN,  1,        0,         NULL};

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
static size_t cut_strings(rec_shape *sh, const sonde_log_value *vals, size_t budget, size_t corr)
{
	size_t strbytes = corr;
	uint32_t m;

	budget -= corr;
	for (m = sh->bytes; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		if (!vals[i].v.s)
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
 * cut to fit); ctx is the thread's trace context, present when has_ctx;
 * sc the thread's innermost scope (NULL: none) and gen its generation;
 * same: the ring's consumer has this generation's block (the record then
 * names it: one slot). Otherwise the scoped fields come whole or not at
 * all: when they do not fit beside the record's fixed part they are left
 * out and the record is marked truncated; the call's strings are then cut
 * in the room that is left. */
/* inlined into the call (and the flight recorder's copy): a call's
 * arguments would cost spills on the hot path */
static inline __attribute__((always_inline)) void measure(rec_shape *sh, size_t limit,
                                                          const sonde_log_site *site,
                                                          const sonde_log_value *vals, unsigned n,
                                                          const sonde_span_context *ctx,
                                                          bool has_ctx, const sonde_log_scope *sc,
                                                          uint64_t gen, bool same)
{
	size_t corr = has_ctx ? ctx->correlation_len : 0, strbytes = corr, fixed, kept = corr;
	bool omitted = false;
	unsigned i;
	uint32_t m;

	sh->cut = 0;
	sh->flags = has_ctx ? REC_F_CTX : 0;
	sh->scope = NULL;
	sh->gen = gen;
	sh->extra = 0;
	sh->bytes = bytes_mask(site, n);
	fixed = sizeof(rec_hdr) + (has_ctx ? sizeof(rec_ctx) : 0) + 8u * n;
	if (SONDE_LIKELY(same)) {
		fixed += 8u;
		sh->extra = 1;
		sh->flags |= REC_F_SCOPE_SAME;
	} else if (SONDE_UNLIKELY(sc != NULL) && sc->priv_total_n) {
		size_t sfix = 8u * (2u + 2u * sc->priv_total_n);

		if (fixed + sfix + corr + sc->priv_total_bytes <= limit) {
			fixed += sfix;
			strbytes += sc->priv_total_bytes;
			kept += sc->priv_total_bytes;
			sh->flags |= REC_F_SCOPE;
			sh->scope = sc;
			sh->extra = 2u + 2u * sc->priv_total_n;
		} else {
			sh->flags |= REC_F_TRUNC;
			omitted = true;
		}
	}
	for (m = sh->bytes; m; m &= m - 1) {
		i = (unsigned)__builtin_ctz(m);
		if (!vals[i].v.s) {
			sh->slen[i] = 0;
			continue;
		}
		sh->slen[i] = vals[i].len == (size_t)-1 ? strlen(vals[i].v.s) : vals[i].len;
		strbytes += sh->slen[i];
	}
	if (SONDE_UNLIKELY(fixed + strbytes > limit))
		strbytes = cut_strings(sh, vals, limit - fixed, kept);
	else if (SONDE_UNLIKELY(omitted))
		sonde__fetch_add_relaxed(&G.truncated, 1); /* once a record, as cut_strings */
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

/* The scoped block at v and its strings at s (layout in log-int.h):
 * the generation, the count, then innermost scope first, each scope's
 * fields last to first. Push built each scope's slots and (when short)
 * its strings: one or two copies a scope. */
static void put_scope(uint64_t *v, char *s, const sonde_log_scope *sc, uint64_t gen)
{
	uint64_t *m = v + 2;

	v[0] = gen;
	v[1] = sc->priv_total_n;
	for (; sc; sc = sc->priv_up) {
		unsigned i = sc->priv_n;

		memcpy(m, sc->priv_slots, 16u * i);
		m += 2u * i;
		if (SONDE_LIKELY(sc->priv_bytes <= SONDE_LOG_SCOPE_INLINE)) {
			memcpy(s, sc->priv_text, sc->priv_bytes);
			s += sc->priv_bytes;
			continue;
		}
		while (i--) {
			const sonde_log_field *f = &sc->priv_f[i];
			size_t kl = sc->priv_klen[i];

			memcpy(s, f->key, kl + 1);
			s += kl + 1;
			if (f->type == SONDE_LOG_T_STR && f->v.s) {
				memcpy(s, f->v.s, f->len);
				s += f->len;
			}
		}
	}
}

/* Writes the record at p: header, trace context, value slots, strings. */
static inline __attribute__((always_inline)) void put_record(
        uint8_t *p, sonde_logger *l, const sonde_log_site *site, const sonde_log_value *vals,
        unsigned n, const rec_shape *sh, const sonde_span_context *ctx, const uint64_t tid[2])
{
	rec_hdr *h = (rec_hdr *)(void *)p;
	uint64_t *v;
	char *s;
	unsigned i;
	uint32_t m;

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
	/* the scoped block (REC_F_SCOPE) or its generation (REC_F_SCOPE_SAME)
	 * sits between the value slots and the strings */
	s = (char *)(v + n + sh->extra);
	if ((sh->flags & REC_F_CTX) && ctx->correlation_len) {
		memcpy(s, ctx->correlation_id, ctx->correlation_len);
		s += ctx->correlation_len;
	}
	for (i = 0; i < n; i++)
		v[i] = vals[i].v.u;
	for (m = sh->bytes; m; m &= m - 1) {
		i = (unsigned)__builtin_ctz(m);
		if (!vals[i].v.s) {
			v[i] = REC_STR_NULL;
		} else {
			v[i] = ((sh->cut >> i) & 1u ? REC_STR_TRUNC : 0) | (uint64_t)sh->slen[i];
			memcpy(s, vals[i].v.s, sh->slen[i]);
			s += sh->slen[i];
		}
	}
	if (sh->flags & REC_F_SCOPE_SAME)
		v[n] = sh->gen;
	else if (SONDE_UNLIKELY(sh->scope != NULL))
		put_scope(v + n, s, sh->scope, sh->gen);
}

/* The flight recorder: a record below the logger's level, built as the
 * ring's records are, into the thread's store. */
static void keep(sonde_logger *l, const sonde_log_site *site, const sonde_log_value *vals,
                 unsigned n, const sonde_span_context *ctx, const uint64_t tid[2])
{
	uint64_t img[(SONDE__FLIGHT_SLOT_BYTES - 8) / 8];
	rec_shape sh;

	/* whole: a kept record is replayed later, maybe into another ring */
	measure(&sh, sizeof(img), site, vals, n, ctx, (tid[0] | tid[1]) != 0, sonde__log_tls_scope,
	        sonde__log_tls_scope_gen, false);
	put_record((uint8_t *)img, l, site, vals, n, &sh, ctx, tid);
	if (SONDE_UNLIKELY(!sonde__load_relaxed(&l->flight_used)))
		sonde__store_relaxed(&l->flight_used, 1);
	sonde__log_flight_keep(img, sh.size);
}

/* ---- sampling ------------------------------------------------------------------- */

/* The interval clock: CLOCK_MONOTONIC_COARSE (a vDSO read of the last
 * tick, a few ns; its resolution, 1-4 ms, is far below an interval). */
static uint64_t coarse_ms(void)
{
	struct timespec ts = {0, 0};

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* zap's decision for one record of a sampled site: true to drop it. The
 * state is shared by every thread using the site: the count is one
 * relaxed fetch_add (exact); a new interval is claimed by one CAS on the
 * epoch (forward only), whose winner zeroes the count. A record racing
 * the reset is judged by either interval's count (as in zap). */
static bool sampled_out(const sonde_logger *l, const sonde_log_site *site)
{
	sonde_log_site_state *st = site->state;
	uint64_t first, there, iv, now, e, n;

	if (!(site->flags & SONDE_LOG_SITE_F_STATE) || !st)
		return false; /* a site compiled before sampling existed */
	if (site->flags & SONDE_LOG_SITE_F_CALL) {
		first = st->first & 0x7fffffffu;
		there = st->thereafter;
		iv = st->interval_ms;
	} else {
		if (site->level >= SONDE_LOG_LEVEL_ERROR && !l->sample_errors)
			return false;
		first = l->sample_first;
		there = l->sample_thereafter;
		iv = l->sample_interval_ms;
	}
	now = coarse_ms() / (iv ? iv : 1000u) + 1u;
	e = sonde__plain_load_relaxed(&st->priv_epoch);
	if (SONDE_UNLIKELY(now > e) && sonde__plain_cas(&st->priv_epoch, &e, now))
		sonde__plain_store_relaxed(&st->priv_count, 0);
	n = sonde__plain_fetch_add_relaxed(&st->priv_count, 1) + 1;
	if (n <= first)
		return false;
	return !(there && (n - first) % there == 0);
}

/* The consumer already has the block of the thread's scope at generation
 * gen (even: no push or pop under way), sent since the resync count
 * resync: a record may name the scope with one slot. */
static inline bool scope_block_sent(const sonde__log_ring *r, uint64_t gen, uint64_t resync)
{
	return !(gen & 1u) && r->scope_sent == gen && r->scope_sent_resync == resync;
}

/* Every call the fast path below does not take (sampling is decided
 * before either): the first call
 * of a thread or a site, a stopped or restarting backend, string and tree
 * fields, scopes, the flight recorder, pending drop notices, a full ring.
 * Out of line, so that its frame (the record's shape, the string lengths)
 * and its saved registers are not the fast path's: each store to the
 * stack waits in the store buffer behind the record's stores, and those
 * wait for the ring's lines when the backend runs on another core. */
static __attribute__((noinline)) void emit_general(sonde_logger *l, const sonde_log_site *site,
                                                   const sonde_log_value *vals)
{
	sonde__log_ring *r = sonde__log_tls_ring;
	const sonde_span_context *ctx;
	uint64_t tid[2], pos, gen, resync = 0;
	const sonde_log_scope *sc;
	rec_shape sh;
	unsigned n;
	uint8_t *p;
	bool replayed = false, same = false;

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
	/* the generation before the scope (signal fence: a push or pop in a
	 * signal handler leaves it odd while the scope word changes) */
	gen = sonde__log_tls_scope_gen;
	sonde__signal_fence();
	sc = sonde__log_tls_scope;
	if (SONDE_UNLIKELY(sc != NULL)) {
		/* scope_sent is set only for a block that fits the copy's room */
		resync = sonde__load_relaxed(&r->scope_resync);
		same = scope_block_sent(r, gen, resync);
	}
	measure(&sh, r->cap / 4, site, vals, n, ctx, (tid[0] | tid[1]) != 0, sc, gen, same);
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
	if (SONDE_LIKELY(p != NULL)) {
		sonde__ring_prefetch_spsc(r, pos);
		put_record(p, l, site, vals, n, &sh, ctx, tid);
		if (SONDE_UNLIKELY(sh.scope != NULL) && !(gen & 1u) &&
		    8u * (1u + 2u * sh.scope->priv_total_n) + sh.scope->priv_total_bytes <=
		            r->scope_save_cap) {
			/* the next records of this scope name this block */
			r->scope_sent = gen;
			r->scope_sent_resync = resync;
		}
	} else {
		count_drops(r, 1);
	}
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

/* The common call, without a call of its own: a thread whose ring exists,
 * a running backend, a site whose fields are all numbers (its state says
 * so after its first call), no scope or one whose block the consumer
 * already has, at or above the logger's level, no flight trigger, nothing
 * dropped waiting to be announced. Its size is known without a walk:
 * header, context when the thread is in a trace (and its correlation id),
 * one slot a field (and one naming the scope). Writes what emit_general()
 * would write for the same call; false (nothing written, in_push clear)
 * when it cannot (a scope block to send, a full ring), to let
 * emit_general() do it. */
static inline __attribute__((always_inline)) bool emit_fast(sonde__log_ring *r, sonde_logger *l,
                                                            const sonde_log_site *site,
                                                            const sonde_log_value *vals, unsigned n)
{
	const sonde_span_context *ctx;
	uint64_t tid[2], pos;
	rec_shape sh;
	uint8_t *p;
	bool has_ctx;

	r->in_push = 1;
	/* signal fence: as in emit_general() */
	sonde__signal_fence();
	sh.extra = 0;
	sh.flags = 0;
	sh.gen = 0;
	if (SONDE_UNLIKELY(sonde__log_tls_scope != NULL)) {
		/* in a scope: only when the consumer already has its block
		 * (one slot naming it), read as emit_general() reads it */
		uint64_t gen = sonde__log_tls_scope_gen;

		sonde__signal_fence();
		if (!scope_block_sent(r, gen, sonde__load_relaxed(&r->scope_resync)) ||
		    sonde__log_tls_scope == NULL) {
			sonde__signal_fence();
			r->in_push = 0;
			return false;
		}
		sh.extra = 1;
		sh.flags = REC_F_SCOPE_SAME;
		sh.gen = gen;
	}
	/* sonde_context_current() inline: NULL when the thread has none */
	ctx = sonde__context_tls;
	tid[0] = tid[1] = 0;
	if (ctx)
		memcpy(tid, ctx->trace_id, 16);
	has_ctx = (tid[0] | tid[1]) != 0;
	sh.cut = 0;
	sh.bytes = 0;
	sh.flags |= has_ctx ? REC_F_CTX : 0;
	sh.scope = NULL;
	sh.size = (uint32_t)((sizeof(rec_hdr) + (has_ctx ? sizeof(rec_ctx) : 0) +
	                      8u * (n + sh.extra) + (has_ctx ? ctx->correlation_len : 0) + 7u) &
	                     ~(size_t)7);
	pos = sonde__ring_wpos_spsc(r);
	/* a record takes at most a quarter of the ring (emit_general() cuts) */
	p = sh.size <= r->cap / 4 ? sonde__ring_reserve_spsc(r, &pos, sh.size) : NULL;
	if (SONDE_LIKELY(p != NULL)) {
		sonde__ring_prefetch_spsc(r, pos);
		put_record(p, l, site, vals, n, &sh, ctx, tid);
		sonde__ring_commit_spsc(r, pos);
	}
	/* signal fence: in_push is cleared only after the commit */
	sonde__signal_fence();
	r->in_push = 0;
	return p != NULL;
}

void sonde__log_emit(sonde_logger *l, const sonde_log_site *site, const sonde_log_value *vals)
{
	sonde__log_ring *r = sonde__log_tls_ring;

	if (SONDE_UNLIKELY(!l || !site))
		return;
	/* sampling, before the ring: a sampled-out record costs a clock read
	 * and two shared RMWs, no timestamp and no copy. Flight-recorder
	 * records (below out_level) are never sampled. */
	if (SONDE_UNLIKELY((site->flags & SONDE_LOG_SITE_F_CALL) || l->sample_first) &&
	    (int)site->level >= sonde__plain_load_relaxed(&l->out_level) && site->level < 6 &&
	    sampled_out(l, site)) {
		sonde__fetch_add_relaxed(&G.sampled[site->level], 1);
		return;
	}
	if (SONDE_LIKELY(r != NULL)) {
		const sonde_log_site_state *st = site->state;
		unsigned n = site->nfields;
		int level = site->level;

		/* the level first: below it (the flight recorder keeping the
		 * record) goes straight on; then the site's fields, by its
		 * state: known (MASK) and none bytes */
		if (SONDE_LIKELY(level >= sonde__plain_load_relaxed(&l->out_level)) &&
		    SONDE_LIKELY((site->flags & SONDE_LOG_SITE_F_STATE) && st &&
		                 (sonde__plain_load_relaxed(&st->flags) &
		                  (SITE_ST_MASK | SITE_ST_BYTES)) == SITE_ST_MASK) &&
		    SONDE_LIKELY(n <= SONDE__LOG_MAX_FIELDS && !r->in_push && !r->pending_drops) &&
		    /* a hint (emit_fast() checks again): in a scope whose block
		     * this ring has not sent, emit_general() sends it */
		    SONDE_LIKELY(!sonde__log_tls_scope ||
		                 r->scope_sent == sonde__log_tls_scope_gen) &&
		    SONDE_LIKELY(sonde__load_relaxed(&G.state) == ST_RUNNING &&
		                 !(l->flight && level >= l->flight_trigger)) &&
		    SONDE_LIKELY(emit_fast(r, l, site, vals, n)))
			return;
	}
	emit_general(l, site, vals);
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
