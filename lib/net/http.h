/*
 * lib/net/http.h - the library's HTTP/1.1 client (internal, not exported):
 * what the OTLP exporter and the Pushgateway client send their requests
 * through. Plain TCP only: TLS is out of scope (the usual setup is a local
 * OpenTelemetry Collector or agent on plain HTTP that forwards with TLS).
 *
 * Two parts:
 *   - the response parser (http_parse.c): incremental, strict, bounded, no
 *     I/O, so a fuzz target drives it directly (tests/fuzz/fuzz_http.c);
 *   - the client (http_client.c): one keep-alive connection to one host
 *     and port, requests with Content-Length bodies, every wait bounded by
 *     poll() against a deadline.
 *
 * Errors: every function that fails returns a negative sonde status and
 * records a message (sonde_last_error()):
 *   SONDE_EINVAL     bad arguments (NULL, a method, path or header that would
 *                    break the request's framing);
 *   SONDE_ENOMEM     an allocation failed (the connection is closed);
 *   SONDE_EIO        the connection failed (refused, reset, closed before or
 *                    in the middle of the response) or the response broke the
 *                    protocol (malformed status line, header, chunk, ...);
 *   SONDE_ETIMEDOUT  connect, send or receive passed its deadline;
 *   SONDE_ELIMIT     the response's header section or body passed the
 *                    client's bound.
 * An HTTP error status (4xx, 5xx) is not an error of these functions: it is
 * a complete response, returned with SONDE_OK, for the caller to judge.
 */
#ifndef SONDE_NET_HTTP_H
#define SONDE_NET_HTTP_H

#include "core/sonde-int.h"

/* ---- the response ------------------------------------------------------------ */

#define SONDE__HTTP_CONTENT_TYPE_MAX 128

/* One response: caller-owned, reused across requests (the body buffer keeps
 * its memory). Init with sonde__http_response_init, release with
 * sonde__http_response_destroy. */
typedef struct sonde__http_response {
	int status;             /* 200..599 (1xx interim responses are skipped) */
	int minor_version;      /* HTTP/1.<minor_version> */
	int64_t retry_after_s;  /* Retry-After as seconds from now (an HTTP-date
	                         * minus the parser's clock, 0 when past); -1 when
	                         * absent or unparsable */
	int64_t content_length; /* -1 when the response had none */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool keep_alive;        /* the connection may carry another request */
	char content_type[SONDE__HTTP_CONTENT_TYPE_MAX]; /* NUL-terminated, cut at
	                                                  * 127 bytes; "" if none */
	sonde_buf body; /* the body, de-chunked; body.len bytes, NUL-terminated
	                 * when non-empty (data may be NULL when empty) */
} sonde__http_response;

void sonde__http_response_init(sonde__http_response *res);
void sonde__http_response_destroy(sonde__http_response *res);

/* ---- the incremental response parser ------------------------------------------ */

#define SONDE__HTTP_LINE_MAX 8192 /* one status, header, chunk-size or trailer line */
#define SONDE__HTTP_HEADER_MAX_DEFAULT (64u * 1024)     /* status line + headers */
#define SONDE__HTTP_BODY_MAX_DEFAULT (4u * 1024 * 1024) /* de-chunked body */

enum { SONDE__HTTP_MORE = 1 }; /* sonde__http_parse: give me more bytes */

typedef struct sonde__http_parser {
	int state;
	bool head;   /* the request was HEAD: no body whatever the headers say */
	bool saw_cl; /* a Content-Length header was seen */
	bool saw_te; /* a Transfer-Encoding header was seen */
	bool any;    /* at least one byte of the response arrived */
	int64_t now_unix_s;
	size_t max_header, max_body;
	size_t header_bytes; /* of this header section (or the trailers) */
	uint64_t remaining;  /* of the Content-Length body or the current chunk */
	sonde__http_response *res;
	size_t line_len;
	char line[SONDE__HTTP_LINE_MAX];
} sonde__http_parser;

/* Prepares p to parse one response into res (its fields reset, its body
 * emptied). head: the request was HEAD. now_unix_s: the clock an HTTP-date
 * Retry-After is measured against (a parameter so that parsing is a pure
 * function of its input). max_header / max_body: 0 means the defaults above. */
void sonde__http_parser_init(sonde__http_parser *p, sonde__http_response *res, bool head,
                             int64_t now_unix_s, size_t max_header, size_t max_body);

/* Feeds len bytes. Returns:
 *   SONDE__HTTP_MORE  every byte was consumed (*consumed = len), the
 *                     response is not complete yet;
 *   SONDE_OK          the response is complete; *consumed says how many of
 *                     the bytes belonged to it (the rest is not this
 *                     response's: a client that does not pipeline treats
 *                     it as a broken connection);
 *   < 0               SONDE_EIO (malformed), SONDE_ELIMIT (too large),
 *                     SONDE_ENOMEM (body growth failed). The parser stays
 *                     in its error state: later calls return the same code.
 * The bytes may be cut anywhere: feeding a response in one call or in many
 * gives the same result. data may be NULL when len is 0. */
