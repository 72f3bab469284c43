/*
 * sonde_node.c - the N-API addon under bindings/node (index.js wraps it).
 *
 * One copy of libsonde per process: Node loads this shared object once and
 * calls the module's init once per environment (the main thread and every
 * worker_threads Worker). The sonde registries, the logger and its backend
 * thread are process-wide, so every thread increments the same per-thread
 * cells and one scrape sees them all. What is per environment (a scratch
 * buffer for expositions, the trace carrier) lives in the environment's
 * instance data (napi_set_instance_data), never in a global.
 *
 * Bad input never crashes: a wrong type throws TypeError, an out-of-range
 * value RangeError, and a refusal of libsonde throws the error class of its
 * status with sonde_last_error() as the message and the status code in
 * err.status / err.code ("SONDE_EINVAL"...).
 */
#include <node_api.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sonde.h>

#include "relabel.h"

/* ---- per-environment state ------------------------------------------------ */
typedef struct env_state {
	sonde_buf buf; /* expositions and health bodies rendered on this thread */
	sonde_buf rew; /* the default-label rewrite of buf (plain malloc: relabel.c) */
	sonde_trace_carrier *carrier;
} env_state;

static void env_state_free(napi_env env, void *data, void *hint)
{
	env_state *st = data;
	(void)env;
	(void)hint;
	sonde_buf_destroy(&st->buf);
	free(st->rew.data);
	sonde_trace_carrier_free(st->carrier);
	free(st);
}

static env_state *state(napi_env env)
{
	void *p = NULL;
	napi_get_instance_data(env, &p);
	return p;
}

/* ---- errors ------------------------------------------------------------------ */
static bool pending(napi_env env)
{
	bool b = false;
	napi_is_exception_pending(env, &b);
	return b;
}

static void throw_kind(napi_env env, int kind, const char *code, const char *msg, int status)
{
	napi_value c, m, err, st;
	if (pending(env))
		return;
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
	if (kind == 1)
		napi_create_type_error(env, c, m, &err);
	else if (kind == 2)
		napi_create_range_error(env, c, m, &err);
	else
		napi_create_error(env, c, m, &err);
	if (status != 0) {
		napi_create_int32(env, status, &st);
		napi_set_named_property(env, err, "status", st);
	}
	napi_throw(env, err);
}

static napi_value type_error(napi_env env, const char *fmt, const char *what)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, what);
	throw_kind(env, 1, "ERR_INVALID_ARG_TYPE", msg, 0);
	return NULL;
}

static napi_value range_error(napi_env env, const char *msg)
{
	throw_kind(env, 2, "ERR_OUT_OF_RANGE", msg, 0);
	return NULL;
}

/* Throws what libsonde said about its last failure on this thread. */
static napi_value throw_sonde(napi_env env, int status)
{
	char code[48];
	const char *msg = sonde_last_error();
	int kind = 0;
	if (status == 0)
		status = sonde_last_status();
	snprintf(code, sizeof code, "SONDE_%s", sonde_status_name(status));
	if (status == SONDE_EINVAL || status == SONDE_ETYPE)
		kind = 1;
	else if (status == SONDE_ERANGE || status == SONDE_ELIMIT)
		kind = 2;
	throw_kind(env, kind, code, msg && *msg ? msg : sonde_strerror(status), status);
	return NULL;
}

/* A failed napi call: a JS exception is usually pending already. */
static napi_value napi_fail(napi_env env)
{
	if (!pending(env)) {
		const napi_extended_error_info *e = NULL;
		napi_get_last_error_info(env, &e);
		throw_kind(env, 0, "ERR_SONDE_NAPI",
		           e && e->error_message ? e->error_message : "N-API call failed", 0);
	}
	return NULL;
}

#define NCHECK(call)                           \
	do {                                   \
		if ((call) != napi_ok)         \
			return napi_fail(env); \
	} while (0)

#define ARGS(n)                                                        \
	size_t argc = (n);                                             \
	napi_value argv[(n) > 0 ? (n) : 1];                            \
	void *data = NULL;                                             \
	NCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, &data)); \
	for (size_t i_ = argc; i_ < (size_t)(n); i_++)                 \
		napi_get_undefined(env, &argv[i_]);                    \
	(void)data

/* ---- argument helpers ------------------------------------------------------- */
static napi_valuetype type_of(napi_env env, napi_value v)
{
	napi_valuetype t = napi_undefined;
	napi_typeof(env, v, &t);
	return t;
}

static const char *type_name(napi_valuetype t)
{
	switch (t) {
	case napi_undefined: return "undefined";
	case napi_null: return "null";
	case napi_boolean: return "boolean";
	case napi_number: return "number";
	case napi_string: return "string";
	case napi_symbol: return "symbol";
	case napi_object: return "object";
	case napi_function: return "function";
	case napi_external: return "external";
	case napi_bigint: return "bigint";
	}
	return "value";
}

/* A JS string as UTF-8 in malloc'd memory (NUL-terminated, *len bytes).
 * max: the largest accepted size in bytes (RangeError beyond, before
 * anything is copied). nul_ok: whether embedded NULs are allowed. */
static char *get_str(napi_env env, napi_value v, const char *what, size_t max, bool nul_ok,
                     size_t *len)
{
	size_t n = 0;
	char *s;
	napi_valuetype t = type_of(env, v);
	if (t != napi_string) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s must be a string, got %s", what, type_name(t));
		throw_kind(env, 1, "ERR_INVALID_ARG_TYPE", msg, 0);
		return NULL;
	}
	if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
		napi_fail(env);
		return NULL;
	}
	if (n > max) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s is %zu bytes long, more than the limit of %zu", what,
		         n, max);
		range_error(env, msg);
		return NULL;
	}
	s = malloc(n + 1);
	if (!s) {
		throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, n + 1, &n);
	if (!nul_ok && strlen(s) != n) {
		char msg[300];
		free(s);
		snprintf(msg, sizeof msg, "%s contains a NUL character", what);
		throw_kind(env, 1, "ERR_INVALID_ARG_VALUE", msg, 0);
		return NULL;
	}
	if (len)
		*len = n;
	return s;
}

/* A finite (or, with inf_ok, infinite) number. */
static bool get_num(napi_env env, napi_value v, const char *what, bool inf_ok, double *out)
{
	/* one call on the hot path: napi_number_expected for anything else */
	if (napi_get_value_double(env, v, out) != napi_ok) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s must be a number, got %s", what,
		         type_name(type_of(env, v)));
		throw_kind(env, 1, "ERR_INVALID_ARG_TYPE", msg, 0);
		return false;
	}
	if (isnan(*out) || (!inf_ok && isinf(*out))) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s must be a %snumber, got %g", what,
		         inf_ok ? "" : "finite ", *out);
		range_error(env, msg);
		return false;
	}
	return true;
}

/* Every handle given to JavaScript is an external tagged with its kind
 * (napi_type_tag_object), so a handle of one kind passed where another is
 * expected is a TypeError, never a cast. */
static const napi_type_tag tags[] = {
        {0x736f6e6465000001ULL, 0x7265676973747279ULL}, /* registry */
        {0x736f6e6465000002ULL, 0x66616d696c790000ULL}, /* family */
        {0x736f6e6465000003ULL, 0x7370616e00000000ULL}, /* span */
        {0x736f6e6465000004ULL, 0x6c6f676765720000ULL}, /* logger */
        {0x736f6e6465000005ULL, 0x6865616c74680000ULL}, /* health */
};

static const napi_type_tag *tag_of(const char *what)
{
	switch (what[0]) {
	case 'r': return &tags[0];
	case 'f': return &tags[1];
	case 's': return &tags[2];
	case 'l': return &tags[3];
	default: return &tags[4];
	}
}

static void *get_ext(napi_env env, napi_value v, const char *what)
{
	void *p = NULL;
	bool ok = false;
	if (type_of(env, v) != napi_external ||
	    napi_check_object_type_tag(env, v, tag_of(what), &ok) != napi_ok || !ok ||
	    napi_get_value_external(env, v, &p) != napi_ok || !p) {
		type_error(env, "%s: not a sonde handle of this kind", what);
		return NULL;
	}
	return p;
}

static napi_value num(napi_env env, double d)
{
	napi_value v;
	napi_create_double(env, d, &v);
	return v;
}

static napi_value str(napi_env env, const char *s, size_t n)
{
	napi_value v;
	napi_create_string_utf8(env, s, n, &v);
	return v;
}

static napi_value undef(napi_env env)
{
	napi_value v;
	napi_get_undefined(env, &v);
	return v;
}

/* what: "registry", "family", "span", "logger" or "health" */
static napi_value ext(napi_env env, void *p, napi_finalize fin, const char *what)
{
	napi_value v;
	if (napi_create_external(env, p, fin, NULL, &v) != napi_ok ||
	    napi_type_tag_object(env, v, tag_of(what)) != napi_ok)
		return napi_fail(env);
	return v;
}

/* A JS array of strings as C strings (each malloc'd). *n receives the
 * count; free with free_strs. NULL (with an exception) on bad input. */
typedef struct strs {
	size_t n;
	char **s;
	size_t *len;
} strs;

static void free_strs(strs *a)
{
	for (size_t i = 0; a->s && i < a->n; i++)
		free(a->s[i]);
	free(a->s);
	free(a->len);
	a->s = NULL;
	a->len = NULL;
	a->n = 0;
}

static bool get_strs(napi_env env, napi_value arr, const char *what, size_t max_n, size_t max_len,
                     bool nul_ok, strs *out)
{
	bool is = false;
	uint32_t n = 0;
	memset(out, 0, sizeof *out);
	napi_is_array(env, arr, &is);
	if (!is) {
		type_error(env, "%s must be an array of strings", what);
		return false;
	}
	napi_get_array_length(env, arr, &n);
	if (n > max_n) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s has %u entries, more than the limit of %zu", what, n,
		         max_n);
		range_error(env, msg);
		return false;
	}
	out->s = calloc(n ? n : 1, sizeof *out->s);
	out->len = calloc(n ? n : 1, sizeof *out->len);
	if (!out->s || !out->len) {
		free_strs(out);
		throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_value e;
		char w[200];
		napi_get_element(env, arr, i, &e);
		snprintf(w, sizeof w, "%s[%u]", what, i);
		out->s[i] = get_str(env, e, w, max_len, nul_ok, &out->len[i]);
		out->n = i + 1;
		if (!out->s[i]) {
			free_strs(out);
			return false;
		}
	}
	out->n = n;
	return true;
}

/* An exemplar's label names and values (two arrays of equal length); on
 * false an exception is pending and nothing is left to free. */
