/*
 * tests/net/test_http.c - the HTTP/1.1 client (lib/net/) against a real
 * server we did not write: Python's http.server (tests/tools/http_peer.py)
 * on IPv4 and IPv6 loopback, plus sockets of the test's own for the
 * refused connection and the peer that hangs up on a request. And the
 * response parser alone: any cut of the input gives the same response,
 * Retry-After's forms, the framing rules it enforces.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/http.h"
#include "test.h"

/* ---- the Python peer ------------------------------------------------------------ */

typedef struct peer {
	pid_t pid;
	int in_fd; /* its stdin: closing it stops the server */
	uint16_t port;
} peer;

static void peer_start(peer *p, int family)
{
	int in[2], out[2];
	char line[64];
	size_t n = 0;
	const char *script = SONDE_SRC_DIR "/tests/tools/http_peer.py";

	if (pipe(in) || pipe(out))
		FAIL("pipe: %s", strerror(errno));
	p->pid = fork();
	if (p->pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(SONDE_PYTHON, SONDE_PYTHON, script, family == 6 ? "6" : "4", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	/* "PORT n\n"; the runner's timeout bounds this read */
	while (n < sizeof(line) - 1) {
		ssize_t r = read(out[0], line + n, 1);
		if (r <= 0)
			FAIL("http_peer.py (IPv%d) did not start", family);
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(out[0]);
	if (sscanf(line, "PORT %hu", &p->port) != 1)
		FAIL("http_peer.py said \"%s\"", line);
}

static void peer_stop(peer *p)
{
	close(p->in_fd);
	waitpid(p->pid, NULL, 0);
}

static sonde__http_client *client(const char *host, uint16_t port, int recv_ms)
{
	sonde__http_options o;
	sonde__http_client *c;

	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = 2000;
	o.send_timeout_ms = 2000;
	o.recv_timeout_ms = recv_ms;
	c = sonde__http_client_new(host, port, &o);
	ASSERT_NOT_NULL(c);
	return c;
}

static const char *body_of(const sonde__http_response *r)
{
	return r->body.len ? r->body.data : "";
}

/* ---- against the peer ----------------------------------------------------------- */

TEST(http_keepalive_reuses_one_connection)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;
	sonde_header h[] = {{"Content-Type", 12, "application/x-protobuf", 22}};
	char body[64];
	int i;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	for (i = 0; i < 5; i++) {
		int n = snprintf(body, sizeof(body), "payload %d", i);
		ASSERT_OK(sonde__http_request(c, "POST", "/echo", h, 1, body, (size_t)n, &r));
		ASSERT_EQ_INT(r.status, 200);
		ASSERT_TRUE(r.keep_alive);
		ASSERT_EQ_INT(r.content_length, n);
		ASSERT_STREQ(body_of(&r), body);
		ASSERT_STREQ(r.content_type, "application/x-protobuf");
	}
	ASSERT_EQ_U64(sonde__http_client_connects(c), 1);
	/* what the server saw: method, Host with the port, the length */
	ASSERT_OK(sonde__http_request(c, "PUT", "/whoami", NULL, 0, "abc", 3, &r));
	snprintf(body, sizeof(body), "PUT|127.0.0.1:%u|3", (unsigned)p.port);
	ASSERT_STREQ(body_of(&r), body);
	ASSERT_OK(sonde__http_request(c, "GET", "/whoami", NULL, 0, NULL, 0, &r));
	snprintf(body, sizeof(body), "GET|127.0.0.1:%u|none", (unsigned)p.port);
	ASSERT_STREQ(body_of(&r), body);
	/* an empty POST still says Content-Length: 0 */
	ASSERT_OK(sonde__http_request(c, "POST", "/whoami", NULL, 0, NULL, 0, &r));
	snprintf(body, sizeof(body), "POST|127.0.0.1:%u|0", (unsigned)p.port);
	ASSERT_STREQ(body_of(&r), body);
	ASSERT_EQ_U64(sonde__http_client_connects(c), 1);
	/* a 404 is a response, not a client error */
	ASSERT_OK(sonde__http_request(c, "GET", "/nowhere", NULL, 0, NULL, 0, &r));
	ASSERT_EQ_INT(r.status, 404);
	/* HEAD: no body read even though Content-Length is set */
	ASSERT_OK(sonde__http_request(c, "HEAD", "/echo", NULL, 0, NULL, 0, &r));
	ASSERT_EQ_INT(r.status, 200);
	ASSERT_EQ_INT(r.body.len, 0);
	ASSERT_OK(sonde__http_request(c, "GET", "/whoami", NULL, 0, NULL, 0, &r));
	ASSERT_EQ_INT(r.status, 200);
	ASSERT_EQ_U64(sonde__http_client_connects(c), 1);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_large_body_round_trip)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;
	size_t n = 3 * 1024 * 1024 + 17, i;
	char *big = malloc(n);

	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	peer_start(&p, 4);
	c = client("localhost", p.port, 10000);
	sonde__http_response_init(&r);
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, big, n, &r));
	ASSERT_EQ_INT(r.status, 200);
	ASSERT_EQ_INT(r.body.len, n);
	ASSERT_TRUE(memcmp(r.body.data, big, n) == 0);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
	free(big);
}

