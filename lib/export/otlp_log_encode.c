/*
 * lib/export/otlp_log_encode.c - log records as OTLP LogRecords and the
 * ExportLogsServiceRequest around them, protobuf and JSON (the mapping is
 * in otlp_logs.h).
 *
 * Field numbers (opentelemetry-proto, logs/v1/logs.proto, common.proto,
 * collector/logs/v1/logs_service.proto):
 *   ExportLogsServiceRequest  resource_logs 1
 *   ResourceLogs              resource 1, scope_logs 2
 *   ScopeLogs                 scope 1, log_records 2
 *   LogRecord  time_unix_nano 1 (fixed64), severity_number 2,
 *              severity_text 3, body 5, attributes 6,
 *              dropped_attributes_count 7, flags 8 (fixed32), trace_id 9,
 *              span_id 10, observed_time_unix_nano 11 (fixed64)
 *   AnyValue   string 1, bool 2, int 3, double 4, array 5, kvlist 6
 *   ArrayValue values 1; KeyValueList values 1; KeyValue key 1, value 2
 */
#include "core/pb.h"
#include "export/otlp_logs.h"

static const int severity[6] = {1, 5, 9, 13, 17, 21};
static const char *const severity_text[6] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
static const char *const err_keys[3] = {"exception.type", "exception.message",
                                        "exception.stacktrace"};
static const char *const err_members[3] = {"type", "message", "stacktrace"};

/* Does a field of the record have this key? (the attributes sonde adds
 * give way to the user's) */
static bool has_key(const sonde__log_view *v, const char *k)
{
	for (size_t i = 0; i < v->nattrs; i++)
		if (strcmp(v->attrs[i].key, k) == 0)
			return true;
	return false;
}

/* The index of the first error value (SIZE_MAX: none): it becomes the
 * exception.* attributes. */
static size_t first_error(const sonde__log_view *v)
{
	for (size_t i = 0; i < v->nattrs; i++) {
		const sonde__log_attr *a = &v->attrs[i];
		if (a->type == SONDE_LOG_T_TREE && !a->null && a->n && a->s[0] == 'X')
			return i;
	}
	return SIZE_MAX;
}

/* ==== protobuf ============================================================== */

static void pb_tree(sonde_buf *b, sonde__log_tree_cur *c, int tok, const char *s, size_t n,
                    uint64_t u, unsigned depth, bool *trunc);

/* The members of the open AnyValue for the next value at c. */
static void pb_tree_next(sonde_buf *b, sonde__log_tree_cur *c, unsigned depth, bool *trunc)
{
	const char *s = NULL;
	size_t n = 0;
	uint64_t u = 0;
	int tok = sonde__log_tree_next(c, &s, &n, &u);

	pb_tree(b, c, tok, s, n, u, depth, trunc);
}

