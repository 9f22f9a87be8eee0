/* SPDX-License-Identifier: BSD-3-Clause */
/* test-dp.c: tests of the datapath core (dp.h) through its public
 * interface: one real PMD thread, dummy ports, a stub slow path and a
 * linear-scan oracle. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "actions.h"
#include "dp.h"
#include "eal-test.h"
#include "flow.h"
#include "pkt-build.h"
#include "port.h"
#include "port-dummy.h"
#include "test-rand.h"

/*
 * The world of one test: a datapath with one PMD thread (not pinned, napping
 * when idle), N_TPORTS dummy ports, and a stub slow path: an ordered list of
 * rules over a few header fields (struct rule), looked up by the upcall
 * callback on struct flow and, independently, by the oracle on the test's
 * own description of each packet (struct tflow).  Every frame carries a
 * sequence number in its last four bytes, so each transmitted copy is
 * traced back to the packet it came from.
 *
 * What is checked for every packet sent (send_flows()): it left on exactly
 * the ports the oracle names (byte for byte, once each) or was dropped under
 * the reason the oracle names; the PMD counted it once; packets of one flow
 * left each port in the order they arrived.  At the end of each test
 * (world_finish()): every reference the stub handed out was released, each
 * rule was credited exactly the packets and bytes the oracle gave it, and
 * no mbuf is missing from the pool.
 */

#define N_MBUFS 8191
#define N_TPORTS 4
#define MAX_RULES 16
#define FRAME_MAX 128
#define DP_BATCH_MAX 32         /* dp-private.h's DP_BATCH. */
#define CHUNK 256               /* Frames injected before waiting. */
#define WAIT_MS 10000           /* Deadline for any wait. */
#define SETTLE_MS 500           /* Nothing more will come after this. */
#define ARRAY_SIZE(A) (sizeof (A) / sizeof (A)[0])

static struct rte_mempool *mp;

/* ---- Packets. ---- */

enum shape {
    SH_IPV4,                    /* Untagged IPv4: the header-key cache. */
    SH_VLAN,                    /* 802.1Q-tagged IPv4: the EMC. */
    SH_IPV6,                    /* Untagged IPv6: the EMC. */
};

/* One flow as the test sees it.  All are UDP from port 1000. */
struct tflow {
    uint8_t in;                 /* Input: test port index. */
    uint8_t shape;              /* enum shape */
    uint16_t vid;               /* SH_VLAN: VLAN ID (1..4095). */
    uint8_t dst;                /* 10.0.1.dst or fc00::dst */
    uint16_t tp_dst;            /* UDP destination port. */
};

static const uint8_t ipv6_dst_base[16] = { 0xfc, [14] = 1 };

static size_t
tflow_build(const struct tflow *f, uint32_t seq, uint8_t *buf, size_t size)
{
    struct pkt_spec s;
    uint8_t payload[16];

    pkt_spec_init(&s, f->shape == SH_IPV6 ? PKT_L3_IPV6 : PKT_L3_IPV4,
                  IPPROTO_UDP_);
    if (f->shape == SH_VLAN) {
        s.n_vlans = 1;
        s.vlans[0].tpid = 0x8100;
        s.vlans[0].tci = f->vid;
    }
    if (f->shape == SH_IPV6) {
        memcpy(s.ipv6.dst, ipv6_dst_base, 16);
        s.ipv6.dst[15] = f->dst;
    } else {
        s.ipv4.dst = 0x0a000100u | f->dst;
    }
    s.l4.dst = f->tp_dst;
    memset(payload, 0xa5, sizeof payload);
    payload[12] = (uint8_t) (seq >> 24);
    payload[13] = (uint8_t) (seq >> 16);
    payload[14] = (uint8_t) (seq >> 8);
    payload[15] = (uint8_t) seq;
    s.payload = payload;
    s.payload_len = sizeof payload;
    return pkt_build(buf, size, &s);
}

