/* SPDX-License-Identifier: BSD-3-Clause */
/* test-meta-flow.c: field table access checked against direct struct flow
 * access, prerequisites, and the action list helpers of actions.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "flow.h"
#include "meta-flow.h"
#include "test-rand.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
    return (uint32_t) (test_xorshift64(&rng_state) >> 16);
}

static void
rnd_bytes(void *p_, size_t n)
{
    uint8_t *p = p_;
    for (size_t i = 0; i < n; i++) {
        p[i] = rnd();
    }
}

/* Oracle: the field's view read straight from the struct, written out per
 * field, into the union's leading bytes (network order except in_port). */
static void
ref_get(enum mf_field_id id, const struct flow *f, union mf_value *v)
{
    memset(v, 0, sizeof *v);
    switch (id) {
    case MFF_IN_PORT:
        v->be32 = f->in_port;
        break;
    case MFF_DL_SRC:
        memcpy(v->mac, f->dl_src, 6);
        break;
    case MFF_DL_DST:
        memcpy(v->mac, f->dl_dst, 6);
        break;
    case MFF_DL_TYPE:
        v->be16 = f->dl_type;
        break;
    case MFF_VLAN_TCI:
        v->be16 = f->vlan_tci;
        break;
    case MFF_DL_VLAN:
        v->be16 = htons(ntohs(f->vlan_tci) & 0x0fff);
        break;
    case MFF_DL_VLAN_PCP:
        v->be16 = htons(ntohs(f->vlan_tci) >> 13);
        break;
    case MFF_VLAN_VID:
        v->be16 = htons(ntohs(f->vlan_tci) & 0x1fff);
        break;
    case MFF_NW_SRC:
    case MFF_ARP_SPA:
        v->be32 = f->nw_src;
        break;
    case MFF_NW_DST:
    case MFF_ARP_TPA:
        v->be32 = f->nw_dst;
        break;
    case MFF_NW_PROTO:
    case MFF_ARP_OP:
        v->u8 = f->nw_proto;
        break;
    case MFF_NW_TOS:
        v->u8 = f->nw_tos & 0xfc;
        break;
    case MFF_IP_DSCP:
        v->u8 = f->nw_tos >> 2;
        break;
    case MFF_NW_ECN:
        v->u8 = f->nw_tos & 3;
        break;
    case MFF_NW_TTL:
        v->u8 = f->nw_ttl;
        break;
    case MFF_IP_FRAG:
        v->u8 = f->nw_frag & 3;
        break;
    case MFF_TP_SRC:
        v->be16 = f->tp_src;
        break;
    case MFF_TP_DST:
        v->be16 = f->tp_dst;
        break;
    case MFF_TCP_FLAGS:
        v->be16 = htons(ntohs(f->tcp_flags) & 0x0fff);
        break;
    case MFF_ICMP_TYPE:
        v->be16 = htons(ntohs(f->tp_src) & 0xff);
        break;
    case MFF_ICMP_CODE:
        v->be16 = htons(ntohs(f->tp_dst) & 0xff);
        break;
    case MFF_ARP_SHA:
        memcpy(v->mac, f->arp_sha, 6);
        break;
    case MFF_ARP_THA:
        memcpy(v->mac, f->arp_tha, 6);
        break;
    case MFF_IPV6_SRC:
        memcpy(v->ipv6, f->ipv6_src, 16);
        break;
    case MFF_IPV6_DST:
        memcpy(v->ipv6, f->ipv6_dst, 16);
        break;
    case MFF_IPV6_LABEL:
        v->be32 = htonl(ntohl(f->ipv6_label) & 0xfffff);
        break;
    case MFF_RECIRC_ID:
        v->be32 = f->recirc_id;         /* host order, like in_port */
        break;
    case MFF_CT_STATE:
        v->u8 = f->ct_state;
        break;
    case MFF_CT_ZONE:
        v->be16 = f->ct_zone;
        break;
    case MFF_CT_MARK:
        v->be32 = f->ct_mark;
        break;
    case MFF_CT_LABEL:
        memcpy(v->bytes, f->ct_label, 16);
        break;
    case MFF_CT_NW_PROTO:
        v->u8 = f->ct_nw_proto;
        break;
    case MFF_CT_NW_SRC:
        v->be32 = f->ct_nw_src;
        break;
    case MFF_CT_NW_DST:
        v->be32 = f->ct_nw_dst;
        break;
    case MFF_CT_IPV6_SRC:
        memcpy(v->ipv6, f->ct_ipv6_src, 16);
        break;
    case MFF_CT_IPV6_DST:
        memcpy(v->ipv6, f->ct_ipv6_dst, 16);
        break;
    case MFF_CT_TP_SRC:
        v->be16 = f->ct_tp_src;
        break;
    case MFF_CT_TP_DST:
        v->be16 = f->ct_tp_dst;
        break;
    case MFF_TUN_ID:
        memcpy(v->bytes, &f->tunnel.tun_id, 8);
        break;
    case MFF_TUN_SRC:
        v->be32 = f->tunnel.ip_src;
        break;
    case MFF_TUN_DST:
        v->be32 = f->tunnel.ip_dst;
        break;
    case MFF_TUN_IPV6_SRC:
        memcpy(v->ipv6, f->tunnel.ipv6_src, 16);
        break;
    case MFF_TUN_IPV6_DST:
        memcpy(v->ipv6, f->tunnel.ipv6_dst, 16);
        break;
    case MFF_TUN_FLAGS:
        v->be16 = f->tunnel.flags & htons(FLOW_TNL_F_OAM);
        break;
    case MFF_TUN_TOS:
        v->u8 = f->tunnel.tos;
        break;
    case MFF_TUN_TTL:
        v->u8 = f->tunnel.ttl;
        break;
    case MFF_TUN_METADATA0: case MFF_TUN_METADATA1:
    case MFF_TUN_METADATA2: case MFF_TUN_METADATA3:
    case MFF_TUN_METADATA4: case MFF_TUN_METADATA5:
    case MFF_TUN_METADATA6: case MFF_TUN_METADATA7:
        memcpy(v->bytes, &f->tunnel.metadata[id - MFF_TUN_METADATA0], 8);
        break;
    case MFF_METADATA:
        memcpy(v->bytes, &f->metadata, 8);
        break;
    case MFF_REG0 ... MFF_REG15:
        v->be32 = f->regs[id - MFF_REG0];
        break;
    case MFF_XREG0 ... MFF_XREG7:    /* reg(2i):reg(2i+1), big-endian */
        memcpy(v->bytes, &f->regs[2 * (id - MFF_XREG0)], 4);
        memcpy(v->bytes + 4, &f->regs[2 * (id - MFF_XREG0) + 1], 4);
        break;
    case MFF_XXREG0 ... MFF_XXREG3:
        for (int k = 0; k < 4; k++) {
            memcpy(v->bytes + 4 * k, &f->regs[4 * (id - MFF_XXREG0) + k], 4);
        }
        break;
    case MFF_N_IDS:
        fail();
    }
}

