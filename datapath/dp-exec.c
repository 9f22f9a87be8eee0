/* SPDX-License-Identifier: BSD-3-Clause */
/* dp-exec.c: executes datapath actions on batches of mbufs; tx batching. */

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_mbuf.h>

#include "capture.h"
#include "hkc.h"
#include "mirror.h"
#include "dp-private.h"
#include "ofp-parse.h"
#include "packet-rewrite.h"
#include "pkt-ol.h"
#include "port.h"
#include "port-io.h"
#include "port-tunnel.h"
#include "tnl.h"

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
        struct capture *cap = atomic_load_explicit(
            &pmd->dp->captures[port_no], memory_order_acquire);

        if (unlikely(pmd->mirrors != NULL)) {
            b->n = mirror_tx(pmd, pmd->mirrors, port_no, b->pkts, b->n);
            if (!b->n) {
                return;
            }
        }
        if (unlikely(cap != NULL)) {
            capture_packets(cap, b->pkts, b->n, true);
        }
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

    if (m->nb_segs > 1 && port_pkt_linearize(m)) {
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

/* One band of a meter: admits a packet of 'cost' units at 'now_q8' (and
 * takes its tokens), or says it exceeds the band. */
static bool
band_admit(struct dp_meter *m, size_t b, uint64_t cost, uint64_t now_q8)
{
    const struct dp_meter_band *band = &m->bands[b];
    uint64_t inc = cost * band->unit_q8;
    uint64_t tat = atomic_load_explicit(&m->tat[b], memory_order_relaxed);

    for (;;) {
        uint64_t t = tat > now_q8 ? tat : now_q8;

        if (t - now_q8 + inc > band->tau_q8 + band->unit_q8) {
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&m->tat[b], &tat, t + inc,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return true;
        }
    }
}

/* DPA_METER on the packets still present (dp.h "Meters"). */
static void
exec_meter(struct dp_pmd *pmd, struct rte_mbuf **pkts,
           struct flow_layers *layers, unsigned n, uint32_t id)
{
    struct dp_meter *m = id < DP_MAX_METERS
                         ? atomic_load_explicit(&pmd->dp->meters[id],
                                                memory_order_acquire)
                         : NULL;
    uint64_t now_q8 = (rte_rdtsc() - dp_tsc_epoch) << 8;
    struct dp_meter_pmd_stats *st;

    if (!m) {
        return;
    }
    st = &m->stats[pmd->idx];
    for (unsigned j = 0; j < n; j++) {
        struct rte_mbuf *p = pkts[j];
        uint32_t len;
        int hit = -1;

        if (!p) {
            continue;
        }
        len = rte_pktmbuf_pkt_len(p);
        st->packets++;
        st->bytes += len;
        for (size_t b = 0; b < m->n_bands; b++) {
            if (!band_admit(m, b, m->kbps ? (uint64_t) len * 8 : 1,
                            now_q8)
                && (hit < 0 || m->bands[b].rate > m->bands[hit].rate)) {
                hit = (int) b;
            }
        }
        if (hit < 0) {
            continue;
        }
        st->band_packets[hit]++;
        st->band_bytes[hit] += len;
        if (m->bands[hit].type == OFM_BAND_DROP) {
            rte_pktmbuf_free(p);
            pkts[j] = NULL;
            dp_stat_add(&pmd->drops[DP_DROP_METER], 1);
        } else if (layers && layers[j].l3 != FLOW_OFS_NONE) {
            /* dscp_remark: raise the AF drop precedence (DSCP bits 1-2). */
            const uint8_t *l3 = rte_pktmbuf_mtod_offset(p, const uint8_t *,
                                                        layers[j].l3);
            bool v4 = (l3[0] >> 4) == 4;
            uint8_t tos = v4 ? l3[1]
                             : (uint8_t) ((l3[0] << 4) | (l3[1] >> 4));
            uint8_t dscp = tos >> 2, prec = (dscp >> 1) & 3;
            struct dp_action a;

            prec = prec + m->bands[hit].prec_level > 3
                   ? 3 : (uint8_t) (prec + m->bands[hit].prec_level);
            dscp = (uint8_t) ((dscp & ~0x6) | (prec << 1));
            memset(&a, 0, sizeof a);
            if (v4) {
                a.type = DPA_SET_IPV4;
                a.ipv4.tos = (uint8_t) (dscp << 2);
                a.ipv4.tos_mask = 0xfc;
            } else {
                a.type = DPA_SET_IPV6;
                a.ipv6.tclass = (uint8_t) (dscp << 2);
                a.ipv6.tclass_mask = 0xfc;
            }
            if (!rewrite_one(pmd, p, &layers[j], &a)) {
                rte_pktmbuf_free(p);
                pkts[j] = NULL;
            }
        }
    }
}

/* DPA_CT on the packets still present: each is parsed again (actions
 * before it may have rewritten it) and handed to the connection tracker
 * with its metadata. */
static void
exec_ct(struct dp_pmd *pmd, struct rte_mbuf **pkts, struct ct_md *md,
        const struct flow *const *keys, const struct flow_layers *layers,
        unsigned n, const struct ct_exec *e)
{
    struct ct_pkt cp[DP_BATCH];
    struct flow flows[DP_BATCH];
    unsigned k = 0;

    for (unsigned j = 0; j < n; j++) {
        struct rte_mbuf *m = pkts[j];

        if (!m) {
            continue;
        }
        if (m->nb_segs > 1 && port_pkt_linearize(m)) {
            rte_pktmbuf_free(m);
            pkts[j] = NULL;
            dp_stat_add(&pmd->drops[DP_DROP_MULTISEG], 1);
            continue;
        }
        cp[k].data = rte_pktmbuf_mtod(m, uint8_t *);
        cp[k].len = rte_pktmbuf_data_len(m);
        if (keys && layers) {
            cp[k].flow = keys[j];
            cp[k].layers = layers[j];
        } else {
            flow_extract(cp[k].data, cp[k].len, 0, &flows[k],
                         &cp[k].layers);
            cp[k].flow = &flows[k];
        }
        cp[k].md = &md[j];
        cp[k].l4_csum_unchecked =
            (m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG))
            || (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK)
                   == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        k++;
    }
    if (k) {
        conntrack_execute(pmd->dp->ct, cp, k, e, (uint64_t) pmd->now_ms);
    }
}

