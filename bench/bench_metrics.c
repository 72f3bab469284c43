/* bench/bench_metrics.c - the metrics hot path beside its baselines:
 * a plain add, an atomic fetch_add and a mutex-guarded add, 1 and 2
 * threads, all in the same run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "bench.h"
#include "sonde.h"

/* ---- baselines ------------------------------------------------------------ */
typedef struct padded {
	_Alignas(64) uint64_t v;
} padded;
static padded plain[16];
static _Alignas(64) _Atomic uint64_t shared_atomic;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Alignas(64) uint64_t mutexed;

static void b_plain(void *arg, uint64_t n, int tid)
{
	uint64_t *p = &plain[tid].v;
	(void)arg;
	for (uint64_t i = 0; i < n; i++) {
		/* keep the value in memory: one add to memory per iteration */
		__asm__ volatile("" : "+m"(*p));
		(*p)++;
	}
}

/* The peer baselines' lim.tls_inc: a plain ++ on a thread-local, kept in
 * memory (what a hand-written per-thread counter costs). */
static __thread uint64_t tls_counter;

static void b_tls_inc(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("" : "+m"(tls_counter));
		tls_counter++;
	}
}

static void b_fetch_add(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		atomic_fetch_add_explicit(&shared_atomic, 1, memory_order_relaxed);
}

static void b_mutex(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		mutexed++;
		pthread_mutex_unlock(&mu);
	}
}

/* The median of v[0..n) (sorts v; n <= 16). */
static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- sonde ---------------------------------------------------------------- */
static void b_counter_inc(void *arg, uint64_t n, int tid)
{
	sonde_counter *c = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_counter_inc(c);
}

static void b_counter_lookup(void *arg, uint64_t n, int tid)
{
	sonde_family *f = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_counter_inc(sonde_counter_with(f, "GET", "200"));
}

/* Realistic label values: a method and a route template of 10-30 bytes,
 * among 101 children; the variadic call and the array call. */
static void b_lookup_route(void *arg, uint64_t n, int tid)
{
	sonde_family *f = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_counter_inc(sonde_counter_with(f, "GET", "/api/v1/users/:id"));
}

static void b_lookup_route_array(void *arg, uint64_t n, int tid)
{
	static const char *const v[] = {"GET", "/api/v1/users/:id"};
	static const size_t lens[] = {3, 17};
	sonde_family *f = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_counter_inc(sonde_counter_labels(f, 2, v, lens));
}

METRIC_DEFINE_COUNTER(bench_macro_c, "bench_macro_total", "Macro bench.");
METRIC_DEFINE_COUNTER_FAMILY(bench_macro_l, "bench_macro_labels_total", "Macro bench.", "method",
                             "code");

static void b_macro_inc(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		METRIC_INC(bench_macro_c);
}

static void b_macro_labels(void *arg, uint64_t n, int tid)
{
	(void)arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		METRIC_INC_LABELS(bench_macro_l, "GET", "200");
}

static void b_gauge_set(void *arg, uint64_t n, int tid)
{
	sonde_gauge *g = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_gauge_set(g, (double)i);
}

static double median3(const double *v)
{
	double a = v[0], b = v[1], c = v[2];
	if (a > b) {
		double t = a;
		a = b;
		b = t;
	}
	return c < a ? a : c > b ? b : c;
}

/* The same log-uniform values in [0.001, 10) as the peer baselines. */
static double values[4096];

static void b_observe(void *arg, uint64_t n, int tid)
{
	sonde_histogram *h = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_histogram_observe(h, values[i & 4095]);
}

