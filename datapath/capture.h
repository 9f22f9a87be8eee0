/* SPDX-License-Identifier: BSD-3-Clause */
/* capture.h: packet capture of any port into a pcapng file. */
#ifndef SLUICE_CAPTURE_H
#define SLUICE_CAPTURE_H 1

/*
 * What
 *   One capture: the packets one port receives and/or sends, written to a
 *   pcapng file while the switch forwards, for every port type (DPDK
 *   ethdev, vhost-user, tap, dummy).  Optionally only those a filter
 *   matches (a match in the flow syntax: "udp,tp_dst=53"), and at most
 *   'max_packets' of them.  sluice-ofctl capture-pcap drives it
 *   (docs/OPERATIONS.md, "Packet capture").
 *
 * Design
 *   The datapath calls capture_packets() on every burst the port
 *   receives (as received) and every burst it sends (as sent: after the
 *   flow's rewrites), only while a capture is attached to the port
 *   (dp_port_set_capture(): one atomic load per burst otherwise).  A PMD
 *   applies the filter to the packet's headers (flow_extract() of its
 *   first segment, whatever the snaplen), copies at most 'snaplen' bytes
 *   of each packet it keeps into a slot taken from a ring of free slots
 *   and queues it on a ring of filled ones; when no slot is free the
 *   packet is counted as dropped, never waited for, so a capture can lose
 *   packets but never slows forwarding down.  The main thread
 *   (capture_drain(), every tick) writes Enhanced Packet Blocks with
 *   nanosecond timestamps and the direction flag, and gives the slots
 *   back.  The file is pcapng with one
 *   interface (the port, "BRIDGE/PORT"), written by this module:
 *   DPDK 22.11's rte_pcapng describes only ethdev ports.
 *
 * Thread-safety
 *   capture_packets(): any number of datapath threads at once.
 *   Everything else: the main thread.  capture_close() only once no
 *   datapath thread can still see the capture (after a grace period).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ofp-parse.h"

struct rte_mbuf;
struct capture;

#define CAPTURE_RX 1u
#define CAPTURE_TX 2u
#define CAPTURE_SLOTS 4096              /* packets in flight to the file */
#define CAPTURE_DEFAULT_SNAPLEN 2048
#define CAPTURE_MAX_SNAPLEN 9216

struct capture_spec {
    const char *path;               /* created (truncated), mode 0600 */
    const char *ifname;             /* pcapng interface name */
    unsigned dirs;                  /* CAPTURE_RX | CAPTURE_TX */
    uint64_t max_packets;           /* written; 0 = until closed */
    uint32_t snaplen;               /* 64..CAPTURE_MAX_SNAPLEN */
    uint32_t in_port;               /* for the filter's in_port (rx) */
    bool has_filter;
    struct of_match filter;
};

struct capture_stats {
    uint64_t seen;                  /* packets the datapath offered */
    uint64_t dropped;               /* no free slot: not captured */
    uint64_t filtered;              /* not matched by the filter */
    uint64_t written;               /* in the file */
    uint64_t bytes;                 /* captured bytes written */
    bool done;                      /* max_packets reached, or an error */
    int error;                      /* errno of a write failure, or 0 */
};

/* Creates the file and writes its header.  Returns 0, or an errno with
 * 'err' filled. */
int capture_open(const struct capture_spec *, struct capture **,
                 char *err, size_t errsize);

/* Datapath: offers 'n' packets of a burst ('tx': sent, else received). */
void capture_packets(struct capture *, struct rte_mbuf *const *pkts,
                     unsigned n, bool tx);

/* Main thread: writes what the datapath queued.  Returns true once the
 * capture is done (max_packets written, or a write error): it can then be
 * detached and closed. */
bool capture_drain(struct capture *);

void capture_get_stats(const struct capture *, struct capture_stats *);

/* Drains what is left, closes the file and frees 'c'.  NULL-safe. */
void capture_close(struct capture *c);

/* ---- The captures of a switch ----
 *
 * At most one capture per port at a time.  A capture that is done
 * (max_packets written, or a write error) is detached and its file
 * closed by capture_set_run(); it stays listed, with its final figures,
 * until capture_set_stop() takes it.  A port deleted under a capture ends
 * it ("port removed").  Main thread. */

struct dp;
struct capture_set;

struct capture_info {
    unsigned id;
    const char *bridge, *port, *path, *filter;  /* filter "" = none */
    unsigned dirs;
    uint64_t max_packets;
    uint32_t snaplen;
    bool active;                    /* attached and writing */
    const char *ended;              /* why it ended: "count", "stopped",
                                       "port removed", "write error", or
                                       NULL while active */
    struct capture_stats stats;
};

struct capture_set *capture_set_create(struct dp *);
/* Ends every capture (their files complete). */
void capture_set_destroy(struct capture_set *);

/* Starts capturing datapath port 'dp_port' (BRIDGE/PORT named for the
 * file and the listing) as 'spec' says; 'filter' is the filter's text,
 * kept for the listing.  Returns 0 with '*id', EBUSY if the port has a
 * capture already, or capture_open()'s error. */
int capture_set_start(struct capture_set *, const char *bridge,
                      const char *port, uint32_t dp_port,
                      const struct capture_spec *, const char *filter,
                      unsigned *id, char *err, size_t errsize);

/* Ends capture 'id' (if still active), fills '*info' with its final
 * figures (strings valid until the next call into the set) and forgets
 * it.  Returns 0 or ENOENT. */
int capture_set_stop(struct capture_set *, unsigned id,
                     struct capture_info *info);

/* Calls 'cb' for each capture, oldest first ('info' valid during the
 * call). */
void capture_set_dump(struct capture_set *,
                      void (*cb)(const struct capture_info *, void *),
                      void *aux);

/* Writes what the datapath queued; ends the captures that are done. */
void capture_set_run(struct capture_set *);

/* Ends the capture of 'dp_port', if any (before the port goes). */
void capture_set_port_gone(struct capture_set *, uint32_t dp_port);

#endif /* capture.h */
