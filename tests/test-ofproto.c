/* SPDX-License-Identifier: BSD-3-Clause */
/* test-ofproto.c: flow-mod semantics, xlate and un-wildcarding of ofproto. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "mac-learning.h"
#include "ofp-parse.h"
#include "ofproto.h"

/* ---- Helpers. ---- */

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_C[6] = {0x02, 0, 0, 0, 0, 0x0c};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* A new ofproto with ports ofport N <-> dp port 10 + N for N = 1..n. */
static struct ofproto *
new_ofp(int n_ports)
{
    struct ofproto *ofp = ofproto_create("br0");
    assert_non_null(ofp);
    for (int i = 1; i <= n_ports; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        assert_int_equal(ofproto_port_add(ofp, i, 10 + i, name), 0);
    }
    return ofp;
}

static void
parse(struct of_flow_spec *s, const char *text, enum of_flow_cmd cmd)
{
    char err[256] = "";
    int error = of_flow_parse(s, text, cmd, err, sizeof err);
    if (error) {
        fail_msg("parse '%s': %s", text, err);
    }
}

/* Runs flow mod 'cmd' of 'text' in 'table' (0xff = all) and returns the
 * error. */
static int
mod(struct ofproto *ofp, enum of_flow_cmd cmd, uint8_t table,
    const char *text, long long now)
{
    struct of_flow_spec s;
    char err[256];
    parse(&s, text, cmd == OFFC_ADD || cmd == OFFC_MODIFY
                    || cmd == OFFC_MODIFY_STRICT || cmd == OFFC_DELETE
                    || cmd == OFFC_DELETE_STRICT ? cmd : OFFC_ADD);
    s.table_id = table;
    int error = ofproto_flow_mod(ofp, &s, cmd, now, err, sizeof err);
    of_flow_spec_uninit(&s);
    return error;
}

static void
add(struct ofproto *ofp, uint8_t table, const char *text)
{
    assert_int_equal(mod(ofp, OFFC_ADD, table, text, 0), 0);
}

static void
base_flow(struct flow *f, uint32_t in_port)
{
    memset(f, 0, sizeof *f);
    f->in_port = in_port;
    memcpy(f->dl_src, MAC_A, 6);
    memcpy(f->dl_dst, MAC_B, 6);
    f->dl_type = htons(ETH_TYPE_IP);
    f->nw_src = htonl(0x0a000001);
    f->nw_dst = htonl(0x0a000002);
    f->nw_proto = IPPROTO_TCP_;
    f->nw_ttl = 64;
    f->tp_src = htons(1234);
    f->tp_dst = htons(80);
}

/* Expected action list builder. */
struct exp {
    struct dp_action a[32];
    size_t n;
};

static struct dp_action *
exp_add(struct exp *e, enum dp_action_type type)
{
    struct dp_action *a = &e->a[e->n++];
    memset(a, 0, sizeof *a);
    a->type = type;
    return a;
}

static void
exp_output(struct exp *e, uint32_t dp_port)
{
    exp_add(e, DPA_OUTPUT)->port = dp_port;
}

/* Expected set actions are written with full values; the emitted ones
 * carry only the masked bits. */
static void
exp_canon(struct exp *e)
{
    for (size_t i = 0; i < e->n; i++) {
        struct dp_action *a = &e->a[i];
        switch (a->type) {
        case DPA_SET_ETH:
            for (int j = 0; j < 6; j++) {
                a->eth.src[j] &= a->eth.src_mask[j];
                a->eth.dst[j] &= a->eth.dst_mask[j];
            }
            break;
        case DPA_SET_IPV4:
            a->ipv4.src &= a->ipv4.src_mask;
            a->ipv4.dst &= a->ipv4.dst_mask;
            a->ipv4.tos &= a->ipv4.tos_mask;
            a->ipv4.ttl &= a->ipv4.ttl_mask;
            break;
        case DPA_SET_IPV6:
            for (int j = 0; j < 16; j++) {
                a->ipv6.src[j] &= a->ipv6.src_mask[j];
                a->ipv6.dst[j] &= a->ipv6.dst_mask[j];
            }
            a->ipv6.tclass &= a->ipv6.tclass_mask;
            a->ipv6.hlimit &= a->ipv6.hlimit_mask;
            break;
        case DPA_SET_L4:
            a->l4.src &= a->l4.src_mask;
            a->l4.dst &= a->l4.dst_mask;
            break;
        case DPA_SET_VLAN:
            a->set_vlan.tci &= a->set_vlan.tci_mask;
            break;
        default:
            break;
        }
    }
}

static void
check_actions(const struct dp_actions *got, const struct exp *e_)
{
    struct exp canon = *e_;
    const struct exp *e = &canon;
    exp_canon(&canon);
    bool ok = got->n == e->n
              && (!e->n || !memcmp(got->a, e->a, e->n * sizeof e->a[0]));
    if (!ok) {
        char b1[1024], b2[1024];
        struct dp_actions *want = dp_actions_alloc(e->n);
        want->n = e->n;
        memcpy(want->a, e->a, e->n * sizeof e->a[0]);
        dp_actions_format(b1, sizeof b1, got);
        dp_actions_format(b2, sizeof b2, want);
        free(want);
        fail_msg("actions: got '%s' (n=%zu), want '%s' (n=%zu)", b1, got->n,
                 b2, e->n);
    }
}

/* xlate and return the actions (caller frees); out is uninit'ed unless
 * 'keep' is given. */
static struct dp_actions *
xl(struct ofproto *ofp, const struct flow *f, struct flow *wc,
   struct ofproto_xlate_out *keep)
{
    struct ofproto_xlate_out out;
    struct flow wc_;
    struct dp_actions *acts;
    assert_int_equal(ofproto_xlate(ofp, f, wc ? wc : &wc_, &acts,
                                   keep ? keep : &out, 0), 0);
    assert_non_null(acts);
    if (!keep) {
        ofproto_xlate_out_uninit(&out);
    }
    return acts;
}

/* ofproto_xlate_stub() with stubs of several sizes gives what
 * ofproto_xlate() gave ('acts', 'wc'), in the stub exactly when it fits. */
static void
check_stub_xlate(struct ofproto *ofp, const struct flow *f,
                 const struct dp_actions *acts, const struct flow *wc)
{
    static const size_t caps[] = { 1, 2, 3, 64 };

    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        struct dp_actions *stub = dp_actions_alloc(caps[i]);
        struct ofproto_xlate_out out;
        struct dp_actions *got;
        struct flow wc2;

        assert_int_equal(ofproto_xlate_stub(ofp, f, &wc2, stub, caps[i],
                                            &got, &out, 0), 0);
        ofproto_xlate_out_uninit(&out);
        assert_true(dp_actions_equal(got, acts));
        assert_memory_equal(&wc2, wc, sizeof wc2);
        assert_true((got == stub) == (acts->n <= caps[i]));
        ofproto_xlate_actions_free(got, stub);
        free(stub);
    }
}

static void
xlate_expect(struct ofproto *ofp, const struct flow *f, const struct exp *e)
{
    struct flow wc;
    struct dp_actions *acts = xl(ofp, f, &wc, NULL);
    check_actions(acts, e);
    check_stub_xlate(ofp, f, acts, &wc);
    free(acts);
}

static struct of_actions *
acts_new(size_t n)
{
    struct of_actions *a = calloc(1, of_actions_size(n));
    a->n = n;
    return a;
}

/* ---- NORMAL. ---- */