TEST(http_chunked_response)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	ASSERT_OK(sonde__http_request(c, "GET", "/chunked", NULL, 0, NULL, 0, &r));
	ASSERT_EQ_INT(r.status, 200);
	ASSERT_TRUE(r.chunked);
	ASSERT_TRUE(r.keep_alive);
	ASSERT_STREQ(body_of(&r), "hello, chunked world");
	/* the trailer was consumed: the connection is in step for the next */
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "x", 1, &r));
	ASSERT_STREQ(body_of(&r), "x");
	ASSERT_EQ_U64(sonde__http_client_connects(c), 1);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_503_retry_after)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	ASSERT_OK(sonde__http_request(c, "POST", "/retry", NULL, 0, "x", 1, &r));
	ASSERT_EQ_INT(r.status, 503);
	ASSERT_EQ_INT(r.retry_after_s, 7);
	ASSERT_STREQ(body_of(&r), "busy");
	ASSERT_OK(sonde__http_request(c, "POST", "/retry-date", NULL, 0, "x", 1, &r));
	ASSERT_EQ_INT(r.status, 503);
	/* an IMF-fixdate 120 s ahead of the server's clock (the same clock) */
	ASSERT_TRUE(r.retry_after_s >= 115 && r.retry_after_s <= 121);
	/* no Retry-After: -1 */
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "x", 1, &r));
	ASSERT_EQ_INT(r.retry_after_s, -1);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_slow_server_times_out)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;
	int64_t t0, ms;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 300);
	sonde__http_response_init(&r);
	t0 = sonde_now_mono_ns();
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/slow", NULL, 0, NULL, 0, &r),
	              SONDE_ETIMEDOUT);
	ms = (sonde_now_mono_ns() - t0) / 1000000;
	ASSERT_CONTAINS(sonde_last_error(), "timed out");
	/* not before the deadline, and far from the server's 3 s */
	ASSERT_TRUE(ms >= 300);
	ASSERT_TRUE(ms < 2500);
	/* the late response never reaches the next request: a new connection */
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "after", 5, &r));
	ASSERT_STREQ(body_of(&r), "after");
	ASSERT_EQ_U64(sonde__http_client_connects(c), 2);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_connection_closed_mid_response)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/mid", NULL, 0, NULL, 0, &r), SONDE_EIO);
	ASSERT_CONTAINS(sonde_last_error(), "mid-response");
	/* a malformed status line */
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/bad", NULL, 0, NULL, 0, &r), SONDE_EIO);
	ASSERT_CONTAINS(sonde_last_error(), "status");
	/* a body delimited by the close is complete, and closes */
	ASSERT_OK(sonde__http_request(c, "GET", "/eof-body", NULL, 0, NULL, 0, &r));
	ASSERT_STREQ(body_of(&r), "until the close");
	ASSERT_FALSE(r.keep_alive);
	/* Connection: close is honored */
	ASSERT_OK(sonde__http_request(c, "GET", "/close", NULL, 0, NULL, 0, &r));
	ASSERT_FALSE(r.keep_alive);
	ASSERT_OK(sonde__http_request(c, "GET", "/whoami", NULL, 0, NULL, 0, &r));
	ASSERT_EQ_INT(r.status, 200);
	ASSERT_EQ_U64(sonde__http_client_connects(c), 5);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_oversized_headers_and_body)
{
	peer p;
	sonde__http_response r;
	sonde__http_options o;
	sonde__http_client *c;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/big-headers", NULL, 0, NULL, 0, &r),
	              SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "8192");
	sonde__http_client_free(c);
	/* the section limit and the body limit */
	memset(&o, 0, sizeof(o));
	o.max_header_bytes = 64;
	c = sonde__http_client_new("127.0.0.1", p.port, &o);
	ASSERT_NOT_NULL(c);
	ASSERT_EQ_INT(sonde__http_request(c, "POST", "/echo", NULL, 0, "x", 1, &r), SONDE_ELIMIT);
	ASSERT_CONTAINS(sonde_last_error(), "header section");
	sonde__http_client_free(c);
	memset(&o, 0, sizeof(o));
	o.max_body_bytes = 4;
	c = sonde__http_client_new("127.0.0.1", p.port, &o);
	ASSERT_NOT_NULL(c);
	ASSERT_EQ_INT(sonde__http_request(c, "POST", "/echo", NULL, 0, "12345", 5, &r),
	              SONDE_ELIMIT);
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "1234", 4, &r));
	ASSERT_STREQ(body_of(&r), "1234");
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/chunked", NULL, 0, NULL, 0, &r),
	              SONDE_ELIMIT);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_ipv6_loopback)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;
	char want[64];
	int s = socket(AF_INET6, SOCK_STREAM, 0);

	if (s < 0)
		FAIL("this machine has no IPv6: %s", strerror(errno));
	close(s);
	peer_start(&p, 6);
	sonde__http_response_init(&r);
	c = client("::1", p.port, 5000);
	ASSERT_OK(sonde__http_request(c, "GET", "/whoami", NULL, 0, NULL, 0, &r));
	snprintf(want, sizeof(want), "GET|[::1]:%u|none", (unsigned)p.port);
	ASSERT_STREQ(body_of(&r), want);
	sonde__http_client_free(c);
	/* the bracketed form too */
	c = client("[::1]", p.port, 5000);
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "six", 3, &r));
	ASSERT_STREQ(body_of(&r), "six");
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

