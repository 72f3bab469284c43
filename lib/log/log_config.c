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

int sonde_log_configure(const sonde_log_config *c_in)
{
	sonde_log_config c;
	int rc = sonde__opts_copy(&c, sizeof(c), c_in, CONFIG_V1_SIZE, "sonde_log_configure");

	if (rc != SONDE_OK)
		return rc;
	pthread_mutex_lock(&G.log_mu);
	sonde__store_relaxed(&G.ring_bytes, ring_size_for(c.ring_bytes));
	G.shutdown_timeout_ms = c.shutdown_timeout_ms;
	G.idle_sleep_max_us = c.idle_sleep_max_us;
	pthread_mutex_unlock(&G.log_mu);
	return SONDE_OK;
}
