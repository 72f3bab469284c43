/*
 * lib/log/log_state.c - the logger's process-wide state: the one
 * sonde__log_global (locks, backend state, the ring and logger lists,
 * flush counters, configuration, statistics, self-metric handles) and the
 * per-thread words (the thread's ring; "this is the backend thread").
 * Data only, at the bottom of lib/log/: it calls nothing, every other file
 * reads it. What protects each field is written beside it in log-int.h.
 */
#include "log/log-int.h"

sonde__log_global sonde__log_g = {
        .intern_mu = PTHREAD_MUTEX_INITIALIZER,
        .cycle_mu = PTHREAD_MUTEX_INITIALIZER,
        .log_mu = PTHREAD_MUTEX_INITIALIZER,
        .wait_mu = PTHREAD_MUTEX_INITIALIZER,
        .backend_cv = PTHREAD_COND_INITIALIZER,
        .flush_cv = PTHREAD_COND_INITIALIZER,
        .wait_cv = PTHREAD_COND_INITIALIZER,
        .park_cv = PTHREAD_COND_INITIALIZER,
};

SONDE_TLS_DYNAMIC int sonde__log_is_backend;

SONDE_TLS sonde__log_ring *sonde__log_tls_ring;

SONDE_TLS sonde_log_scope *sonde__log_tls_scope;
SONDE_TLS uint64_t sonde__log_tls_scope_gen;
