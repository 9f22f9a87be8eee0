/* SPDX-License-Identifier: BSD-3-Clause */
/* test-flow.c: flow_extract against a spec oracle, truncation, hashing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "pkt-build.h"
#include "util.h"

/* ---- Helpers. ---- */

static void
flow_dump(const char *tag, const struct flow *f)
{
    const uint8_t *p = (const uint8_t *) f;
    size_t i;

    fprintf(stderr, "%s:", tag);
    for (i = 0; i < sizeof *f; i++) {
        fprintf(stderr, "%s%02x", i % 8 ? "" : " ", p[i]);
    }
    fprintf(stderr, "\n");
}

static void
assert_flow_eq(const struct flow *got, const struct flow *exp,
               const char *what)
{
    if (memcmp(got, exp, sizeof *got)) {
        fprintf(stderr, "flow mismatch: %s\n", what);
        flow_dump("  got", got);
        flow_dump("  exp", exp);
        fail_msg("flow mismatch: %s", what);
    }
}

/* Extracts from an exactly sized heap copy so that ASan catches any read
 * past the end. */
static void
extract_exact(const uint8_t *pkt, size_t len, uint32_t in_port,
              struct flow *flow, struct flow_layers *layers)
{
    uint8_t *copy = malloc(len ? len : 1);

    assert_non_null(copy);
    memcpy(copy, pkt, len);
    flow_extract(copy, len, in_port, flow, layers);
    free(copy);
}

static bool
is_vlan_tpid(uint16_t tpid)
{
    return tpid == ETH_TYPE_VLAN || tpid == ETH_TYPE_VLAN_8021AD;
}

static bool
is_later_frag(const struct pkt_spec *s)
{
    int i;

    if (s->l3 == PKT_L3_IPV4) {
        return s->ipv4.frag_off != 0;
    }
    if (s->l3 == PKT_L3_IPV6) {
        for (i = 0; i < s->ipv6.n_ext; i++) {
            if (s->ipv6.ext[i].type == 44 && s->ipv6.ext[i].frag_off) {
                return true;
            }
        }
    }
    return false;
}

/* The oracle: what flow_extract must produce for a well-formed packet built
 * from 's', written from the spec alone. */
static void
spec_to_flow(const struct pkt_spec *s, uint32_t in_port, struct flow *f)
{
    uint8_t proto = 0;
    bool later = is_later_frag(s);
    int i;

    memset(f, 0, sizeof *f);
    f->in_port = in_port;
    memcpy(f->dl_dst, s->dl_dst, 6);
    memcpy(f->dl_src, s->dl_src, 6);
    if (s->n_vlans >= 1) {
        assert_true(is_vlan_tpid(s->vlans[0].tpid));
        f->vlan_tci = htons(s->vlans[0].tci | FLOW_VLAN_CFI);
    }
    if (s->n_vlans >= 2) {
        assert_int_equal(s->vlans[1].tpid, ETH_TYPE_VLAN);
        f->vlan_tci2 = htons(s->vlans[1].tci | FLOW_VLAN_CFI);
    }
    switch (s->l3) {
    case PKT_L3_NONE:
        f->dl_type = htons(s->eth_type);
        break;
    case PKT_L3_LLC:
        f->dl_type = htons(ETH_TYPE_NONE);
        break;
    case PKT_L3_ARP:
        f->dl_type = htons(ETH_TYPE_ARP);
        f->nw_proto = s->arp.op & 0xff;
        f->nw_src = htonl(s->arp.spa);
        f->nw_dst = htonl(s->arp.tpa);
        memcpy(f->arp_sha, s->arp.sha, 6);
        memcpy(f->arp_tha, s->arp.tha, 6);
        break;
    case PKT_L3_IPV4:
        f->dl_type = htons(ETH_TYPE_IP);
        f->nw_src = htonl(s->ipv4.src);
        f->nw_dst = htonl(s->ipv4.dst);
        f->nw_proto = proto = s->ipv4.proto;
        f->nw_tos = s->ipv4.tos;
        f->nw_ttl = s->ipv4.ttl;
        if (s->ipv4.mf || s->ipv4.frag_off) {
            f->nw_frag = FLOW_NW_FRAG_ANY
                         | (s->ipv4.frag_off ? FLOW_NW_FRAG_LATER : 0);
        }
        break;
    case PKT_L3_IPV6:
        f->dl_type = htons(ETH_TYPE_IPV6);
        memcpy(f->ipv6_src, s->ipv6.src, 16);
        memcpy(f->ipv6_dst, s->ipv6.dst, 16);
        f->ipv6_label = htonl(s->ipv6.label & 0xfffff);
        f->nw_tos = s->ipv6.tclass;
        f->nw_ttl = s->ipv6.hlimit;
        proto = s->ipv6.next;
        for (i = 0; i < s->ipv6.n_ext; i++) {
            const struct pkt_ipv6_ext *e = &s->ipv6.ext[i];

            if (e->type == 44) {
                f->nw_frag = FLOW_NW_FRAG_ANY
                             | (e->frag_off ? FLOW_NW_FRAG_LATER : 0);
                if (e->frag_off) {
                    /* Next header of the fragment header. */
                    proto = i + 1 < s->ipv6.n_ext ? s->ipv6.ext[i + 1].type
                                                  : s->ipv6.next;
                    break;
                }
            }
        }
        f->nw_proto = proto;
        break;
    }
    if ((s->l3 == PKT_L3_IPV4 || s->l3 == PKT_L3_IPV6) && !later) {
        switch (proto) {
        case IPPROTO_TCP_:
            f->tcp_flags = htons(s->l4.tcp_flags & 0x0fff);
            /* fall through */
        case IPPROTO_UDP_:
        case IPPROTO_SCTP_:
            f->tp_src = htons(s->l4.src);
            f->tp_dst = htons(s->l4.dst);
            break;
        case IPPROTO_ICMP_:
        case IPPROTO_ICMPV6_:
            f->tp_src = htons(s->l4.icmp_type);
            f->tp_dst = htons(s->l4.icmp_code);
            break;
        default:
            break;
        }
    }
}

