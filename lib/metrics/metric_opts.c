/* lib/metrics/metric_opts.c - sonde_metric_opts: defaults, validation of a
 * definition, and whether two definitions are the same. Calls names. */
#include <math.h>
#include "metrics/metrics-int.h"
#include "metrics/native.h"
#include "metrics/summary.h"

const double sonde__default_quantiles[SONDE__DEFAULT_QUANTILES] = {0.5, 0.9, 0.99};
static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void sonde_metric_opts_init(sonde_metric_opts *o, sonde_metric_type type, const char *name,
                            const char *help)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->type = type;
	o->name = name;
	o->help = help;
}

const char *sonde__metric_type_name(sonde_metric_type t)
{
	switch (t) {
	case SONDE_TYPE_COUNTER: return "counter";
	case SONDE_TYPE_GAUGE: return "gauge";
	case SONDE_TYPE_HISTOGRAM: return "histogram";
	case SONDE_TYPE_SUMMARY: return "summary";
	case SONDE_TYPE_INFO: return "info";
	case SONDE_TYPE_STATESET: return "stateset";
	case SONDE_TYPE_UNTYPED: return "untyped";
	}
	return "unknown";
}

static int check_buckets(const sonde_metric_opts *o, const double **b, size_t *n)
{
	size_t i, cnt = o->bucket_count;

	if (!o->buckets) {
		if (cnt)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: bucket_count is %zu but buckets is NULL", o->name,
			                   cnt);
		*b = default_buckets;
		*n = SONDE_ARRAY_LEN(default_buckets);
		return SONDE_OK;
	}
	/* An explicit trailing +Inf is allowed and dropped: it is implied. */
	if (cnt && isinf(o->buckets[cnt - 1]) && o->buckets[cnt - 1] > 0)
		cnt--;
	if (cnt == 0)
		return sonde__fail(SONDE_EINVAL, "%s: at least one finite bucket bound is needed",
		                   o->name);
	if (cnt > SONDE_BUCKETS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: %zu bucket bounds, the limit is %d", o->name,
		                   cnt, SONDE_BUCKETS_MAX);
	for (i = 0; i < cnt; i++) {
		if (!isfinite(o->buckets[i]))
			return sonde__fail(SONDE_EINVAL, "%s: bucket bound %zu is not finite",
			                   o->name, i);
		if (i && !(o->buckets[i] > o->buckets[i - 1]))
			return sonde__fail(
			        SONDE_EINVAL,
			        "%s: bucket bounds must be strictly increasing (bound %zu)",
			        o->name, i);
	}
	*b = o->buckets;
	*n = cnt;
	return SONDE_OK;
}

static int check_type(const sonde_metric_opts *o)
{
	switch (o->type) {
	case SONDE_TYPE_COUNTER:
	case SONDE_TYPE_GAUGE:
	case SONDE_TYPE_HISTOGRAM:
	case SONDE_TYPE_SUMMARY:
	case SONDE_TYPE_INFO:
	case SONDE_TYPE_STATESET: return SONDE_OK;
	case SONDE_TYPE_UNTYPED:
		return sonde__fail(SONDE_ENOTSUP,
		                   "%s: metric type %s is not available in this version", o->name,
		                   sonde__metric_type_name(o->type));
	}
	return sonde__fail(SONDE_EINVAL, "%s: unknown metric type %d", o->name, (int)o->type);
}

/* OpenMetrics: the name must end in _<unit> (before a counter's _total). */
static int check_unit(const sonde_metric_opts *o)
{
	size_t nl = strlen(o->name), ul = strlen(o->unit);
	int rc;

	if ((rc = sonde__check_unit(o->unit)))
		return rc;
	if (o->type == SONDE_TYPE_COUNTER && nl > 6 && strcmp(o->name + nl - 6, "_total") == 0)
		nl -= 6;
	if (nl < ul + 1 || o->name[nl - ul - 1] != '_' ||
	    memcmp(o->name + nl - ul, o->unit, ul) != 0)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: unit \"%s\" must be the name's suffix (name_%s)", o->name,
		                   o->unit, o->unit);
	return SONDE_OK;
}

