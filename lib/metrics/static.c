/* lib/metrics/static.c - registration behind METRIC_DEFINE_* and the call-site
 * child caches of the labelled macros. */
#include <stdarg.h>

#include "metrics/metrics-int.h"

static pthread_mutex_t static_mu = PTHREAD_MUTEX_INITIALIZER;

/* Held while a METRIC_DEFINE metric registers (registry and family locks
 * inside it): ranked before them for fork. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&static_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&static_mu);
}

static const sonde__fork_hooks static_fork = {SONDE_FORK_RANK_STATIC, fork_prepare, fork_release,
                                              fork_release};

static void static_lock(void)
{
	sonde__fork_register(&static_fork);
	pthread_mutex_lock(&static_mu);
}

/* Site records replaced after a removal may still be read by other
 * threads: they are kept (a few bytes per site and removal). */
typedef struct site_rec {
	sonde__site_rec pub;
	struct site_rec *retired_next;
} site_rec;
static site_rec *retired_recs;

void *sonde_static_resolve(sonde_static_metric *m)
{
	sonde_metric_opts o;
	sonde_family *f;
	void *h;

	/* acquire: pairs with the releases below (a racing resolver) */
	if (!m || sonde__plain_load_acquire(&m->failed))
		return NULL;
	static_lock();
	h = sonde__plain_load_acquire(&m->handle);
	if (h) {
		pthread_mutex_unlock(&static_mu);
		return h;
	}
	sonde_metric_opts_init(&o, (sonde_metric_type)m->type, m->name, m->help);
	o.label_names = m->label_names;
	o.label_count = m->label_count;
	o.buckets = m->buckets;
	o.bucket_count = m->bucket_count;
	f = sonde_family_new(NULL, &o);
	if (f && m->label_count == 0)
		h = sonde__family_child(f, (sonde_metric_type)m->type, 0, NULL, NULL);
	else
		h = f;
	if (h)
		/* release: pairs with the acquire in sonde__static_handle(). */
		sonde__plain_store_release(&m->handle, h);
	else
		sonde__plain_store_release(&m->failed, 1);
	pthread_mutex_unlock(&static_mu);
	return h;
}

void *sonde_static_child_n(sonde_static_metric *m, sonde_static_site *site, int cacheable,
                           size_t count, ...)
{
	const char *vals[SONDE_LABELS_MAX];
	sonde_family *f;
	sonde__child *c;
	unsigned long gen;
	va_list ap;
	size_t i;

	if (m && m->label_count == 0) {
		sonde__fail(SONDE_EINVAL, "%s has no labels: use the macro without _LABELS",
		            m->name);
		return NULL;
	}
	f = sonde_static_resolve(m);
	if (!f)
		return NULL;
	if (count > SONDE_LABELS_MAX) {
		sonde__fail(SONDE_EINVAL, "%s: too many label values", m->name);
		return NULL;
	}
	va_start(ap, count);
	for (i = 0; i < count; i++)
		vals[i] = va_arg(ap, const char *);
	va_end(ap);
	/* Read the generation before the lookup: a removal after it makes the
	 * record stale at once. */
	/* acquire: pairs with the release in sonde__static_gen_bump() */
	gen = sonde__plain_load_acquire(&sonde__static_gen);
	c = sonde__family_child(f, (sonde_metric_type)m->type, count, vals, NULL);
	if (c && cacheable && site) {
		site_rec *r = sonde__malloc(sizeof(*r));
		if (r) {
			site_rec *old;
			r->pub.child = c;
			r->pub.gen = gen;
			static_lock();
			old = (site_rec *)site->rec;
			/* release: the record's fields before its pointer; pairs
			 * with the acquire in sonde__static_child() (metrics.h). */
			sonde__plain_store_release(&site->rec, (void *)&r->pub);
			if (old) {
				old->retired_next = retired_recs;
				retired_recs = old;
			}
			pthread_mutex_unlock(&static_mu);
		}
	}
	return c;
}
