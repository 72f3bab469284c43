/* tests/trace/test_trace_state.c - tracestate: parse rules, limits, mutation
 * order, truncation. Inputs sit in buffers of exactly their length. */
#include "sonde.h"
#include "sonde/trace.h"
#include "test.h"

static int ts_parse(sonde_tracestate *ts, const char *s)
{
	size_t n = strlen(s);
	char *b = malloc(n ? n : 1);
	int rc;
	memcpy(b, s, n);
	rc = sonde_tracestate_parse(ts, b, n);
	free(b);
	return rc;
}

static const char *ts_fmt(sonde_tracestate *ts)
{
	static char out[SONDE_TRACESTATE_FORMAT_LIMIT + 1];
	sonde_tracestate_format(ts, 0, out, sizeof(out));
	return out;
}

static void expect_val(sonde_tracestate *ts, const char *k, const char *v)
{
	const char *got;
	size_t n;
	if (!sonde_tracestate_get(ts, k, strlen(k), &got, &n))
		FAIL("key \"%s\" missing", k);
	if (n != strlen(v) || memcmp(got, v, n) != 0)
		FAIL("key \"%s\": got \"%.*s\", want \"%s\"", k, (int)n, got, v);
}

TEST(trace_state_parse_valid)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	ASSERT_NOT_NULL(ts);

	ASSERT_OK(ts_parse(ts, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 2);
	expect_val(ts, "rojo", "00f067aa0ba902b7");
	expect_val(ts, "congo", "t61rcWkgMzE");
	ASSERT_STREQ(ts_fmt(ts), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	/* empty header, empty members, OWS around members */
	ASSERT_OK(ts_parse(ts, ""));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 0);
	ASSERT_EQ_INT(sonde_tracestate_format(ts, 0, (char[8]){0}, 8), 0);
	ASSERT_OK(ts_parse(ts, " , \t,"));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 0);
	ASSERT_OK(ts_parse(ts, "foo=1 \t , \t bar=2, \t baz=3"));
	ASSERT_STREQ(ts_fmt(ts), "foo=1,bar=2,baz=3");
	ASSERT_OK(ts_parse(ts, "foo=1\t \t,\t \tbar=2,,,\t \tbaz=3,"));
	ASSERT_STREQ(ts_fmt(ts), "foo=1,bar=2,baz=3");
	/* a value keeps its leading spaces; trailing ones are OWS */
	ASSERT_OK(ts_parse(ts, "foo=  bar  "));
	expect_val(ts, "foo", "  bar");
	/* Level 2 keys: digits first, '@' anywhere after the first char */
	ASSERT_OK(ts_parse(ts, "1a=x,foo@=1,foo@@bar=2,foo@bar@baz=3,t@s=4"));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 5);
	sonde_tracestate_free(ts);
}

TEST(trace_state_all_allowed_characters)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	char key[64], val[128], hdr[256];
	size_t k = 0, v = 0;

	for (char c = 'a'; c <= 'z'; c++)
		key[k++] = c;
	memcpy(key + k, "0123456789_-*/", 14);
	k += 14;
	key[k] = '\0';
	for (int c = 0x20; c <= 0x7e; c++)
		if (c != ',' && c != '=')
			val[v++] = (char)c;
	val[v] = '\0';
	snprintf(hdr, sizeof(hdr), "%s=%s", key, val);
	ASSERT_OK(ts_parse(ts, hdr));
	expect_val(ts, key, val);
	snprintf(hdr, sizeof(hdr), "%s@a-z0-9_-*/=%s", key, val);
	ASSERT_OK(ts_parse(ts, hdr));
	sonde_tracestate_free(ts);
}

