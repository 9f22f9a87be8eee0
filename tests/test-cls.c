/* SPDX-License-Identifier: BSD-3-Clause */
/* test-cls.c: classifier tests against a linear-scan oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cls.h"
#include "cls-mask-pool.h"
#include "test-rand.h"

#ifndef CLASSBENCH_DIR
#define CLASSBENCH_DIR "tests/data/classbench"
#endif

/* ---------------------------------------------------------------------- */
/* Helpers. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
    return test_xorshift64(&rng_state);
}

static uint32_t
rnd_n(uint32_t n)
{
    return rnd() % n;
}

static uint64_t
word(const struct flow *f, size_t w)
{
    uint64_t x;

    memcpy(&x, (const char *) f + 8 * w, 8);
    return x;
}

static void
set_word(struct flow *f, size_t w, uint64_t x)
{
    memcpy((char *) f + 8 * w, &x, 8);
}

static bool
flow_matches(const struct flow *flow, const struct cls_rule *r)
{
    for (size_t w = 0; w < FLOW_U64S; w++) {
        if ((word(flow, w) & word(r->mask, w)) != word(&r->flow, w)) {
            return false;
        }
    }
    return true;
}

static bool
flow_is_zero(const struct flow *f)
{
    for (size_t w = 0; w < FLOW_U64S; w++) {
        if (word(f, w)) {
            return false;
        }
    }
    return true;
}

/* True if every bit of 'a' is in 'b'. */
static bool
flow_subset(const struct flow *a, const struct flow *b)
{
    for (size_t w = 0; w < FLOW_U64S; w++) {
        if (word(a, w) & ~word(b, w)) {
            return false;
        }
    }
    return true;
}

static uint32_t
prefix_mask(unsigned int len)
{
    return len ? htonl(0xffffffffu << (32 - len)) : 0;
}

/* The oracle: a plain array of rules, linear scan. */
struct oracle {
    struct cls_rule **rules;
    size_t n, alloc;
};

static void
oracle_add(struct oracle *o, struct cls_rule *r)
{
    if (o->n == o->alloc) {
        o->alloc = o->alloc ? 2 * o->alloc : 64;
        o->rules = realloc(o->rules, o->alloc * sizeof *o->rules);
        assert_non_null(o->rules);
    }
    o->rules[o->n++] = r;
}

static void
oracle_del(struct oracle *o, struct cls_rule *r)
{
    for (size_t i = 0; i < o->n; i++) {
        if (o->rules[i] == r) {
            o->rules[i] = o->rules[--o->n];
            return;
        }
    }
    fail_msg("rule not in oracle");
}

/* Best match; '*n_best' gets how many rules share its priority. */
static const struct cls_rule *
oracle_lookup(const struct oracle *o, const struct flow *flow,
              size_t *n_best)
{
    const struct cls_rule *best = NULL;
    size_t n = 0;

    for (size_t i = 0; i < o->n; i++) {
        const struct cls_rule *r = o->rules[i];

        if (flow_matches(flow, r)) {
            if (!best || r->priority > best->priority) {
                best = r;
                n = 1;
            } else if (r->priority == best->priority) {
                n++;
            }
        }
    }
    if (n_best) {
        *n_best = n;
    }
    return best;
}

static const struct cls_rule *
oracle_find_exactly(const struct oracle *o, const struct cls_rule *x)
{
    for (size_t i = 0; i < o->n; i++) {
        const struct cls_rule *r = o->rules[i];

        if (r->priority == x->priority
            && !memcmp(r->mask, x->mask, sizeof *r->mask)
            && !memcmp(&r->flow, &x->flow, sizeof r->flow)) {
            return r;
        }
    }
    return NULL;
}

/* Asserts that 'got' is a valid answer for 'flow' per the oracle. */
static void
check_answer(const struct oracle *o, const struct flow *flow,
             const struct cls_rule *got)
{
    size_t n_best;
    const struct cls_rule *want = oracle_lookup(o, flow, &n_best);

    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(got->priority, want->priority);
    assert_true(flow_matches(flow, got));
    if (n_best == 1) {
        assert_ptr_equal(got, want);
    }
}

/* Random rules over a few fields, with small value domains so that
 * packets often match several rules. */
static void
random_match(struct flow *flow, struct flow *mask)
{
    static const uint8_t plens[] = { 0, 8, 16, 24, 30, 32 };
    static const uint16_t tpmasks[] = { 0, 0xff00, 0xfff0, 0xffff };

    memset(flow, 0, sizeof *flow);
    memset(mask, 0, sizeof *mask);
    flow->in_port = 1 + rnd_n(3);
    flow->dl_type = htons(rnd_n(4) ? ETH_TYPE_IP : ETH_TYPE_ARP);
    flow->nw_src = htonl(0x0a000000 | (rnd_n(2) << 16) | (rnd_n(2) << 8)
                         | rnd_n(4));
    flow->nw_dst = htonl(0xc0a80000 | (rnd_n(2) << 8) | rnd_n(4));
    flow->nw_proto = rnd_n(2) ? IPPROTO_TCP_ : IPPROTO_UDP_;
    flow->tp_src = htons(rnd_n(2) ? 80 : 0x1234 + rnd_n(3));
    flow->tp_dst = htons(rnd_n(2) ? 443 : 0x5678 + rnd_n(3));
    flow->dl_src[5] = rnd_n(2);

    if (rnd_n(3) == 0) {
        mask->in_port = UINT32_MAX;
    }
    if (rnd_n(2)) {
        mask->dl_type = 0xffff;
    }
    mask->nw_src = prefix_mask(plens[rnd_n(sizeof plens)]);
    mask->nw_dst = prefix_mask(plens[rnd_n(sizeof plens)]);
    if (rnd_n(2)) {
        mask->nw_proto = 0xff;
    }
    mask->tp_src = htons(tpmasks[rnd_n(4)]);
    mask->tp_dst = htons(tpmasks[rnd_n(4)]);
    if (rnd_n(8) == 0) {
        mask->dl_src[5] = 0xff;
    }
}

static void
random_packet(struct flow *flow)
{
    struct flow mask;

    random_match(flow, &mask);
    if (rnd_n(4) == 0) {
        /* Completely random words now and then. */
        set_word(flow, rnd_n(FLOW_U64S), rnd());
    }
}

/* ---------------------------------------------------------------------- */
/* Basic behaviour and edge cases. */

