/* SPDX-License-Identifier: BSD-3-Clause */
/* meta-flow.c: the field table and generic field access on struct flow. */
#include "meta-flow.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define OFS(MEMBER) offsetof(struct flow, MEMBER)
#define SZ(MEMBER) sizeof(((struct flow *) 0)->MEMBER)

/* F(id, name, alias, member, shift, bits, maskable, writable, prereq) */
#define MF_FIELDS                                                           \
    F(MFF_IN_PORT, "in_port", NULL, in_port, 0, 0xffffffffu, false, true,  \
      MFP_NONE)                                                             \
    F(MFF_DL_SRC, "dl_src", "eth_src", dl_src, 0, 0xffffffffu, true, true, \
      MFP_NONE)                                                             \
    F(MFF_DL_DST, "dl_dst", "eth_dst", dl_dst, 0, 0xffffffffu, true, true, \
      MFP_NONE)                                                             \
    F(MFF_DL_TYPE, "dl_type", "eth_type", dl_type, 0, 0xffff, false,       \
      false, MFP_NONE)                                                      \
    F(MFF_VLAN_TCI, "vlan_tci", NULL, vlan_tci, 0, 0xffff, true, true,     \
      MFP_NONE)                                                             \
    F(MFF_DL_VLAN, "dl_vlan", NULL, vlan_tci, 0, 0x0fff, false, true,      \
      MFP_NONE)                                                             \
    F(MFF_DL_VLAN_PCP, "dl_vlan_pcp", "vlan_pcp", vlan_tci, 13, 0xe000,    \
      false, true, MFP_NONE)                                                \
    F(MFF_VLAN_VID, "vlan_vid", NULL, vlan_tci, 0, 0x1fff, true, true,     \
      MFP_NONE)                                                             \
    F(MFF_NW_SRC, "nw_src", "ip_src", nw_src, 0, 0xffffffffu, true, true,  \
      MFP_IPV4_OR_ARP)                                                      \
    F(MFF_NW_DST, "nw_dst", "ip_dst", nw_dst, 0, 0xffffffffu, true, true,  \
      MFP_IPV4_OR_ARP)                                                      \
    F(MFF_NW_PROTO, "nw_proto", "ip_proto", nw_proto, 0, 0xff, false,      \
      false, MFP_IP_ANY)                                                    \
    F(MFF_NW_TOS, "nw_tos", NULL, nw_tos, 0, 0xfc, false, true,            \
      MFP_IP_ANY)                                                           \
    F(MFF_IP_DSCP, "ip_dscp", NULL, nw_tos, 2, 0xfc, false, true,          \
      MFP_IP_ANY)                                                           \
    F(MFF_NW_ECN, "nw_ecn", "ip_ecn", nw_tos, 0, 0x03, false, true,        \
      MFP_IP_ANY)                                                           \
    F(MFF_NW_TTL, "nw_ttl", NULL, nw_ttl, 0, 0xff, false, true,            \
      MFP_IP_ANY)                                                           \
    F(MFF_IP_FRAG, "ip_frag", "nw_frag", nw_frag, 0, FLOW_NW_FRAG_MASK,    \
      true, false, MFP_IP_ANY)                                              \
    F(MFF_TP_SRC, "tp_src", NULL, tp_src, 0, 0xffff, true, true, MFP_L4)   \
    F(MFF_TP_DST, "tp_dst", NULL, tp_dst, 0, 0xffff, true, true, MFP_L4)   \
    F(MFF_TCP_FLAGS, "tcp_flags", NULL, tcp_flags, 0, 0x0fff, true, false, \
      MFP_TCP)                                                              \
    F(MFF_ICMP_TYPE, "icmp_type", "icmpv6_type", tp_src, 0, 0x00ff, false, \
      true, MFP_ICMP_ANY)                                                   \
    F(MFF_ICMP_CODE, "icmp_code", "icmpv6_code", tp_dst, 0, 0x00ff, false, \
      true, MFP_ICMP_ANY)                                                   \
    F(MFF_ARP_OP, "arp_op", NULL, nw_proto, 0, 0xff, false, true, MFP_ARP) \
    F(MFF_ARP_SPA, "arp_spa", NULL, nw_src, 0, 0xffffffffu, true, true,    \
      MFP_ARP)                                                              \
    F(MFF_ARP_TPA, "arp_tpa", NULL, nw_dst, 0, 0xffffffffu, true, true,    \
      MFP_ARP)                                                              \
    F(MFF_ARP_SHA, "arp_sha", NULL, arp_sha, 0, 0xffffffffu, true, true,   \
      MFP_ARP)                                                              \
    F(MFF_ARP_THA, "arp_tha", NULL, arp_tha, 0, 0xffffffffu, true, true,   \
      MFP_ARP)                                                              \
    F(MFF_IPV6_SRC, "ipv6_src", NULL, ipv6_src, 0, 0xffffffffu, true,      \
      true, MFP_IPV6)                                                       \
    F(MFF_IPV6_DST, "ipv6_dst", NULL, ipv6_dst, 0, 0xffffffffu, true,      \
      true, MFP_IPV6)                                                       \
    F(MFF_IPV6_LABEL, "ipv6_label", NULL, ipv6_label, 0, 0x000fffff, true, \
      true, MFP_IPV6)                                                       \
    F(MFF_RECIRC_ID, "recirc_id", NULL, recirc_id, 0, 0xffffffffu, false,  \
      false, MFP_NONE)                                                      \
    F(MFF_CT_STATE, "ct_state", NULL, ct_state, 0, 0xff, true, false,      \
      MFP_NONE)                                                             \
    F(MFF_CT_ZONE, "ct_zone", NULL, ct_zone, 0, 0xffff, false, false,      \
      MFP_NONE)                                                             \
    F(MFF_CT_MARK, "ct_mark", NULL, ct_mark, 0, 0xffffffffu, true, false,  \
      MFP_NONE)                                                             \
    F(MFF_CT_LABEL, "ct_label", NULL, ct_label, 0, 0xffffffffu, true,      \
      false, MFP_NONE)                                                      \
    F(MFF_CT_NW_PROTO, "ct_nw_proto", NULL, ct_nw_proto, 0, 0xff, false,   \
      false, MFP_NONE)                                                      \
    F(MFF_CT_NW_SRC, "ct_nw_src", NULL, ct_nw_src, 0, 0xffffffffu, true,   \
      false, MFP_IPV4)                                                      \
    F(MFF_CT_NW_DST, "ct_nw_dst", NULL, ct_nw_dst, 0, 0xffffffffu, true,   \
      false, MFP_IPV4)                                                      \
    F(MFF_CT_IPV6_SRC, "ct_ipv6_src", NULL, ct_ipv6_src, 0, 0xffffffffu,   \
      true, false, MFP_IPV6)                                                \
    F(MFF_CT_IPV6_DST, "ct_ipv6_dst", NULL, ct_ipv6_dst, 0, 0xffffffffu,   \
      true, false, MFP_IPV6)                                                \
    F(MFF_CT_TP_SRC, "ct_tp_src", NULL, ct_tp_src, 0, 0xffff, true, false, \
      MFP_NONE)                                                             \
    F(MFF_CT_TP_DST, "ct_tp_dst", NULL, ct_tp_dst, 0, 0xffff, true, false, \
      MFP_NONE)                                                             \
    F(MFF_TUN_ID, "tun_id", "tunnel_id", tunnel.tun_id, 0, 0xffffffffu,   \
      true, true, MFP_NONE)                                                 \
    F(MFF_TUN_SRC, "tun_src", NULL, tunnel.ip_src, 0, 0xffffffffu, true,   \
      true, MFP_NONE)                                                       \
    F(MFF_TUN_DST, "tun_dst", NULL, tunnel.ip_dst, 0, 0xffffffffu, true,   \
      true, MFP_NONE)                                                       \
    F(MFF_TUN_IPV6_SRC, "tun_ipv6_src", NULL, tunnel.ipv6_src, 0,          \
      0xffffffffu, true, true, MFP_NONE)                                    \
    F(MFF_TUN_IPV6_DST, "tun_ipv6_dst", NULL, tunnel.ipv6_dst, 0,          \
      0xffffffffu, true, true, MFP_NONE)                                    \
    F(MFF_TUN_FLAGS, "tun_flags", NULL, tunnel.flags, 0, FLOW_TNL_F_OAM,   \
      true, false, MFP_NONE)                                                \
    F(MFF_TUN_TOS, "tun_tos", NULL, tunnel.tos, 0, 0xff, false, false,     \
      MFP_NONE)                                                             \
    F(MFF_TUN_TTL, "tun_ttl", NULL, tunnel.ttl, 0, 0xff, false, false,     \
      MFP_NONE)                                                             \
    MD(0) MD(1) MD(2) MD(3) MD(4) MD(5) MD(6) MD(7)                        \
    F(MFF_METADATA, "metadata", NULL, metadata, 0, 0xffffffffu, true,      \
      true, MFP_NONE)                                                       \
    REG(0) REG(1) REG(2) REG(3) REG(4) REG(5) REG(6) REG(7)                \
    REG(8) REG(9) REG(10) REG(11) REG(12) REG(13) REG(14) REG(15)          \
    XREG(0) XREG(1) XREG(2) XREG(3) XREG(4) XREG(5) XREG(6) XREG(7)        \
    XXREG(0) XXREG(1) XXREG(2) XXREG(3)
