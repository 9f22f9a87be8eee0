/* SPDX-License-Identifier: BSD-3-Clause */
/* test-rewrite.c: pkt_rewrite against packets rebuilt from scratch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "flow.h"
#include "packet-rewrite.h"
#include "pkt-build.h"

#define HEADROOM 64
#define MAX_FRAME 1600

/* A frame in an exactly sized heap buffer (ASan sees any overrun), with
 * HEADROOM writable bytes before it at the start. */
struct tpkt {
    uint8_t *mem;
    uint8_t *frame;
    size_t len;
    size_t headroom;
    struct flow_layers ly;
};

static void
tpkt_init(struct tpkt *t, const uint8_t *data, size_t len, size_t headroom)
{
    t->mem = malloc(headroom + len + 1);
    assert_non_null(t->mem);
    t->frame = t->mem + headroom;
    memcpy(t->frame, data, len);
    t->len = len;
    t->headroom = headroom;
    flow_extract(t->frame, t->len, 0, &(struct flow) { 0 }, &t->ly);
}

static void
tpkt_free(struct tpkt *t)
{
    free(t->mem);
}

static int
tpkt_apply(struct tpkt *t, const struct dp_action *a)
{
    uint8_t *before = t->frame;
    int error = pkt_rewrite(&t->frame, &t->len, t->headroom, &t->ly, a);

    t->headroom -= (size_t) (before - t->frame);
    return error;
}

/* ---- The model: what a spec looks like after an action. ---- */

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

static bool
is_frag(const struct pkt_spec *s)
{
    int i;

    if (s->l3 == PKT_L3_IPV4) {
        return s->ipv4.frag_off || s->ipv4.mf;
    }
    if (s->l3 == PKT_L3_IPV6) {
        for (i = 0; i < s->ipv6.n_ext; i++) {
            if (s->ipv6.ext[i].type == 44) {
                return true;
            }
        }
    }
    return false;
}

static int
l4_proto(const struct pkt_spec *s)
{
    if (s->l3 == PKT_L3_IPV4) {
        return s->ipv4.proto;
    } else if (s->l3 == PKT_L3_IPV6) {
        return s->ipv6.next;
    }
    return -1;
}

static uint8_t
m8(uint8_t old, uint8_t v, uint8_t m)
{
    return (uint8_t) ((old & ~m) | (v & m));
}

/* Applies 'a' to spec 's' and returns the error pkt_rewrite() must give. */
static int
model_apply(struct pkt_spec *s, const struct dp_action *a, size_t headroom)
{
    int i;

    switch (a->type) {
    case DPA_SET_ETH:
        for (i = 0; i < 6; i++) {
            s->dl_src[i] = m8(s->dl_src[i], a->eth.src[i],
                              a->eth.src_mask[i]);
            s->dl_dst[i] = m8(s->dl_dst[i], a->eth.dst[i],
                              a->eth.dst_mask[i]);
        }
        return 0;
    case DPA_SET_IPV4:
        if (s->l3 != PKT_L3_IPV4) {
            return EINVAL;
        }
        s->ipv4.src = (s->ipv4.src & ~ntohl(a->ipv4.src_mask))
                      | (ntohl(a->ipv4.src) & ntohl(a->ipv4.src_mask));
        s->ipv4.dst = (s->ipv4.dst & ~ntohl(a->ipv4.dst_mask))
                      | (ntohl(a->ipv4.dst) & ntohl(a->ipv4.dst_mask));
        s->ipv4.tos = m8(s->ipv4.tos, a->ipv4.tos, a->ipv4.tos_mask);
        s->ipv4.ttl = m8(s->ipv4.ttl, a->ipv4.ttl, a->ipv4.ttl_mask);
        return 0;
    case DPA_SET_IPV6:
        if (s->l3 != PKT_L3_IPV6) {
            return EINVAL;
        }
        for (i = 0; i < 16; i++) {
            s->ipv6.src[i] = m8(s->ipv6.src[i], a->ipv6.src[i],
                                a->ipv6.src_mask[i]);
            s->ipv6.dst[i] = m8(s->ipv6.dst[i], a->ipv6.dst[i],
                                a->ipv6.dst_mask[i]);
        }
        s->ipv6.tclass = m8(s->ipv6.tclass, a->ipv6.tclass,
                            a->ipv6.tclass_mask);
        s->ipv6.hlimit = m8(s->ipv6.hlimit, a->ipv6.hlimit,
                            a->ipv6.hlimit_mask);
        return 0;
    case DPA_SET_L4:
        if (l4_proto(s) != a->l4.proto || is_later_frag(s)
            || (a->l4.proto != IPPROTO_TCP_ && a->l4.proto != IPPROTO_UDP_
                && a->l4.proto != IPPROTO_SCTP_)) {
            return EINVAL;
        }
        s->l4.src = (uint16_t) ((s->l4.src & ~ntohs(a->l4.src_mask))
                                | (ntohs(a->l4.src) & ntohs(a->l4.src_mask)));
        s->l4.dst = (uint16_t) ((s->l4.dst & ~ntohs(a->l4.dst_mask))
                                | (ntohs(a->l4.dst) & ntohs(a->l4.dst_mask)));
        return 0;
    case DPA_PUSH_VLAN:
        if (headroom < 4) {
            return ENOSPC;
        }
        assert_true(s->n_vlans < PKT_MAX_VLANS);
        for (i = s->n_vlans; i > 0; i--) {
            s->vlans[i] = s->vlans[i - 1];
        }
        s->vlans[0].tpid = ntohs(a->push_vlan.tpid);
        s->vlans[0].tci = ntohs(a->push_vlan.tci) & ~FLOW_VLAN_CFI;
        s->n_vlans++;
        return 0;
    case DPA_POP_VLAN:
        if (!s->n_vlans) {
            return EINVAL;
        }
        for (i = 0; i + 1 < s->n_vlans; i++) {
            s->vlans[i] = s->vlans[i + 1];
        }
        s->n_vlans--;
        return 0;
    case DPA_SET_VLAN: {
        uint16_t m = ntohs(a->set_vlan.tci_mask) & ~FLOW_VLAN_CFI;

        if (!s->n_vlans) {
            return EINVAL;
        }
        s->vlans[0].tci = (uint16_t) ((s->vlans[0].tci & ~m)
                                      | (ntohs(a->set_vlan.tci) & m));
        return 0;
    }
    default:
        return ENOTSUP;
    }
}

