/*
 * lib/core/atomic.h - the seam (ck's) where lib/ spells out atomics,
 * thread-local storage and the cache-line size, so that a port or a change
 * of memory order touches one file. Each name says its operation and its
 * order (sonde__<op>_<order>); the plain_ variants work on plain types with
 * the __atomic builtins, for words the public headers also read.
 *
 * What is true today: every file of lib/ uses only these names (checked
 * with
 *   grep -rn 'memory_order_\|__atomic_\|atomic_[a-z_]*explicit\|__thread' lib/
 * which finds them in this file alone).
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
#define sonde__exchange_acquire(p, v) atomic_exchange_explicit((p), (v), memory_order_acquire)
#define sonde__fetch_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define sonde__cas_weak_release(p, expp, v)                                           \
	atomic_compare_exchange_weak_explicit((p), (expp), (v), memory_order_release, \
	                                      memory_order_relaxed)
#define sonde__exchange_acqrel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define sonde__fetch_or_seq_cst(p, v) atomic_fetch_or_explicit((p), (v), memory_order_seq_cst)
#define sonde__fetch_or_relaxed(p, v) atomic_fetch_or_explicit((p), (v), memory_order_relaxed)
#define sonde__fetch_and_relaxed(p, v) atomic_fetch_and_explicit((p), (v), memory_order_relaxed)
#define sonde__cas_strong_acquire(p, expp, v)                                           \
	atomic_compare_exchange_strong_explicit((p), (expp), (v), memory_order_acquire, \
	                                        memory_order_relaxed)
#define sonde__cas_strong_seq_cst(p, expp, v)                                           \
	atomic_compare_exchange_strong_explicit((p), (expp), (v), memory_order_seq_cst, \
	                                        memory_order_seq_cst)
#define sonde__fence_acquire() atomic_thread_fence(memory_order_acquire)
#define sonde__fence_release() atomic_thread_fence(memory_order_release)
#define sonde__fetch_add_seq_cst(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define sonde__fetch_sub_seq_cst(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
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
#define sonde__plain_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define sonde__plain_fetch_or_relaxed(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
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
