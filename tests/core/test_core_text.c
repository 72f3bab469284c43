/* tests/core/test_core_text.c - core's shared text helpers: RFC 3339 time, hex,
 * the label-pair renderer, ASCII case folding. */
#include <time.h>

#include "core/sonde-int.h"
#include "test.h"

static void rfc(int64_t ns, int digits, const char *want)
{
	char out[SONDE_RFC3339_MAX];
	size_t n = sonde__fmt_rfc3339(out, ns, digits);

	out[n] = '\0';
	if (strcmp(out, want) != 0)
		FAIL("rfc3339(%" PRId64 ", %d): \"%s\", want \"%s\"", ns, digits, out, want);
}

TEST(core_rfc3339_known_instants)
{
	rfc(0, 3, "1970-01-01T00:00:00.000Z");
	rfc(1764533370123456789LL, 3, "2025-11-30T20:09:30.123Z");
	rfc(1764533370123456789LL, 6, "2025-11-30T20:09:30.123456Z");
	rfc(1764533370123456789LL, 9, "2025-11-30T20:09:30.123456789Z");
	/* a leap day, and the last nanosecond of a year */
	rfc(951782400000000000LL, 3, "2000-02-29T00:00:00.000Z");
	rfc(1704067199999999999LL, 6, "2023-12-31T23:59:59.999999Z");
	/* before 1970: floored, the fraction never negative */
	rfc(-1, 9, "1969-12-31T23:59:59.999999999Z");
	rfc(-1500000000LL, 3, "1969-12-31T23:59:58.500Z");
	/* digits are clamped to 1..9 */
	rfc(1500000000LL, 0, "1970-01-01T00:00:01.5Z");
	rfc(1500000000LL, 12, "1970-01-01T00:00:01.500000000Z");
}

TEST(core_rfc3339_out_of_range_is_the_epoch)
{
	char out[19];

	/* year 10000 does not fit four digits */
	sonde__fmt_rfc3339_sec(out, 253402300800LL);
	ASSERT_TRUE(memcmp(out, "1970-01-01T00:00:00", 19) == 0);
	sonde__fmt_rfc3339_sec(out, 253402300799LL);
	ASSERT_TRUE(memcmp(out, "9999-12-31T23:59:59", 19) == 0);
}

/* the day arithmetic agrees with libc's gmtime_r over years 0..9999 */
TEST(core_rfc3339_agrees_with_gmtime)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int i;

	for (i = 0; i < 200000; i++) {
		int64_t sec;
		time_t t;
		struct tm tm;
		char out[20], want[64];

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sec = -62167219200LL + (int64_t)(x % (253402300799ULL + 62167219200ULL + 1));
		if (i < 4) /* the ends of the range and the days around the epoch */
			sec = (int64_t[]){-62167219200LL, 253402300799LL, -86401, 86399}[i];
		t = (time_t)sec;
		ASSERT_NOT_NULL(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		sonde__fmt_rfc3339_sec(out, sec);
		out[19] = '\0';
		if (strcmp(out, want) != 0)
			FAIL("second %" PRId64 ": %s, gmtime_r says %s", sec, out, want);
	}
}

TEST(core_hex_round_trip)
{
	uint8_t b[256];
	char h[513];
	int i;

	for (i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	sonde__hex_put(h, b, 256);
	h[512] = '\0';
	for (i = 0; i < 256; i++) {
		char want[3];
		snprintf(want, sizeof(want), "%02x", i);
		ASSERT_TRUE(memcmp(h + 2 * i, want, 2) == 0);
		ASSERT_EQ_INT(sonde__hex_val[(unsigned char)h[2 * i]] << 4 |
		                      sonde__hex_val[(unsigned char)h[2 * i + 1]],
		              i);
	}
	for (i = 0; i < 256; i++) {
		bool digit = (i >= '0' && i <= '9') || (i >= 'a' && i <= 'f');
		ASSERT_EQ_INT(sonde__hex_val[i] != 0xff, digit);
	}
	ASSERT_EQ_INT(sonde__hex_digits[15], 'f');
}

TEST(core_label_pairs_escape_and_join)
{
	static const char *const names[] = {"a", "b", "c"};
	const char *values[] = {"x\"y", "line\nbreak\\", "\xff"};
	size_t lens[] = {3, 11, 1};
	sonde_buf b = SONDE_BUF_INIT;

	sonde__put_label_pairs(&b, names, values, lens, 3);
	sonde__buf_terminate(&b);
	ASSERT_FALSE(b.oom);
	ASSERT_TRUE(strcmp(b.data, "a=\"x\\\"y\",b=\"line\\nbreak\\\\\",c=\"\xef\xbf\xbd\"") == 0);
	sonde_buf_reset(&b);
	sonde__put_label_pairs(&b, names, values, NULL, 1);
	sonde__buf_terminate(&b);
	ASSERT_TRUE(strcmp(b.data, "a=\"x\\\"y\"") == 0);
	sonde_buf_destroy(&b);
}

TEST(core_ascii_lower_ignores_locale)
{
	int c;

	for (c = 0; c < 256; c++) {
		char want = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		ASSERT_EQ_INT(sonde__ascii_lower((char)c), want);
	}
}
