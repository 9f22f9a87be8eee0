/* SPDX-License-Identifier: BSD-3-Clause */
/* tnl.c: VXLAN and GENEVE outer headers (parse, build, finish) and the
 * tunnel port map (tnl.h). */

#include "tnl.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "util.h"

#define ETH_HLEN 14
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define UDP_HLEN 8
#define VXLAN_HLEN 8
#define GENEVE_HLEN 8
#define IPPROTO_UDP_ 17
#define ETH_P_TEB 0x6558        /* Transparent Ethernet bridging. */

#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_FRAG_OFS 0x1fff

#define VXLAN_FLAG_I 0x08

#define GENEVE_O 0x80           /* Second byte of the GENEVE header. */
#define GENEVE_C 0x40
#define GENEVE_OPT_CRIT 0x80    /* Option type's high bit. */

/* ---- Error names. ---- */

const char *
tnl_error_name(enum tnl_error err)
{
    static const char *const names[TNL_N_ERRORS] = {
        [TNL_OK] = "ok",
#define TNL_ERR(NAME, STR) [TNL_ERR_##NAME] = STR,
        TNL_ERRORS
#undef TNL_ERR
    };

    if ((unsigned int) err < TNL_N_ERRORS) {
        return names[err];
    }
    return "unknown";
}

/* ---- Internet checksum (RFC 1071): csum.h. ---- */

/* The partial sum of the UDP pseudo-header over an IPv4 or IPv6 header at
 * 'ip' for a UDP datagram of 'udp_len' bytes. */
static uint64_t
csum_pseudo(const uint8_t *ip, bool is_ipv6, uint32_t udp_len)
{
    uint64_t sum = 0;

    if (is_ipv6) {
        sum = csum_add(sum, ip + 8, 32);
    } else {
        sum = csum_add(sum, ip + 12, 8);
    }
    sum = csum_add16(sum, IPPROTO_UDP_);
    sum = csum_add16(sum, (uint16_t) (udp_len >> 16));
    return csum_add16(sum, (uint16_t) udp_len);
}

static void
put_vni(uint8_t *p, uint32_t vni)
{
    p[0] = (uint8_t) (vni >> 16);
    p[1] = (uint8_t) (vni >> 8);
    p[2] = (uint8_t) vni;
}

static uint32_t
get_vni(const uint8_t *p)
{
    return (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2];
}

/* ---- Parsing. ---- */

/* The entry of 'map' for option ('cls', 'type'), or NULL. */
static const struct tnl_tlv *
tlv_find(const struct tnl_tlv_map *map, uint16_t cls, uint8_t type)
{
    for (size_t i = 0; map && i < map->n; i++) {
        if (map->tlv[i].opt_class == cls && map->tlv[i].type == type) {
            return &map->tlv[i];
        }
    }
    return NULL;
}

/* Validates the VXLAN or GENEVE header at 'p', 'len' bytes up to the end
 * of the UDP payload; stores the header's length (with GENEVE options) in
 * '*tlen' and fills md's tun_id and OAM flag into '*vni' and '*oam', and
 * the GENEVE options 'map' names into md's tun_metadata. */
