/* examples/service/server.c - see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "app.h"

#define QUEUE_CAP 256 /* accepted connections waiting for a worker */
#define PARK_MAX 1024 /* idle keep-alive connections watched by the reactor */
#define LISTEN_BACKLOG 128
#define LINGER_MS 500 /* after an error answer, read what the client still sends */

typedef struct parked {
	int fd;
	int64_t deadline_ms;
} parked;

typedef struct demo_worker {
	demo_server *srv;
	int id;
	pthread_t thread;
	bool started;
	char *buf; /* max_header_bytes + max_body_bytes */
	size_t cap;
	demo_worker_ctx *ctx;          /* the application's per-worker state */
	_Atomic int64_t busy_since_ms; /* 0 when idle */
} demo_worker;

struct demo_server {
	demo_config cfg;
	demo_app *app;
	int lfd;
	int wake[2]; /* workers and signals wake the reactor */
	char address[300];

	pthread_mutex_t mu; /* guards queue, pending_park, stopping */
	pthread_cond_t cv;
	int queue[QUEUE_CAP];
	size_t qhead, qlen;
	int pending_park[PARK_MAX]; /* handed back by workers, not yet polled */
	size_t npending;
	bool stopping; /* workers: finish the queue, then exit */

	parked parked[PARK_MAX]; /* reactor thread only */
	size_t nparked;

	atomic_int stop_requested; /* set by demo_server_stop() (signal handler) */
	atomic_bool running;
	atomic_bool draining;
	atomic_size_t parked_count; /* mirror of nparked for stats */
	atomic_uint_fast64_t rejected;

	demo_worker *workers;
	int nworkers;
};

static int64_t now_ms(void)
{
	return sonde_now_mono_ns() / 1000000;
}

void demo_config_defaults(demo_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->host, sizeof(c->host), "127.0.0.1");
	snprintf(c->port, sizeof(c->port), "9464");
	c->threads = 4;
	c->read_timeout_ms = 5000;
	c->idle_timeout_ms = 5000;
	c->write_timeout_ms = 5000;
	c->max_header_bytes = 16384;
	c->max_body_bytes = 65536;
}

/* ---- setup ------------------------------------------------------------------------ */

demo_server *demo_server_new(const demo_config *cfg, demo_app *app, char *err, size_t err_cap)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	demo_server *s;
	int rc, one = 1;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->app = app;
	s->lfd = -1;
	s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(cfg->host[0] ? cfg->host : NULL, cfg->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, err_cap, "resolve %s: %s", cfg->host, gai_strerror(rc));
		goto fail;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		s->lfd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                ai->ai_protocol);
		if (s->lfd < 0)
			continue;
		setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->lfd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(s->lfd, LISTEN_BACKLOG) == 0)
			break;
		snprintf(err, err_cap, "listen on %s:%s: %s", cfg->host, cfg->port,
		         strerror(errno));
		close(s->lfd);
		s->lfd = -1;
	}
	freeaddrinfo(res);
	if (s->lfd < 0)
		goto fail;
	if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(err, err_cap, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(s->address, sizeof(s->address), "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(s->address, sizeof(s->address), "%s:%u", host, ntohs(in->sin_port));
	}
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, err_cap, "pipe: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	demo_server_free(s);
	return NULL;
}

const char *demo_server_address(const demo_server *s)
{
	return s->address;
}

static void wake_reactor(demo_server *s)
{
	char c = 1;
	/* a full pipe already guarantees a wake-up; nothing else can fail here */
	ssize_t n = write(s->wake[1], &c, 1);
	(void)n;
}

void demo_server_stop(demo_server *s)
{
	atomic_store(&s->stop_requested, 1);
	wake_reactor(s);
}

/* ---- worker: reading one request ---------------------------------------------------------- */

/* What the worker does with a connection after serving it. */
typedef enum conn_next {
	CONN_PARK,  /* idle keep-alive: back to the reactor */
	CONN_CLOSE, /* close it */
	CONN_CLOSED /* already closed (after a lingering close) */
} conn_next;

/* recv() bounded by an absolute deadline: SO_RCVTIMEO is set to what is
 * left before each call, so a client trickling one byte at a time still
 * meets the deadline (a per-call timeout alone would not stop slowloris).
 * Returns bytes read, 0 on EOF, -1 on error, -2 on timeout. */
static ssize_t recv_until(int fd, char *buf, size_t cap, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - now_ms();
		struct timeval tv;
		ssize_t n;

		if (left <= 0)
			return -2;
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
			return -1;
		n = recv(fd, buf, cap, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : -1;
	}
}

