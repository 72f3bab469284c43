/*
 * lib/metrics/summary.h - summaries: per-thread log-linear sketches with a sliding
 * window of age slots. See summary.c for the layout and its guarantees.
 */
#ifndef SONDE_SUMMARY_H
#define SONDE_SUMMARY_H

#include "metrics/metrics-int.h"

#define SONDE_SUMMARY_SLOTS_MAX 16

typedef struct sonde__summ_block sonde__summ_block;

/* The per-child state, allocated with the child. */
typedef struct sonde__summ {
	uint32_t sidx;      /* index in the per-thread block tables */
	uint32_t gen;       /* generation of sidx when this child took it */
	uint32_t nslots;    /* age buckets */
	int64_t slot_ms;    /* max_age / age_buckets */
	pthread_mutex_t mu; /* guards the block list (slow paths, reads) */
	_Atomic(sonde__summ_block *) blocks;
} sonde__summ;

int sonde__summary_child_init(sonde__child *c, const sonde_family *f);
void sonde__summary_child_retire(sonde__child *c); /* removal: threads stop using it */
void sonde__summary_child_free(sonde__child *c);   /* family free */

typedef struct sonde__summ_snapshot {
	uint64_t count; /* lifetime */
	double sum;     /* lifetime */
	uint64_t window_count;
} sonde__summ_snapshot;

/* Quantiles of the window (NaN when the window is empty) and the lifetime
 * count and sum. qs has nq values in [0,1]. */
int sonde__summary_read(const sonde__child *c, const double *qs, size_t nq, double *out,
                        sonde__summ_snapshot *snap);

/* n observations of v at once (tests: counts past 2^32). */
void sonde__summary_observe_n(sonde_summary *s, double v, uint64_t n);

/* Tests move time. */
extern int64_t (*sonde__summary_clock_ms)(void);

#endif
