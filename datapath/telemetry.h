/* SPDX-License-Identifier: BSD-3-Clause */
/* telemetry.h: sluice's own figures over DPDK telemetry. */
#ifndef SLUICE_TELEMETRY_H
#define SLUICE_TELEMETRY_H 1

/*
 * What
 *   Commands under /sluice/ on DPDK's telemetry socket, so that
 *   dpdk-telemetry.py (-f FILE_PREFIX) shows sluice's figures next to
 *   DPDK's own (/ethdev/..., /mempool/...):
 *     /sluice/pmds                 the PMD indexes
 *     /sluice/pmd_stats,N          PMD N's counters (pmd-stats)
 *     /sluice/ports                the ports, as "BRIDGE/PORT"
 *     /sluice/port_stats,BR/PORT   one port's counters (dump-ports)
 *     /sluice/drops                drops by reason, all PMDs, ports and
 *                                  conntrack together
 *     /sluice/offload              the offload manager's counters
 *     /sluice/conntrack            connections and conntrack's counters
 *
 * Design
 *   DPDK answers telemetry on a thread of its own, which must not touch
 *   the switch (bridges and ports change on the main thread).  The main
 *   thread takes a snapshot of the figures once a second
 *   (telemetry_refresh()) and swaps it in under a mutex; the commands read
 *   the latest snapshot, so what they show is at most about a second old.
 *
 * Thread-safety
 *   telemetry_init() and telemetry_refresh(): main thread.  The commands:
 *   DPDK's telemetry thread.
 */

struct sw;

/* Registers the commands (after rte_eal_init()).  Returns 0 or a negative
 * errno. */
int telemetry_init(void);

/* Takes a new snapshot of 'sw' (main thread, about once a second). */
void telemetry_refresh(struct sw *);

/* Drops the snapshot (the commands then answer with empty data). */
void telemetry_fini(void);

#endif /* telemetry.h */