static void
test_basic(void **state)
{
    struct cls *cls = cls_create(NULL, NULL);
    struct cls_rule a, b, c, d, e;
    struct flow flow, mask, pkt;

    (void) state;
    assert_non_null(cls);
    memset(&pkt, 0, sizeof pkt);
    assert_null(cls_lookup(cls, &pkt, NULL));
    assert_int_equal(cls_count(cls), 0);
    assert_int_equal(cls_n_subtables(cls), 0);
    assert_int_equal(cls_check(cls), 0);

    /* cls_rule_init masks the flow. */
    memset(&flow, 0xab, sizeof flow);
    memset(&mask, 0, sizeof mask);
    mask.nw_src = htonl(0xffffff00);
    test_rule_init(&a, &flow, &mask, 10);
    assert_int_equal(a.flow.nw_src, htonl(0xabababab) & htonl(0xffffff00));
    assert_int_equal(a.flow.in_port, 0);
    assert_int_equal(a.flow.tp_dst, 0);
    assert_int_equal(cls_insert(cls, &a), 0);
    assert_int_equal(cls_check(cls), 0);

    /* Same mask, key and priority: EEXIST, nothing changed. */
    test_rule_init(&b, &flow, &mask, 10);
    assert_int_equal(cls_insert(cls, &b), EEXIST);
    assert_int_equal(cls_count(cls), 1);

    /* Same key, other priorities: a chain, highest first. */
    test_rule_init(&b, &flow, &mask, 20);
    test_rule_init(&c, &flow, &mask, 5);
    assert_int_equal(cls_insert(cls, &c), 0);
    assert_int_equal(cls_insert(cls, &b), 0);
    assert_int_equal(cls_check(cls), 0);
    assert_int_equal(cls_count(cls), 3);
    assert_int_equal(cls_n_subtables(cls), 1);

    pkt.nw_src = flow.nw_src;
    assert_ptr_equal(cls_lookup(cls, &pkt, NULL), &b);
    assert_ptr_equal(cls_find_exactly(cls, &flow, &mask, 10), &a);
    assert_ptr_equal(cls_find_exactly(cls, &flow, &mask, 20), &b);
    assert_ptr_equal(cls_find_exactly(cls, &flow, &mask, 5), &c);
    assert_null(cls_find_exactly(cls, &flow, &mask, 7));
    pkt.nw_src ^= htonl(0x100);
    assert_null(cls_lookup(cls, &pkt, NULL));
    assert_null(cls_find_exactly(cls, &pkt, &mask, 10));

    /* Extreme priorities, catch-all mask. */
    memset(&mask, 0, sizeof mask);
    test_rule_init(&d, &flow, &mask, INT32_MIN);
    assert_true(flow_is_zero(&d.flow));
    assert_int_equal(cls_insert(cls, &d), 0);
    assert_ptr_equal(cls_lookup(cls, &pkt, NULL), &d);
    mask.in_port = UINT32_MAX;
    test_rule_init(&e, &pkt, &mask, INT32_MAX);
    assert_int_equal(cls_insert(cls, &e), 0);
    assert_int_equal(cls_check(cls), 0);
    assert_ptr_equal(cls_lookup(cls, &pkt, NULL), &e);
    assert_int_equal(cls_n_subtables(cls), 3);

    /* Remove from the middle, the head, then the rest. */
    mask.in_port = 0;
    mask.nw_src = htonl(0xffffff00);
    cls_remove(cls, &a);
    assert_int_equal(cls_check(cls), 0);
    assert_null(cls_find_exactly(cls, &flow, &mask, 10));
    cls_remove(cls, &a);                /* Not inserted: ignored. */
    cls_remove(cls, &b);
    assert_int_equal(cls_check(cls), 0);
    pkt.nw_src = flow.nw_src;
    pkt.in_port = 77;
    assert_ptr_equal(cls_lookup(cls, &pkt, NULL), &c);
    cls_remove(cls, &c);
    assert_int_equal(cls_check(cls), 0);
    assert_int_equal(cls_n_subtables(cls), 2);
    assert_ptr_equal(cls_lookup(cls, &pkt, NULL), &d);
    cls_remove(cls, &e);
    cls_remove(cls, &d);
    assert_int_equal(cls_check(cls), 0);
    assert_int_equal(cls_count(cls), 0);
    assert_int_equal(cls_n_subtables(cls), 0);
    assert_null(cls_lookup(cls, &pkt, NULL));

    /* Reinsertion after removal works. */
    assert_int_equal(cls_insert(cls, &d), 0);
    assert_ptr_equal(cls_lookup(cls, &pkt, NULL), &d);
    cls_remove(cls, &d);
    cls_destroy(cls);
    cls_destroy(NULL);
}

/* ---------------------------------------------------------------------- */
/* Random insert/remove/lookup against the oracle. */

#define N_POOL 400

static void
test_random(void **state)
{
    struct cls_rule *pool = calloc(N_POOL, sizeof *pool);
    bool in[N_POOL] = { false };
    struct oracle o = { 0 };
    struct cls *cls = cls_create(NULL, NULL);
    size_t n_chained = 0, n_eexist = 0;

    (void) state;
    rng_state = 0x1234567;
    assert_non_null(pool);
    for (int op = 0; op < 6000; op++) {
        size_t i = rnd_n(N_POOL);

        if (!in[i]) {
            struct flow flow, mask;
            int32_t prio = rnd_n(rnd_n(2) ? 1000 : 30);
            int error;

            if (o.n && rnd_n(5) == 0) {
                /* Same mask and key as an existing rule: a chain. */
                const struct cls_rule *x = o.rules[rnd_n(o.n)];

                flow = x->flow;
                mask = *x->mask;
                n_chained++;
            } else {
                random_match(&flow, &mask);
            }
            test_rule_init(&pool[i], &flow, &mask, prio);
            error = cls_insert(cls, &pool[i]);
            if (oracle_find_exactly(&o, &pool[i])) {
                assert_int_equal(error, EEXIST);
                n_eexist++;
            } else {
                assert_int_equal(error, 0);
                in[i] = true;
                oracle_add(&o, &pool[i]);
                assert_ptr_equal(cls_find_exactly(cls, &flow, &mask, prio),
                                 &pool[i]);
            }
        } else {
            cls_remove(cls, &pool[i]);
            in[i] = false;
            oracle_del(&o, &pool[i]);
            assert_null(oracle_find_exactly(&o, &pool[i])
                        ? NULL
                        : cls_find_exactly(cls, &pool[i].flow,
                                           pool[i].mask,
                                           pool[i].priority));
        }
        assert_int_equal(cls_check(cls), 0);
        assert_int_equal(cls_count(cls), o.n);
        for (int k = 0; k < 8; k++) {
            struct flow pkt;

            random_packet(&pkt);
            check_answer(&o, &pkt, cls_lookup(cls, &pkt, NULL));
        }
        if (op % 500 == 0) {
            cls_rank(cls);
            assert_int_equal(cls_check(cls), 0);
        }
    }
    assert_true(n_chained > 100);
    assert_true(cls_n_subtables(cls) > 10);
    (void) n_eexist;

    /* Remove everything. */
    for (size_t i = 0; i < N_POOL; i++) {
        if (in[i]) {
            cls_remove(cls, &pool[i]);
            oracle_del(&o, &pool[i]);
            assert_int_equal(cls_check(cls), 0);
        }
    }
    assert_int_equal(cls_count(cls), 0);
    assert_int_equal(cls_n_subtables(cls), 0);
    cls_destroy(cls);
    free(o.rules);
    free(pool);
}

