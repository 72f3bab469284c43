/*
 * tests/fuzz/fuzz_relabel.c - the Node binding's default labels
 * (bindings/node/src/relabel.c, prom-client's setDefaultLabels over
 * sonde's text pages). Two properties:
 *   - any bytes as a page, with any label pairs, are rewritten without
 *     reading past the input (ASan) and without losing a byte: removing
 *     what was inserted after each line's leading name gives the line back;
 *   - a real page (a counter family with the input's label values, and a
 *     histogram) rewritten with a default label: every sample line is the
 *     original with exactly that label inserted after the name, except the
 *     samples whose own label has that name.
 * The first input byte picks the default label name ("app", or "x": the
 * family's own label); the next up to 64 bytes are its value (escaped as
 * the binding escapes it); the rest is label values split at 0xff.
 */
#include "fuzz.h"
#include "sonde.h"

#include "../../bindings/node/src/relabel.c"

/* the escaping of bindings/node/lib/metrics.js's escapeLabelValue */
static size_t escape(const uint8_t *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '"') {
			out[o++] = '\\';
			out[o++] = (char)s[i];
		} else if (s[i] == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = (char)s[i];
		}
	}
	return o;
}

/* Checks that out is in with the pair inserted after each sample line's
 * name (or, when own_ok and the line has a label of that name, unchanged). */
static void check_pages(const char *in, size_t n, const char *out, size_t on, const char *pair,
                        size_t plen, const char *name, size_t nlen, int own_ok)
{
	size_t i = 0, o = 0;
	while (i < n) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - in) + 1 : n, ll = end - i, k = 0;
		const char *l = in + i;
		i = end;
		if (l[0] == '#' || l[0] == '\n') {
			FUZZ_CHECK(on - o >= ll && memcmp(out + o, l, ll) == 0,
			           "a comment line changed");
			o += ll;
			continue;
		}
		while (k < ll && name_char(l[k]))
			k++;
		FUZZ_CHECK(on - o >= k && memcmp(out + o, l, k) == 0, "the name changed");
		o += k;
		if (own_ok && k < ll && l[k] == '{' && ll - k > nlen + 2 &&
		    memcmp(l + k + 1, name, nlen) == 0 && l[k + 1 + nlen] == '=') {
			FUZZ_CHECK(on - o >= ll - k && memcmp(out + o, l + k, ll - k) == 0,
			           "a sample with its own label changed");
			o += ll - k;
			continue;
		}
		FUZZ_CHECK(on - o >= 1 + plen && out[o] == '{' &&
		                   memcmp(out + o + 1, pair, plen) == 0,
		           "the pair is not after the name");
		o += 1 + plen;
		if (k < ll && l[k] == '{') {
			int empty = k + 1 < ll && l[k + 1] == '}';
			if (!empty) {
				FUZZ_CHECK(o < on && out[o] == ',',
				           "no comma before the own labels");
				o++;
			}
			FUZZ_CHECK(on - o >= ll - k - 1 &&
			                   memcmp(out + o, l + k + 1, ll - k - 1) == 0,
			           "the own labels changed");
			o += ll - k - 1;
		} else {
			FUZZ_CHECK(o < on && out[o] == '}', "no closing brace");
			o++;
			FUZZ_CHECK(on - o >= ll - k && memcmp(out + o, l + k, ll - k) == 0,
			           "the value changed");
			o += ll - k;
		}
	}
	FUZZ_CHECK(o == on, "%zu bytes left over", on - o);
}

FUZZ_TARGET(relabel)
{
	const char *name;
	size_t nlen, vlen, plen, vn;
	char val[2 * 64 + 1], pair[300];
	const char *kv[2];
	size_t lens[2];
	sonde_buf out = {NULL, 0, 0, 0}, page = SONDE_BUF_INIT;
	sonde_registry *r;
	sonde_family *f;
	const char *label = "x";
	const uint8_t *p, *end;

	if (size < 1)
		return 0;
	name = (data[0] & 1) ? "x" : "app";
	nlen = strlen(name);
	vn = size - 1 < 64 ? size - 1 : 64;
	vlen = escape(data + 1, vn, val);
	/* name="value", by lengths (the value may hold NUL bytes) */
	memcpy(pair, name, nlen);
	memcpy(pair + nlen, "=\"", 2);
	memcpy(pair + nlen + 2, val, vlen);
	pair[nlen + 2 + vlen] = '"';
	plen = nlen + 3 + vlen;
	kv[0] = name;
	kv[1] = val;
	lens[0] = nlen;
	lens[1] = vlen;

	/* 1: the raw bytes as a page */
	sonde_node_relabel((const char *)data, size, kv, lens, 2, &out);
	FUZZ_CHECK(!out.oom, "out of memory");
	free(out.data);
	memset(&out, 0, sizeof out);

	/* 2: a real page */
	r = sonde_registry_new();
	FUZZ_CHECK(r != NULL, "registry");
	f = sonde_counter_family_new(r, "fuzz_total", "Help with \\ and \n.", 1, &label);
	FUZZ_CHECK(f != NULL, "family: %s", sonde_last_error());
	p = data + 1 + vn;
	end = data + size;
	while (p < end) {
		const uint8_t *q = memchr(p, 0xff, (size_t)(end - p));
		size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
		const char *v = (const char *)p;
		sonde_counter_add(sonde_counter_labels(f, 1, &v, &len), (double)len);
		p += len + 1;
	}
	{
		sonde_histogram *h = sonde_histogram_new(r, "fuzz_seconds", "H", NULL, 0);
		sonde_histogram_observe(h, (double)size / 100);
	}
	for (int fmt = 0; fmt < 2; fmt++) {
		FUZZ_CHECK(sonde_expose(r, (sonde_format)fmt, &page) == 0, "expose");
		sonde_node_relabel(page.data, page.len, kv, lens, 2, &out);
		FUZZ_CHECK(!out.oom, "out of memory");
		check_pages(page.data, page.len, out.data, out.len, pair, plen, name, nlen,
		            name[0] == 'x');
		free(out.data);
		memset(&out, 0, sizeof out);
	}
	sonde_buf_destroy(&page);
	sonde_registry_free(r);
	return 0;
}
