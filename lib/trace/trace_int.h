/*
 * lib/trace/trace_int.h - internals shared by the trace files (traceparent.c,
 * tracestate.c, baggage.c, trace_ids.c, trace_span.c, trace_propagate.c).
 */
#ifndef SONDE_TRACE_INT_H
#define SONDE_TRACE_INT_H

#include "core/sonde-int.h"
#include "sonde/trace.h"

static inline bool sonde__id_is_zero(const uint8_t *id, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= id[i];
	return acc == 0;
}

static inline bool sonde__is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims spaces and tabs on both sides of [*s, *s + *len). */
static inline void sonde__trim_ows(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;
	while (n && sonde__is_ows(p[0])) {
		p++;
		n--;
	}
	while (n && sonde__is_ows(p[n - 1]))
		n--;
	*s = p;
	*len = n;
}

/* Fills a span context for a brand-new trace: fresh trace id, no span id,
 * the random flag, the sampled flag from the root sampler, the correlation
 * id derived from the trace id. (trace_span.c) */
void sonde__trace_new_root(sonde_span_context *ctx);
/* Sets ctx's correlation id to the hex of its trace id. (trace_span.c) */
void sonde__correlation_from_trace(sonde_span_context *ctx);

#endif
