// bench/peers/bench_peers.cpp - sonde beside its peers in one run, on the
// same workloads and the same harness (bench/bench_main.c): prometheus-cpp
// (Debian's prometheus-cpp-dev) for counters, label lookup, histograms,
// summaries and the exposition; spdlog (libspdlog-dev, async logger) for a
// log call with three fields and the backend's throughput. Each row gives
// sonde's figure, the peer's, and peer / sonde (above 1: sonde is faster).
// `make bench-peers`; not run in CI.
#include <algorithm>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>
#include <spdlog/async.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "../bench.h"
#include "sonde.h"

namespace {

void pair_rows(const char *id, const char *what, double sonde_ns, double peer_ns, const char *unit)
{
	std::string a = std::string(id) + ".sonde", b = std::string(id) + ".peer";
	bench_row(a.c_str(), what, sonde_ns, unit);
	bench_row(b.c_str(), "the same, the peer", peer_ns, unit);
	bench_ratio((std::string(id) + ".ratio").c_str(), "peer / sonde (above 1: sonde faster)",
	            peer_ns / sonde_ns, nullptr);
}

// ---- counters -----------------------------------------------------------------------------

void s_inc(void *arg, uint64_t n, int)
{
	auto *c = static_cast<sonde_counter *>(arg);
	for (uint64_t i = 0; i < n; i++)
		sonde_counter_inc(c);
}

void p_inc(void *arg, uint64_t n, int)
{
	auto *c = static_cast<prometheus::Counter *>(arg);
	for (uint64_t i = 0; i < n; i++)
		c->Increment();
}

// ---- label lookup: 2 realistic values in a family of 101 children ---------------------------

const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
const char *const routes[] = {"/api/v1/users/:id",      "/api/v1/orders",
                              "/api/v1/orders/:id/items", "/healthz",
                              "/api/v1/recommendations", "/api/v2/products/:sku/reviews"};

struct lookup_arg {
	sonde_family *sf;
	prometheus::Family<prometheus::Counter> *pf;
};

void s_lookup(void *arg, uint64_t n, int)
{
	auto *a = static_cast<lookup_arg *>(arg);
	for (uint64_t i = 0; i < n; i++)
		sonde_counter_inc(sonde_counter_with(a->sf, "GET", "/api/v1/users/:id"));
}

void p_lookup(void *arg, uint64_t n, int)
{
	auto *a = static_cast<lookup_arg *>(arg);
	for (uint64_t i = 0; i < n; i++)
		a->pf->Add({{"method", "GET"}, {"route", "/api/v1/users/:id"}}).Increment();
}

// ---- histograms and summaries ------------------------------------------------------------------

void s_hist(void *arg, uint64_t n, int)
{
	auto *h = static_cast<sonde_histogram *>(arg);
	for (uint64_t i = 0; i < n; i++)
		sonde_histogram_observe(h, (double)(i & 1023) * 0.001);
}

void p_hist(void *arg, uint64_t n, int)
{
	auto *h = static_cast<prometheus::Histogram *>(arg);
	for (uint64_t i = 0; i < n; i++)
		h->Observe((double)(i & 1023) * 0.001);
}

void s_summ(void *arg, uint64_t n, int)
{
	auto *s = static_cast<sonde_summary *>(arg);
	for (uint64_t i = 0; i < n; i++)
		sonde_summary_observe(s, (double)(i & 1023) * 0.001);
}

void p_summ(void *arg, uint64_t n, int)
{
	auto *s = static_cast<prometheus::Summary *>(arg);
	for (uint64_t i = 0; i < n; i++)
		s->Observe((double)(i & 1023) * 0.001);
}

// ---- exposition: 10 000 series, a fresh string each scrape (both) -----------------------

void s_expose(void *arg, uint64_t n, int)
{
	auto *r = static_cast<sonde_registry *>(arg);
	for (uint64_t i = 0; i < n; i++) {
		sonde_buf b = SONDE_BUF_INIT;
		if (sonde_expose(r, SONDE_FORMAT_TEXT, &b) == SONDE_OK)
			BENCH_KEEP(b.len);
		sonde_buf_destroy(&b);
	}
}

void p_expose(void *arg, uint64_t n, int)
{
	auto *r = static_cast<prometheus::Registry *>(arg);
	prometheus::TextSerializer ser;
	for (uint64_t i = 0; i < n; i++) {
		std::string out = ser.Serialize(r->Collect());
		BENCH_KEEP(out.size());
	}
}

// ---- logging: a call with a message and three fields --------------------------------------

int null_line(void *, sonde_log_level, const char *, size_t)
{
	return 0;
}

void s_log(void *arg, uint64_t n, int)
{
	auto *l = static_cast<sonde_logger *>(arg);
	for (uint64_t i = 0; i < n; i++)
		LOG_INFO(l, "request done", LOG_INT("status", 200), LOG_STR("path", "/api/v1/users"),
		         LOG_DOUBLE("ms", 1.25 + (double)(i & 7)));
}

void p_log(void *arg, uint64_t n, int)
{
	auto *l = static_cast<spdlog::logger *>(arg);
	for (uint64_t i = 0; i < n; i++)
		l->info("request done status={} path={} ms={}", 200, "/api/v1/users",
		        1.25 + (double)(i & 7));
}

// The caller's cost when the queue never fills: bursts of 20 calls timed
// as one bracket, a 20 us pause after each (the backend drains), the
// median over bursts of the per-call mean, less an empty bracket. The
// tight-loop row above shows each logger's behavior when the producer
// outruns the backend (sonde drops and counts, spdlog overwrites).
template <typename F> double burst20_paced(F call)
{
	enum { BURSTS = 4000, BURST = 20 };
	std::vector<double> b(BURSTS), e(BURSTS);
	struct timespec gap = {0, 20000};

	for (int i = 0; i < BURSTS; i++) {
		uint64_t t0 = bench_now_ns();
		e[i] = (double)(bench_now_ns() - t0);
	}
	std::sort(e.begin(), e.end());
	for (int w = 0; w < 2; w++) // the first pass warms up
		for (int i = 0; i < BURSTS; i++) {
			uint64_t t0 = bench_now_ns();
			for (int j = 0; j < BURST; j++)
				call(i * BURST + j);
			b[i] = ((double)(bench_now_ns() - t0) - e[BURSTS / 2]) / BURST;
			nanosleep(&gap, nullptr);
		}
	std::sort(b.begin(), b.end());
	return b[BURSTS / 2];
}

} // namespace

