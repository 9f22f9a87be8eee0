/* SPDX-License-Identifier: BSD-3-Clause */
/* test-mac-learning.c: MAC learning table against a linear reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mac-learning.h"

/* ---- Reference: a plain array, LRU by a touch sequence number. ---- */

#define REF_MAX 256

struct ref_entry {
    uint8_t mac[6];
    uint16_t vlan;
    uint32_t port;
    long long used;
    unsigned long long seq;
};

struct ref {
    struct ref_entry e[REF_MAX];
    size_t n;
    size_t max;
    long long aging_ms;
    unsigned long long seq;
};

static struct ref_entry *
ref_find(struct ref *r, const uint8_t mac[6], uint16_t vlan)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->e[i].vlan == vlan && !memcmp(r->e[i].mac, mac, 6)) {
            return &r->e[i];
        }
    }
    return NULL;
}

static void
ref_del(struct ref *r, size_t i)
{
    r->e[i] = r->e[--r->n];
}

static bool
ref_learn(struct ref *r, const uint8_t mac[6], uint16_t vlan, uint32_t port,
          long long now)
{
    if (mac[0] & 1) {
        return false;
    }
    struct ref_entry *e = ref_find(r, mac, vlan);
    if (e) {
        bool changed = e->port != port || now - e->used >= r->aging_ms;
        e->port = port;
        e->used = now;
        e->seq = ++r->seq;
        return changed;
    }
    if (r->n >= r->max) {
        size_t oldest = 0;
        for (size_t i = 1; i < r->n; i++) {
            if (r->e[i].seq < r->e[oldest].seq) {
                oldest = i;
            }
        }
        ref_del(r, oldest);
    }
    e = &r->e[r->n++];
    memcpy(e->mac, mac, 6);
    e->vlan = vlan;
    e->port = port;
    e->used = now;
    e->seq = ++r->seq;
    return true;
}

static bool
ref_lookup(struct ref *r, const uint8_t mac[6], uint16_t vlan, long long now,
           uint32_t *port)
{
    struct ref_entry *e = ref_find(r, mac, vlan);
    if (e && now - e->used < r->aging_ms) {
        *port = e->port;
        return true;
    }
    return false;
}