#define REG(I)                                                              \
    F(MFF_REG0 + I, "reg" #I, NULL, regs[I], 0, 0xffffffffu, true, true,   \
      MFP_NONE)
#define XREG(I)                                                             \
    F(MFF_XREG0 + I, "xreg" #I, NULL, xregs[I], 0, 0xffffffffu, true,      \
      true, MFP_NONE)
#define XXREG(I)                                                            \
    F(MFF_XXREG0 + I, "xxreg" #I, NULL, xxregs[I], 0, 0xffffffffu, true,   \
      true, MFP_NONE)
#define MD(I)                                                               \
    F(MFF_TUN_METADATA##I, "tun_metadata" #I, NULL, tunnel.metadata[I], 0, \
      0xffffffffu, true, true, MFP_NONE)

static const struct mf_field mf_fields[MFF_N_IDS] = {
#define F(ID, NAME, ALIAS, MEMBER, SHIFT, BITS, MASKABLE, WRITABLE, PREREQ) \
    [ID] = {                                                                \
        .id = ID,                                                           \
        .name = NAME,                                                       \
        .alias = ALIAS,                                                     \
        .offset = OFS(MEMBER),                                              \
        .n_bytes = SZ(MEMBER),                                              \
        .shift = SHIFT,                                                     \
        .bits = BITS,                                                       \
        .maskable = MASKABLE,                                               \
        .writable = WRITABLE,                                               \
        .prereq = PREREQ,                                                   \
    },
    MF_FIELDS
#undef F
};

