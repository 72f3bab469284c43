/*
 * lib/metrics/family.c - a family object: built from validated options,
 * its accessors, and freed with every child it ever had. Calls child and
 * the child table.
 */
#include <math.h>
#include "metrics/metrics-int.h"
#include "metrics/summary.h"

static bool copy_names(sonde_family *f, const sonde_metric_opts *o)
{
	size_t i;

	f->name_len = strlen(o->name);
	f->name = sonde__strndup(o->name, f->name_len);
	f->help_len = o->help ? strlen(o->help) : 0;
	f->help = sonde__strndup(o->help ? o->help : "", f->help_len);
	f->unit = o->unit && *o->unit ? sonde__strndup(o->unit, strlen(o->unit)) : NULL;
	if (!f->name || !f->help || (o->unit && *o->unit && !f->unit))
		return false;
	if (sonde__labelset_make(&f->konst, o->const_labels, o->const_label_count) != SONDE_OK)
		return false;
	f->nlabels = o->label_count;
	if (!f->nlabels)
		return true;
	f->label_names = sonde__calloc(f->nlabels, sizeof(char *));
	if (!f->label_names)
		return false;
	for (i = 0; i < f->nlabels; i++) {
		f->label_names[i] = sonde__strndup(o->label_names[i], strlen(o->label_names[i]));
		if (!f->label_names[i])
			return false;
	}
	return true;
}

static bool set_summary(sonde_family *f, const sonde_metric_opts *o)
{
	const double *q = o->quantiles ? o->quantiles : sonde__default_quantiles;
	size_t nq = o->quantiles ? o->quantile_count : SONDE__DEFAULT_QUANTILES;

	f->max_age_s = o->max_age_seconds ? o->max_age_seconds : 600;
	f->age_buckets = o->age_buckets ? o->age_buckets : 5;
	if (!nq)
		return true;
	f->quantiles = sonde__malloc(nq * sizeof(double));
	if (!f->quantiles)
		return false;
	memcpy(f->quantiles, q, nq * sizeof(double));
	f->nquantiles = nq;
	return true;
}

/* "build" or "build_info": the samples are build_info either way. */
static bool set_info_name(sonde_family *f)
{
	f->base_len = f->name_len;
	if (f->base_len > 5 && !strcmp(f->name + f->base_len - 5, "_info"))
		f->base_len -= 5;
	f->alt_len = f->base_len + 5;
	f->alt_name = sonde__malloc(f->alt_len + 1);
	if (!f->alt_name)
		return false;
	memcpy(f->alt_name, f->name, f->base_len);
	memcpy(f->alt_name + f->base_len, "_info", 6);
	return true;
}

/* The state names, raw and escaped as label values. */
static bool set_states(sonde_family *f, const sonde_metric_opts *o)
{
	size_t i;

	f->states = sonde__calloc(o->state_count, sizeof(char *));
	f->states_esc = sonde__calloc(o->state_count, sizeof(char *));
	if (!f->states || !f->states_esc)
		return false;
	f->nstates = o->state_count;
	for (i = 0; i < o->state_count; i++) {
		sonde_buf e = SONDE_BUF_INIT;
		sonde__put_label_value(&e, o->states[i], strlen(o->states[i]));
		sonde__buf_terminate(&e);
		f->states[i] = sonde__strndup(o->states[i], strlen(o->states[i]));
		f->states_esc[i] = e.oom ? NULL : sonde__strndup(e.data, e.len);
		sonde_buf_destroy(&e);
		if (!f->states[i] || !f->states_esc[i])
			return false;
	}
	return true;
}

/* nb bounds padded with +Inf to an even count (SONDE__BOUNDS_PADDED). */
static bool set_bounds(sonde_family *f, const double *b, size_t nb)
{
	size_t i;

	f->bounds = sonde__malloc(SONDE__BOUNDS_PADDED(nb) * sizeof(double));
	if (!f->bounds)
		return false;
	memcpy(f->bounds, b, nb * sizeof(double));
	for (i = nb; i < SONDE__BOUNDS_PADDED(nb); i++)
		f->bounds[i] = INFINITY;
	f->nbounds = nb;
	return true;
}

