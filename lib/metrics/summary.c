/*
 * lib/metrics/summary.c - summaries with a guaranteed relative error.
 *
 * Sketch. A positive double's bits, shifted right by 46, are its biased
 * exponent followed by the top 6 bits of its mantissa: an index that grows
 * with the value, each bucket [2^e (1 + m/64), 2^e (1 + (m+1)/64)) no wider
 * than 1/64 of its lower bound. Reporting a bucket's midpoint is therefore
 * within 1/128 (0.78 %) of every value in it, hence of the exact quantile
 * (the observation of rank floor(q (n-1)) among the window's n). No
 * logarithm is computed on the hot path. Negative values are refused (see
 * sonde_summary_observe); v < 2^-40 counts as zero (reported as 0);
 * v >= 2^41 is clamped into the top bucket (the error bound holds for
 * 2^-40 <= v < 2^41). Counts are 64-bit: no slot of a thread wraps.
 *
 * Layout. Each thread that observes a summary child owns one block for it:
 * lifetime count and sum, and per age slot an epoch, a zero count and, per
 * binary exponent seen, 64 bucket counts. Exponent arrays are allocated on
 * first sight of that exponent (the only allocation, never in steady
 * state): with the default 5 age slots a block costs 2560 bytes per
 * distinct exponent observed (at most 81: 207 KiB) plus 1.1 KiB, per
 * thread.
 *
 * Window. Slot s holds epoch e when e % nslots == s, an epoch lasting
 * max_age / age_buckets. The writing thread resets its own stale slot, so no
 * thread writes another's block. A read merges the slots whose epoch is
 * among the last nslots: the window covers between max_age - max_age /
 * age_buckets and max_age seconds, as client_golang's does.
 *
 * Synchronization
 *   what                          written by        read by          how
 *   block counts, epochs          owner thread      readers          relaxed atomics; slot
 *                                                                    reset brackets with
 *                                                                    epoch -1 (release) so a
 *                                                                    reader skips it
 *   block exponent arrays         owner (publish)   readers          release / acquire
 *   child's block list            slow path         readers          acquire push; mu for
 *                                                                    adoption and reads
 *   thread tables (TLS)           owner only        owner only       none
 *   sidx table (child, gen)       init/retire/exit  exit, init       tab_mu
 */
#include <math.h>
#include <time.h>

#include "metrics/summary.h"

#define EXP_LO (1023 - 40) /* biased exponent of 2^-40 */
#define EXP_N 81           /* 2^-40 .. 2^40 */
#define SUB 64
#define SLOT_INVALID INT64_MIN

struct sonde__summ_block {
	_Atomic uint64_t count;
	_Atomic uint64_t sum_bits;
	_Atomic int64_t epoch[SONDE_SUMMARY_SLOTS_MAX];
	_Atomic uint64_t zero[SONDE_SUMMARY_SLOTS_MAX];
	/* per exponent: nslots * SUB counts */
	_Atomic(_Atomic uint64_t *) pos[EXP_N];
	uint32_t nslots;
	_Atomic int orphan; /* 1 once its thread exited: adoptable */
	/* owner-thread cache of the current slot */
	int64_t cur_start, cur_end, cur_epoch;
	uint32_t cur_slot;
	sonde__summ_block *next;
};

