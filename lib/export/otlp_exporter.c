/*
 * lib/export/otlp_exporter.c - the batch span processor and its export
 * thread (the contract is in include/sonde/export.h).
 *
 * The queue: a bounded multi-producer ring (Vyukov's: each cell carries a
 * sequence number; a producer claims a position with one CAS on the tail
 * and publishes the cell with a release store of its sequence), one
 * consumer (the export thread). A producer never waits: a full ring drops
 * the span. The cells are a power of two (an index is a mask, not a
 * division), the bound is exactly max_queue_size: the consumer, taking
 * position p, grants position p + max_queue_size (stores that position
 * into its cell's sequence); a producer may fill a cell only when its
 * sequence equals the producer's position.
 *
 * Lifetime: the only shared RMW a producer makes is the CAS on the tail.
 * Its top bit says closed: shutdown sets it (one fetch-or), after which no
 * position can be claimed, then waits for the positions claimed before to
 * be published (producers never block between the claim and the publish,
 * so that wait is short). A late producer may still read the ring (the
 * tail, then the ring, then a cell, then its CAS fails), so a ring is
 * never freed: a restart reuses it, or keeps it on the retired list when
 * it needs a bigger one (a few KiB at the default size; at most twice the
 * largest queue ever asked for). Positions only grow across restarts, so
 * a CAS from before a shutdown can never succeed after it.
 *
 * The lock (mu) guards the threads' schedule (stop, flush requests, the
 * deadlines) and the condition variables; it is never held during I/O or
 * while a producer runs. Wake-ups from producers (a full batch queued) are
 * signalled without it: one lost wake-up delays that batch to the next
 * schedule tick at most.
 *
 * Log records (issue 14.6) have their own queue (chunks of encoded
 * records, a lock-free stack the OTLP log sinks push to from the logger's
 * backend thread, bounded in records) and their own export thread running
 * the same loop (export_main, by signal), with its own HTTP client and
 * wake-up: a collector that is down for one signal (retries up to the
 * export timeout) never delays the other. The log thread starts with the
 * first record a sink hands over (lstarted): a process that exports only
 * spans runs one thread. Sending, retries, Retry-After,
 * gzip, headers and partial success are one path (deliver, send_batch).
 */
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "core/atomic.h"
#include "export/otel_config.h"
#include "export/otlp.h"
#include "export/otlp_logs.h"
#include "expose/expose-int.h"
#include "net/http.h"
#include "sonde/export.h"

#define QUEUE_MAX (1 << 20)
#define ATEXIT_BUDGET_MS 1000
#define MS 1000000LL
#define HEADERS_MAX 64

typedef struct cell {
	_Atomic uint64_t seq;
	sonde__span_data *d;
} cell;

typedef struct ring {
	uint64_t mask;      /* cells - 1 */
	struct ring *older; /* retired before this one: kept, never freed */
	cell cells[];
} ring;

#define CLOSED (UINT64_C(1) << 63) /* in the tail: no more claims */

/* Where and how one signal is sent. */
typedef struct dest {
	char *host, *path;
	uint16_t port;
	sonde_header *headers; /* names and values copied */
	size_t nheaders, hcap;
	int timeout_ms;
	bool json, gzip;
} dest;

typedef struct config {
	dest tr, lg;       /* traces, logs */
	bool traces, logs; /* the signals exported (OTEL_*_EXPORTER) */
	int schedule_delay_ms, export_timeout_ms;
	int queue_size, batch_size;
	int retry_initial_ms, retry_max_ms;
} config;

static struct {
	/* producers (the consumer's head on its own cache line: it moves at
	 * every record taken, and the callers' line must not move with it) */
	_Atomic uint64_t tail; /* the next position; CLOSED: not accepting */
	_Atomic(ring *) ring;  /* published before the tail that opens it */
	/* read by producers after their claim, so atomic (relaxed: one that
	 * raced a restart reads either value, and only to wake the thread) */
	_Atomic uint64_t wake_mask;              /* a power of two minus one, at most the batch */
	_Atomic uint64_t base;                   /* the position this start opened at */
	_Atomic int restart;                     /* a forked child: start the threads again */
	SONDE__ALIGNED_CL _Atomic uint64_t head; /* written by the consumer only */
	uint64_t cap;                            /* max_queue_size: the grant's distance */
	uint64_t batch;

	/* the schedule, under mu; one export thread per signal (SP spans, LG
	 * log records: a collector that fails one signal never delays the
	 * other), each with its own wake-up */
	pthread_mutex_t mu;
	pthread_cond_t wake[2], done;
	pthread_t thread[2];
	bool running, stop;
	bool thread_alive[2];   /* created and not yet joined */
	bool thread_exited[2];  /* its loop ended (stop, or out of memory) */
	bool client_stale[2];   /* a forked child: make its client again */
	int64_t stop_deadline;  /* mono ns */
	uint64_t flush_target;  /* export up to this tail position */
	uint64_t consumed_upto; /* what the thread has finished with */

	config cfg;
	sonde__http_client *client;  /* traces */
	sonde__http_client *lclient; /* logs */

	/* log records: chunks handed over by the OTLP log sinks (otlp_logs.c)
	 * on the logger's backend thread, through a lock-free stack (newest
	 * first); the export thread takes the whole stack at once into lpend
	 * (oldest first). lqueued counts the records of both: bounded by the
	 * queue size. The same accepting/active pair as the spans'. */
	_Atomic int laccepting;
	_Atomic int64_t lactive;
	_Atomic int lstarted; /* the log thread is wanted: a sink handed a record
	                       * (a process without OTLP log sinks runs none) */
	_Atomic(sonde__otlp_log_chunk *) lstack;
	_Atomic uint64_t lqueued;
	_Atomic uint64_t lsubmitted;   /* chunks pushed so far */
	sonde__otlp_log_chunk *lpend;  /* the export thread's (or, stopped, shutdown's) */
	uint64_t ldone, lflush_target; /* mu: chunks finished; a flush's target */
	_Atomic uint64_t l_handed, l_full, l_exported, l_rejected, l_failed, l_shutdown, l_oom,
	        l_partial;

	/* self-metrics */
	_Atomic uint64_t dropped_full, exported, rejected, failed, shutdown_dropped, oom;
	_Atomic uint64_t partial; /* 2xx, and the collector said it kept not all */
	_Atomic uint64_t requests[2], failures[2], duration_ns[2]; /* by signal */
	_Atomic uint64_t cpu_ns[2];
} G = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .tail = CLOSED,
       .wake = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER},
       .done = PTHREAD_COND_INITIALIZER};

enum { SP = 0, LG = 1 };

static int64_t mono(void)
{
	return sonde_now_mono_ns();
}

/* ==== the queue ============================================================ */

enum { PUSHED, FULL, SHUT };

