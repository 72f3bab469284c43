/*
 * lib/core/json.c - JSON string and number writers shared by the logger, the
 * health checks and anything else that writes JSON.
 *
 * Strings: quotes, backslash and control characters escaped (\n \r \t \b
 * \f, others as \u00XX), DEL as \u007f, invalid UTF-8 replaced by U+FFFD
 * (one per maximal invalid subpart), valid UTF-8 passed through.
 */
#include <math.h>

#include "core/sonde-int.h"

static const char hex[] = "0123456789abcdef";

void sonde__json_put_string(sonde_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	/* worst case: 6 bytes per input byte (\u00XX) plus the quotes */
	if (!sonde__buf_reserve(b, n * 6 + 2))
		return;
	b->data[b->len++] = '"';
	while (i < n) {
		unsigned c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		if (run) {
			memcpy(b->data + b->len, s + i - run, run);
			b->len += run;
			run = 0;
		}
		if (c >= 0x80) {
			size_t w;
			i += sonde__utf8_copy_or_fffd(b->data + b->len, p + i, n - i, &w);
			b->len += w;
			continue;
		}
		b->data[b->len++] = '\\';
		switch (c) {
		case '"': b->data[b->len++] = '"'; break;
		case '\\': b->data[b->len++] = '\\'; break;
		case '\n': b->data[b->len++] = 'n'; break;
		case '\r': b->data[b->len++] = 'r'; break;
		case '\t': b->data[b->len++] = 't'; break;
		case '\b': b->data[b->len++] = 'b'; break;
		case '\f': b->data[b->len++] = 'f'; break;
		default:
			memcpy(b->data + b->len, "u00", 3);
			b->len += 3;
			b->data[b->len++] = hex[c >> 4];
			b->data[b->len++] = hex[c & 15];
			break;
		}
		i++;
	}
	if (run) {
		memcpy(b->data + b->len, s + n - run, run);
		b->len += run;
	}
	b->data[b->len++] = '"';
}

void sonde__json_put_cstr(sonde_buf *b, const char *s)
{
	sonde__json_put_string(b, s, strlen(s));
}

void sonde__json_put_double(sonde_buf *b, double v)
{
	char tmp[SONDE_DBL_MAX + 2];
	size_t n;

	if (!isfinite(v)) {
		/* JSON has no NaN or Inf: written as strings */
		tmp[0] = '"';
		n = sonde__fmt_double(tmp + 1, v);
		tmp[n + 1] = '"';
		sonde__buf_put(b, tmp, n + 2);
		return;
	}
	sonde__buf_put(b, tmp, sonde__fmt_double(tmp, v));
}

void sonde__json_put_i64(sonde_buf *b, int64_t v)
{
	char tmp[24];

	sonde__buf_put(b, tmp, sonde__fmt_i64(tmp, v));
}

void sonde__json_put_u64(sonde_buf *b, uint64_t v)
{
	char tmp[24];

	sonde__buf_put(b, tmp, sonde__fmt_u64(tmp, v));
}
