/* SPDX-License-Identifier: BSD-3-Clause */
/* port.h: the datapath's ports (public API; the vtable is port-provider.h). */

#ifndef SLUICE_PORT_H
#define SLUICE_PORT_H 1

/*
 * What
 * ----
 * A port is something packets come in on and go out of: an ethdev (any
 * DPDK device given by devargs: a PCI NIC, net_pcap, net_null, net_ring,
 * net_tap, net_af_packet, ...), a host kernel tap interface, an in-memory
 * "dummy" port for tests, or (registered by vhost/) a vhost-user port.
 * Each kind is a provider, a const struct port_class; see port-provider.h.
 *
 * Design
 * ------
 * port_open() creates and starts a port from a type name and a list of
 * key=value options.  A port has port_n_rxq() receive queues, each polled
 * by exactly one PMD thread at a time, and port_n_txq() transmit queue ids,
 * one per PMD thread (struct port_env.n_txq): PMD thread i always transmits
 * with qid i.  When the device has fewer hardware tx queues than that, the
 * generic layer maps qid modulo the device's count and serialises the
 * shared queues with a per-queue spinlock; callers never see this.
 *
 * The fast path (port_rx_burst, port_tx_burst) is inline: one indirect
 * call per burst.  Packet and byte counters are kept per queue by the
 * generic layer, written only by the thread that owns the queue (no atomics
 * on the hot path) and summed by port_get_stats(); providers add what only
 * the device knows (misses, errors).
 *
 * Packets a (simulated) NIC forwards in hardware, without software, leave
 * through port_hw_tx_burst(): the same device queues, locks and ownership
 * as port_tx_burst(), on the calling thread's tx qid
 * (port_set_thread_txq()), counted apart as hardware tx (hw_tx_packets).
 *
 * Thread-safety
 * -------------
 * port_rx_burst(port, q, ...) may be called by one thread at a time per rx
 * queue q; port_tx_burst(port, q, ...) by one thread at a time per tx qid q
 * (distinct qids may run concurrently); port_hw_tx_burst() by the thread
 * that owns its tx qid (a PMD, from a receive hook of a port it polls,
 * port-provider.h).  Everything else (open, close, reconfigure, getters,
 * the dummy hooks of port-dummy.h) is for the main thread.
 * port_get_stats() may run while PMD threads poll (the counters it reads
 * are naturally aligned 64-bit words; a sum may be a few packets stale).
 * port_close() and port_reconfigure() require that no thread is polling
 * or transmitting on the port (remove it from the PMDs first and wait for
 * a grace period); port_reconfigure() itself holds off port_hw_tx_burst()
 * (whose callers the datapath cannot quiesce), port_close() requires that
 * no NIC model outputs to the port any more (simnic_port_detach()).
 *
 * Ownership
 * ---------
 * port_open() returns a new port; the caller frees it with port_close().
 * port_rx_burst() hands the received mbufs to the caller.  port_tx_burst()
 * always takes ownership of all n mbufs: what the device refuses is freed
 * and counted in tx_dropped; so does port_hw_tx_burst().  Option strings
 * are copied; the mempool in struct port_env is borrowed and must outlive
 * the port.
 *
 * Errors are 0 or a positive errno value; burst functions return counts.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "port-options.h"

struct port;
struct port_class;
struct rte_mbuf;
struct rte_mempool;

/* What a port needs from the datapath.  Borrowed by the port.
 *
 * synchronize(sync_aux), optional: returns once every thread that may call
 * the port's fast path (port_rx_burst(), port_tx_burst(),
 * port_hw_tx_burst(): the PMDs) has left any such call it was inside when
 * synchronize() began (one grace period; the datapath passes
 * dp_synchronize()).  A provider whose device can vanish under its fast
 * path (vhost: rte_vhost frees a device when its destroy callback returns)
 * publishes "gone" with a release store, calls it, and only then lets the
 * device go; its fast path then needs only an acquire load.  Callable from
 * any thread that is not a PMD, and only while holding nothing a PMD may
 * wait for (a lock a PMD takes, directly or inside a library call on any
 * device): the PMDs must reach their next quiescent state.  NULL (ports
 * opened without a datapath, e.g. unit tests): the provider keeps a
 * fallback that needs no grace period (vhost: per-queue busy flags). */
struct port_env {
    struct rte_mempool *mp; /* Receive buffers (tap, dummy, ethdev rxqs). */
    int socket_id;          /* NUMA socket for allocations, or -1 (any). */
    unsigned n_txq;         /* Tx queue ids callers use: number of PMDs. */
    void (*synchronize)(void *sync_aux);    /* Or NULL; see above. */
    void *sync_aux;
};