static int check_labels(const sonde_metric_opts *o)
{
	size_t i, j;
	int rc;

	if (o->label_count > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: %zu labels, the limit is %d", o->name,
		                   o->label_count, SONDE_LABELS_MAX);
	if (o->label_count && !o->label_names)
		return sonde__fail(SONDE_EINVAL, "%s: label_count is %zu but label_names is NULL",
		                   o->name, o->label_count);
	for (i = 0; i < o->label_count; i++) {
		if ((rc = sonde__check_label_name(o->label_names[i], o->type)))
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(o->label_names[i], o->label_names[j]) == 0)
				return sonde__fail(SONDE_EINVAL,
				                   "%s: label name \"%s\" appears twice", o->name,
				                   o->label_names[i]);
	}
	/* constant labels: their own rules, then no clash with the labels */
	if ((rc = sonde__labelset_check(o->name, o->const_labels, o->const_label_count, o->type)))
		return rc;
	if (o->label_count + o->const_label_count > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: %zu labels and %zu constant labels, the limit "
		                   "is %d in all",
		                   o->name, o->label_count, o->const_label_count, SONDE_LABELS_MAX);
	for (i = 0; i < o->const_label_count; i++) {
		const char *c = o->const_labels[2 * i];
		for (j = 0; j < o->label_count; j++)
			if (strcmp(c, o->label_names[j]) == 0)
				return sonde__fail(
				        SONDE_EINVAL,
				        "%s: \"%s\" is both a label and a constant label", o->name,
				        c);
		if (o->type == SONDE_TYPE_STATESET && strcmp(c, o->name) == 0)
			return sonde__fail(
			        SONDE_EINVAL,
			        "%s: a stateset's name is its state label, not a constant "
			        "label",
			        o->name);
	}
	return SONDE_OK;
}

static int check_summary(const sonde_metric_opts *o)
{
	size_t i, nq = o->quantiles ? o->quantile_count : 0;

	if (!o->quantiles && o->quantile_count)
		return sonde__fail(SONDE_EINVAL, "%s: quantile_count is %zu but quantiles is NULL",
		                   o->name, o->quantile_count);
	if (nq > SONDE_QUANTILES_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: %zu quantiles, the limit is %d", o->name, nq,
		                   SONDE_QUANTILES_MAX);
	for (i = 0; i < nq; i++)
		if (!(o->quantiles[i] >= 0 && o->quantiles[i] <= 1) ||
		    (i && !(o->quantiles[i] > o->quantiles[i - 1])))
			return sonde__fail(
			        SONDE_EINVAL,
			        "%s: quantiles must be strictly increasing within [0, 1] "
			        "(quantile %zu)",
			        o->name, i);
	if (o->max_age_seconds != 0 &&
	    !(o->max_age_seconds >= 0.001 && o->max_age_seconds <= 86400.0 * 365))
		return sonde__fail(SONDE_EINVAL, "%s: max_age_seconds must be in [0.001, 1 year]",
		                   o->name);
	if (o->age_buckets > SONDE_SUMMARY_SLOTS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: age_buckets must be 1..%d", o->name,
		                   SONDE_SUMMARY_SLOTS_MAX);
	return SONDE_OK;
}

static int check_stateset(const sonde_metric_opts *o)
{
	size_t i, j;

	if (o->label_count)
		return sonde__fail(SONDE_EINVAL, "%s: a stateset has no labels but its states",
		                   o->name);
	if (sonde__check_label_name(o->name, SONDE_TYPE_STATESET))
		return sonde__fail(SONDE_EINVAL,
		                   "%s: a stateset's name is also its label name: must match "
		                   "[a-zA-Z_][a-zA-Z0-9_]* and not start with __",
		                   o->name);
	if (!o->states || o->state_count == 0 || o->state_count > SONDE_STATES_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: a stateset needs 1..%d states", o->name,
		                   SONDE_STATES_MAX);
	for (i = 0; i < o->state_count; i++) {
		if (!o->states[i] || !o->states[i][0] ||
		    strlen(o->states[i]) > SONDE_LABEL_VALUE_MAX)
			return sonde__fail(SONDE_EINVAL, "%s: state %zu is NULL, empty or too long",
			                   o->name, i);
		for (j = 0; j < i; j++)
			if (strcmp(o->states[i], o->states[j]) == 0)
				return sonde__fail(SONDE_EINVAL, "%s: state \"%s\" appears twice",
				                   o->name, o->states[i]);
	}
	return SONDE_OK;
}

