/* SPDX-License-Identifier: BSD-3-Clause */
/* offload.c: megaflow -> rte_flow translation and the offload manager. */

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

#include "dp.h"
#include "offload.h"
#include "port.h"
#include "simnic.h"

/* ---- Names. ---- */

static const char *const reason_names[] = {
#define OFFLOAD_REASON_NAME(NAME, STR) STR,
    OFFLOAD_REASONS(OFFLOAD_REASON_NAME)
#undef OFFLOAD_REASON_NAME
};

const char *
offload_reason_name(enum offload_reason r)
{
    return (unsigned) r < OFFLOAD_N_REASONS ? reason_names[r] : "?";
}

const char *
offload_state_name(enum offload_state s)
{
    switch (s) {
    case OFFLOAD_STATE_SOFTWARE:
        return "none";
    case OFFLOAD_STATE_QUEUED:
        return "queued";
    case OFFLOAD_STATE_PARTIAL:
        return "partial";
    case OFFLOAD_STATE_FULL:
        return "full";
    }
    return "?";
}

const char *
offload_mode_name(enum offload_mode m)
{
    return m == OFFLOAD_MODE_FULL ? "full"
           : m == OFFLOAD_MODE_PARTIAL ? "partial" : "none";
}

int
offload_errno(int ret)
{
    int e = ret < 0 ? -ret : rte_errno;

    if (e <= 0) {
        e = EIO;
    }
    return e == ENOTSUP ? EOPNOTSUPP : e;
}

/* ---- Capability probe. ---- */

void
offload_probe(struct offload_caps *caps, uint16_t port_id,
              offload_validate_fn *validate, void *ctx,
              char *why, size_t whysize)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_ipv4 ip = { .hdr.src_addr = RTE_BE32(0x0a000001) };
    struct rte_flow_item_ipv4 ipm = { .hdr.src_addr = RTE_BE32(0xffffffff) };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ipm },
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item_ethdev self_item = { .port_id = port_id };
    struct rte_flow_item_port_id self_pid = { .id = port_id };
    struct rte_flow_item tpat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, .spec = &self_item },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_mark mark = { .id = 1 };
    struct rte_flow_action_queue queue = { .index = 0 };
    struct rte_flow_action_age age = { .timeout = 10 };
    struct rte_flow_action_set_ipv4 sip = { .ipv4_addr = RTE_BE32(1) };
    struct rte_flow_action_ethdev self_out = { .port_id = port_id };
    struct rte_flow_action_port_id self_out_pid = { .id = port_id };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action partial[] = {
        { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
        { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action count[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action aged[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_AGE, .conf = &age },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action rewrite[] = {
        { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, .conf = &sip },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action vlan[] = {
        { .type = RTE_FLOW_ACTION_TYPE_OF_POP_VLAN },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action out[] = {
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &self_out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };

    caps->full = validate(ctx, &ingress, pat, drop, why, whysize);
    caps->partial = validate(ctx, &ingress, pat, partial, NULL, 0);
    caps->count = validate(ctx, &ingress, pat, count, NULL, 0);
    caps->age = caps->count && validate(ctx, &ingress, pat, aged, NULL, 0);
    caps->rewrite = caps->full && validate(ctx, &ingress, pat, rewrite,
                                           NULL, 0);
    caps->vlan = caps->full && validate(ctx, &ingress, pat, vlan, NULL, 0);
    caps->output = validate(ctx, &transfer, tpat, out, NULL, 0);
    caps->represented_port = caps->output;
    if (!caps->output) {
        tpat[0].type = RTE_FLOW_ITEM_TYPE_PORT_ID;
        tpat[0].spec = &self_pid;
        out[0].type = RTE_FLOW_ACTION_TYPE_PORT_ID;
        out[0].conf = &self_out_pid;
        caps->output = validate(ctx, &transfer, tpat, out, NULL, 0);
    }
    /* A NIC may take rewrites only on the way to a port (simnic does):
     * then the same rewrite, before the output just probed. */
    if (caps->full && caps->output && (!caps->rewrite || !caps->vlan)) {
        struct rte_flow_item tpat_ip[] = {
            tpat[0], pat[0], pat[1], pat[2],
            { .type = RTE_FLOW_ITEM_TYPE_END },
        };
        struct rte_flow_action rw_out[] = {
            { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, .conf = &sip },
            out[0],
            { .type = RTE_FLOW_ACTION_TYPE_END },
        };

        caps->rewrite = caps->rewrite
                        || validate(ctx, &transfer, tpat_ip, rw_out, NULL, 0);
        rw_out[0] = vlan[0];
        caps->vlan = caps->vlan
                     || validate(ctx, &transfer, tpat_ip, rw_out, NULL, 0);
    }
}

/* ---- Translation. ---- */

static bool
all_ones(const void *p_, size_t n)
{
    const uint8_t *p = p_;

    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xff) {
            return false;
        }
    }
    return true;
}

static bool
all_zeros(const void *p_, size_t n)
{
    const uint8_t *p = p_;

    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static int
unsupported(enum offload_reason *reason, enum offload_reason r, char *msg,
            size_t msgsize, const char *what)
{
    *reason = r;
    snprintf(msg, msgsize, "%s", what);
    return EOPNOTSUPP;
}

static struct rte_flow_action *
add_action(struct offload_rule *r, enum rte_flow_action_type type,
           const void *conf)
{
    struct rte_flow_action *a = &r->actions[r->n_actions++];

    a->type = type;
    a->conf = conf;
    return a;
}

static void
add_item(struct offload_rule *r, enum rte_flow_item_type type,
         const void *spec, const void *mask, size_t size)
{
    struct rte_flow_item *it = &r->items[r->n_items++];

    it->type = type;
    if (spec && mask && !all_zeros(mask, size)) {
        it->spec = spec;
        it->mask = mask;
    }
}

/* Room check: every action kind below adds at most 4 entries. */
#define ACTIONS_ROOM(R) ((R)->n_actions + 5 < OFFLOAD_MAX_ACTIONS)

/* Translates the rewrite/ttl part of a DPA_SET_IPV4/6 'ttl' byte. */
static void
add_ttl(struct offload_rule *r, const struct offload_xlate *x, uint8_t ttl,
        size_t *n_ttl)
{
    if (x->mask->nw_ttl == 0xff && ttl == (uint8_t) (x->flow->nw_ttl - 1)) {
        add_action(r, RTE_FLOW_ACTION_TYPE_DEC_TTL, NULL);
    } else {
        r->ttl[*n_ttl].ttl_value = ttl;
        add_action(r, RTE_FLOW_ACTION_TYPE_SET_TTL, &r->ttl[*n_ttl]);
        ++*n_ttl;
    }
}

/* The DSCP part of a masked TOS / traffic-class set of 'type' (ECN
 * rewrites are refused).  Returns 0 or EOPNOTSUPP. */
static int
add_dscp(struct offload_rule *r, enum rte_flow_action_type type,
         uint8_t tos, uint8_t mask, size_t *n_dscp,
         enum offload_reason *reason, char *msg, size_t msgsize)
{
    if (!mask) {
        return 0;
    }
    if (mask != 0xfc || *n_dscp >= 2) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "ECN rewrite");
    }
    r->dscp[*n_dscp].dscp = tos >> 2;
    add_action(r, type, &r->dscp[(*n_dscp)++]);
    return 0;
}

/* A masked TTL / hop-limit set (only whole values).  Returns 0 or
 * EOPNOTSUPP naming 'what'. */
static int
add_ttl_set(struct offload_rule *r, const struct offload_xlate *x,
            uint8_t ttl, uint8_t mask, size_t *n_ttl, const char *what,
            enum offload_reason *reason, char *msg, size_t msgsize)
{
    if (!mask) {
        return 0;
    }
    if (mask != 0xff || *n_ttl >= 2) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, what);
    }
    add_ttl(r, x, ttl, n_ttl);
    return 0;
}

#define OFFLOAD_MAX_DP_ACTIONS 64  /* Longer lists are not widened. */

/* The slow path emits each header rewrite with only the bits that differ
 * from the packet (DPA_SET_* masks), but NICs set whole fields.  When the
 * megaflow matches a field exactly, the packet's value is known, so a
 * masked set of it is the same as a set of the whole field to
 * (packet & ~mask) | value.  Widens every such set in 'acts' into 'out'
 * (same length), tracking the field through earlier sets.  Sets of fields
 * the megaflow does not match exactly stay masked (and are refused). */
/* widen_sets() for one field of 'n' bytes: if the set changes some bits
 * ('mk' nonzero) and the megaflow matches the whole field ('fm' all ones),
 * the value the field is known to hold ('c') fills in the unchanged bits
 * and the set becomes whole; 'c' then holds the new value. */
static void
widen_bytes(uint8_t *v, uint8_t *mk, uint8_t *c, const uint8_t *fm,
            size_t n)
{
    if (all_zeros(mk, n) || !all_ones(fm, n)) {
        return;
    }
    for (size_t b = 0; b < n; b++) {
        v[b] = (uint8_t) ((c[b] & ~mk[b]) | (v[b] & mk[b]));
        mk[b] = 0xff;
    }
    memcpy(c, v, n);
}

static void
widen_sets(const struct offload_xlate *x, const struct dp_actions *acts,
           struct dp_actions *out)
{
    struct flow cur = *x->flow;             /* Known where mask is set. */
    const struct flow *m = x->mask;

