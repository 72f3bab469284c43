/* lib/core/context.c - the per-thread current trace context.
 *
 * Each thread keeps its attached contexts BY VALUE in a stack of its own
 * (heap, allocated on the thread's first attach, grown by doubling up to
 * SONDE_CONTEXT_DEPTH_MAX entries, freed by a thread-exit key destructor),
 * and one initial-exec thread-local pointer to the top entry's context, so
 * that reading the current context stays one load. (The stack is not in
 * TLS: libsonde.so has initial-exec TLS, so its whole TLS block must fit in
 * the few hundred bytes of static TLS glibc keeps for dlopen().) Nothing
 * the thread keeps points into a caller's scope or span: a scope may be
 * freed at any time after it is detached, in any order and on any thread,
 * without leaving the thread reading freed memory (issue 13.2: the old
 * design linked the caller's scopes into a list, and an out-of-order or
 * cross-thread end left the list pointing into freed spans).
 *
 * A scope records the id of the entry it pushed: the owning thread's
 * serial (high 32 bits, unique for the life of the process) and a per-thread
 * attach count (low 32 bits). Detach on the owning thread:
 *   - the top entry: pop it, then pop every entry below already marked
 *     detached (ended out of order earlier);
 *   - an entry below the top: mark it detached and leave the current
 *     context alone (SONDE_ESTATE); it is popped with the entries above it.
 * Detach on any other thread cannot touch the owner's stack (it takes no
 * lock and the owner may have exited): it returns SONDE_ESTATE and the
 * owner keeps a copy of that context, as OpenTelemetry C++'s token
 * detach does. Nothing here is shared between threads, so nothing is
 * atomic except the serial counter. */
#include <pthread.h>

#include "core/atomic.h"
#include "core/sonde-int.h"

#define SCOPE_MAGIC 0x73636f70u /* "scop" */
#define FIRST_CAP 8u            /* ~850 bytes: deeper nesting is rare */

typedef struct ctx_entry {
	sonde_span_context ctx;
	uint64_t id;
	bool detached; /* ended out of order: pop when uncovered */
} ctx_entry;

typedef struct ctx_stack {
	uint32_t serial; /* unique per thread, never 0 */
	uint32_t attaches;
	uint32_t depth;
	uint32_t cap;
	ctx_entry *e;
} ctx_stack;

/* This thread's stack, or NULL before its first attach. */
static SONDE_TLS ctx_stack *tls_stack;
/* The top entry's context, or NULL: what sonde_context_current() reads
 * (and the log call, inline: sonde-int.h). */
SONDE_TLS const sonde_span_context *sonde__context_tls;
static const sonde_span_context empty_ctx;
/* relaxed: a unique number is all that is needed, nothing is published */
static _Atomic uint32_t next_serial;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t stack_key;
static bool stack_key_ok;

static void stack_free(ctx_stack *st)
{
	sonde__free(st->e, st->cap * sizeof(ctx_entry));
	sonde__free(st, sizeof(*st));
}

/* Thread exit: the stack goes with the thread. (A later destructor that
 * attaches again allocates a new one, and glibc calls this again.) */
static void stack_exit(void *p)
{
	if (tls_stack == p) {
		tls_stack = NULL;
		sonde__context_tls = NULL;
	}
	stack_free(p);
}

static void key_init(void)
{
	stack_key_ok = pthread_key_create(&stack_key, stack_exit) == 0;
}

static ctx_stack *stack_get(void)
{
	ctx_stack *st = tls_stack;
	uint32_t s;

	if (st)
		return st;
	pthread_once(&key_once, key_init);
	st = sonde__calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->e = sonde__malloc(FIRST_CAP * sizeof(ctx_entry));
	if (!st->e) {
		sonde__free(st, sizeof(*st));
		return NULL;
	}
	st->cap = FIRST_CAP;
	do /* 0 means "no thread": skip it when the counter wraps */
		s = sonde__fetch_add_relaxed(&next_serial, 1) + 1;
	while (s == 0);
	st->serial = s;
	if (stack_key_ok)
		pthread_setspecific(stack_key, st);
	tls_stack = st;
	return st;
}