/* Keep-alive against a server that closes: an idle connection the server
 * closed is noticed before it is reused; a reused connection closed
 * without a response is replaced and the request sent once more. */
TEST(http_keepalive_server_closes)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	ASSERT_OK(sonde__http_request(c, "GET", "/quiet-close", NULL, 0, NULL, 0, &r));
	ASSERT_TRUE(r.keep_alive); /* it did not say so */
	usleep(100 * 1000);        /* its close arrives */
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "x", 1, &r));
	ASSERT_STREQ(body_of(&r), "x");
	ASSERT_EQ_U64(sonde__http_client_connects(c), 2);
	/* a reused connection that the server drops on this request */
	ASSERT_OK(sonde__http_request(c, "POST", "/drop-once", NULL, 0, "y", 1, &r));
	ASSERT_EQ_INT(r.status, 200);
	ASSERT_STREQ(body_of(&r), "second try");
	ASSERT_EQ_U64(sonde__http_client_connects(c), 3);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

/* A port nobody listens on: bind one, close it. */
TEST(http_refused_connection)
{
	sonde__http_response r;
	sonde__http_client *c = client("127.0.0.1", sonde_test_dead_port(), 1000);
	int64_t t0 = sonde_now_mono_ns();

	sonde__http_response_init(&r);
	ASSERT_EQ_INT(sonde__http_request(c, "POST", "/v1/traces", NULL, 0, "x", 1, &r), SONDE_EIO);
	ASSERT_CONTAINS(sonde_last_error(), "refused");
	ASSERT_TRUE(sonde_now_mono_ns() - t0 < 1000000000);
	ASSERT_EQ_U64(sonde__http_client_connects(c), 0);
	/* an unknown name: a resolver error, not a crash */
	sonde__http_client_free(c);
	c = client("no-such-host.invalid", 4318, 1000);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/", NULL, 0, NULL, 0, &r), SONDE_EIO);
	ASSERT_CONTAINS(sonde_last_error(), "resolving");
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
}

