/* SPDX-License-Identifier: BSD-3-Clause */
/* actions.c: action list allocation, comparison and datapath formatting. */
#include "actions.h"
#include "util.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct of_actions *
of_actions_alloc(size_t capacity)
{
    struct of_actions *acts = calloc(1, of_actions_size(capacity));
    return acts;
}

struct dp_actions *
dp_actions_alloc(size_t capacity)
{
    struct dp_actions *acts = calloc(1, dp_actions_size(capacity));
    return acts;
}

struct of_actions *
of_actions_clone(const struct of_actions *src)
{
    if (!src) {
        return NULL;
    }
    struct of_actions *dst = malloc(of_actions_size(src->n));
    if (dst) {
        memcpy(dst, src, of_actions_size(src->n));
    }
    return dst;
}

struct dp_actions *
dp_actions_clone(const struct dp_actions *src)
{
    if (!src) {
        return NULL;
    }
    struct dp_actions *dst = malloc(dp_actions_size(src->n));
    if (dst) {
        memcpy(dst, src, dp_actions_size(src->n));
    }
    return dst;
}

/* NULL equals an empty list (both mean drop). */
bool
of_actions_equal(const struct of_actions *a, const struct of_actions *b)
{
    size_t na = a ? a->n : 0;
    size_t nb = b ? b->n : 0;

    return na == nb
           && (!na || !memcmp(a->a, b->a, na * sizeof(struct of_action)));
}

bool
dp_actions_equal(const struct dp_actions *a, const struct dp_actions *b)
{
    size_t na = a ? a->n : 0;
    size_t nb = b ? b->n : 0;

    return na == nb
           && (a && a->in_port_drop) == (b && b->in_port_drop)
           && (!na || !memcmp(a->a, b->a, na * sizeof(struct dp_action)));
}

/* A bounded string builder: keeps what fits, always NUL-terminated. */


static bool
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static bool
all_ones(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xff) {
            return false;
        }
    }
    return true;
}

static void
fmt_mac(struct sbuf *s, const uint8_t m[6])
{
    sbuf_printf(s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                m[4], m[5]);
}

/* Emits ",name=value[/mask]" for a masked field unless the mask is zero;
 * 'first' tracks the comma. */
static void
fmt_sep(struct sbuf *s, bool *first, const char *name)
{
    sbuf_printf(s, "%s%s=", *first ? "" : ",", name);
    *first = false;
}

static void
fmt_mac_masked(struct sbuf *s, bool *first, const char *name,
               const uint8_t v[6], const uint8_t m[6])
{
    if (all_zero(m, 6)) {
        return;
    }
    fmt_sep(s, first, name);
    fmt_mac(s, v);
    if (!all_ones(m, 6)) {
        sbuf_printf(s, "/");
        fmt_mac(s, m);
    }
}

