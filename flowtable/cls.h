/* SPDX-License-Identifier: BSD-3-Clause */
/* cls.h: tuple-space-search packet classifier (rule tables and megaflows). */
#ifndef SLUICE_CLS_H
#define SLUICE_CLS_H 1

/*
 * What
 *   A set of rules, each a (flow, mask, priority); lookup returns the
 *   highest-priority rule whose masked fields equal the packet's.  Used twice:
 *   by the slow path's OpenFlow-style tables (many priorities, overlapping
 *   rules, lookups that must report which bits they consulted) and by each
 *   PMD's megaflow cache (one priority, non-overlapping entries, batched
 *   lookups, subtables ranked by recent hits).
 *
 * Design
 *   Tuple space search: one subtable per distinct mask, each a hash table of
 *   masked keys.  Subtables are kept in a vector ordered by (max priority
 *   desc, hits desc); lookup stops once the best match found so far has a
 *   priority >= the next subtable's max priority, so for the megaflow cache
 *   (all priority 0) it stops at the first hit and the ranking decides how
 *   soon.  Rules with equal masked keys in one subtable are chained in
 *   decreasing priority.  Lookup with 'wc' un-wildcards only the bits it
 *   consulted: each subtable's mask is hashed in stages (metadata, L2, L3,
 *   L4) and a stage that cannot match stops that subtable's contribution to
 *   the wildcards there.  The batched lookup (the megaflow cache's) hashes
 *   a whole batch per subtable, prefetching each slot, with code
 *   specialised by the length of the subtable's word list (cls.c:
 *   probe_subtable()); on x86-64 the hash steps are CRC32C instructions.
 *
 * Thread-safety
 *   One writer at a time (cls_insert, cls_remove, cls_rank: the caller
 *   serialises them); any number of concurrent lock-free readers
 *   (cls_lookup*, cls_count).  Internal memory a reader may still be using
 *   (old subtables, old vectors, old bucket arrays) is released through the
 *   'defer_free' callback given at creation, which must wait for a grace
 *   period (RCU) before freeing; with defer_free NULL it is freed at once
 *   (single-threaded use).  Removed rules are the caller's, and the caller
 *   must likewise not free them until readers are done.
 *
 * Ownership
 *   The cls never allocates or frees struct cls_rule: they are embedded in
 *   the caller's objects (see CLS_CONTAINER_OF).  cls_destroy() requires an
 *   empty classifier.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

struct cls;
struct cls_subtable;

struct cls_rule {
    /* Private to cls.c.  First, in one cache line with the priority and
     * the mask's address: a walk of every rule (cls_for_each(), e.g. a
     * revalidation of 100,000 megaflows) reads these and nothing else of
     * the rule. */
    struct cls_rule *next;          /* Same key, lower or equal priority. */
    struct cls_rule *hnext;         /* Reserved: kept NULL by cls.c. */
    struct cls_subtable *subtable;  /* NULL when not inserted. */
    uint32_t hash;
    int32_t priority;               /* Higher wins. */

    /* The mask: the owner's memory (cls_rule_init()), read by the
     * classifier only until cls_insert() returns; the owner keeps it as
     * long as it reads it.  An owner with no copy of its own may point it
     * at the subtable's once inserted (cls_rule_shared_mask()), as the
     * megaflows do: one 360-byte mask per mask, not per rule. */
    const struct flow *mask;
    struct flow flow;               /* Always pre-masked (flow & mask). */
};

#define CLS_CONTAINER_OF(PTR, TYPE, MEMBER) \
    ((TYPE *) (void *) ((char *) (PTR) - offsetof(TYPE, MEMBER)))

typedef void cls_defer_free_fn(void *ptr, void *aux);

/* Returns a new classifier, or NULL on allocation failure. */
struct cls *cls_create(cls_defer_free_fn *defer_free, void *aux);
/* Frees an empty 'cls'; NULL is a no-op.  No reader may still use it. */
void cls_destroy(struct cls *cls);

/* Initialises 'rule' (not yet inserted); 'flow' is masked here and
 * copied, 'mask' is not copied: rule->mask points to it (see struct
 * cls_rule). */
void cls_rule_init(struct cls_rule *rule, const struct flow *flow,
                   const struct flow *mask, int32_t priority);

/* Inserts 'rule'.  Returns 0, EEXIST if a rule with the same mask, masked
 * flow and priority is present (nothing changed), or ENOMEM. */
int cls_insert(struct cls *cls, struct cls_rule *rule);
/* Removes 'rule', which must be in 'cls' (a rule that is not inserted is
 * ignored).  Readers may still return 'rule' until a grace period ends. */
void cls_remove(struct cls *cls, struct cls_rule *rule);

/* Highest-priority rule matching 'flow' or NULL.  If 'wc' is nonnull, ORs
 * into it the bits the lookup consulted: every packet that agrees with
 * 'flow' on the bits set in the resulting 'wc' gets the same answer. */
const struct cls_rule *cls_lookup(const struct cls *cls,
                                  const struct flow *flow, struct flow *wc);

/* Batched lookup for the fast path: results[i] = cls_lookup(flows[i]) for
 * i < n, without wildcards.  Counts hits per subtable for cls_rank().
 * Returns the number of non-NULL results. */
size_t cls_lookup_batch(const struct cls *cls, const struct flow *const *flows,
                        size_t n, const struct cls_rule **results);

/* The rule with exactly this mask, masked flow and priority, or NULL. */
const struct cls_rule *cls_find_exactly(const struct cls *cls,
                                        const struct flow *flow,
                                        const struct flow *mask,
                                        int32_t priority);

/* Re-orders subtables of equal max priority by hits since the last call
 * (writer side; call periodically). */
void cls_rank(struct cls *cls);

size_t cls_count(const struct cls *cls);
/* Subtables (masks) now.  Readers may call it like a lookup, concurrently
 * with the writer: it reads the published subtable vector. */
size_t cls_n_subtables(const struct cls *cls);

/* Copies the masks of up to 'n' subtables, in lookup order, to 'masks';
 * returns the number of subtables.  For statistics, dumps and tests
 * (reader side). */
size_t cls_subtable_masks(const struct cls *cls, struct flow *masks,
                          size_t n);

/* Iteration (writer side, or with no concurrent writer): calls 'cb' for each
 * rule; 'cb' may cls_remove() the rule it is given, but must not insert
 * or remove other rules. */
void cls_for_each(struct cls *cls, void (*cb)(struct cls_rule *, void *aux),
                  void *aux);

/* The mask of 'rule', which must be inserted: the same memory for every
 * rule of its subtable (a walk that reads the masks of many rules reads
 * one copy per mask, not one per rule).  Valid while the rule is in the
 * classifier and until the subtable's memory is released after it empties
 * (the 'defer_free' callback; at once without one).  Writer side, or with
 * no concurrent writer. */
const struct flow *cls_rule_shared_mask(const struct cls_rule *rule);

/* Checks every internal invariant; returns 0 or EINVAL (and prints what is
 * wrong to stderr).  For tests. */
int cls_check(const struct cls *cls);

#endif /* cls.h */
