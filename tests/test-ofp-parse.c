/* SPDX-License-Identifier: BSD-3-Clause */
/* test-ofp-parse.c: flow syntax parse/format: tables of valid and invalid
 * input, every action, shorthands and masks, random round trips against a
 * match and action list built directly by the generator. */
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

#include "ofp-parse.h"
#include "test-rand.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t
rnd(void)
{
    return (uint32_t) (test_xorshift64(&rng_state) >> 16);
}

static void
rnd_bytes(void *p_, size_t n)
{
    uint8_t *p = p_;
    for (size_t i = 0; i < n; i++) {
        p[i] = rnd();
    }
}

/* Sets a field in a match the way a test expects it: view value/mask, the
 * value pre-masked.  Numeric fields take host-order integers. */
static void
exp_set_u32(struct of_match *m, enum mf_field_id id, uint32_t v, uint32_t mk)
{
    const struct mf_field *mf = mf_from_id(id);
    union mf_value val, mask;

    mf_value_from_u32(mf, v & mk, &val);
    mf_value_from_u32(mf, mk, &mask);
    mf_set(mf, &val, &mask, &m->flow);
    mf_set(mf, &mask, &mask, &m->wc);       /* OR the mask in. */
}

static void
exp_set_bytes(struct of_match *m, enum mf_field_id id, const uint8_t *v,
              const uint8_t *mk)
{
    const struct mf_field *mf = mf_from_id(id);
    union mf_value val, mask;

    memset(&val, 0, sizeof val);
    memset(&mask, 0, sizeof mask);
    for (size_t i = 0; i < mf->n_bytes; i++) {
        mask.bytes[i] = mk[i];
        val.bytes[i] = v[i] & mk[i];
    }
    mf_set(mf, &val, &mask, &m->flow);
    mf_set(mf, &mask, &mask, &m->wc);       /* OR the mask in. */
}

/* "0a0b0c..." into bytes. */
static void
hex_to_bytes(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &b), 1);
        out[i] = b;
    }
}

/* ---------------------------------------------------------------------
 * Valid matches: expected fields, each value/mask in view coordinates
 * ("numbers" for 1/2/4-byte fields, hex bytes for MAC/IPv6).
 */

struct exp_field {
    enum mf_field_id id;
    const char *v, *m;          /* m NULL: exact */
};

struct valid_case {
    const char *text;
    struct exp_field f[8];
    const char *format;         /* of_match_format with priority omitted */
};

#define END {MFF_N_IDS, NULL, NULL}

static const struct valid_case valid_cases[] = {
    /* Connection tracking (printed first, as Open vSwitch does). */
    {"ct_state=+trk+new", {{MFF_CT_STATE, "0x21", "0x21"}, END},
     "ct_state=+new+trk"},
    {"ip,ct_state=-trk", {{MFF_DL_TYPE, "0x800", NULL},
                          {MFF_CT_STATE, "0", "0x20"}, END},
     "ct_state=-trk,ip"},
    {"tcp,ct_state=+est-rel+trk+rpl",
     {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "6", NULL},
      {MFF_CT_STATE, "0x2a", "0x2e"}, END},
     "ct_state=+est-rel+rpl+trk,tcp"},
    {"ct_state=0x21/0x21", {{MFF_CT_STATE, "0x21", "0x21"}, END},
     "ct_state=+new+trk"},
    {"ct_zone=5", {{MFF_CT_ZONE, "5", NULL}, END}, "ct_zone=5"},
    {"ct_mark=7", {{MFF_CT_MARK, "7", NULL}, END}, "ct_mark=0x7"},
    {"ct_mark=0x10/0xf0", {{MFF_CT_MARK, "0x10", "0xf0"}, END},
     "ct_mark=0x10/0xf0"},
    {"ct_label=0x1234", {{MFF_CT_LABEL, "00000000000000000000000000001234",
                          NULL}, END}, "ct_label=0x1234"},
    {"ct_label=0x10000000000000000000000000000001/0xff",
     {{MFF_CT_LABEL, "00000000000000000000000000000001",
       "000000000000000000000000000000ff"}, END}, "ct_label=0x1/0xff"},
    {"ip,ct_nw_src=10.0.0.1,ct_nw_proto=6",
     {{MFF_DL_TYPE, "0x800", NULL}, {MFF_CT_NW_SRC, "0x0a000001", NULL},
      {MFF_CT_NW_PROTO, "6", NULL}, END},
     "ct_nw_src=10.0.0.1,ct_nw_proto=6,ip"},
    {"ct_tp_dst=80", {{MFF_CT_TP_DST, "80", NULL}, END}, "ct_tp_dst=80"},
    /* Registers after the shorthand, each 32 bits, as Open vSwitch 3.1
     * prints them (zero as "0"; xreg and xxreg as their registers). */
    {"reg0=5", {{MFF_REG0, "5", NULL}, END}, "reg0=0x5"},
    {"reg3=7", {{MFF_REG0 + 3, "7", NULL}, END}, "reg3=0x7"},
    {"reg0=0,reg1=0x5/0xff,ip",
     {{MFF_REG0, "0", NULL}, {MFF_REG0 + 1, "5", "0xff"},
      {MFF_DL_TYPE, "0x800", NULL}, END},
     "ip,reg0=0,reg1=0x5/0xff"},
    {"xxreg1=0x1", {{MFF_XXREG0 + 1, "00000000000000000000000000000001",
                     NULL}, END},
     "reg4=0,reg5=0,reg6=0,reg7=0x1"},
    {"xreg0=0x100000002", {{MFF_XREG0, "0000000100000002", NULL}, END},
     "reg0=0x1,reg1=0x2"},
    /* Tunnel metadata (after the ct fields and the shorthand), then the
     * OpenFlow metadata, as Open vSwitch prints them. */
    {"tun_id=42", {{MFF_TUN_ID, "000000000000002a", NULL}, END},
     "tun_id=0x2a"},
    {"in_port=1,metadata=0x5/0xff,tcp,tun_id=9,ct_state=+trk",
     {{MFF_IN_PORT, "1", NULL},
      {MFF_METADATA, "0000000000000005", "00000000000000ff"},
      {MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "6", NULL},
      {MFF_TUN_ID, "0000000000000009", NULL},
      {MFF_CT_STATE, "0x20", "0x20"}, END},
     "ct_state=+trk,tcp,tun_id=0x9,metadata=0x5/0xff,in_port=1"},
    {"dl_type=0x88cc,metadata=7,in_port=2,tun_id=5",
     {{MFF_DL_TYPE, "0x88cc", NULL},
      {MFF_METADATA, "0000000000000007", NULL}, {MFF_IN_PORT, "2", NULL},
      {MFF_TUN_ID, "0000000000000005", NULL}, END},
     "tun_id=0x5,metadata=0x7,in_port=2,dl_type=0x88cc"},
    {"tunnel_id=0x100/0xff00", {{MFF_TUN_ID, "0000000000000100",
                                 "000000000000ff00"}, END},
     "tun_id=0x100/0xff00"},
    {"tun_src=172.31.0.2,tun_dst=172.31.0.0/24,in_port=10",
     {{MFF_TUN_SRC, "0xac1f0002", NULL},
      {MFF_TUN_DST, "0xac1f0000", "0xffffff00"}, {MFF_IN_PORT, "10", NULL},
      END}, "tun_src=172.31.0.2,tun_dst=172.31.0.0/24,in_port=10"},
    {"tun_ipv6_src=fd31::2", {{MFF_TUN_IPV6_SRC,
                               "fd310000000000000000000000000002", NULL},
                              END}, "tun_ipv6_src=fd31::2"},
    {"tun_flags=+oam", {{MFF_TUN_FLAGS, "1", "1"}, END}, "tun_flags=+oam"},
    {"tun_flags=-oam", {{MFF_TUN_FLAGS, "0", "1"}, END}, "tun_flags=-oam"},
    {"tun_flags=1", {{MFF_TUN_FLAGS, "1", NULL}, END}, "tun_flags=+oam"},
    {"tun_tos=0x20,tun_ttl=63", {{MFF_TUN_TOS, "0x20", NULL},
                                 {MFF_TUN_TTL, "63", NULL}, END},
     "tun_tos=32,tun_ttl=63"},
    {"in_port=3", {{MFF_IN_PORT, "3", NULL}, END}, "in_port=3"},
    {"in_port=LOCAL", {{MFF_IN_PORT, "0xfffe", NULL}, END}, "in_port=LOCAL"},
    {"ip", {{MFF_DL_TYPE, "0x800", NULL}, END}, "ip"},
    {"dl_type=0x0800", {{MFF_DL_TYPE, "0x800", NULL}, END}, "ip"},
    {"dl_type=0x1234", {{MFF_DL_TYPE, "0x1234", NULL}, END},
     "dl_type=0x1234"},
    {"tcp", {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "6", NULL}, END},
     "tcp"},
    {"ip,nw_proto=6", {{MFF_DL_TYPE, "0x800", NULL},
                       {MFF_NW_PROTO, "6", NULL}, END}, "tcp"},
    {"ip,nw_proto=47", {{MFF_DL_TYPE, "0x800", NULL},
                        {MFF_NW_PROTO, "47", NULL}, END}, "ip,nw_proto=47"},
    {"udp6", {{MFF_DL_TYPE, "0x86dd", NULL}, {MFF_NW_PROTO, "17", NULL},
              END}, "udp6"},
    {"sctp6", {{MFF_DL_TYPE, "0x86dd", NULL}, {MFF_NW_PROTO, "132", NULL},
               END}, "sctp6"},
    {"icmp6", {{MFF_DL_TYPE, "0x86dd", NULL}, {MFF_NW_PROTO, "58", NULL},
               END}, "icmp6"},
    {"arp", {{MFF_DL_TYPE, "0x806", NULL}, END}, "arp"},
    {"ip,nw_src=10.1.2.3", {{MFF_DL_TYPE, "0x800", NULL},
                            {MFF_NW_SRC, "0x0a010203", NULL}, END},
     "ip,nw_src=10.1.2.3"},
    {"nw_src=10.1.2.3/8 ip", {{MFF_DL_TYPE, "0x800", NULL},
                              {MFF_NW_SRC, "0x0a000000", "0xff000000"},
                              END}, "ip,nw_src=10.0.0.0/8"},
    {"ip,ip_dst=10.1.2.3/255.0.255.0",
     {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_DST, "0x0a000200", "0xff00ff00"},
      END}, "ip,nw_dst=10.0.2.0/255.0.255.0"},
    {"ip,nw_src=1.2.3.4/32", {{MFF_DL_TYPE, "0x800", NULL},
                              {MFF_NW_SRC, "0x01020304", NULL}, END},
     "ip,nw_src=1.2.3.4"},
    {"ip,nw_src=1.2.3.4/0", {{MFF_DL_TYPE, "0x800", NULL}, END}, "ip"},
    {"dl_src=00:11:22:33:44:55",
     {{MFF_DL_SRC, "001122334455", NULL}, END},
     "dl_src=00:11:22:33:44:55"},
    {"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00",
     {{MFF_DL_DST, "010000000000", "010000000000"}, END},
     "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"},
    {"dl_vlan=5", {{MFF_VLAN_TCI, "0x1005", "0x1fff"}, END}, "dl_vlan=5"},
    {"dl_vlan=0xffff", {{MFF_VLAN_TCI, "0", "0xffff"}, END},
     "vlan_tci=0x0000"},
    {"dl_vlan_pcp=7", {{MFF_VLAN_TCI, "0xf000", "0xf000"}, END},
     "dl_vlan_pcp=7"},
    {"dl_vlan=10,dl_vlan_pcp=2", {{MFF_VLAN_TCI, "0x500a", "0xffff"}, END},
     "dl_vlan=10,dl_vlan_pcp=2"},
    {"vlan_tci=0x1000/0x1000", {{MFF_VLAN_TCI, "0x1000", "0x1000"}, END},
     "vlan_tci=0x1000/0x1000"},
    {"vlan_vid=0x1005", {{MFF_VLAN_TCI, "0x1005", "0x1fff"}, END},
     "dl_vlan=5"},
    {"ip,nw_tos=184", {{MFF_DL_TYPE, "0x800", NULL},
                       {MFF_NW_TOS, "184", NULL}, END}, "ip,nw_tos=184"},
    {"ip,ip_dscp=46", {{MFF_DL_TYPE, "0x800", NULL},
                       {MFF_NW_TOS, "184", NULL}, END}, "ip,nw_tos=184"},
    {"ipv6,nw_ecn=3,nw_ttl=64",
     {{MFF_DL_TYPE, "0x86dd", NULL}, {MFF_NW_ECN, "3", NULL},
      {MFF_NW_TTL, "64", NULL}, END}, "ipv6,nw_ecn=3,nw_ttl=64"},
    {"ip,ip_frag=no", {{MFF_DL_TYPE, "0x800", NULL},
                       {MFF_IP_FRAG, "0", "1"}, END}, "ip,ip_frag=no"},
    {"ip,ip_frag=yes", {{MFF_DL_TYPE, "0x800", NULL},
                        {MFF_IP_FRAG, "1", "1"}, END}, "ip,ip_frag=yes"},
    {"ip,nw_frag=first", {{MFF_DL_TYPE, "0x800", NULL},
                          {MFF_IP_FRAG, "1", "3"}, END}, "ip,ip_frag=first"},
    {"ip,ip_frag=later", {{MFF_DL_TYPE, "0x800", NULL},
                          {MFF_IP_FRAG, "3", "3"}, END}, "ip,ip_frag=later"},
    {"ip,ip_frag=not_later", {{MFF_DL_TYPE, "0x800", NULL},
                              {MFF_IP_FRAG, "0", "2"}, END},
     "ip,ip_frag=not_later"},
    {"tcp,tp_dst=80", {{MFF_DL_TYPE, "0x800", NULL},
                       {MFF_NW_PROTO, "6", NULL}, {MFF_TP_DST, "80", NULL},
                       END}, "tcp,tp_dst=80"},
    {"udp,udp_src=0x1000/0xf000",
     {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "17", NULL},
      {MFF_TP_SRC, "0x1000", "0xf000"}, END}, "udp,tp_src=0x1000/0xf000"},
    {"sctp,sctp_dst=9", {{MFF_DL_TYPE, "0x800", NULL},
                         {MFF_NW_PROTO, "132", NULL},
                         {MFF_TP_DST, "9", NULL}, END}, "sctp,tp_dst=9"},
    {"tcp6,tcp_src=22", {{MFF_DL_TYPE, "0x86dd", NULL},
                         {MFF_NW_PROTO, "6", NULL},
                         {MFF_TP_SRC, "22", NULL}, END}, "tcp6,tp_src=22"},
    {"tcp,tcp_flags=+syn-ack",
     {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "6", NULL},
      {MFF_TCP_FLAGS, "0x002", "0x012"}, END}, "tcp,tcp_flags=+syn-ack"},
    {"tcp,tcp_flags=0x012", {{MFF_DL_TYPE, "0x800", NULL},
                             {MFF_NW_PROTO, "6", NULL},
                             {MFF_TCP_FLAGS, "0x012", NULL}, END},
     "tcp,tcp_flags=0x012"},
    {"tcp,tcp_flags=0x2/0x2", {{MFF_DL_TYPE, "0x800", NULL},
                               {MFF_NW_PROTO, "6", NULL},
                               {MFF_TCP_FLAGS, "2", "2"}, END},
     "tcp,tcp_flags=+syn"},
    {"icmp,icmp_type=8,icmp_code=0",
     {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "1", NULL},
      {MFF_ICMP_TYPE, "8", NULL}, {MFF_ICMP_CODE, "0", NULL}, END},
     "icmp,icmp_type=8,icmp_code=0"},
    {"icmp6,icmpv6_type=135",
     {{MFF_DL_TYPE, "0x86dd", NULL}, {MFF_NW_PROTO, "58", NULL},
      {MFF_ICMP_TYPE, "135", NULL}, END}, "icmp6,icmp_type=135"},
    {"arp,arp_op=2,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24",
     {{MFF_DL_TYPE, "0x806", NULL}, {MFF_ARP_OP, "2", NULL},
      {MFF_ARP_SPA, "0x0a000001", NULL},
      {MFF_ARP_TPA, "0x0a000000", "0xffffff00"}, END},
     "arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,arp_op=2"},
    {"arp,nw_src=1.1.1.1", {{MFF_DL_TYPE, "0x806", NULL},
                            {MFF_ARP_SPA, "0x01010101", NULL}, END},
     "arp,arp_spa=1.1.1.1"},
    {"arp,arp_sha=00:00:00:00:00:01,arp_tha=ff:ff:ff:ff:ff:ff",
     {{MFF_DL_TYPE, "0x806", NULL}, {MFF_ARP_SHA, "000000000001", NULL},
      {MFF_ARP_THA, "ffffffffffff", NULL}, END},
     "arp,arp_sha=00:00:00:00:00:01,arp_tha=ff:ff:ff:ff:ff:ff"},
    {"ipv6,ipv6_src=2001:db8::/32",
     {{MFF_DL_TYPE, "0x86dd", NULL},
      {MFF_IPV6_SRC, "20010db8000000000000000000000000",
       "ffffffff000000000000000000000000"}, END},
     "ipv6,ipv6_src=2001:db8::/32"},
    {"ipv6,ipv6_dst=::1",
     {{MFF_DL_TYPE, "0x86dd", NULL},
      {MFF_IPV6_DST, "00000000000000000000000000000001", NULL}, END},
     "ipv6,ipv6_dst=::1"},
    {"ipv6,ipv6_label=0x12345", {{MFF_DL_TYPE, "0x86dd", NULL},
                                 {MFF_IPV6_LABEL, "0x12345", NULL}, END},
     "ipv6,ipv6_label=0x12345"},
    {"ipv6,ipv6_label=0x12345/0xf0000",
     {{MFF_DL_TYPE, "0x86dd", NULL}, {MFF_IPV6_LABEL, "0x10000", "0xf0000"},
      END}, "ipv6,ipv6_label=0x10000/0xf0000"},
    {"  in_port=1\t,, dl_type=0x0806 ",
     {{MFF_IN_PORT, "1", NULL}, {MFF_DL_TYPE, "0x806", NULL}, END},
     "arp,in_port=1"},
    {"tcp,tcp", {{MFF_DL_TYPE, "0x800", NULL}, {MFF_NW_PROTO, "6", NULL},
                 END}, "tcp"},
    {"", {END}, ""},
};

