/* SPDX-License-Identifier: BSD-3-Clause */
/* test-port.c: tests of the port layer and its dpdk, tap, dummy providers. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "eal-test.h"
#include "pkt-build.h"
#include "port.h"
#include "port-io.h"
#include "port-dummy.h"
#include "port-provider.h"

#define N_MBUFS 8191
#define MAX_FRAMES 256
#define MAX_FRAME_LEN 1514

static struct rte_mempool *mp;
static char tmpdir[64];

/* Test frames: pseudo-random contents, IPv4 ethertype, 'n_flows' distinct
 * MAC/IP pairs. */
struct frames {
    size_t n;
    size_t lens[MAX_FRAMES];
    uint8_t data[MAX_FRAMES][MAX_FRAME_LEN];
    const void *ptrs[MAX_FRAMES];
};

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static struct frames *
make_frames(size_t n, unsigned n_flows, size_t min_len, size_t max_len)
{
    struct frames *f = calloc(1, sizeof *f);

    assert_non_null(f);
    assert_true(n <= MAX_FRAMES);
    f->n = n;
    for (size_t i = 0; i < n; i++) {
        uint8_t *d = f->data[i];
        unsigned flow = (unsigned) (i % n_flows);

        f->lens[i] = min_len + rng() % (max_len - min_len + 1);
        for (size_t j = 0; j < f->lens[i]; j++) {
            d[j] = (uint8_t) rng();
        }
        /* dst 02:..:flow, src 02:..:flow+1, IPv4, addresses by flow. */
        memset(d, 0, 12);
        d[0] = 0x02;
        d[5] = (uint8_t) flow;
        d[6] = 0x02;
        d[11] = (uint8_t) (flow + 1);
        d[12] = 0x08;
        d[13] = 0x00;
        memset(d + 26, 0, 8);
        d[29] = (uint8_t) flow;
        d[33] = (uint8_t) (flow * 7);
        f->ptrs[i] = d;
    }
    return f;
}

static uint64_t
frames_bytes(const struct frames *f)
{
    uint64_t b = 0;

    for (size_t i = 0; i < f->n; i++) {
        b += f->lens[i];
    }
    return b;
}

/* Copies frame 'i' into a new mbuf. */
static struct rte_mbuf *
frame_mbuf(const struct frames *f, size_t i)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    char *p;

    assert_non_null(m);
    p = rte_pktmbuf_append(m, (uint16_t) f->lens[i]);
    assert_non_null(p);
    memcpy(p, f->data[i], f->lens[i]);
    return m;
}

/* Byte-by-byte oracle comparison of an mbuf with a frame. */
static bool
mbuf_equals(const struct rte_mbuf *m, const void *frame, size_t len)
{
    uint8_t buf[MAX_FRAME_LEN];
    const uint8_t *p;

    if (rte_pktmbuf_pkt_len(m) != len || len > sizeof buf) {
        return false;
    }
    p = rte_pktmbuf_read(m, 0, (uint32_t) len, buf);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ((const uint8_t *) frame)[i]) {
            return false;
        }
    }
    return true;
}

static struct port_env
env_n(unsigned n_txq)
{
    struct port_env env = { .mp = mp, .socket_id = SOCKET_ID_ANY,
                            .n_txq = n_txq };

    return env;
}

static struct port *
open_ok(const char *name, const char *type, const struct port_option *opts,
        size_t n_opts, unsigned n_txq)
{
    struct port_env env = env_n(n_txq);
    struct port *port = NULL;
    char err[256] = "";
    int error;

    error = port_open(name, type, opts, n_opts, &env, &port, err,
                      sizeof err);
    if (error) {
        print_error("port_open(%s, %s): %s (%s)\n", name, type,
                    strerror(error), err);
    }
    assert_int_equal(error, 0);
    assert_non_null(port);
    return port;
}

/* Receives from every rx queue until 'want' packets arrived or about a
 * second passed. */
static size_t
rx_all(struct port *port, struct rte_mbuf **pkts, size_t want)
{
    size_t n = 0;

    for (int iter = 0; iter < 100000 && n < want; iter++) {
        for (unsigned q = 0; q < port_n_rxq(port) && n < want; q++) {
            int max = (int) RTE_MIN(want - n, (size_t) 32);

            n += (size_t) port_rx_burst(port, q, pkts + n, max);
        }
        if (n < want && iter > 100) {
            usleep(10);
        }
    }
    return n;
}

/* Capture callback: compares with the expected frames in order. */
struct capture_ctx {
    const struct frames *f;
    size_t next;
    size_t mismatches;
};

static void
capture_cb(const void *frame, size_t len, void *aux_)
{
    struct capture_ctx *c = aux_;

    if (c->next >= c->f->n || len != c->f->lens[c->next]
        || memcmp(frame, c->f->data[c->next], len)) {
        c->mismatches++;
    }
    c->next++;
}

static void
check_no_leak(void)
{
    assert_int_equal(rte_mempool_avail_count(mp), N_MBUFS);
}

/* ---- checksum and segmentation offload (port-ol.c) ---- */

struct ol_capture {
    size_t n;
    size_t lens[64];
    uint8_t frames[64][16384];
};

static void
ol_capture_cb(const void *frame, size_t len, void *aux)
{
    struct ol_capture *c = aux;

    if (c->n < 64 && len <= sizeof c->frames[0]) {
        memcpy(c->frames[c->n], frame, len);
        c->lens[c->n] = len;
    }
    c->n++;
}

static void
ol_extbuf_free(void *addr, void *opaque)
{
    (void) opaque;
    free(addr);
}

/* An mbuf of 'mp' holding 'len' bytes of 'frame' in an external buffer
 * (as rte_vhost hands a TSO packet over), with offload flags 'flags'. */
static struct rte_mbuf *
ol_mbuf(const uint8_t *frame, size_t len, uint64_t flags, uint16_t mss)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    uint16_t buf_len = (uint16_t) (len + RTE_PKTMBUF_HEADROOM + 64);
    uint8_t *buf = malloc((size_t) buf_len + 64);
    struct rte_mbuf_ext_shared_info *shinfo;

    assert_non_null(m);
    assert_non_null(buf);
    shinfo = rte_pktmbuf_ext_shinfo_init_helper(buf, &buf_len,
                                                ol_extbuf_free, NULL);
    assert_non_null(shinfo);
    rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t) (uintptr_t) buf, buf_len,
                              shinfo);
    rte_pktmbuf_reset_headroom(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t) len), frame, len);
    m->ol_flags |= flags;
    m->tso_segsz = mss;
    return m;
}

/* The same as a chain of mbufs of 'mp' of at most 1000 bytes each (as
 * rte_vhost hands over a large frame). */
