/* SPDX-License-Identifier: BSD-3-Clause */
/* dp.c: the datapath object on the main thread's side: creation and
 * teardown, ports and their receive queues, the slow-path lock,
 * revalidation, idle expiry, offload hooks and statistics.  The packet path
 * itself is dp-input.c (read that first). */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dp-private.h"
#include "ofp-parse.h"
#include "emc.h"
#include "hkc.h"
#include "mirror.h"
#include "port.h"
#include "port-tunnel.h"

uint64_t dp_tsc_per_ms;
uint64_t dp_tsc_epoch;

/* Milliseconds since the first call (about process start), plus one, so
 * that 0 can mean "never" in timestamps. */
long long
dp_time_ms(void)
{
    if (!dp_tsc_per_ms) {
        dp_tsc_per_ms = rte_get_tsc_hz() / 1000;
        if (!dp_tsc_per_ms) {
            dp_tsc_per_ms = 1;
        }
        dp_tsc_epoch = rte_get_tsc_cycles();
    }
    return dp_tsc_to_ms(rte_get_tsc_cycles());
}

/* The tracker's removed connections go back to its pool after a grace
 * period (conntrack.h). */

const uint32_t dp_iter_bounds_us[DP_ITER_BUCKETS] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000, UINT32_MAX,
};

static void
dp_ct_release(struct dp *dp, void *conn)
{
    conntrack_release(dp->ct, conn);
}

static void
dp_ct_defer(void *conn, void *dp_)
{
    dp_defer(dp_, dp_ct_release, conn);
}

