/* SPDX-License-Identifier: BSD-3-Clause */
/* flow.c: packet parser into struct flow, masked hashing and compare. */
#include "flow.h"
#include "util.h"

#include <string.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* IPv6 extension header numbers. */
#define IPV6_NH_HOPOPTS 0
#define IPV6_NH_ROUTING 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_AH 51
#define IPV6_NH_DSTOPTS 60

/* Parses the L4 header at 'p' ('n' bytes up to the end of the IP payload)
 * for 'proto'. */
static inline void
parse_l4(const uint8_t *p, size_t n, uint8_t proto, struct flow *flow)
{
    if (LIKELY(proto == IPPROTO_TCP_)) {
        if (LIKELY(n >= 20)) {
            uint16_t word = get_be16(p + 12);
            size_t doff = (size_t) (word >> 12) * 4;

            if (LIKELY(doff >= 20 && doff <= n)) {
                flow->tp_src = rd16(p);
                flow->tp_dst = rd16(p + 2);
                flow->tcp_flags = to_be16(word & 0x0fff);
            }
        }
    } else if (proto == IPPROTO_UDP_) {
        if (LIKELY(n >= 8)) {
            flow->tp_src = rd16(p);
            flow->tp_dst = rd16(p + 2);
        }
    } else if (proto == IPPROTO_SCTP_) {
        if (n >= 12) {
            flow->tp_src = rd16(p);
            flow->tp_dst = rd16(p + 2);
        }
    } else if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_) {
        if (n >= 4) {
            flow->tp_src = to_be16(p[0]);
            flow->tp_dst = to_be16(p[1]);
        }
    }
}

/* Parses IPv4 at 'p' ('n' bytes to the frame end).  Returns the L4 offset
 * from 'p' and sets '*l4_len', or 0 if there is no L4 to parse. */
static inline size_t
parse_ipv4(const uint8_t *p, size_t n, struct flow *flow, size_t *l4_len)
{
    size_t ihl, tot;
    uint16_t frag;

    if (UNLIKELY(n < 20)) {
        return 0;
    }
    ihl = (size_t) (p[0] & 0x0f) * 4;
    tot = get_be16(p + 2);
    if (UNLIKELY((p[0] >> 4) != 4 || ihl < 20 || tot < ihl || tot > n)) {
        return 0;
    }
    flow->nw_src = rd32(p + 12);
    flow->nw_dst = rd32(p + 16);
    flow->nw_proto = p[9];
    flow->nw_tos = p[1];
    flow->nw_ttl = p[8];
    frag = get_be16(p + 6);
    if (UNLIKELY(frag & 0x3fff)) {          /* MF or offset */
        flow->nw_frag = FLOW_NW_FRAG_ANY;
        if (frag & 0x1fff) {
            flow->nw_frag |= FLOW_NW_FRAG_LATER;
            return 0;
        }
    }
    *l4_len = tot - ihl;
    return ihl;
}

/* Parses IPv6 at 'p', as parse_ipv4(). */
static inline size_t
parse_ipv6(const uint8_t *p, size_t n, struct flow *flow, size_t *l4_len)
{
    uint32_t vtf;
    size_t end, off;
    uint8_t nh;

    if (UNLIKELY(n < 40)) {
        return 0;
    }
    vtf = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
          | (uint32_t) p[2] << 8 | p[3];
    end = 40 + (size_t) get_be16(p + 4);
    if (UNLIKELY((vtf >> 28) != 6 || end > n)) {
        return 0;
    }
    memcpy(flow->ipv6_src, p + 8, 16);
    memcpy(flow->ipv6_dst, p + 24, 16);
    flow->ipv6_label = to_be32(vtf & 0xfffff);
    flow->nw_tos = (uint8_t) (vtf >> 20);
    flow->nw_ttl = p[7];

    nh = p[6];
    off = 40;
    for (;;) {
        size_t len;

        if (nh == IPV6_NH_HOPOPTS || nh == IPV6_NH_ROUTING
            || nh == IPV6_NH_DSTOPTS) {
            if (UNLIKELY(end - off < 8)) {
                return 0;
            }
            len = ((size_t) p[off + 1] + 1) * 8;
        } else if (nh == IPV6_NH_AH) {
            if (UNLIKELY(end - off < 8)) {
                return 0;
            }
            len = ((size_t) p[off + 1] + 2) * 4;
        } else if (nh == IPV6_NH_FRAGMENT) {
            uint16_t fo;

            if (UNLIKELY(end - off < 8)) {
                return 0;
            }
            fo = get_be16(p + off + 2);
            flow->nw_frag = FLOW_NW_FRAG_ANY;
            if (fo & 0xfff8) {
                flow->nw_frag |= FLOW_NW_FRAG_LATER;
                flow->nw_proto = p[off];
                return 0;
            }
            len = 8;
        } else {
            break;
        }
        if (UNLIKELY(len > end - off)) {
            return 0;
        }
        nh = p[off];
        off += len;
    }
    flow->nw_proto = nh;
    *l4_len = end - off;
    return off;
}

