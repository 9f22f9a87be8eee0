/* SPDX-License-Identifier: BSD-3-Clause */
/* simnic.h: a software SmartNIC that takes rte_flow rules. */
#ifndef SLUICE_SIMNIC_H
#define SLUICE_SIMNIC_H 1

/*
 * What
 *   A model of a SmartNIC's flow engine, attached to ports of any type
 *   (dummy ports in tests, net_pcap / net_null ethdevs in benchmarks): a
 *   flow table with a capacity and an insertion rate, per-rule counters,
 *   AGE timeouts reported as aged flows, and the same rte_flow_attr /
 *   rte_flow_item / rte_flow_action arrays a real NIC takes.  It sees each
 *   received packet before software (through the port's receive hook,
 *   port-provider.h): a packet that hits a full rule is dropped, or
 *   rewritten, encapsulated if the rule says so (VXLAN_ENCAP, RAW_ENCAP:
 *   VXLAN or GENEVE over IPv4 or IPv6, as mlx5 takes them) and
 *   transmitted on a port of the same NIC (through the port layer's
 *   hardware transmit, port_hw_tx_burst(), so the port counts it as
 *   hw_tx_packets), and counted as a hardware packet; a VXLAN packet
 *   that hits a decap rule (a VXLAN item, VXLAN_DECAP or RAW_DECAP) is
 *   dropped, or stripped of its outer headers, its inner frame rewritten
 *   and transmitted the same way; a packet that hits a MARK rule gets the
 *   mark in its mbuf (RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID,
 *   hash.fdir.hi) and goes to software; misses go to software untouched.
 *   Ports attached under one NIC name share one table (one e-switch), so a
 *   transfer rule may output from one to another.
 *
 * Design
 *   Rules are compiled into a (flow, mask) match over the parser's key
 *   (flow.h: in_port = the NIC port id) kept in a tuple-space classifier
 *   (cls.h), and a list of header rewrites executed with pkt_rewrite().
 *   An encapsulation is compiled into an outer header template (tnl.h)
 *   prepended after the rewrites and completed per packet by tnl_finish():
 *   IP lengths, IPv4 checksum (the IPv4 id stays the template's), UDP
 *   length, the UDP source port when the template's is 0 (the entropy
 *   port of a hash of the rewritten inner packet's addresses, protocol
 *   and ports), no outer UDP checksum (0, also over IPv6: RFC 6935).
 *   VXLAN_ENCAP's definition must be ETH / IPV4 or IPV6 / UDP / VXLAN,
 *   each with a spec (masks ignored; else EINVAL): addresses, IPv4 TOS,
 *   DF and id, IPv6 traffic class and flow label, UDP ports and VNI come
 *   from the specs; the ethertype, IP version (IPv4 without options) and
 *   protocol and the VXLAN flags (I) are the NIC's; a 0 TTL or hop limit
 *   becomes 64, a 0 UDP destination port 4789.  RAW_ENCAP's bytes are
 *   taken as given once checked to be Ethernet / IPv4 (IHL 5, not a
 *   fragment) or IPv6 (next header UDP) / UDP / at least 8 bytes, at
 *   most TNL_HDR_MAX in all (else EINVAL).  The rule's counters count
 *   the packet as received (without the outer header); one that cannot be
 *   encapsulated (no headroom, over 64 KiB, multi-segment and no memory
 *   to linearise it) is dropped and counted in hw_dropped.
 *   Decapsulation: a pattern with a VXLAN item, [port item] / ETH /
 *   [VLAN] / IPV4 or IPV6 / UDP / VXLAN / [ETH / [VLAN] / [IPV4 or IPV6
 *   / [L4]]], matches the outer headers with the items before VXLAN (the
 *   outer IPV4 item may match version_ihl 0x45, "no options", which
 *   fixes the outer length when the tag's presence is matched), the
 *   VNI with the VXLAN item (VNI bits, and the I flag set), the inner
 *   frame with those
 *   after it (none: any frame); the UDP item's destination port, exact
 *   or unmasked (then 4789), is the tunnel's.  The actions are [COUNT]
 *   [AGE] VXLAN_DECAP or RAW_DECAP (size: the outer headers the pattern
 *   implies, 14 + 4 per VLAN item + 20 or 40 + 8 + 8, else EINVAL; data
 *   unused), rewrites of the inner packet (their checks, such as SET_IPV4
 *   needing an IPV4 item, look at the inner items), then an output
 *   (transfer) or DROP.  Such rules live in a classifier of their own,
 *   keyed by the inner frame's key (flow_extract() after the outer
 *   headers; in_port the NIC port) with the tunnel metadata tnl_parse()
 *   gives (VNI, outer addresses, TOS, TTL) in its tunnel fields and the
 *   outer headers' other fields (Ethernet, VLAN, IPv6 flow label,
 *   fragment bits, UDP ports) and length in its conntrack words, which a
 *   received packet's key leaves zero; a rule's (flow, mask) is made the
 *   same way of its items, so one lookup finds the decap rule that
 *   matches outer headers, VNI and inner frame together, the lowest
 *   priority number winning as in the main table.  RAW_DECAP strips a
 *   fixed length, so its rule matches only outer headers of exactly its
 *   size (no IPv4 options, no tag more than its VLAN items say);
 *   VXLAN_DECAP strips what tnl_parse() says.  Decap rules count against
 *   the capacity like any.  On a NIC with decap rules (and only there), a
 *   received IP packet that is UDP to one of their ports (at most 8
 *   distinct ports per NIC; a rule on a 9th is ENOSPC) is linearised if
 *   in segments, checked by tnl_parse(TNL_VXLAN) (a packet it refuses:
 *   bad IPv4 or nonzero and wrong UDP checksum, truncated, fragment...,
 *   matches no decap rule) and looked up there first, whatever the
 *   priorities in the main table; what matches no decap rule goes on to
 *   the main table as any packet (a MARK rule on its outer headers still
 *   marks it).  A hit counts its outer bytes; the outer headers are
 *   stripped as software's tunnel pop does (the inner frame keeps any
 *   Ethernet padding of the outer one).
 *   What real NICs reject is rejected here too, with an rte_flow_error
 *   message: range matches ("last"), fields a NIC cannot match (IPv4
 *   checksum, TCP sequence numbers...), QinQ, egress rules, groups other
 *   than 0, rewrites without an output, more than one fate, output
 *   without a transfer rule, a VLAN item in VXLAN_ENCAP's definition,
 *   RAW_ENCAP with preserve, more than one encapsulation, a rewrite after
 *   it (it would apply to the outer header), an encapsulation without a
 *   transfer rule and an output port, a decapsulation without a VXLAN
 *   item and a VXLAN item without one, a rewrite before it, more than one
 *   decapsulation, a decapsulation with an encapsulation or with MARK,
 *   QUEUE or RSS, a VXLAN item not after UDP or masking VXLAN flags, a
 *   partially masked tunnel UDP port, GENEVE items, unknown items and
 *   actions (EOPNOTSUPP);
 *   a full table (ENOSPC); injected failures (EIO, simnic_fail_next()).
 *   The insertion rate is modelled as time: each insertion takes
 *   1/insert_rate seconds of the caller's time.  Hardware output is
 *   batched: a run of packets of one receive burst to one output port
 *   leaves in one port_hw_tx_burst().
 *
 * Thread-safety
 *   One rwlock per NIC: the receive path takes it for reading, table
 *   changes for writing, so once simnic_flow_destroy() returns no packet
 *   is handled by that rule any more, and once simnic_port_detach()
 *   returns nothing is transmitted on that port any more.  The receive
 *   path (simnic_rx()) runs on the thread that polls the input port's rx
 *   queue: the PMD, inside port_rx_burst().  Its hardware output uses that
 *   thread's tx qid (port_set_thread_txq(): PMD i transmits with qid i, as
 *   it does from software), so it obeys the output port's tx queue
 *   ownership and, where queues are shared (txq_shared), its locks; any
 *   port type may be an output.  Counters are updated with atomics.  The
 *   NIC registry has its own mutex.
 *
 * Ownership
 *   simnic_get() returns a reference (new NIC or existing one of that
 *   name), released with simnic_put(); the last put frees the NIC, which
 *   must have no attached port.  Rules belong to the NIC until destroyed.
 *   Attached ports are borrowed and must be detached before they close.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct port;
struct rte_flow_attr;
struct rte_flow_item;
struct rte_flow_action;
struct rte_flow_error;
struct rte_mbuf;
struct simnic;
struct simnic_rule;

#define SIMNIC_MAX_PORTS 16

struct simnic_params {
    uint32_t capacity;          /* Rules (>= 1). */
    uint32_t insert_rate;       /* Rules per second; 0 = unlimited. */
};

