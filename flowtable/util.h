/* SPDX-License-Identifier: BSD-3-Clause */
/* util.h: small helpers shared by flowtable modules (bytes, text buffers). */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H 1

/*
 * What
 *   Unaligned loads/stores of packet fields and a bounded text buffer for
 *   formatters.
 *
 * Design
 *   rd16/rd32/wr16/wr32 move raw bytes (values stay in network order, as in
 *   struct flow); get_be16/get_be32 give a host-order view and
 *   put_be16/put_be32 store one; to_be16/to_be32 convert
 *   host to network order.  struct sbuf appends formatted text to a caller
 *   buffer, truncating (always NUL-terminated) when it is full.
 *   zero_small() clears a small struct on a packet path as vector
 *   stores.
 *
 * Thread-safety
 *   Reentrant.
 *
 * Ownership
 *   An sbuf borrows its buffer.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t
rd16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t
rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

/* memset(p, 0, n) for a packet path: gcc (generic tuning) turns a constant
 * memset of more than about 80 bytes into "rep stos", whose start-up cost
 * (some 20 cycles) shows in a profile; pieces of 64 bytes at most stay
 * vector stores (a constant n unrolls).  For a struct of a few hundred
 * bytes. */
static inline void
zero_small(void *p, size_t n)
{
    char *c = p;

    for (; n > 64; c += 64, n -= 64) {
        memset(c, 0, 64);
    }
    memset(c, 0, n);
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Host-order view of a big-endian 16-bit field. */
static inline uint16_t
get_be16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static inline void
put_be16(uint8_t *p, uint16_t host_val)
{
    p[0] = (uint8_t) (host_val >> 8);
    p[1] = (uint8_t) host_val;
}

static inline uint32_t
get_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static inline void
put_be32(uint8_t *p, uint32_t host_val)
{
    p[0] = (uint8_t) (host_val >> 24);
    p[1] = (uint8_t) (host_val >> 16);
    p[2] = (uint8_t) (host_val >> 8);
    p[3] = (uint8_t) host_val;
}

static inline uint16_t
to_be16(uint16_t x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap16(x);
#else
    return x;
#endif
}

static inline uint32_t
to_be32(uint32_t x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(x);
#else
    return x;
#endif
}

struct sbuf {
    char *buf;
    size_t size;
    size_t len;                 /* strlen(buf) */
};

/* Starts an empty string in 'buf' (size may be 0). */
void sbuf_init(struct sbuf *s, char *buf, size_t size);
/* Appends; on overflow keeps what fits (len stops at size - 1). */
/* Appends the 16 bytes at 'v' (a big-endian 128-bit number) as 0x hex
 * without leading zeros ("0x0" for zero). */
void sbuf_put_hex128(struct sbuf *s, const uint8_t v[16]);
void sbuf_printf(struct sbuf *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* util.h */
