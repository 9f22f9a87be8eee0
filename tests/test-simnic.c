/* SPDX-License-Identifier: BSD-3-Clause */
/* test-simnic.c: the simulated SmartNIC: rejections, capacity, injected
 * failures, receive-side hits (drop, rewrite + output, MARK), hardware
 * output counted by the output port, aging, and agreement with the
 * megaflow it was translated from. */

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
        { &ingress, vxlan, drop, EOPNOTSUPP, "item type" },
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
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
