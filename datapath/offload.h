/* SPDX-License-Identifier: BSD-3-Clause */
/* offload.h: the SmartNIC offload manager and its provider interface. */
#ifndef SLUICE_OFFLOAD_H
#define SLUICE_OFFLOAD_H 1

/*
 * What
 *   The offload manager pushes hot megaflows into NIC flow tables.  The
 *   datapath offers megaflows through its offload hooks (dp.h); the manager
 *   translates each (flow, mask, dp_actions, in_port) into rte_flow pattern
 *   and action arrays and installs them through a provider (struct
 *   offload_class): "rte_flow" (any DPDK port with rte_flow: mlx5, ice,
 *   i40e, ...) or "simnic" (the software SmartNIC of simnic.h).  Hardware
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
 *   Consistency: hooks.remove (main thread) cancels a queued insert or
 *   hands the rule to the offload thread for deletion and waits for it;
 *   the rule's last counters are folded into the megaflow before it
 *   returns.  Port removal flushes the port's rules; offload_shutdown()
 *   flushes every rule (nothing is left in any NIC).
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

#include <rte_flow.h>

#include "actions.h"
#include "config.h"
#include "flow.h"

struct dp;
struct port;
struct offload;
struct offload_port;
struct sw;

enum offload_mode {
    OFFLOAD_MODE_NONE,
    OFFLOAD_MODE_PARTIAL,
    OFFLOAD_MODE_FULL,
};

/* Where a flow runs. */
enum offload_state {
    OFFLOAD_STATE_SOFTWARE,     /* Not (or no longer) in hardware. */
    OFFLOAD_STATE_QUEUED,       /* Waiting for the offload thread. */
    OFFLOAD_STATE_PARTIAL,      /* MARK rule in hardware. */
    OFFLOAD_STATE_FULL,         /* Executed by hardware. */
};

/* Why a flow is not (fully) offloaded.  Counted per reason. */
#define OFFLOAD_REASONS(X)                                              \
    X(NONE, "none")                                                     \
    X(PORT_DISABLED, "port_offload_disabled")                           \
    X(PARTIAL_MODE, "port_mode_partial")                                \
    X(QUEUE_FULL, "queue_full")                                         \
    X(CAPACITY, "max_flows")                                            \
    X(TABLE_FULL, "table_full")                                         \
    X(MATCH_UNSUPPORTED, "match_unsupported")                           \
    X(ACTION_UNSUPPORTED, "action_unsupported")                         \
    X(OUTPUT_OTHER_NIC, "output_to_other_nic")                          \
    X(MULTI_OUTPUT, "multiple_outputs")                                 \
    X(NO_MARK_ID, "no_mark_id")                                         \
    X(NIC_NO_FULL, "nic_cannot_full")                                   \
    X(NIC_NO_PARTIAL, "nic_cannot_partial")                             \
    X(REJECTED, "rejected_by_nic")                                      \
    X(INSERT_FAILED, "insert_failed")                                   \
    X(AGED, "aged")                                                     \
    X(EVICTED, "evicted")                                               \
    X(PORT_REMOVED, "port_removed")

enum offload_reason {
#define OFFLOAD_REASON_ENUM(NAME, STR) OFFLOAD_R_##NAME,
    OFFLOAD_REASONS(OFFLOAD_REASON_ENUM)
#undef OFFLOAD_REASON_ENUM
    OFFLOAD_N_REASONS
};

const char *offload_reason_name(enum offload_reason);
const char *offload_state_name(enum offload_state);
const char *offload_mode_name(enum offload_mode);

/* ---- Translation (pure; tested by tests/test-offload.c). ---- */

#define OFFLOAD_MAX_ITEMS 8
#define OFFLOAD_MAX_ACTIONS 24
#define OFFLOAD_MAX_RSS_QUEUES 64

/* What a NIC port can do, from the probe at port start. */
struct offload_caps {
    bool full;              /* Fate DROP (and so full offload at all). */
    bool partial;           /* MARK + QUEUE/RSS. */
    bool count;             /* COUNT (query counters). */
    bool age;               /* AGE with aged-flow events. */
    bool rewrite;           /* SET_MAC / SET_IPV4 / SET_TP ... */
    bool vlan;              /* OF_PUSH_VLAN / OF_POP_VLAN / OF_SET_VLAN. */
    bool output;            /* Output to a port of the same NIC. */
    bool represented_port;  /* ... with REPRESENTED_PORT (else PORT_ID). */
};

