/*
 * lib/health/health.c - liveness, readiness and startup checks (see
 * include/sonde/health.h for the contract).
 *
 * Why a detached thread per run rather than a pool: a hung check must not
 * take a pool slot that other checks need, and a pool that grows to cover
 * hung checks is a thread per run anyway. A check never runs concurrently
 * with itself, so there is at most one thread per check; probes come every
 * few seconds, so the ~30 us of a thread start is noise. Nothing idles
 * between probes.
 *
 * Lifetime: the health object is reference counted. The owner holds one
 * reference, each run in flight holds one. sonde_health_free() marks the
 * object closing, waits up to free_wait_ms for runs in flight, marks it
 * detached, releases the user pointers of the checks that are not running,
 * and drops the owner's reference; a run that outlives it releases its own
 * check's user pointer and, if it is the last reference, frees the object.
 * A detached object never touches the registry again, so the host may free
 * the registry as soon as sonde_health_free() returns.
 *
 * Synchronization (h->mu guards everything mutable; cv is signalled by
 * broadcast when a run finishes):
 *   field                    written by                  read by
 *   h->checks, h->n          add_check (mu)              evaluate, health_free (mu),
 *                                                        destroy (last reference)
 *   h->n_pub                 add_check (mu, relaxed)     evaluate (sizing only)
 *   h->refs, closing,        evaluate, run, health_free  the same (mu)
 *   detached
 *   h->latched               evaluate (relaxed)          evaluate (relaxed: a race only
 *                                                        runs the startup checks again)
 *   c->running .. c->msg     evaluate, run (mu)          evaluate, run, health_free (mu)
 *   c->run_start             evaluate (mu), before       the run's thread (ordered by
 *                            pthread_create              pthread_create)
 *   c->name, fn, user, ...   add_check, before publish   anyone (immutable)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core/atomic.h"
#include "core/sonde-int.h"
#include "sonde/health.h"

#define NS_PER_MS INT64_C(1000000)
#define NPROBES 3

typedef struct check check;

struct check {
	sonde_health *h;
	char name[SONDE_HEALTH_NAME_MAX + 1];
	sonde_health_fn fn;
	void *user;
	void (*release)(void *user);
	unsigned probes;
	uint32_t timeout_ms;
	int64_t timeout_ns, cache_ns;
	sonde_gauge *gauge[NPROBES]; /* by probe bit index; NULL if not tagged */
	sonde_histogram *hist;

	/* guarded by h->mu */
	bool running;       /* a run is in flight */
	bool released;      /* release(user) was called or is being called */
	bool free_releases; /* sonde_health_free() calls release (free's thread only) */
	uint64_t started;   /* runs started */
	uint64_t done;      /* runs finished (== started unless running) */
	int64_t run_start, run_deadline;
	bool have; /* a result is stored */
	int result;
	int64_t result_at; /* monotonic ns when that run finished */
	int64_t result_ns; /* how long it took */
	char msg[SONDE_HEALTH_MSG_MAX];
};

struct sonde_health {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* broadcast when a run finishes; CLOCK_MONOTONIC */
	check **checks;
	size_t n, cap;
	atomic_size_t n_pub;
	size_t refs;
	bool closing;  /* sonde_health_free() has begun */
	bool detached; /* ... and stopped waiting: runs clean up after themselves */
	int64_t free_wait_ns;
	atomic_bool latched; /* a startup evaluation answered 200 */
	unsigned flags;
	int64_t created_mono;
	char *version;
	size_t version_len;
	sonde_family *status_fam, *dur_fam;
	sonde_health *next, *prev; /* every health object, for fork (all_mu) */
};

/* ---- fork: every health object's lock -------------------------------------------
 * A fork while a check run records its result (under h->mu) must not
 * leave the child that mutex held: the forking thread takes every health
 * object's mutex first and releases them after the fork, in the parent
 * and in the child. Check threads themselves do not exist in the child;
 * a run they had started is simply never recorded there. */
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static sonde_health *healths;

