/*
 * lib/log/log_crash.c - the crash flush: handlers for SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE and SIGABRT that write what the rings still hold to the
 * sinks a signal handler can reach, then one crash record, then hand the
 * signal to whoever had it before; and the alternate signal stacks that
 * let the handler run after a stack overflow. Calls: log_format.c,
 * log_sink_write.c (write_all), log_ring.h (consumer side), log_clock.c,
 * log_level.c, log_state.c, log_flight.c (kept records); core's allocator
 * switch and number writers.
 *
 * In the handler, only async-signal-safe work: no lock, no allocation (the
 * thread's allocator is switched off, so a line that would need memory
 * fails as out of memory and is skipped and counted), write(2), sigaction,
 * raise, nanosleep, and backtrace() (warmed up at install so its first
 * call's dlopen of libgcc is behind us). The steps:
 *   1. the first crashing thread claims the flush; another one waits (at
 *      most 2 s) for it and then chains; a fault inside the handler is
 *      masked (every crash signal is blocked while it runs), so the kernel
 *      kills the process rather than re-entering: never a hang;
 *   2. pause the backend: set crashing, wait (at most 500 ms) for a batch
 *      in progress to end; past that, or on the backend thread itself, go
 *      on anyway (a record may then be written twice);
 *   3. write every thread's kept flight-recorder records (marked
 *      "_replayed"), then merge every ring from its read position to its published end by
 *      timestamp, as the backend does, formatting into two static 64 KiB
 *      lines (JSON, logfmt) and writing each to its logger's file and
 *      stdout/stderr sinks (callback sinks are skipped and counted), then
 *      give the bytes back (rpos), so a process that survives the signal
 *      does not write them again;
 *   4. one crash record, through the default logger's fd sinks (stderr when
 *      there is none): signal, code, fault address, thread id, what was
 *      flushed and skipped, return addresses;
 *   5. chain: the previous action is put back and called, or for the
 *      default action re-raised (the signal is blocked until the handler
 *      returns, then kills with its own status and core dump).
 */
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log/log_ring.h"

#define G sonde__log_g

#define CRASH_LINE_MAX (64u * 1024u)
#define CRASH_RINGS_MAX 1024u
#define CRASH_FRAMES 48
#define ALTSTACK_SIZE (64u * 1024u)

static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static const char *const crash_names[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
#define NCRASH (sizeof(crash_sigs) / sizeof(crash_sigs[0]))

static struct sigaction prev_act[NCRASH]; /* install_mu to write; the handler reads */
static pthread_mutex_t install_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int claim;      /* 0 idle, 1 a thread flushes, 2 done */
static _Atomic long claim_tid; /* the flushing thread */
static char line_area[2][CRASH_LINE_MAX];
static sonde__log_cursor ccur[CRASH_RINGS_MAX];

/* Per ring: the whole scoped block its next REC_F_SCOPE_SAME records name
 * (log-int.h): the backend's copy at first, then the last whole block
 * met in the ring (the ring's bytes stay put during the flush). */
typedef struct crash_scope {
	const uint64_t *slots; /* count slot; NULL: none */
	const char *strs;
	uint64_t gen;
} crash_scope;
static crash_scope cscope[CRASH_RINGS_MAX];

/* The thread's own alternate stack (mmap'd here), NULL when it has none of
 * ours. */
static SONDE_TLS void *thread_altstack;

/* ---- fork: install_mu is held only around sigaction calls ------------------------------ */
static void fork_prepare(void)
{
	pthread_mutex_lock(&install_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&install_mu);
}

static const sonde__fork_hooks install_fork = {SONDE_FORK_RANK_LEAF, fork_prepare, fork_release,
                                               fork_release};

/* ---- alternate stacks ------------------------------------------------------------------- */

void sonde__log_crash_thread_attach(void)
{
	stack_t cur, ss;
	void *p;

	if (thread_altstack || sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
		return; /* ours already, or the host's (Go and Rust set their own) */
	p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	ss.ss_sp = p;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(p, ALTSTACK_SIZE);
		return;
	}
	thread_altstack = p;
}

void sonde__log_crash_thread_detach(void)
{
	stack_t ss, cur;

	if (!thread_altstack)
		return;
	/* only when the installed stack is still ours */
	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == thread_altstack) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_flags = SS_DISABLE;
		if (sigaltstack(&ss, NULL) != 0)
			return; /* on it right now: keep it */
	}
	munmap(thread_altstack, ALTSTACK_SIZE);
	thread_altstack = NULL;
}

