/*
 * lib/log/log_format.c - records to text in each output profile (json,
 * ecs, otel, logfmt, console), on the backend thread (and in the crash
 * flush, which refuses allocation: a line needing memory is skipped); and a logger's bound fields
 * pre-rendered for json and logfmt when the logger is built. Calls: log_level.c (level names),
 * core's buffers, JSON and number writers.
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
 *
 * Profiles (issue 15; include/sonde/log.h shows each line): json (above,
 * its time/level/message keys and level case per sink), logfmt, ecs, otel
 * and console (logfmt's fields after a human head). Each profile has its
 * own set of line keys for rule 2 (rset_of): json's list plus the sink's
 * own key names; ecs the ECS fields and objects it writes; otel the
 * attributes it adds (its top-level keys hold no user field); logfmt and
 * console json's list. In otel the bound and call fields go inside
 * "attributes", so rule 1 and 2 apply there.
 *
 * Nested values (SONDE_LOG_T_TREE, log_tree.c's encoding) are read
 * defensively: cut by the ring's limit or foreign (sonde_log_write), a
 * tree yields a complete JSON value (null, open containers closed) and
 * "_truncated":true. Keys of one nested object are kept unique as written
 * (tkeys: the first of two keys that escape alike is kept); the objects
 * sonde writes itself (service, log, process, trace, span, error,
 * resource) hold only its own keys, and the top-level keys naming them are
 * line keys, so user fields are renamed away from them. logfmt and
 * console flatten a tree to dotted keys. An error tree is mapped once per
 * line: ecs "error":{type,message,stack_trace}, otel attributes
 * exception.*; json and later error fields an object under the field's
 * key.
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

/* ECS: the fields sonde writes, the objects on their paths, and labels
 * (include/sonde/log.h lists them) */
static const char *const reserved_ecs[] = {
        "@timestamp",    "log.level",         "message",        "ecs.version",
        "ecs",           "service",           "service.name",   "log",
        "log.logger",    "process",           "process.thread", "process.thread.id",
        "trace",         "trace.id",          "span",           "span.id",
        "transaction",   "transaction.id",    "error",          "error.type",
        "error.message", "error.stack_trace", "labels",         "correlation_id",
        "event",         "event.dataset",     "_truncated",     "_replayed"};

/* OTel: the attributes sonde adds itself */
static const char *const reserved_otel[] = {
        "correlation_id",       "thread.id",  "exception.type", "exception.message",
        "exception.stacktrace", "_truncated", "_replayed"};

/* The keys a line of a profile writes itself: a field's key among them is
 * renamed. */
typedef struct rset {
	const char *const *list;
	size_t n;
	const sonde_log_sink *s; /* json: its own key names too */
	unsigned kind;           /* RSET_*: which site check bits apply */
} rset;

/* The fixed sets (the site's cached key check has a bit pair for each);
 * RSET_SINK: a json sink with its own key names, checked every line. */
enum { RSET_DEFAULT = 0, RSET_ECS = 1, RSET_OTEL = 2, RSET_SINK = 3 };

static rset rset_of(const sonde_log_sink *s)
{
	rset r = {reserved, SONDE_ARRAY_LEN(reserved), NULL, RSET_DEFAULT};

	if (s->format == SONDE_LOG_FORMAT_ECS) {
		r.list = reserved_ecs;
		r.n = SONDE_ARRAY_LEN(reserved_ecs);
		r.kind = RSET_ECS;
	} else if (s->format == SONDE_LOG_FORMAT_OTEL) {
		r.list = reserved_otel;
		r.n = SONDE_ARRAY_LEN(reserved_otel);
		r.kind = RSET_OTEL;
	} else if (s->format == SONDE_LOG_FORMAT_JSON &&
	           (s->keys[0][0] || s->keys[1][0] || s->keys[2][0])) {
		r.s = s;
		r.kind = RSET_SINK;
	}
	return r;
}

static bool is_reserved(const rset *rs, const char *k)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (k[0] == rs->list[i][0] && strcmp(k, rs->list[i]) == 0)
			return true;
	if (rs->s)
		for (i = 0; i < 3; i++)
			if (rs->s->keys[i][0] && strcmp(k, rs->s->keys[i]) == 0)
				return true;
	return false;
}

static const rset rset_default = {reserved, SONDE_ARRAY_LEN(reserved), NULL, RSET_DEFAULT};

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

/* The same for a key_plain() key (a line without a plan checked every
 * key): its bytes are its written text in both formats. */