/* Expected flow for the first 't' bytes of the packet whose full parse is
 * 'full', per flow.h: a truncated header leaves it and later layers zero.
 * An IP datagram shorter than its length field is malformed as a whole. */
static void
truncated_flow(const struct pkt_spec *s, const struct flow *full,
               const struct pkt_offsets *ofs, size_t t, size_t ip_end,
               struct flow *f)
{
    memset(f, 0, sizeof *f);
    f->in_port = full->in_port;
    if (t < 14) {
        return;
    }
    memcpy(f->dl_dst, full->dl_dst, 6);
    memcpy(f->dl_src, full->dl_src, 6);
    if (s->n_vlans >= 1 && t < 18) {
        f->dl_type = htons(s->vlans[0].tpid);
        return;
    }
    f->vlan_tci = full->vlan_tci;
    if (s->n_vlans >= 2 && t < 22) {
        f->dl_type = htons(s->vlans[1].tpid);
        return;
    }
    f->vlan_tci2 = full->vlan_tci2;
    f->dl_type = full->dl_type;
    if (s->l3 == PKT_L3_ARP && t < ofs->l3 + 28) {
        return;
    }
    if ((s->l3 == PKT_L3_IPV4 || s->l3 == PKT_L3_IPV6) && t < ip_end) {
        return;
    }
    *f = *full;
}

struct variant {
    const char *name;
    struct pkt_spec spec;
};

