/* SPDX-License-Identifier: BSD-3-Clause */
/* offload.h: the SmartNIC offload manager. */
#ifndef SLUICE_OFFLOAD_H
#define SLUICE_OFFLOAD_H 1

/*
 * What
 *   The offload manager pushes hot megaflows into NIC flow tables.  The
 *   datapath offers megaflows through its offload hooks (dp.h); the manager
 *   translates each (flow, mask, dp_actions, in_port) into rte_flow pattern
 *   and action arrays (offload-xlate.h) and installs them through a
 *   provider (struct offload_class, offload-provider.h, chosen through its
 *   registry): "rte_flow" (any DPDK port with rte_flow: mlx5, ice, i40e,
 *   ...) or "simnic" (the software SmartNIC of simnic.h).  Hardware
 *   counters are polled and folded back into the megaflows
 *   (dp_megaflow_hw_stats()), so dump-flows counts are true; idle rules age
 *   out (AGE action where the NIC has it, else COUNT polling); removed
 *   megaflows leave the NIC before the call that removed them returns.
 *
 * Design
 *   Modes per port: "full" (the NIC executes the actions: DROP, output to
 *   another port of the same NIC, header rewrites, VLAN push/pop/set, with
 *   COUNT and AGE), "partial" (the NIC only MARKs the packet with the
 *   megaflow's id and delivers it to the port's queues (QUEUE, or RSS over
 *   all of them); the PMD then skips its lookups), "none".  A flow the NIC
 *   cannot take falls back full -> partial -> software, and the reason is
 *   kept per flow (enum offload_reason, shown by dump-megaflows and
 *   offload-show) and counted (offload-stats).  EOPNOTSUPP from a provider
 *   means "keep it in software": a counted state, not an error.
 *
 *   Promotion: the datapath offers a megaflow once it carried min_packets
 *   packets or min_pps packets per second.  The offer hook (main thread)
 *   translates at once and queues the rule; the queue is bounded
 *   (queue_size; a full queue declines the offer, so the datapath offers
 *   again later).  ONE offload thread performs every provider call:
 *   inserts, deletes, counter polls (every stats_ms), aged-flow collection,
 *   flushes.  Capacity: at most max_flows rules in hardware, and each NIC
 *   has its own table size; when an insert finds the table full, the
 *   coldest installed rule of that NIC (lowest packet rate over the last
 *   poll) is evicted if it is colder than the new flow ("eviction":
 *   "coldest"), else the new flow stays in software (reason table_full).
 *   Every decision is counted.
 *
 *   Consistency: the datapath hands over its removals as a batch (dp.h,
 *   "Offload hooks"), after releasing the slow-path write lock:
 *   hooks.remove (main thread) cancels a queued insert or hands the rule to
 *   the offload thread for deletion, without waiting; hooks.remove_wait
 *   then waits once for the whole batch (the thread deletes back to back)
 *   and folds each rule's last counters into its megaflow, before the
 *   flow-mod replies.  Port removal deletes the port's rules and
 *   flushes the port; offload_shutdown() does so for every port.  Both
 *   then ask the provider how many rules the port still holds
 *   (port_rules_left: destroys the NIC refused), log any at err level
 *   and count them (offload_stats.left_at_port_del, left_at_shutdown),
 *   so a NIC that keeps rules is reported, not assumed clean.
 *
 * Thread-safety
 *   offload_* functions: main thread.  Providers' ops: offload thread only
 *   (port_init/port_uninit also run there).  The manager's records are
 *   guarded by one mutex; provider calls are made without it.  The
 *   rte_flow AGE event callback (a DPDK interrupt thread) only wakes the
 *   offload thread (offload_wake()).
 *
 * Ownership
 *   offload_create() returns a new manager, freed by offload_destroy()
 *   (after dp_destroy(), which calls hooks.remove for every offered
 *   megaflow).  Ports are borrowed and must stay open until
 *   offload_port_del().  Translated rules (struct offload_rule) are owned
 *   by whoever allocated them; they hold pointers into themselves and must
 *   not be copied with memcpy.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "conntrack.h"
#include "flow.h"
#include "offload-xlate.h"

struct dp;
struct port;
struct offload;
struct offload_port;
struct sw;

/* Where a flow runs. */
enum offload_state {
    OFFLOAD_STATE_SOFTWARE,     /* Not (or no longer) in hardware. */
    OFFLOAD_STATE_QUEUED,       /* Waiting for the offload thread. */
    OFFLOAD_STATE_PARTIAL,      /* MARK rule in hardware. */
    OFFLOAD_STATE_FULL,         /* Executed by hardware. */
};

const char *offload_state_name(enum offload_state);

/* ---- The manager. ---- */

