/* SPDX-License-Identifier: BSD-3-Clause */
/* dp-exec.c: executes datapath actions on batches of mbufs; tx batching. */

#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dp-private.h"
#include "packet-rewrite.h"
#include "port.h"
#include "port-io.h"

static void
drop_pkts(struct dp_pmd *pmd, struct rte_mbuf **pkts, unsigned n,
          enum dp_drop_reason reason)
{
    unsigned dropped = 0;

    for (unsigned i = 0; i < n; i++) {
        if (pkts[i]) {
            rte_pktmbuf_free(pkts[i]);
            pkts[i] = NULL;
            dropped++;
        }
    }
    if (dropped) {
        dp_stat_add(&pmd->drops[reason], dropped);
    }
}

void
dp_tx_flush_port(struct dp_pmd *pmd, uint32_t port_no)
{
    /* port_no < DP_MAX_PORTS: only dp_output_one() queues. */
    struct dp_txbuf *b = &pmd->tx[port_no];
    struct port *port = atomic_load_explicit(&pmd->dp->ports[port_no],
                                             memory_order_acquire);

    if (!b->n) {
        return;
    }
    if (port) {
        port_tx_burst(port, pmd->idx, b->pkts, b->n);
    } else {
        drop_pkts(pmd, b->pkts, b->n, DP_DROP_NO_PORT);
    }
    b->n = 0;
}

void
dp_tx_flush(struct dp_pmd *pmd)
{
    for (unsigned i = 0; i < pmd->n_tx_pending; i++) {
        dp_tx_flush_port(pmd, pmd->tx_pending[i]);
    }
    pmd->n_tx_pending = 0;
}

static inline void
tx_enqueue(struct dp_pmd *pmd, uint32_t port_no, struct rte_mbuf *m)
{
    if (port_no >= DP_MAX_PORTS) {
        rte_pktmbuf_free(m);
        dp_stat_add(&pmd->drops[DP_DROP_NO_PORT], 1);
        return;
    }
    dp_output_one(pmd, port_no, m);
}

/* Applies one header action to 'm'.  Returns false if the packet had to be
 * dropped (counted). */
static bool
rewrite_one(struct dp_pmd *pmd, struct rte_mbuf *m, struct flow_layers *ly,
            const struct dp_action *a)
{
    uint8_t *frame, *old;
    size_t len, old_len;
    int err;

    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m)) {
        dp_stat_add(&pmd->drops[DP_DROP_MULTISEG], 1);
        return false;
    }
    frame = old = rte_pktmbuf_mtod(m, uint8_t *);
    len = old_len = rte_pktmbuf_data_len(m);
    err = pkt_rewrite(&frame, &len, rte_pktmbuf_headroom(m), ly, a);
    if (err == ENOTSUP || err == EINVAL) {
        /* The packet lacks the header the action rewrites: unchanged, as
         * an OpenFlow switch would leave it. */
        return true;
    } else if (err) {
        dp_stat_add(&pmd->drops[DP_DROP_REWRITE], 1);
        return false;
    }
    if (frame != old || len != old_len) {
        m->data_off = (uint16_t) (m->data_off + (frame - old));
        m->data_len = (uint16_t) len;
        m->pkt_len = (uint32_t) len;
    }
    return true;
}

void
dp_execute(struct dp_pmd *pmd, struct rte_mbuf **pkts,
           struct flow_layers *layers, unsigned n,
           const struct dp_actions *actions)
{
    struct rte_mempool *mp = pmd->dp->mp;
    size_t last_out = SIZE_MAX;

    for (size_t i = 0; i < actions->n; i++) {
        if (actions->a[i].type == DPA_OUTPUT) {
            last_out = i;
        }
    }
    if (last_out == SIZE_MAX) {
        drop_pkts(pmd, pkts, n, actions->in_port_drop ? DP_DROP_LOOP
                                                      : DP_DROP_ACTION);
        return;
    }

    for (size_t i = 0; i <= last_out; i++) {
        const struct dp_action *a = &actions->a[i];

        if (a->type != DPA_OUTPUT) {
            for (unsigned j = 0; j < n; j++) {
                if (pkts[j] && !rewrite_one(pmd, pkts[j], &layers[j], a)) {
                    rte_pktmbuf_free(pkts[j]);
                    pkts[j] = NULL;
                }
            }
        } else if (i == last_out) {
            for (unsigned j = 0; j < n; j++) {
                if (pkts[j]) {
                    tx_enqueue(pmd, a->port, pkts[j]);
                    pkts[j] = NULL;
                }
            }
        } else {
            for (unsigned j = 0; j < n; j++) {
                struct rte_mbuf *c;

                if (!pkts[j]) {
                    continue;
                }
                c = rte_pktmbuf_copy(pkts[j], mp, 0, UINT32_MAX);
                if (!c) {
                    dp_stat_add(&pmd->drops[DP_DROP_CLONE_NOMEM], 1);
                    continue;
                }
                tx_enqueue(pmd, a->port, c);
            }
        }
    }
}