int sonde_log_crash_thread_init(void)
{
	stack_t cur;

	sonde__log_crash_thread_attach();
	if (sigaltstack(NULL, &cur) != 0 || (cur.ss_flags & SS_DISABLE))
		return sonde__fail(SONDE_ENOMEM,
		                   "log_crash_thread_init: no alternate signal stack (mmap or "
		                   "sigaltstack failed)");
	return SONDE_OK;
}

/* ---- small signal-safe writers (into static buffers: the allocator is
 * off, so a full buffer stops growing instead of calling it) ---------------------------------- */

static void put_u64(sonde_buf *o, uint64_t v)
{
	char t[24];
	sonde__buf_put(o, t, sonde__fmt_u64(t, v));
}

static void put_hex64(sonde_buf *o, uint64_t v)
{
	static const char dig[] = "0123456789abcdef";
	char t[18];
	int i, n = 0;

	t[n++] = '0';
	t[n++] = 'x';
	for (i = 60; i > 0 && !(v >> i); i -= 4)
		;
	for (; i >= 0; i -= 4)
		t[n++] = dig[(v >> i) & 15];
	sonde__buf_put(o, t, (size_t)n);
}

static sonde_buf static_buf(char *area, size_t cap)
{
	sonde_buf b;

	b.data = area;
	b.len = 0;
	b.cap = cap;
	b.oom = 0;
	return b;
}

/* ---- steps --------------------------------------------------------------------------------- */

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Step 2: the backend stops at its next batch; a batch under way ends
 * first (bounded). seq_cst: pairs with crash_gate_enter() in
 * log_backend.c. */
static void pause_backend(void)
{
	int waited = 0;

	sonde__store_seq_cst(&G.crashing, 1);
	/* the backend itself crashed: it is in no batch any more */
	if (sonde__load_relaxed(&G.backend_tid) == (long)syscall(SYS_gettid))
		return;
	while (sonde__load_seq_cst(&G.in_batch) && waited < 500) {
		nap_ms(1);
		waited++;
	}
}

typedef struct tally {
	uint64_t flushed, skipped, callbacks;
} tally;

/* One record to its logger's fd and file sinks. */
static void flush_record(const rec_hdr *h, long tid, tally *t, crash_scope *cs)
{
	sonde_logger *l = h->logger;
	sonde_buf line[2];
	const sonde_log_sink *have[2] = {NULL, NULL};
	bool wrote = false, lost = false;
	int next = 0;
	sonde__log_rec rec;
	size_t i;

	if (!l)
		return;
	sonde__log_rec_view(&rec, h);
	if (h->flags & REC_F_SCOPE_SAME) {
		if (cs && cs->slots && cs->gen == rec.scope_gen) {
			rec.scope = cs->slots;
			rec.scope_strs = cs->strs;
		} else {
			rec.scope_lost = true;
		}
	} else if (cs && rec.scope && !(h->flags & REC_F_REPLAY)) {
		cs->slots = rec.scope;
		cs->strs = rec.scope_strs;
		cs->gen = rec.scope_gen;
	}
	rec.ns = sonde__log_ticks_to_ns_crash(h->ts);
	rec.tid = tid;
	for (i = 0; i < 2; i++)
		line[i] = static_buf(line_area[i], CRASH_LINE_MAX);
	for (i = 0; i < l->nsinks && i < SONDE__LOG_MAX_SINKS; i++) {
		sonde_log_sink *s = l->sinks[i];
		int f;

		if ((int)h->level < sonde__load_relaxed(&s->level))
			continue;
		if (s->kind == SINK_CALLBACK) {
			t->callbacks++;
			continue;
		}
		if (s->fd < 0)
			continue;
		/* two line areas: the last two profiles formatted (a third
		 * profile formats again, into the older area) */
		if (have[0] && sonde__log_same_profile(have[0], s)) {
			f = 0;
		} else if (have[1] && sonde__log_same_profile(have[1], s)) {
			f = 1;
		} else {
			f = next;
			next ^= 1;
			line[f] = static_buf(line_area[f], CRASH_LINE_MAX);
			sonde__log_format_crash(&line[f], s, &rec);
			have[f] = s;
		}
		if (line[f].oom) {
			lost = true;
			continue;
		}
		if (sonde__log_write_all(s->fd, line[f].data, line[f].len) == 0)
			wrote = true;
	}
	if (lost)
		t->skipped++;
	if (wrote) {
		t->flushed++;
		if (sonde__log_rec_counted(h))
			sonde__fetch_add_relaxed(&G.written[h->level], 1);
	}
}

