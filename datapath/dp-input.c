/* SPDX-License-Identifier: BSD-3-Clause */
/* dp-input.c: a PMD thread's packet path, from rx burst to tx burst. */

/*
 * Read in this order: the functions below, in the order a packet meets
 * them (dp.h's design comment says why each stage is there).
 *
 *   dp_pmd_main()     the PMD loop (bottom of this file): quiescent state,
 *                     dead-entry sweep, an rx burst per polled queue, then
 *                     one tx flush per iteration
 *   input_burst()     one received burst; a port answered by one "simple"
 *                     megaflow skips every stage below
 *   input_key()       1: header key (common shape, no parse) or full parse;
 *                     the hash
 *   input_exact()     2: hardware mark (partial offload), then the
 *                     exact-match tier: header-key cache or EMC
 *   input_megaflow()  3: the megaflow classifier, batched
 *   input_upcall()    4: the slow path for what is left, under one read
 *                     lock: dp_callbacks.upcall (bridge.c: sw_upcall() ->
 *                     ofproto_xlate()) per miss, cached as a megaflow by
 *                     upcall_one()
 *   input_group()     5: output-only megaflows queue their packet for its
 *                     port at once; the rest are grouped by megaflow
 *   input_execute()   6: each group's actions (dp-exec.c: dp_execute()),
 *                     then the burst's counters
 *   dp_tx_flush()     (dp-exec.c) a tx burst per port with queued packets
 *
 * The stages share one struct input_batch on the stack; each is called
 * once per burst, so the compiler inlines them into input_full().
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "capture.h"
#include "mirror.h"
#include "dp-private.h"
#include "emc.h"
#include "hkc.h"
#include "hkey.h"
#include "log.h"
#include "port.h"
#include "port-io.h"

LOG_MODULE(dp);

/* ---- Upcall: the slow path's answer becomes a megaflow. ---- */

/* True if caching a megaflow with mask 'wc' would add a subtable beyond
 * max_masks.  PMD thread (the flow mutex keeps the main thread's removals
 * out while the masks are listed). */
static bool
mask_limit_reached(struct dp_pmd *pmd, const struct flow *wc)
{
    unsigned max = pmd->dp->cfg.max_masks;
    bool reached = false;
    size_t n;

    /* The common case needs no lock: the subtable vector is read like any
     * lookup reads it, and only this PMD adds subtables, so a count under
     * the limit stays under it. */
    if (cls_n_subtables(pmd->cls) < max) {
        return false;
    }
    if (pthread_mutex_trylock(&pmd->flow_mutex)) {
        return true;        /* Busy (main thread): do not wait, see dp.h. */
    }
    n = cls_n_subtables(pmd->cls);
    if (n >= max) {
        n = cls_subtable_masks(pmd->cls, pmd->mask_scratch, max);
        n = n < max ? n : max;
        reached = true;
        for (size_t i = 0; i < n; i++) {
            if (!memcmp(&pmd->mask_scratch[i], wc, sizeof *wc)) {
                reached = false;        /* An existing mask: no growth. */
                break;
            }
        }
    }
    pthread_mutex_unlock(&pmd->flow_mutex);
    return reached;
}

/* Handles a miss for 'key' in PMD context, with the slow-path read lock
 * held (taken once per batch by input_upcall()).  'fresh' holds the
 * n_fresh megaflows this batch has installed so far: the batch's
 * classifier lookup missed, and only this PMD inserts into its classifier,
 * so one of them is the only thing that can match now.  A megaflow this
 * call installs is appended to 'fresh'.  Returns the megaflow to use, or
 * NULL with tmp_up->actions set to actions to run once (not installed) or
 * NULL (drop: the upcall failed).  On a non-installed result tmp_up holds
 * the refs. */
static struct dp_megaflow *
upcall_one(struct dp_pmd *pmd, const struct flow *key,
           struct dp_megaflow **fresh, unsigned *n_fresh,
           struct dp_upcall *tmp_up)
{
    struct dp *dp = pmd->dp;
    struct dp_megaflow *mf;
    bool counted;
    size_t n_acts;
    int err;

    /* An earlier packet of this batch may have installed it. */
    for (unsigned k = 0; k < *n_fresh; k++) {
        mf = fresh[k];
        if (!atomic_load_explicit(&mf->dead, memory_order_relaxed)
            && flow_equal_masked(key, &mf->cr.flow, mf->cr.mask)) {
            return mf;
        }
    }

    dp_upcall_init(tmp_up, key, &pmd->upcall_stub);
    dp_stat_add(&pmd->upcalls, 1);
    err = dp->cbs.upcall(tmp_up, dp->aux);
    if (err || !tmp_up->actions) {
        if (!err) {
            err = ENOMEM;
        }
        if (dp->cbs.release && tmp_up->n_refs) {
            dp->cbs.release(tmp_up->refs, tmp_up->n_refs, dp->aux);
        }
        dp_upcall_free_actions(tmp_up);
        tmp_up->n_refs = 0;
        return NULL;
    }
    dp_megaflow_mask_fixup(&tmp_up->wc);
    if (tmp_up->learned) {
        atomic_store(&dp->learned, true);
    }

