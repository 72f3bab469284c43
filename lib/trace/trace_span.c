/* lib/trace/trace_span.c - spans: start (child of the current context, or a new
 * trace), end (duration, context restored, histogram, log line, hook),
 * attributes, and the process-wide sampler, span histogram, span logger and
 * span-end hook.
 *
 * Synchronization of the process-wide settings
 *   setting          writer                     reader (span start/end)
 *   sampler ratio    relaxed store of the bits  relaxed load: either value
 *                                               is a valid ratio
 *   span histogram   release store, under mu    acquire load: the family
 *                                               was fully built before
 *   hook (fn, arg)   seqlock under mu           seqlock read: never a torn
 *                                               pair
 *   span logger      release store, under mu    acquire load: the logger
 *                                               was fully built before
 *   span log level   relaxed store, under mu    relaxed load: any valid
 *                                               level is fine with either
 *                                               logger */
#include <math.h>
#include <pthread.h>

#include "core/atomic.h"
#include "metrics/metrics-int.h"
#include "sonde/log.h"
#include "trace/span_data.h"

#define SPAN_STARTED 0x5350414eu /* "SPAN" */
#define SPAN_ENDED 0x454e4444u

/* ---- process-wide settings --------------------------------------------------- */

static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;

/* A leaf lock (nothing is taken under it), held for a few stores: taken
 * across fork so the child never finds it held. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&cfg_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&cfg_mu);
}

static const sonde__fork_hooks cfg_fork = {SONDE_FORK_RANK_LEAF, fork_prepare, fork_release,
                                           fork_release};

static void cfg_lock(void)
{
	sonde__fork_register(&cfg_fork);
	pthread_mutex_lock(&cfg_mu);
}
/* 1.0: the default samples every new trace. Bits of a double. */
static _Atomic uint64_t ratio_bits = 0x3ff0000000000000ull;
static _Atomic(sonde_family *) span_family;
static _Atomic uint32_t hook_seq; /* odd while a writer is in the middle */
static _Atomic(sonde_span_end_fn) hook_fn;
static _Atomic(void *) hook_arg;
static _Atomic(sonde_logger *) span_log;
static _Atomic int span_log_named; /* 0: span_log follows the default logger */
static _Atomic int span_log_level = SONDE_LOG_LEVEL_INFO;

/* The logger of the span lines: the one the host named, else the
 * process's default logger. */
static sonde_logger *span_logger(void)
{
	/* relaxed: a span end may see the naming before or after the logger
	 * it names; either is a logger the host allowed */
	if (sonde__load_relaxed(&span_log_named))
		/* acquire: pairs with the release in sonde_trace_set_span_logger() */
		return sonde__load_acquire(&span_log);
	return sonde_log_default_logger();
}

bool sonde_trace_id_ratio_sample(const uint8_t trace_id[16], double ratio)
{
	uint64_t x = 0, bound;

	if (!trace_id || !(ratio > 0)) /* NaN too */
		return false;
	if (ratio >= 1)
		return true;
	/* OpenTelemetry Go sdk/trace/sampling.go: traceIDUpperBound =
	 * uint64(fraction * (1 << 63)); x = BigEndian.Uint64(TraceID[8:16]) >> 1;
	 * sample iff x < bound. */
	bound = (uint64_t)(ratio * 9223372036854775808.0);
	for (int i = 8; i < 16; i++)
		x = x << 8 | trace_id[i];
	return (x >> 1) < bound;
}

void sonde_trace_set_sampler_ratio(double ratio)
{
	if (isnan(ratio) || ratio < 0)
		ratio = 0;
	if (ratio > 1)
		ratio = 1;
	sonde__store_relaxed(&ratio_bits, sonde__dbl_bits(ratio));
}

double sonde_trace_sampler_ratio(void)
{
	return sonde__bits_dbl(sonde__load_relaxed(&ratio_bits));
}

