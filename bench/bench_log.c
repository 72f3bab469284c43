/* bench/bench_log.c - the log call beside a caller-thread snprintf+write
 * baseline, in the same run.
 *
 * Per-call latency (notes/peer-baselines.md, Method): each call bracketed
 * by lfence;rdtsc;lfence ... rdtscp;lfence, the mean cost of an empty
 * bracket subtracted, ticks converted at a TSC rate calibrated against
 * CLOCK_MONOTONIC. Calls come in bursts of 20 separated by nanosleep(20
 * us), so the ring never fills and the caller's cost is measured, not
 * back-pressure. Reported: p50, p99, p99.9, the mean of calls <= p90, and
 * the burst mean (a burst of 20 timed as one bracket, divided by 20; the
 * median over bursts). Each figure is the median of 3 repetitions after a
 * warm-up; 2 threads merge both threads' samples per repetition.
 * Message: "request served" + status (int), us (int), ratio (double).
 *
 * Issue 15: the same call inside a 2-field scope (user_id, session_id),
 * push + call + pop, and a call that sampling leaves out, each beside the
 * plain call. Because this VM's load moves figures between two rows
 * measured a second apart, the ratios are also taken from paired bursts:
 * one thread alternates a burst of each side (order swapped every pair),
 * and the medians of both are compared (log.paired.*). The scoped call is
 * also paired with the same two fields passed by the call itself: the
 * record carries the same values either way.
 *
 * Throughput: one producer logs 1 M records (block policy) to a file sink
 * on /dev/null; records/s = 1 M / (time until sonde_log_flush() returns):
 * the backend's rate, since the producer outruns it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench.h"
#include "sonde.h"
#include "sonde/log.h"

#define CALLS (bench_long ? 400000 : 40000)
#define BURST 20
#define REPS 3

static double ticks_per_ns;
static double empty_ticks;

static inline uint64_t t_begin(void)
{
	uint64_t t;
	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

static inline uint64_t t_end(void)
{
	unsigned aux;
	uint64_t t = __rdtscp(&aux);
	_mm_lfence();
	return t;
}

static void calibrate(void)
{
	uint64_t n0 = bench_now_ns(), t0 = __rdtsc(), n1, t1;
	struct timespec d = {0, 50000000};
	double sum = 0;
	int i;

	nanosleep(&d, NULL);
	n1 = bench_now_ns();
	t1 = __rdtsc();
	ticks_per_ns = (double)(t1 - t0) / (double)(n1 - n0);
	{
		/* the mean of the empty brackets up to p90: a plain mean would
		 * carry the odd interrupt or preemption (tens of us) */
		enum { NE = 100000 };
		double *e = malloc(sizeof(double) * NE);
		for (i = 0; i < NE; i++) {
			uint64_t a = t_begin(), b = t_end();
			e[i] = (double)(b - a);
		}
		bench_sort(e, NE);
		for (i = 0; i <= NE * 9 / 10; i++)
			sum += e[i];
		empty_ticks = sum / (NE * 9 / 10 + 1);
		free(e);
	}
}