TEST(trace_state_invalid_drops_whole_header)
{
	static const char *const bad[] = {
	        "foo=1,@foo=2",                    /* key must start with a-z0-9 */
	        "foo=1,Foo=2",                     /* uppercase key */
	        "foo=1,fo o=2",                    /* space in key */
	        "foo =1",                          /* space before '=' */
	        "foo=",                            /* empty value */
	        "foo=bar=baz",                     /* '=' in value */
	        "foo",                             /* no '=' */
	        "=bar",                            /* empty key */
	        "foo=ba\tr",                       /* tab inside a value */
	        "foo=\x7f",     "foo=caf\xc3\xa9", /* non-ASCII */
	        "a!=1",         "foo=1,bar",
	};
	sonde_tracestate *ts = sonde_tracestate_new();
	char key[300], hdr[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_OK(ts_parse(ts, "keep=1"));
		if (ts_parse(ts, bad[i]) != SONDE_EINVAL)
			FAIL("accepted \"%s\"", bad[i]);
		ASSERT_EQ_INT(sonde_tracestate_count(ts), 0);
	}
	/* key of 256 ok, 257 not; value of 256 ok, 257 not */
	memset(key, 'k', 257);
	snprintf(hdr, sizeof(hdr), "%.256s=v", key);
	ASSERT_OK(ts_parse(ts, hdr));
	snprintf(hdr, sizeof(hdr), "%.257s=v", key);
	ASSERT_EQ_INT(ts_parse(ts, hdr), SONDE_EINVAL);
	memset(key, 'v', 257);
	snprintf(hdr, sizeof(hdr), "k=%.256s", key);
	ASSERT_OK(ts_parse(ts, hdr));
	snprintf(hdr, sizeof(hdr), "k=%.257s", key);
	ASSERT_EQ_INT(ts_parse(ts, hdr), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_tracestate_parse(NULL, "a=1", 3), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_tracestate_parse(ts, NULL, 3), SONDE_EINVAL);
	ASSERT_OK(sonde_tracestate_parse(ts, NULL, 0));
	sonde_tracestate_free(ts);
}

TEST(trace_state_level1_keys)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	char hdr[400];

	ASSERT_OK(sonde_tracestate_set_keys(ts, SONDE_TRACESTATE_KEYS_LEVEL1));
	ASSERT_OK(ts_parse(ts, "foo=1,tenant@sys=2,1tenant@s=3"));
	ASSERT_EQ_INT(ts_parse(ts, "1foo=1"), SONDE_EINVAL); /* simple key: a-z first */
	ASSERT_EQ_INT(ts_parse(ts, "foo@=1"), SONDE_EINVAL); /* empty system */
	ASSERT_EQ_INT(ts_parse(ts, "foo@@bar=1"), SONDE_EINVAL);
	ASSERT_EQ_INT(ts_parse(ts, "foo@bar@baz=1"), SONDE_EINVAL);
	ASSERT_EQ_INT(ts_parse(ts, "t@1s=1"), SONDE_EINVAL); /* system: a-z first */
	ASSERT_OK(ts_parse(ts, "t@abcdefghijklmn=1"));       /* system 14 */
	ASSERT_EQ_INT(ts_parse(ts, "t@abcdefghijklmno=1"), SONDE_EINVAL);
	memset(hdr, 't', 242);
	memcpy(hdr + 241, "@s=1", 5); /* tenant 241 */
	ASSERT_OK(ts_parse(ts, hdr));
	memset(hdr, 't', 242);
	memcpy(hdr + 242, "@s=1", 5); /* tenant 242 */
	ASSERT_EQ_INT(ts_parse(ts, hdr), SONDE_EINVAL);
	/* the same keys under Level 2 */
	ASSERT_OK(sonde_tracestate_set_keys(ts, SONDE_TRACESTATE_KEYS_LEVEL2));
	ASSERT_OK(ts_parse(ts, "1foo=1,foo@=1,foo@@bar=1,foo@bar@baz=1"));
	ASSERT_EQ_INT(sonde_tracestate_set_keys(ts, (sonde_tracestate_keys)7), SONDE_EINVAL);
	sonde_tracestate_free(ts);
}

TEST(trace_state_member_limit)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	char hdr[1024];
	size_t n = 0;

	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "%sk%d=v", i ? "," : "", i);
	ASSERT_OK(ts_parse(ts, hdr));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 32);
	snprintf(hdr + n, sizeof(hdr) - n, ",k32=v");
	ASSERT_EQ_INT(ts_parse(ts, hdr), SONDE_ELIMIT);
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 0);
	sonde_tracestate_free(ts);
}

