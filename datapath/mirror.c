/* SPDX-License-Identifier: BSD-3-Clause */
/* mirror.c: port mirroring in the datapath (see mirror.h). */
#include "mirror.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "actions.h"
#include "dp-private.h"
#include "port.h"

struct mirror_rule {
    uint32_t out_port;
    uint32_t bit;                   /* 1u << the mirror's index. */
    const uint64_t *vlans;          /* 4096-bit set; NULL = any packet. */
    struct dp_mirror_stats *stats;
};

struct mirror_list {
    unsigned n;
    struct mirror_rule r[];
};

struct dp_mirrors {
    struct mirror_list *rx[DP_MAX_PORTS];   /* Mirrors of what it gets. */
    struct mirror_list *tx[DP_MAX_PORTS];   /* Mirrors of what it sends. */
    bool is_output[DP_MAX_PORTS];
    uint64_t (*vlan_sets)[4096 / 64];       /* One per mirror with VLANs. */
};

/* The mbuf marks.  Fixed once registered. */
static int mirrored_ofs = -1;       /* uint32_t: bits of the mirrors that */
static uint64_t mirrored_flag;      /*   copied it; valid with the flag. */
static uint64_t copy_flag;          /* A mirror copy. */

int
mirror_init(void)
{
    static const struct rte_mbuf_dynfield field = {
        .name = "sluice_mirrored",
        .size = sizeof(uint32_t),
        .align = __alignof__(uint32_t),
    };
    static const struct rte_mbuf_dynflag mflag = {
        .name = "sluice_mirrored",
    };
    static const struct rte_mbuf_dynflag cflag = {
        .name = "sluice_mirror_copy",
    };
    int ofs, mbit, cbit;

    if (mirrored_ofs >= 0) {
        return 0;
    }
    ofs = rte_mbuf_dynfield_register(&field);
    mbit = rte_mbuf_dynflag_register(&mflag);
    cbit = rte_mbuf_dynflag_register(&cflag);
    if (ofs < 0 || mbit < 0 || cbit < 0) {
        return rte_errno ? rte_errno : ENOSPC;
    }
    mirrored_ofs = ofs;
    mirrored_flag = UINT64_C(1) << mbit;
    copy_flag = UINT64_C(1) << cbit;
    return 0;
}

static uint32_t *
mirrored_bits(struct rte_mbuf *m)
{
    return RTE_MBUF_DYNFIELD(m, mirrored_ofs, uint32_t *);
}

/* ---- Building (main thread). ---- */

static int
list_add(struct mirror_list **lp, const struct mirror_rule *r)
{
    struct mirror_list *l = *lp;
    unsigned n = l ? l->n : 0;

    l = realloc(l, sizeof *l + (n + 1) * sizeof l->r[0]);
    if (!l) {
        return ENOMEM;
    }
    l->n = n + 1;
    l->r[n] = *r;
    *lp = l;
    return 0;
}

struct dp_mirrors *
dp_mirrors_build(const struct dp_mirror_def *defs, size_t n)
{
    struct dp_mirrors *mt = calloc(1, sizeof *mt);

    if (!mt || !(mt->vlan_sets = calloc(n + 1, sizeof *mt->vlan_sets))) {
        free(mt);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct dp_mirror_def *d = &defs[i];
        struct mirror_rule r = {
            .out_port = d->out_port,
            .bit = 1u << d->index,
            .stats = d->stats,
        };
        int error = 0;

        if (d->n_vlans) {
            for (size_t k = 0; k < d->n_vlans; k++) {
                mt->vlan_sets[i][d->vlans[k] >> 6]
                    |= UINT64_C(1) << (d->vlans[k] & 63);
            }
            r.vlans = mt->vlan_sets[i];
        }
        if (d->out_port < DP_MAX_PORTS) {
            mt->is_output[d->out_port] = true;
        }
        for (size_t k = 0; !error && k < d->n_src; k++) {
            if (d->src[k] < DP_MAX_PORTS) {
                error = list_add(&mt->rx[d->src[k]], &r);
            }
        }
        for (size_t k = 0; !error && k < d->n_dst; k++) {
            if (d->dst[k] < DP_MAX_PORTS) {
                error = list_add(&mt->tx[d->dst[k]], &r);
            }
        }
        if (error) {
            dp_mirrors_free(mt);
            return NULL;
        }
    }
    return mt;
}

void
dp_mirrors_free(struct dp_mirrors *mt)
{
    if (!mt) {
        return;
    }
    for (size_t i = 0; i < DP_MAX_PORTS; i++) {
        free(mt->rx[i]);
        free(mt->tx[i]);
    }
    free(mt->vlan_sets);
    free(mt);
}

void
dp_set_mirrors(struct dp *dp, struct dp_mirrors *mt)
{
    struct dp_mirrors *old = atomic_exchange_explicit(&dp->mirrors, mt,
                                                      memory_order_acq_rel);

    if (old) {
        dp_synchronize(dp);
        dp_mirrors_free(old);
    }
}

