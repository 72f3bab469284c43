/* lib/trace/resource.c - the process's OpenTelemetry resource and the
 * instrumentation scope: what an exporter sends with every batch.
 *
 * One mutex (a leaf: nothing is taken under it) guards both; it is taken
 * across fork so that the child never finds it held. Setters copy their
 * strings; readers copy out under the lock, so nothing handed out can be
 * freed under the reader. The defaults are filled on first use; process.pid
 * is not stored but read at each use, so a forked child reports its own. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "trace/span_data.h"

#define RES_MAX 128

typedef struct res_attr {
	char *key;
	size_t key_len;
	bool is_int;
	int64_t i;
	char *str;
	size_t str_len;
} res_attr;

static pthread_mutex_t res_mu = PTHREAD_MUTEX_INITIALIZER;
static res_attr res[RES_MAX];
static size_t nres;
static bool defaults_done;
static char *scope_name, *scope_version;
static size_t scope_name_len, scope_version_len;

static void fork_prepare(void)
{
	pthread_mutex_lock(&res_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&res_mu);
}

static const sonde__fork_hooks res_fork = {SONDE_FORK_RANK_LEAF, fork_prepare, fork_release,
                                           fork_release};

static void res_lock(void)
{
	sonde__fork_register(&res_fork);
	pthread_mutex_lock(&res_mu);
}

static res_attr *find(const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < nres; i++)
		if (res[i].key_len == n && memcmp(res[i].key, key, n) == 0)
			return &res[i];
	return NULL;
}

static void drop(res_attr *a)
{
	sonde__free(a->key, a->key_len + 1);
	sonde__free(a->str, a->str_len + 1);
	*a = res[--nres];
}

/* Sets key (str NULL: the integer i), under res_mu. */
static int put(const char *key, const char *str, int64_t i)
{
	size_t kl = strlen(key), sl = str ? strlen(str) : 0;
	res_attr *a = find(key, kl);
	char *k = NULL, *s = NULL;

	if (str) {
		s = sonde__strndup(str, sl);
		if (!s)
			return sonde__fail(SONDE_ENOMEM, "resource: out of memory for \"%s\"", key);
	}
	if (!a) {
		if (nres == RES_MAX) {
			sonde__free(s, sl + 1);
			return sonde__fail(SONDE_ELIMIT, "resource: more than %d attributes",
			                   RES_MAX);
		}
		k = sonde__strndup(key, kl);
		if (!k) {
			sonde__free(s, sl + 1);
			return sonde__fail(SONDE_ENOMEM, "resource: out of memory for \"%s\"", key);
		}
		a = &res[nres++];
		a->key = k;
		a->key_len = kl;
	} else {
		sonde__free(a->str, a->str_len + 1);
	}
	a->is_int = !str;
	a->i = i;
	a->str = s;
	a->str_len = sl;
	return SONDE_OK;
}

/* The defaults, once, under res_mu. A failure (out of memory) leaves the
 * attribute out and is retried at the next use. */
static void defaults(void)
{
	char buf[300];
	bool ok = true;

	if (defaults_done)
		return;
	if (!find("service.name", 12)) {
		/* OpenTelemetry: unknown_service:<process.executable.name> */
		snprintf(buf, sizeof(buf), "unknown_service:%s", program_invocation_short_name);
		ok &= put("service.name", buf, 0) == SONDE_OK;
	}
	if (!find("telemetry.sdk.name", 18))
		ok &= put("telemetry.sdk.name", "sonde", 0) == SONDE_OK;
	if (!find("telemetry.sdk.language", 22))
		ok &= put("telemetry.sdk.language", "cpp", 0) == SONDE_OK;
	if (!find("telemetry.sdk.version", 21))
		ok &= put("telemetry.sdk.version", SONDE_VERSION_STRING, 0) == SONDE_OK;
	if (!find("host.name", 9)) {
		int saved = errno;
		if (gethostname(buf, sizeof(buf) - 1) == 0) {
			buf[sizeof(buf) - 1] = '\0';
			ok &= put("host.name", buf, 0) == SONDE_OK;
		}
		errno = saved;
	}
	defaults_done = ok;
}

static int check_key(const char *key, const char *what)
{
	if (!key || !*key)
		return sonde__fail(SONDE_EINVAL, "%s: NULL or empty key", what);
	if (sonde__utf8_invalid_at(key, strlen(key)) != SIZE_MAX)
		return sonde__fail(SONDE_EINVAL, "%s: key is not valid UTF-8", what);
	if (strcmp(key, "process.pid") == 0)
		return sonde__fail(SONDE_EINVAL, "%s: process.pid is the library's to report",
		                   what);
	return SONDE_OK;
}