static void pin(int cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(cpu % (n > 0 ? n : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---- the two things measured ------------------------------------------------------ */

typedef void (*call_fn)(void *arg, int i);

static void call_sonde(void *arg, int i)
{
	sonde_logger *l = arg;
	LOG_INFO(l, "request served", LOG_INT("status", 200), LOG_INT("us", i),
	         LOG_DOUBLE("ratio", 0.75));
}

/* The same call below the logger's level: kept by the flight recorder,
 * or dropped at the level check when it is off. */
static void call_debug(void *arg, int i)
{
	sonde_logger *l = arg;
	LOG_DEBUG(l, "request served", LOG_INT("status", 200), LOG_INT("us", i),
	          LOG_DOUBLE("ratio", 0.75));
}

static int devnull_fd = -1;

/* Baseline: the same JSON line formatted with snprintf on the caller's
 * thread and written there. */
static void call_snprintf(void *arg, int i)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	int n;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	             "{\"@timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"level\":\"info\","
	             "\"message\":\"request served\",\"service\":\"bench\",\"status\":%d,\"us\":%d,"
	             "\"ratio\":%.17g}\n",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             ts.tv_nsec / 1000, 200, i, 0.75);
	if (write(devnull_fd, line, (size_t)n) < 0)
		BENCH_KEEP(n);
}

/* ---- per-call latency ------------------------------------------------------------------ */

typedef struct lat_arg {
	call_fn fn;
	void *arg;
	int calls;
	int cpu;
	double *samples; /* calls entries, ns */
	double *bursts;  /* calls / BURST entries, ns per call */
	pthread_barrier_t *bar;
} lat_arg;

static void *lat_thread(void *p)
{
	lat_arg *a = p;
	struct timespec gap = {0, 20000};
	int i, j, k = 0, b = 0;

	pin(a->cpu);
	pthread_barrier_wait(a->bar);
	for (i = 0; i < a->calls; i += BURST) {
		/* half the bursts time each call, half time the whole burst */
		if ((i / BURST) % 2 == 0) {
			for (j = 0; j < BURST; j++) {
				uint64_t t0 = t_begin();
				a->fn(a->arg, i + j);
				uint64_t t1 = t_end();
				a->samples[k++] = ((double)(t1 - t0) - empty_ticks) / ticks_per_ns;
			}
		} else {
			uint64_t t0 = t_begin();
			for (j = 0; j < BURST; j++)
				a->fn(a->arg, i + j);
			uint64_t t1 = t_end();
			a->bursts[b++] = ((double)(t1 - t0) - empty_ticks) / ticks_per_ns / BURST;
		}
		nanosleep(&gap, NULL);
	}
	a->calls = k; /* samples taken */
	a->cpu = b;   /* bursts taken */
	return NULL;
}

typedef struct lat_result {
	double p50, p99, p999, mean_le_p90, burst;
} lat_result;

static lat_result one_rep(call_fn fn, void *arg, int threads)
{
	pthread_t th[2];
	lat_arg a[2];
	pthread_barrier_t bar;
	double *all, *bursts;
	size_t n = 0, nb = 0, i, p90;
	lat_result r;
	double sum = 0;

	pthread_barrier_init(&bar, NULL, (unsigned)threads);
	for (int t = 0; t < threads; t++) {
		a[t].fn = fn;
		a[t].arg = arg;
		a[t].calls = CALLS;
		a[t].cpu = t;
		a[t].samples = malloc(sizeof(double) * CALLS);
		a[t].bursts = malloc(sizeof(double) * (CALLS / BURST));
		a[t].bar = &bar;
		pthread_create(&th[t], NULL, lat_thread, &a[t]);
	}
	all = malloc(sizeof(double) * CALLS * 2);
	bursts = malloc(sizeof(double) * CALLS * 2 / BURST);
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		memcpy(all + n, a[t].samples, sizeof(double) * (size_t)a[t].calls);
		n += (size_t)a[t].calls;
		memcpy(bursts + nb, a[t].bursts, sizeof(double) * (size_t)a[t].cpu);
		nb += (size_t)a[t].cpu;
		free(a[t].samples);
		free(a[t].bursts);
	}
	pthread_barrier_destroy(&bar);
	bench_sort(all, n);
	bench_sort(bursts, nb);
	r.p50 = all[n / 2];
	r.p99 = all[n * 99 / 100];
	r.p999 = all[n * 999 / 1000];
	p90 = n * 90 / 100;
	for (i = 0; i <= p90; i++)
		sum += all[i];
	r.mean_le_p90 = sum / (double)(p90 + 1);
	r.burst = bursts[nb / 2];
	free(all);
	free(bursts);
	return r;
}

static double med3(double a, double b, double c)
{
	double v[3] = {a, b, c};
	bench_sort(v, 3);
	return v[1];
}