/* ---- Random actions. ---- */

static unsigned int seed = 2024;

static uint32_t
rnd(void)
{
    return (uint32_t) rand_r(&seed) << 16 ^ (uint32_t) rand_r(&seed);
}

/* Mask bytes: all ones, all zeros, or random. */
static void
rand_mask(uint8_t *m, size_t n)
{
    uint32_t mode = rnd() % 4;
    size_t i;

    for (i = 0; i < n; i++) {
        m[i] = mode == 0 ? 0xff : mode == 1 ? 0 : (uint8_t) rnd();
    }
}

static void
rand_bytes(uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t) rnd();
    }
}

static void
rand_action(struct dp_action *a, int type)
{
    static const uint8_t l4_protos[] = { IPPROTO_TCP_, IPPROTO_UDP_,
                                         IPPROTO_SCTP_ };
    uint8_t m[4];

    memset(a, 0, sizeof *a);
    a->type = (uint16_t) type;
    switch (type) {
    case DPA_SET_ETH:
        rand_bytes(a->eth.src, 6);
        rand_bytes(a->eth.dst, 6);
        rand_mask(a->eth.src_mask, 6);
        rand_mask(a->eth.dst_mask, 6);
        break;
    case DPA_SET_IPV4:
        a->ipv4.src = rnd();
        a->ipv4.dst = rnd();
        rand_mask((uint8_t *) &a->ipv4.src_mask, 4);
        rand_mask((uint8_t *) &a->ipv4.dst_mask, 4);
        a->ipv4.tos = (uint8_t) rnd();
        a->ipv4.ttl = (uint8_t) rnd();
        rand_mask(m, 2);
        a->ipv4.tos_mask = m[0];
        a->ipv4.ttl_mask = m[1];
        break;
    case DPA_SET_IPV6:
        rand_bytes(a->ipv6.src, 16);
        rand_bytes(a->ipv6.dst, 16);
        rand_mask(a->ipv6.src_mask, 16);
        rand_mask(a->ipv6.dst_mask, 16);
        a->ipv6.tclass = (uint8_t) rnd();
        a->ipv6.hlimit = (uint8_t) rnd();
        rand_mask(m, 2);
        a->ipv6.tclass_mask = m[0];
        a->ipv6.hlimit_mask = m[1];
        break;
    case DPA_SET_L4:
        a->l4.src = (uint16_t) rnd();
        a->l4.dst = (uint16_t) rnd();
        rand_mask((uint8_t *) &a->l4.src_mask, 2);
        rand_mask((uint8_t *) &a->l4.dst_mask, 2);
        a->l4.proto = l4_protos[rnd() % 3];
        break;
    case DPA_PUSH_VLAN:
        a->push_vlan.tpid = htons(rnd() % 2 ? ETH_TYPE_VLAN
                                            : ETH_TYPE_VLAN_8021AD);
        a->push_vlan.tci = (uint16_t) rnd();
        break;
    case DPA_SET_VLAN:
        a->set_vlan.tci = (uint16_t) rnd();
        rand_mask((uint8_t *) &a->set_vlan.tci_mask, 2);
        break;
    default:
        break;
    }
}

