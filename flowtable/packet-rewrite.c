/* SPDX-License-Identifier: BSD-3-Clause */
/* packet-rewrite.c: header rewrites with incremental checksum updates. */
#include "packet-rewrite.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define IPV6_NH_HOPOPTS 0
#define IPV6_NH_ROUTING 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_AH 51
#define IPV6_NH_DSTOPTS 60

/* ---- One's-complement incremental updates (RFC 1624, eqn. 3).  The sum is
 * byte-order independent, so raw in-memory 16-bit words are used as is. */

static inline uint16_t
csum_fold(uint32_t s)
{
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t) s;
}

/* Adds "replace 'old' by 'new'" for one 16-bit word to the partial sum. */
static inline uint32_t
csum_add_diff16(uint32_t s, uint16_t old, uint16_t new)
{
    return s + (uint16_t) ~old + new;
}

static inline uint32_t
csum_add_diff32(uint32_t s, uint32_t old, uint32_t new)
{
    old = ~old;
    return s + (old & 0xffff) + (old >> 16) + (new & 0xffff) + (new >> 16);
}

static inline uint32_t
csum_add_diff128(uint32_t s, const uint8_t *old, const uint8_t *new)
{
    int i;

    for (i = 0; i < 16; i += 4) {
        s = csum_add_diff32(s, rd32(old + i), rd32(new + i));
        s = (s & 0xffff) + (s >> 16);
    }
    return s;
}

/* Starts an update of stored checksum 'csum'. */
static inline uint32_t
csum_begin(uint16_t csum)
{
    return (uint16_t) ~csum;
}

static inline uint16_t
csum_end(uint32_t s)
{
    return (uint16_t) ~csum_fold(s);
}

/* ---- CRC32c for SCTP (reflected, polynomial 0x82f63b78). */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
    0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
    0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
    0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
    0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
    0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
    0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
    0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
    0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
    0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
    0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
    0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
    0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
    0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
    0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
    0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
    0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
    0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
    0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
    0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
    0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
    0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
    0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
    0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
    0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
    0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
    0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
    0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
    0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
    0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
    0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
    0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
    0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t
crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffff;
    size_t i;

    for (i = 0; i < n; i++) {
        crc = crc32c_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- Locating headers. */

/* What the frame's L3/L4 look like, as far as a rewrite needs. */
struct l3_info {
    uint8_t *ip;            /* L3 header. */
    size_t end;             /* Offset (from the frame) where the IP
                             * payload ends (excludes Ethernet padding). */
    size_t l4;              /* L4 offset or FLOW_OFS_NONE. */
    int l4_proto;           /* -1 if unknown (no L4). */
    bool frag;              /* Fragment (first or later). */
};

static bool
ethertype_is(const uint8_t *f, const struct flow_layers *ly, uint16_t type)
{
    return ly->l3 != FLOW_OFS_NONE && ly->l3 >= 14
           && get_be16(f + ly->l3 - 2) == type;
}

/* A valid IPv4 header at layers->l3, as flow_extract() accepts it. */
static bool
ipv4_locate(uint8_t *f, size_t len, const struct flow_layers *ly,
            struct l3_info *li)
{
    uint8_t *ip;
    size_t ihl, tot;

    if (!ethertype_is(f, ly, ETH_TYPE_IP) || len < ly->l3
        || len - ly->l3 < 20) {
        return false;
    }
    ip = f + ly->l3;
    ihl = (size_t) (ip[0] & 0x0f) * 4;
    tot = get_be16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || tot > len - ly->l3) {
        return false;
    }
    li->ip = ip;
    li->end = ly->l3 + tot;
    li->frag = (get_be16(ip + 6) & 0x3fff) != 0;
    if (ly->l4 == ly->l3 + ihl && !(get_be16(ip + 6) & 0x1fff)) {
        li->l4 = ly->l4;
        li->l4_proto = ip[9];
    } else {
        li->l4 = FLOW_OFS_NONE;
        li->l4_proto = -1;
    }
    return true;
}

/* A valid IPv6 header at layers->l3; walks the extension headers up to
 * layers->l4 to learn the upper-layer protocol. */
static bool
ipv6_locate(uint8_t *f, size_t len, const struct flow_layers *ly,
            struct l3_info *li)
{
    uint8_t *ip;
    size_t end, off;
    uint8_t nh;

