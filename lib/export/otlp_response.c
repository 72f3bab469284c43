/*
 * lib/export/otlp_response.c - the partial success of an OTLP/HTTP export
 * response (otlp.h). The collector answers a 2xx whose body is an
 * Export{Trace,Logs}ServiceResponse:
 *
 *   message Export...ServiceResponse { Export...PartialSuccess partial_success = 1; }
 *   message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
 *   message ExportLogsPartialSuccess  { int64 rejected_log_records = 1; string error_message = 2; }
 *
 * in protobuf or, for an http/json request, in OTLP/JSON (lowerCamelCase
 * names, the proto names accepted too, int64 as a string or a number). An
 * empty body, or one without the field, is full success. Both readers are
 * strict about the structure they walk (a truncated varint, a length past
 * the end, a group wire type, an unterminated string, nesting past 64 are
 * malformed) and skip every field they do not know, as the protobuf and
 * JSON mappings say a reader must. Fuzzed by tests/fuzz/fuzz_otlp_response.c.
 */
#include "export/otlp.h"

/* ---- protobuf ---------------------------------------------------------------------------- */

typedef struct rd {
	const uint8_t *p, *end;
} rd;

static bool varint(rd *r, uint64_t *out)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64; shift += 7) {
		uint8_t b;
		if (r->p == r->end)
			return false;
		b = *r->p++;
		if (shift == 63 && b > 1)
			return false; /* past 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Skips one value of wire type wt; false when malformed. */
static bool skip(rd *r, unsigned wt)
{
	uint64_t n;

	switch (wt) {
	case 0: return varint(r, &n);
	case 1:
		if (r->end - r->p < 8)
			return false;
		r->p += 8;
		return true;
	case 2:
		if (!varint(r, &n) || n > (uint64_t)(r->end - r->p))
			return false;
		r->p += n;
		return true;
	case 5:
		if (r->end - r->p < 4)
			return false;
		r->p += 4;
		return true;
	default: return false; /* groups (3, 4) and the unused 6, 7 */
	}
}

/* Copies n bytes of a message into out (cap > 0), cut at cap - 1 on a
 * UTF-8 boundary, control characters as '?'. */
static void put_msg(char *out, size_t cap, const char *s, size_t n)
{
	size_t i;

	if (n > cap - 1) {
		n = cap - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[n] = '\0';
}

static bool pb_partial(rd *r, int64_t *rejected, char *msg, size_t cap)
{
	while (r->p < r->end) {
		uint64_t key, v;
		if (!varint(r, &key) || key >> 3 == 0 || key >> 3 > 0x1fffffff)
			return false;
		if (key == ((1u << 3) | 0)) {
			if (!varint(r, &v))
				return false;
			*rejected = (int64_t)v;
		} else if (key == ((2u << 3) | 2)) {
			if (!varint(r, &v) || v > (uint64_t)(r->end - r->p))
				return false;
			put_msg(msg, cap, (const char *)r->p, (size_t)v);
			r->p += v;
		} else if (!skip(r, (unsigned)(key & 7))) {
			return false;
		}
	}
	return true;
}

static int read_pb(const uint8_t *p, size_t n, int64_t *rejected, char *msg, size_t cap)
{
	rd r = {p, p + n};

	while (r.p < r.end) {
		uint64_t key, len;
		if (!varint(&r, &key) || key >> 3 == 0 || key >> 3 > 0x1fffffff)
			return SONDE_EINVAL;
		if (key == ((1u << 3) | 2)) {
			rd sub;
			if (!varint(&r, &len) || len > (uint64_t)(r.end - r.p))
				return SONDE_EINVAL;
			/* a repeated message field merges: later scalars win */
			sub.p = r.p;
			sub.end = r.p + len;
			if (!pb_partial(&sub, rejected, msg, cap))
				return SONDE_EINVAL;
			r.p += len;
		} else if (!skip(&r, (unsigned)(key & 7))) {
			return SONDE_EINVAL;
		}
	}
	return SONDE_OK;
}

/* ---- OTLP/JSON --------------------------------------------------------------------------- */

#define JSON_DEPTH 64

typedef struct js {
	const char *p, *end;
} js;

static void ws(js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* A string at j->p (the opening quote), decoded into out (cap > 0, cut
 * and NUL-terminated; out may be NULL to skip). Escapes are checked; \uXXXX
 * is decoded to UTF-8 (a lone surrogate becomes U+FFFD). */
static bool string(js *j, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	if (j->p == j->end || *j->p != '"')
		return false;
	j->p++;
	for (;;) {
		char tmp[4];
		size_t tn = 0;
		unsigned char c;

		if (j->p == j->end)
			return false;
		c = (unsigned char)*j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return false;
		if (c != '\\') {
			tmp[tn++] = (char)c;
		} else {
			if (j->p == j->end)
				return false;
			c = (unsigned char)*j->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/': tmp[tn++] = (char)c; break;
			case 'b': tmp[tn++] = '\b'; break;
			case 'f': tmp[tn++] = '\f'; break;
			case 'n': tmp[tn++] = '\n'; break;
			case 'r': tmp[tn++] = '\r'; break;
			case 't': tmp[tn++] = '\t'; break;
			case 'u': {
				unsigned cp = 0;
				int k;
				if (j->end - j->p < 4)
					return false;
				for (k = 0; k < 4; k++) {
					int h = hexval(j->p[k]);
					if (h < 0)
						return false;
					cp = cp << 4 | (unsigned)h;
				}
				j->p += 4;
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp = 0xfffd; /* the message is only shown: no pairing */
				if (cp < 0x80) {
					tmp[tn++] = (char)cp;
				} else if (cp < 0x800) {
					tmp[tn++] = (char)(0xc0 | cp >> 6);
					tmp[tn++] = (char)(0x80 | (cp & 0x3f));
				} else {
					tmp[tn++] = (char)(0xe0 | cp >> 12);
					tmp[tn++] = (char)(0x80 | (cp >> 6 & 0x3f));
					tmp[tn++] = (char)(0x80 | (cp & 0x3f));
				}
				break;
			}
			default: return false;
			}
		}
		if (out && n + tn < cap) {
			memcpy(out + n, tmp, tn);
			n += tn;
		} else if (out) {
			cap = n + 1; /* full: keep what fits whole */
		}
	}
	if (out && n + 1 >= cap) {
		/* cut: not inside a UTF-8 sequence */
		size_t lead = n, need;
		while (lead && n - lead < 4 && ((unsigned char)out[lead - 1] & 0xc0) == 0x80)
			lead--;
		if (lead) {
			unsigned char c = (unsigned char)out[lead - 1];
			need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			if (n - (lead - 1) < need)
				n = lead - 1;
		}
	}
	if (out)
		out[n] = '\0';
	if (outlen)
		*outlen = n;
	return true;
}

static bool literal(js *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return false;
	j->p += n;
	return true;
}

/* A JSON number (the grammar checked), its text in [*s, j->p). */
static bool number(js *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p == j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p == j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p == j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s;
}

/* Before a member or element of a container whose closing character is
 * close: 1 when one follows (the comma before it consumed), 0 at the close
 * (consumed), -1 when malformed. */
static int next_item(js *j, char close, bool *first)
{
	ws(j);
	if (j->p == j->end)
		return -1;
	if (*j->p == close) {
		j->p++;
		return 0;
	}
	if (!*first) {
		if (*j->p != ',')
			return -1;
		j->p++;
		ws(j);
	}
	*first = false;
	return 1;
}

static bool value(js *j, int depth);

/* An object or array at j->p; members' values skipped. */
static bool container(js *j, int depth)
{
	char close = *j->p == '{' ? '}' : ']';
	bool obj = close == '}', first = true;

	if (depth >= JSON_DEPTH)
		return false;
	j->p++;
	for (;;) {
		int more = next_item(j, close, &first);
		if (more <= 0)
			return more == 0;
		if (obj) {
			if (!string(j, NULL, 0, NULL))
				return false;
			ws(j);
			if (j->p == j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!value(j, depth + 1))
			return false;
	}
}

static bool value(js *j, int depth)
{
	ws(j);
	if (j->p == j->end)
		return false;
	switch (*j->p) {
	case '"': return string(j, NULL, 0, NULL);
	case '{':
	case '[': return container(j, depth);
	case 't': return literal(j, "true");
	case 'f': return literal(j, "false");
	case 'n': return literal(j, "null");
	default: return number(j);
	}
}

static bool key_is(const char *k, const char *a, const char *b, const char *c)
{
	return !strcmp(k, a) || !strcmp(k, b) || (c && !strcmp(k, c));
}

/* An int64 as OTLP/JSON writes it: a number or a decimal string (an
 * integral value; anything else is malformed). */
static bool json_i64(js *j, int64_t *out)
{
	char text[32];
	const char *s;
	size_t n;
	bool neg;
	uint64_t v = 0;

	ws(j);
	if (j->p < j->end && *j->p == '"') {
		if (!string(j, text, sizeof(text), &n) || n >= sizeof(text) - 1)
			return false;
		s = text;
	} else {
		const char *start = j->p;
		if (!number(j) || (size_t)(j->p - start) >= sizeof(text))
			return false;
		n = (size_t)(j->p - start);
		memcpy(text, start, n);
		text[n] = '\0';
		s = text;
	}
	neg = *s == '-';
	s += neg;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* An object at j->p ('{'): each member's key (cut to 39 bytes: longer
 * keys are none of ours) handed to fn, which reads the value. */
typedef struct partial {
	int64_t *rejected;
	char *msg;
	size_t cap;
} partial;

typedef bool (*member_fn)(js *j, const char *key, partial *pt);

static bool object(js *j, member_fn fn, partial *pt)
{
	bool first = true;

	j->p++;
	for (;;) {
		char key[40];
		int more = next_item(j, '}', &first);
		if (more <= 0)
			return more == 0;
		if (!string(j, key, sizeof(key), NULL))
			return false;
		ws(j);
		if (j->p == j->end || *j->p++ != ':')
			return false;
		ws(j);
		if (!fn(j, key, pt))
			return false;
	}
}

/* A member of partialSuccess. */
static bool partial_member(js *j, const char *key, partial *pt)
{
	if (key_is(key, "rejectedSpans", "rejected_spans", "rejectedLogRecords") ||
	    !strcmp(key, "rejected_log_records")) {
		if (j->p < j->end && *j->p == 'n')
			return literal(j, "null");
		return json_i64(j, pt->rejected);
	}
	if (key_is(key, "errorMessage", "error_message", NULL) && j->p < j->end && *j->p == '"') {
		if (!string(j, pt->msg, pt->cap, NULL))
			return false;
		put_msg(pt->msg, pt->cap, pt->msg, strlen(pt->msg)); /* control characters */
		return true;
	}
	return value(j, 2);
}

/* A member of the response. */
static bool response_member(js *j, const char *key, partial *pt)
{
	if (key_is(key, "partialSuccess", "partial_success", NULL) && j->p < j->end && *j->p == '{')
		return object(j, partial_member, pt);
	return value(j, 1);
}

static int read_json(const char *p, size_t n, int64_t *rejected, char *msg, size_t cap)
{
	js j = {p, p + n};
	partial pt = {rejected, msg, cap};

	ws(&j);
	if (j.p == j.end)
		return SONDE_OK; /* an empty body: full success */
	if (*j.p != '{' || !object(&j, response_member, &pt))
		return SONDE_EINVAL;
	ws(&j);
	return j.p == j.end ? SONDE_OK : SONDE_EINVAL;
}

int sonde__otlp_partial_success(const void *body, size_t len, bool json, int64_t *rejected,
                                char *msg, size_t cap)
{
	int64_t r = 0;
	char m[1];
	int rc;

	if (!msg || !cap) {
		msg = m;
		cap = sizeof(m);
	}
	msg[0] = '\0';
	if (!body || !len)
		rc = SONDE_OK;
	else if (json)
		rc = read_json(body, len, &r, msg, cap);
	else
		rc = read_pb(body, len, &r, msg, cap);
	if (rc != SONDE_OK) {
		msg[0] = '\0';
		r = 0;
	}
	*rejected = r < 0 ? 0 : r;
	return rc;
}
