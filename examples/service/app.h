/*
 * examples/service/app.h - what the demo serves and how it is instrumented:
 * routes, metrics, the logger, the health checks and the W3C /test
 * endpoint. The server (server.h) calls demo_app_serve() for every request,
 * including the ones it rejects, so every answer is counted, timed, traced
 * and logged in one place.
 */
#ifndef DEMO_APP_H
#define DEMO_APP_H

#include "server.h"

typedef struct demo_app demo_app;
typedef struct demo_worker_ctx demo_worker_ctx;

/* Registers the metrics (default registry) and creates the logger (JSON
 * lines on stdout). NULL with a message in err on failure. */
demo_app *demo_app_new(const demo_config *cfg, char *err, size_t err_cap);

/* Connects the app to its server: the health checks and the gauges that
 * read the server's state. 0, or -1 with err. */
int demo_app_attach(demo_app *app, demo_server *srv, char *err, size_t err_cap);

/* Per-worker state (response buffer, trace carrier). NULL on OOM. */
demo_worker_ctx *demo_app_worker_new(demo_app *app, int id);
void demo_app_worker_free(demo_worker_ctx *w);

/* Answers one exchange: fills ex->res (its body stays valid until the
 * worker's next call), updates the metrics and writes the log line, all
 * before the response is sent, so a client that reads /metrics right after
 * an answer sees that answer counted. */
void demo_app_serve(demo_app *app, demo_worker_ctx *w, demo_exchange *ex);

/* Lifecycle log lines from main(). */
void demo_app_log_started(demo_app *app, const char *address, int threads);
void demo_app_log_stopped(demo_app *app, const char *why);

/* Frees the health checks and unregisters the gauges that read the
 * server, so that the server can be freed. Call it after
 * demo_server_run() returned. NULL is a no-op. */
void demo_app_detach(demo_app *app);

/* Frees everything (detaching first if needed); drains the logger. NULL
 * is a no-op. */
void demo_app_free(demo_app *app);

#endif /* DEMO_APP_H */