static bool get_exemplar(napi_env env, napi_value nv, napi_value vv, strs *names, strs *vals)
{
	if (!get_strs(env, nv, "exemplar label names", 64, SONDE_NAME_MAX, false, names))
		return false;
	if (!get_strs(env, vv, "exemplar label values", 64, SONDE_LABEL_VALUE_MAX, false, vals)) {
		free_strs(names);
		return false;
	}
	if (names->n != vals->n) {
		free_strs(names);
		free_strs(vals);
		type_error(env, "%s: names and values differ in count", "exemplar labels");
		return false;
	}
	return true;
}

static bool get_nums(napi_env env, napi_value arr, const char *what, size_t max_n, double *out,
                     size_t *n_out)
{
	bool is = false;
	uint32_t n = 0;
	napi_is_array(env, arr, &is);
	if (!is) {
		type_error(env, "%s must be an array of numbers", what);
		return false;
	}
	napi_get_array_length(env, arr, &n);
	if (n > max_n) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s has %u entries, more than the limit of %zu", what, n,
		         max_n);
		range_error(env, msg);
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_value e;
		char w[200];
		napi_get_element(env, arr, i, &e);
		snprintf(w, sizeof w, "%s[%u]", what, i);
		if (!get_num(env, e, w, true, &out[i]))
			return false;
	}
	*n_out = n;
	return true;
}

static napi_value prop(napi_env env, napi_value obj, const char *name)
{
	napi_value v = NULL;
	if (napi_get_named_property(env, obj, name, &v) != napi_ok)
		napi_get_undefined(env, &v);
	return v;
}

static bool is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t = type_of(env, v);
	return t == napi_undefined || t == napi_null;
}

/* ---- status, version --------------------------------------------------------- */
static napi_value n_version(napi_env env, napi_callback_info info)
{
	return str(env, sonde_version(), NAPI_AUTO_LENGTH);
}

static napi_value n_last_error(napi_env env, napi_callback_info info)
{
	napi_value o;
	int st = sonde_last_status();
	NCHECK(napi_create_object(env, &o));
	napi_set_named_property(env, o, "status", num(env, st));
	napi_set_named_property(env, o, "name", str(env, sonde_status_name(st), NAPI_AUTO_LENGTH));
	napi_set_named_property(env, o, "message", str(env, sonde_last_error(), NAPI_AUTO_LENGTH));
	return o;
}

/* ---- registries ---------------------------------------------------------------- */
static void registry_fin(napi_env env, void *p, void *hint)
{
	sonde_registry_free(p);
}

static pthread_once_t detached_once = PTHREAD_ONCE_INIT;
static sonde_registry *detached;
static void detached_make(void)
{
	detached = sonde_registry_new();
}

static napi_value n_registry(napi_env env, napi_callback_info info)
{
	ARGS(1);
	/* "default", "new" or "detached" (metrics created with registers: [],
	 * never exposed: the process-wide holding registry) */
	char *kind = get_str(env, argv[0], "registry kind", 16, false, NULL);
	sonde_registry *r;
	napi_value v;
	if (!kind)
		return NULL;
	if (strcmp(kind, "default") == 0) {
		r = sonde_registry_default();
		v = r ? ext(env, r, NULL, "registry") : NULL;
	} else if (strcmp(kind, "new") == 0) {
		r = sonde_registry_new();
		v = r ? ext(env, r, registry_fin, "registry") : NULL;
	} else {
		pthread_once(&detached_once, detached_make);
		r = detached;
		v = r ? ext(env, r, NULL, "registry") : NULL;
	}
	free(kind);
	if (!r)
		return throw_sonde(env, 0);
	return v;
}

/* familyNew(reg, {type, name, help, labelNames, buckets, percentiles,
 *            maxAgeSeconds, ageBuckets, unit}) */
static napi_value n_family_new(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_registry *r = get_ext(env, argv[0], "registry");
	napi_value o = argv[1];
	sonde_metric_opts mo;
	char *name = NULL, *help = NULL, *unit = NULL;
	strs labels = {0, NULL, NULL};
	double bounds[SONDE_BUCKETS_MAX + 1], qs[SONDE_QUANTILES_MAX + 1];
	size_t nb = 0, nq = 0;
	int32_t type = 0;
	napi_value v;
	sonde_family *f = NULL;

	if (!r)
		return NULL;
	if (type_of(env, o) != napi_object)
		return type_error(env, "%s must be an object", "metric options");
	napi_get_value_int32(env, prop(env, o, "type"), &type);
	name = get_str(env, prop(env, o, "name"), "name", SONDE_NAME_MAX, false, NULL);
	if (!name)
		goto out;
	v = prop(env, o, "help");
	if (!is_nullish(env, v) && !(help = get_str(env, v, "help", SONDE_HELP_MAX, false, NULL)))
		goto out;
	v = prop(env, o, "unit");
	if (!is_nullish(env, v) && !(unit = get_str(env, v, "unit", SONDE_NAME_MAX, false, NULL)))
		goto out;
	v = prop(env, o, "labelNames");
	if (!is_nullish(env, v) &&
	    !get_strs(env, v, "labelNames", SONDE_LABELS_MAX, SONDE_NAME_MAX, false, &labels))
		goto out;
	sonde_metric_opts_init(&mo, (sonde_metric_type)type, name, help);
	mo.unit = unit;
	mo.label_names = (const char *const *)labels.s;
	mo.label_count = labels.n;
	v = prop(env, o, "buckets");
	if (!is_nullish(env, v)) {
		if (!get_nums(env, v, "buckets", SONDE_BUCKETS_MAX + 1, bounds, &nb))
			goto out;
		/* prom-client lists +Inf at the end sometimes; sonde adds it itself */
		if (nb > 0 && isinf(bounds[nb - 1]) && bounds[nb - 1] > 0)
			nb--;
		if (nb > 0) {
			mo.buckets = bounds;
			mo.bucket_count = nb;
		}
	}
	v = prop(env, o, "percentiles");
	if (!is_nullish(env, v)) {
		if (!get_nums(env, v, "percentiles", SONDE_QUANTILES_MAX, qs, &nq))
			goto out;
		if (nq > 0) {
			mo.quantiles = qs;
			mo.quantile_count = nq;
		}
	}
	v = prop(env, o, "maxAgeSeconds");
	if (!is_nullish(env, v) && !get_num(env, v, "maxAgeSeconds", false, &mo.max_age_seconds))
		goto out;
	v = prop(env, o, "ageBuckets");
	if (!is_nullish(env, v)) {
		double d;
		if (!get_num(env, v, "ageBuckets", false, &d))
			goto out;
		if (d < 1 || d > 16 || d != floor(d)) {
			range_error(env, "ageBuckets must be an integer from 1 to 16");
			goto out;
		}
		mo.age_buckets = (unsigned)d;
	}
	f = sonde_family_new(r, &mo);
	if (!f)
		throw_sonde(env, 0);
out:
	free(name);
	free(help);
	free(unit);
	free_strs(&labels);
	return f ? ext(env, f, NULL, "family") : NULL;
}

static napi_value n_family_unregister(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_registry *r = get_ext(env, argv[0], "registry");
	sonde_family *f = r ? get_ext(env, argv[1], "family") : NULL;
	int rc;
	if (!f)
		return NULL;
	rc = sonde_registry_unregister(r, f);
	if (rc != 0)
		return throw_sonde(env, rc);
	return undef(env);
}

/* ---- children: bound native functions (data = the child handle) -------------- */
static napi_value c_counter_add(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	void *c = NULL;
	double d;
	NCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, &c));
	if (argc == 0 || type_of(env, argv[0]) == napi_undefined) {
		sonde_counter_inc(c);
		return NULL;
	}
	if (!get_num(env, argv[0], "counter increment", true, &d))
		return NULL;
	if (d < 0)
		return range_error(env, "counter increment must not be negative: a counter only "
		                        "goes up (use a Gauge)");
	sonde_counter_add(c, d);
	return NULL;
}

static napi_value c_counter_value(napi_env env, napi_callback_info info)
{
	void *c = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &c));
	return num(env, sonde_counter_value(c));
}

/* exemplar(value, names[], values[]): count value with an exemplar */
static napi_value c_counter_exemplar(napi_env env, napi_callback_info info)
{
	ARGS(3);
	double d;
	strs names, vals;
	int rc;
	if (!get_num(env, argv[0], "counter increment", true, &d))
		return NULL;
	if (d < 0)
		return range_error(env, "counter increment must not be negative");
	if (!get_exemplar(env, argv[1], argv[2], &names, &vals))
		return NULL;
	rc = sonde_counter_add_exemplar_labels(data, d, names.n, (const char *const *)names.s,
	                                       (const char *const *)vals.s);
	free_strs(&names);
	free_strs(&vals);
	if (rc != 0)
		return throw_sonde(env, rc);
	return NULL;
}

static napi_value c_gauge_set(napi_env env, napi_callback_info info)
{
	ARGS(1);
	double d;
	if (!get_num(env, argv[0], "gauge value", true, &d))
		return NULL;
	sonde_gauge_set(data, d);
	return NULL;
}

static napi_value c_gauge_add(napi_env env, napi_callback_info info)
{
	ARGS(1);
	double d = 1;
	if (type_of(env, argv[0]) != napi_undefined &&
	    !get_num(env, argv[0], "gauge amount", true, &d))
		return NULL;
	sonde_gauge_add(data, d);
	return NULL;
}

static napi_value c_gauge_value(napi_env env, napi_callback_info info)
{
	void *g = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &g));
	return num(env, sonde_gauge_value(g));
}

static napi_value c_gauge_now(napi_env env, napi_callback_info info)
{
	void *g = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &g));
	sonde_gauge_set_to_current_time(g);
	return NULL;
}

static napi_value c_hist_observe(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	void *h = NULL;
	double d;
	NCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, &h));
	if (argc == 0)
		return type_error(env, "%s must be a number, got undefined", "observed value");
	if (!get_num(env, argv[0], "observed value", true, &d))
		return NULL;
	sonde_histogram_observe(h, d);
	return NULL;
}

static napi_value c_hist_exemplar(napi_env env, napi_callback_info info)
{
	ARGS(3);
	double d;
	strs names, vals;
	int rc;
	if (!get_num(env, argv[0], "observed value", true, &d))
		return NULL;
	if (!get_exemplar(env, argv[1], argv[2], &names, &vals))
		return NULL;
	rc = sonde_histogram_observe_exemplar_labels(data, d, names.n, (const char *const *)names.s,
	                                             (const char *const *)vals.s);
	free_strs(&names);
	free_strs(&vals);
	if (rc != 0)
		return throw_sonde(env, rc);
	return NULL;
}