/* Oracle: the struct flow bits a field covers. */
static void
ref_unwildcard(enum mf_field_id id, struct flow *w)
{
    switch (id) {
    case MFF_IN_PORT:
        w->in_port = UINT32_MAX;
        break;
    case MFF_DL_SRC:
        memset(w->dl_src, 0xff, 6);
        break;
    case MFF_DL_DST:
        memset(w->dl_dst, 0xff, 6);
        break;
    case MFF_DL_TYPE:
        w->dl_type = 0xffff;
        break;
    case MFF_VLAN_TCI:
        w->vlan_tci = 0xffff;
        break;
    case MFF_DL_VLAN:
        w->vlan_tci |= htons(0x0fff);
        break;
    case MFF_DL_VLAN_PCP:
        w->vlan_tci |= htons(0xe000);
        break;
    case MFF_VLAN_VID:
        w->vlan_tci |= htons(0x1fff);
        break;
    case MFF_NW_SRC:
    case MFF_ARP_SPA:
        w->nw_src = UINT32_MAX;
        break;
    case MFF_NW_DST:
    case MFF_ARP_TPA:
        w->nw_dst = UINT32_MAX;
        break;
    case MFF_NW_PROTO:
    case MFF_ARP_OP:
        w->nw_proto = 0xff;
        break;
    case MFF_NW_TOS:
    case MFF_IP_DSCP:
        w->nw_tos |= 0xfc;
        break;
    case MFF_NW_ECN:
        w->nw_tos |= 0x03;
        break;
    case MFF_NW_TTL:
        w->nw_ttl = 0xff;
        break;
    case MFF_IP_FRAG:
        w->nw_frag |= 3;
        break;
    case MFF_TP_SRC:
        w->tp_src = 0xffff;
        break;
    case MFF_TP_DST:
        w->tp_dst = 0xffff;
        break;
    case MFF_TCP_FLAGS:
        w->tcp_flags |= htons(0x0fff);
        break;
    case MFF_ICMP_TYPE:
        w->tp_src |= htons(0xff);
        break;
    case MFF_ICMP_CODE:
        w->tp_dst |= htons(0xff);
        break;
    case MFF_ARP_SHA:
        memset(w->arp_sha, 0xff, 6);
        break;
    case MFF_ARP_THA:
        memset(w->arp_tha, 0xff, 6);
        break;
    case MFF_IPV6_SRC:
        memset(w->ipv6_src, 0xff, 16);
        break;
    case MFF_IPV6_DST:
        memset(w->ipv6_dst, 0xff, 16);
        break;
    case MFF_IPV6_LABEL:
        w->ipv6_label |= htonl(0xfffff);
        break;
    case MFF_RECIRC_ID:
        w->recirc_id = UINT32_MAX;
        break;
    case MFF_CT_STATE:
        w->ct_state = 0xff;
        break;
    case MFF_CT_ZONE:
        w->ct_zone = 0xffff;
        break;
    case MFF_CT_MARK:
        w->ct_mark = UINT32_MAX;
        break;
    case MFF_CT_LABEL:
        memset(w->ct_label, 0xff, 16);
        break;
    case MFF_CT_NW_PROTO:
        w->ct_nw_proto = 0xff;
        break;
    case MFF_CT_NW_SRC:
        w->ct_nw_src = UINT32_MAX;
        break;
    case MFF_CT_NW_DST:
        w->ct_nw_dst = UINT32_MAX;
        break;
    case MFF_CT_IPV6_SRC:
        memset(w->ct_ipv6_src, 0xff, 16);
        break;
    case MFF_CT_IPV6_DST:
        memset(w->ct_ipv6_dst, 0xff, 16);
        break;
    case MFF_CT_TP_SRC:
        w->ct_tp_src = 0xffff;
        break;
    case MFF_CT_TP_DST:
        w->ct_tp_dst = 0xffff;
        break;
    case MFF_TUN_ID:
        w->tunnel.tun_id = UINT64_MAX;
        break;
    case MFF_TUN_SRC:
        w->tunnel.ip_src = UINT32_MAX;
        break;
    case MFF_TUN_DST:
        w->tunnel.ip_dst = UINT32_MAX;
        break;
    case MFF_TUN_IPV6_SRC:
        memset(w->tunnel.ipv6_src, 0xff, 16);
        break;
    case MFF_TUN_IPV6_DST:
        memset(w->tunnel.ipv6_dst, 0xff, 16);
        break;
    case MFF_TUN_FLAGS:
        w->tunnel.flags |= htons(FLOW_TNL_F_OAM);
        break;
    case MFF_TUN_TOS:
        w->tunnel.tos = 0xff;
        break;
    case MFF_TUN_TTL:
        w->tunnel.ttl = 0xff;
        break;
    case MFF_TUN_METADATA0: case MFF_TUN_METADATA1:
    case MFF_TUN_METADATA2: case MFF_TUN_METADATA3:
    case MFF_TUN_METADATA4: case MFF_TUN_METADATA5:
    case MFF_TUN_METADATA6: case MFF_TUN_METADATA7:
        w->tunnel.metadata[id - MFF_TUN_METADATA0] = UINT64_MAX;
        break;
    case MFF_METADATA:
        w->metadata = UINT64_MAX;
        break;
    case MFF_REG0 ... MFF_REG15:
        w->regs[id - MFF_REG0] = UINT32_MAX;
        break;
    case MFF_XREG0 ... MFF_XREG7:
        w->regs[2 * (id - MFF_XREG0)] = UINT32_MAX;
        w->regs[2 * (id - MFF_XREG0) + 1] = UINT32_MAX;
        break;
    case MFF_XXREG0 ... MFF_XXREG3:
        for (int k = 0; k < 4; k++) {
            w->regs[4 * (id - MFF_XXREG0) + k] = UINT32_MAX;
        }
        break;
    case MFF_N_IDS:
        fail();
    }
}

