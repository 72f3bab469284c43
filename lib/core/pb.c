/* lib/core/pb.c - the protocol buffers writer (see pb.h for the contract). */
#include "core/pb.h"

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