static napi_value c_hist_count(napi_env env, napi_callback_info info)
{
	void *h = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &h));
	return num(env, (double)sonde_histogram_count(h));
}

static napi_value c_hist_sum(napi_env env, napi_callback_info info)
{
	void *h = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &h));
	return num(env, sonde_histogram_sum(h));
}

static napi_value c_summary_observe(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	void *s = NULL;
	double d;
	NCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, &s));
	if (argc == 0)
		return type_error(env, "%s must be a number, got undefined", "observed value");
	if (!get_num(env, argv[0], "observed value", true, &d))
		return NULL;
	sonde_summary_observe(s, d);
	return NULL;
}

static napi_value c_summary_count(napi_env env, napi_callback_info info)
{
	void *s = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &s));
	return num(env, (double)sonde_summary_count(s));
}

static napi_value c_summary_sum(napi_env env, napi_callback_info info)
{
	void *s = NULL;
	NCHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &s));
	return num(env, sonde_summary_sum(s));
}

static napi_value c_summary_quantile(napi_env env, napi_callback_info info)
{
	ARGS(1);
	double q;
	if (!get_num(env, argv[0], "quantile", false, &q))
		return NULL;
	return num(env, sonde_summary_quantile(data, q));
}

static bool add_fn(napi_env env, napi_value obj, const char *name, napi_callback cb, void *data)
{
	napi_value f;
	return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &f) == napi_ok &&
	       napi_set_named_property(env, obj, name, f) == napi_ok;
}

/* child(family, type, values[]): the child for these label values, as an
 * object of functions bound to its handle. */
static napi_value n_child(napi_env env, napi_callback_info info)
{
	ARGS(3);
	sonde_family *f = get_ext(env, argv[0], "family");
	int32_t type = 0;
	strs vals;
	void *h = NULL;
	napi_value o;
	bool ok;
	if (!f)
		return NULL;
	napi_get_value_int32(env, argv[1], &type);
	if (!get_strs(env, argv[2], "label values", SONDE_LABELS_MAX + 1, SONDE_LABEL_VALUE_MAX,
	              true, &vals))
		return NULL;
	switch (type) {
	case SONDE_TYPE_COUNTER:
		h = sonde_counter_labels(f, vals.n, (const char *const *)vals.s, vals.len);
		break;
	case SONDE_TYPE_GAUGE:
		h = sonde_gauge_labels(f, vals.n, (const char *const *)vals.s, vals.len);
		break;
	case SONDE_TYPE_HISTOGRAM:
		h = sonde_histogram_labels(f, vals.n, (const char *const *)vals.s, vals.len);
		break;
	case SONDE_TYPE_SUMMARY:
		h = sonde_summary_labels(f, vals.n, (const char *const *)vals.s, vals.len);
		break;
	default: free_strs(&vals); return type_error(env, "%s: unknown metric type", "child");
	}
	free_strs(&vals);
	if (!h)
		return throw_sonde(env, 0);
	NCHECK(napi_create_object(env, &o));
	switch (type) {
	case SONDE_TYPE_COUNTER:
		ok = add_fn(env, o, "add", c_counter_add, h) &&
		     add_fn(env, o, "value", c_counter_value, h) &&
		     add_fn(env, o, "exemplar", c_counter_exemplar, h);
		break;
	case SONDE_TYPE_GAUGE:
		ok = add_fn(env, o, "set", c_gauge_set, h) &&
		     add_fn(env, o, "add", c_gauge_add, h) &&
		     add_fn(env, o, "value", c_gauge_value, h) &&
		     add_fn(env, o, "now", c_gauge_now, h);
		break;
	case SONDE_TYPE_HISTOGRAM:
		ok = add_fn(env, o, "observe", c_hist_observe, h) &&
		     add_fn(env, o, "exemplar", c_hist_exemplar, h) &&
		     add_fn(env, o, "count", c_hist_count, h) &&
		     add_fn(env, o, "sum", c_hist_sum, h);
		break;
	default:
		ok = add_fn(env, o, "observe", c_summary_observe, h) &&
		     add_fn(env, o, "count", c_summary_count, h) &&
		     add_fn(env, o, "sum", c_summary_sum, h) &&
		     add_fn(env, o, "quantile", c_summary_quantile, h);
		break;
	}
	if (!ok)
		return napi_fail(env);
	return o;
}

/* remove(family, values[]) */
static napi_value n_family_remove(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_family *f = get_ext(env, argv[0], "family");
	strs vals;
	int rc;
	if (!f)
		return NULL;
	if (!get_strs(env, argv[1], "label values", SONDE_LABELS_MAX + 1, SONDE_LABEL_VALUE_MAX,
	              true, &vals))
		return NULL;
	rc = sonde_family_remove(f, vals.n, (const char *const *)vals.s, vals.len);
	free_strs(&vals);
	if (rc != 0 && rc != SONDE_ENOENT) /* prom-client: removing an absent child is a no-op */
		return throw_sonde(env, rc);
	return undef(env);
}

static napi_value n_family_clear(napi_env env, napi_callback_info info)
{
	ARGS(1);
	sonde_family *f = get_ext(env, argv[0], "family");
	if (!f)
		return NULL;
	sonde_family_clear(f);
	return undef(env);
}

/* ---- exposition ------------------------------------------------------------------ */
/* A page of 10 000 series is about 400 KB. napi_create_string_utf8 decodes
 * it into a fresh string in V8's large-object space, whose pages are new
 * memory on every scrape: measured, 40% of a scrape's time (a page's first
 * write costs about 10 us on the VMs this runs on). An ASCII page (the usual
 * one: names, label values and numbers) goes to V8 as an external one-byte
 * string instead: one copy into a buffer that V8 keeps until the string is
 * collected, when the finalizer gives it back to a small pool for the next
 * scrape (memory already written, of about the right size). The pool is
 * process-wide (a finalizer may run on any JavaScript thread, after its
 * environment is gone): POOL_SLOTS atomic slots, each taken by an exchange
 * and filled by a compare-and-swap, no lock (fork-safe).
 * node_api_create_external_string_latin1 is looked up at run time (Node
 * 18.18 and 20.4 on, experimental there, so not in every node_api.h): on an
 * older Node the copy serves. */
typedef napi_status (*ext_latin1_fn)(napi_env env, char *str, size_t length, napi_finalize finalize,
                                     void *hint, napi_value *result, bool *copied);
static ext_latin1_fn ext_latin1;
static pthread_once_t ext_once = PTHREAD_ONCE_INIT;

static void ext_resolve(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1");

	/* (a data pointer to a function pointer, as POSIX allows dlsym) */
	memcpy(&ext_latin1, &sym, sizeof(sym));
}

static bool all_ascii(const char *s, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char)s[i];
	return (acc & 0x8080808080808080ull) == 0;
}

typedef struct text_block {
	size_t size; /* of the mapping, this header included */
	char data[];
} text_block;

#define POOL_SLOTS 4
#define POOL_MAX_SIZE (8u << 20) /* bigger blocks are unmapped, not kept */
static text_block *pool[POOL_SLOTS];

static void block_give(text_block *b)
{
	for (int i = 0; b->size <= POOL_MAX_SIZE && i < POOL_SLOTS; i++) {
		text_block *none = NULL;
		if (__atomic_compare_exchange_n(&pool[i], &none, b, false, __ATOMIC_RELEASE,
		                                __ATOMIC_RELAXED))
			return;
	}
	munmap(b, b->size);
}

/* A block with room for n bytes: a pooled one that is big enough, else a
 * new mapping, its pages populated at once (one call instead of a fault
 * per page); NULL when there is no memory. */
static text_block *block_take(size_t n)
{
	text_block *b;
	size_t size;

	for (int i = 0; i < POOL_SLOTS; i++) {
		if (!__atomic_load_n(&pool[i], __ATOMIC_RELAXED))
			continue;
		b = __atomic_exchange_n(&pool[i], NULL, __ATOMIC_ACQUIRE);
		if (b && b->size - sizeof(*b) >= n)
			return b;
		if (b)
			munmap(b, b->size); /* too small for this page */
	}
	if (n > SIZE_MAX / 2)
		return NULL;
	/* room for the page to grow a little, in whole pages */
	size = (sizeof(*b) + n + n / 8 + 4095) & ~(size_t)4095;
	b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
	         0);
	if (b == MAP_FAILED)
		return NULL;
	b->size = size;
	return b;
}

static void block_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)data;
	block_give(hint);
}

#define EXT_MIN (16u << 10) /* below it the plain copy is as cheap */

/* The JS string of n bytes of UTF-8 text at s (NULL on a thrown error). */
static napi_value text_string(napi_env env, const char *s, size_t n)
{
	napi_value v;
	text_block *b;
	bool copied = false;

	if (n >= EXT_MIN) {
		pthread_once(&ext_once, ext_resolve);
		if (ext_latin1 && all_ascii(s, n) && (b = block_take(n + 1)) != NULL) {
			memcpy(b->data, s, n);
			b->data[n] = '\0';
			/* copied: V8 made its own and the finalizer has run */
			if (ext_latin1(env, b->data, n, block_finalize, b, &v, &copied) == napi_ok)
				return v;
			block_give(b);
		}
	}
	NCHECK(napi_create_string_utf8(env, s ? s : "", n, &v));
	return v;
}

/* expose(reg, format, defaultLabels?: [name, escapedValue, ...]) -> string */
static napi_value n_expose(napi_env env, napi_callback_info info)
{
	ARGS(3);
	sonde_registry *r = get_ext(env, argv[0], "registry");
	env_state *st = state(env);
	int32_t fmt = 0;
	int rc;
	strs kv = {0, NULL, NULL};
	napi_value v;
	if (!r)
		return NULL;
	napi_get_value_int32(env, argv[1], &fmt);
	if (fmt != SONDE_FORMAT_TEXT && fmt != SONDE_FORMAT_OPENMETRICS)
		return range_error(env, "format must be text (0) or OpenMetrics (1)");
	if (!is_nullish(env, argv[2]) &&
	    !get_strs(env, argv[2], "default labels", 2 * SONDE_LABELS_MAX,
	              SONDE_LABEL_VALUE_MAX * 2, false, &kv))
		return NULL;
	rc = sonde_expose(r, (sonde_format)fmt, &st->buf);
	if (rc != 0) {
		free_strs(&kv);
		return throw_sonde(env, rc);
	}
	if (kv.n >= 2) {
		st->rew.len = 0;
		st->rew.oom = 0;
		sonde_node_relabel(st->buf.data, st->buf.len, (const char *const *)kv.s, kv.len,
		                   kv.n, &st->rew);
		free_strs(&kv);
		if (st->rew.oom) {
			st->rew.oom = 0;
			throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
			return NULL;
		}
		v = text_string(env, st->rew.data, st->rew.len);
	} else {
		free_strs(&kv);
		v = text_string(env, st->buf.data, st->buf.len);
	}
	/* keep the memory for the next scrape of this thread, unless huge */
	if (st->buf.cap > (64u << 20))
		sonde_buf_destroy(&st->buf);
	return v;
}

