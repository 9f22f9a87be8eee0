/* SPDX-License-Identifier: BSD-3-Clause */
/* test-tnl.c: VXLAN/GENEVE parse, build and finish against independently
 * built frames; every drop reason; truncation; the UDP source port; the
 * tunnel port map against a linear-scan reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt-build.h"
#include "test-rand.h"
#include "tnl.h"

#define BUF_SIZE 1024

/* ---- Reference helpers (independent of flowtable/). ---- */

static uint16_t
be16_at(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static void
be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

/* The folded one's-complement sum of 'n' bytes plus 'acc' (not
 * complemented): a correct checksummed region sums to 0xffff. */
static uint16_t
ref_sum(const uint8_t *p, size_t n, uint32_t acc)
{
    size_t i;

    for (i = 0; i < n; i++) {
        acc += i % 2 ? p[i] : (uint32_t) p[i] << 8;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return (uint16_t) acc;
}

/* The pseudo-header's sum for the UDP datagram at 'l4' of an IP header at
 * 'l3'. */
static uint32_t
ref_pseudo(const uint8_t *l3, bool v6, size_t udp_len)
{
    uint8_t ph[40];
    size_t n;

    memset(ph, 0, sizeof ph);
    if (v6) {
        memcpy(ph, l3 + 8, 32);
        n = 32;
    } else {
        memcpy(ph, l3 + 12, 8);
        n = 8;
    }
    return ref_sum(ph, n, 17 + (uint32_t) udp_len);
}

static bool
ref_udp_ok(const uint8_t *l3, bool v6, const uint8_t *udp, size_t udp_len)
{
    return ref_sum(udp, udp_len, ref_pseudo(l3, v6, udp_len)) == 0xffff;
}

/* Parses an exactly sized heap copy, so that ASan sees any read outside. */
static enum tnl_error
parse_exact(enum tnl_type type, const uint8_t *pkt, size_t len,
            uint16_t l3_ofs, struct flow_tnl *md, size_t *hdr_len)
{
    uint8_t *copy = malloc(len ? len : 1);
    enum tnl_error err;

    assert_non_null(copy);
    if (len) {
        memcpy(copy, pkt, len);
    }
    err = tnl_parse(type, copy, len, l3_ofs, md, hdr_len);
    free(copy);
    return err;
}

static void
expect_parse(enum tnl_type type, const uint8_t *pkt, size_t len,
             uint16_t l3_ofs, enum tnl_error exp, const char *what)
{
    struct flow_tnl md;
    size_t hl;
    enum tnl_error err = parse_exact(type, pkt, len, l3_ofs, &md, &hl);

    if (err != exp) {
        fail_msg("%s: got %s, expected %s", what, tnl_error_name(err),
                 tnl_error_name(exp));
    }
}

/* ---- Test packets. ---- */

static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x0a };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 1,
                                  [15] = 0x0b };

static void
spec_init(struct tnl_spec *s, enum tnl_type type, bool v6, bool csum)
{
    memset(s, 0, sizeof *s);
    s->type = type;
    memcpy(s->eth_src, "\x02\x00\x00\x00\x01\x01", 6);
    memcpy(s->eth_dst, "\x02\x00\x00\x00\x01\x02", 6);
    s->is_ipv6 = v6;
    s->ip_src = htonl(0xc0a80001);
    s->ip_dst = htonl(0xc0a80002);
    memcpy(s->ipv6_src, v6_a, 16);
    memcpy(s->ipv6_dst, v6_b, 16);
    s->tos = 0xb9;
    s->ttl = 17;
    s->df = true;
    s->csum = csum;
    s->udp_dst = htons(type == TNL_VXLAN ? TNL_VXLAN_PORT : TNL_GENEVE_PORT);
    s->vni = 0xabcdef;
    s->oam = false;
}

/* An inner frame: IPv4/TCP with 'payload' bytes. */
static size_t
make_inner(uint8_t *buf, size_t size, size_t payload)
{
    struct pkt_spec ps;
    size_t n;

    pkt_spec_init(&ps, PKT_L3_IPV4, 6);
    ps.payload_len = payload;
    n = pkt_build(buf, size, &ps);
    assert_true(n > 0);
    return n;
}

/* tnl_build() + tnl_finish() of 'inner' into 'out'. */
static size_t
encap(const struct tnl_spec *spec, const uint8_t *inner, size_t inner_len,
      uint8_t *out, size_t size, uint16_t ip_id, uint16_t udp_src)
{
    struct tnl_layout lay;
    size_t h = tnl_build(spec, out, size);

    assert_true(h > 0);
    tnl_layout_of(spec, &lay);
    assert_int_equal(lay.hdr_len, h);
    assert_true(h + inner_len <= size);
    memcpy(out + h, inner, inner_len);
    assert_true(tnl_finish(out, h + inner_len, &lay, ip_id, udp_src));
    if (!spec->is_ipv6) {
        /* The same frame from the template's precomputed header sum. */
        uint8_t again[BUF_SIZE];

        assert_true(tnl_build(spec, again, sizeof again) == h);
        tnl_layout_set_ip_sum(&lay, again);
        assert_true(lay.has_ip_sum);
        memcpy(again + h, inner, inner_len);
        assert_true(tnl_finish(again, h + inner_len, &lay, ip_id, udp_src));
        assert_memory_equal(again, out, h + inner_len);
    }
    return h + inner_len;
}

/* The same frame from the test's packet builder: UDP with the tunnel
 * header and 'inner' as payload. */
static size_t
ref_encap(const struct tnl_spec *spec, const uint8_t *inner,
          size_t inner_len, uint8_t *out, size_t size, uint16_t ip_id,
          uint16_t udp_src)
{
    uint8_t payload[BUF_SIZE];
    struct pkt_spec ps;
    uint8_t *t = payload;

    memset(t, 0, 8);
    if (spec->type == TNL_VXLAN) {
        t[0] = 0x08;
    } else {
        t[1] = spec->oam ? 0x80 : 0;
        t[2] = 0x65;
        t[3] = 0x58;
    }
    t[4] = (uint8_t) (spec->vni >> 16);
    t[5] = (uint8_t) (spec->vni >> 8);
    t[6] = (uint8_t) spec->vni;
    memcpy(payload + 8, inner, inner_len);

    pkt_spec_init(&ps, spec->is_ipv6 ? PKT_L3_IPV6 : PKT_L3_IPV4, 17);
    memcpy(ps.dl_src, spec->eth_src, 6);
    memcpy(ps.dl_dst, spec->eth_dst, 6);
    ps.ipv4.src = ntohl(spec->ip_src);
    ps.ipv4.dst = ntohl(spec->ip_dst);
    ps.ipv4.tos = spec->tos;
    ps.ipv4.ttl = spec->ttl ? spec->ttl : 64;
    ps.ipv4.df = spec->df;
    ps.ipv4.id = ntohs(ip_id);
    memcpy(ps.ipv6.src, spec->ipv6_src, 16);
    memcpy(ps.ipv6.dst, spec->ipv6_dst, 16);
    ps.ipv6.tclass = spec->tos;
    ps.ipv6.hlimit = spec->ttl ? spec->ttl : 64;
    ps.ipv6.label = 0;
    ps.l4.src = ntohs(udp_src);
    ps.l4.dst = ntohs(spec->udp_dst);
    ps.l4.udp_csum_zero = !spec->csum;
    ps.payload = payload;
    ps.payload_len = inner_len + 8;
    return pkt_build(out, size, &ps);
}

/* The metadata tnl_parse() must report for a frame of 'spec'. */
static void
expected_md(const struct tnl_spec *spec, struct flow_tnl *md)
{
    uint16_t flags = FLOW_TNL_F_KEY;

    memset(md, 0, sizeof *md);
    md->tun_id = htobe64((uint64_t) spec->vni);
    if (spec->is_ipv6) {
        memcpy(md->ipv6_src, spec->ipv6_src, 16);
        memcpy(md->ipv6_dst, spec->ipv6_dst, 16);
    } else {
        md->ip_src = spec->ip_src;
        md->ip_dst = spec->ip_dst;
        if (spec->df) {
            flags |= FLOW_TNL_F_DONT_FRAGMENT;
        }
    }
    if (spec->csum) {
        flags |= FLOW_TNL_F_CSUM;
    }
    if (spec->oam && spec->type == TNL_GENEVE) {
        flags |= FLOW_TNL_F_OAM;
    }
    md->flags = htons(flags);
    md->tos = spec->tos;
    md->ttl = spec->ttl ? spec->ttl : 64;
}