static void
build_expected(const struct exp_field *f, struct of_match *m)
{
    of_match_init_catchall(m);
    for (; f->id != MFF_N_IDS; f++) {
        const struct mf_field *mf = mf_from_id(f->id);
        if (mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16) {
            uint8_t v[16], mk[16];
            hex_to_bytes(f->v, v, mf->n_bytes);
            if (f->m) {
                hex_to_bytes(f->m, mk, mf->n_bytes);
            } else {
                memset(mk, 0xff, sizeof mk);
            }
            exp_set_bytes(m, f->id, v, mk);
        } else {
            uint32_t v = strtoul(f->v, NULL, 0);
            uint32_t mk = f->m ? strtoul(f->m, NULL, 0) : mf_view_max(mf);
            exp_set_u32(m, f->id, v, mk);
        }
    }
}

static void
test_valid_matches(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof valid_cases / sizeof *valid_cases; i++) {
        const struct valid_case *c = &valid_cases[i];
        struct of_flow_spec spec, spec2;
        struct of_match want;
        char err[256], buf[512];
        int error;

        error = of_flow_parse(&spec, c->text, OFFC_MATCH, err, sizeof err);
        if (error) {
            print_error("case '%s': %s\n", c->text, err);
        }
        assert_int_equal(error, 0);
        build_expected(c->f, &want);
        if (memcmp(&want, &spec.match, sizeof want)) {
            print_error("case '%s': match differs\n", c->text);
        }
        assert_memory_equal(&want, &spec.match, sizeof want);
        /* Each listed field reads back through mf_get. */
        for (const struct exp_field *f = c->f; f->id != MFF_N_IDS; f++) {
            const struct mf_field *mf = mf_from_id(f->id);
            union mf_value a, b;
            mf_get(mf, &spec.match.flow, &a);
            mf_get(mf, &want.flow, &b);
            assert_memory_equal(&a, &b, sizeof a);
            mf_get(mf, &spec.match.wc, &a);
            mf_get(mf, &want.wc, &b);
            assert_memory_equal(&a, &b, sizeof a);
        }
        assert_null(spec.actions);

        of_match_format(buf, sizeof buf, &spec.match, INT32_MIN);
        if (strcmp(buf, c->format)) {
            print_error("case '%s': formatted '%s'\n", c->text, buf);
        }
        assert_string_equal(buf, c->format);

        /* Round trip through the format. */
        error = of_flow_parse(&spec2, buf, OFFC_MATCH, err, sizeof err);
        assert_int_equal(error, 0);
        assert_memory_equal(&spec.match, &spec2.match, sizeof spec.match);
        assert_true(of_match_equal(&spec.match, &spec2.match));
    }
}

/* ---------------------------------------------------------------------
 * Invalid input: the message names the item and the column.
 */

struct invalid_case {
    const char *text;
    enum of_flow_cmd cmd;
    const char *msg1, *msg2;
};

