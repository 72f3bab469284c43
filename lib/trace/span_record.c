/* lib/trace/span_record.c - the record of a recorded span (span_data.h):
 * its arena, attributes with OpenTelemetry's replace-by-key rule, events,
 * links, the process-wide limits and the span processor.
 *
 * Synchronization of the process-wide settings
 *   setting     writer                        reader (span calls)
 *   limits      relaxed stores, one per word   relaxed loads: each word is
 *                                              a valid limit on its own
 *   processor   release store of the pointer   acquire load: the caller's
 *                                              struct was filled before */
#include "core/atomic.h"
#include "trace/span_data.h"

/* ---- limits ------------------------------------------------------------------------ */

static _Atomic uint32_t lim_attrs = SONDE_SPAN_LIMIT_DEFAULT;
static _Atomic uint32_t lim_events = SONDE_SPAN_LIMIT_DEFAULT;
static _Atomic uint32_t lim_links = SONDE_SPAN_LIMIT_DEFAULT;
static _Atomic uint32_t lim_event_attrs = SONDE_SPAN_LIMIT_DEFAULT;
static _Atomic uint32_t lim_link_attrs = SONDE_SPAN_LIMIT_DEFAULT;
static _Atomic uint32_t lim_value_len; /* 0: no limit */
static _Atomic uint64_t records_failed;

int sonde_trace_set_limits(const sonde_span_limits *l)
{
	sonde_span_limits in;
	int rc;

	if (!l) {
		memset(&in, 0, sizeof(in));
	} else {
		rc = sonde__opts_copy(&in, sizeof(in), l,
		                      SONDE__V1_SIZE(sonde_span_limits, attr_value_length),
		                      "sonde_trace_set_limits");
		if (rc)
			return rc;
	}
#define LIM(field, var) \
	sonde__store_relaxed(&var, in.field ? in.field : (uint32_t)SONDE_SPAN_LIMIT_DEFAULT)
	LIM(attrs, lim_attrs);
	LIM(events, lim_events);
	LIM(links, lim_links);
	LIM(attrs_per_event, lim_event_attrs);
	LIM(attrs_per_link, lim_link_attrs);
#undef LIM
	sonde__store_relaxed(&lim_value_len, in.attr_value_length);
	return SONDE_OK;
}

void sonde_trace_get_limits(sonde_span_limits *out)
{
	sonde_span_limits v;

	if (!out || out->size < SONDE__V1_SIZE(sonde_span_limits, attr_value_length))
		return;
	v.size = out->size < sizeof(v) ? out->size : sizeof(v);
	v.attrs = sonde__load_relaxed(&lim_attrs);
	v.events = sonde__load_relaxed(&lim_events);
	v.links = sonde__load_relaxed(&lim_links);
	v.attrs_per_event = sonde__load_relaxed(&lim_event_attrs);
	v.attrs_per_link = sonde__load_relaxed(&lim_link_attrs);
	v.attr_value_length = sonde__load_relaxed(&lim_value_len);
	memcpy(out, &v, v.size);
}

uint64_t sonde__trace_records_failed(void)
{
	return sonde__load_relaxed(&records_failed);
}

/* ---- the processor --------------------------------------------------------------------- */

static _Atomic(const sonde__span_processor *) processor;

void sonde__trace_set_processor(const sonde__span_processor *p)
{
	/* release: pairs with the acquire in sonde__span_data_finish();
	 * publishes the caller's filled struct */
	sonde__store_release(&processor, p);
}

bool sonde__trace_recording(void)
{
	/* relaxed: only decides whether to record from the start; the
	 * pointer is not followed here */
	return sonde__load_relaxed(&processor) != NULL;
}

void sonde__span_data_finish(sonde__span_data *d)
{
	/* acquire: pairs with the release in sonde__trace_set_processor() */
	const sonde__span_processor *p = sonde__load_acquire(&processor);

	if (p && p->on_end)
		p->on_end(d, p->arg);
	else
		sonde__span_data_free(d);
}

/* ---- the arena ------------------------------------------------------------------------- */

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)
#define BLOCK_HDR ALIGN16(sizeof(sonde__arena_block))
#define BLOCK_MIN 2048