static uint32_t
frame_seq(const uint8_t *frame, size_t len)
{
    const uint8_t *p = frame + len - 4;

    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

/* ---- Rules: the stub slow path and the oracle. ---- */

enum rule_kind {
    R_OUT,                      /* Output to out[0..n_out-1]. */
    R_DROP,                     /* Empty action list. */
    R_ERROR,                    /* The upcall fails (EIO). */
};

/* A rule matches a packet if every field it has is equal.  'dst'
 * needs 'ipv6' (it is nw_dst or ipv6_dst).  The first match wins; no match
 * makes the upcall fail (ENOENT). */
struct rule {
    struct {
        bool in, ipv6, vid, dst, tp_dst;
    } has;                      /* Which fields are matched. */
    int in;                     /* Test port index. */
    int ipv6;                   /* 0: IPv4 (tagged or not), 1: IPv6. */
    int vid;                    /* 0: untagged; else the VLAN ID. */
    int dst;
    int tp_dst;
    enum rule_kind kind;
    int n_out;
    int out[2];                 /* Test port indexes. */
    int credit_to;              /* Which w->refs entry it credits, plus
                                 * one (0: its own index): another rule
                                 * object with the same result. */
};

static size_t
rule_ref_index(const struct rule *r, size_t i)
{
    return r->credit_to ? (size_t) r->credit_to - 1 : i;
}

/* Rule initialisers: a field not named matches anything. */
#define IN(V) .has.in = true, .in = (V)
#define IPV6(V) .has.ipv6 = true, .ipv6 = (V)
#define VID(V) .has.vid = true, .vid = (V)
#define DST(V) .has.dst = true, .dst = (V)
#define TP_DST(V) .has.tp_dst = true, .tp_dst = (V)

/* What a rule's megaflows were credited with (the stub's references). */
struct stub_ref {
    atomic_ullong packets;
    atomic_ullong bytes;
    atomic_ullong releases;
};

struct world {
    struct dp *dp;
    struct dp_config cfg;
    uint32_t port_no[N_TPORTS];
    bool removed[N_TPORTS];

    /* The stub slow path.  'rules' change only with the slow-path lock
     * held for writing (world_change()); the upcall reads them with it
     * held for reading. */
    struct rule rules[MAX_RULES];
    size_t n_rules;
    struct stub_ref refs[MAX_RULES];
    atomic_ullong held;         /* References handed out, not released. */
    atomic_ullong upcalls;      /* Of PMDs. */
    atomic_ullong reval_upcalls;
    atomic_ullong stub_errors;  /* Callback misuse (checked at the end). */

    /* The oracle's totals of credited traffic, by rule. */
    uint64_t rule_packets[MAX_RULES];
    uint64_t rule_bytes[MAX_RULES];

    uint32_t next_seq;
};

static void
rule_to_match(const struct world *w, const struct rule *r, struct flow *m,
              struct flow *mask)
{
    memset(m, 0, sizeof *m);
    memset(mask, 0, sizeof *mask);
    if (r->has.in) {
        m->in_port = w->port_no[r->in];
        mask->in_port = UINT32_MAX;
    }
    if (r->has.ipv6) {
        m->dl_type = htons(r->ipv6 ? ETH_TYPE_IPV6 : ETH_TYPE_IP);
        mask->dl_type = UINT16_MAX;
    }
    if (r->has.vid) {
        m->vlan_tci = r->vid ? htons((uint16_t) (FLOW_VLAN_CFI | r->vid))
                             : 0;
        mask->vlan_tci = htons(FLOW_VLAN_CFI | FLOW_VLAN_VID_MASK);
    }
    if (r->has.dst && r->ipv6 == 1) {
        memcpy(m->ipv6_dst, ipv6_dst_base, 16);
        m->ipv6_dst[15] = (uint8_t) r->dst;
        memset(mask->ipv6_dst, 0xff, 16);
    } else if (r->has.dst) {
        m->nw_dst = htonl(0x0a000100u | (uint32_t) r->dst);
        mask->nw_dst = UINT32_MAX;
    }
    if (r->has.tp_dst) {
        m->tp_dst = htons((uint16_t) r->tp_dst);
        mask->tp_dst = UINT16_MAX;
    }
}

/* The upcall: a linear scan of the rules on struct flow.  The wildcards
 * are the union of the masks of every rule looked at, which is exactly
 * what decided the result. */
static int
stub_upcall(struct dp_upcall *up, void *w_)
{
    struct world *w = w_;
    const struct rule *r = NULL;
    struct dp_actions *acts;
    size_t i;

    atomic_fetch_add(up->revalidating ? &w->reval_upcalls : &w->upcalls, 1);
    for (i = 0; i < w->n_rules; i++) {
        struct flow m, mask;
        uint64_t *wc = (uint64_t *) (void *) &up->wc;

        rule_to_match(w, &w->rules[i], &m, &mask);
        for (size_t k = 0; k < FLOW_U64S; k++) {
            wc[k] |= flow_u64(&mask)[k];
        }
        if (flow_equal_masked(up->flow, &m, &mask)) {
            r = &w->rules[i];
            break;
        }
    }
    if (!r) {
        return ENOENT;
    }
    up->refs[0] = &w->refs[rule_ref_index(r, i)];
    up->n_refs = 1;
    /* A scan of one rule set on the flow as given. */
    up->scope = w;
    up->key_lookups = true;
    atomic_fetch_add(&w->held, 1);
    if (r->kind == R_ERROR) {
        return EIO;             /* The datapath releases the reference. */
    }
    acts = dp_actions_alloc(2);
    if (!acts) {
        atomic_fetch_add(&w->stub_errors, 1);
        return ENOMEM;
    }
    if (r->kind == R_OUT) {
        for (int k = 0; k < r->n_out; k++) {
            acts->a[k].type = DPA_OUTPUT;
            acts->a[k].port = w->port_no[r->out[k]];
        }
        acts->n = (size_t) r->n_out;
    }
    up->actions = acts;
    return 0;
}

static struct stub_ref *
stub_ref_of(struct world *w, void *ref)
{
    struct stub_ref *sr = ref;

    if (sr < w->refs || sr >= w->refs + MAX_RULES) {
        atomic_fetch_add(&w->stub_errors, 1);
        return NULL;
    }
    return sr;
}

static void
stub_credit(void *const *refs, size_t n, uint64_t packets, uint64_t bytes,
            long long used_ms, void *w_)
{
    struct world *w = w_;

    if (!used_ms) {
        atomic_fetch_add(&w->stub_errors, 1);  /* Credited but never hit. */
    }
    for (size_t i = 0; i < n; i++) {
        struct stub_ref *sr = stub_ref_of(w, refs[i]);

        if (sr) {
            atomic_fetch_add(&sr->packets, packets);
            atomic_fetch_add(&sr->bytes, bytes);
        }
    }
}

static void
stub_release(void *const *refs, size_t n, void *w_)
{
    struct world *w = w_;

    for (size_t i = 0; i < n; i++) {
        struct stub_ref *sr = stub_ref_of(w, refs[i]);

        if (sr) {
            atomic_fetch_add(&sr->releases, 1);
        }
        if (atomic_fetch_sub(&w->held, 1) == 0) {
            atomic_fetch_add(&w->stub_errors, 1);  /* Released twice. */
        }
    }
}

static const struct dp_callbacks stub_callbacks = {
    .upcall = stub_upcall,
    .credit = stub_credit,
    .release = stub_release,
};

/* What the oracle says becomes of one packet. */
struct expect {
    int rule;                   /* Index of the matching rule, or -1. */
    unsigned ports;             /* Bit per test port it leaves on. */
    int drop;                   /* Whole packet dropped: reason, or -1. */
    int n_gone;                 /* Copies output to removed ports. */
};

static bool
rule_matches(const struct rule *r, const struct tflow *f)
{
    int vid = f->shape == SH_VLAN ? f->vid : 0;

    return (!r->has.in || r->in == f->in)
           && (!r->has.ipv6 || r->ipv6 == (f->shape == SH_IPV6))
           && (!r->has.vid || r->vid == vid)
           && (!r->has.dst || r->dst == f->dst)
           && (!r->has.tp_dst || r->tp_dst == f->tp_dst);
}

/* The oracle: a linear scan of the rules on the test's description of the
 * packet (no parser involved). */
static struct expect
oracle(const struct world *w, const struct tflow *f)
{
    struct expect e = { .rule = -1, .drop = -1 };
    const struct rule *r;

    for (size_t i = 0; i < w->n_rules; i++) {
        if (rule_matches(&w->rules[i], f)) {
            e.rule = (int) i;
            break;
        }
    }
    if (e.rule < 0) {
        e.drop = DP_DROP_UPCALL_ERROR;
        return e;
    }
    r = &w->rules[e.rule];
    if (r->kind == R_ERROR) {
        e.drop = DP_DROP_UPCALL_ERROR;
    } else if (r->kind == R_DROP || !r->n_out) {
        e.drop = DP_DROP_ACTION;
    } else {
        for (int k = 0; k < r->n_out; k++) {
            if (w->removed[r->out[k]]) {
                e.n_gone++;
            } else {
                e.ports |= 1u << r->out[k];
            }
        }
    }
    return e;
}

static bool
expect_equal(const struct expect *a, const struct expect *b)
{
    return a->rule == b->rule && a->ports == b->ports && a->drop == b->drop
           && a->n_gone == b->n_gone;
}

/* ---- The world. ---- */

static void
pmd_stats(const struct world *w, struct dp_pmd_stats *s)
{
    dp_get_pmd_stats(w->dp, 0, s);
}

static struct dp_config
default_config(void)
{
    struct dp_config cfg = {
        .n_pmds = 1,
        .pmd_cores = { -1 },
        .emc_entries = 1024,
        .hkc_entries = 1024,
        .megaflow_idle_ms = 10000,
        .flow_limit = 10000,
        .idle_sleep_us = 100,
    };

    return cfg;
}

/* A datapath with 'cfg' (NULL: default_config()), N_TPORTS dummy ports
 * and 'rules'; polling. */
static struct world *
world_create(const struct dp_config *cfg, const struct rule *rules,
             size_t n_rules)
{
    struct world *w = calloc(1, sizeof *w);
    char err[256] = "";
    int error;

    assert_non_null(w);
    w->cfg = cfg ? *cfg : default_config();
    assert_true(n_rules <= MAX_RULES);
    memcpy(w->rules, rules, n_rules * sizeof *rules);
    w->n_rules = n_rules;
    w->next_seq = 1;            /* traffic_verify(): 0 is "none yet". */

    error = dp_create(&w->cfg, mp, &stub_callbacks, w, &w->dp, err,
                      sizeof err);
    if (error) {
        print_error("dp_create: %s (%s)\n", strerror(error), err);
    }
    assert_int_equal(error, 0);
    for (unsigned i = 0; i < N_TPORTS; i++) {
        struct port_env env = { .mp = mp, .socket_id = SOCKET_ID_ANY,
                                .n_txq = dp_pmd_n_txq(w->dp) };
        struct port *port = NULL;
        char name[16];

        snprintf(name, sizeof name, "p%u", i);
        error = port_open(name, "dummy", NULL, 0, &env, &port, err,
                          sizeof err);
        if (error) {
            print_error("port_open: %s (%s)\n", strerror(error), err);
        }
        assert_int_equal(error, 0);
        assert_int_equal(dp_port_add(w->dp, port, &w->port_no[i]), 0);
    }
    assert_int_equal(dp_start(w->dp), 0);
    return w;
}

/* Changes the rules as a flow-table change does: write lock, change,
 * unlock, revalidate (it takes the read lock), one grace period.  Returns
 * how many megaflows revalidation removed. */
static size_t
world_change(struct world *w, const struct rule *rules, size_t n_rules)
{
    size_t removed;

    assert_true(n_rules <= MAX_RULES);
    dp_slow_wrlock(w->dp);
    memcpy(w->rules, rules, n_rules * sizeof *rules);
    w->n_rules = n_rules;
    dp_slow_wrunlock(w->dp);
    removed = dp_revalidate(w->dp);
    dp_synchronize(w->dp);
    return removed;
}

/* Destroys the datapath and checks the books: every reference released,
 * every rule credited with exactly its traffic, no mbuf lost. */
static void
world_finish(void **state, struct world *w)
{
    dp_destroy(w->dp);
    w->dp = NULL;
    *state = NULL;
    assert_int_equal(atomic_load(&w->stub_errors), 0);
    assert_int_equal(atomic_load(&w->held), 0);
    for (size_t i = 0; i < MAX_RULES; i++) {
        if (atomic_load(&w->refs[i].packets) != w->rule_packets[i]
            || atomic_load(&w->refs[i].bytes) != w->rule_bytes[i]) {
            print_error("rule %zu credited %llu packets %llu bytes, "
                        "expected %llu %llu\n", i,
                        (unsigned long long) w->refs[i].packets,
                        (unsigned long long) w->refs[i].bytes,
                        (unsigned long long) w->rule_packets[i],
                        (unsigned long long) w->rule_bytes[i]);
            fail();
        }
    }
    assert_int_equal(rte_mempool_avail_count(mp), N_MBUFS);
    free(w);
}

/* cmocka teardown: a test that failed leaves its world in *state. */
static int
world_teardown(void **state)
{
    struct world *w = *state;

    if (w) {
        dp_destroy(w->dp);
        free(w);
        *state = NULL;
    }
    return 0;
}

static long long
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Traffic. ---- */

/* One send: packet i is flows[fidx[i]], sequence number seq0 + i. */
struct traffic {
    struct world *w;
    size_t n, n_injected;
    uint32_t seq0;
    const struct tflow *flows;
    size_t n_flows;
    const uint16_t *fidx;
    struct expect *exp;         /* The oracle, before any rule change. */
    struct expect *exp_new;     /* ... and after (may equal 'exp'). */
    uint8_t (*frames)[FRAME_MAX];
    size_t *lens;
    unsigned *seen;             /* Bit per test port it was captured on. */
    uint32_t *port_seqs[N_TPORTS];  /* Capture order per port. */
    size_t n_port_seqs[N_TPORTS];
    size_t n_copies;            /* Captured copies. */
    size_t dups, strangers, corrupt;
    struct dp_pmd_stats base;
};

static struct traffic *
traffic_prepare(struct world *w, const struct tflow *flows, size_t n_flows,
                const uint16_t *fidx, size_t n)
{
    struct traffic *t = calloc(1, sizeof *t);

    assert_non_null(t);
    t->w = w;
    t->n = n;
    t->seq0 = w->next_seq;
    w->next_seq += (uint32_t) n;
    t->flows = flows;
    t->n_flows = n_flows;
    t->fidx = fidx;
    t->exp = calloc(n, sizeof *t->exp);
    t->exp_new = calloc(n, sizeof *t->exp_new);
    t->frames = calloc(n, sizeof *t->frames);
    t->lens = calloc(n, sizeof *t->lens);
    t->seen = calloc(n, sizeof *t->seen);
    assert_true(t->exp && t->exp_new && t->frames && t->lens && t->seen);
    for (unsigned p = 0; p < N_TPORTS; p++) {
        /* Each packet once per port at most (copies beyond are dups). */
        t->port_seqs[p] = calloc(n, sizeof *t->port_seqs[p]);
        assert_non_null(t->port_seqs[p]);
    }
    for (size_t i = 0; i < n; i++) {
        const struct tflow *f = &flows[fidx[i]];

        assert_true(fidx[i] < n_flows);
        t->lens[i] = tflow_build(f, t->seq0 + (uint32_t) i, t->frames[i],
                                 FRAME_MAX);
        assert_true(t->lens[i] > 0);
        t->exp[i] = t->exp_new[i] = oracle(w, f);
    }
    pmd_stats(w, &t->base);
    return t;
}

static void
traffic_free(struct traffic *t)
{
    if (!t) {
        return;
    }
    for (unsigned p = 0; p < N_TPORTS; p++) {
        free(t->port_seqs[p]);
    }
    free(t->exp);
    free(t->exp_new);
    free(t->frames);
    free(t->lens);
    free(t->seen);
    free(t);
}

/* Injects packets [n_injected, n_injected + count), each run of packets
 * with the same input port in one call. */
static void
traffic_inject(struct traffic *t, size_t count)
{
    size_t end = t->n_injected + count;

    assert_true(end <= t->n);
    while (t->n_injected < end) {
        size_t i = t->n_injected, j = i;
        const void *frames[CHUNK];
        size_t lens[CHUNK];
        uint8_t in = t->flows[t->fidx[i]].in;
        size_t queued = 0;
        struct port *port = dp_port_get(t->w->dp, t->w->port_no[in]);

        while (j < end && j - i < CHUNK && t->flows[t->fidx[j]].in == in) {
            frames[j - i] = t->frames[j];
            lens[j - i] = t->lens[j];
            j++;
        }
        assert_non_null(port);
        assert_int_equal(port_dummy_inject(port, frames, lens, j - i,
                                           &queued), 0);
        assert_int_equal(queued, j - i);
        t->n_injected = j;
    }
}

struct capture_ctx {
    struct traffic *t;
    unsigned port;
};

static void
capture_cb(const void *frame_, size_t len, void *ctx_)
{
    const struct capture_ctx *ctx = ctx_;
    struct traffic *t = ctx->t;
    const uint8_t *frame = frame_;
    uint32_t seq;
    size_t i;

    if (len < 4) {
        t->strangers++;
        return;
    }
    seq = frame_seq(frame, len);
    i = seq - t->seq0;
    if (seq < t->seq0 || i >= t->n_injected) {
        t->strangers++;
        return;
    }
    if (len != t->lens[i] || memcmp(frame, t->frames[i], len)) {
        t->corrupt++;
    }
    if (t->seen[i] & (1u << ctx->port)) {
        t->dups++;
        return;
    }
    t->seen[i] |= 1u << ctx->port;
    t->port_seqs[ctx->port][t->n_port_seqs[ctx->port]++] = seq;
    t->n_copies++;
}

static void
traffic_capture(struct traffic *t)
{
    for (unsigned p = 0; p < N_TPORTS; p++) {
        struct capture_ctx ctx = { t, p };
        struct port *port;

        if (t->w->removed[p]) {
            continue;
        }
        port = dp_port_get(t->w->dp, t->w->port_no[p]);
        assert_non_null(port);
        assert_int_equal(port_dummy_capture(port, capture_cb, &ctx, NULL), 0);
    }
}

static uint64_t
drops_total(const struct dp_pmd_stats *s)
{
    uint64_t n = 0;

    for (unsigned r = 0; r < DP_N_DROP_REASONS; r++) {
        n += s->drops[r];
    }
    return n;
}

/* Copies and drops the oracle expects for the packets injected so far. */
static void
traffic_expected(const struct traffic *t, size_t *copies, size_t *drops)
{
    *copies = *drops = 0;
    for (size_t i = 0; i < t->n_injected; i++) {
        *copies += (size_t) __builtin_popcount(t->exp[i].ports);
        *drops += (t->exp[i].drop >= 0) + (size_t) t->exp[i].n_gone;
    }
}

/* Waits (bounded) until the PMD has counted every injected packet and every
 * expected copy or drop has shown up, or, if some never do, until nothing
 * has changed for SETTLE_MS; then lets the PMD finish its iteration and
 * captures what is left. */
static void
traffic_wait(struct traffic *t)
{
    long long deadline = mono_ms() + WAIT_MS, changed = mono_ms();
    size_t copies, drops, last = SIZE_MAX;

    traffic_expected(t, &copies, &drops);
    for (;;) {
        struct dp_pmd_stats s;
        size_t seen;

        traffic_capture(t);
        pmd_stats(t->w, &s);
        seen = t->n_copies + drops_total(&s) + s.packets;
        if (seen != last) {
            last = seen;
            changed = mono_ms();
        }
        if (s.packets - t->base.packets >= t->n_injected
            && t->n_copies >= copies
            && drops_total(&s) - drops_total(&t->base) >= drops) {
            break;
        }
        if (s.packets - t->base.packets >= t->n_injected
            && mono_ms() - changed > SETTLE_MS) {
            break;              /* traffic_verify() tells what is wrong. */
        }
        if (mono_ms() > deadline) {
            print_error("timed out: %llu of %zu packets processed, %zu of "
                        "%zu copies, %llu of %zu drops\n",
                        (unsigned long long) (s.packets - t->base.packets),
                        t->n_injected, t->n_copies, copies,
                        (unsigned long long) (drops_total(&s)
                                              - drops_total(&t->base)),
                        drops);
            break;
        }
        usleep(200);
    }
    dp_synchronize(t->w->dp);
    traffic_capture(t);
}

/* Checks every injected packet against the oracle (before or, if the rules
 * changed meanwhile, after the change: but once a flow followed the new
 * rules no later packet of it may follow the old), the drop counters, the
 * order within flows, and adds the packets to the rules' credit totals. */
static void
traffic_verify(struct traffic *t)
{
    struct world *w = t->w;
    struct dp_pmd_stats s;
    uint64_t exp_drops[DP_N_DROP_REASONS] = { 0 };
    uint8_t *followed_new = calloc(t->n_flows, 1);
    uint32_t *last = calloc(t->n_flows, sizeof *last);
    size_t wrong = 0, stale = 0, reordered = 0, forwarded = 0;
    size_t full_drops = 0;

    assert_true(followed_new && last);
    assert_int_equal(t->n_injected, t->n);
    for (size_t i = 0; i < t->n; i++) {
        const struct expect *eo = &t->exp[i], *en = &t->exp_new[i];
        unsigned f = t->fidx[i];
        bool old_ok = t->seen[i] == eo->ports;
        bool new_ok = t->seen[i] == en->ports;

        if (!expect_equal(eo, en)) {
            /* Only outcomes that tell themselves apart by port. */
            assert_true(eo->drop < 0 && en->drop < 0 && !eo->n_gone
                        && !en->n_gone && eo->rule == en->rule
                        && eo->ports != en->ports);
        }
        if (new_ok && !old_ok) {
            followed_new[f] = 1;
        } else if (old_ok && !new_ok && followed_new[f]) {
            stale++;
        } else if (!old_ok && !new_ok) {
            if (wrong < 5) {
                print_error("packet %zu (flow %u): on ports %#x, expected "
                            "%#x (rule %d)\n", i, f, t->seen[i], eo->ports,
                            eo->rule);
            }
            wrong++;
        }
        if (t->seen[i]) {
            forwarded++;
        }
        if (eo->drop >= 0) {
            exp_drops[eo->drop]++;
        }
        if (!eo->ports) {
            full_drops++;       /* By its action, or every output gone. */
        }
        exp_drops[DP_DROP_NO_PORT] += (uint64_t) eo->n_gone;
        if (eo->rule >= 0 && w->rules[eo->rule].kind != R_ERROR) {
            size_t ri = rule_ref_index(&w->rules[eo->rule],
                                       (size_t) eo->rule);

            w->rule_packets[ri]++;
            w->rule_bytes[ri] += t->lens[i];
        }
    }
    for (unsigned p = 0; p < N_TPORTS; p++) {
        memset(last, 0, t->n_flows * sizeof *last);
        for (size_t k = 0; k < t->n_port_seqs[p]; k++) {
            uint32_t seq = t->port_seqs[p][k];
            unsigned f = t->fidx[seq - t->seq0];

            if (last[f] && seq <= last[f]) {
                reordered++;
            }
            last[f] = seq;
        }
    }
    free(followed_new);
    free(last);

    pmd_stats(w, &s);
    assert_int_equal(t->strangers, 0);
    assert_int_equal(t->corrupt, 0);
    assert_int_equal(t->dups, 0);
    assert_int_equal(wrong, 0);
    assert_int_equal(stale, 0);
    assert_int_equal(reordered, 0);
    assert_int_equal(s.packets - t->base.packets, t->n);
    for (unsigned r = 0; r < DP_N_DROP_REASONS; r++) {
        if (s.drops[r] - t->base.drops[r] != exp_drops[r]) {
            print_error("drop reason %s: %llu, expected %llu\n",
                        dp_drop_reason_name(r),
                        (unsigned long long) (s.drops[r]
                                              - t->base.drops[r]),
                        (unsigned long long) exp_drops[r]);
            fail();
        }
    }
    /* Every packet accounted for exactly once. */
    assert_int_equal(forwarded + full_drops, t->n);
}

/* Sends packets flows[fidx[0..n-1]] in chunks and checks them all. */
static void
send_flows(struct world *w, const struct tflow *flows, size_t n_flows,
           const uint16_t *fidx, size_t n)
{
    struct traffic *t = traffic_prepare(w, flows, n_flows, fidx, n);

    while (t->n_injected < n) {
        size_t k = n - t->n_injected < CHUNK ? n - t->n_injected : CHUNK;

        traffic_inject(t, k);
        traffic_wait(t);
    }
    traffic_verify(t);
    traffic_free(t);
}

/* Sends 'rounds' rounds of flows[first..first+count-1], in order. */
static void
send_rounds(struct world *w, const struct tflow *flows, size_t n_flows,
            size_t first, size_t count, unsigned rounds)
{
    size_t n = count * rounds;
    uint16_t *fidx = calloc(n, sizeof *fidx);

    assert_non_null(fidx);
    for (size_t i = 0; i < n; i++) {
        fidx[i] = (uint16_t) (first + i % count);
    }
    send_flows(w, flows, n_flows, fidx, n);
    free(fidx);
}

static uint32_t rng_state = 2463534242u;

static uint32_t
rng(void)
{
    return test_xorshift32(&rng_state);
}

/* ---- Megaflow dumps. ---- */

/* Megaflows in the PMD's classifier.  (dp_megaflow_count() also counts
 * removed ones until they are freed, two grace periods later.) */
static size_t
n_live(const struct world *w)
{
    struct dp_pmd_stats s;

    pmd_stats(w, &s);
    return s.n_megaflows;
}

struct mf_list {
    struct world *w;
    size_t n;
    struct dp_megaflow *handle[256];
    int rule[256];
};

static void
mf_list_cb(const struct dp_megaflow_info *info, void *l_)
{
    struct mf_list *l = l_;

    if (l->n < 256) {
        l->handle[l->n] = info->handle;
        l->rule[l->n] = info->n_refs == 1
                        ? (int) ((struct stub_ref *) info->refs[0]
                                 - l->w->refs)
                        : -1;
        l->n++;
    }
}

static void
mf_list(struct world *w, struct mf_list *l)
{
    memset(l, 0, sizeof *l);
    l->w = w;
    dp_megaflow_dump(w->dp, mf_list_cb, l);
    assert_int_equal(l->n, n_live(w));
}

static size_t
mf_list_count_rule(const struct mf_list *l, int rule)
{
    size_t n = 0;

    for (size_t i = 0; i < l->n; i++) {
        n += l->rule[i] == rule;
    }
    return n;
}

static bool
mf_list_has(const struct mf_list *l, const struct dp_megaflow *mf)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->handle[i] == mf) {
            return true;
        }
    }
    return false;
}

