/* SPDX-License-Identifier: BSD-3-Clause */
/* offload.c: the offload manager: queue, thread, eviction, counter
 * polling and the datapath's offload hooks. */

#include "offload.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack.h"
#include "dp.h"
#include "log.h"
#include "offload-provider.h"
#include "port.h"
#include "port-tunnel.h"

LOG_MODULE(offload);

const char *
offload_state_name(enum offload_state s)
{
    switch (s) {
    case OFFLOAD_STATE_SOFTWARE:
        return "none";
    case OFFLOAD_STATE_QUEUED:
        return "queued";
    case OFFLOAD_STATE_PARTIAL:
        return "partial";
    case OFFLOAD_STATE_FULL:
        return "full";
    }
    return "?";
}

/* ---- The manager. ---- */

struct offload_rec {
    struct dp_megaflow *mf;         /* Key.  Main thread. */
    struct offload_port *op;        /* Input port's, or NULL. */
    struct flow flow, mask;         /* For the flow-removed log. */

    /* Guarded by mgr->mutex. */
    enum offload_state state;
    enum offload_reason reason;
    char msg[128];
    struct offload_rule *full, *partial;    /* Translated; owned. */
    uint64_t hw_packets, hw_bytes;  /* Hardware totals of all rules. */
    long long hw_used_ms;
    uint64_t credited_packets, credited_bytes;  /* Main thread. */
    uint64_t offer_pps;             /* Rate estimate at offer time. */
    uint64_t sw_packets_seen;       /* Software hits at the last retry
                                     * check (main thread). */
    bool queued;                    /* On the put queue. */
    bool busy;                      /* The thread works on it. */
    bool want_del;                  /* Main thread removes it. */
    bool on_del_list;
    bool on_aged_list;
    struct offload_rec *qnext;      /* put queue / del list. */
    struct offload_rec *rnext;      /* Main thread: mgr->removing. */
    struct offload_rec *anext;      /* aged list. */
    struct offload_rec *hnext;      /* hash chain by mf. */
    struct offload_rec *prev, *next;/* all records. */

    /* A session direction (offload.h "Sessions"): its session, else NULL
     * (a megaflow's record, in the hash by 'mf').  'mf' and 'mf2' are the
     * first and second pass's megaflows, to which the record is tied
     * (mgr->ties); it is not in the hash. */
    struct offload_sess *sess;
    bool reply;
    struct dp_megaflow *mf2;
    unsigned idle_ms;               /* Aging without AGE; 0: cfg.idle_ms. */
    long long installed_ms;
    bool on_sess_done;              /* On mgr->sess_done. */
    struct offload_rec *dnext;
    struct offload_rec *tnext[2], **tpprev[2];  /* Tie chains. */

    /* Decapsulation pairs (offload.h "Decapsulation").  A pair's record
     * ('decap') is tied to 'mf', the inner megaflow, and 'mf2', the
     * tnl_pop megaflow, like a session direction, and is not in the
     * hash; 'pair' is the inner megaflow's record.  That record
     * ('tnl_inner', in the hash) has 'pair' = its pair's record or NULL
     * and 'actions' = its megaflow's (valid while the megaflow is held).
     * A tnl_pop megaflow's record ('is_pop', in the hash) is on
     * mgr->pops. */
    bool decap, tnl_inner, is_pop;
    struct offload_rec *pair;
    const struct dp_actions *actions;
    uint16_t pop_port;              /* be16: the tnl_pop's UDP port. */
    struct offload_rec *pop_next;

    /* Offload thread only (read by others under the mutex). */
    void *hw;                       /* Provider handle or NULL. */
    struct offload_port *hw_port;
    uint64_t last_packets, last_bytes;  /* Counters of the current rule. */
    uint64_t rate_pps;
    long long last_change_ms;
    struct offload_rec *hw_prev, *hw_next;  /* installed list. */
};

/* A connection offloaded to NICs, one record per direction. */
struct offload_sess {
    struct ct_tuple orig;           /* Key (zone inside), */
    uint64_t uid;                   /* and the connection's uid. */
    struct offload_rec *dir[2];     /* Original, reply; NULL: software. */
    uint8_t left[2];                /* How each direction's last record
                                     * left: SESS_LEFT_*. */
    bool installed;                 /* A rule of it reached a NIC. */
    long long hw_last_ms;           /* Their last hardware use. */
    struct offload_sess *hnext;
};

#define SESS_BUCKETS 4096u
#define TIE_BUCKETS 1024u
/* Packets a direction carries in software before it is offered again
 * after its offer failed or its session was torn down. */
#define SESS_BACKOFF 4096

enum { SESS_LEFT_NONE, SESS_LEFT_AGED, SESS_LEFT_OTHER };

struct offload {
    struct dp *dp;
    struct offload_config cfg;

    /* Sessions (guarded by mutex; main thread only but for 'sess_done',
     * which the offload thread appends to). */
    struct offload_sess *sess_buckets[SESS_BUCKETS];
    struct offload_rec *ties[TIE_BUCKETS];
    size_t n_sess, n_sess_hw;
    struct offload_rec *sess_done;  /* Left hardware or never got in. */
    struct offload_session_stats sess_stats;
    char sess_last_refusal[128];
    long long next_audit_ms;        /* Main thread: sessions_audit(). */

    pthread_mutex_t mutex;
    pthread_cond_t wake;            /* The thread waits on it. */
    pthread_cond_t done;            /* The main thread waits on it. */
    pthread_t thread;
    bool thread_running;
    bool stop;                      /* Thread: flush everything and exit. */
    bool age_event;

    /* Guarded by mutex. */
    struct offload_rec *put_head, *put_tail;
    size_t put_len;
    struct offload_rec *del_head;
    struct offload_rec *aged_head;
    struct offload_rec *all;
    struct offload_rec *pops;       /* Records of tnl_pop megaflows. */
    size_t n_decap;                 /* Decapsulation pairs' records. */
    uint64_t tnl_map_gen;           /* Main thread: the pairs' map. */
    size_t n_recs;
    struct offload_rec **buckets;
    size_t n_buckets;
    struct offload_stats stats;
    uint64_t stats_epoch, stats_epoch_seen;

    /* Port operations requested of the thread. */
    struct offload_port *port_req;
    int port_req_op;                /* 1 = init, 2 = flush + uninit */
    int port_req_ret;
    char port_req_err[256];
    bool port_req_done;

    /* Thread only. */
    struct offload_rec *hw_list;
    size_t n_hw;

    /* Main thread. */
    struct offload_rec *removing;   /* hook_remove() started, for
                                     * hook_remove_wait(). */
    struct offload_port *ports[DP_MAX_PORTS];
    struct offload_port **dead_ports;
    size_t n_dead_ports;
    struct offload_removed log[OFFLOAD_LOG_SIZE];
    size_t log_n, log_next;
    bool shut;
    long long next_retry_ms;
};

static long long
now_ms(void)
{
    return dp_time_ms();
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

void
offload_config_from_cfg(const struct cfg *cfg, struct offload_config *oc)
{
    const struct cfg_offload *o = &cfg->offload;

    memset(oc, 0, sizeof *oc);
    oc->min_packets = o->min_packets;
    oc->min_pps = o->min_pps;
    oc->check_ms = o->check_ms;
    oc->max_flows = o->max_flows;
    oc->queue_size = o->queue_size;
    oc->idle_ms = o->idle_ms ? o->idle_ms : cfg->megaflow_idle_ms;
    oc->stats_ms = o->stats_ms;
    if (oc->stats_ms > cfg->megaflow_idle_ms / 4 && cfg->megaflow_idle_ms
        >= 40) {
        /* Hardware hits must reach the megaflow before it idles out. */
        oc->stats_ms = cfg->megaflow_idle_ms / 4;
    }
    oc->evict = o->evict;
    oc->simnic_capacity = o->simnic_capacity;
    oc->simnic_insert_rate = o->simnic_insert_rate;
    oc->sessions = o->sessions;
    oc->session_min_packets = o->session_min_packets;
    oc->session_idle_ms = o->session_idle_ms;
}

/* ---- Record hash (by megaflow pointer). ---- */

static size_t
rec_bucket(const struct offload *mgr, const void *mf)
{
    uintptr_t h = (uintptr_t) mf;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t) (h >> 20) & (mgr->n_buckets - 1);
}

static struct offload_rec *
rec_find(const struct offload *mgr, const void *mf)
{
    for (struct offload_rec *r = mgr->buckets[rec_bucket(mgr, mf)]; r;
         r = r->hnext) {
        if (r->mf == mf) {
            return r;
        }
    }
    return NULL;
}

static void
rec_hash_grow(struct offload *mgr)
{
    size_t n = mgr->n_buckets * 4;
    struct offload_rec **b = calloc(n, sizeof *b), **old = mgr->buckets;
    size_t old_n = mgr->n_buckets;

    if (!b) {
        return;                 /* Longer chains; still correct. */
    }
    mgr->buckets = b;
    mgr->n_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        struct offload_rec *r, *next;

        for (r = old[i]; r; r = next) {
            size_t k = rec_bucket(mgr, r->mf);

            next = r->hnext;
            r->hnext = b[k];
            b[k] = r;
        }
    }
    free(old);
}

/* Appends 'r' to the insertion queue and wakes the offload thread.  The
 * caller holds mgr->mutex and counts the request. */
static void
put_queue_push(struct offload *mgr, struct offload_rec *r)
{
    r->state = OFFLOAD_STATE_QUEUED;
    r->queued = true;
    r->qnext = NULL;
    if (mgr->put_tail) {
        mgr->put_tail->qnext = r;
    } else {
        mgr->put_head = r;
    }
    mgr->put_tail = r;
    mgr->put_len++;
    pthread_cond_signal(&mgr->wake);
}

/* Megaflow records are in the hash by 'mf'; session directions and
 * decapsulation pairs are not (their 'mf' has its own record). */
static bool
rec_hashed(const struct offload_rec *r)
{
    return !r->sess && !r->decap;
}

static void
rec_insert(struct offload *mgr, struct offload_rec *r)
{
    size_t k;

    if (r->is_pop) {
        r->pop_next = mgr->pops;
        mgr->pops = r;
    }
    mgr->n_decap += r->decap;
    if (rec_hashed(r)) {
        if (mgr->n_recs >= mgr->n_buckets * 2) {
            rec_hash_grow(mgr);
        }
        k = rec_bucket(mgr, r->mf);
        r->hnext = mgr->buckets[k];
        mgr->buckets[k] = r;
    }
    r->next = mgr->all;
    r->prev = NULL;
    if (mgr->all) {
        mgr->all->prev = r;
    }
    mgr->all = r;
    mgr->n_recs++;
}