/* negotiate(accept) -> [format, contentType] */
static napi_value n_negotiate(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *a = NULL;
	size_t n = 0;
	sonde_format fmt = SONDE_FORMAT_TEXT;
	const char *ct = NULL;
	napi_value arr;
	if (!is_nullish(env, argv[0]) && !(a = get_str(env, argv[0], "accept", 1 << 16, true, &n)))
		return NULL;
	(void)sonde_expose_negotiate(a, a ? n : 0, &fmt, &ct);
	free(a);
	if (fmt == SONDE_FORMAT_PROTOBUF) { /* the JS side serves the text formats */
		fmt = SONDE_FORMAT_TEXT;
		ct = sonde_format_content_type(fmt);
	}
	NCHECK(napi_create_array_with_length(env, 2, &arr));
	napi_set_element(env, arr, 0, num(env, fmt));
	napi_set_element(env, arr, 1, str(env, ct, NAPI_AUTO_LENGTH));
	return arr;
}

static napi_value n_process_collector(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_registry *r = get_ext(env, argv[0], "registry");
	bool on = true;
	int rc;
	if (!r)
		return NULL;
	napi_get_value_bool(env, argv[1], &on);
	rc = on ? sonde_process_collector_register(r) : sonde_process_collector_unregister(r);
	if (rc != 0 && rc != SONDE_EEXIST && rc != SONDE_ENOENT)
		return throw_sonde(env, rc);
	return undef(env);
}

/* ---- trace context ------------------------------------------------------------- */
/* A context travels in JS as a Buffer holding a sonde_span_context. */
static bool get_ctx(napi_env env, napi_value v, sonde_span_context *out)
{
	void *p = NULL;
	size_t n = 0;
	bool is = false;
	napi_is_buffer(env, v, &is);
	if (!is || napi_get_buffer_info(env, v, &p, &n) != napi_ok || n != sizeof *out) {
		type_error(env, "%s is not a sonde span context", "context");
		return false;
	}
	memcpy(out, p, sizeof *out);
	return true;
}

static napi_value ctx_buffer(napi_env env, const sonde_span_context *c)
{
	napi_value b;
	void *p = NULL;
	if (napi_create_buffer_copy(env, sizeof *c, c, &p, &b) != napi_ok)
		return napi_fail(env);
	return b;
}

/* extract(headerNames[], headerValues[]) -> [ctx, continued, tracestate, baggage] */
static napi_value n_extract(napi_env env, napi_callback_info info)
{
	ARGS(2);
	env_state *st = state(env);
	strs names, vals;
	sonde_header hs[64];
	napi_value arr;
	char ts[SONDE_TRACESTATE_FORMAT_LIMIT + 1];
	sonde_buf bg = SONDE_BUF_INIT;
	size_t tsn;
	int rc;
	if (!st->carrier && !(st->carrier = sonde_trace_carrier_new()))
		return throw_sonde(env, 0);
	if (!get_strs(env, argv[0], "header names", 64, 1024, true, &names))
		return NULL;
	if (!get_strs(env, argv[1], "header values", 64, 1 << 16, true, &vals)) {
		free_strs(&names);
		return NULL;
	}
	for (size_t i = 0; i < names.n && i < vals.n; i++) {
		hs[i].name = names.s[i];
		hs[i].name_len = names.len[i];
		hs[i].value = vals.s[i];
		hs[i].value_len = vals.len[i];
	}
	rc = sonde_trace_extract(st->carrier, hs, names.n < vals.n ? names.n : vals.n);
	free_strs(&names);
	free_strs(&vals);
	if (rc != 0)
		return throw_sonde(env, rc);
	NCHECK(napi_create_array_with_length(env, 4, &arr));
	napi_set_element(env, arr, 0, ctx_buffer(env, sonde_trace_carrier_context(st->carrier)));
	{
		napi_value b;
		napi_get_boolean(env, sonde_trace_carrier_continued(st->carrier), &b);
		napi_set_element(env, arr, 1, b);
	}
	tsn = sonde_tracestate_format(sonde_trace_carrier_tracestate(st->carrier), 0, ts,
	                              sizeof ts);
	napi_set_element(env, arr, 2, str(env, ts, tsn));
	if (sonde_baggage_format(sonde_trace_carrier_baggage(st->carrier), &bg) == 0)
		napi_set_element(env, arr, 3, str(env, bg.data ? bg.data : "", bg.len));
	sonde_buf_destroy(&bg);
	return arr;
}

/* traceparent(ctx) -> the traceparent header for an outgoing request */
static napi_value n_traceparent(napi_env env, napi_callback_info info)
{
	ARGS(1);
	sonde_span_context c;
	sonde_trace_headers h = SONDE_TRACE_HEADERS_INIT;
	napi_value v;
	int rc;
	if (!get_ctx(env, argv[0], &c))
		return NULL;
	rc = sonde_trace_inject(NULL, &c, &h);
	if (rc != 0) {
		sonde_trace_headers_destroy(&h);
		return throw_sonde(env, rc);
	}
	v = str(env, h.traceparent, strlen(h.traceparent));
	sonde_trace_headers_destroy(&h);
	return v;
}

static napi_value n_new_root(napi_env env, napi_callback_info info)
{
	sonde_span_context c;
	memset(&c, 0, sizeof c);
	sonde_trace_id_generate(c.trace_id);
	sonde_span_id_generate(c.span_id);
	c.trace_flags = SONDE_TRACE_FLAG_SAMPLED | SONDE_TRACE_FLAG_RANDOM;
	return ctx_buffer(env, &c);
}

/* Detaches a scope known to be the innermost one of this thread. */
static void detach_quiet(sonde_context_scope *scope)
{
	int rc = sonde_context_detach(scope);
	(void)rc;
}

/* Spans: a malloc'd sonde_span plus the strings it points to (sonde keeps
 * the caller's pointers until the span ends). */
typedef struct jspan {
	sonde_span span;
	int ended;
	size_t nstr;
	char *strs[64];
} jspan;

static const char *keep(jspan *s, char *p)
{
	if (!p)
		return NULL;
	if (s->nstr == sizeof s->strs / sizeof s->strs[0]) {
		free(p);
		return NULL;
	}
	s->strs[s->nstr++] = p;
	return p;
}

static void jspan_release(jspan *s)
{
	for (size_t i = 0; i < s->nstr; i++)
		free(s->strs[i]);
	s->nstr = 0;
}

static void jspan_fin(napi_env env, void *p, void *hint)
{
	jspan *s = p;
	if (!s->ended) /* never ended: end it so its record is released */
		sonde_span_end(&s->span);
	jspan_release(s);
	free(s);
}

/* spanStart(name, parentCtx|null, kind) -> span handle. The span is
 * detached from the thread's C context at once: in JS the current context
 * is AsyncLocalStorage's, handed to each call that needs it. */
static napi_value n_span_start(napi_env env, napi_callback_info info)
{
	ARGS(3);
	sonde_span_context parent;
	bool has_parent = false;
	int32_t kind = 0;
	jspan *s;
	char *name = get_str(env, argv[0], "span name", 4096, false, NULL);
	if (!name)
		return NULL;
	if (!is_nullish(env, argv[1])) {
		if (!get_ctx(env, argv[1], &parent)) {
			free(name);
			return NULL;
		}
		has_parent = true;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		free(name);
		throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
		return NULL;
	}
	keep(s, name);
	sonde_span_start_child_of(&s->span, name, has_parent ? &parent : NULL);
	detach_quiet(&s->span.scope);
	napi_get_value_int32(env, argv[2], &kind);
	if (kind >= SONDE_SPAN_KIND_INTERNAL && kind <= SONDE_SPAN_KIND_CONSUMER)
		sonde_span_set_kind(&s->span, (sonde_span_kind)kind);
	return ext(env, s, jspan_fin, "span");
}

static napi_value n_span_context(napi_env env, napi_callback_info info)
{
	ARGS(1);
	jspan *s = get_ext(env, argv[0], "span");
	if (!s)
		return NULL;
	return ctx_buffer(env, sonde_span_get_context(&s->span));
}

/* spanAttr(span, key, value) */
static napi_value n_span_attr(napi_env env, napi_callback_info info)
{
	ARGS(3);
	jspan *s = get_ext(env, argv[0], "span");
	const char *key;
	napi_valuetype t;
	if (!s)
		return NULL;
	if (s->ended)
		return undef(env);
	key = keep(s, get_str(env, argv[1], "attribute key", 1024, false, NULL));
	if (!key)
		return pending(env) ? NULL : range_error(env, "too many attributes on this span");
	t = type_of(env, argv[2]);
	if (t == napi_string) {
		size_t n;
		char *v = get_str(env, argv[2], "attribute value", 1 << 16, true, &n);
		if (!v)
			return NULL;
		if (!keep(s, v))
			return range_error(env, "too many attributes on this span");
		sonde_span_set_strn(&s->span, key, v, n);
	} else if (t == napi_number) {
		double d;
		napi_get_value_double(env, argv[2], &d);
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			sonde_span_set_int(&s->span, key, (int64_t)d);
		else
			sonde_span_set_double(&s->span, key, d);
	} else if (t == napi_boolean) {
		bool b;
		napi_get_value_bool(env, argv[2], &b);
		sonde_span_set_bool(&s->span, key, b);
	} else {
		return type_error(env, "%s must be a string, number or boolean", "attribute value");
	}
	return undef(env);
}

/* spanStatus(span, code (1 ok, 2 error), message?) */
static napi_value n_span_status(napi_env env, napi_callback_info info)
{
	ARGS(3);
	jspan *s = get_ext(env, argv[0], "span");
	int32_t code = 0;
	const char *msg = NULL;
	if (!s)
		return NULL;
	napi_get_value_int32(env, argv[1], &code);
	if (code < 0 || code > 2)
		return range_error(env, "span status must be 0 (unset), 1 (ok) or 2 (error)");
	if (!is_nullish(env, argv[2]) &&
	    !(msg = keep(s, get_str(env, argv[2], "status message", 4096, false, NULL))))
		return pending(env) ? NULL : range_error(env, "too many strings on this span");
	if (!s->ended)
		sonde_span_set_status(&s->span, (sonde_span_status)code, msg);
	return undef(env);
}

