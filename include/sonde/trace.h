/*
 * sonde/trace.h - W3C Trace Context (traceparent, tracestate), W3C Baggage,
 * trace and span ids, spans with sampling, and the one-call propagation
 * helpers for a host's HTTP server and client.
 *
 * Conventions
 *   - Every parser takes (const char *s, size_t len): s need not be
 *     NUL-terminated and is never read past len. s may be NULL only when
 *     len is 0. Invalid input never crashes; it returns SONDE_EINVAL (or
 *     the code named below) and sets sonde_last_error().
 *   - traceparent parse/format, id generation and span start/end never
 *     allocate and never take a lock, with these exceptions: a thread's
 *     first span (or a deeper nesting than it has had) allocates its context
 *     stack (see context.h); when a span histogram is set, the first end of
 *     a span with a new name and status creates that histogram child (the
 *     family's lock and an allocation); a recorded span (a sampled span
 *     with an exporter installed, or with an event or link: see "the
 *     OpenTelemetry span model") allocates its record at start or at that
 *     call, and the record's blocks as it grows.
 *     tracestate, baggage and the carrier are opaque objects allocated
 *     once (through the installed allocator) and reused across requests.
 *   - Spec levels: traceparent follows Trace Context Level 1 plus Level 2's
 *     random-trace-id flag; tracestate keys follow Level 2's grammar by
 *     default (a superset of Level 1's), Level 1's can be selected.
 *
 * Thread-safety: the functions on an object (a sonde_tracestate, a
 * sonde_baggage, a sonde_trace_carrier, a sonde_span) need external
 * synchronisation if one object is shared between threads; distinct objects
 * are independent. Reading one object from several threads at once (get,
 * format, inject) is safe. The process-wide trace settings
 * (sonde_trace_set_*) may be changed at any time from any thread.
 */
#ifndef SONDE_TRACE_H
#define SONDE_TRACE_H

#include "common.h"
#include "context.h"
#include "log.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== ids ================================================================= */

/* Fills out with a new random trace id (16 bytes) / span id (8 bytes),
 * never all zero. A per-thread xoshiro256++ generator seeded from the
 * kernel (getrandom) on the thread's first use and again in a fork()ed
 * child, so parent and child never repeat each other's ids. Every byte is
 * random, so a trace id made here qualifies for SONDE_TRACE_FLAG_RANDOM.
 * A few ns; no allocation, no lock. NULL out is a no-op. */
SONDE_API void sonde_trace_id_generate(uint8_t out[16]);
SONDE_API void sonde_span_id_generate(uint8_t out[8]);

/* Writes the lowercase hex of n bytes of id to out (2n chars) plus a NUL:
 * out must hold 2n + 1 bytes. Returns 2n (0 and nothing written when id or
 * out is NULL). */
SONDE_API size_t sonde_id_to_hex(const uint8_t *id, size_t n, char *out);

/* ==== traceparent ========================================================= */

#define SONDE_TRACEPARENT_LEN 55      /* "00-" 32 "-" 16 "-" 2 */
#define SONDE_TRACEPARENT_BUFSZ 56    /* with the NUL */
#define SONDE_TRACE_FLAGS_KNOWN 0x03u /* sampled | random */

typedef struct sonde_traceparent {
	uint8_t version; /* as received (00..fe); format always writes 00 */
	uint8_t flags;   /* as received, all 8 bits */
	uint8_t trace_id[16];
	uint8_t parent_id[8];
} sonde_traceparent;

/* Parses one traceparent value exactly as W3C Trace Context says. s must
 * already be stripped of the header's optional whitespace (the carrier
 * helpers below do that). Rules:
 *   - lowercase hex only (uppercase is invalid), '-' separators;
 *   - version ff is invalid; version 00 must be exactly 55 characters;
 *   - a higher version needs at least 55 characters, is read at the 00
 *     positions, and the flags must be followed by the end or by '-'
 *     (the rest is ignored);
 *   - an all-zero trace id or parent id is invalid.
 * Flags are kept as received (unknown bits included); use
 * SONDE_TRACE_FLAGS_KNOWN to mask them. Returns SONDE_OK, or SONDE_EINVAL
 * (out NULL, or any rule broken; *out is then zeroed if out is not NULL).
 * No allocation. */
SONDE_API SONDE_WUR int sonde_traceparent_parse(const char *s, size_t len, sonde_traceparent *out);

/* Writes "00-<trace>-<parent>-<flags>" (55 chars, plus a NUL when cap >=
 * 56) with the flags masked to SONDE_TRACE_FLAGS_KNOWN, as the spec says
 * unknown bits must be sent as 0. Returns 55, or 0 with SONDE_EINVAL when
 * tp or out is NULL, cap < 55, or an id is all zero. No allocation. */
SONDE_API size_t sonde_traceparent_format(const sonde_traceparent *tp, char *out, size_t cap);

/* The same from a span context (its span_id becomes the parent-id).
 * Returns 55, or 0 with SONDE_EINVAL (ctx invalid, zero span id, ...). */
SONDE_API size_t sonde_span_context_format_traceparent(const sonde_span_context *ctx, char *out,
                                                       size_t cap);

/* ==== tracestate ========================================================== */

#define SONDE_TRACESTATE_MAX_MEMBERS 32
#define SONDE_TRACESTATE_KEY_MAX 256
#define SONDE_TRACESTATE_VALUE_MAX 256
#define SONDE_TRACESTATE_FORMAT_LIMIT 512 /* what the spec says to propagate */
#define SONDE_TRACESTATE_LONG_MEMBER 128  /* dropped first when truncating */