int sonde__http_parse(sonde__http_parser *p, const char *data, size_t len, size_t *consumed);

/* The peer closed the connection. Returns SONDE_OK when that completes the
 * response (a body delimited by the close), SONDE_OK too when the response
 * was already complete, else SONDE_EIO ("closed before the response" when
 * no byte had arrived, "closed mid-response" otherwise). */
int sonde__http_parse_eof(sonde__http_parser *p);

/* Retry-After's value (trimmed): delay-seconds, or an HTTP-date in any of
 * the three forms RFC 9110 5.6.7 says a recipient must accept (IMF-fixdate,
 * RFC 850, asctime). Returns the delay in seconds from now_unix_s (0 for a
 * date in the past; capped at 10^9), or -1 when the value is neither. */
int64_t sonde__http_retry_after(const char *v, size_t n, int64_t now_unix_s);
/* s[0..n) is an RFC 9110 token (a method, a header name): non-empty, tchar
 * only. NULL is false. */
bool sonde__http_is_token(const char *s, size_t n);

/* ---- the client ------------------------------------------------------------------- */

/* The request headers a caller may give: names are tokens; not Host,
 * Content-Length or Transfer-Encoding (the client writes those); values
 * without CR, LF or NUL; h NULL only when nh is 0. SONDE_OK, or SONDE_EINVAL
 * with a message starting with what. sonde__http_request checks this
 * itself; a caller that wants to refuse before doing work calls it first. */
int sonde__http_check_headers(const char *what, const sonde_header *h, size_t nh);

typedef struct sonde__http_options {
	int connect_timeout_ms;  /* whole connect (every address tried); 0 = 10000 */
	int send_timeout_ms;     /* sending the request; 0 = 10000 */
	int recv_timeout_ms;     /* from the request sent to the response's end; 0 = 10000 */
	size_t max_header_bytes; /* 0 = SONDE__HTTP_HEADER_MAX_DEFAULT */
	size_t max_body_bytes;   /* 0 = SONDE__HTTP_BODY_MAX_DEFAULT */
} sonde__http_options;

typedef struct sonde__http_client sonde__http_client;

/* A client for host:port (host: a name, an IPv4 literal, or an IPv6
 * literal with or without brackets). Copies host; does not connect (the
 * first request does). o NULL means every default. NULL with SONDE_EINVAL
 * (NULL or empty host, port 0, a negative timeout) or SONDE_ENOMEM.
 * Name resolution (getaddrinfo) runs at each connect and is the one wait
 * that no deadline bounds: give a numeric address to bound it too. */
sonde__http_client *sonde__http_client_new(const char *host, uint16_t port,
                                           const sonde__http_options *o);
/* Closes the connection and frees c. NULL is a no-op. */
void sonde__http_client_free(sonde__http_client *c);
/* Sets the three timeouts of the next requests (a value <= 0 means the
 * default, 10000 ms): a caller with its own deadline (the exporter's
 * export timeout, a bounded shutdown) cuts each request to what is left.
 * NULL is a no-op. */
void sonde__http_client_set_timeouts(sonde__http_client *c, int connect_ms, int send_ms,
                                     int recv_ms);
/* Closes the connection (the next request opens a new one). */
void sonde__http_client_close(sonde__http_client *c);
/* How many TCP connections c has opened so far (tests: keep-alive reuse). */
uint64_t sonde__http_client_connects(const sonde__http_client *c);

/* One request: method (a token: "POST", "GET", ...), path (origin form,
 * starting with '/'), extra headers (names are tokens, values carry no CR,
 * LF or NUL; Host and Content-Length are written by the client and must
 * not be given), body of body_len bytes (body may be NULL when body_len is
 * 0; Content-Length is sent for every method but GET and HEAD without a
 * body). Fills res and returns SONDE_OK when a whole response arrived,
 * whatever its status. Blocks at most connect + send + receive timeouts
 * (plus name resolution).
 *
 * Keep-alive: the connection stays open after a response that allows it.
 * A reused connection that the server had closed while idle (detected
 * before sending, or as a failure before any byte of the response came
 * back) is replaced by a new one and the request sent once more.
 *
 * Fork: a connection opened before fork() is not shared: the first request
 * in the child closes the child's copy of the socket (the parent's
 * connection is unaffected) and connects again. Sockets are close-on-exec.
 * SIGPIPE: never raised (MSG_NOSIGNAL). Thread-safety: one thread at a time
 * per client; distinct clients are independent. */
int sonde__http_request(sonde__http_client *c, const char *method, const char *path,
                        const sonde_header *headers, size_t nheaders, const void *body,
                        size_t body_len, sonde__http_response *res) SONDE_WUR;

#endif