static struct rte_mbuf *
ol_chain(const uint8_t *frame, size_t len, uint64_t flags, uint16_t mss)
{
    struct rte_mbuf *head = NULL, *last = NULL;

    for (size_t off = 0; off < len; off += 1000) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
        size_t n = len - off < 1000 ? len - off : 1000;

        assert_non_null(m);
        memcpy(rte_pktmbuf_append(m, (uint16_t) n), frame + off, n);
        if (!head) {
            head = m;
        } else {
            last->next = m;
            head->nb_segs++;
            head->pkt_len += (uint32_t) n;
        }
        last = m;
    }
    head->ol_flags |= flags;
    head->tso_segsz = mss;
    return head;
}

static void
test_tx_offload_chains(void **state)
{
    static uint8_t frame[20000];
    static struct ol_capture cap;
    struct pkt_offsets o;
    struct pkt_spec s;
    struct port_stats st;
    struct rte_mbuf *m;
    struct port *port;
    const char *why = NULL;
    size_t len;

    (void) state;
    port_ol_enable();
    pkt_spec_init(&s, PKT_L3_IPV4, 6);
    s.payload_len = 12000;
    len = pkt_build_ofs(frame, sizeof frame, &s, &o);

    /* port_pkt_linearize(): the same mbuf, one external buffer, the data
     * and the requests kept. */
    m = ol_chain(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                             | RTE_MBUF_F_TX_IPV4, 1448);
    assert_true(m->nb_segs > 10);
    assert_int_equal(port_pkt_linearize(m), 0);
    assert_int_equal(m->nb_segs, 1);
    assert_int_equal(rte_pktmbuf_data_len(m), len);
    assert_int_equal(rte_pktmbuf_pkt_len(m), len);
    assert_true(RTE_MBUF_HAS_EXTBUF(m));
    assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    assert_int_equal(m->tso_segsz, 1448);
    assert_memory_equal(rte_pktmbuf_mtod(m, void *), frame, len);
    rte_pktmbuf_free(m);
    check_no_leak();

    /* Cut in software from a chain: 9 correct segments. */
    port = open_ok("o2", "dummy",
                   &(struct port_option) { "ring_size", "1024" }, 1, 1);
    m = ol_chain(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                             | RTE_MBUF_F_TX_IPV4, 1448);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 9);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 9);
    for (size_t i = 0; i < 9; i++) {
        assert_true(pkt_check_csums(cap.frames[i], cap.lens[i], &why));
        assert_memory_equal(cap.frames[i] + o.payload,
                            frame + o.payload + i * 1448,
                            cap.lens[i] - o.payload);
    }
    /* To a device that segments: the chain goes whole. */
    __atomic_store_n(&port->tx_ol, PORT_TX_OL_CSUM | PORT_TX_OL_TSO4,
                     __ATOMIC_RELAXED);
    m = ol_chain(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                             | RTE_MBUF_F_TX_IPV4, 1448);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 1);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.lens[0], len);
    assert_memory_equal(cap.frames[0] + o.payload, frame + o.payload,
                        len - o.payload);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_sw_segments, 9);
    assert_int_equal(st.tx_offload_dropped, 0);
    port_close(port);
    check_no_leak();
}

static void
test_tx_offload_software(void **state)
{
    static uint8_t frame[20000], data[20000];
    static struct ol_capture cap;
    struct pkt_offsets o;
    struct pkt_spec s;
    struct port_stats st;
    struct rte_mbuf *m;
    struct port *port;
    const char *why = NULL;
    size_t len, off;

    (void) state;
    port_ol_enable();
    port = open_ok("o0", "dummy",
                   &(struct port_option) { "ring_size", "1024" }, 1, 1);

    /* A TSO packet of 9000 payload bytes, mss 1448: 7 segments, each
     * complete and correct, payloads in order. */
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t) (i * 7 + (i >> 8));
    }
    pkt_spec_init(&s, PKT_L3_IPV4, 6);
    s.payload_len = 9000;
    s.payload = data;
    s.l4.tcp_flags = 0x019;             /* ACK PSH FIN */
    len = pkt_build_ofs(frame, sizeof frame, &s, &o);
    frame[o.l4 + 16] ^= 0x55;           /* A partial sum, say. */
    m = ol_mbuf(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                            | RTE_MBUF_F_TX_IPV4, 1448);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 7);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 7);
    off = 0;
    for (size_t i = 0; i < 7; i++) {
        size_t plen = cap.lens[i] - o.payload;

        if (!pkt_check_csums(cap.frames[i], cap.lens[i], &why)) {
            fail_msg("segment %zu: %s len %zu tot %u", i, why, cap.lens[i], cap.frames[i][16] << 8 | cap.frames[i][17]);
        }
        assert_int_equal(plen, i < 6 ? 1448 : 9000 - 6 * 1448);
        assert_memory_equal(cap.frames[i] + o.payload, data + off, plen);
        /* FIN and PSH on the last only. */
        assert_int_equal(cap.frames[i][o.l4 + 13] & 0x09, i < 6 ? 0 : 0x09);
        off += plen;
    }
    port_get_stats(port, &st);
    assert_int_equal(st.tx_packets, 7);
    assert_int_equal(st.tx_sw_segments, 7);
    assert_int_equal(st.tx_offload_dropped, 0);

    /* Segments larger than an mbuf (mss 3000 > 2048): chained, still
     * whole. */
    m = ol_mbuf(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                            | RTE_MBUF_F_TX_IPV4, 3000);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 3);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(cap.lens[i], o.payload + 3000);
        assert_true(pkt_check_csums(cap.frames[i], cap.lens[i], &why));
        assert_memory_equal(cap.frames[i] + o.payload, data + i * 3000,
                            3000);
    }

    /* A partial UDP checksum over IPv6: completed in place. */
    pkt_spec_init(&s, PKT_L3_IPV6, 17);
    s.payload_len = 333;
    len = pkt_build_ofs(frame, sizeof frame, &s, &o);
    frame[o.l4 + 6] ^= 0xff;
    m = ol_mbuf(frame, len, RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV6, 0);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 1);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.lens[0], len);
    assert_true(pkt_check_csums(cap.frames[0], len, &why));

    /* Requests that cannot be met are dropped and counted: a checksum on
     * ARP, a segment size that makes too many segments; a plain packet
     * in the same burst goes. */
    {
        struct rte_mbuf *b[3];

        pkt_spec_init(&s, PKT_L3_ARP, 0);
        len = pkt_build(frame, sizeof frame, &s);
        b[0] = ol_mbuf(frame, len, RTE_MBUF_F_TX_TCP_CKSUM, 0);
        b[1] = ol_mbuf(frame, len, 0, 0);
        pkt_spec_init(&s, PKT_L3_IPV4, 6);
        s.payload_len = 9000;
        len = pkt_build(frame, sizeof frame, &s);
        b[2] = ol_mbuf(frame, len, RTE_MBUF_F_TX_TCP_SEG
                                   | RTE_MBUF_F_TX_TCP_CKSUM, 8);
        assert_int_equal(port_tx_burst(port, 0, b, 3), 1);
    }
    port_get_stats(port, &st);
    assert_int_equal(st.tx_offload_dropped, 2);
    assert_int_equal(st.tx_dropped, 2);
    assert_int_equal(st.tx_sw_checksums, 1);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);

    port_close(port);
    check_no_leak();
}

