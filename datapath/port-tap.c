/* SPDX-License-Identifier: BSD-3-Clause */
/* port-tap.c: the "tap" port provider: a host kernel tap interface. */

/*
 * Options: tap_options below.
 *
 * The interface is created by opening /dev/net/tun (IFF_TAP | IFF_NO_PI,
 * non-blocking) and disappears when the port closes the descriptor.
 * libnl-route-3 brings it up and sets the MTU and addresses.  Needs
 * CAP_NET_ADMIN.
 *
 * rx: read() one frame per mbuf (frames longer than one mbuf are read into
 * a per-port spill buffer and copied into chained segments), until the
 * burst is full or read() says EAGAIN.  One spare mbuf is kept between
 * bursts so an idle poll allocates nothing.  tx: write()/writev() each mbuf
 * and free it; the kernel descriptor is safe from several threads, so the
 * port reports one device queue per PMD (no locks).
 *
 * Offload (option tso, on by default): the descriptor carries a virtio-net
 * header before every frame (IFF_VNET_HDR), both ways.  The port takes
 * what a guest left to the device (port.h): a partial checksum becomes
 * VIRTIO_NET_HDR_F_NEEDS_CSUM and a TSO frame a GSO frame, which the
 * kernel delivers whole to a local socket or cuts itself.  The kernel may
 * send the same (TUNSETOFFLOAD: checksum, TSO4, TSO6): its header becomes
 * the packet's requests, met where the packet leaves, like a guest's; a
 * partial checksum outside TCP/UDP is completed on receipt.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include <rte_mbuf.h>

#include "csum.h"
#include "pkt-ol.h"
#include "port-provider.h"
#include "util.h"

#define TAP_MAX_ADDRS 16
#define TAP_SPILL_SIZE 65536
#define TAP_MAX_SEGS 64

/* One parsed address. */
struct tap_addr {
    int family;             /* AF_INET or AF_INET6. */
    uint8_t addr[16];
    unsigned prefixlen;
};

struct tap_config {
    char ifname[IFNAMSIZ];
    bool tso;               /* Offloads through a virtio-net header. */
    unsigned mtu;           /* 0: leave as is. */
    struct tap_addr addrs[TAP_MAX_ADDRS];
    size_t n_addrs;
};

/* The most polls an idle tap skips between two reads (tap_rxq_recv()). */
#define TAP_RX_MAX_SKIP 32

struct port_tap {
    struct port up;

    struct tap_config cfg;        /* Recorded by set_config(). */
    struct tap_config applied;    /* In effect. */

    int fd;                       /* /dev/net/tun, or -1. */
    bool vnet_hdr;                /* Frames come and go after a header. */
    int ifindex;
    uint8_t mac[6];

    /* rx state: only the thread polling rx queue 0 touches these. */
    struct rte_mbuf *rx_spare;
    uint8_t *rx_spill;            /* TAP_SPILL_SIZE bytes. */
    uint64_t rx_errors;           /* Read by get_stats(). */
    uint64_t rx_dropped;          /* No mbufs. */
    uint32_t rx_skip;             /* Polls left without a read(). */
    uint32_t rx_backoff;          /* The last skip, doubling while idle. */

    uint64_t tx_errors;           /* Atomic: several PMDs send. */
};

static struct port_tap *
tap_cast(const struct port *port)
{
    return container_of(port, struct port_tap, up);
}

static struct port *
tap_alloc(void)
{
    struct port_tap *t = calloc(1, sizeof *t);

    return t ? &t->up : NULL;
}

static void
tap_dealloc(struct port *port)
{
    free(tap_cast(port));
}

static int
tap_construct(struct port *port)
{
    struct port_tap *t = tap_cast(port);

    t->fd = -1;
    t->rx_spill = malloc(TAP_SPILL_SIZE);
    return t->rx_spill ? 0 : ENOMEM;
}

static void
tap_destruct(struct port *port)
{
    struct port_tap *t = tap_cast(port);

    if (t->fd >= 0) {
        close(t->fd);   /* The kernel deletes the interface. */
        t->fd = -1;
    }
    rte_pktmbuf_free(t->rx_spare);
    t->rx_spare = NULL;
    free(t->rx_spill);
    t->rx_spill = NULL;
}

