/* SPDX-License-Identifier: BSD-3-Clause */
/* test-ofproto.c: flow-mod semantics, xlate and un-wildcarding of ofproto. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
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

    /* Learning on, but a re-translation (nolearn) learns nothing either,
     * and the next ordinary translation learns. */
    ofproto_set_mac_learning(ofp, true);
    {
        struct flow wc_nl;
        struct dp_actions *a = NULL;

        assert_int_equal(ofproto_xlate_stub_nolearn(ofp, &f, &wc_nl, NULL, 0,
                                                    &a, &out, 1000), 0);
        free(a);
        assert_false(out.learned_changed);
        ofproto_xlate_out_uninit(&out);
        assert_int_equal(ml_count(ofproto_ml(ofp)), n_ml);
        acts = xl(ofp, &f, NULL, &out);
        free(acts);
        assert_true(out.learned_changed);
        ofproto_xlate_out_uninit(&out);
        assert_int_equal(ml_count(ofproto_ml(ofp)), n_ml + 1);
    }

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

    /* The issue's firewall: untracked IP goes through ct in zone 5 and
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
    /* Table 2 was looked up as port 3, but its rule's actions see the
     * packet's in_port (as in Open vSwitch): output:1 is to the input
     * port (dropped), IN_PORT after the resubmit is port 1. */
    exp_output(&e, 11);
    exp_output(&e, 14);
    check_actions(acts, &e);
    free(acts);
    assert_int_equal(out.n_rules, 3);
    assert_int_equal(ofproto_rule_table(out.rules[0]), 0);
    assert_int_equal(ofproto_rule_table(out.rules[1]), 1);
    assert_int_equal(ofproto_rule_table(out.rules[2]), 2);
    /* Table 2 was looked up with in_port 3: not the flow as given. */
    assert_false(out.key_lookups);
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
    /* Both lookups (tables 0 and 5) saw the flow as given. */
    assert_true(out.key_lookups);
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
        uint64_t kept = 0;      /* A replaced rule's counts go on. */

        for (size_t i = 0; i < m->n; i++) {
            struct ref_rule *r = &m->r[i];
            if (r->live && r->table == s->table_id
                && r->priority == s->priority
                && ref_same(&r->match, &s->match)) {
                r->live = false;
                kept = s->reset_counts ? 0 : r->packets;
            }
        }
        assert_true(m->n < REF_N);
        struct ref_rule *r = &m->r[m->n++];
        memset(r, 0, sizeof *r);
        r->packets = kept;
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

    /* Add replacing an identical rule keeps its counters (as Open
     * vSwitch does), not its cookie. */
    add(ofp, 1, "priority=10,in_port=1,actions=output:2");
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.info[1].n_packets, 5);
    assert_int_equal(c.info[1].n_bytes, 500);
    assert_int_equal(c.info[1].cookie, 0);
    assert_false(c.info[1].reset_counts);
    /* A modify with reset_counts zeroes them (and does not mark the rule);
     * an add with reset_counts starts from 0 and is marked. */
    ofproto_rule_credit(c.info[1].rule, 2, 200, 8);
    assert_int_equal(mod(ofp, OFFC_MODIFY, 0xff,
                         "reset_counts,in_port=1,actions=output:3", 0), 0);
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.info[1].n_packets, 0);
    assert_int_equal(c.info[1].n_bytes, 0);
    assert_false(c.info[1].reset_counts);
    ofproto_rule_credit(c.info[1].rule, 3, 300, 9);
    add(ofp, 1, "priority=10,reset_counts,in_port=1,actions=output:2");
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.info[1].n_packets, 0);
    assert_true(c.info[1].reset_counts);
    /* A modify that fails (a missing group) resets nothing. */
    ofproto_rule_credit(c.info[1].rule, 4, 400, 10);
    assert_int_not_equal(mod(ofp, OFFC_MODIFY, 0xff,
                             "reset_counts,in_port=1,actions=group:99", 0),
                         0);
    c.n = 0;
    ofproto_dump(ofp, NULL, collect_cb, &c);
    assert_int_equal(c.info[1].n_packets, 4);

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


/* A tunnel field a flow set has no datapath action, so a ct(table=N)
 * after it freezes it for the next pass (which would otherwise see, and
 * encapsulate with, the received metadata); without the set, or with ct()
 * not recirculating, nothing is frozen. */
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
    add(ofp, 1, "priority=10,tun_id=200,actions=output:3");
    add(ofp, 1, "priority=5,actions=output:2");
    /* The tun_id set before the ct has no datapath action: the next pass
     * takes it from a frozen state (and the packet keeps its own). */
    base_flow(&f, 1);
    f.tunnel.tun_id = htobe64(100);
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(acts->n, 2);
    assert_int_equal(acts->a[1].type, DPA_RECIRC);
    assert_true(acts->a[1].recirc_id >= OFPROTO_FROZEN_ID_MIN);
    /* The state holds the packet's other tunnel fields too: they are in
     * the megaflow's match. */
    assert_int_equal(wc.tunnel.ip_src, UINT32_MAX);
    assert_int_equal(wc.tunnel.md_present, 0xff);
    f.recirc_id = acts->a[1].recirc_id;
    f.ct_state = CS_TRACKED | CS_NEW;
    ofproto_xlate_out_uninit(&out);
    free(acts);
    acts = xl(ofp, &f, &wc, NULL);
    assert_int_equal(acts->n, 1);
    assert_int_equal(acts->a[0].port, 13);
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

/* ---- Groups. ---- */

/* Group mod 'cmd' of the ovs-ofctl text 'text' (parsed with buckets
 * unless a delete); returns ofproto_group_mod()'s error, the message in
 * 'err' (may be NULL). */
static int
gmod_err(struct ofproto *ofp, enum of_group_cmd cmd, const char *text,
         long long now, char *err, size_t errsize)
{
    struct of_group_spec g;
    char perr[256] = "", e2[256];
    int error;

    error = of_group_parse(&g, text, cmd != OFGC_DELETE, perr, sizeof perr);
    if (error) {
        fail_msg("group parse '%s': %s", text, perr);
    }
    error = ofproto_group_mod(ofp, cmd, &g, now, err ? err : e2,
                              err ? errsize : sizeof e2);
    of_group_spec_uninit(&g);
    return error;
}

static int
gmod(struct ofproto *ofp, enum of_group_cmd cmd, const char *text)
{
    return gmod_err(ofp, cmd, text, 0, NULL, 0);
}

static void
gadd(struct ofproto *ofp, const char *text)
{
    char err[256] = "";
    int error = gmod_err(ofp, OFGC_ADD, text, 0, err, sizeof err);

    if (error) {
        fail_msg("group add '%s': %d %s", text, error, err);
    }
}

struct removed_log {
    size_t n;
    int32_t prio[256];
    enum ofproto_removed_reason reason[256];
};

static void
removed_cb(const struct ofproto_rule_info *info,
           enum ofproto_removed_reason reason, void *aux)
{
    struct removed_log *l = aux;

    assert_true(l->n < 256);
    l->prio[l->n] = info->priority;
    l->reason[l->n++] = reason;
}

struct group_dump {
    size_t n;
    struct {
        uint32_t id;
        uint8_t type;
        size_t n_buckets;
        uint32_t ref_count;
        long long created_ms;
        uint32_t out0;          /* First bucket's first output, or 0. */
    } g[64];
};

static void
group_dump_cb(const struct ofproto_group_info *info, void *aux)
{
    struct group_dump *d = aux;

    assert_true(d->n < 64);
    d->g[d->n].id = info->spec.group_id;
    d->g[d->n].type = info->spec.type;
    d->g[d->n].n_buckets = info->spec.n_buckets;
    d->g[d->n].ref_count = info->ref_count;
    d->g[d->n].created_ms = info->created_ms;
    d->g[d->n].out0 = 0;
    if (info->spec.n_buckets && info->spec.buckets[0].actions->n
        && info->spec.buckets[0].actions->a[0].type == OFPACT_OUTPUT) {
        d->g[d->n].out0 = info->spec.buckets[0].actions->a[0].output.port;
    }
    d->n++;
}

struct prio_set {
    size_t n;
    int32_t prio[512];
};

static void
prio_cb(const struct ofproto_rule_info *info, void *aux)
{
    struct prio_set *s = aux;

    assert_true(s->n < 512);
    s->prio[s->n++] = info->priority;
}

static bool
prio_has(const struct prio_set *s, int32_t p)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->prio[i] == p) {
            return true;
        }
    }
    return false;
}

/* Translates and returns the datapath output ports, in order, in 'outs'
 * (returns how many; other actions ignored). */
static size_t
xl_outputs(struct ofproto *ofp, const struct flow *f, struct flow *wc,
           uint32_t *outs, size_t max, struct ofproto_xlate_out *keep)
{
    struct dp_actions *acts = xl(ofp, f, wc, keep);
    size_t n = 0;

    for (size_t i = 0; i < acts->n; i++) {
        if (acts->a[i].type == DPA_OUTPUT) {
            assert_true(n < max);
            outs[n++] = acts->a[i].port;
        }
    }
    free(acts);
    return n;
}

