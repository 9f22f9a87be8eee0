/* SPDX-License-Identifier: BSD-3-Clause */
/* test-simnic.c: the simulated SmartNIC: rejections, capacity, injected
 * failures, receive-side hits (drop, rewrite + output, MARK), hardware
 * output counted by the output port, aging, agreement with the megaflow
 * it was translated from, encapsulation (VXLAN_ENCAP, RAW_ENCAP) and
 * decapsulation (VXLAN_DECAP, RAW_DECAP). */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_flow.h>
#include <rte_mbuf.h>

#include "offload.h"
#include "offload-provider.h"
#include "pkt-build.h"
#include "eal-test.h"
#include "port.h"
#include "port-dummy.h"
#include "simnic.h"
#include "tnl.h"

static struct rte_mempool *mp;
static struct port *p0, *p1;
static struct simnic *nic;
static uint16_t id0, id1;

#define N(A) (sizeof (A) / sizeof (A)[0])

static struct rte_mbuf *
mbuf_of(const struct pkt_spec *spec)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    uint8_t buf[256];
    size_t len = pkt_build(buf, sizeof buf, spec);

    assert_non_null(m);
    assert_true(len > 0);
    memcpy(rte_pktmbuf_append(m, (uint16_t) len), buf, len);
    return m;
}

struct cap {
    uint8_t frames[8][256];
    size_t lens[8];
    size_t n;
};

static void
capture_cb(const void *frame, size_t len, void *c_)
{
    struct cap *c = c_;

    if (c->n < 8 && len <= 256) {
        memcpy(c->frames[c->n], frame, len);
        c->lens[c->n++] = len;
    }
}

static void
drop_capture_cb(const void *frame, size_t len, void *aux)
{
    (void) frame;
    (void) len;
    (void) aux;
}

/* ---- Rejections. ---- */

static void
test_rejections(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr egress = { .egress = 1 };
    struct rte_flow_attr group = { .ingress = 1, .group = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_ipv4 ip = { .hdr.hdr_checksum = 1 };
    struct rte_flow_item_ipv4 ipm = { .hdr.hdr_checksum = 0xffff };
    struct rte_flow_item_eth eth = { 0 };
    struct rte_flow_item eth_only[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item ranged[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth, .last = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item vxlan[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item cksum[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ipm },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item l4_first[] = {
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_ethdev out = { .port_id = 1 };
    struct rte_flow_action_set_mac mac = { { 1, 2, 3, 4, 5, 6 } };
    struct rte_flow_action_set_tp tp = { .port = 1 };
    struct rte_flow_action_mark mark = { .id = 3 };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action meter[] = {
        { .type = RTE_FLOW_ACTION_TYPE_METER },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action two_fates[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action rewrite_drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_SET_MAC_DST, .conf = &mac },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action out_only[] = {
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action tp_no_l4[] = {
        { .type = RTE_FLOW_ACTION_TYPE_SET_TP_DST, .conf = &tp },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action none[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action mark_only[] = {
        { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    const struct {
        const struct rte_flow_attr *attr;
        const struct rte_flow_item *items;
        const struct rte_flow_action *actions;
        int err;
        const char *msg;
    } cases[] = {
        { &egress, eth_only, drop, EOPNOTSUPP, "egress" },
        { &group, eth_only, drop, EOPNOTSUPP, "group" },
        { &ingress, ranged, drop, EOPNOTSUPP, "last" },
        { &ingress, vxlan, drop, EOPNOTSUPP, "VXLAN must follow UDP" },
        { &ingress, cksum, drop, EOPNOTSUPP, "checksum" },
        { &ingress, l4_first, drop, EOPNOTSUPP, "must follow" },
        { &ingress, eth_only, meter, EOPNOTSUPP, "action type" },
        { &transfer, eth_only, two_fates, EOPNOTSUPP, "more than one" },
        { &ingress, eth_only, rewrite_drop, EOPNOTSUPP, "output port" },
        { &ingress, eth_only, out_only, EOPNOTSUPP, "transfer" },
        { &transfer, eth_only, tp_no_l4, EOPNOTSUPP, "SET_TP" },
        { &ingress, eth_only, none, EINVAL, "no fate" },
    };
    struct simnic_rule *r;

    (void) state;
    for (size_t i = 0; i < N(cases); i++) {
        struct rte_flow_error e;

        memset(&e, 0, sizeof e);
        assert_int_equal(simnic_flow_create(nic, id0, cases[i].attr,
                                            cases[i].items,
                                            cases[i].actions, &r, &e),
                         cases[i].err);
        assert_null(r);
        assert_non_null(e.message);
        if (!strstr(e.message, cases[i].msg)) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.message,
                     cases[i].msg);
        }
    }
    /* A MARK alone is a valid (partial) rule. */
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, eth_only,
                                        mark_only, &r, NULL), 0);
    simnic_flow_destroy(nic, r, NULL, NULL);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* ---- Capacity and injected failures. ---- */

static void
test_capacity_and_failures(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_item_udp udp[4], udpm = { .hdr.dst_port = 0xffff };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .mask = &udpm },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct simnic_params p = { .capacity = 2 };
    struct simnic_rule *r[4];
    struct simnic_stats s;
    struct rte_flow_error e;

    (void) state;
    simnic_set_params(nic, &p);
    for (int i = 0; i < 3; i++) {
        memset(&udp[i], 0, sizeof udp[i]);
        udp[i].hdr.dst_port = htons((uint16_t) (100 + i));
        pat[2].spec = &udp[i];
        assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat, drop,
                                            &r[i], &e),
                         i < 2 ? 0 : ENOSPC);
    }
    assert_non_null(strstr(e.message, "full"));
    /* The same rule twice. */
    simnic_flow_destroy(nic, r[1], NULL, NULL);
    pat[2].spec = &udp[0];
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat, drop,
                                        &r[3], &e), EEXIST);
    simnic_fail_next(nic, 1);
    pat[2].spec = &udp[2];
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat, drop,
                                        &r[3], &e), EIO);
    assert_non_null(strstr(e.message, "injected"));
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat, drop,
                                        &r[3], &e), 0);
    simnic_get_stats(nic, &s);
    assert_int_equal(s.rules, 2);
    assert_true(s.table_full >= 1);
    assert_true(s.insert_failed >= 1);
    /* A NIC that refuses destroys keeps the rules: one refused destroy,
     * then a flush that gets one refusal and removes the other rule. */
    simnic_fail_destroy(nic, 2);
    assert_int_equal(simnic_flow_destroy(nic, r[0], NULL, NULL), EIO);
    assert_int_equal(simnic_port_n_rules(nic, id0), 2);
    assert_int_equal(simnic_flow_flush(nic, id0), 1);
    assert_int_equal(simnic_port_n_rules(nic, id0), 1);
    simnic_get_stats(nic, &s);
    assert_int_equal(s.destroy_failed, 2);
    assert_int_equal(simnic_flow_flush(nic, id0), 1);
    assert_int_equal(simnic_n_rules(nic), 0);
    p.capacity = 64;
    simnic_set_params(nic, &p);
}

/* ---- Receive side. ---- */

static void
test_rx_drop_rewrite_mark_miss(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_ethdev src = { .port_id = 0 };
    struct rte_flow_item_ipv4 ip = { .hdr.dst_addr = RTE_BE32(0x0a000002) };
    struct rte_flow_item_ipv4 ipm = { .hdr.dst_addr = RTE_BE32(0xffffffff) };
    struct rte_flow_item_udp u1 = { .hdr.dst_port = RTE_BE16(1) };
    struct rte_flow_item_udp u2 = { .hdr.dst_port = RTE_BE16(2) };
    struct rte_flow_item_udp u3 = { .hdr.dst_port = RTE_BE16(3) };
    struct rte_flow_item_udp um = { .hdr.dst_port = RTE_BE16(0xffff) };
    struct rte_flow_item pat_drop[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ipm },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &u1, .mask = &um },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item pat_out[] = {
        { .type = RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, .spec = &src },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ipm },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &u2, .mask = &um },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item pat_mark[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &u3, .mask = &um },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_set_ipv4 sip = {
        .ipv4_addr = RTE_BE32(0xc0a80101),
    };
    struct rte_flow_action_set_tp stp = { .port = RTE_BE16(4444) };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action_mark mark = { .id = 99 };
    struct rte_flow_action_queue q = { .index = 0 };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action fwd[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, .conf = &sip },
        { .type = RTE_FLOW_ACTION_TYPE_DEC_TTL },
        { .type = RTE_FLOW_ACTION_TYPE_SET_TP_SRC, .conf = &stp },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action part[] = {
        { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
        { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct simnic_rule *rd, *rf, *rm;
    struct rte_mbuf *pkts[4];
    struct pkt_spec spec;
    struct rte_flow_error e;
    uint64_t packets, bytes;
    uint8_t want[256];
    size_t want_len;
    struct cap cap = { .n = 0 };

    (void) state;
    src.port_id = id0;
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat_drop, drop,
                                        &rd, &e), 0);
    assert_int_equal(simnic_flow_create(nic, id0, &transfer, pat_out, fwd,
                                        &rf, &e), 0);
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat_mark, part,
                                        &rm, &e), 0);

    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    for (int i = 0; i < 4; i++) {
        spec.l4.dst = (uint16_t) (i + 1);     /* 1 drop 2 fwd 3 mark 4 miss */
        pkts[i] = mbuf_of(&spec);
    }
    assert_int_equal(simnic_rx(nic, id0, pkts, 4), 2);
    /* Marked first (order kept), then the miss. */
    assert_true(pkts[0]->ol_flags & RTE_MBUF_F_RX_FDIR_ID);
    assert_true(pkts[0]->ol_flags & RTE_MBUF_F_RX_FDIR);
    assert_int_equal(pkts[0]->hash.fdir.hi, 99);
    assert_false(pkts[1]->ol_flags & RTE_MBUF_F_RX_FDIR_ID);
    rte_pktmbuf_free(pkts[0]);
    rte_pktmbuf_free(pkts[1]);

    simnic_flow_query(nic, rd, &packets, &bytes);
    assert_int_equal(packets, 1);
    assert_true(bytes > 40);
    /* The forwarded one left on p1, rewritten with correct checksums:
     * compare with the frame built directly with the new fields. */
    assert_int_equal(port_dummy_capture(p1, capture_cb, &cap, NULL), 0);
    assert_int_equal(cap.n, 1);
    spec.l4.dst = 2;
    spec.ipv4.src = 0xc0a80101;
    spec.ipv4.ttl = 63;
    spec.l4.src = 4444;
    want_len = pkt_build(want, sizeof want, &spec);
    assert_int_equal(cap.lens[0], want_len);
    assert_memory_equal(cap.frames[0], want, want_len);

    /* Packets on p1 do not match p0's rules. */
    spec.l4.dst = 1;
    pkts[0] = mbuf_of(&spec);
    assert_int_equal(simnic_rx(nic, id1, pkts, 1), 1);
    rte_pktmbuf_free(pkts[0]);

    simnic_flow_destroy(nic, rf, &packets, &bytes);
    assert_int_equal(packets, 1);
    simnic_flow_destroy(nic, rd, NULL, NULL);
    simnic_flow_destroy(nic, rm, NULL, NULL);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* ---- Hardware output through the port layer. ---- */

