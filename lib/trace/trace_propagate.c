/* lib/trace/trace_propagate.c - the one-call helpers: extract what a request
 * brought (traceparent, tracestate, baggage, a request id), inject the
 * headers of an outgoing request. */
#include "trace/trace_int.h"

/* Header lines gathered per name without allocating. A request with more
 * tracestate lines than this has its tracestate dropped (it would need
 * more than 32 members or be padding); baggage lines past it are ignored. */
#define MAX_LINES 64

struct sonde_trace_carrier {
	sonde_span_context ctx;
	bool continued;
	sonde_tracestate *ts;
	sonde_baggage *bg;
};

sonde_trace_carrier *sonde_trace_carrier_new(void)
{
	sonde_trace_carrier *c = sonde__calloc(1, sizeof(*c));

	if (!c)
		goto oom;
	c->ts = sonde_tracestate_new();
	c->bg = sonde_baggage_new();
	if (!c->ts || !c->bg) {
		sonde_trace_carrier_free(c);
		goto oom;
	}
	return c;
oom:
	sonde__fail(SONDE_ENOMEM, "trace_carrier: out of memory");
	return NULL;
}

void sonde_trace_carrier_free(sonde_trace_carrier *c)
{
	if (!c)
		return;
	sonde_tracestate_free(c->ts);
	sonde_baggage_free(c->bg);
	sonde__free(c, sizeof(*c));
}

static bool name_is(const sonde_header *h, const char *lower, size_t n)
{
	if (h->name_len != n || !h->name)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h->name[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lower[i])
			return false;
	}
	return true;
}

#define NAME_IS(h, lit) name_is((h), lit, sizeof(lit) - 1)

/* A request id we are willing to put in every log line: 1..64 characters
 * of [A-Za-z0-9._:/+=@-] (no spaces, quotes or control characters). */
static bool request_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > SONDE_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '/' || c == '+' || c == '=' ||
		      c == '@' || c == '-'))
			return false;
	}
	return true;
}

int sonde_trace_extract(sonde_trace_carrier *c, const sonde_header *headers, size_t n)
{
	const char *ts_lines[MAX_LINES], *bg_lines[MAX_LINES];
	size_t ts_lens[MAX_LINES], bg_lens[MAX_LINES], nts = 0, nbg = 0, ntp = 0;
	const char *tp = NULL, *rid = NULL, *cid = NULL;
	size_t tp_len = 0, rid_len = 0, cid_len = 0;
	bool ts_overflow = false;
	sonde_traceparent parsed;

	if (!c || (n && !headers))
		return sonde__fail(SONDE_EINVAL, "trace_extract: NULL argument");
	for (size_t i = 0; i < n; i++) {
		const sonde_header *h = &headers[i];
		const char *v = h->value;
		size_t vl = v ? h->value_len : 0;

		sonde__trim_ows(&v, &vl);
		if (NAME_IS(h, "traceparent")) {
			ntp++;
			tp = v;
			tp_len = vl;
		} else if (NAME_IS(h, "tracestate")) {
			if (nts == MAX_LINES) {
				ts_overflow = true;
			} else {
				ts_lines[nts] = v;
				ts_lens[nts++] = vl;
			}
		} else if (NAME_IS(h, "baggage")) {
			if (nbg < MAX_LINES) {
				bg_lines[nbg] = v;
				bg_lens[nbg++] = vl;
			}
		} else if (NAME_IS(h, "x-request-id")) {
			if (!rid) {
				rid = v;
				rid_len = vl;
			}
		} else if (NAME_IS(h, "x-correlation-id")) {
			if (!cid) {
				cid = v;
				cid_len = vl;
			}
		}
	}

	/* traceparent: exactly one valid header continues the trace */
	c->continued = ntp == 1 && sonde_traceparent_parse(tp, tp_len, &parsed) == SONDE_OK;
	sonde_tracestate_clear(c->ts);
	if (c->continued) {
		memset(&c->ctx, 0, sizeof(c->ctx));
		memcpy(c->ctx.trace_id, parsed.trace_id, 16);
		memcpy(c->ctx.span_id, parsed.parent_id, 8);
		c->ctx.trace_flags = parsed.flags & SONDE_TRACE_FLAGS_KNOWN;
		c->ctx.is_remote = 1;
		/* a bad tracestate never invalidates traceparent: it is dropped
		 * whole (parse leaves ts empty) */
		if (!ts_overflow && sonde_tracestate_parse_lines(c->ts, nts, ts_lines, ts_lens)) {
			/* invalid: parse left it empty, the whole header dropped */
		}
	} else {
		/* the spec: ignore the header, start a new trace, skip tracestate */
		sonde__trace_new_root(&c->ctx);
	}

	/* baggage does not depend on traceparent; ELIMIT keeps what fits,
	 * EINVAL leaves it empty */
	if (sonde_baggage_parse_lines(c->bg, nbg, bg_lines, bg_lens)) {
		/* the outcome is in c->bg; the reason in sonde_last_error() */
	}

	if (rid && request_id_ok(rid, rid_len)) {
		memcpy(c->ctx.correlation_id, rid, rid_len);
		c->ctx.correlation_id[rid_len] = '\0';
		c->ctx.correlation_len = (uint8_t)rid_len;
	} else if (cid && request_id_ok(cid, cid_len)) {
		memcpy(c->ctx.correlation_id, cid, cid_len);
		c->ctx.correlation_id[cid_len] = '\0';
		c->ctx.correlation_len = (uint8_t)cid_len;
	} else {
		sonde__correlation_from_trace(&c->ctx);
	}
	return SONDE_OK;
}

