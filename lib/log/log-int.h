/*
 * lib/log/log-int.h - the logger's internal types and the cross-file calls
 * of lib/log/: records, sinks, loggers, the process-wide state, and one
 * block of declarations per file. The ring (layout, synchronization table,
 * its operations) has its own header, log_ring.h.
 *
 * The files of lib/log/, lowest first; a file calls only files above it in
 * this list (and core, metrics):
 *   log_state.c          the process-wide state and the per-thread words
 *   log_scope.c          scoped context fields: the thread's scope stack
 *   log_tree.c           sonde_log_tree: nested field values, built by callers
 *   log_level.c          level names, parsing, logger levels
 *   log_clock.c          record timestamps: ticks, and ticks to time
 *   log_config.c         sonde_log_configure()
 *   log_ring.c (+ .h)    the per-thread SPSC ring
 *   log_flight.c         the flight recorder's per-thread stores
 *   log_stats.c          statistics and self-metrics
 *   log_format.c         records to JSON lines and logfmt
 *   log_record.c         records read for the layers above (log_record.h)
 *   log_sink_write.c     the backend's side of a sink: buffers, writes,
 *                        rotation, failed writes
 *   log_sink.c           sink objects: creation, references, closing
 *   log_logger_build.c   building and destroying a logger object
 *   log_backend.c        the backend thread; the end of a shutdown
 *   log_crash.c          the crash flush: signal handlers that write what
 *                        the rings hold, then chain; alternate stacks
 *   log_lifecycle.c      set-up, backend start, flush, shutdown, fork
 *   log_thread.c         the calling thread's ring: attach, thread exit
 *   log_emit.c           the log call (producer side)
 *   log_logger.c         sonde_logger_new/child/free: the live loggers
 *   log_write.c          sonde_log_write(), the run-time log call
 *
 * Locks (never taken by a log call that finds room):
 *   intern_mu sonde_log_write()'s interned call sites (log_write.c), taken
 *             on a miss of the thread's cache; a leaf: nothing else is
 *             taken under it (only the allocator).
 *   cycle_mu  held by the backend for a whole batch (drain + sink writes);
 *             fork's prepare handler takes it so the child never inherits
 *             a half-written sink buffer or a half-done rotation.
 *   log_mu    ring list, logger list, retire list, flush counters, state.
 *   wait_mu   blocked producers (block policy) and their condition.
 *   Order: intern_mu -> cycle_mu -> log_mu -> wait_mu.
 *
 * Fork (log_lifecycle.c): the prepare handler takes intern_mu, then parks
 * the backend: under log_mu it sets fork_pending and waits on park_cv
 * until the backend, at the top of its loop (holding log_mu, outside every
 * allocation: its thread start-up, metric exports and frees are done),
 * sets backend_parked and waits for fork_pending to clear, or until no
 * backend exists (joined). It then drops log_mu and takes cycle_mu,
 * log_mu, wait_mu in order (cycle_mu is free: only the backend takes it).
 * So at the fork no logger thread is inside the allocator, and a
 * host allocator with its own lock (sonde_set_allocator), or ASan's, is
 * never inherited locked by the logger (issue 13.23). The parent handler
 * clears fork_pending and releases them; the child handler resets the
 * child's state (rings, backend, condition variables re-initialized) and
 * releases them.
 * The backend's metric exports may take the metrics' cells_mu before it
 * parks, so the cells' fork handler must run after ours: set-up makes
 * this thread write a self-metric (registering the cells' handler) before
 * it registers the logger's (prepare handlers run in reverse order of
 * registration).
 * The pthread_once controls (set-up, the ring key, the self-metrics) need
 * no handler: glibc's pthread_once restarts, in a child, a once that was
 * in progress in the parent at the fork.
 */
#ifndef SONDE_LOG_INT_H
#define SONDE_LOG_INT_H

#include <pthread.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "core/atomic.h"
#include "core/sonde-int.h"
#include "sonde/log.h"