/* ---- Tests. ---- */

/* Bursts of interleaved flows of every shape from two input ports, with
 * single and double outputs and drops: forwarded exactly per the oracle,
 * in order within each flow. */
static void
test_batching(void **state)
{
    static const struct rule rules[] = {
        { IN(0), IPV6(0), DST(1), .n_out = 1, .out = { 2 } },
        { IN(0), TP_DST(53), .n_out = 2, .out = { 2, 3 } },
        { IPV6(1), .n_out = 1, .out = { 3 } },
        { VID(10), .n_out = 1, .out = { 2 } },
        { IN(1), IPV6(0), .n_out = 1, .out = { 0 } },
        { .kind = R_DROP },
    };
    struct tflow flows[24];
    size_t n_flows = 0, n = 4000;
    uint16_t *fidx = calloc(n, sizeof *fidx);
    struct world *w = world_create(NULL, rules, ARRAY_SIZE(rules));
    struct dp_pmd_stats s;

    *state = w;
    assert_non_null(fidx);
    for (uint8_t in = 0; in < 2; in++) {
        for (uint8_t d = 1; d <= 4; d++) {
            flows[n_flows++] = (struct tflow) { .in = in, .shape = SH_IPV4,
                                                .dst = d, .tp_dst = 2000 };
            flows[n_flows++] = (struct tflow) { .in = in, .shape = SH_VLAN,
                                                .vid = (uint16_t) (9 + d % 2),
                                                .dst = d,
                                                .tp_dst = d == 2 ? 53 : 80 };
            flows[n_flows++] = (struct tflow) { .in = in, .shape = SH_IPV6,
                                                .dst = d, .tp_dst = 53 };
        }
    }
    /* Runs of one flow (up to 8 packets) mixed with single packets. */
    for (size_t i = 0; i < n;) {
        uint16_t f = (uint16_t) (rng() % n_flows);
        size_t run = rng() % 3 ? 1 : 1 + rng() % 8;

        for (size_t k = 0; k < run && i < n; k++) {
            fidx[i++] = f;
        }
    }
    send_flows(w, flows, n_flows, fidx, n);
    free(fidx);

    pmd_stats(w, &s);
    assert_int_equal(s.packets, n);
    assert_true(s.upcalls >= 1 && s.upcalls < n / 10);
    assert_int_equal(s.upcall_failures, 0);
    assert_int_equal(s.megaflow_not_installed, 0);
    assert_int_equal(s.simple_hits, 0);
    assert_int_equal(s.upcalls, atomic_load(&w->upcalls));
    world_finish(state, w);
}

