/* SPDX-License-Identifier: BSD-3-Clause */
/* tnl.h: VXLAN and GENEVE headers: parse, build, finish; tunnel port map. */
#ifndef SLUICE_TNL_H
#define SLUICE_TNL_H 1

/*
 * What
 *   The pure part of sluice's overlay tunnels (VXLAN, RFC 7348; GENEVE,
 *   RFC 8926), over IPv4 and IPv6 underlays:
 *   - tnl_parse(): validates the outer headers of a packet addressed to a
 *     tunnel endpoint (Ethernet, optional VLAN tags, IPv4 or IPv6, UDP,
 *     VXLAN or GENEVE) and says how many bytes to strip and what tunnel
 *     metadata (struct flow_tnl) the inner packet carries;
 *   - tnl_build(): lays out the outer header template of an encapsulation
 *     (done once per tunnel and next hop by the slow path);
 *   - tnl_finish(): completes a template just prepended to an inner frame
 *     (lengths, IPv4 id and checksum, UDP source port, UDP checksum);
 *   - struct tnl_map: which tunnel port a decapsulated packet belongs to,
 *     by (type, UDP port, remote, local, key), exact entries before
 *     flow-based ("any") ones.
 *
 * Design
 *   Functions work on contiguous bytes (the datapath linearises an mbuf
 *   first).  Multi-byte values are network order as on the wire, like
 *   struct flow.  A packet tnl_parse() refuses gets a named reason (enum
 *   tnl_error) that the datapath counts as a drop.
 *
 * Thread-safety
 *   Plain data and reentrant functions.  A tnl_map is built by one thread
 *   and, once published, only read (the datapath replaces it whole).
 *
 * Ownership
 *   tnl_map_create() returns new memory freed by tnl_map_destroy().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

enum tnl_type {
    TNL_NONE = 0,
    TNL_VXLAN = 1,
    TNL_GENEVE = 2,
};

#define TNL_VXLAN_PORT 4789     /* IANA, host order */
#define TNL_GENEVE_PORT 6081

/* Largest template tnl_build() writes: Ethernet 14 + IPv6 40 + UDP 8 +
 * GENEVE 8 + options (up to TNL_GENEVE_OPT_MAX bytes). */
#define TNL_GENEVE_OPT_MAX 124
#define TNL_HDR_MAX (14 + 40 + 8 + 8 + TNL_GENEVE_OPT_MAX)

/* Why tnl_parse() refused a packet (the datapath's drop counters). */
#define TNL_ERRORS                                                          \
    TNL_ERR(TRUNCATED, "tunnel_truncated")      /* shorter than headers */ \
    TNL_ERR(BAD_IP, "tunnel_bad_ip")            /* version, IHL, lengths */ \
    TNL_ERR(IP_CSUM, "tunnel_ip_csum")          /* IPv4 header checksum */ \
    TNL_ERR(FRAGMENT, "tunnel_fragment")        /* outer IP fragment */    \
    TNL_ERR(NOT_UDP, "tunnel_not_udp")          /* no UDP after IP */      \
    TNL_ERR(UDP_LEN, "tunnel_udp_len")          /* UDP length mismatch */  \
    TNL_ERR(UDP_CSUM, "tunnel_udp_csum")        /* nonzero and wrong */    \
    TNL_ERR(BAD_HDR, "tunnel_bad_header")       /* VXLAN flags without I, \
                                                 * GENEVE version != 0, \
                                                 * protocol not 0x6558, \
                                                 * options too long */    \
    TNL_ERR(CRITICAL_OPT, "tunnel_critical_opt") /* GENEVE C bit set */

enum tnl_error {
    TNL_OK = 0,
#define TNL_ERR(NAME, STR) TNL_ERR_##NAME,
    TNL_ERRORS
#undef TNL_ERR
    TNL_N_ERRORS
};

/* "tunnel_truncated"... ("ok" for TNL_OK). */
const char *tnl_error_name(enum tnl_error);

