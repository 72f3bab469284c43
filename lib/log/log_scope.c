/*
 * lib/log/log_scope.c - scoped context fields (sonde_log_scope_push/pop):
 * the calling thread's stack of caller-owned scopes, linked through their
 * priv_up words from one initial-exec thread-local word
 * (sonde__log_tls_scope, log_state.c). Log calls of the same thread read
 * the stack (log_emit.c) and copy the fields into their records; no other
 * thread ever reads it, so the stack needs no atomics, only a signal
 * fence so that a log call from a signal handler sees a scope either
 * fully built or not at all. Calls: log_state.c.
 *
 * Push validates everything once (keys, types, sizes, the thread's
 * totals) and measures strings, so that a log call only adds two
 * precomputed totals and copies bytes.
 */
#include "log/log-int.h"

/* priv_magic of a pushed scope; pop writes SCOPE_POPPED. Only a hint for
 * the error message: membership of the thread's stack is what counts. */
#define SCOPE_LIVE 0x53434f50u   /* "SCOP" */
#define SCOPE_POPPED 0x444f4e45u /* "DONE" */

/* The calling thread's identity: the address of its scope word (distinct
 * per live thread). */
static const void *thread_id(void)
{
	return (const void *)&sonde__log_tls_scope;
}

static bool on_stack(const sonde_log_scope *s, unsigned *above)
{
	const sonde_log_scope *t;
	unsigned k = 0;

	for (t = sonde__log_tls_scope; t; t = t->priv_up, k++)
		if (t == s) {
			if (above)
				*above = k;
			return true;
		}
	return false;
}

/* Validates one field and measures its key and string; SONDE_OK or the
 * failure recorded. */
static int check_field(const sonde_log_field *f, size_t i, uint32_t *klen, size_t *vlen)
{
	size_t kl;

	if (!f->key || !f->key[0])
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push: field %zu has no key", i);
	kl = strnlen(f->key, SONDE_LOG_SCOPE_KEY_MAX + 1);
	if (kl > SONDE_LOG_SCOPE_KEY_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_log_scope_push: key \"%.32s...\" is longer than %d bytes",
		                   f->key, SONDE_LOG_SCOPE_KEY_MAX);
	if (f->type < SONDE_LOG_T_STR || f->type > SONDE_LOG_T_BOOL)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push: field \"%s\" has type %d",
		                   f->key, f->type);
	*klen = (uint32_t)kl;
	*vlen = 0;
	if (f->type == SONDE_LOG_T_STR && f->v.s)
		*vlen = f->len == (size_t)-1 ? strnlen(f->v.s, SONDE_LOG_SCOPE_BYTES + 1) : f->len;
	return SONDE_OK;
}

/* The record's part of the scope, built once here so that a log call
 * copies blocks (log-int.h, "The scoped block"): the slots of the fields,
 * last to first, and, when they fit, their keys and strings in the same
 * order. */
static void prebuild(sonde_log_scope *s, size_t n, size_t bytes)
{
	uint64_t *m = s->priv_slots;
	char *t = s->priv_text;
	bool text = bytes <= SONDE_LOG_SCOPE_INLINE;
	size_t i = n;

	s->priv_bytes = (uint32_t)bytes;
	while (i--) {
		const sonde_log_field *f = &s->priv_f[i];

		m[0] = REC_SCOPE_META(f->type, s->priv_klen[i]);
		if (f->type != SONDE_LOG_T_STR)
			m[1] = f->v.u;
		else
			m[1] = f->v.s ? (uint64_t)f->len : REC_STR_NULL;
		m += 2;
		if (!text)
			continue;
		memcpy(t, f->key, s->priv_klen[i] + 1u);
		t += s->priv_klen[i] + 1u;
		if (f->type == SONDE_LOG_T_STR && f->v.s) {
			memcpy(t, f->v.s, f->len);
			t += f->len;
		}
	}
}

/* Names s as the thread's innermost scope. The generation is odd while
 * the word changes: a log call made by a signal handler in between sends
 * its scope whole and never claims the ring is up to date (log_emit.c). */
static void scope_set(sonde_log_scope *s)
{
	sonde__log_tls_scope_gen++;
	sonde__signal_fence();
	sonde__log_tls_scope = s;
	sonde__signal_fence();
	sonde__log_tls_scope_gen++;
}

