/*
 * lib/instrument/exporter.c - sonde_exporter: the embedded /metrics server
 * (include/sonde/exporter.h).
 *
 * One thread, one poll() over a wake pipe, the listener and the connection
 * slots. A slot reads the request head into its fixed buffer, then writes
 * the response (a head built in the slot plus a body in the slot's own
 * sonde_buf) with sendmsg() until done, then closes. Every slot has one
 * deadline: the head's, then the response's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sonde.h"
#include "sonde/exporter.h"
#include "core/sonde-int.h"
#include "net/http.h"

#define HEAD_MAX 512 /* the response head */
#define PATH_MAX_BYTES 255

typedef struct slot {
	int fd;              /* -1: free */
	bool writing;        /* the request was read; the response is going out */
	int64_t deadline_ms; /* monotonic */
	size_t have;         /* request bytes read */
	char *req;           /* max_request_bytes + 1 */
	char head[HEAD_MAX];
	size_t head_len;
	sonde_buf body;  /* reused: grows to the exposition's size once */
	size_t body_len; /* bytes of body to send (0 for HEAD) */
	size_t sent;     /* of head + body */
} slot;

struct sonde_exporter {
	sonde_exporter_opts o;
	char metrics_path[PATH_MAX_BYTES + 1];
	int listen_fd;
	int wake[2];
	uint16_t port;
	pid_t pid; /* the process that runs the thread */
	pthread_t thread;
	slot *slots;
	struct pollfd *pfd; /* 2 + max_connections */
};

void sonde_exporter_opts_init(sonde_exporter_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
}

static int64_t now_ms(void)
{
	return sonde_now_mono_ns() / 1000000;
}

/* ---- the request ------------------------------------------------------------------------- */

static bool is_tchar(char c)
{
	return sonde__http_is_token(&c, 1);
}

/* The value of header name (lower case) in the head's header lines
 * [lines, end), trimmed and NUL-terminated in place (the line's CR or a
 * space becomes the NUL; the LF stays, so lines are still found by it);
 * NULL when absent. The lines were checked by parse_head. */
static const char *header_value(char *lines, char *end, const char *name)
{
	for (char *p = lines; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *eol, *colon, *v;
		if (!nl)
			break;
		eol = nl - 1; /* the CR, or the NUL of an earlier lookup */
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && sonde__ascii_ieq(p, (size_t)(colon - p), name)) {
			v = colon + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
				eol--;
			*eol = '\0';
			return v;
		}
		p = nl + 1;
	}
	return NULL;
}

typedef struct request {
	bool head_only;
	char *path; /* NUL-terminated, without the query */
	char *lines, *lines_end;
} request;

/* Checks the head (request line and header lines, CRLF each, ending in an
 * empty line at req[len - 4 .. len)) and fills rq. Returns 0 or the error
 * status to answer. */
