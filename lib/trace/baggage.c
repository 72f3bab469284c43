/* lib/trace/baggage.c - W3C Baggage: parse, get/set/remove, format.
 *
 * Each entry keeps one growable buffer "key\0value\0properties\0": value is
 * decoded (percent escapes resolved, bad UTF-8 replaced by U+FFFD), and
 * properties are kept in their normalized header form. Buffers survive
 * clear() and are reused by the next parse. */
#include "trace/trace_int.h"

typedef struct bg_entry {
	sonde_buf data;
	size_t klen, vlen, plen;
	size_t wire; /* bytes of the member as it arrived (set: as formatted) */
} bg_entry;

struct sonde_baggage {
	bg_entry *e;
	size_t count, cap;
};

/* ---- grammar ---------------------------------------------------------------- */

/* RFC 7230 tchar */
static bool tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool boctet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
	       (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool token_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Kept unencoded: every baggage-octet but '%'. The spec requires only the
 * other bytes and '%' to be percent-encoded; keeping the rest as they are
 * means a member that arrived unencoded ('!', '*', '\'', '=', ...) is sent
 * on at the size it arrived (issue 13.16: with urllib's quote(), a 7.5 KB
 * header of such values grew past 8192 bytes). */
static bool unreserved(unsigned char c)
{
	return boctet(c) && c != '%';
}

static size_t enc_len(const char *s, size_t n)
{
	size_t r = 0;
	for (size_t i = 0; i < n; i++)
		r += unreserved((unsigned char)s[i]) ? 1 : 3;
	return r;
}

static void enc_put(sonde_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c)) {
			sonde__buf_putc(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			sonde__buf_put(b, e, 3);
		}
	}
}

static int hexval_any(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s into b; a '%' not followed by two hex digits stays as
 * it is (as urllib's unquote() does); then replaces every maximal invalid
 * UTF-8 subpart by U+FFFD, as the spec requires. */
static void dec_put(sonde_buf *b, sonde_buf *tmp, const char *s, size_t n)
{
	const unsigned char *p;
	size_t m, i = 0;

	sonde_buf_reset(tmp);
	while (i < n) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval_any((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval_any((unsigned char)s[i + 2])) >= 0) {
			sonde__buf_putc(tmp, (char)(hi << 4 | lo));
			i += 3;
		} else {
			sonde__buf_putc(tmp, s[i]);
			i++;
		}
	}
	if (tmp->oom) {
		b->oom = 1;
		return;
	}
	p = (const unsigned char *)tmp->data;
	m = tmp->len;
	i = 0;
	while (i < m) {
		size_t v = sonde__utf8_valid_len(p + i, m - i);
		if (v) {
			sonde__buf_put(b, (const char *)p + i, v);
			i += v;
		} else {
			size_t bad = sonde__utf8_invalid_len(p + i, m - i);
			sonde__buf_put(b, "\xEF\xBF\xBD", 3);
			i += bad ? bad : 1;
		}
	}
}

/* Validates "p1;p2=v" (already cut at the member's first ';', so it holds
 * only properties) and appends their normalized form to b. */
static int props_put(sonde_buf *b, sonde_buf *tmp, const char *s, size_t n)
{
	size_t i = 0;
	bool first = true;

	while (i <= n) {
		const char *semi = memchr(s + i, ';', n - i);
		size_t j = semi ? (size_t)(semi - s) : n;
		const char *p = s + i;
		size_t pn = j - i, k = 0;

		sonde__trim_ows(&p, &pn);
		while (k < pn && tchar((unsigned char)p[k]))
			k++;
		if (k == 0)
			return sonde__fail(SONDE_EINVAL, "baggage: empty or invalid property key");
		if (!first)
			sonde__buf_putc(b, ';');
		first = false;
		sonde__buf_put(b, p, k);
		if (k < pn) {
			size_t v = k;
			while (v < pn && sonde__is_ows(p[v]))
				v++;
			if (v == pn || p[v] != '=')
				return sonde__fail(
				        SONDE_EINVAL,
				        "baggage: property \"%.*s\" is not key or key=value",
				        (int)(k > 64 ? 64 : k), p);
			v++;
			while (v < pn && sonde__is_ows(p[v]))
				v++;
			for (size_t x = v; x < pn; x++)
				if (!boctet((unsigned char)p[x]))
					return sonde__fail(
					        SONDE_EINVAL,
					        "baggage: property value has byte 0x%02x",
					        (unsigned char)p[x]);
			sonde__buf_putc(b, '=');
			/* decode, then re-encode in the one canonical form */
			{
				sonde_buf d = SONDE_BUF_INIT;
				dec_put(&d, tmp, p + v, pn - v);
				enc_put(b, d.data ? d.data : "", d.len);
				if (d.oom)
					b->oom = 1;
				sonde_buf_destroy(&d);
			}
		}
		if (!semi)
			break;
		i = j + 1;
	}
	return SONDE_OK;
}

/* ---- object ------------------------------------------------------------------- */

sonde_baggage *sonde_baggage_new(void)
{
	sonde_baggage *b = sonde__calloc(1, sizeof(*b));
	if (!b)
		sonde__fail(SONDE_ENOMEM, "baggage: out of memory");
	return b;
}

void sonde_baggage_free(sonde_baggage *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->cap; i++)
		sonde_buf_destroy(&b->e[i].data);
	sonde__free(b->e, b->cap * sizeof(*b->e));
	sonde__free(b, sizeof(*b));
}