/* spanException(span, type, message, stack) */
static napi_value n_span_exception(napi_env env, napi_callback_info info)
{
	ARGS(4);
	jspan *s = get_ext(env, argv[0], "span");
	char *ty, *msg, *stack = NULL;
	if (!s)
		return NULL;
	ty = get_str(env, argv[1], "exception type", 1024, false, NULL);
	msg = ty ? get_str(env, argv[2], "exception message", 1 << 16, false, NULL) : NULL;
	if (msg && !is_nullish(env, argv[3]))
		stack = get_str(env, argv[3], "exception stack", 1 << 20, false, NULL);
	if (ty && msg && (stack || is_nullish(env, argv[3])) && !s->ended)
		sonde_span_record_exception(&s->span, ty, msg, stack); /* copied into the record */
	free(ty);
	free(msg);
	free(stack);
	return pending(env) ? NULL : undef(env);
}

/* spanEnd(span) -> duration in seconds */
static napi_value n_span_end(napi_env env, napi_callback_info info)
{
	ARGS(1);
	jspan *s = get_ext(env, argv[0], "span");
	if (!s)
		return NULL;
	if (s->ended)
		return num(env, (double)s->span.duration_ns / 1e9);
	s->ended = 1;
	sonde_span_end(&s->span);
	jspan_release(s);
	return num(env, (double)s->span.duration_ns / 1e9);
}

static napi_value n_span_metrics(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_registry *r = get_ext(env, argv[0], "registry");
	char *name = NULL;
	int rc;
	if (!r)
		return NULL;
	if (!is_nullish(env, argv[1]) &&
	    !(name = get_str(env, argv[1], "metric name", SONDE_NAME_MAX, false, NULL)))
		return NULL;
	rc = sonde_trace_enable_span_metrics(r, name);
	free(name);
	if (rc != 0)
		return throw_sonde(env, rc);
	return undef(env);
}

/* ---- the OTLP exporter ------------------------------------------------------------ */

/* otlpStart(endpoint|null, [names], [values], [ints x 9], logsEndpoint|null)
 * -> true when it runs, false when the OTEL_* variables keep it off. The ints are
 * timeout_ms, protocol, compression, schedule_delay_ms, export_timeout_ms,
 * max_queue_size, max_export_batch_size, retry_initial_ms, retry_max_ms
 * (0: the variable's or the default; lib/otlp.js checks them). A value
 * libsonde refuses throws with its message, the exporter running with the
 * default in its place. */
static napi_value n_otlp_start(napi_env env, napi_callback_info info)
{
	ARGS(5);
	sonde_otlp_options o;
	char *endpoint = NULL, *logs_endpoint = NULL;
	strs names = {0, NULL, NULL}, values = {0, NULL, NULL};
	sonde_header *h = NULL;
	int ints[9];
	napi_value rv = NULL; /* NULL: an exception is pending */
	int rc;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	if (!is_nullish(env, argv[0]) &&
	    !(endpoint = get_str(env, argv[0], "endpoint", 4096, false, NULL)))
		return NULL;
	if (!is_nullish(env, argv[4]) &&
	    !(logs_endpoint = get_str(env, argv[4], "logsEndpoint", 4096, false, NULL)))
		goto fail;
	if (!get_strs(env, argv[1], "header names", 64, 1024, false, &names) ||
	    !get_strs(env, argv[2], "header values", 64, 8192, false, &values))
		goto fail;
	if (names.n != values.n) {
		range_error(env, "header names and values differ in number");
		goto fail;
	}
	for (uint32_t i = 0; i < 9; i++) {
		napi_value v;
		double d;
		if (napi_get_element(env, argv[3], i, &v) != napi_ok ||
		    !get_num(env, v, "an exporter option", false, &d))
			goto fail;
		if (d < 0 || d > 2147483647.0 || d != floor(d)) {
			range_error(env, "exporter options are integers in [0, 2^31)");
			goto fail;
		}
		ints[i] = (int)d;
	}
	if (names.n) {
		h = calloc(names.n, sizeof(*h));
		if (!h) {
			throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
			goto fail;
		}
		for (size_t i = 0; i < names.n; i++)
			h[i] = (sonde_header){names.s[i], names.len[i], values.s[i], values.len[i]};
	}
	o.endpoint = endpoint;
	o.headers = h;
	o.nheaders = names.n;
	o.timeout_ms = ints[0];
	o.protocol = ints[1];
	o.compression = ints[2];
	o.schedule_delay_ms = ints[3];
	o.export_timeout_ms = ints[4];
	o.max_queue_size = ints[5];
	o.max_export_batch_size = ints[6];
	o.retry_initial_ms = ints[7];
	o.retry_max_ms = ints[8];
	o.logs_endpoint = logs_endpoint;
	rc = sonde_otlp_start(&o); /* copies what it keeps */
	if (rc != SONDE_OK)
		rv = throw_sonde(env, rc);
	else if (napi_get_boolean(env, sonde_otlp_running(), &rv) != napi_ok)
		rv = napi_fail(env);
fail:
	free(h);
	free(endpoint);
	free(logs_endpoint);
	free_strs(&names);
	free_strs(&values);
	return rv;
}

static napi_value n_otlp_running(napi_env env, napi_callback_info info)
{
	napi_value rv;
	(void)info;
	NCHECK(napi_get_boolean(env, sonde_otlp_running(), &rv));
	return rv;
}

/* otlpFlush(ms) / otlpShutdown(ms): block the calling thread at most ms */
static napi_value otlp_wait(napi_env env, napi_callback_info info, bool stop)
{
	ARGS(1);
	double d;
	int rc;
	if (!get_num(env, argv[0], "timeout", false, &d))
		return NULL;
	if (d < 0 || d > 2147483647.0)
		return range_error(env, "timeout must be in [0, 2^31) ms");
	rc = stop ? sonde_otlp_shutdown((int)d) : sonde_otlp_flush((int)d);
	if (rc != SONDE_OK)
		return throw_sonde(env, rc);
	return undef(env);
}

static napi_value n_otlp_flush(napi_env env, napi_callback_info info)
{
	return otlp_wait(env, info, false);
}

static napi_value n_otlp_shutdown(napi_env env, napi_callback_info info)
{
	return otlp_wait(env, info, true);
}

/* otlpStats() -> {spansEnded, ...} (numbers: exact below 2^53) */
typedef struct stat_field {
	const char *key;
	uint64_t value;
} stat_field;

static napi_value n_otlp_stats(napi_env env, napi_callback_info info)
{
	sonde_otlp_stats s;
	napi_value o;
	(void)info;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	sonde_otlp_get_stats(&s);
	const stat_field t[] = {{"spansEnded", s.spans_ended},
	                        {"spansExported", s.spans_exported},
	                        {"droppedQueueFull", s.dropped_queue_full},
	                        {"droppedRejected", s.dropped_rejected},
	                        {"droppedFailed", s.dropped_failed},
	                        {"droppedShutdown", s.dropped_shutdown},
	                        {"droppedOutOfMemory", s.dropped_oom},
	                        {"droppedPartialSuccess", s.dropped_partial},
	                        {"exportRequests", s.export_requests},
	                        {"exportFailures", s.export_failures},
	                        {"queueLength", s.queue_length},
	                        {"exportDurationNs", s.export_duration_ns},
	                        {"exportThreadCpuNs", s.export_thread_cpu_ns},
	                        {"logsHanded", s.logs_handed},
	                        {"logsExported", s.logs_exported},
	                        {"logsDroppedQueueFull", s.logs_dropped_queue_full},
	                        {"logsDroppedRejected", s.logs_dropped_rejected},
	                        {"logsDroppedFailed", s.logs_dropped_failed},
	                        {"logsDroppedShutdown", s.logs_dropped_shutdown},
	                        {"logsDroppedOutOfMemory", s.logs_dropped_oom},
	                        {"logsDroppedPartialSuccess", s.logs_dropped_partial},
	                        {"logsQueueLength", s.logs_queue_length},
	                        {"logsExportRequests", s.logs_export_requests},
	                        {"logsExportFailures", s.logs_export_failures},
	                        {"logsExportDurationNs", s.logs_export_duration_ns}};
	NCHECK(napi_create_object(env, &o));
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		NCHECK(napi_set_named_property(env, o, t[i].key, num(env, (double)t[i].value)));
	return o;
}

/* resourceService(name|null, version|null, environment|null) */
static napi_value n_resource_service(napi_env env, napi_callback_info info)
{
	ARGS(3);
	char *v[3] = {NULL, NULL, NULL};
	static const char *const what[3] = {"service name", "service version", "environment"};
	int rc;
	for (int i = 0; i < 3; i++) {
		if (is_nullish(env, argv[i]))
			continue;
		if (!(v[i] = get_str(env, argv[i], what[i], 4096, false, NULL))) {
			free(v[0]);
			free(v[1]);
			return NULL;
		}
	}
	rc = sonde_resource_set_service(v[0], v[1], v[2]);
	free(v[0]);
	free(v[1]);
	free(v[2]);
	if (rc != SONDE_OK)
		return throw_sonde(env, rc);
	return undef(env);
}

/* ---- logs ------------------------------------------------------------------------ */
static void logger_fin(napi_env env, void *p, void *hint)
{
	sonde_logger_free(p);
}

/* loggerNew({service, level, format (0 json, 1 logfmt, 2 ecs, 3 otel, 4 console), file?, stream?
 *            ("stdout" | "stderr" | "none": no line sink), otlp?: bool (the records also go
 *            to the OTLP exporter's logs endpoint), redact?: [keys]}) */