#define SONDE__LOG_MAX_FIELDS 16
#define SONDE__LOG_MAX_SINKS 16
#define SONDE__LOG_MAX_REDACT 64
#define SONDE__LOG_MAX_BOUND 32
#define SONDE__LOG_RING_DEFAULT (128u * 1024u)
/* a ring's room for its consumer's copy of a scoped block (a quarter of
 * the ring when smaller): a larger block travels whole in every record */
#define SONDE__LOG_SCOPE_SAVE 2048u
#define SONDE__LOG_RING_MIN 1024u
#define SONDE__LOG_RING_MAX (64u * 1024u * 1024u)
#define SONDE__LOG_SINK_PATH_MAX 4096 /* a file sink's path, with its NUL */
/* the flight recorder (log_flight.c): per thread, SLOTS records of at most
 * SLOT_BYTES - 8 bytes each (64 KiB); at most STORES threads (16 MiB) */
#define SONDE__FLIGHT_SLOTS 128u
#define SONDE__FLIGHT_SLOT_BYTES 512u
#define SONDE__FLIGHT_STORES 256u

/* ---- records ---------------------------------------------------------------- */
enum { REC_PAD = 0, REC_LOG = 1 };
/* REC_F_NOTICE: the logger's own "log records dropped" notice, which is
 * no caller's record: neither written[] nor a discard counts it (the drops
 * it reports were counted when they happened). */
/* REC_F_REPLAY: a flight-recorder record replayed before its trigger. */
/* REC_F_SCOPE: the record carries the thread's scoped fields (below).
 * REC_F_SCOPE_SAME: it has the scoped fields of the last REC_F_SCOPE
 * record of its ring (below). */
enum {
	REC_F_CTX = 1,
	REC_F_TRUNC = 2,
	REC_F_NOTICE = 4,
	REC_F_REPLAY = 8,
	REC_F_SCOPE = 16,
	REC_F_SCOPE_SAME = 32
};

/* The scoped block (REC_F_SCOPE), after the call's value slots: one slot
 * with the scope generation (below), one with the count n, then per
 * scoped field, innermost scope first and a scope's fields last to first,
 * a meta slot (type | key length << 8) and a value slot (as a call
 * field's). Their strings follow the call's in the string area, in the
 * same order: key bytes and a NUL, then the value's bytes. The formatter
 * walks the block backwards: outermost first, each scope's fields in
 * their order.
 *
 * Scopes change far less often than records are made, so a thread's ring
 * carries the block once per change: the first record after a push or a
 * pop carries it whole (REC_F_SCOPE), the next ones carry only the
 * generation (one slot after the call's value slots: REC_F_SCOPE_SAME).
 * The generation is the thread's count of pushes and pops
 * (sonde__log_tls_scope_gen). The consumer keeps a copy of the last whole
 * block its ring gave it (sonde__log_ring.scope_save, room allocated with
 * the ring: a block larger than SONDE__LOG_SCOPE_SAVE is always sent
 * whole; records replayed by the flight recorder are not its ring's and
 * never replace it), and a REC_F_SCOPE_SAME record takes the copy's
 * fields when the generations match. When they do not (the whole block
 * was skipped unread by a discard or a crash flush while the record was
 * on its way), the record is written without them and marked truncated:
 * never with another scope's fields. The producer sends the whole block
 * again after any such skip (sonde__log_ring.scope_resync). */
#define REC_SCOPE_META(type, klen) ((uint64_t)(type) | ((uint64_t)(klen) << 8))
#define REC_SCOPE_TYPE(meta) ((int)((meta)&0xff))
#define REC_SCOPE_KLEN(meta) ((size_t)(((meta) >> 8) & 0xffff))

/* Field types whose value is bytes in the record's string area (a string,
 * or a sonde_log_tree's encoding; log_tree.c). */
#define SONDE__LOG_T_BYTES(t) ((t) == SONDE_LOG_T_STR || (t) == SONDE_LOG_T_TREE)

