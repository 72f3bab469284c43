/*
 * sonde/context.h - the calling thread's current trace context.
 *
 * The logger stamps it on every record; spans read it to find their
 * parent. Each thread keeps a stack of up to SONDE_CONTEXT_DEPTH_MAX
 * attached contexts, copied BY VALUE into storage of its own (allocated on
 * the thread's first attach, grown when nesting passes 8, 16, ... scopes,
 * freed when the thread exits):
 * nothing the thread keeps points into a caller's scope or span, so a scope
 * (or the span holding it) may be freed as soon as it is detached, whatever
 * the order and whatever the thread. Attaching pushes a copy; detaching the
 * innermost scope pops it and restores what was current before. Detaching
 * out of order (a scope that is not the innermost) drops that scope's entry
 * when the scopes above it are detached, and leaves the current context
 * alone until then. Detaching on another thread than the one that attached
 * leaves the attaching thread's context alone: that thread keeps a copy of
 * the context (it stays current there, or in its stack below later scopes).
 * Attach and detach copy one context (about 100 bytes); reading is one
 * thread-local load. Nothing here takes a lock; only a thread's first
 * attach and a deeper nesting than it has had allocate.
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
/* Scopes one thread can have attached at once; deeper attaches are not
 * made current (see sonde_context_attach). */
#define SONDE_CONTEXT_DEPTH_MAX 256

typedef struct sonde_span_context {
	uint8_t trace_id[16]; /* all zero = no context */
	uint8_t span_id[8];
	uint8_t trace_flags;     /* SONDE_TRACE_FLAG_* */
	uint8_t is_remote;       /* 1 when it came from an incoming request */
	uint8_t correlation_len; /* bytes used in correlation_id */
	char correlation_id[SONDE_CORRELATION_ID_MAX + 1]; /* NUL-terminated */
} sonde_span_context;

/* Caller-owned storage for one attached context. Treat as opaque: ctx is a
 * copy of what was attached, id names the thread's stack entry. The thread
 * never keeps a pointer to it. */
typedef struct sonde_context_scope {
	sonde_span_context ctx;
	uint64_t id;
	uint32_t magic;
} sonde_context_scope;

/* True when ctx holds a trace (non-zero trace id). NULL gives false. */
SONDE_API bool sonde_span_context_valid(const sonde_span_context *ctx);

/* The calling thread's current context, never NULL: a context whose trace
 * id is all zero when nothing is attached. It points into the thread's own
 * storage (never into a scope or a span); its contents are valid until this
 * thread attaches or detaches again. */
SONDE_API const sonde_span_context *sonde_context_current(void);

/* Copies *ctx into scope and onto the thread's stack, and makes it the
 * thread's current context. ctx NULL attaches an empty context (hides the
 * outer one); ctx may be &scope->ctx. NULL scope is a no-op. The scope must stay alive until it is
 * detached (sonde reads its id then), on this thread, in the reverse order
 * of attach; the other orders are safe (see above) but leave entries behind
 * for a while. With SONDE_CONTEXT_DEPTH_MAX scopes already attached on this
 * thread (SONDE_ELIMIT), or when the thread's stack cannot be allocated or
 * grown (SONDE_ENOMEM), the scope is not attached: the current context
 * does not change, sonde_last_status() says why, and its detach returns
 * SONDE_ESTATE. Allocates only as said above. */
SONDE_API void sonde_context_attach(sonde_context_scope *scope, const sonde_span_context *ctx);

/* Detaches scope: SONDE_OK when it was the innermost scope of this thread,
 * and the context current before it (skipping scopes already detached out
 * of order) is restored. SONDE_ESTATE when it is attached but not the
 * innermost (its entry is dropped once the scopes above it are detached;
 * the current context does not change), when it was attached on another
 * thread (that thread keeps a copy of its context), or when it is not
 * attached at all (detached already, or never). In every case the scope's
 * storage may be reused or freed afterwards. SONDE_EINVAL on NULL. */
SONDE_API SONDE_WUR int sonde_context_detach(sonde_context_scope *scope);

#ifdef __cplusplus
}
#endif
#endif
