/* SPDX-License-Identifier: BSD-3-Clause */
/* conntrack.c: the connection table, packet parsing, non-TCP states. */
#include "conntrack.h"
#include "ct-private.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CACHE_LINE 64

#define CT_BUCKET_BITS 21           /* conntrack_create()'s table */
#define CT_N_LOCKS 1024u            /* bucket i is guarded by lock i % N */
#define CT_RUN 32                   /* free connections a thread takes */
#define CT_POOL_SLOTS 16            /* threads with a run of their own */
#define CT_N_ZONES 65536u

/* Non-TCP connection states (OVS conntrack-other.c / conntrack-icmp.c). */
enum { CT_OTHER_FIRST, CT_OTHER_MULTIPLE, CT_OTHER_BIDIR };
enum { CT_ICMP_FIRST, CT_ICMP_REPLY };

/* One of a connection's two entries in the table. */
struct ct_node {
    struct ct_node *next;       /* Chain; RCU: written under the bucket's
                                   lock with release, read with acquire. */
    uint32_t hash;
    uint8_t dir;                /* 0 original, 1 reply. */
    struct ct_tuple key;
};

/* Per-direction counters, each in its own cache line: a PMD handling one
 * direction writes only its line.  The first thread that counts a packet
 * of the direction owns 'packets' and 'bytes' and adds to them with plain
 * loads and stores: no locked instruction, which would cost its own
 * latency and hold back the loads of the packets after it.  Any other
 * thread (a second PMD the direction reaches, the offload manager's
 * credits) adds atomically to 'sh_packets' and 'sh_bytes'.  The counts
 * are the sums (dir_packets(), dir_bytes()). */
struct ct_dir_stats {
    uint64_t packets;           /* Owner's; atomic loads and stores. */
    uint64_t bytes;
    uint64_t last_ms;
    uint64_t sh_packets;        /* Other threads': atomic adds. */
    uint64_t sh_bytes;
    uint32_t owner;             /* ct_thread_id() of the owner; 0: none
                                   yet (claimed by compare-and-swap). */
    /* The caller's (conntrack_dir_hint()): in the line the packet's
     * lookup has just brought in. */
    uintptr_t hint;
} __attribute__((aligned(CACHE_LINE)));
_Static_assert(sizeof(struct ct_dir_stats) == CACHE_LINE,
               "a direction's counters take one cache line");

struct ct_conn {
    /* Read-mostly: written at creation, by commits (mark, label) and once
     * at removal ('dead').  A lookup reads its node, then proto to mark:
     * lines 0 and 1 for the original direction, line 1 for the reply's
     * (asserted below), which conntrack_execute() prefetches. */
    struct ct_node node[2];
    uint8_t proto;              /* CT_PROTO_* */
    uint8_t dead;               /* Claimed for removal (atomic). */
    uint8_t label_set;          /* label ever written (atomic, release). */
    uint8_t nat_flags;          /* CS_SRC_NAT / CS_DST_NAT (original
                                   direction); node[1].key translated. */
    uint32_t mark;              /* Atomic. */
    uint64_t uid;               /* Unique per connection ever created
                                   (session offload tells a re-opened
                                   tuple from its predecessor). */
    uint8_t label[16];          /* Under 'lock'. */
    uint64_t created_ms;
    uint64_t claim_at[2];       /* By direction, session offload: no claim
                                   before this many packets
                                   (conntrack_session_claim). */

    /* Written by packets that change the state, under 'lock' (TCP: every
     * packet); 'expiration' also without it (atomic, non-TCP). */
    uint32_t lock __attribute__((aligned(CACHE_LINE)));
    uint8_t state;              /* CT_OTHER_* / CT_ICMP_* (not TCP). */
    uint8_t tm;                 /* Current timeout class (enum ct_tm). */
    uint8_t rst_seen;           /* TCP: a reset was accepted. */
    uint8_t in_emb;             /* On the embryonic list (emb_lock;
                                   read atomically as a hint). */
    uint8_t offload;            /* CT_OFF_* (atomic): session offload. */
    uint64_t expiration;        /* ms; atomic. */
    struct ct_tcp_peer peer[2];
    struct ct_conn *emb_prev, *emb_next;    /* emb_lock */

    struct ct_dir_stats dir[2];
};

_Static_assert(offsetof(struct ct_conn, node[1].hash) >= CACHE_LINE
               && offsetof(struct ct_conn, mark) + sizeof(uint32_t)
                  <= 2 * CACHE_LINE,
               "a lookup's fields must sit in the connection's lines 0-1");

struct conntrack {
    struct ct_node **buckets;
    size_t n_buckets;                   /* a power of 2 */
    uint32_t hash_basis;
    ct_defer_free_fn *defer_free;
    void *aux;
    ct_event_fn *event_cb;
    void *event_aux;
    ct_offload_gone_fn *offload_cb;
    void *offload_aux;
    uint32_t max_conns;                 /* atomic */
    uint32_t tmo[CT_N_TM];              /* seconds, atomic each */
    uint8_t check_csum;                 /* atomic */
    size_t sweep_pos;                   /* main thread */
    uint32_t *zone_limit;               /* [CT_N_ZONES], atomic each */
    uint32_t *zone_count;               /* [CT_N_ZONES], atomic each */
    pthread_mutex_t locks[CT_N_LOCKS];

    /* Counters written on connection create/remove. */
    uint64_t n_conns __attribute__((aligned(CACHE_LINE)));
    uint64_t by_proto[CT_N_PROTOS];
    uint64_t created, removed;
    uint64_t next_uid;                  /* atomic */

    /* Drop counters (written only on drops). */
    uint64_t drops[CT_N_DROP_REASONS] __attribute__((aligned(CACHE_LINE)));

    /* Unanswered connections, oldest first: what a full table evicts.
     * Lock order: a bucket lock may be held when taking emb_lock, never
     * the reverse. */
    pthread_mutex_t emb_lock __attribute__((aligned(CACHE_LINE)));
    struct ct_conn *emb_head, *emb_tail;

    /* The connection pool: slabs of 'slab_conns', never returned to the
     * system until conntrack_destroy().  A full-size tracker's slabs are
     * 2 MiB on a transparent huge page where the kernel has one: faulting
     * one in costs one fault instead of 512, and a lookup's walk through
     * connections spread over gigabytes needs one TLB entry per 5,440 of
     * them.  Free connections travel in runs
     * of up to CT_RUN: a run is chained through emb_next from its first
     * connection, which holds the run's length in 'uid' and chains the
     * runs through emb_prev.  A thread that commits takes a whole run
     * under pool_lock into its slot and then takes connections from it
     * without a lock, so a commit costs 1/CT_RUN of a lock; released
     * connections gather into 'rel_run' until it is a full run.
     * conntrack_sweep() keeps CT_POOL_SPARE of them faulted in ahead of
     * demand, so a commit on a PMD takes neither malloc's locks nor page
     * faults. */
    pthread_mutex_t pool_lock __attribute__((aligned(CACHE_LINE)));
    struct ct_conn *pool_runs;
    struct ct_conn *rel_run;
    size_t rel_n;
    size_t pool_n_free;                 /* in pool_runs and rel_run */
    void **slabs;
    size_t n_slabs, cap_slabs;
    size_t slab_conns;                  /* a multiple of CT_RUN */

    /* Per thread (see pool_slot()): the run it takes connections from. */
    struct ct_pool_slot {
        struct ct_conn *run;
    } __attribute__((aligned(CACHE_LINE))) slot[CT_POOL_SLOTS];
};

#define CT_SLAB_BYTES (2u << 20)    /* trackers of >= 2^16 buckets */
#define CT_SMALL_SLAB_CONNS 256     /* smaller ones (tests, fuzzing) */
#define CT_POOL_SPARE 65536

/* ---------------------------------------------------------------------- */
/* Small helpers. */

#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)
#define ADD(p, v) ((void) __atomic_fetch_add(p, v, __ATOMIC_RELAXED))
#define SUB(p, v) ((void) __atomic_fetch_sub(p, v, __ATOMIC_RELAXED))

static void
spin_lock(uint32_t *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
}

static void
spin_unlock(uint32_t *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void
count_drop(struct conntrack *ct, int reason)
{
    ADD(&ct->drops[reason], 1);
}

/* A number for the calling thread, never 0, never given to another
 * (struct ct_dir_stats 'owner'). */
static uint32_t
ct_thread_id(void)
{
    static uint32_t next;
    static __thread uint32_t id;

    while (!id) {
        id = __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED);
    }
    return id;
}

static uint64_t
dir_packets(const struct ct_dir_stats *d)
{
    return LOAD(&d->packets) + LOAD(&d->sh_packets);
}

static uint64_t
dir_bytes(const struct ct_dir_stats *d)
{
    return LOAD(&d->bytes) + LOAD(&d->sh_bytes);
}

static struct ct_conn *
node_conn(const struct ct_node *n)
{
    return (struct ct_conn *) (void *) ((char *) (n - n->dir)
                                        - offsetof(struct ct_conn, node));
}

static uint64_t
rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* The ICMP type that answers 'type' (and the reverse); 0xff if none. */
static uint8_t
icmp_reverse_type(uint8_t type, bool v6)
{
    if (v6) {
        return type == 128 ? 129 : type == 129 ? 128 : 0xff;
    }
    switch (type) {
    case 8: return 0;           /* echo */
    case 0: return 8;
    case 13: return 14;         /* timestamp */
    case 14: return 13;
    case 15: return 16;         /* information */
    case 16: return 15;
    default: return 0xff;
    }
}

static bool
tuple_is_icmp(const struct ct_tuple *t)
{
    return t->is_ipv6 ? t->nw_proto == IPPROTO_ICMPV6_
                      : t->nw_proto == IPPROTO_ICMP_;
}

/* What tuple_hash() reads of a tuple: the addresses as four words (their
 * bytes in memory order), the rest as two.  ct_parse() fills one from
 * the packet in registers: hashing the tuple it has just written field by
 * field would load words that no single store wrote, and wait for the
 * stores to reach the cache. */
struct ct_hash_in {
    uint64_t s0, s1, d0, d1;
    uint16_t sport, dport, zone;
    uint8_t proto, v6, itype, icode;
};

static inline void
hash_in_of(const struct ct_tuple *t, struct ct_hash_in *in)
{
    memcpy(&in->s0, t->src, 8);
    memcpy(&in->s1, t->src + 8, 8);
    memcpy(&in->d0, t->dst, 8);
    memcpy(&in->d1, t->dst + 8, 8);
    in->sport = t->src_port;
    in->dport = t->dst_port;
    in->zone = t->zone;
    in->proto = t->nw_proto;
    in->v6 = t->is_ipv6;
    in->itype = t->icmp_type;
    in->icode = t->icmp_code;
}

/* Both directions of a connection hash alike: the hash reads the two
 * endpoints in a fixed order (the lower address, then port, first) and an
 * ICMP query type as the lower of it and its answer's.  A new
 * connection's reply entry then goes to the bucket its lookup has just
 * brought into the cache, under the same lock, instead of a second
 * random place of the array (without NAT; a translated reply tuple hashes
 * elsewhere like any other). */
