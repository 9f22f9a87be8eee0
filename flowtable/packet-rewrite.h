/* SPDX-License-Identifier: BSD-3-Clause */
/* packet-rewrite.h: apply one header-rewrite datapath action to a frame. */
#ifndef SLUICE_PACKET_REWRITE_H
#define SLUICE_PACKET_REWRITE_H 1

/*
 * What
 *   pkt_rewrite() executes one struct dp_action of type DPA_SET_ETH,
 *   DPA_SET_IPV4, DPA_SET_IPV6, DPA_SET_L4, DPA_PUSH_VLAN, DPA_POP_VLAN or
 *   DPA_SET_VLAN on an Ethernet frame held in a plain buffer (the datapath
 *   passes an mbuf's data pointer and headroom).
 *
 * Design
 *   Masked sets change only the bits set in the mask; a zero mask leaves
 *   the field alone.  Checksums stay correct without a full recomputation:
 *   - IPv4 header checksum: updated incrementally (RFC 1624) for address,
 *     TOS and TTL changes.
 *   - TCP and UDP checksums: updated incrementally for port changes and,
 *     through the pseudo header, for IPv4/IPv6 address changes; ICMPv6
 *     likewise for IPv6 address changes.  A UDP checksum of 0 ("none") is
 *     left 0; a computed 0 is written as 0xffff.
 *   - SCTP CRC32c: recomputed over the SCTP packet when its ports change,
 *     except in a fragment (the CRC covers the whole datagram, which is not
 *     here): then the CRC is left as is.
 *   L4 headers are located with the parser's offsets ('layers'), so the L4
 *   of a non-first fragment (layers->l4 == FLOW_OFS_NONE) is never touched:
 *   DPA_SET_L4 on it fails with EINVAL, address rewrites skip the L4 update.
 *   IPv6 routing headers are not consulted for the pseudo header.
 *
 *   VLAN TCI convention: in struct flow, FLOW_VLAN_CFI marks "tag present".
 *   DPA_PUSH_VLAN writes tci with that bit cleared on the wire (so the tci
 *   of the action may carry it or not), and DPA_SET_VLAN never changes the
 *   wire DEI/CFI bit (it is removed from the mask).  PUSH inserts the new tag
 *   outermost (right after the MAC addresses); POP removes the outermost
 *   tag; SET_VLAN rewrites the outermost tag.  Tags are recognised by TPID
 *   0x8100 or 0x88a8.
 *
 *   DPA_SET_IPV6's header comment in actions.h mentions the flow label, but
 *   struct dp_action carries no label field, so the label is not rewritten.
 *
 * Thread-safety
 *   Reentrant; the caller owns the frame.
 *
 * Ownership
 *   The frame is borrowed and modified in place.
 */

#include <stddef.h>
#include <stdint.h>
#include "actions.h"
#include "flow.h"

/* Applies 'a' to the frame of '*len' bytes at '*frame'.  The 'headroom'
 * bytes before '*frame' are writable: DPA_PUSH_VLAN needs 4 of them and
 * moves the frame start back 4 bytes (*frame -= 4, *len += 4; the caller's
 * headroom shrinks by 4); DPA_POP_VLAN moves it forward 4 (*frame += 4,
 * *len -= 4).  'layers' must be what flow_extract() reported for this
 * frame (or what earlier pkt_rewrite() calls left there); push/pop update
 * it.  Returns:
 *   0        done.
 *   EINVAL   the frame lacks the header the action needs (SET_IPV4 on a
 *            non-IPv4 or malformed IPv4 frame, SET_L4 whose proto differs
 *            from the frame's or on a frame without that L4 header,
 *            POP_VLAN/SET_VLAN without a tag, any action on a frame shorter
 *            than an Ethernet header); the frame is left unchanged.
 *   ENOSPC   PUSH_VLAN with headroom < 4; frame unchanged.
 *   ENOTSUP  not a rewrite action (DPA_OUTPUT, unknown type).
 */
int pkt_rewrite(uint8_t **frame, size_t *len, size_t headroom,
                struct flow_layers *layers, const struct dp_action *a);

#endif /* packet-rewrite.h */
