/*
 * lib/export/otlp_encode.c - span records as an OTLP ExportTraceServiceRequest,
 * protobuf and JSON (see otlp.h for the contract).
 *
 * Field numbers (opentelemetry-proto, trace.proto / common.proto /
 * resource.proto / trace_service.proto):
 *   ExportTraceServiceRequest  resource_spans 1
 *   ResourceSpans              resource 1, scope_spans 2
 *   Resource                   attributes 1
 *   ScopeSpans                 scope 1, spans 2
 *   InstrumentationScope       name 1, version 2
 *   Span   trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6,
 *          start_time_unix_nano 7 (fixed64), end_time_unix_nano 8 (fixed64),
 *          attributes 9, dropped_attributes_count 10, events 11,
 *          dropped_events_count 12, links 13, dropped_links_count 14,
 *          status 15, flags 16 (fixed32)
 *   Span.Event  time_unix_nano 1 (fixed64), name 2, attributes 3,
 *               dropped_attributes_count 4
 *   Span.Link   trace_id 1, span_id 2, attributes 4,
 *               dropped_attributes_count 5, flags 6 (fixed32)
 *   Status      message 2, code 3
 *   KeyValue    key 1, value 2
 *   AnyValue    string_value 1, bool_value 2, int_value 3, double_value 4,
 *               array_value 5
 *   ArrayValue  values 1
 * Fields are written in field-number order; a field with its default
 * value is left out, except the member of AnyValue's oneof (which says
 * which member is set, so 0, false and "" are written too).
 */
#include <math.h>

#include "core/pb.h"
#include "export/otlp.h"

/* W3C trace flags in the low byte of Span.flags / Link.flags
 * (SPAN_FLAGS_TRACE_FLAGS_MASK). */
#define FLAGS_TRACE_MASK 0xffu

/* ==== protobuf ============================================================== */

/* A string field; invalid UTF-8 replaced by U+FFFD (see otlp.h). */
void sonde__otlp_pb_str(sonde_buf *b, uint32_t field, const char *s, size_t n)
{
	size_t bad = n ? sonde__utf8_invalid_at(s, n) : SIZE_MAX;
	size_t mark, i;

	if (bad == SIZE_MAX) {
		sonde__pb_bytes(b, field, s, n);
		return;
	}
	mark = sonde__pb_begin(b, field);
	sonde__buf_put(b, s, bad);
	for (i = bad; i < n;) {
		size_t w;
		if (!sonde__buf_reserve(b, 4))
			return;
		i += sonde__utf8_copy_or_fffd(b->data + b->len, (const unsigned char *)s + i, n - i,
		                              &w);
		b->len += w;
	}
	sonde__pb_end(b, mark);
}

static void pb_cstr(sonde_buf *b, uint32_t field, const char *s)
{
	sonde__otlp_pb_str(b, field, s, strlen(s));
}

/* One AnyValue's oneof member (scalars) into the open AnyValue. */
static void pb_scalar(sonde_buf *b, sonde_attr_type t, const void *elem)
{
	switch (t) {
	case SONDE_ATTR_STRING_ARRAY: pb_cstr(b, 1, *(const char *const *)elem); break;
	case SONDE_ATTR_BOOL_ARRAY: sonde__pb_bool(b, 2, *(const bool *)elem); break;
	case SONDE_ATTR_INT_ARRAY: sonde__pb_int64(b, 3, *(const int64_t *)elem); break;
	case SONDE_ATTR_DOUBLE_ARRAY: sonde__pb_double(b, 4, *(const double *)elem); break;
	default: break;
	}
}

static size_t elem_size(sonde_attr_type t)
{
	return t == SONDE_ATTR_STRING_ARRAY ? sizeof(char *)
	       : t == SONDE_ATTR_BOOL_ARRAY ? sizeof(bool)
	                                    : 8;
}

/* KeyValue a as field `field` of the enclosing message. */
static void pb_kv(sonde_buf *b, uint32_t field, const sonde_span_attr *a)
{
	size_t kv = sonde__pb_begin(b, field), val, arr, i;

	pb_cstr(b, 1, a->key);
	val = sonde__pb_begin(b, 2);
	switch (a->type) {
	case SONDE_ATTR_STRING: sonde__otlp_pb_str(b, 1, a->v.str, a->str_len); break;
	case SONDE_ATTR_BOOL: sonde__pb_bool(b, 2, a->v.b); break;
	case SONDE_ATTR_INT: sonde__pb_int64(b, 3, a->v.i); break;
	case SONDE_ATTR_DOUBLE: sonde__pb_double(b, 4, a->v.d); break;
	case SONDE_ATTR_STRING_ARRAY:
	case SONDE_ATTR_INT_ARRAY:
	case SONDE_ATTR_DOUBLE_ARRAY:
	case SONDE_ATTR_BOOL_ARRAY:
		arr = sonde__pb_begin(b, 5);
		for (i = 0; i < a->str_len; i++) {
			size_t one = sonde__pb_begin(b, 1);
			pb_scalar(b, a->type, (const char *)a->v.strs + i * elem_size(a->type));
			sonde__pb_end(b, one);
		}
		sonde__pb_end(b, arr);
		break;
	default: break; /* an unknown type: an empty AnyValue */
	}
	sonde__pb_end(b, val);
	sonde__pb_end(b, kv);
}

