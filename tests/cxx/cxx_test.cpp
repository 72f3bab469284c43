// tests/cxx/cxx_test.cpp - the public headers compile as C++17, macros
// included, and work from a C++ program.
#include <sonde.h>

#include <cstdio>
#include <cstring>
#include <string>

METRIC_DEFINE_COUNTER(cxx_requests, "cxx_requests_total", "Requests from C++.");
METRIC_DEFINE_COUNTER_FAMILY(cxx_hits, "cxx_hits_total", "Hits from C++.", "method");
static const double cxx_bounds[] = {0.1, 1.0};
METRIC_DEFINE_HISTOGRAM(cxx_lat, "cxx_latency_seconds", "Latency.", cxx_bounds, 2);

int main()
{
	for (int i = 0; i < 3; i++)
		METRIC_INC(cxx_requests);
	METRIC_INC_LABELS(cxx_hits, "GET");
	METRIC_OBSERVE(cxx_lat, 0.5);
	const char *labels[] = {"code"};
	sonde_family *f = sonde_counter_family_new(nullptr, "cxx_codes_total", "Codes.", 1, labels);
	sonde_counter_inc(sonde_counter_with(f, "200"));
	sonde_buf b = SONDE_BUF_INIT;
	if (sonde_expose(nullptr, SONDE_FORMAT_TEXT, &b) != SONDE_OK)
		return 1;
	std::string out(b.data, b.len);
	sonde_buf_destroy(&b);
	const char *want[] = {"cxx_requests_total 3\n", "cxx_hits_total{method=\"GET\"} 1\n",
	                      "cxx_latency_seconds_count 1\n", "cxx_codes_total{code=\"200\"} 1\n"};
	for (const char *w : want)
		if (out.find(w) == std::string::npos) {
			std::fprintf(stderr, "missing %s in:\n%s", w, out.c_str());
			return 1;
		}
	std::printf("cxx ok\n");
	return 0;
}