/* Step 3a: the flight recorder's kept records, each marked replayed. */
static void flush_kept(rec_hdr *h, void *arg)
{
	h->flags |= REC_F_REPLAY;
	flush_record(h, 0, arg, NULL);
}

/* Step 3: every ring, merged by timestamp, from its read position to its
 * published end; the bytes are given back afterwards. */
static void flush_rings(tally *t)
{
	sonde__log_ring *r;
	size_t n = 0, i;

	/* the backend's copies are whole unless it is still in a batch
	 * (pause_backend gave up waiting) */
	bool copies = !sonde__load_seq_cst(&G.in_batch);

	for (r = G.rings; r && n < CRASH_RINGS_MAX; r = r->next) {
		ccur[n].r = r;
		ccur[n].pos = sonde__ring_rpos_spsc(r);
		ccur[n].end = sonde__ring_published_spsc(r);
		cscope[n].slots = copies && r->scope_save_gen ? r->scope_save : NULL;
		cscope[n].strs = cscope[n].slots
		                         ? (const char *)(r->scope_save + 1 + 2 * r->scope_save[0])
		                         : NULL;
		cscope[n].gen = r->scope_save_gen;
		n++;
	}
	for (;;) {
		sonde__log_cursor *best;
		const rec_hdr *bh = sonde__log_cursors_oldest(ccur, n, &best);

		if (!bh)
			break;
		if (bh->size < sizeof(rec_hdr) || bh->size > best->r->cap) {
			best->pos = best->end; /* torn or garbage: leave this ring */
			t->skipped++;
			continue;
		}
		flush_record(bh, best->r->tid, t, &cscope[best - ccur]);
		best->pos += bh->size;
	}
	/* consumer's release without the wake-up (it takes a lock): a
	 * producer blocked for room is woken by the backend's next batch */
	for (i = 0; i < n; i++) {
		sonde__store_seq_cst(&ccur[i].r->rpos, ccur[i].pos);
		/* the backend's copy missed the blocks flushed here */
		sonde__fetch_add_relaxed(&ccur[i].r->scope_resync, 1);
	}
}

