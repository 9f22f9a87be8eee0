/* SPDX-License-Identifier: BSD-3-Clause */
/* port-vhost.c: vhost-user ports over rte_vhost (server and client). */

/*
 * State shared with rte_vhost's threads (see vhost.h for the model):
 *
 *   vid                 the running device, or -1.  Written by the
 *                       new_device/destroy_device callbacks.
 *   rx_en, tx_en        bit q: the guest enabled its transmit ring (vring
 *                       2q+1, which sluice receives from) / its receive
 *                       ring (vring 2q, which sluice transmits into).
 *
 * rte_vhost frees a device when destroy_device() returns, so no thread may
 * be inside an rte_vhost call on it by then:
 *
 *   PMDs (rx, tx, and tx reached through port_hw_tx_burst() from a receive
 *   hook, which runs inside the polling PMD's loop iteration): a PMD reads
 *   vid with an acquire load, nothing else.  destroy_device() stores
 *   vid = -1 and calls port_env.synchronize() (one datapath grace period):
 *   a PMD passes a quiescent state between loop iterations, never inside
 *   an rx or tx call, so once it returns every PMD either finished its
 *   call with the old vid or reads -1.  Measured on a 2-core EPYC VM:
 *   the busy-flag handshake this replaced (a seq_cst store: an xchg) cost
 *   about 10 cycles per call; an idle PMD iteration polling two vhost
 *   ports went from 81-102 to 59-61 cycles.
 *
 *   Without a datapath (port_env.synchronize NULL: unit tests, or any
 *   caller that polls from threads that report no quiescent states) the
 *   port falls back to per-queue busy flags: the caller sets rx_busy[q]
 *   (tx_busy[q]) with a sequentially consistent store, then reads vid
 *   (seq_cst); destroy_device() stores vid = -1 (seq_cst) and waits until
 *   every flag is clear.  (Dekker: either the caller sees -1 or the
 *   callback sees the flag.)
 *
 *   The main thread uses main_busy that way whenever it calls into rte_vhost
 *   on the device (notifications, statistics), datapath or not.
 *
 * Deadlocks: the grace period waits for every PMD, so destroy_device()
 * waits for it holding nothing a PMD may wait for.  It drops vhost_mutex
 * first (vring_state_changed() takes it while rte_vhost holds the device's
 * vring locks, on which a PMD's enqueue spins), and rte_vhost calls it
 * without vring locks (GET_VRING_BASE, RESET_OWNER, connection closed) on
 * its event thread.  The one call on the main thread, from
 * rte_vhost_driver_unregister() in port_close() (which holds rte_vhost's
 * socket mutexes, which message handlers take with vring locks held),
 * waits for nothing: port_close() requires that no thread polls or
 * transmits on the port any more ('closing').  vring_state_changed() and
 * the other callbacks only record state and never wait.
 *
 * Every callback finds its port in a registry keyed by socket path,
 * protected by vhost_mutex, held while it touches the registry and the
 * recorded state.  A port is never removed from the registry under a
 * callback, even one that dropped the mutex: port destruction unregisters
 * the rte_vhost driver first (which waits for callbacks in progress), then
 * leaves the registry.
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "port-provider.h"
#include "vhost.h"
#include "log.h"

LOG_MODULE(vhost);

#define VHOST_MAX_QP 64          /* Queue pairs sluice can poll. */
#define VHOST_TX_RETRIES 8       /* Enqueue attempts per burst, at most. */
#define VHOST_PATH_MAX 108       /* sizeof sun_path. */
#define VHOST_MAX_XSTATS 64      /* rte_vhost ring statistics per vring. */

/* Features sluice never negotiates: ECN with TSO, and UDP fragmentation
 * offload.  Without the 'tso' option, no checksum or segmentation offload
 * either. */
#define VHOST_NEVER_FEATURES                                         \
    ((1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO) \
     | (1ULL << VIRTIO_NET_F_GUEST_ECN)                              \
     | (1ULL << VIRTIO_NET_F_GUEST_UFO))
#define VHOST_OL_FEATURES                                            \
    ((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) \
     | (1ULL << VIRTIO_NET_F_HOST_TSO4)                              \
     | (1ULL << VIRTIO_NET_F_HOST_TSO6)                              \
     | (1ULL << VIRTIO_NET_F_GUEST_TSO4)                             \
     | (1ULL << VIRTIO_NET_F_GUEST_TSO6))

struct vhost_config {
    char path[VHOST_PATH_MAX];
    unsigned queues;
    bool tso;                    /* Checksum and segmentation offload. */
};