/* sonde_log_site_state.flags (private to sonde; 0 in a new site): what
 * sonde works out once per call site and keeps there. Bits 0..15: which
 * fields are bytes (bit i: field i is a string or a tree), valid once
 * SITE_ST_MASK is set (the first log call through the site sets both);
 * SITE_ST_KEYS_DONE << k and SITE_ST_KEYS_YES << k: the backend's key
 * check for reserved set k (log_format.c). Set with relaxed fetch_or:
 * each is a pure function of the site, so racing writers agree. */
#define SITE_ST_BYTES 0xffffu
#define SITE_ST_MASK 0x10000u
#define SITE_ST_KEYS_DONE 0x100000u
#define SITE_ST_KEYS_YES 0x1000000u

/* sonde_log_tree's encoding (log_tree.c) */
enum {
	TREE_OBJ = '{',
	TREE_END_OBJ = '}',
	TREE_ARR = '[',
	TREE_END_ARR = ']',
	TREE_KEY = 'k',
	TREE_STR = 's',
	TREE_I64 = 'i',
	TREE_U64 = 'u',
	TREE_F64 = 'd',
	TREE_TRUE = 't',
	TREE_FALSE = 'f',
	TREE_NULL = 'n',
	TREE_ERR = 'X'
};

/* String value slots: length in the low 32 bits, flags above. */
#define REC_STR_NULL (1ull << 63)
#define REC_STR_TRUNC (1ull << 62)

typedef struct rec_hdr {
	uint32_t size; /* bytes including this header, multiple of 8 */
	uint8_t kind;  /* REC_* */
	uint8_t level;
	uint8_t nfields;
	uint8_t flags; /* REC_F_* */
	uint64_t ts;   /* ticks (TSC) or ns (CLOCK_REALTIME), see sonde__log_now_ticks */
	const sonde_log_site *site;
	sonde_logger *logger;
} rec_hdr;

/* Present when REC_F_CTX: the thread's trace context at the call. */
typedef struct rec_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t trace_flags;
	uint8_t corr_len; /* correlation id bytes, first in the string area */
	uint8_t pad[6];
} rec_ctx;

SONDE_STATIC_ASSERT(sizeof(rec_hdr) == 32, "record header is 32 bytes");
SONDE_STATIC_ASSERT(sizeof(rec_ctx) == 32, "record context is 32 bytes");

/* A record as the backend sees it. */
typedef struct sonde__log_rec {
	const rec_hdr *h;
	const rec_ctx *ctx;     /* NULL when absent */
	const uint64_t *vals;   /* h->nfields slots */
	const char *strs;       /* string area: correlation id, then strings */
	const uint64_t *scope;  /* the scoped block's count slot, or NULL */
	const char *scope_strs; /* its strings */
	uint64_t scope_gen;     /* REC_F_SCOPE, REC_F_SCOPE_SAME: the generation */
	bool scope_lost;        /* REC_F_SCOPE_SAME without a matching copy */
	int64_t ns;             /* Unix time */
	long tid;               /* the emitting thread's id; 0 = unknown */
} sonde__log_rec;

/* The view of the record at h (its time left to the caller, who converts
 * the ticks its own way): the backend and the crash flush. */
static inline void sonde__log_rec_view(sonde__log_rec *rec, const rec_hdr *h)
{
	const uint8_t *p = (const uint8_t *)(h + 1);

	rec->h = h;
	rec->ctx = NULL;
	rec->tid = 0;
	if (h->flags & REC_F_CTX) {
		rec->ctx = (const rec_ctx *)(const void *)p;
		p += sizeof(rec_ctx);
	}
	rec->vals = (const uint64_t *)(const void *)p;
	rec->scope = NULL;
	rec->scope_strs = NULL;
	rec->scope_gen = 0;
	rec->scope_lost = false;
	if (h->flags & REC_F_SCOPE_SAME) {
		/* the consumer points scope at its copy (or marks it lost) */
		rec->scope_gen = rec->vals[h->nfields];
		rec->strs = (const char *)(rec->vals + h->nfields + 1);
		return;
	}
	if (h->flags & REC_F_SCOPE) {
		const char *s;
		unsigned i;

		rec->scope_gen = rec->vals[h->nfields];
		rec->scope = rec->vals + h->nfields + 1;
		rec->strs = (const char *)(rec->scope + 1 + 2 * rec->scope[0]);
		s = rec->strs + (rec->ctx ? rec->ctx->corr_len : 0);
		for (i = 0; i < h->nfields; i++)
			if (SONDE__LOG_T_BYTES(h->site->types[i]) && !(rec->vals[i] & REC_STR_NULL))
				s += (uint32_t)rec->vals[i];
		rec->scope_strs = s;
		return;
	}
	rec->strs = (const char *)(rec->vals + h->nfields);
}