/* Names that select a field but are neither its name nor its alias. */
static const struct {
    const char *name;
    enum mf_field_id id;
} mf_extra_names[] = {
    {"tcp_src", MFF_TP_SRC},   {"tcp_dst", MFF_TP_DST},
    {"udp_src", MFF_TP_SRC},   {"udp_dst", MFF_TP_DST},
    {"sctp_src", MFF_TP_SRC},  {"sctp_dst", MFF_TP_DST},
};

const struct mf_field *
mf_from_id(enum mf_field_id id)
{
    return (unsigned int) id < MFF_N_IDS ? &mf_fields[id] : NULL;
}

const struct mf_field *
mf_from_name(const char *name)
{
    if (!name) {
        return NULL;
    }
    for (size_t i = 0; i < MFF_N_IDS; i++) {
        const struct mf_field *mf = &mf_fields[i];
        if (!strcmp(name, mf->name)
            || (mf->alias && !strcmp(name, mf->alias))) {
            return mf;
        }
    }
    for (size_t i = 0; i < sizeof mf_extra_names / sizeof *mf_extra_names;
         i++) {
        if (!strcmp(name, mf_extra_names[i].name)) {
            return &mf_fields[mf_extra_names[i].id];
        }
    }
    return NULL;
}

/* in_port and recirc_id are kept in host order in struct flow; every
 * other member is in network order. */
