/* SPDX-License-Identifier: BSD-3-Clause */
/* dp-private.h: datapath internals shared by the datapath's own files. */
#ifndef SLUICE_DP_PRIVATE_H
#define SLUICE_DP_PRIVATE_H 1

/*
 * What
 *   The datapath object, the PMD thread state and the megaflow struct of
 *   dp.h's datapath, for the files that implement it:
 *     dp-input.c     the PMD loop and the input pipeline (start here)
 *     dp-exec.c      action execution and tx batching
 *     dp-megaflow.c  megaflow pool, removal, crediting, reclamation
 *     dp.c           creation, ports, revalidation, expiry, offload hooks,
 *                    statistics (the main thread's side)
 *   Nothing outside these files includes this.
 *
 * Thread-safety
 *   Fields are annotated with who writes them:
 *   [pmd]   only the owning PMD thread; others read with relaxed atomics.
 *   [main]  only the main thread.
 *   [fm]    under the PMD's flow_mutex.
 *   [const] set before publication, immutable after.
 */

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include "cls.h"
#include "conntrack.h"
#include "dp.h"
#include "emc.h"
#include "exact-gate.h"
#include "flow.h"
#include "tnl.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_rcu_qsbr;
struct emc;
struct hkc;

#define DP_BATCH 32
#define DP_MF_INLINE_ACTS 2         /* Actions stored in the megaflow. */
#define DP_MF_SPARE 4               /* Slabs prepared ahead per PMD. */

#define DP_NO_OUT UINT32_MAX         /* dp_megaflow.out_port: not simple. */
#define DP_EMC_INSERT_INV_PROB 20    /* Exact-match insertion draw. */
#define DP_GROUP_WINDOW 4            /* Groups searched per packet. */
#define DP_UPCALL_STUB 32            /* Actions an upcall builds in place. */

/* An upcall's action buffer (dp_upcall.stub). */
struct dp_upcall_stub {
    _Alignas(8) uint8_t buf[sizeof(struct dp_actions)
                            + DP_UPCALL_STUB * sizeof(struct dp_action)];
};

/* Prepares 'up' for an upcall of 'flow' building its actions in 'stub'. */
static inline void
dp_upcall_init(struct dp_upcall *up, const struct flow *flow,
               struct dp_upcall_stub *stub)
{
    memset(up, 0, sizeof *up);
    up->flow = flow;
    up->stub = (struct dp_actions *) (void *) stub->buf;
    up->stub_cap = DP_UPCALL_STUB;
}

/* Frees an upcall's actions unless they are its stub. */
static inline void
dp_upcall_free_actions(struct dp_upcall *up)
{
    if (up->actions != up->stub) {
        free(up->actions);
    }
    up->actions = NULL;
}

/* Work deferred until readers are done with an object: after one grace
 * period the entry moves to phase 1 and takes a second token; after the
 * second it is run.  (Two periods: see "Memory reclamation" in dp.h.) */
struct dp_deferred {
    void (*fn)(struct dp *, void *);
    void *ptr;
    uint64_t token;
    int phase;
};

struct dp {
    struct dp_config cfg;
    struct rte_mempool *mp;
    struct dp_callbacks cbs;
    void *aux;

    struct port *_Atomic ports[DP_MAX_PORTS];
    /* Packet captures (capture.h), NULL when none: the PMDs offer every
     * burst a port receives and sends. */
    struct capture *_Atomic captures[DP_MAX_PORTS];
    /* Port mirrors (mirror.h), NULL when none: one table for the switch,
     * replaced whole by dp_set_mirrors(). */
    struct dp_mirrors *_Atomic mirrors;
    /* Tunnel ports by what their received packets carry (tnl.h), NULL
     * when there is none: replaced whole by dp_set_tnl_map(). */
    struct tnl_map *_Atomic tnl_map;
    _Atomic uint64_t tnl_map_gen;           /* Bumped by each of those. */
    /* The GENEVE TLV map decapsulation reads options by (tnl.h), NULL
     * when empty: replaced whole by dp_set_tlv_map(). */
    struct tnl_tlv_map *_Atomic tlv_map;
    uint32_t next_port_no;                  /* [main] Round-robin alloc. */
    uint16_t port_pmd_rr;                   /* [main] Next PMD for a rxq. */
    /* [main] Which PMD polls each queue of each port. */
    struct {
        unsigned n_rxq;
        uint8_t pmd[64];
    } port_rxqs[DP_MAX_PORTS];