static void
rec_unlink(struct offload *mgr, struct offload_rec *r)
{
    if (r->is_pop) {
        struct offload_rec **pp = &mgr->pops;

        while (*pp && *pp != r) {
            pp = &(*pp)->pop_next;
        }
        if (*pp) {
            *pp = r->pop_next;
        }
    }
    mgr->n_decap -= r->decap;
    if (r->pair) {
        /* A pair and its inner megaflow's record forget each other. */
        r->pair->pair = NULL;
        r->pair = NULL;
    }
    if (rec_hashed(r)) {
        struct offload_rec **p = &mgr->buckets[rec_bucket(mgr, r->mf)];

        while (*p != r) {
            p = &(*p)->hnext;
        }
        *p = r->hnext;
    }
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        mgr->all = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    mgr->n_recs--;
}

static void
rec_free(struct offload_rec *r)
{
    if (r) {
        free(r->full);
        free(r->partial);
        free(r);
    }
}

/* ---- Offload thread. ---- */

static void
hw_list_add(struct offload *mgr, struct offload_rec *r)
{
    r->hw_prev = NULL;
    r->hw_next = mgr->hw_list;
    if (mgr->hw_list) {
        mgr->hw_list->hw_prev = r;
    }
    mgr->hw_list = r;
    mgr->n_hw++;
    mgr->n_sess_hw += r->sess != NULL;
}

static void
hw_list_del(struct offload *mgr, struct offload_rec *r)
{
    if (r->hw_prev) {
        r->hw_prev->hw_next = r->hw_next;
    } else {
        mgr->hw_list = r->hw_next;
    }
    if (r->hw_next) {
        r->hw_next->hw_prev = r->hw_prev;
    }
    r->hw_prev = r->hw_next = NULL;
    mgr->n_hw--;
    mgr->n_sess_hw -= r->sess != NULL;
}

/* Adds the rule's counters (totals 'c') to the record.  Mutex held. */
static void
rec_account(struct offload_rec *r, const struct offload_counters *c,
            long long now)
{
    if (c->packets > r->last_packets) {
        r->hw_packets += c->packets - r->last_packets;
        r->hw_bytes += c->bytes - r->last_bytes;
        r->hw_used_ms = now;
        r->last_change_ms = now;
    }
    r->last_packets = c->packets;
    r->last_bytes = c->bytes;
}

/* A session direction that left hardware (or never got in) waits on
 * mgr->sess_done for the main thread (sessions_run()).  Mutex held. */
static void
sess_done_push(struct offload *mgr, struct offload_rec *r)
{
    if (!r->on_sess_done && !r->want_del) {
        r->on_sess_done = true;
        r->dnext = mgr->sess_done;
        mgr->sess_done = r;
    }
}

/* Deletes the hardware rule of 'r' (thread; mutex NOT held on entry,
 * taken inside).  'reason' != NONE moves the flow to software with it. */
static void
hw_delete(struct offload *mgr, struct offload_rec *r,
          enum offload_reason reason)
{
    struct offload_counters last = { 0, 0 };
    struct offload_port *op = r->hw_port;

    op->class->flow_del(op, r->hw, &last);
    pthread_mutex_lock(&mgr->mutex);
    rec_account(r, &last, now_ms());
    r->hw = NULL;
    r->hw_port = NULL;
    op->n_flows--;
    hw_list_del(mgr, r);
    r->state = OFFLOAD_STATE_SOFTWARE;
    if (reason != OFFLOAD_R_NONE) {
        r->reason = reason;
        snprintf(r->msg, sizeof r->msg, "%s", offload_reason_name(reason));
    }
    mgr->stats.removed++;
    if (r->sess && reason != OFFLOAD_R_NONE) {
        if (reason == OFFLOAD_R_AGED) {
            mgr->sess_stats.aged++;
        } else if (reason == OFFLOAD_R_EVICTED) {
            mgr->stats.evicted++;
        }
        sess_done_push(mgr, r);
    } else if (reason == OFFLOAD_R_AGED || reason == OFFLOAD_R_EVICTED) {
        if (reason == OFFLOAD_R_AGED) {
            mgr->stats.aged++;
        } else {
            mgr->stats.evicted++;
        }
        if (!r->on_aged_list && !r->want_del) {
            r->on_aged_list = true;
            r->anext = mgr->aged_head;
            mgr->aged_head = r;
        }
    }
    pthread_cond_broadcast(&mgr->done);
    pthread_mutex_unlock(&mgr->mutex);
}

/* Finds the coldest installed rule on 'nic' that is not being removed and
 * is colder than 'pps'.  Thread. */
static struct offload_rec *
find_victim(struct offload *mgr, const char *nic, uint64_t pps)
{
    struct offload_rec *best = NULL;

    pthread_mutex_lock(&mgr->mutex);
    for (struct offload_rec *r = mgr->hw_list; r; r = r->hw_next) {
        if (r->want_del || r->on_del_list
            || (nic && strcmp(r->hw_port->nic, nic))) {
            continue;
        }
        if (!best || r->rate_pps < best->rate_pps) {
            best = r;
        }
    }
    if (best && best->rate_pps >= pps) {
        best = NULL;
    }
    if (best) {
        best->busy = true;
    }
    pthread_mutex_unlock(&mgr->mutex);
    return best;
}

static void
evict(struct offload *mgr, struct offload_rec *v)
{
    hw_delete(mgr, v, OFFLOAD_R_EVICTED);
    pthread_mutex_lock(&mgr->mutex);
    v->busy = false;
    if (v->want_del) {
        pthread_cond_broadcast(&mgr->done);
    }
    pthread_mutex_unlock(&mgr->mutex);
}

/* Tries one translated rule; evicts on a full table.  Returns 0 or an
 * errno with the message in 'msg'. */
static int
try_put(struct offload *mgr, struct offload_rec *r,
        const struct offload_rule *rule, char *msg, size_t msgsize)
{
    struct offload_port *op = r->op;

    for (int attempt = 0; attempt < 2; attempt++) {
        struct rte_flow_error error;
        void *handle = NULL;
        int ret = 0;

        if (mgr->n_hw >= mgr->cfg.max_flows) {
            ret = ENOSPC;
            snprintf(msg, msgsize, "max_flows (%zu) reached",
                     mgr->cfg.max_flows);
        } else {
            memset(&error, 0, sizeof error);
            ret = op->class->flow_put(op, &rule->attr, rule->items,
                                      rule->actions, &handle, &error);
            if (ret) {
                snprintf(msg, msgsize, "%s: %s", op->class->name,
                         error.message ? error.message : strerror(ret));
            }
        }
        if (!ret) {
            pthread_mutex_lock(&mgr->mutex);
            r->hw = handle;
            r->hw_port = op;
            r->last_packets = r->last_bytes = 0;
            r->rate_pps = r->offer_pps;
            r->last_change_ms = now_ms();
            r->installed_ms = r->last_change_ms;
            op->n_flows++;
            hw_list_add(mgr, r);
            pthread_mutex_unlock(&mgr->mutex);
            return 0;
        }
        if (ret != ENOSPC || attempt || !mgr->cfg.evict) {
            return ret;
        }
        {
            bool global = mgr->n_hw >= mgr->cfg.max_flows;
            struct offload_rec *v = find_victim(mgr, global ? NULL : op->nic,
                                                r->offer_pps);

            if (!v) {
                return ret;
            }
            evict(mgr, v);
        }
    }
    return ENOSPC;
}