static void
test_tx_offload_to_device(void **state)
{
    static uint8_t frame[20000];
    static struct ol_capture cap;
    struct pkt_offsets o;
    struct pkt_spec s;
    struct port_stats st;
    struct rte_mbuf *m;
    struct port *port;
    uint32_t sum = 0;
    size_t len;

    (void) state;
    port_ol_enable();
    port = open_ok("o1", "dummy", NULL, 0, 1);
    /* A device that segments and completes checksums: the packet goes
     * whole, with the pseudo-header sum in its checksum field. */
    __atomic_store_n(&port->tx_ol, PORT_TX_OL_CSUM | PORT_TX_OL_TSO4,
                     __ATOMIC_RELAXED);
    pkt_spec_init(&s, PKT_L3_IPV4, 6);
    s.n_vlans = 1;
    s.vlans[0].tpid = 0x8100;
    s.payload_len = 5000;
    len = pkt_build_ofs(frame, sizeof frame, &s, &o);
    m = ol_mbuf(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                            | RTE_MBUF_F_TX_IPV4, 1448);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 1);
    assert_int_equal(m->l2_len, o.l3);
    assert_int_equal(m->l3_len, o.l4 - o.l3);
    assert_int_equal(m->l4_len, 20);
    assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.lens[0], len);
    /* Pseudo-header: addresses, protocol, TCP length. */
    for (size_t i = o.l3 + 12; i < o.l3 + 20; i += 2) {
        sum += (uint32_t) frame[i] << 8 | frame[i + 1];
    }
    sum += 6 + (uint32_t) (len - o.l4);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_int_equal(cap.frames[0][o.l4 + 16] << 8
                     | cap.frames[0][o.l4 + 17], sum);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_sw_segments, 0);
    assert_int_equal(st.tx_sw_checksums, 0);
    /* Over IPv6 it does not segment: software does. */
    pkt_spec_init(&s, PKT_L3_IPV6, 6);
    s.payload_len = 5000;
    len = pkt_build_ofs(frame, sizeof frame, &s, &o);
    m = ol_mbuf(frame, len, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
                            | RTE_MBUF_F_TX_IPV6, 1448);
    assert_int_equal(port_tx_burst(port, 0, &m, 1), 4);
    assert_int_equal(port_dummy_capture(port, ol_capture_cb, &cap, NULL), 0);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_sw_segments, 4);
    port_close(port);
    check_no_leak();
}

/* ---- dummy ---- */

static void
test_dummy_round_trip(void **state)
{
    struct frames *f = make_frames(200, 5, 60, MAX_FRAME_LEN);
    struct rte_mbuf *pkts[MAX_FRAMES];
    struct capture_ctx c = { .f = f };
    struct port_stats st;
    struct port *port;
    size_t queued, n, captured;
    uint8_t mac[6];

    (void) state;
    port = open_ok("d0", "dummy", NULL, 0, 2);
    assert_string_equal(port_name(port), "d0");
    assert_string_equal(port_type(port), "dummy");
    assert_int_equal(port_n_rxq(port), 1);
    assert_int_equal(port_n_txq(port), 2);
    assert_true(port_link_up(port));
    assert_int_equal(port_get_mtu(port), 1500);
    port_get_mac(port, mac);
    assert_int_equal(mac[0], 0x02);

    assert_int_equal(port_dummy_inject(port, f->ptrs, f->lens, f->n,
                                       &queued), 0);
    assert_int_equal(queued, f->n);
    n = rx_all(port, pkts, f->n);
    assert_int_equal(n, f->n);
    assert_int_equal(port_rx_burst(port, 0, pkts + n, 32), 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(mbuf_equals(pkts[i], f->data[i], f->lens[i]));
    }

    /* Send in bursts of up to 32 on alternating qids. */
    for (size_t i = 0, b = 0; i < n; b++) {
        int k = (int) RTE_MIN(n - i, (size_t) 32);

        assert_int_equal(port_tx_burst(port, (unsigned) (b % 2), pkts + i,
                                       k), k);
        i += (size_t) k;
    }
    assert_int_equal(port_dummy_capture(port, capture_cb, &c, &captured),
                     0);
    assert_int_equal(captured, f->n);
    assert_int_equal(c.next, f->n);
    assert_int_equal(c.mismatches, 0);

    port_get_stats(port, &st);
    assert_int_equal(st.rx_packets, f->n);
    assert_int_equal(st.rx_bytes, frames_bytes(f));
    assert_int_equal(st.tx_packets, f->n);
    assert_int_equal(st.tx_bytes, frames_bytes(f));
    assert_int_equal(st.tx_dropped, 0);
    assert_int_equal(st.rx_dropped, 0);
    assert_int_equal(port_get_dpdk_port_id(port, &(uint16_t) { 0 }),
                     ENOTSUP);

    /* Packets left queued in the port are freed by port_close(). */
    assert_int_equal(port_dummy_inject(port, f->ptrs, f->lens, 10, NULL),
                     0);
    port_close(port);
    port_close(NULL);
    check_no_leak();
    free(f);
}

static void
test_dummy_tx_overflow(void **state)
{
    static const struct port_option opts[] = { { "ring_size", "8" } };
    struct frames *f = make_frames(20, 1, 64, 64);
    struct rte_mbuf *pkts[20];
    struct capture_ctx c = { .f = f };
    struct port_stats st;
    struct port *port;
    size_t captured, queued;

    (void) state;
    port = open_ok("d1", "dummy", opts, 1, 1);
    for (size_t i = 0; i < 20; i++) {
        pkts[i] = frame_mbuf(f, i);
    }
    assert_int_equal(port_tx_burst(port, 0, pkts, 20), 8);
    assert_int_equal(port_tx_burst(port, 0, pkts, 0), 0);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_packets, 8);
    assert_int_equal(st.tx_bytes, 8 * 64);
    assert_int_equal(st.tx_dropped, 12);
    assert_int_equal(port_dummy_capture(port, capture_cb, &c, &captured),
                     0);
    assert_int_equal(captured, 8);
    assert_int_equal(c.mismatches, 0);

    /* The rx ring overflows too: injection reports it. */
    assert_int_equal(port_dummy_inject(port, f->ptrs, f->lens, 20, &queued),
                     ENOBUFS);
    assert_int_equal(queued, 8);
    port_get_stats(port, &st);
    assert_int_equal(st.rx_dropped, 1);

    /* Malformed injections. */
    {
        size_t zero = 0, huge = 70000;
        const void *p = f->data[0];

        assert_int_equal(port_dummy_inject(port, &p, &zero, 1, &queued),
                         EINVAL);
        assert_int_equal(queued, 0);
        assert_int_equal(port_dummy_inject(port, &p, &huge, 1, &queued),
                         EINVAL);
    }
    port_close(port);
    check_no_leak();
    free(f);
}

