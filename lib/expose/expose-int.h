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

#endif