struct vhost_busy {
    uint32_t busy;
} __rte_cache_aligned;

/* Per device tx queue, written only by the (serialised) sender. */
struct vhost_txq_counters {
    uint64_t ring_full;          /* Guest receive ring full. */
    uint64_t no_guest;           /* No device, or the ring disabled. */
} __rte_cache_aligned;

/* Per rx queue, written only by the thread polling it. */
struct vhost_rxq_counters {
    uint64_t n;                  /* GSO packets that are not TCP. */
} __rte_cache_aligned;

struct port_vhost {
    struct port up;
    bool client;                 /* vhostuserclient. */
    struct log_rl log_rl;        /* This port's connection messages. */

    struct vhost_config cfg;     /* Recorded by set_config(). */
    struct vhost_config applied; /* In effect. */
    bool registered;             /* rte_vhost driver registered+started. */

    /* Constant after construct(): port_env.synchronize is NULL, so the
     * fast path raises busy flags (see the top of the file). */
    bool busy_flags;

    /* Set (main thread) before port_close() unregisters the driver: no
     * thread polls or transmits on the port, destroy_device() need not
     * wait.  Atomic: read by the callback. */
    bool closing;

    /* Written by callbacks (vhost_mutex held), read anywhere: atomics. */
    int vid;
    uint64_t rx_en;
    uint64_t tx_en;
    uint32_t mtu;                /* Negotiated with the guest, or 0. */
    /* The guest sends partial checksums or TSO packets (VIRTIO_NET_F_CSUM
     * or HOST_TSO4/6 negotiated): rx converts their flags. */
    bool rx_ol;
    uint64_t link_changes;
    uint64_t notif_base;         /* Guest notifications of past devices. */
    bool warned_queues;          /* Logged "guest has more queues". */

    /* Set by reconfigure() while the port is idle. */
    uint16_t txq_map[VHOST_MAX_QP];  /* Device tx queue -> queue pair. */

    struct vhost_busy rx_busy[VHOST_MAX_QP];
    struct vhost_busy tx_busy[VHOST_MAX_QP];
    struct vhost_busy main_busy;

    struct vhost_txq_counters txc[VHOST_MAX_QP];
    struct vhost_rxq_counters rx_bad_gso[VHOST_MAX_QP];

    struct port_vhost *next;     /* Registry; vhost_mutex. */
};

static pthread_mutex_t vhost_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct port_vhost *vhost_ports; /* Registered ports; vhost_mutex. */

static const struct rte_vhost_device_ops vhost_ops;

static struct port_vhost *
vhost_cast(const struct port *port)
{
    return container_of(port, struct port_vhost, up);
}

/* ---- Registry and callbacks (rte_vhost threads). ---- */

/* Finds the port of device 'vid'.  vhost_mutex must be held. */
static struct port_vhost *
vhost_find(int vid)
{
    char path[VHOST_PATH_MAX + 1];

    if (rte_vhost_get_ifname(vid, path, sizeof path)) {
        return NULL;
    }
    for (struct port_vhost *v = vhost_ports; v; v = v->next) {
        if (!strcmp(v->applied.path, path)) {
            return v;
        }
    }
    return NULL;
}

static void
vhost_busy_enter(struct vhost_busy *b)
{
    __atomic_store_n(&b->busy, 1, __ATOMIC_SEQ_CST);
}

static void
vhost_busy_leave(struct vhost_busy *b)
{
    __atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE);
}

static void
vhost_busy_wait(struct vhost_busy *b)
{
    while (__atomic_load_n(&b->busy, __ATOMIC_SEQ_CST)) {
        rte_pause();
    }
}

/* Fast path: returns the device to call, or -1.  With a datapath, an
 * acquire load (grace periods protect it); otherwise raises 'b' first. */
static inline int
vhost_fp_enter(struct port_vhost *v, struct vhost_busy *b)
{
    if (unlikely(v->busy_flags)) {
        vhost_busy_enter(b);
        return __atomic_load_n(&v->vid, __ATOMIC_SEQ_CST);
    }
    return __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);
}

static inline void
vhost_fp_leave(struct port_vhost *v, struct vhost_busy *b)
{
    if (unlikely(v->busy_flags)) {
        vhost_busy_leave(b);
    }
}

/* destroy_device(), after publishing vid = -1, without vhost_mutex: waits
 * until no PMD can still be inside an rte_vhost call with the old vid. */