static int parse_head(char *req, size_t len, request *rq)
{
	char *end = req + len - 2; /* the final CRLF */
	char *sp1, *sp2, *eol = memchr(req, '\r', len), *p;
	size_t mlen;

	if (!eol || eol[1] != '\n')
		return 400;
	sp1 = memchr(req, ' ', (size_t)(eol - req));
	if (!sp1)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return 400;
	mlen = (size_t)(sp1 - req);
	if (!sonde__http_is_token(req, mlen))
		return 400;
	if ((size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return memcmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	if (sp2[8] != '0' && sp2[8] != '1')
		return 505;
	if (sp1[1] != '/')
		return 400;
	for (p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 400;
	/* header lines: name ':' value CRLF; no obs-fold, no control bytes */
	for (p = eol + 2; p < end;) {
		char *l_end = memchr(p, '\r', (size_t)(end - p)), *q;
		if (!l_end || l_end[1] != '\n' || l_end == p)
			return 400;
		q = p;
		while (q < l_end && *q != ':') {
			if (!is_tchar(*q))
				return 400;
			q++;
		}
		if (q == p || q == l_end)
			return 400;
		for (q++; q < l_end; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return 400;
		p = l_end + 2;
	}
	rq->lines = eol + 2;
	rq->lines_end = end;
	/* no request bodies: a GET or HEAD has none */
	{
		const char *cl = header_value(rq->lines, rq->lines_end, "content-length");
		if ((cl && strcmp(cl, "0") != 0) ||
		    header_value(rq->lines, rq->lines_end, "transfer-encoding"))
			return 400;
	}
	*sp2 = '\0';
	p = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	if (p)
		*p = '\0';
	rq->path = sp1 + 1;
	rq->head_only = mlen == 4 && memcmp(req, "HEAD", 4) == 0;
	if (!rq->head_only && !(mlen == 3 && memcmp(req, "GET", 3) == 0))
		return 405;
	return 0;
}

/* ---- the response ------------------------------------------------------------------------ */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

/* Sets the slot's head and body length; the body is already in s->body
 * (body_len bytes) or is the status's reason line. */
static void respond(slot *s, int status, const char *ctype, const char *encoding, bool head_only)
{
	int n;

	if (ctype == NULL) { /* an error: its reason as the body */
		sonde_buf_reset(&s->body);
		sonde__buf_puts(&s->body, reason(status));
		sonde__buf_putc(&s->body, '\n');
		ctype = "text/plain; charset=utf-8";
	}
	n = snprintf(s->head, sizeof(s->head),
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s"
	             "Connection: close\r\n\r\n",
	             status, reason(status), ctype, s->body.oom ? (size_t)0 : s->body.len,
	             encoding ? "Content-Encoding: " : "", encoding ? encoding : "",
	             encoding ? "\r\n" : "",
	             status == 405 ? "Allow: GET, HEAD\r\n" : "Vary: Accept, Accept-Encoding\r\n");
	s->head_len = n > 0 && (size_t)n < sizeof(s->head) ? (size_t)n : 0;
	s->body_len = head_only || s->body.oom ? 0 : s->body.len;
	s->sent = 0;
	s->writing = true;
}

static void serve(sonde_exporter *e, slot *s)
{
	request rq;
	int st = parse_head(s->req, s->have, &rq);
	sonde_health_probe probe = SONDE_HEALTH_LIVENESS;

	if (st) {
		respond(s, st, NULL, NULL, false);
		return;
	}
	if (strcmp(rq.path, e->metrics_path) == 0) {
		sonde_expose_result res;
		const char *accept = header_value(rq.lines, rq.lines_end, "accept");
		const char *enc = header_value(rq.lines, rq.lines_end, "accept-encoding");
		if (sonde_expose_http(e->o.registry, accept, enc, &s->body, &res) != SONDE_OK) {
			respond(s, 500, NULL, NULL, rq.head_only);
			return;
		}
		respond(s, 200, res.content_type, res.content_encoding, rq.head_only);
		return;
	}
	if (!e->o.health)
		st = 404;
	else if (strcmp(rq.path, "/healthz") == 0)
		probe = SONDE_HEALTH_LIVENESS;
	else if (strcmp(rq.path, "/readyz") == 0)
		probe = SONDE_HEALTH_READINESS;
	else if (strcmp(rq.path, "/startupz") == 0)
		probe = SONDE_HEALTH_STARTUP;
	else
		st = 404;
	if (st) {
		respond(s, st, NULL, NULL, rq.head_only);
		return;
	}
	st = sonde_health_evaluate(e->o.health, probe, &s->body, NULL);
	if (st < 0) {
		respond(s, 500, NULL, NULL, rq.head_only);
		return;
	}
	respond(s, st, "application/json", NULL, rq.head_only);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void slot_close(slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->writing = false;
	s->have = 0;
}

/* Reads what arrived; serves once the head is complete. */
static void slot_read(sonde_exporter *e, slot *s)
{
	size_t cap = e->o.max_request_bytes;

	for (;;) {
		ssize_t n = recv(s->fd, s->req + s->have, cap - s->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* closed or reset before a whole head */
			slot_close(s);
			return;
		}
		s->have += (size_t)n;
		s->req[s->have] = '\0';
		{
			/* the head ends at the first empty line */
			size_t from = s->have > (size_t)n + 3 ? s->have - (size_t)n - 3 : 0;
			char *end = strstr(s->req + from, "\r\n\r\n");
			if (end) {
				s->have = (size_t)(end - s->req) + 4;
				s->deadline_ms = now_ms() + e->o.write_timeout_ms;
				serve(e, s);
				return;
			}
		}
		if (s->have == cap) {
			s->deadline_ms = now_ms() + e->o.write_timeout_ms;
			respond(s, 431, NULL, NULL, false);
			return;
		}
	}
}

static void slot_write(slot *s)
{
	while (s->sent < s->head_len + s->body_len) {
		struct iovec iov[2];
		struct msghdr m;
		int k = 0;
		ssize_t n;

		if (s->sent < s->head_len) {
			iov[k].iov_base = s->head + s->sent;
			iov[k++].iov_len = s->head_len - s->sent;
		}
		if (s->body_len) {
			size_t off = s->sent > s->head_len ? s->sent - s->head_len : 0;
			iov[k].iov_base = s->body.data + off;
			iov[k++].iov_len = s->body_len - off;
		}
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)k;
		n = sendmsg(s->fd, &m, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		s->sent += (size_t)n;
	}
	/* all sent, or the peer went away: half-close so the client sees the
	 * end, then close */
	shutdown(s->fd, SHUT_WR);
	slot_close(s);
}

static void accept_all(sonde_exporter *e)
{
	for (;;) {
		int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		slot *free_slot = NULL;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of descriptors: try at the next wake */
		}
		for (uint32_t i = 0; i < e->o.max_connections && !free_slot; i++)
			if (e->slots[i].fd < 0)
				free_slot = &e->slots[i];
		if (!free_slot) { /* every slot busy: no room for this client */
			close(fd);
			continue;
		}
		free_slot->fd = fd;
		free_slot->have = 0;
		free_slot->writing = false;
		free_slot->deadline_ms = now_ms() + e->o.request_timeout_ms;
	}
}

static void *exporter_thread(void *arg)
{
	sonde_exporter *e = arg;
	uint32_t nmax = e->o.max_connections;

	sonde__name_thread("sonde-http");
	for (;;) {
		int64_t now = now_ms(), wait = -1;
		nfds_t n = 2;
		int rc;

		e->pfd[0] = (struct pollfd){e->wake[0], POLLIN, 0};
		e->pfd[1] = (struct pollfd){e->listen_fd, POLLIN, 0};
		for (uint32_t i = 0; i < nmax; i++) {
			slot *s = &e->slots[i];
			e->pfd[2 + i] = (struct pollfd){-1, 0, 0};
			if (s->fd < 0)
				continue;
			if (s->deadline_ms <= now) { /* too slow: the head or the reader */
				if (!s->writing && s->have > 0) {
					respond(s, 408, NULL, NULL, false);
					s->deadline_ms =
					        now + 1000; /* one more second to take it */
					slot_write(s);
				} else
					slot_close(s);
				if (s->fd < 0)
					continue;
			}
			e->pfd[2 + i] =
			        (struct pollfd){s->fd, (short)(s->writing ? POLLOUT : POLLIN), 0};
			if (wait < 0 || s->deadline_ms - now < wait)
				wait = s->deadline_ms - now;
			n = 2 + i + 1;
		}
		rc = poll(e->pfd, n, (int)(wait < 0 ? -1 : wait > 60000 ? 60000 : wait));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (e->pfd[0].revents)
			break; /* sonde_exporter_stop */
		if (e->pfd[1].revents & POLLIN)
			accept_all(e);
		for (uint32_t i = 0; i + 2 < n; i++) {
			slot *s = &e->slots[i];
			short ev = e->pfd[2 + i].revents;
			if (s->fd < 0 || e->pfd[2 + i].fd != s->fd || !ev)
				continue;
			if (s->writing)
				slot_write(s);
			else if (ev & (POLLIN | POLLHUP | POLLERR))
				slot_read(e, s);
		}
	}
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------------------- */

static void exporter_free(sonde_exporter *e)
{
	uint32_t n = e->o.max_connections;

	if (e->slots) {
		for (uint32_t i = 0; i < n; i++) {
			slot_close(&e->slots[i]);
			sonde__free(e->slots[i].req, (size_t)e->o.max_request_bytes + 1);
			sonde_buf_destroy(&e->slots[i].body);
		}
		sonde__free(e->slots, n * sizeof(*e->slots));
	}
	if (e->pfd)
		sonde__free(e->pfd, (n + 2) * sizeof(*e->pfd));
	if (e->listen_fd >= 0)
		close(e->listen_fd);
	if (e->wake[0] >= 0)
		close(e->wake[0]);
	if (e->wake[1] >= 0)
		close(e->wake[1]);
	sonde__free(e, sizeof(*e));
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" into host (NULL = any) and port. */
static int split_address(const char *a, char *host, size_t cap, char *port, size_t pcap)
{
	const char *colon;
	size_t hl;

	if (a[0] == '[') {
		const char *rb = strchr(a, ']');
		if (!rb || rb[1] != ':')
			return SONDE_EINVAL;
		hl = (size_t)(rb - a - 1);
		colon = rb + 1;
		a++;
	} else {
		colon = strrchr(a, ':');
		if (!colon)
			return SONDE_EINVAL;
		hl = (size_t)(colon - a);
		if (memchr(a, ':', hl))
			return SONDE_EINVAL; /* an IPv6 address needs brackets */
	}
	if (hl >= cap || strlen(colon + 1) >= pcap || !colon[1])
		return SONDE_EINVAL;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return SONDE_EINVAL;
	memcpy(host, a, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	return atoi(port) > 65535 ? SONDE_EINVAL : SONDE_OK;
}

static int listen_on(sonde_exporter *e, const char *address)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[8];
	int rc, err = 0;

	if (split_address(address, host, sizeof(host), port, sizeof(port)) != SONDE_OK)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_exporter_start: address \"%.64s\" is not HOST:PORT, "
		                   "[IPV6]:PORT or :PORT",
		                   address);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0)
		return sonde__fail(SONDE_EIO, "sonde_exporter_start: resolving \"%.64s\": %s", host,
		                   gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1,
		    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			e->listen_fd = fd;
			if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
				e->port = ntohs(ss.ss_family == AF_INET6
				                        ? ((struct sockaddr_in6 *)&ss)->sin6_port
				                        : ((struct sockaddr_in *)&ss)->sin_port);
			break;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (e->listen_fd < 0)
		return sonde__fail(SONDE_EIO, "sonde_exporter_start: listening on %.64s: %s",
		                   address, strerror(err));
	return SONDE_OK;
}

sonde_exporter *sonde_exporter_start(const sonde_exporter_opts *opts)
{
	sonde_exporter *e;
	sonde_exporter_opts o;
	const char *mp;
	int rc;

	if (sonde__opts_copy(&o, sizeof(o), opts, SONDE__V1_SIZE(sonde_exporter_opts, metrics_path),
	                     "sonde_exporter_start") != SONDE_OK)
		return NULL;
	if (!o.max_connections)
		o.max_connections = 64;
	if (!o.max_request_bytes)
		o.max_request_bytes = 8192;
	if (!o.request_timeout_ms)
		o.request_timeout_ms = 5000;
	if (!o.write_timeout_ms)
		o.write_timeout_ms = 10000;
	mp = o.metrics_path ? o.metrics_path : "/metrics";
	if (o.max_connections > SONDE_EXPORTER_MAX_CONNECTIONS || o.max_request_bytes < 256 ||
	    o.max_request_bytes > 65536 || o.request_timeout_ms > 600000 ||
	    o.write_timeout_ms > 600000) {
		sonde__fail(SONDE_EINVAL,
		            "sonde_exporter_start: a limit is out of range (max_connections %u, "
		            "max_request_bytes %u, request_timeout_ms %u, write_timeout_ms %u)",
		            o.max_connections, o.max_request_bytes, o.request_timeout_ms,
		            o.write_timeout_ms);
		return NULL;
	}
	if (mp[0] != '/' || strlen(mp) > PATH_MAX_BYTES || strchr(mp, '?') ||
	    strcmp(mp, "/healthz") == 0 || strcmp(mp, "/readyz") == 0 ||
	    strcmp(mp, "/startupz") == 0) {
		sonde__fail(
		        SONDE_EINVAL,
		        "sonde_exporter_start: metrics_path \"%.64s\" must start with '/', have "
		        "no '?', be at most %d bytes and not be a probe's path",
		        mp, PATH_MAX_BYTES);
		return NULL;
	}
	e = sonde__calloc(1, sizeof(*e));
	if (!e) {
		sonde__fail(SONDE_ENOMEM, "sonde_exporter_start: out of memory");
		return NULL;
	}
	e->o = o;
	e->listen_fd = e->wake[0] = e->wake[1] = -1;
	memcpy(e->metrics_path, mp, strlen(mp) + 1);
	e->slots = sonde__calloc(o.max_connections, sizeof(*e->slots));
	e->pfd = sonde__calloc((size_t)o.max_connections + 2, sizeof(*e->pfd));
	if (!e->slots || !e->pfd)
		goto oom;
	for (uint32_t i = 0; i < o.max_connections; i++) {
		e->slots[i].fd = -1;
		e->slots[i].req = sonde__malloc((size_t)o.max_request_bytes + 1);
		if (!e->slots[i].req)
			goto oom;
	}
	if (pipe2(e->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		sonde__fail(SONDE_EIO, "sonde_exporter_start: pipe: %s", strerror(errno));
		goto fail;
	}
	if (listen_on(e, o.address ? o.address : ":9464") != SONDE_OK)
		goto fail;
	e->pid = getpid();
	rc = pthread_create(&e->thread, NULL, exporter_thread, e);
	if (rc != 0) {
		sonde__fail(rc == EAGAIN ? SONDE_ENOMEM : SONDE_EIO,
		            "sonde_exporter_start: starting the thread: %s", strerror(rc));
		goto fail;
	}
	return e;
oom:
	sonde__fail(SONDE_ENOMEM, "sonde_exporter_start: out of memory for %u connection slots",
	            o.max_connections);
fail:
	exporter_free(e);
	return NULL;
}

uint16_t sonde_exporter_port(const sonde_exporter *e)
{
	return e ? e->port : 0;
}

int sonde_exporter_stop(sonde_exporter *e)
{
	if (!e)
		return SONDE_OK;
	if (getpid() == e->pid) {
		char b = 1;
		while (write(e->wake[1], &b, 1) < 0 && errno == EINTR)
			;
		pthread_join(e->thread, NULL);
	}
	exporter_free(e);
	return SONDE_OK;
}
