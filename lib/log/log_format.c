/*
 * lib/log/log_format.c - records to text: JSON lines and logfmt, on the
 * backend thread; and a logger's bound fields pre-rendered in both formats
 * when the logger is built. Calls: log_level.c (level names), core's
 * buffers, JSON and number writers.
 *
 * JSON line, keys in this order:
 *   @timestamp (RFC 3339 UTC, microseconds), level, message, service, the
 *   logger's bound fields, trace_id, span_id, trace_flags (2 hex digits)
 *   and correlation_id when the record has a context, then the call's
 *   fields, then "_truncated":true when a string was cut.
 * Values keep their types: integers as integers, doubles in the shortest
 * form that round-trips (NaN and infinities as the strings "NaN", "+Inf",
 * "-Inf"), booleans, strings escaped by sonde__json_put_string (invalid
 * UTF-8 becomes U+FFFD), NULL strings as null, redacted values as
 * "[REDACTED]". A field whose key is one of the line's own keys (level,
 * message, ...) gets a "_1" suffix instead of producing a duplicate key.
 *
 * logfmt: ts=... level=info msg="..." service=... k=v ...; a value is
 * bare when it is non-empty printable ASCII without space, '=', '"' or
 * '\\', otherwise quoted with JSON's escapes.
 */
#include "log/log-int.h"

/* ---- timestamp -------------------------------------------------------------------- */

/* The "YYYY-MM-DDTHH:MM:SS" of the last second seen (backend only). */
static int64_t ts_sec = INT64_MIN;
static char ts_prefix[32];

static void put_timestamp(sonde_buf *b, int64_t ns)
{
	int64_t sec = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
	int64_t us = (ns - sec * 1000000000) / 1000;
	char tail[9];
	int i;

	/* core's RFC 3339 (gmtime_r) once a second; the microseconds here */
	if (sec != ts_sec) {
		sonde__fmt_rfc3339_sec(ts_prefix, sec);
		ts_sec = sec;
	}
	sonde__buf_put(b, ts_prefix, 19);
	tail[0] = '.';
	for (i = 6; i >= 1; i--) {
		tail[i] = (char)('0' + us % 10);
		us /= 10;
	}
	tail[7] = 'Z';
	sonde__buf_put(b, tail, 8);
}

/* ---- numbers ------------------------------------------------------------------------ */

static void put_double(sonde_buf *b, double v, bool json)
{
	char tmp[SONDE_DBL_MAX + 2];

	/* sonde__fmt_double has the fast path for short decimals */
	if (json) {
		sonde__json_put_double(b, v);
		return;
	}
	sonde__buf_put(b, tmp, sonde__fmt_double(tmp, v));
}

/* ---- keys ------------------------------------------------------------------------------ */

static const char *const reserved[] = {
        "@timestamp", "ts",      "level",       "message",        "msg",       "service",
        "trace_id",   "span_id", "trace_flags", "correlation_id", "_truncated"};

static bool is_reserved(const char *k)
{
	size_t i;

	for (i = 0; i < SONDE_ARRAY_LEN(reserved); i++)
		if (k[0] == reserved[i][0] && strcmp(k, reserved[i]) == 0)
			return true;
	return false;
}

bool sonde__log_redacted(const sonde_logger *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->nredact; i++)
		if (l->redact[i] == key || strcmp(l->redact[i], key) == 0)
			return true;
	return false;
}

/* `,"key":` (JSON) or ` key=` (logfmt) */
static void put_key(sonde_buf *b, bool json, const char *key)
{
	size_t n = strlen(key);
	bool res = is_reserved(key);

	if (json) {
		sonde__buf_putc(b, ',');
		if (!res) {
			sonde__json_put_string(b, key, n);
		} else {
			sonde__buf_putc(b, '"');
			/* reserved keys are plain ASCII: no escaping needed */
			sonde__buf_put(b, key, n);
			sonde__buf_put(b, "_1\"", 3);
		}
		sonde__buf_putc(b, ':');
		return;
	}
	sonde__buf_putc(b, ' ');
	if (!sonde__buf_reserve(b, n + 3))
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		/* logfmt keys are bare: anything that would end one becomes '_' */
		b->data[b->len++] = (char)(c <= ' ' || c == '=' || c == '"' || c >= 0x7f ? '_' : c);
	}
	if (res)
		sonde__buf_put(b, "_1", 2);
	sonde__buf_putc(b, '=');
}