struct simnic *simnic_get(const char *name, const struct simnic_params *);
void simnic_put(struct simnic *);
const char *simnic_name(const struct simnic *);
/* Calls 'cb' for every NIC (registry locked during the walk). */
void simnic_for_each(void (*cb)(struct simnic *, void *), void *aux);
struct simnic *simnic_find(const char *name);   /* No reference taken. */
void simnic_set_params(struct simnic *, const struct simnic_params *);
/* The next 'n' insertions fail with EIO. */
void simnic_fail_next(struct simnic *, unsigned n);
/* The next 'n' rule removals (simnic_flow_destroy(), and each rule
 * simnic_flow_flush() would remove) fail: the rule stays, as on a NIC
 * that refuses a destroy.  simnic_port_detach() still removes all. */
void simnic_fail_destroy(struct simnic *, unsigned n);

/* Attaches 'port' and installs its receive hook; '*id' gets the NIC port
 * id (used in PORT_ID / REPRESENTED_PORT).  ENOSPC if the NIC has
 * SIMNIC_MAX_PORTS ports. */
int simnic_port_attach(struct simnic *, struct port *, uint16_t *id);
/* Removes the rules created on the port, and the receive hook. */
void simnic_port_detach(struct simnic *, uint16_t id);

/* rte_flow equivalents.  Return 0 or a positive errno with 'error'
 * filled (its message is valid until the thread's next simnic call). */
