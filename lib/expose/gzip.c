/* lib/expose/gzip.c - a page gzipped through zlib, its memory through the
 * library's allocator hooks (so the allocation-failure suite reaches it).
 * Empty without zlib (ZLIB=0). */
#ifdef SONDE_HAVE_ZLIB
#include <zlib.h>
#endif

#include "expose/expose-int.h"

#ifdef SONDE_HAVE_ZLIB
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	/* zlib frees without a size: keep it in a header */
	size_t n = (size_t)items * size;
	size_t *p = sonde__malloc(n + sizeof(size_t) * 2);
	if (!p)
		return Z_NULL;
	p[0] = n + sizeof(size_t) * 2;
	return p + 2;
}

static void z_free(voidpf opaque, voidpf address)
{
	size_t *p = (size_t *)address - 2;
	(void)opaque;
	sonde__free(p, p[0]);
}

int sonde__gzip(const char *in, size_t n, sonde_buf *out)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	/* level 1: metrics text compresses ~10x even at the fastest level,
	 * and a scrape should cost the host little CPU */
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return sonde__fail(SONDE_ENOMEM, "gzip: deflateInit2 failed");
	sonde_buf_reset(out);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n; /* callers keep n below 4 GiB: checked below */
	do {
		if (!sonde__buf_reserve(out, 64 * 1024)) {
			deflateEnd(&zs);
			return sonde__fail(SONDE_ENOMEM, "gzip: out of memory");
		}
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)(out->cap - out->len - 1);
		rc = deflate(&zs, Z_FINISH);
		out->len = (size_t)((char *)zs.next_out - out->data);
	} while (rc == Z_OK || rc == Z_BUF_ERROR);
	deflateEnd(&zs);
	if (rc != Z_STREAM_END)
		return sonde__fail(SONDE_EIO, "gzip: deflate failed (%d)", rc);
	return SONDE_OK;
}
#endif
