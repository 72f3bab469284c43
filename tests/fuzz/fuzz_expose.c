/*
 * tests/fuzz/fuzz_expose.c - families with arbitrary help text, label
 * values and values: both formats must pass a strict parser of our own
 * (names, escapes, UTF-8, numbers, metadata, # EOF), and give back exactly
 * what went in (label values and help that were valid UTF-8, the double's
 * bits, NaN as NaN).
 */
#include <math.h>

#include "fuzz.h"
#include "sonde.h"

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
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
	return 0;
}
