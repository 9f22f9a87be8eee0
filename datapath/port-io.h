/* SPDX-License-Identifier: BSD-3-Clause */
/* port-io.h: a port's fast path: rx and tx bursts, inline. */
#ifndef SLUICE_PORT_IO_H
#define SLUICE_PORT_IO_H 1

/*
 * What
 *   The two calls a PMD makes on a port for every burst, inline so that
 *   the provider's receive or send function is the only indirect call:
 *   port_rx_burst() (the provider's rxq_recv, then the receive hook of an
 *   offloading NIC, then the queue's counters) and port_tx_burst() (the
 *   provider's send, under the device queue's lock where PMDs share it,
 *   then the counters).
 *
 * Design
 *   Kept apart from port.h (the port API of the main thread) because they
 *   need struct port, which is the providers' (port-provider.h).
 *
 * Thread-safety
 *   A PMD thread, on the rx queues it polls and its own tx qid (port.h).
 *
 * Ownership
 *   port_rx_burst(): the caller owns the packets it returns.
 *   port_tx_burst(): always takes all 'n' packets.
 */

#include "port-provider.h"

/* Fast path (PMD threads).
 *
 * port_rx_burst(): receives up to 'max' packets from rx queue 'qid'
 * (< port_n_rxq()) into 'pkts'; returns how many.  The caller owns them.
 *
 * port_tx_burst(): transmits 'n' packets on tx qid 'qid' (< port_n_txq(),
 * the calling PMD's index), meeting their offload requests (port.h).
 * Always takes ownership of all 'n' mbufs; returns the number the device
 * accepted (a TSO packet cut in software counts its segments).  The rest
 * were freed and counted as tx_dropped. */

static inline int
port_rx_burst(struct port *port, unsigned qid, struct rte_mbuf **pkts,
              int max)
{
    int n = port->class->rxq_recv(port, qid, pkts, max);
    const struct port_rx_hook *hook;

    if (n > 0 && unlikely((hook = __atomic_load_n(&port->rx_hook,
                                                  __ATOMIC_ACQUIRE))
                          != NULL)) {
        n = hook->fn(hook, port, qid, pkts, n);
    }
    if (n > 0) {
        struct port_rxq_stats *s = &port->rxq_stats[qid];
        uint64_t bytes = 0;

        for (int i = 0; i < n; i++) {
            bytes += rte_pktmbuf_pkt_len(pkts[i]);
        }
        s->packets += (uint64_t) n;
        s->bytes += bytes;
    }
    return n;
}

/* Sends 'n' >= 1 packets on the device queue of caller qid 'qid', under
 * that queue's lock if it is shared; returns the count sent and their
 * bytes in '*bytes'.  Steals the mbufs.  Counts nothing. */
static inline int
port_send_qid(struct port *port, unsigned qid, struct rte_mbuf **pkts,
              int n, uint64_t *bytes)
{
    int sent;

    if (likely(!port->txq_shared)) {
        sent = port->class->send(port, qid, pkts, n, bytes);
    } else {
        unsigned dq = qid % port->n_dev_txq;

        rte_spinlock_lock(&port->txq_locks[dq].lock);
        sent = port->class->send(port, dq, pkts, n, bytes);
        rte_spinlock_unlock(&port->txq_locks[dq].lock);
    }
    return sent;
}

/* The mbuf flags that ask for checksum or segmentation offload (port.h). */
#define PORT_OL_MBUF_FLAGS (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)

/* Whether any of the 'n' packets carries an offload request.  Nothing is
 * read until some port may receive one (port_ol_active). */
static inline bool
port_burst_wants_ol(struct rte_mbuf *const *pkts, int n)
{
    uint64_t f = 0;

    if (likely(!__atomic_load_n(&port_ol_active, __ATOMIC_RELAXED))) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        f |= pkts[i]->ol_flags;
    }
    return (f & PORT_OL_MBUF_FLAGS) != 0;
}

/* port-ol.c: like port_send_qid() for a burst in which some packets carry
 * offload requests: meets them (port.h), sends, returns the count the
 * device took (segments count one each) with their bytes in '*bytes' and
 * the packets or segments dropped in '*dropped'; counts the work in the
 * qid's sw_segments, sw_checksums and ol_dropped. */
int port_send_ol(struct port *port, unsigned qid, struct rte_mbuf **pkts,
                 int n, uint64_t *bytes, uint64_t *dropped);

/* Sends on caller qid 'qid', meeting offload requests; counts nothing but
 * the offload work.  Returns the count sent; '*dropped' the refused. */
static inline int
port_send_any(struct port *port, unsigned qid, struct rte_mbuf **pkts,
              int n, uint64_t *bytes, uint64_t *dropped)
{
    int sent;

    if (unlikely(port_burst_wants_ol(pkts, n))) {
        return port_send_ol(port, qid, pkts, n, bytes, dropped);
    }
    sent = port_send_qid(port, qid, pkts, n, bytes);
    *dropped = (uint64_t) (n - sent);
    return sent;
}

static inline int
port_tx_burst(struct port *port, unsigned qid, struct rte_mbuf **pkts,
              int n)
{
    struct port_txq_stats *s;
    uint64_t bytes = 0, dropped;
    int sent;

    if (n <= 0) {
        return 0;
    }
    s = &port->txq_stats[qid];
    sent = port_send_any(port, qid, pkts, n, &bytes, &dropped);
    s->packets += (uint64_t) sent;
    s->bytes += bytes;
    s->dropped += dropped;
    return sent;
}

#endif /* port-io.h */
