/* tests/fuzz/fuzz_negotiate.c - Accept and Accept-Encoding parsing on
 * arbitrary bytes: never crashes or over-reads; the answer is one of the
 * formats with its matching Content-Type. */
#include "fuzz.h"
#include "sonde.h"

FUZZ_TARGET(negotiate)
{
	sonde_format f = (sonde_format)99;
	const char *ct = NULL;

	FUZZ_CHECK(sonde_expose_negotiate((const char *)data, size, &f, &ct) == SONDE_OK, "rc");
	FUZZ_CHECK(f == SONDE_FORMAT_TEXT || f == SONDE_FORMAT_OPENMETRICS, "format %d", (int)f);
	FUZZ_CHECK(ct && (f == SONDE_FORMAT_TEXT
	                          ? !strncmp(ct, "text/plain; version=0.0.4", 25)
	                          : !strncmp(ct, "application/openmetrics-text", 28)),
	           "content type %s for format %d", ct, (int)f);
	(void)sonde_accepts_gzip((const char *)data, size);
	return 0;
}