static void
test_group_mod_errors(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    char err[256];
    uint64_t gen;

    (void) state;
    assert_int_equal(ofproto_n_groups(ofp), 0);
    gen = ofproto_generation(ofp);
    gadd(ofp, "group_id=1,type=all,bucket=output:1,bucket=output:2");
    assert_true(ofproto_generation(ofp) > gen);
    assert_true(ofproto_group_exists(ofp, 1));
    assert_false(ofproto_group_exists(ofp, 2));
    assert_int_equal(ofproto_n_groups(ofp), 1);

    /* Failures change nothing, generation included, and say why. */
#define REFUSED(CMD, TEXT, ERRNO)                                           \
    do {                                                                    \
        gen = ofproto_generation(ofp);                                      \
        err[0] = '\0';                                                      \
        assert_int_equal(gmod_err(ofp, CMD, TEXT, 0, err, sizeof err),      \
                         ERRNO);                                            \
        assert_true(err[0] != '\0');                                        \
        assert_int_equal(ofproto_generation(ofp), gen);                     \
    } while (0)

    REFUSED(OFGC_ADD, "group_id=1,type=select,bucket=output:3", EEXIST);
    REFUSED(OFGC_MODIFY, "group_id=2,type=all,bucket=output:3", ENOENT);
    REFUSED(OFGC_ADD, "group_id=2,type=indirect", EINVAL);
    REFUSED(OFGC_ADD, "group_id=2,type=indirect,bucket=output:1,"
                      "bucket=output:2", EINVAL);
    REFUSED(OFGC_MODIFY, "group_id=1,type=indirect,bucket=output:1,"
                         "bucket=output:2", EINVAL);
    REFUSED(OFGC_ADD, "group_id=2,type=ff,bucket=watch_port:1,output:1,"
                      "bucket=output:2", EINVAL);
    REFUSED(OFGC_ADD, "group_id=2,type=all,bucket=watch_group:1,output:1",
            EINVAL);
    REFUSED(OFGC_ADD, "group_id=2,type=ff,bucket=watch_group:1,output:1",
            EINVAL);
    REFUSED(OFGC_ADD, "group_id=2,type=all,bucket=output:1,group:2", ELOOP);
    REFUSED(OFGC_ADD, "group_id=2,type=indirect,bucket=group:2", ELOOP);
    REFUSED(OFGC_MODIFY, "group_id=1,type=all,bucket=group:1", ELOOP);
    REFUSED(OFGC_ADD, "group_id=2,type=all,bucket=group:99", ENOENT);
    REFUSED(OFGC_MODIFY, "group_id=1,type=all,bucket=output:1,"
                         "bucket=group:99", ENOENT);
    assert_int_equal(ofproto_n_groups(ofp), 1);
    assert_false(ofproto_group_exists(ofp, 2));
    /* A loop through other groups: 1 -> 3 -> 4, then 4 -> 1 refused. */
    assert_int_equal(gmod(ofp, OFGC_ADD,
                          "group_id=4,type=all,bucket=output:2"), 0);
    assert_int_equal(gmod(ofp, OFGC_ADD,
                          "group_id=3,type=indirect,bucket=group:4"), 0);
    assert_int_equal(gmod(ofp, OFGC_MODIFY,
                          "group_id=1,type=all,bucket=group:3"), 0);
    REFUSED(OFGC_MODIFY, "group_id=4,type=all,bucket=output:2,group:1",
            ELOOP);
    REFUSED(OFGC_MODIFY, "group_id=3,type=select,bucket=output:1,"
                         "bucket=group:1", ELOOP);
    /* A group another group uses stays until that one lets go. */
    REFUSED(OFGC_DELETE, "group_id=3", EBUSY);
    REFUSED(OFGC_DELETE, "group_id=4", EBUSY);
    assert_int_equal(gmod(ofp, OFGC_MODIFY,
                          "group_id=1,type=select,bucket=output:3"), 0);
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=3"), 0);
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=4"), 0);

    /* Not representable in text: a bad type, a reserved id, too many
     * buckets. */
    struct of_group_spec g;
    struct of_bucket bk[OFG_MAX_BUCKETS + 1];

    memset(&g, 0, sizeof g);
    memset(bk, 0, sizeof bk);
    for (int i = 0; i <= OFG_MAX_BUCKETS; i++) {
        bk[i].weight = 1;
        bk[i].watch_port = OFPP_NONE;
        bk[i].watch_group = OFG_ANY;
        bk[i].actions = acts_new(1);
        bk[i].actions->a[0].type = OFPACT_OUTPUT;
        bk[i].actions->a[0].output.port = 1;
    }
    g.group_id = 3;
    g.type = 4;
    g.n_buckets = 1;
    g.buckets = bk;
    gen = ofproto_generation(ofp);
    assert_int_equal(ofproto_group_mod(ofp, OFGC_ADD, &g, 0, err, sizeof err),
                     EINVAL);
    g.type = OFG_TYPE_ALL;
    g.group_id = OFG_ALL;
    assert_int_equal(ofproto_group_mod(ofp, OFGC_ADD, &g, 0, err, sizeof err),
                     EINVAL);
    g.group_id = 3;
    g.n_buckets = OFG_MAX_BUCKETS + 1;
    assert_int_equal(ofproto_group_mod(ofp, OFGC_ADD, &g, 0, err, sizeof err),
                     EINVAL);
    assert_int_equal(ofproto_generation(ofp), gen);
    g.n_buckets = OFG_MAX_BUCKETS;
    assert_int_equal(ofproto_group_mod(ofp, OFGC_ADD, &g, 0, err, sizeof err),
                     0);
    assert_true(ofproto_group_exists(ofp, 3));
    /* A bucket without actions (NULL) is an empty list. */
    free(bk[0].actions);
    bk[0].actions = NULL;
    g.group_id = 4;
    g.n_buckets = 1;
    assert_int_equal(ofproto_group_mod(ofp, OFGC_ADD, &g, 0, err, sizeof err),
                     0);
    for (int i = 0; i <= OFG_MAX_BUCKETS; i++) {
        free(bk[i].actions);
    }

    /* Flows: a missing group is ENOENT, in a batch too (all or none). */
    gen = ofproto_generation(ofp);
    size_t n_rules = ofproto_n_rules(ofp);
    assert_int_equal(mod(ofp, OFFC_ADD, 0, "priority=5,in_port=1,"
                         "actions=output:2,group:99", 0), ENOENT);
    {
        struct of_flow_spec s[2];
        enum of_flow_cmd cmds[2] = { OFFC_ADD, OFFC_ADD };

        parse(&s[0], "priority=5,in_port=1,actions=group:1", OFFC_ADD);
        parse(&s[1], "priority=6,in_port=1,actions=group:98", OFFC_ADD);
        err[0] = '\0';
        assert_int_equal(ofproto_flow_mod_batch(ofp, s, cmds, 2, 0, err,
                                                sizeof err), ENOENT);
        assert_non_null(strstr(err, "98"));
        of_flow_spec_uninit(&s[0]);
        of_flow_spec_uninit(&s[1]);
    }
    assert_int_equal(ofproto_n_rules(ofp), n_rules);
    assert_int_equal(ofproto_generation(ofp), gen);
    add(ofp, 0, "priority=5,in_port=1,actions=group:1");
    assert_int_equal(mod(ofp, OFFC_MODIFY, 0, "in_port=1,actions=group:97",
                         0), ENOENT);
    /* Modify of a group keeps its flows. */
    assert_int_equal(gmod(ofp, OFGC_MODIFY, "group_id=1,type=indirect,"
                          "bucket=output:3"), 0);
    assert_int_equal(ofproto_n_rules(ofp), n_rules + 1);

    /* Deleting a missing group is no error. */
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=77"), 0);
    assert_int_equal(ofproto_n_groups(ofp), 3);
    assert_int_equal(ofproto_n_rules(ofp), n_rules + 1);
#undef REFUSED
    ofproto_destroy(ofp);
}

/* Generations: each group change and each liveness change, nothing
 * else. */
static void
test_group_generation(void **state)
{
    struct ofproto *ofp = new_ofp(3);
    uint64_t gen;

    (void) state;
#define BUMPS(EXPR)                                                         \
    do {                                                                    \
        gen = ofproto_generation(ofp);                                      \
        assert_int_equal(EXPR, 0);                                          \
        assert_true(ofproto_generation(ofp) > gen);                         \
    } while (0)
#define STILL(EXPR, RET)                                                    \
    do {                                                                    \
        gen = ofproto_generation(ofp);                                      \
        assert_int_equal(EXPR, RET);                                        \
        assert_int_equal(ofproto_generation(ofp), gen);                     \
    } while (0)

    BUMPS(gmod(ofp, OFGC_ADD, "group_id=1,type=ff,bucket=watch_port:1,"
                              "output:1"));
    BUMPS(gmod(ofp, OFGC_MODIFY, "group_id=1,type=ff,bucket=watch_port:2,"
                                 "output:2"));
    BUMPS(gmod(ofp, OFGC_ADD, "group_id=2,type=all"));
    BUMPS(gmod(ofp, OFGC_DELETE, "group_id=2"));
    BUMPS(ofproto_port_set_live(ofp, 2, false));
    STILL(ofproto_port_set_live(ofp, 2, false), 0);
    BUMPS(ofproto_port_set_live(ofp, 2, true));
    STILL(ofproto_port_set_live(ofp, 2, true), 0);
    STILL(ofproto_port_set_live(ofp, 3, true), 0);
    STILL(ofproto_port_set_live(ofp, 9, false), ENOENT);
    STILL(gmod(ofp, OFGC_ADD, "group_id=1,type=all"), EEXIST);
    BUMPS(gmod(ofp, OFGC_DELETE, "group_id=all"));
    assert_int_equal(ofproto_n_groups(ofp), 0);
#undef BUMPS
#undef STILL
    ofproto_destroy(ofp);
}

/* Random group and flow mods against a trivial reference: errnos,
 * the groups and their order, ref counts, the flows a delete takes with
 * it and their removal reports. */
#define GM_IDS 8
struct gm_ref {
    bool exists[GM_IDS + 1];
    uint8_t type[GM_IDS + 1];
    size_t n_buckets[GM_IDS + 1];
    uint32_t out0[GM_IDS + 1];
    long long created[GM_IDS + 1];
    size_t n_flows;
    struct {
        int32_t prio;
        uint32_t group;
        bool send_rem;
        bool live;
    } f[512];
};

static void
gm_ref_check(struct ofproto *ofp, const struct gm_ref *m)
{
    struct group_dump d;
    struct prio_set ps;
    size_t n = 0, n_live = 0;

    d.n = 0;
    ofproto_group_dump(ofp, OFG_ALL, group_dump_cb, &d);
    for (uint32_t id = 1; id <= GM_IDS; id++) {
        uint32_t refs = 0;

        assert_int_equal(ofproto_group_exists(ofp, id), m->exists[id]);
        if (!m->exists[id]) {
            continue;
        }
        for (size_t i = 0; i < m->n_flows; i++) {
            refs += m->f[i].live && m->f[i].group == id;
        }
        assert_true(n < d.n);
        assert_int_equal(d.g[n].id, id);            /* In id order. */
        assert_int_equal(d.g[n].type, m->type[id]);
        assert_int_equal(d.g[n].n_buckets, m->n_buckets[id]);
        assert_int_equal(d.g[n].out0, m->out0[id]);
        assert_int_equal(d.g[n].ref_count, refs);
        assert_int_equal(d.g[n].created_ms, m->created[id]);

        /* One group. */
        struct group_dump d1;
        d1.n = 0;
        ofproto_group_dump(ofp, id, group_dump_cb, &d1);
        assert_int_equal(d1.n, 1);
        assert_int_equal(d1.g[0].id, id);
        assert_int_equal(d1.g[0].ref_count, refs);
        n++;
    }
    assert_int_equal(d.n, n);
    assert_int_equal(ofproto_n_groups(ofp), n);

    ps.n = 0;
    ofproto_dump(ofp, NULL, prio_cb, &ps);
    for (size_t i = 0; i < m->n_flows; i++) {
        if (m->f[i].live) {
            n_live++;
            assert_true(prio_has(&ps, m->f[i].prio));
        } else {
            assert_false(prio_has(&ps, m->f[i].prio));
        }
    }
    assert_int_equal(ofproto_n_rules(ofp), n_live + 1);    /* + NORMAL */
}