/* A tunnel frame being mutated by a test. */
struct tpkt {
    uint8_t buf[BUF_SIZE];
    size_t len;
    size_t l3, l4, th, inner;       /* Offsets. */
    bool v6;
    enum tnl_type type;
};

static void
tpkt_make(struct tpkt *tp, enum tnl_type type, bool v6, bool csum)
{
    struct tnl_spec spec;
    uint8_t inner[256];
    size_t n = make_inner(inner, sizeof inner, 20);

    spec_init(&spec, type, v6, csum);
    tp->len = encap(&spec, inner, n, tp->buf, sizeof tp->buf, htons(7),
                    htons(40000));
    tp->l3 = 14;
    tp->l4 = v6 ? 54 : 34;
    tp->th = tp->l4 + 8;
    tp->inner = tp->th + 8;
    tp->v6 = v6;
    tp->type = type;
}

/* Recomputes the IPv4 header checksum and a nonzero UDP checksum (or any
 * UDP checksum if 'force_udp'), with the reference code. */
static void
tpkt_fix_csums(struct tpkt *tp, bool force_udp)
{
    uint8_t *ip = tp->buf + tp->l3;
    uint8_t *udp = tp->buf + tp->l4;
    size_t udp_len = tp->len - tp->l4;

    if (!tp->v6) {
        size_t ihl = (size_t) (ip[0] & 0x0f) * 4;

        be16_put(ip + 10, 0);
        be16_put(ip + 10, (uint16_t) ~ref_sum(ip, ihl, 0));
    }
    if (force_udp || be16_at(udp + 6)) {
        uint16_t c;

        be16_put(udp + 6, 0);
        c = (uint16_t) ~ref_sum(udp, udp_len, ref_pseudo(ip, tp->v6,
                                                         udp_len));
        be16_put(udp + 6, c ? c : 0xffff);
    }
}

/* Sets the IP and UDP lengths for tp->len, then the checksums. */
static void
tpkt_fix_lengths(struct tpkt *tp)
{
    uint8_t *ip = tp->buf + tp->l3;

    if (tp->v6) {
        be16_put(ip + 4, (uint16_t) (tp->len - tp->l4));
    } else {
        be16_put(ip + 2, (uint16_t) (tp->len - tp->l3));
    }
    be16_put(tp->buf + tp->l4 + 4, (uint16_t) (tp->len - tp->l4));
    tpkt_fix_csums(tp, false);
}

/* Inserts 'n' bytes of GENEVE options after the GENEVE header. */
static void
tpkt_add_opts(struct tpkt *tp, const uint8_t *opts, size_t n)
{
    uint8_t *g = tp->buf + tp->th;

    assert_true(n % 4 == 0 && n <= 252 && tp->len + n <= sizeof tp->buf);
    memmove(tp->buf + tp->inner + n, tp->buf + tp->inner,
            tp->len - tp->inner);
    memcpy(tp->buf + tp->inner, opts, n);
    tp->inner += n;
    tp->len += n;
    g[0] = (uint8_t) ((g[0] & 0xc0) | (n / 4 + (g[0] & 0x3f)));
    tpkt_fix_lengths(tp);
}

static enum tnl_error
tpkt_parse(const struct tpkt *tp, struct flow_tnl *md, size_t *hl)
{
    return parse_exact(tp->type, tp->buf, tp->len, (uint16_t) tp->l3, md,
                       hl);
}

static void
tpkt_expect(const struct tpkt *tp, enum tnl_error exp, const char *what)
{
    expect_parse(tp->type, tp->buf, tp->len, (uint16_t) tp->l3, exp, what);
}

/* ---- Tests: build, finish, parse. ---- */

static void
test_error_names(void **state)
{
    int i, j;

    (void) state;
    assert_string_equal(tnl_error_name(TNL_OK), "ok");
    assert_string_equal(tnl_error_name(TNL_ERR_TRUNCATED),
                        "tunnel_truncated");
    assert_string_equal(tnl_error_name(TNL_ERR_CRITICAL_OPT),
                        "tunnel_critical_opt");
    for (i = 0; i < TNL_N_ERRORS; i++) {
        assert_non_null(tnl_error_name(i));
        for (j = 0; j < i; j++) {
            assert_string_not_equal(tnl_error_name(i), tnl_error_name(j));
        }
    }
    assert_non_null(tnl_error_name(TNL_N_ERRORS));
}

/* Every combination: the frame equals the test builder's, its checksums
 * verify with the reference code, and tnl_parse() gives back the spec. */
static void
test_round_trip(void **state)
{
    static const uint32_t vnis[] = { 0, 1, 0x123456, 0xffffff };
    static const uint8_t ttls[] = { 0, 1, 255 };
    uint8_t inner[600];
    int combo;

    (void) state;
    for (combo = 0; combo < 2 * 2 * 2 * 2 * 2 * 4 * 3; combo++) {
        int c = combo;
        enum tnl_type type = c % 2 ? TNL_GENEVE : TNL_VXLAN;
        bool v6 = (c /= 2) % 2;
        bool csum = (c /= 2) % 2;
        bool df = (c /= 2) % 2;
        bool oam = (c /= 2) % 2;
        uint32_t vni = vnis[(c /= 2) % 4];
        uint8_t ttl = ttls[(c /= 4) % 3];
        uint8_t got[BUF_SIZE], exp[BUF_SIZE], padded[BUF_SIZE + 16];
        size_t n_inner = make_inner(inner, sizeof inner,
                                    (size_t) combo * 3 % 500);
        size_t n, n_ref, hl, i;
        struct tnl_spec spec;
        struct flow_tnl md, md_exp;
        const char *why = NULL;
        uint16_t ip_id = htons((uint16_t) (combo * 977));
        uint16_t sport = tnl_udp_src_port((uint32_t) combo * 2654435761u);
        size_t l3 = 14, l4 = v6 ? 54 : 34;

        spec_init(&spec, type, v6, csum);
        spec.df = df;
        spec.oam = oam;
        spec.vni = vni;
        spec.ttl = ttl;
        spec.tos = (uint8_t) (combo * 37);
        n = encap(&spec, inner, n_inner, got, sizeof got, ip_id, sport);
        assert_int_equal(n, l4 + 16 + n_inner);
        n_ref = ref_encap(&spec, inner, n_inner, exp, sizeof exp, ip_id,
                          sport);
        assert_int_equal(n, n_ref);
        if (v6 && !csum) {
            /* The test builder always fills IPv6 UDP checksums. */
            assert_int_equal(be16_at(got + l4 + 6), 0);
            memcpy(got + l4 + 6, exp + l4 + 6, 2);
            assert_memory_equal(got, exp, n);
            be16_put(got + l4 + 6, 0);
        } else {
            assert_memory_equal(got, exp, n);
        }

        /* Checksums with the reference code and pkt-build's checker. */
        if (!v6) {
            assert_int_equal(ref_sum(got + l3, 20, 0), 0xffff);
        }
        if (csum) {
            assert_int_not_equal(be16_at(got + l4 + 6), 0);
            assert_true(ref_udp_ok(got + l3, v6, got + l4, n - l4));
        } else {
            assert_int_equal(be16_at(got + l4 + 6), 0);
        }
        if (!v6 || csum) {
            assert_true(pkt_check_csums(got, n, &why));
        }

        /* Parse it back. */
        expected_md(&spec, &md_exp);
        memset(&md, 0x5a, sizeof md);
        assert_int_equal(parse_exact(type, got, n, 14, &md, &hl), TNL_OK);
        assert_int_equal(hl, l4 + 16);
        assert_memory_equal(&md, &md_exp, sizeof md);
        assert_memory_equal(got + hl, inner, n_inner);

        /* Ethernet padding after the IP datagram is allowed. */
        memcpy(padded, got, n);
        for (i = 0; i < 16; i++) {
            padded[n + i] = (uint8_t) (0xa0 + i);
        }
        assert_int_equal(parse_exact(type, padded, n + 16, 14, &md, &hl),
                         TNL_OK);
        assert_int_equal(hl, l4 + 16);
        assert_memory_equal(&md, &md_exp, sizeof md);

        /* A VLAN tag: the caller passes l3_ofs 18. */
        memcpy(padded, got, 12);
        be16_put(padded + 12, 0x8100);
        be16_put(padded + 14, 0x0123);
        memcpy(padded + 16, got + 12, n - 12);
        assert_int_equal(parse_exact(type, padded, n + 4, 18, &md, &hl),
                         TNL_OK);
        assert_int_equal(hl, l4 + 16 + 4);
        assert_memory_equal(&md, &md_exp, sizeof md);

        /* The other type: GENEVE's first byte lacks VXLAN's I flag;
         * VXLAN's protocol field (reserved, 0) is not 0x6558. */
        assert_int_equal(parse_exact(type == TNL_VXLAN ? TNL_GENEVE
                                                       : TNL_VXLAN,
                                     got, n, 14, &md, &hl),
                         TNL_ERR_BAD_HDR);
    }
}

