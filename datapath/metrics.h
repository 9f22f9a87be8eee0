/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.h: the switch's figures in the Prometheus text format. */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H 1

/*
 * What
 *   metrics_render() writes every figure an operator scrapes from sluiced
 *   (HTTP GET /metrics, http.h) in the Prometheus text exposition format
 *   0.0.4: per port rx/tx packets, bytes, drops, errors, link and the
 *   provider's own counters; per PMD packets, busy and idle cycles,
 *   lookups by cache tier, upcalls, recirculations and drops by reason;
 *   megaflows, masks, rules, packet buffers and resident memory; offload
 *   insertions, removals and failures by reason; conntrack connections by
 *   protocol and TCP state, creations, removals and drops by reason.
 *   docs/OPERATIONS.md lists the names.
 *
 * Design
 *   Read from the same sources as the control socket's answers
 *   (dump-ports, pmd-stats, resources, offload-stats, conntrack-stats),
 *   without their side effects.  Names follow Prometheus conventions:
 *   sluice_ prefix, counters end in _total, labels name the bridge, port,
 *   ofport, PMD and core; label sets of one family partition it (the
 *   lookup tiers are disjoint, so a sum over them means something).  A
 *   family's samples are written together.  conntrack's TCP states come
 *   from a walk of the table (conntrack_get_stats()), done at most every
 *   5 s (METRICS_CT_WALK_MS; the states may be that old): with millions
 *   of connections the walk costs the main thread, never the PMDs.
 *
 * Thread-safety
 *   Main thread (it reads what the control socket's handlers read).
 */

struct evbuffer;
struct sw;

/* Appends the exposition to 'out'.  Returns 0, or ENOMEM. */
int metrics_render(struct sw *, struct evbuffer *out);

#endif /* metrics.h */