static bool
mf_host_order(const struct mf_field *mf)
{
    return mf->id == MFF_IN_PORT || mf->id == MFF_RECIRC_ID;
}

static bool
mf_is_bytes(const struct mf_field *mf)
{
    return mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16;
}

/* Host-order value of a 1/2/4-byte member. */
static uint32_t
member_get(const struct mf_field *mf, const struct flow *flow)
{
    const uint8_t *p = (const uint8_t *) flow + mf->offset;
    uint16_t v16;
    uint32_t v32;

    switch (mf->n_bytes) {
    case 1:
        return *p;
    case 2:
        memcpy(&v16, p, 2);
        return ntohs(v16);
    default:
        memcpy(&v32, p, 4);
        return mf_host_order(mf) ? v32 : ntohl(v32);
    }
}

static void
member_put(const struct mf_field *mf, struct flow *flow, uint32_t v)
{
    uint8_t *p = (uint8_t *) flow + mf->offset;
    uint16_t v16;
    uint32_t v32;

    switch (mf->n_bytes) {
    case 1:
        *p = v;
        break;
    case 2:
        v16 = htons(v);
        memcpy(p, &v16, 2);
        break;
    default:
        v32 = mf_host_order(mf) ? v : htonl(v);
        memcpy(p, &v32, 4);
        break;
    }
}

uint32_t
mf_value_to_u32(const struct mf_field *mf, const union mf_value *value)
{
    switch (mf->n_bytes) {
    case 1:
        return value->u8;
    case 2:
        return ntohs(value->be16);
    case 4:
        return mf_host_order(mf) ? value->be32 : ntohl(value->be32);
    default:
        return 0;
    }
}

void
mf_value_from_u32(const struct mf_field *mf, uint32_t v,
                  union mf_value *value)
{
    memset(value, 0, sizeof *value);
    switch (mf->n_bytes) {
    case 1:
        value->u8 = v;
        break;
    case 2:
        value->be16 = htons(v);
        break;
    case 4:
        value->be32 = mf_host_order(mf) ? v : htonl(v);
        break;
    default:
        break;
    }
}

uint32_t
mf_view_max(const struct mf_field *mf)
{
    return mf_is_bytes(mf) ? 0 : mf->bits >> mf->shift;
}

int
mf_n_bits(const struct mf_field *mf)
{
    if (mf_is_bytes(mf)) {
        return mf->n_bytes * 8;
    }
    return __builtin_popcount(mf->bits);
}

bool
mf_value_fits(const struct mf_field *mf, const union mf_value *value)
{
    if (mf_is_bytes(mf)) {
        return true;
    }
    return !(mf_value_to_u32(mf, value) & ~mf_view_max(mf));
}

void
mf_get(const struct mf_field *mf, const struct flow *flow,
       union mf_value *value)
{
    if (mf_is_bytes(mf)) {
        memset(value, 0, sizeof *value);
        memcpy(value->bytes, (const uint8_t *) flow + mf->offset,
               mf->n_bytes);
    } else {
        mf_value_from_u32(mf, (member_get(mf, flow) & mf->bits) >> mf->shift,
                          value);
    }
}

void
mf_set(const struct mf_field *mf, const union mf_value *value,
       const union mf_value *mask, struct flow *flow)
{
    if (mf_is_bytes(mf)) {
        uint8_t *p = (uint8_t *) flow + mf->offset;
        for (size_t i = 0; i < mf->n_bytes; i++) {
            uint8_t m = mask ? mask->bytes[i] : 0xff;
            p[i] = (p[i] & ~m) | (value->bytes[i] & m);
        }
    } else {
        uint32_t m = mask ? mf_value_to_u32(mf, mask) : UINT32_MAX;
        uint32_t v = mf_value_to_u32(mf, value);
        uint32_t mm = (m << mf->shift) & mf->bits;
        uint32_t old = member_get(mf, flow);
        member_put(mf, flow, (old & ~mm) | ((v << mf->shift) & mm));
    }
}