/* ---- Base packets. ---- */

#define MAX_BASES 40
static struct pkt_spec bases[MAX_BASES];
static const char *base_names[MAX_BASES];
static size_t n_bases;

static struct pkt_spec *
add_base(const char *name, enum pkt_l3 l3, uint8_t proto)
{
    struct pkt_spec *s;

    assert_true(n_bases < MAX_BASES);
    base_names[n_bases] = name;
    s = &bases[n_bases++];
    pkt_spec_init(s, l3, proto);
    s->ipv4.tos = 0x2e;
    s->ipv6.tclass = 0x5c;
    s->ipv6.label = 0x12345;
    return s;
}

static void
build_bases(void)
{
    struct pkt_spec *s;

    n_bases = 0;
    add_base("ipv4-tcp", PKT_L3_IPV4, IPPROTO_TCP_);
    add_base("ipv4-udp", PKT_L3_IPV4, IPPROTO_UDP_);
    s = add_base("ipv4-udp-csum0", PKT_L3_IPV4, IPPROTO_UDP_);
    s->l4.udp_csum_zero = true;
    add_base("ipv4-sctp", PKT_L3_IPV4, IPPROTO_SCTP_);
    add_base("ipv4-icmp", PKT_L3_IPV4, IPPROTO_ICMP_);
    add_base("ipv4-gre", PKT_L3_IPV4, 47);
    s = add_base("ipv4-tcp-opts", PKT_L3_IPV4, IPPROTO_TCP_);
    s->ipv4.opt_len = 8;
    s = add_base("ipv4-udp-first-frag", PKT_L3_IPV4, IPPROTO_UDP_);
    s->ipv4.mf = true;
    s = add_base("ipv4-sctp-first-frag", PKT_L3_IPV4, IPPROTO_SCTP_);
    s->ipv4.mf = true;
    s = add_base("ipv4-tcp-later-frag", PKT_L3_IPV4, IPPROTO_TCP_);
    s->ipv4.frag_off = 3;
    s = add_base("vlan-ipv4-udp", PKT_L3_IPV4, IPPROTO_UDP_);
    s->n_vlans = 1;
    s->vlans[0] = (struct pkt_vlan) { 0x8100, 0x3064 };
    s = add_base("qinq-ipv4-tcp", PKT_L3_IPV4, IPPROTO_TCP_);
    s->n_vlans = 2;
    s->vlans[0] = (struct pkt_vlan) { 0x88a8, 0x0123 };
    s->vlans[1] = (struct pkt_vlan) { 0x8100, 0x0456 };
    add_base("ipv6-tcp", PKT_L3_IPV6, IPPROTO_TCP_);
    add_base("ipv6-udp", PKT_L3_IPV6, IPPROTO_UDP_);
    add_base("ipv6-sctp", PKT_L3_IPV6, IPPROTO_SCTP_);
    add_base("ipv6-icmp6", PKT_L3_IPV6, IPPROTO_ICMPV6_);
    s = add_base("ipv6-ext-tcp", PKT_L3_IPV6, IPPROTO_TCP_);
    s->ipv6.n_ext = 3;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 0 };
    s->ipv6.ext[1] = (struct pkt_ipv6_ext) { .type = 51, .len = 16 };
    s->ipv6.ext[2] = (struct pkt_ipv6_ext) { .type = 60, .len = 16 };
    s = add_base("ipv6-udp-first-frag", PKT_L3_IPV6, IPPROTO_UDP_);
    s->ipv6.n_ext = 1;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 44, .frag_mf = true };
    s = add_base("ipv6-tcp-later-frag", PKT_L3_IPV6, IPPROTO_TCP_);
    s->ipv6.n_ext = 1;
    s->ipv6.ext[0] = (struct pkt_ipv6_ext) { .type = 44, .frag_off = 9 };
    s = add_base("vlan-ipv6-icmp6", PKT_L3_IPV6, IPPROTO_ICMPV6_);
    s->n_vlans = 1;
    s->vlans[0] = (struct pkt_vlan) { 0x88a8, 0xefff };
    add_base("arp", PKT_L3_ARP, 0);
    add_base("llc", PKT_L3_LLC, 0);
    add_base("eth-other", PKT_L3_NONE, 0);
}

