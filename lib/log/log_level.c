/*
 * lib/log/log_level.c - log levels: their names, parsing a name, and a
 * logger's minimum level (one relaxed int, the first member of every
 * logger, which the inlined sonde__log_on() reads). Calls: log_state.c
 * (the live-logger list, for sonde_log_set_level_all).
 */
#include "log/log-int.h"

#define G sonde__log_g

static const char *const level_names[] = {"trace", "debug", "info", "warn",
                                          "error", "fatal", "off"};

const char *sonde_log_level_name(int level)
{
	if (level < 0 || level > SONDE_LOG_LEVEL_OFF)
		return "unknown";
	return level_names[level];
}

int sonde_log_level_parse(const char *s, size_t len, sonde_log_level *out)
{
	char low[16];
	size_t i, n = 0;

	if (!s || !out)
		return sonde__fail(SONDE_EINVAL, "sonde_log_level_parse: NULL argument");
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n'))
		len--;
	if (len >= sizeof(low))
		goto bad;
	for (i = 0; i < len; i++) {
		char ch = s[i];
		low[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	low[n] = '\0';
	for (i = 0; i < SONDE_ARRAY_LEN(level_names); i++)
		if (strcmp(low, level_names[i]) == 0) {
			*out = (sonde_log_level)i;
			return SONDE_OK;
		}
	if (strcmp(low, "warning") == 0) {
		*out = SONDE_LOG_LEVEL_WARN;
		return SONDE_OK;
	}
bad:
	return sonde__fail(SONDE_EINVAL, "sonde_log_level_parse: unknown level \"%.*s\"",
	                   (int)(len > 32 ? 32 : len), s);
}

int sonde__log_clamp_level(int level)
{
	return level < 0 || level > SONDE_LOG_LEVEL_OFF ? SONDE_LOG_LEVEL_OFF : level;
}

void sonde__logger_levels(sonde_logger *l, int level)
{
	int gate;

	level = sonde__log_clamp_level(level);
	gate = l->flight && l->flight_level < level ? l->flight_level : level;
	/* relaxed: a call racing with the change sees either level; the out
	 * level first, so a call that passes the new gate and finds the old
	 * out level is kept rather than written (or the other way), never
	 * lost */
	sonde__plain_store_relaxed(&l->out_level, level);
	sonde__plain_store_relaxed(&l->level, gate);
}

void sonde_logger_set_level(sonde_logger *l, sonde_log_level level)
{
	if (l)
		sonde__logger_levels(l, (int)level);
}

sonde_log_level sonde_logger_level(const sonde_logger *l)
{
	if (!l)
		return SONDE_LOG_LEVEL_OFF;
	return (sonde_log_level)sonde__plain_load_relaxed(&l->out_level);
}

sonde_log_level sonde_logger_min_level(const sonde_logger *l)
{
	if (!l)
		return SONDE_LOG_LEVEL_OFF;
	return (sonde_log_level)sonde__plain_load_relaxed(&l->level);
}

void sonde_log_set_level_all(sonde_log_level level)
{
	sonde_logger *l;

	pthread_mutex_lock(&G.log_mu);
	for (l = G.loggers; l; l = l->next)
		sonde_logger_set_level(l, level);
	pthread_mutex_unlock(&G.log_mu);
}