sonde_family *sonde__family_alloc(const sonde_metric_opts *o, const double *b, size_t nb)
{
	sonde_family *f = sonde__calloc(1, sizeof(*f));
	bool ok;

	if (!f)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	f->type = o->type;
	f->max_children = o->max_children ? o->max_children : SONDE_DEFAULT_MAX_CHILDREN;
	ok = copy_names(f, o);
	if (ok && o->type == SONDE_TYPE_SUMMARY)
		ok = set_summary(f, o);
	if (ok && o->type == SONDE_TYPE_INFO)
		ok = set_info_name(f);
	if (ok && o->type == SONDE_TYPE_STATESET)
		ok = set_states(f, o);
	if (ok && nb)
		ok = set_bounds(f, b, nb);
	if (ok && o->type == SONDE_TYPE_HISTOGRAM)
		ok = sonde__metric_opts_native(o, f) == SONDE_OK; /* checked before */
	if (!ok) {
		/* sonde__family_free copes with a half-built family */
		sonde__family_free(f);
		return NULL;
	}
	return f;
}

void sonde__family_free(sonde_family *f)
{
	sonde__child *c, *n;
	size_t i;

	if (!f)
		return;
	for (c = f->head; c; c = n) {
		n = c->next;
		sonde__cells_free(sonde__load_relaxed(&c->cell), c->ncells);
		sonde__child_free(c);
	}
	for (c = f->graveyard; c; c = n) {
		n = c->next;
		sonde__child_free(c);
	}
	sonde__free(f->quantiles, f->nquantiles * sizeof(double));
	if (f->alt_name)
		sonde__free(f->alt_name, f->alt_len + 1);
	for (i = 0; i < f->nstates; i++) {
		if (f->states && f->states[i])
			sonde__free(f->states[i], strlen(f->states[i]) + 1);
		if (f->states_esc && f->states_esc[i])
			sonde__free(f->states_esc[i], strlen(f->states_esc[i]) + 1);
	}
	sonde__free(f->states, f->nstates * sizeof(char *));
	sonde__free(f->states_esc, f->nstates * sizeof(char *));
	sonde__table_free_all(f);
	/* A family that ran out of memory half-built may lack its arrays. */
	for (i = 0; f->label_names && i < f->nlabels; i++)
		if (f->label_names[i])
			sonde__free(f->label_names[i], strlen(f->label_names[i]) + 1);
	sonde__free(f->label_names, f->nlabels * sizeof(char *));
	sonde__labelset_free(&f->konst);
	sonde__free(f->bounds, SONDE__BOUNDS_PADDED(f->nbounds) * sizeof(double));
	if (f->name)
		sonde__free(f->name, f->name_len + 1);
	if (f->help)
		sonde__free(f->help, f->help_len + 1);
	if (f->unit)
		sonde__free(f->unit, strlen(f->unit) + 1);
	pthread_mutex_destroy(&f->mu);
	sonde__free(f, sizeof(*f));
}

int sonde_family_set_max_children(sonde_family *f, size_t max_children)
{
	if (!f)
		return sonde__fail(SONDE_EINVAL, "sonde_family_set_max_children: family is NULL");
	sonde__fam_lock(f);
	f->max_children = max_children ? max_children : SONDE_DEFAULT_MAX_CHILDREN;
	sonde__fam_unlock(f);
	return SONDE_OK;
}

size_t sonde_family_size(const sonde_family *f)
{
	return f ? sonde__load_relaxed(&((sonde_family *)f)->nchildren) : 0;
}

const char *sonde_family_name(const sonde_family *f)
{
	return f ? f->name : NULL;
}
