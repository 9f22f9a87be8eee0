/* SPDX-License-Identifier: BSD-3-Clause */
/* hkey.h: the header key, a 40-byte exact key read straight off the wire
 * for the common packet shape, and its mapping to struct flow. */
#ifndef SLUICE_HKEY_H
#define SLUICE_HKEY_H 1

/*
 * What
 *   Most packets a virtual switch forwards are untagged IPv4 without IP
 *   options, unfragmented, carrying TCP, UDP, SCTP or ICMP (or no L4 the
 *   parser knows).  For that shape every field of struct flow sits at a
 *   fixed offset, so the flow key is a function of a few header bytes.
 *   hkey_extract() copies exactly those bytes (plus the input port) into a
 *   five-word key with five loads and no branches on field values, where
 *   flow_extract() must clear and fill all of struct flow (360 bytes).
 *   The exact-match tier keys its fast cache (hkc.h) on it.  A packet the
 *   cache does not answer gets its flow with hkey_to_flow_sparse(): seven
 *   words written into a flow whose other words are already zero.
 *
 * Contract
 *   hkey_extract() returns true only for packets of that shape, and then
 *   flow_extract() of the same packet yields exactly hkey_to_flow() of the
 *   key, with layers l3 = 14, l4 = 34 and no VLAN tags.  So two packets
 *   with equal header keys have equal flows, and a cache keyed on it gives
 *   the same answers as one keyed on struct flow.  Everything else (VLAN
 *   tags, IP options, fragments, IPv6, ARP, truncated or inconsistent
 *   lengths, an L4 header shorter than the parser needs) returns false,
 *   and the caller parses the packet in full.  test-hkey checks the
 *   contract on every packet shape the parser knows and on random
 *   mutations of them; the flow fuzz target checks it on every input.
 *
 * Layout (each word holds 8 bytes in memory order, so it is a plain
 * unaligned load of the frame where it can be)
 *   w[0]  frame bytes 0-7: Ethernet destination, first two of the source.
 *   w[1]  frame bytes 8-15: rest of the source, ethertype, version/IHL,
 *         TOS.
 *   w[2]  the input port (host order) in bytes 0-3, the context in bytes
 *         4-5 (below; zero from hkey_extract()), frame bytes 22-23 (TTL, protocol) in bytes 6-7.  The total
 *         length, ID and flags are not in the flow, and the fragment bits
 *         are known to be zero.
 *   w[3]  frame bytes 26-33: IPv4 source and destination.
 *   w[4]  the flow's own L4 word (tp_src, tp_dst, tcp_flags, pad2), as
 *         flow_extract() would fill it.
 *
 * A context (hkey_set_ctx())
 *   A decapsulated packet's flow also holds its tunnel metadata, which is
 *   not in its frame.  The datapath names each distinct tunnel metadata
 *   with a small nonzero number, its context, and puts it in bytes 4-5 of
 *   w[2] (zero otherwise).  Two keys with equal contexts then have equal
 *   flows as long as the caller never gives one number to two different
 *   metadata while keys carrying it are cached (dp-exec.c:
 *   tnl_ctx_find()).  hkey_to_flow*() ignore the context: the caller
 *   fills in the metadata it names.
 *
 * Thread-safety: pure functions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "flow.h"
#include "util.h"

#define HKEY_WORDS 5

struct hkey {
    uint64_t w[HKEY_WORDS];
};

#define HKEY_L2_LEN 14
#define HKEY_L3_LEN 20
#define HKEY_L4_OFS (HKEY_L2_LEN + HKEY_L3_LEN)

static inline uint64_t
hkey_ld64_(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, sizeof w);
    return w;
}

/* Per IP protocol: what the parser reads after the IP header, and how many
 * L4 bytes it needs to read it.  A table, not a switch: traffic mixes TCP
 * and UDP packet by packet, and a branch on the protocol would mispredict
 * about as often as not. */
enum hkey_l4_kind { HKEY_L4_NONE, HKEY_L4_PORTS, HKEY_L4_TCP, HKEY_L4_ICMP };

struct hkey_l4_shape_ {
    uint8_t kind;           /* enum hkey_l4_kind */
    uint8_t need;           /* Minimum L4 bytes for the parser to read it. */
};

static const struct hkey_l4_shape_ hkey_l4_shapes_[256] = {
    [IPPROTO_TCP_] = { HKEY_L4_TCP, 20 },
    [IPPROTO_UDP_] = { HKEY_L4_PORTS, 8 },
    [IPPROTO_SCTP_] = { HKEY_L4_PORTS, 12 },
    [IPPROTO_ICMP_] = { HKEY_L4_ICMP, 4 },
    [IPPROTO_ICMPV6_] = { HKEY_L4_ICMP, 4 },    /* Read as for ICMP. */
};

/* Per kind, which of the candidate L4 words the key takes (all ones or
 * zero), so that choosing costs no branch. */