/* Each exact-match cache answers for its packet shapes, and only for
 * them; with both off the megaflow tier answers everything. */
static void
check_exact_tiers(void **state, unsigned emc_entries, unsigned hkc_entries)
{
    static const struct rule rules[] = {
        { IPV6(0), DST(1), .n_out = 1, .out = { 1 } },
        { IPV6(1), DST(2), .n_out = 1, .out = { 2 } },
        { VID(10), .n_out = 1, .out = { 3 } },
        { TP_DST(7), .n_out = 1, .out = { 2 } },
        { .n_out = 1, .out = { 1 } },
    };
    struct tflow flows[12];
    struct dp_config cfg = default_config();
    struct dp_pmd_stats s0, s1, s2;
    const unsigned rounds = 200;
    struct world *w;

    for (uint8_t d = 1; d <= 4; d++) {
        flows[d - 1] = (struct tflow) { .shape = SH_IPV4, .dst = d,
                                        .tp_dst = (uint16_t) (5 + d) };
        flows[3 + d] = (struct tflow) { .shape = SH_VLAN,
                                        .vid = (uint16_t) (9 + d % 2),
                                        .dst = d, .tp_dst = 7 };
        flows[7 + d] = (struct tflow) { .shape = SH_IPV6, .dst = d,
                                        .tp_dst = (uint16_t) (5 + d) };
    }
    cfg.emc_entries = emc_entries;
    cfg.hkc_entries = hkc_entries;
    w = world_create(&cfg, rules, ARRAY_SIZE(rules));
    *state = w;

    /* Every flow gets its megaflow. */
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 12, 1);
    pmd_stats(w, &s0);
    assert_true(s0.upcalls >= 1 && s0.upcalls <= 12);

    /* Untagged IPv4: header-key cache if on, else EMC if on. */
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 4, rounds);
    pmd_stats(w, &s1);
    assert_int_equal(s1.upcalls, s0.upcalls);
    assert_int_equal(s1.emc_hits - s0.emc_hits
                     + s1.megaflow_hits - s0.megaflow_hits, 4 * rounds);
    if (hkc_entries) {
        assert_int_equal(s1.hkc_hits - s0.hkc_hits, s1.emc_hits - s0.emc_hits);
        assert_true(s1.hkc_hits - s0.hkc_hits >= rounds);
    } else if (emc_entries) {
        assert_int_equal(s1.hkc_hits, 0);
        assert_true(s1.emc_hits - s0.emc_hits >= rounds);
    } else {
        assert_int_equal(s1.emc_hits, 0);
        assert_int_equal(s1.megaflow_hits - s0.megaflow_hits, 4 * rounds);
    }

    /* VLAN-tagged IPv4 and IPv6: the EMC if on, never the header-key
     * cache. */
    send_rounds(w, flows, ARRAY_SIZE(flows), 4, 8, rounds);
    pmd_stats(w, &s2);
    assert_int_equal(s2.upcalls, s0.upcalls);
    assert_int_equal(s2.hkc_hits, s1.hkc_hits);
    assert_int_equal(s2.emc_hits - s1.emc_hits
                     + s2.megaflow_hits - s1.megaflow_hits, 8 * rounds);
    if (emc_entries) {
        assert_true(s2.emc_hits - s1.emc_hits >= 2 * rounds);
    } else {
        assert_int_equal(s2.emc_hits, s1.emc_hits);
        assert_int_equal(s2.megaflow_hits - s1.megaflow_hits, 8 * rounds);
    }
    assert_int_equal(s2.exact_skipped, 0);
    assert_int_equal(s2.simple_hits, 0);
    assert_int_equal(s2.megaflow_not_installed, 0);
    world_finish(state, w);
}