int sonde_log_scope_push(sonde_log_scope *s, const sonde_log_field *fields, size_t n)
{
	sonde_log_scope *top = sonde__log_tls_scope;
	size_t i, j, bytes = 0;
	uint32_t klen[SONDE_LOG_SCOPE_FIELDS];
	size_t vlen[SONDE_LOG_SCOPE_FIELDS];
	uint32_t below_n = top ? top->priv_total_n : 0;
	uint32_t below_bytes = top ? top->priv_total_bytes : 0;
	uint32_t depth = top ? top->priv_depth : 0;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push: scope is NULL");
	if (n && !fields)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push: fields is NULL");
	if (n > SONDE_LOG_SCOPE_FIELDS)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push: %zu fields, at most %d", n,
		                   SONDE_LOG_SCOPE_FIELDS);
	if (on_stack(s, NULL))
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_log_scope_push: this scope is already pushed on this "
		                   "thread");
	for (i = 0; i < n; i++) {
		int rc = check_field(&fields[i], i, &klen[i], &vlen[i]);
		if (rc != SONDE_OK)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(fields[j].key, fields[i].key) == 0)
				return sonde__fail(SONDE_EINVAL,
				                   "sonde_log_scope_push: key \"%s\" appears twice",
				                   fields[i].key);
		if (vlen[i] <= SONDE_LOG_SCOPE_BYTES) /* no wrap-around with a huge len */
			bytes += klen[i] + 1 + vlen[i];
		if (vlen[i] > SONDE_LOG_SCOPE_BYTES || bytes > SONDE_LOG_SCOPE_BYTES)
			return sonde__fail(SONDE_ELIMIT,
			                   "sonde_log_scope_push: keys and strings pass %d bytes "
			                   "(at field \"%s\")",
			                   SONDE_LOG_SCOPE_BYTES, fields[i].key);
	}
	if (below_n + n > SONDE_LOG_SCOPE_TOTAL)
		return sonde__fail(SONDE_ELIMIT,
		                   "sonde_log_scope_push: %u scoped fields already on this thread, "
		                   "at most %d",
		                   below_n, SONDE_LOG_SCOPE_TOTAL);
	if (depth + 1 > SONDE_LOG_SCOPE_DEPTH)
		return sonde__fail(SONDE_ELIMIT, "sonde_log_scope_push: %d scopes deep already",
		                   SONDE_LOG_SCOPE_DEPTH);
	for (i = 0; i < n; i++) {
		s->priv_f[i] = fields[i];
		s->priv_f[i].len = vlen[i];
		s->priv_klen[i] = klen[i];
	}
	prebuild(s, n, bytes);
	s->priv_n = (uint32_t)n;
	s->priv_total_n = below_n + (uint32_t)n;
	s->priv_total_bytes = below_bytes + (uint32_t)bytes;
	s->priv_depth = depth + 1;
	s->priv_owner = thread_id();
	s->priv_magic = SCOPE_LIVE;
	s->priv_up = top;
	/* signal fence: the scope is complete before the thread's word names
	 * it (a log call from a signal handler reads the word, then the
	 * scope) */
	sonde__signal_fence();
	scope_set(s);
	return SONDE_OK;
}

int sonde_log_scope_pop(sonde_log_scope *s)
{
	unsigned above = 0;
	sonde_log_scope *t;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_pop: scope is NULL");
	if (!on_stack(s, &above)) {
		/* not ours: read nothing through its links. Its magic and
		 * owner only choose the message. */
		if (s->priv_magic == SCOPE_LIVE && s->priv_owner != thread_id())
			return sonde__fail(SONDE_ESTATE,
			                   "sonde_log_scope_pop: the scope was not pushed by this "
			                   "thread (pop it on the thread that pushed it)");
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_log_scope_pop: the scope is not pushed on this thread "
		                   "(never pushed, or popped already)");
	}
	/* unlink s and whatever was pushed after it, innermost first */
	for (t = sonde__log_tls_scope; t != s; t = t->priv_up)
		t->priv_magic = SCOPE_POPPED;
	/* signal fence: the word moves before s is marked (a handler never
	 * follows a link into a scope the caller may reuse) */
	scope_set(s->priv_up);
	sonde__signal_fence();
	s->priv_magic = SCOPE_POPPED;
	if (above)
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_log_scope_pop: popped out of order: %u scope(s) pushed "
		                   "after it were popped with it",
		                   above);
	return SONDE_OK;
}

size_t sonde_log_scope_fields(void)
{
	const sonde_log_scope *t = sonde__log_tls_scope;

	return t ? t->priv_total_n : 0;
}
