/*
 * lib/log/log_config.c - the process-wide configuration
 * (sonde_log_configure): ring size, shutdown bound, the backend's longest
 * idle sleep. Calls: log_state.c, core's options copy (sonde__opts_copy).
 */
#include "log/log-int.h"

#define G sonde__log_g

/* The first published layout: a caller's size below it is refused. */
#define CONFIG_V1_SIZE SONDE__V1_SIZE(sonde_log_config, idle_sleep_max_us)

void sonde_log_config_init(sonde_log_config *c)
{
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
}

static uint64_t ring_size_for(size_t want)
{
	uint64_t n = SONDE__LOG_RING_MIN;

	if (want == 0)
		return SONDE__LOG_RING_DEFAULT;
	while (n < want && n < SONDE__LOG_RING_MAX)
		n <<= 1;
	return n;
}

/* The user's records metric: made once. The family is made outside
 * log_mu (registering takes the metrics gate and the registry's lock,
 * which must never nest inside the logger's lock); log_mu only guards
 * the name and the publication. */
static char *user_metric_name;
static sonde_counter *user_counters[6];

static int same_metric(const char *name)
{
	return strcmp(user_metric_name, name) == 0
	               ? SONDE_OK
	               : sonde__fail(SONDE_ESTATE,
	                             "sonde_log_configure: the records metric is already \"%s\"",
	                             user_metric_name);
}

static int user_records_metric(const sonde_log_config *c)
{
	static const char *const lvl_label[] = {"level"};
	sonde_counter *counters[6];
	sonde_metric_opts mo;
	sonde_family *f;
	char *name;
	int i, rc;

	pthread_mutex_lock(&G.log_mu);
	rc = user_metric_name ? same_metric(c->records_metric) : 1;
	pthread_mutex_unlock(&G.log_mu);
	if (rc != 1)
		return rc;
	sonde_metric_opts_init(&mo, SONDE_TYPE_COUNTER, c->records_metric,
	                       "Log records written, by level.");
	mo.label_names = lvl_label;
	mo.label_count = 1;
	mo.const_labels = c->records_labels;
	mo.const_label_count = c->records_label_count;
	f = sonde_family_new(c->records_registry, &mo);
	if (!f)
		return sonde__fail(sonde_last_status(), "sonde_log_configure: %s",
		                   sonde_last_error());
	for (i = 0; i < 6; i++) {
		counters[i] = sonde_counter_with(f, sonde_log_level_name(i));
		if (!counters[i])
			return sonde__fail(sonde_last_status(), "sonde_log_configure: %s",
			                   sonde_last_error());
	}
	name = sonde__strndup(c->records_metric, strlen(c->records_metric));
	if (!name)
		return sonde__fail(SONDE_ENOMEM, "sonde_log_configure: out of memory");
	pthread_mutex_lock(&G.log_mu);
	if (user_metric_name) { /* another thread was first */
		rc = same_metric(c->records_metric);
		pthread_mutex_unlock(&G.log_mu);
		sonde__free(name, strlen(name) + 1);
		return rc;
	}
	user_metric_name = name;
	memcpy(user_counters, counters, sizeof(counters));
	sonde__store_release(&G.m_user, user_counters);
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}

int sonde_log_configure(const sonde_log_config *c_in)
{
	sonde_log_config c;
	int rc = sonde__opts_copy(&c, sizeof(c), c_in, CONFIG_V1_SIZE, "sonde_log_configure");

	if (rc != SONDE_OK)
		return rc;
	if (c.records_metric && (rc = user_records_metric(&c)) != SONDE_OK)
		return rc;
	pthread_mutex_lock(&G.log_mu);
	sonde__store_relaxed(&G.ring_bytes, ring_size_for(c.ring_bytes));
	G.shutdown_timeout_ms = c.shutdown_timeout_ms;
	G.idle_sleep_max_us = c.idle_sleep_max_us;
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}