static void
test_group_mod_model(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct gm_ref *m = calloc(1, sizeof *m);
    struct removed_log log;
    long long now = 1000;

    (void) state;
    assert_non_null(m);
    srand(4242);
    ofproto_set_removed_cb(ofp, removed_cb, &log);
    for (int iter = 0; iter < 1500; iter++) {
        char text[512];
        uint32_t id = 1 + rand() % GM_IDS;
        int op = rand() % 10;
        uint64_t gen = ofproto_generation(ofp);
        int error, want;

        now += 10;
        log.n = 0;
        if (op < 3 || op == 3) {                /* add / modify */
            enum of_group_cmd cmd = op < 3 ? OFGC_ADD : OFGC_MODIFY;
            uint8_t type = rand() % 4;
            size_t nb = type == OFG_TYPE_INDIRECT
                        ? (rand() % 8 ? 1 : rand() % 2 * 2) : rand() % 4;
            bool bad = type == OFG_TYPE_INDIRECT && nb != 1;
            uint32_t out0 = 0;
            size_t len;

            len = (size_t) snprintf(text, sizeof text,
                                    "group_id=%" PRIu32 ",type=%s", id,
                                    (const char *[]) {"all", "select",
                                                      "indirect",
                                                      "ff"}[type]);
            for (size_t b = 0; b < nb; b++) {
                uint32_t port = 1 + rand() % 4;

                if (!b) {
                    out0 = port;
                }
                len += (size_t) snprintf(text + len, sizeof text - len,
                                         ",bucket=%soutput:%" PRIu32,
                                         type == OFG_TYPE_FF
                                         ? "watch_port:1," : "", port);
            }
            error = gmod_err(ofp, cmd, text, now, NULL, 0);
            if (cmd == OFGC_ADD && m->exists[id]) {
                want = EEXIST;
            } else if (cmd == OFGC_MODIFY && !m->exists[id]) {
                want = ENOENT;
            } else {
                want = bad ? EINVAL : 0;
            }
            if (want && bad && error == EINVAL) {
                want = EINVAL;          /* Either refusal will do. */
            }
            assert_int_equal(error, want);
            if (!error) {
                if (cmd == OFGC_ADD) {
                    m->created[id] = now;
                }
                m->exists[id] = true;
                m->type[id] = type;
                m->n_buckets[id] = nb;
                m->out0[id] = out0;
                assert_true(ofproto_generation(ofp) > gen);
            } else {
                assert_int_equal(ofproto_generation(ofp), gen);
            }
            assert_int_equal(log.n, 0);
        } else if (op < 6) {                    /* delete */
            bool all = op == 5 && rand() % 3 == 0;
            bool any = false;
            size_t n_rem = 0;

            snprintf(text, sizeof text, all ? "group_id=all"
                     : "group_id=%" PRIu32, id);
            assert_int_equal(gmod_err(ofp, OFGC_DELETE, text, now, NULL, 0),
                             0);
            for (uint32_t j = 1; j <= GM_IDS; j++) {
                if ((all || j == id) && m->exists[j]) {
                    m->exists[j] = false;
                    any = true;
                }
            }
            for (size_t i = 0; i < m->n_flows; i++) {
                if (m->f[i].live && (all || m->f[i].group == id)) {
                    m->f[i].live = false;
                    if (m->f[i].send_rem) {
                        bool found = false;

                        for (size_t k = 0; k < log.n; k++) {
                            if (log.prio[k] == m->f[i].prio) {
                                assert_int_equal(
                                    log.reason[k],
                                    OFPROTO_REMOVED_GROUP_DELETE);
                                found = true;
                            }
                        }
                        assert_true(found);
                        n_rem++;
                    }
                }
            }
            assert_int_equal(log.n, n_rem);
            if (any) {
                assert_true(ofproto_generation(ofp) > gen);
            }
        } else if (m->n_flows < 512) {          /* a flow using a group */
            bool rem = rand() % 2;
            int32_t prio = 100 + (int32_t) m->n_flows;

            snprintf(text, sizeof text, "%spriority=%d,in_port=%d,"
                     "actions=output:2,group:%" PRIu32,
                     rem ? "send_flow_rem," : "", prio, 1 + rand() % 3, id);
            error = mod(ofp, OFFC_ADD, (uint8_t) (rand() % 3), text, now);
            assert_int_equal(error, m->exists[id] ? 0 : ENOENT);
            if (!error) {
                m->f[m->n_flows].prio = prio;
                m->f[m->n_flows].group = id;
                m->f[m->n_flows].send_rem = rem;
                m->f[m->n_flows].live = true;
                m->n_flows++;
            }
        }
        gm_ref_check(ofp, m);
    }
    free(m);
    ofproto_destroy(ofp);
}

/* Delete takes exactly the flows whose actions use the group, reported
 * (when they asked) with OFPROTO_REMOVED_GROUP_DELETE; OFG_ALL takes
 * every flow that uses any group. */
static void
test_group_delete_flows(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct removed_log log = { 0 };
    struct prio_set ps;
    struct group_dump d;

    (void) state;
    ofproto_set_removed_cb(ofp, removed_cb, &log);
    gadd(ofp, "group_id=1,type=all,bucket=output:1");
    gadd(ofp, "group_id=2,type=indirect,bucket=output:2");
    gadd(ofp, "group_id=3,type=all,bucket=group:1,bucket=output:3");
    add(ofp, 0, "send_flow_rem,priority=10,in_port=1,actions=group:1");
    add(ofp, 0, "priority=11,in_port=2,actions=output:3,group:1");
    add(ofp, 1, "send_flow_rem,priority=12,in_port=1,actions=output:4,"
                "group:2");
    add(ofp, 2, "send_flow_rem,priority=13,in_port=1,actions=group:2,"
                "group:1");
    add(ofp, 0, "send_flow_rem,priority=14,in_port=3,actions=group:3");
    add(ofp, 0, "send_flow_rem,priority=15,in_port=4,actions=output:1");
    add(ofp, 0, "send_flow_rem,priority=16,in_port=4,actions=resubmit(,1)");

    d.n = 0;
    ofproto_group_dump(ofp, OFG_ALL, group_dump_cb, &d);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.g[0].id, 1);
    assert_int_equal(d.g[0].ref_count, 3);      /* 10, 11, 13 */
    assert_int_equal(d.g[1].id, 2);
    assert_int_equal(d.g[1].ref_count, 2);      /* 12, 13 */
    assert_int_equal(d.g[2].id, 3);
    assert_int_equal(d.g[2].ref_count, 1);      /* 14 (not via buckets) */

    /* Group 1 is group 3's: it stays until group 3 lets go. */
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=1"), EBUSY);
    assert_int_equal(ofproto_n_rules(ofp), 1 + 7);
    assert_int_equal(log.n, 0);
    assert_int_equal(gmod(ofp, OFGC_MODIFY, "group_id=3,type=all,"
                          "bucket=output:2,bucket=output:3"), 0);
    /* Group 1: 10, 11, 13 go; 10 and 13 are reported. */
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=1"), 0);
    assert_int_equal(ofproto_n_rules(ofp), 1 + 4);
    ps.n = 0;
    ofproto_dump(ofp, NULL, prio_cb, &ps);
    assert_false(prio_has(&ps, 10));
    assert_false(prio_has(&ps, 11));
    assert_false(prio_has(&ps, 13));
    assert_true(prio_has(&ps, 12));
    assert_true(prio_has(&ps, 14));
    assert_true(prio_has(&ps, 15));
    assert_true(prio_has(&ps, 16));
    assert_int_equal(log.n, 2);
    for (size_t i = 0; i < log.n; i++) {
        assert_true(log.prio[i] == 10 || log.prio[i] == 13);
        assert_int_equal(log.reason[i], OFPROTO_REMOVED_GROUP_DELETE);
    }
    assert_true(log.prio[0] != log.prio[1]);
    assert_false(ofproto_group_exists(ofp, 1));
    assert_int_equal(ofproto_n_groups(ofp), 2);

    /* Ordinary deletes still say DELETE. */
    log.n = 0;
    assert_int_equal(mod(ofp, OFFC_DELETE_STRICT, 0, "priority=15,in_port=4",
                         0), 0);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.reason[0], OFPROTO_REMOVED_DELETE);

    /* OFG_ALL: every group and the flows that use any of them. */
    log.n = 0;
    gadd(ofp, "group_id=9,type=all");
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=all"), 0);
    assert_int_equal(ofproto_n_groups(ofp), 0);
    assert_false(ofproto_group_exists(ofp, 2));
    assert_false(ofproto_group_exists(ofp, 3));
    assert_false(ofproto_group_exists(ofp, 9));
    assert_int_equal(log.n, 2);                 /* 12 and 14 */
    assert_true((log.prio[0] == 12 && log.prio[1] == 14)
                || (log.prio[0] == 14 && log.prio[1] == 12));
    assert_int_equal(log.reason[0], OFPROTO_REMOVED_GROUP_DELETE);
    assert_int_equal(log.reason[1], OFPROTO_REMOVED_GROUP_DELETE);
    ps.n = 0;
    ofproto_dump(ofp, NULL, prio_cb, &ps);
    assert_int_equal(ps.n, 2);                  /* 16 and NORMAL */
    assert_true(prio_has(&ps, 16));
    assert_true(prio_has(&ps, 0));

    /* Dump of one missing id: nothing. */
    d.n = 0;
    ofproto_group_dump(ofp, 5, group_dump_cb, &d);
    assert_int_equal(d.n, 0);
    ofproto_destroy(ofp);
}

/* all, indirect, chaining: bucket order, and a bucket's rewrites stay in
 * the bucket. */
