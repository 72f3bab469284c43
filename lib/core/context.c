/* lib/core/context.c - the per-thread current trace context: one initial-exec
 * thread-local pointer to the innermost attached scope. */
#include "core/atomic.h"
#include "core/sonde-int.h"

#define SCOPE_MAGIC 0x73636f70u /* "scop" */

static SONDE_TLS sonde_context_scope *current;
static const sonde_span_context empty_ctx;

bool sonde_span_context_valid(const sonde_span_context *ctx)
{
	static const uint8_t zero[16];

	return ctx && memcmp(ctx->trace_id, zero, sizeof(zero)) != 0;
}

const sonde_span_context *sonde_context_current(void)
{
	sonde_context_scope *s = current;

	return s ? &s->ctx : &empty_ctx;
}

void sonde_context_attach(sonde_context_scope *scope, const sonde_span_context *ctx)
{
	if (!scope)
		return;
	if (ctx)
		scope->ctx = *ctx;
	else
		memset(&scope->ctx, 0, sizeof(scope->ctx));
	scope->ctx.correlation_id[SONDE_CORRELATION_ID_MAX] = '\0';
	if (scope->ctx.correlation_len > SONDE_CORRELATION_ID_MAX)
		scope->ctx.correlation_len = SONDE_CORRELATION_ID_MAX;
	scope->prev = current;
	scope->magic = SCOPE_MAGIC;
	current = scope;
}

int sonde_context_detach(sonde_context_scope *scope)
{
	if (!scope)
		return sonde__fail(SONDE_EINVAL, "sonde_context_detach: scope is NULL");
	if (scope != current || scope->magic != SCOPE_MAGIC)
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_context_detach: scope is not the innermost attached "
		                   "scope of this thread (detach in reverse order of attach)");
	current = scope->prev;
	scope->magic = 0;
	return SONDE_OK;
}