/* Prints the rows and returns the medians (for ratios). */
static lat_result latency_rows(const char *id, const char *what, call_fn fn, void *arg, int threads)
{
	lat_result r[REPS], m;
	char rid[64], rwhat[96];

	(void)one_rep(fn, arg, threads); /* warm-up */
	for (int i = 0; i < REPS; i++) {
		r[i] = one_rep(fn, arg, threads);
		if (fn != call_snprintf)
			if (sonde_log_flush() != SONDE_OK)
				fprintf(stderr, "flush: %s\n", sonde_last_error());
	}
#define ROW(field, suffix, desc)                                               \
	snprintf(rid, sizeof(rid), "%s.%dt.%s", id, threads, suffix);          \
	snprintf(rwhat, sizeof(rwhat), "%s, %d thr, %s", what, threads, desc); \
	bench_row(rid, rwhat, med3(r[0].field, r[1].field, r[2].field), "ns/call");
	ROW(p50, "p50", "p50");
	ROW(p99, "p99", "p99");
	ROW(p999, "p999", "p99.9");
	ROW(mean_le_p90, "mean_le_p90", "mean of calls <= p90");
	ROW(burst, "burst20", "burst mean (20 calls / 20), median");
#undef ROW
	m.p50 = med3(r[0].p50, r[1].p50, r[2].p50);
	m.p99 = med3(r[0].p99, r[1].p99, r[2].p99);
	m.p999 = med3(r[0].p999, r[1].p999, r[2].p999);
	m.mean_le_p90 = med3(r[0].mean_le_p90, r[1].mean_le_p90, r[2].mean_le_p90);
	m.burst = med3(r[0].burst, r[1].burst, r[2].burst);
	return m;
}

/* ---- where the backend runs ---------------------------------------------------------- */

/* Pins the log backend (the thread that names itself "sonde-log") to cpu,
 * or lets it run on every CPU again (cpu < 0). False when it is not found. */
static bool pin_backend(int cpu)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[32] = {0};
		cpu_set_t set;
		ssize_t len;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (len <= 0 || strncmp(comm, "sonde-log\n", 10) != 0)
			continue;
		CPU_ZERO(&set);
		if (cpu < 0) {
			for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
				CPU_SET((int)c, &set);
		} else {
			CPU_SET(cpu, &set);
		}
		found = sched_setaffinity((pid_t)atoi(e->d_name), sizeof(set), &set) == 0;
	}
	closedir(d);
	return found;
}

/* The burst mean depends on where the scheduler put the backend: on the
 * measuring thread's core (it drains in the caller's pauses, the record
 * lines never leave that core's cache) or on another (each line the
 * caller writes must first be taken back from the core that read it a lap
 * ago). The default rows above take whatever placement the run got; these
 * pin the backend both ways, so that the two cases are named. */
static double floor_burst(int cpu);

static void placement_rows(sonde_logger *l)
{
	static const struct {
		const char *id, *what;
		int cpu;
	} p[] = {{"log.backend_same_core", "backend pinned to the caller's core", 0},
	         {"log.backend_other_core", "backend pinned to another core", 1}};
	char rid[64], rwhat[128];

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	for (size_t k = 0; k < sizeof(p) / sizeof(p[0]); k++) {
		lat_result r[REPS];
		double fl;

		if (!pin_backend(p[k].cpu)) {
			fprintf(stderr, "bench log: the sonde-log thread was not found\n");
			return;
		}
		(void)one_rep(call_sonde, l, 1);
		for (int i = 0; i < REPS; i++)
			r[i] = one_rep(call_sonde, l, 1);
		snprintf(rid, sizeof(rid), "%s.1t.burst20", p[k].id);
		snprintf(rwhat, sizeof(rwhat), "LOG_INFO + 3 fields, %s, burst mean, median",
		         p[k].what);
		bench_row(rid, rwhat, med3(r[0].burst, r[1].burst, r[2].burst), "ns/call");
		fl = floor_burst(p[k].cpu);
		if (fl > 0) {
			snprintf(rid, sizeof(rid), "%s.floor.burst20", p[k].id);
			snprintf(
			        rwhat, sizeof(rwhat),
			        "bare ring, 56-byte record + release store, consumer placed alike");
			bench_row(rid, rwhat, fl, "ns/call");
			snprintf(rid, sizeof(rid), "%s.vs_floor", p[k].id);
			bench_ratio(rid, "sonde call / bare ring store, burst mean, same placement",
			            med3(r[0].burst, r[1].burst, r[2].burst) / fl, "");
		}
		snprintf(rid, sizeof(rid), "%s.1t.mean_le_p90", p[k].id);
		snprintf(rwhat, sizeof(rwhat), "the same, mean of calls <= p90");
		bench_row(rid, rwhat, med3(r[0].mean_le_p90, r[1].mean_le_p90, r[2].mean_le_p90),
		          "ns/call");
	}
	pin_backend(-1);
}

