/* SPDX-License-Identifier: BSD-3-Clause */
/* mirror.h: port mirroring in the datapath (SPAN, like Open vSwitch's
 * Mirror table). */
#ifndef SLUICE_MIRROR_H
#define SLUICE_MIRROR_H 1

/*
 * What
 *   Copies of the packets some ports receive and send, out of another
 *   port (a tap where tcpdump runs, an analyser's NIC).  A mirror selects
 *   packets by the port that received them (its sources), by the port
 *   that sends them (its destinations), and optionally by their VLAN; its
 *   output port then carries its copies and nothing else: the datapath
 *   drops what the port receives, and any other packet sent to it, as
 *   "mirror_output_port", and flooding leaves it out (like Open vSwitch).
 *   A packet selected both when received and when sent by one mirror is
 *   copied once, as received.  A tunnel port (vxlan, geneve) receives
 *   what the datapath decapsulated for it and sends what it encapsulates:
 *   its mirrors copy the inner packets (dp-exec.c); it cannot be a
 *   mirror's output.  The bridge layer keeps mirrors by port
 *   name (config "mirrors", add-mirror; docs/OPERATIONS.md, "Port
 *   mirroring") and builds this table again whenever a mirror or a port
 *   changes.
 *
 * Design
 *   One immutable table for the whole switch, published with an atomic
 *   pointer and replaced whole (RCU: the old one is freed after a grace
 *   period).  A PMD loads the pointer once per poll iteration; with no
 *   mirror it is NULL and costs one test per received and per sent burst.
 *   Copies are taken when the packets are received (before any action
 *   rewrites them) and when a port's burst is flushed (as sent), made
 *   with rte_pktmbuf_copy() from the switch's mbuf pool, and queued on the
 *   output port like any other output; a copy that finds no mbuf is
 *   counted as the mirror's 'dropped'.  An original that a mirror copied
 *   carries that mirror's bit in a dynamic mbuf field (flagged by a
 *   dynamic ol_flag), so that the same mirror does not copy it again when
 *   it is sent; copies carry another flag, the only packets their output
 *   port will send.
 *
 * Thread-safety
 *   mirror_rx() / mirror_tx(): PMD threads, with a table loaded in the
 *   current poll iteration.  Everything else: the main thread.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp.h"

struct rte_mbuf;
struct dp_pmd;

#define DP_MAX_MIRRORS 32           /* Mirror indexes 0..31 (bit masks). */

/* A mirror's counters, owned by the bridge layer; written by PMDs. */
struct dp_mirror_stats {
    _Atomic uint64_t packets;       /* Copies queued on the output port. */
    _Atomic uint64_t bytes;
    _Atomic uint64_t dropped;       /* Copies not made: no mbuf. */
};

/* One mirror, as the bridge layer describes it to dp_mirrors_build(). */
struct dp_mirror_def {
    unsigned index;                 /* 0..DP_MAX_MIRRORS-1, distinct. */
    uint32_t out_port;              /* Datapath port number. */
    const uint32_t *src;            /* Datapath ports: received by. */
    size_t n_src;
    const uint32_t *dst;            /* Datapath ports: sent by. */
    size_t n_dst;
    const uint16_t *vlans;          /* Only packets tagged with one of */
    size_t n_vlans;                 /*   these (outer tag); 0 = any. */
    struct dp_mirror_stats *stats;  /* Borrowed; must outlive the table. */
};

struct dp_mirrors;

/* Registers the mbuf flags and field (once per process; after
 * rte_eal_init()).  Returns 0 or a positive errno. */
int mirror_init(void);

/* Builds a table of 'n' mirrors.  A port that is the output of one
 * mirror must not be selected by any (the bridge layer checks).  Returns
 * NULL on ENOMEM. */
struct dp_mirrors *dp_mirrors_build(const struct dp_mirror_def *defs,
                                    size_t n);
void dp_mirrors_free(struct dp_mirrors *);

/* Publishes 'mt' (NULL: no mirror) for the PMDs, waits for a grace period
 * and frees the table it replaced.  Takes 'mt'.  Main thread. */
void dp_set_mirrors(struct dp *, struct dp_mirrors *mt);

struct dp_actions;
/* True if a mirror of 'mt' (NULL: none) selects what 'in_port' receives,
 * or what one of the outputs of 'actions' sends (a tunnel port's
 * encapsulations included), or if one of those ports is a mirror's
 * output.  Such traffic must stay in software: a NIC that
 * forwards it would skip the copies (main thread: offload offers and
 * revalidation). */
bool dp_mirrors_involve(const struct dp_mirrors *mt, uint32_t in_port,
                        const struct dp_actions *actions);

/* PMD side.  On a burst of 'n' packets received on 'port_no': drops them
 * all if the port is a mirror output (returns 0), else queues the copies
 * the mirrors selecting it want and returns 'n'. */
unsigned mirror_rx(struct dp_pmd *, const struct dp_mirrors *,
                   uint32_t port_no, struct rte_mbuf **pkts, unsigned n);
/* On a burst about to be sent by 'port_no': if the port is a mirror
 * output, drops (counted) whatever is not a mirror copy; else queues the
 * copies the mirrors selecting it want.  Returns the packets left in
 * 'pkts' (compacted). */
unsigned mirror_tx(struct dp_pmd *, const struct dp_mirrors *,
                   uint32_t port_no, struct rte_mbuf **pkts, unsigned n);

#endif /* mirror.h */
