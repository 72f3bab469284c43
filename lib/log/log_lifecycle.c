/*
 * lib/log/log_lifecycle.c - the logger's life in the process: set-up
 * (once), starting the backend thread, sonde_log_flush(),
 * sonde_log_shutdown() (and at exit), and fork. Calls: log_backend.c (the
 * thread's body, the end of a shutdown), log_ring.c (pending records,
 * discarding, the rings in a forked child), log_clock.c, log_stats.c,
 * log_state.c. Called by the log call (log_emit.c, log_thread.c) and by
 * logger creation (log_logger.c), which start the backend.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>

#include "log/log_ring.h"

#define G sonde__log_g

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int atexit_done; /* log_mu */

/* ---- fork ------------------------------------------------------------------------------ */

static void fork_prepare(void)
{
	/* Lock order intern_mu -> cycle_mu -> log_mu -> wait_mu (log-int.h).
	 * intern_mu: no thread is half-way through interning a call site
	 * (issue 13.3: the child hung on its first sonde_log_write). */
	pthread_mutex_lock(&G.intern_mu);
	/* Park the backend at the top of its loop, outside any allocation
	 * (issue 13.23: a fork during its start-up or its metric export
	 * left the child's allocator locked). Not from the backend itself
	 * (a sink callback that forks). */
	pthread_mutex_lock(&G.log_mu);
	if (!sonde__log_is_backend) {
		G.fork_pending = 1;
		pthread_cond_broadcast(&G.backend_cv);
		while (G.backend_alive && !G.backend_parked)
			pthread_cond_wait(&G.park_cv, &G.log_mu);
	}
	pthread_mutex_unlock(&G.log_mu);
	/* Holding cycle_mu: the backend is between batches (sink buffers
	 * empty, no rotation half-done); parked, it cannot take it. */
	pthread_mutex_lock(&G.cycle_mu);
	pthread_mutex_lock(&G.log_mu);
	pthread_mutex_lock(&G.wait_mu);
}

static void fork_parent(void)
{
	G.fork_pending = 0;
	pthread_cond_broadcast(&G.backend_cv); /* the parked backend goes on */
	pthread_mutex_unlock(&G.wait_mu);
	pthread_mutex_unlock(&G.log_mu);
	pthread_mutex_unlock(&G.cycle_mu);
	pthread_mutex_unlock(&G.intern_mu);
}

static void fork_child(void)
{
	int st = sonde__load_relaxed(&G.state);

	/* Only this thread exists here. Its records made before the fork
	 * belong to the parent, which writes them: skip them (rpos = wpos).
	 * Other threads' rings are orphaned: the child's backend frees them.
	 * The backend is started by the child's first log call (no
	 * pthread_create inside an atfork handler). */
	sonde__log_rings_fork_child(sonde__log_tls_ring);
	if (sonde__log_tls_ring) /* this thread has a new id here */
		sonde__log_tls_ring->tid = (long)syscall(SYS_gettid);
	sonde__log_flight_fork_child();
	if (st == ST_RUNNING || st == ST_STOPPING)
		sonde__store_relaxed(&G.state, ST_NEED_START);
	G.stopping = 0;
	G.flush_done = G.flush_req;
	G.in_child = true;
	G.fork_pending = 0;
	G.backend_alive = 0; /* the parent's backend does not exist here */
	G.backend_parked = 0;
	sonde__log_is_backend = 0;
	pthread_cond_init(&G.park_cv, NULL);
	pthread_cond_init(&G.backend_cv, NULL);
	pthread_cond_init(&G.flush_cv, NULL);
	pthread_cond_init(&G.wait_cv, NULL);
	pthread_mutex_unlock(&G.wait_mu);
	pthread_mutex_unlock(&G.log_mu);
	pthread_mutex_unlock(&G.cycle_mu);
	pthread_mutex_unlock(&G.intern_mu);
}

/* ---- set-up and start ------------------------------------------------------------------ */

static const sonde__fork_hooks log_fork = {SONDE_FORK_RANK_LOG, fork_prepare, fork_parent,
                                           fork_child};

static void init(void)
{
	uint64_t rb = sonde__load_relaxed(&G.ring_bytes);

	if (rb == 0)
		sonde__store_relaxed(&G.ring_bytes, SONDE__LOG_RING_DEFAULT);
	sonde__log_clock_init();
	sonde__log_stats_init();
	/* prepare takes the locks so the child never inherits one held by a
	 * thread that does not exist there (see fork_child). The logger's
	 * rank is the lowest: its prepare runs before the metrics' (the gate,
	 * the cells lock), so the backend can finish a metric export before it
	 * parks, whatever part of the library registered first. */
	sonde__fork_register(&log_fork);
}

void sonde__log_init_once(void)
{
	pthread_once(&init_once, init);
}

static void exit_hook(void)
{
	if (!sonde__log_is_backend && sonde__load_relaxed(&G.state) == ST_RUNNING) {
		int rc = sonde_log_shutdown(); /* at exit nobody can act on a timeout */
		(void)rc;
	}
}

