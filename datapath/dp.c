/* SPDX-License-Identifier: BSD-3-Clause */
/* dp.c: PMD threads, per-PMD flow caches, upcalls and revalidation. */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "dp-private.h"
#include "emc.h"
#include "hkc.h"
#include "port.h"

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
    long long last_rank_ms;
};

#define DP_EMC_INSERT_INV_PROB 20
#define DP_GROUP_WINDOW 4            /* Groups searched per packet. */

static uint64_t tsc_per_ms;
static uint64_t tsc_epoch;

/* dp_time_ms() of a TSC value read by the caller (the PMD loop reads the
 * TSC once per iteration and derives its clock from it).  Valid once
 * dp_time_ms() has run (dp_create() calls it before starting PMDs). */
static inline long long
tsc_to_ms(uint64_t tsc)
{
    return (long long) ((tsc - tsc_epoch) / tsc_per_ms) + 1;
}

/* Milliseconds since the first call (about process start), plus one, so
 * that 0 can mean "never" in timestamps. */
long long
dp_time_ms(void)
{
    if (!tsc_per_ms) {
        tsc_per_ms = rte_get_tsc_hz() / 1000;
        if (!tsc_per_ms) {
            tsc_per_ms = 1;
        }
        tsc_epoch = rte_get_tsc_cycles();
    }
    return tsc_to_ms(rte_get_tsc_cycles());
}

const char *
dp_drop_reason_name(enum dp_drop_reason reason)
{
    static const char *const names[] = {
#define DP_DROP(ENUM, NAME) NAME,
        DP_DROP_REASONS
#undef DP_DROP
    };
    return (unsigned) reason < DP_N_DROP_REASONS ? names[reason] : "?";
}

const char *
dp_stage_name(enum dp_stage stage)
{
    static const char *const names[] = {
#define DP_STAGE(ENUM, NAME) NAME,
        DP_STAGES
#undef DP_STAGE
    };
    return (unsigned) stage < DP_N_STAGES ? names[stage] : "?";
}

void
dp_set_profile(struct dp *dp, bool on)
{
    atomic_store_explicit(&dp->profile, on, memory_order_relaxed);
}

bool
dp_get_profile(const struct dp *dp)
{
    return atomic_load_explicit(&((struct dp *) dp)->profile,
                                memory_order_relaxed);
}

struct port *
dp_port_get_fast(const struct dp *dp, uint32_t port_no)
{
    return port_no < DP_MAX_PORTS
           ? atomic_load_explicit(&((struct dp *) dp)->ports[port_no],
                                  memory_order_acquire)
           : NULL;
}

struct rte_mempool *
dp_mempool(const struct dp *dp)
{
    return dp->mp;
}

static void assign_rxqs(struct dp *, uint32_t port_no, unsigned n_rxq);
static void dp_offer(struct dp *, long long now_ms);

/* ---- Deferred reclamation. ---- */

static void
dp_defer(struct dp *dp, void (*fn)(struct dp *, void *), void *ptr)
{
    pthread_mutex_lock(&dp->deferred_mutex);
    if (dp->n_deferred == dp->deferred_cap) {
        size_t cap = dp->deferred_cap ? dp->deferred_cap * 2 : 256;
        struct dp_deferred *d = realloc(dp->deferred, cap * sizeof *d);

        if (!d) {
            /* Cannot queue: wait for readers here (rare; main thread or
             * PMD).  A PMD may not wait for itself, so it leaks instead,
             * which is bounded by memory pressure being rare. */
            pthread_mutex_unlock(&dp->deferred_mutex);
            fprintf(stderr, "sluiced: deferred-free queue: out of memory\n");
            return;
        }
        dp->deferred = d;
        dp->deferred_cap = cap;
    }
    dp->deferred[dp->n_deferred++] = (struct dp_deferred) {
        .fn = fn, .ptr = ptr, .token = rte_rcu_qsbr_start(dp->rcu),
    };
    pthread_mutex_unlock(&dp->deferred_mutex);
}

static void
free_fn(struct dp *dp, void *ptr)
{
    (void) dp;
    free(ptr);
}

static void
cls_defer_free(void *ptr, void *aux)
{
    dp_defer(aux, free_fn, ptr);
}

/* Runs the deferred work whose grace periods have passed.  Main thread. */
static void
dp_reclaim(struct dp *dp, bool wait)
{
    for (;;) {
        struct dp_deferred *ready = NULL;
        size_t n_ready = 0, keep = 0;

        pthread_mutex_lock(&dp->deferred_mutex);
        for (size_t i = 0; i < dp->n_deferred; i++) {
            struct dp_deferred *d = &dp->deferred[i];

            if (rte_rcu_qsbr_check(dp->rcu, d->token, false) == 1) {
                if (d->phase == 0) {
                    d->phase = 1;
                    d->token = rte_rcu_qsbr_start(dp->rcu);
                } else {
                    /* Move to the ready list (reuse tail space later). */
                    struct dp_deferred tmp = *d;
                    struct dp_deferred *r = realloc(ready, (n_ready + 1)
                                                    * sizeof *r);
                    if (r) {
                        ready = r;
                        ready[n_ready++] = tmp;
                        continue;
                    }
                }
            }
            dp->deferred[keep++] = *d;
        }
        dp->n_deferred = keep;
        pthread_mutex_unlock(&dp->deferred_mutex);

        for (size_t i = 0; i < n_ready; i++) {
            ready[i].fn(dp, ready[i].ptr);
        }
        free(ready);

        if (!wait) {
            return;
        }
        pthread_mutex_lock(&dp->deferred_mutex);
        keep = dp->n_deferred;
        pthread_mutex_unlock(&dp->deferred_mutex);
        if (!keep) {
            return;
        }
        dp_synchronize(dp);
    }
}

void
dp_synchronize(struct dp *dp)
{
    uint64_t token = rte_rcu_qsbr_start(dp->rcu);

    rte_rcu_qsbr_check(dp->rcu, token, true);
}

/* ---- Megaflow pool. ----
 *
 * Flow setup used to calloc() each megaflow (and keep the slow path's
 * 1 KiB action buffer): on a burst of new flows most of an upcall's time
 * went to first-touch page faults on fresh heap memory (0.45 faults per
 * upcall).  Each PMD now carves megaflows out of 2 MiB slabs populated in
 * one system call, which the main thread prepares ahead of need
 * (DP_MF_SPARE per PMD, refilled by dp_run()), keeps a private free
 * list, and gets freed megaflows back from the main thread through a
 * lock-free stack that it takes whole (one consumer, so no ABA).  Short
 * action lists are copied into the megaflow, so the slow path's buffer is
 * freed at once and reused by the next upcall.  Slabs are kept until
 * dp_destroy(). */

#define DP_MF_SLAB_SIZE (2u << 20)
#define DP_MF_OBJ_SIZE ((sizeof(struct dp_megaflow) + 63) & ~(size_t) 63)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* A 2 MiB-aligned, populated slab, or NULL. */
static void *
mf_slab_map(void)
{
    size_t len = 2 * DP_MF_SLAB_SIZE;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t a;

    if (p == MAP_FAILED) {
        return NULL;
    }
    a = ((uintptr_t) p + DP_MF_SLAB_SIZE - 1) & ~(uintptr_t) (DP_MF_SLAB_SIZE
                                                              - 1);
    if (a > (uintptr_t) p) {
        munmap(p, a - (uintptr_t) p);
    }
    if ((uintptr_t) p + len > a + DP_MF_SLAB_SIZE) {
        munmap((void *) (a + DP_MF_SLAB_SIZE),
               (uintptr_t) p + len - a - DP_MF_SLAB_SIZE);
    }
    /* Transparent huge pages were slower here: populating them compacts
     * memory.  One system call instead of a fault per page; failure (old kernel)
     * only means the faults happen on first use. */
    (void) madvise((void *) a, DP_MF_SLAB_SIZE, MADV_POPULATE_WRITE);
    return (void *) a;
}

