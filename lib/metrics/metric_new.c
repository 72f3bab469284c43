/* lib/metrics/metric_new.c - the one-call constructors: a family from a
 * type, name and labels, or an unlabelled metric's only child. */
#include "metrics/metrics-int.h"

static sonde_family *shorthand(sonde_registry *r, sonde_metric_type t, const char *name,
                               const char *help, const double *bounds, size_t nb, size_t nlabels,
                               const char *const *labels)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, t, name, help);
	o.label_count = nlabels;
	o.label_names = labels;
	o.buckets = bounds;
	o.bucket_count = nb;
	return sonde_family_new(r, &o);
}

sonde_family *sonde_counter_family_new(sonde_registry *r, const char *name, const char *help,
                                       size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_COUNTER, name, help, NULL, 0, label_count, label_names);
}

sonde_family *sonde_gauge_family_new(sonde_registry *r, const char *name, const char *help,
                                     size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_GAUGE, name, help, NULL, 0, label_count, label_names);
}

sonde_family *sonde_histogram_family_new(sonde_registry *r, const char *name, const char *help,
                                         const double *bounds, size_t bucket_count,
                                         size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_HISTOGRAM, name, help, bounds, bucket_count, label_count,
	                 label_names);
}

sonde_family *sonde_summary_family_new(sonde_registry *r, const char *name, const char *help,
                                       size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_SUMMARY, name, help, NULL, 0, label_count, label_names);
}

sonde_family *sonde_info_family_new(sonde_registry *r, const char *name, const char *help,
                                    size_t label_count, const char *const *label_names)
{
	return shorthand(r, SONDE_TYPE_INFO, name, help, NULL, 0, label_count, label_names);
}

static sonde__child *only_child(sonde_family *f, sonde_metric_type t)
{
	return f ? sonde__family_child(f, t, 0, NULL, NULL) : NULL;
}

sonde_counter *sonde_counter_new(sonde_registry *r, const char *name, const char *help)
{
	return (sonde_counter *)only_child(
	        shorthand(r, SONDE_TYPE_COUNTER, name, help, NULL, 0, 0, NULL), SONDE_TYPE_COUNTER);
}

sonde_gauge *sonde_gauge_new(sonde_registry *r, const char *name, const char *help)
{
	return (sonde_gauge *)only_child(
	        shorthand(r, SONDE_TYPE_GAUGE, name, help, NULL, 0, 0, NULL), SONDE_TYPE_GAUGE);
}

sonde_histogram *sonde_histogram_new(sonde_registry *r, const char *name, const char *help,
                                     const double *bounds, size_t bucket_count)
{
	return (sonde_histogram *)only_child(
	        shorthand(r, SONDE_TYPE_HISTOGRAM, name, help, bounds, bucket_count, 0, NULL),
	        SONDE_TYPE_HISTOGRAM);
}

sonde_summary *sonde_summary_new(sonde_registry *r, const char *name, const char *help)
{
	return (sonde_summary *)only_child(
	        shorthand(r, SONDE_TYPE_SUMMARY, name, help, NULL, 0, 0, NULL), SONDE_TYPE_SUMMARY);
}

sonde_stateset *sonde_stateset_new(sonde_registry *r, const char *name, const char *help,
                                   size_t state_count, const char *const *states)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, SONDE_TYPE_STATESET, name, help);
	o.states = states;
	o.state_count = state_count;
	return (sonde_stateset *)only_child(sonde_family_new(r, &o), SONDE_TYPE_STATESET);
}