static void
fmt_ip4(struct sbuf *s, uint32_t be)
{
    const uint8_t *b = (const uint8_t *) &be;
    sbuf_printf(s, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static void
fmt_ip4_masked(struct sbuf *s, bool *first, const char *name, uint32_t v,
               uint32_t m)
{
    if (!m) {
        return;
    }
    fmt_sep(s, first, name);
    fmt_ip4(s, v);
    if (m != 0xffffffffu) {
        sbuf_printf(s, "/");
        fmt_ip4(s, m);
    }
}

static void
fmt_ip6_masked(struct sbuf *s, bool *first, const char *name,
               const uint8_t v[16], const uint8_t m[16])
{
    char tmp[INET6_ADDRSTRLEN];

    if (all_zero(m, 16)) {
        return;
    }
    fmt_sep(s, first, name);
    sbuf_printf(s, "%s", inet_ntop(AF_INET6, v, tmp, sizeof tmp));
    if (!all_ones(m, 16)) {
        sbuf_printf(s, "/%s", inet_ntop(AF_INET6, m, tmp, sizeof tmp));
    }
}

static void
fmt_u_masked(struct sbuf *s, bool *first, const char *name, unsigned int v,
             unsigned int m, unsigned int full, bool hex)
{
    if (!m) {
        return;
    }
    fmt_sep(s, first, name);
    sbuf_printf(s, hex ? "0x%x" : "%u", v);
    if (m != full) {
        sbuf_printf(s, "/0x%x", m);
    }
}

static const char *
l4_name(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP_:
        return "tcp";
    case IPPROTO_UDP_:
        return "udp";
    case IPPROTO_SCTP_:
        return "sctp";
    default:
        return "l4";
    }
}

static void
fmt_comma(struct sbuf *s, bool *first)
{
    sbuf_printf(s, "%s", *first ? "" : ",");
    *first = false;
}

static void
fmt_nat_addr(struct sbuf *s, const uint8_t a[16], bool v6)
{
    char tmp[INET6_ADDRSTRLEN];

    if (v6) {
        sbuf_printf(s, "[%s]", inet_ntop(AF_INET6, a, tmp, sizeof tmp));
    } else {
        sbuf_printf(s, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    }
}

static void
fmt_ct_nat(struct sbuf *s, const struct ct_nat *n)
{
    bool v6 = n->is_ipv6;
    size_t alen = v6 ? 16 : 4;
    bool first = true;

    sbuf_printf(s, "nat");
    if (!(n->flags & (CT_NAT_SRC | CT_NAT_DST))) {
        return;
    }
    sbuf_printf(s, "(%s=", n->flags & CT_NAT_SRC ? "src" : "dst");
    fmt_nat_addr(s, n->addr_min, v6);
    if (memcmp(n->addr_min, n->addr_max, alen)) {
        sbuf_printf(s, "-");
        fmt_nat_addr(s, n->addr_max, v6);
    }
    if (n->port_min) {
        sbuf_printf(s, ":%u", n->port_min);
        if (n->port_max != n->port_min) {
            sbuf_printf(s, "-%u", n->port_max);
        }
    }
    first = false;
    if (n->flags & CT_NAT_HASH) {
        sbuf_printf(s, "%shash", first ? "" : ",");
    }
    if (n->flags & CT_NAT_RANDOM) {
        sbuf_printf(s, "%srandom", first ? "" : ",");
    }
    if (n->flags & CT_NAT_PERSISTENT) {
        sbuf_printf(s, "%spersistent", first ? "" : ",");
    }
    sbuf_printf(s, ")");
}

static void
fmt_ct_exec(struct sbuf *s, const struct ct_exec *e, uint8_t table,
            bool has_nat, const char *zone_src)
{
    bool first = true;

    if (e->flags & CT_F_COMMIT) {
        fmt_comma(s, &first);
        sbuf_printf(s, "commit");
    }
    if (e->flags & CT_F_FORCE) {
        fmt_comma(s, &first);
        sbuf_printf(s, "force");
    }
    if (table != OF_CT_NO_TABLE) {
        fmt_comma(s, &first);
        sbuf_printf(s, "table=%u", table);
    }
    if (zone_src) {
        fmt_comma(s, &first);
        sbuf_printf(s, "zone=%s", zone_src);
    } else if (e->zone) {
        fmt_comma(s, &first);
        sbuf_printf(s, "zone=%u", e->zone);
    }
    if (has_nat) {
        fmt_comma(s, &first);
        fmt_ct_nat(s, &e->nat);
    }
    if (e->flags & (CT_F_SET_MARK | CT_F_SET_LABEL)) {
        bool f2 = true;

        fmt_comma(s, &first);
        sbuf_printf(s, "exec(");
        if (e->flags & CT_F_SET_MARK) {
            fmt_comma(s, &f2);
            sbuf_printf(s, "set_field:0x%x", e->mark);
            if (e->mark_mask != UINT32_MAX) {
                sbuf_printf(s, "/0x%x", e->mark_mask);
            }
            sbuf_printf(s, "->ct_mark");
        }
        if (e->flags & CT_F_SET_LABEL) {
            uint8_t ones[16];

            memset(ones, 0xff, sizeof ones);
            fmt_comma(s, &f2);
            sbuf_printf(s, "set_field:");
            sbuf_put_hex128(s, e->label);
            if (memcmp(e->label_mask, ones, 16)) {
                sbuf_printf(s, "/");
                sbuf_put_hex128(s, e->label_mask);
            }
            sbuf_printf(s, "->ct_label");
        }
        sbuf_printf(s, ")");
    }
}

size_t
ct_exec_format(char *buf, size_t size, const struct ct_exec *exec,
               uint8_t table, bool has_nat, const char *zone_src)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);
    if (size) {
        buf[0] = '\0';
    }
    fmt_ct_exec(&s, exec, table, has_nat, zone_src);
    return s.len;
}

