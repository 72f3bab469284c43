/*
 * lib/log/log_sink_write.c - the backend's side of a sink: buffering
 * lines, writing them, size rotation and reopen of files, counting failed
 * writes and reporting them once writing works again; and the descriptor
 * operations the sink objects (log_sink.c) need to open and close files.
 * Calls: log_format.c (the "log sink write failed" notice), log_state.c.
 *
 * Only the backend thread writes through a sink, so the write state needs
 * no lock; what other threads touch (refs, level, reopen, errors) is
 * atomic. Descriptor sinks gather lines in a buffer and write() it at the
 * end of each batch or at 64 KiB. A failed write (ENOSPC, EBADF, EIO...)
 * loses that buffer's lines for this sink; it is counted, and reported by
 * a warn line after the next write that succeeds. errno is saved and
 * restored around every system call made here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log-int.h"
#include "log/log_record.h"

#define G sonde__log_g
#define SINK_BUF_FLUSH (64u * 1024u)

/* ---- descriptors ------------------------------------------------------------------- */

/* Opens s->path for appending; fd -1 and the errno on failure. */
int sonde__log_sink_file_open(sonde_log_sink *s)
{
	int saved = errno, rc = 0;
	struct stat st;

	s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		rc = errno;
	} else {
		s->file_size =
		        fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	}
	errno = saved;
	return rc;
}

static void file_close(sonde_log_sink *s)
{
	int saved = errno;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	errno = saved;
}

int sonde__log_write_all(int fd, const char *p, size_t n)
{
	int saved = errno, rc = 0;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = errno ? errno : EIO;
			break;
		}
		if (w == 0) {
			rc = EIO;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	errno = saved;
	return rc;
}

static void count_error(sonde_log_sink *s, uint64_t lines);

void sonde__log_sink_io_close(sonde_log_sink *s)
{
	/* whatever is still buffered (normally nothing: the backend writes
	 * every buffer at the end of its batch); a failure here has nobody
	 * to report to */
	if (s->kind == SINK_RECORD) {
		if (s->rops->release)
			s->rops->release(s->rctx);
		return;
	}
	if (s->kind != SINK_CALLBACK && s->out.len &&
	    (s->fd < 0 || sonde__log_write_all(s->fd, s->out.data, s->out.len) != 0))
		count_error(s, s->out_lines);
	if (s->kind == SINK_FILE)
		file_close(s);
	sonde_buf_destroy(&s->out);
}

/* ---- backend side ------------------------------------------------------------------ */

/* A failed write (or a buffer that could not grow) lost `lines` lines of
 * this sink: the sink's and the process's counts are of lines that did not
 * reach the sink, not of failed calls (issue 13.8: 1000 lines lost on
 * /dev/full counted 2). The notice reports both. */
static void count_error(sonde_log_sink *s, uint64_t lines)
{
	sonde__fetch_add_relaxed(&s->errors, lines);
	sonde__fetch_add_relaxed(&G.sink_errors, lines);
	s->errs_unreported++;
	s->lines_lost += lines;
}

/* The "log sink write failed" line, formatted like any record of the
 * logger whose record is being written (service, bound fields, time). */
static void format_notice(sonde_buf *b, sonde_log_sink *s, const sonde__log_rec *like)
{
	static const char *const keys[] = {"sink", "errors", "lines_lost"};
	static const unsigned char types[] = {SONDE_LOG_T_STR, SONDE_LOG_T_U64, SONDE_LOG_T_U64};
	static const sonde_log_site site = {
	        "log sink write failed", __FILE__, keys, types, __LINE__,
	        SONDE_LOG_LEVEL_WARN,    3,        0,    NULL};
	rec_hdr h;
	uint64_t vals[3];
	sonde__log_rec rec;

	memset(&h, 0, sizeof(h));
	h.kind = REC_LOG;
	h.level = SONDE_LOG_LEVEL_WARN;
	h.nfields = 3;
	h.site = &site;
	h.logger = like->h->logger;
	vals[0] = (uint64_t)(uint32_t)s->name_len;
	vals[1] = s->errs_unreported;
	vals[2] = s->lines_lost;
	rec.h = &h;
	rec.ctx = NULL;
	rec.vals = vals;
	rec.strs = s->name;
	rec.scope = NULL;
	rec.scope_strs = NULL;
	rec.scope_gen = 0;
	rec.scope_lost = false;
	rec.ns = like->ns;
	rec.tid = 0;
	sonde_buf_reset(b);
	sonde__log_format(b, s, &rec);
}

static sonde_buf notice_buf; /* backend only */
static sonde__log_rec last_rec_storage;
static rec_hdr last_hdr_storage;

static void remember(const sonde__log_rec *rec)
{
	/* enough of the record to format a notice later in the batch */
	last_hdr_storage = *rec->h;
	last_rec_storage.h = &last_hdr_storage;
	last_rec_storage.ns = rec->ns;
}

