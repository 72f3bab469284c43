/*
 * lib/log/log_sink.c - sink objects: creating the stdout, stderr, file and
 * callback sinks from their options, references, the calls any thread may
 * make on a sink (reopen, level, error count), and closing the last
 * reference. What the backend does with a sink (buffering, writing,
 * rotation, failed writes) is in log_sink_write.c. Calls:
 * log_sink_write.c (opening and closing the file), log_stats.c (the
 * sink-error metric family), log_level.c, log_state.c.
 */
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "log/log-int.h"
#include "log/log_record.h"

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

static const char *const format_names[] = {"json", "logfmt", "ecs", "otel", "console"};

const char *sonde_log_format_name(int format)
{
	return format >= 0 && format < (int)SONDE_ARRAY_LEN(format_names) ? format_names[format]
	                                                                  : "unknown";
}

int sonde_log_format_parse(const char *s, size_t len, sonde_log_format *out)
{
	size_t i;

	if (!s || !out)
		return sonde__fail(SONDE_EINVAL, "log_format_parse: NULL argument");
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	for (i = 0; i < SONDE_ARRAY_LEN(format_names); i++)
		if (strlen(format_names[i]) == len && strncasecmp(s, format_names[i], len) == 0) {
			*out = (sonde_log_format)i;
			return SONDE_OK;
		}
	return sonde__fail(SONDE_EINVAL,
	                   "log_format_parse: \"%.*s\" is no log format (json, logfmt, ecs, otel, "
	                   "console)",
	                   (int)(len > 64 ? 64 : len), s);
}

/* The format: o->format, unless the variable o->format_env names one; a
 * value naming none keeps o->format with a notice on stderr. */
static int initial_format(const sonde_log_sink_opts *o)
{
	const char *env = o->format_env ? o->format_env : "SONDE_LOG_FORMAT";
	const char *v;
	sonde_log_format f;
	char msg[256];
	int n;

	if (!*env)
		return (int)o->format;
	v = getenv(env);
	if (!v || !*v)
		return (int)o->format;
	if (sonde_log_format_parse(v, strlen(v), &f) == SONDE_OK)
		return (int)f;
	n = snprintf(msg, sizeof(msg),
	             "sonde: %.64s=\"%.64s\" names no log format (json, logfmt, ecs, otel, "
	             "console); keeping %s\n",
	             env, v, sonde_log_format_name((int)o->format));
	if (n > 0)
		(void)sonde__log_write_all(2, msg,
		                           (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	return (int)o->format;
}

/* A json key option: NULL (the default), or 1..64 plain bytes. */
static bool key_opt_ok(const char *k)
{
	size_t n;

	if (!k)
		return true;
	n = strlen(k);
	if (!n || n > SONDE__LOG_KEY_MAX)
		return false;
	for (; *k; k++) {
		unsigned char c = (unsigned char)*k;
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=')
			return false;
	}
	return true;
}

static int check_keys(const sonde_log_sink_opts *o)
{
	const char *k[3] = {o->time_key, o->level_key, o->message_key};
	const char *dflt[3] = {"@timestamp", "level", "message"};
	int i, j;

	for (i = 0; i < 3; i++)
		if (!key_opt_ok(k[i]))
			return sonde__fail(
			        SONDE_EINVAL,
			        "log sink: the %s key must be 1..64 printable ASCII bytes "
			        "without '\"', '\\' or '='",
			        i == 0   ? "time"
			        : i == 1 ? "level"
			                 : "message");
	for (i = 0; i < 3; i++)
		for (j = 0; j < i; j++)
			if (strcmp(k[i] ? k[i] : dflt[i], k[j] ? k[j] : dflt[j]) == 0)
				return sonde__fail(
				        SONDE_EINVAL,
				        "log sink: the time, level and message keys must "
				        "differ (\"%s\" twice)",
				        k[i] ? k[i] : dflt[i]);
	return SONDE_OK;
}

/* Console colours: forced on or off, or when fd is a terminal and
 * NO_COLOR is unset or empty. */
static void set_color(sonde_log_sink *s, int opt)
{
	const char *nc;

	if (opt)
		s->color = opt > 0;
	else {
		nc = getenv("NO_COLOR");
		s->color = s->fd >= 0 && isatty(s->fd) && !(nc && *nc);
	}
}

static sonde_log_sink *sink_new(int kind, const sonde_log_sink_opts *o_in, const char *dflt_name)
{
	sonde_log_sink_opts d;
	const sonde_log_sink_opts *o = &d;
	sonde_log_sink *s;
	const char *name;
	int fmt;

	if (!o_in)
		sonde_log_sink_opts_init(&d);
	else if (sonde__opts_copy(&d, sizeof(d), o_in, SINK_OPTS_V1_SIZE, "log sink") != SONDE_OK)
		return NULL;
	if ((int)o->format < SONDE_LOG_FORMAT_JSON || o->format > SONDE_LOG_FORMAT_CONSOLE)
		return sonde__fail(SONDE_EINVAL, "log sink: unknown format %d", (int)o->format),
		       NULL;
	if (check_keys(o) != SONDE_OK)
		return NULL;
	fmt = initial_format(o);
	if ((int)o->level < 0 || o->level > SONDE_LOG_LEVEL_OFF)
		return sonde__fail(SONDE_EINVAL, "log sink: level %d out of range", (int)o->level),
		       NULL;
	sonde__log_stats_init(); /* the error metric's family */
	s = sonde__calloc(1, sizeof(*s));
	if (!s)
		return sonde__fail(SONDE_ENOMEM, "log sink: out of memory"), NULL;
	s->kind = kind;
	s->format = fmt;
	s->upper = o->level_upper != 0;
	s->color_opt = o->color < 0 ? -1 : o->color > 0 ? 1 : 0;
	set_color(s, s->color_opt); /* again once the descriptor is known */
	if (o->time_key)
		memcpy(s->keys[0], o->time_key, strlen(o->time_key) + 1);
	if (o->level_key)
		memcpy(s->keys[1], o->level_key, strlen(o->level_key) + 1);
	if (o->message_key)
		memcpy(s->keys[2], o->message_key, strlen(o->message_key) + 1);
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

	if (s) {
		s->fd = 1;
		set_color(s, s->color_opt);
	}
	return s;
}

sonde_log_sink *sonde_log_sink_stderr(const sonde_log_sink_opts *o)
{
	sonde_log_sink *s = sink_new(SINK_FD, o, "stderr");

	if (s) {
		s->fd = 2;
		set_color(s, s->color_opt);
	}
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
	set_color(s, s->color_opt);
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

sonde_log_sink *sonde__log_sink_record(const sonde_log_sink_opts *o,
                                       const sonde__log_record_ops *ops, void *ctx)
{
	sonde_log_sink *s;

	if (!ops || !ops->record)
		return sonde__fail(SONDE_EINVAL, "record sink: no callbacks"), NULL;
	s = sink_new(SINK_RECORD, o, "otlp");
	if (s) {
		s->rops = ops;
		s->rctx = ctx;
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