bool
dp_mirrors_involve(const struct dp_mirrors *mt, uint32_t in_port,
                   const struct dp_actions *actions)
{
    if (!mt) {
        return false;
    }
    if (in_port < DP_MAX_PORTS
        && (mt->rx[in_port] || mt->is_output[in_port])) {
        return true;
    }
    for (size_t i = 0; actions && i < actions->n; i++) {
        uint32_t p = actions->a[i].type == DPA_TNL_PUSH
                     ? actions->a[i].tnl_push.tnl_port    /* Sent by it. */
                     : actions->a[i].port;

        if ((actions->a[i].type == DPA_OUTPUT
             || actions->a[i].type == DPA_TNL_PUSH) && p < DP_MAX_PORTS
            && (mt->tx[p] || mt->is_output[p])) {
            return true;
        }
    }
    return false;
}

/* ---- PMD side. ---- */

/* True if 'm' is in the VLAN set 'vlans' (its outer tag). */
static bool
vlan_selected(const struct rte_mbuf *m, const uint64_t *vlans)
{
    const struct rte_ether_hdr *eh;
    const struct rte_vlan_hdr *vh;
    uint16_t type, vid;

    if (rte_pktmbuf_data_len(m) < sizeof *eh + sizeof *vh) {
        return false;
    }
    eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    type = rte_be_to_cpu_16(eh->ether_type);
    if (type != RTE_ETHER_TYPE_VLAN && type != RTE_ETHER_TYPE_QINQ) {
        return false;
    }
    vh = (const struct rte_vlan_hdr *) (eh + 1);
    vid = rte_be_to_cpu_16(vh->vlan_tci) & 0xfff;
    return vlans[vid >> 6] >> (vid & 63) & 1;
}

/* Queues copies of the packets of 'pkts' that rule 'r' selects; with
 * 'mark', marks the originals it copied (received packets), else skips
 * the ones marked with its bit (sent packets). */
static void
mirror_copy(struct dp_pmd *pmd, const struct mirror_rule *r,
            struct rte_mbuf **pkts, unsigned n, bool mark)
{
    uint64_t packets = 0, bytes = 0, dropped = 0;

    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i], *c;

        if (!mark && (m->ol_flags & mirrored_flag)
            && (*mirrored_bits(m) & r->bit)) {
            continue;
        }
        if (r->vlans && !vlan_selected(m, r->vlans)) {
            continue;
        }
        c = port_pkt_copy(m, pmd->dp->mp);
        if (!c) {
            dropped++;
            continue;
        }
        if (mark) {
            if (!(m->ol_flags & mirrored_flag)) {
                m->ol_flags |= mirrored_flag;
                *mirrored_bits(m) = 0;
            }
            *mirrored_bits(m) |= r->bit;
        }
        c->ol_flags = (c->ol_flags & ~mirrored_flag) | copy_flag;
        packets++;
        bytes += rte_pktmbuf_pkt_len(c);
        dp_output_one(pmd, r->out_port, c);
    }
    if (packets) {
        atomic_fetch_add_explicit(&r->stats->packets, packets,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&r->stats->bytes, bytes,
                                  memory_order_relaxed);
    }
    if (dropped) {
        atomic_fetch_add_explicit(&r->stats->dropped, dropped,
                                  memory_order_relaxed);
        dp_stat_add(&pmd->drops[DP_DROP_CLONE_NOMEM], dropped);
    }
}

unsigned
mirror_rx(struct dp_pmd *pmd, const struct dp_mirrors *mt, uint32_t port_no,
          struct rte_mbuf **pkts, unsigned n)
{
    const struct mirror_list *l;

    /* The marks of a buffer's earlier life mean nothing now. */
    for (unsigned i = 0; i < n; i++) {
        pkts[i]->ol_flags &= ~(mirrored_flag | copy_flag);
    }
    if (mt->is_output[port_no]) {
        for (unsigned i = 0; i < n; i++) {
            rte_pktmbuf_free(pkts[i]);
        }
        dp_stat_add(&pmd->drops[DP_DROP_MIRROR_PORT], n);
        dp_stat_add(&pmd->packets, n);     /* Received, and dropped. */
        return 0;
    }
    l = mt->rx[port_no];
    for (unsigned k = 0; l && k < l->n; k++) {
        mirror_copy(pmd, &l->r[k], pkts, n, true);
    }
    return n;
}

unsigned
mirror_tx(struct dp_pmd *pmd, const struct dp_mirrors *mt, uint32_t port_no,
          struct rte_mbuf **pkts, unsigned n)
{
    const struct mirror_list *l;

    if (mt->is_output[port_no]) {
        unsigned k = 0, dropped = 0;

        for (unsigned i = 0; i < n; i++) {
            if (pkts[i]->ol_flags & copy_flag) {
                pkts[k++] = pkts[i];
            } else {
                rte_pktmbuf_free(pkts[i]);
                dropped++;
            }
        }
        if (dropped) {
            dp_stat_add(&pmd->drops[DP_DROP_MIRROR_PORT], dropped);
        }
        return k;
    }
    l = mt->tx[port_no];
    for (unsigned k = 0; l && k < l->n; k++) {
        mirror_copy(pmd, &l->r[k], pkts, n, false);
    }
    return n;
}
