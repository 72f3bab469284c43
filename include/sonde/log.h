/*
 * sonde/log.h - the structured logger: typed fields, per-thread lock-free
 * rings, formatting and writing on a background thread.
 *
 *   sonde_log_opts o;
 *   sonde_log_opts_init(&o, "checkout");
 *   sonde_logger *log = sonde_logger_new(&o);         // stdout, JSON lines
 *   LOG_INFO(log, "request done", LOG_INT("status", 200), LOG_STR("path", p),
 *            LOG_DOUBLE("ms", 1.25));
 *   ...
 *   sonde_log_shutdown();                             // drains, stops the thread
 *
 * writes
 *
 *   {"@timestamp":"2026-11-23T10:00:00.123456Z","level":"info","message":"request done",
 *    "service":"checkout","trace_id":"...","span_id":"...","status":200,"path":"/a","ms":1.25}
 *
 * Concurrency contract
 *   - A log call (the LOG_* macros) never takes a lock and never allocates
 *     once its thread has logged once (the first call of a thread allocates
 *     the thread's ring). When the level is off it costs one load and a
 *     branch, and the field values are not evaluated. When on, it copies the
 *     values, the thread's current trace context (sonde_context_current())
 *     and a timestamp into the calling thread's ring; formatting and writing
 *     happen on the backend thread. Log calls return void and never fail
 *     loudly: a NULL logger is a no-op, a record that finds the ring full is
 *     dropped and counted (SONDE_LOG_OVERFLOW_DROP, the default) or waits for
 *     room (SONDE_LOG_OVERFLOW_BLOCK).
 *   - Records of one thread are written in the order that thread emitted
 *     them. Records of different threads are merged by timestamp per batch
 *     of the backend (near-chronological, not a total order).
 *   - A thread that exits loses none of its records: its ring is drained by
 *     the backend, then freed. A process that forks keeps a working logger
 *     in the child: the child starts its own backend on its first log call;
 *     records emitted before the fork are written by the parent only. A
 *     fork never leaves the child a logger lock held by another thread
 *     (sonde_log_write's call-site table included), and fork() waits
 *     until the backend thread is between batches and outside any
 *     allocation, so a host allocator with its own lock
 *     (sonde_set_allocator) is never inherited locked by the logger.
 *     (Not from a sink callback: fork() there deadlocks.)
 *   - Async-signal safety: a log call from a signal handler that interrupted
 *     a log call of the same thread drops its record (counted) instead of
 *     corrupting the ring; otherwise it is as safe as the interrupted code
 *     allows (the first call of a thread allocates). Only
 *     sonde_log_sink_reopen() and sonde_logger_set_level() are
 *     async-signal-safe.
 *
 * Every function below may be called from any thread unless it says
 * otherwise. Functions that can fail return a negative sonde_status (or
 * NULL) and set sonde_last_error().
 */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include "common.h"
#include "context.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- levels ------------------------------------------------------------- */
typedef enum sonde_log_level {
	SONDE_LOG_LEVEL_TRACE = 0,
	SONDE_LOG_LEVEL_DEBUG = 1,
	SONDE_LOG_LEVEL_INFO = 2,
	SONDE_LOG_LEVEL_WARN = 3,
	SONDE_LOG_LEVEL_ERROR = 4,
	SONDE_LOG_LEVEL_FATAL = 5,
	SONDE_LOG_LEVEL_OFF = 6 /* as a minimum level: nothing passes */
} sonde_log_level;

/* "trace" ... "fatal", "off"; "unknown" for anything else. Static storage. */
SONDE_API const char *sonde_log_level_name(int level);

/* Parses a level name of len bytes (s need not be NUL-terminated),
 * case-insensitive: trace, debug, info, warn or warning, error, fatal, off.
 * Surrounding spaces are ignored. SONDE_EINVAL (and *out untouched) for
 * NULL s or out, or an unknown name. No allocation. */
SONDE_API SONDE_WUR int sonde_log_level_parse(const char *s, size_t len, sonde_log_level *out);

/* ---- process-wide configuration -----------------------------------------
 * Optional. Applies to rings created after the call (a thread's ring is
 * created by its first log call) and to the next backend start.
 */
/* The size rule of the options structs below (sonde_log_config,
 * sonde_log_sink_opts, sonde_log_opts): set size to the sizeof your header
 * gives (the _init functions do). Structs only grow at the end: a caller
 * built against an older header passes its smaller size, and the fields it
 * does not have read as zero (the default). A size below the struct's
 * first published layout is SONDE_EINVAL (a forgotten size field); a
 * larger size (a newer header) is accepted, and the fields this library
 * does not know are not read. */
typedef struct sonde_log_config {
	size_t size;                  /* sizeof(sonde_log_config); required,
	                                 see the size rule above */
	size_t ring_bytes;            /* per-thread ring; 0 = 128 KiB. Rounded up to
	                                 a power of two, 1 KiB .. 64 MiB. A record
	                                 takes at most a quarter of it: longer string
	                                 values are truncated (and flagged). */
	unsigned shutdown_timeout_ms; /* bound on the drain in sonde_log_shutdown()
	                                 and at exit; 0 = 2000 ms */
	unsigned idle_sleep_max_us;   /* the backend's longest sleep when the
	                                 rings are empty; 0 = 1000 us */
	/* Logs as metrics under a name of your own: besides
	 * sonde_log_records_total{level}, a counter family records_metric
	 * {level} (levels as sonde names them: "error", ...) with the constant
	 * labels records_labels (2 * records_label_count strings: name, value,
	 * ...), in records_registry (NULL = the default registry), so that
	 * sum(rate(log_entries_total{level="error"}[5m])) by (service) works.
	 * NULL = none. It counts the records written from the call on. Set
	 * once: a later call naming another metric fails with SONDE_ESTATE
	 * (the same one again is accepted). Refusals of the family (a bad name
	 * or label, a clash in the registry) are the registry's (SONDE_EINVAL,
	 * SONDE_EEXIST), out of memory SONDE_ENOMEM; the rest of the
	 * configuration is then not installed either. */
	const char *records_metric;
	sonde_registry *records_registry;
	const char *const *records_labels;
	size_t records_label_count;
} sonde_log_config;

/* Zeroes *c and sets size. NULL is a no-op. */
SONDE_API void sonde_log_config_init(sonde_log_config *c);
/* Installs c (copied). SONDE_EINVAL on NULL or a size below the first
 * layout (the size rule above). Takes the logger's state lock briefly;
 * no allocation. */
SONDE_API SONDE_WUR int sonde_log_configure(const sonde_log_config *c);

/* ---- sinks ----------------------------------------------------------------
 * Where formatted lines go. The backend thread is the only writer of a
 * sink, so a sink needs no locking of its own; several loggers may share
 * one. A sink is reference-counted: the creator holds one reference and
 * drops it with sonde_log_sink_free(); each logger using the sink holds
 * another until the logger is freed. The sink is closed when the last
 * reference goes.
 *
 * Errors: a failing write (disk full, closed descriptor, a callback
 * returning < 0) is counted (sonde_log_sink_errors(), the metric
 * sonde_log_sink_errors_total{sink=...}); the lines of that write are lost
 * for that sink. After the next write that succeeds, a warn record
 * "log sink write failed" with the counts (errors, lines_lost) is written
 * to that sink.
 * sonde never crashes, prints or aborts because of a sink.
 */
typedef struct sonde_log_sink sonde_log_sink;