/* ---------------------------------------------------------------------- */
/* Un-wildcarding. */

/* Builds a random classifier of 'n' rules with distinct priorities. */
static struct cls_rule *
build_random(struct cls *cls, struct oracle *o, size_t n)
{
    struct cls_rule *rules = calloc(n, sizeof *rules);

    assert_non_null(rules);
    for (size_t i = 0; i < n; i++) {
        struct flow flow, mask;

        random_match(&flow, &mask);
        test_rule_init(&rules[i], &flow, &mask, (int32_t) (i * 7 % n));
        assert_int_equal(cls_insert(cls, &rules[i]), 0);
        oracle_add(o, &rules[i]);
    }
    assert_int_equal(cls_check(cls), 0);
    return rules;
}

/* 'out' agrees with 'flow' on 'wc' and is random elsewhere. */
static void
perturb(const struct flow *flow, const struct flow *wc, struct flow *out)
{
    struct flow r;

    random_packet(&r);
    for (size_t w = 0; w < FLOW_U64S; w++) {
        uint64_t m = word(wc, w);
        uint64_t x = rnd_n(3) ? word(&r, w) : rnd();

        set_word(out, w, (word(flow, w) & m) | (x & ~m));
    }
}

static void
test_wildcards(void **state)
{
    struct cls *cls = cls_create(NULL, NULL);
    struct oracle o = { 0 };
    struct cls_rule *rules;
    struct flow all_masks;
    size_t n_narrower = 0, n_hits = 0;

    (void) state;
    rng_state = 0xfeedface;
    rules = build_random(cls, &o, 300);
    memset(&all_masks, 0, sizeof all_masks);
    for (size_t i = 0; i < o.n; i++) {
        for (size_t w = 0; w < FLOW_U64S; w++) {
            set_word(&all_masks, w,
                     word(&all_masks, w) | word(o.rules[i]->mask, w));
        }
    }
    for (int i = 0; i < 3000; i++) {
        struct flow pkt, wc;
        const struct cls_rule *r;

        random_packet(&pkt);
        memset(&wc, 0, sizeof wc);
        r = cls_lookup(cls, &pkt, &wc);
        check_answer(&o, &pkt, r);
        n_hits += r != NULL;
        assert_true(flow_subset(&wc, &all_masks));
        if (memcmp(&wc, &all_masks, sizeof wc)) {
            n_narrower++;
        }
        for (int k = 0; k < 10; k++) {
            struct flow p2, wc2;

            perturb(&pkt, &wc, &p2);
            assert_ptr_equal(oracle_lookup(&o, &p2, NULL), r);
            memset(&wc2, 0, sizeof wc2);
            assert_ptr_equal(cls_lookup(cls, &p2, &wc2), r);
        }
    }
    assert_true(n_hits > 1000);
    assert_true(n_narrower > 0);
    for (size_t i = 0; i < o.n; i++) {
        cls_remove(cls, o.rules[i]);
    }
    cls_destroy(cls);
    free(rules);
    free(o.rules);
}

/* Deliberate cases where staging (and priority pruning) must give a
 * narrower wildcard than the OR of all subtable masks. */
static void
test_wildcards_staged(void **state)
{
    struct cls *cls = cls_create(NULL, NULL);
    struct cls_rule a, b, c, hi;
    struct flow flow, mask, pkt, wc;

    (void) state;

    /* a: in_port 1, nw_src 10.0.0.1, tp_dst 80, priority 10. */
    memset(&flow, 0, sizeof flow);
    memset(&mask, 0, sizeof mask);
    flow.in_port = 1;
    flow.dl_type = htons(ETH_TYPE_IP);
    flow.nw_src = htonl(0x0a000001);
    flow.tp_dst = htons(80);
    mask.in_port = UINT32_MAX;
    mask.dl_type = 0xffff;
    mask.nw_src = UINT32_MAX;
    mask.tp_dst = 0xffff;
    test_rule_init(&a, &flow, &mask, 10);
    assert_int_equal(cls_insert(cls, &a), 0);
    /* b: catch-all, priority 0. */
    memset(&mask, 0, sizeof mask);
    test_rule_init(&b, &flow, &mask, 0);
    assert_int_equal(cls_insert(cls, &b), 0);

    /* Miss in the L3 stage: in_port, dl_type, nw_src consulted; tp_dst
     * not. */
    pkt = flow;
    pkt.nw_src = htonl(0x0a000002);
    memset(&wc, 0, sizeof wc);
    assert_ptr_equal(cls_lookup(cls, &pkt, &wc), &b);
    assert_int_equal(wc.in_port, UINT32_MAX);
    assert_int_equal(wc.dl_type, 0xffff);
    assert_int_equal(wc.nw_src, UINT32_MAX);
    assert_int_equal(wc.tp_dst, 0);

    /* Miss in the metadata stage: only in_port consulted. */
    pkt = flow;
    pkt.in_port = 2;
    memset(&wc, 0, sizeof wc);
    assert_ptr_equal(cls_lookup(cls, &pkt, &wc), &b);
    assert_int_equal(wc.in_port, UINT32_MAX);
    assert_int_equal(wc.dl_type, 0);
    assert_int_equal(wc.nw_src, 0);
    assert_int_equal(wc.tp_dst, 0);

    /* Full match: the whole mask. */
    memset(&wc, 0, sizeof wc);
    assert_ptr_equal(cls_lookup(cls, &flow, &wc), &a);
    assert_int_equal(wc.tp_dst, 0xffff);
    assert_int_equal(wc.nw_src, UINT32_MAX);

    /* Priority pruning: 'hi' (priority 100, nw_dst only) matches, so
     * subtables whose max priority is <= 100 add nothing; add 'c'
     * (priority 50, tp_src) to be sure it is skipped. */
    memset(&mask, 0, sizeof mask);
    mask.nw_dst = UINT32_MAX;
    flow.nw_dst = htonl(0x01020304);
    test_rule_init(&hi, &flow, &mask, 100);
    assert_int_equal(cls_insert(cls, &hi), 0);
    memset(&mask, 0, sizeof mask);
    mask.tp_src = 0xffff;
    test_rule_init(&c, &flow, &mask, 50);
    assert_int_equal(cls_insert(cls, &c), 0);
    assert_int_equal(cls_check(cls), 0);
    memset(&wc, 0, sizeof wc);
    assert_ptr_equal(cls_lookup(cls, &flow, &wc), &hi);
    assert_int_equal(wc.nw_dst, UINT32_MAX);
    assert_int_equal(wc.tp_src, 0);
    assert_int_equal(wc.in_port, 0);
    assert_int_equal(wc.tp_dst, 0);

    cls_remove(cls, &a);
    cls_remove(cls, &b);
    cls_remove(cls, &c);
    cls_remove(cls, &hi);
    assert_int_equal(cls_check(cls), 0);
    cls_destroy(cls);
}