static void *arena_alloc(sonde__span_data *d, size_t n)
{
	sonde__arena_block *b;
	size_t cap;

	size_t at = ALIGN16(d->inline_used); /* strings leave it unaligned */

	n = ALIGN16(n ? n : 1);
	if (at <= SONDE__SPAN_INLINE_BYTES && n <= SONDE__SPAN_INLINE_BYTES - at) {
		void *p = d->inline_bytes + at;
		d->inline_used = at + n;
		return p;
	}
	b = d->blocks;
	if (b && n <= b->cap - b->used) {
		void *p = (char *)b + BLOCK_HDR + b->used;
		b->used += n;
		return p;
	}
	if (n > SIZE_MAX / 2 - BLOCK_HDR)
		return NULL;
	/* doubling blocks: a span with many events costs log(n) allocations */
	cap = b && b->cap * 2 > BLOCK_MIN ? b->cap * 2 : BLOCK_MIN;
	if (cap < n)
		cap = n;
	b = sonde__malloc(BLOCK_HDR + cap);
	if (!b)
		return NULL;
	b->cap = cap;
	b->used = n;
	b->next = d->blocks;
	d->blocks = b;
	return (char *)b + BLOCK_HDR;
}

/* A NUL-terminated copy of n bytes, or NULL. Strings need no alignment:
 * the common ones go back to back in the inline bytes. */
