/*
 * examples/service/json.h - a minimal JSON reader (RFC 8259) for the
 * demo's POST /test body: a cursor that validates as it goes, decodes
 * strings into caller buffers, and hands out the raw text of a skipped
 * value. No allocation; nesting is bounded. Not part of libsonde.
 */
#ifndef DEMO_JSON_H
#define DEMO_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 64

typedef struct json_reader {
	const char *p;
	const char *end;
	const char *err; /* static message after the first failure */
} json_reader;

void json_reader_init(json_reader *r, const char *s, size_t len);

/* Skips whitespace and consumes c when it comes next. */
bool json_accept(json_reader *r, char c);
/* The same, but a different character (or the end) is an error. */
bool json_expect(json_reader *r, char c);

/* Reads a string into out (UTF-8, NUL-terminated; escapes decoded,
 * surrogate pairs joined, invalid UTF-8 and raw control characters
 * rejected). *len (may be NULL) gets its length. false, with r->err set,
 * on a syntax error or when it does not fit in cap - 1 bytes. */
bool json_read_string(json_reader *r, char *out, size_t cap, size_t *len);

/* Validates and skips one value of any type; *start and *end (may be
 * NULL) get its raw text, without surrounding whitespace. */
bool json_skip_value(json_reader *r, const char **start, const char **end);

/* True when only whitespace is left. */
bool json_at_end(json_reader *r);

#endif /* DEMO_JSON_H */
