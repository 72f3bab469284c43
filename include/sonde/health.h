/*
 * sonde/health.h - liveness, readiness and startup health checks.
 *
 *   static sonde_health_result db_ping(void *user, char *msg, size_t cap)
 *   {
 *           if (pq_ping(user) != 0) {
 *                   snprintf(msg, cap, "ping: %s", pq_error(user));
 *                   return SONDE_HEALTH_FAIL;
 *           }
 *           return SONDE_HEALTH_PASS;
 *   }
 *
 *   sonde_health *h = sonde_health_new(NULL);         // default registry
 *   sonde_health_check_opts c;
 *   sonde_health_check_opts_init(&c, "database", db_ping, conn);
 *   c.probes = SONDE_HEALTH_READINESS | SONDE_HEALTH_STARTUP;
 *   c.timeout_ms = 500;
 *   c.cache_ms = 2000;                                // a probe storm runs it once per 2 s
 *   if (sonde_health_add_check(h, &c) != 0)
 *           die(sonde_last_error());                  // bad name, duplicate, no memory
 *   ...
 *   // in the HTTP handler of GET /health/ready:
 *   int code = sonde_health_evaluate(h, SONDE_HEALTH_READINESS, &body, NULL);
 *   if (code < 0) code = 500;                        // only out-of-memory or a bad call
 *   reply(code, "application/json", body.data, body.len);
 *
 * Model
 *   - A check is a callback tagged with the probes it belongs to (any of
 *     liveness, readiness, startup), a timeout and an optional cache
 *     interval. It returns pass, warn or fail and may write a message.
 *   - sonde_health_evaluate() runs the probe's checks in parallel, each on
 *     its own short-lived detached thread, and waits for them with a
 *     deadline (CLOCK_MONOTONIC). A check that has not answered by its
 *     timeout counts as failed ("timed out after N ms") and the probe
 *     returns without it: a hung database never blocks a probe past the
 *     longest timeout of its checks.
 *   - A check's callback never runs concurrently with itself. While a run
 *     is in flight, another evaluation that needs the check joins that run
 *     and waits for its result (until the run's own deadline); once the run
 *     has overrun its timeout, later evaluations do not start it again but
 *     report it failed with "still running from a previous probe" until it
 *     returns. So at most one thread per check exists at any time.
 *   - A run that returns after its timeout records a failed result
 *     ("timed out after N ms (took M ms)"), not the late verdict: a check
 *     that is too slow is unhealthy even if it finally succeeds.
 *   - Caching: with cache_ms > 0, a result (pass, warn or fail, including a
 *     late timeout failure) is reused by evaluations that start less than
 *     cache_ms after the run completed; failures are cached too, so a storm
 *     of probes does not hammer a database that is already down. The JSON
 *     marks such a result "cached":true and keeps the original responseTime.
 *   - Aggregation: any check failed -> "unhealthy", HTTP 503; otherwise any
 *     check warned -> "degraded", HTTP 200 (still serving, as the seeds'
 *     handlers do); otherwise "healthy", 200. A probe without checks is
 *     healthy (a liveness probe that only proves the process answers).
 *     A dependency whose loss should only degrade the service returns
 *     SONDE_HEALTH_WARN for it instead of FAIL.
 *   - Startup latch (Kubernetes semantics: the startup probe is not asked
 *     again once it succeeded): after the first startup evaluation that
 *     answered 200, later startup evaluations answer 200 "healthy" without
 *     running checks (their "checks" object is empty and the status gauges
 *     keep the values of the passing run). SONDE_HEALTH_NO_STARTUP_LATCH
 *     turns this off.
 *   - Uptime is the seconds since sonde_health_new() (monotonic clock):
 *     create the health object at start-up and it is the service's uptime,
 *     without reading /proc.
 *
 * JSON body (one line, keys in this order; checks in registration order):
 *   {"status":"degraded","probe":"readiness",
 *    "timestamp":"2024-05-01T12:00:00.123Z",
 *    "checks":{"database":{"status":"pass","responseTime":1.234},
 *              "cache":{"status":"warn","responseTime":0.051,"message":"3 of 4 nodes"},
 *              "search":{"status":"fail","responseTime":500.2,"error":"timed out after 500 ms"}},
 *    "version":"1.4.2","uptime":3600.25}
 *   - status: "healthy" | "degraded" | "unhealthy" (the aggregate above).
 *   - timestamp: RFC 3339 UTC with milliseconds, when the evaluation began.
 *   - responseTime: milliseconds (microsecond resolution) the run took; for
 *     a run still in flight, how long it had been running when the probe
 *     gave up on it.
 *   - error: present on every failed check (the callback's message, or
 *     "check failed" when it wrote none). message: a passing or warning
 *     check's message, when it wrote one. cached: present (true) only when
 *     the result came from the cache.
 *   - uptime: seconds, millisecond resolution.
 *
 * Metrics (registered in the registry given at creation, NULL = default):
 *   sonde_health_check_status{check,probe}   gauge, set on every evaluation
 *       that runs or reuses the check: 1 pass, 0.5 warn, 0 fail. Warn is 0.5
 *       so that PromQL can tell the three apart: `== 0` alerts only on hard
 *       failures, `< 1` on anything less than healthy, and min() over
 *       checks still reads as "worst state".
 *   sonde_health_check_duration_seconds{check}   histogram (default
 *       buckets) of each completed run's duration, observed when the run
 *       returns (also when it returns late); cached reuses observe nothing.
 *   The series stay in the registry after sonde_health_free() (the registry
 *   owns them). Two health objects on one registry share the families; use
 *   distinct check names if both must be told apart.
 *
 * Thread-safety: every function except sonde_health_free() may be called
 * from any number of threads at once; evaluations of the same or different
 * probes run concurrently. One mutex per health object guards the checks'
 * state and is held only for bookkeeping, never across a callback.
 */