static void
test_exact_tiers(void **state)
{
    check_exact_tiers(state, 1024, 1024);
    check_exact_tiers(state, 1024, 0);
    check_exact_tiers(state, 0, 1024);
    check_exact_tiers(state, 0, 0);
}

/* A rule on in_port alone that only outputs makes a "simple" megaflow: the
 * port's batches skip every lookup.  A rule change takes it away at once. */
static void
test_simple_match(void **state)
{
    static const struct rule before[] = {
        { IN(0), .n_out = 1, .out = { 1 } },
        { IN(1), IPV6(0), DST(1), .n_out = 1, .out = { 3 } },
        { .n_out = 1, .out = { 3 } },
    };
    static const struct rule after[] = {
        { IN(0), .n_out = 1, .out = { 2 } },
        { IN(1), IPV6(0), DST(1), .n_out = 1, .out = { 3 } },
        { .n_out = 1, .out = { 3 } },
    };
    struct tflow flows[] = {
        { .in = 0, .shape = SH_IPV4, .dst = 1 },
        { .in = 0, .shape = SH_VLAN, .vid = 5, .dst = 2 },
        { .in = 0, .shape = SH_IPV6, .dst = 3 },
        { .in = 1, .shape = SH_IPV4, .dst = 1 },
    };
    struct world *w = world_create(NULL, before, ARRAY_SIZE(before));
    struct dp_pmd_stats s0, s1, s2;

    *state = w;
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 3, 100);
    pmd_stats(w, &s0);
    /* One upcall; the rest of its batch matched the fresh megaflow, later
     * batches never looked. */
    assert_int_equal(s0.upcalls, 1);
    assert_true(s0.simple_hits >= 300 - DP_BATCH_MAX);
    assert_int_equal(s0.emc_hits + s0.megaflow_hits, 0);

    assert_int_equal(world_change(w, after, ARRAY_SIZE(after)), 1);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 3, 100);
    pmd_stats(w, &s1);
    assert_true(s1.simple_hits > s0.simple_hits);
    assert_int_equal(s1.upcalls, s0.upcalls + 1);

    /* Port 1 is not simple (its megaflow consults more than in_port). */
    send_rounds(w, flows, ARRAY_SIZE(flows), 3, 1, 50);
    pmd_stats(w, &s2);
    assert_int_equal(s2.simple_hits, s1.simple_hits);
    world_finish(state, w);
}

/* The rules of the revalidation tests (which change copies of them). */
static const struct rule reval_rules[] = {
    { IPV6(0), DST(1), .n_out = 1, .out = { 1 } },
    { IPV6(0), DST(2), .n_out = 1, .out = { 1 } },
    { IPV6(1), DST(3), .n_out = 1, .out = { 1 } },
    { VID(7), .n_out = 1, .out = { 2 } },
    { .n_out = 1, .out = { 3 } },
};

/* A rule change removes exactly the megaflows whose translation changed;
 * the others survive (with their exact-match entries), and no packet
 * follows an old result afterwards. */
static void
test_revalidate(void **state)
{
    struct rule rules[ARRAY_SIZE(reval_rules)];
    struct tflow flows[] = {
        /* Changed below (rules 0 and 2). */
        { .shape = SH_IPV4, .dst = 1 },
        { .shape = SH_VLAN, .vid = 4, .dst = 1 },
        { .shape = SH_IPV6, .dst = 3 },
        /* Unchanged (rules 1, 3, 4). */
        { .shape = SH_IPV4, .dst = 2 },
        { .shape = SH_VLAN, .vid = 7, .dst = 5 },
        { .shape = SH_IPV6, .dst = 9 },
        { .shape = SH_IPV4, .dst = 9 },
        /* Sent last. */
        { .shape = SH_IPV4, .dst = 9, .tp_dst = 4444 },
    };
    struct world *w = world_create(NULL, reval_rules,
                                   ARRAY_SIZE(reval_rules));
    struct rule narrowed[ARRAY_SIZE(rules) + 1];
    struct mf_list before, after;
    struct dp_pmd_stats s0, s1, s2;
    size_t changed, removed;

    *state = w;
    memcpy(rules, reval_rules, sizeof rules);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 7, 100);
    mf_list(w, &before);
    changed = mf_list_count_rule(&before, 0) + mf_list_count_rule(&before, 2);
    assert_int_equal(changed, 2);       /* Flows 0 and 1 share one. */
    assert_int_equal(mf_list_count_rule(&before, -1), 0);

    /* Rules 0 and 2 now output elsewhere; rule 1 is rewritten unchanged. */
    rules[0].out[0] = 2;
    rules[2].n_out = 2;
    rules[2].out[1] = 3;
    removed = world_change(w, rules, ARRAY_SIZE(rules));
    assert_int_equal(removed, changed);
    mf_list(w, &after);
    assert_int_equal(after.n, before.n - changed);
    for (size_t i = 0; i < before.n; i++) {
        bool changed_rule = before.rule[i] == 0 || before.rule[i] == 2;

        assert_int_equal(mf_list_has(&after, before.handle[i]),
                         !changed_rule);
    }
    assert_int_equal(atomic_load(&w->reval_upcalls), before.n);

    /* The survivors answer at once: no upcall, and the untagged IPv4 one
     * is still in the header-key cache. */
    pmd_stats(w, &s0);
    send_rounds(w, flows, ARRAY_SIZE(flows), 3, 4, 50);
    pmd_stats(w, &s1);
    assert_int_equal(s1.upcalls, s0.upcalls);
    assert_true(s1.hkc_hits - s0.hkc_hits >= 50);

    /* The changed flows follow the new rules from their first packet. */
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 3, 50);
    pmd_stats(w, &s2);
    assert_int_equal(s2.upcalls - s1.upcalls, changed);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 7, 20);

    /* A new rule that narrows the catch-all's megaflows without changing
     * their actions: they consult tp_dst now, so they must go (kept, they
     * would send flow 7 to port 3). */
    mf_list(w, &before);
    changed = mf_list_count_rule(&before, 4);
    assert_int_equal(changed, 2);
    memcpy(narrowed, rules, sizeof rules);
    narrowed[4] = (struct rule) { TP_DST(4444), .n_out = 1, .out = { 1 } };
    narrowed[5] = rules[4];
    assert_int_equal(world_change(w, narrowed, 6), changed);
    mf_list(w, &after);
    assert_int_equal(after.n, before.n - changed);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 8, 20);
    world_finish(state, w);
}

