/* tests/core/test_pb.c - the protobuf writer (lib/core/pb.c) against Google's
 * protobuf: messages of every wire shape, written by the writer into a
 * length-delimited stream and, independently, as protobuf text format;
 * tests/tools/check_pb.py decodes the stream with the protoc-compiled
 * tests/tools/pb_test.proto and requires equal messages and canonical
 * bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/atomic.h"
#include "core/pb.h"
#include "test.h"

/* xorshift64*: deterministic values for the random part. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* Text format string: every byte that is not alphanumeric as \ooo. */
static void text_str(FILE *t, const char *s, size_t n)
{
	size_t i;

	fputc('"', t);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			fputc(c, t);
		else
			fprintf(t, "\\%03o", c);
	}
	fputc('"', t);
}

static void text_dbl(FILE *t, double v)
{
	if (isnan(v))
		fputs("nan", t);
	else if (isinf(v))
		fputs(v > 0 ? "inf" : "-inf", t);
	else
		fprintf(t, "%.17g", v);
}

static const int64_t edge_i64[] = {0,
                                   1,
                                   -1,
                                   63,
                                   64,
                                   127,
                                   128,
                                   -64,
                                   -65,
                                   16383,
                                   16384,
                                   INT32_MAX,
                                   INT32_MIN,
                                   INT64_MAX,
                                   INT64_MIN,
                                   (int64_t)1 << 35,
                                   -((int64_t)1 << 35)};
static const double edge_dbl[] = {
        0.0,      -0.0,      1.5, -2.25,        1e308, 5e-324, 2.2250738585072014e-308,
        INFINITY, -INFINITY, 0.1, 123456789.125};

static int64_t pick_i64(void)
{
	uint64_t r = rnd();
	if (r % 3 == 0)
		return edge_i64[(r >> 8) % SONDE_ARRAY_LEN(edge_i64)];
	return (int64_t)(rnd() >> (r % 64));
}

static double pick_dbl(void)
{
	uint64_t r = rnd();
	double d;

	if (r % 3 == 0)
		return edge_dbl[(r >> 8) % SONDE_ARRAY_LEN(edge_dbl)];
	do
		d = sonde__bits_dbl(rnd());
	while (isnan(d));
	return d;
}

/* a string of n bytes: ASCII, spaces, quotes and a two-byte UTF-8 char */
static size_t make_str(char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t r = rnd() % 70;
		if (r < 62)
			s[i++] =
			        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r];
		else if (r < 66)
			s[i++] = " \"\\\n"[r - 62];
		else if (i + 2 <= n) {
			s[i++] = (char)0xc3; /* é */
			s[i++] = (char)0xa9;
		} else
			s[i++] = '.';
	}
	return n;
}

static char big[70000];

static void write_inner(sonde_buf *b, FILE *t, int depth, bool huge)
{
	size_t n = huge ? 20000 + rnd() % 50000 : rnd() % 40, k, i;
	int64_t z = pick_i64();

	make_str(big, n);
	sonde__pb_bytes(b, 1, big, n);
	fputs("s: ", t);
	text_str(t, big, n);
	k = depth < 3 ? rnd() % 3 : 0;
	for (i = 0; i < k; i++) {
		size_t m = sonde__pb_begin(b, 2);
		fputs(" child { ", t);
		write_inner(b, t, depth + 1, false);
		fputs(" }", t);
		sonde__pb_end(b, m);
	}
	sonde__pb_sint64(b, 3, z);
	fprintf(t, " z: %lld", (long long)z);
}

/* One All message with every field present or absent at random, fields in
 * number order (as Google writes them). */
