/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-cls.c: fuzz target for the tuple-space classifier: random insert,
 * remove and lookup against a linear-scan oracle, cls_check() after every
 * change. */

/*
 * Input: a program of operations, one opcode byte each followed by its
 * operand bytes (missing bytes read as zero):
 *   insert   a rule built from a field-selection mask (in_port, dl_dst,
 *            dl_type, VLAN, IPv4 src/dst prefixes, nw_proto, ports, IPv6
 *            prefix, tcp_flags bits) and a flow over small value alphabets,
 *            so that rules overlap and share masks; a small priority range
 *            so that priorities tie.
 *   remove   one of the inserted rules.
 *   lookup   a flow from the same alphabets: the answer must have the
 *            oracle's highest matching priority (the same rule when it is
 *            the only one at that priority), and the un-wildcarding
 *            promise must hold: a flow changed only outside the returned
 *            'wc' bits gets an answer of the same priority.
 *   batch    cls_lookup_batch() over several flows agrees with cls_lookup().
 *   rank     cls_rank().
 * Every change is followed by cls_check() and a count comparison; every
 * inserted rule must be found by cls_find_exactly().
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cls.h"
#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

#define MAX_RULES 128
#define MAX_OPS 512
#define BATCH 8

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t
rd(struct reader *r)
{
    if (!r->n) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

static uint32_t
be32(uint32_t x)
{
    return __builtin_bswap32(x);
}

static uint16_t
be16(uint16_t x)
{
    return __builtin_bswap16(x);
}

static uint32_t
prefix_mask(unsigned int len)
{
    return len ? be32(~0u << (32 - len)) : 0;
}

/* A flow over small alphabets, so that rules and packets collide. */
static void
gen_flow(struct reader *r, struct flow *f)
{
    static const uint16_t types[] = {
        ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_ARP, 0x88cc
    };
    static const uint8_t protos[] = { 6, 17, 1, 132 };
    uint8_t a = rd(r), b = rd(r), c = rd(r), d = rd(r), e = rd(r);

    memset(f, 0, sizeof *f);
    f->in_port = a & 3;
    f->dl_dst[5] = (a >> 2) & 3;
    f->dl_src[5] = (a >> 4) & 1;
    f->dl_type = be16(types[(a >> 5) & 3]);
    f->vlan_tci = (a & 0x80) ? be16(FLOW_VLAN_CFI | (b & 7)) : 0;
    f->nw_src = be32(0x0a000000u | (uint32_t) c << 8 | (b & 0xf0));
    f->nw_dst = be32(0x0a000000u | (uint32_t) d);
    f->nw_proto = protos[e & 3];
    f->tp_src = be16((uint16_t) ((e >> 2) & 3));
    f->tp_dst = be16((uint16_t) (80 + ((e >> 4) & 3)));
    f->ipv6_src[0] = 0x20;
    f->ipv6_src[15] = c;
    f->tcp_flags = be16((uint16_t) (d & 0x3f));
    f->nw_ttl = e & 0xc0;
}

/* A mask that selects whole fields or prefixes of them. */
static void
gen_mask(struct reader *r, struct flow *m)
{
    uint8_t sel = rd(r), sel2 = rd(r), p1 = rd(r), p2 = rd(r);

    memset(m, 0, sizeof *m);
    if (sel & 1) {
        m->in_port = UINT32_MAX;
    }
    if (sel & 2) {
        memset(m->dl_dst, 0xff, 6);
    }
    if (sel & 4) {
        m->dl_type = 0xffff;
    }
    if (sel & 8) {
        m->vlan_tci = be16((sel2 & 1) ? 0xffff : FLOW_VLAN_CFI);
    }
    if (sel & 16) {
        m->nw_src = prefix_mask(p1 % 33);
    }
    if (sel & 32) {
        m->nw_dst = prefix_mask(p2 % 33);
    }
    if (sel & 64) {
        m->nw_proto = 0xff;
    }
    if (sel & 128) {
        m->tp_dst = (sel2 & 2) ? 0xffff : be16(0xfffc);
    }
    if (sel2 & 4) {
        m->tp_src = 0xffff;
    }
    if (sel2 & 8) {
        memset(m->ipv6_src, 0xff, (size_t) (p1 >> 4) + 1);
    }
    if (sel2 & 16) {
        m->tcp_flags = be16((uint16_t) (p2 & 0x3f));
    }
    if (sel2 & 32) {
        m->dl_src[5] = 1;
    }
    if (sel2 & 64) {
        m->nw_ttl = 0x80;
    }
}

/* A rule with its own copy of its mask (struct cls_rule points to it),
 * allocated and freed (free()) together. */
struct owned_rule {
    struct cls_rule cr;                 /* First: free(cr) frees both. */
    struct flow mask;
};

static struct cls_rule *
rule_new(const struct flow *flow, const struct flow *mask, int32_t prio)
{
    struct owned_rule *o = malloc(sizeof *o);

    if (!o) {
        return NULL;
    }
    o->mask = *mask;
    cls_rule_init(&o->cr, flow, &o->mask, prio);
    return &o->cr;
}

static bool
rule_matches(const struct cls_rule *rule, const struct flow *flow)
{
    return flow_equal_masked(&rule->flow, flow, rule->mask);
}

/* The oracle: highest priority of a rule in 'rules' matching 'flow', or
 * INT64_MIN; '*n_best' = how many rules have it. */
static int64_t
oracle(struct cls_rule *const *rules, size_t n, const struct flow *flow,
       size_t *n_best, const struct cls_rule **best)
{
    int64_t p = INT64_MIN;
    size_t i;

    *n_best = 0;
    *best = NULL;
    for (i = 0; i < n; i++) {
        if (rule_matches(rules[i], flow)) {
            if (rules[i]->priority > p) {
                p = rules[i]->priority;
                *n_best = 1;
                *best = rules[i];
            } else if (rules[i]->priority == p) {
                ++*n_best;
            }
        }
    }
    return p;
}