/* Parses "ADDR/LEN" into '*a'. */
static bool
tap_parse_cidr(const char *s, size_t len, struct tap_addr *a)
{
    char buf[INET6_ADDRSTRLEN + 8];
    char *slash, *end;
    unsigned long plen;

    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    slash = strchr(buf, '/');
    if (!slash || !slash[1]) {
        return false;
    }
    *slash = '\0';
    if (inet_pton(AF_INET, buf, a->addr) == 1) {
        a->family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, a->addr) == 1) {
        a->family = AF_INET6;
    } else {
        return false;
    }
    errno = 0;
    plen = strtoul(slash + 1, &end, 10);
    if (*end || errno || slash[1] < '0' || slash[1] > '9'
        || plen > (a->family == AF_INET ? 32u : 128u)) {
        return false;
    }
    a->prefixlen = (unsigned) plen;
    return true;
}

/* What the kernel takes as an interface name (dev_valid_name()). */
static bool
tap_check_ifname(const char *v, char *msg, size_t msgsize)
{
    bool bad = !*v || strlen(v) >= IFNAMSIZ || !strcmp(v, ".")
               || !strcmp(v, "..");

    for (const char *c = v; *c && !bad; c++) {
        bad = (unsigned char) *c <= ' ' || *c == 0x7f || *c == '/'
              || *c == ':';
    }
    if (bad) {
        snprintf(msg, msgsize, "must be a Linux interface name of 1..%d "
                 "bytes without '/', ':' or spaces", IFNAMSIZ - 1);
    }
    return !bad;
}

static bool
tap_check_address(const char *v, char *msg, size_t msgsize)
{
    struct tap_addr a;

    if (!tap_parse_cidr(v, strlen(v), &a)) {
        snprintf(msg, msgsize, "\"%s\" is not ADDR/PREFIX (e.g. "
                 "10.0.0.1/24 or fd00::1/64)", v);
        return false;
    }
    return true;
}

static const struct port_opt_def tap_options[] = {
    { "ifname", PORT_OPT_STRING, false, 1, IFNAMSIZ - 1, "the port name",
      "kernel interface name; cannot change on an open port",
      tap_check_ifname },
    { "mtu", PORT_OPT_UINT, false, 68, 65535, "the kernel's",
      "MTU to set", NULL },
    { "addresses", PORT_OPT_LIST, false, 0, TAP_MAX_ADDRS, "none",
      "IPv4 and IPv6 addresses to put on the interface, each "
      "`ADDR/PREFIX` (`10.0.0.1/24`, `fd00::1/64`)", tap_check_address },
    { "tso", PORT_OPT_STRING, false, 4, 5, "true",
      "`true`: hand the kernel guests' partial checksums and TSO frames "
      "as they are (a virtio-net header), rather than completed and cut "
      "in software; cannot change on an open port", port_opt_check_bool },
    { .name = NULL },
};

static int
tap_set_config(struct port *port, const struct port_option *opts,
               size_t n_opts, char *err, size_t errsize)
{
    struct port_tap *t = tap_cast(port);
    const char *ifname = port_opt_get(opts, n_opts, "ifname");
    const char *s = port_opt_get(opts, n_opts, "addresses");
    struct tap_config cfg;
    char msg[128];

    memset(&cfg, 0, sizeof cfg);
    cfg.mtu = port_opt_get_u32(tap_options, opts, n_opts, "mtu");
    cfg.tso = true;
    if (port_opt_get(opts, n_opts, "tso")) {
        port_opt_parse_bool(port_opt_get(opts, n_opts, "tso"), &cfg.tso);
    }
    /* At most TAP_MAX_ADDRS good addresses: the table said so. */
    for (s = s ? s : ""; *s && cfg.n_addrs < TAP_MAX_ADDRS; cfg.n_addrs++) {
        size_t len = strcspn(s, ",");

        tap_parse_cidr(s, len, &cfg.addrs[cfg.n_addrs]);
        s += len + (s[len] == ',');
    }
    if (!ifname) {
        /* Port names may be longer than interface names. */
        ifname = port->name;
        if (!tap_check_ifname(ifname, msg, sizeof msg)) {
            port_err_set(err, errsize, "%s: option ifname: not given, and "
                         "the port name %s", port->name, msg);
            return EINVAL;
        }
    }
    if (t->fd >= 0 && cfg.tso != t->applied.tso) {
        port_err_set(err, errsize, "%s: option tso cannot be changed on an "
                     "open port (delete and re-add it)", port->name);
        return ENOTSUP;
    }
    if (t->fd >= 0 && strcmp(ifname, t->applied.ifname)) {
        port_err_set(err, errsize, "%s: option ifname cannot be changed on "
                     "an open port (delete and re-add it)", port->name);
        return ENOTSUP;
    }
    snprintf(cfg.ifname, sizeof cfg.ifname, "%s", ifname);
    t->cfg = cfg;
    return 0;
}