static void write_all(sonde_buf *b, FILE *t, int msg)
{
	int64_t v;
	uint64_t u;
	double d;
	size_t m, n, i;

	/* proto2 optional fields: each present with probability 3/4 */
#define PRESENT() (msg == 0 || rnd() % 4 != 0)
	if (PRESENT()) {
		v = (int32_t)pick_i64();
		sonde__pb_int64(b, 1, v);
		fprintf(t, "i32: %lld\n", (long long)v);
	}
	if (PRESENT()) {
		v = pick_i64();
		sonde__pb_int64(b, 2, v);
		fprintf(t, "i64: %lld\n", (long long)v);
	}
	if (PRESENT()) {
		u = (uint32_t)rnd();
		sonde__pb_uint64(b, 3, u);
		fprintf(t, "u32: %llu\n", (unsigned long long)u);
	}
	if (PRESENT()) {
		u = msg == 1 ? UINT64_MAX : (uint64_t)pick_i64();
		sonde__pb_uint64(b, 4, u);
		fprintf(t, "u64: %llu\n", (unsigned long long)u);
	}
	if (PRESENT()) {
		v = msg == 1 ? INT32_MIN : (int32_t)pick_i64();
		sonde__pb_sint64(b, 5, v);
		fprintf(t, "s32: %lld\n", (long long)v);
	}
	if (PRESENT()) {
		v = msg == 1 ? INT64_MIN : pick_i64();
		sonde__pb_sint64(b, 6, v);
		fprintf(t, "s64: %lld\n", (long long)v);
	}
	if (PRESENT()) {
		bool x = rnd() & 1;
		sonde__pb_bool(b, 7, x);
		fprintf(t, "b: %s\n", x ? "true" : "false");
	}
	if (PRESENT()) {
		static const int64_t kinds[] = {0, 1, -2};
		static const char *const names[] = {"KIND_ZERO", "KIND_ONE", "KIND_NEG"};
		i = rnd() % 3;
		sonde__pb_int64(b, 8, kinds[i]);
		fprintf(t, "e: %s\n", names[i]);
	}
	if (PRESENT()) {
		u = (uint64_t)pick_i64();
		sonde__pb_fixed64(b, 9, u);
		fprintf(t, "f64: %llu\n", (unsigned long long)u);
	}
	if (PRESENT()) {
		v = pick_i64();
		sonde__pb_fixed64(b, 10, (uint64_t)v);
		fprintf(t, "sf64: %lld\n", (long long)v);
	}
	if (PRESENT()) {
		d = pick_dbl();
		sonde__pb_double(b, 11, d);
		fputs("d: ", t);
		text_dbl(t, d);
		fputc('\n', t);
	}
	if (PRESENT()) {
		u = (uint32_t)rnd();
		sonde__pb_fixed32(b, 12, (uint32_t)u);
		fprintf(t, "f32: %llu\n", (unsigned long long)u);
	}
	if (PRESENT()) {
		float f = (float)(rnd() % 2000000) / 64.0f - 10000.0f;
		sonde__pb_float(b, 13, f);
		fprintf(t, "fl: %.9g\n", (double)f);
	}
	if (PRESENT()) {
		/* lengths around the one-byte varint limit */
		n = msg < 4 ? (size_t)(126 + msg) : rnd() % 300;
		make_str(big, n);
		sonde__pb_bytes(b, 14, big, n);
		fputs("str: ", t);
		text_str(t, big, n);
		fputc('\n', t);
	}
	if (PRESENT()) {
		char raw[300];
		n = rnd() % sizeof(raw);
		for (i = 0; i < n; i++)
			raw[i] = (char)rnd();
		sonde__pb_bytes(b, 15, raw, n);
		fputs("by: ", t);
		text_str(t, raw, n);
		fputc('\n', t);
	}
	if (PRESENT()) {
		m = sonde__pb_begin(b, 16);
		fputs("inner { ", t);
		write_inner(b, t, 0, msg % 5 == 2);
		fputs(" }\n", t);
		sonde__pb_end(b, m);
	}
	/* packed: empty lists are left out, as Google does */
	n = rnd() % 4 == 0 ? 0 : rnd() % 60;
	m = sonde__pb_begin(b, 17);
	for (i = 0; i < n; i++) {
		v = pick_i64();
		sonde__pb_put_sint64(b, v);
		fprintf(t, "packed_s64: %lld\n", (long long)v);
	}
	sonde__pb_end_drop_empty(b, m);
	n = rnd() % 4 == 0 ? 0 : rnd() % 30;
	m = sonde__pb_begin(b, 18);
	for (i = 0; i < n; i++) {
		d = pick_dbl();
		sonde__pb_put_double(b, d);
		fputs("packed_d: ", t);
		text_dbl(t, d);
		fputc('\n', t);
	}
	sonde__pb_end_drop_empty(b, m);
	n = rnd() % 4;
	for (i = 0; i < n; i++) {
		m = sonde__pb_begin(b, 19);
		if (i == 0) {
			fputs("items {}\n", t); /* present and empty */
		} else {
			fputs("items { ", t);
			write_inner(b, t, 1, false);
			fputs(" }\n", t);
		}
		sonde__pb_end(b, m);
	}
	if (PRESENT()) {
		int32_t x = (int32_t)rnd();
		sonde__pb_fixed32(b, 20, (uint32_t)x);
		fprintf(t, "sf32: %d\n", x);
	}
	if (PRESENT()) {
		u = rnd();
		sonde__pb_uint64(b, SONDE_PB_FIELD_MAX, u);
		fprintf(t, "high: %llu\n", (unsigned long long)u);
	}
#undef PRESENT
}

