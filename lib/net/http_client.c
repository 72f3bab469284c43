/* lib/net/http_client.c - the HTTP/1.1 client: one keep-alive TCP
 * connection to one host:port, non-blocking sockets, and every wait a
 * poll() against a monotonic deadline, so no call blocks past its timeout
 * (name resolution aside: getaddrinfo has no timeout, see http.h).
 *
 * No lock: a client belongs to one thread at a time (the exporter's).
 * Fork: the connection remembers the pid that opened it; a child sees
 * another pid and drops its copy of the socket (closing a duplicated
 * descriptor sends nothing to the server while the parent holds it). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "net/http.h"

#define RECV_CHUNK 16384
#define DEFAULT_TIMEOUT_MS 10000

struct sonde__http_client {
	char *host; /* without brackets */
	size_t host_len;
	uint16_t port;
	bool host_is_v6; /* contains ':' : an IPv6 literal, bracketed in Host */
	sonde__http_options opt;
	int fd;
	pid_t pid; /* the process that opened fd */
	uint64_t connects;
	sonde_buf head; /* the request line and headers, reused */
	char rbuf[RECV_CHUNK];
};

sonde__http_client *sonde__http_client_new(const char *host, uint16_t port,
                                           const sonde__http_options *o)
{
	sonde__http_client *c;
	size_t n;

	if (!host || !*host)
		return sonde__fail(SONDE_EINVAL, "http client: host is NULL or empty"), NULL;
	if (port == 0)
		return sonde__fail(SONDE_EINVAL, "http client: port 0"), NULL;
	if (o && (o->connect_timeout_ms < 0 || o->send_timeout_ms < 0 || o->recv_timeout_ms < 0))
		return sonde__fail(SONDE_EINVAL, "http client: negative timeout"), NULL;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n > 255 || memchr(host, '[', n) || memchr(host, ']', n) ||
	    memchr(host, '/', n) || memchr(host, ' ', n))
		return sonde__fail(SONDE_EINVAL, "http client: invalid host \"%s\"", host), NULL;
	c = sonde__calloc(1, sizeof(*c));
	if (!c)
		return sonde__fail(SONDE_ENOMEM, "http client: out of memory"), NULL;
	c->host = sonde__strndup(host, n);
	if (!c->host) {
		sonde__free(c, sizeof(*c));
		return sonde__fail(SONDE_ENOMEM, "http client: out of memory"), NULL;
	}
	c->host_len = n;
	c->host_is_v6 = memchr(host, ':', n) != NULL;
	c->port = port;
	if (o)
		c->opt = *o;
	if (!c->opt.connect_timeout_ms)
		c->opt.connect_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!c->opt.send_timeout_ms)
		c->opt.send_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!c->opt.recv_timeout_ms)
		c->opt.recv_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->fd = -1;
	return c;
}

void sonde__http_client_set_timeouts(sonde__http_client *c, int connect_ms, int send_ms,
                                     int recv_ms)
{
	if (!c)
		return;
	c->opt.connect_timeout_ms = connect_ms > 0 ? connect_ms : DEFAULT_TIMEOUT_MS;
	c->opt.send_timeout_ms = send_ms > 0 ? send_ms : DEFAULT_TIMEOUT_MS;
	c->opt.recv_timeout_ms = recv_ms > 0 ? recv_ms : DEFAULT_TIMEOUT_MS;
}

void sonde__http_client_close(sonde__http_client *c)
{
	if (c && c->fd >= 0) {
		int saved = errno;
		close(c->fd);
		errno = saved;
		c->fd = -1;
	}
}

void sonde__http_client_free(sonde__http_client *c)
{
	if (!c)
		return;
	sonde__http_client_close(c);
	sonde_buf_destroy(&c->head);
	sonde__free(c->host, c->host_len + 1);
	sonde__free(c, sizeof(*c));
}

uint64_t sonde__http_client_connects(const sonde__http_client *c)
{
	return c ? c->connects : 0;
}

/* ---- waiting -------------------------------------------------------------------- */

static int64_t deadline_in(int ms)
{
	return sonde_now_mono_ns() + (int64_t)ms * 1000000;
}

/* Waits until fd is ready for events or the deadline passes. Returns 1
 * when ready (or in error: the next call says which), 0 on timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - sonde_now_mono_ns();
		struct pollfd pfd = {fd, events, 0};
		int ms, rc;
		if (left <= 0)
			return 0;
		/* rounded up: poll never returns before the deadline, so a
		 * timeout is never reported early */
		ms = left > (int64_t)INT32_MAX * 1000000 ? INT32_MAX
		                                         : (int)((left + 999999) / 1000000);
		rc = poll(&pfd, 1, ms);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return 1; /* let the socket call report it */
	}
}

/* ---- connecting ------------------------------------------------------------------- */

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out)
{
	int fd, err = 0, one = 1;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			close(fd);
			return err;
		}
		if (!wait_fd(fd, POLLOUT, deadline)) {
			close(fd);
			return ETIMEDOUT;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err) {
			close(fd);
			return err;
		}
	}
	/* requests are written whole and answered at once: no Nagle delay
	 * (a failure only costs latency) */
	sonde__ignore(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	*fd_out = fd;
	return 0;
}

