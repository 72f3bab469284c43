/* tests/fuzz/fuzz_http.c - the HTTP/1.1 response parser (lib/net/): parse
 * arbitrary bytes whole, then cut in two at a point the input chooses, then
 * byte by byte; all three must agree (status, body, framing, consumed
 * bytes, error code), and nothing may read past the input or leak.
 * The first byte picks the cut and small limits, so that the limit paths
 * are reached by short inputs too. */
#include "fuzz.h"
#include "net/http.h"

typedef struct outcome {
	int rc;
	size_t used;
} outcome;

static outcome run(sonde__http_parser *p, sonde__http_response *r, const char *s, size_t n,
                   size_t cut, bool head, size_t max_h, size_t max_b)
{
	outcome o = {SONDE__HTTP_MORE, 0};
	size_t u = 0, off = 0;

	sonde__http_parser_init(p, r, head, 1700000000, max_h, max_b);
	if (cut == 0) {
		/* byte by byte */
		while (off < n && o.rc == SONDE__HTTP_MORE) {
			o.rc = sonde__http_parse(p, s + off, 1, &u);
			o.used += u;
			off++;
		}
	} else {
		o.rc = sonde__http_parse(p, s, cut, &u);
		o.used = u;
		if (o.rc == SONDE__HTTP_MORE) {
			o.rc = sonde__http_parse(p, s + cut, n - cut, &u);
			o.used += u;
		}
	}
	if (o.rc == SONDE__HTTP_MORE)
		o.rc = sonde__http_parse_eof(p);
	return o;
}

FUZZ_TARGET(http)
{
	static sonde__http_parser p;
	sonde__http_response a, b;
	const char *s;
	size_t n, cut, max_h, max_b, i;
	bool head;
	outcome oa, ob;

	if (size < 1)
		return 0;
	head = data[0] & 1;
	max_h = data[0] & 2 ? 256 : 0;
	max_b = data[0] & 4 ? 64 : 0;
	s = (const char *)data + 1;
	n = size - 1;
	cut = n ? (size_t)(data[0] >> 3) * n / 31 : 0;
	if (cut > n)
		cut = n;
	sonde__http_response_init(&a);
	sonde__http_response_init(&b);
	oa = run(&p, &a, s, n, n, head, max_h, max_b);
	for (i = 0; i < 2; i++) {
		ob = run(&p, &b, s, n, i ? cut : 0, head, max_h, max_b);
		if (i == 1 && cut == 0)
			break;
		FUZZ_CHECK(oa.rc == ob.rc, "rc %d whole, %d cut at %zu", oa.rc, ob.rc, i ? cut : 0);
		if (oa.rc != SONDE_OK)
			continue;
		FUZZ_CHECK(oa.used == ob.used, "consumed %zu vs %zu", oa.used, ob.used);
		FUZZ_CHECK(a.status == b.status && a.status >= 200 && a.status <= 599,
		           "status %d/%d", a.status, b.status);
		FUZZ_CHECK(
		        a.body.len == b.body.len &&
		                (a.body.len == 0 || !memcmp(a.body.data, b.body.data, a.body.len)),
		        "body");
		FUZZ_CHECK(a.body.len == 0 || a.body.data[a.body.len] == '\0', "body NUL");
		FUZZ_CHECK(a.keep_alive == b.keep_alive && a.chunked == b.chunked &&
		                   a.retry_after_s == b.retry_after_s,
		           "framing");
		FUZZ_CHECK(!max_b || a.body.len <= max_b, "body %zu over the limit", a.body.len);
		FUZZ_CHECK(!head || a.body.len == 0, "HEAD got a body");
	}
	sonde__http_response_destroy(&a);
	sonde__http_response_destroy(&b);
	return 0;
}