/* Number of meaningful bytes of a view value in the union. */
static size_t
value_len(const struct mf_field *mf)
{
    return mf->n_bytes;
}

/* A random value that fits the field's view. */
static void
rnd_view_value(const struct mf_field *mf, union mf_value *v)
{
    memset(v, 0, sizeof *v);
    if (mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16) {
        rnd_bytes(v->bytes, mf->n_bytes);
    } else {
        mf_value_from_u32(mf, rnd() & mf_view_max(mf), v);
    }
}

static void
test_ids_and_names(void **state)
{
    (void) state;
    for (int id = 0; id < MFF_N_IDS; id++) {
        const struct mf_field *mf = mf_from_id(id);
        assert_non_null(mf);
        assert_int_equal(mf->id, id);
        assert_ptr_equal(mf_from_name(mf->name), mf);
        if (mf->alias) {
            assert_ptr_equal(mf_from_name(mf->alias), mf);
        }
        assert_true(mf->offset + mf->n_bytes <= sizeof(struct flow));
    }
    static const struct {
        const char *name;
        enum mf_field_id id;
    } names[] = {
        {"ip_src", MFF_NW_SRC},        {"ip_dst", MFF_NW_DST},
        {"ip_proto", MFF_NW_PROTO},    {"ip_ecn", MFF_NW_ECN},
        {"nw_frag", MFF_IP_FRAG},      {"tcp_src", MFF_TP_SRC},
        {"udp_dst", MFF_TP_DST},       {"sctp_src", MFF_TP_SRC},
        {"icmpv6_type", MFF_ICMP_TYPE}, {"icmpv6_code", MFF_ICMP_CODE},
        {"dl_vlan", MFF_DL_VLAN},      {"vlan_vid", MFF_VLAN_VID},
        {"ipv6_label", MFF_IPV6_LABEL}, {"arp_tha", MFF_ARP_THA},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const struct mf_field *mf = mf_from_name(names[i].name);
        assert_non_null(mf);
        assert_int_equal(mf->id, names[i].id);
    }
    assert_null(mf_from_name("nw_srcx"));
    assert_null(mf_from_name(""));
    assert_null(mf_from_name(NULL));
    assert_null(mf_from_id(MFF_N_IDS));

    /* Properties the parser relies on. */
    assert_true(mf_from_id(MFF_NW_SRC)->maskable);
    assert_false(mf_from_id(MFF_NW_PROTO)->maskable);
    assert_true(mf_from_id(MFF_IN_PORT)->writable);     /* As in OVS. */
    assert_false(mf_from_id(MFF_DL_TYPE)->writable);
    assert_int_equal(mf_n_bits(mf_from_id(MFF_DL_VLAN)), 12);
    assert_int_equal(mf_n_bits(mf_from_id(MFF_IP_DSCP)), 6);
    assert_int_equal(mf_n_bits(mf_from_id(MFF_IPV6_SRC)), 128);
    assert_int_equal(mf_view_max(mf_from_id(MFF_DL_VLAN_PCP)), 7);
    assert_int_equal(mf_view_max(mf_from_id(MFF_IPV6_LABEL)), 0xfffff);
}

