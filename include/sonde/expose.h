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
	SONDE_FORMAT_OPENMETRICS = 1  /* OpenMetrics 1.0.0 text */
} sonde_format;

#define SONDE_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SONDE_CONTENT_TYPE_OPENMETRICS \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The Content-Type header value for a format; never NULL (unknown formats
 * give the text one). */
SONDE_API const char *sonde_format_content_type(sonde_format fmt);

/* Renders every family of r (NULL = default registry), sorted by name,
 * children in creation order, into out: out is reset first and its memory
 * reused, and out->data is NUL-terminated on success.
 * Counter and histogram values are summed from every thread's cells at the
 * moment each child is rendered; a histogram's +Inf bucket always equals its
 * _count. Safe to call from several threads at once and while other threads
 * increment, create and remove children.
 * Returns SONDE_OK; SONDE_EINVAL (NULL out, unknown format); SONDE_ENOMEM
 * (out keeps what was rendered so far, not a valid exposition). */
SONDE_API SONDE_WUR int sonde_expose(sonde_registry *r, sonde_format fmt, sonde_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_EXPOSE_H */
