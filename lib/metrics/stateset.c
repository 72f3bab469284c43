/* lib/metrics/stateset.c - info children and stateset states. */
#include "metrics/metrics-int.h"

int sonde_info_add(sonde_family *f, size_t count, const char *const *values, const size_t *lens)
{
	return sonde__family_child(f, SONDE_TYPE_INFO, count, values, lens) ? SONDE_OK
	                                                                    : sonde_last_status();
}

static int state_index(const sonde_stateset *s, const char *state)
{
	const sonde_family *f = s->c.fam;
	size_t i;

	for (i = 0; state && i < f->nstates; i++)
		if (strcmp(f->states[i], state) == 0)
			return (int)i;
	sonde__fail(SONDE_ENOENT, "%s: no state \"%.64s\"", f->name, state ? state : "(null)");
	return -1;
}

int sonde_stateset_set(sonde_stateset *s, const char *state, bool on)
{
	int i;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_stateset_set: stateset is NULL");
	i = state_index(s, state);
	if (i < 0)
		return SONDE_ENOENT;
	if (on)
		sonde__fetch_or_relaxed(&s->c.gauge, (uint64_t)1 << i);
	else
		sonde__fetch_and_relaxed(&s->c.gauge, ~((uint64_t)1 << i));
	return SONDE_OK;
}

int sonde_stateset_enum(sonde_stateset *s, const char *state)
{
	int i;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_stateset_enum: stateset is NULL");
	i = state_index(s, state);
	if (i < 0)
		return SONDE_ENOENT;
	sonde__store_relaxed(&s->c.gauge, (uint64_t)1 << i);
	return SONDE_OK;
}

void sonde_stateset_set_mask(sonde_stateset *s, uint64_t mask)
{
	size_t n;

	if (!s)
		return;
	n = s->c.fam->nstates;
	sonde__store_relaxed(&s->c.gauge, n >= 64 ? mask : mask & (((uint64_t)1 << n) - 1));
}

uint64_t sonde_stateset_mask(const sonde_stateset *s)
{
	return s ? sonde__load_relaxed(&((sonde_stateset *)s)->c.gauge) : 0;
}