static void
vhost_wait_fast_path(struct port_vhost *v)
{
    if (v->busy_flags) {
        for (unsigned q = 0; q < VHOST_MAX_QP; q++) {
            vhost_busy_wait(&v->rx_busy[q]);
            vhost_busy_wait(&v->tx_busy[q]);
        }
    } else if (!__atomic_load_n(&v->closing, __ATOMIC_ACQUIRE)) {
        v->up.env.synchronize(v->up.env.sync_aux);
    }
}

/* Sums rte_vhost's "guest_notifications" over the device's vrings. */
static uint64_t
vhost_read_notifications(int vid)
{
    struct rte_vhost_stat_name names[VHOST_MAX_XSTATS];
    struct rte_vhost_stat vals[VHOST_MAX_XSTATS];
    uint16_t n_vring = rte_vhost_get_vring_num(vid);
    uint64_t sum = 0;
    int idx = -1;

    for (uint16_t q = 0; q < n_vring; q++) {
        int n;

        if (idx < 0) {
            n = rte_vhost_vring_stats_get_names(vid, q, names,
                                                VHOST_MAX_XSTATS);
            for (int i = 0; i < n && i < VHOST_MAX_XSTATS; i++) {
                if (!strcmp(names[i].name, "guest_notifications")) {
                    idx = i;
                    break;
                }
            }
            if (idx < 0) {
                continue;
            }
        }
        n = rte_vhost_vring_stats_get(vid, q, vals, VHOST_MAX_XSTATS);
        if (n > idx && vals[idx].id == (uint64_t) idx) {
            sum += vals[idx].value;
        }
    }
    return sum;
}

static int
vhost_new_connection(int vid)
{
    struct port_vhost *v;

    pthread_mutex_lock(&vhost_mutex);
    v = vhost_find(vid);
    if (v) {
        __atomic_store_n(&v->rx_en, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&v->tx_en, 0, __ATOMIC_RELAXED);
        LOG_RL_WITH(&v->log_rl, LOG_INFO, "%s: peer connected (%s)",
                    v->up.name, v->applied.path);
    }
    pthread_mutex_unlock(&vhost_mutex);
    return 0;
}

static void
vhost_destroy_connection(int vid)
{
    struct port_vhost *v;

    pthread_mutex_lock(&vhost_mutex);
    v = vhost_find(vid);
    if (v) {
        __atomic_store_n(&v->rx_en, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&v->tx_en, 0, __ATOMIC_RELAXED);
        port_request_reconfigure(&v->up);
        LOG_RL_WITH(&v->log_rl, LOG_INFO, "%s: peer disconnected%s",
                    v->up.name, v->client ? ", will reconnect" : "");
    }
    pthread_mutex_unlock(&vhost_mutex);
}

/* What the guest of device 'vid' negotiated: whether it sends offload
 * requests (then the datapath looks for them on every port, port.h) and
 * which it takes.  Before the device is published. */
static void
vhost_set_offloads(struct port_vhost *v, int vid)
{
    uint64_t f = 0;
    uint32_t tx = 0;
    bool rx;

    if (rte_vhost_get_negotiated_features(vid, &f)) {
        f = 0;
    }
    rx = (f & ((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4)
               | (1ULL << VIRTIO_NET_F_HOST_TSO6))) != 0;
    if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
        tx |= PORT_TX_OL_CSUM;
        if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4)) {
            tx |= PORT_TX_OL_TSO4;
        }
        if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6)) {
            tx |= PORT_TX_OL_TSO6;
        }
    }
    if (rx) {
        port_ol_enable();
    }
    __atomic_store_n(&v->rx_ol, rx, __ATOMIC_RELAXED);
    __atomic_store_n(&v->up.tx_ol, tx, __ATOMIC_RELAXED);
    if (f & VHOST_OL_FEATURES) {
        LOG_RL_WITH(&v->log_rl, LOG_INFO, "%s: guest offloads: sends%s%s%s,"
                    " takes%s%s%s", v->up.name,
                    f & (1ULL << VIRTIO_NET_F_CSUM) ? " csum" : "",
                    f & (1ULL << VIRTIO_NET_F_HOST_TSO4) ? " tso4" : "",
                    f & (1ULL << VIRTIO_NET_F_HOST_TSO6) ? " tso6" : "",
                    tx & PORT_TX_OL_CSUM ? " csum" : "",
                    tx & PORT_TX_OL_TSO4 ? " tso4" : "",
                    tx & PORT_TX_OL_TSO6 ? " tso6" : "");
    }
}

