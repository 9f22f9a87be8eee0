/* SPDX-License-Identifier: BSD-3-Clause */
/* cls.c: tuple-space-search classifier with staged, lock-free lookups. */
#include "cls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* On x86-64 the whole file is built for SSE4.2 (which DPDK's x86 baseline
 * requires anyway), so that the CRC32C step of hmix() inlines into every
 * loop that hashes. */
#if defined(__x86_64__)
#define CLS_CRC32 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("sse4.2"))), \
                             apply_to = function)
#else
#pragma GCC target("sse4.2")
#endif
#endif

/*
 * Layout of the internals (see cls.h for the contract).
 *
 *   struct cls            -> vec (published, release/acquire)
 *   struct cls_vec        array of { subtable, max_priority snapshot },
 *                         sorted by max_priority desc, then rank.  Never
 *                         modified after publication: every change builds a
 *                         new vector and defer-frees the old one.
 *   struct cls_subtable   one per distinct mask.  Immutable part (mask,
 *                         word lists, stages) is set before publication.
 *                         'table' and 'sets[]' are replaced, never resized
 *                         in place.
 *   struct cls_table      open addressing, linear probing, slots of
 *                         { hash, chain head }.  Entries never move while
 *                         a table is published: a removed key becomes a
 *                         tombstone, replacing a chain head is one release
 *                         store.  Growth and tombstone clean-up build a new
 *                         table.  Load (keys + tombstones) <= 1/2, so a
 *                         probe always ends at an empty slot.
 *   struct cls_hset       per-stage set of partial hashes (same scheme;
 *                         values 0 = empty, 1 = tombstone; writer-only
 *                         reference counts live in the same block).
 *
 * Staged hashing.  struct flow is split by byte ranges into 4 stages:
 * metadata [in_port, dl_dst), L2 [dl_dst, nw_src), L3 [nw_src, tp_src),
 * L4 [tp_src, end).  Each subtable keeps the list of (word index, word
 * mask) pairs of its mask in stage order; a 64-bit word that straddles two
 * stages (e.g. vlan_tci2 | nw_src) appears once per stage with the part of
 * the mask of that stage.  The hash is accumulated over this list and
 * finalised at the end of each non-empty stage; the partial hash of every
 * stage but the last is kept in that stage's set, the final one indexes
 * the table.  A lookup that finds a partial hash absent has consulted only
 * the bits of the stages up to there, and only those go into 'wc'.
 *
 * The 'hnext' field of struct cls_rule is unused by this implementation
 * (the table slots hold the chain heads); it is kept NULL.
 */

typedef uint64_t __attribute__((__may_alias__)) cls_u64;

#define LOAD_ACQ(P) __atomic_load_n(P, __ATOMIC_ACQUIRE)
#define LOAD_RLX(P) __atomic_load_n(P, __ATOMIC_RELAXED)
#define STORE_REL(P, V) __atomic_store_n(P, V, __ATOMIC_RELEASE)
#define STORE_RLX(P, V) __atomic_store_n(P, V, __ATOMIC_RELAXED)

enum {
    CLS_N_STAGES = 4,
    CLS_MAX_HWORDS = FLOW_U64S + CLS_N_STAGES - 1,
    CLS_MIN_SIZE = 8,
    CLS_BATCH = 32,
    /* cls_for_each() asks for the rule this many slots ahead (about half
     * as many rules: tables are at most half full). */
    CLS_WALK_AHEAD = 64,
};

static const size_t cls_stage_bounds[CLS_N_STAGES + 1] = {
    0,
    offsetof(struct flow, dl_dst),
    offsetof(struct flow, nw_src),
    offsetof(struct flow, tp_src),
    sizeof(struct flow),
};

struct cls_slot {
    uint32_t hash;
    struct cls_rule *rule;      /* NULL: empty; CLS_TOMB: removed. */
};

struct cls_table {
    uint32_t mask;              /* Number of slots - 1 (power of 2). */
    struct cls_slot slots[];
};

struct cls_hset {
    uint32_t mask;              /* Number of slots - 1 (power of 2). */
    uint32_t n, n_tombs;        /* Writer only. */
    uint32_t *refs;             /* Writer only: points after hashes[]. */
    uint32_t hashes[];          /* 0: empty, 1: tombstone, else hash. */
};

struct cls_prio {
    int32_t priority;
    uint32_t n;
};

struct cls_subtable {
    /* Immutable once published; what lookups read comes first. */
    uint8_t n_hwords;                   /* Hash list, in stage order. */
    uint8_t n_stages;                   /* Non-empty stages (>= 1). */
    uint8_t stage_end[CLS_N_STAGES];    /* Cumulative n_hwords per stage. */
    uint8_t n_cwords;                   /* Compare list: nonzero words. */
    uint8_t hidx[CLS_MAX_HWORDS];
    uint8_t cidx[FLOW_U64S];

    /* Published with release stores, read with acquire loads. */
    struct cls_table *table;
    struct cls_hset *sets[CLS_N_STAGES - 1];    /* Stages 0..n_stages-2. */

    uint64_t hmask[CLS_MAX_HWORDS];
    uint64_t cmask[FLOW_U64S];
    struct flow mask;

    /* Writer only. */
    uint32_t n_rules;
    uint32_t n_keys;            /* Live slots in 'table'. */
    uint32_t n_tombs;           /* Tombstones in 'table'. */
    int32_t max_priority;       /* INT32_MIN when empty. */
    struct cls_prio *prios;     /* Sorted by priority, descending. */
    size_t n_prios, alloc_prios;

    /* Racy-by-design counter, relaxed increments by readers. */
    uint64_t hits;
};

