/* lib/trace/traceparent.c - W3C Trace Context traceparent: parse and format
 * (hex through core/hex.c).
 *
 * Layout (version 00): vv-<32 hex trace id>-<16 hex parent id>-<2 hex flags>
 * at offsets 0, 2, 3, 35, 36, 52, 53; 55 characters in all. */
#include "trace/trace_int.h"

size_t sonde_id_to_hex(const uint8_t *id, size_t n, char *out)
{
	if (!id || !out)
		return 0;
	sonde__hex_put(out, id, n);
	out[2 * n] = '\0';
	return 2 * n;
}

/* Decodes n bytes from 2n hex characters; returns the OR of every looked-up
 * value, whose high nibble is non-zero iff some character was not
 * lowercase hex. */
static inline uint8_t hex_decode(uint8_t *out, const char *s, size_t n)
{
	uint8_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t hi = sonde__hex_val[(unsigned char)s[2 * i]];
		uint8_t lo = sonde__hex_val[(unsigned char)s[2 * i + 1]];
		bad |= hi | lo;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return bad;
}

int sonde_traceparent_parse(const char *s, size_t len, sonde_traceparent *out)
{
	uint8_t bad, v[1];

	if (!out)
		return sonde__fail(SONDE_EINVAL, "traceparent: out is NULL");
	if (!s || len < SONDE_TRACEPARENT_LEN)
		goto invalid_len;
	/* version: 2 lowercase hex digits then '-' (anything else: restart) */
	bad = hex_decode(v, s, 1);
	if ((bad & 0xf0) || s[2] != '-')
		goto invalid_version;
	if (v[0] == 0xff)
		goto invalid_version;
	if (v[0] == 0x00 ? len != SONDE_TRACEPARENT_LEN
	                 : (len > SONDE_TRACEPARENT_LEN && s[SONDE_TRACEPARENT_LEN] != '-'))
		goto invalid_len;
	if (s[35] != '-' || s[52] != '-')
		goto invalid_shape;
	out->version = v[0];
	bad = hex_decode(out->trace_id, s + 3, 16);
	bad |= hex_decode(out->parent_id, s + 36, 8);
	bad |= hex_decode(&out->flags, s + 53, 1);
	if (bad & 0xf0)
		goto invalid_shape;
	if (sonde__id_is_zero(out->trace_id, 16)) {
		memset(out, 0, sizeof(*out));
		return sonde__fail(SONDE_EINVAL, "traceparent: trace-id is all zero");
	}
	if (sonde__id_is_zero(out->parent_id, 8)) {
		memset(out, 0, sizeof(*out));
		return sonde__fail(SONDE_EINVAL, "traceparent: parent-id is all zero");
	}
	return SONDE_OK;

invalid_len:
	memset(out, 0, sizeof(*out));
	return sonde__fail(SONDE_EINVAL,
	                   "traceparent: length %zu (version 00 needs exactly 55 characters, a "
	                   "higher version at least 55 with '-' after the flags)",
	                   len);
invalid_version:
	memset(out, 0, sizeof(*out));
	return sonde__fail(SONDE_EINVAL,
	                   "traceparent: version must be 2 lowercase hex digits other than ff, "
	                   "then '-'");
invalid_shape:
	memset(out, 0, sizeof(*out));
	return sonde__fail(SONDE_EINVAL,
	                   "traceparent: expected lowercase hex fields 32-16-2 separated by '-'");
}

/* The formatter shared by both entry points; ids already checked. */
static size_t format_ids(const uint8_t *trace_id, const uint8_t *span_id, uint8_t flags, char *out,
                         size_t cap)
{
	out[0] = '0';
	out[1] = '0';
	out[2] = '-';
	sonde__hex_put(out + 3, trace_id, 16);
	out[35] = '-';
	sonde__hex_put(out + 36, span_id, 8);
	out[52] = '-';
	/* the spec: bits other than sampled and random MUST be sent as 0 */
	flags &= SONDE_TRACE_FLAGS_KNOWN;
	sonde__hex_put(out + 53, &flags, 1);
	if (cap > SONDE_TRACEPARENT_LEN)
		out[SONDE_TRACEPARENT_LEN] = '\0';
	return SONDE_TRACEPARENT_LEN;
}

size_t sonde_traceparent_format(const sonde_traceparent *tp, char *out, size_t cap)
{
	if (!tp || !out || cap < SONDE_TRACEPARENT_LEN) {
		sonde__fail(SONDE_EINVAL, "traceparent format: NULL argument or cap %zu < 55", cap);
		return 0;
	}
	if (sonde__id_is_zero(tp->trace_id, 16) || sonde__id_is_zero(tp->parent_id, 8)) {
		sonde__fail(SONDE_EINVAL, "traceparent format: all-zero trace-id or parent-id");
		return 0;
	}
	return format_ids(tp->trace_id, tp->parent_id, tp->flags, out, cap);
}

size_t sonde_span_context_format_traceparent(const sonde_span_context *ctx, char *out, size_t cap)
{
	if (!ctx || !out || cap < SONDE_TRACEPARENT_LEN) {
		sonde__fail(SONDE_EINVAL, "traceparent format: NULL argument or cap %zu < 55", cap);
		return 0;
	}
	if (sonde__id_is_zero(ctx->trace_id, 16) || sonde__id_is_zero(ctx->span_id, 8)) {
		sonde__fail(SONDE_EINVAL, "traceparent format: context has no trace or no span id");
		return 0;
	}
	return format_ids(ctx->trace_id, ctx->span_id, ctx->trace_flags, out, cap);
}