struct conntrack *
dp_conntrack(const struct dp *dp)
{
    return dp->ct;
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

static void assign_rxqs(struct dp *, uint32_t port_no, unsigned n_rxq);
static void dp_offer(struct dp *, long long now_ms);
static void dp_ct_offload_gone(const struct ct_tuple *, uint64_t uid,
                               void *dp_);

void
dp_port_set_capture(struct dp *dp, uint32_t port_no, struct capture *c)
{
    if (port_no < DP_MAX_PORTS) {
        atomic_store_explicit(&dp->captures[port_no], c,
                              memory_order_release);
    }
}

void
dp_synchronize(struct dp *dp)
{
    uint64_t token = rte_rcu_qsbr_start(dp->rcu);

    rte_rcu_qsbr_check(dp->rcu, token, true);
}

const char *
dp_removal_reason_name(enum dp_removal_reason reason)
{
    switch (reason) {
    case DP_REMOVED_REVALIDATE:
        return "revalidate";
    case DP_REMOVED_IDLE:
        return "idle";
    case DP_REMOVED_SHUTDOWN:
        return "shutdown";
    }
    return "?";
}

/* ---- Creation and ports. ---- */

/* The EAL worker lcore that runs on CPU 'core' alone, or RTE_MAX_LCORE.
 * A PMD runs there when the EAL was given its core (-l): as an EAL
 * thread it has a mempool cache without rte_thread_register(), which
 * would turn DPDK's multi-process support off for good, and with it
 * dpdk-dumpcap (rte_pdump). */
static unsigned
pmd_lcore(int core)
{
    unsigned l;

    if (core < 0) {
        return RTE_MAX_LCORE;
    }
    RTE_LCORE_FOREACH_WORKER(l) {
        rte_cpuset_t set = rte_lcore_cpuset(l);

        if (CPU_COUNT(&set) == 1 && CPU_ISSET(core, &set)
            && rte_eal_get_lcore_state(l) == WAIT) {
            return l;
        }
    }
    return RTE_MAX_LCORE;
}

static int
dp_pmd_lcore_main(void *pmd)
{
    dp_pmd_main(pmd);
    return 0;
}

static int pktio_create(struct dp *);
static void pktio_destroy(struct dp *);

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
    if (mirror_init()) {
        snprintf(err, errsize, "cannot register the mirror mbuf flags");
        return ENOSPC;
    }
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
    pthread_mutex_init(&dp->sess_mutex, NULL);

    dp->ct = conntrack_create(dp_ct_defer, dp);
    if (dp->ct) {
        conntrack_set_offload_cb(dp->ct, dp_ct_offload_gone, dp);
    }
    dp->sess_q = calloc(DP_SESS_QUEUE, sizeof *dp->sess_q);
    if (!dp->ct || !dp->sess_q) {
        snprintf(err, errsize, "out of memory for the connection tracker");
        conntrack_destroy(dp->ct);
        free(dp->sess_q);
        pthread_rwlock_destroy(&dp->slow_lock);
        pthread_mutex_destroy(&dp->deferred_mutex);
        pthread_mutex_destroy(&dp->sess_mutex);
        free(dp);
        return ENOMEM;
    }

    sz = rte_rcu_qsbr_get_memsize(cfg->n_pmds);
    dp->rcu = rte_zmalloc("sluice_rcu", sz, RTE_CACHE_LINE_SIZE);
    if (!dp->rcu || rte_rcu_qsbr_init(dp->rcu, cfg->n_pmds)) {
        snprintf(err, errsize, "cannot set up RCU for %u PMDs",
                 cfg->n_pmds);
        rte_free(dp->rcu);
        conntrack_destroy(dp->ct);
        free(dp->sess_q);
        pthread_rwlock_destroy(&dp->slow_lock);
        pthread_mutex_destroy(&dp->deferred_mutex);
        pthread_mutex_destroy(&dp->sess_mutex);
        free(dp);
        return ENOMEM;
    }

    dp->pktin_fd = -1;
    if (pktio_create(dp)) {
        snprintf(err, errsize, "cannot create the packet-in/out queues");
        dp_destroy(dp);
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
        pmd->lcore = RTE_MAX_LCORE;
        pthread_mutex_init(&pmd->flow_mutex, NULL);
        for (unsigned k = 0; k + 1 < DP_ITER_BUCKETS; k++) {
            pmd->iter_bound_cycles[k] = rte_get_tsc_hz() / 1000000
                                        * dp_iter_bounds_us[k];
        }
        pmd->cls = cls_create(dp_cls_defer_free, dp);
        pmd->emc = cfg->emc_entries ? emc_create(cfg->emc_entries) : NULL;
        pmd->hkc = cfg->hkc_entries ? hkc_create(cfg->hkc_entries) : NULL;
        pmd->tnl_ctx = calloc(DP_TNL_CTX_SLOTS, sizeof *pmd->tnl_ctx);
        if (!pmd->tnl_ctx) {
            snprintf(err, errsize, "out of memory for PMD %u", i);
            dp_destroy(dp);
            return ENOMEM;
        }
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
        unsigned lcore = pmd_lcore(pmd->core);
        int e;

        if (lcore < RTE_MAX_LCORE
            && !rte_eal_remote_launch(dp_pmd_lcore_main, pmd, lcore)) {
            pmd->lcore = lcore;
            continue;
        }
        e = pthread_create(&pmd->thread, NULL, dp_pmd_main, pmd);
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

/* ---- Packet-ins and packet-outs. ---- */

static int
pktio_create(struct dp *dp)
{
    static atomic_uint seq;
    unsigned id = atomic_fetch_add(&seq, 1);
    char name[RTE_RING_NAMESIZE];

    snprintf(name, sizeof name, "slpi%u", id);
    dp->pktin_ring = rte_ring_create(name, DP_PKTIN_QUEUE, SOCKET_ID_ANY,
                                     RING_F_SC_DEQ);
    snprintf(name, sizeof name, "slpo%u", id);
    dp->pktout_ring = rte_ring_create(name, DP_PKTOUT_QUEUE, SOCKET_ID_ANY,
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
    dp->pktin_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* Untouched pages until meters are set. */
    dp->meters = calloc(DP_MAX_METERS, sizeof *dp->meters);
    return dp->pktin_ring && dp->pktout_ring && dp->pktin_fd >= 0
           && dp->meters ? 0 : -1;
}

/* After the PMDs stopped: what is left in the queues goes. */
static void
pktio_destroy(struct dp *dp)
{
    void *p;

    if (dp->pktin_ring) {
        while (!rte_ring_dequeue(dp->pktin_ring, &p)) {
            free(p);
        }
        rte_ring_free(dp->pktin_ring);
    }
    if (dp->pktout_ring) {
        while (!rte_ring_dequeue(dp->pktout_ring, &p)) {
            struct dp_pktout *po = p;

            rte_pktmbuf_free(po->m);
            free(po->acts);
            free(po);
        }
        rte_ring_free(dp->pktout_ring);
    }
    if (dp->pktin_fd >= 0) {
        close(dp->pktin_fd);
    }
}

void
dp_pktin_send(struct dp_pmd *pmd, struct rte_mbuf *m, uint32_t in_port,
              const struct flow_tnl *tnl, const struct ct_md *md,
              const struct dp_action *a)
{
    struct dp *dp = pmd->dp;
    uint32_t total = rte_pktmbuf_pkt_len(m);
    /* The switch buffers no packet, so the whole packet goes (OpenFlow
     * 1.3's max_len limits only buffered packets; Open vSwitch, which
     * does not buffer either, does the same), up to what a message can
     * carry. */
    uint32_t len = total < DP_PKTIN_MAX_LEN ? total : DP_PKTIN_MAX_LEN;
    struct dp_pktin *pi;
    bool was_empty;

    (void) a->userspace.max_len;
    pi = malloc(sizeof *pi + len);
    if (!pi) {
        dp_stat_add(&pmd->drops[DP_DROP_PKTIN_FULL], 1);
        return;
    }
    pi->in_port = in_port;
    pi->total_len = total > UINT16_MAX ? UINT16_MAX : (uint16_t) total;
    pi->len = (uint16_t) len;
    pi->reason = a->userspace.reason;
    pi->table_id = a->userspace.table_id;
    pi->cookie = a->userspace.cookie;
    memset(&pi->meta, 0, sizeof pi->meta);
    if (md) {
        dp_ct_md_to_flow(md, &pi->meta);
        if (md->has_orig) {
            /* The prerequisite of the tuple's addresses in the match. */
            pi->meta.dl_type = htons(md->orig.is_ipv6 ? ETH_TYPE_IPV6
                                                      : ETH_TYPE_IP);
        }
    }
    pi->meta.metadata = a->userspace.metadata;
    memcpy(pi->meta.regs, a->userspace.regs, sizeof pi->meta.regs);
    pi->meta.in_port = a->userspace.in_port;
    if (tnl) {
        pi->meta.tunnel = *tnl;
    }
    if (len) {
        const void *d = rte_pktmbuf_read(m, 0, len, pi->data);

        if (d != pi->data) {
            memcpy(pi->data, d, len);
        }
    }
    was_empty = rte_ring_empty(dp->pktin_ring);
    if (rte_ring_mp_enqueue(dp->pktin_ring, pi)) {
        free(pi);
        dp_stat_add(&pmd->drops[DP_DROP_PKTIN_FULL], 1);
        return;
    }
    if (was_empty) {
        uint64_t one = 1;

        /* Wakes the main thread; a full counter (never: it reads) or an
         * interrupted write only delays the drain to the next wake. */
        if (write(dp->pktin_fd, &one, sizeof one) < 0) {
            /* Nothing to do. */
        }
    }
}

int
dp_pktin_fd(const struct dp *dp)
{
    return dp->pktin_fd;
}

size_t
dp_pktin_recv(struct dp *dp, struct dp_pktin **out, size_t max)
{
    return rte_ring_sc_dequeue_burst(dp->pktin_ring, (void **) out,
                                     (unsigned) max, NULL);
}

int
dp_packet_out(struct dp *dp, const void *frame, size_t len,
              uint32_t in_port, struct dp_actions *acts)
{
    struct dp_pktout *po;
    struct rte_mbuf *m;

    if (len > UINT16_MAX) {
        return EMSGSIZE;
    }
    m = rte_pktmbuf_alloc(dp->mp);
    if (!m) {
        return ENOMEM;
    }
    if (!rte_pktmbuf_append(m, (uint16_t) len)) {
        rte_pktmbuf_free(m);
        return EMSGSIZE;
    }
    memcpy(rte_pktmbuf_mtod(m, void *), frame, len);
    po = malloc(sizeof *po);
    if (!po) {
        rte_pktmbuf_free(m);
        return ENOMEM;
    }
    po->m = m;
    po->in_port = in_port;
    po->acts = acts;
    if (rte_ring_sp_enqueue(dp->pktout_ring, po)) {
        rte_pktmbuf_free(m);
        free(po);
        return ENOBUFS;
    }
    return 0;
}

/* ---- Meters. ---- */

static struct dp_meter *
meter_swap(struct dp *dp, uint32_t id, struct dp_meter *m)
{
    return atomic_exchange_explicit(&dp->meters[id], m,
                                    memory_order_acq_rel);
}

int
dp_meter_set(struct dp *dp, const struct of_meter_spec *spec)
{
    uint64_t hz = dp_tsc_per_ms * 1000;
    struct dp_meter *m, *old;

    if (!spec->meter_id || spec->meter_id >= DP_MAX_METERS
        || spec->n_bands > 4) {
        return EINVAL;
    }
    m = rte_zmalloc("sluice_meter", sizeof *m, RTE_CACHE_LINE_SIZE);
    if (!m) {
        return ENOMEM;
    }
    m->kbps = !(spec->flags & OFM_F_PKTPS);
    m->n_bands = spec->n_bands;
    for (size_t i = 0; i < spec->n_bands; i++) {
        const struct of_meter_band *b = &spec->bands[i];
        /* Units per second: bits for kbps, packets for pktps. */
        uint64_t rate = (uint64_t) b->rate * (m->kbps ? 1000 : 1);
        uint64_t burst = (spec->flags & OFM_F_BURST) && b->burst_size
                         ? (uint64_t) b->burst_size * (m->kbps ? 1000 : 1)
                         : rate;

        m->bands[i].type = (uint8_t) b->type;
        m->bands[i].prec_level = b->prec_level;
        m->bands[i].rate = b->rate;
        m->bands[i].unit_q8 = (hz << 8) / (rate ? rate : 1);
        if (!m->bands[i].unit_q8) {
            m->bands[i].unit_q8 = 1;
        }
        m->bands[i].tau_q8 = burst * m->bands[i].unit_q8;
        atomic_init(&m->tat[i], 0);
    }
    old = meter_swap(dp, spec->meter_id, m);
    if (old) {
        dp_synchronize(dp);
        rte_free(old);
    }
    return 0;
}

void
dp_meter_del(struct dp *dp, uint32_t id)
{
    uint32_t lo = id == OFM_ALL ? 1 : id;
    uint32_t hi = id == OFM_ALL ? DP_MAX_METERS - 1 : id;
    struct dp_meter *one = NULL, **gone = &one;
    size_t n = 0;

    if (lo > hi || hi >= DP_MAX_METERS) {
        return;
    }
    if (lo != hi && !(gone = calloc(hi - lo + 1, sizeof *gone))) {
        return;                 /* Nothing removed: nothing to free. */
    }
    for (uint32_t i = lo; i <= hi; i++) {
        struct dp_meter *old = meter_swap(dp, i, NULL);

        if (old) {
            gone[n++] = old;
        }
    }
    if (n) {
        dp_synchronize(dp);     /* No PMD sees them any more. */
    }
    while (n) {
        rte_free(gone[--n]);
    }
    if (gone != &one) {
        free(gone);
    }
}

bool
dp_meter_stats(const struct dp *dp, uint32_t id, struct dp_meter_stats *st)
{
    const struct dp_meter *m;

    memset(st, 0, sizeof *st);
    if (!dp->meters || !id || id >= DP_MAX_METERS
        || !(m = atomic_load(&dp->meters[id]))) {
        return false;
    }
    st->n_bands = m->n_bands;
    for (unsigned p = 0; p < dp->n_pmds; p++) {
        const struct dp_meter_pmd_stats *s = &m->stats[p];

        st->packets += s->packets;
        st->bytes += s->bytes;
        for (size_t b = 0; b < m->n_bands; b++) {
            st->band_packets[b] += s->band_packets[b];
            st->band_bytes[b] += s->band_bytes[b];
        }
    }
    return true;
}

static void
shutdown_cb(struct cls_rule *cr, void *dp_)
{
    dp_megaflow_remove(dp_, CLS_CONTAINER_OF(cr, struct dp_megaflow, cr),
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
        if (dp->pmds[i] && dp->pmds[i]->lcore < RTE_MAX_LCORE) {
            rte_eal_wait_lcore(dp->pmds[i]->lcore);
            dp->pmds[i]->lcore = RTE_MAX_LCORE;
        }
    }
    /* No reader is left: flush tx buffers, drop flows, reclaim. */
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];

        if (!pmd) {
            continue;
        }
        pmd->mirrors = NULL;        /* No copies on the way out. */
        dp_tx_flush(pmd);
        if (pmd->cls) {
            cls_for_each(pmd->cls, shutdown_cb, dp);
        }
    }
    dp_hw_removals(dp);
    pktio_destroy(dp);
    for (uint32_t i = 0; dp->meters && i < DP_MAX_METERS; i++) {
        rte_free(atomic_load(&dp->meters[i]));
    }
    free(dp->meters);
    free(dp->reval_items);
    dp_mirrors_free(atomic_load(&dp->mirrors));
    tnl_map_destroy(atomic_load(&dp->tnl_map));
    free(atomic_load(&dp->tlv_map));
    if (dp->ct) {
        /* Every connection is closed (and reported) before the memory
         * the tracker deferred is released below. */
        conntrack_flush(dp->ct, NULL, NULL, (uint64_t) dp_time_ms());
    }
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
            free(pmd->tnl_ctx);
            dp_mf_pool_destroy(pmd);
            pthread_mutex_destroy(&pmd->flow_mutex);
            rte_free(pmd);
        }
    }
    free(dp->by_id);
    free(dp->free_ids);
    conntrack_destroy(dp->ct);
    free(dp->sess_q);
    rte_free(dp->rcu);
    pthread_rwlock_destroy(&dp->slow_lock);
    pthread_mutex_destroy(&dp->deferred_mutex);
    pthread_mutex_destroy(&dp->sess_mutex);
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
            dp_defer_free(dp, old);
        }
    }
    return 0;
}

