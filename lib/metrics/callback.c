/* lib/metrics/callback.c - callback families and children: values read
 * at scrape time from a host function (sonde_*_func_new,
 * sonde_family_add_func) and the library's internal families. */
#include <stdio.h>
#include "metrics/metrics-int.h"

sonde_family *sonde__family_new_internal(sonde_registry *r, sonde_metric_type type,
                                         const char *name, const char *help, size_t nlabels,
                                         const char *const *label_names)
{
	sonde_metric_opts o;

	sonde_metric_opts_init(&o, type, name, help);
	o.label_count = nlabels;
	o.label_names = label_names;
	return sonde__registry_register(r, &o, true, false);
}

/* Adds a callback child; under f->mu. */
static int add_fn_child(sonde_family *f, uint64_t h, size_t count, const char *const *values,
                        const size_t *lens, sonde_value_fn fn, void *arg)
{
	sonde__child *c;

	sonde__fam_lock(f);
	if (sonde__table_find(f, h, count, values, lens)) {
		sonde__fam_unlock(f);
		return sonde__fail(SONDE_EEXIST, "%s: a child with these label values exists",
		                   f->name);
	}
	c = sonde__child_insert(f, h, count, values, lens, false);
	if (c) {
		c->read_fn = fn;
		c->read_arg = arg;
	}
	sonde__fam_unlock(f);
	return c ? SONDE_OK : sonde_last_status();
}

int sonde__family_add_fn_child(sonde_family *f, const char *const *values, sonde_value_fn fn,
                               void *arg)
{
	size_t lens[SONDE_LABELS_MAX], i;

	for (i = 0; i < f->nlabels; i++)
		lens[i] = strlen(values[i]);
	return add_fn_child(f, sonde__labels_hash(f->nlabels, values, lens), f->nlabels, values,
	                    lens, fn, arg);
}

int sonde_family_add_func(sonde_family *f, size_t count, const char *const *values,
                          const size_t *lens_in, sonde_value_fn fn, void *user)
{
	size_t lens[SONDE_LABELS_MAX];
	uint64_t h;

	if (!f || !fn)
		return sonde__fail(SONDE_EINVAL, "sonde_family_add_func: family or fn is NULL");
	if (f->type != SONDE_TYPE_COUNTER && f->type != SONDE_TYPE_GAUGE)
		return sonde__fail(SONDE_ETYPE, "%s: callback children are for counters and gauges",
		                   f->name);
	if (f->nlabels == 0 || f->internal)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: use sonde_gauge_func_new/sonde_counter_func_new "
		                   "for a family without labels",
		                   f->name);
	if (count > SONDE_LABELS_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: too many label values", f->name);
	if (sonde__labels_check(f, count, values, lens_in, lens, &h))
		return sonde_last_status();
	return add_fn_child(f, h, count, values, lens, fn, user);
}

static sonde_family *func_new(sonde_registry *r, sonde_metric_type t, const char *name,
                              const char *help, sonde_value_fn fn, void *user)
{
	sonde_metric_opts o;
	sonde_family *f;

	if (!fn) {
		sonde__fail(SONDE_EINVAL, "%s: callback is NULL", name ? name : "(null)");
		return NULL;
	}
	sonde_metric_opts_init(&o, t, name, help);
	f = sonde__registry_register(r, &o, false, true);
	if (f && add_fn_child(f, sonde__labels_hash(0, NULL, NULL), 0, NULL, NULL, fn, user) !=
	                 SONDE_OK) {
		int st = sonde_last_status();
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", sonde_last_error());
		sonde__ignore(sonde_registry_unregister(f->reg, f));
		sonde__fail(st, "%s", msg);
		return NULL;
	}
	return f;
}

sonde_family *sonde_gauge_func_new(sonde_registry *r, const char *name, const char *help,
                                   sonde_value_fn fn, void *user)
{
	return func_new(r, SONDE_TYPE_GAUGE, name, help, fn, user);
}

sonde_family *sonde_counter_func_new(sonde_registry *r, const char *name, const char *help,
                                     sonde_value_fn fn, void *user)
{
	return func_new(r, SONDE_TYPE_COUNTER, name, help, fn, user);
}
