/*
 * tests/export/test_otlp_response.c - the partial success of an OTLP export
 * response (lib/export/otlp_response.c). The well-formed answers are made by
 * the OpenTelemetry project's own definitions (tests/otlp/otlp_response.js,
 * the protobufjs root of @opentelemetry/otlp-transformer), in protobuf and
 * OTLP/JSON; the malformed ones are cut or altered by hand.
 */
#include "export/otlp.h"
#include "test.h"

#define MAKER SONDE_SRC_DIR "/tests/otlp/otlp_response.js"

void otlp_test_require_node(void); /* test_otlp_encode.c */

/* The collector's answer, as bytes in out (pb) or text (json). */
static size_t made(const char *kind, const char *n, const char *msg, bool json, uint8_t *out,
                   size_t cap)
{
	const char *argv[] = {"node", MAKER, kind, n, msg, json ? "json" : "pbhex", NULL};
	char *text = NULL;
	size_t len, i;

	otlp_test_require_node();
	if (sonde_test_run(argv, NULL, &text) != 0)
		FAIL("otlp_response.js failed: %s", text ? text : "");
	len = strlen(text);
	if (json) {
		ASSERT_TRUE(len < cap);
		memcpy(out, text, len);
	} else {
		ASSERT_TRUE(len % 2 == 0 && len / 2 <= cap);
		for (i = 0; i < len / 2; i++) {
			unsigned v;
			ASSERT_EQ_INT(sscanf(text + 2 * i, "%2x", &v), 1);
			out[i] = (uint8_t)v;
		}
		len /= 2;
	}
	free(text);
	return len;
}

TEST(otlp_partial_success_from_the_projects_definitions)
{
	static const char *const kinds[] = {"traces", "logs"};
	uint8_t body[512];
	char msg[64];
	int64_t r;

	for (int k = 0; k < 2; k++) {
		for (int json = 0; json < 2; json++) {
			size_t n = made(kinds[k], "3", "too many \xc3\xa9\tattributes", json, body,
			                sizeof(body));
			ASSERT_OK(sonde__otlp_partial_success(body, n, json, &r, msg, sizeof(msg)));
			ASSERT_EQ_INT(r, 3);
			/* the tab is a control character */
			ASSERT_STREQ(msg, "too many \xc3\xa9?attributes");
			/* no message buffer: the count alone */
			ASSERT_OK(sonde__otlp_partial_success(body, n, json, &r, NULL, 0));
			ASSERT_EQ_INT(r, 3);
			/* a message buffer of 11 bytes: cut before the two-byte é */
			ASSERT_OK(sonde__otlp_partial_success(body, n, json, &r, msg, 11));
			ASSERT_STREQ(msg, "too many ");
		}
	}
	/* the largest count both encodings carry */
	{
		size_t n = made("traces", "9223372036854775807", "", false, body, sizeof(body));
		ASSERT_OK(sonde__otlp_partial_success(body, n, false, &r, msg, sizeof(msg)));
		ASSERT_EQ_INT(r, INT64_MAX);
		ASSERT_STREQ(msg, "");
		n = made("logs", "9223372036854775807", "", true, body, sizeof(body));
		ASSERT_OK(sonde__otlp_partial_success(body, n, true, &r, msg, sizeof(msg)));
		ASSERT_EQ_INT(r, INT64_MAX);
	}
}

