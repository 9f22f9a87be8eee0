/* SPDX-License-Identifier: BSD-3-Clause */
/* pkt-build.c: a small packet builder and checksum checker for tests. */
#include "pkt-build.h"

#include <stdio.h>
#include <string.h>

/* Writers with explicit byte order (no alignment assumptions). */
static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

/* Sum of big-endian 16-bit words (odd byte padded with zero). */
static uint32_t
sum_be(const uint8_t *p, size_t len, uint32_t sum)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

static uint16_t
fold_not(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

uint16_t
pkt_csum(const void *data, size_t len, uint32_t sum)
{
    /* Computed in big-endian arithmetic, returned as the in-memory value
     * of the two wire bytes. */
    uint16_t be = fold_not(sum_be(data, len, sum));
    uint8_t b[2];
    uint16_t v;

    put16(b, be);
    memcpy(&v, b, 2);
    return v;
}

uint32_t
pkt_crc32c(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xffffffff;
    size_t i;
    int k;

    for (i = 0; i < len; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
        }
    }
    return ~crc;
}

static uint32_t
pseudo4(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
    uint32_t sum = sum_be(ip + 12, 8, 0);

    sum += proto;
    sum += (uint32_t) l4_len;
    return sum;
}

static uint32_t
pseudo6(const uint8_t *ip6, uint8_t proto, size_t l4_len)
{
    uint32_t sum = sum_be(ip6 + 8, 32, 0);

    sum += (uint32_t) (l4_len >> 16) + (uint32_t) (l4_len & 0xffff);
    sum += proto;
    return sum;
}

static size_t
l4_hdr_len(uint8_t proto)
{
    switch (proto) {
    case 6:
        return 20;
    case 17:
        return 8;
    case 132:
        return 12;
    case 1:
    case 58:
        return 8;
    default:
        return 0;
    }
}

/* Writes the L4 header at 'l4' (payload already in place after it) and its
 * checksum.  'l3' is the IP header, 'v6' tells which. */
static void
write_l4(uint8_t *l4, size_t l4_len, uint8_t proto, const uint8_t *l3,
         bool v6, const struct pkt_spec *s)
{
    uint32_t sum;

    switch (proto) {
    case 6:
        put16(l4, s->l4.src);
        put16(l4 + 2, s->l4.dst);
        put32(l4 + 4, 0x01020304);      /* seq */
        put32(l4 + 8, 0);               /* ack */
        put16(l4 + 12, (uint16_t) (5 << 12 | (s->l4.tcp_flags & 0x0fff)));
        put16(l4 + 14, 8192);           /* window */
        put16(l4 + 16, 0);
        put16(l4 + 18, 0);
        sum = v6 ? pseudo6(l3, proto, l4_len) : pseudo4(l3, proto, l4_len);
        put16(l4 + 16, fold_not(sum_be(l4, l4_len, sum)));
        break;
    case 17:
        put16(l4, s->l4.src);
        put16(l4 + 2, s->l4.dst);
        put16(l4 + 4, (uint16_t) l4_len);
        put16(l4 + 6, 0);
        if (!v6 && s->l4.udp_csum_zero) {
            break;
        }
        sum = v6 ? pseudo6(l3, proto, l4_len) : pseudo4(l3, proto, l4_len);
        {
            uint16_t c = fold_not(sum_be(l4, l4_len, sum));

            put16(l4 + 6, c ? c : 0xffff);
        }
        break;
    case 132: {
        uint32_t crc;

        put16(l4, s->l4.src);
        put16(l4 + 2, s->l4.dst);
        put32(l4 + 4, 0xdeadbeef);      /* verification tag */
        memset(l4 + 8, 0, 4);
        crc = pkt_crc32c(l4, l4_len);
        l4[8] = crc;
        l4[9] = crc >> 8;
        l4[10] = crc >> 16;
        l4[11] = crc >> 24;
        break;
    }
    case 1:
    case 58:
        l4[0] = s->l4.icmp_type;
        l4[1] = s->l4.icmp_code;
        put16(l4 + 2, 0);
        put32(l4 + 4, 0x12340001);      /* id, seq */
        sum = proto == 58 ? pseudo6(l3, proto, l4_len) : 0;
        put16(l4 + 2, fold_not(sum_be(l4, l4_len, sum)));
        break;
    default:
        break;
    }
}

static void
fill_payload(uint8_t *p, const struct pkt_spec *s)
{
    size_t i;

    if (s->payload) {
        memcpy(p, s->payload, s->payload_len);
    } else {
        for (i = 0; i < s->payload_len; i++) {
            p[i] = (uint8_t) (i * 7 + 1);
        }
    }
}

