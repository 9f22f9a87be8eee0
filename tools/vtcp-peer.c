/* SPDX-License-Identifier: BSD-3-Clause */
/* vtcp-peer: two virtio-user "guests" joined by a switch, one sending a
 * TCP stream as TSO frames, the other receiving and checking it. */

/*
 * What
 *   A test and benchmark peer for checksum and segmentation offload over
 *   vhost-user, standing in for two VMs: net_virtio_user0 (socket
 *   --tx-sock) sends one TCP stream as large frames that ask the device
 *   for segmentation (RTE_MBUF_F_TX_TCP_SEG, virtio's GSO header) and a
 *   partial checksum; net_virtio_user1 (--rx-sock) receives what the switch
 *   delivers, with (default) or without (--no-rx-tso) offering the switch
 *   TSO and checksum offload for what it receives.  Both sockets are
 *   vhost-user servers: the switch connects to them as a client.
 *
 *   With --verify, every received frame is checked: the TCP checksum
 *   (unless the frame says it is partial, as a guest that took checksum
 *   offload is told), every payload byte against the stream's pattern,
 *   and order (bytes missing or repeated are counted).  It prints one JSON
 *   line: bytes sent and received, frames, frames larger than 1514 bytes
 *   (TSO frames delivered whole), errors, and the receive rate in Gbit/s
 *   over the measured window.
 *
 * Design
 *   One lcore polls both ports.  A frame is a header mbuf chained to an
 *   indirect mbuf over a pattern buffer: byte k of the stream is
 *   period_bytes[k mod PERIOD] (pseudo-random bytes, a prime period that
 *   no segment size divides), so any window of the stream is a slice of
 *   one buffer of PERIOD + 65000 bytes and sending costs no payload
 *   copy.  Frames the
 *   device does not take are sent again first: the stream stays in order.
 *   Like TCP's window, at most --window bytes are in flight (sent, not
 *   yet received): the switch's rings never overflow for want of a
 *   receiver.  With --seconds, what is lost (nothing arrives for 200 ms)
 *   is counted as missing and skipped; with --bytes the sender waits (a
 *   loss then ends the run short: rx_next < bytes).
 *
 * Usage
 *   vtcp-peer EAL-ARGS -- --tx-sock PATH --rx-sock PATH
 *       [--bytes N | --seconds S] [--warmup S] [--payload N] [--mss N]
 *       [--no-rx-tso] [--verify] [--wait S] [--window BYTES]
 */

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#define BURST 32
#define PERIOD 1021u             /* Pattern period: prime, below 1448. */
#define HDR_LEN (14 + 20 + 20)
#define SEQ0 1000u

static volatile bool stop;

static void
on_signal(int sig)
{
    (void) sig;
    stop = true;
}

static uint8_t period_bytes[PERIOD];

static inline uint8_t
pattern(uint64_t k)
{
    return period_bytes[k % PERIOD];
}

struct opts {
    const char *tx_sock, *rx_sock;
    uint64_t bytes;             /* Stream length (0: --seconds). */
    double seconds, warmup, wait;
    uint32_t payload, mss;
    uint64_t window;            /* Bytes in flight at most. */
    bool rx_tso, verify;
};

struct rx_stats {
    uint64_t frames, bytes, payload, large;
    uint64_t next;              /* Next stream offset expected. */
    uint64_t missing, repeated, bad_csum, bad_payload, not_tcp;
};

static int
port_setup(uint16_t port, struct rte_mempool *mp, bool tx, bool rx_tso)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    int r;

    memset(&conf, 0, sizeof conf);
    if (rte_eth_dev_info_get(port, &info)) {
        return -1;
    }
    if (tx) {
        conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS
                               | RTE_ETH_TX_OFFLOAD_TCP_TSO
                               | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
        conf.txmode.offloads &= info.tx_offload_capa;
    } else if (rx_tso) {
        conf.rxmode.offloads = (RTE_ETH_RX_OFFLOAD_TCP_LRO
                                | RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
                               & info.rx_offload_capa;
    }
    r = rte_eth_dev_configure(port, 1, 1, &conf);
    if (!r) {
        r = rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, mp);
    }
    if (!r) {
        r = rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL);
    }
    if (!r) {
        r = rte_eth_dev_start(port);
    }
    return r;
}

static bool
link_up(uint16_t port)
{
    struct rte_eth_link l;

    return !rte_eth_link_get_nowait(port, &l) && l.link_status;
}