static enum tnl_error
parse_tunnel_hdr(enum tnl_type type, const uint8_t *p, size_t len,
                 const struct tnl_tlv_map *map, struct flow_tnl *md,
                 size_t *tlen, uint32_t *vni, bool *oam)
{
    if (type == TNL_VXLAN) {
        if (len < VXLAN_HLEN) {
            return TNL_ERR_TRUNCATED;
        }
        /* RFC 7348: the other flag bits and reserved fields are ignored
         * on receipt. */
        if (!(p[0] & VXLAN_FLAG_I)) {
            return TNL_ERR_BAD_HDR;
        }
        *vni = get_vni(p + 4);
        *oam = false;
        *tlen = VXLAN_HLEN;
        return TNL_OK;
    } else if (type == TNL_GENEVE) {
        size_t opt_len, ofs;

        if (len < GENEVE_HLEN) {
            return TNL_ERR_TRUNCATED;
        }
        opt_len = (size_t) (p[0] & 0x3f) * 4;
        if ((p[0] >> 6) != 0 || get_be16(p + 2) != ETH_P_TEB
            || opt_len > TNL_GENEVE_OPT_MAX) {
            return TNL_ERR_BAD_HDR;
        }
        if (len - GENEVE_HLEN < opt_len) {
            return TNL_ERR_TRUNCATED;
        }
        /* The header's C bit says critical options follow: each is
         * checked below.  Without a TLV map nothing is understood, so the
         * bit alone means drop (RFC 8926 section 3.5). */
        if ((p[1] & GENEVE_C) && (!map || !map->n)) {
            return TNL_ERR_CRITICAL_OPT;
        }
        for (ofs = 0; ofs < opt_len;) {
            const uint8_t *opt = p + GENEVE_HLEN + ofs;
            const struct tnl_tlv *t;
            size_t olen, dlen;

            if (opt_len - ofs < 4) {
                return TNL_ERR_BAD_HDR;
            }
            dlen = (size_t) (opt[3] & 0x1f) * 4;
            olen = 4 + dlen;
            if (olen > opt_len - ofs) {
                return TNL_ERR_BAD_HDR;
            }
            t = tlv_find(map, get_be16(opt), opt[2]);
            if (t && t->len == dlen && dlen <= FLOW_TNL_MD_LEN) {
                uint8_t *slot = (uint8_t *) &md->metadata[t->slot];

                memcpy(slot + FLOW_TNL_MD_LEN - dlen, opt + 4, dlen);
                md->md_present |= (uint8_t) (1u << t->slot);
            } else if (opt[2] & GENEVE_OPT_CRIT) {
                return TNL_ERR_CRITICAL_OPT;
            }
            ofs += olen;
        }
        *vni = get_vni(p + 4);
        *oam = (p[1] & GENEVE_O) != 0;
        *tlen = GENEVE_HLEN + opt_len;
        return TNL_OK;
    }
    return TNL_ERR_BAD_HDR;
}

enum tnl_error
tnl_parse(enum tnl_type type, const void *pkt, size_t len, uint16_t l3_ofs,
          struct flow_tnl *md, size_t *hdr_len)
{
    return tnl_parse_tlv(type, pkt, len, l3_ofs, NULL, md, hdr_len);
}

enum tnl_error
tnl_parse_tlv(enum tnl_type type, const void *pkt_, size_t len,
              uint16_t l3_ofs, const struct tnl_tlv_map *map,
              struct flow_tnl *md, size_t *hdr_len)
{
    const uint8_t *pkt = pkt_;
    const uint8_t *ip, *udp;
    size_t avail, l4_ofs, ip_end, udp_len, tlen;
    uint16_t flags = FLOW_TNL_F_KEY, csum;
    bool is_ipv6, oam;
    enum tnl_error err;
    uint32_t vni;

    if (len < l3_ofs || len - l3_ofs < 1) {
        return TNL_ERR_TRUNCATED;
    }
    ip = pkt + l3_ofs;
    avail = len - l3_ofs;
    zero_small(md, sizeof *md);

