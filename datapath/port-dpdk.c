/* SPDX-License-Identifier: BSD-3-Clause */
/* port-dpdk.c: the "dpdk" port provider: any ethdev, given by devargs. */

/*
 * Options: dpdk_options below.  rxq and txq are capped by the device's
 * maximum; txq defaults to one queue per PMD thread, and fewer than that
 * means shared, locked queues (port.c).  The device's own MTU range and
 * the mbuf size (scatter) are checked when the port is configured.
 *
 * The device is probed at run time with rte_dev_probe() unless an ethdev
 * of that name already exists (e.g. given with --vdev or a PCI NIC probed
 * by the EAL).  On close the ethdev is stopped and closed and its device
 * removed from the bus (unless other ethdevs share it, as multi-port NICs
 * do), so the same devargs can be opened again.
 *
 * Before the device's first configure, every dpdk port negotiates the
 * delivery of rte_flow MARK and FLAG to software
 * (rte_eth_rx_metadata_negotiate(), USER_MARK | USER_FLAG): partial
 * offload needs the MARK in the mbuf, and some PMDs deliver it only if
 * asked before configure (on others it costs nothing; a port does not
 * know here whether it will be offloaded).  The outcome is recorded for
 * get_rx_metadata(): ENOTSUP means the PMD needs no negotiation.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "port-provider.h"
#include "dpdk-errno.h"

#define DPDK_DEF_RXD 1024
#define DPDK_DEF_TXD 1024

struct dpdk_config {
    char *devargs;          /* Owned; NULL until set. */
    unsigned n_rxq;
    unsigned n_txq;         /* 0: one per PMD thread. */
    unsigned mtu;           /* 0: leave as is. */
};

struct port_dpdk {
    struct port up;

    struct dpdk_config cfg;       /* Recorded by set_config(). */
    struct dpdk_config applied;   /* In effect; devargs is owned by cfg. */

    bool attached;          /* 'port_id' is valid and reserved by us. */
    bool probed;            /* We probed the device (not the EAL). */
    bool started;
    uint16_t port_id;
    struct rte_device *dev; /* Borrowed from the bus. */

    /* Rx metadata negotiation, once per attach, before configure. */
    bool meta_done;
    int meta_ret;           /* 0, ENOTSUP (none needed) or an errno. */
    uint64_t meta_features; /* RTE_ETH_RX_METADATA_* granted. */

    /* Rx scatters (an MTU over an mbuf): chains are made one buffer. */
    bool scatter;
    uint64_t rx_unlinear;   /* Chains that could not be (atomic). */
};

/* Ethdev ports in use by some sluice port (main thread only). */
static bool dpdk_port_in_use[RTE_MAX_ETHPORTS];

static struct port_dpdk *
dpdk_cast(const struct port *port)
{
    return container_of(port, struct port_dpdk, up);
}

static struct port *
dpdk_alloc(void)
{
    struct port_dpdk *p = calloc(1, sizeof *p);

    return p ? &p->up : NULL;
}

static void
dpdk_dealloc(struct port *port)
{
    free(dpdk_cast(port));
}

static int
dpdk_construct(struct port *port)
{
    /* set_config() comes next and sets every field. */
    (void) port;
    return 0;
}

/* Stops and closes the ethdev (which frees the mbufs its queues hold) and
 * removes its device from the bus unless another ethdev still lives on
 * it, so that the same devargs can be opened again later. */
static void
dpdk_detach(struct port_dpdk *p)
{
    uint16_t other;

    if (!p->attached) {
        return;
    }
    if (p->started) {
        rte_eth_dev_stop(p->port_id);   /* Error: nothing more to do. */
        p->started = false;
    }
    rte_eth_dev_close(p->port_id);
    if (p->dev) {
        bool shared = false;

        RTE_ETH_FOREACH_DEV_OF(other, p->dev) {
            shared = true;
        }
        if (!shared) {
            rte_dev_remove(p->dev);
        }
    }
    dpdk_port_in_use[p->port_id] = false;
    p->meta_done = false;
    p->attached = false;
    p->probed = false;
    p->dev = NULL;
}

