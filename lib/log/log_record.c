/*
 * lib/log/log_record.c - records read for the layers above (the contract
 * is in log_record.h): one record's view with its typed fields in the
 * json formatter's precedence, the token reader of nested values, and
 * the record sink's creation. Calls: log_format.c (redaction), log_sink.c.
 */
#include "log/log-int.h"
#include "log/log_record.h"

static const char redacted_text[] = "[REDACTED]";

/* Appends one field; a later field with the same key replaces the
 * earlier one, which leaves its place (the last occurrence is written at
 * its own place, as in the json line). */
static void add_attr(sonde__log_view *v, const sonde_logger *l, const char *key, int type,
                     uint64_t u, const char *s)
{
	sonde__log_attr *a;
	size_t i;

	for (i = 0; i < v->nattrs; i++)
		if (strcmp(v->attrs[i].key, key) == 0) {
			memmove(&v->attrs[i], &v->attrs[i + 1],
			        (v->nattrs - i - 1) * sizeof(v->attrs[0]));
			v->nattrs--;
			break;
		}
	if (v->nattrs == SONDE__LOG_ATTRS_MAX) {
		v->attrs_dropped++;
		return;
	}
	a = &v->attrs[v->nattrs++];
	a->key = key;
	a->type = type;
	a->u = u;
	a->s = s;
	a->n = 0;
	a->null = false;
	a->redacted = false;
	if (SONDE__LOG_T_BYTES(type)) {
		a->null = (u & REC_STR_NULL) != 0;
		a->n = a->null ? 0 : (uint32_t)u;
		a->u = 0;
	}
	if (l->nredact && sonde__log_redacted(l, key)) {
		a->redacted = true;
		a->type = SONDE_LOG_T_STR;
		a->null = false;
		a->s = redacted_text;
		a->n = sizeof(redacted_text) - 1;
	}
}

void sonde__log_view_read(sonde__log_view *v, const sonde__log_rec *rec)
{
	static const uint8_t zero[8];
	const rec_hdr *h = rec->h;
	const sonde_log_site *site = h->site;
	const sonde_logger *l = h->logger;
	const char *s = rec->strs;
	unsigned first = 0, i, j, ns;
	size_t k;

	v->level = h->level;
	v->time_ns = rec->ns;
	v->msg = site->message;
	v->msg_len = v->msg ? strlen(v->msg) : 0;
	v->trace_id = v->span_id = NULL;
	v->trace_flags = 0;
	v->corr = NULL;
	v->corr_len = 0;
	if (rec->ctx) {
		v->trace_id = rec->ctx->trace_id;
		if (memcmp(rec->ctx->span_id, zero, 8) != 0)
			v->span_id = rec->ctx->span_id;
		v->trace_flags = rec->ctx->trace_flags;
		v->corr = s;
		v->corr_len = rec->ctx->corr_len;
		s += rec->ctx->corr_len;
	}
	/* sonde_log_write(): the message is the first string value */
	if (!v->msg) {
		v->msg = s;
		v->msg_len = (rec->vals[0] & REC_STR_NULL) ? 0 : (uint32_t)rec->vals[0];
		s += v->msg_len;
		first = 1;
	}
	v->logger = l->service;
	v->logger_len = l->service_len;
	v->tid = rec->tid;
	/* scope_lost: its scoped fields are unknown (log-int.h) */
	v->truncated = (h->flags & REC_F_TRUNC) != 0 || rec->scope_lost;
	v->replayed = (h->flags & REC_F_REPLAY) != 0;
	v->nattrs = 0;
	v->attrs_dropped = 0;

	for (k = 0; k < l->nbound; k++) {
		const bound_field *bf = &l->bound[k];
		uint64_t u = bf->v.v.u;

		if (bf->type == SONDE_LOG_T_STR)
			u = bf->v.v.s ? (uint64_t)(uint32_t)bf->v.len : REC_STR_NULL;
		add_attr(v, l, bf->key, bf->type, u,
		         bf->type == SONDE_LOG_T_STR ? bf->v.v.s : NULL);
	}
	/* the scoped block, read backwards: outermost scope first, each
	 * scope's fields in their order (log-int.h) */
	if (rec->scope) {
		const char *key[SONDE_LOG_SCOPE_TOTAL], *str[SONDE_LOG_SCOPE_TOTAL];
		const char *p = rec->scope_strs;

		ns = (unsigned)rec->scope[0];
		if (ns > SONDE_LOG_SCOPE_TOTAL)
			ns = SONDE_LOG_SCOPE_TOTAL;
		for (j = 0; j < ns; j++) {
			uint64_t meta = rec->scope[1 + 2 * j], u = rec->scope[2 + 2 * j];

			key[j] = p;
			p += REC_SCOPE_KLEN(meta) + 1;
			str[j] = p;
			if (REC_SCOPE_TYPE(meta) == SONDE_LOG_T_STR && !(u & REC_STR_NULL))
				p += (uint32_t)u;
		}
		for (j = ns; j-- > 0;)
			add_attr(v, l, key[j], REC_SCOPE_TYPE(rec->scope[1 + 2 * j]),
			         rec->scope[2 + 2 * j], str[j]);
	}
	for (i = first; i < h->nfields; i++) {
		int type = site->types[i];
		uint64_t u = rec->vals[i];

		add_attr(v, l, site->keys[i], type, u, s);
		if (SONDE__LOG_T_BYTES(type) && !(u & REC_STR_NULL))
			s += (uint32_t)u;
	}
}

