/* SPDX-License-Identifier: BSD-3-Clause */
/* emc.c: the per-PMD exact-match cache. */
#include "emc.h"
#include "exact-gate.h"

#include <stdlib.h>
#include <string.h>

#define EMC_WAYS 2

/* One set: everything but the keys, 32 bytes. */
struct emc_set {
    uint32_t hash[EMC_WAYS];
    uint32_t age[EMC_WAYS];     /* Insertion stamp; larger is newer. */
    void *data[EMC_WAYS];       /* NULL: slot empty. */
};

struct emc {
    struct emc_set *sets;       /* n_sets of them. */
    struct flow *keys;          /* n_sets * EMC_WAYS, slot = set * 2 + way */
    uint32_t set_mask;          /* n_sets - 1 */
    uint32_t clock;             /* Next insertion stamp. */
    uint32_t inv_prob;
    uint32_t rng;               /* xorshift32 state, never 0. */
    size_t count;
};

static size_t
round_pow2(size_t n)
{
    size_t p = EMC_WAYS;

    while (p < n && p < ((size_t) 1 << 30)) {
        p <<= 1;
    }
    return p;
}

struct emc *
emc_create(size_t n_entries)
{
    struct emc *emc = calloc(1, sizeof *emc);
    size_t n = round_pow2(n_entries);
    size_t n_sets = n / EMC_WAYS;

    if (!emc) {
        return NULL;
    }
    emc->sets = aligned_alloc(64, (n_sets * sizeof *emc->sets + 63)
                                  / 64 * 64);
    emc->keys = aligned_alloc(64, (n * sizeof *emc->keys + 63) / 64 * 64);
    if (!emc->sets || !emc->keys) {
        emc_destroy(emc);
        return NULL;
    }
    memset(emc->sets, 0, n_sets * sizeof *emc->sets);
    memset(emc->keys, 0, n * sizeof *emc->keys);
    emc->set_mask = (uint32_t) (n_sets - 1);
    emc->inv_prob = 1;
    emc->rng = 0x9e3779b9;
    return emc;
}

void
emc_destroy(struct emc *emc)
{
    if (emc) {
        free(emc->sets);
        free(emc->keys);
        free(emc);
    }
}

static inline bool
key_equal(const struct flow *a, const struct flow *b)
{
    const uint64_t *x = flow_u64(a);
    const uint64_t *y = flow_u64(b);
    uint64_t diff = 0;
    size_t i;

    for (i = 0; i < FLOW_U64S; i++) {
        diff |= x[i] ^ y[i];
    }
    return !diff;
}

void *
emc_lookup(const struct emc *emc, const struct flow *flow, uint32_t hash)
{
    uint32_t si = hash & emc->set_mask;
    const struct emc_set *set = &emc->sets[si];
    int w;

    for (w = 0; w < EMC_WAYS; w++) {
        if (set->hash[w] == hash && set->data[w]
            && key_equal(&emc->keys[si * EMC_WAYS + w], flow)) {
            return set->data[w];
        }
    }
    return NULL;
}

void
emc_prefetch(const struct emc *emc, uint32_t hash)
{
    uint32_t si = hash & emc->set_mask;

    __builtin_prefetch(&emc->sets[si]);
    __builtin_prefetch(&emc->keys[si * EMC_WAYS]);
}

static void
slot_clear(struct emc *emc, uint32_t si, int w)
{
    struct emc_set *set = &emc->sets[si];

    set->hash[w] = 0;
    set->age[w] = 0;
    set->data[w] = NULL;
    emc->count--;
}

void
emc_insert(struct emc *emc, const struct flow *flow, uint32_t hash,
           void *data)
{
    uint32_t si = hash & emc->set_mask;
    struct emc_set *set = &emc->sets[si];
    int w, victim;

    for (w = 0; w < EMC_WAYS; w++) {
        if (set->data[w] && set->hash[w] == hash
            && key_equal(&emc->keys[si * EMC_WAYS + w], flow)) {
            if (data) {
                set->data[w] = data;
            } else {
                slot_clear(emc, si, w);
            }
            return;
        }
    }
    if (!data || !exact_draw_insert(&emc->rng, emc->inv_prob)) {
        return;
    }

    if (!set->data[0]) {
        victim = 0;
    } else if (!set->data[1]) {
        victim = 1;
    } else {
        /* Older insertion loses; stamps compare modulo 2^32. */
        victim = (int32_t) (set->age[0] - set->age[1]) <= 0 ? 0 : 1;
        emc->count--;
    }
    emc->keys[si * EMC_WAYS + victim] = *flow;
    set->hash[victim] = hash;
    set->age[victim] = emc->clock++;
    set->data[victim] = data;
    emc->count++;
}

void
emc_sweep(struct emc *emc, bool (*is_dead)(void *data, void *aux),
          void *aux)
{
    uint32_t si;
    int w;

    for (si = 0; si <= emc->set_mask; si++) {
        struct emc_set *set = &emc->sets[si];

        for (w = 0; w < EMC_WAYS; w++) {
            if (set->data[w] && is_dead(set->data[w], aux)) {
                slot_clear(emc, si, w);
            }
        }
    }
}

void
emc_clear(struct emc *emc)
{
    memset(emc->sets, 0, ((size_t) emc->set_mask + 1) * sizeof *emc->sets);
    emc->count = 0;
}

size_t
emc_count(const struct emc *emc)
{
    return emc->count;
}

size_t
emc_capacity(const struct emc *emc)
{
    return ((size_t) emc->set_mask + 1) * EMC_WAYS;
}

void
emc_set_insert_inv_prob(struct emc *emc, uint32_t inv_prob)
{
    emc->inv_prob = inv_prob;
}

bool
emc_check(const struct emc *emc)
{
    size_t n = 0;
    uint32_t si;
    int w;

    for (si = 0; si <= emc->set_mask; si++) {
        const struct emc_set *set = &emc->sets[si];

        for (w = 0; w < EMC_WAYS; w++) {
            if (!set->data[w]) {
                if (set->hash[w] || set->age[w]) {
                    return false;
                }
                continue;
            }
            n++;
            if ((set->hash[w] & emc->set_mask) != si
                || flow_hash(&emc->keys[si * EMC_WAYS + w], 0)
                   != set->hash[w]) {
                return false;
            }
        }
        if (set->data[0] && set->data[1] && set->hash[0] == set->hash[1]
            && key_equal(&emc->keys[si * EMC_WAYS],
                         &emc->keys[si * EMC_WAYS + 1])) {
            return false;       /* Duplicate key. */
        }
    }
    return n == emc->count;
}
