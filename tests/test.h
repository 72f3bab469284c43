/*
 * tests/test.h - sonde's own test runner: no framework.
 *
 *   TEST(name) { ASSERT_EQ_INT(1 + 1, 2); }
 *
 * Each test runs in a forked child with a timeout; a crash or a hang names
 * its test. `sonde-tests [filter]` runs the tests whose name contains filter.
 * The run ends with "N passed, N failed" and exits non-zero on failure.
 */
#ifndef SONDE_TEST_H
#define SONDE_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sonde_test_case {
	const char *name;
	const char *file;
	void (*fn)(void);
	int timeout_s;
	struct sonde_test_case *next;
} sonde_test_case;

void sonde_test_register(sonde_test_case *tc);
void sonde_test_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((noreturn, format(printf, 3, 4)));

#define TEST_TIMEOUT(name, secs)                                                          \
	static void test_##name(void);                                                    \
	__attribute__((constructor)) static void test_reg_##name(void)                    \
	{                                                                                 \
		static sonde_test_case tc = {#name, __FILE__, test_##name, (secs), NULL}; \
		sonde_test_register(&tc);                                                 \
	}                                                                                 \
	static void test_##name(void)
#define TEST(name) TEST_TIMEOUT(name, 30)

#define FAIL(...) sonde_test_fail(__FILE__, __LINE__, __VA_ARGS__)
#define ASSERT_TRUE(c)                               \
	do {                                         \
		if (!(c))                            \
			FAIL("ASSERT_TRUE(%s)", #c); \
	} while (0)
#define ASSERT_FALSE(c)                               \
	do {                                          \
		if (c)                                \
			FAIL("ASSERT_FALSE(%s)", #c); \
	} while (0)
#define ASSERT_EQ_INT(a, b)                                             \
	do {                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);     \
		if (a_ != b_)                                           \
			FAIL("%s == %s: %lld vs %lld", #a, #b, a_, b_); \
	} while (0)
#define ASSERT_EQ_U64(a, b)                                                        \
	do {                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                   \
		if (a_ != b_)                                                      \
			FAIL("%s == %s: %" PRIu64 " vs %" PRIu64, #a, #b, a_, b_); \
	} while (0)
#define ASSERT_EQ_DBL(a, b)                                               \
	do {                                                              \
		double a_ = (double)(a), b_ = (double)(b);                \
		if (!(a_ == b_ || (isnan(a_) && isnan(b_))))              \
			FAIL("%s == %s: %.17g vs %.17g", #a, #b, a_, b_); \
	} while (0)
#define ASSERT_NEAR(a, b, eps)                                                                    \
	do {                                                                                      \
		double a_ = (double)(a), b_ = (double)(b);                                        \
		if (!(fabs(a_ - b_) <= (eps)))                                                    \
			FAIL("%s ~= %s: %.17g vs %.17g (eps %g)", #a, #b, a_, b_, (double)(eps)); \
	} while (0)
#define ASSERT_STREQ(a, b)                                                        \
	do {                                                                      \
		const char *a_ = (a), *b_ = (b);                                  \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                            \
			FAIL("%s == %s:\n  got:  \"%s\"\n  want: \"%s\"", #a, #b, \
			     a_ ? a_ : "(null)", b_ ? b_ : "(null)");             \
	} while (0)
#define ASSERT_CONTAINS(hay, needle)                                              \
	do {                                                                      \
		const char *h_ = (hay), *n_ = (needle);                           \
		if (!h_ || !strstr(h_, n_))                                       \
			FAIL("\"%s\" not found in:\n%s", n_, h_ ? h_ : "(null)"); \
	} while (0)
#define ASSERT_NOT_CONTAINS(hay, needle)                                   \
	do {                                                               \
		const char *h_ = (hay), *n_ = (needle);                    \
		if (h_ && strstr(h_, n_))                                  \
			FAIL("\"%s\" unexpectedly found in:\n%s", n_, h_); \
	} while (0)
#define ASSERT_OK(rc)                                                                     \
	do {                                                                              \
		int rc_ = (rc);                                                           \
		if (rc_ != 0)                                                             \
			FAIL("%s returned %d (%s): %s", #rc, rc_, sonde_status_name(rc_), \
			     sonde_last_error());                                         \
	} while (0)
#define ASSERT_NULL(p)                              \
	do {                                        \
		if ((p) != NULL)                    \
			FAIL("%s is not NULL", #p); \
	} while (0)
#define ASSERT_NOT_NULL(p)                                              \
	do {                                                            \
		if ((p) == NULL)                                        \
			FAIL("%s is NULL: %s", #p, sonde_last_error()); \
	} while (0)

/* Helpers for tests that run outside tools. */
/* Runs argv (argv[0] looked up in PATH) with stdin from in_path (or
 * /dev/null), captures stdout+stderr into out (NUL-terminated, malloc'ed,
 * may be NULL). Returns the exit status, or -1 if it could not run, 127 if
 * not found. */
int sonde_test_run(const char *const argv[], const char *in_path, char **out);
/* Compiles src (a translation unit using the public headers) with c++
 * -std=c++17 -pedantic and with cc -std=c11, -Wall -Wextra -Werror each:
 * a failure fails the test with the compiler's output. */
void sonde_test_compiles_c_and_cxx(const char *src);

/* The whole file, NUL-terminated (free it); NULL when it cannot be read. */
char *sonde_test_read_file(const char *path);
/* How many times needle occurs in hay (non-overlapping). */
int sonde_test_count(const char *hay, const char *needle);
/* Writes len bytes to a fresh temporary file and returns its path
 * (static storage, one per call slot 0..7). */
const char *sonde_test_tmpfile(int slot, const char *data, size_t len);
bool sonde_test_have(const char *prog);
/* A loopback TCP port nobody listens on (bound, then closed). */
uint16_t sonde_test_dead_port(void);

#endif