/* ---------------------------------------------------------------------- */
/* Batch lookup and ranking. */

static void
test_batch(void **state)
{
    struct cls *cls = cls_create(NULL, NULL);
    struct oracle o = { 0 };
    struct cls_rule *rules;
    enum { N = 100 };
    struct flow pkts[N];
    const struct flow *ptrs[N];
    const struct cls_rule *res[N];

    (void) state;
    rng_state = 0xabcdef;
    rules = build_random(cls, &o, 200);
    /* Some equal priorities too. */
    for (size_t i = 0; i < 50; i++) {
        cls_remove(cls, &rules[i]);
        rules[i].priority = 5;
        if (cls_insert(cls, &rules[i])) {
            oracle_del(&o, &rules[i]);
        }
    }
    assert_int_equal(cls_check(cls), 0);
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + rnd_n(N), found;
        size_t want = 0;

        for (size_t i = 0; i < n; i++) {
            random_packet(&pkts[i]);
            ptrs[i] = &pkts[i];
        }
        found = cls_lookup_batch(cls, ptrs, n, res);
        for (size_t i = 0; i < n; i++) {
            const struct cls_rule *single = cls_lookup(cls, &pkts[i], NULL);

            check_answer(&o, &pkts[i], res[i]);
            if (single) {
                assert_non_null(res[i]);
                assert_int_equal(single->priority, res[i]->priority);
                want++;
            } else {
                assert_null(res[i]);
            }
        }
        assert_int_equal(found, want);
    }
    assert_int_equal(cls_lookup_batch(cls, ptrs, 0, res), 0);
    for (size_t i = 0; i < o.n; i++) {
        cls_remove(cls, o.rules[i]);
    }
    assert_int_equal(cls_count(cls), 0);
    cls_destroy(cls);
    free(rules);
    free(o.rules);
}

/* The batched lookup is specialised by the length of a subtable's hash
 * list (cls.c: probe_subtable()).  Masks of 1 to 14 random words (words
 * that straddle a stage boundary count twice in the list), each with
 * rules of several priorities; packets that are rule keys with random
 * bits outside the mask (hits) or with one masked bit flipped (misses):
 * the batch must agree with cls_lookup() and the linear oracle. */
static void
test_batch_shapes(void **state)
{
    (void) state;
    rng_state = 0x5eed5eed;
    for (size_t n_words = 1; n_words <= 14; n_words++) {
        struct cls *cls = cls_create(NULL, NULL);
        struct oracle o = { 0 };
        enum { N_MASKS = 3, N_RULES = 40, N_PKTS = 64 };
        struct cls_rule *rules = calloc(N_MASKS * N_RULES, sizeof *rules);
        struct flow masks[N_MASKS];
        struct flow pkts[N_PKTS];
        const struct flow *ptrs[N_PKTS];
        const struct cls_rule *res[N_PKTS];

        assert_non_null(rules);
        for (size_t m = 0; m < N_MASKS; m++) {
            memset(&masks[m], 0, sizeof masks[m]);
            for (size_t k = 0; k < n_words; k++) {
                size_t w;

                do {
                    w = rnd_n(FLOW_U64S);
                } while (word(&masks[m], w));
                set_word(&masks[m], w, rnd() | 1);
            }
            for (size_t r = 0; r < N_RULES; r++) {
                struct cls_rule *rule = &rules[m * N_RULES + r];
                struct flow f;

                for (size_t w = 0; w < FLOW_U64S; w++) {
                    /* Few values per word, so that keys repeat across
                     * priorities and chains form. */
                    set_word(&f, w, rnd_n(4) ? rnd() : 0);
                }
                test_rule_init(rule, &f, &masks[m], (int32_t) rnd_n(5));
                if (!cls_insert(cls, rule)) {
                    oracle_add(&o, rule);
                }
            }
        }
        assert_int_equal(cls_check(cls), 0);
        for (int round = 0; round < 20; round++) {
            size_t n = 1 + rnd_n(N_PKTS);

            for (size_t i = 0; i < n; i++) {
                const struct cls_rule *r = o.rules[rnd_n(o.n)];
                const struct flow *mk = r->mask;

                for (size_t w = 0; w < FLOW_U64S; w++) {
                    set_word(&pkts[i], w, word(&r->flow, w)
                             | (rnd() & ~word(mk, w)));
                }
                if (rnd_n(3) == 0) {
                    size_t w;

                    do {
                        w = rnd_n(FLOW_U64S);
                    } while (!word(mk, w));
                    set_word(&pkts[i], w, word(&pkts[i], w)
                             ^ (word(mk, w) & -word(mk, w)));
                }
                ptrs[i] = &pkts[i];
            }
            cls_lookup_batch(cls, ptrs, n, res);
            for (size_t i = 0; i < n; i++) {
                const struct cls_rule *single = cls_lookup(cls, &pkts[i],
                                                           NULL);

                check_answer(&o, &pkts[i], res[i]);
                if (single) {
                    assert_non_null(res[i]);
                    assert_int_equal(single->priority, res[i]->priority);
                } else {
                    assert_null(res[i]);
                }
            }
        }
        for (size_t i = 0; i < o.n; i++) {
            cls_remove(cls, o.rules[i]);
        }
        cls_destroy(cls);
        free(rules);
        free(o.rules);
    }
}

