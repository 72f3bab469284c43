/*
 * lib/log/log_logger_build.c - the logger object: building a root logger
 * from its options or a child from its parent (validation, deep copies of
 * the service, bound fields and redaction keys, a reference to each sink,
 * the bound fields pre-rendered), and destroying one. A built logger is on
 * no list yet: log_logger.c publishes it. Sits below the backend, which
 * destroys retired loggers. Calls: log_format.c (rendering bound fields),
 * log_sink.c (references, the default stdout sink), log_level.c (parsing
 * the level variable).
 */
#include <stdlib.h>

#include "log/log-int.h"

/* The first published layout: a caller's size below it is refused. */
#define OPTS_V1_SIZE SONDE__V1_SIZE(sonde_log_opts, sink_count)

/* ---- parts ------------------------------------------------------------------------ */

static void bound_clear(bound_field *b)
{
	if (b->key)
		sonde__free(b->key, strlen(b->key) + 1);
	if (b->type == SONDE_LOG_T_STR && b->v.v.s)
		sonde__free((char *)(uintptr_t)b->v.v.s, b->v.len + 1);
	memset(b, 0, sizeof(*b));
}

/* Deep copy of one bound field (key, and string value). */
static int bound_set(bound_field *b, const char *key, int type, sonde_log_value v)
{
	bound_field n;

	memset(&n, 0, sizeof(n));
	n.type = type;
	n.key = sonde__strndup(key, strlen(key));
	if (!n.key)
		return SONDE_ENOMEM;
	n.v = v;
	if (type == SONDE_LOG_T_STR && v.v.s) {
		size_t len = v.len == (size_t)-1 ? strlen(v.v.s) : v.len;
		char *s = sonde__strndup(v.v.s, len);
		if (!s) {
			/* n.v still points at the caller's string: not ours to free */
			n.v.v.s = NULL;
			bound_clear(&n);
			return SONDE_ENOMEM;
		}
		n.v.v.s = s;
		n.v.len = len;
	}
	bound_clear(b);
	*b = n;
	return SONDE_OK;
}

void sonde__logger_destroy(sonde_logger *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nbound; i++)
		bound_clear(&l->bound[i]);
	sonde__free(l->bound, l->bound_cap * sizeof(*l->bound));
	for (i = 0; i < l->nredact; i++)
		sonde__free(l->redact[i], strlen(l->redact[i]) + 1);
	sonde__free(l->redact, l->nredact * sizeof(*l->redact));
	for (i = 0; i < l->nsinks; i++)
		sonde__log_sink_unref(l->sinks[i]);
	sonde__free(l->sinks, l->nsinks * sizeof(*l->sinks));
	if (l->service)
		sonde__free(l->service, l->service_len + 1);
	sonde__free(l->json_bound, l->json_bound_len + 1);
	sonde__free(l->logfmt_bound, l->logfmt_bound_len + 1);
	sonde__free(l, sizeof(*l));
}

static int copy_redact(sonde_logger *l, const char *const *keys, size_t n)
{
	size_t i;

	if (!n)
		return SONDE_OK;
	l->redact = sonde__calloc(n, sizeof(*l->redact));
	if (!l->redact)
		return SONDE_ENOMEM;
	l->nredact = n;
	for (i = 0; i < n; i++) {
		l->redact[i] = sonde__strndup(keys[i], strlen(keys[i]));
		if (!l->redact[i])
			return SONDE_ENOMEM;
	}
	return SONDE_OK;
}

static int copy_sinks(sonde_logger *l, sonde_log_sink *const *sinks, size_t n)
{
	size_t i;

	l->sinks = sonde__calloc(n, sizeof(*l->sinks));
	if (!l->sinks)
		return SONDE_ENOMEM;
	for (i = 0; i < n; i++) {
		sonde__log_sink_ref(sinks[i]);
		l->sinks[l->nsinks++] = sinks[i];
	}
	return SONDE_OK;
}

/* ---- a root logger -------------------------------------------------------------------- */

