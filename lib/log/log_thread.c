/*
 * lib/log/log_thread.c - the calling thread's ring: created and linked by
 * the thread's first log call, orphaned when the thread exits (its records
 * stay; the backend writes them, then frees the ring). Calls:
 * log_lifecycle.c (set-up), log_crash.c (alternate stacks), log_ring.c,
 * log_state.c.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "log/log_ring.h"

#define G sonde__log_g

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t ring_key;
static int ring_key_ok;

/* pthread key destructor: the thread is exiting. Its records stay in the
 * ring; the backend writes them, then frees the ring. A log call from a
 * later TLS destructor of this thread starts a fresh ring (quill #305). */
static void ring_key_dtor(void *p)
{
	sonde__log_ring *r = p;
	int st;

	if (!r)
		return;
	sonde__log_crash_thread_detach();
	sonde__log_flight_thread_exit();
	if (sonde__log_tls_ring == r)
		sonde__log_tls_ring = NULL;
	pthread_mutex_lock(&G.log_mu);
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPED || st == ST_INIT) {
		/* No backend will ever drain it. What is left is discarded and
		 * counted: records this thread committed after the shutdown's
		 * own discard (it saw the backend running just before the
		 * shutdown) were counted nowhere else (issue 13.8). */
		sonde__fetch_add_relaxed(&G.dropped, sonde__log_ring_discard_locked(r));
		sonde__log_ring_unlink_locked(r);
		pthread_mutex_unlock(&G.log_mu);
		sonde__log_ring_free(r);
		return;
	}
	/* after this thread's last commit: nothing is published after it */
	sonde__ring_orphan(r);
	pthread_mutex_unlock(&G.log_mu);
}

static void key_init(void)
{
	ring_key_ok = pthread_key_create(&ring_key, ring_key_dtor) == 0;
}

sonde__log_ring *sonde__log_thread_ring_attach(void)
{
	sonde__log_ring *r;

	sonde__log_init_once();
	pthread_once(&key_once, key_init);
	r = sonde__log_ring_new(sonde__load_relaxed(&G.ring_bytes));
	if (!r)
		return NULL;
	r->tid = (long)syscall(SYS_gettid); /* published by the link */
	pthread_mutex_lock(&G.log_mu);
	sonde__log_ring_link_locked(r);
	pthread_mutex_unlock(&G.log_mu);
	sonde__log_tls_ring = r;
	if (ring_key_ok)
		pthread_setspecific(ring_key, r);
	/* relaxed: a thread that starts logging as the handlers go in gets
	 * its stack at its next attach, or from sonde_log_crash_thread_init */
	if (sonde__load_relaxed(&G.crash_on))
		sonde__log_crash_thread_attach();
	return r;
}