/* Output profiles. Every profile writes one record a line; json, ecs and
 * otel lines are strict JSON (unique keys, no NaN, valid UTF-8).
 *   JSON     today's shape: {"@timestamp","level","message","service",
 *            bound fields, trace_id, span_id, trace_flags, correlation_id,
 *            fields}; the time, level and message keys and the level's
 *            case are sink options (winston's default is one option away:
 *            time_key "timestamp").
 *   LOGFMT   ts=... level=info msg="..." service=... k=v; nested fields
 *            flattened with dotted keys (meta.user.id=7, tags.0=a).
 *   ECS      Elastic Common Schema, as the ecs-logging libraries write it:
 *            {"@timestamp","log.level","message","ecs.version":"8.10.0",
 *            "service":{"name"},"event":{"dataset"},"log":{"logger"},
 *            "process":{"thread":
 *            {"id"}},"trace":{"id"},"span":{"id"}, bound and call fields,
 *            the first error field as "error":{"type","message",
 *            "stack_trace"}}. transaction.id is not written (sonde has
 *            spans, no APM transactions). log.logger and event.dataset are the service
 *            name (as @elastic/ecs-winston-format sets event.dataset). A user key
 *            that names an ECS object or field sonde writes (ecs, service,
 *            log, process, trace, span, error, transaction, and the dotted
 *            forms ecs.version, service.name, log.level, log.logger,
 *            process.thread, process.thread.id, trace.id, span.id,
 *            transaction.id, error.type, error.message, error.stack_trace,
 *            labels, event, event.dataset, also @timestamp, message,
 *            correlation_id) is renamed
 *            key_1 (the rename rule under "loggers"), so a user field
 *            "service" never turns the service object into a string.
 *   OTEL     the OpenTelemetry log data model, one JSON object a line:
 *            {"timestamp":ns,"observed_timestamp":ns,"severity_text":"INFO",
 *            "severity_number":9,"body":"message","attributes":{bound and
 *            call fields, correlation_id, thread.id, the first error field
 *            as exception.type, exception.message, exception.stacktrace},
 *            "trace_id","span_id","trace_flags":1,"resource":{
 *            "service.name"}}. Severity numbers as the data model's
 *            ranges start: TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17,
 *            FATAL 21. Timestamps are JSON integers (Unix ns; the
 *            observed time is when the backend formats the record).
 *   CONSOLE  a line for people: time, the level (upper case, padded,
 *            coloured with ANSI escapes when the sink is a terminal and
 *            NO_COLOR is unset or empty), the message, then logfmt's
 *            key=value fields. */
typedef enum sonde_log_format {
	SONDE_LOG_FORMAT_JSON = 0,   /* JSON lines (default) */
	SONDE_LOG_FORMAT_LOGFMT = 1, /* key=value pairs, one record a line */
	SONDE_LOG_FORMAT_ECS = 2,    /* Elastic Common Schema JSON lines */
	SONDE_LOG_FORMAT_OTEL = 3,   /* OpenTelemetry log data model JSON lines */
	SONDE_LOG_FORMAT_CONSOLE = 4 /* human lines, coloured on a terminal */
} sonde_log_format;

/* "json", "logfmt", "ecs", "otel", "console"; "unknown" for anything else.
 * Static storage. */
SONDE_API const char *sonde_log_format_name(int format);
/* Parses a profile name of len bytes (s need not be NUL-terminated),
 * case-insensitive, surrounding spaces ignored: json, logfmt, ecs, otel,
 * console. SONDE_EINVAL (and *out untouched) for NULL s or out, or an
 * unknown name. No allocation. */
SONDE_API SONDE_WUR int sonde_log_format_parse(const char *s, size_t len, sonde_log_format *out);

typedef struct sonde_log_sink_opts {
	size_t size;             /* sizeof(sonde_log_sink_opts); required,
	                            see the size rule at sonde_log_config */
	sonde_log_format format; /* default JSON */
	sonde_log_level level;   /* records below it are not written here;
	                            default TRACE (everything the logger
	                            passes) */
	const char *name;        /* label of the sink's metrics; copied;
	                            NULL = "stdout", "stderr", the file path,
	                            or "callback" */
	uint64_t max_bytes;      /* file sinks: rotate before a line would make
	                            the file larger; 0 = never rotate */
	unsigned max_files;      /* file sinks: rotated files kept (app.log.1
	                            is the newest); 0 = 5 */
	/* Added with the output profiles (issue 15); zero = the old
	 * behaviour except format_env. */
	const char *format_env;  /* environment variable overriding format
	                            when set: NULL = "SONDE_LOG_FORMAT", "" =
	                            none. A value that names no profile is
	                            not fatal: the sink keeps format and
	                            writes one notice to stderr ("sonde:
	                            SONDE_LOG_FORMAT=... names no log format
	                            ...; keeping json") */
	const char *time_key;    /* json: the time key; NULL = "@timestamp" */
	const char *level_key;   /* json: NULL = "level" */
	const char *message_key; /* json: NULL = "message". Keys: 1..64
	                            printable ASCII bytes without '"', '\\'
	                            or '=', the three distinct (else
	                            SONDE_EINVAL); copied. A field named like
	                            one of them is renamed (key_1). */
	int level_upper;         /* json, logfmt: "INFO" instead of "info" */
	int color;               /* console: 0 = when the sink's descriptor is
	                            a terminal and NO_COLOR is unset or empty,
	                            1 = always, -1 = never */
} sonde_log_sink_opts;

/* Zeroes *o and sets size. NULL is a no-op. */
SONDE_API void sonde_log_sink_opts_init(sonde_log_sink_opts *o);

/* A sink writing to standard output / standard error (never closed by
 * sonde). opts NULL = defaults (and SONDE_LOG_FORMAT applies). NULL with
 * SONDE_EINVAL on bad opts (a size below the first layout, an unknown
 * format, a level out of range, a bad or repeated json key name),
 * SONDE_ENOMEM. */
SONDE_API SONDE_WUR sonde_log_sink *sonde_log_sink_stdout(const sonde_log_sink_opts *opts);
SONDE_API SONDE_WUR sonde_log_sink *sonde_log_sink_stderr(const sonde_log_sink_opts *opts);

/* A sink appending to the file at path (created 0644 if missing, opened
 * O_APPEND, so whole lines from several processes do not interleave).
 * With opts->max_bytes, the file is rotated by size: path.N-1 -> path.N ...
 * path -> path.1, keeping max_files rotated files. Rotation is off in a
 * forked child (parent and child would rotate the same files); the child
 * keeps appending. NULL with SONDE_EINVAL (NULL or empty path, bad opts),
 * SONDE_EIO (the file cannot be opened: the reason is in the error
 * message), SONDE_ENOMEM. */
SONDE_API SONDE_WUR sonde_log_sink *sonde_log_sink_file(const char *path,
                                                        const sonde_log_sink_opts *opts);

/* Receives each formatted line: line[0..len) without the trailing newline
 * (line[len] is '\n'). Runs on the backend thread; it must not block for
 * long, must not call sonde_log_flush() (that fails with SONDE_ESTATE
 * there) and may log (its own records are written in a later batch, and
 * dropped rather than blocking in block mode). Return 0, or < 0 for an
 * error (counted as a write error). */
typedef int (*sonde_log_line_fn)(void *ctx, sonde_log_level level, const char *line, size_t len);

/* A sink calling fn(ctx, ...) for each line. ctx is not owned. NULL with
 * SONDE_EINVAL (NULL fn, bad opts), SONDE_ENOMEM. */
SONDE_API SONDE_WUR sonde_log_sink *sonde_log_sink_callback(sonde_log_line_fn fn, void *ctx,
                                                            const sonde_log_sink_opts *opts);

/* Drops the caller's reference (see above). NULL is a no-op. */
SONDE_API void sonde_log_sink_free(sonde_log_sink *s);

