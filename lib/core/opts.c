/* lib/core/opts.c - one rule for the size field of every options struct.
 *
 * A public options struct starts with `size_t size`, set by the caller to
 * the sizeof it was compiled with. Structs only grow at the end, so a
 * caller built against an older header passes a smaller size: the fields it
 * does not know read as zero, which every struct documents as "default".
 * A size below the struct's first published layout cannot be a sonde
 * struct (a forgotten size field, a wrong pointer) and is refused. A larger
 * size (a newer header) is accepted: the fields this library does not know
 * are not read. */
#include "core/sonde-int.h"

int sonde__opts_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                     const char *what)
{
	size_t in_size;

	if (!src)
		return sonde__fail(SONDE_EINVAL, "%s: options are NULL", what);
	memcpy(&in_size, src, sizeof(in_size));
	if (in_size < min_size)
		return sonde__fail(SONDE_EINVAL, "%s: options size is %zu, want at least %zu", what,
		                   in_size, min_size);
	memset(dst, 0, dst_size);
	memcpy(dst, src, in_size < dst_size ? in_size : dst_size);
	memcpy(dst, &dst_size, sizeof(dst_size)); /* the copy is current */
	return SONDE_OK;
}