static void pb_resource_attr(void *arg, const sonde_span_attr *a)
{
	pb_kv(arg, 1, a);
}

void sonde__otlp_pb_resource(sonde_buf *b)
{
	size_t m = sonde__pb_begin(b, 1);

	sonde__resource_foreach(pb_resource_attr, b);
	sonde__pb_end(b, m);
}

static bool nonzero(const uint8_t *id, size_t n)
{
	return !sonde__id_is_zero(id, n);
}

static void pb_span(sonde_buf *b, const sonde__span_data *d)
{
	size_t sp = sonde__pb_begin(b, 2), m;
	uint32_t i, j;

	sonde__pb_bytes(b, 1, d->trace_id, 16);
	sonde__pb_bytes(b, 2, d->span_id, 8);
	if (nonzero(d->parent_span_id, 8))
		sonde__pb_bytes(b, 4, d->parent_span_id, 8);
	sonde__otlp_pb_str(b, 5, d->name, d->name_len);
	if (d->kind)
		sonde__pb_uint64(b, 6, d->kind);
	sonde__pb_fixed64(b, 7, (uint64_t)d->start_unix_ns);
	sonde__pb_fixed64(b, 8, (uint64_t)d->end_unix_ns);
	for (i = 0; i < d->attr_count; i++)
		pb_kv(b, 9, &d->attrs[i]);
	if (d->attrs_dropped)
		sonde__pb_uint64(b, 10, d->attrs_dropped);
	for (i = 0; i < d->event_count; i++) {
		const sonde_span_event *e = &d->events[i];
		m = sonde__pb_begin(b, 11);
		sonde__pb_fixed64(b, 1, (uint64_t)e->time_unix_ns);
		sonde__otlp_pb_str(b, 2, e->name, e->name_len);
		for (j = 0; j < e->attr_count; j++)
			pb_kv(b, 3, &e->attrs[j]);
		if (e->attrs_dropped)
			sonde__pb_uint64(b, 4, e->attrs_dropped);
		sonde__pb_end(b, m);
	}
	if (d->events_dropped)
		sonde__pb_uint64(b, 12, d->events_dropped);
	for (i = 0; i < d->link_count; i++) {
		const sonde_span_link *l = &d->links[i];
		m = sonde__pb_begin(b, 13);
		sonde__pb_bytes(b, 1, l->trace_id, 16);
		sonde__pb_bytes(b, 2, l->span_id, 8);
		for (j = 0; j < l->attr_count; j++)
			pb_kv(b, 4, &l->attrs[j]);
		if (l->attrs_dropped)
			sonde__pb_uint64(b, 5, l->attrs_dropped);
		sonde__pb_fixed32(b, 6, l->trace_flags & FLAGS_TRACE_MASK);
		sonde__pb_end(b, m);
	}
	if (d->links_dropped)
		sonde__pb_uint64(b, 14, d->links_dropped);
	if (d->status != SONDE_SPAN_STATUS_UNSET) {
		m = sonde__pb_begin(b, 15);
		if (d->status_msg && d->status_msg_len)
			sonde__otlp_pb_str(b, 2, d->status_msg, d->status_msg_len);
		sonde__pb_uint64(b, 3, (uint64_t)d->status);
		sonde__pb_end(b, m);
	}
	sonde__pb_fixed32(b, 16, d->trace_flags & FLAGS_TRACE_MASK);
	sonde__pb_end(b, sp);
}

#define SCOPE_NAME_MAX 256
#define SCOPE_VERSION_MAX 128

void sonde__otlp_traces_pb(sonde_buf *b, sonde__span_data *const *spans, size_t n)
{
	char name[SCOPE_NAME_MAX], version[SCOPE_VERSION_MAX];
	size_t rs, m, ss, i;

	sonde_trace_get_scope(name, sizeof(name), version, sizeof(version));
	rs = sonde__pb_begin(b, 1);
	sonde__otlp_pb_resource(b);
	ss = sonde__pb_begin(b, 2);
	m = sonde__pb_begin(b, 1);
	pb_cstr(b, 1, name);
	if (version[0])
		pb_cstr(b, 2, version);
	sonde__pb_end(b, m);
	for (i = 0; i < n; i++)
		pb_span(b, spans[i]);
	sonde__pb_end(b, ss);
	sonde__pb_end(b, rs);
}

