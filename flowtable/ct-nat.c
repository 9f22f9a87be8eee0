/* SPDX-License-Identifier: BSD-3-Clause */
/* ct-nat.c: NAT for conntrack: candidate reply tuples and packet rewrite. */

/*
 * A NATed connection keeps its original tuple O (as the first packet
 * carried it) and a translated reply tuple R: SNAT replaces R's
 * destination (the address/port replies go to), DNAT R's source.  A
 * packet of direction d carries the tuple of entry d and is rewritten to
 * reverse(entry 1-d): originals to reverse(R), replies to reverse(O) =
 * un-NAT.  An ICMP error related to the connection carries, embedded, a
 * packet of the other direction, rewritten likewise, and one of its outer
 * addresses follows the embedded ones (see ct_nat_rewrite()).
 *
 * Candidates, in Open vSwitch 3.1's order (nat_get_unique_tuple(), as
 * test_ct_diff's NAT sequences compare them): an address of
 * addr_min..addr_max (IPv6: ranges that differ in the last 32 bits only;
 * all zero: keep the address) picked by the tuple hash, and on it a walk
 * over ports, each from a start port upwards, wrapping:
 *   SNAT with a port range: the range, from min + hash % size;
 *   SNAT without: the original source port, then its class (1-511,
 *     600-1023 or 1024-65535), so a free original port is kept and a
 *     taken one becomes the next free one up;
 *   DNAT: the destination port range if there is one (from a hashed
 *     start), then, still clashing, the source port's class as above.
 * Where Open vSwitch gives up (it walks one address, at most 128 ports,
 * then a few shorter rounds from random ports), sluice goes on through
 * the whole walk and then the next addresses of the range, so a commit
 * fails only when no tuple is free.
 * Only TCP and UDP ports are translated (as OVS; ICMP ids are kept).  The
 * caller inserts the first candidate whose reply tuple is not in the
 * table, under the buckets' locks, so a tuple in use is never handed
 * out.
 *
 * Checksums are updated incrementally (RFC 1624 eqn. 3): IPv4 header,
 * TCP/UDP through the pseudo header (a UDP/IPv4 checksum of 0 stays 0, a
 * result of 0 is written 0xffff), the embedded IPv4 header and the
 * embedded TCP/UDP checksum when it lies inside the error; the ICMP/ICMPv6
 * checksum of an error is recomputed (the message is short).
 */

#include "ct-private.h"

#include <arpa/inet.h>
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

/* A walk over ports as Open vSwitch 3.1's nat_get_unique_l4() makes it:
 * 'start' first, then upwards from there (from 'min' when 'start' lies
 * outside [min, max]), wrapping from 'max' to 'min', each port once. */
struct port_walk {
    uint16_t start, min, max;
    uint32_t n;                 /* ports in the walk */
};

static uint16_t
walk_port(const struct port_walk *w, uint32_t k)
{
    uint32_t span = (uint32_t) w->max - w->min + 1;

    if (!k) {
        return w->start;
    }
    if (w->start < w->min || w->start > w->max) {
        return (uint16_t) (w->min + (k - 1));
    }
    return (uint16_t) (w->min + (w->start - w->min + k) % span);
}

/* The source ports tried for 'orig_port': itself, then the rest of its
 * class, 1-511, 600-1023 or 1024-65535 (512-599 lie in none: tried
 * first, then 600-1023). */
static void
class_walk(uint16_t orig_port, struct port_walk *w)
{
    if (orig_port < 512) {
        w->min = 1;
        w->max = 511;
    } else if (orig_port < 1024) {
        w->min = 600;
        w->max = 1023;
    } else {
        w->min = 1024;
        w->max = 65535;
    }
    w->start = orig_port;
    w->n = (uint32_t) w->max - w->min + 1
           + (orig_port < w->min || orig_port > w->max);
}

/* The configured port range, from an offset given by 'hash'. */
static void
range_walk(const struct ct_nat *nat, uint32_t hash, struct port_walk *w)
{
    w->min = nat->port_min;
    w->max = nat->port_max >= nat->port_min ? nat->port_max
                                            : nat->port_min;
    w->n = (uint32_t) w->max - w->min + 1;
    w->start = (uint16_t) (w->min + hash % w->n);
}