struct offload_config {
    uint64_t min_packets, min_pps;
    unsigned check_ms;
    size_t max_flows;
    size_t queue_size;
    unsigned idle_ms;           /* Hardware idle timeout. */
    unsigned stats_ms;          /* Counter poll interval. */
    bool evict;
    uint32_t simnic_capacity;   /* simnic provider: table size (0: 4096)
                                 * and rules per second (0: unlimited). */
    uint32_t simnic_insert_rate;
    bool sessions;              /* Session offload (see "Sessions"). */
    uint64_t session_min_packets;
    unsigned session_idle_ms;   /* 0: the connection's timeout. */
};

/* Fills 'oc' from the config file's offload section and the datapath's
 * megaflow idle time. */
void offload_config_from_cfg(const struct cfg *, struct offload_config *oc);

/* Creates the manager and its thread, and installs the hooks on 'dp'
 * (borrowed).  Returns 0 or an errno. */
int offload_create(struct dp *dp, const struct offload_config *,
                   struct offload **mgrp, char *err, size_t errsize);
/* Flushes every hardware rule and stops the thread; afterwards
 * hooks.remove only folds counters.  Idempotent. */
void offload_shutdown(struct offload *);
/* Frees the manager (after dp_destroy()).  Calls offload_shutdown() if
 * needed.  NULL ok. */
void offload_destroy(struct offload *);

/* Puts datapath port 'dp_port' ('port', borrowed) under offload as 'oc'
 * says (no-op for mode none).  Call before the port is polled.  A probe
 * failure is not an error: the port runs in software and offload-show
 * says why. */
int offload_port_add(struct offload *, uint32_t dp_port, struct port *,
                     const char *name, const struct cfg_port_offload *oc,
                     char *err, size_t errsize);
/* Flushes and detaches the port (before dp_port_del()). */
void offload_port_del(struct offload *, uint32_t dp_port);

/* Main-thread periodic work: folds polled counters into megaflows, handles
 * aged flows.  Returns the suggested delay in ms. */
unsigned offload_run(struct offload *);
/* Wakes the offload thread (any thread; e.g. an AGE event). */
void offload_wake(struct offload *);

/* Per-flow view for dumps: state and reason of the megaflow 'mf' (a
 * struct dp_megaflow *).  Returns false if the manager has no record. */
struct offload_flow_info {
    enum offload_state state;
    enum offload_reason reason;
    char message[128];
    const char *port;               /* NIC port name, or NULL. */
};
bool offload_flow_get(struct offload *, const void *mf,
                      struct offload_flow_info *);

struct offload_stats {
    uint64_t offered, queued, inserted, removed, aged, evicted;
    uint64_t full, partial;         /* Inserted by kind. */
    uint64_t queue_full, capacity_kept_sw;
    uint64_t failed[OFFLOAD_N_REASONS];     /* Flows kept in software. */
    uint64_t requeued;              /* Back in software, hot again. */
    uint64_t polls, flushed;
    uint64_t left_at_port_del;      /* Rules a removed port left in its
                                     * NIC (the provider's count). */
    uint64_t left_at_shutdown;      /* Rules left in NICs after the
                                     * shutdown flush. */
    uint64_t decap_paired;          /* Decapsulation pairs made, */
    uint64_t decap_refused;         /* refused by the translation, */
    uint64_t decap_now;             /* and pairs now. */
    uint64_t in_hw, queue_len, records;
    uint64_t insert_ns_total, insert_ns_max, insert_ns_last;
};
void offload_get_stats(struct offload *, struct offload_stats *);

/* Ports, for offload-show (main thread; 'op' valid during the call). */
void offload_port_dump(struct offload *,
                       void (*cb)(const struct offload_port *, void *),
                       void *aux);

/* Recently removed hardware flows (aged or evicted), newest last, for a
 * firewall-style flow-removed log. */
#define OFFLOAD_LOG_SIZE 64
struct offload_removed {
    long long when_ms;
    enum offload_reason reason;
    struct flow flow, mask;
    uint32_t in_port;
    uint64_t packets, bytes;        /* Hardware totals. */
};
size_t offload_removed_log(struct offload *, struct offload_removed *out,
                           size_t n);