void
mf_unwildcard(const struct mf_field *mf, struct flow *wc)
{
    if (mf_is_bytes(mf)) {
        memset((uint8_t *) wc + mf->offset, 0xff, mf->n_bytes);
    } else {
        member_put(mf, wc, member_get(mf, wc) | mf->bits);
    }
}

bool
mf_is_wildcarded(const struct mf_field *mf, const struct flow *wc)
{
    union mf_value m;

    mf_get(mf, wc, &m);
    for (size_t i = 0; i < sizeof m.bytes; i++) {
        if (m.bytes[i]) {
            return false;
        }
    }
    return true;
}

static bool
dl_type_is(const struct flow *flow, struct flow *wc, uint16_t type)
{
    if (wc) {
        wc->dl_type = 0xffff;
    }
    return flow->dl_type == htons(type);
}

static bool
is_ip_any(const struct flow *flow, struct flow *wc)
{
    return dl_type_is(flow, wc, ETH_TYPE_IP)
           || dl_type_is(flow, wc, ETH_TYPE_IPV6);
}

static bool
nw_proto_is(const struct flow *flow, struct flow *wc, uint8_t proto)
{
    if (wc) {
        wc->nw_proto = 0xff;
    }
    return flow->nw_proto == proto;
}

bool
mf_prereq_ok(enum mf_prereq prereq, const struct flow *flow, struct flow *wc)
{
    switch (prereq) {
    case MFP_NONE:
        return true;
    case MFP_VLAN:
        if (wc) {
            wc->vlan_tci |= htons(FLOW_VLAN_CFI);
        }
        return (flow->vlan_tci & htons(FLOW_VLAN_CFI)) != 0;
    case MFP_ARP:
        return dl_type_is(flow, wc, ETH_TYPE_ARP);
    case MFP_IPV4:
        return dl_type_is(flow, wc, ETH_TYPE_IP);
    case MFP_IPV6:
        return dl_type_is(flow, wc, ETH_TYPE_IPV6);
    case MFP_IP_ANY:
        return is_ip_any(flow, wc);
    case MFP_IPV4_OR_ARP:
        return dl_type_is(flow, wc, ETH_TYPE_IP)
               || dl_type_is(flow, wc, ETH_TYPE_ARP);
    case MFP_TCP:
        return is_ip_any(flow, wc) && nw_proto_is(flow, wc, IPPROTO_TCP_);
    case MFP_L4:
        return is_ip_any(flow, wc)
               && (nw_proto_is(flow, wc, IPPROTO_TCP_)
                   || nw_proto_is(flow, wc, IPPROTO_UDP_)
                   || nw_proto_is(flow, wc, IPPROTO_SCTP_));
    case MFP_ICMP_ANY:
        if (dl_type_is(flow, wc, ETH_TYPE_IP)) {
            return nw_proto_is(flow, wc, IPPROTO_ICMP_);
        }
        return dl_type_is(flow, wc, ETH_TYPE_IPV6)
               && nw_proto_is(flow, wc, IPPROTO_ICMPV6_);
    }
    return false;
}

bool
mf_prereqs_ok(const struct mf_field *mf, const struct flow *flow,
              struct flow *wc)
{
    return mf_prereq_ok(mf->prereq, flow, wc);
}

const char *
mf_prereq_string(enum mf_prereq prereq)
{
    switch (prereq) {
    case MFP_NONE:
        return "nothing";
    case MFP_VLAN:
        return "a VLAN tag";
    case MFP_ARP:
        return "arp";
    case MFP_IPV4:
        return "ip";
    case MFP_IPV6:
        return "ipv6";
    case MFP_IP_ANY:
        return "ip or ipv6";
    case MFP_IPV4_OR_ARP:
        return "ip or arp";
    case MFP_TCP:
        return "tcp or tcp6";
    case MFP_L4:
        return "tcp, udp or sctp";
    case MFP_ICMP_ANY:
        return "icmp or icmp6";
    }
    return "?";
}