struct cls_ventry {
    struct cls_subtable *st;
    int32_t max_priority;       /* >= the subtable's real max priority. */
};

struct cls_vec {
    size_t n;
    struct cls_ventry e[];
};

struct cls {
    struct cls_vec *vec;        /* Never NULL; published. */
    size_t n_rules;             /* Written by the writer, read relaxed. */
    cls_defer_free_fn *defer_free;
    void *aux;
    bool iterating;             /* Inside cls_for_each(). */
    bool vec_stale;             /* A vector rebuild failed (ENOMEM). */
};

static struct cls_rule cls_tomb_;
#define CLS_TOMB (&cls_tomb_)

static inline const cls_u64 *
cw(const struct flow *flow)
{
    return (const cls_u64 *) (const void *) flow;
}

static void
cls_defer(const struct cls *cls, void *p)
{
    if (!p) {
        return;
    }
    if (cls->defer_free) {
        cls->defer_free(p, cls->aux);
    } else {
        free(p);
    }
}

/* ---------------------------------------------------------------------- */
/* Hashing. */

#define CLS_BASIS 0x2545f4914f6cdd1dULL

/* One word into the running hash.  On x86-64 a CRC32C step (hardware,
 * one cycle per word in a batch; hfinal() mixes its 32 bits), elsewhere
 * two multiplies.  Writers and readers of one process use the same. */
#if CLS_CRC32
static inline uint64_t
hmix(uint64_t acc, uint64_t w)
{
    return __builtin_ia32_crc32di(acc, w);
}
#else
static inline uint64_t
hmix(uint64_t acc, uint64_t w)
{
    acc ^= w * 0x9e3779b97f4a7c15ULL;
    acc = (acc << 27) | (acc >> 37);
    return acc * 0xc2b2ae3d27d4eb4fULL + 0x52dce729;
}
#endif

static inline uint32_t
hfinal(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
#ifdef CLS_HASH_BITS
    /* Tests only (test-cls-collide): so few hash values that most keys
     * collide, and every key comparison is exercised. */
    h &= (1u << CLS_HASH_BITS) - 1;
#endif
    return (uint32_t) h;
}

/* Final hash of 'f' under 'st''s mask. */
static inline uint32_t
st_hash(const struct cls_subtable *st, const cls_u64 *f)
{
    uint64_t acc = CLS_BASIS;

    for (size_t i = 0; i < st->n_hwords; i++) {
        acc = hmix(acc, f[st->hidx[i]] & st->hmask[i]);
    }
    return hfinal(acc);
}

/* All partial hashes; returns the final one. */
static uint32_t
st_hashes(const struct cls_subtable *st, const cls_u64 *f,
          uint32_t partial[CLS_N_STAGES])
{
    uint64_t acc = CLS_BASIS;
    size_t i = 0;

    for (size_t s = 0; s < st->n_stages; s++) {
        for (; i < st->stage_end[s]; i++) {
            acc = hmix(acc, f[st->hidx[i]] & st->hmask[i]);
        }
        partial[s] = hfinal(acc);
    }
    return partial[st->n_stages - 1];
}

/* True if 'f' & mask equals rule 'r''s key. */
static inline bool
st_key_matches(const struct cls_subtable *st, const struct cls_rule *r,
               const cls_u64 *f)
{
    const cls_u64 *rf = cw(&r->flow);

    for (size_t i = 0; i < st->n_cwords; i++) {
        if ((f[st->cidx[i]] & st->cmask[i]) != rf[st->cidx[i]]) {
            return false;
        }
    }
    return true;
}

static inline void
st_or_wc(const struct cls_subtable *st, size_t n_hwords, cls_u64 *wc)
{
    for (size_t i = 0; i < n_hwords; i++) {
        wc[st->hidx[i]] |= st->hmask[i];
    }
}

/* ---------------------------------------------------------------------- */
/* Hash tables. */

static uint32_t
table_size_for(uint32_t n)
{
    uint32_t size = CLS_MIN_SIZE;

    while (size < n * 4) {
        size *= 2;
    }
    return size;
}

static struct cls_table *
table_alloc(uint32_t size)
{
    struct cls_table *t = calloc(1, sizeof *t + size * sizeof t->slots[0]);

    if (t) {
        t->mask = size - 1;
    }
    return t;
}

/* Reader: the chain head for key 'f' with hash 'hash', or NULL. */
static inline struct cls_rule *
table_find(const struct cls_subtable *st, const struct cls_table *t,
           uint32_t hash, const cls_u64 *f)
{
    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        const struct cls_slot *s = &t->slots[i];
        struct cls_rule *r = LOAD_ACQ(&s->rule);

        if (!r) {
            return NULL;
        }
        if (r != CLS_TOMB && LOAD_RLX(&s->hash) == hash
            && st_key_matches(st, r, f)) {
            return r;
        }
    }
}

/* Writer: the slot holding key 'f', or NULL. */
static struct cls_slot *
table_find_slot(struct cls_subtable *st, uint32_t hash, const cls_u64 *f)
{
    struct cls_table *t = st->table;

    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        struct cls_slot *s = &t->slots[i];

        if (!s->rule) {
            return NULL;
        }
        if (s->rule != CLS_TOMB && s->hash == hash
            && st_key_matches(st, s->rule, f)) {
            return s;
        }
    }
}

/* Writer: puts new key 'r' (absent) in the current table. */
static void
table_put(struct cls_subtable *st, uint32_t hash, struct cls_rule *r)
{
    struct cls_table *t = st->table;

    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        struct cls_slot *s = &t->slots[i];

        if (!s->rule || s->rule == CLS_TOMB) {
            if (s->rule == CLS_TOMB) {
                st->n_tombs--;
            }
            STORE_RLX(&s->hash, hash);
            STORE_REL(&s->rule, r);
            st->n_keys++;
            return;
        }
    }
}

