/* SPDX-License-Identifier: BSD-3-Clause */
/* ct-private.h: what conntrack.c and ct-tcp.c share (not an interface). */
#ifndef SLUICE_CT_PRIVATE_H
#define SLUICE_CT_PRIVATE_H 1

#include <stdbool.h>
#include <stdint.h>
#include "conntrack.h"

/* Timeout classes: the same order as the members of struct ct_timeouts,
 * so the struct reads as an array of CT_N_TM seconds. */
enum ct_tm {
    CT_TM_TCP_SYN_SENT,
    CT_TM_TCP_SYN_RECV,
    CT_TM_TCP_ESTABLISHED,
    CT_TM_TCP_FIN_WAIT,
    CT_TM_TCP_TIME_WAIT,
    CT_TM_TCP_CLOSE,
    CT_TM_UDP_FIRST,
    CT_TM_UDP_SINGLE,
    CT_TM_UDP_MULTIPLE,
    CT_TM_ICMP_FIRST,
    CT_TM_ICMP_REPLY,
    CT_TM_OTHER_FIRST,
    CT_TM_OTHER_SINGLE,
    CT_TM_OTHER_MULTIPLE,
    CT_N_TM
};
_Static_assert(sizeof(struct ct_timeouts) == CT_N_TM * sizeof(uint32_t),
               "struct ct_timeouts must mirror enum ct_tm");

/* Result of updating a connection with a packet (OVS's ct_update_res). */
enum ct_update {
    CT_UPD_INVALID,     /* +inv */
    CT_UPD_VALID,       /* +est */
    CT_UPD_VALID_NEW,   /* +new: still unanswered */
    CT_UPD_NEW,         /* closed connection re-opened: replace it */
};

/* One TCP end, as pf and OVS's conntrack-tcp.c track it. */
struct ct_tcp_peer {
    uint32_t seqlo;         /* highest sequence number sent (+ len) */
    uint32_t seqhi;         /* highest the other end acked + its window */
    uint16_t max_win;       /* largest window seen (unscaled) */
    uint8_t wscale;         /* CT_WSCALE_* flags | shift */
    uint8_t state;          /* enum ct_tcp_state */
};

#define CT_WSCALE_FLAG 0x80     /* the SYN carried a window-scale option */
#define CT_WSCALE_UNKNOWN 0x40  /* picked up mid-stream: be liberal */
#define CT_WSCALE_MASK 0x0f

/* TCP flag bits (low 12 bits of the flags word). */
#define CT_TCP_FIN 0x001
#define CT_TCP_SYN 0x002
#define CT_TCP_RST 0x004
#define CT_TCP_PSH 0x008
#define CT_TCP_ACK 0x010
#define CT_TCP_URG 0x020

/* ct-tcp.c.  'tcp' points at a TCP header whose data offset has been
 * checked to lie within the packet; 'payload' is the segment length. */
bool ct_tcp_invalid_flags(uint16_t flags);
bool ct_tcp_valid_new(const uint8_t *tcp);
/* Initialises peer[0] (sender) and peer[1] for a new connection; returns
 * the timeout class. */
enum ct_tm ct_tcp_new(struct ct_tcp_peer peer[2], const uint8_t *tcp,
                      uint32_t payload);
/* Updates with a segment from peer[reply].  '*tm' is set to the timeout
 * class to apply, or -1 to leave the expiry alone; '*rst' to true if a
 * reset was accepted.  'liberal': the sequence windows are followed but
 * not enforced (a connection whose segments a NIC carried: software did
 * not see them, as Linux's act_ct marks offloaded connections
 * IP_CT_TCP_FLAG_BE_LIBERAL); invalid flag combinations are still +inv.
 * Caller holds the connection's lock. */
enum ct_update ct_tcp_update(struct ct_tcp_peer peer[2], bool reply,
                             const uint8_t *tcp, uint32_t payload,
                             bool liberal, int *tm, bool *rst);

/* ct-nat.c. */
/* Number of candidate reply tuples of 'nat' for 'orig' (>= 1). */
uint64_t ct_nat_n_candidates(const struct ct_nat *nat,
                             const struct ct_tuple *orig);
/* Candidate 'i' (0 <= i < ct_nat_n_candidates()): the translated reply
 * tuple, walked from an offset given by 'hash'. */
void ct_nat_candidate(const struct ct_nat *nat, const struct ct_tuple *orig,
                      uint32_t hash, uint64_t i, struct ct_tuple *reply);
/* Rewrites the frame's headers from tuple 'from' to 'to' (or, 'related',
 * the ICMP error's embedded packet from 'from' to 'to' and then one outer
 * address after it: 'outer_dst', the destination := the embedded source,
 * else the source := the embedded destination), updating checksums.
 * Returns 0, or -1 if the headers are not where they should be (nothing
 * changed then). */
int ct_nat_rewrite(uint8_t *data, uint32_t len, const struct flow_layers *ly,
                   bool v6, const struct ct_tuple *from,
                   const struct ct_tuple *to, bool related, bool outer_dst);

#endif /* ct-private.h */