static void pb_tree(sonde_buf *b, sonde__log_tree_cur *c, int tok, const char *s, size_t n,
                    uint64_t u, unsigned depth, bool *trunc)
{
	size_t m, e, kv, val;
	char tmp[24];

	switch (tok) {
	case SONDE__LT_STR: sonde__otlp_pb_str(b, 1, s, n); break;
	case SONDE__LT_TRUE: sonde__pb_bool(b, 2, true); break;
	case SONDE__LT_FALSE: sonde__pb_bool(b, 2, false); break;
	case SONDE__LT_I64: sonde__pb_int64(b, 3, (int64_t)u); break;
	case SONDE__LT_U64:
		if (u <= INT64_MAX)
			sonde__pb_int64(b, 3, (int64_t)u);
		else
			sonde__pb_bytes(b, 1, tmp, sonde__fmt_u64(tmp, u));
		break;
	case SONDE__LT_F64: sonde__pb_double(b, 4, sonde__bits_dbl(u)); break;
	case SONDE__LT_NULL: break;
	case SONDE__LT_ARR:
		m = sonde__pb_begin(b, 5);
		if (depth >= SONDE_LOG_TREE_DEPTH_MAX) {
			*trunc = true;
			c->at = c->n;
		}
		for (;;) {
			const char *es = NULL;
			size_t en = 0;
			uint64_t eu = 0;
			int t = sonde__log_tree_next(c, &es, &en, &eu);

			if (t == SONDE__LT_ARR_END)
				break;
			if (t == SONDE__LT_END || t == SONDE__LT_OBJ_END || t == SONDE__LT_KEY ||
			    t == SONDE__LT_ERR) {
				*trunc = true;
				c->at = c->n;
				break;
			}
			e = sonde__pb_begin(b, 1);
			pb_tree(b, c, t, es, en, eu, depth + 1, trunc);
			sonde__pb_end(b, e);
		}
		sonde__pb_end(b, m);
		break;
	case SONDE__LT_OBJ:
		m = sonde__pb_begin(b, 6);
		if (depth >= SONDE_LOG_TREE_DEPTH_MAX) {
			*trunc = true;
			c->at = c->n;
		}
		for (;;) {
			const char *ks = NULL;
			size_t kn = 0;
			uint64_t ku = 0;
			int t = sonde__log_tree_next(c, &ks, &kn, &ku);

			if (t == SONDE__LT_OBJ_END)
				break;
			if (t != SONDE__LT_KEY) {
				*trunc = true;
				c->at = c->n;
				break;
			}
			kv = sonde__pb_begin(b, 1);
			sonde__otlp_pb_str(b, 1, ks, kn);
			val = sonde__pb_begin(b, 2);
			pb_tree_next(b, c, depth + 1, trunc);
			sonde__pb_end(b, val);
			sonde__pb_end(b, kv);
		}
		sonde__pb_end(b, m);
		break;
	default: /* cut, or a token that is no value: empty */
		*trunc = true;
		c->at = c->n;
		break;
	}
}

/* KeyValue(key, string) as field `field`. */
static void pb_kv_str(sonde_buf *b, uint32_t field, const char *key, const char *s, size_t n)
{
	size_t kv = sonde__pb_begin(b, field), val;

	sonde__otlp_pb_str(b, 1, key, strlen(key));
	val = sonde__pb_begin(b, 2);
	sonde__otlp_pb_str(b, 1, s, n);
	sonde__pb_end(b, val);
	sonde__pb_end(b, kv);
}

/* One attribute (not the first error) as LogRecord.attributes. */
static void pb_attr(sonde_buf *b, const sonde__log_attr *a, bool *trunc)
{
	size_t kv = sonde__pb_begin(b, 6), val, m;
	char tmp[24];

	sonde__otlp_pb_str(b, 1, a->key, strlen(a->key));
	val = sonde__pb_begin(b, 2);
	switch (a->null ? -1 : a->type) {
	case SONDE_LOG_T_STR: sonde__otlp_pb_str(b, 1, a->s, a->n); break;
	case SONDE_LOG_T_BOOL: sonde__pb_bool(b, 2, a->u != 0); break;
	case SONDE_LOG_T_I64: sonde__pb_int64(b, 3, (int64_t)a->u); break;
	case SONDE_LOG_T_U64:
		if (a->u <= INT64_MAX)
			sonde__pb_int64(b, 3, (int64_t)a->u);
		else
			sonde__pb_bytes(b, 1, tmp, sonde__fmt_u64(tmp, a->u));
		break;
	case SONDE_LOG_T_F64: sonde__pb_double(b, 4, sonde__bits_dbl(a->u)); break;
	case SONDE_LOG_T_TREE:
		if (a->n && a->s[0] == 'X') {
			const char *p[3];
			size_t n[3];
			if (!sonde__log_tree_error(a->s, a->n, p, n))
				*trunc = true;
			m = sonde__pb_begin(b, 6);
			for (int i = 0; i < 3; i++)
				if (p[i])
					pb_kv_str(b, 1, err_members[i], p[i], n[i]);
			sonde__pb_end(b, m);
		} else {
			sonde__log_tree_cur c = {(const unsigned char *)a->s, a->n, 0};
			pb_tree_next(b, &c, 0, trunc);
			if (c.at != c.n)
				*trunc = true;
		}
		break;
	default: break; /* NULL, unknown: an empty AnyValue */
	}
	sonde__pb_end(b, val);
	sonde__pb_end(b, kv);
}

