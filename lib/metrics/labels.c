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
 * ("a","bc") hash apart. The last partial word is read with loads that
 * overlap bytes already read (never past p + n), not byte by byte. */
static inline uint64_t hash_value(uint64_t h, const char *p, size_t n)
{
	size_t j, rem;
	uint64_t w;

	for (j = 0; j + 8 <= n; j += 8)
		h = mix(h, sonde__load_le64(p + j));
	rem = n - j;
	if (rem) {
		if (n >= 8) {
			/* the last eight bytes, shifted down past the ones hashed */
			w = sonde__load_le64(p + n - 8) >> (8 * (8 - rem));
		} else if (rem >= 4) {
			/* two four-byte loads; the overlap ORs equal bytes */
			w = (uint64_t)sonde__load_le32(p) | (uint64_t)sonde__load_le32(p + rem - 4)
			                                            << (8 * (rem - 4));
		} else {
			/* 1 to 3 bytes: the first, the middle and the last */
			w = (uint64_t)(unsigned char)p[0] |
			    (uint64_t)(unsigned char)p[rem / 2] << (8 * (rem / 2)) |
			    (uint64_t)(unsigned char)p[rem - 1] << (8 * (rem - 1));
		}
		h = mix(h, w);
	}
	return mix(h, n);
}

/* hash_value() of a NUL-terminated value, measured with libc's strnlen
 * (vectorized) up to one byte past SONDE_LABEL_VALUE_MAX (*len then says
 * too long, and the hash is not used). */
static inline uint64_t hash_cstr(uint64_t h, const char *p, size_t *len)
{
	size_t n = strnlen(p, (size_t)SONDE_LABEL_VALUE_MAX + 1);

	*len = n;
	return n > SONDE_LABEL_VALUE_MAX ? h : hash_value(h, p, n);
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
