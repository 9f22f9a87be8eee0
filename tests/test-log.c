/* SPDX-License-Identifier: BSD-3-Clause */
/* test-log.c: the log module: levels, modules, line format, rate limiting
 * (against a model of the token bucket), and the bucket under two
 * threads. */

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

LOG_MODULE(dp);

/* The sink: every line, and a fake clock. */
static char lines[64][1100];
static _Atomic unsigned n_lines;
static long long fake_now;

static void
sink(const char *line, void *aux)
{
    unsigned i = n_lines++;

    (void) aux;
    if (i < 64) {
        snprintf(lines[i], sizeof lines[i], "%s", line);
    }
}

static long long
fake_clock(void)
{
    return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static int
setup(void **state)
{
    (void) state;
    n_lines = 0;
    fake_now = 1000000;
    log_set_level("*", LOG_DEFAULT_LEVEL);
    log_set_sink(sink, NULL, fake_clock);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    log_set_sink(NULL, NULL, NULL);
    return 0;
}

static int evaluated;

static int
side_effect(void)
{
    return ++evaluated;
}

static void
test_levels(void **state)
{
    enum log_level l;

    (void) state;
    assert_int_equal(log_get_level(&log_module_dp), LOG_INFO);
    LOG_INFO("info %d", 1);
    LOG_DBG("dbg %d", side_effect());
    assert_int_equal(n_lines, 1);
    assert_int_equal(evaluated, 0);     /* Arguments not evaluated. */

    assert_int_equal(log_set_level("dp", LOG_DBG), 0);
    LOG_DBG("dbg %d", side_effect());
    assert_int_equal(n_lines, 2);
    assert_int_equal(evaluated, 1);
    /* Only that module. */
    assert_int_equal(log_get_level(&log_module_main), LOG_INFO);

    assert_int_equal(log_set_level("dp", LOG_OFF), 0);
    LOG_ERR("err");
    assert_int_equal(n_lines, 2);

    assert_int_equal(log_set_level("*", LOG_WARN), 0);
    assert_int_equal(log_get_level(&log_module_dp), LOG_WARN);
    assert_int_equal(log_get_level(&log_module_offload), LOG_WARN);
    LOG_WARN("w");
    LOG_INFO("i");
    assert_int_equal(n_lines, 3);

    assert_int_equal(log_set_level("nosuch", LOG_DBG), EINVAL);
    assert_null(log_module_find("nosuch"));
    assert_ptr_equal(log_module_find("vhost"), &log_module_vhost);

    for (unsigned i = 0; i < LOG_N_LEVELS; i++) {
        assert_int_equal(log_level_from_name(log_level_name(i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_int_equal(log_level_from_name("WARNING", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_from_name("debug", &l), 0);
    assert_int_equal(l, LOG_DBG);
    assert_int_equal(log_level_from_name("loud", &l), EINVAL);
}

static void
test_format(void **state)
{
    regex_t re;
    char big[3000];

    (void) state;
    LOG_WARN("port %s: %d", "p1", 42);
    assert_int_equal(n_lines, 1);
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
                             "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\\|warn\\|dp: "
                             "port p1: 42$", REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regexec(&re, lines[0], 0, NULL, 0), 0);
    regfree(&re);

    /* One message is one line, however long or whatever it holds. */
    LOG_ERR("a\nb");
    assert_non_null(strstr(lines[1], "|err|dp: a b"));
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    LOG_INFO("%s", big);
    assert_int_equal(strlen(lines[2]), 1023);
    assert_null(strchr(lines[2], '\n'));
}

/* Model of the bucket (log.h's Design), written from the header: a full
 * bucket of LOG_RL_BURST, one token per LOG_RL_INTERVAL_MS, the count of
 * suppressed messages reported by the next one written. */
struct model {
    long long t;
    unsigned tokens, suppressed;
    bool used;
};

static bool
model_take(struct model *m, long long now, unsigned *reported)
{
    if (!m->used) {
        m->used = true;
        m->t = now;
        m->tokens = LOG_RL_BURST;
    } else if (now - m->t >= LOG_RL_INTERVAL_MS) {
        long long add = (now - m->t) / LOG_RL_INTERVAL_MS;

        if (m->tokens + add >= LOG_RL_BURST) {
            m->tokens = LOG_RL_BURST;
            m->t = now;
        } else {
            m->tokens += (unsigned) add;
            m->t += add * LOG_RL_INTERVAL_MS;
        }
    }
    if (m->tokens) {
        m->tokens--;
        *reported = m->suppressed;
        m->suppressed = 0;
        return true;
    }
    m->suppressed++;
    return false;
}

static void
rl_site(int i)
{
    LOG_WARN_RL("rl %d", i);
}

static void
test_rate_limit(void **state)
{
    struct model m = { 0 };
    unsigned expect_lines = 0;

    (void) state;
    srand(7);
    for (int i = 0; i < 20000; i++) {
        unsigned reported = 0, before = n_lines;
        bool ok = model_take(&m, fake_now, &reported);

        rl_site(i);
        if (ok) {
            char want[96];

            expect_lines++;
            assert_int_equal(n_lines, before + 1);
            if (before < 64) {
                if (reported) {
                    snprintf(want, sizeof want, "rl %d (%u similar "
                             "message%s suppressed)", i, reported,
                             reported == 1 ? "" : "s");
                } else {
                    snprintf(want, sizeof want, "|dp: rl %d", i);
                }
                assert_non_null(strstr(lines[before], want));
                if (!reported) {
                    assert_null(strstr(lines[before], "suppressed"));
                }
            }
        } else {
            assert_int_equal(n_lines, before);
        }
        /* Time moves by 0-1.5 intervals, mostly by little. */
        fake_now += rand() % 8 ? rand() % 50
                               : rand() % (LOG_RL_INTERVAL_MS * 3 / 2);
    }
    assert_int_equal(n_lines, expect_lines);
    assert_true(expect_lines > LOG_RL_BURST);
    assert_true(expect_lines < 20000 / 4);
}

static void
rl_hammer_site(void)
{
    LOG_ERR_RL("hammer");
}

static void *
hammer(void *arg)
{
    (void) arg;
    for (int i = 0; i < 200000; i++) {
        rl_hammer_site();
    }
    return NULL;
}

/* Two threads on one call site with the clock stopped: exactly one
 * bucket's worth gets through, never more. */
static void
test_rate_limit_threads(void **state)
{
    pthread_t a, b;

    (void) state;
    fake_now = 0;           /* A fresh bucket is full even at time 0. */
    assert_int_equal(pthread_create(&a, NULL, hammer, NULL), 0);
    assert_int_equal(pthread_create(&b, NULL, hammer, NULL), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(n_lines, LOG_RL_BURST);
    fake_now += LOG_RL_INTERVAL_MS;
    rl_hammer_site();
    assert_int_equal(n_lines, LOG_RL_BURST + 1);
    /* 400,000 - 5 suppressed, saturated at 65,535 in the report. */
    assert_non_null(strstr(lines[LOG_RL_BURST], "(65535+ similar messages "
                           "suppressed)"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_threads, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
