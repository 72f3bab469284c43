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

#include "core/atomic.h"
#include "core/sonde-int.h"

#define MAX_HOOKS 16

/* The hook list is published, never changed in place: a registration
 * builds the next sorted list in a fresh slot and publishes it (release),
 * and the fork handlers read the list they find (acquire). So the
 * handlers take no lock of their own, and a part may register while it
 * holds one of its locks (a summary registers under a family lock)
 * without a lock-order inversion against a fork. A registration that
 * races a fork is not seen by that fork: its lock was not held yet. */
typedef struct hook_list {
	int n;
	const sonde__fork_hooks *h[MAX_HOOKS];
} hook_list;

static hook_list lists[MAX_HOOKS + 1]; /* one per registration, never reused */
static int nlists;
static hook_list *_Atomic current;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER; /* registrations only */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The list this fork uses: read once by prepare, kept for parent/child
 * (the forking thread is the only one running the three handlers). */
static hook_list *forking;

static void prepare(void)
{
	int i;

	/* acquire: pairs with the release in sonde__fork_register() */
	forking = sonde__load_acquire(&current);
	for (i = 0; forking && i < forking->n; i++)
		forking->h[i]->prepare();
}

static void parent(void)
{
	int i;

	for (i = forking ? forking->n - 1 : -1; i >= 0; i--)
		forking->h[i]->parent();
}

static void child(void)
{
	int i;

	for (i = forking ? forking->n - 1 : -1; i >= 0; i--)
		forking->h[i]->child();
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
	hook_list *cur, *next;
	int i, j;

	/* acquire: pairs with the release below (another registration) */
	cur = sonde__load_acquire(&current);
	for (i = 0; cur && i < cur->n; i++)
		if (cur->h[i] == h)
			return; /* the common case: no lock */
	pthread_once(&atfork_once, install);
	pthread_mutex_lock(&reg_mu);
	cur = sonde__load_relaxed(&current);
	for (i = 0; cur && i < cur->n; i++)
		if (cur->h[i] == h)
			break;
	if ((!cur || i == cur->n) && nlists <= MAX_HOOKS && (!cur || cur->n < MAX_HOOKS)) {
		next = &lists[nlists++];
		next->n = 0;
		/* sorted by rank, stable: equal ranks in registration order */
		for (i = 0; cur && i < cur->n && cur->h[i]->rank <= h->rank; i++)
			next->h[next->n++] = cur->h[i];
		next->h[next->n++] = h;
		for (j = i; cur && j < cur->n; j++)
			next->h[next->n++] = cur->h[j];
		/* release: the filled list before its pointer; pairs with the
		 * acquire loads in prepare() and above */
		sonde__store_release(&current, next);
	}
	pthread_mutex_unlock(&reg_mu);
}