static void
test_dummy_multi_rxq_and_reconfigure(void **state)
{
    static const struct port_option opts[] = { { "rxq", "4" } };
    static const struct port_option opts2[] = { { "rxq", "2" },
                                                { "mtu", "9000" } };
    struct frames *f = make_frames(120, 12, 60, 200);
    struct rte_mbuf *pkts[32];
    int flow_queue[12];
    size_t total = 0;
    struct port_stats st;
    struct port *port;
    char err[256];

    (void) state;
    port = open_ok("d2", "dummy", opts, 1, 1);
    assert_int_equal(port_n_rxq(port), 4);
    assert_int_equal(port_dummy_inject(port, f->ptrs, f->lens, f->n, NULL),
                     0);
    for (int i = 0; i < 12; i++) {
        flow_queue[i] = -1;
    }
    /* Every flow arrives on exactly one queue, in order. */
    for (unsigned q = 0; q < 4; q++) {
        size_t expect_next[12] = { 0 };
        int n;

        while ((n = port_rx_burst(port, q, pkts, 32)) > 0) {
            for (int i = 0; i < n; i++) {
                int flow = rte_pktmbuf_mtod(pkts[i], uint8_t *)[5];
                size_t idx;

                assert_true(flow < 12);
                if (flow_queue[flow] < 0) {
                    flow_queue[flow] = (int) q;
                }
                assert_int_equal(flow_queue[flow], q);
                idx = (size_t) flow + 12 * expect_next[flow]++;
                assert_true(mbuf_equals(pkts[i], f->data[idx], f->lens[idx]));
            }
            total += (size_t) n;
            port_free_burst(pkts, n);
        }
    }
    assert_int_equal(total, f->n);
    {
        /* Flows are spread: more than one queue is used. */
        int first = flow_queue[0];
        bool spread = false;

        for (int i = 1; i < 12; i++) {
            spread |= flow_queue[i] != first;
        }
        assert_true(spread);
    }

    /* Reconfigure keeps the counters. */
    assert_int_equal(port_set_config(port, opts2, 2, err, sizeof err), 0);
    assert_int_equal(port_reconfigure(port, err, sizeof err), 0);
    assert_int_equal(port_n_rxq(port), 2);
    assert_int_equal(port_get_mtu(port), 9000);
    port_get_stats(port, &st);
    assert_int_equal(st.rx_packets, f->n);
    assert_int_equal(st.rx_bytes, frames_bytes(f));
    assert_int_equal(port_dummy_inject(port, f->ptrs, f->lens, 3, NULL), 0);
    assert_int_equal(rx_all(port, pkts, 3), 3);
    port_free_burst(pkts, 3);
    port_get_stats(port, &st);
    assert_int_equal(st.rx_packets, f->n + 3);

    /* A bad new config leaves the old one in place. */
    assert_int_equal(port_set_config(port, &(struct port_option) {
                                         "rxq", "0" }, 1, err, sizeof err),
                     EINVAL);
    assert_non_null(strstr(err, "rxq"));
    assert_int_equal(port_reconfigure(port, err, sizeof err), 0);
    assert_int_equal(port_n_rxq(port), 2);

    /* A provider-requested reconfiguration is visible. */
    assert_false(port_needs_reconfigure(port));
    port_request_reconfigure(port);
    assert_true(port_needs_reconfigure(port));
    assert_int_equal(port_reconfigure(port, err, sizeof err), 0);
    assert_false(port_needs_reconfigure(port));

    port_close(port);
    check_no_leak();
    free(f);
}

/* ---- option errors ---- */

/* Expects port_open() to fail with 'error' and a message containing each
 * of the given words. */
static void
expect_open_error(const char *type, const struct port_option *opts,
                  size_t n_opts, int error, const char *w1, const char *w2)
{
    struct port_env env = env_n(1);
    struct port *port = (struct port *) 1;
    char err[256] = "";

    assert_int_equal(port_open("bad", type, opts, n_opts, &env, &port, err,
                               sizeof err), error);
    assert_null(port);
    if (!strstr(err, w1) || (w2 && !strstr(err, w2))) {
        print_error("message \"%s\" lacks \"%s\"/\"%s\"\n", err, w1,
                    w2 ? w2 : "");
        fail();
    }
}