/* What an action that consumes a packet works on: 'm' itself, or a copy
 * of it when 'copy' (an action before the last); NULL when no mbuf was
 * left for the copy (counted). */
static struct rte_mbuf *
pkt_take(struct dp_pmd *pmd, struct rte_mbuf *m, bool copy)
{
    if (!copy) {
        return m;
    }
    m = port_pkt_copy(m, pmd->dp->mp);
    if (!m) {
        dp_stat_add(&pmd->drops[DP_DROP_CLONE_NOMEM], 1);
    }
    return m;
}

/* Queues 'm' (or a copy, when 'copy') for a pass with 'id', input port
 * 'in_port', tunnel metadata 'tnl' (NULL: none) under tunnel context
 * 'tnl_ctx' (0: none) and conntrack metadata 'md' (NULL: none).  'key' and
 * 'layers' (NULL: parse again) are its key and layout as they stand.
 * Returns true if it was queued: the caller counts it under
 * 'recirculations' (once for a batch, not a store per packet). */
static bool
recirc_push(struct dp_pmd *pmd, struct rte_mbuf *m, uint32_t id,
            uint32_t in_port, const struct flow_tnl *tnl, uint16_t tnl_ctx,
            const struct ct_md *md, const struct flow *key,
            const struct flow_layers *layers, bool copy)
{
    struct dp_recirc_q *q = pmd->recirc_next;

    if (pmd->recirc_depth + 1 >= DP_MAX_RECIRC_DEPTH) {
        dp_stat_add(&pmd->drops[DP_DROP_RECIRC_DEPTH], 1);
        if (!copy) {
            rte_pktmbuf_free(m);
        }
        return false;
    }
    if (q->n == DP_RECIRC_MAX) {
        dp_stat_add(&pmd->drops[DP_DROP_RECIRC_FULL], 1);
        if (!copy) {
            rte_pktmbuf_free(m);
        }
        return false;
    }
    m = pkt_take(pmd, m, copy);
    if (!m) {
        return false;
    }
    q->pkts[q->n] = m;
    q->ids[q->n] = id;
    q->in_ports[q->n] = in_port;
    if (tnl == &q->tnl[q->n]) {
        /* Already in place (exec_tnl_pop()). */
    } else if (tnl) {
        q->tnl[q->n] = *tnl;
    } else {
        zero_small(&q->tnl[q->n], sizeof q->tnl[q->n]);
    }
    q->tnl_ctx[q->n] = tnl_ctx;
    q->has_key[q->n] = key && layers;
    if (key && layers) {
        q->keys[q->n] = *key;
        q->layers[q->n] = *layers;
    }
    if (md) {
        q->md[q->n] = *md;
    } else {
        zero_small(&q->md[q->n], sizeof q->md[q->n]);
    }
    q->n++;
    return true;
}

/* Recirculation shortcuts.  A packet that ct(table=T) sends to another
 * pass usually belongs to an established connection, whose next pass
 * finds the same megaflow packet after packet.  That pass's last
 * megaflow is kept with the connection's direction (dp-input.c:
 * input_group(), conntrack_dir_hint()) when its actions are one output.
 * The next packet of the direction that ct() finds, with its headers
 * unchanged since its key was made, is checked against that megaflow's
 * mask and key as its next pass would see it (dp_megaflow_matches_next():
 * in_port, recirc_id and the conntrack fields from the metadata, the rest
 * from the key), and on a match goes out at once: credited to the
 * megaflow, counted under 'recirc_shortcuts' instead of 'recirculations',
 * with no queueing, parse, hash or lookup of a second pass.  Anything
 * else takes the pass.
 *
 * Why a kept pointer is safe to follow: megaflows live in their PMD's
 * slabs until dp_destroy(), which also destroys the tracker, so the
 * pointer always names a megaflow object.  One of another PMD is refused
 * (its 'pmd' is read unsynchronised: only that PMD rewrites it, when it
 * reuses the slot, and never with another PMD's value).  A dead one
 * (removed, perhaps freed or reused since, or never installed:
 * dp_mf_free_local() marks those dead too) is refused.  A live one of
 * this PMD that the packet matches gives the packet the actions any
 * lookup of this PMD's megaflows could have given it (megaflows all have
 * one priority, and synchronous revalidation keeps every live one
 * right); its mask, which the match reads, is its subtable's, there as
 * long as a megaflow of it is live (the dead mark is read first, with
 * acquire).  Packets of one flow keep their order: once one of them goes
 * to a pass, the rest of the batch goes too. */
