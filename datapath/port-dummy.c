/* SPDX-License-Identifier: BSD-3-Clause */
/* port-dummy.c: in-memory port for tests: injected rx, captured tx. */

/*
 * Receive: one rte_ring per rx queue (multi-producer, single-consumer).
 * port_dummy_inject() copies frames into mbufs and spreads them over the
 * rx queues by a hash of the Ethernet addresses and, for IPv4, the IP
 * addresses, so one flow always lands on one queue.
 *
 * Transmit: one bounded capture ring (multi-producer, single-consumer)
 * shared by every tx qid, so send() is safe from several PMD threads at
 * once and the port reports n_dev_txq = n_txq (no locks).  When the ring is
 * full, send() frees the excess and the generic layer counts it as
 * tx_dropped.  port_dummy_capture() drains it from the main thread.
 *
 * Options: dummy_options below.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "port-dummy.h"
#include "dpdk-errno.h"
#include "port-provider.h"

#define DUMMY_MAX_RXQ 64
#define DUMMY_BURST 32

struct dummy_config {
    unsigned n_rxq;
    unsigned mtu;
    unsigned ring_size;
};

struct port_dummy {
    struct port up;

    struct dummy_config cfg;      /* Recorded by set_config(). */
    struct dummy_config applied;  /* In effect (after reconfigure()). */
    bool configured;              /* reconfigure() has succeeded once. */

    unsigned id;                  /* Unique: names the rings... */
    unsigned gen;                 /* ...with a reconfigure() count. */
    struct rte_ring *rx_rings[DUMMY_MAX_RXQ]; /* [applied.n_rxq] */
    struct rte_ring *tx_ring;     /* Capture ring. */
    uint8_t mac[6];

    uint64_t rx_dropped;          /* Injections refused; main thread. */
};

static unsigned dummy_next_id;

static struct port_dummy *
dummy_cast(const struct port *port)
{
    return container_of(port, struct port_dummy, up);
}

static bool
is_dummy(const struct port *port)
{
    return port && port->class == &port_dummy_class;
}

static struct port *
dummy_alloc(void)
{
    struct port_dummy *d = calloc(1, sizeof *d);

    return d ? &d->up : NULL;
}

static void
dummy_dealloc(struct port *port)
{
    free(dummy_cast(port));
}

static int
dummy_construct(struct port *port)
{
    struct port_dummy *d = dummy_cast(port);

    d->id = dummy_next_id++;
    /* Locally administered, unicast. */
    d->mac[0] = 0x02;
    d->mac[1] = 0x00;
    d->mac[2] = 0x5c;
    d->mac[3] = (uint8_t) (d->id >> 16);
    d->mac[4] = (uint8_t) (d->id >> 8);
    d->mac[5] = (uint8_t) d->id;
    return 0;
}

/* Frees every mbuf in 'ring' (may be NULL). */
static void
dummy_drain(struct rte_ring *ring)
{
    struct rte_mbuf *pkts[DUMMY_BURST];
    unsigned n;

    if (!ring) {
        return;
    }
    while ((n = rte_ring_dequeue_burst(ring, (void **) pkts, DUMMY_BURST,
                                       NULL)) > 0) {
        port_free_burst(pkts, (int) n);
    }
}

static void
dummy_free_rings(struct port_dummy *d)
{
    for (unsigned i = 0; i < DUMMY_MAX_RXQ; i++) {
        dummy_drain(d->rx_rings[i]);
        rte_ring_free(d->rx_rings[i]);
        d->rx_rings[i] = NULL;
    }
    dummy_drain(d->tx_ring);
    rte_ring_free(d->tx_ring);
    d->tx_ring = NULL;
}

static void
dummy_destruct(struct port *port)
{
    dummy_free_rings(dummy_cast(port));
}

static const struct port_opt_def dummy_options[] = {
    { "rxq", PORT_OPT_UINT, false, 1, DUMMY_MAX_RXQ, "1",
      "receive queues; injected frames are spread over them by a hash of "
      "the Ethernet and IPv4 addresses", NULL },
    { "mtu", PORT_OPT_UINT, false, 68, 65535, "1500",
      "the MTU the port reports (nothing enforces it)", NULL },
    { "ring_size", PORT_OPT_UINT, false, 1, 65536, "4096",
      "capacity of each receive ring and of the capture ring", NULL },
    { .name = NULL },
};

