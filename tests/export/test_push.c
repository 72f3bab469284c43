/*
 * tests/export/test_push.c - sonde_push()'s refusals, each with its status
 * and message, and the errors of the network path that need no gateway.
 * The pushes themselves are checked against the real Pushgateway in
 * tests/integration/test_demo.c (tests/tools/push_gateway.py), and every
 * allocation of a push in tests/integration/test_oom.c.
 */

#include "sonde.h"
#include "test.h"

#define GW "http://127.0.0.1:9"

static void expect(int rc, const char *url, sonde_push_method m, const sonde_push_opts *o,
                   const char *msg)
{
	int got = sonde_push(url, m, NULL, o);
	if (got != rc)
		FAIL("sonde_push returned %d (%s), want %d; %s", got, sonde_status_name(got), rc,
		     sonde_last_error());
	if (!strstr(sonde_last_error(), msg))
		FAIL("message \"%s\" lacks \"%s\"", sonde_last_error(), msg);
}

TEST(push_refuses_bad_arguments)
{
	sonde_push_opts o, old;
	const char *g_job[] = {"job", "x"};
	const char *g_twice[] = {"a", "1", "a", "2"};
	const char *g_bad[] = {"1a", "x"};
	const char *g_reserved[] = {"__name", "x"};
	const char *g_null[] = {"a", NULL};
	const char *g_utf8[] = {"a", "\xff"};
	const char *many[2 * (SONDE_PUSH_GROUPING_MAX + 1)];
	sonde_header h_host = {"Host", 4, "x", 1};
	sonde_header h_crlf = {"X-Token", 7, "a\r\nb", 4};
	sonde_header h_name = {"Bad Name", 8, "x", 1};
	sonde_header h_ctype = {"content-type", 12, "x", 1};

	sonde_push_opts_init(&o);
	o.job = "j";
	expect(SONDE_EINVAL, NULL, SONDE_PUSH_REPLACE, &o, "gateway_url is NULL");
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, NULL, "options are NULL");
	old = o;
	old.size = sizeof(size_t);
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &old, "options size");
	expect(SONDE_EINVAL, GW, (sonde_push_method)7, &o, "unknown method 7");
	expect(SONDE_EINVAL, "https://gw:9091", SONDE_PUSH_REPLACE, &o, "https");
	expect(SONDE_EINVAL, "gw:9091", SONDE_PUSH_REPLACE, &o, "sonde_push");
	expect(SONDE_EINVAL, "http://:9091", SONDE_PUSH_REPLACE, &o, "sonde_push");
	o.format = SONDE_FORMAT_OPENMETRICS;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "text 0.0.4 or protobuf");
	o.format = SONDE_FORMAT_TEXT;
	o.timeout_ms = 600001;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "timeout_ms 600001");
	o.timeout_ms = 0;
	o.job = NULL;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "the job is NULL");
	o.job = "";
	expect(SONDE_EINVAL, GW, SONDE_PUSH_DELETE, &o, "the job is empty");
	o.job = "\xc3";
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "not UTF-8");
	o.job = "j";
	o.ngrouping = 1;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "grouping is NULL");
	o.grouping = g_job;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "\"job\" is the job");
	o.grouping = g_bad;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "invalid at byte 0");
	o.grouping = g_reserved;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "reserved");
	o.grouping = g_null;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "value is NULL");
	o.grouping = g_utf8;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "value is not UTF-8");
	o.grouping = g_twice;
	o.ngrouping = 2;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "\"a\" given twice");
	for (size_t i = 0; i < SONDE_PUSH_GROUPING_MAX + 1; i++) {
		static char names[SONDE_PUSH_GROUPING_MAX + 1][8];
		snprintf(names[i], sizeof(names[i]), "l%zu", i);
		many[2 * i] = names[i];
		many[2 * i + 1] = "v";
	}
	o.grouping = many;
	o.ngrouping = SONDE_PUSH_GROUPING_MAX + 1;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "the limit is 32");
	o.ngrouping = 0;
	o.nheaders = 1;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "sonde_push: headers NULL with a count");
	o.headers = &h_host;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o,
	       "sonde_push: header 0: Host is the client's to write");
	o.headers = &h_crlf;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "sonde_push: header 0: CR, LF or NUL");
	o.headers = &h_name;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "sonde_push: header 0: invalid name");
	o.headers = &h_ctype;
	expect(SONDE_EINVAL, GW, SONDE_PUSH_REPLACE, &o, "Content-Type is written by sonde_push");
	sonde_push_opts_init(NULL); /* a no-op */
}

/* Nobody listens: EIO at once, the message naming the method, the gateway
 * and the group's path (with the job base64-encoded: it has a '/'). */
TEST(push_to_a_dead_port_fails_fast)
{
	sonde_push_opts o;
	char url[64];
	int64_t t0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/gw/", (unsigned)sonde_test_dead_port());
	sonde_push_opts_init(&o);
	o.job = "a/b";
	o.timeout_ms = 2000;
	t0 = sonde_now_mono_ns();
	ASSERT_EQ_INT(sonde_push(url, SONDE_PUSH_ADD, NULL, &o), SONDE_EIO);
	ASSERT_TRUE(sonde_now_mono_ns() - t0 < 2000000000);
	ASSERT_CONTAINS(sonde_last_error(), "POST http://127.0.0.1:");
	ASSERT_CONTAINS(sonde_last_error(), "(/gw/metrics/job@base64/YS9i)");
	ASSERT_CONTAINS(sonde_last_error(), "refused");
}
