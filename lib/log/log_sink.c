/*
 * lib/log/log_sink.c - where the backend's lines go: file descriptors
 * (stdout, stderr), files with size rotation and reopen, callbacks.
 * Calls: log_format.c (the "log sink write failed" notice), log_stats.c
 * (the sink-error metric family), log_level.c, log_state.c.
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

#define G sonde__log_g
#define SINK_BUF_FLUSH (64u * 1024u)
#define SINK_PATH_MAX 4096
/* The first published layout: a caller's size below it is refused. */
#define SINK_OPTS_V1_SIZE SONDE__V1_SIZE(sonde_log_sink_opts, max_files)

void sonde_log_sink_opts_init(sonde_log_sink_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
}

static sonde_log_sink *sink_new(int kind, const sonde_log_sink_opts *o_in, const char *dflt_name)
{
	sonde_log_sink_opts d;
	const sonde_log_sink_opts *o = &d;
	sonde_log_sink *s;
	const char *name;

	if (!o_in)
		sonde_log_sink_opts_init(&d);
	else if (sonde__opts_copy(&d, sizeof(d), o_in, SINK_OPTS_V1_SIZE, "log sink") != SONDE_OK)
		return NULL;
	if (o->format != SONDE_LOG_FORMAT_JSON && o->format != SONDE_LOG_FORMAT_LOGFMT)
		return sonde__fail(SONDE_EINVAL, "log sink: unknown format %d", (int)o->format),
		       NULL;
	if ((int)o->level < 0 || o->level > SONDE_LOG_LEVEL_OFF)
		return sonde__fail(SONDE_EINVAL, "log sink: level %d out of range", (int)o->level),
		       NULL;
	sonde__log_stats_init(); /* the error metric's family */
	s = sonde__calloc(1, sizeof(*s));
	if (!s)
		return sonde__fail(SONDE_ENOMEM, "log sink: out of memory"), NULL;
	s->kind = kind;
	s->format = (int)o->format;
	s->level = (int)o->level;
	s->refs = 1;
	s->fd = -1;
	s->max_bytes = o->max_bytes;
	s->max_files = o->max_files ? o->max_files : 5;
	name = o->name && *o->name ? o->name : dflt_name;
	s->name_len = strlen(name);
	s->name = sonde__strndup(name, s->name_len);
	if (!s->name) {
		sonde__free(s, sizeof(*s));
		return sonde__fail(SONDE_ENOMEM, "log sink: out of memory"), NULL;
	}
	if (G.m_sink_errors)
		s->err_metric = sonde_counter_with(G.m_sink_errors, s->name);
	return s;
}

sonde_log_sink *sonde_log_sink_stdout(const sonde_log_sink_opts *o)
{
	sonde_log_sink *s = sink_new(SINK_FD, o, "stdout");

	if (s)
		s->fd = 1;
	return s;
}

sonde_log_sink *sonde_log_sink_stderr(const sonde_log_sink_opts *o)
{
	sonde_log_sink *s = sink_new(SINK_FD, o, "stderr");

	if (s)
		s->fd = 2;
	return s;
}

/* Opens s->path for appending; fd -1 and the errno on failure. */
static int file_open(sonde_log_sink *s)
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

sonde_log_sink *sonde_log_sink_file(const char *path, const sonde_log_sink_opts *o)
{
	sonde_log_sink *s;
	int err;

	if (!path || !*path)
		return sonde__fail(SONDE_EINVAL, "sonde_log_sink_file: path is NULL or empty"),
		       NULL;
	if (strlen(path) >= SINK_PATH_MAX)
		return sonde__fail(SONDE_EINVAL, "sonde_log_sink_file: path longer than %d bytes",
		                   SINK_PATH_MAX - 1),
		       NULL;
	s = sink_new(SINK_FILE, o, path);
	if (!s)
		return NULL;
	s->path_len = strlen(path);
	s->path = sonde__strndup(path, s->path_len);
	if (!s->path) {
		sonde_log_sink_free(s);
		return sonde__fail(SONDE_ENOMEM, "sonde_log_sink_file: out of memory"), NULL;
	}
	err = file_open(s);
	if (err) {
		sonde_log_sink_free(s);
		return sonde__fail(SONDE_EIO, "sonde_log_sink_file: cannot open \"%s\": %s", path,
		                   strerror(err)),
		       NULL;
	}
	return s;
}

