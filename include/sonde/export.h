/*
 * sonde/export.h - OTLP/HTTP export of spans to an OpenTelemetry Collector,
 * Jaeger, or anything that accepts OTLP over HTTP (port 4318 by default).
 *
 *   sonde_otlp_start(NULL);        // configured by the OTEL_* variables
 *   ... spans end on any thread ...
 *   sonde_otlp_shutdown(2000);     // at most 2 s, then what is left is dropped
 *
 * What it does: once started, every sampled span is recorded (its
 * OpenTelemetry record, see sonde/trace.h) and, when it ends, handed to a
 * bounded queue without a lock and without blocking: a full queue drops
 * the span and counts it. A background thread takes batches (at most
 * max_export_batch_size spans, at least every schedule_delay_ms, or as
 * soon as a full batch is queued), encodes them as one OTLP
 * ExportTraceServiceRequest (protobuf, or OTLP/JSON) and POSTs it to the
 * traces endpoint (default http://localhost:4318/v1/traces), gzipped when
 * configured and zlib is built in.
 *
 * Failures: 429, 502, 503, 504 and connection errors (refused, reset,
 * closed mid-response, timed out) are retried with exponential backoff and
 * jitter (retry_initial_ms doubling up to retry_max_ms, each wait drawn in
 * [half, whole]), or after the Retry-After the server sent, as long as the
 * batch's export timeout (export_timeout_ms from the first attempt) leaves
 * room; then the batch is dropped and counted as failed. Any other status
 * (400 and the rest of 4xx and 5xx) drops the batch at once, counted as
 * rejected. A 2xx counts the batch as exported, less the spans a
 * partial-success body (ExportTracePartialSuccess.rejected_spans, in the
 * request's encoding) says the collector rejected: those are dropped as
 * partial_success and not sent again. A 2xx body that is not a valid
 * response counts the whole batch as exported.
 *
 * Log records (sonde_otlp_log_sink, below) go the same way to the logs
 * endpoint, with their own queue and their own export thread: a collector
 * down for one signal does not delay the other.
 *
 * Accounting: every span handed to the exporter ends exactly once as
 * exported or dropped by one reason (queue full, rejected, failed,
 * shutdown, out of memory, partial success), so after shutdown
 *   exported + dropped_* == spans handed over (sonde_otlp_stats.spans_ended).
 *
 * TLS is out of scope: only http:// endpoints. The usual setup is a local
 * Collector or agent on plain HTTP that forwards with TLS.
 *
 * Fork: in a child the exporter thread does not exist; the spans queued in
 * the parent are the parent's to send and are discarded from the child's
 * copy of the queue (not counted in the child, whose statistics start at
 * zero), and the child's export threads start again with the child's
 * first ended span or first log record of an OTLP log sink. Exit: an atexit handler shuts the
 * exporter down within 1000 ms (sooner when the queue drains); a dead collector never holds exit
 * longer.
 */
#ifndef SONDE_EXPORT_H
#define SONDE_EXPORT_H

#include "sonde/common.h"
#include "sonde/log.h"
#include "sonde/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sonde_otlp_protocol {
	SONDE_OTLP_PROTOCOL_DEFAULT = 0, /* OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, else protobuf */
	SONDE_OTLP_PROTOCOL_PROTOBUF = 1,
	SONDE_OTLP_PROTOCOL_JSON = 2
} sonde_otlp_protocol;

typedef enum sonde_otlp_compression {
	SONDE_OTLP_COMPRESSION_DEFAULT = 0, /* OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION, else none */
	SONDE_OTLP_COMPRESSION_NONE = 1,
	SONDE_OTLP_COMPRESSION_GZIP = 2 /* SONDE_EINVAL when zlib is not built in */
} sonde_otlp_compression;

/* Options: set size = sizeof(sonde_otlp_options) and zero the rest; a zero
 * (or NULL) field takes the OTEL_* variable that sets the same thing, and
 * the OpenTelemetry default when that is unset. Durations in ms. */
typedef struct sonde_otlp_options {
	size_t size;
	const char *endpoint;        /* the full traces URL, http://host[:port][/path];
	                              * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
	                              * OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces",
	                              * [http://localhost:4318/v1/traces] */
	const sonde_header *headers; /* extra request headers (added to those of
	                              * OTEL_EXPORTER_OTLP[_TRACES]_HEADERS), copied */
	size_t nheaders;
	int timeout_ms;            /* one request [10000] */
	int protocol;              /* a sonde_otlp_protocol */
	int compression;           /* a sonde_otlp_compression */
	int schedule_delay_ms;     /* OTEL_BSP_SCHEDULE_DELAY [5000] */
	int export_timeout_ms;     /* OTEL_BSP_EXPORT_TIMEOUT [30000]: one batch,
	                            * retries included */
	int max_queue_size;        /* OTEL_BSP_MAX_QUEUE_SIZE [2048] */
	int max_export_batch_size; /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE [512], at
	                            * most max_queue_size */
	int retry_initial_ms;      /* first backoff [1000] */
	int retry_max_ms;          /* backoff ceiling [5000] */
	/* appended (a caller's smaller size reads it as NULL) */
	const char *logs_endpoint; /* the full logs URL;
	                            * OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, or
	                            * OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/logs",
	                            * [http://localhost:4318/v1/logs]. The other
	                            * fields serve both signals; the
	                            * OTEL_EXPORTER_OTLP_LOGS_* variables set the
	                            * logs' headers, timeout, compression and
	                            * protocol as the _TRACES_ ones do the spans' */
} sonde_otlp_options;

