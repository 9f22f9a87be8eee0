/* SPDX-License-Identifier: BSD-3-Clause */
/* test-emc.c: the exact-match cache against reference models. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "emc.h"
#include "flow.h"
#include "pkt-build.h"

/* Keys come from real packets: UDP flows that differ in ports and
 * addresses, parsed by flow_extract. */
static void
make_key(struct flow *f, uint32_t i)
{
    uint8_t buf[128];
    size_t len = pkt_build_udp_numbered(buf, sizeof buf, i);

    assert_true(len > 0);
    flow_extract(buf, len, i % 3, f, NULL);
}

/* Data pointers: addresses inside this array (never dereferenced by the
 * cache); data d is &datas[d]. */
#define N_DATA 4096
static char datas[N_DATA];

static void
test_basic(void **state)
{
    struct emc *emc = emc_create(EMC_DEFAULT_ENTRIES);
    struct flow a, b;
    uint32_t ha, hb;

    (void) state;
    assert_non_null(emc);
    assert_int_equal(emc_capacity(emc), EMC_DEFAULT_ENTRIES);
    make_key(&a, 1);
    make_key(&b, 2);
    ha = flow_hash(&a, 0);
    hb = flow_hash(&b, 0);
    assert_null(emc_lookup(emc, &a, ha));
    emc_insert(emc, &a, ha, &datas[1]);
    assert_ptr_equal(emc_lookup(emc, &a, ha), &datas[1]);
    assert_null(emc_lookup(emc, &b, hb));
    assert_int_equal(emc_count(emc), 1);
    /* Replace data of the same key: still one entry. */
    emc_insert(emc, &a, ha, &datas[2]);
    assert_ptr_equal(emc_lookup(emc, &a, ha), &datas[2]);
    assert_int_equal(emc_count(emc), 1);
    /* Same hash, different key: never a hit. */
    assert_null(emc_lookup(emc, &b, ha));
    /* Remove with NULL. */
    emc_insert(emc, &a, ha, NULL);
    assert_null(emc_lookup(emc, &a, ha));
    assert_int_equal(emc_count(emc), 0);
    emc_insert(emc, &b, hb, NULL);     /* Absent: no-op. */
    assert_int_equal(emc_count(emc), 0);
    assert_true(emc_check(emc));

    emc_insert(emc, &a, ha, &datas[3]);
    emc_insert(emc, &b, hb, &datas[4]);
    assert_int_equal(emc_count(emc), 2);
    emc_clear(emc);
    assert_int_equal(emc_count(emc), 0);
    assert_null(emc_lookup(emc, &a, ha));
    assert_null(emc_lookup(emc, &b, hb));
    assert_true(emc_check(emc));
    emc_destroy(emc);
    emc_destroy(NULL);

    /* Sizes round up to a power of two, at least 2. */
    emc = emc_create(0);
    assert_int_equal(emc_capacity(emc), 2);
    emc_destroy(emc);
    emc = emc_create(1000);
    assert_int_equal(emc_capacity(emc), 1024);
    emc_destroy(emc);
}

/* Colliding hashes (all keys given the same hash) must still be told apart
 * by key. */
static void
test_forced_collisions(void **state)
{
    struct emc *emc = emc_create(64);
    struct flow k[5];
    int i, hits = 0;

    (void) state;
    for (i = 0; i < 5; i++) {
        make_key(&k[i], 100 + i);
        emc_insert(emc, &k[i], 0x1234, &datas[i]);
    }
    /* Only two ways: the two newest survive. */
    assert_int_equal(emc_count(emc), 2);
    for (i = 0; i < 5; i++) {
        void *d = emc_lookup(emc, &k[i], 0x1234);

        if (d) {
            assert_ptr_equal(d, &datas[i]);
            assert_true(i >= 3);
            hits++;
        }
    }
    assert_int_equal(hits, 2);
    emc_destroy(emc);
}

/* Exact model of the documented policy for a small cache: per set two
 * slots {key index, data, stamp}. */