/* Connect past its deadline: a listener whose accept queue is full (never
 * accepted) drops further SYNs, so the third connection hangs in connect. */
TEST(http_connect_timeout)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), fill[4], nfill = 0, i;
	sonde__http_options o;
	sonde__http_response r;
	sonde__http_client *c;
	int64_t t0, ms;
	int rc;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_OK(bind(ls, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(listen(ls, 0));
	ASSERT_OK(getsockname(ls, (struct sockaddr *)&a, &len));
	/* fill the queue with non-blocking connects that complete */
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
		nfill++;
	}
	usleep(100 * 1000);
	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = 300;
	c = sonde__http_client_new("127.0.0.1", ntohs(a.sin_port), &o);
	ASSERT_NOT_NULL(c);
	sonde__http_response_init(&r);
	t0 = sonde_now_mono_ns();
	rc = sonde__http_request(c, "GET", "/", NULL, 0, NULL, 0, &r);
	ms = (sonde_now_mono_ns() - t0) / 1000000;
	/* connected (the kernel took it after all) then no answer, or the
	 * connect itself timed out: either way a timeout, bounded */
	ASSERT_EQ_INT(rc, SONDE_ETIMEDOUT);
	ASSERT_TRUE(ms >= 300);
	ASSERT_TRUE(ms < 10000 + 1500);
	if (sonde__http_client_connects(c) == 0)
		ASSERT_CONTAINS(sonde_last_error(), "connect");
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	close(ls);
}

/* A peer that reads nothing and hangs up: sending a large body meets a
 * reset or EPIPE, which must come back as SONDE_EIO, never as SIGPIPE
 * (its default action would kill this test). */
static void *hang_up(void *arg)
{
	int ls = *(int *)arg, s = accept(ls, NULL, NULL);
	if (s >= 0) {
		struct linger lg = {1, 0}; /* close with RST */
		setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s);
	}
	return NULL;
}

TEST(http_peer_hangs_up_no_sigpipe)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), rc;
	pthread_t t;
	sonde__http_response r;
	sonde__http_client *c;
	size_t n = 8 * 1024 * 1024;
	char *big = calloc(1, n);

	signal(SIGPIPE, SIG_DFL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_OK(bind(ls, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(listen(ls, 4));
	ASSERT_OK(getsockname(ls, (struct sockaddr *)&a, &len));
	pthread_create(&t, NULL, hang_up, &ls);
	c = client("127.0.0.1", ntohs(a.sin_port), 2000);
	sonde__http_response_init(&r);
	rc = sonde__http_request(c, "POST", "/v1/traces", NULL, 0, big, n, &r);
	ASSERT_EQ_INT(rc, SONDE_EIO);
	pthread_join(t, NULL);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	close(ls);
	free(big);
}

TEST(http_connection_not_shared_across_fork)
{
	peer p;
	sonde__http_response r;
	sonde__http_client *c;
	pid_t pid;
	int st;

	peer_start(&p, 4);
	c = client("127.0.0.1", p.port, 5000);
	sonde__http_response_init(&r);
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "parent", 6, &r));
	pid = fork();
	if (pid == 0) {
		/* the child's request goes over a connection of its own */
		if (sonde__http_request(c, "POST", "/echo", NULL, 0, "child", 5, &r) ||
		    strcmp(body_of(&r), "child") || sonde__http_client_connects(c) != 2)
			_exit(1);
		_exit(0);
	}
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* and the parent's is untouched */
	ASSERT_OK(sonde__http_request(c, "POST", "/echo", NULL, 0, "again", 5, &r));
	ASSERT_STREQ(body_of(&r), "again");
	ASSERT_EQ_U64(sonde__http_client_connects(c), 1);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	peer_stop(&p);
}

