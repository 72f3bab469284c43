/* lib/core/alloc.c - the allocator hooks. Every byte lib/ allocates comes
 * through sonde__malloc and its siblings. */
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

static sonde_allocator alloc = {
        sizeof(sonde_allocator), libc_malloc, libc_calloc, libc_realloc, libc_free, NULL};
/* Set by the first allocation; after that the hooks are fixed, because
 * memory from one allocator must go back to the same one. */
static atomic_bool frozen;

void sonde__alloc_freeze(void)
{
	if (!sonde__load_relaxed(&frozen))
		sonde__store_relaxed(&frozen, true);
}

int sonde_set_allocator(const sonde_allocator *a)
{
	if (sonde__load_acquire(&frozen))
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
	if (a->size < sizeof(sonde_allocator))
		return sonde__fail(SONDE_EINVAL, "sonde_set_allocator: size field is %zu, want %zu",
		                   a->size, sizeof(sonde_allocator));
	if (!a->malloc_fn || !a->calloc_fn || !a->realloc_fn || !a->free_fn)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_set_allocator: all four functions must be set");
	alloc = *a;
	return SONDE_OK;
}

void *sonde__malloc(size_t n)
{
	sonde__alloc_freeze();
	return alloc.malloc_fn(alloc.ctx, n ? n : 1);
}

void *sonde__calloc(size_t count, size_t n)
{
	sonde__alloc_freeze();
	if (n && count > SIZE_MAX / n)
		return NULL;
	return alloc.calloc_fn(alloc.ctx, count ? count : 1, n ? n : 1);
}

void *sonde__realloc(void *p, size_t old_n, size_t new_n)
{
	sonde__alloc_freeze();
	return alloc.realloc_fn(alloc.ctx, p, old_n, new_n ? new_n : 1);
}

void sonde__free(void *p, size_t n)
{
	if (p)
		alloc.free_fn(alloc.ctx, p, n);
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