/* A caller's record (not the logger's own drop notice), counted in
 * written[] by its level when written: each submitted record is written
 * or dropped, exactly once. */
static inline bool sonde__log_rec_counted(const rec_hdr *h)
{
	return h->level < 6 && !(h->flags & REC_F_NOTICE);
}

/* The ring (log_ring.h); only files that read or write ring fields include
 * log_ring.h, the others know it by name. */
typedef struct sonde__log_ring sonde__log_ring;

/* ---- sinks -------------------------------------------------------------------- */
/* SINK_RECORD: a record sink (log_record.h): no line, its callbacks see
 * each record (fd -1: the crash flush skips it). */
enum { SINK_FD = 1, SINK_FILE = 2, SINK_CALLBACK = 3, SINK_RECORD = 4 };

struct sonde__log_record_ops;

#define SONDE__LOG_KEY_MAX 64 /* a json profile key name, bytes */

struct sonde_log_sink {
	int kind;
	int format; /* SONDE_LOG_FORMAT_* */
	/* the json profile's time, level and message keys ("" = default),
	 * the level in upper case, console colours */
	char keys[3][SONDE__LOG_KEY_MAX + 1];
	bool upper;
	bool color;
	signed char color_opt; /* sonde_log_sink_opts.color: -1, 0, 1 */
	_Atomic int level;
	_Atomic int refs;
	_Atomic int reopen;      /* set by sonde_log_sink_reopen, taken by the backend */
	_Atomic uint64_t errors; /* write errors so far */
	char *name;
	size_t name_len;
	/* fd and file */
	int fd;
	char *path;
	size_t path_len;
	uint64_t max_bytes;
	unsigned max_files;
	uint64_t file_size; /* bytes in the current file (ours + what was there) */
	/* callback */
	sonde_log_line_fn fn;
	void *ctx;
	/* record */
	const struct sonde__log_record_ops *rops;
	void *rctx;
	/* backend only */
	sonde_buf out; /* lines waiting for write() */
	uint64_t out_lines;
	uint64_t errs_unreported, lines_lost;
	bool dirty;
	struct sonde_log_sink *dirty_next;
	sonde_counter *err_metric; /* sonde_log_sink_errors_total{sink=name}; may be NULL */
	uint64_t err_exported;
};

/* ---- loggers ------------------------------------------------------------------- */
typedef struct bound_field {
	char *key;
	int type;
	sonde_log_value v; /* strings: v.v.s owned (len bytes + NUL), or NULL */
} bound_field;

struct sonde_logger {
	int level; /* first: sonde__log_on() reads it (relaxed) */
	int overflow;
	/* sampling (sonde_log_opts.sample_*); sample_first 0: off */
	unsigned sample_first, sample_thereafter, sample_interval_ms;
	int sample_errors;
	char *service;
	size_t service_len;
	bound_field *bound;
	size_t nbound, bound_cap;
	bool keys_plain;  /* bound keys plain ASCII, none reserved, none twice:
	                     lines may use the pre-rendered fields below */
	char *json_bound; /* `,"service":"x","k":v...`, redaction applied */
	size_t json_bound_len;
	char *logfmt_bound; /* ` service=x k=v...` */
	size_t logfmt_bound_len;
	char **redact;
	size_t nredact;
	sonde_log_sink **sinks;
	size_t nsinks;
	struct sonde_logger *next, *prev; /* live list, log_mu */
	struct sonde_logger *retire_next;
	bool root; /* made by sonde_logger_new(), not a child */
	/* the flight recorder: with it on, level (the gate) is the lower of
	 * out_level and flight_level, and emit keeps what is below out_level */
	int out_level; /* records at or above are written (relaxed) */
	bool flight;
	int flight_level, flight_trigger, flight_scope;
	_Atomic int flight_used; /* a record of it was kept: its destruction
	                            waits until no store names it */
};