static bool
tap_addr_in(const struct tap_addr *a, const struct tap_addr *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].family == a->family && list[i].prefixlen == a->prefixlen
            && !memcmp(list[i].addr, a->addr,
                       a->family == AF_INET ? 4 : 16)) {
            return true;
        }
    }
    return false;
}

/* Adds ('add') or deletes address 'a' on the interface. */
static int
tap_nl_addr(struct nl_sock *sk, int ifindex, const struct tap_addr *a,
            bool add)
{
    struct rtnl_addr *ra = rtnl_addr_alloc();
    struct nl_addr *local;
    int ret;

    if (!ra) {
        return -NLE_NOMEM;
    }
    local = nl_addr_build(a->family, a->addr, a->family == AF_INET ? 4 : 16);
    if (!local) {
        rtnl_addr_put(ra);
        return -NLE_NOMEM;
    }
    nl_addr_set_prefixlen(local, (int) a->prefixlen);
    rtnl_addr_set_ifindex(ra, ifindex);
    rtnl_addr_set_family(ra, a->family);
    ret = rtnl_addr_set_local(ra, local);
    rtnl_addr_set_prefixlen(ra, (int) a->prefixlen);
    if (!ret) {
        ret = add ? rtnl_addr_add(sk, ra, 0) : rtnl_addr_delete(sk, ra, 0);
        if (add && ret == -NLE_EXIST) {
            ret = 0;
        }
    }
    nl_addr_put(local);
    rtnl_addr_put(ra);
    return ret;
}

/* Brings the link up, sets the MTU and the addresses; reads the MAC. */
static int
tap_apply_netlink(struct port_tap *t, char *err, size_t errsize)
{
    const char *name = t->up.name;
    struct rtnl_link *link = NULL, *change = NULL;
    struct nl_sock *sk = nl_socket_alloc();
    struct nl_addr *lladdr;
    int error = 0;
    int ret;

    if (!sk) {
        port_err_set(err, errsize, "%s: out of memory", name);
        return ENOMEM;
    }
    ret = nl_connect(sk, NETLINK_ROUTE);
    if (ret < 0) {
        port_err_set(err, errsize, "%s: netlink: %s", name,
                     nl_geterror(ret));
        error = EIO;
        goto out;
    }
    ret = rtnl_link_get_kernel(sk, 0, t->cfg.ifname, &link);
    if (ret < 0) {
        port_err_set(err, errsize, "%s: netlink: cannot find %s: %s",
                     name, t->cfg.ifname, nl_geterror(ret));
        error = ENODEV;
        goto out;
    }
    t->ifindex = rtnl_link_get_ifindex(link);

    change = rtnl_link_alloc();
    if (!change) {
        error = ENOMEM;
        goto out;
    }
    rtnl_link_set_flags(change, IFF_UP);
    if (t->cfg.mtu) {
        rtnl_link_set_mtu(change, t->cfg.mtu);
    }
    ret = rtnl_link_change(sk, link, change, 0);
    if (ret < 0) {
        port_err_set(err, errsize, "%s: option mtu: cannot set %s up "
                     "with MTU %u: %s", name, t->cfg.ifname, t->cfg.mtu,
                     nl_geterror(ret));
        error = EINVAL;
        goto out;
    }

    for (size_t i = 0; i < t->applied.n_addrs; i++) {
        const struct tap_addr *a = &t->applied.addrs[i];

        if (!tap_addr_in(a, t->cfg.addrs, t->cfg.n_addrs)) {
            tap_nl_addr(sk, t->ifindex, a, false);
        }
    }
    for (size_t i = 0; i < t->cfg.n_addrs; i++) {
        ret = tap_nl_addr(sk, t->ifindex, &t->cfg.addrs[i], true);
        if (ret < 0) {
            char buf[INET6_ADDRSTRLEN];

            inet_ntop(t->cfg.addrs[i].family, t->cfg.addrs[i].addr, buf,
                      sizeof buf);
            port_err_set(err, errsize, "%s: option addresses: cannot add "
                         "%s/%u to %s: %s", name, buf,
                         t->cfg.addrs[i].prefixlen, t->cfg.ifname,
                         nl_geterror(ret));
            error = EINVAL;
            goto out;
        }
    }

    lladdr = rtnl_link_get_addr(link);
    if (lladdr && nl_addr_get_len(lladdr) == 6) {
        memcpy(t->mac, nl_addr_get_binary_addr(lladdr), 6);
    }

out:
    if (change) {
        rtnl_link_put(change);
    }
    if (link) {
        rtnl_link_put(link);
    }
    nl_socket_free(sk);
    return error;
}