static const struct {
    uint64_t ports, tcp, icmp;
} hkey_l4_select_[4] = {
    [HKEY_L4_NONE] = { 0, 0, 0 },
    [HKEY_L4_PORTS] = { UINT64_MAX, 0, 0 },
    [HKEY_L4_TCP] = { UINT64_MAX, UINT64_MAX, 0 },
    [HKEY_L4_ICMP] = { 0, 0, UINT64_MAX },
};

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hkey.h composes key words for a little-endian host"
#endif

/* hkey_extract() fills 'key' from the 'len'-byte frame at 'pkt' received
 * on 'in_port' and returns true if the frame has the fixed shape described
 * above; otherwise it returns false ('key' is then unspecified).  Inline:
 * it runs once per packet on the hit path. */
static inline bool
hkey_extract(const void *pkt_, size_t len, uint32_t in_port,
             struct hkey *key)
{
    const uint8_t *p = pkt_;
    const struct hkey_l4_shape_ *sh;
    const __typeof__(hkey_l4_select_[0]) *sel;
    uint64_t ports, tcp, icmp, l4;
    uint16_t tcpw;
    size_t tot, n, doff;

    if (__builtin_expect(len < HKEY_L4_OFS, 0)) {
        return false;
    }
    if (len > 0xfffe) {
        len = 0xfffe;           /* As flow_extract(). */
    }
    /* Ethertype IPv4, version 4 with no options (bytes 12-14 as one
     * little-endian load), whole and unfragmented (MF and the offset: the
     * big-endian 0x3fff of bytes 20-21). */
    tot = get_be16(p + 16);
    if ((rd32(p + 12) & 0xffffff) != 0x450008
        || tot < HKEY_L3_LEN || tot > len - HKEY_L2_LEN
        || (rd16(p + 20) & 0xff3f)) {
        return false;
    }
    n = tot - HKEY_L3_LEN;      /* L4 bytes, as the parser bounds them. */
    sh = &hkey_l4_shapes_[p[23]];
    if (n < sh->need) {
        return false;           /* The parser would leave them zero. */
    }

    /* Read what any kind could use (the frame holds it whenever that kind
     * is possible), then select without branching on the kind. */
    if (__builtin_expect(len >= HKEY_L4_OFS + 14, 1)) {
        ports = rd32(p + HKEY_L4_OFS);
        tcpw = get_be16(p + HKEY_L4_OFS + 12);
    } else {
        ports = len >= HKEY_L4_OFS + 4 ? rd32(p + HKEY_L4_OFS) : 0;
        tcpw = 0;
    }
    doff = (size_t) (tcpw >> 12) * 4;
    sel = &hkey_l4_select_[sh->kind];
    /* Masked, so that no branch depends on the protocol. */
    if (sel->tcp & ((doff < 20) | (doff > n))) {
        return false;           /* The parser would leave ports zero. */
    }
    /* tcp_flags as a be16 in bytes 4-5; ICMP type and code as be16s. */
    tcp = (uint64_t) to_be16(tcpw & 0x0fff) << 32;
    icmp = (ports & 0xff) << 8 | (ports & 0xff00) << 16;
    l4 = (ports & sel->ports) | (tcp & sel->tcp) | (icmp & sel->icmp);

    key->w[0] = hkey_ld64_(p);
    key->w[1] = hkey_ld64_(p + 8);
    key->w[2] = (uint64_t) in_port | (uint64_t) rd16(p + 22) << 48;
    key->w[3] = hkey_ld64_(p + 26);
    key->w[4] = l4;
    return true;
}

/* Puts the context 'ctx' (nonzero) in 'key', whose context is 0 as
 * hkey_extract() left it. */
static inline void
hkey_set_ctx(struct hkey *key, uint16_t ctx)
{
    key->w[2] |= (uint64_t) ctx << 32;
}

/* The context of 'key' (0: none). */
static inline uint16_t
hkey_ctx(const struct hkey *key)
{
    return (uint16_t) (key->w[2] >> 32);
}

/* The words of struct flow (as 64-bit words, flow.h) that
 * hkey_to_flow() can make nonzero; every other word of a header-key
 * packet's flow is zero. */
enum {
    HKEY_FW_META = 0,                       /* in_port (recirc_id 0) */
    HKEY_FW_L2A = FLOW_META_U64S + 0,       /* dl_dst, dl_src[0..1] */
    HKEY_FW_L2B = FLOW_META_U64S + 1,       /* dl_src[2..5], dl_type */
    HKEY_FW_SRC = FLOW_META_U64S + 2,       /* nw_src (high half) */
    HKEY_FW_DST = FLOW_META_U64S + 3,       /* nw_dst (low half) */
    HKEY_FW_IP = FLOW_META_U64S + 8,        /* nw_proto, nw_tos, nw_ttl */
    HKEY_FW_L4 = FLOW_META_U64S + 10,       /* tp_src, tp_dst, tcp_flags */
};

/* Writes into 'flow' the words of the flow of header key 'key' that can
 * be nonzero (HKEY_FW_*), and nothing else: 'flow' must already hold zero
 * in every other word, for example a flow that was zeroed once and since
 * then only written by this function.  Seven stores where hkey_to_flow()
 * writes all of struct flow: the datapath converts the key of every
 * packet the header-key cache does not answer. */
