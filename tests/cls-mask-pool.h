/* SPDX-License-Identifier: BSD-3-Clause */
/* cls-mask-pool.h: masks that outlive the test rules pointing to them. */
#ifndef SLUICE_TESTS_CLS_MASK_POOL_H
#define SLUICE_TESTS_CLS_MASK_POOL_H 1

/*
 * A struct cls_rule points to its mask (cls.h): the owner's memory.  The
 * classifier unit tests build rules from masks in local variables they
 * reuse, and their oracles read rule->mask long after; test_rule_init()
 * points each rule at a copy of its mask that lives until the process
 * ends: one per distinct mask, found again by hash, kept reachable (no
 * leak is reported).  For a process that runs one test program, not for
 * a fuzzer's endless inputs (fuzz-cls.c gives each rule its own copy).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cls.h"

struct mask_pool_node {
    struct flow mask;
    struct mask_pool_node *next;
};

#define MASK_POOL_BUCKETS 4096
static struct mask_pool_node *mask_pool[MASK_POOL_BUCKETS];

static inline const struct flow *
mask_pool_intern(const struct flow *mask)
{
    const unsigned char *p = (const unsigned char *) mask;
    uint64_t h = 0xcbf29ce484222325ull;
    struct mask_pool_node **b, *n;

    for (size_t i = 0; i < sizeof *mask; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    b = &mask_pool[h % MASK_POOL_BUCKETS];
    for (n = *b; n; n = n->next) {
        if (!memcmp(&n->mask, mask, sizeof *mask)) {
            return &n->mask;
        }
    }
    n = malloc(sizeof *n);
    if (!n) {
        abort();
    }
    n->mask = *mask;
    n->next = *b;
    *b = n;
    return &n->mask;
}

/* cls_rule_init() with the mask copied into the pool. */
static inline void
test_rule_init(struct cls_rule *rule, const struct flow *flow,
               const struct flow *mask, int32_t priority)
{
    cls_rule_init(rule, flow, mask_pool_intern(mask), priority);
}

#endif /* cls-mask-pool.h */