/* Forwards 'n' packets from id0 to NIC port 'out' with a transfer rule. */
static void
forward_burst(uint16_t out, int n, uint32_t *len)
{
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_ethdev src = { .port_id = id0 };
    struct rte_flow_action_ethdev dst = { .port_id = out };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, .spec = &src },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action fwd[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &dst },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_mbuf *pkts[64];
    struct simnic_rule *r;
    struct rte_flow_error e;
    struct pkt_spec spec;

    assert_true(n <= 64);
    assert_int_equal(simnic_flow_create(nic, id0, &transfer, pat, fwd, &r,
                                        &e), 0);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    for (int i = 0; i < n; i++) {
        spec.l4.dst = (uint16_t) (100 + i);
        pkts[i] = mbuf_of(&spec);
    }
    *len = rte_pktmbuf_pkt_len(pkts[0]);
    /* More than one hardware tx burst (SIMNIC_TX_BURST). */
    assert_int_equal(simnic_rx(nic, id0, pkts, n), 0);
    simnic_flow_destroy(nic, r, NULL, NULL);
}

/* What the NIC forwards is counted by the output port as hardware tx (not
 * software tx); what the port refuses as tx_dropped, and by the NIC as
 * hw_tx_failed. */
static void
test_hw_output_counted_by_port(void **state)
{
    struct port_option opt = { .key = "ring_size", .value = "8" };
    struct port_env env = { .socket_id = -1, .n_txq = 1, .mp = mp };
    struct port_stats before, after;
    struct simnic_stats nb, na;
    struct port *p2;
    char err[256];
    uint32_t len;
    uint16_t id2;
    size_t n;

    (void) state;
    port_get_stats(p1, &before);
    simnic_get_stats(nic, &nb);
    forward_burst(id1, 40, &len);
    port_get_stats(p1, &after);
    simnic_get_stats(nic, &na);
    assert_int_equal(after.hw_tx_packets - before.hw_tx_packets, 40);
    assert_int_equal(after.hw_tx_bytes - before.hw_tx_bytes, 40 * len);
    assert_int_equal(after.tx_packets, before.tx_packets);
    assert_int_equal(after.tx_dropped, before.tx_dropped);
    assert_int_equal(na.hw_forwarded - nb.hw_forwarded, 40);
    assert_int_equal(na.hw_tx_failed, nb.hw_tx_failed);
    assert_int_equal(port_dummy_capture(p1, drop_capture_cb, NULL, &n), 0);
    assert_int_equal(n, 40);

    /* A port whose tx ring holds 8: 8 leave, 32 are refused. */
    assert_int_equal(port_open("p2", "dummy", &opt, 1, &env, &p2, err,
                               sizeof err), 0);
    assert_int_equal(simnic_port_attach(nic, p2, &id2), 0);
    simnic_get_stats(nic, &nb);
    forward_burst(id2, 40, &len);
    port_get_stats(p2, &after);
    simnic_get_stats(nic, &na);
    assert_int_equal(after.hw_tx_packets, 8);
    assert_int_equal(after.tx_packets, 0);
    assert_int_equal(after.tx_dropped, 32);
    assert_int_equal(na.hw_forwarded - nb.hw_forwarded, 8);
    assert_int_equal(na.hw_tx_failed - nb.hw_tx_failed, 32);

    simnic_port_detach(nic, id2);
    port_close(p2);
    assert_int_equal(simnic_n_rules(nic), 0);
}

static void
test_aging(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_age age = { .timeout = 1,
                                       .context = (void *) 0x77 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_AGE, .conf = &age },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct simnic_rule *r;
    struct rte_mbuf *m;
    struct pkt_spec spec;
    void *ctx[4];

    (void) state;
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat, acts, &r,
                                        NULL), 0);
    assert_int_equal(simnic_get_aged_flows(nic, id0, ctx, 4), 0);
    usleep(600 * 1000);
    /* A hit restarts the timer. */
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    m = mbuf_of(&spec);
    assert_int_equal(simnic_rx(nic, id0, &m, 1), 0);
    usleep(600 * 1000);
    assert_int_equal(simnic_get_aged_flows(nic, id0, ctx, 4), 0);
    usleep(500 * 1000);
    assert_int_equal(simnic_get_aged_flows(nic, id0, ctx, 4), 1);
    assert_ptr_equal(ctx[0], (void *) 0x77);
    /* Reported once; other ports see nothing. */
    assert_int_equal(simnic_get_aged_flows(nic, id0, ctx, 4), 0);
    assert_int_equal(simnic_get_aged_flows(nic, id1, ctx, 4), 0);
    simnic_flow_destroy(nic, r, NULL, NULL);
}

/* ---- Property: a rule translated from a megaflow matches exactly the
 * packets the megaflow matches (oracle: flow_equal_masked on the parsed
 * key, what software does). ---- */

static uint32_t rng = 12345;

static uint32_t
rnd(uint32_t n)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) % n;
}

static void
random_packet(struct pkt_spec *s)
{
    static const uint8_t protos[] = { IPPROTO_UDP_, IPPROTO_TCP_,
                                      IPPROTO_SCTP_, IPPROTO_ICMP_ };
    bool v6 = rnd(3) == 0;
    uint8_t proto = protos[rnd(4)];

    if (v6 && proto == IPPROTO_ICMP_) {
        proto = IPPROTO_ICMPV6_;
    }
    pkt_spec_init(s, v6 ? PKT_L3_IPV6 : PKT_L3_IPV4, proto);
    s->ipv4.src = 0x0a000001 + rnd(2);
    s->ipv4.dst = 0x0a000002 + rnd(2);
    s->ipv4.ttl = (uint8_t) (63 + rnd(2));
    s->ipv4.tos = (uint8_t) (rnd(2) << 2);
    s->ipv6.src[15] = (uint8_t) (1 + rnd(2));
    s->ipv6.hlimit = (uint8_t) (63 + rnd(2));
    s->l4.src = (uint16_t) (1000 + rnd(2));
    s->l4.dst = (uint16_t) (2000 + rnd(2));
    s->l4.icmp_type = (uint8_t) (rnd(2) ? 8 : 0);
    s->l4.tcp_flags = rnd(2) ? 0x10 : 0x02;
    s->dl_dst[5] = (uint8_t) (2 + rnd(2));
}

static void
random_megaflow(const struct flow *key, struct flow *f, struct flow *m)
{
    memset(m, 0, sizeof *m);
    m->in_port = UINT32_MAX;
    if (rnd(2)) {
        memset(m->dl_dst, 0xff, 6);
    }
    if (rnd(4)) {
        m->dl_type = 0xffff;
        if (rnd(2)) {
            m->nw_src = UINT32_MAX;
            memset(m->ipv6_src, 0xff, 16);
        }
        if (rnd(2)) {
            m->nw_dst = htonl(0xffffff00);
        }
        if (rnd(3) == 0) {
            m->nw_ttl = 0xff;
        }
        if (rnd(3) == 0) {
            m->nw_tos = 0xfc;
        }
        if (rnd(2)) {
            m->nw_proto = 0xff;
            if (rnd(2)) {
                m->tp_src = 0xffff;
            }
            if (rnd(2)) {
                m->tp_dst = 0xffff;
            }
            if (key->nw_proto == IPPROTO_TCP_ && rnd(3) == 0) {
                m->tcp_flags = htons(0x12);
            }
        }
    }
    if (key->dl_type != htons(ETH_TYPE_IPV6)) {
        memset(m->ipv6_src, 0, 16);
    } else {
        m->nw_src = m->nw_dst = 0;
    }
    flow_apply_mask(f, key, m);
}

static void
test_translation_agrees_with_megaflow(void **state)
{
    static const struct offload_caps caps = {
        .full = true, .count = true,
    };
    struct offload_rule *r = malloc(sizeof *r);
    struct dp_actions *acts = dp_actions_alloc(1);
    int n_rules = 0, n_hits = 0;

    (void) state;
    for (int round = 0; round < 150; round++) {
        struct pkt_spec spec;
        struct flow key, f, m;
        struct simnic_rule *rule;
        struct rte_flow_error e;
        enum offload_reason reason;
        uint8_t buf[256];
        size_t len;
        char msg[128];
        struct offload_xlate x = {
            .flow = &f, .mask = &m, .actions = acts,
            .mode = OFFLOAD_MODE_FULL, .caps = &caps,
        };

        random_packet(&spec);
        len = pkt_build(buf, sizeof buf, &spec);
        flow_extract(buf, len, id0, &key, NULL);
        random_megaflow(&key, &f, &m);
        acts->n = 0;
        if (offload_translate(&x, r, &reason, msg, sizeof msg)) {
            fail_msg("round %d: %s", round, msg);
        }
        if (simnic_flow_create(nic, id0, &r->attr, r->items, r->actions,
                               &rule, &e)) {
            fail_msg("round %d: %s", round, e.message);
        }
        n_rules++;
        for (int k = 0; k < 40; k++) {
            struct rte_mbuf *mb;
            struct flow pk;
            bool expect;
            int left;

            random_packet(&spec);
            len = pkt_build(buf, sizeof buf, &spec);
            flow_extract(buf, len, id0, &pk, NULL);
            expect = flow_equal_masked(&pk, &f, &m);
            mb = mbuf_of(&spec);
            left = simnic_rx(nic, id0, &mb, 1);
            if (left) {
                rte_pktmbuf_free(mb);
            }
            if (expect != !left) {
                fail_msg("round %d packet %d: megaflow says %d, NIC %d",
                         round, k, expect, !left);
            }
            n_hits += expect;
        }
        simnic_flow_destroy(nic, rule, NULL, NULL);
    }
    /* The property was exercised both ways. */
    assert_true(n_hits > 100);
    assert_true(n_hits < n_rules * 40 - 100);
    free(acts);
    free(r);
}

/* ---- Encapsulation (VXLAN_ENCAP, RAW_ENCAP). ---- */

/* Empties p1's capture ring. */
static void
drain_p1(void)
{
    assert_int_equal(port_dummy_capture(p1, drop_capture_cb, NULL, NULL),
                     0);
}

/* Sends 'n' packets received on id0 through a transfer rule matching
 * Ethernet (and IPv4 if 'ipv4') from id0 with 'acts', all of which must
 * be handled by the NIC; captures what p1 sent into '*cap' and stores the
 * rule's counters. */
static void
encap_through(const struct rte_flow_action *acts, bool ipv4,
              struct rte_mbuf **pkts, int n, struct cap *cap,
              uint64_t *packets, uint64_t *bytes)
{
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_ethdev src = { .port_id = id0 };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, .spec = &src },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = ipv4 ? RTE_FLOW_ITEM_TYPE_IPV4 : RTE_FLOW_ITEM_TYPE_VOID },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct simnic_rule *r;
    struct rte_flow_error e;

    memset(&e, 0, sizeof e);
    if (simnic_flow_create(nic, id0, &transfer, pat, acts, &r, &e)) {
        fail_msg("%s", e.message);
    }
    drain_p1();
    assert_int_equal(simnic_rx(nic, id0, pkts, n), 0);
    cap->n = 0;
    assert_int_equal(port_dummy_capture(p1, capture_cb, cap, NULL), 0);
    simnic_flow_destroy(nic, r, packets, bytes);
}

/* The outer UDP source port of an encapsulated frame (host order). */
static uint16_t
outer_sport(const uint8_t *frame, size_t l4_ofs)
{
    return (uint16_t) (frame[l4_ofs] << 8 | frame[l4_ofs + 1]);
}

/* Checks that 'frame' ('len' bytes) is 'want' ('want_len' bytes) behind
 * 'hdr_len' bytes of 'type' tunnel headers; fills 'md'. */
static void
check_encapsulated(enum tnl_type type, const uint8_t *frame, size_t len,
                   size_t hdr_len, const uint8_t *want, size_t want_len,
                   struct flow_tnl *md)
{
    size_t parsed_len;
    enum tnl_error err;

