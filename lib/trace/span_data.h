/*
 * lib/trace/span_data.h - the record of a recorded (sampled) span: the
 * OpenTelemetry span model with every string copied, owned by the span
 * until it ends, then by the span processor (the exporter, next layer up)
 * or freed. span_record.c builds it, trace_span.c starts and ends it.
 *
 * Memory: one allocation for the record itself (inline room for 8
 * attributes and 512 bytes of strings, packed back to back), then blocks from the record's own
 * arena for longer strings, more attributes, events and links; all of it
 * is freed at once by sonde__span_data_free.
 */
#ifndef SONDE_TRACE_SPAN_DATA_H
#define SONDE_TRACE_SPAN_DATA_H

#include "trace/trace_int.h"

typedef struct sonde__arena_block {
	struct sonde__arena_block *next;
	size_t cap, used;
	/* data follows, 16-byte aligned */
} sonde__arena_block;

#define SONDE__SPAN_INLINE_ATTRS 8
#define SONDE__SPAN_INLINE_BYTES 512

/* sonde__span_data_new sets the header one field at a time (no memset): a
 * field added here is set there too. */
typedef struct sonde__span_data {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zero for a root span */
	uint8_t trace_flags;
	uint32_t kind;                      /* sonde_span_kind */
	int64_t start_unix_ns, end_unix_ns; /* set at the end */
	int64_t start_mono_ns;
	const char *name; /* copies, NUL-terminated */
	size_t name_len;
	sonde_span_status status;
	const char *status_msg; /* copy or NULL */
	size_t status_msg_len;
	sonde_span_attr *attrs;
	uint32_t attr_count, attr_cap, attrs_dropped;
	sonde_span_event *events;
	uint32_t event_count, event_cap, events_dropped;
	sonde_span_link *links;
	uint32_t link_count, link_cap, links_dropped;
	sonde__arena_block *blocks;          /* the arena past the inline bytes */
	struct sonde__span_data *spare_next; /* a spare: the next one */
	size_t inline_used;
	uint32_t key_tag[SONDE__SPAN_INLINE_ATTRS]; /* of the first attributes' keys */
	sonde_span_attr inline_attrs[SONDE__SPAN_INLINE_ATTRS];
	_Alignas(16) char inline_bytes[SONDE__SPAN_INLINE_BYTES];
} sonde__span_data;

/* Makes the record of span (started, sampled): copies its identity, name,
 * start time (wall clock derived from its monotonic start), kind, status and
 * the inline attributes. NULL on out-of-memory (counted). */
sonde__span_data *sonde__span_data_new(const sonde_span *span);
/* At the span's end: the wall-clock end (the monotonic end through an
 * offset between the clocks at most a second old: no clock read) and the
 * start derived from it and the monotonic duration, so end - start is
 * exactly the measured duration. */
void sonde__span_data_end(sonde__span_data *d, int64_t duration_ns);
/* The wall-clock start: exact after the end, estimated before it. */
int64_t sonde__span_data_start_unix(const sonde__span_data *d);
/* Frees the record and everything it holds (the struct itself waits in a
 * bounded pool of spares for the next new record: see span_record.c). NULL
 * is a no-op. Any thread. */
void sonde__span_data_free(sonde__span_data *d);
/* Frees the spares in the pool (the allocation-failure suite, so that a
 * new record allocates again). */
void sonde__span_data_pool_drain(void);

/* Adds (or replaces, by key) one attribute; dropped and counted past the
 * limit or on out-of-memory. a->str_len (size_t)-1 means NUL-terminated. */
void sonde__span_data_set_attr(sonde__span_data *d, const sonde_span_attr *a);
void sonde__span_data_set_status(sonde__span_data *d, sonde_span_status st, const char *msg);
/* An event (unix_ns <= 0: now) / a link (ctx valid), with n attributes
 * copied up to the per-event / per-link limit; past the span's event /
 * link limit, or on out-of-memory, dropped and counted. */
void sonde__span_data_add_event(sonde__span_data *d, const char *name, int64_t unix_ns,
                                const sonde_span_attr *attrs, size_t n);
void sonde__span_data_add_link(sonde__span_data *d, const sonde_span_context *ctx,
                               const sonde_span_attr *attrs, size_t n);

/* The span processor: who takes the record of each recorded span when it
 * ends (the exporter's queue). on_end owns d from then on (it frees it
 * with sonde__span_data_free, on any thread). p is the caller's and must
 * outlive its use (static storage); NULL removes it. While one is set,
 * every sampled span is recorded from its start. */
typedef struct sonde__span_processor {
	void (*on_end)(sonde__span_data *d, void *arg);
	void *arg;
} sonde__span_processor;
void sonde__trace_set_processor(const sonde__span_processor *p);
/* Called by sonde_span_end: hands d to the processor, or frees it. */
void sonde__span_data_finish(sonde__span_data *d);
/* True while a processor is set (relaxed: a span that starts while one is
 * being set may or may not be recorded from its start). */
bool sonde__trace_recording(void);
/* Records that could not be made (out of memory), process-wide. */
uint64_t sonde__trace_records_failed(void);

/* Calls fn for each attribute of the process's resource (resource.c),
 * under the resource's lock (fn must not call back into the resource or
 * take a lock that ranks below it); the pointers are valid during the
 * call only. process.pid comes last, outside the lock. */
void sonde__resource_foreach(void (*fn)(void *arg, const sonde_span_attr *a), void *arg);

#endif
