/* C code linked into the Rust tests (built by build.rs): sonde's macros,
 * with the inlined hot path, in the same process as the Rust binding. */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sonde.h>
#include <sonde/log.h>

METRIC_DEFINE_COUNTER(c_jobs, "polyglot_c_jobs_total", "Jobs counted by C.");
METRIC_DEFINE_COUNTER_FAMILY(c_req, "polyglot_requests_total", "Requests.", "lang");

void helper_inc(int n);
void helper_inc(int n)
{
	for (int i = 0; i < n; i++) {
		METRIC_INC(c_jobs);
		METRIC_INC_LABELS(c_req, "c");
	}
}

void helper_child_span(char trace_hex[33], char parent_hex[17]);
void helper_child_span(char trace_hex[33], char parent_hex[17])
{
	sonde_span s;
	sonde_span_start(&s, "c-child");
	sonde_id_to_hex(sonde_span_get_context(&s)->trace_id, 16, trace_hex);
	sonde_id_to_hex(s.parent_span_id, 8, parent_hex);
	sonde_span_end(&s);
}

void helper_log(void *l, int n);
void helper_log(void *l, int n)
{
	LOG_INFO((sonde_logger *)l, "from C", LOG_INT("n", n), LOG_STR("lang", "c"));
}

/* sizeof and alignof of a struct by name; 0 when unknown. */
int helper_layout(const char *name, size_t *size, size_t *align);
int helper_layout(const char *name, size_t *size, size_t *align)
{
#define L(t)                                 \
	do {                                 \
		if (strcmp(name, #t) == 0) { \
			*size = sizeof(t);   \
			*align = alignof(t); \
			return 1;            \
		}                            \
	} while (0)
	L(sonde_buf);
	L(sonde_metric_opts);
	L(sonde_span_context);
	L(sonde_context_scope);
	L(sonde_span_attr);
	L(sonde_span);
	L(sonde_traceparent);
	L(sonde_expose_result);
	L(sonde_log_sink_opts);
	L(sonde_log_opts);
	L(sonde_log_field);
	L(sonde_log_site);
	L(sonde_log_scope);
	L(sonde_log_value);
	L(sonde_log_tree);
	L(sonde_health_opts);
	L(sonde_health_check_opts);
	L(sonde_header);
	L(sonde_push_opts);
	L(sonde_exporter_opts);
	L(sonde_span_event);
	L(sonde_span_link);
	L(sonde_http_server_opts);
	L(sonde_otlp_options);
	L(sonde_otlp_stats);
	L(sonde_http_request_info);
	L(sonde_http_request);
#undef L
	return 0;
}

/* offsetof of selected fields the binding reads directly */
size_t helper_offset(int i);
size_t helper_offset(int i)
{
	switch (i) {
	case 0: return offsetof(sonde_span, parent_span_id);
	case 1: return offsetof(sonde_span, duration_ns);
	case 2: return offsetof(sonde_span, status);
	case 3: return offsetof(sonde_span, attrs);
	case 4: return offsetof(sonde_log_site, level);
	case 5: return offsetof(sonde_log_site, nfields);
	case 6: return offsetof(sonde_metric_opts, age_buckets);
	case 7: return offsetof(sonde_log_opts, sink_count);
	case 8: return offsetof(sonde_otlp_options, retry_max_ms);
	case 9: return offsetof(sonde_otlp_stats, dropped_partial);
	}
	return (size_t)-1;
}

static sonde_health_result c_check(void *user, char *msg, size_t cap)
{
	(void)user;
	snprintf(msg, cap, "warned from C");
	return SONDE_HEALTH_WARN;
}

/* A C check on a health object made by Rust. */
int helper_add_health_check(void *h);
int helper_add_health_check(void *h)
{
	sonde_health_check_opts o;
	sonde_health_check_opts_init(&o, "c_side", c_check, NULL);
	return sonde_health_add_check((sonde_health *)h, &o);
}
