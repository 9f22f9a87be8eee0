/* SPDX-License-Identifier: BSD-3-Clause */
/* test-pkt-ol.c: software checksum and TCP segmentation (pkt-ol.h) against
 * frames built by tests/pkt-build.c and checked by its independent
 * checksum verifier: header offsets on every shape, truncations and
 * refusals; complete and partial checksums; segments of plain, VLAN,
 * IPv6-with-extensions and VXLAN/GENEVE-encapsulated packets, whose
 * payloads must concatenate to the original and whose headers must be
 * what a NIC would send. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt-build.h"
#include "pkt-ol.h"
#include "test-rand.h"
#include "tnl.h"

#define BIG 70000

static uint16_t
be16_at(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
be32_at(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

/* A TCP or UDP packet of 'payload' bytes of pseudo-random data in 'buf'
 * with 'n_vlans' tags, IPv4 options or IPv6 extension headers as 'shape'
 * says.  Returns its length; offsets in 'ofs'. */
static size_t
build(uint8_t *buf, size_t size, bool v6, uint8_t proto, int n_vlans,
      int shape, size_t payload, struct pkt_offsets *ofs, uint64_t *rng)
{
    static uint8_t data[BIG];
    struct pkt_spec s;

    for (size_t i = 0; i < payload; i++) {
        data[i] = (uint8_t) test_xorshift64(rng);
    }
    pkt_spec_init(&s, v6 ? PKT_L3_IPV6 : PKT_L3_IPV4, proto);
    s.n_vlans = n_vlans;
    for (int i = 0; i < n_vlans; i++) {
        s.vlans[i].tpid = i ? 0x8100 : 0x88a8;
        s.vlans[i].tci = (uint16_t) (100 + i);
    }
    if (v6 && shape) {
        s.ipv6.n_ext = 2;
        s.ipv6.ext[0].type = 0;
        s.ipv6.ext[0].len = 8;
        s.ipv6.ext[1].type = 60;
        s.ipv6.ext[1].len = 16;
    } else if (shape) {
        s.ipv4.opt_len = 8;
    }
    s.ipv4.id = 0xfff0;                 /* Wraps while segmenting. */
    s.l4.tcp_flags = 0x0d9;             /* CWR ACK PSH FIN */
    s.payload_len = payload;
    s.payload = data;
    return pkt_build_ofs(buf, size, &s, ofs);
}

/* Wraps the 'len'-byte frame at 'inner' in a VXLAN or GENEVE header
 * (tnl_build()/tnl_finish()) into 'out'; returns the length. */
static size_t
encap(uint8_t *out, const uint8_t *inner, size_t len, enum tnl_type type,
      bool v6, bool csum)
{
    static const uint8_t opts[] = { 0x01, 0x02, 0x80, 0x01,
                                    0xde, 0xad, 0xbe, 0xef };
    struct tnl_spec spec;
    struct tnl_layout lay;
    size_t h;

    memset(&spec, 0, sizeof spec);
    spec.type = type;
    spec.is_ipv6 = v6;
    spec.ip_src = htobe32(0xac1f0001);
    spec.ip_dst = htobe32(0xac1f0002);
    spec.ipv6_src[0] = spec.ipv6_dst[0] = 0xfd;
    spec.ipv6_src[15] = 1;
    spec.ipv6_dst[15] = 2;
    spec.csum = csum;
    spec.udp_dst = htobe16(type == TNL_GENEVE ? 6081 : 4789);
    spec.vni = 42;
    if (type == TNL_GENEVE) {
        spec.opts = opts;
        spec.opts_len = sizeof opts;
    }
    h = tnl_build(&spec, out, TNL_HDR_MAX);
    assert_true(h > 0);
    tnl_layout_of(&spec, &lay);
    memcpy(out + h, inner, len);
    assert_true(tnl_finish(out, h + len, &lay, htobe16(7), htobe16(40000)));
    return h + len;
}

/* ---- Parsing. ---- */

