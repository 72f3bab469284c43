/*
 * sonde/exporter.h - an embedded /metrics server, for a host with no HTTP
 * server of its own (a daemon, a worker, a batch job that lives long).
 *
 *   sonde_exporter_opts o;
 *   sonde_exporter_opts_init(&o);
 *   o.address = "0.0.0.0:9464";
 *   sonde_exporter *e = sonde_exporter_start(&o);     // one background thread
 *   ...
 *   sonde_exporter_stop(e);                            // at exit
 *
 * It answers GET and HEAD of:
 *   /metrics (metrics_path)  the registry, format negotiated from Accept as
 *                            sonde_expose_http does (text 0.0.4,
 *                            OpenMetrics, protobuf for a scraper that asks
 *                            for it), gzip when Accept-Encoding allows it
 *                            and zlib is built in;
 *   /healthz, /readyz, /startupz   the liveness, readiness and startup
 *                            probes of a sonde_health, when one is given
 *                            (404 otherwise);
 * 404 for other paths, 405 (Allow: GET, HEAD) for other methods, 400 for a
 * malformed request or one with a body, 408 for a request head not
 * complete within request_timeout_ms, 431 for a head over
 * max_request_bytes, 505 for an HTTP version other than 1.0 and 1.1. Every
 * response closes its connection (Prometheus opens one per scrape).
 *
 * Hardened like a server facing the network: one thread serves at most
 * max_connections connections at once with poll() (a connection beyond is
 * accepted and closed at once); each connection must send its head within
 * request_timeout_ms and take the response within write_timeout_ms, so a
 * slow or silent client holds only its own slot, for a bounded time; the
 * buffers are allocated when the server starts (a response buffer grows to
 * the exposition's size once and is reused); no SIGPIPE (MSG_NOSIGNAL);
 * sockets are non-blocking and close-on-exec. A health probe runs its
 * checks within their own timeouts; during it the other connections wait.
 *
 * TLS is out of scope: put a proxy in front when the scraper needs it.
 */
#ifndef SONDE_EXPORTER_H
#define SONDE_EXPORTER_H

#include "common.h"
#include "health.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SONDE_EXPORTER_MAX_CONNECTIONS 1024

typedef struct sonde_exporter_opts {
	size_t size;                 /* sizeof(sonde_exporter_opts) as the caller
	                                was compiled; fields past it read as zero;
	                                below the first layout (up to metrics_path):
	                                SONDE_EINVAL */
	const char *address;         /* "HOST:PORT", "[IPV6]:PORT" or ":PORT" (every
	                                interface); port 0 picks a free one (see
	                                sonde_exporter_port). NULL = ":9464" */
	sonde_registry *registry;    /* NULL = the default registry */
	sonde_health *health;        /* NULL = no probe paths; must outlive the
	                                exporter */
	uint32_t max_connections;    /* 1..SONDE_EXPORTER_MAX_CONNECTIONS; 0 = 64 */
	uint32_t max_request_bytes;  /* request line + headers, 256..65536;
	                                0 = 8192 */
	uint32_t request_timeout_ms; /* the head must arrive within; 0 = 5000;
	                                <= 600000 */
	uint32_t write_timeout_ms;   /* the response must be taken within; 0 =
	                                10000; <= 600000 */
	const char *metrics_path;    /* NULL = "/metrics"; starts with '/' */
} sonde_exporter_opts;

/* Zeroes *o and sets size. NULL is a no-op. */
SONDE_API void sonde_exporter_opts_init(sonde_exporter_opts *o);

typedef struct sonde_exporter sonde_exporter;

/* Binds, listens and starts the server thread. NULL with the last error:
 * SONDE_EINVAL (NULL opts, a size below the first layout, an address that
 * is not HOST:PORT, a limit out of its range, a metrics_path not starting
 * with '/' or over 255 bytes, or one of the probe paths), SONDE_EIO (the
 * name did not resolve, the address is in use or not ours: the message
 * has the system's reason), SONDE_ENOMEM. */
SONDE_API SONDE_WUR sonde_exporter *sonde_exporter_start(const sonde_exporter_opts *o);

/* The port the server listens on (the one picked for port 0); 0 for NULL. */
SONDE_API uint16_t sonde_exporter_port(const sonde_exporter *e);

/* Stops the server: closes the listener and every connection (a scrape in
 * flight is cut), joins the thread and frees e. Bounded: the thread is
 * woken at once, unless it is running a health probe, whose checks have
 * their own timeouts. In a child process after fork() (where the thread
 * does not exist) it only closes the descriptors and frees e. NULL is a
 * no-op. Returns SONDE_OK. */
SONDE_API int sonde_exporter_stop(sonde_exporter *e);

#ifdef __cplusplus
}
#endif
#endif /* SONDE_EXPORTER_H */