int
dp_port_add(struct dp *dp, struct port *port, uint32_t *port_no)
{
    unsigned n_rxq = port_polled_rxqs(port);
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

void
dp_set_tnl_map(struct dp *dp, struct tnl_map *map)
{
    struct tnl_map *old;

    /* The map, then its generation: a PMD reads them in the other order
     * (exec_tnl_pop()), so one that sees the new generation also sees the
     * new map, and what it remembers under an old one it looks up
     * again. */
    old = atomic_exchange_explicit(&dp->tnl_map, map, memory_order_acq_rel);
    atomic_fetch_add_explicit(&dp->tnl_map_gen, 1, memory_order_acq_rel);

    if (old) {
        dp_synchronize(dp);
        tnl_map_destroy(old);
    }
}

uint32_t
dp_tnl_port_lookup(struct dp *dp, enum tnl_type type, uint16_t udp_port,
                   const struct flow_tnl *md)
{
    const struct tnl_map *map = atomic_load(&dp->tnl_map);

    return map ? tnl_map_lookup(map, type, udp_port, md) : UINT32_MAX;
}

uint64_t
dp_tnl_map_generation(struct dp *dp)
{
    return atomic_load(&dp->tnl_map_gen);
}

int
dp_set_tlv_map(struct dp *dp, const struct tnl_tlv_map *map)
{
    struct tnl_tlv_map *copy = NULL, *old;

    if (map && map->n) {
        copy = malloc(sizeof *copy);
        if (!copy) {
            return ENOMEM;
        }
        *copy = *map;
    }
    old = atomic_exchange_explicit(&dp->tlv_map, copy, memory_order_acq_rel);
    if (old) {
        dp_synchronize(dp);
        free(old);
    }
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

    assign_rxqs(dp, port_no, port_polled_rxqs(port));
    atomic_store_explicit(&dp->ports[port_no], port, memory_order_release);
    publish_poll_lists(dp);
    return ret;
}

int
dp_start(struct dp *dp)
{
    dp_mf_pool_refill(dp);
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

void
dp_slow_wrunlock(struct dp *dp)
{
    pthread_rwlock_unlock(&dp->slow_lock);
    dp_hw_removals(dp);
}

struct reval_ctx {
    struct dp *dp;
    size_t removed;
};

/* True if a port mirror concerns 'mf' (mirror.h): it stays in software.
 * Main thread. */
static bool
mf_mirrored(struct dp *dp, const struct dp_megaflow *mf)
{
    return dp_mirrors_involve(atomic_load_explicit(&dp->mirrors,
                                                   memory_order_acquire),
                              mf->key.in_port, mf->actions);
}

/* True if 'mf' still gives what the tables give now (same actions, same
 * wildcards).  Main thread, slow-path read lock held. */
static bool
revalidate_keep(struct dp *dp, struct dp_megaflow *mf)
{
    struct dp_upcall up;
    bool keep = false;

    if (atomic_load_explicit(&mf->dead, memory_order_relaxed)) {
        return true;                    /* Already removed. */
    }
    dp_upcall_init(&up, &mf->key, &dp->reval_stub);
    up.revalidating = true;
    if (!dp->cbs.upcall(&up, dp->aux) && up.actions) {
        dp_megaflow_mask_fixup(&up.wc);
        keep = !up.no_cache && dp_actions_equal(up.actions, mf->actions)
               && !memcmp(&up.wc, mf->cr.mask, sizeof up.wc)
               && up.scope == mf->scope;
        if (keep && mf->key_lookups != up.key_lookups) {
            /* Written only when it changes: a line every walk reads. */
            mf->key_lookups = up.key_lookups;
        }
        if (keep && (up.n_refs != mf->n_refs
                     || memcmp(up.refs, mf->refs,
                               up.n_refs * sizeof up.refs[0]))) {
            /* The same result through other rules or counters (a flow
             * replaced by an identical one, a group's new buckets): what
             * the megaflow counted so far goes to the old ones, what it
             * counts from now on to the new.  Only this thread reads the
             * references. */
            dp_megaflow_credit(dp, mf);
            if (dp->cbs.release) {
                dp->cbs.release(mf->refs, mf->n_refs, dp->aux);
            }
            memcpy(mf->refs, up.refs, up.n_refs * sizeof up.refs[0]);
            mf->n_refs = up.n_refs;
            up.n_refs = 0;              /* Taken. */
        }
    }
    if (dp->cbs.release && up.n_refs) {
        dp->cbs.release(up.refs, up.n_refs, dp->aux);
    }
    dp_upcall_free_actions(&up);
    if (keep && (mf->offered || mf->sess_held) && mf_mirrored(dp, mf)) {
        /* A mirror now wants its packets: out of the NIC (the next
         * packet makes it again, in software). */
        keep = false;
    }
    return keep;
}

/* cls_for_each() callback: revalidates and removes in one go, under the
 * flow mutex (dp_revalidate() when it has no memory for its list). */
static void
revalidate_cb(struct cls_rule *cr, void *ctx_)
{
    struct reval_ctx *ctx = ctx_;
    struct dp_megaflow *mf = CLS_CONTAINER_OF(cr, struct dp_megaflow, cr);

    if (!revalidate_keep(ctx->dp, mf)) {
        dp_megaflow_remove(ctx->dp, mf, DP_REMOVED_REVALIDATE);
        ctx->removed++;
    }
}

/* A PMD's megaflows as revalidation lists them, each with its subtable's
 * mask (cls_rule_shared_mask(): one copy per mask, so testing a megaflow
 * against a change reads no line of the megaflow's own mask).  The mask
 * stays good through the walk even if its subtable empties: the
 * classifier defer-frees it, and only dp_reclaim() (this thread, not
 * during a walk) frees deferred memory. */
struct reval_item {
    struct dp_megaflow *mf;
    const struct flow *mask;
    const void *scope;              /* The megaflow's, read while listing */
    bool key_lookups;               /* (the same line as its 'cr'). */
};

struct reval_list {
    struct reval_item *items;
    size_t n, cap;
    bool oom;
};

static void
reval_list_cb(struct cls_rule *cr, void *list_)
{
    struct dp_megaflow *mf = CLS_CONTAINER_OF(cr, struct dp_megaflow, cr);
    struct reval_list *l = list_;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct reval_item *m = realloc(l->items, cap * sizeof *m);

        if (!m) {
            l->oom = true;
            return;
        }
        l->items = m;
        l->cap = cap;
    }
    l->items[l->n++] = (struct reval_item) {
        .mf = mf,
        .mask = cls_rule_shared_mask(cr),
        .scope = mf->scope,
        .key_lookups = mf->key_lookups,
    };
}

/* How far ahead of the megaflow it tests a revalidation asks for the
 * next one's lines: a test is a few nanoseconds, a miss (a TLB miss too,
 * megaflows being spread over 4 KiB pages) hundreds. */
#define DP_REVAL_AHEAD 32

/* Megaflows are removed this many at a time under the flow mutex. */
#define DP_REVAL_BATCH 256

/* Removes the 'n' megaflows of 'pmd' in 'stale' under its flow mutex;
 * returns 'n'. */
static size_t
reval_remove(struct dp *dp, struct dp_pmd *pmd, struct dp_megaflow **stale,
             size_t n)
{
    if (n) {
        pthread_mutex_lock(&pmd->flow_mutex);
        for (size_t j = 0; j < n; j++) {
            dp_megaflow_remove(dp, stale[j], DP_REMOVED_REVALIDATE);
        }
        pthread_mutex_unlock(&pmd->flow_mutex);
    }
    return n;
}

/* A change's regions as lists of their nonzero mask words: testing a
 * megaflow then reads those few words of its key and mask, not all of
 * them (a revalidation may test every megaflow). */
struct change_words {
    uint8_t n[DP_CHANGE_MAX];
    uint8_t idx[DP_CHANGE_MAX][FLOW_U64S];
};

static void
change_words_init(const struct dp_change *chg, struct change_words *cw)
{
    for (size_t r = 0; r < chg->n; r++) {
        const uint64_t *rm = flow_u64(&chg->masks[r]);

        cw->n[r] = 0;
        for (size_t w = 0; w < FLOW_U64S; w++) {
            if (rm[w]) {
                cw->idx[r][cw->n[r]++] = (uint8_t) w;
            }
        }
    }
}

/* True if the change 'chg' cannot change what 'mf' answers (see
 * dp_revalidate_change()). */
static bool
change_spares(const struct dp_change *chg, const struct change_words *cw,
              const struct reval_item *it)
{
    const uint64_t *k = flow_u64(&it->mf->cr.flow), *m = flow_u64(it->mask);

    if (!it->key_lookups) {
        return false;
    }
    if (it->scope != chg->scope) {
        return true;
    }
    for (size_t r = 0; r < chg->n; r++) {
        const uint64_t *v = flow_u64(&chg->vals[r]);
        const uint64_t *rm = flow_u64(&chg->masks[r]);
        bool disjoint = false;

        for (size_t j = 0; j < cw->n[r] && !disjoint; j++) {
            size_t w = cw->idx[r][j];

            disjoint = ((k[w] ^ v[w]) & m[w] & rm[w]) != 0;
        }
        if (!disjoint) {
            return false;
        }
    }
    return true;
}

/* Lists the megaflows of 'pmd' in 'l', under its flow mutex: short work,
 * so that what is done with each (translations, credits) runs without
 * it.  Only this thread removes megaflows, and their memory stays
 * megaflows until dp_reclaim() (also this thread), so the pointers stay
 * good.  The list's memory is the datapath's, reused by every walk (the
 * caller frees nothing; the list is good until the next call).  Returns
 * false without the memory for it. */
static bool
reval_list_pmd(struct dp *dp, struct dp_pmd *pmd, struct reval_list *l)
{
    *l = (struct reval_list) { .items = dp->reval_items,
                               .cap = dp->reval_cap };
    pthread_mutex_lock(&pmd->flow_mutex);
    cls_for_each(pmd->cls, reval_list_cb, l);
    pthread_mutex_unlock(&pmd->flow_mutex);
    dp->reval_items = l->items;         /* Grown, or as it was. */
    dp->reval_cap = l->cap;
    return !l->oom;
}

/* Memory-bound: asks for the line change_spares() reads of the megaflow
 * DP_REVAL_AHEAD after the k-th of 'l' (its classifier key's word that
 * the first region tests; the masks are shared and stay cached, the
 * rest is in the list). */
static inline void
reval_prefetch(const struct reval_list *l, size_t k,
               const struct dp_change *chg, const struct change_words *cw)
{
    if (k + DP_REVAL_AHEAD < l->n) {
        const struct reval_item *a = &l->items[k + DP_REVAL_AHEAD];

        for (size_t j = 0; a->key_lookups && chg->n && j < cw->n[0]; j++) {
            __builtin_prefetch(&flow_u64(&a->mf->cr.flow)[cw->idx[0][j]]);
        }
    }
}

static uint64_t
dp_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Counts one revalidation: each megaflow it went through was either
 * translated again or spared. */
static void
reval_account(struct dp *dp, size_t translated, size_t spared,
              size_t removed, uint64_t ns)
{
    struct dp_reval_stats *rs = &dp->reval_stats;

    rs->walks++;
    rs->walked += translated + spared;
    rs->translated += translated;
    rs->spared += spared;
    rs->removed += removed;
    rs->walk_ns += ns;
    rs->walk_ns_last = ns;
    if (ns > rs->walk_ns_max) {
        rs->walk_ns_max = ns;
    }
}

void
dp_get_reval_stats(const struct dp *dp, struct dp_reval_stats *rs)
{
    *rs = dp->reval_stats;
}

size_t
dp_revalidate(struct dp *dp)
{
    return dp_revalidate_change(dp, NULL, NULL);
}

size_t
dp_revalidate_change(struct dp *dp, const struct dp_change *chg,
                     size_t *skipped)
{
    struct reval_ctx ctx = { .dp = dp };
    struct change_words *cw = NULL;
    size_t n_spared = 0, n_translated = 0;
    uint64_t t0 = dp_now_ns();

    if (chg && (chg->n > DP_CHANGE_MAX || !(cw = malloc(sizeof *cw)))) {
        chg = NULL;
    }
    if (chg) {
        change_words_init(chg, cw);
    }

    atomic_store(&dp->learned, false);
    dp_slow_rdlock(dp);
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];
        struct reval_list l;
        struct dp_megaflow *stale[DP_REVAL_BATCH];
        size_t n_stale = 0;

        if (!reval_list_pmd(dp, pmd, &l)) {
            /* No list: the slow way, the PMD's inserts waiting. */
            pthread_mutex_lock(&pmd->flow_mutex);
            n_translated += cls_count(pmd->cls);
            cls_for_each(pmd->cls, revalidate_cb, &ctx);
            pthread_mutex_unlock(&pmd->flow_mutex);
            continue;
        }
        for (size_t k = 0; k < l.n; k++) {
            struct dp_megaflow *mf = l.items[k].mf;

            if (chg) {
                reval_prefetch(&l, k, chg, cw);
            }
            if (chg && change_spares(chg, cw, &l.items[k])) {
                n_spared++;
                continue;
            }
            n_translated++;
            if (!revalidate_keep(dp, mf)) {
                stale[n_stale++] = mf;
                if (n_stale == DP_REVAL_BATCH) {
                    ctx.removed += reval_remove(dp, pmd, stale, n_stale);
                    n_stale = 0;
                }
            }
        }
        ctx.removed += reval_remove(dp, pmd, stale, n_stale);
    }
    dp_slow_unlock(dp);
    dp_hw_removals(dp);
    free(cw);
    if (skipped) {
        *skipped = n_spared;
    }
    reval_account(dp, n_translated, n_spared, ctx.removed,
                  dp_now_ns() - t0);
    return ctx.removed;
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

    dp_megaflow_credit(ctx->dp, mf);
    if (!used) {
        used = mf->created_ms;
    }
    if (ctx->now - used >= (long long) ctx->dp->cfg.megaflow_idle_ms) {
        dp_megaflow_remove(ctx->dp, mf, DP_REMOVED_IDLE);
        ctx->expired++;
    }
}