/* Megaflow-style: one priority, disjoint rules; the busiest subtable must
 * come first after cls_rank(). */
static void
test_rank(void **state)
{
    struct cls *cls = cls_create(NULL, NULL);
    struct cls_rule rules[4];
    struct flow masks[8], pkt;
    const struct flow *ptrs[32];
    const struct cls_rule *res[32];

    (void) state;
    for (size_t i = 0; i < 4; i++) {
        struct flow flow, mask;

        memset(&flow, 0, sizeof flow);
        memset(&mask, 0, sizeof mask);
        mask.in_port = UINT32_MAX;
        flow.in_port = i;
        /* Different masks: i more bits of tp_dst. */
        mask.tp_dst = htons(0xffff << i);
        test_rule_init(&rules[i], &flow, &mask, 0);
        assert_int_equal(cls_insert(cls, &rules[i]), 0);
    }
    assert_int_equal(cls_n_subtables(cls), 4);
    for (int busy = 3; busy >= 0; busy--) {
        memset(&pkt, 0, sizeof pkt);
        pkt.in_port = busy;
        for (size_t i = 0; i < 32; i++) {
            ptrs[i] = &pkt;
        }
        cls_rank(cls);          /* Reset the counters. */
        assert_int_equal(cls_lookup_batch(cls, ptrs, 32, res), 32);
        for (size_t i = 0; i < 32; i++) {
            assert_ptr_equal(res[i], &rules[busy]);
        }
        cls_rank(cls);
        assert_int_equal(cls_check(cls), 0);
        assert_int_equal(cls_subtable_masks(cls, masks, 8), 4);
        assert_memory_equal(&masks[0], rules[busy].mask, sizeof masks[0]);
    }
    for (size_t i = 0; i < 4; i++) {
        cls_remove(cls, &rules[i]);
    }
    cls_destroy(cls);
}

/* ---------------------------------------------------------------------- */
/* Iteration. */

struct iter_ctx {
    struct cls *cls;
    size_t visits, removed;
    bool remove_all;
};

static void
iter_cb(struct cls_rule *r, void *aux_)
{
    struct iter_ctx *ctx = aux_;

    ctx->visits++;
    assert_int_equal(r->hash & 0, 0);
    if (ctx->remove_all || r->priority % 2) {
        cls_remove(ctx->cls, r);
        ctx->removed++;
    }
}

static void
test_for_each(void **state)
{
    struct cls *cls = cls_create(NULL, NULL);
    struct oracle o = { 0 };
    struct cls_rule *rules;
    struct iter_ctx ctx = { .cls = cls };
    size_t n_odd = 0;

    (void) state;
    rng_state = 0x777;
    rules = build_random(cls, &o, 300);
    for (size_t i = 0; i < o.n; i++) {
        n_odd += o.rules[i]->priority % 2;
    }
    cls_for_each(cls, iter_cb, &ctx);
    assert_int_equal(ctx.visits, 300);
    assert_int_equal(ctx.removed, n_odd);
    assert_int_equal(cls_count(cls), 300 - n_odd);
    assert_int_equal(cls_check(cls), 0);
    for (size_t i = 0; i < 300; i++) {
        if (rules[i].priority % 2) {
            oracle_del(&o, &rules[i]);
        }
    }
    for (int i = 0; i < 500; i++) {
        struct flow pkt;

        random_packet(&pkt);
        check_answer(&o, &pkt, cls_lookup(cls, &pkt, NULL));
    }
    ctx.visits = ctx.removed = 0;
    ctx.remove_all = true;
    cls_for_each(cls, iter_cb, &ctx);
    assert_int_equal(ctx.visits, 300 - n_odd);
    assert_int_equal(cls_count(cls), 0);
    assert_int_equal(cls_n_subtables(cls), 0);
    assert_int_equal(cls_check(cls), 0);
    cls_destroy(cls);
    free(rules);
    free(o.rules);
}

/* ---------------------------------------------------------------------- */
/* ClassBench. */

struct cb_rule {
    uint32_t src, smask, dst, dmask;
    uint16_t sp_lo, sp_hi, dp_lo, dp_hi;
    uint8_t proto, pmask;
};

struct cb_pkt {
    uint32_t src, dst;
    uint16_t sp, dp;
    uint8_t proto;
    long expected;
};

static bool
parse_ip(const char *s, uint32_t *ip, uint32_t *mask)
{
    unsigned int a, b, c, d, len;

    if (sscanf(s, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &len) != 5
        || a > 255 || b > 255 || c > 255 || d > 255 || len > 32) {
        return false;
    }
    *mask = len ? 0xffffffffu << (32 - len) : 0;
    *ip = ((a << 24) | (b << 16) | (c << 8) | d) & *mask;
    return true;
}

/* Parses one rule line; false if malformed. */
static bool
cb_parse_rule(const char *line, struct cb_rule *r)
{
    char src[32], dst[32];
    unsigned int sl, sh, dl, dh, proto, pmask;

    if (sscanf(line, "@%31s %31s %u : %u %u : %u %x/%x", src, dst, &sl, &sh,
               &dl, &dh, &proto, &pmask) != 8
        || !parse_ip(src, &r->src, &r->smask)
        || !parse_ip(dst, &r->dst, &r->dmask)
        || sl > sh || sh > 65535 || dl > dh || dh > 65535
        || proto > 255 || pmask > 255) {
        return false;
    }
    r->sp_lo = sl;
    r->sp_hi = sh;
    r->dp_lo = dl;
    r->dp_hi = dh;
    r->proto = proto & pmask;
    r->pmask = pmask;
    return true;
}

