/*
 * lib/log/log_tree.c - sonde_log_tree: one nested field value (an object,
 * an array, or an error) built into the caller's memory, no allocation.
 * The log call copies the encoding into the ring like a string; the
 * formatter (log_format.c) decodes it, trusting nothing (the bytes may
 * come cut by the ring's record limit, or from sonde_log_write's caller).
 *
 * Encoding (TREE_* in log-int.h), one byte a token, then its payload:
 *   '{' ... '}'   object: pairs of a key token and a value
 *   '[' ... ']'   array: values
 *   'k' len8 bytes            a key (1..255 bytes)
 *   's' len32 bytes           a string (lengths and numbers in host order)
 *   'i' / 'u' / 'd' 8 bytes   int64, uint64, double (host order)
 *   't' 'f' 'n'               true, false, null
 *   'X' v v v                 an error: type, message, stack, each 's' or 'n'
 * Calls: core (errors).
 */
#include "log/log-int.h"

static int fail(sonde_log_tree *t, int rc, const char *what)
{
	if (t->status == SONDE_OK)
		t->status = rc;
	return sonde__fail(rc, "sonde_log_tree: %s", what);
}

void sonde_log_tree_init(sonde_log_tree *t, void *mem, size_t cap)
{
	if (!t)
		return;
	memset(t, 0, sizeof(*t));
	t->buf = mem;
	t->cap = mem ? cap : 0;
	if (t->cap > SONDE_LOG_TREE_BYTES_MAX)
		t->cap = SONDE_LOG_TREE_BYTES_MAX;
}

static bool room(sonde_log_tree *t, size_t n)
{
	if (t->cap - t->len >= n)
		return true;
	fail(t, SONDE_ELIMIT,
	     t->cap == SONDE_LOG_TREE_BYTES_MAX ? "tree larger than SONDE_LOG_TREE_BYTES_MAX"
	                                        : "tree larger than its memory");
	return false;
}

/* May a value go here? (root not yet written, array element, or after a
 * key) */
static int value_ok(sonde_log_tree *t)
{
	if (!t)
		return sonde__fail(SONDE_EINVAL, "sonde_log_tree: NULL tree");
	if (t->status != SONDE_OK)
		return t->status;
	if (t->done)
		return fail(t, SONDE_EINVAL, "a second root value");
	if (t->depth && t->key_due)
		return fail(t, SONDE_EINVAL, "a value where a key is due");
	return SONDE_OK;
}

/* A value was written: the root is done, or an object wants a key. */
static int after_value(sonde_log_tree *t)
{
	if (!t->depth)
		t->done = true;
	else if (t->buf[t->open[t->depth - 1]] == TREE_OBJ)
		t->key_due = true;
	return SONDE_OK;
}

static int scalar(sonde_log_tree *t, unsigned char tok, const void *p, size_t n)
{
	int rc = value_ok(t);

	if (rc != SONDE_OK)
		return rc;
	if (!room(t, 1 + n))
		return t->status;
	t->buf[t->len] = tok;
	if (n)
		memcpy(t->buf + t->len + 1, p, n);
	t->len += 1 + n;
	return after_value(t);
}

static int open_container(sonde_log_tree *t, unsigned char tok)
{
	int rc = value_ok(t);

	if (rc != SONDE_OK)
		return rc;
	if (t->depth >= SONDE_LOG_TREE_DEPTH_MAX)
		return fail(t, SONDE_ELIMIT, "deeper than SONDE_LOG_TREE_DEPTH_MAX");
	if (!room(t, 1))
		return t->status;
	t->open[t->depth++] = t->len;
	t->buf[t->len++] = tok;
	t->key_due = tok == TREE_OBJ;
	return SONDE_OK;
}

int sonde_log_tree_object(sonde_log_tree *t)
{
	return open_container(t, TREE_OBJ);
}

int sonde_log_tree_array(sonde_log_tree *t)
{
	return open_container(t, TREE_ARR);
}

int sonde_log_tree_end(sonde_log_tree *t)
{
	unsigned char kind;

	if (!t)
		return sonde__fail(SONDE_EINVAL, "sonde_log_tree: NULL tree");
	if (t->status != SONDE_OK)
		return t->status;
	if (!t->depth)
		return fail(t, SONDE_EINVAL, "end() with nothing open");
	kind = t->buf[t->open[t->depth - 1]];
	if (kind == TREE_OBJ && !t->key_due)
		return fail(t, SONDE_EINVAL, "end() after a key without its value");
	if (!room(t, 1))
		return t->status;
	t->buf[t->len++] = kind == TREE_OBJ ? TREE_END_OBJ : TREE_END_ARR;
	t->depth--;
	return after_value(t);
}

/* Skips the token at p (and, for a container, everything to its end)
 * within a well-formed encoding (the builder's own); returns the next. */
