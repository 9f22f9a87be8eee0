/* SPDX-License-Identifier: BSD-3-Clause */
/* dp-megaflow.c: a megaflow's life after the PMD creates it: the per-PMD
 * slab pool it comes from, its removal from the classifier (and from the
 * offload manager), statistics crediting, and the two-grace-period
 * reclamation that frees it (see "Memory reclamation" in dp.h). */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_rcu_qsbr.h>

#include "dp-private.h"
#include "log.h"

LOG_MODULE(dp);

/* ---- Deferred reclamation. ---- */

void
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
            LOG_ERR_RL("deferred-free queue: out of memory");
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

void
dp_defer_free(struct dp *dp, void *ptr)
{
    dp_defer(dp, free_fn, ptr);
}

void
dp_cls_defer_free(void *ptr, void *aux)
{
    dp_defer_free(aux, ptr);
}

/* Runs the deferred work whose grace periods have passed.  Main thread. */
void
dp_reclaim(struct dp *dp, bool wait)
{
    /* A removed megaflow the offload manager holds is told to it before
     * it can be freed, whoever forgot to (dp_slow_wrunlock()). */
    dp_hw_removals(dp);
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

        if (n_ready) {
            /* Session offers a PMD queued before its grace period ended
             * may name these megaflows: handled (as stale) first. */
            dp_sessions_drain(dp);
        }
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
     * memory.  One system call instead of a fault per page; failure (old
     * kernel)
     * only means the faults happen on first use. */
    (void) madvise((void *) a, DP_MF_SLAB_SIZE, MADV_POPULATE_WRITE);
    return (void *) a;
}

/* PMD: a zeroed megaflow, or NULL (ENOMEM). */
struct dp_megaflow *
dp_mf_alloc(struct dp_pmd *pmd)
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
void
dp_mf_free_local(struct dp_pmd *pmd, struct dp_megaflow *mf)
{
    /* Never installed, yet a connection's hint may name this slot from
     * a megaflow it held before (dp-exec.c: recirc_shortcut()): it must
     * read as dead until dp_mf_alloc() gives it out again. */
    atomic_store_explicit(&mf->dead, true, memory_order_relaxed);
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
void
dp_mf_pool_destroy(struct dp_pmd *pmd)
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
void
dp_mf_pool_refill(struct dp *dp)
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

/* ---- Megaflows. ---- */

void
dp_megaflow_credit(struct dp *dp, struct dp_megaflow *mf)
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

    dp_megaflow_credit(dp, mf);
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
void
dp_megaflow_remove(struct dp *dp, struct dp_megaflow *mf,
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
    if (mf->offered || mf->sess_held) {
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
void
dp_hw_removals(struct dp *dp)
{
    struct dp_megaflow *list = dp->hw_removals;

    if (!list) {
        return;
    }
    dp->hw_removals = NULL;
    /* The whole batch is started first and waited for once (dp.h:
     * "Offload hooks"): the NIC deletes back to back. */
    for (struct dp_megaflow *mf = list; mf; mf = mf->hw_next) {
        if (dp->hooks.remove) {
            dp->hooks.remove(mf, mf->hw_reason, dp->hooks_aux);
        }
    }
    if (dp->hooks.remove_wait) {
        dp->hooks.remove_wait(dp->hooks_aux);
    }
    while (list) {
        struct dp_megaflow *mf = list;

        list = mf->hw_next;
        mf->hw_next = NULL;
        mf->offered = false;
        mf->sess_held = false;
    }
}

bool
dp_megaflow_dead_cb(void *data, void *aux)
{
    (void) aux;
    return atomic_load_explicit(&((struct dp_megaflow *) data)->dead,
                                memory_order_relaxed);
}
