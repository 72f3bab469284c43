/* lib/core/buf.c - the growable buffer that exposition and logging write into. */
#include "core/sonde-int.h"

void sonde_buf_reset(sonde_buf *b)
{
	if (!b)
		return;
	b->len = 0;
	b->oom = 0;
	if (b->data)
		b->data[0] = '\0';
}

void sonde_buf_destroy(sonde_buf *b)
{
	if (!b)
		return;
	sonde__free(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

/* Room for extra bytes plus the terminating NUL. Grows by 1.5x so a
 * reused buffer settles at its largest size and stops allocating. */
bool sonde__buf_reserve(sonde_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	if (extra > SIZE_MAX - b->len - 1) {
		b->oom = 1;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 3 * 2 ? need : cap + cap / 2;
	p = sonde__realloc(b->data, b->cap, cap);
	if (!p) {
		b->oom = 1;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void sonde__buf_put_slow(sonde_buf *b, const char *s, size_t n)
{
	if (!sonde__buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void sonde__buf_puts(sonde_buf *b, const char *s)
{
	sonde__buf_put(b, s, strlen(s));
}

void sonde__buf_putc_slow(sonde_buf *b, char c)
{
	if (!sonde__buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
}

void sonde__buf_terminate(sonde_buf *b)
{
	if (sonde__buf_reserve(b, 0))
		b->data[b->len] = '\0';
}
