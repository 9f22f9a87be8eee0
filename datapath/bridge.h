/* SPDX-License-Identifier: BSD-3-Clause */
/* bridge.h: bridges (OpenFlow pipelines) over the datapath, and the switch. */
#ifndef SLUICE_BRIDGE_H
#define SLUICE_BRIDGE_H 1

/*
 * What
 *   struct sw is the whole switch: one datapath (dp.h) shared by every
 *   bridge, and the bridges, each an OpenFlow pipeline (ofproto.h) with its
 *   ports.  It is what main() builds from the config and what the control
 *   socket handlers act on: add/remove ports, flow mods, dumps.
 *
 * Design
 *   The datapath numbers ports globally; a bridge maps its OpenFlow port
 *   numbers to datapath ports.  The datapath's upcall callback (the slow
 *   path) looks up the bridge of the input port, translates the flow with
 *   that bridge's ofproto, and reports the rules hit so the datapath can
 *   credit their counters.  Every change to a bridge's tables or ports is
 *   made under the datapath's slow-path write lock, followed by
 *   dp_revalidate() before the lock is released and dp_synchronize() after:
 *   when a sw_* call that changes flows returns, no packet is forwarded by
 *   a cache entry the change made stale.
 *
 * Thread-safety
 *   All sw_* functions: main thread only.  The callbacks given to the
 *   datapath run on PMD threads under the slow-path read lock.
 *
 * Ownership
 *   sw_create() returns a new switch; sw_destroy() stops everything and
 *   frees it.  Names and configs passed in are copied.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "ofp-parse.h"
#include "ofproto.h"
#include "port.h"

struct sw;
struct capture_set;
struct bridge;
struct dp;
struct port;
struct rte_mempool;

/* Creates the switch from 'cfg' (borrowed): datapath, PMD threads, every
 * bridge, port and flow of the config.  On error nothing is left running
 * and 'err' says what failed (naming the bridge/port/flow). */
int sw_create(const struct cfg *cfg, struct rte_mempool *mp, struct sw **swp,
              char *err, size_t errsize);
void sw_destroy(struct sw *);

struct event_base;
/* Lets the switch watch the kernel's routes, addresses and neighbours on
 * 'base' (the main loop): tunnel encapsulation needs them (tunnel.h).
 * Until then tunnels drop what they should send.  Returns 0 or an errno
 * with 'err' filled. */
int sw_attach_events(struct sw *, struct event_base *base, char *err,
                     size_t errsize);
/* The kernel's routes ('neighbours' false) or neighbours as the tunnels
 * see them, one line each. */
void sw_dump_tunnel_routes(struct sw *, bool neighbours,
                           void (*cb)(const char *line, void *aux),
                           void *aux);

/* Sets the function called after each change of bridges, ports or flows
 * made through sw_* calls (or by sw_run(): expiring flows) has taken
 * effect; the daemon saves its state there (main.c, state.h).  Not called
 * for what sw_create() builds.  NULL: none. */
void sw_set_change_cb(struct sw *, void (*cb)(struct sw *, void *aux),
                      void *aux);

/* Between sw_defer_changes(sw, true) and (sw, false) (they nest), changes
 * do not call the change callback at once but leave it pending, until
 * sw_flush_changes() (which also runs outside such a section).  For a
 * source of many small changes that tolerates a short delay before they
 * are saved: OpenFlow flow mods, each followed by a barrier. */
void sw_defer_changes(struct sw *, bool defer);
bool sw_change_pending(const struct sw *);
void sw_flush_changes(struct sw *);

struct dp *sw_dp(const struct sw *);
/* The packet captures (capture.h). */
struct capture_set *sw_captures(const struct sw *);
/* The closed-connection log (ct-events.h). */
struct ct_events *sw_ct_events(const struct sw *);
/* The packet buffer pool (borrowed). */
struct rte_mempool *sw_mempool(const struct sw *);
/* Periodic work (timeouts, MAC aging, megaflow expiry, stats).  Returns the
 * delay in ms until it wants to run again. */
unsigned sw_run(struct sw *);

struct bridge *sw_find_bridge(const struct sw *, const char *name);
/* Calls 'cb' for each bridge in creation order. */
void sw_for_each_bridge(const struct sw *,
                        void (*cb)(struct bridge *, void *), void *aux);
const char *bridge_name(const struct bridge *);
/* The bridge's pipeline.  Read it only with dp_slow_rdlock() held (or
 * from the main thread without concurrent sw_* mutations: the main thread
 * is the only writer). */
struct ofproto *bridge_ofproto(const struct bridge *);