/* ---- the floor: a bare ring with the same record --------------------------------------- */

/* What the hardware charges any single-producer ring for the same traffic,
 * so the placement rows can be read against it: a 56-byte record (the size
 * of the bench call's record: a 32-byte header and three 8-byte values)
 * written with plain stores into a 128 KiB ring, published by a release
 * store; a consumer thread pinned like the backend reads every word and
 * sleeps 50 us (doubling to 1 ms) when it finds nothing, as the backend
 * does. No level check, no clock, no context, no prefetch: only the
 * stores and the lines they land on. */
#define FLOOR_CAP (128u * 1024u)
#define FLOOR_REC 56u

typedef struct floor_ring {
	_Alignas(64) _Atomic uint64_t wpos;
	uint64_t rpos_cache, drops;
	_Alignas(64) _Atomic uint64_t rpos;
	_Atomic int stop;
	uint64_t sum;
	_Alignas(64) uint8_t data[FLOOR_CAP];
} floor_ring;

static __attribute__((noinline)) void call_floor(void *arg, int i)
{
	floor_ring *f = arg;
	uint64_t w = atomic_load_explicit(&f->wpos, memory_order_relaxed);
	uint64_t off = w & (FLOOR_CAP - 1), tail = FLOOR_CAP - off;
	uint64_t need = tail < FLOOR_REC ? tail + FLOOR_REC : FLOOR_REC;
	uint64_t *p;

	if (w + need - f->rpos_cache > FLOOR_CAP) {
		f->rpos_cache = atomic_load_explicit(&f->rpos, memory_order_acquire);
		if (w + need - f->rpos_cache > FLOOR_CAP) {
			f->drops++;
			return;
		}
	}
	if (tail < FLOOR_REC) {
		w += tail;
		off = 0;
	}
	p = (uint64_t *)(void *)(f->data + off);
	p[0] = FLOOR_REC | (1ull << 32);
	p[1] = __rdtsc();
	p[2] = (uint64_t)(uintptr_t)f;
	p[3] = (uint64_t)(uintptr_t)arg;
	p[4] = 200;
	p[5] = (uint64_t)i;
	p[6] = 0x3fe8000000000000ull; /* 0.75 */
	atomic_store_explicit(&f->wpos, w + FLOOR_REC, memory_order_release);
}

static void *floor_consumer(void *arg)
{
	floor_ring *f = arg;
	unsigned sleep_us = 50;

	while (!atomic_load_explicit(&f->stop, memory_order_acquire)) {
		uint64_t r = atomic_load_explicit(&f->rpos, memory_order_relaxed);
		uint64_t w = atomic_load_explicit(&f->wpos, memory_order_acquire);

		if (r == w) {
			nanosleep(&(struct timespec){0, (long)sleep_us * 1000}, NULL);
			sleep_us = sleep_us * 2 > 1000 ? 1000 : sleep_us * 2;
			continue;
		}
		while (r != w) {
			uint64_t off = r & (FLOOR_CAP - 1);
			const uint64_t *p;

			if (FLOOR_CAP - off < FLOOR_REC) {
				r += FLOOR_CAP - off;
				continue;
			}
			p = (const uint64_t *)(const void *)(f->data + off);
			for (unsigned k = 0; k < FLOOR_REC / 8; k++)
				f->sum += p[k];
			r += FLOOR_REC;
		}
		atomic_store_explicit(&f->rpos, r, memory_order_release);
		sleep_us = 50;
	}
	return NULL;
}

/* The floor's burst mean with its consumer on cpu; < 0 when it could not
 * be measured. */
