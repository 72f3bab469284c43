/*
 * sonde/common.h - status codes, the allocator hooks, the per-thread last
 * error and the library version.
 *
 * Every header of sonde compiles as C11 and as C++17, is self-contained and
 * includes only <stddef.h>, <stdint.h> and <stdbool.h>.
 */
#ifndef SONDE_COMMON_H
#define SONDE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- attributes, defined once ------------------------------------------ */
#if defined(SONDE_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define SONDE_API __attribute__((visibility("default")))
#else
#define SONDE_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SONDE_WUR __attribute__((warn_unused_result))
#define SONDE_DEPRECATED(ver, msg) __attribute__((deprecated("since " ver ": " msg)))
#define SONDE_LIKELY(x) __builtin_expect(!!(x), 1)
#define SONDE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SONDE_WUR
#define SONDE_DEPRECATED(ver, msg)
#define SONDE_LIKELY(x) (x)
#define SONDE_UNLIKELY(x) (x)
#endif

/* ---- version ------------------------------------------------------------ */
#define SONDE_VERSION_MAJOR 0
#define SONDE_VERSION_MINOR 1
#define SONDE_VERSION_PATCH 0
#define SONDE_VERSION_STRING "0.1.0"
/* 0xMMmmpp: compare with sonde_version_hex() to check that the library a
 * host runs against is the one it was compiled with. */
#define SONDE_VERSION_HEX \
	((SONDE_VERSION_MAJOR << 16) | (SONDE_VERSION_MINOR << 8) | SONDE_VERSION_PATCH)

/* The version of the library actually linked. Never fails; no allocation. */
SONDE_API unsigned sonde_version_hex(void);
SONDE_API const char *sonde_version(void);

/* ---- status codes -------------------------------------------------------
 * 0 is success; errors are negative and never renumbered. A code that is
 * removed becomes SONDE_OBSOLETE_n. New codes are appended at the end.
 * The one table below generates the enum, sonde_strerror() and
 * sonde_status_name().
 */
#define SONDE_STATUS_MAP(X)                                             \
	X(OK, 0, "success")                                             \
	X(EINVAL, -1, "invalid argument")                               \
	X(ENOMEM, -2, "out of memory")                                  \
	X(EEXIST, -3, "already registered with a different definition") \
	X(ENOENT, -4, "no such metric, child or entry")                 \
	X(ELIMIT, -5, "limit reached")                                  \
	X(ETYPE, -6, "wrong metric type for this call")                 \
	X(ERANGE, -7, "value out of range")                             \
	X(EIO, -8, "input/output error")                                \
	X(ESTATE, -9, "call not allowed in the object's current state") \
	X(ETIMEDOUT, -10, "timed out")                                  \
	X(ENOTSUP, -11, "not supported by this build")                  \
	X(ETRUNC, -12, "output did not fit and was truncated")

/* clang-format off */
typedef enum sonde_status {
#define SONDE__STATUS_ENUM(name, code, msg) SONDE_##name = code,
	SONDE_STATUS_MAP(SONDE__STATUS_ENUM)
#undef SONDE__STATUS_ENUM
	SONDE__STATUS_END_ = -13
} sonde_status;
/* clang-format on */

/* A short English message for a status code ("invalid argument"); an
 * unknown code gives "unknown status". Static storage; never NULL. */
SONDE_API const char *sonde_strerror(int status);
/* The code's symbol without prefix ("EINVAL"), or "UNKNOWN". Never NULL. */
SONDE_API const char *sonde_status_name(int status);

/* The calling thread's last error: set by every sonde call that fails, with
 * what was wrong and with which name ("metric name \"9x\" is invalid: must
 * match [a-zA-Z_:][a-zA-Z0-9_:]*"). Not cleared on success. Per-thread
 * storage; the pointer stays valid until this thread's next failing call.
 * Never NULL (empty string when nothing failed yet). */
SONDE_API const char *sonde_last_error(void);
/* The status code of the calling thread's last failure (SONDE_OK if none). */
SONDE_API int sonde_last_status(void);

/* One copy of libsonde per process. Each copy (libsonde.so, or libsonde.a
 * linked into a program or into another shared object such as a Go or Rust
 * component) has its own default registry, logger and trace context, so a
 * second copy's series never reach the first one's exposition. At load,
 * once, each copy looks for copies loaded before it (an ELF note every copy
 * carries, found through the loader's list of objects: static copies with
 * hidden symbols and RTLD_LOCAL ones included, other dlmopen namespaces
 * not). A copy that finds one sets the loading thread's last error and
 * counts them in sonde_duplicate_instances_total on its default registry.
 * Returns SONDE_OK when this copy found no other copy, or SONDE_ESTATE with
 * the last error naming the objects that hold both copies. The first copy
 * of a process is never told of later ones: ask the later one. Any thread;
 * no allocation; never blocks. */
SONDE_API int sonde_instance_check(void);

/* ---- allocator hooks ----------------------------------------------------
 * Every allocation sonde makes goes through these. Install them once,
 * before any other sonde call; afterwards the call fails with SONDE_ESTATE.
 * All four function pointers must be set (all-or-nothing: a partial set
 * fails with SONDE_EINVAL); a NULL a restores libc's. The struct is copied;
 * ctx is passed to every call. free_fn receives the size that was
 * requested (0 if unknown to the caller, which sonde never does). sonde
 * saves and restores errno around every call of these functions, so they
 * may set it. Returns SONDE_OK, SONDE_ESTATE (too late), SONDE_EINVAL
 * (a function missing, size too small); the last error names the call.
 */
typedef struct sonde_allocator {
	size_t size; /* sizeof(sonde_allocator) as the caller was compiled;
	                fields past it read as zero; below the first layout
	                (up to ctx): SONDE_EINVAL */
	void *(*malloc_fn)(void *ctx, size_t n);
	void *(*calloc_fn)(void *ctx, size_t count, size_t n);
	void *(*realloc_fn)(void *ctx, void *p, size_t old_n, size_t new_n);
	void (*free_fn)(void *ctx, void *p, size_t n);
	void *ctx;
} sonde_allocator;

SONDE_API SONDE_WUR int sonde_set_allocator(const sonde_allocator *a);

/* ---- growable buffer ----------------------------------------------------
 * The caller owns the struct; sonde owns the memory it points to. Start
 * with SONDE_BUF_INIT (or zero it), reuse it across calls (the memory is
 * kept and only grows), and release it with sonde_buf_destroy().
 * data is NUL-terminated after every successful sonde call that fills it
 * (the NUL is not counted in len).
 */
typedef struct sonde_buf {
	char *data;
	size_t len;
	size_t cap;
	int oom; /* set when a write could not grow the buffer */
} sonde_buf;

/* clang-format off */
#define SONDE_BUF_INIT {NULL, 0, 0, 0}
/* clang-format on */

/* Empties the buffer (len = 0) and keeps its memory. NULL is a no-op. */
SONDE_API void sonde_buf_reset(sonde_buf *b);
/* Frees the memory and zeroes the struct. NULL is a no-op. */
SONDE_API void sonde_buf_destroy(sonde_buf *b);

/* ---- clock -------------------------------------------------------------- */
/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
SONDE_API int64_t sonde_now_unix_ns(void);
/* Nanoseconds of CLOCK_MONOTONIC, for durations. */
SONDE_API int64_t sonde_now_mono_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_COMMON_H */
