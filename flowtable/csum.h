/* SPDX-License-Identifier: BSD-3-Clause */
/* csum.h: the Internet checksum (RFC 1071), eight bytes at a time. */
#ifndef SLUICE_CSUM_H
#define SLUICE_CSUM_H 1

/*
 * What
 *   csum_add() sums bytes as big-endian 16-bit words into an unfolded
 *   64-bit accumulator, csum_add16() adds one host-order word, and
 *   csum_fold() folds to 16 bits (not complemented).  A checksum field
 *   holds ~csum_fold(sum over everything it covers).
 *
 * Thread-safety
 *   Reentrant.
 */

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds the 'len' bytes at 'p', as big-endian 16-bit words (an odd last
 * byte padded with zero), to 'sum'.  The result is unfolded.
 *
 * The bytes are summed eight at a time (four sums of 32 bytes a round
 * while they last) in host order and the folded
 * result swapped to big-endian: the ones' complement sum does not depend
 * on byte order (RFC 1071, section 2(B)), and a folded partial sum is
 * nonzero exactly when the words' sum is, so the final fold comes out the
 * same. */
static inline uint64_t
csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
    uint64_t s = 0;

    if (len >= 32) {
        /* Four independent sums: one add chain would make every eight
         * bytes wait for the previous add (a 1448-byte segment's checksum
         * took a quarter of software segmentation).  Each gains under
         * 2^33 per round: no overflow below 2^31 rounds. */
        uint64_t s1 = 0, s2 = 0, s3 = 0;

        do {
            uint64_t w[4];

            memcpy(w, p, sizeof w);
            s += (w[0] & 0xffffffffu) + (w[0] >> 32);
            s1 += (w[1] & 0xffffffffu) + (w[1] >> 32);
            s2 += (w[2] & 0xffffffffu) + (w[2] >> 32);
            s3 += (w[3] & 0xffffffffu) + (w[3] >> 32);
            p += 32;
            len -= 32;
        } while (len >= 32);
        s = (s + s1) + (s2 + s3);
    }
    while (len >= 8) {
        uint64_t w;

        memcpy(&w, p, 8);
        s += (w & 0xffffffffu) + (w >> 32);
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;

        memcpy(&w, p, 4);
        s += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;

        memcpy(&w, p, 2);
        s += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint16_t w = 0;

        memcpy(&w, p, 1);               /* The first byte of a word. */
        s += w;
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return sum + be16toh((uint16_t) s);
}

static inline uint64_t
csum_add16(uint64_t sum, uint16_t host_val)
{
    return sum + host_val;
}

/* Folds 'sum' to 16 bits (host order, not complemented). */
static inline uint16_t
csum_fold(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) sum;
}

#endif /* csum.h */
