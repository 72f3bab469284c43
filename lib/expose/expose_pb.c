/*
 * lib/expose/expose_pb.c - the Prometheus protobuf exposition:
 * io.prometheus.client.MetricFamily messages (client_model's metrics.proto),
 * length-delimited, written with lib/core/pb.h (no protobuf library).
 *
 * The same walk as the text formats (families sorted by name, children in
 * creation order, families without children left out, no timestamps), with
 * the text 0.0.4 names and types: a counter is named as registered, an info
 * metric is the gauge base_info with value 1, a stateset is a gauge with one
 * series per state (the state name as the label named like the family).
 * Exemplars go on counters and on histogram buckets (OpenMetrics' rules: at
 * most 128 code points of labels), with their timestamp. A classic
 * histogram's buckets leave out +Inf (its count is sample_count) unless the
 * +Inf bucket carries an exemplar, as client_golang does. A native
 * histogram writes schema, zero bucket, spans and delta-encoded counts
 * (metrics/native.h), and its classic buckets when it has any; a
 * native-only one its exemplar in Histogram.exemplars (field 16 of
 * client_model 0.6's metrics.proto) and on a +Inf bucket.
 *
 * Strings: label values and HELP are written as they were given, with
 * invalid UTF-8 replaced by U+FFFD (what the text formats print), so a
 * decoder that checks UTF-8 accepts them.
 */
#include <math.h>

#include "core/pb.h"
#include "expose/expose-int.h"
#include "metrics/native.h"
#include "metrics/summary.h"

/* metrics.proto field numbers */
enum {
	MF_NAME = 1,
	MF_HELP = 2,
	MF_TYPE = 3,
	MF_METRIC = 4,
	M_LABEL = 1,
	M_GAUGE = 2,
	M_COUNTER = 3,
	M_SUMMARY = 4,
	M_HISTOGRAM = 7,
	LP_NAME = 1,
	LP_VALUE = 2,
	VALUE = 1, /* Gauge.value, Counter.value */
	C_EXEMPLAR = 2,
	S_COUNT = 1,
	S_SUM = 2,
	S_QUANTILE = 3,
	Q_QUANTILE = 1,
	Q_VALUE = 2,
	H_COUNT = 1,
	H_SUM = 2,
	H_BUCKET = 3,
	H_SCHEMA = 5,
	H_ZERO_THRESHOLD = 6,
	H_ZERO_COUNT = 7,
	H_NEG_SPAN = 9,
	H_NEG_DELTA = 10,
	H_POS_SPAN = 12,
	H_POS_DELTA = 13,
	H_EXEMPLARS = 16, /* client_model 0.6+: native histograms' exemplars */
	B_CUMULATIVE = 1,
	B_UPPER = 2,
	B_EXEMPLAR = 3,
	SPAN_OFFSET = 1,
	SPAN_LENGTH = 2,
	EX_LABEL = 1,
	EX_VALUE = 2,
	EX_TIMESTAMP = 3,
	TS_SECONDS = 1,
	TS_NANOS = 2
};
/* MetricType */
enum { PB_COUNTER = 0, PB_GAUGE = 1, PB_SUMMARY = 2, PB_HISTOGRAM = 4 };

/* A string field, invalid UTF-8 replaced by U+FFFD. The common case (all
 * valid) copies once. */
static void put_str(sonde_buf *b, uint32_t field, const char *s, size_t n)
{
	size_t at = sonde__utf8_invalid_at(s, n), m;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	if (at == SIZE_MAX) {
		sonde__pb_bytes(b, field, s, n);
		return;
	}
	m = sonde__pb_begin(b, field);
	while (p < end) {
		char tmp[4];
		size_t w, used = sonde__utf8_copy_or_fffd(tmp, p, (size_t)(end - p), &w);
		sonde__buf_put(b, tmp, w);
		p += used;
	}
	sonde__pb_end(b, m);
}

static void put_label(sonde_buf *b, const char *name, size_t nlen, const char *v, size_t vlen)
{
	size_t m = sonde__pb_begin(b, M_LABEL);

	sonde__pb_bytes(b, LP_NAME, name, nlen); /* names are checked ASCII */
	put_str(b, LP_VALUE, v, vlen);
	sonde__pb_end(b, m);
}

/* An exemplar's labels are kept rendered as `k="v",k2="v2"` (escaped:
 * \\, \" and \n); this reads them back into LabelPairs. The text is ours
 * (exemplar.c wrote it from checked names), so a malformed one stops the
 * list rather than guessing. */