#ifndef SONDE_HEALTH_H
#define SONDE_HEALTH_H

#include "common.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sonde_health sonde_health;

/* What a check returns. Any other value counts as FAIL. */
typedef enum sonde_health_result {
	SONDE_HEALTH_PASS = 0,
	SONDE_HEALTH_WARN = 1,
	SONDE_HEALTH_FAIL = 2
} sonde_health_result;

/* The aggregate of a probe's checks. */
typedef enum sonde_health_status {
	SONDE_HEALTH_HEALTHY = 0,  /* HTTP 200 */
	SONDE_HEALTH_DEGRADED = 1, /* HTTP 200 */
	SONDE_HEALTH_UNHEALTHY = 2 /* HTTP 503 */
} sonde_health_status;

/* Probe kinds; a check's probes field is a bitwise OR of them, and
 * sonde_health_evaluate() takes exactly one. */
typedef enum sonde_health_probe {
	SONDE_HEALTH_LIVENESS = 1,
	SONDE_HEALTH_READINESS = 2,
	SONDE_HEALTH_STARTUP = 4
} sonde_health_probe;

#define SONDE_HEALTH_NAME_MAX 64             /* bytes of a check name */
#define SONDE_HEALTH_MSG_MAX 256             /* bytes of a check message, NUL included */
#define SONDE_HEALTH_VERSION_MAX 128         /* bytes of the version string */
#define SONDE_HEALTH_TIMEOUT_DEFAULT_MS 1000 /* Kubernetes' default probe timeout */
#define SONDE_HEALTH_TIMEOUT_MAX_MS 3600000u /* one hour */
#define SONDE_HEALTH_CACHE_MAX_MS 86400000u  /* one day */

/* A check. user is the pointer given at registration. msg points to a
 * buffer of msg_cap (SONDE_HEALTH_MSG_MAX) bytes holding "" on entry; the
 * callback may write a NUL-terminated message into it (a longer one is cut
 * at msg_cap - 1 bytes; any bytes are accepted, invalid UTF-8 is replaced
 * in the JSON); the buffer is valid only during the call. The callback
 * runs on a sonde thread with every signal blocked, never concurrently
 * with itself (different checks do run concurrently), possibly after the evaluation
 * that started it has given up on it (and even after sonde_health_free()
 * returned: see there). It must not call sonde_health_free(). */
typedef sonde_health_result (*sonde_health_fn)(void *user, char *msg, size_t msg_cap);

/* ---- the health object ---------------------------------------------------- */

#define SONDE_HEALTH_NO_STARTUP_LATCH 1u /* re-run startup checks every time */

typedef struct sonde_health_opts {
	size_t size;              /* sizeof(sonde_health_opts) as the caller was
	                             compiled; fields past it read as zero;
	                             below the first layout (up to free_wait_ms):
	                             SONDE_EINVAL */
	sonde_registry *registry; /* for the metrics; NULL = default registry */
	const char *version;      /* "version" in the JSON; NULL = "unknown";
	                             copied; <= SONDE_HEALTH_VERSION_MAX bytes */
	unsigned flags;           /* SONDE_HEALTH_NO_STARTUP_LATCH or 0 */
	uint32_t free_wait_ms;    /* how long sonde_health_free() waits for runs
	                             in flight; 0 = detach them at once;
	                             <= SONDE_HEALTH_TIMEOUT_MAX_MS */
} sonde_health_opts;

/* Zeroes *o and sets size. NULL is a no-op. */
SONDE_API void sonde_health_opts_init(sonde_health_opts *o);

/* A new health object without checks; opts NULL means all defaults.
 * Registers the two metric families (see above) in the chosen registry;
 * the registry must outlive the health object. Allocates; does not start
 * any thread. Returns NULL with: SONDE_EINVAL (size below the first
 * layout, version too long, free_wait_ms too large, unknown flag),
 * SONDE_EEXIST (a family of the same name but another definition exists in
 * the registry), SONDE_ENOMEM. Free with sonde_health_free(). */