int sonde_trace_set_span_histogram(sonde_family *f)
{
	if (f && f->type != SONDE_TYPE_HISTOGRAM)
		return sonde__fail(SONDE_ETYPE,
		                   "trace_set_span_histogram: \"%s\" is not a histogram", f->name);
	if (f && f->nlabels != 1 && f->nlabels != 2)
		return sonde__fail(
		        SONDE_EINVAL,
		        "trace_set_span_histogram: \"%s\" has %zu labels, needs 1 (the span "
		        "name) or 2 (the span name and its status)",
		        f->name, f->nlabels);
	cfg_lock();
	/* release: pairs with the acquire in sonde_span_end(); publishes the
	 * family f, built (maybe on another thread) before this call */
	sonde__store_release(&span_family, f);
	pthread_mutex_unlock(&cfg_mu);
	return SONDE_OK;
}

int sonde_trace_enable_span_metrics(sonde_registry *r, const char *metric_name)
{
	static const char *const labels[] = {"name", "status"};
	sonde_family *f = sonde_histogram_family_new(
	        r, metric_name ? metric_name : "span_duration_seconds",
	        "Duration of finished spans, by span name and status (ok or error).", NULL, 0, 2,
	        labels);

	if (!f)
		return sonde_last_status(); /* the reason is already recorded */
	return sonde_trace_set_span_histogram(f);
}

int sonde_trace_set_span_logger(sonde_logger *l, sonde_log_level level)
{
	if ((int)level < SONDE_LOG_LEVEL_TRACE || (int)level > SONDE_LOG_LEVEL_FATAL)
		return sonde__fail(SONDE_EINVAL,
		                   "trace_set_span_logger: level %d is not TRACE..FATAL",
		                   (int)level);
	cfg_lock();
	/* relaxed: a span end may pair either level with either logger */
	sonde__store_relaxed(&span_log_level, (int)level);
	/* release: pairs with the acquire in span_logger(); publishes the
	 * logger l, built (maybe on another thread) before this call */
	sonde__store_release(&span_log, l);
	sonde__store_relaxed(&span_log_named, 1);
	pthread_mutex_unlock(&cfg_mu);
	return SONDE_OK;
}

void sonde_trace_reset_span_logger(void)
{
	cfg_lock();
	sonde__store_relaxed(&span_log_named, 0);
	/* release: pairs with the acquire in span_logger() */
	sonde__store_release(&span_log, NULL);
	pthread_mutex_unlock(&cfg_mu);
}

sonde_logger *sonde_trace_span_logger(sonde_log_level *level)
{
	if (level)
		*level = (sonde_log_level)sonde__load_relaxed(&span_log_level);
	return span_logger();
}

void sonde_trace_set_span_end_hook(sonde_span_end_fn fn, void *arg)
{
	uint32_t s;

	cfg_lock();
	/* relaxed: cfg_mu orders the writers; only they store hook_seq */
	s = sonde__load_relaxed(&hook_seq);
	sonde__store_relaxed(&hook_seq, s + 1);
	/* release: pairs with the acquire loads of hook_fn and hook_arg in
	 * read_hook(); publishes the odd hook_seq stored above, so a reader
	 * that sees either new half re-reads an odd or newer hook_seq and
	 * retries. (Release stores, not a release fence, which TSan cannot
	 * model.) */
	sonde__store_release(&hook_fn, fn);
	sonde__store_release(&hook_arg, arg);
	/* release: pairs with the acquire load of hook_seq (s1) in
	 * read_hook(); publishes both halves of the new pair */
	sonde__store_release(&hook_seq, s + 2);
	pthread_mutex_unlock(&cfg_mu);
}

static sonde_span_end_fn read_hook(void **arg)
{
	uint32_t s1, s2;
	sonde_span_end_fn fn;

	do {
		/* acquire: pairs with the release store of s + 2 in
		 * sonde_trace_set_span_end_hook(); an even s1 makes that
		 * writer's (fn, arg) visible to the loads below */
		s1 = sonde__load_acquire(&hook_seq);
		/* acquire: pair with the release stores of hook_fn and hook_arg
		 * in sonde_trace_set_span_end_hook(); a half written after s1
		 * makes the re-check below see the writer's odd (or newer)
		 * sequence, and the acquire keeps the re-check from moving
		 * above these loads */
		fn = sonde__load_acquire(&hook_fn);
		*arg = sonde__load_acquire(&hook_arg);
		/* relaxed: ordered after the acquire loads above */
		s2 = sonde__load_relaxed(&hook_seq);
	} while ((s1 & 1) || s1 != s2);
	return fn;
}