static const uint8_t mac_a[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t mac_b[6] = { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5 };

#define MAX_VARIANTS 64
static struct variant variants[MAX_VARIANTS];
static size_t n_variants;

static struct pkt_spec *
add_variant(const char *name, enum pkt_l3 l3, uint8_t proto)
{
    struct variant *v;

    assert_true(n_variants < MAX_VARIANTS);
    v = &variants[n_variants++];
    v->name = name;
    pkt_spec_init(&v->spec, l3, proto);
    /* Non-default, asymmetric values everywhere. */
    memcpy(v->spec.dl_src, mac_a, 6);
    memcpy(v->spec.dl_dst, mac_b, 6);
    v->spec.ipv4.src = 0xc0a80a0b;
    v->spec.ipv4.dst = 0x08080404;
    v->spec.ipv4.tos = 0xb9;
    v->spec.ipv4.ttl = 17;
    v->spec.ipv6.src[1] = 0x35;
    v->spec.ipv6.dst[14] = 0x77;
    v->spec.ipv6.tclass = 0xa5;
    v->spec.ipv6.hlimit = 3;
    v->spec.ipv6.label = 0xabcde;
    v->spec.l4.src = 0x1234;
    v->spec.l4.dst = 0xfedc;
    v->spec.l4.tcp_flags = 0x1d2;   /* NS and a few others */
    v->spec.l4.icmp_type = 3;
    v->spec.l4.icmp_code = 13;
    v->spec.arp.op = 2;
    memcpy(v->spec.arp.sha, mac_a, 6);
    memcpy(v->spec.arp.tha, mac_b, 6);
    v->spec.arp.spa = 0x01020304;
    v->spec.arp.tpa = 0x05060708;
    v->spec.payload_len = 11;
    return &v->spec;
}

static void
build_variants(void)
{
    static const uint8_t protos[] = {
        IPPROTO_TCP_, IPPROTO_UDP_, IPPROTO_SCTP_, IPPROTO_ICMP_, 47,
    };
    static const uint8_t protos6[] = {
        IPPROTO_TCP_, IPPROTO_UDP_, IPPROTO_SCTP_, IPPROTO_ICMPV6_, 47,
    };
    struct pkt_spec *s;
    size_t i;

    n_variants = 0;
    add_variant("eth-unknown-type", PKT_L3_NONE, 0);
    s = add_variant("eth-zero-payload", PKT_L3_NONE, 0);
    s->payload_len = 0;
    add_variant("llc", PKT_L3_LLC, 0);
    add_variant("arp", PKT_L3_ARP, 0);
    s = add_variant("arp-big-op", PKT_L3_ARP, 0);
    s->arp.op = 0x0301;
    for (i = 0; i < sizeof protos; i++) {
        add_variant("ipv4", PKT_L3_IPV4, protos[i]);
        add_variant("ipv6", PKT_L3_IPV6, protos6[i]);
    }
    s = add_variant("ipv4-tcp-opts", PKT_L3_IPV4, IPPROTO_TCP_);
    s->ipv4.opt_len = 12;
    s = add_variant("ipv4-udp-opts40", PKT_L3_IPV4, IPPROTO_UDP_);
    s->ipv4.opt_len = 40;
    s = add_variant("ipv4-first-frag", PKT_L3_IPV4, IPPROTO_UDP_);
    s->ipv4.mf = true;
    s = add_variant("ipv4-later-frag", PKT_L3_IPV4, IPPROTO_UDP_);
    s->ipv4.frag_off = 100;
    s->ipv4.mf = true;
    s = add_variant("ipv4-last-frag", PKT_L3_IPV4, IPPROTO_TCP_);
    s->ipv4.frag_off = 7;
    s = add_variant("ipv4-df", PKT_L3_IPV4, IPPROTO_TCP_);
    s->ipv4.df = true;
    s = add_variant("ipv4-no-payload", PKT_L3_IPV4, IPPROTO_TCP_);
    s->payload_len = 0;
    s = add_variant("vlan-ipv4-tcp", PKT_L3_IPV4, IPPROTO_TCP_);
    s->n_vlans = 1;
    s->vlans[0] = (struct pkt_vlan) { 0x8100, 0xa123 };
    s = add_variant("vlan0-ipv4-tcp", PKT_L3_IPV4, IPPROTO_TCP_);
    s->n_vlans = 1;
    s->vlans[0] = (struct pkt_vlan) { 0x8100, 0 };
    s = add_variant("qinq-ipv6-udp", PKT_L3_IPV6, IPPROTO_UDP_);
    s->n_vlans = 2;
    s->vlans[0] = (struct pkt_vlan) { 0x88a8, 0x2fff };
    s->vlans[1] = (struct pkt_vlan) { 0x8100, 0xe001 };
    s = add_variant("double-8100-arp", PKT_L3_ARP, 0);
    s->n_vlans = 2;
    s->vlans[0] = (struct pkt_vlan) { 0x8100, 0x0005 };
    s->vlans[1] = (struct pkt_vlan) { 0x8100, 0x0006 };
    s = add_variant("svlan-only-ipv4", PKT_L3_IPV4, IPPROTO_ICMP_);
    s->n_vlans = 1;
    s->vlans[0] = (struct pkt_vlan) { 0x88a8, 0x0fff };
    s = add_variant("vlan-llc", PKT_L3_LLC, 0);
    s->n_vlans = 1;
    s->vlans[0] = (struct pkt_vlan) { 0x8100, 0x0100 };
    s = add_variant("ipv6-hbh-rt-dst-tcp", PKT_L3_IPV6, IPPROTO_TCP_);
    s->ipv6.n_ext = 3;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 0, .len = 8 };
    s->ipv6.ext[1] = (struct pkt_ipv6_ext) { .type = 43, .len = 24 };
    s->ipv6.ext[2] = (struct pkt_ipv6_ext) { .type = 60, .len = 16 };
    s = add_variant("ipv6-ah-udp", PKT_L3_IPV6, IPPROTO_UDP_);
    s->ipv6.n_ext = 1;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 51, .len = 24 };
    s = add_variant("ipv6-first-frag-tcp", PKT_L3_IPV6, IPPROTO_TCP_);
    s->ipv6.n_ext = 2;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 0 };
    s->ipv6.ext[1] = (struct pkt_ipv6_ext) { .type = 44, .frag_mf = true,
                                             .frag_id = 7 };
    s = add_variant("ipv6-later-frag-udp", PKT_L3_IPV6, IPPROTO_UDP_);
    s->ipv6.n_ext = 1;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 44, .frag_off = 185 };
    s = add_variant("ipv6-later-frag-dstopt", PKT_L3_IPV6, IPPROTO_UDP_);
    s->ipv6.n_ext = 2;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 44, .frag_off = 1,
                                             .frag_mf = true };
    s->ipv6.ext[1] = (struct pkt_ipv6_ext) { .type = 60 };
    s = add_variant("ipv6-esp", PKT_L3_IPV6, 50);
    s = add_variant("ipv6-hbh-nonext", PKT_L3_IPV6, 59);
    s->ipv6.n_ext = 1;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 0, .len = 16 };
    s = add_variant("ipv6-icmp6-no-payload", PKT_L3_IPV6, IPPROTO_ICMPV6_);
    s->payload_len = 0;
}