/* PMD: a zeroed megaflow, or NULL (ENOMEM). */
static struct dp_megaflow *
mf_alloc(struct dp_pmd *pmd)
{
    struct dp_megaflow *mf = pmd->mf_free;

    if (!mf) {
        mf = atomic_exchange_explicit(&pmd->mf_returned, NULL,
                                      memory_order_acquire);
    }
    if (!mf) {
        uint8_t *slab = NULL;
        size_t n;

        for (unsigned i = 0; i < DP_MF_SPARE && !slab; i++) {
            slab = atomic_exchange_explicit(&pmd->mf_spare[i], NULL,
                                            memory_order_acquire);
        }
        if (!slab) {
            slab = mf_slab_map();
        }

        if (!slab) {
            return NULL;
        }
        /* The first object's room holds the slab chain. */
        *(void **) (void *) slab = pmd->mf_slabs;
        pmd->mf_slabs = slab;
        pmd->mf_n_slabs++;
        n = DP_MF_SLAB_SIZE / DP_MF_OBJ_SIZE;
        for (size_t i = n - 1; i >= 1; i--) {
            struct dp_megaflow *o = (struct dp_megaflow *) (void *)
                                    (slab + i * DP_MF_OBJ_SIZE);

            o->pool_next = mf;
            mf = o;
        }
    }
    pmd->mf_free = mf->pool_next;
    memset(mf, 0, sizeof *mf);
    return mf;
}

/* PMD: returns a megaflow that no reader has seen. */
static void
mf_free_local(struct dp_pmd *pmd, struct dp_megaflow *mf)
{
    if (mf->actions && (void *) mf->actions != mf->inline_acts) {
        free(mf->actions);
    }
    mf->pool_next = pmd->mf_free;
    pmd->mf_free = mf;
}

/* Any thread (the main thread, after the grace periods): gives 'mf' back
 * to its PMD's pool. */
static void
mf_free_remote(struct dp_megaflow *mf)
{
    struct dp_pmd *pmd = mf->pmd;
    struct dp_megaflow *head;

    if ((void *) mf->actions != mf->inline_acts) {
        free(mf->actions);
    }
    mf->actions = NULL;
    head = atomic_load_explicit(&pmd->mf_returned, memory_order_relaxed);
    do {
        mf->pool_next = head;
    } while (!atomic_compare_exchange_weak_explicit(
                 &pmd->mf_returned, &head, mf, memory_order_release,
                 memory_order_relaxed));
}

/* dp_destroy(): unmaps every slab of 'pmd' (no megaflow is in use). */
static void
mf_pool_destroy(struct dp_pmd *pmd)
{
    for (unsigned i = 0; i < DP_MF_SPARE; i++) {
        void *slab = atomic_exchange(&pmd->mf_spare[i], NULL);

        if (slab) {
            munmap(slab, DP_MF_SLAB_SIZE);
        }
    }
    while (pmd->mf_slabs) {
        void *slab = pmd->mf_slabs;

        pmd->mf_slabs = *(void **) slab;
        munmap(slab, DP_MF_SLAB_SIZE);
    }
    pmd->mf_free = NULL;
    atomic_store(&pmd->mf_returned, NULL);
}

/* Main thread: gives every PMD its DP_MF_SPARE prepared slabs. */
static void
mf_pool_refill(struct dp *dp)
{
    for (unsigned p = 0; p < dp->n_pmds; p++) {
        struct dp_pmd *pmd = dp->pmds[p];

        for (unsigned i = 0; i < DP_MF_SPARE; i++) {
            void *slab;

            if (atomic_load_explicit(&pmd->mf_spare[i],
                                     memory_order_relaxed)) {
                continue;
            }
            slab = mf_slab_map();
            if (!slab) {
                return;
            }
            atomic_store_explicit(&pmd->mf_spare[i], slab,
                                  memory_order_release);
        }
    }
}

const char *
dp_removal_reason_name(enum dp_removal_reason reason)
{
    switch (reason) {
    case DP_REMOVED_REVALIDATE:
        return "revalidate";
    case DP_REMOVED_IDLE:
        return "idle";
    case DP_REMOVED_FLUSH:
        return "flush";
    case DP_REMOVED_SHUTDOWN:
        return "shutdown";
    }
    return "?";
}

/* ---- Megaflows. ---- */

static void
megaflow_credit(struct dp *dp, struct dp_megaflow *mf)
{
    uint64_t packets = dp_stat_read(&mf->packets) + mf->hw_packets;
    uint64_t bytes = dp_stat_read(&mf->bytes) + mf->hw_bytes;
    long long used = __atomic_load_n(&mf->used_ms, __ATOMIC_RELAXED);

    if (packets != mf->credited_packets && dp->cbs.credit) {
        dp->cbs.credit(mf->refs, mf->n_refs,
                       packets - mf->credited_packets,
                       bytes - mf->credited_bytes, used, dp->aux);
    }
    mf->credited_packets = packets;
    mf->credited_bytes = bytes;
}

/* Deferred destructor: the last packets are counted by now. */
static void
megaflow_free(struct dp *dp, void *mf_)
{
    struct dp_megaflow *mf = mf_;

    megaflow_credit(dp, mf);
    if (dp->cbs.release) {
        dp->cbs.release(mf->refs, mf->n_refs, dp->aux);
    }
    if (mf->id) {
        /* No PMD can still look it up by this id: reusable now. */
        dp->free_ids[dp->n_free_ids++] = mf->id;
    }
    mf_free_remote(mf);
    atomic_fetch_sub(&dp->n_megaflows, 1);
}

/* Removes 'mf' from its PMD's classifier.  Caller holds the flow mutex. */
static void
megaflow_remove(struct dp *dp, struct dp_megaflow *mf,
                enum dp_removal_reason reason)
{
    cls_remove(mf->pmd->cls, &mf->cr);
    atomic_store(&mf->dead, true);
    atomic_fetch_sub(&mf->pmd->n_megaflows, 1);
    /* Before the grace-period token that dp_defer() takes: a PMD that
     * reports that token has seen this bump and sweeps its EMC before its
     * next batch; the free waits for a second token, reported only after
     * that sweep.  (Bumping after the token let a PMD report it, skip the
     * sweep, and keep an EMC entry pointing to freed -- or reused --
     * memory.) */
    atomic_fetch_add_explicit(&dp->emc_gen, 1, memory_order_release);
    if (mf->id) {
        atomic_store(&dp->by_id[mf->id], NULL);
    }
    if (mf->offered) {
        /* Told to the offload manager once the flow mutex is released
         * (dp_hw_removals()), before the removing call returns. */
        mf->hw_next = dp->hw_removals;
        mf->hw_reason = reason;
        dp->hw_removals = mf;
    }
    dp_defer(dp, megaflow_free, mf);
}

/* Tells the offload manager about removed megaflows it holds.  Main
 * thread, no flow mutex held. */
static void
dp_hw_removals(struct dp *dp)
{
    while (dp->hw_removals) {
        struct dp_megaflow *mf = dp->hw_removals;

        dp->hw_removals = mf->hw_next;
        mf->hw_next = NULL;
        if (dp->hooks.remove) {
            dp->hooks.remove(mf, mf->hw_reason, dp->hooks_aux);
        }
        mf->offered = false;
    }
}

static bool
emc_entry_dead(void *data, void *aux)
{
    (void) aux;
    return atomic_load_explicit(&((struct dp_megaflow *) data)->dead,
                                memory_order_relaxed);
}

/* ---- Upcalls. ---- */