static size_t
ext_len(const struct pkt_ipv6_ext *e)
{
    if (e->type == 44) {
        return 8;
    } else if (e->type == 51) {
        return e->len ? e->len : 12;
    }
    return e->len ? e->len : 8;
}

size_t
pkt_build_ofs(uint8_t *buf, size_t size, const struct pkt_spec *s,
              struct pkt_offsets *ofs)
{
    struct pkt_offsets o = { PKT_OFS_NONE, PKT_OFS_NONE, PKT_OFS_NONE };
    size_t need, pos, l3_len = 0, l4h = 0;
    uint8_t proto = 0;
    bool later_frag = false;
    int i;

    if (s->n_vlans < 0 || s->n_vlans > PKT_MAX_VLANS) {
        return 0;
    }

    /* Size everything first. */
    need = 14 + 4 * (size_t) s->n_vlans;
    switch (s->l3) {
    case PKT_L3_ARP:
        l3_len = 28;
        break;
    case PKT_L3_IPV4:
        if (s->ipv4.opt_len % 4 || s->ipv4.opt_len > 40) {
            return 0;
        }
        l3_len = 20 + s->ipv4.opt_len;
        proto = s->ipv4.proto;
        later_frag = s->ipv4.frag_off != 0;
        break;
    case PKT_L3_IPV6:
        if (s->ipv6.n_ext < 0 || s->ipv6.n_ext > PKT_MAX_IPV6_EXT) {
            return 0;
        }
        l3_len = 40;
        for (i = 0; i < s->ipv6.n_ext; i++) {
            const struct pkt_ipv6_ext *e = &s->ipv6.ext[i];
            size_t el = ext_len(e);

            if (e->type == 51 ? (el % 4 || el < 12 || el > 1024)
                : (el % 8 || el > 2048)) {
                return 0;
            }
            if (e->type == 44 && e->frag_off) {
                later_frag = true;
            }
            l3_len += el;
        }
        proto = s->ipv6.next;
        break;
    default:
        break;
    }
    if (!later_frag) {
        l4h = l4_hdr_len(proto);
    }
    need += l3_len + l4h + s->payload_len;
    if (need > size || need > 65535 + 14 + 8) {
        return 0;
    }

    /* L2. */
    memcpy(buf, s->dl_dst, 6);
    memcpy(buf + 6, s->dl_src, 6);
    pos = 12;
    for (i = 0; i < s->n_vlans; i++) {
        put16(buf + pos, s->vlans[i].tpid);
        put16(buf + pos + 2, s->vlans[i].tci);
        pos += 4;
    }
    switch (s->l3) {
    case PKT_L3_ARP:
        put16(buf + pos, 0x0806);
        break;
    case PKT_L3_IPV4:
        put16(buf + pos, 0x0800);
        break;
    case PKT_L3_IPV6:
        put16(buf + pos, 0x86dd);
        break;
    case PKT_L3_LLC:
        put16(buf + pos, (uint16_t) (s->payload_len < 1500
                                     ? s->payload_len : 1500));
        break;
    case PKT_L3_NONE:
    default:
        put16(buf + pos, s->eth_type);
        break;
    }
    pos += 2;
    o.l3 = pos;