static void
dpdk_destruct(struct port *port)
{
    struct port_dpdk *p = dpdk_cast(port);

    dpdk_detach(p);
    free(p->cfg.devargs);
    p->cfg.devargs = NULL;
}

/* The device name is what comes before the first comma. */
static bool
dpdk_check_devargs(const char *v, char *msg, size_t msgsize)
{
    bool bad = !*v || *v == ',';

    for (const char *c = v; *c && !bad; c++) {
        bad = (unsigned char) *c <= ' ' || *c == 0x7f;
    }
    if (bad) {
        snprintf(msg, msgsize, "must be a non-empty device string without "
                 "spaces (e.g. \"net_null0,no-rx=1\" or a PCI address)");
    }
    return !bad;
}

static const struct port_opt_def dpdk_options[] = {
    { "devargs", PORT_OPT_STRING, true, 1, 1023, NULL,
      "the ethdev: a PCI address (`0000:01:00.0`) or a virtual device "
      "(`net_null0,no-rx=1`, `net_pcap0,rx_pcap=in.pcap`); its name is "
      "what comes before the first comma; cannot change on an open port",
      dpdk_check_devargs },
    { "rxq", PORT_OPT_UINT, false, 1, 64, "1",
      "receive queues, at most the device's; RSS spreads flows over them",
      NULL },
    { "txq", PORT_OPT_UINT, false, 1, 64, "one per PMD thread",
      "transmit queues, at most the device's; fewer than PMD threads "
      "means shared, locked queues", NULL },
    { "mtu", PORT_OPT_UINT, false, 68, 9710, "the device's",
      "L3 MTU to set; must also lie in the device's range, and frames "
      "larger than an mbuf need a device that can scatter", NULL },
    { .name = NULL },
};

static int
dpdk_set_config(struct port *port, const struct port_option *opts,
                size_t n_opts, char *err, size_t errsize)
{
    struct port_dpdk *p = dpdk_cast(port);
    const char *devargs = port_opt_get(opts, n_opts, "devargs");
    struct dpdk_config cfg = {
        .n_rxq = port_opt_get_u32(dpdk_options, opts, n_opts, "rxq"),
        .n_txq = port_opt_get_u32(dpdk_options, opts, n_opts, "txq"),
        .mtu = port_opt_get_u32(dpdk_options, opts, n_opts, "mtu"),
    };

    if (p->cfg.devargs && strcmp(p->cfg.devargs, devargs)) {
        port_err_set(err, errsize,
                     "%s: option devargs cannot be changed on an open port "
                     "(delete and re-add it)", port->name);
        return ENOTSUP;
    }
    if (!p->cfg.devargs) {
        cfg.devargs = strdup(devargs);
        if (!cfg.devargs) {
            return ENOMEM;
        }
    } else {
        cfg.devargs = p->cfg.devargs;
    }
    p->cfg = cfg;
    return 0;
}