static const struct invalid_case invalid_cases[] = {
    {"ct_state=+foo", OFFC_MATCH, "bad value '+foo' for ct_state",
     "+trk+new"},
    {"ct_state=+new-new", OFFC_MATCH, "bad value", "ct_state"},
    {"recirc_id=1", OFFC_MATCH, "recirc_id is the datapath's", "column 1"},
    {"ip,ct_label=0x1000000000000000000000000000000001", OFFC_MATCH,
     "bad value", "128-bit"},
    {"actions=ct(zone=NXM_NX_REG0[0..7])", OFFC_ADD, "bad zone",
     "16 bits"},
    {"actions=ct(zone=NXM_NX_REG99[0..15])", OFFC_ADD, "bad zone",
     "unknown field"},
    {"actions=load:5->NXM_NX_REG0[0..1]", OFFC_ADD, "bad value '5'",
     "at most 2 bits"},
    {"actions=load:5->NXM_NX_REG0[3..40]", OFFC_ADD, "bad destination",
     "outside the field"},
    {"actions=load:5->NXM_NX_REG0[x]", OFFC_ADD, "bad destination",
     "[LOW..HIGH]"},
    {"actions=load:5->NXM_NX_CT_STATE[]", OFFC_ADD, "not writable",
     "load"},
    {"actions=load:5", OFFC_ADD, "load needs VALUE->FIELD", "column"},
    {"actions=move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..4]", OFFC_ADD,
     "differ in width", "4 and 5"},
    {"actions=move:NXM_NX_REG0[]->NXM_NX_CT_MARK[]", OFFC_ADD,
     "not writable", "move"},
    {"actions=move:NXM_NX_REG0[]", OFFC_ADD, "move needs SRC", "column"},
    {"actions=move:foo[]->reg0", OFFC_ADD, "bad source", "unknown field"},
    {"actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15]", OFFC_ADD,
     "move of tp_src requires", "in the match"},
    {"ip,actions=move:NXM_NX_REG0[0..15]->NXM_OF_UDP_DST[]", OFFC_ADD,
     "move of tp_dst requires", "in the match"},
    {"actions=load:5->NXM_OF_IP_TOS[2..7]", OFFC_ADD,
     "load of nw_tos requires", "ip or ipv6"},
    {"actions=ct(zone=NXM_OF_TCP_SRC[])", OFFC_ADD,
     "ct zone of tp_src requires", "in the match"},
    {"actions=ct(exec(set_field:1->ct_mark))", OFFC_ADD,
     "ct exec() needs commit", "column 9"},
    {"actions=ct(commit,exec(set_field:1->nw_src))", OFFC_ADD,
     "can set only ct_mark and ct_label", "column"},
    {"actions=ct(commit,nat(src=10.0.0.5-10.0.0.1))", OFFC_ADD,
     "backwards", "column"},
    {"actions=ct(commit,nat(src=10.0.0.1:0))", OFFC_ADD, "port out of range",
     "column"},
    {"actions=ct(nat(src=10.0.0.1))", OFFC_ADD, "nat with a range needs "
     "commit", "column"},
    {"actions=ct(commit,nat(src=10.0.0.1,dst=10.0.0.2))", OFFC_ADD,
     "one of src and dst", "column"},
    {"actions=ct(bogus)", OFFC_ADD, "unknown ct argument 'bogus'",
     "column 12"},
    {"actions=ct(alg=ftp)", OFFC_ADD, "alg", "not supported"},
    {"actions=ct(force)", OFFC_ADD, "force needs commit", "column"},
    {"actions=ct(table=254)", OFFC_ADD, "bad table '254'", "column"},
    {"actions=ct_clear:1", OFFC_ADD, "ct_clear takes no value", "column 9"},
    {"in_port=1,actions=ct(commit),output:2", OFFC_ADD,
     "ct with commit or nat requires ip or ipv6", "column 19"},
    {"arp,actions=ct(nat)", OFFC_ADD, "requires ip or ipv6", "column 13"},
    {"actions=set_field:1->ct_mark", OFFC_ADD, "not writable", "ct_mark"},
    {"ip,nw_srcx=1.2.3.4", OFFC_MATCH, "unknown field 'nw_srcx'",
     "column 4"},
    {"priority=5,ip,nw_src=1.2.3", OFFC_MATCH,
     "bad value '1.2.3' for nw_src", "column 22"},
    {"nw_src=1.2.3.4", OFFC_MATCH, "nw_src requires ip or arp", "column 1"},
    {"ip_src=1.2.3.4", OFFC_MATCH, "ip_src requires ip or arp", "column 1"},
    {"ipv6,nw_dst=1.2.3.4", OFFC_MATCH, "nw_dst requires ip or arp",
     "column 6"},
    {"ip,tp_dst=80", OFFC_MATCH, "tp_dst requires tcp, udp or sctp",
     "column 4"},
    {"udp,tcp_dst=80", OFFC_MATCH, "tcp_dst requires tcp", "column 5"},
    {"tcp,udp_src=80", OFFC_MATCH, "udp_src requires udp", "column 5"},
    {"tcp,sctp_src=80", OFFC_MATCH, "sctp_src requires sctp", "column 5"},
    {"tcp6,icmp_code=1", OFFC_MATCH, "icmp_code requires icmp or icmp6",
     "column 6"},
    {"udp,icmpv6_type=1", OFFC_MATCH, "icmpv6_type requires icmp or icmp6",
     "column 5"},
    {"udp,tcp_flags=+syn", OFFC_MATCH, "tcp_flags requires tcp",
     "column 5"},
    {"arp_op=1", OFFC_MATCH, "arp_op requires arp", "column 1"},
    {"ip,arp_sha=00:00:00:00:00:01", OFFC_MATCH, "arp_sha requires arp",
     "column 4"},
    {"ipv6_src=::1", OFFC_MATCH, "ipv6_src requires ipv6", "column 1"},
    {"ip,ipv6_label=1", OFFC_MATCH, "ipv6_label requires ipv6", "column 4"},
    {"nw_proto=6", OFFC_MATCH, "nw_proto requires ip or ipv6", "column 1"},
    {"arp,nw_tos=4", OFFC_MATCH, "nw_tos requires ip or ipv6", "column 5"},
    {"ip_frag=no", OFFC_MATCH, "ip_frag requires", "column 1"},
    {"dl_vlan=4096", OFFC_MATCH, "bad value '4096' for dl_vlan",
     "column 9"},
    {"dl_vlan_pcp=8", OFFC_MATCH, "bad value '8' for dl_vlan_pcp",
     "column 13"},
    {"ip,ip_dscp=64", OFFC_MATCH, "bad value '64' for ip_dscp", "column 12"},
    {"ip,nw_tos=3", OFFC_MATCH, "bad value '3' for nw_tos", "ECN"},
    {"ip,nw_ecn=4", OFFC_MATCH, "bad value '4' for nw_ecn", "column 11"},
    {"ip,nw_ttl=256", OFFC_MATCH, "bad value '256' for nw_ttl", "column 11"},
    {"ip,nw_proto=256", OFFC_MATCH, "bad value '256' for nw_proto",
     "column 13"},
    {"tcp,tp_src=65536", OFFC_MATCH, "bad value '65536' for tp_src",
     "column 12"},
    {"in_port=70000", OFFC_MATCH, "bad value '70000' for in_port",
     "column 9"},
    {"in_port=NONE", OFFC_MATCH, "bad value 'NONE' for in_port",
     "column 9"},
    {"ipv6,ipv6_label=0x100000", OFFC_MATCH, "bad value '0x100000'",
     "ipv6_label"},
    {"tcp,tcp_flags=+syn-bogus", OFFC_MATCH, "bad value '+syn-bogus'",
     "tcp_flags"},
    {"tcp,tcp_flags=0x1000", OFFC_MATCH, "bad value '0x1000'", "tcp_flags"},
    {"ip,ip_frag=maybe", OFFC_MATCH, "bad value 'maybe' for ip_frag",
     "column 12"},
    {"ip,nw_proto=6/0xff", OFFC_MATCH, "bad value '6/0xff' for nw_proto",
     "mask"},
    {"dl_type=0x800/0xff00", OFFC_MATCH, "for dl_type", "mask"},
    {"in_port=1/1", OFFC_MATCH, "for in_port", "mask"},
    {"ip,nw_src=1.2.3.4/33", OFFC_MATCH, "bad value '1.2.3.4/33'",
     "nw_src"},
    {"ip,nw_src=1.2.3.4x", OFFC_MATCH, "bad value '1.2.3.4x'", "column 11"},
    {"in_port=12abc", OFFC_MATCH, "bad value '12abc' for in_port",
     "column 9"},
    {"ipv6,ipv6_src=::1/129", OFFC_MATCH, "bad value '::1/129'",
     "ipv6_src"},
    {"dl_src=00:11:22:33:44", OFFC_MATCH, "bad value '00:11:22:33:44'",
     "dl_src"},
    {"dl_src=00:11:22:33:44:55:66", OFFC_MATCH, "bad value", "dl_src"},
    {"dl_dst=", OFFC_MATCH, "bad value '' for dl_dst", "column 8"},
    {"in_port", OFFC_MATCH, "in_port needs a value", "column 1"},
    {"tcp=1", OFFC_MATCH, "'tcp' takes no value", "column 1"},
    {"tcp,udp", OFFC_MATCH, "conflicting values for udp", "column 5"},
    {"ipv6,tcp", OFFC_MATCH, "conflicting values for tcp", "column 6"},
    {"in_port=1,in_port=2", OFFC_MATCH, "conflicting values for in_port",
     "column 11"},
    {"dl_vlan=0xffff,dl_vlan_pcp=1", OFFC_MATCH, "conflicting",
     "dl_vlan_pcp"},
    {"table=254", OFFC_MATCH, "bad value '254' for table", "column 7"},
    {"priority=65536", OFFC_MATCH, "bad value '65536' for priority",
     "column 10"},
    {"=5", OFFC_MATCH, "missing name", "column 1"},
    {"ip,nw_src(1.2.3.4)", OFFC_MATCH, "nw_src needs a value", "column 4"},
    {"in_port=1)", OFFC_MATCH, "unbalanced", "column 10"},
    {"in_port=1 actions=output:1", OFFC_DELETE, "actions are not allowed",
     "column 11"},
    {"in_port=1 actions=output:1", OFFC_MATCH, "actions are not allowed",
     "column 11"},
    {"in_port=1", OFFC_ADD, "missing 'actions='", ""},
    {"in_port=1", OFFC_MODIFY, "missing 'actions='", ""},
    {"idle_timeout=5", OFFC_DELETE, "idle_timeout is not allowed",
     "column 1"},
    {"out_port=1,actions=drop", OFFC_ADD, "out_port is not allowed",
     "column 1"},
    {"cookie=1/1,actions=drop", OFFC_ADD, "cookie mask", "column 8"},
    {"cookie=0x1g", OFFC_DELETE, "bad value '0x1g' for cookie", "column 8"},
    {"idle_timeout=70000,actions=drop", OFFC_ADD,
     "bad value '70000' for idle_timeout", "column 14"},
    /* Actions. */
    {"tcp,tp_dst=80,actions=output:1,mod_foo:3", OFFC_ADD,
     "unknown action 'mod_foo'", "column 32"},
    {"actions=output:0xff00", OFFC_ADD, "bad port '0xff00' for output",
     "column 16"},
    {"actions=output:NONE", OFFC_ADD, "bad port 'NONE' for output",
     "column 16"},
    {"actions=output", OFFC_ADD, "output needs a value", "column 9"},
    {"actions=65280", OFFC_ADD, "bad port '65280'", "column 9"},
    {"actions=controller:65536", OFFC_ADD, "bad max_len '65536' for "
     "controller", "column 20"},
    {"actions=controller(reason=no_match)", OFFC_ADD, "controller(...) "
     "takes only max_len=N here", "column 20"},
    {"actions=drop,output:1", OFFC_ADD, "drop must be the only action",
     "column 9"},
    {"actions=output:1,drop", OFFC_ADD, "drop must be the only action",
     "column 18"},
    {"actions=goto_table:1,output:2", OFFC_ADD,
     "goto_table must be the last action", "column 9"},
    {"actions=goto_table:254", OFFC_ADD, "bad table '254' for goto_table",
     "column 20"},
    {"actions=write_metadata:0x1,output:2", OFFC_ADD,
     "write_metadata may only be followed by goto_table", "column 9"},
    {"actions=write_metadata:0x1,write_metadata:0x2", OFFC_ADD,
     "write_metadata may only be followed by goto_table", "column 9"},
    {"actions=write_metadata:x", OFFC_ADD, "bad value 'x' for "
     "write_metadata", "column 24"},
    {"actions=write_actions(output:1),output:2", OFFC_ADD,
     "write_actions may only be followed by", "column 9"},
    {"actions=clear_actions,clear_actions", OFFC_ADD,
     "clear_actions may only be followed by", "column 9"},
    {"actions=write_actions(resubmit:2)", OFFC_ADD,
     "may not go into the action set", "column 9"},
    {"actions=write_actions(output:1,bogus)", OFFC_ADD,
     "in write_actions at column 23: unknown action 'bogus'", "column 23"},
    {"actions=resubmit(,254)", OFFC_ADD, "bad table '254' for resubmit",
     "column 19"},
    {"actions=resubmit(,)", OFFC_ADD, "resubmit needs a port or a table",
     "column 18"},
    {"actions=resubmit:foo", OFFC_ADD, "bad port 'foo' for resubmit",
     "column 18"},
    {"actions=resubmit(1,2)x", OFFC_ADD, "garbage", "column 22"},
    {"actions=resubmit(1,2", OFFC_ADD, "unbalanced", "resubmit"},
    {"actions=push_vlan:0x0800", OFFC_ADD, "bad ethertype '0x0800'",
     "column 19"},
    {"actions=mod_vlan_vid:4096", OFFC_ADD,
     "bad value '4096' for mod_vlan_vid", "column 22"},
    {"actions=mod_vlan_pcp:8", OFFC_ADD, "bad value '8' for mod_vlan_pcp",
     "column 22"},
    {"actions=mod_nw_tos:5", OFFC_ADD, "bad value '5' for mod_nw_tos",
     "column 20"},
    {"actions=mod_nw_src:1.2.3.4/8", OFFC_ADD, "bad value '1.2.3.4/8'",
     "mod_nw_src"},
    {"actions=mod_dl_src:1.2.3.4", OFFC_ADD, "bad value '1.2.3.4'",
     "mod_dl_src"},
    {"actions=mod_tp_dst:65536", OFFC_ADD, "bad value '65536'",
     "mod_tp_dst"},
    {"actions=mod_nw_dst", OFFC_ADD, "mod_nw_dst needs a value",
     "column 9"},
    {"actions=dec_ttl:3", OFFC_ADD, "dec_ttl takes no value", "column 9"},
    {"actions=set_field:0x800->dl_type", OFFC_ADD,
     "field 'dl_type' is not writable", "column 26"},
    {"actions=set_field:6->nw_proto", OFFC_ADD,
     "field 'nw_proto' is not writable", "column 22"},
    {"actions=set_field:1->nw_srcx", OFFC_ADD, "unknown field 'nw_srcx'",
     "column 22"},
    {"actions=set_field:1", OFFC_ADD, "set_field needs VALUE->FIELD",
     "column 19"},
    {"actions=set_field:1.2.3->nw_src", OFFC_ADD, "bad value '1.2.3'",
     "nw_src"},
    {"actions=set_field:5/3->nw_ttl", OFFC_ADD, "bad value '5/3'", "mask"},
    {"actions=set_field:0xffff->dl_vlan", OFFC_ADD, "bad value '0xffff'",
     "dl_vlan"},
    {"in_port=1,actions=set_field:1.2.3.4->nw_src", OFFC_ADD,
     "set_field of nw_src requires ip or arp in the match", "column 19"},
    {"ip,actions=output:1,set_field:80->tcp_dst", OFFC_ADD,
     "set_field of tp_dst requires tcp, udp or sctp", "column 21"},
    {"ipv6,actions=set_field:1->ip_dscp,set_field:1.1.1.1->nw_dst",
     OFFC_MODIFY, "set_field of nw_dst requires", "column 35"},
};