    if (!ethertype_is(f, ly, ETH_TYPE_IPV6) || len < ly->l3
        || len - ly->l3 < 40) {
        return false;
    }
    ip = f + ly->l3;
    end = 40 + (size_t) get_be16(ip + 4);
    if ((ip[0] >> 4) != 6 || end > len - ly->l3) {
        return false;
    }
    li->ip = ip;
    li->end = ly->l3 + end;
    li->frag = false;
    li->l4 = FLOW_OFS_NONE;
    li->l4_proto = -1;

    nh = ip[6];
    off = 40;
    for (;;) {
        size_t elen;

        if (ly->l4 != FLOW_OFS_NONE && ly->l3 + off == ly->l4) {
            li->l4 = ly->l4;
            li->l4_proto = nh;
            break;
        }
        if (end - off < 8) {
            break;
        }
        if (nh == IPV6_NH_HOPOPTS || nh == IPV6_NH_ROUTING
            || nh == IPV6_NH_DSTOPTS) {
            elen = ((size_t) ip[off + 1] + 1) * 8;
        } else if (nh == IPV6_NH_AH) {
            elen = ((size_t) ip[off + 1] + 2) * 4;
        } else if (nh == IPV6_NH_FRAGMENT) {
            li->frag = true;
            elen = 8;
        } else {
            break;
        }
        if (elen > end - off) {
            break;
        }
        nh = ip[off];
        off += elen;
    }
    return true;
}

/* Offset of the L4 checksum that covers the IP pseudo header, or 0 if
 * there is none to update (or the header is truncated).  Sets '*is_udp'. */
static size_t
l4_pseudo_csum_ofs(const struct l3_info *li, bool *is_udp)
{
    size_t avail;

    *is_udp = false;
    if (li->l4 == FLOW_OFS_NONE || li->end < li->l4) {
        return 0;
    }
    avail = li->end - li->l4;
    switch (li->l4_proto) {
    case IPPROTO_TCP_:
        return avail >= 20 ? li->l4 + 16 : 0;
    case IPPROTO_UDP_:
        *is_udp = true;
        return avail >= 8 ? li->l4 + 6 : 0;
    case IPPROTO_ICMPV6_:
        return avail >= 4 ? li->l4 + 2 : 0;
    default:
        return 0;
    }
}

/* Applies 'diff', a folded sum of csum_add_diff*() terms, to the L4
 * checksum at 'ofs'. */
static void
l4_csum_apply(uint8_t *f, size_t ofs, bool is_udp, uint32_t diff)
{
    uint16_t c = rd16(f + ofs);

    if (is_udp && c == 0) {
        return;                 /* No checksum. */
    }
    c = csum_end(csum_begin(c) + diff);
    if (is_udp && c == 0) {
        c = 0xffff;
    }
    wr16(f + ofs, c);
}

static inline uint32_t
masked32(uint32_t old, uint32_t val, uint32_t mask)
{
    return (old & ~mask) | (val & mask);
}

static inline uint16_t
masked16(uint16_t old, uint16_t val, uint16_t mask)
{
    return (uint16_t) ((old & ~mask) | (val & mask));
}

static inline uint8_t
masked8(uint8_t old, uint8_t val, uint8_t mask)
{
    return (uint8_t) ((old & ~mask) | (val & mask));
}

/* ---- Actions. */

static int
set_eth(uint8_t *f, size_t len, const struct dp_action *a)
{
    int i;

    if (len < 14) {
        return EINVAL;
    }
    for (i = 0; i < 6; i++) {
        f[i] = masked8(f[i], a->eth.dst[i], a->eth.dst_mask[i]);
        f[6 + i] = masked8(f[6 + i], a->eth.src[i], a->eth.src_mask[i]);
    }
    return 0;
}