/* Finds or probes the ethdev named by the devargs. */
static int
dpdk_attach(struct port_dpdk *p, char *err, size_t errsize)
{
    const char *name = p->up.name;
    char devname[RTE_ETH_NAME_MAX_LEN];
    size_t len = strcspn(p->cfg.devargs, ",");
    struct rte_eth_dev_info info;
    uint16_t pid;
    int ret;

    if (len >= sizeof devname) {
        port_err_set(err, errsize, "%s: option devargs: device name too "
                     "long", name);
        return EINVAL;
    }
    memcpy(devname, p->cfg.devargs, len);
    devname[len] = '\0';

    p->probed = false;
    if (rte_eth_dev_get_port_by_name(devname, &pid)) {
        ret = rte_dev_probe(p->cfg.devargs);
        if (ret < 0) {
            int error = dpdk_errno(ret);

            if (error == EFAULT) {
                /* What DPDK says when no bus parses the name. */
                port_err_set(err, errsize, "%s: option devargs: no DPDK "
                             "bus or driver recognises \"%s\"", name,
                             p->cfg.devargs);
                return ENODEV;
            }
            port_err_set(err, errsize, "%s: option devargs: cannot probe "
                         "device \"%s\": %s", name, p->cfg.devargs,
                         strerror(error));
            return error;
        }
        ret = rte_eth_dev_get_port_by_name(devname, &pid);
        if (ret) {
            port_err_set(err, errsize, "%s: devargs \"%s\" created no "
                         "ethdev named \"%s\"", name, p->cfg.devargs,
                         devname);
            /* We cannot find the device to remove it; try by name. */
            rte_eal_hotplug_remove("vdev", devname);
            return ENODEV;
        }
        p->probed = true;
    } else if (dpdk_port_in_use[pid]) {
        port_err_set(err, errsize, "%s: device \"%s\" is already used by "
                     "another port", name, devname);
        return EBUSY;
    }

    ret = rte_eth_dev_info_get(pid, &info);
    p->dev = ret ? NULL : info.device;
    p->port_id = pid;
    p->attached = true;
    dpdk_port_in_use[pid] = true;
    return 0;
}

/* Asks the PMD to deliver rte_flow MARK and FLAG to software.  Only
 * possible while the device was never configured (EBUSY after), so once
 * per attach; the result holds across later reconfigures. */
static void
dpdk_negotiate_metadata(struct port_dpdk *p)
{
    const uint64_t want = RTE_ETH_RX_METADATA_USER_MARK
                          | RTE_ETH_RX_METADATA_USER_FLAG;
    uint64_t features = want;
    int ret;

    if (p->meta_done) {
        return;
    }
    ret = rte_eth_rx_metadata_negotiate(p->port_id, &features);
    if (ret == -ENOTSUP) {
        p->meta_ret = ENOTSUP;
        features = want;
    } else if (ret) {
        p->meta_ret = dpdk_errno(ret);
        features = 0;
    } else {
        p->meta_ret = 0;
    }
    p->meta_features = features;
    p->meta_done = true;
}

