/*
 * lib/expose/expose_text.c - the Prometheus text format 0.0.4 and OpenMetrics
 * 1.0.0 text, from one walker.
 *
 * Families sorted by name (the registry keeps them sorted), children in
 * creation order, no timestamps (Prometheus stamps the scrape; explicit ones
 * make it drop samples as too old). A family with no children writes
 * nothing, as client_golang does.
 *
 * Where the formats differ:
 *                      text 0.0.4                OpenMetrics 1.0.0
 *   counter family     name as registered        name without _total;
 *                                                samples name_total, name_created
 *   metadata           HELP, TYPE                TYPE, UNIT, HELP
 *   HELP escaping      \\ and \n                  \\, \n and \"
 *   le                 shortest float ("1")      canonical ("1.0", "1e+06")
 *   _created           none                      counters and histograms
 *   end                last line's LF            "# EOF\n"
 */
#include "expose/expose-int.h"
#include "metrics/native.h"
#include "metrics/summary.h"

const char *sonde_format_content_type(sonde_format fmt)
{
	if (fmt == SONDE_FORMAT_PROTOBUF)
		return SONDE_CONTENT_TYPE_PROTOBUF;
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

typedef struct walk {
	sonde_buf *b;
	bool om;
	bool created;     /* OpenMetrics and the registry asks for _created */
	const char *name; /* family name as written (OM counters: without _total) */
	size_t name_len;
	const char *rl; /* the registry's default labels, escaped */
	size_t rl_len;
	sonde__cells_run run; /* the cells lock over counter children */
} walk;

/* name+suffix{labels[,extra]} then a space. */
static void put_series(walk *w, const char *suffix, size_t suffix_len, const sonde__child *c,
                       const char *extra_k, const char *extra_v, size_t extra_vlen)
{
	sonde_buf *b = w->b;

	sonde__buf_put(b, w->name, w->name_len);
	if (suffix_len)
		sonde__buf_put(b, suffix, suffix_len);
	if (c->lbl_len || w->rl_len || extra_k) {
		sonde__buf_putc(b, '{');
		sonde__buf_put(b, c->lbl, c->lbl_len);
		if (w->rl_len) { /* the registry's default labels */
			if (c->lbl_len)
				sonde__buf_putc(b, ',');
			sonde__buf_put(b, w->rl, w->rl_len);
		}
		if (extra_k) {
			if (c->lbl_len || w->rl_len)
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

#define SUFFIX(s) s, sizeof(s) - 1

/* OpenMetrics: ` # {labels} value timestamp` before the line's LF. */
static void put_exemplar(walk *w, const sonde__child *c, size_t slot)
{
	char text[800];
	size_t len;
	double v;
	int64_t ts;

	if (!w->om || !sonde__exemplar_read(c, slot, text, &len, &v, &ts))
		return;
	sonde__buf_put(w->b, " # {", 4);
	sonde__buf_put(w->b, text, len);
	sonde__buf_put(w->b, "} ", 2);
	put_num(w->b, v);
	sonde__buf_putc(w->b, ' ');
	put_num(w->b, (double)ts / 1e6);
}

static void put_created(walk *w, const sonde__child *c)
{
	if (!w->created || c->read_fn)
		return;
	int64_t us = c->created_ns / 1000;
	char tmp[40];
	size_t n, i;

	put_series(w, SUFFIX("_created"), c, NULL, NULL, 0);
	/* seconds.microseconds in fixed point: exact, and no float
	 * formatting per sample */
	n = sonde__fmt_i64(tmp, us / 1000000);
	tmp[n++] = '.';
	{
		int64_t frac = us % 1000000;
		for (i = 6; i-- > 0; frac /= 10)
			tmp[n + i] = (char)('0' + frac % 10);
	}
	n += 6;
	while (tmp[n - 1] == '0')
		n--;
	if (tmp[n - 1] == '.')
		n--;
	sonde__buf_put(w->b, tmp, n);
	sonde__buf_putc(w->b, '\n');
}

/* The _sum and _count lines, then _created when asked: the tail of a
 * histogram, a native-only histogram and a summary. */
static void put_sum_count(walk *w, const sonde__child *c, double sum, uint64_t count)
{
	put_series(w, SUFFIX("_sum"), c, NULL, NULL, 0);
	put_num(w->b, sum);
	sonde__buf_putc(w->b, '\n');
	put_series(w, SUFFIX("_count"), c, NULL, NULL, 0);
	put_u64(w->b, count);
	sonde__buf_putc(w->b, '\n');
	put_created(w, c);
}

static void render_histogram(walk *w, const sonde__child *c)
{
	uint32_t idx = sonde__load_relaxed(&((sonde__child *)c)->cell), i;
	uint64_t cum = 0;
	char le[SONDE_DBL_MAX];

	for (i = 0; i <= c->nbounds; i++) {
		size_t n;
		cum += sonde__cells_sum_u64_locked(idx + i);
		if (i == c->nbounds)
			n = (memcpy(le, "+Inf", 4), 4);
		else if (w->om)
			n = sonde__fmt_double_canonical(le, c->bounds[i]);
		else
			n = sonde__fmt_double(le, c->bounds[i]);
		put_series(w, SUFFIX("_bucket"), c, "le", le, n);
		put_u64(w->b, cum);
		put_exemplar(w, c, i);
		sonde__buf_putc(w->b, '\n');
	}
	/* OpenMetrics: a histogram with a negative bound MUST NOT carry
	 * _sum (it is no counter), and _count goes only with _sum (the
	 * official parser's rule): the +Inf bucket is the count. */
	if (w->om && c->bounds[0] < 0) {
		put_created(w, c);
		return;
	}
	/* _count is the cumulative +Inf count read above: always equal. */
	put_sum_count(w, c, sonde__cells_sum_f64_locked(idx + c->nbounds + 1), cum);
}

/* A native-only histogram in the text formats, as client_golang writes it:
 * the +Inf bucket, _sum and _count, from the native buckets (under the
 * family mutex, which render_family holds). */
static void render_native_only(walk *w, const sonde__child *c)
{
	sonde__native_read rd;

	if (sonde__native_snapshot(c, &rd) != SONDE_OK) {
		w->b->oom = 1;
		return;
	}
	put_series(w, SUFFIX("_bucket"), c, "le", "+Inf", 4);
	put_u64(w->b, rd.count);
	put_exemplar(w, c, 0);
	sonde__buf_putc(w->b, '\n');
	put_sum_count(w, c, rd.sum, rd.count);
	sonde__native_read_free(&rd);
}

static void render_summary(walk *w, const sonde_family *f, const sonde__child *c)
{
	double qv[SONDE_QUANTILES_MAX];
	sonde__summ_snapshot snap;
	char q[SONDE_DBL_MAX];
	size_t i, n;

	if (sonde__summary_read(c, f->quantiles, f->nquantiles, qv, &snap) != SONDE_OK) {
		w->b->oom = 1;
		return;
	}
	for (i = 0; i < f->nquantiles; i++) {
		n = w->om ? sonde__fmt_double_canonical(q, f->quantiles[i])
		          : sonde__fmt_double(q, f->quantiles[i]);
		put_series(w, NULL, 0, c, "quantile", q, n);
		put_num(w->b, qv[i]);
		sonde__buf_putc(w->b, '\n');
	}
	put_sum_count(w, c, snap.sum, snap.count);
}

/* The TYPE word: the metric type's own name, except that text 0.0.4 has
 * no info or stateset (gauges there, as client_golang writes them) and
 * OpenMetrics calls untyped "unknown". */
static const char *type_word(sonde_metric_type t, bool om)
{
	if (!om && (t == SONDE_TYPE_INFO || t == SONDE_TYPE_STATESET))
		return "gauge";
	if (om && t == SONDE_TYPE_UNTYPED)
		return "unknown";
	return sonde__metric_type_name(t);
}

static void put_meta(walk *w, const char *what, const char *text, size_t len, bool help)
{
	sonde_buf *b = w->b;

	sonde__buf_put(b, "# ", 2);
	sonde__buf_puts(b, what);
	sonde__buf_putc(b, ' ');
	sonde__buf_put(b, w->name, w->name_len);
	sonde__buf_putc(b, ' ');
	if (help)
		sonde__put_help(b, text, len, w->om);
	else
		sonde__buf_put(b, text, len);
	sonde__buf_putc(b, '\n');
}

/* The family's name as this format writes it (w->name), then its
 * metadata lines: TYPE, UNIT, HELP in OpenMetrics; HELP, TYPE in text. */
static void put_family_meta(walk *w, const sonde_family *f)
{
	const char *type = type_word(f->type, w->om);

	w->name = f->name;
	w->name_len = f->name_len;
	if (f->type == SONDE_TYPE_INFO) {
		/* text: a gauge named base_info; OpenMetrics: family base, samples
		 * base_info */
		w->name = f->alt_name;
		w->name_len = w->om ? f->base_len : f->alt_len;
	}
	if (!w->om) {
		if (f->help_len)
			put_meta(w, "HELP", f->help, f->help_len, true);
		put_meta(w, "TYPE", type, strlen(type), false);
		return;
	}
	if (f->type == SONDE_TYPE_COUNTER && w->name_len > 6 &&
	    memcmp(w->name + w->name_len - 6, "_total", 6) == 0)
		w->name_len -= 6;
	put_meta(w, "TYPE", type, strlen(type), false);
	if (f->unit)
		put_meta(w, "UNIT", f->unit, strlen(f->unit), false);
	if (f->help_len)
		put_meta(w, "HELP", f->help, f->help_len, true);
}

static void render_counter(walk *w, const sonde__child *c)
{
	if (w->om)
		put_series(w, SUFFIX("_total"), c, NULL, NULL, 0);
	else
		put_series(w, NULL, 0, c, NULL, NULL, 0);
	if (c->read_fn) {
		sonde__cells_run_end(&w->run);
		put_num(w->b, sonde__child_value(c, SONDE_TYPE_COUNTER));
	} else {
		/* integer adds are exact to 2^64: print the integer cell as it is
		 * unless fractional adds made it a float */
		uint64_t u;
		double d;
		sonde__expose_counter_sums(&w->run, c, &u, &d);
		if (d == 0)
			put_u64(w->b, u);
		else
			put_num(w->b, (double)u + d);
	}
	put_exemplar(w, c, 0);
	sonde__buf_putc(w->b, '\n');
	put_created(w, c);
}

static void render_stateset(walk *w, const sonde_family *f, const sonde__child *c)
{
	uint64_t mask = sonde__load_relaxed(&((sonde__child *)c)->gauge);
	size_t i;

	for (i = 0; i < f->nstates; i++) {
		put_series(w, NULL, 0, c, f->name, f->states_esc[i], strlen(f->states_esc[i]));
		sonde__buf_put(w->b, (mask >> i) & 1 ? "1\n" : "0\n", 2);
	}
}

static void render_child(walk *w, const sonde_family *f, const sonde__child *c)
{
	if (f->type != SONDE_TYPE_COUNTER)
		sonde__cells_run_end(&w->run);
	switch (f->type) {
	case SONDE_TYPE_COUNTER: render_counter(w, c); break;
	case SONDE_TYPE_GAUGE:
		put_series(w, NULL, 0, c, NULL, NULL, 0);
		put_num(w->b, sonde__child_value(c, SONDE_TYPE_GAUGE));
		sonde__buf_putc(w->b, '\n');
		break;
	case SONDE_TYPE_HISTOGRAM:
		if (c->ext && !c->nbounds) {
			render_native_only(w, c);
			break;
		}
		sonde__cells_lock();
		render_histogram(w, c);
		sonde__cells_unlock();
		break;
	case SONDE_TYPE_SUMMARY: render_summary(w, f, c); break;
	case SONDE_TYPE_INFO:
		if (w->om)
			put_series(w, SUFFIX("_info"), c, NULL, NULL, 0);
		else
			put_series(w, NULL, 0, c, NULL, NULL, 0);
		sonde__buf_put(w->b, "1\n", 2);
		break;
	case SONDE_TYPE_STATESET: render_stateset(w, f, c); break;
	default: break;
	}
}

/* Under the registry mutex; takes the family's. The cells lock is taken
 * over runs of counter children (expose-int.h), so that callback children
 * run without it (a callback may read other metrics). */
static void render_family(walk *w, sonde_family *f)
{
	const sonde__child *c;

	sonde__fam_lock(f);
	if (f->head) {
		put_family_meta(w, f);
		for (c = f->head; c; c = c->next)
			render_child(w, f, c);
		sonde__cells_run_end(&w->run);
	}
	sonde__fam_unlock(f);
}

int sonde__expose_render(sonde_registry *r, sonde_format fmt, sonde_buf *out)
{
	walk w;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.b = out;
	w.om = fmt == SONDE_FORMAT_OPENMETRICS;
	sonde_buf_reset(out);
	sonde__reg_lock(r);
	w.created = w.om && r->created;
	w.rl = r->labels.txt;
	w.rl_len = r->labels.txt_len;
	for (i = 0; i < r->nfams && !out->oom; i++)
		render_family(&w, r->fams[i]);
	sonde__reg_unlock(r);
	if (w.om)
		sonde__buf_put(out, "# EOF\n", 6);
	sonde__buf_terminate(out);
	if (out->oom)
		return sonde__fail(SONDE_ENOMEM, "sonde_expose: out of memory after %zu bytes",
		                   out->len);
	return SONDE_OK;
}
