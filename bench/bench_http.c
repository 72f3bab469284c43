/*
 * bench/bench_http.c - the caller's cost of sonde_http_request_begin +
 * _end (no access log), beside the same work done by hand with the public
 * calls (extract, span, three attributes, counter and histogram children
 * with exemplars, in-flight gauge) in the same run.
 */
#include <string.h>

#include "bench.h"
#include "sonde.h"

typedef struct http_arg {
	sonde_http_server *s;
	sonde_header h[2];
	size_t nh;
	/* by hand */
	sonde_family *requests, *duration;
	sonde_gauge *in_flight;
} http_arg;

static void b_http(void *arg, uint64_t n, int tid)
{
	http_arg *a = arg;
	sonde_http_request rq;
	sonde_http_request_info in;
	(void)tid;

	sonde_http_request_info_init(&in, "GET", "/users/:id");
	in.headers = a->h;
	in.nheaders = a->nh;
	for (uint64_t i = 0; i < n; i++) {
		if (sonde_http_request_begin(a->s, &rq, &in) == SONDE_OK)
			sonde_http_request_end(&rq, 200, 512);
		BENCH_KEEP(rq.t0_mono_ns);
	}
}

static void b_by_hand(void *arg, uint64_t n, int tid)
{
	http_arg *a = arg;
	sonde_trace_carrier *c = sonde_trace_carrier_new();
	(void)tid;

	for (uint64_t i = 0; i < n; i++) {
		sonde_span span;
		int64_t t0 = sonde_now_mono_ns();
		if (sonde_trace_extract(c, a->h, a->nh) != SONDE_OK)
			break;
		sonde_span_start_child_of(&span, "GET /users/:id", sonde_trace_carrier_context(c));
		sonde_span_set_kind(&span, SONDE_SPAN_KIND_SERVER);
		sonde_span_set_str(&span, "http.request.method", "GET");
		sonde_span_set_str(&span, "http.route", "/users/:id");
		sonde_gauge_inc(a->in_flight);
		sonde_counter_add_exemplar(
		        sonde_counter_with(a->requests, "GET", "/users/:id", "200"), 1, NULL);
		sonde_histogram_observe_exemplar(
		        sonde_histogram_with(a->duration, "GET", "/users/:id", "200"),
		        (double)(sonde_now_mono_ns() - t0) / 1e9, NULL);
		sonde_gauge_dec(a->in_flight);
		sonde_span_set_int(&span, "http.response.status_code", 200);
		sonde_span_end(&span);
		BENCH_KEEP(span.duration_ns);
	}
	sonde_trace_carrier_free(c);
}

BENCH(http)
{
	static const char *const labels[] = {"method", "route", "status"};
	sonde_registry *r = sonde_registry_new(), *r2 = sonde_registry_new();
	sonde_http_server_opts o;
	http_arg a;
	double api, hand, nohdr;

	memset(&a, 0, sizeof(a));
	sonde_http_server_opts_init(&o);
	o.registry = r;
	a.s = sonde_http_server_new(&o);
	a.h[0] = (sonde_header){"traceparent", 11,
	                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55};
	a.h[1] = (sonde_header){"x-request-id", 12, "req-1234", 8};
	a.nh = 2;
	a.requests = sonde_counter_family_new(r2, "http_requests_total", "x", 3, labels);
	a.duration = sonde_histogram_family_new(r2, "http_request_duration_seconds", "x", NULL, 0,
	                                        3, labels);
	a.in_flight = sonde_gauge_new(r2, "http_requests_in_flight", "x");
	if (!a.s || !a.requests || !a.duration || !a.in_flight)
		return;
	api = bench_ns_per_op(1, b_http, &a);
	hand = bench_ns_per_op(1, b_by_hand, &a);
	bench_row("http.request_begin_end",
	          "sonde_http_request_begin + _end: traceparent + x-request-id in, span, counter, "
	          "histogram, in-flight, no access log",
	          api, "ns/op");
	bench_row("http.request_by_hand",
	          "the same with the public calls by hand (extract, span, 3 attributes, "
	          "counter + histogram with exemplars, gauge)",
	          hand, "ns/op");
	bench_ratio("http.request_api_vs_hand", "begin + end / by hand", api / hand, NULL);
	a.nh = 0;
	nohdr = bench_ns_per_op(1, b_http, &a);
	bench_row("http.request_begin_end_new_trace",
	          "begin + end with no headers: a new trace and a UUID v4 request id", nohdr,
	          "ns/op");
	bench_row("http.request_begin_end.2t", "begin + end, 2 threads, same route",
	          (a.nh = 2, bench_ns_per_op(2, b_http, &a)), "ns/op");
	sonde_http_server_free(a.s);
	sonde_registry_free(r);
	sonde_registry_free(r2);
}
