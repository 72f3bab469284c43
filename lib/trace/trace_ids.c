/* lib/trace/trace_ids.c - trace and span ids: a per-thread xoshiro256++
 * generator seeded from the kernel.
 *
 * Why per-thread: no shared state, so two threads never contend and never
 * need an atomic. Why xoshiro256++: 256 bits of state (a trace id is 128
 * bits; a 64-bit-state generator would repeat pairs after 2^64 outputs and
 * its streams would overlap more), a few cycles per output, and it passes
 * BigCrush. It is not a CSPRNG, and ids need not be: the spec asks for
 * uniqueness and randomness, not secrecy.
 *
 * Fork: a child would continue its parent's stream and repeat its ids, so
 * a pthread_atfork child handler marks the forking thread's state unseeded
 * (the only thread the child has). */
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#include "core/atomic.h"
#include "trace/trace_int.h"

typedef struct rng {
	uint64_t s[4];
	bool seeded;
} rng;

static SONDE_TLS rng tls_rng;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t fallback_counter;

static void atfork_child(void)
{
	tls_rng.seeded = false;
}

static void register_atfork(void)
{
	/* A failure (ENOMEM) leaves forked children with the parent's stream;
	 * nothing better can be done without a lock on the hot path. */
	(void)pthread_atfork(NULL, NULL, atfork_child);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a weak fallback seed over the whole state. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void seed(rng *r)
{
	uint8_t buf[sizeof(r->s)];
	size_t got = 0;
	int saved_errno = errno; /* sonde never clobbers errno */

	pthread_once(&atfork_once, register_atfork);
	while (got < sizeof(buf)) {
		ssize_t n = getrandom(buf + got, sizeof(buf) - got, GRND_NONBLOCK);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (got == sizeof(buf)) {
		memcpy(r->s, buf, sizeof(buf));
	} else {
		/* No kernel entropy (very early boot, seccomp): clock, this
		 * thread's TLS address and a process-wide counter, spread by
		 * splitmix64, still give distinct streams per thread. */
		struct timespec ts;
		uint64_t x;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		x ^= (uint64_t)(uintptr_t)r;
		x ^= sonde__fetch_add_relaxed(&fallback_counter, 1) * 0xd1b54a32d192ed03ull;
		for (int i = 0; i < 4; i++)
			r->s[i] = splitmix64(&x);
	}
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) /* the one bad state */
		r->s[0] = 1;
	r->seeded = true;
	/* pthread_once (the atfork registration may allocate), getrandom and
	 * the fallback's clock_gettime are all behind us */
	errno = saved_errno;
}

static inline uint64_t next(void)
{
	rng *r = &tls_rng;
	uint64_t *s, out, t;

	if (SONDE_UNLIKELY(!r->seeded))
		seed(r);
	s = r->s;
	out = rotl(s[0] + s[3], 23) + s[0];
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

void sonde_trace_id_generate(uint8_t out[16])
{
	uint64_t a, b;

	if (!out)
		return;
	do { /* all zero is invalid; 2^-128, but the spec says never */
		a = next();
		b = next();
	} while (SONDE_UNLIKELY((a | b) == 0));
	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

void sonde_span_id_generate(uint8_t out[8])
{
	uint64_t a;

	if (!out)
		return;
	do
		a = next();
	while (SONDE_UNLIKELY(a == 0));
	memcpy(out, &a, 8);
}