/* ---- Tests. ---- */

static void
test_extract_variants(void **state)
{
    uint8_t buf[2048];
    size_t i;

    (void) state;
    build_variants();
    for (i = 0; i < n_variants; i++) {
        const struct variant *v = &variants[i];
        struct pkt_offsets ofs;
        struct flow_layers layers;
        struct flow got, exp;
        size_t len = pkt_build_ofs(buf, sizeof buf, &v->spec, &ofs);
        const char *why = NULL;

        assert_true(len > 0);
        assert_true(pkt_check_csums(buf, len, &why));
        extract_exact(buf, len, 77 + i, &got, &layers);
        spec_to_flow(&v->spec, 77 + i, &exp);
        assert_flow_eq(&got, &exp, v->name);
        assert_int_equal(layers.l3, ofs.l3);
        assert_int_equal(layers.l4, ofs.l4 == PKT_OFS_NONE ? FLOW_OFS_NONE
                                                           : ofs.l4);
        assert_int_equal(layers.n_vlans, v->spec.n_vlans);

        /* Ethernet padding after the IP datagram changes nothing. */
        memset(buf + len, 0xee, 30);
        extract_exact(buf, len + 30, 77 + i, &got, &layers);
        assert_flow_eq(&got, &exp, v->name);
    }
}

/* Every truncation length of every variant: exact expected flow, and ASan
 * checks that nothing past the end is read. */
static void
test_extract_truncated(void **state)
{
    uint8_t buf[2048];
    size_t i, t;

    (void) state;
    build_variants();
    for (i = 0; i < n_variants; i++) {
        const struct variant *v = &variants[i];
        struct pkt_offsets ofs;
        struct flow full, got, exp;
        struct flow_layers layers;
        size_t len = pkt_build_ofs(buf, sizeof buf, &v->spec, &ofs);

        flow_extract(buf, len, 5, &full, NULL);
        for (t = 0; t <= len; t++) {
            truncated_flow(&v->spec, &full, &ofs, t, len, &exp);
            extract_exact(buf, t, 5, &got, &layers);
            if (memcmp(&got, &exp, sizeof got)) {
                fprintf(stderr, "%s truncated to %zu of %zu\n", v->name, t,
                        len);
            }
            assert_flow_eq(&got, &exp, v->name);
            if (t < 14) {
                assert_int_equal(layers.l3, FLOW_OFS_NONE);
            }
            if (layers.l4 != FLOW_OFS_NONE) {
                assert_true(layers.l4 <= t);
            }
        }
    }
}

