/* bench/bench_trace.c - traceparent parse/format, tracestate parse of a
 * 32-member header, id generation, span start+end; a memcpy of the same 55
 * bytes as the in-run baseline. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "sonde.h"
#include "sonde/trace.h"
#include "trace/span_data.h"

static const char tp_in[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

static void b_memcpy55(void *arg, uint64_t n, int tid)
{
	char out[64];
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("" : : "r"(tp_in) : "memory");
		memcpy(out, tp_in, 55);
		BENCH_KEEP(out[7]);
	}
}

static void b_tp_parse(void *arg, uint64_t n, int tid)
{
	sonde_traceparent tp;
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("" : : "r"(tp_in) : "memory");
		if (sonde_traceparent_parse(tp_in, 55, &tp) == SONDE_OK)
			BENCH_KEEP(tp.flags);
	}
}

static void b_tp_format(void *arg, uint64_t n, int tid)
{
	const sonde_traceparent *tp = arg;
	char out[SONDE_TRACEPARENT_BUFSZ];
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("" : : "r"(tp) : "memory");
		BENCH_KEEP(sonde_traceparent_format(tp, out, sizeof(out)));
		BENCH_KEEP(out[40]);
	}
}

typedef struct ts_arg {
	sonde_tracestate *ts;
	const char *s;
	size_t len;
} ts_arg;

static void b_ts_parse(void *arg, uint64_t n, int tid)
{
	ts_arg *a = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		BENCH_KEEP(sonde_tracestate_parse(a->ts, a->s, a->len));
}

static void b_trace_id(void *arg, uint64_t n, int tid)
{
	uint8_t id[16];
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		sonde_trace_id_generate(id);
		BENCH_KEEP(id[3]);
	}
}

static void b_span_id(void *arg, uint64_t n, int tid)
{
	uint8_t id[8];
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		sonde_span_id_generate(id);
		BENCH_KEEP(id[3]);
	}
}

static void b_span(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		sonde_span s;
		sonde_span_start(&s, "bench");
		sonde_span_end(&s);
		BENCH_KEEP(s.duration_ns);
	}
}

/* The span: start, three attributes (string, int, bool), end. */
static void b_span3(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		sonde_span s;
		sonde_span_start(&s, "bench");
		sonde_span_set_str(&s, "http.route", "/users/{id}");
		sonde_span_set_int(&s, "http.response.status_code", 200);
		sonde_span_set_bool(&s, "cache.hit", true);
		sonde_span_end(&s);
		BENCH_KEEP(s.duration_ns);
	}
}

/* A processor that frees each record at once: what recording costs the
 * caller, before any exporter queue exists. */
static void free_record(sonde__span_data *d, void *arg)
{
	(void)arg;
	sonde__span_data_free(d);
}

BENCH(trace)
{
	sonde_traceparent tp;
	char hdr[2048];
	size_t len = 0;
	ts_arg ta;
	double base;
	sonde_registry *r;

	if (sonde_traceparent_parse(tp_in, 55, &tp) != SONDE_OK)
		return;
	/* a realistic full header: 32 vendors, "vendorNN=<16 hex>" */
	for (int i = 0; i < 32; i++)
		len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "%svendor%02d=%016x",
		                        i ? "," : "", i, 0x9abcdef0u + (unsigned)i);
	ta.ts = sonde_tracestate_new();
	ta.s = hdr;
	ta.len = len;
	if (!ta.ts || sonde_tracestate_parse(ta.ts, hdr, len) != SONDE_OK)
		return;

	base = bench_ns_per_op(1, b_memcpy55, NULL);
	bench_row("base.memcpy_55", "memcpy of the 55-byte header", base, "ns/op");
	bench_row("trace.traceparent_parse", "sonde_traceparent_parse (target <= 30 ns)",
	          bench_ns_per_op(1, b_tp_parse, NULL), "ns/op");
	bench_row("trace.traceparent_format", "sonde_traceparent_format (target <= 20 ns)",
	          bench_ns_per_op(1, b_tp_format, &tp), "ns/op");
	bench_row("trace.tracestate_parse_32",
	          "sonde_tracestate_parse, 32 members of 25 chars (831 bytes)",
	          bench_ns_per_op(1, b_ts_parse, &ta), "ns/op");
	bench_row("trace.trace_id", "sonde_trace_id_generate (target <= 10 ns)",
	          bench_ns_per_op(1, b_trace_id, NULL), "ns/op");
	bench_row("trace.span_id", "sonde_span_id_generate (target <= 10 ns)",
	          bench_ns_per_op(1, b_span_id, NULL), "ns/op");
	bench_row("trace.trace_id.2t", "sonde_trace_id_generate, 2 threads",
	          bench_ns_per_op(2, b_trace_id, NULL), "ns/op");
	bench_row("trace.span_start_end", "sonde_span_start + sonde_span_end, no histogram",
	          bench_ns_per_op(1, b_span, NULL), "ns/op");
	{
		static const sonde__span_processor proc = {free_record, NULL};
		double plain = bench_ns_per_op(1, b_span3, NULL), rec;
		bench_row("trace.span_3attrs",
		          "sampled span start + 3 attributes + end, not recorded (no exporter)",
		          plain, "ns/op");
		sonde__trace_set_processor(&proc);
		rec = bench_ns_per_op(1, b_span3, NULL);
		sonde__trace_set_processor(NULL);
		bench_row("trace.span_3attrs_recorded",
		          "same, recorded: the record made at start, name and attributes copied, "
		          "freed at end",
		          rec, "ns/op");
		bench_row("trace.span_3attrs_recorded_ratio", "recorded / not recorded",
		          rec / plain, "x");
	}
	r = sonde_registry_new();
	if (r && sonde_trace_enable_span_metrics(r, NULL) == SONDE_OK) {
		bench_row("trace.span_start_end_hist",
		          "same, with the span_duration_seconds histogram",
		          bench_ns_per_op(1, b_span, NULL), "ns/op");
		if (sonde_trace_set_span_histogram(NULL) != SONDE_OK)
			return;
	}
	sonde_registry_free(r);
	sonde_tracestate_free(ta.ts);
}