static void
test_option_errors(void **state)
{
    struct port_env env = env_n(1);
    struct port *port;

    (void) state;
    expect_open_error("dummy", &(struct port_option) { "bogus", "1" }, 1,
                      EINVAL, "unknown option", "bogus");
    expect_open_error("dpdk", &(struct port_option) { "rxq", "2" }, 1,
                      EINVAL, "missing", "devargs");
    expect_open_error("dpdk", NULL, 0, EINVAL, "devargs", NULL);
    expect_open_error("dpdk", (struct port_option[]) {
                          { "devargs", "net_null9" }, { "rxq", "abc" } }, 2,
                      EINVAL, "rxq", "abc");
    expect_open_error("dpdk", (struct port_option[]) {
                          { "devargs", "net_null9" }, { "txq", "-1" } }, 2,
                      EINVAL, "txq", "not a number");
    expect_open_error("dpdk", (struct port_option[]) {
                          { "devargs", "net_null9" }, { "frob", "1" } }, 2,
                      EINVAL, "frob", "devargs");
    expect_open_error("dummy", &(struct port_option) { "rxq", "0" }, 1,
                      EINVAL, "rxq", "out of range");
    expect_open_error("dummy", &(struct port_option) { "mtu", "99999" }, 1,
                      EINVAL, "mtu", "99999");
    expect_open_error("dummy", &(struct port_option) { "mtu", "" }, 1,
                      EINVAL, "mtu", NULL);
    expect_open_error("dummy", &(struct port_option) { "mtu", "15x" }, 1,
                      EINVAL, "mtu", "15x");
    expect_open_error("dummy", &(struct port_option) { "mtu", NULL }, 1,
                      EINVAL, "value", NULL);
    expect_open_error("tap", &(struct port_option) {
                          "addresses", "10.0.0.1/24,10.0.0.300/24" }, 1,
                      EINVAL, "addresses", "10.0.0.300/24");
    expect_open_error("tap", &(struct port_option) {
                          "addresses", "10.0.0.1/33" }, 1,
                      EINVAL, "addresses", NULL);
    expect_open_error("tap", &(struct port_option) {
                          "addresses", "10.0.0.1" }, 1,
                      EINVAL, "addresses", NULL);
    expect_open_error("tap", &(struct port_option) {
                          "ifname", "a-name-that-is-too-long" }, 1,
                      EINVAL, "ifname", NULL);
    expect_open_error("nosuchtype", NULL, 0, ENOENT, "nosuchtype", NULL);
    expect_open_error("dpdk", &(struct port_option) {
                          "devargs", "net_nosuchdriver0" }, 1,
                      ENODEV, "net_nosuchdriver0", NULL);
    expect_open_error("dpdk", &(struct port_option) { "devargs", "" }, 1,
                      EINVAL, "devargs", NULL);

    /* Empty name and bad environment. */
    assert_int_equal(port_open("", "dummy", NULL, 0, &env, &port, NULL, 0),
                     EINVAL);
    env.n_txq = 0;
    assert_int_equal(port_open("x", "dummy", NULL, 0, &env, &port, NULL, 0),
                     EINVAL);

    /* Registry. */
    assert_int_equal(port_register_class(&port_dummy_class), EEXIST);
    assert_ptr_equal(port_class_lookup("tap"), &port_tap_class);
    assert_null(port_class_lookup("vhostuser"));
    check_no_leak();
}

/* port_open() and port_set_config() check every class's options against
 * the class's table (port_opt_validate()) before the provider sees them. */
static void
test_option_tables_checked(void **state)
{
    const struct port_class *class;
    struct port *port;
    char err[256];

    (void) state;
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        for (const struct port_opt_def *d = class->options; d && d->name;
             d++) {
            struct port_option opts[2] = { { "devargs", "net_null9" } };
            size_t n = !strcmp(class->type, "dpdk") ? 1 : 0;
            char value[32], want[160];

            if (d->type != PORT_OPT_UINT) {
                continue;
            }
            snprintf(value, sizeof value, "%llu",
                     (unsigned long long) d->max + 1);
            opts[n].key = d->name;
            opts[n].value = value;
            snprintf(want, sizeof want, "bad: option %s: must be an integer "
                     "%u..%u (%s is out of range)", d->name,
                     (unsigned) d->min, (unsigned) d->max, value);
            expect_open_error(class->type, opts, n + 1, EINVAL, want, NULL);
        }
    }

    /* Given twice, and a bad change of an open port. */
    expect_open_error("dummy", (struct port_option[]) {
                          { "rxq", "2" }, { "rxq", "3" } }, 2,
                      EINVAL, "bad: option rxq: given twice", NULL);
    port = open_ok("d0", "dummy", &(struct port_option) { "mtu", "9000" },
                   1, 1);
    assert_int_equal(port_set_config(port, &(struct port_option) {
                                         "ring_size", "0" }, 1, err,
                                     sizeof err), EINVAL);
    assert_non_null(strstr(err, "d0: option ring_size: must be an integer "
                                "1..65536"));
    assert_int_equal(port_set_config(port, &(struct port_option) {
                                         "frob", "0" }, 1, err,
                                     sizeof err), EINVAL);
    assert_non_null(strstr(err, "d0: unknown option frob for type dummy "
                                "(expected one of: rxq, mtu, ring_size)"));
    assert_int_equal(port_reconfigure(port, err, sizeof err), 0);
    assert_int_equal(port_get_mtu(port), 9000);
    port_close(port);
    check_no_leak();
}

/* ---- dpdk: net_null, net_ring, net_pcap ---- */

static void
test_dpdk_null(void **state)
{
    static const struct port_option opts[] = {
        { "devargs", "net_null0,no-rx=1" }, { "txq", "1" },
    };
    struct frames *f = make_frames(100, 3, 60, 1000);
    struct rte_mbuf *pkts[100];
    struct port_stats st;
    struct port *port, *dup;
    struct port_env env = env_n(4);
    char err[256];
    uint16_t pid = UINT16_MAX;

    (void) state;
    for (int round = 0; round < 2; round++) {
        /* Four PMDs share the single device tx queue. */
        port = open_ok("n0", "dpdk", opts, 2, 4);
        assert_int_equal(port_n_txq(port), 4);
        assert_true(port->txq_shared);
        assert_int_equal(port_get_dpdk_port_id(port, &pid), 0);
        assert_true(pid < RTE_MAX_ETHPORTS);
        assert_int_equal(port_rx_burst(port, 0, pkts, 32), 0);
        for (size_t i = 0; i < 100; i++) {
            pkts[i] = frame_mbuf(f, i);
        }
        for (unsigned q = 0; q < 4; q++) {
            assert_int_equal(port_tx_burst(port, q, pkts + q * 25, 25), 25);
        }
        port_get_stats(port, &st);
        assert_int_equal(st.tx_packets, 100);
        assert_int_equal(st.tx_bytes, frames_bytes(f));
        assert_int_equal(st.tx_dropped, 0);
        assert_int_equal(st.rx_packets, 0);
        assert_true(port_link_up(port));

        /* The same device cannot be opened twice. */
        dup = NULL;
        assert_int_equal(port_open("n1", "dpdk", opts, 1, &env, &dup, err,
                                   sizeof err), EBUSY);
        assert_non_null(strstr(err, "net_null0"));
        assert_int_equal(port_dummy_inject(port, f->ptrs, f->lens, 1, NULL),
                         EINVAL);
        assert_int_equal(port_dummy_capture(port, NULL, NULL, NULL), EINVAL);
        port_close(port);
        /* The device we probed is gone, and a second round probes it
         * again. */
        assert_int_not_equal(rte_eth_dev_get_port_by_name("net_null0",
                                                          &pid), 0);
    }
    check_no_leak();
    free(f);
}

/* A device the EAL probed (--vdev) is used as is, and after close it can
 * be opened again (by probing it anew). */
static void
test_dpdk_eal_device(void **state)
{
    static const struct port_option opts[] = {
        { "devargs", "net_null5,no-rx=1" },
    };
    uint16_t pid;

    (void) state;
    assert_int_equal(rte_eth_dev_get_port_by_name("net_null5", &pid), 0);
    for (int round = 0; round < 2; round++) {
        struct port *port = open_ok("n5", "dpdk", opts, 1, 1);

        assert_int_equal(port_n_rxq(port), 1);
        assert_true(port_link_up(port));
        port_close(port);
    }
    check_no_leak();
}

