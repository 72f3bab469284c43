/*
 * examples/service/http.c - request parser, response writer and a small
 * client (see http.h). Grammar references are RFC 9112 (message syntax)
 * and RFC 9110 (semantics).
 */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- character classes ----------------------------------------------------------- */

/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-value characters: VCHAR, obs-text, SP and HTAB */
static bool is_vchar_or_ws(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static void trim_ows(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* ---- request parser ---------------------------------------------------------------- */

/* The next line of buf starting at *pos: sets *line and *line_len (without
 * CRLF or LF) and advances *pos past the line end. false when no LF has
 * arrived yet. A CR anywhere but right before the LF makes the line bad
 * (*bad set). */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *line_len,
                      bool *bad)
{
	const char *start = buf + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - start);
	if (n && start[n - 1] == '\r')
		n--;
	if (memchr(start, '\r', n))
		*bad = true;
	*line = start;
	*line_len = n;
	*pos += (size_t)(nl - start) + 1;
	return true;
}

static int parse_request_line(const char *s, size_t n, http_request *req)
{
	size_t i = 0, start;

	/* method = token */
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ' ')
		return HTTP_EBAD;
	req->method = s;
	req->method_len = i;
	/* request-target: origin-form only (the demo is no proxy) */
	start = ++i;
	if (i >= n || s[i] != '/')
		return HTTP_EBAD;
	while (i < n && s[i] != ' ') {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f)
			return HTTP_EBAD;
		i++;
	}
	if (i >= n)
		return HTTP_EBAD;
	req->path = s + start;
	req->path_len = i - start;
	req->query = memchr(req->path, '?', req->path_len);
	if (req->query) {
		req->query_len = req->path_len - (size_t)(req->query - req->path) - 1;
		req->path_len = (size_t)(req->query - req->path);
		req->query++;
	} else {
		req->query_len = 0;
	}
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, nothing after it */
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || s[i + 6] != '.' || s[i + 5] < '0' ||
	    s[i + 5] > '9' || s[i + 7] < '0' || s[i + 7] > '9')
		return HTTP_EBAD;
	if (s[i + 5] != '1' || (s[i + 7] != '0' && s[i + 7] != '1'))
		return HTTP_EVERSION;
	req->minor_version = s[i + 7] - '0';
	return 0;
}

int http_parse_request(const char *buf, size_t len, http_request *req)
{
	size_t pos = 0, n;
	const char *line;
	bool bad = false;
	int rc;

	req->nheaders = 0;
	/* RFC 9112 2.2: ignore empty lines received before the request line */
	for (;;) {
		if (!next_line(buf, len, &pos, &line, &n, &bad))
			return HTTP_INCOMPLETE;
		if (bad)
			return HTTP_EBAD;
		if (n)
			break;
		if (pos > 8) /* a client that only sends empty lines is not one */
			return HTTP_EBAD;
	}
	rc = parse_request_line(line, n, req);
	if (rc)
		return rc;
	for (;;) {
		const char *colon, *v;
		size_t vlen;

		if (!next_line(buf, len, &pos, &line, &n, &bad))
			return HTTP_INCOMPLETE;
		if (bad)
			return HTTP_EBAD;
		if (n == 0)
			return (int)pos;
		if (line[0] == ' ' || line[0] == '\t')
			return HTTP_EBAD; /* obs-fold: RFC 9112 5.2 lets us reject it */
		colon = memchr(line, ':', n);
		if (!colon || colon == line)
			return HTTP_EBAD;
		for (const char *p = line; p < colon; p++)
			if (!is_tchar((unsigned char)*p))
				return HTTP_EBAD; /* includes "name :" (RFC 9112 5.1) */
		v = colon + 1;
		vlen = n - (size_t)(v - line);
		for (size_t i = 0; i < vlen; i++)
			if (!is_vchar_or_ws((unsigned char)v[i]))
				return HTTP_EBAD;
		trim_ows(&v, &vlen);
		if (req->nheaders == HTTP_MAX_HEADERS)
			return HTTP_ETOO_MANY;
		req->headers[req->nheaders].name = line;
		req->headers[req->nheaders].name_len = (size_t)(colon - line);
		req->headers[req->nheaders].value = v;
		req->headers[req->nheaders].value_len = vlen;
		req->nheaders++;
	}
}