static void
test_group_xlate_all_indirect(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct dp_action *a;
    struct flow f;
    struct exp e;

    (void) state;
    gadd(ofp, "group_id=1,type=all,bucket=mod_nw_src:1.2.3.4,output:2,"
              "bucket=output:3,bucket=mod_tp_dst:8,output:4,"
              "bucket=mod_dl_dst:02:00:00:00:00:99");
    add(ofp, 0, "priority=10,in_port=1,actions=group:1,output:4");
    base_flow(&f, 1);
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = htonl(0x01020304);
    a->ipv4.dst = f.nw_dst;
    a->ipv4.src_mask = htonl(0x01020304) ^ f.nw_src;
    a->ipv4.ttl = 64;
    exp_output(&e, 12);
    a = exp_add(&e, DPA_SET_IPV4);              /* Back to the original. */
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = f.nw_dst;
    a->ipv4.src_mask = htonl(0x01020304) ^ f.nw_src;
    a->ipv4.ttl = 64;
    exp_output(&e, 13);
    a = exp_add(&e, DPA_SET_L4);
    a->l4.src = f.tp_src;
    a->l4.dst = htons(8);
    a->l4.dst_mask = htons(8) ^ htons(80);
    a->l4.proto = IPPROTO_TCP_;
    exp_output(&e, 14);
    a = exp_add(&e, DPA_SET_L4);                /* The group left no mark. */
    a->l4.src = f.tp_src;
    a->l4.dst = htons(80);
    a->l4.dst_mask = htons(8) ^ htons(80);
    a->l4.proto = IPPROTO_TCP_;
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);

    /* indirect, and chaining (a bucket's group). */
    gadd(ofp, "group_id=2,type=indirect,bucket=mod_nw_dst:9.9.9.9,output:3");
    gadd(ofp, "group_id=3,type=all,bucket=output:1,bucket=group:2,"
              "bucket=output:4");
    add(ofp, 0, "priority=10,in_port=2,actions=group:2");
    add(ofp, 0, "priority=20,in_port=2,udp,actions=group:3");
    base_flow(&f, 2);
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = htonl(0x09090909);
    a->ipv4.dst_mask = htonl(0x09090909) ^ f.nw_dst;
    a->ipv4.ttl = 64;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    base_flow(&f, 2);
    f.nw_proto = 17;
    e.n = 0;
    exp_output(&e, 11);
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = htonl(0x09090909);
    a->ipv4.dst_mask = htonl(0x09090909) ^ f.nw_dst;
    a->ipv4.ttl = 64;
    exp_output(&e, 13);
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = f.nw_dst;
    a->ipv4.dst_mask = htonl(0x09090909) ^ f.nw_dst;
    a->ipv4.ttl = 64;
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);

    /* An empty all group, and an output to the input port in a bucket. */
    gadd(ofp, "group_id=4,type=all");
    gadd(ofp, "group_id=5,type=all,bucket=output:4,bucket=output:4");
    add(ofp, 0, "priority=10,in_port=4,actions=group:4,group:5,output:1");
    base_flow(&f, 4);
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);

    /* A group deleted from under a bucket: skipped. */
    ofproto_destroy(ofp);
}

/* write_metadata sets the pipeline's metadata for the tables after it
 * (through goto_table and resubmit), under its mask; a table matches it;
 * it never reaches the megaflow's mask (every datapath key has 0), and a
 * translation that wrote it does not count as looking up the key as
 * given. */
static void
test_write_metadata(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    struct flow f, wc;
    struct exp e;

    (void) state;
    add(ofp, 0, "priority=10,in_port=1,actions=write_metadata:0x1205/0xff,"
                "goto_table:1");
    add(ofp, 0, "priority=10,in_port=2,actions=write_metadata:0x6,"
                "goto_table:1");
    add(ofp, 0, "priority=10,in_port=3,actions=write_metadata:0x7,"
                "goto_table:2");
    add(ofp, 0, "priority=10,in_port=4,actions=goto_table:2");
    add(ofp, 0, "priority=20,in_port=4,udp,actions=set_field:0x7->metadata,"
                "resubmit(,2)");
    add(ofp, 1, "priority=20,metadata=0x5/0xff,actions=output:2");
    add(ofp, 1, "priority=10,metadata=0x6,actions=resubmit(,2)");
    add(ofp, 1, "priority=1,actions=output:4");
    add(ofp, 2, "priority=10,metadata=0x6,ip,actions=output:3");
    add(ofp, 2, "priority=10,metadata=0x7,actions=output:2");
    add(ofp, 2, "priority=5,metadata=0,actions=output:1");

    base_flow(&f, 1);                   /* 0x05 under the mask: port 2. */
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);
    base_flow(&f, 2);                   /* 0x6, resubmit to table 2. */
    e.n = 0;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);
    base_flow(&f, 3);                   /* goto_table:2 straight. */
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);
    base_flow(&f, 4);                   /* No write: metadata 0. */
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);
    f.nw_proto = IPPROTO_UDP_;          /* set_field writes it too. */
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);

    base_flow(&f, 1);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
    free(acts);
    assert_int_equal(wc.metadata, 0);
    assert_false(out.key_lookups);
    ofproto_xlate_out_uninit(&out);

    /* A bucket may not write metadata; a flow must write it last. */
    assert_int_not_equal(gmod(ofp, OFGC_ADD, "group_id=1,type=all,"
                              "bucket=write_metadata:0x1"), 0);
    {
        struct of_flow_spec s;
        struct of_action tmp;
        char err[256];

        parse(&s, "priority=3,actions=output:2,write_metadata:0x1",
              OFFC_ADD);
        tmp = s.actions->a[0];
        s.actions->a[0] = s.actions->a[1];
        s.actions->a[1] = tmp;
        assert_int_equal(ofproto_flow_mod(ofp, &s, OFFC_ADD, 0, err,
                                          sizeof err), EINVAL);
        assert_non_null(strstr(err, "write_metadata"));
        of_flow_spec_uninit(&s);
    }
    ofproto_destroy(ofp);
}

/* Registers: load, set_field and move write them for the tables after
 * (goto_table, resubmit), tables match them, a ct() takes its zone from
 * one; they never reach the megaflow's mask, but a packet field moved
 * into one does, and so do its bits a zone was read from. */
static void
test_registers(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    struct flow f, wc;
    struct exp e;

    (void) state;
    add(ofp, 0, "priority=10,in_port=1,actions=load:2->NXM_NX_REG0[],"
                "goto_table:1");
    add(ofp, 0, "priority=10,in_port=2,actions=set_field:3->reg0,"
                "load:0xf->NXM_NX_REG0[8..11],resubmit(,1)");
    add(ofp, 0, "priority=10,in_port=3,tcp,"
                "actions=move:NXM_OF_TCP_DST[]->NXM_NX_REG1[16..31],"
                "goto_table:2");
    add(ofp, 0, "priority=10,in_port=4,ip,"
                "actions=load:0x77->NXM_NX_REG2[16..31],"
                "move:NXM_NX_REG2[16..31]->NXM_NX_REG3[0..15],"
                "ct(zone=NXM_NX_REG3[0..15],table=1)");
    add(ofp, 1, "priority=20,reg0=2,actions=output:2");
    add(ofp, 1, "priority=20,reg0=0xf03,actions=output:3");
    add(ofp, 1, "priority=1,actions=output:4");
    add(ofp, 2, "priority=20,reg1=0x500000/0xffff0000,actions=output:2");
    add(ofp, 2, "priority=1,actions=output:1");

    base_flow(&f, 1);                   /* reg0 = 2: port 2. */
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);
    base_flow(&f, 2);                   /* reg0 = 0xf03: port 3. */
    e.n = 0;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);
    base_flow(&f, 3);                   /* tcp_dst 80 = 0x50: port 2. */
    e.n = 0;
    exp_output(&e, 12);
    xlate_expect(ofp, &f, &e);
    f.tp_dst = htons(81);
    e.n = 0;
    exp_output(&e, 11);
    xlate_expect(ofp, &f, &e);
    /* The moved packet bits are in the megaflow; no register is. */
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
    free(acts);
    assert_int_equal(wc.tp_dst, 0xffff);
    for (int i = 0; i < FLOW_N_REGS; i++) {
        assert_int_equal(wc.regs[i], 0);
    }
    ofproto_xlate_out_uninit(&out);
    base_flow(&f, 1);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
    free(acts);
    for (int i = 0; i < FLOW_N_REGS; i++) {
        assert_int_equal(wc.regs[i], 0);
    }
    ofproto_xlate_out_uninit(&out);
    /* The zone a register gave. */
    base_flow(&f, 4);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
    assert_true(acts->n >= 1);
    assert_int_equal(acts->a[0].type, DPA_CT);
    assert_int_equal(acts->a[0].ct.zone, 0x77);
    free(acts);
    ofproto_xlate_out_uninit(&out);
    ofproto_destroy(ofp);
}

/* The recirc_id of the DPA_RECIRC in 'acts' (0: none). */
static uint32_t
recirc_of(const struct dp_actions *acts)
{
    for (size_t i = 0; i < acts->n; i++) {
        if (acts->a[i].type == DPA_RECIRC) {
            return acts->a[i].recirc_id;
        }
    }
    return 0;
}

/* base_flow() as UDP to 'dport'. */
static void
udp_flow(struct flow *f, uint32_t in_port, uint16_t dport)
{
    base_flow(f, in_port);
    f->nw_proto = IPPROTO_UDP_;
    f->tp_dst = htons(dport);
}

/* Registers and metadata carry over ct(table=N) (ofproto.h,
 * "Recirculation"): a frozen state per distinct (table, registers,
 * metadata), held by the translation's result, swept once nothing holds
 * or uses it; all-zero ones keep the table's own id. */
