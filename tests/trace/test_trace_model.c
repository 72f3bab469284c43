/*
 * tests/trace/test_trace_model.c - the OpenTelemetry span model: recorded
 * spans copy their strings, typed attributes with replace-by-key and
 * limits, events, exceptions, links, kind, status, the span processor's
 * hand-off, the resource and the instrumentation scope.
 */
#include <pthread.h>
#include <unistd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"
#include "trace/span_data.h"

static const sonde_span_attr *find_attr(const sonde_span *s, const char *key)
{
	const sonde_span_attr *a;
	size_t n = sonde_span_get_attrs(s, &a), i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].key, key) == 0)
			return &a[i];
	return NULL;
}

TEST(model_unsampled_span_is_not_recorded)
{
	sonde_span s;
	const sonde_span_event *ev;

	sonde_trace_set_sampler_ratio(0);
	sonde_span_start(&s, "quiet");
	sonde_span_set_int(&s, "n", 1);
	sonde_span_add_event(&s, "e", NULL, 0);
	sonde_span_record_exception(&s, "E", "m", NULL);
	ASSERT_FALSE(sonde_span_is_recording(&s));
	ASSERT_EQ_INT(sonde_span_get_events(&s, &ev), 0);
	ASSERT_NULL(ev);
	/* the inline attributes still read */
	ASSERT_NOT_NULL(find_attr(&s, "n"));
	ASSERT_EQ_INT(s.kind, SONDE_SPAN_KIND_INTERNAL);
	sonde_span_end(&s);
}

TEST(model_recorded_span_copies_name_and_strings)
{
	sonde_span s;
	char name[32], val[32], key[32];
	size_t len;
	const sonde_span_attr *a;

	sonde_trace_set_sampler_ratio(1);
	strcpy(name, "GET /users");
	sonde_span_start(&s, name);
	ASSERT_FALSE(sonde_span_is_recording(&s)); /* no exporter: made on need */
	strcpy(val, "alice");
	sonde_span_set_str(&s, "user", val);
	sonde_span_add_event(&s, "cache miss", NULL, 0);
	ASSERT_TRUE(sonde_span_is_recording(&s));
	/* set after the record exists: key and value copied */
	strcpy(key, "k.dyn");
	strcpy(val, "bob");
	sonde_span_set_strn(&s, key, val, 2);
	memset(name, 'x', sizeof(name) - 1);
	memset(val, 'y', sizeof(val) - 1);
	memset(key, 'z', sizeof(key) - 1);
	ASSERT_STREQ(sonde_span_get_name(&s, &len), "GET /users");
	ASSERT_EQ_INT(len, 10);
	a = find_attr(&s, "user");
	ASSERT_NOT_NULL(a);
	ASSERT_STREQ(a->v.str, "alice");
	a = find_attr(&s, "k.dyn");
	ASSERT_NOT_NULL(a);
	ASSERT_EQ_INT(a->str_len, 2);
	ASSERT_STREQ(a->v.str, "bo");
	ASSERT_TRUE(sonde_span_get_start_unix_ns(&s) > 1600000000000000000LL);
	sonde_span_end(&s);
	ASSERT_FALSE(sonde_span_is_recording(&s));
}

