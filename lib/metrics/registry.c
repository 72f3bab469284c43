/* lib/metrics/registry.c - registries: a sorted array of families, one mutex. */
#include <math.h>
#include <stdlib.h>

#include "metrics/metrics-int.h"

static sonde_registry *default_reg;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static sonde_registry *registry_alloc(void)
{
	sonde_registry *r = sonde__calloc(1, sizeof(*r));

	if (!r) {
		sonde__fail(SONDE_ENOMEM, "sonde_registry_new: out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

sonde_registry *sonde_registry_new(void)
{
	return registry_alloc();
}

static void default_init(void)
{
	sonde_registry *r = registry_alloc();

	if (!r)
		return;
	r->is_default = true;
	sonde__self_register(r);
	default_reg = r;
	/* Out of memory here leaves the default registry without process
	 * metrics; every other call still works. */
	if (!getenv("SONDE_NO_PROCESS_METRICS"))
		sonde__ignore(sonde_process_collector_register(r));
}

sonde_registry *sonde_registry_default(void)
{
	pthread_once(&default_once, default_init);
	if (!default_reg)
		sonde__fail(SONDE_ENOMEM, "default registry: out of memory");
	return default_reg;
}

void sonde_registry_free(sonde_registry *r)
{
	size_t i;

	if (!r || r->is_default)
		return;
	for (i = 0; i < r->nfams; i++)
		sonde__family_free(r->fams[i]);
	for (i = 0; i < r->ngone; i++)
		sonde__family_free(r->gone[i]);
	sonde__free(r->fams, r->cap * sizeof(*r->fams));
	sonde__free(r->gone, r->gone_cap * sizeof(*r->gone));
	pthread_mutex_destroy(&r->mu);
	sonde__free(r, sizeof(*r));
}

int sonde_registry_unregister(sonde_registry *r, sonde_family *f)
{
	size_t i;

	if (!f)
		return sonde__fail(SONDE_EINVAL, "sonde_registry_unregister: family is NULL");
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->nfams; i++)
		if (r->fams[i] == f)
			break;
	if (i == r->nfams) {
		pthread_mutex_unlock(&r->mu);
		return sonde__fail(SONDE_ENOENT,
		                   "sonde_registry_unregister: family not in registry");
	}
	if (r->ngone == r->gone_cap) {
		size_t nc = r->gone_cap ? r->gone_cap * 2 : 8;
		sonde_family **g =
		        sonde__realloc(r->gone, r->gone_cap * sizeof(*g), nc * sizeof(*g));
		if (!g) {
			pthread_mutex_unlock(&r->mu);
			return sonde__fail(SONDE_ENOMEM,
			                   "sonde_registry_unregister: out of memory");
		}
		r->gone = g;
		r->gone_cap = nc;
	}
	r->gone[r->ngone++] = f;
	memmove(&r->fams[i], &r->fams[i + 1], (r->nfams - i - 1) * sizeof(*r->fams));
	r->nfams--;
	pthread_mutex_unlock(&r->mu);
	/* Calls through its handles are discarded from now on. */
	sonde_family_clear(f);
	pthread_mutex_lock(&f->mu);
	f->unregistered = true;
	pthread_mutex_unlock(&f->mu);
	return SONDE_OK;
}
