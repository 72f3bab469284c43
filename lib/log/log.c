/*
 * lib/log/log.c - the logger's front end: the log call (producer side of the
 * per-thread rings), loggers, levels, flush, shutdown, thread exit and
 * fork. See log-int.h for the ring layout and its synchronization table.
 *
 * The log call, in order: one TLS load (the thread's ring), one relaxed
 * load of the backend state, a timestamp (rdtsc, ~10 ns on the project VM,
 * or clock_gettime when the TSC is not invariant), the trace context
 * (a call and a 16-byte test), stores of the values, and one release store
 * of the write position. The free-space check uses the producer's cached
 * read position and only loads the backend's (a shared line) when the
 * cache says the ring is full.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include "log/log-int.h"

sonde__log_global sonde__log_g = {
        .cycle_mu = PTHREAD_MUTEX_INITIALIZER,
        .log_mu = PTHREAD_MUTEX_INITIALIZER,
        .wait_mu = PTHREAD_MUTEX_INITIALIZER,
        .backend_cv = PTHREAD_COND_INITIALIZER,
        .flush_cv = PTHREAD_COND_INITIALIZER,
        .wait_cv = PTHREAD_COND_INITIALIZER,
};
#define G sonde__log_g

__thread int sonde__log_is_backend;

/* The calling thread's ring: one initial-exec word. */
static SONDE_TLS sonde__log_ring *tls_ring;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t ring_key;
static int ring_key_ok;
static int atexit_done; /* log_mu */

static void ring_key_dtor(void *p);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

/* ---- clock ------------------------------------------------------------------- */

static bool tsc_invariant(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	/* CPUID 0x80000007 EDX bit 8: invariant TSC (constant rate, runs in
	 * every C-state); without it ticks cannot be converted to time. */
	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return false;
	if (!__get_cpuid(0x80000007u, &a, &b, &c, &d))
		return false;
	return (d >> 8) & 1u;
#else
	return false;
#endif
}

uint64_t sonde__log_now_ticks(void)
{
#if defined(__x86_64__)
	if (SONDE_LIKELY(sonde__load_relaxed(&G.tsc)))
		return __rdtsc();
#endif
	return (uint64_t)sonde_now_unix_ns();
}

/* ---- process-wide set-up ---------------------------------------------------------- */

static void init_metrics(void)
{
	static const char *const lvl_label[] = {"level"};
	static const char *const sink_label[] = {"sink"};
	sonde_family *f;
	int i;

	/* Self-metrics on the default registry. A failure (out of memory, a
	 * name taken with another definition) leaves them NULL: the logger
	 * works without them and sonde_log_stats_get() still counts. */
	f = sonde_counter_family_new(NULL, "sonde_log_records_total",
	                             "Log records written, by level.", 1, lvl_label);
	for (i = 0; f && i < 6; i++)
		G.m_records[i] = sonde_counter_with(f, sonde_log_level_name(i));
	G.m_dropped = sonde_counter_new(NULL, "sonde_log_dropped_total",
	                                "Log records dropped (ring full, after shutdown, or a "
	                                "nested call from a signal handler).");
	G.m_sink_errors = sonde_counter_family_new(NULL, "sonde_log_sink_errors_total",
	                                           "Failed writes of log sinks.", 1, sink_label);
}

static void init(void)
{
	uint64_t rb = sonde__load_relaxed(&G.ring_bytes);

	if (rb == 0)
		sonde__store_relaxed(&G.ring_bytes, SONDE__LOG_RING_DEFAULT);
	sonde__store_relaxed(&G.tsc, tsc_invariant() ? 1 : 0);
	ring_key_ok = pthread_key_create(&ring_key, ring_key_dtor) == 0;
	/* prepare takes the locks so the child never inherits one held by a
	 * thread that does not exist there (see fork_child). */
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	init_metrics();
}

void sonde__log_init_once(void)
{
	pthread_once(&init_once, init);
}

/* ---- configuration and levels ----------------------------------------------------- */

void sonde_log_config_init(sonde_log_config *c)
{
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
}

static uint64_t ring_size_for(size_t want)
{
	uint64_t n = SONDE__LOG_RING_MIN;

	if (want == 0)
		return SONDE__LOG_RING_DEFAULT;
	while (n < want && n < SONDE__LOG_RING_MAX)
		n <<= 1;
	return n;
}

int sonde_log_configure(const sonde_log_config *c)
{
	if (!c)
		return sonde__fail(SONDE_EINVAL, "sonde_log_configure: config is NULL");
	if (c->size < sizeof(sonde_log_config))
		return sonde__fail(SONDE_EINVAL, "sonde_log_configure: size field is %zu, want %zu",
		                   c->size, sizeof(sonde_log_config));
	pthread_mutex_lock(&G.log_mu);
	sonde__store_relaxed(&G.ring_bytes, ring_size_for(c->ring_bytes));
	G.shutdown_timeout_ms = c->shutdown_timeout_ms;
	G.idle_sleep_max_us = c->idle_sleep_max_us;
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}

