/* SPDX-License-Identifier: BSD-3-Clause */
/* ct-events.h: the log of closed connections (session-closed records). */
#ifndef SLUICE_CT_EVENTS_H
#define SLUICE_CT_EVENTS_H 1

/*
 * What
 *   Every connection the tracker closes (idle timeout, FIN, RST, flush,
 *   eviction of an embryonic one) becomes a record: zone, tuples both ways
 *   (with NAT, the reply tuple is the translated one), packets and bytes
 *   both ways, duration and reason.  The last 'capacity' records are kept
 *   for `sluice-ofctl conntrack-events`, each numbered, and each is logged
 *   (module "ct", info, rate-limited).
 *
 * Design
 *   A ring under a mutex: the tracker reports from the main thread
 *   (expiry, flush) and, for evictions, from a PMD committing a new
 *   connection into a full table, both rare next to packets.
 *
 * Thread-safety
 *   ct_events_record() from any thread; the rest from the main thread.
 *
 * Ownership
 *   ct_events_create() returns memory ct_events_destroy() frees; records
 *   are copied in and out.
 */

#include <stddef.h>
#include <stdint.h>
#include "conntrack.h"

struct ct_events;

struct ct_event {
    uint64_t seq;                   /* 1, 2, ... */
    enum ct_close_reason reason;
    struct ct_conn_info info;       /* info.proto_state is not kept */
    char proto_state[16];
};

struct ct_events *ct_events_create(size_t capacity);
void ct_events_destroy(struct ct_events *);
/* A ct_event_fn (conntrack.h): 'aux' is the struct ct_events. */
void ct_events_record(const struct ct_conn_info *, enum ct_close_reason,
                      void *aux);
/* Calls 'cb' for each kept record with seq > 'after', oldest first;
 * returns the sequence number of the newest record (0: none yet). */
uint64_t ct_events_dump(struct ct_events *, uint64_t after,
                        void (*cb)(const struct ct_event *, void *),
                        void *aux);
const char *ct_close_reason_name(enum ct_close_reason);

#endif /* ct-events.h */
