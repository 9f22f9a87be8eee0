/* SPDX-License-Identifier: BSD-3-Clause */
/* capture.c: packet capture into pcapng (see capture.h). */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "flow.h"

#define CACHE_LINE 64
#define DRAIN_BURST 256

/* One captured packet on its way to the file. */
struct slot {
    uint64_t tsc;
    uint32_t len;                   /* on the wire */
    uint32_t caplen;                /* in data[] */
    uint8_t tx;
    uint8_t data[];
};

struct capture {
    /* Written by the datapath (atomics). */
    uint64_t seen __attribute__((aligned(CACHE_LINE)));
    uint64_t dropped;
    uint64_t filtered;

    /* Read-only after capture_open(). */
    unsigned dirs __attribute__((aligned(CACHE_LINE)));
    uint32_t snaplen;
    size_t stride;
    uint8_t *slots;
    struct rte_ring *free_q;        /* datapath dequeues, main enqueues */
    struct rte_ring *full_q;        /* datapath enqueues, main dequeues */

    /* Main thread. */
    FILE *f;
    uint64_t max_packets;
    uint32_t in_port;
    bool has_filter;
    struct of_match filter;
    uint64_t tsc0, ns0, hz;
    uint64_t written, bytes;
    bool done;
    int error;
};

/* ---- pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng)
 * ---- */

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_MAGIC 0x1A2B3C4Du
#define LINKTYPE_ETHERNET 1
#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_TSRESOL 9
#define EPB_FLAGS 2

static size_t
pad4(size_t n)
{
    return (n + 3) & ~(size_t) 3;
}

/* Appends option (code, value) to 'b' at '*len'. */
static void
put_opt(uint8_t *b, size_t *len, uint16_t code, const void *v, uint16_t n)
{
    memcpy(b + *len, &code, 2);
    memcpy(b + *len + 2, &n, 2);
    if (n) {
        memcpy(b + *len + 4, v, n);
    }
    memset(b + *len + 4 + n, 0, pad4(n) - n);
    *len += 4 + pad4(n);
}

/* Writes a block: type, total length, body (padded), total length. */
static bool
put_block(FILE *f, uint32_t type, const uint8_t *body, size_t n)
{
    uint32_t total = (uint32_t) (12 + n);

    return fwrite(&type, 4, 1, f) == 1 && fwrite(&total, 4, 1, f) == 1
           && (!n || fwrite(body, n, 1, f) == 1)
           && fwrite(&total, 4, 1, f) == 1;
}

static bool
write_header(FILE *f, const char *ifname, uint32_t snaplen)
{
    uint8_t b[512];
    size_t n = 0;
    uint32_t magic = PCAPNG_MAGIC;
    uint16_t major = 1, minor = 0;
    int64_t section_len = -1;
    uint16_t linktype = LINKTYPE_ETHERNET, reserved = 0;
    uint8_t tsresol = 9;            /* nanoseconds */
    static const char app[] = "sluice";
    size_t nl = strnlen(ifname, 256);

    memcpy(b, &magic, 4);
    memcpy(b + 4, &major, 2);
    memcpy(b + 6, &minor, 2);
    memcpy(b + 8, &section_len, 8);
    n = 16;
    put_opt(b, &n, SHB_USERAPPL, app, sizeof app - 1);
    put_opt(b, &n, OPT_END, NULL, 0);
    if (!put_block(f, PCAPNG_SHB, b, n)) {
        return false;
    }
    memcpy(b, &linktype, 2);
    memcpy(b + 2, &reserved, 2);
    memcpy(b + 4, &snaplen, 4);
    n = 8;
    put_opt(b, &n, IF_NAME, ifname, (uint16_t) nl);
    put_opt(b, &n, IF_TSRESOL, &tsresol, 1);
    put_opt(b, &n, OPT_END, NULL, 0);
    return put_block(f, PCAPNG_IDB, b, n);
}