/* Writer: replaces st->table by a fresh one sized for 'n' keys. */
static int
table_rebuild(const struct cls *cls, struct cls_subtable *st, uint32_t n)
{
    struct cls_table *old = st->table;
    struct cls_table *t = table_alloc(table_size_for(n));

    if (!t) {
        return ENOMEM;
    }
    for (uint32_t i = 0; i <= old->mask; i++) {
        const struct cls_slot *s = &old->slots[i];

        if (s->rule && s->rule != CLS_TOMB) {
            uint32_t j = s->hash & t->mask;

            while (t->slots[j].rule) {
                j = (j + 1) & t->mask;
            }
            t->slots[j] = *s;
        }
    }
    STORE_REL(&st->table, t);
    st->n_tombs = 0;
    cls_defer(cls, old);
    return 0;
}

static inline uint32_t
hset_key(uint32_t h)
{
    return h < 2 ? h + 2 : h;
}

static struct cls_hset *
hset_alloc(uint32_t size)
{
    struct cls_hset *s = calloc(1, sizeof *s + 2 * size * sizeof(uint32_t));

    if (s) {
        s->mask = size - 1;
        s->refs = &s->hashes[size];
    }
    return s;
}

/* Reader. */
static inline bool
hset_contains(const struct cls_hset *s, uint32_t h)
{
    h = hset_key(h);
    for (uint32_t i = h & s->mask;; i = (i + 1) & s->mask) {
        uint32_t v = LOAD_RLX(&s->hashes[i]);

        if (v == h) {
            return true;
        } else if (!v) {
            return false;
        }
    }
}

/* Writer: index of 'h' in 's' or UINT32_MAX. */
static uint32_t
hset_find(const struct cls_hset *s, uint32_t h)
{
    h = hset_key(h);
    for (uint32_t i = h & s->mask;; i = (i + 1) & s->mask) {
        if (s->hashes[i] == h) {
            return i;
        } else if (!s->hashes[i]) {
            return UINT32_MAX;
        }
    }
}

/* Writer: new set sized for 'n' hashes, holding those of 'old'. */
static struct cls_hset *
hset_rebuilt(const struct cls_hset *old, uint32_t n)
{
    struct cls_hset *s = hset_alloc(table_size_for(n));

    if (!s) {
        return NULL;
    }
    for (uint32_t i = 0; i <= old->mask; i++) {
        if (old->hashes[i] >= 2) {
            uint32_t j = old->hashes[i] & s->mask;

            while (s->hashes[j]) {
                j = (j + 1) & s->mask;
            }
            s->hashes[j] = old->hashes[i];
            s->refs[j] = old->refs[i];
            s->n++;
        }
    }
    return s;
}

/* Writer: adds one reference to 'h'; the set must have room. */
static void
hset_add(struct cls_hset *s, uint32_t h)
{
    uint32_t i = hset_find(s, h);

    if (i != UINT32_MAX) {
        s->refs[i]++;
        return;
    }
    h = hset_key(h);
    for (i = h & s->mask; s->hashes[i] >= 2; i = (i + 1) & s->mask) {
        continue;
    }
    if (s->hashes[i] == 1) {
        s->n_tombs--;
    }
    s->refs[i] = 1;
    s->n++;
    STORE_RLX(&s->hashes[i], h);
}

static void
hset_remove(struct cls_hset *s, uint32_t h)
{
    uint32_t i = hset_find(s, h);

    if (i != UINT32_MAX && !--s->refs[i]) {
        STORE_RLX(&s->hashes[i], 1);
        s->n--;
        s->n_tombs++;
    }
}

static bool
hset_full(const struct cls_hset *s)
{
    return (s->n + s->n_tombs + 1) * 2 > s->mask + 1;
}

/* ---------------------------------------------------------------------- */
/* Subtables. */

static struct cls_subtable *
subtable_create(const struct flow *mask)
{
    struct cls_subtable *st = calloc(1, sizeof *st);
    const cls_u64 *m = cw(mask);
    uint8_t prev = 0;

    if (!st) {
        return NULL;
    }
    st->mask = *mask;
    st->max_priority = INT32_MIN;
    for (size_t w = 0; w < FLOW_U64S; w++) {
        if (m[w]) {
            st->cidx[st->n_cwords] = w;
            st->cmask[st->n_cwords++] = m[w];
        }
    }
    for (size_t s = 0; s < CLS_N_STAGES; s++) {
        struct flow range;
        uint8_t *bytes = (uint8_t *) &range;
        const cls_u64 *rw = cw(&range);

        memset(&range, 0, sizeof range);
        memset(bytes + cls_stage_bounds[s], 0xff,
               cls_stage_bounds[s + 1] - cls_stage_bounds[s]);
        for (size_t w = 0; w < FLOW_U64S; w++) {
            uint64_t sm = m[w] & rw[w];

            if (sm) {
                st->hidx[st->n_hwords] = w;
                st->hmask[st->n_hwords++] = sm;
            }
        }
        if (st->n_hwords > prev) {
            prev = st->n_hwords;
            st->stage_end[st->n_stages++] = prev;
        }
    }
    if (!st->n_stages) {
        st->n_stages = 1;       /* Catch-all mask: one empty stage. */
        st->stage_end[0] = 0;
    }
    st->table = table_alloc(CLS_MIN_SIZE);
    if (!st->table) {
        goto nomem;
    }
    for (size_t s = 0; s + 1 < st->n_stages; s++) {
        st->sets[s] = hset_alloc(CLS_MIN_SIZE);
        if (!st->sets[s]) {
            goto nomem;
        }
    }
    return st;

nomem:
    for (size_t s = 0; s < CLS_N_STAGES - 1; s++) {
        free(st->sets[s]);
    }
    free(st->table);
    free(st);
    return NULL;
}

