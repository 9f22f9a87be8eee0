/* SPDX-License-Identifier: BSD-3-Clause */
/* dp-private.h: datapath internals shared by dp.c and exec.c. */
#ifndef SLUICE_DP_PRIVATE_H
#define SLUICE_DP_PRIVATE_H 1

/*
 * What
 *   The PMD thread state and megaflow struct of dp.h's datapath, for the
 *   two files that implement it.  Nothing outside datapath/dp.c and
 *   datapath/exec.c includes this.
 *
 * Thread-safety
 *   Fields are annotated with who writes them:
 *   [pmd]   only the owning PMD thread; others read with relaxed atomics.
 *   [main]  only the main thread.
 *   [fm]    under the PMD's flow_mutex.
 *   [const] set before publication, immutable after.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <rte_cycles.h>
#include "cls.h"
#include "dp.h"
#include "emc.h"
#include "exact-gate.h"
#include "flow.h"

struct rte_mbuf;
struct emc;
struct hkc;

#define DP_BATCH 32
#define DP_MF_INLINE_ACTS 2         /* Actions stored in the megaflow. */
#define DP_MF_SPARE 4               /* Slabs prepared ahead per PMD. */

#define DP_NO_OUT UINT32_MAX         /* dp_megaflow.out_port: not simple. */

struct dp_megaflow {
    /* Hot: everything a cache hit reads or writes, in the first cache line
     * (pool objects are 64-byte aligned), so that a hit on a cold megaflow
     * costs one cache miss, not one per field. */
    atomic_bool dead;               /* Set once removed from the cls. */
    bool needs_layers;              /* [const] Actions rewrite headers. */
    uint32_t out_port;              /* [const] The actions are exactly
                                     * output:out_port; else DP_NO_OUT. */
    struct dp_actions *actions;     /* [const] */
    uint64_t packets;               /* [pmd] */
    uint64_t bytes;                 /* [pmd] */
    long long used_ms;              /* [pmd] 0 = never hit. */
    struct dp_pmd *pmd;             /* [const] Owner. */

    struct cls_rule cr;             /* [fm] In the PMD's classifier. */
    struct flow key;                /* [const] Packet that created it. */
    long long created_ms;           /* [const] */
    uint64_t credited_packets;      /* [main] Already credited. */
    uint64_t credited_bytes;        /* [main] */
    size_t n_refs;                  /* [const] */
    void *refs[DP_MAX_REFS];        /* [const] */

    /* Offload (main thread only). */
    bool offered;                   /* The offload manager holds it. */
    uint32_t id;                    /* dp_megaflow_id(); 0 = none yet. */
    uint64_t hw_packets;            /* Added by dp_megaflow_hw_stats(). */
    uint64_t hw_bytes;
    uint64_t rate_packets;          /* Total at the last rate check. */
    long long rate_ms;
    struct dp_megaflow *hw_next;    /* On dp->hw_removals. */
    enum dp_removal_reason hw_reason;   /* Why, for hooks.remove. */

    /* Allocation (see "Megaflow pool" in dp.c). */
    struct dp_megaflow *pool_next;  /* On a pool free list. */
    /* Actions with at most DP_MF_INLINE_ACTS entries live here ('actions'
     * points to it); longer lists are malloc'd. */
    _Alignas(8) uint8_t inline_acts[sizeof(struct dp_actions)
                                    + DP_MF_INLINE_ACTS
                                      * sizeof(struct dp_action)];
};

_Static_assert(offsetof(struct dp_megaflow, pmd) + sizeof(void *) <= 64,
               "a megaflow's hot fields fit in its first cache line");

struct dp_rxq_ref {
    struct port *port;
    uint32_t port_no;
    uint16_t qid;
};

/* A PMD's poll list, replaced as a whole (RCU) when ports change. */
struct dp_poll_list {
    size_t n;
    struct dp_rxq_ref q[];
};

struct dp_txbuf {
    uint16_t n;
    struct rte_mbuf *pkts[DP_BATCH];
};

struct dp_pmd {
    struct dp *dp;                  /* [const] */
    unsigned idx;                   /* [const] Also its tx qid. */
    int core;                       /* [const] CPU, or -1. */
    pthread_t thread;
    unsigned rcu_id;                /* [const] */