/* Ethernet padding after the IP datagram (0x5a bytes) in the current
 * iteration: rewrites must ignore it (checksums/CRC cover the datagram). */
static size_t pad_len;

/* Builds the expected frame for 's'; for a fragmented SCTP packet the CRC
 * cannot be recomputed by the rewriter, so the original one is expected. */
static size_t
build_expected(uint8_t *buf, const struct pkt_spec *s,
               const uint8_t *orig_crc, struct pkt_offsets *ofs)
{
    size_t len = pkt_build_ofs(buf, MAX_FRAME, s, ofs);

    assert_true(len > 0);
    if (l4_proto(s) == IPPROTO_SCTP_ && is_frag(s) && !is_later_frag(s)) {
        memcpy(buf + ofs->l4 + 8, orig_crc, 4);
    }
    return len;
}

static void
compare_frame(const struct tpkt *t, const struct pkt_spec *s,
              const uint8_t *orig_crc, const char *what)
{
    uint8_t exp[MAX_FRAME];
    struct pkt_offsets ofs;
    size_t len = build_expected(exp, s, orig_crc, &ofs);
    const char *why = NULL;

    memset(exp + len, 0x5a, pad_len);
    len += pad_len;

    if (t->len != len || memcmp(t->frame, exp, len)) {
        char h1[4096], h2[4096];

        pkt_hexdump(h1, sizeof h1, t->frame, t->len);
        pkt_hexdump(h2, sizeof h2, exp, len);
        fprintf(stderr, "%s: frame mismatch\ngot:\n%s\nexpected:\n%s\n",
                what, h1, h2);
        fail();
    }
    if (!pkt_check_csums(t->frame, t->len, &why)) {
        fail_msg("%s: %s", what, why);
    }
    assert_int_equal(t->ly.l3, ofs.l3);
    assert_int_equal(t->ly.l4, ofs.l4 == PKT_OFS_NONE ? FLOW_OFS_NONE
                                                      : ofs.l4);
    assert_int_equal(t->ly.n_vlans, s->n_vlans);
}

/* Random payload (random length, odd ones too) so checksums vary. */
static uint8_t payload[256];

static void
randomize_payload(struct pkt_spec *s)
{
    rand_bytes(payload, sizeof payload);
    s->payload = payload;
    s->payload_len = rnd() % 64;
}

static const int rewrite_types[] = {
    DPA_SET_ETH, DPA_SET_IPV4, DPA_SET_IPV6, DPA_SET_L4, DPA_PUSH_VLAN,
    DPA_POP_VLAN, DPA_SET_VLAN,
};
#define N_TYPES (sizeof rewrite_types / sizeof rewrite_types[0])

/* Sequences of 1..8 random actions on every base packet; after each action
 * the frame must equal the frame built from the modelled spec. */
static void
test_random_sequences(void **state)
{
    size_t b;
    int iter;

    (void) state;
    build_bases();
    for (b = 0; b < n_bases; b++) {
        for (iter = 0; iter < 300; iter++) {
            struct pkt_spec s = bases[b];
            uint8_t buf[MAX_FRAME], orig_crc[4] = { 0 };
            struct pkt_offsets ofs;
            struct tpkt t;
            size_t len;
            int n_act = 1 + (int) (rnd() % 8), k;

            randomize_payload(&s);
            len = pkt_build_ofs(buf, sizeof buf, &s, &ofs);
            assert_true(len > 0);
            pad_len = iter % 3 ? 0 : rnd() % 24;
            memset(buf + len, 0x5a, pad_len);
            len += pad_len;
            if (l4_proto(&s) == IPPROTO_SCTP_ && !is_later_frag(&s)) {
                memcpy(orig_crc, buf + ofs.l4 + 8, 4);
            }
            tpkt_init(&t, buf, len, iter % 10 ? HEADROOM : rnd() % 9);
            compare_frame(&t, &s, orig_crc, base_names[b]);

            for (k = 0; k < n_act; k++) {
                struct dp_action a;
                uint8_t before[MAX_FRAME];
                size_t before_len = t.len;
                int type, exp_err, err;

                do {
                    type = rewrite_types[rnd() % N_TYPES];
                } while (type == DPA_PUSH_VLAN && s.n_vlans == 2);
                rand_action(&a, type);
                /* Prefer actions that apply: pick the packet's L4. */
                if (type == DPA_SET_L4 && rnd() % 4 && l4_proto(&s) >= 0) {
                    a.l4.proto = (uint8_t) l4_proto(&s);
                }
                memcpy(before, t.frame, t.len);
                exp_err = model_apply(&s, &a, t.headroom);
                err = tpkt_apply(&t, &a);
                if (err != exp_err) {
                    fail_msg("%s: action %d: got %d, expected %d",
                             base_names[b], type, err, exp_err);
                }
                if (err) {
                    assert_int_equal(t.len, before_len);
                    assert_memory_equal(t.frame, before, before_len);
                }
                compare_frame(&t, &s, orig_crc, base_names[b]);
            }
            tpkt_free(&t);
        }
    }
    pad_len = 0;
}