/* Ports. */
struct bridge_port_info {
    const char *name;
    const char *type;
    uint32_t ofport;
    uint32_t dp_port;
    struct port *port;
    const struct cfg_port *cfg;     /* Options as configured. */
};
/* Adds a port described by 'cp' (borrowed; ofport 0 = lowest free).
 * Returns 0 and the ofport, or an errno with 'err' filled. */
int sw_add_port(struct sw *, struct bridge *, const struct cfg_port *cp,
                uint32_t *ofport, char *err, size_t errsize);
int sw_del_port(struct sw *, struct bridge *, const char *name, char *err,
                size_t errsize);
/* Calls 'cb' for each port of 'br' in ofport order. */
void bridge_port_dump(const struct bridge *,
                      void (*cb)(const struct bridge_port_info *, void *),
                      void *aux);
/* One port's figures, read at one moment (metrics, telemetry). */
struct sw_port_row {
    char bridge[64];
    char name[64];
    uint32_t ofport;
    bool link;
    struct port_stats st;
    const struct port *port;    /* Borrowed: main thread, until the next
                                   port change. */
};
/* Every port of every bridge, bridges in creation order and ports in
 * ofport order: a new array in '*rows' (free() it).  Returns how many, or
 * -1 when out of memory.  Main thread. */
long sw_port_rows(const struct sw *, struct sw_port_row **rows);

/* Calls 'cb' for each failed port of 'br': a port of the config or the
 * saved state that could not be opened at start.  The daemon started
 * without it; it is kept (its name and ofport reserved, saved with the
 * state, tried again at the next start) until sw_del_port() removes it or
 * sw_add_port() of the same name opens it. */
void bridge_failed_port_dump(const struct bridge *,
                             void (*cb)(const struct cfg_port *,
                                        const char *error, void *),
                             void *aux);
/* Finds a port by name; returns false if none. */
bool bridge_port_find(const struct bridge *, const char *name,
                      struct bridge_port_info *);
bool bridge_port_find_ofport(const struct bridge *, uint32_t ofport,
                             struct bridge_port_info *);

/* Flow mods: parse is the caller's; all or nothing; on return the change is
 * in effect everywhere.  *count: flows added / modified / deleted (for
 * replace: flows in the bridge afterwards). */
int sw_flow_mods(struct sw *, struct bridge *, const struct of_flow_spec *,
                 const enum of_flow_cmd *, size_t n, size_t *count,
                 char *err, size_t errsize);
int sw_replace_flows(struct sw *, struct bridge *,
                     const struct of_flow_spec *, size_t n, size_t *count,
                     char *err, size_t errsize);
/* Credits pending datapath statistics to the rules, then dumps (under the
 * read lock). */
void sw_dump_flows(struct sw *, struct bridge *,
                   const struct of_flow_spec *filter,
                   void (*cb)(const struct ofproto_rule_info *, void *),
                   void *aux);
/* The bridge's OpenFlow settings (config.h, openflow.h): as configured,
 * or as sw_set_openflow() last set them (copied; saved with the state).
 * The caller (openflow.h) applies them. */
const struct cfg_openflow *bridge_openflow(const struct bridge *);
int sw_set_openflow(struct sw *, struct bridge *,
                    const struct cfg_openflow *);

/* OpenFlow groups (ofproto.h "Groups"): a group mod in effect when this
 * returns (0 or ofproto_group_mod()'s errors, or a bucket's set_field of
 * a tun_metadata field the TLV map does not allow, ENOKEY or EOVERFLOW
 * as for flows; 'err' filled), saved with the state; a dump (main thread); a port's liveness for select and
 * fast-failover buckets (revalidates when it changes). */
int sw_group_mod(struct sw *, struct bridge *, enum of_group_cmd,
                 const struct of_group_spec *, char *err, size_t errsize);
void sw_dump_groups(struct sw *, struct bridge *, uint32_t id,
                    void (*cb)(const struct ofproto_group_info *, void *),
                    void *aux);
void sw_set_port_live(struct sw *, struct bridge *, uint32_t ofport,
                      bool live);
/* OpenFlow meters (ofproto.h "Meters", dp.h "Meters"): one id is one
 * meter in the whole switch (EEXIST when another bridge has it; ids the
 * datapath cannot meter: ENOSPC).  In effect when this returns; saved
 * with the state.  The dump gives each meter's configuration and its
 * datapath counters. */
struct dp_meter_stats;
int sw_meter_mod(struct sw *, struct bridge *, enum of_group_cmd,
                 const struct of_meter_spec *, char *err, size_t errsize);
void sw_dump_meters(struct sw *, struct bridge *, uint32_t id,
                    void (*cb)(const struct ofproto_meter_info *,
                               const struct dp_meter_stats *, void *),
                    void *aux);