TEST(trace_state_multiple_lines_combine)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	const char *lines[] = {"foo=1,bar=2", "", "rojo=1,congo=2", "baz=3"};

	ASSERT_OK(sonde_tracestate_parse_lines(ts, 4, lines, NULL));
	ASSERT_STREQ(ts_fmt(ts), "foo=1,bar=2,rojo=1,congo=2,baz=3");
	sonde_tracestate_free(ts);
}

/* issue 13.15: the W3C harness (test_tracestate_duplicated_keys, STRICT_LEVEL
 * 2) expects a repeated key to be propagated, kept as-is or reduced to one
 * member; sonde keeps the first (left-most) member of each key and drops the
 * later ones, and the rest of the header is kept */
TEST(trace_state_duplicate_keys_keep_first)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	const char *same[] = {"foo=1", "foo=1"}, *diff[] = {"foo=1", "foo=2"};
	const char *mixed[] = {"a=1,foo=1", "b=2,foo=3,c=3"};
	char hdr[1024];
	size_t n = 0;

	ASSERT_OK(ts_parse(ts, "foo=1,foo=1"));
	ASSERT_STREQ(ts_fmt(ts), "foo=1");
	ASSERT_OK(ts_parse(ts, "foo=1,foo=2"));
	ASSERT_STREQ(ts_fmt(ts), "foo=1");
	ASSERT_OK(sonde_tracestate_parse_lines(ts, 2, same, NULL));
	ASSERT_STREQ(ts_fmt(ts), "foo=1");
	ASSERT_OK(sonde_tracestate_parse_lines(ts, 2, diff, NULL));
	ASSERT_STREQ(ts_fmt(ts), "foo=1");
	ASSERT_OK(sonde_tracestate_parse_lines(ts, 2, mixed, NULL));
	ASSERT_STREQ(ts_fmt(ts), "a=1,foo=1,b=2,c=3");
	/* a duplicate is not a member: 32 distinct keys plus repeats still fit */
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "k%d=%d,k%d=x,", i, i, i);
	ASSERT_OK(ts_parse(ts, hdr));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 32);
	/* an invalid member after a duplicate still drops the whole header */
	ASSERT_EQ_INT(ts_parse(ts, "foo=1,foo=2,Bad=3"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 0);
	sonde_tracestate_free(ts);
}

TEST(trace_state_mutation_order)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	char hdr[1024], k[8];
	size_t n = 0;
	const char *key, *val;
	size_t kl, vl;

	ASSERT_OK(ts_parse(ts, "a=1,b=2,c=3"));
	ASSERT_OK(sonde_tracestate_set(ts, "c", 1, "30", 2)); /* update moves to front */
	ASSERT_STREQ(ts_fmt(ts), "c=30,a=1,b=2");
	ASSERT_OK(sonde_tracestate_set(ts, "sonde", 5, "x", 1)); /* add goes to front */
	ASSERT_STREQ(ts_fmt(ts), "sonde=x,c=30,a=1,b=2");
	ASSERT_OK(sonde_tracestate_remove(ts, "a", 1));
	ASSERT_STREQ(ts_fmt(ts), "sonde=x,c=30,b=2");
	ASSERT_EQ_INT(sonde_tracestate_remove(ts, "a", 1), SONDE_ENOENT);
	ASSERT_EQ_INT(sonde_tracestate_set(ts, "Bad", 3, "x", 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_tracestate_set(ts, "ok", 2, "x ", 2), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_tracestate_set(ts, "ok", 2, "", 0), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_tracestate_set(ts, "ok", 2, "a,b", 3), SONDE_EINVAL);
	ASSERT_STREQ(ts_fmt(ts), "sonde=x,c=30,b=2");
	ASSERT_OK(sonde_tracestate_member(ts, 1, &key, &kl, &val, &vl));
	ASSERT_TRUE(kl == 1 && key[0] == 'c' && vl == 2 && memcmp(val, "30", 2) == 0);
	ASSERT_EQ_INT(sonde_tracestate_member(ts, 3, &key, &kl, &val, &vl), SONDE_ENOENT);

	/* full list: adding a 33rd drops the right-most */
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "%sk%d=v", i ? "," : "", i);
	ASSERT_OK(ts_parse(ts, hdr));
	ASSERT_OK(sonde_tracestate_set(ts, "mine", 4, "1", 1));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 32);
	ASSERT_OK(sonde_tracestate_member(ts, 0, &key, &kl, NULL, NULL));
	ASSERT_TRUE(kl == 4 && memcmp(key, "mine", 4) == 0);
	ASSERT_FALSE(sonde_tracestate_get(ts, "k31", 3, NULL, NULL));
	ASSERT_TRUE(sonde_tracestate_get(ts, "k30", 3, NULL, NULL));
	ASSERT_OK(sonde_tracestate_member(ts, 31, &key, &kl, NULL, NULL));
	ASSERT_TRUE(kl == 3 && memcmp(key, "k30", 3) == 0);
	/* updating one inside a full list drops nothing */
	ASSERT_OK(sonde_tracestate_set(ts, "k5", 2, "new", 3));
	ASSERT_EQ_INT(sonde_tracestate_count(ts), 32);
	ASSERT_TRUE(sonde_tracestate_get(ts, "k30", 3, NULL, NULL));
	ASSERT_TRUE(strncmp(ts_fmt(ts), "k5=new,mine=1,k0=v,", 19) == 0);
	/* copy */
	{
		sonde_tracestate *c = sonde_tracestate_new();
		ASSERT_OK(sonde_tracestate_copy(c, ts));
		ASSERT_STREQ(ts_fmt(c), ts_fmt(ts));
		sonde_tracestate_free(c);
	}
	snprintf(k, sizeof(k), "x");
	sonde_tracestate_free(ts);
	sonde_tracestate_free(NULL);
}