/* A port rewrite whose UDP checksum comes out as 0 must write 0xffff. */
static void
test_udp_csum_zero_result(void **state)
{
    struct pkt_spec s;
    uint8_t buf[MAX_FRAME], exp[MAX_FRAME];
    struct dp_action a;
    struct tpkt t;
    size_t len, i;
    uint32_t port;
    int found = 0;

    (void) state;
    for (i = 0; i < 2; i++) {
        pkt_spec_init(&s, i ? PKT_L3_IPV6 : PKT_L3_IPV4, IPPROTO_UDP_);
        /* Find a destination port whose checksum is 0xffff (i.e. the
         * one's-complement sum is zero). */
        for (port = 0; port < 65536; port++) {
            s.l4.dst = (uint16_t) port;
            len = pkt_build(exp, sizeof exp, &s);
            if (exp[len - s.payload_len - 2] == 0xff
                && exp[len - s.payload_len - 1] == 0xff) {
                break;
            }
        }
        assert_true(port < 65536);
        found++;
        s.l4.dst = (uint16_t) (port ^ 0x1111);
        len = pkt_build(buf, sizeof buf, &s);
        tpkt_init(&t, buf, len, HEADROOM);
        memset(&a, 0, sizeof a);
        a.type = DPA_SET_L4;
        a.l4.proto = IPPROTO_UDP_;
        a.l4.dst = htons((uint16_t) port);
        a.l4.dst_mask = 0xffff;
        assert_int_equal(tpkt_apply(&t, &a), 0);
        assert_memory_equal(t.frame, exp, len);
        tpkt_free(&t);
    }
    assert_int_equal(found, 2);
}