void sonde_baggage_clear(sonde_baggage *b)
{
	if (b)
		b->count = 0;
}

static const char *e_key(const bg_entry *e)
{
	return e->data.data;
}

static const char *e_val(const bg_entry *e)
{
	return e->data.data + e->klen + 1;
}

static const char *e_props(const bg_entry *e)
{
	return e->data.data + e->klen + 1 + e->vlen + 1;
}

/* Characters this entry takes in the formatted header, without the comma. */
static size_t e_size(const bg_entry *e)
{
	return e->klen + 1 + enc_len(e_val(e), e->vlen) + (e->plen ? 1 + e->plen : 0);
}

/* A fresh entry at the end (reusing a kept buffer), or NULL on OOM. */
static bg_entry *push(sonde_baggage *b)
{
	bg_entry *e;

	if (b->count == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 8;
		bg_entry *ne = sonde__realloc(b->e, b->cap * sizeof(*ne), nc * sizeof(*ne));
		if (!ne)
			return NULL;
		memset(ne + b->cap, 0, (nc - b->cap) * sizeof(*ne));
		b->e = ne;
		b->cap = nc;
	}
	e = &b->e[b->count++];
	sonde_buf_reset(&e->data);
	e->data.oom = 0;
	e->klen = e->vlen = e->plen = e->wire = 0;
	return e;
}

/* Removes entry i, moving its buffer to the spare end. */
static void remove_at(sonde_baggage *b, size_t i)
{
	bg_entry t = b->e[i];
	memmove(b->e + i, b->e + i + 1, (b->count - i - 1) * sizeof(*b->e));
	b->e[b->count - 1] = t;
	b->count--;
}

/* Formatted header size of the current entries (commas included). */
static size_t total_size(const sonde_baggage *b)
{
	size_t t = 0;
	for (size_t i = 0; i < b->count; i++)
		t += e_size(&b->e[i]) + (i ? 1 : 0);
	return t;
}

/* ---- parse -------------------------------------------------------------------- */

typedef struct parse_state {
	size_t total;   /* received size of the kept entries, commas included */
	size_t dropped; /* members over the limits */
	sonde_buf tmp;
} parse_state;

static int parse_member(sonde_baggage *b, parse_state *st, const char *m, size_t mn)
{
	size_t k = 0, v, vend, sz;
	const char *semi;
	bg_entry *e;

	while (k < mn && tchar((unsigned char)m[k]))
		k++;
	if (k == 0)
		return sonde__fail(SONDE_EINVAL, "baggage: member without a valid key");
	v = k;
	while (v < mn && sonde__is_ows(m[v]))
		v++;
	if (v == mn || m[v] != '=')
		return sonde__fail(SONDE_EINVAL, "baggage: key \"%.*s\" is not followed by '='",
		                   (int)(k > 64 ? 64 : k), m);
	v++;
	while (v < mn && sonde__is_ows(m[v]))
		v++;
	semi = memchr(m + v, ';', mn - v);
	vend = semi ? (size_t)(semi - m) : mn;
	while (vend > v && sonde__is_ows(m[vend - 1]))
		vend--;
	for (size_t i = v; i < vend; i++)
		if (!boctet((unsigned char)m[i]))
			return sonde__fail(SONDE_EINVAL,
			                   "baggage: value of \"%.*s\" has byte 0x%02x (must be "
			                   "percent-encoded)",
			                   (int)(k > 64 ? 64 : k), m, (unsigned char)m[i]);
	e = push(b);
	if (!e)
		return sonde__fail(SONDE_ENOMEM, "baggage: out of memory");
	sonde__buf_put(&e->data, m, k);
	sonde__buf_putc(&e->data, '\0');
	dec_put(&e->data, &st->tmp, m + v, vend - v);
	e->klen = k;
	e->vlen = e->data.len - k - 1;
	sonde__buf_putc(&e->data, '\0');
	if (semi) {
		size_t before = e->data.len;
		int rc = props_put(&e->data, &st->tmp, semi + 1, mn - (size_t)(semi + 1 - m));
		if (rc) {
			b->count--;
			return rc;
		}
		e->plen = e->data.len - before;
	}
	sonde__buf_putc(&e->data, '\0');
	if (e->data.oom) {
		b->count--;
		return sonde__fail(SONDE_ENOMEM, "baggage: out of memory");
	}
	/* the spec's limits, on what arrived: "up to 64 list-members" and "8192
	 * bytes or less" of the baggage-string as received (the member between
	 * its optional whitespace, and one comma), not its decoded or
	 * re-encoded form (issue 13.16) */
	e->wire = mn;
	sz = mn + (b->count > 1 ? 1 : 0);
	if (st->dropped || b->count > SONDE_BAGGAGE_MAX_MEMBERS ||
	    st->total + sz > SONDE_BAGGAGE_MAX_BYTES) {
		b->count--;
		st->dropped++;
		return SONDE_OK;
	}
	st->total += sz;
	return SONDE_OK;
}

