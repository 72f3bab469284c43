/*
 * examples/service/main.c - sonde-demo: a small HTTP/1.1 service
 * instrumented with every part of sonde (metrics and their exposition,
 * the structured logger, W3C trace context, health checks).
 *
 *   sonde-demo [--listen HOST:PORT] [--duration SECONDS] [--threads N]
 *              [--read-timeout-ms N] [--idle-timeout-ms N]
 *              [--max-header-bytes N] [--max-body-bytes N]
 *              [--allow-remote-callbacks]
 *
 * Human-readable start-up lines go to stderr; stdout carries only the JSON
 * log lines, so `sonde-demo | jq .` works.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sonde.h>

#include "app.h"
#include "server.h"

static demo_server *volatile signal_target;

static void on_signal(int sig)
{
	(void)sig;
	if (signal_target)
		demo_server_stop(signal_target); /* an atomic store and a write(2) */
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: sonde-demo [options]\n"
	        "  --listen HOST:PORT      address to serve (default 127.0.0.1:9464; port 0 picks one)\n"
	        "  --duration SECONDS      stop after this long (default: run until Ctrl-C)\n"
	        "  --threads N             worker threads, 1..64 (default 4)\n"
	        "  --read-timeout-ms N     a request must arrive within N ms, else 408 (default 5000)\n"
	        "  --idle-timeout-ms N     close kept-alive connections idle for N ms (default 5000)\n"
	        "  --max-header-bytes N    request line + headers limit, else 413 (default 16384)\n"
	        "  --max-body-bytes N      Content-Length limit, else 413 (default 65536)\n"
	        "  --allow-remote-callbacks  let POST /test call non-loopback URLs\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces). */
static bool parse_listen(const char *s, demo_config *c)
{
	const char *colon;
	size_t hl;
	long port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return false;
		hl = (size_t)(rb - s - 1);
		s++;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hl = (size_t)(colon - s);
	}
	if (hl >= sizeof(c->host) || !parse_long(colon + 1, 0, 65535, &port))
		return false;
	memcpy(c->host, s, hl);
	c->host[hl] = '\0';
	snprintf(c->port, sizeof(c->port), "%ld", port);
	return true;
}

static int parse_args(int argc, char **argv, demo_config *c)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--allow-remote-callbacks")) {
			c->allow_remote_callbacks = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "sonde-demo: %s needs a value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--listen")) {
			if (!parse_listen(v, c))
				goto bad;
		} else if (!strcmp(a, "--duration")) {
			char *end;
			errno = 0;
			c->duration_s = strtod(v, &end);
			if (errno || end == v || *end || !(c->duration_s >= 0) ||
			    c->duration_s > 1e7)
				goto bad;
		} else if (!strcmp(a, "--threads")) {
			if (!parse_long(v, 1, 64, &n))
				goto bad;
			c->threads = (int)n;
		} else if (!strcmp(a, "--read-timeout-ms")) {
			if (!parse_long(v, 50, 600000, &n))
				goto bad;
			c->read_timeout_ms = (int)n;
		} else if (!strcmp(a, "--idle-timeout-ms")) {
			if (!parse_long(v, 50, 600000, &n))
				goto bad;
			c->idle_timeout_ms = (int)n;
		} else if (!strcmp(a, "--max-header-bytes")) {
			if (!parse_long(v, 1024, 1 << 20, &n))
				goto bad;
			c->max_header_bytes = (size_t)n;
		} else if (!strcmp(a, "--max-body-bytes")) {
			if (!parse_long(v, 0, 16 << 20, &n))
				goto bad;
			c->max_body_bytes = (size_t)n;
		} else {
			fprintf(stderr, "sonde-demo: unknown option %s\n", a);
			usage(stderr);
			return -1;
		}
		continue;
	bad:
		fprintf(stderr, "sonde-demo: bad value for %s: %s\n", a, v);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	demo_config cfg;
	demo_app *app;
	demo_server *srv;
	struct sigaction sa;
	char err[512];
	int64_t deadline = 0;
	const char *why;

	demo_config_defaults(&cfg);
	if (parse_args(argc, argv, &cfg) != 0)
		return 2;
	if (sonde_version_hex() != SONDE_VERSION_HEX) {
		fprintf(stderr, "sonde-demo: built for sonde %s, running with %s\n",
		        SONDE_VERSION_STRING, sonde_version());
		return 1;
	}

	app = demo_app_new(&cfg, err, sizeof(err));
	if (!app) {
		fprintf(stderr, "sonde-demo: %s\n", err);
		return 1;
	}
	srv = demo_server_new(&cfg, app, err, sizeof(err));
	if (!srv || demo_server_start(srv, err, sizeof(err)) != 0 ||
	    demo_app_attach(app, srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "sonde-demo: %s\n", err);
		demo_app_detach(app);
		demo_server_free(srv);
		demo_app_free(app);
		return 1;
	}

	signal_target = srv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fprintf(stderr,
	        "sonde-demo %s listening on http://%s (%d workers)\n"
	        "  curl http://%s/metrics\n"
	        "  curl 'http://%s/work?ms=25'\n"
	        "  curl http://%s/readyz\n"
	        "JSON logs on stdout. %s\n",
	        sonde_version(), demo_server_address(srv), cfg.threads, demo_server_address(srv),
	        demo_server_address(srv), demo_server_address(srv),
	        cfg.duration_s > 0 ? "Stops by itself (--duration); Ctrl-C stops it sooner."
	                           : "Stop with Ctrl-C.");
	fflush(stderr);
	demo_app_log_started(app, demo_server_address(srv), cfg.threads);

	if (cfg.duration_s > 0)
		deadline = sonde_now_mono_ns() + (int64_t)(cfg.duration_s * 1e9);
	demo_server_run(srv, deadline);
	why = deadline && sonde_now_mono_ns() >= deadline ? "duration elapsed" : "signal";
	signal_target = NULL;

	demo_app_log_stopped(app, why);
	demo_app_detach(app);
	demo_server_free(srv);
	demo_app_free(app);
	fprintf(stderr, "sonde-demo: stopped (%s)\n", why);
	return 0;
}