/* An UDP checksum that computes to 0 goes out as 0xffff and verifies. */
static void
test_csum_ffff(void **state)
{
    int v6;

    (void) state;
    for (v6 = 0; v6 < 2; v6++) {
        struct tnl_spec spec;
        struct tnl_layout lay;
        uint8_t inner[128], pkt[BUF_SIZE];
        size_t n_inner = make_inner(inner, sizeof inner, 30), n, hl;
        size_t l4 = v6 ? 54 : 34;
        struct flow_tnl md;
        uint16_t c0;

        spec_init(&spec, TNL_VXLAN, v6, true);
        n = encap(&spec, inner, n_inner, pkt, sizeof pkt, 0, htons(50000));
        c0 = be16_at(pkt + l4 + 6);
        /* Put the checksum into a zero, even-aligned word of the inner
         * frame (TCP's ack): the sum becomes 0xffff, the checksum 0. */
        assert_int_equal(be16_at(pkt + l4 + 16 + 42), 0);
        assert_int_equal((16 + 42) % 2, 0);
        be16_put(pkt + l4 + 16 + 42, c0);
        tnl_layout_of(&spec, &lay);
        assert_true(tnl_finish(pkt, n, &lay, 0, htons(50000)));
        assert_int_equal(be16_at(pkt + l4 + 6), 0xffff);
        assert_true(ref_udp_ok(pkt + 14, v6, pkt + l4, n - l4));
        assert_int_equal(parse_exact(TNL_VXLAN, pkt, n, 14, &md, &hl),
                         TNL_OK);
        assert_int_equal(ntohs(md.flags) & FLOW_TNL_F_CSUM,
                         FLOW_TNL_F_CSUM);
    }
}

static void
test_build_invalid(void **state)
{
    struct tnl_spec spec;
    struct tnl_layout lay;
    uint8_t buf[TNL_HDR_MAX];

    (void) state;
    spec_init(&spec, TNL_VXLAN, false, false);
    assert_int_equal(tnl_build(&spec, buf, sizeof buf), 50);
    assert_int_equal(tnl_build(&spec, buf, 50), 50);
    assert_int_equal(tnl_build(&spec, buf, 49), 0);
    spec.is_ipv6 = true;
    assert_int_equal(tnl_build(&spec, buf, sizeof buf), 70);
    tnl_layout_of(&spec, &lay);
    assert_int_equal(lay.hdr_len, 70);
    assert_int_equal(lay.l3_ofs, 14);
    assert_int_equal(lay.l4_ofs, 54);
    assert_true(lay.is_ipv6);
    assert_false(lay.csum);
    spec.vni = 1u << 24;
    assert_int_equal(tnl_build(&spec, buf, sizeof buf), 0);
    spec.vni = 5;
    spec.type = TNL_NONE;
    assert_int_equal(tnl_build(&spec, buf, sizeof buf), 0);
    spec.type = (enum tnl_type) 3;
    assert_int_equal(tnl_build(&spec, buf, sizeof buf), 0);
    spec.type = TNL_GENEVE;
    spec.csum = true;
    spec.is_ipv6 = false;
    tnl_layout_of(&spec, &lay);
    assert_int_equal(lay.hdr_len, 50);
    assert_int_equal(lay.l4_ofs, 34);
    assert_true(lay.csum);
    assert_false(lay.is_ipv6);
}

/* tnl_finish()'s size limits, writing nothing when it refuses. */
static void
test_finish_limits(void **state)
{
    enum { BIG = 65535 + 54 + 1 };
    uint8_t *pkt = malloc(BIG), *copy = malloc(BIG);
    int v6;

    (void) state;
    assert_non_null(pkt);
    assert_non_null(copy);
    for (v6 = 0; v6 < 2; v6++) {
        struct tnl_spec spec;
        struct tnl_layout lay;
        size_t h, max, i;
        struct flow_tnl md;
        size_t hl;

        spec_init(&spec, TNL_GENEVE, v6, true);
        h = tnl_build(&spec, pkt, BIG);
        tnl_layout_of(&spec, &lay);
        for (i = h; i < BIG; i++) {
            pkt[i] = (uint8_t) (i * 13);
        }
        memcpy(copy, pkt, BIG);

        assert_false(tnl_finish(pkt, h + 13, &lay, 1, 2));
        assert_false(tnl_finish(pkt, 0, &lay, 1, 2));
        max = v6 ? 65535 + 54 : 65535 + 14;
        assert_false(tnl_finish(pkt, max + 1, &lay, 1, 2));
        {
            struct tnl_layout bad = lay;

            bad.l4_ofs--;
            assert_false(tnl_finish(pkt, h + 100, &bad, 1, 2));
            bad = lay;
            bad.hdr_len = (uint16_t) (bad.l4_ofs + 7);
            assert_false(tnl_finish(pkt, h + 100, &bad, 1, 2));
        }
        assert_memory_equal(pkt, copy, BIG);

        assert_true(tnl_finish(pkt, h + 14, &lay, 1, 2));
        assert_int_equal(parse_exact(TNL_GENEVE, pkt, h + 14, 14, &md, &hl),
                         TNL_OK);
        assert_true(tnl_finish(pkt, max, &lay, 1, 2));
        assert_true(ref_udp_ok(pkt + 14, v6, pkt + lay.l4_ofs,
                               max - lay.l4_ofs));
        assert_int_equal(parse_exact(TNL_GENEVE, pkt, max, 14, &md, &hl),
                         TNL_OK);
        assert_int_equal(hl, h);
    }
    free(pkt);
    free(copy);
}