    out->n = acts->n;
    for (size_t i = 0; i < acts->n; i++) {
        struct dp_action *a = &out->a[i];

        *a = acts->a[i];
        switch (a->type) {
        case DPA_SET_ETH:
            widen_bytes(a->eth.src, a->eth.src_mask, cur.dl_src, m->dl_src,
                        6);
            widen_bytes(a->eth.dst, a->eth.dst_mask, cur.dl_dst, m->dl_dst,
                        6);
            break;
        case DPA_SET_IPV4:
            widen_bytes((uint8_t *) &a->ipv4.src,
                        (uint8_t *) &a->ipv4.src_mask,
                        (uint8_t *) &cur.nw_src,
                        (const uint8_t *) &m->nw_src, 4);
            widen_bytes((uint8_t *) &a->ipv4.dst,
                        (uint8_t *) &a->ipv4.dst_mask,
                        (uint8_t *) &cur.nw_dst,
                        (const uint8_t *) &m->nw_dst, 4);
            /* DSCP: a change within the DSCP bits of a known TOS. */
            if (a->ipv4.tos_mask && !(a->ipv4.tos_mask & 0x03)
                && (m->nw_tos & 0xfc) == 0xfc) {
                a->ipv4.tos = (uint8_t) ((cur.nw_tos & ~a->ipv4.tos_mask
                                          & 0xfc)
                                         | (a->ipv4.tos & a->ipv4.tos_mask));
                a->ipv4.tos_mask = 0xfc;
                cur.nw_tos = (uint8_t) ((cur.nw_tos & 0x03) | a->ipv4.tos);
            }
            widen_bytes(&a->ipv4.ttl, &a->ipv4.ttl_mask, &cur.nw_ttl,
                        &m->nw_ttl, 1);
            break;
        case DPA_SET_IPV6:
            widen_bytes(a->ipv6.src, a->ipv6.src_mask, cur.ipv6_src,
                        m->ipv6_src, 16);
            widen_bytes(a->ipv6.dst, a->ipv6.dst_mask, cur.ipv6_dst,
                        m->ipv6_dst, 16);
            widen_bytes(&a->ipv6.hlimit, &a->ipv6.hlimit_mask, &cur.nw_ttl,
                        &m->nw_ttl, 1);
            break;
        case DPA_SET_L4:
            widen_bytes((uint8_t *) &a->l4.src, (uint8_t *) &a->l4.src_mask,
                        (uint8_t *) &cur.tp_src,
                        (const uint8_t *) &m->tp_src, 2);
            widen_bytes((uint8_t *) &a->l4.dst, (uint8_t *) &a->l4.dst_mask,
                        (uint8_t *) &cur.tp_dst,
                        (const uint8_t *) &m->tp_dst, 2);
            break;
        default:
            break;
        }
    }
}

static int
translate_full_actions(const struct offload_xlate *x, struct offload_rule *r,
                       bool *transfer, enum offload_reason *reason,
                       char *msg, size_t msgsize)
{
    const struct offload_caps *c = x->caps;
    struct {
        struct dp_actions h;
        struct dp_action a[OFFLOAD_MAX_DP_ACTIONS];
    } wide;
    const struct dp_actions *acts = x->actions;
    size_t n_out = 0, last_out = 0;
    size_t n_mac = 0, n_ip4 = 0, n_ip6 = 0, n_tp = 0, n_ttl = 0, n_dscp = 0;
    size_t n_push = 0, n_vid = 0, n_pcp = 0;
    char what[96];

    if (!c->full) {
        return unsupported(reason, OFFLOAD_R_NIC_NO_FULL, msg, msgsize,
                           "the NIC cannot execute actions (no DROP)");
    }
    if (acts && acts->n <= OFFLOAD_MAX_DP_ACTIONS) {
        widen_sets(x, acts, &wide.h);
        acts = &wide.h;
    }
    for (size_t i = 0; acts && i < acts->n; i++) {
        if (acts->a[i].type == DPA_OUTPUT) {
            n_out++;
            last_out = i;
        }
    }
    if (n_out > 1) {
        return unsupported(reason, OFFLOAD_R_MULTI_OUTPUT, msg, msgsize,
                           "more than one output");
    }
    if (n_out == 1 && last_out != acts->n - 1) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "actions after the output");
    }
    if (c->count) {
        add_action(r, RTE_FLOW_ACTION_TYPE_COUNT, &r->count);
    }
    if (c->age && x->age_s) {
        r->age.timeout = x->age_s > 0xffffff ? 0xffffff : x->age_s;
        r->age.context = x->age_context;
        add_action(r, RTE_FLOW_ACTION_TYPE_AGE, &r->age);
    }
    if (!n_out) {
        /* Nothing is sent: whatever was rewritten, the packet dies. */
        add_action(r, RTE_FLOW_ACTION_TYPE_DROP, NULL);
        return 0;
    }
    for (size_t i = 0; i < acts->n; i++) {
        const struct dp_action *a = &acts->a[i];

        if (!ACTIONS_ROOM(r)) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "too many actions");
        }
        if (a->type != DPA_OUTPUT && a->type != DPA_PUSH_VLAN
            && a->type != DPA_POP_VLAN && a->type != DPA_SET_VLAN
            && !c->rewrite) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "header rewrite (the NIC has none)");
        }
        if ((a->type == DPA_PUSH_VLAN || a->type == DPA_POP_VLAN
             || a->type == DPA_SET_VLAN) && !c->vlan) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "VLAN actions (the NIC has none)");
        }
        switch ((enum dp_action_type) a->type) {
        case DPA_OUTPUT: {
            uint16_t np;

            if (!c->output) {
                return unsupported(reason, OFFLOAD_R_OUTPUT_OTHER_NIC, msg,
                                   msgsize, "the NIC cannot output to a "
                                   "port (no e-switch)");
            }
            if (!x->resolve || !x->resolve(a->port, &np, x->resolve_aux)) {
                snprintf(what, sizeof what, "output to datapath port %u, "
                         "not on this NIC", a->port);
                return unsupported(reason, OFFLOAD_R_OUTPUT_OTHER_NIC, msg,
                                   msgsize, what);
            }
            *transfer = true;
            if (c->represented_port) {
                r->out_port.port_id = np;
                add_action(r, RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT,
                           &r->out_port);
            } else {
                r->out_port_id.id = np;
                add_action(r, RTE_FLOW_ACTION_TYPE_PORT_ID,
                           &r->out_port_id);
            }
            break;
        }
        case DPA_SET_ETH:
            for (int k = 0; k < 2; k++) {
                const uint8_t *v = k ? a->eth.dst : a->eth.src;
                const uint8_t *mk = k ? a->eth.dst_mask : a->eth.src_mask;

                if (all_zeros(mk, 6)) {
                    continue;
                }
                if (!all_ones(mk, 6) || n_mac >= 4) {
                    return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED,
                                       msg, msgsize, "masked set of a MAC "
                                       "address");
                }
                memcpy(r->mac[n_mac].mac_addr, v, 6);
                add_action(r, k ? RTE_FLOW_ACTION_TYPE_SET_MAC_DST
                                : RTE_FLOW_ACTION_TYPE_SET_MAC_SRC,
                           &r->mac[n_mac]);
                n_mac++;
            }
            break;

        case DPA_SET_IPV4:
            for (int k = 0; k < 2; k++) {
                uint32_t v = k ? a->ipv4.dst : a->ipv4.src;
                uint32_t mk = k ? a->ipv4.dst_mask : a->ipv4.src_mask;

                if (!mk) {
                    continue;
                }
                if (mk != UINT32_MAX || n_ip4 >= 4) {
                    return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED,
                                       msg, msgsize, "masked set of an IPv4 "
                                       "address");
                }
                r->ip4[n_ip4].ipv4_addr = v;
                add_action(r, k ? RTE_FLOW_ACTION_TYPE_SET_IPV4_DST
                                : RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC,
                           &r->ip4[n_ip4]);
                n_ip4++;
            }
            if (add_dscp(r, RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP, a->ipv4.tos,
                         a->ipv4.tos_mask, &n_dscp, reason, msg, msgsize)
                || add_ttl_set(r, x, a->ipv4.ttl, a->ipv4.ttl_mask, &n_ttl,
                               "masked TTL set", reason, msg, msgsize)) {
                return EOPNOTSUPP;
            }
            break;

        case DPA_SET_IPV6:
            for (int k = 0; k < 2; k++) {
                const uint8_t *v = k ? a->ipv6.dst : a->ipv6.src;
                const uint8_t *mk = k ? a->ipv6.dst_mask : a->ipv6.src_mask;

                if (all_zeros(mk, 16)) {
                    continue;
                }
                if (!all_ones(mk, 16) || n_ip6 >= 4) {
                    return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED,
                                       msg, msgsize, "masked set of an IPv6 "
                                       "address");
                }
                memcpy(r->ip6[n_ip6].ipv6_addr, v, 16);
                add_action(r, k ? RTE_FLOW_ACTION_TYPE_SET_IPV6_DST
                                : RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC,
                           &r->ip6[n_ip6]);
                n_ip6++;
            }
            if (add_dscp(r, RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP,
                         a->ipv6.tclass, a->ipv6.tclass_mask, &n_dscp, reason,
                         msg, msgsize)
                || add_ttl_set(r, x, a->ipv6.hlimit, a->ipv6.hlimit_mask,
                               &n_ttl, "masked hop limit set", reason, msg,
                               msgsize)) {
                return EOPNOTSUPP;
            }
            break;

        case DPA_SET_L4:
            for (int k = 0; k < 2; k++) {
                uint16_t v = k ? a->l4.dst : a->l4.src;
                uint16_t mk = k ? a->l4.dst_mask : a->l4.src_mask;

                if (!mk) {
                    continue;
                }
                if (mk != UINT16_MAX || n_tp >= 4) {
                    return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED,
                                       msg, msgsize, "masked set of a "
                                       "transport port");
                }
                r->tp[n_tp].port = v;
                add_action(r, k ? RTE_FLOW_ACTION_TYPE_SET_TP_DST
                                : RTE_FLOW_ACTION_TYPE_SET_TP_SRC,
                           &r->tp[n_tp]);
                n_tp++;
            }
            break;

        case DPA_PUSH_VLAN: {
            uint16_t tci = ntohs(a->push_vlan.tci);

            if (n_push >= 2 || n_vid >= 4 || n_pcp >= 4) {
                return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                                   msgsize, "too many VLAN actions");
            }
            r->push_vlan[n_push].ethertype = a->push_vlan.tpid;
            add_action(r, RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN,
                       &r->push_vlan[n_push++]);
            r->vlan_vid[n_vid].vlan_vid = htons(tci & FLOW_VLAN_VID_MASK);
            add_action(r, RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID,
                       &r->vlan_vid[n_vid++]);
            r->vlan_pcp[n_pcp].vlan_pcp =
                (uint8_t) (tci >> FLOW_VLAN_PCP_SHIFT);
            add_action(r, RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP,
                       &r->vlan_pcp[n_pcp++]);
            break;
        }
        case DPA_POP_VLAN:
            add_action(r, RTE_FLOW_ACTION_TYPE_OF_POP_VLAN, NULL);
            break;

        case DPA_SET_VLAN: {
            uint16_t tci = ntohs(a->set_vlan.tci);
            uint16_t mk = ntohs(a->set_vlan.tci_mask) & ~FLOW_VLAN_CFI;
            uint16_t vid = mk & FLOW_VLAN_VID_MASK;
            uint16_t pcp = mk & FLOW_VLAN_PCP_MASK;

            if ((vid && vid != FLOW_VLAN_VID_MASK)
                || (pcp && pcp != FLOW_VLAN_PCP_MASK)
                || n_vid >= 4 || n_pcp >= 4) {
                return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                                   msgsize, "masked set of VLAN bits");
            }
            if (vid) {
                r->vlan_vid[n_vid].vlan_vid =
                    htons(tci & FLOW_VLAN_VID_MASK);
                add_action(r, RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID,
                           &r->vlan_vid[n_vid++]);
            }
            if (pcp) {
                r->vlan_pcp[n_pcp].vlan_pcp =
                    (uint8_t) (tci >> FLOW_VLAN_PCP_SHIFT);
                add_action(r, RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP,
                           &r->vlan_pcp[n_pcp++]);
            }
            break;
        }
        default:
            snprintf(what, sizeof what, "datapath action type %u",
                     a->type);
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, what);
        }
    }
    return 0;
}

