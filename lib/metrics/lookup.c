/* lib/metrics/lookup.c - from label values to a child: the lock-free
 * probe first, creation under the family mutex on a miss; the typed
 * *_labels and *_with_n calls. */
#include <stdarg.h>
#include "metrics/metrics-int.h"

sonde__child *sonde__family_child(sonde_family *f, sonde_metric_type want, size_t count,
                                  const char *const *values, const size_t *lens_in)
{
	size_t lens[SONDE_LABELS_MAX];
	sonde__child *c;
	uint64_t h;

	if (!f) {
		sonde__fail(SONDE_EINVAL, "family is NULL");
		return NULL;
	}
	if (f->type != want) {
		sonde__fail(SONDE_ETYPE, "%s is a %s, not a %s", f->name,
		            sonde__metric_type_name(f->type), sonde__metric_type_name(want));
		return NULL;
	}
	if (count > SONDE_LABELS_MAX || sonde__labels_check(f, count, values, lens_in, lens, &h))
		return count > SONDE_LABELS_MAX
		               ? (sonde__fail(SONDE_EINVAL, "%s: too many label values", f->name),
		                  NULL)
		               : NULL;
	c = sonde__table_find(f, h, count, values, lens);
	if (c)
		return c;
	sonde__fam_lock(f);
	if (f->unregistered) {
		sonde__fam_unlock(f);
		sonde__fail(SONDE_ESTATE, "%s: family was unregistered", f->name);
		return NULL;
	}
	c = sonde__table_find(f, h, count, values, lens);
	if (!c)
		c = sonde__child_insert(f, h, count, values, lens, true);
	sonde__fam_unlock(f);
	return c;
}

sonde_counter *sonde_counter_labels(sonde_family *f, size_t count, const char *const *values,
                                    const size_t *lens)
{
	return (sonde_counter *)sonde__family_child(f, SONDE_TYPE_COUNTER, count, values, lens);
}

sonde_gauge *sonde_gauge_labels(sonde_family *f, size_t count, const char *const *values,
                                const size_t *lens)
{
	return (sonde_gauge *)sonde__family_child(f, SONDE_TYPE_GAUGE, count, values, lens);
}

sonde_histogram *sonde_histogram_labels(sonde_family *f, size_t count, const char *const *values,
                                        const size_t *lens)
{
	return (sonde_histogram *)sonde__family_child(f, SONDE_TYPE_HISTOGRAM, count, values, lens);
}

sonde_summary *sonde_summary_labels(sonde_family *f, size_t count, const char *const *values,
                                    const size_t *lens)
{
	return (sonde_summary *)sonde__family_child(f, SONDE_TYPE_SUMMARY, count, values, lens);
}

static sonde__child *with_va(sonde_family *f, sonde_metric_type t, size_t count, va_list ap)
{
	const char *vals[SONDE_LABELS_MAX];
	size_t i;

	if (count > SONDE_LABELS_MAX) {
		sonde__fail(SONDE_EINVAL, "too many label values (%zu)", count);
		return NULL;
	}
	for (i = 0; i < count; i++)
		vals[i] = va_arg(ap, const char *);
	return sonde__family_child(f, t, count, vals, NULL);
}

sonde_counter *sonde_counter_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_COUNTER, count, ap);
	va_end(ap);
	return (sonde_counter *)c;
}

sonde_gauge *sonde_gauge_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_GAUGE, count, ap);
	va_end(ap);
	return (sonde_gauge *)c;
}

sonde_histogram *sonde_histogram_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_HISTOGRAM, count, ap);
	va_end(ap);
	return (sonde_histogram *)c;
}

sonde_summary *sonde_summary_with_n(sonde_family *f, size_t count, ...)
{
	va_list ap;
	sonde__child *c;

	va_start(ap, count);
	c = with_va(f, SONDE_TYPE_SUMMARY, count, ap);
	va_end(ap);
	return (sonde_summary *)c;
}