/* ---- NXM/OXM names (load, move, ct zone sources). ---- */

#define NXM0 0x0000
#define NXM1 0x0001
#define OXMB 0x8000
#define OXMP 0x8001             /* OFPXMC_PACKET_REGS */

static const struct mf_nxm mf_nxms[] = {
    { "NXM_OF_IN_PORT", MFF_IN_PORT, NXM0, 0, 2 },
    { "NXM_OF_ETH_DST", MFF_DL_DST, NXM0, 1, 6 },
    { "NXM_OF_ETH_SRC", MFF_DL_SRC, NXM0, 2, 6 },
    { "NXM_OF_ETH_TYPE", MFF_DL_TYPE, NXM0, 3, 2 },
    { "NXM_OF_VLAN_TCI", MFF_VLAN_TCI, NXM0, 4, 2 },
    { "NXM_OF_IP_TOS", MFF_NW_TOS, NXM0, 5, 1 },
    { "NXM_OF_IP_PROTO", MFF_NW_PROTO, NXM0, 6, 1 },
    { "NXM_OF_IP_SRC", MFF_NW_SRC, NXM0, 7, 4 },
    { "NXM_OF_IP_DST", MFF_NW_DST, NXM0, 8, 4 },
    { "NXM_OF_TCP_SRC", MFF_TP_SRC, NXM0, 9, 2 },
    { "NXM_OF_TCP_DST", MFF_TP_DST, NXM0, 10, 2 },
    { "NXM_OF_UDP_SRC", MFF_TP_SRC, NXM0, 11, 2 },
    { "NXM_OF_UDP_DST", MFF_TP_DST, NXM0, 12, 2 },
    { "NXM_OF_ICMP_TYPE", MFF_ICMP_TYPE, NXM0, 13, 1 },
    { "NXM_OF_ICMP_CODE", MFF_ICMP_CODE, NXM0, 14, 1 },
    { "NXM_OF_ARP_OP", MFF_ARP_OP, NXM0, 15, 2 },
    { "NXM_OF_ARP_SPA", MFF_ARP_SPA, NXM0, 16, 4 },
    { "NXM_OF_ARP_TPA", MFF_ARP_TPA, NXM0, 17, 4 },
#define NXREG(I) { "NXM_NX_REG" #I, MFF_REG0 + I, NXM1, I, 4 },
    NXREG(0) NXREG(1) NXREG(2) NXREG(3) NXREG(4) NXREG(5) NXREG(6)
    NXREG(7) NXREG(8) NXREG(9) NXREG(10) NXREG(11) NXREG(12) NXREG(13)
    NXREG(14) NXREG(15)
#undef NXREG
    { "NXM_NX_TUN_ID", MFF_TUN_ID, NXM1, 16, 8 },
    { "NXM_NX_ARP_SHA", MFF_ARP_SHA, NXM1, 17, 6 },
    { "NXM_NX_ARP_THA", MFF_ARP_THA, NXM1, 18, 6 },
    { "NXM_NX_IPV6_SRC", MFF_IPV6_SRC, NXM1, 19, 16 },
    { "NXM_NX_IPV6_DST", MFF_IPV6_DST, NXM1, 20, 16 },
    { "NXM_NX_ICMPV6_TYPE", MFF_ICMP_TYPE, NXM1, 21, 1 },
    { "NXM_NX_ICMPV6_CODE", MFF_ICMP_CODE, NXM1, 22, 1 },
    { "NXM_NX_IPV6_LABEL", MFF_IPV6_LABEL, NXM1, 27, 4 },
    { "NXM_NX_IP_ECN", MFF_NW_ECN, NXM1, 28, 1 },
    { "NXM_NX_IP_TTL", MFF_NW_TTL, NXM1, 29, 1 },
    { "NXM_NX_TUN_IPV4_SRC", MFF_TUN_SRC, NXM1, 31, 4 },
    { "NXM_NX_TUN_IPV4_DST", MFF_TUN_DST, NXM1, 32, 4 },
    { "NXM_NX_TCP_FLAGS", MFF_TCP_FLAGS, NXM1, 34, 2 },
    { "NXM_NX_CT_STATE", MFF_CT_STATE, NXM1, 105, 4 },
    { "NXM_NX_CT_ZONE", MFF_CT_ZONE, NXM1, 106, 2 },
    { "NXM_NX_CT_MARK", MFF_CT_MARK, NXM1, 107, 4 },
    { "NXM_NX_CT_LABEL", MFF_CT_LABEL, NXM1, 108, 16 },
    { "NXM_NX_TUN_IPV6_SRC", MFF_TUN_IPV6_SRC, NXM1, 109, 16 },
    { "NXM_NX_TUN_IPV6_DST", MFF_TUN_IPV6_DST, NXM1, 110, 16 },
#define NXXXREG(I) { "NXM_NX_XXREG" #I, MFF_XXREG0 + I, NXM1, 111 + I, 16 },
    NXXXREG(0) NXXXREG(1) NXXXREG(2) NXXXREG(3)
#undef NXXXREG
    { "NXM_NX_CT_NW_PROTO", MFF_CT_NW_PROTO, NXM1, 119, 1 },
    { "NXM_NX_CT_NW_SRC", MFF_CT_NW_SRC, NXM1, 120, 4 },
    { "NXM_NX_CT_NW_DST", MFF_CT_NW_DST, NXM1, 121, 4 },
    { "NXM_NX_CT_IPV6_SRC", MFF_CT_IPV6_SRC, NXM1, 122, 16 },
    { "NXM_NX_CT_IPV6_DST", MFF_CT_IPV6_DST, NXM1, 123, 16 },
    { "NXM_NX_CT_TP_SRC", MFF_CT_TP_SRC, NXM1, 124, 2 },
    { "NXM_NX_CT_TP_DST", MFF_CT_TP_DST, NXM1, 125, 2 },
    { "OXM_OF_METADATA", MFF_METADATA, OXMB, 2, 8 },
#define OXPKT(I) { "OXM_OF_PKT_REG" #I, MFF_XREG0 + I, OXMP, I, 8 },
    OXPKT(0) OXPKT(1) OXPKT(2) OXPKT(3) OXPKT(4) OXPKT(5) OXPKT(6)
    OXPKT(7)
#undef OXPKT
};
#define N_MF_NXMS ((int) (sizeof mf_nxms / sizeof *mf_nxms))