/* Handles a miss for 'key' in PMD context, with the slow-path read lock
 * held (taken once per batch by pmd_process_full()).  'fresh' holds the
 * n_fresh megaflows this batch has installed so far: the batch's
 * classifier lookup missed, and only this PMD inserts into its classifier,
 * so one of them is the only thing that can match now.  A megaflow this
 * call installs is appended to 'fresh'.  Returns the megaflow to use, or
 * NULL with tmp_up->actions set to actions to run once (not installed) or
 * NULL (drop: the upcall failed).  On a non-installed result tmp_up holds
 * the refs. */
/* True if caching a megaflow with mask 'wc' would add a subtable beyond
 * max_masks.  PMD thread (the flow mutex keeps the main thread's removals
 * out while the masks are listed). */
static bool
mask_limit_reached(struct dp_pmd *pmd, const struct flow *wc)
{
    unsigned max = pmd->dp->cfg.max_masks;
    bool reached = false;
    size_t n;

    pthread_mutex_lock(&pmd->flow_mutex);
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

static struct dp_megaflow *
pmd_upcall(struct dp_pmd *pmd, const struct flow *key,
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
            && flow_equal_masked(key, &mf->cr.flow, &mf->cr.mask)) {
            return mf;
        }
    }

    memset(tmp_up, 0, sizeof *tmp_up);
    tmp_up->flow = key;
    dp_stat_add(&pmd->upcalls, 1);
    err = dp->cbs.upcall(tmp_up, dp->aux);
    if (err || !tmp_up->actions) {
        if (!err) {
            err = ENOMEM;
        }
        if (dp->cbs.release && tmp_up->n_refs) {
            dp->cbs.release(tmp_up->refs, tmp_up->n_refs, dp->aux);
        }
        free(tmp_up->actions);
        tmp_up->actions = NULL;
        tmp_up->n_refs = 0;
        dp_stat_add(&pmd->upcall_failures, 1);
        return NULL;
    }
    /* The datapath port is always part of a megaflow's key. */
    tmp_up->wc.in_port = UINT32_MAX;
    tmp_up->wc.pad0 = tmp_up->wc.pad1 = tmp_up->wc.pad2 = 0;
    if (tmp_up->learned) {
        atomic_store(&dp->learned, true);
    }

    mf = NULL;
    counted = false;
    if (pmd->mask_scratch && mask_limit_reached(pmd, &tmp_up->wc)) {
        dp_stat_add(&pmd->mask_limited, 1);
    } else {
        counted = true;
        if (atomic_fetch_add(&dp->n_megaflows, 1) < dp->cfg.flow_limit) {
            mf = mf_alloc(pmd);
        }
    }
    if (mf) {
        n_acts = tmp_up->actions->n;
        mf->key = *key;
        if (n_acts <= DP_MF_INLINE_ACTS) {
            memcpy(mf->inline_acts, tmp_up->actions, dp_actions_size(n_acts));
            mf->actions = (struct dp_actions *) (void *) mf->inline_acts;
        } else {
            mf->actions = tmp_up->actions;
        }
        for (size_t i = 0; i < n_acts; i++) {
            if (tmp_up->actions->a[i].type != DPA_OUTPUT) {
                mf->needs_layers = true;
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
        cls_rule_init(&mf->cr, key, &tmp_up->wc, 0);
        pthread_mutex_lock(&pmd->flow_mutex);
        err = cls_insert(pmd->cls, &mf->cr);
        pthread_mutex_unlock(&pmd->flow_mutex);
        if (err) {
            mf->actions = NULL;     /* Still tmp_up's. */
            mf_free_local(pmd, mf);
            mf = NULL;
        } else {
            if ((void *) mf->actions == mf->inline_acts) {
                /* The slow path's buffer is reused by the next upcall. */
                free(tmp_up->actions);
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

/* ---- The PMD input path. ---- */

/* Packets of one burst that share a megaflow.  Header layouts stay in
 * the burst's array ('idx'): only actions that rewrite headers need them
 * gathered. */
struct flow_group {
    struct dp_megaflow *mf;
    unsigned n;
    uint32_t bytes;
    struct rte_mbuf *pkts[DP_BATCH];
    uint8_t idx[DP_BATCH];
};

static void
megaflow_account(struct dp_pmd *pmd, struct dp_megaflow *mf, unsigned n,
                 uint64_t bytes)
{
    dp_stat_add(&mf->packets, n);
    dp_stat_add(&mf->bytes, bytes);
    if (mf->used_ms != pmd->now_ms) {
        __atomic_store_n(&mf->used_ms, pmd->now_ms, __ATOMIC_RELAXED);
    }
}

/* True if 'mf' answers for every packet of its input port without looking
 * at the packet: its mask holds only in_port, and its actions only output
 * (so nothing needs the parsed header layout). */
static bool
megaflow_is_simple(const struct dp_megaflow *mf)
{
    const uint64_t *m = flow_u64(&mf->cr.mask);
    struct flow only_in_port;

    memset(&only_in_port, 0, sizeof only_in_port);
    only_in_port.in_port = UINT32_MAX;
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i] != flow_u64(&only_in_port)[i]) {
            return false;
        }
    }
    for (size_t i = 0; i < mf->actions->n; i++) {
        if (mf->actions->a[i].type != DPA_OUTPUT) {
            return false;
        }
    }
    return true;
}

static void pmd_process_full(struct dp_pmd *, uint32_t in_port,
                             struct rte_mbuf **, unsigned n, bool prof,
                             uint64_t *t);

/* The input path for one received burst.  When the port's traffic is all
 * answered by one "simple" megaflow (as for "in_port=1,actions=output:2"),
 * the batch skips parsing, hashing and every lookup: like Open vSwitch's
 * simple match, but chosen per port by the megaflow's own mask.  'prof'
 * and '*t': the stage profile (dp.h), '*t' the TSC at the rx burst's end. */
static void
pmd_process(struct dp_pmd *pmd, uint32_t in_port, struct rte_mbuf **pkts,
            unsigned n, bool prof, uint64_t *t)
{
    struct dp_megaflow *mf = pmd->simple[in_port];
    uint64_t bytes = 0;

    if (!mf) {
        pmd_process_full(pmd, in_port, pkts, n, prof, t);
        return;
    }
    if (atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
        pmd->simple[in_port] = NULL;
        pmd_process_full(pmd, in_port, pkts, n, prof, t);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
    megaflow_account(pmd, mf, n, bytes);
    dp_execute(pmd, pkts, NULL, n, mf->actions);
    dp_stat_add(&pmd->packets, n);
    dp_stat_add(&pmd->simple_hits, n);
    dp_prof_mark(pmd, prof, t, DP_STAGE_EXEC);
}

/* Caches 'mf' for packet 'i' of the batch in the exact-match tier: the
 * header-key cache if the packet has the common shape, else the EMC. */
static inline void
exact_insert(struct dp_pmd *pmd, const struct flow *key, uint32_t hash,
             const struct hkey *hk, uint32_t hk_hash, struct dp_megaflow *mf)
{
    if (hk) {
        if (exact_gate_open(&pmd->hkc_gate)) {
            hkc_insert(pmd->hkc, hk, hk_hash, mf);
        }
    } else if (pmd->emc && exact_gate_open(&pmd->emc_gate)) {
        emc_insert(pmd->emc, key, hash, mf);
    }
}

static void
pmd_process_full(struct dp_pmd *pmd, uint32_t in_port,
                 struct rte_mbuf **pkts, unsigned n, bool prof, uint64_t *t)
{
    struct flow keys[DP_BATCH];
    struct flow_layers layers[DP_BATCH];
    uint32_t hashes[DP_BATCH];
    struct hkey hkeys[DP_BATCH];
    uint32_t hk_hashes[DP_BATCH];
    uint8_t hk_of[DP_BATCH];            /* hkeys index of packet i, or N */
    void *hk_found[DP_BATCH];
    void *emc_found[DP_BATCH];          /* By packet: EMC result, if any. */
    unsigned n_hk = 0;
    struct dp_megaflow *mfs[DP_BATCH];
    const struct flow *miss_keys[DP_BATCH];
    const struct cls_rule *miss_rules[DP_BATCH];
    unsigned miss_idx[DP_BATCH];
    unsigned n_miss = 0;
    struct dp_megaflow *fresh[DP_BATCH];
    unsigned n_fresh = 0;
    struct flow_group groups[DP_BATCH];
    unsigned n_groups = 0;
    uint64_t emc_hits = 0, hkc_hits = 0, mf_hits = 0, mark_hits = 0;
    struct dp *dp = pmd->dp;
    bool marks_on = atomic_load_explicit(&dp->marks_on,
                                         memory_order_relaxed);
    /* A cache whose gate is closed (exact-gate.h) is neither looked up
     * nor inserted into; its packets still take the cheaper way to a
     * flow.  One batch in EXACT_GATE_SAMPLE times both caches' lookups
     * and the megaflow tier's for the gates. */
    bool hkc_on = pmd->hkc && exact_gate_open(&pmd->hkc_gate);
    bool emc_on = pmd->emc && exact_gate_open(&pmd->emc_gate);
    bool timed = (++pmd->batch_seq & (EXACT_GATE_SAMPLE - 1)) == 0;
    uint64_t t0 = 0;

#define HK_NONE DP_BATCH
#define HK(i) (hk_of[i] != HK_NONE ? &hkeys[hk_of[i]] : NULL)
#define HK_HASH(i) (hk_of[i] != HK_NONE ? hk_hashes[hk_of[i]] : 0)

    /* Stage 1: the header key where the packet has the common shape (no
     * parse), else the full parse and flow hash. */
    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        const void *frame = rte_pktmbuf_mtod(m, void *);
        uint32_t len = rte_pktmbuf_data_len(m);

        if (i + 1 < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        }
        if (pmd->hkc && hkey_extract(frame, len, in_port, &hkeys[n_hk])) {
            if (hkc_on) {
                hk_hashes[n_hk] = hkey_hash(&hkeys[n_hk]);
                hkc_prefetch(pmd->hkc, hk_hashes[n_hk]);
            }
            hk_of[i] = (uint8_t) n_hk++;
            layers[i].l3 = 14;      /* hkey.h: the shape fixes them. */
            layers[i].l4 = 34;
            layers[i].n_vlans = 0;
            continue;
        }
        hk_of[i] = HK_NONE;
        flow_extract(frame, len, in_port, &keys[i], &layers[i]);
        hashes[i] = flow_hash(&keys[i], 0);
        if (emc_on) {
            emc_prefetch(pmd->emc, hashes[i]);
        }
    }
    dp_prof_mark(pmd, prof, t, DP_STAGE_KEY);
    if (n_hk && hkc_on) {
        if (timed) {
            t0 = rte_rdtsc();
        }
        hkc_lookup_batch(pmd->hkc, hkeys, hk_hashes, n_hk, hk_found);
        for (unsigned k = 0; k < n_hk; k++) {
            if (hk_found[k]) {
                rte_prefetch0(hk_found[k]);     /* The hot cache line. */
            }
        }
        if (timed) {
            exact_gate_cost(&pmd->hkc_gate, n_hk, rte_rdtsc() - t0);
        }
    }
    if (n_hk < n && emc_on) {
        if (timed) {
            t0 = rte_rdtsc();
        }
        for (unsigned i = 0; i < n; i++) {
            /* A packet the NIC marked needs no lookup (stage 2). */
            bool marked = marks_on
                          && pkts[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID;

            emc_found[i] = hk_of[i] == HK_NONE && !marked
                           ? emc_lookup(pmd->emc, &keys[i], hashes[i]) : NULL;
        }
        if (timed) {
            exact_gate_cost(&pmd->emc_gate, n - n_hk, rte_rdtsc() - t0);
        }
    }

    /* Stage 2: hardware mark (partial offload), exact-match tier. */
    for (unsigned i = 0; i < n; i++) {
        struct dp_megaflow *mf = NULL;

        if (marks_on && pkts[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID) {
            uint32_t id = pkts[i]->hash.fdir.hi;

            if (id && id < dp->id_cap) {
                mf = atomic_load_explicit(&dp->by_id[id],
                                          memory_order_acquire);
                if (mf && mf->pmd == pmd
                    && !atomic_load_explicit(&mf->dead,
                                             memory_order_relaxed)) {
                    mfs[i] = mf;
                    mark_hits++;
                    continue;
                }
                mf = NULL;
            }
        }
        if (hk_of[i] != HK_NONE) {
            mf = hkc_on ? hk_found[hk_of[i]] : NULL;
        } else if (emc_on) {
            mf = emc_found[i];
        }
        if (mf && !atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
            mfs[i] = mf;
            emc_hits++;
            hkc_hits += hk_of[i] != HK_NONE;
        } else {
            if (hk_of[i] != HK_NONE) {
                /* The classifier and the slow path need the flow. */
                hkey_to_flow(&hkeys[hk_of[i]], &keys[i], NULL);
            }
            mfs[i] = NULL;
            miss_idx[n_miss] = i;
            miss_keys[n_miss++] = &keys[i];
        }
    }

    dp_prof_mark(pmd, prof, t, DP_STAGE_EXACT);

    /* Stage 3: megaflow classifier, batched. */
    if (n_miss) {
        unsigned still = 0;

        if (timed) {
            t0 = rte_rdtsc();
        }
        cls_lookup_batch(pmd->cls, miss_keys, n_miss, miss_rules);
        if (timed) {
            exact_miss_cost_add(&pmd->mf_cost, n_miss, rte_rdtsc() - t0);
        }
        for (unsigned k = 0; k < n_miss; k++) {
            unsigned i = miss_idx[k];
            struct dp_megaflow *mf = NULL;

            if (miss_rules[k]) {
                mf = CLS_CONTAINER_OF(miss_rules[k], struct dp_megaflow, cr);
                if (atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
                    mf = NULL;
                }
            }
            if (mf) {
                mfs[i] = mf;
                mf_hits++;
                exact_insert(pmd, &keys[i], hashes[i], HK(i), HK_HASH(i),
                             mf);
            } else {
                miss_idx[still++] = i;
            }
        }
        n_miss = still;
    }

    dp_prof_mark(pmd, prof, t, DP_STAGE_MEGAFLOW);

    /* Stage 4: upcalls for what is left, under one read lock. */
    if (n_miss) {
        dp_slow_rdlock(dp);
    }
    for (unsigned k = 0; k < n_miss; k++) {
        unsigned i = miss_idx[k];
        struct dp_upcall up;
        struct dp_megaflow *mf = pmd_upcall(pmd, &keys[i], fresh, &n_fresh,
                                            &up);

        if (mf) {
            mfs[i] = mf;
            exact_insert(pmd, &keys[i], hashes[i], HK(i), HK_HASH(i), mf);
            if (megaflow_is_simple(mf)) {
                pmd->simple[in_port] = mf;
            }
        } else if (up.actions) {
            /* Not installed: run it for this packet alone. */
            uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);

            dp_execute(pmd, &pkts[i], &layers[i], 1, up.actions);
            if (dp->cbs.credit) {
                dp->cbs.credit(up.refs, up.n_refs, 1, len, pmd->now_ms,
                               dp->aux);
            }
            if (dp->cbs.release) {
                dp->cbs.release(up.refs, up.n_refs, dp->aux);
            }
            free(up.actions);
            pkts[i] = NULL;
        } else {
            rte_pktmbuf_free(pkts[i]);
            pkts[i] = NULL;
            dp_stat_add(&pmd->drops[DP_DROP_UPCALL_ERROR], 1);
        }
    }
    if (n_miss) {
        dp_slow_unlock(dp);
    }
    dp_prof_mark(pmd, prof, t, DP_STAGE_UPCALL);
#undef HK
#undef HK_HASH
#undef HK_NONE

    /* Stage 5: a packet whose megaflow only outputs it is counted and
     * queued for its port right here; the others are grouped by megaflow,
     * keeping arrival order within a flow.  Only the last DP_GROUP_WINDOW
     * groups are searched: packets of one flow usually arrive together,
     * and a batch of all-different flows should not cost a quadratic
     * search.  A flow whose packets end up in two groups is still executed
     * in order (groups run in creation order and a packet only joins the
     * newest group of its flow). */
    for (unsigned i = 0; i < n; i++) {
        struct dp_megaflow *mf = mfs[i];
        struct flow_group *g = NULL;
        unsigned lo = n_groups > DP_GROUP_WINDOW ? n_groups - DP_GROUP_WINDOW
                                                 : 0;

        if (!pkts[i]) {
            continue;
        }
        if (mf->out_port != DP_NO_OUT) {
            megaflow_account(pmd, mf, 1, rte_pktmbuf_pkt_len(pkts[i]));
            dp_output_one(pmd, mf->out_port, pkts[i]);
            continue;
        }
        for (unsigned k = n_groups; k-- > lo;) {
            if (groups[k].mf == mf) {
                g = &groups[k];
                break;
            }
        }
        if (!g) {
            g = &groups[n_groups++];
            g->mf = mf;
            g->n = 0;
            g->bytes = 0;
        }
        g->pkts[g->n] = pkts[i];
        g->idx[g->n++] = (uint8_t) i;
        g->bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }

    /* Stage 6: execute the groups. */
    for (unsigned k = 0; k < n_groups; k++) {
        struct flow_group *g = &groups[k];
        struct dp_megaflow *mf = g->mf;
        struct flow_layers ly[DP_BATCH];

        megaflow_account(pmd, mf, g->n, g->bytes);
        if (mf->needs_layers) {
            for (unsigned j = 0; j < g->n; j++) {
                ly[j] = layers[g->idx[j]];
            }
        }
        dp_execute(pmd, g->pkts, mf->needs_layers ? ly : NULL, g->n,
                   mf->actions);
    }

    dp_stat_add(&pmd->packets, n);
    if (pmd->hkc) {
        if (!hkc_on) {
            dp_stat_add(&pmd->exact_skipped, n_hk);
        }
        exact_gate_account(&pmd->hkc_gate, n_hk, (uint32_t) hkc_hits,
                           pmd->mf_cost.cost);
    }
    if (pmd->emc) {
        if (!emc_on) {
            dp_stat_add(&pmd->exact_skipped, n - n_hk);
        }
        exact_gate_account(&pmd->emc_gate, n - n_hk,
                           (uint32_t) (emc_hits - hkc_hits),
                           pmd->mf_cost.cost);
    }
    if (emc_hits) {
        dp_stat_add(&pmd->emc_hits, emc_hits);
        dp_stat_add(&pmd->hkc_hits, hkc_hits);
    }
    if (mf_hits) {
        dp_stat_add(&pmd->megaflow_hits, mf_hits);
    }
    if (mark_hits) {
        dp_stat_add(&pmd->mark_hits, mark_hits);
    }
    dp_prof_mark(pmd, prof, t, DP_STAGE_EXEC);
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
        fprintf(stderr, "sluiced: pmd%u: cannot pin to CPU %d\n", pmd->idx,
                pmd->core);
    }
}

static void *
pmd_main(void *pmd_)
{
    struct dp_pmd *pmd = pmd_;
    struct dp *dp = pmd->dp;
    struct rte_mbuf *pkts[DP_BATCH];
    unsigned idle_iters = 0;
    char name[16];

    snprintf(name, sizeof name, "pmd%u", pmd->idx);
    pthread_setname_np(pthread_self(), name);
    pmd_pin(pmd);
    /* A DPDK lcore id gives this thread a mempool cache. */
    if (rte_thread_register()) {
        fprintf(stderr, "sluiced: %s: rte_thread_register failed; running "
                "without mempool cache\n", name);
    }
    rte_rcu_qsbr_thread_register(dp->rcu, pmd->rcu_id);
    rte_rcu_qsbr_thread_online(dp->rcu, pmd->rcu_id);

    while (!atomic_load_explicit(&dp->exiting, memory_order_relaxed)) {
        struct dp_poll_list *poll;
        uint64_t start = rte_rdtsc(), gen;
        unsigned got = 0;
        uint64_t tx_start;
        bool prof;

        rte_rcu_qsbr_quiescent(dp->rcu, pmd->rcu_id);
        gen = atomic_load_explicit(&dp->emc_gen, memory_order_acquire);
        if (gen != pmd->emc_gen) {
            pmd->emc_gen = gen;
            if (pmd->emc) {
                emc_sweep(pmd->emc, emc_entry_dead, NULL);
            }
            if (pmd->hkc) {
                hkc_sweep(pmd->hkc, emc_entry_dead, NULL);
            }
            /* The simple-match pointers follow the same rule as the EMC:
             * dropped here, before the next batch, so they never outlive
             * the megaflow's second grace period. */
            for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
                if (pmd->simple[p] && emc_entry_dead(pmd->simple[p], NULL)) {
                    pmd->simple[p] = NULL;
                }
            }
        }
        pmd->now_ms = tsc_to_ms(start);

        prof = atomic_load_explicit(&dp->profile, memory_order_relaxed);
        poll = atomic_load_explicit(&pmd->poll, memory_order_acquire);
        for (size_t q = 0; poll && q < poll->n; q++) {
            const struct dp_rxq_ref *rq = &poll->q[q];
            uint64_t t = prof ? rte_rdtsc() : 0;
            int n = port_rx_burst(rq->port, rq->qid, pkts, DP_BATCH);

            if (n > 0) {
                dp_prof_mark(pmd, prof, &t, DP_STAGE_RX);
                pmd_process(pmd, rq->port_no, pkts, (unsigned) n, prof, &t);
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

        if (got) {
            dp_stat_add(&pmd->busy_cycles, rte_rdtsc() - start);
            idle_iters = 0;
        } else {
            dp_stat_add(&pmd->idle_cycles, rte_rdtsc() - start);
            if (dp->cfg.idle_sleep_us && ++idle_iters > 1000) {
                rte_rcu_qsbr_thread_offline(dp->rcu, pmd->rcu_id);
                usleep(dp->cfg.idle_sleep_us);
                rte_rcu_qsbr_thread_online(dp->rcu, pmd->rcu_id);
            }
        }
    }

    rte_rcu_qsbr_thread_offline(dp->rcu, pmd->rcu_id);
    rte_rcu_qsbr_thread_unregister(dp->rcu, pmd->rcu_id);
    rte_thread_unregister();
    return NULL;
}

/* ---- Creation and ports. ---- */

int
dp_create(const struct dp_config *cfg, struct rte_mempool *mp,
          const struct dp_callbacks *cbs, void *aux, struct dp **dpp,
          char *err, size_t errsize)
{
    pthread_rwlockattr_t attr;
    struct dp *dp;
    size_t sz;

    *dpp = NULL;
    (void) dp_time_ms();        /* Sets the epoch before any PMD runs. */
    if (!cfg->n_pmds || cfg->n_pmds > DP_MAX_PMDS) {
        snprintf(err, errsize, "pmd count %u out of range 1..%d",
                 cfg->n_pmds, DP_MAX_PMDS);
        return EINVAL;
    }
    if (cfg->emc_entries & (cfg->emc_entries - 1)) {
        snprintf(err, errsize, "emc_entries %u is not a power of 2",
                 cfg->emc_entries);
        return EINVAL;
    }
    if (cfg->hkc_entries & (cfg->hkc_entries - 1)) {
        snprintf(err, errsize, "hkc_entries %u is not a power of 2",
                 cfg->hkc_entries);
        return EINVAL;
    }
    dp = calloc(1, sizeof *dp);
    if (!dp) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    dp->cfg = *cfg;
    dp->mp = mp;
    dp->cbs = *cbs;
    dp->aux = aux;
    dp->next_port_no = 1;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&dp->slow_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&dp->deferred_mutex, NULL);

    sz = rte_rcu_qsbr_get_memsize(cfg->n_pmds);
    dp->rcu = rte_zmalloc("sluice_rcu", sz, RTE_CACHE_LINE_SIZE);
    if (!dp->rcu || rte_rcu_qsbr_init(dp->rcu, cfg->n_pmds)) {
        snprintf(err, errsize, "cannot set up RCU for %u PMDs",
                 cfg->n_pmds);
        rte_free(dp->rcu);
        free(dp);
        return ENOMEM;
    }

    for (unsigned i = 0; i < cfg->n_pmds; i++) {
        struct dp_pmd *pmd = rte_zmalloc("sluice_pmd", sizeof *pmd,
                                         RTE_CACHE_LINE_SIZE);
        if (!pmd) {
            snprintf(err, errsize, "out of memory for PMD %u", i);
            dp_destroy(dp);
            return ENOMEM;
        }
        dp->pmds[i] = pmd;
        dp->n_pmds = i + 1;
        pmd->dp = dp;
        pmd->idx = i;
        pmd->rcu_id = i;
        pmd->core = cfg->pmd_cores[i];
        pthread_mutex_init(&pmd->flow_mutex, NULL);
        pmd->cls = cls_create(cls_defer_free, dp);
        pmd->emc = cfg->emc_entries ? emc_create(cfg->emc_entries) : NULL;
        pmd->hkc = cfg->hkc_entries ? hkc_create(cfg->hkc_entries) : NULL;
        if (cfg->max_masks) {
            pmd->mask_scratch = calloc(cfg->max_masks,
                                       sizeof *pmd->mask_scratch);
            if (!pmd->mask_scratch) {
                snprintf(err, errsize, "out of memory for PMD %u", i);
                dp_destroy(dp);
                return ENOMEM;
            }
        }
        if (pmd->emc) {
            /* Insert one megaflow hit in DP_EMC_INSERT_INV_PROB: with more
             * flows than entries, inserting every miss would only thrash
             * (each insertion copies a key); hot flows still get in within
             * a few hundred packets. */
            emc_set_insert_inv_prob(pmd->emc, DP_EMC_INSERT_INV_PROB);
        }
        if (pmd->hkc) {
            hkc_set_insert_inv_prob(pmd->hkc, DP_EMC_INSERT_INV_PROB);
        }
        if (!pmd->cls || (cfg->emc_entries && !pmd->emc)
            || (cfg->hkc_entries && !pmd->hkc)) {
            snprintf(err, errsize, "out of memory for PMD %u caches", i);
            dp_destroy(dp);
            return ENOMEM;
        }
    }
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];
        int e = pthread_create(&pmd->thread, NULL, pmd_main, pmd);

        if (e) {
            snprintf(err, errsize, "cannot start PMD thread: %s",
                     strerror(e));
            pmd->thread = 0;
            dp_destroy(dp);
            return e;
        }
    }
    dp->last_sweep_ms = dp->last_rank_ms = dp_time_ms();
    *dpp = dp;
    return 0;
}