TEST(model_attributes_typed_replaced_limited)
{
	sonde_span s;
	sonde_span_limits l, got;
	const sonde_span_attr *a;
	uint32_t dropped;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.attrs = 4;
	l.attr_value_length = 2;
	ASSERT_OK(sonde_trace_set_limits(&l));
	memset(&got, 0, sizeof(got));
	got.size = sizeof(got);
	sonde_trace_get_limits(&got);
	ASSERT_EQ_INT(got.attrs, 4);
	ASSERT_EQ_INT(got.events, 128);
	ASSERT_EQ_INT(got.attr_value_length, 2);

	sonde_trace_set_sampler_ratio(1);
	sonde_span_start(&s, "typed");
	sonde_span_add_event(&s, "make the record", NULL, 0);
	sonde_span_set_str(&s, "s", "h\xc3\xa9llo"); /* cut at 2 bytes: not inside the é */
	sonde_span_set_int(&s, "i", -42);
	sonde_span_set_double(&s, "d", 0.25);
	sonde_span_set_bool(&s, "b", true);
	sonde_span_set_int(&s, "over", 1); /* the fifth: dropped */
	sonde_span_set_int(&s, "i", 7);    /* replaces */
	ASSERT_EQ_INT(sonde_span_get_attrs(&s, &a), 4);
	ASSERT_EQ_INT(find_attr(&s, "s")->type, SONDE_ATTR_STRING);
	ASSERT_STREQ(find_attr(&s, "s")->v.str, "h");
	ASSERT_EQ_INT(find_attr(&s, "s")->str_len, 1);
	ASSERT_EQ_INT(find_attr(&s, "i")->v.i, 7);
	ASSERT_EQ_DBL(find_attr(&s, "d")->v.d, 0.25);
	ASSERT_TRUE(find_attr(&s, "b")->v.b);
	ASSERT_NULL(find_attr(&s, "over"));
	sonde_span_get_dropped(&s, &dropped, NULL, NULL);
	ASSERT_EQ_INT(dropped, 1);
	/* NULL key: no-op */
	sonde_span_set_int(&s, NULL, 3);
	sonde_span_end(&s);

	l.size = 4;
	ASSERT_EQ_INT(sonde_trace_set_limits(&l), SONDE_EINVAL);
	ASSERT_OK(sonde_trace_set_limits(NULL));
	sonde_trace_get_limits(&got);
	ASSERT_EQ_INT(got.attrs, 128);
	ASSERT_EQ_INT(got.attr_value_length, 0);
}

TEST(model_many_attributes_past_the_inline_room)
{
	sonde_span s;
	char key[32], val[64];
	const sonde_span_attr *a;
	uint32_t dropped;
	int i;

	sonde_trace_set_sampler_ratio(1);
	sonde_span_start(&s, "many");
	sonde_span_add_link(&s, sonde_span_get_context(&s), NULL, 0); /* record */
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "key.%d", i);
		snprintf(val, sizeof(val), "a value long enough to leave the inline bytes %d", i);
		sonde_span_set_str(&s, key, val);
	}
	ASSERT_EQ_INT(sonde_span_get_attrs(&s, &a), 128);
	for (i = 0; i < 128; i++) {
		snprintf(key, sizeof(key), "key.%d", i);
		snprintf(val, sizeof(val), "a value long enough to leave the inline bytes %d", i);
		ASSERT_STREQ(a[i].key, key);
		ASSERT_STREQ(a[i].v.str, val);
	}
	sonde_span_get_dropped(&s, &dropped, NULL, NULL);
	ASSERT_EQ_INT(dropped, 72);
	/* the inline array kept its first 8 and counted the rest, as before */
	ASSERT_EQ_INT(s.attr_count, 8);
	ASSERT_EQ_INT(s.attrs_dropped, 192);
	sonde_span_end(&s);
}

/* Keys that look alike (same length, first and last byte) are different
 * keys; replacing works before and past the inline attributes; an array
 * after odd-sized strings is aligned. */
TEST(model_attribute_keys_alike_replaced_and_arrays_aligned)
{
	static const int64_t ints[3] = {1, -2, 3};
	sonde_span s;
	char key[32];
	const sonde_span_attr *a;
	int i;

	sonde_trace_set_sampler_ratio(1);
	sonde_span_start(&s, "alike");
	sonde_span_add_event(&s, "make the record", NULL, 0);
	sonde_span_set_str(&s, "k1x9", "a");
	sonde_span_set_str(&s, "k2x9", "bc");
	sonde_span_set_int_array(&s, "arr", ints, 3);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "n.%d", i);
		sonde_span_set_int(&s, key, i);
	}
	sonde_span_set_str(&s, "k2x9", "replaced");
	sonde_span_set_int(&s, "n.9", 99); /* attribute 13, past the inline 8 */
	sonde_span_set_int(&s, "n.0", 100);
	ASSERT_EQ_INT(sonde_span_get_attrs(&s, &a), 13);
	ASSERT_STREQ(find_attr(&s, "k1x9")->v.str, "a");
	ASSERT_STREQ(find_attr(&s, "k2x9")->v.str, "replaced");
	ASSERT_EQ_INT(find_attr(&s, "k2x9")->str_len, 8);
	ASSERT_EQ_INT(find_attr(&s, "n.9")->v.i, 99);
	ASSERT_EQ_INT(find_attr(&s, "n.0")->v.i, 100);
	ASSERT_EQ_INT(find_attr(&s, "n.5")->v.i, 5);
	ASSERT_EQ_INT(find_attr(&s, "arr")->str_len, 3);
	ASSERT_EQ_INT((uintptr_t)find_attr(&s, "arr")->v.ints % 8, 0);
	ASSERT_EQ_INT(find_attr(&s, "arr")->v.ints[1], -2);
	ASSERT_STREQ(a[0].key, "k1x9");
	ASSERT_STREQ(a[1].key, "k2x9");
	ASSERT_STREQ(a[12].key, "n.9");
	sonde_span_end(&s);
}

