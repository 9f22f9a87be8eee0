/* SPDX-License-Identifier: BSD-3-Clause */
/* pkt-ol.h: checksum and TCP segmentation offload done in software. */
#ifndef SLUICE_PKT_OL_H
#define SLUICE_PKT_OL_H 1

/*
 * What
 *   A guest that negotiated checksum and segmentation offload with its
 *   vhost-user port sends TCP and UDP with the L4 checksum left to the
 *   device ("partial": the field holds only the pseudo-header sum) and
 *   TCP in segments of up to 64 KiB with the segment size the wire takes
 *   ("TSO").  Where the port a packet leaves by takes neither, the switch
 *   does the device's work.  These are the byte-level parts:
 *   - pkt_ol_parse(): where the headers are (Ethernet, up to two VLAN
 *     tags, IPv4 or IPv6 with its extension headers, TCP or UDP), under a
 *     VXLAN or GENEVE outer header when the packet was encapsulated after
 *     the guest sent it;
 *   - pkt_ol_csum(): the complete L4 checksum (and the outer UDP
 *     checksum of an encapsulated packet, when it has one);
 *   - pkt_ol_csum_partial(): the pseudo-header sum a device that completes
 *     checksums expects in the field (virtio's VIRTIO_NET_HDR_F_NEEDS_CSUM);
 *   - pkt_ol_seg_fix(): the headers of segment i of n: IPv4 total length,
 *     identification and header checksum or IPv6 payload length, TCP
 *     sequence number and flags (FIN and PSH on the last segment only, CWR
 *     on the first only), the TCP checksum, and the outer headers' lengths,
 *     identification and checksums of an encapsulated packet.
 *
 * Design
 *   The checksum field of a packet whose checksum is pending is a "don't
 *   care" until the packet leaves: header rewrites (set_field, NAT) update
 *   it incrementally as if it were complete, which leaves it wrong for a
 *   partial sum, so the sending side always recomputes it from the headers
 *   as they are then (complete or pseudo-header), never adjusts it.  The
 *   same holds for every length, identification and checksum of a segment.
 *
 *   The pseudo-header sum for a device covers the L4 length of the packet
 *   as given (Linux's convention for both plain and TSO packets, which a
 *   virtio guest receiving a TSO packet adjusts per segment).
 *
 *   Header lengths are all multiples of four bytes and the frame starts
 *   even, so the payload of a segment starts at an even offset: its sum
 *   can be taken on its own and added to the headers'.
 *
 * Thread-safety
 *   Reentrant.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pkt_ol_tunnel {
    PKT_OL_TNL_NONE,
    PKT_OL_TNL_VXLAN,           /* Outer UDP, then 8 bytes of VXLAN. */
    PKT_OL_TNL_GENEVE,          /* Outer UDP, then GENEVE with options. */
};

struct pkt_ol_layout {
    /* Encapsulation (tunnel != PKT_OL_TNL_NONE); offsets from the frame. */
    uint8_t tunnel;             /* enum pkt_ol_tunnel */
    bool outer_v6;
    uint16_t outer_l3;          /* Outer IP header. */
    uint16_t outer_l4;          /* Outer UDP header. */
    uint32_t outer_end;         /* End of the outer IP datagram. */

    /* The packet the guest sent (inside the tunnel, if any). */
    bool v6;
    uint8_t proto;              /* 6 (TCP) or 17 (UDP). */
    uint16_t l2;                /* Its Ethernet header. */
    uint16_t l3;                /* Its IP header. */
    uint16_t l4;                /* Its TCP or UDP header. */
    uint16_t l4_hlen;           /* TCP data offset * 4, or 8. */
    uint16_t hdr_len;           /* l4 + l4_hlen: where the payload starts. */
    uint32_t end;               /* End of its IP datagram (<= frame). */
};

/* Finds the headers of the 'total'-byte frame at 'p' (encapsulated as
 * 'tunnel' says), of which the first 'avail' bytes are readable there
 * (the first segment of a chained mbuf; every header, up to hdr_len, must
 * be among them).  False when it is not TCP or UDP over IP in Ethernet,
 * is an IPv4 fragment, or its lengths do not fit in the frame.  The
 * functions below that read or write past hdr_len need the whole frame at
 * 'p'. */
bool pkt_ol_parse(const uint8_t *p, size_t avail, size_t total,
                  enum pkt_ol_tunnel tunnel, struct pkt_ol_layout *ly);

/* Completes the L4 checksum of the packet at 'p' over its whole datagram
 * (a UDP checksum that comes out 0 is sent as 0xffff), then, when
 * 'outer_csum' and the packet is encapsulated, the outer UDP checksum
 * (else the outer one is left as it is). */
void pkt_ol_csum(uint8_t *p, const struct pkt_ol_layout *ly,
                 bool outer_csum);

/* Writes the pseudo-header sum (not complemented) for the datagram's L4
 * length into the L4 checksum field. */
void pkt_ol_csum_partial(uint8_t *p, const struct pkt_ol_layout *ly);

/* How many segments of at most 'mss' payload bytes the TCP packet of
 * layout 'ly' makes (1 if it has no payload).  'mss' > 0. */
uint32_t pkt_ol_n_segs(const struct pkt_ol_layout *ly, uint32_t mss);

/* Finishes segment 'i' of 'n' of a TCP packet of layout 'ly' cut at 'mss'
 * payload bytes: 'hdr' holds a copy of the packet's first ly->hdr_len
 * bytes, followed (possibly elsewhere) by the segment's 'plen' payload
 * bytes, which 'payload' points to.  Sets every length, identification,
 * sequence number, flag and checksum of the copy for the segment (the
 * outer UDP checksum when 'outer_csum', else 0). */
void pkt_ol_seg_fix(uint8_t *hdr, const struct pkt_ol_layout *ly,
                    uint32_t i, uint32_t n, uint32_t mss,
                    const uint8_t *payload, uint32_t plen, bool outer_csum);

#endif /* pkt-ol.h */