static inline void
hkey_to_flow_sparse(const struct hkey *key, struct flow *flow)
{
    uint64_t *w = (uint64_t *) (void *) flow;

    _Static_assert(FLOW_U64S == FLOW_META_U64S + 11,
                   "hkey_to_flow() fills 11 words after the metadata");
    /* in_port, recirc_id 0.  Connection tracking and tunnel metadata: none
     * on a first pass. */
    w[HKEY_FW_META] = key->w[2] & 0xffffffffu;
    /* dl_dst, first two bytes of dl_src: frame bytes 0-7. */
    w[HKEY_FW_L2A] = key->w[0];
    /* Rest of dl_src and the ethertype (0x0800 on the wire, as dl_type
     * holds it): frame bytes 8-13; vlan_tci 0. */
    w[HKEY_FW_L2B] = key->w[1] & 0x0000ffffffffffffULL;
    /* vlan_tci2 and pad1 0, nw_src (frame bytes 26-29). */
    w[HKEY_FW_SRC] = key->w[3] << 32;
    /* nw_dst (frame bytes 30-33), then IPv6 addresses and label 0. */
    w[HKEY_FW_DST] = key->w[3] >> 32;
    /* nw_proto, nw_tos, nw_ttl, nw_frag 0, ARP addresses 0. */
    w[HKEY_FW_IP] = (key->w[2] >> 56) | (key->w[1] >> 56) << 8
                    | ((key->w[2] >> 48) & 0xff) << 16;
    /* tp_src, tp_dst, tcp_flags, pad2. */
    w[HKEY_FW_L4] = key->w[4];
}

/* The flow and layers flow_extract() gives for any packet whose header key
 * is 'key' ('layers' may be NULL).  All of 'flow' is written. */
static inline void
hkey_to_flow(const struct hkey *key, struct flow *flow,
             struct flow_layers *layers)
{
    memset(flow, 0, sizeof *flow);
    hkey_to_flow_sparse(key, flow);
    if (layers) {
        layers->l3 = HKEY_L2_LEN;
        layers->l4 = HKEY_L4_OFS;
        layers->n_vlans = 0;
    }
}

/* A 32-bit hash of 'key' (not flow_hash() of the flow).  On x86-64, two
 * and three chained CRC32C steps (hardware; DPDK's x86 baseline has
 * SSE4.2, and the target attribute makes the choice independent of the
 * flags a file is built with, so every caller gets the same hash) joined by
 * one multiply, whose high half mixes all 64 bits: about 4 cycles a key
 * against 6.5 for the multiply-only hash below, which other
 * architectures use. */
#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static inline uint32_t
hkey_hash(const struct hkey *key)
{
    uint64_t a = __builtin_ia32_crc32di(0x9e3779b9, key->w[0]);
    uint64_t b = __builtin_ia32_crc32di(0x85ebca6b, key->w[1]);
    uint64_t c = __builtin_ia32_crc32di(0x7f4a7c15, key->w[2]);

    a = __builtin_ia32_crc32di(a, key->w[3]);
    b = __builtin_ia32_crc32di(b, key->w[4]);
    return (uint32_t) (((a ^ c) << 32 | b) * 0x9e3779b97f4a7c15ULL >> 32);
}
#else
static inline uint32_t
hkey_hash(const struct hkey *key)
{
#ifdef __SIZEOF_INT128__
    __uint128_t a = (__uint128_t) (key->w[0] ^ 0xa0761d6478bd642fULL)
                    * (key->w[1] ^ 0xe7037ed1a0b428dbULL);
    __uint128_t b = (__uint128_t) (key->w[2] ^ 0x8ebc6af09c88c6e3ULL)
                    * (key->w[3] ^ 0x589965cc75374cc3ULL);
    __uint128_t c = (__uint128_t) (key->w[4] ^ 0x1d8e4e27c47d124fULL)
                    * 0x9e3779b97f4a7c15ULL;
    uint64_t h = ((uint64_t) a ^ (uint64_t) (a >> 64))
                 + ((uint64_t) b ^ (uint64_t) (b >> 64))
                 + ((uint64_t) c ^ (uint64_t) (c >> 64));
    __uint128_t f = (__uint128_t) (h ^ 0xbf58476d1ce4e5b9ULL)
                    * ((h >> 29 | h << 35) ^ 0x94d049bb133111ebULL);

    h = (uint64_t) f ^ (uint64_t) (f >> 64);
    return (uint32_t) h ^ (uint32_t) (h >> 32);
#else
    uint64_t h = 0x52dce729;

    for (int i = 0; i < HKEY_WORDS; i++) {
        uint64_t w = key->w[i] * 0x87c37b91114253d5ULL;

        w = (w << 31 | w >> 33) * 0x4cf5ad432745937fULL;
        h ^= w;
        h = (h << 27 | h >> 37) * 5 + 0x52dce729;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t) h;
#endif
}
#endif

static inline bool
hkey_equal(const struct hkey *a, const struct hkey *b)
{
    return !((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1])
             | (a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])
             | (a->w[4] ^ b->w[4]));
}

#endif /* hkey.h */