/* Checksum and segmentation offload (port-ol.c).
 *
 * A packet may carry a request for a device: DPDK's tx offload flags on
 * its mbuf, RTE_MBUF_F_TX_TCP_CKSUM or _UDP_CKSUM (the L4 checksum is
 * partial: left to the device) and RTE_MBUF_F_TX_TCP_SEG with tso_segsz
 * (a TCP packet to be cut into segments of that many payload bytes), with
 * RTE_MBUF_F_TX_TUNNEL_VXLAN or _GENEVE (and RTE_MBUF_F_TX_OUTER_UDP_CKSUM
 * when the outer UDP checksum is wanted) once it was encapsulated.  Guests
 * on vhost-user ports send such packets.  The header offsets in the mbuf
 * (l2_len...) mean nothing on the way: actions change headers; they are
 * found again when the packet leaves.
 *
 * port_tx_burst() and port_hw_tx_burst() meet every request before the
 * device sees the packet: what the device does itself (tx_ol, below) is
 * handed to it with the offsets and the pseudo-header sum it expects; the
 * rest is done in software (checksums completed, TSO packets cut into
 * segments in new mbufs from the packet's pool).  A packet whose request
 * cannot be met (not TCP/UDP over IP, a segment size below
 * PORT_OL_MIN_MSS or one that would make more than PORT_OL_MAX_SEGS
 * segments, no buffers) is dropped and counted
 * (tx_offload_dropped, in tx_dropped too); segments count as the packets
 * the device took.
 *
 * port_ol_active is false until some port may receive such packets (a
 * provider sets it before it does): until then no burst is looked at. */
#define PORT_TX_OL_CSUM (1u << 0)   /* Completes TCP/UDP checksums. */
#define PORT_TX_OL_TSO4 (1u << 1)   /* Segments TCP over IPv4. */
#define PORT_TX_OL_TSO6 (1u << 2)   /* Segments TCP over IPv6. */
#define PORT_OL_MAX_SEGS 1024
#define PORT_OL_MIN_MSS 88          /* Linux's TCP_MIN_MSS. */

extern bool port_ol_active;

/* Any thread: from now on port_tx_burst() looks for offload requests. */
void port_ol_enable(void);

/* A copy of 'm' from 'mp' with its metadata, offload requests included
 * (rte_pktmbuf_copy()), in one buffer even when it is larger than the
 * pool's mbufs (then an external buffer from rte_malloc, as rte_vhost
 * gives a guest's TSO packet: actions read headers in place), or NULL. */
struct rte_mbuf *port_pkt_copy(struct rte_mbuf *m, struct rte_mempool *mp);

/* Makes chained 'm' one segment in place (the same mbuf, metadata kept):
 * rte_pktmbuf_linearize() when the first buffer has room, else the data
 * moves to an external buffer from rte_malloc (a 64 KiB GSO frame a tap
 * read into a chain).  0, or -1 (m unchanged) without memory or when it
 * is over 64 KiB.  Providers make what they receive one segment
 * (port_rx_linearize()); the datapath's calls are a safeguard. */
int port_pkt_linearize(struct rte_mbuf *m);

/* For a provider whose device may hand over chains (tap, an ethdev that
 * scatters): makes each of the 'n' packets one segment
 * (port_pkt_linearize()), since the datapath parses a packet in one piece;
 * those it cannot are freed and counted in '*dropped'.  Returns the
 * packets left, in order. */
int port_rx_linearize(struct rte_mbuf **pkts, int n, uint64_t *dropped);

/* Completes in place the checksum 'm' asks for (an L4 one, and an outer
 * UDP one when asked), for a consumer that reads its bytes rather than
 * sending it (a packet-in); the request stays for any later output (which
 * recomputes it).  A TSO packet stays one packet.  False if 'm' is not a
 * packet pkt-ol.h can parse (then left as it is). */
bool port_ol_csum_now(struct rte_mbuf *m);

/* Counters.  The rx/tx packet and byte counts are what sluice itself
 * received and what the device accepted for transmission from software;
 * hw_tx_* count what the device accepted from port_hw_tx_burst() (packets
 * a NIC forwarded in hardware, not in tx_*).  rx_dropped counts packets
 * the device dropped for lack of buffers or queue space; tx_dropped counts
 * packets handed to port_tx_burst() or port_hw_tx_burst() that the device
 * refused (freed by sluice); *_errors are device-reported errors. */
struct port_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t rx_dropped;
    uint64_t rx_errors;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t tx_dropped;
    uint64_t tx_errors;
    uint64_t hw_tx_packets;
    uint64_t hw_tx_bytes;
    uint64_t tx_sw_segments;    /* TSO packets cut in software: segments. */
    uint64_t tx_sw_checksums;   /* Partial checksums completed in software. */
    uint64_t tx_offload_dropped; /* Offload requests not met (malformed,
                                  * no buffers); also in tx_dropped. */
};

/* A provider-specific counter (e.g. vhost "rxq0_packets",
 * "tx_ring_full").  'name' is NUL-terminated. */