static void
test_dpdk_null_rss(void **state)
{
    static const struct port_option opts[] = {
        { "devargs", "net_null1,no-rx=1" }, { "rxq", "2" },
    };
    struct port *port;

    (void) state;
    port = open_ok("n2", "dpdk", opts, 2, 2);
    assert_int_equal(port_n_rxq(port), 2);
    assert_int_equal(port_n_txq(port), 2);
    assert_false(port->txq_shared);
    port_close(port);
    check_no_leak();
}

static void
test_dpdk_ring_loopback(void **state)
{
    static const struct port_option opts[] = { { "devargs", "net_ring0" } };
    struct frames *f = make_frames(64, 4, 60, 1514);
    struct rte_mbuf *pkts[64];
    struct port_stats st;
    struct port *port;

    (void) state;
    port = open_ok("r0", "dpdk", opts, 1, 1);
    for (size_t i = 0; i < 64; i++) {
        pkts[i] = frame_mbuf(f, i);
    }
    assert_int_equal(port_tx_burst(port, 0, pkts, 32), 32);
    assert_int_equal(port_tx_burst(port, 0, pkts + 32, 32), 32);
    assert_int_equal(rx_all(port, pkts, 64), 64);
    for (size_t i = 0; i < 64; i++) {
        assert_true(mbuf_equals(pkts[i], f->data[i], f->lens[i]));
    }
    port_free_burst(pkts, 64);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_packets, 64);
    assert_int_equal(st.rx_packets, 64);
    assert_int_equal(st.rx_bytes, frames_bytes(f));
    assert_int_equal(st.tx_bytes, st.rx_bytes);
    assert_int_equal(st.tx_dropped, 0);

    /* Overfill the ring (1024 slots): what the device refuses is freed
     * and counted, and the byte count covers only what it accepted. */
    {
        uint64_t sent_bytes = 0, sent = 0, rx_n = 0, rx_bytes = 0;
        int n;

        for (int b = 0; b < 40; b++) {
            int ok;

            for (size_t i = 0; i < 32; i++) {
                pkts[i] = frame_mbuf(f, (size_t) (b + (int) i) % 64);
            }
            ok = port_tx_burst(port, 0, pkts, 32);
            for (int i = 0; i < ok; i++) {
                sent_bytes += f->lens[(size_t) (b + i) % 64];
            }
            sent += (uint64_t) ok;
        }
        assert_true(sent < 40 * 32);
        port_get_stats(port, &st);
        assert_int_equal(st.tx_packets, 64 + sent);
        assert_int_equal(st.tx_dropped, 40 * 32 - sent);
        assert_int_equal(st.tx_bytes, frames_bytes(f) + sent_bytes);
        while ((n = port_rx_burst(port, 0, pkts, 32)) > 0) {
            for (int i = 0; i < n; i++) {
                rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
            }
            rx_n += (uint64_t) n;
            port_free_burst(pkts, n);
        }
        assert_int_equal(rx_n, sent);
        assert_int_equal(rx_bytes, sent_bytes);
    }
    port_close(port);
    check_no_leak();
    free(f);
}

/* Two PMD threads share one device tx queue of a net_ring port (whose
 * ring is single-producer): port.c's lock must serialise them.  The main
 * thread receives concurrently and checks that every packet arrives once,
 * intact. */
#define SHARED_PER_THREAD 5000

struct sender {
    struct port *port;
    unsigned qid;
    const struct frames *f;
};

static void *
sender_main(void *aux_)
{
    struct sender *s = aux_;

    for (uint32_t k = 0; k < SHARED_PER_THREAD; k += 32) {
        struct rte_mbuf *pkts[32];
        int n = 0;

        for (uint32_t j = k; j < k + 32 && j < SHARED_PER_THREAD; j++) {
            const struct frames *f = s->f;
            uint32_t id = s->qid * SHARED_PER_THREAD + j;
            struct rte_mbuf *m;
            char *p;

            while (!(m = rte_pktmbuf_alloc(mp))) {
                sched_yield();  /* The receiver frees mbufs. */
            }
            p = rte_pktmbuf_append(m, (uint16_t) f->lens[j % 64]);
            memcpy(p, f->data[j % 64], f->lens[j % 64]);
            memcpy(p + 14, &id, 4);
            pkts[n++] = m;
        }
        port_tx_burst(s->port, s->qid, pkts, n);
    }
    return NULL;
}

/* White-box check that a shared queue is locked: with the device queue's
 * lock held by the test, a send on another qid must wait for it. */
struct blocked_send {
    struct port *port;
    struct rte_mbuf *m;
    int returned;
};

