/*
 * lib/core/sonde-int.h - internal helpers shared by every file of lib/:
 * allocator wrappers, the last-error setter, buffer writers, number
 * formatting and attributes. Nothing here is exported.
 */
#ifndef SONDE_INT_H
#define SONDE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include "core/atomic.h"
#include "sonde.h"

#define SONDE_INTERNAL __attribute__((visibility("hidden")))
#define SONDE_UNUSED __attribute__((unused))
#define SONDE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SONDE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define sonde__container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define SONDE_STATIC_ASSERT(c, m) _Static_assert(c, m)

/* Drops a status on purpose (gcc's warn_unused_result ignores a (void)
 * cast); each use says why in a comment. */
static inline void sonde__ignore(int rc)
{
	(void)rc;
}

/* ---- allocation (alloc.c): the only way lib/ gets memory ---------------- */
void *sonde__malloc(size_t n);
void *sonde__calloc(size_t count, size_t n);
void *sonde__realloc(void *p, size_t old_n, size_t new_n);
void sonde__free(void *p, size_t n);
char *sonde__strndup(const char *s, size_t n);
void sonde__alloc_freeze(void); /* first use: hooks can no longer change */
/* Set on a thread that must not call the allocator (the crash flush, in a
 * signal handler): every allocation there fails, as out of memory, without
 * calling the allocator. One initial-exec word. */
extern SONDE_TLS int sonde__alloc_refused;

/* ---- errors (status.c) ----------------------------------------------------
 * Records status and a message as the calling thread's last error and
 * returns status, so that `return sonde__fail(SONDE_EINVAL, "...")` reads
 * well. Never touches errno. */
int sonde__fail(int status, const char *fmt, ...) SONDE_PRINTF(2, 3);

/* ---- fork (fork.c) -------------------------------------------------------------
 * A part of the library whose locks must survive a fork registers its
 * hooks once (a static struct; registering it again is a no-op). Before a
 * fork, prepare runs for every part by ascending rank (it takes that
 * part's locks); after it, parent or child runs by descending rank (they
 * release them, or the child re-initializes them). The ranks are the
 * library's lock order: a lock held while another is taken ranks lower. */
typedef struct sonde__fork_hooks {
	int rank;
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(void);
} sonde__fork_hooks;
enum {
	SONDE_FORK_RANK_LOG = 10,       /* the logger's locks (log-int.h's order) */
	SONDE_FORK_RANK_HEALTH = 20,    /* health probes (may create gauges) */
	SONDE_FORK_RANK_STATIC = 30,    /* METRIC_DEFINE resolution */
	SONDE_FORK_RANK_REGISTRY = 40,  /* registries, then their families */
	SONDE_FORK_RANK_SUMMARY = 50,   /* summary slot table, then summaries */
	SONDE_FORK_RANK_COLLECTOR = 60, /* collectors read under a family lock */
	SONDE_FORK_RANK_CELLS = 70,     /* the cells lock (under family locks) */
	SONDE_FORK_RANK_LEAF = 80       /* locks under which nothing is taken */
};
void sonde__fork_register(const sonde__fork_hooks *h);

/* ---- thread names ----------------------------------------------------------------
 * The library's long-lived threads name themselves (at most 15 bytes), so
 * that top -H, ps -L, gdb and perf show which one is sonde's and tools can
 * find it: "sonde-log" (the log backend), "sonde-otlp-span" and
 * "sonde-otlp-logs" (the OTLP export threads), "sonde-http" (the metrics
 * endpoint). A no-op where the C library has no pthread_setname_np. */
#if defined(__linux__) && defined(_GNU_SOURCE)
#include <pthread.h>
#define sonde__name_thread(name) ((void)pthread_setname_np(pthread_self(), (name)))
#else
#define sonde__name_thread(name) ((void)(name))
#endif