/* ==== JSON ================================================================== */

static void js_lit(sonde_buf *b, const char *s)
{
	sonde__buf_puts(b, s);
}

/* "key":"<hex>" */
static void js_hex(sonde_buf *b, const char *key, const uint8_t *id, size_t n)
{
	char hex[33];

	js_lit(b, key);
	sonde__hex_put(hex, id, n);
	sonde__buf_putc(b, '"');
	sonde__buf_put(b, hex, n * 2);
	sonde__buf_putc(b, '"');
}

/* A 64-bit integer as a JSON string (OTLP/JSON: int64, fixed64). */
static void js_i64str(sonde_buf *b, int64_t v)
{
	sonde__buf_putc(b, '"');
	sonde__json_put_i64(b, v);
	sonde__buf_putc(b, '"');
}

/* proto3 JSON doubles: numbers, or "NaN", "Infinity", "-Infinity". */
void sonde__otlp_js_double(sonde_buf *b, double v)
{
	if (isnan(v))
		js_lit(b, "\"NaN\"");
	else if (isinf(v))
		js_lit(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
		sonde__json_put_double(b, v);
}

/* One AnyValue object. */
static void js_value(sonde_buf *b, sonde_attr_type t, const sonde_span_attr *a, const void *elem)
{
	switch (t) {
	case SONDE_ATTR_STRING:
		js_lit(b, "{\"stringValue\":");
		sonde__json_put_string(b, a->v.str, a->str_len);
		break;
	case SONDE_ATTR_BOOL:
		js_lit(b, a->v.b ? "{\"boolValue\":true" : "{\"boolValue\":false");
		break;
	case SONDE_ATTR_INT:
		js_lit(b, "{\"intValue\":");
		js_i64str(b, a->v.i);
		break;
	case SONDE_ATTR_DOUBLE:
		js_lit(b, "{\"doubleValue\":");
		sonde__otlp_js_double(b, a->v.d);
		break;
	case SONDE_ATTR_STRING_ARRAY:
		js_lit(b, "{\"stringValue\":");
		sonde__json_put_cstr(b, *(const char *const *)elem);
		break;
	case SONDE_ATTR_BOOL_ARRAY:
		js_lit(b, *(const bool *)elem ? "{\"boolValue\":true" : "{\"boolValue\":false");
		break;
	case SONDE_ATTR_INT_ARRAY:
		js_lit(b, "{\"intValue\":");
		js_i64str(b, *(const int64_t *)elem);
		break;
	case SONDE_ATTR_DOUBLE_ARRAY:
		js_lit(b, "{\"doubleValue\":");
		sonde__otlp_js_double(b, *(const double *)elem);
		break;
	default: sonde__buf_putc(b, '{'); break;
	}
	sonde__buf_putc(b, '}');
}

static bool is_array(sonde_attr_type t)
{
	return t >= SONDE_ATTR_STRING_ARRAY && t <= SONDE_ATTR_BOOL_ARRAY;
}

static void js_kv(sonde_buf *b, const sonde_span_attr *a)
{
	size_t i;

	js_lit(b, "{\"key\":");
	sonde__json_put_cstr(b, a->key);
	js_lit(b, ",\"value\":");
	if (is_array(a->type)) {
		js_lit(b, "{\"arrayValue\":{");
		if (a->str_len) {
			js_lit(b, "\"values\":[");
			for (i = 0; i < a->str_len; i++) {
				if (i)
					sonde__buf_putc(b, ',');
				js_value(b, a->type, a,
				         (const char *)a->v.strs + i * elem_size(a->type));
			}
			sonde__buf_putc(b, ']');
		}
		js_lit(b, "}}");
	} else {
		js_value(b, a->type, a, NULL);
	}
	sonde__buf_putc(b, '}');
}

/* ,"key":[kv,...] when n > 0 */
static void js_attrs(sonde_buf *b, const char *key, const sonde_span_attr *attrs, uint32_t n)
{
	uint32_t i;

	if (!n)
		return;
	js_lit(b, key);
	sonde__buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			sonde__buf_putc(b, ',');
		js_kv(b, &attrs[i]);
	}
	sonde__buf_putc(b, ']');
}

static void js_u32(sonde_buf *b, const char *key, uint32_t v)
{
	js_lit(b, key);
	sonde__json_put_u64(b, v);
}

typedef struct js_res {
	sonde_buf *b;
	size_t n;
} js_res;