static void
test_get_matches_struct(void **state)
{
    (void) state;
    for (int iter = 0; iter < 2000; iter++) {
        struct flow f;
        rnd_bytes(&f, sizeof f);
        for (int id = 0; id < MFF_N_IDS; id++) {
            const struct mf_field *mf = mf_from_id(id);
            union mf_value got, want;
            mf_get(mf, &f, &got);
            ref_get(id, &f, &want);
            assert_memory_equal(&got, &want, sizeof got);
            assert_true(mf_value_fits(mf, &got));
        }
    }
}

static void
test_unwildcard_matches_struct(void **state)
{
    (void) state;
    for (int id = 0; id < MFF_N_IDS; id++) {
        const struct mf_field *mf = mf_from_id(id);
        struct flow a, b;

        for (int iter = 0; iter < 50; iter++) {
            if (iter == 0) {
                memset(&a, 0, sizeof a);
            } else {
                rnd_bytes(&a, sizeof a);
            }
            b = a;
            mf_unwildcard(mf, &a);
            ref_unwildcard(id, &b);
            assert_memory_equal(&a, &b, sizeof a);
        }
        memset(&a, 0, sizeof a);
        assert_true(mf_is_wildcarded(mf, &a));
        mf_unwildcard(mf, &a);
        assert_false(mf_is_wildcarded(mf, &a));
    }
}