static void
test_vlan_cases(void **state)
{
    struct pkt_spec s;
    struct flow f;
    struct flow_layers layers;
    uint8_t buf[256];
    size_t len;

    (void) state;

    /* Three tags: the third is not parsed, dl_type is its TPID. */
    pkt_spec_init(&s, PKT_L3_NONE, 0);
    s.n_vlans = 2;
    s.vlans[0] = (struct pkt_vlan) { 0x88a8, 0x0010 };
    s.vlans[1] = (struct pkt_vlan) { 0x8100, 0x0020 };
    s.eth_type = 0x8100;
    len = pkt_build(buf, sizeof buf, &s);
    extract_exact(buf, len, 0, &f, &layers);
    assert_int_equal(ntohs(f.vlan_tci), 0x1010);
    assert_int_equal(ntohs(f.vlan_tci2), 0x1020);
    assert_int_equal(ntohs(f.dl_type), 0x8100);
    assert_int_equal(layers.n_vlans, 2);
    assert_int_equal(layers.l3, 22);
    assert_int_equal(layers.l4, FLOW_OFS_NONE);

    /* An inner 0x88a8 is not a C-tag: one tag parsed. */
    s.n_vlans = 2;
    s.vlans[1] = (struct pkt_vlan) { 0x88a8, 0x0020 };
    s.eth_type = 0x0800;
    len = pkt_build(buf, sizeof buf, &s);
    extract_exact(buf, len, 0, &f, &layers);
    assert_int_equal(ntohs(f.vlan_tci), 0x1010);
    assert_int_equal(f.vlan_tci2, 0);
    assert_int_equal(ntohs(f.dl_type), 0x88a8);
    assert_int_equal(layers.n_vlans, 1);

    /* A tag whose TCI already has the DEI bit: CFI stays set. */
    s.n_vlans = 1;
    s.vlans[0] = (struct pkt_vlan) { 0x8100, 0x1fff };
    len = pkt_build(buf, sizeof buf, &s);
    extract_exact(buf, len, 0, &f, NULL);
    assert_int_equal(ntohs(f.vlan_tci), 0x1fff);

    /* 802.3 length 0x05ff and 0x0000 and ethertype 0x0600 boundary. */
    s.n_vlans = 0;
    s.eth_type = 0x05ff;
    len = pkt_build(buf, sizeof buf, &s);
    extract_exact(buf, len, 0, &f, NULL);
    assert_int_equal(ntohs(f.dl_type), ETH_TYPE_NONE);
    s.eth_type = 0x0000;
    len = pkt_build(buf, sizeof buf, &s);
    extract_exact(buf, len, 0, &f, NULL);
    assert_int_equal(ntohs(f.dl_type), ETH_TYPE_NONE);
    s.eth_type = 0x0600;
    len = pkt_build(buf, sizeof buf, &s);
    extract_exact(buf, len, 0, &f, NULL);
    assert_int_equal(ntohs(f.dl_type), 0x0600);
}

/* Builds 's', lets 'patch' break it, and checks the flow against 'exp'
 * computed from the unbroken packet with 'clear' applied. */
static void
check_malformed(const char *name, const struct pkt_spec *s, size_t at,
                uint8_t and_mask, uint8_t or_bits, bool ip_fields_zero,
                bool l4_fields_zero)
{
    uint8_t buf[512];
    struct pkt_offsets ofs;
    struct flow full, got, exp;
    struct flow_layers layers;
    size_t len = pkt_build_ofs(buf, sizeof buf, s, &ofs);

    flow_extract(buf, len, 1, &full, NULL);
    buf[at] = (buf[at] & and_mask) | or_bits;
    extract_exact(buf, len, 1, &got, &layers);
    exp = full;
    if (ip_fields_zero) {
        exp.nw_src = exp.nw_dst = 0;
        memset(exp.ipv6_src, 0, 16);
        memset(exp.ipv6_dst, 0, 16);
        exp.ipv6_label = 0;
        exp.nw_proto = exp.nw_tos = exp.nw_ttl = exp.nw_frag = 0;
        memset(exp.arp_sha, 0, 6);
        memset(exp.arp_tha, 0, 6);
        assert_int_equal(layers.l4, FLOW_OFS_NONE);
    }
    if (ip_fields_zero || l4_fields_zero) {
        exp.tp_src = exp.tp_dst = exp.tcp_flags = 0;
    }
    assert_flow_eq(&got, &exp, name);
}

