/* lib/export/otel_config.c - the OpenTelemetry SDK environment variables
 * (see otel_config.h; the names and defaults are those of the
 * OpenTelemetry specification's "Environment Variable Specification" and
 * "OTLP Exporter Configuration"). */
#include <stdio.h>
#include <stdlib.h>

#include "export/otel_config.h"

#define DEFAULT_BASE "http://localhost:4318"

typedef struct reader {
	sonde__env_fn get;
	void *ctx;
	int status; /* SONDE_OK, SONDE_EINVAL or SONDE_ENOMEM */
} reader;

const char *sonde__env_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static const char *var(reader *r, const char *name)
{
	const char *v = r->get(r->ctx, name);
	return v && *v ? v : NULL;
}

static void invalid(reader *r, const char *name, const char *value, const char *why,
                    const char *instead)
{
	if (r->status != SONDE_ENOMEM)
		r->status = sonde__fail(SONDE_EINVAL, "%s=\"%.64s\": %s; using %s", name, value,
		                        why, instead);
}

static void oom(reader *r)
{
	r->status = sonde__fail(SONDE_ENOMEM, "OpenTelemetry configuration: out of memory");
}

static char *dup(reader *r, const char *s)
{
	char *d = sonde__strndup(s, strlen(s));
	if (!d)
		oom(r);
	return d;
}

static void sfree(char *s)
{
	if (s)
		sonde__free(s, strlen(s) + 1);
}

/* A whole string, trimmed, as a non-negative integer of at most 9 digits. */
static bool parse_uint(const char *s, int *out)
{
	long v = 0;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (n == 9)
			return false;
		v = v * 10 + (*s - '0');
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (!n || *s)
		return false;
	*out = (int)v;
	return true;
}

static void read_int(reader *r, const char *name, int *out, int def, bool positive)
{
	const char *v = var(r, name);
	char d[24];
	int x;

	*out = def;
	if (!v)
		return;
	if (!parse_uint(v, &x) || (positive && x == 0)) {
		snprintf(d, sizeof(d), "%d", def);
		invalid(r, name, v,
		        positive ? "not a positive integer" : "not a non-negative integer", d);
		return;
	}
	*out = x;
}

/* ---- key=value lists (OTEL_RESOURCE_ATTRIBUTES, *_HEADERS) ------------------------- */

static void kv_free(sonde__kv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		sfree(l->v[i].key);
		sfree(l->v[i].value);
	}
	if (l->v)
		sonde__free(l->v, l->cap * sizeof(*l->v));
	memset(l, 0, sizeof(*l));
}

/* ASCII case-insensitive equality (header names) */
static bool icase_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (sonde__ascii_lower(*a) != sonde__ascii_lower(*b))
			return false;
	return !*a && !*b;
}

/* A trimmed, percent-decoded copy of s[0..n); NULL with *bad on a
 * malformed escape, NULL without on out-of-memory. */