/* One frame of 'plen' payload bytes at stream offset 'off'. */
static struct rte_mbuf *
make_frame(struct rte_mempool *mp, struct rte_mbuf *pat, uint64_t off,
           uint32_t plen, uint32_t mss)
{
    struct rte_mbuf *h = rte_pktmbuf_alloc(mp), *d;
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *th;
    uint8_t *p;

    if (!h) {
        return NULL;
    }
    d = rte_pktmbuf_alloc(mp);
    if (!d) {
        rte_pktmbuf_free(h);
        return NULL;
    }
    p = (uint8_t *) rte_pktmbuf_append(h, HDR_LEN);
    if (!p) {
        rte_pktmbuf_free(h);
        rte_pktmbuf_free(d);
        return NULL;
    }
    memset(p, 0, HDR_LEN);
    memcpy(p, "\x52\x54\x00\x5c\x01\x02\x52\x54\x00\x5c\x01\x01\x08\x00",
           14);
    ip = (struct rte_ipv4_hdr *) (p + 14);
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16((uint16_t) (20 + 20 + plen));
    ip->packet_id = rte_cpu_to_be_16((uint16_t) (off / mss));
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->src_addr = rte_cpu_to_be_32(0x0a370001);
    ip->dst_addr = rte_cpu_to_be_32(0x0a370002);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    th = (struct rte_tcp_hdr *) (p + 34);
    th->src_port = rte_cpu_to_be_16(40000);
    th->dst_port = rte_cpu_to_be_16(5001);
    th->sent_seq = rte_cpu_to_be_32((uint32_t) (SEQ0 + off));
    th->recv_ack = rte_cpu_to_be_32(1);
    th->data_off = 0x50;
    th->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
    th->rx_win = rte_cpu_to_be_16(65535);

    rte_pktmbuf_attach(d, pat);
    d->data_off = (uint16_t) (pat->data_off + off % PERIOD);
    d->data_len = (uint16_t) plen;
    d->pkt_len = plen;
    h->next = d;
    h->nb_segs = 2;
    h->pkt_len = HDR_LEN + plen;
    h->l2_len = 14;
    h->l3_len = 20;
    h->l4_len = 20;
    h->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    if (plen > mss) {
        h->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
        h->tso_segsz = (uint16_t) mss;
    }
    th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);
    return h;
}