/* File sinks: asks the backend to close and reopen the path before it
 * writes its next line there (for logrotate's "move, then signal"). Only
 * sets a flag: async-signal-safe, never blocks. sonde_log_flush() after it
 * guarantees the next record goes to the new file. SONDE_EINVAL on NULL,
 * SONDE_ENOTSUP on a sink that is not a file. */
SONDE_API SONDE_WUR int sonde_log_sink_reopen(sonde_log_sink *s);

/* Changes the sink's minimum level (takes effect on the backend's next
 * batch). NULL is a no-op. */
SONDE_API void sonde_log_sink_set_level(sonde_log_sink *s, sonde_log_level level);

/* Lines this sink lost so far (failed writes count each line they
 * carried; also sonde_log_sink_errors_total{sink}). 0 on NULL. */
SONDE_API uint64_t sonde_log_sink_errors(const sonde_log_sink *s);

/* ---- loggers ----------------------------------------------------------------
 * A logger is immutable after creation (except its level): a service name,
 * bound fields pre-rendered for every format, a redaction list, an
 * overflow policy and its sinks. Child loggers copy all of it and add
 * bound fields. sonde_logger_free() may be called while records of the
 * logger are still in rings: the logger is released by the backend once
 * it has written them.
 *
 * Keys: every line (JSON and logfmt) has unique keys. Keys are compared
 * as written: after JSON escaping (invalid UTF-8 becomes U+FFFD, so
 * "k\xff" and "k\xfe" are one key) or, in logfmt, after the bytes that
 * would end a bare key become '_' ("a b" and "a_b" are one key there).
 *   - Of a key given more than once, the last occurrence wins and is
 *     written at its own place: a call-site field replaces a bound field of
 *     the same key, and of a key given twice in one call the later value
 *     is kept (as pino and zap do).
 *   - A field whose key is one of the line's own keys (@timestamp, ts,
 *     level, message, msg, service, trace_id, span_id, trace_flags,
 *     correlation_id, _truncated, _replayed) is written as key_1, or key_2, ... when
 *     key_1 is itself a key of the line (the first suffix free of line
 *     keys, the other fields' keys and earlier renames; deterministic).
 *     The line's own keys depend on the profile (sonde_log_format): json
 *     adds the sink's time, level and message key names; ecs has its own
 *     list (at sonde_log_format); in otel the fields are attributes, and
 *     the line keys are the attributes sonde adds (correlation_id,
 *     thread.id, exception.type, exception.message, exception.stacktrace,
 *     _truncated, _replayed).
 *   - Nested objects (sonde_log_tree) have unique keys too: the builder
 *     refuses a key twice in one object.
 */
typedef struct sonde_logger sonde_logger;

typedef enum sonde_log_overflow {
	SONDE_LOG_OVERFLOW_DROP = 0, /* drop the new record and count it; never blocks */
	SONDE_LOG_OVERFLOW_BLOCK = 1 /* wait for room (spins ~1 us, then sleeps) */
} sonde_log_overflow;

typedef struct sonde_log_opts {
	size_t size;                    /* sizeof(sonde_log_opts); required, see
	                                   the size rule at sonde_log_config */
	const char *service;            /* required; copied */
	sonde_log_level level;          /* minimum level (zero is TRACE;
	                                   sonde_log_opts_init sets INFO) */
	const char *level_env;          /* environment variable overriding level
	                                   when set to a valid name; NULL =
	                                   "LOG_LEVEL", "" = none */
	sonde_log_overflow overflow;    /* default DROP */
	const char *const *redact_keys; /* field keys whose values are written as
	                                   "[REDACTED]" (bound and call-site
	                                   fields); copied; at most 64 */
	size_t redact_count;
	sonde_log_sink *const *sinks; /* the logger takes a reference to each;
	                                 none = a JSON sink on stdout */
	size_t sink_count;            /* at most 16 */
	/* The flight recorder (off when 0): records below the logger's level,
	 * down to flight_level, are not dropped but kept in memory, per
	 * thread; a record at flight_trigger or above writes the kept ones
	 * first, marked "_replayed":true, and forgets them. See "flight
	 * recorder" below. Children inherit all four. */
	int flight_recorder;
	sonde_log_level flight_level;   /* the lowest level kept (zero is TRACE) */
	sonde_log_level flight_trigger; /* zero: ERROR (TRACE is no trigger) */
	int flight_scope;               /* SONDE_LOG_FLIGHT_THREAD (zero), _TRACE, _ALL */
	/* Sampling per call site (zap's scheme; off when sample_first is 0):
	 * in each interval of sample_interval_ms (0 = 1000) a call site
	 * writes its first sample_first records, then one in
	 * sample_thereafter (0 = none) of the rest. Records at error and
	 * fatal are never sampled unless sample_errors is non-zero. See
	 * "sampling" below. Children inherit all four. */
	unsigned sample_first;
	unsigned sample_thereafter;
	unsigned sample_interval_ms;
	int sample_errors;
} sonde_log_opts;

/* Which kept records a trigger replays: the triggering thread's (THREAD);
 * those and every other thread's records of the same trace id (TRACE);
 * every thread's (ALL). Other threads' records are copied, not forgotten. */
#define SONDE_LOG_FLIGHT_THREAD 0
#define SONDE_LOG_FLIGHT_TRACE 1
#define SONDE_LOG_FLIGHT_ALL 2

/* Writes the kept records now, as a trigger would (marked "_replayed"),
 * and forgets the calling thread's: for a failing health check, say. scope
 * as above (SONDE_LOG_FLIGHT_THREAD: the calling thread's). SONDE_EINVAL
 * on an unknown scope, SONDE_ESTATE when the logger is stopped or when
 * called from a signal handler inside a log call. Any thread. */
SONDE_API SONDE_WUR int sonde_log_flight_dump(int scope);

/* The flight recorder, in numbers: each thread that keeps a record gets a
 * store of the last 128 kept records (64 KiB; a record's strings are cut
 * to fit 504 bytes, "_truncated":true); at most 256 stores (16 MiB), the
 * stores of exited threads are reused; a thread past that keeps nothing.
 * The caller's cost of a kept record is that of a written one (the record
 * is built the same way, into the store instead of the ring). Replayed
 * records keep their own time, level, fields and trace context; a replay
 * that finds the ring full drops the rest (counted as dropped). The crash
 * flush (below) writes every thread's kept records too. A freed logger
 * whose records are kept is destroyed once none is kept any more. */

/* Zeroes *o, sets size, service, level INFO, and for the flight recorder
 * (left off) flight_level DEBUG and flight_trigger ERROR. NULL o is a
 * no-op. */
SONDE_API void sonde_log_opts_init(sonde_log_opts *o, const char *service);

/* A new root logger; starts the backend thread if it is not running.
 * Returns NULL with SONDE_EINVAL (NULL opts, bad size, NULL or empty
 * service, a level out of range, too many sinks or redaction keys, a NULL
 * sink or key, a flight level or trigger out of TRACE..FATAL, an unknown
 * flight scope), SONDE_ENOMEM, SONDE_EIO (the backend thread could not be
 * started). Free with sonde_logger_free(). */
SONDE_API SONDE_WUR sonde_logger *sonde_logger_new(const sonde_log_opts *opts);

/* One bound field for sonde_logger_child(): build it with the
 * sonde_log_field_* constructors. Strings are copied by the child. */
typedef struct sonde_log_field {
	const char *key;
	int type; /* SONDE_LOG_T_* */
	union {
		int64_t i;
		uint64_t u;
		double d;
		const char *s;
	} v;
	size_t len; /* strings: bytes of s */
} sonde_log_field;