/* A translated rule.  Contains pointers into itself: never memcpy. */
struct offload_rule {
    struct rte_flow_attr attr;
    struct rte_flow_item items[OFFLOAD_MAX_ITEMS];      /* END-terminated */
    struct rte_flow_action actions[OFFLOAD_MAX_ACTIONS]; /* END-term. */
    size_t n_items, n_actions;                          /* without END */

    /* Storage the items and actions point to. */
    struct rte_flow_item_ethdev src_port;
    struct rte_flow_item_port_id src_port_id;
    struct rte_flow_item_eth eth, eth_mask;
    struct rte_flow_item_vlan vlan, vlan_mask;
    struct rte_flow_item_ipv4 ipv4, ipv4_mask;
    struct rte_flow_item_ipv6 ipv6, ipv6_mask;
    union {
        struct rte_flow_item_tcp tcp;
        struct rte_flow_item_udp udp;
        struct rte_flow_item_sctp sctp;
        struct rte_flow_item_icmp icmp;
        struct rte_flow_item_icmp6 icmp6;
    } l4, l4_mask;
    struct rte_flow_action_set_mac mac[4];
    struct rte_flow_action_set_ipv4 ip4[4];
    struct rte_flow_action_set_ipv6 ip6[4];
    struct rte_flow_action_set_tp tp[4];
    struct rte_flow_action_set_ttl ttl[2];
    struct rte_flow_action_set_dscp dscp[2];
    struct rte_flow_action_of_push_vlan push_vlan[2];
    struct rte_flow_action_of_set_vlan_vid vlan_vid[4];
    struct rte_flow_action_of_set_vlan_pcp vlan_pcp[4];
    struct rte_flow_action_ethdev out_port;
    struct rte_flow_action_port_id out_port_id;
    struct rte_flow_action_count count;
    struct rte_flow_action_age age;
    struct rte_flow_action_mark mark;
    struct rte_flow_action_queue queue;
    struct rte_flow_action_rss rss;
    uint16_t rss_queues[OFFLOAD_MAX_RSS_QUEUES];
};

/* Input of offload_translate(). */
struct offload_xlate {
    const struct flow *flow;        /* Masked key (in_port: dp port). */
    const struct flow *mask;
    const struct dp_actions *actions;
    enum offload_mode mode;         /* FULL or PARTIAL rule wanted. */
    const struct offload_caps *caps;
    uint16_t in_nic_port;           /* The input port's NIC port id. */
    /* Full: maps an output datapath port to a NIC port id of the same NIC
     * as the input port; returns false if it is not on that NIC. */
    bool (*resolve)(uint32_t dp_port, uint16_t *nic_port, void *aux);
    void *resolve_aux;
    uint32_t mark;                  /* Partial: the MARK id (nonzero). */
    unsigned n_rxq;                 /* Partial: QUEUE 0 if 1, else RSS. */
    uint32_t age_s;                 /* Full: AGE timeout (0 = no AGE). */
    void *age_context;
};

/* Builds the rule for 'x' into 'r'.  Returns 0, or EOPNOTSUPP with
 * '*reason' set and a message naming the field or action in 'msg'. */
int offload_translate(const struct offload_xlate *x, struct offload_rule *r,
                      enum offload_reason *reason, char *msg,
                      size_t msgsize);

/* ---- Provider interface. ---- */

/* Counters of one hardware rule. */
struct offload_counters {
    uint64_t packets;
    uint64_t bytes;
};

/* One port under offload.  Created by the manager; the provider fills the
 * fields marked (P) in port_init(). */
struct offload_port {
    const struct offload_class *class;
    struct offload *mgr;
    char name[64];
    uint32_t dp_port;
    struct port *port;              /* Borrowed. */
    enum offload_mode mode;
    unsigned n_rxq;
    char nic[64];                   /* (P) NIC group: full offload may
                                     * output between ports of one NIC. */
    uint16_t nic_port_id;           /* (P) id in PORT_ID/REPRESENTED_PORT. */
    struct offload_caps caps;       /* (P) from the probe. */
    char probe[256];                /* (P) human summary of the probe. */
    void *priv;                     /* (P) provider state. */
    size_t n_flows;                 /* Rules installed (manager). */
    bool dead;                      /* Removed (kept until destroy). */
};

