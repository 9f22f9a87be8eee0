/* SPDX-License-Identifier: BSD-3-Clause */
/* port-provider.h: the port provider interface (struct port_class). */

#ifndef SLUICE_PORT_PROVIDER_H
#define SLUICE_PORT_PROVIDER_H 1

/*
 * What
 * ----
 * The vtable every kind of port implements, and struct port, the part of
 * each port that the generic layer (port.c and the inline fast path in
 * port.h) owns.  Only providers and port.c look inside struct port.
 *
 * Design
 * ------
 * A provider allocates a larger struct that embeds struct port (usually as
 * its first member) and finds its own state with a container-of cast.
 * port_open() runs: alloc -> (port.c fills class, name, env) -> construct
 * -> set_config(all options) -> reconfigure.  port_close() runs destruct
 * -> dealloc.  Every step that fails unwinds the earlier ones.
 *
 * reconfigure() sets port->n_rxq (>= 1) and port->n_dev_txq (>= 1, the
 * device's real number of tx queues, at most port->n_txq); port.c then
 * sizes the per-queue counter arrays and, when n_dev_txq < n_txq, turns on
 * the per-device-queue spinlocks, so send() is never called concurrently
 * for one device queue.  A provider whose send() is safe from several
 * threads on one queue (dummy, tap) simply reports n_dev_txq = n_txq.
 *
 * Generic counters (rx/tx packets and bytes, tx_dropped) are maintained by
 * port.h's inline wrappers, so providers do not count what the wrappers
 * see; get_stats() adds only what the device alone knows.
 *
 * Thread-safety
 * -------------
 * rxq_recv() and send() run on PMD threads, with the guarantees in port.h
 * (one thread per rx queue; one thread per device tx queue, serialised by
 * port.c's locks when queues are shared).  Every other member runs on the
 * main thread while no PMD polls the port, except get_stats(), get_link()
 * and the dummy hooks, which may run while PMDs poll.
 *
 * Ownership
 * ---------
 * Stated per member below.  Errors: 0 or positive errno, never a negative
 * DPDK code (convert with dpdk_errno(), dpdk-errno.h).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "port.h"
#include "port-options.h"

struct port_class {
    /* Type name used in port_open(), e.g. "dpdk".  Static storage. */
    const char *type;

    /* The options set_config() takes (port-options.h), ended by an entry
     * whose name is NULL; NULL means none.  Static storage. */
    const struct port_opt_def *options;

    /* The datapath never polls the port's rx queues (rxq_recv is never
     * called): its packets come from the datapath itself, as a tunnel
     * port's decapsulated packets do (port-tunnel.h), and its rx queue
     * counters are written by whoever delivers them. */
    bool no_poll;

    /* Optional.  Called once by port_register_class(); a non-zero return
     * refuses the registration. */
    int (*init)(void);

    /* Returns new zeroed storage for a port of this class with struct
     * port embedded, or NULL (ENOMEM).  Freed by dealloc(). */
    struct port *(*alloc)(void);

    /* Initialises the provider's state of a port whose generic fields
     * (class, name, env, n_txq) are set.  Does not touch the device yet.
     * On failure, nothing needs undoing except dealloc(). */
    int (*construct)(struct port *);

    /* Undoes construct() and every reconfigure(): stops and releases the
     * device and frees every mbuf the port still holds (rx rings, tx
     * rings, capture rings).  Must cope with a port that was constructed
     * but never (successfully) reconfigured. */
    void (*destruct)(struct port *);

    /* Frees the storage from alloc(). */
    void (*dealloc)(struct port *);

    /* Records the complete option set 'opts' (the previous set is
     * replaced: an option not given takes its default) for the next
     * reconfigure().  Applies nothing.  port.c has already checked 'opts'
     * against 'options' (port_opt_validate(): only listed keys, each
     * once, values of the right type and range, required ones present),
     * so the provider reads values without checking them again and
     * checks only what the table cannot say.  On such an error returns
     * EINVAL (or ENOTSUP for a change that cannot be applied at run time),
     * writes a message that names the key into 'err' (with
     * port_err_set()), and leaves the recorded configuration unchanged.
     * 'opts' is borrowed for the call. */
    int (*set_config)(struct port *, const struct port_option *opts,
                      size_t n_opts, char *err, size_t errsize);

    /* Applies the recorded configuration: the first call opens and starts
     * the device, later calls change what changed.  Sets port->n_rxq and
     * port->n_dev_txq.  On error writes 'err' and leaves the port closed
     * (first call) or in its previous working state. */
    int (*reconfigure)(struct port *, char *err, size_t errsize);

    /* Fast path: receives up to 'max' (>= 1) packets from rx queue 'qid'
     * (< n_rxq) into 'pkts'; returns the count (0 if none).  Ownership of
     * the received mbufs passes to the caller.  Must not block. */
    int (*rxq_recv)(struct port *, unsigned qid, struct rte_mbuf **pkts,
                    int max);

    /* Fast path: transmits 'n' (>= 1) packets on device tx queue 'qid'
     * (< n_dev_txq).  Steals all 'n' mbufs: returns the number the device
     * accepted and frees the others (port_free_burst() helps); stores in
     * '*bytes' the sum of rte_pktmbuf_pkt_len() of the accepted ones.  The
     * caller counts n - return as tx_dropped.  Must not block. */
    int (*send)(struct port *, unsigned qid, struct rte_mbuf **pkts, int n,
                uint64_t *bytes);

    /* Optional.  Adds the device-only counters (rx_dropped, rx_errors,
     * tx_errors, and any tx_dropped not seen by send()) into '*stats',
     * which already holds the generic counts.  Must not reset anything. */
    void (*get_stats)(const struct port *, struct port_stats *stats);

    /* Optional (default: up). */
    bool (*get_link)(const struct port *);

    /* Optional (default: none).  Stores up to 'max' provider-specific
     * counters (per queue, by reason) into 'stats'; returns how many.
     * May run while PMDs poll.  Must not reset anything. */
    size_t (*get_custom_stats)(const struct port *,
                               struct port_custom_stat *stats, size_t max);

    /* Optional (default: 0, unknown).  Returns the L3 MTU. */
    int (*get_mtu)(const struct port *);

    /* Optional (default: all zeros). */
    void (*get_mac)(const struct port *, uint8_t mac[6]);

    /* Optional (default: ENOTSUP).  For ethdev-backed ports: the DPDK
     * port id, for rte_flow offload. */
    int (*get_dpdk_port_id)(const struct port *, uint16_t *id);

    /* Optional (default: ENODEV).  For ethdev-backed ports: what came of
     * the rx metadata negotiation (rte_eth_rx_metadata_negotiate() of
     * RTE_ETH_RX_METADATA_USER_MARK | USER_FLAG, made once, before the
     * device's first rte_eth_dev_configure()): 0 and the features the
     * PMD granted in '*features'; ENOTSUP if the PMD has no negotiation
     * (DPDK: use the features without it; '*features' = those
     * requested); another errno if it failed ('*features' = 0).
     * Partial offload needs USER_MARK. */
    int (*get_rx_metadata)(const struct port *, uint64_t *features);
};