static void fork_prepare(void)
{
	sonde_health *h;

	pthread_mutex_lock(&all_mu);
	for (h = healths; h; h = h->next)
		pthread_mutex_lock(&h->mu);
}

static void fork_release(void)
{
	sonde_health *h;

	for (h = healths; h; h = h->next)
		pthread_mutex_unlock(&h->mu);
	pthread_mutex_unlock(&all_mu);
}

static const sonde__fork_hooks health_fork = {SONDE_FORK_RANK_HEALTH, fork_prepare, fork_release,
                                              fork_release};

/* What one evaluation knows about one check. */
enum { ITEM_PENDING, ITEM_DONE };
typedef struct item {
	check *c;
	int state;
	int result;
	bool cached;
	uint64_t wait_seq; /* pending: done when c->done reaches this */
	int64_t deadline;  /* pending: the run's deadline */
	int64_t run_start;
	int64_t ns; /* responseTime */
	char msg[SONDE_HEALTH_MSG_MAX];
} item;

/* ---- names ------------------------------------------------------------------ */

const char *sonde_health_status_name(sonde_health_status s)
{
	switch (s) {
	case SONDE_HEALTH_HEALTHY: return "healthy";
	case SONDE_HEALTH_DEGRADED: return "degraded";
	case SONDE_HEALTH_UNHEALTHY: return "unhealthy";
	}
	return "unknown";
}

const char *sonde_health_result_name(sonde_health_result r)
{
	switch (r) {
	case SONDE_HEALTH_PASS: return "pass";
	case SONDE_HEALTH_WARN: return "warn";
	case SONDE_HEALTH_FAIL: return "fail";
	}
	return "unknown";
}

const char *sonde_health_probe_name(sonde_health_probe p)
{
	switch (p) {
	case SONDE_HEALTH_LIVENESS: return "liveness";
	case SONDE_HEALTH_READINESS: return "readiness";
	case SONDE_HEALTH_STARTUP: return "startup";
	}
	return "unknown";
}

static int probe_index(unsigned bit)
{
	return bit == SONDE_HEALTH_LIVENESS ? 0 : bit == SONDE_HEALTH_READINESS ? 1 : 2;
}

/* ---- helpers ------------------------------------------------------------------ */

static int64_t mono_ns(void)
{
	return sonde_now_mono_ns();
}

static struct timespec abs_ts(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	return ts;
}

static void lock(sonde_health *h)
{
	pthread_mutex_lock(&h->mu);
}

static void unlock(sonde_health *h)
{
	pthread_mutex_unlock(&h->mu);
}

static void copy_msg(char *dst, const char *src)
{
	size_t n = strnlen(src, SONDE_HEALTH_MSG_MAX - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Check names become label values and JSON keys: keep them plain. */
static int check_name_valid(const char *s, size_t *len)
{
	size_t i, n;

	if (!s)
		return sonde__fail(SONDE_EINVAL, "health check name is NULL");
	n = strnlen(s, SONDE_HEALTH_NAME_MAX + 1);
	if (n == 0 || n > SONDE_HEALTH_NAME_MAX)
		return sonde__fail(SONDE_EINVAL,
		                   "health check name \"%.64s\" is invalid: must be 1 to %d bytes",
		                   s, SONDE_HEALTH_NAME_MAX);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return sonde__fail(SONDE_EINVAL,
			                   "health check name \"%.64s\" is invalid: must match "
			                   "[a-zA-Z0-9_.-]+",
			                   s);
	}
	*len = n;
	return SONDE_OK;
}

/* ---- the health object ----------------------------------------------------------- */

void sonde_health_opts_init(sonde_health_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
}

static void destroy(sonde_health *h)
{
	size_t i;

	pthread_mutex_lock(&all_mu);
	if (h->prev)
		h->prev->next = h->next;
	else
		healths = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&all_mu);
	for (i = 0; i < h->n; i++)
		sonde__free(h->checks[i], sizeof(check));
	sonde__free(h->checks, h->cap * sizeof(*h->checks));
	sonde__free(h->version, h->version_len + 1);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	sonde__free(h, sizeof(*h));
}