static void *
blocked_send_main(void *aux_)
{
    struct blocked_send *b = aux_;

    port_tx_burst(b->port, 1, &b->m, 1);
    __atomic_store_n(&b->returned, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void
check_send_waits_for_lock(struct port *port, const struct frames *f)
{
    struct blocked_send b = { port, frame_mbuf(f, 0), 0 };
    pthread_t th;

    rte_spinlock_lock(&port->txq_locks[0].lock);
    assert_int_equal(pthread_create(&th, NULL, blocked_send_main, &b), 0);
    usleep(20000);
    assert_int_equal(__atomic_load_n(&b.returned, __ATOMIC_ACQUIRE), 0);
    rte_spinlock_unlock(&port->txq_locks[0].lock);
    pthread_join(th, NULL);
    assert_int_equal(b.returned, 1);
}

static void
test_dpdk_shared_txq(void **state)
{
    static const struct port_option opts[] = {
        { "devargs", "net_ring1" }, { "txq", "1" },
    };
    struct frames *f = make_frames(64, 4, 60, 300);
    uint8_t *seen = calloc(2 * SHARED_PER_THREAD, 1);
    struct sender snd[2];
    pthread_t th[2];
    struct port_stats st;
    struct port *port;
    uint64_t received = 0, bad = 0;
    int done = 0;

    (void) state;
    assert_non_null(seen);
    port = open_ok("r1", "dpdk", opts, 2, 2);
    assert_true(port->txq_shared);
    check_send_waits_for_lock(port, f);
    {
        struct rte_mbuf *m;

        assert_int_equal(port_rx_burst(port, 0, &m, 1), 1);
        assert_true(mbuf_equals(m, f->data[0], f->lens[0]));
        rte_pktmbuf_free(m);
    }
    for (unsigned t = 0; t < 2; t++) {
        snd[t] = (struct sender) { port, t, f };
        assert_int_equal(pthread_create(&th[t], NULL, sender_main, &snd[t]),
                         0);
    }
    /* A deadline, not an iteration count: on a loaded machine the three
     * threads share two CPUs and the receiver may spin long. */
    time_t deadline = time(NULL) + 60;

    for (int idle = 0; idle < 2000;) {
        if (time(NULL) > deadline) {
            fail_msg("senders did not finish in 60 s");
        }
        struct rte_mbuf *pkts[32];
        int n = port_rx_burst(port, 0, pkts, 32);

        for (int i = 0; i < n; i++) {
            uint8_t *p = rte_pktmbuf_mtod(pkts[i], uint8_t *);
            uint32_t id;
            size_t k;

            memcpy(&id, p + 14, 4);
            k = id % SHARED_PER_THREAD % 64;
            if (id >= 2 * SHARED_PER_THREAD || seen[id]
                || rte_pktmbuf_pkt_len(pkts[i]) != f->lens[k]
                || memcmp(p, f->data[k], 14)
                || memcmp(p + 18, f->data[k] + 18, f->lens[k] - 18)) {
                bad++;
            } else {
                seen[id] = 1;
            }
        }
        port_free_burst(pkts, n);
        received += (uint64_t) n;
        if (!done && !n) {
            /* Senders still running?  Join once both are finished. */
            port_get_stats(port, &st);
            if (st.tx_packets + st.tx_dropped
                == 2 * SHARED_PER_THREAD + 1) {
                pthread_join(th[0], NULL);
                pthread_join(th[1], NULL);
                done = 1;
            }
        }
        if (done && !n) {
            idle++;
        }
    }
    port_get_stats(port, &st);
    assert_int_equal(bad, 0);
    assert_int_equal(st.tx_packets + st.tx_dropped,
                     2 * SHARED_PER_THREAD + 1);
    assert_int_equal(received + 1, st.tx_packets);
    assert_true(st.tx_packets > 0);
    port_close(port);
    check_no_leak();
    free(seen);
    free(f);
}

static void
put_u32(FILE *fp, uint32_t v)
{
    assert_int_equal(fwrite(&v, 4, 1, fp), 1);
}

/* Writes 'f' as a pcap file, by hand. */
static void
write_pcap(const char *path, const struct frames *f)
{
    FILE *fp = fopen(path, "wb");
    uint16_t ver[2] = { 2, 4 };

    assert_non_null(fp);
    put_u32(fp, 0xa1b2c3d4);
    assert_int_equal(fwrite(ver, 2, 2, fp), 2);
    put_u32(fp, 0);         /* thiszone */
    put_u32(fp, 0);         /* sigfigs */
    put_u32(fp, 65535);     /* snaplen */
    put_u32(fp, 1);         /* Ethernet */
    for (size_t i = 0; i < f->n; i++) {
        put_u32(fp, 1000 + (uint32_t) i);
        put_u32(fp, 0);
        put_u32(fp, (uint32_t) f->lens[i]);
        put_u32(fp, (uint32_t) f->lens[i]);
        assert_int_equal(fwrite(f->data[i], 1, f->lens[i], fp), f->lens[i]);
    }
    assert_int_equal(fclose(fp), 0);
}

/* Reads a pcap file and compares it with 'f'; returns records read. */
static size_t
check_pcap(const char *path, const struct frames *f)
{
    FILE *fp = fopen(path, "rb");
    uint32_t hdr[6], rec[4];
    uint8_t buf[65536];
    size_t n = 0;

    assert_non_null(fp);
    assert_int_equal(fread(hdr, 4, 6, fp), 6);
    assert_true(hdr[0] == 0xa1b2c3d4 || hdr[0] == 0xa1b23c4d);
    assert_int_equal(hdr[5], 1);
    while (fread(rec, 4, 4, fp) == 4) {
        assert_true(rec[2] <= sizeof buf);
        assert_int_equal(fread(buf, 1, rec[2], fp), rec[2]);
        assert_true(n < f->n);
        assert_int_equal(rec[2], f->lens[n]);
        assert_memory_equal(buf, f->data[n], rec[2]);
        n++;
    }
    fclose(fp);
    return n;
}

static void
test_dpdk_pcap(void **state)
{
    struct frames *f = make_frames(50, 5, 60, 1514);
    struct rte_mbuf *pkts[50];
    char in[128], out[128], devargs[320];
    struct port_option opts[1] = { { "devargs", devargs } };
    struct port_stats st;
    struct port *port;

    (void) state;
    snprintf(in, sizeof in, "%s/in.pcap", tmpdir);
    snprintf(out, sizeof out, "%s/out.pcap", tmpdir);
    snprintf(devargs, sizeof devargs, "net_pcap0,rx_pcap=%s,tx_pcap=%s",
             in, out);
    write_pcap(in, f);

    port = open_ok("p0", "dpdk", opts, 1, 1);
    assert_int_equal(rx_all(port, pkts, 50), 50);
    for (size_t i = 0; i < 50; i++) {
        assert_true(mbuf_equals(pkts[i], f->data[i], f->lens[i]));
    }
    assert_int_equal(port_rx_burst(port, 0, pkts, 32), 0);
    assert_int_equal(port_tx_burst(port, 0, pkts, 50), 50);
    port_get_stats(port, &st);
    assert_int_equal(st.rx_packets, 50);
    assert_int_equal(st.rx_bytes, frames_bytes(f));
    assert_int_equal(st.tx_packets, 50);
    assert_int_equal(st.tx_bytes, frames_bytes(f));
    port_close(port);   /* Flushes the tx pcap. */
    assert_int_not_equal(rte_eth_dev_get_port_by_name("net_pcap0",
                                                      &(uint16_t) { 0 }), 0);

    assert_int_equal(check_pcap(out, f), 50);
    unlink(in);
    unlink(out);
    check_no_leak();
    free(f);
}

/* net_tap and net_af_packet need root: open, check, close. */
static void
test_dpdk_kernel_vdevs(void **state)
{
    char tapargs[64], ifname[IFNAMSIZ];
    struct port_option tap_opts[] = {
        { "devargs", tapargs }, { "mtu", "1400" },
    };
    static const struct port_option afp_opts[] = {
        { "devargs", "net_af_packet0,iface=lo" },
    };
    struct frames *f = make_frames(4, 1, 60, 100);
    struct rte_mbuf *pkts[4];
    struct port_stats st;
    struct port *port;

    (void) state;
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
        free(f);
        skip();
    }
    snprintf(ifname, sizeof ifname, "sldt%d", (int) (getpid() % 100000));
    snprintf(tapargs, sizeof tapargs, "net_tap0,iface=%s", ifname);
    port = open_ok("dt0", "dpdk", tap_opts, 2, 1);
    assert_int_equal(port_get_mtu(port), 1400);
    assert_true(if_nametoindex(ifname) != 0);
    for (size_t i = 0; i < 4; i++) {
        pkts[i] = frame_mbuf(f, i);
    }
    assert_int_equal(port_tx_burst(port, 0, pkts, 4), 4);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_packets, 4);
    port_close(port);
    assert_int_equal(if_nametoindex(ifname), 0);

    port = open_ok("da0", "dpdk", afp_opts, 1, 1);
    assert_true(port_link_up(port));
    port_close(port);
    check_no_leak();
    free(f);
}