static size_t skip(const unsigned char *b, size_t p)
{
	uint32_t n;
	unsigned nest = 0;

	do {
		switch (b[p]) {
		case TREE_OBJ:
		case TREE_ARR:
			nest++;
			p++;
			break;
		case TREE_END_OBJ:
		case TREE_END_ARR:
			nest--;
			p++;
			break;
		case TREE_KEY: p += 2u + b[p + 1]; break;
		case TREE_STR:
			memcpy(&n, b + p + 1, 4);
			p += 5u + n;
			break;
		case TREE_I64:
		case TREE_U64:
		case TREE_F64: p += 9; break;
		default: p++; break;
		}
	} while (nest);
	return p;
}

int sonde_log_tree_key(sonde_log_tree *t, const char *key)
{
	size_t n, p;

	if (!t)
		return sonde__fail(SONDE_EINVAL, "sonde_log_tree: NULL tree");
	if (t->status != SONDE_OK)
		return t->status;
	if (!key || !*key)
		return fail(t, SONDE_EINVAL, "NULL or empty key");
	if (!t->depth || t->buf[t->open[t->depth - 1]] != TREE_OBJ)
		return fail(t, SONDE_EINVAL, "a key outside an object");
	if (!t->key_due)
		return fail(t, SONDE_EINVAL, "a key where a value is due");
	n = strlen(key);
	if (n > 255)
		return fail(t, SONDE_ELIMIT, "a key longer than 255 bytes");
	if (t->nkeys >= SONDE_LOG_TREE_KEYS_MAX)
		return fail(t, SONDE_ELIMIT, "more than SONDE_LOG_TREE_KEYS_MAX keys");
	/* the object's members so far: a key, then its value */
	for (p = t->open[t->depth - 1] + 1; p < t->len;) {
		if (t->buf[p] == TREE_KEY && t->buf[p + 1] == n &&
		    memcmp(t->buf + p + 2, key, n) == 0)
			return fail(t, SONDE_EINVAL, "a key twice in one object");
		p = skip(t->buf, skip(t->buf, p));
	}
	if (!room(t, 2 + n))
		return t->status;
	t->buf[t->len] = TREE_KEY;
	t->buf[t->len + 1] = (unsigned char)n;
	memcpy(t->buf + t->len + 2, key, n);
	t->len += 2 + n;
	t->nkeys++;
	t->key_due = false;
	return SONDE_OK;
}

static int put_string(sonde_log_tree *t, const char *s, size_t len)
{
	uint32_t n;

	if (!s)
		return scalar(t, TREE_NULL, NULL, 0);
	if (len == SIZE_MAX)
		len = strlen(s);
	if (len > SONDE_LOG_TREE_BYTES_MAX) {
		int rc = value_ok(t);
		return rc != SONDE_OK
		               ? rc
		               : fail(t, SONDE_ELIMIT, "tree larger than SONDE_LOG_TREE_BYTES_MAX");
	}
	n = (uint32_t)len;
	{
		int rc = value_ok(t);
		if (rc != SONDE_OK)
			return rc;
	}
	if (!room(t, 5 + len))
		return t->status;
	t->buf[t->len] = TREE_STR;
	memcpy(t->buf + t->len + 1, &n, 4);
	memcpy(t->buf + t->len + 5, s, len);
	t->len += 5 + len;
	return after_value(t);
}

int sonde_log_tree_str(sonde_log_tree *t, const char *s, size_t len)
{
	return put_string(t, s, len);
}

int sonde_log_tree_i64(sonde_log_tree *t, int64_t v)
{
	return scalar(t, TREE_I64, &v, 8);
}

int sonde_log_tree_u64(sonde_log_tree *t, uint64_t v)
{
	return scalar(t, TREE_U64, &v, 8);
}

int sonde_log_tree_f64(sonde_log_tree *t, double v)
{
	return scalar(t, TREE_F64, &v, 8);
}

int sonde_log_tree_bool(sonde_log_tree *t, bool v)
{
	return scalar(t, v ? TREE_TRUE : TREE_FALSE, NULL, 0);
}

int sonde_log_tree_null(sonde_log_tree *t)
{
	return scalar(t, TREE_NULL, NULL, 0);
}

int sonde_log_tree_error(sonde_log_tree *t, const char *type, size_t type_len, const char *message,
                         size_t message_len, const char *stack, size_t stack_len)
{
	int rc;

	if (!t)
		return sonde__fail(SONDE_EINVAL, "sonde_log_tree: NULL tree");
	if (t->status != SONDE_OK)
		return t->status;
	if (t->len || t->done)
		return fail(t, SONDE_EINVAL, "an error must be the whole tree");
	if (!room(t, 1))
		return t->status;
	t->buf[t->len++] = TREE_ERR;
	/* three root-level values: open a pseudo array so they do not end
	 * the tree one by one */
	t->open[0] = 0;
	t->depth = 1;
	rc = put_string(t, type, type_len);
	if (rc == SONDE_OK)
		rc = put_string(t, message, message_len);
	if (rc == SONDE_OK)
		rc = put_string(t, stack, stack ? stack_len : 0);
	t->depth = 0;
	if (rc != SONDE_OK)
		return rc;
	t->done = true;
	return SONDE_OK;
}