static void
test_normal(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(3);
    struct flow f, wc;
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    struct exp e;

    assert_int_equal(ofproto_n_rules(ofp), 1);
    ofproto_set_mac_learning(ofp, true);

    /* A -> B from port 1: B unknown: flood to 2 and 3; A learned. */
    base_flow(&f, 1);
    acts = xl(ofp, &f, &wc, &out);
    e.n = 0;
    exp_output(&e, 12);
    exp_output(&e, 13);
    check_actions(acts, &e);
    free(acts);
    assert_true(out.learned_changed);
    assert_int_equal(out.n_rules, 1);
    assert_int_equal(ofproto_rule_priority(out.rules[0]), 0);
    ofproto_xlate_out_uninit(&out);
    assert_int_equal(wc.in_port, UINT32_MAX);
    assert_memory_equal(wc.dl_src, MAC_BCAST, 6);
    assert_memory_equal(wc.dl_dst, MAC_BCAST, 6);
    assert_int_equal(wc.vlan_tci, 0xffff);
    assert_int_equal(wc.nw_src, 0);
    assert_int_equal(wc.tp_dst, 0);

    /* Same again: nothing new learned. */
    acts = xl(ofp, &f, &wc, &out);
    free(acts);
    assert_false(out.learned_changed);
    ofproto_xlate_out_uninit(&out);

    /* B -> A from port 2: A known on 1: unicast. */
    base_flow(&f, 2);
    memcpy(f.dl_src, MAC_B, 6);
    memcpy(f.dl_dst, MAC_A, 6);
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    /* C -> A from port 1: A is on the input port: drop. */
    base_flow(&f, 1);
    memcpy(f.dl_src, MAC_C, 6);
    memcpy(f.dl_dst, MAC_A, 6);
    e.n = 0;
    xlate_expect(ofp, &f, &e);

    /* Broadcast from 3: flood to 1, 2. */
    base_flow(&f, 3);
    memcpy(f.dl_dst, MAC_BCAST, 6);
    memcpy(f.dl_src, MAC_C, 6);
    e.n = 0;
    exp_output(&e, 11);
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    /* A moved to port 3 (learned from the broadcast above it is C; now A
     * speaks from 3). */
    base_flow(&f, 3);
    memcpy(f.dl_dst, MAC_BCAST, 6);
    acts = xl(ofp, &f, NULL, &out);
    free(acts);
    assert_true(out.learned_changed);
    ofproto_xlate_out_uninit(&out);
    base_flow(&f, 2);
    memcpy(f.dl_src, MAC_B, 6);
    memcpy(f.dl_dst, MAC_A, 6);
    e.n = 0;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* VLANs are separate: A is unknown on VLAN 7. */
    f.vlan_tci = htons(FLOW_VLAN_CFI | 7);
    e.n = 0;
    exp_output(&e, 11);
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* Deleting port 3 flushes A (and C); A unknown again: flood. */
    uint64_t gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_port_del(ofp, 3), 0);
    assert_true(ofproto_generation(ofp) > gen);
    assert_int_equal(ofproto_port_del(ofp, 3), ENOENT);
    f.vlan_tci = 0;
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    /* Learning disabled: nothing learned. */
    ofproto_set_mac_learning(ofp, false);
    size_t n_ml = ml_count(ofproto_ml(ofp));
    base_flow(&f, 1);
    memcpy(f.dl_src, MAC_C, 6);
    acts = xl(ofp, &f, NULL, &out);
    free(acts);
    assert_false(out.learned_changed);
    ofproto_xlate_out_uninit(&out);
    assert_int_equal(ml_count(ofproto_ml(ofp)), n_ml);

    ofproto_destroy(ofp);
}

static void
test_ports(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(2);
    uint32_t p;

    assert_int_equal(ofproto_port_add(ofp, 1, 99, "x"), EEXIST);
    assert_int_equal(ofproto_port_add(ofp, 9, 11, "x"), EEXIST);
    assert_int_equal(ofproto_port_add(ofp, 9, 99, "p1"), EEXIST);
    assert_int_equal(ofproto_port_add(ofp, 0, 99, "x"), EINVAL);
    assert_int_equal(ofproto_port_add(ofp, OFPP_MAX, 99, "x"), EINVAL);
    assert_int_equal(ofproto_port_add(ofp, 9, 99, ""), EINVAL);
    assert_int_equal(ofproto_port_add(ofp, OFPP_LOCAL, 0, "br0"), 0);
    assert_true(ofproto_port_to_dp(ofp, 2, &p));
    assert_int_equal(p, 12);
    assert_true(ofproto_port_from_dp(ofp, 11, &p));
    assert_int_equal(p, 1);
    assert_true(ofproto_port_by_name(ofp, "br0", &p));
    assert_int_equal(p, OFPP_LOCAL);
    assert_string_equal(ofproto_port_name(ofp, 2), "p2");
    assert_null(ofproto_port_name(ofp, 5));
    assert_false(ofproto_port_to_dp(ofp, 5, &p));
    assert_false(ofproto_port_from_dp(ofp, 5, &p));
    assert_int_equal(ofproto_n_ports(ofp), 3);

    /* Output to an unknown port is skipped and counted; output to the
     * input port is dropped; in_port sends back. */
    add(ofp, 0, "priority=10,in_port=1,actions=output:5,output:1,output:2,"
                "in_port,output:LOCAL");
    struct flow f;
    struct ofproto_xlate_out out;
    base_flow(&f, 1);
    struct dp_actions *acts = xl(ofp, &f, NULL, &out);
    struct exp e = { .n = 0 };
    exp_output(&e, 12);
    exp_output(&e, 11);
    exp_output(&e, 0);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(out.n_unknown_port, 1);
    assert_int_equal(out.n_in_port_drop, 1);
    ofproto_xlate_out_uninit(&out);
    ofproto_destroy(ofp);
}

/* ---- Rewrites. ---- */

static void
test_rewrites(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(4);
    struct flow f;
    struct exp e;
    struct dp_action *a;
    struct ofproto_xlate_out out;
    struct dp_actions *acts;

    /* mod_nw_src then output: one set(ipv4) before the output. */
    add(ofp, 0, "priority=10,in_port=1,ip,actions=mod_nw_src:1.2.3.4,"
                "output:2");
    base_flow(&f, 1);
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = htonl(0x01020304);
    a->ipv4.dst = f.nw_dst;
    a->ipv4.src_mask = htonl(0x01020304) ^ f.nw_src;
    a->ipv4.ttl = 64;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    /* Already 1.2.3.4: no set at all. */
    f.nw_src = htonl(0x01020304);
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    /* ARP packet: the rule needs ip, so NORMAL handles it. */

    /* Several fields, two outputs: the second output needs no new set. */
    add(ofp, 0, "priority=20,in_port=2,tcp,actions=mod_dl_src:02:00:00:00:"
                "00:99,mod_dl_dst:02:00:00:00:00:98,mod_nw_dst:9.9.9.9,"
                "mod_nw_tos:16,mod_tp_src:7,mod_tp_dst:8,output:1,output:3");
    base_flow(&f, 2);
    e.n = 0;
    a = exp_add(&e, DPA_SET_ETH);
    memcpy(a->eth.src, (uint8_t[6]) {2, 0, 0, 0, 0, 0x99}, 6);
    memcpy(a->eth.dst, (uint8_t[6]) {2, 0, 0, 0, 0, 0x98}, 6);
    a->eth.src_mask[5] = 0x99 ^ MAC_A[5];
    a->eth.dst_mask[5] = 0x98 ^ MAC_B[5];
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = htonl(0x09090909);
    a->ipv4.dst_mask = htonl(0x09090909) ^ f.nw_dst;
    a->ipv4.tos = 16;
    a->ipv4.tos_mask = 16;
    a->ipv4.ttl = 64;
    a = exp_add(&e, DPA_SET_L4);
    a->l4.src = htons(7);
    a->l4.dst = htons(8);
    a->l4.src_mask = htons(7) ^ htons(1234);
    a->l4.dst_mask = htons(8) ^ htons(80);
    a->l4.proto = IPPROTO_TCP_;
    exp_output(&e, 11);
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* mod_tp_dst on a non-L4 packet (ICMP) is skipped. */
    add(ofp, 0, "priority=30,in_port=3,actions=mod_tp_dst:8,output:1");
    base_flow(&f, 3);
    f.nw_proto = IPPROTO_ICMP_;
    acts = xl(ofp, &f, NULL, &out);
    e.n = 0;
    exp_output(&e, 11);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(out.n_skipped, 1);
    ofproto_xlate_out_uninit(&out);

    /* mod_nw_src on ARP: no datapath action can do it: skipped. */
    add(ofp, 0, "priority=40,in_port=4,actions=mod_nw_src:1.2.3.4,"
                "mod_nw_ttl:5,mod_nw_ecn:1,output:1");
    base_flow(&f, 4);
    f.dl_type = htons(ETH_TYPE_ARP);
    f.nw_proto = 1;
    f.nw_ttl = 0;
    f.tp_src = f.tp_dst = 0;
    acts = xl(ofp, &f, NULL, &out);
    e.n = 0;
    exp_output(&e, 11);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(out.n_skipped, 3);
    ofproto_xlate_out_uninit(&out);

    /* On IPv4: mod_nw_ttl and mod_nw_ecn land in one set(ipv4). */
    base_flow(&f, 4);
    f.nw_src = htonl(0x01020304);
    f.nw_tos = 0x20 | 2;
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.ttl = 5;
    a->ipv4.ttl_mask = 5 ^ 64;
    a->ipv4.tos = 0x20 | 1;
    a->ipv4.tos_mask = 3;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    ofproto_destroy(ofp);
}