/* n members "kNN=<value of vlen chars>", each 4 + vlen characters */
static void fill_members(sonde_tracestate *ts, const int *vlens, int n)
{
	char hdr[20000], v[300];
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		memset(v, 'a' + i % 26, (size_t)vlens[i]);
		v[vlens[i]] = '\0';
		at += (size_t)snprintf(hdr + at, sizeof(hdr) - at, "%sk%02d=%s", i ? "," : "", i,
		                       v);
	}
	if (ts_parse(ts, hdr) != SONDE_OK)
		FAIL("parse failed: %s", sonde_last_error());
}

TEST(trace_state_truncation)
{
	sonde_tracestate *ts = sonde_tracestate_new();
	char out[600];
	size_t n;

	/* fits exactly 512: nothing dropped. 4 members of 125 chars + 3 commas
	 * = 503; plus one of 8 chars and a comma = 512 */
	{
		int v[] = {121, 121, 121, 121, 4};
		fill_members(ts, v, 5);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		ASSERT_EQ_INT(n, 512);
		ASSERT_EQ_INT(strlen(out), 512);
	}
	/* 513: one char too many. No member is over 128, so the right-most goes */
	{
		int v[] = {121, 121, 121, 121, 5};
		fill_members(ts, v, 5);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		ASSERT_EQ_INT(n, 503);
		ASSERT_NOT_CONTAINS(out, "k04=");
	}
	/* a long member (over 128) in the middle is dropped before the ones
	 * after it; the right-most long one goes first */
	{
		int v[] = {10, 200, 10, 150, 100, 100};
		/* sizes 14, 204, 14, 154, 104, 104 + 5 commas = 599 */
		fill_members(ts, v, 6);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		/* dropping k03 (154) leaves 444: fits */
		ASSERT_EQ_INT(n, 599 - 155);
		ASSERT_NOT_CONTAINS(out, "k03=");
		ASSERT_CONTAINS(out, "k01=");
		ASSERT_CONTAINS(out, "k05=");
	}
	{
		int v[] = {10, 200, 10, 250, 100, 100};
		/* 14, 204, 14, 254, 104, 104 + 5 = 699: drop k03 -> 444 fits */
		fill_members(ts, v, 6);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		ASSERT_EQ_INT(n, 444);
	}
	{
		int v[] = {10, 250, 10, 250, 200, 100};
		/* 14, 254, 14, 254, 204, 104 + 5 = 849: k04 (right-most long)
		 * goes -> 644, then k03 -> 389: fits; k01 (long) stays */
		fill_members(ts, v, 6);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		ASSERT_EQ_INT(n, 389);
		ASSERT_NOT_CONTAINS(out, "k03=");
		ASSERT_NOT_CONTAINS(out, "k04=");
		ASSERT_CONTAINS(out, "k01=");
		ASSERT_CONTAINS(out, "k05=");
	}
	{
		int v[] = {250, 100, 100, 100, 100};
		/* the left-most long member goes before any short one */
		fill_members(ts, v, 5);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		ASSERT_EQ_INT(n, 4 * 104 + 3);
		ASSERT_TRUE(strncmp(out, "k01=", 4) == 0);
		ASSERT_CONTAINS(out, "k04=");
	}
	{
		int v[] = {200, 120, 120, 120, 120, 120};
		/* 204 + 5 * 124 + 5 = 829: long k00 goes (624), then k05 (499) */
		fill_members(ts, v, 6);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		ASSERT_EQ_INT(n, 499);
		ASSERT_TRUE(strncmp(out, "k01=", 4) == 0);
		ASSERT_CONTAINS(out, "k04=");
		ASSERT_NOT_CONTAINS(out, "k05=");
	}
	/* many short members: dropped from the right until 512 fits */
	{
		int v[32];
		for (int i = 0; i < 32; i++)
			v[i] = 20; /* 24 chars each: 32*24 + 31 = 799 */
		fill_members(ts, v, 32);
		n = sonde_tracestate_format(ts, 0, out, sizeof(out));
		/* 20 members = 499 */
		ASSERT_EQ_INT(n, 20 * 24 + 19);
		ASSERT_CONTAINS(out, "k19=");
		ASSERT_NOT_CONTAINS(out, "k20=");
	}
	/* a smaller limit and a small buffer */
	{
		int v[] = {4, 4, 4};
		fill_members(ts, v, 3); /* "k00=aaaa,k01=bbbb,k02=cccc" = 26 */
		ASSERT_EQ_INT(sonde_tracestate_format(ts, 17, out, sizeof(out)), 17);
		ASSERT_STREQ(out, "k00=aaaa,k01=bbbb");
		ASSERT_EQ_INT(sonde_tracestate_format(ts, 0, out, 10), 8);
		ASSERT_STREQ(out, "k00=aaaa");
		ASSERT_EQ_INT(sonde_tracestate_format(ts, 0, out, 8), 0);
		ASSERT_STREQ(out, "");
	}
	sonde_tracestate_free(ts);
}