/* Step 4: the crash record, as a JSON line and a logfmt line. */
static void crash_record(int idx, const siginfo_t *si, const tally *t, int fmt, sonde_buf *o)
{
	sonde_logger *l = sonde_log_default_logger();
	void *frames[CRASH_FRAMES];
	int nf = backtrace(frames, CRASH_FRAMES), i;
	char ts[SONDE_RFC3339_MAX];
	size_t tn = sonde__fmt_rfc3339(ts, sonde_now_unix_ns(), 6);
	bool json = fmt == 0, addr = crash_sigs[idx] != SIGABRT;

	sonde__buf_puts(o, json ? "{\"@timestamp\":\"" : "ts=");
	sonde__buf_put(o, ts, tn);
	sonde__buf_puts(o, json ? "\",\"level\":\"fatal\",\"message\":\"crash\""
	                        : " level=fatal msg=crash");
	if (l) {
		sonde__buf_puts(o, json ? ",\"service\":" : " service=");
		sonde__json_put_string(o, l->service, l->service_len);
	}
	sonde__buf_puts(o, json ? ",\"signal\":\"" : " signal=");
	sonde__buf_puts(o, crash_names[idx]);
	sonde__buf_puts(o, json ? "\",\"signo\":" : " signo=");
	put_u64(o, (uint64_t)crash_sigs[idx]);
	sonde__buf_puts(o, json ? ",\"code\":" : " code=");
	if (si && si->si_code < 0) {
		sonde__buf_puts(o, "-");
		put_u64(o, (uint64_t) - (int64_t)si->si_code);
	} else {
		put_u64(o, si ? (uint64_t)si->si_code : 0);
	}
	if (addr && si) {
		sonde__buf_puts(o, json ? ",\"fault_address\":\"" : " fault_address=");
		put_hex64(o, (uint64_t)(uintptr_t)si->si_addr);
		if (json)
			sonde__buf_puts(o, "\"");
	}
	sonde__buf_puts(o, json ? ",\"thread_id\":" : " thread_id=");
	put_u64(o, (uint64_t)syscall(SYS_gettid));
	sonde__buf_puts(o, json ? ",\"records_flushed\":" : " records_flushed=");
	put_u64(o, t->flushed);
	sonde__buf_puts(o, json ? ",\"records_skipped\":" : " records_skipped=");
	put_u64(o, t->skipped);
	sonde__buf_puts(o, json ? ",\"callback_records_skipped\":" : " callback_records_skipped=");
	put_u64(o, t->callbacks);
	sonde__buf_puts(o, json ? ",\"backtrace\":[" : " backtrace=\"");
	for (i = 0; i < nf; i++) {
		if (i)
			sonde__buf_puts(o, json ? "," : " ");
		if (json)
			sonde__buf_puts(o, "\"");
		put_hex64(o, (uint64_t)(uintptr_t)frames[i]);
		if (json)
			sonde__buf_puts(o, "\"");
	}
	sonde__buf_puts(o, json ? "]}\n" : "\"\n");
}

static void write_crash_record(int idx, const siginfo_t *si, const tally *t)
{
	static char rec_area[2][4096];
	sonde_buf o[2];
	sonde_logger *l = sonde_log_default_logger();
	size_t i, wrote = 0;

	o[0] = static_buf(rec_area[0], sizeof(rec_area[0]));
	o[1] = static_buf(rec_area[1], sizeof(rec_area[1]));
	crash_record(idx, si, t, 0, &o[0]);
	crash_record(idx, si, t, 1, &o[1]);
	for (i = 0; l && i < l->nsinks && i < SONDE__LOG_MAX_SINKS; i++) {
		sonde_log_sink *s = l->sinks[i];
		/* the crash record keeps its own shape: JSON for the JSON
		 * profiles (json, ecs, otel), logfmt for logfmt and console */
		int f = s->format == SONDE_LOG_FORMAT_LOGFMT ||
		                        s->format == SONDE_LOG_FORMAT_CONSOLE
		                ? 1
		                : 0;

		if (s->kind == SINK_CALLBACK || s->fd < 0)
			continue;
		if (sonde__log_write_all(s->fd, o[f].data, o[f].len) == 0)
			wrote++;
	}
	if (!wrote)
		(void)sonde__log_write_all(2, o[0].data, o[0].len);
}