static void
test_recirc_frozen(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct ofproto_xlate_out out, out2;
    struct ofproto_recirc_stats st;
    struct dp_actions *acts;
    uint32_t id, id2;
    struct flow f, wc;
    struct exp e;

    (void) state;
    /* Port 1: the zone into reg13, the destination port into reg0 and
     * metadata 5, then ct to table 1, which commits in reg13's zone and
     * decides on reg0 and metadata.  Port 2: nothing loaded. */
    add(ofp, 0, "priority=10,in_port=1,udp,"
                "actions=load:0x99->NXM_NX_REG13[0..15],"
                "move:NXM_OF_UDP_DST[]->NXM_NX_REG0[0..15],"
                "write_metadata:0x5,goto_table:1");
    add(ofp, 1, "priority=10,ct_state=-trk,"
                "actions=ct(zone=NXM_NX_REG13[0..15],table=2)");
    add(ofp, 0, "priority=10,in_port=2,ip,actions=ct(zone=7,table=2)");
    add(ofp, 2, "priority=20,ip,ct_state=+trk,reg0=53,metadata=0x5,"
                "actions=ct(commit,zone=NXM_NX_REG13[0..15]),output:2");
    add(ofp, 2, "priority=15,ct_state=+trk,reg0=54,"
                "actions=output:3");
    add(ofp, 2, "priority=1,actions=output:4");

    /* Nothing loaded: the table's id, no frozen state. */
    base_flow(&f, 2);
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(recirc_of(acts), ofproto_recirc_id(2));
    assert_int_equal(out.n_counters, 0);
    ofproto_xlate_out_uninit(&out);
    free(acts);
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.states, 0);

    /* Port 1, udp 53: a frozen id, held by the result. */
    udp_flow(&f, 1, 53);
    acts = xl(ofp, &f, &wc, &out);
    id = recirc_of(acts);
    assert_true(id >= OFPROTO_FROZEN_ID_MIN);
    assert_int_equal(acts->a[0].type, DPA_CT);
    assert_int_equal(acts->a[0].ct.zone, 0x99);
    assert_int_equal(out.n_counters, 1);
    free(acts);
    for (int i = 0; i < FLOW_N_REGS; i++) {
        assert_int_equal(wc.regs[i], 0);    /* Never in the match. */
    }
    assert_int_equal(wc.tp_dst, 0xffff);    /* What reg0 came from. */
    /* The same state again: the same id; another reg0: another. */
    acts = xl(ofp, &f, &wc, &out2);
    assert_int_equal(recirc_of(acts), id);
    ofproto_xlate_out_uninit(&out2);
    free(acts);
    f.tp_dst = htons(54);
    acts = xl(ofp, &f, &wc, &out2);
    id2 = recirc_of(acts);
    assert_true(id2 >= OFPROTO_FROZEN_ID_MIN && id2 != id);
    free(acts);
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.states, 2);

    /* The next pass resumes in table 2 with reg0, reg13 and metadata:
     * the commit goes to zone 0x99, the packet to port 2. */
    udp_flow(&f, 1, 53);
    f.recirc_id = id;
    f.ct_state = CS_TRACKED | CS_NEW;
    acts = xl(ofp, &f, &wc, NULL);
    assert_int_equal(acts->n, 2);
    assert_int_equal(acts->a[0].type, DPA_CT);
    assert_int_equal(acts->a[0].ct.zone, 0x99);
    assert_int_equal(acts->a[0].ct.flags, CT_F_COMMIT);
    assert_int_equal(acts->a[1].type, DPA_OUTPUT);
    assert_int_equal(acts->a[1].port, 12);
    free(acts);
    for (int i = 0; i < FLOW_N_REGS; i++) {
        assert_int_equal(wc.regs[i], 0);
    }
    assert_int_equal(wc.metadata, 0);
    /* The id carries the state, not the packet: udp 53 with id2 (reg0 =
     * 54) goes to port 3. */
    f.recirc_id = id2;
    e.n = 0;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* Sweeps: held states stay; once released, a state survives the
     * sweep that finds it unheld and goes at the next one, unless a
     * translation used it in between. */
    assert_int_equal(ofproto_recirc_sweep(ofp, 1000), 0);
    assert_int_equal(ofproto_recirc_sweep(ofp, 5000), 0);
    ofproto_xlate_out_uninit(&out);             /* id released */
    ofproto_xlate_out_uninit(&out2);            /* id2 released */
    assert_int_equal(ofproto_recirc_sweep(ofp, 5500), 0);  /* too soon */
    assert_int_equal(ofproto_recirc_sweep(ofp, 6000), 0);  /* marked */
    f.recirc_id = id2;                          /* id2 used: kept */
    xlate_expect(ofp, &f, &e);
    assert_int_equal(ofproto_recirc_sweep(ofp, 7000), 1);  /* id goes */
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.states, 1);
    f.recirc_id = id;
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.bad_recirc_id);
    ofproto_xlate_out_uninit(&out);
    free(acts);
    assert_int_equal(ofproto_recirc_sweep(ofp, 8000), 1);  /* id2 goes */
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.states, 0);
    /* Made again: a new id (ids are not given twice). */
    udp_flow(&f, 1, 53);
    acts = xl(ofp, &f, &wc, &out);
    assert_true(recirc_of(acts) > id2);
    free(acts);
    /* ofproto_destroy() with a state still held: the result's reference
     * outlives it (ASan checks the order). */
    ofproto_destroy(ofp);
    ofproto_xlate_out_uninit(&out);
}

/* More states than OFPROTO_MAX_FROZEN: the translation that would need
 * one more drops the packet and is counted; a full report keeps the
 * frozen state and lets a counter or rule go. */
static void
test_recirc_frozen_limits(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct ofproto_xlate_out out;
    struct ofproto_recirc_stats st;
    struct dp_actions *acts;
    struct flow f, wc;
    char buf[256];

    (void) state;
    add(ofp, 0, "priority=10,in_port=1,ip,"
                "actions=move:NXM_OF_IP_SRC[]->NXM_NX_REG0[],"
                "ct(table=1)");
    for (uint32_t i = 0; i < OFPROTO_MAX_FROZEN; i++) {
        base_flow(&f, 1);
        f.nw_src = htonl(i + 1);            /* (0 would need none) */
        acts = xl(ofp, &f, &wc, NULL);      /* released at once */
        assert_int_equal(recirc_of(acts) >= OFPROTO_FROZEN_ID_MIN, 1);
        free(acts);
    }
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.states, OFPROTO_MAX_FROZEN);
    assert_int_equal(st.refused, 0);
    base_flow(&f, 1);
    f.nw_src = htonl(OFPROTO_MAX_FROZEN + 1);
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.recirc_refused);
    assert_true(out.no_cache);          /* Later packets may find room. */
    ofproto_xlate_out_uninit(&out);
    free(acts);
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.refused, 1);
    /* Two sweeps free them all; then there is room again, and later
     * sweeps give the maps' memory back, a quarter at a time. */
    ofproto_recirc_stats(ofp, &st);
    assert_true(st.buckets >= OFPROTO_MAX_FROZEN);
    ofproto_recirc_sweep(ofp, 0);
    assert_int_equal(ofproto_recirc_sweep(ofp, 1000), OFPROTO_MAX_FROZEN);
    {
        size_t before = st.buckets;

        ofproto_recirc_stats(ofp, &st);
        assert_int_equal(st.states, 0);
        assert_int_equal(st.buckets, before / 4);
        for (long long t = 2000; t < 20000; t += 1000) {
            ofproto_recirc_sweep(ofp, t);
        }
        ofproto_recirc_stats(ofp, &st);
        assert_true(st.buckets >= 32 && st.buckets <= 64);
    }
    acts = xl(ofp, &f, &wc, NULL);
    assert_true(recirc_of(acts) >= OFPROTO_FROZEN_ID_MIN);
    free(acts);

    /* 16 rules hit through resubmits, then the frozen state: it is in the
     * report, a rule made way. */
    for (int t = 2; t < 2 + OFPROTO_MAX_XLATE_RULES; t++) {
        snprintf(buf, sizeof buf, "priority=1,actions=resubmit(,%d)",
                 t + 1);
        add(ofp, t, buf);
    }
    snprintf(buf, sizeof buf, "priority=1,actions=load:1->NXM_NX_REG1[],"
             "ct(table=1)");
    add(ofp, 2 + OFPROTO_MAX_XLATE_RULES, buf);
    add(ofp, 0, "priority=20,in_port=2,actions=resubmit(,2)");
    base_flow(&f, 2);
    acts = xl(ofp, &f, &wc, &out);
    assert_true(recirc_of(acts) >= OFPROTO_FROZEN_ID_MIN);
    assert_int_equal(out.n_rules + out.n_counters, OFPROTO_MAX_XLATE_RULES);
    assert_int_equal(out.n_counters, 1);
    assert_true(out.rules_truncated);
    ofproto_xlate_out_uninit(&out);
    free(acts);

    /* Two ct(table=1) with the same registers: one state, held once. */
    add(ofp, 0, "priority=20,in_port=3,ip,actions=load:7->NXM_NX_REG2[],"
                "ct(table=1),ct(zone=2,table=1)");
    base_flow(&f, 3);
    acts = xl(ofp, &f, &wc, &out);
    assert_int_equal(acts->n, 4);
    assert_int_equal(acts->a[1].type, DPA_RECIRC);
    assert_int_equal(acts->a[3].type, DPA_RECIRC);
    assert_int_equal(acts->a[1].recirc_id, acts->a[3].recirc_id);
    assert_int_equal(out.n_counters, 1);
    ofproto_xlate_out_uninit(&out);
    free(acts);
    ofproto_destroy(ofp);
}

/* The types of acts' actions, in order, as a string ("ct,recirc,out12"). */
static const char *
acts_str(const struct dp_actions *acts, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < acts->n && n < size; i++) {
        const struct dp_action *a = &acts->a[i];
        const char *sep = i ? "," : "";

        switch (a->type) {
        case DPA_OUTPUT:
            n += snprintf(buf + n, size - n, "%sout%u", sep, a->port);
            break;
        case DPA_CT:
            n += snprintf(buf + n, size - n, "%sct", sep);
            break;
        case DPA_RECIRC:
            n += snprintf(buf + n, size - n, "%srecirc", sep);
            break;
        case DPA_SET_IPV4:
            n += snprintf(buf + n, size - n, "%sset_ipv4", sep);
            break;
        default:
            n += snprintf(buf + n, size - n, "%s%u", sep, a->type);
            break;
        }
    }
    return buf;
}

/* Pass 1 of 'f' (its result kept in *out) and then pass 2 with the id it
 * recirculated with: pass 2's actions as acts_str() in 'p2'; pass 1's in
 * 'p1'.  Returns pass 2's wildcards in *wc2. */
static void
two_passes(struct ofproto *ofp, const struct flow *f,
           struct ofproto_xlate_out *out, char *p1, char *p2, size_t size,
           struct flow *wc2)
{
    struct dp_actions *acts;
    struct flow wc, g = *f;

    acts = xl(ofp, f, &wc, out);
    acts_str(acts, p1, size);
    g.recirc_id = recirc_of(acts);
    free(acts);
    assert_true(g.recirc_id != 0);
    g.ct_state = CS_TRACKED | CS_NEW;
    acts = xl(ofp, &g, wc2, NULL);
    acts_str(acts, p2, size);
    free(acts);
}

/* What else a ct(table=N) freezes besides the registers and metadata
 * (ofproto.h, "Recirculation"): the action set, which moves to the next
 * pass (the first runs none of it), an in_port the actions loaded, and
 * tunnel metadata they set.  A resubmit(PORT,T)'s port is for its lookup
 * only, and so not frozen. */