TEST(model_events_exceptions_links)
{
	sonde_span s, other;
	const sonde_span_event *ev;
	const sonde_span_link *ln;
	sonde_span_context bad;
	sonde_span_limits l;
	uint32_t de, dl;
	char msg[32];
	sonde_span_attr ea[3];

	sonde_trace_set_sampler_ratio(1);
	sonde_span_start(&other, "other");
	sonde_span_start(&s, "main");
	ea[0] = sonde_attr_str("retry", "yes");
	ea[1] = sonde_attr_int("attempt", 2);
	ea[2] = sonde_attr_bool("final", false);
	sonde_span_add_event_at(&s, "retrying", 1700000000123456789LL, ea, 3);
	strcpy(msg, "division by zero");
	sonde_span_record_exception(&s, "ZeroDivisionError", msg, "at main.c:12");
	memset(msg, 0, sizeof(msg));
	sonde_span_add_event(&s, NULL, NULL, 0);
	ASSERT_EQ_INT(sonde_span_get_events(&s, &ev), 3);
	ASSERT_STREQ(ev[0].name, "retrying");
	ASSERT_EQ_INT(ev[0].time_unix_ns, 1700000000123456789LL);
	ASSERT_EQ_INT(ev[0].attr_count, 3);
	ASSERT_STREQ(ev[0].attrs[0].v.str, "yes");
	ASSERT_EQ_INT(ev[0].attrs[1].v.i, 2);
	ASSERT_FALSE(ev[0].attrs[2].v.b);
	ASSERT_STREQ(ev[1].name, "exception");
	ASSERT_EQ_INT(ev[1].attr_count, 3);
	ASSERT_STREQ(ev[1].attrs[0].key, "exception.type");
	ASSERT_STREQ(ev[1].attrs[0].v.str, "ZeroDivisionError");
	ASSERT_STREQ(ev[1].attrs[1].key, "exception.message");
	ASSERT_STREQ(ev[1].attrs[1].v.str, "division by zero");
	ASSERT_STREQ(ev[1].attrs[2].key, "exception.stacktrace");
	ASSERT_TRUE(ev[1].time_unix_ns >= sonde_span_get_start_unix_ns(&s));
	ASSERT_STREQ(ev[2].name, "event");
	/* recording an exception does not change the status */
	ASSERT_EQ_INT(s.status, SONDE_SPAN_STATUS_UNSET);

	/* links: a valid context is kept with its attributes, an invalid one ignored */
	sonde_span_add_link(&s, sonde_span_get_context(&other), ea, 2);
	memset(&bad, 0, sizeof(bad));
	sonde_span_add_link(&s, &bad, NULL, 0);
	sonde_span_add_link(&s, NULL, NULL, 0);
	ASSERT_EQ_INT(sonde_span_get_links(&s, &ln), 1);
	ASSERT_TRUE(memcmp(ln[0].trace_id, other.scope.ctx.trace_id, 16) == 0);
	ASSERT_TRUE(memcmp(ln[0].span_id, other.scope.ctx.span_id, 8) == 0);
	ASSERT_EQ_INT(ln[0].trace_flags & SONDE_TRACE_FLAG_SAMPLED, SONDE_TRACE_FLAG_SAMPLED);
	ASSERT_EQ_INT(ln[0].attr_count, 2);

	/* limits on events, links and their attributes */
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.events = 4;
	l.links = 1;
	l.attrs_per_event = 1;
	l.attrs_per_link = 1;
	ASSERT_OK(sonde_trace_set_limits(&l));
	sonde_span_add_event(&s, "fourth", ea, 3);
	sonde_span_add_event(&s, "fifth", NULL, 0);
	sonde_span_add_link(&s, sonde_span_get_context(&other), ea, 3);
	ASSERT_EQ_INT(sonde_span_get_events(&s, &ev), 4);
	ASSERT_EQ_INT(ev[3].attr_count, 1);
	ASSERT_EQ_INT(ev[3].attrs_dropped, 2);
	sonde_span_get_dropped(&s, NULL, &de, &dl);
	ASSERT_EQ_INT(de, 1);
	ASSERT_EQ_INT(dl, 1);
	ASSERT_OK(sonde_trace_set_limits(NULL));
	sonde_span_end(&s);
	sonde_span_end(&other);
	/* after the end: no-ops */
	sonde_span_add_event(&s, "late", NULL, 0);
	ASSERT_EQ_INT(sonde_span_get_events(&s, NULL), 0);
	/* NULL span: no-ops */
	sonde_span_add_event(NULL, "x", NULL, 0);
	sonde_span_record_exception(NULL, "x", "y", "z");
	sonde_span_add_link(NULL, sonde_span_get_context(&other), NULL, 0);
	sonde_span_set_kind(NULL, SONDE_SPAN_KIND_SERVER);
	ASSERT_EQ_INT(sonde_span_get_attrs(NULL, NULL), 0);
	ASSERT_NULL(sonde_span_get_name(NULL, NULL));
}