static char *decode(const char *s, size_t n, bool *bad)
{
	char *out, *o;
	size_t i;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	out = sonde__malloc(n + 1);
	if (!out)
		return NULL;
	for (o = out, i = 0; i < n; i++) {
		if (s[i] == '%') {
			uint8_t h, l;
			if (i + 2 >= n) {
				*bad = true;
				break;
			}
			h = sonde__hex_val[(unsigned char)sonde__ascii_lower(s[i + 1])];
			l = sonde__hex_val[(unsigned char)sonde__ascii_lower(s[i + 2])];
			if (h == 0xff || l == 0xff) {
				*bad = true;
				break;
			}
			*o++ = (char)(h << 4 | l);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	if (*bad || (size_t)(o - out) != strlen(out) ||
	    sonde__utf8_invalid_at(out, (size_t)(o - out)) != SIZE_MAX) {
		/* an escape decoded to NUL or to invalid UTF-8 */
		*bad = true;
		sonde__free(out, n + 1);
		return NULL;
	}
	/* shrink the block's recorded size to the string: freed by strlen */
	if ((size_t)(o - out) != n) {
		char *exact = sonde__strndup(out, (size_t)(o - out));
		sonde__free(out, n + 1);
		return exact;
	}
	return out;
}

/* Parses "k=v,k2=v2" into l (empty members, as from a trailing comma, are
 * skipped). Returns false with *bad for a malformed list (the caller drops
 * it whole), false without it on out-of-memory; l is empty then. */
static bool parse_kv(const char *s, sonde__kv_list *l, bool *bad)
{
	const char *p;

	l->n = 0;
	l->cap = 1;
	for (p = s; *p; p++)
		l->cap += *p == ',';
	l->v = sonde__calloc(l->cap, sizeof(*l->v));
	if (!l->v) {
		l->cap = 0;
		return false;
	}
	for (p = s;;) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p), i;
		eq = memchr(p, '=', len);
		if (!eq) {
			for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
				;
			if (i != len)
				*bad = true;
		} else {
			sonde__kv *kv = &l->v[l->n++];
			kv->key = decode(p, (size_t)(eq - p), bad);
			if (kv->key)
				kv->value = decode(eq + 1, len - (size_t)(eq - p) - 1, bad);
			if (kv->key && kv->value && !kv->key[0])
				*bad = true; /* an empty key */
			if (!kv->key || !kv->value) {
				kv_free(l);
				return false;
			}
		}
		if (*bad) {
			kv_free(l);
			return false;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return true;
}

static void read_kv(reader *r, const char *name, sonde__kv_list *l)
{
	const char *v = var(r, name);
	bool bad = false;

	memset(l, 0, sizeof(*l));
	if (!v)
		return;
	if (!parse_kv(v, l, &bad)) {
		if (bad)
			invalid(r, name, v, "not a list of key=value pairs (percent-encoded)",
			        "none of it");
		else
			oom(r);
	}
}

/* ---- URLs ------------------------------------------------------------------------------ */

int sonde__parse_http_url(const char *url, char **host, uint16_t *port, char **path)
{
	const char *h, *end, *hend, *p;
	size_t hl;
	long pn = 80;

	*host = *path = NULL;
	*port = 0;
	if (!url || strncmp(url, "http://", 7) != 0) {
		if (url && strncmp(url, "https://", 8) == 0)
			return sonde__fail(SONDE_EINVAL,
			                   "https is not supported: export over http to a local "
			                   "OpenTelemetry Collector that forwards with TLS");
		return sonde__fail(SONDE_EINVAL, "not an http:// URL");
	}
	h = url + 7;
	end = h + strcspn(h, "/?#");
	if (*end == '#' || strchr(h, '#'))
		return sonde__fail(SONDE_EINVAL, "a fragment has no place in an endpoint URL");
	if (memchr(h, '@', (size_t)(end - h)))
		return sonde__fail(SONDE_EINVAL, "user information in the URL is not supported");
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(end - h));
		if (!hend)
			return sonde__fail(SONDE_EINVAL, "unterminated IPv6 literal");
		h++;
		hl = (size_t)(hend - h);
		p = hend + 1;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((hend ? hend : end) - h);
		p = hend ? hend : end;
	}
	if (hl == 0)
		return sonde__fail(SONDE_EINVAL, "no host in the URL");
	if (*p == ':') {
		char *e;
		if (p + 1 == end)
			return sonde__fail(SONDE_EINVAL, "empty port in the URL");
		pn = strtol(p + 1, &e, 10);
		if (e != end || pn < 1 || pn > 65535 || p[1] < '0' || p[1] > '9')
			return sonde__fail(SONDE_EINVAL, "invalid port in the URL");
	} else if (p != end) {
		return sonde__fail(SONDE_EINVAL, "malformed host in the URL");
	}
	*host = sonde__strndup(h, hl);
	if (*end == '?') {
		/* no path but a query: the request target is "/?query" */
		size_t ql = strlen(end);
		*path = sonde__malloc(ql + 2);
		if (*path) {
			(*path)[0] = '/';
			memcpy(*path + 1, end, ql + 1);
		}
	} else {
		*path = sonde__strndup(*end ? end : "/", *end ? strlen(end) : 1);
	}
	if (!*host || !*path) {
		sfree(*host);
		sfree(*path);
		*host = *path = NULL;
		return sonde__fail(SONDE_ENOMEM, "out of memory for the URL");
	}
	*port = (uint16_t)pn;
	return SONDE_OK;
}

