/*
 * tests/fuzz/fuzz_log.c - log records with arbitrary strings: every line
 * the logger writes must be one strict JSON object whose message and
 * string field decode to exactly what went in (valid UTF-8), or to the
 * input with each invalid sequence replaced by U+FFFD. The value goes in
 * twice: as the record's field and as a scoped field (sonde_log_scope_push,
 * issue 15), whose bytes take the record's other path.
 * Then the output profiles with nested fields and errors (issue 15): the
 * input as foreign tree bytes, and as a program of sonde_log_tree calls
 * (objects, arrays, keys, values, errors), logged with colliding keys
 * through sinks of every profile; each json, ecs and otel line must be
 * strict JSON (valid UTF-8, the grammar, no duplicate key in any object),
 * each logfmt and console line one line.
 */
#include <pthread.h>

#include "fuzz.h"
#include "sonde.h"
#include "core/sonde-int.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *line;
static size_t line_len;
/* the profiles' lines, by sink (sonde_log_format value) */
static char *pline[5];
static size_t pline_len[5];

static int pcap(void *ctx, sonde_log_level level, const char *s, size_t n)
{
	int k = (int)(intptr_t)ctx;
	(void)level;
	pthread_mutex_lock(&mu);
	free(pline[k]);
	pline[k] = malloc(n + 1);
	memcpy(pline[k], s, n);
	pline[k][n] = '\0';
	pline_len[k] = n;
	pthread_mutex_unlock(&mu);
	return 0;
}

static int cap(void *ctx, sonde_log_level level, const char *s, size_t n)
{
	(void)ctx;
	(void)level;
	pthread_mutex_lock(&mu);
	free(line);
	line = malloc(n + 1);
	memcpy(line, s, n);
	line[n] = '\0';
	line_len = n;
	pthread_mutex_unlock(&mu);
	return 0;
}

/* Strict JSON string at *p (after the quote): decodes into out, returns
 * the position after the closing quote. */
static const char *jstring(const char *p, const char *end, char *out, size_t *n)
{
	*n = 0;
	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p;
		FUZZ_CHECK(c >= 0x20, "raw control byte 0x%02x in a JSON string", c);
		if (c != '\\') {
			out[(*n)++] = (char)c;
			p++;
			continue;
		}
		FUZZ_CHECK(p + 1 < end, "dangling backslash");
		p++;
		switch (*p) {
		case '"':
		case '\\':
		case '/': out[(*n)++] = *p; break;
		case 'b': out[(*n)++] = '\b'; break;
		case 'f': out[(*n)++] = '\f'; break;
		case 'n': out[(*n)++] = '\n'; break;
		case 'r': out[(*n)++] = '\r'; break;
		case 't': out[(*n)++] = '\t'; break;
		case 'u': {
			unsigned v = 0;
			int k;
			FUZZ_CHECK(p + 4 < end, "short \\u");
			for (k = 1; k <= 4; k++) {
				char h = p[k];
				FUZZ_CHECK((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'),
				           "bad hex %c", h);
				v = v * 16 + (unsigned)(h <= '9' ? h - '0' : h - 'a' + 10);
			}
			FUZZ_CHECK(v < 0x80,
			           "sonde escapes only ASCII control bytes with \\u (got %04x)", v);
			out[(*n)++] = (char)v;
			p += 4;
			break;
		}
		default: FUZZ_CHECK(0, "bad escape \\%c", *p);
		}
		p++;
	}
	FUZZ_CHECK(p < end, "unterminated string");
	return p + 1;
}

/* What the line must hold for input s: invalid UTF-8 -> U+FFFD. */
static size_t expected(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;
	while (i < n) {
		size_t k = sonde__utf8_valid_len((const unsigned char *)s + i, n - i);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += sonde__utf8_invalid_len((const unsigned char *)s + i, n - i);
		}
	}
	return o;
}

/* Finds "key": in the line, decodes the string after it. */
static void field(const char *key, const char *want, size_t want_len, char *buf)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	FUZZ_CHECK(p, "no %s in %s", key, line);
	p = jstring(p + strlen(pat), line + line_len, buf, &n);
	FUZZ_CHECK(n == want_len && !memcmp(buf, want, n), "%s differs in %s", key, line);
}