static const char *const level_names[] = {"trace", "debug", "info", "warn",
                                          "error", "fatal", "off"};

const char *sonde_log_level_name(int level)
{
	if (level < 0 || level > SONDE_LOG_LEVEL_OFF)
		return "unknown";
	return level_names[level];
}

int sonde_log_level_parse(const char *s, size_t len, sonde_log_level *out)
{
	char low[16];
	size_t i, n = 0;

	if (!s || !out)
		return sonde__fail(SONDE_EINVAL, "sonde_log_level_parse: NULL argument");
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n'))
		len--;
	if (len >= sizeof(low))
		goto bad;
	for (i = 0; i < len; i++) {
		char ch = s[i];
		low[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	low[n] = '\0';
	for (i = 0; i < SONDE_ARRAY_LEN(level_names); i++)
		if (strcmp(low, level_names[i]) == 0) {
			*out = (sonde_log_level)i;
			return SONDE_OK;
		}
	if (strcmp(low, "warning") == 0) {
		*out = SONDE_LOG_LEVEL_WARN;
		return SONDE_OK;
	}
bad:
	return sonde__fail(SONDE_EINVAL, "sonde_log_level_parse: unknown level \"%.*s\"",
	                   (int)(len > 32 ? 32 : len), s);
}

static int clamp_level(int level)
{
	return level < 0 || level > SONDE_LOG_LEVEL_OFF ? SONDE_LOG_LEVEL_OFF : level;
}

void sonde_logger_set_level(sonde_logger *l, sonde_log_level level)
{
	if (l)
		__atomic_store_n(&l->level, clamp_level((int)level), __ATOMIC_RELAXED);
}

sonde_log_level sonde_logger_level(const sonde_logger *l)
{
	if (!l)
		return SONDE_LOG_LEVEL_OFF;
	return (sonde_log_level)__atomic_load_n(&l->level, __ATOMIC_RELAXED);
}

void sonde_log_set_level_all(sonde_log_level level)
{
	sonde_logger *l;

	pthread_mutex_lock(&G.log_mu);
	for (l = G.loggers; l; l = l->next)
		sonde_logger_set_level(l, level);
	pthread_mutex_unlock(&G.log_mu);
}

/* ---- rings ------------------------------------------------------------------------ */

static sonde__log_ring *ring_new(uint64_t cap)
{
	size_t sz = sizeof(sonde__log_ring) + cap + SONDE_CACHELINE;
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
	r->alloc_base = base;
	r->alloc_size = sz;
	return r;
}

/* Takes r off the ring list. log_mu held. */
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

void sonde__log_ring_free(sonde__log_ring *r)
{
	if (r)
		sonde__free(r->alloc_base, r->alloc_size);
}

/* First log call of a thread (or after its ring was orphaned at exit). */
static sonde__log_ring *ring_attach(void)
{
	sonde__log_ring *r;

	sonde__log_init_once();
	r = ring_new(sonde__load_relaxed(&G.ring_bytes));
	if (!r)
		return NULL;
	pthread_mutex_lock(&G.log_mu);
	r->next = G.rings;
	if (G.rings)
		G.rings->prev = r;
	G.rings = r;
	sonde__fetch_add_relaxed(&G.nrings, 1);
	pthread_mutex_unlock(&G.log_mu);
	tls_ring = r;
	if (ring_key_ok)
		pthread_setspecific(ring_key, r);
	return r;
}

/* pthread key destructor: the thread is exiting. Its records stay in the
 * ring; the backend writes them, then frees the ring. A log call from a
 * later TLS destructor of this thread starts a fresh ring (quill #305). */
static void ring_key_dtor(void *p)
{
	sonde__log_ring *r = p;
	int st;

	if (!r)
		return;
	if (tls_ring == r)
		tls_ring = NULL;
	pthread_mutex_lock(&G.log_mu);
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPED || st == ST_INIT) {
		/* no backend will ever drain it: what is left was discarded */
		sonde__log_ring_unlink_locked(r);
		pthread_mutex_unlock(&G.log_mu);
		sonde__log_ring_free(r);
		return;
	}
	/* release: pairs with the backend's acquire load of orphaned, made
	 * before its last load of wpos; every record published above is then
	 * seen, and nothing is published after. */
	sonde__store_release(&r->orphaned, 1);
	pthread_mutex_unlock(&G.log_mu);
}

/* ---- the backend's life ---------------------------------------------------------- */

static void exit_hook(void)
{
	if (!sonde__log_is_backend && sonde__load_relaxed(&G.state) == ST_RUNNING) {
		int rc = sonde_log_shutdown(); /* at exit nobody can act on a timeout */
		(void)rc;
	}
}

/* Discards every ring's content (after a shutdown, before a restart). */
static uint64_t discard_all_locked(void)
{
	sonde__log_ring *r;
	uint64_t n = 0;

	for (r = G.rings; r; r = r->next) {
		uint64_t w = sonde__load_acquire(&r->wpos), p = sonde__load_relaxed(&r->rpos);
		while (p < w) {
			const rec_hdr *h = (const rec_hdr *)(const void *)(r->data + (p & r->mask));
			if (h->kind == REC_LOG)
				n++;
			p += h->size;
		}
		sonde__store_release(&r->rpos, w);
	}
	return n;
}

/* Starts the backend thread unless it runs. log_mu held. */
static int start_locked(void)
{
	int st = sonde__load_relaxed(&G.state), rc;
	sigset_t all, old;

	if (st == ST_RUNNING || st == ST_STOPPING)
		return SONDE_OK;
	if (st == ST_STOPPED)
		sonde__fetch_add_relaxed(&G.dropped, discard_all_locked());
	G.stopping = 0;
	G.backend_exited = 0;
	G.abandoned = 0;
	/* The backend must not run the host's signal handlers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&G.thread, NULL, sonde__log_backend_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return sonde__fail(SONDE_EIO, "log backend thread: pthread_create failed (%d)", rc);
	sonde__store_relaxed(&G.state, ST_RUNNING);
	if (!atexit_done) {
		atexit_done = 1;
		atexit(exit_hook);
	}
	return SONDE_OK;
}

/* ---- the log call ------------------------------------------------------------------- */

static void count_drop(sonde__log_ring *r)
{
	if (r)
		r->pending_drops++;
	sonde__fetch_add_relaxed(&G.dropped, 1);
}

/* Room for size bytes at *pos (the producer's unpublished write position):
 * returns where to write, or NULL when the ring is full. A record never
 * straddles the end: a PAD header covers the tail and it starts at 0. */
static inline uint8_t *reserve(sonde__log_ring *r, uint64_t *pos, uint32_t size)
{
	uint64_t p = *pos, off = p & r->mask, tail = r->cap - off;
	uint64_t need = size <= tail ? size : tail + size;

	if (SONDE_UNLIKELY(p + need - r->rpos_cache > r->cap)) {
		/* acquire: pairs with the backend's release store of rpos; its
		 * reads of the bytes we are about to overwrite happened before. */
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

/* Block policy: wait until size bytes fit (spinning first, then sleeping
 * on wait_cv). False when waiting is not allowed or the backend stopped. */
static bool wait_room(sonde__log_ring *r, uint64_t pos, uint32_t size)
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
		if (pos + need - sonde__load_acquire(&r->rpos) <= r->cap)
			return true;
	}
	pthread_cond_signal(&G.backend_cv);
	pthread_mutex_lock(&G.wait_mu);
	for (;;) {
		struct timespec ts;
		int st = sonde__load_relaxed(&G.state);

		if (st != ST_RUNNING && st != ST_STOPPING)
			break;
		/* seq_cst pair with the backend: it stores rpos, then loads
		 * waiting; we store waiting, then load rpos. One of us sees the
		 * other, so a wake-up cannot be lost (the 1 ms timeout is only a
		 * safety net). */
		atomic_store(&r->waiting, 1);
		if (pos + need - atomic_load(&r->rpos) <= r->cap) {
			atomic_store(&r->waiting, 0);
			pthread_mutex_unlock(&G.wait_mu);
			return true;
		}
		pthread_cond_signal(&G.backend_cv);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&G.wait_cv, &G.wait_mu, &ts);
	}
	atomic_store(&r->waiting, 0);
	pthread_mutex_unlock(&G.wait_mu);
	return false;
}

static sonde__log_ring *emit_slow_ring(void)
{
	int st = sonde__load_relaxed(&G.state);

	if (st == ST_STOPPED || st == ST_INIT) {
		count_drop(NULL);
		return NULL;
	}
	if (st == ST_NEED_START) {
		/* a forked child's first log call starts its backend */
		pthread_mutex_lock(&G.log_mu);
		(void)start_locked();
		pthread_mutex_unlock(&G.log_mu);
	}
	return tls_ring ? tls_ring : ring_attach();
}

/* The drop notice: a normal record through a static site. */
static const char *const drop_keys[] = {"dropped"};
static const unsigned char drop_types[] = {SONDE_LOG_T_U64};
static const sonde_log_site drop_site = {
        "log records dropped", __FILE__, drop_keys, drop_types, __LINE__, SONDE_LOG_LEVEL_WARN, 1};

void sonde__log_emit(sonde_logger *l, const sonde_log_site *site, const sonde_log_value *vals)
{
	sonde__log_ring *r = tls_ring;
	const sonde_span_context *ctx;
	uint64_t tid[2], pos;
	uint32_t cut = 0; /* bit i: string field i was truncated */
	size_t slen[SONDE__LOG_MAX_FIELDS], strbytes = 0, limit, fixed;
	unsigned n, i;
	uint32_t size;
	uint8_t flags = 0, *p;
	rec_hdr *h;
	bool has_ctx;

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
		count_drop(r);
		return;
	}
	r->in_push = 1;
	atomic_signal_fence(memory_order_seq_cst);

	ctx = sonde_context_current();
	memcpy(tid, ctx->trace_id, 16);
	has_ctx = (tid[0] | tid[1]) != 0;
	fixed = sizeof(rec_hdr) + (has_ctx ? sizeof(rec_ctx) : 0) + 8u * n;
	if (has_ctx)
		strbytes = ctx->correlation_len;
	for (i = 0; i < n; i++) {
		if (site->types[i] != SONDE_LOG_T_STR)
			continue;
		if (!vals[i].v.s) {
			slen[i] = 0;
			continue;
		}
		slen[i] = vals[i].len == (size_t)-1 ? strlen(vals[i].v.s) : vals[i].len;
		strbytes += slen[i];
	}
	limit = r->cap / 4;
	if (SONDE_UNLIKELY(fixed + strbytes > limit)) {
		/* a record takes at most a quarter of the ring: cut strings in
		 * field order (the correlation id, <= 64 bytes, always fits) */
		size_t budget = limit - fixed - (has_ctx ? ctx->correlation_len : 0);
		strbytes = has_ctx ? ctx->correlation_len : 0;
		for (i = 0; i < n; i++) {
			if (site->types[i] != SONDE_LOG_T_STR || !vals[i].v.s)
				continue;
			if (slen[i] > budget) {
				slen[i] = budget;
				cut |= 1u << i;
				flags |= REC_F_TRUNC;
			}
			budget -= slen[i];
			strbytes += slen[i];
		}
		sonde__fetch_add_relaxed(&G.truncated, 1);
	}
	size = (uint32_t)((fixed + strbytes + 7) & ~(size_t)7);

	pos = sonde__load_relaxed(&r->wpos); /* our own variable */
	if (SONDE_UNLIKELY(r->pending_drops)) {
		/* room has to hold the notice and the record, in that order */
		uint64_t save = pos;
		rec_hdr *d = (rec_hdr *)(void *)reserve(r, &pos, sizeof(rec_hdr) + 8);
		if (d && !reserve(r, &(uint64_t){pos}, size))
			d = NULL; /* only the notice would fit: keep counting */
		if (d) {
			d->kind = REC_LOG;
			d->size = sizeof(rec_hdr) + 8;
			d->level = SONDE_LOG_LEVEL_WARN;
			d->nfields = 1;
			d->flags = 0;
			d->ts = sonde__log_now_ticks();
			d->site = &drop_site;
			d->logger = l;
			memcpy(d + 1, &r->pending_drops, 8);
			r->pending_drops = 0;
		} else {
			pos = save;
		}
	}
	p = reserve(r, &pos, size);
	if (SONDE_UNLIKELY(!p)) {
		if (__atomic_load_n(&l->overflow, __ATOMIC_RELAXED) != SONDE_LOG_OVERFLOW_BLOCK ||
		    r->pending_drops || !wait_room(r, pos, size) || !(p = reserve(r, &pos, size))) {
			count_drop(r);
			goto publish;
		}
	}
	h = (rec_hdr *)(void *)p;
	h->size = size;
	h->kind = REC_LOG;
	h->level = site->level;
	h->nfields = (uint8_t)n;
	h->flags = (uint8_t)(flags | (has_ctx ? REC_F_CTX : 0));
	h->ts = sonde__log_now_ticks();
	h->site = site;
	h->logger = l;
	p += sizeof(rec_hdr);
	if (has_ctx) {
		rec_ctx *c = (rec_ctx *)(void *)p;
		memcpy(c->trace_id, tid, 16);
		memcpy(c->span_id, ctx->span_id, 8);
		c->trace_flags = ctx->trace_flags;
		c->corr_len = ctx->correlation_len;
		p += sizeof(rec_ctx);
	}
	{
		uint64_t *v = (uint64_t *)(void *)p;
		char *s = (char *)(v + n);

		if (has_ctx && ctx->correlation_len) {
			memcpy(s, ctx->correlation_id, ctx->correlation_len);
			s += ctx->correlation_len;
		}
		for (i = 0; i < n; i++) {
			if (site->types[i] != SONDE_LOG_T_STR) {
				v[i] = vals[i].v.u;
			} else if (!vals[i].v.s) {
				v[i] = REC_STR_NULL;
			} else {
				v[i] = ((cut >> i) & 1u ? REC_STR_TRUNC : 0) | (uint64_t)slen[i];
				memcpy(s, vals[i].v.s, slen[i]);
				s += slen[i];
			}
		}
	}
publish:
	/* release: pairs with the backend's acquire load of wpos; publishes
	 * the record bytes written above. */
	sonde__store_release(&r->wpos, pos);
	atomic_signal_fence(memory_order_seq_cst);
	r->in_push = 0;
}