/* After an error answer the client may still be sending (a body we
 * refused): closing with unread data would make the kernel send RST,
 * which can destroy our answer before the client reads it. Half-close,
 * read what comes for a short while, then close. */
static void close_lingering(int fd)
{
	char sink[4096];
	int64_t deadline = now_ms() + LINGER_MS;

	shutdown(fd, SHUT_WR);
	while (recv_until(fd, sink, sizeof(sink), deadline) > 0)
		;
	close(fd);
}

/* Strict Content-Length (RFC 9112 6.3): digits only; repeated headers
 * must agree. Returns -1 when invalid. */
static long long content_length(const http_request *req, bool *present)
{
	long long v = -1;

	*present = false;
	for (size_t i = 0; i < req->nheaders; i++) {
		const sonde_header *h = &req->headers[i];
		long long x = 0;

		if (h->name_len != 14 || strncasecmp(h->name, "content-length", 14) != 0)
			continue;
		*present = true;
		if (h->value_len == 0 || h->value_len > 15)
			return -1;
		for (size_t k = 0; k < h->value_len; k++) {
			if (h->value[k] < '0' || h->value[k] > '9')
				return -1;
			x = x * 10 + (h->value[k] - '0');
		}
		if (v >= 0 && x != v)
			return -1;
		v = x;
	}
	return *present ? v : 0;
}

static bool wants_keep_alive(const http_request *req)
{
	const sonde_header *c = http_header_find(req, "connection");

	if (req->minor_version == 0)
		return c && http_value_has_token(c->value, c->value_len, "keep-alive");
	return !(c && http_value_has_token(c->value, c->value_len, "close"));
}

static bool is_stopping(demo_server *s)
{
	bool v;
	pthread_mutex_lock(&s->mu);
	v = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return v;
}

/* Serves requests on fd until it should be parked (idle, keep-alive) or
 * closed. The worker's buffer holds one request's head and body; bytes of
 * a pipelined next request stay in it and are served in the same call. */
static conn_next serve_connection(demo_worker *w, int fd, const char *peer)
{
	demo_server *s = w->srv;
	const size_t max_head = s->cfg.max_header_bytes;
	size_t len = 0;

	for (;;) {
		demo_exchange ex;
		http_request req;
		int64_t deadline = now_ms() + s->cfg.read_timeout_ms;
		size_t consumed;
		long long clen = 0;
		int head = HTTP_INCOMPLETE;
		bool keep = false;

		memset(&ex, 0, sizeof(ex));
		ex.peer = peer;
		ex.worker = w->id;

		/* the head: bounded by max_header_bytes and the deadline */
		for (;;) {
			ssize_t n;

			if (len) {
				head = http_parse_request(w->buf, len, &req);
				if (head != HTTP_INCOMPLETE)
					break;
			}
			if (len >= max_head) {
				ex.error_status = 413;
				ex.error = "request head too large";
				break;
			}
			n = recv_until(fd, w->buf + len, max_head - len, deadline);
			if (n == 0 || n == -1)
				return CONN_CLOSE; /* the client left; nobody to answer */
			if (n == -2) {
				if (len == 0)
					return CONN_CLOSE; /* readable but silent: nothing to answer
					                    */
				ex.error_status = 408;
				ex.error = "request head not received in time";
				break;
			}
			len += (size_t)n;
		}
		if (head < 0) {
			ex.error_status = head == HTTP_EVERSION    ? 505
			                  : head == HTTP_ETOO_MANY ? 413
			                                           : 400;
			ex.error = head == HTTP_EVERSION    ? "unsupported HTTP version"
			           : head == HTTP_ETOO_MANY ? "too many header fields"
			                                    : "malformed request head";
		}

		/* the body: Content-Length only, bounded by max_body_bytes */
		if (head > 0) {
			bool present;

			ex.req = &req;
			clen = content_length(&req, &present);
			if (http_header_find(&req, "transfer-encoding")) {
				/* RFC 9112 6.1: chunked is all a 1.1 server must know; the
				 * demo's clients (curl, Prometheus, the harness) send a length */
				ex.error_status = 501;
				ex.error =
				        "Transfer-Encoding is not supported; send Content-Length";
				clen = 0;
			} else if (clen < 0) {
				ex.error_status = 400;
				ex.error = "invalid Content-Length";
				clen = 0;
			} else if ((unsigned long long)clen > s->cfg.max_body_bytes) {
				ex.error_status = 413;
				ex.error = "request body too large";
				clen = 0;
			} else if ((size_t)head + (size_t)clen > len) {
				const sonde_header *e = http_header_find(&req, "expect");
				if (e &&
				    http_value_has_token(e->value, e->value_len, "100-continue")) {
					static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
					if (send(fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL) < 0)
						return CONN_CLOSE;
				}
				while ((size_t)head + (size_t)clen > len) {
					ssize_t n = recv_until(fd, w->buf + len, w->cap - len,
					                       deadline);
					if (n == 0 || n == -1)
						return CONN_CLOSE;
					if (n == -2) {
						ex.error_status = 408;
						ex.error = "request body not received in time";
						clen = 0;
						break;
					}
					len += (size_t)n;
				}
			}
			ex.body = w->buf + head;
			ex.body_len = (size_t)clen;
			keep = ex.error_status == 0 && wants_keep_alive(&req);
		}

		demo_app_serve(s->app, w->ctx, &ex);
		if (!keep || is_stopping(s))
			ex.res.close = true;
		if (http_response_write(fd, &ex.res, s->cfg.write_timeout_ms) != 0)
			return CONN_CLOSE;
		if (ex.error_status) {
			close_lingering(fd);
			return CONN_CLOSED;
		}
		if (ex.res.close)
			return CONN_CLOSE;
		consumed = (size_t)head + (size_t)clen;
		len -= consumed;
		memmove(w->buf, w->buf + consumed, len);
		if (len == 0)
			return CONN_PARK;
	}
}

