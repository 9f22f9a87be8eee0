/* SPDX-License-Identifier: BSD-3-Clause */
/* test-hkey.c: the header key against flow_extract(), and the header-key
 * cache against a linear reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "hkc.h"
#include "hkey.h"
#include "pkt-build.h"
#include "test-rand.h"

static uint32_t rng = 12345;

static uint32_t
rnd(void)
{
    return test_xorshift32(&rng);
}

/* Written only by hkey_to_flow_sparse(), from every key check_contract()
 * sees: its other words must stay zero, as in the datapath's. */
static struct flow sparse;

/* The contract: when hkey_extract() accepts a frame, flow_extract() gives
 * exactly hkey_to_flow() of its key, and hkey_to_flow_sparse() into a
 * flow only it writes gives the same.  Returns whether it was accepted. */
static bool
check_contract(const uint8_t *buf, size_t len, uint32_t in_port)
{
    static const unsigned written[] = {
        HKEY_FW_META, HKEY_FW_L2A, HKEY_FW_L2B, HKEY_FW_SRC, HKEY_FW_DST,
        HKEY_FW_IP, HKEY_FW_L4,
    };
    struct flow want, got;
    struct flow_layers wl, gl;
    struct hkey k;
    uint64_t w[FLOW_U64S];

    if (!hkey_extract(buf, len, in_port, &k)) {
        return false;
    }
    flow_extract(buf, len, in_port, &want, &wl);
    hkey_to_flow(&k, &got, &gl);
    assert_memory_equal(&want, &got, sizeof want);
    assert_int_equal(wl.l3, gl.l3);
    assert_int_equal(wl.l4, gl.l4);
    assert_int_equal(wl.n_vlans, gl.n_vlans);
    hkey_to_flow_sparse(&k, &sparse);
    assert_memory_equal(&want, &sparse, sizeof want);
    /* Nothing outside HKEY_FW_* is ever nonzero. */
    memcpy(w, &want, sizeof w);
    for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
        w[written[i]] = 0;
    }
    for (size_t i = 0; i < FLOW_U64S; i++) {
        assert_true(w[i] == 0);
    }
    return true;
}

static size_t
build(uint8_t *buf, size_t size, enum pkt_l3 l3, uint8_t proto)
{
    struct pkt_spec s;

    pkt_spec_init(&s, l3, proto);
    return pkt_build(buf, size, &s);
}

/* Which shapes take the header key and which must be parsed in full. */
static void
test_shapes(void **state)
{
    static const uint8_t accepted[] = { IPPROTO_TCP_, IPPROTO_UDP_,
                                        IPPROTO_SCTP_, IPPROTO_ICMP_,
                                        IPPROTO_ICMPV6_, 47, 0, 255 };
    uint8_t buf[256];
    struct pkt_spec s;
    size_t len;

    (void) state;
    for (size_t i = 0; i < sizeof accepted; i++) {
        len = build(buf, sizeof buf, PKT_L3_IPV4, accepted[i]);
        assert_true(len > 0);
        assert_true(check_contract(buf, len, 7));
    }

    /* Refused: VLAN, IP options, fragments, IPv6, ARP, LLC. */
    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    s.n_vlans = 1;
    s.vlans[0].tpid = 0x8100;
    s.vlans[0].tci = 5;
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(check_contract(buf, len, 1));

    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    s.ipv4.opt_len = 4;
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(check_contract(buf, len, 1));

    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    s.ipv4.mf = true;
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(check_contract(buf, len, 1));

    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    s.ipv4.frag_off = 3;
    len = pkt_build(buf, sizeof buf, &s);
    assert_false(check_contract(buf, len, 1));

    /* DF alone is not a fragment, and the key ignores it. */
    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    s.ipv4.df = true;
    len = pkt_build(buf, sizeof buf, &s);
    assert_true(check_contract(buf, len, 1));

    len = build(buf, sizeof buf, PKT_L3_IPV6, IPPROTO_UDP_);
    assert_false(check_contract(buf, len, 1));
    len = build(buf, sizeof buf, PKT_L3_ARP, 0);
    assert_false(check_contract(buf, len, 1));
    len = build(buf, sizeof buf, PKT_L3_LLC, 0);
    assert_false(check_contract(buf, len, 1));

    /* Too short for the parser's L4 needs: left to the full parser. */
    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_TCP_);
    s.payload_len = 0;
    len = pkt_build(buf, sizeof buf, &s);
    assert_true(check_contract(buf, len, 1));
    assert_false(check_contract(buf, len - 1, 1));  /* tot > frame */
    assert_false(check_contract(buf, 33, 1));
    assert_false(check_contract(buf, 0, 1));
    /* IP total length leaving too little for the L4 header the parser
     * reads, or a TCP data offset out of bounds: the parser leaves the
     * ports zero, so the key must not claim them. */
    len = build(buf, sizeof buf, PKT_L3_IPV4, IPPROTO_TCP_);
    buf[16] = 0;
    buf[17] = 20 + 19;
    assert_false(check_contract(buf, len, 1));
    buf[17] = 20 + 20;
    assert_true(check_contract(buf, len, 1));
    buf[14 + 20 + 12] = 0x40;   /* doff 16 bytes */
    assert_false(check_contract(buf, len, 1));
    buf[14 + 20 + 12] = 0x60;   /* doff 24 bytes > 20 in the datagram */
    assert_false(check_contract(buf, len, 1));
    len = build(buf, sizeof buf, PKT_L3_IPV4, IPPROTO_UDP_);
    buf[17] = 20 + 7;
    assert_false(check_contract(buf, len, 1));
    len = build(buf, sizeof buf, PKT_L3_IPV4, IPPROTO_SCTP_);
    buf[17] = 20 + 11;
    assert_false(check_contract(buf, len, 1));
    len = build(buf, sizeof buf, PKT_L3_IPV4, IPPROTO_ICMP_);
    buf[17] = 20 + 3;
    assert_false(check_contract(buf, len, 1));
    buf[17] = 19;               /* shorter than the IP header */
    assert_false(check_contract(buf, len, 1));
}