static void
test_invalid(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof invalid_cases / sizeof *invalid_cases;
         i++) {
        const struct invalid_case *c = &invalid_cases[i];
        struct of_flow_spec spec, zero;
        char err[256];
        int error;

        memset(&spec, 0x5a, sizeof spec);
        error = of_flow_parse(&spec, c->text, c->cmd, err, sizeof err);
        if (error != EINVAL || !strstr(err, c->msg1)
            || !strstr(err, c->msg2)) {
            print_error("case '%s': error %d '%s'\n", c->text, error,
                        error ? err : "");
        }
        assert_int_equal(error, EINVAL);
        assert_non_null(strstr(err, c->msg1));
        assert_non_null(strstr(err, c->msg2));
        /* Nothing half-parsed. */
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&spec, &zero, sizeof spec);
        of_flow_spec_uninit(&spec);
    }
    /* NULL err buffer is allowed. */
    struct of_flow_spec spec;
    assert_int_equal(of_flow_parse(&spec, "bogus", OFFC_MATCH, NULL, 0),
                     EINVAL);
}

/* ---------------------------------------------------------------------
 * Flow-mod parameters.
 */

static void
test_params(void **state)
{
    (void) state;
    struct of_flow_spec s;
    char err[256], buf[512];

    assert_int_equal(of_flow_parse(&s, "in_port=1,actions=drop", OFFC_ADD,
                                   err, sizeof err), 0);
    assert_int_equal(s.priority, OF_DEFAULT_PRIORITY);
    assert_false(s.priority_set);
    assert_int_equal(s.table_id, 0);
    assert_false(s.table_set);
    assert_int_equal(s.out_port, OFPP_NONE);
    assert_non_null(s.actions);
    assert_int_equal(s.actions->n, 0);
    of_flow_spec_uninit(&s);
    assert_null(s.actions);
    of_flow_spec_uninit(&s);
    of_flow_spec_uninit(NULL);

    assert_int_equal(of_flow_parse(&s, "in_port=1", OFFC_DELETE, err,
                                   sizeof err), 0);
    assert_int_equal(s.table_id, 0xff);
    assert_null(s.actions);

    assert_int_equal(of_flow_parse(&s, "table=3 priority=0x10 cookie=0xab "
                                   "idle_timeout=10 hard_timeout=20 "
                                   "actions=", OFFC_ADD, err, sizeof err),
                     0);
    assert_int_equal(s.table_id, 3);
    assert_true(s.table_set);
    assert_int_equal(s.priority, 16);
    assert_true(s.priority_set);
    assert_int_equal(s.cookie, 0xab);
    assert_int_equal(s.cookie_mask, 0);
    assert_int_equal(s.idle_timeout, 10);
    assert_int_equal(s.hard_timeout, 20);
    assert_int_equal(s.actions->n, 0);
    of_flow_format(buf, sizeof buf, &s);
    assert_string_equal(buf, "table=3,cookie=0xab,idle_timeout=10,"
                             "hard_timeout=20,priority=16 actions=drop");
    of_flow_spec_uninit(&s);

    assert_int_equal(of_flow_parse(&s, "cookie=0x10/0xf0,out_port=LOCAL,"
                                   "priority=0,tcp", OFFC_DELETE_STRICT, err,
                                   sizeof err), 0);
    assert_int_equal(s.cookie, 0x10);
    assert_int_equal(s.cookie_mask, 0xf0);
    assert_int_equal(s.out_port, OFPP_LOCAL);
    assert_int_equal(s.priority, 0);
    of_flow_format(buf, sizeof buf, &s);
    assert_string_equal(buf, "cookie=0x10/0xf0,out_port=LOCAL,priority=0,"
                             "tcp");

    assert_int_equal(of_flow_parse(&s, "priority=7,action=NORMAL",
                                   OFFC_MODIFY_STRICT, err, sizeof err), 0);
    assert_int_equal(s.actions->n, 1);
    assert_int_equal(s.actions->a[0].type, OFPACT_NORMAL);
    of_flow_spec_uninit(&s);

    /* of_match_format with a priority. */
    struct of_match m;
    of_match_init_catchall(&m);
    of_match_format(buf, sizeof buf, &m, 5);
    assert_string_equal(buf, "priority=5");
    of_match_format(buf, sizeof buf, &m, INT32_MIN);
    assert_string_equal(buf, "");
    assert_int_equal(of_flow_parse(&s, "tcp,tp_dst=80", OFFC_MATCH, err,
                                   sizeof err), 0);
    of_match_format(buf, sizeof buf, &s.match, 100);
    assert_string_equal(buf, "priority=100,tcp,tp_dst=80");
    /* Truncation. */
    size_t n = of_match_format(buf, 8, &s.match, 100);
    assert_int_equal(n, 7);
    assert_string_equal(buf, "priorit");

    /* Ports. */
    uint32_t port;
    assert_true(of_port_from_string("local", &port));
    assert_int_equal(port, OFPP_LOCAL);
    assert_true(of_port_from_string("0x10", &port));
    assert_int_equal(port, 16);
    assert_false(of_port_from_string("65536", &port));
    assert_false(of_port_from_string("", &port));
    of_port_format(buf, sizeof buf, OFPP_IN_PORT);
    assert_string_equal(buf, "IN_PORT");
    of_port_format(buf, sizeof buf, 42);
    assert_string_equal(buf, "42");
}

/* ---------------------------------------------------------------------
 * Every action.
 */

struct action_case {
    const char *text;
    const char *format;
};

static const struct action_case action_cases[] = {
    {"ct", "ct()"},
    {"ct()", "ct()"},
    {"ct(table=1,zone=5)", "ct(table=1,zone=5)"},
    {"ct(zone=5,commit)", "ct(commit,zone=5)"},
    {"ct(commit,force)", "ct(commit,force)"},
    {"ct(commit,exec(set_field:1->ct_mark))",
     "ct(commit,exec(set_field:0x1->ct_mark))"},
    {"ct(commit,exec(set_field:0x5/0xff->ct_mark,"
     "set_field:0x1/0x3->ct_label))",
     "ct(commit,exec(set_field:0x5/0xff->ct_mark,"
     "set_field:0x1/0x3->ct_label))"},
    {"ct(nat)", "ct(nat)"},
    {"ct(commit,nat(src=10.0.0.1-10.0.0.5:1000-2000,random))",
     "ct(commit,nat(src=10.0.0.1-10.0.0.5:1000-2000,random))"},
    {"ct(commit,nat(dst=10.1.1.1:8080),table=3)",
     "ct(commit,table=3,nat(dst=10.1.1.1:8080))"},
    {"ct(commit,nat(dst=[fd00::1]-[fd00::9]:80,persistent,hash))",
     "ct(commit,nat(dst=[fd00::1]-[fd00::9]:80,hash,persistent))"},
    /* A bare IPv6 address (ovs-ofctl takes it; no port then). */
    {"ct(commit,nat(src=fd00::100))", "ct(commit,nat(src=[fd00::100]))"},
    {"ct(commit,nat(src=fd00::1-fd00::9))",
     "ct(commit,nat(src=[fd00::1]-[fd00::9]))"},
    {"ct_clear", "ct_clear"},
    {"ct(commit,zone=7),output:2", "ct(commit,zone=7),output:2"},
    /* Registers: load, move, set_field and ct zones from them, as Open
     * vSwitch 3.1's ovs-ofctl writes them back. */
    {"ct(zone=NXM_NX_REG0[0..15],table=1)",
     "ct(table=1,zone=NXM_NX_REG0[0..15])"},
    {"ct(commit,zone=reg5[16..31])", "ct(commit,zone=NXM_NX_REG5[16..31])"},
    {"load:5->NXM_NX_REG1[]", "load:0x5->NXM_NX_REG1[]"},
    {"load:0->NXM_NX_REG0[]", "load:0->NXM_NX_REG0[]"},
    {"load:0x3->NXM_NX_REG3[4..7]", "load:0x3->NXM_NX_REG3[4..7]"},
    {"load:1->NXM_NX_XXREG2[0]", "load:0x1->NXM_NX_XXREG2[0]"},
    {"load:0x1->OXM_OF_PKT_REG1[]", "load:0x1->OXM_OF_PKT_REG1[]"},
    {"load:0xffffffffffffffff->NXM_NX_XXREG0[64..127]",
     "load:0xffffffffffffffff->NXM_NX_XXREG0[64..127]"},
    {"load:0x1->NXM_OF_IP_TOS[2..7]", "load:0x1->NXM_OF_IP_TOS[2..7]"},
    {"set_field:7->reg2", "set_field:0x7->reg2"},
    {"set_field:0->reg2", "set_field:0->reg2"},
    {"set_field:0xff->reg15", "set_field:0xff->reg15"},
    {"set_field:0x1234->xreg3", "set_field:0x1234->xreg3"},
    {"set_field:0x12->xxreg1", "set_field:0x12->xxreg1"},
    {"move:NXM_NX_REG0[]->NXM_NX_REG1[]", "move:NXM_NX_REG0[]->NXM_NX_REG1[]"},
    {"move:reg0->reg1", "move:NXM_NX_REG0[]->NXM_NX_REG1[]"},
    {"move:eth_src->eth_dst", "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]"},
    {"move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15]",
     "move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15]"},
    {"move:udp_src->NXM_NX_REG0[16..31]",
     "move:NXM_OF_UDP_SRC[]->NXM_NX_REG0[16..31]"},
    {"move:NXM_NX_XXREG0[0..63]->OXM_OF_PKT_REG2[]",
     "move:NXM_NX_XXREG0[0..63]->OXM_OF_PKT_REG2[]"},
    {"output:2", "output:2"},
    {"2", "output:2"},
    {"0x10", "output:16"},
    {"output:LOCAL", "output:LOCAL"},
    {"local", "output:LOCAL"},
    {"output:CONTROLLER", "CONTROLLER:65535"},
    {"controller", "CONTROLLER:65535"},
    {"controller:100", "CONTROLLER:100"},
    {"CONTROLLER:65535", "CONTROLLER:65535"},
    {"controller(max_len=10)", "CONTROLLER:10"},
    {"output:in_port", "IN_PORT"},
    {"in_port", "IN_PORT"},
    {"IN_PORT", "IN_PORT"},
    {"flood", "FLOOD"},
    {"FLOOD", "FLOOD"},
    {"all", "ALL"},
    {"normal", "NORMAL"},
    {"NORMAL", "NORMAL"},
    {"Normal", "NORMAL"},
    {"output:NORMAL", "NORMAL"},
    {"drop", "drop"},
    {"", "drop"},
    {"mod_dl_src:00:11:22:33:44:55", "mod_dl_src:00:11:22:33:44:55"},
    {"mod_dl_dst:AA:BB:CC:DD:EE:FF", "mod_dl_dst:aa:bb:cc:dd:ee:ff"},
    {"mod_nw_src:1.2.3.4", "mod_nw_src:1.2.3.4"},
    {"mod_nw_dst:10.0.0.1", "mod_nw_dst:10.0.0.1"},
    {"mod_nw_tos:184", "mod_nw_tos:184"},
    {"mod_nw_ecn:1", "mod_nw_ecn:1"},
    {"mod_nw_ttl:9", "mod_nw_ttl:9"},
    {"mod_tp_src:0x50", "mod_tp_src:80"},
    {"mod_tp_dst:443", "mod_tp_dst:443"},
    {"mod_vlan_vid:4095", "mod_vlan_vid:4095"},
    {"mod_vlan_pcp:7", "mod_vlan_pcp:7"},
    {"dec_ttl", "dec_ttl"},
    {"strip_vlan", "strip_vlan"},
    {"pop_vlan", "pop_vlan"},
    {"push_vlan:0x8100", "push_vlan:0x8100"},
    {"push_vlan:0x88a8", "push_vlan:0x88a8"},
    {"set_field:1.2.3.4->nw_src", "set_field:1.2.3.4->nw_src"},
    {"set_field:1.2.3.4->ip_dst", "set_field:1.2.3.4->nw_dst"},
    {"set_field:1.2.3.4/255.255.0.0->nw_src", "set_field:1.2.0.0/16->nw_src"},
    {"set_field:00:00:00:00:00:01->dl_dst",
     "set_field:00:00:00:00:00:01->dl_dst"},
    {"set_field:2001:db8::1->ipv6_src", "set_field:2001:db8::1->ipv6_src"},
    {"set_field:0x1005->vlan_tci", "set_field:0x1005->vlan_tci"},
    {"set_field:7->vlan_vid", "set_field:0x007->vlan_vid"},
    {"set_field:80->tcp_dst", "set_field:80->tp_dst"},
    {"set_field:0x10/0xf0->tp_src", "set_field:0x10/0xf0->tp_src"},
    {"set_field:46->ip_dscp", "set_field:46->ip_dscp"},
    {"set_field:0xabcde->ipv6_label", "set_field:0xabcde->ipv6_label"},
    {"set_field:3->icmp_type", "set_field:3->icmp_type"},
    {"set_field:5->dl_vlan", "set_field:5->dl_vlan"},
    {"set_field:2->arp_op", "set_field:2->arp_op"},
    {"resubmit:3", "resubmit:3"},
    {"resubmit:in_port", "resubmit:IN_PORT"},
    {"resubmit(,2)", "resubmit(,2)"},
    {"resubmit(3,)", "resubmit:3"},
    {"resubmit(3,4)", "resubmit(3,4)"},
    {"resubmit(LOCAL,0)", "resubmit(LOCAL,0)"},
    {"goto_table:253", "goto_table:253"},
    {"write_metadata:0x5/0xff,goto_table:1",
     "write_metadata:0x5/0xff,goto_table:1"},
    {"output:1,clear_actions,write_actions(output:2,mod_nw_tos:32),"
     "write_metadata:0x1,goto_table:3",
     "output:1,clear_actions,write_actions(output:2,mod_nw_tos:32),"
     "write_metadata:0x1,goto_table:3"},
    {"write_actions( group:4 , dec_ttl )", "write_actions(group:4,dec_ttl)"},
    {"clear_actions", "clear_actions"},
    {"output:3,write_metadata:4660", "output:3,write_metadata:0x1234"},
    {"write_metadata:0xffffffffffffffff/0xffffffffffffffff",
     "write_metadata:0xffffffffffffffff"},
    {"output:2,mod_nw_src:1.2.3.4,resubmit(,2),NORMAL",
     "output:2,mod_nw_src:1.2.3.4,resubmit(,2),NORMAL"},
    {" output:1  output:2,\t3 ", "output:1,output:2,output:3"},
    {"pop_vlan,push_vlan:0x8100,mod_vlan_vid:10,goto_table:1",
     "pop_vlan,push_vlan:0x8100,mod_vlan_vid:10,goto_table:1"},
};