static int64_t clock_ms_default(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t (*sonde__summary_clock_ms)(void) = clock_ms_default;

/* ---- the sidx table and the per-thread block tables ------------------------- */

typedef struct tls_entry {
	sonde__summ_block *block;
	uint32_t gen;
} tls_entry;

typedef struct tls_table {
	tls_entry *e;
	uint32_t n;
} tls_table;

static pthread_mutex_t tab_mu = PTHREAD_MUTEX_INITIALIZER;
static sonde__summ **tab; /* sidx -> live child's state, NULL if free */
static uint32_t *tab_gen;
static uint32_t tab_n, tab_cap;

static SONDE_TLS_DYNAMIC tls_table tls;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;

/* Thread exit: mark this thread's blocks adoptable, for children that are
 * still alive (the generation tells). */
static void thread_exit(void *arg)
{
	tls_table *t = arg;
	uint32_t i;

	pthread_mutex_lock(&tab_mu);
	for (i = 0; i < t->n; i++)
		if (t->e[i].block && i < tab_n && tab[i] && tab_gen[i] == t->e[i].gen)
			/* release: the exiting owner's last writes before the
			 * orphan mark; pairs with the CAS in block_slow() that
			 * adopts the block */
			sonde__store_release(&t->e[i].block->orphan, 1);
	pthread_mutex_unlock(&tab_mu);
	sonde__free(t->e, t->n * sizeof(*t->e));
	t->e = NULL;
	t->n = 0;
}

static void exit_key_init(void)
{
	exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

static sonde__summ_block *block_new(uint32_t nslots)
{
	sonde__summ_block *b = sonde__calloc(1, sizeof(*b));
	uint32_t i;

	if (!b)
		return NULL;
	b->nslots = nslots;
	for (i = 0; i < SONDE_SUMMARY_SLOTS_MAX; i++)
		sonde__store_relaxed(&b->epoch[i], SLOT_INVALID);
	b->cur_end = INT64_MIN;
	return b;
}

static void block_free(sonde__summ_block *b)
{
	uint32_t i;

	for (i = 0; i < EXP_N; i++)
		sonde__free(sonde__load_relaxed(&b->pos[i]), b->nslots * SUB * sizeof(uint64_t));
	sonde__free(b, sizeof(*b));
}

/* Slow path: this thread's block for s, adopting an orphan or making one. */
static sonde__summ_block *block_slow(sonde__summ *s)
{
	sonde__summ_block *b;

	if (s->sidx >= tls.n) {
		uint32_t n = tls.n ? tls.n : 16;
		tls_entry *e;
		while (n <= s->sidx)
			n *= 2;
		e = sonde__calloc(n, sizeof(*e));
		if (!e)
			return NULL;
		if (tls.n)
			memcpy(e, tls.e, tls.n * sizeof(*e));
		sonde__free(tls.e, tls.n * sizeof(*tls.e));
		pthread_once(&exit_once, exit_key_init);
		tls.e = e;
		tls.n = n;
		if (exit_key_ok)
			pthread_setspecific(exit_key, &tls);
	}
	sonde__gate_enter();
	pthread_mutex_lock(&s->mu);
	for (b = sonde__load_relaxed(&s->blocks); b; b = b->next) {
		int one = 1;
		if (sonde__load_relaxed(&b->orphan) &&
		    /* seq_cst: pairs with the release that marks the orphan */
		    sonde__cas_strong_seq_cst(&b->orphan, &one, 0))
			break; /* its owner is gone: we are its single writer now */
	}
	if (!b) {
		b = block_new(s->nslots);
		if (b) {
			b->next = sonde__load_relaxed(&s->blocks);
			/* release: readers walking the list see a complete block;
			 * pairs with the acquire loads of s->blocks in
			 * sonde__summary_read() */
			sonde__store_release(&s->blocks, b);
		}
	}
	pthread_mutex_unlock(&s->mu);
	sonde__gate_leave();
	if (b) {
		tls.e[s->sidx].block = b;
		tls.e[s->sidx].gen = s->gen;
	}
	return b;
}

static inline sonde__summ_block *my_block(sonde__summ *s)
{
	if (SONDE_LIKELY(s->sidx < tls.n)) {
		tls_entry *e = &tls.e[s->sidx];
		if (SONDE_LIKELY(e->block != NULL && e->gen == s->gen))
			return e->block;
	}
	return block_slow(s);
}

/* Owner only: moves to the slot of epoch e, resetting it if stale. */
static void enter_epoch(sonde__summ_block *b, const sonde__summ *s, int64_t now, int64_t e)
{
	uint32_t slot = (uint32_t)(e % (int64_t)s->nslots), i, j;

	if (sonde__load_relaxed(&b->epoch[slot]) != e) {
		/* release: a reader that sees the invalid epoch skips the slot
		 * while its counts are being cleared */
		sonde__store_release(&b->epoch[slot], SLOT_INVALID);
		sonde__store_relaxed(&b->zero[slot], 0);
		for (i = 0; i < EXP_N; i++) {
			_Atomic uint64_t *p = sonde__load_relaxed(&b->pos[i]);
			for (j = 0; p && j < SUB; j++)
				sonde__store_relaxed(&p[slot * SUB + j], 0);
		}
		/* release: the cleared counts before the new epoch; pairs with
		 * the acquire of the epoch in sonde__summary_read() */
		sonde__store_release(&b->epoch[slot], e);
	}
	b->cur_epoch = e;
	b->cur_slot = slot;
	b->cur_start = e * s->slot_ms;
	b->cur_end = b->cur_start + s->slot_ms;
	(void)now;
}

static _Atomic uint64_t *exp_array(sonde__summ_block *b, _Atomic(_Atomic uint64_t *) *slot)
{
	_Atomic uint64_t *p = sonde__load_relaxed(slot);

	if (SONDE_LIKELY(p != NULL))
		return p;
	p = sonde__calloc((size_t)b->nslots * SUB, sizeof(uint64_t));
	if (p)
		/* release: readers see zeroed counts before the pointer; pairs
		 * with the acquire loads in add_slot() */
		sonde__store_release(slot, p);
	return p;
}

/* n observations of v (n > 1 only from tests, to reach counts no test
 * could make one by one). */
static inline void observe_n(sonde_summary *sm, double v, uint64_t n)
{
	sonde__child *c = (sonde__child *)sm;
	sonde__summ *s;
	sonde__summ_block *b;
	int64_t now;
	uint64_t bits;

	if (SONDE_UNLIKELY(!c))
		return;
	/* NaN and negative values are refused and counted: a summary's
	 * _sum must not be negative or NaN and its quantiles not negative in
	 * OpenMetrics (the official parser rejects the page) */
	if (SONDE_UNLIKELY(!(v >= 0))) {
		if (isnan(v))
			sonde__self_count_summary_nan();
		else
			sonde__self_count_summary_negative();
		return;
	}
	s = c->ext;
	b = my_block(s);
	if (SONDE_UNLIKELY(!b)) {
		sonde__self_count_rejected(SONDE_REJECT_OOM);
		return;
	}
	now = sonde__summary_clock_ms();
	if (SONDE_UNLIKELY(now < b->cur_start || now >= b->cur_end))
		enter_epoch(b, s, now, now / s->slot_ms);
	bits = sonde__dbl_bits(v);
	{
		uint32_t e = (uint32_t)((bits >> 52) & 0x7ff),
		         m = (uint32_t)((bits >> 46) & (SUB - 1));
		_Atomic uint64_t *cnt;
		if (e < EXP_LO || v == 0) {
			cnt = &b->zero[b->cur_slot];
		} else {
			_Atomic uint64_t *arr;
			if (e >= EXP_LO + EXP_N) {
				e = EXP_LO + EXP_N - 1;
				m = SUB - 1;
			}
			arr = exp_array(b, &b->pos[e - EXP_LO]);
			if (SONDE_UNLIKELY(!arr)) {
				sonde__self_count_rejected(SONDE_REJECT_OOM);
				return;
			}
			cnt = &arr[b->cur_slot * SUB + m];
		}
		sonde__store_relaxed(cnt, sonde__load_relaxed(cnt) + n);
	}
	sonde__store_relaxed(&b->count, sonde__load_relaxed(&b->count) + n);
	sonde__store_relaxed(&b->sum_bits,
	                     sonde__dbl_bits(sonde__bits_dbl(sonde__load_relaxed(&b->sum_bits)) +
	                                     (n == 1 ? v : v * (double)n)));
}

void sonde_summary_observe(sonde_summary *sm, double v)
{
	observe_n(sm, v, 1);
}

void sonde__summary_observe_n(sonde_summary *sm, double v, uint64_t n)
{
	observe_n(sm, v, n);
}

/* ---- fork ------------------------------------------------------------------------
 * The slot table's lock (taken under family locks, so ranked after the
 * gate). Each summary's own mutex is taken inside the metrics gate, which
 * a fork holds exclusive (registry.c). */
static void fork_prepare(void)
{
	pthread_mutex_lock(&tab_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&tab_mu);
}

static const sonde__fork_hooks summ_fork = {SONDE_FORK_RANK_SUMMARY, fork_prepare, fork_release,
                                            fork_release};

/* ---- child lifecycle ------------------------------------------------------------ */

/* Under tab_mu: both arrays to nc entries. Each array's capacity is kept
 * on its own, so a growth that fails half-way leaves each one's true size
 * recorded (the allocator is always told the size it gave). */
static uint32_t tab_gen_cap;

static int grow_tab(uint32_t nc)
{
	if (tab_cap < nc) {
		sonde__summ **nt = sonde__realloc(tab, tab_cap * sizeof(*tab), nc * sizeof(*tab));
		if (!nt)
			return SONDE_ENOMEM;
		memset(nt + tab_cap, 0, (nc - tab_cap) * sizeof(*nt));
		tab = nt;
		tab_cap = nc;
	}
	if (tab_gen_cap < nc) {
		uint32_t *ng = sonde__realloc(tab_gen, tab_gen_cap * sizeof(*ng), nc * sizeof(*ng));
		if (!ng)
			return SONDE_ENOMEM;
		memset(ng + tab_gen_cap, 0, (nc - tab_gen_cap) * sizeof(*ng));
		tab_gen = ng;
		tab_gen_cap = nc;
	}
	return SONDE_OK;
}

int sonde__summary_child_init(sonde__child *c, const sonde_family *f)
{
	sonde__summ *s = sonde__calloc(1, sizeof(*s));
	uint32_t i;

	if (!s)
		return SONDE_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->nslots = f->age_buckets;
	s->slot_ms = (int64_t)(f->max_age_s * 1000.0) / (int64_t)f->age_buckets;
	if (s->slot_ms < 1)
		s->slot_ms = 1;
	sonde__fork_register(&summ_fork);
	pthread_mutex_lock(&tab_mu);
	for (i = 0; i < tab_n && tab[i]; i++)
		;
	if (i == tab_n) {
		uint32_t cap = tab_cap < tab_gen_cap ? tab_cap : tab_gen_cap;
		if (tab_n == cap && grow_tab(cap ? cap * 2 : 64) != SONDE_OK) {
			pthread_mutex_unlock(&tab_mu);
			pthread_mutex_destroy(&s->mu);
			sonde__free(s, sizeof(*s));
			return SONDE_ENOMEM;
		}
		tab_n++;
	}
	tab[i] = s;
	s->sidx = i;
	s->gen = ++tab_gen[i];
	pthread_mutex_unlock(&tab_mu);
	c->ext = s;
	return SONDE_OK;
}

void sonde__summary_child_retire(sonde__child *c)
{
	sonde__summ *s = c->ext;

	if (!s)
		return;
	pthread_mutex_lock(&tab_mu);
	if (s->sidx < tab_n && tab[s->sidx] == s)
		tab[s->sidx] = NULL; /* the index is free; threads' entries go stale by gen */
	pthread_mutex_unlock(&tab_mu);
}

void sonde__summary_child_free(sonde__child *c)
{
	sonde__summ *s = c->ext;
	sonde__summ_block *b, *n;

	if (!s)
		return;
	sonde__summary_child_retire(c);
	for (b = sonde__load_relaxed(&s->blocks); b; b = n) {
		n = b->next;
		block_free(b);
	}
	pthread_mutex_destroy(&s->mu);
	sonde__free(s, sizeof(*s));
	c->ext = NULL;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Merged window counts: per exponent, SUB buckets. */
typedef struct merged {
	uint64_t zero;
	uint64_t pos[EXP_N][SUB];
} merged;

/* The midpoint of bucket (biased exponent e, sub-bucket m): the mantissa
 * 1 + (m + 0.5) / 64 times 2^(e - 1023), built from the bits (no libm). */
static double bucket_mid(uint32_t e, uint32_t m)
{
	double scale = sonde__bits_dbl((uint64_t)e << 52); /* 2^(e-1023), e normal */
	return (1.0 + ((double)m + 0.5) / SUB) * scale;
}

/* The value of rank r (0-based) in the merged window. */
static double value_at(const merged *w, uint64_t r)
{
	uint64_t seen = 0;
	int e, m;

	seen += w->zero;
	if (r < seen)
		return 0;
	for (e = 0; e < EXP_N; e++)
		for (m = 0; m < SUB; m++) {
			seen += w->pos[e][m];
			if (r < seen)
				return bucket_mid((uint32_t)e + EXP_LO, (uint32_t)m);
		}
	return NAN;
}

static void add_slot(merged *w, const sonde__summ_block *bc, uint32_t slot)
{
	sonde__summ_block *b = (sonde__summ_block *)bc;
	uint32_t e, m;

	w->zero += sonde__load_relaxed(&b->zero[slot]);
	for (e = 0; e < EXP_N; e++) {
		/* acquire: pairs with the release in exp_array() */
		_Atomic uint64_t *p = sonde__load_acquire(&b->pos[e]);
		for (m = 0; p && m < SUB; m++)
			w->pos[e][m] += sonde__load_relaxed(&p[slot * SUB + m]);
	}
}

int sonde__summary_read(const sonde__child *c, const double *qs, size_t nq, double *out,
                        sonde__summ_snapshot *snap)
{
	sonde__summ *s = c->ext;
	sonde__summ_block *b;
	merged *w;
	int64_t cur;
	uint64_t total;
	size_t i;

	memset(snap, 0, sizeof(*snap));
	for (i = 0; i < nq; i++)
		out[i] = NAN;
	if (!s)
		return SONDE_OK;
	if (nq == 0) {
		/* lifetime figures only: no merge */
		sonde__gate_enter();
		pthread_mutex_lock(&s->mu);
		/* acquire: pairs with the release in block_slow() */
		for (b = sonde__load_acquire(&s->blocks); b; b = b->next) {
			snap->count += sonde__load_relaxed(&b->count);
			snap->sum += sonde__bits_dbl(sonde__load_relaxed(&b->sum_bits));
		}
		pthread_mutex_unlock(&s->mu);
		sonde__gate_leave();
		return SONDE_OK;
	}
	w = sonde__calloc(1, sizeof(*w));
	if (!w)
		return SONDE_ENOMEM;
	cur = sonde__summary_clock_ms() / s->slot_ms;
	sonde__gate_enter();
	pthread_mutex_lock(&s->mu);
	for (b = sonde__load_acquire(&s->blocks); b; b = b->next) {
		uint32_t slot;
		snap->count += sonde__load_relaxed(&b->count);
		snap->sum += sonde__bits_dbl(sonde__load_relaxed(&b->sum_bits));
		for (slot = 0; slot < s->nslots; slot++) {
			/* acquire: pairs with the release that ends a slot reset. A
			 * scrape that races the owner's reset of this very slot may
			 * count part of it; the window moves on either way. */
			int64_t e1 = sonde__load_acquire(&b->epoch[slot]);
			if (e1 == SLOT_INVALID || e1 > cur || e1 <= cur - (int64_t)s->nslots)
				continue;
			add_slot(w, b, slot);
		}
	}
	pthread_mutex_unlock(&s->mu);
	sonde__gate_leave();
	total = w->zero;
	for (i = 0; i < EXP_N * SUB; i++)
		total += (&w->pos[0][0])[i];
	snap->window_count = total;
	if (total)
		for (i = 0; i < nq; i++)
			out[i] = value_at(
			        w, (uint64_t)(qs[i] * (double)(total - 1))); /* floor: >= 0 */
	sonde__free(w, sizeof(*w));
	return SONDE_OK;
}

/* ---- reads for the host ---------------------------------------------------- */

uint64_t sonde_summary_count(const sonde_summary *s)
{
	sonde__summ_snapshot snap;
	double q;

	if (!s || sonde__summary_read(&s->c, NULL, 0, &q, &snap) != SONDE_OK)
		return 0;
	return snap.count;
}

double sonde_summary_sum(const sonde_summary *s)
{
	sonde__summ_snapshot snap;
	double q;

	if (!s || sonde__summary_read(&s->c, NULL, 0, &q, &snap) != SONDE_OK)
		return 0;
	return snap.sum;
}

double sonde_summary_quantile(const sonde_summary *s, double q)
{
	sonde__summ_snapshot snap;
	double v = NAN;

	if (!s || !(q >= 0 && q <= 1))
		return NAN;
	if (sonde__summary_read(&s->c, &q, 1, &v, &snap) != SONDE_OK)
		return NAN;
	return v;
}