/* Every prefix of a valid frame is refused, without reading past it. */
static void
test_truncation(void **state)
{
    static const uint8_t opts[] = { 0x01, 0x02, 0x03, 0x01, 1, 2, 3, 4,
                                    0xff, 0xff, 0x7f, 0x00 };
    int combo;

    (void) state;
    for (combo = 0; combo < 12; combo++) {
        enum tnl_type type = combo % 2 ? TNL_GENEVE : TNL_VXLAN;
        bool v6 = (combo / 2) % 2;
        bool csum = (combo / 4) % 2;
        bool with_opts = combo >= 8;
        struct tpkt tp;
        struct flow_tnl md;
        size_t len, hl;

        tpkt_make(&tp, with_opts ? TNL_GENEVE : type, v6, csum);
        if (with_opts) {
            tpkt_add_opts(&tp, opts, sizeof opts);
        }
        for (len = 0; len < tp.len; len++) {
            enum tnl_error err = parse_exact(tp.type, tp.buf, len, 14, &md,
                                             &hl);

            if (err == TNL_OK) {
                fail_msg("combo %d: accepted %zu of %zu bytes", combo, len,
                         tp.len);
            }
            if (len < tp.inner + 14) {
                /* Also with lengths rewritten to match the prefix: the
                 * headers themselves are then too short. */
                struct tpkt cut = tp;

                if (len >= tp.l4 + 8) {
                    cut.len = len;
                    tpkt_fix_lengths(&cut);
                    err = parse_exact(cut.type, cut.buf, len, 14, &md, &hl);
                    assert_int_equal(err, TNL_ERR_TRUNCATED);
                }
            }
        }
        assert_int_equal(tpkt_parse(&tp, &md, &hl), TNL_OK);
        assert_int_equal(hl, tp.inner);

        /* l3_ofs past the end. */
        expect_parse(tp.type, tp.buf, 14, 14, TNL_ERR_TRUNCATED, "l3 end");
        expect_parse(tp.type, tp.buf, 13, 14, TNL_ERR_TRUNCATED, "l3 past");
        expect_parse(tp.type, tp.buf, tp.len, 65535, TNL_ERR_TRUNCATED,
                     "l3 far");
    }
}

/* The inner frame must hold an Ethernet header. */
static void
test_short_inner(void **state)
{
    int combo;

    (void) state;
    for (combo = 0; combo < 4; combo++) {
        struct tpkt tp, cut;
        size_t n;

        tpkt_make(&tp, combo % 2 ? TNL_GENEVE : TNL_VXLAN, combo / 2, true);
        for (n = 0; n <= 14; n++) {
            cut = tp;
            cut.len = tp.inner + n;
            tpkt_fix_lengths(&cut);
            tpkt_expect(&cut, n < 14 ? TNL_ERR_TRUNCATED : TNL_OK,
                        "short inner");
        }
    }
}

/* Every drop reason, from a crafted frame. */
static void
test_errors_ip(void **state)
{
    int v6;

    (void) state;
    for (v6 = 0; v6 < 2; v6++) {
        struct tpkt base, tp;
        uint8_t *ip;

        tpkt_make(&base, TNL_VXLAN, v6, true);
        tpkt_expect(&base, TNL_OK, "base");

        /* IP version. */
        tp = base;
        ip = tp.buf + tp.l3;
        ip[0] = (uint8_t) (v6 ? 0x50 : 0x55);
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_IP, "version 5");
        tp = base;
        tp.buf[tp.l3] = (uint8_t) (v6 ? 0x45 : 0x65);
        /* Read as the other family: IPv4's flags byte (DF) is no UDP
         * next header; IPv6's first 20 bytes fail the IPv4 checksum. */
        tpkt_expect(&tp, v6 ? TNL_ERR_IP_CSUM : TNL_ERR_NOT_UDP,
                    "other version");
        tp = base;
        tp.buf[tp.l3] = 0;
        tpkt_expect(&tp, TNL_ERR_BAD_IP, "version 0");

        /* Not UDP. */
        tp = base;
        ip = tp.buf + tp.l3;
        ip[v6 ? 6 : 9] = 6;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_NOT_UDP, "tcp");

        /* UDP length. */
        tp = base;
        be16_put(tp.buf + tp.l4 + 4, (uint16_t) (tp.len - tp.l4 + 1));
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_UDP_LEN, "udp len + 1");
        be16_put(tp.buf + tp.l4 + 4, (uint16_t) (tp.len - tp.l4 - 1));
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_UDP_LEN, "udp len - 1");
        be16_put(tp.buf + tp.l4 + 4, 0);
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_UDP_LEN, "udp len 0");

        /* UDP checksum: wrong; 0 accepted (both families). */
        tp = base;
        tp.buf[tp.len - 1] ^= 0x40;
        tpkt_expect(&tp, TNL_ERR_UDP_CSUM, "udp csum");
        tp = base;
        be16_put(tp.buf + tp.l4 + 6,
                 (uint16_t) (be16_at(tp.buf + tp.l4 + 6) + 1));
        tpkt_expect(&tp, TNL_ERR_UDP_CSUM, "udp csum + 1");
        tp = base;
        be16_put(tp.buf + tp.l4 + 6, 0);
        tpkt_expect(&tp, TNL_OK, "udp csum 0");
        /* The pseudo-header is covered: change the source address. */
        tp = base;
        tp.buf[tp.l3 + (v6 ? 8 : 12)] ^= 1;
        if (!v6) {
            be16_put(tp.buf + tp.l3 + 10, 0);
            be16_put(tp.buf + tp.l3 + 10,
                     (uint16_t) ~ref_sum(tp.buf + tp.l3, 20, 0));
        }
        tpkt_expect(&tp, TNL_ERR_UDP_CSUM, "pseudo-header");

        /* IP lengths. */
        tp = base;
        ip = tp.buf + tp.l3;
        if (v6) {
            be16_put(ip + 4, (uint16_t) (tp.len - tp.l4 + 1));
            tpkt_expect(&tp, TNL_ERR_TRUNCATED, "payload len + 1");
            be16_put(ip + 4, (uint16_t) (tp.len - tp.l4 - 1));
            tpkt_expect(&tp, TNL_ERR_UDP_LEN, "payload len - 1");
            be16_put(ip + 4, 7);
            tpkt_expect(&tp, TNL_ERR_TRUNCATED, "payload len 7");
            be16_put(ip + 4, 0);
            tpkt_expect(&tp, TNL_ERR_TRUNCATED, "payload len 0");
        } else {
            be16_put(ip + 2, (uint16_t) (tp.len - tp.l3 + 1));
            tpkt_fix_csums(&tp, false);
            tpkt_expect(&tp, TNL_ERR_TRUNCATED, "total len + 1");
            be16_put(ip + 2, (uint16_t) (tp.len - tp.l3 - 1));
            tpkt_fix_csums(&tp, false);
            tpkt_expect(&tp, TNL_ERR_UDP_LEN, "total len - 1");
            be16_put(ip + 2, 19);
            tpkt_fix_csums(&tp, false);
            tpkt_expect(&tp, TNL_ERR_BAD_IP, "total len < ihl");
            be16_put(ip + 2, 27);
            tpkt_fix_csums(&tp, false);
            tpkt_expect(&tp, TNL_ERR_TRUNCATED, "no room for udp");
        }

        if (v6) {
            /* Extension headers: refused as not UDP. */
            struct pkt_spec ps;
            uint8_t pkt[256];
            size_t n;

            pkt_spec_init(&ps, PKT_L3_IPV6, 17);
            ps.l4.dst = TNL_VXLAN_PORT;
            ps.ipv6.n_ext = 1;
            ps.ipv6.ext[0].type = 60;
            ps.payload_len = 40;
            n = pkt_build(pkt, sizeof pkt, &ps);
            assert_true(n > 0);
            expect_parse(TNL_VXLAN, pkt, n, 14, TNL_ERR_NOT_UDP, "dstopt");
            ps.ipv6.ext[0].type = 44;
            n = pkt_build(pkt, sizeof pkt, &ps);
            expect_parse(TNL_VXLAN, pkt, n, 14, TNL_ERR_NOT_UDP, "frag6");
            continue;
        }

        /* IPv4 only: header checksum, IHL, options, fragments. */
        tp = base;
        tp.buf[tp.l3 + 10] ^= 0x01;
        tpkt_expect(&tp, TNL_ERR_IP_CSUM, "ip csum");
        tp = base;
        tp.buf[tp.l3 + 8] = 3;                  /* TTL, checksum stale */
        tpkt_expect(&tp, TNL_ERR_IP_CSUM, "ip csum ttl");

        tp = base;
        tp.buf[tp.l3] = 0x44;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_IP, "ihl 4");
        tp = base;
        tp.buf[tp.l3] = 0x40;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_IP, "ihl 0");
        tp = base;
        tp.buf[tp.l3] = 0x4f;           /* 60 bytes: over UDP, checksum */
        tpkt_fix_csums(&tp, false);     /* covers the "options" */
        tpkt_expect(&tp, TNL_ERR_UDP_LEN, "ihl 15");
        tp = base;
        tp.buf[tp.l3] = 0x4f;
        tpkt_fix_csums(&tp, false);
        expect_parse(TNL_VXLAN, tp.buf, tp.l3 + 59, 14, TNL_ERR_TRUNCATED,
                     "ihl past end");

        tp = base;
        ip = tp.buf + tp.l3;
        be16_put(ip + 6, 0x2000);               /* MF */
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_FRAGMENT, "mf");
        be16_put(ip + 6, 0x4001);               /* DF, offset 8 */
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_FRAGMENT, "offset");
        be16_put(ip + 6, 0x1fff);
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_FRAGMENT, "offset max");
        be16_put(ip + 6, 0x8000);               /* reserved bit only */
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_OK, "reserved flag");

        /* An IPv4 header with options is accepted. */
        {
            struct tpkt o = base;
            struct flow_tnl md;
            size_t hl;

            memmove(o.buf + o.l4 + 8, o.buf + o.l4, o.len - o.l4);
            memset(o.buf + o.l4, 1, 8);
            o.buf[o.l3] = 0x47;
            o.l4 += 8;
            o.th += 8;
            o.inner += 8;
            o.len += 8;
            tpkt_fix_lengths(&o);
            assert_int_equal(tpkt_parse(&o, &md, &hl), TNL_OK);
            assert_int_equal(hl, o.inner);
        }
    }
}

