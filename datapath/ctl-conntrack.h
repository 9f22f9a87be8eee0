/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-conntrack.h: control-socket methods of the connection tracker. */
#ifndef SLUICE_CTL_CONNTRACK_H
#define SLUICE_CTL_CONNTRACK_H 1

/*
 * What
 *   dump-conntrack [zone] (each connection as Open vSwitch's dpctl prints
 *   it, and its fields), flush-conntrack [zone] [tuple] (the tuple in
 *   ovs-dpctl's ct-orig-tuple syntax: "ct_nw_src=..,ct_nw_dst=..,
 *   ct_nw_proto=6,ct_tp_src=..,ct_tp_dst=.."), conntrack-stats
 *   (connections by protocol and TCP state, created and removed totals,
 *   new connections per second since the previous call, drops by reason,
 *   limits), conntrack-events [after] (closed-connection records,
 *   ct-events.h) and conntrack-set (max_conns, a zone's limit, timeouts
 *   by name, at run time).
 *
 * Design
 *   Handlers parse and format only; they call conntrack.h through the
 *   datapath's tracker (dp_conntrack()).
 *
 * Thread-safety
 *   Main thread.
 *
 * Ownership
 *   'sw' is borrowed and outlives the registration.
 */

struct ctl_server;
struct ct_tuple;
struct json_t;
struct sw;

int ctl_conntrack_register(struct ctl_server *, struct sw *);
/* A connection tuple as the conntrack methods show it ({"src", "dst",
 * "proto", "sport", "dport"} or ICMP's {"id", "type", "code"}). */
struct json_t *ctl_ct_tuple_json(const struct ct_tuple *);

#endif /* ctl-conntrack.h */
