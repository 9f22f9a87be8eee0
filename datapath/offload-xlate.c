/* SPDX-License-Identifier: BSD-3-Clause */
/* offload-xlate.c: megaflow -> rte_flow translation and the capability
 * probe (pure: no thread, no NIC). */

#include "offload-xlate.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>

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
offload_mode_name(enum offload_mode m)
{
    return m == OFFLOAD_MODE_FULL ? "full"
           : m == OFFLOAD_MODE_PARTIAL ? "partial" : "none";
}

const char *
offload_encap_caps(const struct offload_caps *c)
{
    return c->vxlan_encap && c->raw_encap ? "vxlan+raw"
           : c->vxlan_encap ? "vxlan" : c->raw_encap ? "raw" : "none";
}

const char *
offload_decap_caps(const struct offload_caps *c)
{
    return c->vxlan_decap && c->raw_decap ? "vxlan+raw"
           : c->vxlan_decap ? "vxlan" : c->raw_decap ? "raw" : "none";
}

/* ---- Tunnel templates. ---- */

/* Fills r->vxlan_encap's definition (ETH / IPV4 or IPV6 / UDP / VXLAN)
 * from the VXLAN template of 'len' bytes in r->encap_data.  False if the
 * template is not Ethernet + IP + UDP + VXLAN. */