/* SONDE_OK, or SONDE_EINVAL with the message set. */
static int check_opts(const sonde_log_opts *o)
{
	size_t i;

	if (!o->service || !*o->service)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: service is NULL or empty");
	if ((int)o->level < 0 || o->level > SONDE_LOG_LEVEL_OFF)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: level %d out of range",
		                   (int)o->level);
	if (o->flight_recorder &&
	    ((int)o->flight_level < 0 || o->flight_level > SONDE_LOG_LEVEL_FATAL ||
	     (int)o->flight_trigger < 0 || o->flight_trigger > SONDE_LOG_LEVEL_FATAL))
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_logger_new: flight level %d or trigger %d out of range",
		                   (int)o->flight_level, (int)o->flight_trigger);
	if (o->flight_recorder &&
	    (o->flight_scope < SONDE_LOG_FLIGHT_THREAD || o->flight_scope > SONDE_LOG_FLIGHT_ALL))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: unknown flight scope %d",
		                   o->flight_scope);
	if (o->overflow != SONDE_LOG_OVERFLOW_DROP && o->overflow != SONDE_LOG_OVERFLOW_BLOCK)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: unknown overflow policy %d",
		                   (int)o->overflow);
	if (o->sink_count > SONDE__LOG_MAX_SINKS || (o->sink_count && !o->sinks))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: %zu sinks (max %d)",
		                   o->sink_count, SONDE__LOG_MAX_SINKS);
	for (i = 0; i < o->sink_count; i++)
		if (!o->sinks[i])
			return sonde__fail(SONDE_EINVAL, "sonde_logger_new: sink %zu is NULL", i);
	if (o->redact_count > SONDE__LOG_MAX_REDACT || (o->redact_count && !o->redact_keys))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_new: %zu redaction keys (max %d)",
		                   o->redact_count, SONDE__LOG_MAX_REDACT);
	for (i = 0; i < o->redact_count; i++)
		if (!o->redact_keys[i])
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_logger_new: redaction key %zu is NULL", i);
	return SONDE_OK;
}

/* The level: o->level, unless the variable o->level_env names a valid one. */
static int initial_level(const sonde_log_opts *o)
{
	const char *env = o->level_env ? o->level_env : "LOG_LEVEL";
	const char *v;
	sonde_log_level lv;

	if (!*env)
		return (int)o->level;
	v = getenv(env);
	if (v && sonde_log_level_parse(v, strlen(v), &lv) == SONDE_OK)
		return (int)lv;
	return (int)o->level;
}

/* The logger's sinks: o's, or a new JSON sink on stdout. */
static int root_sinks(sonde_logger *l, const sonde_log_opts *o)
{
	sonde_log_sink *s;
	int rc;

	if (o->sink_count)
		return copy_sinks(l, o->sinks, o->sink_count);
	s = sonde_log_sink_stdout(NULL);
	rc = s ? copy_sinks(l, &s, 1) : SONDE_ENOMEM;
	sonde_log_sink_free(s); /* the logger holds it now */
	return rc;
}

sonde_logger *sonde__logger_build(const sonde_log_opts *o_in)
{
	sonde_log_opts copy;
	const sonde_log_opts *o = &copy;
	sonde_logger *l;
	int rc;

	if (sonde__opts_copy(&copy, sizeof(copy), o_in, OPTS_V1_SIZE, "sonde_logger_new") !=
	            SONDE_OK ||
	    check_opts(o) != SONDE_OK)
		return NULL;
	l = sonde__calloc(1, sizeof(*l));
	if (!l)
		return sonde__fail(SONDE_ENOMEM, "sonde_logger_new: out of memory"), NULL;
	l->flight = o->flight_recorder != 0;
	l->flight_level = (int)o->flight_level;
	l->flight_trigger = o->flight_trigger ? (int)o->flight_trigger : SONDE_LOG_LEVEL_ERROR;
	l->flight_scope = o->flight_scope;
	l->sample_first = o->sample_first;
	l->sample_thereafter = o->sample_thereafter;
	l->sample_interval_ms = o->sample_interval_ms;
	l->sample_errors = o->sample_errors;
	sonde__logger_levels(l, initial_level(o));
	l->overflow = (int)o->overflow;
	l->service_len = strlen(o->service);
	l->service = sonde__strndup(o->service, l->service_len);
	rc = l->service ? copy_redact(l, o->redact_keys, o->redact_count) : SONDE_ENOMEM;
	if (rc == SONDE_OK)
		rc = root_sinks(l, o);
	if (rc == SONDE_OK)
		rc = sonde__log_render_bound(l);
	if (rc != SONDE_OK) {
		sonde__logger_destroy(l);
		return sonde__fail(rc, "sonde_logger_new: out of memory"), NULL;
	}
	return l;
}

