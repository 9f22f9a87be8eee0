/* SPDX-License-Identifier: BSD-3-Clause */
/* emc.h: the per-PMD exact-match cache (flow key -> datapath flow). */
#ifndef SLUICE_EMC_H
#define SLUICE_EMC_H 1

/*
 * What
 *   A small, fixed-size cache from an exact struct flow (all 168 bytes) to
 *   an opaque data pointer (the megaflow that matched it).  It sits in front
 *   of the megaflow classifier: a hit skips the wildcard lookup entirely.
 *
 * Design
 *   2-way set-associative: the flow hash (flow_hash(flow, 0), computed once
 *   per packet by the caller) selects a set of two slots.  Per set, the two
 *   hashes, ages and data pointers sit together in 32 bytes (two sets per
 *   cache line), so a miss usually touches one line; keys live in a
 *   separate array and are compared only when the stored hash matches.
 *   Insert replaces the slot holding the same key, else an empty slot, else
 *   the slot inserted longer ago.  An optional insertion probability (as in
 *   Open vSwitch's emc-insert-inv-prob) keeps many short flows from
 *   thrashing the cache.  The cache never frees or dereferences data.
 *
 * Thread-safety
 *   None: one PMD thread owns each cache; nothing else may touch it.
 *   Entries whose data is about to be freed must be removed with
 *   emc_sweep() (or emc_clear()) by that owner, before the data's grace
 *   period ends.
 *
 * Ownership
 *   emc_create() returns a new cache freed with emc_destroy().  Data
 *   pointers are borrowed: the cache stores them and returns them from
 *   emc_lookup(); it never frees them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

struct emc;

#define EMC_DEFAULT_ENTRIES 8192

/* Creates a cache of 'n_entries' slots: a power of two >= 2 (anything else
 * is rounded up to one).  Returns NULL on ENOMEM.  The insertion
 * probability starts at 1 (always insert). */
struct emc *emc_create(size_t n_entries);

/* Frees 'emc' (NULL is fine); the data pointers are not touched. */
void emc_destroy(struct emc *emc);

/* Returns the data stored for exactly 'flow' ('hash' = flow_hash(flow, 0)),
 * or NULL. */
void *emc_lookup(const struct emc *emc, const struct flow *flow,
                 uint32_t hash);

/* Prefetches the set for 'hash' (call a few packets ahead of lookup). */
void emc_prefetch(const struct emc *emc, uint32_t hash);

/* Stores 'data' (nonnull) for 'flow'.  If 'flow' is already cached its data
 * is always replaced; otherwise the entry is added subject to the insertion
 * probability, evicting as described above.  'data' NULL removes 'flow'. */
void emc_insert(struct emc *emc, const struct flow *flow, uint32_t hash,
                void *data);

/* Removes every entry for which is_dead(data, aux) returns true. */
void emc_sweep(struct emc *emc, bool (*is_dead)(void *data, void *aux),
               void *aux);

/* Removes every entry. */
void emc_clear(struct emc *emc);

/* Number of entries in use. */
size_t emc_count(const struct emc *emc);

/* Number of slots (n_entries as rounded by emc_create()). */
size_t emc_capacity(const struct emc *emc);

/* New flows are inserted with probability 1/inv_prob: 1 = always, N = once
 * in N attempts on average (cheap per-cache PRNG), 0 = never.  Updates of
 * a cached key's data are not subject to it. */
void emc_set_insert_inv_prob(struct emc *emc, uint32_t inv_prob);

/* Checks internal invariants (count, empty slots zeroed, no duplicate key,
 * every entry in its hash's set and its stored hash equal to
 * flow_hash(key, 0)); returns true if they hold.  For tests that pass
 * real flow hashes. */
bool emc_check(const struct emc *emc);

#endif /* emc.h */