const sonde_span_context *sonde_trace_carrier_context(const sonde_trace_carrier *c)
{
	return c ? &c->ctx : NULL;
}

bool sonde_trace_carrier_continued(const sonde_trace_carrier *c)
{
	return c && c->continued;
}

sonde_tracestate *sonde_trace_carrier_tracestate(sonde_trace_carrier *c)
{
	return c ? c->ts : NULL;
}

sonde_baggage *sonde_trace_carrier_baggage(sonde_trace_carrier *c)
{
	return c ? c->bg : NULL;
}

int sonde_trace_inject(const sonde_trace_carrier *c, const sonde_span_context *ctx,
                       sonde_trace_headers *out)
{
	sonde_span_context local;
	size_t n;
	int rc = SONDE_OK;

	if (!out)
		return sonde__fail(SONDE_EINVAL, "trace_inject: out is NULL");
	if (!ctx)
		ctx = sonde_context_current();
	if (!sonde_span_context_valid(ctx)) {
		sonde__trace_new_root(&local);
		sonde_span_id_generate(local.span_id);
		ctx = &local;
	} else if (sonde__id_is_zero(ctx->span_id, 8)) {
		/* a trace without a span yet (a new trace from extract): this
		 * request gets its own parent-id */
		local = *ctx;
		sonde_span_id_generate(local.span_id);
		ctx = &local;
	}
	out->count = 0;
	n = sonde_span_context_format_traceparent(ctx, out->traceparent, sizeof(out->traceparent));
	out->headers[out->count].name = "traceparent";
	out->headers[out->count].name_len = 11;
	out->headers[out->count].value = out->traceparent;
	out->headers[out->count++].value_len = n;

	n = c ? sonde_tracestate_format(c->ts, SONDE_TRACESTATE_FORMAT_LIMIT, out->tracestate,
	                                sizeof(out->tracestate))
	      : 0;
	out->tracestate[n] = '\0';
	if (n) {
		out->headers[out->count].name = "tracestate";
		out->headers[out->count].name_len = 10;
		out->headers[out->count].value = out->tracestate;
		out->headers[out->count++].value_len = n;
	}

	sonde_buf_reset(&out->baggage);
	if (c && sonde_baggage_count(c->bg)) {
		rc = sonde_baggage_format(c->bg, &out->baggage);
		if (rc == SONDE_OK && out->baggage.len) {
			out->headers[out->count].name = "baggage";
			out->headers[out->count].name_len = 7;
			out->headers[out->count].value = out->baggage.data;
			out->headers[out->count++].value_len = out->baggage.len;
		}
	}
	return rc;
}

void sonde_trace_headers_destroy(sonde_trace_headers *out)
{
	if (!out)
		return;
	sonde_buf_destroy(&out->baggage);
	out->count = 0;
}
