/* lib/core/clock.c - clocks and the library version. */
#include <time.h>

#include "core/sonde-int.h"

int64_t sonde_now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sonde_now_mono_ns(void)
{
	struct timespec ts;

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