/* Starts the trace exporter: reads the OTEL_* variables (see
 * lib/export/otel_config.h for the list: OTEL_SDK_DISABLED,
 * OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES into
 * the resource, OTEL_TRACES_SAMPLER[_ARG] into the sampler, the endpoint,
 * headers, timeout, compression, protocol and OTEL_BSP_* variables), lays
 * the non-zero fields of o over them (o NULL: the variables alone), starts
 * the export thread and installs the span processor.
 * Returns:
 *   SONDE_OK      started; or not started because OTEL_SDK_DISABLED=true or
 *                 both OTEL_TRACES_EXPORTER=none and OTEL_LOGS_EXPORTER=none
 *                 (sonde_otlp_running() says which; with one of them none,
 *                 only the other signal is exported);
 *   SONDE_EINVAL  started, but some value (a variable or a field of o) was
 *                 invalid and its default is used instead: sonde_last_error()
 *                 names the last one (o->size too small: not started);
 *   SONDE_ESTATE  already running (stop it first);
 *   SONDE_ENOMEM, SONDE_EIO (the thread could not be created): not started.
 * Not thread-safe against sonde_otlp_shutdown (call both from one thread).
 * The export thread allocates while it encodes: a fork() then is safe with
 * glibc's malloc, but allocators without fork handlers (ASan's) may hang
 * the child; sonde_otlp_flush() before fork() avoids it. */
SONDE_API SONDE_WUR int sonde_otlp_start(const sonde_otlp_options *o);
/* True while the exporter runs. */
SONDE_API bool sonde_otlp_running(void);
/* Waits until every span and every log record queued before the call has
 * been exported or dropped, or timeout_ms (<= 0: 0) has passed (records
 * still in the logger are not queued yet: sonde_log_flush() first). SONDE_OK, SONDE_ETIMEDOUT,
 * SONDE_ESTATE when not running. Any thread; never called from the
 * export thread. */
SONDE_API SONDE_WUR int sonde_otlp_flush(int timeout_ms);
/* Stops taking spans and log records, exports what is queued for at most
 * timeout_ms (<= 0: none is sent), cutting a request or a retry wait short
 * at that deadline, drops (and counts as shutdown) what is left, joins the
 * threads and frees the log queue. The span queue's ring (16 bytes a
 * slot, a power of two at least max_queue_size) is kept for the next start
 * (a span ending during the shutdown may still read it); a start with a
 * bigger queue makes a new one and keeps the old. Returns SONDE_OK, SONDE_ETIMEDOUT (the
 * deadline dropped spans or records), SONDE_ESTATE when not running. Bounded: returns within
 * timeout_ms plus name resolution of one request (give a numeric address
 * to bound that too) plus a few ms. */
SONDE_API SONDE_WUR int sonde_otlp_shutdown(int timeout_ms);

typedef struct sonde_otlp_stats {
	size_t size;                   /* sizeof(sonde_otlp_stats), set by the caller */
	uint64_t spans_ended;          /* handed to the exporter */
	uint64_t spans_exported;       /* acknowledged with a 2xx */
	uint64_t dropped_queue_full;   /* the queue was full at the span's end */
	uint64_t dropped_rejected;     /* a non-retryable status (400, ...) */
	uint64_t dropped_failed;       /* retries ran out of the export timeout */
	uint64_t dropped_shutdown;     /* still queued at the shutdown's deadline */
	uint64_t dropped_oom;          /* the batch could not be encoded */
	uint64_t export_requests;      /* HTTP requests sent (retries included) */
	uint64_t export_failures;      /* of them, those that failed or were refused */
	uint64_t queue_length;         /* now */
	uint64_t export_duration_ns;   /* total time in export requests */
	uint64_t export_thread_cpu_ns; /* CPU time of the export thread */
	uint64_t dropped_partial;      /* a 2xx partial success: the collector
	                                * refused them (rejected_spans) */
	/* appended: log records (sonde_otlp_log_sink). export_requests,
	 * export_failures, export_duration_ns and export_thread_cpu_ns above
	 * count both signals. After a shutdown:
	 *   logs_exported + logs_dropped_* == logs_handed */
	uint64_t logs_handed;             /* handed to the exporter by OTLP log sinks */
	uint64_t logs_exported;           /* acknowledged with a 2xx */
	uint64_t logs_dropped_queue_full; /* the queue held max_queue_size records */
	uint64_t logs_dropped_rejected;   /* a non-retryable status */
	uint64_t logs_dropped_failed;     /* retries ran out of the export timeout */
	uint64_t logs_dropped_shutdown;   /* still queued at the shutdown's deadline */
	uint64_t logs_dropped_oom;        /* could not be encoded */
	uint64_t logs_dropped_partial;    /* rejected_log_records of a partial success */
	uint64_t logs_queue_length;       /* now */
	/* appended: the log records' share of export_requests,
	 * export_failures and export_duration_ns (the spans': the rest) */
	uint64_t logs_export_requests;
	uint64_t logs_export_failures;
	uint64_t logs_export_duration_ns;
} sonde_otlp_stats;

