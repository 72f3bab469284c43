/*
 * lib/log/log_format.c - records to text: JSON lines and logfmt, on the
 * backend thread; and a logger's bound fields pre-rendered in both formats
 * when the logger is built. Calls: log_level.c (level names), core's
 * buffers, JSON and number writers.
 *
 * JSON line, keys in this order:
 *   @timestamp (RFC 3339 UTC, microseconds), level, message, service, the
 *   logger's bound fields, trace_id, span_id, trace_flags (2 hex digits)
 *   and correlation_id when the record has a context, then the scoped
 *   fields (sonde_log_scope_push; outermost scope first), then the call's
 *   fields, then "_truncated":true when a string was cut, then
 *   "_replayed":true for a flight-recorder record written before its
 *   trigger.
 * Values keep their types: integers as integers, doubles in the shortest
 * form that round-trips (NaN and infinities as the strings "NaN", "+Inf",
 * "-Inf"), booleans, strings escaped by sonde__json_put_string (invalid
 * UTF-8 becomes U+FFFD), NULL strings as null, redacted values as
 * "[REDACTED]".
 *
 * Every line has unique keys (issue 13.13; Elasticsearch rejects a
 * duplicate). Keys are compared as written, after escaping (JSON) or
 * after logfmt's bare-key mapping, so "k\xff" and "k\xfe" (both "k\uFFFD")
 * are one key, and in logfmt so are "a b" and "a_b". The rule, as
 * include/sonde/log.h states it:
 *   1. Among the logger's bound fields, the scoped fields (outermost
 *      first) and the call's fields, the last occurrence of a key wins and
 *      is written at its own place: a call's field beats a scoped field,
 *      an inner scope an outer one, a scoped field a bound field, and of
 *      a key given twice in one call the later value is kept (pino and
 *      zap keep the last).
 *   2. A surviving key that is one of the line's own keys (@timestamp, ts,
 *      level, message, msg, service, trace_id, span_id, trace_flags,
 *      correlation_id, _truncated, _replayed) is written with the first suffix _1,
 *      _2, ... that is neither a line key nor another surviving key nor an
 *      earlier rename.
 * The common line (plain ASCII keys, none reserved, no repeat) is detected
 * by a few string compares and takes the pre-rendered bound fields; any
 * collision renders the line key by key (plan_keys, format_planned).
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

static void put_timestamp(sonde_buf *b, int64_t ns, bool crash)
{
	int64_t sec = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
	int64_t us = (ns - sec * 1000000000) / 1000;
	char tail[9];
	int i;

	/* core's RFC 3339 once a second; the microseconds here. The crash
	 * flush runs beside the backend (or in it): it keeps off the cache. */
	if (crash) {
		char own[19];
		sonde__fmt_rfc3339_sec(own, sec);
		sonde__buf_put(b, own, 19);
	} else {
		if (sec != ts_sec) {
			sonde__fmt_rfc3339_sec(ts_prefix, sec);
			ts_sec = sec;
		}
		sonde__buf_put(b, ts_prefix, 19);
	}
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
        "@timestamp", "ts",      "level",       "message",        "msg",        "service",
        "trace_id",   "span_id", "trace_flags", "correlation_id", "_truncated", "_replayed"};

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

/* A key that escapes to itself in both formats and cannot end a logfmt
 * key: its written text is its bytes. */
static bool key_plain(const char *k)
{
	const unsigned char *p = (const unsigned char *)k;

	if (!*p)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '=')
			return false;
	return true;
}

/* The key as written, without quotes or separator: JSON escaping, or
 * logfmt's mapping of bytes that would end a bare key to '_'. */
static void put_key_text(sonde_buf *b, bool json, const char *key)
{
	size_t n = strlen(key);

	if (json) {
		size_t at = b->len;
		sonde__json_put_string(b, key, n);
		if (b->oom)
			return;
		/* drop the quotes json_put_string wrote around it */
		memmove(b->data + at, b->data + at + 1, b->len - at - 2);
		b->len -= 2;
		return;
	}
	if (!sonde__buf_reserve(b, n))
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		b->data[b->len++] = (char)(c <= ' ' || c == '=' || c == '"' || c >= 0x7f ? '_' : c);
	}
}

/* `,"text_N":` (JSON) or ` text_N=` (logfmt): text is already escaped;
 * suffix 0 = none. */
static void put_key_raw(sonde_buf *b, bool json, const char *text, size_t n, unsigned suffix)
{
	char tmp[16];

	sonde__buf_put(b, json ? ",\"" : " ", json ? 2 : 1);
	sonde__buf_put(b, text, n);
	if (suffix) {
		tmp[0] = '_';
		sonde__buf_put(b, tmp, 1 + sonde__fmt_u64(tmp + 1, suffix));
	}
	sonde__buf_put(b, json ? "\":" : "=", json ? 2 : 1);
}

