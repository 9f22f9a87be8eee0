/* SPDX-License-Identifier: BSD-3-Clause */
/* ct-nat.c: NAT for conntrack: candidate reply tuples and packet rewrite. */

/*
 * A NATed connection keeps its original tuple O (as the first packet
 * carried it) and a translated reply tuple R: SNAT replaces R's
 * destination (the address/port replies go to), DNAT R's source.  A
 * packet of direction d carries the tuple of entry d and is rewritten to
 * reverse(entry 1-d): originals to reverse(R), replies to reverse(O) =
 * un-NAT.  An ICMP error related to the connection carries, embedded, a
 * packet of the other direction, rewritten likewise, and its outer
 * addresses follow the embedded ones.
 *
 * Candidates: addresses addr_min..addr_max (IPv6: ranges that differ in
 * the last 32 bits only; all zero: keep the address) times ports
 * port_min..port_max, walked from an offset taken from the tuple hash;
 * without a port range DNAT keeps the port and SNAT tries the original
 * port first, then 1024-65535 (OVS picks 1-511 / 600-1023 / 1024-65535
 * by the original port's class).
 * Only TCP and UDP ports are translated (an SCTP port change would need
 * a CRC32c recomputation; ICMP ids are kept).  The caller inserts the
 * first candidate whose reply tuple is not in the table, under the
 * buckets' locks, so a tuple in use is never handed out.
 *
 * Checksums are updated incrementally (RFC 1624 eqn. 3): IPv4 header,
 * TCP/UDP through the pseudo header (a UDP/IPv4 checksum of 0 stays 0, a
 * result of 0 is written 0xffff), the embedded IPv4 header and the
 * embedded TCP/UDP checksum when it lies inside the error; the ICMP/ICMPv6
 * checksum of an error is recomputed (the message is short).
 */

#include "ct-private.h"

#include <string.h>

#include "util.h"