static bool
recirc_shortcut(struct dp_pmd *pmd, struct rte_mbuf *m, uint32_t recirc_id,
                const struct flow *key, const struct ct_md *md)
{
    struct dp_megaflow *mf;

    if (!md->conn) {
        return false;
    }
    mf = (struct dp_megaflow *) conntrack_dir_hint(
        md->conn, md->state & CS_REPLY_DIR);
    if (!mf || mf->pmd != pmd
        || atomic_load_explicit(&mf->dead, memory_order_acquire)
        || mf->out_port == DP_NO_OUT
        || !dp_megaflow_matches_next(mf, key, recirc_id, md)) {
        return false;
    }
    dp_megaflow_account(pmd, mf, 1, rte_pktmbuf_pkt_len(m));
    tx_enqueue(pmd, mf->out_port, m);
    return true;
}

/* True if 'a' and 'b' (as tnl_parse_tlv() fills them: padding zero) are
 * equal.  Field by field, each at the width it was written with: 'b' was
 * just written by narrow stores, and a wider load of it would wait for
 * them to retire instead of taking their values from the store buffer. */
static inline bool
flow_tnl_equal(const struct flow_tnl *a, const struct flow_tnl *b)
{
    uint64_t as[2], bs[2], ad[2], bd[2];
    uint64_t d;

    memcpy(as, a->ipv6_src, 16);
    memcpy(bs, b->ipv6_src, 16);
    memcpy(ad, a->ipv6_dst, 16);
    memcpy(bd, b->ipv6_dst, 16);
    d = (a->tun_id ^ b->tun_id) | (a->ip_src ^ b->ip_src)
        | (a->ip_dst ^ b->ip_dst) | (as[0] ^ bs[0]) | (as[1] ^ bs[1])
        | (ad[0] ^ bd[0]) | (ad[1] ^ bd[1]) | (a->flags ^ b->flags)
        | (a->tos ^ b->tos) | (a->ttl ^ b->ttl)
        | (a->md_present ^ b->md_present);
    if (d) {
        return false;
    }
    /* Options: GENEVE's (absent ones are zero). */
    return !a->md_present
           || !memcmp(a->metadata, b->metadata, sizeof a->metadata);
}

/* The tunnel context of a decapsulated packet's metadata 'md' (dp-private.h:
 * dp_pmd.tnl_ctx): its number (0 when none is left until the burst's end)
 * and the tunnel port 'md' selects in 'map' (generation 'gen') for the
 * tnl_pop 'a', looked up again only when the map or the action changed. */
static const struct dp_tnl_ctx *
tnl_ctx_find(struct dp_pmd *pmd, uint64_t gen, const struct tnl_map *map,
             const struct dp_action *a, const struct flow_tnl *md)
{
    uint64_t v6s, v6d, h;
    struct dp_tnl_ctx *c;

    memcpy(&v6s, md->ipv6_src + 8, 8);
    memcpy(&v6d, md->ipv6_dst + 8, 8);
    /* Every field but the options: metadata that differ only in the
     * outer TOS (a sender that copies the inner packet's) must not take
     * each other's slot packet after packet. */
    h = md->tun_id ^ md->ip_src ^ (uint64_t) md->ip_dst << 32 ^ v6s ^ v6d
        ^ ((uint64_t) md->flags << 40 | (uint64_t) md->tos << 56
           | (uint64_t) md->ttl << 32);
    h *= 0x9e3779b97f4a7c15ULL;
    /* The top bits: every bit of the sum reaches them. */
    _Static_assert(DP_TNL_CTX_SLOTS <= 256, "eight bits of the hash");
    c = &pmd->tnl_ctx[h >> 56 & (DP_TNL_CTX_SLOTS - 1)];
    if (!c->used || !flow_tnl_equal(&c->md, md)) {
        /* New metadata: no number yet.  Only metadata seen again gets
         * one, so that packets whose metadata all differ (a flow-based
         * tunnel port's traffic from many remotes, or a flood of made-up
         * VNIs) do not use the numbers up. */
        c->md = *md;
        c->used = true;
        c->gen = 0;
        c->id = 0;
        c->seen_again = false;
    } else {
        c->seen_again = true;
    }
    if (c->gen != gen || !gen || c->udp_port != a->tnl_pop.udp_port
        || c->type != a->tnl_pop.type) {
        c->port_no = map ? tnl_map_lookup(map, (enum tnl_type) a->tnl_pop.type,
                                          a->tnl_pop.udp_port, md)
                         : UINT32_MAX;
        c->gen = map ? gen : 0;
        c->udp_port = a->tnl_pop.udp_port;
        c->type = a->tnl_pop.type;
    }
    if (!c->id && c->seen_again && c->port_no != UINT32_MAX
        && pmd->tnl_ctx_last < UINT16_MAX) {
        /* Its number names 'md' alone (the input port is in the key
         * beside it).  None is given twice before tnl_ctx_reset(), and
         * none to metadata no tunnel port takes (dropped anyway). */
        c->id = ++pmd->tnl_ctx_last;
    }
    return c;
}

void
tnl_ctx_reset(struct dp_pmd *pmd)
{
    memset(pmd->tnl_ctx, 0, DP_TNL_CTX_SLOTS * sizeof *pmd->tnl_ctx);
    pmd->tnl_ctx_last = 0;
    if (pmd->hkc) {
        hkc_clear(pmd->hkc);
    }
    dp_stat_add(&pmd->tnl_ctx_resets, 1);
}

/* The rx counters of the tunnel port 'port' (NULL: none) for a run of
 * 'n' packets of 'bytes' bytes. */