static void
test_errors_tunnel(void **state)
{
    int v6;

    (void) state;
    for (v6 = 0; v6 < 2; v6++) {
        struct tpkt vx, gn, tp;
        uint8_t opts[256];
        struct flow_tnl md, md0;
        size_t hl, i;

        tpkt_make(&vx, TNL_VXLAN, v6, true);
        tpkt_make(&gn, TNL_GENEVE, v6, true);
        assert_int_equal(tpkt_parse(&gn, &md0, &hl), TNL_OK);

        /* VXLAN: I flag required, other bits and reserved ignored. */
        tp = vx;
        tp.buf[tp.th] = 0x00;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "vxlan no I");
        tp.buf[tp.th] = 0xf7;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "vxlan all but I");
        tp.buf[tp.th] = 0xff;
        tp.buf[tp.th + 1] = 0xff;
        tp.buf[tp.th + 7] = 0xff;
        tpkt_fix_csums(&tp, false);
        assert_int_equal(tpkt_parse(&tp, &md, &hl), TNL_OK);
        assert_int_equal(be64toh(md.tun_id), 0xabcdef);

        /* GENEVE: version, protocol. */
        tp = gn;
        tp.buf[tp.th] = 0x40;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "geneve version 1");
        tp.buf[tp.th] = 0xc0;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "geneve version 3");
        tp = gn;
        be16_put(tp.buf + tp.th + 2, 0x0800);
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "geneve proto");

        /* GENEVE O bit and the reserved bits. */
        tp = gn;
        tp.buf[tp.th + 1] = 0x80 | 0x3f;
        tp.buf[tp.th + 7] = 0xff;
        tpkt_fix_csums(&tp, false);
        assert_int_equal(tpkt_parse(&tp, &md, &hl), TNL_OK);
        assert_int_equal(ntohs(md.flags),
                         ntohs(md0.flags) | FLOW_TNL_F_OAM);

        /* Options: skipped, up to the maximum. */
        for (i = 0; i < sizeof opts; i++) {
            opts[i] = (uint8_t) (i * 11);
        }
        for (i = 4; i <= TNL_GENEVE_OPT_MAX + 8; i += 4) {
            size_t o;

            /* Options of 4 + 4k bytes, non-critical, filling 'i'. */
            for (o = 0; o < i;) {
                size_t data = (i - o - 4) / 4 > 3 ? 3 : (i - o - 4) / 4;

                be16_put(opts + o, (uint16_t) (0x0100 + o));
                opts[o + 2] = (uint8_t) (o & 0x7f);
                opts[o + 3] = (uint8_t) data;
                o += 4 + data * 4;
            }
            tp = gn;
            tpkt_add_opts(&tp, opts, i);
            if (i > TNL_GENEVE_OPT_MAX) {
                tpkt_expect(&tp, TNL_ERR_BAD_HDR, "options too long");
                continue;
            }
            memset(&md, 0xa5, sizeof md);
            assert_int_equal(tpkt_parse(&tp, &md, &hl), TNL_OK);
            assert_int_equal(hl, tp.inner);
            assert_memory_equal(&md, &md0, sizeof md);
        }

        /* The longest option length (63 words) is refused. */
        tp = gn;
        tp.buf[tp.th] |= 0x3f;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "opt len 63");

        /* Options longer than the rest of the UDP payload. */
        tp = gn;
        tp.len = tp.inner + 14;
        tpkt_fix_lengths(&tp);
        tp.buf[tp.th] |= 4;             /* 16 bytes > 14 available */
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_TRUNCATED, "options past the end");

        /* An option overrunning the options area. */
        memset(opts, 0, sizeof opts);
        be16_put(opts, 0x0102);
        opts[2] = 0x01;
        opts[3] = 2;                    /* 12 bytes in an 8-byte area */
        tp = gn;
        tpkt_add_opts(&tp, opts, 8);
        tpkt_expect(&tp, TNL_ERR_BAD_HDR, "option overrun");

        /* A critical option, first or after a normal one. */
        memset(opts, 0, sizeof opts);
        be16_put(opts, 0x0102);
        opts[2] = 0x80;
        opts[3] = 1;
        tp = gn;
        tpkt_add_opts(&tp, opts, 8);
        tpkt_expect(&tp, TNL_ERR_CRITICAL_OPT, "critical option");
        memset(opts, 0, sizeof opts);
        opts[2] = 0x05;
        opts[3] = 0;
        opts[6] = 0xff;                 /* type 0xff: critical */
        opts[7] = 0;
        tp = gn;
        tpkt_add_opts(&tp, opts, 8);
        tpkt_expect(&tp, TNL_ERR_CRITICAL_OPT, "second option critical");
        /* The header's C bit alone. */
        tp = gn;
        tp.buf[tp.th + 1] = 0x40;
        tpkt_fix_csums(&tp, false);
        tpkt_expect(&tp, TNL_ERR_CRITICAL_OPT, "C bit");

        /* Tunnel header truncated inside the UDP datagram. */
        for (i = 0; i < 8; i++) {
            tp = i % 2 ? gn : vx;
            tp.len = tp.th + i;
            tpkt_fix_lengths(&tp);
            tpkt_expect(&tp, TNL_ERR_TRUNCATED, "short tunnel header");
        }

        /* An unknown type. */
        expect_parse(TNL_NONE, vx.buf, vx.len, 14, TNL_ERR_BAD_HDR, "none");
    }
}

/* Random corruption of valid frames: never out of bounds, and whatever is
 * accepted is consistent. */
static void
test_random_corruption(void **state)
{
    uint32_t seed = 12345;
    int iter;

    (void) state;
    for (iter = 0; iter < 20000; iter++) {
        struct tpkt tp;
        struct flow_tnl md;
        size_t hl, len;
        int k, n = 1 + (int) (test_xorshift32(&seed) % 4);

        tpkt_make(&tp, iter % 2 ? TNL_GENEVE : TNL_VXLAN, (iter / 2) % 2,
                  (iter / 4) % 2);
        for (k = 0; k < n; k++) {
            size_t at = test_xorshift32(&seed) % (tp.inner + 2);

            tp.buf[at] = (uint8_t) test_xorshift32(&seed);
        }
        if (iter % 3 == 0) {
            tpkt_fix_csums(&tp, false);
        }
        len = iter % 5 ? tp.len : test_xorshift32(&seed) % (tp.len + 1);
        if (parse_exact(tp.type, tp.buf, len, 14, &md, &hl) == TNL_OK) {
            assert_true(hl + 14 <= len);
            assert_true(hl >= 14 + 20 + 8 + 8);
            assert_int_equal(md.pad[0] | md.pad[1] | md.pad[2], 0);
            assert_int_equal(md.md_present, 0);
            assert_true(be64toh(md.tun_id) < (1u << 24));
            assert_true(ntohs(md.flags) & FLOW_TNL_F_KEY);
        }
    }
}