/* Parses the outer headers of the 'len' bytes at 'pkt', a frame whose
 * layer 3 starts at 'l3_ofs' (after any VLAN tags; flow_layers.l3) and
 * which the caller already matched as UDP to a tunnel port's UDP port.
 * 'type' says what follows UDP.  On success returns TNL_OK, stores in
 * '*hdr_len' the bytes from the frame's start to the inner Ethernet
 * header, and fills 'md' (wholly overwritten): tun_id (VNI << 0, be64),
 * ip_src/ip_dst or ipv6_src/ipv6_dst (the outer source and destination),
 * tos, ttl, flags (FLOW_TNL_F_KEY always for VXLAN/GENEVE; F_CSUM when the
 * UDP checksum was nonzero; F_DONT_FRAGMENT when IPv4 DF was set; F_OAM
 * for GENEVE's O bit).  Checks: IP version and header length, total /
 * payload length within 'len' (trailing bytes beyond the IP length are
 * allowed: Ethernet padding), IPv4 header checksum, not a fragment, UDP
 * length == IP payload length, UDP checksum when nonzero (IPv6: a zero
 * checksum is accepted, RFC 6935), VXLAN I flag set, GENEVE version 0,
 * protocol 0x6558 (Ethernet), options within the packet and at most
 * TNL_GENEVE_OPT_MAX bytes, no option with the critical bit (GENEVE
 * options are otherwise skipped), and an inner Ethernet header of at least
 * 14 bytes.  On failure returns the reason and leaves '*hdr_len' and 'md'
 * unspecified.  Never reads outside [pkt, pkt + len).
 *
 * Details: the IP version comes from the header's version nibble (the
 * caller's ethertype is not rechecked).  IPv6 is handled only as the fixed
 * header directly followed by UDP: any extension header (next header !=
 * 17) gives TNL_ERR_NOT_UDP.  A frame or IP datagram too short for what
 * its headers announce gives TNL_ERR_TRUNCATED (also options running past
 * the UDP payload); an IP length shorter than the IP header gives
 * TNL_ERR_BAD_IP.  Reserved VXLAN/GENEVE bits are ignored.  GENEVE gives
 * TNL_ERR_CRITICAL_OPT for an option with the critical bit that is not
 * understood (tnl_parse() understands none, so the header's C bit alone
 * is refused too; tnl_parse_tlv() those of its map), and TNL_ERR_BAD_HDR
 * for an option running past the options area. */
enum tnl_error tnl_parse(enum tnl_type type, const void *pkt, size_t len,
                         uint16_t l3_ofs, struct flow_tnl *md,
                         size_t *hdr_len);

/* The GENEVE TLV map: which option (class, type, data length) a flow
 * sees as tun_metadata<slot>, like Open vSwitch's add-tlv-map.  Options
 * of at most FLOW_TNL_MD_LEN data bytes (4 or 8).  Received options that
 * the map names, with the mapped length, fill md->metadata[slot] and set
 * their md_present bit; others are skipped (a critical one, RFC 8926
 * section 3.5, means drop).  Encapsulation sends the present slots that
 * the map names, in the map's order. */
struct tnl_tlv {
    uint16_t opt_class;             /* Host order. */
    uint8_t type;                   /* High bit: critical. */
    uint8_t len;                    /* Data bytes: 4 or 8. */
    uint8_t slot;                   /* 0..FLOW_TNL_MD_SLOTS-1 */
};
struct tnl_tlv_map {
    size_t n;
    struct tnl_tlv tlv[FLOW_TNL_MD_SLOTS];
};

/* Parses one mapping as ovs-ofctl add-tlv-map writes it,
 * "{class=0xffff,type=0,len=4}->tun_metadata0" (spaces allowed around the
 * items), into '*t'.  Returns NULL or why not (a static string): class
 * 0..0xffff, type 0..255, len 4 or 8 (sluice's tun_metadata hold at most
 * FLOW_TNL_MD_LEN bytes), tun_metadata0..7. */
