/* SPDX-License-Identifier: BSD-3-Clause */
/* meta-flow.h: the fields of struct flow, by name, for matches and set_field. */
#ifndef SLUICE_META_FLOW_H
#define SLUICE_META_FLOW_H 1

/*
 * What
 *   One descriptor per matchable/settable field: its Open vSwitch names,
 *   where it lives in struct flow, its width, whether it takes arbitrary
 *   masks, and its prerequisites (e.g. nw_src needs dl_type=0x0800 or ARP).
 *   The flow-syntax parser, the formatter, set_field and the slow path's
 *   translation all use this one table.
 *
 * Design
 *   Some fields are views of part of a struct flow member (dl_vlan is the VID
 *   bits of vlan_tci, ip_dscp the high 6 bits of nw_tos, icmp_type is
 *   tp_src...): a descriptor holds the member's offset and size plus a
 *   'bits' mask and shift that select the view.  Values are passed in
 *   network byte order in a union mf_value, right-aligned within the
 *   member's width (the same bytes as the member itself, after shifting
 *   down by 'shift').
 *
 * Thread-safety
 *   Read-only tables; reentrant functions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

enum mf_field_id {
    MFF_IN_PORT,
    MFF_DL_SRC,
    MFF_DL_DST,
    MFF_DL_TYPE,
    MFF_VLAN_TCI,       /* vlan_tci, maskable. */
    MFF_DL_VLAN,        /* VID of vlan_tci (OF1.0 view; 0xffff = no tag). */
    MFF_DL_VLAN_PCP,    /* PCP of vlan_tci. */
    MFF_VLAN_VID,       /* OXM view: VID | 0x1000 when present. */
    MFF_NW_SRC,         /* also ip_src */
    MFF_NW_DST,         /* also ip_dst */
    MFF_NW_PROTO,       /* also ip_proto */
    MFF_NW_TOS,         /* DSCP bits of nw_tos, in tos position (0..255). */
    MFF_IP_DSCP,        /* DSCP value 0..63 */
    MFF_NW_ECN,         /* also ip_ecn */
    MFF_NW_TTL,
    MFF_IP_FRAG,        /* nw_frag */
    MFF_TP_SRC,         /* also tcp_src, udp_src, sctp_src */
    MFF_TP_DST,
    MFF_TCP_FLAGS,
    MFF_ICMP_TYPE,      /* also icmpv6_type */
    MFF_ICMP_CODE,      /* also icmpv6_code */
    MFF_ARP_OP,
    MFF_ARP_SPA,
    MFF_ARP_TPA,
    MFF_ARP_SHA,
    MFF_ARP_THA,
    MFF_IPV6_SRC,
    MFF_IPV6_DST,
    MFF_IPV6_LABEL,
    MFF_RECIRC_ID,      /* Datapath only: shown in dump-megaflows. */
    MFF_CT_STATE,       /* ct_state: CS_* bits, "+trk+new" syntax. */
    MFF_CT_ZONE,
    MFF_CT_MARK,        /* Writable only in ct(exec(...)). */
    MFF_CT_LABEL,       /* 128 bits, hex; writable only in ct(exec(...)). */
    MFF_CT_NW_PROTO,
    MFF_CT_NW_SRC,
    MFF_CT_NW_DST,
    MFF_CT_IPV6_SRC,
    MFF_CT_IPV6_DST,
    MFF_CT_TP_SRC,
    MFF_CT_TP_DST,
    MFF_TUN_ID,         /* 64 bits (VXLAN/GENEVE: the VNI, 24 bits). */
    MFF_TUN_SRC,        /* Outer IPv4 source of a received packet. */
    MFF_TUN_DST,
    MFF_TUN_IPV6_SRC,
    MFF_TUN_IPV6_DST,
    MFF_TUN_FLAGS,      /* FLOW_TNL_F_OAM only ("+oam"). */
    MFF_TUN_TOS,
    MFF_TUN_TTL,
    MFF_TUN_METADATA0,  /* GENEVE options, by the TLV map (tnl.h): 64-bit */
    MFF_TUN_METADATA1,  /* views; a match or a set_field also means the */
    MFF_TUN_METADATA2,  /* option is present (flow_tnl.md_present). */
    MFF_TUN_METADATA3,
    MFF_TUN_METADATA4,
    MFF_TUN_METADATA5,
    MFF_TUN_METADATA6,
    MFF_TUN_METADATA7,
    MFF_METADATA,       /* OpenFlow metadata, 64 bits (write_metadata,
                         * set_field): the pipeline's own. */
    MFF_REG0,           /* Registers reg0-reg15, 32 bits each: the */
    MFF_REG15 = MFF_REG0 + 15,  /* pipeline's own, like metadata. */
    MFF_XREG0,          /* xreg0-xreg7: 64-bit views of register pairs */
    MFF_XREG7 = MFF_XREG0 + 7,  /* (xreg0 = reg0:reg1). */
    MFF_XXREG0,         /* xxreg0-xxreg3: 128-bit views of register */
    MFF_XXREG3 = MFF_XXREG0 + 3,    /* quads (xxreg0 = reg0:...:reg3). */
    MFF_N_IDS
};