/* Configures queues, RSS and MTU of the (stopped) device and starts it. */
static int
dpdk_start(struct port_dpdk *p, char *err, size_t errsize)
{
    struct port *port = &p->up;
    struct rte_eth_dev_info info;
    struct rte_eth_conf conf;
    bool scatter = false;
    uint16_t n_rxd = DPDK_DEF_RXD, n_txd = DPDK_DEF_TXD;
    unsigned n_rxq, n_txq;
    int socket;
    int ret;

    ret = rte_eth_dev_info_get(p->port_id, &info);
    if (ret) {
        ret = dpdk_errno(ret);
        port_err_set(err, errsize, "%s: cannot get device info: %s",
                     port->name, strerror(ret));
        return ret;
    }

    n_rxq = p->cfg.n_rxq;
    if (info.max_rx_queues && n_rxq > info.max_rx_queues) {
        n_rxq = info.max_rx_queues;
    }
    n_txq = p->cfg.n_txq ? p->cfg.n_txq : port->n_txq;
    if (n_txq > port->n_txq) {
        n_txq = port->n_txq;
    }
    if (info.max_tx_queues && n_txq > info.max_tx_queues) {
        n_txq = info.max_tx_queues;
    }

    memset(&conf, 0, sizeof conf);
    if (n_rxq > 1) {
        uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP)
                      & info.flow_type_rss_offloads;

        if (hf) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
        }
    }
    if (p->cfg.mtu) {
        uint32_t frame = p->cfg.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN
                         + 2 * 4;    /* Two VLAN tags. */
        uint32_t room = rte_pktmbuf_data_room_size(port->env.mp)
                        - RTE_PKTMBUF_HEADROOM;

        if (p->cfg.mtu < info.min_mtu || p->cfg.mtu > info.max_mtu) {
            port_err_set(err, errsize, "%s: option mtu: %u is out of the "
                         "device's range %u..%u", port->name, p->cfg.mtu,
                         info.min_mtu, info.max_mtu);
            return EINVAL;
        }
        conf.rxmode.mtu = p->cfg.mtu;
        if (frame > room) {
            if (!(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
                port_err_set(err, errsize, "%s: option mtu: %u needs "
                             "frames larger than an mbuf (%u bytes) and "
                             "the device cannot scatter", port->name,
                             p->cfg.mtu, room);
                return EINVAL;
            }
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
            scatter = true;
        }
        if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        }
    }

    dpdk_negotiate_metadata(p);
    ret = rte_eth_dev_configure(p->port_id, (uint16_t) n_rxq,
                                (uint16_t) n_txq, &conf);
    if (ret) {
        ret = dpdk_errno(ret);
        port_err_set(err, errsize, "%s: cannot configure device with %u "
                     "rx and %u tx queues: %s", port->name, n_rxq, n_txq,
                     strerror(ret));
        return ret;
    }
    p->scatter = scatter;
    rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &n_rxd, &n_txd);

    socket = rte_eth_dev_socket_id(p->port_id);
    if (socket < 0) {
        socket = port->env.socket_id;
    }
    for (unsigned q = 0; q < n_rxq; q++) {
        ret = rte_eth_rx_queue_setup(p->port_id, (uint16_t) q, n_rxd,
                                     (unsigned) socket, NULL, port->env.mp);
        if (ret) {
            ret = dpdk_errno(ret);
            port_err_set(err, errsize, "%s: cannot set up rx queue %u: %s",
                         port->name, q, strerror(ret));
            return ret;
        }
    }
    for (unsigned q = 0; q < n_txq; q++) {
        ret = rte_eth_tx_queue_setup(p->port_id, (uint16_t) q, n_txd,
                                     (unsigned) socket, NULL);
        if (ret) {
            ret = dpdk_errno(ret);
            port_err_set(err, errsize, "%s: cannot set up tx queue %u: %s",
                         port->name, q, strerror(ret));
            return ret;
        }
    }

    ret = rte_eth_dev_start(p->port_id);
    if (ret) {
        ret = dpdk_errno(ret);
        port_err_set(err, errsize, "%s: cannot start device: %s",
                     port->name, strerror(ret));
        return ret;
    }
    p->started = true;
    ret = rte_eth_promiscuous_enable(p->port_id);
    (void) ret;     /* ENOTSUP and friends: forwarding still works. */

    port->n_rxq = n_rxq;
    port->n_dev_txq = n_txq;
    p->applied = p->cfg;
    return 0;
}

static int
dpdk_reconfigure(struct port *port, char *err, size_t errsize)
{
    struct port_dpdk *p = dpdk_cast(port);
    int error;

    if (!p->attached) {
        error = dpdk_attach(p, err, errsize);
        if (!error) {
            error = dpdk_start(p, err, errsize);
            if (error) {
                dpdk_detach(p);
            }
        }
        return error;
    }
    if (p->started && p->applied.n_rxq == p->cfg.n_rxq
        && p->applied.n_txq == p->cfg.n_txq
        && p->applied.mtu == p->cfg.mtu) {
        return 0;
    }
    if (p->started) {
        rte_eth_dev_stop(p->port_id);
        p->started = false;
    }
    error = dpdk_start(p, err, errsize);
    if (error) {
        /* Try to get back to the previous working configuration. */
        struct dpdk_config want = p->cfg;

        p->cfg = p->applied;
        if (!dpdk_start(p, NULL, 0)) {
            p->cfg = want;
        }
    }
    return error;
}