static void
test_recirc_frozen_pipeline(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct ofproto_xlate_out out;
    struct ofproto_recirc_stats st;
    char p1[128], p2[128];
    struct flow f, wc;

    (void) state;
    add(ofp, 0, "priority=10,in_port=1,udp,actions=write_actions(output:2),"
                "goto_table:1");
    add(ofp, 0, "priority=10,in_port=1,tcp,tp_dst=1,"
                "actions=write_actions(mod_nw_tos:32,output:2),"
                "goto_table:1");
    add(ofp, 1, "priority=10,ip,actions=ct(table=2)");
    add(ofp, 2, "priority=10,udp,tp_dst=2,actions=write_actions(output:3)");
    add(ofp, 2, "priority=10,udp,tp_dst=3,actions=clear_actions");
    add(ofp, 2, "priority=1,actions=drop");

    /* The set written before the ct runs once, when pass 2's pipeline
     * ends. */
    udp_flow(&f, 1, 1);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p1, "ct,recirc");
    assert_string_equal(p2, "out12");
    ofproto_xlate_out_uninit(&out);
    /* A write in pass 2 replaces the frozen output; clear_actions empties
     * the set. */
    udp_flow(&f, 1, 2);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p2, "out13");
    ofproto_xlate_out_uninit(&out);
    udp_flow(&f, 1, 3);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p2, "");
    ofproto_xlate_out_uninit(&out);
    /* All three were one set: one frozen state. */
    ofproto_recirc_stats(ofp, &st);
    assert_int_equal(st.states, 1);

    /* The set is kept by value: the rule that wrote it may go before the
     * next pass (a rewrite and an output, in OpenFlow's order). */
    base_flow(&f, 1);
    f.tp_dst = htons(1);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p2, "set_ipv4,out12");
    {
        struct flow g = f;
        struct dp_actions *acts;

        g.recirc_id = 0;
        acts = xl(ofp, &g, NULL, NULL);
        g.recirc_id = recirc_of(acts);
        free(acts);
        assert_int_equal(mod(ofp, OFFC_DELETE, 0, "tcp", 0), 0);
        g.ct_state = CS_TRACKED | CS_NEW;
        acts = xl(ofp, &g, NULL, NULL);
        assert_string_equal(acts_str(acts, p2, sizeof p2),
                            "set_ipv4,out12");
        free(acts);
    }
    ofproto_xlate_out_uninit(&out);

    /* in_port: loaded before the ct, the next pass has it (and its
     * megaflow matches the packet's own in_port); a resubmit(PORT,T)'s
     * port is for the lookup only: the rule's IN_PORT and ct(table=N) are
     * the packet's. */
    add(ofp, 0, "priority=20,in_port=1,udp,tp_dst=4,"
                "actions=load:3->NXM_OF_IN_PORT[],ct(table=4)");
    add(ofp, 0, "priority=20,in_port=1,udp,tp_dst=5,actions=resubmit(3,5)");
    add(ofp, 5, "priority=10,in_port=3,udp,tp_dst=5,"
                "actions=output:in_port,ct(table=4)");
    add(ofp, 4, "priority=10,in_port=3,actions=output:2");
    add(ofp, 4, "priority=10,in_port=1,actions=output:4");
    udp_flow(&f, 1, 4);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p2, "out12");
    assert_int_equal(wc.in_port, UINT32_MAX);
    ofproto_xlate_out_uninit(&out);
    udp_flow(&f, 1, 5);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p1, "out11,ct,recirc");
    assert_string_equal(p2, "out14");
    ofproto_xlate_out_uninit(&out);

    /* Tunnel metadata set before the ct: the next pass has it. */
    add(ofp, 0, "priority=20,in_port=1,udp,tp_dst=6,"
                "actions=set_field:0x2a->tun_id,ct(table=6)");
    add(ofp, 6, "priority=10,tun_id=0x2a,actions=output:3");
    add(ofp, 6, "priority=1,actions=output:2");
    udp_flow(&f, 1, 6);
    two_passes(ofp, &f, &out, p1, p2, sizeof p1, &wc);
    assert_string_equal(p1, "ct,recirc");
    assert_string_equal(p2, "out13");
    ofproto_xlate_out_uninit(&out);

    ofproto_destroy(ofp);
}


/* The action set: write_actions adds to it (a later output replaces an
 * earlier; set_field one per field), clear_actions empties it, and it
 * runs when the pipeline ends, in OpenFlow's order (dec_ttl and the
 * set_fields before the output; a group instead of the output); the
 * applied actions run at once. */
static void
test_action_set(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct dp_action *a;
    struct flow f;
    struct exp e;

    (void) state;
    gadd(ofp, "group_id=1,type=all,bucket=output:3,bucket=output:4");
    add(ofp, 0, "priority=10,in_port=1,actions=write_actions(output:2,"
                "mod_nw_dst:9.9.9.9),goto_table:1");
    add(ofp, 0, "priority=10,in_port=2,actions=output:4,clear_actions,"
                "write_actions(output:3),write_metadata:0x1,goto_table:1");
    add(ofp, 0, "priority=10,in_port=3,actions=write_actions(output:2,"
                "group:1),goto_table:2");
    add(ofp, 1, "priority=10,metadata=0x1,actions=clear_actions");
    add(ofp, 1, "priority=5,actions=write_actions(output:3,"
                "mod_nw_dst:8.8.8.8,dec_ttl)");

    /* Table 1 replaces the output and the nw_dst, adds dec_ttl: one
     * rewrite (nw_dst and the TTL), then output:3. */
    base_flow(&f, 1);
    e.n = 0;
    a = exp_add(&e, DPA_SET_IPV4);
    a->ipv4.src = f.nw_src;
    a->ipv4.dst = htonl(0x08080808);
    a->ipv4.dst_mask = htonl(0x08080808) ^ f.nw_dst;
    a->ipv4.ttl = 63;
    a->ipv4.ttl_mask = 63 ^ 64;
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    /* The applied output at once; table 1 clears what table 0 wrote. */
    base_flow(&f, 2);
    e.n = 0;
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);

    /* A group takes precedence over the output (table 2 misses: the
     * pipeline ends there). */
    base_flow(&f, 3);
    e.n = 0;
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);
    ofproto_destroy(ofp);
}

/* One group's counters as ofproto_group_dump() reports them. */
struct group_counts {
    bool found;
    size_t n_buckets;
    uint64_t packets, bytes;
    uint64_t bp[OFG_MAX_BUCKETS], bb[OFG_MAX_BUCKETS];
};

static void
group_counts_cb(const struct ofproto_group_info *g, void *gc_)
{
    struct group_counts *gc = gc_;

    gc->found = true;
    gc->n_buckets = g->spec.n_buckets;
    gc->packets = g->packets;
    gc->bytes = g->bytes;
    memcpy(gc->bp, g->bucket_packets, sizeof gc->bp);
    memcpy(gc->bb, g->bucket_bytes, sizeof gc->bb);
}

static struct group_counts
group_counts(struct ofproto *ofp, uint32_t id)
{
    struct group_counts gc;

    memset(&gc, 0, sizeof gc);
    ofproto_group_dump(ofp, id, group_counts_cb, &gc);
    assert_true(gc.found);
    return gc;
}

/* Credits every hit of 'out' as the datapath does a megaflow's. */
static void
credit_out(const struct ofproto_xlate_out *out, uint64_t packets,
           uint64_t bytes)
{
    for (size_t i = 0; i < out->n_rules; i++) {
        ofproto_hit_credit(out->rules[i], packets, bytes, 1);
    }
    for (size_t i = 0; i < out->n_counters; i++) {
        ofproto_hit_credit(out->counters[i], packets, bytes, 1);
    }
}

/* Groups and buckets are reported among the hits, credited like rules:
 * the group counts each packet once, each bucket whose actions ran counts
 * it (all: every bucket; select, indirect, ff: the one chosen; a chained
 * group's too).  A modify keeps the group's counts and starts the new
 * buckets' at zero; megaflows of the old group go on crediting what they
 * hold after a modify or a delete, and their references keep it alive. */
static void
test_group_counters(void **state)
{
    struct ofproto_xlate_out out, out2, out3;
    struct dp_actions *acts;
    struct group_counts gc;
    struct ofproto *ofp = new_ofp(4);
    struct flow f, wc;

    (void) state;
    gadd(ofp, "group_id=2,type=indirect,bucket=output:4");
    gadd(ofp, "group_id=1,type=all,bucket=output:2,bucket=group:2");
    gadd(ofp, "group_id=3,type=select,bucket=output:2,bucket=output:3");
    add(ofp, 0, "priority=10,in_port=1,actions=group:1");
    add(ofp, 0, "priority=10,in_port=2,actions=group:3");

    base_flow(&f, 1);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
    free(acts);
    /* The rule; group 1 and its two buckets; group 2 and its bucket. */
    assert_int_equal(out.n_rules, 1);
    assert_int_equal(out.n_counters, 5);
    assert_false(out.rules_truncated);
    credit_out(&out, 3, 300);
    gc = group_counts(ofp, 1);
    assert_int_equal(gc.packets, 3);
    assert_int_equal(gc.bytes, 300);
    assert_int_equal(gc.n_buckets, 2);
    assert_int_equal(gc.bp[0], 3);
    assert_int_equal(gc.bp[1], 3);
    assert_int_equal(gc.bb[1], 300);
    gc = group_counts(ofp, 2);
    assert_int_equal(gc.packets, 3);
    assert_int_equal(gc.bp[0], 3);
    gc = group_counts(ofp, 3);
    assert_int_equal(gc.packets, 0);

    /* select: the group and the one bucket chosen. */
    base_flow(&f, 2);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out2, 0), 0);
    free(acts);
    assert_int_equal(out2.n_counters, 2);
    credit_out(&out2, 5, 500);
    gc = group_counts(ofp, 3);
    assert_int_equal(gc.packets, 5);
    assert_int_equal(gc.bp[0] + gc.bp[1], 5);
    assert_true(gc.bp[0] == 0 || gc.bp[1] == 0);
    ofproto_xlate_out_uninit(&out2);

    /* Modify: the group's counts go on, the new buckets' start at 0. */
    assert_int_equal(gmod(ofp, OFGC_MODIFY, "group_id=1,type=all,"
                          "bucket=output:3,bucket=output:4,bucket=output:2"),
                     0);
    gc = group_counts(ofp, 1);
    assert_int_equal(gc.packets, 3);
    assert_int_equal(gc.n_buckets, 3);
    assert_int_equal(gc.bp[0] + gc.bp[1] + gc.bp[2], 0);
    /* The old megaflow's last credit: the group's, not the new buckets'. */
    credit_out(&out, 1, 100);
    gc = group_counts(ofp, 1);
    assert_int_equal(gc.packets, 4);
    assert_int_equal(gc.bytes, 400);
    assert_int_equal(gc.bp[0] + gc.bp[1] + gc.bp[2], 0);
    assert_int_equal(group_counts(ofp, 2).packets, 4);
    assert_int_equal(ofproto_rule_is_live(out.rules[0]), true);

    /* A new translation counts the new buckets. */
    base_flow(&f, 1);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out2, 0), 0);
    free(acts);
    assert_int_equal(out2.n_counters, 4);
    credit_out(&out2, 2, 200);
    gc = group_counts(ofp, 1);
    assert_int_equal(gc.packets, 6);
    assert_int_equal(gc.bp[0], 2);
    assert_int_equal(gc.bp[2], 2);
    ofproto_xlate_out_uninit(&out2);

    /* Delete every group (and their flows): the old references still
     * credit, harmlessly, and free what they held when released. */
    assert_int_equal(gmod(ofp, OFGC_DELETE, "group_id=all"), 0);
    credit_out(&out, 1, 100);
    ofproto_xlate_out_uninit(&out);
    assert_int_equal(out.n_counters, 0);

    /* More hits than a translation reports: truncated, none leaked. */
    gadd(ofp, "group_id=7,type=all,bucket=output:2,bucket=output:2,"
              "bucket=output:2,bucket=output:2,bucket=output:2,"
              "bucket=output:2,bucket=output:2,bucket=output:2,"
              "bucket=output:2,bucket=output:2,bucket=output:2,"
              "bucket=output:2,bucket=output:2,bucket=output:2,"
              "bucket=output:2,bucket=output:2,bucket=output:2");
    add(ofp, 0, "priority=20,in_port=3,actions=group:7,goto_table:1");
    add(ofp, 1, "priority=20,in_port=3,actions=output:4");
    base_flow(&f, 3);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out3, 0), 0);
    free(acts);
    assert_true(out3.rules_truncated);
    assert_int_equal(out3.n_rules + out3.n_counters,
                     OFPROTO_MAX_XLATE_RULES);
    /* Rules come first: the rule of table 1, reached after the group
     * filled every slot, is still reported (its counts drive its idle
     * timeout). */
    assert_int_equal(out3.n_rules, 2);
    assert_int_equal(ofproto_rule_table(out3.rules[1]), 1);
    ofproto_xlate_out_uninit(&out3);

    /* The out_group filter: dumps and deletes select the rules whose
     * actions use the group. */
    gadd(ofp, "group_id=8,type=all,bucket=output:2");
    add(ofp, 0, "priority=30,in_port=1,actions=group:8");
    add(ofp, 1, "priority=30,in_port=1,actions=output:3,group:8");
    add(ofp, 0, "priority=31,in_port=2,actions=group:7");
    size_t before = ofproto_n_rules(ofp);
    struct of_flow_spec s;
    struct collect c;

    parse(&s, "out_group=8", OFFC_MATCH);
    assert_true(s.out_group_set);
    s.table_id = 0xff;
    c.n = 0;
    ofproto_dump(ofp, &s, collect_cb, &c);
    assert_int_equal(c.n, 2);
    of_flow_spec_uninit(&s);
    assert_int_equal(mod(ofp, OFFC_DELETE, 0xff, "out_group=8", 0), 0);
    assert_int_equal(ofproto_n_rules(ofp), before - 2);
    assert_true(ofproto_group_exists(ofp, 8));
    ofproto_destroy(ofp);
}