/* Hand-checked cases with known values, independent of the model. */
static void
test_known_values(void **state)
{
    struct pkt_spec s;
    uint8_t buf[MAX_FRAME];
    struct tpkt t;
    struct dp_action a;
    size_t len;
    const char *why;

    (void) state;
    /* dec_ttl-like: TTL 64 -> 63 with full mask; only the TTL byte and
     * the IP checksum change, and the checksum goes up by 0x0100. */
    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    len = pkt_build(buf, sizeof buf, &s);
    tpkt_init(&t, buf, len, HEADROOM);
    memset(&a, 0, sizeof a);
    a.type = DPA_SET_IPV4;
    a.ipv4.ttl = 63;
    a.ipv4.ttl_mask = 0xff;
    assert_int_equal(tpkt_apply(&t, &a), 0);
    assert_int_equal(t.frame[14 + 8], 63);
    {
        uint16_t old = (uint16_t) (buf[24] << 8 | buf[25]);
        uint16_t new = (uint16_t) (t.frame[24] << 8 | t.frame[25]);
        size_t i;

        assert_int_equal(new, old + 0x0100);
        for (i = 0; i < len; i++) {
            if (i != 22 && i != 24 && i != 25) {
                assert_int_equal(t.frame[i], buf[i]);
            }
        }
    }
    assert_true(pkt_check_csums(t.frame, t.len, &why));
    tpkt_free(&t);

    /* Push then pop restores the frame exactly; the frame start moves. */
    s.n_vlans = 2;
    s.vlans[0] = (struct pkt_vlan) { 0x88a8, 1 };
    s.vlans[1] = (struct pkt_vlan) { 0x8100, 2 };
    len = pkt_build(buf, sizeof buf, &s);
    tpkt_init(&t, buf, len, 4);
    memset(&a, 0, sizeof a);
    a.type = DPA_PUSH_VLAN;
    a.push_vlan.tpid = htons(0x8100);
    a.push_vlan.tci = htons(0x1000 | 0xa07);    /* CFI: not on the wire */
    assert_int_equal(tpkt_apply(&t, &a), 0);
    assert_ptr_equal(t.frame, t.mem);
    assert_int_equal(t.len, len + 4);
    assert_int_equal(t.ly.n_vlans, 3);
    assert_int_equal(t.ly.l3, 14 + 12);
    assert_int_equal(t.frame[12], 0x81);
    assert_int_equal(t.frame[14], 0x0a);
    assert_int_equal(t.frame[15], 0x07);
    assert_memory_equal(t.frame + 16, buf + 12, len - 12);
    /* No headroom left. */
    assert_int_equal(tpkt_apply(&t, &a), ENOSPC);
    a.type = DPA_POP_VLAN;
    assert_int_equal(tpkt_apply(&t, &a), 0);
    assert_int_equal(t.len, len);
    assert_memory_equal(t.frame, buf, len);
    assert_int_equal(t.ly.n_vlans, 2);
    /* SET_VLAN keeps the wire DEI bit whatever the mask says. */
    a.type = DPA_SET_VLAN;
    a.set_vlan.tci = htons(0x1fff);
    a.set_vlan.tci_mask = htons(0xffff);
    assert_int_equal(tpkt_apply(&t, &a), 0);
    assert_int_equal(t.frame[14], 0x0f);
    assert_int_equal(t.frame[15], 0xff);
    tpkt_free(&t);

    /* Not a rewrite action. */
    tpkt_init(&t, buf, len, HEADROOM);
    memset(&a, 0, sizeof a);
    a.type = DPA_OUTPUT;
    assert_int_equal(tpkt_apply(&t, &a), ENOTSUP);
    a.type = 99;
    assert_int_equal(tpkt_apply(&t, &a), ENOTSUP);
    tpkt_free(&t);

    /* SCTP: the CRC really changes with the ports and stays valid. */
    pkt_spec_init(&s, PKT_L3_IPV6, IPPROTO_SCTP_);
    len = pkt_build(buf, sizeof buf, &s);
    tpkt_init(&t, buf, len, HEADROOM);
    memset(&a, 0, sizeof a);
    a.type = DPA_SET_L4;
    a.l4.proto = IPPROTO_SCTP_;
    a.l4.dst = htons(5555);
    a.l4.dst_mask = 0xffff;
    assert_int_equal(tpkt_apply(&t, &a), 0);
    assert_memory_not_equal(t.frame + 54 + 8, buf + 54 + 8, 4);
    assert_true(pkt_check_csums(t.frame, t.len, &why));
    tpkt_free(&t);
}

/* Every truncation of several packets, every action type: no access out of
 * bounds (ASan), L3/L4 actions refuse truncated datagrams, failures leave
 * the frame unchanged. */
static void
test_truncated(void **state)
{
    size_t b, cut, ti;

    (void) state;
    build_bases();
    for (b = 0; b < n_bases; b++) {
        uint8_t buf[MAX_FRAME];
        size_t len = pkt_build(buf, sizeof buf, &bases[b]);

        for (cut = 0; cut < len; cut++) {
            for (ti = 0; ti < N_TYPES; ti++) {
                struct dp_action a;
                struct tpkt t;
                uint8_t before[MAX_FRAME];
                int err;

                rand_action(&a, rewrite_types[ti]);
                if (a.type == DPA_SET_L4 && l4_proto(&bases[b]) >= 0) {
                    a.l4.proto = (uint8_t) l4_proto(&bases[b]);
                }
                tpkt_init(&t, buf, cut, HEADROOM);
                memcpy(before, t.frame, cut);
                err = tpkt_apply(&t, &a);
                assert_true(err == 0 || err == EINVAL);
                if (err) {
                    assert_int_equal(t.len, cut);
                    assert_memory_equal(t.frame, before, cut);
                }
                if (cut < 14) {
                    assert_int_equal(err, EINVAL);
                }
                if (a.type == DPA_SET_IPV4 || a.type == DPA_SET_IPV6
                    || a.type == DPA_SET_L4) {
                    assert_int_equal(err, EINVAL);
                }
                tpkt_free(&t);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_udp_csum_zero_result),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