static int
tap_reconfigure(struct port *port, char *err, size_t errsize)
{
    struct port_tap *t = tap_cast(port);
    bool opened = false;
    int error;

    if (t->fd < 0) {
        struct ifreq ifr;
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

        if (fd < 0) {
            error = errno;
            port_err_set(err, errsize, "%s: cannot open /dev/net/tun: %s",
                         port->name, strerror(error));
            return error;
        }
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI
                        | (t->cfg.tso ? IFF_VNET_HDR : 0);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", t->cfg.ifname);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            error = errno;
            close(fd);
            port_err_set(err, errsize, "%s: cannot create tap %s: %s",
                         port->name, t->cfg.ifname, strerror(error));
            return error;
        }
        if (t->cfg.tso) {
            int hdr = (int) sizeof(struct virtio_net_hdr);

            /* Partial checksums and TCP GSO frames both ways. */
            if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0
                || ioctl(fd, TUNSETOFFLOAD,
                         (unsigned long) (TUN_F_CSUM | TUN_F_TSO4
                                          | TUN_F_TSO6)) < 0) {
                error = errno;
                close(fd);
                port_err_set(err, errsize, "%s: tap %s: cannot set up the "
                             "virtio-net header: %s", port->name,
                             t->cfg.ifname, strerror(error));
                return error;
            }
            port_ol_enable();       /* It may now receive requests. */
        }
        t->vnet_hdr = t->cfg.tso;
        __atomic_store_n(&port->tx_ol,
                         t->cfg.tso ? PORT_TX_OL_CSUM | PORT_TX_OL_TSO4
                                      | PORT_TX_OL_TSO6 : 0,
                         __ATOMIC_RELAXED);
        t->fd = fd;
        opened = true;
        memset(&t->applied, 0, sizeof t->applied);
    }

    error = tap_apply_netlink(t, err, errsize);
    if (error) {
        if (opened) {
            close(t->fd);
            t->fd = -1;
        }
        return error;
    }
    t->applied = t->cfg;
    port->n_rxq = 1;
    port->n_dev_txq = port->n_txq;
    return 0;
}

/* Copies 'len' bytes of 'src' into segments chained after 'head'. */
static bool
tap_chain_copy(struct rte_mbuf *head, struct rte_mempool *mp,
               const uint8_t *src, size_t len)
{
    while (len > 0) {
        struct rte_mbuf *seg = rte_pktmbuf_alloc(mp);
        uint16_t n;
        char *p;

        if (!seg) {
            return false;
        }
        n = (uint16_t) RTE_MIN(len, (size_t) rte_pktmbuf_tailroom(seg));
        p = rte_pktmbuf_append(seg, n);
        memcpy(p, src, n);
        if (rte_pktmbuf_chain(head, seg)) {
            rte_pktmbuf_free(seg);
            return false;
        }
        src += n;
        len -= n;
    }
    return true;
}

/* What the kernel left to the device (its virtio-net header 'vh' before
 * 'm'), as the packet's requests (port.h); a partial checksum that is not
 * TCP's or UDP's at the L4 header is completed here.  False: 'm' is to be
 * dropped (a GSO frame sluice never offered, or inconsistent). */