static int
dummy_set_config(struct port *port, const struct port_option *opts,
                 size_t n_opts, char *err, size_t errsize)
{
    struct port_dummy *d = dummy_cast(port);

    (void) err;
    (void) errsize;
    d->cfg.n_rxq = port_opt_get_u32(dummy_options, opts, n_opts, "rxq");
    d->cfg.mtu = port_opt_get_u32(dummy_options, opts, n_opts, "mtu");
    d->cfg.ring_size = port_opt_get_u32(dummy_options, opts, n_opts,
                                        "ring_size");
    return 0;
}

static struct rte_ring *
dummy_ring_create(struct port_dummy *d, const char *what, unsigned q,
                  unsigned size, unsigned flags)
{
    char name[RTE_RING_NAMESIZE];

    snprintf(name, sizeof name, "dmy%u.%u_%s%u", d->id, d->gen, what, q);
    return rte_ring_create(name, size, d->up.env.socket_id,
                           flags | RING_F_EXACT_SZ);
}

static int
dummy_reconfigure(struct port *port, char *err, size_t errsize)
{
    struct port_dummy *d = dummy_cast(port);
    struct rte_ring *rx[DUMMY_MAX_RXQ] = { NULL };
    struct rte_ring *tx;
    int error = 0;

    if (d->configured
        && !memcmp(&d->cfg, &d->applied, sizeof d->cfg)) {
        return 0;
    }

    /* Build the new rings first so that failure leaves the port as it
     * was.  The port is idle, so replacing them is safe. */
    d->gen++;
    tx = dummy_ring_create(d, "tx", 0, d->cfg.ring_size, RING_F_SC_DEQ);
    for (unsigned i = 0; tx && i < d->cfg.n_rxq; i++) {
        rx[i] = dummy_ring_create(d, "rx", i, d->cfg.ring_size,
                                  RING_F_SC_DEQ);
        if (!rx[i]) {
            error = dpdk_errno(0);
            break;
        }
    }
    if (!tx) {
        error = dpdk_errno(0);
    }
    if (error) {
        for (unsigned i = 0; i < DUMMY_MAX_RXQ; i++) {
            rte_ring_free(rx[i]);
        }
        rte_ring_free(tx);
        port_err_set(err, errsize, "%s: cannot create rings: %s",
                     port->name, strerror(error));
        return error;
    }

    dummy_free_rings(d);
    memcpy(d->rx_rings, rx, sizeof rx);
    d->tx_ring = tx;
    d->applied = d->cfg;
    d->configured = true;
    port->n_rxq = d->applied.n_rxq;
    port->n_dev_txq = port->n_txq;
    return 0;
}

static int
dummy_rxq_recv(struct port *port, unsigned qid, struct rte_mbuf **pkts,
               int max)
{
    struct port_dummy *d = dummy_cast(port);

    return (int) rte_ring_sc_dequeue_burst(d->rx_rings[qid], (void **) pkts,
                                           (unsigned) max, NULL);
}

static int
dummy_send(struct port *port, unsigned qid, struct rte_mbuf **pkts, int n,
           uint64_t *bytes)
{
    struct port_dummy *d = dummy_cast(port);
    unsigned sent;
    uint64_t b = 0;

    sent = rte_ring_mp_enqueue_burst(d->tx_ring, (void **) pkts,
                                     (unsigned) n, NULL);
    for (unsigned i = 0; i < sent; i++) {
        b += rte_pktmbuf_pkt_len(pkts[i]);
    }
    port_free_burst(pkts + sent, n - (int) sent);
    *bytes = b;
    return (int) sent;
}

static void
dummy_get_stats(const struct port *port, struct port_stats *stats)
{
    stats->rx_dropped += __atomic_load_n(&dummy_cast(port)->rx_dropped,
                                         __ATOMIC_RELAXED);
}

static int
dummy_get_mtu(const struct port *port)
{
    return (int) dummy_cast(port)->applied.mtu;
}

