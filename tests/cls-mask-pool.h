/* SPDX-License-Identifier: BSD-3-Clause */
/* cls-mask-pool.h: masks that outlive the test rules pointing to them. */
#ifndef SLUICE_TESTS_CLS_MASK_POOL_H
#define SLUICE_TESTS_CLS_MASK_POOL_H 1

/*
 * A struct cls_rule points to its mask (cls.h): the owner's memory.  The
 * classifier tests build rules from masks in local variables they reuse,
 * and their oracles read rule->mask long after; test_rule_init() gives
 * each rule a copy of its mask that lives until the process ends (one per
 * distinct mask, kept reachable, so no leak is reported).
 */

#include <stdlib.h>
#include <string.h>
#include "cls.h"

static struct flow **mask_pool;
static size_t mask_pool_n, mask_pool_cap;

static inline const struct flow *
mask_pool_intern(const struct flow *mask)
{
    struct flow *copy;

    for (size_t i = 0; i < mask_pool_n; i++) {
        if (!memcmp(mask_pool[i], mask, sizeof *mask)) {
            return mask_pool[i];
        }
    }
    if (mask_pool_n == mask_pool_cap) {
        size_t cap = mask_pool_cap ? 2 * mask_pool_cap : 64;
        struct flow **p = realloc(mask_pool, cap * sizeof *p);

        if (!p) {
            abort();
        }
        mask_pool = p;
        mask_pool_cap = cap;
    }
    copy = malloc(sizeof *copy);
    if (!copy) {
        abort();
    }
    *copy = *mask;
    mask_pool[mask_pool_n++] = copy;
    return copy;
}

/* cls_rule_init() with the mask copied into the pool. */
static inline void
test_rule_init(struct cls_rule *rule, const struct flow *flow,
               const struct flow *mask, int32_t priority)
{
    cls_rule_init(rule, flow, mask_pool_intern(mask), priority);
}

#endif /* cls-mask-pool.h */