static void
test_malformed(void **state)
{
    struct pkt_spec s;
    size_t l3 = 14;

    (void) state;
    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_TCP_);
    /* IHL 4, IHL 0, version 5, version 6. */
    check_malformed("ihl4", &s, l3, 0xf0, 4, true, false);
    check_malformed("ihl0", &s, l3, 0xf0, 0, true, false);
    check_malformed("ver5", &s, l3, 0x0f, 0x50, true, false);
    check_malformed("ver6", &s, l3, 0x0f, 0x60, true, false);
    /* IHL larger than total length (total is 20+20+16 = 56 = 14 words). */
    check_malformed("ihl15", &s, l3, 0xf0, 15, true, false);
    /* Total length beyond the frame; total length below the IHL. */
    check_malformed("totlen-big", &s, l3 + 2, 0, 0x10, true, false);
    check_malformed("totlen-small", &s, l3 + 3, 0, 10, true, false);
    check_malformed("totlen-small2", &s, l3 + 3, 0, 19, true, false);
    /* TCP data offset below 5 or beyond the segment. */
    check_malformed("doff4", &s, l3 + 20 + 12, 0x0f, 0x40, false, true);
    check_malformed("doff15", &s, l3 + 20 + 12, 0x0f, 0xf0, false, true);
    /* IHL 6 with no room for TCP: ports gone. */
    s.payload_len = 0;
    check_malformed("ihl-eats-tcp", &s, l3, 0xf0, 10, false, true);

    /* ARP with other hardware/protocol types or lengths: nothing. */
    pkt_spec_init(&s, PKT_L3_ARP, 0);
    check_malformed("arp-htype", &s, l3 + 1, 0, 6, true, false);
    check_malformed("arp-ptype", &s, l3 + 2, 0, 0x86, true, false);
    check_malformed("arp-hlen", &s, l3 + 4, 0, 8, true, false);
    check_malformed("arp-plen", &s, l3 + 5, 0, 16, true, false);

    /* IPv6: bad version; payload length beyond frame; extension header
     * longer than the payload. */
    pkt_spec_init(&s, PKT_L3_IPV6, IPPROTO_UDP_);
    check_malformed("ip6-ver", &s, l3, 0x0f, 0x40, true, false);
    check_malformed("ip6-plen", &s, l3 + 4, 0, 0x40, true, false);
    s.ipv6.n_ext = 1;
    s.ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 60 };
    {
        uint8_t buf[256];
        struct flow f;
        struct flow_layers layers;
        size_t len = pkt_build(buf, sizeof buf, &s);

        buf[l3 + 40 + 1] = 200;    /* ext len 201 * 8 */
        extract_exact(buf, len, 0, &f, &layers);
        /* Base header fields stay; protocol and L4 unknown. */
        assert_int_equal(f.nw_ttl, 64);
        assert_int_equal(f.ipv6_src[0], 0xfc);
        assert_int_equal(f.nw_proto, 0);
        assert_int_equal(f.tp_src, 0);
        assert_int_equal(layers.l4, FLOW_OFS_NONE);
    }
}

/* Random bytes of random lengths, with plausible headers sprinkled in:
 * must never crash or read out of bounds, and padding stays zero. */