struct model_slot {
    int key;                    /* -1 empty */
    void *data;
    uint32_t stamp;
};

static void
model_insert(struct model_slot (*sets)[2], uint32_t n_sets,
             const uint32_t *hashes, int key, void *data, uint32_t *clock)
{
    struct model_slot *s = sets[hashes[key] & (n_sets - 1)];
    int w, victim;

    for (w = 0; w < 2; w++) {
        if (s[w].key == key) {
            if (data) {
                s[w].data = data;
            } else {
                s[w].key = -1;
            }
            return;
        }
    }
    if (!data) {
        return;
    }
    if (s[0].key < 0) {
        victim = 0;
    } else if (s[1].key < 0) {
        victim = 1;
    } else {
        victim = s[0].stamp < s[1].stamp ? 0 : 1;
    }
    s[victim].key = key;
    s[victim].data = data;
    s[victim].stamp = (*clock)++;
}

static bool
is_dead_cb(void *data, void *aux)
{
    const bool *dead = aux;

    return dead[(char *) data - datas];
}

static void
test_model_small(void **state)
{
    enum { N_KEYS = 200, N_SETS = 16 };
    struct model_slot sets[N_SETS][2];
    struct flow keys[N_KEYS];
    uint32_t hashes[N_KEYS];
    static bool dead[N_DATA];
    struct emc *emc = emc_create(N_SETS * 2);
    unsigned int seed = 99;
    uint32_t clock = 0;
    int i, iter;

    (void) state;
    for (i = 0; i < N_SETS; i++) {
        sets[i][0].key = sets[i][1].key = -1;
    }
    for (i = 0; i < N_KEYS; i++) {
        make_key(&keys[i], (uint32_t) i * 7919);
        hashes[i] = flow_hash(&keys[i], 0);
    }
    memset(dead, 0, sizeof dead);

    for (iter = 0; iter < 20000; iter++) {
        int op = rand_r(&seed) % 100;
        int k = rand_r(&seed) % N_KEYS;

        if (op < 60) {
            void *d = &datas[rand_r(&seed) % N_DATA];

            emc_insert(emc, &keys[k], hashes[k], d);
            model_insert(sets, N_SETS, hashes, k, d, &clock);
        } else if (op < 62) {
            emc_insert(emc, &keys[k], hashes[k], NULL);
            model_insert(sets, N_SETS, hashes, k, NULL, &clock);
        } else if (op < 64) {
            int s, w;

            /* Kill ~1/4 of the data values, sweep, revive. */
            for (i = 0; i < N_DATA; i++) {
                dead[i] = rand_r(&seed) % 4 == 0;
            }
            emc_sweep(emc, is_dead_cb, dead);
            for (s = 0; s < N_SETS; s++) {
                for (w = 0; w < 2; w++) {
                    if (sets[s][w].key >= 0
                        && dead[(char *) sets[s][w].data - datas]) {
                        sets[s][w].key = -1;
                    }
                }
            }
            memset(dead, 0, sizeof dead);
        } else if (op < 65) {
            emc_clear(emc);
            for (i = 0; i < N_SETS; i++) {
                sets[i][0].key = sets[i][1].key = -1;
            }
        }

        /* Compare every key's lookup with the model. */
        if (iter % 7 == 0 || op >= 60) {
            size_t n = 0;

            for (i = 0; i < N_KEYS; i++) {
                struct model_slot *s = sets[hashes[i] & (N_SETS - 1)];
                void *exp = s[0].key == i ? s[0].data
                            : s[1].key == i ? s[1].data : NULL;

                assert_ptr_equal(emc_lookup(emc, &keys[i], hashes[i]), exp);
                n += exp != NULL;
            }
            assert_int_equal(emc_count(emc), n);
            assert_true(emc_check(emc));
        }
    }
    emc_destroy(emc);
}

/* Large random workload against a loose reference: the latest data per key;
 * anything the cache returns must equal it. */
