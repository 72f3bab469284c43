/* examples/minimal.c - the shortest complete sonde program: define
 * metrics, count, print the Prometheus exposition. */
#include <stdio.h>

#include <sonde.h>

METRIC_DEFINE_COUNTER(jobs, "app_jobs_total", "Jobs processed.");
METRIC_DEFINE_COUNTER_FAMILY(requests, "app_requests_total", "Requests by method and status.",
                             "method", "status");

int main(void)
{
	const double bounds[] = {0.01, 0.1, 1};
	sonde_histogram *latency =
	        sonde_histogram_new(NULL, "app_latency_seconds", "Request latency.", bounds, 3);
	sonde_buf out = SONDE_BUF_INIT;

	if (!latency) {
		fprintf(stderr, "sonde: %s\n", sonde_last_error());
		return 1;
	}
	for (int i = 0; i < 5; i++)
		METRIC_INC(jobs);
	METRIC_INC_LABELS(requests, "GET", "200");
	METRIC_INC_LABELS(requests, "POST", "500");
	sonde_histogram_observe(latency, 0.042);

	if (sonde_expose(NULL, SONDE_FORMAT_TEXT, &out) != SONDE_OK) {
		fprintf(stderr, "sonde: %s\n", sonde_last_error());
		return 1;
	}
	printf("Content-Type: %s\n\n%s", sonde_format_content_type(SONDE_FORMAT_TEXT), out.data);
	sonde_buf_destroy(&out);
	return 0;
}