typedef struct sonde_tracestate sonde_tracestate;

typedef enum sonde_tracestate_keys {
	/* Level 2/3: [a-z0-9][a-z0-9_*-/@]{0,255}; accepts "foo@", "a@b@c". */
	SONDE_TRACESTATE_KEYS_LEVEL2 = 0,
	/* Level 1 REC: [a-z][a-z0-9_*-/]{0,255}, or tenant@system with tenant
	 * [a-z0-9][..]{0,240} and system [a-z][..]{0,13}. */
	SONDE_TRACESTATE_KEYS_LEVEL1 = 1
} sonde_tracestate_keys;

/* A new, empty tracestate (about 17 KB: 32 members of up to 256 + 256
 * bytes, so that parse and set never allocate again). NULL and
 * SONDE_ENOMEM on out-of-memory. Free with sonde_tracestate_free(). */
SONDE_API SONDE_WUR sonde_tracestate *sonde_tracestate_new(void);
/* Frees it. NULL is a no-op. */
SONDE_API void sonde_tracestate_free(sonde_tracestate *ts);
/* Removes every member (the key grammar setting stays). NULL is a no-op. */
SONDE_API void sonde_tracestate_clear(sonde_tracestate *ts);
/* Selects the key grammar used by parse and set (default Level 2).
 * SONDE_EINVAL on NULL or an unknown value. */
SONDE_API SONDE_WUR int sonde_tracestate_set_keys(sonde_tracestate *ts, sonde_tracestate_keys k);

/* Replaces the contents of ts with the parsed header. Empty members and
 * spaces/tabs around members are tolerated; a value keeps its leading
 * spaces; "" parses to an empty list. A key that appears more than once
 * keeps its first (left-most) member and the later ones are dropped: the
 * header is still propagated, as the W3C test suite expects (the spec lets
 * a vendor drop duplicates), and never sent with a duplicate. The whole
 * header is invalid (ts is left empty, SONDE_EINVAL) when any member is
 * malformed (bad key, no '=', empty value, a value character outside
 * 0x20-0x7E or ',' '=', a value ending in a space), even after a dropped
 * duplicate; more than 32 members (distinct keys) gives SONDE_ELIMIT (ts
 * left empty). SONDE_EINVAL when ts is NULL. */
SONDE_API SONDE_WUR int sonde_tracestate_parse(sonde_tracestate *ts, const char *s, size_t len);
/* The same for n header lines, which combine in order into one list (RFC
 * 9110): a key repeated across lines is a duplicate (the first is kept).
 * lens NULL means each line is NUL-terminated. */
SONDE_API SONDE_WUR int sonde_tracestate_parse_lines(sonde_tracestate *ts, size_t n,
                                                     const char *const *lines, const size_t *lens);

/* Adds or updates key (validated) with value (validated) and moves it to
 * the front, as the spec's mutation rules say; the other members keep
 * their order. Adding a 33rd member drops the right-most one.
 * SONDE_EINVAL on NULL arguments or an invalid key or value. */
SONDE_API SONDE_WUR int sonde_tracestate_set(sonde_tracestate *ts, const char *key, size_t key_len,
                                             const char *value, size_t value_len);
/* Removes key. SONDE_ENOENT if absent, SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_tracestate_remove(sonde_tracestate *ts, const char *key,
                                                size_t key_len);
/* Looks key up: true and *value, *value_len pointing into ts (valid until
 * ts changes) when present; false otherwise or on NULL. value/value_len
 * may be NULL. */
SONDE_API bool sonde_tracestate_get(const sonde_tracestate *ts, const char *key, size_t key_len,
                                    const char **value, size_t *value_len);
/* Number of members (0 on NULL). */
SONDE_API size_t sonde_tracestate_count(const sonde_tracestate *ts);
/* Member i, 0 = left-most: pointers into ts, valid until ts changes.
 * SONDE_ENOENT when i >= count, SONDE_EINVAL on NULL ts. Any out pointer
 * may be NULL. */
SONDE_API SONDE_WUR int sonde_tracestate_member(const sonde_tracestate *ts, size_t i,
                                                const char **key, size_t *key_len,
                                                const char **value, size_t *value_len);
/* Copies src into dst. SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_tracestate_copy(sonde_tracestate *dst, const sonde_tracestate *src);

/* Formats "k1=v1,k2=v2" into out (NUL-terminated when cap > 0) and returns
 * its length. When the list would pass limit characters (0 means
 * SONDE_TRACESTATE_FORMAT_LIMIT; it is also capped at cap - 1) whole
 * members are dropped, as the spec says: first members longer than 128
 * characters, right-most first, until it fits; then members from the
 * right. An empty list (the spec says not to send an empty header) or NULL
 * ts/out gives 0. No allocation. */
SONDE_API size_t sonde_tracestate_format(const sonde_tracestate *ts, size_t limit, char *out,
                                         size_t cap);

/* ==== baggage ============================================================= */

#define SONDE_BAGGAGE_MAX_MEMBERS 64 /* the spec's MUST-propagate count */
#define SONDE_BAGGAGE_MAX_BYTES 8192 /* ... and size of the header */

typedef struct sonde_baggage sonde_baggage;

/* A new, empty baggage. NULL with SONDE_ENOMEM on out-of-memory. */
SONDE_API SONDE_WUR sonde_baggage *sonde_baggage_new(void);
/* Frees it. NULL is a no-op. */
SONDE_API void sonde_baggage_free(sonde_baggage *b);
/* Removes every entry and keeps the memory. NULL is a no-op. */
SONDE_API void sonde_baggage_clear(sonde_baggage *b);