static void put_key_plain(sonde_buf *b, bool json, const char *key)
{
	size_t n = strlen(key);
	char *p;

	if (!sonde__buf_reserve(b, n + 4))
		return;
	p = b->data + b->len;
	if (json) {
		p[0] = ',';
		p[1] = '"';
		memcpy(p + 2, key, n);
		p[n + 2] = '"';
		p[n + 3] = ':';
		b->len += n + 4;
	} else {
		p[0] = ' ';
		memcpy(p + 1, key, n);
		p[n + 1] = '=';
		b->len += n + 2;
	}
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
	const rset *rs;
	sonde_buf text; /* every entry's written key, back to back */
	size_t nbound, nscoped, n;
	plan_ent *ent;
	plan_ent stack[PLAN_STACK];
} key_plan;

/* The call's own keys (from `first`) are plain, none reserved in rs, none
 * twice: what keys_simple() needs of the site alone. */
static bool site_keys_simple(const rset *rs, const sonde_log_site *site, unsigned first)
{
	unsigned i, j;

	for (i = first; i < site->nfields; i++) {
		const char *key = site->keys[i];
		if (!key_plain(key) || is_reserved(rs, key))
			return false;
		for (j = first; j < i; j++)
			if (strcmp(site->keys[j], key) == 0)
				return false;
	}
	return true;
}

/* site_keys_simple(), worked out once per site and fixed set: the answer
 * is kept in the site's state (log-int.h, SITE_ST_KEYS_*). A site of a
 * fixed layout never changes, and sites are never freed while their
 * records may be read. Sites without a state (compiled before it) and
 * sinks with their own key names are checked every line. */

static bool site_keys_cached(const rset *rs, const sonde_log_site *site, unsigned first)
{
	sonde_log_site_state *st = (site->flags & SONDE_LOG_SITE_F_STATE) && rs->kind != RSET_SINK
	                                   ? site->state
	                                   : NULL;
	uint32_t bits, done = SITE_ST_KEYS_DONE << rs->kind, yes = SITE_ST_KEYS_YES << rs->kind;
	bool ok;

	if (st) {
		bits = __atomic_load_n(&st->flags, __ATOMIC_RELAXED);
		if (bits & done)
			return (bits & yes) != 0;
	}
	ok = site_keys_simple(rs, site, first);
	if (st)
		__atomic_fetch_or(&st->flags, done | (ok ? yes : 0u), __ATOMIC_RELAXED);
	return ok;
}

/* True when the line's keys need no plan: every key plain, none reserved,
 * none twice. With the default reserved set the bound fields were checked
 * when the logger was built; otherwise they are checked here. The call's
 * keys alone are checked once per site (site_keys_cached). */