#define SONDE_LOG_T_STR 1
#define SONDE_LOG_T_I64 2
#define SONDE_LOG_T_U64 3
#define SONDE_LOG_T_F64 4
#define SONDE_LOG_T_BOOL 5
#define SONDE_LOG_T_TREE                                 \
	6 /* a nested object, array or error: a finished \
	     sonde_log_tree's bytes (v.s, len); call     \
	     fields only (sonde_log_write, the macros),  \
	     not bound fields */

/* A child of parent with the same service, sinks, level, policy and
 * redaction list, plus n bound fields (written after service, in order;
 * a key the parent already binds is replaced). Keys and string values are
 * copied. NULL with SONDE_EINVAL (NULL parent, n > 32, a NULL or empty
 * key, a bad type), SONDE_ENOMEM. The child is independent of the parent:
 * either may be freed first. */
SONDE_API SONDE_WUR sonde_logger *sonde_logger_child(const sonde_logger *parent,
                                                     const sonde_log_field *fields, size_t n);

/* Releases the logger (its records already emitted are still written).
 * The caller must not log through it any more. NULL is a no-op. */
SONDE_API void sonde_logger_free(sonde_logger *l);

/* The process's default logger: the oldest root logger (sonde_logger_new)
 * still alive, NULL when there is none. Children never become it. When it
 * is freed, the next oldest live root logger takes its place. sonde logs
 * its own lines through it where the host named no other logger (the span
 * log line, sonde_trace_set_span_logger), so a default logger must be freed
 * only once no thread ends spans any more (as for any thread logging through
 * it). One acquire load; any thread. */
SONDE_API sonde_logger *sonde_log_default_logger(void);

/* The logger's minimum level: a relaxed store / load; async-signal-safe.
 * A level out of range is clamped to OFF. NULL is a no-op / gives OFF. */
SONDE_API void sonde_logger_set_level(sonde_logger *l, sonde_log_level level);
SONDE_API sonde_log_level sonde_logger_level(const sonde_logger *l);
/* The lowest level a call must have to do anything: the logger's level,
 * or its flight level when the flight recorder keeps lower records (what
 * bindings test before building a record). NULL gives OFF. */
SONDE_API sonde_log_level sonde_logger_min_level(const sonde_logger *l);
/* Sets the level of every live logger (takes the logger-list lock). */
SONDE_API void sonde_log_set_level_all(sonde_log_level level);

/* Bound-field constructors (no allocation; s is read when the child is
 * created). A NULL string is written as null. */
static inline sonde_log_field sonde_log_field_str(const char *key, const char *s)
{
	sonde_log_field f;
	f.key = key;
	f.type = SONDE_LOG_T_STR;
	f.v.s = s;
	f.len = (size_t)-1; /* NUL-terminated: measured by sonde */
	return f;
}
static inline sonde_log_field sonde_log_field_i64(const char *key, int64_t v)
{
	sonde_log_field f;
	f.key = key;
	f.type = SONDE_LOG_T_I64;
	f.v.i = v;
	f.len = 0;
	return f;
}
static inline sonde_log_field sonde_log_field_u64(const char *key, uint64_t v)
{
	sonde_log_field f;
	f.key = key;
	f.type = SONDE_LOG_T_U64;
	f.v.u = v;
	f.len = 0;
	return f;
}
static inline sonde_log_field sonde_log_field_f64(const char *key, double v)
{
	sonde_log_field f;
	f.key = key;
	f.type = SONDE_LOG_T_F64;
	f.v.d = v;
	f.len = 0;
	return f;
}
static inline sonde_log_field sonde_log_field_bool(const char *key, bool v)
{
	sonde_log_field f;
	f.key = key;
	f.type = SONDE_LOG_T_BOOL;
	f.v.u = v ? 1u : 0u;
	f.len = 0;
	return f;
}

/* ---- nested fields and errors ------------------------------------------------
 * A sonde_log_tree builds one nested value (an object, an array, or an
 * error) into memory the caller owns, without allocating:
 *
 *   unsigned char mem[512];
 *   sonde_log_tree t;
 *   sonde_log_tree_init(&t, mem, sizeof mem);
 *   sonde_log_tree_object(&t);
 *   sonde_log_tree_key(&t, "user_id");  sonde_log_tree_i64(&t, 42);
 *   sonde_log_tree_key(&t, "tags");     sonde_log_tree_array(&t);
 *   sonde_log_tree_str(&t, "a", SIZE_MAX);  sonde_log_tree_end(&t);
 *   sonde_log_tree_end(&t);
 *   LOG_INFO(log, "login", LOG_OBJ("metadata", &t));
 *
 * json, ecs and otel write it as nested JSON ("metadata":{"user_id":42,
 * "tags":["a"]}); logfmt and console flatten it with dotted keys
 * (metadata.user_id=42 metadata.tags.0=a). The log call copies the bytes
 * into the ring: the tree may be reused after it.
 *
 * An error tree (sonde_log_tree_error) carries a type, a message and
 * optionally a stack trace. LOG_ERR("error", &t) writes, in json,
 * "error":{"type":...,"message":...,"stack":...} (winston's errors({stack:
 * true}) names the same three); in ecs the first error field of a record
 * becomes "error":{"type","message","stack_trace"}, in otel the attributes
 * exception.type, exception.message, exception.stacktrace (a second error
 * field is written as an object under its own key); logfmt and console
 * flatten it (error.type=... error.message=... error.stack=...).
 *
 * Limits, each a clear error (SONDE_ELIMIT, sticky, with a message):
 * depth SONDE_LOG_TREE_DEPTH_MAX open containers, SONDE_LOG_TREE_KEYS_MAX
 * keys in a tree, keys of at most 255 bytes, SONDE_LOG_TREE_BYTES_MAX
 * bytes of encoding (and the caller's cap). Misuse is SONDE_EINVAL
 * (sticky): NULL t, a key outside an object or twice in one object (byte
 * for byte), a value where a key is due, end() with nothing open or a key
 * left without its value, a second root value. The first error sticks:
 * later calls return it and change nothing; the tree is then written as
 * null, as is an unfinished one (containers left open). A string value
 * (len SIZE_MAX = NUL-terminated, NULL = null) may be any bytes: invalid
 * UTF-8 is written as U+FFFD. Like any field, a tree is cut when its
 * record would pass a quarter of the ring: the line then holds what fits,
 * every container closed, and "_truncated":true. Keys of one object that
 * escape to the same text (invalid UTF-8) keep the first. In logfmt and
 * console a flattened key is not checked against other dotted keys of the
 * line (a field "m.a" beside an object "m" with key "a" repeats m.a).
 */
#define SONDE_LOG_TREE_DEPTH_MAX 8
#define SONDE_LOG_TREE_KEYS_MAX 256
#define SONDE_LOG_TREE_BYTES_MAX 65536

typedef struct sonde_log_tree {
	unsigned char *buf; /* the encoding: buf[0..len) */
	size_t cap, len;
	int status;     /* SONDE_OK, or the first error */
	unsigned depth; /* open containers */
	unsigned nkeys;
	bool key_due;                          /* inside an object: a key comes next */
	bool done;                             /* the root value is complete */
	size_t open[SONDE_LOG_TREE_DEPTH_MAX]; /* each open container's start */
} sonde_log_tree;

/* Starts an empty tree over mem[0..cap) (not owned). NULL t is a no-op;
 * NULL mem or cap 0 makes a tree whose first value fails with
 * SONDE_ELIMIT. */
SONDE_API void sonde_log_tree_init(sonde_log_tree *t, void *mem, size_t cap);
/* Opens an object / an array (as the root or as a value); closes the
 * innermost open one. */