static int do_connect(sonde__http_client *c)
{
	struct addrinfo hints, *list = NULL, *ai;
	char port[8];
	int64_t deadline = deadline_in(c->opt.connect_timeout_ms);
	int rc, err = 0, fd = -1, saved = errno;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)c->port);
	rc = getaddrinfo(c->host, port, &hints, &list);
	if (rc != 0) {
		errno = saved;
		if (rc == EAI_MEMORY)
			return sonde__fail(SONDE_ENOMEM, "http client: resolving %s: out of memory",
			                   c->host);
		return sonde__fail(SONDE_EIO, "http client: resolving %s: %s", c->host,
		                   gai_strerror(rc));
	}
	/* every address in the resolver's order, within one deadline */
	for (ai = list; ai; ai = ai->ai_next) {
		err = connect_one(ai, deadline, &fd);
		if (!err || err == ETIMEDOUT)
			break;
	}
	freeaddrinfo(list);
	errno = saved;
	if (err == ETIMEDOUT)
		return sonde__fail(SONDE_ETIMEDOUT, "http client: connect to %s port %u: timed out",
		                   c->host, (unsigned)c->port);
	if (err || fd < 0)
		return sonde__fail(SONDE_EIO, "http client: connect to %s port %u: %s", c->host,
		                   (unsigned)c->port, err ? strerror(err) : "no address");
	c->fd = fd;
	c->pid = getpid();
	c->connects++;
	return SONDE_OK;
}

/* True when the idle connection is still usable: not inherited through
 * fork, and nothing to read (a readable idle socket is a close or junk). */
static bool idle_usable(sonde__http_client *c)
{
	struct pollfd pfd;

	if (c->fd < 0)
		return false;
	if (c->pid != getpid()) {
		/* the child's copy of the parent's socket */
		sonde__http_client_close(c);
		return false;
	}
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0) {
		sonde__http_client_close(c);
		return false;
	}
	return true;
}

/* ---- the request --------------------------------------------------------------------- */

int sonde__http_check_headers(const char *what, const sonde_header *h, size_t nh)
{
	size_t i, j;

	if (nh && !h)
		return sonde__fail(SONDE_EINVAL, "%s: headers NULL with a count", what);
	for (i = 0; i < nh; i++) {
		if (!sonde__http_is_token(h[i].name, h[i].name_len))
			return sonde__fail(SONDE_EINVAL, "%s: header %zu: invalid name", what, i);
		if (sonde__ascii_ieq(h[i].name, h[i].name_len, "host") ||
		    sonde__ascii_ieq(h[i].name, h[i].name_len, "content-length") ||
		    sonde__ascii_ieq(h[i].name, h[i].name_len, "transfer-encoding"))
			return sonde__fail(SONDE_EINVAL,
			                   "%s: header %zu: %.*s is the client's to write", what, i,
			                   (int)h[i].name_len, h[i].name);
		if (h[i].value_len && !h[i].value)
			return sonde__fail(SONDE_EINVAL, "%s: header %zu: NULL value", what, i);
		for (j = 0; j < h[i].value_len; j++)
			if (h[i].value[j] == '\r' || h[i].value[j] == '\n' || h[i].value[j] == '\0')
				return sonde__fail(SONDE_EINVAL,
				                   "%s: header %zu: CR, LF or NUL in the value",
				                   what, i);
	}
	return SONDE_OK;
}

static int build_head(sonde__http_client *c, const char *method, const char *path,
                      const sonde_header *h, size_t nh, size_t body_len, bool has_body)
{
	sonde_buf *b = &c->head;
	char num[24];
	size_t i;
	int rc;

	if (!sonde__http_is_token(method, method ? strlen(method) : 0))
		return sonde__fail(SONDE_EINVAL, "http request: method is not a token");
	if (!path || path[0] != '/')
		return sonde__fail(SONDE_EINVAL, "http request: path must start with '/'");
	for (i = 0; path[i]; i++)
		if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f)
			return sonde__fail(SONDE_EINVAL,
			                   "http request: space or control character in the path");
	if ((rc = sonde__http_check_headers("http request", h, nh)) != SONDE_OK)
		return rc;
	sonde_buf_reset(b);
	sonde__buf_puts(b, method);
	sonde__buf_putc(b, ' ');
	sonde__buf_puts(b, path);
	sonde__buf_puts(b, " HTTP/1.1\r\nHost: ");
	if (c->host_is_v6)
		sonde__buf_putc(b, '[');
	sonde__buf_put(b, c->host, c->host_len);
	if (c->host_is_v6)
		sonde__buf_putc(b, ']');
	sonde__buf_putc(b, ':');
	sonde__buf_put(b, num, sonde__fmt_u64(num, c->port));
	sonde__buf_puts(b, "\r\n");
	if (has_body) {
		sonde__buf_puts(b, "Content-Length: ");
		sonde__buf_put(b, num, sonde__fmt_u64(num, body_len));
		sonde__buf_puts(b, "\r\n");
	}
	for (i = 0; i < nh; i++) {
		sonde__buf_put(b, h[i].name, h[i].name_len);
		sonde__buf_puts(b, ": ");
		sonde__buf_put(b, h[i].value, h[i].value_len);
		sonde__buf_puts(b, "\r\n");
	}
	sonde__buf_puts(b, "\r\n");
	if (b->oom) {
		/* the buffer may keep a smaller block; it stays consistent */
		b->oom = 0;
		b->len = 0;
		return sonde__fail(SONDE_ENOMEM, "http request: out of memory for the request");
	}
	return SONDE_OK;
}