static void
flush_cb(struct cls_rule *cr, void *dp_)
{
    megaflow_remove(dp_, CLS_CONTAINER_OF(cr, struct dp_megaflow, cr),
                    DP_REMOVED_FLUSH);
}

static void
shutdown_cb(struct cls_rule *cr, void *dp_)
{
    megaflow_remove(dp_, CLS_CONTAINER_OF(cr, struct dp_megaflow, cr),
                    DP_REMOVED_SHUTDOWN);
}

void
dp_destroy(struct dp *dp)
{
    if (!dp) {
        return;
    }
    atomic_store(&dp->exiting, true);
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        if (dp->pmds[i] && dp->pmds[i]->thread) {
            pthread_join(dp->pmds[i]->thread, NULL);
            dp->pmds[i]->thread = 0;
        }
    }
    /* No reader is left: flush tx buffers, drop flows, reclaim. */
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        if (!pmd) {
            continue;
        }
        dp_tx_flush(pmd);
        if (pmd->cls) {
            cls_for_each(pmd->cls, shutdown_cb, dp);
        }
    }
    dp_hw_removals(dp);
    for (unsigned i = 0; i < dp->n_deferred; i++) {
        dp->deferred[i].fn(dp, dp->deferred[i].ptr);
    }
    free(dp->deferred);
    for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
        struct dp_poll_list *p;

        if (dp->ports[i]) {
            port_close(dp->ports[i]);
        }
        if (i < dp->n_pmds && dp->pmds[i]) {
            p = atomic_load(&dp->pmds[i]->poll);
            free(p);
        }
    }
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        if (pmd) {
            cls_destroy(pmd->cls);
            emc_destroy(pmd->emc);
            hkc_destroy(pmd->hkc);
            free(pmd->mask_scratch);
            mf_pool_destroy(pmd);
            pthread_mutex_destroy(&pmd->flow_mutex);
            rte_free(pmd);
        }
    }
    free(dp->by_id);
    free(dp->free_ids);
    rte_free(dp->rcu);
    pthread_rwlock_destroy(&dp->slow_lock);
    pthread_mutex_destroy(&dp->deferred_mutex);
    free(dp);
}