/* A rule replaced by an identical one (another rule object, as an add of
 * an identical flow makes): its megaflows stay, since their actions and
 * wildcards are the same, and what they count from then on goes to the
 * new rule (world_finish() checks every rule's credits against the
 * oracle's). */
static void
test_revalidate_new_rule_same_result(void **state)
{
    struct rule rules[ARRAY_SIZE(reval_rules)];
    struct tflow flows[] = {
        { .shape = SH_IPV4, .dst = 2 },         /* Rule 1. */
        { .shape = SH_VLAN, .vid = 4, .dst = 2 },
        { .shape = SH_IPV6, .dst = 9 },         /* Rule 4. */
    };
    struct world *w = world_create(NULL, reval_rules,
                                   ARRAY_SIZE(reval_rules));
    struct mf_list before, after;

    *state = w;
    memcpy(rules, reval_rules, sizeof rules);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 3, 50);
    mf_list(w, &before);
    rules[1].credit_to = 10;            /* w->refs[9]: unused otherwise. */
    assert_int_equal(world_change(w, rules, ARRAY_SIZE(rules)), 0);
    mf_list(w, &after);
    assert_int_equal(after.n, before.n);
    for (size_t i = 0; i < before.n; i++) {
        assert_true(mf_list_has(&after, before.handle[i]));
    }
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 3, 40);
    world_finish(state, w);
}

/* dp_pull_stats_change(): a credit walk for a change of rule 0 credits
 * rule 0's megaflow (its counts are then whole) and no megaflow a change
 * of rule 0 cannot concern; revalidation's statistics count both kinds
 * of walk. */
static void
test_pull_stats_change(void **state)
{
    struct tflow flows[] = {
        { .shape = SH_IPV4, .dst = 1 },         /* Rule 0. */
        { .shape = SH_IPV4, .dst = 2 },         /* Rule 1. */
        { .shape = SH_VLAN, .vid = 7, .dst = 5 },   /* Rule 3. */
        { .shape = SH_IPV6, .dst = 9 },         /* Rule 4. */
    };
    struct world *w = world_create(NULL, reval_rules,
                                   ARRAY_SIZE(reval_rules));
    struct flow regions[2];
    struct dp_change chg = { .scope = w, .vals = regions,
                             .masks = regions + 1, .n = 1 };
    struct dp_reval_stats r0, r1;
    struct mf_list l;
    uint64_t p1, p3, p4;

    *state = w;
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 4, 10);
    mf_list(w, &l);
    assert_int_equal(mf_list_count_rule(&l, 0), 1);
    rule_to_match(w, &reval_rules[0], &regions[0], &regions[1]);
    regions[0].in_port = regions[1].in_port = 0;
    p1 = atomic_load(&w->refs[1].packets);
    p3 = atomic_load(&w->refs[3].packets);
    p4 = atomic_load(&w->refs[4].packets);
    dp_get_reval_stats(w->dp, &r0);
    dp_pull_stats_change(w->dp, &chg);
    dp_get_reval_stats(w->dp, &r1);
    /* Rule 0 has all its packets; 1, 3 and 4 were not credited. */
    assert_int_equal(atomic_load(&w->refs[0].packets), w->rule_packets[0]);
    assert_int_equal(atomic_load(&w->refs[0].bytes), w->rule_bytes[0]);
    assert_int_equal(atomic_load(&w->refs[1].packets), p1);
    assert_true(p1 < w->rule_packets[1]);
    assert_int_equal(atomic_load(&w->refs[3].packets), p3);
    assert_int_equal(atomic_load(&w->refs[4].packets), p4);
    assert_true(p4 < w->rule_packets[4]);
    assert_int_equal(r1.pulls, r0.pulls + 1);
    assert_int_equal(r1.pull_credited - r0.pull_credited, 1);
    /* A full revalidation translates every megaflow, spares none. */
    assert_int_equal(dp_revalidate(w->dp), 0);
    dp_get_reval_stats(w->dp, &r0);
    assert_int_equal(r0.walks, r1.walks + 1);
    assert_int_equal(r0.translated - r1.translated, l.n);
    assert_int_equal(r0.spared, r1.spared);
    assert_int_equal(r0.walked - r1.walked, l.n);
    assert_true(r0.walk_ns_max >= r0.walk_ns_last);
    world_finish(state, w);
}

/* dp_revalidate_change(): after rules 0 and 2 change, only the megaflows
 * whose flows may match them are translated again, the changed ones go,
 * and everything answers as after a full revalidation; a change of
 * another scope translates nothing. */
static void
test_revalidate_change(void **state)
{
    struct rule rules[ARRAY_SIZE(reval_rules)];
    struct tflow flows[] = {
        { .shape = SH_IPV4, .dst = 1 },         /* Rule 0. */
        { .shape = SH_IPV6, .dst = 3 },         /* Rule 2. */
        { .shape = SH_IPV4, .dst = 2 },         /* The others. */
        { .shape = SH_VLAN, .vid = 7, .dst = 5 },
        { .shape = SH_IPV6, .dst = 9 },
        { .shape = SH_IPV4, .dst = 9 },
    };
    struct world *w = world_create(NULL, reval_rules,
                                   ARRAY_SIZE(reval_rules));
    struct flow regions[4];
    struct dp_change chg = { .scope = w, .vals = regions,
                             .masks = regions + 2, .n = 2 };
    struct mf_list before, after;
    struct dp_pmd_stats s0, s1;
    size_t removed, skipped, translated;

    *state = w;
    memcpy(rules, reval_rules, sizeof rules);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 6, 100);
    mf_list(w, &before);
    assert_int_equal(mf_list_count_rule(&before, 0), 1);
    assert_int_equal(mf_list_count_rule(&before, 2), 1);

    /* Another scope's change: nothing is translated, nothing goes. */
    chg.scope = &chg;
    atomic_store(&w->reval_upcalls, 0);
    assert_int_equal(dp_revalidate_change(w->dp, &chg, &skipped), 0);
    assert_int_equal(skipped, before.n);
    assert_int_equal(atomic_load(&w->reval_upcalls), 0);

    /* Rules 0 and 2 output elsewhere now. */
    chg.scope = w;
    rule_to_match(w, &rules[0], &regions[0], &regions[2]);
    rule_to_match(w, &rules[2], &regions[1], &regions[3]);
    for (int i = 0; i < 4; i++) {
        regions[i].in_port = 0;
    }
    rules[0].out[0] = 2;
    rules[2].out[0] = 2;
    dp_slow_wrlock(w->dp);
    memcpy(w->rules, rules, sizeof rules);
    w->n_rules = ARRAY_SIZE(rules);
    dp_slow_wrunlock(w->dp);
    atomic_store(&w->reval_upcalls, 0);
    removed = dp_revalidate_change(w->dp, &chg, &skipped);
    dp_synchronize(w->dp);
    translated = atomic_load(&w->reval_upcalls);
    assert_int_equal(removed, 2);
    assert_int_equal(translated + skipped, before.n);
    assert_true(skipped >= 1);
    assert_true(translated >= removed);
    mf_list(w, &after);
    assert_int_equal(after.n, before.n - 2);
    for (size_t i = 0; i < before.n; i++) {
        assert_int_equal(mf_list_has(&after, before.handle[i]),
                         before.rule[i] != 0 && before.rule[i] != 2);
    }

    /* The survivors answer without an upcall; the changed flows follow
     * the new rules. */
    pmd_stats(w, &s0);
    send_rounds(w, flows, ARRAY_SIZE(flows), 2, 4, 20);
    pmd_stats(w, &s1);
    assert_int_equal(s1.upcalls, s0.upcalls);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 2, 20);
    world_finish(state, w);
}

/* Rule changes while the PMD is busy with a long queue: every packet
 * follows the old or the new rules, once a flow has followed the new ones
 * it never goes back, and everything sent after the change returned
 * follows the new ones. */