    struct dp_pmd *pmds[DP_MAX_PMDS];
    unsigned n_pmds;

    struct rte_rcu_qsbr *rcu;
    pthread_rwlock_t slow_lock;
    struct conntrack *ct;                   /* Shared by every PMD. */
    uint64_t ct_sweep_ms;                   /* [main] Last expiry slice. */
    _Atomic uint64_t emc_gen;               /* Bumped after removals. */
    atomic_bool exiting;
    atomic_bool learned;                    /* Revalidate soon. */
    atomic_size_t n_megaflows;

    pthread_mutex_t deferred_mutex;
    struct dp_deferred *deferred;
    size_t n_deferred, deferred_cap;

    bool polling;                           /* [main] dp_start() called. */

    /* Offload (main thread, except by_id which PMDs read). */
    struct dp_offload_hooks hooks;
    struct dp_offload_policy policy;
    void *hooks_aux;
    long long last_offer_ms;
    struct dp_megaflow *hw_removals;        /* To tell the manager. */
    struct dp_megaflow *_Atomic *by_id;     /* Mark id -> megaflow. */
    uint32_t id_cap;                        /* Entries in by_id. */
    uint32_t *free_ids;
    uint32_t n_free_ids;
    uint32_t next_id;
    atomic_bool marks_on;                   /* Any id handed out. */
    atomic_bool profile;                    /* dp.h: DP_STAGES */
    long long last_sweep_ms;                /* [main] Stats/expiry. */
    struct dp_upcall_stub reval_stub;       /* [main] Revalidation. */
    struct dp_reval_stats reval_stats;      /* [main] */
    /* [main] The walks' list of megaflows (dp.c: reval_list_pmd()), kept
     * from walk to walk: a new one of 100,000 megaflows faulted in 3 MB
     * each time, and freeing it unmapped it (a TLB flush on every CPU
     * the process runs on, the PMDs' included). */
    struct reval_item *reval_items;
    size_t reval_cap;
    long long last_rank_ms;

    /* Packet-ins (DPA_USERSPACE): PMDs enqueue struct dp_pktin, the main
     * thread drains (dp_pktin_recv()), woken through pktin_fd (an
     * eventfd written when a PMD finds the ring empty). */
    struct rte_ring *pktin_ring;
    int pktin_fd;
    /* Packet-outs: the main thread enqueues struct dp_pktout, PMD 0
     * executes them between bursts. */
    struct rte_ring *pktout_ring;
    /* Meters by id (NULL until the first one): replaced whole by the
     * main thread, freed after a grace period. */
    struct dp_meter *_Atomic *meters;

    /* Session offload (dp.h "Sessions"): PMDs queue, dp_run() drains. */
    _Atomic uint64_t sess_min_packets;      /* 0: off. */
    pthread_mutex_t sess_mutex;
    struct dp_sess_event *sess_q;           /* [sess_mutex] */
    unsigned sess_n;                        /* [sess_mutex] */
    struct dp_session_stats sess_stats;     /* [sess_mutex] */
};

/* A meter (dp.h "Meters"): per band, a generic cell rate algorithm's
 * theoretical arrival time (TSC ticks << 8, one atomic per band, no
 * lock); statistics per PMD. */
struct dp_meter_band {
    uint8_t type;               /* OFM_BAND_* */
    uint8_t prec_level;
    uint32_t rate;              /* As configured (for the order). */
    uint64_t unit_q8;           /* TSC ticks << 8 per bit or packet. */
    uint64_t tau_q8;            /* Burst tolerance, same units. */
};
struct dp_meter_pmd_stats {
    uint64_t packets, bytes;
    uint64_t band_packets[4], band_bytes[4];
} __attribute__((aligned(64)));
struct dp_meter {
    bool kbps;
    size_t n_bands;
    struct dp_meter_band bands[4];
    _Atomic uint64_t tat[4];
    struct dp_meter_pmd_stats stats[DP_MAX_PMDS];
};