/* ---- tap ---- */

static bool
tap_available(void)
{
    int fd = open("/dev/net/tun", O_RDWR);
    struct ifreq ifr;
    bool ok;

    if (fd < 0) {
        return false;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "sltprobe%d",
             (int) (getpid() % 10000));
    ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
    close(fd);
    return ok;
}

/* Returns the output of 'cmd' in 'buf'. */
static void
run_capture(const char *cmd, char *buf, size_t size)
{
    FILE *p = popen(cmd, "r");
    size_t n;

    assert_non_null(p);
    n = fread(buf, 1, size - 1, p);
    buf[n] = '\0';
    pclose(p);
}

static uint64_t
sys_counter(const char *ifname, const char *name)
{
    char path[128];
    unsigned long long v = 0;
    FILE *fp;

    snprintf(path, sizeof path, "/sys/class/net/%s/statistics/%s", ifname,
             name);
    fp = fopen(path, "r");
    if (fp) {
        if (fscanf(fp, "%llu", &v) != 1) {
            v = 0;
        }
        fclose(fp);
    }
    return v;
}

static void
test_tap(void **state)
{
    char ifname[IFNAMSIZ], cmd[128], out[4096];
    struct port_option opts[] = {
        { "ifname", ifname }, { "mtu", "1400" },
        { "addresses", "10.251.7.1/24,fd00:5a1::1/64" },
    };
    struct rte_mbuf *pkts[32];
    struct port_stats st;
    struct port *port;
    uint8_t mac[6];
    uint64_t kernel_rx;
    bool got_arp = false;
    int s;

    (void) state;
    if (!tap_available()) {
        skip();
    }
    snprintf(ifname, sizeof ifname, "sltap%d", (int) (getpid() % 100000));
    port = open_ok("t0", "tap", opts, 3, 2);
    assert_int_equal(port_n_rxq(port), 1);
    assert_true(port_link_up(port));
    assert_int_equal(port_get_mtu(port), 1400);
    port_get_mac(port, mac);
    assert_true(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);

    snprintf(cmd, sizeof cmd, "ip -o addr show dev %s 2>&1", ifname);
    run_capture(cmd, out, sizeof out);
    assert_non_null(strstr(out, "10.251.7.1/24"));
    assert_non_null(strstr(out, "fd00:5a1::1/64"));
    snprintf(cmd, sizeof cmd, "ip -o link show dev %s 2>&1", ifname);
    run_capture(cmd, out, sizeof out);
    assert_non_null(strstr(out, "mtu 1400"));
    assert_non_null(strstr(out, ",UP"));

    /* Make the kernel send an ARP request out of the tap. */
    s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(s >= 0);
    {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons(9) };

        inet_pton(AF_INET, "10.251.7.2", &sin.sin_addr);
        sendto(s, "x", 1, 0, (struct sockaddr *) &sin, sizeof sin);
    }
    for (int iter = 0; iter < 2000 && !got_arp; iter++) {
        int n = port_rx_burst(port, 0, pkts, 32);

        for (int i = 0; i < n; i++) {
            const uint8_t *p = rte_pktmbuf_mtod(pkts[i], const uint8_t *);

            if (rte_pktmbuf_pkt_len(pkts[i]) >= 42 && p[12] == 0x08
                && p[13] == 0x06 && !memcmp(p + 6, mac, 6)) {
                got_arp = true;
            }
        }
        port_free_burst(pkts, n);
        if (!got_arp) {
            usleep(500);
        }
    }
    close(s);
    assert_true(got_arp);

    /* Transmit: the kernel sees the frames arrive. */
    kernel_rx = sys_counter(ifname, "rx_packets");
    {
        struct frames *f = make_frames(10, 1, 60, 1400);

        for (size_t i = 0; i < 10; i++) {
            pkts[i] = frame_mbuf(f, i);
        }
        assert_int_equal(port_tx_burst(port, 1, pkts, 10), 10);
        free(f);
    }
    assert_int_equal(sys_counter(ifname, "rx_packets") - kernel_rx, 10);
    port_get_stats(port, &st);
    assert_int_equal(st.tx_packets, 10);
    assert_true(st.rx_packets >= 1);

    port_close(port);
    assert_int_equal(if_nametoindex(ifname), 0);
    check_no_leak();
}

/* ---- main ---- */

static int
group_setup(void **state)
{
    char prefix[64];
    char *argv[] = {
        "test-port", "--no-huge", "-m", "256", "--file-prefix", prefix,
        "--no-pci", "--log-level=*:error", "--no-telemetry",
        "--vdev=net_null5,no-rx=1", NULL,
    };
    int argc = (int) (sizeof argv / sizeof argv[0]) - 1;

    (void) state;
    snprintf(prefix, sizeof prefix, "test-port-%d", (int) getpid());
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test-port-%d", (int) getpid());
    if (mkdir(tmpdir, 0700) && errno != EEXIST) {
        print_error("cannot create %s\n", tmpdir);
        return -1;
    }
    if (rte_eal_init(argc, argv) < 0) {
        print_error("rte_eal_init failed\n");
        return -1;
    }
    port_init_classes();
    mp = eal_test_mempool("test_port_mp", N_MBUFS, 0);
    return mp ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void) state;
    rte_mempool_free(mp);
    rmdir(tmpdir);
    eal_test_cleanup();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dummy_round_trip),
        cmocka_unit_test(test_tx_offload_software),
        cmocka_unit_test(test_tx_offload_to_device),
        cmocka_unit_test(test_tx_offload_chains),
        cmocka_unit_test(test_dummy_tx_overflow),
        cmocka_unit_test(test_dummy_multi_rxq_and_reconfigure),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_option_tables_checked),
        cmocka_unit_test(test_dpdk_null),
        cmocka_unit_test(test_dpdk_null_rss),
        cmocka_unit_test(test_dpdk_eal_device),
        cmocka_unit_test(test_dpdk_ring_loopback),
        cmocka_unit_test(test_dpdk_shared_txq),
        cmocka_unit_test(test_dpdk_pcap),
        cmocka_unit_test(test_dpdk_kernel_vdevs),
        cmocka_unit_test(test_tap),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