SONDE_API int sonde_log_tree_object(sonde_log_tree *t);
SONDE_API int sonde_log_tree_array(sonde_log_tree *t);
SONDE_API int sonde_log_tree_end(sonde_log_tree *t);
/* The next member's key, inside an object (NUL-terminated, 1..255
 * bytes; NULL or empty: SONDE_EINVAL). */
SONDE_API int sonde_log_tree_key(sonde_log_tree *t, const char *key);
/* Values (after a key in an object, as an element in an array, or as the
 * root). Doubles as in any field (NaN and infinities as strings). */
SONDE_API int sonde_log_tree_str(sonde_log_tree *t, const char *s, size_t len);
SONDE_API int sonde_log_tree_i64(sonde_log_tree *t, int64_t v);
SONDE_API int sonde_log_tree_u64(sonde_log_tree *t, uint64_t v);
SONDE_API int sonde_log_tree_f64(sonde_log_tree *t, double v);
SONDE_API int sonde_log_tree_bool(sonde_log_tree *t, bool v);
SONDE_API int sonde_log_tree_null(sonde_log_tree *t);
/* Makes t (empty, just initialized) an error: type and message (NULL =
 * null), stack NULL = none; lengths SIZE_MAX = NUL-terminated. The tree
 * is then finished. */
SONDE_API int sonde_log_tree_error(sonde_log_tree *t, const char *type, size_t type_len,
                                   const char *message, size_t message_len, const char *stack,
                                   size_t stack_len);
/* ---- scoped context fields ----------------------------------------------------
 * A scope pushes key/values (user_id, session_id, tenant ...) that every
 * record the calling thread logs while it is pushed carries, through any
 * logger, as MDC or AsyncLocalStorage do:
 *
 *   sonde_log_scope sc;
 *   sonde_log_field f[2] = {sonde_log_field_str("user_id", uid),
 *                           sonde_log_field_i64("tenant", 7)};
 *   if (sonde_log_scope_push(&sc, f, 2) == SONDE_OK) {
 *       LOG_INFO(log, "checkout", LOG_INT("items", 3));
 *       // {..."trace_id":...,"user_id":"u1","tenant":7,"items":3}
 *       (void)sonde_log_scope_pop(&sc);
 *   }
 *
 * The scope is caller-owned storage (on the stack, typically; about 700
 * bytes) linked into a per-thread stack: push and pop never allocate and
 * never lock. Push copies the field array into the scope, and the keys and
 * strings too when together they fit in SONDE_LOG_SCOPE_INLINE bytes;
 * longer ones are read by each log call: either way keys and string
 * values must stay valid and unchanged until the pop. The first log call
 * after a push or pop copies the thread's scoped keys and values into its
 * record, as it copies its own fields; the next calls of the thread only
 * name that copy (8 bytes; the backend keeps it, up to 2 KiB of scoped
 * fields, larger ones travel with every record). Either way the backend
 * formats them later even if the scope is gone. In the rare case where
 * the record holding the copy never reached the backend (skipped by a
 * shutdown's deadline or a crash flush while the next record was being
 * made), a record naming it is written without the scoped fields and
 * marked "_truncated":true: never with another scope's fields.
 *
 * Line position and keys: scoped fields are written after the trace
 * context and before the call's fields, outermost scope first. They take
 * part in the key rule under "loggers" above as if they stood between the
 * logger's bound fields and the call's fields: a call's field beats a
 * scoped field of the same key, an inner scope beats an outer one, and a
 * scoped field beats a bound field; a scoped key that is one of the
 * line's own keys ("level") is renamed ("level_1"). Every line keeps
 * unique keys.
 *
 * A record whose ring slot (a quarter of the ring) cannot hold the scoped
 * fields after its own fixed part is written without them, marked
 * "_truncated":true. Records replayed by the flight recorder carry the
 * scoped fields of the moment they were logged.
 *
 * Limits: SONDE_LOG_SCOPE_FIELDS fields per scope, SONDE_LOG_SCOPE_TOTAL
 * fields and SONDE_LOG_SCOPE_DEPTH scopes per thread, keys of at most
 * SONDE_LOG_SCOPE_KEY_MAX bytes, a scope's keys and string values of at
 * most SONDE_LOG_SCOPE_BYTES bytes together. */
#define SONDE_LOG_SCOPE_FIELDS 8
#define SONDE_LOG_SCOPE_TOTAL 16
#define SONDE_LOG_SCOPE_DEPTH 64
#define SONDE_LOG_SCOPE_KEY_MAX 64
#define SONDE_LOG_SCOPE_BYTES 1024
#define SONDE_LOG_SCOPE_INLINE 192 /* keys and strings a scope copies at push */

/* Caller-owned: the fields are private (sonde writes them at push and
 * pop, log calls of the owning thread read them). */
typedef struct sonde_log_scope {
	struct sonde_log_scope *priv_up; /* the scope pushed before it */
	const void *priv_owner;          /* the pushing thread's identity */
	uint32_t priv_magic;
	uint32_t priv_n;           /* fields of this scope */
	uint32_t priv_total_n;     /* fields of this scope and those below */
	uint32_t priv_total_bytes; /* their key (with NUL) and string bytes */
	uint32_t priv_depth;
	uint32_t priv_bytes; /* this scope's key (with NUL) and string bytes */
	uint32_t priv_klen[SONDE_LOG_SCOPE_FIELDS];
	/* the record's slots for this scope, built at push */
	uint64_t priv_slots[2 * SONDE_LOG_SCOPE_FIELDS];
	sonde_log_field priv_f[SONDE_LOG_SCOPE_FIELDS];
	/* its keys and strings as a record holds them, built at push when
	 * priv_bytes fits (a log call then copies one block) */
	char priv_text[SONDE_LOG_SCOPE_INLINE];
} sonde_log_scope;

/* Pushes n fields (0..SONDE_LOG_SCOPE_FIELDS; built with the
 * sonde_log_field_* constructors; a string's len (size_t)-1 means
 * NUL-terminated, measured once here; a NULL string is written as null)
 * on the calling thread's scope stack. Returns SONDE_OK, or, with nothing
 * pushed:
 *   SONDE_EINVAL  NULL s, NULL fields with n > 0, n > SONDE_LOG_SCOPE_FIELDS,
 *                 a NULL or empty key, a key longer than
 *                 SONDE_LOG_SCOPE_KEY_MAX bytes, a key given twice in this
 *                 scope, an unknown type;
 *   SONDE_ELIMIT  the scope's keys and strings pass SONDE_LOG_SCOPE_BYTES,
 *                 or the thread's scopes would pass SONDE_LOG_SCOPE_TOTAL
 *                 fields or SONDE_LOG_SCOPE_DEPTH scopes;
 *   SONDE_ESTATE  s is already pushed on this thread (it would loop).
 * Never allocates (no SONDE_ENOMEM), never locks; async-signal-safe
 * against log calls of the same thread (a handler sees the stack before
 * or after the push, never half). */
SONDE_API SONDE_WUR int sonde_log_scope_push(sonde_log_scope *s, const sonde_log_field *fields,
                                             size_t n);

/* Pops s from the calling thread's stack. Returns SONDE_OK when s was the
 * innermost scope. Otherwise, never touching memory it cannot trust:
 *   SONDE_ESTATE  s is deeper in this thread's stack (popped out of order):
 *                 s and every scope pushed after it are popped (as an
 *                 exception unwinding would), and the message says how
 *                 many; their own later pops then fail as below;
 *   SONDE_ESTATE  s is not on this thread's stack: never pushed, popped
 *                 already, or pushed by another thread (that thread's stack
 *                 is left alone: a scope must be popped by the thread that
 *                 pushed it, and stay valid until then);
 *   SONDE_EINVAL  NULL s.
 * No allocation, no lock. */