/* ---- a strict JSON validator (profiles' lines) ------------------------------------------ */

static const char *jvalue(const char *p, const char *end, int depth, char *buf);

static const char *jws(const char *p, const char *end)
{
	(void)end;
	return p; /* sonde writes no whitespace between tokens */
}

static const char *jnumber(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && *q == '-')
		q++;
	FUZZ_CHECK(q < end && *q >= '0' && *q <= '9', "number expected at %.20s", p);
	if (*q == '0')
		q++;
	else
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	if (q < end && *q == '.') {
		q++;
		FUZZ_CHECK(q < end && *q >= '0' && *q <= '9', "digit after '.'");
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		FUZZ_CHECK(q < end && *q >= '0' && *q <= '9', "digit in exponent");
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	return q;
}

static const char *jobject(const char *p, const char *end, int depth, char *buf)
{
	/* decoded keys of this object, for the duplicate check */
	char **keys = NULL;
	size_t *lens = NULL, n = 0, i;

	p++;
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		size_t kn;
		FUZZ_CHECK(p < end && *p == '"', "key expected at %.20s", p);
		p = jstring(p + 1, end, buf, &kn);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(lens[i] != kn || memcmp(keys[i], buf, kn) != 0,
			           "duplicate key %.*s in %s", (int)kn, buf, line ? line : "");
		keys = realloc(keys, (n + 1) * sizeof(*keys));
		lens = realloc(lens, (n + 1) * sizeof(*lens));
		keys[n] = malloc(kn + 1);
		memcpy(keys[n], buf, kn);
		lens[n++] = kn;
		FUZZ_CHECK(p < end && *p == ':', "':' expected");
		p = jvalue(p + 1, end, depth + 1, buf);
		FUZZ_CHECK(p < end, "unterminated object");
		if (*p == '}')
			break;
		FUZZ_CHECK(*p == ',', "',' or '}' expected at %.20s", p);
		p++;
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(lens);
	return p + 1;
}

static const char *jvalue(const char *p, const char *end, int depth, char *buf)
{
	size_t n;

	FUZZ_CHECK(depth < 64, "nesting deeper than 64");
	p = jws(p, end);
	FUZZ_CHECK(p < end, "value expected");
	switch (*p) {
	case '{': return jobject(p, end, depth, buf);
	case '[':
		p++;
		if (p < end && *p == ']')
			return p + 1;
		for (;;) {
			p = jvalue(p, end, depth + 1, buf);
			FUZZ_CHECK(p < end, "unterminated array");
			if (*p == ']')
				return p + 1;
			FUZZ_CHECK(*p == ',', "',' or ']' expected");
			p++;
		}
	case '"': return jstring(p + 1, end, buf, &n);
	case 't': FUZZ_CHECK(end - p >= 4 && !memcmp(p, "true", 4), "bad literal"); return p + 4;
	case 'f': FUZZ_CHECK(end - p >= 5 && !memcmp(p, "false", 5), "bad literal"); return p + 5;
	case 'n': FUZZ_CHECK(end - p >= 4 && !memcmp(p, "null", 4), "bad literal"); return p + 4;
	default: return jnumber(p, end);
	}
}

/* One strict JSON object, valid UTF-8, nothing after it. */
static void strict_json(const char *s, size_t n)
{
	char *buf = malloc(n + 1);
	const char *end = s + n, *p;
	size_t i = 0;

	while (i < n) {
		size_t k = sonde__utf8_valid_len((const unsigned char *)s + i, n - i);
		FUZZ_CHECK(k, "invalid UTF-8 at %zu in %s", i, s);
		i += k;
	}
	FUZZ_CHECK(n && s[0] == '{', "not an object: %s", s);
	p = jvalue(s, end, 0, buf);
	FUZZ_CHECK(p == end, "bytes after the object in %s", s);
	free(buf);
}