sonde_health *sonde_health_new(const sonde_health_opts *o)
{
	static const char *const status_labels[] = {"check", "probe"};
	static const char *const dur_labels[] = {"check"};
	sonde_health_opts in;
	sonde_registry *reg;
	sonde_health *h;
	pthread_condattr_t ca;
	const char *version;
	size_t vlen;
	int saved_errno = errno;

	/* One rule for size fields (core/opts.c): an older, smaller struct
	 * reads as zero past its size; below the first layout is EINVAL. From
	 * here only the copy is read, never the caller's struct. */
	if (!o)
		sonde_health_opts_init(&in);
	else if (sonde__opts_copy(&in, sizeof(in), o,
	                          SONDE__V1_SIZE(sonde_health_opts, free_wait_ms),
	                          "sonde_health_new") != SONDE_OK)
		return NULL;
	o = &in;
	if (o->free_wait_ms > SONDE_HEALTH_TIMEOUT_MAX_MS) {
		sonde__fail(SONDE_EINVAL, "sonde_health_opts.free_wait_ms %u is over %u",
		            o->free_wait_ms, SONDE_HEALTH_TIMEOUT_MAX_MS);
		return NULL;
	}
	if (o->flags & ~SONDE_HEALTH_NO_STARTUP_LATCH) {
		sonde__fail(SONDE_EINVAL, "sonde_health_opts.flags has unknown bits 0x%x",
		            o->flags & ~SONDE_HEALTH_NO_STARTUP_LATCH);
		return NULL;
	}
	version = o->version ? o->version : "unknown";
	vlen = strnlen(version, SONDE_HEALTH_VERSION_MAX + 1);
	if (vlen > SONDE_HEALTH_VERSION_MAX) {
		sonde__fail(SONDE_EINVAL, "health version \"%.32s...\" is longer than %d bytes",
		            version, SONDE_HEALTH_VERSION_MAX);
		return NULL;
	}
	reg = o->registry ? o->registry : sonde_registry_default();
	if (!reg) {
		sonde__fail(SONDE_ENOMEM, "out of memory creating the default registry");
		errno = saved_errno;
		return NULL;
	}

	h = sonde__calloc(1, sizeof(*h));
	if (!h) {
		sonde__fail(SONDE_ENOMEM, "out of memory allocating the health object");
		errno = saved_errno;
		return NULL;
	}
	h->version = sonde__strndup(version, vlen);
	if (!h->version) {
		sonde__free(h, sizeof(*h));
		sonde__fail(SONDE_ENOMEM, "out of memory copying the health version");
		errno = saved_errno;
		return NULL;
	}
	h->version_len = vlen;
	h->flags = o->flags;
	h->free_wait_ns = (int64_t)o->free_wait_ms * NS_PER_MS;
	h->refs = 1;
	h->created_mono = mono_ns();
	/* not yet shared: the caller gets h on return */
	sonde__init_unshared(&h->n_pub, 0);
	sonde__init_unshared(&h->latched, false);

	/* Identical definitions return the existing family, so several health
	 * objects (or a re-created one) share these two. */
	h->status_fam = sonde_gauge_family_new(
	        reg, "sonde_health_check_status",
	        "Result of the last evaluation of a health check: 1 pass, 0.5 warn, 0 fail.", 2,
	        status_labels);
	if (!h->status_fam)
		goto fail_fam;
	h->dur_fam = sonde_histogram_family_new(reg, "sonde_health_check_duration_seconds",
	                                        "Duration of health check runs.", NULL, 0, 1,
	                                        dur_labels);
	if (!h->dur_fam)
		goto fail_fam;

	if (pthread_mutex_init(&h->mu, NULL) != 0)
		goto fail_sync;
	if (pthread_condattr_init(&ca) != 0) {
		pthread_mutex_destroy(&h->mu);
		goto fail_sync;
	}
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&h->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&h->mu);
		goto fail_sync;
	}
	pthread_condattr_destroy(&ca);
	sonde__fork_register(&health_fork);
	pthread_mutex_lock(&all_mu);
	h->next = healths;
	if (healths)
		healths->prev = h;
	healths = h;
	pthread_mutex_unlock(&all_mu);
	errno = saved_errno;
	return h;