TEST(http_client_rejects_bad_arguments)
{
	sonde__http_response r;
	sonde__http_client *c;
	sonde_header crlf[] = {{"X-A", 3, "a\r\nInjected: 1", 15}};
	sonde_header host[] = {{"host", 4, "evil", 4}};
	sonde_header badname[] = {{"X A", 3, "v", 1}};
	sonde__http_options neg = {-1, 0, 0, 0, 0};

	ASSERT_NULL(sonde__http_client_new(NULL, 80, NULL));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	ASSERT_NULL(sonde__http_client_new("", 80, NULL));
	ASSERT_NULL(sonde__http_client_new("localhost", 0, NULL));
	ASSERT_NULL(sonde__http_client_new("a/b", 80, NULL));
	ASSERT_NULL(sonde__http_client_new("localhost", 80, &neg));
	c = sonde__http_client_new("127.0.0.1", sonde_test_dead_port(), NULL);
	ASSERT_NOT_NULL(c);
	sonde__http_response_init(&r);
	ASSERT_EQ_INT(sonde__http_request(c, "PO ST", "/", NULL, 0, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, NULL, "/", NULL, 0, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "v1", NULL, 0, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/a b", NULL, 0, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/", crlf, 1, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/", host, 1, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/", badname, 1, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/", NULL, 1, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "POST", "/", NULL, 0, NULL, 3, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(NULL, "GET", "/", NULL, 0, NULL, 0, &r), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde__http_request(c, "GET", "/", NULL, 0, NULL, 0, NULL), SONDE_EINVAL);
	ASSERT_EQ_U64(sonde__http_client_connects(c), 0);
	sonde__http_response_destroy(&r);
	sonde__http_client_free(c);
	sonde__http_client_free(NULL);
}

/* ---- the parser alone ------------------------------------------------------------- */

/* Parses s whole, then cut at every position, then byte by byte: the
 * result (status, body, retry, framing) and the consumed count agree. */
static int parse_all_ways(const char *s, size_t n, sonde__http_response *out, size_t *used)
{
	sonde__http_parser *p = malloc(sizeof(*p));
	sonde__http_response r;
	size_t cut, u1, u2, off;
	int rc, rc2;

	sonde__http_response_init(&r);
	sonde__http_parser_init(p, out, false, 1000000000, 0, 0);
	rc = sonde__http_parse(p, s, n, used);
	if (rc == SONDE__HTTP_MORE)
		rc = sonde__http_parse_eof(p);
	for (cut = 0; cut <= n; cut++) {
		sonde__http_parser_init(p, &r, false, 1000000000, 0, 0);
		rc2 = sonde__http_parse(p, s, cut, &u1);
		u2 = 0;
		if (rc2 == SONDE__HTTP_MORE) {
			rc2 = sonde__http_parse(p, s + cut, n - cut, &u2);
			if (rc2 == SONDE__HTTP_MORE)
				rc2 = sonde__http_parse_eof(p);
		}
		ASSERT_EQ_INT(rc2, rc);
		if (rc == SONDE_OK) {
			ASSERT_EQ_INT(u1 + u2, *used);
			ASSERT_EQ_INT(r.status, out->status);
			ASSERT_EQ_INT(r.body.len, out->body.len);
			ASSERT_TRUE(r.body.len == 0 ||
			            !memcmp(r.body.data, out->body.data, r.body.len));
			ASSERT_EQ_INT(r.retry_after_s, out->retry_after_s);
			ASSERT_EQ_INT(r.keep_alive, out->keep_alive);
		}
	}
	sonde__http_parser_init(p, &r, false, 1000000000, 0, 0);
	rc2 = SONDE__HTTP_MORE;
	for (off = 0; off < n && rc2 == SONDE__HTTP_MORE; off++)
		rc2 = sonde__http_parse(p, s + off, 1, &u1);
	if (rc2 == SONDE__HTTP_MORE)
		rc2 = sonde__http_parse_eof(p);
	ASSERT_EQ_INT(rc2, rc);
	sonde__http_response_destroy(&r);
	free(p);
	return rc;
}

#define PARSE(lit, res, used) parse_all_ways(lit, sizeof(lit) - 1, res, used)

TEST(http_parser_cuts_and_framing)
{
	sonde__http_response r;
	size_t used;

	sonde__http_response_init(&r);
	ASSERT_OK(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", &r, &used));
	ASSERT_STREQ(r.body.data, "hello");
	ASSERT_EQ_INT(used, 43);
	/* interim 100 Continue, then the response */
	ASSERT_OK(PARSE("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n"
	                "Content-Length: 2\r\n\r\nok",
	                &r, &used));
	ASSERT_EQ_INT(r.status, 202);
	ASSERT_STREQ(r.body.data, "ok");
	/* chunked with an extension, hex in both cases, a trailer; bare LF ends lines */
	ASSERT_OK(PARSE("HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n"
	                "A;x=y\r\n0123456789\r\nb \r\nabcdefghijk\r\n0\r\nT: v\r\n\r\n",
	                &r, &used));
	ASSERT_STREQ(r.body.data, "0123456789abcdefghijk");
	ASSERT_TRUE(r.keep_alive);
	/* chunked and Content-Length: chunked wins, the connection is not reused */
	ASSERT_OK(
	        PARSE("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
	              "1\r\nz\r\n0\r\n\r\n",
	              &r, &used));
	ASSERT_STREQ(r.body.data, "z");
	ASSERT_FALSE(r.keep_alive);
	/* 204 and 304 have no body; HTTP/1.0 closes unless keep-alive */
	ASSERT_OK(PARSE("HTTP/1.1 204 No Content\r\n\r\n", &r, &used));
	ASSERT_EQ_INT(r.body.len, 0);
	ASSERT_OK(PARSE("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", &r, &used));
	ASSERT_FALSE(r.keep_alive);
	ASSERT_OK(PARSE("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
	                &r, &used));
	ASSERT_TRUE(r.keep_alive);
	ASSERT_OK(PARSE("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n",
	                &r, &used));
	ASSERT_FALSE(r.keep_alive);
	/* the same Content-Length twice is fine, an empty reason too */
	ASSERT_OK(PARSE("HTTP/1.1 500\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx", &r,
	                &used));
	ASSERT_EQ_INT(r.status, 500);
	/* by the close */
	ASSERT_OK(PARSE("HTTP/1.1 200 OK\r\n\r\nall of it", &r, &used));
	ASSERT_STREQ(r.body.data, "all of it");
	/* what strictness rejects */
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
	                    &r, &used),
	              SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &r, &used),
	              SONDE_EIO);
	ASSERT_EQ_INT(
	        PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &r, &used),
	        SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", &r,
	                    &used),
	              SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                    "fffffffffffffffff\r\n",
	                    &r, &used),
	              SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/2 200 OK\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 99 OK\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 101 Switching\r\n\r\n", &r, &used), SONDE_EIO);
	ASSERT_EQ_INT(PARSE("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", &r, &used),
	              SONDE_EIO);
	ASSERT_EQ_INT(PARSE("", &r, &used), SONDE_EIO);
	ASSERT_CONTAINS(sonde_last_error(), "before the response");
	sonde__http_response_destroy(&r);
}

