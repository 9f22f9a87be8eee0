/* SPDX-License-Identifier: BSD-3-Clause */
/* mac-learning.h: per-bridge (VLAN, MAC) -> port table for NORMAL. */
#ifndef SLUICE_MAC_LEARNING_H
#define SLUICE_MAC_LEARNING_H 1

/*
 * What
 *   The MAC learning table of one bridge: (VLAN id, Ethernet address) ->
 *   OpenFlow port, learned from the source addresses of packets that reach
 *   the NORMAL action, aged out after a configurable time (default 300 s)
 *   and bounded in size (when full, learning a new address evicts the
 *   least recently learned/refreshed entry).
 *
 * Design
 *   A chained hash table plus an LRU list ordered by last refresh.
 *   Broadcast and multicast source addresses (I/G bit set) are never
 *   learned.  An entry older than the aging time is dead: lookups ignore it
 *   at once, ml_expire() frees it.  A generation counter is bumped by every
 *   change that can alter a lookup's answer (new entry, port move, expiry,
 *   eviction, flush); a mere refresh does not bump it.  The datapath uses
 *   the generation to revalidate cached flows that depend on the table.
 *
 * Thread-safety
 *   Every function may be called from any thread concurrently (PMD upcalls
 *   learn and look up, the main thread expires and flushes): the table is
 *   protected by one internal mutex, held only for the duration of a call.
 *   ml_generation() is a lock-free atomic read.  ml_create/ml_destroy are
 *   not concurrent with anything else.
 *
 * Ownership
 *   ml_create() returns a new table freed by ml_destroy().  MACs are copied.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_DEFAULT_AGING_S 300
#define ML_DEFAULT_MAX 8192

struct ml;

/* New empty table with the given aging time (seconds, >= 1) and maximum
 * number of entries (>= 1); NULL on ENOMEM. */
struct ml *ml_create(unsigned int aging_s, size_t max_entries);
/* NULL is a no-op. */
void ml_destroy(struct ml *ml);

/* Reconfigure.  Lowering the maximum evicts the oldest entries at once. */
void ml_set_aging(struct ml *ml, unsigned int aging_s);
void ml_set_max(struct ml *ml, size_t max_entries);
unsigned int ml_get_aging(const struct ml *ml);
size_t ml_get_max(const struct ml *ml);

/* Learns that 'mac' on VLAN 'vlan' (0..4095; 0 = untagged) is behind
 * 'port' at time 'now_ms'.  Returns true if that changed the table's
 * answers (a new or revived entry, or a move to another port), false for a
 * refresh, a multicast source, or ENOMEM. */
bool ml_learn(struct ml *ml, const uint8_t mac[6], uint16_t vlan,
              uint32_t port, long long now_ms);
/* True and *port set if a live entry for (mac, vlan) exists at 'now_ms'. */
bool ml_lookup(struct ml *ml, const uint8_t mac[6], uint16_t vlan,
               long long now_ms, uint32_t *port);
/* Frees entries not refreshed for the aging time; returns how many. */
size_t ml_expire(struct ml *ml, long long now_ms);
/* Removes every entry pointing to 'port' / every entry; returns how many. */
size_t ml_flush_port(struct ml *ml, uint32_t port);
size_t ml_flush(struct ml *ml);

/* Number of entries (including dead ones not yet expired). */
size_t ml_count(struct ml *ml);
uint64_t ml_generation(const struct ml *ml);

/* Calls 'cb' for each entry (most recently refreshed last), with the
 * table locked: 'cb' must not call ml_* on 'ml'.  age_ms = now - last
 * refresh. */
void ml_dump(struct ml *ml, long long now_ms,
             void (*cb)(const uint8_t mac[6], uint16_t vlan, uint32_t port,
                        long long age_ms, void *aux),
             void *aux);

/* Checks internal invariants; 0 or EINVAL (details on stderr).  Tests. */
int ml_check(struct ml *ml);

#endif /* mac-learning.h */