sonde_log_sink *sonde_log_sink_callback(sonde_log_line_fn fn, void *ctx,
                                        const sonde_log_sink_opts *o)
{
	sonde_log_sink *s;

	if (!fn)
		return sonde__fail(SONDE_EINVAL, "sonde_log_sink_callback: fn is NULL"), NULL;
	s = sink_new(SINK_CALLBACK, o, "callback");
	if (s) {
		s->fn = fn;
		s->ctx = ctx;
	}
	return s;
}

void sonde__log_sink_ref(sonde_log_sink *s)
{
	sonde__fetch_add_relaxed(&s->refs, 1);
}

static int write_all(int fd, const char *p, size_t n)
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

static void destroy(sonde_log_sink *s)
{
	if (s->kind != SINK_CALLBACK && s->out.len && s->fd >= 0)
		(void)write_all(s->fd, s->out.data, s->out.len);
	if (s->kind == SINK_FILE)
		file_close(s);
	sonde_buf_destroy(&s->out);
	sonde__free(s->path, s->path ? s->path_len + 1 : 0);
	sonde__free(s->name, s->name_len + 1);
	sonde__free(s, sizeof(*s));
}

void sonde__log_sink_unref(sonde_log_sink *s)
{
	/* seq_cst (acq_rel would do): pairs with the same fetch_sub of every
	 * other owner; the release half publishes this owner's use of the
	 * sink, the acquire half lets the last owner see all of them before
	 * it destroys the sink. */
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		destroy(s);
}

void sonde_log_sink_free(sonde_log_sink *s)
{
	sonde__log_sink_unref(s);
}

int sonde_log_sink_reopen(sonde_log_sink *s)
{
	if (!s)
		return sonde__fail(SONDE_EINVAL, "sonde_log_sink_reopen: sink is NULL");
	if (s->kind != SINK_FILE)
		return sonde__fail(SONDE_ENOTSUP,
		                   "sonde_log_sink_reopen: sink \"%s\" is not a file", s->name);
	sonde__store_relaxed(&s->reopen, 1);
	return SONDE_OK;
}

void sonde_log_sink_set_level(sonde_log_sink *s, sonde_log_level level)
{
	if (s)
		sonde__store_relaxed(&s->level, sonde__log_clamp_level((int)level));
}

uint64_t sonde_log_sink_errors(const sonde_log_sink *s)
{
	return s ? sonde__load_relaxed(&((sonde_log_sink *)(uintptr_t)s)->errors) : 0;
}

/* ---- backend side ------------------------------------------------------------------ */

static void count_error(sonde_log_sink *s, uint64_t lines)
{
	sonde__fetch_add_relaxed(&s->errors, 1);
	sonde__fetch_add_relaxed(&G.sink_errors, 1);
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
	        "log sink write failed", __FILE__, keys, types, __LINE__, SONDE_LOG_LEVEL_WARN, 3};
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
	rec.ns = like->ns;
	sonde_buf_reset(b);
	sonde__log_format(b, s->format, &rec);
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
		rc = s->fd >= 0 ? -write_all(s->fd, notice_buf.data, notice_buf.len) : -1;
	if (rc >= 0) {
		if (s->kind == SINK_FILE)
			s->file_size += notice_buf.len;
		s->errs_unreported = 0;
		s->lines_lost = 0;
	}
}

static void rotate(sonde_log_sink *s)
{
	char from[SINK_PATH_MAX + 16], to[SINK_PATH_MAX + 16];
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
	(void)file_open(s); /* on failure fd is -1: writes count errors and retry */
}

void sonde__log_sink_flush(sonde_log_sink *s)
{
	int rc;

	if (s->kind == SINK_CALLBACK || !s->out.len)
		return;
	if (s->fd < 0 && s->kind == SINK_FILE)
		(void)file_open(s); /* recover from a failed reopen or rotation */
	rc = s->fd >= 0 ? write_all(s->fd, s->out.data, s->out.len) : EBADF;
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
		(void)file_open(s);
	}
	if (s->kind == SINK_FILE && s->max_bytes && !G.in_child &&
	    s->file_size + s->out.len + len > s->max_bytes && s->file_size + s->out.len > 0) {
		sonde__log_sink_flush(s);
		rotate(s);
	}
	sonde__buf_put(&s->out, line, len);
	if (s->out.oom) {
		/* No memory to grow the buffer: the lines buffered so far are
		 * dropped, not written and not counted as lost (out_lines still
		 * includes them, so only a later failed write would count
		 * them); this line is written on its own, straight to the
		 * descriptor. */
		sonde_buf_reset(&s->out);
		s->out.oom = 0;
		if (s->fd < 0 || write_all(s->fd, line, len))
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
