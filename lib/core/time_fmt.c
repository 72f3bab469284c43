/* lib/core/time_fmt.c - RFC 3339 timestamps in UTC, for log lines and
 * health bodies; gmtime_r, never the host's time zone or locale. */
#include <time.h>

#include "core/sonde-int.h"

static void put2(char *p, int v)
{
	v = v < 0 ? 0 : v % 100;
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void sonde__fmt_rfc3339_sec(char *out, int64_t unix_sec)
{
	struct tm tm;
	time_t t = (time_t)unix_sec;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	put2(out, (tm.tm_year + 1900) / 100);
	put2(out + 2, (tm.tm_year + 1900) % 100);
	out[4] = '-';
	put2(out + 5, tm.tm_mon + 1);
	out[7] = '-';
	put2(out + 8, tm.tm_mday);
	out[10] = 'T';
	put2(out + 11, tm.tm_hour);
	out[13] = ':';
	put2(out + 14, tm.tm_min);
	out[16] = ':';
	put2(out + 17, tm.tm_sec);
}

size_t sonde__fmt_rfc3339(char *out, int64_t unix_ns, int digits)
{
	/* floor division: -1 ns is 23:59:59.999999999 of 1969-12-31 */
	int64_t sec = unix_ns >= 0 ? unix_ns / 1000000000 : -((-(unix_ns + 1)) / 1000000000) - 1;
	int64_t frac = unix_ns - sec * 1000000000;
	int i;

	if (digits < 1)
		digits = 1;
	if (digits > 9)
		digits = 9;
	for (i = digits; i < 9; i++)
		frac /= 10;
	sonde__fmt_rfc3339_sec(out, sec);
	out[19] = '.';
	for (i = digits; i >= 1; i--) {
		out[19 + i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	out[20 + digits] = 'Z';
	return (size_t)(21 + digits);
}
