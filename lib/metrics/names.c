/* lib/metrics/names.c - metric, label and unit name validation. */
#include "metrics/metrics-int.h"

static bool is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int sonde__check_metric_name(const char *what, const char *s)
{
	size_t i, n;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "%s name is NULL", what);
	n = strlen(s);
	if (n == 0)
		return sonde__fail(SONDE_EINVAL, "%s name is empty", what);
	if (n > SONDE_NAME_MAX)
		return sonde__fail(SONDE_EINVAL, "%s name is %zu bytes long, the limit is %d", what,
		                   n, SONDE_NAME_MAX);
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c))))
			return sonde__fail(SONDE_EINVAL,
			                   "%s name \"%.64s\" is invalid at byte %zu: must match "
			                   "[a-zA-Z_:][a-zA-Z0-9_:]*",
			                   what, s, i);
	}
	return SONDE_OK;
}

int sonde__check_label_name(const char *s, sonde_metric_type type)
{
	size_t i, n;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "label name is NULL");
	n = strlen(s);
	if (n == 0)
		return sonde__fail(SONDE_EINVAL, "label name is empty");
	if (n > SONDE_NAME_MAX)
		return sonde__fail(SONDE_EINVAL, "label name is %zu bytes long, the limit is %d", n,
		                   SONDE_NAME_MAX);
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!(is_alpha_(c) || (i > 0 && is_digit(c))))
			return sonde__fail(
			        SONDE_EINVAL,
			        "label name \"%.64s\" is invalid at byte %zu: must match "
			        "[a-zA-Z_][a-zA-Z0-9_]*",
			        s, i);
	}
	if (n >= 2 && s[0] == '_' && s[1] == '_')
		return sonde__fail(SONDE_EINVAL,
		                   "label name \"%.64s\" is reserved: names starting with \"__\" "
		                   "belong to Prometheus",
		                   s);
	if (type == SONDE_TYPE_HISTOGRAM && strcmp(s, "le") == 0)
		return sonde__fail(SONDE_EINVAL,
		                   "label name \"le\" is reserved on histograms (bucket bound)");
	if (type == SONDE_TYPE_SUMMARY && strcmp(s, "quantile") == 0)
		return sonde__fail(SONDE_EINVAL,
		                   "label name \"quantile\" is reserved on summaries");
	return SONDE_OK;
}

int sonde__check_unit(const char *s)
{
	size_t i, n = strlen(s);

	if (n > SONDE_NAME_MAX)
		return sonde__fail(SONDE_EINVAL, "unit is too long (%zu bytes)", n);
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!(is_alpha_(c) || c == ':' || is_digit(c)))
			return sonde__fail(SONDE_EINVAL,
			                   "unit \"%.64s\" is invalid: must match [a-zA-Z0-9_:]*",
			                   s);
	}
	return SONDE_OK;
}
