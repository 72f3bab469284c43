/*
 * examples/service/http.h - the demo's HTTP/1.1 pieces: a zero-allocation
 * request parser (its outputs point into the caller's buffer, as
 * picohttpparser's do), a response writer, and a minimal blocking client
 * for the W3C /test callbacks. Only what the demo needs; not part of
 * libsonde.
 */
#ifndef DEMO_HTTP_H
#define DEMO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sonde.h>

#define HTTP_MAX_HEADERS 64

/* Results of http_parse_request() other than a head length. */
#define HTTP_INCOMPLETE 0   /* need more bytes */
#define HTTP_EBAD (-1)      /* malformed: answer 400 */
#define HTTP_ETOO_MANY (-2) /* more than HTTP_MAX_HEADERS header lines */
#define HTTP_EVERSION (-3)  /* not HTTP/1.0 or HTTP/1.1: answer 505 */

typedef struct http_request {
	const char *method;
	size_t method_len;
	const char *path; /* the target up to '?' */
	size_t path_len;
	const char *query; /* after '?' (NULL when none) */
	size_t query_len;
	int minor_version; /* HTTP/1.<minor_version> */
	size_t nheaders;
	sonde_header headers[HTTP_MAX_HEADERS]; /* values trimmed of OWS */
} http_request;

/* Parses the request line and header fields in buf[0..len). Accepts CRLF
 * or bare LF line ends; rejects obsolete line folding, control characters
 * and header names that are not tokens. Returns the length of the head
 * (through the empty line) when it is complete, HTTP_INCOMPLETE when the
 * empty line has not arrived yet, or an HTTP_E* code. Never allocates;
 * req's pointers point into buf. */
int http_parse_request(const char *buf, size_t len, http_request *req);

/* The first header called name (ASCII case-insensitive), or NULL. */
const sonde_header *http_header_find(const http_request *req, const char *name);
/* Number of header lines called name. */
size_t http_header_count(const http_request *req, const char *name);
/* True when the comma-separated header value lists token (any case). */
bool http_value_has_token(const char *v, size_t len, const char *token);

/* Copies a header value into out (NUL-terminated, cut to cap - 1). */
void http_value_copy(const sonde_header *h, char *out, size_t cap);

/* Finds key in an application/x-www-form-urlencoded query (no decoding:
 * the demo's parameters are plain numbers). Returns true and the raw
 * value when present. */
bool http_query_get(const char *q, size_t qlen, const char *key, const char **val, size_t *val_len);

/* "Not Found" for 404 and so on; "Unknown" for codes the demo never sends. */
const char *http_reason(int status);

/* ---- responses --------------------------------------------------------------- */

typedef struct http_response {
	int status;
	const char *content_type;     /* NULL: no body headers beyond the length */
	const char *content_encoding; /* NULL: identity */
	const char *extra;            /* preformatted header lines ("Allow: GET\r\n") or NULL */
	const char *body;
	size_t body_len;
	bool close; /* send Connection: close and close afterwards */
} http_response;

/* Writes the whole response with one sendmsg() loop (MSG_NOSIGNAL),
 * giving up after timeout_ms in all (the socket's SO_SNDTIMEO bounds each
 * call). Returns 0, or -1 when the peer went away or timed out. */
int http_response_write(int fd, const http_response *res, int timeout_ms);

/* ---- client ------------------------------------------------------------------------ */

typedef struct http_url {
	char host[256]; /* without brackets for IPv6 literals */
	char port[8];
	char path[2048]; /* "/" when the URL has none */
} http_url;

/* Parses "http://host[:port][/path]". false for anything else (https,
 * userinfo, an empty host, a port out of range, an over-long part). */
bool http_url_parse(const char *url, size_t len, http_url *out);

/* POSTs body (Content-Type: application/json) to url with the extra
 * headers, and reads the answer. loopback_only refuses hosts that do not
 * resolve to a loopback address. The whole call is bounded by timeout_ms.
 * Returns the response status (100..599), or -1 with a reason in err. */
int http_post_json(const http_url *url, const sonde_header *headers, size_t nheaders,
                   const char *body, size_t body_len, int timeout_ms, bool loopback_only, char *err,
                   size_t err_cap);

#endif /* DEMO_HTTP_H */
