/*
 * lib/log/log_logger.c - loggers joining and leaving the process's live
 * list: sonde_logger_new() and sonde_logger_child() build a logger
 * (log_logger_build.c), link it and make sure the backend runs;
 * sonde_logger_free() unlinks it and hands it to the backend, which
 * destroys it once no ring can still name it. Calls: log_logger_build.c,
 * log_lifecycle.c (set-up, backend start), log_state.c.
 */
#include "log/log-int.h"

#define G sonde__log_g

void sonde_log_opts_init(sonde_log_opts *o, const char *service)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->service = service;
	o->level = SONDE_LOG_LEVEL_INFO;
	o->flight_level = SONDE_LOG_LEVEL_DEBUG;
	o->flight_trigger = SONDE_LOG_LEVEL_ERROR;
}

/* Links a built logger and makes sure the backend runs; a root logger
 * becomes the default when there is none. */
static sonde_logger *publish_logger(sonde_logger *l, bool root)
{
	int rc;

	if (!l)
		return NULL;
	sonde__log_init_once();
	pthread_mutex_lock(&G.log_mu);
	rc = sonde__log_start_locked();
	if (rc == SONDE_OK) {
		l->next = G.loggers;
		if (G.loggers)
			G.loggers->prev = l;
		G.loggers = l;
		l->root = root;
		/* relaxed: log_mu orders the writers */
		if (root && !sonde__load_relaxed(&G.root_default))
			/* release: pairs with the acquire in
			 * sonde_log_default_logger(); publishes the built logger */
			sonde__store_release(&G.root_default, l);
	}
	pthread_mutex_unlock(&G.log_mu);
	if (rc != SONDE_OK) {
		sonde__logger_destroy(l);
		return NULL;
	}
	return l;
}

sonde_logger *sonde_logger_new(const sonde_log_opts *o)
{
	return publish_logger(sonde__logger_build(o), true);
}

sonde_logger *sonde_logger_child(const sonde_logger *parent, const sonde_log_field *fields,
                                 size_t n)
{
	return publish_logger(sonde__logger_build_child(parent, fields, n), false);
}

/* Under log_mu: the oldest live root logger (the list is newest first). */
static sonde_logger *oldest_root(void)
{
	sonde_logger *it, *found = NULL;

	for (it = G.loggers; it; it = it->next)
		if (it->root)
			found = it;
	return found;
}

sonde_logger *sonde_log_default_logger(void)
{
	/* acquire: pairs with the releases in publish_logger() and
	 * sonde_logger_free() */
	return sonde__load_acquire(&G.root_default);
}

void sonde_logger_free(sonde_logger *l)
{
	int st;

	if (!l)
		return;
	pthread_mutex_lock(&G.log_mu);
	if (l->prev)
		l->prev->next = l->next;
	else if (G.loggers == l)
		G.loggers = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
	/* relaxed: log_mu orders the writers */
	if (sonde__load_relaxed(&G.root_default) == l)
		/* release: pairs with the acquire in sonde_log_default_logger() */
		sonde__store_release(&G.root_default, oldest_root());
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPED || st == ST_INIT) {
		pthread_mutex_unlock(&G.log_mu);
		/* no backend to wait for a replay: kept records naming l go */
		if (sonde__load_relaxed(&l->flight_used))
			sonde__log_flight_clear_all();
		sonde__logger_destroy(l);
		return;
	}
	/* Records of l may still be in rings: the backend frees it after a
	 * batch that started after this point has drained every ring. */
	l->retire_next = G.retired;
	G.retired = l;
	pthread_mutex_unlock(&G.log_mu);
}