/* A packet-out on its way to PMD 0. */
struct dp_pktout {
    struct rte_mbuf *m;
    uint32_t in_port;           /* Datapath port, or DP_NO_PORT. */
    struct dp_actions *acts;    /* Owned. */
};
/* PMD side: sends a packet-in of 'm' (read, not consumed), with the
 * tunnel metadata it was received with ('tnl', NULL: none known). */
void dp_pktin_send(struct dp_pmd *, struct rte_mbuf *m, uint32_t in_port,
                   const struct flow_tnl *tnl, const struct ct_md *md,
                   const struct dp_action *a);

/* A PMD's message to the main thread about a session. */
#define DP_SESS_QUEUE 8192      /* Events between two drains (dp_run(),
                                 * every few ms): about 790 bytes each. */
#define DP_SESS_BACKOFF 4096    /* Packets before a declined direction of
                                 * a connection is claimed again. */
#define DP_SESS_BUSY_BACKOFF 64 /* ... after the queue was full. */
struct dp_sess_event {
    bool teardown;              /* Else an offer. */
    bool reply;
    struct ct_tuple orig;
    uint64_t uid;
    struct dp_megaflow *mf[2];
    struct flow key[2];
};

/* A first pass whose connection direction was claimed for offload, until
 * its second pass (struct ct_md 'sess' = index + 1).  Valid for one burst
 * and its recirculations. */
#define DP_SESS_TRACES 16
struct dp_sess_trace {
    struct ct_conn *conn;
    bool reply;
    bool done;
    struct dp_megaflow *mf;
    struct flow key;
};


struct dp_megaflow {
    /* Hot: everything a cache hit reads or writes, in the first cache line
     * (pool objects are 64-byte aligned), so that a hit on a cold megaflow
     * costs one cache miss, not one per field. */
    atomic_bool dead;               /* Set once removed from the cls. */
    bool needs_layers;              /* [const] Some action reads the
                                     * packet's layout (any but outputs
                                     * and tunnel pushes). */
    bool has_ct;                    /* [const] Actions include ct(). */
    uint32_t out_port;              /* [const] The actions are exactly
                                     * output:out_port; else DP_NO_OUT. */
    struct dp_actions *actions;     /* [const] */
    uint64_t packets;               /* [pmd] */
    uint64_t bytes;                 /* [pmd] */
    long long used_ms;              /* [pmd] 0 = never hit. */
    struct dp_pmd *pmd;             /* [const] Owner. */

    /* The second line: what a walk of every megaflow reads (dp.c:
     * reval_list_cb()), the classifier's links of 'cr' included (cls.h
     * puts them first), and nothing a hit writes: a revalidation reads
     * this line and one of the key's, and takes no line from the PMD. */
    _Alignas(64) const void *scope; /* [const] dp_upcall's. */
    bool key_lookups;               /* [main] dp_upcall's; renewed when
                                     * revalidation keeps it. */
    struct cls_rule cr;             /* [fm] In the PMD's classifier.
                                     * cr.mask is its subtable's, set
                                     * under the flow mutex on insert;
                                     * read it only while the megaflow
                                     * is not dead (a removal may empty
                                     * the subtable, whose memory can go
                                     * a reclaim round before the
                                     * megaflow's). */
    /* [const] The words of the mask that are not zero (indexes into
     * struct flow as 64-bit words): dp_megaflow_matches(). */
    uint8_t n_mwords;
    uint8_t mwords[FLOW_U64S];
    struct flow key;                /* [const] Packet that created it. */
    long long created_ms;           /* [const] */
    uint64_t credited_packets;      /* [main] Already credited. */
    uint64_t credited_bytes;        /* [main] */
    /* [main] The slow path's references, credited with what it counts:
     * revalidation swaps them when a re-translation gives the same result
     * through other rules (dp.c: revalidate_keep()). */
    size_t n_refs;
    void *refs[DP_MAX_REFS];