static void
test_ipv6_and_ttl(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(3);
    struct flow f;
    struct exp e;
    struct dp_action *a;
    struct ofproto_xlate_out out;
    struct dp_actions *acts;

    add(ofp, 0, "priority=10,ipv6,actions=set_field:2001:db8::1->ipv6_src,"
                "dec_ttl,output:2");
    add(ofp, 0, "priority=10,ip,actions=dec_ttl,output:2,dec_ttl,output:3");
    add(ofp, 0, "priority=10,arp,actions=dec_ttl,output:2");

    base_flow(&f, 1);
    f.dl_type = htons(ETH_TYPE_IPV6);
    f.nw_src = f.nw_dst = 0;
    f.ipv6_src[0] = 0xfe;
    f.nw_ttl = 10;
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV6);
    uint8_t want_src[16] = {0x20, 0x01, 0x0d, 0xb8};
    want_src[15] = 1;
    memcpy(a->ipv6.src, want_src, 16);
    for (int i = 0; i < 16; i++) {
        a->ipv6.src_mask[i] = want_src[i] ^ f.ipv6_src[i];
    }
    a->ipv6.hlimit = 9;
    a->ipv6.hlimit_mask = 9 ^ 10;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    /* IPv4, ttl 3: set ttl 2, out 2, set ttl 1, out 3. */
    base_flow(&f, 1);
    f.nw_ttl = 3;
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = f.nw_dst;
    a->ipv4.ttl = 2;
    a->ipv4.ttl_mask = 3 ^ 2;
    exp_output(&e, 12);
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = f.nw_dst;
    a->ipv4.ttl = 1;
    a->ipv4.ttl_mask = 2 ^ 1;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* ttl 2: first output, then the second dec_ttl stops everything. */
    f.nw_ttl = 2;
    struct flow wc;
    acts = xl(ofp, &f, &wc, &out);
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = f.nw_dst;
    a->ipv4.ttl = 1;
    a->ipv4.ttl_mask = 2 ^ 1;
    exp_output(&e, 12);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(out.dec_ttl_drop, 1);
    assert_int_equal(wc.nw_ttl, 0xff);
    ofproto_xlate_out_uninit(&out);

    /* ttl 1: dropped at once. */
    f.nw_ttl = 1;
    acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_int_equal(out.dec_ttl_drop, 1);
    free(acts);
    ofproto_xlate_out_uninit(&out);

    /* dec_ttl on ARP: no-op. */
    base_flow(&f, 1);
    f.dl_type = htons(ETH_TYPE_ARP);
    f.nw_ttl = 0;
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    ofproto_destroy(ofp);
}

static void
test_vlan(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(3);
    struct flow f;
    struct exp e;
    struct dp_action *a;

    add(ofp, 0, "priority=10,in_port=1,actions=mod_vlan_vid:5,output:2,"
                "mod_vlan_pcp:3,output:3");
    add(ofp, 0, "priority=10,in_port=2,actions=strip_vlan,output:1");
    add(ofp, 0, "priority=10,in_port=3,actions=push_vlan:0x88a8,output:1,"
                "pop_vlan,pop_vlan,output:2");

    /* Untagged: mod_vlan_vid pushes a tag; mod_vlan_pcp sets it. */
    base_flow(&f, 1);
    e.n = 0;
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI | 5);
    exp_output(&e, 12);
    a = exp_add(&e, DPA_SET_VLAN);
    a->set_vlan.tci = htons(FLOW_VLAN_CFI | 5 | (3 << 13));
    a->set_vlan.tci_mask = htons(3 << 13);
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* Tagged with VID 9: set_vlan for the VID, then for the PCP. */
    f.vlan_tci = htons(FLOW_VLAN_CFI | 9);
    e.n = 0;
    a = exp_add(&e, DPA_SET_VLAN);
    a->set_vlan.tci = htons(FLOW_VLAN_CFI | 5);
    a->set_vlan.tci_mask = htons(5 ^ 9);
    exp_output(&e, 12);
    a = exp_add(&e, DPA_SET_VLAN);
    a->set_vlan.tci = htons(FLOW_VLAN_CFI | 5 | (3 << 13));
    a->set_vlan.tci_mask = htons(3 << 13);
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* strip_vlan: tagged -> pop; untagged -> nothing. */
    base_flow(&f, 2);
    f.vlan_tci = htons(FLOW_VLAN_CFI | 9);
    e.n = 0;
    exp_add(&e, DPA_POP_VLAN);
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);
    f.vlan_tci = 0;
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    /* push_vlan on a tagged packet copies the TCI; two pops remove both
     * tags. */
    base_flow(&f, 3);
    f.vlan_tci = htons(FLOW_VLAN_CFI | 9);
    e.n = 0;
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN_8021AD);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI | 9);
    exp_output(&e, 11);
    exp_add(&e, DPA_POP_VLAN);
    exp_add(&e, DPA_POP_VLAN);
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    /* Untagged: push VID 0, then the second pop has nothing to pop. */
    f.vlan_tci = 0;
    e.n = 0;
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN_8021AD);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI);
    exp_output(&e, 11);
    exp_add(&e, DPA_POP_VLAN);
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    /* set_field on vlan_vid of an untagged packet does nothing. */
    add(ofp, 0, "priority=20,in_port=1,actions=set_field:5->vlan_vid,"
                "output:2");
    base_flow(&f, 1);
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    ofproto_destroy(ofp);
}

/* ---- Pipelines: resubmit, goto_table. ---- */

/* ---- Connection tracking and recirculation. ---- */

static void
test_conntrack_xlate(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(3);
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    struct flow f, wc;
    struct exp e;
    struct dp_action *a;

    /* The firewall: untracked IP goes through ct in zone 5 and
     * resumes in table 1. */
    add(ofp, 0, "priority=100,arp,actions=NORMAL");
    add(ofp, 0, "priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=5)");
    add(ofp, 1, "priority=100,ip,in_port=1,ct_state=+trk+new,"
                "actions=ct(commit,zone=5,exec(set_field:0x3->ct_mark)),"
                "output:2");
    add(ofp, 1, "priority=100,ip,ct_state=+trk+est,ct_mark=3,"
                "actions=output:3");
    add(ofp, 1, "priority=90,ip,ct_state=+trk+est,actions=output:1");
    add(ofp, 1, "priority=1,actions=drop");
    add(ofp, 2, "priority=1,ct_state=-trk,actions=output:3");

    /* First pass. */
    base_flow(&f, 1);
    acts = xl(ofp, &f, &wc, NULL);
    e.n = 0;
    a = exp_add(&e, DPA_CT);
    a->ct.zone = 5;
    exp_add(&e, DPA_RECIRC)->recirc_id = ofproto_recirc_id(1);
    check_actions(acts, &e);
    check_stub_xlate(ofp, &f, acts, &wc);
    free(acts);
    assert_int_equal(wc.recirc_id, UINT32_MAX);
    assert_int_equal(wc.ct_state & 0x20, 0x20);

    /* The recirculated pass of a new connection: resumes in table 1. */
    f.recirc_id = ofproto_recirc_id(1);
    f.ct_state = CS_TRACKED | CS_NEW;
    f.ct_zone = htons(5);
    acts = xl(ofp, &f, &wc, NULL);
    e.n = 0;
    a = exp_add(&e, DPA_CT);
    a->ct.zone = 5;
    a->ct.flags = CT_F_COMMIT | CT_F_SET_MARK;
    a->ct.mark = 3;
    a->ct.mark_mask = UINT32_MAX;
    exp_output(&e, 12);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(wc.recirc_id, UINT32_MAX);
    assert_int_equal(wc.ct_state & (CS_TRACKED | CS_NEW),
                     CS_TRACKED | CS_NEW);

    /* Established with the mark set by the commit, then without. */
    f.ct_state = CS_TRACKED | CS_ESTABLISHED;
    f.ct_mark = htonl(3);
    e.n = 0;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);
    f.ct_mark = 0;
    f.in_port = 2;                      /* the reply direction */
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    /* An invalid packet meets the drop rule. */
    f.ct_state = CS_TRACKED | CS_INVALID;
    e.n = 0;
    xlate_expect(ofp, &f, &e);

    /* A recirc_id that names no table: dropped, reported. */
    f.recirc_id = 0x1000;
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.bad_recirc_id);
    ofproto_xlate_out_uninit(&out);
    free(acts);

    /* ct_clear: the lookups after it see an untracked packet. */
    add(ofp, 0, "priority=200,ip,in_port=3,actions=ct_clear,resubmit(,2)");
    base_flow(&f, 3);
    f.ct_state = CS_TRACKED | CS_ESTABLISHED;   /* as if tracked before */
    e.n = 0;
    exp_add(&e, DPA_CT_CLEAR);
    /* output:3 to the input port is dropped (in_port): nothing else. */
    xlate_expect(ofp, &f, &e);

    /* Header changes before ct() are committed first; actions after
     * ct(table=) go on. */
    add(ofp, 0, "priority=200,ip,in_port=2,actions=mod_nw_dst:10.9.9.9,"
                "ct(commit,table=2,nat(src=10.0.0.100-10.0.0.200:1024-2047)),"
                "output:1");
    base_flow(&f, 2);
    acts = xl(ofp, &f, &wc, NULL);
    assert_int_equal(acts->n, 4);
    assert_int_equal(acts->a[0].type, DPA_SET_IPV4);
    assert_int_equal(acts->a[1].type, DPA_CT);
    assert_int_equal(acts->a[1].ct.flags, CT_F_COMMIT);
    assert_int_equal(acts->a[1].ct.nat.flags, CT_NAT_SRC);
    assert_int_equal(acts->a[1].ct.nat.port_min, 1024);
    assert_int_equal(acts->a[1].ct.nat.port_max, 2047);
    assert_int_equal(acts->a[2].type, DPA_RECIRC);
    assert_int_equal(acts->a[2].recirc_id, ofproto_recirc_id(2));
    assert_int_equal(acts->a[3].type, DPA_OUTPUT);
    free(acts);

    ofproto_destroy(ofp);
}