static int
translate_partial_actions(const struct offload_xlate *x,
                          struct offload_rule *r,
                          enum offload_reason *reason, char *msg,
                          size_t msgsize)
{
    if (!x->caps->partial) {
        return unsupported(reason, OFFLOAD_R_NIC_NO_PARTIAL, msg, msgsize,
                           "the NIC cannot MARK");
    }
    if (!x->mark) {
        return unsupported(reason, OFFLOAD_R_NO_MARK_ID, msg, msgsize,
                           "no free mark id");
    }
    r->mark.id = x->mark;
    add_action(r, RTE_FLOW_ACTION_TYPE_MARK, &r->mark);
    if (x->n_rxq <= 1) {
        r->queue.index = 0;
        add_action(r, RTE_FLOW_ACTION_TYPE_QUEUE, &r->queue);
    } else {
        unsigned n = x->n_rxq < OFFLOAD_MAX_RSS_QUEUES
                     ? x->n_rxq : OFFLOAD_MAX_RSS_QUEUES;

        for (unsigned i = 0; i < n; i++) {
            r->rss_queues[i] = (uint16_t) i;
        }
        r->rss.func = RTE_ETH_HASH_FUNCTION_DEFAULT;
        r->rss.level = 0;
        r->rss.types = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
        r->rss.queue_num = n;
        r->rss.queue = r->rss_queues;
        add_action(r, RTE_FLOW_ACTION_TYPE_RSS, &r->rss);
    }
    return 0;
}

/* Names the first field left in 'm' (the mask bits not translated). */
static const char *
leftover_field(const struct flow *m)
{
#define LEFT(FIELD, NAME)                                               \
    if (!all_zeros(&m->FIELD, sizeof m->FIELD)) {                       \
        return NAME;                                                    \
    }
    LEFT(dl_dst, "dl_dst");
    LEFT(dl_src, "dl_src");
    LEFT(dl_type, "dl_type");
    LEFT(vlan_tci, "vlan_tci");
    LEFT(vlan_tci2, "inner VLAN tag (QinQ)");
    LEFT(nw_src, "nw_src/arp_spa");
    LEFT(nw_dst, "nw_dst/arp_tpa");
    LEFT(ipv6_src, "ipv6_src");
    LEFT(ipv6_dst, "ipv6_dst");
    LEFT(ipv6_label, "ipv6_label");
    LEFT(nw_proto, "nw_proto/arp_op");
    LEFT(nw_tos, "nw_tos");
    LEFT(nw_ttl, "nw_ttl");
    LEFT(nw_frag, "ip_frag");
    LEFT(arp_sha, "arp_sha");
    LEFT(arp_tha, "arp_tha");
    LEFT(tp_src, "tp_src");
    LEFT(tp_dst, "tp_dst");
    LEFT(tcp_flags, "tcp_flags");
#undef LEFT
    return NULL;
}

