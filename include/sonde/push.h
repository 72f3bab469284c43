/*
 * sonde/push.h - pushing a registry to a Prometheus Pushgateway, for batch
 * jobs and other processes that do not live long enough to be scraped.
 *
 * A push names a group: the job and optional grouping labels (instance,
 * shard, ...). The three methods are the Pushgateway's own:
 *   SONDE_PUSH_REPLACE  PUT: the group's metrics become exactly these
 *                       (prometheus_client's push_to_gateway);
 *   SONDE_PUSH_ADD      POST: these metrics replace the group's metrics of
 *                       the same names, the others stay (pushadd_to_gateway);
 *   SONDE_PUSH_DELETE   DELETE: the group is removed (delete_from_gateway).
 * The request goes through the library's own HTTP/1.1 client over plain
 * TCP (no TLS: put a proxy that adds it in front when the gateway needs
 * it); one connection per call, closed before the call returns.
 */
#ifndef SONDE_PUSH_H
#define SONDE_PUSH_H

#include "common.h"
#include "expose.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sonde_push_method {
	SONDE_PUSH_REPLACE = 0, /* PUT */
	SONDE_PUSH_ADD = 1,     /* POST */
	SONDE_PUSH_DELETE = 2   /* DELETE */
} sonde_push_method;

#define SONDE_PUSH_GROUPING_MAX 32 /* grouping labels besides the job */

typedef struct sonde_push_opts {
	size_t size;                 /* sizeof(sonde_push_opts) as the caller was
	                                compiled; fields past it read as zero;
	                                below the first layout (up to format):
	                                SONDE_EINVAL */
	const char *job;             /* required: non-empty UTF-8 */
	const char *const *grouping; /* 2 * ngrouping strings: name, value, ...
	                                names are label names (not "job", not
	                                twice), values any UTF-8, empty too */
	size_t ngrouping;            /* <= SONDE_PUSH_GROUPING_MAX */
	const sonde_header *headers; /* extra request headers (Authorization,
	                                ...); not Host, Content-Length,
	                                Transfer-Encoding or Content-Type,
	                                which the call writes */
	size_t nheaders;
	uint32_t timeout_ms; /* bounds connecting, sending and the
	                        answer, each; 0 = 10000; <= 600000 */
	sonde_format format; /* SONDE_FORMAT_TEXT (the default) or
	                        SONDE_FORMAT_PROTOBUF (native histogram
	                        buckets reach the gateway only so) */
} sonde_push_opts;

/* Zeroes *o and sets size. NULL is a no-op. */
SONDE_API void sonde_push_opts_init(sonde_push_opts *o);

/* Pushes r (NULL = the default registry) to the Pushgateway at
 * gateway_url ("http://host[:port][/prefix]"; port 80 when absent; a
 * prefix is kept, for a gateway behind a path-routing proxy) with method m,
 * into the group o names. The group's path is built as the Pushgateway
 * reads it: a job or label value that is not plain URL-safe text (empty,
 * a '/', spaces, non-ASCII, "." or "..") is sent base64url-encoded with the
 * "@base64" suffix, so any UTF-8 value round-trips. For DELETE r is not
 * read and no body is sent.
 * Blocks the calling thread for at most the connect, send and answer
 * timeouts (plus name resolution, which no deadline bounds: give a numeric
 * address to bound it too). Thread-safe: each call has its own connection.
 * Returns SONDE_OK when the gateway answered 2xx, or:
 *   SONDE_EINVAL     NULL gateway_url or o, a size below the first layout,
 *                    an URL that is not http://host[:port][/path] (https
 *                    included, with the advice above), an empty or invalid
 *                    job, a bad grouping label name, "job" or a name twice,
 *                    too many grouping labels, a bad header, a timeout too
 *                    large, a format other than text or protobuf, an
 *                    unknown method; also when the gateway answered 400
 *                    (the metrics were rejected, for example a type that
 *                    conflicts with another group's): the last error quotes
 *                    its answer;
 *   SONDE_EIO        the connection failed or broke, or the gateway answered
 *                    another non-2xx status (the last error has the status
 *                    and the start of its body);
 *   SONDE_ETIMEDOUT  a deadline passed;
 *   SONDE_ENOMEM     an allocation failed (nothing was sent, or the request
 *                    was cut and the gateway discards it).
 * The last error always names the gateway's address. */
SONDE_API SONDE_WUR int sonde_push(const char *gateway_url, sonde_push_method m, sonde_registry *r,
                                   const sonde_push_opts *o);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_PUSH_H */