static bool
cb_matches(const struct cb_rule *r, const struct cb_pkt *p)
{
    return (p->src & r->smask) == r->src && (p->dst & r->dmask) == r->dst
           && p->sp >= r->sp_lo && p->sp <= r->sp_hi
           && p->dp >= r->dp_lo && p->dp <= r->dp_hi
           && (p->proto & r->pmask) == r->proto;
}

/* Minimal prefix cover of [lo, hi]; returns the count. */
static size_t
range_to_prefixes(uint32_t lo, uint32_t hi, uint16_t *vals, uint16_t *masks)
{
    size_t n = 0;

    while (lo <= hi) {
        uint32_t size = lo ? lo & -lo : 0x10000;

        while (lo + size - 1 > hi) {
            size /= 2;
        }
        vals[n] = lo;
        masks[n++] = ~(size - 1) & 0xffff;
        lo += size;
    }
    return n;
}

static void
test_range_to_prefixes(void **state)
{
    uint16_t v[40], m[40];

    (void) state;
    assert_int_equal(range_to_prefixes(0, 65535, v, m), 1);
    assert_int_equal(m[0], 0);
    assert_int_equal(range_to_prefixes(80, 80, v, m), 1);
    assert_int_equal(m[0], 0xffff);
    assert_int_equal(range_to_prefixes(1024, 65535, v, m), 6);
    assert_int_equal(range_to_prefixes(1, 65534, v, m), 30);
    /* Exhaustive check of coverage on random ranges. */
    for (int k = 0; k < 50; k++) {
        uint32_t lo = rnd_n(65536), hi = lo + rnd_n(65536 - lo);
        size_t n = range_to_prefixes(lo, hi, v, m);

        assert_true(n <= 30);
        for (uint32_t p = 0; p < 65536; p += 1 + rnd_n(64)) {
            size_t hits = 0;

            for (size_t i = 0; i < n; i++) {
                hits += (p & m[i]) == v[i];
            }
            assert_int_equal(hits, p >= lo && p <= hi);
        }
    }
    /* Malformed rule lines are refused. */
    {
        struct cb_rule r;

        assert_true(cb_parse_rule("@1.2.3.4/32 5.6.7.8/0 0 : 65535 "
                                  "80 : 80 0x06/0xFF", &r));
        assert_false(cb_parse_rule("@1.2.3.4/33 5.6.7.8/0 0 : 65535 "
                                   "80 : 80 0x06/0xFF", &r));
        assert_false(cb_parse_rule("@1.2.3.4/32 5.6.7.8/0 9 : 1 "
                                   "80 : 80 0x06/0xFF", &r));
        assert_false(cb_parse_rule("1.2.3.4/32", &r));
        assert_false(cb_parse_rule("", &r));
    }
}

struct cb_set {
    struct cb_rule *rules;
    size_t n_rules;
    struct cb_pkt *pkts;
    size_t n_pkts;
};

static bool
cb_load(const char *name, struct cb_set *set)
{
    char path[512], line[256];
    FILE *f;
    size_t alloc = 0;

    memset(set, 0, sizeof *set);
    snprintf(path, sizeof path, "%s/%s.rules", CLASSBENCH_DIR, name);
    f = fopen(path, "r");
    if (!f) {
        return false;
    }
    while (fgets(line, sizeof line, f)) {
        if (set->n_rules == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            set->rules = realloc(set->rules, alloc * sizeof *set->rules);
            assert_non_null(set->rules);
        }
        assert_true(cb_parse_rule(line, &set->rules[set->n_rules]));
        set->n_rules++;
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/%s.trace", CLASSBENCH_DIR, name);
    f = fopen(path, "r");
    assert_non_null(f);
    alloc = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long src, dst, sp, dp, proto;
        long exp;
        struct cb_pkt *p;

        if (set->n_pkts == alloc) {
            alloc = alloc ? 2 * alloc : 4096;
            set->pkts = realloc(set->pkts, alloc * sizeof *set->pkts);
            assert_non_null(set->pkts);
        }
        assert_int_equal(sscanf(line, "%lu %lu %lu %lu %lu %ld", &src, &dst,
                                &sp, &dp, &proto, &exp), 6);
        assert_true(src <= UINT32_MAX && dst <= UINT32_MAX && sp < 65536
                    && dp < 65536 && proto < 256);
        p = &set->pkts[set->n_pkts++];
        p->src = src;
        p->dst = dst;
        p->sp = sp;
        p->dp = dp;
        p->proto = proto;
        p->expected = exp;
    }
    fclose(f);
    return true;
}