    if ((ip[0] >> 4) == 4) {
        size_t ihl, tot_len;
        uint16_t frag;

        if (avail < IPV4_HLEN) {
            return TNL_ERR_TRUNCATED;
        }
        ihl = (size_t) (ip[0] & 0x0f) * 4;
        if (ihl < IPV4_HLEN) {
            return TNL_ERR_BAD_IP;
        }
        if (avail < ihl) {
            return TNL_ERR_TRUNCATED;
        }
        if (csum_fold(csum_add(0, ip, ihl)) != 0xffff) {
            return TNL_ERR_IP_CSUM;
        }
        tot_len = get_be16(ip + 2);
        if (tot_len < ihl) {
            return TNL_ERR_BAD_IP;
        }
        if (tot_len > avail) {
            return TNL_ERR_TRUNCATED;
        }
        frag = get_be16(ip + 6);
        if (frag & (IPV4_MF | IPV4_FRAG_OFS)) {
            return TNL_ERR_FRAGMENT;
        }
        if (ip[9] != IPPROTO_UDP_) {
            return TNL_ERR_NOT_UDP;
        }
        is_ipv6 = false;
        if (frag & IPV4_DF) {
            flags |= FLOW_TNL_F_DONT_FRAGMENT;
        }
        md->ip_src = rd32(ip + 12);
        md->ip_dst = rd32(ip + 16);
        md->tos = ip[1];
        md->ttl = ip[8];
        l4_ofs = l3_ofs + ihl;
        ip_end = l3_ofs + tot_len;
    } else if ((ip[0] >> 4) == 6) {
        size_t pl_len;

        if (avail < IPV6_HLEN) {
            return TNL_ERR_TRUNCATED;
        }
        /* Extension headers are not supported: a tunnel endpoint's
         * traffic does not carry them in practice. */
        if (ip[6] != IPPROTO_UDP_) {
            return TNL_ERR_NOT_UDP;
        }
        pl_len = get_be16(ip + 4);
        if (pl_len > avail - IPV6_HLEN) {
            return TNL_ERR_TRUNCATED;
        }
        is_ipv6 = true;
        memcpy(md->ipv6_src, ip + 8, 16);
        memcpy(md->ipv6_dst, ip + 24, 16);
        md->tos = (uint8_t) ((ip[0] & 0x0f) << 4 | ip[1] >> 4);
        md->ttl = ip[7];
        l4_ofs = l3_ofs + IPV6_HLEN;
        ip_end = l4_ofs + pl_len;
    } else {
        return TNL_ERR_BAD_IP;
    }

    /* UDP: l4_ofs <= ip_end <= len from here on. */
    if (ip_end - l4_ofs < UDP_HLEN) {
        return TNL_ERR_TRUNCATED;
    }
    udp = pkt + l4_ofs;
    udp_len = get_be16(udp + 4);
    if (udp_len != ip_end - l4_ofs) {
        return TNL_ERR_UDP_LEN;
    }
    csum = get_be16(udp + 6);
    if (csum) {
        uint64_t sum = csum_pseudo(ip, is_ipv6, (uint32_t) udp_len);

        if (csum_fold(csum_add(sum, udp, udp_len)) != 0xffff) {
            return TNL_ERR_UDP_CSUM;
        }
        flags |= FLOW_TNL_F_CSUM;
    }

    err = parse_tunnel_hdr(type, udp + UDP_HLEN, udp_len - UDP_HLEN, map, md,
                           &tlen, &vni, &oam);
    if (err != TNL_OK) {
        return err;
    }
    if (udp_len - UDP_HLEN - tlen < ETH_HLEN) {
        return TNL_ERR_TRUNCATED;
    }
    if (oam) {
        flags |= FLOW_TNL_F_OAM;
    }
    md->tun_id = htobe64(vni);
    md->flags = to_be16(flags);
    *hdr_len = l4_ofs + UDP_HLEN + tlen;
    return TNL_OK;
}

/* ---- Building. ---- */

static bool
spec_valid(const struct tnl_spec *spec)
{
    return (spec->type == TNL_VXLAN || spec->type == TNL_GENEVE)
           && spec->vni < (1u << 24)
           && (spec->type != TNL_GENEVE
               || (spec->opts_len % 4 == 0
                   && spec->opts_len <= TNL_GENEVE_OPT_MAX
                   && (!spec->opts_len || spec->opts)));
}

/* The layout for a valid spec; hdr_len 0 for an invalid one. */
void
tnl_layout_of(const struct tnl_spec *spec, struct tnl_layout *lay)
{
    size_t ip_hlen = spec->is_ipv6 ? IPV6_HLEN : IPV4_HLEN;

    memset(lay, 0, sizeof *lay);
    lay->l3_ofs = ETH_HLEN;
    lay->l4_ofs = (uint16_t) (ETH_HLEN + ip_hlen);
    lay->is_ipv6 = spec->is_ipv6;
    lay->csum = spec->csum;
    if (spec_valid(spec)) {
        /* VXLAN and option-less GENEVE headers are both 8 bytes. */
        lay->hdr_len = (uint16_t) (lay->l4_ofs + UDP_HLEN + VXLAN_HLEN
                                   + (spec->type == TNL_GENEVE
                                      ? spec->opts_len : 0));
    }
}

