/* SPDX-License-Identifier: BSD-3-Clause */
/* tunnel.h: the switch's overlay tunnels: encapsulation and decapsulation
 * in translation, the tunnel port map, the underlay's routes. */
#ifndef SLUICE_TUNNEL_H
#define SLUICE_TUNNEL_H 1

/*
 * What
 *   Open vSwitch's userspace tunnelling model.  A physical bridge (say
 *   br-phy) holds the uplink and a tap port whose kernel interface carries
 *   the tunnel endpoint address; an integration bridge (br-int) holds the
 *   VM ports and tunnel ports (port-tunnel.h).  This module gives the
 *   bridges' translation (ofproto.h output hooks) its two decisions:
 *
 *   - Encapsulation: an output to a tunnel port becomes DPA_TNL_PUSH.  The
 *     remote endpoint (the port's remote_ip, or tun_dst with
 *     remote_ip=flow) is routed by the kernel's tables (tnl-route.h); the
 *     route's interface must be a tap port of some bridge; the next hop's
 *     MAC comes from the kernel's neighbour table (a miss asks the kernel
 *     to resolve it and drops the packet, counted as an action skipped,
 *     until the answer revalidates the flow).  The outer header is built
 *     once per translation (tnl.h) and the encapsulated packet is then
 *     translated by the tap's bridge as if the tap had sent it: the
 *     actions of that bridge (NORMAL to the uplink, usually) form the
 *     push's block.  Tunnels do not nest.
 *   - Decapsulation: an output to a tap port of a packet that is UDP to a
 *     port some tunnel listens on, addressed to an address of the tap's
 *     kernel interface and to its MAC, becomes DPA_TNL_POP instead: the
 *     datapath strips the outer headers and delivers the inner packet to
 *     the tunnel port that tnl_map_lookup() selects (remote, local, key).
 *
 *   Route, neighbour or address changes revalidate every megaflow (the
 *   'changed' callback of sw_tunnels_attach()).
 *
 * Thread-safety
 *   sw_tunnels_set_ports(): main thread, slow-path write lock held.  The
 *   hook: any thread, slow-path read lock held (it is translation).
 *   sw_tunnels_publish(), _attach(), _destroy(): main thread, no lock.
 *
 * Ownership
 *   sw_tunnels_create() returns a new object, freed by
 *   sw_tunnels_destroy().  Ports and ofprotos given are borrowed: the
 *   caller sets the ports again before any of them goes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp;
struct event_base;
struct ofproto;
struct ofproto_output_hook;
struct port;
struct sw_tunnels;

struct sw_tunnels *sw_tunnels_create(struct dp *dp);
void sw_tunnels_destroy(struct sw_tunnels *);

/* Starts watching the kernel's routes, addresses and neighbours on
 * 'base'; 'changed' runs on the main thread after each change.  Until
 * this succeeds, encapsulation finds no route (drops).  Returns 0 or an
 * errno with 'err' filled. */
int sw_tunnels_attach(struct sw_tunnels *, struct event_base *base,
                      void (*changed)(void *aux), void *aux, char *err,
                      size_t errsize);

/* The output hook to install on every bridge's ofproto. */
const struct ofproto_output_hook *sw_tunnels_hook(struct sw_tunnels *);

/* True if outputs to 'port' go through the hook: tunnel and tap ports. */
bool sw_tunnels_hooks_port(const struct port *port);

/* One port of a bridge, as the tunnels see it. */
struct sw_tunnel_port {
    struct ofproto *ofp;        /* Its bridge's. */
    const char *bridge;
    uint32_t ofport;
    uint32_t dp_port;
    struct port *port;
    const char *ifname;         /* A tap's kernel interface, else NULL. */
};

/* Replaces the set of tunnel and tap ports (others are ignored).  Slow-
 * path write lock held.  Returns 0, or ENOMEM (the old set stays). */
int sw_tunnels_set_ports(struct sw_tunnels *, const struct sw_tunnel_port *,
                         size_t n);

struct tnl_tlv_map;
/* Replaces the GENEVE TLV map encapsulation sends options by (the
 * datapath's own copy, for decapsulation, is dp_set_tlv_map()'s).
 * Slow-path write lock held. */
void sw_tunnels_set_tlv_map(struct sw_tunnels *, const struct tnl_tlv_map *);

/* Publishes the tunnel port map of the last set for the datapath's
 * decapsulation.  Call after releasing the write lock, and before a
 * removed tunnel port's number can be reused.  Returns 0, ENOMEM or
 * EEXIST (two tunnel ports receive the same packets; logged, and the map
 * then holds the ports up to the first clash). */
int sw_tunnels_publish(struct sw_tunnels *);

/* For dumps: the kernel routes ('neighbours' false) or neighbours, one
 * line each (tnl-route.h), nothing before sw_tunnels_attach(). */
void sw_tunnels_dump(struct sw_tunnels *, bool neighbours,
                     void (*cb)(const char *line, void *aux), void *aux);

#endif /* tunnel.h */