    mf = NULL;
    counted = false;
    if (tmp_up->no_cache) {
        /* Runs once (stage 6), like a result over the flow limit. */
    } else if (pmd->mask_scratch && mask_limit_reached(pmd, &tmp_up->wc)) {
        dp_stat_add(&pmd->mask_limited, 1);
    } else {
        counted = true;
        if (atomic_fetch_add(&dp->n_megaflows, 1) < dp->cfg.flow_limit) {
            mf = dp_mf_alloc(pmd);
        }
    }
    n_acts = tmp_up->actions->n;
    if (mf) {
        if (n_acts <= DP_MF_INLINE_ACTS) {
            memcpy(mf->inline_acts, tmp_up->actions, dp_actions_size(n_acts));
            mf->actions = (struct dp_actions *) (void *) mf->inline_acts;
        } else if (tmp_up->actions == tmp_up->stub) {
            /* The next upcall reuses the stub: a long list gets its own
             * copy (only at installation, never per packet). */
            mf->actions = dp_actions_clone(tmp_up->actions);
        } else {
            mf->actions = tmp_up->actions;      /* Taken over. */
        }
        if (!mf->actions) {
            dp_mf_free_local(pmd, mf);
            mf = NULL;
        }
    }
    if (mf) {
        mf->key = *key;
        mf->scope = tmp_up->scope;
        mf->key_lookups = tmp_up->key_lookups;
        for (size_t i = 0; i < n_acts; i++) {
            uint16_t t = tmp_up->actions->a[i].type;

            /* A tunnel push lays out the outer packet it builds for the
             * actions of its block; only other actions read the
             * received packet's layout. */
            if (t != DPA_OUTPUT && t != DPA_TNL_PUSH && t != DPA_TNL_DATA) {
                mf->needs_layers = true;
            }
            if (tmp_up->actions->a[i].type == DPA_CT) {
                mf->has_ct = true;
            }
        }
        mf->out_port = (n_acts == 1
                        && tmp_up->actions->a[0].type == DPA_OUTPUT
                        && tmp_up->actions->a[0].port < DP_MAX_PORTS)
                       ? tmp_up->actions->a[0].port : DP_NO_OUT;
        mf->pmd = pmd;
        mf->created_ms = pmd->now_ms;
        mf->n_refs = tmp_up->n_refs;
        memcpy(mf->refs, tmp_up->refs, tmp_up->n_refs * sizeof mf->refs[0]);
        /* The mask is the upcall's until the megaflow is in: then its
         * subtable's (one copy per mask; struct cls_rule). */
        cls_rule_init(&mf->cr, key, &tmp_up->wc, 0);
        mf->n_mwords = 0;
        for (unsigned w = 0; w < FLOW_U64S; w++) {
            if (flow_u64(mf->cr.mask)[w]) {
                mf->mwords[mf->n_mwords++] = (uint8_t) w;
            }
        }
        /* Never waits: the main thread holds the mutex while it lists or
         * sweeps this PMD's megaflows (dp.h).  The result then runs once,
         * and the flow's next packet tries again. */
        if (pthread_mutex_trylock(&pmd->flow_mutex)) {
            err = EBUSY;
            dp_stat_add(&pmd->megaflow_busy, 1);
        } else {
            err = cls_insert(pmd->cls, &mf->cr);
            if (!err) {
                /* Before the main thread can list it. */
                mf->cr.mask = cls_rule_shared_mask(&mf->cr);
            }
            pthread_mutex_unlock(&pmd->flow_mutex);
        }
        if (err) {
            if (mf->actions == tmp_up->actions) {
                mf->actions = NULL;     /* Still tmp_up's. */
            }
            mf->cr.mask = NULL;         /* Was tmp_up's: fault if read. */
            dp_mf_free_local(pmd, mf);
            mf = NULL;
        } else {
            if (mf->actions != tmp_up->actions) {
                /* Copied (inline or cloned): the slow path's list is not
                 * needed. */
                dp_upcall_free_actions(tmp_up);
            }
            tmp_up->actions = NULL;
            atomic_fetch_add(&pmd->n_megaflows, 1);
            fresh[(*n_fresh)++] = mf;
        }
    }
    if (!mf) {
        if (counted) {
            atomic_fetch_sub(&dp->n_megaflows, 1);
        }
        dp_stat_add(&pmd->megaflow_not_installed, 1);
        /* tmp_up keeps actions and refs: the caller runs them once. */
    }
    return mf;
}

/* ---- Helpers of the hit path. ---- */

static inline void
megaflow_account(struct dp_pmd *pmd, struct dp_megaflow *mf, unsigned n,
                 uint64_t bytes)
{
    dp_megaflow_account(pmd, mf, n, bytes);
}

/* True if 'mf' answers for every first-pass packet of its input port
 * without looking at the packet: its mask holds only in_port (and the
 * recirc_id every megaflow matches), and its actions only output, or
 * encapsulate and output (so nothing needs the parsed header layout or
 * the flow key: a tunnel push hashes the inner headers itself and lays
 * out the outer packet it builds). */
static bool
megaflow_is_simple(const struct dp_megaflow *mf)
{
    const uint64_t *m = flow_u64(mf->cr.mask);
    struct flow only_in_port;

    if (mf->key.recirc_id) {
        return false;                   /* Only first passes take it. */
    }
    memset(&only_in_port, 0, sizeof only_in_port);
    only_in_port.in_port = UINT32_MAX;
    only_in_port.recirc_id = UINT32_MAX;
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i] != flow_u64(&only_in_port)[i]) {
            return false;
        }
    }
    /* needs_layers: some action is not an output or a tunnel push (a
     * ct() among them). */
    return !mf->needs_layers;
}

/* Caches 'mf' for packet 'i' of the batch in the exact-match tier: the
 * header-key cache if the packet has the common shape, else the EMC if
 * the batch uses it ('emc_on': only then was 'hash' computed). */
static inline void
exact_insert(struct dp_pmd *pmd, const struct flow *key, uint32_t hash,
             bool emc_on, const struct hkey *hk, uint32_t hk_hash,
             struct dp_megaflow *mf)
{
    if (hk) {
        if (pmd->hkc && exact_gate_open(&pmd->hkc_gate)) {
            hkc_insert(pmd->hkc, hk, hk_hash, mf);
        }
    } else if (emc_on) {
        emc_insert(pmd->emc, key, hash, mf);
    }
}

/* ---- The stages of one burst. ---- */

/* What the stages of input_full() share about one burst. */
struct input_batch {
    struct rte_mbuf **pkts;             /* The burst; NULL once consumed. */
    unsigned n;
    uint32_t in_port;

    /* A recirculated pass (NULL on a first pass): by packet, its
     * conntrack metadata and the pass's recirc_id.  Such packets are
     * parsed in full (the header key holds no metadata). */
    struct ct_md *md;
    const uint32_t *recirc_ids;
    struct dp_recirc_q *rq;             /* Their queue, and where they */
    unsigned rq_base;                   /* start in it. */
    bool prof;                          /* Stage profile on (dp.h). */
    uint64_t *t;                        /* Its clock. */

    /* Which caches this burst uses: a cache whose gate is closed
     * (exact-gate.h) is neither looked up nor inserted into; its packets
     * still take the cheaper way to a flow.  One burst in
     * EXACT_GATE_SAMPLE ('timed') times both caches' lookups and the
     * megaflow tier's for the gates. */
    bool hkc_on, emc_on, marks_on, timed;

    /* Stage 1, by packet: the flow key (parsed packets; header-key packets
     * only once they miss the exact tier), header layout and hash.  Packets
     * of the common shape have a header key instead: hk_of[i] indexes
     * hkeys, or is HK_NONE.  key[i] points to packet i's flow: a parsed
     * packet's is keys[i], a header-key packet's the PMD's hk_flows[i]
     * (hkey_to_flow_sparse(): seven words written, not 36). */
    const struct flow *key[DP_BATCH];
    struct flow keys[DP_BATCH];
    struct flow *hk_flows;              /* The PMD's (dp-private.h), */
    uint32_t *hk_flows_tnl;             /* and which hold metadata. */
    struct flow_layers layers[DP_BATCH];
    uint32_t key_valid;                 /* Bit i: key[i] is set. */
    uint32_t hashes[DP_BATCH];
    uint8_t hk_of[DP_BATCH];
    struct hkey hkeys[DP_BATCH];
    uint32_t hk_hashes[DP_BATCH];
    unsigned n_hk;