/* Prerequisites a match on a field needs. */
enum mf_prereq {
    MFP_NONE,
    MFP_VLAN,           /* a VLAN tag (vlan_tci CFI set) */
    MFP_ARP,
    MFP_IPV4,
    MFP_IPV6,
    MFP_IP_ANY,         /* IPv4 or IPv6 */
    MFP_IPV4_OR_ARP,    /* nw_src/nw_dst */
    MFP_TCP,            /* ip or ipv6 with nw_proto 6 */
    MFP_L4,             /* TCP, UDP or SCTP */
    MFP_ICMP_ANY,       /* icmp or icmp6 */
};

union mf_value {
    uint8_t u8;
    uint16_t be16;
    uint32_t be32;
    uint8_t mac[6];
    uint8_t ipv6[16];
    uint8_t bytes[16];      /* Also 8-byte fields (tun_id, be64). */
};

struct mf_field {
    enum mf_field_id id;
    const char *name;       /* Primary name, e.g. "nw_src". */
    const char *alias;      /* Another accepted name or NULL ("ip_src"). */
    uint16_t offset;        /* offsetof(struct flow, member). */
    uint8_t n_bytes;        /* Member width: 1, 2, 4, 6, 8 or 16. */
    uint8_t shift;          /* View = (member & bits) >> shift. */
    uint32_t bits;          /* Host-order mask of the member bits (for
                             * 1/2/4-byte members); all ones otherwise. */
    bool maskable;          /* Accepts value/mask. */
    bool writable;          /* Accepted by set_field / mod_*. */
    enum mf_prereq prereq;
};

/* Descriptor for 'id' (valid id required), or by name (NULL if unknown). */
const struct mf_field *mf_from_id(enum mf_field_id id);
const struct mf_field *mf_from_name(const char *name);

/* The tun_metadata slot of 'id' (0..7), or -1 for another field. */
static inline int
mf_tun_metadata_slot(enum mf_field_id id)
{
    return id >= MFF_TUN_METADATA0 && id <= MFF_TUN_METADATA7
           ? (int) (id - MFF_TUN_METADATA0) : -1;
}

/* True for the registers and their wider views (reg*, xreg*, xxreg*). */
static inline bool
mf_is_register(enum mf_field_id id)
{
    return id >= MFF_REG0 && id <= MFF_XXREG3;
}

/* Fields by their Open vSwitch NXM/OXM names, as load, move and
 * ct(zone=...) write them ("NXM_NX_REG0", "OXM_OF_PKT_REG1",
 * "NXM_OF_TCP_SRC"...), with the header they have on the wire (class,
 * field, width in bytes: the bit ranges of "NAME[a..b]" count from the
 * least significant bit of that width).  Several names may select one
 * sluice field (NXM_OF_TCP_SRC and NXM_OF_UDP_SRC are both tp_src): an
 * action keeps the index of the name it was written with. */
struct mf_nxm {
    const char *name;
    enum mf_field_id id;
    uint16_t cls;
    uint8_t field;
    uint8_t width;
};
/* Index of the name 'name' (an NXM/OXM name, or a field's own name as
 * Open vSwitch also accepts: "reg0", "eth_src"), or -1. */