static void
test_resubmit_goto(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(4);
    struct flow f;
    struct exp e;
    struct ofproto_xlate_out out;
    struct dp_actions *acts;

    /* Table 0: in_port=1 -> resubmit(,1), output:4.  Table 1: match on
     * in_port=1 -> output 2; resubmit(3,2) runs table 2 as port 3. */
    add(ofp, 0, "priority=10,in_port=1,actions=resubmit(,1),output:4");
    add(ofp, 1, "priority=10,in_port=1,actions=output:2,resubmit(3,2),"
                "in_port");
    add(ofp, 2, "priority=10,in_port=3,actions=output:1");
    add(ofp, 2, "priority=5,actions=output:2");

    base_flow(&f, 1);
    acts = xl(ofp, &f, NULL, &out);
    e.n = 0;
    exp_output(&e, 12);
    exp_output(&e, 11);     /* in table 2 as port 3: port 1 is not input */
    exp_output(&e, 11);     /* in_port after the resubmit: back to 1 */
    exp_output(&e, 14);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(out.n_rules, 3);
    assert_int_equal(ofproto_rule_table(out.rules[0]), 0);
    assert_int_equal(ofproto_rule_table(out.rules[1]), 1);
    assert_int_equal(ofproto_rule_table(out.rules[2]), 2);
    ofproto_xlate_out_uninit(&out);

    /* Resubmit miss does nothing. */
    add(ofp, 0, "priority=10,in_port=2,actions=resubmit(,5),output:3");
    base_flow(&f, 2);
    acts = xl(ofp, &f, NULL, &out);
    e.n = 0;
    exp_output(&e, 13);
    check_actions(acts, &e);
    free(acts);
    assert_false(out.table_miss);
    ofproto_xlate_out_uninit(&out);

    /* goto_table: continues; a miss ends the pipeline. */
    add(ofp, 0, "priority=10,in_port=3,actions=output:1,goto_table:3");
    add(ofp, 3, "priority=10,tcp,actions=output:2,goto_table:4");
    base_flow(&f, 3);
    acts = xl(ofp, &f, NULL, &out);
    e.n = 0;
    exp_output(&e, 11);
    exp_output(&e, 12);
    check_actions(acts, &e);
    free(acts);
    assert_true(out.table_miss);
    ofproto_xlate_out_uninit(&out);
    f.nw_proto = IPPROTO_UDP_;
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    /* goto_table backwards or to itself is refused, nothing changes. */
    uint64_t gen = ofproto_generation(ofp);
    size_t n = ofproto_n_rules(ofp);
    assert_int_equal(mod(ofp, OFFC_ADD, 3, "priority=1,actions=goto_table:3",
                         0), EINVAL);
    assert_int_equal(mod(ofp, OFFC_ADD, 3, "priority=1,actions=goto_table:1",
                         0), EINVAL);
    assert_int_equal(mod(ofp, OFFC_ADD, 0xff, "priority=1,actions=drop", 0),
                     EINVAL);
    /* Modify across all tables with a goto_table that is backwards for
     * some selected rule: refused as a whole. */
    assert_int_equal(mod(ofp, OFFC_MODIFY, 0xff, "tcp,actions=goto_table:2",
                         0), EINVAL);
    assert_int_equal(ofproto_generation(ofp), gen);
    assert_int_equal(ofproto_n_rules(ofp), n);

    /* Resubmit loop: depth limit -> dropped entirely. */
    add(ofp, 0, "priority=10,in_port=4,actions=output:1,resubmit(,0)");
    base_flow(&f, 4);
    acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.resubmit_limit);
    assert_true(out.rules_truncated);
    assert_int_equal(out.n_rules, OFPROTO_MAX_XLATE_RULES);
    free(acts);
    ofproto_xlate_out_uninit(&out);

    /* Exactly 64 nested resubmits are fine: chain tables 10..74 would
     * exceed OF tables order only for goto; use resubmits 10 -> 11 ...
     * Table 10+i resubmits to 11+i for i < 63, the last outputs. */
    char text[128];
    add(ofp, 0, "priority=20,in_port=4,actions=resubmit(,10)");
    for (int i = 0; i < 64; i++) {
        if (i < 63) {
            snprintf(text, sizeof text, "actions=resubmit(,%d)", 11 + i);
        } else {
            snprintf(text, sizeof text, "actions=output:2");
        }
        add(ofp, 10 + i, text);
    }
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);
    /* One more level: over the limit. */
    add(ofp, 10 + 63, "actions=resubmit(,74)");
    add(ofp, 74, "actions=output:2");
    acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.resubmit_limit);
    free(acts);
    ofproto_xlate_out_uninit(&out);

    /* Exponential fan-out is capped by the total resubmit limit. */
    add(ofp, 0, "priority=30,in_port=4,actions=resubmit(,100)");
    for (int t = 100; t < 120; t++) {
        snprintf(text, sizeof text, "actions=resubmit(,%d),resubmit(,%d)",
                 t + 1, t + 1);
        add(ofp, t, text);
    }
    add(ofp, 120, "actions=output:1");
    acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.resubmit_limit || out.too_many_actions);
    free(acts);
    ofproto_xlate_out_uninit(&out);

    ofproto_destroy(ofp);
}

/* ---- Flow mods against a reference model. ---- */

struct ref_rule {
    uint8_t table;
    int32_t priority;
    struct of_match match;
    uint64_t cookie;
    uint32_t out[2];            /* Output ports; 0 = none. */
    uint64_t packets;
    unsigned long long seq;
    bool live;
};

#define REF_N 512

struct model {
    struct ref_rule r[REF_N];
    size_t n;
    unsigned long long seq;
};

static bool
ref_covers(const struct of_match *m, const struct of_match *r)
{
    /* Field by field over the fields the generator uses. */
    if (m->wc.in_port && (r->wc.in_port != UINT32_MAX
                          || r->flow.in_port != m->flow.in_port)) {
        return false;
    }
    if (m->wc.dl_type && (!r->wc.dl_type
                          || r->flow.dl_type != m->flow.dl_type)) {
        return false;
    }
    uint32_t mm = ntohl(m->wc.nw_src), rm = ntohl(r->wc.nw_src);
    if ((mm & ~rm)
        || ((ntohl(m->flow.nw_src) ^ ntohl(r->flow.nw_src)) & mm)) {
        return false;
    }
    if (m->wc.nw_proto && (!r->wc.nw_proto
                           || r->flow.nw_proto != m->flow.nw_proto)) {
        return false;
    }
    if (m->wc.tp_dst && (!r->wc.tp_dst || r->flow.tp_dst != m->flow.tp_dst)) {
        return false;
    }
    return true;
}

static bool
ref_same(const struct of_match *a, const struct of_match *b)
{
    return !memcmp(a, b, sizeof *a);
}

static bool
ref_selected(const struct ref_rule *r, const struct of_flow_spec *s,
             bool strict)
{
    if (s->table_id != 0xff && s->table_id != r->table) {
        return false;
    }
    if ((r->cookie & s->cookie_mask) != (s->cookie & s->cookie_mask)) {
        return false;
    }
    if (s->out_port != OFPP_NONE && r->out[0] != s->out_port
        && r->out[1] != s->out_port) {
        return false;
    }
    return strict ? r->priority == s->priority
                    && ref_same(&r->match, &s->match)
                  : ref_covers(&s->match, &r->match);
}