static int queue_push(sonde__span_data *d)
{
	/* acquire: the ring published before the tail that opened it */
	uint64_t pos = sonde__load_acquire(&G.tail), seq;
	cell *c;

	for (;;) {
		ring *r;
		if (pos & CLOSED)
			return SHUT;
		r = sonde__load_acquire(&G.ring);
		c = &r->cells[pos & r->mask];
		/* acquire: the consumer's grant of this cell (it took the
		 * previous occupant) */
		seq = sonde__load_acquire(&c->seq);
		if (seq == pos) {
			/* fails when the tail moved: another claim, a shutdown, a
			 * restart (which never reopens at an old position) */
			if (sonde__cas_weak(&G.tail, &pos, pos + 1))
				break;
			pos = sonde__load_acquire(&G.tail);
		} else if ((int64_t)(seq - pos) < 0) {
			return FULL; /* not granted yet: max_queue_size queued */
		} else {
			pos = sonde__load_acquire(&G.tail);
		}
	}
	c->d = d;
	/* release: the record before the cell's new sequence */
	sonde__store_release(&c->seq, pos + 1);
	/* about a batch more since the last wake-up: wake the thread early
	 * (every wake_mask + 1 positions from the start, not the queue
	 * length: reading the head would pull the consumer's cache line to
	 * every caller) */
	if (((pos + 1 - sonde__load_relaxed(&G.base)) & sonde__load_relaxed(&G.wake_mask)) == 0)
		pthread_cond_signal(&G.wake[SP]);
	return PUSHED;
}

/* The consumer: the next record, or NULL when the ring is empty (or the
 * next cell is claimed but not yet published). */
static sonde__span_data *queue_pop(void)
{
	ring *r = sonde__load_relaxed(&G.ring); /* the consumer's own */
	uint64_t pos = sonde__load_relaxed(&G.head), g = pos + G.cap;
	cell *c = &r->cells[pos & r->mask];
	sonde__span_data *d;

	/* acquire: pairs with the producer's release */
	if (sonde__load_acquire(&c->seq) != pos + 1)
		return NULL;
	d = c->d;
	/* release: grants position pos + cap (its cell's previous occupant,
	 * at most this one, is taken) */
	sonde__store_release(&r->cells[g & r->mask].seq, g);
	sonde__store_release(&G.head, pos + 1);
	return d;
}

static uint64_t queue_len(void)
{
	uint64_t t = sonde__load_acquire(&G.tail) & ~CLOSED, h = sonde__load_acquire(&G.head);
	return t > h ? t - h : 0;
}

/* A ring of at least 2 and cap cells, a power of two: the current one
 * when it is big enough; else a new one, the old kept on its list (a late
 * producer may read it). Only start calls it, with no producer able to
 * claim (the tail is closed). */
static bool ring_reserve(uint64_t cap)
{
	ring *old = sonde__load_relaxed(&G.ring), *r;
	uint64_t n = 2;

	while (n < cap)
		n *= 2;
	if (old && old->mask + 1 >= n)
		return true;
	r = sonde__calloc(1, sizeof(ring) + n * sizeof(cell));
	if (!r)
		return false;
	r->mask = n - 1;
	r->older = old;
	/* release: its cells (seeded next, before the tail opens) */
	sonde__store_release(&G.ring, r);
	return true;
}

/* The ring's cells from position p on, as a start at p leaves them: the
 * first cap positions granted, the rest not yet (a full ring to their
 * producers). */
static void ring_seed(ring *r, uint64_t p, uint64_t cap)
{
	uint64_t k, n = r->mask + 1;

	for (k = 0; k < n; k++) {
		r->cells[(p + k) & r->mask].d = NULL;
		sonde__store_relaxed(&r->cells[(p + k) & r->mask].seq, k < cap ? p + k : p + k - n);
	}
}

/* Every position from p on as a start leaves it (the tail excepted: the
 * caller opens it, or keeps it closed): the ring seeded, nothing queued,
 * nothing to flush, the wake-ups and spans_ended counted from p. */
static void queue_reset_at(uint64_t p)
{
	sonde__store_relaxed(&G.base, p);
	ring_seed(sonde__load_relaxed(&G.ring), p, G.cap);
	sonde__store_relaxed(&G.head, p);
	G.flush_target = G.consumed_upto = p;
}

static bool start_threads(void);
static bool start_thread(int sig);

/* The slow part of maybe_restart (out of line: on_end stays small). */
static __attribute__((noinline)) void restart_threads(void)
{
	int one = 1;

	if (sonde__cas_strong_acqrel(&G.restart, &one, 0) && !start_threads())
		sonde__store_relaxed(&G.restart, 1); /* try again at the next one */
}

/* A forked child's first span or log record starts its export threads. */
static inline void maybe_restart(void)
{
	if (SONDE_UNLIKELY(sonde__load_relaxed(&G.restart)))
		restart_threads();
}

static void on_end(sonde__span_data *d, void *arg)
{
	int rc;

	(void)arg;
	maybe_restart();
	rc = queue_push(d);
	if (SONDE_LIKELY(rc == PUSHED))
		return;
	/* full: counted; shut: a span that raced the shutdown, never handed
	 * over (as one that ended after it) */
	if (rc == FULL)
		sonde__fetch_add_relaxed(&G.dropped_full, 1);
	sonde__span_data_free(d);
}

static const sonde__span_processor processor = {on_end, NULL};

/* ==== sending ============================================================== */

static SONDE_TLS uint64_t rng_state; /* per export thread */