static inline void
tnl_pop_count(struct dp_pmd *pmd, struct port *port, uint64_t n,
              uint64_t bytes)
{
    if (port && n) {
        port_tunnel_count_rx(port, pmd->idx, n, bytes);
    }
}

/* DPA_TNL_POP on each of the 'n' packets of 'pkts' (NULL entries skipped;
 * copies, when 'copy'): checks and strips the outer headers and queues
 * the inner packet for a pass as received by the tunnel port its metadata
 * selects.  'layers': their layouts (NULL: parse again).  The tunnel
 * port's counters take each run of packets to one port at once. */
static void
exec_tnl_pop(struct dp_pmd *pmd, struct rte_mbuf **pkts,
             const struct flow_layers *layers, unsigned n,
             const struct dp_action *a, bool copy)
{
    struct dp *dp = pmd->dp;
    /* The generation first (dp_set_tnl_map()). */
    uint64_t gen = atomic_load_explicit(&dp->tnl_map_gen,
                                        memory_order_acquire);
    const struct tnl_map *map = atomic_load_explicit(&dp->tnl_map,
                                                     memory_order_acquire);
    const struct tnl_tlv_map *tlv_map
        = atomic_load_explicit(&dp->tlv_map, memory_order_acquire);
    unsigned n_pushed = 0;
    struct port *run_port = NULL;       /* The run being counted. */
    uint32_t run_no = UINT32_MAX;
    uint64_t run_n = 0, run_bytes = 0;

    for (unsigned j = 0; j < n; j++) {
        const struct flow_layers *ly = layers ? &layers[j] : NULL;
        struct dp_recirc_q *q = pmd->recirc_next;
        const struct dp_tnl_ctx *ctx;
        struct rte_mbuf *m = pkts[j];
        struct flow_layers tmp;
        struct flow_tnl scratch;
        /* The metadata is parsed where recirc_push() keeps it, when the
         * queue has room (else recirc_push() counts the drop). */
        struct flow_tnl *md = q->n < DP_RECIRC_MAX ? &q->tnl[q->n]
                                                   : &scratch;
        enum tnl_error e;
        size_t hdr_len;

        if (!m) {
            continue;
        }
        m = pkt_take(pmd, m, copy);
        if (!m) {
            continue;
        }
        if (m->nb_segs > 1 && port_pkt_linearize(m)) {
            rte_pktmbuf_free(m);
            dp_stat_add(&pmd->drops[DP_DROP_MULTISEG], 1);
            continue;
        }
        if (unlikely(m->ol_flags & PORT_OL_MBUF_FLAGS)) {
            /* A guest that is itself a tunnel endpoint left the outer UDP
             * checksum to the device: complete it before it is checked. */
            port_ol_csum_now(m);
        }
        if (!ly) {
            struct flow f;

            flow_extract(rte_pktmbuf_mtod(m, void *),
                         rte_pktmbuf_data_len(m), 0, &f, &tmp);
            ly = &tmp;
        }
        e = ly->l3 == FLOW_OFS_NONE
            ? TNL_ERR_TRUNCATED
            : tnl_parse_tlv((enum tnl_type) a->tnl_pop.type,
                            rte_pktmbuf_mtod(m, void *),
                            rte_pktmbuf_data_len(m), ly->l3, tlv_map, md,
                            &hdr_len);
        if (e != TNL_OK) {
            rte_pktmbuf_free(m);
            dp_stat_add(&pmd->drops[DP_DROP_TNL_TRUNCATED + (e - 1)], 1);
            continue;
        }
        ctx = tnl_ctx_find(pmd, gen, map, a, md);
        if (!run_port || ctx->port_no != run_no) {
            struct port *port = dp_port_get_fast(dp, ctx->port_no);

            if (!port || !port_tunnel_cfg(port, NULL)) {
                rte_pktmbuf_free(m);
                dp_stat_add(&pmd->drops[DP_DROP_TNL_NO_PORT], 1);
                continue;
            }
            tnl_pop_count(pmd, run_port, run_n, run_bytes);
            run_port = port;
            run_no = ctx->port_no;
            run_n = run_bytes = 0;
        }
        rte_pktmbuf_adj(m, (uint16_t) hdr_len);
        /* What arrives decapsulated is a new packet: no offload flags of
         * the outer one apply. */
        m->ol_flags &= ~(RTE_MBUF_F_RX_L4_CKSUM_MASK
                         | RTE_MBUF_F_RX_IP_CKSUM_MASK
                         | RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED
                         | RTE_MBUF_F_TX_OFFLOAD_MASK);
        run_n++;
        run_bytes += rte_pktmbuf_pkt_len(m);
        if (unlikely(pmd->mirrors != NULL)) {
            /* Received by the tunnel port: its mirrors' copies (it is no
             * mirror's output, so the packet stays). */
            mirror_rx(pmd, pmd->mirrors, run_no, &m, 1);
        }
        n_pushed += recirc_push(pmd, m, 0, run_no, md, ctx->id, NULL, NULL,
                                NULL, false);
    }
    tnl_pop_count(pmd, run_port, run_n, run_bytes);
    if (n_pushed) {
        dp_stat_add(&pmd->recirculations, n_pushed);
    }
}

static void run_actions(struct dp_pmd *, struct rte_mbuf **pkts,
                        struct flow_layers *layers, struct ct_md *md,
                        const struct flow *const *keys, unsigned n,
                        const struct dp_action *acts, size_t n_acts,
                        bool in_port_drop, struct dp_megaflow *mf,
                        uint32_t in_port);