static void peer_name(int fd, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		} else if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		}
	}
	snprintf(out, cap, "%s:%u", host, port);
}

static void *worker_main(void *arg)
{
	demo_worker *w = arg;
	demo_server *s = w->srv;

	for (;;) {
		char peer[INET6_ADDRSTRLEN + 8];
		conn_next next;
		int fd;

		pthread_mutex_lock(&s->mu);
		while (s->qlen == 0 && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->qlen == 0) { /* stopping and the queue is drained */
			pthread_mutex_unlock(&s->mu);
			break;
		}
		fd = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % QUEUE_CAP;
		s->qlen--;
		pthread_mutex_unlock(&s->mu);

		atomic_store(&w->busy_since_ms, now_ms());
		peer_name(fd, peer, sizeof(peer));
		next = serve_connection(w, fd, peer);
		atomic_store(&w->busy_since_ms, 0);
		if (next == CONN_CLOSED)
			continue;
		if (next == CONN_PARK) {
			pthread_mutex_lock(&s->mu);
			if (!s->stopping && s->npending < PARK_MAX) {
				s->pending_park[s->npending++] = fd;
				fd = -1;
			}
			pthread_mutex_unlock(&s->mu);
			if (fd < 0) {
				wake_reactor(s);
				continue;
			}
		}
		close(fd);
	}
	return NULL;
}

int demo_server_start(demo_server *s, char *err, size_t err_cap)
{
	sigset_t all, old;
	size_t cap = s->cfg.max_header_bytes + s->cfg.max_body_bytes;

	s->workers = calloc((size_t)s->cfg.threads, sizeof(*s->workers));
	if (!s->workers) {
		snprintf(err, err_cap, "out of memory");
		return -1;
	}
	/* workers never take SIGINT/SIGTERM: the reactor thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < s->cfg.threads; i++) {
		demo_worker *w = &s->workers[i];
		int rc;

		w->srv = s;
		w->id = i;
		w->cap = cap;
		w->buf = malloc(cap);
		w->ctx = demo_app_worker_new(s->app, i);
		if (!w->buf || !w->ctx) {
			snprintf(err, err_cap, "out of memory");
			break;
		}
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			snprintf(err, err_cap, "pthread_create: %s", strerror(rc));
			break;
		}
		w->started = true;
		s->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (s->nworkers != s->cfg.threads)
		return -1;
	atomic_store(&s->running, true);
	return 0;
}

/* ---- reactor
 * ------------------------------------------------------------------------------------------ */

/* Queues fd for a worker; a full queue answers 503 at once (non-blocking:
 * the reactor must never wait on a client). */
static void enqueue(demo_server *s, int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	                           "Retry-After: 1\r\nConnection: close\r\n\r\n";
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = s->qlen < QUEUE_CAP;
	if (ok) {
		s->queue[(s->qhead + s->qlen) % QUEUE_CAP] = fd;
		s->qlen++;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
		close(fd);
		atomic_fetch_add(&s->rejected, 1);
	}
}

static void accept_all(demo_server *s)
{
	for (;;) {
		struct timeval tv;
		int one = 1;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or EMFILE and friends: try again on the next poll */
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		tv.tv_sec = s->cfg.write_timeout_ms / 1000;
		tv.tv_usec = (suseconds_t)(s->cfg.write_timeout_ms % 1000) * 1000;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		enqueue(s, fd);
	}
}

static void take_pending(demo_server *s)
{
	int64_t deadline = now_ms() + s->cfg.idle_timeout_ms;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->npending; i++) {
		if (s->nparked < PARK_MAX) {
			s->parked[s->nparked].fd = s->pending_park[i];
			s->parked[s->nparked++].deadline_ms = deadline;
		} else {
			close(s->pending_park[i]);
		}
	}
	s->npending = 0;
	pthread_mutex_unlock(&s->mu);
	atomic_store(&s->parked_count, s->nparked);
}