static int parse_line(sonde_baggage *b, parse_state *st, const char *s, size_t len)
{
	size_t i = 0;

	if (!s && len)
		return sonde__fail(SONDE_EINVAL, "baggage: NULL line with length %zu", len);
	while (len) {
		const char *comma = memchr(s + i, ',', len - i);
		size_t j = comma ? (size_t)(comma - s) : len;
		const char *m = s + i;
		size_t mn = j - i;

		sonde__trim_ows(&m, &mn);
		if (mn) {
			int rc = parse_member(b, st, m, mn);
			if (rc)
				return rc;
		}
		if (!comma)
			break;
		i = j + 1;
	}
	return SONDE_OK;
}

int sonde_baggage_parse_lines(sonde_baggage *b, size_t n, const char *const *lines,
                              const size_t *lens)
{
	parse_state st = {0, 0, SONDE_BUF_INIT};
	int rc = SONDE_OK;

	if (!b || (n && !lines))
		return sonde__fail(SONDE_EINVAL, "baggage_parse: NULL argument");
	b->count = 0;
	for (size_t i = 0; i < n && rc == SONDE_OK; i++)
		rc = parse_line(b, &st, lines[i],
		                lens ? lens[i] : (lines[i] ? strlen(lines[i]) : 0));
	sonde_buf_destroy(&st.tmp);
	if (rc) {
		b->count = 0;
		return rc;
	}
	if (st.dropped)
		return sonde__fail(
		        SONDE_ELIMIT,
		        "baggage: %zu member(s) dropped: more than %d members or %d bytes",
		        st.dropped, SONDE_BAGGAGE_MAX_MEMBERS, SONDE_BAGGAGE_MAX_BYTES);
	return SONDE_OK;
}

int sonde_baggage_parse(sonde_baggage *b, const char *s, size_t len)
{
	return sonde_baggage_parse_lines(b, 1, &s, &len);
}

/* ---- mutate ------------------------------------------------------------------- */

int sonde_baggage_set(sonde_baggage *b, const char *key, size_t key_len, const char *value,
                      size_t value_len, const char *properties, size_t properties_len)
{
	size_t total, kept = 0, removed = 0, sz;
	sonde_buf props = SONDE_BUF_INIT, tmp = SONDE_BUF_INIT;
	bg_entry *e;
	int rc = SONDE_OK;

	if (!b || !key || (!value && value_len) || (!properties && properties_len))
		return sonde__fail(SONDE_EINVAL, "baggage_set: NULL argument");
	if (!token_valid(key, key_len))
		return sonde__fail(SONDE_EINVAL,
		                   "baggage_set: key \"%.*s\" is not an RFC 7230 token",
		                   (int)(key_len > 64 ? 64 : key_len), key);
	if (properties_len) {
		rc = props_put(&props, &tmp, properties, properties_len);
		if (!rc && props.oom)
			rc = sonde__fail(SONDE_ENOMEM, "baggage_set: out of memory");
		if (rc)
			goto out;
	}
	/* size once the old entries with this key are gone */
	total = 0;
	for (size_t i = 0; i < b->count; i++) {
		const bg_entry *x = &b->e[i];
		if (x->klen == key_len && memcmp(e_key(x), key, key_len) == 0) {
			removed++;
			continue;
		}
		total += x->wire + (kept ? 1 : 0);
		kept++;
	}
	sz = key_len + 1 + enc_len(value ? value : "", value_len) + (props.len ? 1 + props.len : 0);
	if (kept + 1 > SONDE_BAGGAGE_MAX_MEMBERS ||
	    total + sz + (kept ? 1 : 0) > SONDE_BAGGAGE_MAX_BYTES) {
		rc = sonde__fail(SONDE_ELIMIT,
		                 "baggage_set: \"%.*s\" would make %zu members / %zu bytes (limits "
		                 "%d / %d)",
		                 (int)(key_len > 64 ? 64 : key_len), key, kept + 1,
		                 total + sz + (kept ? 1 : 0), SONDE_BAGGAGE_MAX_MEMBERS,
		                 SONDE_BAGGAGE_MAX_BYTES);
		goto out;
	}
	e = push(b);
	if (!e) {
		rc = sonde__fail(SONDE_ENOMEM, "baggage_set: out of memory");
		goto out;
	}
	sonde__buf_put(&e->data, key, key_len);
	sonde__buf_putc(&e->data, '\0');
	if (value_len)
		sonde__buf_put(&e->data, value, value_len);
	sonde__buf_putc(&e->data, '\0');
	if (props.len)
		sonde__buf_put(&e->data, props.data, props.len);
	sonde__buf_putc(&e->data, '\0');
	if (e->data.oom) {
		b->count--;
		rc = sonde__fail(SONDE_ENOMEM, "baggage_set: out of memory");
		goto out;
	}
	e->klen = key_len;
	e->vlen = value_len;
	e->plen = props.len;
	e->wire = sz;
	/* only now drop the old ones: a failure above changed nothing */
	for (size_t i = 0; removed && i + 1 < b->count;) {
		const bg_entry *x = &b->e[i];
		if (x->klen == key_len && memcmp(e_key(x), key, key_len) == 0) {
			remove_at(b, i);
			removed--;
		} else {
			i++;
		}
	}
out:
	sonde_buf_destroy(&props);
	sonde_buf_destroy(&tmp);
	return rc;
}