fail_sync:
	sonde__fail(SONDE_ENOMEM, "could not initialize the health object's mutex or condition");
fail_fam:
	/* the family call set the last error */
	sonde__free(h->version, vlen + 1);
	sonde__free(h, sizeof(*h));
	errno = saved_errno;
	return NULL;
}

void sonde_health_free(sonde_health *h)
{
	size_t i;
	bool last;
	int64_t until;
	int saved_errno = errno;

	if (!h)
		return;
	lock(h);
	h->closing = true;
	/* Give runs still in flight (they all overran: an evaluation waits for
	 * a run until its deadline) free_wait_ms to return. */
	until = mono_ns() + h->free_wait_ns;
	for (;;) {
		bool running = false;
		struct timespec ts;

		for (i = 0; i < h->n && !running; i++)
			running = h->checks[i]->running;
		if (!running || mono_ns() >= until)
			break;
		ts = abs_ts(until);
		pthread_cond_timedwait(&h->cv, &h->mu, &ts);
	}
	/* From here a run that returns neither updates metrics nor keeps its
	 * check for us: it releases its own user pointer. The others are
	 * released below, outside the lock (user code). */
	h->detached = true;
	for (i = 0; i < h->n; i++) {
		check *c = h->checks[i];
		c->free_releases = !c->running && !c->released;
		if (c->free_releases)
			c->released = true;
	}
	unlock(h);

	/* Our reference keeps the checks' memory alive, and nothing can start a
	 * run any more (no evaluation may run concurrently with free);
	 * free_releases is only ever touched by this thread. */
	for (i = 0; i < h->n; i++) {
		check *c = h->checks[i];
		if (c->free_releases && c->release)
			c->release(c->user);
	}

	lock(h);
	last = --h->refs == 0;
	unlock(h);
	if (last)
		destroy(h);
	errno = saved_errno;
}

/* ---- checks ------------------------------------------------------------------------ */

void sonde_health_check_opts_init(sonde_health_check_opts *o, const char *name, sonde_health_fn fn,
                                  void *user)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->name = name;
	o->fn = fn;
	o->user = user;
}