/* ---- loggers ------------------------------------------------------------------------ */

void sonde_log_opts_init(sonde_log_opts *o, const char *service)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->service = service;
	o->level = SONDE_LOG_LEVEL_INFO;
}

static void bound_clear(bound_field *b)
{
	if (b->key)
		sonde__free(b->key, strlen(b->key) + 1);
	if (b->type == SONDE_LOG_T_STR && b->v.v.s)
		sonde__free((char *)(uintptr_t)b->v.v.s, b->v.len + 1);
	memset(b, 0, sizeof(*b));
}

/* Deep copy of one bound field (key, and string value). */
static int bound_set(bound_field *b, const char *key, int type, sonde_log_value v)
{
	bound_field n;

	memset(&n, 0, sizeof(n));
	n.type = type;
	n.key = sonde__strndup(key, strlen(key));
	if (!n.key)
		return SONDE_ENOMEM;
	n.v = v;
	if (type == SONDE_LOG_T_STR && v.v.s) {
		size_t len = v.len == (size_t)-1 ? strlen(v.v.s) : v.len;
		char *s = sonde__strndup(v.v.s, len);
		if (!s) {
			/* n.v still points at the caller's string: not ours to free */
			n.v.v.s = NULL;
			bound_clear(&n);
			return SONDE_ENOMEM;
		}
		n.v.v.s = s;
		n.v.len = len;
	}
	bound_clear(b);
	*b = n;
	return SONDE_OK;
}

