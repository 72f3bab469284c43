/* lib/metrics/gauge.c - gauges: one shared atomic double (a set cannot shard). */
#include "metrics/metrics-int.h"

void sonde_gauge_set(sonde_gauge *g, double v)
{
	if (SONDE_UNLIKELY(!g))
		return;
	sonde__store_relaxed(&g->c.gauge, sonde__dbl_bits(v));
}

void sonde_gauge_add(sonde_gauge *g, double v)
{
	uint64_t old, nv;

	if (SONDE_UNLIKELY(!g))
		return;
	old = sonde__load_relaxed(&g->c.gauge);
	do {
		nv = sonde__dbl_bits(sonde__bits_dbl(old) + v);
	} while (!sonde__cas_weak(&g->c.gauge, &old, nv));
}

void sonde_gauge_sub(sonde_gauge *g, double v)
{
	sonde_gauge_add(g, -v);
}

void sonde_gauge_inc(sonde_gauge *g)
{
	sonde_gauge_add(g, 1);
}

void sonde_gauge_dec(sonde_gauge *g)
{
	sonde_gauge_add(g, -1);
}

void sonde_gauge_set_to_current_time(sonde_gauge *g)
{
	sonde_gauge_set(g, (double)sonde_now_unix_ns() / 1e9);
}

double sonde_gauge_value(const sonde_gauge *g)
{
	if (!g)
		return 0;
	if (g->c.read_fn)
		return sonde__child_value(&g->c, SONDE_TYPE_GAUGE);
	return sonde__bits_dbl(sonde__load_relaxed(&((sonde_gauge *)g)->c.gauge));
}
