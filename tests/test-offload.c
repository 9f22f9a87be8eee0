/* SPDX-License-Identifier: BSD-3-Clause */
/* test-offload.c: megaflow -> rte_flow translation, the rte_flow
 * provider's error paths and its books (rte_flow_* wrapped at link time:
 * which ethdev each call went to, port or transfer proxy; what a flush
 * spares; what a refused destroy leaves) and the provider registry. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <endian.h>

#include <rte_flow.h>

#include "offload.h"
#include "dpdk-errno.h"
#include "offload-provider.h"

/* ---- Helpers. ---- */

static const struct offload_caps all_caps = {
    .full = true, .partial = true, .count = true, .age = true,
    .rewrite = true, .vlan = true, .output = true, .represented_port = true,
};

struct megaflow {
    struct flow flow, mask;
    struct dp_actions *acts;
};

static void
mf_init(struct megaflow *m)
{
    memset(m, 0, sizeof *m);
    m->acts = dp_actions_alloc(8);
    assert_non_null(m->acts);
    m->flow.in_port = 1;
    m->mask.in_port = UINT32_MAX;
}

static struct dp_action *
mf_add(struct megaflow *m, enum dp_action_type t)
{
    struct dp_action *a = &m->acts->a[m->acts->n++];

    memset(a, 0, sizeof *a);
    a->type = (uint16_t) t;
    return a;
}

static void
mf_ip_udp(struct megaflow *m, uint32_t dst, uint16_t dport)
{
    m->flow.dl_type = htons(ETH_TYPE_IP);
    m->mask.dl_type = UINT16_MAX;
    m->flow.nw_dst = htonl(dst);
    m->mask.nw_dst = UINT32_MAX;
    m->flow.nw_proto = IPPROTO_UDP_;
    m->mask.nw_proto = UINT8_MAX;
    m->flow.tp_dst = htons(dport);
    m->mask.tp_dst = UINT16_MAX;
}

/* Output port map: dp ports 1..4 are on the NIC as nic ports 10 + n. */
static bool
resolve(uint32_t dp_port, uint16_t *np, void *aux)
{
    (void) aux;
    if (dp_port >= 1 && dp_port <= 4) {
        *np = (uint16_t) (10 + dp_port);
        return true;
    }
    return false;
}

static int
xlate(const struct megaflow *m, enum offload_mode mode,
      const struct offload_caps *caps, struct offload_rule *r,
      enum offload_reason *reason, char *msg)
{
    struct offload_xlate x = {
        .flow = &m->flow, .mask = &m->mask, .actions = m->acts,
        .mode = mode, .caps = caps, .in_nic_port = 11,
        .resolve = resolve, .mark = 77, .n_rxq = 1, .age_s = 3,
        .age_context = (void *) 0x1234,
    };

    return offload_translate(&x, r, reason, msg, 128);
}

static void
check_types(const struct offload_rule *r, const int *items, size_t ni,
            const int *acts, size_t na)
{
    assert_int_equal(r->n_items, ni);
    for (size_t i = 0; i < ni; i++) {
        assert_int_equal(r->items[i].type, items[i]);
    }
    assert_int_equal(r->items[ni].type, RTE_FLOW_ITEM_TYPE_END);
    assert_int_equal(r->n_actions, na);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(r->actions[i].type, acts[i]);
    }
    assert_int_equal(r->actions[na].type, RTE_FLOW_ACTION_TYPE_END);
}

#define N(A) (sizeof (A) / sizeof (A)[0])

/* ---- Translation. ---- */

static void
test_drop_ipv4_udp(void **state)
{
    static const int items[] = {
        RTE_FLOW_ITEM_TYPE_ETH, RTE_FLOW_ITEM_TYPE_IPV4,
        RTE_FLOW_ITEM_TYPE_UDP,
    };
    static const int acts[] = {
        RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_AGE,
        RTE_FLOW_ACTION_TYPE_DROP,
    };
    struct offload_rule *r = malloc(sizeof *r);
    const struct rte_flow_item_ipv4 *ip, *ipm;
    const struct rte_flow_item_udp *udp, *udpm;
    const struct rte_flow_item_eth *eth, *ethm;
    enum offload_reason reason;
    struct megaflow m;
    char msg[128];

    (void) state;
    mf_init(&m);
    mf_ip_udp(&m, 0x0a000002, 53);
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason,
                           msg), 0);
    check_types(r, items, N(items), acts, N(acts));
    assert_true(r->attr.ingress);
    assert_false(r->attr.transfer);
    eth = r->items[0].spec;
    ethm = r->items[0].mask;
    assert_non_null(eth);
    assert_int_equal(eth->type, htons(ETH_TYPE_IP));
    assert_int_equal(ethm->type, 0xffff);
    assert_int_equal(ethm->has_vlan, 0);
    ip = r->items[1].spec;
    ipm = r->items[1].mask;
    assert_int_equal(ip->hdr.dst_addr, htonl(0x0a000002));
    assert_int_equal(ipm->hdr.dst_addr, UINT32_MAX);
    assert_int_equal(ipm->hdr.src_addr, 0);
    assert_int_equal(ip->hdr.next_proto_id, IPPROTO_UDP_);
    assert_int_equal(ipm->hdr.next_proto_id, 0xff);
    udp = r->items[2].spec;
    udpm = r->items[2].mask;
    assert_int_equal(udp->hdr.dst_port, htons(53));
    assert_int_equal(udpm->hdr.dst_port, 0xffff);
    assert_int_equal(udpm->hdr.src_port, 0);
    {
        const struct rte_flow_action_age *age = r->actions[1].conf;

        assert_int_equal(age->timeout, 3);
        assert_ptr_equal(age->context, (void *) 0x1234);
    }
    free(r);
    free(m.acts);
}

static void
test_output_with_rewrites(void **state)
{
    static const int items[] = {
        RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, RTE_FLOW_ITEM_TYPE_ETH,
        RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_UDP,
    };
    static const int acts[] = {
        RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_AGE,
        RTE_FLOW_ACTION_TYPE_SET_MAC_DST, RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC,
        RTE_FLOW_ACTION_TYPE_DEC_TTL, RTE_FLOW_ACTION_TYPE_SET_TP_DST,
        RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT,
    };
    struct offload_rule *r = malloc(sizeof *r);
    enum offload_reason reason;
    struct dp_action *a;
    struct megaflow m;
    char msg[128];

    (void) state;
    mf_init(&m);
    mf_ip_udp(&m, 0x0a000002, 53);
    m.flow.nw_ttl = 64;
    m.mask.nw_ttl = 0xff;
    a = mf_add(&m, DPA_SET_ETH);
    memcpy(a->eth.dst, "\x02\x00\x00\x00\x00\x99", 6);
    memset(a->eth.dst_mask, 0xff, 6);
    a = mf_add(&m, DPA_SET_IPV4);
    a->ipv4.src = htonl(0xc0a80001);
    a->ipv4.src_mask = UINT32_MAX;
    a->ipv4.ttl = 63;
    a->ipv4.ttl_mask = 0xff;
    a = mf_add(&m, DPA_SET_L4);
    a->l4.dst = htons(5353);
    a->l4.dst_mask = UINT16_MAX;
    a->l4.proto = IPPROTO_UDP_;
    mf_add(&m, DPA_OUTPUT)->port = 2;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason,
                           msg), 0);
    check_types(r, items, N(items), acts, N(acts));
    assert_true(r->attr.transfer);
    assert_false(r->attr.ingress);
    assert_int_equal(((const struct rte_flow_item_ethdev *)
                      r->items[0].spec)->port_id, 11);
    assert_memory_equal(((const struct rte_flow_action_set_mac *)
                         r->actions[2].conf)->mac_addr,
                        "\x02\x00\x00\x00\x00\x99", 6);
    assert_int_equal(((const struct rte_flow_action_set_ipv4 *)
                      r->actions[3].conf)->ipv4_addr, htonl(0xc0a80001));
    assert_int_equal(((const struct rte_flow_action_set_tp *)
                      r->actions[5].conf)->port, htons(5353));
    assert_int_equal(((const struct rte_flow_action_ethdev *)
                      r->actions[6].conf)->port_id, 12);

    /* A TTL that is not "matched - 1" is a SET_TTL; PORT_ID without
     * REPRESENTED_PORT support. */
    m.acts->a[1].ipv4.ttl = 5;
    {
        struct offload_caps c = all_caps;

        c.represented_port = false;
        c.age = false;
        assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason,
                               msg), 0);
    }
    assert_int_equal(r->items[0].type, RTE_FLOW_ITEM_TYPE_PORT_ID);
    assert_int_equal(r->actions[3].type, RTE_FLOW_ACTION_TYPE_SET_TTL);
    assert_int_equal(((const struct rte_flow_action_set_ttl *)
                      r->actions[3].conf)->ttl_value, 5);
    assert_int_equal(r->actions[5].type, RTE_FLOW_ACTION_TYPE_PORT_ID);
    assert_int_equal(((const struct rte_flow_action_port_id *)
                      r->actions[5].conf)->id, 12);
    free(r);
    free(m.acts);
}