    /* Stages 2-4: the megaflow of each packet, and those still missing. */
    struct dp_megaflow *mfs[DP_BATCH];
    unsigned miss_idx[DP_BATCH];
    unsigned n_miss;

    /* Stage 4: a packet whose megaflow could not be cached keeps mfs[i]
     * NULL and the upcall's result in once[once_of[i]], run in its place
     * in stage 6 (not at once: an earlier packet of its flow may still be
     * waiting to be queued).  Later misses of the same flow in the burst
     * reuse the result instead of calling the slow path again.  Action
     * lists are copied out of the upcall stub into 'arena' while they
     * fit. */
    struct input_once *once;            /* DP_BATCH entries. */
    uint8_t once_of[DP_BATCH];
    unsigned n_once;
    size_t arena_used;

    uint64_t emc_hits, hkc_hits, mf_hits, mark_hits;
};

/* The result of an upcall whose megaflow was not cached (input_batch). */
struct input_once {
    struct flow key, wc;                /* What it answers for. */
    struct dp_actions *actions;         /* In the PMD's once_arena, or
                                         * malloc'd ('heap'). */
    bool heap;
    void *refs[DP_MAX_REFS];            /* The upcall's references. */
    size_t n_refs;
};

#define HK_NONE DP_BATCH

static inline const struct hkey *
batch_hkey(const struct input_batch *b, unsigned i)
{
    return b->hk_of[i] != HK_NONE ? &b->hkeys[b->hk_of[i]] : NULL;
}

static inline uint32_t
batch_hkey_hash(const struct input_batch *b, unsigned i)
{
    return b->hk_of[i] != HK_NONE ? b->hk_hashes[b->hk_of[i]] : 0;
}

/* Packet i's flow (a header-key packet), its tunnel metadata: the one
 * its context names (its pass's queue keeps a copy), else none. */
static void
batch_key_tnl(struct input_batch *b, unsigned i, struct flow *f, bool ctx)
{
    if (ctx) {
        f->tunnel = b->rq->tnl[b->rq_base + i];
        *b->hk_flows_tnl |= 1u << i;
    } else {
        zero_small(&f->tunnel, sizeof f->tunnel);
        *b->hk_flows_tnl &= ~(1u << i);
    }
}

/* Packet i's flow key (a header-key hit gets its key converted now). */
static inline const struct flow *
batch_key(struct input_batch *b, unsigned i)
{
    if (!(b->key_valid & (1u << i))) {
        const struct hkey *hk = &b->hkeys[b->hk_of[i]];
        bool ctx = hkey_ctx(hk) != 0;

        hkey_to_flow_sparse(hk, &b->hk_flows[i]);
        if (unlikely(ctx || (*b->hk_flows_tnl & (1u << i)))) {
            batch_key_tnl(b, i, &b->hk_flows[i], ctx);
        }
        b->key[i] = &b->hk_flows[i];
        b->key_valid |= 1u << i;
    }
    return b->key[i];
}

/* Packet i's flow key is keys[i]. */
static inline void
batch_key_parsed(struct input_batch *b, unsigned i)
{
    b->key[i] = &b->keys[i];
    b->key_valid |= 1u << i;
}

/* The layers of every header-key packet (hkey.h: the shape fixes them). */
static const struct flow_layers hk_layers = {
    .l3 = HKEY_L2_LEN, .l4 = HKEY_L4_OFS, .n_vlans = 0,
};

/* Stage 1 of a recirculated pass: each packet's flow from its queue, or
 * parsed again if an action changed its headers; a decapsulated packet of
 * the common shape gets a header key with its tunnel context. */
static void __attribute__((noinline))
input_key_recirc(struct dp_pmd *pmd, struct input_batch *b)
{
    unsigned n_hk = 0;          /* b->n_hk, in a register meanwhile. */

    for (unsigned i = 0; i < b->n; i++) {
        struct rte_mbuf *m = b->pkts[i];
        const void *frame = rte_pktmbuf_mtod(m, void *);
        uint32_t len = rte_pktmbuf_data_len(m);
        struct hkey *hk = &b->hkeys[n_hk];
        unsigned qi = b->rq_base + i;
        struct flow *k;

        if (i + 1 < b->n) {
            rte_prefetch0(rte_pktmbuf_mtod(b->pkts[i + 1], void *));
        }
        if (b->rq->tnl_ctx[qi] && (pmd->hkc || !pmd->emc)
            && hkey_extract(frame, len, b->rq->in_ports[qi], hk)) {
            /* A decapsulated packet of the common shape: nothing but its
             * input port and tunnel metadata (named by its context) is in
             * its flow beside its headers (no recirc_id, no conntrack
             * metadata; exec_tnl_pop()). */
            hkey_set_ctx(hk, b->rq->tnl_ctx[qi]);
            b->hk_of[i] = (uint8_t) n_hk++;
            b->layers[i] = hk_layers;
            continue;
        }
        b->hk_of[i] = HK_NONE;
        if (b->rq->has_key[qi]) {
            /* Nothing changed the headers since its last pass: its key is
             * completed where the queue holds it (this pass is the
             * queue's last reader; a push from it goes to the other
             * queue). */
            k = &b->rq->keys[qi];
            b->key[i] = k;
            b->key_valid |= 1u << i;
            b->layers[i] = b->rq->layers[qi];
        } else {
            k = &b->keys[i];
            flow_extract(frame, len, 0, k, &b->layers[i]);
            batch_key_parsed(b, i);
        }
        k->in_port = b->rq->in_ports[qi];
        k->tunnel = b->rq->tnl[qi];
        k->recirc_id = b->recirc_ids[i];
        if (b->rq->has_key[qi] || !dp_ct_md_blank(&b->md[i])) {
            /* (A fresh parse left the ct_* fields zero.) */
            dp_ct_md_to_flow(&b->md[i], k);
        }
        if (b->emc_on) {
            b->hashes[i] = flow_hash(k, 0);
            emc_prefetch(pmd->emc, b->hashes[i]);
        }
    }
    b->n_hk = n_hk;
}

/* Stage 1 of a burst from a port: the header key whenever the header-key
 * cache, or no cache, will answer (with the EMC alone, packets need the
 * parse), else the full parse.  Its own function, and the hashes in a
 * loop of their own: in one loop with the rest of the stage, the count of
 * keys lived on the stack and each packet waited for the last one's
 * store of it. */