/* Switches 'br' into or out of fail-open (ofproto.h): while on, every
 * packet is switched by NORMAL whatever the tables hold.  In effect when
 * this returns. */
void sw_set_fail_open(struct sw *, struct bridge *, bool on);

/* OpenFlow packet-out: translates 'acts' for the packet 'frame' as
 * received on OpenFlow port 'in_port' (or OFPP_CONTROLLER / OFPP_LOCAL:
 * none) of 'br' and has the datapath execute them (dp.h
 * dp_packet_out()).  Returns 0, EINVAL or ENOENT (bad frame or port),
 * ENOBUFS (queue full) or ENOMEM, with 'err' filled. */
int sw_packet_out(struct sw *, struct bridge *, const void *frame,
                  size_t len, uint32_t in_port, const struct of_actions *acts,
                  char *err, size_t errsize);
/* Called (main thread, slow-path write lock held: read, do not change
 * the switch) for each rule added with send_flow_rem that expires or is
 * deleted (ofproto.h "Removal reports"); counters are final: pending
 * datapath statistics are credited before a delete.  NULL: none. */
void sw_set_flow_removed_cb(struct sw *,
                            void (*cb)(struct bridge *,
                                       const struct ofproto_rule_info *,
                                       enum ofproto_removed_reason,
                                       void *aux),
                            void *aux);
/* The bridge and OpenFlow port of datapath port 'dp_port' (a packet-in's
 * input port), false if it has none. */
bool sw_port_of_dp(const struct sw *, uint32_t dp_port, struct bridge **br,
                   uint32_t *ofport);

/* Port mirrors (mirror.h), kept by port names: a mirror whose output
 * port is not open is inactive, a selected port that is not open is left
 * out, until add-port opens it.  sw_add_mirror() checks 'm' against the
 * bridge (distinct names, known ports, output ports never selected, at
 * most CFG_MAX_MIRRORS in the switch): 0, EEXIST, ENOENT, EINVAL, ENOSPC
 * or ENOMEM with 'err' filled.  sw_del_mirror(): 0 or ENOENT. */
int sw_add_mirror(struct sw *, struct bridge *, const struct cfg_mirror *m,
                  char *err, size_t errsize);
int sw_del_mirror(struct sw *, struct bridge *, const char *name,
                  char *err, size_t errsize);
struct bridge_mirror_info {
    const struct cfg_mirror *cfg;
    bool active;                    /* Its output port is open. */
    uint64_t packets, bytes;        /* Copies sent to the output port. */
    uint64_t dropped;               /* Copies not made (no mbuf). */
};
/* Calls 'cb' for each mirror of 'br' in creation order. */
void bridge_mirror_dump(const struct bridge *,
                        void (*cb)(const struct bridge_mirror_info *, void *),
                        void *aux);

/* GENEVE TLV mappings (tnl.h), ovs-ofctl add-tlv-map's syntax: one or
 * more "{class=C,type=T,len=L}->tun_metadataN" separated by commas.  A
 * bridge keeps the mappings it was given; the datapath and the tunnels
 * use every bridge's together, which must agree (no option or field
 * mapped twice to different things).  sw_add_tlv_map(): 0, EINVAL,
 * EEXIST, ENOSPC or ENOMEM with 'err' filled; sw_del_tlv_map() ('text'
 * NULL or "": all of the bridge's): 0, EINVAL, ENOENT, or EBUSY when a
 * flow of the bridge still matches or sets a field it would unmap (as in
 * Open vSwitch).  Flow mods (sw_flow_mods(), sw_replace_flows()) may use
 * only the fields the bridge's own map names, with values that fit the
 * option (ENOKEY, ERANGE, EOVERFLOW: of_flow_spec_check_tlv()); flows
 * from the config or the saved state are kept (and logged) even so. */
int sw_add_tlv_map(struct sw *, struct bridge *, const char *text,
                   char *err, size_t errsize);
int sw_del_tlv_map(struct sw *, struct bridge *, const char *text,
                   char *err, size_t errsize);
void bridge_tlv_map_dump(const struct bridge *,
                         void (*cb)(const char *text, void *aux), void *aux);
/* The bridge's own mappings. */
const struct tnl_tlv_map *bridge_tlv_map(const struct bridge *);

/* For a dump that outlives one call (a streamed reply): credits pending
 * statistics, then returns the selected rules, referenced, in dump order
 * (ofproto_dump_rules()).  Returns 0 or ENOMEM. */
int sw_dump_flow_rules(struct sw *, struct bridge *,
                       const struct of_flow_spec *filter,
                       struct ofproto_rule ***rules, size_t *n);

#endif /* bridge.h */