static void
credit_cb(struct cls_rule *cr, void *dp)
{
    dp_megaflow_credit(dp, CLS_CONTAINER_OF(cr, struct dp_megaflow, cr));
}

void
dp_pull_stats_change(struct dp *dp, const struct dp_change *chg)
{
    struct change_words *cw;
    uint64_t t0 = dp_now_ns();
    size_t credited = 0;

    if (!chg || chg->n > DP_CHANGE_MAX || !(cw = malloc(sizeof *cw))) {
        /* Every megaflow, counted as such. */
        for (unsigned i = 0; i < dp->n_pmds; i++) {
            credited += cls_count(dp->pmds[i]->cls);
        }
        dp_pull_stats(dp);
        dp->reval_stats.pulls++;
        dp->reval_stats.pull_credited += credited;
        dp->reval_stats.pull_ns += dp_now_ns() - t0;
        return;
    }
    change_words_init(chg, cw);
    for (unsigned i = 0; i < dp->n_pmds; i++) {
        struct dp_pmd *pmd = dp->pmds[i];
        struct reval_list l;

        if (!reval_list_pmd(dp, pmd, &l)) {
            pthread_mutex_lock(&pmd->flow_mutex);
            credited += cls_count(pmd->cls);
            cls_for_each(pmd->cls, credit_cb, dp);
            pthread_mutex_unlock(&pmd->flow_mutex);
            continue;
        }
        for (size_t k = 0; k < l.n; k++) {
            reval_prefetch(&l, k, chg, cw);
            if (!change_spares(chg, cw, &l.items[k])) {
                /* Only this thread credits; a PMD's counters are read
                 * as megaflow_free() reads them, without the mutex. */
                dp_megaflow_credit(dp, l.items[k].mf);
                credited++;
            }
        }
    }
    free(cw);
    dp_reclaim(dp, false);
    dp->reval_stats.pulls++;
    dp->reval_stats.pull_credited += credited;
    dp->reval_stats.pull_ns += dp_now_ns() - t0;
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

    if (mf->offered || mf_mirrored(dp, mf)) {
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
            .mask = *mf->cr.mask,
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
    atomic_store(&dp->sess_min_packets,
                 dp->hooks.offer_session ? dp->policy.session_min_packets
                                         : 0);
}

/* The tracker removed an offloaded connection: its session's rules go at
 * the next drain.  Any thread. */
static void
dp_ct_offload_gone(const struct ct_tuple *orig, uint64_t uid, void *dp_)
{
    struct dp *dp = dp_;

    pthread_mutex_lock(&dp->sess_mutex);
    if (dp->sess_n < DP_SESS_QUEUE) {
        struct dp_sess_event *ev = &dp->sess_q[dp->sess_n++];

        memset(ev, 0, sizeof *ev);
        ev->teardown = true;
        ev->orig = *orig;
        ev->uid = uid;
        dp->sess_stats.teardowns++;
    } else {
        dp->sess_stats.queue_full++;
    }
    pthread_mutex_unlock(&dp->sess_mutex);
}

void
dp_sessions_drain(struct dp *dp)
{
    struct dp_sess_event *q;
    bool teardowns = false;
    unsigned n;

    pthread_mutex_lock(&dp->sess_mutex);
    n = dp->sess_n;
    if (!n) {
        pthread_mutex_unlock(&dp->sess_mutex);
        return;
    }
    /* Taken whole: the hooks run without the PMDs' mutex. */
    q = malloc(n * sizeof *q);
    if (!q) {
        /* Kept for the next drain. */
        dp->sess_stats.drain_nomem++;
        pthread_mutex_unlock(&dp->sess_mutex);
        return;
    }
    memcpy(q, dp->sess_q, n * sizeof *q);
    dp->sess_n = 0;
    pthread_mutex_unlock(&dp->sess_mutex);
    for (unsigned i = 0; i < n; i++) {
        struct dp_sess_event *ev = &q[i];
        bool accepted = false, stale;

        if (ev->teardown) {
            if (dp->hooks.session_teardown) {
                dp->hooks.session_teardown(&ev->orig, ev->uid,
                                           dp->hooks_aux);
                teardowns = true;
            }
            continue;
        }
        /* Both megaflows are still allocated (this runs before any is
         * freed: dp_reclaim()); are they live? */
        stale = atomic_load(&ev->mf[0]->dead)
                || atomic_load(&ev->mf[1]->dead);
        if (!stale && dp->hooks.offer_session
            && !mf_mirrored(dp, ev->mf[0]) && !mf_mirrored(dp, ev->mf[1])) {
            struct dp_session_offer o = {
                .orig = ev->orig,
                .uid = ev->uid,
                .reply = ev->reply,
                .mf = { ev->mf[0], ev->mf[1] },
                .key = { ev->key[0], ev->key[1] },
                .mask = { ev->mf[0]->cr.mask, ev->mf[1]->cr.mask },
                .actions = { ev->mf[0]->actions, ev->mf[1]->actions },
            };

            accepted = dp->hooks.offer_session(&o, dp->hooks_aux);
            if (accepted) {
                /* Held: 'remove' comes for them when they go.  They are
                 * still offered as megaflows on their own (the first
                 * pass's may get a partial rule). */
                ev->mf[0]->sess_held = true;
                ev->mf[1]->sess_held = true;
            }
        }
        pthread_mutex_lock(&dp->sess_mutex);
        dp->sess_stats.offered += !stale;
        dp->sess_stats.accepted += accepted;
        dp->sess_stats.stale += stale;
        pthread_mutex_unlock(&dp->sess_mutex);
        if (!accepted) {
            conntrack_session_unclaim_dir(dp->ct, &ev->orig, ev->uid,
                                          ev->reply, DP_SESS_BACKOFF);
        }
    }
    free(q);
    if (teardowns && dp->hooks.remove_wait) {
        /* The teardowns' rules are out of the NIC, all waited for at
         * once. */
        dp->hooks.remove_wait(dp->hooks_aux);
    }
}

void
dp_get_session_stats(struct dp *dp, struct dp_session_stats *s)
{
    pthread_mutex_lock(&dp->sess_mutex);
    *s = dp->sess_stats;
    pthread_mutex_unlock(&dp->sess_mutex);
}

void
dp_megaflow_hw_stats(struct dp *dp, struct dp_megaflow *mf,
                     uint64_t packets, uint64_t bytes, long long used_ms)
{
    mf->hw_packets += packets;
    mf->hw_bytes += bytes;
    /* A NIC that decapsulated the flow's packets received them for its
     * tunnel port. */
    if (packets) {
        struct port *ip = dp_port_get(dp, dp_megaflow_in_port(mf));

        if (ip && port_tunnel_cfg(ip, NULL)) {
            port_tunnel_count_hw_rx(ip, packets, bytes);
        }
    }
    /* A NIC that encapsulated the flow's packets sent them out of its
     * tunnel port: counted there as hardware tx, like a NIC's output. */
    for (size_t i = 0; packets && i < mf->actions->n;
         i += dp_action_block_len(&mf->actions->a[i])) {
        const struct dp_action *a = &mf->actions->a[i];
        struct port *tp;

        if (a->type == DPA_TNL_PUSH
            && (tp = dp_port_get(dp, a->tnl_push.tnl_port)) != NULL) {
            port_tunnel_count_hw_tx(tp, packets, bytes);
        }
    }
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
        dp_revalidate(dp);
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
    dp_sessions_drain(dp);
    if (now_ms - (long long) dp->ct_sweep_ms >= DP_CT_SWEEP_MS) {
        /* Expiry in slices: a bounded number of connections per tick, so
         * a table of millions never stalls the main loop. */
        dp->ct_sweep_ms = (uint64_t) now_ms;
        conntrack_sweep(dp->ct, (uint64_t) now_ms, DP_CT_SWEEP_BUDGET);
    }
    dp_reclaim(dp, false);
    dp_mf_pool_refill(dp);
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
    s->recirculations = dp_stat_read(&pmd->recirculations);
    s->recirc_shortcuts = dp_stat_read(&pmd->recirc_shortcuts);
    /* One event, one counter: a failed upcall is the drop. */
    s->upcall_failures = dp_stat_read(&pmd->drops[DP_DROP_UPCALL_ERROR]);
    s->megaflow_not_installed = dp_stat_read(&pmd->megaflow_not_installed);
    s->megaflow_busy = dp_stat_read(&pmd->megaflow_busy);
    s->tnl_ctx_resets = dp_stat_read(&pmd->tnl_ctx_resets);
    s->mask_limited = dp_stat_read(&pmd->mask_limited);
    s->busy_cycles = dp_stat_read(&pmd->busy_cycles);
    s->idle_cycles = dp_stat_read(&pmd->idle_cycles);
    s->sleep_cycles = dp_stat_read(&pmd->sleep_cycles);
    s->sleeps = dp_stat_read(&pmd->sleeps);
    s->n_megaflows = atomic_load(&pmd->n_megaflows);
    for (unsigned r = 0; r < DP_N_DROP_REASONS; r++) {
        s->drops[r] = dp_stat_read(&pmd->drops[r]);
    }
    for (unsigned st = 0; st < DP_N_STAGES; st++) {
        s->stage_cycles[st] = dp_stat_read(&pmd->stage_cycles[st]);
    }
    s->profiled_packets = dp_stat_read(&pmd->profiled_packets);
    for (unsigned k = 0; k < DP_ITER_BUCKETS; k++) {
        s->iteration_hist[k] = dp_stat_read(&pmd->iter_hist[k]);
    }
    s->iteration_max_cycles = dp_stat_read(&pmd->iter_max_cycles);
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
        .mask = *mf->cr.mask,
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