static void pb_kv_int(sonde_buf *b, const char *key, int64_t v)
{
	size_t kv = sonde__pb_begin(b, 6), val;

	sonde__otlp_pb_str(b, 1, key, strlen(key));
	val = sonde__pb_begin(b, 2);
	sonde__pb_int64(b, 3, v);
	sonde__pb_end(b, val);
	sonde__pb_end(b, kv);
}

static void pb_kv_true(sonde_buf *b, const char *key)
{
	size_t kv = sonde__pb_begin(b, 6), val;

	sonde__otlp_pb_str(b, 1, key, strlen(key));
	val = sonde__pb_begin(b, 2);
	sonde__pb_bool(b, 2, true);
	sonde__pb_end(b, val);
	sonde__pb_end(b, kv);
}

void sonde__otlp_log_record_pb(sonde_buf *b, const sonde__log_view *v, int64_t observed_ns)
{
	size_t rec = sonde__pb_begin(b, 2), m, i, err = first_error(v);
	int lv = v->level >= 0 && v->level < 6 ? v->level : -1;
	bool trunc = v->truncated;

	sonde__pb_fixed64(b, 1, (uint64_t)v->time_ns);
	if (lv >= 0) {
		sonde__pb_uint64(b, 2, (uint64_t)severity[lv]);
		sonde__otlp_pb_str(b, 3, severity_text[lv], strlen(severity_text[lv]));
	}
	m = sonde__pb_begin(b, 5);
	sonde__otlp_pb_str(b, 1, v->msg, v->msg_len);
	sonde__pb_end(b, m);
	for (i = 0; i < v->nattrs; i++) {
		const sonde__log_attr *a = &v->attrs[i];
		if (i == err) {
			const char *p[3];
			size_t n[3];
			if (!sonde__log_tree_error(a->s, a->n, p, n))
				trunc = true;
			for (int k = 0; k < 3; k++)
				if (p[k] && !has_key(v, err_keys[k]))
					pb_kv_str(b, 6, err_keys[k], p[k], n[k]);
			continue;
		}
		pb_attr(b, a, &trunc);
	}
	if (v->corr_len && !has_key(v, "correlation_id"))
		pb_kv_str(b, 6, "correlation_id", v->corr, v->corr_len);
	if (v->tid && !has_key(v, "thread.id"))
		pb_kv_int(b, "thread.id", v->tid);
	if (trunc && !has_key(v, "_truncated"))
		pb_kv_true(b, "_truncated");
	if (v->replayed && !has_key(v, "_replayed"))
		pb_kv_true(b, "_replayed");
	if (v->attrs_dropped)
		sonde__pb_uint64(b, 7, v->attrs_dropped);
	if (v->trace_id) {
		sonde__pb_fixed32(b, 8, v->trace_flags);
		sonde__pb_bytes(b, 9, v->trace_id, 16);
		if (v->span_id)
			sonde__pb_bytes(b, 10, v->span_id, 8);
	}
	sonde__pb_fixed64(b, 11, (uint64_t)observed_ns);
	sonde__pb_end(b, rec);
}

/* ==== JSON ================================================================== */

static void js_u64str(sonde_buf *b, uint64_t v)
{
	sonde__buf_putc(b, '"');
	sonde__json_put_u64(b, v);
	sonde__buf_putc(b, '"');
}

static void js_i64str(sonde_buf *b, int64_t v)
{
	sonde__buf_putc(b, '"');
	sonde__json_put_i64(b, v);
	sonde__buf_putc(b, '"');
}

static void js_tree(sonde_buf *b, sonde__log_tree_cur *c, int tok, const char *s, size_t n,
                    uint64_t u, unsigned depth, bool *trunc);

