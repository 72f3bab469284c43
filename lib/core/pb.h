/*
 * lib/core/pb.h - a protocol buffers writer over sonde_buf (internal).
 *
 * Hand-written encoding of the protobuf wire format
 * (https://protobuf.dev/programming-guides/encoding/), no library, no
 * descriptor: the caller writes each field with the writer for its .proto
 * type, in any order (decoders accept any order; writing fields in field
 * number order gives the canonical bytes other encoders produce).
 *
 *   .proto type                       writer
 *   int32, int64, uint32, uint64,     sonde__pb_uint64 (values >= 0),
 *   enum, bool                        sonde__pb_int64 (negative int32/int64/
 *                                     enum: ten bytes, as the spec wants)
 *   sint32, sint64                    sonde__pb_sint64 (zigzag)
 *   fixed64, sfixed64, double         sonde__pb_fixed64, sonde__pb_double
 *   fixed32, sfixed32, float          sonde__pb_fixed32, sonde__pb_float
 *   string, bytes                     sonde__pb_bytes
 *   a nested message                  sonde__pb_begin ... sonde__pb_end
 *   a packed repeated scalar          sonde__pb_begin, then the raw value
 *                                     writers (sonde__pb_put_*), sonde__pb_end
 *   a message in a length-delimited   sonde__pb_delim_begin ...
 *   stream (Java's writeDelimitedTo,   sonde__pb_delim_end
 *   Go's pbutil.WriteDelimited)
 *
 * proto2 "optional" and proto3 fields alike: a field that is not written
 * reads as its default. Writing a field with the default value is legal
 * and costs its bytes (proto2 then reports it as present).
 *
 * Nested lengths: begin writes the tag and reserves one byte for the
 * length; end measures the body and, when it needs more than one varint
 * byte (128 bytes and more), moves the body up to make room. Most nested
 * messages (labels, spans, small metrics) are under 128 bytes and move
 * nothing; a large one moves once per level, which costs a memmove of its
 * body. Begin/end pairs nest to any depth; a mark is the offset begin
 * returns, so the buffer may grow (and move) between them.
 *
 * Errors follow sonde_buf: on out-of-memory the buffer's oom flag is set,
 * every later write is ignored (end included) and the caller checks b->oom
 * once at the end; what was written is then not a valid message. Field
 * numbers must be 1..SONDE_PB_FIELD_MAX (the wire format's limit, minus
 * nothing: 19000..19999 are reserved by protoc for .proto files, not on the
 * wire); an out-of-range number is a programming error and writes field 0,
 * which every decoder rejects, so tests catch it. No call allocates except
 * through the buffer, none blocks, none keeps state: any number of threads
 * may write into their own buffers.
 */
#ifndef SONDE_PB_H
#define SONDE_PB_H

#include <string.h>

#include "core/sonde-int.h"

/* Wire types. */
enum { SONDE_PB_VARINT = 0, SONDE_PB_I64 = 1, SONDE_PB_LEN = 2, SONDE_PB_I32 = 5 };

#define SONDE_PB_FIELD_MAX 536870911u /* 2^29 - 1 */
#define SONDE_PB_VARINT_MAX 10        /* bytes of the longest varint */

/* Zigzag: 0, -1, 1, -2 ... as 0, 1, 2, 3 ... (sint32 and sint64). The
 * shift of a negative value is done on the unsigned bits: defined. */
static inline uint64_t sonde__pb_zigzag64(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v < 0 ? -1 : 0);
}

/* Bytes the varint of v takes (1..10). */
static inline size_t sonde__pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* ---- raw values (no tag): inside packed fields, or after sonde__pb_tag ---
 * Inline: the exposition writes millions of them per scrape. */
