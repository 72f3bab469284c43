/* tests/trace/test_trace_baggage.c - W3C Baggage, including the vectors of the
 * W3C suite (w3c/baggage test/test_baggage.py) ported case by case. Inputs
 * sit in buffers of exactly their length. */
#include "sonde.h"
#include "sonde/trace.h"
#include "test.h"

static int bg_parse(sonde_baggage *b, const char *s)
{
	size_t n = strlen(s);
	char *x = malloc(n ? n : 1);
	int rc;
	memcpy(x, s, n);
	rc = sonde_baggage_parse(b, x, n);
	free(x);
	return rc;
}

static void entry_is(sonde_baggage *b, size_t i, const char *k, const char *v, const char *props)
{
	const char *key, *val, *p;
	size_t kl, vl, pl;
	if (sonde_baggage_entry(b, i, &key, &kl, &val, &vl, &p, &pl) != SONDE_OK)
		FAIL("no entry %zu", i);
	if (kl != strlen(k) || memcmp(key, k, kl))
		FAIL("entry %zu key \"%.*s\", want \"%s\"", i, (int)kl, key, k);
	if (vl != strlen(v) || memcmp(val, v, vl))
		FAIL("entry %zu value \"%.*s\", want \"%s\"", i, (int)vl, val, v);
	if (pl != strlen(props) || memcmp(p, props, pl))
		FAIL("entry %zu props \"%.*s\", want \"%s\"", i, (int)pl, p, props);
}

static const char *bg_fmt(sonde_baggage *b)
{
	static sonde_buf out = SONDE_BUF_INIT;
	sonde_buf_reset(&out);
	if (sonde_baggage_format(b, &out) != SONDE_OK)
		FAIL("format: %s", sonde_last_error());
	return out.data ? out.data : "";
}

/* ---- BaggageTest ---------------------------------------------------------- */

TEST(trace_baggage_w3c_ctor_default)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_EQ_INT(sonde_baggage_count(b), 0);
	ASSERT_STREQ(bg_fmt(b), "");
	sonde_baggage_free(b);
}

TEST(trace_baggage_w3c_parse_simple)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue"));
	ASSERT_EQ_INT(sonde_baggage_count(b), 1);
	entry_is(b, 0, "SomeKey", "SomeValue", "");
	sonde_baggage_free(b);
}

TEST(trace_baggage_w3c_parse_multiple)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;ValueProp=PropVal"));
	ASSERT_EQ_INT(sonde_baggage_count(b), 2);
	entry_is(b, 0, "SomeKey", "SomeValue", "SomeProp");
	entry_is(b, 1, "SomeKey2", "SomeValue2", "ValueProp=PropVal");
	sonde_baggage_free(b);
}

TEST(trace_baggage_w3c_parse_multiple_ows)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(bg_parse(b, "SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t "
	                      "SomeValue2 \t ; \t ValueProp \t = \t PropVal"));
	ASSERT_EQ_INT(sonde_baggage_count(b), 2);
	entry_is(b, 0, "SomeKey", "SomeValue", "SomeProp");
	entry_is(b, 1, "SomeKey2", "SomeValue2", "ValueProp=PropVal");
	sonde_baggage_free(b);
}

TEST(trace_baggage_w3c_parse_multiple_kv_property)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue;SomePropKey=SomePropValue,SomeKey2=SomeValue2;"
	                      "SomePropKey2=SomePropValue2"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomePropKey=SomePropValue");
	entry_is(b, 1, "SomeKey2", "SomeValue2", "SomePropKey2=SomePropValue2");
	ASSERT_OK(bg_parse(
	        b, "SomeKey \t = \t SomeValue \t ; \t SomePropKey=SomePropValue \t , \t "
	           "SomeKey2 \t = \t SomeValue2 \t ; \t SomePropKey2 \t = \t SomePropValue2"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomePropKey=SomePropValue");
	entry_is(b, 1, "SomeKey2", "SomeValue2", "SomePropKey2=SomePropValue2");
	sonde_baggage_free(b);
}

/* ---- BaggageEntryTest ----------------------------------------------------- */

TEST(trace_baggage_w3c_entry_simple_and_equals)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(sonde_baggage_set(b, "SomeKey", 7, "SomeValue", 9, NULL, 0));
	entry_is(b, 0, "SomeKey", "SomeValue", "");
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue=equals"));
	entry_is(b, 0, "SomeKey", "SomeValue=equals", "");
	ASSERT_OK(bg_parse(b, "SomeKey \t = \t SomeValue \t "));
	entry_is(b, 0, "SomeKey", "SomeValue", "");
	sonde_baggage_free(b);
}