static bool
write_packet(struct capture *c, const struct slot *s)
{
    uint8_t hdr[20], opts[12];
    uint32_t iface = 0, total;
    uint64_t ns = c->ns0 + (uint64_t) ((__uint128_t) (s->tsc - c->tsc0)
                                       * 1000000000u / c->hz);
    uint32_t ts_hi = (uint32_t) (ns >> 32), ts_lo = (uint32_t) ns;
    uint32_t flags = s->tx ? 2 : 1;         /* outbound : inbound */
    uint32_t type = PCAPNG_EPB;
    size_t on = 0, dn = pad4(s->caplen);
    static const uint8_t zeros[4];

    memcpy(hdr, &iface, 4);
    memcpy(hdr + 4, &ts_hi, 4);
    memcpy(hdr + 8, &ts_lo, 4);
    memcpy(hdr + 12, &s->caplen, 4);
    memcpy(hdr + 16, &s->len, 4);
    put_opt(opts, &on, EPB_FLAGS, &flags, 4);
    put_opt(opts, &on, OPT_END, NULL, 0);
    total = (uint32_t) (12 + sizeof hdr + dn + on);
    return fwrite(&type, 4, 1, c->f) == 1 && fwrite(&total, 4, 1, c->f) == 1
           && fwrite(hdr, sizeof hdr, 1, c->f) == 1
           && (!s->caplen || fwrite(s->data, s->caplen, 1, c->f) == 1)
           && (dn == s->caplen
               || fwrite(zeros, dn - s->caplen, 1, c->f) == 1)
           && fwrite(opts, on, 1, c->f) == 1
           && fwrite(&total, 4, 1, c->f) == 1;
}

/* ---- The capture. ---- */

static struct slot *
slot_at(const struct capture *c, size_t i)
{
    return (struct slot *) (void *) (c->slots + i * c->stride);
}