static void put_exemplar_labels(sonde_buf *b, const char *t, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t ns = i, ne, m, lm;
		while (i < n && t[i] != '=')
			i++;
		ne = i;
		if (i + 1 >= n || t[i + 1] != '"')
			return;
		i += 2;
		m = sonde__pb_begin(b, EX_LABEL);
		sonde__pb_bytes(b, LP_NAME, t + ns, ne - ns);
		lm = sonde__pb_begin(b, LP_VALUE);
		while (i < n && t[i] != '"') {
			char ch = t[i++];
			if (ch == '\\' && i < n) {
				ch = t[i++];
				if (ch == 'n')
					ch = '\n';
			}
			sonde__buf_putc(b, ch);
		}
		sonde__pb_end(b, lm);
		sonde__pb_end(b, m);
		i++; /* the closing quote */
		if (i < n && t[i] == ',')
			i++;
	}
}

/* The exemplar of slot i of c, if there is one, as field `field`. */
static void put_exemplar(sonde_buf *b, uint32_t field, const sonde__child *c, size_t slot)
{
	char text[800];
	size_t len, m, tm;
	double v;
	int64_t ts;

	if (!sonde__exemplar_read(c, slot, text, &len, &v, &ts))
		return;
	m = sonde__pb_begin(b, field);
	put_exemplar_labels(b, text, len);
	sonde__pb_double(b, EX_VALUE, v);
	tm = sonde__pb_begin(b, EX_TIMESTAMP);
	{
		/* google.protobuf.Timestamp: nanos in 0..999999999 */
		int64_t sec = ts / 1000000, us = ts % 1000000;
		if (us < 0) {
			us += 1000000;
			sec--;
		}
		if (sec)
			sonde__pb_int64(b, TS_SECONDS, sec);
		if (us)
			sonde__pb_int64(b, TS_NANOS, us * 1000);
	}
	sonde__pb_end(b, tm);
	sonde__pb_end(b, m);
}

static bool has_exemplar(const sonde__child *c, size_t slot)
{
	char text[800];
	size_t len;
	double v;
	int64_t ts;

	return sonde__exemplar_read(c, slot, text, &len, &v, &ts);
}

static void put_counter(sonde_buf *b, sonde__cells_run *run, const sonde__child *c)
{
	size_t m = sonde__pb_begin(b, M_COUNTER);
	double v;

	if (c->read_fn) {
		sonde__cells_run_end(run);
		v = sonde__child_value(c, SONDE_TYPE_COUNTER);
	} else {
		uint64_t u;
		double d;
		sonde__expose_counter_sums(run, c, &u, &d);
		v = (double)u + d;
	}
	sonde__pb_double(b, VALUE, v);
	put_exemplar(b, C_EXEMPLAR, c, 0);
	sonde__pb_end(b, m);
}

static void put_gauge_value(sonde_buf *b, double v)
{
	size_t m = sonde__pb_begin(b, M_GAUGE);

	sonde__pb_double(b, VALUE, v);
	sonde__pb_end(b, m);
}

static void put_summary(sonde_buf *b, const sonde_family *f, const sonde__child *c)
{
	double qv[SONDE_QUANTILES_MAX];
	sonde__summ_snapshot snap;
	size_t i, m, qm;

	if (sonde__summary_read(c, f->quantiles, f->nquantiles, qv, &snap) != SONDE_OK) {
		b->oom = 1;
		return;
	}
	m = sonde__pb_begin(b, M_SUMMARY);
	sonde__pb_uint64(b, S_COUNT, snap.count);
	sonde__pb_double(b, S_SUM, snap.sum);
	for (i = 0; i < f->nquantiles; i++) {
		qm = sonde__pb_begin(b, S_QUANTILE);
		sonde__pb_double(b, Q_QUANTILE, f->quantiles[i]);
		sonde__pb_double(b, Q_VALUE, qv[i]);
		sonde__pb_end(b, qm);
	}
	sonde__pb_end(b, m);
}

/* One sign's buckets: spans over the populated buckets, a gap of one or
 * two empty buckets kept inside a span as zeros (cheaper than starting a
 * new span, as client_golang does), each span's offset counted from the
 * previous span's end (the first from index 0); then the counts of every
 * bucket the spans cover, each as its difference from the previous one
 * (the first from 0), in one packed field. */
#define MAX_GAP 2

