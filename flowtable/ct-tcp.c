/* SPDX-License-Identifier: BSD-3-Clause */
/* ct-tcp.c: TCP connection state and sequence-window tracking. */

/*
 * The algorithm is pf's (OpenBSD pf.c, pf_test_state_tcp), as Open
 * vSwitch's lib/conntrack-tcp.c uses it, after Guido van Rooij's "Real
 * Stateful TCP Packet Filtering": each end records the highest sequence
 * number it sent (seqlo) and the highest the other end allowed it to send
 * (seqhi = their ack + their window), and a segment is accepted when
 *   - its last octet is within the window the receiver advertised
 *     (end <= src.seqhi),
 *   - it starts at most one (receiver's) window back (retransmissions),
 *   - its ack is at most MAXACKWINDOW behind and (scaled) ahead of what
 *     the receiver sent,
 *   - a RST carries exactly the expected sequence number (+-1).
 * A segment that fails this but is close (within MAXACKWINDOW) while one
 * side is not yet synchronised or the connection is closing is accepted
 * "loosely" without refreshing the timeout (shotgunned SYNs, a connection
 * picked up mid-stream, stray FINs after close).  Anything else is
 * invalid.  Window scaling applies once both SYNs carried the option
 * (RFC 7323 2.2: the scale in a SYN applies to the windows after it).
 */

#include "ct-private.h"

#include "util.h"

#define SEQ_LT(a, b) ((int32_t) ((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t) ((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t) ((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t) ((a) - (b)) >= 0)

#define CT_TCP_MAX_WSCALE 14
#define MAXACKWINDOW (0xffff + 1500)    /* pf: one window plus a fudge */