static void __attribute__((noinline))
input_key_wire(struct dp_pmd *pmd, struct input_batch *b)
{
    struct rte_mbuf **pkts = b->pkts;
    const unsigned n = b->n;
    const uint32_t in_port = b->in_port;
    const bool try_hk = pmd->hkc || !pmd->emc;
    struct hkey *hkeys = b->hkeys;
    unsigned n_hk = 0;

    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        const void *frame = rte_pktmbuf_mtod(m, void *);
        uint32_t len = rte_pktmbuf_data_len(m);

        if (i + 1 < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        }
        if (try_hk && hkey_extract(frame, len, in_port, &hkeys[n_hk])) {
            b->hk_of[i] = (uint8_t) n_hk++;
            b->layers[i] = hk_layers;
            continue;
        }
        b->hk_of[i] = HK_NONE;
        flow_extract(frame, len, in_port, &b->keys[i], &b->layers[i]);
        batch_key_parsed(b, i);
        if (b->emc_on) {               /* (Only the EMC reads it.) */
            b->hashes[i] = flow_hash(&b->keys[i], 0);
            emc_prefetch(pmd->emc, b->hashes[i]);
        }
    }
    b->n_hk = n_hk;
}

/* Stage 1: the header key where the packet has the common shape (no
 * parse), else the full parse and flow hash.  Prefetches the cache buckets
 * stage 2 will read. */
static void
input_key(struct dp_pmd *pmd, struct input_batch *b)
{
    if (b->md) {
        input_key_recirc(pmd, b);
    } else {
        input_key_wire(pmd, b);
    }
    if (b->n_hk && b->hkc_on) {
        /* The hashes, and the buckets stage 2 reads prefetched, in one
         * pass over the burst's keys. */
        hkc_hash_batch(pmd->hkc, b->hkeys, b->n_hk, b->hk_hashes);
    }
    dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_KEY);
}

/* True if the NIC marked 'm' with a megaflow id (partial offload). */
static inline bool
input_marked(const struct input_batch *b, const struct rte_mbuf *m)
{
    return b->marks_on && m->ol_flags & RTE_MBUF_F_RX_FDIR_ID;
}

/* Stage 2: the megaflow a hardware mark names, else the exact-match
 * tier's: both caches are looked up for the whole burst first (batched),
 * then each packet takes its result; misses get their flow key (header-key
 * packets convert theirs) and are listed for stage 3. */
static void
input_exact(struct dp_pmd *pmd, struct input_batch *b)
{
    struct dp *dp = pmd->dp;
    void *hk_found[DP_BATCH];
    void *emc_found[DP_BATCH];          /* By packet: EMC result, if any. */
    uint64_t t0 = 0;

    if (b->n_hk && b->hkc_on) {
        if (b->timed) {
            t0 = rte_rdtsc();
        }
        /* (It prefetches each hit's megaflow: the hot cache line.) */
        hkc_lookup_batch(pmd->hkc, b->hkeys, b->hk_hashes, b->n_hk,
                         hk_found);
        if (b->timed) {
            exact_gate_cost(&pmd->hkc_gate, b->n_hk, rte_rdtsc() - t0);
        }
    }
    if (b->n_hk < b->n && b->emc_on) {
        if (b->timed) {
            t0 = rte_rdtsc();
        }
        for (unsigned i = 0; i < b->n; i++) {
            /* A packet the NIC marked needs no lookup (below). */
            emc_found[i] = b->hk_of[i] == HK_NONE
                           && !input_marked(b, b->pkts[i])
                           ? emc_lookup(pmd->emc, b->key[i], b->hashes[i])
                           : NULL;
        }
        if (b->timed) {
            exact_gate_cost(&pmd->emc_gate, b->n - b->n_hk,
                            rte_rdtsc() - t0);
        }
    }

    /* The counts in locals: kept in the batch, each would be a chain of
     * loads and stores from packet to packet. */
    uint64_t emc_hits = 0, hkc_hits = 0, mark_hits = 0;
    unsigned n_miss = b->n_miss;

    for (unsigned i = 0; i < b->n; i++) {
        struct dp_megaflow *mf = NULL;

        if (input_marked(b, b->pkts[i])) {
            uint32_t id = b->pkts[i]->hash.fdir.hi;

            if (id && id < dp->id_cap) {
                mf = atomic_load_explicit(&dp->by_id[id],
                                          memory_order_acquire);
                if (mf && mf->pmd == pmd
                    && !atomic_load_explicit(&mf->dead,
                                             memory_order_relaxed)) {
                    b->mfs[i] = mf;
                    mark_hits++;
                    continue;
                }
                mf = NULL;
            }
        }
        if (b->hk_of[i] != HK_NONE) {
            mf = b->hkc_on ? hk_found[b->hk_of[i]] : NULL;
        } else if (b->emc_on) {
            mf = emc_found[i];
        }
        if (mf && !atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
            b->mfs[i] = mf;
            emc_hits++;
            hkc_hits += b->hk_of[i] != HK_NONE;
        } else {
            /* The classifier and the slow path need the flow. */
            batch_key(b, i);
            b->mfs[i] = NULL;
            b->miss_idx[n_miss++] = i;
        }
    }
    b->emc_hits += emc_hits;
    b->hkc_hits += hkc_hits;
    b->mark_hits += mark_hits;
    b->n_miss = n_miss;
    dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_EXACT);
}

/* Stage 3: the megaflow classifier for the exact tier's misses, in one
 * batched lookup; a hit is cached in the exact tier.  What still misses
 * stays listed for stage 4. */
static void
input_megaflow(struct dp_pmd *pmd, struct input_batch *b)
{
    const struct flow *miss_keys[DP_BATCH];
    const struct cls_rule *miss_rules[DP_BATCH];
    unsigned still = 0;
    uint64_t t0 = 0;

    if (!b->n_miss) {
        dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_MEGAFLOW);
        return;
    }
    for (unsigned k = 0; k < b->n_miss; k++) {
        miss_keys[k] = b->key[b->miss_idx[k]];
    }
    if (b->timed) {
        t0 = rte_rdtsc();
    }
    cls_lookup_batch(pmd->cls, miss_keys, b->n_miss, miss_rules);
    if (b->timed) {
        exact_miss_cost_add(&pmd->mf_cost, b->n_miss, rte_rdtsc() - t0);
    }
    for (unsigned k = 0; k < b->n_miss; k++) {
        unsigned i = b->miss_idx[k];
        struct dp_megaflow *mf = NULL;

        if (miss_rules[k]) {
            mf = CLS_CONTAINER_OF(miss_rules[k], struct dp_megaflow, cr);
            if (atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
                mf = NULL;
            }
        }
        if (mf) {
            b->mfs[i] = mf;
            b->mf_hits++;
            exact_insert(pmd, b->key[i], b->hashes[i], b->emc_on,
                         batch_hkey(b, i),
                         batch_hkey_hash(b, i), mf);
        } else {
            b->miss_idx[still++] = i;
        }
    }
    b->n_miss = still;
    dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_MEGAFLOW);
}

