/* lib/expose/expose.c - the entry points: sonde_expose() renders a
 * registry (expose_text.c), sonde_expose_http() negotiates (negotiate.c),
 * renders and gzips (gzip.c). */
#include "expose/expose-int.h"

int sonde_expose(sonde_registry *r, sonde_format fmt, sonde_buf *out)
{
	if (!out)
		return sonde__fail(SONDE_EINVAL, "sonde_expose: output buffer is NULL");
	if (fmt != SONDE_FORMAT_TEXT && fmt != SONDE_FORMAT_OPENMETRICS &&
	    fmt != SONDE_FORMAT_PROTOBUF)
		return sonde__fail(SONDE_EINVAL, "sonde_expose: unknown format %d", (int)fmt);
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	if (fmt == SONDE_FORMAT_PROTOBUF)
		return sonde__expose_render_pb(r, out);
	return sonde__expose_render(r, fmt, out);
}

int sonde_expose_http(sonde_registry *r, const char *accept, const char *accept_encoding,
                      sonde_buf *body, sonde_expose_result *res)
{
	sonde_format fmt;
	const char *ct;
	int rc;

	if (!body || !res)
		return sonde__fail(SONDE_EINVAL, "sonde_expose_http: body or result is NULL");
	(void)sonde_expose_negotiate(accept, SIZE_MAX, &fmt, &ct);
	res->format = fmt;
	res->content_type = ct;
	res->content_encoding = NULL;
	rc = sonde_expose(r, fmt, body);
	if (rc)
		return rc;
#ifdef SONDE_HAVE_ZLIB
	if (sonde_accepts_gzip(accept_encoding, SIZE_MAX) && body->len < UINT32_MAX) {
		sonde_buf z = SONDE_BUF_INIT;
		rc = sonde__gzip(body->data, body->len, &z);
		if (rc) {
			sonde_buf_destroy(&z);
			return rc;
		}
		/* hand the compressed bytes to the caller's buffer */
		sonde_buf_destroy(body);
		*body = z;
		res->content_encoding = "gzip";
	}
#else
	(void)accept_encoding;
#endif
	return SONDE_OK;
}