void sonde__logger_destroy(sonde_logger *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nbound; i++)
		bound_clear(&l->bound[i]);
	sonde__free(l->bound, l->bound_cap * sizeof(*l->bound));
	for (i = 0; i < l->nredact; i++)
		sonde__free(l->redact[i], strlen(l->redact[i]) + 1);
	sonde__free(l->redact, l->nredact * sizeof(*l->redact));
	for (i = 0; i < l->nsinks; i++)
		sonde__log_sink_unref(l->sinks[i]);
	sonde__free(l->sinks, l->nsinks * sizeof(*l->sinks));
	if (l->service)
		sonde__free(l->service, l->service_len + 1);
	sonde__free(l->json_bound, l->json_bound_len + 1);
	sonde__free(l->logfmt_bound, l->logfmt_bound_len + 1);
	sonde__free(l, sizeof(*l));
}

static int copy_redact(sonde_logger *l, const char *const *keys, size_t n)
{
	size_t i;

	if (!n)
		return SONDE_OK;
	l->redact = sonde__calloc(n, sizeof(*l->redact));
	if (!l->redact)
		return SONDE_ENOMEM;
	l->nredact = n;
	for (i = 0; i < n; i++) {
		l->redact[i] = sonde__strndup(keys[i], strlen(keys[i]));
		if (!l->redact[i])
			return SONDE_ENOMEM;
	}
	return SONDE_OK;
}