/* The input as a program of tree calls (errors are sticky and fine). */
static void build_tree(sonde_log_tree *t, unsigned char *mem, size_t cap, const uint8_t *d,
                       size_t n)
{
	size_t i = 0;

	sonde_log_tree_init(t, mem, cap);
	while (i < n) {
		uint8_t op = d[i++];
		size_t take = n - i < 8 ? n - i : 8, ln;
		uint64_t v = 0;
		char key[40];

		switch (op % 12) {
		case 0: (void)sonde_log_tree_object(t); break;
		case 1: (void)sonde_log_tree_array(t); break;
		case 2: (void)sonde_log_tree_end(t); break;
		case 3:
			ln = i < n ? d[i++] % 16 : 0;
			ln = ln > n - i ? n - i : ln;
			memcpy(key, d + i, ln);
			key[ln] = '\0';
			i += ln;
			(void)sonde_log_tree_key(t, key[0] ? key : "k");
			break;
		case 4:
			ln = i < n ? d[i++] % 32 : 0;
			ln = ln > n - i ? n - i : ln;
			(void)sonde_log_tree_str(t, (const char *)d + i, ln);
			i += ln;
			break;
		case 5:
		case 6:
		case 7:
			memcpy(&v, d + i, take);
			i += take;
			if (op % 12 == 5)
				(void)sonde_log_tree_i64(t, (int64_t)v);
			else if (op % 12 == 6)
				(void)sonde_log_tree_u64(t, v);
			else
				(void)sonde_log_tree_f64(t, sonde__bits_dbl(v));
			break;
		case 8: (void)sonde_log_tree_bool(t, op & 16); break;
		case 9: (void)sonde_log_tree_null(t); break;
		case 10:
			ln = n - i < 24 ? n - i : 24;
			(void)sonde_log_tree_error(
			        t, (const char *)d + i, ln / 3, (const char *)d + i + ln / 3,
			        ln / 3, op & 32 ? NULL : (const char *)d + i + 2 * (ln / 3),
			        ln - 2 * (ln / 3));
			i += ln;
			break;
		default:
			/* close everything open: a finished tree more often */
			while (t->depth && t->status == SONDE_OK) {
				if (t->key_due || t->buf[t->open[t->depth - 1]] != '{')
					(void)sonde_log_tree_end(t);
				else
					(void)sonde_log_tree_null(t);
			}
			break;
		}
	}
	while (t->depth && t->status == SONDE_OK) {
		if (t->key_due || t->buf[t->open[t->depth - 1]] != '{')
			(void)sonde_log_tree_end(t);
		else
			(void)sonde_log_tree_null(t);
	}
}

static void profiles(const uint8_t *data, size_t size)
{
	static sonde_logger *pl;
	static unsigned char mem[4096];
	sonde_log_tree t;
	sonde_log_field f[6];
	int k;

	if (!pl) {
		sonde_log_sink *s[5];
		sonde_log_sink_opts so;
		sonde_log_opts o;
		sonde_log_field bf[2] = {sonde_log_field_str("service", "bound"),
		                         sonde_log_field_str("error", "bound")};
		sonde_logger *root;

		for (k = 0; k < 5; k++) {
			sonde_log_sink_opts_init(&so);
			so.format = (sonde_log_format)k;
			so.format_env = "";
			if (k == SONDE_LOG_FORMAT_JSON) {
				so.time_key = "timestamp";
				so.level_upper = 1;
			}
			s[k] = sonde_log_sink_callback(pcap, (void *)(intptr_t)k, &so);
			FUZZ_CHECK(s[k], "sink: %s", sonde_last_error());
		}
		sonde_log_opts_init(&o, "fuzz");
		o.level_env = "";
		o.sinks = s;
		o.sink_count = 5;
		o.overflow = SONDE_LOG_OVERFLOW_BLOCK;
		root = sonde_logger_new(&o);
		FUZZ_CHECK(root, "logger: %s", sonde_last_error());
		pl = sonde_logger_child(root, bf, 2);
		FUZZ_CHECK(pl, "child: %s", sonde_last_error());
	}
	build_tree(&t, mem, sizeof mem, data, size);
	/* foreign bytes, the built tree, keys every profile reserves */
	f[0].key = "raw";
	f[0].type = SONDE_LOG_T_TREE;
	f[0].v.s = (const char *)data;
	f[0].len = size;
	f[1] = sonde_log_field_tree("built", &t);
	f[2] = sonde_log_field_tree("timestamp", &t);
	f[3] = sonde_log_field_str("exception.type", "x");
	f[4] = sonde_log_field_tree("error", &t);
	f[5] = sonde_log_field_str("log.level", "y");
	FUZZ_CHECK(sonde_log_write(pl, SONDE_LOG_LEVEL_ERROR, "m", 1, f, 6) == SONDE_OK,
	           "write: %s", sonde_last_error());
	FUZZ_CHECK(sonde_log_flush() == SONDE_OK, "flush");
	pthread_mutex_lock(&mu);
	for (k = 0; k < 5; k++) {
		FUZZ_CHECK(pline[k], "no line for profile %d", k);
		if (k == SONDE_LOG_FORMAT_LOGFMT || k == SONDE_LOG_FORMAT_CONSOLE)
			FUZZ_CHECK(!memchr(pline[k], '\n', pline_len[k]), "newline inside %s",
			           pline[k]);
		else
			strict_json(pline[k], pline_len[k]);
	}
	pthread_mutex_unlock(&mu);
}

