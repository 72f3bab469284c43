/*
 * lib/export/otlp.h - OTLP encoders (internal): the records of ended spans
 * as one ExportTraceServiceRequest, in the OTLP/protobuf encoding (what
 * POST /v1/traces with Content-Type application/x-protobuf carries) or the
 * OTLP/JSON encoding (application/json).
 *
 * The messages and field numbers are those of the opentelemetry-proto
 * repository (opentelemetry/proto/collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto);
 * the JSON mapping is OTLP's: lowerCamelCase names, trace and span ids as
 * lowercase hex (not base64), 64-bit integers as decimal strings, enums
 * as numbers, non-finite doubles as "NaN", "Infinity", "-Infinity".
 *
 * One request holds one ResourceSpans (the process's resource, read once
 * per call) with one ScopeSpans (the tracer's instrumentation scope) and
 * the n spans in the order given. Strings that are not valid UTF-8 (an
 * attribute value set from raw bytes) are sent with each invalid
 * sequence replaced by U+FFFD: proto3 decoders (the Collector's) reject a
 * whole request that carries one invalid string.
 *
 * Errors: the buffer's own (b->oom set on out-of-memory; the bytes are
 * then not a valid message). The functions append to b; they allocate
 * only through it, take the resource's lock once (to read it) and keep
 * no state: any thread, any number of buffers.
 */
#ifndef SONDE_EXPORT_OTLP_H
#define SONDE_EXPORT_OTLP_H

#include "core/sonde-int.h"
#include "trace/span_data.h"

void sonde__otlp_traces_pb(sonde_buf *b, sonde__span_data *const *spans, size_t n);
void sonde__otlp_traces_json(sonde_buf *b, sonde__span_data *const *spans, size_t n);

/* Shared by the span and log encoders: a string field with invalid UTF-8
 * replaced by U+FFFD; the process's resource as field 1 of the enclosing
 * ResourceSpans/ResourceLogs (protobuf) or as `"resource":{...}` (JSON);
 * a double as proto3 JSON writes it. */
void sonde__otlp_pb_str(sonde_buf *b, uint32_t field, const char *s, size_t n);
void sonde__otlp_pb_resource(sonde_buf *b);
void sonde__otlp_js_resource(sonde_buf *b);
void sonde__otlp_js_double(sonde_buf *b, double v);

/* The partial success in a 2xx response's body (otlp_response.c): the
 * count the collector rejected (rejected_spans or rejected_log_records; 0
 * when the body is empty or has none; a negative count reads as 0) and its
 * error_message into msg (cap bytes, cut on a UTF-8 boundary, control
 * characters as '?', "" when none; msg may be NULL). json: the body is
 * OTLP/JSON, else protobuf. SONDE_EINVAL for a malformed body (then 0 and
 * ""): the caller counts the batch as delivered. */
int sonde__otlp_partial_success(const void *body, size_t len, bool json, int64_t *rejected,
                                char *msg, size_t cap);

#endif
