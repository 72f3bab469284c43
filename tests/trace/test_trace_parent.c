/* tests/trace/test_trace_parent.c - traceparent parse/format (W3C Trace Context
 * Level 1 + Level 2 random flag), ids, the ratio sampler. Every parser
 * input is copied into a malloc'd buffer of exactly its length, so ASan
 * catches any read past len. */
#include <pthread.h>

#include "sonde.h"
#include "sonde/trace.h"
#include "test.h"

#define TP_OK "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static int parse_exact(const char *s, sonde_traceparent *tp)
{
	size_t n = strlen(s);
	char *b = malloc(n ? n : 1);
	int rc;
	memcpy(b, s, n);
	rc = sonde_traceparent_parse(b, n, tp);
	free(b);
	return rc;
}

TEST(trace_parent_valid_roundtrip)
{
	sonde_traceparent tp;
	char out[SONDE_TRACEPARENT_BUFSZ];

	ASSERT_OK(parse_exact(TP_OK, &tp));
	ASSERT_EQ_INT(tp.version, 0);
	ASSERT_EQ_INT(tp.flags, 1);
	ASSERT_EQ_INT(tp.trace_id[0], 0x0a);
	ASSERT_EQ_INT(tp.trace_id[15], 0x9c);
	ASSERT_EQ_INT(tp.parent_id[0], 0xb7);
	ASSERT_EQ_INT(tp.parent_id[7], 0x31);
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, sizeof(out)), 55);
	ASSERT_STREQ(out, TP_OK);
	/* flags 00, 02 (random, Level 2), 03 */
	ASSERT_OK(parse_exact("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02", &tp));
	ASSERT_EQ_INT(tp.flags, SONDE_TRACE_FLAG_RANDOM);
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, sizeof(out)), 55);
	ASSERT_STREQ(out, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02");
	ASSERT_OK(parse_exact("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", &tp));
	ASSERT_EQ_INT(tp.flags, 0);
}

TEST(trace_parent_reserved_flags_zeroed_on_format)
{
	sonde_traceparent tp;
	char out[SONDE_TRACEPARENT_BUFSZ];

	/* unknown bits are accepted on input and sent as 0 */
	ASSERT_OK(parse_exact("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff", &tp));
	ASSERT_EQ_INT(tp.flags, 0xff);
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, sizeof(out)), 55);
	ASSERT_STREQ(out, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
	ASSERT_OK(parse_exact("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09", &tp));
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, sizeof(out)), 55);
	ASSERT_STREQ(out + 53, "01");
}

TEST(trace_parent_invalid_cases)
{
	static const char *const bad[] = {
	        "",
	        "00",
	        /* uppercase hex anywhere */
	        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319C-b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319c-B7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
	        "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        /* version ff, bad version */
	        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        ".0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        "000-af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        /* all-zero ids */
	        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
	        /* trace id too long / short / illegal */
	        "00-0af7651916cd43dd8448eb211c80319c1-b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319.-b7ad6b7169203331-01",
	        /* parent id too long / short / illegal */
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033311-01",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
	        "00-0af7651916cd43dd8448eb211c80319c-.7ad6b7169203331-01",
	        /* flags too long / short / illegal */
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-001",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-.0",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0.",
	        /* version 00 with anything after it */
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more",
	        /* separators */
	        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
	        /* whitespace is the caller's to strip */
	        " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 ",
	        /* higher version: shorter than 55, or no '-' after flags */
	        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
	        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
	        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.what-the-future-will-be-like",
	        "01-00000000000000000000000000000000-b7ad6b7169203331-01-x",
	        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0G-x",
	};
	sonde_traceparent tp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&tp, 0x55, sizeof(tp));
		if (parse_exact(bad[i], &tp) != SONDE_EINVAL)
			FAIL("accepted invalid traceparent \"%s\"", bad[i]);
		ASSERT_EQ_INT(tp.trace_id[0], 0); /* zeroed on failure */
		ASSERT_TRUE(sonde_last_error()[0] != '\0');
	}
	ASSERT_EQ_INT(sonde_traceparent_parse(TP_OK, 55, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_traceparent_parse(NULL, 0, &tp), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_traceparent_parse(NULL, 55, &tp), SONDE_EINVAL);
}

TEST(trace_parent_higher_version)
{
	sonde_traceparent tp;
	char out[SONDE_TRACEPARENT_BUFSZ];

	/* exactly 55, then with a future field: the known prefix is read */
	ASSERT_OK(parse_exact("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &tp));
	ASSERT_EQ_INT(tp.version, 1);
	ASSERT_OK(parse_exact(
	        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-will-be-like",
	        &tp));
	ASSERT_EQ_INT(tp.version, 0xcc);
	ASSERT_EQ_INT(tp.flags, 1);
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, sizeof(out)), 55);
	ASSERT_STREQ(out, TP_OK); /* re-emitted as version 00 */
	ASSERT_OK(parse_exact("fe-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02-", &tp));
	ASSERT_EQ_INT(tp.flags, 2);
}