/* The not-cached result of this burst that answers for 'key', or -1. */
static int
once_find(const struct input_batch *b, const struct flow *key)
{
    for (unsigned k = 0; k < b->n_once; k++) {
        const struct input_once *o = &b->once[k];

        if (flow_equal_masked(key, &o->key, &o->wc)) {
            return (int) k;
        }
    }
    return -1;
}

/* Keeps 'up', an upcall for 'key' whose megaflow was not cached, for
 * stage 6 (it takes up's references and actions).  Returns its index, or
 * -1 if its actions could not be copied out of the stub (no memory):
 * 'up' is then unchanged. */
static int
once_keep(struct dp_pmd *pmd, struct input_batch *b, const struct flow *key,
          struct dp_upcall *up)
{
    struct input_once *o = &b->once[b->n_once];
    size_t size = dp_actions_size(up->actions->n);

    if (up->actions != up->stub) {
        o->actions = up->actions;       /* Taken over. */
        o->heap = true;
    } else if (b->arena_used + size <= sizeof pmd->once_arena) {
        o->actions = (struct dp_actions *) (void *)
                     (pmd->once_arena + b->arena_used);
        memcpy(o->actions, up->actions, size);
        b->arena_used += (size + 7) & ~(size_t) 7;
        o->heap = false;
    } else if ((o->actions = dp_actions_clone(up->actions)) != NULL) {
        o->heap = true;
    } else {
        return -1;
    }
    up->actions = NULL;
    o->key = *key;
    o->wc = up->wc;
    o->n_refs = up->n_refs;
    memcpy(o->refs, up->refs, up->n_refs * sizeof o->refs[0]);
    return (int) b->n_once++;
}

/* Runs 'up''s actions on packet 'i' at once and lets them go: the way out
 * when once_keep() has no memory (the packet may then overtake an earlier
 * one of its flow; it is not dropped). */
static void
once_run_now(struct dp_pmd *pmd, struct input_batch *b, unsigned i,
             struct dp_upcall *up)
{
    struct dp *dp = pmd->dp;
    uint32_t len = rte_pktmbuf_pkt_len(b->pkts[i]);

    const struct flow *key = batch_key(b, i);

    dp_execute(pmd, &b->pkts[i], &b->layers[i], b->md ? &b->md[i] : NULL,
               &key, 1, up->actions, NULL);
    if (dp->cbs.credit) {
        dp->cbs.credit(up->refs, up->n_refs, 1, len, pmd->now_ms, dp->aux);
    }
    if (dp->cbs.release) {
        dp->cbs.release(up->refs, up->n_refs, dp->aux);
    }
    dp_upcall_free_actions(up);
    b->pkts[i] = NULL;
}

/* Stage 4: the slow path for what is left, under one acquisition of its
 * read lock.  A packet whose megaflow could not be cached keeps the
 * upcall's result for stage 6; one whose upcall failed is dropped. */
static void
input_upcall(struct dp_pmd *pmd, struct input_batch *b)
{
    struct dp *dp = pmd->dp;
    struct dp_megaflow *fresh[DP_BATCH];
    unsigned n_fresh = 0;

    if (!b->n_miss) {
        dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_UPCALL);
        return;
    }
    dp_slow_rdlock(dp);
    for (unsigned k = 0; k < b->n_miss; k++) {
        unsigned i = b->miss_idx[k];
        struct dp_upcall up;
        struct dp_megaflow *mf;
        int o = b->n_once ? once_find(b, b->key[i]) : -1;

        if (o >= 0) {
            /* An earlier miss of this burst was answered, not cached. */
            b->once_of[i] = (uint8_t) o;
            b->mfs[i] = NULL;
            continue;
        }
        mf = upcall_one(pmd, b->key[i], fresh, &n_fresh, &up);
        if (mf) {
            b->mfs[i] = mf;
            exact_insert(pmd, b->key[i], b->hashes[i], b->emc_on,
                         batch_hkey(b, i),
                         batch_hkey_hash(b, i), mf);
            if (!b->md && megaflow_is_simple(mf)) {
                /* A first pass only: a recirculated one (a tunnel's
                 * decapsulated packet) has another input port. */
                pmd->simple[b->in_port] = mf;
            }
        } else if (up.actions) {
            /* Not installed: kept for stage 6. */
            o = once_keep(pmd, b, b->key[i], &up);
            if (o >= 0) {
                b->once_of[i] = (uint8_t) o;
                b->mfs[i] = NULL;
            } else {
                once_run_now(pmd, b, i, &up);
            }
        } else {
            rte_pktmbuf_free(b->pkts[i]);
            b->pkts[i] = NULL;
            dp_stat_add(&pmd->drops[DP_DROP_UPCALL_ERROR], 1);
        }
    }
    dp_slow_unlock(dp);
    dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_UPCALL);
}

/* Packets of one burst that share a megaflow.  Header layouts stay in
 * the burst's array ('idx'): only actions that rewrite headers need them
 * gathered. */
struct flow_group {
    struct dp_megaflow *mf;             /* NULL: run with b->once[once]. */
    uint8_t once;
    unsigned n;
    uint32_t bytes;
    struct rte_mbuf *pkts[DP_BATCH];
    uint8_t idx[DP_BATCH];
};

/* Stage 5: a packet whose megaflow only outputs it is counted and queued
 * for its port right here; the others are grouped by megaflow (or by
 * not-cached result), keeping arrival order within a flow.  Only the last
 * DP_GROUP_WINDOW groups are searched: packets of one flow usually arrive
 * together, and a batch of all-different flows should not cost a
 * quadratic search.  A flow whose packets end up in two groups is still
 * executed in order (groups run in creation order and a packet only joins
 * the newest group of its flow).  A burst that went to the slow path
 * groups every packet: a flow may then have packets under two megaflows
 * (one removed mid-burst) or a not-cached result, and queueing one of them
 * here would let it overtake the other.  Returns the number of groups. */
static unsigned
input_group(struct dp_pmd *pmd, struct input_batch *b,
            struct flow_group *groups)
{
    bool direct = !b->n_miss;
    unsigned n_groups = 0;

    if (b->md) {
        /* A recirculated pass: each connection direction remembers the
         * megaflow that answered it, if its actions are one output, for
         * the next packet's shortcut (dp-exec.c: recirc_shortcut()). */
        for (unsigned i = 0; i < b->n; i++) {
            const struct dp_megaflow *mf = b->mfs[i];

            if (b->pkts[i] && mf && mf->out_port != DP_NO_OUT
                && b->md[i].conn) {
                conntrack_dir_hint_set(b->md[i].conn,
                                       b->md[i].state & CS_REPLY_DIR,
                                       (uintptr_t) mf);
            }
        }
    }

