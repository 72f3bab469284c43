/*
 * examples/log_and_trace.c - one request flow across two threads: spans,
 * JSON log lines that carry the trace, and exemplars that point at it.
 *
 *   log_and_trace [TRACEPARENT]
 *
 * The main thread plays a server: it extracts the incoming traceparent (or
 * starts a trace), opens a server span and hands each request to a second
 * thread, which attaches the request's context (sonde_context_attach) so
 * that its own spans, log lines and exemplars belong to the same trace.
 * A span-end hook logs every finished span.
 *
 * stdout: JSON log lines only. stderr: the OpenMetrics exposition at the
 * end, where the exemplars show the trace ids of the log lines.
 */
/* POSIX.1-2008 (nanosleep, sigtimedwait, pthread_sigmask...): the program
 * builds with plain `cc -std=c11`, which hides them otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sonde.h>
#include <sonde/log.h>

static sonde_logger *log_root;
static sonde_histogram *query_seconds;
static sonde_counter *rows_read;

/* One request handed from the main thread to the worker. */
typedef struct job {
	sonde_span_context ctx; /* the server span's context, copied */
	int request;
	int queries;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* 0 empty, 1 posted, 2 done, 3 quit */
} job;

/* Runs on the thread that ends the span, after its context was restored:
 * the span's own ids are logged explicitly. */
static void on_span_end(const sonde_span *span, void *arg)
{
	const sonde_span_context *c = sonde_span_get_context(span);
	char trace[33], id[17], parent[17];

	(void)arg;
	sonde_id_to_hex(c->trace_id, 16, trace);
	sonde_id_to_hex(c->span_id, 8, id);
	sonde_id_to_hex(span->parent_span_id, 8, parent);
	LOG_INFO(log_root, "span ended", LOG_STRN("span", span->name, span->name_len),
	         LOG_STR("span_trace_id", trace), LOG_STR("span_span_id", id),
	         LOG_STR("parent_span_id", parent),
	         LOG_DOUBLE("duration_ms", (double)span->duration_ns / 1e6),
	         LOG_BOOL("sampled", sonde_span_is_sampled(span)));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	job *j = arg;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		sonde_context_scope scope;

		while (j->state != 1 && j->state != 3)
			pthread_cond_wait(&j->cv, &j->mu);
		if (j->state == 3)
			break;
		pthread_mutex_unlock(&j->mu);

		/* the request's context becomes this thread's current one */
		sonde_context_attach(&scope, &j->ctx);
		LOG_INFO(log_root, "worker picked up the request", LOG_INT("request", j->request),
		         LOG_STR("thread", "worker"));
		for (int q = 0; q < j->queries; q++) {
			sonde_span span;
			int64_t t0 = sonde_now_mono_ns();
			int rows = 10 * (q + 1);

			sonde_span_start(&span, "db query"); /* child of the server span */
			sonde_span_set_int(&span, "db.rows", rows);
			sleep_ms(2 + q);
			/* exemplars: the current context is the "db query" span */
			sonde_histogram_observe_exemplar(
			        query_seconds, (double)(sonde_now_mono_ns() - t0) / 1e9, NULL);
			sonde_counter_add_exemplar(rows_read, rows, NULL);
			LOG_INFO(log_root, "query done", LOG_INT("request", j->request),
			         LOG_INT("query", q), LOG_INT("rows", rows),
			         LOG_STR("thread", "worker"));
			sonde_span_end(&span);
		}
		if (sonde_context_detach(&scope) != SONDE_OK)
			LOG_ERROR(log_root, "context detach out of order");

		pthread_mutex_lock(&j->mu);
		j->state = 2;
		pthread_cond_broadcast(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

int main(int argc, char **argv)
{
	const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025};
	sonde_header incoming[1];
	sonde_trace_carrier *carrier = sonde_trace_carrier_new();
	sonde_buf om = SONDE_BUF_INIT;
	sonde_log_opts o;
	pthread_t thr;
	job j;

	sonde_log_opts_init(&o, "log-and-trace");
	log_root = sonde_logger_new(&o); /* JSON lines on stdout */
	query_seconds = sonde_histogram_new(NULL, "example_query_duration_seconds",
	                                    "Database query time.", bounds, 5);
	rows_read = sonde_counter_new(NULL, "example_rows_read_total", "Rows read.");
	if (!log_root || !query_seconds || !rows_read || !carrier ||
	    sonde_trace_enable_span_metrics(NULL, NULL) != SONDE_OK) {
		fprintf(stderr, "log_and_trace: %s\n", sonde_last_error());
		return 1;
	}
	sonde_trace_set_span_end_hook(on_span_end, NULL);

	memset(&j, 0, sizeof(j));
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	if (pthread_create(&thr, NULL, worker, &j) != 0) {
		fprintf(stderr, "log_and_trace: cannot start the worker thread\n");
		return 1;
	}

	for (int req = 0; req < 2; req++) {
		sonde_span server;

		/* request 0 brings the traceparent from the command line (if
		 * any); request 1 brings none and starts its own trace */
		incoming[0].name = "traceparent";
		incoming[0].name_len = 11;
		incoming[0].value = argc > 1 && req == 0 ? argv[1] : "";
		incoming[0].value_len = strlen(incoming[0].value);
		if (sonde_trace_extract(carrier, incoming, incoming[0].value_len ? 1 : 0) !=
		    SONDE_OK)
			return 1;
		sonde_span_start_child_of(&server, "handle request",
		                          sonde_trace_carrier_context(carrier));
		LOG_INFO(log_root, "request received", LOG_INT("request", req),
		         LOG_BOOL("continued", sonde_trace_carrier_continued(carrier)),
		         LOG_STR("thread", "main"));

		pthread_mutex_lock(&j.mu);
		j.ctx = *sonde_span_get_context(&server);
		j.request = req;
		j.queries = 2 + req;
		j.state = 1;
		pthread_cond_broadcast(&j.cv);
		while (j.state != 2)
			pthread_cond_wait(&j.cv, &j.mu);
		j.state = 0;
		pthread_mutex_unlock(&j.mu);

		LOG_INFO(log_root, "request done", LOG_INT("request", req),
		         LOG_STR("thread", "main"));
		sonde_span_end(&server);
	}

	pthread_mutex_lock(&j.mu);
	j.state = 3;
	pthread_cond_broadcast(&j.cv);
	pthread_mutex_unlock(&j.mu);
	pthread_join(thr, NULL);

	if (sonde_log_flush() != SONDE_OK)
		fprintf(stderr, "log_and_trace: flush: %s\n", sonde_last_error());
	if (sonde_expose(NULL, SONDE_FORMAT_OPENMETRICS, &om) != SONDE_OK) {
		fprintf(stderr, "log_and_trace: expose: %s\n", sonde_last_error());
		return 1;
	}
	fputs(om.data, stderr);
	sonde_buf_destroy(&om);
	sonde_trace_set_span_end_hook(NULL, NULL);
	if (sonde_trace_set_span_histogram(NULL) != SONDE_OK)
		return 1;
	sonde_trace_carrier_free(carrier);
	sonde_logger_free(log_root);
	if (sonde_log_shutdown() != SONDE_OK)
		return 1;
	pthread_cond_destroy(&j.cv);
	pthread_mutex_destroy(&j.mu);
	return 0;
}
