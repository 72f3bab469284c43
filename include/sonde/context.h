/*
 * sonde/context.h - the calling thread's current trace context.
 *
 * The logger stamps it on every record; spans read it to find their
 * parent. It lives in storage the caller owns (a sonde_context_scope,
 * usually on the stack): attaching points the thread at the scope, and
 * detaching restores whatever was current before, so nested scopes unwind
 * in order. Attach and detach are a few stores; reading is one
 * thread-local load. Nothing here allocates or takes a lock.
 */
#ifndef SONDE_CONTEXT_H
#define SONDE_CONTEXT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SONDE_TRACE_FLAG_SAMPLED 0x01u
#define SONDE_TRACE_FLAG_RANDOM 0x02u /* W3C Trace Context Level 2 */
#define SONDE_CORRELATION_ID_MAX 64

typedef struct sonde_span_context {
	uint8_t trace_id[16]; /* all zero = no context */
	uint8_t span_id[8];
	uint8_t trace_flags;     /* SONDE_TRACE_FLAG_* */
	uint8_t is_remote;       /* 1 when it came from an incoming request */
	uint8_t correlation_len; /* bytes used in correlation_id */
	char correlation_id[SONDE_CORRELATION_ID_MAX + 1]; /* NUL-terminated */
} sonde_span_context;

/* Caller-owned storage for one attached context. Treat as opaque. */
typedef struct sonde_context_scope {
	sonde_span_context ctx;
	struct sonde_context_scope *prev;
	uint32_t magic;
} sonde_context_scope;

/* True when ctx holds a trace (non-zero trace id). NULL gives false. */
SONDE_API bool sonde_span_context_valid(const sonde_span_context *ctx);

/* The calling thread's current context, never NULL: a context whose trace
 * id is all zero when nothing is attached. The pointer is valid until this
 * thread attaches or detaches again. */
SONDE_API const sonde_span_context *sonde_context_current(void);

/* Copies *ctx into scope and makes it the thread's current context.
 * ctx NULL attaches an empty context (hides the outer one). NULL scope is
 * a no-op. The scope must stay alive, and be detached on this thread,
 * before it goes out of scope: detach in the reverse order of attach. */
SONDE_API void sonde_context_attach(sonde_context_scope *scope, const sonde_span_context *ctx);

/* Restores the context that was current when scope was attached.
 * SONDE_ESTATE (and nothing changes) if scope is not the innermost
 * attached scope of this thread; SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_context_detach(sonde_context_scope *scope);

#ifdef __cplusplus
}
#endif
#endif
