/* SPDX-License-Identifier: BSD-3-Clause */
/* ofproto.c: rule tables, flow mods with undo, timeouts, dump and xlate. */
#include "ofproto.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cls.h"
#include "mac-learning.h"
#include "meta-flow.h"

#define PORT_NAME_MAX 64

/* What translation reports as hit (ofproto_xlate_out), for the datapath
 * to credit: a rule, or the counters of a group or of one of its buckets.
 * Each starts with its kind, so that references held as 'void *' credit
 * and release through ofproto_hit_credit() and ofproto_hit_unref(). */
enum hit_kind {
    HIT_RULE = 0x5a,
    HIT_GROUP,
    HIT_BUCKET,
    HIT_FROZEN,                 /* A frozen state (no counters). */
};

/* A frozen pipeline state (ofproto.h, "Recirculation"): what a pass that
 * ends in ct(table=T) leaves for the next one besides the packet, named
 * by its recirc_id.  In ofp->frozen's two maps (by state and by id) while
 * it is in the table; the table holds one reference, and each megaflow
 * (or not-cached upcall result) whose actions recirculate to it holds
 * one, reported as a counter of its translation. */
/* The action set a pass froze, by value (the rules that wrote it may be
 * gone by the next pass).  Zero-filled where unused and copied byte for
 * byte, so the same set from the same rules compares equal. */
struct frozen_aset {
    bool pop;
    bool dec_ttl;
    bool has_push;
    bool has_group;
    bool has_output;
    uint8_t n_set;
    uint8_t table_id;
    struct of_action push;
    struct of_action group;
    struct of_action output;
    struct of_action set[OFPROTO_ASET_MAX_SETS];
};

/* The bytes of 'fa' in use: a frozen state keeps only those (the sets
 * not written are not stored, hashed or compared). */
static size_t
frozen_aset_size(const struct frozen_aset *fa)
{
    return offsetof(struct frozen_aset, set) + fa->n_set * sizeof fa->set[0];
}

/* What identifies a frozen state: the table to resume in and the
 * pipeline's state at the ct(table=T).  in_port, tunnel and aset only
 * when the pass had changed them from the packet's (else has_in_port
 * false, NULL, NULL: the next pass has the packet's own). */
struct frozen_key {
    uint8_t table;
    bool has_in_port;
    uint32_t in_port;
    uint64_t metadata;
    const uint32_t *regs;               /* FLOW_N_REGS */
    const struct flow_tnl *tunnel;
    const struct frozen_aset *aset;
};

struct frozen {
    uint8_t hit_kind;           /* HIT_FROZEN */
    uint8_t table;
    bool marked;                /* The sweep's: unreferenced when last */
    bool touched;               /* seen; a translation used it since. */
    uint32_t id;
    uint32_t hash;
    bool has_in_port;           /* False: the packet's own in_port. */
    uint32_t in_port;
    uint64_t metadata;
    uint32_t regs[FLOW_N_REGS];
    struct flow_tnl *tunnel;    /* Owned; NULL: the packet's own. */
    struct frozen_aset *aset;   /* Owned, frozen_aset_size() bytes;
                                 * NULL: an empty set. */
    _Atomic uint32_t ref_cnt;
    struct frozen *next_by_state;
    struct frozen *next_by_id;
};

struct ofproto_rule {
    uint8_t hit_kind;               /* HIT_RULE */
    struct cls_rule cr;             /* In ofp->tables[table_id] when live. */
    struct ofproto_rule *prev;      /* ofp->rules list, when live. */
    struct ofproto_rule *next;
    struct ofproto_rule *tprev;     /* ofp->timed list, when live with a */
    struct ofproto_rule *tnext;     /*   timeout (expiry walks only it). */
    /* The match is cr.flow (pre-masked) and 'mask' (cr.mask points to
     * it): one copy per rule. */
    struct flow mask;
    uint8_t table_id;
    uint16_t idle_timeout;
    uint16_t hard_timeout;
    uint64_t cookie;
    long long created_ms;
    uint64_t seq;                   /* Creation order, for dumps. */
    uint64_t mark;                  /* replace_flows scratch. */
    struct of_actions *actions;     /* Owned; never NULL. */
    bool send_flow_rem;             /* Report its removal. */
    bool reset_counts;              /* Added with it (reported back). */

    _Atomic bool live;
    _Atomic uint32_t ref_cnt;
    _Atomic long long used_ms;
    _Atomic uint64_t n_packets;
    _Atomic uint64_t n_bytes;
};

struct ofport {
    uint32_t ofport;
    uint32_t dp_port;
    char name[PORT_NAME_MAX];
    bool no_flood;              /* Left out of FLOOD, ALL and NORMAL's. */
    bool hooked;                /* Outputs go through the output hook. */
    bool down;                  /* Not live (fast-failover groups). */
};

/* A meter (ofproto.h "Meters"): its configuration; the datapath
 * meters. */
struct ofmeter {
    struct of_meter_spec spec;
    long long created_ms;
};

/* A group's packet and byte counters: the group holds a reference, and
 * so does every megaflow translated through it, which credits them until
 * it goes (after the group changed or went too).  A modified group keeps
 * its counters. */
struct ofgroup_ctr {
    uint8_t hit_kind;           /* HIT_GROUP */
    _Atomic uint32_t ref_cnt;
    _Atomic uint64_t packets;
    _Atomic uint64_t bytes;
};

/* The counters of a group's buckets, one per bucket, as one block with
 * one reference count: a modified group gets a new block (its buckets
 * are new). */
struct ofbucket_ctrs {
    _Atomic uint32_t ref_cnt;
    size_t n;
    struct ofbucket_ctr {
        uint8_t hit_kind;       /* HIT_BUCKET */
        struct ofbucket_ctrs *block;
        _Atomic uint64_t packets;
        _Atomic uint64_t bytes;
    } b[];
};

/* A group (ofproto.h "Groups"). */
struct ofgroup {
    uint32_t id;
    uint8_t type;               /* OFG_TYPE_* */
    size_t n_buckets;
    struct of_bucket *buckets;  /* Owned, actions included. */
    long long created_ms;
    struct ofgroup_ctr *ctr;    /* A reference. */
    struct ofbucket_ctrs *bctrs;        /* A reference. */
};

struct ofproto {
    char *name;
    struct cls *tables[OF_N_TABLES];
    struct ofproto_rule *rules_head;    /* Every live rule. */
    struct ofproto_rule *rules_tail;
    struct ofproto_rule *timed;         /* Live rules with a timeout. */
    size_t n_rules;
    uint64_t next_seq;
    uint64_t mark_epoch;

    struct ofport *ports;               /* Sorted by ofport. */
    size_t n_ports;
    size_t ports_cap;

    struct ml *ml;
    bool learning;
    bool fail_open;                     /* Every packet: NORMAL. */
    _Atomic uint64_t generation;
    const struct ofproto_output_hook *hook;     /* NULL: none. */
    void (*removed_cb)(const struct ofproto_rule_info *,
                       enum ofproto_removed_reason, void *aux);
    void *removed_aux;
    struct ofgroup **groups;            /* Sorted by id. */
    size_t n_groups;
    struct ofmeter *meters;             /* Sorted by id. */
    size_t n_meters;

    /* Frozen states (struct frozen), under their own mutex: translations
     * run in parallel on the reader side. */
    pthread_mutex_t frozen_mu;
    struct frozen **frozen_by_state;    /* frozen_mask + 1 chains each. */
    struct frozen **frozen_by_id;
    uint32_t frozen_mask;
    size_t n_frozen;
    uint32_t frozen_next_id;
    long long frozen_swept_ms;
    _Atomic uint64_t frozen_refused;    /* Translations refused: full. */
};

static void group_free(struct ofgroup *g);
static int select_rules(struct ofproto *ofp, const struct of_flow_spec *spec,
                        bool strict, struct ofproto_rule ***out,
                        size_t *n_out);
static int validate_actions(const struct ofproto *ofp,
                            const struct of_actions *acts, uint8_t table_id,
                            bool table_known, char *err, size_t errsize,
                            size_t idx);

static void frozen_unref(struct frozen *f);

/* ---- Helpers. ---- */

static void
set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err, errsize, fmt, args);
        va_end(args);
    }
}

static void
bump(struct ofproto *ofp)
{
    atomic_fetch_add_explicit(&ofp->generation, 1, memory_order_release);
}

static struct of_actions *
actions_clone(const struct of_actions *src)
{
    size_t n = src ? src->n : 0;
    struct of_actions *a = malloc(of_actions_size(n));
    if (a) {
        a->n = n;
        if (n) {
            memcpy(a->a, src->a, n * sizeof a->a[0]);
        }
    }
    return a;
}

static bool
actions_equal(const struct of_actions *a, const struct of_actions *b)
{
    return of_actions_equal(a, b);
}

static void
match_normalize(struct of_match *dst, const struct of_match *src)
{
    dst->wc = src->wc;
    flow_apply_mask(&dst->flow, &src->flow, &src->wc);
}

/* True if 'a' is the match of the classifier rule 'b'. */
static bool
match_same(const struct of_match *a, const struct cls_rule *b)
{
    return !memcmp(&a->wc, b->mask, sizeof a->wc)
           && !memcmp(&a->flow, &b->flow, sizeof a->flow);
}

/* True if 'm' covers the match of 'r': every bit 'm' matches on, 'r'
 * matches on too, with the same value. */
static bool
match_covers(const struct of_match *m, const struct cls_rule *r)
{
    const uint64_t *mf = flow_u64(&m->flow), *mw = flow_u64(&m->wc);
    const uint64_t *rf = flow_u64(&r->flow), *rw = flow_u64(r->mask);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((mw[i] & ~rw[i]) || ((mf[i] ^ rf[i]) & mw[i])) {
            return false;
        }
    }
    return true;
}

static void
flow_or(struct flow *dst, const struct flow *src)
{
    uint64_t *d = (uint64_t *) (void *) dst;
    const uint64_t *s = flow_u64(src);
    for (size_t i = 0; i < FLOW_U64S; i++) {
        d[i] |= s[i];
    }
}

static bool
actions_output_to(const struct of_actions *acts, uint32_t port)
{
    for (size_t i = 0; i < acts->n; i++) {
        if (acts->a[i].type == OFPACT_OUTPUT
            && acts->a[i].output.port == port) {
            return true;
        }
        if (acts->a[i].type == OFPACT_CONTROLLER && port == OFPP_CONTROLLER) {
            return true;
        }
    }
    return false;
}

/* ---- Rules. ---- */

static struct ofproto_rule *
rule_create(const struct of_flow_spec *spec, uint8_t table_id,
            long long now_ms, uint64_t seq)
{
    struct ofproto_rule *r = calloc(1, sizeof *r);
    if (!r) {
        return NULL;
    }
    r->hit_kind = HIT_RULE;
    r->actions = actions_clone(spec->actions);
    if (!r->actions) {
        free(r);
        return NULL;
    }
    r->mask = spec->match.wc;
    cls_rule_init(&r->cr, &spec->match.flow, &r->mask, spec->priority);
    r->table_id = table_id;
    r->idle_timeout = spec->idle_timeout;
    r->hard_timeout = spec->hard_timeout;
    r->cookie = spec->cookie;
    r->send_flow_rem = spec->send_flow_rem;
    r->reset_counts = spec->reset_counts;
    r->created_ms = now_ms;
    r->seq = seq;
    atomic_init(&r->live, false);
    atomic_init(&r->ref_cnt, 1);
    atomic_init(&r->used_ms, now_ms);
    atomic_init(&r->n_packets, 0);
    atomic_init(&r->n_bytes, 0);
    return r;
}

void
ofproto_rule_ref(struct ofproto_rule *rule)
{
    if (rule) {
        atomic_fetch_add_explicit(&rule->ref_cnt, 1, memory_order_relaxed);
    }
}

void
ofproto_rule_unref(struct ofproto_rule *rule)
{
    if (rule && atomic_fetch_sub_explicit(&rule->ref_cnt, 1,
                                          memory_order_acq_rel) == 1) {
        free(rule->actions);
        free(rule);
    }
}

/* ---- Group and bucket counters. ---- */

static struct ofgroup_ctr *
group_ctr_new(void)
{
    struct ofgroup_ctr *c = calloc(1, sizeof *c);

    if (c) {
        c->hit_kind = HIT_GROUP;
        atomic_init(&c->ref_cnt, 1);
    }
    return c;
}

static void
group_ctr_unref(struct ofgroup_ctr *c)
{
    if (c && atomic_fetch_sub_explicit(&c->ref_cnt, 1,
                                       memory_order_acq_rel) == 1) {
        free(c);
    }
}

static struct ofbucket_ctrs *
bucket_ctrs_new(size_t n)
{
    struct ofbucket_ctrs *bc = calloc(1, sizeof *bc + n * sizeof bc->b[0]);

    if (bc) {
        atomic_init(&bc->ref_cnt, 1);
        bc->n = n;
        for (size_t i = 0; i < n; i++) {
            bc->b[i].hit_kind = HIT_BUCKET;
            bc->b[i].block = bc;
        }
    }
    return bc;
}

static void
bucket_ctrs_unref(struct ofbucket_ctrs *bc)
{
    if (bc && atomic_fetch_sub_explicit(&bc->ref_cnt, 1,
                                        memory_order_acq_rel) == 1) {
        free(bc);
    }
}