int sonde_health_add_check(sonde_health *h, const sonde_health_check_opts *opts)
{
	static const unsigned bits[NPROBES] = {SONDE_HEALTH_LIVENESS, SONDE_HEALTH_READINESS,
	                                       SONDE_HEALTH_STARTUP};
	const unsigned all = SONDE_HEALTH_LIVENESS | SONDE_HEALTH_READINESS | SONDE_HEALTH_STARTUP;
	const sonde_health_check_opts *o;
	size_t len = 0, i;
	unsigned probes;
	check *c;
	sonde_health_check_opts in;
	int rc, saved_errno = errno;

	if (!h || !opts)
		return sonde__fail(SONDE_EINVAL, "sonde_health_add_check: NULL %s",
		                   h ? "opts" : "health object");
	/* One rule for size fields (core/opts.c); from here only the copy is
	 * read, never the caller's struct. */
	rc = sonde__opts_copy(&in, sizeof(in), opts,
	                      SONDE__V1_SIZE(sonde_health_check_opts, release),
	                      "sonde_health_add_check");
	if (rc)
		return rc;
	o = &in;
	rc = check_name_valid(o->name, &len);
	if (rc)
		return rc;
	if (!o->fn)
		return sonde__fail(SONDE_EINVAL, "health check \"%s\" has no callback", o->name);
	probes = o->probes ? o->probes : SONDE_HEALTH_READINESS;
	if (probes & ~all)
		return sonde__fail(SONDE_EINVAL, "health check \"%s\": unknown probe bits 0x%x",
		                   o->name, probes & ~all);
	if (o->timeout_ms > SONDE_HEALTH_TIMEOUT_MAX_MS)
		return sonde__fail(SONDE_EINVAL, "health check \"%s\": timeout %u ms is over %u ms",
		                   o->name, o->timeout_ms, SONDE_HEALTH_TIMEOUT_MAX_MS);
	if (o->cache_ms > SONDE_HEALTH_CACHE_MAX_MS)
		return sonde__fail(SONDE_EINVAL, "health check \"%s\": cache %u ms is over %u ms",
		                   o->name, o->cache_ms, SONDE_HEALTH_CACHE_MAX_MS);

	c = sonde__calloc(1, sizeof(*c));
	if (!c)
		return sonde__fail(SONDE_ENOMEM, "out of memory adding health check \"%s\"",
		                   o->name);
	c->h = h;
	memcpy(c->name, o->name, len);
	c->name[len] = '\0';
	c->fn = o->fn;
	c->user = o->user;
	c->release = o->release;
	c->probes = probes;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : SONDE_HEALTH_TIMEOUT_DEFAULT_MS;
	c->timeout_ns = (int64_t)c->timeout_ms * NS_PER_MS;
	c->cache_ns = (int64_t)o->cache_ms * NS_PER_MS;

	/* The metric children, before publishing (the families lock on their
	 * own; a duplicate name finds the same children, which is harmless). */
	for (i = 0; i < NPROBES; i++) {
		if (!(probes & bits[i]))
			continue;
		c->gauge[i] =
		        sonde_gauge_with(h->status_fam, c->name,
		                         sonde_health_probe_name((sonde_health_probe)bits[i]));
		if (!c->gauge[i])
			goto fail_metric;
	}
	c->hist = sonde_histogram_with(h->dur_fam, c->name);
	if (!c->hist)
		goto fail_metric;

	lock(h);
	if (h->closing) {
		unlock(h);
		sonde__free(c, sizeof(*c));
		errno = saved_errno;
		return sonde__fail(SONDE_ESTATE, "health object is being freed");
	}
	for (i = 0; i < h->n; i++) {
		if (strcmp(h->checks[i]->name, c->name) == 0) {
			unlock(h);
			sonde__free(c, sizeof(*c));
			errno = saved_errno;
			return sonde__fail(SONDE_EEXIST, "health check \"%s\" already exists",
			                   o->name);
		}
	}
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 8;
		check **p = sonde__realloc(h->checks, h->cap * sizeof(*p), ncap * sizeof(*p));
		if (!p) {
			unlock(h);
			sonde__free(c, sizeof(*c));
			errno = saved_errno;
			return sonde__fail(SONDE_ENOMEM, "out of memory adding health check \"%s\"",
			                   o->name);
		}
		h->checks = p;
		h->cap = ncap;
	}
	h->checks[h->n++] = c;
	sonde__store_relaxed(&h->n_pub, h->n);
	unlock(h);
	errno = saved_errno;
	return SONDE_OK;

fail_metric:
	rc = sonde_last_status();
	sonde__free(c, sizeof(*c));
	errno = saved_errno;
	return sonde__fail(rc ? rc : SONDE_ENOMEM,
	                   "health check \"%s\": could not create its metric series: %s", o->name,
	                   rc ? sonde_strerror(rc) : "out of memory");
}

size_t sonde_health_check_count(const sonde_health *h)
{
	return h ? sonde__load_relaxed(&((sonde_health *)h)->n_pub) : 0;
}

/* ---- runs ---------------------------------------------------------------------------- */