    if (s->l3 == PKT_L3_ARP) {
        uint8_t *a = buf + pos;

        put16(a, 1);
        put16(a + 2, 0x0800);
        a[4] = 6;
        a[5] = 4;
        put16(a + 6, s->arp.op);
        memcpy(a + 8, s->arp.sha, 6);
        put32(a + 14, s->arp.spa);
        memcpy(a + 18, s->arp.tha, 6);
        put32(a + 24, s->arp.tpa);
        pos += 28;
    } else if (s->l3 == PKT_L3_IPV4) {
        uint8_t *ip = buf + pos;
        size_t tot = l3_len + l4h + s->payload_len;

        if (tot > 65535) {
            return 0;
        }
        ip[0] = (uint8_t) (0x40 | (l3_len / 4));
        ip[1] = s->ipv4.tos;
        put16(ip + 2, (uint16_t) tot);
        put16(ip + 4, s->ipv4.id);
        put16(ip + 6, (uint16_t) ((s->ipv4.df ? 0x4000 : 0)
                                  | (s->ipv4.mf ? 0x2000 : 0)
                                  | (s->ipv4.frag_off & 0x1fff)));
        ip[8] = s->ipv4.ttl;
        ip[9] = s->ipv4.proto;
        put16(ip + 10, 0);
        put32(ip + 12, s->ipv4.src);
        put32(ip + 16, s->ipv4.dst);
        memset(ip + 20, 1, s->ipv4.opt_len);
        put16(ip + 10, fold_not(sum_be(ip, l3_len, 0)));
        pos += l3_len;
    } else if (s->l3 == PKT_L3_IPV6) {
        uint8_t *ip6 = buf + pos;
        size_t plen = l3_len - 40 + l4h + s->payload_len;
        uint8_t *e;

        if (plen > 65535) {
            return 0;
        }
        put32(ip6, 0x60000000u | (uint32_t) s->ipv6.tclass << 20
              | (s->ipv6.label & 0xfffff));
        put16(ip6 + 4, (uint16_t) plen);
        ip6[6] = s->ipv6.n_ext ? s->ipv6.ext[0].type : s->ipv6.next;
        ip6[7] = s->ipv6.hlimit;
        memcpy(ip6 + 8, s->ipv6.src, 16);
        memcpy(ip6 + 24, s->ipv6.dst, 16);
        e = ip6 + 40;
        for (i = 0; i < s->ipv6.n_ext; i++) {
            const struct pkt_ipv6_ext *x = &s->ipv6.ext[i];
            size_t el = ext_len(x);

            memset(e, 0, el);
            e[0] = i + 1 < s->ipv6.n_ext ? s->ipv6.ext[i + 1].type
                                         : s->ipv6.next;
            if (x->type == 44) {
                put16(e + 2, (uint16_t) ((x->frag_off & 0x1fff) << 3
                                         | (x->frag_mf ? 1 : 0)));
                put32(e + 4, x->frag_id);
            } else if (x->type == 51) {
                e[1] = (uint8_t) (el / 4 - 2);
                put32(e + 4, 0x100);    /* SPI */
            } else {
                e[1] = (uint8_t) (el / 8 - 1);
                if (el >= 8) {
                    e[2] = 1;           /* PadN option */
                    e[3] = (uint8_t) (el - 4);
                }
            }
            e += el;
        }
        pos += l3_len;
    }

    if (l4h) {
        o.l4 = pos;
    } else if ((s->l3 == PKT_L3_IPV4 || s->l3 == PKT_L3_IPV6)
               && !later_frag) {
        o.l4 = pos;
    }
    o.payload = pos + l4h;
    fill_payload(buf + pos + l4h, s);
    if (l4h) {
        write_l4(buf + pos, l4h + s->payload_len, proto, buf + o.l3,
                 s->l3 == PKT_L3_IPV6, s);
    }
    if (ofs) {
        *ofs = o;
    }
    return need;
}

size_t
pkt_build(uint8_t *buf, size_t size, const struct pkt_spec *spec)
{
    return pkt_build_ofs(buf, size, spec, NULL);
}

void
pkt_spec_init(struct pkt_spec *s, enum pkt_l3 l3, uint8_t proto)
{
    static const uint8_t src6[16] = { 0xfc, [15] = 1 };
    static const uint8_t dst6[16] = { 0xfc, [15] = 2 };

    memset(s, 0, sizeof *s);
    memcpy(s->dl_dst, "\x02\x00\x00\x00\x00\x02", 6);
    memcpy(s->dl_src, "\x02\x00\x00\x00\x00\x01", 6);
    s->l3 = l3;
    s->eth_type = 0x88b5;               /* local experimental */
    s->ipv4.src = 0x0a000001;
    s->ipv4.dst = 0x0a000002;
    s->ipv4.proto = proto;
    s->ipv4.ttl = 64;
    s->ipv4.id = 0x4242;
    memcpy(s->ipv6.src, src6, 16);
    memcpy(s->ipv6.dst, dst6, 16);
    s->ipv6.next = proto;
    s->ipv6.hlimit = 64;
    s->arp.op = 1;
    memcpy(s->arp.sha, s->dl_src, 6);
    s->arp.spa = 0x0a000001;
    s->arp.tpa = 0x0a000002;
    s->l4.src = 1000;
    s->l4.dst = 2000;
    s->l4.tcp_flags = 0x010;            /* ACK */
    s->l4.icmp_type = proto == 58 ? 128 : 8;
    s->payload_len = 16;
}

/* ---- Independent checksum verification. ---- */

static bool
fail(const char **why, const char *msg)
{
    if (why) {
        *why = msg;
    }
    return false;
}