static void
test_fuzz(void **state)
{
    static const uint16_t types[] = { 0x0800, 0x86dd, 0x0806, 0x8100,
                                      0x88a8, 0x0100 };
    uint8_t buf[200];
    unsigned int seed = 12345;
    int iter;

    (void) state;
    for (iter = 0; iter < 100000; iter++) {
        struct flow f;
        struct flow_layers layers;
        size_t len = (size_t) rand_r(&seed) % sizeof buf;
        size_t i;

        for (i = 0; i < len; i++) {
            buf[i] = (uint8_t) rand_r(&seed);
        }
        if (len >= 14 && rand_r(&seed) % 2) {
            uint16_t t = types[rand_r(&seed) % 6];

            buf[12] = t >> 8;
            buf[13] = t & 0xff;
            if (len >= 15 && (t == 0x0800 || rand_r(&seed) % 2)) {
                buf[14] = (uint8_t) (0x45 + rand_r(&seed) % 3);
            }
            if (len >= 15 && t == 0x86dd) {
                buf[14] = 0x60;
            }
        }
        extract_exact(buf, len, 9, &f, &layers);
        assert_int_equal(f.in_port, 9);
        assert_int_equal(f.pad0, 0);
        assert_int_equal(f.pad1, 0);
        assert_int_equal(f.pad2, 0);
        if (layers.l3 != FLOW_OFS_NONE) {
            assert_true(layers.l3 <= len);
        }
        if (layers.l4 != FLOW_OFS_NONE) {
            assert_true(layers.l4 <= len);
            assert_true(layers.l4 > layers.l3);
        }
        assert_true(layers.n_vlans <= 2);
    }
}

/* ---- Hash, masked compare, apply_mask. ---- */

static uint64_t
rand64(unsigned int *seed)
{
    uint64_t x = 0;
    int i;

    for (i = 0; i < 4; i++) {
        x = (x << 16) ^ (uint64_t) (rand_r(seed) & 0xffff);
    }
    return x;
}

static void
rand_flow(struct flow *f, unsigned int *seed)
{
    uint64_t *w = (uint64_t *) (void *) f;
    size_t i;

    for (i = 0; i < FLOW_U64S; i++) {
        w[i] = rand64(seed);
    }
}

static void
test_hash_props(void **state)
{
    struct flow a, b, mask, ones;
    unsigned int seed = 777;
    int iter;

    (void) state;
    memset(&ones, 0xff, sizeof ones);
    for (iter = 0; iter < 2000; iter++) {
        size_t i, bit;

        rand_flow(&a, &seed);
        rand_flow(&mask, &seed);
        assert_int_equal(flow_hash(&a, 3), flow_hash_masked(&a, &ones, 3));

        /* Bits outside the mask do not affect the masked hash. */
        rand_flow(&b, &seed);
        for (i = 0; i < FLOW_U64S; i++) {
            uint64_t m = flow_u64(&mask)[i];

            ((uint64_t *) (void *) &b)[i] = (flow_u64(&a)[i] & m)
                                            | (flow_u64(&b)[i] & ~m);
        }
        assert_int_equal(flow_hash_masked(&a, &mask, 11),
                         flow_hash_masked(&b, &mask, 11));

        /* Flipping one bit changes the full hash (overwhelmingly). */
        b = a;
        bit = (size_t) rand_r(&seed) % (sizeof b * 8);
        ((uint8_t *) &b)[bit / 8] ^= (uint8_t) (1u << (bit % 8));
        assert_int_not_equal(flow_hash(&a, 0), flow_hash(&b, 0));
        /* The basis matters. */
        assert_int_not_equal(flow_hash(&a, 0), flow_hash(&a, 1));
    }
}

/* Flows that differ in one small field (the typical workload) must spread
 * evenly over buckets. */
static void
test_hash_distribution(void **state)
{
    enum { N = 1 << 16, BUCKETS = 1 << 10 };
    static unsigned int counts[BUCKETS];
    struct flow f;
    double chi = 0, expct = (double) N / BUCKETS;
    uint32_t i;
    size_t b;

    (void) state;
    memset(counts, 0, sizeof counts);
    memset(&f, 0, sizeof f);
    f.dl_type = htons(ETH_TYPE_IP);
    f.nw_proto = IPPROTO_UDP_;
    for (i = 0; i < N; i++) {
        f.tp_src = htons((uint16_t) i);
        counts[flow_hash(&f, 0) & (BUCKETS - 1)]++;
    }
    for (b = 0; b < BUCKETS; b++) {
        chi += (counts[b] - expct) * (counts[b] - expct) / expct;
    }
    /* 1023 degrees of freedom: mean 1023, sd ~45; allow a wide margin. */
    assert_true(chi < 1300);

    /* High bits too (the EMC and classifier may use them). */
    memset(counts, 0, sizeof counts);
    for (i = 0; i < N; i++) {
        f.nw_src = htonl(0x0a000000 + i);
        counts[flow_hash(&f, 0) >> 22]++;
    }
    chi = 0;
    for (b = 0; b < BUCKETS; b++) {
        chi += (counts[b] - expct) * (counts[b] - expct) / expct;
    }
    assert_true(chi < 1300);
}