/* ---- one signal ----------------------------------------------------------------------- */

static void signal_free(sonde__otlp_signal *s)
{
	sfree(s->url);
	sfree(s->host);
	sfree(s->path);
	kv_free(&s->headers);
	memset(s, 0, sizeof(*s));
}

/* base + "/" + suffix as an exact-size string, or NULL */
static char *join(reader *r, const char *base, const char *suffix)
{
	size_t bl = strlen(base), sl = strlen(suffix);
	bool slash = bl && base[bl - 1] == '/';
	char *u = sonde__malloc(bl + sl + (slash ? 1 : 2));

	if (!u) {
		oom(r);
		return NULL;
	}
	memcpy(u, base, bl);
	if (!slash)
		u[bl++] = '/';
	memcpy(u + bl, suffix, sl + 1);
	return u;
}

/* The signal's own variable as is, else the base (OTEL_EXPORTER_OTLP_ENDPOINT
 * or the default) plus the signal's path; an invalid one falls back to the
 * default. */
static void read_endpoint(reader *r, sonde__otlp_signal *s, const char *sig_var, const char *suffix)
{
	const char *own = var(r, sig_var), *base = var(r, "OTEL_EXPORTER_OTLP_ENDPOINT");
	char *url = own ? dup(r, own) : join(r, base ? base : DEFAULT_BASE, suffix);
	int rc;

	if (!url)
		return;
	rc = sonde__parse_http_url(url, &s->host, &s->port, &s->path);
	if (rc == SONDE_EINVAL) {
		char why[200];
		snprintf(why, sizeof(why), "%s", sonde_last_error());
		invalid(r, own ? sig_var : "OTEL_EXPORTER_OTLP_ENDPOINT", own ? own : base, why,
		        "http://localhost:4318 and the signal's path");
		sfree(url);
		url = join(r, DEFAULT_BASE, suffix);
		if (!url)
			return;
		rc = sonde__parse_http_url(url, &s->host, &s->port, &s->path);
	}
	if (rc) {
		sfree(url);
		oom(r);
		return;
	}
	s->url = url;
}

/* The signal's headers: the general list, then the signal's (a name in
 * both, compared ignoring case: the signal's value wins). */
static void read_headers(reader *r, sonde__otlp_signal *s, const char *sig_var)
{
	sonde__kv_list g, o, all;
	size_t i, j;

	read_kv(r, "OTEL_EXPORTER_OTLP_HEADERS", &g);
	read_kv(r, sig_var, &o);
	memset(&all, 0, sizeof(all));
	all.cap = g.n + o.n + 1;
	all.v = sonde__calloc(all.cap, sizeof(*all.v));
	if (!all.v) {
		kv_free(&g);
		kv_free(&o);
		oom(r);
		return;
	}
	for (i = 0; i < g.n; i++) {
		bool overridden = false;
		for (j = 0; j < o.n && !overridden; j++)
			overridden = icase_eq(o.v[j].key, g.v[i].key);
		if (!overridden) {
			all.v[all.n++] = g.v[i];
			g.v[i].key = g.v[i].value = NULL;
		}
	}
	for (j = 0; j < o.n; j++) {
		all.v[all.n++] = o.v[j];
		o.v[j].key = o.v[j].value = NULL;
	}
	kv_free(&g);
	kv_free(&o);
	s->headers = all;
}

