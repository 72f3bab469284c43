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
#include <stdio.h>

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
	sonde__reg_lock(r);
	r->created = enabled;
	sonde__reg_unlock(r);
	return SONDE_OK;
}

/* The first of f's label names (its labels, its constant labels, a
 * stateset's state label) that is one of ls's names, or NULL. */
static const char *label_clash(const sonde_family *f, const sonde__labelset *ls)
{
	size_t i;

	for (i = 0; i < f->nlabels; i++)
		if (sonde__labelset_has(ls, f->label_names[i]))
			return f->label_names[i];
	for (i = 0; i < f->konst.n; i++)
		if (sonde__labelset_has(ls, f->konst.names[i]))
			return f->konst.names[i];
	if (f->type == SONDE_TYPE_STATESET && sonde__labelset_has(ls, f->name))
		return f->name;
	return NULL;
}

int sonde_registry_set_labels(sonde_registry *r, const char *const *pairs, size_t n)
{
	sonde__labelset ls;
	const char *name = NULL;
	size_t i;
	int rc;

	if ((rc = sonde__labelset_check("sonde_registry_set_labels", pairs, n, 0)))
		return rc;
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	if ((rc = sonde__labelset_make(&ls, pairs, n)))
		return rc;
	sonde__reg_lock(r);
	for (i = 0; i < r->nfams && !name; i++)
		if ((name = label_clash(r->fams[i], &ls)))
			break;
	if (name) {
		rc = sonde__fail(SONDE_EINVAL,
		                 "sonde_registry_set_labels: \"%s\" is already a label of %s", name,
		                 r->fams[i]->name);
		sonde__reg_unlock(r);
		sonde__labelset_free(&ls);
		return rc;
	}
	sonde__labelset_free(&r->labels);
	r->labels = ls;
	sonde__reg_unlock(r);
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
	sonde__labelset_free(&r->labels);
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
	sonde__reg_lock(r);
	for (i = 0; i < r->nfams; i++)
		if (r->fams[i] == f)
			break;
	if (i == r->nfams) {
		sonde__reg_unlock(r);
		return sonde__fail(SONDE_ENOENT,
		                   "sonde_registry_unregister: family not in registry");
	}
	if (r->ngone == r->gone_cap) {
		size_t nc = r->gone_cap ? r->gone_cap * 2 : 8;
		sonde_family **g =
		        sonde__realloc(r->gone, r->gone_cap * sizeof(*g), nc * sizeof(*g));
		if (!g) {
			sonde__reg_unlock(r);
			return sonde__fail(SONDE_ENOMEM,
			                   "sonde_registry_unregister: out of memory");
		}
		r->gone = g;
		r->gone_cap = nc;
	}
	r->gone[r->ngone++] = f;
	memmove(&r->fams[i], &r->fams[i + 1], (r->nfams - i - 1) * sizeof(*r->fams));
	r->nfams--;
	sonde__reg_unlock(r);
	/* Calls through its handles are discarded from now on, and its
	 * cells go back to the allocator. */
	sonde__family_retire(f);
	return SONDE_OK;
}

/* ---- registration ---------------------------------------------------------- */

/* ---- clash rules -------------------------------------------------------------
 *
 * A family writes names in both formats: its family names (text: the
 * name as registered; OpenMetrics: a counter without its _total, an info
 * without its _info) and its sample names. Two families clash when any
 * name one writes is a name the other writes: a strict OpenMetrics parser
 * rejects a page with two families of one name or a sample claimed by two
 * families, and Prometheus files one family's samples under the other's
 * metadata. So a gauge "jobs" clashes with a counter "jobs_total" (the
 * counter's OpenMetrics family is "jobs"), an info "x_info" with a gauge
 * "x", a counter "x_total" with a histogram "x" (both write x_created). */

static const char *const all_suffixes[] = {"_total", "_created", "_bucket",
                                           "_sum",   "_count",   "_info"};

static bool ends_with(const char *s, size_t n, const char *suf, size_t *base_len)
{
	size_t k = strlen(suf);

	if (n <= k || memcmp(s + n - k, suf, k) != 0)
		return false;
	*base_len = n - k;
	return true;
}

/* n == base (bl bytes) followed by suf. */
static bool is_base_suffix(const char *n, const char *base, size_t bl, const char *suf)
{
	return strncmp(n, base, bl) == 0 && strcmp(n + bl, suf) == 0;
}

/* The length of the stem a family's names are built on: a counter's name
 * without _total, an info's without _info, else the whole name. */
static size_t stem_len(const char *name, sonde_metric_type t)
{
	size_t n = strlen(name), bl = n;

	if (t == SONDE_TYPE_COUNTER)
		ends_with(name, n, "_total", &bl);
	else if (t == SONDE_TYPE_INFO)
		ends_with(name, n, "_info", &bl);
	return bl;
}

/* Whether a family named fname of type t writes the name n (a family or
 * a sample name, in either format). */
static bool family_writes(const char *fname, sonde_metric_type t, const char *n)
{
	static const char *const hist[] = {"", "_bucket", "_sum", "_count", "_created", NULL};
	static const char *const summ[] = {"", "_sum", "_count", "_created", NULL};
	static const char *const ctr[] = {"", "_total", "_created", NULL};
	static const char *const info[] = {"", "_info", NULL};
	static const char *const plain[] = {"", NULL};
	const char *const *suf = plain;
	size_t bl = stem_len(fname, t);

	switch (t) {
	case SONDE_TYPE_HISTOGRAM: suf = hist; break;
	case SONDE_TYPE_SUMMARY: suf = summ; break;
	case SONDE_TYPE_COUNTER: suf = ctr; break;
	case SONDE_TYPE_INFO: suf = info; break;
	default: break;
	}
	if (strcmp(n, fname) == 0)
		return true;
	for (; *suf; suf++)
		if (is_base_suffix(n, fname, bl, *suf))
			return true;
	return false;
}