int mf_nxm_from_name(const char *name);
/* Index of the name with header class 'cls' and field 'field', or -1. */
int mf_nxm_from_header(uint16_t cls, uint8_t field);
/* Entry 'i' (0 <= i < mf_nxm_count()), or NULL. */
const struct mf_nxm *mf_nxm_get(int i);
int mf_nxm_count(void);
/* Bits [ofs, ofs + n_bits) of 'value' (a value of 'nxm''s field, in its
 * view coordinates), n_bits <= 64. */
uint64_t mf_nxm_get_bits(const struct mf_nxm *nxm, const union mf_value *v,
                         unsigned ofs, unsigned n_bits);
/* Writes 'bits' into bits [ofs, ofs + n_bits) of 'value' and sets them in
 * 'mask' (both in view coordinates), n_bits <= 64. */
void mf_nxm_put_bits(const struct mf_nxm *nxm, union mf_value *value,
                     union mf_value *mask, unsigned ofs, unsigned n_bits,
                     uint64_t bits);
/* Sets bits [ofs, ofs + n_bits) of 'mask' (view coordinates; any width
 * up to the field's). */
void mf_nxm_mask_bits(const struct mf_nxm *nxm, union mf_value *mask,
                      unsigned ofs, unsigned n_bits);
/* The bits 'mask' covers, lowest to highest set bit, into '*ofs' and
 * '*n_bits' (0 and 0 for an empty mask).  Returns true if they are one
 * run (no clear bit between). */
bool mf_nxm_mask_range(const struct mf_nxm *nxm, const union mf_value *mask,
                       unsigned *ofs, unsigned *n_bits);

/* Reads the field view from 'flow' into 'value'. */
void mf_get(const struct mf_field *mf, const struct flow *flow,
            union mf_value *value);
/* Sets the bits of 'value' selected by 'mask' (view coordinates) in 'flow';
 * mask NULL means all bits of the view. */
void mf_set(const struct mf_field *mf, const union mf_value *value,
            const union mf_value *mask, struct flow *flow);
/* Sets all bits of the field's view in 'wc' (un-wildcards it). */
void mf_unwildcard(const struct mf_field *mf, struct flow *wc);
/* True if 'flow' (a packet, or a match's flow with 'wc') satisfies the
 * field's prerequisites.  With 'wc' nonnull, also un-wildcards the fields
 * the prerequisite test looked at. */
bool mf_prereqs_ok(const struct mf_field *mf, const struct flow *flow,
                   struct flow *wc);

/* Additions (H3).
 *
 * Value byte order: as the member itself, so in_port and recirc_id (host
 * order in struct flow) are passed host order in value.be32; every other
 * 1/2/4-byte view is network order. */

/* Same as mf_prereqs_ok() for a bare prerequisite. */
bool mf_prereq_ok(enum mf_prereq prereq, const struct flow *flow,
                  struct flow *wc);
/* "ip or arp", "tcp, udp or sctp"...: for "FIELD requires ..." messages. */
const char *mf_prereq_string(enum mf_prereq prereq);
/* The view of a 1/2/4-byte field as a host-order integer, and back (the
 * rest of the union zeroed).  0 / no-op for 6/16-byte fields. */
uint32_t mf_value_to_u32(const struct mf_field *mf,
                         const union mf_value *value);
void mf_value_from_u32(const struct mf_field *mf, uint32_t v,
                       union mf_value *value);
/* Largest view value of a 1/2/4-byte field (bits >> shift); 0 for 6/16. */
uint32_t mf_view_max(const struct mf_field *mf);
/* Width of the view in bits (12 for dl_vlan, 48 for dl_src...). */
int mf_n_bits(const struct mf_field *mf);
/* True if 'value' has no bits set outside the view. */
bool mf_value_fits(const struct mf_field *mf, const union mf_value *value);
/* True if no bit of the field's view is set in 'wc'. */
bool mf_is_wildcarded(const struct mf_field *mf, const struct flow *wc);

#endif /* meta-flow.h */