static void
ref_set_outs(struct ref_rule *r, const struct of_actions *a)
{
    r->out[0] = a->n > 0 ? a->a[0].output.port : 0;
    r->out[1] = a->n > 1 ? a->a[1].output.port : 0;
}

static void
ref_apply(struct model *m, const struct of_flow_spec *s,
          enum of_flow_cmd cmd)
{
    switch (cmd) {
    case OFFC_ADD: {
        for (size_t i = 0; i < m->n; i++) {
            struct ref_rule *r = &m->r[i];
            if (r->live && r->table == s->table_id
                && r->priority == s->priority
                && ref_same(&r->match, &s->match)) {
                r->live = false;
            }
        }
        assert_true(m->n < REF_N);
        struct ref_rule *r = &m->r[m->n++];
        memset(r, 0, sizeof *r);
        r->table = s->table_id;
        r->priority = s->priority;
        r->match = s->match;
        r->cookie = s->cookie;
        ref_set_outs(r, s->actions);
        r->seq = ++m->seq;
        r->live = true;
        break;
    }
    case OFFC_MODIFY:
    case OFFC_MODIFY_STRICT:
        for (size_t i = 0; i < m->n; i++) {
            struct ref_rule *r = &m->r[i];
            if (r->live && ref_selected(r, s, cmd == OFFC_MODIFY_STRICT)) {
                ref_set_outs(r, s->actions);
                if (!s->cookie_mask && s->cookie) {
                    r->cookie = s->cookie;
                }
            }
        }
        break;
    case OFFC_DELETE:
    case OFFC_DELETE_STRICT:
        for (size_t i = 0; i < m->n; i++) {
            struct ref_rule *r = &m->r[i];
            if (r->live && ref_selected(r, s, cmd == OFFC_DELETE_STRICT)) {
                r->live = false;
            }
        }
        break;
    default:
        break;
    }
    /* Compact. */
    size_t j = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->r[i].live) {
            m->r[j++] = m->r[i];
        }
    }
    m->n = j;
}

static int
ref_cmp(const void *a_, const void *b_)
{
    const struct ref_rule *a = a_, *b = b_;
    if (a->table != b->table) {
        return a->table < b->table ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct dump_ctx {
    struct model *m;
    size_t i;
    bool credit;
};

static void
dump_check_cb(const struct ofproto_rule_info *info, void *aux)
{
    struct dump_ctx *d = aux;
    assert_true(d->i < d->m->n);
    struct ref_rule *r = &d->m->r[d->i++];
    assert_int_equal(info->table_id, r->table);
    assert_int_equal(info->priority, r->priority);
    assert_true(ref_same(info->match, &r->match));
    assert_int_equal(info->cookie, r->cookie);
    struct ref_rule tmp;
    ref_set_outs(&tmp, info->actions);
    assert_int_equal(tmp.out[0], r->out[0]);
    assert_int_equal(tmp.out[1], r->out[1]);
    assert_int_equal(info->n_packets, r->packets);
    assert_int_equal(info->n_bytes, r->packets * 100);
    if (d->credit && rand() % 3 == 0) {
        uint64_t p = 1 + rand() % 5;
        ofproto_rule_credit(info->rule, p, p * 100, 1);
        r->packets += p;
    }
}

static void
model_check(struct ofproto *ofp, struct model *m, bool credit)
{
    qsort(m->r, m->n, sizeof m->r[0], ref_cmp);
    struct dump_ctx d = { .m = m, .credit = credit };
    ofproto_dump(ofp, NULL, dump_check_cb, &d);
    assert_int_equal(d.i, m->n);
    assert_int_equal(ofproto_n_rules(ofp), m->n);
}

static void
rand_match(struct of_match *m)
{
    memset(m, 0, sizeof *m);
    if (rand() % 2) {
        m->flow.in_port = 1 + rand() % 3;
        m->wc.in_port = UINT32_MAX;
    }
    if (rand() % 2) {
        m->flow.dl_type = htons(ETH_TYPE_IP);
        m->wc.dl_type = 0xffff;
        int plen = (int[]) {0, 8, 16, 24, 32}[rand() % 5];
        uint32_t mask = plen ? ~0u << (32 - plen) : 0;
        uint32_t addr = (10u << 24) | ((rand() % 2) << 16)
                        | ((rand() % 2) << 8) | (rand() % 2);
        m->flow.nw_src = htonl(addr & mask);
        m->wc.nw_src = htonl(mask);
        if (rand() % 2) {
            m->flow.nw_proto = IPPROTO_TCP_;
            m->wc.nw_proto = 0xff;
            if (rand() % 2) {
                m->flow.tp_dst = htons(80 + rand() % 2);
                m->wc.tp_dst = 0xffff;
            }
        }
    }
}

static void
rand_spec(struct of_flow_spec *s, enum of_flow_cmd cmd)
{
    memset(s, 0, sizeof *s);
    rand_match(&s->match);
    /* tp_dst only with tcp (nw_proto), fine for the model either way. */
    s->priority = rand() % 4;
    s->out_port = OFPP_NONE;
    if (cmd == OFFC_ADD) {
        s->table_id = rand() % 3;
        s->cookie = rand() % 4;
    } else {
        s->table_id = rand() % 4 == 0 ? 0xff : rand() % 3;
        s->cookie = rand() % 4;
        s->cookie_mask = (uint64_t[]) {0, 0, 3, 1}[rand() % 4];
        if (rand() % 4 == 0) {
            s->out_port = 1 + rand() % 4;
        }
    }
    if (cmd != OFFC_DELETE && cmd != OFFC_DELETE_STRICT) {
        size_t n = rand() % 3;
        s->actions = acts_new(n);
        for (size_t i = 0; i < n; i++) {
            s->actions->a[i].type = OFPACT_OUTPUT;
            s->actions->a[i].output.port = 1 + rand() % 4;
        }
    }
}

static void
test_flow_mod_model(void **state)
{
    (void) state;
    srand(4242);
    struct ofproto *ofp = new_ofp(4);
    struct model *m = calloc(1, sizeof *m);
    char err[256];

    /* The default rule. */
    struct of_flow_spec s0;
    memset(&s0, 0, sizeof s0);
    s0.out_port = OFPP_NONE;
    s0.actions = acts_new(0);
    ref_apply(m, &s0, OFFC_ADD);
    m->r[0].out[0] = 0;
    free(s0.actions);
    /* (The default rule's NORMAL is not an output: out[] = 0.) */

    for (int i = 0; i < 3000; i++) {
        enum of_flow_cmd cmd = (enum of_flow_cmd[]) {
            OFFC_ADD, OFFC_ADD, OFFC_ADD, OFFC_MODIFY, OFFC_MODIFY_STRICT,
            OFFC_DELETE, OFFC_DELETE_STRICT}[rand() % 7];
        struct of_flow_spec s;
        rand_spec(&s, cmd);
        if (cmd == OFFC_DELETE && rand() % 10) {
            /* Mostly narrow deletes so that the tables fill up. */
            s.match.wc.in_port = UINT32_MAX;
            s.match.flow.in_port = 1 + rand() % 3;
            s.match.wc.dl_type = 0xffff;
            s.match.flow.dl_type = htons(ETH_TYPE_IP);
            s.match.wc.nw_src = htonl(0xffffffff);
        }
        uint64_t gen = ofproto_generation(ofp);
        size_t before = m->n;
        assert_int_equal(ofproto_flow_mod(ofp, &s, cmd, i, err, sizeof err),
                         0);
        ref_apply(m, &s, cmd);
        if (cmd == OFFC_ADD || m->n != before) {
            assert_true(ofproto_generation(ofp) > gen);
        }
        free(s.actions);
        model_check(ofp, m, true);
        if (i % 500 == 499) {
            /* Delete everything but table 0 default now and then. */
            struct of_flow_spec all;
            memset(&all, 0, sizeof all);
            all.table_id = 0xff;
            all.out_port = OFPP_NONE;
            all.priority = 0;
            if (i % 1000 == 999) {
                assert_int_equal(ofproto_flow_mod(ofp, &all, OFFC_DELETE, i,
                                                  err, sizeof err), 0);
                ref_apply(m, &all, OFFC_DELETE);
                model_check(ofp, m, false);
                assert_int_equal(m->n, 0);
            }
        }
    }
    free(m);
    ofproto_destroy(ofp);
}

struct collect {
    struct ofproto_rule_info info[64];
    char text[64][256];
    size_t n;
};

static void
collect_cb(const struct ofproto_rule_info *info, void *aux)
{
    struct collect *c = aux;
    assert_true(c->n < 64);
    c->info[c->n] = *info;
    size_t len = of_match_format(c->text[c->n], 200, info->match,
                                 info->priority);
    snprintf(c->text[c->n] + len, 256 - len, " actions=");
    len = strlen(c->text[c->n]);
    of_actions_format(c->text[c->n] + len, 256 - len, info->actions);
    c->n++;
}

static void
test_batch_all_or_nothing(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(4);
    struct of_flow_spec specs[4];
    enum of_flow_cmd cmds[4];
    char err[256];

    parse(&specs[0], "priority=5,in_port=1,actions=output:2", OFFC_ADD);
    cmds[0] = OFFC_ADD;
    parse(&specs[1], "priority=0", OFFC_DELETE_STRICT);
    specs[1].table_id = 0;
    cmds[1] = OFFC_DELETE_STRICT;
    parse(&specs[2], "priority=6,in_port=2,actions=output:1", OFFC_ADD);
    cmds[2] = OFFC_ADD;
    parse(&specs[3], "priority=7,actions=goto_table:1", OFFC_ADD);
    specs[3].table_id = 1;                  /* goto to itself: invalid */
    cmds[3] = OFFC_ADD;

    uint64_t gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_flow_mod_batch(ofp, specs, cmds, 4, 0, err,
                                            sizeof err), EINVAL);
    assert_non_null(strstr(err, "flow 3"));
    assert_int_equal(ofproto_generation(ofp), gen);
    assert_int_equal(ofproto_n_rules(ofp), 1);

    /* Without the bad one it applies, in order. */
    assert_int_equal(ofproto_flow_mod_batch(ofp, specs, cmds, 3, 0, err,
                                            sizeof err), 0);
    assert_int_equal(ofproto_n_rules(ofp), 2);
    assert_int_equal(ofproto_table_n_rules(ofp, 0), 2);
    assert_true(ofproto_generation(ofp) > gen);

    /* Later specs see earlier ones: add then strict-delete the same. */
    enum of_flow_cmd c2[2] = {OFFC_ADD, OFFC_DELETE_STRICT};
    struct of_flow_spec s2[2];
    parse(&s2[0], "priority=9,in_port=3,actions=output:1", OFFC_ADD);
    parse(&s2[1], "priority=9,in_port=3", OFFC_DELETE_STRICT);
    s2[1].table_id = 0;
    assert_int_equal(ofproto_flow_mod_batch(ofp, s2, c2, 2, 0, err,
                                            sizeof err), 0);
    assert_int_equal(ofproto_n_rules(ofp), 2);

    /* OFFC_MATCH is not a flow mod. */
    enum of_flow_cmd bad = OFFC_MATCH;
    assert_int_equal(ofproto_flow_mod_batch(ofp, specs, &bad, 1, 0, err,
                                            sizeof err), EINVAL);
    /* Priority out of range. */
    specs[0].priority = 70000;
    assert_int_equal(ofproto_flow_mod_batch(ofp, specs, cmds, 1, 0, err,
                                            sizeof err), EINVAL);
    /* Unknown output port value. */
    specs[0].priority = 5;
    specs[0].actions->a[0].output.port = 0;
    assert_int_equal(ofproto_flow_mod_batch(ofp, specs, cmds, 1, 0, err,
                                            sizeof err), EINVAL);
    assert_int_equal(ofproto_n_rules(ofp), 2);

    /* Failure while applying (a goto_table that is backwards for a rule
     * selected in table 2) rolls back the adds, deletes and modifies made
     * by the earlier specs of the batch. */
    add(ofp, 2, "priority=3,in_port=1,actions=output:4");
    struct collect *before = calloc(1, sizeof *before);
    struct collect *after = calloc(1, sizeof *after);
    ofproto_dump(ofp, NULL, collect_cb, before);
    ofproto_rule_credit(before->info[0].rule, 3, 30, 3);
    before->n = 0;
    ofproto_dump(ofp, NULL, collect_cb, before);
    struct of_flow_spec s3[4];
    enum of_flow_cmd c3[4] = {OFFC_ADD, OFFC_DELETE_STRICT, OFFC_MODIFY,
                              OFFC_MODIFY};
    parse(&s3[0], "priority=8,in_port=4,actions=output:1", OFFC_ADD);
    parse(&s3[1], "priority=5,in_port=1", OFFC_DELETE_STRICT);
    s3[1].table_id = 0;
    parse(&s3[2], "actions=output:3", OFFC_MODIFY);
    s3[2].table_id = 0xff;
    parse(&s3[3], "in_port=1,actions=goto_table:1", OFFC_MODIFY);
    s3[3].table_id = 0xff;
    gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_flow_mod_batch(ofp, s3, c3, 4, 0, err,
                                            sizeof err), EINVAL);
    assert_non_null(strstr(err, "flow 3"));
    assert_int_equal(ofproto_generation(ofp), gen);
    ofproto_dump(ofp, NULL, collect_cb, after);
    assert_int_equal(after->n, before->n);
    for (size_t i = 0; i < after->n; i++) {
        assert_string_equal(after->text[i], before->text[i]);
        assert_int_equal(after->info[i].n_packets,
                         before->info[i].n_packets);
        assert_int_equal(after->info[i].table_id, before->info[i].table_id);
    }
    /* Without the last one, it applies. */
    assert_int_equal(ofproto_flow_mod_batch(ofp, s3, c3, 3, 0, err,
                                            sizeof err), 0);
    after->n = 0;
    ofproto_dump(ofp, NULL, collect_cb, after);
    assert_int_equal(after->n, before->n);
    for (size_t i = 0; i < after->n; i++) {
        assert_non_null(strstr(after->text[i], "actions=output:3"));
    }
    for (int i = 0; i < 4; i++) {
        of_flow_spec_uninit(&s3[i]);
    }
    free(before);
    free(after);

    for (int i = 0; i < 4; i++) {
        of_flow_spec_uninit(&specs[i]);
    }
    of_flow_spec_uninit(&s2[0]);
    of_flow_spec_uninit(&s2[1]);
    ofproto_destroy(ofp);
}

