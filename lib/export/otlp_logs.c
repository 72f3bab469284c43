/*
 * lib/export/otlp_logs.c - the OTLP log sink (sonde_otlp_log_sink, the
 * contract is in include/sonde/export.h): a record sink of the logger
 * (log/log_record.h) that encodes each record on the logger's backend
 * thread into the current chunk (otlp_logs.h) and hands the chunk to the
 * exporter (otlp_exporter.c) at the end of each backend batch, when it
 * holds a whole export batch, or when the logger changes. The caller of
 * the log call pays nothing more: all of it runs on the backend thread.
 *
 * State: one per sink, touched only by the backend thread (the record
 * sink's callbacks run one at a time) and freed by release when no
 * callback can run. Records that arrive while the exporter is not
 * running (or OTEL_LOGS_EXPORTER=none) are never handed over: not
 * counted, dropped at once.
 */
#include "export/otlp_logs.h"
#include "sonde/export.h"

typedef struct lsink {
	sonde__otlp_log_chunk *cur; /* the chunk being filled, or NULL */
	uint64_t oom;               /* records lost to out of memory, not yet counted */
	sonde_buf one;              /* one record's encoding */
	sonde__log_view view;
} lsink;

static void hand_over(lsink *ls)
{
	if (ls->cur || ls->oom)
		sonde__otlp_logs_submit(ls->cur, ls->oom);
	ls->cur = NULL;
	ls->oom = 0;
}

static void discard(lsink *ls)
{
	sonde__otlp_log_chunk_free(ls->cur);
	ls->cur = NULL;
	ls->oom = 0;
}

static void on_record(void *ctx, const sonde__log_rec *rec)
{
	lsink *ls = ctx;
	sonde__log_view *v = &ls->view;
	bool json;
	size_t batch;
	int64_t observed = sonde_now_unix_ns();

	if (!sonde__otlp_logs_enter(&json, &batch)) {
		discard(ls);
		return;
	}
	sonde__log_view_read(v, rec);
	/* a chunk is of one logger (its scope) and one encoding */
	if (ls->cur && (ls->cur->json != json || ls->cur->scope_len != v->logger_len ||
	                memcmp(ls->cur->scope, v->logger, v->logger_len) != 0))
		hand_over(ls);
	sonde_buf_reset(&ls->one);
	if (json)
		sonde__otlp_log_record_json(&ls->one, v, observed);
	else
		sonde__otlp_log_record_pb(&ls->one, v, observed);
	if (ls->one.oom) {
		sonde_buf_destroy(&ls->one); /* an oom buffer stays so */
		ls->oom++;
		goto out;
	}
	if (!ls->cur) {
		ls->cur = sonde__otlp_log_chunk_new(json, v->logger, v->logger_len);
		if (!ls->cur) {
			ls->oom++;
			goto out;
		}
	}
	if (json && ls->cur->n)
		sonde__buf_putc(&ls->cur->recs, ',');
	sonde__buf_put(&ls->cur->recs, ls->one.data, ls->one.len);
	if (ls->cur->recs.oom) {
		/* the chunk's buffer is lost with what it held */
		ls->oom += ls->cur->n + 1;
		sonde__otlp_log_chunk_free(ls->cur);
		ls->cur = NULL;
		goto out;
	}
	ls->cur->n++;
	if (ls->cur->n >= batch)
		hand_over(ls);
out:
	sonde__otlp_logs_leave();
}

static void on_batch_end(void *ctx)
{
	lsink *ls = ctx;
	bool json;
	size_t batch;

	if (!ls->cur && !ls->oom)
		return;
	if (!sonde__otlp_logs_enter(&json, &batch)) {
		discard(ls);
		return;
	}
	hand_over(ls);
	sonde__otlp_logs_leave();
}

static void on_release(void *ctx)
{
	lsink *ls = ctx;

	discard(ls);
	sonde_buf_destroy(&ls->one);
	sonde__free(ls, sizeof(*ls));
}

static const sonde__log_record_ops ops = {on_record, on_batch_end, on_release};

sonde_log_sink *sonde_otlp_log_sink(const sonde_log_sink_opts *opts)
{
	lsink *ls = sonde__calloc(1, sizeof(*ls));
	sonde_log_sink *s;

	if (!ls)
		return sonde__fail(SONDE_ENOMEM, "sonde_otlp_log_sink: out of memory"), NULL;
	ls->one = (sonde_buf)SONDE_BUF_INIT;
	s = sonde__log_sink_record(opts, &ops, ls);
	if (!s)
		sonde__free(ls, sizeof(*ls));
	return s;
}