static double floor_burst(int cpu)
{
	floor_ring *f = aligned_alloc(64, sizeof(*f));
	pthread_t th;
	cpu_set_t set;
	lat_result r[REPS];

	if (!f)
		return -1;
	memset(f, 0, sizeof(*f));
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_create(&th, NULL, floor_consumer, f) != 0) {
		free(f);
		return -1;
	}
	pthread_setaffinity_np(th, sizeof(set), &set);
	(void)one_rep(call_floor, f, 1);
	for (int i = 0; i < REPS; i++)
		r[i] = one_rep(call_floor, f, 1);
	atomic_store_explicit(&f->stop, 1, memory_order_release);
	pthread_join(th, NULL);
	if (f->drops)
		fprintf(stderr, "bench log: the floor ring dropped %llu records\n",
		        (unsigned long long)f->drops);
	free(f);
	return med3(r[0].burst, r[1].burst, r[2].burst);
}

/* ---- issue 15: scoped fields and sampling -------------------------------------------- */

/* The same call inside a scope of two fields (user_id, session_id),
 * pushed once by the thread that runs the bracketed calls (a scope is per
 * thread: pushed on the measuring thread by the first call). */
static __thread sonde_log_scope bench_scope;
static __thread int bench_scoped;

static void call_scoped(void *arg, int i)
{
	if (!bench_scoped) {
		sonde_log_field f[] = {sonde_log_field_str("user_id", "u-1234567"),
		                       sonde_log_field_str("session_id", "5f2c9a0e8b7d")};
		if (sonde_log_scope_push(&bench_scope, f, 2) != SONDE_OK)
			fprintf(stderr, "bench log: scope: %s\n", sonde_last_error());
		bench_scoped = 1;
	}
	call_sonde(arg, i);
}

/* The same two fields passed by the call itself: what a scoped call is
 * measured against besides the plain call (the record carries the same
 * values either way). */
static void call_five(void *arg, int i)
{
	sonde_logger *l = arg;
	LOG_INFO(l, "request served", LOG_STR("user_id", "u-1234567"),
	         LOG_STR("session_id", "5f2c9a0e8b7d"), LOG_INT("status", 200), LOG_INT("us", i),
	         LOG_DOUBLE("ratio", 0.75));
}

/* A request's scope: push two fields, one log call, pop. */
static void call_push_log_pop(void *arg, int i)
{
	sonde_log_scope sc;
	sonde_log_field f[] = {sonde_log_field_str("user_id", "u-1234567"),
	                       sonde_log_field_str("session_id", "5f2c9a0e8b7d")};

	if (sonde_log_scope_push(&sc, f, 2) == SONDE_OK) {
		call_sonde(arg, i);
		if (sonde_log_scope_pop(&sc) != SONDE_OK)
			fprintf(stderr, "bench log: pop: %s\n", sonde_last_error());
	}
}

/* Paired bursts on one thread, so that both sides of a ratio see the same
 * machine: a burst of 20 calls of `a` and one of `b` (with `scope`
 * pushed around it when given, outside the timed bracket), in alternating
 * order, a pause, and so on; the medians of the per-call burst means. */
static void paired(call_fn a, void *aa, call_fn b, void *ba, sonde_log_scope *scope,
                   const sonde_log_field *sf, size_t sn, double *ma, double *mb)
{
	enum { PAIRS = 3000 };
	double *ra = malloc(sizeof(double) * PAIRS), *rb = malloc(sizeof(double) * PAIRS);
	struct timespec gap = {0, 20000};
	int k, j, side;

	pin(0);
	for (k = 0; k < PAIRS; k++) {
		/* the order alternates, so neither side always runs on the
		 * caches the other warmed */
		for (side = 0; side < 2; side++) {
			bool is_b = (side ^ (k & 1)) != 0;
			call_fn fn = is_b ? b : a;
			void *arg = is_b ? ba : aa;
			uint64_t t0, t1;

			if (is_b && scope && sonde_log_scope_push(scope, sf, sn) != SONDE_OK)
				fprintf(stderr, "bench log: push: %s\n", sonde_last_error());
			t0 = t_begin();
			for (j = 0; j < BURST; j++)
				fn(arg, k * BURST + j);
			t1 = t_end();
			if (is_b && scope && sonde_log_scope_pop(scope) != SONDE_OK)
				fprintf(stderr, "bench log: pop: %s\n", sonde_last_error());
			(is_b ? rb : ra)[k] =
			        ((double)(t1 - t0) - empty_ticks) / ticks_per_ns / BURST;
		}
		nanosleep(&gap, NULL);
		if (k % 500 == 499 && sonde_log_flush() != SONDE_OK)
			fprintf(stderr, "flush: %s\n", sonde_last_error());
	}
	bench_sort(ra, PAIRS);
	bench_sort(rb, PAIRS);
	*ma = ra[PAIRS / 2];
	*mb = rb[PAIRS / 2];
	free(ra);
	free(rb);
}