/* Equal keys, equal flows; and fields outside the flow (IP ID, checksum,
 * payload, trailing padding) do not change the key. */
static void
test_key_ignores_what_the_flow_ignores(void **state)
{
    uint8_t a[128], b[128];
    struct hkey ka = { { 0 } }, kb = { { 0 } };
    struct pkt_spec s;
    size_t la, lb;

    (void) state;
    pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_UDP_);
    la = pkt_build(a, sizeof a, &s);
    s.ipv4.id = 999;
    s.ipv4.df = true;
    s.payload_len = 40;
    lb = pkt_build(b, sizeof b, &s);
    assert_true(hkey_extract(a, la, 3, &ka));
    assert_true(hkey_extract(b, lb, 3, &kb));
    assert_true(hkey_equal(&ka, &kb));
    assert_int_equal(hkey_hash(&ka), hkey_hash(&kb));
    /* Ethernet padding after the IP datagram. */
    memset(b, 0, sizeof b);
    memcpy(b, a, la);
    assert_true(check_contract(b, la + 20, 3));
    assert_true(hkey_extract(b, la + 20, 3, &kb));
    assert_true(hkey_equal(&ka, &kb));
    /* But the port and each flow field do. */
    assert_true(hkey_extract(a, la, 4, &kb));
    assert_false(hkey_equal(&ka, &kb));
    a[22]--;        /* TTL */
    assert_true(hkey_extract(a, la, 3, &kb));
    assert_false(hkey_equal(&ka, &kb));
}

/* Every shape the builder makes, then random byte mutations of each: the
 * contract must hold whenever the key is accepted. */
