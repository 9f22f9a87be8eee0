/* SPDX-License-Identifier: BSD-3-Clause */
/* pkt-ol.c: checksum and TCP segmentation offload in software (pkt-ol.h). */

#include "pkt-ol.h"

#include "csum.h"
#include "util.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40
#define UDP_HLEN 8
#define TCP_MIN_HLEN 20
#define TNL_HLEN 8                  /* VXLAN, and GENEVE before options. */
#define MAX_VLANS 2
#define MAX_V6_EXT 8

#define PROTO_TCP 6
#define PROTO_UDP 17

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/* Skips the Ethernet header and up to MAX_VLANS tags at '*ofs' (within
 * 'avail' readable bytes); the EtherType after them in '*type'. */
static bool
parse_l2(const uint8_t *p, size_t avail, size_t *ofs, uint16_t *type)
{
    size_t o = *ofs;

    if (o + ETH_HLEN > avail) {
        return false;
    }
    *type = get_be16(p + o + 12);
    o += ETH_HLEN;
    for (int k = 0; k < MAX_VLANS && (*type == 0x8100 || *type == 0x88a8);
         k++) {
        if (o + VLAN_HLEN > avail) {
            return false;
        }
        *type = get_be16(p + o + 2);
        o += VLAN_HLEN;
    }
    *ofs = o;
    return true;
}

/* The IP header at 'l3' (EtherType 'type'; readable within 'avail', the
 * frame 'total' bytes long): its L4 protocol, L4 offset and datagram end.
 * No fragments. */
static bool
parse_ip(const uint8_t *p, size_t avail, size_t total, size_t l3,
         uint16_t type, bool *v6, uint8_t *proto, size_t *l4, size_t *end)
{
    if (type == 0x0800) {
        size_t ihl, tot;

        if (l3 + IPV4_MIN_HLEN > avail || p[l3] >> 4 != 4) {
            return false;
        }
        ihl = (size_t) (p[l3] & 0xf) * 4;
        tot = get_be16(p + l3 + 2);
        if (ihl < IPV4_MIN_HLEN || tot < ihl || l3 + ihl > avail
            || l3 + tot > total || (get_be16(p + l3 + 6) & 0x3fff)) {
            return false;
        }
        *v6 = false;
        *proto = p[l3 + 9];
        *l4 = l3 + ihl;
        *end = l3 + tot;
        return true;
    }
    if (type == 0x86dd) {
        size_t o = l3 + IPV6_HLEN, e;
        uint8_t nh;

        if (l3 + IPV6_HLEN > avail || p[l3] >> 4 != 6) {
            return false;
        }
        e = o + get_be16(p + l3 + 4);
        if (e > total) {
            return false;
        }
        nh = p[l3 + 6];
        for (int k = 0; k < MAX_V6_EXT && (nh == 0 || nh == 43 || nh == 60);
             k++) {
            if (o + 8 > e || o + 8 > avail) {
                return false;
            }
            nh = p[o];
            o += ((size_t) p[o + 1] + 1) * 8;
        }
        if (o > e || o > avail) {
            return false;
        }
        *v6 = true;
        *proto = nh;
        *l4 = o;
        *end = e;
        return true;
    }
    return false;
}

bool
pkt_ol_parse(const uint8_t *p, size_t avail, size_t total,
             enum pkt_ol_tunnel tunnel, struct pkt_ol_layout *ly)
{
    size_t o = 0, l4, end;
    uint16_t type;
    uint8_t proto;
    bool v6;

    if (avail > total) {
        avail = total;
    }
    ly->tunnel = (uint8_t) tunnel;
    ly->outer_v6 = false;
    ly->outer_l3 = ly->outer_l4 = 0;
    ly->outer_end = 0;
    if (tunnel != PKT_OL_TNL_NONE) {
        size_t t;

        if (!parse_l2(p, avail, &o, &type)
            || !parse_ip(p, avail, total, o, type, &v6, &proto, &l4, &end)
            || proto != PROTO_UDP || l4 + UDP_HLEN + TNL_HLEN > end
            || l4 + UDP_HLEN + TNL_HLEN > avail) {
            return false;
        }
        ly->outer_v6 = v6;
        ly->outer_l3 = (uint16_t) o;
        ly->outer_l4 = (uint16_t) l4;
        ly->outer_end = (uint32_t) end;
        t = l4 + UDP_HLEN;
        o = t + TNL_HLEN;
        if (tunnel == PKT_OL_TNL_GENEVE) {
            o += (size_t) (p[t] & 0x3f) * 4;
        } else if (tunnel != PKT_OL_TNL_VXLAN) {
            return false;
        }
        total = end;            /* The inner frame ends with the outer. */
        if (avail > total) {
            avail = total;
        }
    }
    ly->l2 = (uint16_t) o;
    if (!parse_l2(p, avail, &o, &type)
        || !parse_ip(p, avail, total, o, type, &v6, &proto, &l4, &end)) {
        return false;
    }
    if (proto == PROTO_TCP) {
        size_t doff;

        if (l4 + TCP_MIN_HLEN > end || l4 + TCP_MIN_HLEN > avail) {
            return false;
        }
        doff = (size_t) (p[l4 + 12] >> 4) * 4;
        if (doff < TCP_MIN_HLEN || l4 + doff > end || l4 + doff > avail) {
            return false;
        }
        ly->l4_hlen = (uint16_t) doff;
    } else if (proto == PROTO_UDP) {
        if (l4 + UDP_HLEN > end || l4 + UDP_HLEN > avail) {
            return false;
        }
        ly->l4_hlen = UDP_HLEN;
    } else {
        return false;
    }
    ly->v6 = v6;
    ly->proto = proto;
    ly->l3 = (uint16_t) o;
    ly->l4 = (uint16_t) l4;
    ly->hdr_len = (uint16_t) (l4 + ly->l4_hlen);
    ly->end = (uint32_t) end;
    return true;
}

