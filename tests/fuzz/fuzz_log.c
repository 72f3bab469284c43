/*
 * tests/fuzz/fuzz_log.c - log records with arbitrary strings: every line
 * the logger writes must be one strict JSON object whose message and
 * string field decode to exactly what went in (valid UTF-8), or to the
 * input with each invalid sequence replaced by U+FFFD. The value goes in
 * twice: as the record's field and as a scoped field (sonde_log_scope_push,
 * issue 15), whose bytes take the record's other path.
 */
#include <pthread.h>

#include "fuzz.h"
#include "sonde.h"
#include "core/sonde-int.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *line;
static size_t line_len;

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
