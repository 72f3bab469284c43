/* lib/core/status.c - status names and messages, and the per-thread last error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/atomic.h"
#include "core/sonde-int.h"

const char *sonde_strerror(int status)
{
	switch (status) {
#define SONDE__STATUS_MSG(name, code, msg) \
	case code: return msg;
		SONDE_STATUS_MAP(SONDE__STATUS_MSG)
#undef SONDE__STATUS_MSG
	default: return "unknown status";
	}
}

const char *sonde_status_name(int status)
{
	switch (status) {
#define SONDE__STATUS_NAME(name, code, msg) \
	case code: return #name;
		SONDE_STATUS_MAP(SONDE__STATUS_NAME)
#undef SONDE__STATUS_NAME
	default: return "UNKNOWN";
	}
}

/* Not initial-exec: these are read only on error paths, and keeping the
 * static TLS block small lets a dlopen()ed libsonde.so (Python's ctypes)
 * find room for the hot-path words in lib/metrics/cells.c. */
#define SONDE_ERRMSG_MAX 256
static SONDE_TLS_DYNAMIC char last_msg[SONDE_ERRMSG_MAX];
static SONDE_TLS_DYNAMIC int last_status;

int sonde__fail(int status, const char *fmt, ...)
{
	va_list ap;
	char msg[SONDE_ERRMSG_MAX];
	int n, saved_errno = errno; /* vsnprintf may set it (EOVERFLOW, EILSEQ) */

	last_status = status;
	va_start(ap, fmt);
	/* Formatted aside, then copied: a caller may wrap the previous message
	 * (an argument sonde_last_error()), which must not be the buffer being
	 * written. vsnprintf never writes past the bound; a longer message is
	 * cut. */
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	memcpy(last_msg, msg, sizeof(msg));
	errno = saved_errno;
	return status;
}

const char *sonde_last_error(void)
{
	return last_msg;
}

int sonde_last_status(void)
{
	return last_status;
}
