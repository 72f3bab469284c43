/*
 * lib/log/log-int.h - the logger's internals: rings, records, loggers, sinks
 * and the process-wide state shared by log.c (producers, loggers, flush,
 * fork), log_backend.c (the consumer thread), log_format.c (JSON, logfmt)
 * and log_sink.c (writing).
 *
 * Ring: one single-producer single-consumer byte ring per thread.
 *
 *   positions are byte counts that only grow (uint64, never wrap in
 *   practice); offset = pos & mask. Records are 8-byte aligned, so the
 *   room left before the end of the buffer is always >= 8 bytes: a record
 *   that does not fit there is preceded by a PAD header covering the rest,
 *   and starts at offset 0 (NanoLog's skip marker; no mirror mapping).
 *
 * Synchronization table (ring)
 *   field            written by              read by                    how
 *   wpos             producer (release)      backend (acquire)          publishes the record
 *                                                                       bytes before it
 *   record bytes     producer, before wpos   backend, after acquiring   ordered by wpos
 *   rpos             backend (release)       producer (acquire, only    frees the bytes before
 *                                            when its cache says full)  it for reuse
 *   rpos_cache,      producer only           -                          plain
 *   pending_drops,
 *   in_push
 *   orphaned         thread-exit destructor  backend (acquire, before   after it, wpos is final
 *                    (release, after its     its wpos load)
 *                    last publish)
 *   waiting          blocked producer        backend after publishing   seq_cst pair (Dekker):
 *                    (seq_cst, then re-      rpos (seq_cst store, then  one side always sees
 *                    reads rpos)             seq_cst load of waiting)   the other
 *   next, prev       ring list: log_mu
 *   last_ns          backend only
 *
 * Locks (never taken by a log call that finds room):
 *   cycle_mu  held by the backend for a whole batch (drain + sink writes);
 *             fork's prepare handler takes it so the child never inherits
 *             a half-written sink buffer or a half-done rotation.
 *   log_mu    ring list, logger list, retire list, flush counters, state.
 *   wait_mu   blocked producers (block policy) and their condition.
 *   Order: cycle_mu -> log_mu -> wait_mu.
 */
#ifndef SONDE_LOG_INT_H
#define SONDE_LOG_INT_H

#include <pthread.h>

#include "core/atomic.h"
#include "core/sonde-int.h"
#include "sonde/log.h"

#define SONDE__LOG_MAX_FIELDS 16
#define SONDE__LOG_MAX_SINKS 16
#define SONDE__LOG_MAX_REDACT 64
#define SONDE__LOG_MAX_BOUND 32
#define SONDE__LOG_RING_DEFAULT (128u * 1024u)
#define SONDE__LOG_RING_MIN 1024u
#define SONDE__LOG_RING_MAX (64u * 1024u * 1024u)

/* ---- records ---------------------------------------------------------------- */
enum { REC_PAD = 0, REC_LOG = 1 };
enum { REC_F_CTX = 1, REC_F_TRUNC = 2 };

/* String value slots: length in the low 32 bits, flags above. */
#define REC_STR_NULL (1ull << 63)
#define REC_STR_TRUNC (1ull << 62)

typedef struct rec_hdr {
	uint32_t size; /* bytes including this header, multiple of 8 */
	uint8_t kind;  /* REC_* */
	uint8_t level;
	uint8_t nfields;
	uint8_t flags; /* REC_F_* */
	uint64_t ts;   /* ticks (TSC) or ns (CLOCK_REALTIME), see sonde__log_clock */
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
	const rec_ctx *ctx;   /* NULL when absent */
	const uint64_t *vals; /* h->nfields slots */
	const char *strs;     /* string area: correlation id, then strings */
	int64_t ns;           /* Unix time */
} sonde__log_rec;

/* ---- rings -------------------------------------------------------------------- */
typedef struct sonde__log_ring {
	/* producer's line */
	_Alignas(SONDE_CACHELINE) _Atomic uint64_t wpos;
	uint64_t rpos_cache;
	uint64_t pending_drops;
	volatile uint8_t in_push;
	/* backend's line */
	_Alignas(SONDE_CACHELINE) _Atomic uint64_t rpos;
	int64_t last_ns;
	/* rarely written */
	_Alignas(SONDE_CACHELINE) _Atomic int orphaned;
	_Atomic int waiting;
	uint64_t cap, mask;
	struct sonde__log_ring *next, *prev;
	void *alloc_base;
	size_t alloc_size;
	_Alignas(SONDE_CACHELINE) uint8_t data[];
} sonde__log_ring;

/* ---- sinks -------------------------------------------------------------------- */
enum { SINK_FD = 1, SINK_FILE = 2, SINK_CALLBACK = 3 };

struct sonde_log_sink {
	int kind;
	int format;
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
	char *service;
	size_t service_len;
	bound_field *bound;
	size_t nbound, bound_cap;
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
};

/* ---- process-wide state (log.c) --------------------------------------------------- */
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
	sonde__log_ring *rings;         /* log_mu */
	sonde_logger *loggers;          /* log_mu */
	sonde_logger *retired;          /* log_mu */
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
	/* self-metrics (default registry); any may be NULL */
	sonde_counter *m_records[6];
	sonde_counter *m_dropped;
	sonde_family *m_sink_errors;
} sonde__log_global;

extern sonde__log_global sonde__log_g;
extern __thread int sonde__log_is_backend;

/* log.c */
void sonde__log_ring_free(sonde__log_ring *r);
void sonde__logger_destroy(sonde_logger *l);
void sonde__log_init_once(void);

/* log_backend.c */
void *sonde__log_backend_main(void *arg);
uint64_t sonde__log_now_ticks(void);

/* log_format.c: append one line (with its '\n') for rec in format fmt. */
void sonde__log_format(sonde_buf *b, int fmt, const sonde__log_rec *rec);
/* Renders bound fields for a logger (redaction applied). */
int sonde__log_render_bound(sonde_logger *l);
bool sonde__log_redacted(const sonde_logger *l, const char *key);

/* log_sink.c */
void sonde__log_sink_ref(sonde_log_sink *s);
void sonde__log_sink_unref(sonde_log_sink *s);
/* Backend: hand one formatted line (with '\n') to the sink. */
void sonde__log_sink_put(sonde_log_sink *s, int level, const char *line, size_t len,
                         const sonde__log_rec *rec, sonde_log_sink **dirty);
/* Backend: write what the sink buffered; report recovered errors. */
void sonde__log_sink_flush(sonde_log_sink *s);
void sonde__log_sink_export(sonde_log_sink *s);

/* The part of sonde_log_shutdown() after the backend stopped: discard
 * what is left, free orphaned rings and retired loggers, wake producers.
 * Returns the number of records discarded. Called without log_mu. */
uint64_t sonde__log_finish_shutdown(void);
/* Takes r off the ring list (and the ring count). log_mu held. */
void sonde__log_ring_unlink_locked(sonde__log_ring *r);

#endif