static void js_tree_next(sonde_buf *b, sonde__log_tree_cur *c, unsigned depth, bool *trunc)
{
	const char *s = NULL;
	size_t n = 0;
	uint64_t u = 0;
	int tok = sonde__log_tree_next(c, &s, &n, &u);

	js_tree(b, c, tok, s, n, u, depth, trunc);
}

/* One AnyValue object for a value token. */
static void js_tree(sonde_buf *b, sonde__log_tree_cur *c, int tok, const char *s, size_t n,
                    uint64_t u, unsigned depth, bool *trunc)
{
	bool first = true;

	switch (tok) {
	case SONDE__LT_STR:
		sonde__buf_puts(b, "{\"stringValue\":");
		sonde__json_put_string(b, s, n);
		break;
	case SONDE__LT_TRUE: sonde__buf_puts(b, "{\"boolValue\":true"); break;
	case SONDE__LT_FALSE: sonde__buf_puts(b, "{\"boolValue\":false"); break;
	case SONDE__LT_I64:
		sonde__buf_puts(b, "{\"intValue\":");
		js_i64str(b, (int64_t)u);
		break;
	case SONDE__LT_U64:
		sonde__buf_puts(b, u <= INT64_MAX ? "{\"intValue\":" : "{\"stringValue\":");
		js_u64str(b, u);
		break;
	case SONDE__LT_F64:
		sonde__buf_puts(b, "{\"doubleValue\":");
		sonde__otlp_js_double(b, sonde__bits_dbl(u));
		break;
	case SONDE__LT_NULL: sonde__buf_putc(b, '{'); break;
	case SONDE__LT_ARR:
		sonde__buf_puts(b, "{\"arrayValue\":{\"values\":[");
		if (depth >= SONDE_LOG_TREE_DEPTH_MAX) {
			*trunc = true;
			c->at = c->n;
		}
		for (;;) {
			const char *es = NULL;
			size_t en = 0;
			uint64_t eu = 0;
			int t = sonde__log_tree_next(c, &es, &en, &eu);

			if (t == SONDE__LT_ARR_END)
				break;
			if (t == SONDE__LT_END || t == SONDE__LT_OBJ_END || t == SONDE__LT_KEY ||
			    t == SONDE__LT_ERR) {
				*trunc = true;
				c->at = c->n;
				break;
			}
			if (!first)
				sonde__buf_putc(b, ',');
			first = false;
			js_tree(b, c, t, es, en, eu, depth + 1, trunc);
		}
		sonde__buf_puts(b, "]}");
		break;
	case SONDE__LT_OBJ:
		sonde__buf_puts(b, "{\"kvlistValue\":{\"values\":[");
		if (depth >= SONDE_LOG_TREE_DEPTH_MAX) {
			*trunc = true;
			c->at = c->n;
		}
		for (;;) {
			const char *ks = NULL;
			size_t kn = 0;
			uint64_t ku = 0;
			int t = sonde__log_tree_next(c, &ks, &kn, &ku);

			if (t == SONDE__LT_OBJ_END)
				break;
			if (t != SONDE__LT_KEY) {
				*trunc = true;
				c->at = c->n;
				break;
			}
			sonde__buf_puts(b, first ? "{\"key\":" : ",{\"key\":");
			first = false;
			sonde__json_put_string(b, ks, kn);
			sonde__buf_puts(b, ",\"value\":");
			js_tree_next(b, c, depth + 1, trunc);
			sonde__buf_putc(b, '}');
		}
		sonde__buf_puts(b, "]}");
		break;
	default:
		*trunc = true;
		c->at = c->n;
		sonde__buf_putc(b, '{');
		break;
	}
	sonde__buf_putc(b, '}');
}

/* ,{"key":k,"value":{"stringValue":s}} (comma unless first) */
static void js_kv_str(sonde_buf *b, bool *first, const char *key, const char *s, size_t n)
{
	sonde__buf_puts(b, *first ? "{\"key\":" : ",{\"key\":");
	*first = false;
	sonde__json_put_cstr(b, key);
	sonde__buf_puts(b, ",\"value\":{\"stringValue\":");
	sonde__json_put_string(b, s, n);
	sonde__buf_puts(b, "}}");
}