static void
test_actions(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof action_cases / sizeof *action_cases;
         i++) {
        const struct action_case *c = &action_cases[i];
        struct of_actions *a, *b;
        char err[256], buf[512];
        int error;

        error = of_actions_parse(c->text, &a, err, sizeof err);
        if (error) {
            print_error("action '%s': %s\n", c->text, err);
        }
        assert_int_equal(error, 0);
        of_actions_format(buf, sizeof buf, a);
        if (strcmp(buf, c->format)) {
            print_error("action '%s': formatted '%s'\n", c->text, buf);
        }
        assert_string_equal(buf, c->format);
        assert_int_equal(of_actions_parse(buf, &b, err, sizeof err), 0);
        assert_true(of_actions_equal(a, b));
        free(a);
        free(b);
    }

    /* A few decoded in full. */
    struct of_actions *a;
    char err[256];
    assert_int_equal(of_actions_parse("mod_vlan_vid:10,resubmit(,2),"
                                      "push_vlan:0x88a8,output:7,"
                                      "set_field:1.2.3.4/255.255.0.0->"
                                      "nw_src",
                                      &a, err, sizeof err), 0);
    assert_int_equal(a->n, 5);
    assert_int_equal(a->a[0].type, OFPACT_SET_FIELD);
    assert_int_equal(a->a[0].set_field.field, MFF_DL_VLAN);
    assert_int_equal(a->a[0].set_field.syntax, OFSF_MOD);
    assert_int_equal(a->a[0].set_field.has_mask, 0);
    assert_int_equal(a->a[0].set_field.value.be16, htons(10));
    assert_int_equal(a->a[1].type, OFPACT_RESUBMIT);
    assert_int_equal(a->a[1].resubmit.port, OFPP_IN_PORT);
    assert_int_equal(a->a[1].resubmit.table, 2);
    assert_int_equal(a->a[2].type, OFPACT_PUSH_VLAN);
    assert_int_equal(a->a[2].push_vlan.ethertype, 0x88a8);
    assert_int_equal(a->a[3].type, OFPACT_OUTPUT);
    assert_int_equal(a->a[3].output.port, 7);
    assert_int_equal(a->a[4].set_field.field, MFF_NW_SRC);
    assert_int_equal(a->a[4].set_field.syntax, OFSF_SET_FIELD);
    assert_int_equal(a->a[4].set_field.has_mask, 1);
    assert_int_equal(a->a[4].set_field.value.be32, htonl(0x01020000));
    assert_int_equal(a->a[4].set_field.mask.be32, htonl(0xffff0000));
    free(a);

    /* Errors give *out NULL and columns relative to the text. */
    a = (struct of_actions *) 1;
    assert_int_equal(of_actions_parse("output:1,bogus", &a, err, sizeof err),
                     EINVAL);
    assert_null(a);
    assert_non_null(strstr(err, "unknown action 'bogus' at column 10"));
}

/* ---------------------------------------------------------------------
 * Random round trips: the generator writes text and builds the expected
 * match and actions directly.
 */

struct gen {
    char text[2048];
    size_t len;
    struct of_match m;
    struct of_actions *acts;
};

static void __attribute__((format(printf, 2, 3)))
gen_add(struct gen *g, const char *fmt, ...)
{
    va_list args;
    static const char *seps[] = {",", " ", ", ", "\t"};

    if (g->len) {
        g->len += snprintf(g->text + g->len, sizeof g->text - g->len, "%s",
                           seps[rnd() % 4]);
    }
    va_start(args, fmt);
    g->len += vsnprintf(g->text + g->len, sizeof g->text - g->len, fmt,
                        args);
    va_end(args);
    assert_true(g->len < sizeof g->text);
}

static const char *
num(char *buf, uint32_t v)
{
    snprintf(buf, 16, rnd() & 1 ? "%u" : "0x%x", v);
    return buf;
}

static void
fmt_mac(char *buf, const uint8_t *m)
{
    sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
            m[4], m[5]);
}

static uint32_t
rnd_prefix4(unsigned int *len)
{
    *len = rnd() % 33;
    return *len ? UINT32_MAX << (32 - *len) : 0;
}

static void
gen_ip4(struct gen *g, const char *name, enum mf_field_id id)
{
    uint32_t v = rnd(), mk;
    struct in_addr a;
    char vs[32], ms[32];

    a.s_addr = htonl(v);
    inet_ntop(AF_INET, &a, vs, sizeof vs);
    switch (rnd() % 3) {
    case 0:
        mk = UINT32_MAX;
        gen_add(g, "%s=%s", name, vs);
        break;
    case 1: {
        unsigned int len;
        mk = rnd_prefix4(&len);
        gen_add(g, "%s=%s/%u", name, vs, len);
        break;
    }
    default:
        mk = rnd();
        a.s_addr = htonl(mk);
        inet_ntop(AF_INET, &a, ms, sizeof ms);
        gen_add(g, "%s=%s/%s", name, vs, ms);
        break;
    }
    exp_set_u32(&g->m, id, v, mk);
}

static void
gen_ip6(struct gen *g, const char *name, enum mf_field_id id)
{
    uint8_t v[16], mk[16];
    char vs[64];
    unsigned int len = rnd() % 129;

    rnd_bytes(v, 16);
    if (rnd() & 1) {
        memset(v + 8, 0, 8);    /* exercise "::" */
    }
    inet_ntop(AF_INET6, v, vs, sizeof vs);
    if (rnd() & 1) {
        len = 128;
        gen_add(g, "%s=%s", name, vs);
    } else {
        gen_add(g, "%s=%s/%u", name, vs, len);
    }
    memset(mk, 0, 16);
    for (unsigned int i = 0; i < len; i++) {
        mk[i / 8] |= 0x80 >> (i % 8);
    }
    exp_set_bytes(&g->m, id, v, mk);
}

static void
gen_mac(struct gen *g, const char *name, enum mf_field_id id)
{
    uint8_t v[6], mk[6];
    char vs[32], ms[32];

    rnd_bytes(v, 6);
    fmt_mac(vs, v);
    if (rnd() & 1) {
        memset(mk, 0xff, 6);
        gen_add(g, "%s=%s", name, vs);
    } else {
        rnd_bytes(mk, 6);
        fmt_mac(ms, mk);
        gen_add(g, "%s=%s/%s", name, vs, ms);
    }
    exp_set_bytes(&g->m, id, v, mk);
}

static void
gen_u(struct gen *g, const char *name, enum mf_field_id id, bool masked)
{
    const struct mf_field *mf = mf_from_id(id);
    uint32_t max = mf_view_max(mf);
    uint32_t v = rnd() & max, mk = max;
    char b1[16], b2[16];

    if (id == MFF_NW_TOS) {
        v &= 0xfc;
    }
    if (masked && (rnd() & 1)) {
        mk = rnd() & max;
        gen_add(g, "%s=%s/%s", name, num(b1, v), num(b2, mk));
    } else {
        gen_add(g, "%s=%s", name, num(b1, v));
    }
    exp_set_u32(&g->m, id, v, mk);
}

static void
gen_shorthand(struct gen *g, const char *name, uint16_t dl_type,
              uint8_t proto)
{
    gen_add(g, "%s", name);
    exp_set_u32(&g->m, MFF_DL_TYPE, dl_type, 0xffff);
    if (proto) {
        exp_set_u32(&g->m, MFF_NW_PROTO, proto, 0xff);
    }
}