/* ---- Sessions ----
 *
 * Conntrack session offload (config offload.sessions, off by default):
 * an established TCP or UDP connection whose direction carried
 * 'session_min_packets' in software is installed in the NIC, one full
 * rule per direction, built from what the datapath saw that direction's
 * packets do (dp.h "Sessions"): the match is the first pass's key (input
 * port, exact 5-tuple, TCP with ACK and without SYN, FIN and RST so that
 * those and every invalid flag combination reach software) under both
 * passes' megaflow masks, at a higher rte_flow priority than megaflow
 * rules (OFFLOAD_PRIO_SESSION); the actions
 * are the first pass's header changes (its rewrites and the NAT the
 * connection applies, as whole-field sets) followed by the second pass's
 * actions.  A direction the NIC (or the translation) refuses stays in
 * software, counted, and is offered again after more packets.
 *
 * Identity.  A session is its connection's original tuple and uid
 * (conntrack_conn_uid()): a re-opened tuple is another session.
 *
 * Lifetime.  Each direction's record is tied to both megaflows: when
 * either leaves the datapath (a flow-table change, idle expiry) the rule
 * leaves the NIC with it, in the same removal batch.  A valid FIN or RST
 * that software sees (or a ct() changing the mark or label) tears both
 * directions down at the next datapath drain and the connection goes on
 * in software, with its TCP windows followed but no longer enforced
 * (conntrack.h); so does the tracker's removal of the connection (flush,
 * force).  A check every second (sessions_audit()) removes sessions whose
 * notice was lost to a full queue.  The
 * rules carry AGE (or are aged by counter polling) with the session idle
 * time: offload.sessions.idle_ms, or by default the connection's
 * conntrack timeout for its state when it was installed.  When every
 * direction has aged and software saw nothing since, the connection is
 * closed as "idle" and reported (conntrack-events) with its counts;
 * software and hardware packets both.  A direction evicted, or one whose
 * port went, goes back to software.  While in hardware a connection does
 * not expire in software; its hardware counts are added to it (and to
 * both megaflows) at every counter poll. */
struct offload_session_stats {
    uint64_t offered;           /* Offers from the datapath. */
    uint64_t refused;           /* Not queued (reasons in failed[]). */
    uint64_t queued, installed, failed;
    uint64_t aged;              /* Directions aged in the NIC. */
    uint64_t torn_down;         /* By a FIN/RST/mark change. */
    uint64_t closed_idle;       /* Connections closed by aging. */
    uint64_t returned;          /* Sessions back to software. */
    uint64_t sessions, in_hw;   /* Now: sessions, directions in a NIC. */
    char last_refusal[128];
};
void offload_get_session_stats(struct offload *,
                               struct offload_session_stats *);

struct offload_session_info {
    struct ct_tuple orig;
    struct {
        bool present;
        enum offload_state state;
        enum offload_reason reason;
        char message[128];
        uint32_t in_port;
        const char *port;
        uint64_t hw_packets, hw_bytes;
        unsigned idle_ms;
    } dir[2];
};
/* Calls 'cb' for every session (main thread; 'info' valid during the
 * call; the manager's mutex is held: 'cb' must not call back). */
void offload_session_dump(struct offload *,
                          void (*cb)(const struct offload_session_info *,
                                     void *),
                          void *aux);

/* ---- Decapsulation ----
 *
 * A VXLAN packet for a tunnel endpoint takes two passes in software: the
 * uplink's megaflow A (its only action DPA_TNL_POP) and, after the
 * decapsulation, the tunnel port's megaflow B of the inner packet.
 * Neither can be a NIC rule alone (A's output is a recirculation; B's
 * input port is no NIC's), so the manager pairs them: when A (on a port
 * in full offload whose NIC has VXLAN_DECAP or RAW_DECAP) or B (of a
 * vxlan port) is offered, it looks for the other side among the records
 * it holds.  A and B pair when A's UDP port is B's port's, A matches the
 * outer destination exactly, B's port gives the remote and VNI (or, for
 * remote_ip=flow / key=flow, B matched them exactly), the local address
 * agrees, and the datapath's tunnel map sends (remote, A's destination,
 * VNI) to B's port.  The pair is one full rule (offload_translate() with
 * x->decap, above A's own MARK rule): A's outer match with the tunnel
 * exact, the VNI, B's inner match, VXLAN_DECAP or RAW_DECAP and B's
 * actions, on A's port.  Its record is tied to both megaflows like a
 * session direction: either leaving the datapath takes the rule out of
 * the NIC in the same removal batch.  Its hardware counts go to both
 * megaflows (and so to the rules of both bridges) and to the tunnel
 * port's rx (dp_megaflow_hw_stats()).  B's dump entry shows the pair's
 * state.  A rule that ages out, is evicted or finds the table full goes
 * back to software and is queued again when B is hot again (the retry
 * check).  When the tunnel map changes (ports added, removed or
 * reconfigured), every pair leaves the NIC and the pairs are made again
 * under the new map.  One pair per B (the first A that pairs); a B with
 * several outer paths (two uplinks) is in hardware for one of them. */

/* The manager of a switch (bridge.c), or NULL. */
struct offload *sw_offload(const struct sw *);

#endif /* offload.h */
