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
}

/* Links a built logger and makes sure the backend runs. */
static sonde_logger *publish_logger(sonde_logger *l)
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
	return publish_logger(sonde__logger_build(o));
}

sonde_logger *sonde_logger_child(const sonde_logger *parent, const sonde_log_field *fields,
                                 size_t n)
{
	return publish_logger(sonde__logger_build_child(parent, fields, n));
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
	st = sonde__load_relaxed(&G.state);
	if (st == ST_STOPPED || st == ST_INIT) {
		pthread_mutex_unlock(&G.log_mu);
		sonde__logger_destroy(l);
		return;
	}
	/* Records of l may still be in rings: the backend frees it after a
	 * batch that started after this point has drained every ring. */
	l->retire_next = G.retired;
	G.retired = l;
	pthread_mutex_unlock(&G.log_mu);
}