static void
do_put(struct offload *mgr, struct offload_rec *r)
{
    char msg[128] = "";
    enum offload_reason reason = r->reason;
    enum offload_state state = OFFLOAD_STATE_SOFTWARE;
    uint64_t t0 = now_ns(), dt;
    int ret = EOPNOTSUPP;

    if (r->full) {
        ret = try_put(mgr, r, r->full, msg, sizeof msg);
        if (!ret) {
            state = OFFLOAD_STATE_FULL;
        }
    }
    if (ret && r->partial) {
        char pmsg[128] = "";
        int pret = try_put(mgr, r, r->partial, pmsg, sizeof pmsg);

        if (!pret) {
            state = OFFLOAD_STATE_PARTIAL;
            if (!r->full) {
                ret = 0;
            }
        } else if (!r->full) {
            ret = pret;
            snprintf(msg, sizeof msg, "%s", pmsg);
        }
    }
    dt = now_ns() - t0;
    if (state != OFFLOAD_STATE_SOFTWARE && r->full && ret) {
        /* Partial after a failed full: the reason is the full failure. */
        reason = ret == ENOSPC ? OFFLOAD_R_TABLE_FULL
                 : ret == EOPNOTSUPP ? OFFLOAD_R_REJECTED
                 : OFFLOAD_R_INSERT_FAILED;
    } else if (state == OFFLOAD_STATE_SOFTWARE && ret) {
        reason = ret == ENOSPC
                 ? (mgr->n_hw >= mgr->cfg.max_flows ? OFFLOAD_R_CAPACITY
                                                    : OFFLOAD_R_TABLE_FULL)
                 : ret == EOPNOTSUPP ? OFFLOAD_R_REJECTED
                 : OFFLOAD_R_INSERT_FAILED;
    }

    pthread_mutex_lock(&mgr->mutex);
    r->state = state;
    if (state != OFFLOAD_STATE_FULL) {
        r->reason = reason;
        if (msg[0]) {
            snprintf(r->msg, sizeof r->msg, "%s", msg);
        }
        if (reason != OFFLOAD_R_NONE) {
            mgr->stats.failed[reason]++;
        }
    } else {
        r->reason = OFFLOAD_R_NONE;
        r->msg[0] = '\0';
    }
    if (r->sess) {
        if (state == OFFLOAD_STATE_SOFTWARE) {
            mgr->sess_stats.failed++;
            sess_done_push(mgr, r);
        } else {
            mgr->sess_stats.installed++;
            r->sess->installed = true;
        }
    }
    if (state != OFFLOAD_STATE_SOFTWARE) {
        mgr->stats.inserted++;
        if (state == OFFLOAD_STATE_FULL) {
            mgr->stats.full++;
        } else {
            mgr->stats.partial++;
        }
        mgr->stats.insert_ns_total += dt;
        mgr->stats.insert_ns_last = dt;
        if (dt > mgr->stats.insert_ns_max) {
            mgr->stats.insert_ns_max = dt;
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
}

/* Polls every installed rule's counters; ages idle ones. */
static void
poll_all(struct offload *mgr)
{
    long long now = now_ms();
    struct offload_rec *r, *next;

    for (r = mgr->hw_list; r; r = next) {
        struct offload_counters c;
        bool idle = false;

        next = r->hw_next;
        pthread_mutex_lock(&mgr->mutex);
        if (r->want_del || r->on_del_list || r->busy) {
            pthread_mutex_unlock(&mgr->mutex);
            continue;
        }
        pthread_mutex_unlock(&mgr->mutex);
        if (r->hw_port->class->flow_query(r->hw_port, r->hw, &c)) {
            continue;
        }
        pthread_mutex_lock(&mgr->mutex);
        {
            uint64_t before = r->last_packets;
            long long dt = now - r->last_change_ms;

            rec_account(r, &c, now);
            r->rate_pps = (c.packets - before) * 1000
                          / (uint64_t) (mgr->cfg.stats_ms ? mgr->cfg.stats_ms
                                                         : 1);
            /* Full rules age here when the NIC has no AGE action; partial
             * rules age with their megaflow (software sees the hits). */
            idle = r->state == OFFLOAD_STATE_FULL
                   && !(r->hw_port->caps.age && r->full
                        && r->full->age.timeout)
                   && c.packets == before
                   && dt >= (long long) (r->idle_ms ? r->idle_ms
                                                    : mgr->cfg.idle_ms);
        }
        pthread_mutex_unlock(&mgr->mutex);
        if (idle) {
            hw_delete(mgr, r, OFFLOAD_R_AGED);
        }
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.polls++;
    mgr->stats_epoch++;
    pthread_mutex_unlock(&mgr->mutex);
}

/* Collects AGE events of every port with AGE. */
static void
collect_aged(struct offload *mgr)
{
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op;
        void *ctx[64];
        int n;

        pthread_mutex_lock(&mgr->mutex);
        op = mgr->ports[p];
        pthread_mutex_unlock(&mgr->mutex);
        if (!op || op->dead || !op->caps.age || !op->n_flows) {
            continue;
        }
        do {
            int handled = 0;

            n = op->class->aged_flows(op, ctx, 64);
            for (int i = 0; i < n; i++) {
                struct offload_rec *r = ctx[i], *q;
                bool found = false;

                /* Only records still installed (the context may be of a
                 * rule being deleted right now). */
                pthread_mutex_lock(&mgr->mutex);
                for (q = mgr->hw_list; q; q = q->hw_next) {
                    if (q == r) {
                        found = !r->want_del && !r->on_del_list && !r->busy;
                        break;
                    }
                }
                pthread_mutex_unlock(&mgr->mutex);
                if (found) {
                    struct offload_counters c;

                    if (!r->hw_port->class->flow_query(r->hw_port, r->hw,
                                                       &c)) {
                        pthread_mutex_lock(&mgr->mutex);
                        rec_account(r, &c, now_ms());
                        pthread_mutex_unlock(&mgr->mutex);
                    }
                    hw_delete(mgr, r, OFFLOAD_R_AGED);
                    handled++;
                }
            }
            /* A NIC may list an aged rule until it is destroyed (mlx5
             * does): stop when a full batch brought nothing new. */
            if (!handled) {
                break;
            }
        } while (n == 64);
    }
}

/* Flushes 'op' (its rules known to the manager are deleted already) and
 * returns how many rules the provider says the port still holds in the
 * NIC, logged at err level: 'what' is "removal" or "shutdown".  Offload
 * thread (or main thread once the thread stopped). */
static size_t
port_flush_check(struct offload_port *op, const char *what)
{
    size_t left;

    op->class->flush(op);
    left = op->class->port_rules_left ? op->class->port_rules_left(op) : 0;
    if (left) {
        LOG_ERR("port %s: %s: %zu rules left in hardware (%s refused to "
                "destroy them)", op->name, what, left, op->class->name);
    }
    return left;
}

static void
thread_port_req(struct offload *mgr)
{
    struct offload_port *op = mgr->port_req;
    int opcode = mgr->port_req_op;
    char err[256] = "";
    size_t left = 0;
    int ret = 0;

    pthread_mutex_unlock(&mgr->mutex);
    if (opcode == 1) {
        ret = op->class->port_init(op, err, sizeof err);
    } else {
        struct offload_rec *r, *next;

        for (r = mgr->hw_list; r; r = next) {
            next = r->hw_next;
            if (r->hw_port == op) {
                hw_delete(mgr, r, OFFLOAD_R_PORT_REMOVED);
            }
        }
        left = port_flush_check(op, "removal");
        op->class->port_uninit(op);
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.left_at_port_del += left;
    mgr->port_req_ret = ret;
    snprintf(mgr->port_req_err, sizeof mgr->port_req_err, "%s", err);
    mgr->port_req = NULL;
    mgr->port_req_done = true;
    pthread_cond_broadcast(&mgr->done);
}

/* Deletes every rule the manager installed, flushes every port and
 * counts what the providers say is still in a NIC. */
static void
thread_flush_all(struct offload *mgr)
{
    size_t n = 0, left = 0;

    while (mgr->hw_list) {
        hw_delete(mgr, mgr->hw_list, OFFLOAD_R_NONE);
        n++;
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op = mgr->ports[p];

        if (op && !op->dead) {
            left += port_flush_check(op, "shutdown");
        }
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.flushed += n;
    mgr->stats.left_at_shutdown = left;
    pthread_mutex_unlock(&mgr->mutex);
}

static void *
offload_thread(void *mgr_)
{
    struct offload *mgr = mgr_;
    long long next_poll = now_ms() + mgr->cfg.stats_ms;

    pthread_mutex_lock(&mgr->mutex);
    for (;;) {
        long long now;

        if (mgr->port_req && !mgr->port_req_done) {
            thread_port_req(mgr);
            continue;
        }
        if (mgr->del_head) {
            struct offload_rec *r = mgr->del_head;

            mgr->del_head = r->qnext;
            r->qnext = NULL;
            r->busy = true;
            pthread_mutex_unlock(&mgr->mutex);
            if (r->hw) {
                hw_delete(mgr, r, OFFLOAD_R_NONE);
            }
            pthread_mutex_lock(&mgr->mutex);
            r->busy = false;
            r->on_del_list = false;
            pthread_cond_broadcast(&mgr->done);
            continue;
        }
        if (mgr->stop) {
            pthread_mutex_unlock(&mgr->mutex);
            thread_flush_all(mgr);
            pthread_mutex_lock(&mgr->mutex);
            break;
        }
        if (mgr->put_head) {
            struct offload_rec *r = mgr->put_head;

            mgr->put_head = r->qnext;
            if (!mgr->put_head) {
                mgr->put_tail = NULL;
            }
            r->qnext = NULL;
            r->queued = false;
            mgr->put_len--;
            r->busy = true;
            pthread_mutex_unlock(&mgr->mutex);
            do_put(mgr, r);
            pthread_mutex_lock(&mgr->mutex);
            r->busy = false;
            if (r->want_del && r->hw && !r->on_del_list) {
                r->on_del_list = true;
                r->qnext = mgr->del_head;
                mgr->del_head = r;
            }
            pthread_cond_broadcast(&mgr->done);
            continue;
        }
        now = now_ms();
        if (now >= next_poll || mgr->age_event) {
            bool aged = mgr->age_event || now >= next_poll;

            mgr->age_event = false;
            pthread_mutex_unlock(&mgr->mutex);
            if (now >= next_poll) {
                poll_all(mgr);
                next_poll = now + mgr->cfg.stats_ms;
            }
            if (aged) {
                collect_aged(mgr);
            }
            pthread_mutex_lock(&mgr->mutex);
            continue;
        }
        {
            struct timespec ts;
            long long wait = next_poll - now;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&mgr->wake, &mgr->mutex, &ts);
        }
    }
    mgr->thread_running = false;
    pthread_cond_broadcast(&mgr->done);
    pthread_mutex_unlock(&mgr->mutex);
    return NULL;
}

void
offload_wake(struct offload *mgr)
{
    pthread_mutex_lock(&mgr->mutex);
    mgr->age_event = true;
    pthread_cond_signal(&mgr->wake);
    pthread_mutex_unlock(&mgr->mutex);
}

/* ---- Datapath hooks (main thread). ---- */

struct resolve_ctx {
    struct offload *mgr;
    const struct offload_port *in;
};

static bool
resolve_output(uint32_t dp_port, uint16_t *nic_port, void *ctx_)
{
    struct resolve_ctx *ctx = ctx_;
    const struct offload_port *op;

    if (dp_port >= DP_MAX_PORTS) {
        return false;
    }
    op = ctx->mgr->ports[dp_port];
    if (!op || op->dead || op->class != ctx->in->class
        || strcmp(op->nic, ctx->in->nic)) {
        return false;
    }
    *nic_port = op->nic_port_id;
    return true;
}

/* The part of a translation's input that comes from the input port 'op'
 * (rctx: its resolve context, which must outlive the translation). */
static void
xlate_port(struct offload_xlate *x, struct offload_port *op,
           struct resolve_ctx *rctx, void *age_context, unsigned idle_ms,
           uint32_t priority)
{
    x->caps = &op->caps;
    x->in_nic_port = op->nic_port_id;
    x->in_mtu = (uint32_t) port_get_mtu(op->port);
    x->resolve = resolve_output;
    x->resolve_aux = rctx;
    x->n_rxq = op->n_rxq;
    x->age_s = (idle_ms + 999) / 1000;
    x->age_context = age_context;
    x->priority = priority;
}

/* ---- Decapsulation pairs (offload.h "Decapsulation"; main thread,
 * mutex held). ---- */

static void tie_link(struct offload *, struct offload_rec *);
static void tie_unlink(struct offload_rec *);

/* True if the 16 bytes at 'p' are all ones. */
static bool
exact16(const uint8_t *p)
{
    static const uint8_t all[16] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    };

    return !memcmp(p, all, 16);
}

/* The VXLAN tnl_pop port of 'actions' (be16), if they are exactly one
 * DPA_TNL_POP of a VXLAN tunnel; else 0. */
static uint16_t
pop_port_of(const struct dp_actions *actions)
{
    return actions && actions->n == 1 && actions->a[0].type == DPA_TNL_POP
           && actions->a[0].tnl_pop.type == TNL_VXLAN
           ? actions->a[0].tnl_pop.udp_port : 0;
}

/* Tries to pair 'b' (a tunnel port's megaflow) with 'a' (a tnl_pop
 * megaflow): if every packet of both would take 'a' and then 'b' in
 * software (the map sends what 'a' decapsulates with 'b''s tunnel fields
 * to 'b''s port), queues one rule for both.  Returns true if a pair was
 * made. */
static bool
decap_try(struct offload *mgr, struct offload_rec *b, struct offload_rec *a)
{
    struct offload_port *op = a->op;
    struct resolve_ctx rctx = { mgr, op };
    uint32_t in_port = b->flow.in_port;
    enum offload_reason reason = OFFLOAD_R_NONE;
    struct tnl_port_cfg cfg;
    struct offload_decap d;
    struct offload_xlate x;
    struct offload_rec *r;
    struct flow_tnl md;
    struct port *tp;
    char msg[128] = "";

    if (b->pair || b->want_del || a->want_del || !op || op->dead
        || op->mode != OFFLOAD_MODE_FULL
        || !(op->caps.vxlan_decap || op->caps.raw_decap)) {
        return false;
    }
    tp = dp_port_get(mgr->dp, in_port);
    if (!tp || !port_tunnel_cfg(tp, &cfg) || cfg.type != TNL_VXLAN
        || htons(cfg.dst_port) != a->pop_port) {
        return false;
    }
    memset(&d, 0, sizeof d);
    memset(&md, 0, sizeof md);
    d.flow = &a->flow;
    d.mask = &a->mask;
    d.is_ipv6 = cfg.is_ipv6;
    d.udp_port = a->pop_port;
    /* The VNI and the remote: the port's, or (flow-based) the exact
     * values the inner megaflow matched. */
    if (!cfg.key_flow) {
        d.vni = cfg.key;
    } else if (b->mask.tunnel.tun_id == UINT64_MAX) {
        d.vni = (uint32_t) be64toh(b->flow.tunnel.tun_id);
    } else {
        return false;
    }
    if (!cfg.is_ipv6) {
        if (a->flow.dl_type != htons(ETH_TYPE_IP)
            || a->mask.nw_dst != UINT32_MAX) {
            return false;
        }
        d.dst4 = a->flow.nw_dst;
        if (cfg.has_local && memcmp(cfg.local, &d.dst4, 4)) {
            return false;
        }
        if (!cfg.remote_flow) {
            memcpy(&d.src4, cfg.remote, 4);
        } else if (b->mask.tunnel.ip_src == UINT32_MAX) {
            d.src4 = b->flow.tunnel.ip_src;
        } else {
            return false;
        }
        md.ip_src = d.src4;
        md.ip_dst = d.dst4;
    } else {
        if (a->flow.dl_type != htons(ETH_TYPE_IPV6)
            || !exact16(a->mask.ipv6_dst)) {
            return false;
        }
        memcpy(d.dst6, a->flow.ipv6_dst, 16);
        if (cfg.has_local && memcmp(cfg.local, d.dst6, 16)) {
            return false;
        }
        if (!cfg.remote_flow) {
            memcpy(d.src6, cfg.remote, 16);
        } else if (exact16(b->mask.tunnel.ipv6_src)) {
            memcpy(d.src6, b->flow.tunnel.ipv6_src, 16);
        } else {
            return false;
        }
        memcpy(md.ipv6_src, d.src6, 16);
        memcpy(md.ipv6_dst, d.dst6, 16);
    }
    md.tun_id = htobe64(d.vni);
    if (dp_tnl_port_lookup(mgr->dp, TNL_VXLAN, d.udp_port, &md) != in_port) {
        return false;       /* Another port takes these packets. */
    }

    r = calloc(1, sizeof *r);
    if (!r || !(r->full = malloc(sizeof *r->full))) {
        rec_free(r);
        return false;
    }
    r->decap = true;
    r->mf = b->mf;
    r->mf2 = a->mf;
    r->op = op;
    r->flow = b->flow;
    r->mask = b->mask;
    r->offer_pps = b->offer_pps;
    r->idle_ms = 0;
    memset(&x, 0, sizeof x);
    x.flow = &b->flow;
    x.mask = &b->mask;
    x.actions = b->actions;
    x.mode = OFFLOAD_MODE_FULL;
    /* Above the tnl_pop megaflow's own (MARK) rule. */
    xlate_port(&x, op, &rctx, r, mgr->cfg.idle_ms, OFFLOAD_PRIO_SESSION);
    x.decap = &d;
    if (offload_translate(&x, r->full, &reason, msg, sizeof msg)) {
        b->reason = reason;
        snprintf(b->msg, sizeof b->msg, "decapsulation: %.100s", msg);
        mgr->stats.failed[reason]++;
        mgr->stats.decap_refused++;
        rec_free(r);
        return false;
    }
    r->pair = b;
    b->pair = r;
    rec_insert(mgr, r);
    tie_link(mgr, r);
    mgr->stats.decap_paired++;
    if (mgr->put_len >= mgr->cfg.queue_size) {
        mgr->stats.queue_full++;
        r->state = OFFLOAD_STATE_SOFTWARE;
        r->reason = OFFLOAD_R_QUEUE_FULL;     /* retry_cb() tries again. */
        snprintf(r->msg, sizeof r->msg, "offload queue full");
    } else if (!mgr->cfg.evict
               && mgr->n_hw + mgr->put_len >= mgr->cfg.max_flows) {
        mgr->stats.capacity_kept_sw++;
        r->state = OFFLOAD_STATE_SOFTWARE;
        r->reason = OFFLOAD_R_CAPACITY;
        snprintf(r->msg, sizeof r->msg, "max_flows reached");
    } else {
        put_queue_push(mgr, r);
        mgr->stats.queued++;
    }
    return true;
}

/* A new tunnel port megaflow's record: the first tnl_pop megaflow it
 * pairs with. */
static void
decap_pair_inner(struct offload *mgr, struct offload_rec *b)
{
    for (struct offload_rec *a = mgr->pops; a && !b->pair; a = a->pop_next) {
        decap_try(mgr, b, a);
    }
}

/* A new tnl_pop megaflow's record: every unpaired tunnel port megaflow
 * that pairs with it. */
static void
decap_pair_pop(struct offload *mgr, struct offload_rec *a)
{
    for (struct offload_rec *b = mgr->all; b; b = b->next) {
        if (b->tnl_inner && !b->pair) {
            decap_try(mgr, b, a);
        }
    }
}

static bool
hook_offer(struct dp_megaflow *mf, const struct dp_megaflow_info *info,
           void *mgr_)
{
    struct offload *mgr = mgr_;
    uint32_t in_port = dp_megaflow_in_port(mf);
    struct offload_port *op = in_port < DP_MAX_PORTS ? mgr->ports[in_port]
                                                     : NULL;
    struct resolve_ctx rctx = { mgr, op };
    struct offload_xlate x;
    struct offload_rec *r;
    enum offload_reason reason = OFFLOAD_R_NONE;
    char msg[128] = "";
    bool queue = false;

    if (mgr->shut) {
        return false;
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->stats.offered++;
    if (rec_find(mgr, mf)) {
        pthread_mutex_unlock(&mgr->mutex);
        return true;
    }
    if (op && op->dead) {
        op = NULL;
    }
    if (op && op->mode != OFFLOAD_MODE_NONE
        && mgr->put_len >= mgr->cfg.queue_size) {
        mgr->stats.queue_full++;
        pthread_mutex_unlock(&mgr->mutex);
        return false;           /* Offered again later. */
    }
    if (op && op->mode != OFFLOAD_MODE_NONE && !mgr->cfg.evict
        && mgr->n_hw + mgr->put_len >= mgr->cfg.max_flows) {
        mgr->stats.capacity_kept_sw++;
        pthread_mutex_unlock(&mgr->mutex);
        return false;
    }
    pthread_mutex_unlock(&mgr->mutex);

    r = calloc(1, sizeof *r);
    if (!r) {
        return false;
    }
    r->mf = mf;
    r->op = op;
    r->flow = info->flow;
    r->mask = info->mask;
    r->flow.in_port = in_port;
    r->pop_port = op ? pop_port_of(info->actions) : 0;
    r->is_pop = r->pop_port != 0;
    if (!op) {
        struct port *p = dp_port_get(mgr->dp, in_port);
        struct tnl_port_cfg tc;

        r->tnl_inner = p && port_tunnel_cfg(p, &tc) && tc.type == TNL_VXLAN;
        r->actions = info->actions;
    }
    r->sw_packets_seen = info->packets;
    /* A conservative rate estimate: it was offered because it carried
     * min_packets or min_pps. */
    r->offer_pps = mgr->cfg.min_pps ? mgr->cfg.min_pps : 1;
    if (info->packets > r->offer_pps) {
        r->offer_pps = info->packets;
    }

    memset(&x, 0, sizeof x);
    x.flow = &r->flow;
    x.mask = &info->mask;
    x.actions = info->actions;
    if (!op || op->mode == OFFLOAD_MODE_NONE || op->dead) {
        reason = OFFLOAD_R_PORT_DISABLED;
        snprintf(msg, sizeof msg, "%.120s",
                 op ? op->probe : "input port has no offload");
    } else {
        xlate_port(&x, op, &rctx, r, mgr->cfg.idle_ms,
                   OFFLOAD_PRIO_MEGAFLOW);
        if (op->mode == OFFLOAD_MODE_FULL) {
            r->full = malloc(sizeof *r->full);
            x.mode = OFFLOAD_MODE_FULL;
            if (r->full
                && offload_translate(&x, r->full, &reason, msg, sizeof msg)) {
                free(r->full);
                r->full = NULL;
            }
        } else {
            reason = OFFLOAD_R_PARTIAL_MODE;
            snprintf(msg, sizeof msg, "port %s offloads partially only",
                     op->name);
        }
        /* Partial is also the fallback when the NIC refuses the full
         * rule at insertion time. */
        if (op->caps.partial) {
            enum offload_reason pr;
            char pmsg[128];

            r->partial = malloc(sizeof *r->partial);
            x.mode = OFFLOAD_MODE_PARTIAL;
            x.mark = dp_megaflow_id(mgr->dp, mf);
            if (r->partial
                && offload_translate(&x, r->partial, &pr, pmsg,
                                     sizeof pmsg)) {
                free(r->partial);
                r->partial = NULL;
                if (reason == OFFLOAD_R_NONE
                    || reason == OFFLOAD_R_PARTIAL_MODE) {
                    reason = pr;
                    snprintf(msg, sizeof msg, "%s", pmsg);
                }
            }
        } else if (!r->full && (reason == OFFLOAD_R_NONE
                                || reason == OFFLOAD_R_PARTIAL_MODE)) {
            reason = OFFLOAD_R_NIC_NO_PARTIAL;
            snprintf(msg, sizeof msg, "%.120s", op->probe);
        }
        queue = r->full || r->partial;
    }

    pthread_mutex_lock(&mgr->mutex);
    if (r->tnl_inner) {
        reason = OFFLOAD_R_PORT_DISABLED;
        snprintf(msg, sizeof msg, "decapsulation: no tnl_pop megaflow in "
                 "full offload to pair with");
    }
    r->reason = reason;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    rec_insert(mgr, r);
    if (queue) {
        put_queue_push(mgr, r);
        mgr->stats.queued++;
    } else {
        r->state = OFFLOAD_STATE_SOFTWARE;
        mgr->stats.failed[reason]++;
    }
    if (r->tnl_inner) {
        decap_pair_inner(mgr, r);
    } else if (r->is_pop) {
        decap_pair_pop(mgr, r);
    }
    pthread_mutex_unlock(&mgr->mutex);
    return true;
}

/* Folds what the record's hardware counted since the last fold into its
 * megaflow.  Mutex held; main thread. */
static void
rec_fold(struct offload *mgr, struct offload_rec *r)
{
    if (r->hw_packets != r->credited_packets) {
        uint64_t packets = r->hw_packets - r->credited_packets;
        uint64_t bytes = r->hw_bytes - r->credited_bytes;

        if (r->decap) {
            /* A pair's packets took both passes: the first with their
             * outer headers, the second (and the tunnel port) without. */
            uint64_t outer = packets * (r->full ? r->full->decap_len : 0);

            dp_megaflow_hw_stats(mgr->dp, r->mf, packets,
                                 bytes > outer ? bytes - outer : 0,
                                 r->hw_used_ms);
            dp_megaflow_hw_stats(mgr->dp, r->mf2, packets, bytes,
                                 r->hw_used_ms);
        } else {
            dp_megaflow_hw_stats(mgr->dp, r->mf, packets, bytes,
                                 r->hw_used_ms);
        }
        if (r->sess) {
            /* A session's packets took both passes, and belong to its
             * connection. */
            dp_megaflow_hw_stats(mgr->dp, r->mf2, packets, bytes,
                                 r->hw_used_ms);
            conntrack_session_credit(dp_conntrack(mgr->dp), &r->sess->orig,
                                     r->sess->uid, r->reply, packets, bytes,
                                     (uint64_t) r->hw_used_ms);
        }
        r->credited_packets = r->hw_packets;
        r->credited_bytes = r->hw_bytes;
    }
}

static void
log_removed(struct offload *mgr, struct offload_rec *r)
{
    struct offload_removed *e = &mgr->log[mgr->log_next];

    e->when_ms = now_ms();
    e->reason = r->reason;
    e->flow = r->flow;
    e->mask = r->mask;
    e->in_port = r->flow.in_port;
    e->packets = r->hw_packets;
    e->bytes = r->hw_bytes;
    mgr->log_next = (mgr->log_next + 1) % OFFLOAD_LOG_SIZE;
    if (mgr->log_n < OFFLOAD_LOG_SIZE) {
        mgr->log_n++;
    }
    LOG_INFO_RL("flow removed from hardware (%s): in_port %u, %llu "
                "packets, %llu bytes", offload_reason_name(r->reason),
                r->flow.in_port, (unsigned long long) r->hw_packets,
                (unsigned long long) r->hw_bytes);
}

/* Handles the aged/evicted list.  Mutex held; main thread. */
static void
drain_aged(struct offload *mgr)
{
    while (mgr->aged_head) {
        struct offload_rec *r = mgr->aged_head;

        mgr->aged_head = r->anext;
        r->anext = NULL;
        r->on_aged_list = false;
        rec_fold(mgr, r);
        log_removed(mgr, r);
    }
}

/* Starts the removal of 'mf''s rule: it leaves the put queue, goes to the
 * thread's delete list, and waits there for hook_remove_wait() (dp.h:
 * the datapath hands over its removals as a batch). */
static void rec_start_removal(struct offload *, struct offload_rec *);
static void tie_remove(struct offload *, const struct dp_megaflow *);
static struct offload_sess *sess_detach(struct offload *,
                                        struct offload_rec *);

static void
hook_remove(struct dp_megaflow *mf, enum dp_removal_reason reason,
            void *mgr_)
{
    struct offload *mgr = mgr_;
    struct offload_rec *r;

    (void) reason;
    pthread_mutex_lock(&mgr->mutex);
    r = rec_find(mgr, mf);
    if (r) {
        rec_start_removal(mgr, r);
    }
    /* The sessions built on it go with it. */
    tie_remove(mgr, mf);
    pthread_mutex_unlock(&mgr->mutex);
}

/* hook_remove() of one record.  Mutex held. */
static void
rec_start_removal(struct offload *mgr, struct offload_rec *r)
{
    if (r->want_del) {
        return;
    }
    r->want_del = true;
    if (r->queued) {
        struct offload_rec **p = &mgr->put_head, *prev = NULL;

        while (*p != r) {
            prev = *p;
            p = &(*p)->qnext;
        }
        *p = r->qnext;
        if (mgr->put_tail == r) {
            mgr->put_tail = prev;
        }
        r->qnext = NULL;
        r->queued = false;
        mgr->put_len--;
    }
    if (r->hw && !r->busy && !r->on_del_list) {
        r->on_del_list = true;
        r->qnext = mgr->del_head;
        mgr->del_head = r;
        pthread_cond_signal(&mgr->wake);
    }
    r->rnext = mgr->removing;
    mgr->removing = r;
}

/* Waits until every rule hook_remove() started is out of the NIC (the
 * thread deletes them back to back), folds their last counters into the
 * datapath and forgets them. */
static void
hook_remove_wait(void *mgr_)
{
    struct offload *mgr = mgr_;
    struct offload_rec *done = NULL;
    bool repair = false;

    pthread_mutex_lock(&mgr->mutex);
    while (mgr->removing) {
        struct offload_rec *r = mgr->removing;

        while (mgr->thread_running
               && (r->busy || r->on_del_list || r->hw)) {
            pthread_cond_wait(&mgr->done, &mgr->mutex);
        }
        mgr->removing = r->rnext;
        if (r->on_aged_list) {
            /* Aged meanwhile: keep the log entry. */
            drain_aged(mgr);
        }
        rec_fold(mgr, r);
        if (r->sess) {
            struct offload_sess *x = r->sess, *empty = sess_detach(mgr, r);
            struct conntrack *ct = dp_conntrack(mgr->dp);

            if (empty) {
                /* Removed from hardware by software's choice (teardown,
                 * a megaflow gone): the connection is software's
                 * again. */
                conntrack_session_set_hw(ct, &x->orig, x->uid,
                                         x->installed ? CT_SESSION_SW
                                                      : CT_SESSION_NEVER,
                                         SESS_BACKOFF, (uint64_t) now_ms());
                free(empty);
            } else {
                conntrack_session_unclaim_dir(ct, &x->orig, x->uid,
                                              r->reply, 1);
            }
        } else if (r->decap) {
            tie_unlink(r);
            /* Its tnl_pop megaflow went (or the map changed): the inner
             * one, if it stays, may pair with another. */
            repair |= r->pair && !r->pair->want_del;
        }
        rec_unlink(mgr, r);
        r->rnext = done;
        done = r;
    }
    for (struct offload_rec *r = repair ? mgr->all : NULL; r; r = r->next) {
        if (r->tnl_inner && !r->pair && !r->want_del) {
            decap_pair_inner(mgr, r);
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
    while (done) {
        struct offload_rec *r = done;

        done = r->rnext;
        rec_free(r);
    }
}

/* ---- Sessions (offload.h "Sessions"; main thread, mutex held unless
 * said otherwise). ---- */



static size_t
sess_bucket(const struct ct_tuple *t)
{
    const uint8_t *p = (const uint8_t *) t;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < sizeof *t; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return (size_t) (h ^ (h >> 29)) & (SESS_BUCKETS - 1);
}

static struct offload_sess *
sess_find(const struct offload *mgr, const struct ct_tuple *orig)
{
    for (struct offload_sess *x = mgr->sess_buckets[sess_bucket(orig)]; x;
         x = x->hnext) {
        if (!memcmp(&x->orig, orig, sizeof *orig)) {
            return x;
        }
    }
    return NULL;
}

static void
sess_unlink(struct offload *mgr, struct offload_sess *x)
{
    struct offload_sess **p = &mgr->sess_buckets[sess_bucket(&x->orig)];

    while (*p && *p != x) {
        p = &(*p)->hnext;
    }
    if (*p) {
        *p = x->hnext;
        mgr->n_sess--;
    }
}

/* Ties: each session record is on the chain of each of its two megaflows
 * (slot 0: 'mf', slot 1: 'mf2'), doubly linked through tpprev so that
 * thousands of sessions on one megaflow unlink in O(1). */
static size_t
tie_bucket(const void *mf)
{
    uintptr_t h = (uintptr_t) mf;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t) (h >> 20) & (TIE_BUCKETS - 1);
}

/* The slot of 'n' that the link at 'pp' points to. */
static int
tie_slot(const struct offload_rec *n, struct offload_rec *const *pp)
{
    return n->tpprev[0] == pp ? 0 : 1;
}

static void
tie_link(struct offload *mgr, struct offload_rec *r)
{
    const void *mfs[2] = { r->mf, r->mf2 };

    for (int k = 0; k < 2; k++) {
        struct offload_rec **head = &mgr->ties[tie_bucket(mfs[k])];
        struct offload_rec *n = *head;

        r->tnext[k] = n;
        r->tpprev[k] = head;
        if (n) {
            n->tpprev[tie_slot(n, head)] = &r->tnext[k];
        }
        *head = r;
    }
}

static void
tie_unlink(struct offload_rec *r)
{
    for (int k = 0; k < 2; k++) {
        struct offload_rec *n = r->tnext[k];

        if (!r->tpprev[k]) {
            continue;
        }
        if (n) {
            n->tpprev[tie_slot(n, &r->tnext[k])] = r->tpprev[k];
        }
        *r->tpprev[k] = n;
        r->tnext[k] = NULL;
        r->tpprev[k] = NULL;
    }
}

/* Starts the removal of every session record tied to 'mf'. */
static void
tie_remove(struct offload *mgr, const struct dp_megaflow *mf)
{
    struct offload_rec **pp = &mgr->ties[tie_bucket(mf)];

    while (*pp) {
        struct offload_rec *n = *pp;
        int j = tie_slot(n, pp);

        if ((j ? n->mf2 : n->mf) == mf) {
            rec_start_removal(mgr, n);
        }
        pp = &n->tnext[j];
    }
}

/* Takes session record 'r' off its ties, the done list and its session.
 * Returns the session if it has no direction left (unlinked: the caller
 * ends it and frees it), else NULL. */
static struct offload_sess *
sess_detach(struct offload *mgr, struct offload_rec *r)
{
    struct offload_sess *x = r->sess;

    tie_unlink(r);
    if (r->on_sess_done) {
        struct offload_rec **p = &mgr->sess_done;

        while (*p && *p != r) {
            p = &(*p)->dnext;
        }
        if (*p) {
            *p = r->dnext;
        }
        r->on_sess_done = false;
    }
    if (x->dir[r->reply] == r) {
        x->dir[r->reply] = NULL;
    }
    if (x->dir[0] || x->dir[1]) {
        return NULL;
    }
    sess_unlink(mgr, x);
    return x;
}

/* Builds the rule of one session direction into r->full: the packet's
 * first-pass key, exact on the connection's 5-tuple, TCP without
 * SYN/FIN/RST, under both megaflows' masks; the first pass's changes to
 * the headers (its rewrites and NAT: key[0] against key[1]) as whole-field
 * sets, then the second pass's actions.  Returns 0 or EOPNOTSUPP with
 * '*reason' and 'msg'. */
static int
session_translate(struct offload_port *op,
                  const struct dp_session_offer *o, struct offload_rec *r,
                  struct resolve_ctx *rctx, enum offload_reason *reason,
                  char *msg, size_t msgsize)
{
    const struct flow *k1 = &o->key[0], *k2 = &o->key[1];
    const struct dp_actions *a1 = o->actions[0], *a2 = o->actions[1];
    size_t meta = offsetof(struct flow, dl_dst);
    bool v4 = k1->dl_type == htons(0x0800), tcp = k1->nw_proto == 6;
    struct flow f = *k1, m, c1, c2;
    struct offload_xlate x;
    struct dp_actions *acts;
    struct dp_action *a;
    bool seen_ct = false;
    int ret;

    *reason = OFFLOAD_R_ACTION_UNSUPPORTED;
    for (size_t i = 0; i < a1->n; i++) {
        uint16_t t = a1->a[i].type;

        if (t == DPA_CT && !seen_ct) {
            seen_ct = true;
        } else if (t == DPA_RECIRC && seen_ct && i == a1->n - 1) {
            continue;
        } else if (seen_ct || (t != DPA_SET_ETH && t != DPA_SET_IPV4
                               && t != DPA_SET_IPV6 && t != DPA_SET_L4)) {
            snprintf(msg, msgsize, "session: the first pass does more than "
                     "rewrite headers and ct()");
            return EOPNOTSUPP;
        }
    }
    *reason = OFFLOAD_R_MATCH_UNSUPPORTED;
    if ((!v4 && k1->dl_type != htons(0x86dd))
        || (!tcp && k1->nw_proto != 17) || k1->nw_frag) {
        snprintf(msg, msgsize, "session: only TCP and UDP over IP");
        return EOPNOTSUPP;
    }
    {
        static const struct flow_tnl no_tnl;

        if (memcmp(&k1->tunnel, &no_tnl, sizeof no_tnl)) {
            snprintf(msg, msgsize, "session: a tunnel's decapsulated "
                     "traffic (decapsulation is not offloaded)");
            return EOPNOTSUPP;
        }
    }

    /* The match. */
    m = *o->mask[0];
    for (size_t w = 0; w < FLOW_U64S; w++) {
        ((uint64_t *) (void *) &m)[w] |= flow_u64(o->mask[1])[w];
    }
    memset(&m, 0, meta);
    m.in_port = UINT32_MAX;
    m.dl_type = UINT16_MAX;
    m.nw_proto = UINT8_MAX;
    m.nw_frag = FLOW_NW_FRAG_MASK;
    if (v4) {
        m.nw_src = m.nw_dst = UINT32_MAX;
    } else {
        memset(m.ipv6_src, 0xff, 16);
        memset(m.ipv6_dst, 0xff, 16);
    }
    m.tp_src = m.tp_dst = UINT16_MAX;
    memset(&f, 0, meta);
    f.in_port = k1->in_port;
    if (tcp) {
        /* SYN, FIN and RST always reach software, and so does a segment
         * without ACK (the tracker's flag checks: with SYN, FIN and RST
         * clear, ACK set is exactly a valid combination). */
        m.tcp_flags |= htons(0x017);
        f.tcp_flags = (uint16_t) ((f.tcp_flags & htons(~0x017 & 0xffff))
                                  | htons(0x010));
    }
    for (size_t w = 0; w < FLOW_U64S; w++) {
        ((uint64_t *) (void *) &f)[w] &= flow_u64(&m)[w];
    }

    /* The actions. */
    acts = calloc(1, sizeof *acts + (3 + a2->n) * sizeof acts->a[0]);
    if (!acts) {
        *reason = OFFLOAD_R_INSERT_FAILED;
        snprintf(msg, msgsize, "out of memory");
        return ENOMEM;
    }
    a = acts->a;
    if (memcmp(k1->dl_src, k2->dl_src, 6) || memcmp(k1->dl_dst, k2->dl_dst,
                                                   6)) {
        a->type = DPA_SET_ETH;
        memcpy(a->eth.src, k2->dl_src, 6);
        memcpy(a->eth.dst, k2->dl_dst, 6);
        memset(a->eth.src_mask, memcmp(k1->dl_src, k2->dl_src, 6) ? 0xff : 0,
               6);
        memset(a->eth.dst_mask, memcmp(k1->dl_dst, k2->dl_dst, 6) ? 0xff : 0,
               6);
        a++;
    }
    if (v4 && (k1->nw_src != k2->nw_src || k1->nw_dst != k2->nw_dst
               || k1->nw_tos != k2->nw_tos || k1->nw_ttl != k2->nw_ttl)) {
        a->type = DPA_SET_IPV4;
        a->ipv4.src = k2->nw_src;
        a->ipv4.dst = k2->nw_dst;
        a->ipv4.src_mask = k1->nw_src != k2->nw_src ? UINT32_MAX : 0;
        a->ipv4.dst_mask = k1->nw_dst != k2->nw_dst ? UINT32_MAX : 0;
        a->ipv4.tos = k2->nw_tos;
        a->ipv4.tos_mask = k1->nw_tos != k2->nw_tos ? UINT8_MAX : 0;
        a->ipv4.ttl = k2->nw_ttl;
        a->ipv4.ttl_mask = k1->nw_ttl != k2->nw_ttl ? UINT8_MAX : 0;
        a++;
    } else if (!v4 && (memcmp(k1->ipv6_src, k2->ipv6_src, 16)
                       || memcmp(k1->ipv6_dst, k2->ipv6_dst, 16)
                       || k1->nw_tos != k2->nw_tos
                       || k1->nw_ttl != k2->nw_ttl)) {
        a->type = DPA_SET_IPV6;
        memcpy(a->ipv6.src, k2->ipv6_src, 16);
        memcpy(a->ipv6.dst, k2->ipv6_dst, 16);
        memset(a->ipv6.src_mask,
               memcmp(k1->ipv6_src, k2->ipv6_src, 16) ? 0xff : 0, 16);
        memset(a->ipv6.dst_mask,
               memcmp(k1->ipv6_dst, k2->ipv6_dst, 16) ? 0xff : 0, 16);
        a->ipv6.tclass = k2->nw_tos;
        a->ipv6.tclass_mask = k1->nw_tos != k2->nw_tos ? UINT8_MAX : 0;
        a->ipv6.hlimit = k2->nw_ttl;
        a->ipv6.hlimit_mask = k1->nw_ttl != k2->nw_ttl ? UINT8_MAX : 0;
        a++;
    }
    if (k1->tp_src != k2->tp_src || k1->tp_dst != k2->tp_dst) {
        a->type = DPA_SET_L4;
        a->l4.src = k2->tp_src;
        a->l4.dst = k2->tp_dst;
        a->l4.src_mask = k1->tp_src != k2->tp_src ? UINT16_MAX : 0;
        a->l4.dst_mask = k1->tp_dst != k2->tp_dst ? UINT16_MAX : 0;
        a->l4.proto = k1->nw_proto;
        a++;
    }
    /* Any other change (VLAN, ethertype, ...) has no set here. */
    c1 = *k1;
    c2 = *k2;
    memset(&c1, 0, meta);
    memset(&c2, 0, meta);
    memcpy(c2.dl_src, c1.dl_src, 6);
    memcpy(c2.dl_dst, c1.dl_dst, 6);
    c2.nw_src = c1.nw_src;
    c2.nw_dst = c1.nw_dst;
    memcpy(c2.ipv6_src, c1.ipv6_src, 16);
    memcpy(c2.ipv6_dst, c1.ipv6_dst, 16);
    c2.nw_tos = c1.nw_tos;
    c2.nw_ttl = c1.nw_ttl;
    c2.tp_src = c1.tp_src;
    c2.tp_dst = c1.tp_dst;
    if (memcmp(&c1, &c2, sizeof c1)) {
        free(acts);
        *reason = OFFLOAD_R_ACTION_UNSUPPORTED;
        snprintf(msg, msgsize, "session: the first pass changes headers "
                 "other than addresses, ports, TOS and TTL");
        return EOPNOTSUPP;
    }
    memcpy(a, a2->a, a2->n * sizeof *a);
    acts->n = (size_t) (a - acts->a) + a2->n;
    acts->in_port_drop = a2->in_port_drop;

    memset(&x, 0, sizeof x);
    x.flow = &f;
    x.mask = &m;
    x.actions = acts;
    x.mode = OFFLOAD_MODE_FULL;
    xlate_port(&x, op, rctx, r, r->idle_ms, OFFLOAD_PRIO_SESSION);
    r->flow = f;
    r->mask = m;
    ret = offload_translate(&x, r->full, reason, msg, msgsize);
    free(acts);
    return ret;
}

/* dp hook: an established direction of a connection is hot. */
static bool
hook_offer_session(const struct dp_session_offer *o, void *mgr_)
{
    struct offload *mgr = mgr_;
    struct conntrack *ct = dp_conntrack(mgr->dp);
    uint32_t in_port = o->key[0].in_port;
    struct offload_port *op = in_port < DP_MAX_PORTS ? mgr->ports[in_port]
                                                     : NULL;
    struct resolve_ctx rctx = { mgr, op };
    enum offload_reason reason = OFFLOAD_R_NONE;
    struct offload_sess *x;
    struct offload_rec *r = NULL;
    uint64_t tmo_ms = 0;
    char msg[128] = "";

    if (mgr->shut) {
        return false;
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->sess_stats.offered++;
    x = sess_find(mgr, &o->orig);
    if (!op || op->dead || op->mode != OFFLOAD_MODE_FULL) {
        reason = OFFLOAD_R_PORT_DISABLED;
        snprintf(msg, sizeof msg, "session: input port %u has no full "
                 "offload", in_port);
        goto refuse;
    }
    if (mgr->put_len >= mgr->cfg.queue_size) {
        mgr->stats.queue_full++;
        snprintf(msg, sizeof msg, "session: offload queue full");
        goto refuse;
    }
    if (!mgr->cfg.evict && mgr->n_hw + mgr->put_len >= mgr->cfg.max_flows) {
        mgr->stats.capacity_kept_sw++;
        reason = OFFLOAD_R_CAPACITY;
        snprintf(msg, sizeof msg, "session: max_flows reached");
        goto refuse;
    }
    if (x && (x->uid != o->uid || x->dir[o->reply])) {
        /* A re-opened tuple waits for its predecessor's rules to go
         * (sessions_audit()). */
        snprintf(msg, sizeof msg, "session: %s",
                 x->uid != o->uid ? "the tuple's previous connection is "
                 "still in hardware" : "direction already offloaded");
        goto refuse;
    }
    r = calloc(1, sizeof *r);
    if (!r || !(r->full = malloc(sizeof *r->full))) {
        snprintf(msg, sizeof msg, "session: out of memory");
        goto refuse;
    }
    if (conntrack_session_timeout(ct, &o->orig, o->uid, &tmo_ms)) {
        snprintf(msg, sizeof msg, "session: the connection is gone");
        goto refuse;
    }
    r->idle_ms = mgr->cfg.session_idle_ms ? mgr->cfg.session_idle_ms
                 : (unsigned) (tmo_ms < 1000 ? 1000
                               : tmo_ms > UINT32_MAX ? UINT32_MAX : tmo_ms);
    r->mf = o->mf[0];
    r->mf2 = o->mf[1];
    r->reply = o->reply;
    r->op = op;
    r->offer_pps = mgr->cfg.min_pps ? mgr->cfg.min_pps : 1;
    if (session_translate(op, o, r, &rctx, &reason, msg, sizeof msg)) {
        goto refuse;
    }
    if (!x) {
        x = calloc(1, sizeof *x);
        if (!x) {
            snprintf(msg, sizeof msg, "session: out of memory");
            goto refuse;
        }
        x->orig = o->orig;
        x->uid = o->uid;
        x->hnext = mgr->sess_buckets[sess_bucket(&o->orig)];
        mgr->sess_buckets[sess_bucket(&o->orig)] = x;
        mgr->n_sess++;
    }
    /* From here the connection does not expire in software and its TCP
     * windows are not enforced (conntrack.h "Session offload"). */
    conntrack_session_set_hw(ct, &o->orig, o->uid, CT_SESSION_HW, 0,
                             (uint64_t) now_ms());
    r->sess = x;
    x->dir[o->reply] = r;
    x->left[o->reply] = SESS_LEFT_NONE;
    rec_insert(mgr, r);
    tie_link(mgr, r);
    put_queue_push(mgr, r);
    mgr->sess_stats.queued++;
    pthread_mutex_unlock(&mgr->mutex);
    return true;

refuse:
    mgr->sess_stats.refused++;
    if (reason != OFFLOAD_R_NONE) {
        mgr->stats.failed[reason]++;
    }
    snprintf(mgr->sess_last_refusal, sizeof mgr->sess_last_refusal, "%s",
             msg);
    pthread_mutex_unlock(&mgr->mutex);
    rec_free(r);
    return false;
}

/* dp hook: software saw a FIN or RST of an offloaded connection (or
 * changed its mark or label): its rules leave the NIC now, and the
 * connection goes on in software. */
static void
hook_session_teardown(const struct ct_tuple *orig, uint64_t uid,
                      void *mgr_)
{
    struct offload *mgr = mgr_;
    struct offload_sess *x;

    pthread_mutex_lock(&mgr->mutex);
    x = sess_find(mgr, orig);
    if (x && x->uid == uid) {
        mgr->sess_stats.torn_down++;
        for (int d = 0; d < 2; d++) {
            if (x->dir[d]) {
                rec_start_removal(mgr, x->dir[d]);
            }
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
    /* The datapath calls hook_remove_wait() once for the drain's
     * teardowns. */
}

/* Ends a session whose last direction left hardware on its own: if every
 * direction left by aging and software saw nothing of it since, the
 * connection is closed as idle (its event carries the final counts);
 * otherwise it goes back to software.  Frees 'x'. */
static void
sess_end(struct offload *mgr, struct offload_sess *x)
{
    struct conntrack *ct = dp_conntrack(mgr->dp);
    uint64_t now = (uint64_t) now_ms();
    bool aged = x->left[0] != SESS_LEFT_OTHER
                && x->left[1] != SESS_LEFT_OTHER
                && (x->left[0] == SESS_LEFT_AGED
                    || x->left[1] == SESS_LEFT_AGED);
    int ret = EBUSY;

    if (aged) {
        ret = conntrack_session_close_idle(ct, &x->orig, x->uid,
                                           (uint64_t) x->hw_last_ms, now);
        if (!ret) {
            mgr->sess_stats.closed_idle++;
        }
    }
    if (ret == EBUSY) {
        /* Busy again in software after aging: offered again at once;
         * refused or evicted: after a back-off. */
        conntrack_session_set_hw(ct, &x->orig, x->uid,
                                 x->installed ? CT_SESSION_SW
                                              : CT_SESSION_NEVER,
                                 aged ? 1 : SESS_BACKOFF, now);
        mgr->sess_stats.returned++;
    }
    free(x);
}

/* Every session whose connection is gone or asked for a teardown (the
 * notice was lost: the datapath's queue was full) leaves the NIC.
 * Returns true if any removal was started (the caller then waits:
 * hook_remove_wait()). */
static bool
sessions_audit(struct offload *mgr)
{
    struct conntrack *ct = dp_conntrack(mgr->dp);
    bool any = false;

    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        for (struct offload_sess *x = mgr->sess_buckets[b]; x;
             x = x->hnext) {
            if (!conntrack_session_state(ct, &x->orig, x->uid)) {
                continue;
            }
            for (int d = 0; d < 2; d++) {
                if (x->dir[d] && !x->dir[d]->want_del) {
                    rec_start_removal(mgr, x->dir[d]);
                    any = true;
                }
            }
        }
    }
    if (any) {
        mgr->sess_stats.torn_down++;
    }
    return any;
}

/* Handles the session directions that left hardware (aged, evicted, port
 * removed) or never got in. */
static void
sessions_run(struct offload *mgr)
{
    struct offload_rec **p = &mgr->sess_done;

    while (*p) {
        struct offload_rec *r = *p;
        struct offload_sess *x = r->sess, *empty;
        long long last = r->hw_used_ms > r->installed_ms ? r->hw_used_ms
                                                         : r->installed_ms;
        bool reply = r->reply;

        if (r->busy || r->hw || r->queued) {
            p = &r->dnext;          /* The thread is not done with it. */
            continue;
        }
        rec_fold(mgr, r);
        x->left[reply] = r->reason == OFFLOAD_R_AGED ? SESS_LEFT_AGED
                                                     : SESS_LEFT_OTHER;
        if (last > x->hw_last_ms) {
            x->hw_last_ms = last;
        }
        empty = sess_detach(mgr, r);    /* Also takes it off *p. */
        rec_unlink(mgr, r);
        if (!empty) {
            /* The other direction is still in hardware: this one is
             * software's again, and may be offered again. */
            conntrack_session_unclaim_dir(dp_conntrack(mgr->dp), &x->orig,
                                          x->uid, reply,
                                          r->reason == OFFLOAD_R_AGED
                                          ? 1 : SESS_BACKOFF);
        } else {
            sess_end(mgr, empty);
        }
        rec_free(r);
    }
}

void
offload_get_session_stats(struct offload *mgr,
                          struct offload_session_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!mgr) {
        return;
    }
    pthread_mutex_lock(&mgr->mutex);
    *s = mgr->sess_stats;
    s->sessions = mgr->n_sess;
    s->in_hw = mgr->n_sess_hw;
    snprintf(s->last_refusal, sizeof s->last_refusal, "%s",
             mgr->sess_last_refusal);
    pthread_mutex_unlock(&mgr->mutex);
}

void
offload_session_dump(struct offload *mgr,
                     void (*cb)(const struct offload_session_info *, void *),
                     void *aux)
{
    if (!mgr) {
        return;
    }
    pthread_mutex_lock(&mgr->mutex);
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        for (struct offload_sess *x = mgr->sess_buckets[b]; x;
             x = x->hnext) {
            struct offload_session_info info;

            memset(&info, 0, sizeof info);
            info.orig = x->orig;
            for (int d = 0; d < 2; d++) {
                struct offload_rec *r = x->dir[d];

                if (!r) {
                    continue;
                }
                info.dir[d].present = true;
                info.dir[d].state = r->state;
                info.dir[d].reason = r->reason;
                snprintf(info.dir[d].message, sizeof info.dir[d].message,
                         "%s", r->msg);
                info.dir[d].in_port = r->flow.in_port;
                info.dir[d].port = r->op ? r->op->name : NULL;
                info.dir[d].hw_packets = r->hw_packets;
                info.dir[d].hw_bytes = r->hw_bytes;
                info.dir[d].idle_ms = r->idle_ms;
            }
            cb(&info, aux);
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
}

/* ---- Public API. ---- */

int
offload_create(struct dp *dp, const struct offload_config *cfg,
               struct offload **mgrp, char *err, size_t errsize)
{
    struct offload *mgr = calloc(1, sizeof *mgr);
    struct dp_offload_hooks hooks = {
        .offer = hook_offer, .remove = hook_remove,
        .remove_wait = hook_remove_wait,
        .offer_session = cfg->sessions ? hook_offer_session : NULL,
        .session_teardown = hook_session_teardown,
    };
    struct dp_offload_policy policy;
    int ret;

    *mgrp = NULL;
    if (!mgr) {
        snprintf(err, errsize, "offload: out of memory");
        return ENOMEM;
    }
    offload_init_classes();
    mgr->dp = dp;
    mgr->tnl_map_gen = dp_tnl_map_generation(dp);
    mgr->cfg = *cfg;
    if (!mgr->cfg.stats_ms) {
        mgr->cfg.stats_ms = 1000;
    }
    if (!mgr->cfg.queue_size) {
        mgr->cfg.queue_size = 4096;
    }
    if (!mgr->cfg.max_flows) {
        mgr->cfg.max_flows = 65536;
    }
    mgr->n_buckets = 1024;
    mgr->buckets = calloc(mgr->n_buckets, sizeof *mgr->buckets);
    if (!mgr->buckets) {
        free(mgr);
        snprintf(err, errsize, "offload: out of memory");
        return ENOMEM;
    }
    pthread_mutex_init(&mgr->mutex, NULL);
    pthread_cond_init(&mgr->wake, NULL);
    pthread_cond_init(&mgr->done, NULL);
    mgr->thread_running = true;
    ret = pthread_create(&mgr->thread, NULL, offload_thread, mgr);
    if (ret) {
        free(mgr->buckets);
        free(mgr);
        snprintf(err, errsize, "offload: cannot start thread: %s",
                 strerror(ret));
        return ret;
    }
    pthread_setname_np(mgr->thread, "sl-offload");
    policy = (struct dp_offload_policy) {
        .min_packets = cfg->min_packets,
        .min_pps = cfg->min_pps,
        .check_ms = cfg->check_ms,
        .session_min_packets = cfg->sessions
                               ? (cfg->session_min_packets
                                  ? cfg->session_min_packets : 16) : 0,
    };
    dp_set_offload(dp, &hooks, &policy, mgr);
    *mgrp = mgr;
    return 0;
}

void
offload_shutdown(struct offload *mgr)
{
    if (!mgr || mgr->shut) {
        return;
    }
    mgr->shut = true;
    pthread_mutex_lock(&mgr->mutex);
    mgr->stop = true;
    pthread_cond_signal(&mgr->wake);
    pthread_mutex_unlock(&mgr->mutex);
    pthread_join(mgr->thread, NULL);
    {
        /* What the ports still hold, or what the providers' NICs hold
         * in all, if more (rules no port accounts for). */
        size_t left = mgr->stats.left_at_shutdown;
        size_t nic_left = offload_classes_rules_left();

        if (nic_left > left) {
            left = nic_left;
        }
        mgr->stats.left_at_shutdown = left;
        if (left) {
            LOG_ERR("shutdown: %llu rules flushed, %zu left in hardware",
                    (unsigned long long) mgr->stats.flushed, left);
        } else {
            LOG_INFO("shutdown: %llu rules flushed, %zu left in hardware",
                     (unsigned long long) mgr->stats.flushed, left);
        }
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);
    /* Queued inserts never happen now. */
    for (struct offload_rec *r = mgr->put_head; r; r = r->qnext) {
        r->queued = false;
        r->state = OFFLOAD_STATE_SOFTWARE;
    }
    mgr->put_head = mgr->put_tail = NULL;
    mgr->put_len = 0;
    for (struct offload_rec *r = mgr->all; r; r = r->next) {
        rec_fold(mgr, r);
    }
    /* No rule is left: offloaded connections expire in software again. */
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        for (struct offload_sess *x = mgr->sess_buckets[b]; x;
             x = x->hnext) {
            conntrack_session_set_hw(dp_conntrack(mgr->dp), &x->orig,
                                     x->uid, CT_SESSION_SW, SESS_BACKOFF,
                                     (uint64_t) now_ms());
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op = mgr->ports[p];

        if (op && !op->dead) {
            op->class->port_uninit(op);
            op->dead = true;
        }
    }
}

void
offload_destroy(struct offload *mgr)
{
    if (!mgr) {
        return;
    }
    offload_shutdown(mgr);
    while (mgr->all) {
        struct offload_rec *r = mgr->all;

        rec_unlink(mgr, r);
        rec_free(r);
    }
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        while (mgr->sess_buckets[b]) {
            struct offload_sess *x = mgr->sess_buckets[b];

            mgr->sess_buckets[b] = x->hnext;
            free(x);
        }
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        struct offload_port *op = mgr->ports[p];

        if (op && op->class->port_free) {
            op->class->port_free(op);
        }
        free(op);
    }
    for (size_t i = 0; i < mgr->n_dead_ports; i++) {
        struct offload_port *op = mgr->dead_ports[i];

        if (op->class->port_free) {
            op->class->port_free(op);
        }
        free(op);
    }
    free(mgr->dead_ports);
    free(mgr->buckets);
    pthread_mutex_destroy(&mgr->mutex);
    pthread_cond_destroy(&mgr->wake);
    pthread_cond_destroy(&mgr->done);
    free(mgr);
}

/* Runs a port request on the offload thread and waits.  Main thread. */
static int
port_request(struct offload *mgr, struct offload_port *op, int opcode,
             char *err, size_t errsize)
{
    int ret;

    pthread_mutex_lock(&mgr->mutex);
    if (!mgr->thread_running) {
        pthread_mutex_unlock(&mgr->mutex);
        if (opcode == 1) {
            return op->class->port_init(op, err, errsize);
        }
        mgr->stats.left_at_port_del += port_flush_check(op, "removal");
        op->class->port_uninit(op);
        return 0;
    }
    mgr->port_req = op;
    mgr->port_req_op = opcode;
    mgr->port_req_done = false;
    pthread_cond_signal(&mgr->wake);
    while (!mgr->port_req_done) {
        pthread_cond_wait(&mgr->done, &mgr->mutex);
    }
    ret = mgr->port_req_ret;
    if (err && errsize) {
        snprintf(err, errsize, "%s", mgr->port_req_err);
    }
    drain_aged(mgr);
    pthread_mutex_unlock(&mgr->mutex);
    return ret;
}

int
offload_port_add(struct offload *mgr, uint32_t dp_port, struct port *port,
                 const char *name, const struct cfg_port_offload *oc,
                 char *err, size_t errsize)
{
    const struct offload_class *class;
    struct offload_port *op;
    char perr[256] = "";
    int ret;

    if (!mgr || !oc || oc->mode == CFG_OFFLOAD_NONE
        || dp_port >= DP_MAX_PORTS) {
        return 0;
    }
    if (mgr->ports[dp_port]) {
        snprintf(err, errsize, "offload: datapath port %u already added",
                 dp_port);
        return EEXIST;
    }
    class = oc->provider[0] ? offload_class_lookup(oc->provider)
                            : offload_class_default(port_type(port));
    if (!class) {
        snprintf(err, errsize, "offload: no provider \"%s\"",
                 oc->provider[0] ? oc->provider : port_type(port));
        return ENOENT;
    }
    op = calloc(1, sizeof *op);
    if (!op) {
        snprintf(err, errsize, "offload: out of memory");
        return ENOMEM;
    }
    op->class = class;
    op->mgr = mgr;
    op->cfg = &mgr->cfg;
    snprintf(op->name, sizeof op->name, "%s", name);
    op->dp_port = dp_port;
    op->port = port;
    op->mode = oc->mode == CFG_OFFLOAD_FULL ? OFFLOAD_MODE_FULL
                                            : OFFLOAD_MODE_PARTIAL;
    op->n_rxq = port_n_rxq(port);
    snprintf(op->nic, sizeof op->nic, "%s", oc->nic[0] ? oc->nic : name);
    ret = port_request(mgr, op, 1, perr, sizeof perr);
    if (ret) {
        /* Not fatal: the port runs in software; offload-show says why. */
        memset(&op->caps, 0, sizeof op->caps);
        snprintf(op->probe, sizeof op->probe, "probe failed: %s",
                 perr[0] ? perr : strerror(ret));
        op->dead = true;
        LOG_WARN("port %s: offload (%s): %s", name, op->class->name,
                 op->probe);
    }
    pthread_mutex_lock(&mgr->mutex);
    mgr->ports[dp_port] = op;
    pthread_mutex_unlock(&mgr->mutex);
    return 0;
}

void
offload_port_del(struct offload *mgr, uint32_t dp_port)
{
    struct offload_port *op, **dead;

    if (!mgr || dp_port >= DP_MAX_PORTS || !mgr->ports[dp_port]) {
        return;
    }
    op = mgr->ports[dp_port];
    if (!op->dead) {
        port_request(mgr, op, 2, NULL, 0);
        op->dead = true;
    }
    /* Records may still point at it: keep it until destroy. */
    dead = realloc(mgr->dead_ports,
                   (mgr->n_dead_ports + 1) * sizeof *dead);
    pthread_mutex_lock(&mgr->mutex);
    mgr->ports[dp_port] = NULL;
    if (dead) {
        mgr->dead_ports = dead;
        dead[mgr->n_dead_ports++] = op;
    }
    for (struct offload_rec *r = mgr->all; r; r = r->next) {
        if (r->op == op) {
            r->op = NULL;
        }
    }
    pthread_mutex_unlock(&mgr->mutex);
    if (!dead) {
        free(op);               /* No record refers to it any more. */
    }
}

/* Whether a flow that went back to software may be tried again. */
static bool
reason_retryable(enum offload_reason r)
{
    return r == OFFLOAD_R_AGED || r == OFFLOAD_R_EVICTED
           || r == OFFLOAD_R_TABLE_FULL || r == OFFLOAD_R_CAPACITY
           || r == OFFLOAD_R_INSERT_FAILED;
}

/* dp_megaflow_dump() callback (the PMD's flow mutex is held; lock order:
 * flow mutex, then mgr->mutex, as in the offer hook). */
static void
retry_cb(const struct dp_megaflow_info *info, void *mgr_)
{
    struct offload *mgr = mgr_;
    struct offload_rec *r;

    pthread_mutex_lock(&mgr->mutex);
    r = rec_find(mgr, info->handle);
    if (r && r->state == OFFLOAD_STATE_SOFTWARE && reason_retryable(r->reason)
        && r->op && !r->op->dead && !r->queued && !r->busy && !r->want_del
        && !r->hw && (r->full || r->partial)
        && mgr->put_len < mgr->cfg.queue_size
        && info->packets - r->sw_packets_seen
           >= (mgr->cfg.min_packets ? mgr->cfg.min_packets : 1)) {
        /* Hot again in software: queue it again. */
        put_queue_push(mgr, r);
        mgr->stats.requeued++;
    }
    if (r && r->tnl_inner && r->pair) {
        /* A decapsulation pair that left hardware (or never got in), hot
         * again by its inner megaflow's count. */
        struct offload_rec *d = r->pair;

        if (d->state == OFFLOAD_STATE_SOFTWARE
            && (reason_retryable(d->reason)
                || d->reason == OFFLOAD_R_QUEUE_FULL)
            && d->op && !d->op->dead && !d->queued && !d->busy
            && !d->want_del && !d->hw && d->full
            && mgr->put_len < mgr->cfg.queue_size
            && info->packets - r->sw_packets_seen
               >= (mgr->cfg.min_packets ? mgr->cfg.min_packets : 1)) {
            put_queue_push(mgr, d);
            mgr->stats.requeued++;
        }
    }
    if (r) {
        r->sw_packets_seen = info->packets;
    }
    pthread_mutex_unlock(&mgr->mutex);
}

unsigned
offload_run(struct offload *mgr)
{
    long long now;
    bool audit;

    if (!mgr) {
        return 1000;
    }
    now = now_ms();
    if (now >= mgr->next_retry_ms && !mgr->shut) {
        unsigned period = mgr->cfg.check_ms * 5;

        mgr->next_retry_ms = now + (period < 100 ? 100 : period);
        dp_megaflow_dump(mgr->dp, retry_cb, mgr);
    }
    if (dp_tnl_map_generation(mgr->dp) != mgr->tnl_map_gen) {
        /* Tunnel ports changed: which port a decapsulated packet belongs
         * to may have too.  Every pair leaves the NIC and is made again
         * under the new map. */
        pthread_mutex_lock(&mgr->mutex);
        mgr->tnl_map_gen = dp_tnl_map_generation(mgr->dp);
        for (struct offload_rec *r = mgr->all; r; r = r->next) {
            if (r->decap) {
                rec_start_removal(mgr, r);
            }
        }
        pthread_mutex_unlock(&mgr->mutex);
        hook_remove_wait(mgr);      /* Which pairs them again. */
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);
    sessions_run(mgr);
    if (mgr->stats_epoch != mgr->stats_epoch_seen) {
        mgr->stats_epoch_seen = mgr->stats_epoch;
        for (struct offload_rec *r = mgr->all; r; r = r->next) {
            rec_fold(mgr, r);
        }
    }
    audit = mgr->n_sess && now >= mgr->next_audit_ms;
    if (audit) {
        mgr->next_audit_ms = now + 1000;
        audit = sessions_audit(mgr);
    }
    pthread_mutex_unlock(&mgr->mutex);
    if (audit) {
        hook_remove_wait(mgr);
    }
    return 10;
}

bool
offload_flow_get(struct offload *mgr, const void *mf,
                 struct offload_flow_info *info)
{
    struct offload_rec *r;

    memset(info, 0, sizeof *info);
    if (!mgr) {
        return false;
    }
    pthread_mutex_lock(&mgr->mutex);
    r = rec_find(mgr, mf);
    if (r && r->tnl_inner && r->pair) {
        r = r->pair;            /* What its packets get: the pair's rule. */
    }
    if (r) {
        info->state = r->state;
        info->reason = r->reason;
        snprintf(info->message, sizeof info->message, "%s", r->msg);
        info->port = r->op ? r->op->name : NULL;
    }
    pthread_mutex_unlock(&mgr->mutex);
    return r != NULL;
}

void
offload_get_stats(struct offload *mgr, struct offload_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!mgr) {
        return;
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);            /* Main thread: the log is current. */
    *s = mgr->stats;
    s->in_hw = mgr->n_hw;
    s->queue_len = mgr->put_len;
    s->records = mgr->n_recs;
    s->decap_now = mgr->n_decap;
    pthread_mutex_unlock(&mgr->mutex);
}

void
offload_port_dump(struct offload *mgr,
                  void (*cb)(const struct offload_port *, void *), void *aux)
{
    if (!mgr) {
        return;
    }
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        if (mgr->ports[p]) {
            cb(mgr->ports[p], aux);
        }
    }
}

size_t
offload_removed_log(struct offload *mgr, struct offload_removed *out,
                    size_t n)
{
    size_t k = 0;

    if (!mgr) {
        return 0;
    }
    pthread_mutex_lock(&mgr->mutex);
    drain_aged(mgr);
    for (size_t i = 0; i < mgr->log_n && k < n; i++) {
        size_t idx = (mgr->log_next + OFFLOAD_LOG_SIZE - mgr->log_n + i)
                     % OFFLOAD_LOG_SIZE;

        out[k++] = mgr->log[idx];
    }
    pthread_mutex_unlock(&mgr->mutex);
    return k;
}
