/* lib/trace/tracestate.c - W3C Trace Context tracestate: parse, mutate, format.
 *
 * Storage: 32 fixed slots of up to 256 + 256 bytes, allocated once with the
 * object, plus an order array of slot numbers (order[0] is the left-most
 * member). Moving a member to the front moves a few bytes of order[], never
 * the strings; parse and set never allocate. */
#include "trace/trace_int.h"

#define MAXM SONDE_TRACESTATE_MAX_MEMBERS

typedef struct ts_member {
	uint16_t klen, vlen;
	char key[SONDE_TRACESTATE_KEY_MAX];
	char val[SONDE_TRACESTATE_VALUE_MAX];
} ts_member;

struct sonde_tracestate {
	uint32_t used; /* bit i: slot i holds a member */
	uint8_t count;
	uint8_t keys; /* sonde_tracestate_keys */
	uint8_t order[MAXM];
	ts_member slot[MAXM];
};

SONDE_STATIC_ASSERT(MAXM <= 32, "used is a 32-bit mask");

/* ---- grammar ---------------------------------------------------------------- */

static inline bool lcalpha(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static inline bool digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* lcalpha / DIGIT / "_" / "-" / "*" / "/" */
static inline bool keychar(unsigned char c)
{
	return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

static bool key_valid_l2(const char *k, size_t n)
{
	/* Level 2: key = ( lcalpha / DIGIT ) 0*255 ( keychar / "@" ) */
	if (n == 0 || n > 256 || !(lcalpha((unsigned char)k[0]) || digit((unsigned char)k[0])))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!keychar((unsigned char)k[i]) && k[i] != '@')
			return false;
	return true;
}

static bool key_valid_l1(const char *k, size_t n)
{
	const char *at = n ? memchr(k, '@', n) : NULL;
	size_t t, sys;

	if (!at) { /* simple-key = lcalpha 0*255 keychar */
		if (n == 0 || n > 256 || !lcalpha((unsigned char)k[0]))
			return false;
		for (size_t i = 1; i < n; i++)
			if (!keychar((unsigned char)k[i]))
				return false;
		return true;
	}
	/* tenant-id "@" system-id: (lcalpha/DIGIT) 0*240 keychar,
	 * lcalpha 0*13 keychar */
	t = (size_t)(at - k);
	sys = n - t - 1;
	if (t == 0 || t > 241 || sys == 0 || sys > 14)
		return false;
	if (!(lcalpha((unsigned char)k[0]) || digit((unsigned char)k[0])))
		return false;
	for (size_t i = 1; i < t; i++)
		if (!keychar((unsigned char)k[i]))
			return false;
	if (!lcalpha((unsigned char)at[1]))
		return false;
	for (size_t i = 2; i <= sys; i++)
		if (!keychar((unsigned char)at[i]))
			return false;
	return true;
}

static bool key_valid(const sonde_tracestate *ts, const char *k, size_t n)
{
	return ts->keys == SONDE_TRACESTATE_KEYS_LEVEL1 ? key_valid_l1(k, n) : key_valid_l2(k, n);
}

/* value = 0*255 chr nblk-chr; chr = %x20 / nblk-chr;
 * nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static bool value_valid(const char *v, size_t n)
{
	if (n == 0 || n > 256 || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
			return false;
	}
	return true;
}

/* ---- object ------------------------------------------------------------------- */

sonde_tracestate *sonde_tracestate_new(void)
{
	sonde_tracestate *ts = sonde__malloc(sizeof(*ts));

	if (!ts) {
		sonde__fail(SONDE_ENOMEM, "tracestate: out of memory (%zu bytes)", sizeof(*ts));
		return NULL;
	}
	ts->used = 0;
	ts->count = 0;
	ts->keys = SONDE_TRACESTATE_KEYS_LEVEL2;
	return ts;
}

void sonde_tracestate_free(sonde_tracestate *ts)
{
	if (ts)
		sonde__free(ts, sizeof(*ts));
}

void sonde_tracestate_clear(sonde_tracestate *ts)
{
	if (ts) {
		ts->used = 0;
		ts->count = 0;
	}
}

int sonde_tracestate_set_keys(sonde_tracestate *ts, sonde_tracestate_keys k)
{
	if (!ts || (k != SONDE_TRACESTATE_KEYS_LEVEL1 && k != SONDE_TRACESTATE_KEYS_LEVEL2))
		return sonde__fail(SONDE_EINVAL, "tracestate_set_keys: NULL or unknown grammar %d",
		                   (int)k);
	ts->keys = (uint8_t)k;
	return SONDE_OK;
}

/* Position in order[] of key, or -1. */
static int find(const sonde_tracestate *ts, const char *k, size_t n)
{
	for (int i = 0; i < ts->count; i++) {
		const ts_member *m = &ts->slot[ts->order[i]];
		if (m->klen == n && memcmp(m->key, k, n) == 0)
			return i;
	}
	return -1;
}

static int alloc_slot(sonde_tracestate *ts)
{
	uint32_t free_mask = ~ts->used;
	int s = __builtin_ctz(free_mask); /* count < 32 here, so a bit is set */
	ts->used |= 1u << s;
	return s;
}

static void remove_at(sonde_tracestate *ts, int pos)
{
	ts->used &= ~(1u << ts->order[pos]);
	memmove(ts->order + pos, ts->order + pos + 1, (size_t)(ts->count - pos - 1));
	ts->count--;
}

static void fill(ts_member *m, const char *k, size_t kn, const char *v, size_t vn)
{
	m->klen = (uint16_t)kn;
	m->vlen = (uint16_t)vn;
	memcpy(m->key, k, kn);
	memcpy(m->val, v, vn);
}

/* ---- parse -------------------------------------------------------------------- */

/* Appends the members of one line; on error the caller clears ts. */
static int parse_line(sonde_tracestate *ts, const char *s, size_t len)
{
	size_t i = 0;

	if (!s && len)
		return sonde__fail(SONDE_EINVAL, "tracestate: NULL line with length %zu", len);
	while (i <= len && len) {
		const char *comma = memchr(s + i, ',', len - i);
		size_t j = comma ? (size_t)(comma - s) : len;
		const char *m = s + i, *eq;
		size_t mn = j - i, kn, vn;

		sonde__trim_ows(&m, &mn);
		if (mn) {
			eq = memchr(m, '=', mn);
			if (!eq)
				return sonde__fail(SONDE_EINVAL, "tracestate: member %u has no '='",
				                   (unsigned)ts->count + 1);
			kn = (size_t)(eq - m);
			vn = mn - kn - 1;
			if (!key_valid(ts, m, kn))
				return sonde__fail(SONDE_EINVAL, "tracestate: invalid key \"%.*s\"",
				                   (int)(kn > 64 ? 64 : kn), m);
			if (!value_valid(eq + 1, vn))
				return sonde__fail(SONDE_EINVAL,
				                   "tracestate: invalid value for key \"%.*s\"",
				                   (int)(kn > 64 ? 64 : kn), m);
			/* A repeated key keeps its first (left-most, the most recently
			 * set) member: the spec lets a vendor drop duplicates, and the
			 * W3C harness (test_tracestate_duplicated_keys) expects the
			 * header propagated, not dropped. A dropped duplicate is not a
			 * member, so it does not count toward the 32. */
			if (find(ts, m, kn) >= 0)
				goto next;
			if (ts->count == MAXM)
				return sonde__fail(SONDE_ELIMIT, "tracestate: more than %d members",
				                   MAXM);
			{
				int sl = alloc_slot(ts);
				fill(&ts->slot[sl], m, kn, eq + 1, vn);
				ts->order[ts->count++] = (uint8_t)sl;
			}
		}
	next:
		if (!comma)
			break;
		i = j + 1;
	}
	return SONDE_OK;
}

int sonde_tracestate_parse(sonde_tracestate *ts, const char *s, size_t len)
{
	int rc;

	if (!ts)
		return sonde__fail(SONDE_EINVAL, "tracestate_parse: ts is NULL");
	sonde_tracestate_clear(ts);
	rc = parse_line(ts, s, len);
	if (rc)
		sonde_tracestate_clear(ts);
	return rc;
}

int sonde_tracestate_parse_lines(sonde_tracestate *ts, size_t n, const char *const *lines,
                                 const size_t *lens)
{
	if (!ts || (n && !lines))
		return sonde__fail(SONDE_EINVAL, "tracestate_parse_lines: NULL argument");
	sonde_tracestate_clear(ts);
	for (size_t i = 0; i < n; i++) {
		size_t l = lens ? lens[i] : (lines[i] ? strlen(lines[i]) : 0);
		int rc = parse_line(ts, lines[i], l);
		if (rc) {
			sonde_tracestate_clear(ts);
			return rc;
		}
	}
	return SONDE_OK;
}

/* ---- mutate ------------------------------------------------------------------- */

int sonde_tracestate_set(sonde_tracestate *ts, const char *key, size_t key_len, const char *value,
                         size_t value_len)
{
	int pos, sl;

	if (!ts || !key || !value)
		return sonde__fail(SONDE_EINVAL, "tracestate_set: NULL argument");
	if (!key_valid(ts, key, key_len))
		return sonde__fail(SONDE_EINVAL, "tracestate_set: invalid key \"%.*s\"",
		                   (int)(key_len > 64 ? 64 : key_len), key);
	if (!value_valid(value, value_len))
		return sonde__fail(
		        SONDE_EINVAL,
		        "tracestate_set: invalid value (1-256 printable ASCII characters, "
		        "no ',' or '=', not ending in a space)");
	pos = find(ts, key, key_len);
	if (pos >= 0) {
		sl = ts->order[pos];
		memmove(ts->order + 1, ts->order, (size_t)pos);
	} else {
		if (ts->count == MAXM) /* the spec: drop the right-most member */
			remove_at(ts, ts->count - 1);
		sl = alloc_slot(ts);
		memmove(ts->order + 1, ts->order, ts->count);
		ts->count++;
	}
	ts->order[0] = (uint8_t)sl;
	fill(&ts->slot[sl], key, key_len, value, value_len);
	return SONDE_OK;
}

int sonde_tracestate_remove(sonde_tracestate *ts, const char *key, size_t key_len)
{
	int pos;

	if (!ts || !key)
		return sonde__fail(SONDE_EINVAL, "tracestate_remove: NULL argument");
	pos = find(ts, key, key_len);
	if (pos < 0)
		return sonde__fail(SONDE_ENOENT, "tracestate_remove: no key \"%.*s\"",
		                   (int)(key_len > 64 ? 64 : key_len), key);
	remove_at(ts, pos);
	return SONDE_OK;
}

bool sonde_tracestate_get(const sonde_tracestate *ts, const char *key, size_t key_len,
                          const char **value, size_t *value_len)
{
	int pos;
	const ts_member *m;

	if (!ts || !key)
		return false;
	pos = find(ts, key, key_len);
	if (pos < 0)
		return false;
	m = &ts->slot[ts->order[pos]];
	if (value)
		*value = m->val;
	if (value_len)
		*value_len = m->vlen;
	return true;
}

size_t sonde_tracestate_count(const sonde_tracestate *ts)
{
	return ts ? ts->count : 0;
}

int sonde_tracestate_member(const sonde_tracestate *ts, size_t i, const char **key, size_t *key_len,
                            const char **value, size_t *value_len)
{
	const ts_member *m;

	if (!ts)
		return sonde__fail(SONDE_EINVAL, "tracestate_member: ts is NULL");
	if (i >= ts->count)
		return sonde__fail(SONDE_ENOENT, "tracestate_member: index %zu >= count %u", i,
		                   (unsigned)ts->count);
	m = &ts->slot[ts->order[i]];
	if (key)
		*key = m->key;
	if (key_len)
		*key_len = m->klen;
	if (value)
		*value = m->val;
	if (value_len)
		*value_len = m->vlen;
	return SONDE_OK;
}

int sonde_tracestate_copy(sonde_tracestate *dst, const sonde_tracestate *src)
{
	if (!dst || !src)
		return sonde__fail(SONDE_EINVAL, "tracestate_copy: NULL argument");
	if (dst == src)
		return SONDE_OK;
	dst->used = 0;
	dst->count = 0;
	dst->keys = src->keys;
	for (int i = 0; i < src->count; i++) {
		const ts_member *m = &src->slot[src->order[i]];
		int sl = alloc_slot(dst);
		fill(&dst->slot[sl], m->key, m->klen, m->val, m->vlen);
		dst->order[dst->count++] = (uint8_t)sl;
	}
	return SONDE_OK;
}

/* ---- format ------------------------------------------------------------------- */

size_t sonde_tracestate_format(const sonde_tracestate *ts, size_t limit, char *out, size_t cap)
{
	bool keep[MAXM];
	size_t mlen[MAXM], total = 0, kept = 0, n = 0;

	if (!ts || !out || cap == 0)
		return 0;
	if (limit == 0)
		limit = SONDE_TRACESTATE_FORMAT_LIMIT;
	if (limit > cap - 1)
		limit = cap - 1;
	for (int i = 0; i < ts->count; i++) {
		const ts_member *m = &ts->slot[ts->order[i]];
		mlen[i] = (size_t)m->klen + 1 + m->vlen;
		keep[i] = true;
		total += mlen[i];
		kept++;
	}
	/* total + (kept - 1) commas must fit in limit. The spec: remove
	 * members over 128 characters first (we take them right to left and
	 * stop as soon as the rest fits), then members from the right. */
#define TOO_BIG() (kept && total + kept - 1 > limit)
	for (int i = ts->count - 1; i >= 0 && TOO_BIG(); i--)
		if (mlen[i] > SONDE_TRACESTATE_LONG_MEMBER) {
			keep[i] = false;
			total -= mlen[i];
			kept--;
		}
	for (int i = ts->count - 1; i >= 0 && TOO_BIG(); i--)
		if (keep[i]) {
			keep[i] = false;
			total -= mlen[i];
			kept--;
		}
#undef TOO_BIG
	for (int i = 0; i < ts->count; i++) {
		const ts_member *m;
		if (!keep[i])
			continue;
		m = &ts->slot[ts->order[i]];
		if (n)
			out[n++] = ',';
		memcpy(out + n, m->key, m->klen);
		n += m->klen;
		out[n++] = '=';
		memcpy(out + n, m->val, m->vlen);
		n += m->vlen;
	}
	out[n] = '\0';
	return n;
}