    /* Offload (main thread only). */
    bool offered;                   /* The offload manager holds it. */
    bool sess_held;                 /* A session offload is tied to it
                                     * (dp.h "Sessions"). */
    uint32_t id;                    /* dp_megaflow_id(); 0 = none yet. */
    uint64_t hw_packets;            /* Added by dp_megaflow_hw_stats(). */
    uint64_t hw_bytes;
    uint64_t rate_packets;          /* Total at the last rate check. */
    long long rate_ms;
    struct dp_megaflow *hw_next;    /* On dp->hw_removals. */
    enum dp_removal_reason hw_reason;   /* Why, for hooks.remove. */

    /* Allocation (see "Megaflow pool" in dp-megaflow.c). */
    struct dp_megaflow *pool_next;  /* On a pool free list. */
    /* Actions with at most DP_MF_INLINE_ACTS entries live here ('actions'
     * points to it); longer lists are malloc'd. */
    _Alignas(8) uint8_t inline_acts[sizeof(struct dp_actions)
                                    + DP_MF_INLINE_ACTS
                                      * sizeof(struct dp_action)];
};

_Static_assert(offsetof(struct dp_megaflow, pmd) + sizeof(void *) <= 64,
               "a megaflow's hot fields fit in its first cache line");
_Static_assert(offsetof(struct dp_megaflow, cr) + offsetof(struct cls_rule,
                                                          flow) <= 128,
               "a megaflow's walk fields fit in its second cache line");

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

/* Recirculation (DPA_RECIRC): packets waiting for their next pass, with
 * the recirc_id of that pass and their conntrack metadata.  A PMD runs
 * every pass of a burst before its next rx burst: the passes of one depth
 * in batches of DP_BATCH, queueing the next depth's packets in the other
 * queue.  Beyond DP_MAX_RECIRC_DEPTH passes, or DP_RECIRC_MAX packets in a
 * queue, a packet is dropped and counted. */
#define DP_RECIRC_MAX (4 * DP_BATCH)
#define DP_TNL_CTX_SLOTS 256        /* dp_pmd.tnl_ctx, a power of 2. */
/* Connection expiry: every DP_CT_SWEEP_MS, up to DP_CT_SWEEP_BUDGET
 * connections examined (200,000 a second). */
#define DP_CT_SWEEP_MS 10
#define DP_CT_SWEEP_BUDGET 2000
#define DP_MAX_RECIRC_DEPTH 8

struct dp_recirc_q {
    unsigned n;
    struct rte_mbuf *pkts[DP_RECIRC_MAX];
    uint32_t ids[DP_RECIRC_MAX];
    /* The input port of the next pass (a tunnel port after DPA_TNL_POP,
     * else the port of the previous pass) and the tunnel metadata. */
    uint32_t in_ports[DP_RECIRC_MAX];
    struct flow_tnl tnl[DP_RECIRC_MAX];
    struct ct_md md[DP_RECIRC_MAX];
    /* The packet's flow key and layers from its previous pass, when no
     * action changed its headers since (has_key): the next pass need not
     * parse it again. */
    bool has_key[DP_RECIRC_MAX];
    /* A decapsulated packet's tunnel context (dp_pmd.tnl_ctx), which its
     * header key may carry; 0: none (its key is parsed in full). */
    uint16_t tnl_ctx[DP_RECIRC_MAX];
    struct flow keys[DP_RECIRC_MAX];
    struct flow_layers layers[DP_RECIRC_MAX];
};