static int copy_sinks(sonde_logger *l, sonde_log_sink *const *sinks, size_t n)
{
	size_t i;

	l->sinks = sonde__calloc(n, sizeof(*l->sinks));
	if (!l->sinks)
		return SONDE_ENOMEM;
	for (i = 0; i < n; i++) {
		sonde__log_sink_ref(sinks[i]);
		l->sinks[l->nsinks++] = sinks[i];
	}
	return SONDE_OK;
}

/* Links a finished logger and makes sure the backend runs. */
static sonde_logger *publish_logger(sonde_logger *l)
{
	int rc;

	pthread_mutex_lock(&G.log_mu);
	rc = start_locked();
	if (rc == SONDE_OK) {
		l->next = G.loggers;
		if (G.loggers)
			G.loggers->prev = l;
		G.loggers = l;
	}
	pthread_mutex_unlock(&G.log_mu);
	if (rc != SONDE_OK) {
		sonde__logger_destroy(l);
		return NULL;
	}
	return l;
}

sonde_logger *sonde_logger_new(const sonde_log_opts *o)
{
	sonde_logger *l;
	const char *env;
	size_t i;
	int rc;

	if (!o)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: opts is NULL"), NULL;
	if (o->size < sizeof(sonde_log_opts))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: size field is %zu, want %zu",
		                   o->size, sizeof(sonde_log_opts)),
		       NULL;
	if (!o->service || !*o->service)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: service is NULL or empty"),
		       NULL;
	if ((int)o->level < 0 || o->level > SONDE_LOG_LEVEL_OFF)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: level %d out of range",
		                   (int)o->level),
		       NULL;
	if (o->overflow != SONDE_LOG_OVERFLOW_DROP && o->overflow != SONDE_LOG_OVERFLOW_BLOCK)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: unknown overflow policy %d",
		                   (int)o->overflow),
		       NULL;
	if (o->sink_count > SONDE__LOG_MAX_SINKS || (o->sink_count && !o->sinks))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: %zu sinks (max %d)",
		                   o->sink_count, SONDE__LOG_MAX_SINKS),
		       NULL;
	for (i = 0; i < o->sink_count; i++)
		if (!o->sinks[i])
			return sonde__fail(SONDE_EINVAL, "sonde_logger_new: sink %zu is NULL", i),
			       NULL;
	if (o->redact_count > SONDE__LOG_MAX_REDACT || (o->redact_count && !o->redact_keys))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: %zu redaction keys (max %d)",
		                   o->redact_count, SONDE__LOG_MAX_REDACT),
		       NULL;
	for (i = 0; i < o->redact_count; i++)
		if (!o->redact_keys[i])
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_logger_new: redaction key %zu is NULL", i),
			       NULL;
	sonde__log_init_once();

	l = sonde__calloc(1, sizeof(*l));
	if (!l)
		return sonde__fail(SONDE_ENOMEM, "sonde_logger_new: out of memory"), NULL;
	l->level = (int)o->level;
	env = o->level_env ? o->level_env : "LOG_LEVEL";
	if (*env) {
		const char *v = getenv(env);
		sonde_log_level lv;
		if (v && sonde_log_level_parse(v, strlen(v), &lv) == SONDE_OK)
			l->level = (int)lv;
	}
	l->overflow = (int)o->overflow;
	l->service_len = strlen(o->service);
	l->service = sonde__strndup(o->service, l->service_len);
	rc = l->service ? copy_redact(l, o->redact_keys, o->redact_count) : SONDE_ENOMEM;
	if (rc == SONDE_OK) {
		if (o->sink_count) {
			rc = copy_sinks(l, o->sinks, o->sink_count);
		} else {
			sonde_log_sink *s = sonde_log_sink_stdout(NULL);
			rc = s ? copy_sinks(l, &s, 1) : SONDE_ENOMEM;
			sonde_log_sink_free(s); /* the logger holds it now */
		}
	}
	if (rc == SONDE_OK)
		rc = sonde__log_render_bound(l);
	if (rc != SONDE_OK) {
		sonde__logger_destroy(l);
		return sonde__fail(rc, "sonde_logger_new: out of memory"), NULL;
	}
	return publish_logger(l);
}