static inline uint32_t
hash_in_hash(const struct ct_hash_in *in, uint32_t basis)
{
    uint64_t w[6];
    uint16_t sport = in->sport, dport = in->dport;
    uint8_t itype = in->itype;

    if (in->s0 > in->d0
        || (in->s0 == in->d0 && (in->s1 > in->d1
                                 || (in->s1 == in->d1 && sport > dport)))) {
        w[0] = in->d0;
        w[1] = in->d1;
        w[2] = in->s0;
        w[3] = in->s1;
        sport = in->dport;
        dport = in->sport;
    } else {
        w[0] = in->s0;
        w[1] = in->s1;
        w[2] = in->d0;
        w[3] = in->d1;
    }
    if (in->v6 ? in->proto == IPPROTO_ICMPV6_ : in->proto == IPPROTO_ICMP_) {
        uint8_t r = icmp_reverse_type(itype, in->v6);

        if (r < itype) {
            itype = r;
        }
    }
    w[4] = (uint64_t) sport | (uint64_t) dport << 16
           | (uint64_t) in->zone << 32 | (uint64_t) in->proto << 48
           | (uint64_t) in->v6 << 56;
    w[5] = (uint64_t) itype | (uint64_t) in->icode << 8;
#ifdef __SIZEOF_INT128__
    /* Three independent 64x64->128 products of word pairs xored with
     * per-position constants, summed, then one more to mix: no serial
     * chain through all six words (it runs once per packet). */
    {
        static const uint64_t k[7] = {
            0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
            0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL,
            0x1d8e4e27c47d124fULL, 0x9e3779b97f4a7c15ULL,
            0xbf58476d1ce4e5b9ULL,
        };
        uint64_t h = basis ^ k[6];

        for (size_t i = 0; i < 6; i += 2) {
            __uint128_t r = (__uint128_t) (w[i] ^ k[i]) * (w[i + 1] ^ k[i + 1]);

            h += (uint64_t) r ^ (uint64_t) (r >> 64);
        }
        {
            __uint128_t r = (__uint128_t) (h ^ k[0]) * (rotl64(h, 29) ^ k[1]);

            h = (uint64_t) r ^ (uint64_t) (r >> 64);
        }
        return (uint32_t) h ^ (uint32_t) (h >> 32);
    }
#else
    {
        uint64_t h = basis ^ 0x9e3779b97f4a7c15ULL;

        for (size_t i = 0; i < 6; i++) {
            uint64_t k = w[i] * 0x87c37b91114253d5ULL;

            k = rotl64(k, 31) * 0x4cf5ad432745937fULL;
            h ^= k;
            h = rotl64(h, 27) * 5 + 0x52dce729;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return (uint32_t) h;
    }
#endif
}

static uint32_t
tuple_hash(const struct ct_tuple *t, uint32_t basis)
{
    struct ct_hash_in in;

    hash_in_of(t, &in);
    return hash_in_hash(&in, basis);
}

static bool
tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return !memcmp(a, b, sizeof *a);
}

void
ct_tuple_reverse(const struct ct_tuple *in, struct ct_tuple *out)
{
    struct ct_tuple r = *in;

    memcpy(r.src, in->dst, 16);
    memcpy(r.dst, in->src, 16);
    r.src_port = in->dst_port;
    r.dst_port = in->src_port;
    if (tuple_is_icmp(in)) {
        r.icmp_type = icmp_reverse_type(in->icmp_type, in->is_ipv6);
    }
    *out = r;
}

static uint8_t
proto_class(const struct ct_tuple *t)
{
    if (t->nw_proto == IPPROTO_TCP_) {
        return CT_PROTO_TCP;
    } else if (t->nw_proto == IPPROTO_UDP_) {
        return CT_PROTO_UDP;
    } else if (tuple_is_icmp(t)) {
        return CT_PROTO_ICMP;
    }
    return CT_PROTO_OTHER;
}

/* ---------------------------------------------------------------------- */
/* Timeouts. */

static const struct ct_timeouts ct_default_timeouts = {
    .tcp_syn_sent = 30,
    .tcp_syn_recv = 30,
    .tcp_established = 24 * 60 * 60,
    .tcp_fin_wait = 15 * 60,
    .tcp_time_wait = 45,
    .tcp_close = 30,
    .udp_first = 60,
    .udp_single = 60,
    .udp_multiple = 30,
    .icmp_first = 60,
    .icmp_reply = 30,
    .other_first = 60,
    .other_single = 60,
    .other_multiple = 30,
};

static const char *const ct_tm_names[CT_N_TM] = {
    "tcp_syn_sent", "tcp_syn_recv", "tcp_established", "tcp_fin_wait",
    "tcp_time_wait", "tcp_close", "udp_first", "udp_single",
    "udp_multiple", "icmp_first", "icmp_reply", "other_first",
    "other_single", "other_multiple",
};

void
ct_timeouts_default(struct ct_timeouts *t)
{
    *t = ct_default_timeouts;
}

int
ct_timeouts_set_by_name(struct ct_timeouts *t, const char *name,
                        uint32_t seconds)
{
    uint32_t v[CT_N_TM];
    size_t i;

    for (i = 0; i < CT_N_TM; i++) {
        if (!strcmp(name, ct_tm_names[i])) {
            memcpy(v, t, sizeof v);
            v[i] = seconds;
            memcpy(t, v, sizeof v);
            return 0;
        }
    }
    return EINVAL;
}

void
conntrack_set_timeouts(struct conntrack *ct, const struct ct_timeouts *t)
{
    uint32_t v[CT_N_TM];
    size_t i;

    memcpy(v, t, sizeof v);
    for (i = 0; i < CT_N_TM; i++) {
        STORE(&ct->tmo[i], v[i]);
    }
}

void
conntrack_get_timeouts(const struct conntrack *ct, struct ct_timeouts *t)
{
    uint32_t v[CT_N_TM];
    size_t i;

    for (i = 0; i < CT_N_TM; i++) {
        v[i] = LOAD(&ct->tmo[i]);
    }
    memcpy(t, v, sizeof v);
}

/* Non-TCP timeout class of 'state' for protocol class 'proto'. */
static enum ct_tm
other_tm(uint8_t proto, uint8_t state)
{
    if (proto == CT_PROTO_ICMP) {
        return state == CT_ICMP_FIRST ? CT_TM_ICMP_FIRST : CT_TM_ICMP_REPLY;
    } else if (proto == CT_PROTO_UDP) {
        return (enum ct_tm) (CT_TM_UDP_FIRST + state);
    }
    return (enum ct_tm) (CT_TM_OTHER_FIRST + state);
}

/* Sets the expiry to now + timeout of 'tm' if that moves it back, or
 * forward by more than min(1 s, 1 % of the timeout): established traffic
 * then writes it a few times per second at most. */
static void
conn_refresh(struct conntrack *ct, struct ct_conn *c, enum ct_tm tm,
             uint64_t now)
{
    uint64_t tmo = (uint64_t) LOAD(&ct->tmo[tm]) * 1000;
    uint64_t exp = now + tmo;
    uint64_t cur = LOAD(&c->expiration);
    uint64_t slack = tmo / 100 < 1000 ? tmo / 100 : 1000;

    if (LOAD(&c->tm) != tm) {
        STORE(&c->tm, (uint8_t) tm);
        STORE(&c->expiration, exp);
    } else if (exp < cur || exp - cur > slack) {
        STORE(&c->expiration, exp);
    }
}

/* Session offload state (struct ct_conn 'offload'). */
#define CT_OFF_CLAIMED0 0x01    /* Original direction offered (claim). */
#define CT_OFF_CLAIMED1 0x02    /* Reply direction offered. */
#define CT_OFF_HW 0x04          /* Rules in (or going into) a NIC: the
                                   connection does not expire in software,
                                   the NIC's aging ends it. */
#define CT_OFF_LIBERAL 0x08     /* TCP windows no longer enforced: the NIC
                                   carried segments software never saw. */
#define CT_OFF_EVER 0x10        /* Was offloaded (reported in events). */
#define CT_OFF_TEARDOWN 0x20    /* A packet asked for the rules to go
                                   (check_teardown()); until they have. */

/* An offloaded connection never expires in software: its counters live in
 * the NIC and the offload manager closes it when the NIC ages its rules
 * (or hands it back to software first). */
static bool
conn_expired(const struct ct_conn *c, uint64_t now)
{
    return now >= LOAD(&c->expiration) && !(LOAD(&c->offload) & CT_OFF_HW);
}

/* ---------------------------------------------------------------------- */
/* Creation and destruction of the tracker. */

/* The bucket heads: 16 MiB that every lookup touches at a random place,
 * so on 2 MiB pages where the kernel has them (transparent huge pages on
 * request): a lookup then costs no page walk on top of its cache miss. */
static struct ct_node **
buckets_alloc(size_t n)
{
    size_t size = n * sizeof(struct ct_node *);
    void *p = NULL;

    if (posix_memalign(&p, size < (2u << 20) ? CACHE_LINE : 2u << 20,
                       size)) {
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    (void) madvise(p, size, MADV_HUGEPAGE);
#endif
    memset(p, 0, size);
    return p;
}

struct conntrack *
conntrack_create(ct_defer_free_fn *defer_free, void *aux)
{
    return conntrack_create_sized(defer_free, aux, CT_BUCKET_BITS);
}

struct conntrack *
conntrack_create_sized(ct_defer_free_fn *defer_free, void *aux,
                       unsigned bucket_bits)
{
    struct conntrack *ct;
    size_t i;

    if (bucket_bits < 4 || bucket_bits > 26) {
        return NULL;
    }
    ct = aligned_alloc(CACHE_LINE, (sizeof *ct + CACHE_LINE - 1)
                                   / CACHE_LINE * CACHE_LINE);
    if (!ct) {
        return NULL;
    }
    memset(ct, 0, sizeof *ct);
    ct->n_buckets = (size_t) 1 << bucket_bits;
    ct->slab_conns = bucket_bits >= 16
                     ? CT_SLAB_BYTES / sizeof(struct ct_conn) / CT_RUN * CT_RUN
                     : CT_SMALL_SLAB_CONNS;
    ct->buckets = buckets_alloc(ct->n_buckets);
    ct->zone_limit = calloc(CT_N_ZONES, sizeof *ct->zone_limit);
    ct->zone_count = calloc(CT_N_ZONES, sizeof *ct->zone_count);
    if (!ct->buckets || !ct->zone_limit || !ct->zone_count) {
        free(ct->buckets);
        free(ct->zone_limit);
        free(ct->zone_count);
        free(ct);
        return NULL;
    }
    ct->defer_free = defer_free;
    ct->aux = aux;
    ct->hash_basis = (uint32_t) (uintptr_t) ct * 2654435761u;
    ct->max_conns = CT_DEFAULT_MAX_CONNS;
    ct->check_csum = 1;
    conntrack_set_timeouts(ct, &ct_default_timeouts);
    for (i = 0; i < CT_N_LOCKS; i++) {
        pthread_mutex_init(&ct->locks[i], NULL);
    }
    pthread_mutex_init(&ct->emb_lock, NULL);
    pthread_mutex_init(&ct->pool_lock, NULL);
    return ct;
}

/* Adds a slab of connections to the pool (pre-faulted when 'fault'), as
 * runs of CT_RUN linked before they are published. */
static bool
pool_grow(struct conntrack *ct, bool fault)
{
    size_t n = ct->slab_conns, size = n * sizeof(struct ct_conn);
    bool huge = size >= CT_SLAB_BYTES / 2;
    struct ct_conn *runs = NULL, *last = NULL, *slab;
    void *p = NULL;

    if (posix_memalign(&p, huge ? CT_SLAB_BYTES : CACHE_LINE, size)) {
        return false;
    }
    slab = p;
#ifdef MADV_HUGEPAGE
    if (huge) {
        (void) madvise(p, CT_SLAB_BYTES, MADV_HUGEPAGE);
    }
#endif
    if (fault) {
        memset(slab, 0, size);
    }
    for (size_t r = 0; r < n; r += CT_RUN) {
        struct ct_conn *head = &slab[r];

        for (size_t i = 0; i < CT_RUN; i++) {
            slab[r + i].emb_next = i + 1 < CT_RUN ? &slab[r + i + 1] : NULL;
        }
        head->uid = CT_RUN;
        head->emb_prev = runs;
        runs = head;
        if (!last) {
            last = head;
        }
    }
    pthread_mutex_lock(&ct->pool_lock);
    if (ct->n_slabs == ct->cap_slabs) {
        size_t cap = ct->cap_slabs ? ct->cap_slabs * 2 : 64;
        void **v = realloc(ct->slabs, cap * sizeof *v);

        if (!v) {
            pthread_mutex_unlock(&ct->pool_lock);
            free(slab);
            return false;
        }
        ct->slabs = v;
        ct->cap_slabs = cap;
    }
    ct->slabs[ct->n_slabs++] = slab;
    last->emb_prev = ct->pool_runs;
    ct->pool_runs = runs;
    STORE(&ct->pool_n_free, ct->pool_n_free + n);   /* (read unlocked) */
    pthread_mutex_unlock(&ct->pool_lock);
    return true;
}

/* This thread's slot in every tracker's 'slot' array, or -1 once
 * CT_POOL_SLOTS threads have one (later threads take connections one at
 * a time under pool_lock).  A slot is never given back: a thread that
 * ends leaves at most CT_RUN - 1 connections in it. */
static int
pool_slot(void)
{
    static unsigned next;
    static __thread int slot = -2;

    if (slot == -2) {
        unsigned i = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);

        slot = i < CT_POOL_SLOTS ? (int) i : -1;
    }
    return slot;
}