/* One-bit input changes flip each output bit about half the time, for
 * sparse flows (mostly zero words, like real keys) as well as random ones,
 * masked and unmasked. */
static void
test_hash_avalanche(void **state)
{
    enum { N = 20000 };
    unsigned int flips[32];
    struct flow a, b, ones;
    unsigned int seed = 31337;
    int iter, bit;

    (void) state;
    memset(flips, 0, sizeof flips);
    memset(&ones, 0xff, sizeof ones);
    for (iter = 0; iter < N; iter++) {
        size_t pos;
        uint32_t d;

        if (iter % 2) {
            rand_flow(&a, &seed);
        } else {
            memset(&a, 0, sizeof a);
            a.in_port = (uint32_t) rand_r(&seed) % 8;
            a.dl_type = htons(ETH_TYPE_IP);
            a.nw_src = (uint32_t) rand_r(&seed);
            a.tp_dst = (uint16_t) rand_r(&seed);
        }
        b = a;
        pos = (size_t) rand_r(&seed) % (sizeof b * 8);
        ((uint8_t *) &b)[pos / 8] ^= (uint8_t) (1u << (pos % 8));
        d = iter % 3 ? flow_hash(&a, 0) ^ flow_hash(&b, 0)
                     : flow_hash_masked(&a, &ones, 7)
                       ^ flow_hash_masked(&b, &ones, 7);
        for (bit = 0; bit < 32; bit++) {
            flips[bit] += (d >> bit) & 1;
        }
    }
    for (bit = 0; bit < 32; bit++) {
        assert_true(flips[bit] > N * 45 / 100 && flips[bit] < N * 55 / 100);
    }
}

static void
test_equal_and_apply_mask(void **state)
{
    struct flow a, b, mask, out;
    unsigned int seed = 4242;
    int iter;

    (void) state;
    for (iter = 0; iter < 20000; iter++) {
        const uint8_t *pa, *pb, *pm;
        bool ref = true;
        size_t i;

        rand_flow(&a, &seed);
        rand_flow(&mask, &seed);
        b = a;
        /* Sometimes differ only outside the mask, sometimes inside. */
        for (i = 0; i < (size_t) (iter % 4); i++) {
            size_t byte = (size_t) rand_r(&seed) % sizeof b;

            ((uint8_t *) &b)[byte] ^= (uint8_t) rand_r(&seed);
        }
        if (iter % 3 == 0) {
            size_t byte = (size_t) rand_r(&seed) % sizeof b;

            ((uint8_t *) &mask)[byte] = 0;
        }
        pa = (const uint8_t *) &a;
        pb = (const uint8_t *) &b;
        pm = (const uint8_t *) &mask;
        for (i = 0; i < sizeof a; i++) {
            if ((pa[i] ^ pb[i]) & pm[i]) {
                ref = false;
            }
        }
        assert_int_equal(flow_equal_masked(&a, &b, &mask), ref);

        flow_apply_mask(&out, &a, &mask);
        for (i = 0; i < sizeof a; i++) {
            assert_int_equal(((const uint8_t *) &out)[i], pa[i] & pm[i]);
        }
        /* In place. */
        flow_apply_mask(&a, &a, &mask);
        assert_memory_equal(&a, &out, sizeof a);
    }
}

/* zero_small() clears exactly the n bytes memset() would, for every n it
 * takes, at every alignment. */
static void
test_zero_small(void **state)
{
    uint8_t buf[256], ref[256];

    (void) state;
    for (size_t n = 0; n <= 248; n++) {
        for (size_t ofs = 0; ofs < 8; ofs++) {
            memset(buf, 0xa5, sizeof buf);
            memset(ref, 0xa5, sizeof ref);
            zero_small(buf + ofs, n);
            memset(ref + ofs, 0, n);
            assert_memory_equal(buf, ref, sizeof buf);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_small),
        cmocka_unit_test(test_extract_variants),
        cmocka_unit_test(test_extract_truncated),
        cmocka_unit_test(test_vlan_cases),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_hash_props),
        cmocka_unit_test(test_hash_distribution),
        cmocka_unit_test(test_hash_avalanche),
        cmocka_unit_test(test_equal_and_apply_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