/* Checks one received frame (--verify) and counts it. */
static void
rx_frame(struct rx_stats *s, struct rte_mbuf *m, bool verify)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    uint32_t len = rte_pktmbuf_pkt_len(m);
    uint32_t tot, plen;
    uint64_t off;

    s->frames++;
    s->bytes += len;
    if (len > 1514) {
        s->large++;
    }
    if (m->data_len < HDR_LEN || p[12] != 0x08 || p[13] != 0x00
        || p[14] != 0x45 || p[23] != IPPROTO_TCP) {
        s->not_tcp++;
        return;
    }
    tot = (uint32_t) p[16] << 8 | p[17];
    if (tot < 40 || 14 + tot > len) {
        s->not_tcp++;
        return;
    }
    plen = tot - 40;
    {
        /* The 32-bit sequence number, placed in the 64-bit stream next to
         * where the stream is expected (it wraps every 4 GiB). */
        uint32_t seq = (uint32_t) p[38] << 24 | (uint32_t) p[39] << 16
                       | (uint32_t) p[40] << 8 | p[41];
        int32_t delta = (int32_t) (seq - SEQ0 - (uint32_t) s->next);

        off = s->next + (int64_t) delta;
    }
    s->payload += plen;
    if (off > s->next) {
        s->missing += off - s->next;
    } else if (off < s->next) {
        s->repeated += s->next - off;
    }
    if (off + plen > s->next) {
        s->next = off + plen;
    }
    if (!verify) {
        return;
    }
    if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK)
        != RTE_MBUF_F_RX_L4_CKSUM_NONE) {
        uint16_t c = 0;

        if (rte_ipv4_udptcp_cksum_mbuf_verify(m, (const void *) (p + 14),
                                              34)) {
            c = 1;
        }
        if (c) {
            s->bad_csum++;
        }
    }
    {
        uint32_t j = 0, skip = HDR_LEN;

        for (const struct rte_mbuf *seg = m; seg && j < plen;
             seg = seg->next) {
            const uint8_t *q = rte_pktmbuf_mtod(seg, const uint8_t *);
            uint32_t n = seg->data_len;

            if (skip >= n) {
                skip -= n;
                continue;
            }
            for (uint32_t i = skip; i < n && j < plen; i++, j++) {
                if (q[i] != pattern(off + j)) {
                    s->bad_payload++;
                    return;
                }
            }
            skip = 0;
        }
        if (j < plen) {
            s->bad_payload++;
        }
    }
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "tx-sock", required_argument, NULL, 't' },
        { "rx-sock", required_argument, NULL, 'r' },
        { "bytes", required_argument, NULL, 'b' },
        { "seconds", required_argument, NULL, 's' },
        { "warmup", required_argument, NULL, 'w' },
        { "payload", required_argument, NULL, 'p' },
        { "mss", required_argument, NULL, 'm' },
        { "no-rx-tso", no_argument, NULL, 'n' },
        { "verify", no_argument, NULL, 'v' },
        { "wait", required_argument, NULL, 'W' },
        { "window", required_argument, NULL, 'x' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *o = (struct opts) { .seconds = 5, .warmup = 1, .wait = 60,
                         .payload = 64000, .mss = 1448, .rx_tso = true,
                         .window = 512 * 1024 };
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 't': o->tx_sock = optarg; break;
        case 'r': o->rx_sock = optarg; break;
        case 'b': o->bytes = strtoull(optarg, NULL, 10); break;
        case 's': o->seconds = atof(optarg); break;
        case 'w': o->warmup = atof(optarg); break;
        case 'p': o->payload = (uint32_t) atoi(optarg); break;
        case 'm': o->mss = (uint32_t) atoi(optarg); break;
        case 'n': o->rx_tso = false; break;
        case 'v': o->verify = true; break;
        case 'W': o->wait = atof(optarg); break;
        case 'x': o->window = strtoull(optarg, NULL, 10); break;
        default: return -1;
        }
    }
    if (!o->tx_sock || !o->rx_sock || !o->payload || o->payload > 64000
        || o->window < o->payload
        || !o->mss || o->mss > 9000) {
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    char vdev0[600], vdev1[600];
    struct rte_mempool *mp, *big;
    struct rte_mbuf *pat, *pend[BURST];
    struct rx_stats rs = { 0 };
    uint64_t sent_bytes = 0, sent_frames = 0, off = 0;
    uint64_t hz, t0, t_end, t_meas = 0, meas_payload = 0, meas_frames = 0;
    uint64_t last_next = 0, last_progress = 0, quiet_since = 0;
    unsigned n_pend = 0;
    struct opts o;
    char *eal[64];
    int n_eal = 0, sep;

    for (sep = 1; sep < argc && strcmp(argv[sep], "--"); sep++) {
    }
    if (parse_opts(argc - sep, argv + sep, &o)) {
        fprintf(stderr, "usage: vtcp-peer EAL-ARGS -- --tx-sock PATH "
                "--rx-sock PATH [--bytes N | --seconds S] [--warmup S] "
                "[--payload N<=64000] [--mss N<=9000] [--no-rx-tso] "
                "[--verify] [--wait S] [--window BYTES]\n");
        return 2;
    }
    snprintf(vdev0, sizeof vdev0, "net_virtio_user0,path=%s,server=1,"
             "queues=1,queue_size=1024", o.tx_sock);
    snprintf(vdev1, sizeof vdev1, "net_virtio_user1,path=%s,server=1,"
             "queues=1,queue_size=1024,mrg_rxbuf=1", o.rx_sock);
    for (int i = 0; i < sep && n_eal < 60; i++) {
        eal[n_eal++] = argv[i];
    }
    eal[n_eal++] = (char *) "--vdev";
    eal[n_eal++] = vdev0;
    eal[n_eal++] = (char *) "--vdev";
    eal[n_eal++] = vdev1;
    eal[n_eal] = NULL;
    if (rte_eal_init(n_eal, eal) < 0) {
        fprintf(stderr, "vtcp-peer: EAL init failed\n");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    mp = rte_pktmbuf_pool_create("vtcp", 32767, 256, 0,
                                 RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    big = rte_pktmbuf_pool_create("vtcp_pat", 1, 0, 0,
                                  (uint16_t) (RTE_PKTMBUF_HEADROOM + PERIOD
                                              + o.payload),
                                  rte_socket_id());
    if (!mp || !big || rte_eth_dev_count_avail() != 2) {
        fprintf(stderr, "vtcp-peer: no mbufs or ports\n");
        return 1;
    }
    /* The pattern: PATTERN bytes, then again as much as a frame takes. */
    pat = rte_pktmbuf_alloc(big);
    if (!pat || rte_pktmbuf_tailroom(pat) < PERIOD + o.payload) {
        fprintf(stderr, "vtcp-peer: pattern buffer\n");
        return 1;
    }
    {
        uint8_t *p = rte_pktmbuf_mtod(pat, uint8_t *);
        uint32_t x = 2463534242u;

        for (uint32_t i = 0; i < PERIOD; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            period_bytes[i] = (uint8_t) x;
        }
        for (uint32_t i = 0; i < PERIOD + o.payload; i++) {
            p[i] = pattern(i);
        }
    }
    if (port_setup(0, mp, true, false) || port_setup(1, mp, false, o.rx_tso)) {
        fprintf(stderr, "vtcp-peer: port setup failed\n");
        return 1;
    }
    printf("{\"ready\": true}\n");
    fflush(stdout);

    hz = rte_get_tsc_hz();
    t0 = rte_get_tsc_cycles();
    while (!(link_up(0) && link_up(1))) {
        if (stop || rte_get_tsc_cycles() - t0 > (uint64_t) (o.wait * hz)) {
            fprintf(stderr, "vtcp-peer: no switch connected\n");
            return 1;
        }
        rte_delay_ms(10);
    }
    /* Give the switch a moment to enable its queues and settle. */
    rte_delay_ms(300);
    t0 = rte_get_tsc_cycles();
    t_end = o.bytes ? UINT64_MAX
                    : t0 + (uint64_t) ((o.warmup + o.seconds) * hz);
    for (;;) {
        struct rte_mbuf *rx[BURST];
        uint64_t now = rte_get_tsc_cycles();
        uint16_t n;
        bool sending = o.bytes ? off < o.bytes || n_pend : now < t_end;

        if (!t_meas && now - t0 >= (uint64_t) (o.warmup * hz)) {
            t_meas = now;
            meas_payload = rs.payload;
            meas_frames = rs.frames;
        }
        if (rs.next != last_next) {
            last_next = rs.next;
            last_progress = now;
        } else if (!o.bytes && rs.frames && off - rs.next >= o.window
                   && now - last_progress > hz / 5) {
            /* In flight and not arriving: lost.  Go on (counted). */
            rs.missing += off - rs.next;
            rs.next = last_next = off;
            last_progress = now;
        }
        if (sending && !stop) {
            while (n_pend < BURST && (!o.bytes || off < o.bytes)
                   && off - rs.next < o.window) {
                uint32_t plen = o.payload;
                struct rte_mbuf *m;

                if (o.bytes && o.bytes - off < plen) {
                    plen = (uint32_t) (o.bytes - off);
                }
                m = make_frame(mp, pat, off, plen, o.mss);
                if (!m) {
                    break;
                }
                pend[n_pend++] = m;
                off += plen;
            }
            if (n_pend) {
                uint16_t k = rte_eth_tx_burst(0, 0, pend, (uint16_t) n_pend);

                for (uint16_t i = 0; i < k; i++) {
                    sent_bytes += rte_pktmbuf_pkt_len(pend[i]) - HDR_LEN;
                }
                sent_frames += k;
                memmove(pend, pend + k, (n_pend - k) * sizeof *pend);
                n_pend -= k;
            }
        }
        n = rte_eth_rx_burst(1, 0, rx, BURST);
        for (uint16_t i = 0; i < n; i++) {
            rx_frame(&rs, rx[i], o.verify);
        }
        rte_pktmbuf_free_bulk(rx, n);
        if (stop || (o.bytes && last_progress
                     && now - last_progress > 5 * hz)) {
            break;              /* (--bytes: lost; rx_next says where.) */
        }
        if (!sending) {
            /* Drain: until 1 s passes with nothing new (or all came). */
            if (n || !quiet_since) {
                quiet_since = now;
            }
            if ((o.bytes && rs.next >= o.bytes && n == 0)
                || now - quiet_since > hz) {
                break;
            }
        }
    }
    {
        double secs = t_meas ? (double) (rte_get_tsc_cycles() - t_meas) / hz
                             : 0;
        double gbps = 0;

        if (!o.bytes && t_meas) {
            secs = o.seconds;
        }
        if (secs > 0) {
            gbps = (double) (rs.payload - meas_payload) * 8 / secs / 1e9;
        }
        printf("{\"sent_frames\": %" PRIu64 ", \"sent_payload\": %" PRIu64
               ", \"rx_frames\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
               ", \"rx_payload\": %" PRIu64 ", \"rx_large\": %" PRIu64
               ", \"rx_next\": %" PRIu64 ", \"missing\": %" PRIu64
               ", \"repeated\": %" PRIu64 ", \"bad_csum\": %" PRIu64
               ", \"bad_payload\": %" PRIu64 ", \"not_tcp\": %" PRIu64
               ", \"window_frames\": %" PRIu64 ", \"seconds\": %.3f"
               ", \"gbps\": %.3f, \"verify\": %s, \"rx_tso\": %s}\n",
               sent_frames, sent_bytes, rs.frames, rs.bytes, rs.payload,
               rs.large, rs.next, rs.missing, rs.repeated, rs.bad_csum,
               rs.bad_payload, rs.not_tcp, rs.frames - meas_frames, secs,
               gbps, o.verify ? "true" : "false",
               o.rx_tso ? "true" : "false");
    }
    rte_pktmbuf_free_bulk(pend, n_pend);
    rte_pktmbuf_free(pat);
    rte_eth_dev_stop(0);
    rte_eth_dev_stop(1);
    rte_eal_cleanup();
    return 0;
}
