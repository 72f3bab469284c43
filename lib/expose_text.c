/*
 * lib/expose_text.c - the Prometheus text format 0.0.4.
 *
 * Families sorted by name (the registry keeps them sorted), children in
 * creation order, no timestamps (Prometheus stamps the scrape; explicit
 * ones make it drop samples as too old). A family with no children writes
 * nothing, as client_golang does.
 */
#include "metrics-int.h"

const char *sonde_format_content_type(sonde_format fmt)
{
	return fmt == SONDE_FORMAT_OPENMETRICS ? SONDE_CONTENT_TYPE_OPENMETRICS
	                                       : SONDE_CONTENT_TYPE_TEXT;
}

static void put_num(sonde_buf *b, double v)
{
	char tmp[SONDE_DBL_MAX];

	sonde__buf_put(b, tmp, sonde__fmt_double(tmp, v));
}

static void put_u64(sonde_buf *b, uint64_t v)
{
	char tmp[24];

	sonde__buf_put(b, tmp, sonde__fmt_u64(tmp, v));
}

/* name{labels} or name{labels,extra} or name; then a space. */
static void put_series(sonde_buf *b, const sonde_family *f, const char *suffix,
                       const sonde__child *c, const char *extra_k, const char *extra_v,
                       size_t extra_vlen)
{
	sonde__buf_put(b, f->name, f->name_len);
	if (suffix)
		sonde__buf_puts(b, suffix);
	if (c->lbl_len || extra_k) {
		sonde__buf_putc(b, '{');
		sonde__buf_put(b, c->lbl, c->lbl_len);
		if (extra_k) {
			if (c->lbl_len)
				sonde__buf_putc(b, ',');
			sonde__buf_puts(b, extra_k);
			sonde__buf_put(b, "=\"", 2);
			sonde__buf_put(b, extra_v, extra_vlen);
			sonde__buf_putc(b, '"');
		}
		sonde__buf_putc(b, '}');
	}
	sonde__buf_putc(b, ' ');
}

static void render_histogram(sonde_buf *b, const sonde_family *f, const sonde__child *c)
{
	uint32_t idx = sonde__load_relaxed(&((sonde__child *)c)->cell), i;
	uint64_t cum = 0;
	char le[SONDE_DBL_MAX];

	for (i = 0; i <= c->nbounds; i++) {
		size_t n;
		cum += sonde__cells_sum_u64_locked(idx + i);
		if (i < c->nbounds)
			n = sonde__fmt_double(le, c->bounds[i]);
		else
			n = (memcpy(le, "+Inf", 4), 4);
		put_series(b, f, "_bucket", c, "le", le, n);
		put_u64(b, cum);
		sonde__buf_putc(b, '\n');
	}
	put_series(b, f, "_sum", c, NULL, NULL, 0);
	put_num(b, sonde__cells_sum_f64_locked(idx + c->nbounds + 1));
	sonde__buf_putc(b, '\n');
	/* _count is the cumulative +Inf count read above: always equal. */
	put_series(b, f, "_count", c, NULL, NULL, 0);
	put_u64(b, cum);
	sonde__buf_putc(b, '\n');
}

static void render_family(sonde_buf *b, sonde_family *f)
{
	const sonde__child *c;
	const char *type;

	pthread_mutex_lock(&f->mu);
	if (!f->head) {
		pthread_mutex_unlock(&f->mu);
		return;
	}
	switch (f->type) {
	case SONDE_TYPE_COUNTER: type = "counter"; break;
	case SONDE_TYPE_GAUGE: type = "gauge"; break;
	case SONDE_TYPE_HISTOGRAM: type = "histogram"; break;
	default: type = "untyped"; break;
	}
	if (f->help_len) {
		sonde__buf_put(b, "# HELP ", 7);
		sonde__buf_put(b, f->name, f->name_len);
		sonde__buf_putc(b, ' ');
		sonde__put_help(b, f->help, f->help_len, false);
		sonde__buf_putc(b, '\n');
	}
	sonde__buf_put(b, "# TYPE ", 7);
	sonde__buf_put(b, f->name, f->name_len);
	sonde__buf_putc(b, ' ');
	sonde__buf_puts(b, type);
	sonde__buf_putc(b, '\n');

	sonde__cells_lock();
	for (c = f->head; c; c = c->next) {
		switch (f->type) {
		case SONDE_TYPE_COUNTER:
			put_series(b, f, NULL, c, NULL, NULL, 0);
			put_num(b, sonde__counter_value_locked(c));
			sonde__buf_putc(b, '\n');
			break;
		case SONDE_TYPE_GAUGE:
			put_series(b, f, NULL, c, NULL, NULL, 0);
			put_num(b, sonde_gauge_value((const sonde_gauge *)c));
			sonde__buf_putc(b, '\n');
			break;
		case SONDE_TYPE_HISTOGRAM:
			render_histogram(b, f, c);
			break;
		default:
			break;
		}
	}
	sonde__cells_unlock();
	pthread_mutex_unlock(&f->mu);
}

int sonde_expose(sonde_registry *r, sonde_format fmt, sonde_buf *out)
{
	size_t i;

	if (!out)
		return sonde__fail(SONDE_EINVAL, "sonde_expose: output buffer is NULL");
	if (fmt != SONDE_FORMAT_TEXT) {
		if (fmt == SONDE_FORMAT_OPENMETRICS)
			return sonde__fail(SONDE_ENOTSUP,
			                   "sonde_expose: OpenMetrics is not available in this version");
		return sonde__fail(SONDE_EINVAL, "sonde_expose: unknown format %d", (int)fmt);
	}
	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	sonde_buf_reset(out);
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->nfams && !out->oom; i++)
		render_family(out, r->fams[i]);
	pthread_mutex_unlock(&r->mu);
	sonde__buf_terminate(out);
	if (out->oom)
		return sonde__fail(SONDE_ENOMEM, "sonde_expose: out of memory after %zu bytes", out->len);
	return SONDE_OK;
}