/* Replaces the contents with the parsed header:
 *   member = key OWS "=" OWS value *( OWS ";" OWS property ), joined by
 *   OWS "," OWS; property = key [ OWS "=" OWS value ]; key = RFC 7230
 *   token; value characters 0x21 0x23-2B 0x2D-3A 0x3C-5B 0x5D-7E.
 * Values (entry and property) are percent-decoded ("%41" -> "A", either
 * hex case); an incomplete escape ("%4", "%zz") is kept literally, as the
 * W3C reference parser does; decoded bytes that are not valid UTF-8 become
 * U+FFFD as the spec requires. Empty members (",,") are skipped. Duplicate
 * keys are kept (the spec allows them).
 * Returns SONDE_OK; SONDE_EINVAL when any member is malformed (the whole
 * header is dropped: b is left empty); SONDE_ELIMIT past the spec's limits,
 * 64 members or 8192 bytes measured on the header AS RECEIVED (each member's
 * bytes between its optional whitespace, plus one comma between members;
 * not the decoded or re-encoded size): b then holds the first members that
 * fit (whole members only, as the spec requires) and sonde_last_error()
 * says how many were dropped. SONDE_ENOMEM. */
SONDE_API SONDE_WUR int sonde_baggage_parse(sonde_baggage *b, const char *s, size_t len);
/* The same for n header lines combined into one list. lens NULL means
 * NUL-terminated lines. */
SONDE_API SONDE_WUR int sonde_baggage_parse_lines(sonde_baggage *b, size_t n,
                                                  const char *const *lines, const size_t *lens);

/* Sets key (a token) to value (any bytes; encoded when formatted), with
 * properties (NULL/0 for none) given in header syntax ("ttl=3;secret",
 * validated and percent-decoded like a parsed member's). Every earlier
 * entry with that key is removed and the new one is appended last.
 * SONDE_EINVAL (bad key or properties, NULL), SONDE_ELIMIT (the result
 * would pass 64 members or 8192 bytes, counting received members at their
 * received size and this one at its formatted size: nothing changes),
 * SONDE_ENOMEM. */
SONDE_API SONDE_WUR int sonde_baggage_set(sonde_baggage *b, const char *key, size_t key_len,
                                          const char *value, size_t value_len,
                                          const char *properties, size_t properties_len);
/* Removes every entry with key. SONDE_ENOENT if none, SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_baggage_remove(sonde_baggage *b, const char *key, size_t key_len);
/* The decoded value of the last entry with key (pointers into b, valid
 * until b changes; the value is NUL-terminated too). false when absent or
 * on NULL b/key. */
SONDE_API bool sonde_baggage_get(const sonde_baggage *b, const char *key, size_t key_len,
                                 const char **value, size_t *value_len);
/* Number of entries (0 on NULL). */
SONDE_API size_t sonde_baggage_count(const sonde_baggage *b);
/* Entry i in order: key, decoded value, and its properties in their
 * normalized header form ("ttl=3;secret", values percent-encoded; empty
 * when none). Pointers into b. SONDE_ENOENT past the end, SONDE_EINVAL on
 * NULL b. Any out pointer may be NULL. */
SONDE_API SONDE_WUR int sonde_baggage_entry(const sonde_baggage *b, size_t i, const char **key,
                                            size_t *key_len, const char **value, size_t *value_len,
                                            const char **properties, size_t *properties_len);
/* Appends the header value to out ("k=v;p,k2=v2"). Values (and property
 * values) are percent-encoded only where the spec requires it: bytes
 * outside baggage-octet, and '%'; the other characters ('!', '*', '\'',
 * '=', ...) are sent as they are, so a member that arrived that way goes
 * out at the size it came in. (The W3C reference serializer uses urllib's
 * quote(), which encodes more; both decode to the same value.) Members are
 * written in order until the next would pass 8192 bytes (possible only
 * when decoding grew a value: invalid UTF-8 became U+FFFD, or an
 * incomplete escape is sent as "%25..."); the rest are left out whole.
 * Returns SONDE_OK, SONDE_EINVAL on NULL, SONDE_ENOMEM (out->oom set). */
SONDE_API SONDE_WUR int sonde_baggage_format(const sonde_baggage *b, sonde_buf *out);

/* Stamps selected baggage members on log records: pushes a log scope
 * (sonde_log_scope_push, include/sonde/log.h) of string fields, one per
 * name in names[0..n) that b holds, keyed by that name, valued by the
 * member's decoded value (the last member of that key); names b does not
 * hold are left out (the scope is pushed all the same, so the pop is
 * unconditional). Nothing is copied: the names and b must stay valid and
 * unchanged until sonde_log_scope_pop(s). Values are decoded bytes, escaped
 * by the formatter like any string; a name that is one of the line's own
 * keys follows the key rules there.
 *   sonde_log_scope sc;
 *   static const char *const keep[] = {"tenant", "user_id"};
 *   if (sonde_log_scope_push_baggage(&sc, bag, keep, 2) == SONDE_OK) {
 *       ... every record of this thread carries "tenant" and "user_id"
 *       (void)sonde_log_scope_pop(&sc);
 *   }
 * SONDE_EINVAL on NULL s or b, NULL names with n > 0, a NULL or empty
 * name, n > SONDE_LOG_SCOPE_FIELDS, a name given twice; otherwise what
 * sonde_log_scope_push returns (SONDE_ELIMIT past its limits,
 * SONDE_ESTATE for a scope already pushed). No allocation, no lock. */