int sonde_resource_set_str(const char *key, const char *value)
{
	int rc = check_key(key, "sonde_resource_set_str");

	if (rc)
		return rc;
	if (value && sonde__utf8_invalid_at(value, strlen(value)) != SIZE_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_resource_set_str: \"%s\": value is not valid UTF-8", key);
	res_lock();
	defaults();
	if (!value) {
		res_attr *a = find(key, strlen(key));
		if (a)
			drop(a);
	} else {
		rc = put(key, value, 0);
	}
	pthread_mutex_unlock(&res_mu);
	return rc;
}

int sonde_resource_set_int(const char *key, int64_t value)
{
	int rc = check_key(key, "sonde_resource_set_int");

	if (rc)
		return rc;
	res_lock();
	defaults();
	rc = put(key, NULL, value);
	pthread_mutex_unlock(&res_mu);
	return rc;
}

int sonde_resource_set_service(const char *name, const char *version, const char *environment)
{
	int rc = SONDE_OK;

	if (name && !*name)
		return sonde__fail(SONDE_EINVAL, "sonde_resource_set_service: empty service name");
	if (name)
		rc = sonde_resource_set_str("service.name", name);
	if (!rc && version)
		rc = sonde_resource_set_str("service.version", version);
	if (!rc && environment)
		rc = sonde_resource_set_str("deployment.environment", environment);
	return rc;
}

static size_t copy_out(char *out, size_t cap, const char *s, size_t n)
{
	if (cap) {
		size_t k = n < cap - 1 ? n : cap - 1;
		memcpy(out, s, k);
		out[k] = '\0';
	}
	return n;
}

int sonde_resource_get(const char *key, char *out, size_t cap)
{
	char num[24];
	res_attr *a;
	size_t n;

	if (!key || (!out && cap))
		return sonde__fail(SONDE_EINVAL, "sonde_resource_get: NULL key or buffer");
	if (strcmp(key, "process.pid") == 0)
		return (int)copy_out(out, cap, num, sonde__fmt_i64(num, (int64_t)getpid()));
	res_lock();
	defaults();
	a = find(key, strlen(key));
	if (!a) {
		pthread_mutex_unlock(&res_mu);
		return sonde__fail(SONDE_ENOENT, "sonde_resource_get: \"%s\" is not set", key);
	}
	if (a->is_int)
		n = copy_out(out, cap, num, sonde__fmt_i64(num, a->i));
	else
		n = copy_out(out, cap, a->str, a->str_len);
	pthread_mutex_unlock(&res_mu);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

size_t sonde_resource_count(void)
{
	size_t n;

	res_lock();
	defaults();
	n = nres + 1; /* process.pid */
	pthread_mutex_unlock(&res_mu);
	return n;
}

/* ---- the scope ------------------------------------------------------------------- */

int sonde_trace_set_scope(const char *name, const char *version)
{
	char *n, *v = NULL;
	size_t nl, vl = 0;

	if (!name || !*name)
		return sonde__fail(SONDE_EINVAL, "sonde_trace_set_scope: NULL or empty name");
	nl = strlen(name);
	n = sonde__strndup(name, nl);
	if (!n)
		return sonde__fail(SONDE_ENOMEM, "sonde_trace_set_scope: out of memory");
	if (version) {
		vl = strlen(version);
		v = sonde__strndup(version, vl);
		if (!v) {
			sonde__free(n, nl + 1);
			return sonde__fail(SONDE_ENOMEM, "sonde_trace_set_scope: out of memory");
		}
	}
	res_lock();
	sonde__free(scope_name, scope_name_len + 1);
	sonde__free(scope_version, scope_version_len + 1);
	scope_name = n;
	scope_name_len = nl;
	scope_version = v;
	scope_version_len = vl;
	pthread_mutex_unlock(&res_mu);
	return SONDE_OK;
}

void sonde_trace_get_scope(char *name, size_t name_cap, char *version, size_t version_cap)
{
	res_lock();
	if (name)
		copy_out(name, name_cap, scope_name ? scope_name : "sonde",
		         scope_name ? scope_name_len : 5);
	if (version) {
		if (scope_name)
			copy_out(version, version_cap, scope_version ? scope_version : "",
			         scope_version_len);
		else
			copy_out(version, version_cap, SONDE_VERSION_STRING,
			         strlen(SONDE_VERSION_STRING));
	}
	pthread_mutex_unlock(&res_mu);
}

/* ---- for the exporter ------------------------------------------------------------ */

void sonde__resource_foreach(void (*fn)(void *arg, const sonde_span_attr *a), void *arg)
{
	sonde_span_attr a;
	size_t i;

	res_lock();
	defaults();
	for (i = 0; i < nres; i++) {
		a.key = res[i].key;
		if (res[i].is_int) {
			a = sonde_attr_int(res[i].key, res[i].i);
		} else {
			a.type = SONDE_ATTR_STRING;
			a.v.str = res[i].str;
			a.str_len = res[i].str_len;
		}
		fn(arg, &a);
	}
	pthread_mutex_unlock(&res_mu);
	a = sonde_attr_int("process.pid", (int64_t)getpid());
	fn(arg, &a);
}
