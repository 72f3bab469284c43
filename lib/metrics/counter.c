/* lib/metrics/counter.c - counter hot path and reads. */
#include <math.h>

#include "metrics/metrics-int.h"

/* The frozen ABI facts of the inlined increment (metrics.h, SONDE__ABI_*):
 * a handle's first 4 bytes are its cell index, a cell is 8 bytes, a page
 * 512 cells, and a counter's run is its integer cell then its fraction. */
SONDE_STATIC_ASSERT(offsetof(sonde__child, cell) == SONDE__ABI_HANDLE_CELL_OFFSET,
                    "a handle's cell index is at its offset 0");
SONDE_STATIC_ASSERT(offsetof(sonde_counter, c) == 0, "a counter handle is its child");
SONDE_STATIC_ASSERT(sizeof(((sonde__child *)0)->cell) == sizeof(uint32_t),
                    "the cell index is 4 bytes");
SONDE_STATIC_ASSERT(sizeof(sonde__cell_t) == sizeof(uint64_t) &&
                            _Alignof(sonde__cell_t) == _Alignof(uint64_t),
                    "a cell is a plain 8-byte word to the inlined code");
SONDE_STATIC_ASSERT(SONDE_PAGE_CELLS == 512u && SONDE_PAGE_MASK == 511u, "512 cells a page");
SONDE_STATIC_ASSERT(SONDE__ABI_COUNTER_U64_CELL == 0 && SONDE__ABI_COUNTER_F64_CELL == 1,
                    "a counter's run: integer cell, then fraction cell");
SONDE_STATIC_ASSERT(sizeof(sonde__tls_npages) == sizeof(uint32_t) &&
                            sizeof(*sonde__tls_dir) == sizeof(uint64_t *),
                    "the exported thread-locals' types");

/* 2^53: below it an integral double converts to uint64_t exactly. */
#define EXACT_INT_LIMIT 9007199254740992.0

/* Parenthesized names: the header's inline macros must not expand here
 * (they do not under SONDE_BUILDING; this keeps it so). */
void(sonde_counter_inc)(sonde_counter *c)
{
	if (SONDE_UNLIKELY(!c))
		return;
	sonde__cell_add_u64(
	        sonde__cell(sonde__load_relaxed(&c->c.cell)) + SONDE__ABI_COUNTER_U64_CELL, 1);
}

void(sonde_counter_add_u64)(sonde_counter *c, uint64_t v)
{
	if (SONDE_UNLIKELY(!c))
		return;
	sonde__cell_add_u64(
	        sonde__cell(sonde__load_relaxed(&c->c.cell)) + SONDE__ABI_COUNTER_U64_CELL, v);
}

void sonde_counter_add(sonde_counter *c, double v)
{
	sonde__cell_t *cell;

	if (SONDE_UNLIKELY(!c))
		return;
	if (SONDE_UNLIKELY(!(v >= 0))) {
		if (isnan(v))
			sonde__self_count_counter_nan();
		else
			sonde__self_count_counter_negative();
		return;
	}
	cell = sonde__cell(sonde__load_relaxed(&c->c.cell));
	if (v < EXACT_INT_LIMIT && v == (double)(uint64_t)v)
		sonde__cell_add_u64(cell + SONDE__ABI_COUNTER_U64_CELL, (uint64_t)v);
	else
		sonde__cell_add_f64(cell + SONDE__ABI_COUNTER_F64_CELL, v);
}

double sonde__counter_value_locked(const sonde__child *c)
{
	uint32_t idx;

	idx = sonde__load_relaxed(&((sonde__child *)c)->cell);
	return (double)sonde__cells_sum_u64_locked(idx + SONDE__ABI_COUNTER_U64_CELL) +
	       sonde__cells_sum_f64_locked(idx + SONDE__ABI_COUNTER_F64_CELL);
}

double sonde_counter_value(const sonde_counter *c)
{
	double v;

	/* A removed child points at the trash run, which reads as 0. */
	if (!c)
		return 0;
	if (c->c.read_fn)
		return sonde__child_value(&c->c, SONDE_TYPE_COUNTER);
	sonde__cells_lock();
	v = sonde__counter_value_locked(&c->c);
	sonde__cells_unlock();
	return v;
}

double sonde__child_value(const sonde__child *c, sonde_metric_type t)
{
	double v;

	if (c->read_fn) {
		v = c->read_fn(c->read_arg);
		if (t == SONDE_TYPE_COUNTER && !(v >= 0)) {
			/* a counter cannot be NaN or negative (OpenMetrics forbids
			 * it): expose 0 and count the bad value */
			if (isnan(v))
				sonde__self_count_counter_nan();
			else
				sonde__self_count_counter_negative();
			v = 0;
		}
		return v;
	}
	if (t == SONDE_TYPE_GAUGE)
		return sonde__bits_dbl(sonde__load_relaxed(&((sonde__child *)c)->gauge));
	sonde__cells_lock();
	v = sonde__counter_value_locked(c);
	sonde__cells_unlock();
	return v;
}