const sonde_header *http_header_find(const http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (ieq(req->headers[i].name, req->headers[i].name_len, name))
			return &req->headers[i];
	return NULL;
}

size_t http_header_count(const http_request *req, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < req->nheaders; i++)
		n += ieq(req->headers[i].name, req->headers[i].name_len, name);
	return n;
}

bool http_value_has_token(const char *v, size_t len, const char *token)
{
	size_t i = 0;

	while (i <= len) {
		size_t j = i;
		const char *item;
		size_t ilen;

		while (j < len && v[j] != ',')
			j++;
		item = v + i;
		ilen = j - i;
		trim_ows(&item, &ilen);
		if (ieq(item, ilen, token))
			return true;
		i = j + 1;
	}
	return false;
}

void http_value_copy(const sonde_header *h, char *out, size_t cap)
{
	size_t n;

	if (!cap)
		return;
	n = h && h->value ? h->value_len : 0;
	if (n > cap - 1)
		n = cap - 1;
	if (n)
		memcpy(out, h->value, n);
	out[n] = '\0';
}

bool http_query_get(const char *q, size_t qlen, const char *key, const char **val, size_t *val_len)
{
	size_t klen = strlen(key), i = 0;

	while (q && i < qlen) {
		size_t j = i;

		while (j < qlen && q[j] != '&')
			j++;
		if (j - i >= klen && memcmp(q + i, key, klen) == 0 &&
		    (j - i == klen || q[i + klen] == '=')) {
			*val = j - i == klen ? q + j : q + i + klen + 1;
			*val_len = j - i == klen ? 0 : j - i - klen - 1;
			return true;
		}
		i = j + 1;
	}
	return false;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* ---- writing ------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	return sonde_now_mono_ns() / 1000000;
}

/* Sends every byte of the iovecs; partial writes resume where they
 * stopped. MSG_NOSIGNAL: a peer that went away is an error, not SIGPIPE.
 * deadline_ms (CLOCK_MONOTONIC, 0 = none) bounds the whole write: the
 * socket's SO_SNDTIMEO bounds one call, and a reader that drains a byte at
 * a time would otherwise make every call succeed a little. */