static uint32_t
be32_at(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static uint16_t
tcp_flags(const uint8_t *tcp)
{
    return get_be16(tcp + 12) & 0x0fff;
}

/* pf checks these in its normaliser; OVS applies them always.  A SYN may
 * not carry RST or FIN; a segment needs ACK or RST (or SYN); FIN, PSH and
 * URG need ACK. */
bool
ct_tcp_invalid_flags(uint16_t flags)
{
    if (flags & CT_TCP_SYN) {
        if (flags & (CT_TCP_RST | CT_TCP_FIN)) {
            return true;
        }
    } else if (!(flags & (CT_TCP_ACK | CT_TCP_RST))) {
        return true;
    }
    if (!(flags & CT_TCP_ACK)
        && (flags & (CT_TCP_FIN | CT_TCP_PSH | CT_TCP_URG))) {
        return true;
    }
    return false;
}

/* A connection may start with a SYN or (picked up mid-stream) any valid
 * non-SYN segment, never with a SYN+ACK (half open): OVS tcp_valid_new. */
bool
ct_tcp_valid_new(const uint8_t *tcp)
{
    uint16_t f = tcp_flags(tcp);

    if (ct_tcp_invalid_flags(f)) {
        return false;
    }
    return (f & (CT_TCP_SYN | CT_TCP_ACK)) != (CT_TCP_SYN | CT_TCP_ACK);
}

/* The window-scale option of a SYN: CT_WSCALE_FLAG | shift, or 0. */
static uint8_t
tcp_wscale(const uint8_t *tcp)
{
    size_t doff = (size_t) (tcp[12] >> 4) * 4;
    const uint8_t *o = tcp + 20;
    const uint8_t *end = tcp + doff;
    uint8_t ws = 0;

    while (end - o >= 3) {
        size_t olen;

        if (o[0] == 0) {                /* End of options. */
            break;
        } else if (o[0] == 1) {         /* NOP. */
            o++;
            continue;
        }
        if (o[0] == 3) {                /* Window scale: kind, len, shift. */
            ws = (uint8_t) ((o[2] > CT_TCP_MAX_WSCALE ? CT_TCP_MAX_WSCALE
                                                       : o[2])
                            | CT_WSCALE_FLAG);
        }
        olen = o[1] < 2 ? 2 : o[1];
        if (olen > (size_t) (end - o)) {
            break;
        }
        o += olen;
    }
    return ws;
}

enum ct_tm
ct_tcp_new(struct ct_tcp_peer peer[2], const uint8_t *tcp, uint32_t payload)
{
    struct ct_tcp_peer *src = &peer[0], *dst = &peer[1];
    uint16_t f = tcp_flags(tcp);

    src->seqlo = be32_at(tcp + 4);
    src->seqhi = src->seqlo + payload + 1;
    if (f & CT_TCP_SYN) {
        src->seqhi++;
        src->wscale = tcp_wscale(tcp);
        dst->wscale = 0;
    } else {
        /* Picked up mid-stream: the scale is unknown, assume the max. */
        src->wscale = CT_WSCALE_UNKNOWN;
        dst->wscale = CT_WSCALE_UNKNOWN;
    }
    src->max_win = get_be16(tcp + 14);
    if (!src->max_win) {
        src->max_win = 1;
    }
    if (src->wscale & CT_WSCALE_MASK) {
        uint32_t s = src->wscale & CT_WSCALE_MASK;

        /* Keep the unscaled window (rounded up). */
        src->max_win = (uint16_t) (((uint32_t) src->max_win
                                    + (1u << s) - 1) >> s);
    }
    if (f & CT_TCP_FIN) {
        src->seqhi++;
    }
    dst->seqlo = 0;
    dst->seqhi = 1;
    dst->max_win = 1;
    src->state = CT_TCPS_SYN_SENT;
    dst->state = CT_TCPS_CLOSED;
    return CT_TM_TCP_SYN_SENT;
}

/* The timeout class of the connection's state after an accepted segment
 * (OVS's choice in tcp_conn_update). */
static enum ct_tm
tcp_tm(const struct ct_tcp_peer *a, const struct ct_tcp_peer *b)
{
    if (a->state >= CT_TCPS_FIN_WAIT_2 && b->state >= CT_TCPS_FIN_WAIT_2) {
        return CT_TM_TCP_CLOSE;
    } else if (a->state >= CT_TCPS_CLOSING && b->state >= CT_TCPS_CLOSING) {
        return CT_TM_TCP_TIME_WAIT;
    } else if (a->state < CT_TCPS_ESTABLISHED
               || b->state < CT_TCPS_ESTABLISHED) {
        return CT_TM_TCP_SYN_RECV;
    } else if (a->state >= CT_TCPS_CLOSING || b->state >= CT_TCPS_CLOSING) {
        return CT_TM_TCP_FIN_WAIT;
    }
    return CT_TM_TCP_ESTABLISHED;
}

static uint32_t
max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

enum ct_update
ct_tcp_update(struct ct_tcp_peer peer[2], bool reply, const uint8_t *tcp,
              uint32_t payload, bool liberal, int *tm, bool *rst)
{
    struct ct_tcp_peer *src = &peer[reply ? 1 : 0];     /* sender */
    struct ct_tcp_peer *dst = &peer[reply ? 0 : 1];     /* receiver */
    uint16_t f = tcp_flags(tcp);
    uint32_t win = get_be16(tcp + 14);
    uint32_t seq, ack, end, orig_seq;
    uint8_t sws = 0, dws = 0;
    bool check_ackskew = true;
    int32_t ackskew;

    *tm = -1;
    *rst = false;
    if (ct_tcp_invalid_flags(f)) {
        return CT_UPD_INVALID;
    }

    /* A fresh SYN on a connection both of whose ends are closed starts a
     * new connection (port reuse after TIME_WAIT; RFC 9293 3.6.1). */
    if ((f & (CT_TCP_SYN | CT_TCP_ACK)) == CT_TCP_SYN
        && src->state >= CT_TCPS_FIN_WAIT_2
        && dst->state >= CT_TCPS_FIN_WAIT_2) {
        src->state = dst->state = CT_TCPS_CLOSED;
        return CT_UPD_NEW;
    }

    /* A SYN (without ACK) from an end that has not gone past SYN_SENT: a
     * retransmitted SYN, or the crossing SYN of a simultaneous open.  As
     * Open vSwitch 3.1 (conntrack-tcp.c, checked by tests/integration/
     * test_ct_diff.py): that end is SYN_SENT, the packet is +new (without
     * +rpl), and its sequence numbers are not tracked, so the rest of a
     * simultaneous open falls out of the window (+inv). */
    if ((f & (CT_TCP_SYN | CT_TCP_ACK)) == CT_TCP_SYN
        && src->state <= CT_TCPS_SYN_SENT) {
        src->state = CT_TCPS_SYN_SENT;
        *tm = CT_TM_TCP_SYN_SENT;
        return CT_UPD_VALID_NEW;
    }

    if (!(f & CT_TCP_SYN)) {
        if ((src->wscale & CT_WSCALE_FLAG) && (dst->wscale & CT_WSCALE_FLAG)) {
            sws = src->wscale & CT_WSCALE_MASK;
            dws = dst->wscale & CT_WSCALE_MASK;
        } else if ((src->wscale & CT_WSCALE_UNKNOWN)
                   && (dst->wscale & CT_WSCALE_UNKNOWN)) {
            sws = dws = CT_TCP_MAX_WSCALE;
        }
    }

    orig_seq = seq = be32_at(tcp + 4);
    ack = be32_at(tcp + 8);
    end = seq + payload + ((f & CT_TCP_SYN) ? 1 : 0)
          + ((f & CT_TCP_FIN) ? 1 : 0);
    if (src->state < CT_TCPS_SYN_SENT) {
        /* First segment from this end (the SYN+ACK of a handshake, or the
         * first reply of a picked-up connection). */
        if ((f & CT_TCP_SYN) && (dst->wscale & CT_WSCALE_FLAG)) {
            src->wscale = tcp_wscale(tcp);
            if (src->wscale & CT_WSCALE_FLAG) {
                sws = src->wscale & CT_WSCALE_MASK;
                win = (win + (1u << sws) - 1) >> sws;
                dws = dst->wscale & CT_WSCALE_MASK;
            } else {
                /* No scaling after all: the other window was scaled. */
                dst->max_win = (uint16_t) ((uint32_t) dst->max_win
                                           << (dst->wscale
                                               & CT_WSCALE_MASK));
                dst->wscale = 0;
            }
        }
        src->seqlo = seq;
        src->state = CT_TCPS_SYN_SENT;
        if (src->seqhi == 1
            || SEQ_GEQ(end + max_u32(1, (uint32_t) dst->max_win << dws),
                       src->seqhi)) {
            src->seqhi = end + max_u32(1, (uint32_t) dst->max_win << dws);
            /* A new or picked-up connection: don't judge the ack yet. */
            check_ackskew = false;
        }
        if (win > src->max_win) {
            src->max_win = (uint16_t) win;
        }
    }

    if (!(f & CT_TCP_ACK)) {
        ack = dst->seqlo;               /* Nothing to check. */
    } else if (ack == 0 && (f & (CT_TCP_ACK | CT_TCP_RST))
                           == (CT_TCP_ACK | CT_TCP_RST)) {
        ack = dst->seqlo;               /* Stacks that send RST|ACK 0. */
    }
    if (seq == end) {
        /* No data: ease the sequence checks. */
        seq = src->seqlo;
        end = seq;
    }

    ackskew = check_ackskew ? (int32_t) (dst->seqlo - ack) : 0;
    /* Liberal: any segment without SYN or RST, and a RST that does not go
     * back before what software last saw of its sender. */
    if ((liberal && (!(f & (CT_TCP_SYN | CT_TCP_RST))
                     || ((f & CT_TCP_RST) && !(f & CT_TCP_SYN)
                         && SEQ_GEQ(orig_seq, src->seqlo))))
        || (SEQ_GEQ(src->seqhi, end)
            && SEQ_GEQ(seq, src->seqlo - ((uint32_t) dst->max_win << dws))
            && ackskew >= -MAXACKWINDOW
            && ackskew <= (MAXACKWINDOW << sws)
            && (!(f & CT_TCP_RST) || orig_seq == src->seqlo
                || orig_seq == src->seqlo + 1
                || orig_seq + 1 == src->seqlo))) {
        if (src->max_win < win) {
            src->max_win = (uint16_t) win;
        }
        if (SEQ_GT(end, src->seqlo)) {
            src->seqlo = end;
        }
        if (SEQ_GEQ(ack + (win << sws), dst->seqhi)) {
            dst->seqhi = ack + max_u32(win << sws, 1);
        }
        if ((f & CT_TCP_SYN) && src->state < CT_TCPS_SYN_SENT) {
            src->state = CT_TCPS_SYN_SENT;
        }
        if ((f & CT_TCP_FIN) && src->state < CT_TCPS_CLOSING) {
            src->state = CT_TCPS_CLOSING;
        }
        if (f & CT_TCP_ACK) {
            if (dst->state == CT_TCPS_SYN_SENT) {
                dst->state = CT_TCPS_ESTABLISHED;
            } else if (dst->state == CT_TCPS_CLOSING) {
                dst->state = CT_TCPS_FIN_WAIT_2;
            }
        }
        if (f & CT_TCP_RST) {
            src->state = dst->state = CT_TCPS_TIME_WAIT;
            *rst = true;
        }
        *tm = (int) tcp_tm(src, dst);
        return CT_UPD_VALID;
    }

    if ((dst->state < CT_TCPS_SYN_SENT
         || dst->state >= CT_TCPS_FIN_WAIT_2
         || src->state >= CT_TCPS_FIN_WAIT_2)
        && SEQ_GEQ(src->seqhi + MAXACKWINDOW, end)
        && SEQ_GEQ(seq, src->seqlo - MAXACKWINDOW)) {
        /* Loose acceptance (see the top of the file): no timeout refresh,
         * so a flood of such segments cannot keep the entry alive. */
        if (src->max_win < win) {
            src->max_win = (uint16_t) win;
        }
        if (SEQ_GT(end, src->seqlo)) {
            src->seqlo = end;
        }
        if (SEQ_GEQ(ack + (win << sws), dst->seqhi)) {
            dst->seqhi = ack + max_u32(win << sws, 1);
        }
        if ((f & CT_TCP_FIN) && src->state < CT_TCPS_CLOSING) {
            src->state = CT_TCPS_CLOSING;
        }
        if (f & CT_TCP_RST) {
            src->state = dst->state = CT_TCPS_TIME_WAIT;
            *rst = true;
        }
        return CT_UPD_VALID;
    }
    return CT_UPD_INVALID;
}