static void report_recovery(sonde_log_sink *s, const sonde__log_rec *like)
{
	int rc;

	if (!s->errs_unreported)
		return;
	format_notice(&notice_buf, s, like);
	if (notice_buf.oom || !notice_buf.len)
		return;
	if (s->kind == SINK_CALLBACK)
		rc = s->fn(s->ctx, SONDE_LOG_LEVEL_WARN, notice_buf.data, notice_buf.len - 1);
	else
		rc = s->fd >= 0 ? -sonde__log_write_all(s->fd, notice_buf.data, notice_buf.len)
		                : -1;
	if (rc >= 0) {
		if (s->kind == SINK_FILE)
			s->file_size += notice_buf.len;
		s->errs_unreported = 0;
		s->lines_lost = 0;
	}
}

static void rotate(sonde_log_sink *s)
{
	char from[SONDE__LOG_SINK_PATH_MAX + 16], to[SONDE__LOG_SINK_PATH_MAX + 16];
	int saved = errno;
	unsigned i;

	file_close(s);
	for (i = s->max_files; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", s->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", s->path, i);
		(void)rename(from, to); /* a missing one is fine */
	}
	snprintf(to, sizeof(to), "%s.1", s->path);
	(void)rename(s->path, to);
	errno = saved;
	(void)sonde__log_sink_file_open(s); /* on failure fd is -1: writes count errors and retry */
}

void sonde__log_sink_flush(sonde_log_sink *s)
{
	int rc;

	if (s->kind == SINK_RECORD) {
		if (s->rops->batch_end)
			s->rops->batch_end(s->rctx);
		return;
	}
	if (s->kind == SINK_CALLBACK || !s->out.len)
		return;
	if (s->fd < 0 && s->kind == SINK_FILE)
		(void)sonde__log_sink_file_open(s); /* recover from a failed reopen or rotation */
	rc = s->fd >= 0 ? sonde__log_write_all(s->fd, s->out.data, s->out.len) : EBADF;
	if (rc) {
		count_error(s, s->out_lines);
	} else {
		if (s->kind == SINK_FILE)
			s->file_size += s->out.len;
		report_recovery(s, &last_rec_storage);
	}
	sonde_buf_reset(&s->out);
	s->out_lines = 0;
}

void sonde__log_sink_export(sonde_log_sink *s)
{
	uint64_t e = sonde__load_relaxed(&s->errors);

	if (e != s->err_exported && s->err_metric)
		sonde_counter_add_u64(s->err_metric, e - s->err_exported);
	s->err_exported = e;
}

void sonde__log_sink_lost(sonde_log_sink *s, sonde_log_sink **dirty)
{
	count_error(s, 1);
	if (!s->dirty) { /* for the metric export */
		s->dirty = true;
		s->dirty_next = *dirty;
		*dirty = s;
	}
}

void sonde__log_sink_put(sonde_log_sink *s, int level, const char *line, size_t len,
                         const sonde__log_rec *rec, sonde_log_sink **dirty)
{
	if (s->kind == SINK_CALLBACK) {
		if (s->fn(s->ctx, (sonde_log_level)level, line, len - 1) < 0) {
			count_error(s, 1);
		} else {
			report_recovery(s, rec);
		}
		if (!s->dirty) { /* for the metric export */
			s->dirty = true;
			s->dirty_next = *dirty;
			*dirty = s;
		}
		return;
	}
	remember(rec);
	if (s->kind == SINK_FILE && sonde__load_relaxed(&s->reopen)) {
		sonde__store_relaxed(&s->reopen, 0);
		sonde__log_sink_flush(s);
		file_close(s);
		(void)sonde__log_sink_file_open(s);
	}
	if (s->kind == SINK_FILE && s->max_bytes && !G.in_child &&
	    s->file_size + s->out.len + len > s->max_bytes && s->file_size + s->out.len > 0) {
		sonde__log_sink_flush(s);
		rotate(s);
	}
	sonde__buf_put(&s->out, line, len);
	if (s->out.oom) {
		/* No memory to grow the buffer: the lines buffered so far
		 * are dropped and counted as lost; this line is written on its
		 * own, straight to the descriptor. */
		if (s->out_lines)
			count_error(s, s->out_lines);
		sonde_buf_reset(&s->out);
		s->out.oom = 0;
		s->out_lines = 0;
		if (s->fd < 0 || sonde__log_write_all(s->fd, line, len))
			count_error(s, 1);
		else if (s->kind == SINK_FILE)
			s->file_size += len;
		return;
	}
	s->out_lines++;
	if (!s->dirty) {
		s->dirty = true;
		s->dirty_next = *dirty;
		*dirty = s;
	}
	if (s->out.len >= SINK_BUF_FLUSH)
		sonde__log_sink_flush(s);
}