static int
set_ipv4(uint8_t *f, size_t len, const struct flow_layers *ly,
         const struct dp_action *a)
{
    struct l3_info li;
    uint32_t ip_diff = 0, l4_diff = 0;
    uint32_t old32, new32;
    uint16_t old16;
    uint8_t *ip;
    size_t cofs;
    bool is_udp;

    if (!ipv4_locate(f, len, ly, &li)) {
        return EINVAL;
    }
    ip = li.ip;

    old32 = rd32(ip + 12);
    new32 = masked32(old32, a->ipv4.src, a->ipv4.src_mask);
    if (new32 != old32) {
        ip_diff = csum_add_diff32(ip_diff, old32, new32);
        l4_diff = csum_add_diff32(l4_diff, old32, new32);
        wr32(ip + 12, new32);
    }
    old32 = rd32(ip + 16);
    new32 = masked32(old32, a->ipv4.dst, a->ipv4.dst_mask);
    if (new32 != old32) {
        ip_diff = csum_add_diff32(ip_diff, old32, new32);
        l4_diff = csum_add_diff32(l4_diff, old32, new32);
        wr32(ip + 16, new32);
    }
    if (a->ipv4.tos_mask) {
        old16 = rd16(ip);
        ip[1] = masked8(ip[1], a->ipv4.tos, a->ipv4.tos_mask);
        ip_diff = csum_add_diff16(ip_diff, old16, rd16(ip));
    }
    if (a->ipv4.ttl_mask) {
        old16 = rd16(ip + 8);
        ip[8] = masked8(ip[8], a->ipv4.ttl, a->ipv4.ttl_mask);
        ip_diff = csum_add_diff16(ip_diff, old16, rd16(ip + 8));
    }
    if (ip_diff) {
        uint16_t c = rd16(ip + 10);

        wr16(ip + 10, csum_end(csum_begin(c) + csum_fold(ip_diff)));
    }
    if (l4_diff && (cofs = l4_pseudo_csum_ofs(&li, &is_udp))
        && li.l4_proto != IPPROTO_ICMPV6_) {
        l4_csum_apply(f, cofs, is_udp, csum_fold(l4_diff));
    }
    return 0;
}

static int
set_ipv6(uint8_t *f, size_t len, const struct flow_layers *ly,
         const struct dp_action *a)
{
    struct l3_info li;
    uint8_t addr[16];
    uint32_t l4_diff = 0;
    uint8_t *ip;
    size_t cofs;
    bool is_udp, changed;
    int i;

    if (!ipv6_locate(f, len, ly, &li)) {
        return EINVAL;
    }
    ip = li.ip;

    for (i = 0; i < 2; i++) {
        uint8_t *p = ip + (i ? 24 : 8);
        const uint8_t *v = i ? a->ipv6.dst : a->ipv6.src;
        const uint8_t *m = i ? a->ipv6.dst_mask : a->ipv6.src_mask;
        int j;

        changed = false;
        for (j = 0; j < 16; j++) {
            addr[j] = masked8(p[j], v[j], m[j]);
            changed |= addr[j] != p[j];
        }
        if (changed) {
            l4_diff = csum_add_diff128(l4_diff, p, addr);
            memcpy(p, addr, 16);
        }
    }
    if (a->ipv6.tclass_mask) {
        uint8_t tc = (uint8_t) ((ip[0] & 0x0f) << 4 | ip[1] >> 4);

        tc = masked8(tc, a->ipv6.tclass, a->ipv6.tclass_mask);
        ip[0] = (uint8_t) ((ip[0] & 0xf0) | tc >> 4);
        ip[1] = (uint8_t) ((ip[1] & 0x0f) | (tc & 0x0f) << 4);
    }
    if (a->ipv6.hlimit_mask) {
        ip[7] = masked8(ip[7], a->ipv6.hlimit, a->ipv6.hlimit_mask);
    }
    if (l4_diff && (cofs = l4_pseudo_csum_ofs(&li, &is_udp))) {
        l4_csum_apply(f, cofs, is_udp, csum_fold(l4_diff));
    }
    return 0;
}

