/* SPDX-License-Identifier: BSD-3-Clause */
/* pkt-build.h: a small packet builder and checksum checker for tests. */
#ifndef PKT_BUILD_H
#define PKT_BUILD_H 1

/*
 * What
 *   Builds Ethernet frames from a plain description (struct pkt_spec):
 *   up to two VLAN tags, ARP, IPv4 (with options and fragment fields),
 *   IPv6 (with extension headers, including a fragment header), TCP, UDP,
 *   SCTP, ICMP, ICMPv6 or an opaque L4, and a payload.  Every checksum is
 *   computed from scratch (IPv4 header, TCP/UDP/ICMPv6 with the pseudo
 *   header, ICMP, SCTP CRC32c).  pkt_check_csums() independently verifies
 *   the checksums of a frame, for tests that modify packets.
 *
 * Design
 *   Test code only: simple and obviously right rather than fast.  All
 *   integers in struct pkt_spec are in HOST byte order (the builder swaps);
 *   MAC and IPv6 addresses are byte arrays as on the wire.  Typical use:
 *
 *       struct pkt_spec s;
 *       pkt_spec_init(&s, PKT_L3_IPV4, IPPROTO_TCP_);
 *       s.l4.src = 1234;
 *       size_t n = pkt_build(buf, sizeof buf, &s);
 *
 *   Which L4 header is written follows ipv4.proto / ipv6.next: 6 TCP
 *   (20 bytes), 17 UDP (8), 132 SCTP (12), 1 ICMP (8), 58 ICMPv6 (8); any
 *   other value writes no L4 header, only the payload.  A non-first
 *   fragment (frag_off != 0) never gets an L4 header either.  The payload
 *   is spec->payload if nonnull, else bytes (i * 7 + 1) & 0xff.
 *
 * Thread-safety
 *   Reentrant.
 *
 * Ownership
 *   The caller owns every buffer; spec->payload is borrowed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pkt_l3 {
    PKT_L3_NONE,    /* Ethernet II with spec->eth_type, then the payload */
    PKT_L3_ARP,
    PKT_L3_IPV4,
    PKT_L3_IPV6,
    PKT_L3_LLC,     /* 802.3 frame: length field instead of an ethertype */
};

struct pkt_vlan {
    uint16_t tpid;          /* 0x8100 or 0x88a8 (any value is written) */
    uint16_t tci;           /* PCP | DEI | VID as on the wire */
};

/* One IPv6 extension header. */
struct pkt_ipv6_ext {
    uint8_t type;           /* 0 hop-by-hop, 43 routing, 60 dst options,
                             * 44 fragment, 51 AH */
    uint8_t len;            /* Total bytes, multiple of 8, >= 8 (AH:
                             * multiple of 4, >= 12); ignored for fragment
                             * (always 8).  0 means the minimum. */
    uint16_t frag_off;      /* Fragment: offset in 8-byte units. */
    bool frag_mf;           /* Fragment: more-fragments flag. */
    uint32_t frag_id;       /* Fragment: identification. */
};

#define PKT_MAX_VLANS 2
#define PKT_MAX_IPV6_EXT 4

struct pkt_spec {
    uint8_t dl_dst[6];
    uint8_t dl_src[6];
    int n_vlans;                    /* 0..PKT_MAX_VLANS, outer first */
    struct pkt_vlan vlans[PKT_MAX_VLANS];
    enum pkt_l3 l3;
    uint16_t eth_type;              /* Only for PKT_L3_NONE. */

    struct {
        uint32_t src, dst;          /* 0x0a000001 is 10.0.0.1 */
        uint8_t proto, tos, ttl;
        uint8_t opt_len;            /* Options bytes: multiple of 4, <= 40,
                                     * filled with NOPs (0x01). */
        uint16_t id;
        uint16_t frag_off;          /* Offset in 8-byte units. */
        bool mf, df;
    } ipv4;

    struct {
        uint8_t src[16], dst[16];
        uint8_t next;               /* Upper-layer protocol after the
                                     * extension headers. */
        uint8_t tclass, hlimit;
        uint32_t label;             /* Low 20 bits. */
        int n_ext;                  /* 0..PKT_MAX_IPV6_EXT, in order */
        struct pkt_ipv6_ext ext[PKT_MAX_IPV6_EXT];
    } ipv6;

    struct {
        uint16_t op;
        uint8_t sha[6], tha[6];
        uint32_t spa, tpa;
    } arp;

    struct {
        uint16_t src, dst;          /* TCP/UDP/SCTP ports */
        uint16_t tcp_flags;         /* Low 12 bits of the flags word. */
        uint8_t icmp_type, icmp_code;
        bool udp_csum_zero;         /* UDP over IPv4: write checksum 0. */
    } l4;

    size_t payload_len;
    const uint8_t *payload;         /* NULL: the default pattern. */
};

/* Where the builder put each layer (bytes from the frame start); a layer
 * that was not written is PKT_OFS_NONE. */
#define PKT_OFS_NONE ((size_t) -1)
struct pkt_offsets {
    size_t l3;          /* After the VLAN tags (also for ARP, LLC, NONE). */
    size_t l4;          /* After IP options / IPv6 extension headers. */
    size_t payload;
};

/* Fills 's' with defaults for an 'l3' packet carrying 'proto' (ignored
 * unless IPv4/IPv6): distinct unicast MACs, 10.0.0.1 -> 10.0.0.2 or
 * fc00::1 -> fc00::2, TTL/hop limit 64, ports 1000 -> 2000, ARP request,
 * TCP flags ACK, ICMP echo request (8/0 or 128/0), 16-byte payload. */
void pkt_spec_init(struct pkt_spec *s, enum pkt_l3 l3, uint8_t proto);

/* Writes UDP flow number 'i' (IPv4; the source address and both ports
 * derive from 'i', so distinct numbers below 2^24 give distinct flows)
 * into 'buf'; returns its length (0 if it does not fit). */
size_t pkt_build_udp_numbered(uint8_t *buf, size_t size, uint32_t i);

/* Writes the frame for 'spec' into 'buf'; returns its length, or 0 if it
 * does not fit in 'size' bytes or the spec is invalid (bad n_vlans, n_ext,
 * opt_len or extension length). */
size_t pkt_build(uint8_t *buf, size_t size, const struct pkt_spec *spec);

/* Same, also reporting where the layers start ('ofs' may be NULL). */
size_t pkt_build_ofs(uint8_t *buf, size_t size, const struct pkt_spec *spec,
                     struct pkt_offsets *ofs);

/* Internet checksum (RFC 1071) of 'len' bytes, starting from partial sum
 * 'sum': returns the folded, complemented 16-bit value as stored on the
 * wire (read/write it with memcpy, no byte swap needed). */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);

/* CRC32c (Castagnoli) of 'len' bytes, bit by bit, as SCTP uses it: store
 * the result little-endian. */
uint32_t pkt_crc32c(const void *data, size_t len);

/* Parses 'frame' independently of flowtable/ and recomputes every checksum
 * it can (IPv4 header; TCP, UDP, ICMP, ICMPv6, SCTP of unfragmented
 * packets).  Returns true if all are correct (a UDP/IPv4 checksum of 0 is
 * correct); on false, writes a short reason into 'why' when nonnull. */
bool pkt_check_csums(const uint8_t *frame, size_t len, const char **why);

/* Formats 'len' bytes as hex into 'out' (for failure messages). */
void pkt_hexdump(char *out, size_t size, const uint8_t *data, size_t len);

#endif /* pkt-build.h */
