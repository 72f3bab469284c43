/* tests/fuzz/fuzz_trace.c - traceparent, tracestate and baggage: parse
 * arbitrary bytes; whatever parses must format and parse back the same. */
#include "fuzz.h"
#include "sonde.h"

FUZZ_TARGET(trace)
{
	const char *s = (const char *)data;
	sonde_traceparent tp, tp2;
	char out[SONDE_TRACEPARENT_BUFSZ];
	static sonde_tracestate *ts, *ts2;
	static sonde_baggage *bg, *bg2;
	sonde_buf b = SONDE_BUF_INIT;
	char *fmt;
	size_t n, i;

	if (!ts) {
		ts = sonde_tracestate_new();
		ts2 = sonde_tracestate_new();
		bg = sonde_baggage_new();
		bg2 = sonde_baggage_new();
	}
	/* traceparent */
	if (sonde_traceparent_parse(s, size, &tp) == SONDE_OK) {
		n = sonde_traceparent_format(&tp, out, sizeof(out));
		FUZZ_CHECK(n == SONDE_TRACEPARENT_LEN, "format gave %zu", n);
		FUZZ_CHECK(sonde_traceparent_parse(out, n, &tp2) == SONDE_OK, "reparse of %s", out);
		FUZZ_CHECK(memcmp(tp.trace_id, tp2.trace_id, 16) == 0 &&
		                   memcmp(tp.parent_id, tp2.parent_id, 8) == 0 &&
		                   (tp.flags & SONDE_TRACE_FLAGS_KNOWN) == tp2.flags &&
		                   tp2.version == 0,
		           "round trip of %s", out);
	}
	/* tracestate: parse, format without truncation, parse again */
	if (sonde_tracestate_parse(ts, s, size) == SONDE_OK && sonde_tracestate_count(ts)) {
		fmt = malloc(32 * 520);
		n = sonde_tracestate_format(ts, 32 * 520, fmt, 32 * 520);
		FUZZ_CHECK(n > 0, "format of a non-empty tracestate is empty");
		FUZZ_CHECK(sonde_tracestate_parse(ts2, fmt, n) == SONDE_OK, "reparse of %s", fmt);
		FUZZ_CHECK(sonde_tracestate_count(ts2) == sonde_tracestate_count(ts), "count");
		for (i = 0; i < sonde_tracestate_count(ts); i++) {
			const char *k1, *v1, *k2, *v2;
			size_t kl1, vl1, kl2, vl2;
			FUZZ_CHECK(sonde_tracestate_member(ts, i, &k1, &kl1, &v1, &vl1) == SONDE_OK,
			           "m");
			FUZZ_CHECK(sonde_tracestate_member(ts2, i, &k2, &kl2, &v2, &vl2) ==
			                   SONDE_OK,
			           "m2");
			FUZZ_CHECK(kl1 == kl2 && vl1 == vl2 && !memcmp(k1, k2, kl1) &&
			                   !memcmp(v1, v2, vl1),
			           "member %zu differs", i);
		}
		/* truncated formatting stays within the limit and parses */
		n = sonde_tracestate_format(ts, 512, fmt, 32 * 520);
		FUZZ_CHECK(n <= 512, "truncated format is %zu chars", n);
		if (n)
			FUZZ_CHECK(sonde_tracestate_parse(ts2, fmt, n) == SONDE_OK,
			           "reparse truncated");
		free(fmt);
	}
	/* baggage */
	if (sonde_baggage_parse(bg, s, size) == SONDE_OK) {
		FUZZ_CHECK(sonde_baggage_format(bg, &b) == SONDE_OK, "format");
		FUZZ_CHECK(sonde_baggage_parse(bg2, b.data ? b.data : "", b.len) == SONDE_OK,
		           "reparse of %s", b.data);
		FUZZ_CHECK(sonde_baggage_count(bg2) == sonde_baggage_count(bg), "count");
		for (i = 0; i < sonde_baggage_count(bg); i++) {
			const char *k1, *v1, *p1, *k2, *v2, *p2;
			size_t kl1, vl1, pl1, kl2, vl2, pl2;
			FUZZ_CHECK(sonde_baggage_entry(bg, i, &k1, &kl1, &v1, &vl1, &p1, &pl1) == 0,
			           "e");
			FUZZ_CHECK(sonde_baggage_entry(bg2, i, &k2, &kl2, &v2, &vl2, &p2, &pl2) ==
			                   0,
			           "e2");
			FUZZ_CHECK(kl1 == kl2 && vl1 == vl2 && pl1 == pl2 && !memcmp(k1, k2, kl1) &&
			                   !memcmp(v1, v2, vl1) && !memcmp(p1, p2, pl1),
			           "entry %zu differs", i);
		}
	}
	sonde_buf_destroy(&b);
	return 0;
}