static void put_str(sonde_buf *b, bool json, const char *s, size_t n)
{
	size_t i;

	if (json || n == 0) {
		sonde__json_put_string(b, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\')
			break;
	}
	if (i == n)
		sonde__buf_put(b, s, n);
	else
		sonde__json_put_string(b, s, n);
}

/* One typed value. */
static void put_value(sonde_buf *b, bool json, int type, uint64_t u, const char *s, bool redact)
{
	char tmp[24];

	if (redact) {
		/* quoted in both formats (logfmt needs it for the brackets) */
		sonde__buf_put(b, "\"[REDACTED]\"", 12);
		return;
	}
	switch (type) {
	case SONDE_LOG_T_STR:
		if (u & REC_STR_NULL)
			sonde__buf_put(b, "null", 4);
		else
			put_str(b, json, s, (size_t)(uint32_t)u);
		break;
	case SONDE_LOG_T_I64: sonde__buf_put(b, tmp, sonde__fmt_i64(tmp, (int64_t)u)); break;
	case SONDE_LOG_T_U64: sonde__buf_put(b, tmp, sonde__fmt_u64(tmp, u)); break;
	case SONDE_LOG_T_F64: put_double(b, sonde__bits_dbl(u), json); break;
	case SONDE_LOG_T_BOOL:
		if (u)
			sonde__buf_put(b, "true", 4);
		else
			sonde__buf_put(b, "false", 5);
		break;
	default: sonde__buf_put(b, "null", 4); break;
	}
}

static void put_hex(sonde_buf *b, const uint8_t *p, size_t n)
{
	if (!sonde__buf_reserve(b, n * 2))
		return;
	sonde__hex_put(b->data + b->len, p, n);
	b->len += 2 * n;
}

/* ---- records ---------------------------------------------------------------------------- */

void sonde__log_format(sonde_buf *b, int fmt, const sonde__log_rec *rec)
{
	const rec_hdr *h = rec->h;
	const sonde_log_site *site = h->site;
	const sonde_logger *l = h->logger;
	const char *s = rec->strs;
	bool json = fmt == 0;
	unsigned i, first = 0;
	const char *msg = site->message;
	size_t msg_len = msg ? strlen(msg) : 0;

	/* sonde_log_write(): the message is the first string value, stored
	 * after the correlation id */
	if (!msg) {
		msg = rec->strs + (rec->ctx ? rec->ctx->corr_len : 0);
		msg_len = (rec->vals[0] & REC_STR_NULL) ? 0 : (uint32_t)rec->vals[0];
		first = 1;
	}
	if (json) {
		sonde__buf_put(b, "{\"@timestamp\":\"", 15);
		put_timestamp(b, rec->ns);
		sonde__buf_put(b, "\",\"level\":\"", 11);
		sonde__buf_puts(b, sonde_log_level_name(h->level));
		sonde__buf_put(b, "\",\"message\":", 12);
		sonde__json_put_string(b, msg, msg_len);
		sonde__buf_put(b, l->json_bound, l->json_bound_len);
	} else {
		sonde__buf_put(b, "ts=", 3);
		put_timestamp(b, rec->ns);
		sonde__buf_put(b, " level=", 7);
		sonde__buf_puts(b, sonde_log_level_name(h->level));
		sonde__buf_put(b, " msg=", 5);
		sonde__json_put_string(b, msg, msg_len);
		sonde__buf_put(b, l->logfmt_bound, l->logfmt_bound_len);
	}
	if (rec->ctx) {
		const rec_ctx *c = rec->ctx;
		static const uint8_t zero_span[8];

		sonde__buf_puts(b, json ? ",\"trace_id\":\"" : " trace_id=");
		put_hex(b, c->trace_id, 16);
		if (memcmp(c->span_id, zero_span, 8) != 0) {
			sonde__buf_puts(b, json ? "\",\"span_id\":\"" : " span_id=");
			put_hex(b, c->span_id, 8);
		}
		sonde__buf_puts(b, json ? "\",\"trace_flags\":\"" : " trace_flags=");
		put_hex(b, &c->trace_flags, 1);
		if (json)
			sonde__buf_putc(b, '"');
		if (c->corr_len) {
			sonde__buf_puts(b, json ? ",\"correlation_id\":" : " correlation_id=");
			put_str(b, json, s, c->corr_len);
			s += c->corr_len;
		}
	}
	if (first)
		s += msg_len;
	for (i = first; i < h->nfields; i++) {
		const char *key = site->keys[i];
		int type = site->types[i];
		uint64_t u = rec->vals[i];
		const char *sv = s;

		if (type == SONDE_LOG_T_STR && !(u & REC_STR_NULL))
			s += (uint32_t)u;
		put_key(b, json, key);
		put_value(b, json, type, u, sv, l->nredact && sonde__log_redacted(l, key));
	}
	if (h->flags & REC_F_TRUNC)
		sonde__buf_puts(b, json ? ",\"_truncated\":true" : " _truncated=true");
	if (json)
		sonde__buf_putc(b, '}');
	sonde__buf_putc(b, '\n');
}

/* ---- bound fields ------------------------------------------------------------------------ */

int sonde__log_render_bound(sonde_logger *l)
{
	sonde_buf b[2] = {SONDE_BUF_INIT, SONDE_BUF_INIT};
	int f;
	size_t i;

	for (f = 0; f < 2; f++) {
		bool json = f == 0;

		sonde__buf_puts(&b[f], json ? ",\"service\":" : " service=");
		put_str(&b[f], json, l->service, l->service_len);
		for (i = 0; i < l->nbound; i++) {
			const bound_field *bf = &l->bound[i];
			uint64_t u = bf->v.v.u;
			const char *s = NULL;

			if (bf->type == SONDE_LOG_T_STR) {
				s = bf->v.v.s;
				u = s ? (uint64_t)(uint32_t)bf->v.len : REC_STR_NULL;
			}
			put_key(&b[f], json, bf->key);
			put_value(&b[f], json, bf->type, u, s, sonde__log_redacted(l, bf->key));
		}
		sonde__buf_terminate(&b[f]);
	}
	if (b[0].oom || b[1].oom) {
		sonde_buf_destroy(&b[0]);
		sonde_buf_destroy(&b[1]);
		return SONDE_ENOMEM;
	}
	/* keep exactly len + 1 bytes so destroy knows the size */
	l->json_bound = sonde__strndup(b[0].data, b[0].len);
	l->logfmt_bound = sonde__strndup(b[1].data, b[1].len);
	l->json_bound_len = b[0].len;
	l->logfmt_bound_len = b[1].len;
	sonde_buf_destroy(&b[0]);
	sonde_buf_destroy(&b[1]);
	if (!l->json_bound || !l->logfmt_bound)
		return SONDE_ENOMEM;
	return SONDE_OK;
}