/* ---- contexts ------------------------------------------------------------------ */

void sonde__correlation_from_trace(sonde_span_context *ctx)
{
	sonde__hex_put(ctx->correlation_id, ctx->trace_id, 16);
	ctx->correlation_id[32] = '\0';
	ctx->correlation_len = 32;
}

void sonde__trace_new_root(sonde_span_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	sonde_trace_id_generate(ctx->trace_id);
	/* Level 2: every byte of our ids is random, so the flag is set */
	ctx->trace_flags = SONDE_TRACE_FLAG_RANDOM;
	if (sonde_trace_id_ratio_sample(ctx->trace_id, sonde_trace_sampler_ratio()))
		ctx->trace_flags |= SONDE_TRACE_FLAG_SAMPLED;
	sonde__correlation_from_trace(ctx);
}

/* ---- spans ------------------------------------------------------------------------ */

void sonde_span_start_child_of(sonde_span *span, const char *name, const sonde_span_context *parent)
{
	sonde_span_context *ctx;

	if (!span)
		return;
	/* built in place: attach then copies it once, onto the thread's stack */
	ctx = &span->scope.ctx;
	if (parent && sonde_span_context_valid(parent)) {
		/* parent-based sampling: the parent's sampled flag, remote or
		 * local; the random flag is copied exactly, as Level 2 says */
		if (ctx != parent)
			*ctx = *parent;
		ctx->trace_flags &= SONDE_TRACE_FLAGS_KNOWN;
		memcpy(span->parent_span_id, parent->span_id, 8);
		if (ctx->correlation_len == 0 || ctx->correlation_len > SONDE_CORRELATION_ID_MAX)
			sonde__correlation_from_trace(ctx);
	} else {
		sonde__trace_new_root(ctx);
		memset(span->parent_span_id, 0, 8);
	}
	ctx->is_remote = 0;
	sonde_span_id_generate(ctx->span_id);
	sonde_context_attach(&span->scope, ctx);
	span->name = name ? name : "span";
	span->name_len = strlen(span->name);
	span->duration_ns = 0;
	span->end_unix_ns = 0;
	span->status_msg = NULL;
	span->status = SONDE_SPAN_STATUS_UNSET;
	span->attr_count = 0;
	span->attrs_dropped = 0;
	span->kind = SONDE_SPAN_KIND_INTERNAL;
	span->reserved = 0;
	span->data = NULL;
	span->state = SPAN_STARTED;
	span->start_mono_ns = sonde_now_mono_ns();
	/* recorded from the start when an exporter takes the records: the
	 * attributes are then copied as they are set (a failed record leaves
	 * the span unrecorded, counted) */
	if ((ctx->trace_flags & SONDE_TRACE_FLAG_SAMPLED) && sonde__trace_recording())
		span->data = sonde__span_data_new(span);
}

void sonde_span_start(sonde_span *span, const char *name)
{
	sonde_span_start_child_of(span, name, sonde_context_current());
}

/* The span's log line, written with the span's own context current so that
 * the logger stamps its trace_id and span_id (the thread's context is
 * already its parent's, or another span's when ended out of order). */
static void log_span(const sonde_span *span, sonde_logger *l, int level, const char *status,
                     double secs)
{
	sonde_context_scope sc;
	sonde_log_field f[4];
	size_t n = 3;

	f[0] = sonde_log_field_str("span_name", span->name);
	f[0].len = span->name_len;
	f[1].key = "span_duration_s";
	f[1].type = SONDE_LOG_T_F64;
	f[1].v.d = secs;
	f[1].len = 0;
	f[2] = sonde_log_field_str("span_status", status);
	if (span->status_msg)
		f[n++] = sonde_log_field_str("span_status_message", span->status_msg);
	sonde_context_attach(&sc, &span->scope.ctx);
	if (sonde_log_write(l, level, "span", 4, f, n) != SONDE_OK) {
		/* dropped: the logger counts what it could not write; a span
		 * end never fails */
	}
	if (sonde_context_detach(&sc) != SONDE_OK) {
		/* not attached (the thread's context stack was full): the
		 * line went out with the current context instead */
	}
}