/* The exporter's self-metrics since it started (they survive its shutdown
 * until the next start). Any thread, but not during sonde_otlp_start or
 * sonde_otlp_shutdown. out NULL or out->size too small: no-op. */
SONDE_API void sonde_otlp_get_stats(sonde_otlp_stats *out);

/* ---- log records over OTLP ----------------------------------------------------
 * A log sink (attach it to a logger like the others: sonde_log_opts.sinks)
 * whose records go to the OTLP exporter's logs endpoint as OTLP LogRecords
 * (POST /v1/logs, an ExportLogsServiceRequest in the exporter's protocol,
 * gzip and headers; the same batching, retries, Retry-After, timeouts,
 * partial success and bounded shutdown as spans).
 *
 *   sonde_log_sink *otlp = sonde_otlp_log_sink(NULL);
 *   sonde_log_sink *sinks[] = {otlp, sonde_log_sink_stdout(NULL)};  // both
 *   ... sonde_log_opts.sinks = sinks, .nsinks = 2; sonde_logger_new(&opts) ...
 *   sonde_otlp_start(NULL);
 *   ...
 *   sonde_log_flush(1000); sonde_otlp_shutdown(2000);
 *
 * Where the work is done: the log call is unchanged (it copies the record
 * into the thread's ring, as for any sink); the logger's backend thread
 * encodes each record (in the exporter's protocol) and, at the end of each
 * of its batches or when a whole export batch is encoded, hands the
 * encoded records to the exporter without blocking; the export thread
 * sends them. The queue holds at most max_queue_size log records (apart
 * from the spans' queue): a full queue drops the records and counts them
 * (logs_dropped_queue_full).
 *
 * Mapping: time_unix_nano = the log call's time, observed_time_unix_nano =
 * when the backend read the record, severity_number TRACE 1, DEBUG 5, INFO
 * 9, WARN 13, ERROR 17, FATAL 21 and severity_text "TRACE".."FATAL", body =
 * the message (a string), attributes = the logger's bound fields, the
 * scoped fields and the call's fields (of a key given twice the last, as
 * in the json line), typed: int64 and uint64 up to INT64_MAX as int_value,
 * a larger uint64 as string_value (its decimal digits: exact), double,
 * bool, string; a NULL string or tree as an empty value; objects as
 * kvlist_value, arrays as array_value; the record's first error field as
 * exception.type, exception.message and exception.stacktrace (semantic
 * conventions), later ones as a kvlist {type, message, stacktrace}; then
 * correlation_id, thread.id, _truncated and _replayed when they apply
 * (unless a field has that key). Redacted keys carry "[REDACTED]". At most
 * 128 attributes; the rest are counted in dropped_attributes_count.
 * trace_id, span_id and flags (the W3C trace flags) come from the trace
 * context of the log call. The resource is the spans' (service.name, ...);
 * the InstrumentationScope name is the logger's service name
 * (sonde_log_opts.service). Invalid UTF-8 is sent as U+FFFD.
 *
 * opts: name (the sink's metric label, default "otlp") and level (records
 * below it are not sent); format and the key options are ignored. NULL:
 * the defaults. Returns the sink (free it with sonde_log_sink_free once
 * given to the loggers that use it), or NULL with the last error:
 * SONDE_ENOMEM; SONDE_EINVAL for a bad opts (size too small, level out of
 * range).
 *
 * The sink may be made and used before sonde_otlp_start and after
 * sonde_otlp_shutdown: the records it sees while the exporter is not
 * running, or runs with OTEL_LOGS_EXPORTER=none (or OTEL_SDK_DISABLED),
 * are dropped at once and never handed over (not counted in the
 * statistics). sonde_otlp_start starts the exporter when either signal is
 * enabled (OTEL_TRACES_EXPORTER=none with logs on exports only logs).
 * sonde_otlp_flush waits for the log records already handed over; the
 * logger's own buffered records are handed over by sonde_log_flush, so
 * flush both, the logger first. Fork: as for spans, the records queued in
 * the parent are not sent by the child. */
SONDE_API SONDE_WUR sonde_log_sink *sonde_otlp_log_sink(const sonde_log_sink_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
