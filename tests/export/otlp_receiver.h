/*
 * tests/export/otlp_receiver.h - the stand-in collector of the OTLP tests
 * (tests/otlp/otlp_receiver.py), started and read by test_otlp_export.c's
 * helpers; shared with test_otlp_logs.c.
 */
#ifndef SONDE_TEST_OTLP_RECEIVER_H
#define SONDE_TEST_OTLP_RECEIVER_H

#include <sys/types.h>

typedef struct receiver {
	pid_t pid;
	int port;
	char dir[64];
	char url[128]; /* http://127.0.0.1:PORT/v1/traces */
} receiver;

/* Starts the receiver answering by plan (see otlp_receiver.py). */
void receiver_start(receiver *r, const char *plan);
void receiver_stop(receiver *r);
/* Requests recorded so far; request i's meta lines (free them). */
int receiver_requests(const receiver *r);
char *receiver_meta(const receiver *r, int i);

#endif
