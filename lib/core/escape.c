/*
 * lib/core/escape.c - escaping for the exposition formats.
 *
 * Label values may hold any bytes; the formats are UTF-8, so an invalid
 * sequence is written as U+FFFD (one per maximal invalid subpart, as the
 * Unicode standard recommends) rather than making the whole scrape fail.
 * Text 0.0.4 escapes backslash, double quote and newline in label values,
 * and only backslash and newline in HELP (promtool rejects \" there);
 * OpenMetrics escapes all three in both.
 */
#include "core/sonde-int.h"

static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is invalid. */
size_t sonde__utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/* Skips one maximal invalid subpart: the lead byte plus any continuation
 * bytes that could still have belonged to it. */
size_t sonde__utf8_invalid_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t want, i;

	if (c >= 0xC2 && c <= 0xDF)
		want = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		want = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		want = 4;
	else
		return 1;
	for (i = 1; i < want && i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			break;
		if (i == 1 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
		               (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)))
			break;
	}
	return i;
}

size_t sonde__utf8_copy_or_fffd(char *dst, const unsigned char *p, size_t n, size_t *written)
{
	size_t k = sonde__utf8_valid_len(p, n);

	if (k) {
		memcpy(dst, p, k);
		*written = k;
		return k;
	}
	memcpy(dst, fffd, 3);
	*written = 3;
	return sonde__utf8_invalid_len(p, n);
}

static void put_escaped(sonde_buf *b, const char *s, size_t n, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	/* Worst case per byte is 3 (U+FFFD); reserve once so the loop below
	 * appends without re-checking for the common short value. */
	if (!sonde__buf_reserve(b, n * 3))
		return;
	while (i < n) {
		unsigned c = p[i];
		if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
			i++;
			run++;
			continue;
		}
		if (run) {
			memcpy(b->data + b->len, s + i - run, run);
			b->len += run;
			run = 0;
		}
		if (c == '\\') {
			memcpy(b->data + b->len, "\\\\", 2);
			b->len += 2;
			i++;
		} else if (c == '\n') {
			memcpy(b->data + b->len, "\\n", 2);
			b->len += 2;
			i++;
		} else if (c == '"') {
			if (quote) {
				memcpy(b->data + b->len, "\\\"", 2);
				b->len += 2;
			} else {
				b->data[b->len++] = '"';
			}
			i++;
		} else if (c < 0x80) {
			b->data[b->len++] = (char)c; /* other control bytes pass as they are */
			i++;
		} else {
			size_t w;
			i += sonde__utf8_copy_or_fffd(b->data + b->len, p + i, n - i, &w);
			b->len += w;
		}
	}
	if (run) {
		memcpy(b->data + b->len, s + n - run, run);
		b->len += run;
	}
}

void sonde__put_label_value(sonde_buf *b, const char *s, size_t n)
{
	put_escaped(b, s, n, true);
}

void sonde__put_help(sonde_buf *b, const char *s, size_t n, bool openmetrics)
{
	put_escaped(b, s, n, openmetrics);
}

void sonde__put_label_pairs(sonde_buf *b, const char *const *names, const char *const *values,
                            const size_t *lens, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (i)
			sonde__buf_putc(b, ',');
		sonde__buf_puts(b, names[i]);
		sonde__buf_put(b, "=\"", 2);
		sonde__put_label_value(b, values[i], lens ? lens[i] : strlen(values[i]));
		sonde__buf_putc(b, '"');
	}
}

size_t sonde__utf8_invalid_at(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = sonde__utf8_valid_len(p + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return SIZE_MAX;
}