static void
test_contract_random(void **state)
{
    static const enum pkt_l3 l3s[] = { PKT_L3_IPV4, PKT_L3_IPV6,
                                       PKT_L3_ARP, PKT_L3_NONE };
    static const uint8_t protos[] = { IPPROTO_TCP_, IPPROTO_UDP_,
                                      IPPROTO_SCTP_, IPPROTO_ICMP_,
                                      IPPROTO_ICMPV6_, 89 };
    unsigned accepted = 0, total = 0;

    (void) state;
    for (unsigned iter = 0; iter < 200000; iter++) {
        uint8_t buf[256];
        struct pkt_spec s;
        size_t len;

        pkt_spec_init(&s, l3s[rnd() % 4], protos[rnd() % 6]);
        s.ipv4.src = rnd();
        s.ipv4.dst = rnd();
        s.ipv4.tos = (uint8_t) rnd();
        s.ipv4.ttl = (uint8_t) rnd();
        s.l4.src = (uint16_t) rnd();
        s.l4.dst = (uint16_t) rnd();
        s.l4.tcp_flags = (uint16_t) (rnd() & 0xfff);
        s.l4.icmp_type = (uint8_t) rnd();
        s.payload_len = rnd() % 48;
        if (rnd() % 8 == 0) {
            s.n_vlans = 1;
            s.vlans[0].tpid = 0x8100;
        }
        len = pkt_build(buf, sizeof buf, &s);
        assert_true(len > 0);
        /* Mutate: flip bytes in the headers and/or cut the frame. */
        for (unsigned k = rnd() % 4; k-- > 0;) {
            buf[rnd() % (len < 60 ? len : 60)] ^= (uint8_t) (1u << rnd() % 8);
        }
        if (rnd() % 4 == 0) {
            len = rnd() % (len + 1);
        }
        total++;
        accepted += check_contract(buf, len, rnd() % 5);
    }
    /* The mutations must leave plenty of both outcomes. */
    assert_true(accepted > total / 10);
    assert_true(accepted < total * 9 / 10);
}

/* ---- The cache against a linear reference. ---- */

#define N_DATA 4096
static char datas[N_DATA];

static void
make_key(struct hkey *k, uint32_t i)
{
    uint8_t buf[128];
    size_t len = pkt_build_udp_numbered(buf, sizeof buf, i);

    assert_true(hkey_extract(buf, len, i % 3, k));
}

static void
test_cache_basic(void **state)
{
    struct hkc *c = hkc_create(100);
    struct hkey a, b;
    uint32_t ha, hb;
    struct hkey keys[2];
    uint32_t hashes[2];
    void *out[2];

    (void) state;
    assert_non_null(c);
    assert_int_equal(hkc_capacity(c), 128);
    make_key(&a, 1);
    make_key(&b, 2);
    ha = hkey_hash(&a);
    hb = hkey_hash(&b);
    assert_null(hkc_lookup(c, &a, ha));
    hkc_insert(c, &a, ha, &datas[1]);
    assert_ptr_equal(hkc_lookup(c, &a, ha), &datas[1]);
    assert_null(hkc_lookup(c, &b, hb));
    hkc_insert(c, &a, ha, &datas[2]);
    assert_ptr_equal(hkc_lookup(c, &a, ha), &datas[2]);
    assert_int_equal(hkc_count(c), 1);
    keys[0] = a;
    keys[1] = b;
    hashes[0] = ha;
    hashes[1] = hb;
    hkc_lookup_batch(c, keys, hashes, 2, out);
    assert_ptr_equal(out[0], &datas[2]);
    assert_null(out[1]);
    /* A key with another key's hash is not confused with it. */
    assert_null(hkc_lookup(c, &b, ha));
    hkc_insert(c, &a, ha, NULL);
    assert_null(hkc_lookup(c, &a, ha));
    assert_int_equal(hkc_count(c), 0);
    assert_true(hkc_check(c));
    hkc_set_insert_inv_prob(c, 0);
    hkc_insert(c, &a, ha, &datas[1]);
    assert_int_equal(hkc_count(c), 0);
    hkc_destroy(c);
    hkc_destroy(NULL);
}

static bool
dead_odd(void *data, void *aux)
{
    (void) aux;
    return ((char *) data - datas) % 2 == 1;
}

/* Random inserts, removals, sweeps and lookups against a reference that
 * remembers everything: a hit must always be right, and with fewer keys
 * than slots nothing may be lost. */