void
ofproto_hit_credit(void *hit, uint64_t packets, uint64_t bytes,
                   long long used_ms)
{
    switch (*(const uint8_t *) hit) {
    case HIT_RULE:
        ofproto_rule_credit(hit, packets, bytes, used_ms);
        break;
    case HIT_GROUP: {
        struct ofgroup_ctr *c = hit;

        atomic_fetch_add_explicit(&c->packets, packets,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
        break;
    }
    case HIT_BUCKET: {
        struct ofbucket_ctr *c = hit;

        atomic_fetch_add_explicit(&c->packets, packets,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
        break;
    }
    case HIT_FROZEN:
        break;                  /* Held, not counted. */
    default:
        abort();                /* Not a hit ofproto reported. */
    }
}

void
ofproto_hit_unref(void *hit)
{
    switch (*(const uint8_t *) hit) {
    case HIT_RULE:
        ofproto_rule_unref(hit);
        break;
    case HIT_GROUP:
        group_ctr_unref(hit);
        break;
    case HIT_BUCKET:
        bucket_ctrs_unref(((struct ofbucket_ctr *) hit)->block);
        break;
    case HIT_FROZEN:
        frozen_unref(hit);
        break;
    default:
        abort();
    }
}

/* ---- Frozen states (recirculation). ---- */

static void
frozen_unref(struct frozen *f)
{
    if (atomic_fetch_sub_explicit(&f->ref_cnt, 1, memory_order_acq_rel)
        == 1) {
        free(f->tunnel);
        free(f->aset);
        free(f);
    }
}

static inline uint64_t
frozen_mix(uint64_t h)
{
    h *= 0xff51afd7ed558ccdULL;
    return h ^ h >> 33;
}

static uint64_t
frozen_mix_bytes(uint64_t h, const void *p_, size_t n)
{
    const uint8_t *p = p_;
    uint64_t w;

    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = frozen_mix(h ^ w);
    }
    if (n) {
        w = 0;
        memcpy(&w, p, n);
        h = frozen_mix(h ^ w);
    }
    return h;
}

static uint32_t
frozen_hash(const struct frozen_key *k)
{
    uint64_t h = frozen_mix(0x9e3779b97f4a7c15ULL
                            ^ (k->table | (uint64_t) k->has_in_port << 8
                               | (uint64_t) k->in_port << 16));

    h = frozen_mix(h ^ k->metadata);
    h = frozen_mix_bytes(h, k->regs, FLOW_N_REGS * sizeof *k->regs);
    if (k->tunnel) {
        h = frozen_mix_bytes(h, k->tunnel, sizeof *k->tunnel);
    }
    if (k->aset) {
        h = frozen_mix_bytes(h ^ 1, k->aset, frozen_aset_size(k->aset));
    }
    return (uint32_t) (h ^ h >> 32);
}

static bool
frozen_matches(const struct frozen *f, uint32_t h,
               const struct frozen_key *k)
{
    return f->hash == h && f->table == k->table
           && f->has_in_port == k->has_in_port && f->in_port == k->in_port
           && f->metadata == k->metadata
           && !memcmp(f->regs, k->regs, sizeof f->regs)
           && !f->tunnel == !k->tunnel
           && (!k->tunnel || !memcmp(f->tunnel, k->tunnel, sizeof *f->tunnel))
           && !f->aset == !k->aset
           && (!k->aset || (f->aset->n_set == k->aset->n_set
                            && !memcmp(f->aset, k->aset,
                                       frozen_aset_size(k->aset))));
}

static struct frozen *
frozen_find_id(const struct ofproto *ofp, uint32_t id)
{
    if (!ofp->frozen_by_id) {
        return NULL;
    }
    for (struct frozen *f = ofp->frozen_by_id[id & ofp->frozen_mask]; f;
         f = f->next_by_id) {
        if (f->id == id) {
            return f;
        }
    }
    return NULL;
}

static void
frozen_link(struct ofproto *ofp, struct frozen *f)
{
    struct frozen **bs = &ofp->frozen_by_state[f->hash & ofp->frozen_mask];
    struct frozen **bi = &ofp->frozen_by_id[f->id & ofp->frozen_mask];

    f->next_by_state = *bs;
    *bs = f;
    f->next_by_id = *bi;
    *bi = f;
}

/* Both maps with 'n' (a power of two) buckets each, or made so.  Under
 * frozen_mu.  False (and the maps as they were) on ENOMEM. */
static bool
frozen_rehash(struct ofproto *ofp, uint32_t n)
{
    uint32_t n_old = ofp->frozen_by_id ? ofp->frozen_mask + 1 : 0;
    struct frozen **bs = calloc(n, sizeof *bs);
    struct frozen **bi = calloc(n, sizeof *bi);
    struct frozen **old_bi = ofp->frozen_by_id;

    if (!bs || !bi) {
        free(bs);
        free(bi);
        return false;
    }
    free(ofp->frozen_by_state);
    ofp->frozen_by_state = bs;
    ofp->frozen_by_id = bi;
    ofp->frozen_mask = n - 1;
    for (uint32_t b = 0; b < n_old; b++) {
        struct frozen *f = old_bi[b], *next;

        for (; f; f = next) {
            next = f->next_by_id;
            frozen_link(ofp, f);
        }
    }
    free(old_bi);
    return true;
}

/* Doubles both maps (or makes them).  Under frozen_mu. */
static bool
frozen_grow(struct ofproto *ofp)
{
    return frozen_rehash(ofp, ofp->frozen_by_id ? (ofp->frozen_mask + 1) * 2
                                                : 64);
}

/* The frozen state 'k' describes, found or made, with a reference for the
 * caller; NULL when OFPROTO_MAX_FROZEN exist already (or ENOMEM), counted
 * as refused. */
static struct frozen *
frozen_get(struct ofproto *ofp, const struct frozen_key *k)
{
    uint32_t h = frozen_hash(k);
    struct frozen *f = NULL;

    pthread_mutex_lock(&ofp->frozen_mu);
    if (ofp->frozen_by_state) {
        for (f = ofp->frozen_by_state[h & ofp->frozen_mask]; f;
             f = f->next_by_state) {
            if (frozen_matches(f, h, k)) {
                break;
            }
        }
    }
    if (!f) {
        if (ofp->n_frozen >= OFPROTO_MAX_FROZEN
            || ((!ofp->frozen_by_id || ofp->n_frozen > ofp->frozen_mask)
                && !frozen_grow(ofp))
            || !(f = calloc(1, sizeof *f))
            || (k->tunnel && !(f->tunnel = malloc(sizeof *f->tunnel)))
            || (k->aset
                && !(f->aset = malloc(frozen_aset_size(k->aset))))) {
            pthread_mutex_unlock(&ofp->frozen_mu);
            if (f) {
                free(f->tunnel);
                free(f);
            }
            atomic_fetch_add_explicit(&ofp->frozen_refused, 1,
                                      memory_order_relaxed);
            return NULL;
        }
        f->hit_kind = HIT_FROZEN;
        f->table = k->table;
        f->hash = h;
        f->has_in_port = k->has_in_port;
        f->in_port = k->in_port;
        f->metadata = k->metadata;
        memcpy(f->regs, k->regs, sizeof f->regs);
        if (k->tunnel) {
            memcpy(f->tunnel, k->tunnel, sizeof *f->tunnel);
        }
        if (k->aset) {
            memcpy(f->aset, k->aset, frozen_aset_size(k->aset));
        }
        /* Ids count up and skip any in use after wrapping: an id is not
         * given again while a packet could still carry it. */
        do {
            f->id = ofp->frozen_next_id++;
            if (ofp->frozen_next_id < OFPROTO_FROZEN_ID_MIN) {
                ofp->frozen_next_id = OFPROTO_FROZEN_ID_MIN;
            }
        } while (frozen_find_id(ofp, f->id));
        atomic_init(&f->ref_cnt, 1);            /* The table's. */
        frozen_link(ofp, f);
        ofp->n_frozen++;
    }
    f->touched = true;
    atomic_fetch_add_explicit(&f->ref_cnt, 1, memory_order_relaxed);
    pthread_mutex_unlock(&ofp->frozen_mu);
    return f;
}

/* Resumes the state 'id' names: its registers, metadata and, where it
 * froze them, in_port and tunnel metadata into 'w'; its table into
 * '*table'; its action set into '*aset' (*has_aset false when it froze
 * none).  False if no state has that id. */
static bool
frozen_thaw(struct ofproto *ofp, uint32_t id, struct flow *w,
            uint8_t *table, struct frozen_aset *aset, bool *has_aset)
{
    struct frozen *f;

    pthread_mutex_lock(&ofp->frozen_mu);
    f = frozen_find_id(ofp, id);
    if (f) {
        f->touched = true;
        *table = f->table;
        w->metadata = f->metadata;
        memcpy(w->regs, f->regs, sizeof w->regs);
        if (f->has_in_port) {
            w->in_port = f->in_port;
        }
        if (f->tunnel) {
            w->tunnel = *f->tunnel;
        }
        *has_aset = f->aset != NULL;
        if (f->aset) {
            memset(aset, 0, sizeof *aset);
            memcpy(aset, f->aset, frozen_aset_size(f->aset));
        }
    }
    pthread_mutex_unlock(&ofp->frozen_mu);
    return f != NULL;
}

size_t
ofproto_recirc_sweep(struct ofproto *ofp, long long now_ms)
{
    size_t n = 0;

    pthread_mutex_lock(&ofp->frozen_mu);
    if (ofp->frozen_swept_ms != LLONG_MIN
        && now_ms - ofp->frozen_swept_ms < OFPROTO_FROZEN_SWEEP_MS) {
        pthread_mutex_unlock(&ofp->frozen_mu);
        return 0;
    }
    ofp->frozen_swept_ms = now_ms;
    for (uint32_t b = 0; ofp->frozen_by_id && b <= ofp->frozen_mask; b++) {
        struct frozen **pp = &ofp->frozen_by_id[b];

        while (*pp) {
            struct frozen *f = *pp;

            if (atomic_load_explicit(&f->ref_cnt, memory_order_acquire)
                > 1) {
                /* Held by a megaflow: in use. */
                f->marked = f->touched = false;
            } else if (f->marked && !f->touched) {
                /* Unreferenced and unused for a whole sweep interval:
                 * no packet can still be on its way to it. */
                struct frozen **ps =
                    &ofp->frozen_by_state[f->hash & ofp->frozen_mask];

                while (*ps != f) {
                    ps = &(*ps)->next_by_state;
                }
                *ps = f->next_by_state;
                *pp = f->next_by_id;
                ofp->n_frozen--;
                frozen_unref(f);
                n++;
                continue;
            } else {
                f->marked = true;
                f->touched = false;
            }
            pp = &f->next_by_id;
        }
    }
    if (ofp->frozen_by_id && ofp->frozen_mask >= 64
        && ofp->n_frozen < (ofp->frozen_mask + 1) / 8) {
        /* Mostly empty after a burst: a quarter of the buckets (a sweep
         * walks them all), still twice as many as states.  Kept as is if
         * memory is short. */
        (void) frozen_rehash(ofp, (ofp->frozen_mask + 1) / 4);
    }
    pthread_mutex_unlock(&ofp->frozen_mu);
    return n;
}

void
ofproto_recirc_stats(const struct ofproto *ofp_,
                     struct ofproto_recirc_stats *st)
{
    struct ofproto *ofp = (struct ofproto *) ofp_;

    pthread_mutex_lock(&ofp->frozen_mu);
    st->states = ofp->n_frozen;
    st->buckets = ofp->frozen_by_id ? (size_t) ofp->frozen_mask + 1 : 0;
    pthread_mutex_unlock(&ofp->frozen_mu);
    st->refused = atomic_load_explicit(&ofp->frozen_refused,
                                       memory_order_relaxed);
}

void
ofproto_rule_credit(struct ofproto_rule *rule, uint64_t packets,
                    uint64_t bytes, long long used_ms)
{
    atomic_fetch_add_explicit(&rule->n_packets, packets,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&rule->n_bytes, bytes, memory_order_relaxed);
    if (packets) {
        long long old = atomic_load_explicit(&rule->used_ms,
                                             memory_order_relaxed);
        while (old < used_ms
               && !atomic_compare_exchange_weak_explicit(
                   &rule->used_ms, &old, used_ms, memory_order_relaxed,
                   memory_order_relaxed)) {
            continue;
        }
    }
}

void
ofproto_rule_stats(const struct ofproto_rule *rule, uint64_t *packets,
                   uint64_t *bytes, long long *used_ms)
{
    struct ofproto_rule *r = (struct ofproto_rule *) rule;
    if (packets) {
        *packets = atomic_load_explicit(&r->n_packets, memory_order_relaxed);
    }
    if (bytes) {
        *bytes = atomic_load_explicit(&r->n_bytes, memory_order_relaxed);
    }
    if (used_ms) {
        *used_ms = atomic_load_explicit(&r->used_ms, memory_order_relaxed);
    }
}

uint8_t
ofproto_rule_table(const struct ofproto_rule *rule)
{
    return rule->table_id;
}

int32_t
ofproto_rule_priority(const struct ofproto_rule *rule)
{
    return rule->cr.priority;
}

bool
ofproto_rule_is_live(const struct ofproto_rule *rule)
{
    return atomic_load_explicit(&((struct ofproto_rule *) rule)->live,
                                memory_order_relaxed);
}

static void
list_link(struct ofproto *ofp, struct ofproto_rule *r)
{
    r->next = NULL;
    r->prev = ofp->rules_tail;
    if (ofp->rules_tail) {
        ofp->rules_tail->next = r;
    } else {
        ofp->rules_head = r;
    }
    ofp->rules_tail = r;
    ofp->n_rules++;
    if (r->idle_timeout || r->hard_timeout) {
        r->tprev = NULL;
        r->tnext = ofp->timed;
        if (ofp->timed) {
            ofp->timed->tprev = r;
        }
        ofp->timed = r;
    }
}

static void
list_unlink(struct ofproto *ofp, struct ofproto_rule *r)
{
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        ofp->rules_head = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    } else {
        ofp->rules_tail = r->prev;
    }
    r->prev = r->next = NULL;
    ofp->n_rules--;
    if (r->idle_timeout || r->hard_timeout) {
        if (r->tprev) {
            r->tprev->tnext = r->tnext;
        } else {
            ofp->timed = r->tnext;
        }
        if (r->tnext) {
            r->tnext->tprev = r->tprev;
        }
        r->tprev = r->tnext = NULL;
    }
}

/* Inserts 'r' in its table and the list.  Returns 0 or cls_insert's
 * error. */
static int
rule_insert(struct ofproto *ofp, struct ofproto_rule *r)
{
    int error = cls_insert(ofp->tables[r->table_id], &r->cr);
    if (!error) {
        list_link(ofp, r);
        atomic_store_explicit(&r->live, true, memory_order_relaxed);
    }
    return error;
}

static void
rule_remove(struct ofproto *ofp, struct ofproto_rule *r)
{
    cls_remove(ofp->tables[r->table_id], &r->cr);
    list_unlink(ofp, r);
    atomic_store_explicit(&r->live, false, memory_order_relaxed);
}

/* ---- Transactions (undo log for all-or-nothing batches). ---- */

enum undo_type {
    UNDO_ADDED,         /* Rule inserted: undo removes and frees it. */
    UNDO_REMOVED,       /* Rule removed: undo re-inserts it. */
    UNDO_MODIFIED,      /* Actions/cookie changed: undo restores them. */
};

struct undo {
    enum undo_type type;
    bool deleted;               /* UNDO_REMOVED by a delete: reported. */
    bool reset_counts;          /* UNDO_MODIFIED: zero the counters on
                                 * commit. */
    struct ofproto_rule *rule;
    struct of_actions *old_actions;
    uint64_t old_cookie;
};

struct txn {
    struct ofproto *ofp;
    struct undo *u;
    size_t n, cap;
};

static int
txn_reserve(struct txn *t)
{
    if (t->n < t->cap) {
        return 0;
    }
    size_t cap = t->cap ? t->cap * 2 : 16;
    struct undo *u = realloc(t->u, cap * sizeof *u);
    if (!u) {
        return ENOMEM;
    }
    t->u = u;
    t->cap = cap;
    return 0;
}

/* Inserts new rule 'r' (steals it: freed on error). */
static int
txn_add(struct txn *t, struct ofproto_rule *r)
{
    int error = txn_reserve(t);
    if (!error) {
        error = rule_insert(t->ofp, r);
    }
    if (error) {
        ofproto_rule_unref(r);
        return error;
    }
    t->u[t->n++] = (struct undo) { .type = UNDO_ADDED, .rule = r };
    return 0;
}

static int
txn_remove(struct txn *t, struct ofproto_rule *r, bool deleted)
{
    int error = txn_reserve(t);
    if (error) {
        return error;
    }
    rule_remove(t->ofp, r);
    t->u[t->n++] = (struct undo) { .type = UNDO_REMOVED, .rule = r,
                                   .deleted = deleted };
    return 0;
}

/* Tells the removal callback that 'r' left the tables. */
static void
report_removed(struct ofproto *ofp, struct ofproto_rule *r,
               enum ofproto_removed_reason reason)
{
    struct ofproto_rule_info info;

    if (!r->send_flow_rem || !ofp->removed_cb) {
        return;
    }
    ofproto_rule_get_info(r, &info);
    ofp->removed_cb(&info, reason, ofp->removed_aux);
}

void
ofproto_set_removed_cb(struct ofproto *ofp,
                       void (*cb)(const struct ofproto_rule_info *,
                                  enum ofproto_removed_reason, void *aux),
                       void *aux)
{
    ofp->removed_cb = cb;
    ofp->removed_aux = aux;
}

/* Gives 'r' the actions 'acts' (stolen, freed on error) and 'cookie'. */
static int
txn_modify(struct txn *t, struct ofproto_rule *r, struct of_actions *acts,
           uint64_t cookie, bool reset_counts)
{
    int error = txn_reserve(t);
    if (error) {
        free(acts);
        return error;
    }
    t->u[t->n++] = (struct undo) {
        .type = UNDO_MODIFIED, .rule = r,
        .old_actions = r->actions, .old_cookie = r->cookie,
        .reset_counts = reset_counts,
    };
    r->actions = acts;
    r->cookie = cookie;
    return 0;
}

static void
txn_commit(struct txn *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct undo *u = &t->u[i];
        if (u->type == UNDO_REMOVED) {
            if (u->deleted) {
                report_removed(t->ofp, u->rule, OFPROTO_REMOVED_DELETE);
            }
            ofproto_rule_unref(u->rule);
        } else if (u->type == UNDO_MODIFIED) {
            free(u->old_actions);
            if (u->reset_counts) {
                atomic_store_explicit(&u->rule->n_packets, 0,
                                      memory_order_relaxed);
                atomic_store_explicit(&u->rule->n_bytes, 0,
                                      memory_order_relaxed);
            }
        }
    }
    if (t->n) {
        bump(t->ofp);
    }
    free(t->u);
    t->u = NULL;
    t->n = t->cap = 0;
}

static void
txn_abort(struct txn *t)
{
    for (size_t i = t->n; i-- > 0;) {
        struct undo *u = &t->u[i];
        switch (u->type) {
        case UNDO_ADDED:
            rule_remove(t->ofp, u->rule);
            ofproto_rule_unref(u->rule);
            break;
        case UNDO_REMOVED:
            /* Best effort: can only fail on ENOMEM while re-creating a
             * subtable that the removal freed. */
            if (rule_insert(t->ofp, u->rule)) {
                ofproto_rule_unref(u->rule);
            }
            break;
        case UNDO_MODIFIED:
            free(u->rule->actions);
            u->rule->actions = u->old_actions;
            u->rule->cookie = u->old_cookie;
            break;
        }
    }
    free(t->u);
    t->u = NULL;
    t->n = t->cap = 0;
}

/* ---- Lifecycle. ---- */