static void
test_vlan_push_pop_set(void **state)
{
    static const int items[] = {
        RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, RTE_FLOW_ITEM_TYPE_ETH,
        RTE_FLOW_ITEM_TYPE_VLAN, RTE_FLOW_ITEM_TYPE_IPV4,
    };
    static const int acts[] = {
        RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_OF_POP_VLAN,
        RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN,
        RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID,
        RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP,
        RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID,
        RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT,
    };
    struct offload_rule *r = malloc(sizeof *r);
    struct offload_caps c = all_caps;
    const struct rte_flow_item_vlan *v, *vm;
    enum offload_reason reason;
    struct dp_action *a;
    struct megaflow m;
    char msg[128];

    (void) state;
    c.age = false;
    mf_init(&m);
    m.flow.vlan_tci = htons(FLOW_VLAN_CFI | 10);
    m.mask.vlan_tci = htons(FLOW_VLAN_CFI | FLOW_VLAN_VID_MASK);
    m.flow.dl_type = htons(ETH_TYPE_IP);
    m.mask.dl_type = 0xffff;
    mf_add(&m, DPA_POP_VLAN);
    a = mf_add(&m, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(0x8100);
    a->push_vlan.tci = htons(3 << FLOW_VLAN_PCP_SHIFT | 20);
    a = mf_add(&m, DPA_SET_VLAN);
    a->set_vlan.tci = htons(30);
    a->set_vlan.tci_mask = htons(FLOW_VLAN_VID_MASK);
    mf_add(&m, DPA_OUTPUT)->port = 3;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg), 0);
    check_types(r, items, N(items), acts, N(acts));
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[1].spec)->has_vlan, 1);
    v = r->items[2].spec;
    vm = r->items[2].mask;
    assert_int_equal(v->tci, htons(10));
    assert_int_equal(vm->tci, htons(FLOW_VLAN_VID_MASK));
    assert_int_equal(v->inner_type, htons(ETH_TYPE_IP));
    /* IPv4 without fields: the item alone says "IPv4". */
    assert_null(r->items[3].spec);
    assert_int_equal(((const struct rte_flow_action_of_push_vlan *)
                      r->actions[2].conf)->ethertype, htons(0x8100));
    assert_int_equal(((const struct rte_flow_action_of_set_vlan_vid *)
                      r->actions[3].conf)->vlan_vid, htons(20));
    assert_int_equal(((const struct rte_flow_action_of_set_vlan_pcp *)
                      r->actions[4].conf)->vlan_pcp, 3);
    assert_int_equal(((const struct rte_flow_action_of_set_vlan_vid *)
                      r->actions[5].conf)->vlan_vid, htons(30));

    /* "No tag" is has_vlan = 0 under a has_vlan mask. */
    m.flow.vlan_tci = 0;
    m.acts->n = 0;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg), 0);
    assert_int_equal(r->items[0].type, RTE_FLOW_ITEM_TYPE_ETH);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[0].mask)->has_vlan, 1);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[0].spec)->has_vlan, 0);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[0].spec)->type, htons(ETH_TYPE_IP));
    free(r);
    free(m.acts);
}

static void
test_ipv6_tcp_icmp_sctp(void **state)
{
    struct offload_rule *r = malloc(sizeof *r);
    const struct rte_flow_item_ipv6 *ip, *ipm;
    enum offload_reason reason;
    struct dp_action *a;
    struct megaflow m;
    char msg[128];

    (void) state;
    mf_init(&m);
    m.flow.dl_type = htons(ETH_TYPE_IPV6);
    m.mask.dl_type = 0xffff;
    memset(m.flow.ipv6_dst, 0x20, 16);
    memset(m.mask.ipv6_dst, 0xff, 8);
    m.flow.nw_tos = 0xb8;
    m.mask.nw_tos = 0xfc;
    m.flow.ipv6_label = htonl(0x12345);
    m.mask.ipv6_label = htonl(0xfffff);
    m.flow.nw_proto = IPPROTO_TCP_;
    m.mask.nw_proto = 0xff;
    m.flow.tp_src = htons(80);
    m.mask.tp_src = 0xffff;
    m.flow.tcp_flags = htons(0x02);
    m.mask.tcp_flags = htons(0x12);
    m.mask.nw_frag = FLOW_NW_FRAG_ANY;
    a = mf_add(&m, DPA_SET_IPV6);
    memset(a->ipv6.dst, 0x30, 16);
    memset(a->ipv6.dst_mask, 0xff, 16);
    a->ipv6.tclass = 0x28;
    a->ipv6.tclass_mask = 0xfc;
    mf_add(&m, DPA_OUTPUT)->port = 4;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason,
                           msg), 0);
    assert_int_equal(r->items[2].type, RTE_FLOW_ITEM_TYPE_IPV6);
    ip = r->items[2].spec;
    ipm = r->items[2].mask;
    assert_memory_equal(ip->hdr.dst_addr, m.flow.ipv6_dst, 16);
    assert_memory_equal(ipm->hdr.dst_addr, m.mask.ipv6_dst, 16);
    assert_int_equal(ntohl(ip->hdr.vtc_flow), 0xb8u << 20 | 0x12345);
    assert_int_equal(ntohl(ipm->hdr.vtc_flow), 0xfcu << 20 | 0xfffff);
    assert_int_equal(ipm->has_frag_ext, 1);
    assert_int_equal(ip->has_frag_ext, 0);
    assert_int_equal(r->items[3].type, RTE_FLOW_ITEM_TYPE_TCP);
    assert_int_equal(((const struct rte_flow_item_tcp *)
                      r->items[3].spec)->hdr.tcp_flags, 0x02);
    assert_int_equal(((const struct rte_flow_item_tcp *)
                      r->items[3].mask)->hdr.tcp_flags, 0x12);
    assert_int_equal(r->actions[2].type, RTE_FLOW_ACTION_TYPE_SET_IPV6_DST);
    assert_int_equal(r->actions[3].type, RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP);
    assert_int_equal(((const struct rte_flow_action_set_dscp *)
                      r->actions[3].conf)->dscp, 0x0a);

    /* ICMPv6 type/code. */
    m.acts->n = 0;
    m.flow.nw_proto = IPPROTO_ICMPV6_;
    m.flow.tp_src = htons(135);
    m.flow.tp_dst = htons(0);
    m.mask.tp_dst = 0xffff;
    m.mask.tcp_flags = 0;
    m.flow.tcp_flags = 0;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason,
                           msg), 0);
    assert_int_equal(r->items[2].type, RTE_FLOW_ITEM_TYPE_ICMP6);
    assert_int_equal(((const struct rte_flow_item_icmp6 *)
                      r->items[2].spec)->type, 135);
    assert_int_equal(((const struct rte_flow_item_icmp6 *)
                      r->items[2].mask)->code, 0xff);

    /* ICMPv4, SCTP. */
    free(m.acts);
    mf_init(&m);
    m.flow.dl_type = htons(ETH_TYPE_IP);
    m.mask.dl_type = 0xffff;
    m.flow.nw_proto = IPPROTO_ICMP_;
    m.mask.nw_proto = 0xff;
    m.flow.tp_src = htons(8);
    m.mask.tp_src = 0xffff;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason,
                           msg), 0);
    assert_int_equal(r->items[2].type, RTE_FLOW_ITEM_TYPE_ICMP);
    assert_int_equal(((const struct rte_flow_item_icmp *)
                      r->items[2].spec)->hdr.icmp_type, 8);
    m.flow.nw_proto = IPPROTO_SCTP_;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason,
                           msg), 0);
    assert_int_equal(r->items[2].type, RTE_FLOW_ITEM_TYPE_SCTP);
    assert_int_equal(((const struct rte_flow_item_sctp *)
                      r->items[2].spec)->hdr.src_port, htons(8));
    free(r);
    free(m.acts);
}

