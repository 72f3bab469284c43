/* lib/metrics/labels.c - a child's label values: validation and the hash
 * that the child table is keyed by. Calls core only. */
#include "metrics/metrics-int.h"

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

#define HASH_SEED 0x6a09e667f3bcc908ull

/* One label value into the hash: its bytes eight at a time (the last word
 * zero-padded, little-endian), then its length, so ("ab","c") and
 * ("a","bc") hash apart. */
static inline uint64_t hash_value(uint64_t h, const char *p, size_t n)
{
	size_t j, k;
	uint64_t w;

	for (j = 0; j + 8 <= n; j += 8)
		h = mix(h, sonde__load_le64(p + j));
	if (j < n) {
		/* byte by byte: a variable-length memcpy would be a libc call */
		w = 0;
		for (k = 0; j + k < n; k++)
			w |= (uint64_t)(unsigned char)p[j + k] << (8 * k);
		h = mix(h, w);
	}
	return mix(h, n);
}

/* hash_value() of a NUL-terminated value, measuring it on the way: one
 * pass instead of strnlen and then the hash. Stops once past
 * SONDE_LABEL_VALUE_MAX bytes (*len then says too long). */
static inline uint64_t hash_cstr(uint64_t h, const char *p, size_t *len)
{
	size_t j = 0;
	unsigned k;
	uint64_t w;

	for (;;) {
		w = 0;
		for (k = 0; k < 8; k++) {
			unsigned char ch = (unsigned char)p[j + k];
			if (!ch)
				break;
			w |= (uint64_t)ch << (8 * k);
		}
		j += k;
		if (k)
			h = mix(h, w);
		if (k < 8 || j > SONDE_LABEL_VALUE_MAX)
			break;
	}
	*len = j;
	return mix(h, j);
}

/* A murmur3 finalizer, so the low bits that pick the slot are well mixed. */
static inline uint64_t hash_end(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint64_t sonde__labels_hash(size_t count, const char *const *values, const size_t *lens)
{
	uint64_t h = HASH_SEED;
	size_t i;

	for (i = 0; i < count; i++)
		h = hash_value(h, values[i], lens[i]);
	return hash_end(h);
}

/* Checks the label values and hashes them (*h); lens gets their lengths. */
int sonde__labels_check(const sonde_family *f, size_t count, const char *const *values,
                        const size_t *lens_in, size_t *lens, uint64_t *h)
{
	uint64_t hh = HASH_SEED;
	size_t i;

	if (count != f->nlabels)
		return sonde__fail(SONDE_EINVAL,
		                   "%s: %zu label values given, the family has %zu labels", f->name,
		                   count, f->nlabels);
	if (count && !values)
		return sonde__fail(SONDE_EINVAL, "%s: label values array is NULL", f->name);
	for (i = 0; i < count; i++) {
		if (!values[i])
			return sonde__fail(SONDE_EINVAL, "%s: value of label \"%s\" is NULL",
			                   f->name, f->label_names[i]);
		if (lens_in) {
			lens[i] = lens_in[i];
			if (lens[i] <= SONDE_LABEL_VALUE_MAX)
				hh = hash_value(hh, values[i], lens[i]);
		} else {
			hh = hash_cstr(hh, values[i], &lens[i]);
		}
		if (lens[i] > SONDE_LABEL_VALUE_MAX)
			return sonde__fail(SONDE_EINVAL,
			                   "%s: value of label \"%s\" is longer than %d bytes",
			                   f->name, f->label_names[i], SONDE_LABEL_VALUE_MAX);
	}
	*h = hash_end(hh);
	return SONDE_OK;
}