static bool
encap_definition(struct offload_rule *r, bool is_ipv6, size_t len)
{
    const uint8_t *h = r->encap_data;
    size_t l4 = is_ipv6 ? 54 : 34;
    size_t n = 0;

    if (len != l4 + 16) {
        return false;
    }
    memset(r->encap_items, 0, sizeof r->encap_items);
    memset(&r->encap_eth, 0, sizeof r->encap_eth);
    memcpy(&r->encap_eth.hdr, h, sizeof r->encap_eth.hdr);
    r->encap_items[n].type = RTE_FLOW_ITEM_TYPE_ETH;
    r->encap_items[n++].spec = &r->encap_eth;
    if (is_ipv6) {
        memset(&r->encap_ipv6, 0, sizeof r->encap_ipv6);
        memcpy(&r->encap_ipv6.hdr, h + 14, sizeof r->encap_ipv6.hdr);
        r->encap_items[n].type = RTE_FLOW_ITEM_TYPE_IPV6;
        r->encap_items[n++].spec = &r->encap_ipv6;
    } else {
        memset(&r->encap_ipv4, 0, sizeof r->encap_ipv4);
        memcpy(&r->encap_ipv4.hdr, h + 14, sizeof r->encap_ipv4.hdr);
        r->encap_items[n].type = RTE_FLOW_ITEM_TYPE_IPV4;
        r->encap_items[n++].spec = &r->encap_ipv4;
    }
    memcpy(&r->encap_udp.hdr, h + l4, sizeof r->encap_udp.hdr);
    r->encap_items[n].type = RTE_FLOW_ITEM_TYPE_UDP;
    r->encap_items[n++].spec = &r->encap_udp;
    memset(&r->encap_vxlan, 0, sizeof r->encap_vxlan);
    memcpy(&r->encap_vxlan.hdr, h + l4 + 8, sizeof r->encap_vxlan.hdr);
    r->encap_items[n].type = RTE_FLOW_ITEM_TYPE_VXLAN;
    r->encap_items[n++].spec = &r->encap_vxlan;
    r->encap_items[n].type = RTE_FLOW_ITEM_TYPE_END;
    r->vxlan_encap.definition = r->encap_items;
    return true;
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
    /* Last, tunnel encapsulation on the way to that port: a VXLAN
     * template as VXLAN_ENCAP's definition, then as RAW_ENCAP's bytes. */
    caps->vxlan_encap = caps->raw_encap = false;
    if (caps->full && caps->output) {
        struct tnl_spec spec = {
            .type = TNL_VXLAN, .eth_src = { 2, 0, 0, 0, 0, 1 },
            .eth_dst = { 2, 0, 0, 0, 0, 2 }, .ip_src = RTE_BE32(0x0a000001),
            .ip_dst = RTE_BE32(0x0a000002), .df = true,
            .udp_dst = RTE_BE16(TNL_VXLAN_PORT), .vni = 1,
        };
        struct offload_rule *tmp = calloc(1, sizeof *tmp);
        struct rte_flow_action enc[] = {
            { .type = RTE_FLOW_ACTION_TYPE_VOID },
            out[0],
            { .type = RTE_FLOW_ACTION_TYPE_END },
        };
        size_t len;

        if (!tmp) {
            return;
        }
        len = tnl_build(&spec, tmp->encap_data, sizeof tmp->encap_data);
        if (len && encap_definition(tmp, false, len)) {
            enc[0].type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP;
            enc[0].conf = &tmp->vxlan_encap;
            caps->vxlan_encap = validate(ctx, &transfer, tpat, enc, NULL, 0);
            tmp->raw_encap.data = tmp->encap_data;
            tmp->raw_encap.size = len;
            enc[0].type = RTE_FLOW_ACTION_TYPE_RAW_ENCAP;
            enc[0].conf = &tmp->raw_encap;
            caps->raw_encap = validate(ctx, &transfer, tpat, enc, NULL, 0);
        }
        free(tmp);
    }
    /* And decapsulation: a VXLAN packet from that port to it. */
    caps->vxlan_decap = caps->raw_decap = false;
    if (caps->full && caps->output) {
        struct rte_flow_item_udp udp = {
            .hdr.dst_port = RTE_BE16(TNL_VXLAN_PORT),
        };
        struct rte_flow_item_udp udpm = { .hdr.dst_port = RTE_BE16(0xffff) };
        struct rte_flow_item_vxlan vx = { .vni = { 0, 0, 1 } };
        struct rte_flow_item_vxlan vxm = { .vni = { 0xff, 0xff, 0xff } };
        struct rte_flow_item dpat[] = {
            tpat[0], pat[0], pat[1],
            { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp, .mask = &udpm },
            { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx, .mask = &vxm },
            { .type = RTE_FLOW_ITEM_TYPE_ETH },
            { .type = RTE_FLOW_ITEM_TYPE_END },
        };
        struct rte_flow_action_raw_decap rd = { .size = 14 + 20 + 8 + 8 };
        struct rte_flow_action dec[] = {
            { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
            out[0],
            { .type = RTE_FLOW_ACTION_TYPE_END },
        };

        caps->vxlan_decap = validate(ctx, &transfer, dpat, dec, NULL, 0);
        dec[0].type = RTE_FLOW_ACTION_TYPE_RAW_DECAP;
        dec[0].conf = &rd;
        caps->raw_decap = validate(ctx, &transfer, dpat, dec, NULL, 0);
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
        if (a->type == DPA_TNL_PUSH) {
            /* What follows works on the encapsulated packet: copied as
             * is (translate_encap() refuses rewrites there). */
            memcpy(a + 1, &acts->a[i + 1],
                   (acts->n - i - 1) * sizeof *a);
            break;
        }
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

/* Adds the output to datapath port 'dp_port' (a port of the input port's
 * NIC).  Returns 0 or EOPNOTSUPP. */
static int
add_output(const struct offload_xlate *x, struct offload_rule *r,
           uint32_t dp_port, bool *transfer, enum offload_reason *reason,
           char *msg, size_t msgsize)
{
    const struct offload_caps *c = x->caps;
    char what[96];
    uint16_t np;

    if (!c->output) {
        return unsupported(reason, OFFLOAD_R_OUTPUT_OTHER_NIC, msg,
                           msgsize, "the NIC cannot output to a "
                           "port (no e-switch)");
    }
    if (!x->resolve || !x->resolve(dp_port, &np, x->resolve_aux)) {
        snprintf(what, sizeof what, "output to datapath port %u, "
                 "not on this NIC", dp_port);
        return unsupported(reason, OFFLOAD_R_OUTPUT_OTHER_NIC, msg,
                           msgsize, what);
    }
    *transfer = true;
    if (c->represented_port) {
        r->out_port.port_id = np;
        add_action(r, RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, &r->out_port);
    } else {
        r->out_port_id.id = np;
        add_action(r, RTE_FLOW_ACTION_TYPE_PORT_ID, &r->out_port_id);
    }
    return 0;
}

/* The DPA_TNL_PUSH block at 'a' ('n_left' actions from 'a' to the end of
 * the list, the block its last): VXLAN_ENCAP or RAW_ENCAP and the one
 * output of the underlay's actions (offload_translate()).  'n_push' VLAN
 * tags were pushed before; '*untagged_only' is set when the match must
 * keep tagged frames out.  Returns 0 or EOPNOTSUPP. */
static int
translate_encap(const struct offload_xlate *x, struct offload_rule *r,
                const struct dp_action *a, size_t n_left, size_t n_push,
                bool *untagged_only, bool *transfer,
                enum offload_reason *reason, char *msg, size_t msgsize)
{
    const struct offload_caps *c = x->caps;
    size_t len = a->tnl_push.hdr_len, n_data = a->tnl_push.n_data;
    const struct dp_action *out = &a[1 + n_data];
    bool v6 = a->tnl_push.is_ipv6;
    char what[128];

    if (!len || len > sizeof r->encap_data
        || n_data != (len + DPA_TNL_DATA_BYTES - 1) / DPA_TNL_DATA_BYTES
        || len < (v6 ? 54u : 34u) + 16) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "malformed tunnel header template");
    }
    if (a->tnl_push.n_acts != 1 || out->type != DPA_OUTPUT) {
        return unsupported(reason, a->tnl_push.n_acts > 1
                                   ? OFFLOAD_R_MULTI_OUTPUT
                                   : OFFLOAD_R_ACTION_UNSUPPORTED,
                           msg, msgsize, "underlay actions other than one "
                           "output");
    }
    if (a->tnl_push.csum) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "outer UDP checksum (csum=true): the "
                           "NIC computes none");
    }
    if (!c->vxlan_encap && !c->raw_encap) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "tunnel encapsulation (the NIC has "
                           "neither VXLAN_ENCAP nor RAW_ENCAP)");
    }
    if (a->tnl_push.type == TNL_GENEVE && !c->raw_encap) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "GENEVE encapsulation (the NIC has no "
                           "RAW_ENCAP)");
    }
    if (a->tnl_push.max_inner) {
        bool tagged = (x->mask->vlan_tci & htons(FLOW_VLAN_CFI))
                      && (x->flow->vlan_tci & htons(FLOW_VLAN_CFI));
        uint32_t longest = x->in_mtu + 14 + 4 * (uint32_t) n_push
                           + (tagged ? 4 : 0);

        if (!x->in_mtu) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "encapsulation from a port of "
                               "unknown MTU (too long frames could not be "
                               "dropped)");
        }
        if (longest > a->tnl_push.max_inner) {
            snprintf(what, sizeof what, "encapsulation of frames up to %u "
                     "bytes; the underlay carries %u (software drops and "
                     "counts longer ones)", longest,
                     a->tnl_push.max_inner);
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, what);
        }
        if (!tagged && longest + 4 > a->tnl_push.max_inner) {
            *untagged_only = true;
        }
    }
    if (1 + n_data + 1 != n_left) {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "actions after the encapsulation");
    }
    for (size_t d = 0; d < n_data; d++) {
        size_t off = d * DPA_TNL_DATA_BYTES;

        if (a[1 + d].type != DPA_TNL_DATA) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "malformed tunnel header template");
        }
        memcpy(r->encap_data + off, a[1 + d].data,
               len - off < DPA_TNL_DATA_BYTES ? len - off
                                              : DPA_TNL_DATA_BYTES);
    }
    if (a->tnl_push.type == TNL_VXLAN && c->vxlan_encap
        && encap_definition(r, v6, len)) {
        add_action(r, RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, &r->vxlan_encap);
    } else if (c->raw_encap) {
        r->raw_encap.data = r->encap_data;
        r->raw_encap.preserve = NULL;
        r->raw_encap.size = len;
        add_action(r, RTE_FLOW_ACTION_TYPE_RAW_ENCAP, &r->raw_encap);
    } else {
        return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                           msgsize, "tunnel header template (the NIC has "
                           "no RAW_ENCAP)");
    }
    return add_output(x, r, out->port, transfer, reason, msg, msgsize);
}