static void
test_parse_shapes(void **state)
{
    static uint8_t buf[4096];
    uint64_t rng = 1;

    (void) state;
    for (int v6 = 0; v6 < 2; v6++) {
        for (int tcp = 0; tcp < 2; tcp++) {
            for (int vl = 0; vl <= 2; vl++) {
                for (int shape = 0; shape < 2; shape++) {
                    uint8_t proto = tcp ? 6 : 17;
                    struct pkt_offsets o;
                    struct pkt_ol_layout ly;
                    size_t len = build(buf, sizeof buf, v6, proto, vl,
                                       shape, 100, &o, &rng);

                    assert_true(len > 0);
                    memset(&ly, 0, sizeof ly);
                    assert_true(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE,
                                             &ly));
                    assert_int_equal(ly.l2, 0);
                    assert_int_equal(ly.l3, o.l3);
                    assert_int_equal(ly.l4, o.l4);
                    assert_int_equal(ly.hdr_len, o.payload);
                    assert_int_equal(ly.end, len);
                    assert_int_equal(ly.proto, proto);
                    assert_int_equal(ly.v6, v6);
                    /* Only the headers readable (a chained mbuf's first
                     * segment): the same layout; one byte less, none. */
                    {
                        struct pkt_ol_layout h;

                        memset(&h, 0, sizeof h);
                        assert_true(pkt_ol_parse(buf, o.payload, len,
                                                 PKT_OL_TNL_NONE, &h));
                        assert_memory_equal(&h, &ly, sizeof h);
                        assert_false(pkt_ol_parse(buf, o.payload - 1, len,
                                                  PKT_OL_TNL_NONE, &h));
                    }
                    /* Every truncation is refused, none read beyond. */
                    for (size_t t = 0; t < len; t++) {
                        uint8_t *copy = malloc(t ? t : 1);

                        memcpy(copy, buf, t);
                        assert_false(pkt_ol_parse(copy, t, t, PKT_OL_TNL_NONE,
                                                  &ly));
                        free(copy);
                    }
                }
            }
        }
    }
}

static void
test_parse_refusals(void **state)
{
    static uint8_t buf[4096];
    struct pkt_ol_layout ly;
    struct pkt_spec s;
    size_t len;

    (void) state;
    /* ICMP, ARP, an IPv4 fragment, an IPv6 fragment header. */
    pkt_spec_init(&s, PKT_L3_IPV4, 1);
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    pkt_spec_init(&s, PKT_L3_ARP, 0);
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    pkt_spec_init(&s, PKT_L3_IPV4, 6);
    s.ipv4.mf = true;
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    pkt_spec_init(&s, PKT_L3_IPV6, 6);
    s.ipv6.n_ext = 1;
    s.ipv6.ext[0].type = 44;
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    /* A TCP data offset below 5 or beyond the datagram. */
    pkt_spec_init(&s, PKT_L3_IPV4, 6);
    s.payload_len = 0;
    len = pkt_build(buf, sizeof buf, &s);
    buf[14 + 20 + 12] = 0x40;
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    buf[14 + 20 + 12] = 0x60;
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    /* An IPv4 total length beyond the frame; Ethernet padding is fine. */
    pkt_spec_init(&s, PKT_L3_IPV4, 17);
    s.payload_len = 4;
    len = pkt_build(buf, sizeof buf, &s);
    buf[14 + 3]++;
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE, &ly));
    buf[14 + 3]--;
    memset(buf + len, 0, 20);
    assert_true(pkt_ol_parse(buf, len + 20, len + 20, PKT_OL_TNL_NONE,
                             &ly));
    assert_int_equal(ly.end, len);
    /* Not a tunnel: a plain frame parsed as VXLAN is refused. */
    pkt_spec_init(&s, PKT_L3_IPV4, 6);
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(pkt_ol_parse(buf, len, len, PKT_OL_TNL_VXLAN, &ly));
}

static void
test_parse_tunnels(void **state)
{
    static uint8_t in[4096], out[4096 + TNL_HDR_MAX];
    uint64_t rng = 2;

    (void) state;
    for (int type = 0; type < 2; type++) {
        for (int ov6 = 0; ov6 < 2; ov6++) {
            struct pkt_offsets o;
            struct pkt_ol_layout ly;
            size_t len = build(in, sizeof in, true, 6, 1, 1, 300, &o, &rng);
            size_t tot = encap(out, in, len, type ? TNL_GENEVE : TNL_VXLAN,
                               ov6, true);
            size_t h = tot - len;

            assert_true(pkt_ol_parse(out, tot, tot, type ? PKT_OL_TNL_GENEVE
                                                    : PKT_OL_TNL_VXLAN,
                                     &ly));
            assert_int_equal(ly.outer_v6, ov6);
            assert_int_equal(ly.outer_l3, 14);
            assert_int_equal(ly.outer_l4, ov6 ? 54 : 34);
            assert_int_equal(ly.outer_end, tot);
            assert_int_equal(ly.l2, h);
            assert_int_equal(ly.l3, h + o.l3);
            assert_int_equal(ly.l4, h + o.l4);
            assert_int_equal(ly.hdr_len, h + o.payload);
            for (size_t t = 0; t < tot; t++) {
                uint8_t *copy = malloc(t ? t : 1);

                memcpy(copy, out, t);
                assert_false(pkt_ol_parse(copy, t, t, (enum pkt_ol_tunnel)
                                          ly.tunnel, &ly));
                free(copy);
            }
        }
    }
}

