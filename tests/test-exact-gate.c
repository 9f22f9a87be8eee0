/* SPDX-License-Identifier: BSD-3-Clause */
/* test-exact-gate.c: the exact-match gate against a direct model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include "exact-gate.h"
#include "test-rand.h"

static uint32_t
xorshift(uint32_t *s)
{
    return test_xorshift32(s);
}

/* The rate rule at its edges, and the skip period. */
static void
test_rate_rule(void **state)
{
    struct exact_gate g;

    (void) state;
    memset(&g, 0, sizeof g);
    assert_true(exact_gate_open(&g));
    /* A cache that hits half the time never closes (cost unknown). */
    for (int i = 0; i < 100000; i++) {
        exact_gate_account(&g, 32, 16, 0);
    }
    assert_true(exact_gate_open(&g));
    assert_int_equal(g.closings, 0);
    /* Exactly at 1/16 stays open; just below closes. */
    memset(&g, 0, sizeof g);
    exact_gate_account(&g, EXACT_GATE_WINDOW, EXACT_GATE_WINDOW / 16, 0);
    assert_true(exact_gate_open(&g));
    exact_gate_account(&g, EXACT_GATE_WINDOW, EXACT_GATE_WINDOW / 16 - 1, 0);
    assert_false(exact_gate_open(&g));
    assert_int_equal(g.closings, 1);
    assert_int_equal(g.cost_closings, 0);
    /* Closed for EXACT_GATE_SKIP packets, then probing again. */
    exact_gate_account(&g, EXACT_GATE_SKIP - 1, 0, 0);
    assert_false(exact_gate_open(&g));
    exact_gate_account(&g, 5, 0, 0);
    assert_true(exact_gate_open(&g));
    assert_int_equal(g.lookups, 0);
}

/* The cost rule: hit rate x miss cost against cycles per lookup. */
static void
test_cost_rule(void **state)
{
    struct exact_gate g;
    const uint32_t w = EXACT_GATE_WINDOW;

    (void) state;
    /* A third hit, lookups cost 45, a megaflow lookup 40: 13 < 45. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 4096, 4096 * 45);
    exact_gate_account(&g, w, w / 3, 40);
    assert_false(exact_gate_open(&g));
    assert_int_equal(g.closings, 1);
    assert_int_equal(g.cost_closings, 1);

    /* Same hit rate, a megaflow tier of many masks (400): 133 > 45. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 4096, 4096 * 45);
    exact_gate_account(&g, w, w / 3, 400);
    assert_true(exact_gate_open(&g));

    /* At the break-even point it stays open; one cycle dearer closes. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 1000, 1000 * 20);
    exact_gate_account(&g, w, w / 2, 40);
    assert_true(exact_gate_open(&g));
    exact_gate_cost(&g, 1000, 1000 * 21);
    exact_gate_account(&g, w, w / 2, 40);
    assert_false(exact_gate_open(&g));

    /* Too few timed lookups, or an unknown miss cost: the rate rule only. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, EXACT_GATE_MIN_TIMED - 1,
                    (EXACT_GATE_MIN_TIMED - 1) * 1000ull);
    exact_gate_account(&g, w, w / 3, 40);
    assert_true(exact_gate_open(&g));
    exact_gate_cost(&g, 4096, 4096 * 1000ull);
    exact_gate_account(&g, w, w / 3, 0);
    assert_true(exact_gate_open(&g));

    /* The timing is per window: a dear window's cycles do not count
     * against the next, cheap one. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 100, 100 * 1000ull);       /* below MIN_TIMED */
    exact_gate_account(&g, w, w / 2, 40);
    assert_true(exact_gate_open(&g));
    exact_gate_cost(&g, 4096, 4096 * 10);
    exact_gate_account(&g, w, w / 2, 40);
    assert_true(exact_gate_open(&g));
    assert_int_equal(g.closings, 0);

    /* A preempted sample (over EXACT_GATE_MAX_LOOKUP_CYCLES a lookup)
     * does not count: these cheap lookups keep the gate open. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 4096, 4096 * 10);
    exact_gate_cost(&g, 32, 10000000);             /* 4 ms away */
    exact_gate_account(&g, w, w / 2, 40);
    assert_true(exact_gate_open(&g));
    assert_int_equal(g.closings, 0);
    /* At the bound it still counts. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 4096, 4096 * 10);
    exact_gate_cost(&g, 1000, 1000ull * EXACT_GATE_MAX_LOOKUP_CYCLES);
    exact_gate_account(&g, w, w / 2, 40);
    assert_false(exact_gate_open(&g));

    /* Lookups while closed are neither counted nor timed. */
    memset(&g, 0, sizeof g);
    exact_gate_cost(&g, 4096, 4096 * 45);
    exact_gate_account(&g, w, w / 3, 40);
    assert_false(exact_gate_open(&g));
    exact_gate_account(&g, EXACT_GATE_SKIP, 0, 40);
    assert_true(exact_gate_open(&g));
    assert_int_equal(g.lookups, 0);
    assert_int_equal(g.timed_lookups, 0);
}

