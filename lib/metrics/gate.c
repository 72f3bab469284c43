/*
 * lib/metrics/gate.c - the metrics gate: fork safety for every registry,
 * family and summary mutex.
 *
 * Every section that takes a registry's, a family's or a summary's mutex
 * holds the gate shared (sonde__reg_lock and its siblings); a fork takes
 * it exclusive, so at the moment of a fork no such mutex is held by any
 * thread, however many registries and families there are. (Taking each
 * mutex in the fork handler instead would hold thousands of locks at
 * once, past what TSan can follow.) The read side is reader-preferring
 * (glibc's default), so a section nested in another (a scrape reading a
 * summary) never waits for a fork that waits for it. A leaf: calls core
 * only.
 */
#include <pthread.h>

#include "metrics/metrics-int.h"

static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_rwlock_wrlock(&gate);
}

static void fork_parent(void)
{
	pthread_rwlock_unlock(&gate);
}

/* glibc's rwlock remembers its writer by thread id, which the child's
 * thread does not share: the child starts the gate afresh instead (it is
 * the only thread, and no section is open). */
static void fork_child(void)
{
	pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;

	memcpy(&gate, &fresh, sizeof(gate));
}

static const sonde__fork_hooks gate_fork = {SONDE_FORK_RANK_REGISTRY, fork_prepare, fork_parent,
                                            fork_child};

static void gate_init(void)
{
	sonde__fork_register(&gate_fork);
}

void sonde__gate_enter(void)
{
	pthread_once(&gate_once, gate_init);
	pthread_rwlock_rdlock(&gate);
}

void sonde__gate_leave(void)
{
	pthread_rwlock_unlock(&gate);
}