SONDE_API SONDE_WUR int sonde_log_scope_push_baggage(sonde_log_scope *s, const sonde_baggage *b,
                                                     const char *const *names, size_t n);

/* ==== sampling ============================================================ */

/* OpenTelemetry's TraceIdRatioBased decision, bit for bit as the Go SDK
 * does it: x = the trace id's last 8 bytes read big-endian, shifted right
 * by one; sampled when x < (uint64)(ratio * 2^63). ratio >= 1 always
 * samples, ratio <= 0 (or NaN) never does. NULL id gives false. */
SONDE_API bool sonde_trace_id_ratio_sample(const uint8_t trace_id[16], double ratio);

/* Sets the process-wide sampler: parent-based (a span whose parent context
 * is valid copies the parent's sampled flag, remote or local), with a
 * trace-id ratio root sampler for new traces. The default ratio is 1
 * (sample every new trace). Any thread, any time: a span that starts
 * concurrently sees the old or the new ratio. Never fails. */
SONDE_API void sonde_trace_set_sampler_ratio(double ratio);
/* The current ratio. */
SONDE_API double sonde_trace_sampler_ratio(void);

/* ==== spans =============================================================== */

#define SONDE_SPAN_ATTRS_MAX 8

typedef enum sonde_span_status {
	SONDE_SPAN_STATUS_UNSET = 0,
	SONDE_SPAN_STATUS_OK = 1,
	SONDE_SPAN_STATUS_ERROR = 2
} sonde_span_status;

typedef enum sonde_attr_type {
	SONDE_ATTR_STRING = 1,
	SONDE_ATTR_INT = 2,
	SONDE_ATTR_DOUBLE = 3,
	SONDE_ATTR_BOOL = 4,
	/* arrays (OpenTelemetry's homogeneous array values): str_len holds
	 * the element count, v.strs / ints / dbls / bools the elements */
	SONDE_ATTR_STRING_ARRAY = 5,
	SONDE_ATTR_INT_ARRAY = 6,
	SONDE_ATTR_DOUBLE_ARRAY = 7,
	SONDE_ATTR_BOOL_ARRAY = 8
} sonde_attr_type;

/* OpenTelemetry's SpanKind, with OTLP's numbers. */
typedef enum sonde_span_kind {
	SONDE_SPAN_KIND_INTERNAL = 1,
	SONDE_SPAN_KIND_SERVER = 2,
	SONDE_SPAN_KIND_CLIENT = 3,
	SONDE_SPAN_KIND_PRODUCER = 4,
	SONDE_SPAN_KIND_CONSUMER = 5
} sonde_span_kind;

typedef struct sonde_span_attr {
	const char *key; /* not copied */
	sonde_attr_type type;
	size_t str_len; /* a string's length; an array's element count */
	union {
		const char *str; /* not copied */
		int64_t i;
		double d;
		bool b;
		const char *const *strs; /* NUL-terminated elements (NULL: "") */
		const int64_t *ints;
		const double *dbls;
		const bool *bools;
	} v;
} sonde_span_attr;

/* Caller-owned span storage (usually on the stack): starting and ending a
 * span allocates nothing. Read it through the accessors and the fields
 * documented as readable; the rest is private to sonde. */
typedef struct sonde_span {
	sonde_context_scope scope; /* private: scope.ctx is the span's context */
	uint8_t parent_span_id[8]; /* readable: all zero for a root span */
	const char *name;          /* readable: not copied */
	size_t name_len;
	int64_t start_mono_ns;                       /* readable */
	int64_t duration_ns;                         /* readable after end */
	int64_t end_unix_ns;                         /* readable after end when a hook is set */
	const char *status_msg;                      /* readable: not copied */
	sonde_span_status status;                    /* readable */
	uint32_t attr_count;                         /* readable */
	uint32_t attrs_dropped;                      /* readable: beyond SONDE_SPAN_ATTRS_MAX */
	uint32_t state;                              /* private */
	sonde_span_attr attrs[SONDE_SPAN_ATTRS_MAX]; /* readable, attr_count */
	uint32_t kind;     /* readable: a sonde_span_kind (INTERNAL unless set) */
	uint32_t reserved; /* private */
	void *data;        /* private: the span's record (below), or NULL */
} sonde_span;

/* Starts a span named name (a NUL-terminated string that must stay valid
 * until sonde_span_end returns; NULL means "span") as a child of the
 * calling thread's current context, or as the root of a new trace when
 * there is none, and makes it the current context (attach). Its sampled
 * flag comes from the sampler (see above); the random flag is copied from
 * the parent or set for a new trace; the correlation id is inherited (or
 * derived from a new trace id). Never fails; NULL span is a no-op. End it
 * on the same thread, innermost first (other orders and threads are safe:
 * see sonde_span_end). Past SONDE_CONTEXT_DEPTH_MAX nested scopes on the
 * thread (or when its context stack cannot grow) the span still runs and is
 * measured but is not made current.
 * ~ two clock reads' worth of work. */
SONDE_API void sonde_span_start(sonde_span *span, const char *name);
/* The same with an explicit parent context (NULL or an invalid context
 * starts a new trace). A parent with a trace id but an all-zero span id
 * (what sonde_trace_extract gives for a request that brought no valid
 * traceparent) makes a root span of that trace, keeping its flags. */
SONDE_API void sonde_span_start_child_of(sonde_span *span, const char *name,
                                         const sonde_span_context *parent);

