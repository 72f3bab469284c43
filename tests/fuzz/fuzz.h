/*
 * tests/fuzz/fuzz.h - one source per fuzz target, two builds:
 *   - libFuzzer (make fuzz): FUZZ_TARGET is LLVMFuzzerTestOneInput;
 *   - the test suite (make test): FUZZ_TARGET registers a test that
 *     replays every file of tests/fuzz/corpus/<name>/ (the seeds, plus each
 *     input that once found a bug: the regression tests).
 * A failed property aborts with a message (libFuzzer saves the input).
 * Inputs are copied into a buffer of exactly their size, so ASan catches a
 * parser reading one byte past the length it was given.
 */
#ifndef SONDE_FUZZ_H
#define SONDE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c, ...)                                                 \
	do {                                                               \
		if (!(c)) {                                                \
			fprintf(stderr, "fuzz property failed: %s: ", #c); \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

#ifdef SONDE_FUZZ_LIBFUZZER
#define FUZZ_TARGET(name)                                             \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#else
#include "../test.h"
size_t sonde_fuzz_replay(const char *name, int (*fn)(const uint8_t *, size_t));
#define FUZZ_TARGET(name)                                            \
	static int fuzz_##name(const uint8_t *data, size_t size);    \
	TEST_TIMEOUT(fuzz_replay_##name, 120)                        \
	{                                                            \
		if (sonde_fuzz_replay(#name, fuzz_##name) == 0)      \
			FAIL("no corpus for fuzz target %s", #name); \
	}                                                            \
	static int fuzz_##name(const uint8_t *data, size_t size)
#endif

#endif
