/* SPDX-License-Identifier: BSD-3-Clause */
/* tnl-route.h: the underlay's addresses, routes and neighbours (libnl-3). */
#ifndef SLUICE_TNL_ROUTE_H
#define SLUICE_TNL_ROUTE_H 1

/*
 * What
 *   Tunnel encapsulation needs, for a remote endpoint address: the route
 *   (output interface, next hop, source address) and the next hop's MAC.
 *   Decapsulation needs to know which addresses are the host's own on an
 *   interface.  sluice takes all of this from the kernel of its network
 *   namespace, like `ip route get` would: a tap port (port-tap.c) carries
 *   the tunnel endpoint address, and the kernel owns that address, answers
 *   ARP/ND for it and learns its neighbours.
 *
 * Design
 *   At creation, dumps links, IPv4/IPv6 addresses, routes of the main
 *   table (RT_TABLE_MAIN; unicast, local routes skipped; unreachable,
 *   blackhole, prohibit and throw routes kept, as lookup failures) and
 *   neighbours over rtnetlink, then keeps its own copy fresh from the
 *   notifications of RTNLGRP_LINK, IPV4_IFADDR, IPV6_IFADDR, IPV4_ROUTE,
 *   IPV6_ROUTE and NEIGH on a netlink socket watched by the main thread's
 *   libevent loop: nothing is re-read per lookup.  Every change that can
 *   alter a lookup's answer bumps the generation and calls the 'changed'
 *   callback (on the main thread, after the internal lock is released);
 *   the datapath then revalidates the megaflows whose encapsulation it
 *   built.  A lost notification (ENOBUFS on the socket) triggers a full
 *   re-dump.
 *
 *   Route lookup: longest prefix first, then lowest priority (metric);
 *   routes with a gateway give the gateway as next hop, others the
 *   destination itself.  The source address is the route's preferred
 *   source if it has one, else the first address of the output interface
 *   of the same family (IPv6: not link-local unless the destination is).
 *
 *   Neighbours: entries in state REACHABLE, STALE, DELAY, PROBE or
 *   PERMANENT (NOARP too) answer with their MAC; others (INCOMPLETE,
 *   FAILED, none) miss.  A miss asks the kernel to resolve the address
 *   (RTM_NEWNEIGH with NTF_USE and NLM_F_CREATE, which makes it send an
 *   ARP request or a neighbour solicitation as if it had a packet for it),
 *   at most once per second per address; the answer arrives as a
 *   notification.  A STALE hit answers and also asks (our packets bypass
 *   the kernel, which re-verifies a STALE entry only when it is used).
 *
 * Thread-safety
 *   tnl_route_create()/destroy() and the event handling run on the main
 *   thread.  Lookups may run on any thread at any time (the slow path runs
 *   on PMD threads): the tables sit behind an internal rwlock held only
 *   for copying, and a lookup never blocks on netlink I/O (a resolution
 *   request is queued and sent by the main thread, woken with
 *   event_active(): lookups on other threads need libevent's pthreads
 *   support, evthread_use_pthreads() before the base is created, as
 *   sluiced does).
 *
 * Ownership
 *   tnl_route_create() returns a new object freed by tnl_route_destroy().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

struct event_base;
struct tnl_route;

/* Creates the cache on 'base' (borrowed) and loads the kernel's tables.
 * 'changed' (may be NULL) is called on the main thread after any change
 * that bumped the generation.  Returns 0 or an errno with 'err' filled. */
int tnl_route_create(struct event_base *base,
                     void (*changed)(void *aux), void *aux,
                     struct tnl_route **out, char *err, size_t errsize);
void tnl_route_destroy(struct tnl_route *);

/* Bumped by every change that may alter a lookup (relaxed atomic). */
uint64_t tnl_route_generation(const struct tnl_route *);

/* The answer of a route lookup. */
struct tnl_nexthop {
    int ifindex;                    /* Output interface. */
    char ifname[IF_NAMESIZE];
    bool is_ipv6;
    uint8_t src[16];                /* Source address (IPv4: first 4). */
    uint8_t gw[16];                 /* Next hop (gateway or the dst). */
};

/* Looks up the route to 'dst' (IPv4 in the first 4 bytes when !is_ipv6).
 * Returns 0 with '*nh' filled, ENETUNREACH (no route, or a reject route),
 * or EADDRNOTAVAIL (a route but no usable source address on its
 * interface). */
int tnl_route_lookup(struct tnl_route *, bool is_ipv6, const uint8_t *dst,
                     struct tnl_nexthop *nh);

/* The MAC of neighbour 'ip' on 'ifindex': 0 with 'mac' filled, or ENOENT
 * (and resolution is requested, see Design). */
int tnl_neigh_lookup(struct tnl_route *, int ifindex, bool is_ipv6,
                     const uint8_t *ip, uint8_t mac[6]);

/* True if 'ip' is one of the addresses of interface 'ifindex' (0: of any
 * interface). */
bool tnl_route_is_local(struct tnl_route *, int ifindex, bool is_ipv6,
                        const uint8_t *ip);

/* The interface index of 'name', or 0 if the cache has no such link. */
int tnl_route_ifindex(struct tnl_route *, const char *name);

/* For dumps (ovs-appctl ovs/route/show, tnl/neigh/show style): calls
 * 'cb' once per route of the main table ('neighbours' false) or once per
 * neighbour ('neighbours' true), with a line of text ("172.31.0.0/24 dev
 * sl0 src 172.31.0.1", "172.31.0.2 dev sl0 lladdr 02:00:00:00:00:02
 * REACHABLE"). */
void tnl_route_dump(struct tnl_route *, bool neighbours,
                    void (*cb)(const char *line, void *aux), void *aux);

#endif /* tnl-route.h */