static uint64_t rnd(void)
{
	/* xorshift64*: jitter, not secrecy */
	uint64_t x = rng_state ? rng_state : (uint64_t)mono() | 1;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Waits on signal sig's wake until deadline (mono ns) or a stop whose
 * deadline passed; with once, returns at the first wake-up too (the caller
 * looks again). Returns false when the shutdown's deadline cut the wait.
 * mu held. */
static bool wait_until(int sig, int64_t deadline, bool once)
{
	for (;;) {
		int64_t now = mono();
		struct timespec ts;
		int64_t wall;

		if (G.stop && G.stop_deadline <= now)
			return false;
		if (now >= deadline)
			return true;
		if (G.stop && G.stop_deadline < deadline)
			deadline = G.stop_deadline;
		/* the condition variable waits on CLOCK_REALTIME: convert */
		clock_gettime(CLOCK_REALTIME, &ts);
		wall = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (deadline - now);
		ts.tv_sec = (time_t)(wall / 1000000000);
		ts.tv_nsec = (long)(wall % 1000000000);
		pthread_cond_timedwait(&G.wake[sig], &G.mu, &ts);
		if (once)
			return true;
	}
}

typedef enum { SENT, REJECTED, FAILED } outcome;

static bool retryable_status(int st)
{
	return st == 429 || st == 502 || st == 503 || st == 504;
}

/* POSTs body until it is acknowledged, refused, or the batch's deadline
 * (or the shutdown's) leaves no room. */
static outcome send_batch(int sig, const dest *c, sonde__http_client *client, const sonde_buf *body,
                          sonde__http_response *res)
{
	int64_t deadline = mono() + (int64_t)G.cfg.export_timeout_ms * MS;
	int64_t backoff = (int64_t)G.cfg.retry_initial_ms * MS;
	sonde_header h[2 + HEADERS_MAX];
	size_t nh = 0, i;

	h[nh++] = (sonde_header){"Content-Type", 12,
	                         c->json ? "application/json" : "application/x-protobuf",
	                         c->json ? 16 : 22};
	if (c->gzip)
		h[nh++] = (sonde_header){"Content-Encoding", 16, "gzip", 4};
	for (i = 0; i < c->nheaders && nh < SONDE_ARRAY_LEN(h); i++)
		h[nh++] = c->headers[i];

	for (;;) {
		int64_t now = mono(), limit = deadline, t0, wait;
		int rc, ms;
		bool stopping;

		pthread_mutex_lock(&G.mu);
		stopping = G.stop;
		if (stopping && G.stop_deadline < limit)
			limit = G.stop_deadline;
		pthread_mutex_unlock(&G.mu);
		if (limit - now < MS)
			return FAILED;
		ms = (int)((limit - now) / MS);
		if (ms > c->timeout_ms)
			ms = c->timeout_ms;
		sonde__http_client_set_timeouts(client, ms, ms, ms);
		t0 = mono();
		rc = sonde__http_request(client, "POST", c->path, h, nh, body->data, body->len,
		                         res);
		sonde__fetch_add_relaxed(&G.duration_ns[sig], (uint64_t)(mono() - t0));
		sonde__fetch_add_relaxed(&G.requests[sig], 1);
		if (rc == SONDE_OK && res->status >= 200 && res->status < 300)
			return SENT;
		sonde__fetch_add_relaxed(&G.failures[sig], 1);
		if (rc == SONDE_OK && !retryable_status(res->status))
			return REJECTED;
		if (rc != SONDE_OK)
			sonde__http_client_close(client);
		if (rc == SONDE_OK && res->retry_after_s >= 0) {
			wait = res->retry_after_s * 1000 * MS;
		} else {
			wait = backoff / 2 + (int64_t)(rnd() % (uint64_t)(backoff / 2 + 1));
			backoff *= 2;
			if (backoff > (int64_t)G.cfg.retry_max_ms * MS)
				backoff = (int64_t)G.cfg.retry_max_ms * MS;
		}
		if (mono() + wait >= deadline)
			return FAILED; /* no room for another attempt */
		pthread_mutex_lock(&G.mu);
		if (!wait_until(sig, mono() + wait, false)) {
			pthread_mutex_unlock(&G.mu);
			return FAILED;
		}
		pthread_mutex_unlock(&G.mu);
	}
}

/* The counters of one signal's outcomes. */
typedef struct counters {
	_Atomic uint64_t *exported, *rejected, *failed, *oom, *partial;
} counters;

static const counters span_counters = {&G.exported, &G.rejected, &G.failed, &G.oom, &G.partial};
static const counters log_counters = {&G.l_exported, &G.l_rejected, &G.l_failed, &G.l_oom,
                                      &G.l_partial};

/* The encoded request of n items in body (b->oom: it could not be
 * encoded): gzipped when configured, sent, its items counted. Shared by
 * spans and log records. */
static void deliver(int sig, const dest *t, sonde__http_client *client, const counters *k, size_t n,
                    sonde_buf *body, sonde_buf *zbuf, sonde__http_response *res)
{
	const sonde_buf *out = body;
	bool oom = body->oom;
	outcome o;

#ifdef SONDE_HAVE_ZLIB
	if (!oom && t->gzip) {
		oom = sonde__gzip(body->data, body->len, zbuf) != SONDE_OK;
		out = zbuf;
	}
#else
	(void)zbuf;
#endif
	if (oom) {
		sonde__fetch_add_relaxed(k->oom, n);
		sonde_buf_destroy(body); /* a buffer in the oom state stays so */
		sonde_buf_destroy(zbuf);
		return;
	}
	uint64_t kept = n;
	o = send_batch(sig, t, client, out, res);
	if (o == SENT) {
		/* a partial success: the collector took the request and refused
		 * some of its items, which are not to be sent again; a body
		 * that is not a response leaves all counted as delivered */
		int64_t r = 0;
		if (sonde__otlp_partial_success(res->body.data, res->body.len, t->json, &r, NULL,
		                                0) == SONDE_OK &&
		    r > 0) {
			uint64_t lost = (uint64_t)r < n ? (uint64_t)r : n;
			sonde__fetch_add_relaxed(k->partial, lost);
			kept = n - lost;
		}
	}
	sonde__fetch_add_relaxed(o == SENT       ? k->exported
	                         : o == REJECTED ? k->rejected
	                                         : k->failed,
	                         kept);
}

/* One batch: up to batch_size records off the queue, encoded, sent,
 * counted, freed. Returns how many were taken. */
static size_t export_one(sonde__span_data **batch, sonde_buf *body, sonde_buf *zbuf,
                         sonde__http_response *res)
{
	size_t n = 0, i;

	while (n < G.batch && (batch[n] = queue_pop()) != NULL)
		n++;
	if (!n)
		return 0;
	sonde_buf_reset(body);
	if (G.cfg.tr.json)
		sonde__otlp_traces_json(body, batch, n);
	else
		sonde__otlp_traces_pb(body, batch, n);
	deliver(SP, &G.cfg.tr, G.client, &span_counters, n, body, zbuf, res);
	for (i = 0; i < n; i++)
		sonde__span_data_free(batch[i]);
	return n;
}

/* ---- log records ------------------------------------------------------------ */

/* The chunks pushed so far, appended to lpend in the order they came. */
static void logs_take_stack(void)
{
	sonde__otlp_log_chunk *c = sonde__exchange_acqrel(&G.lstack, NULL), *rev = NULL, **tail;

	while (c) {
		sonde__otlp_log_chunk *next = c->next;
		c->next = rev;
		rev = c;
		c = next;
	}
	for (tail = &G.lpend; *tail; tail = &(*tail)->next)
		;
	*tail = rev;
}

/* One request of log chunks (at least one, at most batch_size records
 * when the chunks allow), sent and counted; the number of chunks done. */
static size_t export_logs_one(sonde__otlp_log_chunk **batch, size_t cap, sonde_buf *body,
                              sonde_buf *zbuf, sonde__http_response *res)
{
	size_t k = 0, n = 0, i, j, done = 0;

	logs_take_stack();
	while (G.lpend && k < cap && (k == 0 || n + G.lpend->n <= G.batch)) {
		sonde__otlp_log_chunk *c = G.lpend;
		G.lpend = c->next;
		c->next = NULL;
		batch[k++] = c;
		n += c->n;
	}
	if (!k)
		return 0;
	sonde__fetch_sub_seq_cst(&G.lqueued, n);
	/* the encoding a chunk was made in (a restart may change it) */
	for (i = 0; i < k; i = j) {
		size_t m = 0;
		for (j = i; j < k && batch[j]->json == batch[i]->json; j++)
			m += batch[j]->n;
		sonde_buf_reset(body);
		sonde__otlp_logs_request(body, batch + i, j - i, batch[i]->json);
		{
			dest t = G.cfg.lg;
			t.json = batch[i]->json;
			deliver(LG, &t, G.lclient, &log_counters, m, body, zbuf, res);
		}
	}
	for (i = 0; i < k; i++) {
		sonde__otlp_log_chunk_free(batch[i]);
		done++;
	}
	return done;
}

bool sonde__otlp_logs_enter(bool *json, size_t *batch)
{
	sonde__fetch_add_seq_cst(&G.lactive, 1);
	if (!sonde__load_seq_cst(&G.laccepting)) {
		sonde__fetch_sub_seq_cst(&G.lactive, 1);
		return false;
	}
	maybe_restart();
	if (!sonde__load_acquire(&G.lstarted)) {
		int zero = 0;
		if (sonde__cas_strong_acqrel(&G.lstarted, &zero, 1) && !start_thread(LG))
			sonde__store_relaxed(&G.lstarted, 0); /* again at the next record */
	}
	*json = G.cfg.lg.json;
	*batch = (size_t)G.batch;
	return true;
}

void sonde__otlp_logs_leave(void)
{
	sonde__fetch_sub_seq_cst(&G.lactive, 1);
}

void sonde__otlp_logs_submit(sonde__otlp_log_chunk *c, uint64_t oom)
{
	uint64_t n = c ? c->n : 0, q;
	sonde__otlp_log_chunk *head;

	sonde__fetch_add_relaxed(&G.l_handed, n + oom);
	sonde__fetch_add_relaxed(&G.l_oom, oom);
	if (!n) {
		sonde__otlp_log_chunk_free(c);
		return;
	}
	q = sonde__fetch_add_seq_cst(&G.lqueued, n) + n;
	if (q > G.cap) {
		sonde__fetch_sub_seq_cst(&G.lqueued, n);
		sonde__fetch_add_relaxed(&G.l_full, n);
		sonde__otlp_log_chunk_free(c);
		return;
	}
	head = sonde__load_relaxed(&G.lstack);
	do
		c->next = head;
	while (!sonde__cas_strong_acqrel(&G.lstack, &head, c));
	sonde__fetch_add_acqrel(&G.lsubmitted, 1);
	if (q >= G.batch)
		pthread_cond_signal(&G.wake[LG]);
}

/* Every chunk still queued freed (shutdown: counted as dropped;
 * a forked child: the parent's, not counted). */
static uint64_t logs_drain(bool count)
{
	uint64_t left = 0;

	logs_take_stack();
	while (G.lpend) {
		sonde__otlp_log_chunk *c = G.lpend;
		G.lpend = c->next;
		left += c->n;
		sonde__otlp_log_chunk_free(c);
	}
	sonde__store_relaxed(&G.lqueued, 0);
	if (count)
		sonde__fetch_add_relaxed(&G.l_shutdown, left);
	return left;
}

static void thread_cpu(int sig)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		sonde__store_relaxed(&G.cpu_ns[sig],
		                     (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* What signal sig has queued (mu or not: a snapshot). */
static uint64_t pending(int sig)
{
	return sig == LG ? sonde__load_seq_cst(&G.lqueued) : queue_len();
}

/* One export thread (arg: its signal): batches of its queue, sent. */
static void *export_main(void *arg)
{
	int sig = (int)(intptr_t)arg;
	sonde__span_data **batch = NULL;
	sonde__otlp_log_chunk **lbatch = NULL;
	sonde_buf body = SONDE_BUF_INIT, zbuf = SONDE_BUF_INIT;
	sonde__http_response res;
	sonde__http_client **client = sig == LG ? &G.lclient : &G.client;
	const dest *d = sig == LG ? &G.cfg.lg : &G.cfg.tr;
	int64_t next;

	sonde__name_thread(sig == LG ? "sonde-otlp-logs" : "sonde-otlp-span");
	sonde__http_response_init(&res);
	if (sig == LG)
		lbatch = sonde__calloc(G.batch, sizeof(*lbatch));
	else
		batch = sonde__calloc(G.batch, sizeof(*batch));
	pthread_mutex_lock(&G.mu);
	if (G.client_stale[sig]) {
		/* a forked child: the client may have been mid-request */
		sonde__http_client_free(*client);
		*client = sonde__http_client_new(d->host, d->port, NULL);
		G.client_stale[sig] = false;
	}
	next = mono() + (int64_t)G.cfg.schedule_delay_ms * MS;
	while ((batch || lbatch) && *client) {
		uint64_t len = pending(sig);
		int64_t now = mono();
		bool flushing =
		        sig == LG ? G.lflush_target > G.ldone : G.flush_target > G.consumed_upto;
		bool go = len >= G.batch || (len && now >= next) || flushing || (G.stop && len);
		size_t done = 0;

		if (G.stop && (!len || G.stop_deadline <= now))
			break;
		if (!go) {
			int64_t until = len ? next : now + (int64_t)G.cfg.schedule_delay_ms * MS;
			if (!len)
				next = until;
			if (G.stop)
				until = now; /* drained: loop to the break */
			else
				wait_until(sig, until, true);
			continue;
		}
		pthread_mutex_unlock(&G.mu);
		if (sig == LG)
			done = export_logs_one(lbatch, G.batch, &body, &zbuf, &res);
		else
			export_one(batch, &body, &zbuf, &res);
		thread_cpu(sig);
		pthread_mutex_lock(&G.mu);
		if (sig == LG) {
			G.ldone += done;
			if (G.ldone >= G.lflush_target)
				pthread_cond_broadcast(&G.done);
		} else {
			G.consumed_upto = sonde__load_relaxed(&G.head);
			if (G.consumed_upto >= G.flush_target || !queue_len()) {
				if (G.flush_target > G.consumed_upto && !queue_len())
					G.consumed_upto =
					        G.flush_target; /* claimed cells never published */
				pthread_cond_broadcast(&G.done);
			}
		}
		if (pending(sig) < G.batch)
			next = mono() + (int64_t)G.cfg.schedule_delay_ms * MS;
	}
	if (sig == SP)
		G.consumed_upto = sonde__load_relaxed(&G.head);
	G.thread_exited[sig] = true;
	pthread_cond_broadcast(&G.done);
	pthread_mutex_unlock(&G.mu);
	thread_cpu(sig);
	if (batch)
		sonde__free(batch, G.batch * sizeof(*batch));
	if (lbatch)
		sonde__free(lbatch, G.batch * sizeof(*lbatch));
	sonde_buf_destroy(&body);
	sonde_buf_destroy(&zbuf);
	sonde__http_response_destroy(&res);
	return NULL;
}

static bool start_thread(int sig)
{
	pthread_attr_t attr;
	int rc;

	pthread_mutex_lock(&G.mu);
	G.thread_exited[sig] = false;
	pthread_mutex_unlock(&G.mu);
	pthread_attr_init(&attr);
	rc = pthread_create(&G.thread[sig], &attr, export_main, (void *)(intptr_t)sig);
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&G.mu);
	G.thread_alive[sig] = rc == 0;
	pthread_mutex_unlock(&G.mu);
	return rc == 0;
}

/* Joins the threads that exist (after stop was set and the wakes were
 * broadcast). */
static void join_threads(void)
{
	for (int sig = 0; sig < 2; sig++) {
		bool alive;
		pthread_mutex_lock(&G.mu);
		alive = G.thread_alive[sig];
		pthread_mutex_unlock(&G.mu);
		if (alive)
			pthread_join(G.thread[sig], NULL);
		G.thread_alive[sig] = false;
	}
}

/* The threads of the enabled signals that do not run yet; false (none
 * left running that this call made) when one cannot be created. */
static bool start_threads(void)
{
	bool want[2] = {G.cfg.traces, G.cfg.logs && sonde__load_acquire(&G.lstarted)};
	bool made[2] = {false, false};

	for (int sig = 0; sig < 2; sig++) {
		if (!want[sig] || G.thread_alive[sig])
			continue;
		if (!start_thread(sig)) {
			if (made[SP]) {
				/* undo: the span thread stops at once */
				pthread_mutex_lock(&G.mu);
				G.stop = true;
				G.stop_deadline = mono();
				pthread_cond_broadcast(&G.wake[SP]);
				pthread_mutex_unlock(&G.mu);
				pthread_join(G.thread[SP], NULL);
				pthread_mutex_lock(&G.mu);
				G.thread_alive[SP] = false;
				G.stop = false;
				pthread_mutex_unlock(&G.mu);
			}
			return false;
		}
		made[sig] = true;
	}
	return true;
}

/* ==== fork ================================================================= */

static void fork_prepare(void)
{
	pthread_mutex_lock(&G.mu);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&G.mu);
}

/* The self-metrics' counts back to zero (a start, a forked child). */
static void stats_reset(void)
{
	sonde__store_relaxed(&G.dropped_full, 0);
	sonde__store_relaxed(&G.exported, 0);
	sonde__store_relaxed(&G.rejected, 0);
	sonde__store_relaxed(&G.failed, 0);
	sonde__store_relaxed(&G.shutdown_dropped, 0);
	sonde__store_relaxed(&G.oom, 0);
	sonde__store_relaxed(&G.partial, 0);
	for (int sig = SP; sig <= LG; sig++) {
		sonde__store_relaxed(&G.requests[sig], 0);
		sonde__store_relaxed(&G.failures[sig], 0);
		sonde__store_relaxed(&G.duration_ns[sig], 0);
	}
	sonde__store_relaxed(&G.cpu_ns[SP], 0);
	sonde__store_relaxed(&G.cpu_ns[LG], 0);
	sonde__store_relaxed(&G.l_handed, 0);
	sonde__store_relaxed(&G.l_full, 0);
	sonde__store_relaxed(&G.l_exported, 0);
	sonde__store_relaxed(&G.l_rejected, 0);
	sonde__store_relaxed(&G.l_failed, 0);
	sonde__store_relaxed(&G.l_shutdown, 0);
	sonde__store_relaxed(&G.l_oom, 0);
	sonde__store_relaxed(&G.l_partial, 0);
}

static void fork_child(void)
{
	uint64_t h, t, closed;
	ring *r;

	pthread_mutex_init(&G.mu, NULL);
	pthread_cond_init(&G.wake[SP], NULL);
	pthread_cond_init(&G.wake[LG], NULL);
	pthread_cond_init(&G.done, NULL);
	if (!G.running)
		return;
	/* the parent's queued spans are the parent's: discarded here (a
	 * cell a parent's thread had claimed but not published is skipped) */
	r = sonde__load_relaxed(&G.ring);
	t = sonde__load_relaxed(&G.tail);
	closed = t & CLOSED;
	t &= ~CLOSED;
	for (h = sonde__load_relaxed(&G.head); h < t; h++) {
		cell *c = &r->cells[h & r->mask];
		if (sonde__load_relaxed(&c->seq) == h + 1)
			sonde__span_data_free(c->d);
	}
	/* open again past every position the parent used */
	queue_reset_at(t + 1);
	sonde__store_relaxed(&G.tail, (t + 1) | closed);
	/* the parent's log chunks too */
	logs_drain(false);
	sonde__store_relaxed(&G.lactive, 0);
	sonde__store_relaxed(&G.lsubmitted, 0);
	G.ldone = G.lflush_target = 0;
	stats_reset();
	G.thread_alive[SP] = G.thread_alive[LG] = false;
	G.client_stale[SP] = G.client_stale[LG] = true;
	if (!G.stop)
		sonde__store_relaxed(&G.restart, 1);
}

static const sonde__fork_hooks fork_hooks = {SONDE_FORK_RANK_LEAF, fork_prepare, fork_parent,
                                             fork_child};

/* ==== configuration ========================================================= */

static void target_free(dest *c)
{
	size_t i;

	if (c->host)
		sonde__free(c->host, strlen(c->host) + 1);
	if (c->path)
		sonde__free(c->path, strlen(c->path) + 1);
	for (i = 0; i < c->nheaders; i++) {
		sonde__free((char *)c->headers[i].name, c->headers[i].name_len + 1);
		sonde__free((char *)c->headers[i].value, c->headers[i].value_len + 1);
	}
	if (c->headers)
		sonde__free(c->headers, c->hcap * sizeof(*c->headers));
	memset(c, 0, sizeof(*c));
}

static void config_free(config *c)
{
	target_free(&c->tr);
	target_free(&c->lg);
	memset(c, 0, sizeof(*c));
}

static int add_header(dest *c, const char *name, size_t nl, const char *value, size_t vl)
{
	sonde_header *h = &c->headers[c->nheaders];

	if (!sonde__http_is_token(name, nl) || memchr(value, '\r', vl) || memchr(value, '\n', vl) ||
	    memchr(value, 0, vl))
		return sonde__fail(SONDE_EINVAL,
		                   "otlp: header \"%.*s\" is not a valid HTTP header: left out",
		                   (int)nl, name);
	h->name = sonde__strndup(name, nl);
	h->value = sonde__strndup(value, vl);
	if (!h->name || !h->value) {
		if (h->name)
			sonde__free((char *)h->name, nl + 1);
		if (h->value)
			sonde__free((char *)h->value, vl + 1);
		return sonde__fail(SONDE_ENOMEM, "otlp: out of memory");
	}
	h->name_len = nl;
	h->value_len = vl;
	c->nheaders++;
	return SONDE_OK;
}

/* A duration or size field of o over the environment's value. */
static void over(int *dst, int v, const char *what, int *rc)
{
	if (v > 0)
		*dst = v;
	else if (v < 0)
		*rc = sonde__fail(SONDE_EINVAL, "otlp: %s %d is negative: %d used instead", what, v,
		                  *dst);
}

/* One signal's target: the endpoint (the option's, else the
 * environment's), headers (environment, then the options'), timeout,
 * encoding and compression (the options' over the environment's). */
static int build_target(dest *c, const sonde__otlp_signal *sig, const char *endpoint,
                        const sonde_otlp_options *o)
{
	int rc = SONDE_OK, r;
	size_t i, n;
	char *host = NULL, *path = NULL;
	uint16_t port = 0;

	c->timeout_ms = sig->timeout_ms;
	c->json = sig->json;
	c->gzip = sig->gzip;
	if (endpoint) {
		r = sonde__parse_http_url(endpoint, &host, &port, &path);
		if (r == SONDE_ENOMEM)
			return r;
		if (r != SONDE_OK) {
			char why[160];
			snprintf(why, sizeof(why), "%s", sonde_last_error());
			rc = sonde__fail(SONDE_EINVAL,
			                 "otlp: endpoint \"%s\" refused (%s): %s used instead",
			                 endpoint, why, sig->url);
		}
	}
	if (!host) {
		host = sonde__strndup(sig->host, strlen(sig->host));
		path = sonde__strndup(sig->path, strlen(sig->path));
		port = sig->port;
	}
	c->host = host;
	c->path = path;
	c->port = port;
	n = sig->headers.n + (o ? o->nheaders : 0);
	if (n > HEADERS_MAX) {
		rc = sonde__fail(SONDE_EINVAL, "otlp: %zu headers: only the first %d are sent", n,
		                 HEADERS_MAX);
		n = HEADERS_MAX;
	}
	if (n) {
		c->headers = sonde__calloc(n, sizeof(*c->headers));
		c->hcap = c->headers ? n : 0;
	}
	if (!c->host || !c->path || (n && !c->headers))
		return sonde__fail(SONDE_ENOMEM, "otlp: out of memory");
	for (i = 0; i < sig->headers.n; i++) {
		const sonde__kv *kv = &sig->headers.v[i];
		if (c->nheaders == n)
			break;
		r = add_header(c, kv->key, strlen(kv->key), kv->value, strlen(kv->value));
		if (r == SONDE_ENOMEM)
			return r;
		if (r)
			rc = r;
	}
	if (o && o->nheaders && !o->headers)
		rc = sonde__fail(SONDE_EINVAL, "otlp: headers NULL with nheaders %zu: left out",
		                 o->nheaders);
	for (i = 0; o && o->headers && i < o->nheaders; i++) {
		const sonde_header *h = &o->headers[i];
		if (c->nheaders == n)
			break;
		if (!h->name || (!h->value && h->value_len)) {
			rc = sonde__fail(SONDE_EINVAL, "otlp: header %zu is NULL: left out", i);
			continue;
		}
		r = add_header(c, h->name, h->name_len, h->value ? h->value : "", h->value_len);
		if (r == SONDE_ENOMEM)
			return r;
		if (r)
			rc = r;
	}
	if (o) {
		over(&c->timeout_ms, o->timeout_ms, "timeout_ms", &rc);
		if (o->protocol == SONDE_OTLP_PROTOCOL_PROTOBUF ||
		    o->protocol == SONDE_OTLP_PROTOCOL_JSON)
			c->json = o->protocol == SONDE_OTLP_PROTOCOL_JSON;
		else if (o->protocol != SONDE_OTLP_PROTOCOL_DEFAULT)
			rc = sonde__fail(SONDE_EINVAL, "otlp: protocol %d unknown: %s used instead",
			                 o->protocol, c->json ? "http/json" : "http/protobuf");
		if (o->compression == SONDE_OTLP_COMPRESSION_NONE ||
		    o->compression == SONDE_OTLP_COMPRESSION_GZIP)
			c->gzip = o->compression == SONDE_OTLP_COMPRESSION_GZIP;
		else if (o->compression != SONDE_OTLP_COMPRESSION_DEFAULT)
			rc = sonde__fail(SONDE_EINVAL,
			                 "otlp: compression %d unknown: %s used instead",
			                 o->compression, c->gzip ? "gzip" : "none");
	}
#ifndef SONDE_HAVE_ZLIB
	if (c->gzip) {
		c->gzip = false;
		rc = sonde__fail(
		        SONDE_EINVAL,
		        "otlp: gzip compression asked for, but this sonde has no zlib: none used");
	}
#endif
	return rc;
}

static int build_config(config *c, const sonde__otel_config *env, const sonde_otlp_options *o)
{
	int rc = SONDE_OK, r;

	memset(c, 0, sizeof(*c));
	c->traces = env->traces.enabled;
	c->logs = env->logs.enabled;
	c->schedule_delay_ms = env->bsp_schedule_delay_ms;
	c->export_timeout_ms = env->bsp_export_timeout_ms;
	c->queue_size = env->bsp_max_queue_size;
	c->batch_size = env->bsp_max_export_batch_size;
	c->retry_initial_ms = 1000;
	c->retry_max_ms = 5000;
	if (o) {
		over(&c->schedule_delay_ms, o->schedule_delay_ms, "schedule_delay_ms", &rc);
		over(&c->export_timeout_ms, o->export_timeout_ms, "export_timeout_ms", &rc);
		over(&c->queue_size, o->max_queue_size, "max_queue_size", &rc);
		over(&c->batch_size, o->max_export_batch_size, "max_export_batch_size", &rc);
		over(&c->retry_initial_ms, o->retry_initial_ms, "retry_initial_ms", &rc);
		over(&c->retry_max_ms, o->retry_max_ms, "retry_max_ms", &rc);
	}
	r = build_target(&c->tr, &env->traces, o ? o->endpoint : NULL, o);
	if (r == SONDE_ENOMEM)
		return r;
	if (r)
		rc = r;
	r = build_target(&c->lg, &env->logs, o ? o->logs_endpoint : NULL, o);
	if (r == SONDE_ENOMEM)
		return r;
	if (r)
		rc = r;
	if (c->queue_size > QUEUE_MAX) {
		rc = sonde__fail(SONDE_EINVAL,
		                 "otlp: max_queue_size %d is above %d: %d used instead",
		                 c->queue_size, QUEUE_MAX, QUEUE_MAX);
		c->queue_size = QUEUE_MAX;
	}
	if (c->batch_size > c->queue_size) {
		rc = sonde__fail(
		        SONDE_EINVAL,
		        "otlp: max_export_batch_size %d is above max_queue_size %d: %d used "
		        "instead",
		        c->batch_size, c->queue_size, c->queue_size);
		c->batch_size = c->queue_size;
	}
	if (c->retry_max_ms < c->retry_initial_ms)
		c->retry_max_ms = c->retry_initial_ms;
	return rc;
}

/* The OTEL_* resource, service name and sampler into the trace layer. */
static int apply_env(const sonde__otel_config *env)
{
	int rc = SONDE_OK, r;
	size_t i;

	for (i = 0; i < env->resource.n; i++) {
		r = sonde_resource_set_str(env->resource.v[i].key, env->resource.v[i].value);
		if (r)
			rc = r;
	}
	if (env->service_name && (r = sonde_resource_set_str("service.name", env->service_name)))
		rc = r;
	switch (env->sampler) {
	case SONDE__SAMPLER_ALWAYS_ON:
	case SONDE__SAMPLER_PARENTBASED_ALWAYS_ON: sonde_trace_set_sampler_ratio(1.0); break;
	case SONDE__SAMPLER_ALWAYS_OFF:
	case SONDE__SAMPLER_PARENTBASED_ALWAYS_OFF: sonde_trace_set_sampler_ratio(0.0); break;
	default: sonde_trace_set_sampler_ratio(env->sampler_ratio); break;
	}
	return rc;
}

/* ==== the API ================================================================ */

static void at_exit(void)
{
	if (G.running)
		sonde__ignore(sonde_otlp_shutdown(ATEXIT_BUDGET_MS));
}

static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void register_atexit(void)
{
	/* failure (no room for the handler) leaves exit unflushed, no worse */
	sonde__ignore(atexit(at_exit));
}

/* ---- self-metrics on the default registry --------------------------------------------
 * The counts of sonde_otlp_get_stats as Prometheus metrics, read at each
 * scrape from the atomic counters (never from the queue's memory), made at
 * the first start. Out of memory or a name taken leaves them out: the
 * exporter works without them. */
static double read_u64(void *p)
{
	return (double)sonde__load_relaxed((_Atomic uint64_t *)p);
}

static double read_seconds(void *p)
{
	return (double)sonde__load_relaxed((_Atomic uint64_t *)p) / 1e9;
}

static double read_queue(void *p)
{
	(void)p;
	return (double)queue_len();
}

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void register_metrics(void)
{
	static const char *const reason[] = {"reason"}, *const signal[] = {"signal"};
	static const char *const signals[] = {"traces", "logs"}; /* by SP, LG */
	static const struct {
		const char *name, *help;
		_Atomic uint64_t *v;
		bool seconds;
	} reqs[] = {{"sonde_otlp_export_requests_total",
	             "OTLP export requests sent, retries included, by signal.", G.requests, false},
	            {"sonde_otlp_export_failures_total",
	             "OTLP export requests that failed or were refused, by signal.", G.failures,
	             false},
	            {"sonde_otlp_export_seconds_total",
	             "Time spent in OTLP export requests, by signal.", G.duration_ns, true}};
	static const struct {
		const char *reason;
		_Atomic uint64_t *v;
	} drops[] = {{"queue_full", &G.dropped_full}, {"rejected", &G.rejected},
	             {"failed", &G.failed},           {"shutdown", &G.shutdown_dropped},
	             {"out_of_memory", &G.oom},       {"partial_success", &G.partial}};
	static const struct {
		const char *reason;
		_Atomic uint64_t *v;
	} ldrops[] = {{"queue_full", &G.l_full},   {"rejected", &G.l_rejected},
	              {"failed", &G.l_failed},     {"shutdown", &G.l_shutdown},
	              {"out_of_memory", &G.l_oom}, {"partial_success", &G.l_partial}};
	sonde_family *f;

	/* each call's failure only leaves that metric out */
	sonde__ignore(!sonde_counter_func_new(NULL, "sonde_otlp_spans_exported_total",
	                                      "Spans the collector acknowledged (2xx).", read_u64,
	                                      &G.exported));
	f = sonde_counter_family_new(NULL, "sonde_otlp_spans_dropped_total",
	                             "Spans that will never reach the collector, by reason.", 1,
	                             reason);
	for (size_t i = 0; f && i < sizeof(drops) / sizeof(drops[0]); i++) {
		size_t len = strlen(drops[i].reason);
		sonde__ignore(
		        sonde_family_add_func(f, 1, &drops[i].reason, &len, read_u64, drops[i].v));
	}
	/* the requests by signal: a collector may refuse one and take the other */
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		f = sonde_counter_family_new(NULL, reqs[i].name, reqs[i].help, 1, signal);
		for (int sig = SP; f && sig <= LG; sig++) {
			size_t len = strlen(signals[sig]);
			sonde__ignore(sonde_family_add_func(
			        f, 1, &signals[sig], &len,
			        reqs[i].seconds ? read_seconds : read_u64, &reqs[i].v[sig]));
		}
	}
	sonde__ignore(!sonde_gauge_func_new(NULL, "sonde_otlp_queue_length",
	                                    "Spans waiting in the export queue.", read_queue,
	                                    NULL));
	/* log records: the same, by name */
	sonde__ignore(!sonde_counter_func_new(NULL, "sonde_otlp_log_records_exported_total",
	                                      "Log records the collector acknowledged (2xx).",
	                                      read_u64, &G.l_exported));
	f = sonde_counter_family_new(NULL, "sonde_otlp_log_records_dropped_total",
	                             "Log records that will never reach the collector, by reason.",
	                             1, reason);
	for (size_t i = 0; f && i < sizeof(ldrops) / sizeof(ldrops[0]); i++) {
		size_t len = strlen(ldrops[i].reason);
		sonde__ignore(sonde_family_add_func(f, 1, &ldrops[i].reason, &len, read_u64,
		                                    ldrops[i].v));
	}
	sonde__ignore(!sonde_gauge_func_new(NULL, "sonde_otlp_log_queue_length",
	                                    "Log records waiting in the export queue.", read_u64,
	                                    &G.lqueued));
}