#define PORT_CUSTOM_STAT_NAME_LEN 48
struct port_custom_stat {
    char name[PORT_CUSTOM_STAT_NAME_LEN];
    uint64_t value;
};

/* Registry. */
void port_init_classes(void);   /* Registers dpdk, tap, dummy.  Needs no
                                 * EAL: call it (and vhost's) before
                                 * loading a config, which checks port
                                 * options against the classes' tables. */
int port_register_class(const struct port_class *); /* EEXIST, ENOSPC. */
const struct port_class *port_class_lookup(const char *type); /* or NULL */
const struct port_class *port_class_at(size_t i); /* In registration order;
                                                   * NULL past the end. */

/* The registered classes' option tables (port-options.h). */
/* The option table of registered port type 'type', or NULL if there is no
 * such type.  A class without options gives an empty table. */
const struct port_opt_def *port_opt_table(const char *type);

/* Writes the registered type names, "dpdk, tap, ...", into 'buf'. */
void port_opt_type_names(char *buf, size_t size);

/* Writes the markdown table of every registered type's options (one row per
 * option; types that share a table share rows) to 'f'.  Returns 0 or an
 * errno from writing. */
int port_opt_write_markdown(FILE *f);

/* Life cycle.
 *
 * port_open(): creates port 'name' of 'type' (ENOENT if no such type) with
 * 'opts', configures and starts the device.  On success stores a new port
 * in '*portp' and returns 0.  On failure returns a positive errno, stores
 * NULL and writes a one-line message into 'err' (which names the offending
 * option key when an option is the cause; 'err' may be NULL).
 *
 * port_set_config() + port_reconfigure(): change options of an open port
 * (e.g. "mtu").  port_set_config() only validates and records; nothing is
 * applied until port_reconfigure(), which needs the port to be idle (see
 * Thread-safety) and may change the number of rx queues.  A provider may
 * also request a reconfiguration itself (e.g. vhost when the guest changes
 * its queue count): port_needs_reconfigure() then returns true.
 *
 * port_close(): stops the device, frees all mbufs still queued in it, and
 * frees the port.  NULL is a no-op. */
int port_open(const char *name, const char *type,
              const struct port_option *opts, size_t n_opts,
              const struct port_env *env, struct port **portp,
              char *err, size_t errsize);
int port_set_config(struct port *, const struct port_option *opts,
                    size_t n_opts, char *err, size_t errsize);
int port_reconfigure(struct port *, char *err, size_t errsize);
bool port_needs_reconfigure(const struct port *);
void port_close(struct port *);

/* Getters (main thread).  Returned strings are owned by the port. */
const char *port_name(const struct port *);
const char *port_type(const struct port *);
unsigned port_n_rxq(const struct port *);
/* The rx queues the datapath polls: port_n_rxq(), or 0 for a port whose
 * packets the datapath delivers itself (a tunnel port). */
unsigned port_polled_rxqs(const struct port *);
unsigned port_n_txq(const struct port *);   /* = env->n_txq */
void port_get_stats(const struct port *, struct port_stats *);
bool port_link_up(const struct port *);
/* Stores up to 'max' provider-specific counters into 'stats' and returns
 * how many it stored (0 if the provider has none).  Main thread; may run
 * while PMDs poll. */
size_t port_get_custom_stats(const struct port *,
                             struct port_custom_stat *stats, size_t max);
int port_get_mtu(const struct port *);      /* L3 MTU, or 0 if unknown. */
void port_get_mac(const struct port *, uint8_t mac[6]); /* zeros: none */
int port_get_dpdk_port_id(const struct port *, uint16_t *id); /* ENOTSUP
                                                               * unless an
                                                               * ethdev. */
/* The rx metadata (MARK/FLAG delivery) negotiated for an ethdev port:
 * see port_class.get_rx_metadata; ENODEV unless an ethdev. */
int port_get_rx_metadata(const struct port *, uint64_t *features);


/* Fast path (PMD threads): port_rx_burst() and port_tx_burst() are
 * inline, in port-io.h. */

/* Hardware transmit (a simulated NIC's e-switch output, simnic.h).
 *
 * port_set_thread_txq(): the tx qid the calling thread owns (a PMD thread
 * calls it once with its index, the qid it passes to port_tx_burst()).
 * A thread that never calls it has qid 0: only for tests without PMDs.
 *
 * port_hw_tx_burst(): transmits 'n' packets a NIC forwarded without
 * software on the calling thread's tx qid (< port_n_txq()), through the
 * device queue and lock port_tx_burst() would use.  Always takes ownership
 * of all 'n' mbufs; returns the number the device accepted, counted as
 * hw_tx_packets/hw_tx_bytes; the rest were freed and counted as
 * tx_dropped. */
void port_set_thread_txq(unsigned qid);
int port_hw_tx_burst(struct port *, struct rte_mbuf **pkts, int n);

#endif /* port.h */