static bool keys_simple(const rset *rs, const sonde_logger *l, const sonde_log_site *site,
                        unsigned first, const scoped_view *sv)
{
	unsigned i, j;
	size_t k;

	if (!l->keys_plain || !site_keys_cached(rs, site, first))
		return false;
	if (rs->list != reserved || rs->s)
		for (k = 0; k < l->nbound; k++)
			if (is_reserved(rs, l->bound[k].key))
				return false;
	for (i = 0; i < sv->n; i++) {
		const char *key = sv->key[i];
		if (!key_plain(key) || is_reserved(rs, key))
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
	if (l->nbound)
		for (i = first; i < site->nfields; i++)
			for (k = 0; k < l->nbound; k++)
				if (strcmp(l->bound[k].key, site->keys[i]) == 0)
					return false;
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
	char cand[128], other[128];
	size_t cl, i;

	cl = renamed(cand, p->text.data + p->ent[e].off, p->ent[e].len, suffix);
	if (is_reserved(p->rs, cand))
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
static bool plan_keys(key_plan *p, const rset *rs, bool json, const sonde_logger *l,
                      const sonde_log_site *site, unsigned first, const scoped_view *sv)
{
	size_t e, f, total = l->nbound + sv->n + (site->nfields - first);

	p->rs = rs;
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
		char t[SONDE__LOG_KEY_MAX + 16];
		unsigned k = 1;

		if (!p->ent[e].alive || p->ent[e].len >= sizeof(t))
			continue;
		memcpy(t, p->text.data + p->ent[e].off, p->ent[e].len);
		t[p->ent[e].len] = '\0';
		if (!is_reserved(rs, t))
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

/* ---- nested values (sonde_log_tree encodings, log_tree.c) ------------------------------- */

/* The encoding may be cut (the ring's record limit, the flight recorder's
 * slots) or not the builder's at all (sonde_log_write's caller): every
 * reader here checks each length and writes a complete value whatever it
 * finds, reporting false when it had to stop early. */
typedef struct tcur {
	const unsigned char *p;
	size_t n, at;
} tcur;

static bool tc_take(tcur *c, void *out, size_t n)
{
	if (c->n - c->at < n)
		return false;
	if (out)
		memcpy(out, c->p + c->at, n);
	c->at += n;
	return true;
}

/* The written keys of the open objects of one tree (offsets in the
 * output), to keep each object's keys unique as written. */
typedef struct tkeys {
	size_t off[SONDE_LOG_TREE_KEYS_MAX], len[SONDE_LOG_TREE_KEYS_MAX];
	size_t n;
} tkeys;

/* A scalar token's value in JSON or logfmt text; false when cut or
 * unknown (then null is written). */
static bool tree_scalar(sonde_buf *b, bool json, tcur *c, unsigned char tok)
{
	char tmp[24];
	uint64_t u;
	uint32_t n;

	switch (tok) {
	case TREE_STR:
		if (!tc_take(c, &n, 4) || c->n - c->at < n)
			break;
		put_str(b, json, (const char *)c->p + c->at, n);
		c->at += n;
		return true;
	case TREE_I64:
	case TREE_U64:
	case TREE_F64:
		if (!tc_take(c, &u, 8))
			break;
		if (tok == TREE_I64)
			sonde__buf_put(b, tmp, sonde__fmt_i64(tmp, (int64_t)u));
		else if (tok == TREE_U64)
			sonde__buf_put(b, tmp, sonde__fmt_u64(tmp, u));
		else
			put_double(b, sonde__bits_dbl(u), json);
		return true;
	case TREE_TRUE: sonde__buf_put(b, "true", 4); return true;
	case TREE_FALSE: sonde__buf_put(b, "false", 5); return true;
	case TREE_NULL: sonde__buf_put(b, "null", 4); return true;
	default: break;
	}
	sonde__buf_put(b, "null", 4);
	return false;
}

/* One JSON value from the encoding at c. */
static bool tree_json(sonde_buf *b, tcur *c, unsigned depth, tkeys *k)
{
	unsigned char tok;
	bool ok = true, first = true;

	if (!tc_take(c, &tok, 1)) {
		sonde__buf_put(b, "null", 4);
		return false;
	}
	if ((tok == TREE_OBJ || tok == TREE_ARR) && depth >= SONDE_LOG_TREE_DEPTH_MAX) {
		sonde__buf_put(b, "null", 4);
		return false;
	}
	if (tok == TREE_ARR) {
		sonde__buf_putc(b, '[');
		for (;;) {
			if (c->at >= c->n) {
				ok = false;
				break;
			}
			if (c->p[c->at] == TREE_END_ARR) {
				c->at++;
				break;
			}
			if (!first)
				sonde__buf_putc(b, ',');
			first = false;
			if (!tree_json(b, c, depth + 1, k)) {
				ok = false;
				break;
			}
		}
		sonde__buf_putc(b, ']');
		return ok;
	}
	if (tok == TREE_OBJ) {
		size_t base = k->n;

		sonde__buf_putc(b, '{');
		for (;;) {
			unsigned char kl;
			size_t mark, ko, i;
			bool dup = false, vok;

			if (c->at >= c->n) {
				ok = false;
				break;
			}
			if (c->p[c->at] == TREE_END_OBJ) {
				c->at++;
				break;
			}
			if (c->p[c->at] != TREE_KEY || k->n >= SONDE_LOG_TREE_KEYS_MAX) {
				ok = false;
				break;
			}
			c->at++;
			if (!tc_take(c, &kl, 1) || !kl || c->n - c->at < kl) {
				ok = false;
				break;
			}
			mark = b->len;
			if (!first)
				sonde__buf_putc(b, ',');
			ko = b->len;
			sonde__json_put_string(b, (const char *)c->p + c->at, kl);
			c->at += kl;
			if (b->oom)
				return false;
			/* a key that escapes like an earlier one of this
			 * object: the first is kept (the builder refuses
			 * repeats, so only foreign bytes get here) */
			for (i = base; i < k->n && !dup; i++)
				dup = k->len[i] == b->len - ko &&
				      memcmp(b->data + k->off[i], b->data + ko, k->len[i]) == 0;
			if (!dup) {
				k->off[k->n] = ko;
				k->len[k->n] = b->len - ko;
				k->n++;
			}
			sonde__buf_putc(b, ':');
			vok = tree_json(b, c, depth + 1, k);
			if (dup && !b->oom)
				b->len = mark;
			else
				first = false;
			if (!vok) {
				ok = false;
				break;
			}
		}
		k->n = base;
		sonde__buf_putc(b, '}');
		return ok;
	}
	return tree_scalar(b, true, c, tok);
}

#define FLAT_MAX 512 /* a flattened key's bytes */

/* ` pre=value` for each leaf below the value at c, pre[0..plen) the key so
 * far (logfmt, console). */
static bool tree_flat(sonde_buf *b, tcur *c, char *pre, size_t plen, unsigned depth)
{
	unsigned char tok;
	bool ok = true, empty = true;
	uint64_t idx = 0;

	if (!tc_take(c, &tok, 1) ||
	    ((tok == TREE_OBJ || tok == TREE_ARR) && depth >= SONDE_LOG_TREE_DEPTH_MAX)) {
		sonde__buf_putc(b, ' ');
		sonde__buf_put(b, pre, plen);
		sonde__buf_put(b, "=null", 5);
		return false;
	}
	if (tok != TREE_OBJ && tok != TREE_ARR) {
		sonde__buf_putc(b, ' ');
		sonde__buf_put(b, pre, plen);
		sonde__buf_putc(b, '=');
		return tree_scalar(b, false, c, tok);
	}
	for (;;) {
		size_t n = plen;
		unsigned char kl;

		if (c->at >= c->n) {
			ok = false;
			break;
		}
		if (c->p[c->at] == (tok == TREE_OBJ ? TREE_END_OBJ : TREE_END_ARR)) {
			c->at++;
			break;
		}
		if (n + 1 + 255 + 1 > FLAT_MAX) {
			ok = false;
			break;
		}
		pre[n++] = '.';
		if (tok == TREE_ARR) {
			n += sonde__fmt_u64(pre + n, idx++);
		} else {
			if (c->p[c->at] != TREE_KEY) {
				ok = false;
				break;
			}
			c->at++;
			if (!tc_take(c, &kl, 1) || !kl || c->n - c->at < kl) {
				ok = false;
				break;
			}
			for (size_t i = 0; i < kl; i++) {
				unsigned char ch = c->p[c->at + i];
				pre[n++] = (char)(ch <= ' ' || ch == '=' || ch == '"' || ch >= 0x7f
				                          ? '_'
				                          : ch);
			}
			c->at += kl;
		}
		empty = false;
		if (!tree_flat(b, c, pre, n, depth + 1)) {
			ok = false;
			break;
		}
	}
	if (empty) {
		sonde__buf_putc(b, ' ');
		sonde__buf_put(b, pre, plen);
		sonde__buf_puts(b, tok == TREE_OBJ ? "={}" : "=[]");
	}
	return ok;
}

/* An error tree's type, message and stack (each absent when null). */
typedef struct terr {
	const char *p[3];
	size_t n[3];
	bool set[3];
} terr;

static bool tree_err(tcur *c, terr *e)
{
	int i;

	memset(e, 0, sizeof(*e));
	c->at = 1; /* after TREE_ERR */
	for (i = 0; i < 3; i++) {
		unsigned char tok;
		uint32_t n;

		if (!tc_take(c, &tok, 1))
			return false;
		if (tok == TREE_NULL)
			continue;
		if (tok != TREE_STR || !tc_take(c, &n, 4) || c->n - c->at < n)
			return false;
		e->p[i] = (const char *)c->p + c->at;
		e->n[i] = n;
		e->set[i] = true;
		c->at += n;
	}
	return c->at == c->n;
}

/* ---- records ---------------------------------------------------------------------------- */

typedef struct fctx {
	sonde_buf *b;
	const sonde_log_sink *s;
	int fmt;
	bool json;     /* JSON syntax: json, ecs, otel */
	bool trunc;    /* a nested value was cut or malformed */
	bool err_done; /* ecs, otel: an error field took error.* / exception.* */
	bool simple;   /* no key plan */
	key_plan plan;
	scoped_view scv; /* the record's scoped fields (log_scope.c) */
} fctx;

static const char *const level_upper[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

static const char *level_text(int level, bool upper)
{
	if (!upper)
		return sonde_log_level_name(level);
	return level >= 0 && level < 6 ? level_upper[level] : "UNKNOWN";
}

/* An error's members: in JSON `{"type":..,"message":..,"<stack>":..}`
 * (inside braces the caller writes) or, prefixed, as logfmt keys. */
static void put_err_members(fctx *f, const terr *e, const char *stack_name, const char *prefix,
                            size_t plen)
{
	static const char *const names[2] = {"type", "message"};
	bool first = true;
	int i;

	for (i = 0; i < 3; i++) {
		const char *name = i < 2 ? names[i] : stack_name;

		if (!e->set[i])
			continue;
		if (f->json) {
			if (!first)
				sonde__buf_putc(f->b, ',');
			sonde__buf_putc(f->b, '"');
			sonde__buf_puts(f->b, name);
			sonde__buf_put(f->b, "\":", 2);
		} else {
			sonde__buf_putc(f->b, ' ');
			sonde__buf_put(f->b, prefix, plen);
			sonde__buf_putc(f->b, '.');
			sonde__buf_puts(f->b, name);
			sonde__buf_putc(f->b, '=');
		}
		first = false;
		put_str(f->b, f->json, e->p[i], e->n[i]);
	}
}

/* The written key of the field at plan entry e (or the plain key). */
static void field_key(fctx *f, const char *key, size_t e)
{
	if (f->simple)
		put_key_plain(f->b, f->json, key);
	else
		put_key_raw(f->b, f->json, f->plan.text.data + f->plan.ent[e].off,
		            f->plan.ent[e].len, f->plan.ent[e].suffix);
}

/* The same key as text into pre (logfmt's flattening prefix); its length. */
static size_t field_key_text(fctx *f, const char *key, size_t e, char *pre)
{
	const char *t = key;
	size_t n, max = FLAT_MAX - 24;

	if (!f->simple) {
		t = f->plan.text.data + f->plan.ent[e].off;
		n = f->plan.ent[e].len;
	} else {
		n = strlen(key);
	}
	if (n > max)
		n = max;
	memcpy(pre, t, n);
	if (!f->simple && f->plan.ent[e].suffix) {
		pre[n++] = '_';
		n += sonde__fmt_u64(pre + n, f->plan.ent[e].suffix);
	}
	return n;
}

/* A tree field: nested JSON, flattened keys, or an error mapped to the
 * profile's error fields. */
static void put_tree_field(fctx *f, const char *key, size_t e, const char *v, size_t n)
{
	tcur c = {(const unsigned char *)v, n, 0};
	char pre[FLAT_MAX];
	size_t plen;

	if (n && c.p[0] == TREE_ERR) {
		terr er;
		const char *stack = f->fmt == SONDE_LOG_FORMAT_ECS    ? "stack_trace"
		                    : f->fmt == SONDE_LOG_FORMAT_OTEL ? "stacktrace"
		                                                      : "stack";

		if (!tree_err(&c, &er))
			f->trunc = true;
		if (!f->err_done && f->fmt == SONDE_LOG_FORMAT_ECS) {
			f->err_done = true;
			sonde__buf_puts(f->b, ",\"error\":{");
			put_err_members(f, &er, stack, NULL, 0);
			sonde__buf_putc(f->b, '}');
			return;
		}
		if (!f->err_done && f->fmt == SONDE_LOG_FORMAT_OTEL) {
			static const char *const attr[3] = {
			        ",\"exception.type\":", ",\"exception.message\":",
			        ",\"exception.stacktrace\":"};
			f->err_done = true;
			for (int i = 0; i < 3; i++)
				if (er.set[i]) {
					sonde__buf_puts(f->b, attr[i]);
					put_str(f->b, true, er.p[i], er.n[i]);
				}
			return;
		}
		if (f->json) {
			field_key(f, key, e);
			sonde__buf_putc(f->b, '{');
			put_err_members(f, &er, stack, NULL, 0);
			sonde__buf_putc(f->b, '}');
		} else {
			plen = field_key_text(f, key, e, pre);
			put_err_members(f, &er, stack, pre, plen);
		}
		return;
	}
	if (f->json) {
		tkeys k;
		k.n = 0;
		field_key(f, key, e);
		if (!tree_json(f->b, &c, 0, &k) || c.at != c.n)
			f->trunc = true;
		return;
	}
	plen = field_key_text(f, key, e, pre);
	if (!tree_flat(f->b, &c, pre, plen, 0) || c.at != c.n)
		f->trunc = true;
}

/* The logger's bound fields (never trees). */
static void put_bounds(fctx *f, const sonde_logger *l)
{
	size_t e;

	for (e = 0; e < l->nbound; e++) {
		const bound_field *bf = &l->bound[e];

		if (f->simple) {
			uint64_t u = bf->v.v.u;
			const char *sv = NULL;

			if (bf->type == SONDE_LOG_T_STR) {
				sv = bf->v.v.s;
				u = sv ? (uint64_t)(uint32_t)bf->v.len : REC_STR_NULL;
			}
			put_key_plain(f->b, f->json, bf->key);
			put_value(f->b, f->json, bf->type, u, sv, sonde__log_redacted(l, bf->key));
		} else if (f->plan.ent[e].alive) {
			put_bound(f->b, f->json, l, bf, f->plan.text.data + f->plan.ent[e].off,
			          f->plan.ent[e].len, f->plan.ent[e].suffix);
		}
	}
}

/* The record's scoped fields (scalars), after the bound ones. */
static void put_scoped(fctx *f, const sonde_logger *l)
{
	size_t e = f->simple ? 0 : f->plan.nbound;
	unsigned i;

	for (i = 0; i < f->scv.n; i++, e++) {
		if (f->simple)
			put_key_plain(f->b, f->json, f->scv.key[i]);
		else if (!f->plan.ent[e].alive)
			continue; /* a later scope or the call has the same key */
		else
			put_key_raw(f->b, f->json, f->plan.text.data + f->plan.ent[e].off,
			            f->plan.ent[e].len, f->plan.ent[e].suffix);
		put_value(f->b, f->json, f->scv.type[i], f->scv.u[i], f->scv.s[i],
		          l->nredact && sonde__log_redacted(l, f->scv.key[i]));
	}
}

/* The call's fields from `first`, strings from s. */
static void put_fields(fctx *f, const sonde__log_rec *rec, unsigned first, const char *s)
{
	const rec_hdr *h = rec->h;
	const sonde_log_site *site = h->site;
	const sonde_logger *l = h->logger;
	size_t e = f->simple ? 0 : f->plan.nbound + f->plan.nscoped;
	unsigned i;

	for (i = first; i < h->nfields; i++, e++) {
		const char *key = site->keys[i];
		int type = site->types[i];
		uint64_t u = rec->vals[i];
		const char *sv = s;
		bool redact;

		if (SONDE__LOG_T_BYTES(type) && !(u & REC_STR_NULL))
			s += (uint32_t)u;
		if (!f->simple && !f->plan.ent[e].alive)
			continue; /* a later field has the same key */
		redact = l->nredact && sonde__log_redacted(l, key);
		if (type == SONDE_LOG_T_TREE && !(u & REC_STR_NULL) && !redact) {
			put_tree_field(f, key, e, sv, (uint32_t)u);
			continue;
		}
		field_key(f, key, e);
		put_value(f->b, f->json, type, u, sv, redact);
	}
}

static void put_ctx_text(fctx *f, const rec_ctx *c, const char *corr)
{
	static const uint8_t zero_span[8];
	sonde_buf *b = f->b;
	bool json = f->json;

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
		put_str(b, json, corr, c->corr_len);
	}
}

static void put_flags(fctx *f, const rec_hdr *h)
{
	if ((h->flags & REC_F_TRUNC) || f->trunc)
		sonde__buf_puts(f->b, f->json ? ",\"_truncated\":true" : " _truncated=true");
	if (h->flags & REC_F_REPLAY)
		sonde__buf_puts(f->b, f->json ? ",\"_replayed\":true" : " _replayed=true");
}

/* Removes the comma at b[at] (the first member of an object written with
 * the ",key" writers). */
static void drop_comma(sonde_buf *b, size_t at)
{
	if (b->oom || b->len <= at || b->data[at] != ',')
		return;
	memmove(b->data + at, b->data + at + 1, b->len - at - 1);
	b->len--;
}

static void put_i64(sonde_buf *b, int64_t v)
{
	char tmp[24];
	sonde__buf_put(b, tmp, sonde__fmt_i64(tmp, v));
}

static const char ansi_reset[] = "\x1b[0m";
static const char *const ansi_level[] = {"\x1b[90m", "\x1b[36m", "\x1b[32m",
                                         "\x1b[33m", "\x1b[31m", "\x1b[1;35m"};

static void format_rec(sonde_buf *b, const sonde_log_sink *sk, const sonde__log_rec *rec,
                       bool crash)
{
	const rec_hdr *h = rec->h;
	const sonde_log_site *site = h->site;
	const sonde_logger *l = h->logger;
	const char *s = rec->strs, *corr;
	unsigned first = 0;
	const char *msg = site->message;
	size_t msg_len = msg ? strlen(msg) : 0;
	rset rs = rset_of(sk);
	fctx f;

	/* not a memset: the key plan's stack and the scoped view are
	 * 2.5 KiB, written only as far as they are used */
	f.b = b;
	f.trunc = rec->scope_lost; /* its scoped fields are unknown */
	f.err_done = false;
	f.plan.ent = NULL;
	f.s = sk;
	f.fmt = sk->format;
	f.json = f.fmt == SONDE_LOG_FORMAT_JSON || f.fmt == SONDE_LOG_FORMAT_ECS ||
	         f.fmt == SONDE_LOG_FORMAT_OTEL;
	/* sonde_log_write(): the message is the first string value, stored
	 * after the correlation id */
	if (!msg) {
		msg = rec->strs + (rec->ctx ? rec->ctx->corr_len : 0);
		msg_len = (rec->vals[0] & REC_STR_NULL) ? 0 : (uint32_t)rec->vals[0];
		first = 1;
	}
	scoped_read(&f.scv, rec);
	f.simple = keys_simple(&rs, l, site, first, &f.scv);
	if (!f.simple) {
		if (!plan_keys(&f.plan, &rs, f.json, l, site, first, &f.scv)) {
			plan_free(&f.plan);
			b->oom = 1; /* the caller writes nothing */
			return;
		}
	}
	corr = s;
	if (rec->ctx)
		s += rec->ctx->corr_len;
	if (first)
		s += msg_len;
	switch (f.fmt) {
	case SONDE_LOG_FORMAT_ECS:
		sonde__buf_put(b, "{\"@timestamp\":\"", 15);
		put_timestamp(b, rec->ns, crash);
		sonde__buf_put(b, "\",\"log.level\":\"", 15);
		sonde__buf_puts(b, sonde_log_level_name(h->level));
		sonde__buf_put(b, "\",\"message\":", 12);
		sonde__json_put_string(b, msg, msg_len);
		sonde__buf_puts(b, ",\"ecs.version\":\"8.10.0\",\"service\":{\"name\":");
		put_str(b, true, l->service, l->service_len);
		sonde__buf_puts(b, "},\"event\":{\"dataset\":");
		put_str(b, true, l->service, l->service_len);
		sonde__buf_puts(b, "},\"log\":{\"logger\":");
		put_str(b, true, l->service, l->service_len);
		sonde__buf_putc(b, '}');
		if (rec->tid) {
			sonde__buf_puts(b, ",\"process\":{\"thread\":{\"id\":");
			put_i64(b, rec->tid);
			sonde__buf_puts(b, "}}");
		}
		if (rec->ctx) {
			static const uint8_t zero_span[8];
			sonde__buf_puts(b, ",\"trace\":{\"id\":\"");
			put_hex(b, rec->ctx->trace_id, 16);
			sonde__buf_puts(b, "\"}");
			if (memcmp(rec->ctx->span_id, zero_span, 8) != 0) {
				sonde__buf_puts(b, ",\"span\":{\"id\":\"");
				put_hex(b, rec->ctx->span_id, 8);
				sonde__buf_puts(b, "\"}");
			}
			if (rec->ctx->corr_len) {
				sonde__buf_puts(b, ",\"correlation_id\":");
				put_str(b, true, corr, rec->ctx->corr_len);
			}
		}
		put_bounds(&f, l);
		put_scoped(&f, l);
		put_fields(&f, rec, first, s);
		put_flags(&f, h);
		sonde__buf_putc(b, '}');
		break;
	case SONDE_LOG_FORMAT_OTEL: {
		static const int sev[6] = {1, 5, 9, 13, 17, 21};
		size_t at;

		sonde__buf_puts(b, "{\"timestamp\":");
		put_i64(b, rec->ns);
		sonde__buf_puts(b, ",\"observed_timestamp\":");
		put_i64(b, sonde_now_unix_ns());
		sonde__buf_puts(b, ",\"severity_text\":\"");
		sonde__buf_puts(b, level_text(h->level, true));
		sonde__buf_puts(b, "\",\"severity_number\":");
		put_i64(b, h->level < 6 ? sev[h->level] : 0);
		sonde__buf_puts(b, ",\"body\":");
		sonde__json_put_string(b, msg, msg_len);
		sonde__buf_puts(b, ",\"attributes\":{");
		at = b->len;
		put_bounds(&f, l);
		if (rec->ctx && rec->ctx->corr_len) {
			sonde__buf_puts(b, ",\"correlation_id\":");
			put_str(b, true, corr, rec->ctx->corr_len);
		}
		if (rec->tid) {
			sonde__buf_puts(b, ",\"thread.id\":");
			put_i64(b, rec->tid);
		}
		put_scoped(&f, l);
		put_fields(&f, rec, first, s);
		put_flags(&f, h);
		drop_comma(b, at);
		sonde__buf_putc(b, '}');
		if (rec->ctx) {
			static const uint8_t zero_span[8];
			sonde__buf_puts(b, ",\"trace_id\":\"");
			put_hex(b, rec->ctx->trace_id, 16);
			if (memcmp(rec->ctx->span_id, zero_span, 8) != 0) {
				sonde__buf_puts(b, "\",\"span_id\":\"");
				put_hex(b, rec->ctx->span_id, 8);
			}
			sonde__buf_puts(b, "\",\"trace_flags\":");
			put_i64(b, rec->ctx->trace_flags);
		}
		sonde__buf_puts(b, ",\"resource\":{\"service.name\":");
		put_str(b, true, l->service, l->service_len);
		sonde__buf_puts(b, "}}");
		break;
	}
	case SONDE_LOG_FORMAT_JSON: {
		bool dflt = !rs.s;

		sonde__buf_put(b, "{\"", 2);
		sonde__buf_puts(b, sk->keys[0][0] ? sk->keys[0] : "@timestamp");
		sonde__buf_put(b, "\":\"", 3);
		put_timestamp(b, rec->ns, crash);
		sonde__buf_put(b, "\",\"", 3);
		sonde__buf_puts(b, sk->keys[1][0] ? sk->keys[1] : "level");
		sonde__buf_put(b, "\":\"", 3);
		sonde__buf_puts(b, level_text(h->level, sk->upper));
		sonde__buf_put(b, "\",\"", 3);
		sonde__buf_puts(b, sk->keys[2][0] ? sk->keys[2] : "message");
		sonde__buf_put(b, "\":", 2);
		sonde__json_put_string(b, msg, msg_len);
		if (f.simple && dflt) {
			sonde__buf_put(b, l->json_bound, l->json_bound_len);
		} else {
			sonde__buf_puts(b, ",\"service\":");
			put_str(b, true, l->service, l->service_len);
			put_bounds(&f, l);
		}
		if (rec->ctx)
			put_ctx_text(&f, rec->ctx, corr);
		put_scoped(&f, l);
		put_fields(&f, rec, first, s);
		put_flags(&f, h);
		sonde__buf_putc(b, '}');
		break;
	}
	default: /* logfmt, console */
		if (f.fmt == SONDE_LOG_FORMAT_CONSOLE) {
			const char *lv = level_text(h->level, true);
			size_t n = strlen(lv), i;

			put_timestamp(b, rec->ns, crash);
			sonde__buf_putc(b, ' ');
			if (sk->color && h->level < 6)
				sonde__buf_puts(b, ansi_level[h->level]);
			sonde__buf_puts(b, lv);
			if (sk->color && h->level < 6)
				sonde__buf_puts(b, ansi_reset);
			for (i = n; i < 6; i++)
				sonde__buf_putc(b, ' ');
			/* the message as it is, unless a control byte would
			 * break the line (then quoted with JSON's escapes) */
			for (i = 0; i < msg_len; i++)
				if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
					break;
			if (i == msg_len && msg_len)
				sonde__buf_put(b, msg, msg_len);
			else
				sonde__json_put_string(b, msg, msg_len);
		} else {
			sonde__buf_put(b, "ts=", 3);
			put_timestamp(b, rec->ns, crash);
			sonde__buf_put(b, " level=", 7);
			sonde__buf_puts(b, level_text(h->level, sk->upper));
			sonde__buf_put(b, " msg=", 5);
			sonde__json_put_string(b, msg, msg_len);
		}
		if (f.simple) {
			sonde__buf_put(b, l->logfmt_bound, l->logfmt_bound_len);
		} else {
			sonde__buf_puts(b, " service=");
			put_str(b, false, l->service, l->service_len);
			put_bounds(&f, l);
		}
		if (rec->ctx)
			put_ctx_text(&f, rec->ctx, corr);
		put_scoped(&f, l);
		put_fields(&f, rec, first, s);
		put_flags(&f, h);
		break;
	}
	if (!f.simple)
		plan_free(&f.plan);
	sonde__buf_putc(b, '\n');
}

void sonde__log_format(sonde_buf *b, const sonde_log_sink *s, const sonde__log_rec *rec)
{
	format_rec(b, s, rec, false);
}

void sonde__log_format_crash(sonde_buf *b, const sonde_log_sink *s, const sonde__log_rec *rec)
{
	format_rec(b, s, rec, true);
}

bool sonde__log_same_profile(const sonde_log_sink *a, const sonde_log_sink *b)
{
	return a->format == b->format && a->upper == b->upper && a->color == b->color &&
	       memcmp(a->keys, b->keys, sizeof(a->keys)) == 0;
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
		if (!key_plain(l->bound[i].key) || is_reserved(&rset_default, l->bound[i].key))
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