static void
dummy_get_mac(const struct port *port, uint8_t mac[6])
{
    memcpy(mac, dummy_cast(port)->mac, 6);
}

/* Picks the rx queue for a frame: same flow, same queue. */
static unsigned
dummy_rxq_for(const uint8_t *f, size_t len, unsigned n_rxq)
{
    uint32_t h = 2166136261u;
    size_t n = len < 12 ? len : 12;

    if (n_rxq == 1) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        h = (h ^ f[i]) * 16777619u;
    }
    if (len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
        for (size_t i = 26; i < 34; i++) {
            h = (h ^ f[i]) * 16777619u;
        }
    }
    /* Mix the high bits down: FNV's low bits depend only on the low bits
     * of the input bytes. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h % n_rxq;
}

int
port_dummy_inject(struct port *port, const void *const *frames,
                  const size_t *lens, size_t n, size_t *n_queued)
{
    struct port_dummy *d;
    size_t i;
    int error = 0;

    if (n_queued) {
        *n_queued = 0;
    }
    if (!is_dummy(port)) {
        return EINVAL;
    }
    d = dummy_cast(port);
    for (i = 0; i < n; i++) {
        struct rte_mbuf *m;
        unsigned q;
        char *p;

        if (!lens[i] || !frames[i]) {
            error = EINVAL;
            break;
        }
        m = rte_pktmbuf_alloc(port->env.mp);
        if (!m) {
            error = ENOBUFS;
            break;
        }
        if (lens[i] > UINT16_MAX
            || !(p = rte_pktmbuf_append(m, (uint16_t) lens[i]))) {
            rte_pktmbuf_free(m);
            error = EINVAL;
            break;
        }
        memcpy(p, frames[i], lens[i]);
        q = dummy_rxq_for(frames[i], lens[i], d->applied.n_rxq);
        if (rte_ring_mp_enqueue(d->rx_rings[q], m)) {
            rte_pktmbuf_free(m);
            __atomic_fetch_add(&d->rx_dropped, 1, __ATOMIC_RELAXED);
            error = ENOBUFS;
            break;
        }
    }
    if (n_queued) {
        *n_queued = i;
    }
    return error;
}

int
port_dummy_capture(struct port *port,
                   void (*cb)(const void *frame, size_t len, void *aux),
                   void *aux, size_t *n_captured)
{
    struct rte_mbuf *pkts[DUMMY_BURST];
    uint8_t *buf = NULL;
    size_t count = 0;
    unsigned n;

    if (n_captured) {
        *n_captured = 0;
    }
    if (!is_dummy(port)) {
        return EINVAL;
    }
    while ((n = rte_ring_sc_dequeue_burst(dummy_cast(port)->tx_ring,
                                          (void **) pkts, DUMMY_BURST,
                                          NULL)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            struct rte_mbuf *m = pkts[i];
            uint32_t len = rte_pktmbuf_pkt_len(m);
            const void *p;

            if (m->nb_segs == 1) {
                p = rte_pktmbuf_mtod(m, const void *);
            } else {
                /* Linearise multi-segment packets into a scratch
                 * buffer (main thread; not a fast path). */
                uint8_t *nb = realloc(buf, len ? len : 1);

                if (nb) {
                    buf = nb;
                }
                p = nb ? rte_pktmbuf_read(m, 0, len, buf) : NULL;
            }
            if (p && cb) {
                cb(p, len, aux);
            }
            count++;
        }
        port_free_burst(pkts, (int) n);
    }
    free(buf);
    if (n_captured) {
        *n_captured = count;
    }
    return 0;
}

const struct port_class port_dummy_class = {
    .type = "dummy",
    .options = dummy_options,
    .alloc = dummy_alloc,
    .construct = dummy_construct,
    .destruct = dummy_destruct,
    .dealloc = dummy_dealloc,
    .set_config = dummy_set_config,
    .reconfigure = dummy_reconfigure,
    .rxq_recv = dummy_rxq_recv,
    .send = dummy_send,
    .get_stats = dummy_get_stats,
    .get_mtu = dummy_get_mtu,
    .get_mac = dummy_get_mac,
};