/* Field names that select another name than their field's first. */
static const struct {
    const char *name;
    const char *nxm;
} mf_nxm_aliases[] = {
    { "udp_src", "NXM_OF_UDP_SRC" }, { "udp_dst", "NXM_OF_UDP_DST" },
    { "icmpv6_type", "NXM_NX_ICMPV6_TYPE" },
    { "icmpv6_code", "NXM_NX_ICMPV6_CODE" },
};

int
mf_nxm_count(void)
{
    return N_MF_NXMS;
}

const struct mf_nxm *
mf_nxm_get(int i)
{
    return i >= 0 && i < N_MF_NXMS ? &mf_nxms[i] : NULL;
}

int
mf_nxm_from_name(const char *name)
{
    const struct mf_field *mf;

    for (int i = 0; i < N_MF_NXMS; i++) {
        if (!strcmp(name, mf_nxms[i].name)) {
            return i;
        }
    }
    for (size_t i = 0; i < sizeof mf_nxm_aliases / sizeof *mf_nxm_aliases;
         i++) {
        if (!strcmp(name, mf_nxm_aliases[i].name)) {
            return mf_nxm_from_name(mf_nxm_aliases[i].nxm);
        }
    }
    mf = mf_from_name(name);
    for (int i = 0; mf && i < N_MF_NXMS; i++) {
        if (mf_nxms[i].id == mf->id) {
            return i;
        }
    }
    return -1;
}

int
mf_nxm_from_header(uint16_t cls, uint8_t field)
{
    for (int i = 0; i < N_MF_NXMS; i++) {
        if (mf_nxms[i].cls == cls && mf_nxms[i].field == field) {
            return i;
        }
    }
    return -1;
}