static size_t find_pos(const sonde_registry *r, const char *name, bool *found);

/* Under r->mu: the registered family named c that writes n, or NULL. */
static const sonde_family *writer_named(const sonde_registry *r, const char *c, const char *n)
{
	bool found;
	size_t pos = find_pos(r, c, &found);

	if (found && family_writes(r->fams[pos]->name, r->fams[pos]->type, n))
		return r->fams[pos];
	return NULL;
}

/* Under r->mu: a registered family that writes the name n, or NULL. Its
 * registered name can only be n, n with a known suffix taken off, or
 * either of those with _total or _info put on. */
static const sonde_family *writer_of(const sonde_registry *r, const char *n)
{
	char c[SONDE_NAME_MAX + 32]; /* n (up to NAME_MAX + 15) and a suffix */
	size_t nl = strlen(n), bl, i;
	const sonde_family *e;

	if ((e = writer_named(r, n, n)))
		return e;
	for (i = 0; i < 2; i++) {
		snprintf(c, sizeof(c), "%s%s", n, i ? "_info" : "_total");
		if ((e = writer_named(r, c, n)))
			return e;
	}
	for (i = 0; i < SONDE_ARRAY_LEN(all_suffixes); i++) {
		if (!ends_with(n, nl, all_suffixes[i], &bl))
			continue;
		snprintf(c, sizeof(c), "%.*s", (int)bl, n);
		if ((e = writer_named(r, c, n)))
			return e;
		snprintf(c, sizeof(c), "%.*s_total", (int)bl, n);
		if ((e = writer_named(r, c, n)))
			return e;
	}
	return NULL;
}

/* Under r->mu: a family whose written names meet those of a new family
 * (name, t), or NULL. */
static const sonde_family *clash(const sonde_registry *r, const char *name, sonde_metric_type t)
{
	char n[SONDE_NAME_MAX + 16];
	size_t bl = stem_len(name, t), i;
	const sonde_family *e;

	/* every name the new family writes, its registered name included, is
	 * its stem alone or followed by one of the known suffixes */
	for (i = 0; i <= SONDE_ARRAY_LEN(all_suffixes); i++) {
		snprintf(n, sizeof(n), "%.*s%s", (int)bl, name, i ? all_suffixes[i - 1] : "");
		if (family_writes(name, t, n) && (e = writer_of(r, n)))
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

/* sonde_metric_opts' first published layout ended at max_children; a
 * caller compiled against it passes that size (sonde__opts_copy). */
#define OPTS_V1_SIZE SONDE__V1_SIZE(sonde_metric_opts, max_children)
SONDE_STATIC_ASSERT(OPTS_V1_SIZE == offsetof(sonde_metric_opts, quantiles),
                    "the first layout ends where the summary fields begin");

/* internal: self-metrics; func: callback families (no automatic child). */

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
	{
		sonde_family tmp; /* validates the native options */
		if (sonde__metric_opts_native(o, &tmp))
			return NULL;
	}
	sonde__reg_lock(r);
	pos = find_pos(r, o->name, &found);
	if (found) {
		f = r->fams[pos];
		sonde__reg_unlock(r);
		if (!internal && sonde__metric_opts_same(f, o, b, nb))
			return f;
		sonde__fail(SONDE_EEXIST,
		            "metric \"%s\" is already registered with a different definition",
		            o->name);
		return NULL;
	}
	other = clash(r, o->name, o->type);
	if (other) {
		sonde__reg_unlock(r);
		sonde__fail(SONDE_EEXIST, "metric \"%s\" would collide with the samples of \"%s\"",
		            o->name, other->name);
		return NULL;
	}
	f = sonde__family_alloc(o, b, nb);
	if (!f) {
		sonde__reg_unlock(r);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory", o->name);
		return NULL;
	}
	f->internal = internal;
	f->func = func;
	{
		const char *name = label_clash(f, &r->labels);
		if (name) { /* name points into f: the message first */
			sonde__fail(SONDE_EINVAL,
			            "%s: \"%s\" is one of the registry's default labels", o->name,
			            name);
			sonde__reg_unlock(r);
			sonde__family_free(f);
			return NULL;
		}
	}
	if (f->nlabels == 0 && !internal && !func) {
		sonde__fam_lock(f);
		sonde__child *c = sonde__child_insert(f, sonde__labels_hash(0, NULL, NULL), 0, NULL,
		                                      NULL, true);
		sonde__fam_unlock(f);
		if (!c) {
			sonde__reg_unlock(r);
			sonde__family_free(f);
			return NULL;
		}
	}
	if (registry_insert(r, pos, f)) {
		sonde__reg_unlock(r);
		sonde__family_free(f);
		sonde__fail(SONDE_ENOMEM, "%s: out of memory", o->name);
		return NULL;
	}
	sonde__reg_unlock(r);
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
	sonde__reg_lock(r);
	pos = find_pos(r, name, &found);
	if (found)
		f = r->fams[pos];
	sonde__reg_unlock(r);
	if (!f)
		sonde__fail(SONDE_ENOENT, "no metric named \"%.64s\"", name);
	return f;
}
