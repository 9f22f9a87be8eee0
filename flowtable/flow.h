/* SPDX-License-Identifier: BSD-3-Clause */
/* flow.h: the compact flow key, its parser and masked hashing. */
#ifndef SLUICE_FLOW_H
#define SLUICE_FLOW_H 1

/*
 * What
 *   struct flow is the header summary of one packet: every field that a rule
 *   can match or an action can rewrite.  The same struct, filled with bit
 *   masks, is a wildcard mask ("which bits matter"), so a (flow, mask) pair
 *   is a match and a megaflow.
 *
 * Design
 *   Fixed layout, a multiple of 8 bytes, no holes left uninitialised: hashing
 *   and masked compare work on 64-bit words (FLOW_U64S of them), so a flow
 *   and its mask can be processed without knowing field boundaries.
 *   Multi-byte packet fields are kept in network byte order exactly as on the
 *   wire (so parse, rewrite and rte_flow translation never swap); in_port and
 *   recirc_id are host order.  The metadata words come first (in_port,
 *   recirc_id, the tunnel metadata, the conntrack fields, the OpenFlow
 *   metadata: FLOW_META_U64S of them); flow_extract() leaves them zero
 *   except in_port, and the datapath fills recirc_id, the tunnel metadata
 *   (after a tunnel port's decapsulation) and the ct_* fields on a
 *   recirculated pass.  'metadata' and the registers are the OpenFlow
 *   pipeline's own (write_metadata, set_field, load, move): zero in every
 *   datapath key.  ARP reuses nw_src/nw_dst (spa/tpa) and nw_proto (low byte of
 *   the opcode), ICMP/ICMPv6 type and code live in tp_src/tp_dst (as
 *   htons(type) / htons(code)), as in Open vSwitch.
 *
 *   VLANs: vlan_tci is the outer tag's TCI with FLOW_VLAN_CFI set when a tag
 *   is present (so "no tag" is vlan_tci == 0 and a tag with VID 0 PCP 0 is
 *   still distinguishable); vlan_tci2 is the inner tag of a double-tagged
 *   (802.1ad/QinQ) frame, same convention.  dl_type is the ethertype after
 *   all parsed tags.
 *
 * Thread-safety
 *   Plain data; functions are reentrant.
 *
 * Ownership
 *   flow_extract() reads the packet and never keeps a pointer to it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLOW_VLAN_CFI 0x1000        /* host order; htons() it for vlan_tci */
#define FLOW_VLAN_VID_MASK 0x0fff
#define FLOW_VLAN_PCP_MASK 0xe000
#define FLOW_VLAN_PCP_SHIFT 13

/* nw_frag bits. */
#define FLOW_NW_FRAG_ANY 0x01       /* any fragment of a fragmented packet */
#define FLOW_NW_FRAG_LATER 0x02     /* a fragment other than the first */
#define FLOW_NW_FRAG_MASK (FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER)

/* Ethertypes, host order. */
#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_VLAN 0x8100        /* 802.1Q C-tag */
#define ETH_TYPE_VLAN_8021AD 0x88a8 /* 802.1ad S-tag */
#define ETH_TYPE_MIN 0x0600         /* below: 802.3 length, dl_type 0x05ff */
#define ETH_TYPE_NONE 0x05ff        /* OVS convention for 802.2 frames */

/* IP protocols. */
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_SCTP_ 132

/* Tunnel metadata: what the outer headers of a packet a tunnel port
 * received said (tnl.h parses them), or, set with set_field, what a
 * flow-based tunnel port's encapsulation is to use.  All zero for a packet
 * no tunnel delivered.  Outer addresses are either IPv4 (ip_src/ip_dst)
 * or IPv6 (ipv6_src/ipv6_dst), never both. */
#define FLOW_TNL_F_DONT_FRAGMENT 0x0002 /* host order; htons() for flags */
#define FLOW_TNL_F_CSUM 0x0004          /* outer UDP checksum present */
#define FLOW_TNL_F_KEY 0x0008           /* a VNI was present */
#define FLOW_TNL_F_OAM 0x0001           /* GENEVE O bit */
#define FLOW_TNL_MD_SLOTS 8             /* tun_metadata0..7 */
#define FLOW_TNL_MD_LEN 8               /* Bytes of data each holds. */
struct flow_tnl {
    uint64_t tun_id;        /* be64: the VNI in the low 24 bits. */
    uint32_t ip_src;        /* be32 */
    uint32_t ip_dst;        /* be32 */
    uint8_t ipv6_src[16];
    uint8_t ipv6_dst[16];
    uint16_t flags;         /* be16: FLOW_TNL_F_* */
    uint8_t tos;            /* outer DSCP | ECN */
    uint8_t ttl;            /* outer TTL / hop limit */
    uint8_t md_present;     /* Bit i: tun_metadata<i> is present. */
    uint8_t pad[3];         /* Always zero. */
    /* GENEVE options the TLV map (tnl.h) names tun_metadata0..7: the
     * option's data, big-endian, right-aligned in 8 bytes (options of at
     * most FLOW_TNL_MD_LEN bytes).  Zero when absent. */
    uint64_t metadata[FLOW_TNL_MD_SLOTS];
};
_Static_assert(sizeof(struct flow_tnl) == 120, "flow_tnl layout changed");

#define FLOW_N_REGS 16

struct flow {
    /* Metadata. */
    uint32_t in_port;       /* Datapath (or OpenFlow) port number, host. */
    uint32_t recirc_id;     /* Host order: 0 on a packet's first pass; a
                             * recirculated pass carries the id of the
                             * table it resumes in (ofproto.h). */
    struct flow_tnl tunnel; /* Tunnel metadata (zero: not tunnelled). */

