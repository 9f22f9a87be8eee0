/* SPDX-License-Identifier: BSD-3-Clause */
/* hkc.c: the per-PMD header-key cache. */
#include "hkc.h"
#include "exact-gate.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* One bucket: the signatures and insertion stamps of its slots, one cache
 * line. */
struct hkc_bucket {
    uint32_t sig[HKC_WAYS];     /* hash | 1; 0: slot empty. */
    uint32_t age[HKC_WAYS];     /* Insertion stamp; larger is newer. */
};

/* One slot, one cache line. */
struct hkc_slot {
    struct hkey key;
    void *data;
    uint64_t pad[2];
};

_Static_assert(sizeof(struct hkc_bucket) == 64, "bucket is a cache line");
_Static_assert(sizeof(struct hkc_slot) == 64, "slot is a cache line");
_Static_assert(HKC_WAYS == 8, "sig_matches() compares eight lanes");

struct hkc {
    struct hkc_bucket *buckets;
    struct hkc_slot *slots;     /* bucket * HKC_WAYS + way */
    uint32_t bucket_mask;
    uint32_t clock;
    uint32_t inv_prob;
    uint32_t rng;
    size_t count;
};

static inline uint32_t
sig_of(uint32_t hash)
{
    return hash | 1;
}

/* Bit w set if slot w of 'b' has signature 'sig'. */
static inline unsigned
sig_matches(const struct hkc_bucket *b, uint32_t sig)
{
#ifdef __SSE2__
    __m128i v = _mm_set1_epi32((int) sig);
    __m128i lo = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *) b->sig), v);
    __m128i hi = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *) b->sig
                                                + 1), v);

    return (unsigned) _mm_movemask_ps(_mm_castsi128_ps(lo))
           | (unsigned) _mm_movemask_ps(_mm_castsi128_ps(hi)) << 4;
#else
    unsigned m = 0;

    for (unsigned w = 0; w < HKC_WAYS; w++) {
        m |= (unsigned) (b->sig[w] == sig) << w;
    }
    return m;
#endif
}

struct hkc *
hkc_create(size_t n_entries)
{
    struct hkc *hkc = calloc(1, sizeof *hkc);
    size_t n = HKC_WAYS, n_buckets;

    if (!hkc) {
        return NULL;
    }
    while (n < n_entries && n < ((size_t) 1 << 30)) {
        n <<= 1;
    }
    n_buckets = n / HKC_WAYS;
    hkc->buckets = aligned_alloc(64, (n_buckets * sizeof *hkc->buckets + 63)
                                     / 64 * 64);
    hkc->slots = aligned_alloc(64, (n * sizeof *hkc->slots + 63) / 64 * 64);
    if (!hkc->buckets || !hkc->slots) {
        hkc_destroy(hkc);
        return NULL;
    }
    memset(hkc->buckets, 0, n_buckets * sizeof *hkc->buckets);
    memset(hkc->slots, 0, n * sizeof *hkc->slots);
    hkc->bucket_mask = (uint32_t) (n_buckets - 1);
    hkc->inv_prob = 1;
    hkc->rng = 0x9e3779b9;
    return hkc;
}

void
hkc_destroy(struct hkc *hkc)
{
    if (hkc) {
        free(hkc->buckets);
        free(hkc->slots);
        free(hkc);
    }
}

void
hkc_hash_batch(const struct hkc *hkc, const struct hkey *keys, unsigned n,
               uint32_t *hashes)
{
    const struct hkc_bucket *buckets = hkc->buckets;
    uint32_t mask = hkc->bucket_mask;

    for (unsigned i = 0; i < n; i++) {
        uint32_t h = hkey_hash(&keys[i]);

        hashes[i] = h;
        __builtin_prefetch(&buckets[h & mask]);
    }
}

static inline void *
probe(const struct hkc *hkc, uint32_t bi, unsigned m, const struct hkey *key)
{
    while (m) {
        unsigned w = (unsigned) __builtin_ctz(m);
        const struct hkc_slot *s = &hkc->slots[bi * HKC_WAYS + w];

        if (hkey_equal(&s->key, key)) {
            return s->data;
        }
        m &= m - 1;
    }
    return NULL;
}

void *
hkc_lookup(const struct hkc *hkc, const struct hkey *key, uint32_t hash)
{
    uint32_t bi = hash & hkc->bucket_mask;

    return probe(hkc, bi, sig_matches(&hkc->buckets[bi], sig_of(hash)),
                 key);
}