static bool
check_l4(const uint8_t *l4, size_t l4_len, uint8_t proto, const uint8_t *l3,
         bool v6, const char **why)
{
    uint32_t sum;

    switch (proto) {
    case 6:
        if (l4_len < 20) {
            return fail(why, "tcp truncated");
        }
        sum = v6 ? pseudo6(l3, proto, l4_len) : pseudo4(l3, proto, l4_len);
        return fold_not(sum_be(l4, l4_len, sum)) == 0
               || fail(why, "tcp checksum");
    case 17:
        if (l4_len < 8 || get16(l4 + 4) != l4_len) {
            return fail(why, "udp length");
        }
        if (get16(l4 + 6) == 0) {
            return !v6 || fail(why, "udp/ipv6 checksum 0");
        }
        sum = v6 ? pseudo6(l3, proto, l4_len) : pseudo4(l3, proto, l4_len);
        return fold_not(sum_be(l4, l4_len, sum)) == 0
               || fail(why, "udp checksum");
    case 1:
    case 58:
        if (l4_len < 4) {
            return fail(why, "icmp truncated");
        }
        sum = proto == 58 ? pseudo6(l3, proto, l4_len) : 0;
        return fold_not(sum_be(l4, l4_len, sum)) == 0
               || fail(why, "icmp checksum");
    case 132: {
        uint8_t tmp[65536];
        uint32_t crc, got;

        if (l4_len < 12) {
            return fail(why, "sctp truncated");
        }
        memcpy(tmp, l4, l4_len);
        memset(tmp + 8, 0, 4);
        crc = pkt_crc32c(tmp, l4_len);
        got = (uint32_t) l4[8] | (uint32_t) l4[9] << 8
              | (uint32_t) l4[10] << 16 | (uint32_t) l4[11] << 24;
        return crc == got || fail(why, "sctp crc32c");
    }
    default:
        return true;
    }
}

bool
pkt_check_csums(const uint8_t *f, size_t len, const char **why)
{
    size_t pos = 12;
    uint16_t type;

    if (len < 14) {
        return fail(why, "short ethernet");
    }
    type = get16(f + pos);
    while (type == 0x8100 || type == 0x88a8) {
        pos += 4;
        if (pos + 2 > len) {
            return fail(why, "short vlan");
        }
        type = get16(f + pos);
    }
    pos += 2;

    if (type == 0x0800) {
        const uint8_t *ip = f + pos;
        size_t ihl, tot;
        uint16_t frag;

        if (pos + 20 > len) {
            return fail(why, "short ipv4");
        }
        ihl = (size_t) (ip[0] & 0xf) * 4;
        tot = get16(ip + 2);
        if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || pos + tot > len) {
            return fail(why, "bad ipv4 header");
        }
        if (fold_not(sum_be(ip, ihl, 0)) != 0) {
            return fail(why, "ipv4 header checksum");
        }
        frag = get16(ip + 6);
        if (frag & 0x3fff) {
            return true;        /* Fragment: L4 checksum not checkable. */
        }
        return check_l4(ip + ihl, tot - ihl, ip[9], ip, false, why);
    } else if (type == 0x86dd) {
        const uint8_t *ip6 = f + pos;
        size_t plen, off = 40;
        uint8_t nh;

        if (pos + 40 > len) {
            return fail(why, "short ipv6");
        }
        plen = get16(ip6 + 4);
        if (pos + 40 + plen > len) {
            return fail(why, "bad ipv6 payload length");
        }
        nh = ip6[6];
        for (;;) {
            size_t el;

            if (nh == 0 || nh == 43 || nh == 60) {
                if (off + 2 > 40 + plen) {
                    return fail(why, "short ext");
                }
                el = ((size_t) ip6[off + 1] + 1) * 8;
            } else if (nh == 51) {
                if (off + 2 > 40 + plen) {
                    return fail(why, "short ah");
                }
                el = ((size_t) ip6[off + 1] + 2) * 4;
            } else if (nh == 44) {
                return true;    /* Fragment. */
            } else {
                break;
            }
            if (off + el > 40 + plen) {
                return fail(why, "short ext");
            }
            nh = ip6[off];
            off += el;
        }
        return check_l4(ip6 + off, 40 + plen - off, nh, ip6, true, why);
    }
    return true;
}

void
pkt_hexdump(char *out, size_t size, const uint8_t *data, size_t len)
{
    size_t i, n = 0;

    if (!size) {
        return;
    }
    out[0] = '\0';
    for (i = 0; i < len && n + 4 < size; i++) {
        n += (size_t) snprintf(out + n, size - n, "%02x%s", data[i],
                               (i % 16 == 15) ? "\n" : " ");
    }
}

size_t
pkt_build_udp_numbered(uint8_t *buf, size_t size, uint32_t i)
{
    struct pkt_spec s;

    pkt_spec_init(&s, PKT_L3_IPV4, 17 /* UDP */);
    s.ipv4.src = 0x0a000000 | (i >> 16);
    s.l4.src = (uint16_t) i;
    s.l4.dst = (uint16_t) (i * 31);
    return pkt_build(buf, size, &s);
}