/* o is a current-layout copy (sonde__opts_copy). */
int sonde__metric_opts_check(const sonde_metric_opts *o, const double **b, size_t *nb)
{
	int rc;

	if ((rc = sonde__check_metric_name("metric", o->name)) || (rc = check_type(o)))
		return rc;
	if (o->help && strnlen(o->help, SONDE_HELP_MAX + 1) > SONDE_HELP_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: help text is longer than %d bytes", o->name,
		                   SONDE_HELP_MAX);
	if ((o->unit && *o->unit && (rc = check_unit(o))) || (rc = check_labels(o)))
		return rc;
	if (o->type == SONDE_TYPE_SUMMARY && (rc = check_summary(o)))
		return rc;
	if (o->type == SONDE_TYPE_STATESET) {
		if ((rc = check_stateset(o)))
			return rc;
	} else if (o->states || o->state_count) {
		return sonde__fail(SONDE_EINVAL, "%s: states are only for statesets", o->name);
	}
	if (o->type == SONDE_TYPE_HISTOGRAM) {
		if (o->native == SONDE_NATIVE_ONLY && !o->buckets && !o->bucket_count) {
			/* the classic view is the +Inf bucket alone */
			*b = NULL;
			*nb = 0;
			return SONDE_OK;
		}
		return check_buckets(o, b, nb);
	}
	if (o->native)
		return sonde__fail(SONDE_EINVAL, "%s: native buckets are only for histograms",
		                   o->name);
	if (o->buckets || o->bucket_count)
		return sonde__fail(SONDE_EINVAL, "%s: buckets are only for histograms", o->name);
	*b = NULL;
	*nb = 0;
	return SONDE_OK;
}

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool sonde__metric_opts_same(const sonde_family *f, const sonde_metric_opts *o, const double *b,
                             size_t nb)
{
	size_t i;

	if (f->internal || f->func || f->type != o->type || !same_str(f->help, o->help) ||
	    !same_str(f->unit, o->unit) || f->nlabels != o->label_count || f->nbounds != nb)
		return false;
	for (i = 0; i < f->nlabels; i++)
		if (strcmp(f->label_names[i], o->label_names[i]) != 0)
			return false;
	if (!sonde__labelset_same(&f->konst, o->const_labels, o->const_label_count))
		return false;
	for (i = 0; i < nb; i++)
		if (f->bounds[i] != b[i])
			return false;
	if (f->type == SONDE_TYPE_HISTOGRAM) {
		sonde_family tmp;
		memset(&tmp, 0, sizeof(tmp));
		if (sonde__metric_opts_native(o, &tmp) != SONDE_OK || tmp.native != f->native ||
		    tmp.n_schema != f->n_schema || tmp.n_zt != f->n_zt ||
		    tmp.n_max_zt != f->n_max_zt || tmp.n_max_buckets != f->n_max_buckets ||
		    tmp.n_min_reset_s != f->n_min_reset_s)
			return false;
	}
	if (f->type == SONDE_TYPE_STATESET) {
		if (f->nstates != o->state_count)
			return false;
		for (i = 0; i < f->nstates; i++)
			if (strcmp(f->states[i], o->states[i]) != 0)
				return false;
	}
	if (f->type == SONDE_TYPE_SUMMARY) {
		const double *q = o->quantiles ? o->quantiles : sonde__default_quantiles;
		size_t nq = o->quantiles ? o->quantile_count : SONDE__DEFAULT_QUANTILES;
		if (nq != f->nquantiles || memcmp(q, f->quantiles, nq * sizeof(double)) != 0 ||
		    (o->max_age_seconds ? o->max_age_seconds : 600) != f->max_age_s ||
		    (o->age_buckets ? o->age_buckets : 5) != f->age_buckets)
			return false;
	}
	return true;
}

int sonde__metric_opts_native(const sonde_metric_opts *o, sonde_family *f)
{
	return sonde__native_config(o, &f->native, &f->n_schema, &f->n_zt, &f->n_max_zt,
	                            &f->n_max_buckets, &f->n_min_reset_s);
}
