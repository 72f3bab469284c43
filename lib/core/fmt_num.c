/*
 * lib/core/fmt_num.c - numbers as exposition and logs print them.
 *
 * Doubles print in the shortest form that parses back to the same double,
 * laid out as Go's strconv.FormatFloat(v, 'g', -1, 64) does (the layout the
 * Prometheus ecosystem reads and writes): plain digits for decimal exponents
 * from -4 to 20, an exponent with at least two digits otherwise
 * ("1e-05", "1.5e+22"). Values that are integers below 2^53 print as
 * integers ("1000000", where Go would write "1e+06"): exact and easier to
 * read, and every parser accepts both. The OpenMetrics canonical form for
 * le/quantile follows Go exactly (exponent from 1e+06 on) plus ".0".
 *
 * The digits come from snprintf("%.*e") at 15, 16 and 17 significant
 * digits, keeping the first that round-trips through strtod: for a normal
 * double, a form of 15 or fewer digits that round-trips is the correctly
 * rounded 15-digit form padded with zeros (which we strip), so the first
 * hit is the shortest. Subnormals search from one digit up. Both run
 * in the "C" locale through uselocale(), so a host that calls setlocale()
 * cannot turn "0.5" into "0,5".
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/sonde-int.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t enter_c_locale(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale == (locale_t)0)
		return (locale_t)0;
	return uselocale(c_locale);
}

static void leave_c_locale(locale_t old)
{
	if (old != (locale_t)0)
		uselocale(old);
}

/* Two digits per division, from the right (the exposition prints a number
 * per sample: a digit per division was a fifth of a scrape). */
static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

size_t sonde__fmt_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t at = sizeof(tmp), n;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;
		v /= 100;
		at -= 2;
		tmp[at] = digit_pairs[d];
		tmp[at + 1] = digit_pairs[d + 1];
	}
	if (v >= 10) {
		at -= 2;
		tmp[at] = digit_pairs[v * 2];
		tmp[at + 1] = digit_pairs[v * 2 + 1];
	} else {
		tmp[--at] = (char)('0' + v);
	}
	n = sizeof(tmp) - at;
	memcpy(out, tmp + at, n);
	return n;
}

size_t sonde__fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + sonde__fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return sonde__fmt_u64(out, (uint64_t)v);
}