static int
translate_full_actions(const struct offload_xlate *x, struct offload_rule *r,
                       bool *transfer, bool *untagged_only,
                       enum offload_reason *reason, char *msg,
                       size_t msgsize)
{
    const struct offload_caps *c = x->caps;
    struct {
        struct dp_actions h;
        struct dp_action a[OFFLOAD_MAX_DP_ACTIONS];
    } wide;
    const struct dp_actions *acts = x->actions;
    size_t n_out = 0, last_end = 0;
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
    for (size_t i = 0; acts && i < acts->n;
         i += dp_action_block_len(&acts->a[i])) {
        uint16_t t = acts->a[i].type;

        if (t == DPA_OUTPUT || t == DPA_TNL_PUSH) {
            n_out++;
            last_end = i + dp_action_block_len(&acts->a[i]);
        } else if (t == DPA_TNL_POP || t == DPA_TNL_DATA) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "tunnel decapsulation (software "
                               "only)");
        } else if (t == DPA_METER) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "meters (software only)");
        } else if (t == DPA_USERSPACE) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "packets to the controller "
                               "(software only)");
        } else if (t == DPA_CT || t == DPA_CT_CLEAR || t == DPA_RECIRC) {
            /* Before the no-output case: a first pass ends in ct() and a
             * recirculation, which is no drop. */
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "connection tracking or "
                               "recirculation (software only)");
        }
    }
    if (n_out > 1) {
        return unsupported(reason, OFFLOAD_R_MULTI_OUTPUT, msg, msgsize,
                           "more than one output");
    }
    if (n_out == 1 && last_end != acts->n) {
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
    if (x->decap) {
        /* Before the inner packet's actions (RAW_DECAP's length is set
         * with the pattern). */
        if (c->vxlan_decap) {
            add_action(r, RTE_FLOW_ACTION_TYPE_VXLAN_DECAP, NULL);
        } else if (c->raw_decap) {
            add_action(r, RTE_FLOW_ACTION_TYPE_RAW_DECAP, &r->raw_decap);
        } else {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "tunnel decapsulation (the NIC has "
                               "neither VXLAN_DECAP nor RAW_DECAP)");
        }
    }
    if (!n_out) {
        /* Nothing is sent: whatever was rewritten, the packet dies. */
        add_action(r, RTE_FLOW_ACTION_TYPE_DROP, NULL);
        return 0;
    }
    for (size_t i = 0; i < acts->n; i += dp_action_block_len(&acts->a[i])) {
        const struct dp_action *a = &acts->a[i];

        if (!ACTIONS_ROOM(r)) {
            return unsupported(reason, OFFLOAD_R_ACTION_UNSUPPORTED, msg,
                               msgsize, "too many actions");
        }
        if (a->type == DPA_TNL_PUSH) {
            if (translate_encap(x, r, a, acts->n - i, n_push, untagged_only,
                                transfer, reason, msg, msgsize)) {
                return EOPNOTSUPP;
            }
            continue;
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
        case DPA_OUTPUT:
            if (add_output(x, r, a->port, transfer, reason, msg, msgsize)) {
                return EOPNOTSUPP;
            }
            break;
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

/* Adds the items of the frame 'f' under 'mask' (in_port aside) to 'r',
 * with their storage in 'hs'; first the input port's item for a transfer
 * rule. */
static int
translate_pattern(const struct offload_xlate *x, struct offload_rule *r,
                  const struct flow *f, const struct flow *mask,
                  struct offload_hdrs *hs, bool transfer, bool untagged_only,
                  enum offload_reason *reason, char *msg, size_t msgsize)
{
    struct flow m = *mask;
    uint16_t dl_type = ntohs(f->dl_type);
    bool l3_known = m.dl_type == UINT16_MAX;
    const char *left;
    char what[96];

    m.in_port = 0;
    m.pad0 = m.pad1 = m.pad2 = 0;
    /* What the NIC sees is a packet's first pass: recirc_id 0 and no
     * conntrack state, so a first-pass megaflow's metadata words hold
     * nothing to match.  A recirculated pass exists only in software. */
    if (f->recirc_id) {
        return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                           "a recirculated pass (recirc_id)");
    }
    {
        static const struct flow_tnl no_tnl;

        /* A tunnel's decapsulated packet is a pass the NIC never sees
         * (its decapsulation is not offloaded). */
        if (memcmp(&f->tunnel, &no_tnl, sizeof no_tnl)
            || memcmp(&m.tunnel, &no_tnl, sizeof no_tnl)) {
            return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg,
                               msgsize, "tunnel metadata (a decapsulated "
                               "packet)");
        }
    }
    memset(&m, 0, offsetof(struct flow, dl_dst));

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
    memcpy(hs->eth.dst.addr_bytes, f->dl_dst, 6);
    memcpy(hs->eth_mask.dst.addr_bytes, m.dl_dst, 6);
    memcpy(hs->eth.src.addr_bytes, f->dl_src, 6);
    memcpy(hs->eth_mask.src.addr_bytes, m.dl_src, 6);
    memset(m.dl_dst, 0, 6);
    memset(m.dl_src, 0, 6);
    if (m.vlan_tci) {
        hs->eth_mask.has_vlan = 1;
        if (f->vlan_tci & htons(FLOW_VLAN_CFI)) {
            hs->eth.has_vlan = 1;
            hs->vlan.tci = f->vlan_tci & htons(~FLOW_VLAN_CFI & 0xffff);
            hs->vlan_mask.tci = m.vlan_tci & htons(~FLOW_VLAN_CFI & 0xffff);
            hs->vlan.inner_type = f->dl_type;
            hs->vlan_mask.inner_type = m.dl_type;
        } else {
            hs->eth.type = f->dl_type;
            hs->eth_mask.type = m.dl_type;
        }
        add_item(r, RTE_FLOW_ITEM_TYPE_ETH, &hs->eth, &hs->eth_mask,
                 sizeof hs->eth);
        if (hs->eth.has_vlan) {
            r->items[r->n_items].type = RTE_FLOW_ITEM_TYPE_VLAN;
            r->items[r->n_items].spec = &hs->vlan;
            r->items[r->n_items].mask = &hs->vlan_mask;
            r->n_items++;
        }
    } else {
        hs->eth.type = f->dl_type;
        hs->eth_mask.type = m.dl_type;
        if (untagged_only) {
            /* An encapsulation the underlay's MTU carries only for
             * untagged frames: tagged ones go to software. */
            hs->eth.has_vlan = 0;
            hs->eth_mask.has_vlan = 1;
        }
        add_item(r, RTE_FLOW_ITEM_TYPE_ETH, &hs->eth, &hs->eth_mask,
                 sizeof hs->eth);
    }
    m.vlan_tci = 0;
    m.dl_type = 0;

    /* L3. */
    if (l3_known && dl_type == ETH_TYPE_IP) {
        struct rte_ipv4_hdr *h = &hs->ipv4.hdr, *hm = &hs->ipv4_mask.hdr;

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
        add_item(r, RTE_FLOW_ITEM_TYPE_IPV4, &hs->ipv4, &hs->ipv4_mask,
                 sizeof hs->ipv4);
        m.nw_src = m.nw_dst = 0;
        m.nw_tos = m.nw_ttl = m.nw_frag = 0;
    } else if (l3_known && dl_type == ETH_TYPE_IPV6) {
        struct rte_ipv6_hdr *h = &hs->ipv6.hdr, *hm = &hs->ipv6_mask.hdr;
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
            hs->ipv6.has_frag_ext = 0;
            hs->ipv6_mask.has_frag_ext = 1;
        }
        add_item(r, RTE_FLOW_ITEM_TYPE_IPV6, &hs->ipv6, &hs->ipv6_mask,
                 sizeof hs->ipv6);
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
            hs->l4.tcp.hdr.src_port = f->tp_src;
            hs->l4_mask.tcp.hdr.src_port = m.tp_src;
            hs->l4.tcp.hdr.dst_port = f->tp_dst;
            hs->l4_mask.tcp.hdr.dst_port = m.tp_dst;
            hs->l4.tcp.hdr.tcp_flags = (uint8_t) ntohs(f->tcp_flags);
            hs->l4_mask.tcp.hdr.tcp_flags = (uint8_t) ntohs(m.tcp_flags);
            add_item(r, RTE_FLOW_ITEM_TYPE_TCP, &hs->l4, &hs->l4_mask,
                     sizeof hs->l4.tcp);
            m.tp_src = m.tp_dst = m.tcp_flags = 0;
        } else if (proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_) {
            bool udp = proto == IPPROTO_UDP_;

            if (udp) {
                hs->l4.udp.hdr.src_port = f->tp_src;
                hs->l4_mask.udp.hdr.src_port = m.tp_src;
                hs->l4.udp.hdr.dst_port = f->tp_dst;
                hs->l4_mask.udp.hdr.dst_port = m.tp_dst;
            } else {
                hs->l4.sctp.hdr.src_port = f->tp_src;
                hs->l4_mask.sctp.hdr.src_port = m.tp_src;
                hs->l4.sctp.hdr.dst_port = f->tp_dst;
                hs->l4_mask.sctp.hdr.dst_port = m.tp_dst;
            }
            add_item(r, udp ? RTE_FLOW_ITEM_TYPE_UDP : RTE_FLOW_ITEM_TYPE_SCTP,
                     &hs->l4, &hs->l4_mask,
                     udp ? sizeof hs->l4.udp : sizeof hs->l4.sctp);
            m.tp_src = m.tp_dst = 0;
        } else if (proto == IPPROTO_ICMP_ && !v6) {
            hs->l4.icmp.hdr.icmp_type = (uint8_t) ntohs(f->tp_src);
            hs->l4_mask.icmp.hdr.icmp_type = (uint8_t) ntohs(m.tp_src);
            hs->l4.icmp.hdr.icmp_code = (uint8_t) ntohs(f->tp_dst);
            hs->l4_mask.icmp.hdr.icmp_code = (uint8_t) ntohs(m.tp_dst);
            add_item(r, RTE_FLOW_ITEM_TYPE_ICMP, &hs->l4, &hs->l4_mask,
                     sizeof hs->l4.icmp);
            m.tp_src = m.tp_dst = 0;
        } else if (proto == IPPROTO_ICMPV6_ && v6) {
            hs->l4.icmp6.type = (uint8_t) ntohs(f->tp_src);
            hs->l4_mask.icmp6.type = (uint8_t) ntohs(m.tp_src);
            hs->l4.icmp6.code = (uint8_t) ntohs(f->tp_dst);
            hs->l4_mask.icmp6.code = (uint8_t) ntohs(m.tp_dst);
            add_item(r, RTE_FLOW_ITEM_TYPE_ICMP6, &hs->l4, &hs->l4_mask,
                     sizeof hs->l4.icmp6);
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

/* A decapsulation's pattern: the first pass's outer headers with the
 * tunnel's addresses and UDP port exact, the VNI, the inner frame under
 * the second pass's mask. */
static int
translate_decap_pattern(const struct offload_xlate *x, struct offload_rule *r,
                        bool transfer, enum offload_reason *reason,
                        char *msg, size_t msgsize)
{
    const struct offload_decap *d = x->decap;
    struct flow fo = *d->flow, mo = *d->mask, fi = *x->flow, mi = *x->mask;
    const struct flow_tnl *tm = &x->mask->tunnel, *tf = &x->flow->tunnel;
    bool untagged = false;
    char what[96];
    int err;

    /* What the second pass matched of the tunnel metadata must hold for
     * every packet of the rule: the VNI and addresses it fixes, nothing
     * the NIC cannot see. */
    if ((tm->tun_id & tf->tun_id) != (tm->tun_id & htobe64(d->vni))
        || (tm->ip_src & tf->ip_src) != (tm->ip_src & d->src4)
        || (tm->ip_dst & tf->ip_dst) != (tm->ip_dst & d->dst4)) {
        return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                           "decapsulation: the tunnel fields disagree");
    }
    for (size_t i = 0; i < 16; i++) {
        if ((tm->ipv6_src[i] & tf->ipv6_src[i])
                != (tm->ipv6_src[i] & d->src6[i])
            || (tm->ipv6_dst[i] & tf->ipv6_dst[i])
                != (tm->ipv6_dst[i] & d->dst6[i])) {
            return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg,
                               msgsize, "decapsulation: the tunnel fields "
                               "disagree");
        }
    }
    {
        struct flow_tnl rest = *tm;

        rest.tun_id = 0;
        rest.ip_src = rest.ip_dst = 0;
        memset(rest.ipv6_src, 0, 16);
        memset(rest.ipv6_dst, 0, 16);
        rest.flags &= htons((uint16_t) ~FLOW_TNL_F_KEY);
        if (!all_zeros(&rest, sizeof rest)) {
            snprintf(what, sizeof what, "match on %s (decapsulation)",
                     rest.tos ? "tun_tos" : rest.ttl ? "tun_ttl"
                     : rest.flags ? "tun_flags" : "tun_metadata");
            return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg,
                               msgsize, what);
        }
    }
    /* The outer headers: the first pass's match, with the tunnel's
     * addresses and UDP port exact. */
    if (fo.dl_type == htons(ETH_TYPE_IP) && !d->is_ipv6) {
        fo.nw_src = d->src4;
        fo.nw_dst = d->dst4;
        mo.nw_src = mo.nw_dst = UINT32_MAX;
    } else if (fo.dl_type == htons(ETH_TYPE_IPV6) && d->is_ipv6) {
        memcpy(fo.ipv6_src, d->src6, 16);
        memcpy(fo.ipv6_dst, d->dst6, 16);
        memset(mo.ipv6_src, 0xff, 16);
        memset(mo.ipv6_dst, 0xff, 16);
    } else {
        return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                           "decapsulation: outer headers of another family");
    }
    mo.dl_type = UINT16_MAX;
    fo.nw_proto = IPPROTO_UDP_;
    mo.nw_proto = UINT8_MAX;
    fo.tp_dst = d->udp_port;
    mo.tp_dst = UINT16_MAX;
    /* Not a fragment (software refuses outer fragments). */
    fo.nw_frag = 0;
    mo.nw_frag = FLOW_NW_FRAG_ANY;
    if (!(mo.vlan_tci & htons(FLOW_VLAN_CFI))) {
        /* A fixed outer length (RAW_DECAP strips it; the counters credit
         * the inner megaflow with the rest): untagged outer frames only
         * (tagged ones go to software). */
        untagged = true;
    }
    err = translate_pattern(x, r, &fo, &mo, &r->hdr, transfer, untagged,
                            reason, msg, msgsize);
    if (err) {
        return err;
    }
    if (r->n_items + 1 >= OFFLOAD_MAX_ITEMS) {
        return unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                           "too many items");
    }
    if (!d->is_ipv6) {
        /* No IPv4 options: software takes them, but the outer length
         * must be the one stripped and counted. */
        r->hdr.ipv4.hdr.version_ihl = 0x45;
        r->hdr.ipv4_mask.hdr.version_ihl = 0xff;
    }
    r->vxlan.vni[0] = (uint8_t) (d->vni >> 16);
    r->vxlan.vni[1] = (uint8_t) (d->vni >> 8);
    r->vxlan.vni[2] = (uint8_t) d->vni;
    memset(r->vxlan_mask.vni, 0xff, 3);
    /* Valid VXLAN only (the I flag), as software's tnl_parse(). */
    r->vxlan.flags = 0x08;
    r->vxlan_mask.flags = 0x08;
    add_item(r, RTE_FLOW_ITEM_TYPE_VXLAN, &r->vxlan, &r->vxlan_mask,
             sizeof r->vxlan);

    /* The inner frame, under the second pass's mask. */
    memset(&fi.tunnel, 0, sizeof fi.tunnel);
    memset(&mi.tunnel, 0, sizeof mi.tunnel);
    fi.in_port = mi.in_port = 0;
    err = translate_pattern(x, r, &fi, &mi, &r->inner, false, false, reason,
                            msg, msgsize);
    if (!err && r->n_items >= OFFLOAD_MAX_ITEMS) {
        err = unsupported(reason, OFFLOAD_R_MATCH_UNSUPPORTED, msg, msgsize,
                          "too many items");
    }
    if (!err) {
        /* The outer length: Ethernet (+ the tag matched), IP (no options),
         * UDP and VXLAN; RAW_DECAP's size. */
        bool tagged = (mo.vlan_tci & fo.vlan_tci & htons(FLOW_VLAN_CFI))
                      != 0;

        r->decap_len = (uint16_t) (14 + (tagged ? 4 : 0)
                                   + (d->is_ipv6 ? 40 : 20) + 8 + 8);
        r->raw_decap.size = r->decap_len;
    }
    return err;
}