static void scope_and_sampling_rows(sonde_logger *l, lat_result plain, sonde_log_opts *o)
{
	lat_result r;
	sonde_logger *sl;

	r = latency_rows("log.scoped_call", "LOG_INFO + 3 fields in a 2-field scope", call_scoped,
	                 l, 1);
	bench_ratio("log.scoped_vs_plain.mean_le_p90",
	            "scoped call / plain call, mean of calls <= p90, same run",
	            r.mean_le_p90 / plain.mean_le_p90, "<= 1.2");
	bench_ratio("log.scoped_vs_plain.burst20", "scoped call / plain call, burst mean, same run",
	            r.burst / plain.burst, "<= 1.2");
	{
		/* the figure, paired: the same call with and without a
		 * 2-field scope, alternating bursts on one thread */
		sonde_log_scope sc;
		sonde_log_field f[] = {sonde_log_field_str("user_id", "u-1234567"),
		                       sonde_log_field_str("session_id", "5f2c9a0e8b7d")};
		double pa, pb;

		paired(call_sonde, l, call_sonde, l, &sc, f, 2, &pa, &pb);
		bench_row("log.paired.plain.burst20", "LOG_INFO + 3 fields, paired bursts, median",
		          pa, "ns/call");
		bench_row("log.paired.scoped.burst20",
		          "LOG_INFO + 3 fields in a 2-field scope, paired bursts, median", pb,
		          "ns/call");
		bench_ratio("log.paired.scoped_vs_plain",
		            "scoped / plain, paired bursts, same thread", pb / pa, "<= 1.2");
		paired(call_five, l, call_sonde, l, &sc, f, 2, &pa, &pb);
		bench_row("log.paired.five_fields.burst20",
		          "LOG_INFO + the 2 fields + 3 fields by the call, paired bursts", pa,
		          "ns/call");
		bench_ratio("log.paired.scoped_vs_five_fields",
		            "scoped / the same 2 fields passed by the call, paired bursts", pb / pa,
		            NULL);
	}
	r = latency_rows("log.scope_push_log_pop", "push 2 fields + LOG_INFO + 3 fields + pop",
	                 call_push_log_pop, l, 1);
	bench_ratio("log.push_log_pop_vs_plain.burst20",
	            "push + call + pop / plain call, burst mean, same run", r.burst / plain.burst,
	            NULL);
	/* sampling: first 1 per (long) interval, then none: every measured
	 * call is sampled out */
	o->sample_first = 1;
	o->sample_thereafter = 0;
	o->sample_interval_ms = 0xffffffffu;
	sl = sonde_logger_new(o);
	o->sample_first = 0;
	o->sample_interval_ms = 0;
	if (!sl)
		return;
	call_sonde(sl, 0);
	r = latency_rows("log.sampled_out", "LOG_INFO + 3 fields, sampled out", call_sonde, sl, 1);
	bench_ratio("log.sampled_out_vs_written.mean_le_p90",
	            "sampled-out call / written call, mean of calls <= p90, same run",
	            r.mean_le_p90 / plain.mean_le_p90, "< 1");
	bench_ratio("log.sampled_out_vs_written.burst20",
	            "sampled-out call / written call, burst mean, same run", r.burst / plain.burst,
	            "< 1");
	r = latency_rows("log.sampled_out", "LOG_INFO + 3 fields, sampled out", call_sonde, sl, 2);
	{
		double pa, pb;

		paired(call_sonde, l, call_sonde, sl, NULL, NULL, 0, &pa, &pb);
		bench_row("log.paired.written.burst20",
		          "LOG_INFO + 3 fields written, paired bursts", pa, "ns/call");
		bench_row("log.paired.sampled_out.burst20",
		          "LOG_INFO + 3 fields sampled out, paired bursts", pb, "ns/call");
		bench_ratio("log.paired.sampled_out_vs_written",
		            "sampled out / written, paired bursts, same thread", pb / pa, "< 1");
	}
	sonde_logger_free(sl);
}

