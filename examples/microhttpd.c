/*
 * examples/microhttpd.c - serving /metrics from libmicrohttpd.
 *
 *   microhttpd [PORT [SECONDS]]     (PORT 0 picks a free one; default 9465)
 *
 * The handler is the whole integration: pass the scraper's Accept and
 * Accept-Encoding headers to sonde_expose_http() and send back the body
 * with the Content-Type (and Content-Encoding) it chose. Build:
 *
 *   cc microhttpd.c $(pkg-config --cflags --libs sonde libmicrohttpd)
 */
/* POSIX.1-2008 (nanosleep, sigtimedwait, pthread_sigmask...): the program
 * builds with plain `cc -std=c11`, which hides them otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sonde.h>

METRIC_DEFINE_COUNTER_FAMILY(scrapes, "example_http_requests_total",
                             "Requests to the example server, by path and status code.", "path",
                             "code");

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	sonde_buf body = SONDE_BUF_INIT;
	sonde_expose_result res;
	struct MHD_Response *r;
	enum MHD_Result ok;
	unsigned code = MHD_HTTP_OK;
	const char *path = "other";

	(void)cls, (void)version, (void)upload_data, (void)upload_data_size, (void)con_cls;
	if (strcmp(url, "/metrics") != 0) {
		code = MHD_HTTP_NOT_FOUND;
	} else if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
		path = "/metrics";
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else {
		path = "/metrics";
		/* count this scrape before rendering, so it sees itself */
		METRIC_INC_LABELS(scrapes, path, "200");
		if (sonde_expose_http(
		            NULL, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept"),
		            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding"),
		            &body, &res) != SONDE_OK) {
			fprintf(stderr, "microhttpd: expose: %s\n", sonde_last_error());
			sonde_buf_destroy(&body);
			code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		}
	}
	if (code != MHD_HTTP_OK) {
		char status[8];
		snprintf(status, sizeof(status), "%u", code);
		METRIC_INC_LABELS(scrapes, path, status);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
		ok = MHD_queue_response(conn, code, r);
		MHD_destroy_response(r);
		return ok;
	}
	/* MUST_COPY: the body lives in sonde's buffer, freed right below */
	r = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
	sonde_buf_destroy(&body);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type);
	if (res.content_encoding)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, res.content_encoding);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	long port = argc > 1 ? strtol(argv[1], NULL, 10) : 9465;
	long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	sigset_t set;
	int sig;

	if (port < 0 || port > 65535 || seconds < 0) {
		fprintf(stderr, "usage: microhttpd [PORT [SECONDS]]\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* SIGINT/SIGTERM are taken with sigwait() below, in no other thread */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
	                     NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
	                     (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	                     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "microhttpd: cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("microhttpd example listening on http://127.0.0.1:%u/metrics\n",
	       info ? (unsigned)info->port : (unsigned)port);
	fflush(stdout);
	if (seconds > 0) {
		struct timespec ts = {seconds, 0};
		while (sigtimedwait(&set, NULL, &ts) < 0 && errno == EINTR)
			;
	} else {
		sigwait(&set, &sig);
	}
	MHD_stop_daemon(d);
	return 0;
}