int simnic_flow_validate(struct simnic *, uint16_t port,
                         const struct rte_flow_attr *,
                         const struct rte_flow_item *,
                         const struct rte_flow_action *,
                         struct rte_flow_error *);
int simnic_flow_create(struct simnic *, uint16_t port,
                       const struct rte_flow_attr *,
                       const struct rte_flow_item *,
                       const struct rte_flow_action *,
                       struct simnic_rule **rulep, struct rte_flow_error *);
/* Removes and frees 'rule', storing its counters (if not NULL).  Returns
 * 0, or EIO (simnic_fail_destroy()): the rule stays in the NIC, which
 * owns it (a flush or the NIC's end frees it); counters still stored. */
int simnic_flow_destroy(struct simnic *, struct simnic_rule *,
                        uint64_t *packets, uint64_t *bytes);
void simnic_flow_query(struct simnic *, const struct simnic_rule *,
                       uint64_t *packets, uint64_t *bytes);
/* Contexts of rules created on 'port' whose AGE timeout passed without a
 * hit and that were not reported yet (each is reported once). */
int simnic_get_aged_flows(struct simnic *, uint16_t port, void **contexts,
                          int n);
/* Destroys the rules created on 'port' and those that output to it;
 * returns how many (what simnic_fail_destroy() refuses stays). */
int simnic_flow_flush(struct simnic *, uint16_t port);
/* Rules created on 'port' still in the NIC. */
size_t simnic_port_n_rules(struct simnic *, uint16_t port);

/* The receive path (what the port hook calls): handles 'pkts' as the NIC
 * would; returns how many are left for software (compacted in order). */
int simnic_rx(struct simnic *, uint16_t port, struct rte_mbuf **pkts,
              int n);

struct simnic_stats {
    uint64_t rules, capacity, insert_rate;
    uint64_t inserted, insert_failed, table_full, rejected, removed;
    uint64_t destroy_failed;        /* Refused (simnic_fail_destroy()). */
    uint64_t hw_packets, hw_bytes;  /* Handled by full rules. */
    uint64_t hw_dropped, hw_forwarded, hw_tx_failed;
    uint64_t marked, misses;
    unsigned n_ports;
};
void simnic_get_stats(struct simnic *, struct simnic_stats *);
size_t simnic_n_rules(struct simnic *);

#endif /* simnic.h */