static void
gen_match(struct gen *g)
{
    static const struct {
        const char *name;
        uint16_t dl_type;
        uint8_t proto;
    } classes[] = {
        {NULL, 0, 0},
        {"ip", ETH_TYPE_IP, 0},       {"ipv6", ETH_TYPE_IPV6, 0},
        {"arp", ETH_TYPE_ARP, 0},     {"tcp", ETH_TYPE_IP, 6},
        {"udp", ETH_TYPE_IP, 17},     {"sctp", ETH_TYPE_IP, 132},
        {"icmp", ETH_TYPE_IP, 1},     {"tcp6", ETH_TYPE_IPV6, 6},
        {"udp6", ETH_TYPE_IPV6, 17},  {"sctp6", ETH_TYPE_IPV6, 132},
        {"icmp6", ETH_TYPE_IPV6, 58},
    };
    size_t c = rnd() % (sizeof classes / sizeof *classes);
    uint16_t t = classes[c].dl_type;
    uint8_t proto = classes[c].proto;
    char b[16];

    if (classes[c].name) {
        if (rnd() % 4 == 0) {
            gen_add(g, "dl_type=%s", num(b, t));
            exp_set_u32(&g->m, MFF_DL_TYPE, t, 0xffff);
            if (proto) {
                gen_add(g, "nw_proto=%s", num(b, proto));
                exp_set_u32(&g->m, MFF_NW_PROTO, proto, 0xff);
            }
        } else {
            gen_shorthand(g, classes[c].name, t, proto);
        }
    } else if (rnd() % 3 == 0) {
        t = 0x0600 + rnd() % 0x1000;
        gen_add(g, "dl_type=%s", num(b, t));
        exp_set_u32(&g->m, MFF_DL_TYPE, t, 0xffff);
    }
    if (rnd() % 3 == 0) {
        uint32_t port = rnd() % 4 ? rnd() % OFPP_MAX : OFPP_LOCAL;
        gen_add(g, "in_port=%s", port == OFPP_LOCAL ? "LOCAL" : num(b, port));
        exp_set_u32(&g->m, MFF_IN_PORT, port, UINT32_MAX);
    }
    if (rnd() % 4 == 0) {
        gen_mac(g, "dl_src", MFF_DL_SRC);
    }
    if (rnd() % 4 == 0) {
        gen_mac(g, rnd() & 1 ? "dl_dst" : "eth_dst", MFF_DL_DST);
    }
    switch (rnd() % 6) {
    case 0: {
        uint32_t vid = rnd() & 0xfff;
        gen_add(g, "dl_vlan=%s", num(b, vid));
        exp_set_u32(&g->m, MFF_VLAN_TCI, vid | FLOW_VLAN_CFI, 0x1fff);
        if (rnd() & 1) {
            uint32_t pcp = rnd() & 7;
            gen_add(g, "dl_vlan_pcp=%u", pcp);
            exp_set_u32(&g->m, MFF_VLAN_TCI, (pcp << 13) | FLOW_VLAN_CFI,
                        0xf000);
        }
        break;
    }
    case 1:
        gen_u(g, "vlan_tci", MFF_VLAN_TCI, true);
        break;
    case 2:
        gen_add(g, "dl_vlan=0xffff");
        exp_set_u32(&g->m, MFF_VLAN_TCI, 0, 0xffff);
        break;
    default:
        break;
    }
    if (t == ETH_TYPE_IP) {
        if (rnd() & 1) {
            gen_ip4(g, rnd() & 1 ? "nw_src" : "ip_src", MFF_NW_SRC);
        }
        if (rnd() & 1) {
            gen_ip4(g, "nw_dst", MFF_NW_DST);
        }
    }
    if (t == ETH_TYPE_IPV6) {
        if (rnd() & 1) {
            gen_ip6(g, "ipv6_src", MFF_IPV6_SRC);
        }
        if (rnd() & 1) {
            gen_ip6(g, "ipv6_dst", MFF_IPV6_DST);
        }
        if (rnd() % 3 == 0) {
            gen_u(g, "ipv6_label", MFF_IPV6_LABEL, true);
        }
    }
    if (t == ETH_TYPE_IP || t == ETH_TYPE_IPV6) {
        if (!proto && rnd() % 3 == 0) {
            proto = 41 + rnd() % 5;
            gen_add(g, "nw_proto=%u", proto);
            exp_set_u32(&g->m, MFF_NW_PROTO, proto, 0xff);
        }
        switch (rnd() % 4) {
        case 0:
            gen_u(g, "nw_tos", MFF_NW_TOS, false);
            break;
        case 1:
            gen_u(g, "ip_dscp", MFF_IP_DSCP, false);
            break;
        default:
            break;
        }
        if (rnd() % 3 == 0) {
            gen_u(g, rnd() & 1 ? "nw_ecn" : "ip_ecn", MFF_NW_ECN, false);
        }
        if (rnd() % 3 == 0) {
            gen_u(g, "nw_ttl", MFF_NW_TTL, false);
        }
        if (rnd() % 3 == 0) {
            static const char *names[] = {"no", "yes", "first", "later",
                                          "not_later"};
            static const uint8_t v[] = {0, 1, 1, 3, 0}, mk[] = {1, 1, 3, 3,
                                                                2};
            int i = rnd() % 5;
            gen_add(g, "ip_frag=%s", names[i]);
            exp_set_u32(&g->m, MFF_IP_FRAG, v[i], mk[i]);
        }
    }
    if (t == ETH_TYPE_ARP) {
        if (rnd() & 1) {
            gen_u(g, "arp_op", MFF_ARP_OP, false);
        }
        if (rnd() & 1) {
            gen_ip4(g, rnd() & 1 ? "arp_spa" : "nw_src", MFF_ARP_SPA);
        }
        if (rnd() & 1) {
            gen_ip4(g, "arp_tpa", MFF_ARP_TPA);
        }
        if (rnd() & 1) {
            gen_mac(g, "arp_sha", MFF_ARP_SHA);
        }
        if (rnd() & 1) {
            gen_mac(g, "arp_tha", MFF_ARP_THA);
        }
    }
    if (proto == 6 || proto == 17 || proto == 132) {
        static const char *pfx[] = {"tcp", "udp", "sctp"};
        const char *p = pfx[proto == 6 ? 0 : proto == 17 ? 1 : 2];
        char name[16];
        if (rnd() & 1) {
            snprintf(name, sizeof name, "%s_src", rnd() & 1 ? "tp" : p);
            gen_u(g, name, MFF_TP_SRC, true);
        }
        if (rnd() & 1) {
            snprintf(name, sizeof name, "%s_dst", rnd() & 1 ? "tp" : p);
            gen_u(g, name, MFF_TP_DST, true);
        }
    }
    if (proto == 6 && rnd() % 3 == 0) {
        if (rnd() & 1) {
            gen_u(g, "tcp_flags", MFF_TCP_FLAGS, true);
        } else {
            static const char *names[] = {"fin", "syn", "rst", "psh", "ack",
                                          "urg", "ece", "cwr", "ns"};
            char fl[128] = "";
            uint32_t v = 0, mk = 0;
            for (int i = 0; i < 9; i++) {
                if (rnd() % 3 == 0) {
                    bool on = rnd() & 1;
                    strcat(fl, on ? "+" : "-");
                    strcat(fl, names[i]);
                    mk |= 1u << i;
                    v |= on ? 1u << i : 0;
                }
            }
            if (mk) {
                gen_add(g, "tcp_flags=%s", fl);
                exp_set_u32(&g->m, MFF_TCP_FLAGS, v, mk);
            }
        }
    }
    if (proto == 1 || proto == 58) {
        const char *v6 = proto == 58 ? "v6" : "";
        char name[16];
        if (rnd() & 1) {
            snprintf(name, sizeof name, "icmp%s_type", v6);
            gen_u(g, name, MFF_ICMP_TYPE, false);
        }
        if (rnd() & 1) {
            snprintf(name, sizeof name, "icmp%s_code", v6);
            gen_u(g, name, MFF_ICMP_CODE, false);
        }
    }
}

static struct of_action *
gen_new_action(struct gen *g, uint16_t type)
{
    struct of_action *a = &g->acts->a[g->acts->n++];
    memset(a, 0, sizeof *a);
    a->type = type;
    return a;
}

static void
gen_actions(struct gen *g)
{
    int n = rnd() % 6;
    uint16_t t = g->m.wc.dl_type ? ntohs(g->m.flow.dl_type) : 0;
    char b[16];

    g->acts = of_actions_alloc(8);
    gen_add(g, "actions=");
    if (!n && (rnd() & 1)) {
        g->len += sprintf(g->text + g->len, "drop");
        return;
    }
    for (int i = 0; i < n; i++) {
        struct of_action *a;
        char tmp[64];

        if (i) {
            g->len += sprintf(g->text + g->len, ",");
        }
        /* set_field needs its prerequisites in the match. */
        int op = rnd() % 12;
        if (op == 9 && t != ETH_TYPE_IP) {
            op = 11;
        } else if (op == 10 && t != ETH_TYPE_IPV6) {
            op = 11;
        }
        switch (op) {
        case 0: {
            uint32_t port = rnd() % OFPP_MAX;
            a = gen_new_action(g, OFPACT_OUTPUT);
            a->output.port = port;
            g->len += sprintf(g->text + g->len, rnd() & 1 ? "output:%s"
                              : "%s", num(b, port));
            break;
        }
        case 1: {
            static const char *names[] = {"NORMAL", "flood", "ALL",
                                          "in_port"};
            static const uint16_t types[] = {OFPACT_NORMAL, OFPACT_FLOOD,
                                             OFPACT_ALL, OFPACT_IN_PORT};
            int k = rnd() % 4;
            gen_new_action(g, types[k]);
            g->len += sprintf(g->text + g->len, "%s", names[k]);
            break;
        }
        case 2: {
            uint32_t v = rnd();
            struct in_addr ia = {.s_addr = htonl(v)};
            bool src = rnd() & 1;
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = src ? MFF_NW_SRC : MFF_NW_DST;
            a->set_field.syntax = OFSF_MOD;
            a->set_field.value.be32 = htonl(v);
            inet_ntop(AF_INET, &ia, tmp, sizeof tmp);
            g->len += sprintf(g->text + g->len, "mod_nw_%s:%s",
                              src ? "src" : "dst", tmp);
            break;
        }
        case 3: {
            bool src = rnd() & 1;
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = src ? MFF_DL_SRC : MFF_DL_DST;
            a->set_field.syntax = OFSF_MOD;
            rnd_bytes(a->set_field.value.mac, 6);
            fmt_mac(tmp, a->set_field.value.mac);
            g->len += sprintf(g->text + g->len, "mod_dl_%s:%s",
                              src ? "src" : "dst", tmp);
            break;
        }
        case 4: {
            uint16_t v = rnd();
            bool src = rnd() & 1;
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = src ? MFF_TP_SRC : MFF_TP_DST;
            a->set_field.syntax = OFSF_MOD;
            a->set_field.value.be16 = htons(v);
            g->len += sprintf(g->text + g->len, "mod_tp_%s:%s",
                              src ? "src" : "dst", num(b, v));
            break;
        }
        case 5: {
            uint16_t vid = rnd() & 0xfff;
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = MFF_DL_VLAN;
            a->set_field.syntax = OFSF_MOD;
            a->set_field.value.be16 = htons(vid);
            g->len += sprintf(g->text + g->len, "mod_vlan_vid:%u", vid);
            break;
        }
        case 6: {
            static const char *names[] = {"dec_ttl", "strip_vlan",
                                          "pop_vlan"};
            static const uint16_t types[] = {OFPACT_DEC_TTL,
                                             OFPACT_STRIP_VLAN,
                                             OFPACT_POP_VLAN};
            int k = rnd() % 3;
            gen_new_action(g, types[k]);
            g->len += sprintf(g->text + g->len, "%s", names[k]);
            break;
        }
        case 7: {
            uint16_t et = rnd() & 1 ? 0x8100 : 0x88a8;
            a = gen_new_action(g, OFPACT_PUSH_VLAN);
            a->push_vlan.ethertype = et;
            g->len += sprintf(g->text + g->len, "push_vlan:0x%x", et);
            break;
        }
        case 8: {
            uint8_t table = rnd() % OF_N_TABLES;
            uint32_t port = rnd() % 100 + 1;
            a = gen_new_action(g, OFPACT_RESUBMIT);
            switch (rnd() % 3) {
            case 0:
                a->resubmit.port = port;
                a->resubmit.table = OF_TABLE_NONE;
                g->len += sprintf(g->text + g->len, "resubmit:%u", port);
                break;
            case 1:
                a->resubmit.port = OFPP_IN_PORT;
                a->resubmit.table = table;
                g->len += sprintf(g->text + g->len, "resubmit(,%u)", table);
                break;
            default:
                a->resubmit.port = port;
                a->resubmit.table = table;
                g->len += sprintf(g->text + g->len, "resubmit(%u,%u)", port,
                                  table);
                break;
            }
            break;
        }
        case 9: {
            uint32_t v = rnd(), mk = rnd();
            struct in_addr ia = {.s_addr = htonl(v & mk)};
            struct in_addr im = {.s_addr = htonl(mk)};
            char ms[32];
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = MFF_NW_DST;
            a->set_field.syntax = OFSF_SET_FIELD;
            a->set_field.has_mask = 1;
            a->set_field.value.be32 = htonl(v & mk);
            a->set_field.mask.be32 = htonl(mk);
            inet_ntop(AF_INET, &ia, tmp, sizeof tmp);
            inet_ntop(AF_INET, &im, ms, sizeof ms);
            g->len += sprintf(g->text + g->len, "set_field:%s/%s->ip_dst",
                              tmp, ms);
            break;
        }
        case 10: {
            uint32_t v = rnd() & 0xfffff;
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = MFF_IPV6_LABEL;
            a->set_field.syntax = OFSF_SET_FIELD;
            a->set_field.value.be32 = htonl(v);
            g->len += sprintf(g->text + g->len, "set_field:%s->ipv6_label",
                              num(b, v));
            break;
        }
        default: {
            uint8_t dscp = rnd() & 63;
            a = gen_new_action(g, OFPACT_SET_FIELD);
            a->set_field.field = MFF_NW_TOS;
            a->set_field.syntax = OFSF_MOD;
            a->set_field.value.u8 = dscp << 2;
            g->len += sprintf(g->text + g->len, "mod_nw_tos:%u", dscp << 2);
            break;
        }
        }
    }
    if (rnd() % 4 == 0) {
        uint8_t table = rnd() % OF_N_TABLES;
        struct of_action *a = gen_new_action(g, OFPACT_GOTO_TABLE);
        a->goto_table.table = table;
        g->len += sprintf(g->text + g->len, "%sgoto_table:%u",
                          n ? "," : "", table);
    }
}

