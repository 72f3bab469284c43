/*
 * lib/api/defaults.c - the top layer's wiring of the default registry: the
 * library's self-metrics and, unless SONDE_NO_PROCESS_METRICS is set in the
 * environment, the process collector.
 *
 * The metrics core creates the default registry on first use and runs the
 * wiring installed here; the constructor installs it before main() (and
 * before any C++ static initializer of the host, whose constructors run at
 * the default priority, after 101). libsonde.a is one prelinked object
 * (see the Makefile), so a static link carries this file too.
 */
#include <stdlib.h>

#include "collectors/collectors.h"

static void wire_default(sonde_registry *r)
{
	sonde__self_metrics_register(r);
	/* Out of memory here leaves the default registry without process
	 * metrics; every other call still works. */
	if (!getenv("SONDE_NO_PROCESS_METRICS"))
		sonde__ignore(sonde_process_collector_register(r));
}

__attribute__((constructor(101))) static void install_default_wiring(void)
{
	sonde__registry_set_default_wiring(wire_default);
}