static void
test_partial(void **state)
{
    static const int acts_q[] = {
        RTE_FLOW_ACTION_TYPE_MARK, RTE_FLOW_ACTION_TYPE_QUEUE,
    };
    struct offload_rule *r = malloc(sizeof *r);
    enum offload_reason reason;
    struct megaflow m;
    char msg[128];
    static const int items[] = {
        RTE_FLOW_ITEM_TYPE_ETH, RTE_FLOW_ITEM_TYPE_IPV4,
        RTE_FLOW_ITEM_TYPE_UDP,
    };

    (void) state;
    mf_init(&m);
    mf_ip_udp(&m, 1, 2);
    mf_add(&m, DPA_OUTPUT)->port = 9;     /* Not on the NIC: irrelevant. */
    mf_add(&m, DPA_OUTPUT)->port = 8;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_PARTIAL, &all_caps, r, &reason,
                           msg), 0);
    check_types(r, items, N(items), acts_q, N(acts_q));
    assert_true(r->attr.ingress);
    assert_int_equal(((const struct rte_flow_action_mark *)
                      r->actions[0].conf)->id, 77);
    {
        struct offload_xlate x = {
            .flow = &m.flow, .mask = &m.mask, .actions = m.acts,
            .mode = OFFLOAD_MODE_PARTIAL, .caps = &all_caps, .mark = 5,
            .n_rxq = 4,
        };
        const struct rte_flow_action_rss *rss;

        assert_int_equal(offload_translate(&x, r, &reason, msg, 128), 0);
        assert_int_equal(r->actions[1].type, RTE_FLOW_ACTION_TYPE_RSS);
        rss = r->actions[1].conf;
        assert_int_equal(rss->queue_num, 4);
        for (unsigned i = 0; i < 4; i++) {
            assert_int_equal(rss->queue[i], i);
        }
        x.mark = 0;
        assert_int_equal(offload_translate(&x, r, &reason, msg, 128),
                         EOPNOTSUPP);
        assert_int_equal(reason, OFFLOAD_R_NO_MARK_ID);
    }
    free(r);
    free(m.acts);
}

/* Each case: a megaflow the NIC cannot take in full, and why. */
static void
test_reasons(void **state)
{
    struct offload_rule *r = malloc(sizeof *r);
    struct offload_caps c = all_caps;
    enum offload_reason reason;
    struct dp_action *a;
    struct megaflow m;
    char msg[128];

    (void) state;
    /* A first pass that ends in ct() and a recirculation outputs nothing
     * and yet is no drop: refused as software-only, for full and partial
     * rules alike (it was installed as a hardware DROP). */
    mf_init(&m);
    mf_ip_udp(&m, 1, 2);
    mf_add(&m, DPA_CT)->ct.zone = 5;
    mf_add(&m, DPA_RECIRC)->recirc_id = 2;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    assert_non_null(strstr(msg, "connection tracking"));
    m.acts->n = 1;          /* A final ct() alone: the packet ends there. */
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    free(m.acts);
    /* Two outputs. */
    mf_init(&m);
    mf_add(&m, DPA_OUTPUT)->port = 2;
    mf_add(&m, DPA_OUTPUT)->port = 3;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MULTI_OUTPUT);
    /* Output to a port of another NIC. */
    m.acts->n = 0;
    mf_add(&m, DPA_OUTPUT)->port = 7;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_OUTPUT_OTHER_NIC);
    assert_non_null(strstr(msg, "7"));
    /* A rewrite after the output. */
    m.acts->n = 0;
    mf_add(&m, DPA_OUTPUT)->port = 2;
    mf_add(&m, DPA_POP_VLAN);
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    /* Masked MAC rewrite. */
    m.acts->n = 0;
    a = mf_add(&m, DPA_SET_ETH);
    a->eth.src_mask[0] = 0xff;
    mf_add(&m, DPA_OUTPUT)->port = 2;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    /* No rewrite capability (Intel-like). */
    m.acts->a[0].eth.src_mask[1] = 0xff;
    memset(m.acts->a[0].eth.src_mask, 0xff, 6);
    c.rewrite = false;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    c.rewrite = true;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg), 0);
    /* ECN rewrite. */
    free(m.acts);
    mf_init(&m);
    mf_ip_udp(&m, 1, 2);
    a = mf_add(&m, DPA_SET_IPV4);
    a->ipv4.tos = 1;
    a->ipv4.tos_mask = 3;
    mf_add(&m, DPA_OUTPUT)->port = 2;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    /* No DROP at all. */
    c.full = false;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_NIC_NO_FULL);
    c.partial = false;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_PARTIAL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_NIC_NO_PARTIAL);
    c = all_caps;

    /* Matches a NIC cannot take. */
    free(m.acts);
    mf_init(&m);
    m.mask.vlan_tci2 = htons(FLOW_VLAN_CFI);
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MATCH_UNSUPPORTED);
    free(m.acts);
    mf_init(&m);
    m.flow.dl_type = htons(ETH_TYPE_ARP);
    m.mask.dl_type = 0xffff;
    m.mask.nw_src = UINT32_MAX;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MATCH_UNSUPPORTED);
    assert_non_null(strstr(msg, "nw_src"));
    m.mask.nw_src = 0;
    m.mask.arp_sha[0] = 0xff;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "arp_sha"));
    /* Only the ARP ethertype: fine. */
    m.mask.arp_sha[0] = 0;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg), 0);
    /* Later fragments; TCP flags above bit 7. */
    free(m.acts);
    mf_init(&m);
    mf_ip_udp(&m, 1, 2);
    m.flow.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    m.mask.nw_frag = FLOW_NW_FRAG_MASK;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MATCH_UNSUPPORTED);
    m.flow.nw_frag = 0;
    m.flow.nw_proto = IPPROTO_TCP_;
    m.mask.tcp_flags = htons(0x100);
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MATCH_UNSUPPORTED);
    /* Disabled. */
    assert_int_equal(xlate(&m, OFFLOAD_MODE_NONE, &c, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_PORT_DISABLED);
    free(r);
    free(m.acts);
}

/* Property: the translated pattern keeps every masked bit of the megaflow
 * (nothing wider in hardware): for single-bit masks of each L2-L4 field,
 * translation either fails with a reason or produces a rule whose item
 * masks are nonzero. */
static void
test_every_field_translated_or_refused(void **state)
{
    struct offload_rule *r = malloc(sizeof *r);
    enum offload_reason reason;
    struct megaflow m;
    char msg[128];

    (void) state;
    for (size_t byte = 8; byte < sizeof(struct flow); byte++) {
        for (int proto = 0; proto < 3; proto++) {
            uint8_t *mk;
            int err;

            mf_init(&m);
            m.flow.dl_type = htons(proto == 2 ? ETH_TYPE_IPV6
                                              : ETH_TYPE_IP);
            m.mask.dl_type = 0xffff;
            m.flow.nw_proto = proto ? IPPROTO_TCP_ : IPPROTO_UDP_;
            m.mask.nw_proto = 0xff;
            mk = (uint8_t *) &m.mask;
            if (mk[byte]) {
                free(m.acts);
                continue;
            }
            mk[byte] = 0x01;
            if (byte >= offsetof(struct flow, pad1)
                && byte < offsetof(struct flow, pad1) + 2) {
                free(m.acts);
                continue;
            }
            if (byte >= offsetof(struct flow, pad2)) {
                free(m.acts);
                continue;
            }
            err = xlate(&m, OFFLOAD_MODE_FULL, &all_caps, r, &reason, msg);
            if (err) {
                assert_int_equal(err, EOPNOTSUPP);
                assert_int_equal(reason, OFFLOAD_R_MATCH_UNSUPPORTED);
                assert_true(msg[0] != '\0');
            } else {
                /* Some item carries a nonzero mask for that bit. */
                bool any = false;

                for (size_t i = 0; i < r->n_items; i++) {
                    if (r->items[i].mask) {
                        any = true;
                    }
                }
                assert_true(any);
            }
            free(m.acts);
        }
    }
    free(r);
}

/* Tunnels: a megaflow ending in a DPA_TNL_PUSH block of one output
 * becomes the inner rewrites, VXLAN_ENCAP or RAW_ENCAP of the template and
 * that output; what a NIC cannot do like software is refused by name. */
