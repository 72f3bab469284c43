/* tests/fuzz/fuzz_names.c - metric and label name validation accepts
 * exactly the names the text format allows. */
#include "fuzz.h"
#include "sonde.h"

static int metric_ok(const char *s, size_t n)
{
	size_t i;
	if (n == 0 || n > SONDE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int alpha =
		        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!(alpha || (i && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static int label_ok(const char *s, size_t n)
{
	size_t i;
	if (n == 0 || n > SONDE_NAME_MAX || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!(alpha || (i && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

FUZZ_TARGET(names)
{
	char *s = malloc(size + 1);
	sonde_registry *r = sonde_registry_new();
	const char *labels[1];
	size_t n;
	int want;

	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);
	want = metric_ok(s, n);
	FUZZ_CHECK((sonde_gauge_new(r, s, "h") != NULL) == want, "metric name \"%s\" want %d", s,
	           want);
	/* a fresh registry: the metric name above may be "hist_x" itself */
	sonde_registry_free(r);
	r = sonde_registry_new();
	labels[0] = s;
	want = label_ok(s, n) && strcmp(s, "le") != 0;
	FUZZ_CHECK((sonde_histogram_family_new(r, "hist_x", "h", NULL, 0, 1, labels) != NULL) ==
	                   want,
	           "label name \"%s\" want %d", s, want);
	sonde_registry_free(r);
	free(s);
	return 0;
}