static void
check_lookup(const struct cls *cls, struct cls_rule *const *rules, size_t n,
             const struct flow *flow, struct reader *r)
{
    const struct cls_rule *got, *want, *got2, *want2;
    struct flow wc, flow2;
    size_t n_best, n_best2, i;
    int64_t p, p2;

    memset(&wc, 0, sizeof wc);
    got = cls_lookup(cls, flow, &wc);
    FUZZ_ASSERT(got == cls_lookup(cls, flow, NULL));
    p = oracle(rules, n, flow, &n_best, &want);
    if (!want) {
        FUZZ_ASSERT(!got);
    } else {
        FUZZ_ASSERT(got && rule_matches(got, flow));
        FUZZ_ASSERT(got->priority == p);
        FUZZ_ASSERT(n_best > 1 || got == want);
    }

    /* Change bits outside 'wc': the answer must not change. */
    flow2 = *flow;
    {
        uint64_t *w = (uint64_t *) (void *) &flow2;
        const uint64_t *m = flow_u64(&wc);

        for (i = 0; i < FLOW_U64S; i++) {
            uint64_t noise = 0;
            size_t k;

            for (k = 0; k < 8; k++) {
                noise = noise << 8 | rd(r);
            }
            w[i] = (w[i] & m[i]) | (noise & ~m[i]);
        }
    }
    got2 = cls_lookup(cls, &flow2, NULL);
    p2 = oracle(rules, n, &flow2, &n_best2, &want2);
    FUZZ_ASSERT(!got == !got2);
    FUZZ_ASSERT(!want == !want2);
    if (got) {
        FUZZ_ASSERT(p2 == p && got2->priority == got->priority);
        FUZZ_ASSERT(n_best > 1 || got2 == got);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cls_rule *rules[MAX_RULES];
    struct reader r = { data, size };
    size_t n = 0, ops, i;
    struct cls *cls;

    cls = cls_create(NULL, NULL);
    if (!cls) {
        return 0;
    }
    for (ops = 0; ops < MAX_OPS && r.n; ops++) {
        uint8_t op = rd(&r);

        switch (op % 8) {
        case 0: case 1: case 2: {          /* insert */
            struct cls_rule *rule;
            struct flow f, m;
            int32_t prio;
            int error;

            if (n == MAX_RULES) {
                break;
            }
            gen_mask(&r, &m);
            gen_flow(&r, &f);
            prio = (int32_t) (rd(&r) % 8) - 2;
            rule = rule_new(&f, &m, prio);
            FUZZ_ASSERT(rule);
            error = cls_insert(cls, rule);
            if (error == EEXIST) {
                const struct cls_rule *old;

                old = cls_find_exactly(cls, &rule->flow, &m, prio);
                FUZZ_ASSERT(old);
                for (i = 0; i < n && rules[i] != old; i++) {
                    continue;
                }
                FUZZ_ASSERT(i < n);
                free(rule);
            } else {
                FUZZ_ASSERT(!error);
                rules[n++] = rule;
            }
            break;
        }
        case 3: {                           /* remove */
            size_t k;

            if (!n) {
                break;
            }
            k = rd(&r) % n;
            cls_remove(cls, rules[k]);
            FUZZ_ASSERT(!cls_find_exactly(cls, &rules[k]->flow,
                                          rules[k]->mask,
                                          rules[k]->priority));
            free(rules[k]);
            rules[k] = rules[--n];
            break;
        }
        case 4: case 5: {                   /* lookup */
            struct flow f;

            gen_flow(&r, &f);
            check_lookup(cls, rules, n, &f, &r);
            break;
        }
        case 6: {                           /* batch */
            struct flow fl[BATCH];
            const struct flow *fp[BATCH];
            const struct cls_rule *res[BATCH];
            size_t nb = rd(&r) % BATCH + 1, hits = 0;

            for (i = 0; i < nb; i++) {
                gen_flow(&r, &fl[i]);
                fp[i] = &fl[i];
            }
            FUZZ_ASSERT(cls_lookup_batch(cls, fp, nb, res) <= nb);
            for (i = 0; i < nb; i++) {
                const struct cls_rule *one = cls_lookup(cls, fp[i], NULL);

                hits += res[i] != NULL;
                FUZZ_ASSERT(!one == !res[i]);
                FUZZ_ASSERT(!one || one->priority == res[i]->priority);
                FUZZ_ASSERT(!res[i] || rule_matches(res[i], fp[i]));
            }
            break;
        }
        case 7:                             /* rank */
            cls_rank(cls);
            break;
        }
        FUZZ_ASSERT(cls_check(cls) == 0);
        FUZZ_ASSERT(cls_count(cls) == n);
    }

    for (i = 0; i < n; i++) {
        FUZZ_ASSERT(cls_find_exactly(cls, &rules[i]->flow, rules[i]->mask,
                                     rules[i]->priority) == rules[i]);
    }
    {
        struct flow masks[64];
        size_t ns = cls_subtable_masks(cls, masks, 64);

        FUZZ_ASSERT(ns == cls_n_subtables(cls));
    }
    while (n) {
        cls_remove(cls, rules[--n]);
        free(rules[n]);
        FUZZ_ASSERT(cls_count(cls) == n);
    }
    FUZZ_ASSERT(cls_check(cls) == 0);
    FUZZ_ASSERT(cls_n_subtables(cls) == 0);
    cls_destroy(cls);
    return 0;
}