void sonde_span_end(sonde_span *span)
{
	sonde_family *f;
	sonde_logger *l;
	sonde_span_end_fn fn;
	sonde__span_data *d;
	void *arg;
	double secs;
	/* unset counts as ok, as OpenTelemetry's span metrics connector does */
	bool err;
	const char *status;

	if (!span || span->state != SPAN_STARTED)
		return;
	span->duration_ns = sonde_now_mono_ns() - span->start_mono_ns;
	span->state = SPAN_ENDED;
	secs = (double)span->duration_ns / 1e9;
	err = span->status == SONDE_SPAN_STATUS_ERROR;
	status = err ? "error" : "ok";
	/* out of order: the error is recorded by detach; the span is still
	 * measured and reported */
	if (sonde_context_detach(&span->scope) != SONDE_OK) {
		/* nothing more to do: the last error says what happened */
	}
	/* acquire: pairs with the release in sonde_trace_set_span_histogram();
	 * the family it published is fully built */
	f = sonde__load_acquire(&span_family);
	if (f) {
		const char *v[2] = {span->name, status};
		size_t lens[2] = {span->name_len, err ? 5u : 2u};
		sonde_histogram *h = sonde_histogram_labels(f, f->nlabels, v, lens);
		/* a sampled span becomes its bucket's exemplar: the trace exists in
		 * the backend, so the link from the histogram leads somewhere */
		if (span->scope.ctx.trace_flags & SONDE_TRACE_FLAG_SAMPLED)
			sonde_histogram_observe_exemplar(h, secs, &span->scope.ctx);
		else
			sonde_histogram_observe(h, secs);
	}
	l = span_logger();
	if (l) {
		/* relaxed: see the table at the top */
		int level = sonde__load_relaxed(&span_log_level);
		if (sonde__log_on(l, level))
			log_span(span, l, level, status, secs);
	}
	d = span->data;
	if (d)
		sonde__span_data_end(d, span->duration_ns);
	fn = read_hook(&arg);
	if (fn) {
		span->end_unix_ns = d ? d->end_unix_ns : sonde_now_unix_ns();
		fn(span, arg);
	}
	if (d) {
		/* the hook has read it: the exporter takes it, or it is freed */
		span->data = NULL;
		sonde__span_data_finish(d);
	}
}

/* The inline slot, and the record's copy when the span is recorded. The
 * slot is written field by field: a was just stored by its maker a field
 * at a time, and a whole-struct copy loads it 16 bytes at a time, which
 * the store buffer cannot forward (a stall of a dozen cycles per
 * attribute, a tenth of a span with three). */
static void set_attr(sonde_span *span, const sonde_span_attr *a)
{
	sonde_span_attr *slot;

	if (!span || !a->key || span->state != SPAN_STARTED)
		return;
	if (span->attr_count < SONDE_SPAN_ATTRS_MAX) {
		slot = &span->attrs[span->attr_count++];
		slot->key = a->key;
		slot->type = a->type;
		slot->str_len = a->str_len;
		switch (a->type) { /* the member its maker stored */
		case SONDE_ATTR_INT: slot->v.i = a->v.i; break;
		case SONDE_ATTR_DOUBLE: slot->v.d = a->v.d; break;
		case SONDE_ATTR_BOOL: slot->v.b = a->v.b; break;
		default: slot->v.str = a->v.str; break; /* a string or an array */
		}
	} else {
		span->attrs_dropped++;
	}
	if (span->data)
		sonde__span_data_set_attr(span->data, a);
}

void sonde_span_set_strn(sonde_span *span, const char *key, const char *value, size_t len)
{
	sonde_span_attr a;

	a.key = key;
	a.type = SONDE_ATTR_STRING;
	a.v.str = value ? value : "";
	a.str_len = value ? len : 0;
	set_attr(span, &a);
}