/* The thread of one run: call the check without any lock, then store the
 * result, wake the evaluations waiting for it and drop the run's
 * reference. */
static void *run_main(void *arg)
{
	check *c = arg;
	sonde_health *h = c->h;
	char msg[SONDE_HEALTH_MSG_MAX];
	int r;
	int64_t end, took;
	bool last, rel = false;
	void (*rel_fn)(void *) = c->release;
	void *user = c->user;

	msg[0] = '\0';
	r = c->fn(c->user, msg, sizeof(msg));
	end = mono_ns();
	msg[sizeof(msg) - 1] = '\0'; /* a callback that filled the buffer */

	lock(h);
	took = end - c->run_start;
	if (end > c->run_deadline) {
		/* Too slow is unhealthy even when it finally succeeds. */
		c->result = SONDE_HEALTH_FAIL;
		snprintf(c->msg, sizeof(c->msg), "timed out after %u ms (took %lld ms)",
		         c->timeout_ms, (long long)(took / NS_PER_MS));
	} else if (r != SONDE_HEALTH_PASS && r != SONDE_HEALTH_WARN && r != SONDE_HEALTH_FAIL) {
		c->result = SONDE_HEALTH_FAIL;
		snprintf(c->msg, sizeof(c->msg), "check returned an invalid result (%d)", r);
	} else {
		c->result = r;
		copy_msg(c->msg, msg);
	}
	c->have = true;
	c->result_at = end;
	c->result_ns = took;
	c->running = false;
	c->done++;
	/* Under the lock, so that once health_free has set detached no run touches
	 * the registry again. */
	if (!h->detached)
		sonde_histogram_observe(c->hist, (double)took / 1e9);
	else if (!c->released)
		rel = c->released = true;
	pthread_cond_broadcast(&h->cv);
	last = --h->refs == 0;
	unlock(h);

	if (rel && rel_fn)
		rel_fn(user);
	if (last)
		destroy(h);
	return NULL;
}

/* Starts a run of c on its own detached thread, with every signal blocked
 * so the host's handlers keep running on the host's threads. Called with
 * h->mu held. Returns 0 or a pthread error. */
static int start_run(sonde_health *h, check *c, int64_t now)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	c->running = true;
	c->started++;
	c->run_start = now;
	c->run_deadline = now + c->timeout_ns;
	h->refs++;

	rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&tid, &attr, run_main, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		/* Never ran: account it as finished so the sequence numbers hold. */
		c->running = false;
		c->done++;
		h->refs--;
	}
	return rc;
}

/* ---- evaluation ------------------------------------------------------------------------ */

static void item_fail(item *it, int64_t ns, const char *fmt, ...) SONDE_PRINTF(3, 4);
static void item_fail(item *it, int64_t ns, const char *fmt, ...)
{
	va_list ap;

	it->state = ITEM_DONE;
	it->result = SONDE_HEALTH_FAIL;
	it->ns = ns;
	va_start(ap, fmt);
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	va_end(ap);
}

static void item_take(item *it, const check *c, bool cached)
{
	it->state = ITEM_DONE;
	it->result = c->result;
	it->ns = c->result_ns;
	it->cached = cached;
	copy_msg(it->msg, c->msg);
}

static void put_key(sonde_buf *b, const char *key)
{
	sonde__json_put_cstr(b, key);
	sonde__buf_putc(b, ':');
}

/* ns rounded to microseconds, written as milliseconds (1.234). Dividing
 * an integer count of microseconds by 1000.0 gives the double nearest to
 * the decimal, so the shortest form prints exactly three decimals at most. */
static void put_ms(sonde_buf *b, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	sonde__json_put_double(b, (double)((ns + 500) / 1000) / 1000.0);
}

/* "2026-11-30T20:09:30.123Z", quoted; a time before 1970 (a clock gone
 * wrong) is written as the epoch, as before the core helper existed. */