static size_t
ref_expire(struct ref *r, long long now)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n;) {
        if (now - r->e[i].used >= r->aging_ms) {
            ref_del(r, i);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

static size_t
ref_flush_port(struct ref *r, uint32_t port)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n;) {
        if (r->e[i].port == port) {
            ref_del(r, i);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

/* A small MAC space so that collisions, moves and refreshes happen. */
static void
rand_mac(uint8_t mac[6])
{
    memset(mac, 0, 6);
    mac[0] = (rand() % 8 == 0) ? 0x01 : 0x02;   /* Some multicast. */
    if (rand() % 50 == 0) {
        memset(mac, 0xff, 6);                   /* Broadcast. */
        return;
    }
    mac[5] = rand() % 40;
}

static void
test_ml_vs_reference(void **state)
{
    (void) state;
    srand(12345);
    for (int round = 0; round < 4; round++) {
        size_t max = round == 0 ? 8 : round == 1 ? 32 : 200;
        unsigned aging = 1 + round;
        struct ml *ml = ml_create(aging, max);
        struct ref ref = { .max = max, .aging_ms = aging * 1000LL };
        assert_non_null(ml);
        long long now = 1000;

        for (int i = 0; i < 20000; i++) {
            uint8_t mac[6];
            uint16_t vlan = rand() % 3;
            uint32_t port = 1 + rand() % 4;
            uint32_t p1 = 0, p2 = 0;
            uint64_t gen = ml_generation(ml);
            int op = rand() % 100;

            now += rand() % 50;
            rand_mac(mac);
            if (op < 50) {
                bool c1 = ml_learn(ml, mac, vlan, port, now);
                bool c2 = ref_learn(&ref, mac, vlan, port, now);
                assert_int_equal(c1, c2);
                if (c1) {
                    assert_true(ml_generation(ml) > gen);
                } else {
                    assert_int_equal(ml_generation(ml), gen);
                }
            } else if (op < 90) {
                bool f1 = ml_lookup(ml, mac, vlan, now, &p1);
                bool f2 = ref_lookup(&ref, mac, vlan, now, &p2);
                assert_int_equal(f1, f2);
                if (f1) {
                    assert_int_equal(p1, p2);
                }
                assert_int_equal(ml_generation(ml), gen);
            } else if (op < 96) {
                size_t n1 = ml_expire(ml, now);
                assert_int_equal(n1, ref_expire(&ref, now));
                assert_true(n1 ? ml_generation(ml) > gen
                               : ml_generation(ml) == gen);
            } else if (op < 99) {
                assert_int_equal(ml_flush_port(ml, port),
                                 ref_flush_port(&ref, port));
            } else {
                now += aging * 1000LL;   /* Jump: everything dies. */
            }
            assert_int_equal(ml_count(ml), ref.n);
            if (i % 256 == 0) {
                assert_int_equal(ml_check(ml), 0);
            }
        }
        assert_int_equal(ml_check(ml), 0);
        ml_destroy(ml);
    }
}

static void
test_ml_basic(void **state)
{
    (void) state;
    struct ml *ml = ml_create(300, 2);
    const uint8_t a[6] = {0x02, 0, 0, 0, 0, 1};
    const uint8_t b[6] = {0x02, 0, 0, 0, 0, 2};
    const uint8_t c[6] = {0x02, 0, 0, 0, 0, 3};
    const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint32_t port;

    assert_false(ml_learn(ml, mc, 0, 1, 0));
    assert_false(ml_learn(ml, bc, 0, 1, 0));
    assert_int_equal(ml_count(ml), 0);

    assert_true(ml_learn(ml, a, 0, 1, 0));
    assert_false(ml_learn(ml, a, 0, 1, 10));       /* Refresh. */
    assert_true(ml_learn(ml, a, 0, 2, 20));        /* Move. */
    assert_true(ml_lookup(ml, a, 0, 20, &port));
    assert_int_equal(port, 2);
    assert_false(ml_lookup(ml, a, 5, 20, &port));  /* Other VLAN. */
    assert_true(ml_learn(ml, a, 5, 3, 20));
    assert_true(ml_lookup(ml, a, 5, 20, &port));
    assert_int_equal(port, 3);

    /* Full (2 entries): learning c evicts the oldest, (a, 0). */
    assert_false(ml_learn(ml, a, 5, 3, 30));       /* Refresh (a, 5). */
    assert_true(ml_learn(ml, c, 0, 4, 40));
    assert_false(ml_lookup(ml, a, 0, 40, &port));
    assert_true(ml_lookup(ml, a, 5, 40, &port));
    assert_int_equal(ml_count(ml), 2);

    /* Aging: dead at exactly aging time. */
    assert_true(ml_lookup(ml, c, 0, 40 + 299999, &port));
    assert_false(ml_lookup(ml, c, 0, 40 + 300000, &port));
    assert_int_equal(ml_expire(ml, 40 + 300000), 2);
    assert_int_equal(ml_count(ml), 0);

    /* Reconfiguration. */
    ml_set_aging(ml, 10);
    assert_int_equal(ml_get_aging(ml), 10);
    ml_set_max(ml, 3);
    assert_true(ml_learn(ml, a, 0, 1, 0));
    assert_true(ml_learn(ml, b, 0, 1, 1));
    assert_true(ml_learn(ml, c, 0, 2, 2));
    assert_false(ml_lookup(ml, a, 0, 10000, &port));
    assert_true(ml_lookup(ml, c, 0, 10000, &port));
    assert_true(ml_learn(ml, a, 0, 1, 10001));     /* Revived. */
    uint64_t gen = ml_generation(ml);
    ml_set_max(ml, 1);                             /* Evicts two. */
    assert_true(ml_generation(ml) > gen);
    assert_int_equal(ml_count(ml), 1);
    assert_true(ml_lookup(ml, a, 0, 10001, &port));
    assert_int_equal(ml_flush(ml), 1);
    assert_int_equal(ml_check(ml), 0);
    ml_destroy(ml);
    ml_destroy(NULL);
}

struct thread_arg {
    struct ml *ml;
    int id;
};

static void *
hammer(void *arg_)
{
    struct thread_arg *arg = arg_;
    unsigned int seed = arg->id;
    for (int i = 0; i < 100000; i++) {
        uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t) (rand_r(&seed) % 4),
                          (uint8_t) rand_r(&seed)};
        uint32_t port;
        if (rand_r(&seed) % 2) {
            ml_learn(arg->ml, mac, rand_r(&seed) % 2, arg->id, i);
        } else if (ml_lookup(arg->ml, mac, 0, i, &port)) {
            assert_true(port >= 1 && port <= 4);
        }
        if (arg->id == 1 && i % 1000 == 0) {
            ml_expire(arg->ml, i);
            ml_flush_port(arg->ml, 2);
        }
    }
    return NULL;
}

static void
test_ml_threads(void **state)
{
    (void) state;
    struct ml *ml = ml_create(1, 500);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg) { .ml = ml, .id = i + 1 };
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(ml_check(ml), 0);
    assert_true(ml_count(ml) <= 500);
    ml_destroy(ml);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ml_basic),
        cmocka_unit_test(test_ml_vs_reference),
        cmocka_unit_test(test_ml_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