/* Random batches, rates, costs and timings against a model written from
 * the header's description. */
static void
test_model(void **state)
{
    struct exact_gate g;
    uint64_t m_lookups = 0, m_hits = 0, m_timed = 0, m_cycles = 0;
    uint64_t m_skip = 0, m_closings = 0, m_cost_closings = 0;
    uint32_t rng = 12345;

    (void) state;
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 3000000; i++) {
        uint32_t n = 1 + xorshift(&rng) % 32;
        uint32_t phase = (uint32_t) (i / 150000) % 4;
        uint32_t hits, miss_cost, per;
        bool timed = xorshift(&rng) % 16 == 0;

        /* Phases: thrashing; a third hit with a cheap megaflow tier;
         * a third hit with a dear one; all hit. */
        hits = phase == 0 ? xorshift(&rng) % 64 == 0
               : phase == 3 ? n : xorshift(&rng) % 3 == 0 ? n / 2 : n / 4;
        miss_cost = phase == 2 ? 400 : phase == 3 ? 0 : 40;
        per = 30 + xorshift(&rng) % 30;

        assert_int_equal(exact_gate_open(&g), m_skip == 0);
        if (exact_gate_open(&g) && timed) {
            exact_gate_cost(&g, n, (uint64_t) n * per);
        }
        if (m_skip) {
            m_skip = m_skip > n ? m_skip - n : 0;
        } else {
            if (timed) {
                m_timed += n;
                m_cycles += (uint64_t) n * per;
            }
            m_lookups += n;
            m_hits += hits;
            if (m_lookups >= EXACT_GATE_WINDOW) {
                bool rate = m_hits * 16 < m_lookups;
                /* hits/lookups * miss_cost < cycles/timed */
                bool cost = !rate && miss_cost && m_timed >= 256
                            && m_hits * miss_cost * m_timed
                               < m_cycles * m_lookups;

                if (rate || cost) {
                    m_skip = EXACT_GATE_SKIP;
                    m_closings++;
                    m_cost_closings += cost;
                }
                m_lookups = m_hits = m_timed = m_cycles = 0;
            }
        }
        exact_gate_account(&g, n, hits, miss_cost);
    }
    assert_int_equal(g.closings, m_closings);
    assert_int_equal(g.cost_closings, m_cost_closings);
    assert_true(m_cost_closings > 0);
    assert_true(m_closings > m_cost_closings);
}

/* The megaflow-tier cost: renewed every EXACT_MISS_COST_LOOKUPS lookups
 * with their mean, kept in between, never 0 once known. */
static void
test_miss_cost(void **state)
{
    struct exact_miss_cost m;

    (void) state;
    memset(&m, 0, sizeof m);
    exact_miss_cost_add(&m, EXACT_MISS_COST_LOOKUPS - 1,
                        (EXACT_MISS_COST_LOOKUPS - 1) * 40ull);
    assert_int_equal(m.cost, 0);                /* not known yet */
    exact_miss_cost_add(&m, 1, 40 + EXACT_MISS_COST_LOOKUPS);
    assert_int_equal(m.cost, 41);
    assert_int_equal(m.lookups, 0);
    exact_miss_cost_add(&m, 32, 32 * 1000);     /* kept until renewed */
    assert_int_equal(m.cost, 41);
    exact_miss_cost_add(&m, EXACT_MISS_COST_LOOKUPS, 0);
    assert_int_equal(m.cost, 58);   /* 32,000 / 544 */
    exact_miss_cost_add(&m, EXACT_MISS_COST_LOOKUPS, 0);
    assert_int_equal(m.cost, 1);    /* free lookups still count as known */
}

/* The insertion draw: always, never, and about 1 in N. */
static void
test_draw_insert(void **state)
{
    uint32_t rng = 0x9e3779b9, yes = 0;

    (void) state;
    assert_true(exact_draw_insert(&rng, 1));
    assert_false(exact_draw_insert(&rng, 0));
    assert_int_equal(rng, 0x9e3779b9);          /* no draw taken */
    for (int i = 0; i < 200000; i++) {
        yes += exact_draw_insert(&rng, 20);
    }
    assert_true(yes > 9000 && yes < 11000);     /* 10,000 expected */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_rule),
        cmocka_unit_test(test_cost_rule),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_miss_cost),
        cmocka_unit_test(test_draw_insert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