const char *tnl_tlv_from_string(const char *s, struct tnl_tlv *t);
/* Formats '*t' the same way into 'buf'; returns strlen. */
size_t tnl_tlv_to_string(const struct tnl_tlv *t, char *buf, size_t size);
/* Adds 't' to 'map': 0, EEXIST (its slot or its class and type already
 * mapped to something else; the same mapping again is 0) or ENOSPC. */
int tnl_tlv_map_add(struct tnl_tlv_map *map, const struct tnl_tlv *t);

/* tnl_parse() that also fills md's tun_metadata from GENEVE options by
 * 'map' (NULL: none understood). */
enum tnl_error tnl_parse_tlv(enum tnl_type type, const void *pkt, size_t len,
                             uint16_t l3_ofs, const struct tnl_tlv_map *map,
                             struct flow_tnl *md, size_t *hdr_len);

/* Writes the GENEVE options for 'md''s present tun_metadata slots that
 * 'map' names into 'buf' ('size' bytes); returns their length (a multiple
 * of 4, at most TNL_GENEVE_OPT_MAX). */
size_t tnl_geneve_opts(const struct tnl_tlv_map *map,
                       const struct flow_tnl *md, uint8_t *buf, size_t size);

/* What an encapsulation's outer headers are. */
struct tnl_spec {
    enum tnl_type type;
    uint8_t eth_src[6];
    uint8_t eth_dst[6];
    bool is_ipv6;
    uint32_t ip_src, ip_dst;        /* be32, IPv4 */
    uint8_t ipv6_src[16], ipv6_dst[16];
    uint8_t tos;                    /* DSCP | ECN */
    uint8_t ttl;                    /* 0: 64 */
    bool df;                        /* IPv4 DF bit */
    bool csum;                      /* fill the outer UDP checksum */
    uint16_t udp_dst;               /* be16 */
    uint32_t vni;                   /* host order, < 2^24 */
    bool oam;                       /* GENEVE O bit */
    const uint8_t *opts;            /* GENEVE options (TLVs), borrowed; */
    size_t opts_len;                /* a multiple of 4, <= 124; the C bit
                                     * is set when one is critical. */
};

/* Writes the outer header template of 'spec' into 'buf' ('size' bytes,
 * at least TNL_HDR_MAX): Ethernet (type 0x0800 / 0x86dd), IPv4 (version
 * 4, IHL 5, id 0, flags DF as asked, protocol UDP, checksum 0: finished
 * per packet) or IPv6 (flow label 0, next header UDP), UDP (source port
 * 0, destination spec->udp_dst, length and checksum 0), then the VXLAN
 * header (flags 0x08: I, VNI) or the GENEVE header (version 0, the
 * options of spec->opts, O as asked, C when an option is critical,
 * protocol 0x6558, VNI).  Returns its length, or 0 when 'spec' is invalid
 * (type, vni too large, options malformed, size too small). */
size_t tnl_build(const struct tnl_spec *spec, void *buf, size_t size);

/* Where tnl_build()'s template keeps what tnl_finish() fills. */
struct tnl_layout {
    uint16_t hdr_len;               /* Template bytes. */
    uint16_t l3_ofs;                /* 14 */
    uint16_t l4_ofs;                /* 34 (IPv4) or 54 (IPv6) */
    bool is_ipv6;
    bool csum;                      /* Fill the UDP checksum. */
    /* IPv4: when has_ip_sum, the sum (RFC 1071, unfolded) of the
     * template's IP header with its total length, identification and
     * checksum taken as zero (tnl_layout_set_ip_sum()): tnl_finish() then
     * computes the header checksum without reading the header back. */
    bool has_ip_sum;
    uint32_t ip_sum;
};
/* The layout of a template tnl_build() made from 'spec' (hdr_len 0 if
 * tnl_build() would refuse 'spec' for its type or vni); no ip_sum. */