void sonde_span_set_str(sonde_span *span, const char *key, const char *value)
{
	value = value ? value : "";
	if (span && key && span->state == SPAN_STARTED)
		sonde_span_set_strn(span, key, value, strlen(value));
}

static void set_array(sonde_span *span, const char *key, sonde_attr_type t, const void *v, size_t n)
{
	sonde_span_attr a;

	a.key = key;
	a.type = t;
	a.v.ints = v;
	a.str_len = v ? n : 0;
	set_attr(span, &a);
}

void sonde_span_set_str_array(sonde_span *span, const char *key, const char *const *values,
                              size_t n)
{
	set_array(span, key, SONDE_ATTR_STRING_ARRAY, values, n);
}

void sonde_span_set_int_array(sonde_span *span, const char *key, const int64_t *values, size_t n)
{
	set_array(span, key, SONDE_ATTR_INT_ARRAY, values, n);
}

void sonde_span_set_double_array(sonde_span *span, const char *key, const double *values, size_t n)
{
	set_array(span, key, SONDE_ATTR_DOUBLE_ARRAY, values, n);
}

void sonde_span_set_bool_array(sonde_span *span, const char *key, const bool *values, size_t n)
{
	set_array(span, key, SONDE_ATTR_BOOL_ARRAY, values, n);
}

void sonde_span_set_int(sonde_span *span, const char *key, int64_t value)
{
	sonde_span_attr a = sonde_attr_int(key, value);
	set_attr(span, &a);
}

void sonde_span_set_double(sonde_span *span, const char *key, double value)
{
	sonde_span_attr a = sonde_attr_double(key, value);
	set_attr(span, &a);
}

void sonde_span_set_bool(sonde_span *span, const char *key, bool value)
{
	sonde_span_attr a = sonde_attr_bool(key, value);
	set_attr(span, &a);
}

void sonde_span_set_status(sonde_span *span, sonde_span_status status, const char *msg)
{
	if (!span || span->state != SPAN_STARTED)
		return;
	if (status != SONDE_SPAN_STATUS_UNSET && status != SONDE_SPAN_STATUS_OK &&
	    status != SONDE_SPAN_STATUS_ERROR)
		return;
	if (span->status == SONDE_SPAN_STATUS_ERROR && status != SONDE_SPAN_STATUS_ERROR)
		return;
	span->status = status;
	span->status_msg = msg;
	if (span->data)
		sonde__span_data_set_status(span->data, status, msg);
}

void sonde_span_set_error(sonde_span *span, const char *msg)
{
	sonde_span_set_status(span, SONDE_SPAN_STATUS_ERROR, msg);
}

const sonde_span_context *sonde_span_get_context(const sonde_span *span)
{
	return span ? &span->scope.ctx : NULL;
}

bool sonde_span_is_sampled(const sonde_span *span)
{
	return span && (span->scope.ctx.trace_flags & SONDE_TRACE_FLAG_SAMPLED);
}

/* ---- the OpenTelemetry model: kind, events, links, reading ---------------------------- */

void sonde_span_set_kind(sonde_span *span, sonde_span_kind kind)
{
	if (!span || span->state != SPAN_STARTED || kind < SONDE_SPAN_KIND_INTERNAL ||
	    kind > SONDE_SPAN_KIND_CONSUMER)
		return;
	span->kind = (uint32_t)kind;
	if (span->data)
		((sonde__span_data *)span->data)->kind = (uint32_t)kind;
}

/* The record of a started, sampled span, made on first need; NULL for an
 * unsampled or ended span (or out of memory). */
static sonde__span_data *record_of(sonde_span *span)
{
	if (!span || span->state != SPAN_STARTED ||
	    !(span->scope.ctx.trace_flags & SONDE_TRACE_FLAG_SAMPLED))
		return NULL;
	if (!span->data)
		span->data = sonde__span_data_new(span);
	return span->data;
}

