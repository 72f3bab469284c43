/* lib/core/pb.c - the protocol buffers writer (see pb.h for the contract). */
#include "core/atomic.h"
#include "core/pb.h"

void sonde__pb_put_varint(sonde_buf *b, uint64_t v)
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

void sonde__pb_put_fixed64(sonde_buf *b, uint64_t v)
{
	char tmp[8];
	int i;

	/* byte by byte: little-endian whatever the host's order */
	for (i = 0; i < 8; i++)
		tmp[i] = (char)(v >> (8 * i));
	sonde__buf_put(b, tmp, 8);
}

void sonde__pb_put_fixed32(sonde_buf *b, uint32_t v)
{
	char tmp[4];
	int i;

	for (i = 0; i < 4; i++)
		tmp[i] = (char)(v >> (8 * i));
	sonde__buf_put(b, tmp, 4);
}

void sonde__pb_put_double(sonde_buf *b, double v)
{
	sonde__pb_put_fixed64(b, sonde__dbl_bits(v));
}

void sonde__pb_put_float(sonde_buf *b, float v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	sonde__pb_put_fixed32(b, u);
}

void sonde__pb_tag(sonde_buf *b, uint32_t field, int wire)
{
	if (field == 0 || field > SONDE_PB_FIELD_MAX)
		field = 0; /* a programming error: field 0 fails every decoder */
	sonde__pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)(wire & 7));
}

void sonde__pb_uint64(sonde_buf *b, uint32_t field, uint64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, v);
}

void sonde__pb_int64(sonde_buf *b, uint32_t field, int64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, (uint64_t)v);
}

void sonde__pb_sint64(sonde_buf *b, uint32_t field, int64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, sonde__pb_zigzag64(v));
}

void sonde__pb_bool(sonde_buf *b, uint32_t field, bool v)
{
	sonde__pb_tag(b, field, SONDE_PB_VARINT);
	sonde__pb_put_varint(b, v ? 1 : 0);
}

void sonde__pb_fixed64(sonde_buf *b, uint32_t field, uint64_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_I64);
	sonde__pb_put_fixed64(b, v);
}

void sonde__pb_fixed32(sonde_buf *b, uint32_t field, uint32_t v)
{
	sonde__pb_tag(b, field, SONDE_PB_I32);
	sonde__pb_put_fixed32(b, v);
}

void sonde__pb_double(sonde_buf *b, uint32_t field, double v)
{
	sonde__pb_tag(b, field, SONDE_PB_I64);
	sonde__pb_put_double(b, v);
}

void sonde__pb_float(sonde_buf *b, uint32_t field, float v)
{
	sonde__pb_tag(b, field, SONDE_PB_I32);
	sonde__pb_put_float(b, v);
}

void sonde__pb_bytes(sonde_buf *b, uint32_t field, const void *p, size_t n)
{
	sonde__pb_tag(b, field, SONDE_PB_LEN);
	sonde__pb_put_varint(b, n);
	if (n)
		sonde__buf_put(b, p, n);
}

/* The byte at lenpos was reserved for the varint length of everything
 * after it. One byte holds lengths below 128; a longer length moves the
 * body up by the extra bytes it needs. */
static void fix_len(sonde_buf *b, size_t lenpos)
{
	size_t body, k;
	char *p;

	if (b->oom || lenpos >= b->len)
		return;
	body = b->len - lenpos - 1;
	k = sonde__pb_varint_len(body);
	if (k > 1) {
		if (!sonde__buf_reserve(b, k - 1))
			return;
		memmove(b->data + lenpos + k, b->data + lenpos + 1, body);
		b->len += k - 1;
	}
	p = b->data + lenpos;
	while (body >= 0x80) {
		*p++ = (char)(body | 0x80);
		body >>= 7;
	}
	*p = (char)body;
}

/* A mark is the offset of the field's tag: end finds the length byte
 * after the tag's varint (at most five bytes, field <= 2^29 - 1). */
static size_t len_pos(const sonde_buf *b, size_t mark)
{
	while (mark < b->len && ((unsigned char)b->data[mark] & 0x80))
		mark++;
	return mark + 1;
}

size_t sonde__pb_begin(sonde_buf *b, uint32_t field)
{
	size_t mark = b->len;

	sonde__pb_tag(b, field, SONDE_PB_LEN);
	sonde__buf_putc(b, 0);
	return mark;
}

void sonde__pb_end(sonde_buf *b, size_t mark)
{
	if (b->oom)
		return;
	fix_len(b, len_pos(b, mark));
}

void sonde__pb_end_drop_empty(sonde_buf *b, size_t mark)
{
	size_t lp;

	if (b->oom)
		return;
	lp = len_pos(b, mark);
	if (lp + 1 == b->len)
		b->len = mark; /* nothing after the length: no field at all */
	else
		fix_len(b, lp);
}

size_t sonde__pb_delim_begin(sonde_buf *b)
{
	size_t mark = b->len;

	sonde__buf_putc(b, 0);
	return mark;
}

void sonde__pb_delim_end(sonde_buf *b, size_t mark)
{
	fix_len(b, mark);
}