/* value = "\t \"';=asdf!@#$%^&*()", urllib.parse.quote()d by the suite */
#define PCT_VALUE "\t \"';=asdf!@#$%^&*()"
#define PCT_ENCODED "%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29"

/* what sonde sends: only the bytes outside baggage-octet, and '%', encoded
 * (the suite's serializer uses quote(), which also encodes '\'' '=' '!' ...;
 * both decode to the same value) */
#define PCT_MINIMAL "%09%20%22'%3B=asdf!@#$%25^&*()"

TEST(trace_baggage_w3c_percent_encoded)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(bg_parse(b, "SomeKey=" PCT_ENCODED));
	entry_is(b, 0, "SomeKey", PCT_VALUE, "");
	ASSERT_STREQ(bg_fmt(b), "SomeKey=" PCT_MINIMAL);
	ASSERT_OK(bg_parse(b, "SomeKey=" PCT_MINIMAL));
	entry_is(b, 0, "SomeKey", PCT_VALUE, "");
	ASSERT_OK(bg_parse(b, "SomeKey \t = \t " PCT_ENCODED " \t "));
	entry_is(b, 0, "SomeKey", PCT_VALUE, "");
	sonde_baggage_free(b);
}

TEST(trace_baggage_w3c_properties)
{
	sonde_baggage *b = sonde_baggage_new();
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue;SomeProp"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomeProp");
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue;SomeProp;SecondProp=PropValue"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomeProp;SecondProp=PropValue");
	ASSERT_OK(bg_parse(b, "SomeKey=SomeValue;SomePropKey=SomePropValue"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomePropKey=SomePropValue");
	ASSERT_OK(bg_parse(b, "SomeKey \t = \t SomeValue \t ; \t SomeProp"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomeProp");
	ASSERT_OK(bg_parse(
	        b,
	        "SomeKey \t = \t SomeValue \t ; \t SomeProp \t ; \t SecondProp \t = \t PropValue"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomeProp;SecondProp=PropValue");
	ASSERT_OK(
	        bg_parse(b, "SomeKey \t = \t SomeValue \t ; \t SomePropKey \t = \t SomePropValue"));
	entry_is(b, 0, "SomeKey", "SomeValue", "SomePropKey=SomePropValue");
	ASSERT_STREQ(bg_fmt(b), "SomeKey=SomeValue;SomePropKey=SomePropValue");
	sonde_baggage_free(b);
}

/* ---- LimitsTest ---------------------------------------------------------- */

TEST(trace_baggage_w3c_limits)
{
	sonde_baggage *b = sonde_baggage_new();
	char key[16], *big;
	const char *s;
	int commas = 0;

	/* at least 64 members */
	for (int i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		ASSERT_OK(sonde_baggage_set(b, key, strlen(key), "value", 5, NULL, 0));
	}
	s = bg_fmt(b);
	for (const char *p = s; *p; p++)
		commas += *p == ',';
	ASSERT_EQ_INT(commas + 1, 64);
	/* a 65th is refused with a clear error, and nothing changes */
	ASSERT_EQ_INT(sonde_baggage_set(b, "key64", 5, "value", 5, NULL, 0), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "65 members");
	ASSERT_EQ_INT(sonde_baggage_count(b), 64);
	/* updating an existing key in a full baggage is fine */
	ASSERT_OK(sonde_baggage_set(b, "key3", 4, "v2", 2, NULL, 0));

	/* one entry of exactly 8192 bytes: "a=" + 8190 */
	sonde_baggage_clear(b);
	big = malloc(8200);
	for (int i = 0; i < 8190; i++)
		big[i] = (char)('0' + i % 10);
	ASSERT_OK(sonde_baggage_set(b, "a", 1, big, 8190, NULL, 0));
	ASSERT_EQ_INT(strlen(bg_fmt(b)), 8192);
	sonde_baggage_clear(b);
	ASSERT_EQ_INT(sonde_baggage_set(b, "a", 1, big, 8191, NULL, 0), SONDE_ELIMIT);
	ASSERT_EQ_INT(sonde_baggage_count(b), 0);
	/* parse of exactly 8192 bytes keeps it; 8193 drops the member */
	memcpy(big, "a=", 2);
	for (int i = 2; i < 8192; i++)
		big[i] = 'x';
	ASSERT_OK(sonde_baggage_parse(b, big, 8192));
	ASSERT_EQ_INT(sonde_baggage_count(b), 1);
	big[8192] = 'x';
	ASSERT_EQ_INT(sonde_baggage_parse(b, big, 8193), SONDE_ELIMIT);
	ASSERT_EQ_INT(sonde_baggage_count(b), 0);
	free(big);
	sonde_baggage_free(b);
}

TEST(trace_baggage_parse_over_limits_keeps_first_members)
{
	sonde_baggage *b = sonde_baggage_new();
	char hdr[4096];
	size_t n = 0;

	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "%sk%d=v", i ? "," : "", i);
	ASSERT_EQ_INT(sonde_baggage_parse(b, hdr, n), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "6 member(s) dropped");
	ASSERT_EQ_INT(sonde_baggage_count(b), 64);
	entry_is(b, 63, "k63", "v", "");
	sonde_baggage_free(b);
}

/* issue 13.16: a valid 7.5 KB header of 60 members whose values use '!' '*'
 * '\'' (baggage-octets, sent unencoded) kept only 22 members: the 8192-byte
 * limit was applied to the re-encoded form (%21, %2A, %27). The limits are
 * measured on what arrived, and formatting does not grow it. */
static size_t sixty_members(char *hdr, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < 60; i++) {
		n += (size_t)snprintf(hdr + n, cap - n, "%sk%02d=", i ? "," : "", i);
		for (int j = 0; j < 24; j++) /* 120 bytes, 72 of them !*' */
			n += (size_t)snprintf(hdr + n, cap - n, "a!*'b");
	}
	return n;
}

TEST(trace_baggage_limits_measure_received_bytes)
{
	sonde_baggage *b = sonde_baggage_new();
	char *hdr = malloc(9000);
	size_t n = sixty_members(hdr, 9000);
	const char *v;
	size_t vl;

	ASSERT_EQ_INT(n, 7499); /* 60 members of "kNN=" + 120, 59 commas */
	ASSERT_OK(sonde_baggage_parse(b, hdr, n));
	ASSERT_EQ_INT(sonde_baggage_count(b), 60);
	ASSERT_TRUE(sonde_baggage_get(b, "k59", 3, &v, &vl));
	ASSERT_EQ_INT(vl, 120);
	/* sent on as it arrived: the same 7499 bytes */
	ASSERT_STREQ(bg_fmt(b), hdr);
	/* the same members arriving percent-encoded (%21 %2A %27) are larger on
	 * the wire: what arrived is what counts (60 * 268 - 1 > 8192) */
	{
		size_t m = 0;
		char *enc = malloc(20000);
		for (int i = 0; i < 60; i++) {
			m += (size_t)snprintf(enc + m, 20000 - m, "%sk%02d=", i ? "," : "", i);
			for (int j = 0; j < 24; j++)
				m += (size_t)snprintf(enc + m, 20000 - m, "a%%21%%2A%%27b");
		}
		ASSERT_EQ_INT(sonde_baggage_parse(b, enc, m), SONDE_ELIMIT);
		ASSERT_EQ_INT(sonde_baggage_count(b), 30); /* 30 * 269 - 1 = 8069 */
		free(enc);
	}
	/* a value that decoding grows (%FF is 3 bytes in, U+FFFD 9 bytes out)
	 * never makes the formatted header pass 8192 bytes: whole members from
	 * the right are left out */
	{
		size_t m = 0;
		char *grow = malloc(9000);
		m += (size_t)snprintf(grow, 9000, "first=1,big=");
		for (int j = 0; j < 1000; j++)
			m += (size_t)snprintf(grow + m, 9000 - m, "%%FF");
		m += (size_t)snprintf(grow + m, 9000 - m, ",last=2");
		ASSERT_OK(sonde_baggage_parse(b, grow, m));
		ASSERT_EQ_INT(sonde_baggage_count(b), 3);
		ASSERT_STREQ(bg_fmt(b), "first=1");
		free(grow);
	}
	free(hdr);
	sonde_baggage_free(b);
}

/* the same header through extract and inject: all 60 members go out */
TEST(trace_propagate_baggage_sixty_members)
{
	sonde_trace_carrier *c = sonde_trace_carrier_new();
	sonde_trace_headers out = SONDE_TRACE_HEADERS_INIT;
	char *hdr = malloc(9000);
	size_t n = sixty_members(hdr, 9000);
	sonde_header in[] = {
	        {"traceparent", 11, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", 55},
	        {"baggage", 7, hdr, n},
	};

	ASSERT_OK(sonde_trace_extract(c, in, 2));
	ASSERT_EQ_INT(sonde_baggage_count(sonde_trace_carrier_baggage(c)), 60);
	ASSERT_OK(sonde_trace_inject(c, sonde_trace_carrier_context(c), &out));
	ASSERT_EQ_INT(out.count, 2);
	ASSERT_EQ_INT(out.headers[1].value_len, n);
	ASSERT_TRUE(memcmp(out.headers[1].value, hdr, n) == 0);
	sonde_trace_headers_destroy(&out);
	sonde_trace_carrier_free(c);
	free(hdr);
}

/* ---- beyond the suite ---------------------------------------------------------- */

TEST(trace_baggage_malformed_drops_header)
{
	static const char *const bad[] = {
	        "k",               /* no '=' */
	        "=v",              /* empty key */
	        "k=v,=w",  "k(=v", /* '(' is not a token char */
	        "k=v w",           /* space inside a value */
	        "k=v\"",           /* '"' must be encoded */
	        "k=a\\b",          /* '\\' must be encoded */
	        "k=v;",            /* empty property */
	        "k=v;=x",  "k=v;p=a b",
	        "k=v;p q", "k=caf\xc3\xa9", /* raw non-ASCII must be encoded */
	        "k=v\x01",
	};
	sonde_baggage *b = sonde_baggage_new();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_OK(bg_parse(b, "keep=1"));
		if (bg_parse(b, bad[i]) != SONDE_EINVAL)
			FAIL("accepted \"%s\"", bad[i]);
		ASSERT_EQ_INT(sonde_baggage_count(b), 0);
	}
	sonde_baggage_free(b);
}

TEST(trace_baggage_decoding_rules)
{
	sonde_baggage *b = sonde_baggage_new();
	const char *v;
	size_t vl;

	/* either hex case decodes; incomplete escapes stay literal */
	ASSERT_OK(bg_parse(b, "a=%41%6a,b=%4,c=%zz,d=100%,e="));
	entry_is(b, 0, "a", "Aj", "");
	entry_is(b, 1, "b", "%4", "");
	entry_is(b, 2, "c", "%zz", "");
	entry_is(b, 3, "d", "100%", "");
	entry_is(b, 4, "e", "", "");
	ASSERT_STREQ(bg_fmt(b), "a=Aj,b=%254,c=%25zz,d=100%25,e=");
	/* valid UTF-8 passes, invalid becomes U+FFFD (one per maximal subpart) */
	ASSERT_OK(bg_parse(b, "u=caf%C3%A9,x=%FF%C3,y=a%E2%82"));
	entry_is(b, 0, "u", "caf\xc3\xa9", "");
	entry_is(b, 1, "x", "\xef\xbf\xbd\xef\xbf\xbd", "");
	entry_is(b, 2, "y", "a\xef\xbf\xbd", "");
	/* property values decode and are re-encoded canonically */
	ASSERT_OK(bg_parse(b, "k=v;p=%41%2c"));
	entry_is(b, 0, "k", "v", "p=A%2C");
	/* duplicates are kept; get returns the last; empty members skipped */
	ASSERT_OK(bg_parse(b, "k=1,,k=2 , ,"));
	ASSERT_EQ_INT(sonde_baggage_count(b), 2);
	ASSERT_TRUE(sonde_baggage_get(b, "k", 1, &v, &vl));
	ASSERT_TRUE(vl == 1 && v[0] == '2' && v[1] == '\0');
	ASSERT_FALSE(sonde_baggage_get(b, "nope", 4, &v, &vl));
	sonde_baggage_free(b);
}

TEST(trace_baggage_set_remove_and_lines)
{
	sonde_baggage *b = sonde_baggage_new();
	const char *lines[] = {"a=1", "b=2;p", "", "a=3"};

	ASSERT_OK(sonde_baggage_parse_lines(b, 4, lines, NULL));
	ASSERT_EQ_INT(sonde_baggage_count(b), 3);
	ASSERT_OK(sonde_baggage_set(b, "a", 1, "x y,z", 5, "ttl = 3 ; secret", 16));
	ASSERT_EQ_INT(sonde_baggage_count(b), 2); /* both old "a" gone */
	ASSERT_STREQ(bg_fmt(b), "b=2;p,a=x%20y%2Cz;ttl=3;secret");
	ASSERT_EQ_INT(sonde_baggage_set(b, "bad key", 7, "v", 1, NULL, 0), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_baggage_set(b, "k", 1, "v", 1, "p=a b", 5), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_baggage_count(b), 2);
	ASSERT_OK(sonde_baggage_remove(b, "b", 1));
	ASSERT_EQ_INT(sonde_baggage_remove(b, "b", 1), SONDE_ENOENT);
	ASSERT_STREQ(bg_fmt(b), "a=x%20y%2Cz;ttl=3;secret");
	ASSERT_OK(sonde_baggage_set(b, "empty", 5, NULL, 0, NULL, 0));
	ASSERT_STREQ(bg_fmt(b), "a=x%20y%2Cz;ttl=3;secret,empty=");
	ASSERT_EQ_INT(sonde_baggage_entry(b, 2, NULL, NULL, NULL, NULL, NULL, NULL), SONDE_ENOENT);
	ASSERT_EQ_INT(sonde_baggage_parse(NULL, "a=1", 3), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_baggage_format(b, NULL), SONDE_EINVAL);
	sonde_baggage_free(b);
	sonde_baggage_free(NULL);
}

TEST(trace_baggage_random_roundtrip)
{
	static const char pool[] = "aZ09%=;, \t\"\\!~\x80\xc3";
	sonde_baggage *a = sonde_baggage_new(), *c = sonde_baggage_new();
	char in[128];
	uint64_t x = 777;
	sonde_buf out = SONDE_BUF_INIT;

	for (int iter = 0; iter < 20000; iter++) {
		size_t n;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = x % 40;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = pool[x % (sizeof(pool) - 1)];
		}
		if (sonde_baggage_parse(a, in, n) != SONDE_OK)
			continue;
		sonde_buf_reset(&out);
		ASSERT_OK(sonde_baggage_format(a, &out));
		ASSERT_OK(sonde_baggage_parse(c, out.data, out.len));
		ASSERT_EQ_INT(sonde_baggage_count(c), sonde_baggage_count(a));
		for (size_t i = 0; i < sonde_baggage_count(a); i++) {
			const char *k1, *v1, *p1, *k2, *v2, *p2;
			size_t kl1, vl1, pl1, kl2, vl2, pl2;
			ASSERT_OK(sonde_baggage_entry(a, i, &k1, &kl1, &v1, &vl1, &p1, &pl1));
			ASSERT_OK(sonde_baggage_entry(c, i, &k2, &kl2, &v2, &vl2, &p2, &pl2));
			ASSERT_TRUE(kl1 == kl2 && memcmp(k1, k2, kl1) == 0);
			ASSERT_TRUE(vl1 == vl2 && memcmp(v1, v2, vl1) == 0);
			ASSERT_TRUE(pl1 == pl2 && memcmp(p1, p2, pl1) == 0);
		}
	}
	sonde_buf_destroy(&out);
	sonde_baggage_free(a);
	sonde_baggage_free(c);
}
