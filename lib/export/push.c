/*
 * lib/export/push.c - sonde_push(): a registry to a Prometheus Pushgateway.
 *
 * The group's URL path is /metrics/job/<job>{/<label>/<value>}, under the
 * gateway URL's own path. A value that could not travel as one plain path
 * segment goes as <label>@base64/<base64url of the value>, the gateway's
 * own escape, rather than percent-encoded: that is the form the gateway
 * documents for '/' and empty values, and it needs no second rule.
 */
#include <stdio.h>
#include <string.h>

#include "sonde/push.h"
#include "export/otel_config.h"
#include "metrics/metrics-int.h"
#include "net/http.h"

#define PUSH_TIMEOUT_DEFAULT_MS 10000u
#define PUSH_TIMEOUT_MAX_MS 600000u
#define PUSH_QUOTE_MAX 200 /* bytes of the gateway's answer quoted in an error */

void sonde_push_opts_init(sonde_push_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
}

/* A value that is one plain path segment: unreserved characters only
 * (RFC 3986), and not the dot segments a client or proxy may fold. */
static bool plain_segment(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~'))
			return false;
	}
	return true;
}

/* base64url with padding (the gateway accepts it; an empty value is "="). */
static void put_base64url(sonde_buf *b, const char *s)
{
	static const char abc[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n = strlen(s);

	if (n == 0) {
		sonde__buf_putc(b, '=');
		return;
	}
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = {abc[v >> 18], abc[v >> 12 & 63], abc[v >> 6 & 63], abc[v & 63]};
		sonde__buf_put(b, q, 4);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		char q[4] = {abc[v >> 18], abc[v >> 12 & 63], '=', '='};
		sonde__buf_put(b, q, 4);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		char q[4] = {abc[v >> 18], abc[v >> 12 & 63], abc[v >> 6 & 63], '='};
		sonde__buf_put(b, q, 4);
	}
}

static void put_pair(sonde_buf *b, const char *name, const char *value)
{
	sonde__buf_putc(b, '/');
	sonde__buf_puts(b, name);
	if (plain_segment(value)) {
		sonde__buf_putc(b, '/');
		sonde__buf_puts(b, value);
		return;
	}
	sonde__buf_puts(b, "@base64/");
	put_base64url(b, value);
}

static int check_value(const char *what, const char *v, bool empty_ok)
{
	size_t at;

	if (!v)
		return sonde__fail(SONDE_EINVAL, "sonde_push: %s is NULL", what);
	if (!empty_ok && !*v)
		return sonde__fail(SONDE_EINVAL, "sonde_push: %s is empty", what);
	at = sonde__utf8_invalid_at(v, strlen(v));
	if (at != SIZE_MAX)
		return sonde__fail(SONDE_EINVAL, "sonde_push: %s is not UTF-8 (byte %zu)", what,
		                   at);
	return SONDE_OK;
}

static int check_group(const sonde_push_opts *o)
{
	size_t i, j;
	int rc;

	if ((rc = check_value("the job", o->job, false)) != SONDE_OK)
		return rc;
	if (o->ngrouping > SONDE_PUSH_GROUPING_MAX)
		return sonde__fail(SONDE_EINVAL, "sonde_push: %zu grouping labels, the limit is %d",
		                   o->ngrouping, SONDE_PUSH_GROUPING_MAX);
	if (o->ngrouping && !o->grouping)
		return sonde__fail(SONDE_EINVAL, "sonde_push: grouping is NULL with ngrouping %zu",
		                   o->ngrouping);
	for (i = 0; i < o->ngrouping; i++) {
		const char *name = o->grouping[2 * i];
		if ((rc = sonde__check_label_name(name, SONDE_TYPE_GAUGE)) != SONDE_OK)
			return sonde__fail(rc, "sonde_push: grouping label %zu: %s", i,
			                   sonde_last_error());
		if (strcmp(name, "job") == 0)
			return sonde__fail(SONDE_EINVAL,
			                   "sonde_push: \"job\" is the job, not a grouping label");
		for (j = 0; j < i; j++)
			if (strcmp(o->grouping[2 * j], name) == 0)
				return sonde__fail(SONDE_EINVAL,
				                   "sonde_push: grouping label \"%s\" given twice",
				                   name);
		if ((rc = check_value("a grouping label value", o->grouping[2 * i + 1], true)) !=
		    SONDE_OK)
			return rc;
	}
	return SONDE_OK;
}

/* The request's path: the URL's own path without its trailing '/', then
 * the group. */
static int group_path(sonde_buf *b, const char *base, const sonde_push_opts *o)
{
	size_t i, n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	sonde__buf_put(b, base, n);
	sonde__buf_puts(b, "/metrics");
	put_pair(b, "job", o->job);
	for (i = 0; i < o->ngrouping; i++)
		put_pair(b, o->grouping[2 * i], o->grouping[2 * i + 1]);
	sonde__buf_terminate(b);
	return b->oom ? sonde__fail(SONDE_ENOMEM, "sonde_push: out of memory for the path")
	              : SONDE_OK;
}

/* The start of the gateway's answer, printable ASCII only, for a message. */
static void quote_body(const sonde_buf *body, char *out, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < body->len && k + 1 < cap && i < PUSH_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)body->data[i];
		out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

