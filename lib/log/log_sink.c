/*
 * lib/log/log_sink.c - sink objects: creating the stdout, stderr, file and
 * callback sinks from their options, references, the calls any thread may
 * make on a sink (reopen, level, error count), and closing the last
 * reference. What the backend does with a sink (buffering, writing,
 * rotation, failed writes) is in log_sink_write.c. Calls:
 * log_sink_write.c (opening and closing the file), log_stats.c (the
 * sink-error metric family), log_level.c, log_state.c.
 */
#include "log/log-int.h"

#define G sonde__log_g
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

sonde_log_sink *sonde_log_sink_file(const char *path, const sonde_log_sink_opts *o)
{
	sonde_log_sink *s;
	int err;

	if (!path || !*path)
		return sonde__fail(SONDE_EINVAL, "sonde_log_sink_file: path is NULL or empty"),
		       NULL;
	if (strlen(path) >= SONDE__LOG_SINK_PATH_MAX)
		return sonde__fail(SONDE_EINVAL, "sonde_log_sink_file: path longer than %d bytes",
		                   SONDE__LOG_SINK_PATH_MAX - 1),
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
	err = sonde__log_sink_file_open(s);
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

static void destroy(sonde_log_sink *s)
{
	sonde__log_sink_io_close(s);
	sonde__free(s->path, s->path ? s->path_len + 1 : 0);
	sonde__free(s->name, s->name_len + 1);
	sonde__free(s, sizeof(*s));
}

void sonde__log_sink_unref(sonde_log_sink *s)
{
	/* acq_rel: pairs with the same fetch_sub of every
	 * other owner; the release half publishes this owner's use of the
	 * sink, the acquire half lets the last owner see all of them before
	 * it destroys the sink. */
	if (s && sonde__fetch_sub_acqrel(&s->refs, 1) == 1)
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