/* Step 5: the previous action runs; the default one by re-raising. */
static void chain(int idx, int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *p = &prev_act[idx];
	struct sigaction dfl;

	sigaction(sig, p, NULL);
	if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction) {
		p->sa_sigaction(sig, si, uc);
		return;
	}
	if (!(p->sa_flags & SA_SIGINFO) && p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
		p->sa_handler(sig);
		return;
	}
	/* default (an ignored crash signal gets the default too: returning
	 * would run the faulting instruction again, forever) */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig); /* pending until we return: then it kills */
}

static int sig_index(int sig)
{
	size_t i;

	for (i = 0; i < NCRASH; i++)
		if (crash_sigs[i] == sig)
			return (int)i;
	return 0;
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	int saved = errno, idx = sig_index(sig), expect = 0, waited = 0;
	long tid = (long)syscall(SYS_gettid);

	if (sonde__cas_strong_seq_cst(&claim, &expect, 1)) {
		tally t = {0, 0, 0};

		sonde__store_relaxed(&claim_tid, tid);
		sonde__alloc_refused = 1;
		pause_backend();
		sonde__log_clock_crash_prepare();
		(void)sonde__log_flight_each(flush_kept, &t);
		flush_rings(&t);
		write_crash_record(idx, si, &t);
		sonde__alloc_refused = 0;
		sonde__store_seq_cst(&G.crashing, 0);
		sonde__store_seq_cst(&claim, 2);
	} else if (sonde__load_relaxed(&claim_tid) != tid) {
		/* another thread flushes: let it finish, then die our way */
		while (sonde__load_seq_cst(&claim) == 1 && waited < 2000) {
			nap_ms(1);
			waited++;
		}
	}
	chain(idx, sig, si, uc);
	/* a handler down the chain returned: the process lives on, and a
	 * later crash flushes again */
	sonde__store_seq_cst(&claim, 0);
	errno = saved;
}

/* ---- install ----------------------------------------------------------------------------- */

int sonde_log_crash_flush_enable(void)
{
	struct sigaction sa;
	void *warm[2];
	size_t i;

	sonde__fork_register(&install_fork);
	/* backtrace()'s first call loads libgcc (malloc, dlopen): do it here,
	 * not in the handler */
	(void)backtrace(warm, 2);
	pthread_mutex_lock(&install_mu);
	if (sonde__load_relaxed(&G.crash_on)) {
		pthread_mutex_unlock(&install_mu);
		sonde__log_crash_thread_attach();
		return SONDE_OK;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NCRASH; i++)
		sigaddset(&sa.sa_mask, crash_sigs[i]);
	for (i = 0; i < NCRASH; i++) {
		if (sigaction(crash_sigs[i], &sa, &prev_act[i]) != 0) {
			int e = errno;
			const char *name = crash_names[i];
			while (i-- > 0)
				sigaction(crash_sigs[i], &prev_act[i], NULL);
			pthread_mutex_unlock(&install_mu);
			return sonde__fail(SONDE_EIO, "log_crash_flush_enable: sigaction(%s): %s",
			                   name, strerror(e));
		}
	}
	sonde__store_relaxed(&G.crash_on, 1);
	pthread_mutex_unlock(&install_mu);
	sonde__log_crash_thread_attach();
	return SONDE_OK;
}

int sonde_log_crash_flush_disable(void)
{
	struct sigaction cur;
	size_t i;

	pthread_mutex_lock(&install_mu);
	if (!sonde__load_relaxed(&G.crash_on)) {
		pthread_mutex_unlock(&install_mu);
		return SONDE_OK;
	}
	for (i = 0; i < NCRASH; i++) {
		/* only where ours is still the installed one: a handler
		 * installed after ours stays (and keeps chaining to us) */
		if (sigaction(crash_sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == on_crash)
			sigaction(crash_sigs[i], &prev_act[i], NULL);
	}
	sonde__store_relaxed(&G.crash_on, 0);
	pthread_mutex_unlock(&install_mu);
	return SONDE_OK;
}

bool sonde_log_crash_flush_enabled(void)
{
	return sonde__load_relaxed(&G.crash_on) != 0;
}