static int
vhost_new_device(int vid)
{
    struct port_vhost *v;
    uint16_t mtu = 0;

    pthread_mutex_lock(&vhost_mutex);
    v = vhost_find(vid);
    if (v) {
        if (rte_vhost_get_mtu(vid, &mtu)) {
            mtu = 0;
        }
        __atomic_store_n(&v->mtu, mtu, __ATOMIC_RELAXED);
        vhost_set_offloads(v, vid);
        __atomic_store_n(&v->vid, vid, __ATOMIC_RELEASE);
        __atomic_fetch_add(&v->link_changes, 1, __ATOMIC_RELAXED);
        port_request_reconfigure(&v->up);
        LOG_RL_WITH(&v->log_rl, LOG_INFO, "%s: device up (%u vrings)",
                    v->up.name, rte_vhost_get_vring_num(vid));
    }
    pthread_mutex_unlock(&vhost_mutex);
    return 0;
}

static void
vhost_destroy_device(int vid)
{
    struct port_vhost *v;

    pthread_mutex_lock(&vhost_mutex);
    v = vhost_find(vid);
    if (!v || __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE) != vid) {
        pthread_mutex_unlock(&vhost_mutex);
        return;
    }
    /* Keep the notification count of the device that goes away. */
    vhost_busy_wait(&v->main_busy);
    __atomic_fetch_add(&v->notif_base, vhost_read_notifications(vid),
                       __ATOMIC_RELAXED);

    __atomic_store_n(&v->rx_en, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&v->tx_en, 0, __ATOMIC_RELAXED);
    /* Release for the grace period's readers; sequentially consistent for
     * the busy flags' (the fallback's and main_busy's) Dekker. */
    __atomic_store_n(&v->vid, -1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&vhost_mutex);

    /* rte_vhost unmaps the guest memory when we return: wait until no
     * thread is inside a call on this device.  'v' stays: its destruction
     * waits for this callback (top of file). */
    vhost_wait_fast_path(v);
    vhost_busy_wait(&v->main_busy);
    __atomic_store_n(&v->rx_ol, false, __ATOMIC_RELAXED);
    __atomic_store_n(&v->up.tx_ol, 0, __ATOMIC_RELAXED);
    __atomic_fetch_add(&v->link_changes, 1, __ATOMIC_RELAXED);
    port_request_reconfigure(&v->up);
    LOG_RL_WITH(&v->log_rl, LOG_INFO, "%s: device down", v->up.name);
}

static int
vhost_vring_state_changed(int vid, uint16_t vring, int enable)
{
    struct port_vhost *v;
    unsigned q = vring / 2;

    pthread_mutex_lock(&vhost_mutex);
    v = vhost_find(vid);
    if (v && q < VHOST_MAX_QP) {
        uint64_t *mask = vring & 1 ? &v->rx_en : &v->tx_en;
        uint64_t bit = 1ULL << q;

        if (enable) {
            __atomic_fetch_or(mask, bit, __ATOMIC_RELAXED);
        } else {
            __atomic_fetch_and(mask, ~bit, __ATOMIC_RELAXED);
        }
        if (enable && q >= v->applied.queues && !v->warned_queues) {
            v->warned_queues = true;
            LOG_WARN_RL("%s: guest enables queue pair %u but the port polls "
                        "at most %u (option queues)", v->up.name, q,
                        v->applied.queues);
        }
        port_request_reconfigure(&v->up);
    } else if (v && enable && !v->warned_queues) {
        v->warned_queues = true;
        LOG_WARN_RL("%s: vring %u beyond %u queue pairs ignored",
                    v->up.name, vring, VHOST_MAX_QP);
    }
    pthread_mutex_unlock(&vhost_mutex);
    return 0;
}

static const struct rte_vhost_device_ops vhost_ops = {
    .new_device = vhost_new_device,
    .destroy_device = vhost_destroy_device,
    .vring_state_changed = vhost_vring_state_changed,
    .new_connection = vhost_new_connection,
    .destroy_connection = vhost_destroy_connection,
};

/* ---- Life cycle (main thread). ---- */

static struct port *
vhost_alloc(void)
{
    struct port_vhost *v;

    if (posix_memalign((void **) &v, RTE_CACHE_LINE_SIZE, sizeof *v)) {
        return NULL;
    }
    memset(v, 0, sizeof *v);
    return &v->up;
}

static void
vhost_dealloc(struct port *port)
{
    free(vhost_cast(port));
}

static int
vhost_construct(struct port *port)
{
    struct port_vhost *v = vhost_cast(port);

    v->client = !strcmp(port->class->type, "vhostuserclient");
    v->vid = -1;
    v->busy_flags = !port->env.synchronize;
    return 0;
}