BENCH(metrics)
{
	sonde_registry *r = sonde_registry_new();
	const char *labels[] = {"method", "code"};
	const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
	sonde_counter *c = sonde_counter_new(r, "bench_total", "Bench.");
	sonde_family *f = sonde_counter_family_new(r, "bench_labels_total", "Bench.", 2, labels);
	sonde_gauge *g = sonde_gauge_new(r, "bench_gauge", "Bench.");
	sonde_histogram *h = sonde_histogram_new(r, "bench_seconds", "Bench.", bounds, 10);
	double plain1, tls1, inc1, inc2;
	uint64_t x = 88172645463325252ull;
	char id[64];

	for (int i = 0; i < 4096; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		values[i] = 0.001 * __builtin_pow(10000.0, (double)(x % 1000000) / 1e6);
	}
	/* 100 children in the family, as a service would have */
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "%d", i);
		sonde_counter_inc(sonde_counter_with(f, "POST", id));
	}

	plain1 = bench_ns_per_op(1, b_plain, NULL);
	bench_row("base.plain_add.1t", "plain non-atomic add to memory, 1 thread", plain1, "ns/op");
	bench_row("base.plain_add.2t", "same, 2 threads, own cache lines",
	          bench_ns_per_op(2, b_plain, NULL), "ns/op");
	tls1 = bench_ns_per_op(1, b_tls_inc, NULL);
	bench_row("base.tls_inc.1t", "plain ++ on a __thread variable (peer notes' lim.tls_inc)",
	          tls1, "ns/op");
	bench_row("base.fetch_add.1t", "atomic_fetch_add relaxed, 1 thread",
	          bench_ns_per_op(1, b_fetch_add, NULL), "ns/op");
	bench_row("base.fetch_add.2t", "same counter, 2 threads",
	          bench_ns_per_op(2, b_fetch_add, NULL), "ns/op");
	bench_row("base.mutex.1t", "mutex lock/add/unlock, 1 thread",
	          bench_ns_per_op(1, b_mutex, NULL), "ns/op");
	bench_row("base.mutex.2t", "same mutex, 2 threads", bench_ns_per_op(2, b_mutex, NULL),
	          "ns/op");

	inc1 = bench_ns_per_op(1, b_counter_inc, c);
	inc2 = bench_ns_per_op(2, b_counter_inc, c);
	bench_row("counter.inc_handle.1t", "sonde_counter_inc via handle, 1 thread", inc1, "ns/op");
	bench_row("counter.inc_handle.2t", "same counter, 2 threads", inc2, "ns/op");
	bench_row("counter.inc_macro.1t", "METRIC_INC, 1 thread",
	          bench_ns_per_op(1, b_macro_inc, NULL), "ns/op");
	bench_row("counter.inc_lookup_2labels.1t",
	          "sonde_counter_with(f,\"GET\",\"200\") + inc, 101 children",
	          bench_ns_per_op(1, b_counter_lookup, f), "ns/op");
	bench_row("counter.inc_lookup_2labels.2t", "same, 2 threads",
	          bench_ns_per_op(2, b_counter_lookup, f), "ns/op");
	{
		static const char *const ln[] = {"method", "route"};
		static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
		static const char *const routes[] = {
		        "/api/v1/users/:id",        "/api/v1/orders",
		        "/api/v1/orders/:id/items", "/healthz",
		        "/api/v1/recommendations",  "/api/v2/products/:sku/reviews"};
		sonde_family *fr = sonde_counter_family_new(NULL, "bench_route_total", "r", 2, ln);
		char route[64];
		for (int i = 0; i < 101; i++) {
			if (i < 6)
				snprintf(route, sizeof(route), "%s", routes[i]);
			else
				snprintf(route, sizeof(route), "%s/%d", routes[i % 6], i);
			sonde_counter_inc(sonde_counter_with(fr, methods[i % 5], route));
		}
		bench_row(
		        "counter.inc_lookup_route.1t",
		        "sonde_counter_with(\"GET\", route of 17 bytes), 101 children (target 25)",
		        bench_ns_per_op(1, b_lookup_route, fr), "ns/op");
		bench_row("counter.inc_lookup_route_array.1t",
		          "same through sonde_counter_labels (values and lengths)",
		          bench_ns_per_op(1, b_lookup_route_array, fr), "ns/op");
	}
	bench_row("counter.inc_macro_labels.1t",
	          "METRIC_INC_LABELS with constant values (site cache)",
	          bench_ns_per_op(1, b_macro_labels, NULL), "ns/op");
	bench_row("gauge.set.1t", "sonde_gauge_set, 1 thread", bench_ns_per_op(1, b_gauge_set, g),
	          "ns/op");
	bench_row("histogram.observe_10b.1t", "sonde_histogram_observe, 10 buckets, 1 thread",
	          bench_ns_per_op(1, b_observe, h), "ns/op");
	bench_row("histogram.observe_10b.2t", "same histogram, 2 threads",
	          bench_ns_per_op(2, b_observe, h), "ns/op");
	{
		/* native histograms on the same values: native only (factor 1.1,
		 * schema 3, 160-bucket limit) and native + the same 10 classic
		 * buckets; client_golang publishes about 30 ns per native observe */
		sonde_metric_opts o;
		sonde_histogram *nh, *nb;
		double native1, both1, cl[3], na[3], bo[3], rn[3], rb[3];
		int k;
		sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "bench_native_seconds", "Bench.");
		o.native = SONDE_NATIVE_ONLY;
		nh = sonde_histogram_with_n(sonde_family_new(r, &o), 0);
		sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "bench_both_seconds", "Bench.");
		o.native = SONDE_NATIVE_AND_CLASSIC;
		o.buckets = bounds;
		o.bucket_count = 10;
		nb = sonde_histogram_with_n(sonde_family_new(r, &o), 0);
		/* three back-to-back rounds of classic, native, native + classic;
		 * each ratio is taken within its round and the median reported,
		 * so load that drifts between rounds (a shared machine) moves
		 * both sides of a ratio */
		for (k = 0; k < 3; k++) {
			cl[k] = bench_ns_per_op(1, b_observe, h);
			na[k] = bench_ns_per_op(1, b_observe, nh);
			bo[k] = bench_ns_per_op(1, b_observe, nb);
			rn[k] = na[k] / cl[k];
			rb[k] = bo[k] / cl[k];
		}
		native1 = median3(na);
		both1 = median3(bo);
		bench_row("histogram.observe_native.1t",
		          "sonde_histogram_observe, native only (schema 3), 1 thread", native1,
		          "ns/op");
		bench_row("histogram.observe_native.2t", "same histogram, 2 threads",
		          bench_ns_per_op(2, b_observe, nh), "ns/op");
		bench_row("histogram.observe_native_classic.1t",
		          "native (schema 3) + 10 classic buckets, 1 thread", both1, "ns/op");
		bench_ratio("ratio.native_vs_classic_observe",
		            "native observe / classic 10-bucket observe (1 thread)", median3(rn),
		            "<= 1.5x");
		bench_ratio("ratio.native_classic_vs_classic_observe",
		            "native + classic observe / classic 10-bucket observe (1 thread)",
		            median3(rb), "");
	}
	bench_ratio("ratio.inc_handle_vs_plain", "counter inc via handle / plain add (1 thread)",
	            inc1 / plain1, "<= 2x");
	bench_ratio("ratio.inc_handle_vs_tls_inc",
	            "counter inc via handle / ++ on a __thread (1 thread)", inc1 / tls1, "");
	bench_ratio("ratio.inc_2t_vs_1t", "counter inc 2 threads / 1 thread, per op", inc2 / inc1,
	            "<= 1.5x");
	sonde_registry_free(r);
}