int sonde__log_start_locked(void)
{
	int st = sonde__load_relaxed(&G.state), rc;
	sigset_t all, old;

	if (st == ST_RUNNING || st == ST_STOPPING)
		return SONDE_OK;
	if (st == ST_STOPPED)
		sonde__fetch_add_relaxed(&G.dropped, sonde__log_rings_discard_locked());
	G.stopping = 0;
	G.backend_exited = 0;
	G.abandoned = 0;
	/* The backend must not run the host's signal handlers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	G.backend_alive = 1; /* a fork now waits for it to park */
	G.backend_parked = 0;
	rc = pthread_create(&G.thread, NULL, sonde__log_backend_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		G.backend_alive = 0;
	if (rc != 0)
		return sonde__fail(SONDE_EIO, "log backend thread: pthread_create failed (%d)", rc);
	sonde__store_relaxed(&G.state, ST_RUNNING);
	if (!atexit_done) {
		atexit_done = 1;
		atexit(exit_hook);
	}
	return SONDE_OK;
}

/* ---- flush ----------------------------------------------------------------------------- */

int sonde_log_flush(void)
{
	uint64_t my;
	int st;

	if (sonde__log_is_backend)
		return sonde__fail(SONDE_ESTATE,
		                   "sonde_log_flush: called from the log backend thread "
		                   "(a sink callback); it would wait for itself");
	pthread_mutex_lock(&G.log_mu);
	st = sonde__load_relaxed(&G.state);
	if (st == ST_NEED_START && sonde__log_rings_pending_locked())
		(void)sonde__log_start_locked();
	st = sonde__load_relaxed(&G.state);
	if (st != ST_RUNNING && st != ST_STOPPING) {
		pthread_mutex_unlock(&G.log_mu);
		return SONDE_OK;
	}
	/* Our records were published (release) before this lock; the backend
	 * reads flush_req under the same lock, then loads every wpos. */
	my = ++G.flush_req;
	pthread_cond_signal(&G.backend_cv);
	while (G.flush_done < my) {
		st = sonde__load_relaxed(&G.state);
		if (st != ST_RUNNING && st != ST_STOPPING)
			break;
		pthread_cond_wait(&G.flush_cv, &G.log_mu);
	}
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}

/* ---- shutdown -------------------------------------------------------------------------- */

/* log_mu held, state STOPPING: another thread is shutting down; waits for
 * it (or reports the backend it abandoned). Unlocks log_mu. */
static int wait_other_shutdown_unlock(void)
{
	if (G.abandoned) {
		pthread_mutex_unlock(&G.log_mu);
		return sonde__fail(SONDE_ETIMEDOUT, "sonde_log_shutdown: the log backend is "
		                                    "still stuck in a sink");
	}
	while (sonde__load_relaxed(&G.state) == ST_STOPPING && !G.abandoned)
		pthread_cond_wait(&G.flush_cv, &G.log_mu);
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}

/* The backend thread is gone, its exit included: a fork need not wait
 * for it any more. */
static void backend_joined(void)
{
	pthread_mutex_lock(&G.log_mu);
	G.backend_alive = 0;
	pthread_cond_broadcast(&G.park_cv);
	pthread_mutex_unlock(&G.log_mu);
}

/* Joins the backend within ms + 500 ms. The backend checks the deadline
 * between records; a sink that never returns would hold it forever, so the
 * join is bounded too. If it times out, the backend is left to finish the
 * shutdown itself when (if) the sink returns: rings and loggers stay
 * allocated until then, and the host's exit is not held up. SONDE_OK when
 * the backend was joined; SONDE_ETIMEDOUT when it was abandoned. */
static int join_bounded(unsigned ms)
{
	struct timespec jd;
	int exited;

	clock_gettime(CLOCK_REALTIME, &jd);
	jd.tv_sec += (time_t)(ms / 1000);
	jd.tv_nsec += (long)(ms % 1000) * 1000000L + 500000000L;
	while (jd.tv_nsec >= 1000000000L) {
		jd.tv_sec++;
		jd.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(G.thread, NULL, &jd) == 0) {
		backend_joined();
		return SONDE_OK;
	}
	pthread_mutex_lock(&G.log_mu);
	exited = G.backend_exited;
	if (!exited)
		G.abandoned = 1;
	pthread_cond_broadcast(&G.flush_cv);
	pthread_mutex_unlock(&G.log_mu);
	if (!exited) {
		pthread_detach(G.thread);
		return sonde__fail(SONDE_ETIMEDOUT,
		                   "sonde_log_shutdown: a sink has not returned for %u ms; "
		                   "the backend finishes when it does",
		                   ms + 500);
	}
	pthread_join(G.thread, NULL); /* it left its loop just now */
	backend_joined();
	return SONDE_OK;
}

int sonde_log_shutdown(void)
{
	uint64_t left;
	unsigned ms;
	struct timespec ts;
	int st;

	if (sonde__log_is_backend)
		return sonde__fail(SONDE_ESTATE, "sonde_log_shutdown: called from the log backend "
		                                 "thread (a sink callback)");
	pthread_mutex_lock(&G.log_mu);
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPING)
		return wait_other_shutdown_unlock();
	if (st != ST_RUNNING) {
		if (st == ST_NEED_START)
			sonde__store_relaxed(&G.state, ST_STOPPED);
		pthread_mutex_unlock(&G.log_mu);
		return SONDE_OK;
	}
	ms = G.shutdown_timeout_ms ? G.shutdown_timeout_ms : 2000;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	G.stop_deadline_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)ms * 1000000;
	G.stopping = 1;
	sonde__store_relaxed(&G.state, ST_STOPPING);
	pthread_cond_signal(&G.backend_cv);
	pthread_mutex_unlock(&G.log_mu);

	if (join_bounded(ms) != SONDE_OK)
		return SONDE_ETIMEDOUT;
	left = sonde__log_finish_shutdown();
	if (left)
		return sonde__fail(SONDE_ETIMEDOUT,
		                   "sonde_log_shutdown: %llu records were not written within %u ms",
		                   (unsigned long long)left, ms);
	return SONDE_OK;
}
