/* SPDX-License-Identifier: BSD-3-Clause */
/* exact-gate.h: what the exact-match caches share: the gate that skips a
 * cache that does not pay, and the insertion draw. */
#ifndef SLUICE_EXACT_GATE_H
#define SLUICE_EXACT_GATE_H 1

/*
 * What
 *   A gate in front of one exact-match cache (the EMC, emc.h, or the
 *   header-key cache, hkc.h) that decides whether the cache is looked up
 *   (and inserted into) at all.  Owned by the PMD thread of its cache; no
 *   locking.
 *
 * Why
 *   A cache that misses is pure overhead on the way to the megaflow tier.
 *   With many more flows than entries (every packet a new 5-tuple, say) it
 *   misses almost always.  Short of that, it still loses whenever what its
 *   hits save is less than what all its lookups cost: with 100,000 flows
 *   in a 32,768-entry cache about a third of the lookups hit, each lookup
 *   is a cache miss into a table of megabytes, and a single-mask megaflow
 *   tier answers for about the same price.
 *
 * Design
 *   The gate counts lookups and hits in windows of EXACT_GATE_WINDOW
 *   lookups.  The caller also times some batches (one in
 *   EXACT_GATE_SAMPLE is enough) and reports the cycles the cache's
 *   lookups took (exact_gate_cost()), and tells the gate at each batch
 *   what one megaflow-tier lookup costs now ('miss_cost', 0 if not known).
 *   At the end of a window the gate closes for the next EXACT_GATE_SKIP
 *   packets (no lookups, no insertions) if
 *     - fewer than one lookup in EXACT_GATE_MIN_HIT_INV hit (the rate
 *       rule, which needs no timing), or
 *     - hit rate x miss_cost < cycles per lookup, measured over at least
 *       EXACT_GATE_MIN_TIMED timed lookups (the cost rule): with the cache
 *       a packet costs a lookup plus, on a miss, the megaflow tier;
 *       without it, the megaflow tier.
 *   Once the skip is over the cache is probed for another window.  So a
 *   cache that does not pay costs at most about 6 % of its full price, and
 *   one that starts paying again is back within one skip period.
 *   Insertions are not timed: they follow megaflow hits and run with
 *   probability 1/20 (exact_draw_insert()).
 *   'miss_cost' comes from struct exact_miss_cost, fed with the timed
 *   batches' megaflow lookups and renewed every EXACT_MISS_COST_LOOKUPS
 *   of them.  An interrupted sample can only overstate it, which keeps
 *   the caches open: the side that costs least when wrong.
 */

#include <stdbool.h>
#include <stdint.h>

#define EXACT_GATE_WINDOW 65536u
#define EXACT_GATE_MIN_HIT_INV 16u
#define EXACT_GATE_SKIP (1u << 20)
#define EXACT_GATE_SAMPLE 16u           /* Suggested: time 1 batch in 16. */
#define EXACT_GATE_MIN_TIMED 256u
#define EXACT_GATE_MAX_LOOKUP_CYCLES 2048u  /* More: the thread was
                                             * interrupted, not looking up. */
#define EXACT_MISS_COST_LOOKUPS 512u

struct exact_gate {
    uint32_t lookups;           /* In the current window. */
    uint32_t hits;
    uint32_t timed_lookups;     /* ... of which timed, */
    uint64_t timed_cycles;      /* ... taking this long. */
    uint32_t skip;              /* Packets left to skip; 0: gate open. */
    uint64_t closings;          /* Times the gate closed, */
    uint64_t cost_closings;     /* ... of which by the cost rule. */
};

/* What one megaflow-tier lookup costs, for 'miss_cost' below. */
struct exact_miss_cost {
    uint64_t cycles;            /* Timed since 'cost' was last set, */
    uint32_t lookups;           /* ... over this many lookups. */
    uint32_t cost;              /* Cycles per lookup; 0 until known. */
};

/* Reports that 'n' megaflow-tier lookups of a timed batch took 'cycles';
 * every EXACT_MISS_COST_LOOKUPS lookups renew m->cost (at least 1). */
static inline void
exact_miss_cost_add(struct exact_miss_cost *m, uint32_t n, uint64_t cycles)
{
    m->cycles += cycles;
    m->lookups += n;
    if (m->lookups >= EXACT_MISS_COST_LOOKUPS) {
        uint64_t c = m->cycles / m->lookups;

        m->cost = c ? (c < UINT32_MAX ? (uint32_t) c : UINT32_MAX) : 1;
        m->cycles = 0;
        m->lookups = 0;
    }
}

/* The insertion draw of the exact-match caches: true with probability
 * 1/inv_prob (1: always, 0: never), from the xorshift32 state '*rng'
 * (never 0). */
static inline bool
exact_draw_insert(uint32_t *rng, uint32_t inv_prob)
{
    uint32_t x;

    if (inv_prob <= 1) {
        return inv_prob == 1;
    }
    x = *rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *rng = x;
    return x % inv_prob == 0;
}

/* True if the cache behind 'g' should be looked up (and inserted into). */
static inline bool
exact_gate_open(const struct exact_gate *g)
{
    return !g->skip;
}

/* Reports that 'n' lookups of the cache (part of the next
 * exact_gate_account() call's) took 'cycles' in all.  A sample above
 * EXACT_GATE_MAX_LOOKUP_CYCLES per lookup (one probe of a cache line or
 * two, even from DRAM, takes far less) timed an interrupt or a preemption,
 * and is dropped, so that it cannot close a cache that pays. */
static inline void
exact_gate_cost(struct exact_gate *g, uint32_t n, uint64_t cycles)
{
    if (cycles <= (uint64_t) n * EXACT_GATE_MAX_LOOKUP_CYCLES) {
        g->timed_lookups += n;
        g->timed_cycles += cycles;
    }
}

/* Accounts a batch: 'n' packets that were (gate open) or would have been
 * (gate closed) looked up, 'hits' of them hits; 'miss_cost' is what a
 * megaflow-tier lookup costs now, in the cycles exact_gate_cost() uses
 * (0: unknown, and then only the rate rule applies). */
static inline void
exact_gate_account(struct exact_gate *g, uint32_t n, uint32_t hits,
                   uint32_t miss_cost)
{
    if (g->skip) {
        g->skip = g->skip > n ? g->skip - n : 0;
        return;
    }
    g->lookups += n;
    g->hits += hits;
    if (g->lookups >= EXACT_GATE_WINDOW) {
        bool close = (uint64_t) g->hits * EXACT_GATE_MIN_HIT_INV
                     < g->lookups;

        if (!close && miss_cost && g->timed_lookups >= EXACT_GATE_MIN_TIMED
            && (double) g->hits * miss_cost * g->timed_lookups
               < (double) g->timed_cycles * g->lookups) {
            close = true;
            g->cost_closings++;
        }
        if (close) {
            g->skip = EXACT_GATE_SKIP;
            g->closings++;
        }
        g->lookups = g->hits = g->timed_lookups = 0;
        g->timed_cycles = 0;
    }
}

#endif /* exact-gate.h */