static int
set_l4(uint8_t *f, size_t len, const struct flow_layers *ly,
       const struct dp_action *a)
{
    struct l3_info li;
    uint16_t old_src, old_dst, new_src, new_dst;
    size_t need, cofs = 0;
    uint8_t *l4;

    if (!ipv4_locate(f, len, ly, &li) && !ipv6_locate(f, len, ly, &li)) {
        return EINVAL;
    }
    if (li.l4 == FLOW_OFS_NONE || li.l4_proto != a->l4.proto) {
        return EINVAL;
    }
    switch (a->l4.proto) {
    case IPPROTO_TCP_:
        need = 20;
        cofs = 16;
        break;
    case IPPROTO_UDP_:
        need = 8;
        cofs = 6;
        break;
    case IPPROTO_SCTP_:
        need = 12;
        break;
    default:
        return EINVAL;
    }
    if (li.end < li.l4 || li.end - li.l4 < need) {
        return EINVAL;
    }
    l4 = f + li.l4;
    old_src = rd16(l4);
    old_dst = rd16(l4 + 2);
    new_src = masked16(old_src, a->l4.src, a->l4.src_mask);
    new_dst = masked16(old_dst, a->l4.dst, a->l4.dst_mask);
    if (new_src == old_src && new_dst == old_dst) {
        return 0;
    }
    wr16(l4, new_src);
    wr16(l4 + 2, new_dst);
    if (a->l4.proto == IPPROTO_SCTP_) {
        if (!li.frag) {
            uint32_t crc;

            memset(l4 + 8, 0, 4);
            crc = crc32c(l4, li.end - li.l4);
            l4[8] = (uint8_t) crc;
            l4[9] = (uint8_t) (crc >> 8);
            l4[10] = (uint8_t) (crc >> 16);
            l4[11] = (uint8_t) (crc >> 24);
        }
    } else {
        uint32_t diff = csum_add_diff16(0, old_src, new_src);

        diff = csum_add_diff16(diff, old_dst, new_dst);
        l4_csum_apply(f, li.l4 + cofs, a->l4.proto == IPPROTO_UDP_,
                      csum_fold(diff));
    }
    return 0;
}

static bool
has_vlan(const uint8_t *f, size_t len)
{
    uint16_t tpid;

    if (len < 18) {
        return false;
    }
    tpid = get_be16(f + 12);
    return tpid == ETH_TYPE_VLAN || tpid == ETH_TYPE_VLAN_8021AD;
}

static void
layers_shift(struct flow_layers *ly, int delta)
{
    if (ly->l3 != FLOW_OFS_NONE) {
        ly->l3 = (uint16_t) (ly->l3 + delta);
    }
    if (ly->l4 != FLOW_OFS_NONE) {
        ly->l4 = (uint16_t) (ly->l4 + delta);
    }
}

int
pkt_rewrite(uint8_t **frame, size_t *len, size_t headroom,
            struct flow_layers *layers, const struct dp_action *a)
{
    uint8_t *f = *frame;
    size_t n = *len;

    switch ((enum dp_action_type) a->type) {
    case DPA_SET_ETH:
        return set_eth(f, n, a);
    case DPA_SET_IPV4:
        return set_ipv4(f, n, layers, a);
    case DPA_SET_IPV6:
        return set_ipv6(f, n, layers, a);
    case DPA_SET_L4:
        return set_l4(f, n, layers, a);
    case DPA_PUSH_VLAN:
        if (n < 14) {
            return EINVAL;
        }
        if (headroom < 4 || n > (size_t) 0xffff - 4) {
            return ENOSPC;
        }
        memmove(f - 4, f, 12);
        f -= 4;
        wr16(f + 12, a->push_vlan.tpid);
        wr16(f + 14, a->push_vlan.tci & (uint16_t) ~to_be16(FLOW_VLAN_CFI));
        *frame = f;
        *len = n + 4;
        layers_shift(layers, 4);
        if (layers->n_vlans < UINT8_MAX) {
            layers->n_vlans++;
        }
        return 0;
    case DPA_POP_VLAN:
        if (!has_vlan(f, n)) {
            return EINVAL;
        }
        memmove(f + 4, f, 12);
        *frame = f + 4;
        *len = n - 4;
        layers_shift(layers, -4);
        if (layers->n_vlans) {
            layers->n_vlans--;
        }
        return 0;
    case DPA_SET_VLAN: {
        uint16_t mask = a->set_vlan.tci_mask
                        & (uint16_t) ~to_be16(FLOW_VLAN_CFI);

        if (!has_vlan(f, n)) {
            return EINVAL;
        }
        wr16(f + 14, masked16(rd16(f + 14), a->set_vlan.tci, mask));
        return 0;
    }
    case DPA_OUTPUT:
    default:
        return ENOTSUP;
    }
}
