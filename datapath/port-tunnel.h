/* SPDX-License-Identifier: BSD-3-Clause */
/* port-tunnel.h: tunnel ports (vxlan, geneve) and their configuration. */
#ifndef SLUICE_PORT_TUNNEL_H
#define SLUICE_PORT_TUNNEL_H 1

/*
 * What
 *   The port classes "vxlan" and "geneve": ports of an integration bridge
 *   that stand for an overlay tunnel to other hosts, configured like Open
 *   vSwitch's userspace tunnels (remote_ip, local_ip, key, dst_port, tos,
 *   ttl, csum, df_default).  They have no device: what they "receive" is
 *   what the datapath decapsulated (DPA_TNL_POP, dp-exec.c), and an output
 *   to one is translated by the bridge into an encapsulation followed by
 *   the underlay bridge's actions (DPA_TNL_PUSH, bridge.c).
 *
 * Design
 *   The classes set no_poll (port-provider.h): the datapath never polls
 *   them.  Their rx queues exist for the counters only, one per PMD tx
 *   qid: the PMD with qid i counts in rx queue i what it decapsulated for
 *   the port, and in tx qid i what it encapsulated (port_tunnel_count_*);
 *   tx qid 0's hardware counters hold what NICs encapsulated for it, rx
 *   queue 0's what they decapsulated (the offloaded megaflows' counters,
 *   added by the main thread; rx_* include them).
 *   send() (never called by the datapath) drops and counts.
 *
 * Thread-safety
 *   port_tunnel_cfg() and the options: main thread (or under the datapath
 *   slow-path lock, which port changes hold for writing).  The counters:
 *   the PMD owning the qid.
 */

#include <stdbool.h>
#include <stdint.h>
#include "port-provider.h"
#include "tnl.h"

struct tnl_port_cfg {
    enum tnl_type type;
    bool is_ipv6;               /* Family of remote_ip (and local_ip). */
    bool remote_flow;           /* remote_ip=flow: from tun_dst. */
    uint8_t remote[16];         /* IPv4 in the first 4 bytes. */
    bool has_local;
    uint8_t local[16];
    bool key_flow;              /* key=flow: from tun_id. */
    uint32_t key;               /* VNI, host order. */
    uint16_t dst_port;          /* Host order. */
    bool tos_inherit;           /* tos=inherit: the inner IP's. */
    uint8_t tos;
    uint8_t ttl;
    bool csum;                  /* Outer UDP checksum. */
    bool df;                    /* IPv4 DF on the outer header. */
};

extern const struct port_class port_vxlan_class;
extern const struct port_class port_geneve_class;

/* The configuration of 'port' if it is a tunnel port (true), else false.
 * 'cfg' may be NULL (a test). */
bool port_tunnel_cfg(const struct port *port, struct tnl_port_cfg *cfg);

/* PMD side: counts 'n' packets of 'bytes' that the PMD with tx qid 'qid'
 * decapsulated for (rx) or encapsulated from (tx) the tunnel port. */
static inline void
port_tunnel_count_rx(struct port *port, unsigned qid, uint64_t n,
                     uint64_t bytes)
{
    struct port_rxq_stats *q = &port->rxq_stats[qid % port->n_rxq];

    __atomic_store_n(&q->packets, q->packets + n, __ATOMIC_RELAXED);
    __atomic_store_n(&q->bytes, q->bytes + bytes, __ATOMIC_RELAXED);
}

static inline void
port_tunnel_count_tx(struct port *port, unsigned qid, uint64_t n,
                     uint64_t bytes)
{
    struct port_txq_stats *q = &port->txq_stats[qid % port->n_txq];

    __atomic_store_n(&q->packets, q->packets + n, __ATOMIC_RELAXED);
    __atomic_store_n(&q->bytes, q->bytes + bytes, __ATOMIC_RELAXED);
}

/* Main thread: counts 'n' packets of 'bytes' a NIC decapsulated for the
 * tunnel port (offloaded megaflows' hardware counters), in its rx. */
static inline void
port_tunnel_count_hw_rx(struct port *port, uint64_t n, uint64_t bytes)
{
    struct port_rxq_stats *q = &port->rxq_stats[0];

    __atomic_fetch_add(&q->hw_packets, n, __ATOMIC_RELAXED);
    __atomic_fetch_add(&q->hw_bytes, bytes, __ATOMIC_RELAXED);
}

/* Main thread: counts 'n' packets of 'bytes' a NIC encapsulated for the
 * tunnel port (offloaded megaflows' hardware counters), as hardware tx. */
static inline void
port_tunnel_count_hw_tx(struct port *port, uint64_t n, uint64_t bytes)
{
    struct port_txq_stats *q = &port->txq_stats[0];

    __atomic_fetch_add(&q->hw_packets, n, __ATOMIC_RELAXED);
    __atomic_fetch_add(&q->hw_bytes, bytes, __ATOMIC_RELAXED);
}

#endif /* port-tunnel.h */
