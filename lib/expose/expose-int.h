/* lib/expose/expose-int.h - the exposition's internals. */
#ifndef SONDE_EXPOSE_INT_H
#define SONDE_EXPOSE_INT_H

#include "metrics/metrics-int.h"

/* expose_text.c: every family of r in fmt into out (reset first), under
 * the registry's and each family's mutex. SONDE_ENOMEM. */
int sonde__expose_render(sonde_registry *r, sonde_format fmt, sonde_buf *out);
/* expose_pb.c: the same in the protobuf format. SONDE_ENOMEM. */
int sonde__expose_render_pb(sonde_registry *r, sonde_buf *out);

#ifdef SONDE_HAVE_ZLIB
/* gzip.c: in[0..n) gzipped (level 1) into out (reset first); n < 4 GiB.
 * SONDE_ENOMEM, SONDE_EIO. */
int sonde__gzip(const char *in, size_t n, sonde_buf *out);
#endif

/* The cells lock over runs of counter children: one lock and unlock for
 * up to SONDE__CELLS_RUN children instead of one pair per child (the
 * pairs were a tenth of a 10 000-series scrape). A run ends before a callback
 * child (its callback may read other metrics), before any other type's
 * child (they lock for themselves) and at the family's end; the lock is
 * let go between runs, so a thread making a child waits one run at most.
 * Start with {0}. */
#define SONDE__CELLS_RUN 64

typedef struct sonde__cells_run {
	uint32_t held; /* children summed since the lock was taken; 0: not held */
} sonde__cells_run;

static inline void sonde__cells_run_end(sonde__cells_run *run)
{
	if (run->held) {
		sonde__cells_unlock();
		run->held = 0;
	}
}

/* A counter child's two cells summed over the threads: the integer adds
 * (exact to 2^64) and the fractional ones. */
static inline void sonde__expose_counter_sums(sonde__cells_run *run, const sonde__child *c,
                                              uint64_t *u, double *d)
{
	uint32_t idx;

	if (run->held == SONDE__CELLS_RUN)
		sonde__cells_run_end(run);
	if (!run->held++)
		sonde__cells_lock();
	idx = sonde__load_relaxed(&((sonde__child *)c)->cell);
	*u = sonde__cells_sum_u64_locked(idx + SONDE__ABI_COUNTER_U64_CELL);
	*d = sonde__cells_sum_f64_locked(idx + SONDE__ABI_COUNTER_F64_CELL);
}

#endif