/* ---- nested values ------------------------------------------------------------------ */

static bool take(sonde__log_tree_cur *c, void *out, size_t n)
{
	if (c->n - c->at < n)
		return false;
	memcpy(out, c->p + c->at, n);
	c->at += n;
	return true;
}

int sonde__log_tree_next(sonde__log_tree_cur *c, const char **s, size_t *n, uint64_t *u)
{
	unsigned char tok, kl;
	uint32_t len;

	if (c->at >= c->n)
		return SONDE__LT_END;
	tok = c->p[c->at++];
	switch (tok) {
	case TREE_OBJ: return SONDE__LT_OBJ;
	case TREE_END_OBJ: return SONDE__LT_OBJ_END;
	case TREE_ARR: return SONDE__LT_ARR;
	case TREE_END_ARR: return SONDE__LT_ARR_END;
	case TREE_TRUE: return SONDE__LT_TRUE;
	case TREE_FALSE: return SONDE__LT_FALSE;
	case TREE_NULL: return SONDE__LT_NULL;
	case TREE_ERR: return SONDE__LT_ERR;
	case TREE_KEY:
		if (!take(c, &kl, 1) || !kl || c->n - c->at < kl)
			break;
		*s = (const char *)c->p + c->at;
		*n = kl;
		c->at += kl;
		return SONDE__LT_KEY;
	case TREE_STR:
		if (!take(c, &len, 4) || c->n - c->at < len)
			break;
		*s = (const char *)c->p + c->at;
		*n = len;
		c->at += len;
		return SONDE__LT_STR;
	case TREE_I64:
	case TREE_U64:
	case TREE_F64:
		if (!take(c, u, 8))
			break;
		return tok == TREE_I64   ? SONDE__LT_I64
		       : tok == TREE_U64 ? SONDE__LT_U64
		                         : SONDE__LT_F64;
	default: break;
	}
	c->at = c->n; /* malformed: nothing more is read */
	return SONDE__LT_END;
}

bool sonde__log_tree_error(const char *v, size_t n, const char *p[3], size_t len[3])
{
	sonde__log_tree_cur c = {(const unsigned char *)v, n, 0};
	const char *s;
	size_t sl;
	uint64_t u;
	int i;

	for (i = 0; i < 3; i++) {
		p[i] = NULL;
		len[i] = 0;
	}
	if (sonde__log_tree_next(&c, &s, &sl, &u) != SONDE__LT_ERR)
		return false;
	for (i = 0; i < 3; i++) {
		int t = sonde__log_tree_next(&c, &s, &sl, &u);
		if (t == SONDE__LT_NULL)
			continue;
		if (t != SONDE__LT_STR)
			return false;
		p[i] = s;
		len[i] = sl;
	}
	return c.at == c.n;
}