static void
vhost_destruct(struct port *port)
{
    struct port_vhost *v = vhost_cast(port);
    struct port_vhost **pp;

    if (!v->registered) {
        return;
    }
    /* Destroys the device (our callback runs; nobody polls or transmits on
     * the port, so it need not wait for a grace period, which it must not:
     * rte_vhost holds its socket mutexes here) and waits for callbacks in
     * progress. */
    __atomic_store_n(&v->closing, true, __ATOMIC_RELEASE);
    if (rte_vhost_driver_unregister(v->applied.path)) {
        LOG_WARN("%s: cannot unregister %s", port->name, v->applied.path);
    }
    pthread_mutex_lock(&vhost_mutex);
    for (pp = &vhost_ports; *pp; pp = &(*pp)->next) {
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    }
    pthread_mutex_unlock(&vhost_mutex);
    if (!v->client) {
        struct stat st;

        if (!lstat(v->applied.path, &st) && S_ISSOCK(st.st_mode)) {
            unlink(v->applied.path);
        }
    }
    v->registered = false;
}

static const struct port_opt_def vhost_options[] = {
    { "path", PORT_OPT_STRING, true, 1, VHOST_PATH_MAX - 1, NULL,
      "the Unix socket: vhostuser creates it, vhostuserclient connects to "
      "it; cannot change on an open port", NULL },
    { "queues", PORT_OPT_UINT, false, 1, VHOST_MAX_QP, "64",
      "the most queue pairs sluice polls; the guest decides how many it "
      "enables", NULL },
    { "tso", PORT_OPT_STRING, false, 4, 5, "true",
      "`true`: offer the guest checksum and TCP segmentation offload "
      "(sluice completes checksums and segments where the output port "
      "cannot); cannot change on an open port", port_opt_check_bool },
    { .name = NULL },
};

static int
vhost_set_config(struct port *port, const struct port_option *opts,
                 size_t n_opts, char *err, size_t errsize)
{
    struct port_vhost *v = vhost_cast(port);
    struct vhost_config cfg = {
        .queues = port_opt_get_u32(vhost_options, opts, n_opts, "queues"),
    };

    const char *tso = port_opt_get(opts, n_opts, "tso");

    cfg.tso = true;
    if (tso) {
        port_opt_parse_bool(tso, &cfg.tso);
    }
    snprintf(cfg.path, sizeof cfg.path, "%s",
             port_opt_get(opts, n_opts, "path"));
    if (v->registered && strcmp(cfg.path, v->applied.path)) {
        port_err_set(err, errsize, "%s: option path: cannot change at run "
                     "time (delete and add the port)", port->name);
        return ENOTSUP;
    }
    if (v->registered && cfg.tso != v->applied.tso) {
        port_err_set(err, errsize, "%s: option tso: cannot change at run "
                     "time (delete and add the port)", port->name);
        return ENOTSUP;
    }
    v->cfg = cfg;
    return 0;
}

/* Server mode: refuses a path that exists and is not a socket or that
 * somebody listens on; removes a stale socket. */