int
capture_open(const struct capture_spec *spec, struct capture **cp,
             char *err, size_t errsize)
{
    static unsigned serial;
    struct capture *c;
    char name[RTE_RING_NAMESIZE];
    struct timespec ts;
    unsigned id = __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED);
    int fd, ret;

    *cp = NULL;
    if (spec->snaplen < 64 || spec->snaplen > CAPTURE_MAX_SNAPLEN
        || !(spec->dirs & (CAPTURE_RX | CAPTURE_TX))) {
        snprintf(err, errsize, "snaplen must be 64..%d and a direction "
                 "given", CAPTURE_MAX_SNAPLEN);
        return EINVAL;
    }
    c = aligned_alloc(CACHE_LINE, (sizeof *c + CACHE_LINE - 1)
                                  / CACHE_LINE * CACHE_LINE);
    if (!c) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    memset(c, 0, sizeof *c);
    c->dirs = spec->dirs;
    c->snaplen = spec->snaplen;
    c->max_packets = spec->max_packets;
    c->in_port = spec->in_port;
    c->has_filter = spec->has_filter;
    c->filter = spec->filter;
    c->stride = (sizeof(struct slot) + spec->snaplen + CACHE_LINE - 1)
                / CACHE_LINE * CACHE_LINE;
    c->slots = aligned_alloc(CACHE_LINE, c->stride * CAPTURE_SLOTS);
    snprintf(name, sizeof name, "slcapf%u", id);
    c->free_q = rte_ring_create(name, CAPTURE_SLOTS, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_EXACT_SZ);
    snprintf(name, sizeof name, "slcapq%u", id);
    c->full_q = rte_ring_create(name, CAPTURE_SLOTS, SOCKET_ID_ANY,
                                RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (!c->slots || !c->free_q || !c->full_q) {
        snprintf(err, errsize, "out of memory for %d capture slots",
                 CAPTURE_SLOTS);
        ret = ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < CAPTURE_SLOTS; i++) {
        void *s = slot_at(c, i);

        rte_ring_sp_enqueue(c->free_q, s);
    }
    fd = open(spec->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(c->f = fdopen(fd, "wb"))) {
        ret = errno;
        snprintf(err, errsize, "%s: %s", spec->path, strerror(ret));
        if (fd >= 0) {
            close(fd);
        }
        goto fail;
    }
    if (!write_header(c->f, spec->ifname, spec->snaplen) || fflush(c->f)) {
        ret = errno ? errno : EIO;
        snprintf(err, errsize, "%s: %s", spec->path, strerror(ret));
        goto fail;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    c->tsc0 = rte_rdtsc();
    c->ns0 = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
    c->hz = rte_get_tsc_hz();
    *cp = c;
    return 0;

fail:
    if (c->f) {
        fclose(c->f);
    }
    rte_ring_free(c->free_q);
    rte_ring_free(c->full_q);
    free(c->slots);
    free(c);
    return ret;
}

/* Datapath side of the filter: the packet's headers, from its first
 * segment, as received (rx) or as sent (tx). */
static bool
passes(const struct capture *c, const struct rte_mbuf *m, bool tx)
{
    struct flow flow;

    flow_extract(rte_pktmbuf_mtod(m, const void *), rte_pktmbuf_data_len(m),
                 tx ? 0 : c->in_port, &flow, NULL);
    return flow_equal_masked(&flow, &c->filter.flow, &c->filter.wc);
}

void
capture_packets(struct capture *c, struct rte_mbuf *const *pkts, unsigned n,
                bool tx)
{
    struct rte_mbuf *keep[64];
    void *slots[64];
    uint64_t now, filtered = 0, dropped = 0;

    if (!(c->dirs & (tx ? CAPTURE_TX : CAPTURE_RX)) || !n) {
        return;
    }
    __atomic_fetch_add(&c->seen, n, __ATOMIC_RELAXED);
    now = rte_rdtsc();
    for (unsigned done = 0; done < n;) {
        unsigned k = 0, got;

        /* Up to 64 packets the filter keeps. */
        for (; done < n && k < 64; done++) {
            if (c->has_filter && !passes(c, pkts[done], tx)) {
                filtered++;
            } else {
                keep[k++] = pkts[done];
            }
        }
        got = k ? rte_ring_mc_dequeue_burst(c->free_q, slots, k, NULL) : 0;
        for (unsigned i = 0; i < got; i++) {
            const struct rte_mbuf *m = keep[i];
            struct slot *s = slots[i];
            uint32_t len = rte_pktmbuf_pkt_len(m);
            uint32_t cl = len < c->snaplen ? len : c->snaplen;
            const void *p = rte_pktmbuf_read(m, 0, cl, s->data);

            if (p && p != s->data) {
                memcpy(s->data, p, cl);
            }
            s->tsc = now;
            s->len = len;
            s->caplen = p ? cl : 0;
            s->tx = tx;
        }
        if (got) {
            /* As many slots as the ring holds: it cannot be full. */
            rte_ring_mp_enqueue_burst(c->full_q, slots, got, NULL);
        }
        /* No free slot: not captured, never waited for. */
        dropped += k - got;
    }
    if (filtered) {
        __atomic_fetch_add(&c->filtered, filtered, __ATOMIC_RELAXED);
    }
    if (dropped) {
        __atomic_fetch_add(&c->dropped, dropped, __ATOMIC_RELAXED);
    }
}

bool
capture_drain(struct capture *c)
{
    void *slots[DRAIN_BURST];
    unsigned n;
    bool wrote = false;

    do {
        n = rte_ring_sc_dequeue_burst(c->full_q, slots, DRAIN_BURST, NULL);
        for (unsigned i = 0; i < n; i++) {
            const struct slot *s = slots[i];

            if (c->done) {
                continue;           /* max reached: the rest is dropped */
            }
            if (!write_packet(c, s)) {
                c->error = errno ? errno : EIO;
                c->done = true;
                continue;
            }
            wrote = true;
            c->written++;
            c->bytes += s->caplen;
            if (c->max_packets && c->written >= c->max_packets) {
                c->done = true;
            }
        }
        rte_ring_sp_enqueue_burst(c->free_q, slots, n, NULL);
    } while (n == DRAIN_BURST);
    if (wrote && fflush(c->f) && !c->error) {
        c->error = errno ? errno : EIO;
        c->done = true;
    }
    return c->done;
}

void
capture_get_stats(const struct capture *c, struct capture_stats *s)
{
    s->seen = __atomic_load_n(&c->seen, __ATOMIC_RELAXED);
    s->dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
    s->filtered = __atomic_load_n(&c->filtered, __ATOMIC_RELAXED);
    s->written = c->written;
    s->bytes = c->bytes;
    s->done = c->done;
    s->error = c->error;
}

void
capture_close(struct capture *c)
{
    if (!c) {
        return;
    }
    capture_drain(c);
    if (fclose(c->f) && !c->error) {
        c->error = errno;
    }
    rte_ring_free(c->free_q);
    rte_ring_free(c->full_q);
    free(c->slots);
    free(c);
}

/* ---- The captures of a switch. ---- */

struct capture_entry {
    struct capture_info info;       /* info.stats: final once ended */
    char *bridge, *port, *path, *filter;
    uint32_t dp_port;
    struct capture *c;              /* NULL once ended */
    struct capture_entry *next;
};

struct capture_set {
    struct dp *dp;
    struct capture_entry *head;     /* oldest first */
    unsigned next_id;
    struct capture_entry last;      /* what capture_set_stop() returned */
};

struct capture_set *
capture_set_create(struct dp *dp)
{
    struct capture_set *s = calloc(1, sizeof *s);

    if (s) {
        s->dp = dp;
        s->next_id = 1;
    }
    return s;
}

static void
entry_free_strings(struct capture_entry *e)
{
    free(e->bridge);
    free(e->port);
    free(e->path);
    free(e->filter);
}

/* Detaches and closes e's capture, keeping its final figures. */
static void
entry_end(struct capture_set *s, struct capture_entry *e, const char *why)
{
    if (!e->c) {
        return;
    }
    dp_port_set_capture(s->dp, e->dp_port, NULL);
    dp_synchronize(s->dp);
    capture_drain(e->c);
    capture_get_stats(e->c, &e->info.stats);
    capture_close(e->c);
    e->c = NULL;
    e->info.active = false;
    e->info.ended = e->info.stats.error ? "write error" : why;
}

void
capture_set_destroy(struct capture_set *s)
{
    struct capture_entry *e, *next;

    if (!s) {
        return;
    }
    for (e = s->head; e; e = next) {
        next = e->next;
        entry_end(s, e, "stopped");
        entry_free_strings(e);
        free(e);
    }
    entry_free_strings(&s->last);
    free(s);
}

int
capture_set_start(struct capture_set *s, const char *bridge,
                  const char *port, uint32_t dp_port,
                  const struct capture_spec *spec, const char *filter,
                  unsigned *id, char *err, size_t errsize)
{
    struct capture_entry *e, **tail;
    int ret;

    for (e = s->head; e; e = e->next) {
        if (e->c && e->dp_port == dp_port) {
            snprintf(err, errsize, "port %s/%s has a capture already (id "
                     "%u)", bridge, port, e->info.id);
            return EBUSY;
        }
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    e->bridge = strdup(bridge);
    e->port = strdup(port);
    e->path = strdup(spec->path);
    e->filter = strdup(filter ? filter : "");
    if (!e->bridge || !e->port || !e->path || !e->filter) {
        entry_free_strings(e);
        free(e);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    ret = capture_open(spec, &e->c, err, errsize);
    if (ret) {
        entry_free_strings(e);
        free(e);
        return ret;
    }
    e->dp_port = dp_port;
    e->info = (struct capture_info) {
        .id = s->next_id++, .bridge = e->bridge, .port = e->port,
        .path = e->path, .filter = e->filter, .dirs = spec->dirs,
        .max_packets = spec->max_packets, .snaplen = spec->snaplen,
        .active = true,
    };
    for (tail = &s->head; *tail; tail = &(*tail)->next) {
        continue;
    }
    *tail = e;
    dp_port_set_capture(s->dp, dp_port, e->c);
    *id = e->info.id;
    return 0;
}

int
capture_set_stop(struct capture_set *s, unsigned id,
                 struct capture_info *info)
{
    struct capture_entry **pp, *e;

    for (pp = &s->head; *pp && (*pp)->info.id != id; pp = &(*pp)->next) {
        continue;
    }
    e = *pp;
    if (!e) {
        return ENOENT;
    }
    entry_end(s, e, "stopped");
    *pp = e->next;
    entry_free_strings(&s->last);
    s->last = *e;
    free(e);
    *info = s->last.info;
    return 0;
}

void
capture_set_dump(struct capture_set *s,
                 void (*cb)(const struct capture_info *, void *), void *aux)
{
    for (struct capture_entry *e = s->head; e; e = e->next) {
        struct capture_info info = e->info;

        if (e->c) {
            capture_get_stats(e->c, &info.stats);
        }
        cb(&info, aux);
    }
}

void
capture_set_run(struct capture_set *s)
{
    for (struct capture_entry *e = s->head; e; e = e->next) {
        if (e->c && capture_drain(e->c)) {
            entry_end(s, e, "count");
        }
    }
}

void
capture_set_port_gone(struct capture_set *s, uint32_t dp_port)
{
    for (struct capture_entry *e = s->head; e; e = e->next) {
        if (e->c && e->dp_port == dp_port) {
            entry_end(s, e, "port removed");
        }
    }
}