/* ---- a child logger ------------------------------------------------------------------ */

static int check_fields(const sonde_log_field *fields, size_t n)
{
	size_t i;

	if (n > SONDE__LOG_MAX_BOUND || (n && !fields))
		return sonde__fail(SONDE_EINVAL, "sonde_logger_child: %zu fields (max %d)", n,
		                   SONDE__LOG_MAX_BOUND);
	for (i = 0; i < n; i++) {
		if (!fields[i].key || !*fields[i].key)
			return sonde__fail(SONDE_EINVAL, "sonde_logger_child: field %zu has no key",
			                   i);
		if (fields[i].type < SONDE_LOG_T_STR || fields[i].type > SONDE_LOG_T_BOOL)
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_logger_child: field \"%s\" has bad type %d",
			                   fields[i].key, fields[i].type);
	}
	return SONDE_OK;
}

/* The parent's bound fields, then the new ones in order; a new field with
 * a key already bound replaces that field's value in place. */
static int bind_fields(sonde_logger *l, const sonde_logger *parent, const sonde_log_field *fields,
                       size_t n)
{
	size_t i, j, cap = parent->nbound + n;
	int rc = SONDE_OK;

	if (!cap)
		return SONDE_OK;
	l->bound = sonde__calloc(cap, sizeof(*l->bound));
	if (!l->bound)
		return SONDE_ENOMEM;
	l->bound_cap = cap;
	for (i = 0; rc == SONDE_OK && i < parent->nbound; i++) {
		const bound_field *b = &parent->bound[i];
		rc = bound_set(&l->bound[l->nbound], b->key, b->type, b->v);
		if (rc == SONDE_OK)
			l->nbound++;
	}
	for (i = 0; rc == SONDE_OK && i < n; i++) {
		sonde_log_value v;
		bound_field *dst = NULL;

		v.v.u = fields[i].v.u;
		v.len = fields[i].len;
		for (j = 0; j < l->nbound; j++)
			if (strcmp(l->bound[j].key, fields[i].key) == 0)
				dst = &l->bound[j]; /* the child's value replaces it */
		if (!dst)
			dst = &l->bound[l->nbound];
		rc = bound_set(dst, fields[i].key, fields[i].type, v);
		if (rc == SONDE_OK && dst == &l->bound[l->nbound])
			l->nbound++;
	}
	return rc;
}

sonde_logger *sonde__logger_build_child(const sonde_logger *parent, const sonde_log_field *fields,
                                        size_t n)
{
	sonde_logger *l;
	int rc = SONDE_OK;

	if (!parent)
		return sonde__fail(SONDE_EINVAL, "sonde_logger_child: parent is NULL"), NULL;
	if (check_fields(fields, n) != SONDE_OK)
		return NULL;
	l = sonde__calloc(1, sizeof(*l));
	if (!l)
		return sonde__fail(SONDE_ENOMEM, "sonde_logger_child: out of memory"), NULL;
	l->flight = parent->flight;
	l->flight_level = parent->flight_level;
	l->flight_trigger = parent->flight_trigger;
	l->flight_scope = parent->flight_scope;
	l->sample_first = parent->sample_first;
	l->sample_thereafter = parent->sample_thereafter;
	l->sample_interval_ms = parent->sample_interval_ms;
	l->sample_errors = parent->sample_errors;
	sonde__logger_levels(l, (int)sonde_logger_level(parent));
	l->overflow = parent->overflow;
	l->service_len = parent->service_len;
	l->service = sonde__strndup(parent->service, parent->service_len);
	if (!l->service)
		rc = SONDE_ENOMEM;
	if (rc == SONDE_OK)
		rc = copy_redact(l, (const char *const *)parent->redact, parent->nredact);
	if (rc == SONDE_OK)
		rc = copy_sinks(l, parent->sinks, parent->nsinks);
	if (rc == SONDE_OK)
		rc = bind_fields(l, parent, fields, n);
	if (rc == SONDE_OK)
		rc = sonde__log_render_bound(l);
	if (rc != SONDE_OK) {
		sonde__logger_destroy(l);
		return sonde__fail(rc, "sonde_logger_child: out of memory"), NULL;
	}
	return l;
}