/* A stable hash of the flow of 'm', for the outer UDP source port (ECMP
 * entropy: the same for every packet of a flow).  From the key when there
 * is one, the NIC's RSS hash when it gave one, else straight from the
 * headers: the IP addresses and protocol and, but in a later fragment,
 * the ports; the Ethernet addresses for what is not IP. */
static uint32_t
inner_hash(struct rte_mbuf *m, const struct flow *key)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    uint32_t len = rte_pktmbuf_data_len(m);
    uint32_t h = 0x5bd1e995, w[9];
    uint16_t type;
    size_t n = 0;

    if (key) {
        return flow_hash(key, 0);
    }
    if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) {
        return m->hash.rss;
    }
    if (len < 14) {
        return h;
    }
    /* The packet need not be aligned: its fields are copied into 'w'. */
    type = (uint16_t) (p[12] << 8 | p[13]);
    if (type == ETH_TYPE_IP && len >= 34 && (p[14] >> 4) == 4) {
        uint32_t ihl = (uint32_t) (p[14] & 0x0f) * 4;
        bool later = (p[20] & 0x1f) || p[21];

        memcpy(w, p + 26, 8);
        n = 2;
        w[n++] = p[23];
        if (!later && (p[23] == IPPROTO_TCP_ || p[23] == IPPROTO_UDP_
                       || p[23] == IPPROTO_SCTP_) && len >= 14 + ihl + 4) {
            memcpy(&w[n++], p + 14 + ihl, 4);
        }
    } else if (type == ETH_TYPE_IPV6 && len >= 54) {
        memcpy(w, p + 22, 32);
        n = 8;
        w[n++] = p[20];
        if ((p[20] == IPPROTO_TCP_ || p[20] == IPPROTO_UDP_
             || p[20] == IPPROTO_SCTP_) && len >= 58) {
            memcpy(&w[n - 1], p + 54, 4);
            w[n - 1] ^= p[20];
        }
    } else {
        memcpy(w, p, 12);
        n = 3;
    }
    for (size_t i = 0; i < n; i++) {
        h = rte_hash_crc_4byte(w[i], h);
    }
    return h;
}

/* How many frames leave the tunnel for inner packet 'm' of 'len' bytes
 * (a TSO packet's segments, else 1), and in '*longest' the longest of
 * them: its own length, or for a TSO packet its headers and one
 * segment. */
static uint32_t
tnl_inner_frames(const struct rte_mbuf *m, uint32_t len, uint32_t *longest)
{
    struct pkt_ol_layout ly;

    *longest = len;
    if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) || !m->tso_segsz
        || !pkt_ol_parse(rte_pktmbuf_mtod(m, const uint8_t *),
                         rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                         PKT_OL_TNL_NONE, &ly)
        || ly.proto != 6 || ly.end - ly.hdr_len <= m->tso_segsz) {
        return 1;
    }
    *longest = (uint32_t) ly.hdr_len + m->tso_segsz;
    return pkt_ol_n_segs(&ly, m->tso_segsz);
}

/* DPA_TNL_PUSH at 'a' (its block follows) on the packets still present:
 * encapsulates each (a copy unless 'last') and runs the block's actions
 * on the encapsulated packets.  'keys': the packets' keys as received
 * (NULL: none). */