/* ---- the processor: records leave the span at its end ---------------------------- */

static sonde__span_data *taken[8];
static int ntaken;
static int hook_events;

static void take(sonde__span_data *d, void *arg)
{
	ASSERT_TRUE(arg == (void *)&ntaken);
	if (ntaken < 8)
		taken[ntaken++] = d;
	else
		sonde__span_data_free(d);
}

static void hook(const sonde_span *s, void *arg)
{
	(void)arg;
	/* the hook still reads the record */
	hook_events = (int)sonde_span_get_events(s, NULL);
	ASSERT_TRUE(sonde_span_get_end_unix_ns(s) >= sonde_span_get_start_unix_ns(s));
}

TEST(model_processor_takes_the_record)
{
	static const sonde__span_processor proc = {take, &ntaken};
	sonde_span parent, s, quiet;
	sonde__span_data *d;
	char status[32];

	sonde_trace_set_sampler_ratio(1);
	sonde__trace_set_processor(&proc);
	sonde_trace_set_span_end_hook(hook, NULL);
	sonde_span_start(&parent, "parent");
	sonde_span_start(&s, "child");
	ASSERT_TRUE(sonde_span_is_recording(&s)); /* from the start */
	sonde_span_set_kind(&s, SONDE_SPAN_KIND_CLIENT);
	sonde_span_set_kind(&s, (sonde_span_kind)9); /* ignored */
	ASSERT_EQ_INT(s.kind, SONDE_SPAN_KIND_CLIENT);
	sonde_span_set_str(&s, "http.request.method", "GET");
	sonde_span_add_event(&s, "sent", NULL, 0);
	strcpy(status, "upstream 503");
	sonde_span_set_error(&s, status);
	memset(status, 0, sizeof(status));
	sonde_span_set_status(&s, SONDE_SPAN_STATUS_OK, NULL); /* ERROR stays */
	sonde_span_end(&s);
	ASSERT_EQ_INT(hook_events, 1);
	sonde_span_end(&parent);
	sonde_trace_set_sampler_ratio(0);
	sonde_span_start(&quiet, "unsampled");
	sonde_span_end(&quiet);
	sonde_trace_set_sampler_ratio(1);
	sonde__trace_set_processor(NULL);
	sonde_trace_set_span_end_hook(NULL, NULL);

	ASSERT_EQ_INT(ntaken, 2); /* child, parent; the unsampled one is not recorded */
	d = taken[0];
	ASSERT_STREQ(d->name, "child");
	ASSERT_EQ_INT(d->kind, SONDE_SPAN_KIND_CLIENT);
	ASSERT_EQ_INT(d->status, SONDE_SPAN_STATUS_ERROR);
	ASSERT_STREQ(d->status_msg, "upstream 503");
	ASSERT_EQ_INT(d->attr_count, 1);
	ASSERT_STREQ(d->attrs[0].v.str, "GET");
	ASSERT_EQ_INT(d->event_count, 1);
	ASSERT_TRUE(d->end_unix_ns >= d->start_unix_ns);
	/* wall-clock times agree with the measured duration exactly */
	ASSERT_EQ_INT(d->end_unix_ns - d->start_unix_ns, s.duration_ns);
	ASSERT_TRUE(memcmp(d->parent_span_id, taken[1]->span_id, 8) == 0);
	ASSERT_TRUE(memcmp(d->trace_id, taken[1]->trace_id, 16) == 0);
	ASSERT_TRUE(sonde__id_is_zero(taken[1]->parent_span_id, 8));
	ASSERT_EQ_INT(taken[1]->kind, SONDE_SPAN_KIND_INTERNAL);
	ASSERT_TRUE(taken[1]->start_unix_ns <= d->start_unix_ns);
	ASSERT_TRUE(taken[1]->end_unix_ns >= d->end_unix_ns);
	sonde__span_data_free(taken[0]);
	sonde__span_data_free(taken[1]);
}

