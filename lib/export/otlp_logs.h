/*
 * lib/export/otlp_logs.h - log records over OTLP (internal): the encoders
 * of one LogRecord and of a whole ExportLogsServiceRequest
 * (otlp_log_encode.c), the chunks the OTLP log sink (otlp_logs.c) hands
 * to the exporter, and the exporter's side of that hand-over
 * (otlp_exporter.c).
 *
 * A chunk is a run of records of one logger, already encoded on the
 * logger's backend thread: in protobuf, each record as a whole
 * ScopeLogs.log_records field (tag 2, length, LogRecord); in OTLP/JSON,
 * LogRecord objects separated by commas. The export thread wraps the
 * chunks of one batch in ResourceLogs (the process's resource, as for
 * spans) with one ScopeLogs per chunk, whose InstrumentationScope name
 * is the chunk's logger's service name.
 *
 * Mapping of a record (logs/v1/logs.proto, the OTLP/JSON mapping):
 *   time_unix_nano          the log call's time
 *   observed_time_unix_nano when the backend read the record
 *   severity_number/_text   TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17,
 *                           FATAL 21 / "TRACE" ... "FATAL"
 *   body                    the message, a string AnyValue
 *   attributes              the bound, scoped and call fields (last one
 *                           of a key kept, log_record.h), typed: int64 ->
 *                           int_value; uint64 -> int_value up to
 *                           INT64_MAX, above it string_value (the decimal
 *                           digits: exact, unlike a double); double ->
 *                           double_value; bool -> bool_value; string ->
 *                           string_value; a NULL string or tree -> an
 *                           empty AnyValue; a redacted value ->
 *                           "[REDACTED]"; an object -> kvlist_value; an
 *                           array -> array_value; the first error value ->
 *                           exception.type, exception.message,
 *                           exception.stacktrace (semantic conventions),
 *                           later ones a kvlist {type, message,
 *                           stacktrace} under their key. Then, unless a
 *                           field has the key: correlation_id (string),
 *                           thread.id (int), _truncated and _replayed
 *                           (true, as in the json line).
 *   dropped_attributes_count fields beyond SONDE__LOG_ATTRS_MAX
 *   trace_id, span_id       the record's trace context (bytes; absent
 *                           without one), flags = its W3C trace flags
 * Invalid UTF-8 in any string becomes U+FFFD, as in spans.
 */
#ifndef SONDE_EXPORT_OTLP_LOGS_H
#define SONDE_EXPORT_OTLP_LOGS_H

#include "export/otlp.h"
#include "log/log_record.h"

#define SONDE__OTLP_SCOPE_MAX 255

typedef struct sonde__otlp_log_chunk {
	struct sonde__otlp_log_chunk *next;
	sonde_buf recs; /* the encoded records (above) */
	size_t n;       /* how many */
	bool json;      /* OTLP/JSON, else protobuf */
	size_t scope_len;
	char scope[SONDE__OTLP_SCOPE_MAX + 1];
} sonde__otlp_log_chunk;

/* ---- otlp_log_encode.c ------------------------------------------------------- */
/* One record appended to b, as a chunk holds it (errors: b->oom). */
void sonde__otlp_log_record_pb(sonde_buf *b, const sonde__log_view *v, int64_t observed_ns);
void sonde__otlp_log_record_json(sonde_buf *b, const sonde__log_view *v, int64_t observed_ns);
/* The request carrying chunks c[0..n) (all of one encoding) into b. */
void sonde__otlp_logs_request(sonde_buf *b, sonde__otlp_log_chunk *const *c, size_t n, bool json);
/* A new empty chunk (NULL: out of memory); freeing one (NULL: no-op). */
sonde__otlp_log_chunk *sonde__otlp_log_chunk_new(bool json, const char *scope, size_t len);
void sonde__otlp_log_chunk_free(sonde__otlp_log_chunk *c);

/* ---- otlp_exporter.c ---------------------------------------------------------- */
/* The sink's calls, on the logger's backend thread. enter: true when the
 * exporter takes log records now (then *json is its encoding and *batch
 * its max_export_batch_size), and the exporter is held (its shutdown
 * waits) until leave; false: not running or OTEL_LOGS_EXPORTER=none
 * (nothing to leave). */
bool sonde__otlp_logs_enter(bool *json, size_t *batch);
void sonde__otlp_logs_leave(void);
/* Between enter and leave: hands over c (may be NULL) and `oom` more
 * records that could not be encoded (counted as dropped, out of memory).
 * Never blocks: a full queue drops the chunk (counted). Takes c. */
void sonde__otlp_logs_submit(sonde__otlp_log_chunk *c, uint64_t oom);

#endif
