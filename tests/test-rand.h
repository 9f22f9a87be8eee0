/* SPDX-License-Identifier: BSD-3-Clause */
/* test-rand.h: the tests' reproducible pseudo-random numbers (xorshift). */
#ifndef TEST_RAND_H
#define TEST_RAND_H 1

#include <stdint.h>

/* Marsaglia's xorshift32: the next value of '*s' (never 0 if the seed is
 * not 0). */
static inline uint32_t
test_xorshift32(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* xorshift64 (13, 7, 17): the next value of '*s'. */
static inline uint64_t
test_xorshift64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#endif /* test-rand.h */