TEST(pb_writer_decodes_with_google_protobuf)
{
	sonde_buf b = SONDE_BUF_INIT;
	char *text = NULL, *out = NULL;
	size_t text_len = 0;
	FILE *t = open_memstream(&text, &text_len);
	const char *argv[] = {SONDE_PYTHON,
	                      SONDE_SRC_DIR "/tests/tools/check_pb.py",
	                      SONDE_SRC_DIR "/tests/tools/pb_test.proto",
	                      "All",
	                      NULL,
	                      NULL,
	                      NULL};
	int i, rc;

	if (!sonde_test_have("protoc"))
		FAIL("protoc not found: apt-get install protobuf-compiler python3-protobuf");
	for (i = 0; i < 200; i++) {
		size_t mark = sonde__pb_delim_begin(&b);
		if (i)
			fputs("\n---\n", t);
		if (i != 3) /* message 3 is empty: a zero length, nothing else */
			write_all(&b, t, i);
		sonde__pb_delim_end(&b, mark);
	}
	fclose(t);
	ASSERT_FALSE(b.oom);
	argv[4] = sonde_test_tmpfile(0, b.data, b.len);
	argv[5] = sonde_test_tmpfile(1, text, text_len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("check_pb.py exit %d:\n%.4000s", rc, out);
	ASSERT_CONTAINS(out, "200 messages ok");
	free(out);
	free(text);
	sonde_buf_destroy(&b);
}

TEST(pb_varint_and_zigzag_bytes)
{
	sonde_buf b = SONDE_BUF_INIT;

	/* the spec's own examples: 150 is 96 01; zigzag -1 -> 1, 1 -> 2,
	 * INT64_MIN -> 2^64 - 1 */
	sonde__pb_uint64(&b, 1, 150);
	ASSERT_EQ_INT((int)b.len, 3);
	ASSERT_TRUE(memcmp(b.data, "\x08\x96\x01", 3) == 0);
	ASSERT_EQ_U64(sonde__pb_zigzag64(-1), 1);
	ASSERT_EQ_U64(sonde__pb_zigzag64(1), 2);
	ASSERT_EQ_U64(sonde__pb_zigzag64(INT64_MIN), UINT64_MAX);
	ASSERT_EQ_U64(sonde__pb_varint_len(UINT64_MAX), 10);
	ASSERT_EQ_U64(sonde__pb_varint_len(127), 1);
	ASSERT_EQ_U64(sonde__pb_varint_len(128), 2);
	/* a negative int64 takes ten bytes */
	sonde_buf_reset(&b);
	sonde__pb_int64(&b, 1, -1);
	ASSERT_EQ_INT((int)b.len, 11);
	/* a nested message of 300 bytes: length 0xac 0x02, body moved up */
	sonde_buf_reset(&b);
	{
		size_t m = sonde__pb_begin(&b, 2), i;
		for (i = 0; i < 300; i++)
			sonde__buf_putc(&b, (char)i);
		sonde__pb_end(&b, m);
	}
	ASSERT_EQ_INT((int)b.len, 303);
	ASSERT_TRUE(memcmp(b.data, "\x12\xac\x02", 3) == 0);
	ASSERT_EQ_INT((unsigned char)b.data[3], 0);
	ASSERT_EQ_INT((unsigned char)b.data[302], 299 & 0xff);
	sonde_buf_destroy(&b);
}

TEST(pb_writer_out_of_memory_sets_the_flag)
{
	sonde_buf b = SONDE_BUF_INIT;
	size_t m;

	b.oom = 1;
	m = sonde__pb_begin(&b, 1);
	sonde__pb_double(&b, 2, 1.0);
	sonde__pb_end(&b, m);
	sonde__pb_end_drop_empty(&b, m);
	sonde__pb_delim_end(&b, sonde__pb_delim_begin(&b));
	ASSERT_EQ_INT((int)b.len, 0);
	ASSERT_TRUE(b.oom);
	sonde_buf_destroy(&b);
}