/* ---- options structs (opts.c) ---------------------------------------------
 * Copies the caller's options struct src (whose first field is its size_t
 * size) into dst, this library's layout of dst_size bytes: fields past the
 * caller's size read as zero. A size below min_size (the struct's first
 * published layout, SONDE__V1_SIZE) is SONDE_EINVAL, and so is NULL; what
 * names the call in the message. */
int sonde__opts_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                     const char *what) SONDE_WUR;
/* The size of a struct's first published layout: up to and including its
 * field `last`. Frozen once released: a struct that grows keeps its V1. */
#define SONDE__V1_SIZE(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

/* ---- buffer writers (buf.c) -------------------------------------------------
 * Appending never fails loudly: on out-of-memory the buffer's oom flag is
 * set and later appends are ignored; the caller checks b->oom once. */
bool sonde__buf_reserve(sonde_buf *b, size_t extra);
void sonde__buf_put_slow(sonde_buf *b, const char *s, size_t n);
void sonde__buf_putc_slow(sonde_buf *b, char c);
void sonde__buf_puts(sonde_buf *b, const char *s);
void sonde__buf_terminate(sonde_buf *b);

/* Inline while the buffer has room (and room for the NUL after): the
 * exposition and the encoders append a few bytes at a time, and a call
 * per byte was half of a scrape's time. */
static inline void sonde__buf_put(sonde_buf *b, const char *s, size_t n)
{
	if (SONDE_LIKELY(!b->oom && n < b->cap - b->len)) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		return;
	}
	sonde__buf_put_slow(b, s, n);
}

static inline void sonde__buf_putc(sonde_buf *b, char c)
{
	if (SONDE_LIKELY(!b->oom && b->cap - b->len > 1)) {
		b->data[b->len++] = c;
		return;
	}
	sonde__buf_putc_slow(b, c);
}

/* ---- numbers (fmt_num.c) ------------------------------------------------------
 * Shortest round-trip double in Go's strconv 'g' layout (exponent below
 * 1e-4 and from 1e21 for integers / 1e6 otherwise... see fmt_num.c), integral
 * values as integers, and "NaN", "+Inf", "-Inf". Locale-independent.
 * Writes at most SONDE_DBL_MAX bytes, returns the length (no NUL). */
#define SONDE_DBL_MAX 32
size_t sonde__fmt_double(char *out, double v);
/* OpenMetrics canonical number for le/quantile: as above, plus ".0" when
 * the result has neither '.' nor an exponent. */
size_t sonde__fmt_double_canonical(char *out, double v);
size_t sonde__fmt_u64(char *out, uint64_t v);
size_t sonde__fmt_i64(char *out, int64_t v);
/* Locale-independent strtod for tests of round trips; returns consumed. */
double sonde__parse_double(const char *s, size_t len, size_t *consumed);

/* ---- UTF-8 (escape.c) ------------------------------------------------------
 * Length of the valid sequence at s (1-4) or 0; and the length of the
 * maximal invalid subpart to replace by one U+FFFD. */
size_t sonde__utf8_valid_len(const unsigned char *s, size_t n);
size_t sonde__utf8_invalid_len(const unsigned char *s, size_t n);
/* Writes the sequence at p (valid: copied; invalid: U+FFFD) to dst, which
 * has room for 4 bytes; returns the bytes consumed, *written the bytes
 * written. n > 0. */
size_t sonde__utf8_copy_or_fffd(char *dst, const unsigned char *p, size_t n, size_t *written);
/* The offset of the first byte of s[0..n) that starts no valid UTF-8
 * sequence, or SIZE_MAX when all of it is valid. */
size_t sonde__utf8_invalid_at(const char *s, size_t n);

/* ---- exposition escaping (escape.c) ------------------------------------------
 * Label values and HELP text as the Prometheus formats escape them, invalid
 * UTF-8 replaced by U+FFFD. put_label_pairs writes `k="v",k2="v2"` (no
 * braces); lens NULL means the values are NUL-terminated. */