static uint32_t
addr_low32(const uint8_t *a, bool v6)
{
    const uint8_t *p = v6 ? a + 12 : a;

    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static void
addr_set_low32(uint8_t *a, bool v6, uint32_t v)
{
    uint8_t *p = v6 ? a + 12 : a;

    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* An all-zero address range means "keep the address" (nat(src=:ports)). */
static bool
keeps_addr(const struct ct_nat *nat, bool v6)
{
    static const uint8_t zero[16];

    return !memcmp(nat->addr_min, zero, v6 ? 16 : 4);
}

static bool
nat_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_;
}

uint64_t
ct_nat_n_candidates(const struct ct_nat *nat, const struct ct_tuple *orig)
{
    bool v6 = orig->is_ipv6;
    uint32_t lo = addr_low32(nat->addr_min, v6);
    uint32_t hi = addr_low32(nat->addr_max, v6);
    uint64_t naddr = hi >= lo && !keeps_addr(nat, v6)
                     ? (uint64_t) hi - lo + 1 : 1;
    uint64_t nport = 1;

    if (nat_ports(orig->nw_proto)) {
        if (nat->port_min || nat->port_max) {
            nport = nat->port_max >= nat->port_min
                    ? (uint64_t) nat->port_max - nat->port_min + 1 : 1;
        } else if (nat->flags & CT_NAT_SRC) {
            nport = 1 + (65535 - 1024 + 1);
        }
    }
    return naddr * nport;
}

void
ct_nat_candidate(const struct ct_nat *nat, const struct ct_tuple *orig,
                 uint32_t hash, uint64_t i, struct ct_tuple *reply)
{
    bool v6 = orig->is_ipv6;
    bool snat = nat->flags & CT_NAT_SRC;
    uint32_t lo = addr_low32(nat->addr_min, v6);
    uint32_t hi = addr_low32(nat->addr_max, v6);
    uint64_t naddr = hi >= lo && !keeps_addr(nat, v6)
                     ? (uint64_t) hi - lo + 1 : 1;
    uint64_t total = ct_nat_n_candidates(nat, orig);
    uint64_t a, p = 0;
    uint8_t *addr;
    uint16_t *port;
    bool ranged = nat->port_min || nat->port_max;

    ct_tuple_reverse(orig, reply);
    addr = snat ? reply->dst : reply->src;
    port = snat ? &reply->dst_port : &reply->src_port;
    if (snat && !ranged && nat_ports(orig->nw_proto)) {
        /* The original port on each address first, then 1024-65535. */
        if (i < naddr) {
            a = (i + hash) % naddr;
            p = 0;
        } else {
            uint64_t k = (i - naddr + hash) % (total - naddr);

            a = k % naddr;
            p = 1 + k / naddr;
        }
    } else {
        uint64_t k = (i + hash) % total;

        a = k % naddr;
        p = k / naddr;
    }
    if (!keeps_addr(nat, v6)) {
        memcpy(addr, nat->addr_min, v6 ? 16 : 4);
        addr_set_low32(addr, v6, (uint32_t) (lo + a));
    }
    if (!nat_ports(orig->nw_proto)) {
        return;
    }
    if (ranged) {
        *port = to_be16((uint16_t) (nat->port_min + p));
    } else if (snat && p) {
        *port = to_be16((uint16_t) (1024 + p - 1));
    }
}

/* RFC 1624 eqn. 3 over 'n' (even) bytes: the 16-bit checksum at 'csum'
 * for data where 'old' became 'new'. */
static void
csum_update(uint8_t *csum, const uint8_t *old, const uint8_t *new, size_t n)
{
    uint32_t s = (uint16_t) ~get_be16(csum);
    size_t i;

    for (i = 0; i < n; i += 2) {
        s += (uint16_t) ~get_be16(old + i);
        s += get_be16(new + i);
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    s = (uint16_t) ~s;
    csum[0] = (uint8_t) (s >> 8);
    csum[1] = (uint8_t) s;
}

/* Where the L4 checksum of 'proto' is, or -1; 'udp_zero_ok': an IPv4
 * UDP checksum 0 means none. */
static int
l4_csum_ofs(uint8_t proto, bool v6)
{
    if (proto == IPPROTO_TCP_) {
        return 16;
    } else if (proto == IPPROTO_UDP_) {
        return 6;
    } else if (v6 && proto == IPPROTO_ICMPV6_) {
        return 2;
    }
    return -1;
}

/* Rewrites the header of one (outer or embedded) IP packet: l3 at 'l3',
 * its L4 header at 'l4' with 'l4_avail' bytes present, from tuple 'from'
 * to 'to'.  'pseudo': the L4 checksum covers the addresses (not for
 * ICMPv4).  'l3_csum': IPv4 header checksum to maintain. */
static void
rewrite_hdr(uint8_t *l3, uint8_t *l4, size_t l4_avail, bool v6,
            uint8_t proto, const struct ct_tuple *from,
            const struct ct_tuple *to, bool ports)
{
    size_t alen = v6 ? 16 : 4;
    uint8_t *src = l3 + (v6 ? 8 : 12), *dst = l3 + (v6 ? 24 : 16);
    int co = l4_csum_ofs(proto, v6);
    uint8_t *l4c = NULL;

    if (co >= 0 && l4_avail >= (size_t) co + 2) {
        l4c = l4 + co;
        if (proto == IPPROTO_UDP_ && !v6 && !get_be16(l4c)) {
            l4c = NULL;             /* No checksum. */
        }
    }
    for (int k = 0; k < 2; k++) {
        uint8_t *field = k ? dst : src;
        const uint8_t *want = k ? to->dst : to->src;

        if (!memcmp(field, want, alen)) {
            continue;
        }
        if (!v6) {
            csum_update(l3 + 10, field, want, 4);
        }
        if (l4c) {
            csum_update(l4c, field, want, alen);
        }
        memcpy(field, want, alen);
    }
    if (ports && nat_ports(proto) && l4_avail >= 4) {
        uint16_t want[2] = { to->src_port, to->dst_port };

        for (int k = 0; k < 2; k++) {
            uint8_t *field = l4 + 2 * k;

            if (!memcmp(field, &want[k], 2)) {
                continue;
            }
            if (l4c) {
                csum_update(l4c, field, (const uint8_t *) &want[k], 2);
            }
            memcpy(field, &want[k], 2);
        }
    }
    if (l4c && proto == IPPROTO_UDP_ && !get_be16(l4c)) {
        l4c[0] = l4c[1] = 0xff;
    }
}

static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
    while (n >= 2) {
        s += get_be16(p);
        p += 2;
        n -= 2;
    }
    if (n) {
        s += (uint32_t) p[0] << 8;
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return s;
}

int
ct_nat_rewrite(uint8_t *data, uint32_t len, const struct flow_layers *ly,
               bool v6, const struct ct_tuple *from,
               const struct ct_tuple *to, bool related)
{
    uint8_t *l3, *l4, *end;
    uint8_t proto;

    if (ly->l3 == FLOW_OFS_NONE || ly->l4 == FLOW_OFS_NONE
        || ly->l4 > len || ly->l3 + (v6 ? 40u : 20u) > len) {
        return -1;
    }
    l3 = data + ly->l3;
    l4 = data + ly->l4;
    end = v6 ? l3 + 40 + get_be16(l3 + 4) : l3 + get_be16(l3 + 2);
    if (end > data + len || end < l4) {
        return -1;
    }
    if (!related) {
        proto = v6 ? from->nw_proto : l3[9];
        rewrite_hdr(l3, l4, (size_t) (end - l4), v6, proto, from, to, true);
        return 0;
    }

    /* ICMP error: 'from' and 'to' are the embedded packet's tuples. */
    {
        uint8_t *in3 = l4 + 8, *in4;
        size_t n = (size_t) (end - in3);
        uint8_t old_in_dst[16];
        uint8_t *osrc = l3 + (v6 ? 8 : 12), *odst = l3 + (v6 ? 24 : 16);
        uint8_t iproto;
        uint32_t s;

        if (end - l4 < 8) {
            return -1;
        }
        if (!v6) {
            size_t ihl;

            if (n < 20) {
                return -1;
            }
            ihl = (size_t) (in3[0] & 0x0f) * 4;
            if (ihl < 20 || ihl > n) {
                return -1;
            }
            in4 = in3 + ihl;
            iproto = in3[9];
            memcpy(old_in_dst, in3 + 16, 4);
        } else {
            size_t off = 40;
            uint8_t nh;

            if (n < 40) {
                return -1;
            }
            nh = in3[6];
            while (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
                size_t l;

                if (n - off < 8) {
                    return -1;
                }
                l = nh == 51 ? ((size_t) in3[off + 1] + 2) * 4
                             : ((size_t) in3[off + 1] + 1) * 8;
                if (l > n - off) {
                    return -1;
                }
                nh = in3[off];
                off += l;
            }
            in4 = in3 + off;
            iproto = nh;
            memcpy(old_in_dst, in3 + 24, 16);
        }
        rewrite_hdr(in3, in4, (size_t) (end - in4), v6, iproto, from, to,
                    true);
        /* The error goes to the embedded source; it came from the embedded
         * destination or from a router on the way (left alone). */
        if (!v6) {
            if (memcmp(odst, in3 + 12, 4)) {
                csum_update(l3 + 10, odst, in3 + 12, 4);
                memcpy(odst, in3 + 12, 4);
            }
            if (!memcmp(osrc, old_in_dst, 4) && memcmp(osrc, in3 + 16, 4)) {
                csum_update(l3 + 10, osrc, in3 + 16, 4);
                memcpy(osrc, in3 + 16, 4);
            }
        } else {
            memcpy(odst, in3 + 8, 16);
            if (!memcmp(osrc, old_in_dst, 16)) {
                memcpy(osrc, in3 + 24, 16);
            }
        }
        /* The ICMP checksum, from scratch. */
        l4[2] = l4[3] = 0;
        s = 0;
        if (v6) {
            uint32_t plen = (uint32_t) (end - l4);

            s = sum16(s, l3 + 8, 32);
            s = sum16(s + (plen >> 16) + (plen & 0xffff) + IPPROTO_ICMPV6_,
                      NULL, 0);
        }
        s = sum16(s, l4, (size_t) (end - l4));
        s = (uint16_t) ~s;
        l4[2] = (uint8_t) (s >> 8);
        l4[3] = (uint8_t) s;
    }
    return 0;
}