sonde_logger *sonde_logger_child(const sonde_logger *parent, const sonde_log_field *fields,
                                 size_t n)
{
	sonde_logger *l;
	size_t i, j, cap;
	int rc = SONDE_OK;

	if (!parent)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_child: parent is NULL"), NULL;
	if (n > SONDE__LOG_MAX_BOUND || (n && !fields))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_child: %zu fields (max %d)", n,
		                   SONDE__LOG_MAX_BOUND),
		       NULL;
	for (i = 0; i < n; i++) {
		if (!fields[i].key || !*fields[i].key)
			return sonde__fail(SONDE_EINVAL, "sonde_logger_child: field %zu has no key",
			                   i),
			       NULL;
		if (fields[i].type < SONDE_LOG_T_STR || fields[i].type > SONDE_LOG_T_BOOL)
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_logger_child: field \"%s\" has bad type %d",
			                   fields[i].key, fields[i].type),
			       NULL;
	}
	l = sonde__calloc(1, sizeof(*l));
	if (!l)
		return sonde__fail(SONDE_ENOMEM, "sonde_logger_child: out of memory"), NULL;
	l->level = sonde_logger_level(parent);
	l->overflow = parent->overflow;
	l->service_len = parent->service_len;
	l->service = sonde__strndup(parent->service, parent->service_len);
	if (!l->service)
		rc = SONDE_ENOMEM;
	if (rc == SONDE_OK)
		rc = copy_redact(l, (const char *const *)parent->redact, parent->nredact);
	if (rc == SONDE_OK)
		rc = copy_sinks(l, parent->sinks, parent->nsinks);
	cap = parent->nbound + n;
	if (rc == SONDE_OK && cap) {
		l->bound = sonde__calloc(cap, sizeof(*l->bound));
		if (!l->bound)
			rc = SONDE_ENOMEM;
		else
			l->bound_cap = cap;
	}
	for (i = 0; rc == SONDE_OK && i < parent->nbound; i++) {
		const bound_field *b = &parent->bound[i];
		rc = bound_set(&l->bound[l->nbound], b->key, b->type, b->v);
		if (rc == SONDE_OK)
			l->nbound++;
	}
	for (i = 0; rc == SONDE_OK && i < n; i++) {
		sonde_log_value v;
		bound_field *dst = NULL;

		v.v.u = fields[i].v.u;
		v.len = fields[i].len;
		for (j = 0; j < l->nbound; j++)
			if (strcmp(l->bound[j].key, fields[i].key) == 0)
				dst = &l->bound[j]; /* the child's value replaces it */
		if (!dst)
			dst = &l->bound[l->nbound];
		rc = bound_set(dst, fields[i].key, fields[i].type, v);
		if (rc == SONDE_OK && dst == &l->bound[l->nbound])
			l->nbound++;
	}
	if (rc == SONDE_OK)
		rc = sonde__log_render_bound(l);
	if (rc != SONDE_OK) {
		sonde__logger_destroy(l);
		return sonde__fail(rc, "sonde_logger_child: out of memory"), NULL;
	}
	return publish_logger(l);
}