    for (unsigned i = 0; i < b->n; i++) {
        struct dp_megaflow *mf = b->mfs[i];
        uint8_t once = mf ? 0 : b->once_of[i];
        struct flow_group *g = NULL;
        unsigned lo = n_groups > DP_GROUP_WINDOW ? n_groups - DP_GROUP_WINDOW
                                                 : 0;

        if (!b->pkts[i]) {
            continue;
        }
        if (direct && mf->out_port != DP_NO_OUT
            && !(b->md && b->md[i].sess)) {     /* A session trace: to
                                                 * dp_execute(). */
            /* The run of packets that starts here and goes to the same
             * port is queued in one go, and each run of one megaflow
             * within it is counted once: per packet, the counters and
             * the tx buffer's fill level would each be a chain of loads
             * and stores through memory. */
            uint32_t port = mf->out_port;
            struct dp_megaflow *cur = mf, *next;
            unsigned j = i, n_cur = 0;
            uint64_t bytes = 0;

            for (;;) {
                n_cur++;
                bytes += rte_pktmbuf_pkt_len(b->pkts[j]);
                j++;
                next = j < b->n && b->pkts[j]
                       && !(b->md && b->md[j].sess) ? b->mfs[j] : NULL;
                if (next != cur) {
                    megaflow_account(pmd, cur, n_cur, bytes);
                    n_cur = 0;
                    bytes = 0;
                    if (!next || next->out_port != port) {
                        break;
                    }
                    cur = next;
                }
            }
            dp_output_burst(pmd, port, &b->pkts[i], j - i);
            i = j - 1;
            continue;
        }
        for (unsigned k = n_groups; k-- > lo;) {
            if (groups[k].mf == mf && (mf || groups[k].once == once)) {
                g = &groups[k];
                break;
            }
        }
        if (!g) {
            g = &groups[n_groups++];
            g->mf = mf;
            g->once = once;
            g->n = 0;
            g->bytes = 0;
        }
        g->pkts[g->n] = b->pkts[i];
        g->idx[g->n++] = (uint8_t) i;
        g->bytes += rte_pktmbuf_pkt_len(b->pkts[i]);
    }
    return n_groups;
}

/* Stage 6 for the packets of a not-cached result: its actions, credited
 * to the rules at once. */
static void
input_execute_once(struct dp_pmd *pmd, struct input_batch *b,
                   struct flow_group *g)
{
    struct dp *dp = pmd->dp;
    struct input_once *o = &b->once[g->once];
    struct flow_layers ly[DP_BATCH];
    const struct flow *keys[DP_BATCH];
    struct ct_md md[DP_BATCH];

    for (unsigned j = 0; j < g->n; j++) {
        ly[j] = b->layers[g->idx[j]];
        keys[j] = batch_key(b, g->idx[j]);
        if (b->md) {
            md[j] = b->md[g->idx[j]];
        }
    }
    dp_execute(pmd, g->pkts, ly, b->md ? md : NULL, keys, g->n,
               o->actions, NULL);
    if (dp->cbs.credit) {
        dp->cbs.credit(o->refs, o->n_refs, g->n, g->bytes, pmd->now_ms,
                       dp->aux);
    }
}

/* After stage 6: lets the not-cached results go. */
static void
input_once_release(struct dp_pmd *pmd, struct input_batch *b)
{
    struct dp *dp = pmd->dp;

    for (unsigned k = 0; k < b->n_once; k++) {
        struct input_once *o = &b->once[k];

        if (dp->cbs.release) {
            dp->cbs.release(o->refs, o->n_refs, dp->aux);
        }
        if (o->heap) {
            free(o->actions);
        }
    }
}

/* Stage 6: each group's actions, then the burst's counters and the
 * exact-match gates' accounting. */
static void
input_execute(struct dp_pmd *pmd, struct input_batch *b,
              struct flow_group *groups, unsigned n_groups)
{
    for (unsigned k = 0; k < n_groups; k++) {
        struct flow_group *g = &groups[k];
        struct dp_megaflow *mf = g->mf;
        struct flow_layers ly[DP_BATCH];
        const struct flow *keys[DP_BATCH];
        struct ct_md md[DP_BATCH];
        bool with_keys;

        if (!mf) {
            input_execute_once(pmd, b, g);
            continue;
        }
        megaflow_account(pmd, mf, g->n, g->bytes);
        if (mf->needs_layers) {
            for (unsigned j = 0; j < g->n; j++) {
                ly[j] = b->layers[g->idx[j]];
            }
        }
        if (b->md) {
            for (unsigned j = 0; j < g->n; j++) {
                md[j] = b->md[g->idx[j]];
            }
        }
        /* Keys: for ct(), and on a recirculated pass (a session offload
         * trace; the input port and tunnel metadata of a next pass). */
        with_keys = mf->has_ct || b->md;
        if (with_keys) {
            for (unsigned j = 0; j < g->n; j++) {
                keys[j] = batch_key(b, g->idx[j]);
            }
        }
        dp_execute(pmd, g->pkts, mf->needs_layers ? ly : NULL,
                   b->md ? md : NULL, with_keys ? keys : NULL, g->n,
                   mf->actions, mf);
    }
    if (b->n_once) {
        input_once_release(pmd, b);
    }

    if (!b->md) {
        /* Received packets, once: a recirculated pass is counted under
         * recirculations (its cache hits count per pass). */
        dp_stat_add(&pmd->packets, b->n);
    }
    if (pmd->hkc) {
        if (!b->hkc_on) {
            dp_stat_add(&pmd->exact_skipped, b->n_hk);
        }
        exact_gate_account(&pmd->hkc_gate, b->n_hk, (uint32_t) b->hkc_hits,
                           pmd->mf_cost.cost);
    }
    if (pmd->emc) {
        if (!b->emc_on) {
            dp_stat_add(&pmd->exact_skipped, b->n - b->n_hk);
        }
        exact_gate_account(&pmd->emc_gate, b->n - b->n_hk,
                           (uint32_t) (b->emc_hits - b->hkc_hits),
                           pmd->mf_cost.cost);
    }
    if (b->emc_hits) {
        dp_stat_add(&pmd->emc_hits, b->emc_hits);
        dp_stat_add(&pmd->hkc_hits, b->hkc_hits);
    }
    if (b->mf_hits) {
        dp_stat_add(&pmd->megaflow_hits, b->mf_hits);
    }
    if (b->mark_hits) {
        dp_stat_add(&pmd->mark_hits, b->mark_hits);
    }
    dp_prof_mark(pmd, b->prof, b->t, DP_STAGE_EXEC);
}

/* Stages 1-6 for one burst, or for one batch of a recirculated pass
 * ('md' and 'recirc_ids' nonnull). */
