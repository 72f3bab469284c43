/*
 * tests/instrument/test_exporter.c - sonde_exporter: the refusals, port 0,
 * an address in use, start and stop, a stop in a forked child; and the
 * server against real clients (tests/tools/exporter_check.py: Python's
 * http.client, promtool, the Python parsers, a real Prometheus, bad and
 * slow clients, a thousand connections).
 */
#include <sys/wait.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

static sonde_exporter *start_on(const char *addr, sonde_registry *r, sonde_health *h)
{
	sonde_exporter_opts o;

	sonde_exporter_opts_init(&o);
	o.address = addr;
	o.registry = r;
	o.health = h;
	return sonde_exporter_start(&o);
}

TEST(exporter_refusals)
{
	sonde_exporter_opts o, small;
	sonde_exporter *e;
	static const char *const bad_addr[] = {"9464",        "host",       "::1:9464",
	                                       "[::1]9464",   "127.0.0.1:", "127.0.0.1:70000",
	                                       "127.0.0.1:9x"};

	ASSERT_NULL(sonde_exporter_start(NULL));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	sonde_exporter_opts_init(&o);
	small = o;
	small.size = 4;
	ASSERT_NULL(sonde_exporter_start(&small));
	for (size_t i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		o.address = bad_addr[i];
		ASSERT_NULL(sonde_exporter_start(&o));
		ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
		ASSERT_CONTAINS(sonde_last_error(), "HOST:PORT");
	}
	o.address = "127.0.0.1:0";
	o.max_connections = SONDE_EXPORTER_MAX_CONNECTIONS + 1;
	ASSERT_NULL(sonde_exporter_start(&o));
	ASSERT_CONTAINS(sonde_last_error(), "out of range");
	o.max_connections = 0;
	o.max_request_bytes = 100;
	ASSERT_NULL(sonde_exporter_start(&o));
	o.max_request_bytes = 0;
	o.metrics_path = "metrics";
	ASSERT_NULL(sonde_exporter_start(&o));
	ASSERT_CONTAINS(sonde_last_error(), "must start with '/'");
	o.metrics_path = "/readyz";
	ASSERT_NULL(sonde_exporter_start(&o));
	o.metrics_path = NULL;
	o.address = "no-such-host.invalid:0";
	ASSERT_NULL(sonde_exporter_start(&o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EIO);
	ASSERT_CONTAINS(sonde_last_error(), "resolving");
	/* port 0 picks one; a second server on that port: in use */
	e = start_on("127.0.0.1:0", NULL, NULL);
	ASSERT_NOT_NULL(e);
	ASSERT_TRUE(sonde_exporter_port(e) > 0);
	{
		char addr[32];
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)sonde_exporter_port(e));
		ASSERT_NULL(start_on(addr, NULL, NULL));
		ASSERT_EQ_INT(sonde_last_status(), SONDE_EIO);
		ASSERT_CONTAINS(sonde_last_error(), "in use");
	}
	ASSERT_OK(sonde_exporter_stop(e));
	ASSERT_OK(sonde_exporter_stop(NULL));
	ASSERT_EQ_INT(sonde_exporter_port(NULL), 0);
	sonde_exporter_opts_init(NULL);
}

/* IPv6 loopback, then a fork: the child's stop does not wait for a thread
 * it does not have; the parent's server still stops cleanly. */
TEST(exporter_ipv6_and_fork)
{
	sonde_exporter *e = start_on("[::1]:0", NULL, NULL);
	pid_t pid;
	int st;

	if (!e && sonde_last_status() == SONDE_EIO) /* no IPv6 on this host */
		e = start_on("127.0.0.1:0", NULL, NULL);
	ASSERT_NOT_NULL(e);
	pid = fork();
	if (pid == 0)
		_exit(sonde_exporter_stop(e) == SONDE_OK ? 0 : 1);
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_OK(sonde_exporter_stop(e));
}

static sonde_health_result pass_check(void *user, char *msg, size_t cap)
{
	(void)user;
	snprintf(msg, cap, "fine");
	return SONDE_HEALTH_PASS;
}

TEST_TIMEOUT(exporter_real_clients_and_bad_ones, 120)
{
	sonde_registry *r = sonde_registry_new();
	sonde_health_opts ho;
	sonde_health_check_opts c;
	sonde_health *h;
	sonde_exporter_opts o;
	sonde_exporter *e;
	char port[8], script[512];
	const char *argv[] = {SONDE_PYTHON, script, port, NULL};
	char *out = NULL;
	int rc;

	if (!sonde_test_have("promtool") || !sonde_test_have("/usr/bin/prometheus"))
		FAIL("promtool and prometheus are needed: apt-get install prometheus");
	sonde_counter_add(sonde_counter_new(r, "exporter_requests_total", "Requests."), 7);
	sonde_histogram_observe(sonde_histogram_new(r, "exporter_seconds", "Time.", NULL, 0), 0.2);
	sonde_health_opts_init(&ho);
	ho.registry = r;
	h = sonde_health_new(&ho);
	ASSERT_NOT_NULL(h);
	sonde_health_check_opts_init(&c, "ok", pass_check, NULL);
	c.probes = SONDE_HEALTH_LIVENESS | SONDE_HEALTH_READINESS;
	ASSERT_OK(sonde_health_add_check(h, &c));
	sonde_exporter_opts_init(&o);
	o.address = "127.0.0.1:0";
	o.registry = r;
	o.health = h;
	o.request_timeout_ms = 500;
	o.max_connections = 16;
	o.max_request_bytes = 1024;
	e = sonde_exporter_start(&o);
	ASSERT_NOT_NULL(e);
	snprintf(port, sizeof(port), "%u", (unsigned)sonde_exporter_port(e));
	snprintf(script, sizeof(script), "%s/tests/tools/exporter_check.py", SONDE_SRC_DIR);
	rc = sonde_test_run(argv, NULL, &out);
	ASSERT_OK(sonde_exporter_stop(e));
	if (rc != 0 || !strstr(out, " checks, 0 problems"))
		FAIL("exporter_check.py exit %d:\n%s", rc, out);
	free(out);
	sonde_health_free(h);
	sonde_registry_free(r);
}