/* 'v' as 'nxm->width' big-endian bytes. */
static void
nxm_to_be(const struct mf_nxm *nxm, const union mf_value *v, uint8_t *b)
{
    const struct mf_field *mf = mf_from_id(nxm->id);

    memset(b, 0, 16);
    if (mf_is_bytes(mf)) {
        memcpy(b, v->bytes, nxm->width);
    } else {
        uint32_t x = mf_value_to_u32(mf, v);

        for (unsigned i = 0; i < nxm->width && i < 4; i++) {
            b[nxm->width - 1 - i] = (uint8_t) (x >> (8 * i));
        }
    }
}

static void
nxm_from_be(const struct mf_nxm *nxm, const uint8_t *b, union mf_value *v)
{
    const struct mf_field *mf = mf_from_id(nxm->id);

    if (mf_is_bytes(mf)) {
        memset(v, 0, sizeof *v);
        memcpy(v->bytes, b, nxm->width);
    } else {
        uint32_t x = 0;

        for (unsigned i = 0; i < nxm->width && i < 4; i++) {
            x |= (uint32_t) b[nxm->width - 1 - i] << (8 * i);
        }
        mf_value_from_u32(mf, x, v);
    }
}

uint64_t
mf_nxm_get_bits(const struct mf_nxm *nxm, const union mf_value *v,
                unsigned ofs, unsigned n_bits)
{
    uint8_t b[16];
    uint64_t r = 0;

    nxm_to_be(nxm, v, b);
    for (unsigned i = 0; i < n_bits && i < 64; i++) {
        unsigned bit = ofs + i;

        if (bit < nxm->width * 8u
            && (b[nxm->width - 1 - bit / 8] >> (bit % 8)) & 1) {
            r |= (uint64_t) 1 << i;
        }
    }
    return r;
}

void
mf_nxm_put_bits(const struct mf_nxm *nxm, union mf_value *value,
                union mf_value *mask, unsigned ofs, unsigned n_bits,
                uint64_t bits)
{
    uint8_t b[16], m[16];

    nxm_to_be(nxm, value, b);
    nxm_to_be(nxm, mask, m);
    for (unsigned i = 0; i < n_bits && i < 64; i++) {
        unsigned bit = ofs + i;
        size_t byte;

        if (bit >= nxm->width * 8u) {
            break;
        }
        byte = nxm->width - 1 - bit / 8;
        m[byte] |= (uint8_t) (1u << (bit % 8));
        if ((bits >> i) & 1) {
            b[byte] |= (uint8_t) (1u << (bit % 8));
        } else {
            b[byte] &= (uint8_t) ~(1u << (bit % 8));
        }
    }
    nxm_from_be(nxm, b, value);
    nxm_from_be(nxm, m, mask);
}

void
mf_nxm_mask_bits(const struct mf_nxm *nxm, union mf_value *mask,
                 unsigned ofs, unsigned n_bits)
{
    union mf_value scratch;

    memset(&scratch, 0, sizeof scratch);
    while (n_bits) {
        unsigned k = n_bits > 64 ? 64 : n_bits;

        mf_nxm_put_bits(nxm, &scratch, mask, ofs, k, 0);
        ofs += k;
        n_bits -= k;
    }
}

bool
mf_nxm_mask_range(const struct mf_nxm *nxm, const union mf_value *mask,
                  unsigned *ofs, unsigned *n_bits)
{
    int lo = -1, hi = -1;
    bool run = true;

    for (unsigned bit = 0; bit < nxm->width * 8u; bit++) {
        if (mf_nxm_get_bits(nxm, mask, bit, 1)) {
            if (lo >= 0 && hi != (int) bit - 1) {
                run = false;
            }
            lo = lo < 0 ? (int) bit : lo;
            hi = (int) bit;
        }
    }
    *ofs = lo < 0 ? 0 : (unsigned) lo;
    *n_bits = lo < 0 ? 0 : (unsigned) (hi - lo + 1);
    return run;
}