static void drain_wake_pipe(demo_server *s)
{
	char b[64];
	while (read(s->wake[0], b, sizeof(b)) > 0)
		;
}

void demo_server_run(demo_server *s, int64_t deadline_mono_ns)
{
	struct pollfd *pfd = calloc(PARK_MAX + 2, sizeof(*pfd));

	while (pfd && !atomic_load(&s->stop_requested)) {
		int64_t now = now_ms(), timeout = 1000;
		size_t n = 0;
		int rc;

		if (deadline_mono_ns) {
			int64_t left = deadline_mono_ns / 1000000 - now;
			if (left <= 0)
				break;
			if (left < timeout)
				timeout = left;
		}
		pfd[n].fd = s->lfd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = s->wake[0];
		pfd[n++].events = POLLIN;
		for (size_t i = 0; i < s->nparked; i++) {
			int64_t left = s->parked[i].deadline_ms - now;
			if (left < timeout)
				timeout = left < 0 ? 0 : left;
			pfd[n].fd = s->parked[i].fd;
			pfd[n++].events = POLLIN;
		}
		rc = poll(pfd, n, (int)timeout);
		if (rc < 0 && errno != EINTR)
			break;
		now = now_ms();
		/* parked connections first: pfd[2 + i] matches parked[i] as built */
		{
			size_t keep = 0;
			for (size_t i = 0; i < s->nparked; i++) {
				short re = rc > 0 ? pfd[2 + i].revents : 0;
				if (re & (POLLIN | POLLHUP | POLLERR))
					enqueue(s,
					        s->parked[i]
					                .fd); /* a new request, or EOF to notice */
				else if (s->parked[i].deadline_ms <= now)
					close(s->parked[i].fd); /* idle too long */
				else
					s->parked[keep++] = s->parked[i];
			}
			s->nparked = keep;
		}
		if (rc > 0 && (pfd[1].revents & POLLIN))
			drain_wake_pipe(s);
		take_pending(s);
		if (rc > 0 && (pfd[0].revents & POLLIN))
			accept_all(s);
	}
	free(pfd);

	/* drain: stop being ready, stop accepting, let the workers finish what
	 * they hold and what is queued (answered with Connection: close) */
	atomic_store(&s->draining, true);
	atomic_store(&s->running, false);
	close(s->lfd);
	s->lfd = -1;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i].thread, NULL);
	s->nworkers = 0;
	take_pending(s); /* parked by workers before they saw stopping */
	for (size_t i = 0; i < s->nparked; i++)
		close(s->parked[i].fd);
	s->nparked = 0;
	atomic_store(&s->parked_count, 0);
}

void demo_server_stats_get(demo_server *s, demo_server_stats *out)
{
	int64_t now = now_ms();

	memset(out, 0, sizeof(*out));
	out->workers = s->cfg.threads;
	for (int i = 0; i < s->cfg.threads && s->workers; i++) {
		int64_t since = atomic_load(&s->workers[i].busy_since_ms);
		if (since) {
			out->busy++;
			if (now - since > out->longest_busy_ms)
				out->longest_busy_ms = now - since;
		}
	}
	pthread_mutex_lock(&s->mu);
	out->queued = s->qlen;
	pthread_mutex_unlock(&s->mu);
	out->queue_cap = QUEUE_CAP;
	out->parked = atomic_load(&s->parked_count);
	out->rejected = atomic_load(&s->rejected);
	out->running = atomic_load(&s->running);
	out->draining = atomic_load(&s->draining);
}

void demo_server_free(demo_server *s)
{
	if (!s)
		return;
	if (s->nworkers) { /* run() never ran: stop the workers here */
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (int i = 0; s->workers && i < s->cfg.threads; i++) {
		if (s->workers[i].started && s->nworkers)
			pthread_join(s->workers[i].thread, NULL);
		demo_app_worker_free(s->workers[i].ctx);
		free(s->workers[i].buf);
	}
	for (size_t i = 0; i < s->qlen; i++)
		close(s->queue[(s->qhead + i) % QUEUE_CAP]);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	free(s->workers);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