void sonde__put_label_value(sonde_buf *b, const char *s, size_t n);
void sonde__put_help(sonde_buf *b, const char *s, size_t n, bool openmetrics);
void sonde__put_label_pairs(sonde_buf *b, const char *const *names, const char *const *values,
                            const size_t *lens, size_t count);

/* ASCII case folding, independent of the host's locale (tolower() under a
 * Turkish locale maps 'I' to a dotless i). */
static inline char sonde__ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* a[0..n) equals the lower-case literal lit, ASCII case ignored (HTTP
 * header names, media types and tokens). */
static inline bool sonde__ascii_ieq(const char *a, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (sonde__ascii_lower(a[i]) != lit[i])
			return false;
	return true;
}

/* Eight bytes at p as a little-endian word (unaligned reads are fine). */
static inline uint64_t sonde__load_le64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* Four bytes at p as a little-endian word. */
static inline uint32_t sonde__load_le32(const char *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

/* ---- write prefetch (alloc.c) -------------------------------------------------
 * sonde__cpu_prefetchw(): the CPU has PREFETCHW (asked once, then one
 * relaxed load). sonde__prefetchw(p): asks for p's cache line in exclusive
 * state ahead of stores to it, so that a line another core read last is
 * taken back before the stores queue behind it; only where
 * sonde__cpu_prefetchw() said yes. A hint: it never faults (p may be
 * stale), and reads or changes no byte. */
bool sonde__cpu_prefetchw(void);
static inline void sonde__prefetchw(const void *p)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	(void)p;
#endif
}

/* ---- the current trace context (context.c) -------------------------------------
 * The top of the calling thread's context stack, NULL when it has none:
 * sonde_context_current() without the call, for the log call's short path
 * (one initial-exec load). Written only by context.c. */
extern SONDE_TLS const sonde_span_context *sonde__context_tls;

/* ---- hex (hex.c) -------------------------------------------------------------
 * sonde__hex_val[c] is 0..15 for '0'-'9' and 'a'-'f', 0xff for every other
 * byte (uppercase included: trace context forbids it). sonde__hex_put
 * writes the 2n lowercase hex characters of n bytes (no NUL). */
extern const uint8_t sonde__hex_val[256];
extern const char sonde__hex_digits[17]; /* "0123456789abcdef" */
void sonde__hex_put(char *out, const uint8_t *bytes, size_t n);

/* ---- RFC 3339 time (time_fmt.c) ------------------------------------------------
 * UTC, never the host's time zone. sonde__fmt_rfc3339_sec writes the 19
 * bytes "YYYY-MM-DDTHH:MM:SS" of a Unix second; sonde__fmt_rfc3339 writes
 * that, '.', the first digits (1..9) of the fraction and 'Z' into out (room
 * for SONDE_RFC3339_MAX) and returns the length. Times before 1970 are
 * floored (the fraction is never negative); a year past 9999 or a failing
 * gmtime_r writes 1970-01-01T00:00:00. */
#define SONDE_RFC3339_MAX 32
void sonde__fmt_rfc3339_sec(char *out, int64_t unix_sec);
size_t sonde__fmt_rfc3339(char *out, int64_t unix_ns, int digits);

/* ---- JSON (json.c) ------------------------------------------------------------
 * A quoted, escaped JSON string (invalid UTF-8 -> U+FFFD, control
 * characters escaped); numbers in shortest round-trip form, NaN and
 * infinities as the strings "NaN", "+Inf", "-Inf". */
void sonde__json_put_string(sonde_buf *b, const char *s, size_t n);
void sonde__json_put_cstr(sonde_buf *b, const char *s);
void sonde__json_put_double(sonde_buf *b, double v);
void sonde__json_put_i64(sonde_buf *b, int64_t v);
void sonde__json_put_u64(sonde_buf *b, uint64_t v);

#endif