static void
test_cache_random(void **state)
{
    enum { N_KEYS = 3000 };
    struct hkc *c = hkc_create(4096);
    static struct hkey keys[N_KEYS];
    static void *ref[N_KEYS];
    unsigned misses = 0, lookups = 0;

    (void) state;
    for (uint32_t i = 0; i < N_KEYS; i++) {
        make_key(&keys[i], i);
    }
    for (unsigned op = 0; op < 400000; op++) {
        uint32_t i = rnd() % N_KEYS, r = rnd() % 100;
        uint32_t h = hkey_hash(&keys[i]);

        if (r < 40) {
            void *d = &datas[rnd() % N_DATA];

            hkc_insert(c, &keys[i], h, d);
            ref[i] = d;
        } else if (r < 45) {
            hkc_insert(c, &keys[i], h, NULL);
            ref[i] = NULL;
        } else if (r == 45) {
            hkc_sweep(c, dead_odd, NULL);
            for (uint32_t j = 0; j < N_KEYS; j++) {
                if (ref[j] && dead_odd(ref[j], NULL)) {
                    ref[j] = NULL;
                }
            }
            assert_true(hkc_check(c));
        } else {
            void *got = hkc_lookup(c, &keys[i], h);

            lookups++;
            if (got) {
                assert_ptr_equal(got, ref[i]);
            } else if (ref[i]) {
                misses++;
            }
        }
    }
    assert_true(hkc_check(c));
    /* Fewer than 3/4 of the slots in use: 8 ways keep conflicts rare. */
    assert_true(misses < lookups / 100);
    hkc_clear(c);
    assert_int_equal(hkc_count(c), 0);
    assert_true(hkc_check(c));
    hkc_destroy(c);
}

/* More keys than slots: the cache stays consistent and bounded, and
 * every hit is right. */
static void
test_cache_overflow(void **state)
{
    enum { N_KEYS = 5000 };
    struct hkc *c = hkc_create(256);
    static struct hkey keys[N_KEYS];

    (void) state;
    for (uint32_t i = 0; i < N_KEYS; i++) {
        make_key(&keys[i], i + 100000);
        hkc_insert(c, &keys[i], hkey_hash(&keys[i]), &datas[i % N_DATA]);
        assert_true(hkc_count(c) <= 256);
    }
    assert_int_equal(hkc_count(c), 256);
    assert_true(hkc_check(c));
    for (uint32_t i = 0; i < N_KEYS; i++) {
        void *got = hkc_lookup(c, &keys[i], hkey_hash(&keys[i]));

        if (got) {
            assert_ptr_equal(got, &datas[i % N_DATA]);
        }
    }
    /* The most recent insertions survive. */
    assert_ptr_equal(hkc_lookup(c, &keys[N_KEYS - 1],
                                hkey_hash(&keys[N_KEYS - 1])),
                     &datas[(N_KEYS - 1) % N_DATA]);
    hkc_destroy(c);
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}

/* The hash spreads structured key sets (one field counting up, as
 * traffic generators make them) evenly over buckets and signatures: every
 * bucket of 4,096 gets within a few standard deviations of its share, and
 * 32-bit collisions stay near what a random function gives. */
static void
test_hash_spread(void **state)
{
    enum { N = 1 << 17, BUCKETS = 4096 };
    static uint32_t load[BUCKETS];
    static uint32_t hashes[N];
    (void) state;

    /* Word 3 holds nw_src and nw_dst, word 4 the ports, word 2 in_port. */
    for (unsigned field = 0; field < 4; field++) {
        unsigned max = 0, collisions = 0;

        memset(load, 0, sizeof load);
        for (uint32_t i = 0; i < N; i++) {
            struct hkey k = { { 0x0b0000000200ULL, 0x0045000800000000ULL,
                                0x1106000000000001ULL, 0x020000010100000aULL,
                                0x0035e803ULL } };

            switch (field) {
            case 0: k.w[3] += (uint64_t) i << 32; break;   /* nw_dst */
            case 1: k.w[3] += i; break;                     /* nw_src */
            case 2: k.w[4] = i; break;                      /* ports */
            default: k.w[2] = i | 0x1106000000000000ULL;    /* in_port */
            }
            hashes[i] = hkey_hash(&k);
            load[hashes[i] % BUCKETS]++;
        }
        for (unsigned b = 0; b < BUCKETS; b++) {
            max = load[b] > max ? load[b] : max;
        }
        /* Mean 32, sd about 5.7: 32 + 7 sd. */
        assert_true(max <= 72);
        qsort(hashes, N, sizeof hashes[0], cmp_u32);
        for (uint32_t i = 1; i < N; i++) {
            collisions += hashes[i] == hashes[i - 1];
        }
        /* A random function: about N^2 / 2^33 = 2. */
        assert_true(collisions <= 16);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_key_ignores_what_the_flow_ignores),
        cmocka_unit_test(test_contract_random),
        cmocka_unit_test(test_cache_basic),
        cmocka_unit_test(test_cache_random),
        cmocka_unit_test(test_cache_overflow),
        cmocka_unit_test(test_hash_spread),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
