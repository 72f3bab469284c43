/* examples/service/json.c - see json.h. Grammar: RFC 8259. */
#include "json.h"

#include <stdint.h>
#include <string.h>

void json_reader_init(json_reader *r, const char *s, size_t len)
{
	r->p = s;
	r->end = s + len;
	r->err = NULL;
}

static bool fail(json_reader *r, const char *why)
{
	if (!r->err)
		r->err = why;
	return false;
}

static void skip_ws(json_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

bool json_accept(json_reader *r, char c)
{
	skip_ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

bool json_expect(json_reader *r, char c)
{
	if (json_accept(r, c))
		return true;
	return fail(r, c == ':'   ? "expected ':'"
	               : c == ',' ? "expected ','"
	               : c == '[' ? "expected '['"
	               : c == '{' ? "expected '{'"
	               : c == ']' ? "expected ']' or ','"
	                          : "expected '}' or ','");
}

bool json_at_end(json_reader *r)
{
	skip_ws(r);
	return r->p == r->end;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool read_hex4(json_reader *r, unsigned *out)
{
	unsigned v = 0;

	if (r->end - r->p < 4)
		return fail(r, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		int h = hexval(r->p[i]);
		if (h < 0)
			return fail(r, "bad \\u escape");
		v = v << 4 | (unsigned)h;
	}
	r->p += 4;
	*out = v;
	return true;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Appends code point cp as UTF-8; out == NULL only measures. */
static bool put_cp(json_reader *r, char *out, size_t cap, size_t *n, uint32_t cp)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80)
		b[0] = (unsigned char)cp, k = 1;
	else if (cp < 0x800)
		b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3f)),
		k = 2;
	else if (cp < 0x10000)
		b[0] = (unsigned char)(0xe0 | cp >> 12),
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		b[2] = (unsigned char)(0x80 | (cp & 0x3f)), k = 3;
	else
		b[0] = (unsigned char)(0xf0 | cp >> 18),
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		b[3] = (unsigned char)(0x80 | (cp & 0x3f)), k = 4;
	if (out) {
		if (*n + k >= cap)
			return fail(r, "string too long");
		memcpy(out + *n, b, k);
	}
	*n += k;
	return true;
}

/* The body of json_read_string; out NULL validates only. */
static bool string_body(json_reader *r, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	if (!json_accept(r, '"'))
		return fail(r, "expected a string");
	for (;;) {
		unsigned char c;

		if (r->p >= r->end)
			return fail(r, "unterminated string");
		c = (unsigned char)*r->p;
		if (c == '"') {
			r->p++;
			break;
		}
		if (c < 0x20)
			return fail(r, "control character in string");
		if (c == '\\') {
			unsigned u, lo;
			if (r->end - r->p < 2)
				return fail(r, "unterminated string");
			r->p += 2;
			switch (r->p[-1]) {
			case '"': u = '"'; break;
			case '\\': u = '\\'; break;
			case '/': u = '/'; break;
			case 'b': u = '\b'; break;
			case 'f': u = '\f'; break;
			case 'n': u = '\n'; break;
			case 'r': u = '\r'; break;
			case 't': u = '\t'; break;
			case 'u':
				if (!read_hex4(r, &u))
					return false;
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(r, "lone low surrogate");
				if (u >= 0xd800 && u <= 0xdbff) {
					if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
						return fail(r, "lone high surrogate");
					r->p += 2;
					if (!read_hex4(r, &lo))
						return false;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(r, "bad surrogate pair");
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				}
				break;
			default: return fail(r, "bad escape");
			}
			if (!put_cp(r, out, cap, &n, u))
				return false;
			continue;
		}
		{
			size_t k = utf8_len((const unsigned char *)r->p,
			                    (const unsigned char *)r->end);
			if (!k)
				return fail(r, "invalid UTF-8 in string");
			if (out) {
				if (n + k >= cap)
					return fail(r, "string too long");
				memcpy(out + n, r->p, k);
			}
			n += k;
			r->p += k;
		}
	}
	if (out)
		out[n] = '\0';
	if (len)
		*len = n;
	return true;
}

bool json_read_string(json_reader *r, char *out, size_t cap, size_t *len)
{
	if (!out || cap == 0)
		return fail(r, "no room for the string");
	return string_body(r, out, cap, len);
}

static bool skip_number(json_reader *r)
{
	const char *p = r->p;

	if (p < r->end && *p == '-')
		p++;
	if (p >= r->end || *p < '0' || *p > '9')
		return fail(r, "bad number");
	if (*p == '0')
		p++;
	else
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	if (p < r->end && *p == '.') {
		p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return fail(r, "bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return fail(r, "bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	r->p = p;
	return true;
}

static bool skip_literal(json_reader *r, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
		return fail(r, "unexpected character");
	r->p += n;
	return true;
}

static bool skip_at(json_reader *r, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return fail(r, "nested too deeply");
	skip_ws(r);
	if (r->p >= r->end)
		return fail(r, "unexpected end of input");
	switch (*r->p) {
	case '"': return string_body(r, NULL, 0, NULL);
	case '[':
		r->p++;
		if (json_accept(r, ']'))
			return true;
		do {
			if (!skip_at(r, depth + 1))
				return false;
		} while (json_accept(r, ','));
		return json_expect(r, ']');
	case '{':
		r->p++;
		if (json_accept(r, '}'))
			return true;
		do {
			if (!string_body(r, NULL, 0, NULL) || !json_expect(r, ':') ||
			    !skip_at(r, depth + 1))
				return false;
		} while (json_accept(r, ','));
		return json_expect(r, '}');
	case 't': return skip_literal(r, "true");
	case 'f': return skip_literal(r, "false");
	case 'n': return skip_literal(r, "null");
	default: return skip_number(r);
	}
}

bool json_skip_value(json_reader *r, const char **start, const char **end)
{
	skip_ws(r);
	if (start)
		*start = r->p;
	if (!skip_at(r, 1))
		return false;
	if (end)
		*end = r->p;
	return true;
}
