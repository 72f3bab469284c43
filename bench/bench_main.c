/* bench/bench_main.c - runs every BENCH(), or those whose name contains
 * the first argument. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static bench_case *cases;

void bench_register(bench_case *bc)
{
	bench_case **p = &cases;
	while (*p) /* keep file order within the link order */
		p = &(*p)->next;
	*p = bc;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct run {
	bench_body body;
	void *arg;
	uint64_t n;
	int threads;
	pthread_barrier_t start;
} run;

typedef struct targ {
	run *r;
	int tid;
} targ;

static void *thread_main(void *p)
{
	targ *t = p;
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(t->tid % (ncpu > 0 ? ncpu : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(&t->r->start);
	t->r->body(t->r->arg, t->r->n, t->tid);
	return NULL;
}

static double once(run *r)
{
	pthread_t th[16];
	targ ta[16];
	uint64_t t0;
	int i;

	pthread_barrier_init(&r->start, NULL, (unsigned)r->threads + 1);
	for (i = 0; i < r->threads; i++) {
		ta[i].r = r;
		ta[i].tid = i;
		pthread_create(&th[i], NULL, thread_main, &ta[i]);
	}
	pthread_barrier_wait(&r->start);
	t0 = bench_now_ns();
	for (i = 0; i < r->threads; i++)
		pthread_join(th[i], NULL);
	t0 = bench_now_ns() - t0;
	pthread_barrier_destroy(&r->start);
	return (double)t0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_dbl);
}

int bench_long;

double bench_ns_per_op(int threads, bench_body body, void *arg)
{
	run r = {body, arg, 1000, threads, {{0}}};
	double reps[11], rep_ns = bench_long ? 400e6 : 40e6;
	int i, nreps = bench_long ? 11 : 5;

	if (threads > 16)
		threads = r.threads = 16;
	/* calibrate: grow n until a repetition takes >= rep_ns */
	for (;;) {
		double t = once(&r);
		if (t >= rep_ns || r.n >= (1ull << 36))
			break;
		r.n = t < 1e6 ? r.n * 10 : (uint64_t)((double)r.n * rep_ns * 1.125 / t);
	}
	for (i = 0; i < nreps; i++)
		reps[i] = once(&r) / (double)r.n;
	bench_sort(reps, (size_t)nreps);
	return reps[nreps / 2];
}

void bench_row(const char *id, const char *what, double value, const char *unit)
{
	printf("| %-34s | %-62s | %10.3f | %-9s |\n", id, what, value, unit);
	fflush(stdout);
}

void bench_ratio(const char *id, const char *what, double ratio, const char *target)
{
	printf("| %-34s | %-62s | %9.2fx | %-9s |\n", id, what, ratio, target ? target : "");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const char *lg = getenv("SONDE_BENCH_LONG");
	bench_case *bc;

	bench_long = lg && *lg && strcmp(lg, "0") != 0;

	printf("| %-34s | %-62s | %10s | %-9s |\n", "id", "what", "value", "unit");
	printf("|%s|%s|%s|%s|\n", "------------------------------------",
	       "----------------------------------------------------------------", "------------",
	       "-----------");
	for (bc = cases; bc; bc = bc->next)
		if (!filter || !*filter || strstr(bc->name, filter))
			bc->fn();
	return 0;
}