/* ---- process-wide state (log_state.c) -------------------------------------------- */
enum { ST_INIT = 0, ST_RUNNING = 1, ST_STOPPING = 2, ST_STOPPED = 3, ST_NEED_START = 4 };

typedef struct sonde__log_global {
	pthread_mutex_t cycle_mu, log_mu, wait_mu;
	pthread_cond_t backend_cv, flush_cv, wait_cv;
	_Atomic int state;
	int stopping;             /* log_mu */
	int backend_exited;       /* log_mu: the backend left its loop */
	int abandoned;            /* log_mu: shutdown gave up waiting for a
	                             backend stuck in a sink; the backend
	                             finishes the shutdown itself on exit */
	int64_t stop_deadline_ns; /* log_mu, CLOCK_MONOTONIC */
	pthread_t thread;
	sonde__log_ring *rings; /* log_mu */
	sonde_logger *loggers;  /* log_mu */
	sonde_logger *retired;  /* log_mu */
	/* the oldest live root logger: log_mu to write, read by
	 * sonde_log_default_logger() without it (acquire) */
	_Atomic(sonde_logger *) root_default;
	uint64_t flush_req, flush_done; /* log_mu */
	_Atomic int tsc;                /* 1: timestamps are TSC ticks */
	bool in_child;                  /* set in a forked child: rotation off */
	/* configuration (log_mu to write; read when creating rings) */
	_Atomic uint64_t ring_bytes;
	unsigned shutdown_timeout_ms;
	unsigned idle_sleep_max_us;
	/* statistics */
	_Atomic uint64_t written[6];
	_Atomic uint64_t dropped;
	_Atomic uint64_t truncated;
	_Atomic uint64_t sink_errors;
	_Atomic uint64_t nrings;
	_Atomic uint64_t sampled[6]; /* records sampled out, by level */
	/* self-metrics (default registry); any may be NULL */
	sonde_counter *m_records[6];
	/* sonde_log_config.records_metric's counters, one per level, published
	 * once (release; the backend reads them with acquire) */
	_Atomic(sonde_counter **) m_user;
	sonde_counter *m_dropped;
	sonde_counter *m_sampled[6]; /* sonde_log_sampled_total{level} */
	sonde_family *m_sink_errors;
	/* fork (cold; last, so the fields the log call reads keep their
	 * cache lines) */
	pthread_mutex_t intern_mu; /* see "Locks" above */
	pthread_cond_t park_cv;    /* the backend parked for a fork */
	int backend_alive;         /* log_mu: a backend thread exists, from
	                              pthread_create until it is joined */
	int backend_parked;        /* log_mu: it waits at the top of its loop,
	                              outside every allocation, for the fork */
	int fork_pending;          /* log_mu: a fork's prepare handler runs */
	/* crash flush (log_crash.c): a Dekker pair with the backend, seq_cst
	 * on both sides, so either the backend sees crashing before a batch
	 * or the crash handler sees in_batch and waits for it to end */
	_Atomic int crashing;     /* a crash handler is the rings' consumer */
	_Atomic int in_batch;     /* the backend drains or writes */
	_Atomic int crash_on;     /* the handlers are installed: new threads get
	                             an alternate signal stack */
	_Atomic long backend_tid; /* the backend thread's id (gettid) */
} sonde__log_global;

extern sonde__log_global sonde__log_g;
/* 1 on the backend thread (a log call there must never wait for it). */
extern SONDE_TLS_DYNAMIC int sonde__log_is_backend;
/* The calling thread's ring, NULL before its first log call: one
 * initial-exec word, read by every log call (log_emit.c), set by
 * log_thread.c. */
