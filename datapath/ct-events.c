/* SPDX-License-Identifier: BSD-3-Clause */
/* ct-events.c: the log of closed connections. */

#include "ct-events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

LOG_MODULE(ct);

struct ct_events {
    pthread_mutex_t mutex;
    size_t capacity;
    uint64_t next_seq;              /* Of the next record. */
    struct ct_event *ring;          /* ring[seq % capacity] */
};

struct ct_events *
ct_events_create(size_t capacity)
{
    struct ct_events *ev = calloc(1, sizeof *ev);

    if (!ev || !capacity) {
        free(ev);
        return NULL;
    }
    ev->ring = calloc(capacity, sizeof *ev->ring);
    if (!ev->ring) {
        free(ev);
        return NULL;
    }
    pthread_mutex_init(&ev->mutex, NULL);
    ev->capacity = capacity;
    ev->next_seq = 1;
    return ev;
}

void
ct_events_destroy(struct ct_events *ev)
{
    if (ev) {
        pthread_mutex_destroy(&ev->mutex);
        free(ev->ring);
        free(ev);
    }
}

const char *
ct_close_reason_name(enum ct_close_reason r)
{
    switch (r) {
    case CT_CLOSE_IDLE:
        return "idle";
    case CT_CLOSE_FIN:
        return "fin";
    case CT_CLOSE_RST:
        return "rst";
    case CT_CLOSE_FLUSH:
        return "flush";
    case CT_CLOSE_EVICT:
        return "evict";
    }
    return "unknown";
}

void
ct_events_record(const struct ct_conn_info *info,
                 enum ct_close_reason reason, void *aux)
{
    struct ct_events *ev = aux;
    struct ct_event *e;
    char line[512];

    pthread_mutex_lock(&ev->mutex);
    e = &ev->ring[ev->next_seq % ev->capacity];
    e->seq = ev->next_seq++;
    e->reason = reason;
    e->info = *info;
    snprintf(e->proto_state, sizeof e->proto_state, "%s",
             info->proto_state ? info->proto_state : "");
    e->info.proto_state = NULL;
    pthread_mutex_unlock(&ev->mutex);

    ct_conn_info_format(info, line, sizeof line);
    LOG_INFO_RL("closed (%s): %s, packets=%llu/%llu, bytes=%llu/%llu, "
                "duration=%llums", ct_close_reason_name(reason), line,
                (unsigned long long) info->packets[0],
                (unsigned long long) info->packets[1],
                (unsigned long long) info->bytes[0],
                (unsigned long long) info->bytes[1],
                (unsigned long long) (info->last_ms - info->created_ms));
}

uint64_t
ct_events_dump(struct ct_events *ev, uint64_t after,
               void (*cb)(const struct ct_event *, void *), void *aux)
{
    uint64_t newest, first;

    pthread_mutex_lock(&ev->mutex);
    newest = ev->next_seq - 1;
    first = newest >= ev->capacity ? newest - ev->capacity + 1 : 1;
    if (after + 1 > first) {
        first = after + 1;
    }
    for (uint64_t s = first; s <= newest; s++) {
        cb(&ev->ring[s % ev->capacity], aux);
    }
    pthread_mutex_unlock(&ev->mutex);
    return newest;
}