void
hkc_lookup_batch(const struct hkc *hkc, const struct hkey *keys,
                 const uint32_t *hashes, unsigned n, void **out)
{
    unsigned m[64];

    for (unsigned i = 0; i < n; i++) {
        uint32_t bi = hashes[i] & hkc->bucket_mask;

        m[i] = sig_matches(&hkc->buckets[bi], sig_of(hashes[i]));
        if (m[i]) {
            __builtin_prefetch(&hkc->slots[bi * HKC_WAYS
                                           + (unsigned) __builtin_ctz(m[i])]);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        void *d = m[i] ? probe(hkc, hashes[i] & hkc->bucket_mask, m[i],
                               &keys[i])
                       : NULL;

        out[i] = d;
        if (d) {
            __builtin_prefetch(d);      /* (A prefetch never faults.) */
        }
    }
}

static void
slot_clear(struct hkc *hkc, uint32_t bi, unsigned w)
{
    hkc->buckets[bi].sig[w] = 0;
    hkc->buckets[bi].age[w] = 0;
    memset(&hkc->slots[bi * HKC_WAYS + w], 0, sizeof(struct hkc_slot));
    hkc->count--;
}

void
hkc_insert(struct hkc *hkc, const struct hkey *key, uint32_t hash,
           void *data)
{
    uint32_t bi = hash & hkc->bucket_mask;
    struct hkc_bucket *b = &hkc->buckets[bi];
    uint32_t sig = sig_of(hash);
    unsigned m = sig_matches(b, sig), victim = HKC_WAYS;

    while (m) {
        unsigned w = (unsigned) __builtin_ctz(m);
        struct hkc_slot *s = &hkc->slots[bi * HKC_WAYS + w];

        if (hkey_equal(&s->key, key)) {
            if (data) {
                s->data = data;
            } else {
                slot_clear(hkc, bi, w);
            }
            return;
        }
        m &= m - 1;
    }
    if (!data || !exact_draw_insert(&hkc->rng, hkc->inv_prob)) {
        return;
    }
    m = sig_matches(b, 0);
    if (m) {
        victim = (unsigned) __builtin_ctz(m);
    } else {
        /* Evict the oldest insertion; stamps compare modulo 2^32. */
        victim = 0;
        for (unsigned w = 1; w < HKC_WAYS; w++) {
            if ((int32_t) (b->age[w] - b->age[victim]) < 0) {
                victim = w;
            }
        }
        hkc->count--;
    }
    hkc->slots[bi * HKC_WAYS + victim].key = *key;
    hkc->slots[bi * HKC_WAYS + victim].data = data;
    b->sig[victim] = sig;
    b->age[victim] = hkc->clock++;
    hkc->count++;
}

void
hkc_sweep(struct hkc *hkc, bool (*is_dead)(void *data, void *aux), void *aux)
{
    for (uint32_t bi = 0; bi <= hkc->bucket_mask; bi++) {
        struct hkc_bucket *b = &hkc->buckets[bi];

        for (unsigned w = 0; w < HKC_WAYS; w++) {
            if (b->sig[w]
                && is_dead(hkc->slots[bi * HKC_WAYS + w].data, aux)) {
                slot_clear(hkc, bi, w);
            }
        }
    }
}

void
hkc_clear(struct hkc *hkc)
{
    size_t n_buckets = (size_t) hkc->bucket_mask + 1;

    memset(hkc->buckets, 0, n_buckets * sizeof *hkc->buckets);
    memset(hkc->slots, 0, n_buckets * HKC_WAYS * sizeof *hkc->slots);
    hkc->count = 0;
}

size_t
hkc_count(const struct hkc *hkc)
{
    return hkc->count;
}

size_t
hkc_capacity(const struct hkc *hkc)
{
    return ((size_t) hkc->bucket_mask + 1) * HKC_WAYS;
}

void
hkc_set_insert_inv_prob(struct hkc *hkc, uint32_t inv_prob)
{
    hkc->inv_prob = inv_prob;
}

bool
hkc_check(const struct hkc *hkc)
{
    static const struct hkc_slot zero;
    size_t n = 0;

    for (uint32_t bi = 0; bi <= hkc->bucket_mask; bi++) {
        const struct hkc_bucket *b = &hkc->buckets[bi];

        for (unsigned w = 0; w < HKC_WAYS; w++) {
            const struct hkc_slot *s = &hkc->slots[bi * HKC_WAYS + w];
            uint32_t h;

            if (!b->sig[w]) {
                if (b->age[w] || memcmp(s, &zero, sizeof *s)) {
                    return false;
                }
                continue;
            }
            n++;
            h = hkey_hash(&s->key);
            if (!s->data || b->sig[w] != sig_of(h)
                || (h & hkc->bucket_mask) != bi) {
                return false;
            }
            for (unsigned v = w + 1; v < HKC_WAYS; v++) {
                if (b->sig[v]
                    && hkey_equal(&hkc->slots[bi * HKC_WAYS + v].key,
                                  &s->key)) {
                    return false;
                }
            }
        }
    }
    return n == hkc->count;
}