/* Rebuilds and publishes every PMD's poll list from dp->port_rxqs. */
static int
publish_poll_lists(struct dp *dp)
{
    struct dp_poll_list *lists[DP_MAX_PMDS] = { 0 };

    if (!dp->polling) {
        return 0;
    }

    for (unsigned p = 0; p < dp->n_pmds; p++) {
        size_t n = 0;

        for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
            if (!dp->ports[i]) {
                continue;
            }
            for (unsigned q = 0; q < dp->port_rxqs[i].n_rxq; q++) {
                n += dp->port_rxqs[i].pmd[q] == p;
            }
        }
        lists[p] = calloc(1, sizeof *lists[p] + n * sizeof lists[p]->q[0]);
        if (!lists[p]) {
            for (unsigned k = 0; k <= p; k++) {
                free(lists[k]);
            }
            return ENOMEM;
        }
        for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
            if (!dp->ports[i]) {
                continue;
            }
            for (unsigned q = 0; q < dp->port_rxqs[i].n_rxq; q++) {
                if (dp->port_rxqs[i].pmd[q] == p) {
                    lists[p]->q[lists[p]->n++] = (struct dp_rxq_ref) {
                        .port = dp->ports[i], .port_no = i,
                        .qid = (uint16_t) q,
                    };
                }
            }
        }
    }
    for (unsigned p = 0; p < dp->n_pmds; p++) {
        struct dp_poll_list *old = atomic_exchange(&dp->pmds[p]->poll,
                                                   lists[p]);
        if (old) {
            dp_defer(dp, free_fn, old);
        }
    }
    return 0;
}