static void
cb_flow(const struct cb_pkt *p, struct flow *flow)
{
    memset(flow, 0, sizeof *flow);
    flow->in_port = 1;
    flow->dl_type = htons(ETH_TYPE_IP);
    flow->nw_src = htonl(p->src);
    flow->nw_dst = htonl(p->dst);
    flow->nw_proto = p->proto;
    flow->tp_src = htons(p->sp);
    flow->tp_dst = htons(p->dp);
    flow->nw_ttl = 64;
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Linear scan over the original rules: 1-based index or 0. */
static size_t
cb_oracle(const struct cb_set *set, const struct cb_pkt *p)
{
    for (size_t i = 0; i < set->n_rules; i++) {
        if (cb_matches(&set->rules[i], p)) {
            return i + 1;
        }
    }
    return 0;
}

static void
run_classbench(const char *name, size_t oracle_stride)
{
    struct cb_set set;
    struct cls *cls;
    struct cls_rule *crules = NULL;
    size_t n_crules = 0, alloc = 0;
    size_t n_agree_expected = 0, n_checked = 0, n_nomatch = 0;
    struct flow *flows;
    const struct flow **ptrs;
    const struct cls_rule **res;
    double t0, t_insert, t_single, t_batch;
    size_t n_found, step, n_cls_expected = 0;
    int passes;

    /* The sets are part of the repository (tests/data/classbench): a
     * missing one is a broken checkout, not a reason to skip. */
    if (!cb_load(name, &set)) {
        fail_msg("classbench %s: cannot read %s/%s.rules", name,
                 CLASSBENCH_DIR, name);
    }
    /* Expand: each rule becomes (sport prefixes) x (dport prefixes). */
    for (size_t i = 0; i < set.n_rules; i++) {
        const struct cb_rule *r = &set.rules[i];
        uint16_t sv[32], sm[32], dv[32], dm[32];
        size_t ns = range_to_prefixes(r->sp_lo, r->sp_hi, sv, sm);
        size_t nd = range_to_prefixes(r->dp_lo, r->dp_hi, dv, dm);

        if (n_crules + ns * nd > alloc) {
            alloc = 2 * (n_crules + ns * nd);
            crules = realloc(crules, alloc * sizeof *crules);
            assert_non_null(crules);
        }
        for (size_t a = 0; a < ns; a++) {
            for (size_t b = 0; b < nd; b++) {
                struct flow flow, mask;

                memset(&flow, 0, sizeof flow);
                memset(&mask, 0, sizeof mask);
                flow.dl_type = htons(ETH_TYPE_IP);
                mask.dl_type = 0xffff;
                flow.nw_src = htonl(r->src);
                mask.nw_src = htonl(r->smask);
                flow.nw_dst = htonl(r->dst);
                mask.nw_dst = htonl(r->dmask);
                flow.nw_proto = r->proto;
                mask.nw_proto = r->pmask;
                flow.tp_src = htons(sv[a]);
                mask.tp_src = htons(sm[a]);
                flow.tp_dst = htons(dv[b]);
                mask.tp_dst = htons(dm[b]);
                test_rule_init(&crules[n_crules++], &flow, &mask,
                              (int32_t) (set.n_rules - i));
            }
        }
    }
    cls = cls_create(NULL, NULL);
    t0 = now_sec();
    for (size_t i = 0; i < n_crules; i++) {
        assert_int_equal(cls_insert(cls, &crules[i]), 0);
    }
    t_insert = now_sec() - t0;
    assert_int_equal(cls_check(cls), 0);
    assert_int_equal(cls_count(cls), n_crules);

    flows = malloc(set.n_pkts * sizeof *flows);
    ptrs = malloc(set.n_pkts * sizeof *ptrs);
    res = malloc(set.n_pkts * sizeof *res);
    assert_true(flows && ptrs && res);
    for (size_t i = 0; i < set.n_pkts; i++) {
        cb_flow(&set.pkts[i], &flows[i]);
        ptrs[i] = &flows[i];
    }

    /* Correctness: every packet (or every 'oracle_stride'th) against the
     * linear scan over the original rules; wildcards on a sample. */
    for (size_t i = 0; i < set.n_pkts; i++) {
        const struct cls_rule *r;
        size_t got, want;
        struct flow wc;

        memset(&wc, 0, sizeof wc);
        r = cls_lookup(cls, &flows[i], i % 8 ? NULL : &wc);
        got = r ? set.n_rules - r->priority + 1 : 0;
        n_cls_expected += (long) got == set.pkts[i].expected;
        if (i % oracle_stride == 0) {
            want = cb_oracle(&set, &set.pkts[i]);
            assert_int_equal(got, want);
            n_checked++;
            n_agree_expected += (long) want == set.pkts[i].expected;
            n_nomatch += !want;
        }
        if (i % 8 == 0 && i % (8 * oracle_stride) == 0) {
            /* Un-wildcarding holds on real rule sets too. */
            for (int k = 0; k < 4; k++) {
                struct flow p2;
                struct cb_pkt cp;

                perturb(&flows[i], &wc, &p2);
                cp.src = ntohl(p2.nw_src);
                cp.dst = ntohl(p2.nw_dst);
                cp.sp = ntohs(p2.tp_src);
                cp.dp = ntohs(p2.tp_dst);
                cp.proto = p2.nw_proto;
                if (p2.dl_type != htons(ETH_TYPE_IP)) {
                    assert_null(r);
                    continue;
                }
                assert_int_equal(cb_oracle(&set, &cp), got);
            }
        }
    }

    /* Batch agrees with single lookups. */
    n_found = cls_lookup_batch(cls, ptrs, set.n_pkts, res);
    for (size_t i = 0; i < set.n_pkts; i++) {
        const struct cls_rule *r = cls_lookup(cls, &flows[i], NULL);

        assert_ptr_equal(res[i], r);
        n_found -= r != NULL;
    }
    assert_int_equal(n_found, 0);

    /* Informal throughput. */
    passes = set.n_pkts > 50000 ? 1 : 10;
    t0 = now_sec();
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < set.n_pkts; i++) {
            res[i] = cls_lookup(cls, &flows[i], NULL);
        }
    }
    t_single = now_sec() - t0;
    t0 = now_sec();
    for (int p = 0; p < passes; p++) {
        cls_lookup_batch(cls, ptrs, set.n_pkts, res);
    }
    t_batch = now_sec() - t0;
    fprintf(stderr,
            "classbench %s: %zu rules -> %zu cls rules in %zu subtables, "
            "insert %.0f ms; oracle checked %zu/%zu packets (%zu match "
            "nothing), EXPECTED agrees with the oracle on %zu of those and "
            "with cls on %zu/%zu; lookup %.2f Mpps, batch %.2f Mpps\n",
            name, set.n_rules, n_crules, cls_n_subtables(cls),
            t_insert * 1e3, n_checked, set.n_pkts, n_nomatch,
            n_agree_expected, n_cls_expected, set.n_pkts,
            passes * set.n_pkts / t_single / 1e6,
            passes * set.n_pkts / t_batch / 1e6);

    /* Tear down in a scrambled order (7919 is prime; the step is coprime
     * with n_crules unless it divides it), checking now and then. */
    step = n_crules % 7919 ? 7919 : 1;
    for (size_t i = 0; i < n_crules; i++) {
        cls_remove(cls, &crules[(i * step) % n_crules]);
        if (i % (n_crules / 8 + 1) == 0) {
            assert_int_equal(cls_check(cls), 0);
        }
    }
    assert_int_equal(cls_count(cls), 0);
    assert_int_equal(cls_n_subtables(cls), 0);
    cls_destroy(cls);
    free(flows);
    free(ptrs);
    free(res);
    free(crules);
    free(set.rules);
    free(set.pkts);
}

static void
test_classbench(void **state)
{
    const char *big = getenv("CLS_TEST_SMALL");

    (void) state;
    run_classbench("acl1_1K", 1);
    run_classbench("fw1_1K", 1);
    run_classbench("ipc1_1K", 1);
    if (!big) {
        run_classbench("acl1_10K", 16);
        run_classbench("fw1_10K", 16);
        run_classbench("ipc1_10K", 16);
    }
}