    err = tnl_parse(type, frame, len, 14, md, &parsed_len);
    if (err != TNL_OK) {
        fail_msg("tnl_parse: %s", tnl_error_name(err));
    }
    assert_int_equal(parsed_len, hdr_len);
    assert_int_equal(len, hdr_len + want_len);
    assert_memory_equal(frame + hdr_len, want, want_len);
}

static const uint8_t outer_dst_mac[6] = { 0x02, 0xaa, 0, 0, 0, 0x02 };
static const uint8_t outer_src_mac[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };

/* VXLAN over IPv4: VNI 42, UDP source port 0 (per-flow entropy), DF, TTL
 * 0 (64), a multi-segment packet, and one without headroom (dropped). */
static void
test_encap_vxlan_ipv4(void **state)
{
    struct rte_flow_item_eth eth = { .type = RTE_BE16(0x1234) };
    struct rte_flow_item_ipv4 ip = {
        .hdr = {
            .src_addr = RTE_BE32(0xc0000201),
            .dst_addr = RTE_BE32(0xc0000202),
            .fragment_offset = RTE_BE16(0x4000),
            .packet_id = RTE_BE16(0x0777),
            .type_of_service = 0x28,
        },
    };
    struct rte_flow_item_udp udp = { .hdr.src_port = 0 };
    struct rte_flow_item_vxlan vx = { .vni = { 0, 0, 42 } };
    struct rte_flow_item def[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_vxlan_encap enc = { .definition = def };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &enc },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_mbuf *pkts[6], *tail;
    uint8_t want[3][256];
    size_t want_len[3];
    struct simnic_stats sb, sa;
    uint64_t packets, bytes;
    struct pkt_spec spec;
    struct flow_tnl md;
    struct cap cap;
    uint16_t sport[5];
    char *moved;

    (void) state;
    memcpy(eth.dst.addr_bytes, outer_dst_mac, 6);
    memcpy(eth.src.addr_bytes, outer_src_mac, 6);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    for (int f = 0; f < 3; f++) {
        spec.l4.src = (uint16_t) (1000 + f);
        want_len[f] = pkt_build(want[f], sizeof want[f], &spec);
    }
    /* Flows 0, 0, 1, 2; flow 0 again in two segments; flow 0 again
     * without headroom. */
    for (int i = 0; i < 6; i++) {
        spec.l4.src = (uint16_t) (1000 + (i == 2 ? 1 : i == 3 ? 2 : 0));
        pkts[i] = mbuf_of(&spec);
    }
    tail = rte_pktmbuf_alloc(mp);
    assert_non_null(tail);
    moved = rte_pktmbuf_append(tail, (uint16_t) (want_len[0] - 42));
    memcpy(moved, want[0] + 42, want_len[0] - 42);
    assert_int_equal(rte_pktmbuf_trim(pkts[4],
                                      (uint16_t) (want_len[0] - 42)), 0);
    assert_int_equal(rte_pktmbuf_chain(pkts[4], tail), 0);
    assert_int_equal(pkts[4]->nb_segs, 2);
    memmove(rte_pktmbuf_mtod(pkts[5], uint8_t *) - pkts[5]->data_off + 16,
            rte_pktmbuf_mtod(pkts[5], uint8_t *), want_len[0]);
    pkts[5]->data_off = 16;

    simnic_get_stats(nic, &sb);
    encap_through(acts, false, pkts, 6, &cap, &packets, &bytes);
    simnic_get_stats(nic, &sa);
    /* Counted as received (inner bytes); the one without headroom is a
     * hardware drop. */
    assert_int_equal(packets, 6);
    assert_int_equal(bytes, 6 * want_len[0]);
    assert_int_equal(sa.hw_dropped - sb.hw_dropped, 1);
    assert_int_equal(sa.hw_forwarded - sb.hw_forwarded, 5);
    assert_int_equal(cap.n, 5);

    for (size_t i = 0; i < cap.n; i++) {
        const uint8_t *fr = cap.frames[i];
        int f = i == 2 ? 1 : i == 3 ? 2 : 0;

        check_encapsulated(TNL_VXLAN, fr, cap.lens[i], 50, want[f],
                           want_len[f], &md);
        assert_memory_equal(fr, outer_dst_mac, 6);
        assert_memory_equal(fr + 6, outer_src_mac, 6);
        assert_int_equal(fr[12] << 8 | fr[13], 0x0800);
        assert_true(be64toh(md.tun_id) == 42);
        assert_int_equal(md.ip_src, htonl(0xc0000201));
        assert_int_equal(md.ip_dst, htonl(0xc0000202));
        assert_int_equal(md.tos, 0x28);
        assert_int_equal(md.ttl, 64);
        assert_int_equal(ntohs(md.flags),
                         FLOW_TNL_F_KEY | FLOW_TNL_F_DONT_FRAGMENT);
        /* Total length, id as defined, UDP length and port. */
        assert_int_equal(fr[16] << 8 | fr[17], cap.lens[i] - 14);
        assert_int_equal(fr[18] << 8 | fr[19], 0x0777);
        assert_int_equal(fr[38] << 8 | fr[39], cap.lens[i] - 34);
        assert_int_equal(outer_sport(fr, 36), TNL_VXLAN_PORT);
        sport[i] = outer_sport(fr, 34);
        assert_in_range(sport[i], 32768, 60999);
    }
    /* One flow, one port (also in two segments); other flows spread. */
    assert_int_equal(sport[1], sport[0]);
    assert_int_equal(sport[4], sport[0]);
    assert_memory_equal(cap.frames[4], cap.frames[0], cap.lens[0]);
    assert_false(sport[2] == sport[0] && sport[3] == sport[0]);
}

/* VXLAN over IPv6: traffic class, flow label, hop limit 0 (64), UDP
 * destination 0 (4789), a fixed UDP source port, no UDP checksum. */
static void
test_encap_vxlan_ipv6(void **state)
{
    static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
    struct rte_flow_item_eth eth = { .type = 0 };
    struct rte_flow_item_ipv6 ip = {
        .hdr.vtc_flow = RTE_BE32(0x60000000 | 0x12 << 20 | 0xabcde),
    };
    struct rte_flow_item_udp udp = { .hdr.src_port = RTE_BE16(5555) };
    struct rte_flow_item_vxlan vx = { .vni = { 0x12, 0x34, 0x56 } };
    struct rte_flow_item def[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_VOID },
        { .type = RTE_FLOW_ITEM_TYPE_IPV6, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_vxlan_encap enc = { .definition = def };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &enc },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_mbuf *pkts[2];
    uint64_t packets, bytes;
    struct pkt_spec spec;
    struct flow_tnl md;
    uint8_t want[2][256];
    size_t want_len[2];
    struct cap cap;

    (void) state;
    memcpy(eth.dst.addr_bytes, outer_dst_mac, 6);
    memcpy(eth.src.addr_bytes, outer_src_mac, 6);
    memcpy(&ip.hdr.src_addr, src6, 16);
    memcpy(&ip.hdr.dst_addr, dst6, 16);
    /* Two flows, IPv4 and IPv6 inside. */
    for (int i = 0; i < 2; i++) {
        pkt_spec_init(&spec, i ? PKT_L3_IPV6 : PKT_L3_IPV4, IPPROTO_UDP_);
        want_len[i] = pkt_build(want[i], sizeof want[i], &spec);
        pkts[i] = mbuf_of(&spec);
    }
    encap_through(acts, false, pkts, 2, &cap, &packets, &bytes);
    assert_int_equal(packets, 2);
    assert_int_equal(bytes, want_len[0] + want_len[1]);
    assert_int_equal(cap.n, 2);
    for (size_t i = 0; i < cap.n; i++) {
        const uint8_t *fr = cap.frames[i];

        check_encapsulated(TNL_VXLAN, fr, cap.lens[i], 70, want[i],
                           want_len[i], &md);
        assert_int_equal(fr[12] << 8 | fr[13], 0x86dd);
        assert_true(be64toh(md.tun_id) == 0x123456);
        assert_int_equal(md.ip_src, 0);
        assert_memory_equal(md.ipv6_src, src6, 16);
        assert_memory_equal(md.ipv6_dst, dst6, 16);
        assert_int_equal(md.tos, 0x12);
        assert_int_equal(md.ttl, 64);
        assert_int_equal(ntohs(md.flags), FLOW_TNL_F_KEY);
        /* Version, flow label, payload length; UDP ports, length and
         * (no) checksum. */
        assert_int_equal(fr[14] >> 4, 6);
        assert_int_equal((fr[15] & 0x0f) << 16 | fr[16] << 8 | fr[17],
                         0xabcde);
        assert_int_equal(fr[18] << 8 | fr[19], cap.lens[i] - 54);
        assert_int_equal(outer_sport(fr, 54), 5555);
        assert_int_equal(outer_sport(fr, 56), TNL_VXLAN_PORT);
        assert_int_equal(fr[58] << 8 | fr[59], cap.lens[i] - 54);
        assert_int_equal(fr[60] << 8 | fr[61], 0);
    }
}

/* RAW_ENCAP with a GENEVE header carrying 8 bytes of (non-critical)
 * options, as tnl_build() makes it. */
static void
test_encap_raw_geneve(void **state)
{
    static const uint8_t opts[8] = { 0x01, 0x02, 0x05, 0x01,
                                     0xde, 0xad, 0xbe, 0xef };
    struct tnl_spec ts = {
        .type = TNL_GENEVE,
        .ip_src = RTE_BE32(0xc6336401),
        .ip_dst = RTE_BE32(0xc6336402),
        .udp_dst = RTE_BE16(TNL_GENEVE_PORT),
        .vni = 7,
        .opts = opts,
        .opts_len = sizeof opts,
    };
    uint8_t hdr[TNL_HDR_MAX];
    struct rte_flow_action_raw_encap raw = { .data = hdr };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_RAW_ENCAP, .conf = &raw },
        { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action_port_id pid = { .id = id1 };
    struct rte_mbuf *m;
    uint64_t packets, bytes;
    struct pkt_spec spec;
    struct flow_tnl md;
    uint8_t want[256];
    size_t want_len;
    struct cap cap;

    (void) state;
    acts[1].conf = &pid;
    memcpy(ts.eth_dst, outer_dst_mac, 6);
    memcpy(ts.eth_src, outer_src_mac, 6);
    raw.size = tnl_build(&ts, hdr, sizeof hdr);
    assert_int_equal(raw.size, 14 + 20 + 8 + 8 + 8);
    pkt_spec_init(&spec, PKT_L3_IPV6, IPPROTO_TCP_);
    want_len = pkt_build(want, sizeof want, &spec);
    m = mbuf_of(&spec);
    encap_through(acts, false, &m, 1, &cap, &packets, &bytes);
    assert_int_equal(packets, 1);
    assert_int_equal(bytes, want_len);
    assert_int_equal(cap.n, 1);
    check_encapsulated(TNL_GENEVE, cap.frames[0], cap.lens[0], raw.size,
                       want, want_len, &md);
    assert_true(be64toh(md.tun_id) == 7);
    assert_int_equal(md.ip_src, htonl(0xc6336401));
    assert_int_equal(md.ip_dst, htonl(0xc6336402));
    /* The options as given; the entropy source port. */
    assert_memory_equal(cap.frames[0] + 50, opts, sizeof opts);
    assert_in_range(outer_sport(cap.frames[0], 34), 32768, 60999);
}

/* A rewrite before the encapsulation applies to the inner packet, and the
 * entropy port is that of the rewritten packet: the result is the frame
 * the encapsulation alone makes of the packet as rewritten. */
