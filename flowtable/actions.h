/* SPDX-License-Identifier: BSD-3-Clause */
/* actions.h: OpenFlow-style actions (slow path) and datapath actions. */
#ifndef SLUICE_ACTIONS_H
#define SLUICE_ACTIONS_H 1

/*
 * What
 *   Two action languages.
 *   - of_action: what a user writes in a flow ("mod_nw_src:1.2.3.4,
 *     resubmit(,2),NORMAL"); kept as written so dump-flows prints it back.
 *   - dp_action: what the fast path executes on a packet after the slow path
 *     translated a rule chain for one flow: outputs to datapath ports,
 *     header rewrites and VLAN push/pop only; no tables, no NORMAL, no
 *     flood (those are resolved to explicit outputs).  The offload manager
 *     translates dp_actions to rte_flow actions.
 *
 * Design
 *   Both are flat arrays of fixed-size structs (no pointers inside), so a
 *   list can be copied with memcpy, compared with memcmp and freed with one
 *   free().  An empty list means drop.
 *
 * Thread-safety
 *   Plain data.  A struct dp_actions attached to a megaflow is immutable
 *   once published; PMDs read it lock-free and it is freed after a grace
 *   period.
 *
 * Ownership
 *   of_actions_* and dp_actions_* constructors return new memory the caller
 *   frees with free().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "conntrack.h"
#include "meta-flow.h"

/* OpenFlow-style port numbers (host order). */
#define OFPP_MAX 0xff00u
#define OFPP_IN_PORT 0xfff8u
#define OFPP_TABLE 0xfff9u
#define OFPP_NORMAL 0xfffau
#define OFPP_FLOOD 0xfffbu
#define OFPP_ALL 0xfffcu
#define OFPP_CONTROLLER 0xfffdu
#define OFPP_LOCAL 0xfffeu
#define OFPP_NONE 0xffffu

#define OF_N_TABLES 254        /* Tables 0..253. */
#define OF_TABLE_NONE 0xff     /* "this table" in resubmit(port,). */

enum of_action_type {
    OFPACT_OUTPUT,          /* output:N, or a bare port number */
    OFPACT_IN_PORT,         /* in_port */
    OFPACT_FLOOD,           /* flood */
    OFPACT_ALL,             /* all */
    OFPACT_NORMAL,          /* NORMAL */
    OFPACT_SET_FIELD,       /* set_field:V[/M]->FIELD, and mod_* */
    OFPACT_DEC_TTL,         /* dec_ttl */
    OFPACT_STRIP_VLAN,      /* strip_vlan */
    OFPACT_POP_VLAN,        /* pop_vlan */
    OFPACT_PUSH_VLAN,       /* push_vlan:ETHERTYPE */
    OFPACT_RESUBMIT,        /* resubmit:PORT, resubmit(PORT,TABLE) */
    OFPACT_GOTO_TABLE,      /* goto_table:T (must be last) */
    OFPACT_CT,              /* ct(commit,zone=N,table=T,nat(..),exec(..)) */
    OFPACT_CT_CLEAR,        /* ct_clear */
    OFPACT_CONTROLLER,      /* controller, controller:N, CONTROLLER:N,
                             * controller(max_len=N), output:CONTROLLER */
    OFPACT_GROUP,           /* group:N (ofproto.h "Groups") */
    OFPACT_METER,           /* meter:N (ofproto.h "Meters"; first) */
    OFPACT_WRITE_METADATA,  /* write_metadata:V[/M]: after every other
                             * action but goto_table, once */
    OFPACT_CLEAR_ACTIONS,   /* clear_actions: empties the action set */
    OFPACT_MOVE,            /* move:SRC[a..b]->DST[c..d] */
    OFPACT_WRITE_ACTIONS,   /* write_actions(...): the next
                             * write_actions.n actions (a block) go into
                             * the packet's action set */
};