static void js_attr(sonde_buf *b, bool *first, const sonde__log_attr *a, bool *trunc)
{
	sonde__buf_puts(b, *first ? "{\"key\":" : ",{\"key\":");
	*first = false;
	sonde__json_put_cstr(b, a->key);
	sonde__buf_puts(b, ",\"value\":");
	switch (a->null ? -1 : a->type) {
	case SONDE_LOG_T_STR:
		sonde__buf_puts(b, "{\"stringValue\":");
		sonde__json_put_string(b, a->s, a->n);
		sonde__buf_putc(b, '}');
		break;
	case SONDE_LOG_T_BOOL:
		sonde__buf_puts(b, a->u ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
		break;
	case SONDE_LOG_T_I64:
		sonde__buf_puts(b, "{\"intValue\":");
		js_i64str(b, (int64_t)a->u);
		sonde__buf_putc(b, '}');
		break;
	case SONDE_LOG_T_U64:
		sonde__buf_puts(b, a->u <= INT64_MAX ? "{\"intValue\":" : "{\"stringValue\":");
		js_u64str(b, a->u);
		sonde__buf_putc(b, '}');
		break;
	case SONDE_LOG_T_F64:
		sonde__buf_puts(b, "{\"doubleValue\":");
		sonde__otlp_js_double(b, sonde__bits_dbl(a->u));
		sonde__buf_putc(b, '}');
		break;
	case SONDE_LOG_T_TREE:
		if (a->n && a->s[0] == 'X') {
			const char *p[3];
			size_t n[3];
			bool f = true;
			if (!sonde__log_tree_error(a->s, a->n, p, n))
				*trunc = true;
			sonde__buf_puts(b, "{\"kvlistValue\":{\"values\":[");
			for (int i = 0; i < 3; i++)
				if (p[i])
					js_kv_str(b, &f, err_members[i], p[i], n[i]);
			sonde__buf_puts(b, "]}}");
		} else {
			sonde__log_tree_cur c = {(const unsigned char *)a->s, a->n, 0};
			js_tree_next(b, &c, 0, trunc);
			if (c.at != c.n)
				*trunc = true;
		}
		break;
	default: sonde__buf_puts(b, "{}"); break;
	}
	sonde__buf_putc(b, '}');
}

static void js_hex(sonde_buf *b, const char *key, const uint8_t *id, size_t n)
{
	char hex[33];

	sonde__buf_puts(b, key);
	sonde__hex_put(hex, id, n);
	sonde__buf_putc(b, '"');
	sonde__buf_put(b, hex, n * 2);
	sonde__buf_putc(b, '"');
}

void sonde__otlp_log_record_json(sonde_buf *b, const sonde__log_view *v, int64_t observed_ns)
{
	size_t i, err = first_error(v);
	int lv = v->level >= 0 && v->level < 6 ? v->level : -1;
	bool trunc = v->truncated, first = true;

	sonde__buf_puts(b, "{\"timeUnixNano\":");
	js_i64str(b, v->time_ns);
	sonde__buf_puts(b, ",\"observedTimeUnixNano\":");
	js_i64str(b, observed_ns);
	if (lv >= 0) {
		sonde__buf_puts(b, ",\"severityNumber\":");
		sonde__json_put_u64(b, (uint64_t)severity[lv]);
		sonde__buf_puts(b, ",\"severityText\":\"");
		sonde__buf_puts(b, severity_text[lv]);
		sonde__buf_putc(b, '"');
	}
	sonde__buf_puts(b, ",\"body\":{\"stringValue\":");
	sonde__json_put_string(b, v->msg, v->msg_len);
	sonde__buf_puts(b, "},\"attributes\":[");
	for (i = 0; i < v->nattrs; i++) {
		const sonde__log_attr *a = &v->attrs[i];
		if (i == err) {
			const char *p[3];
			size_t n[3];
			if (!sonde__log_tree_error(a->s, a->n, p, n))
				trunc = true;
			for (int k = 0; k < 3; k++)
				if (p[k] && !has_key(v, err_keys[k]))
					js_kv_str(b, &first, err_keys[k], p[k], n[k]);
			continue;
		}
		js_attr(b, &first, a, &trunc);
	}
	if (v->corr_len && !has_key(v, "correlation_id"))
		js_kv_str(b, &first, "correlation_id", v->corr, v->corr_len);
	if (v->tid && !has_key(v, "thread.id")) {
		sonde__buf_puts(b, first ? "{\"key\":\"thread.id\",\"value\":{\"intValue\":"
		                         : ",{\"key\":\"thread.id\",\"value\":{\"intValue\":");
		first = false;
		js_i64str(b, v->tid);
		sonde__buf_puts(b, "}}");
	}
	if (trunc && !has_key(v, "_truncated")) {
		sonde__buf_puts(b, first ? "" : ",");
		first = false;
		sonde__buf_puts(b, "{\"key\":\"_truncated\",\"value\":{\"boolValue\":true}}");
	}
	if (v->replayed && !has_key(v, "_replayed")) {
		sonde__buf_puts(b, first ? "" : ",");
		first = false;
		sonde__buf_puts(b, "{\"key\":\"_replayed\",\"value\":{\"boolValue\":true}}");
	}
	sonde__buf_putc(b, ']');
	if (v->attrs_dropped) {
		sonde__buf_puts(b, ",\"droppedAttributesCount\":");
		sonde__json_put_u64(b, v->attrs_dropped);
	}
	if (v->trace_id) {
		sonde__buf_puts(b, ",\"flags\":");
		sonde__json_put_u64(b, v->trace_flags);
		js_hex(b, ",\"traceId\":", v->trace_id, 16);
		if (v->span_id)
			js_hex(b, ",\"spanId\":", v->span_id, 8);
	}
	sonde__buf_putc(b, '}');
}

/* ==== the request ============================================================= */

void sonde__otlp_logs_request(sonde_buf *b, sonde__otlp_log_chunk *const *c, size_t n, bool json)
{
	size_t i, rl, sl, m;

	if (json) {
		sonde__buf_puts(b, "{\"resourceLogs\":[{");
		sonde__otlp_js_resource(b);
		sonde__buf_puts(b, ",\"scopeLogs\":[");
		for (i = 0; i < n; i++) {
			sonde__buf_puts(b, i ? ",{\"scope\":{\"name\":" : "{\"scope\":{\"name\":");
			sonde__json_put_string(b, c[i]->scope, c[i]->scope_len);
			sonde__buf_puts(b, "},\"logRecords\":[");
			sonde__buf_put(b, c[i]->recs.data, c[i]->recs.len);
			sonde__buf_puts(b, "]}");
		}
		sonde__buf_puts(b, "]}]}");
		return;
	}
	rl = sonde__pb_begin(b, 1);
	sonde__otlp_pb_resource(b);
	for (i = 0; i < n; i++) {
		sl = sonde__pb_begin(b, 2);
		m = sonde__pb_begin(b, 1);
		sonde__otlp_pb_str(b, 1, c[i]->scope, c[i]->scope_len);
		sonde__pb_end(b, m);
		sonde__buf_put(b, c[i]->recs.data, c[i]->recs.len);
		sonde__pb_end(b, sl);
	}
	sonde__pb_end(b, rl);
}

sonde__otlp_log_chunk *sonde__otlp_log_chunk_new(bool json, const char *scope, size_t len)
{
	sonde__otlp_log_chunk *c = sonde__calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->recs = (sonde_buf)SONDE_BUF_INIT;
	c->json = json;
	if (len > SONDE__OTLP_SCOPE_MAX)
		len = SONDE__OTLP_SCOPE_MAX; /* a cut sequence becomes U+FFFD */
	if (len)
		memcpy(c->scope, scope, len);
	c->scope_len = len;
	return c;
}

void sonde__otlp_log_chunk_free(sonde__otlp_log_chunk *c)
{
	if (!c)
		return;
	sonde_buf_destroy(&c->recs);
	sonde__free(c, sizeof(*c));
}