static void
test_set_matches_struct(void **state)
{
    (void) state;
    for (int iter = 0; iter < 500; iter++) {
        for (int id = 0; id < MFF_N_IDS; id++) {
            const struct mf_field *mf = mf_from_id(id);
            union mf_value v, m, old, got, want;
            struct flow f, orig, cover;
            bool use_mask = rnd() & 1;

            rnd_bytes(&f, sizeof f);
            orig = f;
            rnd_view_value(mf, &v);
            rnd_view_value(mf, &m);
            mf_set(mf, &v, use_mask ? &m : NULL, &f);

            /* The view changed as (old & ~m) | (v & m)... */
            ref_get(id, &orig, &old);
            ref_get(id, &f, &got);
            for (size_t i = 0; i < sizeof want.bytes; i++) {
                uint8_t mm = use_mask ? m.bytes[i] : 0xff;
                want.bytes[i] = (old.bytes[i] & ~mm) | (v.bytes[i] & mm);
            }
            /* Restrict to the view's bits (unmasked set of a narrow
             * view: bits outside it are not part of the value). */
            union mf_value vmax;
            struct flow allw;
            memset(&allw, 0xff, sizeof allw);
            ref_get(id, &allw, &vmax);
            for (size_t i = 0; i < sizeof want.bytes; i++) {
                want.bytes[i] &= vmax.bytes[i];
            }
            assert_memory_equal(&got, &want, value_len(mf));

            /* ...and nothing outside the field's bits changed. */
            memset(&cover, 0, sizeof cover);
            ref_unwildcard(id, &cover);
            const uint8_t *a = (const uint8_t *) &f;
            const uint8_t *b = (const uint8_t *) &orig;
            const uint8_t *c = (const uint8_t *) &cover;
            for (size_t i = 0; i < sizeof f; i++) {
                assert_int_equal(a[i] & ~c[i], b[i] & ~c[i]);
            }

            /* A set then get round-trips a full-mask value. */
            mf_set(mf, &v, NULL, &f);
            mf_get(mf, &f, &got);
            assert_memory_equal(&got, &v, sizeof got);
        }
    }
}

static void
test_in_port_host_order(void **state)
{
    (void) state;
    const struct mf_field *mf = mf_from_id(MFF_IN_PORT);
    struct flow f;
    union mf_value v;

    memset(&f, 0, sizeof f);
    mf_value_from_u32(mf, 7, &v);
    mf_set(mf, &v, NULL, &f);
    assert_int_equal(f.in_port, 7);
    assert_int_equal(mf_value_to_u32(mf, &v), 7);

    mf = mf_from_id(MFF_DL_VLAN);
    mf_value_from_u32(mf, 100, &v);
    mf_set(mf, &v, NULL, &f);
    assert_int_equal(f.vlan_tci, htons(100));
    mf = mf_from_id(MFF_DL_VLAN_PCP);
    mf_value_from_u32(mf, 5, &v);
    mf_set(mf, &v, NULL, &f);
    assert_int_equal(f.vlan_tci, htons(100 | (5 << 13)));
    mf = mf_from_id(MFF_IP_DSCP);
    f.nw_tos = 0x03;
    mf_value_from_u32(mf, 46, &v);
    mf_set(mf, &v, NULL, &f);
    assert_int_equal(f.nw_tos, (46 << 2) | 3);
}

static void
set_l3(struct flow *f, uint16_t dl_type, uint8_t proto)
{
    memset(f, 0, sizeof *f);
    f->dl_type = htons(dl_type);
    f->nw_proto = proto;
}

/* Reference prerequisite evaluation. */
static bool
ref_prereq(enum mf_prereq p, uint16_t t, uint8_t proto, uint16_t tci)
{
    bool ip = t == ETH_TYPE_IP, ip6 = t == ETH_TYPE_IPV6;
    switch (p) {
    case MFP_NONE:
        return true;
    case MFP_VLAN:
        return tci & FLOW_VLAN_CFI;
    case MFP_ARP:
        return t == ETH_TYPE_ARP;
    case MFP_IPV4:
        return ip;
    case MFP_IPV6:
        return ip6;
    case MFP_IP_ANY:
        return ip || ip6;
    case MFP_IPV4_OR_ARP:
        return ip || t == ETH_TYPE_ARP;
    case MFP_TCP:
        return (ip || ip6) && proto == 6;
    case MFP_L4:
        return (ip || ip6) && (proto == 6 || proto == 17 || proto == 132);
    case MFP_ICMP_ANY:
        return (ip && proto == 1) || (ip6 && proto == 58);
    }
    return false;
}

