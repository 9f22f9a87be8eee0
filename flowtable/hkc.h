/* SPDX-License-Identifier: BSD-3-Clause */
/* hkc.h: the per-PMD header-key cache (struct hkey -> datapath flow). */
#ifndef SLUICE_HKC_H
#define SLUICE_HKC_H 1

/*
 * What
 *   The fast half of the exact-match tier.  Packets of the common shape
 *   (hkey.h) are looked up here by their 40-byte header key, without
 *   parsing them into a struct flow; every other packet goes to the
 *   struct flow EMC (emc.h).  A hit gives the megaflow that matched an
 *   earlier packet with the same key, which hkey.h's contract makes the
 *   megaflow this packet matches too.
 *
 * Design
 *   8-way set-associative.  The low bits of hkey_hash() pick a bucket: one
 *   cache line holding the eight slots' signatures (the hash with bit 0
 *   forced to 1, so 0 means empty) and insertion stamps.  Each slot is a
 *   cache line of its own holding the key and the data pointer, read only
 *   when its signature matches.  So a hit touches two lines and a miss
 *   usually one, and eight ways keep conflict misses rare (a 2-way cache
 *   a third full already loses about 5 % of its keys to full sets).
 *   Lookups are batched: every bucket of the batch is checked and its
 *   candidate slot prefetched before any key is compared.  Insert replaces
 *   the slot holding the same key, else takes an empty slot, else evicts
 *   the slot inserted longest ago.  As in the EMC, new keys may be
 *   inserted with probability 1/N so that more flows than slots do not
 *   thrash it.  The cache never frees or dereferences data.
 *
 * Thread-safety
 *   None: one PMD thread owns each cache.  Entries whose data is about to
 *   be freed must be removed with hkc_sweep() (or hkc_clear()) by that
 *   owner before the data's grace period ends, as for the EMC.
 *
 * Ownership
 *   hkc_create() returns a cache freed with hkc_destroy().  Data pointers
 *   are borrowed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hkey.h"

struct hkc;

#define HKC_WAYS 8

/* Creates a cache of 'n_entries' slots, rounded up to a power of two and
 * to at least HKC_WAYS.  Returns NULL on ENOMEM.  The insertion
 * probability starts at 1. */
struct hkc *hkc_create(size_t n_entries);

/* Frees 'hkc' (NULL is fine). */
void hkc_destroy(struct hkc *hkc);

/* Sets hashes[i] = hkey_hash(&keys[i]) for each i < n and prefetches the
 * bucket each will read: one pass for a batch. */
void hkc_hash_batch(const struct hkc *hkc, const struct hkey *keys,
                    unsigned n, uint32_t *hashes);

/* Returns the data stored for 'key' ('hash' = hkey_hash(key)), or NULL. */
void *hkc_lookup(const struct hkc *hkc, const struct hkey *key,
                 uint32_t hash);

/* Looks up keys[i] (hashes[i]) for each i < n into out[i] (NULL: miss),
 * overlapping the memory accesses of the batch, and prefetches the first
 * line of each hit's data (the caller reads it next; a prefetch is not a
 * dereference).  n <= 64. */
void hkc_lookup_batch(const struct hkc *hkc, const struct hkey *keys,
                      const uint32_t *hashes, unsigned n, void **out);

/* Stores 'data' for 'key'.  A cached key's data is always replaced; a new
 * key is added subject to the insertion probability.  'data' NULL removes
 * 'key'. */
void hkc_insert(struct hkc *hkc, const struct hkey *key, uint32_t hash,
                void *data);

/* Removes every entry for which is_dead(data, aux) returns true. */
void hkc_sweep(struct hkc *hkc, bool (*is_dead)(void *data, void *aux),
               void *aux);

/* Removes every entry. */
void hkc_clear(struct hkc *hkc);

/* Entries in use, and slots. */
size_t hkc_count(const struct hkc *hkc);
size_t hkc_capacity(const struct hkc *hkc);

/* New keys are inserted with probability 1/inv_prob: 1 = always, 0 =
 * never. */
void hkc_set_insert_inv_prob(struct hkc *hkc, uint32_t inv_prob);

/* Checks internal invariants (count, empty slots clear, no duplicate key,
 * every entry in its hash's bucket with the matching signature); returns
 * true if they hold. */
bool hkc_check(const struct hkc *hkc);

#endif /* hkc.h */
