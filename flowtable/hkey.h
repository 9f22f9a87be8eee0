/* SPDX-License-Identifier: BSD-3-Clause */
/* hkey.h: the header key, a 40-byte exact key read straight off the wire
 * for the common packet shape, and its mapping to struct flow. */
#ifndef SLUICE_HKEY_H
#define SLUICE_HKEY_H 1

/*
 * What
 *   Most packets a virtual switch forwards are untagged IPv4 without IP
 *   options, unfragmented, carrying TCP, UDP, SCTP or ICMP (or no L4 the
 *   parser knows).  For that shape every field of struct flow sits at a
 *   fixed offset, so the flow key is a function of a few header bytes.
 *   hkey_extract() copies exactly those bytes (plus the input port) into a
 *   five-word key with five loads and no branches on field values, where
 *   flow_extract() must clear and fill 96 bytes.  The exact-match tier
 *   keys its fast cache (hkc.h) on it.
 *
 * Contract
 *   hkey_extract() returns true only for packets of that shape, and then
 *   flow_extract() of the same packet yields exactly hkey_to_flow() of the
 *   key, with layers l3 = 14, l4 = 34 and no VLAN tags.  So two packets
 *   with equal header keys have equal flows, and a cache keyed on it gives
 *   the same answers as one keyed on struct flow.  Everything else (VLAN
 *   tags, IP options, fragments, IPv6, ARP, truncated or inconsistent
 *   lengths, an L4 header shorter than the parser needs) returns false,
 *   and the caller parses the packet in full.  test-hkey checks the
 *   contract on every packet shape the parser knows and on random
 *   mutations of them; the flow fuzz target checks it on every input.
 *
 * Layout (each word holds 8 bytes in memory order, so it is a plain
 * unaligned load of the frame where it can be)
 *   w[0]  frame bytes 0-7: Ethernet destination, first two of the source.
 *   w[1]  frame bytes 8-15: rest of the source, ethertype, version/IHL,
 *         TOS.
 *   w[2]  the input port (host order) in bytes 0-3, zeros in bytes 4-5,
 *         frame bytes 22-23 (TTL, protocol) in bytes 6-7.  The total
 *         length, ID and flags are not in the flow, and the fragment bits
 *         are known to be zero.
 *   w[3]  frame bytes 26-33: IPv4 source and destination.
 *   w[4]  the flow's own L4 word (tp_src, tp_dst, tcp_flags, pad2), as
 *         flow_extract() would fill it.
 *
 * Thread-safety: pure functions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

#define HKEY_WORDS 5

struct hkey {
    uint64_t w[HKEY_WORDS];
};

/* Fills 'key' from the 'len'-byte frame at 'pkt' received on 'in_port'
 * and returns true if the frame has the fixed shape described above;
 * otherwise returns false ('key' is then unspecified). */
bool hkey_extract(const void *pkt, size_t len, uint32_t in_port,
                  struct hkey *key);

/* The flow and layers flow_extract() gives for any packet whose header key
 * is 'key'. */
void hkey_to_flow(const struct hkey *key, struct flow *flow,
                  struct flow_layers *layers);

/* A 32-bit hash of 'key' (not flow_hash() of the flow). */
static inline uint32_t
hkey_hash(const struct hkey *key)
{
#ifdef __SIZEOF_INT128__
    __uint128_t a = (__uint128_t) (key->w[0] ^ 0xa0761d6478bd642fULL)
                    * (key->w[1] ^ 0xe7037ed1a0b428dbULL);
    __uint128_t b = (__uint128_t) (key->w[2] ^ 0x8ebc6af09c88c6e3ULL)
                    * (key->w[3] ^ 0x589965cc75374cc3ULL);
    __uint128_t c = (__uint128_t) (key->w[4] ^ 0x1d8e4e27c47d124fULL)
                    * 0x9e3779b97f4a7c15ULL;
    uint64_t h = ((uint64_t) a ^ (uint64_t) (a >> 64))
                 + ((uint64_t) b ^ (uint64_t) (b >> 64))
                 + ((uint64_t) c ^ (uint64_t) (c >> 64));
    __uint128_t f = (__uint128_t) (h ^ 0xbf58476d1ce4e5b9ULL)
                    * ((h >> 29 | h << 35) ^ 0x94d049bb133111ebULL);

    h = (uint64_t) f ^ (uint64_t) (f >> 64);
    return (uint32_t) h ^ (uint32_t) (h >> 32);
#else
    uint64_t h = 0x52dce729;

    for (int i = 0; i < HKEY_WORDS; i++) {
        uint64_t w = key->w[i] * 0x87c37b91114253d5ULL;

        w = (w << 31 | w >> 33) * 0x4cf5ad432745937fULL;
        h ^= w;
        h = (h << 27 | h >> 37) * 5 + 0x52dce729;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t) h;
#endif
}

static inline bool
hkey_equal(const struct hkey *a, const struct hkey *b)
{
    return !((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1])
             | (a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])
             | (a->w[4] ^ b->w[4]));
}

#endif /* hkey.h */
