/* tests/fuzz/fuzz_otlpresponse.c - the partial success of an OTLP export
 * response (lib/export/otlp_response.c) on arbitrary bytes. The first byte
 * picks the encoding (odd: OTLP/JSON, even: protobuf) and the message
 * buffer's size; the rest is the body. Never crashes or over-reads; the
 * answer is OK or EINVAL, the count never negative, the message
 * NUL-terminated inside its buffer and free of control characters, and a
 * refused body leaves 0 and "". */
#include "export/otlp.h"
#include "fuzz.h"

FUZZ_TARGET(otlpresponse)
{
	char msg[80];
	size_t cap;
	int64_t r = -5;
	bool json;
	int rc;

	if (!size)
		return 0;
	json = data[0] & 1;
	cap = 1 + (data[0] >> 1) % 64; /* 1 .. 64 */
	memset(msg, 'Z', sizeof(msg));
	rc = sonde__otlp_partial_success(data + 1, size - 1, json, &r, msg, cap);
	FUZZ_CHECK(rc == SONDE_OK || rc == SONDE_EINVAL, "rc %d", rc);
	FUZZ_CHECK(r >= 0, "rejected %lld", (long long)r);
	FUZZ_CHECK(memchr(msg, '\0', cap) != NULL, "message not terminated in %zu bytes", cap);
	FUZZ_CHECK(msg[cap] == 'Z', "wrote past the buffer (cap %zu)", cap);
	for (size_t i = 0; msg[i]; i++)
		FUZZ_CHECK((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f, "control byte at %zu",
		           i);
	if (rc != SONDE_OK)
		FUZZ_CHECK(r == 0 && msg[0] == '\0', "refused body left %lld \"%s\"", (long long)r,
		           msg);
	return 0;
}
