/* lib/collectors/collectors.h - collectors the top layer plugs into the
 * default registry. */
#ifndef SONDE_COLLECTORS_H
#define SONDE_COLLECTORS_H

#include "metrics/metrics-int.h"

/* self_metrics.c: sonde_rejected_values_total, sonde_children_rejected_total
 * and sonde_lost_writes_total on r. Out of memory leaves some out. */
void sonde__self_metrics_register(sonde_registry *r);

#endif