TEST(trace_parent_format_errors)
{
	sonde_traceparent tp;
	char out[64];

	memset(&tp, 0, sizeof(tp));
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, sizeof(out)), 0); /* zero ids */
	ASSERT_OK(parse_exact(TP_OK, &tp));
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, 54), 0);
	ASSERT_EQ_INT(sonde_traceparent_format(NULL, out, sizeof(out)), 0);
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, NULL, 64), 0);
	/* cap 55: no NUL written, byte 55 untouched */
	memset(out, 'X', sizeof(out));
	ASSERT_EQ_INT(sonde_traceparent_format(&tp, out, 55), 55);
	ASSERT_EQ_INT(out[55], 'X');
	ASSERT_TRUE(memcmp(out, TP_OK, 55) == 0);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

TEST(trace_parent_random_parse_format_parse)
{
	static const char alphabet[] = "0123456789abcdefABCDEF-x ";
	sonde_traceparent a, b;
	char out[SONDE_TRACEPARENT_BUFSZ], in[80];

	for (int i = 0; i < 20000; i++) {
		/* valid ids */
		for (int k = 0; k < 16; k++)
			a.trace_id[k] = (uint8_t)rnd();
		for (int k = 0; k < 8; k++)
			a.parent_id[k] = (uint8_t)rnd();
		a.trace_id[rnd() % 16] |= 1;
		a.parent_id[rnd() % 8] |= 1;
		a.flags = (uint8_t)rnd();
		a.version = 0;
		ASSERT_EQ_INT(sonde_traceparent_format(&a, out, sizeof(out)), 55);
		ASSERT_OK(parse_exact(out, &b));
		ASSERT_TRUE(memcmp(a.trace_id, b.trace_id, 16) == 0);
		ASSERT_TRUE(memcmp(a.parent_id, b.parent_id, 8) == 0);
		ASSERT_EQ_INT(b.flags, a.flags & 3);
		/* mutate one character: accepted only if still lowercase hex in
		 * a hex position (and the ids stay non-zero) */
		{
			size_t pos = rnd() % 55;
			char c = alphabet[rnd() % (sizeof(alphabet) - 1)];
			bool sep = pos == 2 || pos == 35 || pos == 52;
			bool lowerhex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
			int rc;
			memcpy(in, out, 56);
			in[pos] = c;
			rc = parse_exact(in, &b);
			if (sep)
				ASSERT_EQ_INT(rc, c == '-' ? SONDE_OK : SONDE_EINVAL);
			else if (lowerhex && !(in[0] == 'f' && in[1] == 'f'))
				ASSERT_OK(rc); /* ids stay non-zero: 2^-100 odds */
			else
				ASSERT_EQ_INT(rc, SONDE_EINVAL);
		}
		/* random garbage of random length never crashes or over-reads */
		{
			size_t n = rnd() % 70;
			for (size_t k = 0; k < n; k++)
				in[k] = alphabet[rnd() % (sizeof(alphabet) - 1)];
			in[n] = '\0';
			(void)parse_exact(in, &b);
		}
	}
}

TEST(trace_parent_from_context)
{
	sonde_span_context ctx;
	char out[SONDE_TRACEPARENT_BUFSZ];

	memset(&ctx, 0, sizeof(ctx));
	ASSERT_EQ_INT(sonde_span_context_format_traceparent(&ctx, out, sizeof(out)), 0);
	ctx.trace_id[15] = 1;
	ASSERT_EQ_INT(sonde_span_context_format_traceparent(&ctx, out, sizeof(out)), 0);
	ctx.span_id[0] = 0xab;
	ctx.trace_flags = 0x83;
	ASSERT_EQ_INT(sonde_span_context_format_traceparent(&ctx, out, sizeof(out)), 55);
	ASSERT_STREQ(out, "00-00000000000000000000000000000001-ab00000000000000-03");
}

/* ---- ids ------------------------------------------------------------------ */

TEST(trace_ids_hex_and_nonzero)
{
	uint8_t t[16], s[8];
	char hex[33];

	for (int i = 0; i < 100000; i++) {
		sonde_trace_id_generate(t);
		sonde_span_id_generate(s);
		ASSERT_TRUE(memcmp(t, (uint8_t[16]){0}, 16) != 0);
		ASSERT_TRUE(memcmp(s, (uint8_t[8]){0}, 8) != 0);
	}
	ASSERT_EQ_INT(sonde_id_to_hex((const uint8_t *)"\x01\xab\xff", 3, hex), 6);
	ASSERT_STREQ(hex, "01abff");
	ASSERT_EQ_INT(sonde_id_to_hex(NULL, 3, hex), 0);
	sonde_trace_id_generate(NULL); /* no-op */
	sonde_span_id_generate(NULL);
}

TEST(trace_ids_bits_look_uniform)
{
	/* each of the 128 bit positions is set in about half of the ids:
	 * n = 20000, sd = 70.7; 6 sd is 424 */
	int ones[128] = {0};
	uint8_t t[16];
	for (int i = 0; i < 20000; i++) {
		sonde_trace_id_generate(t);
		for (int b = 0; b < 128; b++)
			ones[b] += (t[b / 8] >> (b % 8)) & 1;
	}
	for (int b = 0; b < 128; b++)
		if (ones[b] < 10000 - 424 || ones[b] > 10000 + 424)
			FAIL("bit %d set %d times of 20000", b, ones[b]);
}