int sonde_baggage_remove(sonde_baggage *b, const char *key, size_t key_len)
{
	bool any = false;

	if (!b || !key)
		return sonde__fail(SONDE_EINVAL, "baggage_remove: NULL argument");
	for (size_t i = 0; i < b->count;) {
		const bg_entry *x = &b->e[i];
		if (x->klen == key_len && memcmp(e_key(x), key, key_len) == 0) {
			remove_at(b, i);
			any = true;
		} else {
			i++;
		}
	}
	if (!any)
		return sonde__fail(SONDE_ENOENT, "baggage_remove: no key \"%.*s\"",
		                   (int)(key_len > 64 ? 64 : key_len), key);
	return SONDE_OK;
}

bool sonde_baggage_get(const sonde_baggage *b, const char *key, size_t key_len, const char **value,
                       size_t *value_len)
{
	if (!b || !key)
		return false;
	for (size_t i = b->count; i-- > 0;) {
		const bg_entry *x = &b->e[i];
		if (x->klen == key_len && memcmp(e_key(x), key, key_len) == 0) {
			if (value)
				*value = e_val(x);
			if (value_len)
				*value_len = x->vlen;
			return true;
		}
	}
	return false;
}

size_t sonde_baggage_count(const sonde_baggage *b)
{
	return b ? b->count : 0;
}

int sonde_baggage_entry(const sonde_baggage *b, size_t i, const char **key, size_t *key_len,
                        const char **value, size_t *value_len, const char **properties,
                        size_t *properties_len)
{
	const bg_entry *x;

	if (!b)
		return sonde__fail(SONDE_EINVAL, "baggage_entry: b is NULL");
	if (i >= b->count)
		return sonde__fail(SONDE_ENOENT, "baggage_entry: index %zu >= count %zu", i,
		                   b->count);
	x = &b->e[i];
	if (key)
		*key = e_key(x);
	if (key_len)
		*key_len = x->klen;
	if (value)
		*value = e_val(x);
	if (value_len)
		*value_len = x->vlen;
	if (properties)
		*properties = e_props(x);
	if (properties_len)
		*properties_len = x->plen;
	return SONDE_OK;
}

int sonde_baggage_format(const sonde_baggage *b, sonde_buf *out)
{
	if (!b || !out)
		return sonde__fail(SONDE_EINVAL, "baggage_format: NULL argument");
	size_t len = 0;

	sonde__buf_reserve(out, total_size(b) + 1);
	for (size_t i = 0; i < b->count; i++) {
		const bg_entry *x = &b->e[i];
		size_t sz = e_size(x) + (i ? 1 : 0);
		/* only a value that decoding grew (bad UTF-8 became U+FFFD, an
		 * incomplete escape stays literal) can format longer than it
		 * arrived: never send more than the spec's 8192 bytes, dropping
		 * whole members from the right */
		if (len + sz > SONDE_BAGGAGE_MAX_BYTES)
			break;
		len += sz;
		if (i)
			sonde__buf_putc(out, ',');
		sonde__buf_put(out, e_key(x), x->klen);
		sonde__buf_putc(out, '=');
		enc_put(out, e_val(x), x->vlen);
		if (x->plen) {
			sonde__buf_putc(out, ';');
			sonde__buf_put(out, e_props(x), x->plen);
		}
	}
	sonde__buf_terminate(out);
	if (out->oom)
		return sonde__fail(SONDE_ENOMEM, "baggage_format: out of memory");
	return SONDE_OK;
}
