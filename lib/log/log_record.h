/*
 * lib/log/log_record.h - the logger's records for layers above it
 * (internal): a "record sink" whose callbacks see each record on the
 * backend thread, a view of one record (level, time, message, trace
 * context, and its fields with their types, in the json formatter's key
 * precedence), and a reader of nested values (sonde_log_tree encodings).
 * The export layer's OTLP log sink is built on these; lib/log/ never calls
 * up.
 *
 * Threads: the callbacks of a record sink run on the logger's backend
 * thread, one at a time, inside its batch (cycle_mu held): they must not
 * log or block (a fork's prepare handler waits for the batch to end), nor
 * take a lock a forking thread may hold; they may allocate and use
 * atomics. release runs once, on the
 * thread that drops the sink's last reference, when no callback runs.
 * The crash flush (signal handlers) never reaches a record sink.
 */
#ifndef SONDE_LOG_RECORD_H
#define SONDE_LOG_RECORD_H

#include "core/sonde-int.h"
#include "sonde/log.h"

typedef struct sonde__log_rec sonde__log_rec; /* log-int.h */

typedef struct sonde__log_record_ops {
	/* one record at or above the sink's level */
	void (*record)(void *ctx, const sonde__log_rec *rec);
	/* the end of a backend batch that gave this sink records */
	void (*batch_end)(void *ctx);
	/* the sink's last reference went (may be NULL) */
	void (*release)(void *ctx);
} sonde__log_record_ops;

/* A sink of kind "record" (name and level from o, the rest ignored; o
 * NULL: defaults). ops is kept by pointer (a static table); ctx is the
 * callbacks'. NULL with the last error (ENOMEM, EINVAL for a bad o or a
 * NULL ops). */
sonde_log_sink *sonde__log_sink_record(const sonde_log_sink_opts *o,
                                       const sonde__log_record_ops *ops, void *ctx);

/* ---- one record, read ------------------------------------------------------------ */

/* Attributes kept per record; the rest are counted in attrs_dropped. */
#define SONDE__LOG_ATTRS_MAX 128

typedef struct sonde__log_attr {
	const char *key; /* NUL-terminated */
	int type;        /* SONDE_LOG_T_*; SONDE_LOG_T_STR for a redacted value */
	uint64_t u;      /* I64, U64, F64 (bits), BOOL */
	const char *s;   /* STR, TREE: the bytes (a tree's encoding) */
	uint32_t n;      /* their length */
	bool null;       /* a NULL string or tree */
	bool redacted;   /* the logger redacts this key: s is "[REDACTED]" */
} sonde__log_attr;

typedef struct sonde__log_view {
	int level;       /* SONDE_LOG_LEVEL_* (TRACE..FATAL) */
	int64_t time_ns; /* Unix time of the log call */
	const char *msg; /* the message (may hold invalid UTF-8) */
	size_t msg_len;
	const uint8_t *trace_id; /* 16 bytes, NULL: no trace context */
	const uint8_t *span_id;  /* 8 bytes, NULL: none (or all zero) */
	uint8_t trace_flags;
	const char *corr; /* correlation id, corr_len 0: none */
	size_t corr_len;
	const char *logger; /* the logger's service name */
	size_t logger_len;
	long tid;       /* the emitting thread, 0: unknown */
	bool truncated; /* a string or a nested value was cut */
	bool replayed;  /* a flight-recorder record written before its trigger */
	/* the logger's bound fields, the scoped fields (outermost first), the
	 * call's fields: of a key given more than once the last is kept, at
	 * its own place (the json line's rule 1) */
	size_t nattrs;
	uint32_t attrs_dropped;
	sonde__log_attr attrs[SONDE__LOG_ATTRS_MAX];
} sonde__log_view;

/* Fills v from rec (no allocation, nothing copied: v points into the
 * record, valid during the callback). */
void sonde__log_view_read(sonde__log_view *v, const sonde__log_rec *rec);

/* ---- nested values ----------------------------------------------------------------- */

enum {
	SONDE__LT_END = 0, /* the end of the bytes, or a malformed token */
	SONDE__LT_OBJ,
	SONDE__LT_OBJ_END,
	SONDE__LT_ARR,
	SONDE__LT_ARR_END,
	SONDE__LT_KEY, /* s, n: the key */
	SONDE__LT_STR, /* s, n */
	SONDE__LT_I64, /* u */
	SONDE__LT_U64, /* u */
	SONDE__LT_F64, /* u: the bits */
	SONDE__LT_TRUE,
	SONDE__LT_FALSE,
	SONDE__LT_NULL,
	SONDE__LT_ERR /* an error value: read it with sonde__log_tree_error */
};

typedef struct sonde__log_tree_cur {
	const unsigned char *p;
	size_t n, at;
} sonde__log_tree_cur;

/* The next token and its payload; SONDE__LT_END at the end or at bytes
 * that are not a token (cut or foreign: the caller closes what is open
 * and reports the value as truncated). Never reads past p + n. */
int sonde__log_tree_next(sonde__log_tree_cur *c, const char **s, size_t *n, uint64_t *u);

/* An error value (the whole field's bytes): type, message, stack; each
 * absent when p[i] is NULL. False when the bytes are malformed (what was
 * read is kept). */
bool sonde__log_tree_error(const char *v, size_t n, const char *p[3], size_t len[3]);

#endif