static void put_timestamp(sonde_buf *b, int64_t unix_ns)
{
	char t[SONDE_RFC3339_MAX];
	size_t n = sonde__fmt_rfc3339(t, unix_ns < 0 ? 0 : unix_ns, 3);

	sonde__buf_putc(b, '"');
	sonde__buf_put(b, t, n);
	sonde__buf_putc(b, '"');
}

static void write_body(const sonde_health *h, sonde_buf *b, sonde_health_probe probe,
                       sonde_health_status st, int64_t unix_ns, int64_t mono_end, const item *items,
                       size_t k)
{
	size_t i;

	sonde_buf_reset(b);
	sonde__buf_putc(b, '{');
	put_key(b, "status");
	sonde__json_put_cstr(b, sonde_health_status_name(st));
	sonde__buf_putc(b, ',');
	put_key(b, "probe");
	sonde__json_put_cstr(b, sonde_health_probe_name(probe));
	sonde__buf_putc(b, ',');
	put_key(b, "timestamp");
	put_timestamp(b, unix_ns);
	sonde__buf_putc(b, ',');
	put_key(b, "checks");
	sonde__buf_putc(b, '{');
	for (i = 0; i < k; i++) {
		const item *it = &items[i];
		if (i)
			sonde__buf_putc(b, ',');
		put_key(b, it->c->name);
		sonde__buf_putc(b, '{');
		put_key(b, "status");
		sonde__json_put_cstr(b, sonde_health_result_name((sonde_health_result)it->result));
		sonde__buf_putc(b, ',');
		put_key(b, "responseTime");
		put_ms(b, it->ns);
		if (it->result == SONDE_HEALTH_FAIL) {
			sonde__buf_putc(b, ',');
			put_key(b, "error");
			sonde__json_put_cstr(b, it->msg[0] ? it->msg : "check failed");
		} else if (it->msg[0]) {
			sonde__buf_putc(b, ',');
			put_key(b, "message");
			sonde__json_put_cstr(b, it->msg);
		}
		if (it->cached)
			sonde__buf_puts(b, ",\"cached\":true");
		sonde__buf_putc(b, '}');
	}
	sonde__buf_puts(b, "},");
	put_key(b, "version");
	sonde__json_put_string(b, h->version, h->version_len);
	sonde__buf_putc(b, ',');
	put_key(b, "uptime");
	sonde__json_put_double(b, (double)((mono_end - h->created_mono) / NS_PER_MS) / 1000.0);
	sonde__buf_putc(b, '}');
	sonde__buf_terminate(b);
}

/* Under h->mu: decide, for each of the probe's checks, whether its result
 * is cached, joins a run in flight, is stuck in a run from an earlier
 * probe, or needs a new run. Returns the number of items filled. */
static size_t eval_begin(sonde_health *h, unsigned bit, item *items, size_t n, int64_t now)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		check *c = h->checks[i];
		item *it;
		int rc;

		if (!(c->probes & bit))
			continue;
		it = &items[k++];
		it->c = c;
		if (c->have && c->cache_ns > 0 && now - c->result_at < c->cache_ns) {
			item_take(it, c, true);
		} else if (c->running && now >= c->run_deadline) {
			item_fail(it, now - c->run_start,
			          "still running from a previous probe (started %lld ms ago, "
			          "timeout %u ms)",
			          (long long)((now - c->run_start) / NS_PER_MS), c->timeout_ms);
		} else if (c->running) {
			/* Join the run in flight: one run serves every waiting probe. */
			it->state = ITEM_PENDING;
			it->wait_seq = c->started;
			it->deadline = c->run_deadline;
			it->run_start = c->run_start;
		} else if ((rc = start_run(h, c, now)) != 0) {
			item_fail(it, 0, "could not start a thread for the check (error %d)", rc);
		} else {
			it->state = ITEM_PENDING;
			it->wait_seq = c->started;
			it->deadline = c->run_deadline;
			it->run_start = c->run_start;
		}
	}
	return k;
}