static int
vhost_check_server_path(struct port_vhost *v, char *err, size_t errsize)
{
    const char *path = v->cfg.path;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, ret;

    if (lstat(path, &st)) {
        return 0;
    }
    if (!S_ISSOCK(st.st_mode)) {
        port_err_set(err, errsize, "%s: option path: %s exists and is not "
                     "a socket", v->up.name, path);
        return EEXIST;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ret = errno;
        port_err_set(err, errsize, "%s: socket: %s", v->up.name,
                     strerror(ret));
        return ret;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    ret = connect(fd, (struct sockaddr *) &sun, sizeof sun);
    close(fd);
    if (!ret) {
        port_err_set(err, errsize, "%s: option path: %s is in use by "
                     "another process", v->up.name, path);
        return EADDRINUSE;
    }
    if (unlink(path) && errno != ENOENT) {
        ret = errno;
        port_err_set(err, errsize, "%s: cannot remove stale socket %s: %s",
                     v->up.name, path, strerror(ret));
        return ret;
    }
    return 0;
}

static int
vhost_start(struct port_vhost *v, char *err, size_t errsize)
{
    const char *path = v->cfg.path;
    uint64_t flags = RTE_VHOST_USER_NET_STATS_ENABLE;
    const char *what;
    int error;

    pthread_mutex_lock(&vhost_mutex);
    for (struct port_vhost *o = vhost_ports; o; o = o->next) {
        if (!strcmp(o->applied.path, path)) {
            pthread_mutex_unlock(&vhost_mutex);
            port_err_set(err, errsize, "%s: option path: %s is already "
                         "used by port %s", v->up.name, path, o->up.name);
            return EEXIST;
        }
    }
    pthread_mutex_unlock(&vhost_mutex);

    if (v->cfg.tso) {
        /* Offload requests as rx flags (RX_L4_CKSUM_NONE, RX_LRO), and a
         * TSO frame in one buffer (external when it is larger than an
         * mbuf's): the datapath parses a packet in one piece (a chain's
         * flow key would lack what lies past the first segment).  The
         * external buffers cost an rte_malloc() and, on free, a 64 KiB
         * memset per frame (20 % of the PMD when guests exchange TSO
         * frames); a chain linearised at receipt costs a copy instead,
         * no less. */
        flags |= RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS
                 | RTE_VHOST_USER_EXTBUF_SUPPORT
                 | RTE_VHOST_USER_LINEARBUF_SUPPORT;
    }
    if (v->client) {
        flags |= RTE_VHOST_USER_CLIENT; /* Reconnects by default. */
    } else {
        error = vhost_check_server_path(v, err, errsize);
        if (error) {
            return error;
        }
    }
    if (rte_vhost_driver_register(path, flags)) {
        port_err_set(err, errsize, "%s: cannot register vhost-user socket "
                     "%s", v->up.name, path);
        return EINVAL;
    }
    what = "disable offload features";
    if (rte_vhost_driver_disable_features(
            path, VHOST_NEVER_FEATURES
                  | (v->cfg.tso ? 0 : VHOST_OL_FEATURES))) {
        goto fail;
    }
    what = "register callbacks";
    if (rte_vhost_driver_callback_register(path, &vhost_ops)) {
        goto fail;
    }

    /* Callbacks may fire as soon as the driver starts. */
    v->applied = v->cfg;
    __atomic_store_n(&v->closing, false, __ATOMIC_RELEASE);
    pthread_mutex_lock(&vhost_mutex);
    v->next = vhost_ports;
    vhost_ports = v;
    pthread_mutex_unlock(&vhost_mutex);
    v->registered = true;

    what = v->client ? "start (connect)" : "start (listen)";
    if (rte_vhost_driver_start(path)) {
        vhost_destruct(&v->up);
        port_err_set(err, errsize, "%s: vhost-user %s on %s failed",
                     v->up.name, what, path);
        return EIO;
    }
    return 0;

fail:
    rte_vhost_driver_unregister(path);
    port_err_set(err, errsize, "%s: vhost-user %s: cannot %s", v->up.name,
                 path, what);
    return EINVAL;
}

static int
vhost_reconfigure(struct port *port, char *err, size_t errsize)
{
    struct port_vhost *v = vhost_cast(port);
    uint64_t cap, rx, tx;
    unsigned n_rxq = 1, n_tx = 0;
    int vid;

    if (!v->registered) {
        int error = vhost_start(v, err, errsize);

        if (error) {
            return error;
        }
    }
    v->applied.queues = v->cfg.queues;

    cap = v->applied.queues >= 64 ? UINT64_MAX
                                  : (1ULL << v->applied.queues) - 1;
    rx = __atomic_load_n(&v->rx_en, __ATOMIC_ACQUIRE) & cap;
    tx = __atomic_load_n(&v->tx_en, __ATOMIC_ACQUIRE) & cap;
    if (rx) {
        n_rxq = 64 - (unsigned) __builtin_clzll(rx);
    }
    for (unsigned q = 0; q < VHOST_MAX_QP && n_tx < port->n_txq; q++) {
        if (tx & (1ULL << q)) {
            v->txq_map[n_tx++] = (uint16_t) q;
        }
    }
    if (!n_tx) {
        v->txq_map[0] = 0;  /* Drops (counted) until the guest enables. */
        n_tx = 1;
    }
    port->n_rxq = n_rxq;
    port->n_dev_txq = n_tx;

    /* sluice polls: the guest need not kick it. */
    vhost_busy_enter(&v->main_busy);
    vid = __atomic_load_n(&v->vid, __ATOMIC_SEQ_CST);
    if (vid >= 0) {
        for (unsigned q = 0; q < VHOST_MAX_QP; q++) {
            if (rx & (1ULL << q)) {
                rte_vhost_enable_guest_notification(vid, 2 * q + 1, 0);
            }
        }
    }
    vhost_busy_leave(&v->main_busy);
    return 0;
}

/* ---- Fast path (PMD threads). ---- */

/* rte_vhost says what a guest left to the device with rx flags:
 * RX_L4_CKSUM_NONE (the L4 checksum is partial) and RX_LRO with tso_segsz
 * (a GSO packet), and the packet type it parsed.  The datapath carries
 * requests as tx flags (port.h).  A GSO packet that is not TCP (UDP
 * fragmentation offload, which sluice never offers) is dropped and
 * counted (rx_bad_gso).  Returns the packets left, in order. */
static int
vhost_rx_offloads(struct port_vhost *v, unsigned qid, struct rte_mbuf **pkts,
                  int n)
{
    int k = 0;

    for (int i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        uint64_t f = m->ol_flags, tx = 0;
        uint32_t l4 = m->packet_type & RTE_PTYPE_L4_MASK;

        pkts[k++] = m;
        if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_NONE
            && !(f & RTE_MBUF_F_RX_LRO)) {
            continue;
        }
        if (l4 == RTE_PTYPE_L4_TCP) {
            tx = RTE_MBUF_F_TX_TCP_CKSUM;
            if (f & RTE_MBUF_F_RX_LRO) {
                tx |= RTE_MBUF_F_TX_TCP_SEG;
            }
        } else if (f & RTE_MBUF_F_RX_LRO) {
            rte_pktmbuf_free(m);
            k--;
            v->rx_bad_gso[qid].n++;
            continue;
        } else if (l4 == RTE_PTYPE_L4_UDP) {
            tx = RTE_MBUF_F_TX_UDP_CKSUM;
        }
        if (tx) {
            tx |= RTE_ETH_IS_IPV4_HDR(m->packet_type) ? RTE_MBUF_F_TX_IPV4
                                                      : RTE_MBUF_F_TX_IPV6;
        }
        m->ol_flags = (f & ~(RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_LRO
                             | RTE_MBUF_F_TX_OFFLOAD_MASK)) | tx;
    }
    return k;
}