/* A bucket that pops the packet's VLAN tag: the next bucket and the
 * actions after the group see the tag again. */
static void
test_group_xlate_vlan_pop_bucket(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct dp_action *a;
    struct flow f;
    struct exp e;

    (void) state;
    gadd(ofp, "group_id=1,type=all,bucket=strip_vlan,output:2,"
              "bucket=output:3");
    add(ofp, 0, "priority=10,in_port=1,actions=group:1,output:4");
    base_flow(&f, 1);
    f.vlan_tci = htons(FLOW_VLAN_CFI | 9);
    e.n = 0;
    exp_add(&e, DPA_POP_VLAN);
    exp_output(&e, 12);
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI | 9);
    exp_output(&e, 13);
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);

    /* A pop in a bucket without an output is emitted when executed
     * (ofproto.h); the tag is back for the output after the group. */
    gadd(ofp, "group_id=2,type=all,bucket=strip_vlan");
    add(ofp, 0, "priority=10,in_port=2,actions=group:2,output:4");
    base_flow(&f, 2);
    f.vlan_tci = htons(FLOW_VLAN_CFI | 9);
    e.n = 0;
    exp_add(&e, DPA_POP_VLAN);
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI | 9);
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);
    ofproto_destroy(ofp);
}

/* BUG (flowtable/ofproto.c, xlate_bucket() + commit_vlan()): a bucket
 * that pushes a VLAN tag onto an untagged packet (mod_vlan_vid, or
 * push_vlan) leaves the tag on the packet for the next bucket and for the
 * actions after the group.  xlate_bucket() restores the working flow
 * (untagged) but not what was emitted; commit_vlan() then sees a tagged
 * packet that should be untagged and emits set(vlan(tci=0)) instead of
 * pop_vlan.  Input: group 1 "type=all,bucket=mod_vlan_vid:10,output:2,
 * bucket=output:3", flow "in_port=1,actions=group:1", an untagged packet
 * on port 1.  Expected: push_vlan(vid=10),output:12,pop_vlan,output:13.
 * Got: push_vlan(vid=10),output:12,set(vlan(tci=0x0/0x100a)),output:13.
 * The same with push_vlan:0x8100 in the bucket, and with the output after
 * the group. */
static void
test_bug_group_vlan_push_leaks(void **state)
{
    struct ofproto *ofp;
    struct dp_action *a;
    struct flow f;
    struct exp e;

    (void) state;
    /* (was a known bug: fixed) */
    ofp = new_ofp(4);
    gadd(ofp, "group_id=1,type=all,bucket=mod_vlan_vid:10,output:2,"
              "bucket=output:3");
    add(ofp, 0, "priority=10,in_port=1,actions=group:1");
    base_flow(&f, 1);
    e.n = 0;
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI | 10);
    exp_output(&e, 12);
    exp_add(&e, DPA_POP_VLAN);
    exp_output(&e, 13);
    xlate_expect(ofp, &f, &e);

    gadd(ofp, "group_id=2,type=indirect,bucket=push_vlan:0x8100,output:3");
    add(ofp, 0, "priority=10,in_port=2,actions=group:2,output:4");
    base_flow(&f, 2);
    e.n = 0;
    a = exp_add(&e, DPA_PUSH_VLAN);
    a->push_vlan.tpid = htons(ETH_TYPE_VLAN);
    a->push_vlan.tci = htons(FLOW_VLAN_CFI);
    exp_output(&e, 13);
    exp_add(&e, DPA_POP_VLAN);
    exp_output(&e, 14);
    xlate_expect(ofp, &f, &e);
    ofproto_destroy(ofp);
}

/* A 5-tuple flow of 'proto' from 'i' (distinct for distinct i). */
static void
tuple_flow(struct flow *f, uint32_t in_port, uint32_t i, uint8_t proto)
{
    base_flow(f, in_port);
    f->nw_proto = proto;
    f->nw_src = htonl(0x0a000000 | (i * 2654435761u >> 12));
    f->nw_dst = htonl(0x0b000000 | (i & 0xff));
    f->tp_src = htons((uint16_t) (1024 + i * 7));
    f->tp_dst = htons((uint16_t) (80 + (i >> 8)));
}

static void
test_group_xlate_select(void **state)
{
    struct ofproto *ofp = new_ofp(5);
    size_t count[4] = { 0 };
    uint32_t outs[8];
    struct flow f;

    (void) state;
    gadd(ofp, "group_id=1,type=select,bucket=weight:1,output:2,"
              "bucket=weight:3,output:3,bucket=weight:0,output:4");
    add(ofp, 0, "priority=10,in_port=1,actions=group:1");

    for (uint32_t i = 0; i < 2000; i++) {
        uint8_t proto = (uint8_t[]) {IPPROTO_TCP_, 17, 132}[i % 3];
        struct flow wc;
        size_t n;

        tuple_flow(&f, 1, i, proto);
        n = xl_outputs(ofp, &f, &wc, outs, 8, NULL);
        assert_int_equal(n, 1);
        assert_true(outs[0] >= 12 && outs[0] <= 14);
        count[outs[0] - 11]++;
        /* The same flow, the same bucket. */
        uint32_t again[8];
        assert_int_equal(xl_outputs(ofp, &f, &wc, again, 8, NULL), 1);
        assert_int_equal(again[0], outs[0]);
    }
    /* 1:3, weight 0 never. */
    assert_int_equal(count[3], 0);
    assert_int_equal(count[1] + count[2], 2000);
    if (count[1] < 350 || count[1] > 650) {
        fail_msg("weight 1 of 4 chosen %zu times in 2000", count[1]);
    }

    /* Random 5-tuples, in steps of anything. */
    memset(count, 0, sizeof count);
    srand(77);
    for (uint32_t i = 0; i < 2000; i++) {
        base_flow(&f, 1);
        f.nw_src = (uint32_t) rand();
        f.nw_dst = (uint32_t) rand();
        f.tp_src = (uint16_t) rand();
        f.tp_dst = (uint16_t) rand();
        assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
        count[outs[0] - 11]++;
    }
    assert_int_equal(count[3], 0);
    if (count[1] < 350 || count[1] > 650) {
        fail_msg("random tuples: weight 1 of 4 chosen %zu times in 2000",
                 count[1]);
    }

    /* A dead watch port: its bucket is never chosen. */
    gadd(ofp, "group_id=2,type=select,bucket=weight:5,watch_port:2,"
              "output:2,bucket=weight:1,watch_port:3,output:3,"
              "bucket=weight:2,output:4");
    add(ofp, 0, "priority=10,in_port=5,actions=group:2");
    assert_int_equal(ofproto_port_set_live(ofp, 2, false), 0);
    memset(count, 0, sizeof count);
    for (uint32_t i = 0; i < 600; i++) {
        tuple_flow(&f, 5, i, IPPROTO_TCP_);
        assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
        count[outs[0] - 11]++;
    }
    assert_int_equal(count[1], 0);
    assert_true(count[2] > 100 && count[3] > 250);
    /* No live bucket: no output. */
    assert_int_equal(ofproto_port_set_live(ofp, 3, false), 0);
    assert_int_equal(gmod(ofp, OFGC_MODIFY, "group_id=2,type=select,"
                          "bucket=weight:5,watch_port:2,output:2,"
                          "bucket=weight:1,watch_port:3,output:3,"
                          "bucket=weight:0,output:4"), 0);
    for (uint32_t i = 0; i < 50; i++) {
        struct ofproto_xlate_out out;

        tuple_flow(&f, 5, i, IPPROTO_TCP_);
        assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, &out), 0);
        assert_false(out.resubmit_limit);
        ofproto_xlate_out_uninit(&out);
    }
    /* Back to live. */
    assert_int_equal(ofproto_port_set_live(ofp, 2, true), 0);
    tuple_flow(&f, 5, 1, IPPROTO_TCP_);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 12);

    /* A select group with no buckets at all. */
    gadd(ofp, "group_id=3,type=select");
    add(ofp, 0, "priority=10,in_port=3,actions=group:3,output:1");
    base_flow(&f, 3);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 11);
    ofproto_destroy(ofp);
}

/* The megaflow mask of a select group: what the same pipeline without
 * the hash un-wildcards, plus exactly the hashed fields. */