int
dp_port_add(struct dp *dp, struct port *port, uint32_t *port_no)
{
    unsigned n_rxq = port_n_rxq(port);
    uint32_t no = 0;
    int err;

    for (unsigned k = 0; k < DP_MAX_PORTS; k++) {
        uint32_t cand = (dp->next_port_no + k) % DP_MAX_PORTS;

        if (cand && !dp->ports[cand]) {
            no = cand;
            break;
        }
    }
    if (!no) {
        return ENOSPC;
    }
    dp->next_port_no = no + 1;
    assign_rxqs(dp, no, n_rxq);
    atomic_store_explicit(&dp->ports[no], port, memory_order_release);
    err = publish_poll_lists(dp);
    if (err) {
        atomic_store(&dp->ports[no], NULL);
        dp->port_rxqs[no].n_rxq = 0;
        return err;
    }
    *port_no = no;
    return 0;
}

int
dp_port_del(struct dp *dp, uint32_t port_no)
{
    struct port *port;

    if (port_no >= DP_MAX_PORTS || !dp->ports[port_no]) {
        return ENOENT;
    }
    port = dp->ports[port_no];
    atomic_store(&dp->ports[port_no], NULL);
    dp->port_rxqs[port_no].n_rxq = 0;
    publish_poll_lists(dp);
    /* After this no PMD polls it or holds packets queued for it. */
    dp_synchronize(dp);
    port_close(port);
    return 0;
}