static void
test_random_round_trip(void **state)
{
    (void) state;
    for (int iter = 0; iter < 20000; iter++) {
        struct gen g;
        struct of_flow_spec s1, s2;
        char err[256], buf[2048];
        uint16_t prio = rnd();
        int error;

        memset(&g, 0, sizeof g);
        of_match_init_catchall(&g.m);
        gen_add(&g, "priority=%u", prio);
        gen_match(&g);
        gen_actions(&g);

        error = of_flow_parse(&s1, g.text, OFFC_ADD, err, sizeof err);
        if (error) {
            print_error("'%s': %s\n", g.text, err);
        }
        assert_int_equal(error, 0);
        if (memcmp(&s1.match, &g.m, sizeof g.m)) {
            print_error("'%s': match differs from the generator's\n",
                        g.text);
        }
        assert_memory_equal(&s1.match, &g.m, sizeof g.m);
        if (!of_actions_equal(s1.actions, g.acts)) {
            print_error("'%s': actions differ from the generator's\n",
                        g.text);
        }
        assert_true(of_actions_equal(s1.actions, g.acts));
        assert_int_equal(s1.priority, prio);

        /* parse(format(parse(x))) == parse(x). */
        of_flow_format(buf, sizeof buf, &s1);
        error = of_flow_parse(&s2, buf, OFFC_ADD, err, sizeof err);
        if (error) {
            print_error("'%s' -> '%s': %s\n", g.text, buf, err);
        }
        assert_int_equal(error, 0);
        if (memcmp(&s1.match, &s2.match, sizeof s1.match)) {
            print_error("'%s' -> '%s': match differs\n", g.text, buf);
        }
        assert_memory_equal(&s1.match, &s2.match, sizeof s1.match);
        assert_true(of_actions_equal(s1.actions, s2.actions));
        assert_int_equal(s2.priority, prio);

        /* Formatting is stable. */
        char buf2[2048];
        of_flow_format(buf2, sizeof buf2, &s2);
        assert_string_equal(buf, buf2);

        of_flow_spec_uninit(&s1);
        of_flow_spec_uninit(&s2);
        free(g.acts);
    }
}

/* Random garbage never crashes and never half-parses. */
static void
test_fuzz(void **state)
{
    (void) state;
    static const char alphabet[] = "ipvtcudp_=,:/()->0123456789abcdefx. +";
    for (int iter = 0; iter < 20000; iter++) {
        char text[64];
        size_t len = rnd() % (sizeof text - 1);
        struct of_flow_spec s;
        struct of_actions *a;
        char err[128];

        for (size_t i = 0; i < len; i++) {
            text[i] = alphabet[rnd() % (sizeof alphabet - 1)];
        }
        text[len] = '\0';
        if (of_flow_parse(&s, text, rnd() % 6, err, sizeof err)) {
            assert_null(s.actions);
            assert_true(err[0] != '\0');
        } else {
            of_flow_spec_uninit(&s);
        }
        if (!of_actions_parse(text, &a, err, sizeof err)) {
            free(a);
        } else {
            assert_null(a);
        }
    }
}

/* ---------------------------------------------------------------------
 * Groups (ovs-ofctl add-group syntax).
 */

static bool
group_equal(const struct of_group_spec *a, const struct of_group_spec *b)
{
    if (a->group_id != b->group_id || a->type != b->type
        || a->n_buckets != b->n_buckets) {
        return false;
    }
    for (size_t i = 0; i < a->n_buckets; i++) {
        const struct of_bucket *x = &a->buckets[i], *y = &b->buckets[i];

        if (x->weight != y->weight || x->watch_port != y->watch_port
            || x->watch_group != y->watch_group
            || !of_actions_equal(x->actions, y->actions)) {
            return false;
        }
    }
    return true;
}

static void
group_parse_ok(struct of_group_spec *g, const char *text, bool buckets)
{
    char err[256] = "";
    int error = of_group_parse(g, text, buckets, err, sizeof err);

    if (error) {
        print_error("group '%s': %s\n", text, err);
    }
    assert_int_equal(error, 0);
}

struct group_rt_case {
    const char *text;
    const char *format;         /* NULL: the text itself. */
};

static const struct group_rt_case group_rt_cases[] = {
    {"group_id=1,type=all,bucket=output:1,bucket=output:2",
     "group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2"},
    {"group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2",
     NULL},
    {"group_id=2,type=select,bucket=weight:10,actions=output:1,"
     "bucket=weight:30,watch_port:2,actions=mod_nw_src:1.2.3.4,output:2",
     NULL},
    {"group_id=2,type=select,bucket=weight:0,actions=output:1,"
     "bucket=output:2",
     "group_id=2,type=select,bucket=weight:0,actions=output:1,"
     "bucket=weight:1,actions=output:2"},
    {"group_id=3,type=indirect,bucket=actions=ct(commit,zone=5,table=3),"
     "resubmit(,2)",
     "group_id=3,type=indirect,bucket=actions=ct(commit,table=3,zone=5),"
     "resubmit(,2)"},
    {"group_id=3,type=indirect,bucket=ct(commit,exec(set_field:1->ct_mark)),"
     "resubmit(,2),output:3",
     "group_id=3,type=indirect,bucket=actions=ct(commit,exec(set_field:0x1->"
     "ct_mark)),resubmit(,2),output:3"},
    {"group_id=4,type=ff,bucket=watch_port:1,actions=output:1,"
     "bucket=watch_port:LOCAL,actions=output:LOCAL",
     NULL},
    {"group_id=4,type=ff,bucket=watch_port:65279,output:2,"
     "bucket=watch_port:local,resubmit(,2)",
     "group_id=4,type=ff,bucket=watch_port:65279,actions=output:2,"
     "bucket=watch_port:LOCAL,actions=resubmit(,2)"},
    {"group_id=5,type=all,bucket=watch_group:7,actions=output:1", NULL},
    {"group_id=6,type=all,bucket=bucket_id:3,actions=output:1",
     "group_id=6,type=all,bucket=actions=output:1"},
    {"group_id=7,type=all,bucket=actions=group:8,output:1,bucket=drop",
     "group_id=7,type=all,bucket=actions=group:8,output:1,"
     "bucket=actions=drop"},
    {"group_id=4294967040,type=indirect", NULL},
    {"group_id=0,type=select", NULL},
    {"type=all,group_id=9,bucket=output:1",
     "group_id=9,type=all,bucket=actions=output:1"},
};

static void
test_group_round_trip(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof group_rt_cases / sizeof *group_rt_cases;
         i++) {
        const struct group_rt_case *c = &group_rt_cases[i];
        const char *want = c->format ? c->format : c->text;
        struct of_group_spec g, g2;
        char buf[1024], buf2[1024];
        size_t n;

        group_parse_ok(&g, c->text, true);
        n = of_group_format(buf, sizeof buf, &g);
        assert_int_equal(n, strlen(buf));
        if (strcmp(buf, want)) {
            print_error("group '%s': formatted '%s'\n", c->text, buf);
        }
        assert_string_equal(buf, want);
        group_parse_ok(&g2, buf, true);
        if (!group_equal(&g, &g2)) {
            print_error("group '%s': '%s' parses differently\n", c->text,
                        buf);
            fail();
        }
        of_group_format(buf2, sizeof buf2, &g2);
        assert_string_equal(buf, buf2);
        of_group_spec_uninit(&g);
        of_group_spec_uninit(&g2);
        assert_null(g.buckets);
        assert_int_equal(g.n_buckets, 0);
    }

    /* The fields, decoded in full. */
    struct of_group_spec g;

    group_parse_ok(&g, "group_id=2,type=select,bucket=weight:10,"
                   "actions=output:1,bucket=weight:30,watch_port:2,"
                   "actions=mod_nw_src:1.2.3.4,output:2,"
                   "bucket=watch_port:LOCAL,output:3", true);
    assert_int_equal(g.group_id, 2);
    assert_int_equal(g.type, OFG_TYPE_SELECT);
    assert_int_equal(g.n_buckets, 3);
    assert_int_equal(g.buckets[0].weight, 10);
    assert_int_equal(g.buckets[0].watch_port, OFPP_NONE);
    assert_int_equal(g.buckets[0].watch_group, OFG_ANY);
    assert_int_equal(g.buckets[0].actions->n, 1);
    assert_int_equal(g.buckets[0].actions->a[0].type, OFPACT_OUTPUT);
    assert_int_equal(g.buckets[0].actions->a[0].output.port, 1);
    assert_int_equal(g.buckets[1].weight, 30);
    assert_int_equal(g.buckets[1].watch_port, 2);
    assert_int_equal(g.buckets[1].actions->n, 2);
    assert_int_equal(g.buckets[1].actions->a[0].type, OFPACT_SET_FIELD);
    assert_int_equal(g.buckets[1].actions->a[1].output.port, 2);
    assert_int_equal(g.buckets[2].weight, 1);          /* The default. */
    assert_int_equal(g.buckets[2].watch_port, OFPP_LOCAL);
    of_group_spec_uninit(&g);

    /* Commas inside parentheses stay in their bucket. */
    group_parse_ok(&g, "group_id=3,type=all,bucket=ct(commit,zone=5,"
                   "table=3),resubmit(,2),bucket=resubmit(1,2),output:4",
                   true);
    assert_int_equal(g.n_buckets, 2);
    assert_int_equal(g.buckets[0].actions->n, 2);
    assert_int_equal(g.buckets[0].actions->a[0].type, OFPACT_CT);
    assert_int_equal(g.buckets[0].actions->a[0].ct.exec.zone, 5);
    assert_int_equal(g.buckets[0].actions->a[0].ct.table, 3);
    assert_int_equal(g.buckets[0].actions->a[1].type, OFPACT_RESUBMIT);
    assert_int_equal(g.buckets[0].actions->a[1].resubmit.table, 2);
    assert_int_equal(g.buckets[1].actions->n, 2);
    assert_int_equal(g.buckets[1].actions->a[0].resubmit.port, 1);
    assert_int_equal(g.buckets[1].actions->a[1].output.port, 4);
    of_group_spec_uninit(&g);

    /* A group action. */
    group_parse_ok(&g, "group_id=7,type=indirect,bucket=group:4294967040",
                   true);
    assert_int_equal(g.buckets[0].actions->a[0].type, OFPACT_GROUP);
    assert_int_equal(g.buckets[0].actions->a[0].group.group_id, OFG_MAX_ID);
    of_group_spec_uninit(&g);

    /* Deletes: only group_id, "all" allowed. */
    group_parse_ok(&g, "group_id=all", false);
    assert_int_equal(g.group_id, OFG_ALL);
    assert_int_equal(g.n_buckets, 0);
    assert_null(g.buckets);
    of_group_spec_uninit(&g);
    group_parse_ok(&g, "group_id=17", false);
    assert_int_equal(g.group_id, 17);
    assert_int_equal(g.n_buckets, 0);
    of_group_spec_uninit(&g);

    /* Exactly OFG_MAX_BUCKETS buckets is fine. */
    char text[2048];
    size_t len = (size_t) snprintf(text, sizeof text,
                                   "group_id=1,type=all");
    for (int i = 0; i < OFG_MAX_BUCKETS; i++) {
        len += (size_t) snprintf(text + len, sizeof text - len,
                                 ",bucket=output:%d", i + 1);
    }
    group_parse_ok(&g, text, true);
    assert_int_equal(g.n_buckets, OFG_MAX_BUCKETS);
    assert_int_equal(g.buckets[OFG_MAX_BUCKETS - 1].actions->a[0].output.port,
                     OFG_MAX_BUCKETS);
    of_group_spec_uninit(&g);

    /* Truncated formatting: size - 1 characters, NUL-terminated,
     * strlen(buf) returned (ofp-parse.h). */
    char small[8];
    group_parse_ok(&g, "group_id=1,type=all,bucket=output:1", true);
    size_t got = of_group_format(small, sizeof small, &g);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(got, strlen(small));
    assert_string_equal(small, "group_i");
    of_group_spec_uninit(&g);
}