FUZZ_TARGET(log)
{
	static sonde_logger *lg;
	const uint8_t *cut;
	const char *msg, *val;
	size_t msg_len, val_len;
	char *want, *buf;
	size_t wn;
	sonde_log_field f[1], sf[1];
	sonde_log_scope sc;
	bool scoped;

	if (!lg) {
		sonde_log_sink *s = sonde_log_sink_callback(cap, NULL, NULL);
		sonde_log_opts o;
		sonde_log_opts_init(&o, "fuzz");
		o.level_env = "";
		o.sinks = &s;
		o.sink_count = 1;
		o.overflow = SONDE_LOG_OVERFLOW_BLOCK;
		lg = sonde_logger_new(&o);
		FUZZ_CHECK(lg, "logger: %s", sonde_last_error());
	}
	/* message, 0xff, value */
	cut = memchr(data, 0xff, size);
	msg = (const char *)data;
	msg_len = cut ? (size_t)(cut - data) : size;
	val = cut ? (const char *)cut + 1 : "";
	val_len = cut ? size - msg_len - 1 : 0;
	if (msg_len > 4000 || val_len > 4000)
		return 0; /* records are capped at a quarter of the ring: truncation has its own
		             test */
	profiles(data, size);
	f[0] = sonde_log_field_str("value", val);
	f[0].len = val_len;
	sf[0] = sonde_log_field_str("scoped", val);
	sf[0].len = val_len;
	/* within SONDE_LOG_SCOPE_BYTES (key, NUL and value) it is pushed */
	scoped = val_len + 7 <= SONDE_LOG_SCOPE_BYTES;
	FUZZ_CHECK(sonde_log_scope_push(&sc, sf, 1) == (scoped ? SONDE_OK : SONDE_ELIMIT),
	           "push: %s", sonde_last_error());
	FUZZ_CHECK(sonde_log_write(lg, SONDE_LOG_LEVEL_INFO, msg, msg_len, f, 1) == SONDE_OK,
	           "write");
	if (scoped)
		FUZZ_CHECK(sonde_log_scope_pop(&sc) == SONDE_OK, "pop: %s", sonde_last_error());
	FUZZ_CHECK(sonde_log_flush() == SONDE_OK, "flush");
	pthread_mutex_lock(&mu);
	FUZZ_CHECK(line && line_len > 2 && line[0] == '{' && line[line_len - 1] == '}',
	           "line shape: %s", line);
	want = malloc(3 * (msg_len + val_len) + 1);
	buf = malloc(line_len + 1);
	wn = expected(msg, msg_len, want);
	field("message", want, wn, buf);
	wn = expected(val, val_len, want);
	field("value", want, wn, buf);
	if (scoped && !strstr(line, "\"_truncated\":true"))
		field("scoped", want, wn, buf);
	free(want);
	free(buf);
	pthread_mutex_unlock(&mu);
	return 0;
}