void
flow_extract(const void *pkt_, size_t len, uint32_t in_port,
             struct flow *flow, struct flow_layers *layers)
{
    const uint8_t *pkt = pkt_;
    size_t ofs, l3 = FLOW_OFS_NONE, l4 = FLOW_OFS_NONE;
    uint16_t type;
    uint8_t n_vlans = 0;

    zero_small(flow, sizeof *flow);   /* util.h: not a rep stos */
    flow->in_port = in_port;
    if (UNLIKELY(len < 14)) {
        goto out;
    }
    if (UNLIKELY(len > 0xfffe)) {
        len = 0xfffe;           /* Offsets are 16 bits; nothing is lost. */
    }
    memcpy(flow->dl_dst, pkt, 6);
    memcpy(flow->dl_src, pkt + 6, 6);

    ofs = 12;
    type = get_be16(pkt + 12);
    if (type == ETH_TYPE_VLAN || type == ETH_TYPE_VLAN_8021AD) {
        if (len - ofs < 6) {
            flow->dl_type = to_be16(type);
            goto out;           /* Truncated tag: L3 unknown. */
        }
        flow->vlan_tci = rd16(pkt + ofs + 2) | to_be16(FLOW_VLAN_CFI);
        n_vlans = 1;
        ofs += 4;
        type = get_be16(pkt + ofs);
        if (type == ETH_TYPE_VLAN) {
            if (len - ofs < 6) {
                flow->dl_type = to_be16(type);
                goto out;
            }
            flow->vlan_tci2 = rd16(pkt + ofs + 2)
                              | to_be16(FLOW_VLAN_CFI);
            n_vlans = 2;
            ofs += 4;
            type = get_be16(pkt + ofs);
        }
    }
    ofs += 2;
    l3 = ofs;
    if (UNLIKELY(type < ETH_TYPE_MIN)) {
        flow->dl_type = to_be16(ETH_TYPE_NONE);
        goto out;
    }
    flow->dl_type = to_be16(type);

    if (LIKELY(type == ETH_TYPE_IP)) {
        size_t l4_len = 0;
        size_t o = parse_ipv4(pkt + ofs, len - ofs, flow, &l4_len);

        if (o) {
            l4 = ofs + o;
            parse_l4(pkt + l4, l4_len, flow->nw_proto, flow);
        }
    } else if (type == ETH_TYPE_IPV6) {
        size_t l4_len = 0;
        size_t o = parse_ipv6(pkt + ofs, len - ofs, flow, &l4_len);

        if (o) {
            l4 = ofs + o;
            parse_l4(pkt + l4, l4_len, flow->nw_proto, flow);
        }
    } else if (type == ETH_TYPE_ARP) {
        const uint8_t *a = pkt + ofs;

        if (len - ofs >= 28 && get_be16(a) == 1 && get_be16(a + 2) == 0x0800
            && a[4] == 6 && a[5] == 4) {
            flow->nw_proto = a[7];
            memcpy(flow->arp_sha, a + 8, 6);
            flow->nw_src = rd32(a + 14);
            memcpy(flow->arp_tha, a + 18, 6);
            flow->nw_dst = rd32(a + 24);
        }
    }

out:
    if (layers) {
        layers->l3 = (uint16_t) l3;
        layers->l4 = (uint16_t) l4;
        layers->n_vlans = n_vlans;
    }
}

/* Hashing.  With 128-bit multiplies (x86-64, arm64): each pair of words,
 * xored with per-position constants, is multiplied 64x64->128 and the two
 * halves folded ("mum", as in wyhash); the six products are independent
 * (no serial dependency), summed, and a final mum avalanches the sum.
 * Elsewhere: a murmur3-style serial multiply-rotate chain. */
/* At least FLOW_U64S + 2 constants (unsized: a missing one is a build
 * error, not a silent zero). */
