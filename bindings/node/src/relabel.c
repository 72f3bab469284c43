/*
 * relabel.c - see relabel.h. Compiled into the addon, and into the fuzz
 * target tests/fuzz/fuzz_relabel.c.
 */
#include "relabel.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void put(sonde_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == ':';
}

#define PAIRS_MAX 32

/* Which of the default names the label set at l[j..ll) (after '{') has;
 * true when it holds at least one label. */
static bool own_labels(const char *l, size_t j, size_t ll, const char *const *kv,
                       const size_t *lens, size_t nkv, bool *have)
{
	bool any = false;
	while (j < ll && l[j] != '}') {
		size_t ns = j;
		while (j < ll && l[j] != '=')
			j++;
		for (size_t d = 0; d + 1 < nkv && d / 2 < PAIRS_MAX; d += 2)
			if (lens[d] == j - ns && memcmp(kv[d], l + ns, j - ns) == 0)
				have[d / 2] = true;
		j += 2; /* =" */
		while (j < ll && l[j] != '"') {
			if (l[j] == '\\')
				j++;
			j++;
		}
		j++; /* the closing quote */
		if (j < ll && l[j] == ',')
			j++;
		any = true;
	}
	return any;
}

void sonde_node_relabel(const char *in, size_t n, const char *const *kv, const size_t *lens,
                        size_t nkv, sonde_buf *out)
{
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - in) + 1 : n;
		const char *l = in + i;
		size_t ll = end - i, k = 0;
		bool have[PAIRS_MAX] = {false};
		bool first = true, own = false, braces;

		i = end;
		if (l[0] == '#' || l[0] == '\n') {
			put(out, l, ll);
			continue;
		}
		while (k < ll && name_char(l[k]))
			k++;
		braces = k < ll && l[k] == '{';
		if (braces)
			own = own_labels(l, k + 1, ll, kv, lens, nkv, have);
		put(out, l, k);
		put(out, "{", 1);
		for (size_t d = 0; d + 1 < nkv && d / 2 < PAIRS_MAX; d += 2) {
			if (have[d / 2])
				continue;
			if (!first)
				put(out, ",", 1);
			put(out, kv[d], lens[d]);
			put(out, "=\"", 2);
			put(out, kv[d + 1], lens[d + 1]);
			put(out, "\"", 1);
			first = false;
		}
		if (braces) {
			if (!first && own)
				put(out, ",", 1);
			put(out, l + k + 1, ll - k - 1);
		} else {
			put(out, "}", 1);
			put(out, l + k, ll - k);
		}
	}
}
