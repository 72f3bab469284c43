/*
 * tests/fuzz/fuzz_expose.c - families with arbitrary help text, label
 * values and values: both text formats must pass a strict parser of our own
 * (names, escapes, UTF-8, numbers, metadata, # EOF), and give back exactly
 * what went in (label values and help that were valid UTF-8, the double's
 * bits, NaN as NaN). The protobuf format (which the unit tests decode with
 * Google's protobuf) is walked here with a strict wire-format reader: every
 * length inside its parent, every message consumed exactly, the gauge's
 * help, labels and value bits as they went in, and the native histogram
 * fed with the input's doubles consistent (spans cover the deltas, counts
 * never negative, buckets plus zero bucket equal the count, the count
 * equal the non-NaN observations less those the library dropped and
 * counted: a generation switch that finds no cells left, which a long run
 * reaches while freed generations wait out their grace period).
 */
#include <math.h>

#include "fuzz.h"
#include "metrics/metrics-int.h"
#include "sonde.h"

/* ---- a strict protobuf wire reader (tests only) ----------------------------- */
typedef struct rd {
	const uint8_t *p, *end;
} rd;

static uint64_t rd_varint(rd *r)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64; shift += 7) {
		FUZZ_CHECK(r->p < r->end, "varint runs past its message");
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	FUZZ_CHECK(0, "varint longer than 10 bytes");
	return 0;
}

/* One field: its number and wire type; LEN fields give their bytes in
 * *sub, I64 their 8 bytes in *v. */
static uint32_t rd_field(rd *r, int *wt, uint64_t *v, rd *sub)
{
	uint64_t key = rd_varint(r), n;

	*wt = (int)(key & 7);
	FUZZ_CHECK((key >> 3) > 0 && (key >> 3) < (1u << 29), "field number %llu",
	           (unsigned long long)(key >> 3));
	switch (*wt) {
	case 0: *v = rd_varint(r); break;
	case 1:
		FUZZ_CHECK(r->end - r->p >= 8, "fixed64 runs past its message");
		memcpy(v, r->p, 8);
		r->p += 8;
		break;
	case 2:
		n = rd_varint(r);
		FUZZ_CHECK(n <= (uint64_t)(r->end - r->p), "length %llu past its message",
		           (unsigned long long)n);
		sub->p = r->p;
		sub->end = r->p + n;
		r->p += n;
		break;
	default: FUZZ_CHECK(0, "wire type %d", *wt);
	}
	return (uint32_t)(key >> 3);
}

static uint64_t bits_of_dbl(double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	return v;
}