static int
add_default_rule(struct ofproto *ofp)
{
    struct of_flow_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.priority = 0;
    spec.out_port = OFPP_NONE;
    struct of_actions *acts = malloc(of_actions_size(1));
    if (!acts) {
        return ENOMEM;
    }
    acts->n = 1;
    memset(&acts->a[0], 0, sizeof acts->a[0]);
    acts->a[0].type = OFPACT_NORMAL;
    spec.actions = acts;
    struct ofproto_rule *r = rule_create(&spec, 0, 0, ofp->next_seq++);
    free(acts);
    if (!r) {
        return ENOMEM;
    }
    int error = rule_insert(ofp, r);
    if (error) {
        ofproto_rule_unref(r);
    }
    return error;
}

struct ofproto *
ofproto_create(const char *name)
{
    struct ofproto *ofp = calloc(1, sizeof *ofp);
    if (!ofp) {
        return NULL;
    }
    ofp->name = strdup(name ? name : "");
    ofp->ml = ml_create(ML_DEFAULT_AGING_S, ML_DEFAULT_MAX);
    ofp->learning = true;
    atomic_init(&ofp->generation, 0);
    pthread_mutex_init(&ofp->frozen_mu, NULL);
    ofp->frozen_next_id = OFPROTO_FROZEN_ID_MIN;
    ofp->frozen_swept_ms = LLONG_MIN;
    bool ok = ofp->name && ofp->ml;
    for (size_t i = 0; ok && i < OF_N_TABLES; i++) {
        ofp->tables[i] = cls_create(NULL, NULL);
        ok = ofp->tables[i] != NULL;
    }
    if (!ok || add_default_rule(ofp)) {
        ofproto_destroy(ofp);
        return NULL;
    }
    return ofp;
}

void
ofproto_destroy(struct ofproto *ofp)
{
    if (!ofp) {
        return;
    }
    while (ofp->rules_head) {
        struct ofproto_rule *r = ofp->rules_head;
        rule_remove(ofp, r);
        ofproto_rule_unref(r);
    }
    for (size_t i = 0; i < OF_N_TABLES; i++) {
        cls_destroy(ofp->tables[i]);
    }
    for (size_t i = 0; i < ofp->n_groups; i++) {
        group_free(ofp->groups[i]);
    }
    free(ofp->groups);
    free(ofp->meters);
    ml_destroy(ofp->ml);
    free(ofp->ports);
    free(ofp->name);
    /* The table's reference on each frozen state goes; one a megaflow
     * still holds goes with its last reference. */
    for (uint32_t b = 0; ofp->frozen_by_id && b <= ofp->frozen_mask; b++) {
        struct frozen *f = ofp->frozen_by_id[b], *next;

        for (; f; f = next) {
            next = f->next_by_id;
            frozen_unref(f);
        }
    }
    free(ofp->frozen_by_state);
    free(ofp->frozen_by_id);
    pthread_mutex_destroy(&ofp->frozen_mu);
    free(ofp);
}

const char *
ofproto_name(const struct ofproto *ofp)
{
    return ofp->name;
}

uint64_t
ofproto_generation(const struct ofproto *ofp)
{
    return atomic_load_explicit(&((struct ofproto *) ofp)->generation,
                                memory_order_acquire);
}

struct ml *
ofproto_ml(struct ofproto *ofp)
{
    return ofp->ml;
}

void
ofproto_set_mac_learning(struct ofproto *ofp, bool enable)
{
    ofp->learning = enable;
}

void
ofproto_set_fail_open(struct ofproto *ofp, bool on)
{
    if (ofp->fail_open != on) {
        ofp->fail_open = on;
        bump(ofp);
    }
}

bool
ofproto_get_fail_open(const struct ofproto *ofp)
{
    return ofp->fail_open;
}

/* ---- Ports. ---- */

static struct ofport *
port_find(const struct ofproto *ofp, uint32_t ofport)
{
    size_t lo = 0, hi = ofp->n_ports;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ofp->ports[mid].ofport < ofport) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ofp->n_ports && ofp->ports[lo].ofport == ofport
           ? &ofp->ports[lo] : NULL;
}

int
ofproto_port_add(struct ofproto *ofp, uint32_t ofport, uint32_t dp_port,
                 const char *name)
{
    if (!ofport || (ofport >= OFPP_MAX && ofport != OFPP_LOCAL) || !name
        || !name[0] || strlen(name) >= PORT_NAME_MAX) {
        return EINVAL;
    }
    for (size_t i = 0; i < ofp->n_ports; i++) {
        const struct ofport *p = &ofp->ports[i];
        if (p->ofport == ofport || p->dp_port == dp_port
            || !strcmp(p->name, name)) {
            return EEXIST;
        }
    }
    if (ofp->n_ports == ofp->ports_cap) {
        size_t cap = ofp->ports_cap ? ofp->ports_cap * 2 : 8;
        struct ofport *p = realloc(ofp->ports, cap * sizeof *p);
        if (!p) {
            return ENOMEM;
        }
        ofp->ports = p;
        ofp->ports_cap = cap;
    }
    size_t pos = 0;
    while (pos < ofp->n_ports && ofp->ports[pos].ofport < ofport) {
        pos++;
    }
    memmove(&ofp->ports[pos + 1], &ofp->ports[pos],
            (ofp->n_ports - pos) * sizeof ofp->ports[0]);
    struct ofport *p = &ofp->ports[pos];
    memset(p, 0, sizeof *p);
    p->ofport = ofport;
    p->dp_port = dp_port;
    strcpy(p->name, name);
    ofp->n_ports++;
    bump(ofp);
    return 0;
}

int
ofproto_port_del(struct ofproto *ofp, uint32_t ofport)
{
    struct ofport *p = port_find(ofp, ofport);
    if (!p) {
        return ENOENT;
    }
    size_t pos = p - ofp->ports;
    memmove(p, p + 1, (ofp->n_ports - pos - 1) * sizeof *p);
    ofp->n_ports--;
    ml_flush_port(ofp->ml, ofport);
    bump(ofp);
    return 0;
}

int
ofproto_port_set_no_flood(struct ofproto *ofp, uint32_t ofport, bool on)
{
    struct ofport *p = port_find(ofp, ofport);
    if (!p) {
        return ENOENT;
    }
    if (p->no_flood != on) {
        p->no_flood = on;
        bump(ofp);
    }
    return 0;
}

int
ofproto_port_set_live(struct ofproto *ofp, uint32_t ofport, bool live)
{
    struct ofport *p = port_find(ofp, ofport);
    if (!p) {
        return ENOENT;
    }
    if (p->down != !live) {
        p->down = !live;
        bump(ofp);
    }
    return 0;
}

static bool
port_live(const struct ofproto *ofp, uint32_t ofport)
{
    const struct ofport *p = port_find((struct ofproto *) ofp, ofport);

    return p && !p->down;
}

/* ---- Groups. ---- */

