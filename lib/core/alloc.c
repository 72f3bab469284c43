/* lib/core/alloc.c - the allocator hooks. Every byte lib/ allocates comes
 * through sonde__malloc and its siblings.
 *
 * errno: sonde never changes the host's errno (README), but libc's malloc
 * sets ENOMEM on failure, and a host allocator may set anything. Each
 * wrapper saves errno before calling the allocator and restores it after,
 * so no allocation anywhere in lib/ can leak a change. */
#include <errno.h>
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#endif
#include <stdlib.h>

#include "core/atomic.h"
#include "core/sonde-int.h"

static void *libc_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void *libc_calloc(void *ctx, size_t count, size_t n)
{
	(void)ctx;
	return calloc(count, n);
}

static void *libc_realloc(void *ctx, void *p, size_t old_n, size_t new_n)
{
	(void)ctx;
	(void)old_n;
	return realloc(p, new_n);
}

static void libc_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

/* Written only by sonde_set_allocator(), which the contract (common.h)
 * orders before every other sonde call, so the plain reads below need no
 * synchronization: the host's own sequencing (or its pthread_create of the
 * threads that use sonde) orders the write before them. */
static sonde_allocator alloc = {
        sizeof(sonde_allocator), libc_malloc, libc_calloc, libc_realloc, libc_free, NULL};
/* Set by the first allocation; after that the hooks are fixed, because
 * memory from one allocator must go back to the same one. Relaxed on both
 * sides: the flag publishes nothing, it only lets sonde_set_allocator()
 * refuse a call made too late. A set_allocator that races with another
 * thread's first allocation breaks the contract whatever the ordering
 * (release/acquire would not make the overwrite of alloc safe), so it is
 * caught only when the flag is already visible. */
static atomic_bool frozen;

void sonde__alloc_freeze(void)
{
	if (!sonde__load_relaxed(&frozen))
		sonde__store_relaxed(&frozen, true);
}

int sonde_set_allocator(const sonde_allocator *a)
{
	sonde_allocator in;
	int rc;

	if (sonde__load_relaxed(&frozen))
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_set_allocator: sonde has already allocated memory; "
		                   "install the allocator before any other sonde call");
	if (!a) {
		sonde_allocator d = {sizeof(sonde_allocator),
		                     libc_malloc,
		                     libc_calloc,
		                     libc_realloc,
		                     libc_free,
		                     NULL};
		alloc = d;
		return SONDE_OK;
	}
	/* One rule for size fields (core/opts.c): an older, smaller struct
	 * reads as zero past its size; below the first layout is EINVAL. */
	rc = sonde__opts_copy(&in, sizeof(in), a, SONDE__V1_SIZE(sonde_allocator, ctx),
	                      "sonde_set_allocator");
	if (rc)
		return rc;
	if (!in.malloc_fn || !in.calloc_fn || !in.realloc_fn || !in.free_fn)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_set_allocator: all four functions must be set");
	alloc = in;
	return SONDE_OK;
}

SONDE_TLS int sonde__alloc_refused;

void *sonde__malloc(size_t n)
{
	int saved_errno = errno;
	void *p;

	if (SONDE_UNLIKELY(sonde__alloc_refused))
		return NULL;
	sonde__alloc_freeze();
	p = alloc.malloc_fn(alloc.ctx, n ? n : 1);
	errno = saved_errno;
	return p;
}

void *sonde__calloc(size_t count, size_t n)
{
	int saved_errno = errno;
	void *p;

	if (SONDE_UNLIKELY(sonde__alloc_refused))
		return NULL;
	sonde__alloc_freeze();
	if (n && count > SIZE_MAX / n)
		return NULL;
	p = alloc.calloc_fn(alloc.ctx, count ? count : 1, n ? n : 1);
	errno = saved_errno;
	return p;
}

void *sonde__realloc(void *p, size_t old_n, size_t new_n)
{
	int saved_errno = errno;
	void *q;

	if (SONDE_UNLIKELY(sonde__alloc_refused))
		return NULL;
	sonde__alloc_freeze();
	q = alloc.realloc_fn(alloc.ctx, p, old_n, new_n ? new_n : 1);
	errno = saved_errno;
	return q;
}

void sonde__free(void *p, size_t n)
{
	int saved_errno;

	if (!p)
		return;
	/* POSIX.1-2024 makes free() keep errno; older libcs (and host
	 * allocators) need not. */
	saved_errno = errno;
	alloc.free_fn(alloc.ctx, p, n);
	errno = saved_errno;
}

char *sonde__strndup(const char *s, size_t n)
{
	char *d = sonde__malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ---- write prefetch ------------------------------------------------------------ */

/* 0: not asked yet, 1: no, 2: yes (relaxed: every asker gets the same
 * answer; a race only asks twice) */
static _Atomic int prefetchw_known;

bool sonde__cpu_prefetchw(void)
{
	int k = sonde__load_relaxed(&prefetchw_known);

	if (SONDE_UNLIKELY(k == 0)) {
		k = 1;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
		{
			/* CPUID 0x80000001, ECX bit 8: AMD since the K6-2, Intel
			 * since Broadwell */
			unsigned a, b, c, d;
			if (__get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 8)))
				k = 2;
		}
#endif
		sonde__store_relaxed(&prefetchw_known, k);
	}
	return k == 2;
}