/* ---- throughput -------------------------------------------------------------------------- */

static double throughput(void)
{
	sonde_log_sink_opts so;
	sonde_log_sink *s;
	sonde_log_opts o;
	sonde_logger *l;
	uint64_t t0, t1;
	const int n = 1000000;

	sonde_log_sink_opts_init(&so);
	s = sonde_log_sink_file("/dev/null", &so);
	sonde_log_opts_init(&o, "bench");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	o.overflow = SONDE_LOG_OVERFLOW_BLOCK;
	l = sonde_logger_new(&o);
	if (!l)
		return 0;
	t0 = bench_now_ns();
	/* three values that vary with every record: a counter, an int derived
	 * from it and a double, so no formatting is repeated */
	for (int i = 0; i < n; i++)
		LOG_INFO(l, "request served", LOG_INT("seq", i),
		         LOG_INT("bytes", (i * 7919) % 100003),
		         LOG_DOUBLE("ms", (double)i * 0.001 + 0.25));
	if (sonde_log_flush() != SONDE_OK)
		return 0;
	t1 = bench_now_ns();
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

BENCH(log)
{
	sonde_log_sink *s = sonde_log_sink_file("/dev/null", NULL);
	sonde_log_opts o;
	sonde_logger *l;
	double tp[3];
	lat_result plain;

	calibrate();
	devnull_fd = open("/dev/null", O_WRONLY);
	bench_row("log.tsc_ticks_per_ns", "calibrated TSC rate", ticks_per_ns, "ticks/ns");
	bench_row("log.empty_bracket", "empty lfence;rdtsc;lfence..rdtscp;lfence (subtracted)",
	          empty_ticks / ticks_per_ns, "ns");
	sonde_log_opts_init(&o, "bench");
	o.level_env = "";
	o.sinks = &s;
	o.sink_count = 1;
	l = sonde_logger_new(&o);
	if (!l) {
		fprintf(stderr, "bench log: %s\n", sonde_last_error());
		return;
	}
	LOG_DEBUG(l, "off"); /* warm the disabled path */
	plain = latency_rows("log.sonde_call", "LOG_INFO + 3 fields", call_sonde, l, 1);
	latency_rows("log.sonde_call", "LOG_INFO + 3 fields", call_sonde, l, 2);
	placement_rows(l);
	scope_and_sampling_rows(l, plain, &o);
	latency_rows("log.baseline_snprintf", "snprintf JSON + write, caller", call_snprintf, NULL,
	             1);
	latency_rows("log.baseline_snprintf", "snprintf JSON + write, caller", call_snprintf, NULL,
	             2);
	/* issue 20: a call below the level, dropped (recorder off) and kept */
	latency_rows("log.below_level_off", "LOG_DEBUG + 3 fields below INFO, dropped", call_debug,
	             l, 1);
	{
		sonde_logger *fl;
		o.flight_recorder = 1;
		fl = sonde_logger_new(&o);
		o.flight_recorder = 0;
		if (fl) {
			LOG_DEBUG(fl, "warm");
			latency_rows("log.flight_kept", "LOG_DEBUG + 3 fields below INFO, kept",
			             call_debug, fl, 1);
			sonde_logger_free(fl);
		}
	}
	sonde_logger_free(l);
	sonde_log_sink_free(s);
	for (int i = 0; i < 3; i++)
		tp[i] = throughput();
	bench_row("log.backend_throughput",
	          "1 producer -> backend -> /dev/null (JSON), 3 varying values, median of 3",
	          med3(tp[0], tp[1], tp[2]) / 1e6, "M rec/s");
	{
		/* the baseline's rate on the caller thread */
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < 300000; i++)
			call_snprintf(NULL, i);
		bench_row("log.baseline_snprintf_rate", "snprintf JSON + write, 1 thread",
		          300000.0 / ((double)(bench_now_ns() - t0) / 1e9) / 1e6, "M rec/s");
	}
	if (sonde_log_shutdown() != SONDE_OK)
		fprintf(stderr, "bench log: shutdown: %s\n", sonde_last_error());
	close(devnull_fd);
}