static void
exec_tnl_push(struct dp_pmd *pmd, struct rte_mbuf **pkts,
              const struct flow *const *keys, unsigned n,
              const struct dp_action *a, bool last)
{
    struct dp *dp = pmd->dp;
    struct rte_mbuf *outer[DP_BATCH];
    struct flow_layers ly[DP_BATCH];
    uint8_t hdr[TNL_HDR_MAX];
    struct tnl_layout lay, lay_ol;
    struct port *tnl_port;
    uint64_t tnl_ol;
    uint64_t tx_bytes = 0;
    unsigned k = 0;

    lay.hdr_len = a->tnl_push.hdr_len;
    lay.l3_ofs = 14;
    lay.l4_ofs = a->tnl_push.is_ipv6 ? 54 : 34;
    lay.is_ipv6 = a->tnl_push.is_ipv6;
    lay.csum = a->tnl_push.csum;
    if (lay.hdr_len > sizeof hdr || !lay.hdr_len
        || a->tnl_push.n_data != (lay.hdr_len + DPA_TNL_DATA_BYTES - 1)
                                 / DPA_TNL_DATA_BYTES) {
        if (last) {
            drop_pkts(pmd, pkts, n, DP_DROP_ACTION);
        }
        return;
    }
    for (unsigned d = 0; d < a->tnl_push.n_data; d++) {
        size_t off = (size_t) d * DPA_TNL_DATA_BYTES;
        size_t len = lay.hdr_len - off < DPA_TNL_DATA_BYTES
                     ? lay.hdr_len - off : DPA_TNL_DATA_BYTES;

        memcpy(hdr + off, a[1 + d].data, len);
    }
    lay.has_ip_sum = false;
    tnl_layout_set_ip_sum(&lay, hdr);
    tnl_port = dp_port_get_fast(dp, a->tnl_push.tnl_port);
    if (unlikely(pmd->mirrors != NULL)
        && a->tnl_push.tnl_port < DP_MAX_PORTS) {
        /* Sent by the tunnel port: its mirrors copy the inner packets
         * before they are encapsulated (it is no mirror's output, so
         * mirror_tx() keeps every packet). */
        struct rte_mbuf *sel[DP_BATCH];
        unsigned n_sel = 0;

        for (unsigned j = 0; j < n; j++) {
            if (pkts[j]) {
                sel[n_sel++] = pkts[j];
            }
        }
        if (n_sel) {
            mirror_tx(pmd, pmd->mirrors, a->tnl_push.tnl_port, sel, n_sel);
        }
    }

    lay_ol = lay;
    lay_ol.csum = false;
    tnl_ol = (a->tnl_push.type == TNL_GENEVE ? RTE_MBUF_F_TX_TUNNEL_GENEVE
                                             : RTE_MBUF_F_TX_TUNNEL_VXLAN)
             | (lay.is_ipv6 ? RTE_MBUF_F_TX_OUTER_IPV6
                            : RTE_MBUF_F_TX_OUTER_IPV4)
             | (lay.csum ? RTE_MBUF_F_TX_OUTER_UDP_CKSUM : 0);
    for (unsigned j = 0; j < n; j++) {
        struct rte_mbuf *c = pkts[j];
        uint32_t inner_len, n_frames, longest;
        uint16_t ip_id;
        uint64_t ol;
        uint8_t *p;

        if (!c) {
            continue;
        }
        if (last) {
            pkts[j] = NULL;
        }
        c = pkt_take(pmd, c, !last);
        if (!c) {
            continue;
        }
        if (c->nb_segs > 1 && port_pkt_linearize(c)) {
            rte_pktmbuf_free(c);
            dp_stat_add(&pmd->drops[DP_DROP_MULTISEG], 1);
            continue;
        }
        inner_len = rte_pktmbuf_pkt_len(c);
        ol = c->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG);
        if (ol && (c->ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK)) {
            /* Already encapsulated with a checksum or TSO pending: one
             * tunnel is as deep as port-ol.c looks. */
            rte_pktmbuf_free(c);
            dp_stat_add(&pmd->drops[DP_DROP_TNL_NESTED_OL], 1);
            continue;
        }
        n_frames = 1;
        longest = inner_len;
        if (ol) {
            n_frames = tnl_inner_frames(c, inner_len, &longest);
        }
        if (inner_len + lay.hdr_len > UINT16_MAX
            || (a->tnl_push.max_inner && longest > a->tnl_push.max_inner)) {
            /* Over 64 KiB, or over what the underlay's MTU carries (no
             * fragmentation of the outer packet; a TSO packet's segments
             * must fit). */
            rte_pktmbuf_free(c);
            dp_stat_add(&pmd->drops[DP_DROP_TNL_TOO_BIG], 1);
            continue;
        }
        uint16_t sport = tnl_udp_src_port(inner_hash(c, keys ? keys[j]
                                                             : NULL));
        p = (uint8_t *) rte_pktmbuf_prepend(c, lay.hdr_len);
        if (!p) {
            rte_pktmbuf_free(c);
            dp_stat_add(&pmd->drops[DP_DROP_TNL_HEADROOM], 1);
            continue;
        }
        memcpy(p, hdr, lay.hdr_len);
        /* Each segment of a TSO packet takes the next identification. */
        ip_id = pmd->tnl_ip_id;
        pmd->tnl_ip_id = (uint16_t) (pmd->tnl_ip_id + n_frames);
        if (!tnl_finish(p, rte_pktmbuf_pkt_len(c), ol ? &lay_ol : &lay,
                        htons(ip_id), sport)) {
            rte_pktmbuf_free(c);
            dp_stat_add(&pmd->drops[DP_DROP_TNL_TOO_BIG], 1);
            continue;
        }
        /* The inner packet's checksum or segmentation request stays, for
         * the output port to meet under the outer header (port.h); the
         * outer UDP checksum is then filled there, after the inner one. */
        c->ol_flags = (c->ol_flags & ~RTE_MBUF_F_TX_OFFLOAD_MASK)
                      | (ol ? ol | tnl_ol : 0);
        tx_bytes += inner_len;
        outer[k] = c;
        ly[k].l3 = lay.l3_ofs;
        ly[k].l4 = lay.l4_ofs;
        ly[k].n_vlans = 0;
        k++;
    }
    if (k && tnl_port) {
        /* Once per batch: the counters are the PMD's own cache line. */
        port_tunnel_count_tx(tnl_port, pmd->idx, k, tx_bytes);
    }
    if (k) {
        run_actions(pmd, outer, ly, NULL, NULL, k,
                    a + 1 + a->tnl_push.n_data, a->tnl_push.n_acts, false,
                    NULL, a->tnl_push.outer_in_port);
    }
}

/* ---- Session offload (dp.h "Sessions"). ---- */

/* Queues a session event for the main thread; false if the queue is
 * full (counted). */
static bool
sess_push(struct dp *dp, const struct dp_sess_event *ev)
{
    bool ok;

    pthread_mutex_lock(&dp->sess_mutex);
    ok = dp->sess_n < DP_SESS_QUEUE;
    if (ok) {
        dp->sess_q[dp->sess_n++] = *ev;
        if (ev->teardown) {
            dp->sess_stats.teardowns++;
        } else {
            dp->sess_stats.offers++;
        }
    } else {
        dp->sess_stats.queue_full++;
    }
    pthread_mutex_unlock(&dp->sess_mutex);
    return ok;
}

/* After a ct() of a first pass: passes on teardowns the tracker flagged,
 * and records a trace for each packet whose connection direction is
 * claimed for offload ('keys': the packets' keys as received). */