static void
tnl_megaflow(struct megaflow *m, enum tnl_type type, uint8_t *hdr,
             size_t *hdr_len)
{
    struct tnl_spec spec = {
        .type = type, .eth_src = { 2, 0, 0, 0, 0, 1 },
        .eth_dst = { 2, 0, 0, 0, 0, 2 }, .ip_src = htonl(0xac1f0001),
        .ip_dst = htonl(0xac1f0002), .df = true, .vni = 42,
        .udp_dst = htons(type == TNL_VXLAN ? TNL_VXLAN_PORT
                                           : TNL_GENEVE_PORT),
    };
    struct dp_action *a;

    *hdr_len = tnl_build(&spec, hdr, TNL_HDR_MAX);
    assert_int_equal(*hdr_len, type == TNL_VXLAN ? 50 : 50);
    mf_init(m);
    mf_ip_udp(m, 0x0a090002, 53);
    a = mf_add(m, DPA_SET_IPV4);
    a->ipv4.dst = htonl(0x0a090003);
    a->ipv4.dst_mask = UINT32_MAX;
    a = mf_add(m, DPA_TNL_PUSH);
    a->tnl_push.type = (uint8_t) type;
    a->tnl_push.n_data = 1;
    a->tnl_push.hdr_len = (uint16_t) *hdr_len;
    a->tnl_push.n_acts = 1;
    a->tnl_push.tnl_port = 9;
    a->tnl_push.outer_in_port = 8;
    memcpy(mf_add(m, DPA_TNL_DATA)->data, hdr, *hdr_len);
    mf_add(m, DPA_OUTPUT)->port = 2;
}

static int
xlate_mtu(const struct megaflow *m, const struct offload_caps *caps,
          uint32_t in_mtu, struct offload_rule *r,
          enum offload_reason *reason, char *msg)
{
    struct offload_xlate x = {
        .flow = &m->flow, .mask = &m->mask, .actions = m->acts,
        .mode = OFFLOAD_MODE_FULL, .caps = caps, .in_nic_port = 11,
        .in_mtu = in_mtu, .resolve = resolve, .age_s = 3,
    };

    return offload_translate(&x, r, reason, msg, 128);
}

static void
test_tunnel_encap(void **state)
{
    static const int items[] = {
        RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, RTE_FLOW_ITEM_TYPE_ETH,
        RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_UDP,
    };
    static const int acts[] = {
        RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_AGE,
        RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP,
        RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT,
    };
    struct offload_caps caps = all_caps;
    struct offload_rule *r = malloc(sizeof *r);
    const struct rte_flow_action_vxlan_encap *ve;
    const struct rte_flow_action_raw_encap *raw;
    const struct rte_flow_item_eth *ethm;
    uint8_t hdr[TNL_HDR_MAX];
    enum offload_reason reason;
    struct megaflow m;
    size_t hdr_len;
    char msg[128];

    (void) state;
    caps.vxlan_encap = caps.raw_encap = true;
    assert_string_equal(offload_encap_caps(&caps), "vxlan+raw");
    tnl_megaflow(&m, TNL_VXLAN, hdr, &hdr_len);
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     0);
    check_types(r, items, N(items), acts, N(acts));
    assert_true(r->attr.transfer);
    ve = r->actions[3].conf;
    assert_int_equal(ve->definition[0].type, RTE_FLOW_ITEM_TYPE_ETH);
    assert_int_equal(ve->definition[1].type, RTE_FLOW_ITEM_TYPE_IPV4);
    assert_int_equal(ve->definition[2].type, RTE_FLOW_ITEM_TYPE_UDP);
    assert_int_equal(ve->definition[3].type, RTE_FLOW_ITEM_TYPE_VXLAN);
    assert_int_equal(ve->definition[4].type, RTE_FLOW_ITEM_TYPE_END);
    assert_memory_equal(((const struct rte_flow_item_eth *)
                         ve->definition[0].spec)->hdr.dst_addr.addr_bytes,
                        "\x02\x00\x00\x00\x00\x02", 6);
    assert_int_equal(((const struct rte_flow_item_ipv4 *)
                      ve->definition[1].spec)->hdr.dst_addr,
                     htonl(0xac1f0002));
    assert_int_equal(((const struct rte_flow_item_udp *)
                      ve->definition[2].spec)->hdr.dst_port,
                     htons(TNL_VXLAN_PORT));
    assert_int_equal(((const struct rte_flow_item_udp *)
                      ve->definition[2].spec)->hdr.src_port, 0);
    assert_memory_equal(&((const struct rte_flow_item_vxlan *)
                          ve->definition[3].spec)->hdr, hdr + 42, 8);
    assert_int_equal(((const struct rte_flow_action_ethdev *)
                      r->actions[4].conf)->port_id, 12);

    /* A NIC with RAW_ENCAP only: the template's bytes. */
    caps.vxlan_encap = false;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     0);
    assert_int_equal(r->actions[3].type, RTE_FLOW_ACTION_TYPE_RAW_ENCAP);
    raw = r->actions[3].conf;
    assert_int_equal(raw->size, hdr_len);
    assert_null(raw->preserve);
    assert_memory_equal(raw->data, hdr, hdr_len);

    /* Neither: refused, named. */
    caps.raw_encap = false;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_ACTION_UNSUPPORTED);
    assert_non_null(strstr(msg, "RAW_ENCAP"));
    caps.vxlan_encap = caps.raw_encap = true;

    /* The outer UDP checksum: software only. */
    m.acts->a[1].tnl_push.csum = 1;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "checksum"));
    m.acts->a[1].tnl_push.csum = 0;

    /* The underlay output on another NIC. */
    m.acts->a[3].port = 7;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_OUTPUT_OTHER_NIC);
    m.acts->a[3].port = 2;

    /* MTU: the underlay carries inner frames of up to 1464 bytes. */
    m.acts->a[1].tnl_push.max_inner = 1464;
    assert_int_equal(xlate_mtu(&m, &caps, 0, r, &reason, msg), EOPNOTSUPP);
    assert_non_null(strstr(msg, "unknown MTU"));
    assert_int_equal(xlate_mtu(&m, &caps, 1500, r, &reason, msg),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "1514"));
    /* 1450 + 14 fits untagged only: tagged frames stay in software. */
    assert_int_equal(xlate_mtu(&m, &caps, 1450, r, &reason, msg), 0);
    ethm = r->items[1].mask;
    assert_non_null(ethm);
    assert_int_equal(ethm->has_vlan, 1);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[1].spec)->has_vlan, 0);
    /* With room for a tag, no VLAN match. */
    assert_int_equal(xlate_mtu(&m, &caps, 1446, r, &reason, msg), 0);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[1].mask)->has_vlan, 0);
    m.acts->a[1].tnl_push.max_inner = 0;

    /* Two outputs in the underlay, or an output after the block. */
    m.acts->a[1].tnl_push.n_acts = 2;
    mf_add(&m, DPA_OUTPUT)->port = 3;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MULTI_OUTPUT);
    m.acts->a[1].tnl_push.n_acts = 1;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_MULTI_OUTPUT);
    m.acts->n--;
    /* A rewrite of the outer packet. */
    m.acts->a[3].type = DPA_SET_ETH;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "one output"));
    m.acts->a[3].type = DPA_OUTPUT;
    free(m.acts);

    /* GENEVE: RAW_ENCAP, or refused without it. */
    tnl_megaflow(&m, TNL_GENEVE, hdr, &hdr_len);
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     0);
    assert_int_equal(r->actions[3].type, RTE_FLOW_ACTION_TYPE_RAW_ENCAP);
    caps.raw_encap = false;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "GENEVE"));
    free(m.acts);

    /* Decapsulation: full refused, partial (MARK) taken. */
    caps.raw_encap = true;
    mf_init(&m);
    mf_ip_udp(&m, 0xac1f0001, TNL_VXLAN_PORT);
    mf_add(&m, DPA_TNL_POP)->tnl_pop.type = TNL_VXLAN;
    assert_int_equal(xlate(&m, OFFLOAD_MODE_FULL, &caps, r, &reason, msg),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "decapsulation"));
    assert_int_equal(xlate(&m, OFFLOAD_MODE_PARTIAL, &caps, r, &reason,
                           msg), 0);
    assert_int_equal(r->actions[0].type, RTE_FLOW_ACTION_TYPE_MARK);
    free(m.acts);
    free(r);
}

/* A decapsulation: the first pass (tnl_pop) and the second (the inner
 * packet on the tunnel port) in one rule. */