void sonde_logger_free(sonde_logger *l)
{
	int st;

	if (!l)
		return;
	pthread_mutex_lock(&G.log_mu);
	if (l->prev)
		l->prev->next = l->next;
	else if (G.loggers == l)
		G.loggers = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPED || st == ST_INIT) {
		pthread_mutex_unlock(&G.log_mu);
		sonde__logger_destroy(l);
		return;
	}
	/* Records of l may still be in rings: the backend frees it after a
	 * batch that started after this point has drained every ring. */
	l->retire_next = G.retired;
	G.retired = l;
	pthread_mutex_unlock(&G.log_mu);
}

/* ---- flush, shutdown, statistics ------------------------------------------------- */

static bool rings_pending_locked(void)
{
	sonde__log_ring *r;

	for (r = G.rings; r; r = r->next)
		if (sonde__load_acquire(&r->wpos) != sonde__load_relaxed(&r->rpos))
			return true;
	return false;
}

int sonde_log_flush(void)
{
	uint64_t my;
	int st;

	if (sonde__log_is_backend)
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_log_flush: called from the log backend thread "
		                   "(a sink callback); it would wait for itself");
	pthread_mutex_lock(&G.log_mu);
	st = sonde__load_relaxed(&G.state);
	if (st == ST_NEED_START && rings_pending_locked())
		(void)start_locked();
	st = sonde__load_relaxed(&G.state);
	if (st != ST_RUNNING && st != ST_STOPPING) {
		pthread_mutex_unlock(&G.log_mu);
		return SONDE_OK;
	}
	/* Our records were published (release) before this lock; the backend
	 * reads flush_req under the same lock, then loads every wpos. */
	my = ++G.flush_req;
	pthread_cond_signal(&G.backend_cv);
	while (G.flush_done < my) {
		st = sonde__load_relaxed(&G.state);
		if (st != ST_RUNNING && st != ST_STOPPING)
			break;
		pthread_cond_wait(&G.flush_cv, &G.log_mu);
	}
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}