SONDE_API SONDE_WUR sonde_health *sonde_health_new(const sonde_health_opts *opts);

/* Frees the health object. Runs still in flight at that point are runs that
 * overran their timeout (an evaluation waits for a run until its deadline).
 * sonde_health_free() waits up to opts.free_wait_ms for them to return
 * (0: not at all), then detaches the rest: they finish on their own
 * thread, update no metric, touch nothing the caller owns except their
 * user pointer, call their check's release(user) when they return, and
 * the last of them frees the memory they shared. Checks not running are
 * released before it returns. After it returns no metric is updated, so
 * the registry may be freed. Call it once, when no other thread evaluates
 * or adds checks. Blocks at most free_wait_ms plus the release callbacks.
 * NULL is a no-op. */
SONDE_API void sonde_health_free(sonde_health *h);

/* ---- checks -------------------------------------------------------------- */

typedef struct sonde_health_check_opts {
	size_t size;         /* sizeof(sonde_health_check_opts) as the caller
	                        was compiled; fields past it read as zero;
	                        below the first layout (up to release):
	                        SONDE_EINVAL */
	const char *name;    /* required: 1..SONDE_HEALTH_NAME_MAX bytes of
	                        [a-zA-Z0-9_.-]; a label value and a JSON key */
	sonde_health_fn fn;  /* required */
	void *user;          /* passed to fn and release; may be NULL */
	unsigned probes;     /* OR of SONDE_HEALTH_LIVENESS/READINESS/STARTUP;
	                        0 = SONDE_HEALTH_READINESS */
	uint32_t timeout_ms; /* 0 = SONDE_HEALTH_TIMEOUT_DEFAULT_MS;
	                        <= SONDE_HEALTH_TIMEOUT_MAX_MS */
	uint32_t cache_ms;   /* 0 = run on every evaluation;
	                        <= SONDE_HEALTH_CACHE_MAX_MS */
	/* Called once with user when fn can no longer be called: from
	 * sonde_health_free() or, if a run of this check outlived its wait,
	 * from that run's thread when it returns. Not called when add_check
	 * fails. NULL = nothing to release. */
	void (*release)(void *user);
} sonde_health_check_opts;

/* Zeroes *o and fills size, name, fn and user (probes readiness, default
 * timeout, no cache). NULL o is a no-op. */
SONDE_API void sonde_health_check_opts_init(sonde_health_check_opts *o, const char *name,
                                            sonde_health_fn fn, void *user);

/* Adds a check. The name is copied; the opts struct is not kept. May be
 * called while other threads evaluate: evaluations that already started
 * do not see the new check. Allocates (the check, its metric children).
 * Returns SONDE_OK, or: SONDE_EINVAL (NULL h or opts, size below the
 * first layout, NULL fn, bad name, unknown probe bit, timeout or cache
 * over its maximum),
 * SONDE_EEXIST (a check of that name exists), SONDE_ESTATE (h is being
 * freed), SONDE_ELIMIT (the metric families refused a new child),
 * SONDE_ENOMEM. On failure nothing was added. */
SONDE_API SONDE_WUR int sonde_health_add_check(sonde_health *h,
                                               const sonde_health_check_opts *opts);

/* Number of checks. 0 on NULL. */
SONDE_API size_t sonde_health_check_count(const sonde_health *h);

/* ---- evaluation ----------------------------------------------------------- */

/* Evaluates one probe kind: starts (or reuses, see Model) the runs of the
 * checks tagged with it, waits at most until each run's deadline, updates
 * the metrics, and if body is not NULL replaces its contents with the JSON
 * described above (NUL-terminated). *status_out, when not NULL, receives
 * the aggregate. Blocks for at most the longest timeout among the probe's
 * checks (plus scheduling); never blocks on a check that overran an
 * earlier probe. Allocates a little per evaluation (and a thread per
 * started run).
 * Returns the HTTP status to send, 200 or 503, or a negative status:
 * SONDE_EINVAL (NULL h, probe not exactly one kind), SONDE_ENOMEM (no
 * memory for the evaluation or the body; the body is then incomplete and
 * must not be sent). A check whose thread cannot be started counts as
 * failed ("could not start a thread"), it does not fail the call. */
SONDE_API SONDE_WUR int sonde_health_evaluate(sonde_health *h, sonde_health_probe probe,
                                              sonde_buf *body, sonde_health_status *status_out);

/* "healthy", "degraded", "unhealthy"; "pass", "warn", "fail";
 * "liveness", "readiness", "startup". Static strings; "unknown" for a
 * value out of range. */
SONDE_API const char *sonde_health_status_name(sonde_health_status s);
SONDE_API const char *sonde_health_result_name(sonde_health_result r);
SONDE_API const char *sonde_health_probe_name(sonde_health_probe p);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_HEALTH_H */