/* The pseudo-header sum of the IP header at 'ip' for 'len' bytes of
 * protocol 'proto'. */
static uint64_t
pseudo(const uint8_t *ip, bool v6, uint8_t proto, uint32_t len)
{
    uint64_t sum = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);

    sum = csum_add16(sum, proto);
    sum = csum_add16(sum, (uint16_t) (len >> 16));
    return csum_add16(sum, (uint16_t) len);
}

static size_t
l4_csum_ofs(const struct pkt_ol_layout *ly)
{
    return ly->l4 + (ly->proto == PROTO_TCP ? 16 : 6);
}

/* The complemented checksum of 'sum'; a UDP checksum of 0 is sent as
 * 0xffff (0 means "none"). */
static uint16_t
finish(uint64_t sum, bool udp)
{
    uint16_t c = (uint16_t) ~csum_fold(sum);

    return udp && !c ? 0xffff : c;
}

/* The outer IPv4 header checksum, recomputed; or nothing for IPv6. */
static void
ipv4_csum(uint8_t *ip, size_t ihl)
{
    put_be16(ip + 10, 0);
    put_be16(ip + 10, (uint16_t) ~csum_fold(csum_add(0, ip, ihl)));
}

void
pkt_ol_csum(uint8_t *p, const struct pkt_ol_layout *ly, bool outer_csum)
{
    uint32_t l4_len = ly->end - ly->l4;
    uint8_t *c = p + l4_csum_ofs(ly);

    put_be16(c, 0);
    put_be16(c, finish(pseudo(p + ly->l3, ly->v6, ly->proto, l4_len)
                       + csum_add(0, p + ly->l4, l4_len),
                       ly->proto == PROTO_UDP));
    if (ly->tunnel != PKT_OL_TNL_NONE && outer_csum) {
        uint8_t *udp = p + ly->outer_l4;
        uint32_t ulen = ly->outer_end - ly->outer_l4;

        put_be16(udp + 6, 0);
        put_be16(udp + 6, finish(pseudo(p + ly->outer_l3, ly->outer_v6,
                                        PROTO_UDP, ulen)
                                 + csum_add(0, udp, ulen), true));
    }
}

void
pkt_ol_csum_partial(uint8_t *p, const struct pkt_ol_layout *ly)
{
    put_be16(p + l4_csum_ofs(ly),
             csum_fold(pseudo(p + ly->l3, ly->v6, ly->proto,
                              ly->end - ly->l4)));
}

uint32_t
pkt_ol_n_segs(const struct pkt_ol_layout *ly, uint32_t mss)
{
    uint32_t payload = ly->end - ly->hdr_len;

    return payload ? (payload + mss - 1) / mss : 1;
}

/* Sets the IP length (and for IPv4 identification + i and the header
 * checksum) of the header at 'ip' (L4 header at 'l4') for a datagram
 * ending 'rest' bytes after the L4 header. */
static void
seg_ip(uint8_t *ip, uint8_t *l4, bool v6, uint32_t rest, uint32_t i)
{
    size_t hl = (size_t) (l4 - ip);

    if (v6) {
        put_be16(ip + 4, (uint16_t) (hl - IPV6_HLEN + rest));
    } else {
        put_be16(ip + 2, (uint16_t) (hl + rest));
        put_be16(ip + 4, (uint16_t) (get_be16(ip + 4) + i));
        ipv4_csum(ip, (size_t) (ip[0] & 0xf) * 4);
    }
}

void
pkt_ol_seg_fix(uint8_t *hdr, const struct pkt_ol_layout *ly, uint32_t i,
               uint32_t n, uint32_t mss, const uint8_t *payload,
               uint32_t plen, bool outer_csum)
{
    uint8_t *ip = hdr + ly->l3, *th = hdr + ly->l4;
    uint32_t l4_len = ly->l4_hlen + plen;
    uint64_t psum = csum_add(0, payload, plen);
    uint8_t flags = th[13];

    seg_ip(ip, th, ly->v6, l4_len, i);
    put_be32(th + 4, get_be32(th + 4) + i * mss);
    if (i + 1 < n) {
        flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
    }
    if (i) {
        flags &= (uint8_t) ~TCP_CWR;
    }
    th[13] = flags;
    put_be16(th + 16, 0);
    put_be16(th + 16, finish(pseudo(ip, ly->v6, PROTO_TCP, l4_len)
                             + csum_add(0, th, ly->l4_hlen) + psum, false));

    if (ly->tunnel != PKT_OL_TNL_NONE) {
        uint8_t *oip = hdr + ly->outer_l3, *udp = hdr + ly->outer_l4;
        uint32_t ulen = ly->hdr_len - ly->outer_l4 + plen;

        seg_ip(oip, udp, ly->outer_v6, ulen, i);
        put_be16(udp + 4, (uint16_t) ulen);
        put_be16(udp + 6, 0);
        if (outer_csum) {
            put_be16(udp + 6,
                     finish(pseudo(oip, ly->outer_v6, PROTO_UDP, ulen)
                            + csum_add(0, udp, ly->hdr_len - ly->outer_l4)
                            + psum, true));
        }
    }
}