extern SONDE_TLS sonde__log_ring *sonde__log_tls_ring;
/* The calling thread's innermost scope (sonde_log_scope_push), NULL when
 * none: written by log_scope.c, read by every log call (log_emit.c). */
extern SONDE_TLS sonde_log_scope *sonde__log_tls_scope;
/* The calling thread's pushes and pops so far (log_scope.c): the scope
 * generation of the records it makes. */
extern SONDE_TLS uint64_t sonde__log_tls_scope_gen;

/* ---- log_level.c --------------------------------------------------------------- */
/* A level out of range becomes OFF. */
int sonde__log_clamp_level(int level);
/* Sets the logger's level: out_level, and the gate (level) below it when
 * the flight recorder keeps lower records. */
void sonde__logger_levels(sonde_logger *l, int level);

/* ---- log_clock.c --------------------------------------------------------------- */
/* Detects an invariant TSC and sets sonde__log_g.tsc (once, at set-up). */
void sonde__log_clock_init(void);
/* The record timestamp, on the caller's thread: TSC ticks when the TSC is
 * invariant, else CLOCK_REALTIME ns. Inline: it is most of a log call. */
static inline uint64_t sonde__log_now_ticks(void)
{
#if defined(__x86_64__)
	if (SONDE_LIKELY(sonde__load_relaxed(&sonde__log_g.tsc)))
		return __rdtsc();
#endif
	return (uint64_t)sonde_now_unix_ns();
}
/* Backend only: pairs ticks with the wall clock at start, refreshes the
 * pairing every 500 ms, converts a record's ticks to Unix ns. */
void sonde__log_clock_start(void);
void sonde__log_clock_refresh(void);
int64_t sonde__log_ticks_to_ns(uint64_t ticks);
/* The crash flush (async-signal-safe): pairs ticks with time itself when
 * the backend has not yet, then converts as the backend would. */
void sonde__log_clock_crash_prepare(void);
int64_t sonde__log_ticks_to_ns_crash(uint64_t ticks);

/* ---- log_flight.c -------------------------------------------------------------- */
typedef struct sonde__flight sonde__flight;
/* Producer: keeps one record image (size bytes, a multiple of 8, at most
 * SONDE__FLIGHT_SLOT_BYTES - 8) in the thread's store. */
void sonde__log_flight_keep(const uint64_t *img, uint32_t size);
/* Producer, with the ring's in_push set: writes the kept records (scope
 * SONDE_LOG_FLIGHT_*: this thread's, or also the other threads' of trace
 * tid, or all) at *pos as replayed records; returns how many found no
 * room. Always followed, after the ring's commit, by _replay_done(). */
uint64_t sonde__log_flight_replay(sonde__log_ring *r, uint64_t *pos, int scope,
                                  const uint64_t tid[2]);
void sonde__log_flight_replay_done(void);
/* True while a live kept record names l (or a replay runs). */
bool sonde__log_flight_names(const sonde_logger *l);
/* Calls fn on a copy of each live kept record (the crash flush); their
 * number. */
size_t sonde__log_flight_each(void (*fn)(rec_hdr *h, void *arg), void *arg);
/* The thread's store goes back to the pool, its records forgotten. */
void sonde__log_flight_thread_exit(void);
/* Forked child: the other threads' stores are free. */
void sonde__log_flight_fork_child(void);
/* Every store forgets its records (the logger stopped). */
void sonde__log_flight_clear_all(void);

/* ---- log_stats.c --------------------------------------------------------------- */
/* Registers the self-metrics on the default registry (once). */
void sonde__log_stats_init(void);
/* Backend only: adds what was written since the last call (written[] are
 * the backend's running totals by level) to the statistics and the
 * self-metrics, and exports the drops counted since. */
void sonde__log_stats_publish(const uint64_t written[6]);

/* ---- log_format.c -------------------------------------------------------------- */
/* Appends one line (with its '\n') for rec in the profile of sink s (its
 * format and options). Off the backend thread (the crash flush) use
 * _crash: the backend's timestamp cache is left alone, and nothing is
 * allocated (a line that would need memory sets b->oom). */