void tnl_layout_of(const struct tnl_spec *spec, struct tnl_layout *lay);
/* Sets lay->ip_sum from the template 'hdr' (lay->hdr_len bytes) that
 * tnl_finish() will be given frames of (IPv4 layouts; others unchanged).
 * Once per template, not per packet: a header just copied into a packet
 * and read back as words costs the stores' forwarding stalls. */
void tnl_layout_set_ip_sum(struct tnl_layout *lay, const void *hdr);

/* Completes an encapsulated frame: 'pkt' holds 'total' bytes, the
 * template (lay->hdr_len bytes) followed by the inner Ethernet frame.
 * Sets the IP total length (IPv4) or payload length (IPv6), the IPv4
 * identification to 'ip_id' (be16) and the IPv4 header checksum, the UDP
 * length, the UDP source port to 'udp_src' (be16) and, when lay->csum,
 * the UDP checksum over pseudo-header, UDP header and payload (0 is sent
 * as 0xffff); otherwise the UDP checksum is 0 (IPv4; and IPv6, RFC
 * 6935).  Returns false (nothing written) if 'total' is smaller than the
 * template plus 14, if the IP length would exceed 65535 (IPv4: total -
 * l3_ofs; IPv6 payload: total - l4_ofs), or if 'lay' is inconsistent
 * (l4_ofs != l3_ofs + 20 or 40, hdr_len < l4_ofs + 8). */
bool tnl_finish(void *pkt, size_t total, const struct tnl_layout *lay,
                uint16_t ip_id, uint16_t udp_src);

/* The UDP source port for an inner flow's 32-bit hash: in 32768..60999
 * (be16), spreading hashes evenly (RFC 7348 entropy for ECMP). */
uint16_t tnl_udp_src_port(uint32_t hash);

/* ---- Tunnel port map. ---- */

/* A tunnel port as the receive side sees it.  remote/local/key "any"
 * (flow-based) entries match whatever the packet carries. */
struct tnl_map_entry {
    enum tnl_type type;
    uint16_t udp_port;              /* be16 */
    bool is_ipv6;                   /* Underlay family of remote/local. */
    bool remote_any;                /* remote_ip=flow */
    bool local_any;                 /* no local_ip */
    bool key_any;                   /* key=flow */
    uint8_t remote[16];             /* IPv4 in the first 4 bytes. */
    uint8_t local[16];
    uint32_t key;                   /* VNI, host order. */
    uint32_t port_no;               /* What a match returns. */
};

struct tnl_map;

/* Returns a map of 'n' entries (copied), or NULL on ENOMEM.  Two entries
 * that match the same packets equally specifically (same type, udp_port,
 * family, remote, local, key and the same "any" flags) are refused with
 * EEXIST in '*err' (NULL allowed) and NULL returned. */
struct tnl_map *tnl_map_create(const struct tnl_map_entry *, size_t n,
                               int *err);
void tnl_map_destroy(struct tnl_map *);

/* The port_no of the entry that best matches a packet received on UDP
 * port 'udp_port' (be16) of a 'type' tunnel with metadata 'md' (outer
 * source = remote, outer destination = local, VNI = tun_id), or
 * UINT32_MAX if none.  Precedence, as in Open vSwitch: an exact remote
 * beats remote_any; then an exact key beats key_any; then an exact local
 * beats local_any.  The underlay family is part of every match (also of
 * entries with remote_any and local_any): 'md' is IPv6 when its ip_src and
 * ip_dst are both 0, else IPv4.  Cost: at most 8 hash probes, independent
 * of the number of entries. */
uint32_t tnl_map_lookup(const struct tnl_map *, enum tnl_type type,
                        uint16_t udp_port, const struct flow_tnl *md);

/* True if some entry listens on ('type', 'udp_port'). */
bool tnl_map_has_port(const struct tnl_map *, enum tnl_type type,
                      uint16_t udp_port);

#endif /* tnl.h */