static double as_dbl(uint64_t v)
{
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static int64_t unzig(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

typedef struct pb_seen {
	int gauge_seen, hist_seen;
	uint64_t hist_count;
	int ex16, ex16_ts;   /* Histogram.exemplars: how many, how many with a timestamp */
	uint64_t ex16_value; /* the last one's value bits */
} pb_seen;

/* A native histogram's sign: spans, then deltas. */
static uint64_t check_side(const uint8_t *spans_at[], const size_t *spans_len, size_t nspans,
                           rd deltas)
{
	uint64_t total = 0, want = 0;
	int64_t cur = 0;
	size_t i;

	for (i = 0; i < nspans; i++) {
		rd s = {spans_at[i], spans_at[i] + spans_len[i]}, sub;
		int wt;
		uint64_t v;
		while (s.p < s.end)
			if (rd_field(&s, &wt, &v, &sub) == 2)
				want += v;
	}
	while (deltas.p < deltas.end) {
		cur += unzig(rd_varint(&deltas));
		FUZZ_CHECK(cur >= 0, "negative bucket count");
		total += (uint64_t)cur;
		FUZZ_CHECK(want-- > 0, "more deltas than span buckets");
	}
	FUZZ_CHECK(want == 0, "fewer deltas than span buckets");
	return total;
}

static void check_histogram(rd h, pb_seen *seen)
{
	rd sub, pos_d = {NULL, NULL}, neg_d = {NULL, NULL};
	const uint8_t *ps[600], *ns[600];
	size_t psl[600], nsl[600], np = 0, nn = 0;
	uint64_t v, count = 0, zero = 0;
	int wt;

	while (h.p < h.end) {
		switch (rd_field(&h, &wt, &v, &sub)) {
		case 1: count = v; break;
		case 7: zero = v; break;
		case 9:
			FUZZ_CHECK(nn < 600, "spans");
			ns[nn] = sub.p;
			nsl[nn++] = (size_t)(sub.end - sub.p);
			break;
		case 12:
			FUZZ_CHECK(np < 600, "spans");
			ps[np] = sub.p;
			psl[np++] = (size_t)(sub.end - sub.p);
			break;
		case 10: neg_d = sub; break;
		case 13: pos_d = sub; break;
		case 16: { /* a native histogram's Exemplar: value, timestamp */
			rd ex = sub, x;
			uint64_t y;
			seen->ex16++;
			while (ex.p < ex.end)
				switch (rd_field(&ex, &wt, &y, &x)) {
				case 2: seen->ex16_value = y; break;
				case 3: seen->ex16_ts++; break;
				default: break;
				}
			break;
		}
		default: break;
		}
	}
	FUZZ_CHECK(zero + check_side(ps, psl, np, pos_d) + check_side(ns, nsl, nn, neg_d) == count,
	           "native buckets do not add up to the count");
	seen->hist_seen = 1;
	seen->hist_count = count;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k, need;
		unsigned lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;
			if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;
		} else
			return 0;
		if (i + need >= n) /* the continuation bytes are i+1 .. i+need */
			return 0;
		for (k = 1; k <= need; k++) {
			unsigned b = s[i + k];
			if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80)
				return 0;
		}
		i += need + 1;
	}
	return 1;
}

/* Unescapes a quoted label value (after the opening quote); returns the
 * position after the closing quote or NULL. */
static const char *label_value(const char *p, const char *end, char *out, size_t *n)
{
	*n = 0;
	while (p < end && *p != '"') {
		if (*p == '\\') {
			FUZZ_CHECK(p + 1 < end, "dangling backslash");
			p++;
			FUZZ_CHECK(*p == '\\' || *p == '"' || *p == 'n', "bad escape \\%c", *p);
			out[(*n)++] = *p == 'n' ? '\n' : *p;
		} else {
			out[(*n)++] = *p;
		}
		p++;
	}
	return p < end ? p + 1 : NULL;
}

static void unescape_help(const char *p, const char *end, int om, char *out, size_t *n)
{
	*n = 0;
	for (; p < end; p++) {
		if (*p == '\\') {
			FUZZ_CHECK(p + 1 < end, "dangling backslash in HELP");
			p++;
			FUZZ_CHECK(*p == '\\' || *p == 'n' || (om && *p == '"'),
			           "bad HELP escape \\%c", *p);
			out[(*n)++] = *p == 'n' ? '\n' : *p;
		} else {
			FUZZ_CHECK(om ? *p != '"' : 1, "raw quote in OpenMetrics HELP");
			out[(*n)++] = *p;
		}
	}
}

static int is_name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

typedef struct want {
	const char *help;
	size_t help_len;
	size_t nl;
	const char *val[3];
	size_t len[3];
	double value;
} want;