#define IDS_PER_THREAD 50000
#define ID_THREADS 4
static uint8_t thread_ids[ID_THREADS][IDS_PER_THREAD][8];

static void *gen_ids(void *arg)
{
	uint8_t(*out)[8] = arg;
	for (int i = 0; i < IDS_PER_THREAD; i++)
		sonde_span_id_generate(out[i]);
	return NULL;
}

static int cmp8(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

TEST(trace_ids_unique_across_threads)
{
	pthread_t th[ID_THREADS];
	uint8_t(*all)[8] = &thread_ids[0][0];
	size_t n = (size_t)ID_THREADS * IDS_PER_THREAD;

	for (int i = 0; i < ID_THREADS; i++)
		pthread_create(&th[i], NULL, gen_ids, thread_ids[i]);
	for (int i = 0; i < ID_THREADS; i++)
		pthread_join(th[i], NULL);
	qsort(all, n, 8, cmp8);
	for (size_t i = 1; i < n; i++)
		if (memcmp(all[i - 1], all[i], 8) == 0)
			FAIL("duplicate span id at %zu of %zu", i, n);
}

#include <sys/wait.h>
#include <unistd.h>

TEST(trace_ids_differ_after_fork)
{
	uint8_t mine[16], theirs[16];
	int fd[2];
	pid_t pid;
	int st;

	sonde_trace_id_generate(mine); /* seed this thread first */
	ASSERT_EQ_INT(pipe(fd), 0);
	pid = fork();
	if (pid == 0) {
		sonde_trace_id_generate(theirs);
		if (write(fd[1], theirs, 16) != 16)
			_exit(1);
		_exit(0);
	}
	sonde_trace_id_generate(mine);
	ASSERT_EQ_INT(read(fd[0], theirs, 16), 16);
	waitpid(pid, &st, 0);
	ASSERT_TRUE(memcmp(mine, theirs, 16) != 0);
}

/* ---- sampler ---------------------------------------------------------------- */

TEST(trace_sampler_ratio_matches_otel_algorithm)
{
	uint8_t id[16] = {0};

	/* x = BE(id[8..16]) >> 1 compared with ratio * 2^63 */
	ASSERT_FALSE(sonde_trace_id_ratio_sample(id, 0.0));
	ASSERT_TRUE(sonde_trace_id_ratio_sample(id, 1.0));
	ASSERT_TRUE(sonde_trace_id_ratio_sample(id, 1e-9)); /* x = 0 < bound */
	ASSERT_FALSE(sonde_trace_id_ratio_sample(id, -1));
	ASSERT_FALSE(sonde_trace_id_ratio_sample(id, NAN));
	ASSERT_FALSE(sonde_trace_id_ratio_sample(NULL, 1));
	/* ratio 0.5: bound 2^62. x = 2^62 - 1 samples, x = 2^62 does not */
	memcpy(id + 8, "\x7f\xff\xff\xff\xff\xff\xff\xfe", 8); /* >>1 = 2^62 - 1 */
	ASSERT_TRUE(sonde_trace_id_ratio_sample(id, 0.5));
	memcpy(id + 8, "\x80\x00\x00\x00\x00\x00\x00\x00", 8); /* >>1 = 2^62 */
	ASSERT_FALSE(sonde_trace_id_ratio_sample(id, 0.5));
	/* the first 8 bytes do not matter */
	memset(id, 0xff, 8);
	ASSERT_FALSE(sonde_trace_id_ratio_sample(id, 0.5));
	memcpy(id + 8, "\x00\x00\x00\x00\x00\x00\x00\x01", 8);
	ASSERT_TRUE(sonde_trace_id_ratio_sample(id, 0.5));
	/* byte order: big-endian, so the last byte is least significant */
	memcpy(id + 8, "\x01\x00\x00\x00\x00\x00\x00\x00", 8);    /* x = 2^55 */
	ASSERT_FALSE(sonde_trace_id_ratio_sample(id, 1.0 / 512)); /* bound 2^54 */
	ASSERT_TRUE(sonde_trace_id_ratio_sample(id, 1.0 / 128));  /* bound 2^56 */
}

TEST(trace_sampler_ratio_statistical)
{
	static const double ratios[] = {0.01, 0.1, 0.25, 0.5, 0.9};
	uint8_t id[16];
	const int n = 100000;

	for (size_t r = 0; r < sizeof(ratios) / sizeof(ratios[0]); r++) {
		int hits = 0;
		double p = ratios[r], sd = sqrt(n * p * (1 - p));
		for (int i = 0; i < n; i++) {
			sonde_trace_id_generate(id);
			hits += sonde_trace_id_ratio_sample(id, p);
		}
		/* 5 standard deviations */
		if (fabs(hits - n * p) > 5 * sd)
			FAIL("ratio %g: %d of %d sampled (sd %.1f)", p, hits, n, sd);
	}
}