static void
test_cookies_outport_strict(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(4);
    struct collect c;

    add(ofp, 0, "cookie=0x1,priority=10,in_port=1,ip,actions=output:2");
    add(ofp, 0, "cookie=0x2,priority=20,in_port=1,ip,nw_src=10.0.0.0/8,"
                "actions=output:3");
    add(ofp, 1, "cookie=0x3,priority=10,in_port=1,actions=output:2");
    add(ofp, 1, "cookie=0x1,priority=10,in_port=2,actions=output:4");

    /* Non-strict delete of "in_port=1" in table 0 with cookie 2/0xff: only
     * the nw_src rule. */
    assert_int_equal(mod(ofp, OFFC_DELETE, 0, "cookie=0x2/0xff,in_port=1",
                         0), 0);
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.info[0].cookie, 1);

    /* Strict delete needs the exact priority. */
    assert_int_equal(mod(ofp, OFFC_DELETE_STRICT, 0xff,
                         "priority=11,in_port=1,ip", 0), 0);
    assert_int_equal(ofproto_n_rules(ofp), 4);
    assert_int_equal(mod(ofp, OFFC_DELETE_STRICT, 0xff,
                         "priority=10,in_port=1,ip", 0), 0);
    assert_int_equal(ofproto_n_rules(ofp), 3);

    /* out_port filter: delete rules that output to 4, in all tables. */
    struct of_flow_spec s;
    parse(&s, "", OFFC_DELETE);
    s.table_id = 0xff;
    s.out_port = 4;
    char err[128];
    assert_int_equal(ofproto_flow_mod(ofp, &s, OFFC_DELETE, 0, err,
                                      sizeof err), 0);
    of_flow_spec_uninit(&s);
    assert_int_equal(ofproto_n_rules(ofp), 2);

    /* Modify (non-strict, all tables) changes actions, keeps counters and
     * sets the cookie; nothing matching: nothing happens. */
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 2);
    ofproto_rule_credit(c.info[1].rule, 5, 500, 7);
    assert_int_equal(mod(ofp, OFFC_MODIFY, 0xff,
                         "cookie=0x9,in_port=1,actions=output:3", 0), 0);
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.info[1].table_id, 1);
    assert_int_equal(c.info[1].n_packets, 5);
    assert_int_equal(c.info[1].n_bytes, 500);
    assert_int_equal(c.info[1].used_ms, 7);
    assert_int_equal(c.info[1].cookie, 9);
    assert_string_equal(c.text[1], "priority=10,in_port=1 actions=output:3");
    uint64_t gen = ofproto_generation(ofp);
    assert_int_equal(mod(ofp, OFFC_MODIFY, 0xff, "in_port=3,actions=drop",
                         0), 0);
    assert_int_equal(ofproto_generation(ofp), gen);
    assert_int_equal(ofproto_n_rules(ofp), 2);

    /* Add replacing an identical rule resets its counters. */
    add(ofp, 1, "priority=10,in_port=1,actions=output:2");
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.info[1].n_packets, 0);
    assert_int_equal(c.info[1].cookie, 0);

    /* Dump with a filter. */
    parse(&s, "in_port=1", OFFC_MATCH);
    s.table_id = 1;
    c.n = 0;
    ofproto_dump(ofp, &s, collect_cb, &c);
    of_flow_spec_uninit(&s);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.info[0].table_id, 1);

    ofproto_destroy(ofp);
}