uint64_t sonde__log_finish_shutdown(void)
{
	sonde_logger *l, *next;
	sonde__log_ring *r, *rnext;
	uint64_t left;

	pthread_mutex_lock(&G.log_mu);
	/* what the deadline left behind is discarded and counted */
	left = discard_all_locked();
	sonde__fetch_add_relaxed(&G.dropped, left);
	sonde__store_relaxed(&G.state, ST_STOPPED);
	for (r = G.rings; r; r = rnext) {
		rnext = r->next;
		if (!sonde__load_acquire(&r->orphaned))
			continue;
		sonde__log_ring_unlink_locked(r);
		sonde__log_ring_free(r);
	}
	l = G.retired;
	G.retired = NULL;
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

int sonde_log_shutdown(void)
{
	uint64_t left;
	unsigned ms;
	struct timespec ts;

	if (sonde__log_is_backend)
		return sonde__fail(SONDE_ESTATE, "sonde_log_shutdown: called from the log backend "
		                                 "thread (a sink callback)");
	pthread_mutex_lock(&G.log_mu);
	if (sonde__load_relaxed(&G.state) == ST_STOPPING) {
		if (G.abandoned) {
			pthread_mutex_unlock(&G.log_mu);
			return sonde__fail(SONDE_ETIMEDOUT,
			                   "sonde_log_shutdown: the log backend is "
			                   "still stuck in a sink");
		}
		/* another thread is shutting down: wait for it */
		while (sonde__load_relaxed(&G.state) == ST_STOPPING && !G.abandoned)
			pthread_cond_wait(&G.flush_cv, &G.log_mu);
		pthread_mutex_unlock(&G.log_mu);
		return SONDE_OK;
	}
	if (sonde__load_relaxed(&G.state) != ST_RUNNING) {
		if (sonde__load_relaxed(&G.state) == ST_NEED_START)
			sonde__store_relaxed(&G.state, ST_STOPPED);
		pthread_mutex_unlock(&G.log_mu);
		return SONDE_OK;
	}
	ms = G.shutdown_timeout_ms ? G.shutdown_timeout_ms : 2000;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	G.stop_deadline_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)ms * 1000000;
	G.stopping = 1;
	sonde__store_relaxed(&G.state, ST_STOPPING);
	pthread_cond_signal(&G.backend_cv);
	pthread_mutex_unlock(&G.log_mu);

	/* The backend checks the deadline between records; a sink that never
	 * returns would hold it forever, so the join is bounded too (the drain
	 * deadline plus 500 ms). If it times out, the backend is left to finish
	 * the shutdown itself when (if) the sink returns: rings and loggers
	 * stay allocated until then, and the host's exit is not held up. */
	{
		struct timespec jd;
		int jr, exited;

		clock_gettime(CLOCK_REALTIME, &jd);
		jd.tv_sec += (time_t)(ms / 1000);
		jd.tv_nsec += (long)(ms % 1000) * 1000000L + 500000000L;
		while (jd.tv_nsec >= 1000000000L) {
			jd.tv_sec++;
			jd.tv_nsec -= 1000000000L;
		}
		jr = pthread_timedjoin_np(G.thread, NULL, &jd);
		if (jr != 0) {
			pthread_mutex_lock(&G.log_mu);
			exited = G.backend_exited;
			if (!exited)
				G.abandoned = 1;
			pthread_cond_broadcast(&G.flush_cv);
			pthread_mutex_unlock(&G.log_mu);
			if (!exited) {
				pthread_detach(G.thread);
				return sonde__fail(
				        SONDE_ETIMEDOUT,
				        "sonde_log_shutdown: a sink has not returned for %u ms; "
				        "the backend finishes when it does",
				        ms + 500);
			}
			pthread_join(G.thread, NULL); /* it left its loop just now */
		}
	}
	left = sonde__log_finish_shutdown();
	if (left)
		return sonde__fail(SONDE_ETIMEDOUT,
		                   "sonde_log_shutdown: %llu records were not written within %u ms",
		                   (unsigned long long)left, ms);
	return SONDE_OK;
}

int sonde_log_stats_get(sonde_log_stats *out)
{
	int i;

	if (!out)
		return sonde__fail(SONDE_EINVAL, "sonde_log_stats_get: out is NULL");
	if (out->size < sizeof(sonde_log_stats))
		return sonde__fail(SONDE_EINVAL, "sonde_log_stats_get: size field is %zu, want %zu",
		                   out->size, sizeof(sonde_log_stats));
	for (i = 0; i < 6; i++)
		out->written[i] = sonde__load_relaxed(&G.written[i]);
	out->dropped = sonde__load_relaxed(&G.dropped);
	out->truncated = sonde__load_relaxed(&G.truncated);
	out->sink_errors = sonde__load_relaxed(&G.sink_errors);
	out->rings = sonde__load_relaxed(&G.nrings);
	return SONDE_OK;
}

/* ---- fork ---------------------------------------------------------------------------- */

static void fork_prepare(void)
{
	/* Lock order cycle_mu -> log_mu -> wait_mu. Holding cycle_mu waits
	 * for the backend to finish its batch (sink buffers empty, no
	 * rotation half-done). */
	pthread_mutex_lock(&G.cycle_mu);
	pthread_mutex_lock(&G.log_mu);
	pthread_mutex_lock(&G.wait_mu);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&G.wait_mu);
	pthread_mutex_unlock(&G.log_mu);
	pthread_mutex_unlock(&G.cycle_mu);
}

static void fork_child(void)
{
	sonde__log_ring *r;
	int st = sonde__load_relaxed(&G.state);

	/* Only this thread exists here. Its records made before the fork
	 * belong to the parent, which writes them: skip them (rpos = wpos).
	 * Other threads' rings are orphaned: the child's backend frees them.
	 * The backend is started by the child's first log call (no
	 * pthread_create inside an atfork handler). */
	for (r = G.rings; r; r = r->next) {
		sonde__store_relaxed(&r->rpos, sonde__load_relaxed(&r->wpos));
		sonde__store_relaxed(&r->waiting, 0);
		if (r != tls_ring)
			sonde__store_relaxed(&r->orphaned, 1);
	}
	if (st == ST_RUNNING || st == ST_STOPPING)
		sonde__store_relaxed(&G.state, ST_NEED_START);
	G.stopping = 0;
	G.flush_done = G.flush_req;
	G.in_child = true;
	sonde__log_is_backend = 0;
	pthread_cond_init(&G.backend_cv, NULL);
	pthread_cond_init(&G.flush_cv, NULL);
	pthread_cond_init(&G.wait_cv, NULL);
	pthread_mutex_unlock(&G.wait_mu);
	pthread_mutex_unlock(&G.log_mu);
	pthread_mutex_unlock(&G.cycle_mu);
}
