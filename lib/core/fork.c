/*
 * lib/core/fork.c - one pthread_atfork for the whole library, so that every
 * lock is taken before a fork in one global order and released after it in
 * the reverse order, whatever order the files first ran in.
 *
 * pthread_atfork() alone runs prepare handlers in the reverse order of
 * their registration, which depends on which part of the library a host
 * touched first: two handlers registered by different files could take
 * their locks in an order that another thread takes them in the opposite
 * way, and the fork would deadlock. Here each part registers its hooks
 * with a rank (sonde-int.h: SONDE_FORK_RANK_*), and the prepare handler
 * runs them by ascending rank: the rank order is the library's lock order
 * (a lock that is held while another is taken has the lower rank).
 *
 * After the fork the child is single-threaded: every lock is released (or
 * re-initialized) in it, so its first call into sonde never waits for a
 * thread that does not exist there.
 */
#include <pthread.h>

#include "core/sonde-int.h"

#define MAX_HOOKS 16

static const sonde__fork_hooks *hooks[MAX_HOOKS];
static int nhooks;
static pthread_mutex_t hooks_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void prepare(void)
{
	int i;

	/* hooks_mu first: no registration may change the list meanwhile */
	pthread_mutex_lock(&hooks_mu);
	for (i = 0; i < nhooks; i++)
		hooks[i]->prepare();
}

static void parent(void)
{
	int i;

	for (i = nhooks - 1; i >= 0; i--)
		hooks[i]->parent();
	pthread_mutex_unlock(&hooks_mu);
}

static void child(void)
{
	int i;

	for (i = nhooks - 1; i >= 0; i--)
		hooks[i]->child();
	pthread_mutex_unlock(&hooks_mu);
}

static void install(void)
{
	/* ENOMEM here leaves fork unprotected, as it was before; nothing
	 * else can be done about it (and glibc's pthread_atfork does not
	 * allocate for the first handlers) */
	sonde__ignore(pthread_atfork(prepare, parent, child));
}

void sonde__fork_register(const sonde__fork_hooks *h)
{
	int i, j;

	pthread_once(&atfork_once, install);
	pthread_mutex_lock(&hooks_mu);
	for (i = 0; i < nhooks; i++)
		if (hooks[i] == h)
			break;
	if (i == nhooks && nhooks < MAX_HOOKS) {
		/* keep the list sorted by rank (stable: equal ranks in
		 * registration order) */
		for (j = nhooks; j > 0 && hooks[j - 1]->rank > h->rank; j--)
			hooks[j] = hooks[j - 1];
		hooks[j] = h;
		nhooks++;
	}
	pthread_mutex_unlock(&hooks_mu);
}