struct offload_class {
    const char *name;

    /* Attaches to op->port, probes capabilities (rte_flow_validate on
     * representative rules), fills the (P) fields.  Returns 0 or an errno
     * with 'err' filled (the port then runs without offload). */
    int (*port_init)(struct offload_port *op, char *err, size_t errsize);
    /* Detaches (after flush()): no rule and no receive hook is left. */
    void (*port_uninit)(struct offload_port *op);
    /* Optional: frees op->priv (manager destruction, after the datapath
     * closed its ports). */
    void (*port_free)(struct offload_port *op);

    /* Creates a rule on 'op' and stores its handle in '*handle'.  Returns
     * 0; EOPNOTSUPP (the NIC cannot do it: keep in software), ENOSPC
     * (table full) or another errno, with 'error' filled. */
    int (*flow_put)(struct offload_port *op, const struct rte_flow_attr *,
                    const struct rte_flow_item *,
                    const struct rte_flow_action *, void **handle,
                    struct rte_flow_error *error);
    /* Destroys 'handle', storing its last counters (zeros without COUNT)
     * in '*last'.  The handle is gone even on error. */
    int (*flow_del)(struct offload_port *op, void *handle,
                    struct offload_counters *last);
    /* Reads the counters (totals since creation). */
    int (*flow_query)(struct offload_port *op, void *handle,
                      struct offload_counters *);
    /* Stores up to 'n' AGE contexts of aged rules; returns how many. */
    int (*aged_flows)(struct offload_port *op, void **contexts, int n);
    /* Removes every rule of the port, known to sluice or not; returns how
     * many the NIC had (or 0 if it cannot tell). */
    int (*flush)(struct offload_port *op);
};

extern const struct offload_class offload_rte_flow_class;
extern const struct offload_class offload_simnic_class;

/* The capability probe every provider runs from port_init: one
 * representative rule per capability, validated (never created) through
 * 'validate', which returns true if the NIC accepts the rule and, if
 * 'why' is nonnull and still empty, stores the NIC's reason otherwise.
 * The order is fixed: DROP (full), MARK + QUEUE (partial), COUNT,
 * COUNT + AGE (only with COUNT), SET_IPV4_SRC and OF_POP_VLAN (only with
 * full), then a transfer rule from and to port 'port_id' with
 * REPRESENTED_PORT and, failing that, with PORT_ID; last, if SET_IPV4_SRC
 * or OF_POP_VLAN was refused before DROP but output works, the same before
 * that output (a NIC may rewrite only on the way to a port).  'why' gets
 * the reason full offload was refused. */
typedef bool offload_validate_fn(void *ctx, const struct rte_flow_attr *,
                                 const struct rte_flow_item *,
                                 const struct rte_flow_action *,
                                 char *why, size_t whysize);
void offload_probe(struct offload_caps *, uint16_t port_id,
                   offload_validate_fn *validate, void *ctx,
                   char *why, size_t whysize);

/* Converts a provider's rte_flow result: 'ret' < 0 is -errno; otherwise
 * rte_errno (EIO if unset).  ENOTSUP becomes EOPNOTSUPP. */
int offload_errno(int ret);

/* ---- The manager. ---- */

struct offload_config {
    uint64_t min_packets, min_pps;
    unsigned check_ms;
    size_t max_flows;
    size_t queue_size;
    unsigned idle_ms;           /* Hardware idle timeout. */
    unsigned stats_ms;          /* Counter poll interval. */
    bool evict;
    uint32_t simnic_capacity;
    uint32_t simnic_insert_rate;
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

/* The simnic table size and insertion rate the config asks for. */
struct simnic_params;
void offload_simnic_params(const struct offload *,
                           struct simnic_params *);

/* Control socket (ctl-offload.c): registers offload-show, offload-stats
 * and offload-simnic-set; adds "offload", "offload_reason" and
 * "offload_message" to a dump-megaflows entry of megaflow 'mf'. */
struct ctl_server;
struct json_t;
int ctl_offload_register(struct ctl_server *, struct sw *);
void ctl_offload_megaflow_fields(struct sw *, const void *mf,
                                 struct json_t *obj);

/* The manager of a switch (bridge.c), or NULL. */
struct offload *sw_offload(const struct sw *);

#endif /* offload.h */