/* Room for one more entry: false at SONDE_CONTEXT_DEPTH_MAX or on ENOMEM. */
static bool stack_room(ctx_stack *st)
{
	uint32_t ncap;
	ctx_entry *ne;

	if (st->depth < st->cap)
		return true;
	if (st->cap >= SONDE_CONTEXT_DEPTH_MAX)
		return false;
	ncap = st->cap * 2 > SONDE_CONTEXT_DEPTH_MAX ? SONDE_CONTEXT_DEPTH_MAX : st->cap * 2;
	ne = sonde__realloc(st->e, st->cap * sizeof(ctx_entry), ncap * sizeof(ctx_entry));
	if (!ne)
		return false;
	st->e = ne;
	st->cap = ncap;
	return true;
}

bool sonde_span_context_valid(const sonde_span_context *ctx)
{
	static const uint8_t zero[16];

	return ctx && memcmp(ctx->trace_id, zero, sizeof(zero)) != 0;
}

const sonde_span_context *sonde_context_current(void)
{
	const sonde_span_context *c = sonde__context_tls;

	return c ? c : &empty_ctx;
}

static void set_current(ctx_stack *st)
{
	sonde__context_tls = st->depth ? &st->e[st->depth - 1].ctx : NULL;
}

void sonde_context_attach(sonde_context_scope *scope, const sonde_span_context *ctx)
{
	ctx_stack *st;
	ctx_entry *e;

	if (!scope)
		return;
	if (!ctx)
		memset(&scope->ctx, 0, sizeof(scope->ctx));
	else if (ctx != &scope->ctx) /* a span builds its context in place */
		scope->ctx = *ctx;
	scope->ctx.correlation_id[SONDE_CORRELATION_ID_MAX] = '\0';
	if (scope->ctx.correlation_len > SONDE_CORRELATION_ID_MAX)
		scope->ctx.correlation_len = SONDE_CORRELATION_ID_MAX;
	scope->id = 0;
	scope->magic = 0; /* not attached until the entry is pushed */
	st = stack_get();
	if (!st) {
		sonde__fail(SONDE_ENOMEM, "sonde_context_attach: no memory for the thread's "
		                          "context stack; not attached");
		return;
	}
	if (!stack_room(st)) {
		if (st->cap >= SONDE_CONTEXT_DEPTH_MAX)
			sonde__fail(SONDE_ELIMIT,
			            "sonde_context_attach: more than %d nested scopes on this "
			            "thread; not attached",
			            SONDE_CONTEXT_DEPTH_MAX);
		else
			sonde__fail(SONDE_ENOMEM, "sonde_context_attach: no memory to grow the "
			                          "thread's context stack; not attached");
		return;
	}
	e = &st->e[st->depth++];
	e->ctx = scope->ctx;
	e->id = (uint64_t)st->serial << 32 | ++st->attaches;
	e->detached = false;
	scope->id = e->id;
	scope->magic = SCOPE_MAGIC;
	sonde__context_tls = &e->ctx;
}

int sonde_context_detach(sonde_context_scope *scope)
{
	ctx_stack *st = tls_stack;
	uint32_t i;

	if (!scope)
		return sonde__fail(SONDE_EINVAL, "sonde_context_detach: scope is NULL");
	if (scope->magic != SCOPE_MAGIC)
		return sonde__fail(SONDE_ESTATE, "sonde_context_detach: scope is not attached");
	scope->magic = 0;
	/* the usual case: the innermost scope of this thread (an id names one
	 * entry of one thread, so a match on the top needs no other check) */
	if (st && st->depth && st->e[st->depth - 1].id == scope->id) {
		st->depth--;
		while (st->depth && st->e[st->depth - 1].detached)
			st->depth--;
		set_current(st);
		return SONDE_OK;
	}
	if (!st || (uint32_t)(scope->id >> 32) != st->serial)
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_context_detach: scope was attached on another thread; "
		                   "that thread's context is left alone");
	for (i = st->depth; i-- > 0;)
		if (st->e[i].id == scope->id)
			break;
	if (i == UINT32_MAX) /* not on this stack: nothing to undo */
		return sonde__fail(SONDE_ESTATE, "sonde_context_detach: scope is not attached");
	if (i + 1 != st->depth) {
		/* out of order: forget it when the scopes above it are gone */
		st->e[i].detached = true;
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_context_detach: scope is not the innermost attached "
		                   "scope of this thread (detach in reverse order of attach); "
		                   "it is dropped, the current context is left alone");
	}
	st->depth--;
	while (st->depth && st->e[st->depth - 1].detached)
		st->depth--;
	set_current(st);
	return SONDE_OK;
}