struct dp_pmd {
    struct dp *dp;                  /* [const] */
    unsigned idx;                   /* [const] Also its tx qid. */
    int core;                       /* [const] CPU, or -1. */
    pthread_t thread;               /* A thread of its own, or 0 when */
    unsigned lcore;                 /*   it runs on this EAL worker lcore */
                                    /*   (else RTE_MAX_LCORE). */
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
    struct dp_upcall_stub upcall_stub;  /* [pmd] */
    /* [pmd] Action lists of one burst's not-cached upcall results
     * (dp-input.c: once_keep()). */
    _Alignas(8) uint8_t once_arena[8192];
    long long now_ms;               /* [pmd] Time of this iteration. */
    /* [pmd] The flows of a burst's header-key packets, by packet index
     * (dp-input.c).  Zeroed with the PMD and since then written only by
     * hkey_to_flow_sparse() and, in their tunnel metadata, batch_key()
     * (which clears it again, hk_flows_tnl), so every word the former
     * does not write is zero when it runs, as it requires.  Nothing else
     * may write them. */
    struct flow hk_flows[DP_BATCH];
    /* [pmd] Bit i: hk_flows[i].tunnel holds a decapsulated packet's
     * metadata (dp-input.c: batch_key()), to be cleared before the flow
     * serves a packet without. */
    uint32_t hk_flows_tnl;

    /* [pmd] Recirculation: the queue DPA_RECIRC appends to, the other one
     * (being run), and the depth of the pass running (0: first). */
    struct dp_recirc_q recirc_q[2];
    struct dp_recirc_q *recirc_next;
    unsigned recirc_depth;
    uint32_t pass_in_port;          /* [pmd] The input port of a first
                                     * pass (recirculated passes read
                                     * theirs from their keys). */
    uint16_t tnl_ip_id;             /* [pmd] Next outer IPv4 id. */
    /* [pmd] Tunnel contexts (dp-exec.c: tnl_ctx_find()): the tunnel
     * metadata of recently decapsulated packets, each under a number of
     * its own that their inner packets' header keys carry (hkey.h), and
     * the tunnel port the metadata selected under a map generation.  A
     * direct-mapped table by the metadata's addresses and VNI.  Numbers
     * are handed out in order, to metadata seen a second time, and never
     * twice: when they run out, the next burst's end clears the table and
     * the header-key cache (tnl_ctx_reset()). */
    struct dp_tnl_ctx {
        struct flow_tnl md;
        uint64_t gen;               /* Of port_no (0: not looked up). */
        uint32_t port_no;
        uint16_t udp_port;          /* What port_no was looked up for. */
        uint8_t type;
        bool used;                  /* false: an empty slot. */
        bool seen_again;            /* Since it took the slot. */
        uint16_t id;                /* 0: none (yet, or none left). */
    } *tnl_ctx;                     /* DP_TNL_CTX_SLOTS of them, out of
                                     * line (38 KiB, rarely touched). */
    uint16_t tnl_ctx_last;          /* [pmd] The last number handed out. */
    /* [pmd] Session offload traces of this burst (dp-exec.c). */
    struct dp_sess_trace sess_trace[DP_SESS_TRACES];
    unsigned n_sess_trace;

    /* Megaflow pool: 'mf_free' is the PMD's own free list, carved from
     * slabs (pre-faulted, chained through their first word, unmapped by
     * dp_destroy()); the main thread prepares spare slabs and returns freed
     * megaflows to 'mf_returned' (a lock-free stack the PMD takes
     * whole). */
    struct dp_megaflow *mf_free;            /* [pmd] */
    struct dp_megaflow *_Atomic mf_returned;
    void *_Atomic mf_spare[DP_MF_SPARE];    /* [main] fills, PMD takes. */
    void *mf_slabs;                         /* [pmd] */
    size_t mf_n_slabs;                      /* [pmd] */

    /* Per input port: the megaflow that answers for all its packets, if
     * any (see input_burst()).  [pmd] */
    struct dp_megaflow *simple[DP_MAX_PORTS];