static int
vhost_rxq_recv(struct port *port, unsigned qid, struct rte_mbuf **pkts,
               int max)
{
    struct port_vhost *v = vhost_cast(port);
    struct vhost_busy *b = &v->rx_busy[qid];
    bool rx_ol = false;
    int vid, n = 0;

    vid = vhost_fp_enter(v, b);
    if (vid >= 0
        && (__atomic_load_n(&v->rx_en, __ATOMIC_RELAXED) >> qid) & 1) {
        n = rte_vhost_dequeue_burst(vid, (uint16_t) (2 * qid + 1),
                                    port->env.mp, pkts, (uint16_t) max);
        /* Read with the device: it cannot change under the burst. */
        rx_ol = __atomic_load_n(&v->rx_ol, __ATOMIC_RELAXED);
    }
    vhost_fp_leave(v, b);
    if (n && rx_ol) {
        n = vhost_rx_offloads(v, qid, pkts, n);
    }
    return n;
}

static int
vhost_send(struct port *port, unsigned qid, struct rte_mbuf **pkts, int n,
           uint64_t *bytes)
{
    struct port_vhost *v = vhost_cast(port);
    struct vhost_busy *b = &v->tx_busy[qid];
    unsigned q = v->txq_map[qid];
    uint64_t sum = 0;
    int vid, sent = 0;

    vid = vhost_fp_enter(v, b);
    if (vid >= 0
        && (__atomic_load_n(&v->tx_en, __ATOMIC_RELAXED) >> q) & 1) {
        for (int tries = 0; sent < n && tries < VHOST_TX_RETRIES;
             tries++) {
            uint16_t k = rte_vhost_enqueue_burst(vid, (uint16_t) (2 * q),
                                                 pkts + sent,
                                                 (uint16_t) (n - sent));

            if (!k) {
                break;          /* No room and no progress: give up. */
            }
            sent += k;
        }
        v->txc[qid].ring_full += (uint64_t) (n - sent);
    } else {
        v->txc[qid].no_guest += (uint64_t) n;
    }
    vhost_fp_leave(v, b);

    /* rte_vhost copied what it accepted; every mbuf is still ours. */
    for (int i = 0; i < sent; i++) {
        sum += rte_pktmbuf_pkt_len(pkts[i]);
    }
    port_free_burst(pkts, n);
    *bytes = sum;
    return sent;
}

/* ---- Getters (main thread). ---- */

static bool
vhost_get_link(const struct port *port)
{
    return __atomic_load_n(&vhost_cast(port)->vid, __ATOMIC_ACQUIRE) >= 0;
}