static void put_span(sonde_buf *b, uint32_t field, int64_t offset, uint32_t length)
{
	size_t m = sonde__pb_begin(b, field);

	sonde__pb_sint64(b, SPAN_OFFSET, offset);
	sonde__pb_uint64(b, SPAN_LENGTH, length);
	sonde__pb_end(b, m);
}

static void put_native_side(sonde_buf *b, uint32_t span_field, uint32_t delta_field,
                            const sonde__native_side *s)
{
	uint32_t i, start = 0, end = 0;
	int64_t prev_end = 0, prev = 0;
	bool open = false;
	size_t m;

	for (i = 0; i < s->n; i++) {
		if (!s->count[i])
			continue;
		if (open && i - end <= MAX_GAP) {
			end = i + 1;
			continue;
		}
		if (open) {
			put_span(b, span_field, (int64_t)s->lo + start - prev_end, end - start);
			prev_end = (int64_t)s->lo + end;
		}
		open = true;
		start = i;
		end = i + 1;
	}
	if (!open)
		return;
	put_span(b, span_field, (int64_t)s->lo + start - prev_end, end - start);
	/* the deltas, over the same buckets (gaps inside spans are zeros) */
	m = sonde__pb_begin(b, delta_field);
	open = false;
	for (i = 0; i < s->n; i++) {
		if (!s->count[i])
			continue;
		if (open && i - end <= MAX_GAP)
			for (; end < i; end++) {
				sonde__pb_put_sint64(b, -prev);
				prev = 0;
			}
		sonde__pb_put_sint64(b, (int64_t)(s->count[i] - (uint64_t)prev));
		prev = (int64_t)s->count[i];
		open = true;
		end = i + 1;
	}
	sonde__pb_end(b, m);
}

static void put_classic_buckets(sonde_buf *b, const sonde__child *c, uint32_t idx, uint64_t count)
{
	uint64_t run = 0;
	size_t i, bm;

	for (i = 0; i < c->nbounds; i++) {
		sonde__cells_lock();
		run += sonde__cells_sum_u64_locked(idx + (uint32_t)i);
		sonde__cells_unlock();
		if (run > count)
			run = count; /* an observation landed since count was read */
		bm = sonde__pb_begin(b, H_BUCKET);
		sonde__pb_uint64(b, B_CUMULATIVE, run);
		sonde__pb_double(b, B_UPPER, c->bounds[i]);
		put_exemplar(b, B_EXEMPLAR, c, i);
		sonde__pb_end(b, bm);
	}
	if (has_exemplar(c, c->nbounds)) {
		bm = sonde__pb_begin(b, H_BUCKET);
		sonde__pb_uint64(b, B_CUMULATIVE, count);
		sonde__pb_double(b, B_UPPER, (double)INFINITY);
		put_exemplar(b, B_EXEMPLAR, c, c->nbounds);
		sonde__pb_end(b, bm);
	}
}

/* count and sum: a classic histogram's from its cells (the +Inf bucket's
 * cumulative count), a native one's from its buckets (exact for the
 * buckets written; its classic buckets, if any, are capped at it). */
static void put_histogram(sonde_buf *b, const sonde__child *c)
{
	const sonde__native *nh = sonde__native_of(c);
	sonde__native_read rd;
	uint32_t idx = sonde__load_relaxed(&((sonde__child *)c)->cell), i;
	uint64_t count = 0;
	double sum;
	size_t m;

	if (nh) {
		if (sonde__native_snapshot(c, &rd) != SONDE_OK) {
			b->oom = 1;
			return;
		}
		count = rd.count;
		sum = rd.sum;
	} else {
		sonde__cells_lock();
		for (i = 0; i <= c->nbounds; i++)
			count += sonde__cells_sum_u64_locked(idx + i);
		sum = sonde__cells_sum_f64_locked(idx + c->nbounds + 1);
		sonde__cells_unlock();
	}
	m = sonde__pb_begin(b, M_HISTOGRAM);
	sonde__pb_uint64(b, H_COUNT, count);
	sonde__pb_double(b, H_SUM, sum);
	put_classic_buckets(b, c, idx, count);
	if (nh) {
		sonde__pb_sint64(b, H_SCHEMA, rd.schema);
		sonde__pb_double(b, H_ZERO_THRESHOLD, rd.zero_threshold);
		sonde__pb_uint64(b, H_ZERO_COUNT, rd.zero_count);
		put_native_side(b, H_NEG_SPAN, H_NEG_DELTA, &rd.neg);
		put_native_side(b, H_POS_SPAN, H_POS_DELTA, &rd.pos);
		if (!rd.neg.n && !rd.pos.n)
			/* no bucket yet: an empty span still marks the histogram
			 * as native for the scraper (client_golang does the same) */
			put_span(b, H_POS_SPAN, 0, 0);
		sonde__native_read_free(&rd);
		/* a native-only histogram's exemplar (its one slot, with the
		 * timestamp native exemplars must have) in Histogram.exemplars,
		 * where client_golang puts them and newer Prometheus servers
		 * read them; put_classic_buckets also wrote it on a +Inf
		 * bucket, where older ones look for a native histogram's
		 * exemplars */
		if (!c->nbounds)
			put_exemplar(b, H_EXEMPLARS, c, 0);
	}
	sonde__pb_end(b, m);
}