static void
assign_rxqs(struct dp *dp, uint32_t no, unsigned n_rxq)
{
    if (n_rxq > 64) {
        n_rxq = 64;
    }
    dp->port_rxqs[no].n_rxq = n_rxq;
    for (unsigned q = 0; q < n_rxq; q++) {
        dp->port_rxqs[no].pmd[q] = (uint8_t) (dp->port_pmd_rr++
                                              % dp->n_pmds);
    }
}

int
dp_port_reconfigure(struct dp *dp, uint32_t port_no, char *err,
                    size_t errsize)
{
    struct port *port;
    int ret;

    if (port_no >= DP_MAX_PORTS || !dp->ports[port_no]) {
        snprintf(err, errsize, "no datapath port %u", port_no);
        return ENOENT;
    }
    port = dp->ports[port_no];
    /* Quiesce: nobody polls it or transmits on it (packets output to it
     * meanwhile are counted as tx_port_gone). */
    atomic_store(&dp->ports[port_no], NULL);
    dp->port_rxqs[port_no].n_rxq = 0;
    publish_poll_lists(dp);
    dp_synchronize(dp);

    ret = port_reconfigure(port, err, errsize);

    assign_rxqs(dp, port_no, port_n_rxq(port));
    atomic_store_explicit(&dp->ports[port_no], port, memory_order_release);
    publish_poll_lists(dp);
    return ret;
}

int
dp_start(struct dp *dp)
{
    mf_pool_refill(dp);
    dp->polling = true;
    return publish_poll_lists(dp);
}

struct port *
dp_port_get(const struct dp *dp, uint32_t port_no)
{
    return dp_port_get_fast(dp, port_no);
}

unsigned
dp_n_pmds(const struct dp *dp)
{
    return dp->n_pmds;
}

unsigned
dp_pmd_n_txq(const struct dp *dp)
{
    return dp->n_pmds;
}

/* ---- Slow-path lock, revalidation, periodic work. ---- */

void
dp_slow_rdlock(struct dp *dp)
{
    pthread_rwlock_rdlock(&dp->slow_lock);
}

void
dp_slow_wrlock(struct dp *dp)
{
    pthread_rwlock_wrlock(&dp->slow_lock);
}

void
dp_slow_unlock(struct dp *dp)
{
    pthread_rwlock_unlock(&dp->slow_lock);
}

struct reval_ctx {
    struct dp *dp;
    size_t removed;
};

static void
revalidate_cb(struct cls_rule *cr, void *ctx_)
{
    struct reval_ctx *ctx = ctx_;
    struct dp *dp = ctx->dp;
    struct dp_megaflow *mf = CLS_CONTAINER_OF(cr, struct dp_megaflow, cr);
    struct dp_upcall up;
    bool keep = false;

    memset(&up, 0, sizeof up);
    up.flow = &mf->key;
    up.revalidating = true;
    if (!dp->cbs.upcall(&up, dp->aux) && up.actions) {
        up.wc.in_port = UINT32_MAX;
        up.wc.pad0 = up.wc.pad1 = up.wc.pad2 = 0;
        keep = dp_actions_equal(up.actions, mf->actions)
               && !memcmp(&up.wc, &mf->cr.mask, sizeof up.wc);
    }
    if (dp->cbs.release && up.n_refs) {
        dp->cbs.release(up.refs, up.n_refs, dp->aux);
    }
    free(up.actions);
    if (!keep) {
        megaflow_remove(dp, mf, DP_REMOVED_REVALIDATE);
        ctx->removed++;
    }
}

size_t
dp_revalidate(struct dp *dp)
{
    struct reval_ctx ctx = { .dp = dp };

    atomic_store(&dp->learned, false);
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        pthread_mutex_lock(&pmd->flow_mutex);
        cls_for_each(pmd->cls, revalidate_cb, &ctx);
        pthread_mutex_unlock(&pmd->flow_mutex);
    }
    dp_hw_removals(dp);
    return ctx.removed;
}

size_t
dp_flush(struct dp *dp)
{
    size_t n = 0;

    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        pthread_mutex_lock(&pmd->flow_mutex);
        n += cls_count(pmd->cls);
        cls_for_each(pmd->cls, flush_cb, dp);
        pthread_mutex_unlock(&pmd->flow_mutex);
    }
    dp_hw_removals(dp);
    return n;
}

struct sweep_ctx {
    struct dp *dp;
    long long now;
    size_t expired;
};

static void
sweep_cb(struct cls_rule *cr, void *ctx_)
{
    struct sweep_ctx *ctx = ctx_;
    struct dp_megaflow *mf = CLS_CONTAINER_OF(cr, struct dp_megaflow, cr);
    long long used = __atomic_load_n(&mf->used_ms, __ATOMIC_RELAXED);

    megaflow_credit(ctx->dp, mf);
    if (!used) {
        used = mf->created_ms;
    }
    if (ctx->now - used >= (long long) ctx->dp->cfg.megaflow_idle_ms) {
        megaflow_remove(ctx->dp, mf, DP_REMOVED_IDLE);
        ctx->expired++;
    }
}

static void
credit_cb(struct cls_rule *cr, void *dp)
{
    megaflow_credit(dp, CLS_CONTAINER_OF(cr, struct dp_megaflow, cr));
}

void
dp_pull_stats(struct dp *dp)
{
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        pthread_mutex_lock(&pmd->flow_mutex);
        cls_for_each(pmd->cls, credit_cb, dp);
        pthread_mutex_unlock(&pmd->flow_mutex);
    }
    /* Removed megaflows whose grace periods are over. */
    dp_reclaim(dp, false);
}

struct offer_ctx {
    struct dp *dp;
    long long now;
};

static void
offer_cb(struct cls_rule *cr, void *ctx_)
{
    struct offer_ctx *ctx = ctx_;
    struct dp *dp = ctx->dp;
    struct dp_megaflow *mf = CLS_CONTAINER_OF(cr, struct dp_megaflow, cr);
    uint64_t packets = dp_stat_read(&mf->packets);
    long long dt = ctx->now - mf->rate_ms;
    bool hot = packets >= dp->policy.min_packets;

    if (mf->offered) {
        return;
    }
    if (!hot && dp->policy.min_pps && mf->rate_ms && dt > 0) {
        hot = (packets - mf->rate_packets) * 1000 / (uint64_t) dt
              >= dp->policy.min_pps;
    }
    mf->rate_packets = packets;
    mf->rate_ms = ctx->now;
    if (hot) {
        struct dp_megaflow_info info = {
            .pmd = mf->pmd->idx,
            .flow = mf->cr.flow,
            .mask = mf->cr.mask,
            .actions = mf->actions,
            .packets = packets,
            .bytes = dp_stat_read(&mf->bytes),
            .used_ms = __atomic_load_n(&mf->used_ms, __ATOMIC_RELAXED),
            .handle = mf,
        };
        mf->offered = dp->hooks.offer(mf, &info, dp->hooks_aux);
    }
}

