/*
 * examples/service/server.h - the demo's HTTP server: one reactor thread
 * (accepts connections and watches idle keep-alive ones with poll()) and a
 * fixed pool of worker threads that read, answer and hand connections
 * back. A slow or hostile client can hold a worker for at most
 * read_timeout_ms per request; an idle connection holds no worker at all.
 *
 *   reactor:  poll(listen fd, wake pipe, parked fds) -> queue
 *   worker:   queue -> read head (bounded) -> read body (bounded)
 *             -> demo_app_serve() -> write -> park (keep-alive) or close
 */
#ifndef DEMO_SERVER_H
#define DEMO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

typedef struct demo_config {
	char host[256]; /* --listen HOST:PORT */
	char port[8];
	double duration_s;           /* --duration; 0 = until SIGINT/SIGTERM */
	int threads;                 /* --threads, 1..64 */
	int read_timeout_ms;         /* a request's head and body must arrive within it */
	int idle_timeout_ms;         /* a kept-alive connection with no request is closed */
	int write_timeout_ms;        /* SO_SNDTIMEO for slow readers */
	size_t max_header_bytes;     /* request line + headers */
	size_t max_body_bytes;       /* Content-Length limit */
	bool allow_remote_callbacks; /* POST /test may call non-loopback URLs */
} demo_config;

/* Fills the defaults (127.0.0.1:9464, 4 workers, 5 s timeouts, 16 KiB
 * head, 64 KiB body). */
void demo_config_defaults(demo_config *c);

typedef struct demo_server demo_server;
struct demo_app;
struct demo_worker_ctx;

/* What a worker hands the application for one request. */
typedef struct demo_exchange {
	const http_request *req; /* NULL when the head could not be parsed */
	const char *body;
	size_t body_len;
	int error_status;  /* non-zero: a protocol error to answer (400, 408, 413, ...) */
	const char *error; /* why, for the log line */
	const char *peer;  /* "ip:port" */
	int worker;        /* worker index */
	http_response res; /* filled by the application */
} demo_exchange;

/* Binds and listens (SO_REUSEADDR; port 0 picks a free port). NULL with a
 * message in err on failure. */
demo_server *demo_server_new(const demo_config *cfg, struct demo_app *app, char *err,
                             size_t err_cap);
/* The address actually bound, e.g. "127.0.0.1:9464" or "[::1]:9464". */
const char *demo_server_address(const demo_server *s);

/* Starts the workers; 0 or -1 with err. */
int demo_server_start(demo_server *s, char *err, size_t err_cap);

/* Runs the reactor on the calling thread until demo_server_stop() or,
 * when deadline_mono_ns is not 0, until CLOCK_MONOTONIC passes it. Then
 * drains: readiness fails, the listener closes, idle connections close,
 * queued and in-flight requests are answered (Connection: close), and the
 * workers are joined before it returns. */
void demo_server_run(demo_server *s, int64_t deadline_mono_ns);

/* Asks demo_server_run() to return. Async-signal-safe. */
void demo_server_stop(demo_server *s);

/* Frees the server (after demo_server_run() returned). NULL is a no-op. */
void demo_server_free(demo_server *s);

typedef struct demo_server_stats {
	int workers;
	int busy;                /* workers handling a connection */
	int64_t longest_busy_ms; /* the longest current hold of a worker */
	size_t queued;           /* accepted, waiting for a worker */
	size_t queue_cap;
	size_t parked;     /* idle keep-alive connections */
	uint64_t rejected; /* connections refused because the queue was full */
	bool running;      /* workers started, not draining */
	bool draining;
} demo_server_stats;

/* A snapshot for the health checks and the callback gauges; any thread. */
void demo_server_stats_get(demo_server *s, demo_server_stats *out);

#endif /* DEMO_SERVER_H */