/* The instructions of a flow, in the one order a list may hold them
 * (Open vSwitch's, and OpenFlow's order of execution): meter, the applied
 * actions, clear_actions, write_actions(...) with its block,
 * write_metadata, goto_table.  An action set runs when the pipeline ends
 * (ofproto.h "Action set"); what write_actions may hold: outputs (output,
 * in_port, NORMAL, flood, all, controller), group, set_field and the
 * mod_* actions, push_vlan, pop_vlan/strip_vlan, dec_ttl. */

#define OF_CT_NO_TABLE 0xff    /* ct() without table=: no recirculation. */

/* A field's bits [ofs, ofs + n_bits) as load, move and ct(zone=) name them
 * ("NXM_NX_REG0[0..15]"): 'nxm' indexes meta-flow.h's NXM name table. */
struct of_subfield {
    uint8_t nxm;
    uint8_t ofs;
    uint8_t n_bits;         /* 1..128; 0: none */
};

/* ct(...) as written.  exec() may only set ct_mark and ct_label, so their
 * values live here rather than in a nested action list. */
struct of_ct {
    struct ct_exec exec;    /* zone, flags (CT_F_*), mark, label, nat */
    uint8_t table;          /* OF_CT_NO_TABLE or the table to resume in */
    uint8_t has_nat;        /* nat or nat(...) was given */
    struct of_subfield zone_src;    /* zone=FIELD[a..b] (16 bits, read
                                     * at translation); n_bits 0: the
                                     * zone is exec.zone */
};

/* How a SET_FIELD was spelled, so it formats back the same way. */
enum of_set_field_syntax {
    OFSF_SET_FIELD,         /* set_field:V->F */
    OFSF_MOD,               /* mod_dl_src:V etc. (name from the field) */
    OFSF_LOAD,              /* load:V->NAME[a..b] ('nxm' names NAME; the
                             * mask says which bits), NXAST_REG_LOAD */
};


struct of_action {
    uint16_t type;          /* enum of_action_type */
    uint16_t pad;
    union {
        struct {
            uint32_t port;          /* OFPP_* or 1..OFPP_MAX-1 */
        } output;
        struct {
            uint16_t field;         /* enum mf_field_id */
            uint8_t syntax;         /* enum of_set_field_syntax */
            uint8_t has_mask;
            uint8_t nxm;            /* OFSF_LOAD: the name written */
            union mf_value value;   /* view coordinates, network order */
            union mf_value mask;
        } set_field;
        struct {
            struct of_subfield src, dst;    /* n_bits equal */
        } move;
        struct {
            uint16_t ethertype;     /* host order: 0x8100 or 0x88a8 */
        } push_vlan;
        struct {
            uint32_t port;          /* OFPP_IN_PORT = use in_port as is */
            uint8_t table;          /* OF_TABLE_NONE = current table */
        } resubmit;
        struct {
            uint8_t table;
        } goto_table;
        struct of_ct ct;
        struct {
            uint16_t max_len;       /* Bytes of the packet sent. */
        } controller;
        struct {
            uint32_t group_id;
        } group;
        struct {
            uint32_t meter_id;
        } meter;
        struct {
            uint64_t value;         /* host order; bits outside 'mask'
                                     * are ignored */
            uint64_t mask;          /* host order; all ones when not given */
        } write_metadata;
        struct {
            uint16_t n;             /* Actions in the block after it. */
        } write_actions;
    };
};

struct of_actions {
    size_t n;
    struct of_action a[];
};