    /* Transmit buffers, by datapath port number. */
    struct dp_txbuf tx[DP_MAX_PORTS];   /* [pmd] */
    /* [pmd] Ports with n > 0.  A mirror's output port may be listed a
     * second time when a flush queues copies on it after its own flush
     * (mirror.h), hence twice the ports. */
    uint16_t tx_pending[2 * DP_MAX_PORTS];
    const struct dp_mirrors *mirrors;   /* [pmd] This iteration's table. */
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
    uint64_t megaflow_not_installed;
    uint64_t megaflow_busy;         /* ... of which: flow mutex held. */
    uint64_t recirculations;        /* Packets that took another pass. */
    uint64_t recirc_shortcuts;      /* ... or were answered by their
                                     * connection's hint instead. */
    uint64_t tnl_ctx_resets;        /* tnl_ctx_reset() */
    uint64_t busy_cycles;
    uint64_t idle_cycles;
    uint64_t sleep_cycles;          /* TSC cycles napping (idle_sleep_us) */
    uint64_t sleeps;
    uint64_t drops[DP_N_DROP_REASONS];
    uint64_t stage_cycles[DP_N_STAGES];     /* dp.h: DP_STAGES */
    uint64_t profiled_packets;
    /* Iteration lengths (dp.h: dp_iter_bounds_us): TSC thresholds of the
     * buckets [const], counts and the longest. */
    uint64_t iter_bound_cycles[DP_ITER_BUCKETS - 1];
    uint64_t iter_hist[DP_ITER_BUCKETS];
    uint64_t iter_max_cycles;
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

/* What every megaflow's mask holds whatever the slow path reported: the
 * datapath port and the pass (recirc_id) always matter; padding never. */
static inline void
dp_megaflow_mask_fixup(struct flow *wc)
{
    wc->in_port = UINT32_MAX;
    wc->recirc_id = UINT32_MAX;
    wc->pad0 = wc->pad1 = wc->pad2 = 0;
}

/* True if 'md' holds nothing (a packet no ct() has seen, as a tunnel's
 * decapsulated one): its ct_* fields are all zero. */
static inline bool
dp_ct_md_blank(const struct ct_md *md)
{
    uint64_t l[2];

    memcpy(l, md->label, sizeof l);
    return !md->state && !md->zone && !md->mark && !md->has_orig
           && !(l[0] | l[1]);
}

/* The conntrack fields of a recirculated pass's key, from the packet's
 * metadata (flow.h: the ct_* fields; ICMP tuples carry type and code in
 * ct_tp_src/ct_tp_dst as Open vSwitch does). */
static inline void
dp_ct_md_to_flow(const struct ct_md *md, struct flow *f)
{
    /* Every ct_* field, from ct_state to the end of ct_ipv6_dst (the
     * OpenFlow metadata and the registers after them are zero in every
     * datapath key already).  72 bytes: a few vector stores, where the
     * 144 up to dl_dst became a "rep stos" that cost ~20 cycles a
     * packet. */
    memset(&f->ct_state, 0, offsetof(struct flow, metadata)
                            - offsetof(struct flow, ct_state));
    f->ct_state = md->state;
    f->ct_zone = htons(md->zone);
    f->ct_mark = htonl(md->mark);
    memcpy(f->ct_label, md->label, sizeof f->ct_label);
    if (!md->has_orig) {
        return;
    }
    f->ct_nw_proto = md->orig.nw_proto;
    if (md->orig.is_ipv6) {
        memcpy(f->ct_ipv6_src, md->orig.src, 16);
        memcpy(f->ct_ipv6_dst, md->orig.dst, 16);
    } else {
        memcpy(&f->ct_nw_src, md->orig.src, 4);
        memcpy(&f->ct_nw_dst, md->orig.dst, 4);
    }
    if (md->orig.nw_proto == IPPROTO_ICMP_
        || md->orig.nw_proto == IPPROTO_ICMPV6_) {
        f->ct_tp_src = htons(md->orig.icmp_type);
        f->ct_tp_dst = htons(md->orig.icmp_code);
    } else {
        f->ct_tp_src = md->orig.src_port;
        f->ct_tp_dst = md->orig.dst_port;
    }
}

/* Credits 'n' packets of 'bytes' in all to 'mf' (its PMD only). */
static inline void
dp_megaflow_account(struct dp_pmd *pmd, struct dp_megaflow *mf, unsigned n,
                    uint64_t bytes)
{
    dp_stat_add(&mf->packets, n);
    dp_stat_add(&mf->bytes, bytes);
    if (mf->used_ms != pmd->now_ms) {
        __atomic_store_n(&mf->used_ms, pmd->now_ms, __ATOMIC_RELAXED);
    }
}

/* True if the flow made of 'key' with recirc_id 'recirc_id' and the
 * conntrack fields of 'md' (what the next pass of a packet with that key
 * would look up) matches 'mf': the mask's words only, without building
 * the flow. */
static inline bool
dp_megaflow_matches_next(const struct dp_megaflow *mf, const struct flow *key,
                         uint32_t recirc_id, const struct ct_md *md)
{
    /* What the next pass sets (dp-input.c: input_key()): word 0 (in_port
     * and recirc_id) and, with dp_ct_md_to_flow(), the words from
     * ct_state to the OpenFlow metadata; the metadata and the registers
     * are zero (up to dl_dst). */
    enum {
        CT_FIRST = offsetof(struct flow, ct_state) / 8,
        CT_END = offsetof(struct flow, metadata) / 8,
        ZERO_END = FLOW_META_U64S,
    };
    _Static_assert(offsetof(struct flow, ct_state) % 8 == 0
                   && offsetof(struct flow, metadata) % 8 == 0
                   && offsetof(struct flow, recirc_id) < 8,
                   "the next pass's own words: word 0 and the ct block");
    struct flow next;           /* Word 0 and the ct block only. */
    const uint64_t *k = (const uint64_t *) (const void *) key;
    const uint64_t *n = (const uint64_t *) (const void *) &next;
    const uint64_t *m = (const uint64_t *) (const void *) mf->cr.mask;
    const uint64_t *f = (const uint64_t *) (const void *) &mf->cr.flow;
    uint64_t diff = 0;

    next.in_port = key->in_port;
    next.recirc_id = recirc_id;
    dp_ct_md_to_flow(md, &next);
    for (unsigned i = 0; i < mf->n_mwords; i++) {
        unsigned w = mf->mwords[i];
        uint64_t v = w == 0 || (w >= CT_FIRST && w < CT_END) ? n[w]
                     : w >= CT_END && w < ZERO_END ? 0 : k[w];

        diff |= (v & m[w]) ^ f[w];
    }
    return !diff;
}

/* ---- dp-exec.c ---- */

/* Executes 'actions' on the 'n' packets of one flow (the packets
 * are consumed: sent, queued, recirculated or freed); 'mf' is their
 * megaflow (NULL: an uncached result), for session offload.  'layers' is per
 * packet (NULL when the actions rewrite nothing); 'md' is each packet's
 * conntrack metadata, read and updated by DPA_CT (NULL: packets no ct()
 * has seen); 'keys' (NULL: none) each packet's flow key as this pass
 * parsed it, which ct() and the next pass use instead of parsing again
 * while no action has changed the headers.  n <= DP_BATCH. */
void dp_execute(struct dp_pmd *, struct rte_mbuf **pkts,
                struct flow_layers *layers, struct ct_md *md,
                const struct flow *const *keys, unsigned n,
                const struct dp_actions *actions, struct dp_megaflow *mf);
/* After a burst and all its recirculations: lets the session traces no
 * second pass consumed go (their directions are unclaimed). */
void dp_sess_traces_end(struct dp_pmd *);
/* Forgets every tunnel context and clears the header-key cache, whose keys
 * carry their numbers: when the numbers run out, with no packet queued
 * for a pass (dp-input.c: input_recirc()). */
void tnl_ctx_reset(struct dp_pmd *);
/* Main thread: hands the queued session offers and teardowns to the
 * offload hooks (dp.c). */
void dp_sessions_drain(struct dp *);
/* Sends port_no's tx buffer now (PMD side). */
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

/* dp_output_one() for 'n' packets to one port, in order. */
static inline void
dp_output_burst(struct dp_pmd *pmd, uint32_t port_no, struct rte_mbuf **pkts,
                unsigned n)
{
    struct dp_txbuf *b = &pmd->tx[port_no];
    unsigned bn = b->n;

    if (!bn && n) {
        pmd->tx_pending[pmd->n_tx_pending++] = (uint16_t) port_no;
    }
    for (unsigned k = 0; k < n; k++) {
        if (bn == DP_BATCH) {
            b->n = (uint16_t) bn;
            dp_tx_flush_port(pmd, port_no);
            bn = 0;             /* Still listed as pending. */
        }
        b->pkts[bn++] = pkts[k];
    }
    b->n = (uint16_t) bn;
}

/* Sends every queued tx buffer. */
void dp_tx_flush(struct dp_pmd *);

/* The port behind a datapath port number, or NULL (PMD side). */
static inline struct port *
dp_port_get_fast(const struct dp *dp, uint32_t port_no)
{
    return port_no < DP_MAX_PORTS
           ? atomic_load_explicit(&((struct dp *) dp)->ports[port_no],
                                  memory_order_acquire)
           : NULL;
}

/* ---- dp.c ---- */

/* The PMD clock: dp_time_ms() of a TSC value the caller read (the PMD
 * loop reads the TSC once per iteration and derives its clock from it).
 * Valid once dp_time_ms() has run (dp_create() calls it before starting
 * PMDs). */
extern uint64_t dp_tsc_per_ms;
extern uint64_t dp_tsc_epoch;
static inline long long
dp_tsc_to_ms(uint64_t tsc)
{
    return (long long) ((tsc - dp_tsc_epoch) / dp_tsc_per_ms) + 1;
}

/* ---- dp-input.c ---- */

/* A PMD thread's body (pthread_create() start routine; 'pmd' is its
 * struct dp_pmd). */
void *dp_pmd_main(void *pmd);

/* ---- dp-megaflow.c ---- */

/* Runs fn(dp, ptr) after two grace periods (from dp_reclaim()).  Any
 * thread. */
void dp_defer(struct dp *, void (*fn)(struct dp *, void *), void *ptr);
/* free(ptr) after two grace periods. */
void dp_defer_free(struct dp *, void *ptr);
/* cls_create()'s deferred-free callback; 'aux' is the struct dp. */
void dp_cls_defer_free(void *ptr, void *aux);
/* Main thread, without the slow-path write lock: completes pending
 * hardware removals, then runs the deferred work whose grace periods have
 * passed; with 'wait', waits until nothing is deferred. */
void dp_reclaim(struct dp *, bool wait);

/* PMD: a zeroed megaflow from the PMD's pool, or NULL (ENOMEM). */
struct dp_megaflow *dp_mf_alloc(struct dp_pmd *);
/* PMD: returns a megaflow that no reader has seen. */
void dp_mf_free_local(struct dp_pmd *, struct dp_megaflow *);
/* dp_destroy(): unmaps every slab of 'pmd' (no megaflow is in use). */
void dp_mf_pool_destroy(struct dp_pmd *);
/* Main thread: gives every PMD its DP_MF_SPARE prepared slabs. */
void dp_mf_pool_refill(struct dp *);

/* Main thread: credits the megaflow's new packets to its references. */
void dp_megaflow_credit(struct dp *, struct dp_megaflow *);
/* Removes 'mf' from its PMD's classifier, marks it dead, queues it for the
 * offload manager (if offered) and frees it after two grace periods.
 * Caller holds the PMD's flow mutex. */
void dp_megaflow_remove(struct dp *, struct dp_megaflow *,
                        enum dp_removal_reason);
/* Main thread, neither a flow mutex nor the slow-path write lock held:
 * tells the offload manager about removed megaflows it holds, as one batch,
 * and returns once their hardware rules are gone. */
void dp_hw_removals(struct dp *);
/* emc_sweep()/hkc_sweep() predicate: the cached megaflow is dead. */
bool dp_megaflow_dead_cb(void *megaflow, void *aux);

#endif /* dp-private.h */
