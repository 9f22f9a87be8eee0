/* SPDX-License-Identifier: BSD-3-Clause */
/* drop.h: every reason the datapath drops a packet, listed once. */
#ifndef SLUICE_DROP_H
#define SLUICE_DROP_H 1

/*
 * What
 *   The named drop counters of the fast path.  Each PMD thread keeps one
 *   counter per reason (written only by that thread); pmd-stats reports
 *   them by name.  A port's own refusals (tx ring full) are counted by the
 *   port as tx_dropped, not here.
 *
 * Design
 *   An X-macro, so the enum and the names cannot drift apart.
 */

#define DP_DROP_REASONS                                                     \
    DP_DROP(ACTION, "action_drop")            /* flow says drop */          \
    DP_DROP(NO_PORT, "tx_port_gone")          /* output to removed port */  \
    DP_DROP(UPCALL_ERROR, "upcall_error")     /* slow path failed */        \
    DP_DROP(CLONE_NOMEM, "clone_nomem")       /* no mbuf to copy into */    \
    DP_DROP(REWRITE, "rewrite_error")         /* header rewrite failed */   \
    DP_DROP(MULTISEG, "multiseg_unsupported") /* chained mbuf rewrite */    \
    DP_DROP(LOOP, "output_to_self")           /* only output: in_port */ \
    DP_DROP(RECIRC_DEPTH, "recirc_depth")     /* too many passes */         \
    DP_DROP(RECIRC_FULL, "recirc_queue_full") /* pass queue overflow */ \
    DP_DROP(MIRROR_PORT, "mirror_output_port") /* to/from a mirror's out */\
    DP_DROP(PKTIN_FULL, "packet_in_queue_full") /* controller copy lost */ \
    DP_DROP(METER, "meter_drop")              /* a meter's drop band */    \
    DP_DROP(TNL_NO_PORT, "tunnel_no_port")    /* no tunnel port matches */  \
    DP_DROP(TNL_HEADROOM, "tunnel_no_headroom") /* no room for a header */  \
    DP_DROP(TNL_TOO_BIG, "tunnel_too_big")    /* over the underlay's MTU */ \
    DP_DROP(TNL_NESTED_OL, "tunnel_nested_offload") /* a tunnel in a */ \
                                              /* tunnel, checksum pending */ \
    /* What tnl_parse() refuses, in enum tnl_error's order (tnl.h). */      \
    DP_DROP(TNL_TRUNCATED, "tunnel_truncated")                              \
    DP_DROP(TNL_BAD_IP, "tunnel_bad_ip")                                    \
    DP_DROP(TNL_IP_CSUM, "tunnel_ip_csum")                                  \
    DP_DROP(TNL_FRAGMENT, "tunnel_fragment")                                \
    DP_DROP(TNL_NOT_UDP, "tunnel_not_udp")                                  \
    DP_DROP(TNL_UDP_LEN, "tunnel_udp_len")                                  \
    DP_DROP(TNL_UDP_CSUM, "tunnel_udp_csum")                                \
    DP_DROP(TNL_BAD_HDR, "tunnel_bad_header")                               \
    DP_DROP(TNL_CRITICAL_OPT, "tunnel_critical_opt")

enum dp_drop_reason {
#define DP_DROP(ENUM, NAME) DP_DROP_##ENUM,
    DP_DROP_REASONS
#undef DP_DROP
    DP_N_DROP_REASONS
};

/* Name of 'reason' as exported by pmd-stats. */
const char *dp_drop_reason_name(enum dp_drop_reason reason);

#endif /* drop.h */