/* The wall clock of a span's end comes from an offset between the clocks
 * (no read at the end): it still falls between two reads of the wall clock
 * around the span, within the drift a second can bring (1 ms here). A freed
 * record is a spare the next one reuses, with nothing of the old one. */
static void *spare_thread(void *arg)
{
	sonde__span_data_free(arg); /* freed on another thread, as the exporter does */
	return NULL;
}

TEST(model_end_wall_clock_and_spare_records)
{
	static const sonde__span_processor proc = {take, &ntaken};
	sonde_span s;
	sonde__span_data *first;
	pthread_t t;
	int64_t before, after;
	int i;

	sonde_trace_set_sampler_ratio(1);
	sonde__trace_set_processor(&proc);
	for (i = 0; i < 3; i++) {
		ntaken = 0;
		before = sonde_now_unix_ns();
		sonde_span_start(&s, "timed");
		sonde_span_set_str(&s, "k", "v");
		sonde_span_end(&s);
		after = sonde_now_unix_ns();
		ASSERT_EQ_INT(ntaken, 1);
		ASSERT_TRUE(taken[0]->end_unix_ns >= before - 1000000);
		ASSERT_TRUE(taken[0]->end_unix_ns <= after + 1000000);
		ASSERT_EQ_INT(taken[0]->end_unix_ns - taken[0]->start_unix_ns, s.duration_ns);
		sonde__span_data_free(taken[0]);
		usleep(i == 0 ? 1100000 : 1000); /* the first waits past the anchor's second */
	}
	/* a record freed on another thread is taken again, reset */
	ntaken = 0;
	sonde_span_start(&s, "first");
	sonde_span_set_int(&s, "a", 1);
	sonde_span_add_event(&s, "ev", NULL, 0);
	sonde_span_end(&s);
	ASSERT_EQ_INT(ntaken, 1);
	first = taken[0];
	sonde__span_data_pool_drain();
	ASSERT_EQ_INT(pthread_create(&t, NULL, spare_thread, first), 0);
	ASSERT_EQ_INT(pthread_join(t, NULL), 0);
	ntaken = 0;
	sonde_span_start(&s, "second");
	sonde_span_end(&s);
	sonde__trace_set_processor(NULL);
	ASSERT_EQ_INT(ntaken, 1);
	ASSERT_TRUE(taken[0] == first); /* the spare */
	ASSERT_STREQ(taken[0]->name, "second");
	ASSERT_EQ_INT(taken[0]->attr_count, 0);
	ASSERT_EQ_INT(taken[0]->event_count, 0);
	ASSERT_TRUE(taken[0]->blocks == NULL);
	sonde__span_data_free(taken[0]);
}

/* A thread takes the whole stack of spares into its own list when it
 * needs a record; the rest of that list goes back when the thread exits,
 * and another thread reuses exactly those records (without the give-back
 * they would be lost with the thread: the main thread would allocate new
 * ones at other addresses, the originals still held). */
static void *one_span_thread(void *arg)
{
	sonde_span s;

	(void)arg;
	sonde_span_start(&s, "in a thread");
	sonde_span_end(&s);
	return NULL;
}