/* ---------------------------------------------------------------------- */
/* Concurrency smoke test: one writer, one reader. */

struct defer_list {
    void **ptrs;
    size_t n, alloc;
};

static void
defer_cb(void *p, void *aux)
{
    struct defer_list *d = aux;

    if (d->n == d->alloc) {
        d->alloc = d->alloc ? 2 * d->alloc : 1024;
        d->ptrs = realloc(d->ptrs, d->alloc * sizeof *d->ptrs);
        if (!d->ptrs) {
            abort();
        }
    }
    d->ptrs[d->n++] = p;
}

struct conc {
    struct cls *cls;
    struct defer_list defer;    /* Writer only (and main after join). */
    const struct cls_rule *perm;
    int done;
    size_t n_lookups;
    size_t n_bad;
};

#define CONC_PERM_NET 0x0a010100u   /* 10.1.1.0/24 */

static void *
conc_reader(void *aux_)
{
    struct conc *c = aux_;
    uint64_t x = 0x1234;

    while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
        struct flow pkts[8];
        const struct flow *ptrs[8];
        const struct cls_rule *res[8];
        struct flow wc;

        for (size_t i = 0; i < 8; i++) {
            test_xorshift64(&x);
            memset(&pkts[i], 0, sizeof pkts[i]);
            pkts[i].in_port = x % 4;
            pkts[i].dl_type = htons(ETH_TYPE_IP);
            pkts[i].nw_src = htonl(CONC_PERM_NET | (x >> 8 & 0xff));
            pkts[i].nw_dst = htonl(x >> 16);
            pkts[i].tp_src = htons(x >> 32);
            pkts[i].tp_dst = htons(x >> 48);
            ptrs[i] = &pkts[i];
        }
        memset(&wc, 0, sizeof wc);
        if (cls_lookup(c->cls, &pkts[0], &wc) != c->perm) {
            c->n_bad++;
        }
        if (cls_lookup(c->cls, &pkts[1], NULL) != c->perm) {
            c->n_bad++;
        }
        if (cls_lookup_batch(c->cls, ptrs, 8, res) != 8) {
            c->n_bad++;
        }
        for (size_t i = 0; i < 8; i++) {
            if (res[i] != c->perm) {
                c->n_bad++;
            }
        }
        c->n_lookups += 10;
    }
    return NULL;
}

static void
test_concurrency(void **state)
{
    enum { N_SLOTS = 600, N_OPS = 60000 };
    struct conc c;
    struct cls_rule perm;
    struct cls_rule *live[N_SLOTS] = { NULL };
    struct flow flow, mask;
    pthread_t reader;

    (void) state;
    memset(&c, 0, sizeof c);
    c.cls = cls_create(defer_cb, &c.defer);
    assert_non_null(c.cls);
    memset(&flow, 0, sizeof flow);
    memset(&mask, 0, sizeof mask);
    flow.dl_type = htons(ETH_TYPE_IP);
    mask.dl_type = 0xffff;
    flow.nw_src = htonl(CONC_PERM_NET);
    mask.nw_src = htonl(0xffffff00);
    test_rule_init(&perm, &flow, &mask, 1000000);
    assert_int_equal(cls_insert(c.cls, &perm), 0);
    c.perm = &perm;

    assert_int_equal(pthread_create(&reader, NULL, conc_reader, &c), 0);
    rng_state = 0x5eed;
    for (int op = 0; op < N_OPS; op++) {
        size_t i = rnd_n(N_SLOTS);

        if (live[i]) {
            cls_remove(c.cls, live[i]);
            defer_cb(live[i], &c.defer);    /* Freed after the reader. */
            live[i] = NULL;
        } else {
            struct cls_rule *r = malloc(sizeof *r);

            assert_non_null(r);
            random_match(&flow, &mask);
            switch (rnd_n(4)) {
            case 0:
                /* Same mask as 'perm', many keys: table rebuilds. */
                mask = *perm.mask;
                flow.nw_src = htonl(0x0a000000 | rnd_n(1 << 16) << 8);
                break;
            case 1:
                /* Same key as 'perm', lower priority: chains. */
                flow = perm.flow;
                mask = *perm.mask;
                break;
            default:
                break;
            }
            test_rule_init(r, &flow, &mask, rnd_n(999999));
            if (cls_insert(c.cls, r)) {
                free(r);
            } else {
                live[i] = r;
            }
        }
        if (op % 5000 == 0) {
            cls_rank(c.cls);
        }
        if (op % 500 == 0) {
            /* Burst: grow 'perm''s subtable through several table and
             * stage-set rebuilds, then shrink it back. */
            struct cls_rule *burst = calloc(300, sizeof *burst);

            assert_non_null(burst);
            for (size_t k = 0; k < 300; k++) {
                flow = perm.flow;
                flow.nw_src = htonl(0x0b000000 | k << 8);
                flow.in_port = k;
                test_rule_init(&burst[k], &flow, perm.mask, k);
                assert_int_equal(cls_insert(c.cls, &burst[k]), 0);
            }
            for (size_t k = 0; k < 300; k++) {
                cls_remove(c.cls, &burst[k]);
            }
            defer_cb(burst, &c.defer);
        }
    }
    __atomic_store_n(&c.done, 1, __ATOMIC_RELEASE);
    pthread_join(reader, NULL);
    assert_int_equal(cls_check(c.cls), 0);
    fprintf(stderr, "concurrency: %zu lookups during %d writer ops, "
            "%zu deferred frees\n", c.n_lookups, N_OPS, c.defer.n);
    assert_int_equal(c.n_bad, 0);
    assert_true(c.n_lookups > 0);

    for (size_t i = 0; i < N_SLOTS; i++) {
        if (live[i]) {
            cls_remove(c.cls, live[i]);
            free(live[i]);
        }
    }
    cls_remove(c.cls, &perm);
    assert_int_equal(cls_count(c.cls), 0);
    cls_destroy(c.cls);
    for (size_t i = 0; i < c.defer.n; i++) {
        free(c.defer.ptrs[i]);
    }
    free(c.defer.ptrs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_wildcards_staged),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_shapes),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_for_each),
        cmocka_unit_test(test_range_to_prefixes),
        cmocka_unit_test(test_classbench),
        cmocka_unit_test(test_concurrency),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