/* `,"key":` (JSON) or ` key=` (logfmt), for a key that needs no rename. */
static void put_key(sonde_buf *b, bool json, const char *key)
{
	sonde__buf_put(b, json ? ",\"" : " ", json ? 2 : 1);
	put_key_text(b, json, key);
	sonde__buf_put(b, json ? "\":" : "=", json ? 2 : 1);
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

/* ---- scoped fields ---------------------------------------------------------------------- */

/* A record's scoped fields, outermost first: the block of log-int.h read
 * backwards. */
typedef struct scoped_view {
	unsigned n;
	const char *key[SONDE_LOG_SCOPE_TOTAL];
	int type[SONDE_LOG_SCOPE_TOTAL];
	uint64_t u[SONDE_LOG_SCOPE_TOTAL];
	const char *s[SONDE_LOG_SCOPE_TOTAL];
} scoped_view;

static void scoped_read(scoped_view *sv, const sonde__log_rec *rec)
{
	const char *p = rec->scope_strs;
	unsigned j, n;

	sv->n = 0;
	if (!rec->scope)
		return;
	n = (unsigned)rec->scope[0];
	if (n > SONDE_LOG_SCOPE_TOTAL)
		n = SONDE_LOG_SCOPE_TOTAL; /* cannot happen: push refuses more */
	for (j = 0; j < n; j++) {
		uint64_t meta = rec->scope[1 + 2 * j], u = rec->scope[2 + 2 * j];
		unsigned at = n - 1 - j;

		sv->key[at] = p;
		p += REC_SCOPE_KLEN(meta) + 1;
		sv->type[at] = REC_SCOPE_TYPE(meta);
		sv->u[at] = u;
		sv->s[at] = p;
		if (sv->type[at] == SONDE_LOG_T_STR && !(u & REC_STR_NULL))
			p += (uint32_t)u;
	}
	sv->n = n;
}

/* ---- unique keys ------------------------------------------------------------------------ */

#define PLAN_STACK (SONDE__LOG_MAX_BOUND + SONDE_LOG_SCOPE_TOTAL + SONDE__LOG_MAX_FIELDS)

typedef struct plan_ent {
	size_t off, len; /* the written key in key_plan.text */
	unsigned suffix; /* 0: written as is */
	bool alive;      /* false: a later entry has the same key */
} plan_ent;

/* The keys of one line that needs renames or skips: the logger's bound
 * fields (entries 0..nbound-1), the scoped fields (nscoped entries), then
 * the call's fields from `first`. A
 * chain of children can bind more than PLAN_STACK fields: then the
 * entries are allocated. */
typedef struct key_plan {
	sonde_buf text; /* every entry's written key, back to back */
	size_t nbound, nscoped, n;
	plan_ent *ent;
	plan_ent stack[PLAN_STACK];
} key_plan;

/* True when the line's keys need no plan: every key plain, none reserved,
 * none twice (the bound fields were checked when the logger was built). */
static bool keys_simple(const sonde_logger *l, const sonde_log_site *site, unsigned first,
                        const scoped_view *sv)
{
	unsigned i, j;
	size_t k;

	if (!l->keys_plain)
		return false;
	for (i = 0; i < sv->n; i++) {
		const char *key = sv->key[i];
		if (!key_plain(key) || is_reserved(key))
			return false;
		for (j = 0; j < i; j++)
			if (strcmp(sv->key[j], key) == 0)
				return false;
		for (k = 0; k < l->nbound; k++)
			if (strcmp(l->bound[k].key, key) == 0)
				return false;
		for (j = first; j < site->nfields; j++)
			if (strcmp(site->keys[j], key) == 0)
				return false;
	}
	for (i = first; i < site->nfields; i++) {
		const char *key = site->keys[i];
		if (!key_plain(key) || is_reserved(key))
			return false;
		for (j = first; j < i; j++)
			if (strcmp(site->keys[j], key) == 0)
				return false;
		for (k = 0; k < l->nbound; k++)
			if (strcmp(l->bound[k].key, key) == 0)
				return false;
	}
	return true;
}

static bool text_eq(const key_plan *p, size_t a, const char *t, size_t n)
{
	return p->ent[a].len == n && memcmp(p->text.data + p->ent[a].off, t, n) == 0;
}

/* text + "_" + suffix into out (at least n + 22 bytes); its length. */
static size_t renamed(char *out, const char *text, size_t n, unsigned suffix)
{
	memcpy(out, text, n);
	out[n] = '_';
	n += 1 + sonde__fmt_u64(out + n + 1, suffix);
	out[n] = '\0';
	return n;
}

/* Would entry e's key written with this suffix collide with a line key, a
 * key written as is, or an earlier entry's rename? Only line keys (short,
 * plain ASCII) are renamed. */
static bool rename_taken(const key_plan *p, size_t e, unsigned suffix)
{
	char cand[64], other[64];
	size_t cl, i;

	cl = renamed(cand, p->text.data + p->ent[e].off, p->ent[e].len, suffix);
	if (is_reserved(cand))
		return true;
	for (i = 0; i < p->n; i++) {
		const plan_ent *o = &p->ent[i];
		if (!o->alive)
			continue;
		/* a key written as is (cand is no line key, so no entry still
		 * waiting for its rename has this text) */
		if (!o->suffix && text_eq(p, i, cand, cl))
			return true;
		if (o->suffix && i < e &&
		    renamed(other, p->text.data + o->off, o->len, o->suffix) == cl &&
		    memcmp(other, cand, cl) == 0)
			return true;
	}
	return false;
}

/* Fills *p for the line: each key's written text, which entries survive,
 * which are renamed. false on out of memory. */
static bool plan_keys(key_plan *p, bool json, const sonde_logger *l, const sonde_log_site *site,
                      unsigned first, const scoped_view *sv)
{
	size_t e, f, total = l->nbound + sv->n + (site->nfields - first);

	p->text = (sonde_buf)SONDE_BUF_INIT;
	p->nbound = l->nbound;
	p->nscoped = sv->n;
	p->n = total;
	p->ent = total <= PLAN_STACK ? p->stack : sonde__malloc(total * sizeof(*p->ent));
	if (!p->ent)
		return false;
	for (e = 0; e < total; e++) {
		const char *key = e < l->nbound ? l->bound[e].key
		                  : e < l->nbound + sv->n
		                          ? sv->key[e - l->nbound]
		                          : site->keys[first + e - l->nbound - sv->n];
		p->ent[e].off = p->text.len;
		put_key_text(&p->text, json, key);
		p->ent[e].len = p->text.len - p->ent[e].off;
		p->ent[e].suffix = 0;
		p->ent[e].alive = true;
	}
	if (p->text.oom)
		return false;
	/* 1: the last occurrence of a key wins */
	for (e = 0; e < total; e++)
		for (f = e + 1; f < total && p->ent[e].alive; f++)
			if (text_eq(p, f, p->text.data + p->ent[e].off, p->ent[e].len))
				p->ent[e].alive = false;
	/* 2: a line key gets the first free suffix, in order */
	for (e = 0; e < total; e++) {
		char t[32];
		unsigned k = 1;

		if (!p->ent[e].alive || p->ent[e].len >= sizeof(t))
			continue;
		memcpy(t, p->text.data + p->ent[e].off, p->ent[e].len);
		t[p->ent[e].len] = '\0';
		if (!is_reserved(t))
			continue;
		while (rename_taken(p, e, k))
			k++;
		p->ent[e].suffix = k;
	}
	return true;
}

static void plan_free(key_plan *p)
{
	if (p->ent && p->ent != p->stack)
		sonde__free(p->ent, p->n * sizeof(*p->ent));
	sonde_buf_destroy(&p->text);
}

/* One bound field with the given written key. */
static void put_bound(sonde_buf *b, bool json, const sonde_logger *l, const bound_field *bf,
                      const char *text, size_t n, unsigned suffix)
{
	uint64_t u = bf->v.v.u;
	const char *s = NULL;

	if (bf->type == SONDE_LOG_T_STR) {
		s = bf->v.v.s;
		u = s ? (uint64_t)(uint32_t)bf->v.len : REC_STR_NULL;
	}
	put_key_raw(b, json, text, n, suffix);
	put_value(b, json, bf->type, u, s, sonde__log_redacted(l, bf->key));
}

/* ---- records ---------------------------------------------------------------------------- */

static void format_rec(sonde_buf *b, int fmt, const sonde__log_rec *rec, bool crash)
{
	const rec_hdr *h = rec->h;
	const sonde_log_site *site = h->site;
	const sonde_logger *l = h->logger;
	const char *s = rec->strs;
	bool json = fmt == 0, simple;
	unsigned i, first = 0;
	const char *msg = site->message;
	size_t msg_len = msg ? strlen(msg) : 0, e;
	key_plan plan;
	scoped_view scv;

	/* sonde_log_write(): the message is the first string value, stored
	 * after the correlation id */
	if (!msg) {
		msg = rec->strs + (rec->ctx ? rec->ctx->corr_len : 0);
		msg_len = (rec->vals[0] & REC_STR_NULL) ? 0 : (uint32_t)rec->vals[0];
		first = 1;
	}
	scoped_read(&scv, rec);
	simple = keys_simple(l, site, first, &scv);
	if (!simple) {
		if (!plan_keys(&plan, json, l, site, first, &scv)) {
			plan_free(&plan);
			b->oom = 1; /* the caller writes nothing */
			return;
		}
	}
	if (json) {
		sonde__buf_put(b, "{\"@timestamp\":\"", 15);
		put_timestamp(b, rec->ns, crash);
		sonde__buf_put(b, "\",\"level\":\"", 11);
		sonde__buf_puts(b, sonde_log_level_name(h->level));
		sonde__buf_put(b, "\",\"message\":", 12);
		sonde__json_put_string(b, msg, msg_len);
	} else {
		sonde__buf_put(b, "ts=", 3);
		put_timestamp(b, rec->ns, crash);
		sonde__buf_put(b, " level=", 7);
		sonde__buf_puts(b, sonde_log_level_name(h->level));
		sonde__buf_put(b, " msg=", 5);
		sonde__json_put_string(b, msg, msg_len);
	}
	if (simple) {
		if (json)
			sonde__buf_put(b, l->json_bound, l->json_bound_len);
		else
			sonde__buf_put(b, l->logfmt_bound, l->logfmt_bound_len);
	} else {
		sonde__buf_puts(b, json ? ",\"service\":" : " service=");
		put_str(b, json, l->service, l->service_len);
		for (e = 0; e < plan.nbound; e++)
			if (plan.ent[e].alive)
				put_bound(b, json, l, &l->bound[e],
				          plan.text.data + plan.ent[e].off, plan.ent[e].len,
				          plan.ent[e].suffix);
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
	for (i = 0, e = simple ? 0 : plan.nbound; i < scv.n; i++, e++) {
		if (simple)
			put_key(b, json, scv.key[i]);
		else if (!plan.ent[e].alive)
			continue; /* a later scope or the call has the same key */
		else
			put_key_raw(b, json, plan.text.data + plan.ent[e].off, plan.ent[e].len,
			            plan.ent[e].suffix);
		put_value(b, json, scv.type[i], scv.u[i], scv.s[i],
		          l->nredact && sonde__log_redacted(l, scv.key[i]));
	}
	if (first)
		s += msg_len;
	for (i = first, e = simple ? 0 : plan.nbound + plan.nscoped; i < h->nfields; i++, e++) {
		const char *key = site->keys[i];
		int type = site->types[i];
		uint64_t u = rec->vals[i];
		const char *sv = s;

		if (type == SONDE_LOG_T_STR && !(u & REC_STR_NULL))
			s += (uint32_t)u;
		if (simple) {
			put_key(b, json, key);
		} else if (!plan.ent[e].alive) {
			continue; /* a later field has the same key */
		} else {
			put_key_raw(b, json, plan.text.data + plan.ent[e].off, plan.ent[e].len,
			            plan.ent[e].suffix);
		}
		put_value(b, json, type, u, sv, l->nredact && sonde__log_redacted(l, key));
	}
	if (!simple)
		plan_free(&plan);
	if (h->flags & REC_F_TRUNC)
		sonde__buf_puts(b, json ? ",\"_truncated\":true" : " _truncated=true");
	if (h->flags & REC_F_REPLAY)
		sonde__buf_puts(b, json ? ",\"_replayed\":true" : " _replayed=true");
	if (json)
		sonde__buf_putc(b, '}');
	sonde__buf_putc(b, '\n');
}

void sonde__log_format(sonde_buf *b, int fmt, const sonde__log_rec *rec)
{
	format_rec(b, fmt, rec, false);
}

void sonde__log_format_crash(sonde_buf *b, int fmt, const sonde__log_rec *rec)
{
	format_rec(b, fmt, rec, true);
}

/* ---- bound fields ------------------------------------------------------------------------ */

int sonde__log_render_bound(sonde_logger *l)
{
	sonde_buf b[2] = {SONDE_BUF_INIT, SONDE_BUF_INIT};
	int f;
	size_t i, j;

	/* the pre-rendered fields serve lines that need no key plan
	 * (keys_simple): plain keys, none reserved, none twice */
	l->keys_plain = true;
	for (i = 0; i < l->nbound; i++) {
		if (!key_plain(l->bound[i].key) || is_reserved(l->bound[i].key))
			l->keys_plain = false;
		for (j = 0; j < i; j++)
			if (strcmp(l->bound[i].key, l->bound[j].key) == 0)
				l->keys_plain = false;
	}
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