static int
translate_pattern(const struct offload_xlate *x, struct offload_rule *r,
                  bool transfer, enum offload_reason *reason, char *msg,
                  size_t msgsize)
{
    const struct flow *f = x->flow;
    struct flow m = *x->mask;
    uint16_t dl_type = ntohs(f->dl_type);
    bool l3_known = m.dl_type == UINT16_MAX;
    const char *left;
    char what[96];

    m.in_port = 0;
    m.pad0 = m.pad1 = m.pad2 = 0;

    if (transfer) {
        if (x->caps->represented_port) {
            r->src_port.port_id = x->in_nic_port;
            add_item(r, RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, &r->src_port,
                     &rte_flow_item_ethdev_mask, sizeof r->src_port);
        } else {
            r->src_port_id.id = x->in_nic_port;
            add_item(r, RTE_FLOW_ITEM_TYPE_PORT_ID, &r->src_port_id,
                     &rte_flow_item_port_id_mask, sizeof r->src_port_id);
        }
    }

    /* Ethernet (+ one VLAN tag). */
    if (m.vlan_tci2) {
        return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                           "inner VLAN tag (QinQ)");
    }
    memcpy(r->eth.dst.addr_bytes, f->dl_dst, 6);
    memcpy(r->eth_mask.dst.addr_bytes, m.dl_dst, 6);
    memcpy(r->eth.src.addr_bytes, f->dl_src, 6);
    memcpy(r->eth_mask.src.addr_bytes, m.dl_src, 6);
    memset(m.dl_dst, 0, 6);
    memset(m.dl_src, 0, 6);
    if (m.vlan_tci) {
        r->eth_mask.has_vlan = 1;
        if (f->vlan_tci & htons(FLOW_VLAN_CFI)) {
            r->eth.has_vlan = 1;
            r->vlan.tci = f->vlan_tci & htons(~FLOW_VLAN_CFI & 0xffff);
            r->vlan_mask.tci = m.vlan_tci & htons(~FLOW_VLAN_CFI & 0xffff);
            r->vlan.inner_type = f->dl_type;
            r->vlan_mask.inner_type = m.dl_type;
        } else {
            r->eth.type = f->dl_type;
            r->eth_mask.type = m.dl_type;
        }
        add_item(r, RTE_FLOW_ITEM_TYPE_ETH, &r->eth, &r->eth_mask,
                 sizeof r->eth);
        if (r->eth.has_vlan) {
            r->items[r->n_items].type = RTE_FLOW_ITEM_TYPE_VLAN;
            r->items[r->n_items].spec = &r->vlan;
            r->items[r->n_items].mask = &r->vlan_mask;
            r->n_items++;
        }
    } else {
        r->eth.type = f->dl_type;
        r->eth_mask.type = m.dl_type;
        add_item(r, RTE_FLOW_ITEM_TYPE_ETH, &r->eth, &r->eth_mask,
                 sizeof r->eth);
    }
    m.vlan_tci = 0;
    m.dl_type = 0;

    /* L3. */
    if (l3_known && dl_type == ETH_TYPE_IP) {
        struct rte_ipv4_hdr *h = &r->ipv4.hdr, *hm = &r->ipv4_mask.hdr;

        h->src_addr = f->nw_src;
        hm->src_addr = m.nw_src;
        h->dst_addr = f->nw_dst;
        hm->dst_addr = m.nw_dst;
        h->type_of_service = f->nw_tos;
        hm->type_of_service = m.nw_tos;
        h->time_to_live = f->nw_ttl;
        hm->time_to_live = m.nw_ttl;
        h->next_proto_id = f->nw_proto;
        hm->next_proto_id = m.nw_proto;
        if (m.nw_frag) {
            /* "no" or "not_later" (what L4 rewrites need): the NIC
             * matches unfragmented packets, a subset of the megaflow's
             * when it said not_later; first fragments stay in software. */
            if (f->nw_frag & m.nw_frag) {
                return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg,
                                   msgsize, "ip_frag=yes/first/later");
            }
            h->fragment_offset = 0;
            hm->fragment_offset = htons(0x3fff);
        }
        add_item(r, RTE_FLOW_ITEM_TYPE_IPV4, &r->ipv4, &r->ipv4_mask,
                 sizeof r->ipv4);
        m.nw_src = m.nw_dst = 0;
        m.nw_tos = m.nw_ttl = m.nw_frag = 0;
    } else if (l3_known && dl_type == ETH_TYPE_IPV6) {
        struct rte_ipv6_hdr *h = &r->ipv6.hdr, *hm = &r->ipv6_mask.hdr;
        uint32_t vtc = (uint32_t) f->nw_tos << 20 | ntohl(f->ipv6_label);
        uint32_t vtcm = (uint32_t) m.nw_tos << 20 | ntohl(m.ipv6_label);

        memcpy(h->src_addr, f->ipv6_src, 16);
        memcpy(hm->src_addr, m.ipv6_src, 16);
        memcpy(h->dst_addr, f->ipv6_dst, 16);
        memcpy(hm->dst_addr, m.ipv6_dst, 16);
        h->vtc_flow = htonl(vtc & 0x0fffffff);
        hm->vtc_flow = htonl(vtcm & 0x0fffffff);
        h->proto = f->nw_proto;
        hm->proto = m.nw_proto;
        h->hop_limits = f->nw_ttl;
        hm->hop_limits = m.nw_ttl;
        if (m.nw_frag) {
            /* "no" or "not_later" (what L4 rewrites need): the NIC
             * matches unfragmented packets, a subset of the megaflow's
             * when it said not_later; first fragments stay in software. */
            if (f->nw_frag & m.nw_frag) {
                return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg,
                                   msgsize, "ip_frag=yes/first/later");
            }
            r->ipv6.has_frag_ext = 0;
            r->ipv6_mask.has_frag_ext = 1;
        }
        add_item(r, RTE_FLOW_ITEM_TYPE_IPV6, &r->ipv6, &r->ipv6_mask,
                 sizeof r->ipv6);
        memset(m.ipv6_src, 0, 16);
        memset(m.ipv6_dst, 0, 16);
        m.ipv6_label = 0;
        m.nw_tos = m.nw_ttl = m.nw_frag = 0;
    }

    /* L4. */
    if (l3_known && (dl_type == ETH_TYPE_IP || dl_type == ETH_TYPE_IPV6)
        && m.nw_proto == UINT8_MAX) {
        uint8_t proto = f->nw_proto;
        bool v6 = dl_type == ETH_TYPE_IPV6;

        m.nw_proto = 0;
        if (proto == IPPROTO_TCP_) {
            if (m.tcp_flags & htons(0x0f00)) {
                return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg,
                                   msgsize, "tcp_flags above bit 7");
            }
            r->l4.tcp.hdr.src_port = f->tp_src;
            r->l4_mask.tcp.hdr.src_port = m.tp_src;
            r->l4.tcp.hdr.dst_port = f->tp_dst;
            r->l4_mask.tcp.hdr.dst_port = m.tp_dst;
            r->l4.tcp.hdr.tcp_flags = (uint8_t) ntohs(f->tcp_flags);
            r->l4_mask.tcp.hdr.tcp_flags = (uint8_t) ntohs(m.tcp_flags);
            add_item(r, RTE_FLOW_ITEM_TYPE_TCP, &r->l4, &r->l4_mask,
                     sizeof r->l4.tcp);
            m.tp_src = m.tp_dst = m.tcp_flags = 0;
        } else if (proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_) {
            bool udp = proto == IPPROTO_UDP_;

            if (udp) {
                r->l4.udp.hdr.src_port = f->tp_src;
                r->l4_mask.udp.hdr.src_port = m.tp_src;
                r->l4.udp.hdr.dst_port = f->tp_dst;
                r->l4_mask.udp.hdr.dst_port = m.tp_dst;
            } else {
                r->l4.sctp.hdr.src_port = f->tp_src;
                r->l4_mask.sctp.hdr.src_port = m.tp_src;
                r->l4.sctp.hdr.dst_port = f->tp_dst;
                r->l4_mask.sctp.hdr.dst_port = m.tp_dst;
            }
            add_item(r, udp ? RTE_FLOW_ITEM_TYPE_UDP : RTE_FLOW_ITEM_TYPE_SCTP,
                     &r->l4, &r->l4_mask,
                     udp ? sizeof r->l4.udp : sizeof r->l4.sctp);
            m.tp_src = m.tp_dst = 0;
        } else if (proto == IPPROTO_ICMP_ && !v6) {
            r->l4.icmp.hdr.icmp_type = (uint8_t) ntohs(f->tp_src);
            r->l4_mask.icmp.hdr.icmp_type = (uint8_t) ntohs(m.tp_src);
            r->l4.icmp.hdr.icmp_code = (uint8_t) ntohs(f->tp_dst);
            r->l4_mask.icmp.hdr.icmp_code = (uint8_t) ntohs(m.tp_dst);
            add_item(r, RTE_FLOW_ITEM_TYPE_ICMP, &r->l4, &r->l4_mask,
                     sizeof r->l4.icmp);
            m.tp_src = m.tp_dst = 0;
        } else if (proto == IPPROTO_ICMPV6_ && v6) {
            r->l4.icmp6.type = (uint8_t) ntohs(f->tp_src);
            r->l4_mask.icmp6.type = (uint8_t) ntohs(m.tp_src);
            r->l4.icmp6.code = (uint8_t) ntohs(f->tp_dst);
            r->l4_mask.icmp6.code = (uint8_t) ntohs(m.tp_dst);
            add_item(r, RTE_FLOW_ITEM_TYPE_ICMP6, &r->l4, &r->l4_mask,
                     sizeof r->l4.icmp6);
            m.tp_src = m.tp_dst = 0;
        }
    }

    left = leftover_field(&m);
    if (left) {
        snprintf(what, sizeof what, "match on %s", left);
        return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                           what);
    }
    return 0;
}

int
offload_translate(const struct offload_xlate *x, struct offload_rule *r,
                  enum offload_reason *reason, char *msg, size_t msgsize)
{
    bool transfer = false;
    int err;

    memset(r, 0, sizeof *r);
    *reason = OFFLOAD_R_NONE;
    if (msgsize) {
        msg[0] = '\0';
    }
    if (x->mode == OFFLOAD_MODE_FULL) {
        err = translate_full_actions(x, r, &transfer, reason, msg, msgsize);
    } else if (x->mode == OFFLOAD_MODE_PARTIAL) {
        err = translate_partial_actions(x, r, reason, msg, msgsize);
    } else {
        err = unsupported(reason, OFFLOAD_R_PORT_DISABLED, msg, msgsize,
                          "offload disabled");
    }
    if (!err) {
        err = translate_pattern(x, r, transfer, reason, msg, msgsize);
    }
    if (err) {
        memset(r, 0, sizeof *r);
        return err;
    }
    r->attr.transfer = transfer;
    r->attr.ingress = !transfer;
    r->items[r->n_items].type = RTE_FLOW_ITEM_TYPE_END;
    r->actions[r->n_actions].type = RTE_FLOW_ACTION_TYPE_END;
    return 0;
}

/* ---- The manager. ---- */

struct offload_rec {
    struct dp_megaflow *mf;         /* Key.  Main thread. */
    struct offload_port *op;        /* Input port's, or NULL. */
    struct flow flow, mask;         /* For the flow-removed log. */

    /* Guarded by mgr->mutex. */
    enum offload_state state;
    enum offload_reason reason;
    char msg[128];
    struct offload_rule *full, *partial;    /* Translated; owned. */
    uint64_t hw_packets, hw_bytes;  /* Hardware totals of all rules. */
    long long hw_used_ms;
    uint64_t credited_packets, credited_bytes;  /* Main thread. */
    uint64_t offer_pps;             /* Rate estimate at offer time. */
    uint64_t sw_packets_seen;       /* Software hits at the last retry
                                     * check (main thread). */
    bool queued;                    /* On the put queue. */
    bool busy;                      /* The thread works on it. */
    bool want_del;                  /* Main thread removes it. */
    bool on_del_list;
    bool on_aged_list;
    struct offload_rec *qnext;      /* put queue / del list. */
    struct offload_rec *anext;      /* aged list. */
    struct offload_rec *hnext;      /* hash chain by mf. */
    struct offload_rec *prev, *next;/* all records. */

    /* Offload thread only (read by others under the mutex). */
    void *hw;                       /* Provider handle or NULL. */
    struct offload_port *hw_port;
    uint64_t last_packets, last_bytes;  /* Counters of the current rule. */
    uint64_t rate_pps;
    long long last_change_ms;
    struct offload_rec *hw_prev, *hw_next;  /* installed list. */
};

struct offload {
    struct dp *dp;
    struct offload_config cfg;

    pthread_mutex_t mutex;
    pthread_cond_t wake;            /* The thread waits on it. */
    pthread_cond_t done;            /* The main thread waits on it. */
    pthread_t thread;
    bool thread_running;
    bool stop;                      /* Thread: flush everything and exit. */
    bool age_event;

    /* Guarded by mutex. */
    struct offload_rec *put_head, *put_tail;
    size_t put_len;
    struct offload_rec *del_head;
    struct offload_rec *aged_head;
    struct offload_rec *all;
    size_t n_recs;
    struct offload_rec **buckets;
    size_t n_buckets;
    struct offload_stats stats;
    uint64_t stats_epoch, stats_epoch_seen;

    /* Port operations requested of the thread. */
    struct offload_port *port_req;
    int port_req_op;                /* 1 = init, 2 = flush + uninit */
    int port_req_ret;
    char port_req_err[256];
    bool port_req_done;

    /* Thread only. */
    struct offload_rec *hw_list;
    size_t n_hw;

    /* Main thread. */
    struct offload_port *ports[DP_MAX_PORTS];
    struct offload_port **dead_ports;
    size_t n_dead_ports;
    struct offload_removed log[OFFLOAD_LOG_SIZE];
    size_t log_n, log_next;
    bool shut;
    long long next_retry_ms;
};

static long long
now_ms(void)
{
    return dp_time_ms();
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

void
offload_config_from_cfg(const struct cfg *cfg, struct offload_config *oc)
{
    const struct cfg_offload *o = &cfg->offload;

    memset(oc, 0, sizeof *oc);
    oc->min_packets = o->min_packets;
    oc->min_pps = o->min_pps;
    oc->check_ms = o->check_ms;
    oc->max_flows = o->max_flows;
    oc->queue_size = o->queue_size;
    oc->idle_ms = o->idle_ms ? o->idle_ms : cfg->megaflow_idle_ms;
    oc->stats_ms = o->stats_ms;
    if (oc->stats_ms > cfg->megaflow_idle_ms / 4 && cfg->megaflow_idle_ms
        >= 40) {
        /* Hardware hits must reach the megaflow before it idles out. */
        oc->stats_ms = cfg->megaflow_idle_ms / 4;
    }
    oc->evict = o->evict;
    oc->simnic_capacity = o->simnic_capacity;
    oc->simnic_insert_rate = o->simnic_insert_rate;
}

/* ---- Record hash (by megaflow pointer). ---- */

static size_t
rec_bucket(const struct offload *mgr, const void *mf)
{
    uintptr_t h = (uintptr_t) mf;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t) (h >> 20) & (mgr->n_buckets - 1);
}

