/* SPDX-License-Identifier: BSD-3-Clause */
/* mac-learning.c: MAC learning table (hash + LRU list under one mutex). */
#include "mac-learning.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ml_entry {
    struct ml_entry *hnext;         /* Hash chain. */
    struct ml_entry *lru_prev;      /* LRU list: head = oldest. */
    struct ml_entry *lru_next;
    uint8_t mac[6];
    uint16_t vlan;
    uint32_t port;
    uint32_t hash;
    long long used_ms;              /* Last learn (refresh). */
};

struct ml {
    pthread_mutex_t mutex;          /* Protects everything below except
                                     * 'generation'. */
    struct ml_entry **buckets;
    size_t n_buckets;               /* Power of 2. */
    size_t count;
    struct ml_entry *lru_head;
    struct ml_entry *lru_tail;
    unsigned int aging_s;
    size_t max_entries;
    _Atomic uint64_t generation;
};

static uint32_t
ml_hash(const uint8_t mac[6], uint16_t vlan)
{
    /* FNV-1a over the 8 bytes, then a final mix. */
    uint32_t h = 2166136261u;
    for (int i = 0; i < 6; i++) {
        h = (h ^ mac[i]) * 16777619u;
    }
    h = (h ^ (vlan & 0xff)) * 16777619u;
    h = (h ^ (vlan >> 8)) * 16777619u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

static void
ml_bump(struct ml *ml)
{
    atomic_fetch_add_explicit(&ml->generation, 1, memory_order_release);
}

static void
lru_unlink(struct ml *ml, struct ml_entry *e)
{
    if (e->lru_prev) {
        e->lru_prev->lru_next = e->lru_next;
    } else {
        ml->lru_head = e->lru_next;
    }
    if (e->lru_next) {
        e->lru_next->lru_prev = e->lru_prev;
    } else {
        ml->lru_tail = e->lru_prev;
    }
    e->lru_prev = e->lru_next = NULL;
}

static void
lru_append(struct ml *ml, struct ml_entry *e)
{
    e->lru_next = NULL;
    e->lru_prev = ml->lru_tail;
    if (ml->lru_tail) {
        ml->lru_tail->lru_next = e;
    } else {
        ml->lru_head = e;
    }
    ml->lru_tail = e;
}

/* Unlinks 'e' from the hash and the LRU and frees it.  Must hold mutex. */
static void
ml_remove__(struct ml *ml, struct ml_entry *e)
{
    struct ml_entry **pp = &ml->buckets[e->hash & (ml->n_buckets - 1)];
    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    lru_unlink(ml, e);
    ml->count--;
    free(e);
}

static struct ml_entry *
ml_find__(const struct ml *ml, const uint8_t mac[6], uint16_t vlan,
          uint32_t hash)
{
    for (struct ml_entry *e = ml->buckets[hash & (ml->n_buckets - 1)]; e;
         e = e->hnext) {
        if (e->hash == hash && e->vlan == vlan && !memcmp(e->mac, mac, 6)) {
            return e;
        }
    }
    return NULL;
}

static bool
ml_is_dead(const struct ml *ml, const struct ml_entry *e, long long now_ms)
{
    return now_ms - e->used_ms >= (long long) ml->aging_s * 1000;
}

/* Doubles the bucket array when the load factor exceeds 1.  Must hold
 * mutex.  Failure to grow is harmless (chains get longer). */
static void
ml_maybe_grow(struct ml *ml)
{
    if (ml->count < ml->n_buckets) {
        return;
    }
    size_t n = ml->n_buckets * 2;
    struct ml_entry **b = calloc(n, sizeof *b);
    if (!b) {
        return;
    }
    for (size_t i = 0; i < ml->n_buckets; i++) {
        struct ml_entry *e = ml->buckets[i];
        while (e) {
            struct ml_entry *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(ml->buckets);
    ml->buckets = b;
    ml->n_buckets = n;
}

struct ml *
ml_create(unsigned int aging_s, size_t max_entries)
{
    struct ml *ml = calloc(1, sizeof *ml);
    if (!ml) {
        return NULL;
    }
    ml->n_buckets = 64;
    ml->buckets = calloc(ml->n_buckets, sizeof *ml->buckets);
    if (!ml->buckets || pthread_mutex_init(&ml->mutex, NULL)) {
        free(ml->buckets);
        free(ml);
        return NULL;
    }
    ml->aging_s = aging_s ? aging_s : 1;
    ml->max_entries = max_entries ? max_entries : 1;
    atomic_init(&ml->generation, 0);
    return ml;
}

void
ml_destroy(struct ml *ml)
{
    if (!ml) {
        return;
    }
    struct ml_entry *e = ml->lru_head;
    while (e) {
        struct ml_entry *next = e->lru_next;
        free(e);
        e = next;
    }
    free(ml->buckets);
    pthread_mutex_destroy(&ml->mutex);
    free(ml);
}

void
ml_set_aging(struct ml *ml, unsigned int aging_s)
{
    pthread_mutex_lock(&ml->mutex);
    if (ml->aging_s != (aging_s ? aging_s : 1)) {
        ml->aging_s = aging_s ? aging_s : 1;
        ml_bump(ml);
    }
    pthread_mutex_unlock(&ml->mutex);
}

void
ml_set_max(struct ml *ml, size_t max_entries)
{
    pthread_mutex_lock(&ml->mutex);
    ml->max_entries = max_entries ? max_entries : 1;
    bool changed = false;
    while (ml->count > ml->max_entries) {
        ml_remove__(ml, ml->lru_head);
        changed = true;
    }
    if (changed) {
        ml_bump(ml);
    }
    pthread_mutex_unlock(&ml->mutex);
}

unsigned int
ml_get_aging(const struct ml *ml)
{
    struct ml *m = (struct ml *) ml;
    pthread_mutex_lock(&m->mutex);
    unsigned int a = m->aging_s;
    pthread_mutex_unlock(&m->mutex);
    return a;
}

size_t
ml_get_max(const struct ml *ml)
{
    struct ml *m = (struct ml *) ml;
    pthread_mutex_lock(&m->mutex);
    size_t n = m->max_entries;
    pthread_mutex_unlock(&m->mutex);
    return n;
}

bool
ml_learn(struct ml *ml, const uint8_t mac[6], uint16_t vlan, uint32_t port,
         long long now_ms)
{
    if (mac[0] & 1) {
        return false;               /* Broadcast / multicast source. */
    }
    vlan &= 0xfff;
    uint32_t hash = ml_hash(mac, vlan);
    bool changed = false;

    pthread_mutex_lock(&ml->mutex);
    struct ml_entry *e = ml_find__(ml, mac, vlan, hash);
    if (e) {
        if (e->port != port || ml_is_dead(ml, e, now_ms)) {
            changed = true;
            e->port = port;
        }
        if (now_ms > e->used_ms || changed) {
            e->used_ms = now_ms;
        }
        lru_unlink(ml, e);
        lru_append(ml, e);
    } else {
        e = malloc(sizeof *e);
        if (e) {
            if (ml->count >= ml->max_entries) {
                ml_remove__(ml, ml->lru_head);
            }
            memcpy(e->mac, mac, 6);
            e->vlan = vlan;
            e->port = port;
            e->hash = hash;
            e->used_ms = now_ms;
            size_t b = hash & (ml->n_buckets - 1);
            e->hnext = ml->buckets[b];
            ml->buckets[b] = e;
            lru_append(ml, e);
            ml->count++;
            ml_maybe_grow(ml);
            changed = true;
        }
    }
    if (changed) {
        ml_bump(ml);
    }
    pthread_mutex_unlock(&ml->mutex);
    return changed;
}

bool
ml_lookup(struct ml *ml, const uint8_t mac[6], uint16_t vlan,
          long long now_ms, uint32_t *port)
{
    vlan &= 0xfff;
    uint32_t hash = ml_hash(mac, vlan);
    bool found = false;

    pthread_mutex_lock(&ml->mutex);
    struct ml_entry *e = ml_find__(ml, mac, vlan, hash);
    if (e && !ml_is_dead(ml, e, now_ms)) {
        *port = e->port;
        found = true;
    }
    pthread_mutex_unlock(&ml->mutex);
    return found;
}

size_t
ml_expire(struct ml *ml, long long now_ms)
{
    size_t n = 0;

    pthread_mutex_lock(&ml->mutex);
    /* Refresh times are nearly monotonic along the LRU list, but learners
     * on different threads may pass slightly different clocks: scan all. */
    struct ml_entry *e = ml->lru_head;
    while (e) {
        struct ml_entry *next = e->lru_next;
        if (ml_is_dead(ml, e, now_ms)) {
            ml_remove__(ml, e);
            n++;
        }
        e = next;
    }
    if (n) {
        ml_bump(ml);
    }
    pthread_mutex_unlock(&ml->mutex);
    return n;
}

static size_t
ml_flush__(struct ml *ml, bool all, uint32_t port)
{
    size_t n = 0;

    pthread_mutex_lock(&ml->mutex);
    struct ml_entry *e = ml->lru_head;
    while (e) {
        struct ml_entry *next = e->lru_next;
        if (all || e->port == port) {
            ml_remove__(ml, e);
            n++;
        }
        e = next;
    }
    if (n) {
        ml_bump(ml);
    }
    pthread_mutex_unlock(&ml->mutex);
    return n;
}

size_t
ml_flush_port(struct ml *ml, uint32_t port)
{
    return ml_flush__(ml, false, port);
}

size_t
ml_flush(struct ml *ml)
{
    return ml_flush__(ml, true, 0);
}

size_t
ml_count(struct ml *ml)
{
    pthread_mutex_lock(&ml->mutex);
    size_t n = ml->count;
    pthread_mutex_unlock(&ml->mutex);
    return n;
}

uint64_t
ml_generation(const struct ml *ml)
{
    return atomic_load_explicit(&((struct ml *) ml)->generation,
                                memory_order_acquire);
}

void
ml_dump(struct ml *ml, long long now_ms,
        void (*cb)(const uint8_t mac[6], uint16_t vlan, uint32_t port,
                   long long age_ms, void *aux),
        void *aux)
{
    pthread_mutex_lock(&ml->mutex);
    for (struct ml_entry *e = ml->lru_head; e; e = e->lru_next) {
        cb(e->mac, e->vlan, e->port, now_ms - e->used_ms, aux);
    }
    pthread_mutex_unlock(&ml->mutex);
}

int
ml_check(struct ml *ml)
{
    int error = 0;

    pthread_mutex_lock(&ml->mutex);
    size_t n_hash = 0;
    for (size_t i = 0; i < ml->n_buckets; i++) {
        for (struct ml_entry *e = ml->buckets[i]; e; e = e->hnext) {
            n_hash++;
            if ((e->hash & (ml->n_buckets - 1)) != i
                || e->hash != ml_hash(e->mac, e->vlan)) {
                fprintf(stderr, "ml: entry in wrong bucket\n");
                error = EINVAL;
            }
            if (e->mac[0] & 1) {
                fprintf(stderr, "ml: multicast entry\n");
                error = EINVAL;
            }
            for (struct ml_entry *f = e->hnext; f; f = f->hnext) {
                if (f->vlan == e->vlan && !memcmp(f->mac, e->mac, 6)) {
                    fprintf(stderr, "ml: duplicate entry\n");
                    error = EINVAL;
                }
            }
        }
    }
    size_t n_lru = 0;
    struct ml_entry *prev = NULL;
    for (struct ml_entry *e = ml->lru_head; e; e = e->lru_next) {
        if (e->lru_prev != prev) {
            fprintf(stderr, "ml: bad LRU back link\n");
            error = EINVAL;
        }
        prev = e;
        n_lru++;
    }
    if (prev != ml->lru_tail) {
        fprintf(stderr, "ml: bad LRU tail\n");
        error = EINVAL;
    }
    if (n_hash != ml->count || n_lru != ml->count) {
        fprintf(stderr, "ml: count %zu, hash %zu, lru %zu\n", ml->count,
                n_hash, n_lru);
        error = EINVAL;
    }
    if (ml->count > ml->max_entries) {
        fprintf(stderr, "ml: over capacity\n");
        error = EINVAL;
    }
    pthread_mutex_unlock(&ml->mutex);
    return error;
}