/* Sends head then body; *sent says whether any byte left. */
static int send_all(sonde__http_client *c, const void *body, size_t body_len, int64_t deadline)
{
	size_t off = 0, total = c->head.len + body_len;

	while (off < total) {
		struct iovec iov[2];
		struct msghdr msg;
		ssize_t n;
		int niov = 0;
		if (off < c->head.len) {
			iov[niov].iov_base = c->head.data + off;
			iov[niov++].iov_len = c->head.len - off;
			if (body_len) {
				iov[niov].iov_base = (void *)(uintptr_t)body;
				iov[niov++].iov_len = body_len;
			}
		} else {
			iov[niov].iov_base = (char *)(uintptr_t)body + (off - c->head.len);
			iov[niov++].iov_len = total - off;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)niov;
		/* MSG_NOSIGNAL: a peer that closed gives EPIPE, not SIGPIPE */
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!wait_fd(c->fd, POLLOUT, deadline))
				return sonde__fail(SONDE_ETIMEDOUT,
				                   "http client: sending to %s port %u: timed out",
				                   c->host, (unsigned)c->port);
			continue;
		}
		return sonde__fail(SONDE_EIO, "http client: sending to %s port %u: %s", c->host,
		                   (unsigned)c->port, n < 0 ? strerror(errno) : "nothing sent");
	}
	return SONDE_OK;
}

/* Reads and parses until the response is complete. */
static int receive(sonde__http_client *c, sonde__http_parser *p, int64_t deadline, bool *leftover)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
		size_t used;
		int rc;
		if (n > 0) {
			rc = sonde__http_parse(p, c->rbuf, (size_t)n, &used);
			if (rc == SONDE__HTTP_MORE)
				continue;
			if (rc == SONDE_OK && used < (size_t)n)
				*leftover = true;
			return rc;
		}
		if (n == 0)
			return sonde__http_parse_eof(p);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (!wait_fd(c->fd, POLLIN, deadline))
				return sonde__fail(SONDE_ETIMEDOUT,
				                   "http client: waiting for %s port %u: timed out",
				                   c->host, (unsigned)c->port);
			continue;
		}
		return sonde__fail(SONDE_EIO, "http client: receiving from %s port %u: %s", c->host,
		                   (unsigned)c->port, strerror(errno));
	}
}

int sonde__http_request(sonde__http_client *c, const char *method, const char *path,
                        const sonde_header *headers, size_t nheaders, const void *body,
                        size_t body_len, sonde__http_response *res)
{
	sonde__http_parser *p;
	bool has_body, head;
	int rc, attempt, saved = errno;

	if (!c || !res)
		return sonde__fail(SONDE_EINVAL, "http request: NULL client or response");
	if (body_len && !body)
		return sonde__fail(SONDE_EINVAL, "http request: NULL body with a length");
	head = method && strcmp(method, "HEAD") == 0;
	has_body = body_len || !method || (strcmp(method, "GET") && !head);
	rc = build_head(c, method, path, headers, nheaders, body_len, has_body);
	if (rc)
		return rc;
	/* the parser carries an 8 KiB line buffer: on the heap, not the
	 * exporter thread's stack */
	p = sonde__malloc(sizeof(*p));
	if (!p)
		return sonde__fail(SONDE_ENOMEM, "http request: out of memory");
	for (attempt = 0; attempt < 2; attempt++) {
		bool reused = idle_usable(c), leftover = false, got_bytes = false;
		if (!reused) {
			rc = do_connect(c);
			if (rc)
				break;
		}
		rc = send_all(c, body, body_len, deadline_in(c->opt.send_timeout_ms));
		if (rc == SONDE_OK) {
			sonde__http_parser_init(p, res, head, sonde_now_unix_ns() / 1000000000,
			                        c->opt.max_header_bytes, c->opt.max_body_bytes);
			rc = receive(c, p, deadline_in(c->opt.recv_timeout_ms), &leftover);
			got_bytes = p->any;
		}
		if (rc == SONDE_OK) {
			/* bytes past the response were not asked for: the stream
			 * is out of step, never reuse it */
			if (!res->keep_alive || leftover)
				sonde__http_client_close(c);
			break;
		}
		sonde__http_client_close(c);
		/* a kept-alive connection the server closed while we were
		 * sending: nothing came back, try once on a new connection */
		if (!reused || rc != SONDE_EIO || got_bytes)
			break;
	}
	sonde__free(p, sizeof(*p));
	errno = saved;
	return rc;
}