static void
test_replace_flows(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(4);
    struct collect c;
    char err[256];

    add(ofp, 0, "priority=10,in_port=1,actions=output:2");
    add(ofp, 0, "priority=10,in_port=2,actions=output:1");
    add(ofp, 0, "priority=10,in_port=3,actions=output:1");
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 4);
    for (size_t i = 0; i < c.n; i++) {
        ofproto_rule_credit(c.info[i].rule, 1, 10, 5);
    }

    struct of_flow_spec s[4];
    parse(&s[0], "priority=10,in_port=1,actions=output:2", OFFC_ADD);
    parse(&s[1], "priority=10,in_port=2,actions=output:3", OFFC_ADD);
    parse(&s[2], "priority=10,in_port=4,actions=output:3", OFFC_ADD);
    parse(&s[3], "priority=10,in_port=4,actions=output:1", OFFC_ADD);
    uint64_t gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_replace_flows(ofp, s, 4, 100, err, sizeof err),
                     0);
    assert_true(ofproto_generation(ofp) > gen);
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 3);
    /* Unchanged: kept with counters and created time. */
    assert_string_equal(c.text[0], "priority=10,in_port=1 actions=output:2");
    assert_int_equal(c.info[0].n_packets, 1);
    assert_int_equal(c.info[0].created_ms, 0);
    /* Changed actions: fresh. */
    assert_string_equal(c.text[1], "priority=10,in_port=2 actions=output:3");
    assert_int_equal(c.info[1].n_packets, 0);
    assert_int_equal(c.info[1].created_ms, 100);
    /* Duplicate key: the last one wins. */
    assert_string_equal(c.text[2], "priority=10,in_port=4 actions=output:1");

    /* Same set again: nothing changes at all. */
    gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_replace_flows(ofp, s, 4, 200, err, sizeof err),
                     0);
    assert_int_equal(ofproto_generation(ofp), gen);

    /* Invalid spec: nothing changes. */
    s[2].table_id = 0xff;
    assert_int_equal(ofproto_replace_flows(ofp, s, 4, 300, err, sizeof err),
                     EINVAL);
    assert_int_equal(ofproto_n_rules(ofp), 3);

    /* Empty set: no rules at all (not even NORMAL). */
    assert_int_equal(ofproto_replace_flows(ofp, NULL, 0, 300, err,
                                           sizeof err), 0);
    assert_int_equal(ofproto_n_rules(ofp), 0);
    struct flow f;
    struct ofproto_xlate_out out;
    base_flow(&f, 1);
    struct dp_actions *acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.table_miss);
    free(acts);
    ofproto_xlate_out_uninit(&out);

    for (int i = 0; i < 4; i++) {
        of_flow_spec_uninit(&s[i]);
    }
    ofproto_destroy(ofp);
}

static void
test_timeouts_and_refs(void **state)
{
    (void) state;
    struct ofproto *ofp = new_ofp(2);
    struct flow f;
    struct ofproto_xlate_out out;
    struct dp_actions *acts;

    assert_int_equal(ofproto_next_expiry(ofp), LLONG_MAX);
    assert_int_equal(mod(ofp, OFFC_ADD, 0, "idle_timeout=10,priority=5,"
                         "in_port=1,actions=output:2", 1000), 0);
    assert_int_equal(mod(ofp, OFFC_ADD, 0, "hard_timeout=20,idle_timeout=5,"
                         "priority=5,in_port=2,actions=output:1", 1000), 0);
    assert_int_equal(ofproto_next_expiry(ofp), 6000);

    /* Take references through xlate. */
    base_flow(&f, 1);
    acts = xl(ofp, &f, NULL, &out);
    free(acts);
    assert_int_equal(out.n_rules, 1);
    struct ofproto_rule *r1 = out.rules[0];
    ofproto_rule_ref(r1);
    ofproto_xlate_out_uninit(&out);

    base_flow(&f, 2);
    acts = xl(ofp, &f, NULL, &out);
    free(acts);
    struct ofproto_rule *r2 = out.rules[0];
    ofproto_rule_ref(r2);
    ofproto_xlate_out_uninit(&out);

    assert_int_equal(ofproto_expire(ofp, 5999), 0);
    /* Credits with packets postpone idle expiry; without, they do not. */
    ofproto_rule_credit(r2, 1, 60, 5000);
    ofproto_rule_credit(r1, 0, 0, 9000);
    assert_int_equal(ofproto_expire(ofp, 6000), 0);
    uint64_t gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_expire(ofp, 10000), 1);    /* r2 idle. */
    assert_true(ofproto_generation(ofp) > gen);
    assert_false(ofproto_rule_is_live(r2));
    assert_true(ofproto_rule_is_live(r1));
    assert_int_equal(ofproto_expire(ofp, 10999), 0);
    ofproto_rule_credit(r1, 3, 300, 10500);
    assert_int_equal(ofproto_expire(ofp, 11000), 0);
    assert_int_equal(ofproto_expire(ofp, 20500), 1);    /* r1 idle. */
    assert_int_equal(ofproto_n_rules(ofp), 1);

    /* Deleted rules still take credits through held references. */
    ofproto_rule_credit(r1, 2, 200, 30000);
    uint64_t p, b;
    long long used;
    ofproto_rule_stats(r1, &p, &b, &used);
    assert_int_equal(p, 5);
    assert_int_equal(b, 500);
    assert_int_equal(used, 30000);
    ofproto_rule_unref(r1);
    ofproto_rule_unref(r2);

    /* Hard timeout wins over activity. */
    assert_int_equal(mod(ofp, OFFC_ADD, 0, "hard_timeout=3,priority=5,"
                         "in_port=1,actions=output:2", 40000), 0);
    for (long long t = 40000; t < 43000; t += 500) {
        /* Keep it busy. */
        struct collect c;
        c.n = 0;
        ofproto_dump(ofp, NULL, collect_cb, &c);
        for (size_t i = 0; i < c.n; i++) {
            ofproto_rule_credit(c.info[i].rule, 1, 1, t);
        }
        assert_int_equal(ofproto_expire(ofp, t), 0);
    }
    assert_int_equal(ofproto_expire(ofp, 43000), 1);

    /* Destroy with a held reference: the rule outlives the ofproto. */
    base_flow(&f, 9);
    acts = xl(ofp, &f, NULL, &out);
    free(acts);
    ofproto_destroy(ofp);
    assert_int_equal(out.n_rules, 1);
    assert_false(ofproto_rule_is_live(out.rules[0]));
    ofproto_rule_credit(out.rules[0], 1, 1, 1);
    ofproto_xlate_out_uninit(&out);
}

/* ---- The un-wildcarding property. ---- */