/* Under pool_lock: unlinks a run (its length in '*n'), or NULL. */
static struct ct_conn *
pool_take_run_locked(struct conntrack *ct, size_t *n)
{
    struct ct_conn *r = ct->pool_runs;

    if (r) {
        ct->pool_runs = r->emb_prev;
        *n = r->uid;
    } else if ((r = ct->rel_run) != NULL) {
        *n = ct->rel_n;
        ct->rel_run = NULL;
        ct->rel_n = 0;
    }
    if (r) {
        STORE(&ct->pool_n_free, ct->pool_n_free - *n);
    }
    return r;
}

static struct ct_conn *
pool_get(struct conntrack *ct)
{
    int slot = pool_slot();
    struct ct_pool_slot *ps = slot >= 0 ? &ct->slot[slot] : NULL;
    struct ct_conn *c;
    size_t n;

    for (;;) {
        if (ps && ps->run) {
            c = ps->run;
            ps->run = c->emb_next;
            if (ps->run) {
                /* The next commit writes it whole: fetch it meanwhile. */
                for (size_t off = 0; off < sizeof *c; off += CACHE_LINE) {
                    __builtin_prefetch((char *) ps->run + off, 1);
                }
            }
            return c;
        }
        pthread_mutex_lock(&ct->pool_lock);
        c = pool_take_run_locked(ct, &n);
        if (c && !ps && n > 1) {
            /* No slot: one connection, the rest goes back as a run. */
            struct ct_conn *rest = c->emb_next;

            rest->uid = n - 1;
            rest->emb_prev = ct->pool_runs;
            ct->pool_runs = rest;
            STORE(&ct->pool_n_free, ct->pool_n_free + (n - 1));
        }
        pthread_mutex_unlock(&ct->pool_lock);
        if (c && ps) {
            ps->run = c;
            continue;
        }
        if (c || !pool_grow(ct, false)) {
            return c;
        }
    }
}

void
conntrack_release(struct conntrack *ct, void *conn)
{
    struct ct_conn *c = conn;

    pthread_mutex_lock(&ct->pool_lock);
    c->emb_next = ct->rel_run;
    ct->rel_run = c;
    STORE(&ct->pool_n_free, ct->pool_n_free + 1);
    if (++ct->rel_n == CT_RUN) {
        c->uid = CT_RUN;
        c->emb_prev = ct->pool_runs;
        ct->pool_runs = c;
        ct->rel_run = NULL;
        ct->rel_n = 0;
    }
    pthread_mutex_unlock(&ct->pool_lock);
}

void
conntrack_destroy(struct conntrack *ct)
{
    size_t i;

    if (!ct) {
        return;
    }
    /* Every connection lives in a slab: freeing the slabs frees them. */
    for (i = 0; i < ct->n_slabs; i++) {
        free(ct->slabs[i]);
    }
    free(ct->slabs);
    for (i = 0; i < CT_N_LOCKS; i++) {
        pthread_mutex_destroy(&ct->locks[i]);
    }
    pthread_mutex_destroy(&ct->emb_lock);
    pthread_mutex_destroy(&ct->pool_lock);
    free(ct->buckets);
    free(ct->zone_limit);
    free(ct->zone_count);
    free(ct);
}

void
conntrack_set_offload_cb(struct conntrack *ct, ct_offload_gone_fn *cb,
                         void *aux)
{
    ct->offload_cb = cb;
    ct->offload_aux = aux;
}

void
conntrack_set_event_cb(struct conntrack *ct, ct_event_fn *cb, void *aux)
{
    ct->event_cb = cb;
    ct->event_aux = aux;
}

void
conntrack_set_max_conns(struct conntrack *ct, uint32_t n)
{
    STORE(&ct->max_conns, n);
}

uint32_t
conntrack_get_max_conns(const struct conntrack *ct)
{
    return LOAD(&ct->max_conns);
}

int
conntrack_set_zone_limit(struct conntrack *ct, uint16_t zone, uint32_t n)
{
    STORE(&ct->zone_limit[zone], n);
    return 0;
}

uint32_t
conntrack_get_zone_limit(const struct conntrack *ct, uint16_t zone,
                         uint32_t *count)
{
    if (count) {
        *count = LOAD(&ct->zone_count[zone]);
    }
    return LOAD(&ct->zone_limit[zone]);
}

void
conntrack_set_checksum_check(struct conntrack *ct, bool on)
{
    STORE(&ct->check_csum, on ? 1 : 0);
}

/* ---------------------------------------------------------------------- */
/* The table. */

static struct ct_node **
bucket_of(const struct conntrack *ct, uint32_t hash)
{
    return &ct->buckets[hash & (ct->n_buckets - 1)];
}

static pthread_mutex_t *
lock_of(struct conntrack *ct, uint32_t hash)
{
    return &ct->locks[hash & (CT_N_LOCKS - 1)];
}

/* Locks the buckets of hashes 'a' and 'b' in index order. */
static void
lock_pair(struct conntrack *ct, uint32_t a, uint32_t b)
{
    uint32_t la = a & (CT_N_LOCKS - 1), lb = b & (CT_N_LOCKS - 1);

    if (la == lb) {
        pthread_mutex_lock(&ct->locks[la]);
    } else if (la < lb) {
        pthread_mutex_lock(&ct->locks[la]);
        pthread_mutex_lock(&ct->locks[lb]);
    } else {
        pthread_mutex_lock(&ct->locks[lb]);
        pthread_mutex_lock(&ct->locks[la]);
    }
}

static void
unlock_pair(struct conntrack *ct, uint32_t a, uint32_t b)
{
    pthread_mutex_unlock(lock_of(ct, a));
    if ((a & (CT_N_LOCKS - 1)) != (b & (CT_N_LOCKS - 1))) {
        pthread_mutex_unlock(lock_of(ct, b));
    }
}

/* Lock-free lookup: the live, unexpired connection with tuple 'key' in
 * either direction ('*reply' says which), or NULL.  With 'any', expired
 * connections are found too. */
static struct ct_conn *
ct_lookup(const struct conntrack *ct, const struct ct_tuple *key,
          uint32_t hash, uint64_t now, bool any, bool *reply)
{
    struct ct_node *n;

    for (n = __atomic_load_n(bucket_of(ct, hash), __ATOMIC_ACQUIRE); n;
         n = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)) {
        if (n->hash == hash && tuple_eq(&n->key, key)) {
            struct ct_conn *c = node_conn(n);

            if (LOAD(&c->dead) || (!any && conn_expired(c, now))) {
                continue;
            }
            *reply = n->dir;
            return c;
        }
    }
    return NULL;
}

/* Takes 'c' for removal; false if someone else already did. */
static bool
conn_claim(struct ct_conn *c)
{
    uint8_t expected = 0;

    return __atomic_compare_exchange_n(&c->dead, &expected, 1, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static void
chain_unlink(struct conntrack *ct, struct ct_node *node)
{
    struct ct_node **pp = bucket_of(ct, node->hash);

    while (*pp && *pp != node) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        __atomic_store_n(pp, node->next, __ATOMIC_RELEASE);
    }
}

static void
emb_unlink_locked(struct conntrack *ct, struct ct_conn *c)
{
    if (c->emb_prev) {
        c->emb_prev->emb_next = c->emb_next;
    } else {
        ct->emb_head = c->emb_next;
    }
    if (c->emb_next) {
        c->emb_next->emb_prev = c->emb_prev;
    } else {
        ct->emb_tail = c->emb_prev;
    }
    c->emb_prev = c->emb_next = NULL;
    STORE(&c->in_emb, 0);
}

/* Takes 'c' off the embryonic list (it has been answered). */
static void
emb_leave(struct conntrack *ct, struct ct_conn *c)
{
    if (LOAD(&c->in_emb)) {
        pthread_mutex_lock(&ct->emb_lock);
        if (c->in_emb) {
            emb_unlink_locked(ct, c);
        }
        pthread_mutex_unlock(&ct->emb_lock);
    }
}

static const char *const tcp_state_names[CT_TCP_N_STATES] = {
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED",
    "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2",
    "TIME_WAIT",
};

const char *
ct_tcp_state_name(uint8_t s)
{
    return s < CT_TCP_N_STATES ? tcp_state_names[s] : "UNKNOWN";
}

static void
conn_label(struct ct_conn *c, uint8_t label[16])
{
    if (__atomic_load_n(&c->label_set, __ATOMIC_ACQUIRE)) {
        spin_lock(&c->lock);
        memcpy(label, c->label, 16);
        spin_unlock(&c->lock);
    } else {
        memset(label, 0, 16);
    }
}

static void
conn_info(struct ct_conn *c, uint64_t now, struct ct_conn_info *info)
{
    uint64_t exp = LOAD(&c->expiration);
    int d;

    memset(info, 0, sizeof *info);
    info->orig = c->node[0].key;
    info->reply = c->node[1].key;
    info->mark = LOAD(&c->mark);
    conn_label(c, info->label);
    info->proto_state = "-";
    if (c->proto == CT_PROTO_TCP) {
        uint8_t a, b;

        spin_lock(&c->lock);
        a = c->peer[0].state;
        b = c->peer[1].state;
        spin_unlock(&c->lock);
        info->tcp_state_orig = a;
        info->tcp_state_reply = b;
        info->proto_state = ct_tcp_state_name(a > b ? a : b);
    }
    for (d = 0; d < 2; d++) {
        uint64_t last = LOAD(&c->dir[d].last_ms);

        info->packets[d] = dir_packets(&c->dir[d]);
        info->bytes[d] = dir_bytes(&c->dir[d]);
        if (last > info->last_ms) {
            info->last_ms = last;
        }
    }
    info->created_ms = c->created_ms;
    info->expires_in_ms = (int64_t) (exp - now);
    info->committed = true;
    info->nat_flags = c->nat_flags;
    info->offloaded = (LOAD(&c->offload) & CT_OFF_EVER) != 0;
    info->in_hw = (LOAD(&c->offload) & CT_OFF_HW) != 0;
}

/* Why a connection being removed closed (for its event). */
static enum ct_close_reason
close_reason(struct ct_conn *c)
{
    if (c->proto == CT_PROTO_TCP) {
        uint8_t a, b;

        if (LOAD(&c->rst_seen)) {
            return CT_CLOSE_RST;
        }
        spin_lock(&c->lock);
        a = c->peer[0].state;
        b = c->peer[1].state;
        spin_unlock(&c->lock);
        if (a >= CT_TCPS_CLOSING || b >= CT_TCPS_CLOSING) {
            return CT_CLOSE_FIN;
        }
    }
    return CT_CLOSE_IDLE;
}

static void
conn_free(struct conntrack *ct, struct ct_conn *c)
{
    if (ct->defer_free) {
        ct->defer_free(c, ct->aux);
    } else {
        conntrack_release(ct, c);
    }
}

/* Removes 'c', which the caller has claimed: unlinks it, reports it and
 * frees it through defer_free. */
static void
conn_remove(struct conntrack *ct, struct ct_conn *c,
            enum ct_close_reason why, uint64_t now)
{
    uint32_t h0 = c->node[0].hash, h1 = c->node[1].hash;
    ct_event_fn *cb = ct->event_cb;

    lock_pair(ct, h0, h1);
    chain_unlink(ct, &c->node[0]);
    chain_unlink(ct, &c->node[1]);
    unlock_pair(ct, h0, h1);

    pthread_mutex_lock(&ct->emb_lock);
    if (c->in_emb) {
        emb_unlink_locked(ct, c);
    }
    pthread_mutex_unlock(&ct->emb_lock);

    if ((LOAD(&c->offload) & CT_OFF_HW) && ct->offload_cb) {
        /* Flushed, forced out or re-opened while its rules are in a NIC:
         * they must go too. */
        ct->offload_cb(&c->node[0].key, c->uid, ct->offload_aux);
    }
    SUB(&ct->n_conns, 1);
    SUB(&ct->by_proto[c->proto], 1);
    SUB(&ct->zone_count[c->node[0].key.zone], 1);
    ADD(&ct->removed, 1);
    if (cb) {
        struct ct_conn_info info;

        conn_info(c, now, &info);
        cb(&info, why, ct->event_aux);
    }
    conn_free(ct, c);
}

/* Evicts the oldest unanswered connection; false if there is none. */
static bool
evict_embryonic(struct conntrack *ct, uint64_t now)
{
    struct ct_conn *c;

    pthread_mutex_lock(&ct->emb_lock);
    for (c = ct->emb_head; c; c = c->emb_next) {
        if (conn_claim(c)) {
            emb_unlink_locked(ct, c);
            break;
        }
    }
    pthread_mutex_unlock(&ct->emb_lock);
    if (!c) {
        return false;
    }
    count_drop(ct, CT_DROP_EVICTED_EMBRYONIC);
    conn_remove(ct, c, CT_CLOSE_EVICT, now);
    return true;
}

/* ---------------------------------------------------------------------- */
/* Packet parsing. */

/* What the parser found in one packet. */
struct ct_pctx {
    struct ct_tuple key;        /* The packet's tuple (related: the
                                   reversed tuple of the embedded header) */
    uint32_t hash;
    bool related;               /* ICMP error */
    const uint8_t *l4;          /* Outer L4 header. */
    uint32_t l4_len;            /* Bytes from it to the end of the IP
                                   datagram. */
};

/* One's-complement sum of 'n' bytes (big-endian 16-bit words) added to
 * 'sum' (not folded). */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    uint64_t s = sum;

    while (n >= 2) {
        s += (uint32_t) p[0] << 8 | p[1];
        p += 2;
        n -= 2;
    }
    if (n) {
        s += (uint32_t) p[0] << 8;
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint32_t) s;
}