static void
test_tunnel_decap(void **state)
{
    static const int items[] = {
        RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, RTE_FLOW_ITEM_TYPE_ETH,
        RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_UDP,
        RTE_FLOW_ITEM_TYPE_VXLAN, RTE_FLOW_ITEM_TYPE_ETH,
        RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_UDP,
    };
    static const int acts[] = {
        RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_AGE,
        RTE_FLOW_ACTION_TYPE_VXLAN_DECAP, RTE_FLOW_ACTION_TYPE_SET_MAC_DST,
        RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT,
    };
    struct offload_caps caps = all_caps;
    struct offload_rule *r = malloc(sizeof *r);
    const struct rte_flow_item_ipv4 *ip, *ipm;
    enum offload_reason reason;
    struct megaflow a, b;
    struct offload_decap d;
    struct dp_action *act;
    char msg[128];
    struct offload_xlate x;

    (void) state;
    caps.vxlan_decap = caps.raw_decap = true;
    /* The first pass: to the endpoint's address and MAC, UDP 4789. */
    mf_init(&a);
    mf_ip_udp(&a, 0xac1f0001, TNL_VXLAN_PORT);
    memcpy(a.flow.dl_dst, "\x02\x00\x00\x00\x00\x01", 6);
    memset(a.mask.dl_dst, 0xff, 6);
    mf_add(&a, DPA_TNL_POP)->tnl_pop.type = TNL_VXLAN;
    /* The second: on tunnel port 9, VNI 42, to 10.9.0.2:53. */
    mf_init(&b);
    b.flow.in_port = 9;
    mf_ip_udp(&b, 0x0a090002, 53);
    b.flow.tunnel.tun_id = htobe64(42);
    b.mask.tunnel.tun_id = UINT64_MAX;
    act = mf_add(&b, DPA_SET_ETH);
    memcpy(act->eth.dst, "\x02\x00\x00\x00\x00\x99", 6);
    memset(act->eth.dst_mask, 0xff, 6);
    mf_add(&b, DPA_OUTPUT)->port = 2;
    memset(&d, 0, sizeof d);
    d.flow = &a.flow;
    d.mask = &a.mask;
    d.src4 = htonl(0xac1f0002);
    d.dst4 = htonl(0xac1f0001);
    d.udp_port = htons(TNL_VXLAN_PORT);
    d.vni = 42;
    memset(&x, 0, sizeof x);
    x.flow = &b.flow;
    x.mask = &b.mask;
    x.actions = b.acts;
    x.mode = OFFLOAD_MODE_FULL;
    x.caps = &caps;
    x.in_nic_port = 11;
    x.resolve = resolve;
    x.age_s = 3;
    x.decap = &d;
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128), 0);
    check_types(r, items, N(items), acts, N(acts));
    ip = r->items[2].spec;
    ipm = r->items[2].mask;
    assert_int_equal(ip->hdr.src_addr, htonl(0xac1f0002));
    assert_int_equal(ipm->hdr.src_addr, UINT32_MAX);
    assert_int_equal(ip->hdr.dst_addr, htonl(0xac1f0001));
    assert_int_equal(ipm->hdr.fragment_offset, htons(0x3fff));
    assert_int_equal(((const struct rte_flow_item_udp *)
                      r->items[3].spec)->hdr.dst_port,
                     htons(TNL_VXLAN_PORT));
    assert_memory_equal(((const struct rte_flow_item_vxlan *)
                         r->items[4].spec)->vni, "\x00\x00\x2a", 3);
    /* Valid VXLAN, no outer IPv4 options, untagged outer frames: the
     * outer length is fixed (50 bytes). */
    assert_int_equal(((const struct rte_flow_item_vxlan *)
                      r->items[4].mask)->flags, 0x08);
    assert_int_equal(ipm->hdr.version_ihl, 0xff);
    assert_int_equal(((const struct rte_flow_item_ipv4 *)
                      r->items[2].spec)->hdr.version_ihl, 0x45);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[1].mask)->has_vlan, 1);
    assert_int_equal(r->decap_len, 50);
    ip = r->items[6].spec;
    assert_int_equal(ip->hdr.dst_addr, htonl(0x0a090002));
    assert_int_equal(((const struct rte_flow_item_udp *)
                      r->items[7].spec)->hdr.dst_port, htons(53));
    assert_true(r->attr.transfer);

    /* RAW_DECAP only: the outer length, untagged outer frames. */
    caps.vxlan_decap = false;
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128), 0);
    assert_int_equal(r->actions[2].type, RTE_FLOW_ACTION_TYPE_RAW_DECAP);
    assert_int_equal(((const struct rte_flow_action_raw_decap *)
                      r->actions[2].conf)->size, 50);
    assert_int_equal(((const struct rte_flow_item_eth *)
                      r->items[1].mask)->has_vlan, 1);
    caps.raw_decap = false;
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "DECAP"));
    caps.vxlan_decap = caps.raw_decap = true;

    /* The second pass's tunnel match must agree, and be visible. */
    b.flow.tunnel.tun_id = htobe64(43);
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "disagree"));
    b.flow.tunnel.tun_id = htobe64(42);
    b.flow.tunnel.tos = 0x10;
    b.mask.tunnel.tos = 0xff;
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128),
                     EOPNOTSUPP);
    assert_non_null(strstr(msg, "tun_tos"));
    b.flow.tunnel.tos = b.mask.tunnel.tos = 0;
    b.mask.tunnel.flags = htons(FLOW_TNL_F_KEY);
    b.flow.tunnel.flags = htons(FLOW_TNL_F_KEY);
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128), 0);

    /* Full only; an output off the NIC stays in software. */
    x.mode = OFFLOAD_MODE_PARTIAL;
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128),
                     EOPNOTSUPP);
    x.mode = OFFLOAD_MODE_FULL;
    b.acts->a[1].port = 7;
    assert_int_equal(offload_translate(&x, r, &reason, msg, 128),
                     EOPNOTSUPP);
    assert_int_equal(reason, OFFLOAD_R_OUTPUT_OTHER_NIC);
    free(a.acts);
    free(b.acts);
    free(r);
}

/* ---- The rte_flow provider with rte_flow_* wrapped. ---- */

static uint64_t validate_fail_mask; /* bit i: i-th validate call fails
                                     * (all ones: every call) */
static int validate_calls;
static int create_errno;
static int destroy_ret, query_ret, aged_ret, flush_calls;
static uint16_t created_on;
static uint64_t q_hits = 7, q_bytes = 700;
static int dpdk_id_ret;
static int callback_ret;
static uint16_t dpdk_id = 5;        /* What port_get_dpdk_port_id says. */
static int proxy_override = -1;     /* >= 0: every port's proxy. */
static int meta_ret;                /* port_get_rx_metadata() */
static uint64_t meta_features = RTE_ETH_RX_METADATA_USER_MARK
                                | RTE_ETH_RX_METADATA_USER_FLAG;
static int aged_port = -1;          /* >= 0: only it has an aged rule. */

/* The fake NIC's rules: where each was created, whether it is alive. */
#define N_HW 64
static struct hw_rule {
    uint16_t port;
    bool alive;
} hw[N_HW];
static size_t n_hw_used;
/* Ethdevs flushed, queried, asked for aged rules, in call order. */
static uint16_t flushed_on[16], queried_on, aged_on[16];
static size_t n_flushed_on, n_aged_on;
/* AGE callbacks registered per ethdev (register - unregister). */
static int cb_regs[256];
static int cb_register_calls;

static size_t
hw_alive_on(uint16_t port)
{
    size_t n = 0;

    for (size_t i = 0; i < n_hw_used; i++) {
        n += hw[i].alive && hw[i].port == port;
    }
    return n;
}

int __wrap_rte_flow_validate(uint16_t, const struct rte_flow_attr *,
                             const struct rte_flow_item *,
                             const struct rte_flow_action *,
                             struct rte_flow_error *);
int
__wrap_rte_flow_validate(uint16_t port_id, const struct rte_flow_attr *attr,
                         const struct rte_flow_item *pat,
                         const struct rte_flow_action *act,
                         struct rte_flow_error *e)
{
    int k = validate_calls++;

    (void) port_id;
    (void) attr;
    (void) pat;
    (void) act;
    if (k < 64 ? (validate_fail_mask >> k) & 1
               : validate_fail_mask == UINT64_MAX) {
        e->message = "wrapped: not supported";
        return -ENOTSUP;
    }
    return 0;
}

struct rte_flow *__wrap_rte_flow_create(uint16_t,
                                        const struct rte_flow_attr *,
                                        const struct rte_flow_item *,
                                        const struct rte_flow_action *,
                                        struct rte_flow_error *);
struct rte_flow *
__wrap_rte_flow_create(uint16_t port_id, const struct rte_flow_attr *attr,
                       const struct rte_flow_item *pat,
                       const struct rte_flow_action *act,
                       struct rte_flow_error *e)
{
    (void) attr;
    (void) pat;
    (void) act;
    created_on = port_id;
    if (create_errno) {
        rte_errno = create_errno;
        e->message = "wrapped: create failed";
        return NULL;
    }
    assert_true(n_hw_used < N_HW);
    hw[n_hw_used] = (struct hw_rule) { .port = port_id, .alive = true };
    return (struct rte_flow *) &hw[n_hw_used++];
}

int __wrap_rte_flow_destroy(uint16_t, struct rte_flow *,
                            struct rte_flow_error *);
