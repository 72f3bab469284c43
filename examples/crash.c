/*
 * examples/crash.c - the last words of a dying process.
 *
 *   sonde-crash-example FILE N MODE      (MODE: abort or segv)
 *
 * Logs into FILE (JSON lines) with the crash flush and the flight recorder
 * on: N debug records below the logger's level (kept in memory, not
 * written), N info records, then one error record, which replays the kept
 * debug records before it, and then crashes: abort() or a write to address
 * 8, as through a member of a NULL struct pointer. The crash handler writes whatever the rings
 * still hold and one "crash" record, then lets the signal kill the process as usual: the exit
 * status (and core dump, when enabled) still say which signal.
 *
 *   sonde-crash-example /tmp/crash.log 1000 segv; echo "status $?"
 *   grep -c '"message":"step"' /tmp/crash.log        # 1000
 *   grep '"message":"crash"' /tmp/crash.log
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sonde.h>
#include <sonde/log.h>

static int usage(void)
{
	fprintf(stderr, "usage: sonde-crash-example FILE N MODE   (MODE: abort or segv)\n");
	return 2;
}

int main(int argc, char **argv)
{
	sonde_log_sink *sink;
	sonde_logger *log;
	sonde_log_opts o;
	char *end;
	long n, i;

	if (argc != 4 || (strcmp(argv[3], "abort") != 0 && strcmp(argv[3], "segv") != 0))
		return usage();
	n = strtol(argv[2], &end, 10);
	if (*end || n < 0 || n > 10000000)
		return usage();

	sink = sonde_log_sink_file(argv[1], NULL);
	if (!sink) {
		fprintf(stderr, "sonde-crash-example: %s\n", sonde_last_error());
		return 1;
	}
	sonde_log_opts_init(&o, "crash-example");
	o.level_env = "";
	o.sinks = &sink;
	o.sink_count = 1;
	o.flight_recorder = 1; /* keep what is below INFO, replay it on an error */
	log = sonde_logger_new(&o);
	sonde_log_sink_free(sink);
	if (!log || sonde_log_crash_flush_enable() != SONDE_OK) {
		fprintf(stderr, "sonde-crash-example: %s\n", sonde_last_error());
		return 1;
	}

	for (i = 0; i < n; i++)
		LOG_DEBUG(log, "detail", LOG_INT("i", i));
	for (i = 0; i < n; i++)
		LOG_INFO(log, "step", LOG_INT("i", i), LOG_STR("mode", argv[3]));
	LOG_ERROR(log, "giving up", LOG_STR("mode", argv[3]));

	if (strcmp(argv[3], "abort") == 0) {
		abort();
	} else {
		/* the unmapped page at 0, as a member of a NULL struct pointer
		 * would hit (a plain NULL is caught earlier by UBSan builds) */
		volatile uintptr_t near_null = 8;
		*(volatile int *)near_null = 42;
	}
	return 0; /* not reached */
}
