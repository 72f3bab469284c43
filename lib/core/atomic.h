/*
 * lib/core/atomic.h - the seam (ck's) where lib/ spells out atomics,
 * thread-local storage and the cache-line size, so that a port or a change
 * of memory order touches one file. Each name says its operation and its
 * order (sonde__<op>_<order>); the plain_ variants work on plain types with
 * the __atomic builtins, for words the public headers also read.
 *
 * What is true today: lib/core, lib/collectors, lib/expose, lib/health and
 * lib/trace use only these names. These files still spell atomics or TLS
 * directly (found with
 *   grep -rn 'memory_order_\|__atomic_\|atomic_[a-z_]*explicit' lib/
 * plus the implicitly seq_cst atomic_load/atomic_store/atomic_fetch_sub/
 * atomic_compare_exchange_strong calls and bare __thread):
 *   lib/log/log.c         __atomic_load_n/__atomic_store_n (level,
 *                         overflow), seq_cst atomic_load/atomic_store
 *                         (waiting, rpos), atomic_signal_fence, __thread
 *   lib/log/log_backend.c seq_cst atomic_load/atomic_store (waiting, rpos)
 *   lib/log/log_sink.c    atomic_fetch_sub (the sink's refcount)
 *   lib/log/log_write.c, lib/log/log-int.h   __thread
 *   lib/metrics/static.c  __atomic_load_n acquire (failed, handle)
 *   lib/metrics/exemplar.c  CAS acquire/relaxed, atomic_thread_fence
 *   lib/metrics/family.c  atomic_fetch_or/and_explicit relaxed (stateset)
 *   lib/metrics/summary.c atomic_compare_exchange_strong (orphan), __thread
 *   lib/metrics/cells.c   __thread
 * Each of those has a name below (bare __thread is SONDE_TLS_DYNAMIC; the
 * rest are in the block "for the sites above"), so converting them is a
 * rename that changes no ordering.
 * The public headers include/sonde/metrics.h and log.h spell __atomic
 * builtins and __thread on purpose: they may include only <stddef.h>,
 * <stdint.h> and <stdbool.h> and must compile as C++.
 */
#ifndef SONDE_ATOMIC_H
#define SONDE_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

#define SONDE_CACHELINE 64
#define SONDE__ALIGNED_CL __attribute__((aligned(SONDE_CACHELINE)))

/* initial-exec: one %fs-relative load, no __tls_get_addr call, also in the
 * shared library (glibc keeps static TLS room for a few words of a
 * dlopen()ed library). */
#define SONDE_TLS __thread __attribute__((tls_model("initial-exec")))
/* The compiler's default TLS model: for words read only on slow paths, so
 * that the static TLS block a dlopen()ed libsonde.so needs stays small. */
#define SONDE_TLS_DYNAMIC __thread

#define sonde__load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define sonde__load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define sonde__store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define sonde__store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define sonde__fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define sonde__cas_weak(p, expp, v)                                                   \
	atomic_compare_exchange_weak_explicit((p), (expp), (v), memory_order_relaxed, \
	                                      memory_order_relaxed)
#define sonde__cas_strong_acqrel(p, expp, v)                                            \
	atomic_compare_exchange_strong_explicit((p), (expp), (v), memory_order_acq_rel, \
	                                        memory_order_acquire)
/* Initializes an atomic object before any other thread can see it (no
 * ordering: publishing the object orders it). */
#define sonde__init_unshared(p, v) atomic_init((p), (v))

/* For the sites above, so that converting them is a rename. */
#define sonde__load_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)
#define sonde__store_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#define sonde__fetch_add_acqrel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define sonde__fetch_sub_acqrel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define sonde__exchange_acqrel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define sonde__fetch_or_relaxed(p, v) atomic_fetch_or_explicit((p), (v), memory_order_relaxed)
#define sonde__fetch_and_relaxed(p, v) atomic_fetch_and_explicit((p), (v), memory_order_relaxed)
#define sonde__cas_strong_acquire(p, expp, v)                                           \
	atomic_compare_exchange_strong_explicit((p), (expp), (v), memory_order_acquire, \
	                                        memory_order_relaxed)
#define sonde__cas_strong_seq_cst(p, expp, v)                                           \
	atomic_compare_exchange_strong_explicit((p), (expp), (v), memory_order_seq_cst, \
	                                        memory_order_seq_cst)
#define sonde__fence_acquire() atomic_thread_fence(memory_order_acquire)
/* A compiler barrier only (orders against a signal handler on this thread). */
#define sonde__signal_fence() atomic_signal_fence(memory_order_seq_cst)

/* For the few words the public header also reads with __atomic builtins
 * (a plain type, since C++ users compile that header). */
#define sonde__plain_fetch_add_release(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELEASE)
#define sonde__plain_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define sonde__plain_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define sonde__plain_cas(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define sonde__plain_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define sonde__plain_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static inline uint64_t sonde__dbl_bits(double d)
{
	union {
		double d;
		uint64_t u;
	} x;
	x.d = d;
	return x.u;
}

static inline double sonde__bits_dbl(uint64_t u)
{
	union {
		double d;
		uint64_t u;
	} x;
	x.u = u;
	return x.d;
}

#endif