/* Ends the span: records its duration, restores the context that was
 * current before it started (detach), observes the duration in seconds in
 * the span histogram when one is set (every span, sampled or not; with its
 * status as a label), writes the span's log line when a span logger is set
 * (see sonde_trace_set_span_logger), then calls the span-end hook. A span ended twice, or never
 * started, is ignored. Ending spans out of order still records and reports the span, but leaves the
 * thread's context alone and sets SONDE_ESTATE as the last error: the span's entry is dropped from
 * the thread's context stack when the spans started after it end (start A, start B, end A: B stays
 * current; end B: what was current before A is restored). Ended on
 * another thread than the one that started it, the span is recorded and
 * reported the same, SONDE_ESTATE is set, and the starting thread's context
 * is left alone: that thread keeps a copy of the span's context as current
 * (end spans where they started). In every case the thread keeps no pointer
 * into the span: its storage may be freed as soon as this returns (after
 * the hook). A recorded span's record is then handed to the exporter, or
 * freed when none is installed. NULL is a no-op. */
SONDE_API void sonde_span_end(sonde_span *span);

/* Attributes. The inline array (attrs, attr_count) keeps the caller's
 * pointers: there key must be a string literal or outlive the span and
 * string values stay valid until sonde_span_end returns; past
 * SONDE_SPAN_ATTRS_MAX they are dropped from it and counted in
 * attrs_dropped. A recorded span (the OpenTelemetry model below) also
 * copies key and value into its record, up to the attribute limit (128 by
 * default), where setting a key again replaces its value as OpenTelemetry
 * does (read them with sonde_span_get_attrs). A NULL string value is "".
 * NULL span or key is a no-op; no-ops after end. */
SONDE_API void sonde_span_set_str(sonde_span *span, const char *key, const char *value);
SONDE_API void sonde_span_set_int(sonde_span *span, const char *key, int64_t value);
SONDE_API void sonde_span_set_double(sonde_span *span, const char *key, double value);
SONDE_API void sonde_span_set_bool(sonde_span *span, const char *key, bool value);
/* Sets the status (msg may be NULL; the inline status_msg keeps the
 * caller's pointer, a recorded span copies it, and keeps it only with
 * ERROR, as OpenTelemetry does). Once ERROR, a later OK does not clear it.
 * sonde_span_set_error(span, msg) = status ERROR. */
SONDE_API void sonde_span_set_status(sonde_span *span, sonde_span_status status, const char *msg);
SONDE_API void sonde_span_set_error(sonde_span *span, const char *msg);

/* The span's context (trace id, its span id, flags), or NULL for NULL. */
SONDE_API const sonde_span_context *sonde_span_get_context(const sonde_span *span);
/* True when the span's sampled flag is set (false on NULL). */
SONDE_API bool sonde_span_is_sampled(const sonde_span *span);

/* ==== the OpenTelemetry span model ==========================================
 * A sampled span is *recorded*: besides the inline fields above it gets a
 * record that copies its name, attributes (every type, up to the limits),
 * events, links, status message, kind and wall-clock times, so that what
 * it holds outlives the caller's strings: an exporter takes the record
 * when the span ends. The record is made at start when an exporter is
 * installed (nothing in this version installs one), else at the span's
 * first event, link or exception (the attributes set before are copied
 * into it then, and every later one as it is set). An unsampled
 * span is not recorded (OpenTelemetry's non-recording span): events, links
 * and exceptions on it are ignored, attributes stay inline as before.
 *
 * Out of memory never fails a span: a record that cannot be made leaves
 * the span unrecorded; an attribute, event or link that cannot be copied
 * is dropped and counted in the dropped counts below.
 * Thread-safety: like every call on a span, one thread at a time. */

/* Attribute constructors for events and links (no allocation; the strings
 * are copied by the call that receives them). */
static inline sonde_span_attr sonde_attr_str(const char *key, const char *v)
{
	sonde_span_attr a;
	a.key = key;
	a.type = SONDE_ATTR_STRING;
	a.v.str = v;
	a.str_len = (size_t)-1; /* NUL-terminated: measured by sonde */
	return a;
}
static inline sonde_span_attr sonde_attr_int(const char *key, int64_t v)
{
	sonde_span_attr a;
	a.key = key;
	a.type = SONDE_ATTR_INT;
	a.v.i = v;
	a.str_len = 0;
	return a;
}
static inline sonde_span_attr sonde_attr_double(const char *key, double v)
{
	sonde_span_attr a;
	a.key = key;
	a.type = SONDE_ATTR_DOUBLE;
	a.v.d = v;
	a.str_len = 0;
	return a;
}
static inline sonde_span_attr sonde_attr_bool(const char *key, bool v)
{
	sonde_span_attr a;
	a.key = key;
	a.type = SONDE_ATTR_BOOL;
	a.v.b = v;
	a.str_len = 0;
	return a;
}

/* Limits per recorded span (OpenTelemetry's SpanLimits; its defaults:
 * 128 attributes, events and links, 128 attributes per event and per link,
 * attribute values of any length). Past a limit the item is dropped and
 * counted. Process-wide; a span uses the limits in force when each item
 * is added. */
typedef struct sonde_span_limits {
	size_t size;                /* sizeof(sonde_span_limits) */
	uint32_t attrs;             /* per span */
	uint32_t events;            /* per span */
	uint32_t links;             /* per span */
	uint32_t attrs_per_event;   /* per event */
	uint32_t attrs_per_link;    /* per link */
	uint32_t attr_value_length; /* string values cut to this many bytes
	                             * (never inside a UTF-8 sequence); 0 = no limit */
} sonde_span_limits;
#define SONDE_SPAN_LIMIT_DEFAULT 128

