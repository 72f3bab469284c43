/*
 * lib/metrics/exemplar.c - OpenMetrics exemplars: the latest sample of a trace per
 * counter child and per histogram bucket.
 *
 * Each slot is a seqlock over atomic words: a writer takes it with one CAS
 * (even -> odd) and gives up if another writer holds it (an exemplar is a
 * sample; dropping one under contention is fine, waiting is not); readers
 * retry until they see the same even sequence before and after. Labels are
 * rendered (escaped) when recorded, so a scrape only copies them.
 *
 * Synchronization
 *   slot words         writer holding seq odd     readers        relaxed atomics
 *   slot seq           writers (CAS, release)     readers        acquire / recheck
 *   child's slot array first writer (CAS)         readers        acquire
 */
#include <math.h>

#include "metrics/metrics-int.h"

#define EX_WORDS 96 /* 768 bytes: 128 code points of labels, escaped */

typedef struct ex_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t value_bits;
	_Atomic int64_t ts_us;
	_Atomic uint64_t len;
	_Atomic uint64_t text[EX_WORDS]; /* `k="v",...` */
} ex_slot;

struct sonde__exemplars {
	size_t n;
	ex_slot slot[];
};

static size_t code_points(const char *s, size_t n)
{
	size_t i, cp = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			cp++;
	return cp;
}

static sonde__exemplars *slots_of(sonde__child *c)
{
	/* acquire: pairs with the CAS that publishes the slots below */
	sonde__exemplars *e = sonde__load_acquire(&c->exemplars), *mine;
	size_t n;

	if (e)
		return e;
	n = c->bounds ? (size_t)c->nbounds + 1 : 1;
	mine = sonde__calloc(1, sizeof(*mine) + n * sizeof(ex_slot));
	if (!mine)
		return NULL;
	mine->n = n;
	/* acq_rel: publishes the zeroed slots; the loser frees its copy */
	if (!sonde__cas_strong_acqrel(&c->exemplars, &e, mine)) {
		sonde__free(mine, sizeof(*mine) + n * sizeof(ex_slot));
		return e;
	}
	return mine;
}

void sonde__exemplars_free(sonde__child *c)
{
	sonde__exemplars *e = sonde__load_relaxed(&c->exemplars);

	if (e)
		sonde__free(e, sizeof(*e) + e->n * sizeof(ex_slot));
}

static void slot_write(ex_slot *s, double v, const char *text, size_t len)
{
	uint64_t seq = sonde__load_relaxed(&s->seq), w[EX_WORDS];
	size_t i;

	if ((seq & 1) ||
	    /* acquire: the odd sequence is taken before the words are
	     * written (a reader that sees them sees it odd and retries) */
	    !sonde__cas_strong_acquire(&s->seq, &seq, seq + 1))
		return; /* another writer: drop this one */
	memset(w, 0, sizeof(w));
	memcpy(w, text, len);
	sonde__store_relaxed(&s->value_bits, sonde__dbl_bits(v));
	sonde__store_relaxed(&s->ts_us, sonde_now_unix_ns() / 1000);
	sonde__store_relaxed(&s->len, len);
	for (i = 0; i < (len + 7) / 8; i++)
		sonde__store_relaxed(&s->text[i], w[i]);
	/* release: pairs with the acquire in slot_read(); the words before the
	 * even sequence */
	sonde__store_release(&s->seq, seq + 2);
}

bool sonde__exemplar_read(const sonde__child *c, size_t i, char *text, size_t *len, double *v,
                          int64_t *ts_us)
{
	/* acquire: pairs with the publishing CAS in slots_of() */
	sonde__exemplars *e = sonde__load_acquire(&((sonde__child *)c)->exemplars);
	ex_slot *s;
	int tries;

	if (!e || i >= e->n)
		return false;
	s = &e->slot[i];
	for (tries = 0; tries < 64; tries++) {
		/* acquire: pairs with the release in slot_write() that ends a
		 * write with an even sequence */
		uint64_t s1 = sonde__load_acquire(&s->seq), s2, w[EX_WORDS];
		size_t n, k;
		if (s1 == 0)
			return false; /* never written */
		if (s1 & 1)
			continue;
		n = sonde__load_relaxed(&s->len);
		if (n > sizeof(w))
			continue;
		for (k = 0; k < (n + 7) / 8; k++)
			w[k] = sonde__load_relaxed(&s->text[k]);
		*v = sonde__bits_dbl(sonde__load_relaxed(&s->value_bits));
		*ts_us = sonde__load_relaxed(&s->ts_us);
		/* acquire fence: the word loads above complete before the
		 * sequence is read again (the seqlock's reader side) */
		sonde__fence_acquire();
		s2 = sonde__load_relaxed(&s->seq);
		if (s1 == s2) {
			memcpy(text, w, n);
			*len = n;
			return true;
		}
	}
	return false;
}

