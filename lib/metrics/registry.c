/*
 * lib/metrics/registry.c - registries: families sorted by name under one
 * mutex, registration and its clash rules, lookup by name, unregistering,
 * and the default registry. Calls metric_opts, family and child.
 *
 * The default registry is created here, bare; what it carries besides the
 * host's families (the self-metrics, the process collector) is plugged in
 * by the top layer (api/defaults.c) through sonde__registry_set_default_
 * wiring(), so the metrics core never calls a collector.
 */
#include "metrics/metrics-int.h"

static sonde_registry *default_reg;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
/* Written once by the top layer's constructor before main(), read once
 * inside pthread_once (which orders it): no atomics needed. */
static void (*default_wiring)(sonde_registry *r);

void sonde__registry_set_default_wiring(void (*fn)(sonde_registry *r))
{
	default_wiring = fn;
}

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
	default_reg = r;
	/* The wiring registers on r itself (never through NULL, which would
	 * re-enter this pthread_once). */
	if (default_wiring)
		default_wiring(r);
}

sonde_registry *sonde_registry_default(void)
{
	pthread_once(&default_once, default_init);
	if (!default_reg)
		sonde__fail(SONDE_ENOMEM, "default registry: out of memory");
	return default_reg;
}

int sonde_registry_set_created(sonde_registry *r, bool enabled)
{
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	pthread_mutex_lock(&r->mu);
	r->created = enabled;
	pthread_mutex_unlock(&r->mu);
	return SONDE_OK;
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
	/* Calls through its handles are discarded from now on, and its
	 * cells go back to the allocator. */
	sonde__family_retire(f);
	return SONDE_OK;
}

/* ---- registration ---------------------------------------------------------- */

/* The sample names a family writes besides its own name, which no other
 * family may use as its name. */
static const char *const *suffixes(sonde_metric_type t)
{
	static const char *const hist[] = {"_bucket", "_sum", "_count", "_created", NULL};
	static const char *const sum[] = {"_sum", "_count", "_created", NULL};
	static const char *const ctr[] = {"_total", "_created", NULL};
	static const char *const info[] = {"_info", NULL};
	static const char *const none[] = {NULL};

	switch (t) {
	case SONDE_TYPE_HISTOGRAM: return hist;
	case SONDE_TYPE_SUMMARY: return sum;
	case SONDE_TYPE_COUNTER: return ctr;
	case SONDE_TYPE_INFO: return info;
	default: return none;
	}
}

static bool is_name_plus_suffix(const char *full, const char *base, const char *const *suf)
{
	size_t bl = strlen(base);

	if (strncmp(full, base, bl) != 0)
		return false;
	for (; *suf; suf++)
		if (strcmp(full + bl, *suf) == 0)
			return true;
	return false;
}

/* Under r->mu: a family whose samples would collide with f's, or NULL. */
static const sonde_family *clash(const sonde_registry *r, const char *name, sonde_metric_type t)
{
	size_t i;

	for (i = 0; i < r->nfams; i++) {
		const sonde_family *e = r->fams[i];
		if (is_name_plus_suffix(e->name, name, suffixes(t)) ||
		    is_name_plus_suffix(name, e->name, suffixes(e->type)))
			return e;
	}
	return NULL;
}

static size_t find_pos(const sonde_registry *r, const char *name, bool *found)
{
	size_t lo = 0, hi = r->nfams;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->fams[mid]->name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Under r->mu: inserts f at pos, growing the array. */
static int registry_insert(sonde_registry *r, size_t pos, sonde_family *f)
{
	if (r->nfams == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		sonde_family **a = sonde__realloc(r->fams, r->cap * sizeof(*a), nc * sizeof(*a));
		if (!a)
			return SONDE_ENOMEM;
		r->fams = a;
		r->cap = nc;
	}
	memmove(&r->fams[pos + 1], &r->fams[pos], (r->nfams - pos) * sizeof(*r->fams));
	r->fams[pos] = f;
	r->nfams++;
	f->reg = r;
	return SONDE_OK;
}

/* internal: self-metrics; func: callback families (no automatic child). */
/* The options as this library knows them: a caller compiled against an
 * older, smaller sonde_metric_opts passes its own size, and the fields it
 * does not have read as zero. */
#define OPTS_V1_SIZE offsetof(sonde_metric_opts, quantiles)

sonde_family *sonde__registry_register(sonde_registry *r, const sonde_metric_opts *o_in,
                                       bool internal, bool func)
{
	sonde_metric_opts copy;
	const sonde_metric_opts *o = &copy;
	const double *b = NULL;
	size_t nb = 0, pos;
	sonde_family *f;
	const sonde_family *other;
	bool found;

	if (sonde__opts_copy(&copy, sizeof(copy), o_in, OPTS_V1_SIZE, "metric options") != 0)
		return NULL;
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return NULL;
	if (sonde__metric_opts_check(o, &b, &nb))
		return NULL;
	pthread_mutex_lock(&r->mu);
	pos = find_pos(r, o->name, &found);
	if (found) {
		f = r->fams[pos];
		pthread_mutex_unlock(&r->mu);
		if (!internal && sonde__metric_opts_same(f, o, b, nb))
			return f;
		sonde__fail(SONDE_EEXIST,
		            "metric \"%s\" is already registered with a different definition",
		            o->name);
		return NULL;
	}
	other = clash(r, o->name, o->type);
	if (other) {
		pthread_mutex_unlock(&r->mu);
		sonde__fail(SONDE_EEXIST, "metric \"%s\" would collide with the samples of \"%s\"",
		            o->name, other->name);
		return NULL;
	}
	f = sonde__family_alloc(o, b, nb);
	if (!f) {
		pthread_mutex_unlock(&r->mu);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory", o->name);
		return NULL;
	}
	f->internal = internal;
	f->func = func;
	if (f->nlabels == 0 && !internal && !func) {
		pthread_mutex_lock(&f->mu);
		sonde__child *c = sonde__child_insert(f, sonde__labels_hash(0, NULL, NULL), 0, NULL,
		                                      NULL, true);
		pthread_mutex_unlock(&f->mu);
		if (!c) {
			pthread_mutex_unlock(&r->mu);
			sonde__family_free(f);
			return NULL;
		}
	}
	if (registry_insert(r, pos, f)) {
		pthread_mutex_unlock(&r->mu);
		sonde__family_free(f);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory", o->name);
		return NULL;
	}
	pthread_mutex_unlock(&r->mu);
	return f;
}

sonde_family *sonde_family_new(sonde_registry *r, const sonde_metric_opts *o)
{
	return sonde__registry_register(r, o, false, false);
}

sonde_family *sonde_registry_find(sonde_registry *r, const char *name)
{
	sonde_family *f = NULL;
	size_t pos;
	bool found;

	if (!name) {
		sonde__fail(SONDE_EINVAL, "sonde_registry_find: name is NULL");
		return NULL;
	}
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return NULL;
	pthread_mutex_lock(&r->mu);
	pos = find_pos(r, name, &found);
	if (found)
		f = r->fams[pos];
	pthread_mutex_unlock(&r->mu);
	if (!f)
		sonde__fail(SONDE_ENOENT, "no metric named \"%.64s\"", name);
	return f;
}