/* ---- UDP source port. ---- */

static void
test_udp_src_port(void **state)
{
    enum { LO = 32768, HI = 60999, N_RANGE = HI - LO + 1, BUCKETS = 64 };
    static uint8_t seen[N_RANGE];
    uint32_t counts[BUCKETS];
    uint32_t seed = 99, i;
    unsigned int distinct = 0, min = 65535, max = 0;
    int b, pass;

    (void) state;
    assert_int_equal(ntohs(tnl_udp_src_port(0)) >= LO, 1);
    assert_true(ntohs(tnl_udp_src_port(UINT32_MAX)) <= HI);

    for (i = 0; i < 4000000; i++) {
        unsigned int p = ntohs(tnl_udp_src_port(test_xorshift32(&seed)));

        assert_true(p >= LO && p <= HI);
        min = p < min ? p : min;
        max = p > max ? p : max;
    }
    assert_int_equal(min, LO);
    assert_int_equal(max, HI);

    /* Spread: for sequential hashes (low bits vary), for hashes that
     * differ only in their high bits, and for random ones. */
    for (pass = 0; pass < 3; pass++) {
        const uint32_t n = 1u << 20;
        double exp = (double) n / BUCKETS;

        memset(counts, 0, sizeof counts);
        for (i = 0; i < n; i++) {
            uint32_t h = pass == 0 ? i : pass == 1 ? i << 12
                                                   : test_xorshift32(&seed);
            unsigned int p = ntohs(tnl_udp_src_port(h));

            counts[(uint64_t) (p - LO) * BUCKETS / N_RANGE]++;
        }
        for (b = 0; b < BUCKETS; b++) {
            assert_true(counts[b] > exp * 0.95 && counts[b] < exp * 1.05);
        }
    }

    /* 65536 consecutive hashes reach most ports. */
    memset(seen, 0, sizeof seen);
    for (i = 0; i < 65536; i++) {
        unsigned int p = ntohs(tnl_udp_src_port(i));

        if (!seen[p - LO]) {
            seen[p - LO] = 1;
            distinct++;
        }
    }
    /* Expected 28232 * (1 - e^-2.32) ~ 25500. */
    assert_true(distinct > 25000);
}

/* ---- Tunnel port map. ---- */

/* Reference: do 'a' and 'b' match the same packets equally? */
static bool
ref_same(const struct tnl_map_entry *a, const struct tnl_map_entry *b)
{
    size_t alen = a->is_ipv6 ? 16 : 4;

    return a->type == b->type && a->udp_port == b->udp_port
           && a->is_ipv6 == b->is_ipv6 && a->remote_any == b->remote_any
           && a->local_any == b->local_any && a->key_any == b->key_any
           && (a->remote_any || !memcmp(a->remote, b->remote, alen))
           && (a->local_any || !memcmp(a->local, b->local, alen))
           && (a->key_any || a->key == b->key);
}

/* Reference lookup: the matching entry with the best (remote exact, key
 * exact, local exact) score, by linear scan. */
static uint32_t
ref_lookup(const struct tnl_map_entry *es, size_t n, enum tnl_type type,
           uint16_t udp_port, const struct flow_tnl *md)
{
    bool v6 = !md->ip_src && !md->ip_dst;
    const uint8_t *src = v6 ? md->ipv6_src : (const uint8_t *) &md->ip_src;
    const uint8_t *dst = v6 ? md->ipv6_dst : (const uint8_t *) &md->ip_dst;
    uint64_t vni = be64toh(md->tun_id);
    int best = -1, n_best = 0;
    uint32_t port = UINT32_MAX;
    size_t i;

    for (i = 0; i < n; i++) {
        const struct tnl_map_entry *e = &es[i];
        size_t alen = v6 ? 16 : 4;
        int score;

        if (e->type != type || e->udp_port != udp_port || e->is_ipv6 != v6
            || (!e->remote_any && memcmp(e->remote, src, alen))
            || (!e->local_any && memcmp(e->local, dst, alen))
            || (!e->key_any && e->key != vni)) {
            continue;
        }
        score = (e->remote_any ? 0 : 4) + (e->key_any ? 0 : 2)
                + (e->local_any ? 0 : 1);
        if (score > best) {
            best = score;
            n_best = 1;
            port = e->port_no;
        } else if (score == best) {
            n_best++;
        }
    }
    assert_true(n_best <= 1);       /* Duplicates were refused. */
    return port;
}

static bool
ref_has_port(const struct tnl_map_entry *es, size_t n, enum tnl_type type,
             uint16_t udp_port)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (es[i].type == type && es[i].udp_port == udp_port) {
            return true;
        }
    }
    return false;
}

static void
entry_v4(struct tnl_map_entry *e, enum tnl_type type, uint32_t remote,
         uint32_t local, uint32_t key, uint32_t port_no)
{
    memset(e, 0, sizeof *e);
    e->type = type;
    e->udp_port = htons(type == TNL_VXLAN ? TNL_VXLAN_PORT
                                          : TNL_GENEVE_PORT);
    e->remote_any = !remote;
    e->local_any = !local;
    e->key_any = key == UINT32_MAX;
    remote = htonl(remote);
    local = htonl(local);
    memcpy(e->remote, &remote, 4);
    memcpy(e->local, &local, 4);
    e->key = key == UINT32_MAX ? 0 : key;
    e->port_no = port_no;
}

static void
md_v4(struct flow_tnl *md, uint32_t src, uint32_t dst, uint32_t vni)
{
    memset(md, 0, sizeof *md);
    md->ip_src = htonl(src);
    md->ip_dst = htonl(dst);
    md->tun_id = htobe64((uint64_t) vni);
    md->flags = htons(FLOW_TNL_F_KEY);
}

#define ANY_KEY UINT32_MAX
#define R1 0x0a000001u
#define R2 0x0a000002u
#define L1 0x0a0000feu