static int send_all(int fd, struct iovec *iov, int iovcnt, int64_t deadline_ms)
{
	while (iovcnt > 0) {
		struct msghdr m;
		ssize_t n;

		if (deadline_ms && mono_ms() > deadline_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int http_response_write(int fd, const http_response *res, int timeout_ms)
{
	char head[1024], date[64];
	struct iovec iov[2];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	/* RFC 9110 6.6.1: an origin server with a clock sends Date (IMF-fixdate;
	 * strftime's %a/%b are English in the C locale the demo never leaves) */
	if (!gmtime_r(&now, &tm) ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		date[0] = '\0';
	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 %d %s\r\n"
	             "Date: %s\r\n"
	             "Server: sonde-demo/%s\r\n"
	             "Content-Length: %zu\r\n"
	             "%s%s%s"
	             "%s%s%s"
	             "%s"
	             "Connection: %s\r\n\r\n",
	             res->status, http_reason(res->status), date, sonde_version(), res->body_len,
	             res->content_type ? "Content-Type: " : "",
	             res->content_type ? res->content_type : "", res->content_type ? "\r\n" : "",
	             res->content_encoding ? "Content-Encoding: " : "",
	             res->content_encoding ? res->content_encoding : "",
	             res->content_encoding ? "\r\n" : "", res->extra ? res->extra : "",
	             res->close ? "close" : "keep-alive");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = (void *)res->body;
	iov[1].iov_len = res->body ? res->body_len : 0;
	return send_all(fd, iov, iov[1].iov_len ? 2 : 1, mono_ms() + timeout_ms);
}

/* ---- client ------------------------------------------------------------------------------ */

bool http_url_parse(const char *url, size_t len, http_url *out)
{
	const char *p = url, *end = url + len, *auth_end, *host, *host_end, *port = NULL;
	size_t n;

	if (len < 7 || !ieq(url, 7, "http://"))
		return false;
	p += 7;
	auth_end = p;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
		auth_end++;
	if (memchr(p, '@', (size_t)(auth_end - p)))
		return false; /* userinfo: never forwarded */
	host = p;
	if (p < auth_end && *p == '[') {
		host_end = memchr(p, ']', (size_t)(auth_end - p));
		if (!host_end)
			return false;
		host++;
		p = host_end + 1;
	} else {
		while (p < auth_end && *p != ':')
			p++;
		host_end = p;
	}
	if (p < auth_end) {
		if (*p != ':')
			return false;
		port = p + 1;
	}
	n = (size_t)(host_end - host);
	if (n == 0 || n >= sizeof(out->host))
		return false;
	memcpy(out->host, host, n);
	out->host[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out->host[i];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\')
			return false;
	}
	if (port && port < auth_end) {
		unsigned v = 0;
		n = (size_t)(auth_end - port);
		if (n > 5)
			return false;
		for (size_t i = 0; i < n; i++) {
			if (port[i] < '0' || port[i] > '9')
				return false;
			v = v * 10 + (unsigned)(port[i] - '0');
		}
		if (v == 0 || v > 65535)
			return false;
		snprintf(out->port, sizeof(out->port), "%u", v);
	} else {
		snprintf(out->port, sizeof(out->port), "80");
	}
	/* path and query, without the fragment; nothing that could end the
	 * request line early or inject a header */
	p = auth_end;
	{
		const char *frag = memchr(p, '#', (size_t)(end - p));
		const char *stop = frag ? frag : end;
		size_t off = 0;

		if (p == stop || *p != '/')
			out->path[off++] = '/';
		n = (size_t)(stop - p);
		if (off + n >= sizeof(out->path))
			return false;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c <= 0x20 || c == 0x7f)
				return false;
		}
		memcpy(out->path + off, p, n);
		out->path[off + n] = '\0';
	}
	return true;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
		                                           0, 0, 0, 0, 0xff, 0xff};
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) == 0 &&
		       in6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

/* Sets both socket timeouts to what is left until deadline; false when
 * nothing is left. On Linux SO_SNDTIMEO also bounds connect(). */