/* Per-rx-queue counters, written only by the thread polling the queue. */
struct port_rxq_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t hw_packets;        /* Tunnel ports (queue 0): what NICs
                                 * decapsulated for the port (main
                                 * thread, atomics); in rx_*. */
    uint64_t hw_bytes;
} __rte_cache_aligned;

/* Per-tx-qid counters (indexed by the caller's qid, not the device queue),
 * written only by the PMD thread that owns the qid.  hw_* count what
 * port_hw_tx_burst() sent (not in packets/bytes); its refusals are in
 * 'dropped' with software's. */
struct port_txq_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t dropped;
    uint64_t hw_packets;
    uint64_t hw_bytes;
    uint64_t sw_segments;       /* Segments cut from TSO packets (port-ol.c). */
    uint64_t sw_checksums;      /* Partial checksums completed. */
    uint64_t ol_dropped;        /* Offload requests that could not be met
                                 * (also in 'dropped'). */
} __rte_cache_aligned;

/* Lock of one device tx queue, used only when the queue is shared. */
struct port_txq_lock {
    rte_spinlock_t lock;
} __rte_cache_aligned;

struct port {
    /* Set by port.c before construct(); constant afterwards. */
    const struct port_class *class;
    char *name;                 /* Owned. */
    struct port_env env;        /* env.mp is borrowed. */
    unsigned n_txq;             /* Caller tx qids: env.n_txq (>= 1). */