static void
test_map_precedence(void **state)
{
    const uint16_t vx = htons(TNL_VXLAN_PORT);
    struct tnl_map_entry es[8];
    struct tnl_map *map;
    struct flow_tnl md;
    int err = -1;

    (void) state;
    /* remote exact (everything else any) beats key and local exact. */
    entry_v4(&es[0], TNL_VXLAN, R1, 0, ANY_KEY, 1);
    entry_v4(&es[1], TNL_VXLAN, 0, L1, 5, 2);
    /* key exact beats local exact. */
    entry_v4(&es[2], TNL_VXLAN, R2, 0, 5, 3);
    entry_v4(&es[3], TNL_VXLAN, R2, L1, ANY_KEY, 4);
    /* Fully flow-based. */
    entry_v4(&es[4], TNL_VXLAN, 0, 0, ANY_KEY, 5);
    map = tnl_map_create(es, 5, &err);
    assert_non_null(map);
    assert_int_equal(err, 0);

    md_v4(&md, R1, L1, 5);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 1);
    md_v4(&md, 0x0a000003, L1, 5);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 2);
    md_v4(&md, R2, L1, 5);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 3);
    md_v4(&md, R2, L1, 6);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 4);
    md_v4(&md, R2, 0x0a0000fd, 6);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 5);
    md_v4(&md, 0x0a000003, 0x0a0000fd, 6);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 5);
    /* Type, port and family must match. */
    assert_int_equal(tnl_map_lookup(map, TNL_GENEVE, vx, &md), UINT32_MAX);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, htons(4790), &md),
                     UINT32_MAX);
    memset(&md, 0, sizeof md);
    md.ipv6_src[15] = 1;
    md.ipv6_dst[15] = 2;
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), UINT32_MAX);
    /* A tun_id beyond 32 bits never matches an exact key. */
    md_v4(&md, 0x0a000003, L1, 5);
    md.tun_id = htobe64((1ull << 32) | 5);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 5);

    assert_true(tnl_map_has_port(map, TNL_VXLAN, vx));
    assert_false(tnl_map_has_port(map, TNL_GENEVE, vx));
    assert_false(tnl_map_has_port(map, TNL_VXLAN, htons(6081)));
    tnl_map_destroy(map);

    /* Local exact beats local any, all else equal. */
    entry_v4(&es[0], TNL_GENEVE, R1, 0, 9, 10);
    entry_v4(&es[1], TNL_GENEVE, R1, L1, 9, 11);
    map = tnl_map_create(es, 2, NULL);
    assert_non_null(map);
    md_v4(&md, R1, L1, 9);
    assert_int_equal(tnl_map_lookup(map, TNL_GENEVE, htons(6081), &md), 11);
    md_v4(&md, R1, L1 + 1, 9);
    assert_int_equal(tnl_map_lookup(map, TNL_GENEVE, htons(6081), &md), 10);
    tnl_map_destroy(map);

    /* IPv6 entries. */
    memset(&es[0], 0, sizeof es[0]);
    es[0].type = TNL_VXLAN;
    es[0].udp_port = vx;
    es[0].is_ipv6 = true;
    memcpy(es[0].remote, v6_a, 16);
    es[0].local_any = true;
    es[0].key_any = true;
    es[0].port_no = 20;
    es[1] = es[0];
    es[1].remote_any = true;
    es[1].port_no = 21;
    map = tnl_map_create(es, 2, NULL);
    assert_non_null(map);
    memset(&md, 0, sizeof md);
    memcpy(md.ipv6_src, v6_a, 16);
    memcpy(md.ipv6_dst, v6_b, 16);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 20);
    md.ipv6_src[3] ^= 1;
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), 21);
    md_v4(&md, R1, L1, 1);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), UINT32_MAX);
    tnl_map_destroy(map);

    /* Empty map; NULL destroy. */
    map = tnl_map_create(NULL, 0, &err);
    assert_non_null(map);
    assert_int_equal(err, 0);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, vx, &md), UINT32_MAX);
    assert_false(tnl_map_has_port(map, TNL_VXLAN, vx));
    tnl_map_destroy(map);
    tnl_map_destroy(NULL);
}

static void
test_map_duplicates(void **state)
{
    struct tnl_map_entry es[3];
    struct tnl_map *map;
    int err = 0;

    (void) state;
    /* Exact duplicates, different port_no. */
    entry_v4(&es[0], TNL_VXLAN, R1, L1, 5, 1);
    entry_v4(&es[1], TNL_VXLAN, R2, L1, 5, 2);
    es[2] = es[0];
    es[2].port_no = 3;
    assert_null(tnl_map_create(es, 3, &err));
    assert_int_equal(err, EEXIST);
    assert_null(tnl_map_create(es, 3, NULL));

    /* Differences in ignored bytes do not make entries distinct: "any"
     * fields' values and an IPv4 address's bytes 4..15. */
    entry_v4(&es[0], TNL_VXLAN, 0, 0, ANY_KEY, 1);
    es[1] = es[0];
    es[1].remote[0] = 9;
    es[1].local[5] = 9;
    es[1].key = 77;
    es[1].port_no = 2;
    err = 0;
    assert_null(tnl_map_create(es, 2, &err));
    assert_int_equal(err, EEXIST);
    entry_v4(&es[0], TNL_VXLAN, R1, L1, 5, 1);
    es[1] = es[0];
    es[1].remote[4] = 1;
    es[1].local[15] = 1;
    es[1].port_no = 2;
    err = 0;
    assert_null(tnl_map_create(es, 2, &err));
    assert_int_equal(err, EEXIST);

    /* Distinct: an "any" flag, the family, the type, the UDP port. */
    entry_v4(&es[0], TNL_VXLAN, R1, L1, 5, 1);
    es[1] = es[0];
    es[1].local_any = true;
    es[1].port_no = 2;
    map = tnl_map_create(es, 2, &err);
    assert_non_null(map);
    tnl_map_destroy(map);
    es[1] = es[0];
    es[1].is_ipv6 = true;
    map = tnl_map_create(es, 2, &err);
    assert_non_null(map);
    tnl_map_destroy(map);
    es[1] = es[0];
    es[1].type = TNL_GENEVE;
    map = tnl_map_create(es, 2, &err);
    assert_non_null(map);
    tnl_map_destroy(map);
    es[1] = es[0];
    es[1].udp_port = htons(4790);
    map = tnl_map_create(es, 2, &err);
    assert_non_null(map);
    assert_true(tnl_map_has_port(map, TNL_VXLAN, htons(4790)));
    assert_true(tnl_map_has_port(map, TNL_VXLAN, htons(4789)));
    tnl_map_destroy(map);
}

/* A random entry from small pools, so that entries overlap. */
static void
rand_entry(struct tnl_map_entry *e, uint32_t *seed, uint32_t port_no)
{
    uint32_t r = test_xorshift32(seed);
    size_t i;

    memset(e, 0, sizeof *e);
    /* Garbage in the ignored bytes. */
    for (i = 0; i < 16; i++) {
        e->remote[i] = (uint8_t) test_xorshift32(seed);
        e->local[i] = (uint8_t) test_xorshift32(seed);
    }
    e->type = r & 1 ? TNL_GENEVE : TNL_VXLAN;
    e->udp_port = htons((r >> 1) & 1 ? 4789 : 6081);
    e->is_ipv6 = (r >> 2) % 4 == 0;
    e->remote_any = (r >> 4) % 3 == 0;
    e->local_any = (r >> 6) % 2 == 0;
    e->key_any = (r >> 7) % 3 == 0;
    /* Addresses 10.0.0.x / 2001:db8::x with x in a small pool. */
    if (e->is_ipv6) {
        memcpy(e->remote, v6_a, 15);
        memcpy(e->local, v6_a, 15);
    } else {
        memcpy(e->remote, "\x0a\x00\x00", 3);
        memcpy(e->local, "\x0a\x00\x00", 3);
    }
    e->remote[e->is_ipv6 ? 15 : 3] = (uint8_t) (1 + (r >> 9) % 8);
    e->local[e->is_ipv6 ? 15 : 3] = (uint8_t) (200 + (r >> 12) % 3);
    e->key = e->key_any ? test_xorshift32(seed) : (r >> 14) % 6;
    e->port_no = port_no;
}

static void
rand_md(struct flow_tnl *md, uint32_t *seed)
{
    uint32_t r = test_xorshift32(seed);
    bool v6 = r % 4 == 0;

    memset(md, 0, sizeof *md);
    if (v6) {
        memcpy(md->ipv6_src, v6_a, 16);
        memcpy(md->ipv6_dst, v6_a, 16);
        md->ipv6_src[15] = (uint8_t) (1 + (r >> 2) % 9);
        md->ipv6_dst[15] = (uint8_t) (200 + (r >> 6) % 4);
    } else {
        md->ip_src = htonl(0x0a000000 | (1 + (r >> 2) % 9));
        md->ip_dst = htonl(0x0a000000 | (200 + (r >> 6) % 4));
    }
    md->tun_id = htobe64((uint64_t) ((r >> 8) % 7));
    md->flags = htons(FLOW_TNL_F_KEY);
}