static inline void sonde__pb_put_varint(sonde_buf *b, uint64_t v)
{
	char *p;

	if (!sonde__buf_reserve(b, SONDE_PB_VARINT_MAX))
		return;
	p = b->data + b->len;
	while (v >= 0x80) {
		*p++ = (char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (char)v;
	b->len = (size_t)(p - b->data);
}

/* little-endian whatever the host's order */
static inline void sonde__pb_put_fixed64(sonde_buf *b, uint64_t v)
{
	int i;

	if (!sonde__buf_reserve(b, 8))
		return;
	for (i = 0; i < 8; i++)
		b->data[b->len + (size_t)i] = (char)(v >> (8 * i));
	b->len += 8;
}

static inline void sonde__pb_put_fixed32(sonde_buf *b, uint32_t v)
{
	int i;

	if (!sonde__buf_reserve(b, 4))
		return;
	for (i = 0; i < 4; i++)
		b->data[b->len + (size_t)i] = (char)(v >> (8 * i));
	b->len += 4;
}

/* IEEE 754 bits, NaN payloads kept */
static inline void sonde__pb_put_double(sonde_buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	sonde__pb_put_fixed64(b, u);
}

static inline void sonde__pb_put_float(sonde_buf *b, float v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	sonde__pb_put_fixed32(b, u);
}

static inline void sonde__pb_put_sint64(sonde_buf *b, int64_t v)
{
	sonde__pb_put_varint(b, sonde__pb_zigzag64(v));
}

/* A field's key: (field << 3) | wire type, as a varint. A field number
 * out of 1..SONDE_PB_FIELD_MAX writes field 0 (a programming error every
 * decoder rejects). */
static inline void sonde__pb_tag(sonde_buf *b, uint32_t field, int wire)
{
	if (field == 0 || field > SONDE_PB_FIELD_MAX)
		field = 0;
	sonde__pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)(wire & 7));
}

/* ---- whole fields: tag and value ------------------------------------------- */
static inline void sonde__pb_uint64(sonde_buf *b, uint32_t field, uint64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, v);
}

/* int32/int64/enum: a negative value is sign-extended to 64 bits (ten
 * bytes), which is what decoders of either width expect. */
static inline void sonde__pb_int64(sonde_buf *b, uint32_t field, int64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, (uint64_t)v);
}

static inline void sonde__pb_sint64(sonde_buf *b, uint32_t field, int64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, sonde__pb_zigzag64(v));
}

static inline void sonde__pb_bool(sonde_buf *b, uint32_t field, bool v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, v ? 1 : 0);
}

static inline void sonde__pb_fixed64(sonde_buf *b, uint32_t field, uint64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_I64);
	sonde__pb_put_fixed64(b, v);
}

static inline void sonde__pb_fixed32(sonde_buf *b, uint32_t field, uint32_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_I32);
	sonde__pb_put_fixed32(b, v);
}

static inline void sonde__pb_double(sonde_buf *b, uint32_t field, double v)
{
	sonde__pb_tag(b, field, SONDE_PB_I64);
	sonde__pb_put_double(b, v);
}

static inline void sonde__pb_float(sonde_buf *b, uint32_t field, float v)
{
	sonde__pb_tag(b, field, SONDE_PB_I32);
	sonde__pb_put_float(b, v);
}

/* string or bytes: n bytes of p copied as they are (a string field must be
 * valid UTF-8 for proto3 decoders: the caller's concern). p may be NULL
 * when n is 0. */
static inline void sonde__pb_bytes(sonde_buf *b, uint32_t field, const void *p, size_t n)
{
	sonde__pb_tag(b, field, SONDE_PB_LEN);
	sonde__pb_put_varint(b, n);
	if (n)
		sonde__buf_put(b, (const char *)p, n);
}

/* ---- nested messages and packed fields -------------------------------------
 * begin writes the tag of a length-delimited field and reserves its
 * length; it returns the mark to give to end, which fills in the length
 * of everything written in between. A nested message that ends up empty
 * is still written (as present with no fields); sonde__pb_end_drop_empty
 * removes the whole field instead, for packed fields with no values. */
static inline size_t sonde__pb_begin(sonde_buf *b, uint32_t field)
{
	size_t mark = b->len;

	sonde__pb_tag(b, field, SONDE_PB_LEN);
	sonde__buf_putc(b, 0);
	return mark;
}
void sonde__pb_end(sonde_buf *b, size_t mark);
void sonde__pb_end_drop_empty(sonde_buf *b, size_t mark);

/* ---- length-delimited streams ----------------------------------------------
 * A message preceded by its length as a varint, with no tag: the framing
 * of Prometheus' protobuf exposition (encoding=delimited). */
size_t sonde__pb_delim_begin(sonde_buf *b);
void sonde__pb_delim_end(sonde_buf *b, size_t mark);

#endif