TEST(model_spares_of_an_exited_thread_come_back)
{
	static const sonde__span_processor proc = {take, &ntaken};
	sonde__span_data *orig[8], *thr;
	sonde_span s;
	pthread_t t;
	int i, j;

	sonde_trace_set_sampler_ratio(1);
	sonde__trace_set_processor(&proc);
	sonde__span_data_pool_drain();
	ntaken = 0;
	for (i = 0; i < 8; i++) {
		sonde_span_start(&s, "made");
		sonde_span_end(&s);
	}
	ASSERT_EQ_INT(ntaken, 8);
	for (i = 0; i < 8; i++)
		orig[i] = taken[i];
	for (i = 0; i < 8; i++)
		sonde__span_data_free(orig[i]); /* 8 spares on the stack */
	ntaken = 0;
	ASSERT_EQ_INT(pthread_create(&t, NULL, one_span_thread, NULL), 0);
	ASSERT_EQ_INT(pthread_join(t, NULL), 0);
	ASSERT_EQ_INT(ntaken, 1); /* it took all 8, used one, kept 7 */
	thr = taken[0];
	ntaken = 0;
	for (i = 0; i < 7; i++) {
		sonde_span_start(&s, "reused");
		sonde_span_end(&s);
	}
	sonde__trace_set_processor(NULL);
	ASSERT_EQ_INT(ntaken, 7);
	for (i = 0; i < 7; i++) {
		for (j = 0; j < 8 && (taken[i] != orig[j] || taken[i] == thr); j++)
			;
		if (j == 8)
			FAIL("record %d is not one of the spares the exited thread held", i);
	}
	sonde__span_data_free(thr);
	for (i = 0; i < 7; i++)
		sonde__span_data_free(taken[i]);
	sonde__span_data_pool_drain();
}

/* ---- resource and scope -------------------------------------------------------------- */

