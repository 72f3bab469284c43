/*
 * sonde/expose.h - rendering a registry for a scraper.
 *
 * The host's own HTTP server sends what sonde renders: sonde_expose() fills
 * a reusable buffer; the Content-Type to send goes with the format.
 */
#ifndef SONDE_EXPOSE_H
#define SONDE_EXPOSE_H

#include "common.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sonde_format {
	SONDE_FORMAT_TEXT = 0,        /* Prometheus text format 0.0.4 */
	SONDE_FORMAT_OPENMETRICS = 1, /* OpenMetrics 1.0.0 text */
	SONDE_FORMAT_PROTOBUF = 2     /* Prometheus protobuf, length-delimited
	                                 io.prometheus.client.MetricFamily
	                                 messages: the only format with native
	                                 histogram buckets */
} sonde_format;

#define SONDE_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SONDE_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define SONDE_CONTENT_TYPE_PROTOBUF                                                  \
	"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; " \
	"encoding=delimited"

/* The Content-Type header value for a format; never NULL (unknown formats
 * give the text one). */
SONDE_API const char *sonde_format_content_type(sonde_format fmt);

/* Renders every family of r (NULL = default registry), sorted by name,
 * children in creation order, into out: out is reset first and its memory
 * reused, and out->data is NUL-terminated on success (SONDE_FORMAT_PROTOBUF
 * is binary: use out->len, not the NUL). The protobuf format names and
 * types metrics as text 0.0.4 does (info: a gauge base_info; stateset: a
 * gauge per state), carries exemplars (counters, histogram buckets) and
 * native histograms, and leaves a classic histogram's +Inf bucket out
 * unless it has an exemplar (its count is sample_count).
 * Counter and histogram values are summed from every thread's cells at the
 * moment each child is rendered; a histogram's +Inf bucket always equals its
 * _count. Safe to call from several threads at once and while other threads
 * increment, create and remove children.
 * Returns SONDE_OK; SONDE_EINVAL (NULL out, unknown format); SONDE_ENOMEM
 * (out keeps what was rendered so far, not a valid exposition). */
SONDE_API SONDE_WUR int sonde_expose(sonde_registry *r, sonde_format fmt, sonde_buf *out);

/* Picks the format for a scraper's Accept header, as Prometheus' own
 * client does: media ranges in order of q; the first of
 * application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily
 * and encoding=delimited (what Prometheus sends first when native
 * histograms are enabled; never chosen otherwise: no wildcard selects it),
 * application/openmetrics-text (version 1.0.0, 0.0.1 or none) or
 * text/plain (version 0.0.4 or none) wins; anything else, NULL, empty or
 * malformed input gives text 0.0.4. accept has len bytes (SIZE_MAX: it is
 * NUL-terminated); at most 32 media ranges are considered. Fills *fmt and
 * *content_type (static strings; either pointer may be NULL, not both).
 * Never allocates. SONDE_EINVAL when both outputs are NULL. */
SONDE_API int sonde_expose_negotiate(const char *accept, size_t len, sonde_format *fmt,
                                     const char **content_type);

/* True when an Accept-Encoding header allows gzip (gzip or x-gzip with
 * q > 0, or * with q > 0 and gzip not refused with q=0). NULL gives false.
 * len as for sonde_expose_negotiate. */
SONDE_API bool sonde_accepts_gzip(const char *accept_encoding, size_t len);

typedef struct sonde_expose_result {
	sonde_format format;
	const char *content_type;     /* the Content-Type header to send */
	const char *content_encoding; /* "gzip", or NULL for none */
} sonde_expose_result;

/* One call for a /metrics handler: negotiates the format from accept
 * (NUL-terminated, may be NULL), renders r (NULL = default registry) into
 * body, and gzips it when accept_encoding allows and sonde was built with
 * zlib. The headers to send are in *res (static strings).
 * SONDE_EINVAL on NULL body or res; SONDE_ENOMEM; SONDE_EIO if zlib fails. */
SONDE_API SONDE_WUR int sonde_expose_http(sonde_registry *r, const char *accept,
                                          const char *accept_encoding, sonde_buf *body,
                                          sonde_expose_result *res);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_EXPOSE_H */
