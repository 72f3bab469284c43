/* lib/core/clock.c - clocks and the library version.
 *
 * errno: clock_gettime sets it only when it fails, and with these clock
 * ids and a valid pointer it cannot fail (its errors are EFAULT, EINVAL
 * for an unknown clock and EPERM/ENOTSUP for setting or CPU clocks), so
 * these hot-ish paths (every span start and end) need not save it. */
#include <time.h>

#include "core/sonde-int.h"

int64_t sonde_now_unix_ns(void)
{
	struct timespec ts = {0, 0};

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sonde_now_mono_ns(void)
{
	struct timespec ts = {0, 0};

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

unsigned sonde_version_hex(void)
{
	return SONDE_VERSION_HEX;
}

const char *sonde_version(void)
{
	return SONDE_VERSION_STRING;
}