/* Sets the limits (l NULL restores the defaults). SONDE_EINVAL when
 * l->size is below the first layout; a 0 count means the default. Any
 * thread, any time. */
SONDE_API SONDE_WUR int sonde_trace_set_limits(const sonde_span_limits *l);
/* The limits in force (out->size must be set; NULL is a no-op). */
SONDE_API void sonde_trace_get_limits(sonde_span_limits *out);

/* Sets the span's kind (INTERNAL by default). An unknown value, a NULL
 * span or an ended span is a no-op. */
SONDE_API void sonde_span_set_kind(sonde_span *span, sonde_span_kind kind);
/* A string attribute of len bytes (need not be NUL-terminated; value NULL
 * with len 0 is ""). Otherwise as sonde_span_set_str. */
SONDE_API void sonde_span_set_strn(sonde_span *span, const char *key, const char *value,
                                   size_t len);
/* Array attributes (n elements; values NULL means an empty array). As
 * the scalar setters: the inline array keeps the caller's pointers, a
 * recorded span copies the elements (each string cut by the value length
 * limit); one array counts as one attribute. */
SONDE_API void sonde_span_set_str_array(sonde_span *span, const char *key,
                                        const char *const *values, size_t n);
SONDE_API void sonde_span_set_int_array(sonde_span *span, const char *key, const int64_t *values,
                                        size_t n);
SONDE_API void sonde_span_set_double_array(sonde_span *span, const char *key, const double *values,
                                           size_t n);
SONDE_API void sonde_span_set_bool_array(sonde_span *span, const char *key, const bool *values,
                                         size_t n);
/* Adds an event named name (NULL: "event") at the current time, or at
 * unix_ns (nanoseconds since the epoch; 0 or negative = now), with n
 * attributes (attrs may be NULL when n is 0; an attribute with a NULL key
 * is skipped and counted as dropped). Name, keys and strings are copied.
 * Past the event limit, dropped and counted; past the per-event attribute
 * limit, those attributes are dropped and counted on the event. No-op on
 * NULL, on an ended span and on an unsampled one. Allocates (the record,
 * then its memory grows by blocks). */
SONDE_API void sonde_span_add_event(sonde_span *span, const char *name,
                                    const sonde_span_attr *attrs, size_t n);
SONDE_API void sonde_span_add_event_at(sonde_span *span, const char *name, int64_t unix_ns,
                                       const sonde_span_attr *attrs, size_t n);
/* OpenTelemetry's RecordException: an event named "exception" with the
 * attributes exception.type, exception.message and exception.stacktrace
 * (each only when not NULL). Does not change the status: call
 * sonde_span_set_error too when the exception failed the operation. */
SONDE_API void sonde_span_record_exception(sonde_span *span, const char *type, const char *message,
                                           const char *stacktrace);
/* Adds a link to another span's context (its trace id, span id and
 * flags; an invalid or NULL ctx is ignored) with n attributes, copied.
 * Limits and no-ops as for events. */
SONDE_API void sonde_span_add_link(sonde_span *span, const sonde_span_context *ctx,
                                   const sonde_span_attr *attrs, size_t n);

/* Reading a span (before its end, or in the span-end hook). */
typedef struct sonde_span_event {
	const char *name; /* copied, NUL-terminated */
	size_t name_len;
	int64_t time_unix_ns;
	const sonde_span_attr *attrs; /* copied; keys and strings NUL-terminated */
	uint32_t attr_count;
	uint32_t attrs_dropped;
} sonde_span_event;

typedef struct sonde_span_link {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t trace_flags;
	const sonde_span_attr *attrs; /* copied */
	uint32_t attr_count;
	uint32_t attrs_dropped;
} sonde_span_link;

/* True when the span has a record (see above); false on NULL. */
SONDE_API bool sonde_span_is_recording(const sonde_span *span);
/* The span's attributes: the record's copies (up to the limit) when it is
 * recorded, else the inline ones. *out gets the array (NULL when there
 * are none); returns the count. NULL span: 0. */
SONDE_API size_t sonde_span_get_attrs(const sonde_span *span, const sonde_span_attr **out);
/* Events and links of a recorded span (0 and NULL otherwise). */
SONDE_API size_t sonde_span_get_events(const sonde_span *span, const sonde_span_event **out);
SONDE_API size_t sonde_span_get_links(const sonde_span *span, const sonde_span_link **out);
/* What the limits (or out-of-memory) dropped; any pointer may be NULL. */
SONDE_API void sonde_span_get_dropped(const sonde_span *span, uint32_t *attrs, uint32_t *events,
                                      uint32_t *links);
/* The span's name and status message as recorded (copies) when it is,
 * else the caller's pointers; *len (may be NULL) gets the length. The
 * status message is NULL when there is none. */
SONDE_API const char *sonde_span_get_name(const sonde_span *span, size_t *len);
SONDE_API const char *sonde_span_get_status_message(const sonde_span *span);
/* Wall-clock start and end (nanoseconds since the epoch) of a recorded
 * span; 0 when not recorded (end: also before the end). */
SONDE_API int64_t sonde_span_get_start_unix_ns(const sonde_span *span);
SONDE_API int64_t sonde_span_get_end_unix_ns(const sonde_span *span);