static void put_metric_head(sonde_buf *b, size_t *m, const sonde_family *f, const sonde__child *c)
{
	*m = sonde__pb_begin(b, MF_METRIC);
	/* the labels were encoded when the child was made; the registry's
	 * default labels follow (the caller holds the registry's mutex) */
	sonde__buf_put(b, c->pb_lbl, c->pb_lbl_len);
	if (f->reg && f->reg->labels.pb_len)
		sonde__buf_put(b, f->reg->labels.pb, f->reg->labels.pb_len);
}

static void render_family(sonde_buf *b, sonde_family *f)
{
	sonde__cells_run run = {0};
	const sonde__child *c;
	size_t fm, m, i;
	int type;
	const char *name = f->name;
	size_t name_len = f->name_len;

	switch (f->type) {
	case SONDE_TYPE_COUNTER: type = PB_COUNTER; break;
	case SONDE_TYPE_HISTOGRAM: type = PB_HISTOGRAM; break;
	case SONDE_TYPE_SUMMARY: type = PB_SUMMARY; break;
	case SONDE_TYPE_GAUGE:
	case SONDE_TYPE_STATESET: type = PB_GAUGE; break;
	case SONDE_TYPE_INFO:
		type = PB_GAUGE;
		name = f->alt_name;
		name_len = f->alt_len;
		break;
	default: return; /* nothing else has samples (as in the text formats) */
	}
	sonde__fam_lock(f);
	if (!f->head) {
		sonde__fam_unlock(f);
		return;
	}
	fm = sonde__pb_delim_begin(b);
	sonde__pb_bytes(b, MF_NAME, name, name_len);
	if (f->help_len)
		put_str(b, MF_HELP, f->help, f->help_len);
	sonde__pb_int64(b, MF_TYPE, type);
	for (c = f->head; c && !b->oom; c = c->next) {
		switch (f->type) {
		case SONDE_TYPE_STATESET: {
			uint64_t mask = sonde__load_relaxed(&((sonde__child *)c)->gauge);
			for (i = 0; i < f->nstates; i++) {
				put_metric_head(b, &m, f, c);
				put_label(b, f->name, f->name_len, f->states[i],
				          strlen(f->states[i]));
				put_gauge_value(b, (mask >> i) & 1 ? 1 : 0);
				sonde__pb_end(b, m);
			}
			continue;
		}
		default: break;
		}
		put_metric_head(b, &m, f, c);
		switch (f->type) {
		case SONDE_TYPE_COUNTER: put_counter(b, &run, c); break;
		case SONDE_TYPE_GAUGE:
			put_gauge_value(b, sonde__child_value(c, SONDE_TYPE_GAUGE));
			break;
		case SONDE_TYPE_INFO: put_gauge_value(b, 1); break;
		case SONDE_TYPE_SUMMARY: put_summary(b, f, c); break;
		case SONDE_TYPE_HISTOGRAM: put_histogram(b, c); break;
		default: break;
		}
		sonde__pb_end(b, m);
	}
	sonde__cells_run_end(&run);
	sonde__fam_unlock(f);
	sonde__pb_delim_end(b, fm);
}

int sonde__expose_render_pb(sonde_registry *r, sonde_buf *out)
{
	size_t i;

	sonde_buf_reset(out);
	sonde__reg_lock(r);
	for (i = 0; i < r->nfams && !out->oom; i++)
		render_family(out, r->fams[i]);
	sonde__reg_unlock(r);
	sonde__buf_terminate(out);
	if (out->oom)
		return sonde__fail(SONDE_ENOMEM, "sonde_expose: out of memory after %zu bytes",
		                   out->len);
	return SONDE_OK;
}