static void
fmt_dp_action(struct sbuf *s, const struct dp_action *a)
{
    bool first = true;

    switch ((enum dp_action_type) a->type) {
    case DPA_OUTPUT:
        sbuf_printf(s, "output:%u", a->port);
        return;
    case DPA_SET_ETH:
        sbuf_printf(s, "set(eth(");
        fmt_mac_masked(s, &first, "src", a->eth.src, a->eth.src_mask);
        fmt_mac_masked(s, &first, "dst", a->eth.dst, a->eth.dst_mask);
        sbuf_printf(s, "))");
        return;
    case DPA_SET_IPV4:
        sbuf_printf(s, "set(ipv4(");
        fmt_ip4_masked(s, &first, "src", a->ipv4.src, a->ipv4.src_mask);
        fmt_ip4_masked(s, &first, "dst", a->ipv4.dst, a->ipv4.dst_mask);
        fmt_u_masked(s, &first, "tos", a->ipv4.tos, a->ipv4.tos_mask, 0xff,
                     true);
        fmt_u_masked(s, &first, "ttl", a->ipv4.ttl, a->ipv4.ttl_mask, 0xff,
                     false);
        sbuf_printf(s, "))");
        return;
    case DPA_SET_IPV6:
        sbuf_printf(s, "set(ipv6(");
        fmt_ip6_masked(s, &first, "src", a->ipv6.src, a->ipv6.src_mask);
        fmt_ip6_masked(s, &first, "dst", a->ipv6.dst, a->ipv6.dst_mask);
        fmt_u_masked(s, &first, "tclass", a->ipv6.tclass,
                     a->ipv6.tclass_mask, 0xff, true);
        fmt_u_masked(s, &first, "hlimit", a->ipv6.hlimit,
                     a->ipv6.hlimit_mask, 0xff, false);
        sbuf_printf(s, "))");
        return;
    case DPA_SET_L4:
        sbuf_printf(s, "set(%s(", l4_name(a->l4.proto));
        fmt_u_masked(s, &first, "src", ntohs(a->l4.src),
                     ntohs(a->l4.src_mask), 0xffff, false);
        fmt_u_masked(s, &first, "dst", ntohs(a->l4.dst),
                     ntohs(a->l4.dst_mask), 0xffff, false);
        sbuf_printf(s, "))");
        return;
    case DPA_PUSH_VLAN: {
        uint16_t tci = ntohs(a->push_vlan.tci);
        sbuf_printf(s, "push_vlan(tpid=0x%04x,vid=%u,pcp=%u)",
                    ntohs(a->push_vlan.tpid), tci & FLOW_VLAN_VID_MASK,
                    (tci & FLOW_VLAN_PCP_MASK) >> FLOW_VLAN_PCP_SHIFT);
        return;
    }
    case DPA_POP_VLAN:
        sbuf_printf(s, "pop_vlan");
        return;
    case DPA_SET_VLAN: {
        uint16_t tci = ntohs(a->set_vlan.tci);
        uint16_t m = ntohs(a->set_vlan.tci_mask) & ~FLOW_VLAN_CFI;

        sbuf_printf(s, "set(vlan(");
        if (m == FLOW_VLAN_VID_MASK || m == (FLOW_VLAN_VID_MASK
                                             | FLOW_VLAN_PCP_MASK)) {
            fmt_sep(s, &first, "vid");
            sbuf_printf(s, "%u", tci & FLOW_VLAN_VID_MASK);
        }
        if (m == FLOW_VLAN_PCP_MASK || m == (FLOW_VLAN_VID_MASK
                                             | FLOW_VLAN_PCP_MASK)) {
            fmt_sep(s, &first, "pcp");
            sbuf_printf(s, "%u", (tci & FLOW_VLAN_PCP_MASK)
                                     >> FLOW_VLAN_PCP_SHIFT);
        }
        if (first) {
            fmt_u_masked(s, &first, "tci", tci, ntohs(a->set_vlan.tci_mask),
                         0xffff, true);
        }
        sbuf_printf(s, "))");
        return;
    }
    case DPA_CT:
        sbuf_printf(s, "ct(");
        fmt_ct_exec(s, &a->ct, OF_CT_NO_TABLE, a->ct.nat.flags != 0, NULL);
        sbuf_printf(s, ")");
        return;
    case DPA_CT_CLEAR:
        sbuf_printf(s, "ct_clear");
        return;
    case DPA_RECIRC:
        sbuf_printf(s, "recirc(0x%x)", a->recirc_id);
        return;
    case DPA_TNL_POP:
        sbuf_printf(s, "tnl_pop(%s,udp=%u)",
                    a->tnl_pop.type == 2 ? "geneve" : "vxlan",
                    ntohs(a->tnl_pop.udp_port));
        return;
    case DPA_TNL_PUSH:
        sbuf_printf(s, "tnl_push(%s,tnl_port=%u,header_len=%u,dst=",
                    a->tnl_push.type == 2 ? "geneve" : "vxlan",
                    a->tnl_push.tnl_port, a->tnl_push.hdr_len);
        if (a->tnl_push.is_ipv6) {
            char tmp[INET6_ADDRSTRLEN];

            sbuf_printf(s, "%s", inet_ntop(AF_INET6, a->tnl_push.remote,
                                           tmp, sizeof tmp));
        } else {
            const uint8_t *b = (const uint8_t *) a->tnl_push.remote;

            sbuf_printf(s, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        }
        sbuf_printf(s, "%s)", a->tnl_push.csum ? ",csum" : "");
        return;
    case DPA_TNL_DATA:
        return;
    case DPA_METER:
        sbuf_printf(s, "meter(%" PRIu32 ")", a->meter_id);
        return;
    case DPA_USERSPACE:
        sbuf_printf(s, "userspace(controller(reason=%s,table=%u,"
                    "max_len=%u))", a->userspace.reason ? "action"
                                                        : "no_match",
                    a->userspace.table_id, a->userspace.max_len);
        return;
    }
    sbuf_printf(s, "unknown(%u)", a->type);
}

size_t
dp_actions_format(char *buf, size_t size, const struct dp_actions *acts)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);

    if (size) {
        buf[0] = '\0';
    }
    if (!acts || !acts->n) {
        sbuf_printf(&s, "drop");
        return s.len;
    }
    for (size_t i = 0; i < acts->n; i++) {
        const struct dp_action *a = &acts->a[i];

        if (a->type == DPA_TNL_DATA) {
            continue;
        }
        if (i) {
            sbuf_printf(&s, ",");
        }
        fmt_dp_action(&s, a);
        if (a->type == DPA_TNL_PUSH) {
            /* The block: "tnl_push(...)(actions of the underlay)". */
            size_t end = i + dp_action_block_len(a);

            sbuf_printf(&s, "(");
            i += 1 + a->tnl_push.n_data;
            for (size_t j = i; j < end && j < acts->n; j++) {
                if (j > i) {
                    sbuf_printf(&s, ",");
                }
                fmt_dp_action(&s, &acts->a[j]);
            }
            sbuf_printf(&s, ")");
            i = end - 1;
        }
    }
    return s.len;
}