static void
sess_after_ct(struct dp_pmd *pmd, struct rte_mbuf **pkts, struct ct_md *md,
              const struct flow *const *keys, unsigned n,
              struct dp_megaflow *mf)
{
    struct dp *dp = pmd->dp;
    uint64_t min = atomic_load_explicit(&dp->sess_min_packets,
                                        memory_order_relaxed);

    for (unsigned j = 0; j < n; j++) {
        struct ct_md *m = &md[j];

        if (!pkts[j] || !m->conn) {
            continue;
        }
        if (m->hw_teardown) {
            struct dp_sess_event ev = { .teardown = true };

            m->hw_teardown = 0;
            conntrack_conn_orig(m->conn, &ev.orig);
            ev.uid = conntrack_conn_uid(m->conn);
            sess_push(dp, &ev);
            continue;
        }
            if (!min || !mf || !keys || m->sess || pmd->recirc_depth
            || pmd->n_sess_trace == DP_SESS_TRACES
            || !conntrack_session_claim(m->conn, m, min)) {
            continue;
        }
        {
            struct dp_sess_trace *t = &pmd->sess_trace[pmd->n_sess_trace];

            t->conn = m->conn;
            t->reply = (m->state & CS_REPLY_DIR) != 0;
            t->done = false;
            t->mf = mf;
            t->key = *keys[j];
            m->sess = (uint8_t) ++pmd->n_sess_trace;
        }
    }
}

/* At the start of a later pass: each packet carrying a trace completes
 * it.  The direction is offered if this pass is a cached megaflow without
 * ct(), else unclaimed. */
static void
sess_second_pass(struct dp_pmd *pmd, struct rte_mbuf **pkts,
                 struct ct_md *md, const struct flow *const *keys,
                 unsigned n, struct dp_megaflow *mf)
{
    struct dp *dp = pmd->dp;

    for (unsigned j = 0; j < n; j++) {
        struct dp_sess_trace *t;
        unsigned idx = md[j].sess;

        if (!idx) {
            continue;
        }
        md[j].sess = 0;
        if (idx > pmd->n_sess_trace) {
            continue;
        }
        t = &pmd->sess_trace[idx - 1];
        if (t->done) {
            continue;
        }
        t->done = true;
        if (mf && !mf->has_ct && keys && keys[j] && pkts[j]) {
            struct dp_sess_event ev = {
                .reply = t->reply,
                .mf = { t->mf, mf },
            };

            conntrack_conn_orig(t->conn, &ev.orig);
            ev.uid = conntrack_conn_uid(t->conn);
            ev.key[0] = t->key;
            ev.key[1] = *keys[j];
            if (sess_push(dp, &ev)) {
                continue;
            }
            /* The queue is full for now: soon again, spread by
             * connection so that the directions refused together do not
             * all come back together. */
            conntrack_session_unclaim(t->conn, t->reply,
                                      DP_SESS_BUSY_BACKOFF
                                      + (ev.uid * 2 + t->reply) % 128);
            continue;
        }
        pthread_mutex_lock(&dp->sess_mutex);
        dp->sess_stats.not_offloadable++;
        pthread_mutex_unlock(&dp->sess_mutex);
        conntrack_session_unclaim(t->conn, t->reply, DP_SESS_BACKOFF);
    }
}

void
dp_sess_traces_end(struct dp_pmd *pmd)
{
    for (unsigned i = 0; i < pmd->n_sess_trace; i++) {
        struct dp_sess_trace *t = &pmd->sess_trace[i];

        if (!t->done) {
            /* Its packet was dropped or went nowhere cached. */
            conntrack_session_unclaim(t->conn, t->reply, DP_SESS_BACKOFF);
        }
    }
    pmd->n_sess_trace = 0;
}

void
dp_execute(struct dp_pmd *pmd, struct rte_mbuf **pkts,
           struct flow_layers *layers, struct ct_md *md,
           const struct flow *const *keys, unsigned n,
           const struct dp_actions *actions, struct dp_megaflow *mf)
{
    if (md && pmd->n_sess_trace) {
        sess_second_pass(pmd, pkts, md, keys, n, mf);
    }
    run_actions(pmd, pkts, layers, md, keys, n, actions->a, actions->n,
                actions->in_port_drop, mf, pmd->pass_in_port);
}

/* dp_execute() of the 'n_acts' actions at 'acts'.  A packet without a key
 * ('keys' NULL) recirculates with input port 'in_port' and no tunnel
 * metadata; one with a key, with those of its key. */
static void
run_actions(struct dp_pmd *pmd, struct rte_mbuf **pkts,
            struct flow_layers *layers, struct ct_md *md,
            const struct flow *const *keys, unsigned n,
            const struct dp_action *acts, size_t n_acts, bool in_port_drop,
            struct dp_megaflow *mf, uint32_t in_port)
{
    struct ct_md local_md[DP_BATCH];
    const struct flow *const *rx_keys = keys;   /* As looked up. */
    size_t last = SIZE_MAX;
    bool sent = false;

