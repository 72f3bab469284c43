/*
 * lib/trace/baggage_log.c - selected W3C baggage members stamped on log
 * records: a log scope (lib/log/log_scope.c) whose fields point at the
 * members' decoded values. Calls: baggage.c (lookup), the log scope.
 */
#include "trace/trace_int.h"

int sonde_log_scope_push_baggage(sonde_log_scope *s, const sonde_baggage *b,
                                 const char *const *names, size_t n)
{
	sonde_log_field f[SONDE_LOG_SCOPE_FIELDS];
	size_t i, j, k = 0;

	if (!s || !b)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push_baggage: %s is NULL",
		                   !s ? "scope" : "baggage");
	if (n && !names)
		return sonde__fail(SONDE_EINVAL, "sonde_log_scope_push_baggage: names is NULL");
	if (n > SONDE_LOG_SCOPE_FIELDS)
		return sonde__fail(SONDE_EINVAL,
		                   "sonde_log_scope_push_baggage: %zu names, at most %d", n,
		                   SONDE_LOG_SCOPE_FIELDS);
	for (i = 0; i < n; i++) {
		const char *v = NULL;
		size_t vlen = 0;

		if (!names[i] || !names[i][0])
			return sonde__fail(
			        SONDE_EINVAL,
			        "sonde_log_scope_push_baggage: name %zu is NULL or empty", i);
		for (j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0)
				return sonde__fail(
				        SONDE_EINVAL,
				        "sonde_log_scope_push_baggage: name \"%s\" given "
				        "twice",
				        names[i]);
		if (!sonde_baggage_get(b, names[i], strlen(names[i]), &v, &vlen))
			continue;
		f[k] = sonde_log_field_str(names[i], v);
		f[k].len = vlen; /* decoded bytes: may hold a NUL */
		k++;
	}
	return sonde_log_scope_push(s, f, k);
}
