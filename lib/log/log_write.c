/*
 * lib/log/log_write.c - sonde_log_write(): a log call whose message and keys
 * are known only at run time (language bindings, configuration-driven
 * events). The macros keep a static call-site descriptor per call site;
 * here the descriptor is interned per (level, keys, types) the first time
 * it is seen and kept for the life of the process, and the message travels
 * in the record as its first string value (the descriptor's message is
 * NULL, which the formatter knows).
 *
 * Each thread caches the descriptors it used last, so steady-state calls
 * take no lock; a miss takes intern_mu (sonde__log_g.intern_mu, which the
 * fork handlers take and release: a fork while another thread interns
 * leaves the child a usable lock and a consistent list). At most SONDE_LOG_SITES_MAX
 * distinct descriptors exist (keys that vary with data would otherwise
 * grow memory without bound): past that, calls fail with SONDE_ELIMIT.
 * Calls: log_emit.c (the log call itself), the inlined level check.
 */
#include <pthread.h>

#include "log/log-int.h"
#include "core/sonde-int.h"

#define CACHE 16

typedef struct dyn_site {
	sonde_log_site site;
	sonde_log_site_state state; /* sampling, per combination */
	uint64_t hash;
	size_t bytes;
	struct dyn_site *next;
	const char *keys[SONDE__LOG_MAX_FIELDS];
	unsigned char types[SONDE__LOG_MAX_FIELDS];
} dyn_site;

static dyn_site *sites;
static size_t nsites;
static SONDE_TLS_DYNAMIC const dyn_site *cache[CACHE];

static uint64_t hash_site(int level, const sonde_log_field *f, size_t n)
{
	uint64_t h = 0x243f6a8885a308d3ull ^ (uint64_t)level ^ ((uint64_t)n << 8);
	size_t i, j;

	for (i = 0; i < n; i++) {
		const unsigned char *k = (const unsigned char *)f[i].key;
		h = (h ^ (uint64_t)f[i].type) * 0x100000001b3ull;
		for (j = 0; k[j]; j++)
			h = (h ^ k[j]) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;
	}
	return h ^ (h >> 31);
}

static bool same(const dyn_site *d, uint64_t h, int level, const sonde_log_field *f, size_t n)
{
	size_t i;

	if (d->hash != h || d->site.level != level || d->site.nfields != n + 1)
		return false;
	for (i = 0; i < n; i++)
		if (d->types[i + 1] != f[i].type || strcmp(d->keys[i + 1], f[i].key) != 0)
			return false;
	return true;
}

static const dyn_site *intern(int level, const sonde_log_field *f, size_t n, uint64_t h)
{
	dyn_site *d;
	size_t i, bytes = sizeof(*d);
	char *p;

	/* a key twice would make the JSON line ambiguous: refused once here
	 * (a cached combination was checked when it was interned) */
	for (i = 0; i < n; i++) {
		size_t j;
		if (!strcmp(f[i].key, "message"))
			continue; /* renamed by the formatter like other reserved keys */
		for (j = 0; j < i; j++)
			if (strcmp(f[i].key, f[j].key) == 0) {
				sonde__fail(SONDE_EINVAL,
				            "sonde_log_write: key \"%.64s\" appears twice",
				            f[i].key);
				return NULL;
			}
	}
	pthread_mutex_lock(&sonde__log_g.intern_mu);
	for (d = sites; d; d = d->next)
		if (same(d, h, level, f, n))
			goto out;
	if (nsites >= SONDE_LOG_SITES_MAX) {
		pthread_mutex_unlock(&sonde__log_g.intern_mu);
		sonde__fail(
		        SONDE_ELIMIT,
		        "sonde_log_write: %d distinct (level, keys) combinations already; keys must "
		        "not vary with data",
		        SONDE_LOG_SITES_MAX);
		return NULL;
	}
	for (i = 0; i < n; i++)
		bytes += strlen(f[i].key) + 1;
	d = sonde__calloc(1, bytes);
	if (!d) {
		pthread_mutex_unlock(&sonde__log_g.intern_mu);
		sonde__fail(SONDE_ENOMEM, "sonde_log_write: out of memory");
		return NULL;
	}
	d->bytes = bytes;
	d->hash = h;
	p = (char *)(d + 1);
	d->keys[0] = "message";
	d->types[0] = SONDE_LOG_T_STR;
	for (i = 0; i < n; i++) {
		size_t kl = strlen(f[i].key);
		memcpy(p, f[i].key, kl + 1);
		d->keys[i + 1] = p;
		d->types[i + 1] = (unsigned char)f[i].type;
		p += kl + 1;
	}
	d->site.message = NULL; /* the record carries it */
	d->site.file = "(runtime)";
	d->site.keys = d->keys;
	d->site.types = d->types;
	d->site.level = (unsigned char)level;
	d->site.nfields = (unsigned char)(n + 1);
	d->site.flags = SONDE_LOG_SITE_F_STATE;
	d->site.state = &d->state;
	d->next = sites;
	sites = d;
	nsites++;
out:
	pthread_mutex_unlock(&sonde__log_g.intern_mu);
	return d;
}

int sonde_log_write(sonde_logger *l, int level, const char *msg, size_t msg_len,
                    const sonde_log_field *fields, size_t n)
{
	sonde_log_value vals[SONDE__LOG_MAX_FIELDS];
	const dyn_site *d;
	uint64_t h;
	size_t i;

	if (!l)
		return sonde__fail(SONDE_EINVAL, "sonde_log_write: logger is NULL");
	if (level < SONDE_LOG_LEVEL_TRACE || level > SONDE_LOG_LEVEL_FATAL)
		return sonde__fail(SONDE_EINVAL, "sonde_log_write: level %d is not a log level",
		                   level);
	if (n + 1 > SONDE__LOG_MAX_FIELDS)
		return sonde__fail(SONDE_EINVAL, "sonde_log_write: %zu fields, at most %d", n,
		                   SONDE__LOG_MAX_FIELDS - 1);
	if (!sonde__log_on(l, level))
		return SONDE_OK;
	if (n && !fields)
		return sonde__fail(SONDE_EINVAL, "sonde_log_write: fields is NULL");
	for (i = 0; i < n; i++) {
		if (!fields[i].key || !fields[i].key[0])
			return sonde__fail(SONDE_EINVAL, "sonde_log_write: field %zu has no key",
			                   i);
		if (fields[i].type < SONDE_LOG_T_STR || fields[i].type > SONDE_LOG_T_TREE)
			return sonde__fail(SONDE_EINVAL, "sonde_log_write: field %zu has type %d",
			                   i, fields[i].type);
	}
	h = hash_site(level, fields, n);
	d = cache[h % CACHE];
	if (!d || !same(d, h, level, fields, n)) {
		d = intern(level, fields, n, h);
		if (!d)
			return sonde_last_status();
		cache[h % CACHE] = d;
	}
	vals[0].v.s = msg ? msg : "";
	vals[0].len = msg ? msg_len : 0;
	for (i = 0; i < n; i++) {
		vals[i + 1].v.u = fields[i].v.u;
		vals[i + 1].len = fields[i].len;
		if (SONDE__LOG_T_BYTES(fields[i].type))
			vals[i + 1].v.s = fields[i].v.s;
		else if (fields[i].type == SONDE_LOG_T_F64)
			vals[i + 1].v.d = fields[i].v.d;
		else if (fields[i].type == SONDE_LOG_T_I64)
			vals[i + 1].v.i = fields[i].v.i;
	}
	sonde__log_emit(l, &d->site, vals);
	return SONDE_OK;
}