void
tnl_layout_set_ip_sum(struct tnl_layout *lay, const void *hdr)
{
    const uint8_t *ip = (const uint8_t *) hdr + lay->l3_ofs;

    if (lay->is_ipv6 || lay->hdr_len < lay->l3_ofs + IPV4_HLEN) {
        return;
    }
    /* Bytes 0-1 and 6-9, and the addresses: all but total length,
     * identification and checksum. */
    lay->ip_sum = (uint32_t) csum_add(csum_add(csum_add(0, ip, 2), ip + 6, 4),
                                      ip + 12, 8);
    lay->has_ip_sum = true;
}

size_t
tnl_build(const struct tnl_spec *spec, void *buf_, size_t size)
{
    uint8_t *buf = buf_;
    struct tnl_layout lay;
    uint8_t *ip, *udp, *th;
    uint8_t ttl;

    tnl_layout_of(spec, &lay);
    if (!lay.hdr_len || size < lay.hdr_len) {
        return 0;
    }
    memset(buf, 0, lay.hdr_len);
    ttl = spec->ttl ? spec->ttl : 64;

    memcpy(buf, spec->eth_dst, 6);
    memcpy(buf + 6, spec->eth_src, 6);
    put_be16(buf + 12, spec->is_ipv6 ? 0x86dd : 0x0800);

    ip = buf + lay.l3_ofs;
    if (spec->is_ipv6) {
        ip[0] = (uint8_t) (0x60 | spec->tos >> 4);
        ip[1] = (uint8_t) (spec->tos << 4);
        ip[6] = IPPROTO_UDP_;
        ip[7] = ttl;
        memcpy(ip + 8, spec->ipv6_src, 16);
        memcpy(ip + 24, spec->ipv6_dst, 16);
    } else {
        ip[0] = 0x45;
        ip[1] = spec->tos;
        put_be16(ip + 6, spec->df ? IPV4_DF : 0);
        ip[8] = ttl;
        ip[9] = IPPROTO_UDP_;
        wr32(ip + 12, spec->ip_src);
        wr32(ip + 16, spec->ip_dst);
    }

    udp = buf + lay.l4_ofs;
    wr16(udp + 2, spec->udp_dst);

    th = udp + UDP_HLEN;
    if (spec->type == TNL_VXLAN) {
        th[0] = VXLAN_FLAG_I;
    } else {
        bool crit = false;

        for (size_t ofs = 0; ofs + 4 <= spec->opts_len;
             ofs += 4 + (size_t) (spec->opts[ofs + 3] & 0x1f) * 4) {
            crit |= (spec->opts[ofs + 2] & GENEVE_OPT_CRIT) != 0;
        }
        th[0] = (uint8_t) (spec->opts_len / 4);
        th[1] = (uint8_t) ((spec->oam ? GENEVE_O : 0)
                           | (crit ? GENEVE_C : 0));
        put_be16(th + 2, ETH_P_TEB);
        if (spec->opts_len) {
            memcpy(th + GENEVE_HLEN, spec->opts, spec->opts_len);
        }
    }
    put_vni(th + 4, spec->vni);
    return lay.hdr_len;
}