    /* Set by the provider's reconfigure(). */
    unsigned n_rxq;             /* >= 1. */
    unsigned n_dev_txq;         /* 1 .. n_txq. */

    /* Maintained by port.c; read by the inline fast path. */
    bool txq_shared;            /* n_dev_txq < n_txq: lock device queues. */
    struct port_rxq_stats *rxq_stats;   /* [n_rxq], owned. */
    struct port_txq_stats *txq_stats;   /* [n_txq], owned. */
    struct port_txq_lock *txq_locks;    /* [n_dev_txq], owned. */
    struct port_stats base;     /* Folded in from replaced arrays. */

    /* Set by port_request_reconfigure() from any thread. */
    bool need_reconfigure;      /* Accessed with __atomic builtins. */

    /* Optional receive hook (offload: a simulated SmartNIC sees every
     * received packet before software does).  NULL = none.  Set with
     * port_set_rx_hook(); read by the polling thread. */
    const struct port_rx_hook *rx_hook;

    /* port_hw_tx_burst() transmits from threads the datapath does not
     * quiesce for port_reconfigure() (a PMD polling another port): it
     * holds this for reading, port_reconfigure() for writing. */
    rte_rwlock_t hw_tx_lock;

    /* The offloads the device does for packets it is given (PORT_TX_OL_*
     * of port.h; 0 for most: sluice completes checksums and segments in
     * software before sending, port-ol.c).  Written by the provider (any
     * thread, atomic; a vhost port's depend on what its guest negotiated)
     * before the device can take packets, read by port_tx_burst(). */
    uint32_t tx_ol;
};

/* A receive hook: called by port_rx_burst() after the device returned
 * n > 0 packets and before they are counted.  It may consume packets (it
 * then owns them: frees them, or transmits them with port_hw_tx_burst(),
 * which uses the polling thread's tx qid) and returns how many it left,
 * compacted in order at the start of 'pkts'.  Runs on the polling thread;
 * must not block. */
struct port_rx_hook {
    int (*fn)(const struct port_rx_hook *, struct port *, unsigned qid,
              struct rte_mbuf **pkts, int n);
};

/* Installs (or with NULL removes) 'port''s receive hook.  Main thread.
 * The hook (borrowed) must stay valid until it is removed and a grace
 * period has passed, or until the port is closed. */
static inline void
port_set_rx_hook(struct port *port, const struct port_rx_hook *hook)
{
    __atomic_store_n(&port->rx_hook, hook, __ATOMIC_RELEASE);
}

/* Helpers for providers (port.c). */

/* Formats a message into 'err' (if not NULL and errsize > 0). */
void port_err_set(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* May be called from any thread (e.g. a vhost callback). */
void port_request_reconfigure(struct port *);

/* Frees 'n' mbufs (n may be <= 0). */
static inline void
port_free_burst(struct rte_mbuf **pkts, int n)
{
    if (n > 0) {
        rte_pktmbuf_free_bulk(pkts, (unsigned) n);
    }
}

/* Provider classes built into the datapath (registered by
 * port_init_classes()). */
extern const struct port_class port_dpdk_class;
extern const struct port_class port_tap_class;
extern const struct port_class port_dummy_class;

#endif /* port-provider.h */