static bool
tap_rx_offloads(struct rte_mbuf *m, const struct virtio_net_hdr *vh)
{
    uint8_t gso = vh->gso_type & (uint8_t) ~VIRTIO_NET_HDR_GSO_ECN;
    bool partial = (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
    struct pkt_ol_layout ly;
    uint32_t start, end;
    uint8_t *p;

    if (!partial && gso == VIRTIO_NET_HDR_GSO_NONE) {
        return true;
    }
    if (pkt_ol_parse(rte_pktmbuf_mtod(m, const uint8_t *),
                     rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                     PKT_OL_TNL_NONE, &ly)
        && (!partial || (vh->csum_start == ly.l4
                         && vh->csum_offset == (ly.proto == 6 ? 16 : 6)))) {
        uint64_t f = ly.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4;

        if (gso != VIRTIO_NET_HDR_GSO_NONE) {
            if (ly.proto != 6 || !vh->gso_size
                || (gso != VIRTIO_NET_HDR_GSO_TCPV4
                    && gso != VIRTIO_NET_HDR_GSO_TCPV6)) {
                return false;
            }
            f |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
            m->tso_segsz = vh->gso_size;
        } else {
            f |= ly.proto == 6 ? RTE_MBUF_F_TX_TCP_CKSUM
                               : RTE_MBUF_F_TX_UDP_CKSUM;
        }
        m->ol_flags |= f;
        return true;
    }
    if (gso != VIRTIO_NET_HDR_GSO_NONE || port_pkt_linearize(m)) {
        return false;
    }
    /* Elsewhere (a tunnel's inner header, SCTP...): the device's sum from
     * csum_start to the end, over the pseudo-header sum the field holds. */
    p = rte_pktmbuf_mtod(m, uint8_t *);
    start = vh->csum_start;
    end = rte_pktmbuf_data_len(m);
    if (start >= end || (uint32_t) vh->csum_offset + 2 > end - start) {
        return false;
    }
    {
        uint16_t c = (uint16_t) ~csum_fold(csum_add(0, p + start,
                                                    end - start));

        /* 0 goes as 0xffff, as Linux does (for UDP, 0 is "none"). */
        put_be16(p + start + vh->csum_offset, c ? c : 0xffff);
    }
    return true;
}

static int
tap_rxq_recv(struct port *port, unsigned qid, struct rte_mbuf **pkts,
             int max)
{
    struct port_tap *t = tap_cast(port);
    int n = 0;

    /* A read() that finds nothing costs a system call, a microsecond or
     * more: on a busy PMD an idle tap would cost its other ports dearly.
     * After an empty read the next polls skip it, twice as many each
     * time it stays empty (up to TAP_RX_MAX_SKIP), and the first packet
     * ends the backoff. */
    if (t->rx_skip) {
        t->rx_skip--;
        return 0;
    }
    while (n < max) {
        struct rte_mbuf *m = t->rx_spare;
        struct virtio_net_hdr vh;
        struct iovec iov[3];
        size_t room;
        ssize_t r;

        if (!m) {
            m = rte_pktmbuf_alloc(port->env.mp);
            if (!m) {
                t->rx_dropped++;
                break;
            }
        }
        t->rx_spare = NULL;
        room = rte_pktmbuf_tailroom(m);
        iov[0].iov_base = &vh;
        iov[0].iov_len = sizeof vh;
        iov[1].iov_base = rte_pktmbuf_mtod(m, void *);
        iov[1].iov_len = room;
        iov[2].iov_base = t->rx_spill;
        iov[2].iov_len = TAP_SPILL_SIZE;
        /* With the header on, it comes first. */
        r = t->vnet_hdr ? readv(t->fd, iov, 3) : readv(t->fd, iov + 1, 2);
        if (r > 0 && t->vnet_hdr) {
            r = r >= (ssize_t) sizeof vh ? r - (ssize_t) sizeof vh : 0;
        }
        if (r <= 0) {
            t->rx_spare = m;
            if (r < 0 && errno != EAGAIN && errno != EINTR) {
                t->rx_errors++;
            }
            break;
        }
        if ((size_t) r <= room) {
            rte_pktmbuf_append(m, (uint16_t) r);
        } else {
            rte_pktmbuf_append(m, (uint16_t) room);
            if (!tap_chain_copy(m, port->env.mp, t->rx_spill,
                                (size_t) r - room)) {
                rte_pktmbuf_free(m);
                t->rx_dropped++;
                continue;
            }
        }
        if (m->nb_segs > 1 && port_pkt_linearize(m)) {
            rte_pktmbuf_free(m);        /* (The datapath wants one piece.) */
            t->rx_dropped++;
            continue;
        }
        if (t->vnet_hdr && (vh.flags || vh.gso_type)
            && !tap_rx_offloads(m, &vh)) {
            rte_pktmbuf_free(m);
            t->rx_errors++;
            continue;
        }
        pkts[n++] = m;
    }
    if (n) {
        t->rx_backoff = 0;
    } else {
        t->rx_backoff = t->rx_backoff ? t->rx_backoff * 2 : 1;
        if (t->rx_backoff > TAP_RX_MAX_SKIP) {
            t->rx_backoff = TAP_RX_MAX_SKIP;
        }
        t->rx_skip = t->rx_backoff;
    }
    return n;
}

/* The virtio-net header for 'm': what port-ol.c left to the device. */
static void
tap_vnet_hdr(const struct rte_mbuf *m, struct virtio_net_hdr *h)
{
    uint64_t f = m->ol_flags;

    memset(h, 0, sizeof *h);
    if (f & RTE_MBUF_F_TX_L4_MASK) {
        h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h->csum_start = (uint16_t) (m->l2_len + m->l3_len);
        h->csum_offset = (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM
                         ? 6 : 16;
    }
    if (f & RTE_MBUF_F_TX_TCP_SEG) {
        h->gso_type = f & RTE_MBUF_F_TX_IPV6 ? VIRTIO_NET_HDR_GSO_TCPV6
                                             : VIRTIO_NET_HDR_GSO_TCPV4;
        h->gso_size = m->tso_segsz;
        h->hdr_len = (uint16_t) (m->l2_len + m->l3_len + m->l4_len);
    }
}

static int
tap_send(struct port *port, unsigned qid, struct rte_mbuf **pkts, int n,
         uint64_t *bytes)
{
    struct port_tap *t = tap_cast(port);
    size_t hl = t->vnet_hdr ? sizeof(struct virtio_net_hdr) : 0;
    uint64_t b = 0;
    int sent = 0;

    for (int i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        struct iovec iov[TAP_MAX_SEGS + 1];
        struct virtio_net_hdr vh;
        int k = 0;
        ssize_t r;

        if (hl) {
            tap_vnet_hdr(m, &vh);
            iov[k].iov_base = &vh;
            iov[k].iov_len = hl;
            k++;
        }
        for (struct rte_mbuf *s = m; s && k <= TAP_MAX_SEGS; s = s->next) {
            iov[k].iov_base = rte_pktmbuf_mtod(s, void *);
            iov[k].iov_len = s->data_len;
            k++;
        }
        r = m->nb_segs <= TAP_MAX_SEGS ? writev(t->fd, iov, k) : -1;
        if (r == (ssize_t) (hl + rte_pktmbuf_pkt_len(m))) {
            b += rte_pktmbuf_pkt_len(m);
            sent++;
        } else if (r < 0 && errno != EAGAIN && errno != ENOBUFS) {
            __atomic_fetch_add(&t->tx_errors, 1, __ATOMIC_RELAXED);
        }
    }
    port_free_burst(pkts, n);
    *bytes = b;
    return sent;
}

static void
tap_get_stats(const struct port *port, struct port_stats *stats)
{
    struct port_tap *t = tap_cast(port);

    stats->rx_errors += __atomic_load_n(&t->rx_errors, __ATOMIC_RELAXED);
    stats->rx_dropped += __atomic_load_n(&t->rx_dropped, __ATOMIC_RELAXED);
    stats->tx_errors += __atomic_load_n(&t->tx_errors, __ATOMIC_RELAXED);
}

/* Reads the interface flags or MTU with an ioctl. */
static int
tap_ioctl(const struct port_tap *t, unsigned long req, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int ret;

    if (s < 0) {
        return errno;
    }
    memset(ifr, 0, sizeof *ifr);
    snprintf(ifr->ifr_name, sizeof ifr->ifr_name, "%s", t->applied.ifname);
    ret = ioctl(s, req, ifr) < 0 ? errno : 0;
    close(s);
    return ret;
}

static bool
tap_get_link(const struct port *port)
{
    struct port_tap *t = tap_cast(port);
    struct ifreq ifr;

    if (t->fd < 0 || tap_ioctl(t, SIOCGIFFLAGS, &ifr)) {
        return false;
    }
    return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

static int
tap_get_mtu(const struct port *port)
{
    struct port_tap *t = tap_cast(port);
    struct ifreq ifr;

    if (t->fd < 0 || tap_ioctl(t, SIOCGIFMTU, &ifr)) {
        /* Not visible from here (moved to another network namespace,
         * as a container's end is): the MTU sluice gave it, if any. */
        return (int) t->cfg.mtu;
    }
    return ifr.ifr_mtu;
}

static void
tap_get_mac(const struct port *port, uint8_t mac[6])
{
    memcpy(mac, tap_cast(port)->mac, 6);
}

const struct port_class port_tap_class = {
    .type = "tap",
    .options = tap_options,
    .alloc = tap_alloc,
    .construct = tap_construct,
    .destruct = tap_destruct,
    .dealloc = tap_dealloc,
    .set_config = tap_set_config,
    .reconfigure = tap_reconfigure,
    .rxq_recv = tap_rxq_recv,
    .send = tap_send,
    .get_stats = tap_get_stats,
    .get_link = tap_get_link,
    .get_mtu = tap_get_mtu,
    .get_mac = tap_get_mac,
};