TEST(http_retry_after_forms)
{
	/* RFC 9110 5.6.7's three forms of one instant: 784111777 */
	const int64_t t = 784111777;

	ASSERT_EQ_INT(sonde__http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 29, t - 30), 30);
	ASSERT_EQ_INT(sonde__http_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 30, t - 30), 30);
	ASSERT_EQ_INT(sonde__http_retry_after("Sun Nov  6 08:49:37 1994", 24, t - 30), 30);
	/* in the past: retry now */
	ASSERT_EQ_INT(sonde__http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 29, t + 5), 0);
	ASSERT_EQ_INT(sonde__http_retry_after(" 120 ", 5, 0), 120);
	ASSERT_EQ_INT(sonde__http_retry_after("0", 1, 0), 0);
	ASSERT_EQ_INT(sonde__http_retry_after("99999999999999999999999", 23, 0), 1000000000);
	/* leap day, end of year */
	ASSERT_EQ_INT(sonde__http_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", 29, 1709164800 - 1),
	              1);
	ASSERT_EQ_INT(sonde__http_retry_after("Tue, 31 Dec 2030 23:59:59 GMT", 29, 1924991999 - 9),
	              9);
	/* not Retry-After values */
	ASSERT_EQ_INT(sonde__http_retry_after("", 0, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("-5", 2, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("1.5", 3, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", 29, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("Sun, 31 Nov 1994 08:49:37 GMT", 29, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("Xyz, 06 Nov 1994 08:49:37 GMT", 29, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", 29, 0), -1);
	ASSERT_EQ_INT(sonde__http_retry_after("tomorrow", 8, 0), -1);
}