void sonde_span_add_event_at(sonde_span *span, const char *name, int64_t unix_ns,
                             const sonde_span_attr *attrs, size_t n)
{
	sonde__span_data *d = record_of(span);

	if (d)
		sonde__span_data_add_event(d, name, unix_ns, attrs, n);
}

void sonde_span_add_event(sonde_span *span, const char *name, const sonde_span_attr *attrs,
                          size_t n)
{
	sonde_span_add_event_at(span, name, 0, attrs, n);
}

void sonde_span_record_exception(sonde_span *span, const char *type, const char *message,
                                 const char *stacktrace)
{
	sonde_span_attr a[3];
	size_t n = 0;

	/* semantic conventions: exception.type, .message, .stacktrace */
	if (type)
		a[n++] = sonde_attr_str("exception.type", type);
	if (message)
		a[n++] = sonde_attr_str("exception.message", message);
	if (stacktrace)
		a[n++] = sonde_attr_str("exception.stacktrace", stacktrace);
	sonde_span_add_event_at(span, "exception", 0, a, n);
}

void sonde_span_add_link(sonde_span *span, const sonde_span_context *ctx,
                         const sonde_span_attr *attrs, size_t n)
{
	sonde__span_data *d;

	if (!ctx || !sonde_span_context_valid(ctx))
		return;
	d = record_of(span);
	if (d)
		sonde__span_data_add_link(d, ctx, attrs, n);
}

/* The record of a started span, without making one. */
static const sonde__span_data *data_of(const sonde_span *span)
{
	/* ENDED: the record is still there while the end hook runs */
	return span && (span->state == SPAN_STARTED || span->state == SPAN_ENDED) ? span->data
	                                                                          : NULL;
}

bool sonde_span_is_recording(const sonde_span *span)
{
	return data_of(span) != NULL;
}

size_t sonde_span_get_attrs(const sonde_span *span, const sonde_span_attr **out)
{
	const sonde__span_data *d = data_of(span);
	const sonde_span_attr *a = NULL;
	size_t n = 0;

	if (d) {
		a = d->attrs;
		n = d->attr_count;
	} else if (span && (span->state == SPAN_STARTED || span->state == SPAN_ENDED)) {
		a = span->attrs;
		n = span->attr_count;
	}
	if (out)
		*out = n ? a : NULL;
	return n;
}

size_t sonde_span_get_events(const sonde_span *span, const sonde_span_event **out)
{
	const sonde__span_data *d = data_of(span);

	if (out)
		*out = d && d->event_count ? d->events : NULL;
	return d ? d->event_count : 0;
}

size_t sonde_span_get_links(const sonde_span *span, const sonde_span_link **out)
{
	const sonde__span_data *d = data_of(span);

	if (out)
		*out = d && d->link_count ? d->links : NULL;
	return d ? d->link_count : 0;
}

void sonde_span_get_dropped(const sonde_span *span, uint32_t *attrs, uint32_t *events,
                            uint32_t *links)
{
	const sonde__span_data *d = data_of(span);

	if (attrs)
		*attrs = d ? d->attrs_dropped : span ? span->attrs_dropped : 0;
	if (events)
		*events = d ? d->events_dropped : 0;
	if (links)
		*links = d ? d->links_dropped : 0;
}

const char *sonde_span_get_name(const sonde_span *span, size_t *len)
{
	const sonde__span_data *d = data_of(span);
	const char *name = d ? d->name : span ? span->name : NULL;
	size_t n = d ? d->name_len : span ? span->name_len : 0;

	if (len)
		*len = n;
	return name;
}

const char *sonde_span_get_status_message(const sonde_span *span)
{
	const sonde__span_data *d = data_of(span);

	return d ? d->status_msg : span ? span->status_msg : NULL;
}

int64_t sonde_span_get_start_unix_ns(const sonde_span *span)
{
	const sonde__span_data *d = data_of(span);

	return d ? sonde__span_data_start_unix(d) : 0;
}

int64_t sonde_span_get_end_unix_ns(const sonde_span *span)
{
	const sonde__span_data *d = data_of(span);

	return d ? d->end_unix_ns : 0;
}
