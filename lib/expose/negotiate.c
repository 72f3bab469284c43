/*
 * lib/expose/negotiate.c - which format a scraper asked for (Accept) and
 * whether it takes gzip (Accept-Encoding).
 *
 * Negotiation follows Prometheus' own client (expfmt.Negotiate): the
 * Accept media ranges are ordered by q (then by specificity), and the
 * first one sonde can serve wins: application/openmetrics-text with
 * version 1.0.0, 0.0.1 or none gives OpenMetrics (its Content-Type names
 * the version asked for; the body is the same), text/plain with version
 * 0.0.4 or none gives text; application/vnd.google.protobuf with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited gives the
 * protobuf format (expfmt's FmtProtoDelim; its other encodings, text and
 * compact-text, are debugging formats sonde does not serve, so such a range
 * is skipped); anything else, a missing or unparsable header included,
 * gives text 0.0.4. Prometheus 2.x sends, with native histograms enabled:
 *   application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;
 *   encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,...
 * and without them no protobuf range at all, so protobuf is only ever
 * chosen for a scraper that names it (no wildcard selects it).
 */
#include "expose/expose-int.h"

typedef struct range {
	const char *type; /* "type/subtype", not terminated */
	size_t type_len;
	const char *version;
	size_t version_len;
	bool has_version;
	const char *proto, *encoding; /* protobuf's parameters */
	size_t proto_len, encoding_len;
	double q;
	int order;
} range;

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static size_t trim_len(const char *p, size_t n)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n;
}

/* q-value per RFC 9110: 0 to 1 with up to three decimals; anything
 * malformed counts as q=0 (not acceptable), as Go's parser effectively
 * does by dropping the range. */
static double parse_q(const char *p, size_t n)
{
	size_t used = 0;
	double q;

	if (n == 0 || n > 5)
		return 0;
	q = sonde__parse_double(p, n, &used);
	if (used != n || !(q >= 0 && q <= 1))
		return 0;
	return q;
}

/* Parses one media range p[0..n) into *r. */
static void parse_range(const char *p, size_t n, range *r)
{
	const char *end = p + n, *semi;

	memset(r, 0, sizeof(*r));
	r->q = 1;
	p = skip_ws(p, end);
	semi = memchr(p, ';', (size_t)(end - p));
	r->type = p;
	r->type_len = trim_len(p, (size_t)((semi ? semi : end) - p));
	while (semi) {
		const char *prm = skip_ws(semi + 1, end), *eq, *next;
		size_t plen;

		next = memchr(prm, ';', (size_t)(end - prm));
		plen = trim_len(prm, (size_t)((next ? next : end) - prm));
		eq = memchr(prm, '=', plen);
		if (eq) {
			size_t kl = trim_len(prm, (size_t)(eq - prm));
			const char *v = skip_ws(eq + 1, prm + plen);
			size_t vl = (size_t)(prm + plen - v);
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (sonde__ascii_ieq(prm, kl, "q"))
				r->q = parse_q(v, vl);
			else if (sonde__ascii_ieq(prm, kl, "version")) {
				r->version = v;
				r->version_len = vl;
				r->has_version = true;
			} else if (sonde__ascii_ieq(prm, kl, "proto")) {
				r->proto = v;
				r->proto_len = vl;
			} else if (sonde__ascii_ieq(prm, kl, "encoding")) {
				r->encoding = v;
				r->encoding_len = vl;
			}
		}
		semi = next;
	}
}

static bool version_is(const range *r, const char *v)
{
	return r->version_len == strlen(v) && memcmp(r->version, v, r->version_len) == 0;
}

#define MAX_RANGES 32
#define PB_PROTO "io.prometheus.client.MetricFamily"

int sonde_expose_negotiate(const char *accept, size_t len, sonde_format *fmt,
                           const char **content_type)
{
	range rs[MAX_RANGES];
	size_t n = 0, i, j;
	const char *p = accept, *end;
	sonde_format f = SONDE_FORMAT_TEXT;
	const char *ct = SONDE_CONTENT_TYPE_TEXT;

	if (!fmt && !content_type)
		return sonde__fail(SONDE_EINVAL, "sonde_expose_negotiate: no output pointer");
	if (accept) {
		if (len == SIZE_MAX)
			len = strlen(accept);
		end = accept + len;
		while (p < end && n < MAX_RANGES) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			size_t rl = (size_t)((comma ? comma : end) - p);
			parse_range(p, rl, &rs[n]);
			rs[n].order = (int)n;
			if (rs[n].type_len && rs[n].q > 0)
				n++;
			if (!comma)
				break;
			p = comma + 1;
		}
		/* stable sort by q, highest first (insertion sort: n <= 32) */
		for (i = 1; i < n; i++) {
			range t = rs[i];
			for (j = i; j > 0 && rs[j - 1].q < t.q; j--)
				rs[j] = rs[j - 1];
			rs[j] = t;
		}
		for (i = 0; i < n; i++) {
			if (sonde__ascii_ieq(rs[i].type, rs[i].type_len,
			                     "application/vnd.google.protobuf")) {
				/* parameter values compare exactly, as expfmt does */
				if (rs[i].proto_len == sizeof(PB_PROTO) - 1 &&
				    memcmp(rs[i].proto, PB_PROTO, rs[i].proto_len) == 0 &&
				    rs[i].encoding_len == 9 &&
				    memcmp(rs[i].encoding, "delimited", 9) == 0) {
					f = SONDE_FORMAT_PROTOBUF;
					ct = SONDE_CONTENT_TYPE_PROTOBUF;
					break;
				}
			} else if (sonde__ascii_ieq(rs[i].type, rs[i].type_len,
			                            "application/openmetrics-text")) {
				if (!rs[i].has_version || version_is(&rs[i], "1.0.0")) {
					f = SONDE_FORMAT_OPENMETRICS;
					ct = SONDE_CONTENT_TYPE_OPENMETRICS;
					break;
				}
				if (version_is(&rs[i], "0.0.1")) {
					f = SONDE_FORMAT_OPENMETRICS;
					ct = "application/openmetrics-text; version=0.0.1; charset=utf-8";
					break;
				}
			} else if (sonde__ascii_ieq(rs[i].type, rs[i].type_len, "text/plain") &&
			           (!rs[i].has_version || version_is(&rs[i], "0.0.4"))) {
				break;
			}
		}
	}
	if (fmt)
		*fmt = f;
	if (content_type)
		*content_type = ct;
	return SONDE_OK;
}

bool sonde_accepts_gzip(const char *accept_encoding, size_t len)
{
	const char *p = accept_encoding, *end;
	double gzip_q = -1, star_q = -1;

	if (!accept_encoding)
		return false;
	if (len == SIZE_MAX)
		len = strlen(accept_encoding);
	end = p + len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		range r;
		parse_range(p, (size_t)((comma ? comma : end) - p), &r);
		if (sonde__ascii_ieq(r.type, r.type_len, "gzip") ||
		    sonde__ascii_ieq(r.type, r.type_len, "x-gzip"))
			gzip_q = r.q;
		else if (r.type_len == 1 && r.type[0] == '*')
			star_q = r.q;
		if (!comma)
			break;
		p = comma + 1;
	}
	/* an explicit gzip;q=0 refuses it even when * is accepted */
	if (gzip_q >= 0)
		return gzip_q > 0;
	return star_q > 0;
}