static void js_resource_attr(void *arg, const sonde_span_attr *a)
{
	js_res *r = arg;

	if (r->n++)
		sonde__buf_putc(r->b, ',');
	js_kv(r->b, a);
}

void sonde__otlp_js_resource(sonde_buf *b)
{
	js_res r = {b, 0};

	js_lit(b, "\"resource\":{\"attributes\":[");
	sonde__resource_foreach(js_resource_attr, &r);
	js_lit(b, "]}");
}

static void js_span(sonde_buf *b, const sonde__span_data *d)
{
	uint32_t i;

	js_hex(b, "{\"traceId\":", d->trace_id, 16);
	js_hex(b, ",\"spanId\":", d->span_id, 8);
	if (nonzero(d->parent_span_id, 8))
		js_hex(b, ",\"parentSpanId\":", d->parent_span_id, 8);
	js_lit(b, ",\"name\":");
	sonde__json_put_string(b, d->name, d->name_len);
	if (d->kind)
		js_u32(b, ",\"kind\":", d->kind);
	js_lit(b, ",\"startTimeUnixNano\":");
	js_i64str(b, d->start_unix_ns);
	js_lit(b, ",\"endTimeUnixNano\":");
	js_i64str(b, d->end_unix_ns);
	js_attrs(b, ",\"attributes\":", d->attrs, d->attr_count);
	if (d->attrs_dropped)
		js_u32(b, ",\"droppedAttributesCount\":", d->attrs_dropped);
	if (d->event_count) {
		js_lit(b, ",\"events\":[");
		for (i = 0; i < d->event_count; i++) {
			const sonde_span_event *e = &d->events[i];
			js_lit(b, i ? ",{\"timeUnixNano\":" : "{\"timeUnixNano\":");
			js_i64str(b, e->time_unix_ns);
			js_lit(b, ",\"name\":");
			sonde__json_put_string(b, e->name, e->name_len);
			js_attrs(b, ",\"attributes\":", e->attrs, e->attr_count);
			if (e->attrs_dropped)
				js_u32(b, ",\"droppedAttributesCount\":", e->attrs_dropped);
			sonde__buf_putc(b, '}');
		}
		sonde__buf_putc(b, ']');
	}
	if (d->events_dropped)
		js_u32(b, ",\"droppedEventsCount\":", d->events_dropped);
	if (d->link_count) {
		js_lit(b, ",\"links\":[");
		for (i = 0; i < d->link_count; i++) {
			const sonde_span_link *l = &d->links[i];
			js_hex(b, i ? ",{\"traceId\":" : "{\"traceId\":", l->trace_id, 16);
			js_hex(b, ",\"spanId\":", l->span_id, 8);
			js_attrs(b, ",\"attributes\":", l->attrs, l->attr_count);
			if (l->attrs_dropped)
				js_u32(b, ",\"droppedAttributesCount\":", l->attrs_dropped);
			js_u32(b, ",\"flags\":", l->trace_flags & FLAGS_TRACE_MASK);
			sonde__buf_putc(b, '}');
		}
		sonde__buf_putc(b, ']');
	}
	if (d->links_dropped)
		js_u32(b, ",\"droppedLinksCount\":", d->links_dropped);
	if (d->status != SONDE_SPAN_STATUS_UNSET) {
		js_lit(b, ",\"status\":{");
		if (d->status_msg && d->status_msg_len) {
			js_lit(b, "\"message\":");
			sonde__json_put_string(b, d->status_msg, d->status_msg_len);
			sonde__buf_putc(b, ',');
		}
		js_u32(b, "\"code\":", (uint32_t)d->status);
		sonde__buf_putc(b, '}');
	}
	js_u32(b, ",\"flags\":", d->trace_flags & FLAGS_TRACE_MASK);
	sonde__buf_putc(b, '}');
}

void sonde__otlp_traces_json(sonde_buf *b, sonde__span_data *const *spans, size_t n)
{
	char name[SCOPE_NAME_MAX], version[SCOPE_VERSION_MAX];
	size_t i;

	sonde_trace_get_scope(name, sizeof(name), version, sizeof(version));
	js_lit(b, "{\"resourceSpans\":[{");
	sonde__otlp_js_resource(b);
	js_lit(b, ",\"scopeSpans\":[{\"scope\":{\"name\":");
	sonde__json_put_cstr(b, name);
	if (version[0]) {
		js_lit(b, ",\"version\":");
		sonde__json_put_cstr(b, version);
	}
	js_lit(b, "},\"spans\":[");
	for (i = 0; i < n; i++) {
		if (i)
			sonde__buf_putc(b, ',');
		js_span(b, spans[i]);
	}
	js_lit(b, "]}]}]}");
}