BENCH(peers)
{
	// counters
	sonde_registry *sr = sonde_registry_new();
	auto pr = std::make_shared<prometheus::Registry>();
	sonde_counter *sc = sonde_counter_new(sr, "bench_c_total", "c");
	auto &pc = prometheus::BuildCounter().Name("bench_c_total").Help("c").Register(*pr).Add({});
	pair_rows("peers.counter_inc.1t", "counter increment, 1 thread", bench_ns_per_op(1, s_inc, sc),
	          bench_ns_per_op(1, p_inc, &pc), "ns/op");
	pair_rows("peers.counter_inc.2t", "counter increment, 2 threads, one counter",
	          bench_ns_per_op(2, s_inc, sc), bench_ns_per_op(2, p_inc, &pc), "ns/op");

	// lookup: 101 children, realistic values
	{
		static const char *const ln[] = {"method", "route"};
		lookup_arg a;
		a.sf = sonde_counter_family_new(sr, "bench_req_total", "r", 2, ln);
		a.pf = &prometheus::BuildCounter().Name("bench_req_total").Help("r").Register(*pr);
		for (int i = 0; i < 101; i++) {
			std::string route = std::string(routes[i % 6]) + (i < 6 ? "" : "/" + std::to_string(i));
			sonde_counter_inc(sonde_counter_with(a.sf, methods[i % 5], route.c_str()));
			a.pf->Add({{"method", methods[i % 5]}, {"route", route}}).Increment();
		}
		pair_rows("peers.lookup_2labels.1t",
		          "lookup + inc, 2 label values, 101 children, realistic values",
		          bench_ns_per_op(1, s_lookup, &a), bench_ns_per_op(1, p_lookup, &a), "ns/op");
	}

	// histogram, 10 buckets
	{
		const double b[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
		sonde_histogram *sh = sonde_histogram_new(sr, "bench_h_seconds", "h", b, 10);
		auto &ph = prometheus::BuildHistogram().Name("bench_h_seconds").Help("h").Register(*pr).Add(
		        {}, prometheus::Histogram::BucketBoundaries{b, b + 10});
		pair_rows("peers.histogram_observe.1t", "histogram observe, 10 buckets",
		          bench_ns_per_op(1, s_hist, sh), bench_ns_per_op(1, p_hist, &ph), "ns/op");
	}

	// summary: 0.5, 0.9, 0.99 over a sliding window
	{
		sonde_summary *ss = sonde_summary_new(sr, "bench_s_seconds", "s"); /* 0.5 0.9 0.99 */
		auto &ps = prometheus::BuildSummary().Name("bench_s_seconds").Help("s").Register(*pr).Add(
		        {}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}});
		pair_rows("peers.summary_observe.1t", "summary observe, quantiles 0.5 0.9 0.99",
		          bench_ns_per_op(1, s_summ, ss), bench_ns_per_op(1, p_summ, &ps), "ns/op");
	}

	// exposition of 10 000 series (gauges with one label), fresh output
	{
		static const char *const ln[] = {"id"};
		sonde_registry *er = sonde_registry_new();
		prometheus::Registry per;
		sonde_family *sf = sonde_gauge_family_new(er, "bench_series", "s", 1, ln);
		auto &pf = prometheus::BuildGauge().Name("bench_series").Help("s").Register(per);
		for (int i = 0; i < 10000; i++) {
			std::string id = std::to_string(i);
			sonde_gauge_set(sonde_gauge_with(sf, id.c_str()), i);
			pf.Add({{"id", id}}).Set(i);
		}
		double s = bench_ns_per_op(1, s_expose, er), p = bench_ns_per_op(1, p_expose, &per);
		pair_rows("peers.expose_10k", "text exposition of 10 000 series, a new buffer each",
		          s / 1e6, p / 1e6, "ms/scrape");
		sonde_registry_free(er);
	}

	// logging: sonde's rings and backend to a null callback sink; spdlog's
	// async logger (8192-slot queue, overrun_oldest: never blocks) to a
	// null sink
	{
		sonde_log_sink_opts so;
		sonde_log_opts lo;
		sonde_log_sink_opts_init(&so);
		sonde_log_sink *sink = sonde_log_sink_callback(null_line, nullptr, &so);
		sonde_log_opts_init(&lo, "bench");
		lo.level_env = "";
		lo.sinks = &sink;
		lo.sink_count = 1;
		sonde_logger *sl = sonde_logger_new(&lo);
		auto tp = std::make_shared<spdlog::details::thread_pool>(8192, 1);
		auto pl = std::make_shared<spdlog::async_logger>(
		        "bench", std::make_shared<spdlog::sinks::null_sink_mt>(), tp,
		        spdlog::async_overflow_policy::overrun_oldest);
		pair_rows("peers.log_call_3fields.1t",
		          "log call, 3 fields, tight loop: the queue overflows (sonde drops, spdlog overwrites)",
		          bench_ns_per_op(1, s_log, sl), bench_ns_per_op(1, p_log, pl.get()), "ns/op");
		{
			spdlog::logger *plp = pl.get();
			double sb = burst20_paced([sl](int i) {
				LOG_INFO(sl, "request done", LOG_INT("status", 200),
				         LOG_STR("path", "/api/v1/users"), LOG_DOUBLE("ms", 1.25 + (double)(i & 7)));
			});
			double pb = burst20_paced([plp](int i) {
				plp->info("request done status={} path={} ms={}", 200, "/api/v1/users",
				          1.25 + (double)(i & 7));
			});
			pair_rows("peers.log_call_3fields.burst20",
			          "log call, 3 fields, bursts of 20 paced 20 us apart (queue never full), median",
			          sb, pb, "ns/call");
		}
		// backend throughput: 1 000 000 records written and drained
		{
			// both block when full: every record is formatted and
			// handed to the sink (sonde's default policy would drop)
			const uint64_t n = 1000000;
			lo.overflow = SONDE_LOG_OVERFLOW_BLOCK;
			sonde_logger *bl = sonde_logger_new(&lo);
			sonde_log_stats st0, st1;
			if (!bl || sonde_log_stats_get(&st0) != SONDE_OK)
				return;
			uint64_t t0 = bench_now_ns();
			s_log(bl, n, 0);
			if (sonde_log_flush() != SONDE_OK)
				return;
			double s = (double)(bench_now_ns() - t0);
			if (sonde_log_stats_get(&st1) != SONDE_OK || st1.dropped != st0.dropped)
				fprintf(stderr, "bench peers: the blocking logger dropped records\n");
			sonde_logger_free(bl);
			auto tp2 = std::make_shared<spdlog::details::thread_pool>(8192, 1);
			auto pl2 = std::make_shared<spdlog::async_logger>(
			        "bench2", std::make_shared<spdlog::sinks::null_sink_mt>(), tp2,
			        spdlog::async_overflow_policy::block);
			t0 = bench_now_ns();
			p_log(pl2.get(), n, 0);
			pl2.reset();
			tp2.reset(); // joins the worker once the queue is drained
			double p = (double)(bench_now_ns() - t0);
			bench_row("peers.log_backend.sonde", "1 000 000 records written and drained",
			          (double)n / (s / 1e9) / 1e6, "M rec/s");
			bench_row("peers.log_backend.peer", "the same, spdlog (blocking queue)",
			          (double)n / (p / 1e9) / 1e6, "M rec/s");
			bench_ratio("peers.log_backend.ratio", "sonde / peer throughput (above 1: sonde faster)",
			            p / s, nullptr);
		}
		sonde_logger_free(sl);
		sonde_log_sink_free(sink);
	}
	sonde_registry_free(sr);
}
