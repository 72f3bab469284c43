/*
 * lib/metrics/labelset.c - a fixed set of label pairs, encoded once for
 * every format: a family's constant labels and a registry's default
 * labels. The exposition copies the encoded bytes after a series' own
 * labels; nothing here runs when a value is counted.
 */
#include "core/pb.h"
#include "metrics/metrics-int.h"

int sonde__labelset_check(const char *what, const char *const *pairs, size_t n,
                          sonde_metric_type type)
{
	size_t i, j;
	int rc;

	if (n > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: %zu constant labels, the limit is %d", what,
		                   n, SONDE_LABELS_MAX);
	if (n && !pairs)
		return sonde__fail(SONDE_EINVAL, "%s: %zu constant labels but the pairs are NULL",
		                   what, n);
	for (i = 0; i < n; i++) {
		const char *name = pairs[2 * i], *v = pairs[2 * i + 1];
		size_t at;
		/* type 0 (a registry's labels) must fit every type */
		if ((rc = sonde__check_label_name(name, type ? type : SONDE_TYPE_HISTOGRAM)) ||
		    (!type && (rc = sonde__check_label_name(name, SONDE_TYPE_SUMMARY))))
			return sonde__fail(rc, "%s: %s", what, sonde_last_error());
		for (j = 0; j < i; j++)
			if (strcmp(pairs[2 * j], name) == 0)
				return sonde__fail(SONDE_EINVAL,
				                   "%s: constant label \"%s\" given twice", what,
				                   name);
		if (!v)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: constant label \"%s\" has a NULL value", what,
			                   name);
		if (strlen(v) > SONDE_LABEL_VALUE_MAX)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: constant label \"%s\" is longer than %d bytes",
			                   what, name, SONDE_LABEL_VALUE_MAX);
		at = sonde__utf8_invalid_at(v, strlen(v));
		if (at != SIZE_MAX)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: constant label \"%s\" is not UTF-8 at byte %zu",
			                   what, name, at);
	}
	return SONDE_OK;
}

void sonde__labelset_free(sonde__labelset *ls)
{
	size_t i;

	if (!ls)
		return;
	for (i = 0; i < ls->n; i++) {
		if (ls->names && ls->names[i])
			sonde__free(ls->names[i], strlen(ls->names[i]) + 1);
		if (ls->values && ls->values[i])
			sonde__free(ls->values[i], strlen(ls->values[i]) + 1);
	}
	if (ls->names)
		sonde__free(ls->names, ls->n * sizeof(char *));
	if (ls->values)
		sonde__free(ls->values, ls->n * sizeof(char *));
	if (ls->txt)
		sonde__free(ls->txt, ls->txt_len + 1);
	if (ls->pb)
		sonde__free(ls->pb, ls->pb_len ? ls->pb_len : 1);
	memset(ls, 0, sizeof(*ls));
}

int sonde__labelset_make(sonde__labelset *ls, const char *const *pairs, size_t n)
{
	sonde_buf t = SONDE_BUF_INIT, pb = SONDE_BUF_INIT;
	size_t i;

	memset(ls, 0, sizeof(*ls));
	if (!n)
		return SONDE_OK;
	ls->n = n;
	ls->names = sonde__calloc(n, sizeof(char *));
	ls->values = sonde__calloc(n, sizeof(char *));
	if (!ls->names || !ls->values)
		goto oom;
	for (i = 0; i < n; i++) {
		ls->names[i] = sonde__strndup(pairs[2 * i], strlen(pairs[2 * i]));
		ls->values[i] = sonde__strndup(pairs[2 * i + 1], strlen(pairs[2 * i + 1]));
		if (!ls->names[i] || !ls->values[i])
			goto oom;
	}
	sonde__put_label_pairs(&t, (const char *const *)ls->names, (const char *const *)ls->values,
	                       NULL, n);
	for (i = 0; i < n; i++) {
		size_t m = sonde__pb_begin(&pb, 1); /* Metric.label */
		sonde__pb_bytes(&pb, 1, ls->names[i], strlen(ls->names[i]));
		sonde__pb_bytes(&pb, 2, ls->values[i], strlen(ls->values[i]));
		sonde__pb_end(&pb, m);
	}
	if (t.oom || pb.oom)
		goto oom;
	ls->txt = sonde__strndup(t.data, t.len);
	ls->txt_len = t.len;
	ls->pb = sonde__malloc(pb.len);
	ls->pb_len = pb.len;
	if (!ls->txt || !ls->pb)
		goto oom;
	memcpy(ls->pb, pb.data, pb.len);
	sonde_buf_destroy(&t);
	sonde_buf_destroy(&pb);
	return SONDE_OK;
oom:
	sonde_buf_destroy(&t);
	sonde_buf_destroy(&pb);
	sonde__labelset_free(ls);
	return sonde__fail(SONDE_ENOMEM, "out of memory for constant labels");
}

bool sonde__labelset_has(const sonde__labelset *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->names[i], name) == 0)
			return true;
	return false;
}

bool sonde__labelset_same(const sonde__labelset *ls, const char *const *pairs, size_t n)
{
	if (ls->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ls->names[i], pairs[2 * i]) != 0 ||
		    strcmp(ls->values[i], pairs[2 * i + 1]) != 0)
			return false;
	return true;
}
