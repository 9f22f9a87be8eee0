/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-tunnel.h: control-socket methods of overlay tunnels. */
#ifndef SLUICE_CTL_TUNNEL_H
#define SLUICE_CTL_TUNNEL_H 1

/*
 * What
 *   tnl-route-show and tnl-neigh-show: the kernel's routes and neighbours
 *   as the tunnels use them (tnl-route.h), one line each, like Open
 *   vSwitch's ovs/route/show and tnl/neigh/show.  Read-only.
 *   add-tlv-map, del-tlv-map, dump-tlv-map: a bridge's GENEVE TLV
 *   mappings (bridge.h), like ovs-ofctl's.
 */

struct ctl_server;
struct sw;

int ctl_tunnel_register(struct ctl_server *, struct sw *);

#endif /* ctl-tunnel.h */