bool
tnl_finish(void *pkt_, size_t total, const struct tnl_layout *lay,
           uint16_t ip_id, uint16_t udp_src)
{
    uint8_t *pkt = pkt_;
    size_t ip_hlen = lay->is_ipv6 ? IPV6_HLEN : IPV4_HLEN;
    size_t udp_len;
    uint8_t *ip, *udp;

    /* A layout tnl_layout_of() did not make is refused too. */
    if (lay->l3_ofs + ip_hlen != lay->l4_ofs
        || lay->l4_ofs + UDP_HLEN > lay->hdr_len) {
        return false;
    }
    if (total < (size_t) lay->hdr_len + ETH_HLEN) {
        return false;
    }
    udp_len = total - lay->l4_ofs;
    if (lay->is_ipv6 ? udp_len > 0xffff : total - lay->l3_ofs > 0xffff) {
        return false;
    }

    ip = pkt + lay->l3_ofs;
    udp = pkt + lay->l4_ofs;
    if (lay->is_ipv6) {
        put_be16(ip + 4, (uint16_t) udp_len);
    } else if (lay->has_ip_sum) {
        uint64_t sum = (uint64_t) lay->ip_sum + (total - lay->l3_ofs)
                       + be16toh(ip_id);

        put_be16(ip + 2, (uint16_t) (total - lay->l3_ofs));
        wr16(ip + 4, ip_id);
        put_be16(ip + 10, (uint16_t) ~csum_fold(sum));
    } else {
        put_be16(ip + 2, (uint16_t) (total - lay->l3_ofs));
        wr16(ip + 4, ip_id);
        put_be16(ip + 10, 0);
        put_be16(ip + 10, (uint16_t) ~csum_fold(csum_add(0, ip, ip_hlen)));
    }
    wr16(udp, udp_src);
    put_be16(udp + 4, (uint16_t) udp_len);
    put_be16(udp + 6, 0);
    if (lay->csum) {
        uint64_t sum = csum_pseudo(ip, lay->is_ipv6, (uint32_t) udp_len);
        uint16_t c = (uint16_t) ~csum_fold(csum_add(sum, udp, udp_len));

        put_be16(udp + 6, c ? c : 0xffff);
    }
    return true;
}

uint16_t
tnl_udp_src_port(uint32_t hash)
{
    enum { LO = 32768, HI = 60999 };

    /* A bijective finaliser (MurmurHash3's fmix32) first, so that hashes
     * differing only in their low bits still spread; then a multiply-shift
     * onto the range, which is exactly as even as 2^32 allows. */
    hash ^= hash >> 16;
    hash *= 0x85ebca6bu;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35u;
    hash ^= hash >> 16;
    return to_be16((uint16_t) (LO + (((uint64_t) hash * (HI - LO + 1))
                                     >> 32)));
}

/* ---- Tunnel port map. ---- */

/* What an entry matches, normalised: "any" fields and the unused bytes of
 * IPv4 addresses are zero, so equal keys mean equal match sets. */
struct tnl_key {
    uint8_t remote[16];
    uint8_t local[16];
    uint32_t key;                   /* VNI, host order */
    uint32_t type;                  /* enum tnl_type */
    uint16_t udp_port;              /* be16 */
    uint8_t kind;                   /* KIND_* bits */
    uint8_t pad;                    /* Always zero. */
};
_Static_assert(sizeof(struct tnl_key) == 44, "tnl_key has holes");

#define KIND_LOCAL_ANY 1
#define KIND_KEY_ANY 2
#define KIND_REMOTE_ANY 4
#define KIND_IPV6 8
#define N_KINDS 16

/* Lookup order: the 8 combinations of "any" bits, most specific first
 * (remote, then key, then local decide precedence).  As numbers they are
 * simply 0..7 with the bits above. */

#define SLOT_EMPTY UINT32_MAX

struct tnl_map_slot {
    uint32_t hash;
    uint32_t idx;                   /* Into keys, port_nos; SLOT_EMPTY. */
};

struct tnl_port_id {
    uint32_t type;                  /* enum tnl_type */
    uint16_t udp_port;              /* be16 */
};

struct tnl_map {
    size_t n;                       /* Entries. */
    struct tnl_key *keys;           /* n, in the caller's order. */
    uint32_t *port_nos;             /* n */
    size_t mask;                    /* Slots - 1 (a power of 2 minus 1). */
    struct tnl_map_slot *slots;     /* Open addressing, linear probing. */
    uint16_t kinds;                 /* Bit (1 << kind) if some entry has it:
                                     * lookups skip the others. */
    size_t n_ports;                 /* Distinct (type, udp_port). */
    struct tnl_port_id *ports;
};