static struct offload_rec *
rec_find(const struct offload *mgr, const void *mf)
{
    for (struct offload_rec *r = mgr->buckets[rec_bucket(mgr, mf)]; r;
         r = r->hnext) {
        if (r->mf == mf) {
            return r;
        }
    }
    return NULL;
}

static void
rec_hash_grow(struct offload *mgr)
{
    size_t n = mgr->n_buckets * 4;
    struct offload_rec **b = calloc(n, sizeof *b), **old = mgr->buckets;
    size_t old_n = mgr->n_buckets;

    if (!b) {
        return;                 /* Longer chains; still correct. */
    }
    mgr->buckets = b;
    mgr->n_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        struct offload_rec *r, *next;

        for (r = old[i]; r; r = next) {
            size_t k = rec_bucket(mgr, r->mf);

            next = r->hnext;
            r->hnext = b[k];
            b[k] = r;
        }
    }
    free(old);
}

/* Appends 'r' to the insertion queue and wakes the offload thread.  The
 * caller holds mgr->mutex and counts the request. */
static void
put_queue_push(struct offload *mgr, struct offload_rec *r)
{
    r->state = OFFLOAD_STATE_QUEUED;
    r->queued = true;
    r->qnext = NULL;
    if (mgr->put_tail) {
        mgr->put_tail->qnext = r;
    } else {
        mgr->put_head = r;
    }
    mgr->put_tail = r;
    mgr->put_len++;
    pthread_cond_signal(&mgr->wake);
}

static void
rec_insert(struct offload *mgr, struct offload_rec *r)
{
    size_t k;

    if (mgr->n_recs >= mgr->n_buckets * 2) {
        rec_hash_grow(mgr);
    }
    k = rec_bucket(mgr, r->mf);
    r->hnext = mgr->buckets[k];
    mgr->buckets[k] = r;
    r->next = mgr->all;
    r->prev = NULL;
    if (mgr->all) {
        mgr->all->prev = r;
    }
    mgr->all = r;
    mgr->n_recs++;
}

static void
rec_unlink(struct offload *mgr, struct offload_rec *r)
{
    struct offload_rec **p = &mgr->buckets[rec_bucket(mgr, r->mf)];

    while (*p != r) {
        p = &(*p)->hnext;
    }
    *p = r->hnext;
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        mgr->all = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    mgr->n_recs--;
}

static void
rec_free(struct offload_rec *r)
{
    if (r) {
        free(r->full);
        free(r->partial);
        free(r);
    }
}

/* ---- Offload thread. ---- */

static void
hw_list_add(struct offload *mgr, struct offload_rec *r)
{
    r->hw_prev = NULL;
    r->hw_next = mgr->hw_list;
    if (mgr->hw_list) {
        mgr->hw_list->hw_prev = r;
    }
    mgr->hw_list = r;
    mgr->n_hw++;
}

static void
hw_list_del(struct offload *mgr, struct offload_rec *r)
{
    if (r->hw_prev) {
        r->hw_prev->hw_next = r->hw_next;
    } else {
        mgr->hw_list = r->hw_next;
    }
    if (r->hw_next) {
        r->hw_next->hw_prev = r->hw_prev;
    }
    r->hw_prev = r->hw_next = NULL;
    mgr->n_hw--;
}

/* Adds the rule's counters (totals 'c') to the record.  Mutex held. */
static void
rec_account(struct offload_rec *r, const struct offload_counters *c,
            long long now)
{
    if (c->packets > r->last_packets) {
        r->hw_packets += c->packets - r->last_packets;
        r->hw_bytes += c->bytes - r->last_bytes;
        r->hw_used_ms = now;
        r->last_change_ms = now;
    }
    r->last_packets = c->packets;
    r->last_bytes = c->bytes;
}

/* Deletes the hardware rule of 'r' (thread; mutex NOT held on entry,
 * taken inside).  'reason' != NONE moves the flow to software with it. */
static void
hw_delete(struct offload *mgr, struct offload_rec *r,
          enum offload_reason reason)
{
    struct offload_counters last = { 0, 0 };
    struct offload_port *op = r->hw_port;

    op->class->flow_del(op, r->hw, &last);
    pthread_mutex_lock(&mgr->mutex);
    rec_account(r, &last, now_ms());
    r->hw = NULL;
    r->hw_port = NULL;
    op->n_flows--;
    hw_list_del(mgr, r);
    r->state = OFFLOAD_STATE_SOFTWARE;
    if (reason != OFFLOAD_R_NONE) {
        r->reason = reason;
        snprintf(r->msg, sizeof r->msg, "%s", offload_reason_name(reason));
    }
    mgr->stats.removed++;
    if (reason == OFFLOAD_R_AGED || reason == OFFLOAD_R_EVICTED) {
        if (reason == OFFLOAD_R_AGED) {
            mgr->stats.aged++;
        } else {
            mgr->stats.evicted++;
        }
        if (!r->on_aged_list && !r->want_del) {
            r->on_aged_list = true;
            r->anext = mgr->aged_head;
            mgr->aged_head = r;
        }
    }
    pthread_cond_broadcast(&mgr->done);
    pthread_mutex_unlock(&mgr->mutex);
}

/* Finds the coldest installed rule on 'nic' that is not being removed and
 * is colder than 'pps'.  Thread. */
static struct offload_rec *
find_victim(struct offload *mgr, const char *nic, uint64_t pps)
{
    struct offload_rec *best = NULL;

    pthread_mutex_lock(&mgr->mutex);
    for (struct offload_rec *r = mgr->hw_list; r; r = r->hw_next) {
        if (r->want_del || r->on_del_list
            || (nic && strcmp(r->hw_port->nic, nic))) {
            continue;
        }
        if (!best || r->rate_pps < best->rate_pps) {
            best = r;
        }
    }
    if (best && best->rate_pps >= pps) {
        best = NULL;
    }
    if (best) {
        best->busy = true;
    }
    pthread_mutex_unlock(&mgr->mutex);
    return best;
}

static void
evict(struct offload *mgr, struct offload_rec *v)
{
    hw_delete(mgr, v, OFFLOAD_R_EVICTED);
    pthread_mutex_lock(&mgr->mutex);
    v->busy = false;
    if (v->want_del) {
        pthread_cond_broadcast(&mgr->done);
    }
    pthread_mutex_unlock(&mgr->mutex);
}

/* Tries one translated rule; evicts on a full table.  Returns 0 or an
 * errno with the message in 'msg'. */
static int
try_put(struct offload *mgr, struct offload_rec *r,
        const struct offload_rule *rule, char *msg, size_t msgsize)
{
    struct offload_port *op = r->op;

    for (int attempt = 0; attempt < 2; attempt++) {
        struct rte_flow_error error;
        void *handle = NULL;
        int ret = 0;

        if (mgr->n_hw >= mgr->cfg.max_flows) {
            ret = ENOSPC;
            snprintf(msg, msgsize, "max_flows (%zu) reached",
                     mgr->cfg.max_flows);
        } else {
            memset(&error, 0, sizeof error);
            ret = op->class->flow_put(op, &rule->attr, rule->items,
                                      rule->actions, &handle, &error);
            if (ret) {
                snprintf(msg, msgsize, "%s: %s", op->class->name,
                         error.message ? error.message : strerror(ret));
            }
        }
        if (!ret) {
            pthread_mutex_lock(&mgr->mutex);
            r->hw = handle;
            r->hw_port = op;
            r->last_packets = r->last_bytes = 0;
            r->rate_pps = r->offer_pps;
            r->last_change_ms = now_ms();
            op->n_flows++;
            hw_list_add(mgr, r);
            pthread_mutex_unlock(&mgr->mutex);
            return 0;
        }
        if (ret != ENOSPC || attempt || !mgr->cfg.evict) {
            return ret;
        }
        {
            bool global = mgr->n_hw >= mgr->cfg.max_flows;
            struct offload_rec *v = find_victim(mgr, global ? NULL : op->nic,
                                                r->offer_pps);

            if (!v) {
                return ret;
            }
            evict(mgr, v);
        }
    }
    return ENOSPC;
}