    pthread_mutex_t flow_mutex;     /* Serialises writers of 'cls'. */
    struct cls *cls;                /* Megaflows: [fm] writers, PMD reads. */
    struct flow *mask_scratch;      /* [pmd] max_masks entries, or NULL. */
    struct emc *emc;                /* [pmd] Exact match, struct flow. */
    struct hkc *hkc;                /* [pmd] Exact match, header key. */
    struct exact_gate emc_gate;     /* [pmd] Skips an EMC that does not
                                     * pay (exact-gate.h). */
    struct exact_gate hkc_gate;     /* [pmd] Same for the hkc. */
    uint32_t batch_seq;             /* [pmd] Batches; times 1 in
                                     * EXACT_GATE_SAMPLE for the gates. */
    struct exact_miss_cost mf_cost; /* [pmd] Megaflow-tier lookups,
                                     * from the timed batches. */
    uint64_t emc_gen;               /* [pmd] Last dp->emc_gen swept for. */
    struct dp_poll_list *_Atomic poll;  /* [main] publishes, PMD reads. */
    long long now_ms;               /* [pmd] Time of this iteration. */

    /* Megaflow pool: 'mf_free' is the PMD's own free list, carved from
     * slabs (pre-faulted, chained through their first word, unmapped by
     * dp_destroy()); the main thread prepares spare slabs and returns freed
 * megaflows to
     * 'mf_returned' (a lock-free stack the PMD takes whole). */
    struct dp_megaflow *mf_free;            /* [pmd] */
    struct dp_megaflow *_Atomic mf_returned;
    void *_Atomic mf_spare[DP_MF_SPARE];    /* [main] fills, PMD takes. */
    void *mf_slabs;                         /* [pmd] */
    size_t mf_n_slabs;                      /* [pmd] */

    /* Per input port: the megaflow that answers for all its packets, if
     * any (see pmd_process()).  [pmd] */
    struct dp_megaflow *simple[DP_MAX_PORTS];

    /* Transmit buffers, by datapath port number. */
    struct dp_txbuf tx[DP_MAX_PORTS];   /* [pmd] */
    uint16_t tx_pending[DP_MAX_PORTS];  /* [pmd] Ports with n > 0. */
    unsigned n_tx_pending;              /* [pmd] */

    /* Statistics: [pmd] writes, others read relaxed. */
    uint64_t packets;
    uint64_t emc_hits;
    uint64_t hkc_hits;              /* [pmd] Of emc_hits. */
    uint64_t exact_skipped;         /* [pmd] Not looked up: gate closed. */
    uint64_t megaflow_hits;
    uint64_t mark_hits;
    uint64_t simple_hits;
    uint64_t upcalls;
    uint64_t mask_limited;
    uint64_t upcall_failures;
    uint64_t megaflow_not_installed;
    uint64_t busy_cycles;
    uint64_t idle_cycles;
    uint64_t drops[DP_N_DROP_REASONS];
    uint64_t stage_cycles[DP_N_STAGES];     /* dp.h: DP_STAGES */
    uint64_t profiled_packets;
    atomic_size_t n_megaflows;
};

/* Single-writer counter bump: a plain load and a relaxed store. */
static inline void
dp_stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static inline uint64_t
dp_stat_read(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* The stage profile's clock (dp.h: DP_STAGES): when 'prof' is set, adds
 * the cycles since '*t' to 'stage' and moves '*t' on. */
static inline void
dp_prof_mark(struct dp_pmd *pmd, bool prof, uint64_t *t, enum dp_stage stage)
{
    if (prof) {
        uint64_t now = rte_rdtsc();

        dp_stat_add(&pmd->stage_cycles[stage], now - *t);
        *t = now;
    }
}

/* exec.c: executes 'actions' on the 'n' packets of one flow (the packets
 * are consumed: sent, queued or freed). 'layers' is per packet. */
void dp_execute(struct dp_pmd *, struct rte_mbuf **pkts,
                struct flow_layers *layers, unsigned n,
                const struct dp_actions *actions);
/* exec.c: sends port_no's tx buffer now (PMD side). */
void dp_tx_flush_port(struct dp_pmd *, uint32_t port_no);

/* Queues 'm' for output on 'port_no' (< DP_MAX_PORTS): the whole of
 * executing a lone output action, inline for the hit path. */
static inline void
dp_output_one(struct dp_pmd *pmd, uint32_t port_no, struct rte_mbuf *m)
{
    struct dp_txbuf *b = &pmd->tx[port_no];

    if (!b->n) {
        pmd->tx_pending[pmd->n_tx_pending++] = (uint16_t) port_no;
    } else if (b->n == DP_BATCH) {
        dp_tx_flush_port(pmd, port_no);
        /* Still listed as pending: flushing an empty buffer is a no-op. */
    }
    b->pkts[b->n++] = m;
}

/* exec.c: sends every queued tx buffer. */
void dp_tx_flush(struct dp_pmd *);

/* dp.c: the port behind a datapath port number, or NULL (PMD side). */
struct port *dp_port_get_fast(const struct dp *, uint32_t port_no);
struct rte_mempool *dp_mempool(const struct dp *);

#endif /* dp-private.h */
