/* SPDX-License-Identifier: BSD-3-Clause */
/* offload-xlate.h: megaflow -> rte_flow translation and capability probe. */
#ifndef SLUICE_OFFLOAD_XLATE_H
#define SLUICE_OFFLOAD_XLATE_H 1

/*
 * What
 *   The pure half of offload: turns a megaflow (masked flow, mask,
 *   dp_actions, input port) into the rte_flow_attr / rte_flow_item /
 *   rte_flow_action arrays a NIC takes (offload_translate()), and probes
 *   what a NIC port can do with one representative rule per capability
 *   (offload_probe()).  Every provider (offload-provider.h) consumes the
 *   same arrays, so the translation is tested for real against simnic.
 *
 * Design
 *   A "full" rule carries the megaflow's actions (DROP, output to a port
 *   of the same NIC, header rewrites, VLAN push/pop/set, a tunnel
 *   encapsulation before that output, COUNT, AGE); a
 *   "partial" rule only MARKs the packet and delivers it to the port's
 *   queues (QUEUE, or RSS over all of them).  What a NIC port cannot do
 *   (struct offload_caps, from the probe) or what has no rte_flow
 *   equivalent is refused with EOPNOTSUPP and a reason (enum
 *   offload_reason, an X-macro counted by the manager) and a message that
 *   names the field or action.  Sets that rte_flow cannot express under a
 *   mask are widened to whole fields where the megaflow's match makes the
 *   result equal.
 *
 * Thread-safety
 *   Pure functions of their arguments; any thread.
 *
 * Ownership
 *   The caller owns the struct offload_rule it passes; it holds pointers
 *   into itself and must not be copied with memcpy.  Everything else is
 *   borrowed for the call.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_flow.h>

#include "actions.h"
#include "flow.h"
#include "tnl.h"

enum offload_mode {
    OFFLOAD_MODE_NONE,
    OFFLOAD_MODE_PARTIAL,
    OFFLOAD_MODE_FULL,
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
const char *offload_mode_name(enum offload_mode);

#define OFFLOAD_MAX_ITEMS 12
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
    bool vxlan_encap;       /* VXLAN_ENCAP before an output. */
    bool raw_encap;         /* RAW_ENCAP before an output. */
    bool vxlan_decap;       /* A VXLAN item and VXLAN_DECAP ... */
    bool raw_decap;         /* ... or RAW_DECAP, before an output. */
    bool mark_delivery;     /* The MARK reaches software (mbuf FDIR_ID):
                             * negotiated with the PMD, or a NIC model.
                             * Set by the provider, not offload_probe();
                             * without it, partial is false. */
};

/* The items of one set of headers (a frame, or a tunnel's inner frame). */
struct offload_hdrs {
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
    struct offload_hdrs hdr;        /* The frame (the outer headers of a
                                     * decapsulation). */
    struct offload_hdrs inner;      /* A decapsulation's inner frame. */
    struct rte_flow_item_vxlan vxlan, vxlan_mask;
    struct rte_flow_action_raw_decap raw_decap;
    uint16_t decap_len;             /* A decapsulation: the outer bytes
                                     * the rule strips. */
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
    /* A tunnel encapsulation: VXLAN_ENCAP's definition, or RAW_ENCAP's
     * bytes (the template the slow path built, tunnel.c). */
    struct rte_flow_action_vxlan_encap vxlan_encap;
    struct rte_flow_item encap_items[5];
    struct rte_flow_item_eth encap_eth;
    struct rte_flow_item_ipv4 encap_ipv4;
    struct rte_flow_item_ipv6 encap_ipv6;
    struct rte_flow_item_udp encap_udp;
    struct rte_flow_item_vxlan encap_vxlan;
    struct rte_flow_action_raw_encap raw_encap;
    uint8_t encap_data[TNL_HDR_MAX];
};

/* A VXLAN decapsulation in the NIC (offload_translate(), "Tunnels"). */
struct offload_decap {
    const struct flow *flow, *mask; /* The first pass (a DPA_TNL_POP
                                     * megaflow): the outer headers. */
    bool is_ipv6;
    uint32_t src4, dst4;            /* be32: outer source, destination */
    uint8_t src6[16], dst6[16];
    uint16_t udp_port;              /* be16 */
    uint32_t vni;                   /* Host order. */
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
    uint32_t in_mtu;                /* Full: the input port's L3 MTU (0:
                                     * unknown); bounds the frames an
                                     * encapsulation gets (see
                                     * offload_translate()). */
    uint32_t mark;                  /* Partial: the MARK id (nonzero). */
    unsigned n_rxq;                 /* Partial: QUEUE 0 if 1, else RSS. */
    uint32_t age_s;                 /* Full: AGE timeout (0 = no AGE). */
    void *age_context;
    uint32_t priority;              /* rte_flow attr priority (0 first):
                                     * OFFLOAD_PRIO_*. */
    const struct offload_decap *decap;  /* Full: a decapsulation whose
                                     * second pass 'flow', 'mask' and
                                     * 'actions' are; or NULL. */
};