static bool
csum_ok(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum == 0xffff;
}

/* Pseudo-header sum of the outer IP header at 'l3'. */
static uint32_t
pseudo_sum(const uint8_t *l3, bool v6, uint8_t proto, uint32_t len)
{
    uint32_t s;

    if (v6) {
        s = csum_add(0, l3 + 8, 32);
    } else {
        s = csum_add(0, l3 + 12, 8);
    }
    return s + proto + (len >> 16) + (len & 0xffff);
}

static bool
icmp_is_query(uint8_t type, bool v6)
{
    return icmp_reverse_type(type, v6) != 0xff;
}

/* ICMP error types whose payload is the offending packet's header. */
static bool
icmp_is_error(uint8_t type, bool v6)
{
    if (v6) {
        return type >= 1 && type <= 4;   /* unreach, too big, time, param */
    }
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* Ports or id of an L4 header of 'n' bytes at 'p' for 'proto' into 'key'
 * (an embedded header: IPv4 errors need carry only its first 8 bytes, as
 * OVS wants; in IPv6 a TCP header must be whole).  Returns false if the
 * header is too short or is not something a connection can have. */
static bool
inner_l4(struct ct_tuple *key, const uint8_t *p, size_t n)
{
    if (key->nw_proto == IPPROTO_TCP_ || key->nw_proto == IPPROTO_UDP_
        || key->nw_proto == IPPROTO_SCTP_) {
        size_t need = key->is_ipv6 && key->nw_proto == IPPROTO_TCP_ ? 20 : 8;

        if (n < need) {
            return false;
        }
        key->src_port = rd16(p);
        key->dst_port = rd16(p + 2);
        if (key->nw_proto != IPPROTO_SCTP_
            && (!key->src_port || !key->dst_port)) {
            return false;               /* Port 0 is invalid (OVS). */
        }
    } else if (tuple_is_icmp(key)) {
        if (n < 8 || !icmp_is_query(p[0], key->is_ipv6) || p[1]) {
            return false;
        }
        key->src_port = key->dst_port = rd16(p + 4);
        key->icmp_type = p[0];
    }
    return true;
}

/* Parses the IP header embedded in an ICMP error (at 'p', 'n' bytes) into
 * 'key' and reverses it.  'outer_dst' must be the embedded source. */
static int
parse_embedded(struct ct_tuple *key, const uint8_t *p, size_t n, bool v6,
               const uint8_t *outer_dst)
{
    if (!v6) {
        size_t ihl;

        if (n < 20 || (p[0] >> 4) != 4) {
            return CT_DROP_MALFORMED;
        }
        ihl = (size_t) (p[0] & 0x0f) * 4;
        if (ihl < 20 || ihl > n) {
            return CT_DROP_MALFORMED;
        }
        if (get_be16(p + 6) & 0x3fff) {
            return CT_DROP_MALFORMED;       /* A fragment's header. */
        }
        if (memcmp(p + 12, outer_dst, 4)) {
            return CT_DROP_ICMP_UNRELATED;
        }
        memcpy(key->src, p + 12, 4);
        memcpy(key->dst, p + 16, 4);
        key->nw_proto = p[9];
        p += ihl;
        n -= ihl;
    } else {
        size_t off = 40;
        uint8_t nh;

        if (n < 40 || (p[0] >> 4) != 6) {
            return CT_DROP_MALFORMED;
        }
        if (memcmp(p + 8, outer_dst, 16)) {
            return CT_DROP_ICMP_UNRELATED;
        }
        memcpy(key->src, p + 8, 16);
        memcpy(key->dst, p + 24, 16);
        key->is_ipv6 = 1;
        nh = p[6];
        for (;;) {
            size_t len;

            if (nh == 0 || nh == 43 || nh == 60) {
                if (n - off < 8) {
                    return CT_DROP_MALFORMED;
                }
                len = ((size_t) p[off + 1] + 1) * 8;
            } else if (nh == 51) {
                if (n - off < 8) {
                    return CT_DROP_MALFORMED;
                }
                len = ((size_t) p[off + 1] + 2) * 4;
            } else if (nh == 44) {
                return CT_DROP_MALFORMED;   /* A fragment's header. */
            } else {
                break;
            }
            if (len > n - off) {
                return CT_DROP_MALFORMED;
            }
            nh = p[off];
            off += len;
        }
        key->nw_proto = nh;
        p += off;
        n -= off;
    }
    if (!inner_l4(key, p, n)) {
        return CT_DROP_MALFORMED;
    }
    ct_tuple_reverse(key, key);
    return -1;
}

/* Parses 'pkt' into 'c'.  Returns -1, or the drop reason that makes the
 * packet +inv. */
static int
ct_parse(const struct conntrack *ct, const struct ct_pkt *pkt,
         uint16_t zone, struct ct_pctx *c)
{
    const struct flow *flow = pkt->flow;
    bool check = LOAD(&ct->check_csum);
    const uint8_t *l3, *l4;
    uint32_t l4_len, end;
    struct ct_hash_in hin;      /* The tuple in registers, for the hash. */
    bool v6;
    uint8_t proto;

    memset(c, 0, sizeof *c);
    memset(&hin, 0, sizeof hin);
    c->key.zone = zone;
    if (flow->dl_type == to_be16(ETH_TYPE_IP)) {
        v6 = false;
    } else if (flow->dl_type == to_be16(ETH_TYPE_IPV6)) {
        v6 = true;
    } else {
        return CT_DROP_UNSUPPORTED;
    }
    if (flow->nw_frag) {
        return CT_DROP_FRAGMENT;
    }
    if (pkt->layers.l3 == FLOW_OFS_NONE || pkt->layers.l4 == FLOW_OFS_NONE
        || pkt->layers.l3 >= pkt->len || pkt->layers.l4 > pkt->len) {
        return CT_DROP_MALFORMED;
    }
    l3 = pkt->data + pkt->layers.l3;
    if (!v6) {
        size_t ihl, tot;

        if (pkt->len - pkt->layers.l3 < 20 || (l3[0] >> 4) != 4) {
            return CT_DROP_MALFORMED;
        }
        ihl = (size_t) (l3[0] & 0x0f) * 4;
        tot = get_be16(l3 + 2);
        if (ihl < 20 || tot < ihl || tot > pkt->len - pkt->layers.l3
            || pkt->layers.l4 != pkt->layers.l3 + ihl) {
            return CT_DROP_MALFORMED;
        }
        if (check && !csum_ok(csum_add(0, l3, ihl))) {
            return CT_DROP_BAD_CSUM;
        }
        memcpy(c->key.src, l3 + 12, 4);
        memcpy(c->key.dst, l3 + 16, 4);
        memcpy(&hin.s0, l3 + 12, 4);
        memcpy(&hin.d0, l3 + 16, 4);
        proto = l3[9];
        end = pkt->layers.l3 + (uint32_t) tot;
    } else {
        if (pkt->len - pkt->layers.l3 < 40 || (l3[0] >> 4) != 6) {
            return CT_DROP_MALFORMED;
        }
        end = pkt->layers.l3 + 40 + (uint32_t) get_be16(l3 + 4);
        if (end > pkt->len || pkt->layers.l4 < pkt->layers.l3 + 40) {
            return CT_DROP_MALFORMED;
        }
        memcpy(c->key.src, l3 + 8, 16);
        memcpy(c->key.dst, l3 + 24, 16);
        memcpy(&hin.s0, l3 + 8, 8);
        memcpy(&hin.s1, l3 + 16, 8);
        memcpy(&hin.d0, l3 + 24, 8);
        memcpy(&hin.d1, l3 + 32, 8);
        c->key.is_ipv6 = 1;
        proto = flow->nw_proto;
    }
    if (pkt->layers.l4 > end) {
        return CT_DROP_MALFORMED;
    }
    l4 = pkt->data + pkt->layers.l4;
    l4_len = end - pkt->layers.l4;
    c->l4 = l4;
    c->l4_len = l4_len;
    c->key.nw_proto = proto;

    if (proto == IPPROTO_TCP_) {
        size_t doff;

        if (l4_len < 20) {
            return CT_DROP_MALFORMED;
        }
        doff = (size_t) (l4[12] >> 4) * 4;
        if (doff < 20 || doff > l4_len) {
            return CT_DROP_MALFORMED;
        }
        if (check && !pkt->l4_csum_unchecked
            && !csum_ok(csum_add(pseudo_sum(l3, v6, proto, l4_len), l4,
                                 l4_len))) {
            return CT_DROP_BAD_CSUM;
        }
        c->key.src_port = rd16(l4);
        c->key.dst_port = rd16(l4 + 2);
        if (!c->key.src_port || !c->key.dst_port) {
            return CT_DROP_MALFORMED;       /* Port 0 is invalid (OVS). */
        }
    } else if (proto == IPPROTO_UDP_) {
        uint32_t ulen;

        if (l4_len < 8) {
            return CT_DROP_MALFORMED;
        }
        ulen = get_be16(l4 + 4);
        if (ulen < 8 || ulen > l4_len) {
            return CT_DROP_MALFORMED;
        }
        if (check && !pkt->l4_csum_unchecked && (v6 || rd16(l4 + 6))
            && !csum_ok(csum_add(pseudo_sum(l3, v6, proto, ulen), l4,
                                 ulen))) {
            return CT_DROP_BAD_CSUM;
        }
        c->key.src_port = rd16(l4);
        c->key.dst_port = rd16(l4 + 2);
        if (!c->key.src_port || !c->key.dst_port) {
            return CT_DROP_MALFORMED;       /* Port 0 is invalid (OVS). */
        }
    } else if (proto == IPPROTO_SCTP_) {
        if (l4_len < 12) {
            return CT_DROP_MALFORMED;
        }
        c->key.src_port = rd16(l4);
        c->key.dst_port = rd16(l4 + 2);
    } else if (proto == (v6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_)) {
        uint8_t type;

        if (l4_len < 8) {
            return CT_DROP_MALFORMED;
        }
        if (check) {
            uint32_t s = v6 ? pseudo_sum(l3, v6, proto, l4_len) : 0;

            if (!csum_ok(csum_add(s, l4, l4_len))) {
                return CT_DROP_BAD_CSUM;
            }
        }
        type = l4[0];
        if (icmp_is_query(type, v6)) {
            if (l4[1]) {
                return CT_DROP_MALFORMED;
            }
            c->key.src_port = c->key.dst_port = rd16(l4 + 4);
            c->key.icmp_type = type;
        } else if (icmp_is_error(type, v6)) {
            struct ct_tuple outer = c->key;
            int r;

            memset(&c->key, 0, sizeof c->key);
            c->key.zone = zone;
            r = parse_embedded(&c->key, l4 + 8, l4_len - 8, v6, outer.dst);
            if (r >= 0) {
                return r;
            }
            c->related = true;
        } else {
            return CT_DROP_UNSUPPORTED;     /* ND, router adverts, ... */
        }
    }
    if (c->related) {
        c->hash = tuple_hash(&c->key, ct->hash_basis);
    } else {
        hin.sport = c->key.src_port;
        hin.dport = c->key.dst_port;
        hin.zone = zone;
        hin.proto = proto;
        hin.v6 = v6;
        hin.itype = c->key.icmp_type;
        c->hash = hash_in_hash(&hin, ct->hash_basis);
    }
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Connections. */

/* May a connection start with this packet?  (OVS valid_new.) */
static bool
valid_new(const struct ct_pctx *c)
{
    if (c->key.nw_proto == IPPROTO_TCP_) {
        return ct_tcp_valid_new(c->l4);
    } else if (tuple_is_icmp(&c->key)) {
        /* Only a request opens: echo, timestamp, information. */
        return icmp_reverse_type(c->key.icmp_type, c->key.is_ipv6)
               != 0xff
               && (c->key.is_ipv6 ? c->key.icmp_type == 128
                                  : (c->key.icmp_type == 8
                                     || c->key.icmp_type == 13
                                     || c->key.icmp_type == 15));
    }
    return true;
}

static uint32_t
tcp_payload(const struct ct_pctx *c)
{
    return c->l4_len - (uint32_t) (c->l4[12] >> 4) * 4;
}

static void
count_packet(struct ct_conn *c, bool reply, uint32_t bytes, uint64_t now)
{
    struct ct_dir_stats *d = &c->dir[reply];
    uint32_t me = ct_thread_id();
    uint32_t owner = LOAD(&d->owner);

    if (owner == me
        || (!owner && __atomic_compare_exchange_n(&d->owner, &owner, me,
                                                  false, __ATOMIC_RELAXED,
                                                  __ATOMIC_RELAXED))) {
        STORE(&d->packets, LOAD(&d->packets) + 1);
        STORE(&d->bytes, LOAD(&d->bytes) + bytes);
    } else {
        ADD(&d->sh_packets, 1);
        ADD(&d->sh_bytes, bytes);
    }
    if (LOAD(&d->last_ms) != now) {
        STORE(&d->last_ms, now);
    }
}

/* Creates the connection for 'c' (not found), subject to the limits.
 * Returns it, or NULL with '*why' set to the drop reason, or to -1 when
 * another thread inserted the same tuple first (look it up again). */
static struct ct_conn *
conn_create(struct conntrack *ct, const struct ct_pctx *c,
            const struct ct_nat *nat, uint64_t now, int *why)
{
    uint64_t i, n_cand = nat ? ct_nat_n_candidates(nat, &c->key) : 1;
    uint16_t zone = c->key.zone;
    uint32_t zlim = LOAD(&ct->zone_limit[zone]);
    struct ct_conn *conn, *other;
    uint64_t n;
    bool reply;
    enum ct_tm tm;

    if (__atomic_fetch_add(&ct->zone_count[zone], 1, __ATOMIC_RELAXED)
        >= zlim && zlim) {
        SUB(&ct->zone_count[zone], 1);
        *why = CT_DROP_ZONE_LIMIT;
        return NULL;
    }
    n = __atomic_fetch_add(&ct->n_conns, 1, __ATOMIC_RELAXED);
    if (n >= LOAD(&ct->max_conns) && !evict_embryonic(ct, now)) {
        SUB(&ct->n_conns, 1);
        SUB(&ct->zone_count[zone], 1);
        *why = CT_DROP_FULL;
        return NULL;
    }
    conn = pool_get(ct);
    if (!conn) {
        SUB(&ct->n_conns, 1);
        SUB(&ct->zone_count[zone], 1);
        *why = CT_DROP_NO_MEMORY;
        return NULL;
    }
    zero_small(conn, sizeof *conn);
    conn->node[0].key = c->key;
    conn->node[0].hash = c->hash;
    conn->node[0].dir = 0;
    conn->node[1].dir = 1;
    if (nat) {
        conn->nat_flags = (nat->flags & CT_NAT_SRC) ? CS_SRC_NAT
                                                    : CS_DST_NAT;
    }
    conn->proto = proto_class(&c->key);
    conn->created_ms = now;
    conn->uid = __atomic_add_fetch(&ct->next_uid, 1, __ATOMIC_RELAXED);
    if (conn->proto == CT_PROTO_TCP) {
        tm = ct_tcp_new(conn->peer, c->l4, tcp_payload(c));
    } else {
        conn->state = CT_OTHER_FIRST;       /* == CT_ICMP_FIRST */
        tm = other_tm(conn->proto, conn->state);
    }
    conn->tm = (uint8_t) tm;
    conn->expiration = now + (uint64_t) LOAD(&ct->tmo[tm]) * 1000;

    for (i = 0; i < n_cand; i++) {
        struct ct_tuple *r = &conn->node[1].key;

        if (nat) {
            /* A translated reply tuple that nobody uses: checked without
             * locks first, then again under them. */
            ct_nat_candidate(nat, &c->key, c->hash, i, r);
            conn->node[1].hash = tuple_hash(r, ct->hash_basis);
            if (ct_lookup(ct, r, conn->node[1].hash, now, false, &reply)) {
                continue;
            }
        } else {
            ct_tuple_reverse(&c->key, r);
            conn->node[1].hash = tuple_hash(r, ct->hash_basis);
        }
        lock_pair(ct, conn->node[0].hash, conn->node[1].hash);
        other = ct_lookup(ct, &c->key, c->hash, now, false, &reply);
        if (other) {
            unlock_pair(ct, conn->node[0].hash, conn->node[1].hash);
            conntrack_release(ct, conn);
            SUB(&ct->n_conns, 1);
            SUB(&ct->zone_count[zone], 1);
            *why = -1;
            return NULL;
        }
        if (nat && ct_lookup(ct, r, conn->node[1].hash, now, false,
                             &reply)) {
            unlock_pair(ct, conn->node[0].hash, conn->node[1].hash);
            continue;
        }
        break;
    }
    if (i == n_cand) {
        conntrack_release(ct, conn);
        SUB(&ct->n_conns, 1);
        SUB(&ct->zone_count[zone], 1);
        *why = CT_DROP_NAT_EXHAUSTED;
        return NULL;
    }
    for (int d = 0; d < 2; d++) {
        struct ct_node **b = bucket_of(ct, conn->node[d].hash);

        conn->node[d].next = *b;
        __atomic_store_n(b, &conn->node[d], __ATOMIC_RELEASE);
    }
    unlock_pair(ct, conn->node[0].hash, conn->node[1].hash);

    /* Unanswered until proven otherwise.  A remover that claimed it in
     * the meantime has set 'dead' before taking emb_lock. */
    pthread_mutex_lock(&ct->emb_lock);
    if (!LOAD(&conn->dead)) {
        conn->emb_prev = ct->emb_tail;
        conn->emb_next = NULL;
        if (ct->emb_tail) {
            ct->emb_tail->emb_next = conn;
        } else {
            ct->emb_head = conn;
        }
        ct->emb_tail = conn;
        STORE(&conn->in_emb, 1);
    }
    pthread_mutex_unlock(&ct->emb_lock);

    ADD(&ct->by_proto[conn->proto], 1);
    ADD(&ct->created, 1);
    return conn;
}

/* Updates 'conn' with a packet of its 'reply' direction (OVS
 * conn_update). */
static enum ct_update
conn_update(struct conntrack *ct, struct ct_conn *conn,
            const struct ct_pctx *c, bool reply, uint64_t now)
{
    enum ct_update res;

    if (conn->proto == CT_PROTO_TCP) {
        bool answered = false, rst;
        int tm;

        spin_lock(&conn->lock);
        res = ct_tcp_update(conn->peer, reply, c->l4, tcp_payload(c),
                            LOAD(&conn->offload) & CT_OFF_LIBERAL, &tm,
                            &rst);
        if (tm >= 0) {
            conn_refresh(ct, conn, (enum ct_tm) tm, now);
        }
        if (rst) {
            STORE(&conn->rst_seen, 1);
        }
        if (res == CT_UPD_VALID && LOAD(&conn->in_emb)
            && conn->peer[0].state >= CT_TCPS_ESTABLISHED
            && conn->peer[1].state >= CT_TCPS_ESTABLISHED) {
            answered = true;
        }
        spin_unlock(&conn->lock);
        if (answered) {
            emb_leave(ct, conn);
        }
        return res;
    }

    /* UDP, ICMP, other: OVS other_conn_update / icmp_conn_update.  The
     * answered state never changes again, so established traffic takes no
     * lock. */
    res = CT_UPD_VALID;
    if (conn->proto == CT_PROTO_ICMP) {
        if (LOAD(&conn->state) == CT_ICMP_FIRST) {
            spin_lock(&conn->lock);
            if (conn->state == CT_ICMP_FIRST) {
                if (reply) {
                    STORE(&conn->state, CT_ICMP_REPLY);
                } else {
                    res = CT_UPD_VALID_NEW;
                }
            }
            spin_unlock(&conn->lock);
        }
    } else {
        /* Open vSwitch 3.1 keeps an unanswered flow +new on every packet
         * (test_ct_diff.py: udp_one_way, other_proto_one_way): only a
         * reply makes it +est.  The lock is taken only to change state. */
        uint8_t st = LOAD(&conn->state);

        if (reply ? st != CT_OTHER_BIDIR : st == CT_OTHER_FIRST) {
            spin_lock(&conn->lock);
            if (reply && conn->state != CT_OTHER_BIDIR) {
                STORE(&conn->state, CT_OTHER_BIDIR);
            } else if (!reply && conn->state == CT_OTHER_FIRST) {
                STORE(&conn->state, CT_OTHER_MULTIPLE);
            }
            st = conn->state;
            spin_unlock(&conn->lock);
        }
        if (!reply && st != CT_OTHER_BIDIR) {
            res = CT_UPD_VALID_NEW;
        }
    }
    conn_refresh(ct, conn, other_tm(conn->proto, LOAD(&conn->state)), now);
    if (reply && LOAD(&conn->in_emb)) {
        emb_leave(ct, conn);
    }
    return res;
}

static void
write_md(struct ct_md *md, uint8_t state, uint16_t zone, struct ct_conn *c,
         const struct ct_tuple *key)
{
    md->state = state;
    md->zone = zone;
    md->hw_teardown = 0;
    if (c) {
        md->mark = LOAD(&c->mark);
        conn_label(c, md->label);
        md->orig = c->node[0].key;
        md->has_orig = true;
        md->conn = (state & CS_INVALID) ? NULL : c;
    } else {
        md->mark = 0;
        memset(md->label, 0, sizeof md->label);
        if (key) {
            md->orig = *key;
        } else {
            memset(&md->orig, 0, sizeof md->orig);
        }
        md->has_orig = key != NULL;
        md->conn = NULL;
    }
}

/* Returns true if the mark or label changed. */
static bool
apply_mark_label(struct ct_conn *c, const struct ct_exec *e,
                 struct ct_md *md)
{
    bool changed = false;

    if (!(e->flags & (CT_F_SET_MARK | CT_F_SET_LABEL))) {
        return false;
    }
    spin_lock(&c->lock);
    if (e->flags & CT_F_SET_MARK) {
        uint32_t old = LOAD(&c->mark);
        uint32_t m = (old & ~e->mark_mask) | (e->mark & e->mark_mask);

        STORE(&c->mark, m);
        md->mark = m;
        changed = m != old;
    }
    if (e->flags & CT_F_SET_LABEL) {
        for (int i = 0; i < 16; i++) {
            uint8_t v = (uint8_t) ((c->label[i] & ~e->label_mask[i])
                                   | (e->label[i] & e->label_mask[i]));

            changed |= v != c->label[i];
            c->label[i] = v;
        }
        memcpy(md->label, c->label, 16);
        __atomic_store_n(&c->label_set, 1, __ATOMIC_RELEASE);
    }
    spin_unlock(&c->lock);
    return changed;
}

/* Rewrites a packet of 'c' in direction 'reply' (or, 'related', an ICMP
 * error about one of the other direction) as the connection's NAT says.
 * Returns the CS_*_NAT bits the packet gets: an original packet of a SNAT
 * connection has its source translated, its reply its destination. */
static uint8_t
conn_nat(struct ct_conn *c, struct ct_pkt *pkt, bool reply, bool related)
{
    struct ct_tuple from, to;
    int d = reply ? 1 : 0;
    uint8_t bits;

    if (!c->nat_flags) {
        return 0;
    }
    /* Originals of SNAT and replies of DNAT have their source
     * translated, the others their destination. */
    bits = !reply ? c->nat_flags
           : c->nat_flags == CS_SRC_NAT ? CS_DST_NAT : CS_SRC_NAT;
    if (!related) {
        from = c->node[d].key;
        ct_tuple_reverse(&c->node[1 - d].key, &to);
    } else {
        ct_tuple_reverse(&c->node[d].key, &from);
        to = c->node[1 - d].key;
    }
    if (ct_nat_rewrite(pkt->data, pkt->len, &pkt->layers, from.is_ipv6,
                       &from, &to, related, bits == CS_DST_NAT)) {
        return 0;
    }
    return bits;
}

/* The NAT request of 'e' for a new connection of 'c', or NULL. */
static const struct ct_nat *
new_nat(const struct ct_exec *e, const struct ct_pctx *c)
{
    const struct ct_nat *nat = &e->nat;

    if (!(nat->flags & (CT_NAT_SRC | CT_NAT_DST))
        || (nat->flags & CT_NAT_REVERSE)
        || nat->is_ipv6 != c->key.is_ipv6) {
        return NULL;
    }
    return nat;
}

/* The full path for one packet (OVS process_one). */
/* Flags a packet of an offloaded connection whose rules the NIC must give
 * up (md->hw_teardown, for the datapath to pass on): a TCP FIN or RST,
 * so that software follows the close, or a ct() that changes the mark or
 * label the rules were built on.  'pc' NULL: the packet was not parsed
 * here (only the mark and label are checked). */
static void
check_teardown(struct ct_conn *c, const struct ct_pctx *pc, bool changed,
               struct ct_md *md)
{
    uint8_t off = LOAD(&c->offload);

    if (!(off & CT_OFF_HW) || (md->state & CS_INVALID)) {
        return;
    }
    if ((pc && c->proto == CT_PROTO_TCP && !pc->related
         && (pc->l4[13] & (CT_TCP_FIN | CT_TCP_RST))) || changed) {
        /* Once per offload: the bit stays until the rules are out
         * (conntrack_session_set_hw()), and a lost notice is found by
         * the manager's audit (conntrack_session_state()). */
        if (!(__atomic_fetch_or(&c->offload, CT_OFF_TEARDOWN,
                                __ATOMIC_RELAXED) & CT_OFF_TEARDOWN)) {
            md->hw_teardown = 1;
        }
    }
}

static void
process_one(struct conntrack *ct, struct ct_pkt *pkt,
            const struct ct_exec *e, uint64_t now, const struct ct_pctx *pc,
            int why)
{
    struct ct_md *md = pkt->md;
    /* NAT applies once per zone ([OVS] handle_nat). */
    bool natted = md->zone == e->zone
                  && (md->state & (CS_SRC_NAT | CS_DST_NAT));
    struct ct_conn *conn;
    struct ct_pctx c = *pc;
    uint8_t state;
    bool reply = false;
    int tries = 0;

    if (why >= 0) {
        count_drop(ct, why);
        write_md(md, CS_TRACKED | CS_INVALID, e->zone, NULL, NULL);
        return;
    }

again:
    conn = ct_lookup(ct, &c.key, c.hash, now, false, &reply);
    if (conn && (e->flags & CT_F_FORCE) && reply) {
        /* force: a connection of the other direction is ended and this
         * packet commits a new one. */
        if (conn_claim(conn)) {
            conn_remove(ct, conn, close_reason(conn), now);
        }
        conn = NULL;
    }
    if (conn) {
        if (c.related) {
            state = CS_TRACKED | CS_RELATED | (reply ? CS_REPLY_DIR : 0);
            count_packet(conn, reply, pkt->len, now);
        } else {
            switch (conn_update(ct, conn, &c, reply, now)) {
            case CT_UPD_VALID:
                state = CS_TRACKED | CS_ESTABLISHED
                        | (reply ? CS_REPLY_DIR : 0);
                count_packet(conn, reply, pkt->len, now);
                break;
            case CT_UPD_VALID_NEW:
                state = CS_TRACKED | CS_NEW;
                count_packet(conn, reply, pkt->len, now);
                break;
            case CT_UPD_NEW:
                /* A SYN re-opens a closed connection: the old one goes
                 * (closed by FINs or a reset: both ends were at least
                 * FIN_WAIT_2 before ct_tcp_update() reset them). */
                if (conn_claim(conn)) {
                    conn_remove(ct, conn, LOAD(&conn->rst_seen)
                                          ? CT_CLOSE_RST : CT_CLOSE_FIN,
                                now);
                }
                conn = NULL;
                goto create;
            case CT_UPD_INVALID:
            default:
                state = CS_TRACKED | CS_INVALID;
                count_drop(ct, CT_DROP_INVALID);
                break;
            }
        }
        if (!(state & CS_INVALID) && e->nat.flags && !natted) {
            state |= conn_nat(conn, pkt, reply, c.related);
        }
        write_md(md, state, e->zone, conn, &c.key);
        check_teardown(conn, &c, !(state & CS_INVALID)
                                 && apply_mark_label(conn, e, md), md);
        return;
    }
    if (c.related) {
        /* An error about nothing we know. */
        count_drop(ct, CT_DROP_ICMP_UNRELATED);
        write_md(md, CS_TRACKED | CS_INVALID, e->zone, NULL, &c.key);
        return;
    }

create:
    if (!valid_new(&c)) {
        count_drop(ct, CT_DROP_INVALID_NEW);
        write_md(md, CS_TRACKED | CS_INVALID, e->zone, NULL, &c.key);
        return;
    }
    state = CS_TRACKED | CS_NEW;
    if (e->flags & CT_F_COMMIT) {
        conn = conn_create(ct, &c, new_nat(e, &c), now, &why);
        if (!conn) {
            if (why < 0 && ++tries < 3) {
                goto again;         /* Lost an insertion race. */
            }
            if (why >= 0) {
                count_drop(ct, why);
            }
        } else {
            count_packet(conn, false, pkt->len, now);
            state |= conn_nat(conn, pkt, false, false);
        }
    }
    write_md(md, state, e->zone, conn, &c.key);
    if (conn) {
        apply_mark_label(conn, e, md);
    }
}

/* True if 'pkt' keeps the verdict of an earlier ct() in this zone ([OVS]
 * process_one_fast): no lookup. */
static bool
fast_path(const struct ct_pkt *pkt, const struct ct_exec *e)
{
    const struct ct_md *md = pkt->md;
    struct ct_conn *c = md->conn;

    return c && (md->state & CS_TRACKED) && md->zone == e->zone
           && !(e->flags & CT_F_FORCE) && !LOAD(&c->dead);
}

/* The rest of fast_path()'s case: keep the verdict, apply NAT (once),
 * mark and label. */
static void
exec_fast(struct ct_pkt *pkt, const struct ct_exec *e)
{
    struct ct_md *md = pkt->md;
    struct ct_conn *c = md->conn;

    if (e->nat.flags && c->nat_flags
        && !(md->state & (CS_SRC_NAT | CS_DST_NAT))) {
        md->state |= conn_nat(c, pkt, md->state & CS_REPLY_DIR,
                              md->state & CS_RELATED);
    }
    check_teardown(c, NULL, apply_mark_label(c, e, md), md);
}

#ifndef CT_PREFETCH_AHEAD
#define CT_PREFETCH_AHEAD 4
#endif

static inline void
conn_prefetch(const struct conntrack *ct, const struct ct_pctx *pc, int why)
{
    if (why < 0 && why != INT_MIN) {
        const struct ct_node *nd = __atomic_load_n(bucket_of(ct, pc->hash),
                                                   __ATOMIC_RELAXED);

        if (nd && nd->hash == pc->hash) {
            struct ct_conn *c = node_conn(nd);

            __builtin_prefetch(&c->lock);
            __builtin_prefetch(&c->dir[nd->dir]);
        }
    }
}

/* Packets a batch parses, then prefetches for, before any lookup: each
 * lookup's first loads (a bucket head in a table of millions, then the
 * connection) are cache misses that would otherwise come one after the
 * other. */
#define CT_EXEC_BATCH 32

void
conntrack_execute(struct conntrack *ct, struct ct_pkt *pkts, size_t n,
                  const struct ct_exec *e, uint64_t now)
{
    struct ct_pctx pc[CT_EXEC_BATCH];
    int why[CT_EXEC_BATCH];
    size_t i, base, k;

    for (base = 0; base < n; base += k) {
        k = n - base < CT_EXEC_BATCH ? n - base : CT_EXEC_BATCH;
        /* 1: parse and hash; prefetch the buckets. */
        for (i = 0; i < k; i++) {
            struct ct_pkt *pkt = &pkts[base + i];

            if (fast_path(pkt, e)) {
                why[i] = INT_MIN;
                continue;
            }
            why[i] = ct_parse(ct, pkt, e->zone, &pc[i]);
            if (why[i] < 0) {
                __builtin_prefetch(bucket_of(ct, pc[i].hash));
            }
        }
        /* 2: prefetch the first entry of each chain (and so its
         * connection's read-mostly line). */
        for (i = 0; i < k; i++) {
            if (why[i] < 0 && why[i] != INT_MIN) {
                const struct ct_node *nd = __atomic_load_n(
                    bucket_of(ct, pc[i].hash), __ATOMIC_RELAXED);

                if (nd) {
                    /* The node and, with it, the line of the fields a
                     * lookup reads after it (proto to mark): line 0 and
                     * line 1 of the connection for either direction's
                     * node (see struct ct_conn). */
                    __builtin_prefetch(nd);
                    __builtin_prefetch((const char *) nd + CACHE_LINE);
                }
            }
        }
        /* 3: each packet in order; a few packets ahead, where the first
         * entry of the chain is that packet's (the common case), the lines
         * of its connection the lookup writes (expiry, the direction's
         * counters) are prefetched. */
        for (i = 0; i < k; i++) {
            if (i + CT_PREFETCH_AHEAD < k) {
                conn_prefetch(ct, &pc[i + CT_PREFETCH_AHEAD],
                              why[i + CT_PREFETCH_AHEAD]);
            }
            if (why[i] != INT_MIN) {
                process_one(ct, &pkts[base + i], e, now, &pc[i], why[i]);
            } else {
                exec_fast(&pkts[base + i], e);
            }
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Main thread: sweep, flush, dump, stats. */

/* Removes from bucket 'b' the connections (original entries) for which
 * 'match' is true, one at a time (each removal may free the node the
 * walk stands on).  Returns the nodes examined; adds removals to '*n'. */
static size_t
bucket_remove_if(struct conntrack *ct, size_t b,
                 bool (*match)(struct ct_conn *, const void *, uint64_t),
                 const void *arg, uint64_t now, int why, size_t *n)
{
    size_t examined = 0;
    bool again;

    do {
        struct ct_node *node;

        again = false;
        for (node = __atomic_load_n(&ct->buckets[b], __ATOMIC_ACQUIRE);
             node; node = __atomic_load_n(&node->next, __ATOMIC_ACQUIRE)) {
            struct ct_conn *c = node_conn(node);

            examined++;
            if (node->dir == 0 && !LOAD(&c->dead) && match(c, arg, now)
                && conn_claim(c)) {
                conn_remove(ct, c, why < 0 ? close_reason(c)
                                           : (enum ct_close_reason) why,
                            now);
                (*n)++;
                again = true;
                break;
            }
        }
    } while (again);
    return examined;
}

static bool
match_expired(struct ct_conn *c, const void *arg, uint64_t now)
{
    return conn_expired(c, now);
}

/* Main thread: faults in connections ahead of the PMDs' commits (up to
 * 8 MiB of them per call, so one call stays short: at a call every 10 ms
 * that keeps up with 2 million new connections a second). */
static void
pool_refill(struct conntrack *ct)
{
    size_t slab_bytes = ct->slab_conns * sizeof(struct ct_conn);

    for (size_t done = 0; done < (8u << 20); done += slab_bytes) {
        size_t n_free = __atomic_load_n(&ct->pool_n_free, __ATOMIC_RELAXED);
        size_t used = (size_t) LOAD(&ct->n_conns) + n_free;
        size_t max = LOAD(&ct->max_conns);

        /* Not beyond what the limit lets the PMDs commit. */
        if (n_free >= CT_POOL_SPARE || used + ct->slab_conns > max
            || !pool_grow(ct, true)) {
            return;
        }
    }
}

size_t
conntrack_sweep(struct conntrack *ct, uint64_t now, size_t budget)
{
    size_t examined = 0, removed = 0;

    pool_refill(ct);
    while (examined < budget) {
        if (ct->sweep_pos >= ct->n_buckets) {
            /* End of a pass: report less than 'budget'. */
            ct->sweep_pos = 0;
            return budget ? (examined < budget ? examined : budget - 1) : 0;
        }
        examined += 1 + bucket_remove_if(ct, ct->sweep_pos, match_expired,
                                         NULL, now, -1, &removed);
        ct->sweep_pos++;
    }
    return budget;
}

static bool
match_zone(struct ct_conn *c, const void *arg, uint64_t now)
{
    const uint16_t *zone = arg;

    return !zone || c->node[0].key.zone == *zone;
}

/* ---------------------------------------------------------------------- */
/* Session offload. */

bool
conntrack_session_claim(struct ct_conn *c, const struct ct_md *md,
                        uint64_t min_packets)
{
    bool reply = (md->state & CS_REPLY_DIR) != 0;
    uint8_t bit = reply ? CT_OFF_CLAIMED1 : CT_OFF_CLAIMED0;
    struct ct_dir_stats *d = &c->dir[reply];
    uint8_t off = LOAD(&c->offload);
    uint64_t packets;

    if ((md->state & (CS_ESTABLISHED | CS_NEW | CS_RELATED | CS_INVALID))
        != CS_ESTABLISHED || (off & bit)
        || (c->proto != CT_PROTO_TCP && c->proto != CT_PROTO_UDP)
        || c->node[0].key.nw_proto == 132 /* SCTP: its own states */) {
        return false;
    }
    packets = dir_packets(d);
    if (packets < min_packets || packets < LOAD(&c->claim_at[reply])) {
        return false;
    }
    if (c->proto == CT_PROTO_TCP
        && (LOAD(&c->peer[0].state) != CT_TCPS_ESTABLISHED
            || LOAD(&c->peer[1].state) != CT_TCPS_ESTABLISHED)) {
        return false;           /* Opening or closing: stays in software. */
    }
    return !(__atomic_fetch_or(&c->offload, bit, __ATOMIC_RELAXED) & bit);
}

void
conntrack_session_unclaim(struct ct_conn *c, bool reply, uint64_t backoff)
{
    struct ct_dir_stats *d = &c->dir[reply];

    STORE(&c->claim_at[reply], dir_packets(d) + backoff);
    __atomic_fetch_and(&c->offload,
                       (uint8_t) ~(reply ? CT_OFF_CLAIMED1 : CT_OFF_CLAIMED0),
                       __ATOMIC_RELAXED);
}

uintptr_t
conntrack_dir_hint(const struct ct_conn *c, bool reply)
{
    return LOAD(&c->dir[reply].hint);
}

void
conntrack_dir_hint_set(struct ct_conn *c, bool reply, uintptr_t hint)
{
    struct ct_dir_stats *d = &c->dir[reply];

    if (LOAD(&d->hint) != hint) {
        STORE(&d->hint, hint);
    }
}

void
conntrack_conn_orig(const struct ct_conn *c, struct ct_tuple *orig)
{
    *orig = c->node[0].key;
}

/* The live connection whose original tuple is 'orig' and whose uid is
 * 'uid' (main thread). */
static struct ct_conn *
session_find(const struct conntrack *ct, const struct ct_tuple *orig,
             uint64_t uid)
{
    struct ct_conn *c;
    bool reply;

    c = ct_lookup(ct, orig, tuple_hash(orig, ct->hash_basis), 0, true,
                  &reply);
    return c && !reply && c->uid == uid && !LOAD(&c->dead) ? c : NULL;
}

uint64_t
conntrack_conn_uid(const struct ct_conn *c)
{
    return c->uid;
}

int
conntrack_session_state(const struct conntrack *ct,
                        const struct ct_tuple *orig, uint64_t uid)
{
    struct ct_conn *c = session_find(ct, orig, uid);

    if (!c) {
        return ENOENT;
    }
    return LOAD(&c->offload) & CT_OFF_TEARDOWN ? ECANCELED : 0;
}

int
conntrack_session_timeout(const struct conntrack *ct,
                          const struct ct_tuple *orig, uint64_t uid,
                          uint64_t *timeout_ms)
{
    struct ct_conn *c = session_find(ct, orig, uid);

    if (!c) {
        return ENOENT;
    }
    *timeout_ms = (uint64_t) LOAD(&ct->tmo[LOAD(&c->tm)]) * 1000;
    return 0;
}

int
conntrack_session_set_hw(struct conntrack *ct, const struct ct_tuple *orig,
                         uint64_t uid, enum ct_session_hw hw,
                         uint64_t backoff, uint64_t now)
{
    struct ct_conn *c = session_find(ct, orig, uid);
    uint8_t clear;

    if (!c) {
        return ENOENT;
    }
    if (hw == CT_SESSION_HW) {
        __atomic_fetch_or(&c->offload, CT_OFF_HW | CT_OFF_LIBERAL
                          | CT_OFF_EVER, __ATOMIC_RELAXED);
        return 0;
    }
    /* Back in software: its expiry runs from now (the NIC kept it alive
     * until here), and either direction may be offered again once it
     * carried 'backoff' more packets in software.  Never in hardware:
     * software saw every packet, so its windows are whole again. */
    for (int d = 0; d < 2; d++) {
        STORE(&c->claim_at[d], dir_packets(&c->dir[d]) + backoff);
    }
    conn_refresh(ct, c, (enum ct_tm) LOAD(&c->tm), now);
    clear = CT_OFF_HW | CT_OFF_TEARDOWN | CT_OFF_CLAIMED0 | CT_OFF_CLAIMED1;
    if (hw == CT_SESSION_NEVER) {
        clear |= CT_OFF_LIBERAL | CT_OFF_EVER;
    }
    __atomic_fetch_and(&c->offload, (uint8_t) ~clear, __ATOMIC_RELAXED);
    return 0;
}

int
conntrack_session_unclaim_dir(struct conntrack *ct,
                              const struct ct_tuple *orig, uint64_t uid,
                              bool reply, uint64_t backoff)
{
    struct ct_conn *c = session_find(ct, orig, uid);

    if (!c) {
        return ENOENT;
    }
    conntrack_session_unclaim(c, reply, backoff);
    return 0;
}

int
conntrack_session_credit(struct conntrack *ct, const struct ct_tuple *orig,
                         uint64_t uid, bool reply, uint64_t packets,
                         uint64_t bytes, uint64_t used_ms)
{
    struct ct_conn *c = session_find(ct, orig, uid);
    struct ct_dir_stats *d;

    if (!c) {
        return ENOENT;
    }
    if (!packets) {
        return 0;
    }
    d = &c->dir[reply];
    ADD(&d->sh_packets, packets);
    ADD(&d->sh_bytes, bytes);
    if (used_ms > LOAD(&d->last_ms)) {
        STORE(&d->last_ms, used_ms);
    }
    conn_refresh(ct, c, (enum ct_tm) LOAD(&c->tm), used_ms);
    return 0;
}

int
conntrack_session_close_idle(struct conntrack *ct,
                             const struct ct_tuple *orig, uint64_t uid,
                             uint64_t hw_last_ms, uint64_t now)
{
    struct ct_conn *c = session_find(ct, orig, uid);

    if (!c) {
        return ENOENT;
    }
    if (LOAD(&c->dir[0].last_ms) > hw_last_ms
        || LOAD(&c->dir[1].last_ms) > hw_last_ms) {
        return EBUSY;
    }
    if (conn_claim(c)) {
        /* The caller has its rules out of the NIC already. */
        __atomic_fetch_and(&c->offload, (uint8_t) ~CT_OFF_HW,
                           __ATOMIC_RELAXED);
        conn_remove(ct, c, CT_CLOSE_IDLE, now);
    }
    return 0;
}

size_t
conntrack_flush(struct conntrack *ct, const uint16_t *zone,
                const struct ct_tuple *tuple, uint64_t now)
{
    size_t n = 0, b;

    if (tuple) {
        struct ct_tuple key = *tuple;
        struct ct_conn *c;
        bool reply;

        if (zone) {
            key.zone = *zone;
        }
        c = ct_lookup(ct, &key, tuple_hash(&key, ct->hash_basis), now, true,
                      &reply);
        if (c && conn_claim(c)) {
            conn_remove(ct, c, CT_CLOSE_FLUSH, now);
            n++;
        }
        return n;
    }
    for (b = 0; b < ct->n_buckets; b++) {
        if (__atomic_load_n(&ct->buckets[b], __ATOMIC_RELAXED)) {
            bucket_remove_if(ct, b, match_zone, zone, now, CT_CLOSE_FLUSH,
                             &n);
        }
    }
    return n;
}

void
conntrack_dump(struct conntrack *ct, const uint16_t *zone, uint64_t now,
               void (*cb)(const struct ct_conn_info *, void *), void *aux)
{
    size_t b;

    for (b = 0; b < ct->n_buckets; b++) {
        struct ct_node *n;

        for (n = __atomic_load_n(&ct->buckets[b], __ATOMIC_ACQUIRE); n;
             n = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)) {
            struct ct_conn *c = node_conn(n);
            struct ct_conn_info info;

            if (n->dir || LOAD(&c->dead) || conn_expired(c, now)
                || (zone && n->key.zone != *zone)) {
                continue;
            }
            conn_info(c, now, &info);
            cb(&info, aux);
        }
    }
}

void
conntrack_get_counters(const struct conntrack *ct_, struct ct_stats *s)
{
    struct conntrack *ct = (struct conntrack *) ct_;

    memset(s, 0, sizeof *s);
    s->n_conns = LOAD(&ct->n_conns);
    for (size_t i = 0; i < CT_N_PROTOS; i++) {
        s->by_proto[i] = LOAD(&ct->by_proto[i]);
    }
    s->created = LOAD(&ct->created);
    s->removed = LOAD(&ct->removed);
    for (size_t i = 0; i < CT_N_DROP_REASONS; i++) {
        s->drops[i] = LOAD(&ct->drops[i]);
    }
}

void
conntrack_get_stats(const struct conntrack *ct_, struct ct_stats *s)
{
    struct conntrack *ct = (struct conntrack *) ct_;
    size_t b;

    conntrack_get_counters(ct, s);
    for (b = 0; b < ct->n_buckets; b++) {
        struct ct_node *n;

        for (n = __atomic_load_n(&ct->buckets[b], __ATOMIC_ACQUIRE); n;
             n = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)) {
            struct ct_conn *c = node_conn(n);
            uint8_t x, y;

            if (n->dir || c->proto != CT_PROTO_TCP || LOAD(&c->dead)) {
                continue;
            }
            spin_lock(&c->lock);
            x = c->peer[0].state;
            y = c->peer[1].state;
            spin_unlock(&c->lock);
            s->tcp_by_state[x > y ? x : y]++;
        }
    }
}

static const char *const drop_names[CT_N_DROP_REASONS] = {
#define CT_DROP(ENUM, NAME) NAME,
    CT_DROP_REASONS
#undef CT_DROP
};

const char *
ct_drop_reason_name(int r)
{
    return r >= 0 && r < CT_N_DROP_REASONS ? drop_names[r] : "unknown";
}

/* ---------------------------------------------------------------------- */
/* Formatting. */

static const char *
proto_name(uint8_t p, char *buf, size_t size)
{
    switch (p) {
    case IPPROTO_TCP_: return "tcp";
    case IPPROTO_UDP_: return "udp";
    case IPPROTO_SCTP_: return "sctp";
    case IPPROTO_ICMP_: return "icmp";
    case IPPROTO_ICMPV6_: return "icmpv6";
    default:
        snprintf(buf, size, "%u", p);
        return buf;
    }
}

static void
format_tuple(struct sbuf *s, const struct ct_tuple *t)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    int af = t->is_ipv6 ? AF_INET6 : AF_INET;

    inet_ntop(af, t->src, a, sizeof a);
    inet_ntop(af, t->dst, b, sizeof b);
    sbuf_printf(s, "src=%s,dst=%s", a, b);
    if (tuple_is_icmp(t)) {
        sbuf_printf(s, ",id=%u,type=%u,code=%u",
                    (unsigned) get_be16((const uint8_t *) &t->src_port),
                    t->icmp_type, t->icmp_code);
    } else if (t->nw_proto == IPPROTO_TCP_ || t->nw_proto == IPPROTO_UDP_
               || t->nw_proto == IPPROTO_SCTP_) {
        sbuf_printf(s, ",sport=%u,dport=%u",
                    (unsigned) get_be16((const uint8_t *) &t->src_port),
                    (unsigned) get_be16((const uint8_t *) &t->dst_port));
    }
}

void
ct_conn_info_format(const struct ct_conn_info *info, char *buf, size_t size)
{
    struct sbuf s;
    char pbuf[8];
    int i;

    sbuf_init(&s, buf, size);
    sbuf_printf(&s, "%s,orig=(", proto_name(info->orig.nw_proto, pbuf,
                                            sizeof pbuf));
    format_tuple(&s, &info->orig);
    sbuf_printf(&s, "),reply=(");
    format_tuple(&s, &info->reply);
    sbuf_printf(&s, ")");
    if (info->orig.zone) {
        sbuf_printf(&s, ",zone=%u", info->orig.zone);
    }
    if (info->mark) {
        sbuf_printf(&s, ",mark=%u", info->mark);
    }
    for (i = 0; i < 16 && !info->label[i]; i++) {
        continue;
    }
    if (i < 16) {
        /* 0x then the 128-bit value without leading zeros. */
        sbuf_printf(&s, ",labels=0x%x", info->label[i]);
        for (i++; i < 16; i++) {
            sbuf_printf(&s, "%02x", info->label[i]);
        }
    }
    if (info->orig.nw_proto == IPPROTO_TCP_) {
        sbuf_printf(&s, ",protoinfo=(state=%s)", info->proto_state);
    }
}

/* ---------------------------------------------------------------------- */
/* Invariants. */

static bool
chain_has(const struct conntrack *ct, const struct ct_node *node)
{
    const struct ct_node *n;

    for (n = ct->buckets[node->hash & (ct->n_buckets - 1)]; n; n = n->next) {
        if (n == node) {
            return true;
        }
    }
    return false;
}

/* The pool's runs and count agree; every connection of the slabs is live
 * ('n_live'), free or in a thread's run, unless some wait in defer_free. */
static int
check_pool(const struct conntrack *ct, uint64_t n_live)
{
    size_t n_free = 0, n_slots = 0, n;
    const struct ct_conn *r, *c;

    for (r = ct->pool_runs; r; r = r->emb_prev) {
        for (n = 0, c = r; c; c = c->emb_next) {
            n++;
        }
        if (n != r->uid || n > CT_RUN) {
            fprintf(stderr, "conntrack: pool run of %zu says %llu\n", n,
                    (unsigned long long) r->uid);
            return EINVAL;
        }
        n_free += n;
    }
    for (n = 0, c = ct->rel_run; c; c = c->emb_next) {
        n++;
    }
    if (n != ct->rel_n || n >= CT_RUN) {
        fprintf(stderr, "conntrack: released run of %zu, rel_n %zu\n", n,
                ct->rel_n);
        return EINVAL;
    }
    n_free += n;
    if (n_free != ct->pool_n_free) {
        fprintf(stderr, "conntrack: %zu free connections, pool_n_free "
                "%zu\n", n_free, ct->pool_n_free);
        return EINVAL;
    }
    for (size_t i = 0; i < CT_POOL_SLOTS; i++) {
        for (c = ct->slot[i].run; c; c = c->emb_next) {
            n_slots++;
        }
    }
    n = n_free + n_slots + (size_t) n_live;
    if (ct->defer_free ? n > ct->n_slabs * ct->slab_conns
                       : n != ct->n_slabs * ct->slab_conns) {
        fprintf(stderr, "conntrack: %zu slabs of %zu connections, %zu "
                "free, %zu in threads' runs, %llu live\n", ct->n_slabs,
                ct->slab_conns, n_free, n_slots,
                (unsigned long long) n_live);
        return EINVAL;
    }
    return 0;
}

int
conntrack_check(const struct conntrack *ct)
{
    uint64_t n0 = 0, n1 = 0, by_proto[CT_N_PROTOS] = { 0 };
    const struct ct_conn *e;
    uint64_t emb = 0;
    size_t b;
    int err = 0;

    for (b = 0; b < ct->n_buckets; b++) {
        const struct ct_node *n;

        for (n = ct->buckets[b]; n; n = n->next) {
            const struct ct_conn *c = node_conn(n);
            struct ct_tuple r;

            if ((n->hash & (ct->n_buckets - 1)) != b
                || n->hash != tuple_hash(&n->key, ct->hash_basis)) {
                fprintf(stderr, "conntrack: node in bucket %zu has a wrong "
                        "hash\n", b);
                err = EINVAL;
            }
            if (c->dead) {
                fprintf(stderr, "conntrack: dead conn in the table\n");
                err = EINVAL;
            }
            if (n->dir) {
                n1++;
                continue;
            }
            n0++;
            by_proto[c->proto]++;
            if (!c->nat_flags && c->node[1].hash != n->hash) {
                fprintf(stderr, "conntrack: directions hash apart\n");
                err = EINVAL;
            }
            ct_tuple_reverse(&n->key, &r);
            if ((!c->nat_flags && !tuple_eq(&r, &c->node[1].key))
                || !chain_has(ct, &c->node[1])) {
                fprintf(stderr, "conntrack: reply entry missing or wrong\n");
                err = EINVAL;
            }
        }
    }
    if (n0 != n1 || n0 != LOAD(&ct->n_conns)) {
        fprintf(stderr, "conntrack: %llu orig, %llu reply entries, "
                "n_conns %llu\n", (unsigned long long) n0,
                (unsigned long long) n1,
                (unsigned long long) LOAD(&ct->n_conns));
        err = EINVAL;
    }
    for (b = 0; b < CT_N_PROTOS; b++) {
        if (by_proto[b] != LOAD(&ct->by_proto[b])) {
            fprintf(stderr, "conntrack: by_proto[%zu] %llu != %llu\n", b,
                    (unsigned long long) by_proto[b],
                    (unsigned long long) LOAD(&ct->by_proto[b]));
            err = EINVAL;
        }
    }
    err = check_pool(ct, n0) ? EINVAL : err;
    for (e = ct->emb_head; e; e = e->emb_next) {
        if (!e->in_emb || (e->emb_next && e->emb_next->emb_prev != e)) {
            fprintf(stderr, "conntrack: embryonic list broken\n");
            err = EINVAL;
            break;
        }
        if (++emb > n0) {
            fprintf(stderr, "conntrack: embryonic list too long\n");
            err = EINVAL;
            break;
        }
    }
    return err;
}