static void
test_prereqs(void **state)
{
    (void) state;
    static const uint16_t types[] = {ETH_TYPE_IP, ETH_TYPE_IPV6,
                                     ETH_TYPE_ARP, 0x1234, 0};
    static const uint8_t protos[] = {0, 1, 6, 17, 58, 132, 200};

    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        for (size_t p = 0; p < sizeof protos / sizeof *protos; p++) {
            for (int id = 0; id < MFF_N_IDS; id++) {
                const struct mf_field *mf = mf_from_id(id);
                struct flow f, wc;
                bool ok;

                set_l3(&f, types[t], protos[p]);
                memset(&wc, 0, sizeof wc);
                ok = mf_prereqs_ok(mf, &f, &wc);
                assert_int_equal(ok, ref_prereq(mf->prereq, types[t],
                                                protos[p], 0));
                assert_int_equal(ok, mf_prereqs_ok(mf, &f, NULL));
                /* dl_type consulted whenever there is a prerequisite. */
                assert_int_equal(wc.dl_type,
                                 mf->prereq == MFP_NONE ? 0 : 0xffff);
                /* nw_proto consulted only for L4 prerequisites on IP. */
                bool l4 = mf->prereq == MFP_TCP || mf->prereq == MFP_L4
                          || mf->prereq == MFP_ICMP_ANY;
                bool ip_any = types[t] == ETH_TYPE_IP
                              || types[t] == ETH_TYPE_IPV6;
                assert_int_equal(wc.nw_proto, l4 && ip_any ? 0xff : 0);
                /* Nothing else. */
                wc.dl_type = 0;
                wc.nw_proto = 0;
                struct flow zero;
                memset(&zero, 0, sizeof zero);
                assert_memory_equal(&wc, &zero, sizeof wc);
            }
        }
    }

    struct flow f, wc;
    memset(&f, 0, sizeof f);
    memset(&wc, 0, sizeof wc);
    assert_false(mf_prereq_ok(MFP_VLAN, &f, &wc));
    assert_int_equal(wc.vlan_tci, htons(FLOW_VLAN_CFI));
    f.vlan_tci = htons(FLOW_VLAN_CFI | 5);
    assert_true(mf_prereq_ok(MFP_VLAN, &f, NULL));
    assert_string_equal(mf_prereq_string(MFP_IPV4_OR_ARP), "ip or arp");
}

/* ---------------------------------------------------------------------
 * actions.h
 */

static void
test_of_actions_alloc_clone_equal(void **state)
{
    (void) state;
    struct of_actions *a = of_actions_alloc(3), *b;

    assert_non_null(a);
    assert_int_equal(a->n, 0);
    b = of_actions_clone(a);
    assert_true(of_actions_equal(a, b));
    assert_true(of_actions_equal(a, NULL));     /* both drop */
    free(b);

    a->a[0].type = OFPACT_OUTPUT;
    a->a[0].output.port = 3;
    a->a[1].type = OFPACT_RESUBMIT;
    a->a[1].resubmit.port = OFPP_IN_PORT;
    a->a[1].resubmit.table = 2;
    a->n = 2;
    b = of_actions_clone(a);
    assert_non_null(b);
    assert_int_equal(b->n, 2);
    assert_true(of_actions_equal(a, b));
    assert_false(of_actions_equal(a, NULL));
    b->a[1].resubmit.table = 3;
    assert_false(of_actions_equal(a, b));
    b->a[1].resubmit.table = 2;
    b->n = 1;
    assert_false(of_actions_equal(a, b));
    free(a);
    free(b);
    assert_null(of_actions_clone(NULL));
}