static bool set_timeouts(int fd, int64_t deadline_ms)
{
	int64_t left = deadline_ms - mono_ms();
	struct timeval tv;

	if (left <= 0)
		return false;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

static int connect_to(const http_url *url, int64_t deadline_ms, bool loopback_only, char *err,
                      size_t err_cap)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(url->host, url->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, err_cap, "resolve %s: %s", url->host, gai_strerror(rc));
		return -1;
	}
	snprintf(err, err_cap, "no address for %s", url->host);
	for (ai = res; ai; ai = ai->ai_next) {
		if (loopback_only && !addr_is_loopback(ai->ai_addr)) {
			snprintf(err, err_cap,
			         "%s is not a loopback address (--allow-remote-callbacks)",
			         url->host);
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, err_cap, "socket: %s", strerror(errno));
			continue;
		}
		if (set_timeouts(fd, deadline_ms) && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(err, err_cap, "connect %s:%s: %s", url->host, url->port,
		         errno == EINPROGRESS ? "timed out" : strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Reads until the head of a response is complete; returns its status and
 * the Content-Length (-1 when absent). Skips 1xx interim responses. */
static int read_response(int fd, int64_t deadline_ms, char *buf, size_t cap, long long *clen,
                         size_t *head_len, size_t *have, char *err, size_t err_cap)
{
	size_t len = 0;

	for (;;) {
		char *end = NULL;
		int status;

		for (size_t i = 0; i + 1 < len; i++) {
			if (buf[i] == '\n' &&
			    (buf[i + 1] == '\n' ||
			     (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n'))) {
				end = buf + i + (buf[i + 1] == '\n' ? 2 : 3);
				break;
			}
		}
		if (!end) {
			ssize_t n;
			if (len == cap) {
				snprintf(err, err_cap, "response head over %zu bytes", cap);
				return -1;
			}
			if (!set_timeouts(fd, deadline_ms)) {
				snprintf(err, err_cap, "timed out reading the response");
				return -1;
			}
			n = recv(fd, buf + len, cap - len, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				snprintf(err, err_cap, "%s while reading the response",
				         n == 0 ? "connection closed"
				         : (errno == EAGAIN || errno == EWOULDBLOCK)
				                 ? "timed out"
				                 : strerror(errno));
				return -1;
			}
			len += (size_t)n;
			continue;
		}
		if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || buf[9] < '1' ||
		    buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
		    buf[11] > '9') {
			snprintf(err, err_cap, "malformed status line");
			return -1;
		}
		status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
		*clen = -1;
		for (char *p = memchr(buf, '\n', (size_t)(end - buf)); p && p + 1 < end;
		     p = memchr(p + 1, '\n', (size_t)(end - p - 1))) {
			const char *line = p + 1;
			const char *colon = memchr(line, ':', (size_t)(end - line));
			const char *eol = memchr(line, '\n', (size_t)(end - line));
			if (colon && eol && colon < eol &&
			    ieq(line, (size_t)(colon - line), "content-length")) {
				long long v = 0;
				const char *q = colon + 1;
				while (q < eol && (*q == ' ' || *q == '\t'))
					q++;
				while (q < eol && *q >= '0' && *q <= '9' && v < (1LL << 40))
					v = v * 10 + (*q++ - '0');
				*clen = v;
			}
		}
		if (status >= 200) {
			*head_len = (size_t)(end - buf);
			*have = len;
			return status;
		}
		/* an interim 1xx response: drop it and read the real one */
		len -= (size_t)(end - buf);
		memmove(buf, end, len);
	}
}

int http_post_json(const http_url *url, const sonde_header *headers, size_t nheaders,
                   const char *body, size_t body_len, int timeout_ms, bool loopback_only, char *err,
                   size_t err_cap)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char head[4096], resp[8192];
	struct iovec iov[2];
	size_t off, head_len = 0, have = 0;
	long long clen = -1, got;
	int fd, n, status;
	bool v6 = strchr(url->host, ':') != NULL;

	n = snprintf(head, sizeof(head),
	             "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: sonde-demo/%s\r\n"
	             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	             "Connection: close\r\n",
	             url->path, v6 ? "[" : "", url->host, v6 ? "]" : "", url->port, sonde_version(),
	             body_len);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(err, err_cap, "request head too long");
		return -1;
	}
	off = (size_t)n;
	for (size_t i = 0; i < nheaders; i++) {
		n = snprintf(head + off, sizeof(head) - off, "%.*s: %.*s\r\n",
		             (int)headers[i].name_len, headers[i].name, (int)headers[i].value_len,
		             headers[i].value);
		if (n < 0 || (size_t)n >= sizeof(head) - off) {
			snprintf(err, err_cap, "request head too long");
			return -1;
		}
		off += (size_t)n;
	}
	if (off + 2 >= sizeof(head)) {
		snprintf(err, err_cap, "request head too long");
		return -1;
	}
	memcpy(head + off, "\r\n", 2);
	off += 2;

	fd = connect_to(url, deadline, loopback_only, err, err_cap);
	if (fd < 0)
		return -1;
	iov[0].iov_base = head;
	iov[0].iov_len = off;
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = body_len;
	if (!set_timeouts(fd, deadline) || send_all(fd, iov, body_len ? 2 : 1, deadline) != 0) {
		snprintf(err, err_cap, "sending the request: %s",
		         errno == EAGAIN ? "timed out" : strerror(errno));
		close(fd);
		return -1;
	}
	status = read_response(fd, deadline, resp, sizeof(resp), &clen, &head_len, &have, err,
	                       err_cap);
	if (status < 0) {
		close(fd);
		return -1;
	}
	/* read (and drop) the body: Content-Length bytes, or up to the close
	 * we asked for; a body that does not arrive in time fails the call */
	got = (long long)(have - head_len);
	while (clen < 0 || got < clen) {
		ssize_t r;
		if (!set_timeouts(fd, deadline)) {
			snprintf(err, err_cap, "timed out reading the response body");
			status = -1;
			break;
		}
		r = recv(fd, resp, sizeof(resp), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && clen < 0)
			break;
		if (r <= 0) {
			snprintf(err, err_cap, "response body cut short");
			status = -1;
			break;
		}
		got += r;
	}
	close(fd);
	return status;
}