    /* Connection tracking: what the last ct() found (conntrack.h), all
     * zero on a packet no ct() has seen.  The ct_nw / ct_ipv6 / ct_tp
     * fields are the connection's original-direction tuple. */
    uint8_t ct_state;       /* CS_* bits (conntrack.h). */
    uint8_t ct_nw_proto;
    uint16_t ct_zone;       /* be16 */
    uint32_t ct_mark;       /* be32 */
    uint8_t ct_label[16];   /* 128 bits, network order. */
    uint32_t ct_nw_src;     /* be32 */
    uint32_t ct_nw_dst;     /* be32 */
    uint16_t ct_tp_src;     /* be16 */
    uint16_t ct_tp_dst;     /* be16 */
    uint32_t pad0;          /* Always zero. */
    uint8_t ct_ipv6_src[16];
    uint8_t ct_ipv6_dst[16];

    /* OpenFlow metadata (be64): what write_metadata instructions wrote
     * during translation; every pass starts with 0 (ofproto.h). */
    uint64_t metadata;
    /* Registers (Open vSwitch's reg0-reg15, each be32; xreg0-7 and
     * xxreg0-3 are the same bytes as big-endian 64- and 128-bit views:
     * xreg0 is reg0:reg1, xxreg0 reg0:reg1:reg2:reg3).  Like 'metadata',
     * the pipeline's own: every pass starts with 0. */
    union {
        uint32_t regs[FLOW_N_REGS];
        uint64_t xregs[FLOW_N_REGS / 2];
        uint8_t xxregs[FLOW_N_REGS / 4][16];
    };

    /* L2. */
    uint8_t dl_dst[6];
    uint8_t dl_src[6];
    uint16_t dl_type;       /* be16: ethertype after the VLAN tags. */
    uint16_t vlan_tci;      /* be16: outer TCI | CFI when tagged, else 0. */
    uint16_t vlan_tci2;     /* be16: inner TCI | CFI when double tagged. */
    uint16_t pad1;          /* Always zero. */

    /* L3. */
    uint32_t nw_src;        /* be32: IPv4 source / ARP SPA. */
    uint32_t nw_dst;        /* be32: IPv4 dest / ARP TPA. */
    uint8_t ipv6_src[16];
    uint8_t ipv6_dst[16];
    uint32_t ipv6_label;    /* be32: low 20 bits. */
    uint8_t nw_proto;       /* IP protocol or low byte of ARP opcode. */
    uint8_t nw_tos;         /* DSCP (high 6 bits) | ECN (low 2 bits). */
    uint8_t nw_ttl;         /* IPv4 TTL or IPv6 hop limit. */
    uint8_t nw_frag;        /* FLOW_NW_FRAG_* */
    uint8_t arp_sha[6];     /* ARP SHA (IPv6 ND: not parsed). */
    uint8_t arp_tha[6];     /* ARP THA. */

    /* L4. */
    uint16_t tp_src;        /* be16: TCP/UDP/SCTP src port, ICMP type. */
    uint16_t tp_dst;        /* be16: TCP/UDP/SCTP dst port, ICMP code. */
    uint16_t tcp_flags;     /* be16: low 12 bits of the TCP flags word. */
    uint16_t pad2;          /* Always zero. */
} __attribute__((aligned(8)));   /* Read as 64-bit words. */

#define FLOW_U64S (sizeof(struct flow) / sizeof(uint64_t))
/* Words before dl_dst: in_port, recirc_id and the conntrack fields. */
#define FLOW_META_U64S (offsetof(struct flow, dl_dst) / sizeof(uint64_t))
_Static_assert(offsetof(struct flow, dl_dst) % 8 == 0,
               "L2 starts on a word");
_Static_assert(sizeof(struct flow) % 8 == 0, "flow must be u64-aligned");
_Static_assert(sizeof(struct flow) == 360, "flow layout changed");

/* Where the layers of a parsed packet start, in bytes from the frame start.
 * A layer that is absent (or truncated before it starts) has offset
 * FLOW_OFS_NONE.  l3 is after all VLAN tags. */
#define FLOW_OFS_NONE 0xffff
struct flow_layers {
    uint16_t l3;
    uint16_t l4;
    uint8_t n_vlans;        /* Tags parsed (0, 1, 2). */
};

/* Parses the 'len' bytes at 'pkt' into 'flow' (fully overwritten; in_port
 * set to 'in_port').  Parses as far as the packet is valid and never reads
 * outside [pkt, pkt + len): a truncated or malformed header leaves the
 * fields of it and of later layers zero.  'layers' may be NULL. */
void flow_extract(const void *pkt, size_t len, uint32_t in_port,
                  struct flow *flow, struct flow_layers *layers);

/* Hash of 'flow' & 'mask' (all FLOW_U64S words). */
uint32_t flow_hash_masked(const struct flow *flow, const struct flow *mask,
                          uint32_t basis);
/* Hash of the whole flow. */
uint32_t flow_hash(const struct flow *flow, uint32_t basis);

/* True if a & mask == b & mask. */
bool flow_equal_masked(const struct flow *a, const struct flow *b,
                       const struct flow *mask);
/* dst = src & mask. */
void flow_apply_mask(struct flow *dst, const struct flow *src,
                     const struct flow *mask);

/* Word access for hashing and masks. */
static inline const uint64_t *
flow_u64(const struct flow *flow)
{
    return (const uint64_t *) (const void *) flow;
}

#endif /* flow.h */