static const char *pick(reader *r, const char *sig_var, const char *gen_var, const char **used)
{
	const char *v = var(r, sig_var);
	*used = v ? sig_var : gen_var;
	return v ? v : var(r, gen_var);
}

static void read_signal(reader *r, sonde__otlp_signal *s, const char *sig, const char *suffix,
                        const char *exporter_var)
{
	char name[64], name2[64];
	const char *v, *used;

	/* OTEL_TRACES_EXPORTER / OTEL_LOGS_EXPORTER: a list; otlp or none */
	s->enabled = true;
	v = var(r, exporter_var);
	if (v) {
		bool otlp = false, none = false, other = false;
		const char *p = v;
		while (*p) {
			size_t n = strcspn(p, ","), a = 0;
			while (a < n && (p[a] == ' ' || p[a] == '\t'))
				a++;
			while (n > a && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			if (n - a == 4 && !memcmp(p + a, "otlp", 4))
				otlp = true;
			else if (n - a == 4 && !memcmp(p + a, "none", 4))
				none = true;
			else if (n > a)
				other = true;
			p += strcspn(p, ",");
			if (*p == ',')
				p++;
		}
		if (other)
			invalid(r, exporter_var, v, "only otlp and none are supported",
			        otlp || none ? "the supported entries" : "otlp");
		s->enabled = otlp || !none;
	}
	snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_ENDPOINT", sig);
	read_endpoint(r, s, name, suffix);
	snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_HEADERS", sig);
	read_headers(r, s, name);
	snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_TIMEOUT", sig);
	v = pick(r, name, "OTEL_EXPORTER_OTLP_TIMEOUT", &used);
	s->timeout_ms = 10000;
	if (v) {
		int x;
		if (parse_uint(v, &x) && x > 0)
			s->timeout_ms = x;
		else
			invalid(r, used, v, "not a positive number of milliseconds", "10000");
	}
	snprintf(name2, sizeof(name2), "OTEL_EXPORTER_OTLP_%s_COMPRESSION", sig);
	v = pick(r, name2, "OTEL_EXPORTER_OTLP_COMPRESSION", &used);
	if (v && !strcmp(v, "gzip"))
		s->gzip = true;
	else if (v && strcmp(v, "none"))
		invalid(r, used, v, "not gzip or none", "none");
	snprintf(name2, sizeof(name2), "OTEL_EXPORTER_OTLP_%s_PROTOCOL", sig);
	v = pick(r, name2, "OTEL_EXPORTER_OTLP_PROTOCOL", &used);
	if (v && !strcmp(v, "http/json"))
		s->json = true;
	else if (v && !strcmp(v, "grpc"))
		invalid(r, used, v, "gRPC is not supported (OTLP/HTTP on port 4318 is)",
		        "http/protobuf");
	else if (v && strcmp(v, "http/protobuf"))
		invalid(r, used, v, "not http/protobuf or http/json", "http/protobuf");
}

/* ---- the whole ---------------------------------------------------------------------------- */

void sonde__otel_config_destroy(sonde__otel_config *cfg)
{
	if (!cfg)
		return;
	sfree(cfg->service_name);
	kv_free(&cfg->resource);
	signal_free(&cfg->traces);
	signal_free(&cfg->logs);
	memset(cfg, 0, sizeof(*cfg));
}

static void read_sampler(reader *r, sonde__otel_config *cfg)
{
	static const struct {
		const char *name;
		sonde__sampler s;
	} names[] = {{"always_on", SONDE__SAMPLER_ALWAYS_ON},
	             {"always_off", SONDE__SAMPLER_ALWAYS_OFF},
	             {"traceidratio", SONDE__SAMPLER_TRACEIDRATIO},
	             {"parentbased_always_on", SONDE__SAMPLER_PARENTBASED_ALWAYS_ON},
	             {"parentbased_always_off", SONDE__SAMPLER_PARENTBASED_ALWAYS_OFF},
	             {"parentbased_traceidratio", SONDE__SAMPLER_PARENTBASED_TRACEIDRATIO}};
	const char *v = var(r, "OTEL_TRACES_SAMPLER"), *a = var(r, "OTEL_TRACES_SAMPLER_ARG");
	size_t i;

	cfg->sampler = SONDE__SAMPLER_PARENTBASED_ALWAYS_ON;
	cfg->sampler_ratio = 1.0;
	if (v) {
		for (i = 0; i < SONDE_ARRAY_LEN(names); i++)
			if (!strcmp(v, names[i].name))
				break;
		if (i < SONDE_ARRAY_LEN(names))
			cfg->sampler = names[i].s;
		else
			invalid(r, "OTEL_TRACES_SAMPLER", v, "not a known sampler",
			        "parentbased_always_on");
	}
	if (a && (cfg->sampler == SONDE__SAMPLER_TRACEIDRATIO ||
	          cfg->sampler == SONDE__SAMPLER_PARENTBASED_TRACEIDRATIO)) {
		size_t used = 0, n = strlen(a);
		double x = sonde__parse_double(a, n, &used);
		if (used == n && x >= 0 && x <= 1)
			cfg->sampler_ratio = x;
		else
			invalid(r, "OTEL_TRACES_SAMPLER_ARG", a, "not a ratio in [0, 1]", "1.0");
	}
}

int sonde__otel_config_read(sonde__otel_config *cfg, sonde__env_fn get, void *ctx)
{
	reader r = {get, ctx, SONDE_OK};
	const char *v;

	if (!cfg || !get)
		return sonde__fail(SONDE_EINVAL, "otel config: NULL argument");
	memset(cfg, 0, sizeof(*cfg));
	v = var(&r, "OTEL_SDK_DISABLED");
	if (v && sonde__ascii_ieq(v, strlen(v), "true"))
		cfg->sdk_disabled = true;
	else if (v && !sonde__ascii_ieq(v, strlen(v), "false"))
		invalid(&r, "OTEL_SDK_DISABLED", v, "not true or false", "false");
	v = var(&r, "OTEL_SERVICE_NAME");
	if (v)
		cfg->service_name = dup(&r, v);
	read_kv(&r, "OTEL_RESOURCE_ATTRIBUTES", &cfg->resource);
	read_signal(&r, &cfg->traces, "TRACES", "v1/traces", "OTEL_TRACES_EXPORTER");
	read_signal(&r, &cfg->logs, "LOGS", "v1/logs", "OTEL_LOGS_EXPORTER");
	read_sampler(&r, cfg);
	read_int(&r, "OTEL_BSP_SCHEDULE_DELAY", &cfg->bsp_schedule_delay_ms, 5000, false);
	read_int(&r, "OTEL_BSP_EXPORT_TIMEOUT", &cfg->bsp_export_timeout_ms, 30000, true);
	read_int(&r, "OTEL_BSP_MAX_QUEUE_SIZE", &cfg->bsp_max_queue_size, 2048, true);
	read_int(&r, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &cfg->bsp_max_export_batch_size, 512, true);
	if (cfg->bsp_max_export_batch_size > cfg->bsp_max_queue_size) {
		char q[24];
		snprintf(q, sizeof(q), "%d", cfg->bsp_max_queue_size);
		invalid(&r, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
		        var(&r, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
		                ? var(&r, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
		                : "512",
		        "larger than OTEL_BSP_MAX_QUEUE_SIZE", q);
		cfg->bsp_max_export_batch_size = cfg->bsp_max_queue_size;
	}
	if (r.status == SONDE_ENOMEM) {
		sonde__otel_config_destroy(cfg);
		return sonde__fail(SONDE_ENOMEM, "OpenTelemetry configuration: out of memory");
	}
	return r.status;
}