TEST(trace_state_random_roundtrip)
{
	static const char pool[] = "ab09_-*/@ =,\t\x7fZ";
	sonde_tracestate *a = sonde_tracestate_new(), *b = sonde_tracestate_new();
	char in[200], out[20000];
	uint64_t x = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		size_t n;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = x % 60;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = pool[x % (sizeof(pool) - 1)];
		}
		in[n] = '\0';
		if (ts_parse(a, in) != SONDE_OK)
			continue;
		/* parse -> format -> parse gives the same list */
		sonde_tracestate_format(a, sizeof(out) - 1, out, sizeof(out));
		ASSERT_OK(ts_parse(b, out));
		ASSERT_EQ_INT(sonde_tracestate_count(b), sonde_tracestate_count(a));
		for (size_t i = 0; i < sonde_tracestate_count(a); i++) {
			const char *k1, *v1, *k2, *v2;
			size_t kl1, vl1, kl2, vl2;
			ASSERT_OK(sonde_tracestate_member(a, i, &k1, &kl1, &v1, &vl1));
			ASSERT_OK(sonde_tracestate_member(b, i, &k2, &kl2, &v2, &vl2));
			ASSERT_TRUE(kl1 == kl2 && memcmp(k1, k2, kl1) == 0);
			ASSERT_TRUE(vl1 == vl2 && memcmp(v1, v2, vl1) == 0);
		}
	}
	sonde_tracestate_free(a);
	sonde_tracestate_free(b);
}