static napi_value n_logger_new(napi_env env, napi_callback_info info)
{
	ARGS(1);
	napi_value o = argv[0], v;
	sonde_log_opts lo;
	sonde_log_sink_opts so;
	sonde_log_sink *sinks[2] = {NULL, NULL};
	size_t nsinks = 0;
	sonde_logger *l = NULL;
	char *service = NULL, *file = NULL, *stream = NULL;
	bool otlp = false;
	strs redact = {0, NULL, NULL};
	int32_t level = SONDE_LOG_LEVEL_INFO, fmt = 0;
	uint32_t sample_first = 0, sample_thereafter = 0, sample_interval_ms = 0;
	bool sample_errors = false;

	if (type_of(env, o) != napi_object)
		return type_error(env, "%s must be an object", "logger options");
	service = get_str(env, prop(env, o, "service"), "service", 1024, false, NULL);
	if (!service)
		goto out;
	napi_get_value_int32(env, prop(env, o, "level"), &level);
	napi_get_value_int32(env, prop(env, o, "format"), &fmt);
	/* sampling (validated in lib/log.js: integers 0..2^32-1) */
	napi_get_value_uint32(env, prop(env, o, "sampleFirst"), &sample_first);
	napi_get_value_uint32(env, prop(env, o, "sampleThereafter"), &sample_thereafter);
	napi_get_value_uint32(env, prop(env, o, "sampleIntervalMs"), &sample_interval_ms);
	napi_get_value_bool(env, prop(env, o, "sampleErrors"), &sample_errors);
	napi_get_value_bool(env, prop(env, o, "otlp"), &otlp);
	v = prop(env, o, "file");
	if (!is_nullish(env, v) && !(file = get_str(env, v, "file", 4096, false, NULL)))
		goto out;
	v = prop(env, o, "stream");
	if (!is_nullish(env, v) && !(stream = get_str(env, v, "stream", 16, false, NULL)))
		goto out;
	v = prop(env, o, "redact");
	if (!is_nullish(env, v) && !get_strs(env, v, "redact", 64, 1024, false, &redact))
		goto out;
	sonde_log_sink_opts_init(&so);
	so.format = (sonde_log_format)fmt;
	if (file) {
		sinks[nsinks] = sonde_log_sink_file(file, &so);
		if (!sinks[nsinks++]) {
			throw_sonde(env, 0);
			goto out;
		}
	} else if (!stream || strcmp(stream, "none") != 0) {
		sinks[nsinks] = stream && strcmp(stream, "stderr") == 0
		                        ? sonde_log_sink_stderr(&so)
		                        : sonde_log_sink_stdout(&so);
		if (!sinks[nsinks++]) {
			throw_sonde(env, 0);
			goto out;
		}
	}
	if (otlp) {
		sonde_log_sink_opts_init(&so);
		sinks[nsinks] = sonde_otlp_log_sink(&so);
		if (!sinks[nsinks++]) {
			throw_sonde(env, 0);
			goto out;
		}
	}
	sonde_log_opts_init(&lo, service);
	lo.level = (sonde_log_level)level;
	lo.level_env = "";
	lo.sinks = sinks;
	lo.sink_count = nsinks;
	lo.redact_keys = (const char *const *)redact.s;
	lo.redact_count = redact.n;
	lo.sample_first = sample_first;
	lo.sample_thereafter = sample_thereafter;
	lo.sample_interval_ms = sample_interval_ms;
	lo.sample_errors = sample_errors;
	l = sonde_logger_new(&lo);
	if (!l)
		throw_sonde(env, 0);
out:
	/* the logger holds its own references */
	sonde_log_sink_free(sinks[0]);
	sonde_log_sink_free(sinks[1]);
	free(service);
	free(file);
	free(stream);
	free_strs(&redact);
	return l ? ext(env, l, logger_fin, "logger") : NULL;
}

#define LOG_FIELDS_MAX 15

/* A JS string into buf when it fits (the common case: no allocation),
 * else into malloc'd memory (*heap is then set, for the caller to free). */
static const char *get_str_buf(napi_env env, napi_value v, const char *what, char *buf, size_t cap,
                               size_t max, bool nul_ok, size_t *len, char **heap)
{
	size_t n = 0;
	*heap = NULL;
	if (napi_get_value_string_utf8(env, v, buf, cap, &n) == napi_ok && n + 1 < cap) {
		if (!nul_ok && strlen(buf) != n) {
			char msg[300];
			snprintf(msg, sizeof msg, "%s contains a NUL character", what);
			throw_kind(env, 1, "ERR_INVALID_ARG_VALUE", msg, 0);
			return NULL;
		}
		*len = n;
		return buf;
	}
	*heap = get_str(env, v, what, max, nul_ok, len);
	return *heap;
}

#define LOG_KEY_CAP 128
#define LOG_VAL_CAP 256

/* One field from a JS primitive. Short keys and string values are copied
 * into kb / vb; longer ones into *kheap / *vheap (freed by the caller). */
static bool log_field(napi_env env, napi_value k, napi_value v, sonde_log_field *f, char *kb,
                      char *vb, char **kheap, char **vheap)
{
	napi_valuetype t = type_of(env, v);
	size_t kn = 0;
	*vheap = NULL;
	f->key = get_str_buf(env, k, "field key", kb, LOG_KEY_CAP, 1024, false, &kn, kheap);
	if (!f->key)
		return false;
	f->len = 0;
	switch (t) {
	case napi_string:
		f->v.s = get_str_buf(env, v, "field value", vb, LOG_VAL_CAP, 1 << 24, true, &f->len,
		                     vheap);
		if (!f->v.s)
			return false;
		f->type = SONDE_LOG_T_STR;
		return true;
	case napi_number: {
		double d;
		napi_get_value_double(env, v, &d);
		if (d == floor(d) && fabs(d) < 9007199254740992.0) {
			f->type = SONDE_LOG_T_I64;
			f->v.i = (int64_t)d;
		} else {
			f->type = SONDE_LOG_T_F64;
			f->v.d = d;
		}
		return true;
	}
	case napi_boolean: {
		bool b;
		napi_get_value_bool(env, v, &b);
		f->type = SONDE_LOG_T_BOOL;
		f->v.u = b;
		return true;
	}
	case napi_bigint: {
		int64_t i;
		bool lossless;
		napi_get_value_bigint_int64(env, v, &i, &lossless);
		f->type = SONDE_LOG_T_I64;
		f->v.i = i;
		return true;
	}
	case napi_object: {
		/* an error (lib/log.js): [type, message, stack|null] as an error
		 * field (ECS error.*, OTel exception.*, json {type,message,stack}) */
		bool is = false;
		uint32_t len = 0;
		napi_value e[3];
		char *str[3] = {NULL, NULL, NULL};
		size_t sl[3] = {0, 0, 0}, need;
		sonde_log_tree t;
		int rc;
		if (napi_is_array(env, v, &is) != napi_ok || !is ||
		    napi_get_array_length(env, v, &len) != napi_ok || len != 3)
			break;
		for (uint32_t i = 0; i < 3; i++) {
			if (napi_get_element(env, v, i, &e[i]) != napi_ok)
				break;
			if (i == 2 && is_nullish(env, e[i]))
				continue;
			str[i] = get_str(env, e[i], "error field part", 1 << 20, true, &sl[i]);
			if (!str[i]) {
				free(str[0]);
				free(str[1]);
				return false;
			}
		}
		/* within the tree's 64 KiB: type, message, then the stack cut */
		if (sl[0] > 256)
			sl[0] = 256;
		if (sl[1] > 8192)
			sl[1] = 8192;
		if (sl[2] > SONDE_LOG_TREE_BYTES_MAX - 256 - 8192 - 64)
			sl[2] = SONDE_LOG_TREE_BYTES_MAX - 256 - 8192 - 64;
		/* the encoding: the three strings and a few bytes of framing each */
		need = sl[0] + sl[1] + sl[2] + 64;
		*vheap = malloc(need);
		if (!*vheap) {
			free(str[0]);
			free(str[1]);
			free(str[2]);
			throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
			return false;
		}
		sonde_log_tree_init(&t, *vheap, need);
		rc = sonde_log_tree_error(&t, str[0], sl[0], str[1], sl[1], str[2], sl[2]);
		free(str[0]);
		free(str[1]);
		free(str[2]);
		if (rc != SONDE_OK) {
			throw_sonde(env, rc); /* e.g. SONDE_ELIMIT past the tree's 64 KiB */
			return false;
		}
		*f = sonde_log_field_tree(f->key, &t);
		return true;
	}
	default: break;
	}
	type_error(env, "%s must be a string, number, boolean, bigint or error", "field value");
	return false;
}

/* loggerChild(l, k1, v1, k2, v2, ...) */
static napi_value n_logger_child(napi_env env, napi_callback_info info)
{
	size_t argc = 1 + 2 * 32;
	napi_value argv[1 + 2 * 32];
	sonde_logger *l, *c = NULL;
	sonde_log_field fs[32];
	char kb[32][LOG_KEY_CAP], vb[32][LOG_VAL_CAP];
	char *kh[32], *vh[32];
	size_t n = 0;
	NCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1 || !(l = get_ext(env, argv[0], "logger")))
		return NULL;
	if ((argc - 1) % 2 != 0)
		return type_error(env, "%s: keys and values must pair up", "child fields");
	for (size_t i = 1; i + 1 < argc; i += 2) {
		if (!log_field(env, argv[i], argv[i + 1], &fs[n], kb[n], vb[n], &kh[n], &vh[n])) {
			free(kh[n]);
			free(vh[n]);
			goto out;
		}
		n++;
	}
	c = sonde_logger_child(l, fs, n);
	if (!c)
		throw_sonde(env, 0);
out:
	for (size_t i = 0; i < n; i++) {
		free(kh[i]);
		free(vh[i]);
	}
	return c ? ext(env, c, logger_fin, "logger") : NULL;
}

/* ---- scoped context fields (runWithContext in lib/log.js) ---------------------------
 * JavaScript keeps the context's fields in an AsyncLocalStorage store, as
 * it keeps the trace context: the C scope is per thread and cannot follow
 * async code. lib/log.js flattens the nested contexts (the last of a key
 * kept) into one array [k1, v1, ...] of at most SONDE_LOG_SCOPE_TOTAL
 * pairs; around each synchronous write they are pushed as C scopes of at
 * most SONDE_LOG_SCOPE_FIELDS fields on this thread and popped after it. */
#define SCOPE_PAIRS (SONDE_LOG_SCOPE_TOTAL + 1)

typedef struct scoped_set {
	size_t n, pushed;
	sonde_log_field fs[SCOPE_PAIRS];
	char kb[SCOPE_PAIRS][LOG_KEY_CAP], vb[SCOPE_PAIRS][LOG_VAL_CAP];
	char *kh[SCOPE_PAIRS], *vh[SCOPE_PAIRS];
	sonde_log_scope sc[3];
} scoped_set;

static void scoped_release(scoped_set *s)
{
	while (s->pushed)
		(void)!sonde_log_scope_pop(&s->sc[--s->pushed]);
	for (size_t i = 0; i < s->n; i++) {
		free(s->kh[i]);
		free(s->vh[i]);
	}
	s->n = 0;
}

/* Reads arr (an array of pairs) and pushes it. false with a JS exception
 * pending (bad value, or sonde's refusal: more than 16 fields, a bad key,
 * a value too long ...); *s is then released. */