static void check(const char *text, size_t len, int om, const want *w)
{
	const char *p = text, *end = text + len;
	char *buf = malloc(len + 1);
	int seen_sample = 0, seen_eof = 0;

	FUZZ_CHECK(utf8_valid((const unsigned char *)text, len), "exposition is not UTF-8");
	FUZZ_CHECK(len == 0 || text[len - 1] == '\n', "no final LF");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(eol, "line without LF");
		FUZZ_CHECK(!seen_eof, "text after # EOF");
		if (!strncmp(p, "# HELP fz ", 10)) {
			size_t n;
			unescape_help(p + 10, eol, om, buf, &n);
			if (utf8_valid((const unsigned char *)w->help, w->help_len))
				FUZZ_CHECK(n == w->help_len && !memcmp(buf, w->help, n),
				           "HELP differs");
		} else if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7)) {
			/* other families' metadata: name then text */
		} else if (om && (size_t)(eol - p) == 5 && !strncmp(p, "# EOF", 5)) {
			seen_eof = 1;
		} else {
			const char *q = p, *name = p;
			size_t nl = 0;
			FUZZ_CHECK(p[0] != '#', "unknown comment line %.40s", p);
			FUZZ_CHECK(is_name_char(*q, 1), "bad sample name start");
			while (q < eol && is_name_char(*q, 0))
				q++;
			int is_fz = (size_t)(q - name) == 2 && !strncmp(name, "fz", 2);
			if (q < eol && *q == '{') {
				q++;
				while (q < eol && *q != '}') {
					const char *ln = q;
					size_t vn;
					FUZZ_CHECK(is_name_char(*q, 1) && *q != ':',
					           "bad label name");
					while (q < eol && is_name_char(*q, 0) && *q != ':')
						q++;
					FUZZ_CHECK(q + 1 < eol && q[0] == '=' && q[1] == '"',
					           "expected =\"");
					q = label_value(q + 2, eol, buf, &vn);
					FUZZ_CHECK(q, "unterminated label value");
					if (is_fz && nl < w->nl) {
						FUZZ_CHECK(ln[0] == 'l' &&
						                   ln[1] == (char)('0' + nl),
						           "label order");
						if (utf8_valid((const unsigned char *)w->val[nl],
						               w->len[nl]))
							FUZZ_CHECK(vn == w->len[nl] &&
							                   !memcmp(buf, w->val[nl],
							                           vn),
							           "label %zu value differs", nl);
					}
					nl++;
					if (q < eol && *q == ',')
						q++;
				}
				FUZZ_CHECK(q < eol && *q == '}', "unterminated label set");
				q++;
			}
			FUZZ_CHECK(q < eol && *q == ' ', "no space before value");
			q++;
			{
				char num[64];
				size_t n = (size_t)(eol - q);
				double v;
				char *e;
				FUZZ_CHECK(n > 0 && n < sizeof(num), "value length %zu", n);
				memcpy(num, q, n);
				num[n] = '\0';
				if (!strcmp(num, "NaN"))
					v = NAN;
				else if (!strcmp(num, "+Inf"))
					v = INFINITY;
				else if (!strcmp(num, "-Inf"))
					v = -INFINITY;
				else {
					v = strtod(num, &e);
					FUZZ_CHECK(*e == '\0' && strcmp(num, "inf") &&
					                   strcmp(num, "nan"),
					           "bad number %s", num);
				}
				if (is_fz) {
					FUZZ_CHECK(nl == w->nl, "label count %zu", nl);
					FUZZ_CHECK(isnan(w->value) ? isnan(v) : v == w->value,
					           "value %s, want %.17g", num, w->value);
					seen_sample = 1;
				}
			}
		}
		p = eol + 1;
	}
	FUZZ_CHECK(seen_sample, "the gauge sample is missing");
	FUZZ_CHECK(!om || seen_eof, "no # EOF");
	free(buf);
}