static void
test_encap_after_rewrite(void **state)
{
    struct rte_flow_item_eth eth = { .type = 0 };
    struct rte_flow_item_ipv4 ip = {
        .hdr.src_addr = RTE_BE32(0xc0000201),
        .hdr.dst_addr = RTE_BE32(0xc0000202),
    };
    struct rte_flow_item_udp udp = { .hdr.dst_port = 0 };
    struct rte_flow_item_vxlan vx = { .vni = { 0, 0, 9 } };
    struct rte_flow_item def[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_vxlan_encap enc = { .definition = def };
    struct rte_flow_action_set_ipv4 sdst = {
        .ipv4_addr = RTE_BE32(0x0a090909),
    };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action rw_encap[] = {
        { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &sdst },
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &enc },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action encap[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &enc },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_mbuf *m;
    uint64_t packets, bytes;
    struct pkt_spec spec;
    struct flow_tnl md;
    uint8_t want[256];
    size_t want_len;
    struct cap cap, cap2;

    (void) state;
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    m = mbuf_of(&spec);
    encap_through(rw_encap, true, &m, 1, &cap, &packets, &bytes);
    assert_int_equal(cap.n, 1);
    spec.ipv4.dst = 0x0a090909;
    want_len = pkt_build(want, sizeof want, &spec);
    check_encapsulated(TNL_VXLAN, cap.frames[0], cap.lens[0], 50, want,
                       want_len, &md);
    assert_int_equal(md.ip_dst, htonl(0xc0000202));

    m = mbuf_of(&spec);
    encap_through(encap, true, &m, 1, &cap2, &packets, &bytes);
    assert_int_equal(cap2.n, 1);
    assert_int_equal(cap2.lens[0], cap.lens[0]);
    assert_memory_equal(cap2.frames[0], cap.frames[0], cap.lens[0]);
}

static void
test_encap_rejections(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_eth eth = { .type = 0 };
    struct rte_flow_item_vlan vlan = { .tci = RTE_BE16(5) };
    struct rte_flow_item_ipv4 ip = { .hdr.dst_addr = RTE_BE32(1) };
    struct rte_flow_item_udp udp = { .hdr.src_port = 0 };
    struct rte_flow_item_vxlan vx = { .vni = { 0, 0, 1 } };
    struct rte_flow_item def[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item def_no_udp[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item def_vlan[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_VLAN, .spec = &vlan },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item def_no_spec[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item eth_only[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_vxlan_encap enc = { .definition = def };
    struct rte_flow_action_vxlan_encap enc_no_udp = {
        .definition = def_no_udp,
    };
    struct rte_flow_action_vxlan_encap enc_vlan = { .definition = def_vlan };
    struct rte_flow_action_vxlan_encap enc_no_spec = {
        .definition = def_no_spec,
    };
    static const struct tnl_spec ts_vxlan = {
        .type = TNL_VXLAN, .udp_dst = RTE_BE16(TNL_VXLAN_PORT), .vni = 1,
    };
    uint8_t good[TNL_HDR_MAX], tagged[TNL_HDR_MAX + 4];
    uint8_t garbage[50], preserve[50];
    struct rte_flow_action_raw_encap raw_good = { .data = good };
    struct rte_flow_action_raw_encap raw_garbage = {
        .data = garbage, .size = sizeof garbage,
    };
    struct rte_flow_action_raw_encap raw_tagged = { .data = tagged };
    struct rte_flow_action_raw_encap raw_short = { .data = good };
    struct rte_flow_action_raw_encap raw_preserve = {
        .data = good, .preserve = preserve,
    };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action_port_id pid = { .id = id1 };
    struct rte_flow_action_set_mac mac = { { 1, 2, 3, 4, 5, 6 } };
    struct rte_flow_action_mark mark = { .id = 3 };
    struct rte_flow_action_queue q = { .index = 0 };
#define ENCAP_CASE(NAME, TYPE, CONF, FATE, FCONF)                       \
    struct rte_flow_action NAME[] = {                                   \
        { .type = RTE_FLOW_ACTION_TYPE_##TYPE, .conf = CONF },          \
        { .type = RTE_FLOW_ACTION_TYPE_##FATE, .conf = FCONF },         \
        { .type = RTE_FLOW_ACTION_TYPE_END },                           \
    }
    ENCAP_CASE(a_queue, VXLAN_ENCAP, &enc, QUEUE, &q);
    ENCAP_CASE(a_drop, VXLAN_ENCAP, &enc, DROP, NULL);
    ENCAP_CASE(a_mark, VXLAN_ENCAP, &enc, MARK, &mark);
    ENCAP_CASE(a_out_ingress, VXLAN_ENCAP, &enc, PORT_ID, &pid);
    ENCAP_CASE(a_no_udp, VXLAN_ENCAP, &enc_no_udp, PORT_ID, &pid);
    ENCAP_CASE(a_vlan, VXLAN_ENCAP, &enc_vlan, PORT_ID, &pid);
    ENCAP_CASE(a_no_spec, VXLAN_ENCAP, &enc_no_spec, PORT_ID, &pid);
    ENCAP_CASE(a_no_def, VXLAN_ENCAP, NULL, PORT_ID, &pid);
    ENCAP_CASE(a_garbage, RAW_ENCAP, &raw_garbage, PORT_ID, &pid);
    ENCAP_CASE(a_tagged, RAW_ENCAP, &raw_tagged, PORT_ID, &pid);
    ENCAP_CASE(a_short, RAW_ENCAP, &raw_short, PORT_ID, &pid);
    ENCAP_CASE(a_preserve, RAW_ENCAP, &raw_preserve, PORT_ID, &pid);
    ENCAP_CASE(a_raw_drop, RAW_ENCAP, &raw_good, DROP, NULL);
#undef ENCAP_CASE
    struct rte_flow_action rw_after[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &enc },
        { .type = RTE_FLOW_ACTION_TYPE_SET_MAC_DST, .conf = &mac },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action two[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &enc },
        { .type = RTE_FLOW_ACTION_TYPE_RAW_ENCAP, .conf = &raw_good },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action ok_raw[] = {
        { .type = RTE_FLOW_ACTION_TYPE_SET_MAC_DST, .conf = &mac },
        { .type = RTE_FLOW_ACTION_TYPE_RAW_ENCAP, .conf = &raw_good },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    const struct {
        const struct rte_flow_attr *attr;
        const struct rte_flow_action *actions;
        int err;
        const char *msg;
    } cases[] = {
        { &ingress, a_queue, EOPNOTSUPP, "transfer rule with an output" },
        { &ingress, a_mark, EOPNOTSUPP, "transfer rule with an output" },
        { &ingress, a_out_ingress, EOPNOTSUPP, "transfer" },
        { &transfer, a_drop, EOPNOTSUPP, "transfer rule with an output" },
        { &transfer, a_raw_drop, EOPNOTSUPP, "transfer rule with an" },
        { &transfer, rw_after, EOPNOTSUPP, "rewrite after encapsulation" },
        { &transfer, two, EOPNOTSUPP, "more than one encapsulation" },
        { &transfer, a_no_udp, EINVAL, "ETH / IPV4 or IPV6 / UDP / VXLAN" },
        { &transfer, a_no_spec, EINVAL, "each with a spec" },
        { &transfer, a_no_def, EINVAL, "without a definition" },
        { &transfer, a_vlan, EOPNOTSUPP, "VLAN" },
        { &transfer, a_garbage, EINVAL, "not Ethernet/IP/UDP/" },
        { &transfer, a_tagged, EINVAL, "not Ethernet/IP/UDP/" },
        { &transfer, a_short, EINVAL, "not Ethernet/IP/UDP/" },
        { &transfer, a_preserve, EOPNOTSUPP, "preserve" },
    };
    struct rte_flow_error e;
    struct simnic_rule *r;

    (void) state;
    raw_good.size = tnl_build(&ts_vxlan, good, sizeof good);
    assert_int_equal(raw_good.size, 50);
    raw_preserve.size = raw_good.size;
    /* A VXLAN header cut to 4 bytes. */
    raw_short.size = raw_good.size - 4;
    /* The good header with an 802.1Q tag. */
    memcpy(tagged, good, 12);
    memcpy(tagged + 12, "\x81\x00\x00\x05", 4);
    memcpy(tagged + 16, good + 12, raw_good.size - 12);
    raw_tagged.size = raw_good.size + 4;
    for (size_t i = 0; i < sizeof garbage; i++) {
        garbage[i] = (uint8_t) (i * 37 + 11);
    }
    memset(preserve, 0xff, sizeof preserve);

    for (size_t i = 0; i < N(cases); i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(simnic_flow_validate(nic, id0, cases[i].attr,
                                              eth_only, cases[i].actions,
                                              &e),
                         cases[i].err);
        assert_int_equal(simnic_flow_create(nic, id0, cases[i].attr,
                                            eth_only, cases[i].actions,
                                            &r, &e),
                         cases[i].err);
        assert_null(r);
        assert_non_null(e.message);
        if (!strstr(e.message, cases[i].msg)) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.message,
                     cases[i].msg);
        }
    }
    /* The good header, after a rewrite, is taken. */
    assert_int_equal(simnic_flow_create(nic, id0, &transfer, eth_only,
                                        ok_raw, &r, &e), 0);
    simnic_flow_destroy(nic, r, NULL, NULL);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* ---- Decapsulation (VXLAN_DECAP, RAW_DECAP). ---- */

static const uint8_t under6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t under6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t other_mac[6] = { 0x02, 0xbb, 0, 0, 0, 0x07 };

/* The underlay of the decapsulation tests: VXLAN, VNI 42, from
 * 198.51.100.1 to 198.51.100.2 (or 2001:db8::1 to 2001:db8::2), port
 * 4789, no UDP checksum. */
static void
decap_tnl_spec(struct tnl_spec *ts, bool v6)
{
    memset(ts, 0, sizeof *ts);
    ts->type = TNL_VXLAN;
    memcpy(ts->eth_dst, outer_dst_mac, 6);
    memcpy(ts->eth_src, outer_src_mac, 6);
    ts->is_ipv6 = v6;
    ts->ip_src = htonl(0xc6336401);
    ts->ip_dst = htonl(0xc6336402);
    memcpy(ts->ipv6_src, under6_src, 16);
    memcpy(ts->ipv6_dst, under6_dst, 16);
    ts->udp_dst = htons(TNL_VXLAN_PORT);
    ts->vni = 42;
}

/* Writes the frame 'inner' describes, encapsulated as 'ts' says, into
 * 'buf'; returns its length. */
static size_t
vxlan_build(uint8_t *buf, size_t size, const struct tnl_spec *ts,
            const struct pkt_spec *inner)
{
    struct tnl_layout lay;
    size_t hdr_len = tnl_build(ts, buf, size), len;

    assert_true(hdr_len > 0);
    tnl_layout_of(ts, &lay);
    len = pkt_build(buf + hdr_len, size - hdr_len, inner);
    assert_true(len > 0);
    assert_true(tnl_finish(buf, hdr_len + len, &lay, RTE_BE16(0x1234),
                           RTE_BE16(49152)));
    return hdr_len + len;
}

static struct rte_mbuf *
mbuf_of_bytes(const uint8_t *buf, size_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

    assert_non_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t) len), buf, len);
    return m;
}

/* A decap rule's pattern: from id0, outer ETH / IPV4 or IPV6 (the
 * addresses of decap_tnl_spec(), exact) / UDP (4789) / VXLAN (VNI 42)
 * / ETH / IPV4 (destination 10.0.0.2) / UDP (destination 2000), the
 * defaults of pkt_spec_init(). */
struct decap_pat {
    struct rte_flow_item_ethdev src;
    struct rte_flow_item_eth eth, eth_m;
    struct rte_flow_item_ipv4 ip4, ip4_m;
    struct rte_flow_item_ipv6 ip6, ip6_m;
    struct rte_flow_item_udp udp, udp_m;
    struct rte_flow_item_vxlan vx;
    struct rte_flow_item_ipv4 in_ip, in_ip_m;
    struct rte_flow_item_udp in_udp, in_udp_m;
    struct rte_flow_item items[10];
};

static void
decap_pat_init(struct decap_pat *p, bool v6)
{
    struct rte_flow_item *it = p->items;

    memset(p, 0, sizeof *p);
    p->src.port_id = id0;
    p->ip4.hdr.src_addr = htonl(0xc6336401);
    p->ip4.hdr.dst_addr = htonl(0xc6336402);
    p->ip4_m.hdr.src_addr = p->ip4_m.hdr.dst_addr = UINT32_MAX;
    memcpy(&p->ip6.hdr.src_addr, under6_src, 16);
    memcpy(&p->ip6.hdr.dst_addr, under6_dst, 16);
    memset(&p->ip6_m.hdr.src_addr, 0xff, 16);
    memset(&p->ip6_m.hdr.dst_addr, 0xff, 16);
    p->udp.hdr.dst_port = htons(TNL_VXLAN_PORT);
    p->udp_m.hdr.dst_port = UINT16_MAX;
    p->vx.vni[2] = 42;
    p->in_ip.hdr.dst_addr = htonl(0x0a000002);
    p->in_ip_m.hdr.dst_addr = UINT32_MAX;
    p->in_udp.hdr.dst_port = htons(2000);
    p->in_udp_m.hdr.dst_port = UINT16_MAX;

    it->type = RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT;
    (it++)->spec = &p->src;
    it->type = RTE_FLOW_ITEM_TYPE_ETH;
    it->spec = &p->eth;
    (it++)->mask = &p->eth_m;
    if (v6) {
        it->type = RTE_FLOW_ITEM_TYPE_IPV6;
        it->spec = &p->ip6;
        (it++)->mask = &p->ip6_m;
    } else {
        it->type = RTE_FLOW_ITEM_TYPE_IPV4;
        it->spec = &p->ip4;
        (it++)->mask = &p->ip4_m;
    }
    it->type = RTE_FLOW_ITEM_TYPE_UDP;
    it->spec = &p->udp;
    (it++)->mask = &p->udp_m;
    it->type = RTE_FLOW_ITEM_TYPE_VXLAN;
    (it++)->spec = &p->vx;
    (it++)->type = RTE_FLOW_ITEM_TYPE_ETH;
    it->type = RTE_FLOW_ITEM_TYPE_IPV4;
    it->spec = &p->in_ip;
    (it++)->mask = &p->in_ip_m;
    it->type = RTE_FLOW_ITEM_TYPE_UDP;
    it->spec = &p->in_udp;
    (it++)->mask = &p->in_udp_m;
    it->type = RTE_FLOW_ITEM_TYPE_END;
}

/* A transfer rule created on id0 with 'items' and 'acts', priority
 * 'prio'; fails the test if the NIC refuses it. */
static struct simnic_rule *
decap_create(const struct rte_flow_item *items,
             const struct rte_flow_action *acts, uint32_t prio)
{
    struct rte_flow_attr transfer = { .transfer = 1, .priority = prio };
    struct rte_flow_error e;
    struct simnic_rule *r;

    memset(&e, 0, sizeof e);
    if (simnic_flow_create(nic, id0, &transfer, items, acts, &r, &e)) {
        fail_msg("%s", e.message);
    }
    return r;
}

/* Receives the 'len' bytes at 'frame' on id0: true if the NIC took the
 * packet; if it went to software, checks that it is untouched. */
static bool
decap_rx(const uint8_t *frame, size_t len)
{
    struct rte_mbuf *m = mbuf_of_bytes(frame, len);

    if (!simnic_rx(nic, id0, &m, 1)) {
        return true;
    }
    assert_int_equal(rte_pktmbuf_pkt_len(m), len);
    assert_memory_equal(rte_pktmbuf_mtod(m, void *), frame, len);
    assert_false(m->ol_flags & RTE_MBUF_F_RX_FDIR);
    rte_pktmbuf_free(m);
    return false;
}

/* Drains what 'p' sent into '*cap'. */
static void
capture(struct port *p, struct cap *cap)
{
    cap->n = 0;
    assert_int_equal(port_dummy_capture(p, capture_cb, cap, NULL), 0);
}

/* Checks that 'cap' holds exactly one frame, 'want' ('want_len'
 * bytes). */
static void
check_one(const struct cap *cap, const uint8_t *want, size_t want_len)
{
    assert_int_equal(cap->n, 1);
    assert_int_equal(cap->lens[0], want_len);
    assert_memory_equal(cap->frames[0], want, want_len);
}

/* VXLAN over IPv4 from id0 to id1: the inner frame leaves exactly as it
 * was encapsulated, also when the outer UDP checksum is present and when
 * the packet comes in two segments; counted with its outer bytes. */
static void
test_decap_vxlan_ipv4(void **state)
{
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    uint8_t want[256], frame[3][256];
    size_t want_len, len[3], total = 0;
    struct simnic_stats sb, sa;
    struct rte_mbuf *pkts[3], *tail;
    uint64_t packets, bytes;
    struct decap_pat pat;
    struct simnic_rule *r;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;

    (void) state;
    decap_pat_init(&pat, false);
    r = decap_create(pat.items, acts, 0);
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    want_len = pkt_build(want, sizeof want, &spec);
    for (int i = 0; i < 3; i++) {
        ts.csum = i == 1;
        len[i] = vxlan_build(frame[i], sizeof frame[i], &ts, &spec);
        assert_int_equal(len[i], 50 + want_len);
        pkts[i] = mbuf_of_bytes(frame[i], len[i]);
        total += len[i];
    }
    assert_true(frame[1][40] || frame[1][41]);
    /* The last 20 bytes of the third in a second segment. */
    tail = rte_pktmbuf_alloc(mp);
    assert_non_null(tail);
    memcpy(rte_pktmbuf_append(tail, 20), frame[2] + len[2] - 20, 20);
    assert_int_equal(rte_pktmbuf_trim(pkts[2], 20), 0);
    assert_int_equal(rte_pktmbuf_chain(pkts[2], tail), 0);

    drain_p1();
    simnic_get_stats(nic, &sb);
    assert_int_equal(simnic_rx(nic, id0, pkts, 3), 0);
    simnic_get_stats(nic, &sa);
    assert_int_equal(sa.hw_packets - sb.hw_packets, 3);
    assert_int_equal(sa.hw_bytes - sb.hw_bytes, total);
    assert_int_equal(sa.hw_forwarded - sb.hw_forwarded, 3);
    assert_int_equal(sa.hw_dropped, sb.hw_dropped);
    assert_int_equal(sa.misses, sb.misses);
    capture(p1, &cap);
    assert_int_equal(cap.n, 3);
    for (size_t i = 0; i < cap.n; i++) {
        assert_int_equal(cap.lens[i], want_len);
        assert_memory_equal(cap.frames[i], want, want_len);
    }
    assert_int_equal(simnic_flow_destroy(nic, r, &packets, &bytes), 0);
    assert_int_equal(packets, 3);
    assert_int_equal(bytes, total);
}

/* VXLAN over IPv6, with VXLAN_DECAP and with RAW_DECAP of the outer
 * length (70; no data); an IPv6 inner frame too (rules without inner L3
 * items). */
static void
test_decap_vxlan_ipv6(void **state)
{
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action_raw_decap raw = { .data = NULL, .size = 70 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    uint8_t want[2][256], frame[2][256];
    size_t want_len[2], len[2];
    uint64_t packets, bytes;
    struct decap_pat pat;
    struct simnic_rule *r;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;

    (void) state;
    decap_tnl_spec(&ts, true);
    for (int i = 0; i < 2; i++) {
        pkt_spec_init(&spec, i ? PKT_L3_IPV6 : PKT_L3_IPV4, IPPROTO_UDP_);
        want_len[i] = pkt_build(want[i], sizeof want[i], &spec);
        ts.csum = i == 1;
        len[i] = vxlan_build(frame[i], sizeof frame[i], &ts, &spec);
        assert_int_equal(len[i], 70 + want_len[i]);
    }
    for (int round = 0; round < 2; round++) {
        if (round) {
            acts[1].type = RTE_FLOW_ACTION_TYPE_RAW_DECAP;
            acts[1].conf = &raw;
        }
        decap_pat_init(&pat, true);
        r = decap_create(pat.items, acts, 0);
        drain_p1();
        assert_true(decap_rx(frame[0], len[0]));
        capture(p1, &cap);
        check_one(&cap, want[0], want_len[0]);
        /* The IPv6 inner frame is not the rule's (IPV4 item). */
        assert_false(decap_rx(frame[1], len[1]));
        assert_int_equal(simnic_flow_destroy(nic, r, &packets, &bytes), 0);
        assert_int_equal(packets, 1);
        assert_int_equal(bytes, len[0]);

        /* Any inner frame: ETH alone after VXLAN, then nothing. */
        pat.items[round ? 5 : 6].type = RTE_FLOW_ITEM_TYPE_END;
        r = decap_create(pat.items, acts, 0);
        for (int i = 0; i < 2; i++) {
            assert_true(decap_rx(frame[i], len[i]));
            capture(p1, &cap);
            check_one(&cap, want[i], want_len[i]);
        }
        assert_int_equal(simnic_flow_destroy(nic, r, NULL, NULL), 0);
    }
}

/* What a decap rule does not take goes to software untouched: another
 * VNI, outer source, inner destination or UDP port; a bad outer IPv4
 * checksum; a nonzero and wrong UDP checksum. */
static void
test_decap_misses(void **state)
{
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    uint8_t frame[256];
    struct simnic_stats sb, sa;
    uint64_t packets, bytes;
    struct decap_pat pat;
    struct simnic_rule *r;
    struct pkt_spec spec;
    struct tnl_spec ts;
    size_t len, n;

    (void) state;
    decap_pat_init(&pat, false);
    r = decap_create(pat.items, acts, 0);
    drain_p1();
    simnic_get_stats(nic, &sb);
    for (int i = 0; i < 7; i++) {
        decap_tnl_spec(&ts, false);
        pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
        switch (i) {
        case 0:
            ts.vni = 43;
            break;
        case 1:
            ts.ip_src = htonl(0xc6336409);
            break;
        case 2:
            spec.ipv4.dst = 0x0a000003;
            break;
        case 3:
            ts.udp_dst = htons(4790);
            break;
        case 5:
            ts.csum = true;
            break;
        }
        len = vxlan_build(frame, sizeof frame, &ts, &spec);
        if (i == 4) {
            frame[24] ^= 0x01;          /* The IPv4 header checksum. */
        } else if (i == 5) {
            frame[41] ^= 0x01;          /* The UDP checksum. */
            assert_true(frame[40] || frame[41]);
        }
        /* The last one is the rule's. */
        assert_true(decap_rx(frame, len) == (i == 6));
    }
    simnic_get_stats(nic, &sa);
    assert_int_equal(sa.misses - sb.misses, 6);
    assert_int_equal(sa.hw_packets - sb.hw_packets, 1);
    assert_int_equal(port_dummy_capture(p1, drop_capture_cb, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(simnic_flow_destroy(nic, r, &packets, &bytes), 0);
    assert_int_equal(packets, 1);
}

/* The outer IPv4 item's "no options" match (version_ihl 0x45) with the
 * outer tag's presence matched fixes the outer length: a packet with
 * options goes to software (VXLAN_DECAP would strip it right, but the
 * rule's length is the one counted); the VXLAN item's I flag may be
 * matched set.  An IHL match needs the tag's presence, and only a
 * decapsulation's outer header may have one. */
static void
test_decap_outer_no_options(void **state)
{
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_vxlan vx_m = { .flags = 0x08,
                                        .vni = { 0xff, 0xff, 0xff } };
    uint8_t frame[256], opt[260];
    struct rte_flow_error e;
    struct simnic_rule *r;
    struct pkt_spec spec;
    struct decap_pat pat;
    struct tnl_spec ts;
    uint32_t sum = 0;
    size_t len;

    (void) state;
    decap_pat_init(&pat, false);
    /* Without the tag's presence: refused. */
    pat.ip4.hdr.version_ihl = 0x45;
    pat.ip4_m.hdr.version_ihl = 0xff;
    memset(&e, 0, sizeof e);
    assert_int_equal(simnic_flow_validate(nic, id0, &transfer, pat.items,
                                          acts, &e), EOPNOTSUPP);
    assert_non_null(strstr(e.message, "tag"));
    pat.eth.has_vlan = 0;
    pat.eth_m.has_vlan = 1;
    pat.vx.flags = 0x08;
    for (size_t i = 0; pat.items[i].type != RTE_FLOW_ITEM_TYPE_END; i++) {
        if (pat.items[i].type == RTE_FLOW_ITEM_TYPE_VXLAN) {
            pat.items[i].mask = &vx_m;
        }
    }
    r = decap_create(pat.items, acts, 0);
    drain_p1();
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    len = vxlan_build(frame, sizeof frame, &ts, &spec);
    assert_true(decap_rx(frame, len));
    /* The same packet with 4 bytes of IPv4 options (NOPs). */
    memcpy(opt, frame, 34);
    memset(opt + 34, 1, 4);
    memcpy(opt + 38, frame + 34, len - 34);
    opt[14] = 0x46;
    opt[16] = (uint8_t) ((len + 4 - 14) >> 8);
    opt[17] = (uint8_t) (len + 4 - 14);
    opt[24] = opt[25] = 0;
    for (size_t i = 14; i < 38; i += 2) {
        sum += (uint32_t) (opt[i] << 8 | opt[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    opt[24] = (uint8_t) (~sum >> 8);
    opt[25] = (uint8_t) ~sum;
    assert_false(decap_rx(opt, len + 4));
    assert_int_equal(simnic_flow_destroy(nic, r, NULL, NULL), 0);
    drain_p1();
    /* It is a valid VXLAN packet: without the match, the rule takes it. */
    decap_pat_init(&pat, false);
    r = decap_create(pat.items, acts, 0);
    assert_true(decap_rx(opt, len + 4));
    assert_int_equal(simnic_flow_destroy(nic, r, NULL, NULL), 0);
    drain_p1();

    /* An IHL match on a rule that decapsulates nothing. */
    {
        struct rte_flow_item_ipv4 ip = { .hdr.version_ihl = 0x45 };
        struct rte_flow_item_ipv4 ipm = { .hdr.version_ihl = 0xff };
        struct rte_flow_item items[] = {
            { .type = RTE_FLOW_ITEM_TYPE_ETH },
            { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ipm },
            { .type = RTE_FLOW_ITEM_TYPE_END },
        };
        struct rte_flow_attr ingress = { .ingress = 1 };
        struct rte_flow_action drop[] = {
            { .type = RTE_FLOW_ACTION_TYPE_DROP },
            { .type = RTE_FLOW_ACTION_TYPE_END },
        };

        assert_int_equal(simnic_flow_validate(nic, id0, &ingress, items,
                                              drop, &e), EOPNOTSUPP);
    }
}

/* Rewrites after the decapsulation apply to the inner frame, and their
 * checks refer to the inner items. */
static void
test_decap_inner_rewrite(void **state)
{
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action_set_mac mac = {
        { 0x02, 0xcc, 0, 0, 0, 0x09 },
    };
    struct rte_flow_action_set_ipv4 sip = {
        .ipv4_addr = RTE_BE32(0xc0a80101),
    };
    struct rte_flow_action_set_tp stp = { .port = RTE_BE16(4444) };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_SET_MAC_DST, .conf = &mac },
        { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, .conf = &sip },
        { .type = RTE_FLOW_ACTION_TYPE_DEC_TTL },
        { .type = RTE_FLOW_ACTION_TYPE_SET_TP_SRC, .conf = &stp },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_attr transfer = { .transfer = 1 };
    uint8_t want[256], frame[256];
    size_t want_len, len;
    struct decap_pat pat;
    struct simnic_rule *r;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;

    (void) state;
    decap_pat_init(&pat, false);
    r = decap_create(pat.items, acts, 0);
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    len = vxlan_build(frame, sizeof frame, &ts, &spec);
    drain_p1();
    assert_true(decap_rx(frame, len));
    capture(p1, &cap);
    memcpy(spec.dl_dst, mac.mac_addr, 6);
    spec.ipv4.src = 0xc0a80101;
    spec.ipv4.ttl = 63;
    spec.l4.src = 4444;
    want_len = pkt_build(want, sizeof want, &spec);
    check_one(&cap, want, want_len);
    assert_true(pkt_check_csums(cap.frames[0], cap.lens[0], NULL));
    simnic_flow_destroy(nic, r, NULL, NULL);

    /* An inner IPv6 frame's rewrite needs an inner IPV6 item: the
     * outer one does not count. */
    decap_pat_init(&pat, true);
    acts[2].type = RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC;
    assert_int_equal(simnic_flow_validate(nic, id0, &transfer, pat.items,
                                          acts, NULL), EOPNOTSUPP);
}

/* Priorities: of two matching decap rules the lower number wins, also
 * over a rule its outer items keep from matching; two rules that differ
 * only in the outer Ethernet source each take their packets. */
static void
test_decap_priority(void **state)
{
    struct port_env env = { .socket_id = -1, .n_txq = 1, .mp = mp };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_action_ethdev to1 = { .port_id = id1 }, to2;
    struct rte_flow_action a1[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &to1 },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action a2[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &to2 },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    uint8_t want[256], frame[2][256];
    struct simnic_rule *r1, *r2, *ra, *rb;
    struct decap_pat pat, pat_src;
    size_t want_len, len[2];
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;
    struct port *p2;
    char err[256];
    uint16_t id2;

    (void) state;
    assert_int_equal(port_open("p2", "dummy", NULL, 0, &env, &p2, err,
                               sizeof err), 0);
    assert_int_equal(simnic_port_attach(nic, p2, &id2), 0);
    to2.port_id = id2;
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    want_len = pkt_build(want, sizeof want, &spec);
    len[0] = vxlan_build(frame[0], sizeof frame[0], &ts, &spec);
    memcpy(ts.eth_src, other_mac, 6);
    len[1] = vxlan_build(frame[1], sizeof frame[1], &ts, &spec);
    drain_p1();

    /* r1 (priority 1) to p1, r2 (priority 0, outer source exact) to
     * p2, in either order of creation. */
    decap_pat_init(&pat, false);
    decap_pat_init(&pat_src, false);
    memcpy(pat_src.eth.src.addr_bytes, outer_src_mac, 6);
    memset(pat_src.eth_m.src.addr_bytes, 0xff, 6);
    for (int order = 0; order < 2; order++) {
        if (order) {
            r2 = decap_create(pat_src.items, a2, 0);
            r1 = decap_create(pat.items, a1, 1);
        } else {
            r1 = decap_create(pat.items, a1, 1);
            r2 = decap_create(pat_src.items, a2, 0);
        }
        assert_true(decap_rx(frame[0], len[0]));
        capture(p2, &cap);
        check_one(&cap, want, want_len);
        /* The other source: r2's outer item refuses it, r1 takes it. */
        assert_true(decap_rx(frame[1], len[1]));
        capture(p1, &cap);
        check_one(&cap, want, want_len);
        simnic_flow_destroy(nic, r2, NULL, NULL);
        assert_true(decap_rx(frame[0], len[0]));
        capture(p1, &cap);
        check_one(&cap, want, want_len);
        simnic_flow_destroy(nic, r1, NULL, NULL);
    }

    /* Same priority, same everything but the outer source. */
    ra = decap_create(pat_src.items, a1, 0);
    memcpy(pat_src.eth.src.addr_bytes, other_mac, 6);
    rb = decap_create(pat_src.items, a2, 0);
    /* The same again is refused. */
    assert_int_equal(simnic_flow_create(nic, id0, &transfer, pat_src.items,
                                        a2, &r1, NULL), EEXIST);
    for (int i = 0; i < 2; i++) {
        assert_true(decap_rx(frame[i], len[i]));
        capture(i ? p2 : p1, &cap);
        check_one(&cap, want, want_len);
        capture(i ? p1 : p2, &cap);
        assert_int_equal(cap.n, 0);
    }
    simnic_flow_destroy(nic, ra, NULL, NULL);
    assert_true(decap_rx(frame[1], len[1]));
    assert_false(decap_rx(frame[0], len[0]));
    simnic_flow_destroy(nic, rb, NULL, NULL);

    simnic_port_detach(nic, id2);
    port_close(p2);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* Property: of random decap rules (each matching a random subset of the
 * outer Ethernet source, outer IPv4 source, outer UDP source port, VNI,
 * inner IPv4 destination and inner UDP destination, with distinct
 * priorities), a packet hits the one an oracle picks: the lowest
 * priority number among those all of whose fields agree; none, software.
 * The rule that was hit is told by its counter. */
static void
test_decap_priority_property(void **state)
{
    enum { N_FIELDS = 6, N_RULES = 6 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    int n_hits = 0, n_misses = 0, n_shadowed = 0;

    (void) state;
    for (int round = 0; round < 40; round++) {
        struct simnic_rule *r[N_RULES];
        bool used[N_RULES][N_FIELDS];
        int val[N_RULES][N_FIELDS];
        uint32_t prio[N_RULES];
        uint64_t count[N_RULES];

        for (int i = 0; i < N_RULES; i++) {
            prio[i] = (uint32_t) i;
        }
        for (int i = N_RULES - 1; i > 0; i--) {
            int j = (int) rnd((uint32_t) i + 1);
            uint32_t t = prio[i];

            prio[i] = prio[j];
            prio[j] = t;
        }
        for (int i = 0; i < N_RULES; i++) {
            struct decap_pat pat;

            decap_pat_init(&pat, false);
            pat.in_ip_m.hdr.dst_addr = 0;
            pat.in_udp_m.hdr.dst_port = 0;
            pat.items[4].spec = NULL;       /* VXLAN: any VNI. */
            for (int f = 0; f < N_FIELDS; f++) {
                used[i][f] = rnd(2);
                val[i][f] = (int) rnd(2);
            }
            if (used[i][0]) {
                memcpy(pat.eth.src.addr_bytes,
                       val[i][0] ? other_mac : outer_src_mac, 6);
                memset(pat.eth_m.src.addr_bytes, 0xff, 6);
            }
            if (used[i][1]) {
                pat.ip4.hdr.src_addr = htonl(0xc6336401
                                             + (uint32_t) val[i][1]);
            } else {
                pat.ip4_m.hdr.src_addr = 0;
            }
            if (used[i][2]) {
                pat.udp.hdr.src_port = htons((uint16_t) (49152
                                                         + val[i][2]));
                pat.udp_m.hdr.src_port = UINT16_MAX;
            }
            if (used[i][3]) {
                pat.vx.vni[2] = (uint8_t) (42 + val[i][3]);
                pat.items[4].spec = &pat.vx;
            }
            if (used[i][4]) {
                pat.in_ip.hdr.dst_addr = htonl(0x0a000002
                                               + (uint32_t) val[i][4]);
                pat.in_ip_m.hdr.dst_addr = UINT32_MAX;
            }
            if (used[i][5]) {
                pat.in_udp.hdr.dst_port = htons((uint16_t) (2000
                                                            + val[i][5]));
                pat.in_udp_m.hdr.dst_port = UINT16_MAX;
            }
            r[i] = decap_create(pat.items, acts, prio[i]);
            count[i] = 0;
        }
        for (int k = 0; k < 30; k++) {
            int pk[N_FIELDS], want = -1, n_match = 0;
            uint8_t frame[256];
            struct pkt_spec spec;
            struct tnl_spec ts;
            size_t len;

            for (int f = 0; f < N_FIELDS; f++) {
                pk[f] = (int) rnd(2);
            }
            decap_tnl_spec(&ts, false);
            if (pk[0]) {
                memcpy(ts.eth_src, other_mac, 6);
            }
            ts.ip_src = htonl(0xc6336401 + (uint32_t) pk[1]);
            ts.vni = 42 + (uint32_t) pk[3];
            pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
            spec.ipv4.dst = 0x0a000002 + (uint32_t) pk[4];
            spec.l4.dst = (uint16_t) (2000 + pk[5]);
            len = vxlan_build(frame, sizeof frame, &ts, &spec);
            /* The outer UDP source port (no UDP checksum to mend). */
            frame[35] = (uint8_t) (frame[35] + pk[2]);
            for (int i = 0; i < N_RULES; i++) {
                bool match = true;

                for (int f = 0; f < N_FIELDS; f++) {
                    match &= !used[i][f] || val[i][f] == pk[f];
                }
                if (match) {
                    n_match++;
                    if (want < 0 || prio[i] < prio[want]) {
                        want = i;
                    }
                }
            }
            assert_true(decap_rx(frame, len) == (want >= 0));
            for (int i = 0; i < N_RULES; i++) {
                uint64_t packets, bytes;

                simnic_flow_query(nic, r[i], &packets, &bytes);
                if (packets != count[i] + (i == want)) {
                    fail_msg("round %d packet %d: rule %d (priority %u) "
                             "hit, want %d", round, k, i, prio[i], want);
                }
                count[i] = packets;
            }
            n_hits += want >= 0;
            n_misses += want < 0;
            n_shadowed += n_match > 1;
        }
        for (int i = 0; i < N_RULES; i++) {
            simnic_flow_destroy(nic, r[i], NULL, NULL);
        }
    }
    /* Every case was exercised. */
    assert_true(n_hits > 100);
    assert_true(n_misses > 50);
    assert_true(n_shadowed > 50);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* A MARK rule on the outer headers still marks a VXLAN packet that no
 * decap rule takes (another VNI; a bad outer checksum); a drop decap
 * rule drops in hardware. */
static void
test_decap_coexists_with_mark(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_item_udp u = { .hdr.dst_port = RTE_BE16(4789) };
    struct rte_flow_item_udp um = { .hdr.dst_port = RTE_BE16(0xffff) };
    struct rte_flow_item pat_mark[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &u, .mask = &um },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_mark mark = { .id = 7 };
    struct rte_flow_action_queue q = { .index = 0 };
    struct rte_flow_action part[] = {
        { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
        { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action fwd[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    uint8_t want[256], frame[3][256];
    struct simnic_rule *rm, *rd;
    struct simnic_stats sb, sa;
    struct rte_mbuf *pkts[3];
    size_t want_len, len[3];
    struct decap_pat pat;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;

    (void) state;
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, pat_mark, part,
                                        &rm, NULL), 0);
    decap_pat_init(&pat, false);
    rd = decap_create(pat.items, fwd, 0);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    want_len = pkt_build(want, sizeof want, &spec);
    for (int i = 0; i < 3; i++) {
        decap_tnl_spec(&ts, false);
        ts.vni = i == 0 ? 43 : 42;
        len[i] = vxlan_build(frame[i], sizeof frame[i], &ts, &spec);
        pkts[i] = mbuf_of_bytes(frame[i], len[i]);
    }
    frame[2][24] ^= 0x01;
    rte_pktmbuf_mtod(pkts[2], uint8_t *)[24] ^= 0x01;
    drain_p1();
    assert_int_equal(simnic_rx(nic, id0, pkts, 3), 2);
    for (int i = 0; i < 2; i++) {
        size_t f = i ? 2 : 0;

        assert_true(pkts[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID);
        assert_int_equal(pkts[i]->hash.fdir.hi, 7);
        assert_int_equal(rte_pktmbuf_pkt_len(pkts[i]), len[f]);
        assert_memory_equal(rte_pktmbuf_mtod(pkts[i], void *), frame[f],
                            len[f]);
        rte_pktmbuf_free(pkts[i]);
    }
    capture(p1, &cap);
    check_one(&cap, want, want_len);
    simnic_flow_destroy(nic, rd, NULL, NULL);

    /* Decapsulate and drop. */
    rd = decap_create(pat.items, drop, 0);
    simnic_get_stats(nic, &sb);
    assert_true(decap_rx(frame[1], len[1]));
    simnic_get_stats(nic, &sa);
    assert_int_equal(sa.hw_dropped - sb.hw_dropped, 1);
    assert_int_equal(sa.hw_packets - sb.hw_packets, 1);
    assert_int_equal(sa.hw_bytes - sb.hw_bytes, len[1]);
    assert_int_equal(sa.marked, sb.marked);
    simnic_flow_destroy(nic, rd, NULL, NULL);
    simnic_flow_destroy(nic, rm, NULL, NULL);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* An outer VLAN tag: a rule with a VLAN item takes tagged packets only;
 * RAW_DECAP strips exactly its size, so its rules take only packets with
 * outer headers that long; VXLAN_DECAP strips whatever they are. */
static void
test_decap_outer_vlan(void **state)
{
    struct rte_flow_item_vlan vlan = { .tci = RTE_BE16(5) };
    struct rte_flow_item_vlan vlan_m = { .tci = RTE_BE16(0x0fff) };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action_raw_decap raw = { .size = 54 };
    uint8_t outer[54];
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_RAW_DECAP, .conf = &raw },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    uint8_t want[256], frame[2][256];
    size_t want_len, len[2];
    struct decap_pat pat;
    struct simnic_rule *r;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;

    (void) state;
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    want_len = pkt_build(want, sizeof want, &spec);
    len[0] = vxlan_build(frame[0], sizeof frame[0], &ts, &spec);
    /* The same with an 802.1Q tag, VID 5. */
    memcpy(frame[1], frame[0], 12);
    memcpy(frame[1] + 12, "\x81\x00\x00\x05", 4);
    memcpy(frame[1] + 16, frame[0] + 12, len[0] - 12);
    len[1] = len[0] + 4;
    memcpy(outer, frame[1], sizeof outer);
    raw.data = outer;
    drain_p1();

    /* ETH / VLAN / IPV4...: RAW_DECAP of 54 bytes. */
    decap_pat_init(&pat, false);
    memmove(&pat.items[3], &pat.items[2], 7 * sizeof pat.items[0]);
    pat.items[2] = (struct rte_flow_item) {
        .type = RTE_FLOW_ITEM_TYPE_VLAN, .spec = &vlan, .mask = &vlan_m,
    };
    r = decap_create(pat.items, acts, 0);
    assert_false(decap_rx(frame[0], len[0]));
    assert_true(decap_rx(frame[1], len[1]));
    capture(p1, &cap);
    check_one(&cap, want, want_len);
    simnic_flow_destroy(nic, r, NULL, NULL);

    /* No VLAN item: RAW_DECAP of 50 bytes takes the untagged one. */
    decap_pat_init(&pat, false);
    raw.size = 50;
    r = decap_create(pat.items, acts, 0);
    assert_false(decap_rx(frame[1], len[1]));
    assert_true(decap_rx(frame[0], len[0]));
    capture(p1, &cap);
    check_one(&cap, want, want_len);
    simnic_flow_destroy(nic, r, NULL, NULL);

    /* VXLAN_DECAP takes both. */
    acts[0] = (struct rte_flow_action) {
        .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP,
    };
    r = decap_create(pat.items, acts, 0);
    for (int i = 0; i < 2; i++) {
        assert_true(decap_rx(frame[i], len[i]));
        capture(p1, &cap);
        check_one(&cap, want, want_len);
    }
    simnic_flow_destroy(nic, r, NULL, NULL);
}

/* The tunnel UDP port: the UDP item's when it masks it, else 4789; at
 * most 8 distinct ports on a NIC, released with the rules. */
static void
test_decap_udp_ports(void **state)
{
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_attr transfer = { .transfer = 1 };
    uint8_t want[256], frame[256];
    struct simnic_rule *r[10];
    struct rte_flow_error e;
    size_t want_len, len;
    struct decap_pat pat;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct cap cap;

    (void) state;
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    want_len = pkt_build(want, sizeof want, &spec);
    drain_p1();
    /* UDP port unmasked: 4789. */
    decap_pat_init(&pat, false);
    pat.udp_m.hdr.dst_port = 0;
    r[0] = decap_create(pat.items, acts, 0);
    len = vxlan_build(frame, sizeof frame, &ts, &spec);
    assert_true(decap_rx(frame, len));
    capture(p1, &cap);
    check_one(&cap, want, want_len);
    ts.udp_dst = htons(5000);
    len = vxlan_build(frame, sizeof frame, &ts, &spec);
    assert_false(decap_rx(frame, len));
    simnic_flow_destroy(nic, r[0], NULL, NULL);

    for (int round = 0; round < 2; round++) {
        /* Ports 5000.. (8 of them), then a second rule on 5000. */
        decap_pat_init(&pat, false);
        for (int i = 0; i < 9; i++) {
            pat.udp.hdr.dst_port = htons((uint16_t) (5000 + i % 8
                                                     + round * 100));
            pat.vx.vni[2] = (uint8_t) (42 + i / 8);
            r[i] = decap_create(pat.items, acts, 0);
        }
        pat.udp.hdr.dst_port = htons((uint16_t) (5008 + round * 100));
        memset(&e, 0, sizeof e);
        assert_int_equal(simnic_flow_create(nic, id0, &transfer, pat.items,
                                            acts, &r[9], &e), ENOSPC);
        assert_non_null(strstr(e.message, "UDP ports"));
        ts.udp_dst = htons((uint16_t) (5007 + round * 100));
        len = vxlan_build(frame, sizeof frame, &ts, &spec);
        assert_true(decap_rx(frame, len));
        capture(p1, &cap);
        check_one(&cap, want, want_len);
        for (int i = 0; i < 9; i++) {
            simnic_flow_destroy(nic, r[i], NULL, NULL);
        }
        assert_false(decap_rx(frame, len));
    }
    /* A partially masked port. */
    decap_pat_init(&pat, false);
    pat.udp_m.hdr.dst_port = RTE_BE16(0xff00);
    assert_int_equal(simnic_flow_validate(nic, id0, &transfer, pat.items,
                                          acts, &e), EOPNOTSUPP);
    assert_non_null(strstr(e.message, "partially masked"));
    assert_int_equal(simnic_n_rules(nic), 0);
}

static void
test_decap_rejections(void **state)
{
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item_udp u = { .hdr.dst_port = RTE_BE16(4789) };
    struct rte_flow_item_vxlan vx = { .vni = { 0, 0, 42 } };
    struct rte_flow_item_vxlan vx_flags_m = {
        .flags = 0xff, .vni = { 0xff, 0xff, 0xff },
    };
    struct rte_flow_item no_vxlan[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &u },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item plain[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &u },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item geneve[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_GENEVE },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item vx_flags[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx,
          .mask = &vx_flags_m },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item two_vxlan[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN },
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
        { .type = RTE_FLOW_ITEM_TYPE_UDP },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_item_eth eth = { .type = 0 };
    struct rte_flow_item_ipv4 ip = { .hdr.dst_addr = RTE_BE32(1) };
    struct rte_flow_item_udp udp = { .hdr.src_port = 0 };
    struct rte_flow_item def[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &eth },
        { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip },
        { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp },
        { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &vx },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action_vxlan_encap enc = { .definition = def };
    struct rte_flow_action_raw_decap raw_bad = { .size = 54 };
    struct rte_flow_action_raw_decap raw_good = { .size = 50 };
    struct rte_flow_action_set_mac mac = { { 1, 2, 3, 4, 5, 6 } };
    struct rte_flow_action_set_ipv4 sip = { .ipv4_addr = RTE_BE32(1) };
    struct rte_flow_action_mark mark = { .id = 3 };
    struct rte_flow_action_queue q = { .index = 0 };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
#define DECAP_CASE(NAME, T1, C1, T2, C2)                                \
    struct rte_flow_action NAME[] = {                                   \
        { .type = RTE_FLOW_ACTION_TYPE_##T1, .conf = C1 },              \
        { .type = RTE_FLOW_ACTION_TYPE_##T2, .conf = C2 },              \
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out }, \
        { .type = RTE_FLOW_ACTION_TYPE_END },                           \
    }
    DECAP_CASE(a_decap, VXLAN_DECAP, NULL, VOID, NULL);
    DECAP_CASE(a_out, VOID, NULL, VOID, NULL);
    DECAP_CASE(a_rw_first, SET_MAC_DST, &mac, VXLAN_DECAP, NULL);
    DECAP_CASE(a_raw_bad, RAW_DECAP, &raw_bad, VOID, NULL);
    DECAP_CASE(a_raw_null, RAW_DECAP, NULL, VOID, NULL);
    DECAP_CASE(a_decap_encap, VXLAN_DECAP, NULL, VXLAN_ENCAP, &enc);
    DECAP_CASE(a_encap_decap, VXLAN_ENCAP, &enc, RAW_DECAP, &raw_good);
    DECAP_CASE(a_two, VXLAN_DECAP, NULL, RAW_DECAP, &raw_good);
    DECAP_CASE(a_ipv4_rw, VXLAN_DECAP, NULL, SET_IPV4_DST, &sip);
#undef DECAP_CASE
    struct rte_flow_action a_mark[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
        { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action a_queue[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action a_mark_drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_RAW_DECAP, .conf = &raw_good },
        { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action a_drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_RAW_DECAP, .conf = &raw_good },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    const struct {
        const struct rte_flow_attr *attr;
        const struct rte_flow_item *items;
        const struct rte_flow_action *actions;
        int err;
        const char *msg;
    } cases[] = {
        { &transfer, no_vxlan, a_decap, EOPNOTSUPP, "without a VXLAN item" },
        { &transfer, plain, a_out, EOPNOTSUPP, "VXLAN item without a "
                                                "decapsulation" },
        { &transfer, plain, a_rw_first, EOPNOTSUPP, "rewrite before "
                                                     "decapsulation" },
        { &transfer, plain, a_raw_bad, EINVAL, "RAW_DECAP size 54" },
        { &transfer, plain, a_raw_null, EINVAL, "RAW_DECAP without conf" },
        { &ingress, plain, a_mark, EOPNOTSUPP, "decapsulation with MARK" },
        { &ingress, plain, a_queue, EOPNOTSUPP, "decapsulation with MARK" },
        { &ingress, plain, a_mark_drop, EOPNOTSUPP, "decapsulation with" },
        { &transfer, plain, a_decap_encap, EOPNOTSUPP, "decapsulation and "
                                                        "encapsulation" },
        { &transfer, plain, a_encap_decap, EOPNOTSUPP, "decapsulation and "
                                                        "encapsulation" },
        { &transfer, plain, a_two, EOPNOTSUPP, "more than one decap" },
        { &transfer, plain, a_ipv4_rw, EOPNOTSUPP, "SET_IPV4 without an "
                                                    "IPV4 item" },
        { &transfer, geneve, a_decap, EOPNOTSUPP, "GENEVE" },
        { &transfer, vx_flags, a_decap, EOPNOTSUPP, "VXLAN flags" },
        { &transfer, two_vxlan, a_decap, EOPNOTSUPP, "more than one "
                                                      "tunnel item" },
    };
    struct rte_flow_error e;
    struct simnic_rule *r;

    (void) state;
    for (size_t i = 0; i < N(cases); i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(simnic_flow_validate(nic, id0, cases[i].attr,
                                              cases[i].items,
                                              cases[i].actions, &e),
                         cases[i].err);
        if (!strstr(e.message, cases[i].msg)) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.message,
                     cases[i].msg);
        }
        memset(&e, 0, sizeof e);
        assert_int_equal(simnic_flow_create(nic, id0, cases[i].attr,
                                            cases[i].items,
                                            cases[i].actions, &r, &e),
                         cases[i].err);
        assert_null(r);
        assert_non_null(e.message);
        if (!strstr(e.message, cases[i].msg)) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.message,
                     cases[i].msg);
        }
    }
    /* An ingress decap rule that drops; RAW_DECAP without data. */
    assert_int_equal(simnic_flow_create(nic, id0, &ingress, plain, a_drop,
                                        &r, &e), 0);
    simnic_flow_destroy(nic, r, NULL, NULL);
    assert_int_equal(simnic_n_rules(nic), 0);
}

/* A destroyed decap rule matches no more; a flush and a port detach
 * remove decap rules too (those created on the port and those that
 * output to it). */
static void
test_decap_destroy_flush_detach(void **state)
{
    struct port_env env = { .socket_id = -1, .n_txq = 1, .mp = mp };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_action_ethdev out = { .port_id = id1 };
    struct rte_flow_action acts[] = {
        { .type = RTE_FLOW_ACTION_TYPE_VXLAN_DECAP },
        { .type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, .conf = &out },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct simnic_rule *r;
    struct decap_pat pat;
    struct pkt_spec spec;
    struct tnl_spec ts;
    struct rte_mbuf *m;
    uint8_t frame[256];
    struct port *p2;
    char err[256];
    uint16_t id2;
    size_t len, n;

    (void) state;
    decap_tnl_spec(&ts, false);
    pkt_spec_init(&spec, PKT_L3_IPV4, IPPROTO_UDP_);
    len = vxlan_build(frame, sizeof frame, &ts, &spec);
    decap_pat_init(&pat, false);
    drain_p1();

    r = decap_create(pat.items, acts, 0);
    assert_true(decap_rx(frame, len));
    assert_int_equal(simnic_flow_destroy(nic, r, NULL, NULL), 0);
    assert_false(decap_rx(frame, len));

    r = decap_create(pat.items, acts, 0);
    assert_int_equal(simnic_port_n_rules(nic, id0), 1);
    assert_int_equal(simnic_flow_flush(nic, id0), 1);
    assert_int_equal(simnic_n_rules(nic), 0);
    assert_false(decap_rx(frame, len));

    /* p2: a rule created on it (from p2 to p1), and one from p0 to it;
     * the detach frees both. */
    assert_int_equal(port_open("p2", "dummy", NULL, 0, &env, &p2, err,
                               sizeof err), 0);
    assert_int_equal(simnic_port_attach(nic, p2, &id2), 0);
    pat.src.port_id = id2;
    assert_int_equal(simnic_flow_create(nic, id2, &transfer, pat.items,
                                        acts, &r, NULL), 0);
    pat.src.port_id = id0;
    out.port_id = id2;
    assert_non_null(decap_create(pat.items, acts, 0));
    assert_int_equal(simnic_port_n_rules(nic, id2), 1);
    drain_p1();
    m = mbuf_of_bytes(frame, len);
    assert_int_equal(simnic_rx(nic, id2, &m, 1), 0);
    assert_int_equal(port_dummy_capture(p1, drop_capture_cb, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_true(decap_rx(frame, len));
    assert_int_equal(port_dummy_capture(p2, drop_capture_cb, NULL, &n), 0);
    assert_int_equal(n, 1);
    simnic_port_detach(nic, id2);
    port_close(p2);
    assert_int_equal(simnic_n_rules(nic), 0);
    assert_false(decap_rx(frame, len));
}

/* ---- Setup. ---- */

static int
group_setup(void **state)
{
    char prefix[64];
    char *argv[] = {
        "test-simnic", "--no-huge", "-m", "128", "--file-prefix", prefix,
        "--no-pci", "--log-level=*:error", "--no-telemetry", NULL,
    };
    int argc = (int) N(argv) - 1;
    struct port_env env = { .socket_id = -1, .n_txq = 1 };
    struct simnic_params p = { .capacity = 64 };
    char err[256];

    (void) state;
    snprintf(prefix, sizeof prefix, "test-simnic-%d", (int) getpid());
    if (rte_eal_init(argc, argv) < 0) {
        return -1;
    }
    port_init_classes();
    mp = eal_test_mempool("test_simnic_mp", 1024, 0);
    if (!mp) {
        return -1;
    }
    env.mp = mp;
    if (port_open("p0", "dummy", NULL, 0, &env, &p0, err, sizeof err)
        || port_open("p1", "dummy", NULL, 0, &env, &p1, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    nic = simnic_get("t0", &p);
    if (!nic || simnic_port_attach(nic, p0, &id0)
        || simnic_port_attach(nic, p1, &id1)) {
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void) state;
    simnic_port_detach(nic, id0);
    simnic_port_detach(nic, id1);
    simnic_put(nic);
    port_close(p0);
    port_close(p1);
    rte_mempool_free(mp);
    eal_test_cleanup();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_capacity_and_failures),
        cmocka_unit_test(test_rx_drop_rewrite_mark_miss),
        cmocka_unit_test(test_hw_output_counted_by_port),
        cmocka_unit_test(test_aging),
        cmocka_unit_test(test_translation_agrees_with_megaflow),
        cmocka_unit_test(test_encap_vxlan_ipv4),
        cmocka_unit_test(test_encap_vxlan_ipv6),
        cmocka_unit_test(test_encap_raw_geneve),
        cmocka_unit_test(test_encap_after_rewrite),
        cmocka_unit_test(test_encap_rejections),
        cmocka_unit_test(test_decap_vxlan_ipv4),
        cmocka_unit_test(test_decap_vxlan_ipv6),
        cmocka_unit_test(test_decap_misses),
        cmocka_unit_test(test_decap_outer_no_options),
        cmocka_unit_test(test_decap_inner_rewrite),
        cmocka_unit_test(test_decap_priority),
        cmocka_unit_test(test_decap_priority_property),
        cmocka_unit_test(test_decap_coexists_with_mark),
        cmocka_unit_test(test_decap_outer_vlan),
        cmocka_unit_test(test_decap_udp_ports),
        cmocka_unit_test(test_decap_rejections),
        cmocka_unit_test(test_decap_destroy_flush_detach),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