/* ---- resource and instrumentation scope -------------------------------------
 * The process's resource, what an exporter sends with every batch:
 * service.name (default "unknown_service:<program name>", as OpenTelemetry
 * specifies), service.version and deployment.environment (unset until set),
 * telemetry.sdk.name "sonde", telemetry.sdk.language "cpp" (OpenTelemetry's
 * list has no C; C++ is the language of sonde's C ABI hosts' closest entry),
 * telemetry.sdk.version (sonde_version()), host.name (gethostname) and
 * process.pid (the calling process's pid, current after a fork).
 * Process-wide, guarded by a lock (fork-safe); set it at start-up. */

/* Sets (or replaces) a string attribute of the resource; value NULL
 * removes key. Copies both. SONDE_EINVAL on a NULL or empty key or on
 * invalid UTF-8, SONDE_ELIMIT past 128 attributes, SONDE_ENOMEM. */
SONDE_API SONDE_WUR int sonde_resource_set_str(const char *key, const char *value);
/* The same for an integer attribute. */
SONDE_API SONDE_WUR int sonde_resource_set_int(const char *key, int64_t value);
/* Shorthand: service.name, service.version, deployment.environment; a
 * NULL argument leaves that attribute as it is. Errors as above. */
SONDE_API SONDE_WUR int sonde_resource_set_service(const char *name, const char *version,
                                                   const char *environment);
/* Copies the string value of key into out (cap bytes, NUL-terminated,
 * cut to fit) and returns its full length; an integer value is written in
 * decimal. SONDE_ENOENT when key is not set, SONDE_EINVAL on NULL key or
 * NULL out with cap > 0. */
SONDE_API SONDE_WUR int sonde_resource_get(const char *key, char *out, size_t cap);
/* How many attributes the resource holds (process.pid included). */
SONDE_API size_t sonde_resource_count(void);

/* The instrumentation scope sent with the spans (default: name "sonde",
 * version sonde_version()). Copies both; version NULL means none.
 * SONDE_EINVAL on a NULL or empty name, SONDE_ENOMEM. */
SONDE_API SONDE_WUR int sonde_trace_set_scope(const char *name, const char *version);
/* Copies the scope's name and version into the caller's buffers (cut to
 * fit, NUL-terminated; either may be NULL with cap 0). */
SONDE_API void sonde_trace_get_scope(char *name, size_t name_cap, char *version,
                                     size_t version_cap);

/* ---- what happens when a span ends ----------------------------------------
 * RED metrics from one span: rate and duration from the histogram's count
 * and buckets, errors from its status label, and a log line per span.
 *
 * The span histogram: a histogram family with two labels, the span name
 * then its status, "ok" or "error" (SONDE_SPAN_STATUS_UNSET counts as
 * "ok", as OpenTelemetry's span metrics connector does; set the status with
 * sonde_span_set_status / sonde_span_set_error), or with one label (the
 * name only: no status dimension). sonde_trace_set_span_histogram(NULL)
 * turns it off. SONDE_EINVAL if f has another number of labels,
 * SONDE_ETYPE if it is not a histogram family. The family must outlive its
 * use here (unset it before freeing its registry). */
SONDE_API SONDE_WUR int sonde_trace_set_span_histogram(sonde_family *f);
/* Creates (or finds) the histogram family metric_name{name=...,status=...}
 * in r (NULL = default registry) with the default buckets, and sets it as
 * above. metric_name NULL means "span_duration_seconds". Errors of
 * sonde_histogram_family_new (SONDE_EEXIST-like refusals when the name is
 * registered with another definition, e.g. the {name}-only family of
 * earlier versions). */
SONDE_API SONDE_WUR int sonde_trace_enable_span_metrics(sonde_registry *r, const char *metric_name);

/* The span log line: one record per ended span through the span logger, at
 * its level (INFO unless set), whenever that logger's level lets it pass:
 *   {"level":"info",...,"message":"span","span_name":"db.query",
 *    "span_duration_s":0.0123,"span_status":"error",
 *    "span_status_message":"timeout","trace_id":"...","span_id":"..."}
 * span_status is "ok" or "error" as in the histogram's status label;
 * span_status_message only when the span has one. (The keys carry a span_
 * prefix so that they never clash with a host's own fields, such as an
 * HTTP "status" number, in a log store that types fields by name.) trace_id and span_id are the
 * ended span's own (the logger stamps the current context, and the line is written with the span's
 * context current), so the line joins the histogram's exemplar and the trace.
 *
 * Enabled by default: the lines go through the process's default logger
 * (sonde_log_default_logger: the oldest live root logger) at INFO, so a
 * host that made a logger gets them with no call. A process with no logger
 * writes none. sonde_trace_set_span_logger(l, level) names another logger
 * (a child with the fields the host wants on span lines, say) and the
 * level; l NULL turns the lines off. Once called, the default is no longer
 * followed. A level out of TRACE..FATAL is SONDE_EINVAL, and nothing
 * changes. The logger must outlive its use here: a logger named here must
 * be un-named (set NULL) and spans ending on other threads let finish
 * before sonde_logger_free(); the default logger may be freed once no
 * thread ends spans (its successor, or nothing, takes over). Any thread,
 * any time: a concurrent span end uses the old or the new logger, at the
 * old or the new level. Cost when on: one sonde_log_write() per span (no
 * lock in the steady state, no allocation) plus a context attach/detach;
 * when the logger's level filters the line out, two relaxed loads and an
 * acquire load. */
SONDE_API SONDE_WUR int sonde_trace_set_span_logger(sonde_logger *l, sonde_log_level level);
/* Back to the default: the span lines follow sonde_log_default_logger()
 * again (the level set last stays). Any thread. */