/* The protobuf exposition: delimited MetricFamily messages. */
static void check_pb(const char *data, size_t len, const want *w, pb_seen *seen)
{
	rd all = {(const uint8_t *)data, (const uint8_t *)data + len};

	while (all.p < all.end) {
		uint64_t n = rd_varint(&all), v;
		rd mf, sub, name = {NULL, NULL};
		int wt, is_fz = 0, is_fzh = 0;
		uint32_t f;

		FUZZ_CHECK(n <= (uint64_t)(all.end - all.p), "family length past the stream");
		mf.p = all.p;
		mf.end = all.p + n;
		all.p += n;
		while (mf.p < mf.end) {
			f = rd_field(&mf, &wt, &v, &sub);
			if (f == 1) {
				name = sub;
				is_fz = name.end - name.p == 2 && !memcmp(name.p, "fz", 2);
				is_fzh = name.end - name.p == 3 && !memcmp(name.p, "fzh", 3);
			} else if (f == 2 && is_fz &&
			           utf8_valid((const unsigned char *)w->help, w->help_len)) {
				FUZZ_CHECK((size_t)(sub.end - sub.p) == w->help_len &&
				                   !memcmp(sub.p, w->help, w->help_len),
				           "protobuf HELP differs");
			} else if (f == 4) {
				rd m = sub, msub;
				size_t nl = 0;
				while (m.p < m.end) {
					uint32_t mfld = rd_field(&m, &wt, &v, &msub);
					if (mfld == 1 && is_fz) { /* LabelPair */
						rd lp = msub, val = {NULL, NULL}, x;
						uint64_t y;
						while (lp.p < lp.end)
							if (rd_field(&lp, &wt, &y, &x) == 2)
								val = x;
						FUZZ_CHECK(nl < w->nl, "too many labels");
						if (utf8_valid((const unsigned char *)w->val[nl],
						               w->len[nl]))
							FUZZ_CHECK(
							        (size_t)(val.end - val.p) ==
							                        w->len[nl] &&
							                !memcmp(val.p, w->val[nl],
							                        w->len[nl]),
							        "protobuf label %zu differs", nl);
						nl++;
					} else if (mfld == 2 && is_fz) { /* Gauge */
						rd g = msub, x;
						uint64_t bits = 0;
						while (g.p < g.end)
							if (rd_field(&g, &wt, &bits, &x) == 1) {
								double d = as_dbl(bits);
								FUZZ_CHECK(isnan(w->value)
								                   ? isnan(d)
								                   : d == w->value,
								           "protobuf gauge value");
								seen->gauge_seen = 1;
							}
					} else if (mfld == 7 && is_fzh) {
						check_histogram(msub, seen);
					}
				}
				if (is_fz)
					FUZZ_CHECK(nl == w->nl, "protobuf label count %zu", nl);
			}
		}
	}
}