int sonde_otlp_start(const sonde_otlp_options *o)
{
	sonde_otlp_options opt;
	sonde__otel_config env;
	int rc = SONDE_OK, r;
	uint64_t base;
	char why[256] = "";

	if (o) {
		r = sonde__opts_copy(&opt, sizeof(opt), o,
		                     SONDE__V1_SIZE(sonde_otlp_options, retry_max_ms),
		                     "sonde_otlp_start");
		if (r)
			return r;
		o = &opt;
	}
	if (G.running)
		return sonde__fail(SONDE_ESTATE, "sonde_otlp_start: already running");
	r = sonde__otel_config_read(&env, sonde__env_getenv, NULL);
	if (r == SONDE_ENOMEM)
		return r;
	if (r) {
		rc = r;
		snprintf(why, sizeof(why), "%s", sonde_last_error());
	}
	if (env.sdk_disabled || (!env.traces.enabled && !env.logs.enabled)) {
		sonde__otel_config_destroy(&env);
		return rc;
	}
	if ((r = apply_env(&env)) != SONDE_OK) {
		rc = r;
		snprintf(why, sizeof(why), "%s", sonde_last_error());
	}
	r = build_config(&G.cfg, &env, o);
	sonde__otel_config_destroy(&env);
	if (r == SONDE_ENOMEM || rc == SONDE_ENOMEM)
		goto oom;
	if (r) {
		rc = r;
		snprintf(why, sizeof(why), "%s", sonde_last_error());
	}
	G.client = sonde__http_client_new(G.cfg.tr.host, G.cfg.tr.port, NULL);
	G.lclient = G.client ? sonde__http_client_new(G.cfg.lg.host, G.cfg.lg.port, NULL) : NULL;
	if (!G.lclient) {
		r = sonde_last_status();
		sonde__http_client_free(G.client);
		G.client = NULL;
		config_free(&G.cfg);
		return r;
	}
	G.cap = (uint64_t)G.cfg.queue_size;
	G.batch = (uint64_t)G.cfg.batch_size;
	/* the largest power of two at most the batch (at least 1), minus one */
	sonde__store_relaxed(&G.wake_mask, (UINT64_C(1) << (63 - __builtin_clzll(G.batch))) - 1);
	if (!ring_reserve(G.cap))
		goto oom;
	/* past every position claimed before (a CAS read before the last
	 * shutdown must fail) */
	base = (sonde__load_relaxed(&G.tail) & ~CLOSED) + 1;
	queue_reset_at(base);
	sonde__store_relaxed(&G.lstack, NULL);
	sonde__store_relaxed(&G.lqueued, 0);
	sonde__store_relaxed(&G.lsubmitted, 0);
	G.lpend = NULL;
	G.ldone = G.lflush_target = 0;
	sonde__store_relaxed(&G.lstarted, 0); /* with the first log record */
	stats_reset();
	sonde__store_relaxed(&G.restart, 0);
	G.stop = false;
	G.client_stale[SP] = G.client_stale[LG] = false;
	pthread_once(&metrics_once, register_metrics);
	sonde__fork_register(&fork_hooks);
	if (!start_threads()) {
		sonde__http_client_free(G.client);
		sonde__http_client_free(G.lclient);
		G.client = G.lclient = NULL;
		config_free(&G.cfg);
		return sonde__fail(SONDE_EIO, "sonde_otlp_start: pthread_create failed");
	}
	G.running = true;
	/* release: the seeded ring (and its pointer) before the tail that
	 * opens it (spans not exported: it stays closed, at the new base) */
	sonde__store_release(&G.tail, base | (G.cfg.traces ? 0 : CLOSED));
	if (G.cfg.traces)
		sonde__trace_set_processor(&processor);
	if (G.cfg.logs)
		sonde__store_seq_cst(&G.laccepting, 1);
	pthread_once(&atexit_once, register_atexit);
	if (rc)
		return sonde__fail(rc, "%s", why);
	return SONDE_OK;
oom:
	if (G.client)
		sonde__http_client_free(G.client);
	if (G.lclient)
		sonde__http_client_free(G.lclient);
	G.client = G.lclient = NULL;
	config_free(&G.cfg);
	return sonde__fail(SONDE_ENOMEM, "sonde_otlp_start: out of memory");
}