static void
input_full(struct dp_pmd *pmd, uint32_t in_port, struct rte_mbuf **pkts,
           unsigned n, struct dp_recirc_q *rq, unsigned rq_base, bool prof,
           uint64_t *t)
{
    struct input_batch b;
    struct input_once once[DP_BATCH];   /* Only on the flow-limit path. */
    struct flow_group groups[DP_BATCH];
    unsigned n_groups;

    b.pkts = pkts;
    b.n = n;
    b.in_port = in_port;
    if (!rq) {
        pmd->pass_in_port = in_port;
    }
    b.rq = rq;
    b.rq_base = rq_base;
    b.md = rq ? &rq->md[rq_base] : NULL;
    b.recirc_ids = rq ? &rq->ids[rq_base] : NULL;
    b.key_valid = 0;
    b.hk_flows = pmd->hk_flows;
    b.hk_flows_tnl = &pmd->hk_flows_tnl;
    b.prof = prof;
    b.t = t;
    b.hkc_on = pmd->hkc && exact_gate_open(&pmd->hkc_gate);
    b.emc_on = pmd->emc && exact_gate_open(&pmd->emc_gate);
    /* A NIC mark names the megaflow of a packet's first pass: a
     * recirculated packet still carries it, and must not take it again. */
    b.marks_on = !rq && atomic_load_explicit(&pmd->dp->marks_on,
                                             memory_order_relaxed);
    b.timed = (++pmd->batch_seq & (EXACT_GATE_SAMPLE - 1)) == 0;
    b.n_hk = 0;
    b.n_miss = 0;
    b.once = once;
    b.n_once = 0;
    b.arena_used = 0;
    b.emc_hits = b.hkc_hits = b.mf_hits = b.mark_hits = 0;

    input_key(pmd, &b);
    input_exact(pmd, &b);
    input_megaflow(pmd, &b);
    input_upcall(pmd, &b);
    n_groups = input_group(pmd, &b, groups);
    input_execute(pmd, &b, groups, n_groups);
}

/* Runs the passes the burst's packets recirculated into, depth by depth
 * (dp-private.h: struct dp_recirc_q). */
static void
input_recirc(struct dp_pmd *pmd, uint32_t in_port, bool prof, uint64_t *t)
{
    while (pmd->recirc_next->n) {
        struct dp_recirc_q *q = pmd->recirc_next;

        pmd->recirc_next = q == &pmd->recirc_q[0] ? &pmd->recirc_q[1]
                                                  : &pmd->recirc_q[0];
        pmd->recirc_depth++;
        for (unsigned k = 0; k < q->n; k += DP_BATCH) {
            unsigned n = q->n - k < DP_BATCH ? q->n - k : DP_BATCH;

            input_full(pmd, in_port, &q->pkts[k], n, q, k, prof, t);
        }
        q->n = 0;
    }
    pmd->recirc_depth = 0;
    if (unlikely(pmd->tnl_ctx_last == UINT16_MAX)) {
        /* Out of tunnel context numbers, and no packet holds one. */
        tnl_ctx_reset(pmd);
    }
}

/* One received burst.  When the port's traffic is all answered by one
 * "simple" megaflow (as for "in_port=1,actions=output:2"), the burst skips
 * parsing, hashing and every lookup: like Open vSwitch's simple match, but
 * chosen per port by the megaflow's own mask.  'prof' and '*t': the stage
 * profile (dp.h), '*t' the TSC at the rx burst's end. */
static void
input_burst(struct dp_pmd *pmd, uint32_t in_port, struct rte_mbuf **pkts,
            unsigned n, bool prof, uint64_t *t)
{
    struct dp_megaflow *mf = pmd->simple[in_port];
    uint64_t bytes = 0;

    if (!mf || atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
        pmd->simple[in_port] = NULL;
        input_full(pmd, in_port, pkts, n, NULL, 0, prof, t);
        if (pmd->recirc_next->n) {
            input_recirc(pmd, in_port, prof, t);
        }
        if (pmd->n_sess_trace) {
            dp_sess_traces_end(pmd);
        }
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
    megaflow_account(pmd, mf, n, bytes);
    dp_execute(pmd, pkts, NULL, NULL, NULL, n, mf->actions, mf);
    dp_stat_add(&pmd->packets, n);
    dp_stat_add(&pmd->simple_hits, n);
    dp_prof_mark(pmd, prof, t, DP_STAGE_EXEC);
}

/* ---- The PMD loop. ---- */

/* PMD 0: the packet-outs the main thread queued (dp_packet_out()). */
static void
pmd_packet_outs(struct dp_pmd *pmd)
{
    struct dp *dp = pmd->dp;
    void *items[DP_BATCH];
    unsigned n = rte_ring_sc_dequeue_burst(dp->pktout_ring, items, DP_BATCH,
                                           NULL);

    for (unsigned i = 0; i < n; i++) {
        struct dp_pktout *po = items[i];
        struct rte_mbuf *m = po->m;
        struct flow_layers layers;
        struct flow key;

        flow_extract(rte_pktmbuf_mtod(m, const void *),
                     rte_pktmbuf_data_len(m), po->in_port, &key, &layers);
        pmd->pass_in_port = po->in_port;
        dp_execute(pmd, &m, &layers, NULL, NULL, 1, po->acts, NULL);
        if (pmd->recirc_next->n) {
            uint64_t t0 = 0;

            input_recirc(pmd, po->in_port, false, &t0);
        }
        if (pmd->n_sess_trace) {
            dp_sess_traces_end(pmd);
        }
        free(po->acts);
        free(po);
    }
}

static void
pmd_pin(struct dp_pmd *pmd)
{
    cpu_set_t set;

    if (pmd->core < 0) {
        return;
    }
    CPU_ZERO(&set);
    CPU_SET(pmd->core, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set)) {
        LOG_WARN("pmd%u: cannot pin to CPU %d", pmd->idx, pmd->core);
    }
}

/* Drops every pointer to a removed megaflow this PMD keeps beyond a batch
 * (exact-match entries, simple-match pointers), after the removal's first
 * grace period: so none outlives the megaflow's second (dp.h, "Memory
 * reclamation"). */
static void
pmd_sweep_dead(struct dp_pmd *pmd)
{
    if (pmd->emc) {
        emc_sweep(pmd->emc, dp_megaflow_dead_cb, NULL);
    }
    if (pmd->hkc) {
        hkc_sweep(pmd->hkc, dp_megaflow_dead_cb, NULL);
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        if (pmd->simple[p] && dp_megaflow_dead_cb(pmd->simple[p], NULL)) {
            pmd->simple[p] = NULL;
        }
    }
}