static void
test_dp_actions_alloc_clone_equal(void **state)
{
    (void) state;
    struct dp_actions *a = dp_actions_alloc(4), *b;

    assert_non_null(a);
    assert_int_equal(a->n, 0);
    a->a[0].type = DPA_OUTPUT;
    a->a[0].port = 1;
    a->n = 1;
    b = dp_actions_clone(a);
    assert_true(dp_actions_equal(a, b));
    b->a[0].port = 2;
    assert_false(dp_actions_equal(a, b));
    assert_false(dp_actions_equal(a, NULL));
    b->n = 0;
    assert_true(dp_actions_equal(b, NULL));
    free(a);
    free(b);
    assert_null(dp_actions_clone(NULL));
}

static void
test_dp_actions_format(void **state)
{
    (void) state;
    struct dp_actions *a = dp_actions_alloc(8);
    char buf[512];
    size_t n;

    n = dp_actions_format(buf, sizeof buf, a);
    assert_string_equal(buf, "drop");
    assert_int_equal(n, 4);
    assert_int_equal(dp_actions_format(buf, sizeof buf, NULL), 4);

    struct dp_action *x = &a->a[0];
    x->type = DPA_SET_ETH;
    memcpy(x->eth.src, "\xaa\xbb\xcc\xdd\xee\xff", 6);
    memset(x->eth.src_mask, 0xff, 6);
    x = &a->a[1];
    x->type = DPA_PUSH_VLAN;
    x->push_vlan.tpid = htons(0x8100);
    x->push_vlan.tci = htons(FLOW_VLAN_CFI | 10);
    x = &a->a[2];
    x->type = DPA_OUTPUT;
    x->port = 3;
    a->n = 3;
    n = dp_actions_format(buf, sizeof buf, a);
    assert_string_equal(buf, "set(eth(src=aa:bb:cc:dd:ee:ff)),"
                             "push_vlan(tpid=0x8100,vid=10,pcp=0),output:3");
    assert_int_equal(n, strlen(buf));

    x = &a->a[0];
    memset(x, 0, sizeof *x);
    x->type = DPA_SET_IPV4;
    x->ipv4.dst = htonl(0x0a000001);
    x->ipv4.dst_mask = htonl(0xffffff00);
    x->ipv4.ttl = 9;
    x->ipv4.ttl_mask = 0xff;
    x = &a->a[1];
    memset(x, 0, sizeof *x);
    x->type = DPA_SET_L4;
    x->l4.proto = IPPROTO_UDP_;
    x->l4.dst = htons(53);
    x->l4.dst_mask = 0xffff;
    x = &a->a[2];
    x->type = DPA_POP_VLAN;
    x = &a->a[3];
    x->type = DPA_SET_VLAN;
    x->set_vlan.tci = htons(FLOW_VLAN_CFI | 7);
    x->set_vlan.tci_mask = htons(FLOW_VLAN_CFI | FLOW_VLAN_VID_MASK);
    x = &a->a[4];
    memset(x, 0, sizeof *x);
    x->type = DPA_SET_IPV6;
    x->ipv6.src[0] = 0xfe;
    x->ipv6.src[1] = 0x80;
    x->ipv6.src[15] = 1;
    memset(x->ipv6.src_mask, 0xff, 16);
    x->ipv6.hlimit = 1;
    x->ipv6.hlimit_mask = 0xff;
    a->n = 5;
    dp_actions_format(buf, sizeof buf, a);
    assert_string_equal(buf, "set(ipv4(dst=10.0.0.1/255.255.255.0,ttl=9)),"
                             "set(udp(dst=53)),pop_vlan,set(vlan(vid=7)),"
                             "set(ipv6(src=fe80::1,hlimit=1))");

    /* Truncation: always terminated, returns what was written. */
    n = dp_actions_format(buf, 10, a);
    assert_int_equal(n, 9);
    assert_int_equal(strlen(buf), 9);
    assert_memory_equal(buf, "set(ipv4(", 9);
    n = dp_actions_format(buf, 1, a);
    assert_int_equal(n, 0);
    assert_string_equal(buf, "");
    free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_names),
        cmocka_unit_test(test_get_matches_struct),
        cmocka_unit_test(test_unwildcard_matches_struct),
        cmocka_unit_test(test_set_matches_struct),
        cmocka_unit_test(test_in_port_host_order),
        cmocka_unit_test(test_prereqs),
        cmocka_unit_test(test_of_actions_alloc_clone_equal),
        cmocka_unit_test(test_dp_actions_alloc_clone_equal),
        cmocka_unit_test(test_dp_actions_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