static const uint8_t RMACS[4][6] = {
    {0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 2},
    {0x02, 0, 0, 0, 1, 1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
};

static void
rand_packet(struct flow *f)
{
    memset(f, 0, sizeof *f);
    f->in_port = 1 + rand() % 4;
    memcpy(f->dl_src, RMACS[rand() % 3], 6);
    memcpy(f->dl_dst, RMACS[rand() % 4], 6);
    switch (rand() % 4) {
    case 0:
        f->vlan_tci = htons(FLOW_VLAN_CFI | (1 + rand() % 2)
                            | ((rand() % 2) << 13));
        if (rand() % 3 == 0) {
            f->vlan_tci2 = htons(FLOW_VLAN_CFI | 7);
        }
        break;
    default:
        break;
    }
    int t = rand() % 6;
    if (t < 4) {
        f->dl_type = htons(ETH_TYPE_IP);
        f->nw_src = htonl(0x0a000000 | ((rand() % 2) << 16)
                          | ((rand() % 2) << 8) | (rand() % 3));
        f->nw_dst = htonl(0x0a000000 | (rand() % 3));
        f->nw_proto = (uint8_t[]) {6, 17, 1}[rand() % 3];
        f->nw_ttl = (uint8_t[]) {1, 2, 64}[rand() % 3];
        f->nw_tos = (rand() % 2) << 2;
        if (f->nw_proto != 1) {
            static const uint16_t ports[3] = {80, 443, 1000};
            f->tp_src = htons(ports[rand() % 3]);
            f->tp_dst = htons(ports[rand() % 3]);
        } else {
            f->tp_src = htons(8);
        }
        if (rand() % 10 == 0) {
            f->nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
        }
    } else if (t == 4) {
        f->dl_type = htons(ETH_TYPE_ARP);
        f->nw_src = htonl(0x0a000001);
        f->nw_proto = 1;
    } else {
        f->dl_type = htons(ETH_TYPE_IPV6);
        f->ipv6_src[15] = rand() % 2;
        f->nw_proto = 17;
        f->nw_ttl = (uint8_t[]) {1, 64}[rand() % 2];
        f->tp_dst = htons(80);
    }
}

static const char *const RACTIONS[] = {
    "output:1", "output:2", "output:3", "output:4", "NORMAL", "in_port",
    "flood", "mod_nw_src:10.0.0.1", "mod_nw_dst:10.0.0.9", "mod_tp_dst:80",
    "mod_tp_src:443", "mod_dl_src:02:00:00:00:00:02", "mod_nw_tos:4",
    "dec_ttl", "mod_vlan_vid:2", "mod_vlan_pcp:1", "strip_vlan",
    "push_vlan:0x8100", "set_field:2->vlan_vid",
    "resubmit(,1)", "resubmit(2,1)",
    "resubmit(,2)", "output:9",
};
#define N_RACTIONS (sizeof RACTIONS / sizeof RACTIONS[0])

static void
rand_rule_text(char *buf, size_t size, int table)
{
    char m[256] = "";
    size_t n = 0;
    n += snprintf(m + n, sizeof m - n, "priority=%d", rand() % 5);
    if (rand() % 3 == 0) {
        n += snprintf(m + n, sizeof m - n, ",in_port=%d", 1 + rand() % 4);
    }
    if (rand() % 4 == 0) {
        n += snprintf(m + n, sizeof m - n, ",dl_src=02:00:00:00:00:0%d%s",
                      1 + rand() % 2, rand() % 2 ? "/ff:ff:ff:ff:00:ff" : "");
    }
    if (rand() % 5 == 0) {
        n += snprintf(m + n, sizeof m - n, ",dl_vlan=%d", 1 + rand() % 2);
    }
    int l3 = rand() % 4;
    if (l3 == 1) {
        n += snprintf(m + n, sizeof m - n, ",arp");
    } else if (l3 >= 2) {
        const char *proto = (const char *[]) {"ip", "tcp", "udp"}[rand() % 3];
        n += snprintf(m + n, sizeof m - n, ",%s", proto);
        if (rand() % 2) {
            n += snprintf(m + n, sizeof m - n, ",nw_src=10.0.%d.0/%d",
                          rand() % 2, (int[]) {16, 24, 30, 32}[rand() % 4]);
        }
        if (rand() % 3 == 0) {
            n += snprintf(m + n, sizeof m - n, ",nw_dst=10.0.0.%d",
                          rand() % 3);
        }
        if (strcmp(proto, "ip") && rand() % 2) {
            n += snprintf(m + n, sizeof m - n, ",tp_dst=%d%s",
                          (int[]) {80, 443, 1000}[rand() % 3],
                          rand() % 2 ? "/0xfff0" : "");
        }
    }
    n = snprintf(buf, size, "%s,actions=", m);
    int na = 1 + rand() % 4;
    for (int i = 0; i < na; i++) {
        const char *a;
        do {
            a = RACTIONS[rand() % N_RACTIONS];
        } while (table == 2 && !strncmp(a, "resubmit", 8));
        n += snprintf(buf + n, size - n, "%s%s", i ? "," : "", a);
    }
    if (table == 0 && rand() % 5 == 0) {
        n += snprintf(buf + n, size - n, ",goto_table:%d", 1 + rand() % 2);
    }
}

static void
test_unwildcard_property(void **state)
{
    (void) state;
    srand(777);
    size_t n_checked = 0, n_nonempty = 0;

    for (int round = 0; round < 60; round++) {
        struct ofproto *ofp = new_ofp(4);
        ofproto_set_mac_learning(ofp, false);
        /* A frozen MAC table with some entries. */
        ml_learn(ofproto_ml(ofp), RMACS[0], 0, 1, 0);
        ml_learn(ofproto_ml(ofp), RMACS[1], 0, 2, 0);
        ml_learn(ofproto_ml(ofp), RMACS[1], 1, 3, 0);
        ml_learn(ofproto_ml(ofp), RMACS[2], 2, 4, 0);

        int n_rules = 1 + rand() % 25;
        for (int i = 0; i < n_rules; i++) {
            char text[512];
            int table = rand() % 3;
            rand_rule_text(text, sizeof text, table);
            add(ofp, table, text);
        }
        for (int p = 0; p < 100; p++) {
            struct flow f, wc;
            struct ofproto_xlate_out out;
            struct dp_actions *acts;
            rand_packet(&f);
            assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
            ofproto_xlate_out_uninit(&out);
            assert_int_equal(wc.in_port, UINT32_MAX);
            n_nonempty += acts->n != 0;
            for (int k = 0; k < 10; k++) {
                struct flow g, wc2;
                struct dp_actions *acts2;
                rand_packet(&g);
                uint64_t *gw = (uint64_t *) (void *) &g;
                const uint64_t *fw = flow_u64(&f), *ww = flow_u64(&wc);
                for (size_t i = 0; i < FLOW_U64S; i++) {
                    gw[i] = (gw[i] & ~ww[i]) | (fw[i] & ww[i]);
                }
                assert_int_equal(ofproto_xlate(ofp, &g, &wc2, &acts2, &out,
                                               0), 0);
                ofproto_xlate_out_uninit(&out);
                if (!dp_actions_equal(acts, acts2)) {
                    char b1[1024], b2[1024];
                    dp_actions_format(b1, sizeof b1, acts);
                    dp_actions_format(b2, sizeof b2, acts2);
                    fail_msg("round %d: flow and wc-equal flow differ: "
                             "'%s' vs '%s'", round, b1, b2);
                }
                free(acts2);
                n_checked++;
            }
            free(acts);
        }
        ofproto_destroy(ofp);
    }
    assert_true(n_checked >= 50000);
    assert_true(n_nonempty > 1000);
}


/* A tunnel field a flow set does not survive a recirculation (it has no
 * datapath action), so ct(table=) after it drops the packet instead of
 * letting the next pass encapsulate with the received metadata; without
 * the set, or with ct() not recirculating, translation goes on. */
static void
test_tunnel_set_then_recirc(void **state)
{
    struct ofproto *ofp = new_ofp(3);
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    struct flow f, wc;

    (void) state;
    add(ofp, 0, "priority=10,in_port=1,"
                "actions=set_field:200->tun_id,ct(table=1)");
    add(ofp, 0, "priority=10,in_port=2,actions=ct(table=1)");
    add(ofp, 0, "priority=10,in_port=3,"
                "actions=set_field:200->tun_id,ct(zone=3),output:2");
    base_flow(&f, 1);
    f.tunnel.tun_id = htobe64(100);
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.n_skipped >= 1);
    ofproto_xlate_out_uninit(&out);
    free(acts);

    base_flow(&f, 2);
    f.tunnel.tun_id = htobe64(100);
    acts = xl(ofp, &f, &wc, NULL);
    assert_int_equal(acts->n, 2);
    assert_int_equal(acts->a[1].type, DPA_RECIRC);
    free(acts);

    base_flow(&f, 3);
    acts = xl(ofp, &f, &wc, NULL);
    assert_int_equal(acts->n, 2);
    assert_int_equal(acts->a[1].type, DPA_OUTPUT);
    free(acts);
    ofproto_destroy(ofp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tunnel_set_then_recirc),
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_rewrites),
        cmocka_unit_test(test_ipv6_and_ttl),
        cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_resubmit_goto),
        cmocka_unit_test(test_flow_mod_model),
        cmocka_unit_test(test_batch_all_or_nothing),
        cmocka_unit_test(test_cookies_outport_strict),
        cmocka_unit_test(test_replace_flows),
        cmocka_unit_test(test_timeouts_and_refs),
        cmocka_unit_test(test_conntrack_xlate),
        cmocka_unit_test(test_unwildcard_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