SONDE_API SONDE_WUR int sonde_log_scope_pop(sonde_log_scope *s);

/* Scoped fields of the calling thread (all its pushed scopes). */
SONDE_API size_t sonde_log_scope_fields(void);

/* ---- flush, shutdown, statistics ---------------------------------------- */

/* Returns once every record emitted (by any thread) before the call is
 * written to its sinks and the sinks' buffers are handed to the kernel.
 * Blocks without a time limit (a sink that blocks forever blocks it).
 * SONDE_ESTATE when called from the backend thread (a sink callback):
 * it would wait for itself. SONDE_OK when no backend runs and nothing is
 * pending. Not async-signal-safe. */
SONDE_API SONDE_WUR int sonde_log_flush(void);

/* Drains every ring and stops the backend thread, waiting at most
 * shutdown_timeout_ms (sonde_log_config, default 2 s) for the drain;
 * records still unwritten then are discarded and counted as dropped, and
 * SONDE_ETIMEDOUT is returned. Log calls made after it are dropped and
 * counted until a new logger is created, which restarts the backend.
 * Loggers stay valid (free them when you like). Also registered with
 * atexit() at the first backend start, so a process that returns from
 * main without calling it still drains. SONDE_ESTATE from the backend
 * thread. */
SONDE_API SONDE_WUR int sonde_log_shutdown(void);

typedef struct sonde_log_stats {
	size_t size;          /* sizeof(sonde_log_stats); set by the caller.
	                         An output struct, so its rule differs from
	                         the options structs': sonde writes its whole
	                         layout, so a size below this library's
	                         sizeof(sonde_log_stats) is SONDE_EINVAL; a
	                         larger one is accepted and what lies past
	                         this layout is left untouched. */
	uint64_t written[6];  /* records written (formatted and handed to
	                         their sinks), by level; the logger's own
	                         "log records dropped" notices are not
	                         counted */
	uint64_t dropped;     /* records dropped: ring full, nested call
	                         from a signal handler, after shutdown
	                         (also records a thread logged while the
	                         shutdown ran, counted at its exit or at
	                         the next start) */
	uint64_t truncated;   /* records whose strings were truncated */
	uint64_t sink_errors; /* lines that did not reach their sink, all
	                         sinks: a failed write counts every line
	                         it carried, and lines dropped when a
	                         sink's buffer could not grow count too */
	uint64_t rings;       /* rings in use (live and draining threads) */
} sonde_log_stats;

/* Accounting: every record a caller submits is counted exactly once, in
 * written[its level], in dropped, or (with sampling on) in
 * sonde_log_sampled_total(its level), across shutdown, restart and thread
 * exit. Each sink counts, in sonde_log_sink_errors() and sink_errors, the
 * lines of written records that did not reach it.
 *
 * Copies the process-wide counts (also exported on the default registry as
 * sonde_log_records_total{level}, sonde_log_dropped_total and
 * sonde_log_sink_errors_total{sink}). SONDE_EINVAL on NULL or a size field
 * smaller than this library's sizeof(sonde_log_stats). */
SONDE_API SONDE_WUR int sonde_log_stats_get(sonde_log_stats *out);

/* ---- runtime log call ----------------------------------------------------------
 * For messages and keys known only at run time (language bindings): level
 * SONDE_LOG_LEVEL_TRACE..FATAL, msg of msg_len bytes (copied; NULL = ""),
 * and n fields (at most 15; keys NUL-terminated; string values copied,
 * len SIZE_MAX or (size_t)-1 meaning NUL-terminated). Same record, JSON
 * and ordering as the macros; never blocks unless the logger's overflow
 * policy is block. Each distinct (level, keys, types) combination is
 * interned once and kept for the process's life: keys must not vary with
 * data. A SONDE_LOG_T_TREE field carries a sonde_log_tree's bytes
 * (sonde_log_field_tree()); bytes that are no finished tree are written
 * as far as they make sense, every container closed, with
 * "_truncated":true. Returns SONDE_OK (also when the level is off: the fields are then
 * not checked); SONDE_EINVAL (NULL logger, bad level, too many fields, a
 * NULL or empty key, a key given twice byte for byte other than
 * "message", an unknown type; keys that only escape to the same text, and
 * a "message" field beside the message, follow the key rules under
 * "loggers" above); SONDE_ELIMIT
 * past SONDE_LOG_SITES_MAX combinations; SONDE_ENOMEM. Steady state takes no lock (a per-thread
 * cache). */
#define SONDE_LOG_SITES_MAX 4096
SONDE_API SONDE_WUR int sonde_log_write(sonde_logger *l, int level, const char *msg, size_t msg_len,
                                        const sonde_log_field *fields, size_t n);

/* ---- crash flush ---------------------------------------------------------------
 * A process that dies by a signal still has records in the rings: the ones
 * that explain the crash. sonde_log_crash_flush_enable() installs handlers
 * for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT that, using only
 * async-signal-safe calls (no lock, no allocation: write(2), sigaction,
 * raise, nanosleep, backtrace):
 *   - pause the backend (a batch under way may finish, at most 500 ms);
 *   - write every record still in the rings, merged by time, to its
 *     logger's file, stdout and stderr sinks, each in its profile
 *     (rotation is not done);
 *     callback sinks cannot be called from a signal handler: their records
 *     are skipped and counted; a record whose line needs memory (over
 *     64 KiB, or keys that need renaming) is skipped and counted;
 *   - write one crash record through the default logger's file and
 *     stdout/stderr sinks (stderr when there is none), at level fatal:
 *       {"@timestamp":...,"level":"fatal","message":"crash","service":...,
 *        "signal":"SIGSEGV","signo":11,"code":1,"fault_address":"0x0",
 *        "thread_id":1234,"records_flushed":N,"records_skipped":N,
 *        "callback_records_skipped":N,"backtrace":["0x...",...]}
 *     (in this shape on json, ecs and otel sinks, as logfmt on logfmt
 *     and console sinks; return addresses only: symbolizing is not
 *     async-signal-safe; feed
 *     them to addr2line or eu-addr2line with the binary's load address);
 *   - hand the signal on: the handler installed before sonde's runs (so
 *     core dumps, sanitizers and crash reporters keep working), or, for
 *     the default action, the signal is raised again and kills the process
 *     with its own status (and core dump).
 * Two threads crashing at once: the second waits (at most 2 s) for the
 * first's flush, then hands its signal on. A fault inside the handler is
 * blocked, so the kernel kills the process: it never hangs. A record being
 * written at the moment of the crash by the crashing thread is lost; a
 * record the backend was writing when it was paused may appear twice.
 * Every thread that logs gets a 64 KiB alternate signal stack (mmap) at
 * its first log call while the handlers are installed, unless it has one
 * (Go and Rust runtimes set their own), so a stack overflow is flushed too;
 * sonde_log_crash_thread_init() gives one to the calling thread now.
 * Opt-in; idempotent. SONDE_EIO when sigaction fails (nothing installed).
 * Install it after other crash handlers (sanitizers, Breakpad), so sonde
 * runs first and chains to them. Any thread. */
SONDE_API SONDE_WUR int sonde_log_crash_flush_enable(void);
/* Puts back the handlers that were there before, where sonde's are still
 * the installed ones. Idempotent; SONDE_OK. */
SONDE_API SONDE_WUR int sonde_log_crash_flush_disable(void);
SONDE_API bool sonde_log_crash_flush_enabled(void);
/* The calling thread's alternate signal stack (kept if it has one).
 * SONDE_ENOMEM when none could be set up. Freed at thread exit for threads
 * that logged. */
