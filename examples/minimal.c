/* examples/minimal.c: count, time, print the Prometheus exposition. */
#include <stdio.h>
#include <sonde.h>

METRIC_DEFINE_COUNTER(jobs, "app_jobs_total", "Jobs processed.");
METRIC_DEFINE_COUNTER_FAMILY(requests, "app_requests_total", "Requests.", "method", "status");

int main(void)
{
	const double bounds[] = {0.01, 0.1, 1};
	sonde_histogram *latency =
	        sonde_histogram_new(NULL, "app_latency_seconds", "Latency.", bounds, 3);
	sonde_buf out = SONDE_BUF_INIT;

	METRIC_INC(jobs);                          /* registered on first use */
	METRIC_INC_LABELS(requests, "GET", "200"); /* child cached per call site */
	sonde_histogram_observe(latency, 0.042);   /* a NULL handle is a no-op */

	if (sonde_expose(NULL, SONDE_FORMAT_TEXT, &out) == SONDE_OK)
		fputs(out.data, stdout); /* serve it with sonde_format_content_type() */
	sonde_buf_destroy(&out);
	return 0;
}