/* Rule priorities: a session's rule is more specific than the megaflow
 * rules its packets would also hit (the first pass's partial MARK rule),
 * and must win. */
#define OFFLOAD_PRIO_SESSION 0
#define OFFLOAD_PRIO_MEGAFLOW 1

/* "vxlan+raw", "vxlan", "raw" or "none": the encapsulations of 'c'. */
const char *offload_encap_caps(const struct offload_caps *c);
/* The same for decapsulation. */
const char *offload_decap_caps(const struct offload_caps *c);

/* Builds the rule for 'x' into 'r'.  Returns 0, or EOPNOTSUPP with
 * '*reason' set and a message naming the field or action in 'msg'.
 *
 * Tunnels.  A megaflow ending in a DPA_TNL_PUSH block whose underlay
 * actions are one output to a port of the same NIC becomes the inner
 * packet's rewrites, VXLAN_ENCAP (a VXLAN template, when the NIC takes
 * it) or RAW_ENCAP (GENEVE, or VXLAN on a NIC with RAW_ENCAP only) of
 * the template the slow path built, then that output.  The NIC fills in
 * the lengths and the IPv4 checksum and, the template's UDP source port
 * being 0, an entropy port from the inner packet; it computes no outer
 * UDP checksum, so a tunnel with csum=true stays in software.  The
 * software datapath drops (and counts) an inner frame longer than the
 * underlay's MTU carries (tnl_push.max_inner); a NIC cannot, so the rule
 * is only built when no frame the input port delivers (in_mtu + 14, + 4
 * per VLAN tag pushed before) can be too long; a tagged frame's 4 bytes
 * more are kept out by matching untagged frames only when needed.
 * Decapsulation: a megaflow with DPA_TNL_POP is refused in full mode
 * (partial offload, MARK, of it works like any other's), and so is one
 * of a decapsulated packet (tunnel metadata) alone.  With x->decap, the
 * rule is both passes of a VXLAN packet: the pattern is the first pass's
 * outer headers (d->flow under d->mask) with the tunnel's addresses and
 * UDP port exact, no fragment and (IPv4) no options, a VXLAN item with
 * the VNI and the I flag, and the inner frame under the second pass's
 * mask ('flow', 'mask'; what that mask holds of the tunnel metadata must
 * agree with 'd', and tun_tos, tun_ttl, tun_flags other than the key
 * bit, and tun_metadata are refused); the actions are VXLAN_DECAP (or
 * RAW_DECAP of the outer length, r->decap_len: untagged outer frames
 * only unless the first pass matched the tag) and then the second
 * pass's ('actions').  Full mode only.  A NIC rule does not check the
 * outer IPv4 and UDP checksums and lengths as software does (simnic
 * does, with tnl_parse()). */
int offload_translate(const struct offload_xlate *x, struct offload_rule *r,
                      enum offload_reason *reason, char *msg,
                      size_t msgsize);

/* The capability probe every provider runs from port_init: one
 * representative rule per capability, validated (never created) through
 * 'validate', which returns true if the NIC accepts the rule and, if
 * 'why' is nonnull and still empty, stores the NIC's reason otherwise.
 * The order is fixed: DROP (full), MARK + QUEUE (partial), COUNT,
 * COUNT + AGE (only with COUNT), SET_IPV4_SRC and OF_POP_VLAN (only with
 * full), then a transfer rule from and to port 'port_id' with
 * REPRESENTED_PORT and, failing that, with PORT_ID; then, if SET_IPV4_SRC
 * or OF_POP_VLAN was refused before DROP but output works, the same before
 * that output (a NIC may rewrite only on the way to a port); last, with
 * full and output, VXLAN_ENCAP and then RAW_ENCAP (a VXLAN template)
 * before that output, then a VXLAN pattern (outer ETH / IPV4 / UDP to
 * 4789 / VXLAN / inner ETH) from that port with VXLAN_DECAP and then
 * RAW_DECAP before it.  'why' gets
 * the reason full offload was refused. */
typedef bool offload_validate_fn(void *ctx, const struct rte_flow_attr *,
                                 const struct rte_flow_item *,
                                 const struct rte_flow_action *,
                                 char *why, size_t whysize);
void offload_probe(struct offload_caps *, uint16_t port_id,
                   offload_validate_fn *validate, void *ctx,
                   char *why, size_t whysize);

#endif /* offload-xlate.h */