double sonde__parse_double(const char *s, size_t len, size_t *consumed)
{
	char tmp[64];
	char *end;
	double d;
	locale_t old;

	if (len >= sizeof(tmp)) {
		if (consumed)
			*consumed = 0;
		return 0;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	old = enter_c_locale();
	d = strtod(tmp, &end);
	leave_c_locale(old);
	if (consumed)
		*consumed = (size_t)(end - tmp);
	return d;
}

/* Shortest digits of finite, non-zero |v|: fills digits (no dot, no
 * trailing zeros) and returns their count; *exp10 is the decimal exponent
 * of the first digit. */
static int shortest_digits(double v, char *digits, int *exp10)
{
	char tmp[40];
	int prec, n = 0, i;
	char *e;

	/* Subnormals carry fewer than 53 bits, so a 15-digit form that
	 * round-trips may not be the shortest there: search from 1 digit. */
	for (prec = v < 2.2250738585072014e-308 ? 0 : 14; prec <= 16; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
		if (prec == 16 || strtod(tmp, NULL) == v)
			break;
	}
	/* tmp is "d.ddddde[+-]XX" (v > 0 here); a locale's decimal point could
	 * only differ if uselocale failed, so skip any non-digit. */
	for (i = 0; tmp[i] && tmp[i] != 'e'; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[n++] = tmp[i];
	e = &tmp[i];
	*exp10 = (int)strtol(e + 1, NULL, 10);
	while (n > 1 && digits[n - 1] == '0')
		n--;
	return n;
}

/* Go's 'g' layout of digits d[0..n) with first-digit exponent x;
 * exp_at: the exponent from which the e-form is used. */
static size_t layout(char *out, bool neg, const char *d, int n, int x, int exp_at)
{
	size_t o = 0;
	int i;

	if (neg)
		out[o++] = '-';
	if (x < -4 || x >= exp_at) {
		int ax = x < 0 ? -x : x;

		out[o++] = d[0];
		if (n > 1) {
			out[o++] = '.';
			for (i = 1; i < n; i++)
				out[o++] = d[i];
		}
		out[o++] = 'e';
		out[o++] = x < 0 ? '-' : '+';
		if (ax < 10)
			out[o++] = '0';
		o += sonde__fmt_u64(out + o, (uint64_t)ax);
		return o;
	}
	if (x < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < -x - 1; i++)
			out[o++] = '0';
		for (i = 0; i < n; i++)
			out[o++] = d[i];
		return o;
	}
	for (i = 0; i <= x || i < n; i++) {
		if (i == x + 1)
			out[o++] = '.';
		out[o++] = i < n ? d[i] : '0';
	}
	return o;
}

static size_t special(char *out, double v)
{
	if (isnan(v)) {
		memcpy(out, "NaN", 3);
		return 3;
	}
	if (v > 0) {
		memcpy(out, "+Inf", 4);
		return 4;
	}
	memcpy(out, "-Inf", 4);
	return 4;
}

static size_t fmt_general(char *out, double v, int exp_at)
{
	char digits[24];
	int n, x;
	locale_t old;

	old = enter_c_locale();
	n = shortest_digits(fabs(v), digits, &x);
	leave_c_locale(old);
	return layout(out, v < 0, digits, n, x, exp_at);
}

static const double pow10_tab[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* Fast path for doubles with a short exact decimal form (0.25, 12.5,
 * 1.001): finds the fewest fraction digits k whose nearest decimal
 * m / 10^k converts back to v. m and 10^k are exact doubles, so the
 * division is correctly rounded exactly like strtod of that decimal, and
 * the check proves the round trip. Limited to at most 15 significant
 * digits and 1e-4 <= |v| < 1e15, where sonde__fmt_double prints the same
 * digits (its first 15-digit hit, zeros stripped) in plain notation.
 * Returns 0 when it does not apply; the caller then uses fmt_num.
 * (The snprintf/strtod search below costs ~1 us; this ~10-50 ns when it
 * hits.) */
static size_t fast_double(char *out, double v)
{
	double a = v < 0 ? -v : v;
	int k;

	if (!(a >= 1e-4 && a < 1e15) || a == (double)(int64_t)a)
		return 0;
	for (k = 1; k <= 17; k++) {
		double p = a * pow10_tab[k], m;
		if (p >= 1e15)
			return 0;
		/* round half up (p >= 0): no libm */
		m = (double)(int64_t)(p + 0.5);
		if (m / pow10_tab[k] == a) {
			uint64_t im = (uint64_t)m, ip = im / (uint64_t)pow10_tab[k];
			uint64_t fp = im % (uint64_t)pow10_tab[k];
			size_t n = 0;
			char frac[20];
			int i;

			if (v < 0)
				out[n++] = '-';
			n += sonde__fmt_u64(out + n, ip);
			out[n++] = '.';
			for (i = k - 1; i >= 0; i--) {
				frac[i] = (char)('0' + fp % 10);
				fp /= 10;
			}
			while (k > 1 && frac[k - 1] == '0')
				k--;
			memcpy(out + n, frac, (size_t)k);
			return n + (size_t)k;
		}
	}
	return 0;
}

size_t sonde__fmt_double(char *out, double v)
{
	if (!isfinite(v))
		return special(out, v);
	if (v == 0) {
		/* -0 keeps its sign, as Go's strconv (client_golang) writes it */
		if (signbit(v)) {
			memcpy(out, "-0", 2);
			return 2;
		}
		out[0] = '0';
		return 1;
	}
	/* an integer below 2^53: the conversion is exact (no floor(): clang
	 * leaves it a libm call, and the library does not link libm) */
	if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v)
		return sonde__fmt_i64(out, (int64_t)v);
	{
		size_t n = fast_double(out, v);
		if (n)
			return n;
	}
	return fmt_general(out, v, 21);
}

size_t sonde__fmt_double_canonical(char *out, double v)
{
	size_t n, i;

	if (!isfinite(v))
		return special(out, v);
	if (v == 0) {
		memcpy(out, "0.0", 3);
		return 3;
	}
	n = fmt_general(out, v, 6);
	for (i = 0; i < n; i++)
		if (out[i] == '.' || out[i] == 'e')
			return n;
	out[n++] = '.';
	out[n++] = '0';
	return n;
}
