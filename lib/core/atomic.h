/*
 * lib/core/atomic.h - the only place that spells out atomics, thread-local
 * storage and the cache-line size (ck's seam). Everything else in lib/ uses
 * these names, so a port touches one file.
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

/* For the few words the public header also reads with __atomic builtins
 * (a plain type, since C++ users compile that header). */
#define sonde__plain_fetch_add_release(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELEASE)
#define sonde__plain_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define sonde__plain_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define sonde__plain_cas(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

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