enum dp_action_type {
    DPA_OUTPUT,             /* port: datapath port number */
    DPA_SET_ETH,            /* masked set of dl_src/dl_dst */
    DPA_SET_IPV4,           /* masked set of src, dst, tos, ttl */
    DPA_SET_IPV6,           /* masked set of src, dst, tclass, hlimit
                             * (the flow label is not rewritable) */
    DPA_SET_L4,             /* masked set of tp_src/tp_dst (TCP/UDP/SCTP
                             * by the flow's nw_proto) */
    DPA_PUSH_VLAN,          /* push a tag: tpid (be16), tci (be16) */
    DPA_POP_VLAN,           /* remove the outer tag */
    DPA_SET_VLAN,           /* masked rewrite of the outer tag's TCI */
    DPA_CT,                 /* conntrack: ct (struct ct_exec) */
    DPA_CT_CLEAR,           /* forget the packet's conntrack state */
    DPA_RECIRC,             /* look the packet up again with recirc_id set
                             * (the last action: the packet itself; else a
                             * copy, and the packet goes on) */
    DPA_TNL_POP,            /* tnl_pop: the packet is for a tunnel endpoint
                             * on UDP port tnl_pop.udp_port of a
                             * tnl_pop.type tunnel: check and strip its
                             * outer headers (tnl.h) and look the inner
                             * packet up again as received by the tunnel
                             * port its metadata selects, with that
                             * metadata (the last action: the packet
                             * itself; else a copy) */
    DPA_TNL_PUSH,           /* tnl_push: encapsulate a copy of the packet
                             * (the packet itself when this is the last
                             * action) in the header whose template the
                             * next tnl_push.n_data DPA_TNL_DATA actions
                             * hold, and run the tnl_push.n_acts actions
                             * after those on it: what the underlay
                             * bridge does with the encapsulated packet.
                             * The packet itself goes on unchanged after
                             * the whole block */
    DPA_TNL_DATA,           /* Bytes of a DPA_TNL_PUSH's header template
                             * (only inside its block) */
    DPA_METER,              /* meter_id: the packet through that meter
                             * (dp.h "Meters"): dropped, or its DSCP
                             * remarked, by the band it exceeds */
    DPA_USERSPACE,          /* A copy of the packet, as the actions before
                             * left it, to the main thread: an OpenFlow
                             * packet-in (userspace.*; the packet itself
                             * when this is the last action) */
};

#define DPA_TNL_DATA_BYTES 64   /* Template bytes per DPA_TNL_DATA. */

struct dp_action {
    uint16_t type;          /* enum dp_action_type */
    uint16_t pad;
    union {
        uint32_t port;                          /* DPA_OUTPUT */
        struct {
            uint8_t src[6], dst[6];
            uint8_t src_mask[6], dst_mask[6];
        } eth;
        struct {
            uint32_t src, dst, src_mask, dst_mask;  /* be32 */
            uint8_t tos, tos_mask, ttl, ttl_mask;
        } ipv4;
        struct {
            uint8_t src[16], dst[16];
            uint8_t src_mask[16], dst_mask[16];
            uint8_t tclass, tclass_mask, hlimit, hlimit_mask;
        } ipv6;
        struct {
            uint16_t src, dst, src_mask, dst_mask;  /* be16 */
            uint8_t proto;      /* IPPROTO_TCP_, _UDP_ or _SCTP_ */
        } l4;
        struct {
            uint16_t tpid, tci;                 /* be16 */
        } push_vlan;
        struct {
            uint16_t tci, tci_mask;             /* be16 */
        } set_vlan;
        struct ct_exec ct;                      /* DPA_CT */
        uint32_t recirc_id;                     /* DPA_RECIRC */
        struct {
            uint8_t type;                       /* enum tnl_type */
            uint8_t pad;
            uint16_t udp_port;                  /* be16 */
        } tnl_pop;
        struct {
            uint8_t type;                       /* enum tnl_type */
            uint8_t is_ipv6;
            uint8_t csum;                       /* Fill the UDP checksum. */
            uint8_t n_data;                     /* DPA_TNL_DATA that follow */
            uint16_t hdr_len;                   /* Template bytes. */
            uint16_t n_acts;                    /* Actions after the data,
                                                 * for the encapsulated
                                                 * packet. */
            uint32_t tnl_port;                  /* The tunnel's datapath
                                                 * port (its tx counters). */
            uint32_t outer_in_port;             /* The datapath port the
                                                 * underlay bridge's
                                                 * translation took as
                                                 * input (the host port
                                                 * holding the endpoint):
                                                 * a recirculation in the
                                                 * block resumes there. */
            uint32_t remote[4];                 /* The outer destination
                                                 * (for dumps). */
            uint16_t max_inner;                 /* The longest inner frame
                                                 * the underlay's MTU
                                                 * carries; 0: no limit. */
        } tnl_push;
        uint8_t data[DPA_TNL_DATA_BYTES];       /* DPA_TNL_DATA */
        uint32_t meter_id;                      /* DPA_METER */
        struct {
            uint16_t max_len;                   /* Bytes sent at most. */
            uint8_t reason;                     /* OFPR_*: 0 no match,
                                                 * 1 action */
            uint8_t table_id;
            uint32_t in_port;                   /* The pipeline's in_port
                                                 * (OpenFlow; a load or a
                                                 * frozen state may have
                                                 * changed it). */
            uint64_t cookie;                    /* The rule's (host). */
            uint64_t metadata;                  /* The pipeline's OpenFlow
                                                 * metadata and registers
                                                 * at the action (the
                                                 * packet-in's match). */
            uint32_t regs[FLOW_N_REGS];
        } userspace;
    };
};
_Static_assert(sizeof(struct dp_action) <= 96,
               "a datapath action stays within 96 bytes");