SONDE_API void sonde_trace_reset_span_logger(void);
/* The span logger now in use (NULL when none) and, when level is not NULL,
 * the level of its lines. */
SONDE_API sonde_logger *sonde_trace_span_logger(sonde_log_level *level);

/* The span-end hook, for the host to install: to log more of each
 * finished span than the span log line does (its attributes) or to hand it
 * to an exporter. Nothing in sonde installs one. fn runs on the thread that ends the
 * span, after the duration was recorded and the context restored, with the span still readable (its
 * attributes' strings are still valid). It must not end the span again.
 * One hook at a time: setting one replaces the previous; fn NULL removes
 * it. Any thread, any time: a concurrent span end calls either the old or
 * the new (fn, arg) pair, never a mix. */
typedef void (*sonde_span_end_fn)(const sonde_span *span, void *arg);
SONDE_API void sonde_trace_set_span_end_hook(sonde_span_end_fn fn, void *arg);

/* ==== propagation over HTTP ================================================ */

#define SONDE_REQUEST_ID_MAX SONDE_CORRELATION_ID_MAX

typedef struct sonde_header {
	const char *name; /* any case */
	size_t name_len;
	const char *value; /* optional whitespace around it is ignored */
	size_t value_len;
} sonde_header;

/* What came in with one request: its context, tracestate and baggage.
 * Opaque; reuse one per connection or thread. */
typedef struct sonde_trace_carrier sonde_trace_carrier;

/* NULL with SONDE_ENOMEM on out-of-memory. */
SONDE_API SONDE_WUR sonde_trace_carrier *sonde_trace_carrier_new(void);
/* NULL is a no-op. */
SONDE_API void sonde_trace_carrier_free(sonde_trace_carrier *c);

/* The server's one call. Reads the request's headers (names in any case;
 * repeated tracestate and baggage lines combine; values trimmed of spaces
 * and tabs) and fills c:
 *   - exactly one valid traceparent: the context is the remote parent
 *     (trace id, its parent-id as span id, known flags, is_remote 1), and
 *     tracestate is parsed (an invalid one is dropped whole);
 *   - none, two, or an invalid one: a new trace (fresh trace id, span id
 *     all zero, the random flag, the sampled flag from the root sampler),
 *     tracestate ignored;
 *   - baggage parsed in both cases (dropped whole when malformed; over the
 *     limits, the members that fit are kept);
 *   - the correlation id: x-request-id, else x-correlation-id, when
 *     1..64 characters of [A-Za-z0-9._:/+=@-]; otherwise the trace id in
 *     hex.
 * Then start a server span with sonde_span_start_child_of(&span, name,
 * sonde_trace_carrier_context(c)), or attach that context directly.
 * Returns SONDE_OK (even when a header was invalid: that is a normal
 * outcome, counted nowhere but visible in sonde_trace_carrier_continued),
 * SONDE_EINVAL on NULL c or NULL headers with n > 0. No allocation. */
SONDE_API SONDE_WUR int sonde_trace_extract(sonde_trace_carrier *c, const sonde_header *headers,
                                            size_t n);
/* The context extract produced (never NULL for a non-NULL c; NULL for NULL). */
SONDE_API const sonde_span_context *sonde_trace_carrier_context(const sonde_trace_carrier *c);
/* True when the request's traceparent was valid and is being continued. */
SONDE_API bool sonde_trace_carrier_continued(const sonde_trace_carrier *c);
/* The carrier's tracestate and baggage, to read or mutate before inject
 * (owned by c). NULL on NULL. */
SONDE_API sonde_tracestate *sonde_trace_carrier_tracestate(sonde_trace_carrier *c);
SONDE_API sonde_baggage *sonde_trace_carrier_baggage(sonde_trace_carrier *c);

/* Outgoing headers, caller-owned. headers[0..count-1] point into this
 * struct: traceparent always, then tracestate and baggage when non-empty.
 * Start with SONDE_TRACE_HEADERS_INIT (or zero it), reuse it, and release
 * it with sonde_trace_headers_destroy(). */
typedef struct sonde_trace_headers {
	size_t count;
	sonde_header headers[3];
	char traceparent[SONDE_TRACEPARENT_BUFSZ];
	char tracestate[SONDE_TRACESTATE_FORMAT_LIMIT + 1];
	sonde_buf baggage;
} sonde_trace_headers;

/* clang-format off */
#define SONDE_TRACE_HEADERS_INIT {0, {{NULL, 0, NULL, 0}, {NULL, 0, NULL, 0}, {NULL, 0, NULL, 0}}, {0}, {0}, SONDE_BUF_INIT}
/* clang-format on */

/* The client's one call: fills out with the headers of an outgoing request
 * made in context ctx (NULL = the thread's current context; start a client
 * span first so the callee's parent is that span). traceparent carries
 * ctx's trace id, span id and known flags; if ctx has a trace but an
 * all-zero span id, a fresh parent-id is generated; if ctx holds no trace,
 * a new trace is started for this request. tracestate (truncated to 512
 * characters) and baggage come from c (NULL = none). Returns SONDE_OK,
 * SONDE_EINVAL on NULL out, SONDE_ENOMEM (baggage did not fit in memory;
 * the other headers are set). Allocates only to grow out->baggage. */
SONDE_API SONDE_WUR int sonde_trace_inject(const sonde_trace_carrier *c,
                                           const sonde_span_context *ctx, sonde_trace_headers *out);
/* Frees out's memory. NULL is a no-op. */
SONDE_API void sonde_trace_headers_destroy(sonde_trace_headers *out);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_TRACE_H */