    /* The last action that must run: an output, recirculation or tunnel
     * action consumes the packet there; a ct() after the last of those
     * still commits.  A tunnel push's block is its own. */
    for (size_t i = 0; i < n_acts; i += dp_action_block_len(&acts[i])) {
        uint16_t t = acts[i].type;

        if (dp_action_block_len(&acts[i]) > n_acts - i) {
            /* A tunnel push's block past the list's end: never made by
             * translation; drop rather than read beyond it. */
            drop_pkts(pmd, pkts, n, DP_DROP_ACTION);
            return;
        }
        if (t == DPA_OUTPUT || t == DPA_RECIRC || t == DPA_CT
            || t == DPA_TNL_POP || t == DPA_TNL_PUSH || t == DPA_USERSPACE) {
            last = i;
        }
    }
    if (last == SIZE_MAX) {
        drop_pkts(pmd, pkts, n, in_port_drop ? DP_DROP_LOOP
                                             : DP_DROP_ACTION);
        return;
    }

    for (size_t i = 0; i <= last; i += dp_action_block_len(&acts[i])) {
        const struct dp_action *a = &acts[i];

        switch (a->type) {
        case DPA_TNL_POP:
            sent = true;
            exec_tnl_pop(pmd, pkts, layers, n, a, i != last);
            if (i == last) {
                memset(pkts, 0, n * sizeof *pkts);
            }
            break;
        case DPA_OUTPUT:
        case DPA_RECIRC: {
            unsigned n_recirc = 0, n_short = 0;
            /* recirc_shortcut(): the packet itself, with its key as its
             * headers stand and its ct() metadata, no session trace
             * waiting for its pass, and a pass it could take. */
            bool shortcut = a->type == DPA_RECIRC && i == last && keys
                            && md && !pmd->n_sess_trace
                            && pmd->recirc_depth + 1 < DP_MAX_RECIRC_DEPTH;

            sent = true;
            for (unsigned j = 0; j < n; j++) {
                struct rte_mbuf *c = pkts[j];

                if (!c) {
                    continue;
                }
                /* Once a packet of this flow went to a pass, the rest
                 * go too: a later one sent at once could leave before
                 * it (one connection's packets stay in order). */
                if (shortcut && !n_recirc && md[j].conn
                    && recirc_shortcut(pmd, c, a->recirc_id, keys[j],
                                       &md[j])) {
                    pkts[j] = NULL;
                    n_short++;
                    continue;
                }
                if (a->type == DPA_RECIRC) {
                    const struct flow *k = rx_keys ? rx_keys[j] : NULL;

                    n_recirc += recirc_push(pmd, c, a->recirc_id,
                                            k ? k->in_port : in_port,
                                            k ? &k->tunnel : NULL, 0,
                                            md ? &md[j] : NULL,
                                            keys ? keys[j] : NULL,
                                            layers ? &layers[j] : NULL,
                                            i != last);
                    if (i == last) {
                        pkts[j] = NULL;
                    }
                    continue;
                }
                if (i == last) {
                    pkts[j] = NULL;
                }
                c = pkt_take(pmd, c, i != last);
                if (c) {
                    tx_enqueue(pmd, a->port, c);
                }
            }
            if (n_recirc) {
                dp_stat_add(&pmd->recirculations, n_recirc);
            }
            if (n_short) {
                dp_stat_add(&pmd->recirc_shortcuts, n_short);
            }
            break;
        }
        case DPA_TNL_PUSH:
            sent = true;
            exec_tnl_push(pmd, pkts, rx_keys, n, a, i == last);
            break;
        case DPA_TNL_DATA:
            break;
        case DPA_METER:
            keys = NULL;                /* A remark may change headers. */
            exec_meter(pmd, pkts, layers, n, a->meter_id);
            break;
        case DPA_USERSPACE:
            sent = true;
            for (unsigned j = 0; j < n; j++) {
                const struct flow *k = rx_keys ? rx_keys[j] : NULL;

                if (!pkts[j]) {
                    continue;
                }
                if (unlikely(pkts[j]->ol_flags & PORT_OL_MBUF_FLAGS)) {
                    /* The controller gets the bytes: a checksum left to
                     * the device is completed first (port.h). */
                    port_ol_csum_now(pkts[j]);
                }
                dp_pktin_send(pmd, pkts[j], k ? k->in_port : in_port,
                              k ? &k->tunnel : NULL, md ? &md[j] : NULL, a);
                if (i == last) {
                    rte_pktmbuf_free(pkts[j]);
                    pkts[j] = NULL;
                }
            }
            break;
        case DPA_CT:
            if (!md) {
                memset(local_md, 0, n * sizeof local_md[0]);
                md = local_md;
            }
            exec_ct(pmd, pkts, md, keys, layers, n, &a->ct);
            /* A session's match is on the headers as received (what
             * actions before this one rewrote shows in the next pass's
             * key). */
            sess_after_ct(pmd, pkts, md, rx_keys, n, mf);
            if (a->ct.nat.flags) {
                keys = NULL;            /* NAT may have changed headers. */
            }
            break;
        case DPA_CT_CLEAR:
            if (md) {
                memset(md, 0, n * sizeof md[0]);
            }
            break;
        default:
            keys = NULL;                /* The headers change. */
            for (unsigned j = 0; j < n; j++) {
                if (pkts[j] && !rewrite_one(pmd, pkts[j], &layers[j], a)) {
                    rte_pktmbuf_free(pkts[j]);
                    pkts[j] = NULL;
                }
            }
            break;
        }
    }
    /* What a final ct() left: the flow's packets end there (a drop unless
     * a copy went out before). */
    if (!sent) {
        drop_pkts(pmd, pkts, n, DP_DROP_ACTION);
    } else {
        for (unsigned j = 0; j < n; j++) {
            if (pkts[j]) {
                rte_pktmbuf_free(pkts[j]);
                pkts[j] = NULL;
            }
        }
    }
}
