/* examples/push.c - sonde-push-example: a batch job that pushes its
 * metrics to a Prometheus Pushgateway when it is done.
 *
 *   sonde-push-example --gateway http://127.0.0.1:9091 --job nightly \
 *       [--label NAME=VALUE]... [--items N] [--add | --delete] [--protobuf]
 *
 * It "processes" N items (default 3), then pushes: PUT (replace the group)
 * by default, POST with --add, DELETE of the group with --delete. Exit 0 on
 * success; 1 with sonde's message on stderr; 2 on a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sonde.h>

#define MAX_LABELS 16

static int usage(const char *why)
{
	fprintf(stderr,
	        "sonde-push-example: %s\n"
	        "usage: sonde-push-example --gateway URL --job NAME [--label NAME=VALUE]...\n"
	        "       [--items N] [--add | --delete] [--protobuf]\n",
	        why);
	return 2;
}

int main(int argc, char **argv)
{
	const char *gateway = NULL, *grouping[2 * MAX_LABELS];
	char *owned[MAX_LABELS];
	sonde_push_opts o;
	sonde_push_method method = SONDE_PUSH_REPLACE;
	long items = 3;
	size_t nlabels = 0;
	int i, rc;

	sonde_push_opts_init(&o);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--add") == 0)
			method = SONDE_PUSH_ADD;
		else if (strcmp(a, "--delete") == 0)
			method = SONDE_PUSH_DELETE;
		else if (strcmp(a, "--protobuf") == 0)
			o.format = SONDE_FORMAT_PROTOBUF;
		else if (!v)
			return usage("an option lacks its value");
		else if (strcmp(a, "--gateway") == 0 && ++i)
			gateway = v;
		else if (strcmp(a, "--job") == 0 && ++i)
			o.job = v;
		else if (strcmp(a, "--items") == 0 && ++i)
			items = strtol(v, NULL, 10);
		else if (strcmp(a, "--label") == 0 && ++i) {
			char *eq;
			if (nlabels == MAX_LABELS)
				return usage("too many --label options");
			owned[nlabels] = strdup(v);
			if (!owned[nlabels] || !(eq = strchr(owned[nlabels], '=')))
				return usage("--label takes NAME=VALUE");
			*eq = '\0';
			grouping[2 * nlabels] = owned[nlabels];
			grouping[2 * nlabels + 1] = eq + 1;
			nlabels++;
		} else
			return usage("unknown option");
	}
	if (!gateway || !o.job)
		return usage("--gateway and --job are required");
	o.grouping = grouping;
	o.ngrouping = nlabels;

	/* the job's work, measured as a batch job does it */
	{
		const double bounds[] = {0.001, 0.01, 0.1, 1};
		sonde_metric_opts ho;
		sonde_counter *done = sonde_counter_new(NULL, "batch_items_processed_total",
		                                        "Items the job processed.");
		sonde_gauge *last = sonde_gauge_new(NULL, "batch_last_success_timestamp_seconds",
		                                    "When the job last succeeded.");
		sonde_histogram *took;

		sonde_metric_opts_init(&ho, SONDE_TYPE_HISTOGRAM, "batch_item_duration_seconds",
		                       "Seconds per item.");
		ho.buckets = bounds;
		ho.bucket_count = 4;
		/* native buckets reach the gateway over protobuf only */
		if (o.format == SONDE_FORMAT_PROTOBUF)
			ho.native = SONDE_NATIVE_AND_CLASSIC;
		took = sonde_histogram_labels(sonde_family_new(NULL, &ho), 0, NULL, NULL);
		for (long k = 0; k < items; k++) {
			sonde_counter_inc(done);
			sonde_histogram_observe(took, 0.002 * (double)(k + 1));
		}
		sonde_gauge_set(last, (double)sonde_now_unix_ns() / 1e9);
	}
	rc = sonde_push(gateway, method, NULL, &o);
	for (size_t k = 0; k < nlabels; k++)
		free(owned[k]);
	if (rc != SONDE_OK) {
		fprintf(stderr, "sonde-push-example: %s\n", sonde_last_error());
		return 1;
	}
	return 0;
}