static const uint64_t flow_hash_k[] = {
    0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL, 0x8ebc6af09c88c6e3ULL,
    0x589965cc75374cc3ULL, 0x1d8e4e27c47d124fULL, 0x9e3779b97f4a7c15ULL,
    0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL, 0xc2b2ae3d27d4eb4fULL,
    0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL, 0x85ebca77c2b2ae63ULL,
    0xff51afd7ed558ccdULL, 0xc4ceb9fe1a85ec53ULL, 0x09f1fd9d03f0a9b4ULL,
    0x553274161bbf8475ULL, 0x5d5bca4696b343b3ULL, 0x70d29b6c7d22528dULL,
    0x0bf2b716f9915475ULL, 0x5eb7f92b95387ccaULL, 0x296cd0f2c21d7f90ULL,
    0x1289a69805c125b1ULL, 0xdaa27fb8dacb9e73ULL, 0x3ed08d59cb3f4727ULL,
    0x9daa37e51b591d75ULL, 0xc15521b1b3dca50bULL, 0x86f0ce2ea6ec39c1ULL,
    0x3f372617f0baef3bULL, 0xbc3199944567ceb1ULL, 0x4a800646417a8105ULL,
    0x2396bb48d810f9e1ULL, 0x34abf387ab9da83dULL, 0x7824b67f17f659bbULL,
    0xdc9608b71560572dULL, 0xd663ec60bef9f9dbULL, 0x720f92b03b76e98fULL,
    0xde93585cc11b7b2fULL, 0x5cf472a9e631bde5ULL, 0x7a5faca559197861ULL,
    0x1c948e1575796815ULL, 0xae9ef1ab67004bdbULL, 0x7a2988d31f16e86fULL,
    0x7a5daea24eba3ba7ULL, 0xbb83c0c2207ad3e7ULL, 0xe2da71d9f0e79e33ULL,
    0xf037b46f16a54449ULL, 0xafd7e49c4512ee8dULL, 0x25ade43f8dcffc85ULL,
    0x0028cf578ec6bd95ULL, 0x9f26b835468010bbULL, 0xb9792de59de179e7ULL,
};
_Static_assert(sizeof flow_hash_k / sizeof *flow_hash_k >= FLOW_U64S + 2,
               "flow_hash_k needs FLOW_U64S + 2 constants");

#ifdef __SIZEOF_INT128__
static inline uint64_t
mum64(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t) a * b;

    return (uint64_t) r ^ (uint64_t) (r >> 64);
}

static inline uint32_t
hash_words(const uint64_t *f, const uint64_t *m, uint32_t basis)
{
    uint64_t h = basis ^ flow_hash_k[FLOW_U64S];
    size_t i;

    for (i = 0; i + 1 < FLOW_U64S; i += 2) {
        uint64_t a = m ? f[i] & m[i] : f[i];
        uint64_t b = m ? f[i + 1] & m[i + 1] : f[i + 1];

        h += mum64(a ^ flow_hash_k[i], b ^ flow_hash_k[i + 1]);
    }
    if (FLOW_U64S % 2) {
        uint64_t a = m ? f[i] & m[i] : f[i];

        h += mum64(a ^ flow_hash_k[i], flow_hash_k[FLOW_U64S + 1]);
    }
    h = mum64(h ^ flow_hash_k[FLOW_U64S + 1],
              (h >> 29 | h << 35) ^ flow_hash_k[0]);
    return (uint32_t) h ^ (uint32_t) (h >> 32);
}
#else
static inline uint64_t
rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint32_t
hash_words(const uint64_t *f, const uint64_t *m, uint32_t basis)
{
    uint64_t h = basis;
    size_t i;

    for (i = 0; i < FLOW_U64S; i++) {
        uint64_t w = m ? f[i] & m[i] : f[i];

        w *= 0x87c37b91114253d5ULL;
        w = rotl64(w, 31);
        w *= 0x4cf5ad432745937fULL;
        h ^= w;
        h = rotl64(h, 27) * 5 + 0x52dce729;
    }
    h ^= FLOW_U64S * 8;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (uint32_t) h ^ (uint32_t) (h >> 32);
}
#endif

uint32_t
flow_hash_masked(const struct flow *flow, const struct flow *mask,
                 uint32_t basis)
{
    return hash_words(flow_u64(flow), flow_u64(mask), basis);
}

uint32_t
flow_hash(const struct flow *flow, uint32_t basis)
{
    return hash_words(flow_u64(flow), NULL, basis);
}

bool
flow_equal_masked(const struct flow *a, const struct flow *b,
                  const struct flow *mask)
{
    const uint64_t *x = flow_u64(a);
    const uint64_t *y = flow_u64(b);
    const uint64_t *m = flow_u64(mask);
    uint64_t diff = 0;
    size_t i;

    for (i = 0; i < FLOW_U64S; i++) {
        diff |= (x[i] ^ y[i]) & m[i];
    }
    return !diff;
}

void
flow_apply_mask(struct flow *dst, const struct flow *src,
                const struct flow *mask)
{
    uint64_t *d = (uint64_t *) (void *) dst;
    const uint64_t *s = flow_u64(src);
    const uint64_t *m = flow_u64(mask);
    size_t i;

    for (i = 0; i < FLOW_U64S; i++) {
        d[i] = s[i] & m[i];
    }
}