/* Under h->mu: wait until every pending item has its run's result or its
 * deadline has passed. */
static void eval_wait(sonde_health *h, item *items, size_t k)
{
	for (;;) {
		int64_t now = mono_ns(), next = INT64_MAX;
		size_t i, pending = 0;
		struct timespec ts;

		for (i = 0; i < k; i++) {
			item *it = &items[i];
			if (it->state != ITEM_PENDING)
				continue;
			if (it->c->done >= it->wait_seq) {
				item_take(it, it->c, false);
			} else if (now >= it->deadline) {
				item_fail(it, now - it->run_start, "timed out after %u ms",
				          it->c->timeout_ms);
			} else {
				pending++;
				if (it->deadline < next)
					next = it->deadline;
			}
		}
		if (!pending)
			return;
		ts = abs_ts(next);
		pthread_cond_timedwait(&h->cv, &h->mu, &ts);
	}
}

int sonde_health_evaluate(sonde_health *h, sonde_health_probe probe, sonde_buf *body,
                          sonde_health_status *status_out)
{
	unsigned bit = (unsigned)probe;
	int64_t unix_now, now;
	size_t n = 0, k = 0, i;
	item *items = NULL;
	sonde_health_status st = SONDE_HEALTH_HEALTHY;
	int saved_errno = errno, rc;

	if (!h)
		return sonde__fail(SONDE_EINVAL, "sonde_health_evaluate: NULL health object");
	if (bit != SONDE_HEALTH_LIVENESS && bit != SONDE_HEALTH_READINESS &&
	    bit != SONDE_HEALTH_STARTUP)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_health_evaluate: probe %u is not exactly one of "
		                   "liveness, readiness, startup",
		                   bit);
	unix_now = sonde_now_unix_ns();
	now = mono_ns();

	if (bit == SONDE_HEALTH_STARTUP && !(h->flags & SONDE_HEALTH_NO_STARTUP_LATCH) &&
	    sonde__load_relaxed(&h->latched))
		goto done;

	/* Checks are only appended, so the first n stay valid; a check added
	 * after this load is not part of this evaluation. */
	n = sonde__load_relaxed(&h->n_pub);
	if (n) {
		items = sonde__calloc(n, sizeof(*items));
		if (!items) {
			errno = saved_errno;
			return sonde__fail(SONDE_ENOMEM, "out of memory evaluating the %s probe",
			                   sonde_health_probe_name(probe));
		}
	}
	lock(h);
	k = eval_begin(h, bit, items, n, now);
	eval_wait(h, items, k);
	unlock(h);

	for (i = 0; i < k; i++) {
		const item *it = &items[i];
		double v = it->result == SONDE_HEALTH_PASS   ? 1
		           : it->result == SONDE_HEALTH_WARN ? 0.5
		                                             : 0;
		sonde_gauge_set(it->c->gauge[probe_index(bit)], v);
		if (it->result == SONDE_HEALTH_FAIL)
			st = SONDE_HEALTH_UNHEALTHY;
		else if (it->result == SONDE_HEALTH_WARN && st == SONDE_HEALTH_HEALTHY)
			st = SONDE_HEALTH_DEGRADED;
	}
	if (bit == SONDE_HEALTH_STARTUP && st != SONDE_HEALTH_UNHEALTHY)
		sonde__store_relaxed(&h->latched, true);

done:
	rc = st == SONDE_HEALTH_UNHEALTHY ? 503 : 200;
	if (body) {
		write_body(h, body, probe, st, unix_now, mono_ns(), items, k);
		if (body->oom)
			rc = sonde__fail(SONDE_ENOMEM, "out of memory writing the %s probe's body",
			                 sonde_health_probe_name(probe));
	}
	if (status_out)
		*status_out = st;
	sonde__free(items, n * sizeof(*items));
	errno = saved_errno;
	return rc;
}