static char *arena_str_slow(sonde__span_data *d, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = arena_alloc(d, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static inline char *arena_str(sonde__span_data *d, const char *s, size_t n)
{
	if (SONDE_LIKELY(n < SONDE__SPAN_INLINE_BYTES - d->inline_used)) {
		char *p = d->inline_bytes + d->inline_used;
		d->inline_used += n + 1;
		memcpy(p, s, n);
		p[n] = '\0';
		return p;
	}
	return arena_str_slow(d, s, n);
}

/* ---- the spare records ----------------------------------------------------------------
 *
 * A record is about 1 KiB and is mostly freed on the exporter's thread,
 * after the caller's thread made it: through malloc, every one would be a
 * remote free into the caller's arena, whose lock both threads then take
 * (measured: +250 ns a span on a 2-core VM). Freed records (their arena
 * blocks given back, the struct kept) are pushed on a lock-free stack
 * instead (one CAS); a thread that needs a record takes from its own list
 * of spares, and when that is empty takes the whole stack at once (one
 * exchange). No single pop, so no ABA. Newest first: the records a thread
 * reuses are the ones freed last, still in cache, whatever burst filled
 * the stack before (a FIFO pool cycled through all of them).
 *
 * Bounds: a push past POOL_CAP spares counted on the stack frees instead
 * (the count is reset by the take: at most about POOL_CAP on the stack,
 * plus what threads hold). A thread's list goes back to the stack at its
 * end (a key's destructor) and with the drain (the allocation-failure
 * suite). No lock: a forked child inherits the stack as it was, and the
 * forking thread's list; the other threads' lists are lost with them
 * (records, not locks), like their log rings. */

#define POOL_CAP 1024u

static SONDE__ALIGNED_CL _Atomic(sonde__span_data *) spare_top;
static _Atomic uint32_t spare_count;

static SONDE_TLS sonde__span_data *tc_list;
static SONDE_TLS bool tc_keyed;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static bool tc_key_ok;

/* The next record's lines a span with a few attributes writes (the
 * header, the first inline attributes, the first inline bytes), asked for
 * in exclusive state one span ahead: the export thread read and freed it
 * last, so each of those lines would otherwise be taken back from its
 * core while the span's stores wait. */
static void prefetch_spare(const sonde__span_data *d)
{
	const char *p = (const char *)d;
	size_t o;

	if (!p || !sonde__cpu_prefetchw())
		return;
	for (o = 0; o < offsetof(sonde__span_data, inline_attrs) + 3 * sizeof(sonde_span_attr);
	     o += SONDE_CACHELINE)
		sonde__prefetchw(p + o);
	p += offsetof(sonde__span_data, inline_bytes);
	sonde__prefetchw(p);
	sonde__prefetchw(p + SONDE_CACHELINE);
}

/* Pushes the chain first..last (n records); false: the stack is full. */
static bool spare_push(sonde__span_data *first, sonde__span_data *last, uint32_t n)
{
	sonde__span_data *top;

	if (sonde__fetch_add_relaxed(&spare_count, n) + n > POOL_CAP) {
		sonde__fetch_sub_relaxed(&spare_count, n);
		return false;
	}
	top = sonde__load_relaxed(&spare_top);
	do
		last->spare_next = top;
	/* release: the records' reset (and their next links) before the
	 * taker's acquire */
	while (!sonde__cas_weak_release(&spare_top, &top, first));
	return true;
}

/* The whole stack (newest first), the count with it. */
static sonde__span_data *spare_take_all(void)
{
	/* acquire: pairs with the pushes' release */
	sonde__span_data *d = sonde__exchange_acquire(&spare_top, NULL);

	sonde__store_relaxed(&spare_count, 0);
	return d;
}

static void free_chain(sonde__span_data *d)
{
	while (d) {
		sonde__span_data *next = d->spare_next;
		sonde__free(d, sizeof(*d));
		d = next;
	}
}

static void tc_give_back(void)
{
	sonde__span_data *d = tc_list, *last = NULL;
	uint32_t n = 0;

	tc_list = NULL;
	for (sonde__span_data *p = d; p; p = p->spare_next, n++)
		last = p;
	if (d && !spare_push(d, last, n))
		free_chain(d);
}

static void tc_exit(void *arg)
{
	(void)arg;
	tc_give_back();
}

static void tc_key_make(void)
{
	tc_key_ok = pthread_key_create(&tc_key, tc_exit) == 0;
}

static sonde__span_data *spare_take(void)
{
	sonde__span_data *d = tc_list;

	if (SONDE_UNLIKELY(!d)) {
		if (!sonde__load_relaxed(&spare_top))
			return NULL;
		if (SONDE_UNLIKELY(!tc_keyed)) {
			pthread_once(&tc_once, tc_key_make);
			/* the value only makes the destructor run at the exit */
			if (!tc_key_ok || pthread_setspecific(tc_key, &tc_list) != 0)
				return NULL;
			tc_keyed = true;
		}
		d = spare_take_all();
		if (!d)
			return NULL;
	}
	tc_list = d->spare_next;
	prefetch_spare(tc_list);
	return d;
}

void sonde__span_data_pool_drain(void)
{
	tc_give_back();
	free_chain(spare_take_all());
}

sonde__span_data *sonde__span_data_new(const sonde_span *span)
{
	sonde__span_data *d = spare_take();
	const sonde_span_context *c = &span->scope.ctx;
	uint32_t i;

	if (!d)
		d = sonde__malloc(sizeof(*d));
	if (!d) {
		sonde__fetch_add_relaxed(&records_failed, 1);
		return NULL;
	}
	/* the header field by field (the inline arrays are written as used):
	 * a memset of the whole header compiles to a rep stos, whose start-up
	 * was a tenth of the record's cost */
	d->start_unix_ns = d->end_unix_ns = 0;
	d->attr_count = d->attrs_dropped = 0;
	d->events = NULL;
	d->event_count = d->event_cap = d->events_dropped = 0;
	d->links = NULL;
	d->link_count = d->link_cap = d->links_dropped = 0;
	d->blocks = NULL;
	d->spare_next = NULL;
	d->inline_used = 0;
	memcpy(d->trace_id, c->trace_id, 16);
	memcpy(d->span_id, c->span_id, 8);
	memcpy(d->parent_span_id, span->parent_span_id, 8);
	d->trace_flags = c->trace_flags;
	d->kind = span->kind;
	/* no clock read here (each costs 20-25 ns on the VMs this runs on):
	 * the wall-clock start is derived at the end from the one wall-clock
	 * read there and the monotonic duration (sonde__span_data_end) */
	d->start_mono_ns = span->start_mono_ns;
	d->attrs = d->inline_attrs;
	d->attr_cap = SONDE__SPAN_INLINE_ATTRS;
	d->name = arena_str(d, span->name, span->name_len);
	if (!d->name) {
		sonde__span_data_free(d);
		sonde__fetch_add_relaxed(&records_failed, 1);
		return NULL;
	}
	d->name_len = span->name_len;
	for (i = 0; i < span->attr_count; i++)
		sonde__span_data_set_attr(d, &span->attrs[i]);
	d->attrs_dropped += span->attrs_dropped;
	sonde__span_data_set_status(d, span->status, span->status_msg);
	return d;
}

int64_t sonde__span_data_start_unix(const sonde__span_data *d)
{
	if (d->start_unix_ns)
		return d->start_unix_ns;
	/* before the end: the wall clock now, minus the time since start */
	return sonde_now_unix_ns() - (sonde_now_mono_ns() - d->start_mono_ns);
}

/* The wall clock of a monotonic time, from an offset between the two
 * clocks taken at most a second earlier (OpenTelemetry Java's anchored
 * clock does the same per trace): a span's end costs no wall-clock read
 * (each one costs 20-25 ns on the VMs this runs on, a third of an
 * unexported span). The two words are each valid on their own: a reader
 * that sees a new time with the old offset is off by a second's drift of
 * the wall clock against the monotonic one (NTP slews at most 0.5 ms a
 * second); a wall-clock step shows in spans within a second. */
#define WALL_ANCHOR_NS 1000000000LL

static _Atomic int64_t wall_offset;    /* unix minus mono, ns */
static _Atomic int64_t wall_anchor_at; /* the mono time it was taken; 0: never */

static int64_t wall_of_mono(int64_t mono)
{
	int64_t at = sonde__load_relaxed(&wall_anchor_at), u, m;

	if (at && mono >= at && mono - at < WALL_ANCHOR_NS)
		return mono + sonde__load_relaxed(&wall_offset);
	u = sonde_now_unix_ns();
	m = sonde_now_mono_ns();
	sonde__store_relaxed(&wall_offset, u - m);
	sonde__store_relaxed(&wall_anchor_at, m ? m : 1);
	return mono + (u - m);
}

void sonde__span_data_end(sonde__span_data *d, int64_t duration_ns)
{
	d->end_unix_ns = wall_of_mono(d->start_mono_ns + duration_ns);
	d->start_unix_ns = d->end_unix_ns - duration_ns;
}

void sonde__span_data_free(sonde__span_data *d)
{
	sonde__arena_block *b, *next;

	if (!d)
		return;
	for (b = d->blocks; b; b = next) {
		next = b->next;
		sonde__free(b, BLOCK_HDR + b->cap);
	}
	d->blocks = NULL;
	if (!spare_push(d, d, 1))
		sonde__free(d, sizeof(*d));
}

/* ---- attributes ------------------------------------------------------------------------- */

/* The length of a string value after the value length limit, never
 * cutting a UTF-8 sequence (back to the start of the cut character). */
static size_t limited_len(const char *s, size_t n)
{
	uint32_t lim = sonde__load_relaxed(&lim_value_len);

	if (!lim || n <= lim)
		return n;
	n = lim;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The elements of an array attribute into the arena (out->key is set). */
static bool copy_array(sonde__span_data *d, sonde_span_attr *out, const sonde_span_attr *a)
{
	size_t n = a->str_len, i, elem;
	void *p;

	out->str_len = 0;
	out->v.strs = NULL;
	if (n == 0 || !a->v.strs)
		return true; /* an empty array */
	elem = a->type == SONDE_ATTR_STRING_ARRAY ? sizeof(char *)
	       : a->type == SONDE_ATTR_BOOL_ARRAY ? sizeof(bool)
	                                          : 8;
	if (n > SIZE_MAX / 16)
		return false;
	p = arena_alloc(d, n * elem);
	if (!p)
		return false;
	if (a->type == SONDE_ATTR_STRING_ARRAY) {
		const char **strs = p;
		for (i = 0; i < n; i++) {
			const char *s = a->v.strs[i] ? a->v.strs[i] : "";
			strs[i] = arena_str(d, s, limited_len(s, strlen(s)));
			if (!strs[i])
				return false;
		}
	} else {
		memcpy(p, a->v.ints, n * elem);
	}
	out->v.strs = p;
	out->str_len = n;
	return true;
}

/* Copies a into *out (key and string value into the arena). false on
 * out-of-memory or a NULL key. klen: strlen(a->key), known to the caller
 * or (size_t)-1. Inlined into its callers: a call per attribute was 4 ns
 * of a recorded span's 30. */
static inline __attribute__((always_inline)) bool copy_attr(sonde__span_data *d,
                                                            sonde_span_attr *out,
                                                            const sonde_span_attr *a, size_t klen)
{
	const char *key;

	if (!a->key)
		return false;
	if (klen == (size_t)-1)
		klen = strlen(a->key);
	key = arena_str(d, a->key, klen);
	if (!key)
		return false;
	out->key = key;
	out->type = a->type;
	out->str_len = 0;
	switch (a->type) {
	case SONDE_ATTR_STRING: {
		const char *s = a->v.str ? a->v.str : "";
		size_t n = a->v.str ? (a->str_len == (size_t)-1 ? strlen(s) : a->str_len) : 0;
		n = limited_len(s, n);
		out->v.str = arena_str(d, s, n);
		if (!out->v.str)
			return false;
		out->str_len = n;
		break;
	}
	case SONDE_ATTR_INT: out->v.i = a->v.i; break;
	case SONDE_ATTR_DOUBLE: out->v.d = a->v.d; break;
	case SONDE_ATTR_BOOL: out->v.b = a->v.b; break;
	case SONDE_ATTR_STRING_ARRAY:
	case SONDE_ATTR_INT_ARRAY:
	case SONDE_ATTR_DOUBLE_ARRAY:
	case SONDE_ATTR_BOOL_ARRAY: return copy_array(d, out, a);
	default: return false;
	}
	return true;
}

/* Grows an arena array of elem-sized items from cap to at least need,
 * doubling; the old items are copied (the old room stays in the arena). */
static void *grow(sonde__span_data *d, void *old, uint32_t count, uint32_t *cap, size_t elem)
{
	uint32_t ncap = *cap ? *cap * 2 : 4;
	void *p = arena_alloc(d, (size_t)ncap * elem);

	if (!p)
		return NULL;
	if (count)
		memcpy(p, old, (size_t)count * elem);
	*cap = ncap;
	return p;
}

/* A cheap summary of a key (its length, first and last bytes): keys with
 * different tags differ, so the replacement scan compares few strings. */
static inline uint32_t key_tag(const char *k, size_t n)
{
	return (uint32_t)n ^ (n ? ((uint32_t)(unsigned char)k[0] << 20) ^
	                                      ((uint32_t)(unsigned char)k[n - 1] << 12)
	                        : 0u);
}

void sonde__span_data_set_attr(sonde__span_data *d, const sonde_span_attr *a)
{
	sonde_span_attr tmp;
	uint32_t i, lim, tag;
	size_t klen;

	if (!a->key)
		return;
	klen = strlen(a->key);
	tag = key_tag(a->key, klen);
	/* OpenTelemetry: setting an existing key replaces its value (the
	 * scan is short: the limit is 128 and spans carry a few; the inline
	 * attributes' tags spare most compares) */
	for (i = 0; i < d->attr_count; i++) {
		/* (grow keeps the order: the first tags stay right) */
		if (i < SONDE__SPAN_INLINE_ATTRS && d->key_tag[i] != tag)
			continue;
		if (strcmp(d->attrs[i].key, a->key) == 0) {
			if (copy_attr(d, &tmp, a, klen))
				d->attrs[i] = tmp;
			else
				d->attrs_dropped++;
			return;
		}
	}
	lim = sonde__load_relaxed(&lim_attrs);
	if (d->attr_count >= lim) {
		d->attrs_dropped++;
		return;
	}
	if (d->attr_count == d->attr_cap) {
		sonde_span_attr *n = grow(d, d->attrs, d->attr_count, &d->attr_cap, sizeof(*n));
		if (!n) {
			d->attrs_dropped++;
			return;
		}
		d->attrs = n;
	}
	if (copy_attr(d, &d->attrs[d->attr_count], a, klen)) {
		if (d->attr_count < SONDE__SPAN_INLINE_ATTRS)
			d->key_tag[d->attr_count] = tag;
		d->attr_count++;
	} else {
		d->attrs_dropped++;
	}
}

void sonde__span_data_set_status(sonde__span_data *d, sonde_span_status st, const char *msg)
{
	d->status = st;
	d->status_msg = NULL;
	d->status_msg_len = 0;
	/* OpenTelemetry keeps a description only with ERROR */
	if (msg && st == SONDE_SPAN_STATUS_ERROR) {
		size_t n = strlen(msg);
		d->status_msg = arena_str(d, msg, n);
		if (d->status_msg)
			d->status_msg_len = n;
	}
}

/* n attributes copied into a fresh arena array, at most lim; the rest and
 * the failures counted in *dropped. */
static const sonde_span_attr *copy_attrs(sonde__span_data *d, const sonde_span_attr *attrs,
                                         size_t n, uint32_t lim, uint32_t *count, uint32_t *dropped)
{
	sonde_span_attr *out;
	size_t i, take = n < lim ? n : lim;

	*count = 0;
	*dropped = (uint32_t)(n - take > UINT32_MAX ? UINT32_MAX : n - take);
	if (!take || !attrs) {
		*dropped = attrs ? *dropped : 0;
		return NULL;
	}
	out = arena_alloc(d, take * sizeof(*out));
	if (!out) {
		*dropped = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
		return NULL;
	}
	for (i = 0; i < take; i++) {
		if (copy_attr(d, &out[*count], &attrs[i], (size_t)-1))
			(*count)++;
		else
			(*dropped)++;
	}
	return out;
}

/* ---- events and links ------------------------------------------------------------------- */

void sonde__span_data_add_event(sonde__span_data *d, const char *name, int64_t unix_ns,
                                const sonde_span_attr *attrs, size_t n)
{
	sonde_span_event *e;
	size_t nl;

	if (d->event_count >= sonde__load_relaxed(&lim_events)) {
		d->events_dropped++;
		return;
	}
	if (d->event_count == d->event_cap) {
		sonde_span_event *ne =
		        grow(d, d->events, d->event_count, &d->event_cap, sizeof(*ne));
		if (!ne) {
			d->events_dropped++;
			return;
		}
		d->events = ne;
	}
	e = &d->events[d->event_count];
	name = name ? name : "event";
	nl = strlen(name);
	e->name = arena_str(d, name, nl);
	if (!e->name) {
		d->events_dropped++;
		return;
	}
	e->name_len = nl;
	e->time_unix_ns = unix_ns > 0 ? unix_ns : sonde_now_unix_ns();
	e->attrs = copy_attrs(d, attrs, n, sonde__load_relaxed(&lim_event_attrs), &e->attr_count,
	                      &e->attrs_dropped);
	d->event_count++;
}

void sonde__span_data_add_link(sonde__span_data *d, const sonde_span_context *ctx,
                               const sonde_span_attr *attrs, size_t n)
{
	sonde_span_link *l;

	if (d->link_count >= sonde__load_relaxed(&lim_links)) {
		d->links_dropped++;
		return;
	}
	if (d->link_count == d->link_cap) {
		sonde_span_link *nl = grow(d, d->links, d->link_count, &d->link_cap, sizeof(*nl));
		if (!nl) {
			d->links_dropped++;
			return;
		}
		d->links = nl;
	}
	l = &d->links[d->link_count++];
	memcpy(l->trace_id, ctx->trace_id, 16);
	memcpy(l->span_id, ctx->span_id, 8);
	l->trace_flags = ctx->trace_flags;
	l->attrs = copy_attrs(d, attrs, n, sonde__load_relaxed(&lim_link_attrs), &l->attr_count,
	                      &l->attrs_dropped);
}