static void
do_put(struct offload *mgr, struct offload_rec *r)
{
    char msg[128] = "";
    enum offload_reason reason = r->reason;
    enum offload_state state = OFFLOAD_STATE_SOFTWARE;
    uint64_t t0 = now_ns(), dt;
    int ret = EOPNOTSUPP;

    if (r->full) {
        ret = try_put(mgr, r, r->full, msg, sizeof msg);
        if (!ret) {
            state = OFFLOAD_STATE_FULL;
        }
    }
    if (ret && r->partial) {
        char pmsg[128] = "";
        int pret = try_put(mgr, r, r->partial, pmsg, sizeof pmsg);

        if (!pret) {
            state = OFFLOAD_STATE_PARTIAL;
            if (!r->full) {
                ret = 0;
            }
        } else if (!r->full) {
            ret = pret;
            snprintf(msg, sizeof msg, "%s", pmsg);
        }
    }
    dt = now_ns() - t0;
    if (state != OFFLOAD_STATE_SOFTWARE && r->full && ret) {
        /* Partial after a failed full: the reason is the full failure. */
        reason = ret == ENOSPC ? OFFLOAD_R_TABLE_FULL
                 : ret == EOPNOTSUPP ? OFFLOAD_R_REJECTED
                 : OFFLOAD_R_INSERT_FAILED;
    } else if (state == OFFLOAD_STATE_SOFTWARE && ret) {
        reason = ret == ENOSPC
                 ? (mgr->n_hw >= mgr->cfg.max_flows ? OFFLOAD_R_CAPACITY
                                                    : OFFLOAD_R_TABLE_FULL)
                 : ret == EOPNOTSUPP ? OFFLOAD_R_REJECTED
                 : OFFLOAD_R_INSERT_FAILED;
    }

    pthread_mutex_lock(&mgr->mutex);
    r->state = state;
    if (state != OFFLOAD_STATE_FULL) {
        r->reason = reason;
        if (msg[0]) {
            snprintf(r->msg, sizeof r->msg, "%s", msg);
        }
        if (reason != OFFLOAD_R_NONE) {
            mgr->stats.failed[reason]++;
        }
    } else {
        r->reason = OFFLOAD_R_NONE;
        r->msg[0] = '\0';
    }
    if (state != OFFLOAD_STATE_SOFTWARE) {
        mgr->stats.inserted++;
        if (state == OFFLOAD_STATE_FULL) {
            mgr->stats.full++;
        } else {
            mgr->stats.partial++;
        }
        mgr->stats.insert_ns_total += dt;
        mgr->stats.insert_ns_last = dt;
        if (dt > mgr->stats.insert_ns_max) {
            mgr->stats.insert_ns_max = dt;
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
}

/* Polls every installed rule's counters; ages idle ones. */
static void
poll_all(struct offload *mgr)
{
    long long now = now_ms();
    struct offload_rec *r, *next;

    for (r = mgr->hw_list; r; r = next) {
        struct offload_counters c;
        bool idle = false;

        next = r->hw_next;
        pthread_mutex_lock(&mgr->mutex);
        if (r->want_del || r->on_del_list || r->busy) {
            pthread_mutex_unlock(&mgr->mutex);
            continue;
        }
        pthread_mutex_unlock(&mgr->mutex);
        if (r->hw_port->class->flow_query(r->hw_port, r->hw, &c)) {
            continue;
        }
        pthread_mutex_lock(&mgr->mutex);
        {
            uint64_t before = r->last_packets;
            long long dt = now - r->last_change_ms;

            rec_account(r, &c, now);
            r->rate_pps = (c.packets - before) * 1000
                          / (uint64_t) (mgr->cfg.stats_ms ? mgr->cfg.stats_ms
                                                         : 1);
            /* Full rules age here when the NIC has no AGE action; partial
             * rules age with their megaflow (software sees the hits). */
            idle = r->state == OFFLOAD_STATE_FULL
                   && !(r->hw_port->caps.age && r->full
                        && r->full->age.timeout)
                   && c.packets == before
                   && dt >= (long long) mgr->cfg.idle_ms;
        }
        pthread_mutex_unlock(&mgr->mutex);
        if (idle) {
            hw_delete(mgr, r, OFFLOAD_R_AGED);
        }
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.polls++;
    mgr->stats_epoch++;
    pthread_mutex_unlock(&mgr->mutex);
}

/* Collects AGE events of every port with AGE. */
static void
collect_aged(struct offload *mgr)
{
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op;
        void *ctx[64];
        int n;

        pthread_mutex_lock(&mgr->mutex);
        op = mgr->ports[p];
        pthread_mutex_unlock(&mgr->mutex);
        if (!op || op->dead || !op->caps.age || !op->n_flows) {
            continue;
        }
        do {
            n = op->class->aged_flows(op, ctx, 64);
            for (int i = 0; i < n; i++) {
                struct offload_rec *r = ctx[i], *q;
                bool found = false;

                /* Only records still installed (the context may be of a
                 * rule being deleted right now). */
                pthread_mutex_lock(&mgr->mutex);
                for (q = mgr->hw_list; q; q = q->hw_next) {
                    if (q == r) {
                        found = !r->want_del && !r->on_del_list && !r->busy;
                        break;
                    }
                }
                pthread_mutex_unlock(&mgr->mutex);
                if (found) {
                    struct offload_counters c;

                    if (!r->hw_port->class->flow_query(r->hw_port, r->hw,
                                                       &c)) {
                        pthread_mutex_lock(&mgr->mutex);
                        rec_account(r, &c, now_ms());
                        pthread_mutex_unlock(&mgr->mutex);
                    }
                    hw_delete(mgr, r, OFFLOAD_R_AGED);
                }
            }
        } while (n == 64);
    }
}

static void
thread_port_req(struct offload *mgr)
{
    struct offload_port *op = mgr->port_req;
    int opcode = mgr->port_req_op;
    char err[256] = "";
    int ret = 0;

    pthread_mutex_unlock(&mgr->mutex);
    if (opcode == 1) {
        ret = op->class->port_init(op, err, sizeof err);
    } else {
        struct offload_rec *r, *next;

        for (r = mgr->hw_list; r; r = next) {
            next = r->hw_next;
            if (r->hw_port == op) {
                hw_delete(mgr, r, OFFLOAD_R_PORT_REMOVED);
            }
        }
        op->class->flush(op);
        op->class->port_uninit(op);
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->port_req_ret = ret;
    snprintf(mgr->port_req_err, sizeof mgr->port_req_err, "%s", err);
    mgr->port_req = NULL;
    mgr->port_req_done = true;
    pthread_cond_broadcast(&mgr->done);
}

static void
thread_flush_all(struct offload *mgr)
{
    size_t n = 0;

    while (mgr->hw_list) {
        hw_delete(mgr, mgr->hw_list, OFFLOAD_R_NONE);
        n++;
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op = mgr->ports[p];

        if (op && !op->dead) {
            op->class->flush(op);
        }
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.flushed += n;
    pthread_mutex_unlock(&mgr->mutex);
}

static void *
offload_thread(void *mgr_)
{
    struct offload *mgr = mgr_;
    long long next_poll = now_ms() + mgr->cfg.stats_ms;

    pthread_mutex_lock(&mgr->mutex);
    for (;;) {
        long long now;

        if (mgr->port_req && !mgr->port_req_done) {
            thread_port_req(mgr);
            continue;
        }
        if (mgr->del_head) {
            struct offload_rec *r = mgr->del_head;

            mgr->del_head = r->qnext;
            r->qnext = NULL;
            r->busy = true;
            pthread_mutex_unlock(&mgr->mutex);
            if (r->hw) {
                hw_delete(mgr, r, OFFLOAD_R_NONE);
            }
            pthread_mutex_lock(&mgr->mutex);
            r->busy = false;
            r->on_del_list = false;
            pthread_cond_broadcast(&mgr->done);
            continue;
        }
        if (mgr->stop) {
            pthread_mutex_unlock(&mgr->mutex);
            thread_flush_all(mgr);
            pthread_mutex_lock(&mgr->mutex);
            break;
        }
        if (mgr->put_head) {
            struct offload_rec *r = mgr->put_head;

            mgr->put_head = r->qnext;
            if (!mgr->put_head) {
                mgr->put_tail = NULL;
            }
            r->qnext = NULL;
            r->queued = false;
            mgr->put_len--;
            r->busy = true;
            pthread_mutex_unlock(&mgr->mutex);
            do_put(mgr, r);
            pthread_mutex_lock(&mgr->mutex);
            r->busy = false;
            if (r->want_del && r->hw && !r->on_del_list) {
                r->on_del_list = true;
                r->qnext = mgr->del_head;
                mgr->del_head = r;
            }
            pthread_cond_broadcast(&mgr->done);
            continue;
        }
        now = now_ms();
        if (now >= next_poll || mgr->age_event) {
            bool aged = mgr->age_event || now >= next_poll;

            mgr->age_event = false;
            pthread_mutex_unlock(&mgr->mutex);
            if (now >= next_poll) {
                poll_all(mgr);
                next_poll = now + mgr->cfg.stats_ms;
            }
            if (aged) {
                collect_aged(mgr);
            }
            pthread_mutex_lock(&mgr->mutex);
            continue;
        }
        {
            struct timespec ts;
            long long wait = next_poll - now;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&mgr->wake, &mgr->mutex, &ts);
        }
    }
    mgr->thread_running = false;
    pthread_cond_broadcast(&mgr->done);
    pthread_mutex_unlock(&mgr->mutex);
    return NULL;
}

void
offload_wake(struct offload *mgr)
{
    pthread_mutex_lock(&mgr->mutex);
    mgr->age_event = true;
    pthread_cond_signal(&mgr->wake);
    pthread_mutex_unlock(&mgr->mutex);
}

/* ---- Datapath hooks (main thread). ---- */

struct resolve_ctx {
    struct offload *mgr;
    const struct offload_port *in;
};

static bool
resolve_output(uint32_t dp_port, uint16_t *nic_port, void *ctx_)
{
    struct resolve_ctx *ctx = ctx_;
    const struct offload_port *op;

    if (dp_port >= DP_MAX_PORTS) {
        return false;
    }
    op = ctx->mgr->ports[dp_port];
    if (!op || op->dead || op->class != ctx->in->class
        || strcmp(op->nic, ctx->in->nic)) {
        return false;
    }
    *nic_port = op->nic_port_id;
    return true;
}

static bool
hook_offer(struct dp_megaflow *mf, const struct dp_megaflow_info *info,
           void *mgr_)
{
    struct offload *mgr = mgr_;
    uint32_t in_port = dp_megaflow_in_port(mf);
    struct offload_port *op = in_port < DP_MAX_PORTS ? mgr->ports[in_port]
                                                     : NULL;
    struct resolve_ctx rctx = { mgr, op };
    struct offload_xlate x;
    struct offload_rec *r;
    enum offload_reason reason = OFFLOAD_R_NONE;
    char msg[128] = "";
    bool queue = false;

    if (mgr->shut) {
        return false;
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.offered++;
    if (rec_find(mgr, mf)) {
        pthread_mutex_unlock(&mgr->mutex);
        return true;
    }
    if (op && op->dead) {
        op = NULL;
    }
    if (op && op->mode != OFFLOAD_MODE_NONE
        && mgr->put_len >= mgr->cfg.queue_size) {
        mgr->stats.queue_full++;
        pthread_mutex_unlock(&mgr->mutex);
        return false;           /* Offered again later. */
    }
    if (op && op->mode != OFFLOAD_MODE_NONE && !mgr->cfg.evict
        && mgr->n_hw + mgr->put_len >= mgr->cfg.max_flows) {
        mgr->stats.capacity_kept_sw++;
        pthread_mutex_unlock(&mgr->mutex);
        return false;
    }
    pthread_mutex_unlock(&mgr->mutex);

    r = calloc(1, sizeof *r);
    if (!r) {
        return false;
    }
    r->mf = mf;
    r->op = op;
    r->flow = info->flow;
    r->mask = info->mask;
    r->flow.in_port = in_port;
    r->sw_packets_seen = info->packets;
    /* A conservative rate estimate: it was offered because it carried
     * min_packets or min_pps. */
    r->offer_pps = mgr->cfg.min_pps ? mgr->cfg.min_pps : 1;
    if (info->packets > r->offer_pps) {
        r->offer_pps = info->packets;
    }

    memset(&x, 0, sizeof x);
    x.flow = &r->flow;
    x.mask = &info->mask;
    x.actions = info->actions;
    if (!op || op->mode == OFFLOAD_MODE_NONE || op->dead) {
        reason = OFFLOAD_R_PORT_DISABLED;
        snprintf(msg, sizeof msg, "%.120s",
                 op ? op->probe : "input port has no offload");
    } else {
        x.caps = &op->caps;
        x.in_nic_port = op->nic_port_id;
        x.resolve = resolve_output;
        x.resolve_aux = &rctx;
        x.n_rxq = op->n_rxq;
        x.age_s = (mgr->cfg.idle_ms + 999) / 1000;
        x.age_context = r;
        if (op->mode == OFFLOAD_MODE_FULL) {
            r->full = malloc(sizeof *r->full);
            x.mode = OFFLOAD_MODE_FULL;
            if (r->full
                && offload_translate(&x, r->full, &reason, msg, sizeof msg)) {
                free(r->full);
                r->full = NULL;
            }
        } else {
            reason = OFFLOAD_R_PARTIAL_MODE;
            snprintf(msg, sizeof msg, "port %s offloads partially only",
                     op->name);
        }
        /* Partial is also the fallback when the NIC refuses the full
         * rule at insertion time. */
        if (op->caps.partial) {
            enum offload_reason pr;
            char pmsg[128];

            r->partial = malloc(sizeof *r->partial);
            x.mode = OFFLOAD_MODE_PARTIAL;
            x.mark = dp_megaflow_id(mgr->dp, mf);
            if (r->partial
                && offload_translate(&x, r->partial, &pr, pmsg,
                                     sizeof pmsg)) {
                free(r->partial);
                r->partial = NULL;
                if (reason == OFFLOAD_R_NONE
                    || reason == OFFLOAD_R_PARTIAL_MODE) {
                    reason = pr;
                    snprintf(msg, sizeof msg, "%s", pmsg);
                }
            }
        } else if (!r->full && reason == OFFLOAD_R_NONE) {
            reason = OFFLOAD_R_NIC_NO_PARTIAL;
        }
        queue = r->full || r->partial;
    }

    pthread_mutex_lock(&mgr->mutex);
    r->reason = reason;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    rec_insert(mgr, r);
    if (queue) {
        put_queue_push(mgr, r);
        mgr->stats.queued++;
    } else {
        r->state = OFFLOAD_STATE_SOFTWARE;
        mgr->stats.failed[reason]++;
    }
    pthread_mutex_unlock(&mgr->mutex);
    return true;
}

/* Folds what the record's hardware counted since the last fold into its
 * megaflow.  Mutex held; main thread. */
static void
rec_fold(struct offload *mgr, struct offload_rec *r)
{
    if (r->hw_packets != r->credited_packets) {
        dp_megaflow_hw_stats(mgr->dp, r->mf,
                             r->hw_packets - r->credited_packets,
                             r->hw_bytes - r->credited_bytes, r->hw_used_ms);
        r->credited_packets = r->hw_packets;
        r->credited_bytes = r->hw_bytes;
    }
}

static void
log_removed(struct offload *mgr, struct offload_rec *r)
{
    struct offload_removed *e = &mgr->log[mgr->log_next];

    e->when_ms = now_ms();
    e->reason = r->reason;
    e->flow = r->flow;
    e->mask = r->mask;
    e->in_port = r->flow.in_port;
    e->packets = r->hw_packets;
    e->bytes = r->hw_bytes;
    mgr->log_next = (mgr->log_next + 1) % OFFLOAD_LOG_SIZE;
    if (mgr->log_n < OFFLOAD_LOG_SIZE) {
        mgr->log_n++;
    }
    fprintf(stderr, "sluiced: offload: flow removed from hardware (%s): "
            "in_port %u, %llu packets, %llu bytes\n",
            offload_reason_name(r->reason), r->flow.in_port,
            (unsigned long long) r->hw_packets,
            (unsigned long long) r->hw_bytes);
}

/* Handles the aged/evicted list.  Mutex held; main thread. */
static void
drain_aged(struct offload *mgr)
{
    while (mgr->aged_head) {
        struct offload_rec *r = mgr->aged_head;

        mgr->aged_head = r->anext;
        r->anext = NULL;
        r->on_aged_list = false;
        rec_fold(mgr, r);
        log_removed(mgr, r);
    }
}

static void
hook_remove(struct dp_megaflow *mf, enum dp_removal_reason reason,
            void *mgr_)
{
    struct offload *mgr = mgr_;
    struct offload_rec *r;

    (void) reason;
    pthread_mutex_lock(&mgr->mutex);
    r = rec_find(mgr, mf);
    if (!r) {
        pthread_mutex_unlock(&mgr->mutex);
        return;
    }
    r->want_del = true;
    if (r->queued) {
        struct offload_rec **p = &mgr->put_head, *prev = NULL;

        while (*p != r) {
            prev = *p;
            p = &(*p)->qnext;
        }
        *p = r->qnext;
        if (mgr->put_tail == r) {
            mgr->put_tail = prev;
        }
        r->qnext = NULL;
        r->queued = false;
        mgr->put_len--;
    }
    if (r->hw && !r->busy && !r->on_del_list) {
        r->on_del_list = true;
        r->qnext = mgr->del_head;
        mgr->del_head = r;
        pthread_cond_signal(&mgr->wake);
    }
    while (mgr->thread_running
           && (r->busy || r->on_del_list || r->hw)) {
        pthread_cond_wait(&mgr->done, &mgr->mutex);
    }
    if (r->on_aged_list) {
        /* Aged meanwhile: keep the log entry. */
        drain_aged(mgr);
    }
    rec_fold(mgr, r);
    rec_unlink(mgr, r);
    pthread_mutex_unlock(&mgr->mutex);
    rec_free(r);
}

/* ---- Public API. ---- */

int
offload_create(struct dp *dp, const struct offload_config *cfg,
               struct offload **mgrp, char *err, size_t errsize)
{
    struct offload *mgr = calloc(1, sizeof *mgr);
    struct dp_offload_hooks hooks = {
        .offer = hook_offer, .remove = hook_remove,
    };
    struct dp_offload_policy policy;
    int ret;

    *mgrp = NULL;
    if (!mgr) {
        snprintf(err, errsize, "offload: out of memory");
        return ENOMEM;
    }
    mgr->dp = dp;
    mgr->cfg = *cfg;
    if (!mgr->cfg.stats_ms) {
        mgr->cfg.stats_ms = 1000;
    }
    if (!mgr->cfg.queue_size) {
        mgr->cfg.queue_size = 4096;
    }
    if (!mgr->cfg.max_flows) {
        mgr->cfg.max_flows = 65536;
    }
    mgr->n_buckets = 1024;
    mgr->buckets = calloc(mgr->n_buckets, sizeof *mgr->buckets);
    if (!mgr->buckets) {
        free(mgr);
        snprintf(err, errsize, "offload: out of memory");
        return ENOMEM;
    }
    pthread_mutex_init(&mgr->mutex, NULL);
    pthread_cond_init(&mgr->wake, NULL);
    pthread_cond_init(&mgr->done, NULL);
    mgr->thread_running = true;
    ret = pthread_create(&mgr->thread, NULL, offload_thread, mgr);
    if (ret) {
        free(mgr->buckets);
        free(mgr);
        snprintf(err, errsize, "offload: cannot start thread: %s",
                 strerror(ret));
        return ret;
    }
    pthread_setname_np(mgr->thread, "sl-offload");
    policy = (struct dp_offload_policy) {
        .min_packets = cfg->min_packets,
        .min_pps = cfg->min_pps,
        .check_ms = cfg->check_ms,
    };
    dp_set_offload(dp, &hooks, &policy, mgr);
    *mgrp = mgr;
    return 0;
}

static void
count_rules_cb(struct simnic *nic, void *left)
{
    *(size_t *) left += simnic_n_rules(nic);
}

void
offload_shutdown(struct offload *mgr)
{
    if (!mgr || mgr->shut) {
        return;
    }
    mgr->shut = true;
    pthread_mutex_lock(&mgr->mutex);
    mgr->stop = true;
    pthread_cond_signal(&mgr->wake);
    pthread_mutex_unlock(&mgr->mutex);
    pthread_join(mgr->thread, NULL);
    {
        size_t left = 0;

        simnic_for_each(count_rules_cb, &left);
        fprintf(stderr, "sluiced: offload: shutdown: %llu rules flushed, "
                "%zu left in hardware\n",
                (unsigned long long) mgr->stats.flushed, left);
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);
    /* Queued inserts never happen now. */
    for (struct offload_rec *r = mgr->put_head; r; r = r->qnext) {
        r->queued = false;
        r->state = OFFLOAD_STATE_SOFTWARE;
    }
    mgr->put_head = mgr->put_tail = NULL;
    mgr->put_len = 0;
    for (struct offload_rec *r = mgr->all; r; r = r->next) {
        rec_fold(mgr, r);
    }
    pthread_mutex_unlock(&mgr->mutex);
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op = mgr->ports[p];

        if (op && !op->dead) {
            op->class->port_uninit(op);
            op->dead = true;
        }
    }
}

void
offload_destroy(struct offload *mgr)
{
    if (!mgr) {
        return;
    }
    offload_shutdown(mgr);
    while (mgr->all) {
        struct offload_rec *r = mgr->all;

        rec_unlink(mgr, r);
        rec_free(r);
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op = mgr->ports[p];

        if (op && op->class->port_free) {
            op->class->port_free(op);
        }
        free(op);
    }
    for (size_t i = 0; i < mgr->n_dead_ports; i++) {
        struct offload_port *op = mgr->dead_ports[i];

        if (op->class->port_free) {
            op->class->port_free(op);
        }
        free(op);
    }
    free(mgr->dead_ports);
    free(mgr->buckets);
    pthread_mutex_destroy(&mgr->mutex);
    pthread_cond_destroy(&mgr->wake);
    pthread_cond_destroy(&mgr->done);
    free(mgr);
}

/* Runs a port request on the offload thread and waits.  Main thread. */
static int
port_request(struct offload *mgr, struct offload_port *op, int opcode,
             char *err, size_t errsize)
{
    int ret;

    pthread_mutex_lock(&mgr->mutex);
    if (!mgr->thread_running) {
        pthread_mutex_unlock(&mgr->mutex);
        if (opcode == 1) {
            return op->class->port_init(op, err, errsize);
        }
        op->class->flush(op);
        op->class->port_uninit(op);
        return 0;
    }
    mgr->port_req = op;
    mgr->port_req_op = opcode;
    mgr->port_req_done = false;
    pthread_cond_signal(&mgr->wake);
    while (!mgr->port_req_done) {
        pthread_cond_wait(&mgr->done, &mgr->mutex);
    }
    ret = mgr->port_req_ret;
    if (err && errsize) {
        snprintf(err, errsize, "%s", mgr->port_req_err);
    }
    drain_aged(mgr);
    pthread_mutex_unlock(&mgr->mutex);
    return ret;
}

int
offload_port_add(struct offload *mgr, uint32_t dp_port, struct port *port,
                 const char *name, const struct cfg_port_offload *oc,
                 char *err, size_t errsize)
{
    struct offload_port *op;
    const char *prov;
    char perr[256] = "";
    int ret;

    if (!mgr || !oc || oc->mode == CFG_OFFLOAD_NONE
        || dp_port >= DP_MAX_PORTS) {
        return 0;
    }
    if (mgr->ports[dp_port]) {
        snprintf(err, errsize, "offload: datapath port %u already added",
                 dp_port);
        return EEXIST;
    }
    op = calloc(1, sizeof *op);
    if (!op) {
        snprintf(err, errsize, "offload: out of memory");
        return ENOMEM;
    }
    prov = oc->provider[0] ? oc->provider
           : !strcmp(port_type(port), "dpdk") ? "rte_flow" : "simnic";
    op->class = !strcmp(prov, "rte_flow") ? &offload_rte_flow_class
                                          : &offload_simnic_class;
    op->mgr = mgr;
    snprintf(op->name, sizeof op->name, "%s", name);
    op->dp_port = dp_port;
    op->port = port;
    op->mode = oc->mode == CFG_OFFLOAD_FULL ? OFFLOAD_MODE_FULL
                                            : OFFLOAD_MODE_PARTIAL;
    op->n_rxq = port_n_rxq(port);
    snprintf(op->nic, sizeof op->nic, "%s", oc->nic[0] ? oc->nic : name);
    ret = port_request(mgr, op, 1, perr, sizeof perr);
    if (ret) {
        /* Not fatal: the port runs in software; offload-show says why. */
        memset(&op->caps, 0, sizeof op->caps);
        snprintf(op->probe, sizeof op->probe, "probe failed: %s",
                 perr[0] ? perr : strerror(ret));
        op->dead = true;
        fprintf(stderr, "sluiced: port %s: offload (%s): %s\n", name,
                op->class->name, op->probe);
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->ports[dp_port] = op;
    pthread_mutex_unlock(&mgr->mutex);
    return 0;
}

void
offload_port_del(struct offload *mgr, uint32_t dp_port)
{
    struct offload_port *op, **dead;

    if (!mgr || dp_port >= DP_MAX_PORTS || !mgr->ports[dp_port]) {
        return;
    }
    op = mgr->ports[dp_port];
    if (!op->dead) {
        port_request(mgr, op, 2, NULL, 0);
        op->dead = true;
    }
    /* Records may still point at it: keep it until destroy. */
    dead = realloc(mgr->dead_ports,
                   (mgr->n_dead_ports + 1) * sizeof *dead);
    pthread_mutex_lock(&mgr->mutex);
    mgr->ports[dp_port] = NULL;
    if (dead) {
        mgr->dead_ports = dead;
        dead[mgr->n_dead_ports++] = op;
    }
    for (struct offload_rec *r = mgr->all; r; r = r->next) {
        if (r->op == op) {
            r->op = NULL;
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
    if (!dead) {
        free(op);               /* No record refers to it any more. */
    }
}

/* Whether a flow that went back to software may be tried again. */
static bool
reason_retryable(enum offload_reason r)
{
    return r == OFFLOAD_R_AGED || r == OFFLOAD_R_EVICTED
           || r == OFFLOAD_R_TABLE_FULL || r == OFFLOAD_R_CAPACITY
           || r == OFFLOAD_R_INSERT_FAILED;
}

/* dp_megaflow_dump() callback (the PMD's flow mutex is held; lock order:
 * flow mutex, then mgr->mutex, as in the offer hook). */
static void
retry_cb(const struct dp_megaflow_info *info, void *mgr_)
{
    struct offload *mgr = mgr_;
    struct offload_rec *r;

    pthread_mutex_lock(&mgr->mutex);
    r = rec_find(mgr, info->handle);
    if (r && r->state == OFFLOAD_STATE_SOFTWARE && reason_retryable(r->reason)
        && r->op && !r->op->dead && !r->queued && !r->busy && !r->want_del
        && !r->hw && (r->full || r->partial)
        && mgr->put_len < mgr->cfg.queue_size
        && info->packets - r->sw_packets_seen
           >= (mgr->cfg.min_packets ? mgr->cfg.min_packets : 1)) {
        /* Hot again in software: queue it again. */
        put_queue_push(mgr, r);
        mgr->stats.requeued++;
    }
    if (r) {
        r->sw_packets_seen = info->packets;
    }
    pthread_mutex_unlock(&mgr->mutex);
}

unsigned
offload_run(struct offload *mgr)
{
    long long now;

    if (!mgr) {
        return 1000;
    }
    now = now_ms();
    if (now >= mgr->next_retry_ms && !mgr->shut) {
        unsigned period = mgr->cfg.check_ms * 5;

        mgr->next_retry_ms = now + (period < 100 ? 100 : period);
        dp_megaflow_dump(mgr->dp, retry_cb, mgr);
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);
    if (mgr->stats_epoch != mgr->stats_epoch_seen) {
        mgr->stats_epoch_seen = mgr->stats_epoch;
        for (struct offload_rec *r = mgr->all; r; r = r->next) {
            rec_fold(mgr, r);
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
    return 10;
}

void
offload_simnic_params(const struct offload *mgr, struct simnic_params *p)
{
    if (mgr) {
        p->capacity = mgr->cfg.simnic_capacity ? mgr->cfg.simnic_capacity
                                               : 4096;
        p->insert_rate = mgr->cfg.simnic_insert_rate;
    }
}

bool
offload_flow_get(struct offload *mgr, const void *mf,
                 struct offload_flow_info *info)
{
    struct offload_rec *r;

    memset(info, 0, sizeof *info);
    if (!mgr) {
        return false;
    }
    pthread_mutex_lock(&mgr->mutex);
    r = rec_find(mgr, mf);
    if (r) {
        info->state = r->state;
        info->reason = r->reason;
        snprintf(info->message, sizeof info->message, "%s", r->msg);
        info->port = r->op ? r->op->name : NULL;
    }
    pthread_mutex_unlock(&mgr->mutex);
    return r != NULL;
}

void
offload_get_stats(struct offload *mgr, struct offload_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!mgr) {
        return;
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);            /* Main thread: the log is current. */
    *s = mgr->stats;
    s->in_hw = mgr->n_hw;
    s->queue_len = mgr->put_len;
    s->records = mgr->n_recs;
    pthread_mutex_unlock(&mgr->mutex);
}

void
offload_port_dump(struct offload *mgr,
                  void (*cb)(const struct offload_port *, void *), void *aux)
{
    if (!mgr) {
        return;
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        if (mgr->ports[p]) {
            cb(mgr->ports[p], aux);
        }
    }
}

size_t
offload_removed_log(struct offload *mgr, struct offload_removed *out,
                    size_t n)
{
    size_t k = 0;

    if (!mgr) {
        return 0;
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);
    for (size_t i = 0; i < mgr->log_n && k < n; i++) {
        size_t idx = (mgr->log_next + OFFLOAD_LOG_SIZE - mgr->log_n + i)
                     % OFFLOAD_LOG_SIZE;

        out[k++] = mgr->log[idx];
    }
    pthread_mutex_unlock(&mgr->mutex);
    return k;
}