/* Renders names/values into text; SONDE_ELIMIT past 128 code points. */
static int render(size_t n, const char *const *names, const char *const *values, char *text,
                  size_t *len)
{
	sonde_buf b = SONDE_BUF_INIT;
	size_t i, cp = 0;
	int rc = SONDE_OK;

	for (i = 0; i < n; i++) {
		if (!names || !values || !names[i] || !values[i])
			return sonde__fail(SONDE_EINVAL, "exemplar: NULL label name or value");
		if ((rc = sonde__check_label_name(names[i], SONDE_TYPE_UNTYPED)))
			return rc;
		/* values must be UTF-8, as a child's label values: counted as
		 * written, each code point once (no U+FFFD can multiply them) */
		if (sonde__utf8_invalid_at(values[i], strlen(values[i])) != SIZE_MAX)
			return sonde__fail(SONDE_EINVAL,
			                   "exemplar: value of label \"%s\" is not valid UTF-8",
			                   names[i]);
		cp += code_points(names[i], strlen(names[i])) +
		      code_points(values[i], strlen(values[i]));
	}
	if (cp > SONDE_EXEMPLAR_MAX_CHARS)
		return sonde__fail(SONDE_ELIMIT,
		                   "exemplar: labels are %zu code points, OpenMetrics allows %d",
		                   cp, SONDE_EXEMPLAR_MAX_CHARS);
	sonde__put_label_pairs(&b, names, values, NULL, n);
	if (b.oom)
		rc = sonde__fail(SONDE_ENOMEM, "exemplar: out of memory");
	else if (b.len > EX_WORDS * 8)
		rc = sonde__fail(SONDE_ELIMIT, "exemplar: labels too long once escaped");
	else {
		memcpy(text, b.data, b.len);
		*len = b.len;
	}
	sonde_buf_destroy(&b);
	return rc;
}

static int record(sonde__child *c, size_t slot, double v, size_t n, const char *const *names,
                  const char *const *values)
{
	char text[EX_WORDS * 8];
	size_t len = 0;
	sonde__exemplars *e;
	int rc = render(n, names, values, text, &len);

	if (rc)
		return rc;
	e = slots_of(c);
	if (!e)
		return sonde__fail(SONDE_ENOMEM, "exemplar: out of memory");
	if (slot < e->n)
		slot_write(&e->slot[slot], v, text, len);
	return SONDE_OK;
}

/* The trace labels of ctx (NULL: the current context), or false when
 * there is no valid context. */
static bool trace_labels(const sonde_span_context *ctx, char *tid, char *sid)
{
	if (!ctx)
		ctx = sonde_context_current();
	if (!sonde_span_context_valid(ctx))
		return false;
	sonde__hex_put(tid, ctx->trace_id, 16);
	tid[32] = '\0';
	sonde__hex_put(sid, ctx->span_id, 8);
	sid[16] = '\0';
	return true;
}

static const char *const trace_names[] = {"trace_id", "span_id"};

void sonde_counter_add_exemplar(sonde_counter *c, double v, const sonde_span_context *ctx)
{
	char tid[33], sid[17];
	const char *vals[2] = {tid, sid};

	if (!c)
		return;
	sonde_counter_add(c, v);
	if (!(v >= 0) || !trace_labels(ctx, tid, sid))
		return;
	sonde__ignore(record(&c->c, 0, v, 2, trace_names, vals));
}

void sonde_histogram_observe_exemplar(sonde_histogram *h, double v, const sonde_span_context *ctx)
{
	char tid[33], sid[17];
	const char *vals[2] = {tid, sid};
	uint32_t slot;

	if (!h)
		return;
	if (sonde__histogram_refuses(&h->c, v)) /* dropped and counted */
		return;
	slot = sonde__histogram_bucket(&h->c, v);
	sonde__histogram_add(h, slot, v);
	if (!trace_labels(ctx, tid, sid))
		return;
	sonde__ignore(record(&h->c, slot, v, 2, trace_names, vals));
}

int sonde_counter_add_exemplar_labels(sonde_counter *c, double v, size_t n,
                                      const char *const *names, const char *const *values)
{
	int rc;

	if (!c)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_counter_add_exemplar_labels: counter is NULL");
	if (!(v >= 0))
		return sonde__fail(SONDE_EINVAL, "exemplar: counter value must be >= 0");
	rc = record(&c->c, 0, v, n, names, values);
	if (rc == SONDE_OK)
		sonde_counter_add(c, v);
	return rc;
}

int sonde_histogram_observe_exemplar_labels(sonde_histogram *h, double v, size_t n,
                                            const char *const *names, const char *const *values)
{
	uint32_t slot;
	int rc;

	if (!h)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_histogram_observe_exemplar_labels: NULL histogram");
	if (isnan(v))
		return sonde__fail(SONDE_EINVAL, "exemplar: NaN observation");
	if (v < 0 && !h->c.ext && h->c.bounds[0] >= 0)
		return sonde__fail(SONDE_EINVAL,
		                   "exemplar: negative observation on a histogram without a "
		                   "negative bound");
	slot = sonde__histogram_bucket(&h->c, v);
	rc = record(&h->c, slot, v, n, names, values);
	if (rc == SONDE_OK)
		sonde__histogram_add(h, slot, v);
	return rc;
}
