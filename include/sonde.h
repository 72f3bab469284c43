/*
 * sonde.h - the one header most users include.
 *
 * sonde is an embeddable instrumentation SDK: metrics with a lock-free hot
 * path, Prometheus and OpenMetrics exposition, a ring-buffer structured
 * logger and W3C trace context. See README.md for a tour.
 */
#ifndef SONDE_H
#define SONDE_H

#include "sonde/common.h"
#include "sonde/version.h"
#include "sonde/metrics.h"
#include "sonde/expose.h"
#include "sonde/context.h"
#include "sonde/trace.h"
#include "sonde/export.h"
#include "sonde/health.h"
#include "sonde/log.h"
#include "sonde/push.h"
#include "sonde/http.h"
#include "sonde/exporter.h"

#endif /* SONDE_H */