static void
test_revalidate_under_traffic(void **state)
{
    struct rule rules[] = {
        { IPV6(0), DST(1), .n_out = 1, .out = { 1 } },
        { IPV6(1), .n_out = 1, .out = { 1 } },
        { VID(3), .n_out = 1, .out = { 1 } },
        { .n_out = 1, .out = { 2 } },
    };
    struct tflow flows[] = {
        { .shape = SH_IPV4, .dst = 1 },
        { .shape = SH_VLAN, .vid = 3, .dst = 2 },
        { .shape = SH_IPV6, .dst = 1 },
        { .shape = SH_IPV4, .dst = 2 },
        { .shape = SH_IPV4, .dst = 1, .tp_dst = 99 },
        { .shape = SH_IPV6, .dst = 4, .tp_dst = 99 },
    };
    struct world *w = world_create(NULL, rules, ARRAY_SIZE(rules));
    const size_t n = 3000;
    uint16_t *fidx = calloc(n, sizeof *fidx);

    *state = w;
    assert_non_null(fidx);
    for (size_t i = 0; i < n; i++) {
        fidx[i] = (uint16_t) (rng() % ARRAY_SIZE(flows));
    }
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, ARRAY_SIZE(flows), 20);
    for (int iter = 0; iter < 6; iter++) {
        struct traffic *t = traffic_prepare(w, flows, ARRAY_SIZE(flows),
                                            fidx, n);

        traffic_inject(t, n);
        /* Rules 0..2 flip between ports 1 and 3. */
        for (int r = 0; r < 3; r++) {
            rules[r].out[0] = rules[r].out[0] == 1 ? 3 : 1;
        }
        world_change(w, rules, ARRAY_SIZE(rules));
        for (size_t i = 0; i < n; i++) {
            t->exp_new[i] = oracle(w, &flows[fidx[i]]);
        }
        traffic_wait(t);
        traffic_verify(t);
        traffic_free(t);

        send_rounds(w, flows, ARRAY_SIZE(flows), 0, ARRAY_SIZE(flows), 5);
    }
    free(fidx);
    world_finish(state, w);
}

/* dp_run() with a clock beyond megaflow_idle_ms removes the idle
 * megaflows, credits their last packets and releases their references;
 * megaflows used since survive. */
static void
test_expiry(void **state)
{
    static const struct rule rules[] = {
        { IPV6(0), DST(1), .n_out = 1, .out = { 1 } },
        { IPV6(0), DST(2), .n_out = 1, .out = { 2 } },
        { IPV6(1), .n_out = 1, .out = { 3 } },
        { .kind = R_DROP },
    };
    struct tflow flows[] = {
        /* Go idle: rule 0 and rule 2. */
        { .shape = SH_IPV4, .dst = 1, .tp_dst = 1 },
        { .shape = SH_IPV4, .dst = 1, .tp_dst = 2 },
        { .shape = SH_IPV6, .dst = 1 },
        /* Stay busy: rules 1 and 3. */
        { .shape = SH_IPV4, .dst = 2 },
        { .shape = SH_VLAN, .vid = 2, .dst = 3 },
    };
    struct dp_config cfg = default_config();
    struct world *w;
    struct mf_list l;
    size_t n_idle, n_busy;
    long long t_idle, now, deadline;
    uint64_t rel0;

    cfg.megaflow_idle_ms = 2000;
    w = world_create(&cfg, rules, ARRAY_SIZE(rules));
    *state = w;

    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 3, 10);
    t_idle = dp_time_ms();
    usleep(20 * 1000);
    send_rounds(w, flows, ARRAY_SIZE(flows), 3, 2, 10);
    mf_list(w, &l);
    n_idle = mf_list_count_rule(&l, 0) + mf_list_count_rule(&l, 2);
    n_busy = mf_list_count_rule(&l, 1) + mf_list_count_rule(&l, 3);
    assert_int_equal(n_idle, 2);        /* dst=1 and the IPv6 one. */
    assert_int_equal(n_busy, 2);
    rel0 = atomic_load(&w->refs[0].releases)
           + atomic_load(&w->refs[2].releases);

    /* Nothing expires before its time. */
    dp_run(w->dp, t_idle + 1000);
    assert_int_equal(dp_megaflow_count(w->dp), 4);

    now = t_idle + cfg.megaflow_idle_ms;
    dp_run(w->dp, now);
    assert_int_equal(n_live(w), n_busy);
    mf_list(w, &l);
    assert_int_equal(mf_list_count_rule(&l, 1) + mf_list_count_rule(&l, 3),
                     n_busy);
    /* Every rule is credited with its packets by now. */
    for (int r = 0; r < 4; r++) {
        assert_int_equal(atomic_load(&w->refs[r].packets),
                         w->rule_packets[r]);
        assert_int_equal(atomic_load(&w->refs[r].bytes), w->rule_bytes[r]);
    }
    /* The references go after the grace periods (dp_run() reclaims). */
    deadline = mono_ms() + WAIT_MS;
    while (atomic_load(&w->refs[0].releases)
           + atomic_load(&w->refs[2].releases) < rel0 + n_idle
           && mono_ms() < deadline) {
        dp_synchronize(w->dp);
        dp_run(w->dp, now);
        usleep(1000);
    }
    assert_int_equal(atomic_load(&w->refs[0].releases)
                     + atomic_load(&w->refs[2].releases), rel0 + n_idle);
    assert_int_equal(atomic_load(&w->refs[1].releases)
                     + atomic_load(&w->refs[3].releases), 0);
    assert_int_equal(dp_megaflow_count(w->dp), n_busy);

    /* Expired flows come back through the slow path, still right. */
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 5, 10);
    assert_int_equal(dp_megaflow_count(w->dp), 4);

    /* Much later everything is idle. */
    dp_run(w->dp, now + 10 * cfg.megaflow_idle_ms);
    assert_int_equal(n_live(w), 0);
    world_finish(state, w);
}

/* Beyond flow_limit megaflows the packets of uncached flows still go out
 * (each upcall counted as megaflow_not_installed), and the cached ones keep
 * hitting.  Within one burst, later packets that the same uncached result
 * answers (the same masked key: here the eight IPv6 flows, whose
 * translation consults only the ethertype) reuse it without another
 * upcall, so they cost between one upcall a round and one each. */
static void
test_flow_limit(void **state)
{
    static const struct rule rules[] = {
        { IPV6(0), DST(200), .n_out = 1, .out = { 3 } },
        { IPV6(0), .n_out = 1, .out = { 1 } },
        { .n_out = 2, .out = { 2, 3 } },
    };
    struct tflow flows[40];
    struct dp_config cfg = default_config();
    struct dp_pmd_stats s0, s1;
    const unsigned limit = 8, rounds = 20;
    struct world *w;

    for (uint8_t i = 0; i < 32; i++) {
        flows[i] = (struct tflow) { .shape = SH_IPV4,
                                    .dst = (uint8_t) (i + 1) };
    }
    for (uint8_t i = 32; i < 40; i++) {
        flows[i] = (struct tflow) { .shape = SH_IPV6, .dst = i };
    }
    cfg.flow_limit = limit;
    w = world_create(&cfg, rules, ARRAY_SIZE(rules));
    *state = w;

    /* One packet per flow: the first 'limit' flows get megaflows. */
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 32, 1);
    pmd_stats(w, &s0);
    assert_int_equal(dp_megaflow_count(w->dp), limit);
    assert_int_equal(s0.n_megaflows, limit);
    assert_int_equal(s0.upcalls, 32);
    assert_int_equal(s0.megaflow_not_installed, 32 - limit);

    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 40, rounds);
    pmd_stats(w, &s1);
    assert_int_equal(dp_megaflow_count(w->dp), limit);
    assert_int_equal(s1.megaflow_not_installed - s0.megaflow_not_installed,
                     s1.upcalls - s0.upcalls);
    assert_in_range(s1.upcalls - s0.upcalls, (32 - limit + 1) * rounds,
                    (40 - limit) * rounds);
    assert_int_equal(s1.emc_hits - s0.emc_hits
                     + s1.megaflow_hits - s0.megaflow_hits, limit * rounds);
    assert_int_equal(s1.upcall_failures, 0);
    world_finish(state, w);
}

/* An upcall error, a drop action and an output to a removed port are each
 * counted under their reason; every packet is forwarded or counted. */