/* Idle PMDs (pmd.idle_sleep_us, after Open vSwitch's pmd-sleep-max): the
 * nap after an iteration whose fullest receive burst was 'got_max'
 * packets.  A burst at least half full means traffic the PMD must keep up
 * with: no nap.  Otherwise the nap grows by PMD_NAP_STEP_NS per iteration
 * up to 'max_ns', so a PMD with nothing to do ends up waking every
 * 'max_ns' and one with a trickle naps briefly between packets, while the
 * rings (hundreds to thousands of packets deep) hold what arrives
 * meanwhile. */
#define PMD_NAP_STEP_NS 1000u

static uint32_t
pmd_next_nap(uint32_t nap_ns, unsigned got_max, uint32_t max_ns)
{
    if (got_max >= DP_BATCH / 2) {
        return 0;
    }
    nap_ns += PMD_NAP_STEP_NS;
    return nap_ns < max_ns ? nap_ns : max_ns;
}

/* Naps 'ns' off the RCU (a grace period does not wait for a nap), and
 * counts it apart from busy and idle cycles. */
static void
pmd_nap(struct dp_pmd *pmd, uint32_t ns)
{
    struct timespec ts = { 0, (long) ns };
    uint64_t t0 = rte_rdtsc();

    rte_rcu_qsbr_thread_offline(pmd->dp->rcu, pmd->rcu_id);
    nanosleep(&ts, NULL);
    rte_rcu_qsbr_thread_online(pmd->dp->rcu, pmd->rcu_id);
    dp_stat_add(&pmd->sleep_cycles, rte_rdtsc() - t0);
    dp_stat_add(&pmd->sleeps, 1);
}

/* Accounts one loop iteration of 'cycles' (busy if it got packets) and
 * files it in the iteration histogram (dp.h). */
static inline void
pmd_iteration_end(struct dp_pmd *pmd, unsigned got, uint64_t cycles)
{
    unsigned k = 0;

    dp_stat_add(got ? &pmd->busy_cycles : &pmd->idle_cycles, cycles);
    while (k < DP_ITER_BUCKETS - 1 && cycles > pmd->iter_bound_cycles[k]) {
        k++;
    }
    dp_stat_add(&pmd->iter_hist[k], 1);
    if (cycles > pmd->iter_max_cycles) {
        __atomic_store_n(&pmd->iter_max_cycles, cycles, __ATOMIC_RELAXED);
    }
}

void *
dp_pmd_main(void *pmd_)
{
    struct dp_pmd *pmd = pmd_;
    struct dp *dp = pmd->dp;
    struct rte_mbuf *pkts[DP_BATCH];
    uint32_t nap_ns = 0;
    bool registered = false;
    char name[16];

    snprintf(name, sizeof name, "pmd%u", pmd->idx);
    pthread_setname_np(pthread_self(), name);
    pmd_pin(pmd);
    /* A DPDK lcore id gives this thread a mempool cache: an EAL lcore
     * has one (dp.c: pmd_lcore()), another thread registers for one. */
    if (rte_lcore_id() == LCORE_ID_ANY) {
        registered = !rte_thread_register();
        if (!registered) {
            LOG_WARN("%s: rte_thread_register failed; running without "
                     "mempool cache", name);
        } else {
            LOG_INFO("%s: CPU %d is not an EAL lcore: a registered thread "
                     "(DPDK multi-process, and dpdk-dumpcap, now off)",
                     name, pmd->core);
        }
    }
    rte_rcu_qsbr_thread_register(dp->rcu, pmd->rcu_id);
    rte_rcu_qsbr_thread_online(dp->rcu, pmd->rcu_id);
    port_set_thread_txq(pmd->idx);  /* For port_hw_tx_burst(). */
    /* Naps of microseconds, not the 50 us a default timer slack adds. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    pmd->recirc_next = &pmd->recirc_q[0];

    while (!atomic_load_explicit(&dp->exiting, memory_order_relaxed)) {
        struct dp_poll_list *poll;
        uint64_t start = rte_rdtsc(), gen;
        unsigned got = 0, got_max = 0;
        uint64_t tx_start;
        bool prof;

        rte_rcu_qsbr_quiescent(dp->rcu, pmd->rcu_id);
        gen = atomic_load_explicit(&dp->emc_gen, memory_order_acquire);
        if (gen != pmd->emc_gen) {
            pmd->emc_gen = gen;
            pmd_sweep_dead(pmd);
        }
        pmd->now_ms = dp_tsc_to_ms(start);
        pmd->mirrors = atomic_load_explicit(&dp->mirrors,
                                            memory_order_acquire);

        if (unlikely(pmd->idx == 0 && !rte_ring_empty(dp->pktout_ring))) {
            pmd_packet_outs(pmd);
        }
        prof = atomic_load_explicit(&dp->profile, memory_order_relaxed);
        poll = atomic_load_explicit(&pmd->poll, memory_order_acquire);
        for (size_t q = 0; poll && q < poll->n; q++) {
            const struct dp_rxq_ref *rq = &poll->q[q];
            uint64_t t = prof ? rte_rdtsc() : 0;
            int n = port_rx_burst(rq->port, rq->qid, pkts, DP_BATCH);

            if ((unsigned) n > got_max) {
                got_max = (unsigned) n;
            }
            if (n > 0) {
                struct capture *cap = atomic_load_explicit(
                    &dp->captures[rq->port_no], memory_order_acquire);

                if (unlikely(cap != NULL)) {
                    capture_packets(cap, pkts, (unsigned) n, false);
                }
                if (unlikely(pmd->mirrors != NULL)
                    && !mirror_rx(pmd, pmd->mirrors, rq->port_no, pkts,
                                  (unsigned) n)) {
                    got += (unsigned) n;    /* A mirror output's: dropped. */
                    continue;
                }
                dp_prof_mark(pmd, prof, &t, DP_STAGE_RX);
                input_burst(pmd, rq->port_no, pkts, (unsigned) n, prof, &t);
                got += (unsigned) n;
            }
        }
        prof = prof && got;         /* Only busy iterations are profiled. */
        tx_start = prof ? rte_rdtsc() : 0;
        dp_tx_flush(pmd);
        if (prof) {
            dp_prof_mark(pmd, prof, &tx_start, DP_STAGE_TX);
            dp_stat_add(&pmd->profiled_packets, got);
        }

        pmd_iteration_end(pmd, got, rte_rdtsc() - start);
        if (dp->cfg.idle_sleep_us) {
            nap_ns = pmd_next_nap(nap_ns, got_max,
                                  dp->cfg.idle_sleep_us * 1000u);
            if (nap_ns) {
                pmd_nap(pmd, nap_ns);
            }
        }
    }

    rte_rcu_qsbr_thread_offline(dp->rcu, pmd->rcu_id);
    rte_rcu_qsbr_thread_unregister(dp->rcu, pmd->rcu_id);
    if (registered) {
        rte_thread_unregister();
    }
    return NULL;
}