TEST(model_resource_defaults_and_setters)
{
	char buf[300], host[300], want[64];
	size_t n0;
	pid_t pid;
	int st;

	ASSERT_EQ_INT(sonde_resource_get("telemetry.sdk.name", buf, sizeof(buf)), 5);
	ASSERT_STREQ(buf, "sonde");
	ASSERT_TRUE(sonde_resource_get("telemetry.sdk.language", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "cpp");
	ASSERT_TRUE(sonde_resource_get("telemetry.sdk.version", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, sonde_version());
	ASSERT_TRUE(sonde_resource_get("service.name", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "unknown_service:sonde-tests");
	ASSERT_OK(gethostname(host, sizeof(host)));
	ASSERT_TRUE(sonde_resource_get("host.name", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, host);
	snprintf(want, sizeof(want), "%d", (int)getpid());
	ASSERT_TRUE(sonde_resource_get("process.pid", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, want);
	ASSERT_EQ_INT(sonde_resource_get("service.version", buf, sizeof(buf)), SONDE_ENOENT);
	n0 = sonde_resource_count();
	ASSERT_EQ_INT(n0, 6);

	ASSERT_OK(sonde_resource_set_service("checkout", "1.4.2", "staging"));
	ASSERT_TRUE(sonde_resource_get("service.name", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "checkout");
	ASSERT_TRUE(sonde_resource_get("deployment.environment", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "staging");
	ASSERT_OK(sonde_resource_set_service(NULL, "1.5.0", NULL));
	ASSERT_TRUE(sonde_resource_get("service.version", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "1.5.0");
	ASSERT_TRUE(sonde_resource_get("service.name", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "checkout");
	ASSERT_OK(sonde_resource_set_int("k8s.pod.restarts", -3));
	ASSERT_TRUE(sonde_resource_get("k8s.pod.restarts", buf, sizeof(buf)) > 0);
	ASSERT_STREQ(buf, "-3");
	ASSERT_EQ_INT(sonde_resource_count(), n0 + 3);
	/* cut to the buffer, full length returned */
	ASSERT_EQ_INT(sonde_resource_get("service.name", buf, 4), 8);
	ASSERT_STREQ(buf, "che");
	/* removal */
	ASSERT_OK(sonde_resource_set_str("k8s.pod.restarts", NULL));
	ASSERT_EQ_INT(sonde_resource_get("k8s.pod.restarts", buf, sizeof(buf)), SONDE_ENOENT);
	/* refusals */
	ASSERT_EQ_INT(sonde_resource_set_str(NULL, "x"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_resource_set_str("", "x"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_resource_set_str("k", "\xff"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_resource_set_str("process.pid", "1"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_resource_set_service("", NULL, NULL), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_resource_get(NULL, buf, 1), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_resource_get("service.name", NULL, 1), SONDE_EINVAL);
	/* a forked child reports its own pid */
	pid = fork();
	if (pid == 0) {
		char b2[32], w2[32];
		snprintf(w2, sizeof(w2), "%d", (int)getpid());
		_exit(sonde_resource_get("process.pid", b2, sizeof(b2)) > 0 && !strcmp(b2, w2) &&
		                      sonde_resource_set_str("in.child", "y") == SONDE_OK
		              ? 0
		              : 1);
	}
	ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(model_resource_limit)
{
	char key[32];
	int i, rc = SONDE_OK;

	for (i = 0; i < 200 && rc == SONDE_OK; i++) {
		snprintf(key, sizeof(key), "attr.%d", i);
		rc = sonde_resource_set_str(key, "v");
	}
	ASSERT_EQ_INT(rc, SONDE_ELIMIT);
	ASSERT_EQ_INT(sonde_resource_count(), 129); /* 128 stored + process.pid */
	/* replacing one that exists still works at the limit */
	ASSERT_OK(sonde_resource_set_str("attr.0", "w"));
}

TEST(model_scope)
{
	char name[64], version[64];

	sonde_trace_get_scope(name, sizeof(name), version, sizeof(version));
	ASSERT_STREQ(name, "sonde");
	ASSERT_STREQ(version, sonde_version());
	ASSERT_OK(sonde_trace_set_scope("checkout.db", "2.0"));
	sonde_trace_get_scope(name, sizeof(name), version, sizeof(version));
	ASSERT_STREQ(name, "checkout.db");
	ASSERT_STREQ(version, "2.0");
	ASSERT_OK(sonde_trace_set_scope("noversion", NULL));
	sonde_trace_get_scope(name, 3, version, sizeof(version));
	ASSERT_STREQ(name, "no");
	ASSERT_STREQ(version, "");
	ASSERT_EQ_INT(sonde_trace_set_scope(NULL, "1"), SONDE_EINVAL);
	ASSERT_EQ_INT(sonde_trace_set_scope("", "1"), SONDE_EINVAL);
	sonde_trace_get_scope(NULL, 0, NULL, 0);
}

TEST(model_array_attributes)
{
	sonde_span s;
	const char *names[3];
	char a0[16], a1[16];
	int64_t ints[3] = {1, -2, 3};
	double dbls[2] = {0.5, -1e300};
	bool bools[2] = {true, false};
	const sonde_span_attr *a;
	sonde_span_limits l;

	sonde_trace_set_sampler_ratio(1);
	strcpy(a0, "alpha");
	strcpy(a1, "b\xc3\xa9ta");
	names[0] = a0;
	names[1] = NULL; /* "" */
	names[2] = a1;
	sonde_span_start(&s, "arrays");
	/* inline first: the caller's pointers */
	sonde_span_set_str_array(&s, "tags", names, 3);
	a = find_attr(&s, "tags");
	ASSERT_EQ_INT(a->type, SONDE_ATTR_STRING_ARRAY);
	ASSERT_EQ_INT(a->str_len, 3);
	ASSERT_TRUE(a->v.strs == names);
	/* the record copies them (and the value length limit cuts each) */
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.attr_value_length = 2;
	ASSERT_OK(sonde_trace_set_limits(&l));
	sonde_span_add_event(&s, "record now", NULL, 0);
	sonde_span_set_int_array(&s, "ints", ints, 3);
	sonde_span_set_double_array(&s, "dbls", dbls, 2);
	sonde_span_set_bool_array(&s, "bools", bools, 2);
	sonde_span_set_int_array(&s, "empty", NULL, 5);
	ASSERT_OK(sonde_trace_set_limits(NULL));
	memset(a0, 'x', sizeof(a0) - 1);
	memset(a1, 'x', sizeof(a1) - 1);
	ints[0] = 99;
	dbls[0] = 99;
	bools[0] = false;
	a = find_attr(&s, "tags");
	ASSERT_TRUE(a->v.strs != names);
	ASSERT_STREQ(a->v.strs[0], "al");
	ASSERT_STREQ(a->v.strs[1], "");
	ASSERT_STREQ(a->v.strs[2], "b"); /* not cut inside the é */
	a = find_attr(&s, "ints");
	ASSERT_EQ_INT(a->str_len, 3);
	ASSERT_EQ_INT(a->v.ints[0], 1);
	ASSERT_EQ_INT(a->v.ints[1], -2);
	a = find_attr(&s, "dbls");
	ASSERT_EQ_DBL(a->v.dbls[0], 0.5);
	ASSERT_EQ_DBL(a->v.dbls[1], -1e300);
	a = find_attr(&s, "bools");
	ASSERT_TRUE(a->v.bools[0]);
	ASSERT_FALSE(a->v.bools[1]);
	a = find_attr(&s, "empty");
	ASSERT_EQ_INT(a->type, SONDE_ATTR_INT_ARRAY);
	ASSERT_EQ_INT(a->str_len, 0);
	sonde_span_end(&s);
}
