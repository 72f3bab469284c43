/*
 * lib/metrics/cells.h - per-thread cells: the storage behind counters and
 * histograms.
 *
 * Every counter child and histogram child owns a run of cell indices
 * (contiguous, never crossing a page). Every thread that writes metrics owns
 * a directory of pages, one 8-byte cell per index, and is the only writer of
 * its cells: an increment is a relaxed load, an add and a relaxed store on
 * memory no other thread writes, so it needs no lock prefix and bounces no
 * cache line. A read sums one index over every thread's page plus the
 * accumulator that exited threads folded into.
 *
 * Synchronization table
 *   what                        written by            read by              guarded by
 *   thread's dir, its pages     owner (under cells_mu) owner (no lock),   cells_mu for
 *                                                      readers/folders      everyone but owner
 *   a cell's value              owner thread only;    owner; readers      relaxed atomics
 *                               the reclaimer after   (sum under cells_mu)
 *                               the grace period
 *   accumulator, kinds, runs    exiting threads,      readers             cells_mu
 *                               allocator
 *   TLS dir pointer and length  owner thread only     owner thread only   none (thread-local)
 */
#ifndef SONDE_CELLS_H
#define SONDE_CELLS_H

#include "core/atomic.h"
#include "core/sonde-int.h"

/* The page size is frozen ABI: the inlined increment in metrics.h uses it. */
#define SONDE_PAGE_SHIFT SONDE__ABI_PAGE_SHIFT
#define SONDE_PAGE_CELLS (1u << SONDE_PAGE_SHIFT) /* 512 cells: 4 KiB */
#define SONDE_PAGE_MASK (SONDE_PAGE_CELLS - 1)
#define SONDE_MAX_PAGES 8192u /* 4 Mi cells */
#define SONDE_CELLS_MAX (SONDE_PAGE_CELLS * SONDE_MAX_PAGES)
/* Page 0 is the trash run: removed children point there. It is written by
 * late increments and never read. */
#define SONDE_CELL_TRASH 0u

typedef _Atomic uint64_t sonde__cell_t;

enum { SONDE_CELL_NONE = 0, SONDE_CELL_U64 = 1, SONDE_CELL_F64 = 2 };

/* Exported: the inlined counter path in metrics.h reads them (ABI). */
SONDE_API extern SONDE_TLS sonde__cell_t **sonde__tls_dir;
SONDE_API extern SONDE_TLS uint32_t sonde__tls_npages;

/* First cell of run idx in the calling thread's pages; allocates the page
 * on first touch. Never NULL: when memory runs out, a shared sink that is
 * never read (the write is lost and counted). */
SONDE_API sonde__cell_t *sonde__cell_slow(uint32_t idx);

static inline sonde__cell_t *sonde__cell(uint32_t idx)
{
	uint32_t pg = idx >> SONDE_PAGE_SHIFT;

	if (SONDE_LIKELY(pg < sonde__tls_npages)) {
		sonde__cell_t *p = sonde__tls_dir[pg];
		if (SONDE_LIKELY(p != NULL))
			return p + (idx & SONDE_PAGE_MASK);
	}
	return sonde__cell_slow(idx);
}

/* Owner-thread updates: single writer, so no read-modify-write atomics. */
static inline void sonde__cell_add_u64(sonde__cell_t *c, uint64_t v)
{
	sonde__store_relaxed(c, sonde__load_relaxed(c) + v);
}

static inline void sonde__cell_add_f64(sonde__cell_t *c, double v)
{
	sonde__store_relaxed(c, sonde__dbl_bits(sonde__bits_dbl(sonde__load_relaxed(c)) + v));
}

/* Allocates a run of n cells (n <= SONDE_PAGE_CELLS) with the given kinds,
 * every thread's copy reading zero: the first n adjacent free cells of a
 * page (freed runs of any length merge once their grace period has passed),
 * else a new page. SONDE_ELIMIT when the live runs fill the index space,
 * SONDE_ENOMEM. */
int sonde__cells_alloc(uint32_t n, const uint8_t *kinds, uint32_t *out_idx);
/* Returns a run to the allocator; it is reused only after the grace
 * period. */
void sonde__cells_free(uint32_t idx, uint32_t n);

/* Readers: lock, sum any number of cells, unlock. */
void sonde__cells_lock(void);
void sonde__cells_unlock(void);
uint64_t sonde__cells_sum_u64_locked(uint32_t idx);
double sonde__cells_sum_f64_locked(uint32_t idx);

/* Grace period in ms for run reuse (tests shorten it). */
extern int64_t sonde__cells_grace_ms;
/* Writes lost because no memory could be had for a page. */
uint64_t sonde__cells_lost_writes(void);

#endif