static bool scoped_push(napi_env env, napi_value arr, scoped_set *s)
{
	uint32_t len = 0, i;
	size_t at = 0;
	int rc = SONDE_OK;

	s->n = s->pushed = 0;
	if (napi_get_array_length(env, arr, &len) != napi_ok || len % 2 != 0) {
		type_error(env, "%s must be an array of key/value pairs", "log context");
		return false;
	}
	if (len / 2 > SONDE_LOG_SCOPE_TOTAL)
		len = 2 * SCOPE_PAIRS; /* the third push refuses: sonde's message */
	for (i = 0; i + 1 < len; i += 2) {
		napi_value k, v;
		napi_get_element(env, arr, i, &k);
		napi_get_element(env, arr, i + 1, &v);
		if (!log_field(env, k, v, &s->fs[s->n], s->kb[s->n], s->vb[s->n], &s->kh[s->n],
		               &s->vh[s->n])) {
			free(s->kh[s->n]);
			free(s->vh[s->n]);
			scoped_release(s);
			return false;
		}
		s->n++;
	}
	while (rc == SONDE_OK && at < s->n) {
		size_t k = s->n - at > SONDE_LOG_SCOPE_FIELDS ? SONDE_LOG_SCOPE_FIELDS : s->n - at;
		rc = sonde_log_scope_push(&s->sc[s->pushed], s->fs + at, k);
		if (rc == SONDE_OK)
			s->pushed++;
		at += k;
	}
	if (rc != SONDE_OK) {
		throw_sonde(env, rc);
		scoped_release(s);
		return false;
	}
	return true;
}

/* logScopeCheck([k1, v1, ...]): pushes and pops, so that runWithContext
 * refuses a bad context when it is entered, with sonde's message. */
static napi_value n_log_scope_check(napi_env env, napi_callback_info info)
{
	ARGS(1);
	scoped_set *s = malloc(sizeof(*s));
	if (!s)
		return type_error(env, "%s: out of memory", "log context");
	if (scoped_push(env, argv[0], s))
		scoped_release(s);
	free(s);
	return NULL;
}

static napi_value n_log_sampled_total(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int32_t level = 0;
	napi_get_value_int32(env, argv[0], &level);
	return num(env, (double)sonde_log_sampled_total(level));
}

/* loggerWrite(l, level, message, ctx|null, k1, v1, ...): the record is
 * copied into this thread's ring with ctx as its trace context; sonde's
 * backend thread formats and writes it.
 * loggerWriteScoped(l, level, message, ctx|null, [scoped pairs], k1, v1,
 * ...): the same inside the scoped fields (see above). */
static void detach_quiet(sonde_context_scope *scope);
static napi_value logger_write(napi_env env, napi_callback_info info, bool with_scope);
static napi_value n_logger_write(napi_env env, napi_callback_info info)
{
	return logger_write(env, info, false);
}
static napi_value n_logger_write_scoped(napi_env env, napi_callback_info info)
{
	return logger_write(env, info, true);
}

static napi_value logger_write(napi_env env, napi_callback_info info, bool with_scope)
{
	size_t argc = 5 + 2 * LOG_FIELDS_MAX;
	napi_value argv[5 + 2 * LOG_FIELDS_MAX];
	size_t first = with_scope ? 5 : 4;
	scoped_set *scoped = NULL;
	sonde_logger *l;
	int32_t level = 0;
	char *msg = NULL;
	size_t mlen = 0, n = 0;
	sonde_log_field fs[LOG_FIELDS_MAX];
	char kb[LOG_FIELDS_MAX][LOG_KEY_CAP], vb[LOG_FIELDS_MAX][LOG_VAL_CAP];
	char *kh[LOG_FIELDS_MAX], *vh[LOG_FIELDS_MAX];
	sonde_context_scope scope;
	bool attached = false;
	int rc = 0;
	char msgbuf[512];

	NCHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < first || !(l = get_ext(env, argv[0], "logger")))
		return argc < first ? type_error(env, "%s: too few arguments", "loggerWrite")
		                    : NULL;
	napi_get_value_int32(env, argv[1], &level);
	if ((argc - first) % 2 != 0)
		return type_error(env, "%s: keys and values must pair up", "log fields");
	/* short messages are copied on the stack */
	if (type_of(env, argv[2]) == napi_string &&
	    napi_get_value_string_utf8(env, argv[2], msgbuf, sizeof msgbuf, &mlen) == napi_ok &&
	    mlen < sizeof msgbuf - 1) {
		msg = msgbuf;
	} else if (!(msg = get_str(env, argv[2], "message", 1 << 24, true, &mlen))) {
		return NULL;
	}
	for (size_t i = first; i + 1 < argc; i += 2) {
		if (!log_field(env, argv[i], argv[i + 1], &fs[n], kb[n], vb[n], &kh[n], &vh[n])) {
			free(kh[n]);
			free(vh[n]);
			goto out;
		}
		n++;
	}
	if (with_scope) {
		/* heap: the set holds 17 key and value buffers (~7 KiB) */
		scoped = malloc(sizeof(*scoped));
		if (!scoped) {
			type_error(env, "%s: out of memory", "log context");
			goto out;
		}
		if (!scoped_push(env, argv[4], scoped)) {
			free(scoped);
			scoped = NULL;
			goto out;
		}
	}
	if (!is_nullish(env, argv[3])) {
		sonde_span_context c;
		if (!get_ctx(env, argv[3], &c))
			goto out;
		sonde_context_attach(&scope, &c);
		attached = true;
	}
	rc = sonde_log_write(l, level, msg, mlen, fs, n);
	if (attached)
		detach_quiet(&scope);
	if (rc != 0)
		throw_sonde(env, rc);
out:
	if (scoped) {
		scoped_release(scoped);
		free(scoped);
	}
	if (msg != msgbuf)
		free(msg);
	for (size_t i = 0; i < n; i++) {
		free(kh[i]);
		free(vh[i]);
	}
	return NULL;
}

static napi_value n_logger_level(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_logger *l = get_ext(env, argv[0], "logger");
	int32_t level = 0;
	if (!l)
		return NULL;
	if (!is_nullish(env, argv[1])) {
		napi_get_value_int32(env, argv[1], &level);
		sonde_logger_set_level(l, (sonde_log_level)level);
	}
	return num(env, sonde_logger_min_level(l));
}

static napi_value n_log_flush(napi_env env, napi_callback_info info)
{
	int rc = sonde_log_flush();
	if (rc != 0)
		return throw_sonde(env, rc);
	return undef(env);
}

static napi_value n_log_stats(napi_env env, napi_callback_info info)
{
	sonde_log_stats s;
	napi_value o, w;
	int rc;
	memset(&s, 0, sizeof s);
	s.size = sizeof s;
	rc = sonde_log_stats_get(&s);
	if (rc != 0)
		return throw_sonde(env, rc);
	NCHECK(napi_create_object(env, &o));
	NCHECK(napi_create_array_with_length(env, 6, &w));
	for (uint32_t i = 0; i < 6; i++)
		napi_set_element(env, w, i, num(env, (double)s.written[i]));
	napi_set_named_property(env, o, "written", w);
	napi_set_named_property(env, o, "dropped", num(env, (double)s.dropped));
	napi_set_named_property(env, o, "truncated", num(env, (double)s.truncated));
	return o;
}

/* ---- health: JS functions (sync or async) as sonde checks ----------------------
 * sonde runs each check on a thread of its own; that thread asks the JS
 * thread (a thread-safe function) to call the check and waits for its
 * promise to settle, at most the check's timeout plus a second (sonde has
 * already reported it timed out by then). A request is shared by the
 * waiting thread and the JS side and freed by whichever leaves last. */
typedef struct hreq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	int done;
	int result;
	char msg[256];
} hreq;

typedef struct hcheck {
	napi_threadsafe_function tsfn;
	pthread_mutex_t mu;
	int closed; /* the tsfn was finalized (environment teardown) */
	int released;
	uint32_t timeout_ms;
} hcheck;

static void hreq_unref(hreq *r)
{
	int last;
	pthread_mutex_lock(&r->mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
	}
}