TEST(otlp_partial_success_absent_or_unknown_fields)
{
	/* field 7 (varint), field 3 (fixed64), field 4 (fixed32), field 9
	 * (bytes) around a partial_success that also has an unknown field 5 */
	static const uint8_t pb[] = {0x38, 0x96, 0x01, 0x19, 1,    2,    3,    4,    5,    6,
	                             7,    8,    0x25, 1,    2,    3,    4,    0x4a, 0x02, 'h',
	                             'i',  0x0a, 0x06, 0x28, 0x01, 0x08, 0x02, 0x12, 0x00};
	static const char *const json[] = {
	        "{}", " { \"other\" : [1, {\"a\": null}, \"x\\u00e9\"], \"partialSuccess\": {} } ",
	        "{\"partial_success\":{\"rejected_spans\":5,\"error_message\":\"a\\\"b\"}}",
	        "{\"partialSuccess\":{\"rejectedLogRecords\":\"7\",\"extra\":true}}",
	        "{\"partialSuccess\":{\"rejectedSpans\":null}}"};
	static const int64_t want[] = {0, 0, 5, 7, 0};
	char msg[32];
	int64_t r = -1;

	ASSERT_OK(sonde__otlp_partial_success(NULL, 0, false, &r, msg, sizeof(msg)));
	ASSERT_EQ_INT(r, 0);
	ASSERT_OK(sonde__otlp_partial_success("", 0, true, &r, msg, sizeof(msg)));
	ASSERT_EQ_INT(r, 0);
	ASSERT_OK(sonde__otlp_partial_success(pb, sizeof(pb), false, &r, msg, sizeof(msg)));
	ASSERT_EQ_INT(r, 2);
	ASSERT_STREQ(msg, "");
	for (size_t i = 0; i < SONDE_ARRAY_LEN(json); i++) {
		ASSERT_OK(sonde__otlp_partial_success(json[i], strlen(json[i]), true, &r, msg,
		                                      sizeof(msg)));
		ASSERT_EQ_INT(r, want[i]);
	}
	ASSERT_STREQ(msg, "");
	ASSERT_OK(
	        sonde__otlp_partial_success(json[2], strlen(json[2]), true, &r, msg, sizeof(msg)));
	ASSERT_STREQ(msg, "a\"b");
	/* a negative count (a broken collector) reads as none */
	{
		static const uint8_t neg[] = {0x0a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff,
		                              0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
		ASSERT_OK(
		        sonde__otlp_partial_success(neg, sizeof(neg), false, &r, msg, sizeof(msg)));
		ASSERT_EQ_INT(r, 0);
	}
}

TEST(otlp_partial_success_malformed_bodies)
{
	static const struct {
		const char *b;
		size_t n;
	} pb[] = {
	        {"\x0a\x80", 2},                                      /* truncated varint */
	        {"\x0a\x05\x08", 3},                                  /* length past the end */
	        {"\x0b", 1},                                          /* a group */
	        {"\x00\x01", 2},                                      /* field 0 */
	        {"\x0a\x02\x08\x80", 4},                              /* inner varint cut */
	        {"\x19\x01\x02", 3},                                  /* fixed64 cut */
	        {"\x0a\x03\x12\x05x", 5},                             /* inner string past */
	        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11}, /* varint past 64 bits */
	        {"\x0f", 1},                                          /* wire type 7 */
	};
	static const char *const json[] = {
	        "{",
	        "[]",
	        "{\"partialSuccess\":{\"rejectedSpans\":\"x\"}}",
	        "{\"partialSuccess\":{\"rejectedSpans\":1.5}}",
	        "{\"partialSuccess\":{\"rejectedSpans\":\"99999999999999999999\"}}",
	        "{\"partialSuccess\":{\"errorMessage\":\"open}}",
	        "{\"a\":1} x",
	        "{\"a\":01}",
	        "{\"a\":\"\\q\"}",
	        "{\"a\":\"\x01\"}",
	        "{\"a\" 1}",
	        "{\"a\":1,}",
	        "{\"a\":tru}",
	        "{\"partialSuccess\":{\"rejectedSpans\":3,}}",
	};
	char deep[300];
	char msg[16];
	int64_t r;
	size_t i;

	for (i = 0; i < SONDE_ARRAY_LEN(pb); i++) {
		r = 9;
		strcpy(msg, "old");
		ASSERT_EQ_INT(
		        sonde__otlp_partial_success(pb[i].b, pb[i].n, false, &r, msg, sizeof(msg)),
		        SONDE_EINVAL);
		ASSERT_EQ_INT(r, 0);
		ASSERT_STREQ(msg, "");
	}
	for (i = 0; i < SONDE_ARRAY_LEN(json); i++) {
		r = 9;
		if (sonde__otlp_partial_success(json[i], strlen(json[i]), true, &r, msg,
		                                sizeof(msg)) != SONDE_EINVAL)
			FAIL("accepted: %s", json[i]);
		ASSERT_EQ_INT(r, 0);
	}
	/* nesting past 64 levels */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "{\"a\":");
	for (i = 0; i < 100; i++)
		strcat(deep, "[");
	for (i = 0; i < 100; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	ASSERT_EQ_INT(sonde__otlp_partial_success(deep, strlen(deep), true, &r, msg, sizeof(msg)),
	              SONDE_EINVAL);
}