struct group_bad_case {
    const char *text;
    bool buckets;
    const char *msg;
};

static const struct group_bad_case group_bad_cases[] = {
    {"type=all,bucket=output:1", true, "group_id is required"},
    {"", true, "group_id is required"},
    {"group_id=1,bucket=output:1", true, "type is required"},
    {"group_id=1", true, "type is required"},
    {"group_id=1,type=fancy,bucket=output:1", true,
     "bad group type 'fancy'"},
    {"group_id=1,type=ALL", true, "bad group type 'ALL'"},
    {"group_id=1,type=select,bucket=weight:70000,actions=output:1", true,
     "bad weight value '70000'"},
    {"group_id=1,type=select,bucket=weight:x,actions=output:1", true,
     "bad weight value 'x'"},
    {"group_id=1,type=select,bucket=weight:-1,actions=output:1", true,
     "bad weight value"},
    {"group_id=1,type=ff,bucket=watch_port:bogus,actions=output:1", true,
     "bad watch_port 'bogus'"},
    {"group_id=1,type=all,bucket=watch_group:x,output:1", true,
     "bad watch_group value 'x'"},
    {"group_id=1,type=all,bucket=output:1,goto_table:2", true,
     "goto_table is not an action a bucket can take"},
    {"group_id=1,type=all,bucket=output:1,bucket=actions=goto_table:1",
     true, "goto_table is not an action a bucket can take"},
    {"group_id=1,type=all,foo=bar,bucket=output:1", true,
     "unknown group item 'foo'"},
    {"group_id=1,type=all,bucket=bogus", true, "unknown action 'bogus'"},
    {"group_id=1,type=all,bucket=output:1,bucket=resubmit(,2", true, ""},
    {"group_id=1,bucket=output:1", false, "buckets are not allowed here"},
    {"group_id=all,bucket=output:1", false, "buckets are not allowed here"},
    {"group_id=1,type=all", false, "unknown group item 'type'"},
    {"bucket=output:1", false, "unknown group item 'bucket'"},
    {"group_id=all,type=all,bucket=output:1", true, "bad group_id 'all'"},
    {"group_id=all,type=all", true, "bad group_id 'all'"},
    {"group_id=4294967041,type=all", true, "bad group_id '4294967041'"},
    {"group_id=4294967295", false, "bad group_id '4294967295'"},
    {"group_id=x,type=all", true, "bad group_id 'x'"},
    {"group_id=1,type=all,bucket=group:4294967041", true, "bad group id"},
};

static void
test_group_invalid(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof group_bad_cases / sizeof *group_bad_cases;
         i++) {
        const struct group_bad_case *c = &group_bad_cases[i];
        struct of_group_spec g;
        char err[256] = "";
        int error;

        memset(&g, 0x5a, sizeof g);
        error = of_group_parse(&g, c->text, c->buckets, err, sizeof err);
        if (error != EINVAL || !strstr(err, c->msg)) {
            print_error("group case '%s': error %d '%s'\n", c->text, error,
                        error ? err : "");
        }
        assert_int_equal(error, EINVAL);
        assert_non_null(strstr(err, c->msg));
        assert_true(err[0] != '\0');
        /* Nothing to free. */
        assert_int_equal(g.n_buckets, 0);
        assert_null(g.buckets);
    }

    /* More than OFG_MAX_BUCKETS buckets. */
    char text[2048], err[256];
    struct of_group_spec g;
    size_t len = (size_t) snprintf(text, sizeof text,
                                   "group_id=1,type=select");
    for (int i = 0; i <= OFG_MAX_BUCKETS; i++) {
        len += (size_t) snprintf(text + len, sizeof text - len,
                                 ",bucket=weight:%d,ct(commit,zone=%d),"
                                 "output:%d", i + 1, i, i + 1);
    }
    assert_int_equal(of_group_parse(&g, text, true, err, sizeof err),
                     EINVAL);
    assert_non_null(strstr(err, "more than 32 buckets"));
    assert_int_equal(g.n_buckets, 0);
    assert_null(g.buckets);

    /* NULL err is allowed. */
    assert_int_equal(of_group_parse(&g, "group_id=1,type=bogus", true, NULL,
                                    0), EINVAL);
}

/* Random groups: parse(format(parse(x))) == parse(x) and the format is
 * stable. */
static void
test_group_random_round_trip(void **state)
{
    static const char *const acts[] = {
        "output:1", "output:LOCAL", "mod_nw_src:1.2.3.4", "resubmit(,2)",
        "resubmit(3,4)", "ct(commit,table=3,zone=5)", "ct_clear",
        "dec_ttl", "push_vlan:0x8100", "pop_vlan", "group:9",
        "mod_vlan_vid:10", "NORMAL", "controller:64", "in_port",
        "ct(commit,exec(set_field:1->ct_mark))", "mod_dl_src:02:00:00:00:00:01",
    };
    static const char *const ports[] = { "1", "2", "LOCAL", "65279", "7" };

    (void) state;
    rng_state = 0x123456789abcdefull;
    for (int iter = 0; iter < 2000; iter++) {
        char text[4096], buf[4096], buf2[4096];
        struct of_group_spec g, g2;
        uint8_t type = rnd() % 4;
        size_t nb = type == OFG_TYPE_INDIRECT ? 1 : rnd() % 5;
        size_t len;

        len = (size_t) snprintf(text, sizeof text, "group_id=%u,type=%s",
                                rnd() % 1000,
                                (const char *[]) {"all", "select",
                                                  "indirect", "ff"}[type]);
        for (size_t b = 0; b < nb; b++) {
            len += (size_t) snprintf(text + len, sizeof text - len,
                                     ",bucket=");
            if (type == OFG_TYPE_SELECT && rnd() % 2) {
                len += (size_t) snprintf(text + len, sizeof text - len,
                                         "weight:%u,", rnd() % 65536);
            }
            if (type == OFG_TYPE_FF || rnd() % 3 == 0) {
                len += (size_t) snprintf(text + len, sizeof text - len,
                                         "watch_port:%s,",
                                         ports[rnd() % 5]);
            }
            if (rnd() % 2) {
                len += (size_t) snprintf(text + len, sizeof text - len,
                                         "actions=");
            }
            size_t na = rnd() % 4;
            for (size_t a = 0; a < na; a++) {
                len += (size_t) snprintf(text + len, sizeof text - len,
                                         "%s%s", a ? "," : "",
                                         acts[rnd() % (sizeof acts
                                                       / sizeof *acts)]);
            }
            if (!na) {
                len += (size_t) snprintf(text + len, sizeof text - len,
                                         "drop");
            }
        }
        assert_true(len < sizeof text);
        group_parse_ok(&g, text, true);
        assert_int_equal(g.type, type);
        assert_int_equal(g.n_buckets, nb);
        of_group_format(buf, sizeof buf, &g);
        group_parse_ok(&g2, buf, true);
        if (!group_equal(&g, &g2)) {
            print_error("'%s' -> '%s' parses differently\n", text, buf);
            fail();
        }
        of_group_format(buf2, sizeof buf2, &g2);
        assert_string_equal(buf, buf2);
        of_group_spec_uninit(&g);
        of_group_spec_uninit(&g2);
    }
}

/* Meters: ovs-ofctl add-meter's syntax, round trips and refusals; the
 * meter action first. */
static void
test_meters(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5",
         "meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5"},
        {"meter=2,bands=type=dscp_remark,rate=100,prec_level=1",
         "meter=2,kbps,bands=type=dscp_remark,rate=100,prec_level=1"},
        {"meter=3,kbps,bands=type=drop,rate=1000,type=dscp_remark,rate=500,"
         "prec_level=2",
         "meter=3,kbps,bands=type=drop,rate=1000,type=dscp_remark,rate=500,"
         "prec_level=2"},
    };
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"kbps,bands=type=drop,rate=1", "meter= is required"},
        {"meter=0,bands=type=drop,rate=1", "bad meter id '0'"},
        {"meter=1,kbps,pktps,bands=type=drop,rate=1", "kbps and pktps"},
        {"meter=1,bands=type=drop", "rate must be > 0"},
        {"meter=1,bands=type=foo,rate=1", "bad band type 'foo'"},
        {"meter=1,bands=rate=1", "a band starts with type="},
        {"meter=1,bands=type=drop,rate=1,type=drop,rate=2,type=drop,rate=3,"
         "type=drop,rate=4,type=drop,rate=5", "more than 4 bands"},
        {"meter=1,color=red", "unknown meter item 'color'"},
    };
    struct of_meter_spec m, m2;
    struct of_actions *acts;
    char buf[512], err[256];

    (void) state;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(of_meter_parse(&m, ok[i].in, true, err, sizeof err),
                         0);
        of_meter_format(buf, sizeof buf, &m);
        assert_string_equal(buf, ok[i].out);
        assert_int_equal(of_meter_parse(&m2, buf, true, err, sizeof err), 0);
        assert_memory_equal(&m, &m2, sizeof m);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(of_meter_parse(&m, bad[i].in, true, err, sizeof err),
                         EINVAL);
        if (!strstr(err, bad[i].msg)) {
            fail_msg("'%s': '%s', expected '%s'", bad[i].in, err,
                     bad[i].msg);
        }
    }
    assert_int_equal(of_meter_parse(&m, "meter=all", false, err, sizeof err),
                     0);
    assert_true(m.meter_id == OFM_ALL);
    assert_int_equal(of_meter_parse(&m, "meter=all", true, err, sizeof err),
                     EINVAL);
    assert_int_equal(of_actions_parse("meter:3,output:1", &acts, err,
                                      sizeof err), 0);
    assert_int_equal(acts->a[0].type, OFPACT_METER);
    assert_int_equal(acts->a[0].meter.meter_id, 3);
    of_actions_format(buf, sizeof buf, acts);
    assert_string_equal(buf, "meter:3,output:1");
    free(acts);
    assert_int_equal(of_actions_parse("output:1,meter:3", &acts, err,
                                      sizeof err), EINVAL);
    assert_non_null(strstr(err, "meter must be the first action"));
    assert_int_equal(of_actions_parse("meter:0", &acts, err, sizeof err),
                     EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_matches),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_group_round_trip),
        cmocka_unit_test(test_group_invalid),
        cmocka_unit_test(test_group_random_round_trip),
        cmocka_unit_test(test_meters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