int
offload_translate(const struct offload_xlate *x, struct offload_rule *r,
                  enum offload_reason *reason, char *msg, size_t msgsize)
{
    bool transfer = false, untagged_only = false;
    int err;

    memset(r, 0, sizeof *r);
    *reason = OFFLOAD_R_NONE;
    if (msgsize) {
        msg[0] = '\0';
    }
    if (x->decap && x->mode != OFFLOAD_MODE_FULL) {
        err = unsupported(reason, OFFLOAD_R_PARTIAL_MODE, msg, msgsize,
                          "decapsulation needs full offload");
    } else if (x->mode == OFFLOAD_MODE_FULL) {
        err = translate_full_actions(x, r, &transfer, &untagged_only,
                                     reason, msg, msgsize);
    } else if (x->mode == OFFLOAD_MODE_PARTIAL) {
        err = translate_partial_actions(x, r, reason, msg, msgsize);
    } else {
        err = unsupported(reason, OFFLOAD_R_PORT_DISABLED, msg, msgsize,
                          "offload disabled");
    }
    if (!err) {
        err = x->decap ? translate_decap_pattern(x, r, transfer, reason,
                                                 msg, msgsize)
                       : translate_pattern(x, r, x->flow, x->mask, &r->hdr,
                                           transfer, untagged_only, reason,
                                           msg, msgsize);
    }
    if (err) {
        memset(r, 0, sizeof *r);
        return err;
    }
    r->attr.transfer = transfer;
    r->attr.ingress = !transfer;
    r->attr.priority = x->priority;
    r->items[r->n_items].type = RTE_FLOW_ITEM_TYPE_END;
    r->actions[r->n_actions].type = RTE_FLOW_ACTION_TYPE_END;
    return 0;
}