/* Frees 'st' and what it owns, through defer_free if 'deferred'. */
static void
subtable_destroy(const struct cls *cls, struct cls_subtable *st,
                 bool deferred)
{
    void *ptrs[2 + CLS_N_STAGES - 1];
    size_t n = 0;

    ptrs[n++] = st->table;
    for (size_t s = 0; s < CLS_N_STAGES - 1; s++) {
        ptrs[n++] = st->sets[s];
    }
    ptrs[n++] = st;
    free(st->prios);
    for (size_t i = 0; i < n; i++) {
        if (deferred) {
            cls_defer(cls, ptrs[i]);
        } else {
            free(ptrs[i]);
        }
    }
}

static size_t
prio_find(const struct cls_subtable *st, int32_t priority, bool *found)
{
    size_t lo = 0, hi = st->n_prios;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (st->prios[mid].priority > priority) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < st->n_prios && st->prios[lo].priority == priority;
    return lo;
}

static int
prio_add(struct cls_subtable *st, int32_t priority)
{
    bool found;
    size_t i = prio_find(st, priority, &found);

    if (!found) {
        if (st->n_prios == st->alloc_prios) {
            size_t n = st->alloc_prios ? st->alloc_prios * 2 : 4;
            struct cls_prio *p = realloc(st->prios, n * sizeof *p);

            if (!p) {
                return ENOMEM;
            }
            st->prios = p;
            st->alloc_prios = n;
        }
        memmove(&st->prios[i + 1], &st->prios[i],
                (st->n_prios - i) * sizeof st->prios[0]);
        st->prios[i].priority = priority;
        st->prios[i].n = 0;
        st->n_prios++;
    }
    st->prios[i].n++;
    st->max_priority = st->prios[0].priority;
    return 0;
}

static void
prio_remove(struct cls_subtable *st, int32_t priority)
{
    bool found;
    size_t i = prio_find(st, priority, &found);

    if (found && !--st->prios[i].n) {
        st->n_prios--;
        memmove(&st->prios[i], &st->prios[i + 1],
                (st->n_prios - i) * sizeof st->prios[0]);
    }
    st->max_priority = st->n_prios ? st->prios[0].priority : INT32_MIN;
}

/* ---------------------------------------------------------------------- */
/* Subtable vector. */

static bool
ventry_before(const struct cls_ventry *a, uint64_t a_hits,
              const struct cls_ventry *b, uint64_t b_hits, bool by_hits)
{
    if (a->max_priority != b->max_priority) {
        return a->max_priority > b->max_priority;
    }
    return by_hits && a_hits > b_hits;
}

/* Builds and publishes a new vector from the current one: drops (and
 * destroys) empty subtables other than 'keep', appends 'keep' if 'append',
 * refreshes max priorities and sorts stably by max priority (and by hits
 * since the last rank if 'by_hits').  Returns 0 or ENOMEM (nothing
 * changed). */
static int
vec_publish(struct cls *cls, struct cls_subtable *keep, bool append,
            bool by_hits)
{
    struct cls_vec *old = cls->vec;
    struct cls_vec *v;
    uint64_t *hits;
    size_t n = 0;

    v = malloc(sizeof *v + (old->n + 1) * sizeof v->e[0]);
    hits = malloc((old->n + 1) * sizeof *hits);
    if (!v || !hits) {
        free(v);
        free(hits);
        cls->vec_stale = true;
        return ENOMEM;
    }
    for (size_t i = 0; i <= old->n; i++) {
        struct cls_subtable *st = i < old->n ? old->e[i].st
                                  : append ? keep : NULL;
        struct cls_ventry e;
        uint64_t h;
        size_t j;

        if (!st || (!st->n_rules && st != keep)) {
            continue;
        }
        e.st = st;
        e.max_priority = st->max_priority;
        h = LOAD_RLX(&st->hits);
        /* Stable insertion sort: old order is nearly sorted. */
        for (j = n; j > 0 && ventry_before(&e, h, &v->e[j - 1], hits[j - 1],
                                           by_hits); j--) {
            v->e[j] = v->e[j - 1];
            hits[j] = hits[j - 1];
        }
        v->e[j] = e;
        hits[j] = h;
        n++;
    }
    v->n = n;
    free(hits);
    STORE_REL(&cls->vec, v);
    cls->vec_stale = false;
    for (size_t i = 0; i < old->n; i++) {
        if (!old->e[i].st->n_rules && old->e[i].st != keep) {
            subtable_destroy(cls, old->e[i].st, true);
        }
    }
    cls_defer(cls, old);
    return 0;
}