/* ---- Checksums. ---- */

/* What a device does with a partial checksum: sums from the L4 header to
 * the end with the field as it is, stores the complement. */
static void
device_complete(uint8_t *p, const struct pkt_ol_layout *ly)
{
    size_t off = ly->l4 + (ly->proto == 6 ? 16 : 6);
    uint32_t s = 0;
    uint16_t c;

    for (size_t i = ly->l4; i < ly->end; i += 2) {
        s += (uint32_t) p[i] << 8 | (i + 1 < ly->end ? p[i + 1] : 0);
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    c = (uint16_t) ~s;
    if (ly->proto == 17 && !c) {
        c = 0xffff;
    }
    p[off] = (uint8_t) (c >> 8);
    p[off + 1] = (uint8_t) c;
}

static void
test_csum(void **state)
{
    static uint8_t buf[BIG], out[BIG + TNL_HDR_MAX];
    uint64_t rng = 3;
    const char *why = NULL;

    (void) state;
    for (int v6 = 0; v6 < 2; v6++) {
        for (int tcp = 0; tcp < 2; tcp++) {
            for (size_t pl = 0; pl < 1500; pl += 1 + pl / 3) {
                struct pkt_offsets o;
                struct pkt_ol_layout ly;
                size_t len = build(buf, sizeof buf, v6, tcp ? 6 : 17,
                                   (int) (pl % 3), (int) (pl & 1), pl, &o,
                                   &rng);
                size_t off = o.l4 + (tcp ? 16 : 6);

                assert_true(pkt_ol_parse(buf, len, len, PKT_OL_TNL_NONE,
                                         &ly));
                /* Complete: whatever the field held. */
                buf[off] ^= 0x5a;
                buf[off + 1] = (uint8_t) test_xorshift64(&rng);
                pkt_ol_csum(buf, &ly, false);
                assert_true(pkt_check_csums(buf, len, &why));
                /* Partial, completed by a "device". */
                buf[off] ^= 0xa5;
                pkt_ol_csum_partial(buf, &ly);
                device_complete(buf, &ly);
                assert_true(pkt_check_csums(buf, len, &why));

                /* Encapsulated, with and without the outer checksum. */
                for (int oc = 0; oc < 2; oc++) {
                    size_t tot = encap(out, buf, len, TNL_VXLAN, pl & 1,
                                       oc);
                    struct pkt_ol_layout tl;

                    assert_true(pkt_ol_parse(out, tot, tot, PKT_OL_TNL_VXLAN,
                                             &tl));
                    out[tl.l4 + (tcp ? 16 : 6)] ^= 0x11;
                    pkt_ol_csum(out, &tl, oc);
                    assert_true(pkt_check_csums(out + tl.l2, len, &why));
                    if (oc || !tl.outer_v6) {
                        /* (The checker refuses IPv6's zero UDP checksum,
                         * which tunnels may send: RFC 6935.) */
                        assert_true(pkt_check_csums(out, tot, &why));
                    }
                    if (oc) {
                        assert_int_not_equal(be16_at(out + tl.outer_l4 + 6),
                                             0);
                    } else if (!(pl & 1)) {
                        assert_int_equal(be16_at(out + tl.outer_l4 + 6), 0);
                    }
                }
            }
        }
    }
}

/* ---- Segmentation. ---- */

/* Cuts the TCP packet in 'p' as a NIC would and checks every segment:
 * checksums (inner and outer), lengths, identification, sequence numbers,
 * flags, and that the payloads concatenate to the original. */
static void
check_segments(const uint8_t *p, size_t len, enum pkt_ol_tunnel tunnel,
               uint32_t mss, bool outer_csum)
{
    static uint8_t seg[BIG + TNL_HDR_MAX];
    struct pkt_ol_layout ly;
    uint32_t n, payload, seq0;
    uint16_t id0 = 0, oid0 = 0;
    const char *why = NULL;
    uint8_t flags0;

    assert_true(pkt_ol_parse(p, len, len, tunnel, &ly));
    n = pkt_ol_n_segs(&ly, mss);
    payload = ly.end - ly.hdr_len;
    assert_int_equal(n, payload ? (payload + mss - 1) / mss : 1);
    seq0 = be32_at(p + ly.l4 + 4);
    flags0 = p[ly.l4 + 13];
    if (!ly.v6) {
        id0 = be16_at(p + ly.l3 + 4);
    }
    if (tunnel != PKT_OL_TNL_NONE && !ly.outer_v6) {
        oid0 = be16_at(p + ly.outer_l3 + 4);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t start = i * mss;
        uint32_t plen = payload - start < mss ? payload - start : mss;
        const uint8_t *pl = p + ly.hdr_len + start;
        size_t slen = ly.hdr_len + plen;
        uint8_t f;

        memcpy(seg, p, ly.hdr_len);
        memcpy(seg + ly.hdr_len, pl, plen);
        pkt_ol_seg_fix(seg, &ly, i, n, mss, pl, plen, outer_csum);

        assert_true(pkt_check_csums(seg + ly.l2, slen - ly.l2, &why));
        if (outer_csum || !ly.outer_v6) {
            assert_true(pkt_check_csums(seg, slen, &why));
        }
        assert_memory_equal(seg + ly.hdr_len, pl, plen);
        assert_int_equal(be32_at(seg + ly.l4 + 4), seq0 + start);
        f = seg[ly.l4 + 13];
        assert_int_equal(f & 0x01, i + 1 == n ? flags0 & 0x01 : 0);
        assert_int_equal(f & 0x08, i + 1 == n ? flags0 & 0x08 : 0);
        assert_int_equal(f & 0x80, i == 0 ? flags0 & 0x80 : 0);
        assert_int_equal(f & 0x10, flags0 & 0x10);
        if (ly.v6) {
            assert_int_equal(be16_at(seg + ly.l3 + 4), slen - ly.l3 - 40);
        } else {
            assert_int_equal(be16_at(seg + ly.l3 + 2), slen - ly.l3);
            assert_int_equal(be16_at(seg + ly.l3 + 4),
                             (uint16_t) (id0 + i));
        }
        if (tunnel != PKT_OL_TNL_NONE) {
            assert_int_equal(be16_at(seg + ly.outer_l4 + 4),
                             slen - ly.outer_l4);
            if (outer_csum) {
                assert_int_not_equal(be16_at(seg + ly.outer_l4 + 6), 0);
            } else {
                assert_int_equal(be16_at(seg + ly.outer_l4 + 6), 0);
            }
            if (ly.outer_v6) {
                assert_int_equal(be16_at(seg + ly.outer_l3 + 4),
                                 slen - ly.outer_l3 - 40);
            } else {
                assert_int_equal(be16_at(seg + ly.outer_l3 + 2),
                                 slen - ly.outer_l3);
                assert_int_equal(be16_at(seg + ly.outer_l3 + 4),
                                 (uint16_t) (oid0 + i));
            }
        }
        /* Everything before the payload other than the fields fixed is
         * the original's: the MACs, the tags, the addresses, ports. */
        assert_memory_equal(seg, p, 12);
        assert_memory_equal(seg + ly.l4, p + ly.l4, 4);
    }
}

static void
test_segments(void **state)
{
    static uint8_t buf[BIG];
    static const uint32_t mss[] = { 1, 7, 88, 536, 1448, 8948, 9000,
                                    64000, 65000 };
    static const size_t payloads[] = { 0, 1, 1447, 1448, 1449, 9000,
                                       65000 };
    uint64_t rng = 4;

    (void) state;
    for (int v6 = 0; v6 < 2; v6++) {
        for (size_t j = 0; j < sizeof payloads / sizeof *payloads; j++) {
            for (size_t k = 0; k < sizeof mss / sizeof *mss; k++) {
                struct pkt_offsets o;
                size_t len;

                if (mss[k] < 88 && payloads[j] > 9000) {
                    continue;               /* Slow, and nothing new. */
                }
                len = build(buf, sizeof buf, v6, 6, (int) (j % 3),
                            (int) (k & 1), payloads[j], &o, &rng);
                assert_true(len > 0);
                check_segments(buf, len, PKT_OL_TNL_NONE, mss[k], false);
            }
        }
    }
}

static void
test_segments_tunnel(void **state)
{
    static uint8_t in[BIG], out[BIG + TNL_HDR_MAX];
    uint64_t rng = 5;

    (void) state;
    for (int type = 0; type < 2; type++) {
        for (int ov6 = 0; ov6 < 2; ov6++) {
            for (int v6 = 0; v6 < 2; v6++) {
                for (int oc = 0; oc < 2; oc++) {
                    struct pkt_offsets o;
                    size_t len = build(in, sizeof in, v6, 6, oc, ov6,
                                       30000 + (size_t) type * 777, &o,
                                       &rng);
                    size_t tot = encap(out, in, len,
                                       type ? TNL_GENEVE : TNL_VXLAN, ov6,
                                       oc);

                    check_segments(out, tot, type ? PKT_OL_TNL_GENEVE
                                                  : PKT_OL_TNL_VXLAN,
                                   1398, oc);
                }
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shapes),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_tunnels),
        cmocka_unit_test(test_csum),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_segments_tunnel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