static void
test_reference_large(void **state)
{
    enum { N_KEYS = 30000 };
    struct flow *keys = calloc(N_KEYS, sizeof *keys);
    uint32_t *hashes = calloc(N_KEYS, sizeof *hashes);
    void **latest = calloc(N_KEYS, sizeof *latest);
    static bool dead[N_DATA];
    struct emc *emc = emc_create(8192);
    unsigned int seed = 5;
    int i, iter, hits = 0;

    (void) state;
    for (i = 0; i < N_KEYS; i++) {
        make_key(&keys[i], (uint32_t) i);
        hashes[i] = flow_hash(&keys[i], 0);
    }
    for (iter = 0; iter < 200000; iter++) {
        /* Skewed: a hot set of 2000 keys, plus a cold tail. */
        int k = rand_r(&seed) % 4 ? rand_r(&seed) % 2000
                                  : rand_r(&seed) % N_KEYS;
        void *got = emc_lookup(emc, &keys[k], hashes[k]);

        if (got) {
            assert_ptr_equal(got, latest[k]);
            hits++;
        } else {
            void *d = &datas[rand_r(&seed) % N_DATA];

            emc_insert(emc, &keys[k], hashes[k], d);
            latest[k] = d;
            assert_ptr_equal(emc_lookup(emc, &keys[k], hashes[k]), d);
        }
        if (iter % 50000 == 49999) {
            size_t n = 0;

            assert_true(emc_check(emc));
            for (i = 0; i < N_DATA; i++) {
                dead[i] = i % 3 == 0;
            }
            emc_sweep(emc, is_dead_cb, dead);
            for (i = 0; i < N_KEYS; i++) {
                void *d = emc_lookup(emc, &keys[i], hashes[i]);

                if (d) {
                    assert_ptr_equal(d, latest[i]);
                    assert_false(dead[(char *) d - datas]);
                    n++;
                }
            }
            assert_int_equal(emc_count(emc), n);
            assert_true(emc_check(emc));
        }
    }
    /* The hot set fits: most lookups hit. */
    assert_true(hits > 100000);
    assert_true(emc_count(emc) <= emc_capacity(emc));
    emc_destroy(emc);
    free(keys);
    free(hashes);
    free(latest);
}

static void
test_insert_prob(void **state)
{
    enum { N = 20000 };
    struct emc *emc = emc_create(65536);
    struct flow f;
    uint32_t i;
    size_t n;

    (void) state;
    emc_set_insert_inv_prob(emc, 0);
    for (i = 0; i < 1000; i++) {
        make_key(&f, i);
        emc_insert(emc, &f, flow_hash(&f, 0), &datas[1]);
    }
    assert_int_equal(emc_count(emc), 0);

    emc_set_insert_inv_prob(emc, 4);
    for (i = 0; i < N; i++) {
        make_key(&f, i);
        emc_insert(emc, &f, flow_hash(&f, 0), &datas[1]);
    }
    n = emc_count(emc);
    /* Binomial(20000, 1/4) minus a few collisions: 5000 +- ~61 sd. */
    assert_true(n > 4600 && n < 5300);

    /* Updating a cached key is not subject to the probability. */
    emc_set_insert_inv_prob(emc, 0);
    for (i = 0; i < N; i++) {
        uint32_t h;

        make_key(&f, i);
        h = flow_hash(&f, 0);
        if (emc_lookup(emc, &f, h)) {
            emc_insert(emc, &f, h, &datas[2]);
            assert_ptr_equal(emc_lookup(emc, &f, h), &datas[2]);
        }
    }
    assert_int_equal(emc_count(emc), n);

    emc_set_insert_inv_prob(emc, 1);
    emc_clear(emc);
    for (i = 0; i < 1000; i++) {
        make_key(&f, i);
        emc_insert(emc, &f, flow_hash(&f, 0), &datas[1]);
    }
    assert_true(emc_count(emc) > 990);  /* 1000 keys, 32768 sets */
    assert_true(emc_check(emc));
    emc_destroy(emc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_forced_collisions),
        cmocka_unit_test(test_model_small),
        cmocka_unit_test(test_reference_large),
        cmocka_unit_test(test_insert_prob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