static void
check_select_wc(const struct flow *f, const char *what)
{
    struct ofproto *sel = new_ofp(3), *plain = new_ofp(3);
    struct flow wc_sel, wc_plain, want;
    uint32_t outs[4];
    uint16_t t = ntohs(f->dl_type);

    gadd(sel, "group_id=1,type=select,bucket=output:2,bucket=output:3");
    gadd(plain, "group_id=1,type=all,bucket=output:2");
    add(sel, 0, "priority=10,in_port=1,actions=group:1");
    add(plain, 0, "priority=10,in_port=1,actions=group:1");
    assert_int_equal(xl_outputs(sel, f, &wc_sel, outs, 4, NULL), 1);
    assert_int_equal(xl_outputs(plain, f, &wc_plain, outs, 4, NULL), 1);

    want = wc_plain;
    memset(want.dl_src, 0xff, 6);
    memset(want.dl_dst, 0xff, 6);
    want.dl_type = 0xffff;
    if (t == ETH_TYPE_IP || t == ETH_TYPE_IPV6) {
        if (t == ETH_TYPE_IP) {
            want.nw_src = want.nw_dst = UINT32_MAX;
        } else {
            memset(want.ipv6_src, 0xff, 16);
            memset(want.ipv6_dst, 0xff, 16);
        }
        want.nw_proto = 0xff;
        if (f->nw_proto == IPPROTO_TCP_ || f->nw_proto == 17
            || f->nw_proto == 132) {
            want.tp_src = want.tp_dst = 0xffff;
        }
    }
    if (memcmp(&want, &wc_sel, sizeof want)) {
        const uint8_t *w = (const uint8_t *) &want;
        const uint8_t *g = (const uint8_t *) &wc_sel;

        for (size_t i = 0; i < sizeof want; i++) {
            if (w[i] != g[i]) {
                print_error("%s: wc byte %zu: got %02x want %02x\n", what, i,
                            g[i], w[i]);
            }
        }
        fail_msg("%s: select un-wildcards the wrong fields", what);
    }

    /* Sound on the hashed fields: another packet that agrees on them
     * goes to the same bucket. */
    struct flow f2 = *f;
    uint32_t o1[4], o2[4];
    f2.nw_tos ^= 0x4;
    f2.nw_ttl ^= 1;
    f2.vlan_tci = htons(FLOW_VLAN_CFI | 7);
    if (t != ETH_TYPE_IP && t != ETH_TYPE_IPV6) {
        f2.nw_src ^= 1;
    }
    if (!(f->nw_proto == IPPROTO_TCP_ || f->nw_proto == 17
          || f->nw_proto == 132)) {
        f2.tp_src ^= 5;
    }
    assert_int_equal(xl_outputs(sel, f, NULL, o1, 4, NULL), 1);
    assert_int_equal(xl_outputs(sel, &f2, NULL, o2, 4, NULL), 1);
    assert_int_equal(o1[0], o2[0]);
    ofproto_destroy(sel);
    ofproto_destroy(plain);
}

static void
test_group_select_wc(void **state)
{
    struct flow f;

    (void) state;
    base_flow(&f, 1);
    check_select_wc(&f, "tcp");
    base_flow(&f, 1);
    f.nw_proto = 17;
    check_select_wc(&f, "udp");
    base_flow(&f, 1);
    f.nw_proto = 132;
    check_select_wc(&f, "sctp");
    base_flow(&f, 1);
    f.nw_proto = IPPROTO_ICMP_;
    f.tp_src = htons(8);
    f.tp_dst = 0;
    check_select_wc(&f, "icmp");
    base_flow(&f, 1);
    f.dl_type = htons(ETH_TYPE_IPV6);
    f.nw_src = f.nw_dst = 0;
    f.ipv6_src[0] = 0xfe;
    f.ipv6_src[15] = 1;
    f.ipv6_dst[0] = 0xfe;
    f.ipv6_dst[15] = 2;
    check_select_wc(&f, "tcp6");
    base_flow(&f, 1);
    f.dl_type = htons(ETH_TYPE_ARP);
    f.nw_proto = 1;
    f.nw_ttl = 0;
    f.tp_src = f.tp_dst = 0;
    check_select_wc(&f, "arp");
}

/* ff: the first bucket whose watch port is live, following
 * ofproto_port_set_live(). */
static void
test_group_xlate_ff(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    uint32_t outs[8];
    struct flow f;

    (void) state;
    gadd(ofp, "group_id=1,type=ff,bucket=watch_port:2,output:2,"
              "bucket=watch_port:3,output:3,bucket=watch_port:9,output:4,"
              "bucket=watch_port:4,mod_nw_src:1.1.1.1,output:4");
    add(ofp, 0, "priority=10,in_port=1,actions=group:1,output:1");
    base_flow(&f, 1);
    /* in_port 1: output:1 after the group is the input port: dropped. */
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 12);
    assert_int_equal(ofproto_port_set_live(ofp, 2, false), 0);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 13);
    assert_int_equal(ofproto_port_set_live(ofp, 3, false), 0);
    /* Port 9 is not attached: not live; then port 4's bucket. */
    struct dp_actions *acts = xl(ofp, &f, NULL, NULL);
    assert_int_equal(acts->n, 2);
    assert_int_equal(acts->a[0].type, DPA_SET_IPV4);
    assert_int_equal(acts->a[1].type, DPA_OUTPUT);
    assert_int_equal(acts->a[1].port, 14);
    free(acts);
    assert_int_equal(ofproto_port_set_live(ofp, 4, false), 0);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 0);
    assert_int_equal(ofproto_port_set_live(ofp, 3, true), 0);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 13);
    assert_int_equal(ofproto_port_set_live(ofp, 2, true), 0);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 12);
    /* A deleted watch port is not live; added back, it is. */
    assert_int_equal(ofproto_port_del(ofp, 2), 0);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, NULL), 1);
    assert_int_equal(outs[0], 13);
    ofproto_destroy(ofp);
}

/* Groups count as resubmits: a chain of 70 drops the packet. */
static void
test_group_chain_limit(void **state)
{
    struct ofproto *ofp = new_ofp(3);
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    uint32_t outs[8];
    char text[128];
    struct flow f;

    (void) state;
    gadd(ofp, "group_id=1070,type=indirect,bucket=output:2");
    for (uint32_t id = 1069; id >= 1001; id--) {
        snprintf(text, sizeof text, "group_id=%" PRIu32 ",type=indirect,"
                 "bucket=group:%" PRIu32, id, id + 1);
        gadd(ofp, text);
    }
    assert_int_equal(ofproto_n_groups(ofp), 70);
    /* 20 deep is fine. */
    add(ofp, 0, "priority=10,in_port=3,actions=group:1050");
    base_flow(&f, 3);
    assert_int_equal(xl_outputs(ofp, &f, NULL, outs, 8, &out), 1);
    assert_int_equal(outs[0], 12);
    assert_false(out.resubmit_limit);
    ofproto_xlate_out_uninit(&out);

    add(ofp, 0, "priority=10,in_port=1,actions=output:3,group:1001");
    base_flow(&f, 1);
    acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.resubmit_limit);
    ofproto_xlate_out_uninit(&out);
    free(acts);

    /* resubmits and groups together. */
    add(ofp, 1, "priority=10,actions=group:1001");
    add(ofp, 0, "priority=10,in_port=2,actions=resubmit(,1)");
    base_flow(&f, 2);
    acts = xl(ofp, &f, NULL, &out);
    assert_int_equal(acts->n, 0);
    assert_true(out.resubmit_limit);
    ofproto_xlate_out_uninit(&out);
    free(acts);
    ofproto_destroy(ofp);
}

static int
meter_mod(struct ofproto *ofp, enum of_group_cmd cmd, const char *text)
{
    struct of_meter_spec m;
    char err[256];

    if (of_meter_parse(&m, text, cmd != OFGC_DELETE, err, sizeof err)) {
        fail_msg("meter parse '%s': %s", text, err);
    }
    return ofproto_meter_mod(ofp, cmd, &m, 0, err, sizeof err);
}

static void
meter_count_cb(const struct ofproto_meter_info *info, void *n)
{
    *(uint32_t *) n += info->flow_count;
}

/* Meters: the table's errors, flows must name a meter that exists and
 * have it first, a delete takes the meter's flows, translation emits
 * DPA_METER before the rest. */
static void
test_meters(void **state)
{
    struct ofproto *ofp = new_ofp(4);
    struct ofproto_xlate_out out;
    struct dp_actions *acts;
    struct flow f, wc;
    uint32_t n = 0;
    uint64_t gen;

    (void) state;
    assert_int_equal(mod(ofp, OFFC_ADD, 0, "priority=5,actions=meter:1,"
                         "output:2", 0), ENXIO);
    assert_int_equal(meter_mod(ofp, OFGC_ADD, "meter=1,pktps,bands=type=drop,"
                               "rate=10"), 0);
    assert_int_equal(meter_mod(ofp, OFGC_ADD, "meter=1,pktps,bands=type=drop,"
                               "rate=10"), EEXIST);
    assert_int_equal(meter_mod(ofp, OFGC_MODIFY, "meter=2,bands=type=drop,"
                               "rate=10"), ENOENT);
    gen = ofproto_generation(ofp);
    assert_int_equal(meter_mod(ofp, OFGC_MODIFY, "meter=1,kbps,bands="
                               "type=drop,rate=99"), 0);
    assert_true(ofproto_generation(ofp) != gen);
    assert_int_equal(ofproto_meter_get(ofp, 1)->bands[0].rate, 99);
    add(ofp, 0, "priority=5,in_port=1,actions=meter:1,output:2");
    add(ofp, 0, "priority=6,in_port=2,actions=output:1");
    base_flow(&f, 1);
    assert_int_equal(ofproto_xlate(ofp, &f, &wc, &acts, &out, 0), 0);
    assert_int_equal(acts->n, 2);
    assert_int_equal(acts->a[0].type, DPA_METER);
    assert_int_equal(acts->a[0].meter_id, 1);
    assert_int_equal(acts->a[1].type, DPA_OUTPUT);
    free(acts);
    ofproto_xlate_out_uninit(&out);
    ofproto_meter_dump(ofp, OFM_ALL, meter_count_cb, &n);
    assert_int_equal(n, 1);
    assert_int_equal(meter_mod(ofp, OFGC_DELETE, "meter=1"), 0);
    assert_null(ofproto_meter_get(ofp, 1));
    assert_int_equal(ofproto_n_rules(ofp), 1 + 1);  /* NORMAL, priority 6 */
    assert_int_equal(meter_mod(ofp, OFGC_DELETE, "meter=77"), 0);
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
        cmocka_unit_test(test_group_mod_errors),
        cmocka_unit_test(test_group_generation),
        cmocka_unit_test(test_group_mod_model),
        cmocka_unit_test(test_group_delete_flows),
        cmocka_unit_test(test_group_xlate_all_indirect),
        cmocka_unit_test(test_group_xlate_vlan_pop_bucket),
        cmocka_unit_test(test_bug_group_vlan_push_leaks),
        cmocka_unit_test(test_group_xlate_select),
        cmocka_unit_test(test_group_select_wc),
        cmocka_unit_test(test_group_xlate_ff),
        cmocka_unit_test(test_group_chain_limit),
        cmocka_unit_test(test_group_counters),
        cmocka_unit_test(test_write_metadata),
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_recirc_frozen),
        cmocka_unit_test(test_recirc_frozen_limits),
        cmocka_unit_test(test_recirc_frozen_pipeline),
        cmocka_unit_test(test_action_set),
        cmocka_unit_test(test_meters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