/* The actions of a DPA_TNL_PUSH at 'a' (data included) and after it. */
static inline size_t
dp_action_block_len(const struct dp_action *a)
{
    return a->type == DPA_TNL_PUSH
           ? 1 + (size_t) a->tnl_push.n_data + a->tnl_push.n_acts : 1;
}

struct dp_actions {
    size_t n;
    bool in_port_drop;      /* Translation dropped an output to the
                             * packet's own input port (OpenFlow forbids
                             * it without the in_port action): with no
                             * output left, the drop is counted as
                             * output_to_self rather than action_drop. */
    uint8_t pad[7];
    struct dp_action a[];
};
/* Code that lays a header and an action array side by side (a stub buffer,
 * a struct { struct dp_actions h; struct dp_action a[N]; }) relies on it. */
_Static_assert(offsetof(struct dp_actions, a) == sizeof(struct dp_actions),
               "dp_actions' array starts right after its header");

/* Allocates a list with room for 'n' actions, n set to 0 ... capacity is
 * the caller's business; returns NULL on ENOMEM. */
/* True if an action of 'type' may be written into the action set. */
static inline bool
of_action_set_allowed(uint16_t type)
{
    switch (type) {
    case OFPACT_OUTPUT: case OFPACT_IN_PORT: case OFPACT_FLOOD:
    case OFPACT_ALL: case OFPACT_NORMAL: case OFPACT_CONTROLLER:
    case OFPACT_GROUP: case OFPACT_SET_FIELD: case OFPACT_PUSH_VLAN:
    case OFPACT_POP_VLAN: case OFPACT_STRIP_VLAN: case OFPACT_DEC_TTL:
        return true;
    default:
        return false;
    }
}

struct of_actions *of_actions_alloc(size_t capacity);
struct dp_actions *dp_actions_alloc(size_t capacity);
struct of_actions *of_actions_clone(const struct of_actions *);
struct dp_actions *dp_actions_clone(const struct dp_actions *);
bool of_actions_equal(const struct of_actions *, const struct of_actions *);
bool dp_actions_equal(const struct dp_actions *, const struct dp_actions *);
static inline size_t
of_actions_size(size_t n)
{
    return sizeof(struct of_actions) + n * sizeof(struct of_action);
}
static inline size_t
dp_actions_size(size_t n)
{
    return sizeof(struct dp_actions) + n * sizeof(struct dp_action);
}

/* Formats the inside of a ct(): "commit,zone=5,exec(...),nat(...)", as
 * ovs-ofctl writes it ('table' OF_CT_NO_TABLE: none; 'zone_src' non-NULL:
 * written as the zone instead of exec->zone).  Returns strlen. */
size_t ct_exec_format(char *buf, size_t size, const struct ct_exec *exec,
                      uint8_t table, bool has_nat, const char *zone_src);

/* Formats a dp action list for dump-megaflows ("set(eth(src=..)),
 * output:3", "drop" when empty).  Returns strlen; NUL-terminates. */
size_t dp_actions_format(char *buf, size_t size, const struct dp_actions *);

#endif /* actions.h */