static void
test_drop_reasons(void **state)
{
    static const struct rule rules[] = {
        { IPV6(0), DST(1), .kind = R_ERROR },
        { IPV6(0), DST(2), .kind = R_DROP },
        { IPV6(0), DST(3), .n_out = 1, .out = { 3 } },
        { IPV6(1), DST(3), .n_out = 2, .out = { 3, 1 } },
        { IPV6(0), .n_out = 1, .out = { 1 } },
        /* IPv6 other than fc00::3: no rule, the upcall fails. */
    };
    struct tflow flows[] = {
        { .shape = SH_IPV4, .dst = 1 },
        { .shape = SH_VLAN, .vid = 1, .dst = 2 },
        { .shape = SH_IPV4, .dst = 3 },
        { .shape = SH_IPV6, .dst = 3 },
        { .shape = SH_IPV4, .dst = 4 },
        { .shape = SH_IPV6, .dst = 4 },
        { .shape = SH_IPV4, .dst = 2, .tp_dst = 5 },
    };
    struct world *w = world_create(NULL, rules, ARRAY_SIZE(rules));
    struct dp_pmd_stats s0, s1;
    const unsigned rounds = 50;

    *state = w;
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 7, rounds);
    pmd_stats(w, &s0);
    assert_int_equal(s0.drops[DP_DROP_UPCALL_ERROR], 2 * rounds);
    assert_int_equal(s0.drops[DP_DROP_ACTION], 2 * rounds);
    assert_int_equal(s0.drops[DP_DROP_NO_PORT], 0);
    assert_int_equal(s0.upcall_failures, 2 * rounds);

    /* Port 3 goes away; the megaflows that output to it stay. */
    assert_int_equal(dp_port_del(w->dp, w->port_no[3]), 0);
    w->removed[3] = true;
    assert_null(dp_port_get(w->dp, w->port_no[3]));
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, 7, rounds);
    pmd_stats(w, &s1);
    assert_int_equal(s1.drops[DP_DROP_NO_PORT], 2 * rounds);
    assert_int_equal(s1.drops[DP_DROP_UPCALL_ERROR], 4 * rounds);
    assert_int_equal(s1.drops[DP_DROP_ACTION], 4 * rounds);
    assert_int_equal(s1.packets, 14 * rounds);
    world_finish(state, w);
}

/* ---- main ---- */

static int
group_setup(void **state)
{
    (void) state;
    port_init_classes();
    mp = eal_test_mempool("test_dp_mp", N_MBUFS, 256);
    return mp ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void) state;
    rte_mempool_free(mp);
    return 0;
}

/* ---- Hardware removals: one batch, after the write lock. ---- */

/* A stub offload manager: takes every offer; counts what the datapath
 * hands it; in remove_wait, checks that a PMD could take the slow-path
 * read lock (so no upcall stalls behind the NIC). */
struct hw_stub {
    struct dp *dp;
    size_t n_offered;
    size_t n_started;           /* remove() calls since the last wait. */
    size_t n_waits;
    size_t batches[8];          /* n_started at each wait. */
    size_t n_lock_free;         /* Waits during which the lock was free. */
    atomic_bool got_lock;
};

static bool
hw_offer(struct dp_megaflow *mf, const struct dp_megaflow_info *info,
         void *stub_)
{
    struct hw_stub *stub = stub_;

    (void) mf;
    (void) info;
    stub->n_offered++;
    return true;
}

static void
hw_remove(struct dp_megaflow *mf, enum dp_removal_reason reason,
          void *stub_)
{
    struct hw_stub *stub = stub_;

    (void) mf;
    (void) reason;
    stub->n_started++;
}

static void *
hw_reader(void *stub_)
{
    struct hw_stub *stub = stub_;

    dp_slow_rdlock(stub->dp);
    dp_slow_unlock(stub->dp);
    atomic_store(&stub->got_lock, true);
    return NULL;
}

static void
hw_remove_wait(void *stub_)
{
    struct hw_stub *stub = stub_;
    long long deadline = mono_ms() + 2000;
    pthread_t th;

    if (stub->n_waits < ARRAY_SIZE(stub->batches)) {
        stub->batches[stub->n_waits] = stub->n_started;
    }
    stub->n_waits++;
    stub->n_started = 0;
    /* Another thread (a PMD, for the datapath) takes the read lock: it
     * must get it while the "NIC" is still working. */
    atomic_store(&stub->got_lock, false);
    assert_int_equal(pthread_create(&th, NULL, hw_reader, stub), 0);
    while (!atomic_load(&stub->got_lock) && mono_ms() < deadline) {
        usleep(1000);
    }
    stub->n_lock_free += atomic_load(&stub->got_lock);
    pthread_detach(th);         /* If it is blocked, it ends later. */
}

static void
test_hw_removals_batched(void **state)
{
    static const struct dp_offload_hooks hooks = {
        .offer = hw_offer, .remove = hw_remove,
        .remove_wait = hw_remove_wait,
    };
    static struct hw_stub stub;     /* Outlives a failed test's world. */
    const struct dp_offload_policy policy = { .min_packets = 1,
                                              .check_ms = 1 };
    struct rule rules[] = {
        { DST(1), .n_out = 1, .out = { 1 } },
        { .n_out = 1, .out = { 2 } },
    };
    struct tflow flows[8];
    struct world *w = world_create(NULL, rules, ARRAY_SIZE(rules));
    size_t n_mf;

    *state = w;
    memset(&stub, 0, sizeof stub);
    stub.dp = w->dp;
    for (size_t i = 0; i < ARRAY_SIZE(flows); i++) {
        /* Each its own megaflow: IPv6 or a VLAN shape, distinct dst. */
        flows[i] = (struct tflow) { .shape = i % 2 ? SH_IPV6 : SH_VLAN,
                                    .vid = 5, .dst = (int) i + 1 };
    }
    dp_set_offload(w->dp, &hooks, &policy, &stub);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, ARRAY_SIZE(flows), 4);
    n_mf = n_live(w);
    assert_true(n_mf >= 2);
    dp_run(w->dp, dp_time_ms() + 50);
    assert_int_equal(stub.n_offered, n_mf);

    /* Every rule changes: every megaflow goes, and the NIC is told in one
     * batch, after the write lock was released, before world_change()
     * (revalidate, unlock, synchronize) returns. */
    rules[0].out[0] = 3;
    rules[1].out[0] = 3;
    assert_int_equal(world_change(w, rules, ARRAY_SIZE(rules)), n_mf);
    assert_int_equal(stub.n_waits, 1);
    assert_int_equal(stub.batches[0], n_mf);
    assert_int_equal(stub.n_started, 0);
    assert_int_equal(stub.n_lock_free, 1);

    /* A change that removes nothing hands over nothing. */
    assert_int_equal(world_change(w, rules, ARRAY_SIZE(rules)), 0);
    assert_int_equal(stub.n_waits, 1);
    send_rounds(w, flows, ARRAY_SIZE(flows), 0, ARRAY_SIZE(flows), 2);
    dp_set_offload(w->dp, NULL, NULL, NULL);
    world_finish(state, w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_batching, world_teardown),
        cmocka_unit_test_teardown(test_exact_tiers, world_teardown),
        cmocka_unit_test_teardown(test_simple_match, world_teardown),
        cmocka_unit_test_teardown(test_revalidate, world_teardown),
        cmocka_unit_test_teardown(test_revalidate_new_rule_same_result,
                                  world_teardown),
        cmocka_unit_test_teardown(test_revalidate_change, world_teardown),
        cmocka_unit_test_teardown(test_pull_stats_change, world_teardown),
        cmocka_unit_test_teardown(test_revalidate_under_traffic,
                                  world_teardown),
        cmocka_unit_test_teardown(test_expiry, world_teardown),
        cmocka_unit_test_teardown(test_flow_limit, world_teardown),
        cmocka_unit_test_teardown(test_drop_reasons, world_teardown),
        cmocka_unit_test_teardown(test_hw_removals_batched, world_teardown),
    };
    char prefix[64];
    char *argv[] = {
        "test-dp", "--no-huge", "-m", "256", "--file-prefix", prefix,
        "--no-pci", "--log-level=*:error", "--no-telemetry", NULL,
    };
    int argc = (int) (sizeof argv / sizeof argv[0]) - 1;
    int failures;

    snprintf(prefix, sizeof prefix, "test-dp-%d", (int) getpid());
    if (rte_eal_init(argc, argv) < 0) {
        /* Not an error of the datapath: this environment cannot start the
         * EAL (e.g. no writable runtime directory). */
        fprintf(stderr, "test-dp: SKIP: cannot start the DPDK EAL "
                "(--no-huge): %s\n", rte_strerror(rte_errno));
        return 77;
    }
    failures = cmocka_run_group_tests(tests, group_setup, group_teardown);
    eal_test_cleanup();
    return failures;
}