bool sonde_otlp_running(void)
{
	return G.running;
}

int sonde_otlp_flush(int timeout_ms)
{
	int64_t deadline = mono() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * MS;
	uint64_t target, ltarget;
	int rc = SONDE_OK;

	if (!G.running)
		return sonde__fail(SONDE_ESTATE, "sonde_otlp_flush: the exporter is not running");
	pthread_mutex_lock(&G.mu);
	target = sonde__load_acquire(&G.tail) & ~CLOSED;
	if (target > G.flush_target)
		G.flush_target = target;
	ltarget = sonde__load_acquire(&G.lsubmitted);
	if (ltarget > G.lflush_target)
		G.lflush_target = ltarget;
	pthread_cond_signal(&G.wake[SP]);
	pthread_cond_signal(&G.wake[LG]);
	/* each signal's wait ends with its thread (not running, or gone) */
	while ((G.consumed_upto < target && G.thread_alive[SP] && !G.thread_exited[SP]) ||
	       (G.ldone < ltarget && G.thread_alive[LG] && !G.thread_exited[LG])) {
		int64_t now = mono(), wall;
		struct timespec ts;
		if (now >= deadline) {
			rc = sonde__fail(SONDE_ETIMEDOUT, "sonde_otlp_flush: %d ms passed",
			                 timeout_ms > 0 ? timeout_ms : 0);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		wall = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (deadline - now);
		ts.tv_sec = (time_t)(wall / 1000000000);
		ts.tv_nsec = (long)(wall % 1000000000);
		pthread_cond_timedwait(&G.done, &G.mu, &ts);
	}
	pthread_mutex_unlock(&G.mu);
	return rc;
}

int sonde_otlp_shutdown(int timeout_ms)
{
	sonde__span_data *d;
	uint64_t left = 0, lleft, end, h;
	ring *r;

	if (!G.running)
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_otlp_shutdown: the exporter is not running");
	/* no new span: the processor goes, then the producers in flight */
	sonde__trace_set_processor(NULL);
	end = sonde__fetch_or_seq_cst(&G.tail, CLOSED) & ~CLOSED;
	sonde__store_seq_cst(&G.laccepting, 0);
	/* every position claimed before the close published: a claimed cell
	 * holds its position until then (after, the record's, or a grant
	 * past it once the thread took it) */
	r = sonde__load_relaxed(&G.ring);
	for (h = sonde__load_acquire(&G.head); r && h < end; h++)
		while (sonde__load_acquire(&r->cells[h & r->mask].seq) == h)
			sched_yield();
	while (sonde__load_seq_cst(&G.lactive) != 0)
		sched_yield();
	pthread_mutex_lock(&G.mu);
	G.stop = true;
	G.stop_deadline = mono() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * MS;
	pthread_cond_broadcast(&G.wake[SP]);
	pthread_cond_broadcast(&G.wake[LG]);
	pthread_mutex_unlock(&G.mu);
	join_threads();
	sonde__store_relaxed(&G.restart, 0);
	while ((d = queue_pop()) != NULL) {
		sonde__span_data_free(d);
		left++;
	}
	sonde__fetch_add_relaxed(&G.shutdown_dropped, left);
	lleft = logs_drain(true);
	sonde__http_client_free(G.client);
	sonde__http_client_free(G.lclient);
	G.client = G.lclient = NULL;
	config_free(&G.cfg);
	G.running = false;
	if (left || lleft)
		return sonde__fail(SONDE_ETIMEDOUT,
		                   "sonde_otlp_shutdown: %" PRIu64 " spans and %" PRIu64
		                   " log records still queued at the deadline",
		                   left, lleft);
	return SONDE_OK;
}

void sonde_otlp_get_stats(sonde_otlp_stats *out)
{
	sonde_otlp_stats s;

	if (!out || out->size < SONDE__V1_SIZE(sonde_otlp_stats, export_thread_cpu_ns))
		return;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.dropped_queue_full = sonde__load_relaxed(&G.dropped_full);
	s.spans_exported = sonde__load_relaxed(&G.exported);
	s.dropped_rejected = sonde__load_relaxed(&G.rejected);
	s.dropped_failed = sonde__load_relaxed(&G.failed);
	s.dropped_shutdown = sonde__load_relaxed(&G.shutdown_dropped);
	s.dropped_oom = sonde__load_relaxed(&G.oom);
	s.dropped_partial = sonde__load_relaxed(&G.partial);
	s.logs_export_requests = sonde__load_relaxed(&G.requests[LG]);
	s.logs_export_failures = sonde__load_relaxed(&G.failures[LG]);
	s.logs_export_duration_ns = sonde__load_relaxed(&G.duration_ns[LG]);
	s.export_requests = sonde__load_relaxed(&G.requests[SP]) + s.logs_export_requests;
	s.export_failures = sonde__load_relaxed(&G.failures[SP]) + s.logs_export_failures;
	s.export_duration_ns = sonde__load_relaxed(&G.duration_ns[SP]) + s.logs_export_duration_ns;
	s.export_thread_cpu_ns =
	        sonde__load_relaxed(&G.cpu_ns[SP]) + sonde__load_relaxed(&G.cpu_ns[LG]);
	s.queue_length = sonde__load_relaxed(&G.ring) ? queue_len() : 0;
	s.spans_ended = (sonde__load_relaxed(&G.tail) & ~CLOSED) - sonde__load_relaxed(&G.base) +
	                s.dropped_queue_full;
	s.logs_handed = sonde__load_relaxed(&G.l_handed);
	s.logs_exported = sonde__load_relaxed(&G.l_exported);
	s.logs_dropped_queue_full = sonde__load_relaxed(&G.l_full);
	s.logs_dropped_rejected = sonde__load_relaxed(&G.l_rejected);
	s.logs_dropped_failed = sonde__load_relaxed(&G.l_failed);
	s.logs_dropped_shutdown = sonde__load_relaxed(&G.l_shutdown);
	s.logs_dropped_oom = sonde__load_relaxed(&G.l_oom);
	s.logs_dropped_partial = sonde__load_relaxed(&G.l_partial);
	s.logs_queue_length = sonde__load_relaxed(&G.lqueued);
	memcpy(out, &s, out->size < sizeof(s) ? out->size : sizeof(s));
	out->size = s.size < out->size ? s.size : out->size;
}