static int send_push(const char *host, uint16_t port, const char *method, const char *path,
                     const sonde_push_opts *o, const sonde_buf *body)
{
	sonde__http_options ho;
	sonde__http_client *c;
	sonde__http_response res;
	sonde_header *hs = NULL;
	size_t i, nh = o->nheaders + (body ? 1 : 0);
	const char *ctype = sonde_format_content_type(o->format);
	char quote[PUSH_QUOTE_MAX + 1];
	int rc;

	memset(&ho, 0, sizeof(ho));
	ho.connect_timeout_ms = ho.send_timeout_ms = ho.recv_timeout_ms = (int)o->timeout_ms;
	ho.max_body_bytes = 64 * 1024; /* the gateway answers with a line or two */
	if (nh) {
		hs = sonde__malloc(nh * sizeof(*hs));
		if (!hs)
			return sonde__fail(SONDE_ENOMEM,
			                   "sonde_push: out of memory for the headers");
		for (i = 0; i < o->nheaders; i++)
			hs[i] = o->headers[i];
		if (body) {
			memset(&hs[nh - 1], 0, sizeof(hs[0]));
			hs[nh - 1].name = "Content-Type";
			hs[nh - 1].name_len = strlen("Content-Type");
			hs[nh - 1].value = ctype;
			hs[nh - 1].value_len = strlen(ctype);
		}
	}
	c = sonde__http_client_new(host, port, &ho);
	if (!c) {
		rc = sonde_last_status();
		sonde__free(hs, nh * sizeof(*hs));
		return rc;
	}
	sonde__http_response_init(&res);
	rc = sonde__http_request(c, method, path, hs, nh, body ? body->data : NULL,
	                         body ? body->len : 0, &res);
	sonde__http_client_free(c);
	sonde__free(hs, nh * sizeof(*hs));
	if (rc == SONDE_OK && (res.status < 200 || res.status > 299)) {
		quote_body(&res.body, quote, sizeof(quote));
		rc = sonde__fail(res.status == 400 ? SONDE_EINVAL : SONDE_EIO,
		                 "the gateway answered %d%s%s", res.status, quote[0] ? ": " : "",
		                 quote);
	}
	sonde__http_response_destroy(&res);
	return rc;
}

/* The client's rules (net/http.h), checked before the exposition is
 * rendered, plus the Content-Type this call writes. */
static int check_headers(const sonde_push_opts *o)
{
	int rc = sonde__http_check_headers("sonde_push", o->headers, o->nheaders);

	for (size_t i = 0; rc == SONDE_OK && i < o->nheaders; i++)
		if (sonde__ascii_ieq(o->headers[i].name, o->headers[i].name_len, "content-type"))
			rc = sonde__fail(
			        SONDE_EINVAL,
			        "sonde_push: header %zu: Content-Type is written by sonde_push", i);
	return rc;
}

int sonde_push(const char *gateway_url, sonde_push_method m, sonde_registry *r,
               const sonde_push_opts *opts)
{
	static const char *const methods[] = {"PUT", "POST", "DELETE"};
	sonde_push_opts o;
	sonde_buf path = SONDE_BUF_INIT, body = SONDE_BUF_INIT;
	char *host = NULL, *base = NULL;
	uint16_t port = 0;
	int rc;

	if (!gateway_url)
		return sonde__fail(SONDE_EINVAL, "sonde_push: gateway_url is NULL");
	if ((rc = sonde__opts_copy(&o, sizeof(o), opts, SONDE__V1_SIZE(sonde_push_opts, format),
	                           "sonde_push")) != SONDE_OK)
		return rc;
	if ((unsigned)m > SONDE_PUSH_DELETE)
		return sonde__fail(SONDE_EINVAL, "sonde_push: unknown method %d", (int)m);
	if (o.timeout_ms > PUSH_TIMEOUT_MAX_MS)
		return sonde__fail(SONDE_EINVAL, "sonde_push: timeout_ms %u is over %u",
		                   o.timeout_ms, PUSH_TIMEOUT_MAX_MS);
	if (o.timeout_ms == 0)
		o.timeout_ms = PUSH_TIMEOUT_DEFAULT_MS;
	if (o.format != SONDE_FORMAT_TEXT && o.format != SONDE_FORMAT_PROTOBUF)
		return sonde__fail(
		        SONDE_EINVAL,
		        "sonde_push: format %d: the gateway reads text 0.0.4 or protobuf",
		        (int)o.format);
	if ((rc = check_group(&o)) != SONDE_OK || (rc = check_headers(&o)) != SONDE_OK)
		return rc;
	if ((rc = sonde__parse_http_url(gateway_url, &host, &port, &base)) != SONDE_OK)
		return sonde__fail(rc, "sonde_push: %s", sonde_last_error());
	rc = group_path(&path, base, &o);
	if (rc == SONDE_OK && m != SONDE_PUSH_DELETE)
		rc = sonde_expose(r, o.format, &body);
	if (rc == SONDE_OK)
		rc = send_push(host, port, methods[m], path.data, &o,
		               m == SONDE_PUSH_DELETE ? NULL : &body);
	if (rc != SONDE_OK)
		rc = sonde__fail(rc, "sonde_push: %s %s (%s): %s", methods[m], gateway_url,
		                 path.data ? path.data : "", sonde_last_error());
	sonde_buf_destroy(&path);
	sonde_buf_destroy(&body);
	sonde__free(host, strlen(host) + 1);
	sonde__free(base, strlen(base) + 1);
	return rc;
}