static int
dpdk_rxq_recv(struct port *port, unsigned qid, struct rte_mbuf **pkts,
              int max)
{
    struct port_dpdk *p = dpdk_cast(port);
    int n = rte_eth_rx_burst(p->port_id, (uint16_t) qid, pkts,
                             (uint16_t) max);

    if (unlikely(p->scatter) && n > 0) {
        /* Frames larger than an mbuf come chained: one piece each. */
        uint64_t dropped = 0;

        n = port_rx_linearize(pkts, n, &dropped);
        if (dropped) {
            __atomic_fetch_add(&p->rx_unlinear, dropped, __ATOMIC_RELAXED);
        }
    }
    return n;
}

static int
dpdk_send(struct port *port, unsigned qid, struct rte_mbuf **pkts, int n,
          uint64_t *bytes)
{
    uint64_t total = 0;
    uint16_t sent;

    /* Count before sending: the device may free what it accepts. */
    for (int i = 0; i < n; i++) {
        total += rte_pktmbuf_pkt_len(pkts[i]);
    }
    sent = rte_eth_tx_burst(dpdk_cast(port)->port_id, (uint16_t) qid, pkts,
                            (uint16_t) n);
    for (int i = sent; i < n; i++) {
        total -= rte_pktmbuf_pkt_len(pkts[i]);
    }
    port_free_burst(pkts + sent, n - sent);
    *bytes = total;
    return sent;
}

static void
dpdk_get_stats(const struct port *port, struct port_stats *stats)
{
    struct port_dpdk *p = dpdk_cast(port);
    struct rte_eth_stats s;

    if (!p->attached || rte_eth_stats_get(p->port_id, &s)) {
        return;
    }
    stats->rx_dropped += s.imissed + s.rx_nombuf
                         + __atomic_load_n(&p->rx_unlinear, __ATOMIC_RELAXED);
    stats->rx_errors += s.ierrors;
    stats->tx_errors += s.oerrors;
}

static bool
dpdk_get_link(const struct port *port)
{
    struct port_dpdk *p = dpdk_cast(port);
    struct rte_eth_link link;

    if (!p->attached || rte_eth_link_get_nowait(p->port_id, &link)) {
        return false;
    }
    return link.link_status == RTE_ETH_LINK_UP;
}

static int
dpdk_get_mtu(const struct port *port)
{
    struct port_dpdk *p = dpdk_cast(port);
    uint16_t mtu;

    if (!p->attached || rte_eth_dev_get_mtu(p->port_id, &mtu)) {
        return 0;
    }
    return mtu;
}

static void
dpdk_get_mac(const struct port *port, uint8_t mac[6])
{
    struct port_dpdk *p = dpdk_cast(port);
    struct rte_ether_addr ea;

    if (p->attached && !rte_eth_macaddr_get(p->port_id, &ea)) {
        memcpy(mac, ea.addr_bytes, 6);
    }
}

static int
dpdk_get_dpdk_port_id(const struct port *port, uint16_t *id)
{
    struct port_dpdk *p = dpdk_cast(port);

    if (!p->attached) {
        return ENODEV;
    }
    *id = p->port_id;
    return 0;
}

static int
dpdk_get_rx_metadata(const struct port *port, uint64_t *features)
{
    struct port_dpdk *p = dpdk_cast(port);

    if (!p->attached || !p->meta_done) {
        *features = 0;
        return ENODEV;
    }
    *features = p->meta_features;
    return p->meta_ret;
}

const struct port_class port_dpdk_class = {
    .type = "dpdk",
    .options = dpdk_options,
    .alloc = dpdk_alloc,
    .construct = dpdk_construct,
    .destruct = dpdk_destruct,
    .dealloc = dpdk_dealloc,
    .set_config = dpdk_set_config,
    .reconfigure = dpdk_reconfigure,
    .rxq_recv = dpdk_rxq_recv,
    .send = dpdk_send,
    .get_stats = dpdk_get_stats,
    .get_link = dpdk_get_link,
    .get_mtu = dpdk_get_mtu,
    .get_mac = dpdk_get_mac,
    .get_dpdk_port_id = dpdk_get_dpdk_port_id,
    .get_rx_metadata = dpdk_get_rx_metadata,
};