static void
test_map_random(void **state)
{
    enum { MAX_N = 400 };
    struct tnl_map_entry *es = calloc(MAX_N + 1, sizeof *es);
    uint32_t seed = 2024;
    int round, hits = 0, misses = 0;

    (void) state;
    assert_non_null(es);
    for (round = 0; round < 60; round++) {
        size_t want = (size_t) (round * 7) % MAX_N + 1, n = 0, tries = 0;
        struct tnl_map *map;
        int q, err;

        /* Distinct random entries (the pools allow 2016 keys). */
        while (n < want && tries++ < 20 * MAX_N) {
            size_t i;

            rand_entry(&es[n], &seed, (uint32_t) (n * 3 + 1));
            for (i = 0; i < n && !ref_same(&es[i], &es[n]); i++) {
                continue;
            }
            if (i == n) {
                n++;
            }
        }
        err = -1;
        map = tnl_map_create(es, n, &err);
        assert_non_null(map);
        assert_int_equal(err, 0);

        for (q = 0; q < 2000; q++) {
            enum tnl_type type = q & 1 ? TNL_GENEVE : TNL_VXLAN;
            uint16_t port = htons(q & 2 ? 4789 : q & 4 ? 6081 : 4790);
            struct flow_tnl md;
            uint32_t got, exp;

            rand_md(&md, &seed);
            got = tnl_map_lookup(map, type, port, &md);
            exp = ref_lookup(es, n, type, port, &md);
            if (got != exp) {
                fail_msg("round %d query %d: got %u expected %u", round, q,
                         got, exp);
            }
            if (got == UINT32_MAX) {
                misses++;
            } else {
                hits++;
            }
            if (q < 8) {
                assert_int_equal(tnl_map_has_port(map, type, port),
                                 ref_has_port(es, n, type, port));
            }
        }
        tnl_map_destroy(map);

        /* Adding a duplicate of any entry (other port_no, garbage in the
         * ignored bytes) is refused. */
        if (n > 0) {
            size_t d = test_xorshift32(&seed) % n, i;

            es[n] = es[d];
            es[n].port_no = 9999;
            if (es[n].remote_any) {
                es[n].remote[0] ^= 0xff;
            }
            if (es[n].key_any) {
                es[n].key ^= 0x1234;
            }
            if (!es[n].is_ipv6) {
                es[n].local[9] ^= 0xff;
            }
            assert_true(ref_same(&es[n], &es[d]));
            err = 0;
            assert_null(tnl_map_create(es, n + 1, &err));
            assert_int_equal(err, EEXIST);
            /* Also when it comes first. */
            for (i = n; i > 0; i--) {
                struct tnl_map_entry t = es[i];

                es[i] = es[i - 1];
                es[i - 1] = t;
            }
            err = 0;
            assert_null(tnl_map_create(es, n + 1, &err));
            assert_int_equal(err, EEXIST);
        }
    }
    /* Both outcomes were exercised plenty. */
    assert_true(hits > 10000);
    assert_true(misses > 10000);
    free(es);
}

/* Parse then look up: the datapath's receive path in miniature. */

/* GENEVE options by a TLV map: tnl_geneve_opts() lays out the present
 * slots, tnl_build() sends them (C bit when one is critical), and
 * tnl_parse_tlv() gives them back; unmapped options are skipped, an
 * unmapped critical one or a length other than the map's is refused or
 * ignored as RFC 8926 says; without a map the metadata stays empty. */
static void
test_geneve_tlv(void **state)
{
    struct tnl_tlv_map map = {
        .n = 3,
        .tlv = {
            { .opt_class = 0xffff, .type = 0x00, .len = 4, .slot = 0 },
            { .opt_class = 0x0102, .type = 0x80, .len = 8, .slot = 5 },
            { .opt_class = 0x0103, .type = 0x01, .len = 4, .slot = 2 },
        },
    };
    struct flow_tnl md, got;
    uint8_t opts[TNL_GENEVE_OPT_MAX], inner[256], pkt[BUF_SIZE];
    struct tnl_spec spec;
    size_t n_opts, n, hl, inner_len = make_inner(inner, sizeof inner, 20);

    (void) state;
    for (int v6 = 0; v6 < 2; v6++) {
        memset(&md, 0, sizeof md);
        md.metadata[0] = htobe64(0x1234abcd);
        md.metadata[5] = htobe64(0x0102030405060708ULL);
        md.metadata[2] = htobe64(0x99);       /* not present: not sent */
        md.md_present = 1u << 0 | 1u << 5;
        n_opts = tnl_geneve_opts(&map, &md, opts, sizeof opts);
        assert_int_equal(n_opts, 8 + 12);

        spec_init(&spec, TNL_GENEVE, v6, v6);
        spec.opts = opts;
        spec.opts_len = n_opts;
        n = encap(&spec, inner, inner_len, pkt, sizeof pkt, 1, 2);
        hl = n - inner_len;
        /* Options length in words, C bit (slot 5's type is critical). */
        assert_int_equal(pkt[hl - 8 - n_opts], n_opts / 4);
        assert_true(pkt[hl - 8 - n_opts + 1] & 0x40);

        assert_int_equal(tnl_parse_tlv(TNL_GENEVE, pkt, n, 14, &map, &got,
                                       &hl), TNL_OK);
        assert_int_equal(hl, n - inner_len);
        assert_int_equal(got.md_present, md.md_present);
        assert_true(got.metadata[0] == md.metadata[0]);
        assert_true(got.metadata[5] == md.metadata[5]);
        assert_true(got.metadata[2] == 0);

        /* Without the map: the critical option is not understood. */
        assert_int_equal(tnl_parse(TNL_GENEVE, pkt, n, 14, &got, &hl),
                         TNL_ERR_CRITICAL_OPT);

        /* A map without the critical option refuses it too; one without
         * the plain option only skips that. */
        struct tnl_tlv_map part = map;

        part.n = 1;
        assert_int_equal(tnl_parse_tlv(TNL_GENEVE, pkt, n, 14, &part, &got,
                                       &hl), TNL_ERR_CRITICAL_OPT);
        part.tlv[0] = map.tlv[1];
        assert_int_equal(tnl_parse_tlv(TNL_GENEVE, pkt, n, 14, &part, &got,
                                       &hl), TNL_OK);
        assert_int_equal(got.md_present, 1u << 5);
        assert_int_equal(got.metadata[0], 0);

        /* The map's length differs from the option's: not that field (a
         * plain option is skipped). */
        part = map;
        part.tlv[0].len = 8;
        assert_int_equal(tnl_parse_tlv(TNL_GENEVE, pkt, n, 14, &part, &got,
                                       &hl), TNL_OK);
        assert_int_equal(got.md_present, 1u << 5);
    }

    /* Malformed options are refused by tnl_build(). */
    spec_init(&spec, TNL_GENEVE, false, false);
    spec.opts = opts;
    spec.opts_len = 6;
    assert_int_equal(tnl_build(&spec, pkt, sizeof pkt), 0);
    spec.opts_len = TNL_GENEVE_OPT_MAX + 4;
    assert_int_equal(tnl_build(&spec, pkt, sizeof pkt), 0);
}

static void
test_parse_then_lookup(void **state)
{
    struct tnl_map_entry es[2];
    struct tnl_map *map;
    struct tpkt tp;
    struct flow_tnl md;
    size_t hl;

    (void) state;
    entry_v4(&es[0], TNL_VXLAN, 0xc0a80001, 0xc0a80002, 0xabcdef, 7);
    entry_v4(&es[1], TNL_VXLAN, 0, 0, ANY_KEY, 8);
    map = tnl_map_create(es, 2, NULL);
    assert_non_null(map);
    tpkt_make(&tp, TNL_VXLAN, false, true);
    assert_int_equal(tpkt_parse(&tp, &md, &hl), TNL_OK);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, htons(4789), &md), 7);
    tp.buf[tp.th + 6] ^= 1;
    tpkt_fix_csums(&tp, false);
    assert_int_equal(tpkt_parse(&tp, &md, &hl), TNL_OK);
    assert_int_equal(tnl_map_lookup(map, TNL_VXLAN, htons(4789), &md), 8);
    tnl_map_destroy(map);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_csum_ffff),
        cmocka_unit_test(test_build_invalid),
        cmocka_unit_test(test_finish_limits),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_short_inner),
        cmocka_unit_test(test_errors_ip),
        cmocka_unit_test(test_errors_tunnel),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_udp_src_port),
        cmocka_unit_test(test_map_precedence),
        cmocka_unit_test(test_map_duplicates),
        cmocka_unit_test(test_map_random),
        cmocka_unit_test(test_parse_then_lookup),
        cmocka_unit_test(test_geneve_tlv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