static bool
ranged(const struct ct_nat *nat)
{
    return nat->port_min || nat->port_max;
}

static uint64_t
n_addrs(const struct ct_nat *nat, bool v6)
{
    uint32_t lo = addr_low32(nat->addr_min, v6);
    uint32_t hi = addr_low32(nat->addr_max, v6);

    return hi >= lo && !keeps_addr(nat, v6) ? (uint64_t) hi - lo + 1 : 1;
}

/* Candidates per address: SNAT walks the source port (the configured
 * range from a hashed offset, else the original port's class from the
 * original port); DNAT walks the configured destination port range, if
 * any, then the source port's class (Open vSwitch 3.1's
 * nat_get_unique_tuple()). */
static uint64_t
n_per_addr(const struct ct_nat *nat, const struct ct_tuple *orig)
{
    struct port_walk w;

    if (!nat_ports(orig->nw_proto)) {
        return 1;
    }
    if (nat->flags & CT_NAT_SRC) {
        if (ranged(nat)) {
            range_walk(nat, 0, &w);
        } else {
            class_walk(ntohs(orig->src_port), &w);
        }
        return w.n;
    }
    class_walk(ntohs(orig->src_port), &w);
    if (ranged(nat)) {
        struct port_walk d;

        range_walk(nat, 0, &d);
        return (uint64_t) d.n + w.n;
    }
    return w.n;
}

uint64_t
ct_nat_n_candidates(const struct ct_nat *nat, const struct ct_tuple *orig)
{
    return n_addrs(nat, orig->is_ipv6) * n_per_addr(nat, orig);
}

void
ct_nat_candidate(const struct ct_nat *nat, const struct ct_tuple *orig,
                 uint32_t hash, uint64_t i, struct ct_tuple *reply)
{
    bool v6 = orig->is_ipv6;
    bool snat = nat->flags & CT_NAT_SRC;
    uint32_t lo = addr_low32(nat->addr_min, v6);
    uint64_t naddr = n_addrs(nat, v6);
    uint64_t per = n_per_addr(nat, orig);
    uint64_t a = (hash % naddr + i / per) % naddr;
    uint32_t k = (uint32_t) (i % per);
    struct port_walk w;

    ct_tuple_reverse(orig, reply);
    if (!keeps_addr(nat, v6)) {
        uint8_t *addr = snat ? reply->dst : reply->src;

        memcpy(addr, nat->addr_min, v6 ? 16 : 4);
        addr_set_low32(addr, v6, (uint32_t) (lo + a));
    }
    if (!nat_ports(orig->nw_proto)) {
        return;
    }
    /* The reply's destination port is the original source port. */
    if (snat) {
        if (ranged(nat)) {
            range_walk(nat, hash, &w);
        } else {
            class_walk(ntohs(orig->src_port), &w);
        }
        reply->dst_port = htons(walk_port(&w, k));
        return;
    }
    if (ranged(nat)) {
        struct port_walk d;

        range_walk(nat, hash, &d);
        if (k < d.n) {
            reply->src_port = htons(walk_port(&d, k));
            return;
        }
        reply->src_port = htons(d.start);
        k -= d.n;
    }
    class_walk(ntohs(orig->src_port), &w);
    reply->dst_port = htons(walk_port(&w, k));
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
               const struct ct_tuple *to, bool related, bool outer_dst)
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
        }
        rewrite_hdr(in3, in4, (size_t) (end - in4), v6, iproto, from, to,
                    true);
        /* One outer address follows the embedded packet, as Open vSwitch
         * 3.1 rewrites it (test_ct_diff nat_dnat_icmp_error): the
         * destination becomes the embedded source where the translation
         * is of destinations, else the source becomes the embedded
         * destination, also when a router sent the error. */
        {
            uint8_t *field = outer_dst ? odst : osrc;
            const uint8_t *want = outer_dst ? in3 + (v6 ? 8 : 12)
                                            : in3 + (v6 ? 24 : 16);
            size_t alen = v6 ? 16 : 4;

            if (memcmp(field, want, alen)) {
                if (!v6) {
                    csum_update(l3 + 10, field, want, 4);
                }
                memcpy(field, want, alen);
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
