/*
 * tests/integration/test_demo.c - sonde-demo (examples/service) and the other examples
 * against real clients we did not write: promtool, prometheus_client's
 * parsers, a Prometheus server, and a stand-in for the W3C trace-context
 * harness. Each test runs a script from tests/tools/ against the examples
 * built for this variant (build/<variant>/examples: under `make test-asan`
 * the demo runs with ASan+UBSan and a report fails the test). The scripts
 * start every process on loopback with a free port, bound every wait, and
 * kill what they started on every path; the runner's timeout kills the
 * test's whole process group as a last resort.
 */
#include <unistd.h>

#include "sonde.h"
#include "test.h"

#define EXAMPLES_DIR SONDE_VARIANT_DIR "/examples"
#define TOOLS_DIR SONDE_SRC_DIR "/tests/tools"

/* Runs `python3 tools/<script> args...` and requires exit 0 and the
 * script's verdict line "<name>: N checks, 0 problems". */
static void run_script(const char *script, const char *arg1, const char *arg2)
{
	char path[512];
	const char *argv[] = {SONDE_PYTHON, path, arg1, arg2, NULL};
	char *out = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", TOOLS_DIR, script);
	for (int i = 2; i < 4 && argv[i]; i++)
		if (argv[i][0] == '/' && access(argv[i], X_OK) != 0)
			FAIL("%s is missing: build it with `make examples` or the test target",
			     argv[i]);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0 || !strstr(out, " checks, 0 problems"))
		FAIL("%s exit %d:\n%s", script, rc, out);
	free(out);
}

static void need(const char *prog, const char *package)
{
	if (!sonde_test_have(prog))
		FAIL("%s not found: apt-get install %s", prog, package);
}

/* A known number of requests; /metrics checked by promtool, the Python
 * text and OpenMetrics parsers and gzip; exact counts; exemplars; the JSON
 * log lines and their trace ids. */
TEST_TIMEOUT(demo_metrics_real_parsers, 60)
{
	need("promtool", "prometheus");
	run_script("demo_scrape.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* SONDE_LOG_FORMAT=ecs / otel / an unknown value: the demo's lines take
 * the profile; a 5xx line carries request_id and the error field. */
TEST_TIMEOUT(demo_log_format_env, 60)
{
	run_script("demo_logformat.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* 400/404/405/408/413/501/505 for bad and slow clients, pipelining,
 * keep-alive, idle timeout, 100-continue, a graceful stop. */
TEST_TIMEOUT(demo_bad_and_slow_clients, 60)
{
	run_script("demo_robustness.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* /healthz, /readyz, /startupz through the health API. */
TEST_TIMEOUT(demo_health_endpoints, 30)
{
	run_script("demo_health.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* The W3C trace-context test-service protocol, played by a stdlib harness. */
TEST_TIMEOUT(demo_w3c_trace_context_harness, 60)
{
	run_script("w3c_harness.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* A real Prometheus scrapes the demo; its stored counts equal what was sent. */
TEST_TIMEOUT(demo_prometheus_server_scrape, 90)
{
	need("/usr/bin/prometheus", "prometheus");
	need("promtool", "prometheus");
	run_script("demo_prometheus.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* Prometheus with native histograms on scrapes the demo over protobuf:
 * histogram_count/_sum/_quantile of the native series match the durations
 * the demo logged (issue 17). */
TEST_TIMEOUT(demo_prometheus_native_histogram, 90)
{
	need("/usr/bin/prometheus", "prometheus");
	need("promtool", "prometheus");
	run_script("demo_prometheus_native.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* examples/log_and_trace: two threads, one trace; spans, logs, exemplars. */
TEST_TIMEOUT(demo_example_log_and_trace, 30)
{
	run_script("demo_examples.py", "log_and_trace", EXAMPLES_DIR "/log_and_trace");
}

/* `make demo | jq .` from a fresh clone: stdout carries JSON lines only,
 * the build's compile lines go to stderr (issue 13.19). */
TEST_TIMEOUT(demo_make_stdout_is_json_only, 300)
{
	run_script("demo_examples.py", "make_demo", SONDE_VARIANT_DIR);
}

/* The README's quick start is examples/minimal.c byte for byte, and the
 * one-file examples build with plain `cc -std=c11` (issue 13.22). */
TEST_TIMEOUT(demo_readme_quick_start_is_minimal_c, 120)
{
	run_script("demo_examples.py", "readme", SONDE_VARIANT_DIR);
}

/* examples/microhttpd: /metrics served from libmicrohttpd. */
TEST_TIMEOUT(demo_example_microhttpd, 30)
{
	if (access(EXAMPLES_DIR "/microhttpd", X_OK) != 0)
		FAIL("examples/microhttpd was not built: apt-get install libmicrohttpd-dev "
		     "(the Makefile builds it when the library links)");
	need("promtool", "prometheus");
	run_script("demo_examples.py", "microhttpd", EXAMPLES_DIR "/microhttpd");
}

/* examples/push.c (sonde_push) against the real Pushgateway: PUT, POST and
 * DELETE semantics, base64 group paths, protobuf, the gateway's 400. */
TEST_TIMEOUT(demo_example_push_to_real_pushgateway, 60)
{
	if (!sonde_test_have("prometheus-pushgateway") && !sonde_test_have("pushgateway"))
		FAIL("prometheus-pushgateway not found: apt-get install prometheus-pushgateway");
	run_script("push_gateway.py", EXAMPLES_DIR "/sonde-push-example", NULL);
}

/* examples/monitoring: promtool check/test rules, then a real Prometheus
 * with rules.yml scrapes the demo under traffic: every dashboard.json
 * panel query returns data, every rule is healthy, the burn-rate pages
 * fire for the demo's 5xx and slow requests. */
TEST_TIMEOUT(demo_monitoring_rules_and_dashboard, 120)
{
	need("/usr/bin/prometheus", "prometheus");
	need("promtool", "prometheus");
	run_script("monitoring_check.py", EXAMPLES_DIR "/sonde-demo", NULL);
}

/* OTLP: one SERVER span per request continuing traceparent, HTTP semantic
 * conventions, error status on a 5xx, the work child span, service.name
 * sonde-demo, decoded with the OpenTelemetry project's definitions. */
TEST_TIMEOUT(demo_otlp_export, 60)
{
	need("node", "nodejs npm");
	run_script("demo_otlp.py", EXAMPLES_DIR "/sonde-demo", NULL);
}