static void b_summary(void *arg, uint64_t n, int tid)
{
	sonde_summary *s = arg;
	(void)tid;
	for (uint64_t i = 0; i < n; i++)
		sonde_summary_observe(s, values[i & 4095]);
}

BENCH(summary)
{
	sonde_registry *r = sonde_registry_new();
	sonde_summary *s = sonde_summary_new(r, "bench_summary_seconds", "Bench.");

	bench_row("summary.observe.1t", "sonde_summary_observe, quantiles .5/.9/.99, 1 thread",
	          bench_ns_per_op(1, b_summary, s), "ns/op");
	bench_row("summary.observe.2t", "same summary, 2 threads", bench_ns_per_op(2, b_summary, s),
	          "ns/op");
	sonde_registry_free(r);
}

/* 100 000 counter series: 10 families x 10 000 children, 2 labels, as in
 * the peer baselines (prometheus-cpp 0.67-0.90 M samples/s end to end). */
BENCH(exposition)
{
	sonde_registry *r = sonde_registry_new();
	const char *labels[] = {"path", "code"};
	sonde_buf b = SONDE_BUF_INIT;
	sonde_expose_result res;

	/* _created is off by default; on here so the OpenMetrics row measures
	 * the same page as the figures of earlier runs */
	(void)sonde_registry_set_created(r, true);
	char name[64], path[64];
	uint64_t t0;
	int reps = 5;

	for (int f = 0; f < 10; f++) {
		sonde_metric_opts o;
		sonde_family *fam;
		snprintf(name, sizeof(name), "bench_expo_%d_total", f);
		sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, name, "Exposition bench.");
		o.label_names = labels;
		o.label_count = 2;
		o.max_children = 20000;
		fam = sonde_family_new(r, &o);
		for (int i = 0; i < 10000; i++) {
			snprintf(path, sizeof(path), "/api/v1/item/%d", i);
			sonde_counter_add(sonde_counter_with(fam, path, "200"), (double)i);
		}
	}
	/* each row: the median of the repetitions; "reused" renders into one
	 * buffer kept across scrapes (its memory stays), "fresh" into a new
	 * buffer every scrape, as the peers build a new string */
	double rate[3];
	for (int fmt = 0; fmt < 3; fmt++) {
		static const char *const ids[] = {"expose.text.100k", "expose.openmetrics.100k",
		                                  "expose.protobuf.100k"};
		static const char *const what[] = {
		        "text 0.0.4, 100k counter series, reused buffer, median",
		        "OpenMetrics, 100k counter series (+100k _created), reused buffer, median",
		        "protobuf delimited, 100k counter series, reused buffer, median"};
		double dts[16];
		for (int k = 0; k < reps; k++) {
			t0 = bench_now_ns();
			if (sonde_expose(r, (sonde_format)fmt, &b) != SONDE_OK)
				return;
			dts[k] = (double)(bench_now_ns() - t0);
		}
		rate[fmt] = 100000.0 / (median(dts, reps) / 1e9) / 1e6;
		bench_row(ids[fmt], what[fmt], rate[fmt], "M samp/s");
	}
	bench_ratio("ratio.protobuf_vs_text_expose", "protobuf / text 0.0.4 samples per second",
	            rate[2] / rate[0], ">= 1x");
	{
		double dts[16];
		for (int k = 0; k < reps; k++) {
			sonde_buf fresh = SONDE_BUF_INIT;
			t0 = bench_now_ns();
			if (sonde_expose(r, SONDE_FORMAT_TEXT, &fresh) != SONDE_OK)
				return;
			dts[k] = (double)(bench_now_ns() - t0);
			sonde_buf_destroy(&fresh);
		}
		bench_row("expose.text.100k.fresh",
		          "text 0.0.4, 100k series, a new buffer each scrape",
		          100000.0 / (median(dts, reps) / 1e9) / 1e6, "M samp/s");
	}
	{
		double dts[16];
		for (int k = 0; k < reps; k++) {
			t0 = bench_now_ns();
			if (sonde_expose_http(r, "text/plain", "gzip", &b, &res) != SONDE_OK)
				return;
			dts[k] = (double)(bench_now_ns() - t0);
		}
		bench_row("expose.text_gzip.100k",
		          res.content_encoding ? "text 0.0.4 + gzip level 1, 100k series, median"
		                               : "text (built without zlib), 100k series, median",
		          100000.0 / (median(dts, reps) / 1e9) / 1e6, "M samp/s");
	}
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}