SONDE_API SONDE_WUR int sonde_log_crash_thread_init(void);

/* ---- call sites and the emit entry point (used by the macros) ------------
 * Layout frozen: the macros build a static const sonde_log_site per call
 * site and an array of values per call.
 */
/* The mutable per-call-site state of sampling: one static per call site
 * (zero-initialized; the sampling words are private). first, thereafter
 * and interval_ms set by SONDE_LOG_SAMPLED override the logger's sampling
 * for that call (all zero: the logger's). */
typedef struct sonde_log_site_state {
	uint64_t priv_epoch; /* interval number + 1 of the count below */
	uint64_t priv_count; /* records seen in that interval */
	uint32_t first;      /* bit 31 marks a per-call setting */
	uint32_t thereafter;
	uint32_t interval_ms;
	uint32_t flags; /* private: 0 at first; the backend caches its key check here */
} sonde_log_site_state;

#define SONDE_LOG_SITE_F_STATE 1u /* state is set (sites built before sampling have 0) */
#define SONDE_LOG_SITE_F_CALL 2u  /* the call sets its own sampling (SONDE_LOG_SAMPLED) */

typedef struct sonde_log_site {
	const char *message;
	const char *file;
	const char *const *keys;    /* nfields literal keys */
	const unsigned char *types; /* nfields SONDE_LOG_T_* */
	int line;
	unsigned char level;
	unsigned char nfields;
	/* appended in the padding and at the end: a site compiled before
	 * them has flags 0 (static storage zeroes padding) and no state */
	unsigned char flags; /* SONDE_LOG_SITE_F_* */
	sonde_log_site_state *state;
} sonde_log_site;

typedef struct sonde_log_value {
	union {
		int64_t i;
		uint64_t u;
		double d;
		const char *s;
	} v;
	size_t len; /* strings: bytes, or (size_t)-1 for NUL-terminated */
} sonde_log_value;

static inline sonde_log_value sonde__log_v_str(const char *s)
{
	sonde_log_value x;
	x.v.s = s;
	x.len = (size_t)-1;
	return x;
}
static inline sonde_log_value sonde__log_v_strn(const char *s, size_t n)
{
	sonde_log_value x;
	x.v.s = s;
	x.len = s ? n : (size_t)-1;
	return x;
}
static inline sonde_log_value sonde__log_v_i64(int64_t v)
{
	sonde_log_value x;
	x.v.i = v;
	x.len = 0;
	return x;
}
static inline sonde_log_value sonde__log_v_u64(uint64_t v)
{
	sonde_log_value x;
	x.v.u = v;
	x.len = 0;
	return x;
}
static inline sonde_log_value sonde__log_v_f64(double v)
{
	sonde_log_value x;
	x.v.d = v;
	x.len = 0;
	return x;
}
static inline sonde_log_value sonde__log_v_bool(bool v)
{
	sonde_log_value x;
	x.v.u = v ? 1u : 0u;
	x.len = 0;
	return x;
}

/* The bytes a log call copies: the tree when finished without error,
 * else a NULL string (written null). */
static inline sonde_log_value sonde__log_v_tree(const sonde_log_tree *t)
{
	sonde_log_value x;
	if (t && t->status == 0 && t->done && t->len) {
		x.v.s = (const char *)t->buf;
		x.len = t->len;
	} else {
		x.v.s = NULL;
		x.len = (size_t)-1;
	}
	return x;
}
/* A tree field for sonde_log_write() (same rule: unfinished = null). */
static inline sonde_log_field sonde_log_field_tree(const char *key, const sonde_log_tree *t)
{
	sonde_log_field f;
	sonde_log_value x = sonde__log_v_tree(t);
	f.key = key;
	f.type = SONDE_LOG_T_TREE;
	f.v.s = x.v.s;
	f.len = x.v.s ? x.len : 0;
	return f;
}

/* Copies one record into the calling thread's ring. vals has
 * site->nfields entries (NULL when 0). Use the macros instead. */
SONDE_API void sonde__log_emit(sonde_logger *l, const sonde_log_site *site,
                               const sonde_log_value *vals);

/* The level check: the first member of every sonde_logger is its minimum
 * level as an int (frozen: this is the one inlined piece of the layout). */
static inline bool sonde__log_on(const sonde_logger *l, int level)
{
	return l != NULL &&
	       level >= __atomic_load_n((const int *)(const void *)l, __ATOMIC_RELAXED);
}

/* ---- macros ------------------------------------------------------------------
 *   LOG_INFO(log, "message");
 *   LOG_WARN(log, "slow", LOG_INT("ms", ms), LOG_STR("path", path),
 *            LOG_UINT("bytes", n), LOG_DOUBLE("ratio", r), LOG_BOOL("hit", h),
 *            LOG_STRN("body", p, len));
 *
 * The message and the keys must be string literals (a variable does not
 * compile); at most 16 fields. The logger expression is evaluated once;
 * the values only when the level is enabled. String values are copied
 * (up to a quarter of the ring). Compiles as C11 and C++17.
 */
#define SONDE_LOG_STR(k, s) (SONDE_LOG_T_STR, "" k "", sonde__log_v_str(s))
#define SONDE_LOG_STRN(k, s, n) (SONDE_LOG_T_STR, "" k "", sonde__log_v_strn((s), (n)))
#define SONDE_LOG_INT(k, v) (SONDE_LOG_T_I64, "" k "", sonde__log_v_i64(v))
#define SONDE_LOG_UINT(k, v) (SONDE_LOG_T_U64, "" k "", sonde__log_v_u64(v))
#define SONDE_LOG_DOUBLE(k, v) (SONDE_LOG_T_F64, "" k "", sonde__log_v_f64(v))
#define SONDE_LOG_BOOL(k, v) (SONDE_LOG_T_BOOL, "" k "", sonde__log_v_bool(v))
/* a finished sonde_log_tree (an object, an array or an error) */
#define SONDE_LOG_TREE(k, t) (SONDE_LOG_T_TREE, "" k "", sonde__log_v_tree(t))
#define SONDE_LOG_OBJ SONDE_LOG_TREE
#define SONDE_LOG_ARR SONDE_LOG_TREE
#define SONDE_LOG_ERR SONDE_LOG_TREE

#define SONDE__LOG_CAT(a, b) SONDE__LOG_CAT_(a, b)
#define SONDE__LOG_CAT_(a, b) a##b
#define SONDE__LOG_KEY(t, k, v) k
#define SONDE__LOG_TYPE(t, k, v) t
#define SONDE__LOG_VAL(t, k, v) v
#define SONDE__LOG_AP(m, f) m f
/* number of fields (1..16) after the message */
#define SONDE__LOG_NF(...) \
	SONDE__LOG_NF_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, x)
#define SONDE__LOG_NF_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, \
                       n, ...)                                                                     \
	n
/* F: message only; V: message and fields */
#define SONDE__LOG_SEL(...) \
	SONDE__LOG_NF_(__VA_ARGS__, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, F, x)