/* 32-bit words of a key, mixed (MurmurHash3's body and finaliser). */
static uint32_t
key_hash(const struct tnl_key *k)
{
    const uint8_t *p = (const uint8_t *) k;
    uint32_t h = 0x7e1c5b3d;
    size_t i;

    for (i = 0; i < sizeof *k; i += 4) {
        uint32_t w;

        memcpy(&w, p + i, 4);
        w *= 0xcc9e2d51u;
        w = w << 15 | w >> 17;
        w *= 0x1b873593u;
        h ^= w;
        h = h << 13 | h >> 19;
        h = h * 5 + 0xe6546b64u;
    }
    h ^= (uint32_t) sizeof *k;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static void
key_from_entry(const struct tnl_map_entry *e, struct tnl_key *k)
{
    size_t alen = e->is_ipv6 ? 16 : 4;

    memset(k, 0, sizeof *k);
    k->type = (uint32_t) e->type;
    k->udp_port = e->udp_port;
    if (e->remote_any) {
        k->kind |= KIND_REMOTE_ANY;
    } else {
        memcpy(k->remote, e->remote, alen);
    }
    if (e->local_any) {
        k->kind |= KIND_LOCAL_ANY;
    } else {
        memcpy(k->local, e->local, alen);
    }
    if (e->key_any) {
        k->kind |= KIND_KEY_ANY;
    } else {
        k->key = e->key;
    }
    if (e->is_ipv6) {
        k->kind |= KIND_IPV6;
    }
}

/* The index of the entry with key 'k' (hash 'h'), or SLOT_EMPTY. */
static uint32_t
map_find(const struct tnl_map *map, const struct tnl_key *k, uint32_t h)
{
    size_t i;

    for (i = h & map->mask;; i = (i + 1) & map->mask) {
        const struct tnl_map_slot *s = &map->slots[i];

        if (s->idx == SLOT_EMPTY) {
            return SLOT_EMPTY;
        }
        if (s->hash == h && !memcmp(&map->keys[s->idx], k, sizeof *k)) {
            return s->idx;
        }
    }
}

#ifndef NDEBUG
/* Invariants: every entry is in exactly one slot and found by its key;
 * 'kinds' is exact; the table is never full. */
static void
map_check(const struct tnl_map *map)
{
    uint16_t kinds = 0;
    size_t i, used = 0;

    for (i = 0; i <= map->mask; i++) {
        const struct tnl_map_slot *s = &map->slots[i];

        if (s->idx != SLOT_EMPTY) {
            assert(s->idx < map->n);
            assert(s->hash == key_hash(&map->keys[s->idx]));
            used++;
        }
    }
    assert(used == map->n && used <= map->mask);
    for (i = 0; i < map->n; i++) {
        const struct tnl_key *k = &map->keys[i];

        assert(map_find(map, k, key_hash(k)) == i);
        kinds |= (uint16_t) (1u << k->kind);
    }
    assert(kinds == map->kinds);
}
#else
#define map_check(MAP) ((void) (MAP))
#endif

struct tnl_map *
tnl_map_create(const struct tnl_map_entry *entries, size_t n, int *errp)
{
    struct tnl_map *map = NULL;
    size_t n_slots = 8, i, j;
    int err = ENOMEM;

    if (n > SLOT_EMPTY / 4) {
        goto error;
    }
    while (n_slots < 2 * n) {
        n_slots *= 2;
    }
    map = calloc(1, sizeof *map);
    if (!map) {
        goto error;
    }
    map->keys = calloc(n ? n : 1, sizeof *map->keys);
    map->port_nos = calloc(n ? n : 1, sizeof *map->port_nos);
    map->ports = calloc(n ? n : 1, sizeof *map->ports);
    map->slots = malloc(n_slots * sizeof *map->slots);
    if (!map->keys || !map->port_nos || !map->ports || !map->slots) {
        goto error;
    }
    map->mask = n_slots - 1;
    for (i = 0; i < n_slots; i++) {
        map->slots[i].idx = SLOT_EMPTY;
        map->slots[i].hash = 0;
    }

    for (i = 0; i < n; i++) {
        const struct tnl_map_entry *e = &entries[i];
        struct tnl_key *k = &map->keys[i];
        uint32_t h;
        size_t s;

        key_from_entry(e, k);
        h = key_hash(k);
        if (map_find(map, k, h) != SLOT_EMPTY) {
            err = EEXIST;
            goto error;
        }
        for (s = h & map->mask; map->slots[s].idx != SLOT_EMPTY;
             s = (s + 1) & map->mask) {
            continue;
        }
        map->slots[s].hash = h;
        map->slots[s].idx = (uint32_t) i;
        map->port_nos[i] = e->port_no;
        map->kinds |= (uint16_t) (1u << k->kind);
        map->n = i + 1;

        for (j = 0; j < map->n_ports; j++) {
            if (map->ports[j].type == k->type
                && map->ports[j].udp_port == k->udp_port) {
                break;
            }
        }
        if (j == map->n_ports) {
            map->ports[j].type = k->type;
            map->ports[j].udp_port = k->udp_port;
            map->n_ports++;
        }
    }
    map_check(map);
    if (errp) {
        *errp = 0;
    }
    return map;

error:
    tnl_map_destroy(map);
    if (errp) {
        *errp = err;
    }
    return NULL;
}

void
tnl_map_destroy(struct tnl_map *map)
{
    if (map) {
        free(map->keys);
        free(map->port_nos);
        free(map->slots);
        free(map->ports);
        free(map);
    }
}

uint32_t
tnl_map_lookup(const struct tnl_map *map, enum tnl_type type,
               uint16_t udp_port, const struct flow_tnl *md)
{
    uint8_t remote[16], local[16];
    uint64_t vni = be64toh(md->tun_id);
    bool is_ipv6 = !md->ip_src && !md->ip_dst;
    unsigned int kind;

    memset(remote, 0, sizeof remote);
    memset(local, 0, sizeof local);
    if (is_ipv6) {
        memcpy(remote, md->ipv6_src, 16);
        memcpy(local, md->ipv6_dst, 16);
    } else {
        memcpy(remote, &md->ip_src, 4);
        memcpy(local, &md->ip_dst, 4);
    }

    /* 'kind' counts up from 0 (all exact): remote is its most significant
     * bit, then key, then local, which is the header's precedence. */
    for (kind = 0; kind < 8; kind++) {
        unsigned int full = kind | (is_ipv6 ? KIND_IPV6 : 0);
        struct tnl_key k;
        uint32_t idx;

        if (!(map->kinds & (1u << full))) {
            continue;
        }
        if (!(kind & KIND_KEY_ANY) && vni > UINT32_MAX) {
            continue;
        }
        memset(&k, 0, sizeof k);
        k.type = (uint32_t) type;
        k.udp_port = udp_port;
        k.kind = (uint8_t) full;
        if (!(kind & KIND_REMOTE_ANY)) {
            memcpy(k.remote, remote, sizeof remote);
        }
        if (!(kind & KIND_LOCAL_ANY)) {
            memcpy(k.local, local, sizeof local);
        }
        if (!(kind & KIND_KEY_ANY)) {
            k.key = (uint32_t) vni;
        }
        idx = map_find(map, &k, key_hash(&k));
        if (idx != SLOT_EMPTY) {
            return map->port_nos[idx];
        }
    }
    return UINT32_MAX;
}

bool
tnl_map_has_port(const struct tnl_map *map, enum tnl_type type,
                 uint16_t udp_port)
{
    size_t i;

    for (i = 0; i < map->n_ports; i++) {
        if (map->ports[i].type == (uint32_t) type
            && map->ports[i].udp_port == udp_port) {
            return true;
        }
    }
    return false;
}

size_t
tnl_geneve_opts(const struct tnl_tlv_map *map, const struct flow_tnl *md,
                uint8_t *buf, size_t size)
{
    size_t n = 0;

    for (size_t i = 0; map && i < map->n; i++) {
        const struct tnl_tlv *t = &map->tlv[i];
        const uint8_t *slot = (const uint8_t *) &md->metadata[t->slot];

        if (!(md->md_present & (1u << t->slot)) || t->len > FLOW_TNL_MD_LEN
            || t->len % 4 || n + 4 + t->len > size
            || n + 4 + t->len > TNL_GENEVE_OPT_MAX) {
            continue;
        }
        put_be16(buf + n, t->opt_class);
        buf[n + 2] = t->type;
        buf[n + 3] = (uint8_t) (t->len / 4);
        memcpy(buf + n + 4, slot + FLOW_TNL_MD_LEN - t->len, t->len);
        n += 4 + t->len;
    }
    return n;
}

/* ---- TLV map text. ---- */

static const char *
skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/* "NAME=NUMBER" at '*sp' (decimal or 0x hex, at most 'max'). */
static bool
tlv_item(const char **sp, const char *name, unsigned long max,
         unsigned long *v)
{
    const char *s = skip_ws(*sp);
    size_t n = strlen(name);
    char *end;

    if (strncmp(s, name, n) || s[n] != '=') {
        return false;
    }
    s += n + 1;
    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    *v = strtoul(s, &end, 0);
    if (errno || *v > max || end == s) {
        return false;
    }
    *sp = skip_ws(end);
    return true;
}

const char *
tnl_tlv_from_string(const char *s, struct tnl_tlv *t)
{
    unsigned long cls, type, len, slot;
    char *end;

    memset(t, 0, sizeof *t);
    s = skip_ws(s);
    if (*s++ != '{') {
        return "expected {class=C,type=T,len=L}->tun_metadataN";
    }
    if (!tlv_item(&s, "class", 0xffff, &cls) || *s++ != ',') {
        return "expected class=0..0xffff first";
    }
    if (!tlv_item(&s, "type", 0xff, &type) || *s++ != ',') {
        return "expected type=0..0xff after class";
    }
    if (!tlv_item(&s, "len", 124, &len) || *s++ != '}') {
        return "expected len=4 or 8 after type, then }";
    }
    if (len != 4 && len != 8) {
        return "len must be 4 or 8 (sluice's tun_metadata fields hold up "
               "to 8 bytes)";
    }
    s = skip_ws(s);
    if (strncmp(s, "->", 2)) {
        return "expected ->tun_metadataN after }";
    }
    s = skip_ws(s + 2);
    if (strncmp(s, "tun_metadata", 12) || s[12] < '0' || s[12] > '9') {
        return "expected tun_metadata0..7 after ->";
    }
    errno = 0;
    slot = strtoul(s + 12, &end, 10);
    if (errno || slot >= FLOW_TNL_MD_SLOTS || *skip_ws(end)) {
        return "expected tun_metadata0..7 (and nothing after it)";
    }
    t->opt_class = (uint16_t) cls;
    t->type = (uint8_t) type;
    t->len = (uint8_t) len;
    t->slot = (uint8_t) slot;
    return NULL;
}

size_t
tnl_tlv_to_string(const struct tnl_tlv *t, char *buf, size_t size)
{
    int n = snprintf(buf, size, "{class=0x%x,type=0x%x,len=%u}"
                     "->tun_metadata%u", t->opt_class, t->type, t->len,
                     t->slot);

    return n < 0 ? 0 : (size_t) n;
}

int
tnl_tlv_map_add(struct tnl_tlv_map *map, const struct tnl_tlv *t)
{
    for (size_t i = 0; i < map->n; i++) {
        const struct tnl_tlv *o = &map->tlv[i];
        bool same_opt = o->opt_class == t->opt_class && o->type == t->type;

        if (same_opt && o->slot == t->slot && o->len == t->len) {
            return 0;
        }
        if (same_opt || o->slot == t->slot) {
            return EEXIST;
        }
    }
    if (map->n >= FLOW_TNL_MD_SLOTS) {
        return ENOSPC;
    }
    map->tlv[map->n++] = *t;
    return 0;
}