int
__wrap_rte_flow_destroy(uint16_t port_id, struct rte_flow *f,
                        struct rte_flow_error *e)
{
    struct hw_rule *r = (struct hw_rule *) f;

    (void) e;
    /* A rule is destroyed on the ethdev it was created on, once. */
    assert_true(r->alive);
    assert_int_equal(r->port, port_id);
    if (destroy_ret) {
        return destroy_ret;
    }
    r->alive = false;
    return 0;
}

int __wrap_rte_flow_query(uint16_t, struct rte_flow *,
                          const struct rte_flow_action *, void *,
                          struct rte_flow_error *);
int
__wrap_rte_flow_query(uint16_t port_id, struct rte_flow *f,
                      const struct rte_flow_action *a, void *data,
                      struct rte_flow_error *e)
{
    struct rte_flow_query_count *q = data;
    struct hw_rule *r = (struct hw_rule *) f;

    (void) e;
    assert_true(r->alive);
    assert_int_equal(r->port, port_id);
    queried_on = port_id;
    assert_int_equal(a->type, RTE_FLOW_ACTION_TYPE_COUNT);
    if (query_ret) {
        return query_ret;
    }
    q->hits_set = q->bytes_set = 1;
    q->hits = q_hits;
    q->bytes = q_bytes;
    return 0;
}

int __wrap_rte_flow_flush(uint16_t, struct rte_flow_error *);
int
__wrap_rte_flow_flush(uint16_t port_id, struct rte_flow_error *e)
{
    (void) e;
    flush_calls++;
    if (n_flushed_on < 16) {
        flushed_on[n_flushed_on++] = port_id;
    }
    for (size_t i = 0; i < n_hw_used; i++) {
        if (hw[i].port == port_id) {
            hw[i].alive = false;
        }
    }
    return 0;
}

int __wrap_rte_flow_get_aged_flows(uint16_t, void **, uint32_t,
                                   struct rte_flow_error *);
int
__wrap_rte_flow_get_aged_flows(uint16_t port_id, void **ctx, uint32_t n,
                               struct rte_flow_error *e)
{
    (void) e;
    if (n_aged_on < 16) {
        aged_on[n_aged_on++] = port_id;
    }
    if (aged_port >= 0 && port_id != aged_port) {
        return 0;
    }
    if (aged_ret > 0 && n) {
        ctx[0] = (void *) 0x42;
        return 1;
    }
    return aged_ret;
}

int __wrap_rte_flow_pick_transfer_proxy(uint16_t, uint16_t *,
                                        struct rte_flow_error *);
int
__wrap_rte_flow_pick_transfer_proxy(uint16_t port_id, uint16_t *proxy,
                                    struct rte_flow_error *e)
{
    (void) e;
    *proxy = proxy_override >= 0 ? (uint16_t) proxy_override
                                 : (uint16_t) (port_id + 100);
    return 0;
}

int __wrap_port_get_dpdk_port_id(const struct port *, uint16_t *);
int
__wrap_port_get_dpdk_port_id(const struct port *port, uint16_t *id)
{
    (void) port;
    *id = dpdk_id;
    return dpdk_id_ret;
}

int __wrap_port_get_rx_metadata(const struct port *, uint64_t *);
int
__wrap_port_get_rx_metadata(const struct port *port, uint64_t *features)
{
    (void) port;
    *features = meta_features;
    return meta_ret;
}

int __wrap_rte_eth_dev_callback_register(uint16_t, int, void *, void *);
int
__wrap_rte_eth_dev_callback_register(uint16_t port_id, int event, void *cb,
                                     void *arg)
{
    (void) cb;
    (void) arg;
    assert_int_equal(event, RTE_ETH_EVENT_FLOW_AGED);
    cb_register_calls++;
    if (callback_ret) {
        return callback_ret;
    }
    /* DPDK keeps one of identical callbacks: sluice must not rely on a
     * second registration. */
    assert_int_equal(cb_regs[port_id], 0);
    cb_regs[port_id]++;
    return 0;
}

int __wrap_rte_eth_dev_callback_unregister(uint16_t, int, void *, void *);
int
__wrap_rte_eth_dev_callback_unregister(uint16_t port_id, int event,
                                       void *cb, void *arg)
{
    (void) event;
    (void) cb;
    (void) arg;
    assert_int_equal(cb_regs[port_id], 1);
    cb_regs[port_id]--;
    return 0;
}

int __wrap_rte_eth_dev_info_get(uint16_t, void *);
int
__wrap_rte_eth_dev_info_get(uint16_t port_id, void *info)
{
    (void) port_id;
    (void) info;
    return -ENODEV;
}

static void
reset_wraps(void)
{
    validate_fail_mask = 0;
    validate_calls = 0;
    create_errno = 0;
    destroy_ret = query_ret = aged_ret = 0;
    flush_calls = 0;
    dpdk_id_ret = 0;
    callback_ret = 0;
    dpdk_id = 5;
    proxy_override = -1;
    meta_ret = 0;
    meta_features = RTE_ETH_RX_METADATA_USER_MARK
                    | RTE_ETH_RX_METADATA_USER_FLAG;
    aged_port = -1;
    memset(hw, 0, sizeof hw);
    n_hw_used = 0;
    n_flushed_on = n_aged_on = 0;
    queried_on = 0;
    memset(cb_regs, 0, sizeof cb_regs);
    cb_register_calls = 0;
}

static void
rf_port(struct offload_port *op)
{
    memset(op, 0, sizeof *op);
    op->class = &offload_rte_flow_class;
    snprintf(op->name, sizeof op->name, "p0");
    snprintf(op->nic, sizeof op->nic, "p0");
    op->mode = OFFLOAD_MODE_FULL;
    op->n_rxq = 1;
}

static void
test_rf_probe(void **state)
{
    const struct offload_class *c = &offload_rte_flow_class;
    struct offload_port op;
    char err[256];

    (void) state;
    /* Everything validates. */
    reset_wraps();
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.full && op.caps.partial && op.caps.count
                && op.caps.age && op.caps.rewrite && op.caps.vlan
                && op.caps.output && op.caps.represented_port);
    assert_int_equal(op.nic_port_id, 5);
    c->port_free(&op);

    /* Validate order: full, partial, count, age, rewrite, vlan, output
     * (REPRESENTED_PORT), output (PORT_ID).  An Intel-like NIC: no AGE,
     * no rewrite, no VLAN, no e-switch output. */
    reset_wraps();
    validate_fail_mask = 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.full && op.caps.partial && op.caps.count);
    assert_false(op.caps.age || op.caps.rewrite || op.caps.vlan
                 || op.caps.output);
    assert_non_null(strstr(op.probe, "age=0"));
    c->port_free(&op);

    /* Rewrites refused before DROP but taken before an output (calls 7
     * and 8, counting from 0: SET_IPV4_SRC and OF_POP_VLAN ahead of
     * REPRESENTED_PORT). */
    reset_wraps();
    validate_fail_mask = 1 << 4 | 1 << 5;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.rewrite && op.caps.vlan && op.caps.output);
    assert_int_equal(validate_calls, 13);
    c->port_free(&op);
    reset_wraps();
    validate_fail_mask = 1 << 4 | 1 << 5 | 1 << 7 | 1 << 8;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_false(op.caps.rewrite || op.caps.vlan);
    assert_true(op.caps.full && op.caps.output);
    c->port_free(&op);
    /* Everything validates: no fallback call; both encapsulations. */
    reset_wraps();
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_int_equal(validate_calls, 11);
    assert_true(op.caps.vxlan_encap && op.caps.raw_encap);
    assert_true(op.caps.vxlan_decap && op.caps.raw_decap);
    assert_non_null(strstr(op.probe, "encap=vxlan+raw decap=vxlan+raw"));
    c->port_free(&op);

    /* PORT_ID instead of REPRESENTED_PORT. */
    reset_wraps();
    validate_fail_mask = 1 << 6;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.output);
    assert_false(op.caps.represented_port);
    c->port_free(&op);

    /* AGE validates but the event cannot be registered: COUNT polling. */
    reset_wraps();
    callback_ret = -EINVAL;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_false(op.caps.age);
    assert_true(op.caps.count);
    c->port_free(&op);

    /* Nothing validates: refused, with the PMD's message. */
    reset_wraps();
    validate_fail_mask = -1;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), EOPNOTSUPP);
    assert_non_null(strstr(err, "wrapped: not supported"));
    c->port_free(&op);

    /* Not an ethdev. */
    reset_wraps();
    dpdk_id_ret = ENOTSUP;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), EOPNOTSUPP);
    assert_non_null(strstr(err, "ethdev"));
    c->port_free(&op);
}