FUZZ_TARGET(expose)
{
	const char *names[3] = {"l0", "l1", "l2"};
	want w;
	const uint8_t *p, *end = data + size;
	const char *parts[4] = {"", "", "", ""};
	size_t plen[4] = {0, 0, 0, 0}, k = 0;
	sonde_registry *r;
	sonde_family *f;
	sonde_gauge *g;
	sonde_buf b = SONDE_BUF_INIT;
	uint64_t bits;

	if (size < 9)
		return 0;
	memset(&w, 0, sizeof(w));
	w.nl = 1 + data[0] % 3;
	memcpy(&bits, data + 1, 8);
	memcpy(&w.value, &bits, 8);
	/* the rest, split at 0xff: help, then label values */
	for (p = data + 9; k < 4; k++) {
		const uint8_t *q = memchr(p, 0xff, (size_t)(end - p));
		parts[k] = (const char *)p;
		plen[k] = (size_t)((q ? q : end) - p);
		if (!q)
			break;
		p = q + 1;
	}
	w.help = parts[0];
	w.help_len = strnlen(parts[0], plen[0]); /* help is NUL-terminated in the API */
	for (k = 0; k < 3; k++) {
		w.val[k] = parts[k + 1];
		w.len[k] = plen[k + 1];
	}
	{
		char *help = strndup(w.help, w.help_len);
		r = sonde_registry_new();
		f = sonde_gauge_family_new(r, "fz", help, w.nl, names);
		free(help);
	}
	if (!f) {
		sonde_registry_free(r);
		return 0; /* e.g. help over the limit: refused cleanly */
	}
	g = sonde_gauge_labels(f, w.nl, w.val, w.len);
	if (!g) {
		sonde_registry_free(r);
		return 0;
	}
	sonde_gauge_set(g, w.value);
	FUZZ_CHECK(sonde_expose(r, SONDE_FORMAT_TEXT, &b) == SONDE_OK, "expose text");
	check(b.data, b.len, 0, &w);
	FUZZ_CHECK(sonde_expose(r, SONDE_FORMAT_OPENMETRICS, &b) == SONDE_OK, "expose om");
	check(b.data, b.len, 1, &w);
	/* a native histogram fed with the input read as doubles (schema and
	 * bucket limit from the first byte), then the protobuf format */
	{
		sonde_metric_opts o;
		sonde_histogram *h;
		pb_seen seen = {0, 0, 0, 0, 0, 0};
		int ex_ok = 0;
		double ex_v = 0;
		uint64_t n_ok = 0, dropped0, dropped;
		const atomic_uint_fast64_t *oom =
		        sonde__self_count_cell(SONDE_SELF_REJECTED + SONDE_REJECT_OOM);
		size_t i;
		static const double factors[] = {0, 1.0001, 1.01, 1.5, 2, 4, 300, 65536};
		sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "fzh", "h");
		o.native = data[0] & 1 ? SONDE_NATIVE_ONLY : SONDE_NATIVE_AND_CLASSIC;
		o.native_bucket_factor = factors[(data[0] >> 1) & 7];
		o.native_max_buckets = 1 + (data[0] >> 4) * 16;
		o.native_max_zero_threshold = data[0] & 0x40 ? 1e-3 : 0;
		h = sonde_histogram_with_n(sonde_family_new(r, &o), 0);
		dropped0 = atomic_load(oom);
		if (h) {
			for (i = 0; i + 8 <= size; i += 8) {
				double d;
				memcpy(&d, data + i, 8);
				sonde_histogram_observe(h, d);
				n_ok += !isnan(d);
			}
			/* one exemplar (its label value from the input; an invalid
			 * one is refused and not observed) */
			memcpy(&ex_v, data + 1, 8);
			{
				const char *en[1] = {"trace_id"};
				const char *ev[1];
				char val[64];
				size_t vn = w.len[0] < sizeof(val) - 1 ? w.len[0] : sizeof(val) - 1;
				memcpy(val, w.val[0], vn);
				val[vn] = 0;
				ev[0] = val;
				ex_ok = sonde_histogram_observe_exemplar_labels(h, ex_v, 1, en,
				                                                ev) == SONDE_OK;
				n_ok += ex_ok;
			}
			FUZZ_CHECK(sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b) == SONDE_OK,
			           "expose protobuf");
			check_pb(b.data, b.len, &w, &seen);
			FUZZ_CHECK(seen.gauge_seen, "protobuf gauge missing");
			dropped = atomic_load(oom) - dropped0;
			FUZZ_CHECK(dropped <= n_ok, "dropped %llu of %llu",
			           (unsigned long long)dropped, (unsigned long long)n_ok);
			FUZZ_CHECK(seen.hist_seen && seen.hist_count == n_ok - dropped,
			           "native count %llu, observed %llu, dropped and counted %llu",
			           (unsigned long long)seen.hist_count, (unsigned long long)n_ok,
			           (unsigned long long)dropped);
			if (dropped)
				fprintf(stderr,
				        "fuzz expose: %llu observations dropped and counted\n",
				        (unsigned long long)dropped);
			/* Histogram.exemplars: a native-only histogram's exemplar,
			 * with its timestamp; never on a native+classic one (its
			 * exemplars are on its classic buckets) */
			if (o.native == SONDE_NATIVE_ONLY && ex_ok) {
				FUZZ_CHECK(seen.ex16 == 1 && seen.ex16_ts == 1,
				           "native exemplars %d (%d with a timestamp), want 1",
				           seen.ex16, seen.ex16_ts);
				FUZZ_CHECK(seen.ex16_value == bits_of_dbl(ex_v),
				           "native exemplar value differs");
			} else {
				FUZZ_CHECK(seen.ex16 == 0, "%d unexpected native exemplars",
				           seen.ex16);
			}
		}
	}
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
	return 0;
}