static struct cls_subtable *
find_subtable(const struct cls_vec *v, const struct flow *mask)
{
    for (size_t i = 0; i < v->n; i++) {
        if (!memcmp(&v->e[i].st->mask, mask, sizeof *mask)) {
            return v->e[i].st;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Public interface. */

struct cls *
cls_create(cls_defer_free_fn *defer_free, void *aux)
{
    struct cls *cls = calloc(1, sizeof *cls);

    if (!cls) {
        return NULL;
    }
    cls->vec = calloc(1, sizeof *cls->vec);
    if (!cls->vec) {
        free(cls);
        return NULL;
    }
    cls->defer_free = defer_free;
    cls->aux = aux;
    return cls;
}

void
cls_destroy(struct cls *cls)
{
    if (!cls) {
        return;
    }
    for (size_t i = 0; i < cls->vec->n; i++) {
        subtable_destroy(cls, cls->vec->e[i].st, false);
    }
    free(cls->vec);
    free(cls);
}

void
cls_rule_init(struct cls_rule *rule, const struct flow *flow,
              const struct flow *mask, int32_t priority)
{
    cls_u64 *f = (cls_u64 *) (void *) &rule->flow;
    const cls_u64 *in = cw(flow);
    const cls_u64 *m = cw(mask);

    rule->mask = mask;
    for (size_t w = 0; w < FLOW_U64S; w++) {
        f[w] = in[w] & m[w];
    }
    rule->priority = priority;
    rule->next = NULL;
    rule->hnext = NULL;
    rule->subtable = NULL;
    rule->hash = 0;
}

int
cls_insert(struct cls *cls, struct cls_rule *rule)
{
    struct cls_subtable *st;
    const cls_u64 *rf = cw(&rule->flow);
    uint32_t partial[CLS_N_STAGES];
    struct cls_rule *head = NULL, *prev = NULL;
    struct cls_slot *slot = NULL;
    bool new_st = false;
    int32_t old_max;
    uint32_t hash;

    if (cls->vec_stale) {
        vec_publish(cls, NULL, false, false);
    }
    st = find_subtable(cls->vec, rule->mask);
    if (!st) {
        st = subtable_create(rule->mask);
        if (!st) {
            return ENOMEM;
        }
        new_st = true;
    }
    hash = st_hashes(st, rf, partial);
    slot = table_find_slot(st, hash, rf);
    if (slot) {
        head = slot->rule;
        for (struct cls_rule *r = head; r; prev = r, r = r->next) {
            if (r->priority == rule->priority) {
                return EEXIST;
            } else if (r->priority < rule->priority) {
                break;
            }
        }
    }

    /* Make room first: these rebuilds do not change what readers see. */
    if (!head && (st->n_keys + st->n_tombs + 1) * 2 > st->table->mask + 1
        && table_rebuild(cls, st, st->n_keys + 1)) {
        goto nomem;
    }
    for (size_t s = 0; s + 1 < st->n_stages; s++) {
        if (hset_full(st->sets[s])) {
            struct cls_hset *ns = hset_rebuilt(st->sets[s],
                                               st->sets[s]->n + 1);

            if (!ns) {
                goto nomem;
            }
            cls_defer(cls, st->sets[s]);
            STORE_REL(&st->sets[s], ns);
        }
    }
    old_max = st->max_priority;
    if (prio_add(st, rule->priority)) {
        goto nomem;
    }
    /* Publish a raised max priority before the rule becomes visible, so a
     * vector's max_priority is never below a visible rule's priority. */
    if (new_st || st->max_priority > old_max) {
        if (vec_publish(cls, st, new_st, false)) {
            prio_remove(st, rule->priority);
            goto nomem;
        }
    }

    rule->hash = hash;
    rule->subtable = st;
    rule->hnext = NULL;
    for (size_t s = 0; s + 1 < st->n_stages; s++) {
        hset_add(st->sets[s], partial[s]);
    }
    if (!head) {
        rule->next = NULL;
        table_put(st, hash, rule);
    } else if (!prev) {
        rule->next = head;
        STORE_REL(&slot->rule, rule);
    } else {
        rule->next = prev->next;
        STORE_REL(&prev->next, rule);
    }
    st->n_rules++;
    STORE_RLX(&cls->n_rules, cls->n_rules + 1);
    return 0;

nomem:
    if (new_st) {
        subtable_destroy(cls, st, false);
    }
    return ENOMEM;
}

void
cls_remove(struct cls *cls, struct cls_rule *rule)
{
    struct cls_subtable *st = rule->subtable;
    const cls_u64 *rf = cw(&rule->flow);
    uint32_t partial[CLS_N_STAGES];
    struct cls_slot *slot;
    int32_t old_max;

    if (!st) {
        return;
    }
    st_hashes(st, rf, partial);
    slot = table_find_slot(st, rule->hash, rf);
    if (!slot) {
        return;                 /* Not reachable: corrupted rule. */
    }
    if (slot->rule == rule) {
        if (rule->next) {
            STORE_REL(&slot->rule, rule->next);
        } else {
            STORE_REL(&slot->rule, CLS_TOMB);
            st->n_keys--;
            st->n_tombs++;
        }
    } else {
        struct cls_rule *prev = slot->rule;

        while (prev->next && prev->next != rule) {
            prev = prev->next;
        }
        if (!prev->next) {
            return;             /* Not reachable: not in this chain. */
        }
        STORE_REL(&prev->next, rule->next);
    }
    /* rule->next is left intact for readers still traversing it. */
    for (size_t s = 0; s + 1 < st->n_stages; s++) {
        hset_remove(st->sets[s], partial[s]);
    }
    old_max = st->max_priority;
    prio_remove(st, rule->priority);
    st->n_rules--;
    STORE_RLX(&cls->n_rules, cls->n_rules - 1);
    rule->subtable = NULL;

    if (cls->iterating) {
        return;                 /* cls_for_each() republishes at the end. */
    }
    if (!st->n_rules || st->max_priority < old_max || cls->vec_stale) {
        /* On ENOMEM the old vector stays: an empty subtable or a stale
         * high max priority only costs lookups time; retried later. */
        vec_publish(cls, NULL, false, false);
    } else if (st->table->mask + 1 > CLS_MIN_SIZE
               && st->n_keys * 16 < st->table->mask + 1) {
        table_rebuild(cls, st, st->n_keys);     /* Shrink; ENOMEM is ok. */
    }
}

/* Staged lookup in one subtable, un-wildcarding into 'wc'. */
static const struct cls_rule *
subtable_lookup_wc(const struct cls_subtable *st, const cls_u64 *f,
                   cls_u64 *wc)
{
    uint64_t acc = CLS_BASIS;
    size_t i = 0;
    size_t last = st->n_stages - 1;

    for (size_t s = 0; s < last; s++) {
        for (; i < st->stage_end[s]; i++) {
            acc = hmix(acc, f[st->hidx[i]] & st->hmask[i]);
        }
        if (!hset_contains(LOAD_ACQ(&st->sets[s]), hfinal(acc))) {
            st_or_wc(st, i, wc);
            return NULL;
        }
    }
    for (; i < st->n_hwords; i++) {
        acc = hmix(acc, f[st->hidx[i]] & st->hmask[i]);
    }
    st_or_wc(st, st->n_hwords, wc);
    return table_find(st, LOAD_ACQ(&st->table), hfinal(acc), f);
}

static inline void
subtable_hit(struct cls_subtable *st, uint64_t n)
{
    STORE_RLX(&st->hits, LOAD_RLX(&st->hits) + n);
}

const struct cls_rule *
cls_lookup(const struct cls *cls, const struct flow *flow, struct flow *wc)
{
    const struct cls_vec *v = LOAD_ACQ(&cls->vec);
    const struct cls_rule *best = NULL;
    const cls_u64 *f = cw(flow);
    cls_u64 *wcw = wc ? (cls_u64 *) (void *) wc : NULL;

    for (size_t i = 0; i < v->n; i++) {
        struct cls_subtable *st = v->e[i].st;
        const struct cls_rule *r;

        if (best && best->priority >= v->e[i].max_priority) {
            break;
        }
        if (i + 1 < v->n) {
            __builtin_prefetch(v->e[i + 1].st);
        }
        if (wcw) {
            r = subtable_lookup_wc(st, f, wcw);
        } else {
            r = table_find(st, LOAD_ACQ(&st->table), st_hash(st, f), f);
        }
        if (r) {
            subtable_hit(st, 1);
            if (!best || r->priority > best->priority) {
                best = r;
            }
        }
    }
    return best;
}

/* table_find() comparing keys over the 'n_hw' words of the hash list,
 * without a branch per word (the list covers the mask: a word split
 * between two stages is compared once per part). */
static inline __attribute__((always_inline)) const struct cls_rule *
table_find_n(const struct cls_subtable *st, const struct cls_table *t,
             uint32_t hash, const cls_u64 *f, size_t n_hw)
{
    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        const struct cls_slot *s = &t->slots[i];
        struct cls_rule *r = LOAD_ACQ(&s->rule);

        if (!r) {
            return NULL;
        }
        if (r != CLS_TOMB && LOAD_RLX(&s->hash) == hash) {
            const cls_u64 *rf = cw(&r->flow);
            uint64_t diff = 0;

#pragma GCC unroll 8
            for (size_t k = 0; k < n_hw; k++) {
                diff |= (f[st->hidx[k]] ^ rf[st->hidx[k]]) & st->hmask[k];
            }
            if (!diff) {
                return r;
            }
        }
    }
}

/* One subtable's part of a batched lookup: hashes the pending flows'
 * keys under its mask (prefetching each hash's slot), then probes.
 * 'n_hw' is the subtable's n_hwords: where it is a constant (the cases of
 * probe_subtable() below) the compiler unrolls the hash into straight-line
 * code with the mask words in registers, which is what makes the
 * specialised lookups of common mask shapes; test-cls checks every one
 * against cls_lookup() (and that against a linear scan).  Returns the
 * number of hits. */
static inline __attribute__((always_inline)) size_t
probe_subtable_n(const struct cls_subtable *st, const struct cls_table *t,
                 const struct flow *const *flows, const uint8_t *pend,
                 size_t n_pend, const struct cls_rule **results,
                 size_t n_hw)
{
    uint32_t hashes[CLS_BATCH];
    size_t hits = 0;

    for (size_t j = 0; j < n_pend; j++) {
        const cls_u64 *f = cw(flows[pend[j]]);
        uint64_t acc = CLS_BASIS;

#pragma GCC unroll 8
        for (size_t i = 0; i < n_hw; i++) {
            acc = hmix(acc, f[st->hidx[i]] & st->hmask[i]);
        }
        hashes[j] = hfinal(acc);
        __builtin_prefetch(&t->slots[hashes[j] & t->mask]);
    }
    for (size_t j = 0; j < n_pend; j++) {
        size_t i = pend[j];
        const struct cls_rule *r = table_find_n(st, t, hashes[j],
                                                cw(flows[i]), n_hw);

        if (r) {
            hits++;
            if (!results[i] || r->priority > results[i]->priority) {
                results[i] = r;
            }
        }
    }
    return hits;
}

/* probe_subtable_n() specialised for hash lists of 1 to CLS_SPECIAL_MAX
 * words (a megaflow's mask touches few words: in_port and recirc_id share
 * one, an IPv4 5-tuple takes four more), generic beyond. */
#define CLS_SPECIAL_MAX 8
static size_t
probe_subtable(const struct cls_subtable *st, const struct cls_table *t,
               const struct flow *const *flows, const uint8_t *pend,
               size_t n_pend, const struct cls_rule **results)
{
#define CLS_PROBE_CASE(N)                                               \
    case N:                                                             \
        return probe_subtable_n(st, t, flows, pend, n_pend, results, N);
    switch (st->n_hwords) {
    CLS_PROBE_CASE(1)
    CLS_PROBE_CASE(2)
    CLS_PROBE_CASE(3)
    CLS_PROBE_CASE(4)
    CLS_PROBE_CASE(5)
    CLS_PROBE_CASE(6)
    CLS_PROBE_CASE(7)
    CLS_PROBE_CASE(CLS_SPECIAL_MAX)
    default:
        return probe_subtable_n(st, t, flows, pend, n_pend, results,
                                st->n_hwords);
    }
#undef CLS_PROBE_CASE
}

static size_t
lookup_chunk(const struct cls_vec *v, const struct flow *const *flows,
             size_t n, const struct cls_rule **results)
{
    uint8_t pend[CLS_BATCH];
    size_t n_pend = n;
    size_t found = 0;

    for (size_t i = 0; i < n; i++) {
        results[i] = NULL;
        pend[i] = i;
    }
    for (size_t k = 0; k < v->n && n_pend; k++) {
        struct cls_subtable *st = v->e[k].st;
        int32_t max = v->e[k].max_priority;
        size_t m = 0, hits;

        /* Drop flows whose best match cannot be beaten any more. */
        for (size_t j = 0; j < n_pend; j++) {
            const struct cls_rule *r = results[pend[j]];

            if (!r || r->priority < max) {
                pend[m++] = pend[j];
            }
        }
        n_pend = m;
        if (!n_pend) {
            break;
        }
        hits = probe_subtable(st, LOAD_ACQ(&st->table), flows, pend, n_pend,
                              results);
        if (hits) {
            subtable_hit(st, hits);
        }
    }
    for (size_t i = 0; i < n; i++) {
        found += results[i] != NULL;
    }
    return found;
}

size_t
cls_lookup_batch(const struct cls *cls, const struct flow *const *flows,
                 size_t n, const struct cls_rule **results)
{
    const struct cls_vec *v = LOAD_ACQ(&cls->vec);
    size_t found = 0;

    for (size_t ofs = 0; ofs < n; ofs += CLS_BATCH) {
        size_t cnt = n - ofs < CLS_BATCH ? n - ofs : CLS_BATCH;

        found += lookup_chunk(v, flows + ofs, cnt, results + ofs);
    }
    return found;
}

const struct cls_rule *
cls_find_exactly(const struct cls *cls, const struct flow *flow,
                 const struct flow *mask, int32_t priority)
{
    const struct cls_vec *v = LOAD_ACQ(&cls->vec);
    const struct cls_subtable *st = find_subtable(v, mask);
    const struct cls_rule *r;

    if (!st) {
        return NULL;
    }
    r = table_find(st, LOAD_ACQ(&st->table), st_hash(st, cw(flow)),
                   cw(flow));
    for (; r; r = LOAD_ACQ(&r->next)) {
        if (r->priority == priority) {
            return r;
        } else if (r->priority < priority) {
            break;
        }
    }
    return NULL;
}

void
cls_rank(struct cls *cls)
{
    const struct cls_vec *v = cls->vec;
    bool sorted = !cls->vec_stale;

    for (size_t i = 1; i < v->n && sorted; i++) {
        sorted = !ventry_before(&v->e[i], LOAD_RLX(&v->e[i].st->hits),
                                &v->e[i - 1],
                                LOAD_RLX(&v->e[i - 1].st->hits), true);
    }
    if (!sorted) {
        vec_publish(cls, NULL, false, true);
    }
    v = cls->vec;
    for (size_t i = 0; i < v->n; i++) {
        STORE_RLX(&v->e[i].st->hits, 0);
    }
}

size_t
cls_count(const struct cls *cls)
{
    return LOAD_RLX(&cls->n_rules);
}

const struct flow *
cls_rule_shared_mask(const struct cls_rule *rule)
{
    return &rule->subtable->mask;
}

size_t
cls_n_subtables(const struct cls *cls)
{
    return LOAD_ACQ(&cls->vec)->n;
}

void
cls_for_each(struct cls *cls, void (*cb)(struct cls_rule *, void *aux),
             void *aux)
{
    /* While iterating, cls_remove() neither republishes the vector nor
     * rebuilds tables, so the structures walked here stay put. */
    const struct cls_vec *v = cls->vec;
    bool was_iterating = cls->iterating;
    bool republish = false;

    cls->iterating = true;
    for (size_t i = 0; i < v->n; i++) {
        const struct cls_table *t = v->e[i].st->table;

        for (uint32_t j = 0; j <= t->mask; j++) {
            struct cls_rule *r = t->slots[j].rule;
            /* The rules are scattered: ask for one a few slots ahead
             * (walks of every megaflow are memory-bound).  Its first line
             * holds 'next', the one field read here. */
            struct cls_rule *ahead = j + CLS_WALK_AHEAD <= t->mask
                                     ? t->slots[j + CLS_WALK_AHEAD].rule
                                     : NULL;

            if (ahead && ahead != CLS_TOMB) {
                __builtin_prefetch(&ahead->next);
            }

            if (r == CLS_TOMB) {
                continue;
            }
            while (r) {
                struct cls_rule *next = r->next;

                cb(r, aux);
                r = next;
            }
        }
    }
    cls->iterating = was_iterating;
    if (was_iterating) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (v->e[i].max_priority != v->e[i].st->max_priority) {
            republish = true;
        }
    }
    if (republish || cls->vec_stale) {
        vec_publish(cls, NULL, false, false);
    }
}

/* ---------------------------------------------------------------------- */
/* Invariant checker. */

#define CHECK(COND, ...)                                        \
    do {                                                        \
        if (!(COND)) {                                          \
            fprintf(stderr, "cls_check: " __VA_ARGS__);         \
            fputc('\n', stderr);                                \
            return EINVAL;                                      \
        }                                                       \
    } while (0)

static int
check_subtable(const struct cls_subtable *st, size_t *n_rules)
{
    const struct cls_table *t = st->table;
    const cls_u64 *m = cw(&st->mask);
    uint32_t n_keys = 0, n_tombs = 0, n_prio_rules = 0;
    uint32_t set_refs[CLS_N_STAGES] = { 0 };
    int32_t max = INT32_MIN;

    CHECK((st->n_keys + st->n_tombs) * 2 <= t->mask + 1,
          "table over-full (%u keys, %u tombs, %u slots)", st->n_keys,
          st->n_tombs, t->mask + 1);
    for (uint32_t i = 0; i <= t->mask; i++) {
        const struct cls_slot *s = &t->slots[i];
        const struct cls_rule *head = s->rule;

        if (!head) {
            continue;
        } else if (head == CLS_TOMB) {
            n_tombs++;
            continue;
        }
        n_keys++;
        CHECK(s->hash == head->hash, "slot hash != rule hash");
        CHECK(table_find(st, t, head->hash, cw(&head->flow)) == head,
              "chain head not reachable by lookup");
        for (const struct cls_rule *r = head; r; r = r->next) {
            uint32_t partial[CLS_N_STAGES];

            /* (Not r->mask: the owner's memory, which the classifier
             * stops reading once the rule is in.) */
            CHECK(r->subtable == st, "rule in wrong subtable");
            for (size_t w = 0; w < FLOW_U64S; w++) {
                CHECK(!(cw(&r->flow)[w] & ~m[w]),
                      "rule flow not masked (word %zu)", w);
            }
            CHECK(!memcmp(&r->flow, &head->flow, sizeof r->flow),
                  "rule key differs from its chain head's");
            CHECK(st_hashes(st, cw(&r->flow), partial) == r->hash,
                  "stale rule hash");
            for (size_t k = 0; k + 1 < st->n_stages; k++) {
                const struct cls_hset *hs = st->sets[k];
                uint32_t idx = hset_find(hs, partial[k]);

                CHECK(idx != UINT32_MAX, "partial hash missing (stage %zu)",
                      k);
                CHECK(hset_contains(hs, partial[k]), "hset lookup fails");
            }
            CHECK(!r->next || r->next->priority < r->priority,
                  "chain not in decreasing priority order");
            if (r->priority > max) {
                max = r->priority;
            }
            (*n_rules)++;
            n_prio_rules++;
        }
    }
    CHECK(n_keys == st->n_keys, "n_keys %u, counted %u", st->n_keys, n_keys);
    CHECK(n_tombs == st->n_tombs, "n_tombs %u, counted %u", st->n_tombs,
          n_tombs);
    CHECK(n_prio_rules == st->n_rules, "n_rules %u, counted %u",
          st->n_rules, n_prio_rules);
    CHECK(st->n_rules > 0, "empty subtable in the vector");
    CHECK(max == st->max_priority, "max priority %d, actual %d",
          (int) st->max_priority, (int) max);
    n_prio_rules = 0;
    for (size_t i = 0; i < st->n_prios; i++) {
        CHECK(st->prios[i].n > 0, "zero priority count");
        CHECK(!i || st->prios[i - 1].priority > st->prios[i].priority,
              "priority list not sorted");
        n_prio_rules += st->prios[i].n;
    }
    CHECK(n_prio_rules == st->n_rules, "priority counts disagree");
    for (size_t k = 0; k + 1 < st->n_stages; k++) {
        const struct cls_hset *hs = st->sets[k];
        uint32_t n = 0, tombs = 0;

        CHECK((hs->n + hs->n_tombs) * 2 <= hs->mask + 1, "hset over-full");
        for (uint32_t i = 0; i <= hs->mask; i++) {
            if (hs->hashes[i] >= 2) {
                CHECK(hs->refs[i] > 0, "live hset entry without refs");
                set_refs[k] += hs->refs[i];
                n++;
            } else if (hs->hashes[i] == 1) {
                tombs++;
            }
        }
        CHECK(n == hs->n && tombs == hs->n_tombs, "hset counts");
        CHECK(set_refs[k] == st->n_rules, "hset refs %u != rules %u",
              set_refs[k], st->n_rules);
    }
    return 0;
}

int
cls_check(const struct cls *cls)
{
    const struct cls_vec *v = cls->vec;
    size_t n_rules = 0;

    CHECK(v, "no vector");
    for (size_t i = 0; i < v->n; i++) {
        const struct cls_subtable *st = v->e[i].st;
        int error;

        CHECK(st, "null subtable");
        CHECK(v->e[i].max_priority == st->max_priority,
              "vector max priority %d, subtable %d",
              (int) v->e[i].max_priority, (int) st->max_priority);
        CHECK(!i || v->e[i - 1].max_priority >= v->e[i].max_priority,
              "vector not sorted by max priority");
        for (size_t j = 0; j < i; j++) {
            CHECK(memcmp(&v->e[j].st->mask, &st->mask, sizeof st->mask),
                  "two subtables with the same mask");
        }
        error = check_subtable(st, &n_rules);
        if (error) {
            return error;
        }
    }
    CHECK(n_rules == cls->n_rules, "count %zu, counted %zu", cls->n_rules,
          n_rules);
    return 0;
}

size_t
cls_subtable_masks(const struct cls *cls, struct flow *masks, size_t n)
{
    const struct cls_vec *v = LOAD_ACQ(&cls->vec);

    for (size_t i = 0; i < v->n && i < n; i++) {
        masks[i] = v->e[i].st->mask;
    }
    return v->n;
}

#if CLS_CRC32 && defined(__clang__)
#pragma clang attribute pop
#endif