static void
test_rf_flow_errors(void **state)
{
    const struct offload_class *c = &offload_rte_flow_class;
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action counted[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rte_flow_action uncounted[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    static const struct {
        int rte_errno_;
        int expect;
    } create_cases[] = {
        { ENOSPC, ENOSPC }, { ENOMEM, ENOSPC }, { ENOTSUP, EOPNOTSUPP },
        { EINVAL, EINVAL }, { EEXIST, EEXIST }, { EIO, EIO },
    };
    struct offload_counters cnt;
    struct rte_flow_error e;
    struct offload_port op;
    void *ctx[4], *h;
    char err[256];

    (void) state;
    reset_wraps();
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);

    for (size_t i = 0; i < N(create_cases); i++) {
        memset(&e, 0, sizeof e);
        create_errno = create_cases[i].rte_errno_;
        h = (void *) 1;
        assert_int_equal(c->flow_put(&op, &ingress, pat, counted, &h, &e),
                         create_cases[i].expect);
        assert_null(h);
        assert_string_equal(e.message, "wrapped: create failed");
    }
    create_errno = 0;

    /* Ingress on the port, transfer on its proxy. */
    assert_int_equal(c->flow_put(&op, &ingress, pat, counted, &h, &e), 0);
    assert_int_equal(created_on, 5);
    query_ret = -EIO;
    assert_int_equal(c->flow_query(&op, h, &cnt), EIO);
    query_ret = 0;
    assert_int_equal(c->flow_query(&op, h, &cnt), 0);
    assert_int_equal(cnt.packets, 7);
    assert_int_equal(cnt.bytes, 700);
    /* Destroy fails: the error is reported, the counters still are. */
    destroy_ret = -EBUSY;
    assert_int_equal(c->flow_del(&op, h, &cnt), EBUSY);
    assert_int_equal(cnt.packets, 7);
    destroy_ret = 0;

    assert_int_equal(c->flow_put(&op, &transfer, pat, uncounted, &h, &e),
                     0);
    assert_int_equal(created_on, 105);
    /* Without COUNT: zeros, no query. */
    query_ret = -EIO;
    assert_int_equal(c->flow_query(&op, h, &cnt), 0);
    assert_int_equal(cnt.packets, 0);
    /* Query failure at delete: zero last counters, delete still done. */
    assert_int_equal(c->flow_del(&op, h, &cnt), 0);
    assert_int_equal(cnt.packets, 0);
    query_ret = 0;

    aged_ret = -ENOTSUP;
    assert_int_equal(c->aged_flows(&op, ctx, 4), 0);
    aged_ret = 1;
    aged_port = 5;
    assert_int_equal(c->aged_flows(&op, ctx, 4), 1);
    assert_ptr_equal(ctx[0], (void *) 0x42);

    /* The rule whose destroy failed is still on the books: the flush
     * destroys it. */
    assert_int_equal(c->port_rules_left(&op), 1);
    assert_int_equal(c->flush(&op), 1);
    assert_int_equal(flush_calls, 1);
    assert_int_equal(c->port_rules_left(&op), 0);
    c->port_uninit(&op);
    c->port_free(&op);
}

/* Rules of one port, ingress on the port and transfer on its proxy:
 * every call about a rule goes to the ethdev it was created on; aged
 * rules are asked of both; AGE events are registered on both. */
static void
test_rf_proxy_routing(void **state)
{
    const struct offload_class *c = &offload_rte_flow_class;
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action counted[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct offload_counters cnt;
    struct rte_flow_error e;
    struct offload_port op;
    void *hi, *ht, *ctx[4];
    char err[256];

    (void) state;
    reset_wraps();
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.age && op.caps.output);
    assert_int_equal(cb_regs[5], 1);
    assert_int_equal(cb_regs[105], 1);

    assert_int_equal(c->flow_put(&op, &ingress, pat, counted, &hi, &e), 0);
    assert_int_equal(created_on, 5);
    assert_int_equal(c->flow_put(&op, &transfer, pat, counted, &ht, &e), 0);
    assert_int_equal(created_on, 105);
    assert_int_equal(c->port_rules_left(&op), 2);
    assert_int_equal(c->n_rules_left(), 2);

    assert_int_equal(c->flow_query(&op, ht, &cnt), 0);
    assert_int_equal(queried_on, 105);
    assert_int_equal(c->flow_query(&op, hi, &cnt), 0);
    assert_int_equal(queried_on, 5);

    /* Aged transfer rules are on the proxy's list. */
    aged_ret = 1;
    aged_port = 105;
    assert_int_equal(c->aged_flows(&op, ctx, 4), 1);
    assert_int_equal(n_aged_on, 2);
    assert_int_equal(aged_on[0], 5);
    assert_int_equal(aged_on[1], 105);

    /* Destroy on the proxy (the wrap checks the ethdev). */
    assert_int_equal(c->flow_del(&op, ht, &cnt), 0);
    assert_int_equal(hw_alive_on(105), 0);
    assert_int_equal(hw_alive_on(5), 1);
    assert_int_equal(c->port_rules_left(&op), 1);

    /* Flush: the rest one by one, then the port itself, never the
     * proxy. */
    assert_int_equal(c->flush(&op), 1);
    assert_int_equal(n_flushed_on, 1);
    assert_int_equal(flushed_on[0], 5);
    assert_int_equal(c->port_rules_left(&op), 0);
    assert_int_equal(c->n_rules_left(), 0);

    c->port_uninit(&op);
    assert_int_equal(cb_regs[5], 0);
    assert_int_equal(cb_regs[105], 0);
    c->port_free(&op);
}

/* Three ports of one e-switch: A (id 1) is the proxy, B (2) and C (3)
 * are its representors.  A flush of one never takes another's rules. */
static void
test_rf_shared_proxy_flush(void **state)
{
    const struct offload_class *c = &offload_rte_flow_class;
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct offload_port a, b, cc;
    struct rte_flow_error e;
    void *h;
    char err[256];

    (void) state;
    reset_wraps();
    proxy_override = 1;
    rf_port(&a);
    dpdk_id = 1;
    assert_int_equal(c->port_init(&a, err, sizeof err), 0);
    rf_port(&b);
    dpdk_id = 2;
    assert_int_equal(c->port_init(&b, err, sizeof err), 0);
    rf_port(&cc);
    dpdk_id = 3;
    assert_int_equal(c->port_init(&cc, err, sizeof err), 0);
    /* One registration per ethdev, however many ports need it. */
    assert_int_equal(cb_regs[1], 1);
    assert_int_equal(cb_regs[2], 1);
    assert_int_equal(cb_regs[3], 1);
    assert_int_equal(cb_register_calls, 3);

    /* A: an ingress rule on 1.  B: a transfer rule on 1 and an ingress
     * rule on 2.  C: a transfer rule on 1. */
    assert_int_equal(c->flow_put(&a, &ingress, pat, drop, &h, &e), 0);
    assert_int_equal(c->flow_put(&b, &transfer, pat, drop, &h, &e), 0);
    assert_int_equal(created_on, 1);
    assert_int_equal(c->flow_put(&b, &ingress, pat, drop, &h, &e), 0);
    assert_int_equal(created_on, 2);
    assert_int_equal(c->flow_put(&cc, &transfer, pat, drop, &h, &e), 0);
    assert_int_equal(hw_alive_on(1), 3);
    assert_int_equal(c->n_rules_left(), 4);

    /* B's flush: its own two rules, and rte_flow_flush(2), not (1). */
    assert_int_equal(c->flush(&b), 2);
    assert_int_equal(n_flushed_on, 1);
    assert_int_equal(flushed_on[0], 2);
    assert_int_equal(hw_alive_on(1), 2);
    assert_int_equal(c->port_rules_left(&b), 0);
    assert_int_equal(c->port_rules_left(&a), 1);
    assert_int_equal(c->port_rules_left(&cc), 1);

    /* A is C's proxy: A's flush destroys A's rule only and does not
     * flush ethdev 1 (C's transfer rule lives there). */
    n_flushed_on = 0;
    assert_int_equal(c->flush(&a), 1);
    assert_int_equal(n_flushed_on, 0);
    assert_int_equal(hw_alive_on(1), 1);
    assert_int_equal(c->port_rules_left(&cc), 1);

    /* B leaves: A and C still get events on 1. */
    c->port_uninit(&b);
    assert_int_equal(cb_regs[1], 1);
    assert_int_equal(cb_regs[2], 0);
    c->port_uninit(&a);
    assert_int_equal(cb_regs[1], 1);        /* C's, through its proxy. */
    /* C alone: its flush destroys its rule on 1 and flushes 3. */
    assert_int_equal(c->flush(&cc), 1);
    assert_int_equal(n_flushed_on, 1);
    assert_int_equal(flushed_on[0], 3);
    assert_int_equal(hw_alive_on(1), 0);
    c->port_uninit(&cc);
    assert_int_equal(cb_regs[1], 0);
    assert_int_equal(cb_regs[3], 0);

    /* Once nobody else uses A as a proxy, A's flush flushes ethdev 1. */
    n_flushed_on = 0;
    dpdk_id = 1;
    c->port_free(&a);
    c->port_free(&b);
    c->port_free(&cc);
    rf_port(&a);
    assert_int_equal(c->port_init(&a, err, sizeof err), 0);
    assert_int_equal(c->flush(&a), 0);
    assert_int_equal(n_flushed_on, 1);
    assert_int_equal(flushed_on[0], 1);
    c->port_free(&a);
}

/* A NIC that refuses destroys: the rules stay on the books, flush tries
 * again, and what is left is reported per port and in all. */
static void
test_rf_destroy_refused(void **state)
{
    const struct offload_class *c = &offload_rte_flow_class;
    struct rte_flow_attr ingress = { .ingress = 1 };
    struct rte_flow_attr transfer = { .transfer = 1 };
    struct rte_flow_item pat[] = {
        { .type = RTE_FLOW_ITEM_TYPE_ETH },
        { .type = RTE_FLOW_ITEM_TYPE_END },
    };
    struct rte_flow_action drop[] = {
        { .type = RTE_FLOW_ACTION_TYPE_DROP },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct offload_counters cnt;
    struct offload_port op;
    struct rte_flow_error e;
    void *hi, *ht;
    char err[256];

    (void) state;
    reset_wraps();
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_int_equal(c->flow_put(&op, &ingress, pat, drop, &hi, &e), 0);
    assert_int_equal(c->flow_put(&op, &transfer, pat, drop, &ht, &e), 0);
    destroy_ret = -EIO;
    assert_int_equal(c->flow_del(&op, hi, &cnt), EIO);
    assert_int_equal(c->flow_del(&op, ht, &cnt), EIO);
    assert_int_equal(c->port_rules_left(&op), 2);
    assert_int_equal(c->n_rules_left(), 2);

    /* Destroys still refused: rte_flow_flush(port) takes the ingress
     * rule; the transfer rule on the proxy stays, and is counted. */
    assert_int_equal(c->flush(&op), 1);
    assert_int_equal(hw_alive_on(5), 0);
    assert_int_equal(hw_alive_on(105), 1);
    assert_int_equal(c->port_rules_left(&op), 1);
    assert_int_equal(c->n_rules_left(), 1);

    /* The NIC recovers: the next flush destroys it. */
    destroy_ret = 0;
    assert_int_equal(c->flush(&op), 1);
    assert_int_equal(hw_alive_on(105), 0);
    assert_int_equal(c->port_rules_left(&op), 0);
    c->port_free(&op);
    assert_int_equal(c->n_rules_left(), 0);
}

/* Partial offload only where the PMD delivers the MARK. */
static void
test_rf_mark_delivery(void **state)
{
    const struct offload_class *c = &offload_rte_flow_class;
    struct offload_port op;
    char err[256];

    (void) state;
    /* Negotiated. */
    reset_wraps();
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.partial && op.caps.mark_delivery);
    assert_non_null(strstr(op.probe, "mark=negotiated"));
    c->port_free(&op);

    /* The PMD has no negotiation (ENOTSUP): the mark is assumed. */
    reset_wraps();
    meta_ret = ENOTSUP;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_true(op.caps.partial && op.caps.mark_delivery);
    assert_non_null(strstr(op.probe, "mark=assumed"));
    c->port_free(&op);

    /* Negotiated away: no partial; a full port still offloads. */
    reset_wraps();
    meta_features = RTE_ETH_RX_METADATA_USER_FLAG;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_false(op.caps.partial || op.caps.mark_delivery);
    assert_true(op.caps.full);
    assert_non_null(strstr(op.probe, "partial=0"));
    assert_non_null(strstr(op.probe, "mark=refused by the PMD"));
    c->port_free(&op);

    /* ... and a partial port runs in software, saying why. */
    reset_wraps();
    meta_features = 0;
    rf_port(&op);
    op.mode = OFFLOAD_MODE_PARTIAL;
    assert_int_equal(c->port_init(&op, err, sizeof err), EOPNOTSUPP);
    assert_non_null(strstr(err, "partial offload unsupported: MARK "
                                "delivery"));
    assert_int_equal(cb_regs[5], 0);        /* Nothing left registered. */
    c->port_free(&op);

    /* The negotiation failed: unknown counts as not delivered. */
    reset_wraps();
    meta_ret = EBUSY;
    meta_features = 0;
    rf_port(&op);
    assert_int_equal(c->port_init(&op, err, sizeof err), 0);
    assert_false(op.caps.partial || op.caps.mark_delivery);
    assert_non_null(strstr(op.probe, "mark=unknown"));
    c->port_free(&op);
}

static void
test_errno_conversion(void **state)
{
    (void) state;
    assert_int_equal(dpdk_errno(-ENOSPC), ENOSPC);
    assert_int_equal(dpdk_errno(-ENOTSUP), EOPNOTSUPP);
    rte_errno = 0;
    assert_int_equal(dpdk_errno(0), EIO);
    rte_errno = EEXIST;
    assert_int_equal(dpdk_errno(-EPERM), EPERM);
    assert_int_equal(dpdk_errno(0), EEXIST);
    assert_string_equal(offload_reason_name(OFFLOAD_R_TABLE_FULL),
                        "table_full");
    assert_string_equal(offload_reason_name(OFFLOAD_N_REASONS), "?");
    assert_string_equal(offload_state_name(OFFLOAD_STATE_PARTIAL),
                        "partial");
}

/* ---- Provider registry. ---- */

static size_t
reg_n_rules_left(void)
{
    return 7;
}

/* Classes are found by name and, without a name, by port type; the
 * built-in ones are registered once. */
static void
test_provider_registry(void **state)
{
    /* A provider for tap ports, with simnic's ops. */
    static struct offload_class tapnic;
    static const struct offload_class incomplete = { .name = "nops" };
    size_t left;

    (void) state;
    offload_init_classes();
    offload_init_classes();         /* Idempotent. */
    assert_ptr_equal(offload_class_lookup("rte_flow"),
                     &offload_rte_flow_class);
    assert_ptr_equal(offload_class_lookup("simnic"), &offload_simnic_class);
    assert_null(offload_class_lookup("nosuch"));
    assert_ptr_equal(offload_class_default("dpdk"), &offload_rte_flow_class);
    assert_ptr_equal(offload_class_default("dummy"), &offload_simnic_class);
    assert_ptr_equal(offload_class_default("vhostuser"),
                     &offload_simnic_class);
    assert_ptr_equal(offload_class_default("tap"), &offload_simnic_class);
    left = offload_classes_rules_left();
    tapnic = offload_simnic_class;
    tapnic.name = "tapnic";
    tapnic.default_port_type = "tap";
    tapnic.n_rules_left = reg_n_rules_left;

    assert_int_equal(offload_class_register(&offload_simnic_class), EEXIST);
    assert_int_equal(offload_class_register(&incomplete), EINVAL);
    assert_int_equal(offload_class_register(NULL), EINVAL);
    assert_int_equal(offload_class_register(&tapnic), 0);
    assert_ptr_equal(offload_class_lookup("tapnic"), &tapnic);
    assert_ptr_equal(offload_class_default("tap"), &tapnic);
    assert_ptr_equal(offload_class_default("dummy"), &offload_simnic_class);
    assert_int_equal(offload_classes_rules_left(), left + 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_ipv4_udp),
        cmocka_unit_test(test_output_with_rewrites),
        cmocka_unit_test(test_vlan_push_pop_set),
        cmocka_unit_test(test_ipv6_tcp_icmp_sctp),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_tunnel_encap),
        cmocka_unit_test(test_tunnel_decap),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_every_field_translated_or_refused),
        cmocka_unit_test(test_rf_probe),
        cmocka_unit_test(test_rf_flow_errors),
        cmocka_unit_test(test_rf_proxy_routing),
        cmocka_unit_test(test_rf_shared_proxy_flush),
        cmocka_unit_test(test_rf_destroy_refused),
        cmocka_unit_test(test_rf_mark_delivery),
        cmocka_unit_test(test_errno_conversion),
        cmocka_unit_test(test_provider_registry),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