static void
dp_offer(struct dp *dp, long long now_ms)
{
    struct offer_ctx ctx = { dp, now_ms };

    dp->last_offer_ms = now_ms;
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        pthread_mutex_lock(&pmd->flow_mutex);
        cls_for_each(pmd->cls, offer_cb, &ctx);
        pthread_mutex_unlock(&pmd->flow_mutex);
    }
}

void
dp_set_offload(struct dp *dp, const struct dp_offload_hooks *hooks,
               const struct dp_offload_policy *policy, void *aux)
{
    memset(&dp->hooks, 0, sizeof dp->hooks);
    if (hooks) {
        dp->hooks = *hooks;
    }
    dp->hooks_aux = aux;
    dp->policy = policy ? *policy : (struct dp_offload_policy) { 0 };
    if (!dp->policy.check_ms) {
        dp->policy.check_ms = 100;
    }
}

void
dp_megaflow_hw_stats(struct dp *dp, struct dp_megaflow *mf,
                     uint64_t packets, uint64_t bytes, long long used_ms)
{
    (void) dp;
    mf->hw_packets += packets;
    mf->hw_bytes += bytes;
    if (packets && used_ms > __atomic_load_n(&mf->used_ms,
                                             __ATOMIC_RELAXED)) {
        /* The owner PMD may store a newer time concurrently; either value
         * is a recent use. */
        __atomic_store_n(&mf->used_ms, used_ms, __ATOMIC_RELAXED);
    }
}

uint32_t
dp_megaflow_id(struct dp *dp, struct dp_megaflow *mf)
{
    uint32_t id;

    if (mf->id) {
        return mf->id;
    }
    if (!dp->by_id) {
        uint32_t cap = dp->cfg.flow_limit + 1;

        dp->by_id = calloc(cap, sizeof *dp->by_id);
        dp->free_ids = calloc(cap, sizeof *dp->free_ids);
        if (!dp->by_id || !dp->free_ids) {
            free(dp->by_id);
            free(dp->free_ids);
            dp->by_id = NULL;
            dp->free_ids = NULL;
            return 0;
        }
        dp->next_id = 1;
        dp->id_cap = cap;
    }
    if (dp->n_free_ids) {
        id = dp->free_ids[--dp->n_free_ids];
    } else if (dp->next_id < dp->id_cap) {
        id = dp->next_id++;
    } else {
        return 0;
    }
    mf->id = id;
    atomic_store_explicit(&dp->by_id[id], mf, memory_order_release);
    atomic_store(&dp->marks_on, true);
    return id;
}

void
dp_megaflow_offload_reset(struct dp *dp, struct dp_megaflow *mf)
{
    (void) dp;
    mf->offered = false;
    /* The next rate check starts a fresh window. */
    mf->rate_packets = dp_stat_read(&mf->packets);
    mf->rate_ms = 0;
}

uint32_t
dp_megaflow_in_port(const struct dp_megaflow *mf)
{
    return mf->key.in_port;
}

unsigned
dp_run(struct dp *dp, long long now_ms)
{
    if (atomic_load(&dp->learned)) {
        dp_slow_wrlock(dp);
        dp_revalidate(dp);
        dp_slow_unlock(dp);
    }
    if (now_ms - dp->last_sweep_ms >= 1000) {
        struct sweep_ctx ctx = { .dp = dp, .now = now_ms };

        dp->last_sweep_ms = now_ms;
        for (unsigned i = 0; i < dp->n_pmds; i++) {
            struct dp_pmd *pmd = dp->pmds[i];

            pthread_mutex_lock(&pmd->flow_mutex);
            cls_for_each(pmd->cls, sweep_cb, &ctx);
            cls_rank(pmd->cls);
            pthread_mutex_unlock(&pmd->flow_mutex);
        }
        dp_hw_removals(dp);
    }
    if (dp->hooks.offer
        && now_ms - dp->last_offer_ms >= (long long) dp->policy.check_ms) {
        dp_offer(dp, now_ms);
    }
    dp_reclaim(dp, false);
    mf_pool_refill(dp);
    return 10;
}

void
dp_get_pmd_stats(struct dp *dp, unsigned idx, struct dp_pmd_stats *s)
{
    struct dp_pmd *pmd;

    memset(s, 0, sizeof *s);
    if (idx >= dp->n_pmds) {
        return;
    }
    pmd = dp->pmds[idx];
    s->pmd = idx;
    s->core = pmd->core;
    s->packets = dp_stat_read(&pmd->packets);
    s->emc_hits = dp_stat_read(&pmd->emc_hits);
    s->hkc_hits = dp_stat_read(&pmd->hkc_hits);
    s->exact_skipped = dp_stat_read(&pmd->exact_skipped);
    s->megaflow_hits = dp_stat_read(&pmd->megaflow_hits);
    s->mark_hits = dp_stat_read(&pmd->mark_hits);
    s->simple_hits = dp_stat_read(&pmd->simple_hits);
    s->n_subtables = cls_n_subtables(pmd->cls);
    s->upcalls = dp_stat_read(&pmd->upcalls);
    s->upcall_failures = dp_stat_read(&pmd->upcall_failures);
    s->megaflow_not_installed = dp_stat_read(&pmd->megaflow_not_installed);
    s->mask_limited = dp_stat_read(&pmd->mask_limited);
    s->busy_cycles = dp_stat_read(&pmd->busy_cycles);
    s->idle_cycles = dp_stat_read(&pmd->idle_cycles);
    s->n_megaflows = atomic_load(&pmd->n_megaflows);
    for (unsigned r = 0; r < DP_N_DROP_REASONS; r++) {
        s->drops[r] = dp_stat_read(&pmd->drops[r]);
    }
    for (unsigned st = 0; st < DP_N_STAGES; st++) {
        s->stage_cycles[st] = dp_stat_read(&pmd->stage_cycles[st]);
    }
    s->profiled_packets = dp_stat_read(&pmd->profiled_packets);
}

struct dump_ctx {
    void (*cb)(const struct dp_megaflow_info *, void *);
    void *aux;
};

static void
dump_cb(struct cls_rule *cr, void *ctx_)
{
    struct dump_ctx *ctx = ctx_;
    struct dp_megaflow *mf = CLS_CONTAINER_OF(cr, struct dp_megaflow, cr);
    struct dp_megaflow_info info = {
        .pmd = mf->pmd->idx,
        .flow = mf->cr.flow,
        .mask = mf->cr.mask,
        .actions = mf->actions,
        .packets = dp_stat_read(&mf->packets),
        .bytes = dp_stat_read(&mf->bytes),
        .hw_packets = mf->hw_packets,
        .hw_bytes = mf->hw_bytes,
        .offloaded = mf->offered,
        .handle = mf,
        .used_ms = __atomic_load_n(&mf->used_ms, __ATOMIC_RELAXED),
        .refs = mf->refs,
        .n_refs = mf->n_refs,
    };
    ctx->cb(&info, ctx->aux);
}

void
dp_megaflow_dump(struct dp *dp,
                 void (*cb)(const struct dp_megaflow_info *, void *),
                 void *aux)
{
    struct dump_ctx ctx = { cb, aux };

    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        pthread_mutex_lock(&pmd->flow_mutex);
        cls_for_each(pmd->cls, dump_cb, &ctx);
        pthread_mutex_unlock(&pmd->flow_mutex);
    }
}

size_t
dp_megaflow_count(const struct dp *dp)
{
    return atomic_load(&((struct dp *) dp)->n_megaflows);
}