void sonde__log_format(sonde_buf *b, const sonde_log_sink *s, const sonde__log_rec *rec);
void sonde__log_format_crash(sonde_buf *b, const sonde_log_sink *s, const sonde__log_rec *rec);
/* True when sinks a and b write the same line for every record. */
bool sonde__log_same_profile(const sonde_log_sink *a, const sonde_log_sink *b);
/* Renders bound fields for a logger (redaction applied). */
int sonde__log_render_bound(sonde_logger *l);
bool sonde__log_redacted(const sonde_logger *l, const char *key);

/* ---- log_sink_write.c ---------------------------------------------------------- */
/* write(2) until done; 0 or the errno (errno itself is kept).
 * Async-signal-safe. */
int sonde__log_write_all(int fd, const char *p, size_t n);
/* Backend: hand one formatted line (with '\n') to the sink. */
void sonde__log_sink_put(sonde_log_sink *s, int level, const char *line, size_t len,
                         const sonde__log_rec *rec, sonde_log_sink **dirty);
/* Backend: the record's line could not be formatted (out of memory): one
 * line lost, counted as the sink's error and reported like a failed
 * write. */
void sonde__log_sink_lost(sonde_log_sink *s, sonde_log_sink **dirty);
/* Backend: write what the sink buffered; report recovered errors. */
void sonde__log_sink_flush(sonde_log_sink *s);
/* Backend, outside cycle_mu: adds the sink's new errors to its metric. */
void sonde__log_sink_export(sonde_log_sink *s);
/* Opens s->path for appending (fd, file_size); 0, or the errno with fd -1. */
int sonde__log_sink_file_open(sonde_log_sink *s);
/* The last reference went: writes what is buffered, closes a file sink's
 * descriptor, frees the buffer. */
void sonde__log_sink_io_close(sonde_log_sink *s);

/* ---- log_sink.c ---------------------------------------------------------------- */
void sonde__log_sink_ref(sonde_log_sink *s);
void sonde__log_sink_unref(sonde_log_sink *s);

/* ---- log_logger_build.c -------------------------------------------------------- */
/* A new root logger from opts (validated, everything copied), not yet
 * linked anywhere; NULL with the last error set. */
sonde_logger *sonde__logger_build(const sonde_log_opts *opts);
/* A child of parent plus n bound fields, not yet linked; NULL with the
 * last error set. */
sonde_logger *sonde__logger_build_child(const sonde_logger *parent, const sonde_log_field *fields,
                                        size_t n);
/* Frees a logger that no list holds and no ring names any more. */
void sonde__logger_destroy(sonde_logger *l);

/* ---- log_backend.c ------------------------------------------------------------- */
/* The backend thread's body (started by log_lifecycle.c). */
void *sonde__log_backend_main(void *arg);
/* The part of a shutdown after the backend stopped: discards what is
 * left, frees orphaned rings and retired loggers, answers flushes, wakes
 * blocked producers. Returns the number of records discarded. Called
 * without log_mu, by sonde_log_shutdown() or by an abandoned backend. */
uint64_t sonde__log_finish_shutdown(void);

/* ---- log_crash.c --------------------------------------------------------------- */
/* The calling thread's alternate signal stack, when the crash handlers are
 * installed and the thread has none (log_thread.c, at its first log call);
 * released at thread exit. */
void sonde__log_crash_thread_attach(void);
void sonde__log_crash_thread_detach(void);

/* ---- log_lifecycle.c ----------------------------------------------------------- */
/* Process-wide set-up (TSC, fork handlers, self-metrics), once. */
void sonde__log_init_once(void);
/* Starts the backend thread unless it runs. log_mu held. */
int sonde__log_start_locked(void);

/* ---- log_thread.c -------------------------------------------------------------- */
/* The calling thread's first log call (or its first after its ring was
 * orphaned at exit): a new ring, linked and installed as the thread's. */
sonde__log_ring *sonde__log_thread_ring_attach(void);

#endif
