/* lib/core/time_fmt.c - RFC 3339 timestamps in UTC, for log lines and
 * health bodies: plain arithmetic on the day count (the proleptic
 * Gregorian calendar), never the host's time zone or locale, and no libc
 * call, so the crash flush may use it in a signal handler (glibc's
 * gmtime_r takes the time-zone lock). */

#include "core/sonde-int.h"

static void put2(char *p, int v)
{
	v = v < 0 ? 0 : v % 100;
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/* Days since 1970-01-01 to a civil date: eras of 400 years (146097
 * days) starting on March 1st, so the leap day ends a year. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468; /* from 1970-01-01 to 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;                                      /* 0..146096 */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
	mp = (5 * doy + 2) / 153;                                    /* 0..11, March first */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define SEC_MIN (-62167219200ll)
#define SEC_MAX 253402300799ll

void sonde__fmt_rfc3339_sec(char *out, int64_t unix_sec)
{
	int64_t days, rem, y;
	int m, d;

	if (unix_sec < SEC_MIN || unix_sec > SEC_MAX)
		unix_sec = 0; /* out of RFC 3339's four-digit years: the epoch */
	days = unix_sec >= 0 ? unix_sec / 86400 : (unix_sec - 86399) / 86400;
	rem = unix_sec - days * 86400;
	civil_from_days(days, &y, &m, &d);
	put2(out, (int)(y / 100));
	put2(out + 2, (int)(y % 100));
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, (int)(rem / 3600));
	out[13] = ':';
	put2(out + 14, (int)(rem / 60 % 60));
	out[16] = ':';
	put2(out + 17, (int)(rem % 60));
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