static int
vhost_get_mtu(const struct port *port)
{
    uint32_t mtu = __atomic_load_n(&vhost_cast(port)->mtu,
                                   __ATOMIC_RELAXED);

    return mtu ? (int) mtu : 1500;
}

static void
vhost_stat(struct port_custom_stat *s, size_t max, size_t *n,
           const char *name, uint64_t value)
{
    if (*n < max) {
        snprintf(s[*n].name, sizeof s[*n].name, "%s", name);
        s[*n].value = value;
        (*n)++;
    }
}

static size_t
vhost_get_custom_stats(const struct port *port, struct port_custom_stat *s,
                       size_t max)
{
    struct port_vhost *v = vhost_cast((struct port *) port);
    uint64_t ring_full = 0, no_guest = 0, bad_gso = 0, notif;
    char name[PORT_CUSTOM_STAT_NAME_LEN];
    size_t n = 0;
    int vid;

    for (unsigned q = 0; q < VHOST_MAX_QP; q++) {
        ring_full += __atomic_load_n(&v->txc[q].ring_full,
                                     __ATOMIC_RELAXED);
        no_guest += __atomic_load_n(&v->txc[q].no_guest, __ATOMIC_RELAXED);
        bad_gso += __atomic_load_n(&v->rx_bad_gso[q].n, __ATOMIC_RELAXED);
    }

    vhost_busy_enter(&v->main_busy);
    vid = __atomic_load_n(&v->vid, __ATOMIC_SEQ_CST);
    notif = __atomic_load_n(&v->notif_base, __ATOMIC_RELAXED)
            + (vid >= 0 ? vhost_read_notifications(vid) : 0);
    vhost_busy_leave(&v->main_busy);

    vhost_stat(s, max, &n, "link_changes",
               __atomic_load_n(&v->link_changes, __ATOMIC_RELAXED));
    vhost_stat(s, max, &n, "tx_ring_full", ring_full);
    vhost_stat(s, max, &n, "tx_no_guest", no_guest);
    vhost_stat(s, max, &n, "rx_bad_gso", bad_gso);
    vhost_stat(s, max, &n, "guest_notifications", notif);
    vhost_stat(s, max, &n, "guest_rxq_enabled",
               (uint64_t) __builtin_popcountll(
                   __atomic_load_n(&v->tx_en, __ATOMIC_RELAXED)));
    vhost_stat(s, max, &n, "guest_txq_enabled",
               (uint64_t) __builtin_popcountll(
                   __atomic_load_n(&v->rx_en, __ATOMIC_RELAXED)));
    for (unsigned q = 0; q < port->n_rxq && port->rxq_stats; q++) {
        snprintf(name, sizeof name, "rxq%u_packets", q);
        vhost_stat(s, max, &n, name,
                   __atomic_load_n(&port->rxq_stats[q].packets,
                                   __ATOMIC_RELAXED));
    }
    for (unsigned q = 0; q < port->n_dev_txq; q++) {
        snprintf(name, sizeof name, "txq%u_ring_full", q);
        vhost_stat(s, max, &n, name,
                   __atomic_load_n(&v->txc[q].ring_full, __ATOMIC_RELAXED));
    }
    return n;
}

static const struct port_class port_vhostuser_class = {
    .type = "vhostuser",
    .options = vhost_options,
    .alloc = vhost_alloc,
    .construct = vhost_construct,
    .destruct = vhost_destruct,
    .dealloc = vhost_dealloc,
    .set_config = vhost_set_config,
    .reconfigure = vhost_reconfigure,
    .rxq_recv = vhost_rxq_recv,
    .send = vhost_send,
    .get_link = vhost_get_link,
    .get_custom_stats = vhost_get_custom_stats,
    .get_mtu = vhost_get_mtu,
};

static const struct port_class port_vhostuserclient_class = {
    .type = "vhostuserclient",
    .options = vhost_options,
    .alloc = vhost_alloc,
    .construct = vhost_construct,
    .destruct = vhost_destruct,
    .dealloc = vhost_dealloc,
    .set_config = vhost_set_config,
    .reconfigure = vhost_reconfigure,
    .rxq_recv = vhost_rxq_recv,
    .send = vhost_send,
    .get_link = vhost_get_link,
    .get_custom_stats = vhost_get_custom_stats,
    .get_mtu = vhost_get_mtu,
};

void
vhost_register_classes(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    port_register_class(&port_vhostuser_class);
    port_register_class(&port_vhostuserclient_class);
}
