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

/* A counter child's two cells summed over the threads: the integer adds
 * (exact to 2^64) and the fractional ones. */
static inline void sonde__expose_counter_sums(const sonde__child *c, uint64_t *u, double *d)
{
	uint32_t idx;

	sonde__cells_lock();
	idx = sonde__load_relaxed(&((sonde__child *)c)->cell);
	*u = sonde__cells_sum_u64_locked(idx + SONDE__ABI_COUNTER_U64_CELL);
	*d = sonde__cells_sum_f64_locked(idx + SONDE__ABI_COUNTER_F64_CELL);
	sonde__cells_unlock();
}

#endif