#define SONDE__LOG_M1(m, a) SONDE__LOG_AP(m, a)
#define SONDE__LOG_M2(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M1(m, __VA_ARGS__)
#define SONDE__LOG_M3(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M2(m, __VA_ARGS__)
#define SONDE__LOG_M4(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M3(m, __VA_ARGS__)
#define SONDE__LOG_M5(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M4(m, __VA_ARGS__)
#define SONDE__LOG_M6(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M5(m, __VA_ARGS__)
#define SONDE__LOG_M7(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M6(m, __VA_ARGS__)
#define SONDE__LOG_M8(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M7(m, __VA_ARGS__)
#define SONDE__LOG_M9(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M8(m, __VA_ARGS__)
#define SONDE__LOG_M10(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M9(m, __VA_ARGS__)
#define SONDE__LOG_M11(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M10(m, __VA_ARGS__)
#define SONDE__LOG_M12(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M11(m, __VA_ARGS__)
#define SONDE__LOG_M13(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M12(m, __VA_ARGS__)
#define SONDE__LOG_M14(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M13(m, __VA_ARGS__)
#define SONDE__LOG_M15(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M14(m, __VA_ARGS__)
#define SONDE__LOG_M16(m, a, ...) SONDE__LOG_AP(m, a), SONDE__LOG_M15(m, __VA_ARGS__)
#define SONDE__LOG_MAP(m, ...) \
	SONDE__LOG_CAT(SONDE__LOG_M, SONDE__LOG_NF(x, __VA_ARGS__))(m, __VA_ARGS__)

/* sf, st, si: the call's sampling (all 0: the logger's) */
#define SONDE__LOG_SITE_FLAGS(sf) \
	((unsigned char)(SONDE_LOG_SITE_F_STATE | ((sf) ? SONDE_LOG_SITE_F_CALL : 0u)))
#define SONDE__LOG_F(lvl, sf, st, si, logger, msg)                                           \
	do {                                                                                 \
		sonde_logger *const sonde__lg = (logger);                                    \
		if (sonde__log_on(sonde__lg, (lvl))) {                                       \
			static sonde_log_site_state sonde__st = {0, 0, (sf), (st), (si), 0}; \
			static const sonde_log_site sonde__site = {                          \
			        "" msg "", __FILE__, 0, 0,                                   \
			        __LINE__,  (lvl),    0, SONDE__LOG_SITE_FLAGS(sf),           \
			        &sonde__st};                                                 \
			sonde__log_emit(sonde__lg, &sonde__site, 0);                         \
		}                                                                            \
	} while (0)

#define SONDE__LOG_V(lvl, sf, st, si, logger, msg, ...)                                      \
	do {                                                                                 \
		sonde_logger *const sonde__lg = (logger);                                    \
		if (sonde__log_on(sonde__lg, (lvl))) {                                       \
			static const char *const sonde__keys[] = {                           \
			        SONDE__LOG_MAP(SONDE__LOG_KEY, __VA_ARGS__)};                \
			static const unsigned char sonde__types[] = {                        \
			        SONDE__LOG_MAP(SONDE__LOG_TYPE, __VA_ARGS__)};               \
			static sonde_log_site_state sonde__st = {0, 0, (sf), (st), (si), 0}; \
			static const sonde_log_site sonde__site = {                          \
			        "" msg "",                                                   \
			        __FILE__,                                                    \
			        sonde__keys,                                                 \
			        sonde__types,                                                \
			        __LINE__,                                                    \
			        (lvl),                                                       \
			        (unsigned char)(sizeof(sonde__types)),                       \
			        SONDE__LOG_SITE_FLAGS(sf),                                   \
			        &sonde__st};                                                 \
			const sonde_log_value sonde__vals[] = {                              \
			        SONDE__LOG_MAP(SONDE__LOG_VAL, __VA_ARGS__)};                \
			sonde__log_emit(sonde__lg, &sonde__site, sonde__vals);               \
		}                                                                            \
	} while (0)

#define SONDE__LOG(lvl, logger, ...)                             \
	SONDE__LOG_CAT(SONDE__LOG_, SONDE__LOG_SEL(__VA_ARGS__)) \
	(lvl, 0u, 0u, 0u, logger, __VA_ARGS__)

/* ---- sampling ------------------------------------------------------------------
 * Hot call sites can be sampled as zap does: per call site and interval,
 * the first N records are written, then one in M, the rest are dropped
 * before they reach the ring (cheaper than a written call: no timestamp,
 * no copy) and counted per level (sonde_log_sampled_total() and the
 * self-metric sonde_log_sampled_total{level}). Off by default. Set it
 * per logger (sonde_log_opts.sample_*: every call site of that logger,
 * error and fatal excepted unless sample_errors), or per call:
 *
 *   LOG_SAMPLED(SONDE_LOG_LEVEL_INFO, log, 10, 100, 1000, "cache miss",
 *               LOG_STR("key", k));   // 10 a second, then 1 in 100
 *
 * A per-call setting applies at any level (it is explicit), and overrides
 * the logger's. The state (an interval number and a count) lives in a
 * static beside the call site, shared by every thread and logger using
 * it, updated with relaxed atomics (no lock; counts are exact, the reset
 * at an interval's start is racy as zap's is: a few records around it may
 * be judged by either interval). sonde_log_write() keeps one state per
 * interned (level, keys, types) combination. Records kept by the flight
 * recorder (below the logger's level) are not sampled. The interval clock
 * is CLOCK_MONOTONIC_COARSE. first 0 with a per-call setting means that
 * only one in thereafter is written. */
#define SONDE_LOG_SAMPLED(lvl, logger, first, thereafter, interval_ms, ...)                     \
	SONDE__LOG_CAT(SONDE__LOG_, SONDE__LOG_SEL(__VA_ARGS__))                                \
	(lvl, (uint32_t)(first) + 0x80000000u, (uint32_t)(thereafter), (uint32_t)(interval_ms), \
	 logger, __VA_ARGS__)

/* Records sampled out so far at level (0..5; 0 for anything else), all
 * loggers, since the process started. Relaxed loads; any thread. */
SONDE_API uint64_t sonde_log_sampled_total(int level);

#define SONDE_LOG_TRACE(logger, ...) SONDE__LOG(SONDE_LOG_LEVEL_TRACE, logger, __VA_ARGS__)
#define SONDE_LOG_DEBUG(logger, ...) SONDE__LOG(SONDE_LOG_LEVEL_DEBUG, logger, __VA_ARGS__)
#define SONDE_LOG_INFO(logger, ...) SONDE__LOG(SONDE_LOG_LEVEL_INFO, logger, __VA_ARGS__)
#define SONDE_LOG_WARN(logger, ...) SONDE__LOG(SONDE_LOG_LEVEL_WARN, logger, __VA_ARGS__)
#define SONDE_LOG_ERROR(logger, ...) SONDE__LOG(SONDE_LOG_LEVEL_ERROR, logger, __VA_ARGS__)
#define SONDE_LOG_FATAL(logger, ...) SONDE__LOG(SONDE_LOG_LEVEL_FATAL, logger, __VA_ARGS__)

#ifndef SONDE_NO_SHORT_MACROS
#define LOG_TRACE SONDE_LOG_TRACE
#define LOG_DEBUG SONDE_LOG_DEBUG
#define LOG_INFO SONDE_LOG_INFO
#define LOG_WARN SONDE_LOG_WARN
#define LOG_ERROR SONDE_LOG_ERROR
#define LOG_FATAL SONDE_LOG_FATAL
#define LOG_STR SONDE_LOG_STR
#define LOG_STRN SONDE_LOG_STRN
#define LOG_INT SONDE_LOG_INT
#define LOG_UINT SONDE_LOG_UINT
#define LOG_DOUBLE SONDE_LOG_DOUBLE
#define LOG_BOOL SONDE_LOG_BOOL
#define LOG_OBJ SONDE_LOG_OBJ
#define LOG_ARR SONDE_LOG_ARR
#define LOG_ERR SONDE_LOG_ERR
#define LOG_SAMPLED SONDE_LOG_SAMPLED
#endif

#ifdef __cplusplus
}
#endif
#endif /* SONDE_LOG_H */
