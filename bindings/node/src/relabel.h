/*
 * relabel.h - the Node binding's registry-wide labels (prom-client's
 * setDefaultLabels): sonde has none, so they are added to every sample of
 * a rendered text page (Prometheus text 0.0.4 or OpenMetrics).
 */
#ifndef SONDE_NODE_RELABEL_H
#define SONDE_NODE_RELABEL_H

#include <stddef.h>

#include <sonde.h>

/* Appends in[0..n) to out with the labels kv added to every sample line:
 * kv holds nkv / 2 pairs (name, value already escaped as the exposition
 * escapes label values), at most 32; lens their lengths. A sample that
 * carries a label of one of those names keeps its own. Comment lines (# ...)
 * and an exemplar after the value are copied as they are. Any input is
 * safe (malformed lines are copied with the labels added after the leading
 * name); out->oom is set when memory ran out. */
void sonde_node_relabel(const char *in, size_t n, const char *const *kv, const size_t *lens,
                        size_t nkv, sonde_buf *out);

#endif