static size_t
group_pos(const struct ofproto *ofp, uint32_t id)
{
    size_t lo = 0, hi = ofp->n_groups;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (ofp->groups[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static const struct ofgroup *
group_find(const struct ofproto *ofp, uint32_t id)
{
    size_t i = group_pos(ofp, id);

    return i < ofp->n_groups && ofp->groups[i]->id == id ? ofp->groups[i]
                                                         : NULL;
}

static void
group_free(struct ofgroup *g)
{
    if (g) {
        for (size_t i = 0; i < g->n_buckets; i++) {
            free(g->buckets[i].actions);
        }
        free(g->buckets);
        group_ctr_unref(g->ctr);
        bucket_ctrs_unref(g->bctrs);
        free(g);
    }
}

static bool
actions_use_group(const struct of_actions *acts, uint32_t id)
{
    for (size_t i = 0; acts && i < acts->n; i++) {
        if (acts->a[i].type == OFPACT_GROUP
            && (id == OFG_ALL || acts->a[i].group.group_id == id)) {
            return true;
        }
    }
    return false;
}

/* True if 'acts' use group 'id', directly or through the groups they
 * use (as the table stands, which has no loop).  'seen' (one per group,
 * by position) marks the groups already explored. */
static bool
group_reaches(const struct ofproto *ofp, const struct of_actions *acts,
              uint32_t id, bool *seen)
{
    for (size_t i = 0; acts && i < acts->n; i++) {
        uint32_t gid;
        size_t pos;

        if (acts->a[i].type != OFPACT_GROUP) {
            continue;
        }
        gid = acts->a[i].group.group_id;
        if (gid == id) {
            return true;
        }
        pos = group_pos(ofp, gid);
        if (pos >= ofp->n_groups || ofp->groups[pos]->id != gid
            || seen[pos]) {
            continue;
        }
        seen[pos] = true;
        for (size_t k = 0; k < ofp->groups[pos]->n_buckets; k++) {
            if (group_reaches(ofp, ofp->groups[pos]->buckets[k].actions, id,
                              seen)) {
                return true;
            }
        }
    }
    return false;
}

/* A new group from 'spec' (deep copy), checked; NULL with 'err' set. */
static struct ofgroup *
group_build(const struct ofproto *ofp, const struct of_group_spec *spec,
            long long now_ms, int *error, char *err, size_t errsize)
{
    struct ofgroup *g;

    *error = EINVAL;
    if (spec->group_id > OFG_MAX_ID) {
        set_err(err, errsize, "group id %" PRIu32 " out of range",
                spec->group_id);
        return NULL;
    }
    if (spec->type > OFG_TYPE_FF) {
        set_err(err, errsize, "group type %u is not all, select, indirect "
                "or ff", spec->type);
        return NULL;
    }
    if (spec->type == OFG_TYPE_INDIRECT && spec->n_buckets != 1) {
        set_err(err, errsize, "an indirect group has exactly one bucket "
                "(%zu given)", spec->n_buckets);
        return NULL;
    }
    if (spec->n_buckets > OFG_MAX_BUCKETS) {
        set_err(err, errsize, "more than %d buckets", OFG_MAX_BUCKETS);
        return NULL;
    }
    for (size_t i = 0; i < spec->n_buckets; i++) {
        const struct of_bucket *b = &spec->buckets[i];
        int ret;

        if (spec->type == OFG_TYPE_FF && b->watch_port == OFPP_NONE
            && b->watch_group == OFG_ANY) {
            set_err(err, errsize, "bucket %zu of a fast-failover group "
                    "watches nothing", i);
            return NULL;
        }
        if (b->watch_group != OFG_ANY) {
            set_err(err, errsize, "bucket %zu: watch_group is not "
                    "supported (watch_port is)", i);
            return NULL;
        }
        if (actions_use_group(b->actions, spec->group_id)) {
            set_err(err, errsize, "bucket %zu refers to its own group", i);
            *error = ELOOP;
            return NULL;
        }
        ret = validate_actions(ofp, b->actions, 0, false, err, errsize, i);
        if (ret) {
            *error = ret;
            return NULL;
        }
        for (size_t k = 0; b->actions && k < b->actions->n; k++) {
            uint16_t t = b->actions->a[k].type;

            if (t == OFPACT_GOTO_TABLE || t == OFPACT_WRITE_METADATA
                || t == OFPACT_CLEAR_ACTIONS || t == OFPACT_WRITE_ACTIONS) {
                set_err(err, errsize, "bucket %zu: %s", i,
                        t == OFPACT_GOTO_TABLE ? "goto_table"
                        : t == OFPACT_WRITE_METADATA ? "write_metadata"
                        : "an instruction (clear/write_actions)");
                return NULL;
            }
        }
    }
    g = calloc(1, sizeof *g);
    if (!g || !(g->buckets = calloc(spec->n_buckets + 1,
                                    sizeof *g->buckets))) {
        free(g);
        *error = ENOMEM;
        set_err(err, errsize, "out of memory");
        return NULL;
    }
    g->id = spec->group_id;
    g->type = spec->type;
    g->created_ms = now_ms;
    g->ctr = group_ctr_new();
    g->bctrs = bucket_ctrs_new(spec->n_buckets);
    if (!g->ctr || !g->bctrs) {
        group_free(g);
        *error = ENOMEM;
        set_err(err, errsize, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < spec->n_buckets; i++) {
        g->buckets[i] = spec->buckets[i];
        g->buckets[i].actions = spec->buckets[i].actions
                                ? actions_clone(spec->buckets[i].actions)
                                : of_actions_alloc(0);
        g->n_buckets = i + 1;
        if (!g->buckets[i].actions) {
            group_free(g);
            *error = ENOMEM;
            set_err(err, errsize, "out of memory");
            return NULL;
        }
    }
    *error = 0;
    return g;
}

int
ofproto_group_mod(struct ofproto *ofp, enum of_group_cmd cmd,
                  const struct of_group_spec *spec, long long now_ms,
                  char *err, size_t errsize)
{
    size_t i = group_pos(ofp, spec->group_id);
    bool exists = i < ofp->n_groups && ofp->groups[i]->id == spec->group_id;
    struct ofgroup *g;
    int error;

    set_err(err, errsize, "%s", "");
    if (cmd == OFGC_DELETE) {
        /* The group's flows go with it (OpenFlow 1.3, 6.5); deleting a
         * group that does not exist is no error; one that another group
         * uses stays (EBUSY): no bucket may point nowhere. */
        struct ofproto_rule *r = ofp->rules_head;
        size_t k = 0;

        for (size_t j = 0; spec->group_id != OFG_ALL && j < ofp->n_groups;
             j++) {
            const struct ofgroup *o = ofp->groups[j];

            for (size_t b = 0; o->id != spec->group_id && b < o->n_buckets;
                 b++) {
                if (actions_use_group(o->buckets[b].actions,
                                      spec->group_id)) {
                    set_err(err, errsize, "group %" PRIu32 " is used by "
                            "group %" PRIu32, spec->group_id, o->id);
                    return EBUSY;
                }
            }
        }

        while (r) {
            struct ofproto_rule *next = r->next;

            if (actions_use_group(r->actions, spec->group_id)) {
                rule_remove(ofp, r);
                report_removed(ofp, r, OFPROTO_REMOVED_GROUP_DELETE);
                ofproto_rule_unref(r);
            }
            r = next;
        }
        for (size_t j = 0; j < ofp->n_groups; j++) {
            if (spec->group_id == OFG_ALL
                || ofp->groups[j]->id == spec->group_id) {
                group_free(ofp->groups[j]);
            } else {
                ofp->groups[k++] = ofp->groups[j];
            }
        }
        ofp->n_groups = k;
        bump(ofp);
        return 0;
    }
    if (cmd == OFGC_ADD && exists) {
        set_err(err, errsize, "group %" PRIu32 " exists", spec->group_id);
        return EEXIST;
    }
    if (cmd == OFGC_MODIFY && !exists) {
        set_err(err, errsize, "group %" PRIu32 " does not exist",
                spec->group_id);
        return ENOENT;
    }
    g = group_build(ofp, spec, now_ms, &error, err, errsize);
    if (!g) {
        return error;
    }
    {
        bool *seen = calloc(ofp->n_groups + 1, sizeof *seen);

        if (!seen) {
            group_free(g);
            set_err(err, errsize, "out of memory");
            return ENOMEM;
        }
        for (size_t k = 0; k < g->n_buckets; k++) {
            if (group_reaches(ofp, g->buckets[k].actions, g->id, seen)) {
                set_err(err, errsize, "group %" PRIu32 ": bucket %zu leads "
                        "back to the group (a loop)", g->id, k);
                free(seen);
                group_free(g);
                return ELOOP;
            }
        }
        free(seen);
    }
    if (exists) {
        struct ofgroup_ctr *fresh = g->ctr;

        /* The group's counters go on (its buckets' start again). */
        g->created_ms = ofp->groups[i]->created_ms;
        g->ctr = ofp->groups[i]->ctr;
        ofp->groups[i]->ctr = fresh;
        group_free(ofp->groups[i]);
        ofp->groups[i] = g;
    } else {
        struct ofgroup **v = realloc(ofp->groups,
                                     (ofp->n_groups + 1) * sizeof *v);

        if (!v) {
            group_free(g);
            set_err(err, errsize, "out of memory");
            return ENOMEM;
        }
        ofp->groups = v;
        memmove(&v[i + 1], &v[i], (ofp->n_groups - i) * sizeof *v);
        v[i] = g;
        ofp->n_groups++;
    }
    bump(ofp);
    return 0;
}

/* ---- Meters. ---- */

static size_t
meter_pos(const struct ofproto *ofp, uint32_t id)
{
    size_t lo = 0, hi = ofp->n_meters;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (ofp->meters[mid].spec.meter_id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const struct of_meter_spec *
ofproto_meter_get(const struct ofproto *ofp, uint32_t id)
{
    size_t i = meter_pos(ofp, id);

    return i < ofp->n_meters && ofp->meters[i].spec.meter_id == id
           ? &ofp->meters[i].spec : NULL;
}

static bool
actions_use_meter(const struct of_actions *acts, uint32_t id)
{
    return acts && acts->n && acts->a[0].type == OFPACT_METER
           && (id == OFM_ALL || acts->a[0].meter.meter_id == id);
}

int
ofproto_meter_mod(struct ofproto *ofp, enum of_group_cmd cmd,
                  const struct of_meter_spec *spec, long long now_ms,
                  char *err, size_t errsize)
{
    size_t i = meter_pos(ofp, spec->meter_id);
    bool exists = i < ofp->n_meters
                  && ofp->meters[i].spec.meter_id == spec->meter_id;

    set_err(err, errsize, "%s", "");
    if (cmd == OFGC_DELETE) {
        /* Its flows go with it; a missing meter is no error. */
        struct ofproto_rule *r = ofp->rules_head;
        size_t k = 0;

        while (r) {
            struct ofproto_rule *next = r->next;

            if (actions_use_meter(r->actions, spec->meter_id)) {
                rule_remove(ofp, r);
                report_removed(ofp, r, OFPROTO_REMOVED_METER_DELETE);
                ofproto_rule_unref(r);
            }
            r = next;
        }
        for (size_t j = 0; j < ofp->n_meters; j++) {
            if (spec->meter_id != OFM_ALL
                && ofp->meters[j].spec.meter_id != spec->meter_id) {
                ofp->meters[k++] = ofp->meters[j];
            }
        }
        ofp->n_meters = k;
        bump(ofp);
        return 0;
    }
    if (!spec->meter_id || spec->meter_id > OFM_MAX_ID) {
        set_err(err, errsize, "meter id %" PRIu32 " out of range",
                spec->meter_id);
        return EINVAL;
    }
    if (!spec->n_bands || spec->n_bands > OFM_MAX_BANDS) {
        set_err(err, errsize, "a meter has 1..%d bands", OFM_MAX_BANDS);
        return EINVAL;
    }
    if (((spec->flags & OFM_F_KBPS) != 0) == ((spec->flags & OFM_F_PKTPS)
                                              != 0)) {
        set_err(err, errsize, "a meter is kbps or pktps");
        return EINVAL;
    }
    for (size_t b = 0; b < spec->n_bands; b++) {
        if (!spec->bands[b].rate
            || (spec->bands[b].type != OFM_BAND_DROP
                && spec->bands[b].type != OFM_BAND_DSCP_REMARK)) {
            set_err(err, errsize, "band %zu: a drop or dscp_remark band "
                    "with a rate", b);
            return EINVAL;
        }
    }
    if (cmd == OFGC_ADD && exists) {
        set_err(err, errsize, "meter %" PRIu32 " exists", spec->meter_id);
        return EEXIST;
    }
    if (cmd == OFGC_MODIFY && !exists) {
        set_err(err, errsize, "meter %" PRIu32 " does not exist",
                spec->meter_id);
        return ENOENT;
    }
    if (exists) {
        ofp->meters[i].spec = *spec;
    } else {
        struct ofmeter *v = realloc(ofp->meters,
                                    (ofp->n_meters + 1) * sizeof *v);

        if (!v) {
            set_err(err, errsize, "out of memory");
            return ENOMEM;
        }
        ofp->meters = v;
        memmove(&v[i + 1], &v[i], (ofp->n_meters - i) * sizeof *v);
        v[i].spec = *spec;
        v[i].created_ms = now_ms;
        ofp->n_meters++;
    }
    bump(ofp);
    return 0;
}

size_t
ofproto_n_meters(const struct ofproto *ofp)
{
    return ofp->n_meters;
}

void
ofproto_meter_dump(const struct ofproto *ofp, uint32_t id,
                   void (*cb)(const struct ofproto_meter_info *, void *),
                   void *aux)
{
    for (size_t i = 0; i < ofp->n_meters; i++) {
        const struct ofmeter *m = &ofp->meters[i];
        struct ofproto_meter_info info;

        if (id != OFM_ALL && m->spec.meter_id != id) {
            continue;
        }
        info.spec = &m->spec;
        info.created_ms = m->created_ms;
        info.flow_count = 0;
        for (const struct ofproto_rule *r = ofp->rules_head; r;
             r = r->next) {
            info.flow_count += actions_use_meter(r->actions,
                                                 m->spec.meter_id);
        }
        cb(&info, aux);
    }
}

bool
ofproto_add_replaces(const struct ofproto *ofp,
                     const struct of_flow_spec *spec)
{
    struct cls_rule tmp;

    if (spec->table_id >= OF_N_TABLES) {
        return false;
    }
    cls_rule_init(&tmp, &spec->match.flow, &spec->match.wc, spec->priority);
    return cls_find_exactly(ofp->tables[spec->table_id], &tmp.flow,
                            tmp.mask, tmp.priority) != NULL;
}

size_t
ofproto_n_selected(struct ofproto *ofp, const struct of_flow_spec *spec,
                   bool strict)
{
    struct ofproto_rule **v;
    size_t n;

    if (select_rules(ofp, spec, strict, &v, &n)) {
        return 0;
    }
    free(v);
    return n;
}

bool
ofproto_selects_reported(struct ofproto *ofp, const struct of_flow_spec *spec,
                         bool strict)
{
    struct ofproto_rule **v;
    bool reported = false;
    size_t n;

    if (select_rules(ofp, spec, strict, &v, &n)) {
        return true;
    }
    for (size_t i = 0; i < n && !reported; i++) {
        reported = v[i]->send_flow_rem;
    }
    free(v);
    return reported;
}

bool
ofproto_group_exists(const struct ofproto *ofp, uint32_t id)
{
    return group_find(ofp, id) != NULL;
}

size_t
ofproto_n_groups(const struct ofproto *ofp)
{
    return ofp->n_groups;
}

void
ofproto_group_dump(const struct ofproto *ofp, uint32_t id,
                   void (*cb)(const struct ofproto_group_info *, void *),
                   void *aux)
{
    for (size_t i = 0; i < ofp->n_groups; i++) {
        const struct ofgroup *g = ofp->groups[i];
        struct ofproto_group_info info;

        if (id != OFG_ALL && g->id != id) {
            continue;
        }
        info.spec.group_id = g->id;
        info.spec.type = g->type;
        info.spec.n_buckets = g->n_buckets;
        info.spec.buckets = g->buckets;
        info.created_ms = g->created_ms;
        info.packets = atomic_load_explicit(&g->ctr->packets,
                                            memory_order_relaxed);
        info.bytes = atomic_load_explicit(&g->ctr->bytes,
                                          memory_order_relaxed);
        for (size_t k = 0; k < OFG_MAX_BUCKETS; k++) {
            bool in = k < g->bctrs->n;

            info.bucket_packets[k] = in ? atomic_load_explicit(
                &g->bctrs->b[k].packets, memory_order_relaxed) : 0;
            info.bucket_bytes[k] = in ? atomic_load_explicit(
                &g->bctrs->b[k].bytes, memory_order_relaxed) : 0;
        }
        info.ref_count = 0;
        for (const struct ofproto_rule *r = ofp->rules_head; r;
             r = r->next) {
            info.ref_count += actions_use_group(r->actions, g->id);
        }
        cb(&info, aux);
    }
}

int
ofproto_port_set_hooked(struct ofproto *ofp, uint32_t ofport, bool on)
{
    struct ofport *p = port_find(ofp, ofport);
    if (!p) {
        return ENOENT;
    }
    if (p->hooked != on) {
        p->hooked = on;
        bump(ofp);
    }
    return 0;
}

void
ofproto_set_output_hook(struct ofproto *ofp,
                        const struct ofproto_output_hook *hook)
{
    if (ofp->hook != hook) {
        ofp->hook = hook;
        bump(ofp);
    }
}

bool
ofproto_port_to_dp(const struct ofproto *ofp, uint32_t ofport,
                   uint32_t *dp_port)
{
    const struct ofport *p = port_find(ofp, ofport);
    if (p) {
        *dp_port = p->dp_port;
    }
    return p != NULL;
}

bool
ofproto_port_from_dp(const struct ofproto *ofp, uint32_t dp_port,
                     uint32_t *ofport)
{
    for (size_t i = 0; i < ofp->n_ports; i++) {
        if (ofp->ports[i].dp_port == dp_port) {
            *ofport = ofp->ports[i].ofport;
            return true;
        }
    }
    return false;
}

bool
ofproto_port_by_name(const struct ofproto *ofp, const char *name,
                     uint32_t *ofport)
{
    for (size_t i = 0; i < ofp->n_ports; i++) {
        if (!strcmp(ofp->ports[i].name, name)) {
            *ofport = ofp->ports[i].ofport;
            return true;
        }
    }
    return false;
}

const char *
ofproto_port_name(const struct ofproto *ofp, uint32_t ofport)
{
    const struct ofport *p = port_find(ofp, ofport);
    return p ? p->name : NULL;
}

size_t
ofproto_n_ports(const struct ofproto *ofp)
{
    return ofp->n_ports;
}

void
ofproto_port_dump(const struct ofproto *ofp,
                  void (*cb)(uint32_t ofport, uint32_t dp_port,
                             const char *name, void *aux),
                  void *aux)
{
    for (size_t i = 0; i < ofp->n_ports; i++) {
        cb(ofp->ports[i].ofport, ofp->ports[i].dp_port, ofp->ports[i].name,
           aux);
    }
}

/* ---- Flow-mod validation. ---- */

static const struct ofgroup *group_find(const struct ofproto *ofp,
                                        uint32_t id);

static int
validate_actions(const struct ofproto *ofp, const struct of_actions *acts,
                 uint8_t table_id, bool table_known, char *err,
                 size_t errsize, size_t idx)
{
    size_t set_end = 0;         /* Past the last write_actions block. */
    bool late = false;          /* A clear/write_actions was seen. */

    if (!acts) {
        return 0;
    }
    for (size_t i = 0; i < acts->n; i++) {
        const struct of_action *a = &acts->a[i];
        const struct mf_field *mf;

        if (late && i >= set_end && a->type != OFPACT_WRITE_ACTIONS
            && a->type != OFPACT_WRITE_METADATA
            && a->type != OFPACT_GOTO_TABLE) {
            set_err(err, errsize, "flow %zu: only write_actions, "
                    "write_metadata and goto_table may follow clear_actions "
                    "or write_actions", idx);
            return EINVAL;
        }
        if (i < set_end && !of_action_set_allowed(a->type)) {
            set_err(err, errsize, "flow %zu: action %zu may not go into the "
                    "action set", idx, i + 1);
            return EINVAL;
        }
        switch (a->type) {
        case OFPACT_CLEAR_ACTIONS:
            if (late) {
                set_err(err, errsize, "flow %zu: clear_actions must come "
                        "before write_actions, once", idx);
                return EINVAL;
            }
            late = true;
            break;
        case OFPACT_WRITE_ACTIONS:
            if (set_end) {
                set_err(err, errsize, "flow %zu: write_actions given twice",
                        idx);
                return EINVAL;
            }
            if (a->write_actions.n > acts->n - i - 1) {
                set_err(err, errsize, "flow %zu: write_actions runs past "
                        "the list", idx);
                return EINVAL;
            }
            late = true;
            set_end = i + 1 + a->write_actions.n;
            break;
        case OFPACT_OUTPUT:
            if (!a->output.port || a->output.port == OFPP_NONE
                || (a->output.port >= OFPP_MAX
                    && a->output.port < OFPP_IN_PORT)
                || a->output.port > OFPP_NONE) {
                set_err(err, errsize, "flow %zu: invalid output port %u",
                        idx, a->output.port);
                return EINVAL;
            }
            break;
        case OFPACT_IN_PORT:
        case OFPACT_FLOOD:
        case OFPACT_ALL:
        case OFPACT_NORMAL:
        case OFPACT_DEC_TTL:
        case OFPACT_STRIP_VLAN:
        case OFPACT_POP_VLAN:
            break;
        case OFPACT_SET_FIELD:
            mf = mf_from_id(a->set_field.field);
            if (!mf || !mf->writable) {
                set_err(err, errsize, "flow %zu: field %u is not writable",
                        idx, a->set_field.field);
                return EINVAL;
            }
            if (a->set_field.syntax == OFSF_LOAD
                && (!mf_nxm_get(a->set_field.nxm)
                    || mf_nxm_get(a->set_field.nxm)->id != mf->id)) {
                set_err(err, errsize, "flow %zu: load names another field",
                        idx);
                return EINVAL;
            }
            break;
        case OFPACT_MOVE: {
            const struct mf_nxm *s = mf_nxm_get(a->move.src.nxm);
            const struct mf_nxm *d = mf_nxm_get(a->move.dst.nxm);

            if (!s || !d || !a->move.src.n_bits
                || a->move.src.n_bits != a->move.dst.n_bits
                || a->move.src.ofs + a->move.src.n_bits > s->width * 8u
                || a->move.dst.ofs + a->move.dst.n_bits > d->width * 8u
                || !mf_from_id(d->id)->writable) {
                set_err(err, errsize, "flow %zu: bad move", idx);
                return EINVAL;
            }
            break;
        }
        case OFPACT_PUSH_VLAN:
            if (a->push_vlan.ethertype != ETH_TYPE_VLAN
                && a->push_vlan.ethertype != ETH_TYPE_VLAN_8021AD) {
                set_err(err, errsize, "flow %zu: push_vlan ethertype 0x%04x "
                        "is not 0x8100 or 0x88a8", idx,
                        a->push_vlan.ethertype);
                return EINVAL;
            }
            break;
        case OFPACT_RESUBMIT:
            if (a->resubmit.table >= OF_N_TABLES
                && a->resubmit.table != OF_TABLE_NONE) {
                set_err(err, errsize, "flow %zu: resubmit to invalid table "
                        "%u", idx, a->resubmit.table);
                return EINVAL;
            }
            break;
        case OFPACT_CT:
            if (a->ct.table != OF_CT_NO_TABLE
                && a->ct.table >= OF_N_TABLES) {
                set_err(err, errsize, "flow %zu: ct table=%u: no such table",
                        idx, a->ct.table);
                return EINVAL;
            }
            break;
        case OFPACT_CT_CLEAR:
        case OFPACT_CONTROLLER:
            break;
        case OFPACT_METER:
            if (i) {
                set_err(err, errsize, "flow %zu: meter must be the first "
                        "action", idx);
                return EINVAL;
            }
            if (ofp && !ofproto_meter_get(ofp, a->meter.meter_id)) {
                set_err(err, errsize, "flow %zu: meter %" PRIu32 " does not "
                        "exist", idx, a->meter.meter_id);
                return ENXIO;
            }
            break;
        case OFPACT_GROUP:
            if (ofp && !group_find(ofp, a->group.group_id)) {
                set_err(err, errsize, "flow %zu: group %" PRIu32 " does not "
                        "exist", idx, a->group.group_id);
                return ENOENT;
            }
            break;
        case OFPACT_WRITE_METADATA:
            if (i != acts->n - 1
                && !(i == acts->n - 2
                     && acts->a[i + 1].type == OFPACT_GOTO_TABLE)) {
                set_err(err, errsize, "flow %zu: write_metadata may only be "
                        "followed by goto_table", idx);
                return EINVAL;
            }
            break;
        case OFPACT_GOTO_TABLE:
            if (i != acts->n - 1) {
                set_err(err, errsize, "flow %zu: goto_table must be the last "
                        "action", idx);
                return EINVAL;
            }
            if (a->goto_table.table >= OF_N_TABLES) {
                set_err(err, errsize, "flow %zu: goto_table:%u: no such "
                        "table", idx, a->goto_table.table);
                return EINVAL;
            }
            if (table_known && a->goto_table.table <= table_id) {
                set_err(err, errsize, "flow %zu: goto_table:%u must be after "
                        "table %u", idx, a->goto_table.table, table_id);
                return EINVAL;
            }
            break;
        default:
            set_err(err, errsize, "flow %zu: unknown action type %u", idx,
                    a->type);
            return EINVAL;
        }
    }
    return 0;
}

static int
validate_spec(const struct ofproto *ofp, const struct of_flow_spec *spec,
              enum of_flow_cmd cmd, size_t idx, char *err, size_t errsize)
{
    if (spec->priority < 0 || spec->priority > 65535) {
        set_err(err, errsize, "flow %zu: priority %d out of range 0..65535",
                idx, spec->priority);
        return EINVAL;
    }
    switch (cmd) {
    case OFFC_ADD:
        if (spec->table_id >= OF_N_TABLES) {
            set_err(err, errsize, "flow %zu: table %u is not valid for add",
                    idx, spec->table_id);
            return EINVAL;
        }
        return validate_actions(ofp, spec->actions, spec->table_id, true,
                                err, errsize, idx);
    case OFFC_MODIFY:
    case OFFC_MODIFY_STRICT:
    case OFFC_DELETE:
    case OFFC_DELETE_STRICT:
        if (spec->table_id >= OF_N_TABLES && spec->table_id != 0xff) {
            set_err(err, errsize, "flow %zu: no table %u", idx,
                    spec->table_id);
            return EINVAL;
        }
        if (cmd == OFFC_MODIFY || cmd == OFFC_MODIFY_STRICT) {
            return validate_actions(ofp, spec->actions, spec->table_id,
                                    spec->table_id != 0xff, err, errsize,
                                    idx);
        }
        return 0;
    case OFFC_MATCH:
    default:
        set_err(err, errsize, "flow %zu: not a flow-mod command", idx);
        return EINVAL;
    }
}

/* ---- Selection. ---- */

static bool
rule_selected(const struct ofproto_rule *r, const struct of_flow_spec *spec,
              const struct of_match *m, bool strict)
{
    if (spec->table_id != 0xff && r->table_id != spec->table_id) {
        return false;
    }
    if ((r->cookie ^ spec->cookie) & spec->cookie_mask) {
        return false;
    }
    if (spec->out_port != OFPP_NONE
        && !actions_output_to(r->actions, spec->out_port)) {
        return false;
    }
    if (spec->out_group_set
        && !actions_use_group(r->actions, spec->out_group)) {
        return false;
    }
    if (strict) {
        return r->cr.priority == spec->priority && match_same(m, &r->cr);
    }
    return match_covers(m, &r->cr);
}

/* Collects the rules selected by 'spec' into a new array *out (caller
 * frees), in creation order.  Returns 0 or ENOMEM. */
static int
select_rules(struct ofproto *ofp, const struct of_flow_spec *spec,
             bool strict, struct ofproto_rule ***out, size_t *n_out)
{
    struct of_match m;
    match_normalize(&m, &spec->match);

    *out = NULL;
    *n_out = 0;
    if (strict) {
        size_t cap = spec->table_id == 0xff ? OF_N_TABLES : 1;
        struct ofproto_rule **v = malloc(cap * sizeof *v);
        if (!v) {
            return ENOMEM;
        }
        size_t n = 0;
        for (size_t t = 0; t < OF_N_TABLES; t++) {
            if (spec->table_id != 0xff && t != spec->table_id) {
                continue;
            }
            const struct cls_rule *cr = cls_find_exactly(
                ofp->tables[t], &m.flow, &m.wc, spec->priority);
            if (cr) {
                struct ofproto_rule *r = CLS_CONTAINER_OF(
                    cr, struct ofproto_rule, cr);
                if (rule_selected(r, spec, &m, true)) {
                    v[n++] = r;
                }
            }
        }
        *out = v;
        *n_out = n;
        return 0;
    }

    struct ofproto_rule **v = malloc((ofp->n_rules + 1) * sizeof *v);
    if (!v) {
        return ENOMEM;
    }
    size_t n = 0;
    for (struct ofproto_rule *r = ofp->rules_head; r; r = r->next) {
        if (rule_selected(r, spec, &m, false)) {
            v[n++] = r;
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* ---- Applying flow mods. ---- */

static int
apply_add(struct txn *t, const struct of_flow_spec *spec, long long now_ms)
{
    struct ofproto *ofp = t->ofp;
    struct ofproto_rule *r = rule_create(spec, spec->table_id, now_ms,
                                         ofp->next_seq++);
    if (!r) {
        return ENOMEM;
    }
    const struct cls_rule *old = cls_find_exactly(
        ofp->tables[r->table_id], &r->cr.flow, r->cr.mask, r->cr.priority);
    if (old) {
        struct ofproto_rule *o = CLS_CONTAINER_OF(old, struct ofproto_rule,
                                                  cr);
        int error;

        /* The replaced rule's counters go on (as Open vSwitch does), unless
         * the add says reset_counts; its duration starts again. */
        if (!spec->reset_counts) {
            uint64_t p, b;
            long long used;

            ofproto_rule_stats(o, &p, &b, &used);
            atomic_store_explicit(&r->n_packets, p, memory_order_relaxed);
            atomic_store_explicit(&r->n_bytes, b, memory_order_relaxed);
        }
        error = txn_remove(t, o, false);
        if (error) {
            ofproto_rule_unref(r);
            return error;
        }
    }
    return txn_add(t, r);
}

static int
apply_modify(struct txn *t, const struct of_flow_spec *spec, bool strict,
             size_t idx, char *err, size_t errsize)
{
    struct ofproto_rule **v;
    size_t n;
    int error = select_rules(t->ofp, spec, strict, &v, &n);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < n && !error; i++) {
        struct ofproto_rule *r = v[i];
        error = validate_actions(t->ofp, spec->actions, r->table_id, true,
                                 err, errsize, idx);
        if (error) {
            break;
        }
        struct of_actions *acts = actions_clone(spec->actions);
        if (!acts) {
            error = ENOMEM;
            break;
        }
        uint64_t cookie = r->cookie;
        if (!spec->cookie_mask && spec->cookie) {
            cookie = spec->cookie;
        }
        error = txn_modify(t, r, acts, cookie, spec->reset_counts);
    }
    free(v);
    return error;
}

static int
apply_delete(struct txn *t, const struct of_flow_spec *spec, bool strict)
{
    struct ofproto_rule **v;
    size_t n;
    int error = select_rules(t->ofp, spec, strict, &v, &n);
    for (size_t i = 0; !error && i < n; i++) {
        error = txn_remove(t, v[i], true);
    }
    free(v);
    return error;
}

static int
apply_one(struct txn *t, const struct of_flow_spec *spec,
          enum of_flow_cmd cmd, long long now_ms, size_t idx, char *err,
          size_t errsize)
{
    switch (cmd) {
    case OFFC_ADD:
        return apply_add(t, spec, now_ms);
    case OFFC_MODIFY:
    case OFFC_MODIFY_STRICT:
        return apply_modify(t, spec, cmd == OFFC_MODIFY_STRICT, idx, err,
                            errsize);
    case OFFC_DELETE:
    case OFFC_DELETE_STRICT:
        return apply_delete(t, spec, cmd == OFFC_DELETE_STRICT);
    case OFFC_MATCH:
    default:
        return EINVAL;
    }
}

int
ofproto_flow_mod_batch(struct ofproto *ofp, const struct of_flow_spec *specs,
                       const enum of_flow_cmd *cmds, size_t n,
                       long long now_ms, char *err, size_t errsize)
{
    set_err(err, errsize, "%s", "");
    for (size_t i = 0; i < n; i++) {
        int error = validate_spec(ofp, &specs[i], cmds[i], i, err,
                                  errsize);
        if (error) {
            return error;
        }
    }

    struct txn t = { .ofp = ofp };
    for (size_t i = 0; i < n; i++) {
        int error = apply_one(&t, &specs[i], cmds[i], now_ms, i, err,
                              errsize);
        if (error) {
            if (error == ENOMEM) {
                set_err(err, errsize, "flow %zu: out of memory", i);
            }
            txn_abort(&t);
            return error;
        }
    }
    txn_commit(&t);
    return 0;
}

int
ofproto_flow_mod(struct ofproto *ofp, const struct of_flow_spec *spec,
                 enum of_flow_cmd cmd, long long now_ms, char *err,
                 size_t errsize)
{
    return ofproto_flow_mod_batch(ofp, spec, &cmd, 1, now_ms, err, errsize);
}

/* replace_flows: the key of a spec is (table, priority, match). */
struct spec_key {
    const struct of_flow_spec *spec;
    struct of_match m;
    size_t idx;
};

static int
spec_key_cmp(const void *a_, const void *b_)
{
    const struct spec_key *a = a_, *b = b_;
    if (a->spec->table_id != b->spec->table_id) {
        return a->spec->table_id < b->spec->table_id ? -1 : 1;
    }
    if (a->spec->priority != b->spec->priority) {
        return a->spec->priority < b->spec->priority ? -1 : 1;
    }
    int c = memcmp(&a->m, &b->m, sizeof a->m);
    if (c) {
        return c;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int
spec_idx_cmp(const void *a_, const void *b_)
{
    const struct spec_key *a = a_, *b = b_;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool
rule_same_as_spec(const struct ofproto_rule *r,
                  const struct of_flow_spec *spec)
{
    struct of_actions empty = { .n = 0 };
    return r->cookie == spec->cookie
           && r->idle_timeout == spec->idle_timeout
           && r->hard_timeout == spec->hard_timeout
           && actions_equal(r->actions,
                            spec->actions ? spec->actions : &empty);
}

int
ofproto_replace_flows(struct ofproto *ofp, const struct of_flow_spec *specs,
                      size_t n, long long now_ms, char *err, size_t errsize)
{
    set_err(err, errsize, "%s", "");
    for (size_t i = 0; i < n; i++) {
        int error = validate_spec(ofp, &specs[i], OFFC_ADD, i, err,
                                  errsize);
        if (error) {
            return error;
        }
    }

    struct spec_key *keys = malloc((n + 1) * sizeof *keys);
    bool *keep = calloc(n + 1, sizeof *keep);
    if (!keys || !keep) {
        free(keys);
        free(keep);
        set_err(err, errsize, "out of memory");
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i].spec = &specs[i];
        match_normalize(&keys[i].m, &specs[i].match);
        keys[i].idx = i;
    }
    /* Keep only the last spec of each key. */
    qsort(keys, n, sizeof *keys, spec_key_cmp);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n
                    || keys[i].spec->table_id != keys[i + 1].spec->table_id
                    || keys[i].spec->priority != keys[i + 1].spec->priority
                    || memcmp(&keys[i].m, &keys[i + 1].m, sizeof keys[i].m);
        if (last) {
            keys[nu++] = keys[i];
        }
    }
    qsort(keys, nu, sizeof *keys, spec_idx_cmp);

    /* Mark existing rules that stay as they are. */
    uint64_t epoch = ++ofp->mark_epoch;
    for (size_t i = 0; i < nu; i++) {
        const struct of_flow_spec *s = keys[i].spec;
        const struct cls_rule *cr = cls_find_exactly(
            ofp->tables[s->table_id], &keys[i].m.flow, &keys[i].m.wc,
            s->priority);
        if (cr) {
            struct ofproto_rule *r = CLS_CONTAINER_OF(cr, struct ofproto_rule,
                                                      cr);
            if (rule_same_as_spec(r, s)) {
                r->mark = epoch;
                keep[i] = true;
            }
        }
    }

    struct txn t = { .ofp = ofp };
    int error = 0;
    struct ofproto_rule *r = ofp->rules_head;
    while (r && !error) {
        struct ofproto_rule *next = r->next;
        if (r->mark != epoch) {
            error = txn_remove(&t, r, false);
        }
        r = next;
    }
    for (size_t i = 0; i < nu && !error; i++) {
        if (!keep[i]) {
            error = apply_add(&t, keys[i].spec, now_ms);
        }
    }
    free(keys);
    free(keep);
    if (error) {
        set_err(err, errsize, "out of memory");
        txn_abort(&t);
        return error;
    }
    txn_commit(&t);
    return 0;
}

/* ---- Timeouts. ---- */

static long long
rule_expiry(const struct ofproto_rule *r)
{
    long long when = LLONG_MAX;
    if (r->hard_timeout) {
        when = r->created_ms + r->hard_timeout * 1000LL;
    }
    if (r->idle_timeout) {
        long long used = atomic_load_explicit(
            &((struct ofproto_rule *) r)->used_ms, memory_order_relaxed);
        long long idle = used + r->idle_timeout * 1000LL;
        if (idle < when) {
            when = idle;
        }
    }
    return when;
}

size_t
ofproto_expire(struct ofproto *ofp, long long now_ms)
{
    size_t n = 0;
    struct ofproto_rule *r = ofp->timed;
    while (r) {
        struct ofproto_rule *next = r->tnext;
        if (now_ms >= rule_expiry(r)) {
            bool hard = r->hard_timeout
                        && now_ms >= r->created_ms + r->hard_timeout * 1000LL;

            rule_remove(ofp, r);
            report_removed(ofp, r, hard ? OFPROTO_REMOVED_HARD
                                        : OFPROTO_REMOVED_IDLE);
            ofproto_rule_unref(r);
            n++;
        }
        r = next;
    }
    if (n) {
        bump(ofp);
    }
    return n;
}

bool
ofproto_has_timeouts(const struct ofproto *ofp)
{
    return ofp->timed != NULL;
}

long long
ofproto_next_expiry(const struct ofproto *ofp)
{
    long long when = LLONG_MAX;
    for (const struct ofproto_rule *r = ofp->timed; r; r = r->tnext) {
        long long w = rule_expiry(r);
        if (w < when) {
            when = w;
        }
    }
    return when;
}

size_t
ofproto_n_rules(const struct ofproto *ofp)
{
    return ofp->n_rules;
}

uint8_t
ofproto_tlv_slots_used(const struct ofproto *ofp)
{
    uint8_t slots = 0;

    for (const struct ofproto_rule *r = ofp->rules_head; r; r = r->next) {
        slots |= of_tlv_slots_used(r->cr.mask, r->actions);
    }
    for (size_t i = 0; i < ofp->n_groups; i++) {
        const struct ofgroup *g = ofp->groups[i];

        for (size_t b = 0; b < g->n_buckets; b++) {
            slots |= of_tlv_slots_used(NULL, g->buckets[b].actions);
        }
    }
    return slots;
}

size_t
ofproto_table_n_rules(const struct ofproto *ofp, uint8_t table_id)
{
    return table_id < OF_N_TABLES ? cls_count(ofp->tables[table_id]) : 0;
}

/* ---- Dump. ---- */

static int
dump_cmp(const void *a_, const void *b_)
{
    const struct ofproto_rule *a = *(struct ofproto_rule *const *) a_;
    const struct ofproto_rule *b = *(struct ofproto_rule *const *) b_;
    if (a->table_id != b->table_id) {
        return a->table_id < b->table_id ? -1 : 1;
    }
    if (a->cr.priority != b->cr.priority) {
        return a->cr.priority > b->cr.priority ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int
ofproto_dump_rules(struct ofproto *ofp, const struct of_flow_spec *filter,
                   struct ofproto_rule ***rules, size_t *n_rules)
{
    struct ofproto_rule **v = malloc((ofp->n_rules + 1) * sizeof *v);
    struct of_match m;
    size_t n = 0;

    *rules = NULL;
    *n_rules = 0;
    if (!v) {
        return ENOMEM;
    }
    if (filter) {
        match_normalize(&m, &filter->match);
    }
    for (struct ofproto_rule *r = ofp->rules_head; r; r = r->next) {
        if (!filter || rule_selected(r, filter, &m, false)) {
            ofproto_rule_ref(r);
            v[n++] = r;
        }
    }
    qsort(v, n, sizeof *v, dump_cmp);
    *rules = v;
    *n_rules = n;
    return 0;
}

void
ofproto_rule_get_info(const struct ofproto_rule *r,
                      struct ofproto_rule_info *info)
{
    *info = (struct ofproto_rule_info) {
        .table_id = r->table_id,
        .priority = r->cr.priority,
        .send_flow_rem = r->send_flow_rem,
        .reset_counts = r->reset_counts,
        .cookie = r->cookie,
        .idle_timeout = r->idle_timeout,
        .hard_timeout = r->hard_timeout,
        .created_ms = r->created_ms,
        .match = &info->match_buf,
        .actions = r->actions,
        .rule = (struct ofproto_rule *) r,
    };
    info->match_buf.flow = r->cr.flow;
    info->match_buf.wc = *r->cr.mask;
    ofproto_rule_stats(r, &info->n_packets, &info->n_bytes, &info->used_ms);
}

void
ofproto_dump(struct ofproto *ofp, const struct of_flow_spec *filter,
             void (*cb)(const struct ofproto_rule_info *, void *aux),
             void *aux)
{
    struct ofproto_rule **v;
    size_t n;

    if (ofproto_dump_rules(ofp, filter, &v, &n)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct ofproto_rule_info info;

        ofproto_rule_get_info(v[i], &info);
        cb(&info, aux);
    }
    for (size_t i = 0; i < n; i++) {
        ofproto_rule_unref(v[i]);
    }
    free(v);
}

/* ---- Translation. ---- */

struct xctx {
    struct ofproto *ofp;
    const struct flow *in;      /* The flow as given (out->key_lookups). */
    bool learn;                 /* NORMAL may learn (ofp->learning and the
                                 * caller lets it). */
    struct flow work;           /* The flow as the actions changed it. */
    struct flow base;           /* The packet as emitted actions leave it. */
    struct flow *wc;
    struct dp_actions *acts;
    size_t cap;
    struct dp_actions *stub;    /* The caller's buffer, or NULL. */
    struct ofproto_xlate_out *out;
    long long now_ms;
    int depth;
    int n_resubmits;
    bool stop;                  /* Pipeline ended. */
    bool drop_all;              /* Discard every action at the end. */
    int error;                  /* ENOMEM. */
    const struct ofproto_rule *rule;    /* Whose actions run (NULL: a
                                         * packet-out's). */
    uint8_t table_id;

    /* The packet's action set (ofproto.h "Action set"): what
     * write_actions wrote, as pointers into the rules' actions (they
     * outlive the translation).  One action of each kind, one set_field
     * per field. */
    struct xlate_aset {
        bool any;
        bool pop;
        const struct of_action *push;
        bool dec_ttl;
        size_t n_set;
        const struct of_action *set[OFPROTO_ASET_MAX_SETS];
        const struct of_action *group;
        const struct of_action *output;
        uint8_t table_id;       /* Of the last rule that wrote it. */
    } aset;
    struct frozen_aset thawed;  /* A frozen set's actions, which 'aset'
                                 * points into after a thaw. */
};

static struct dp_action *
emit(struct xctx *x, enum dp_action_type type)
{
    if (x->stop) {
        return NULL;
    }
    if (x->acts->n == x->cap) {
        if (x->cap >= OFPROTO_MAX_DP_ACTIONS) {
            x->out->too_many_actions = true;
            x->stop = x->drop_all = true;
            return NULL;
        }
        size_t cap = x->cap * 2;
        struct dp_actions *a;

        if (x->acts == x->stub) {
            /* Outgrew the caller's buffer: move to the heap. */
            a = malloc(dp_actions_size(cap));
            if (a) {
                memcpy(a, x->acts, dp_actions_size(x->acts->n));
            }
        } else {
            a = realloc(x->acts, dp_actions_size(cap));
        }
        if (!a) {
            x->error = ENOMEM;
            x->stop = x->drop_all = true;
            return NULL;
        }
        x->acts = a;
        x->cap = cap;
    }
    struct dp_action *a = &x->acts->a[x->acts->n++];
    memset(a, 0, sizeof *a);
    a->type = type;
    return a;
}

static bool
is_tagged(uint16_t tci)
{
    return (tci & htons(FLOW_VLAN_CFI)) != 0;
}

static void
commit_vlan(struct xctx *x)
{
    struct flow *w = &x->work, *b = &x->base;

    /* The packet has a tag the flow no longer has (a group bucket pushed
     * it, or a set_field cleared the tag's present bit): pop it. */
    while (is_tagged(b->vlan_tci) && !is_tagged(w->vlan_tci)) {
        if (!emit(x, DPA_POP_VLAN)) {
            return;
        }
        b->vlan_tci = b->vlan_tci2;
        b->vlan_tci2 = 0;
    }
    if (w->vlan_tci == b->vlan_tci) {
        return;
    }
    if (!is_tagged(b->vlan_tci)) {
        struct dp_action *a = emit(x, DPA_PUSH_VLAN);
        if (a) {
            a->push_vlan.tpid = htons(ETH_TYPE_VLAN);
            a->push_vlan.tci = w->vlan_tci;
        }
    } else {
        struct dp_action *a = emit(x, DPA_SET_VLAN);
        if (a) {
            a->set_vlan.tci_mask = w->vlan_tci ^ b->vlan_tci;
            a->set_vlan.tci = w->vlan_tci & a->set_vlan.tci_mask;
        }
    }
    b->vlan_tci = w->vlan_tci;
}

static bool
mac_differs(const uint8_t a[6], const uint8_t b[6], uint8_t mask[6])
{
    bool any = false;
    for (int i = 0; i < 6; i++) {
        mask[i] = a[i] ^ b[i];
        any |= mask[i] != 0;
    }
    return any;
}

/* Emits DPA_SET_* for every header group in which the working flow differs
 * from the packet as it stands, with only the differing bits masked in. */
static void
commit(struct xctx *x)
{
    struct flow *w = &x->work, *b = &x->base;
    uint8_t sm[6], dm[6];

    bool s = mac_differs(w->dl_src, b->dl_src, sm);
    bool d = mac_differs(w->dl_dst, b->dl_dst, dm);
    if (s || d) {
        struct dp_action *a = emit(x, DPA_SET_ETH);
        if (a) {
            for (int i = 0; i < 6; i++) {
                a->eth.src[i] = w->dl_src[i] & sm[i];
                a->eth.dst[i] = w->dl_dst[i] & dm[i];
            }
            memcpy(a->eth.src_mask, sm, 6);
            memcpy(a->eth.dst_mask, dm, 6);
        }
        memcpy(b->dl_src, w->dl_src, 6);
        memcpy(b->dl_dst, w->dl_dst, 6);
    }

    commit_vlan(x);

    if (b->dl_type == htons(ETH_TYPE_IP)) {
        uint32_t src_m = w->nw_src ^ b->nw_src, dst_m = w->nw_dst ^ b->nw_dst;
        uint8_t tos_m = w->nw_tos ^ b->nw_tos, ttl_m = w->nw_ttl ^ b->nw_ttl;
        if (src_m || dst_m || tos_m || ttl_m) {
            struct dp_action *a = emit(x, DPA_SET_IPV4);
            if (a) {
                a->ipv4.src = w->nw_src & src_m;
                a->ipv4.dst = w->nw_dst & dst_m;
                a->ipv4.src_mask = src_m;
                a->ipv4.dst_mask = dst_m;
                a->ipv4.tos = w->nw_tos & tos_m;
                a->ipv4.tos_mask = tos_m;
                a->ipv4.ttl = w->nw_ttl & ttl_m;
                a->ipv4.ttl_mask = ttl_m;
            }
            b->nw_src = w->nw_src;
            b->nw_dst = w->nw_dst;
            b->nw_tos = w->nw_tos;
            b->nw_ttl = w->nw_ttl;
        }
    } else if (b->dl_type == htons(ETH_TYPE_IPV6)) {
        uint8_t srcm[16], dstm[16];
        bool any = false;
        for (int i = 0; i < 16; i++) {
            srcm[i] = w->ipv6_src[i] ^ b->ipv6_src[i];
            dstm[i] = w->ipv6_dst[i] ^ b->ipv6_dst[i];
            any |= (srcm[i] | dstm[i]) != 0;
        }
        uint8_t tc_m = w->nw_tos ^ b->nw_tos, hl_m = w->nw_ttl ^ b->nw_ttl;
        if (any || tc_m || hl_m) {
            struct dp_action *a = emit(x, DPA_SET_IPV6);
            if (a) {
                for (int i = 0; i < 16; i++) {
                    a->ipv6.src[i] = w->ipv6_src[i] & srcm[i];
                    a->ipv6.dst[i] = w->ipv6_dst[i] & dstm[i];
                }
                memcpy(a->ipv6.src_mask, srcm, 16);
                memcpy(a->ipv6.dst_mask, dstm, 16);
                a->ipv6.tclass = w->nw_tos & tc_m;
                a->ipv6.tclass_mask = tc_m;
                a->ipv6.hlimit = w->nw_ttl & hl_m;
                a->ipv6.hlimit_mask = hl_m;
            }
            memcpy(b->ipv6_src, w->ipv6_src, 16);
            memcpy(b->ipv6_dst, w->ipv6_dst, 16);
            b->nw_tos = w->nw_tos;
            b->nw_ttl = w->nw_ttl;
        }
    }

    uint16_t sp_m = w->tp_src ^ b->tp_src, dp_m = w->tp_dst ^ b->tp_dst;
    if (sp_m || dp_m) {
        struct dp_action *a = emit(x, DPA_SET_L4);
        if (a) {
            a->l4.src = w->tp_src & sp_m;
            a->l4.dst = w->tp_dst & dp_m;
            a->l4.src_mask = sp_m;
            a->l4.dst_mask = dp_m;
            a->l4.proto = b->nw_proto;
        }
        b->tp_src = w->tp_src;
        b->tp_dst = w->tp_dst;
    }
}

static void
output_port(struct xctx *x, uint32_t ofport)
{
    const struct ofport *p = port_find(x->ofp, ofport);

    if (!p) {
        x->out->n_unknown_port++;
        return;
    }
    uint32_t dp_port = p->dp_port;
    commit(x);
    if (p->hooked && x->ofp->hook && !x->stop) {
        /* The hook may translate in another bridge. */
        x->out->key_lookups = false;
    }
    if (p->hooked && x->ofp->hook && !x->stop
        && x->ofp->hook->output(x->ofp->hook, x->ofp, ofport, dp_port,
                                &x->work, x->wc, (struct ofproto_xctx *) x)
           == OFPROTO_HOOK_DONE) {
        return;
    }
    struct dp_action *a = emit(x, DPA_OUTPUT);
    if (a) {
        a->port = dp_port;
    }
}

static void
flood(struct xctx *x)
{
    for (size_t i = 0; i < x->ofp->n_ports && !x->stop; i++) {
        if (x->ofp->ports[i].ofport != x->work.in_port
            && !x->ofp->ports[i].no_flood) {
            output_port(x, x->ofp->ports[i].ofport);
        }
    }
}

static void
xlate_normal(struct xctx *x)
{
    struct flow *w = &x->work;

    x->wc->in_port = UINT32_MAX;
    memset(x->wc->dl_src, 0xff, 6);
    memset(x->wc->dl_dst, 0xff, 6);
    x->wc->vlan_tci = 0xffff;

    uint16_t vlan = is_tagged(w->vlan_tci)
                    ? ntohs(w->vlan_tci) & FLOW_VLAN_VID_MASK : 0;
    if (x->learn && !(w->dl_src[0] & 1) && w->in_port < OFPP_MAX
        && ml_learn(x->ofp->ml, w->dl_src, vlan, w->in_port, x->now_ms)) {
        x->out->learned_changed = true;
    }

    uint32_t port;
    if (w->dl_dst[0] & 1) {
        flood(x);
    } else if (ml_lookup(x->ofp->ml, w->dl_dst, vlan, x->now_ms, &port)) {
        if (port == w->in_port) {
            x->out->n_in_port_drop++;
        } else {
            output_port(x, port);
        }
    } else {
        flood(x);
    }
}

static void xlate_table(struct xctx *x, uint8_t table_id, bool resubmit,
                        uint32_t in_port);
static void xlate_controller(struct xctx *x, uint16_t max_len,
                             uint8_t table_id);

static void
xlate_output(struct xctx *x, uint32_t port)
{
    switch (port) {
    case OFPP_IN_PORT:
        output_port(x, x->work.in_port);
        break;
    case OFPP_NORMAL:
        xlate_normal(x);
        break;
    case OFPP_FLOOD:
    case OFPP_ALL:
        flood(x);
        break;
    case OFPP_CONTROLLER:
        xlate_controller(x, UINT16_MAX, x->table_id);
        break;
    case OFPP_TABLE:
        if (!x->rule && !x->depth) {
            /* A packet-out's output:TABLE: the pipeline from table 0. */
            x->depth++;
            xlate_table(x, 0, false, OFPP_IN_PORT);
            x->depth--;
            break;
        }
        x->out->n_unknown_port++;
        break;
    case OFPP_NONE:
        x->out->n_unknown_port++;
        break;
    default:
        if (port == x->work.in_port) {
            x->out->n_in_port_drop++;
        } else {
            output_port(x, port);
        }
        break;
    }
}

/* Un-wildcards in 'wc' the member bits a set of 'mf' under 'mask' (NULL =
 * whole view) writes. */
static void
unwildcard_written(const struct mf_field *mf, const union mf_value *mask,
                   struct flow *wc)
{
    struct flow tmp;
    union mf_value ones;

    memset(&tmp, 0, sizeof tmp);
    memset(&ones, 0xff, sizeof ones);
    mf_set(mf, &ones, mask, &tmp);
    flow_or(wc, &tmp);
}

static void
pop_vlan(struct xctx *x)
{
    struct flow *w = &x->work, *b = &x->base;
    if (!is_tagged(b->vlan_tci)) {
        /* The tag exists only as a pending push: cancel it. */
        w->vlan_tci = 0;
        return;
    }
    emit(x, DPA_POP_VLAN);
    b->vlan_tci = b->vlan_tci2;
    b->vlan_tci2 = 0;
    w->vlan_tci = w->vlan_tci2;
    w->vlan_tci2 = 0;
}

static void
xlate_set_field(struct xctx *x, const struct of_action *a)
{
    const struct mf_field *mf = mf_from_id(a->set_field.field);
    const union mf_value *mask = a->set_field.has_mask
                                 ? &a->set_field.mask : NULL;
    struct flow *w = &x->work;

    if (!mf || !mf->writable) {
        x->out->n_skipped++;
        return;
    }
    if (mf_is_register(mf->id)) {
        /* The pipeline's own, like metadata: no datapath action, never in
         * a megaflow's match (ofproto_xlate()). */
        mf_set(mf, &a->set_field.value, mask, w);
        return;
    }

    switch (mf->id) {
    case MFF_VLAN_TCI:
    case MFF_DL_VLAN:
    case MFF_DL_VLAN_PCP:
    case MFF_VLAN_VID: {
        x->wc->vlan_tci |= htons(FLOW_VLAN_CFI);
        bool was_tagged = is_tagged(w->vlan_tci);
        if (mf->id != MFF_VLAN_TCI && !was_tagged) {
            if (a->set_field.syntax != OFSF_MOD) {
                x->out->n_skipped++;
                return;
            }
            /* mod_vlan_vid/mod_vlan_pcp push a tag when there is none. */
            x->wc->vlan_tci = 0xffff;
            w->vlan_tci = htons(FLOW_VLAN_CFI);
        }
        mf_set(mf, &a->set_field.value, mask, w);
        unwildcard_written(mf, mask, x->wc);
        if (mf->id != MFF_VLAN_TCI) {
            w->vlan_tci |= htons(FLOW_VLAN_CFI);
        } else if (!is_tagged(w->vlan_tci)) {
            if (was_tagged) {
                x->wc->vlan_tci = 0xffff;
                x->wc->vlan_tci2 = 0xffff;
                w->vlan_tci = x->base.vlan_tci;   /* Restore, then pop. */
                pop_vlan(x);
            } else {
                w->vlan_tci = 0;
            }
        }
        return;
    }
    default:
        break;
    }

    if (!mf_prereqs_ok(mf, w, x->wc)) {
        x->out->n_skipped++;
        return;
    }
    switch (mf->id) {
    case MFF_DL_SRC:
    case MFF_DL_DST:
    case MFF_NW_TOS:
    case MFF_IP_DSCP:
    case MFF_NW_ECN:
    case MFF_NW_TTL:
    case MFF_IPV6_SRC:
    case MFF_IPV6_DST:
        break;
    case MFF_TUN_ID:
    case MFF_TUN_SRC:
    case MFF_TUN_DST:
    case MFF_TUN_IPV6_SRC:
    case MFF_TUN_IPV6_DST:
        /* Metadata: no datapath action; what a flow-based tunnel port
         * encapsulates with (datapath/tunnel.c). */
        break;
    case MFF_METADATA:
        /* The pipeline's own (as write_metadata): no datapath action. */
        break;
    case MFF_IN_PORT:
        /* The pipeline's (later lookups, IN_PORT, NORMAL, packet-ins,
         * and a ct(table=N) freezes it): no datapath action.  (Every
         * megaflow matches in_port exactly.) */
        break;
    case MFF_TUN_METADATA0: case MFF_TUN_METADATA1:
    case MFF_TUN_METADATA2: case MFF_TUN_METADATA3:
    case MFF_TUN_METADATA4: case MFF_TUN_METADATA5:
    case MFF_TUN_METADATA6: case MFF_TUN_METADATA7:
        /* A GENEVE option the encapsulation sends (the TLV map says
         * which): present from now on (whether it was, a ct(table=N)
         * that freezes the tunnel may ask). */
        w->tunnel.md_present |= (uint8_t) (1u << mf_tun_metadata_slot(
                                               mf->id));
        x->wc->tunnel.md_present |= (uint8_t) (1u << mf_tun_metadata_slot(
                                                   mf->id));
        break;
    case MFF_NW_SRC:
    case MFF_NW_DST:
        if (w->dl_type != htons(ETH_TYPE_IP)) {
            x->out->n_skipped++;        /* ARP: no datapath action. */
            return;
        }
        break;
    case MFF_TP_SRC:
    case MFF_TP_DST:
        x->wc->nw_frag |= FLOW_NW_FRAG_LATER;
        if (w->nw_frag & FLOW_NW_FRAG_LATER) {
            x->out->n_skipped++;        /* No L4 header in this fragment. */
            return;
        }
        break;
    default:
        x->out->n_skipped++;
        return;
    }
    mf_set(mf, &a->set_field.value, mask, w);
    unwildcard_written(mf, mask, x->wc);
}

/* move:SRC[a..b]->DST[c..d]: the source bits as the pipeline has them
 * now (a packet field's bits join the megaflow's match), written like a
 * set_field of those destination bits. */
static void
xlate_move(struct xctx *x, const struct of_action *a)
{
    const struct mf_nxm *sn = mf_nxm_get(a->move.src.nxm);
    const struct mf_nxm *dn = mf_nxm_get(a->move.dst.nxm);
    const struct mf_field *smf, *dmf;
    union mf_value sv, sm, dv, dm;
    struct of_action set;
    unsigned done = 0, n = a->move.src.n_bits;

    if (!sn || !dn) {
        x->out->n_skipped++;
        return;
    }
    smf = mf_from_id(sn->id);
    dmf = mf_from_id(dn->id);
    mf_get(smf, &x->work, &sv);
    memset(&sm, 0, sizeof sm);
    memset(&dv, 0, sizeof dv);
    memset(&dm, 0, sizeof dm);
    while (done < n) {
        unsigned k = n - done > 64 ? 64 : n - done;
        uint64_t bits = mf_nxm_get_bits(sn, &sv, a->move.src.ofs + done, k);

        mf_nxm_put_bits(dn, &dv, &dm, a->move.dst.ofs + done, k, bits);
        done += k;
    }
    /* The source bits decide the result. */
    mf_nxm_mask_bits(sn, &sm, a->move.src.ofs, n);
    unwildcard_written(smf, &sm, x->wc);
    memset(&set, 0, sizeof set);
    set.type = OFPACT_SET_FIELD;
    set.set_field.field = (uint16_t) dmf->id;
    set.set_field.syntax = OFSF_SET_FIELD;
    set.set_field.has_mask = true;
    set.set_field.value = dv;
    set.set_field.mask = dm;
    xlate_set_field(x, &set);
}

static void
xlate_dec_ttl(struct xctx *x)
{
    struct flow *w = &x->work;
    x->wc->dl_type = 0xffff;
    if (w->dl_type != htons(ETH_TYPE_IP)
        && w->dl_type != htons(ETH_TYPE_IPV6)) {
        return;
    }
    x->wc->nw_ttl = 0xff;
    if (w->nw_ttl <= 1) {
        x->out->dec_ttl_drop = 1;
        x->stop = true;
    } else {
        w->nw_ttl--;
    }
}

static void
xlate_push_vlan(struct xctx *x, uint16_t ethertype)
{
    struct flow *w = &x->work, *b = &x->base;

    x->wc->vlan_tci = 0xffff;
    x->wc->vlan_tci2 = 0xffff;
    if (is_tagged(w->vlan_tci2)) {
        x->out->n_skipped++;            /* At most two tags. */
        return;
    }
    commit_vlan(x);
    uint16_t tci = is_tagged(w->vlan_tci) ? w->vlan_tci
                                          : htons(FLOW_VLAN_CFI);
    struct dp_action *a = emit(x, DPA_PUSH_VLAN);
    if (a) {
        a->push_vlan.tpid = htons(ethertype);
        a->push_vlan.tci = tci;
    }
    w->vlan_tci2 = w->vlan_tci;
    w->vlan_tci = tci;
    b->vlan_tci2 = b->vlan_tci;
    b->vlan_tci = tci;
}

static void xlate_table(struct xctx *x, uint8_t table_id, bool resubmit,
                        uint32_t in_port);

static void
clear_ct_fields(struct flow *f)
{
    f->ct_state = 0;
    f->ct_nw_proto = 0;
    f->ct_zone = 0;
    f->ct_mark = 0;
    memset(f->ct_label, 0, sizeof f->ct_label);
    f->ct_nw_src = f->ct_nw_dst = 0;
    f->ct_tp_src = f->ct_tp_dst = 0;
    memset(f->ct_ipv6_src, 0, sizeof f->ct_ipv6_src);
    memset(f->ct_ipv6_dst, 0, sizeof f->ct_ipv6_dst);
}

static void xlate_add_frozen(struct xctx *x, struct frozen *f);
static bool aset_freeze(const struct xlate_aset *s,
                        struct frozen_aset *fa);

/* True if 'w' has registers or metadata a recirculation must carry. */
static bool
pipeline_state_set(const struct flow *w)
{
    uint64_t any = w->metadata;

    for (size_t i = 0; i < FLOW_N_REGS / 2; i++) {
        any |= w->xregs[i];
    }
    return any != 0;
}

/* ct(...): the header changes so far are committed (conntrack sees the
 * packet as the actions left it), then the datapath's ct, then, with
 * table=T, a recirculation that resumes in table T.  The actions after a
 * ct(table=T) go on with the packet as ct left it (the datapath recirculates
 * a copy when more actions follow), as in Open vSwitch; the lookups of this
 * translation keep seeing the ct fields the packet arrived with. */
static void
xlate_ct(struct xctx *x, const struct of_ct *ct)
{
    struct dp_action *a;

    commit(x);
    a = emit(x, DPA_CT);
    if (!a) {
        return;
    }
    a->ct = ct->exec;
    if (!ct->has_nat) {
        memset(&a->ct.nat, 0, sizeof a->ct.nat);
    }
    if (ct->zone_src.n_bits) {
        /* zone=FIELD[a..b]: its bits as the pipeline has them now (a
         * packet field's bits join the megaflow's match). */
        const struct mf_nxm *nxm = mf_nxm_get(ct->zone_src.nxm);
        const struct mf_field *mf = nxm ? mf_from_id(nxm->id) : NULL;
        union mf_value v, m;

        if (mf) {
            mf_get(mf, &x->work, &v);
            a->ct.zone = (uint16_t) mf_nxm_get_bits(nxm, &v,
                                                    ct->zone_src.ofs, 16);
            memset(&m, 0, sizeof m);
            mf_nxm_mask_bits(nxm, &m, ct->zone_src.ofs, 16);
            unwildcard_written(mf, &m, x->wc);
        }
    }
    if (ct->table != OF_CT_NO_TABLE) {
        uint32_t id = ofproto_recirc_id(ct->table);
        struct frozen_key k = {
            .table = ct->table,
            .has_in_port = x->work.in_port != x->base.in_port,
            .in_port = x->work.in_port,
            .metadata = x->work.metadata,
            .regs = x->work.regs,
        };
        struct frozen_aset fa;

        if (!k.has_in_port) {
            k.in_port = 0;
        }
        if (memcmp(&x->work.tunnel, &x->base.tunnel, sizeof x->work.tunnel)) {
            /* A set_field of a tunnel field has no datapath action: the
             * next pass takes it from the frozen state, which holds the
             * packet's other tunnel fields too: all of them join this
             * pass's match. */
            k.tunnel = &x->work.tunnel;
            memset(&x->wc->tunnel, 0xff, sizeof x->wc->tunnel);
            memset(x->wc->tunnel.pad, 0, sizeof x->wc->tunnel.pad);
        }
        if (aset_freeze(&x->aset, &fa)) {
            k.aset = &fa;
        }
        if (pipeline_state_set(&x->work) || k.has_in_port || k.tunnel
            || k.aset) {
            /* Pipeline state to carry over: a frozen state. */
            struct frozen *f = frozen_get(x->ofp, &k);

            if (!f) {
                /* Dropped, and not cached: a later packet may find
                 * room. */
                x->out->recirc_refused = true;
                x->out->no_cache = true;
                x->stop = x->drop_all = true;
                return;
            }
            id = f->id;
            xlate_add_frozen(x, f);
            /* The action set goes with the packet to the next pass. */
            memset(&x->aset, 0, sizeof x->aset);
        }
        a = emit(x, DPA_RECIRC);
        if (a) {
            a->recirc_id = id;
        }
    }
}

static void xlate_actions(struct xctx *x, const struct of_actions *acts,
                          uint8_t table_id);

/* Select: a bucket chosen by a hash of the packet's addresses and ports
 * (whichever it has), un-wildcarding exactly those, among the buckets
 * with weight > 0 and a live watch port, in proportion to weight. */
static const struct of_bucket *
select_bucket(struct xctx *x, const struct ofgroup *g)
{
    const struct flow *f = &x->work;
    struct flow *wc = x->wc;
    uint32_t total = 0, h = 2166136261u;
    uint16_t t = ntohs(f->dl_type);

#define MIX(P, N)                                                          \
    do {                                                                   \
        const uint8_t *p_ = (const uint8_t *) (P);                         \
        for (size_t i_ = 0; i_ < (N); i_++) {                              \
            h = (h ^ p_[i_]) * 16777619u;                                  \
        }                                                                  \
    } while (0)
    for (size_t i = 0; i < g->n_buckets; i++) {
        const struct of_bucket *b = &g->buckets[i];

        if (b->weight && (b->watch_port == OFPP_NONE
                          || port_live(x->ofp, b->watch_port))) {
            total += b->weight;
        }
    }
    if (!total) {
        return NULL;
    }
    MIX(f->dl_src, 6);
    MIX(f->dl_dst, 6);
    MIX(&f->dl_type, 2);
    memset(wc->dl_src, 0xff, 6);
    memset(wc->dl_dst, 0xff, 6);
    wc->dl_type = 0xffff;
    if (t == ETH_TYPE_IP || t == ETH_TYPE_IPV6) {
        if (t == ETH_TYPE_IP) {
            MIX(&f->nw_src, 4);
            MIX(&f->nw_dst, 4);
            wc->nw_src = wc->nw_dst = UINT32_MAX;
        } else {
            MIX(f->ipv6_src, 16);
            MIX(f->ipv6_dst, 16);
            memset(wc->ipv6_src, 0xff, 16);
            memset(wc->ipv6_dst, 0xff, 16);
        }
        MIX(&f->nw_proto, 1);
        wc->nw_proto = 0xff;
        if (f->nw_proto == 6 || f->nw_proto == 17 || f->nw_proto == 132) {
            MIX(&f->tp_src, 2);
            MIX(&f->tp_dst, 2);
            wc->tp_src = wc->tp_dst = 0xffff;
        }
    }
#undef MIX
    /* Mix the high bits down: FNV's low bits alone are weak, and a
     * power-of-two total keeps only them. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    h %= total;
    for (size_t i = 0; i < g->n_buckets; i++) {
        const struct of_bucket *b = &g->buckets[i];

        if (b->weight && (b->watch_port == OFPP_NONE
                          || port_live(x->ofp, b->watch_port))) {
            if (h < b->weight) {
                return b;
            }
            h -= b->weight;
        }
    }
    return NULL;
}

/* write_actions: the 'n' actions at 'a' go into the action set, each
 * replacing the set's action of its kind (a set_field, the one of its
 * field). */
static void
aset_write(struct xctx *x, const struct of_action *a, size_t n)
{
    struct xlate_aset *s = &x->aset;

    s->any = true;
    s->table_id = x->table_id;
    for (size_t i = 0; i < n; i++) {
        switch (a[i].type) {
        case OFPACT_POP_VLAN:
        case OFPACT_STRIP_VLAN:
            s->pop = true;
            break;
        case OFPACT_PUSH_VLAN:
            s->push = &a[i];
            break;
        case OFPACT_DEC_TTL:
            s->dec_ttl = true;
            break;
        case OFPACT_SET_FIELD: {
            size_t k = 0;

            while (k < s->n_set
                   && s->set[k]->set_field.field != a[i].set_field.field) {
                k++;
            }
            if (k < OFPROTO_ASET_MAX_SETS) {
                s->set[k] = &a[i];
                s->n_set += k == s->n_set;
            } else {
                x->out->n_skipped++;
            }
            break;
        }
        case OFPACT_GROUP:
            s->group = &a[i];
            break;
        default:                /* Outputs (of_action_set_allowed()). */
            s->output = &a[i];
            break;
        }
    }
}

/* The set 's' by value into 'fa' (ct(table=N) freezes it); false when
 * it is empty. */
static bool
aset_freeze(const struct xlate_aset *s, struct frozen_aset *fa)
{
    if (!s->any || (!s->pop && !s->push && !s->dec_ttl && !s->n_set
                    && !s->group && !s->output)) {
        return false;           /* (The usual case: nothing to clear.) */
    }
    memset(fa, 0, sizeof *fa);
    fa->pop = s->pop;
    fa->dec_ttl = s->dec_ttl;
    fa->table_id = s->table_id;
    if (s->push) {
        fa->has_push = true;
        memcpy(&fa->push, s->push, sizeof fa->push);
    }
    if (s->group) {
        fa->has_group = true;
        memcpy(&fa->group, s->group, sizeof fa->group);
    }
    if (s->output) {
        fa->has_output = true;
        memcpy(&fa->output, s->output, sizeof fa->output);
    }
    fa->n_set = (uint8_t) s->n_set;
    for (size_t k = 0; k < s->n_set; k++) {
        memcpy(&fa->set[k], s->set[k], sizeof fa->set[k]);
    }
    return true;
}

/* The action set a thaw left in x->thawed becomes the packet's. */
static void
aset_thaw(struct xctx *x)
{
    const struct frozen_aset *fa = &x->thawed;
    struct xlate_aset *s = &x->aset;

    memset(s, 0, sizeof *s);
    s->any = true;
    s->pop = fa->pop;
    s->dec_ttl = fa->dec_ttl;
    s->table_id = fa->table_id;
    s->push = fa->has_push ? &fa->push : NULL;
    s->group = fa->has_group ? &fa->group : NULL;
    s->output = fa->has_output ? &fa->output : NULL;
    s->n_set = fa->n_set;
    for (size_t k = 0; k < fa->n_set; k++) {
        s->set[k] = &fa->set[k];
    }
}

/* The end of the pipeline: the action set runs, in OpenFlow's order
 * (pop, push, dec_ttl, the set_fields, then the group, else the
 * output). */
static void
aset_run(struct xctx *x)
{
    struct xlate_aset s = x->aset;
    _Alignas(struct of_actions) unsigned char
        buf[sizeof(struct of_actions)
            + (OFPROTO_ASET_MAX_SETS + 4) * sizeof(struct of_action)];
    struct of_actions *list = (struct of_actions *) (void *) buf;

    memset(buf, 0, sizeof buf);
    memset(&x->aset, 0, sizeof x->aset);
    if (s.pop) {
        list->a[list->n++].type = OFPACT_POP_VLAN;
    }
    if (s.push) {
        list->a[list->n++] = *s.push;
    }
    if (s.dec_ttl) {
        list->a[list->n++].type = OFPACT_DEC_TTL;
    }
    for (size_t k = 0; k < s.n_set; k++) {
        list->a[list->n++] = *s.set[k];
    }
    if (s.group) {
        list->a[list->n++] = *s.group;
    } else if (s.output) {
        list->a[list->n++] = *s.output;
    }
    xlate_actions(x, list, s.table_id);
}

/* Makes room in a full 'out' by letting the last counter that is not a
 * frozen state go (frozen states must stay held: ofproto.h,
 * "Recirculation").  False if there is none. */
static bool
out_drop_counter(struct ofproto_xlate_out *out)
{
    for (size_t i = out->n_counters; i-- > 0;) {
        if (*(const uint8_t *) out->counters[i] != HIT_FROZEN) {
            ofproto_hit_unref(out->counters[i]);
            memmove(&out->counters[i], &out->counters[i + 1],
                    (out->n_counters - i - 1) * sizeof out->counters[0]);
            out->n_counters--;
            out->rules_truncated = true;
            return true;
        }
    }
    return false;
}

/* True if 'out' has room for one more rule.  A rule goes before a
 * counter (its counts drive its idle timeout): when every slot is taken,
 * the last counter that is not a frozen state makes way (and the report
 * is marked truncated). */
static bool
out_room_for_rule(struct ofproto_xlate_out *out)
{
    if (out->n_rules + out->n_counters == OFPROTO_MAX_XLATE_RULES) {
        out_drop_counter(out);
    }
    return out->n_rules + out->n_counters < OFPROTO_MAX_XLATE_RULES;
}

/* Reports the frozen state 'f' (the caller took a reference for it) as
 * held by the result 'out'; a state already held gives its extra
 * reference back.  It must stay: in a full report a counter makes way,
 * or else the last rule (which then goes uncredited).  Returns false,
 * with the reference released, the packet to be dropped and the result
 * not to be cached, only when every slot already holds a frozen state. */
static bool
out_add_frozen(struct ofproto_xlate_out *out, struct frozen *f)
{
    for (size_t i = 0; i < out->n_counters; i++) {
        if (out->counters[i] == (void *) f) {
            frozen_unref(f);
            return true;
        }
    }
    if (out->n_rules + out->n_counters == OFPROTO_MAX_XLATE_RULES
        && !out_drop_counter(out)) {
        if (!out->n_rules) {
            frozen_unref(f);
            out->recirc_refused = true;
            out->no_cache = true;
            return false;
        }
        ofproto_rule_unref(out->rules[--out->n_rules]);
        out->rules_truncated = true;
    }
    out->counters[out->n_counters++] = f;
    return true;
}

static void
xlate_add_frozen(struct xctx *x, struct frozen *f)
{
    if (!out_add_frozen(x->out, f)) {
        x->stop = x->drop_all = true;
    }
}

/* Reports 'hit' (counters; the caller took a reference for it) as hit
 * by this translation, if the rules and counters reported so far leave
 * room (else the reference goes and the report is marked truncated). */
static void
xlate_add_counter(struct xctx *x, void *hit)
{
    struct ofproto_xlate_out *out = x->out;

    if (out->n_rules + out->n_counters < OFPROTO_MAX_XLATE_RULES) {
        out->counters[out->n_counters++] = hit;
    } else {
        out->rules_truncated = true;
        ofproto_hit_unref(hit);
    }
}

/* A bucket's actions run on the packet as the group found it; what they
 * change is undone for the actions after the group (like a clone).  The
 * bucket's counters count the packet. */
static void
xlate_bucket(struct xctx *x, const struct ofgroup *g,
             const struct of_bucket *b)
{
    struct flow saved = x->work;
    size_t idx = (size_t) (b - g->buckets);

    if (idx < g->bctrs->n) {
        atomic_fetch_add_explicit(&g->bctrs->ref_cnt, 1,
                                  memory_order_relaxed);
        xlate_add_counter(x, &g->bctrs->b[idx]);
    }

    xlate_actions(x, b->actions, x->table_id);
    x->work = saved;
}

static void
xlate_group(struct xctx *x, uint32_t id)
{
    const struct ofgroup *g = group_find(x->ofp, id);

    if (!g) {
        x->out->n_skipped++;
        return;
    }
    if (x->depth >= OFPROTO_MAX_RESUBMIT_DEPTH
        || x->n_resubmits >= OFPROTO_MAX_RESUBMITS) {
        x->out->resubmit_limit = true;
        x->stop = x->drop_all = true;
        return;
    }
    x->depth++;
    x->n_resubmits++;
    /* The group counts every packet that reaches it, whatever its buckets
     * do. */
    atomic_fetch_add_explicit(&g->ctr->ref_cnt, 1, memory_order_relaxed);
    xlate_add_counter(x, g->ctr);
    switch (g->type) {
    case OFG_TYPE_ALL:
        for (size_t i = 0; i < g->n_buckets && !x->stop; i++) {
            xlate_bucket(x, g, &g->buckets[i]);
        }
        break;
    case OFG_TYPE_INDIRECT:
        if (g->n_buckets) {
            xlate_bucket(x, g, &g->buckets[0]);
        }
        break;
    case OFG_TYPE_SELECT: {
        const struct of_bucket *b = select_bucket(x, g);

        if (b) {
            xlate_bucket(x, g, b);
        }
        break;
    }
    case OFG_TYPE_FF:
        for (size_t i = 0; i < g->n_buckets; i++) {
            const struct of_bucket *b = &g->buckets[i];

            if (b->watch_port != OFPP_NONE
                && port_live(x->ofp, b->watch_port)) {
                xlate_bucket(x, g, b);
                break;
            }
        }
        break;
    }
    x->depth--;
}

/* A packet-in: the packet as the actions so far made it.  The reason is
 * "no match" for a table-miss flow (priority 0, matching everything), as
 * OpenFlow 1.3 has it, else "action". */
static void
xlate_controller(struct xctx *x, uint16_t max_len, uint8_t table_id)
{
    const struct ofproto_rule *r = x->rule;
    static const struct flow zero;
    struct dp_action *a;
    bool miss;

    miss = r && r->cr.priority == 0
           && !memcmp(r->cr.mask, &zero, sizeof zero);
    commit(x);
    a = emit(x, DPA_USERSPACE);
    if (a) {
        a->userspace.max_len = max_len;
        a->userspace.reason = miss ? 0 : 1;
        a->userspace.table_id = table_id;
        a->userspace.cookie = r ? r->cookie : UINT64_MAX;
        a->userspace.in_port = x->work.in_port;    /* (Every megaflow
                                                    * matches in_port.) */
        a->userspace.metadata = x->work.metadata;
        memcpy(a->userspace.regs, x->work.regs, sizeof a->userspace.regs);
    }
}

static void
xlate_actions(struct xctx *x, const struct of_actions *acts,
              uint8_t table_id)
{
    uint8_t outer_table = x->table_id;

    x->table_id = table_id;
    for (size_t i = 0; i < acts->n && !x->stop; i++) {
        const struct of_action *a = &acts->a[i];
        switch (a->type) {
        case OFPACT_OUTPUT:
            xlate_output(x, a->output.port);
            break;
        case OFPACT_IN_PORT:
            xlate_output(x, OFPP_IN_PORT);
            break;
        case OFPACT_FLOOD:
        case OFPACT_ALL:
            flood(x);
            break;
        case OFPACT_NORMAL:
            xlate_normal(x);
            break;
        case OFPACT_SET_FIELD:
            xlate_set_field(x, a);
            break;
        case OFPACT_MOVE:
            xlate_move(x, a);
            break;
        case OFPACT_DEC_TTL:
            xlate_dec_ttl(x);
            break;
        case OFPACT_STRIP_VLAN:
        case OFPACT_POP_VLAN:
            x->wc->vlan_tci = 0xffff;
            x->wc->vlan_tci2 = 0xffff;
            if (is_tagged(x->work.vlan_tci)) {
                pop_vlan(x);
            }
            break;
        case OFPACT_PUSH_VLAN:
            xlate_push_vlan(x, a->push_vlan.ethertype);
            break;
        case OFPACT_RESUBMIT: {
            if (x->depth >= OFPROTO_MAX_RESUBMIT_DEPTH
                || x->n_resubmits >= OFPROTO_MAX_RESUBMITS) {
                x->out->resubmit_limit = true;
                x->stop = x->drop_all = true;
                break;
            }
            x->depth++;
            x->n_resubmits++;
            xlate_table(x, a->resubmit.table == OF_TABLE_NONE
                           ? table_id : a->resubmit.table, true,
                        a->resubmit.port);
            x->depth--;
            break;
        }
        case OFPACT_GOTO_TABLE:
            if (a->goto_table.table > table_id
                && a->goto_table.table < OF_N_TABLES) {
                xlate_table(x, a->goto_table.table, false, OFPP_IN_PORT);
            }
            break;
        case OFPACT_CT:
            xlate_ct(x, &a->ct);
            break;
        case OFPACT_CT_CLEAR:
            if (emit(x, DPA_CT_CLEAR)) {
                clear_ct_fields(&x->work);
            }
            break;
        case OFPACT_CONTROLLER:
            xlate_controller(x, a->controller.max_len, table_id);
            break;
        case OFPACT_GROUP:
            xlate_group(x, a->group.group_id);
            break;
        case OFPACT_METER: {
            struct dp_action *d = emit(x, DPA_METER);

            if (d) {
                d->meter_id = a->meter.meter_id;
            }
            break;
        }
        case OFPACT_CLEAR_ACTIONS:
            memset(&x->aset, 0, sizeof x->aset);
            break;
        case OFPACT_WRITE_ACTIONS:
            aset_write(x, a + 1, a->write_actions.n);
            i += a->write_actions.n;
            break;
        case OFPACT_WRITE_METADATA: {
            /* The pipeline's own field: nothing for the datapath. */
            uint64_t m = htobe64(a->write_metadata.mask);

            x->work.metadata = (x->work.metadata & ~m)
                               | (htobe64(a->write_metadata.value) & m);
            break;
        }
        default:
            x->out->n_skipped++;
            break;
        }
    }
    x->table_id = outer_table;
}

static void
xlate_table(struct xctx *x, uint8_t table_id, bool resubmit,
            uint32_t in_port)
{
    const struct cls_rule *cr;
    uint32_t own_in_port = x->work.in_port;

    /* resubmit(PORT,T) looks up with in_port PORT, and only looks up: the
     * rule's actions see the pipeline's in_port (as in Open vSwitch, so
     * that IN_PORT, NORMAL and a ct(table=N) are the packet's). */
    if (in_port != OFPP_IN_PORT) {
        x->work.in_port = in_port;
    }
    if (x->out->key_lookups && memcmp(&x->work, x->in, sizeof x->work)) {
        x->out->key_lookups = false;
    }
    cr = cls_lookup(x->ofp->tables[table_id], &x->work, x->wc);
    x->work.in_port = own_in_port;
    if (!cr) {
        if (!resubmit) {
            x->out->table_miss = true;
        }
        return;
    }
    struct ofproto_rule *r = CLS_CONTAINER_OF(cr, struct ofproto_rule, cr);
    const struct ofproto_rule *outer = x->rule;
    if (out_room_for_rule(x->out)) {
        ofproto_rule_ref(r);
        x->out->rules[x->out->n_rules++] = r;
    } else {
        x->out->rules_truncated = true;
    }
    x->rule = r;
    xlate_actions(x, r->actions, table_id);
    x->rule = outer;
}

struct dp_action *
ofproto_xctx_emit(struct ofproto_xctx *ctx, enum dp_action_type type)
{
    return emit((struct xctx *) ctx, type);
}

size_t
ofproto_xctx_n_actions(const struct ofproto_xctx *ctx)
{
    return ((const struct xctx *) ctx)->acts->n;
}

struct dp_action *
ofproto_xctx_action(struct ofproto_xctx *ctx, size_t idx)
{
    struct xctx *x = (struct xctx *) ctx;

    return idx < x->acts->n ? &x->acts->a[idx] : NULL;
}

long long
ofproto_xctx_now(const struct ofproto_xctx *ctx)
{
    return ((const struct xctx *) ctx)->now_ms;
}

void
ofproto_xctx_merge(struct ofproto_xctx *ctx, struct ofproto_xlate_out *sub)
{
    struct ofproto_xlate_out *out = ((struct xctx *) ctx)->out;

    out->key_lookups = false;           /* It looked up another bridge. */
    for (size_t i = 0; i < sub->n_rules; i++) {
        if (out_room_for_rule(out)) {
            out->rules[out->n_rules++] = sub->rules[i];
        } else {
            out->rules_truncated = true;
            ofproto_rule_unref(sub->rules[i]);
        }
    }
    for (size_t i = 0; i < sub->n_counters; i++) {
        if (*(const uint8_t *) sub->counters[i] == HIT_FROZEN) {
            /* The underlay's recirculation names it: it stays held (or
             * the packet goes, uncached). */
            out_add_frozen(out, sub->counters[i]);
        } else if (out->n_rules + out->n_counters
                   < OFPROTO_MAX_XLATE_RULES) {
            out->counters[out->n_counters++] = sub->counters[i];
        } else {
            out->rules_truncated = true;
            ofproto_hit_unref(sub->counters[i]);
        }
    }
    sub->n_rules = 0;
    sub->n_counters = 0;
    out->recirc_refused |= sub->recirc_refused;
    out->rules_truncated |= sub->rules_truncated;
    out->learned_changed |= sub->learned_changed;
    out->n_unknown_port += sub->n_unknown_port;
    out->n_skipped += sub->n_skipped;
    out->no_cache |= sub->no_cache;
}

void
ofproto_xctx_skipped(struct ofproto_xctx *ctx)
{
    ((struct xctx *) ctx)->out->n_skipped++;
}

void
ofproto_xctx_no_cache(struct ofproto_xctx *ctx)
{
    ((struct xctx *) ctx)->out->no_cache = true;
}

void
ofproto_xlate_out_uninit(struct ofproto_xlate_out *out)
{
    for (size_t i = 0; i < out->n_rules; i++) {
        ofproto_rule_unref(out->rules[i]);
    }
    for (size_t i = 0; i < out->n_counters; i++) {
        ofproto_hit_unref(out->counters[i]);
    }
    out->n_rules = 0;
    out->n_counters = 0;
}

int
ofproto_xlate(struct ofproto *ofp, const struct flow *flow, struct flow *wc,
              struct dp_actions **actions, struct ofproto_xlate_out *out,
              long long now_ms)
{
    return ofproto_xlate_stub(ofp, flow, wc, NULL, 0, actions, out, now_ms);
}

void
ofproto_xlate_actions_free(struct dp_actions *actions,
                           const struct dp_actions *stub)
{
    if (actions != stub) {
        free(actions);
    }
}

static int
xlate__(struct ofproto *ofp, const struct flow *flow, struct flow *wc,
        struct dp_actions *stub, size_t stub_cap,
        const struct of_actions *packet_out, struct dp_actions **actions,
        struct ofproto_xlate_out *out, long long now_ms, bool learn);

int
ofproto_xlate_stub(struct ofproto *ofp, const struct flow *flow,
                   struct flow *wc, struct dp_actions *stub, size_t stub_cap,
                   struct dp_actions **actions,
                   struct ofproto_xlate_out *out, long long now_ms)
{
    return xlate__(ofp, flow, wc, stub, stub_cap, NULL, actions, out,
                   now_ms, true);
}

int
ofproto_xlate_stub_nolearn(struct ofproto *ofp, const struct flow *flow,
                           struct flow *wc, struct dp_actions *stub,
                           size_t stub_cap, struct dp_actions **actions,
                           struct ofproto_xlate_out *out, long long now_ms)
{
    return xlate__(ofp, flow, wc, stub, stub_cap, NULL, actions, out,
                   now_ms, false);
}

int
ofproto_xlate_packet_out(struct ofproto *ofp, const struct flow *flow,
                         const struct of_actions *acts,
                         struct dp_actions **actions,
                         struct ofproto_xlate_out *out, long long now_ms)
{
    struct flow wc;

    return xlate__(ofp, flow, &wc, NULL, 0, acts, actions, out, now_ms,
                   true);
}

static int
xlate__(struct ofproto *ofp, const struct flow *flow, struct flow *wc,
        struct dp_actions *stub, size_t stub_cap,
        const struct of_actions *packet_out, struct dp_actions **actions,
        struct ofproto_xlate_out *out, long long now_ms, bool learn)
{
    struct xctx x;

    memset(out, 0, sizeof *out);
    memset(wc, 0, sizeof *wc);
    wc->in_port = UINT32_MAX;
    wc->recirc_id = UINT32_MAX;     /* Each pass is its own megaflow. */
    *actions = NULL;

    out->key_lookups = true;
    x.ofp = ofp;
    x.in = flow;
    x.learn = learn && ofp->learning;
    x.work = *flow;
    x.base = *flow;
    x.wc = wc;
    if (stub && stub_cap) {
        x.stub = stub;
        x.cap = stub_cap;
        x.acts = stub;
    } else {
        x.stub = NULL;
        x.cap = 16;
        x.acts = malloc(dp_actions_size(x.cap));
        if (!x.acts) {
            return ENOMEM;
        }
    }
    x.acts->n = 0;
    x.out = out;
    x.now_ms = now_ms;
    x.depth = 0;
    x.n_resubmits = 0;
    x.stop = false;
    x.drop_all = false;
    x.error = 0;
    x.rule = NULL;
    x.table_id = 0;

    memset(&x.aset, 0, sizeof x.aset);
    if (packet_out) {
        xlate_actions(&x, packet_out, 0);
    } else if (ofp->fail_open) {
        /* No controller to decide (openflow.h, fail_mode standalone): a
         * plain learning switch, whatever the tables hold. */
        xlate_normal(&x);
    } else if (!flow->recirc_id) {
        xlate_table(&x, 0, false, OFPP_IN_PORT);
    } else if (ofproto_recirc_table(flow->recirc_id) < OF_N_TABLES) {
        xlate_table(&x, ofproto_recirc_table(flow->recirc_id), false,
                    OFPP_IN_PORT);
    } else {
        uint8_t table;
        bool has_aset;

        if (frozen_thaw(ofp, flow->recirc_id, &x.work, &table, &x.thawed,
                        &has_aset)) {
            /* The registers and metadata the pass froze; nothing of the
             * packet (they have no datapath action to emit).  A frozen
             * in_port or tunnel metadata stays apart from the packet's in
             * x.base, so that a later ct(table=N) freezes it again. */
            x.base.metadata = x.work.metadata;
            memcpy(x.base.regs, x.work.regs, sizeof x.base.regs);
            if (has_aset) {
                aset_thaw(&x);
            }
            xlate_table(&x, table, false, OFPP_IN_PORT);
        } else {
            out->bad_recirc_id = true;  /* Nothing to resume: drop. */
        }
    }
    if (x.aset.any && !x.stop) {
        /* The pipeline ended: the action set runs (after a ct(table=N),
         * what was written since: the set before it went with the
         * packet to the next pass). */
        aset_run(&x);
    }

    if (x.error) {
        ofproto_xlate_actions_free(x.acts, x.stub);
        ofproto_xlate_out_uninit(out);
        return x.error;
    }
    if (x.drop_all) {
        x.acts->n = 0;
    }
    /* The OpenFlow metadata a table looked at was written during this
     * translation: every datapath key has 0 there, so it is no part of
     * the megaflow's match. */
    wc->metadata = 0;
    memset(wc->regs, 0, sizeof wc->regs);   /* Likewise the registers. */
    x.acts->in_port_drop = out->n_in_port_drop > 0;
    *actions = x.acts;
    return 0;
}