static void hreq_settle(hreq *r, int result, const char *msg, size_t n)
{
	pthread_mutex_lock(&r->mu);
	if (!r->done) {
		r->done = 1;
		r->result = result;
		if (n >= sizeof r->msg)
			n = sizeof r->msg - 1;
		memcpy(r->msg, msg, n);
		r->msg[n] = '\0';
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/* settle(result, message): called by the JS wrapper exactly once per call
 * (data = the request) */
static napi_value h_settle(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int32_t res = SONDE_HEALTH_FAIL;
	char m[256];
	size_t n = 0;
	napi_get_value_int32(env, argv[0], &res);
	if (type_of(env, argv[1]) == napi_string)
		napi_get_value_string_utf8(env, argv[1], m, sizeof m, &n);
	if (res < SONDE_HEALTH_PASS || res > SONDE_HEALTH_FAIL)
		res = SONDE_HEALTH_FAIL;
	hreq_settle(data, res, m, n);
	hreq_unref(data);
	return undef(env);
}

/* On the JS thread: fn(settle) */
static void h_call_js(napi_env env, napi_value fn, void *ctx, void *data)
{
	hreq *r = data;
	napi_value settle, global, res;
	if (env == NULL) { /* tearing down */
		hreq_settle(r, SONDE_HEALTH_FAIL, "runtime shutting down", 21);
		hreq_unref(r);
		return;
	}
	if (napi_create_function(env, "settle", NAPI_AUTO_LENGTH, h_settle, r, &settle) !=
	    napi_ok) {
		hreq_settle(r, SONDE_HEALTH_FAIL, "could not call the check", 24);
		hreq_unref(r);
		return;
	}
	napi_get_global(env, &global);
	if (napi_call_function(env, global, fn, 1, &settle, &res) != napi_ok) {
		/* the wrapper never throws; if it did, the check failed */
		napi_value exc;
		napi_get_and_clear_last_exception(env, &exc);
		hreq_settle(r, SONDE_HEALTH_FAIL, "check threw", 11);
		hreq_unref(r);
	}
}

static sonde_health_result h_run(void *user, char *msg, size_t cap)
{
	hcheck *c = user;
	hreq *r = calloc(1, sizeof *r);
	struct timespec dl;
	int result;
	napi_status s;
	if (!r) {
		snprintf(msg, cap, "out of memory");
		return SONDE_HEALTH_FAIL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->refs = 2;
	r->result = SONDE_HEALTH_FAIL;
	pthread_mutex_lock(&c->mu);
	s = c->closed ? napi_closing
	              : napi_call_threadsafe_function(c->tsfn, r, napi_tsfn_nonblocking);
	pthread_mutex_unlock(&c->mu);
	if (s != napi_ok) {
		r->refs = 1;
		hreq_unref(r);
		snprintf(msg, cap, "the JavaScript thread is gone");
		return SONDE_HEALTH_FAIL;
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (c->timeout_ms + 1000) / 1000;
	dl.tv_nsec += (long)((c->timeout_ms + 1000) % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (!r->done)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) != 0)
			break;
	result = r->done ? r->result : SONDE_HEALTH_FAIL;
	if (r->done)
		snprintf(msg, cap, "%s", r->msg);
	else
		snprintf(msg, cap, "no answer from the JavaScript thread");
	pthread_mutex_unlock(&r->mu);
	hreq_unref(r);
	return (sonde_health_result)result;
}

static void h_release(void *user)
{
	hcheck *c = user;
	int free_it;
	pthread_mutex_lock(&c->mu);
	if (!c->closed)
		napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
	c->released = 1;
	free_it = c->closed;
	pthread_mutex_unlock(&c->mu);
	if (free_it) {
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

static void h_tsfn_fin(napi_env env, void *data, void *hint)
{
	hcheck *c = data;
	int free_it;
	pthread_mutex_lock(&c->mu);
	c->closed = 1;
	free_it = c->released;
	pthread_mutex_unlock(&c->mu);
	if (free_it) {
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

static void health_fin(napi_env env, void *p, void *hint)
{
	sonde_health_free(p);
}

/* healthNew(version|null) */
static napi_value n_health_new(napi_env env, napi_callback_info info)
{
	ARGS(1);
	sonde_health_opts o;
	sonde_health *h;
	char *version = NULL;
	if (!is_nullish(env, argv[0]) &&
	    !(version = get_str(env, argv[0], "version", 4096, false, NULL)))
		return NULL;
	sonde_health_opts_init(&o);
	o.version = version;
	h = sonde_health_new(&o);
	free(version);
	if (!h)
		return throw_sonde(env, 0);
	return ext(env, h, health_fin, "health");
}

/* healthAddCheck(h, name, wrapper(settle), probes, timeoutMs, cacheMs) */
static napi_value n_health_add(napi_env env, napi_callback_info info)
{
	ARGS(6);
	sonde_health *h = get_ext(env, argv[0], "health");
	sonde_health_check_opts co;
	hcheck *c;
	char *name;
	uint32_t probes = 0, timeout = 0, cache = 0;
	napi_value rname;
	int rc;
	if (!h)
		return NULL;
	if (type_of(env, argv[2]) != napi_function)
		return type_error(env, "%s must be a function", "check");
	name = get_str(env, argv[1], "check name", 1024, false, NULL);
	if (!name)
		return NULL;
	napi_get_value_uint32(env, argv[3], &probes);
	napi_get_value_uint32(env, argv[4], &timeout);
	napi_get_value_uint32(env, argv[5], &cache);
	c = calloc(1, sizeof *c);
	if (!c) {
		free(name);
		throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->timeout_ms = timeout ? timeout : SONDE_HEALTH_TIMEOUT_DEFAULT_MS;
	rname = str(env, name, NAPI_AUTO_LENGTH);
	if (napi_create_threadsafe_function(env, argv[2], NULL, rname, 0, 1, c, h_tsfn_fin, c,
	                                    h_call_js, &c->tsfn) != napi_ok) {
		pthread_mutex_destroy(&c->mu);
		free(c);
		free(name);
		return napi_fail(env);
	}
	/* a registered check must not keep the event loop alive */
	napi_unref_threadsafe_function(env, c->tsfn);
	sonde_health_check_opts_init(&co, name, h_run, c);
	co.probes = probes;
	co.timeout_ms = timeout;
	co.cache_ms = cache;
	co.release = h_release;
	rc = sonde_health_add_check(h, &co);
	free(name);
	if (rc != 0) {
		int err = sonde_last_status();
		char m[512];
		snprintf(m, sizeof m, "%s", sonde_last_error());
		/* not added: release ourselves; the tsfn's finalizer frees c */
		pthread_mutex_lock(&c->mu);
		c->released = 1;
		napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
		pthread_mutex_unlock(&c->mu);
		(void)err;
		throw_kind(env,
		           rc == SONDE_EINVAL   ? 1
		           : rc == SONDE_ELIMIT ? 2
		                                : 0,
		           rc == SONDE_EEXIST   ? "SONDE_EEXIST"
		           : rc == SONDE_EINVAL ? "SONDE_EINVAL"
		                                : "SONDE_ERROR",
		           m, rc);
		return NULL;
	}
	return undef(env);
}

typedef struct heval {
	napi_async_work work;
	napi_deferred deferred;
	sonde_health *h;
	napi_ref href;
	int probe;
	int code;
	sonde_health_status status;
	sonde_buf body;
} heval;

static void heval_exec(napi_env env, void *data)
{
	heval *e = data;
	e->code = sonde_health_evaluate(e->h, (sonde_health_probe)e->probe, &e->body, &e->status);
}

static void heval_done(napi_env env, napi_status s, void *data)
{
	heval *e = data;
	napi_value o;
	if (e->code < 0 || s != napi_ok) {
		napi_value m, err;
		napi_create_string_utf8(env, e->code < 0 ? sonde_strerror(e->code) : "cancelled",
		                        NAPI_AUTO_LENGTH, &m);
		napi_create_error(env, NULL, m, &err);
		napi_reject_deferred(env, e->deferred, err);
	} else {
		napi_create_object(env, &o);
		napi_set_named_property(env, o, "code", num(env, e->code));
		napi_set_named_property(
		        env, o, "status",
		        str(env, sonde_health_status_name(e->status), NAPI_AUTO_LENGTH));
		napi_set_named_property(env, o, "body",
		                        str(env, e->body.data ? e->body.data : "", e->body.len));
		napi_resolve_deferred(env, e->deferred, o);
	}
	napi_delete_reference(env, e->href);
	napi_delete_async_work(env, e->work);
	sonde_buf_destroy(&e->body);
	free(e);
}

/* healthEvaluate(h, probe) -> Promise<{code, status, body}>: sonde's
 * evaluation runs on a libuv pool thread, so the event loop stays free to
 * run the JS checks it waits for. */
static napi_value n_health_eval(napi_env env, napi_callback_info info)
{
	ARGS(2);
	sonde_health *h = get_ext(env, argv[0], "health");
	heval *e;
	napi_value promise, name;
	int32_t probe = 0;
	if (!h)
		return NULL;
	napi_get_value_int32(env, argv[1], &probe);
	if (probe != SONDE_HEALTH_LIVENESS && probe != SONDE_HEALTH_READINESS &&
	    probe != SONDE_HEALTH_STARTUP)
		return range_error(env, "probe must be liveness, readiness or startup");
	e = calloc(1, sizeof *e);
	if (!e) {
		throw_kind(env, 0, "SONDE_ENOMEM", "out of memory", SONDE_ENOMEM);
		return NULL;
	}
	e->h = h;
	e->probe = probe;
	/* keep the health object alive while the evaluation runs */
	napi_create_reference(env, argv[0], 1, &e->href);
	napi_create_promise(env, &e->deferred, &promise);
	napi_create_string_utf8(env, "sonde.health", NAPI_AUTO_LENGTH, &name);
	if (napi_create_async_work(env, NULL, name, heval_exec, heval_done, e, &e->work) !=
	            napi_ok ||
	    napi_queue_async_work(env, e->work) != napi_ok) {
		napi_delete_reference(env, e->href);
		free(e);
		return napi_fail(env);
	}
	return promise;
}

/* ---- test helper: native threads writing through the C API --------------------
 * cThreads(family, threads, n): `threads` pthreads each add 1 to the
 * counter child with no labels of a counter family, n times, the way a
 * native addon linked into the same process would. */
typedef struct cth {
	sonde_counter *c;
	long n;
} cth;

static void *cth_run(void *p)
{
	cth *t = p;
	for (long i = 0; i < t->n; i++)
		sonde_counter_inc(t->c);
	return NULL;
}

static napi_value n_c_threads(napi_env env, napi_callback_info info)
{
	ARGS(3);
	sonde_family *f = get_ext(env, argv[0], "family");
	int32_t nt = 0;
	int64_t n = 0;
	pthread_t th[16];
	cth t;
	int started = 0;
	if (!f)
		return NULL;
	napi_get_value_int32(env, argv[1], &nt);
	napi_get_value_int64(env, argv[2], &n);
	if (nt < 1 || nt > 16 || n < 0)
		return range_error(env, "threads must be 1..16 and n >= 0");
	t.c = sonde_counter_labels(f, 0, NULL, NULL);
	if (!t.c)
		return throw_sonde(env, 0);
	t.n = (long)n;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&th[i], NULL, cth_run, &t) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return num(env, started);
}

/* ---- module ------------------------------------------------------------------------- */
static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback cb;
	} fns[] = {
	        {"version", n_version},
	        {"lastError", n_last_error},
	        {"registry", n_registry},
	        {"familyNew", n_family_new},
	        {"familyUnregister", n_family_unregister},
	        {"child", n_child},
	        {"familyRemove", n_family_remove},
	        {"familyClear", n_family_clear},
	        {"expose", n_expose},
	        {"negotiate", n_negotiate},
	        {"processCollector", n_process_collector},
	        {"extract", n_extract},
	        {"traceparent", n_traceparent},
	        {"newRoot", n_new_root},
	        {"spanStart", n_span_start},
	        {"spanContext", n_span_context},
	        {"spanAttr", n_span_attr},
	        {"spanStatus", n_span_status},
	        {"spanException", n_span_exception},
	        {"spanEnd", n_span_end},
	        {"spanMetrics", n_span_metrics},
	        {"otlpStart", n_otlp_start},
	        {"otlpRunning", n_otlp_running},
	        {"otlpFlush", n_otlp_flush},
	        {"otlpShutdown", n_otlp_shutdown},
	        {"otlpStats", n_otlp_stats},
	        {"resourceService", n_resource_service},
	        {"loggerNew", n_logger_new},
	        {"loggerChild", n_logger_child},
	        {"loggerWrite", n_logger_write},
	        {"loggerWriteScoped", n_logger_write_scoped},
	        {"logScopeCheck", n_log_scope_check},
	        {"logSampledTotal", n_log_sampled_total},
	        {"loggerLevel", n_logger_level},
	        {"logFlush", n_log_flush},
	        {"logStats", n_log_stats},
	        {"healthNew", n_health_new},
	        {"healthAddCheck", n_health_add},
	        {"healthEvaluate", n_health_eval},
	        {"cThreads", n_c_threads},
	};
	env_state *st = calloc(1, sizeof *st);
	if (!st || napi_set_instance_data(env, st, env_state_free, NULL) != napi_ok) {
		free(st);
		napi_throw_error(env, NULL, "sonde: out of memory at load");
		return NULL;
	}
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		napi_value f;
		if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) !=
		            napi_ok ||
		    napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
			return NULL;
	}
	napi_set_named_property(env, exports, "contextSize",
	                        num(env, (double)sizeof(sonde_span_context)));
	return exports;
}

NAPI_MODULE_INIT()
{
	return init(env, exports);
}
