/* SPDX-License-Identifier: BSD-3-Clause */
/* ofp-msg.c: OpenFlow 1.3 messages on the wire (see ofp-msg.h). */
#include "ofp-msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "flow.h"
#include "meta-flow.h"

#define NX_VENDOR_ID 0x00002320u
#define ONF_VENDOR_ID OFP_ONF_EXPERIMENTER

static ofperr __attribute__((format(printf, 4, 5)))
fail(ofperr e, char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list args;

        va_start(args, fmt);
        vsnprintf(err, errsize, fmt, args);
        va_end(args);
    }
    return e;
}

/* ---- Big-endian access. ---- */

#define get16 ofm_get16
#define get32 ofm_get32
#define get64 ofm_get64

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

/* ---- ofbuf. ---- */

void
ofbuf_init(struct ofbuf *b)
{
    memset(b, 0, sizeof *b);
}

void
ofbuf_uninit(struct ofbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void
ofbuf_clear(struct ofbuf *b)
{
    b->len = 0;
    b->oom = false;
}

uint8_t *
ofbuf_put(struct ofbuf *b, const void *p, size_t n)
{
    uint8_t *dst;

    if (b->oom) {
        return NULL;
    }
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *data;

        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return NULL;
            }
            cap *= 2;
        }
        data = realloc(b->data, cap);
        if (!data) {
            b->oom = true;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    dst = b->data + b->len;
    if (p) {
        memcpy(dst, p, n);
    } else {
        memset(dst, 0, n);
    }
    b->len += n;
    return dst;
}

void
ofbuf_put_u8(struct ofbuf *b, uint8_t v)
{
    ofbuf_put(b, &v, 1);
}

void
ofbuf_put_be16(struct ofbuf *b, uint16_t v)
{
    uint8_t p[2];

    put16(p, v);
    ofbuf_put(b, p, 2);
}

void
ofbuf_put_be32(struct ofbuf *b, uint32_t v)
{
    uint8_t p[4];

    put32(p, v);
    ofbuf_put(b, p, 4);
}

void
ofbuf_put_be64(struct ofbuf *b, uint64_t v)
{
    ofbuf_put_be32(b, v >> 32);
    ofbuf_put_be32(b, v & 0xffffffffu);
}

void
ofbuf_pad8(struct ofbuf *b, size_t start)
{
    size_t n = (b->len - start) % 8;

    if (n) {
        ofbuf_put(b, NULL, 8 - n);
    }
}

/* ---- Headers. ---- */

void
ofm_header_read(const uint8_t *p, struct ofp_hdr *h)
{
    h->version = p[0];
    h->type = p[1];
    h->length = get16(p + 2);
    h->xid = get32(p + 4);
}

size_t
ofm_start(struct ofbuf *b, uint8_t type, uint32_t xid)
{
    size_t start = b->len;

    ofbuf_put_u8(b, OFP13_VERSION);
    ofbuf_put_u8(b, type);
    ofbuf_put_be16(b, 0);
    ofbuf_put_be32(b, xid);
    return start;
}

bool
ofm_finish(struct ofbuf *b, size_t start)
{
    size_t len = b->len - start;

    if (b->oom) {
        return false;
    }
    if (len > OFP_MAX_MSG_LEN) {
        b->oom = true;
        return false;
    }
    put16(b->data + start + 2, (uint16_t) len);
    return true;
}

#define OFPHET_VERSIONBITMAP 1

void
ofm_hello(struct ofbuf *b, uint32_t xid)
{
    size_t start = ofm_start(b, OFPT_HELLO, xid);

    ofbuf_put_be16(b, OFPHET_VERSIONBITMAP);
    ofbuf_put_be16(b, 8);
    ofbuf_put_be32(b, 1u << OFP13_VERSION);
    ofm_finish(b, start);
}

uint8_t
ofm_hello_negotiate(const uint8_t *msg, size_t len)
{
    const uint8_t *p = msg + OFP_HEADER_LEN;
    const uint8_t *end = msg + len;

    if (len < OFP_HEADER_LEN) {
        return 0;
    }
    /* A version bitmap, when present, decides (OpenFlow 1.3.1, 6.3.1). */
    while (end - p >= 4) {
        uint16_t type = get16(p), elen = get16(p + 2);

        if (elen < 4 || elen > end - p) {
            break;
        }
        if (type == OFPHET_VERSIONBITMAP && elen >= 8) {
            return (get32(p + 4) & (1u << OFP13_VERSION)) ? OFP13_VERSION
                                                            : 0;
        }
        p += (elen + 7) / 8 * 8;
    }
    return msg[0] >= OFP13_VERSION ? OFP13_VERSION : 0;
}

void
ofm_error(struct ofbuf *b, uint32_t xid, ofperr e, const uint8_t *req,
          size_t req_len)
{
    size_t start = ofm_start(b, OFPT_ERROR, xid);

    if (ofperr_type(e) == OFPERR_TYPE_ONF
        || ofperr_type(e) == OFPERR_TYPE_NX) {
        /* ofp_error_experimenter_msg: OFPET_EXPERIMENTER, exp_type,
         * experimenter. */
        ofbuf_put_be16(b, 0xffff);
        ofbuf_put_be16(b, ofperr_code(e));
        ofbuf_put_be32(b, ofperr_type(e) == OFPERR_TYPE_ONF
                          ? OFP_ONF_EXPERIMENTER : NX_VENDOR_ID);
    } else {
        ofbuf_put_be16(b, ofperr_type(e));
        ofbuf_put_be16(b, ofperr_code(e));
    }
    if (req) {
        ofbuf_put(b, req, req_len < 64 ? req_len : 64);
    }
    ofm_finish(b, start);
}

void
ofm_simple(struct ofbuf *b, uint8_t type, uint32_t xid, const uint8_t *body,
           size_t body_len)
{
    size_t start = ofm_start(b, type, xid);

    if (body_len) {
        ofbuf_put(b, body, body_len);
    }
    ofm_finish(b, start);
}

/* ---- Bundles. ---- */

bool
ofm_is_nx(const uint8_t *msg, size_t len)
{
    return len >= 12 && get32(msg + 8) == NX_VENDOR_ID;
}

/* An experimenter message's header: at least 16 bytes, experimenter
 * 'id'. */
static ofperr
exp_header_check(const uint8_t *msg, size_t len, uint32_t id, char *err,
                 size_t errsize)
{
    if (len < 16) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "experimenter: %zu bytes", len);
    }
    if (get32(msg + 8) != id) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_EXPERIMENTER),
                    err, errsize, "experimenter 0x%08x", get32(msg + 8));
    }
    return 0;
}

ofperr
ofm_nx_decode(const uint8_t *msg, size_t len, struct ofm_nx *nx,
              char *err, size_t errsize)
{
    ofperr e;

    memset(nx, 0, sizeof *nx);
    e = exp_header_check(msg, len, NX_VENDOR_ID, err, errsize);
    if (e) {
        return e;
    }
    nx->subtype = get32(msg + 12);
    if (nx->subtype == NXT_TLV_TABLE_REQUEST) {
        if (len != 16) {
            return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                        errsize, "tlv_table_request: %zu bytes", len);
        }
        return 0;
    }
    if (nx->subtype != NXT_TLV_TABLE_MOD) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_EXP_TYPE),
                    err, errsize, "Nicira message %u is not supported",
                    nx->subtype);
    }
    if (len < 24 || (len - 24) % 8) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "tlv_table_mod: %zu bytes", len);
    }
    nx->command = get16(msg + 16);
    if (nx->command > NXTTMC_CLEAR) {
        return fail(ofperr_nx(NXTTMFC_BAD_COMMAND), err, errsize,
                    "tlv_table_mod: command %u", nx->command);
    }
    if ((len - 24) / 8 > OFM_TLV_MAX_MAPS) {
        return fail(ofperr_nx(NXTTMFC_TABLE_FULL), err, errsize,
                    "tlv_table_mod: %zu mappings", (len - 24) / 8);
    }
    for (size_t off = 24; off < len; off += 8) {
        struct ofm_tlv_map *m = &nx->maps[nx->n_maps++];

        m->opt_class = get16(msg + off);
        m->type = msg[off + 2];
        m->len = msg[off + 3];
        m->index = get16(msg + off + 4);
        if (m->len % 4 || m->len > 124) {
            return fail(ofperr_nx(NXTTMFC_BAD_OPT_LEN), err, errsize,
                        "tlv_table_mod: option length %u", m->len);
        }
        if (m->index >= OFM_TLV_MAX_MAPS) {
            return fail(ofperr_nx(NXTTMFC_BAD_FIELD_IDX), err, errsize,
                        "tlv_table_mod: tun_metadata%u", m->index);
        }
    }
    return 0;
}

static void
nx_msg_start(struct ofbuf *b, uint32_t xid, uint32_t subtype, size_t *start)
{
    *start = ofm_start(b, OFPT_EXPERIMENTER, xid);
    ofbuf_put_be32(b, NX_VENDOR_ID);
    ofbuf_put_be32(b, subtype);
}

static void
put_tlv_maps(struct ofbuf *b, const struct ofm_tlv_map *maps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ofbuf_put_be16(b, maps[i].opt_class);
        ofbuf_put_u8(b, maps[i].type);
        ofbuf_put_u8(b, maps[i].len);
        ofbuf_put_be16(b, maps[i].index);
        ofbuf_put(b, NULL, 2);
    }
}

void
ofm_tlv_table_reply(struct ofbuf *b, uint32_t xid, uint32_t max_option_space,
                    uint16_t max_fields, const struct ofm_tlv_map *maps,
                    size_t n)
{
    size_t start;

    nx_msg_start(b, xid, NXT_TLV_TABLE_REPLY, &start);
    ofbuf_put_be32(b, max_option_space);
    ofbuf_put_be16(b, max_fields);
    ofbuf_put(b, NULL, 10);
    put_tlv_maps(b, maps, n);
    ofm_finish(b, start);
}

void
ofm_tlv_table_mod(struct ofbuf *b, uint32_t xid, uint16_t command,
                  const struct ofm_tlv_map *maps, size_t n)
{
    size_t start;

    nx_msg_start(b, xid, NXT_TLV_TABLE_MOD, &start);
    ofbuf_put_be16(b, command);
    ofbuf_put(b, NULL, 6);
    put_tlv_maps(b, maps, n);
    ofm_finish(b, start);
}

ofperr
ofm_bundle_decode(const uint8_t *msg, size_t len, struct ofm_bundle *bm,
                  char *err, size_t errsize)
{
    ofperr e;

    memset(bm, 0, sizeof *bm);
    e = exp_header_check(msg, len, OFP_ONF_EXPERIMENTER, err, errsize);
    if (e) {
        return e;
    }
    bm->exp_type = get32(msg + 12);
    if (bm->exp_type != ONFT_BUNDLE_CONTROL
        && bm->exp_type != ONFT_BUNDLE_ADD_MESSAGE) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_EXP_TYPE),
                    err, errsize, "ONF experimenter type %u", bm->exp_type);
    }
    if (len < 24) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "bundle message: %zu bytes", len);
    }
    bm->bundle_id = get32(msg + 16);
    bm->flags = get16(msg + 22);
    if (bm->exp_type == ONFT_BUNDLE_CONTROL) {
        bm->type = get16(msg + 20);
        return 0;
    }
    if (len < 32 || get16(msg + 26) < 8 || get16(msg + 26) > len - 24) {
        return fail(ofperr_bundle(OFPBFC_MSG_BAD_LEN), err, errsize,
                    "bundle add: the message's length %u in %zu bytes",
                    len >= 28 ? get16(msg + 26) : 0, len - 24);
    }
    bm->msg = msg + 24;
    bm->msg_len = get16(msg + 26);
    if (bm->msg[0] != msg[0]) {
        return fail(ofperr_bundle(OFPBFC_MSG_BAD_LEN), err, errsize,
                    "bundle add: a message of version %u", bm->msg[0]);
    }
    if (get32(bm->msg + 4) != get32(msg + 4)) {
        return fail(ofperr_bundle(OFPBFC_MSG_BAD_XID), err, errsize,
                    "bundle add: the message's xid differs from the add's");
    }
    return 0;
}

static size_t
bundle_start(struct ofbuf *b, uint32_t xid, uint32_t exp_type,
             uint32_t bundle_id)
{
    size_t start = ofm_start(b, OFPT_EXPERIMENTER, xid);

    ofbuf_put_be32(b, OFP_ONF_EXPERIMENTER);
    ofbuf_put_be32(b, exp_type);
    ofbuf_put_be32(b, bundle_id);
    return start;
}

void
ofm_bundle_ctrl(struct ofbuf *b, uint32_t xid, uint32_t bundle_id,
                uint16_t type, uint16_t flags)
{
    size_t start = bundle_start(b, xid, ONFT_BUNDLE_CONTROL, bundle_id);

    ofbuf_put_be16(b, type);
    ofbuf_put_be16(b, flags);
    ofm_finish(b, start);
}

void
ofm_bundle_add(struct ofbuf *b, uint32_t xid, uint32_t bundle_id,
               uint16_t flags, const uint8_t *m, size_t m_len)
{
    size_t start = bundle_start(b, xid, ONFT_BUNDLE_ADD_MESSAGE, bundle_id);
    size_t at;

    ofbuf_put_be16(b, 0);
    ofbuf_put_be16(b, flags);
    at = b->len;
    ofbuf_put(b, m, m_len);
    if (!b->oom && m_len >= 8) {
        put32(b->data + at + 4, xid);
    }
    ofm_finish(b, start);
}

/* ---- Ports. ---- */

bool
ofm_port_from_wire(uint32_t wire, uint32_t *port)
{
    if (wire < OFPP_MAX) {
        *port = wire;
        return true;
    }
    if (wire >= 0xfffffff8u) {
        *port = wire - 0xffff0000u;
        return true;
    }
    return false;
}

uint32_t
ofm_port_to_wire(uint32_t port)
{
    return port >= OFPP_MAX && port <= 0xffff ? port + 0xffff0000u : port;
}

/* ---- Fields. ---- */

#define OXM_CLASS_NXM0 0x0000
#define OXM_CLASS_NXM1 0x0001
#define OXM_CLASS_BASIC 0x8000
#define OXM_CLASS_PKT_REGS 0x8001
#define OXM_CLASS_EXP 0xffff

/* Wire prerequisites, stricter than sluice's where OpenFlow names one
 * protocol (OXM TCP_SRC needs ip_proto 6, not "TCP, UDP or SCTP"). */
enum wpre {
    WP_NONE, WP_VLAN, WP_IPV4, WP_IPV6, WP_IP, WP_ARP, WP_TCP, WP_UDP,
    WP_SCTP, WP_ICMP4, WP_ICMP6, WP_MF,
};

struct oxm_field {
    uint16_t cls;
    uint8_t field;
    uint8_t width;              /* Value bytes on the wire. */
    uint32_t exp;               /* Experimenter id (cls 0xffff). */
    enum mf_field_id id;
    enum wpre pre;
    const char *name;
    bool varlen;                /* NXM_NX_TUN_METADATA: any length 0-124
                                 * on the wire (see oxm_pull()); sent as
                                 * 'width'. */
};

/* Decoding: every wire form sluice takes.  Encoding: the first entry of
 * a field whose predicate holds (encode_order below). */
static const struct oxm_field oxm_fields[] = {
    { OXM_CLASS_BASIC, 0, 4, 0, MFF_IN_PORT, WP_NONE, "in_port" },
    { OXM_CLASS_NXM0, 0, 2, 0, MFF_IN_PORT, WP_NONE, "in_port" },
    { OXM_CLASS_BASIC, 3, 6, 0, MFF_DL_DST, WP_NONE, "eth_dst" },
    { OXM_CLASS_BASIC, 4, 6, 0, MFF_DL_SRC, WP_NONE, "eth_src" },
    { OXM_CLASS_BASIC, 5, 2, 0, MFF_DL_TYPE, WP_NONE, "eth_type" },
    { OXM_CLASS_BASIC, 6, 2, 0, MFF_VLAN_VID, WP_NONE, "vlan_vid" },
    { OXM_CLASS_BASIC, 7, 1, 0, MFF_DL_VLAN_PCP, WP_VLAN, "vlan_pcp" },
    { OXM_CLASS_NXM0, 4, 2, 0, MFF_VLAN_TCI, WP_NONE, "vlan_tci" },
    { OXM_CLASS_BASIC, 8, 1, 0, MFF_IP_DSCP, WP_IP, "ip_dscp" },
    { OXM_CLASS_BASIC, 9, 1, 0, MFF_NW_ECN, WP_IP, "ip_ecn" },
    { OXM_CLASS_BASIC, 10, 1, 0, MFF_NW_PROTO, WP_IP, "ip_proto" },
    { OXM_CLASS_NXM0, 5, 1, 0, MFF_NW_TOS, WP_IP, "nw_tos" },
    { OXM_CLASS_NXM1, 29, 1, 0, MFF_NW_TTL, WP_IP, "nw_ttl" },
    { OXM_CLASS_NXM1, 26, 1, 0, MFF_IP_FRAG, WP_IP, "ip_frag" },
    { OXM_CLASS_BASIC, 11, 4, 0, MFF_NW_SRC, WP_IPV4, "ipv4_src" },
    { OXM_CLASS_BASIC, 12, 4, 0, MFF_NW_DST, WP_IPV4, "ipv4_dst" },
    { OXM_CLASS_BASIC, 26, 16, 0, MFF_IPV6_SRC, WP_IPV6, "ipv6_src" },
    { OXM_CLASS_BASIC, 27, 16, 0, MFF_IPV6_DST, WP_IPV6, "ipv6_dst" },
    { OXM_CLASS_BASIC, 28, 4, 0, MFF_IPV6_LABEL, WP_IPV6, "ipv6_flabel" },
    { OXM_CLASS_BASIC, 13, 2, 0, MFF_TP_SRC, WP_TCP, "tcp_src" },
    { OXM_CLASS_BASIC, 14, 2, 0, MFF_TP_DST, WP_TCP, "tcp_dst" },
    { OXM_CLASS_BASIC, 15, 2, 0, MFF_TP_SRC, WP_UDP, "udp_src" },
    { OXM_CLASS_BASIC, 16, 2, 0, MFF_TP_DST, WP_UDP, "udp_dst" },
    { OXM_CLASS_BASIC, 17, 2, 0, MFF_TP_SRC, WP_SCTP, "sctp_src" },
    { OXM_CLASS_BASIC, 18, 2, 0, MFF_TP_DST, WP_SCTP, "sctp_dst" },
    { OXM_CLASS_BASIC, 19, 1, 0, MFF_ICMP_TYPE, WP_ICMP4, "icmpv4_type" },
    { OXM_CLASS_BASIC, 20, 1, 0, MFF_ICMP_CODE, WP_ICMP4, "icmpv4_code" },
    { OXM_CLASS_BASIC, 29, 1, 0, MFF_ICMP_TYPE, WP_ICMP6, "icmpv6_type" },
    { OXM_CLASS_BASIC, 30, 1, 0, MFF_ICMP_CODE, WP_ICMP6, "icmpv6_code" },
    { OXM_CLASS_EXP, 42, 2, ONF_VENDOR_ID, MFF_TCP_FLAGS, WP_TCP,
      "tcp_flags" },
    { OXM_CLASS_NXM1, 34, 2, 0, MFF_TCP_FLAGS, WP_TCP, "tcp_flags" },
    { OXM_CLASS_BASIC, 21, 2, 0, MFF_ARP_OP, WP_ARP, "arp_op" },
    { OXM_CLASS_BASIC, 22, 4, 0, MFF_ARP_SPA, WP_ARP, "arp_spa" },
    { OXM_CLASS_BASIC, 23, 4, 0, MFF_ARP_TPA, WP_ARP, "arp_tpa" },
    { OXM_CLASS_BASIC, 24, 6, 0, MFF_ARP_SHA, WP_ARP, "arp_sha" },
    { OXM_CLASS_BASIC, 25, 6, 0, MFF_ARP_THA, WP_ARP, "arp_tha" },
    { OXM_CLASS_BASIC, 2, 8, 0, MFF_METADATA, WP_NONE, "metadata" },
    { OXM_CLASS_BASIC, 38, 8, 0, MFF_TUN_ID, WP_NONE, "tunnel_id" },
    { OXM_CLASS_NXM1, 16, 8, 0, MFF_TUN_ID, WP_NONE, "tun_id" },
    { OXM_CLASS_NXM1, 31, 4, 0, MFF_TUN_SRC, WP_NONE, "tun_src" },
    { OXM_CLASS_NXM1, 32, 4, 0, MFF_TUN_DST, WP_NONE, "tun_dst" },
    { OXM_CLASS_NXM1, 109, 16, 0, MFF_TUN_IPV6_SRC, WP_NONE,
      "tun_ipv6_src" },
    { OXM_CLASS_NXM1, 110, 16, 0, MFF_TUN_IPV6_DST, WP_NONE,
      "tun_ipv6_dst" },
    { OXM_CLASS_NXM1, 104, 2, 0, MFF_TUN_FLAGS, WP_NONE, "tun_flags" },
#define OXMD(I) { OXM_CLASS_NXM1, 40 + I, 8, 0, MFF_TUN_METADATA0 + I,     \
                  WP_NONE, "tun_metadata" #I, true },
    OXMD(0) OXMD(1) OXMD(2) OXMD(3) OXMD(4) OXMD(5) OXMD(6) OXMD(7)
#undef OXMD
    { OXM_CLASS_NXM1, 105, 4, 0, MFF_CT_STATE, WP_NONE, "ct_state" },
    { OXM_CLASS_NXM1, 106, 2, 0, MFF_CT_ZONE, WP_NONE, "ct_zone" },
    { OXM_CLASS_NXM1, 107, 4, 0, MFF_CT_MARK, WP_NONE, "ct_mark" },
    { OXM_CLASS_NXM1, 108, 16, 0, MFF_CT_LABEL, WP_NONE, "ct_label" },
    { OXM_CLASS_NXM1, 119, 1, 0, MFF_CT_NW_PROTO, WP_MF, "ct_nw_proto" },
    { OXM_CLASS_NXM1, 120, 4, 0, MFF_CT_NW_SRC, WP_MF, "ct_nw_src" },
    { OXM_CLASS_NXM1, 121, 4, 0, MFF_CT_NW_DST, WP_MF, "ct_nw_dst" },
    { OXM_CLASS_NXM1, 122, 16, 0, MFF_CT_IPV6_SRC, WP_MF, "ct_ipv6_src" },
    { OXM_CLASS_NXM1, 123, 16, 0, MFF_CT_IPV6_DST, WP_MF, "ct_ipv6_dst" },
    { OXM_CLASS_NXM1, 124, 2, 0, MFF_CT_TP_SRC, WP_MF, "ct_tp_src" },
    { OXM_CLASS_NXM1, 125, 2, 0, MFF_CT_TP_DST, WP_MF, "ct_tp_dst" },
#define OXREG(I) { OXM_CLASS_NXM1, I, 4, 0, MFF_REG0 + I, WP_NONE, "reg" #I },
    OXREG(0) OXREG(1) OXREG(2) OXREG(3) OXREG(4) OXREG(5) OXREG(6)
    OXREG(7) OXREG(8) OXREG(9) OXREG(10) OXREG(11) OXREG(12) OXREG(13)
    OXREG(14) OXREG(15)
#undef OXREG
#define OXXREG(I) { OXM_CLASS_PKT_REGS, I, 8, 0, MFF_XREG0 + I, WP_NONE,   \
                    "xreg" #I },
    OXXREG(0) OXXREG(1) OXXREG(2) OXXREG(3) OXXREG(4) OXXREG(5)
    OXXREG(6) OXXREG(7)
#undef OXXREG
#define OXXXREG(I) { OXM_CLASS_NXM1, 111 + I, 16, 0, MFF_XXREG0 + I,       \
                     WP_NONE, "xxreg" #I },
    OXXXREG(0) OXXXREG(1) OXXXREG(2) OXXXREG(3)
#undef OXXXREG
    /* The NXM forms of fields OpenFlow has its own OXM for: taken (a
     * load or move names fields by them), never written (the OXM forms
     * above come first). */
    { OXM_CLASS_NXM0, 1, 6, 0, MFF_DL_DST, WP_NONE, "eth_dst" },
    { OXM_CLASS_NXM0, 2, 6, 0, MFF_DL_SRC, WP_NONE, "eth_src" },
    { OXM_CLASS_NXM0, 3, 2, 0, MFF_DL_TYPE, WP_NONE, "eth_type" },
    { OXM_CLASS_NXM0, 6, 1, 0, MFF_NW_PROTO, WP_IP, "ip_proto" },
    { OXM_CLASS_NXM0, 7, 4, 0, MFF_NW_SRC, WP_IPV4, "ip_src" },
    { OXM_CLASS_NXM0, 8, 4, 0, MFF_NW_DST, WP_IPV4, "ip_dst" },
    { OXM_CLASS_NXM0, 9, 2, 0, MFF_TP_SRC, WP_TCP, "tcp_src" },
    { OXM_CLASS_NXM0, 10, 2, 0, MFF_TP_DST, WP_TCP, "tcp_dst" },
    { OXM_CLASS_NXM0, 11, 2, 0, MFF_TP_SRC, WP_UDP, "udp_src" },
    { OXM_CLASS_NXM0, 12, 2, 0, MFF_TP_DST, WP_UDP, "udp_dst" },
    { OXM_CLASS_NXM0, 13, 1, 0, MFF_ICMP_TYPE, WP_ICMP4, "icmp_type" },
    { OXM_CLASS_NXM0, 14, 1, 0, MFF_ICMP_CODE, WP_ICMP4, "icmp_code" },
    { OXM_CLASS_NXM0, 15, 2, 0, MFF_ARP_OP, WP_ARP, "arp_op" },
    { OXM_CLASS_NXM0, 16, 4, 0, MFF_ARP_SPA, WP_ARP, "arp_spa" },
    { OXM_CLASS_NXM0, 17, 4, 0, MFF_ARP_TPA, WP_ARP, "arp_tpa" },
    { OXM_CLASS_NXM1, 17, 6, 0, MFF_ARP_SHA, WP_ARP, "arp_sha" },
    { OXM_CLASS_NXM1, 18, 6, 0, MFF_ARP_THA, WP_ARP, "arp_tha" },
    { OXM_CLASS_NXM1, 19, 16, 0, MFF_IPV6_SRC, WP_IPV6, "ipv6_src" },
    { OXM_CLASS_NXM1, 20, 16, 0, MFF_IPV6_DST, WP_IPV6, "ipv6_dst" },
    { OXM_CLASS_NXM1, 21, 1, 0, MFF_ICMP_TYPE, WP_ICMP6, "icmpv6_type" },
    { OXM_CLASS_NXM1, 22, 1, 0, MFF_ICMP_CODE, WP_ICMP6, "icmpv6_code" },
    { OXM_CLASS_NXM1, 27, 4, 0, MFF_IPV6_LABEL, WP_IPV6, "ipv6_label" },
    { OXM_CLASS_NXM1, 28, 1, 0, MFF_NW_ECN, WP_IP, "ip_ecn" },
};
#define N_OXM_FIELDS (sizeof oxm_fields / sizeof *oxm_fields)

static const struct oxm_field *
oxm_find(uint16_t cls, uint8_t field, uint32_t exp)
{
    for (size_t i = 0; i < N_OXM_FIELDS; i++) {
        const struct oxm_field *f = &oxm_fields[i];

        if (f->cls == cls && f->field == field
            && (cls != OXM_CLASS_EXP || f->exp == exp)) {
            return f;
        }
    }
    return NULL;
}

/* The wire form that writes sluice field 'id' (the first entry whose
 * predicate 'match' satisfies), or NULL. */
static bool wpre_ok(enum wpre pre, const struct mf_field *mf,
                    const struct flow *flow, const struct flow *wc);

static const struct oxm_field *
oxm_for_field(enum mf_field_id id, const struct flow *flow,
              const struct flow *wc)
{
    for (size_t i = 0; i < N_OXM_FIELDS; i++) {
        const struct oxm_field *f = &oxm_fields[i];

        if (f->id == id && (!flow || wpre_ok(f->pre, mf_from_id(id), flow,
                                             wc))) {
            return f;
        }
    }
    return NULL;
}

static bool
fixed16(uint16_t v_be, uint16_t m_be, uint16_t want)
{
    return m_be == 0xffff && ntohs(v_be) == want;
}

static bool
is_ip(const struct flow *f, const struct flow *wc, uint16_t type)
{
    return fixed16(f->dl_type, wc->dl_type, type);
}

static bool
is_proto(const struct flow *f, const struct flow *wc, uint8_t proto)
{
    return (is_ip(f, wc, ETH_TYPE_IP) || is_ip(f, wc, ETH_TYPE_IPV6))
           && wc->nw_proto == 0xff && f->nw_proto == proto;
}

static bool
wpre_ok(enum wpre pre, const struct mf_field *mf, const struct flow *f,
        const struct flow *wc)
{
    switch (pre) {
    case WP_NONE:
        return true;
    case WP_VLAN:
        return (ntohs(wc->vlan_tci) & FLOW_VLAN_CFI)
               && (ntohs(f->vlan_tci) & FLOW_VLAN_CFI);
    case WP_IPV4:
        return is_ip(f, wc, ETH_TYPE_IP);
    case WP_IPV6:
        return is_ip(f, wc, ETH_TYPE_IPV6);
    case WP_IP:
        return is_ip(f, wc, ETH_TYPE_IP) || is_ip(f, wc, ETH_TYPE_IPV6);
    case WP_ARP:
        return is_ip(f, wc, ETH_TYPE_ARP);
    case WP_TCP:
        return is_proto(f, wc, 6);
    case WP_UDP:
        return is_proto(f, wc, 17);
    case WP_SCTP:
        return is_proto(f, wc, 132);
    case WP_ICMP4:
        return is_ip(f, wc, ETH_TYPE_IP) && wc->nw_proto == 0xff
               && f->nw_proto == 1;
    case WP_ICMP6:
        return is_ip(f, wc, ETH_TYPE_IPV6) && wc->nw_proto == 0xff
               && f->nw_proto == 58;
    case WP_MF:
        return mf_prereqs_ok(mf, f, NULL);
    }
    return false;
}

/* Reads a big-endian integer of 'n' (1..8) bytes. */
static uint64_t
get_uint(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void
put_uint(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = n; i-- > 0;) {
        p[i] = v & 0xff;
        v >>= 8;
    }
}

/* The wire bytes (width f->width) of a field view <-> union mf_value.
 * in_port maps port numbers (OXM's 32-bit form; NXM_OF_IN_PORT's 16 bits
 * are sluice's own numbering); 1/2/4-byte views are integers. */
static ofperr
wire_to_value(const struct oxm_field *f, const struct mf_field *mf,
              const uint8_t *w, bool is_mask, union mf_value *v)
{
    memset(v, 0, sizeof *v);
    if (mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16) {
        memcpy(v->bytes, w, mf->n_bytes);
        return 0;
    }
    uint64_t x = get_uint(w, f->width);
    if (mf->id == MFF_IN_PORT && !is_mask) {
        uint32_t port;

        if (f->width == 2 && x >= OFPP_MAX) {
            x += 0xffff0000u;   /* NXM's reserved ports, as OXM's. */
        }
        if (!ofm_port_from_wire((uint32_t) x, &port)) {
            return ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_VALUE);
        }
        x = port;
    }
    if (x > mf_view_max(mf)) {
        return ofperr_make(OFPET_BAD_MATCH,
                           is_mask ? OFPBMC_BAD_MASK : OFPBMC_BAD_VALUE);
    }
    mf_value_from_u32(mf, (uint32_t) x, v);
    return 0;
}

static void
value_to_wire(const struct oxm_field *f, const struct mf_field *mf,
              const union mf_value *v, bool is_mask, uint8_t *w)
{
    if (mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16) {
        memcpy(w, v->bytes, mf->n_bytes);
        return;
    }
    uint32_t x = mf_value_to_u32(mf, v);
    if (mf->id == MFF_IN_PORT && !is_mask) {
        x = ofm_port_to_wire(x);
        if (f->width == 2) {
            x &= 0xffff;        /* NXM's 16 bits (a reserved port). */
        }
    }
    put_uint(w, f->width, x);
}

static bool
value_all_ones(const struct mf_field *mf, const union mf_value *m)
{
    if (mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16) {
        for (size_t i = 0; i < mf->n_bytes; i++) {
            if (m->bytes[i] != 0xff) {
                return false;
            }
        }
        return true;
    }
    return mf_value_to_u32(mf, m) == mf_view_max(mf);
}

static void
value_and(const struct mf_field *mf, union mf_value *v,
          const union mf_value *m)
{
    if (mf->n_bytes == 6 || mf->n_bytes == 8 || mf->n_bytes == 16) {
        for (size_t i = 0; i < mf->n_bytes; i++) {
            v->bytes[i] &= m->bytes[i];
        }
    } else {
        mf_value_from_u32(mf, mf_value_to_u32(mf, v) & mf_value_to_u32(mf, m),
                          v);
    }
}

/* One OXM TLV at 'p' with 'avail' bytes: its field, value and mask (all
 * ones when it has none), and its total length. */
struct oxm_tlv {
    const struct oxm_field *f;
    const struct mf_field *mf;
    union mf_value value, mask;
    bool has_mask;
    bool load;                  /* From NXAST_REG_LOAD: some bits of any
                                 * writable field. */
    size_t len;
};

/* A GENEVE option field's value (and mask) of any length up to 124 bytes,
 * as Open vSwitch sends them: ovs-ofctl writes the fewest bytes that hold
 * the value (a zero exact value in none), a switch the option's length.
 * Right-aligned into the field's 8 bytes (mf_field tun_metadata); bytes
 * beyond those must be zero (Open vSwitch keeps the leading bytes of a
 * value longer than the option; sluice refuses it, and a value longer than
 * its option's mapped length, in sw_flow_mods()). */
static ofperr
oxm_pull_varlen(const uint8_t *w, uint8_t plen, struct oxm_tlv *t,
                char *err, size_t errsize)
{
    size_t vl = t->has_mask ? plen / 2u : plen;
    size_t fw = t->f->width;

    if (t->has_mask && plen % 2) {
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                    errsize, "OXM %s: masked, %u bytes (not even)",
                    t->f->name, plen);
    }
    for (size_t part = 0; part < (t->has_mask ? 2u : 1u); part++) {
        const uint8_t *src = w + part * vl;
        union mf_value *v = part ? &t->mask : &t->value;

        memset(v, 0, sizeof *v);
        for (size_t i = 0; vl > fw && i < vl - fw; i++) {
            if (src[i]) {
                return fail(ofperr_make(OFPET_BAD_MATCH,
                                        part ? OFPBMC_BAD_MASK
                                             : OFPBMC_BAD_VALUE),
                            err, errsize, "OXM %s: %zu bytes, more than "
                            "the %zu a GENEVE option holds here",
                            t->f->name, vl, fw);
            }
        }
        if (vl > fw) {
            memcpy(v->bytes, src + vl - fw, fw);
        } else {
            memcpy(v->bytes + fw - vl, src, vl);
        }
    }
    if (!t->has_mask) {
        memset(t->mask.bytes, 0xff, fw);
    }
    value_and(t->mf, &t->value, &t->mask);
    return 0;
}

static ofperr
oxm_pull(const uint8_t *p, size_t avail, struct oxm_tlv *t, char *err,
         size_t errsize)
{
    uint32_t hdr, exp = 0;
    uint16_t cls;
    uint8_t field, plen;
    size_t hlen = 4;
    ofperr e;

    if (avail < 4) {
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                    errsize, "OXM header truncated");
    }
    hdr = get32(p);
    cls = hdr >> 16;
    field = (hdr >> 9) & 0x7f;
    t->load = false;
    t->has_mask = (hdr >> 8) & 1;
    plen = hdr & 0xff;
    if (cls == OXM_CLASS_EXP) {
        if (avail < 8 || plen < 4) {
            return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                        errsize, "experimenter OXM truncated");
        }
        exp = get32(p + 4);
        hlen = 8;
        plen -= 4;
    }
    if (plen > avail - hlen) {
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                    errsize, "OXM field 0x%04x:%u longer (%u bytes) than "
                    "what is left (%zu)", cls, field, plen, avail - hlen);
    }
    t->len = hlen + plen;
    t->f = oxm_find(cls, field, exp);
    if (!t->f) {
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_FIELD), err,
                    errsize, "OXM field class 0x%04x field %u%s is not "
                    "supported", cls, field,
                    cls == OXM_CLASS_EXP ? " (experimenter)" : "");
    }
    t->mf = mf_from_id(t->f->id);
    if (t->f->varlen) {
        return oxm_pull_varlen(p + hlen, plen, t, err, errsize);
    }
    if (plen != (t->has_mask ? 2 : 1) * t->f->width) {
        /* As Open vSwitch, which knows a field by its whole header:
         * another length is another (unknown) field, or a mask of the
         * wrong size. */
        return fail(ofperr_make(OFPET_BAD_MATCH,
                                t->has_mask && plen == t->f->width
                                ? OFPBMC_BAD_WILDCARDS : OFPBMC_BAD_FIELD),
                    err, errsize, "OXM %s: %u bytes, expected %u",
                    t->f->name, plen, (t->has_mask ? 2 : 1) * t->f->width);
    }
    e = wire_to_value(t->f, t->mf, p + hlen, false, &t->value);
    if (e) {
        return fail(e, err, errsize, "OXM %s: value out of range",
                    t->f->name);
    }
    if (t->has_mask) {
        e = wire_to_value(t->f, t->mf, p + hlen + t->f->width, true,
                          &t->mask);
        if (e) {
            return fail(e, err, errsize, "OXM %s: mask out of range",
                        t->f->name);
        }
    } else {
        memset(&t->mask, 0, sizeof t->mask);
        if (t->mf->n_bytes == 6 || t->mf->n_bytes == 8
            || t->mf->n_bytes == 16) {
            memset(t->mask.bytes, 0xff, t->mf->n_bytes);
        } else {
            mf_value_from_u32(t->mf, mf_view_max(t->mf), &t->mask);
        }
    }
    value_and(t->mf, &t->value, &t->mask);
    return 0;
}

ofperr
ofm_match_decode(const uint8_t *p, size_t len, struct of_match *m,
                 size_t *consumed, char *err, size_t errsize)
{
    const struct oxm_field *seen[N_OXM_FIELDS];
    uint64_t seen_ids[2] = { 0, 0 };
    size_t n_seen = 0;
    uint16_t type, mlen;
    size_t off;

    of_match_init_catchall(m);
    if (len < 4) {
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                    errsize, "match truncated");
    }
    type = get16(p);
    mlen = get16(p + 2);
    if (type != 1) {
        /* (Type 0, OpenFlow 1.1's standard match, is 88 bytes: Open
         * vSwitch answers BAD_LEN for another length.) */
        return fail(ofperr_make(OFPET_BAD_MATCH, type == 0 && mlen != 88
                                                 ? OFPBMC_BAD_LEN
                                                 : OFPBMC_BAD_TYPE),
                    err, errsize, "match type %u (only OXM, 1)", type);
    }
    if (mlen < 4) {
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                    errsize, "match length %u", mlen);
    }
    if ((size_t) (mlen + 7) / 8 * 8 > len) {
        /* Past the message: a message-level length fault, as in Open
         * vSwitch. */
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "match length %u does not fit in %zu bytes",
                    mlen, len);
    }
    for (off = 4; off < mlen;) {
        struct oxm_tlv t;
        ofperr e;

        if (mlen - off >= 4
            && 4u + (get32(p + off) & 0xff) > (size_t) (mlen - off)) {
            return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                        errsize, "OXM field 0x%08x runs past the match",
                        get32(p + off));
        }
        e = oxm_pull(p + off, mlen - off, &t, err, errsize);

        if (e) {
            return e;
        }
        if (seen_ids[t.f->id / 64] & (1ull << (t.f->id % 64))) {
            return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_DUP_FIELD), err,
                        errsize, "OXM %s given twice", t.f->name);
        }
        if (t.has_mask && !t.mf->maskable && !value_all_ones(t.mf, &t.mask)) {
            return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_MASK), err,
                        errsize, "OXM %s cannot be masked", t.f->name);
        }
        if ((t.f->id == MFF_VLAN_VID || t.f->id == MFF_VLAN_TCI
             || t.f->id == MFF_DL_VLAN_PCP)
            && (seen_ids[0] & ((1ull << MFF_VLAN_TCI)
                               | (t.f->id == MFF_VLAN_TCI
                                  ? (1ull << MFF_VLAN_VID)
                                    | (1ull << MFF_DL_VLAN_PCP) : 0)))) {
            return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_DUP_FIELD), err,
                        errsize, "OXM %s and vlan_tci overlap", t.f->name);
        }
        seen_ids[t.f->id / 64] |= 1ull << (t.f->id % 64);
        seen[n_seen++] = t.f;
        mf_set(t.mf, &t.value, &t.mask, &m->flow);
        {
            /* The mask goes into wc as a value of the view. */
            union mf_value cur;

            mf_get(t.mf, &m->wc, &cur);
            if (t.mf->n_bytes == 6 || t.mf->n_bytes == 8
                || t.mf->n_bytes == 16) {
                for (size_t i = 0; i < t.mf->n_bytes; i++) {
                    cur.bytes[i] |= t.mask.bytes[i];
                }
            } else {
                mf_value_from_u32(t.mf, mf_value_to_u32(t.mf, &cur)
                                        | mf_value_to_u32(t.mf, &t.mask),
                                  &cur);
            }
            mf_set(t.mf, &cur, NULL, &m->wc);
        }
        if (mf_tun_metadata_slot(t.f->id) >= 0
            && !mf_is_wildcarded(t.mf, &m->wc)) {
            /* Matching an option's value means it is present (as the
             * text syntax has it, ofp-parse.c). */
            uint8_t bit = (uint8_t) (1u << mf_tun_metadata_slot(t.f->id));

            m->flow.tunnel.md_present |= bit;
            m->wc.tunnel.md_present |= bit;
        }
        off += t.len;
    }
    for (size_t i = 0; i < n_seen; i++) {
        const struct oxm_field *f = seen[i];

        if (!wpre_ok(f->pre, mf_from_id(f->id), &m->flow, &m->wc)) {
            return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_PREREQ), err,
                        errsize, "OXM %s: its prerequisites are not in the "
                        "match", f->name);
        }
    }
    *consumed = (size_t) (mlen + 7) / 8 * 8;
    return 0;
}

static void
oxm_put(struct ofbuf *b, const struct oxm_field *f, const union mf_value *v,
        const union mf_value *mask)
{
    const struct mf_field *mf = mf_from_id(f->id);
    bool has_mask = mask && !value_all_ones(mf, mask);
    unsigned plen = f->width * (has_mask ? 2 : 1)
                    + (f->cls == OXM_CLASS_EXP ? 4 : 0);
    uint8_t w[32];

    ofbuf_put_be32(b, (uint32_t) f->cls << 16 | (uint32_t) f->field << 9
                      | (has_mask ? 0x100u : 0) | plen);
    if (f->cls == OXM_CLASS_EXP) {
        ofbuf_put_be32(b, f->exp);
    }
    memset(w, 0, sizeof w);
    value_to_wire(f, mf, v, false, w);
    if (has_mask) {
        value_to_wire(f, mf, mask, true, w + f->width);
    }
    ofbuf_put(b, w, plen - (f->cls == OXM_CLASS_EXP ? 4 : 0));
}

/* The fields a match is written with, in order; each bit of struct flow
 * belongs to one of them (aliases left out; vlan_tci is written as
 * vlan_vid + vlan_pcp when it can be). */
static const enum mf_field_id encode_order[] = {
    MFF_IN_PORT, MFF_METADATA,
    MFF_REG0, MFF_REG0 + 1, MFF_REG0 + 2, MFF_REG0 + 3, MFF_REG0 + 4,
    MFF_REG0 + 5, MFF_REG0 + 6, MFF_REG0 + 7, MFF_REG0 + 8, MFF_REG0 + 9,
    MFF_REG0 + 10, MFF_REG0 + 11, MFF_REG0 + 12, MFF_REG0 + 13,
    MFF_REG0 + 14, MFF_REG15,
    MFF_TUN_ID, MFF_TUN_SRC, MFF_TUN_DST,
    MFF_TUN_IPV6_SRC, MFF_TUN_IPV6_DST, MFF_TUN_FLAGS,
    MFF_TUN_METADATA0, MFF_TUN_METADATA1, MFF_TUN_METADATA2,
    MFF_TUN_METADATA3, MFF_TUN_METADATA4, MFF_TUN_METADATA5,
    MFF_TUN_METADATA6, MFF_TUN_METADATA7,
    MFF_CT_STATE, MFF_CT_ZONE, MFF_CT_MARK, MFF_CT_LABEL, MFF_CT_NW_PROTO,
    MFF_CT_NW_SRC, MFF_CT_NW_DST, MFF_CT_IPV6_SRC, MFF_CT_IPV6_DST,
    MFF_CT_TP_SRC, MFF_CT_TP_DST,
    MFF_DL_DST, MFF_DL_SRC, MFF_DL_TYPE,
    /* vlan here */
    MFF_IP_DSCP, MFF_NW_ECN, MFF_NW_TTL, MFF_IP_FRAG,
    MFF_NW_PROTO, MFF_ARP_OP,
    MFF_NW_SRC, MFF_NW_DST, MFF_ARP_SPA, MFF_ARP_TPA, MFF_ARP_SHA,
    MFF_ARP_THA, MFF_IPV6_SRC, MFF_IPV6_DST, MFF_IPV6_LABEL,
    MFF_TP_SRC, MFF_TP_DST, MFF_ICMP_TYPE, MFF_ICMP_CODE, MFF_TCP_FLAGS,
};

static void
encode_vlan(struct ofbuf *b, const struct of_match *m)
{
    uint16_t mask = ntohs(m->wc.vlan_tci), v = ntohs(m->flow.vlan_tci);
    const struct mf_field *mf;
    union mf_value val, msk;

    if (!mask) {
        return;
    }
    if (((mask & FLOW_VLAN_PCP_MASK) == 0
         || ((mask & FLOW_VLAN_PCP_MASK) == FLOW_VLAN_PCP_MASK
             && (mask & v & FLOW_VLAN_CFI)))
        && (mask & 0x1fff)) {
        mf = mf_from_id(MFF_VLAN_VID);
        mf_get(mf, &m->flow, &val);
        mf_get(mf, &m->wc, &msk);
        oxm_put(b, oxm_for_field(MFF_VLAN_VID, NULL, NULL), &val, &msk);
        if (mask & FLOW_VLAN_PCP_MASK) {
            mf = mf_from_id(MFF_DL_VLAN_PCP);
            mf_get(mf, &m->flow, &val);
            oxm_put(b, oxm_for_field(MFF_DL_VLAN_PCP, NULL, NULL), &val,
                    NULL);
        }
        return;
    }
    mf = mf_from_id(MFF_VLAN_TCI);
    mf_get(mf, &m->flow, &val);
    mf_get(mf, &m->wc, &msk);
    oxm_put(b, oxm_for_field(MFF_VLAN_TCI, NULL, NULL), &val, &msk);
}

void
ofm_match_encode(struct ofbuf *b, const struct of_match *m)
{
    size_t start = b->len;

    ofbuf_put_be16(b, 1);
    ofbuf_put_be16(b, 0);
    for (size_t i = 0; i < sizeof encode_order / sizeof *encode_order; i++) {
        enum mf_field_id id = encode_order[i];
        const struct mf_field *mf = mf_from_id(id);
        const struct oxm_field *f;
        union mf_value v, mask;

        if (mf_is_wildcarded(mf, &m->wc)) {
            continue;
        }
        f = oxm_for_field(id, &m->flow, &m->wc);
        if (!f) {
            continue;           /* An alias of a field written otherwise
                                 * (nw_src of ARP as arp_spa...). */
        }
        mf_get(mf, &m->flow, &v);
        mf_get(mf, &m->wc, &mask);
        oxm_put(b, f, &v, &mask);
        if (id == MFF_DL_TYPE) {
            encode_vlan(b, m);
        }
    }
    if (mf_is_wildcarded(mf_from_id(MFF_DL_TYPE), &m->wc)) {
        encode_vlan(b, m);
    }
    if (!b->oom) {
        put16(b->data + start + 2, (uint16_t) (b->len - start));
    }
    ofbuf_pad8(b, start);
}

/* ---- Actions. ---- */

#define OFPAT_OUTPUT 0
#define OFPAT_PUSH_VLAN 17
#define OFPAT_GROUP 22
#define OFPAT_POP_VLAN 18
#define OFPAT_DEC_NW_TTL 24
#define OFPAT_SET_FIELD 25
#define OFPAT_EXPERIMENTER 0xffff

#define NXAST_RESUBMIT 1
#define NXAST_REG_MOVE 6
#define NXAST_REG_LOAD 7
#define NXAST_RESUBMIT_TABLE 14
#define NXAST_DEC_TTL 18
#define NXAST_REG_LOAD2 33
#define NXAST_CT 35
#define NXAST_NAT 36
#define NXAST_CT_CLEAR 43
#define NXAST_RESUBMIT_TABLE_CT 44

#define NX_CT_F_COMMIT 0x01
#define NX_CT_F_FORCE 0x02
#define NX_NAT_F_SRC 0x01
#define NX_NAT_F_DST 0x02
#define NX_NAT_F_PERSISTENT 0x04
#define NX_NAT_F_PROTO_HASH 0x08
#define NX_NAT_F_PROTO_RANDOM 0x10
#define NX_NAT_RANGE_IPV4_MIN 0x01
#define NX_NAT_RANGE_IPV4_MAX 0x02
#define NX_NAT_RANGE_IPV6_MIN 0x04
#define NX_NAT_RANGE_IPV6_MAX 0x08
#define NX_NAT_RANGE_PROTO_MIN 0x10
#define NX_NAT_RANGE_PROTO_MAX 0x20

#define OFPIT_GOTO_TABLE 1
#define OFPIT_WRITE_METADATA 2
#define OFPIT_WRITE_ACTIONS 3
#define OFPIT_APPLY_ACTIONS 4
#define OFPIT_CLEAR_ACTIONS 5
#define OFPIT_METER 6
#define OFPIT_EXPERIMENTER 0xffff

#define MAX_DECODED_ACTIONS 4096

struct act_list {
    struct of_action *a;
    size_t n, cap;
};

static struct of_action *
act_add(struct act_list *l, uint16_t type)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct of_action *a;

        if (l->n >= MAX_DECODED_ACTIONS) {
            return NULL;
        }
        a = realloc(l->a, cap * sizeof *a);
        if (!a) {
            return NULL;
        }
        l->a = a;
        l->cap = cap;
    }
    memset(&l->a[l->n], 0, sizeof l->a[l->n]);
    l->a[l->n].type = type;
    return &l->a[l->n++];
}

/* A set_field (or reg_load) of 'tlv' into 'a'. */
static ofperr
set_field_from_tlv(const struct oxm_tlv *t, const struct of_match *match,
                   bool in_ct, struct of_action *a, char *err,
                   size_t errsize)
{
    enum mf_field_id id = t->f->id;
    bool ct_field = id == MFF_CT_MARK || id == MFF_CT_LABEL;

    if (ct_field && !in_ct) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_ARGUMENT),
                    err, errsize, "set_field: %s can be set only inside "
                    "ct(exec(...))", t->f->name);
    }
    if (!t->mf->writable && !ct_field) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_ARGUMENT),
                    err, errsize, "set_field: %s is not writable",
                    t->f->name);
    }
    if (!t->mf->maskable && !value_all_ones(t->mf, &t->mask)
        && !t->load) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_ARGUMENT),
                    err, errsize, "set_field: %s cannot be set in part "
                    "(it takes no mask)", t->f->name);
    }
    if (match && !wpre_ok(t->f->pre == WP_NONE ? WP_MF : t->f->pre, t->mf,
                          &match->flow, &match->wc)) {
        return fail(ofperr_make(OFPET_BAD_ACTION,
                                OFPBAC_MATCH_INCONSISTENT), err, errsize,
                    "set_field: %s needs its prerequisites in the match",
                    t->f->name);
    }
    a->set_field.field = (uint16_t) id;
    a->set_field.syntax = OFSF_SET_FIELD;
    a->set_field.value = t->value;
    a->set_field.has_mask = !value_all_ones(t->mf, &t->mask);
    a->set_field.mask = t->mask;
    if (!a->set_field.has_mask) {
        memset(&a->set_field.mask, 0, sizeof a->set_field.mask);
    }
    return 0;
}

/* NXAST_REG_LOAD: bits [ofs, ofs + n_bits) of the field named by an NXM
 * header get 'value'.  As a masked set_field. */
static ofperr
reg_load_decode(const uint8_t *p, const struct of_match *match, bool in_ct,
                struct of_action *a, char *err, size_t errsize)
{
    uint16_t ofs_nbits = get16(p + 10);
    uint32_t dst = get32(p + 12);
    uint64_t value = get64(p + 16);
    unsigned ofs = ofs_nbits >> 6, n_bits = (ofs_nbits & 0x3f) + 1;
    const struct oxm_field *f = oxm_find(dst >> 16, (dst >> 9) & 0x7f, 0);
    struct oxm_tlv t;
    uint8_t w[16], mw[16];

    if (!f || (dst >> 16) == OXM_CLASS_EXP || (dst & 0x100)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_TYPE), err,
                    errsize, "reg_load: field 0x%08x is not supported", dst);
    }
    if (ofs + n_bits > f->width * 8u) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_LEN),
                    err, errsize, "reg_load: bits %u..%u outside %s", ofs,
                    ofs + n_bits - 1, f->name);
    }
    memset(w, 0, sizeof w);
    memset(mw, 0, sizeof mw);
    for (unsigned i = 0; i < n_bits; i++) {
        unsigned bit = ofs + i;
        size_t byte = f->width - 1 - bit / 8;

        mw[byte] |= 1u << (bit % 8);
        if (i < 64 && (value >> i) & 1) {
            w[byte] |= 1u << (bit % 8);
        }
    }
    memset(&t, 0, sizeof t);
    t.f = f;
    t.mf = mf_from_id(f->id);
    if (wire_to_value(f, t.mf, w, false, &t.value)
        || wire_to_value(f, t.mf, mw, true, &t.mask)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_ARGUMENT),
                    err, errsize, "reg_load: value out of range for %s",
                    f->name);
    }
    value_and(t.mf, &t.value, &t.mask);
    t.load = true;              /* Bits of any writable field (as Open
                                 * vSwitch: load:1->NXM_OF_IP_TOS[2..7]). */
    return set_field_from_tlv(&t, match, in_ct, a, err, errsize);
}

static ofperr actions_decode__(const uint8_t *p, size_t len,
                               const struct of_match *match, bool in_ct,
                               struct act_list *l, struct ct_exec *ct,
                               char *err, size_t errsize);

static ofperr
nat_decode(const uint8_t *p, size_t len, struct ct_nat *nat, char *err,
           size_t errsize)
{
    uint16_t flags, present;
    size_t off = 16;

    if (len < 16) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN), err,
                    errsize, "nat: truncated");
    }
    flags = get16(p + 12);
    present = get16(p + 14);
    memset(nat, 0, sizeof *nat);
    if ((flags & NX_NAT_F_SRC) && (flags & NX_NAT_F_DST)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: src and dst");
    }
    if ((flags & NX_NAT_F_PROTO_HASH) && (flags & NX_NAT_F_PROTO_RANDOM)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: hash and random");
    }
    if (flags & ~0x1f || present & ~0x3f) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: unknown flags 0x%x or ranges 0x%x", flags,
                    present);
    }
    if ((present & (NX_NAT_RANGE_IPV4_MIN | NX_NAT_RANGE_IPV4_MAX))
        && (present & (NX_NAT_RANGE_IPV6_MIN | NX_NAT_RANGE_IPV6_MAX))) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: IPv4 and IPv6 ranges");
    }
    if (!(flags & (NX_NAT_F_SRC | NX_NAT_F_DST))) {
        if (flags || present) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT),
                        err, errsize, "nat: flags or ranges without src or "
                        "dst");
        }
        nat->flags = CT_NAT_REVERSE;
        return 0;
    }
    nat->flags = (flags & NX_NAT_F_SRC ? CT_NAT_SRC : CT_NAT_DST)
                 | (flags & NX_NAT_F_PERSISTENT ? CT_NAT_PERSISTENT : 0)
                 | (flags & NX_NAT_F_PROTO_HASH ? CT_NAT_HASH : 0)
                 | (flags & NX_NAT_F_PROTO_RANDOM ? CT_NAT_RANDOM : 0);
#define NAT_TAKE(n)                                                        \
    do {                                                                   \
        if (off + (n) > len) {                                             \
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), \
                        err, errsize, "nat: ranges truncated");            \
        }                                                                  \
    } while (0)
    if (present & NX_NAT_RANGE_IPV4_MIN) {
        NAT_TAKE(4);
        memcpy(nat->addr_min, p + off, 4);
        memcpy(nat->addr_max, p + off, 4);
        off += 4;
    }
    if (present & NX_NAT_RANGE_IPV4_MAX) {
        NAT_TAKE(4);
        memcpy(nat->addr_max, p + off, 4);
        off += 4;
    }
    if (present & NX_NAT_RANGE_IPV6_MIN) {
        NAT_TAKE(16);
        nat->is_ipv6 = 1;
        memcpy(nat->addr_min, p + off, 16);
        memcpy(nat->addr_max, p + off, 16);
        off += 16;
    }
    if (present & NX_NAT_RANGE_IPV6_MAX) {
        NAT_TAKE(16);
        nat->is_ipv6 = 1;
        memcpy(nat->addr_max, p + off, 16);
        off += 16;
    }
    if (present & NX_NAT_RANGE_PROTO_MIN) {
        NAT_TAKE(2);
        nat->port_min = nat->port_max = get16(p + off);
        off += 2;
    }
    if (present & NX_NAT_RANGE_PROTO_MAX) {
        NAT_TAKE(2);
        nat->port_max = get16(p + off);
        off += 2;
    }
#undef NAT_TAKE
    {
        static const uint8_t zero[16];

        if (((present & NX_NAT_RANGE_IPV4_MIN)
             && !memcmp(nat->addr_min, zero, 4))
            || ((present & NX_NAT_RANGE_IPV6_MIN)
                && !memcmp(nat->addr_min, zero, 16))
            || ((present & NX_NAT_RANGE_PROTO_MIN) && !nat->port_min)) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT),
                        err, errsize, "nat: a range minimum of 0");
        }
    }
    if ((present & (NX_NAT_RANGE_PROTO_MIN | NX_NAT_RANGE_PROTO_MAX))
        && !(present & (NX_NAT_RANGE_IPV4_MIN | NX_NAT_RANGE_IPV6_MIN))) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: a port range without an address range");
    }
    if (((present & NX_NAT_RANGE_IPV4_MAX)
         && !(present & NX_NAT_RANGE_IPV4_MIN))
        || ((present & NX_NAT_RANGE_IPV6_MAX)
            && !(present & NX_NAT_RANGE_IPV6_MIN))
        || ((present & NX_NAT_RANGE_PROTO_MAX)
            && !(present & NX_NAT_RANGE_PROTO_MIN))) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: a range maximum without its minimum");
    }
    if (memcmp(nat->addr_min, nat->addr_max, 16) > 0
        || nat->port_min > nat->port_max) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "nat: a range whose minimum exceeds its "
                    "maximum");
    }
    return 0;
}

/* An NXM header of a load, move or ct(zone=) source as a subfield: bits
 * [ofs, ofs + n_bits) of the named field, or an error. */
static ofperr
subfield_decode(uint32_t hdr, unsigned ofs, unsigned n_bits,
                struct of_subfield *sf, const char *what, char *err,
                size_t errsize)
{
    int i = mf_nxm_from_header((uint16_t) (hdr >> 16),
                               (uint8_t) ((hdr >> 9) & 0x7f));
    const struct mf_nxm *nxm = mf_nxm_get(i);

    if (!nxm || (hdr & 0x100) || (hdr & 0xff) != nxm->width) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "%s: field 0x%08x is not supported", what, hdr);
    }
    if (!n_bits || ofs + n_bits > nxm->width * 8u) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "%s: bits %u..%u outside %s", what, ofs,
                    ofs + n_bits - 1, nxm->name);
    }
    sf->nxm = (uint8_t) i;
    sf->ofs = (uint8_t) ofs;
    sf->n_bits = (uint8_t) n_bits;
    return 0;
}

static uint32_t
subfield_header(const struct of_subfield *sf)
{
    const struct mf_nxm *nxm = mf_nxm_get(sf->nxm);

    return nxm ? (uint32_t) nxm->cls << 16 | (uint32_t) nxm->field << 9
                 | nxm->width
               : 0;
}

static ofperr
ct_decode(const uint8_t *p, size_t len, const struct of_match *match,
          struct of_action *a, char *err, size_t errsize)
{
    uint16_t flags;
    struct act_list nested = { 0 };
    ofperr e;

    if (len < 24) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN), err,
                    errsize, "ct: truncated");
    }
    flags = get16(p + 10);
    if (flags & ~(NX_CT_F_COMMIT | NX_CT_F_FORCE)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "ct: unknown flags 0x%x", flags);
    }
    if (get16(p + 22)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "ct: alg=%u is not supported", get16(p + 22));
    }
    memset(&a->ct, 0, sizeof a->ct);
    if (get32(p + 12)) {
        /* zone=FIELD[a..b]: zone_src, and ofs_nbits where the zone is. */
        uint16_t on = get16(p + 16);

        e = subfield_decode(get32(p + 12), on >> 6, (on & 0x3fu) + 1u,
                            &a->ct.zone_src, "ct zone", err, errsize);
        if (e) {
            return e;
        }
        if (a->ct.zone_src.n_bits != 16) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_LEN),
                        err, errsize, "ct: a zone is 16 bits, not %u",
                        a->ct.zone_src.n_bits);
        }
    } else {
        a->ct.exec.zone = get16(p + 16);
    }
    a->ct.exec.flags = (flags & NX_CT_F_COMMIT ? CT_F_COMMIT : 0)
                       | (flags & NX_CT_F_FORCE ? CT_F_FORCE : 0);
    a->ct.table = p[18];
    if (a->ct.table != OF_CT_NO_TABLE && a->ct.table >= OF_N_TABLES) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "ct: table %u does not exist", a->ct.table);
    }
    e = actions_decode__(p + 24, len - 24, match, true, &nested, &a->ct.exec,
                         err, errsize);
    free(nested.a);
    if (e) {
        return e;
    }
    if (a->ct.exec.nat.flags) {
        a->ct.has_nat = 1;
    }
    if ((a->ct.exec.flags & (CT_F_SET_MARK | CT_F_SET_LABEL))
        && !(a->ct.exec.flags & CT_F_COMMIT)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "ct: exec() needs commit");
    }
    return 0;
}

/* A set_field nested in ct(): ct_mark or ct_label, into exec. */
static ofperr
ct_set_field(const struct of_action *a, struct ct_exec *ct, char *err,
             size_t errsize)
{
    const union mf_value *v = &a->set_field.value;
    const union mf_value *m = &a->set_field.mask;

    if (a->set_field.field == MFF_CT_MARK) {
        uint32_t mask = a->set_field.has_mask ? ntohl(m->be32) : UINT32_MAX;

        ct->flags |= CT_F_SET_MARK;
        ct->mark = ntohl(v->be32) & mask;
        ct->mark_mask = mask;
        return 0;
    }
    if (a->set_field.field == MFF_CT_LABEL) {
        ct->flags |= CT_F_SET_LABEL;
        for (size_t i = 0; i < 16; i++) {
            uint8_t mb = a->set_field.has_mask ? m->bytes[i] : 0xff;

            ct->label[i] = v->bytes[i] & mb;
            ct->label_mask[i] = mb;
        }
        return 0;
    }
    return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                errsize, "ct: exec() may set only ct_mark and ct_label");
}

static ofperr
append_action(struct act_list *l, const struct of_action *a, char *err,
              size_t errsize)
{
    struct of_action *dst = act_add(l, a->type);

    if (!dst) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                    errsize, "too many actions (or out of memory)");
    }
    *dst = *a;
    return 0;
}

/* NXAST_REG_MOVE: n_bits, src_ofs, dst_ofs, src, dst. */
static ofperr
reg_move_decode(const uint8_t *p, size_t len, const struct of_match *match,
                struct of_action *a, char *err, size_t errsize)
{
    unsigned n_bits, src_ofs, dst_ofs;
    const struct mf_field *sm, *dm;
    ofperr e;

    if (len != 24) {
        /* (BAD_MATCH/BAD_LEN, as Open vSwitch answers.) */
        return fail(ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN), err,
                    errsize, "move: length %zu", len);
    }
    n_bits = get16(p + 10);
    src_ofs = get16(p + 12);
    dst_ofs = get16(p + 14);
    memset(a, 0, sizeof *a);
    a->type = OFPACT_MOVE;
    if ((e = subfield_decode(get32(p + 16), src_ofs, n_bits, &a->move.src,
                             "move", err, errsize))
        || (e = subfield_decode(get32(p + 20), dst_ofs, n_bits,
                                &a->move.dst, "move", err, errsize))) {
        return e;
    }
    sm = mf_from_id(mf_nxm_get(a->move.src.nxm)->id);
    dm = mf_from_id(mf_nxm_get(a->move.dst.nxm)->id);
    if (!dm->writable) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_TYPE), err,
                    errsize, "move: %s is not writable", dm->name);
    }
    if (match && (!wpre_ok(WP_MF, sm, &match->flow, &match->wc)
                  || !wpre_ok(WP_MF, dm, &match->flow, &match->wc))) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_MATCH_INCONSISTENT),
                    err, errsize, "move: %s and %s need their prerequisites "
                    "in the match", sm->name, dm->name);
    }
    return 0;
}

static ofperr
nx_action_decode(const uint8_t *p, size_t len, const struct of_match *match,
                 bool in_ct, struct act_list *l, struct ct_exec *ct,
                 char *err, size_t errsize)
{
    uint16_t subtype;
    struct of_action *a;

    if (len < 16) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN), err,
                    errsize, "Nicira action truncated");
    }
    subtype = get16(p + 8);
    if (in_ct) {
        if (subtype == NXAST_NAT) {
            if (ct->nat.flags) {
                return fail(ofperr_make(OFPET_BAD_ACTION,
                                        OFPBAC_BAD_ARGUMENT), err, errsize,
                            "ct: nat given twice");
            }
            return nat_decode(p, len, &ct->nat, err, errsize);
        }
        if (subtype == NXAST_REG_LOAD || subtype == NXAST_REG_LOAD2) {
            goto load;
        }
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT), err,
                    errsize, "ct: only nat and set_field of ct_mark or "
                    "ct_label may be nested (Nicira action %u)", subtype);
    }
    switch (subtype) {
    case NXAST_RESUBMIT:
    case NXAST_RESUBMIT_TABLE: {
        uint16_t port = get16(p + 10);
        uint8_t table = subtype == NXAST_RESUBMIT ? OF_TABLE_NONE : p[12];

        if (subtype == NXAST_RESUBMIT_TABLE && (p[13] || p[14] || p[15])) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT),
                        err, errsize, "resubmit: nonzero padding");
        }
        if (table != OF_TABLE_NONE && table >= OF_N_TABLES) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT),
                        err, errsize, "resubmit: table %u does not exist",
                        table);
        }
        if (port >= OFPP_MAX && port != OFPP_IN_PORT && port != OFPP_LOCAL) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_OUT_PORT),
                        err, errsize, "resubmit: port 0x%x", port);
        }
        if (!(a = act_add(l, OFPACT_RESUBMIT))) {
            goto too_many;
        }
        a->resubmit.port = port;
        a->resubmit.table = table;
        return 0;
    }
    case NXAST_DEC_TTL:
        if (!(a = act_add(l, OFPACT_DEC_TTL))) {
            goto too_many;
        }
        return 0;
    case NXAST_CT_CLEAR:
        if (!(a = act_add(l, OFPACT_CT_CLEAR))) {
            goto too_many;
        }
        return 0;
    case NXAST_CT:
        if (!(a = act_add(l, OFPACT_CT))) {
            goto too_many;
        }
        return ct_decode(p, len, match, a, err, errsize);
    case NXAST_REG_LOAD:
    case NXAST_REG_LOAD2:
        goto load;
    case NXAST_REG_MOVE: {
        struct of_action tmp;
        ofperr e = reg_move_decode(p, len, match, &tmp, err, errsize);

        return e ? e : append_action(l, &tmp, err, errsize);
    }
    default:
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_EXP_TYPE), err,
                    errsize, "Nicira action %u is not supported", subtype);
    }

load:
    {
        struct of_action tmp;
        ofperr e;

        memset(&tmp, 0, sizeof tmp);
        tmp.type = OFPACT_SET_FIELD;
        if (subtype == NXAST_REG_LOAD) {
            if (len != 24) {
                return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN),
                            err, errsize, "reg_load: length %zu", len);
            }
            e = reg_load_decode(p, in_ct ? NULL : match, in_ct, &tmp, err,
                                errsize);
            if (!e) {
                /* Written back as it came: load:V->NAME[BITS]. */
                uint32_t dst = get32(p + 12);
                int nxm = mf_nxm_from_header((uint16_t) (dst >> 16),
                                             (uint8_t) ((dst >> 9) & 0x7f));

                if (nxm >= 0 && mf_nxm_get(nxm)->id == tmp.set_field.field
                    && mf_nxm_get(nxm)->width * 8u
                       >= (get16(p + 10) >> 6) + (get16(p + 10) & 0x3f)
                          + 1u) {
                    uint16_t on = get16(p + 10);

                    memset(&tmp.set_field.mask, 0,
                           sizeof tmp.set_field.mask);
                    mf_nxm_mask_bits(mf_nxm_get(nxm), &tmp.set_field.mask,
                                     on >> 6, (on & 0x3fu) + 1u);
                    tmp.set_field.syntax = OFSF_LOAD;
                    tmp.set_field.nxm = (uint8_t) nxm;
                    tmp.set_field.has_mask = true;
                } else {
                    /* Not writable back as a reg_load (its header names
                     * a view of the field, as OXM ip_dscp of nw_tos): it
                     * goes out as a set_field, which cannot carry part
                     * of a field that takes no mask. */
                    const struct mf_field *mf =
                        mf_from_id(tmp.set_field.field);

                    if (mf && !mf->maskable
                        && !value_all_ones(mf, &tmp.set_field.mask)) {
                        e = fail(ofperr_make(OFPET_BAD_ACTION,
                                             OFPBAC_BAD_SET_ARGUMENT),
                                 err, errsize, "reg_load: %s cannot be "
                                 "loaded in part by that name", mf->name);
                    }
                }
            }
        } else {
            struct oxm_tlv t;

            e = oxm_pull(p + 10, len - 10, &t, err, errsize);
            e = e ? e : set_field_from_tlv(&t, in_ct ? NULL : match, in_ct,
                                           &tmp, err, errsize);
        }
        if (e) {
            return e;
        }
        return in_ct ? ct_set_field(&tmp, ct, err, errsize)
                     : append_action(l, &tmp, err, errsize);
    }
too_many:
    return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err, errsize,
                "too many actions (or out of memory)");
}

static ofperr
output_decode(uint32_t wire, uint16_t max_len, bool packet_out,
              struct act_list *l, char *err, size_t errsize)
{
    struct of_action *a;
    uint32_t port = 0;
    uint16_t type;

    if (!ofm_port_from_wire(wire, &port) || port == OFPP_NONE || port == 0
        || (port == OFPP_TABLE && !packet_out)) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_OUT_PORT), err,
                    errsize, "output to port 0x%x is not allowed here",
                    wire);
    }
    switch (port) {
    case OFPP_CONTROLLER:
        if (!(a = act_add(l, OFPACT_CONTROLLER))) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                        errsize, "too many actions (or out of memory)");
        }
        a->controller.max_len = max_len;
        return 0;
    case OFPP_IN_PORT:
        type = OFPACT_IN_PORT;
        break;
    case OFPP_FLOOD:
        type = OFPACT_FLOOD;
        break;
    case OFPP_ALL:
        type = OFPACT_ALL;
        break;
    case OFPP_NORMAL:
        type = OFPACT_NORMAL;
        break;
    default:
        type = OFPACT_OUTPUT;
        break;
    }
    if (!(a = act_add(l, type))) {
        return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                    errsize, "too many actions (or out of memory)");
    }
    if (type == OFPACT_OUTPUT) {
        a->output.port = port;
    }
    return 0;
}

static ofperr
actions_decode__(const uint8_t *p, size_t len, const struct of_match *match,
                 bool in_ct, struct act_list *l, struct ct_exec *ct,
                 char *err, size_t errsize)
{
    struct of_match cur;        /* The match as push/pop_vlan change it. */
    size_t off = 0;

    if (match) {
        cur = *match;
        match = &cur;
    }

    while (off < len) {
        const uint8_t *ap = p + off;
        uint16_t type, alen;
        struct of_action *a;
        ofperr e = 0;

        if (len - off < 8) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN), err,
                        errsize, "action header truncated");
        }
        type = get16(ap);
        alen = get16(ap + 2);
        if (alen < 8 || alen % 8 || alen > len - off) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN), err,
                        errsize, "action type %u: length %u", type, alen);
        }
        if (in_ct && type != OFPAT_SET_FIELD && type != OFPAT_EXPERIMENTER) {
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT),
                        err, errsize, "ct: action type %u may not be "
                        "nested", type);
        }
        switch (type) {
        case OFPAT_OUTPUT:
            if (alen != 16) {
                return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_LEN),
                            err, errsize, "output: length %u", alen);
            }
            e = output_decode(get32(ap + 4), get16(ap + 8), match == NULL,
                              l, err, errsize);
            break;
        case OFPAT_PUSH_VLAN: {
            uint16_t tpid = get16(ap + 4);

            if (tpid != ETH_TYPE_VLAN && tpid != ETH_TYPE_VLAN_8021AD) {
                return fail(ofperr_make(OFPET_BAD_ACTION,
                                        OFPBAC_BAD_ARGUMENT), err, errsize,
                            "push_vlan: ethertype 0x%04x", tpid);
            }
            if (!(a = act_add(l, OFPACT_PUSH_VLAN))) {
                goto too_many;
            }
            a->push_vlan.ethertype = tpid;
            if (match) {
                cur.flow.vlan_tci |= htons(FLOW_VLAN_CFI);
                cur.wc.vlan_tci |= htons(FLOW_VLAN_CFI);
            }
            break;
        }
        case OFPAT_POP_VLAN:
            if (!act_add(l, OFPACT_POP_VLAN)) {
                goto too_many;
            }
            if (match) {
                cur.flow.vlan_tci &= ~htons(FLOW_VLAN_CFI);
                cur.wc.vlan_tci |= htons(FLOW_VLAN_CFI);
            }
            break;
        case OFPAT_DEC_NW_TTL:
            if (!act_add(l, OFPACT_DEC_TTL)) {
                goto too_many;
            }
            break;
        case OFPAT_GROUP: {
            uint32_t id = get32(ap + 4);

            if (alen != 8 || id > OFG_MAX_ID) {
                return fail(ofperr_make(OFPET_BAD_ACTION,
                                        alen != 8 ? OFPBAC_BAD_LEN
                                                  : OFPBAC_BAD_OUT_GROUP),
                            err, errsize, "group: length %u or id 0x%x",
                            alen, id);
            }
            if (!(a = act_add(l, OFPACT_GROUP))) {
                goto too_many;
            }
            a->group.group_id = id;
            break;
        }
        case OFPAT_SET_FIELD: {
            struct oxm_tlv t;
            struct of_action tmp;

            t.f = NULL;
            e = oxm_pull(ap + 4, alen - 4, &t, err, errsize);
            if (e) {
                /* As Open vSwitch answers: an unknown field BAD_SET_TYPE,
                 * a known one of another length BAD_SET_LEN, one that
                 * runs past the action BAD_MATCH/BAD_LEN. */
                e = ofperr_code(e) == OFPBMC_BAD_LEN
                    ? ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_LEN)
                    : ofperr_make(OFPET_BAD_ACTION,
                                  ofperr_code(e) == OFPBMC_BAD_FIELD
                                  || ofperr_code(e) == OFPBMC_BAD_WILDCARDS
                                  ? (t.f ? OFPBAC_BAD_SET_LEN
                                         : OFPBAC_BAD_SET_TYPE)
                                  : OFPBAC_BAD_SET_ARGUMENT);
                break;
            }
            if (t.has_mask) {
                return fail(ofperr_make(OFPET_BAD_MATCH,
                                        OFPBMC_BAD_WILDCARDS), err,
                            errsize, "set_field: a mask needs OpenFlow "
                            "1.5 or reg_load");
            }
            if (t.f->id == MFF_IN_PORT && t.f->cls == OXM_CLASS_BASIC) {
                /* OpenFlow 1.3, 7.2.3.7: not OXM_OF_IN_PORT (as Open
                 * vSwitch refuses it). */
                return fail(ofperr_make(OFPET_BAD_ACTION,
                                        OFPBAC_BAD_SET_ARGUMENT), err,
                            errsize, "set_field: OpenFlow does not let "
                            "set_field write OXM_OF_IN_PORT (write "
                            "NXM_OF_IN_PORT)");
            }
            memset(&tmp, 0, sizeof tmp);
            tmp.type = OFPACT_SET_FIELD;
            e = set_field_from_tlv(&t, in_ct ? NULL : match, in_ct, &tmp,
                                   err, errsize);
            if (!e) {
                e = in_ct ? ct_set_field(&tmp, ct, err, errsize)
                          : append_action(l, &tmp, err, errsize);
            }
            break;
        }
        case OFPAT_EXPERIMENTER:
            if (get32(ap + 4) != NX_VENDOR_ID) {
                return fail(ofperr_make(OFPET_BAD_ACTION,
                                        OFPBAC_BAD_EXPERIMENTER), err,
                            errsize, "experimenter 0x%08x", get32(ap + 4));
            }
            e = nx_action_decode(ap, alen, match, in_ct, l, ct, err,
                                 errsize);
            break;
        default:
            return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_TYPE), err,
                        errsize, "action type %u is not supported", type);
        }
        if (e) {
            return e;
        }
        off += alen;
    }
    return 0;

too_many:
    return fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err, errsize,
                "too many actions (or out of memory)");
}

static ofperr
list_finish(struct act_list *l, struct of_actions **out, char *err,
            size_t errsize)
{
    struct of_actions *acts = of_actions_alloc(l->n);

    if (!acts) {
        free(l->a);
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "out of memory");
    }
    if (l->n) {
        memcpy(acts->a, l->a, l->n * sizeof *l->a);
    }
    acts->n = l->n;
    free(l->a);
    *out = acts;
    return 0;
}

ofperr
ofm_actions_decode(const uint8_t *p, size_t len, const struct of_match *match,
                   struct of_actions **out, char *err, size_t errsize)
{
    struct act_list l = { 0 };
    ofperr e;

    *out = NULL;
    e = actions_decode__(p, len, match, false, &l, NULL, err, errsize);
    if (e) {
        free(l.a);
        return e;
    }
    return list_finish(&l, out, err, errsize);
}

ofperr
ofm_instructions_decode(const uint8_t *p, size_t len,
                        const struct of_match *match,
                        struct of_actions **out, char *err, size_t errsize)
{
    struct act_list l = { 0 };
    int goto_table = -1;
    uint32_t meter_id = 0;
    bool seen_apply = false;
    bool has_wmd = false;
    uint64_t wmd_value = 0, wmd_mask = 0;
    bool has_clear = false, has_write = false;
    struct act_list wl = { 0 };         /* write_actions' list. */
    size_t off = 0;
    ofperr e = 0;

    *out = NULL;
    if (len % 8) {
        /* Instructions come in multiples of 8 bytes: otherwise the
         * message's length is at fault (Open vSwitch's answer). */
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "instructions: %zu bytes, not a multiple of 8",
                    len);
    }
    while (off < len) {
        const uint8_t *ip = p + off;
        uint16_t type, ilen;

        if (len - off < 4) {
            e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_BAD_LEN), err,
                     errsize, "instruction header truncated");
            goto out;
        }
        type = get16(ip);
        ilen = get16(ip + 2);
        if (ilen < 8 || ilen % 8 || ilen > len - off) {
            e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_BAD_LEN), err,
                     errsize, "instruction type %u: length %u", type, ilen);
            goto out;
        }
        switch (type) {
        case OFPIT_APPLY_ACTIONS:
            if (seen_apply) {
                e = fail(OFPERR_DUP_INSTRUCTION, err, errsize,
                         "apply_actions given twice");
                goto out;
            }
            seen_apply = true;
            e = actions_decode__(ip + 8, ilen - 8, match, false, &l, NULL,
                                 err, errsize);
            if (e) {
                goto out;
            }
            break;
        case OFPIT_GOTO_TABLE:
            if (ilen != 8) {
                e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_BAD_LEN),
                         err, errsize, "goto_table: length %u", ilen);
                goto out;
            }
            if (goto_table >= 0) {
                e = fail(OFPERR_DUP_INSTRUCTION, err, errsize,
                         "goto_table given twice");
                goto out;
            }
            goto_table = ip[4];
            if (goto_table >= OF_N_TABLES) {
                e = fail(ofperr_make(OFPET_BAD_INSTRUCTION,
                                     OFPBIC_BAD_TABLE_ID), err, errsize,
                         "goto_table: table %d does not exist", goto_table);
                goto out;
            }
            break;
        case OFPIT_METER:
            if (ilen != 8) {
                e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_BAD_LEN),
                         err, errsize, "meter: length %u", ilen);
                goto out;
            }
            if (meter_id) {
                e = fail(OFPERR_DUP_INSTRUCTION, err, errsize,
                         "meter given twice");
                goto out;
            }
            meter_id = get32(ip + 4);
            if (!meter_id || meter_id > OFM_MAX_ID) {
                e = fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                     OFPMMFC_INVALID_METER), err, errsize,
                         "meter: id 0x%x", meter_id);
                goto out;
            }
            break;
        case OFPIT_WRITE_METADATA:
            /* type, len, pad[4], metadata, metadata_mask. */
            if (ilen != 24) {
                e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_BAD_LEN),
                         err, errsize, "write_metadata: length %u", ilen);
                goto out;
            }
            if (has_wmd) {
                e = fail(OFPERR_DUP_INSTRUCTION, err, errsize,
                         "write_metadata given twice");
                goto out;
            }
            has_wmd = true;
            /* Kept as given: bits of the value outside the mask are
             * ignored when it runs, as Open vSwitch does. */
            wmd_value = get64(ip + 8);
            wmd_mask = get64(ip + 16);
            break;
        case OFPIT_CLEAR_ACTIONS:
            if (ilen != 8) {
                e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_BAD_LEN),
                         err, errsize, "clear_actions: length %u", ilen);
                goto out;
            }
            if (has_clear) {
                e = fail(OFPERR_DUP_INSTRUCTION, err, errsize,
                         "clear_actions given twice");
                goto out;
            }
            has_clear = true;
            break;
        case OFPIT_WRITE_ACTIONS:
            if (has_write) {
                e = fail(OFPERR_DUP_INSTRUCTION, err, errsize,
                         "write_actions given twice");
                goto out;
            }
            has_write = true;
            e = actions_decode__(ip + 8, ilen - 8, match, false, &wl, NULL,
                                 err, errsize);
            if (e) {
                goto out;
            }
            for (size_t k = 0; k < wl.n; k++) {
                if (!of_action_set_allowed(wl.a[k].type)) {
                    e = fail(ofperr_make(OFPET_BAD_ACTION,
                                         OFPBAC_UNSUPPORTED_ORDER), err,
                             errsize, "write_actions: action %zu may not "
                             "go into the action set", k + 1);
                    goto out;
                }
            }
            break;
        case OFPIT_EXPERIMENTER:
            e = fail(ofperr_make(OFPET_BAD_INSTRUCTION,
                                 OFPBIC_BAD_EXPERIMENTER), err, errsize,
                     "experimenter instruction 0x%08x is not supported",
                     ilen >= 8 ? get32(ip + 4) : 0);
            goto out;
        default:
            e = fail(ofperr_make(OFPET_BAD_INSTRUCTION, OFPBIC_UNKNOWN_INST),
                     err, errsize, "instruction type %u is unknown", type);
            goto out;
        }
        off += ilen;
    }
    if (meter_id) {
        /* The meter runs first: it leads the list. */
        struct of_action *a = act_add(&l, OFPACT_METER);

        if (!a) {
            e = fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                     errsize, "too many actions (or out of memory)");
            goto out;
        }
        memmove(&l.a[1], &l.a[0], (l.n - 1) * sizeof *l.a);
        memset(&l.a[0], 0, sizeof l.a[0]);
        l.a[0].type = OFPACT_METER;
        l.a[0].meter.meter_id = meter_id;
    }
    if (has_clear && !act_add(&l, OFPACT_CLEAR_ACTIONS)) {
        e = fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                 errsize, "too many actions (or out of memory)");
        goto out;
    }
    if (has_write) {
        struct of_action *a = act_add(&l, OFPACT_WRITE_ACTIONS);

        if (!a) {
            e = fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                     errsize, "too many actions (or out of memory)");
            goto out;
        }
        a->write_actions.n = (uint16_t) wl.n;
        for (size_t k = 0; k < wl.n; k++) {
            struct of_action *c = act_add(&l, wl.a[k].type);

            if (!c) {
                e = fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY),
                         err, errsize, "too many actions (or out of "
                         "memory)");
                goto out;
            }
            *c = wl.a[k];
        }
    }
    if (has_wmd) {
        struct of_action *a = act_add(&l, OFPACT_WRITE_METADATA);

        if (!a) {
            e = fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                     errsize, "too many actions (or out of memory)");
            goto out;
        }
        a->write_metadata.value = wmd_value;
        a->write_metadata.mask = wmd_mask;
    }
    if (goto_table >= 0) {
        struct of_action *a = act_add(&l, OFPACT_GOTO_TABLE);

        if (!a) {
            e = fail(ofperr_make(OFPET_BAD_ACTION, OFPBAC_TOO_MANY), err,
                     errsize, "too many actions (or out of memory)");
            goto out;
        }
        a->goto_table.table = (uint8_t) goto_table;
    }
    free(wl.a);
    return list_finish(&l, out, err, errsize);

out:
    free(l.a);
    free(wl.a);
    return e;
}

/* ---- Encoding actions. ---- */

static void
put_action_hdr(struct ofbuf *b, uint16_t type, uint16_t len)
{
    ofbuf_put_be16(b, type);
    ofbuf_put_be16(b, len);
}

static void
put_output(struct ofbuf *b, uint32_t port, uint16_t max_len)
{
    put_action_hdr(b, OFPAT_OUTPUT, 16);
    ofbuf_put_be32(b, ofm_port_to_wire(port));
    ofbuf_put_be16(b, max_len);
    ofbuf_put(b, NULL, 6);
}

/* Opens a Nicira action; returns its start for nx_end(). */
static size_t
nx_start(struct ofbuf *b, uint16_t subtype)
{
    size_t start = b->len;

    put_action_hdr(b, OFPAT_EXPERIMENTER, 0);
    ofbuf_put_be32(b, NX_VENDOR_ID);
    ofbuf_put_be16(b, subtype);
    return start;
}

static void
nx_end(struct ofbuf *b, size_t start)
{
    ofbuf_pad8(b, start);
    if (!b->oom) {
        put16(b->data + start + 2, (uint16_t) (b->len - start));
    }
}

/* The wire field and value a set_field of sluice field 'id' writes: the
 * OF1.0-style views (dl_vlan, dl_vlan_pcp, nw_tos) as their OXM forms. */
static void
set_field_wire(const struct of_action *a, const struct of_match *ctx,
               const struct oxm_field **f, union mf_value *v,
               union mf_value *m, bool *has_mask)
{
    enum mf_field_id id = a->set_field.field;
    const struct mf_field *mf = mf_from_id(id);
    uint32_t x = mf_n_bits(mf) <= 32 ? mf_value_to_u32(mf,
                                                       &a->set_field.value)
                                     : 0;

    *v = a->set_field.value;
    *m = a->set_field.mask;
    *has_mask = a->set_field.has_mask;
    switch (id) {
    case MFF_DL_VLAN:
        id = MFF_VLAN_VID;
        mf_value_from_u32(mf_from_id(id), x | FLOW_VLAN_CFI, v);
        *has_mask = false;
        break;
    case MFF_NW_TOS:
        id = MFF_IP_DSCP;
        mf_value_from_u32(mf_from_id(id), x >> 2, v);
        *has_mask = false;
        break;
    default:
        break;
    }
    if (id == MFF_IN_PORT) {
        /* OpenFlow forbids a set_field of OXM_OF_IN_PORT; Open vSwitch
         * writes (and reads) NXM_OF_IN_PORT's 16 bits instead. */
        *f = oxm_find(OXM_CLASS_NXM0, 0, 0);
        return;
    }
    /* A field with a form per protocol (tp_*, icmp_*): the flow's. */
    *f = ctx ? oxm_for_field(id, &ctx->flow, &ctx->wc) : NULL;
    if (!*f) {
        *f = oxm_for_field(id, NULL, NULL);
    }
}

/* load:V->NAME[BITS] as NXAST_REG_LOAD, as it came; false (nothing
 * written) when its bits are not one run of at most 64. */
static bool
put_reg_load(struct ofbuf *b, const struct of_action *a)
{
    const struct mf_nxm *nxm = mf_nxm_get(a->set_field.nxm);
    struct of_subfield sf;
    unsigned ofs, n_bits;
    size_t start;

    if (!nxm || nxm->id != a->set_field.field
        || !mf_nxm_mask_range(nxm, &a->set_field.mask, &ofs, &n_bits)
        || !n_bits || n_bits > 64) {
        return false;
    }
    sf.nxm = a->set_field.nxm;
    sf.ofs = (uint8_t) ofs;
    sf.n_bits = (uint8_t) n_bits;
    start = nx_start(b, NXAST_REG_LOAD);
    ofbuf_put_be16(b, (uint16_t) (sf.ofs << 6 | (sf.n_bits - 1u)));
    ofbuf_put_be32(b, subfield_header(&sf));
    ofbuf_put_be64(b, mf_nxm_get_bits(nxm, &a->set_field.value, sf.ofs,
                                      sf.n_bits));
    nx_end(b, start);
    return true;
}

static void
put_move(struct ofbuf *b, const struct of_action *a)
{
    size_t start = nx_start(b, NXAST_REG_MOVE);

    ofbuf_put_be16(b, a->move.src.n_bits);
    ofbuf_put_be16(b, a->move.src.ofs);
    ofbuf_put_be16(b, a->move.dst.ofs);
    ofbuf_put_be32(b, subfield_header(&a->move.src));
    ofbuf_put_be32(b, subfield_header(&a->move.dst));
    nx_end(b, start);
}

static void
put_set_field(struct ofbuf *b, const struct of_action *a,
              const struct of_match *ctx)
{
    const struct oxm_field *f;
    union mf_value v, m;
    bool has_mask;
    size_t start = b->len;

    if (a->set_field.syntax == OFSF_LOAD && put_reg_load(b, a)) {
        return;
    }
    set_field_wire(a, ctx, &f, &v, &m, &has_mask);
    if (!f) {
        return;
    }
    if (has_mask) {
        start = nx_start(b, NXAST_REG_LOAD2);
        oxm_put(b, f, &v, &m);
        nx_end(b, start);
        return;
    }
    put_action_hdr(b, OFPAT_SET_FIELD, 0);
    oxm_put(b, f, &v, NULL);
    nx_end(b, start);
}

static void
put_ct(struct ofbuf *b, const struct of_ct *ct)
{
    const struct ct_exec *e = &ct->exec;
    size_t start = nx_start(b, NXAST_CT);

    ofbuf_put_be16(b, (e->flags & CT_F_COMMIT ? NX_CT_F_COMMIT : 0)
                      | (e->flags & CT_F_FORCE ? NX_CT_F_FORCE : 0));
    if (ct->zone_src.n_bits) {
        ofbuf_put_be32(b, subfield_header(&ct->zone_src));
        ofbuf_put_be16(b, (uint16_t) (ct->zone_src.ofs << 6
                                      | (ct->zone_src.n_bits - 1u)));
    } else {
        ofbuf_put_be32(b, 0);           /* zone_src: immediate */
        ofbuf_put_be16(b, e->zone);
    }
    ofbuf_put_u8(b, ct->table);
    ofbuf_put(b, NULL, 3);
    ofbuf_put_be16(b, 0);               /* alg */
    /* nat first: Open vSwitch prints a leading nat outside exec(). */
    if (ct->has_nat) {
        const struct ct_nat *n = &e->nat;
        size_t nat = nx_start(b, NXAST_NAT);
        uint16_t flags = 0, present = 0;
        bool v6 = n->is_ipv6;
        size_t alen = v6 ? 16 : 4;
        static const uint8_t zero[16];

        if (n->flags & (CT_NAT_SRC | CT_NAT_DST)) {
            flags = (n->flags & CT_NAT_SRC ? NX_NAT_F_SRC : NX_NAT_F_DST)
                    | (n->flags & CT_NAT_PERSISTENT ? NX_NAT_F_PERSISTENT : 0)
                    | (n->flags & CT_NAT_HASH ? NX_NAT_F_PROTO_HASH : 0)
                    | (n->flags & CT_NAT_RANDOM ? NX_NAT_F_PROTO_RANDOM : 0);
            if (memcmp(n->addr_min, zero, alen)) {
                present |= v6 ? NX_NAT_RANGE_IPV6_MIN : NX_NAT_RANGE_IPV4_MIN;
                if (memcmp(n->addr_max, n->addr_min, alen)) {
                    present |= v6 ? NX_NAT_RANGE_IPV6_MAX
                                  : NX_NAT_RANGE_IPV4_MAX;
                }
            }
            if (n->port_min) {
                present |= NX_NAT_RANGE_PROTO_MIN;
                if (n->port_max != n->port_min) {
                    present |= NX_NAT_RANGE_PROTO_MAX;
                }
            }
        }
        ofbuf_put(b, NULL, 2);
        ofbuf_put_be16(b, flags);
        ofbuf_put_be16(b, present);
        if (present & (NX_NAT_RANGE_IPV4_MIN | NX_NAT_RANGE_IPV6_MIN)) {
            ofbuf_put(b, n->addr_min, alen);
        }
        if (present & (NX_NAT_RANGE_IPV4_MAX | NX_NAT_RANGE_IPV6_MAX)) {
            ofbuf_put(b, n->addr_max, alen);
        }
        if (present & NX_NAT_RANGE_PROTO_MIN) {
            ofbuf_put_be16(b, n->port_min);
        }
        if (present & NX_NAT_RANGE_PROTO_MAX) {
            ofbuf_put_be16(b, n->port_max);
        }
        nx_end(b, nat);
    }
    if (e->flags & CT_F_SET_MARK) {
        struct of_action a;

        memset(&a, 0, sizeof a);
        a.type = OFPACT_SET_FIELD;
        a.set_field.field = MFF_CT_MARK;
        a.set_field.value.be32 = htonl(e->mark);
        a.set_field.mask.be32 = htonl(e->mark_mask);
        a.set_field.has_mask = e->mark_mask != UINT32_MAX;
        put_set_field(b, &a, NULL);
    }
    if (e->flags & CT_F_SET_LABEL) {
        struct of_action a;
        bool all = true;

        memset(&a, 0, sizeof a);
        a.type = OFPACT_SET_FIELD;
        a.set_field.field = MFF_CT_LABEL;
        memcpy(a.set_field.value.bytes, e->label, 16);
        memcpy(a.set_field.mask.bytes, e->label_mask, 16);
        for (size_t i = 0; i < 16; i++) {
            all = all && e->label_mask[i] == 0xff;
        }
        a.set_field.has_mask = !all;
        put_set_field(b, &a, NULL);
    }
    nx_end(b, start);
}

static void
put_action(struct ofbuf *b, const struct of_action *a,
           const struct of_match *ctx)
{
    size_t start;

    switch ((enum of_action_type) a->type) {
    case OFPACT_OUTPUT:
        put_output(b, a->output.port, 0);
        break;
    case OFPACT_IN_PORT:
        put_output(b, OFPP_IN_PORT, 0);
        break;
    case OFPACT_FLOOD:
        put_output(b, OFPP_FLOOD, 0);
        break;
    case OFPACT_ALL:
        put_output(b, OFPP_ALL, 0);
        break;
    case OFPACT_NORMAL:
        put_output(b, OFPP_NORMAL, 0);
        break;
    case OFPACT_CONTROLLER:
        put_output(b, OFPP_CONTROLLER, a->controller.max_len);
        break;
    case OFPACT_SET_FIELD:
        put_set_field(b, a, ctx);
        break;
    case OFPACT_MOVE:
        put_move(b, a);
        break;
    case OFPACT_DEC_TTL:
        put_action_hdr(b, OFPAT_DEC_NW_TTL, 8);
        ofbuf_put(b, NULL, 4);
        break;
    case OFPACT_STRIP_VLAN:
    case OFPACT_POP_VLAN:
        put_action_hdr(b, OFPAT_POP_VLAN, 8);
        ofbuf_put(b, NULL, 4);
        break;
    case OFPACT_PUSH_VLAN:
        put_action_hdr(b, OFPAT_PUSH_VLAN, 8);
        ofbuf_put_be16(b, a->push_vlan.ethertype);
        ofbuf_put(b, NULL, 2);
        break;
    case OFPACT_RESUBMIT:
        start = nx_start(b, NXAST_RESUBMIT_TABLE);
        ofbuf_put_be16(b, (uint16_t) a->resubmit.port);
        ofbuf_put_u8(b, a->resubmit.table);
        nx_end(b, start);
        break;
    case OFPACT_CT:
        put_ct(b, &a->ct);
        break;
    case OFPACT_CT_CLEAR:
        start = nx_start(b, NXAST_CT_CLEAR);
        nx_end(b, start);
        break;
    case OFPACT_GROUP:
        put_action_hdr(b, OFPAT_GROUP, 8);
        ofbuf_put_be32(b, a->group.group_id);
        break;
    case OFPACT_METER:
        break;                  /* An instruction (first in the list). */
    case OFPACT_GOTO_TABLE:
    case OFPACT_WRITE_METADATA:
    case OFPACT_CLEAR_ACTIONS:
    case OFPACT_WRITE_ACTIONS:
        break;                  /* Instructions. */
    }
}

void
ofm_actions_encode(struct ofbuf *b, const struct of_actions *acts,
                   const struct of_match *match)
{
    for (size_t i = 0; acts && i < acts->n; i++) {
        put_action(b, &acts->a[i], match);
    }
}

/* True for the list's instructions after the applied actions. */
static bool
is_late_instruction(uint16_t type)
{
    return type == OFPACT_CLEAR_ACTIONS || type == OFPACT_WRITE_ACTIONS
           || type == OFPACT_WRITE_METADATA || type == OFPACT_GOTO_TABLE;
}

void
ofm_instructions_encode(struct ofbuf *b, const struct of_actions *acts,
                        const struct of_match *match)
{
    size_t n = acts ? acts->n : 0;
    size_t first = n && acts->a[0].type == OFPACT_METER ? 1 : 0;
    size_t n_apply = first;

    /* actions.h: meter, the applied actions, clear_actions,
     * write_actions(...), write_metadata, goto_table. */
    while (n_apply < n && !is_late_instruction(acts->a[n_apply].type)) {
        n_apply++;
    }
    if (first) {
        ofbuf_put_be16(b, OFPIT_METER);
        ofbuf_put_be16(b, 8);
        ofbuf_put_be32(b, acts->a[0].meter.meter_id);
    }
    if (n_apply > first) {
        size_t start = b->len;

        ofbuf_put_be16(b, OFPIT_APPLY_ACTIONS);
        ofbuf_put_be16(b, 0);
        ofbuf_put(b, NULL, 4);
        for (size_t i = first; i < n_apply; i++) {
            put_action(b, &acts->a[i], match);
        }
        if (!b->oom) {
            put16(b->data + start + 2, (uint16_t) (b->len - start));
        }
    }
    for (size_t i = n_apply; i < n; i++) {
        const struct of_action *a = &acts->a[i];

        switch (a->type) {
        case OFPACT_CLEAR_ACTIONS:
            ofbuf_put_be16(b, OFPIT_CLEAR_ACTIONS);
            ofbuf_put_be16(b, 8);
            ofbuf_put(b, NULL, 4);
            break;
        case OFPACT_WRITE_ACTIONS: {
            size_t start = b->len;
            size_t k_end = i + 1 + a->write_actions.n;

            ofbuf_put_be16(b, OFPIT_WRITE_ACTIONS);
            ofbuf_put_be16(b, 0);
            ofbuf_put(b, NULL, 4);
            for (size_t k = i + 1; k < k_end && k < n; k++) {
                put_action(b, &acts->a[k], match);
            }
            if (!b->oom) {
                put16(b->data + start + 2, (uint16_t) (b->len - start));
            }
            i = k_end - 1;
            break;
        }
        case OFPACT_WRITE_METADATA:
            ofbuf_put_be16(b, OFPIT_WRITE_METADATA);
            ofbuf_put_be16(b, 24);
            ofbuf_put(b, NULL, 4);
            ofbuf_put_be64(b, a->write_metadata.value);
            ofbuf_put_be64(b, a->write_metadata.mask);
            break;
        case OFPACT_GOTO_TABLE:
            ofbuf_put_be16(b, OFPIT_GOTO_TABLE);
            ofbuf_put_be16(b, 8);
            ofbuf_put_u8(b, a->goto_table.table);
            ofbuf_put(b, NULL, 3);
            break;
        default:
            break;              /* Not made by the decoder or parser. */
        }
    }
}

/* ---- Flow mods. ---- */

#define OFPFC_ADD 0
#define OFPFC_MODIFY 1
#define OFPFC_MODIFY_STRICT 2
#define OFPFC_DELETE 3
#define OFPFC_DELETE_STRICT 4
#define FLOW_MOD_FIXED 48

ofperr
ofm_flow_mod_decode(const uint8_t *msg, size_t len, struct ofm_flow_mod *fm,
                    char *err, size_t errsize)
{
    struct of_flow_spec *s = &fm->spec;
    uint8_t command;
    uint32_t out_port;
    size_t mlen;
    ofperr e;

    memset(fm, 0, sizeof *fm);
    if (len < FLOW_MOD_FIXED + 8) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "flow_mod: %zu bytes", len);
    }
    s->cookie = get64(msg + 8);
    s->cookie_mask = get64(msg + 16);
    s->table_id = msg[24];
    command = msg[25];
    s->idle_timeout = get16(msg + 26);
    s->hard_timeout = get16(msg + 28);
    s->priority = get16(msg + 30);
    s->priority_set = true;
    fm->buffer_id = get32(msg + 32);
    out_port = get32(msg + 36);
    fm->out_group = get32(msg + 40);
    fm->flags = get16(msg + 44);

    switch (command) {
    case OFPFC_ADD:
        fm->cmd = OFFC_ADD;
        break;
    case OFPFC_MODIFY:
        fm->cmd = OFFC_MODIFY;
        break;
    case OFPFC_MODIFY_STRICT:
        fm->cmd = OFFC_MODIFY_STRICT;
        break;
    case OFPFC_DELETE:
        fm->cmd = OFFC_DELETE;
        break;
    case OFPFC_DELETE_STRICT:
        fm->cmd = OFFC_DELETE_STRICT;
        break;
    default:
        return fail(ofperr_make(OFPET_FLOW_MOD_FAILED, OFPFMFC_BAD_COMMAND),
                    err, errsize, "flow_mod: command %u", command);
    }
    if (fm->flags & ~(OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP
                      | OFPFF_RESET_COUNTS | OFPFF_NO_PKT_COUNTS
                      | OFPFF_NO_BYT_COUNTS)) {
        return fail(ofperr_make(OFPET_FLOW_MOD_FAILED, OFPFMFC_BAD_FLAGS),
                    err, errsize, "flow_mod: flags 0x%x", fm->flags);
    }
    bool del = fm->cmd == OFFC_DELETE || fm->cmd == OFFC_DELETE_STRICT;
    if (s->table_id == OFPTT_ALL) {
        if (fm->cmd == OFFC_ADD) {
            return fail(ofperr_make(OFPET_FLOW_MOD_FAILED,
                                    OFPFMFC_BAD_TABLE_ID), err, errsize,
                        "flow_mod: add to table 255 (all)");
        }
        s->table_set = false;
    } else if (s->table_id >= OF_N_TABLES) {
        /* Table 254: the switch's own, as Open vSwitch's hidden table. */
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_EPERM),
                    err, errsize, "flow_mod: table %u is not for flows",
                    s->table_id);
    } else {
        s->table_set = true;
    }
    s->send_flow_rem = (fm->flags & OFPFF_SEND_FLOW_REM)
                       && (fm->cmd == OFFC_ADD || fm->cmd == OFFC_MODIFY
                           || fm->cmd == OFFC_MODIFY_STRICT);
    s->reset_counts = (fm->flags & OFPFF_RESET_COUNTS)
                      && (fm->cmd == OFFC_ADD || fm->cmd == OFFC_MODIFY
                          || fm->cmd == OFFC_MODIFY_STRICT);
    if (fm->cmd == OFFC_ADD) {
        /* The cookie mask is ignored on add (OpenFlow 1.3, 6.4). */
        s->cookie_mask = 0;
        s->out_port = OFPP_NONE;
    } else {
        if (del || fm->cmd == OFFC_MODIFY || fm->cmd == OFFC_MODIFY_STRICT) {
            if (!del) {
                out_port = 0xffffffffu;         /* Ignored for modify. */
            }
        }
        if (out_port == 0xffffffffu) {
            s->out_port = OFPP_NONE;
        } else if (!ofm_port_from_wire(out_port, &s->out_port)) {
            return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_PORT), err,
                        errsize, "flow_mod: out_port 0x%x", out_port);
        }
    }
    /* The out_group filter: deletes only (OpenFlow 1.3, 6.4: ignored by
     * modify). */
    if (del && fm->out_group != OFPG_ANY) {
        if (fm->out_group > OFG_MAX_ID) {
            return fail(ofperr_make(OFPET_FLOW_MOD_FAILED, OFPFMFC_UNKNOWN),
                        err, errsize, "flow_mod: out_group 0x%x",
                        fm->out_group);
        }
        s->out_group = fm->out_group;
        s->out_group_set = true;
    }
    e = ofm_match_decode(msg + FLOW_MOD_FIXED, len - FLOW_MOD_FIXED,
                         &s->match, &mlen, err, errsize);
    if (e) {
        return e;
    }
    if (!del) {
        e = ofm_instructions_decode(msg + FLOW_MOD_FIXED + mlen,
                                    len - FLOW_MOD_FIXED - mlen, &s->match,
                                    &s->actions, err, errsize);
        if (e) {
            return e;
        }
        if (s->actions->n
            && s->actions->a[s->actions->n - 1].type == OFPACT_GOTO_TABLE
            && s->table_set
            && s->actions->a[s->actions->n - 1].goto_table.table
               <= s->table_id) {
            of_flow_spec_uninit(s);
            return fail(ofperr_make(OFPET_BAD_INSTRUCTION,
                                    OFPBIC_BAD_TABLE_ID), err, errsize,
                        "goto_table must go to a later table");
        }
    }
    return 0;
}

void
ofm_flow_mod_encode(struct ofbuf *b, uint32_t xid,
                    const struct ofm_flow_mod *fm)
{
    const struct of_flow_spec *s = &fm->spec;
    size_t start = ofm_start(b, OFPT_FLOW_MOD, xid);
    static const uint8_t cmds[] = {
        [OFFC_ADD] = OFPFC_ADD, [OFFC_MODIFY] = OFPFC_MODIFY,
        [OFFC_MODIFY_STRICT] = OFPFC_MODIFY_STRICT,
        [OFFC_DELETE] = OFPFC_DELETE,
        [OFFC_DELETE_STRICT] = OFPFC_DELETE_STRICT, [OFFC_MATCH] = 0xff,
    };

    ofbuf_put_be64(b, s->cookie);
    ofbuf_put_be64(b, s->cookie_mask);
    ofbuf_put_u8(b, s->table_set || fm->cmd == OFFC_ADD ? s->table_id
                                                        : OFPTT_ALL);
    ofbuf_put_u8(b, cmds[fm->cmd]);
    ofbuf_put_be16(b, s->idle_timeout);
    ofbuf_put_be16(b, s->hard_timeout);
    ofbuf_put_be16(b, (uint16_t) s->priority);
    ofbuf_put_be32(b, fm->buffer_id);
    ofbuf_put_be32(b, s->out_port == OFPP_NONE ? 0xffffffffu
                      : ofm_port_to_wire(s->out_port));
    ofbuf_put_be32(b, s->out_group_set ? s->out_group : fm->out_group);
    ofbuf_put_be16(b, fm->flags | (s->send_flow_rem ? OFPFF_SEND_FLOW_REM
                                                    : 0)
                      | (s->reset_counts ? OFPFF_RESET_COUNTS : 0));
    ofbuf_put(b, NULL, 2);
    ofm_match_encode(b, &s->match);
    if (s->actions) {
        ofm_instructions_encode(b, s->actions, &s->match);
    }
    ofm_finish(b, start);
}

/* ---- Multipart. ---- */

ofperr
ofm_mp_request_decode(const uint8_t *msg, size_t len,
                      struct ofm_mp_request *r)
{
    if (len < 16) {
        return ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN);
    }
    r->type = get16(msg + 8);
    r->flags = get16(msg + 10);
    r->body = msg + 16;
    r->body_len = len - 16;
    return 0;
}

ofperr
ofm_flow_stats_request_decode(const uint8_t *body, size_t len,
                              struct of_flow_spec *f, char *err,
                              size_t errsize)
{
    uint32_t out_port, out_group;
    size_t mlen;

    memset(f, 0, sizeof *f);
    if (len < 32 + 8) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "flow stats request: %zu bytes", len);
    }
    f->table_id = body[0];
    f->table_set = f->table_id != OFPTT_ALL;
    if (f->table_set && f->table_id >= OF_N_TABLES) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_TABLE_ID), err,
                    errsize, "table %u does not exist", f->table_id);
    }
    out_port = get32(body + 4);
    out_group = get32(body + 8);
    f->cookie = get64(body + 16);
    f->cookie_mask = get64(body + 24);
    if (out_port == 0xffffffffu) {
        f->out_port = OFPP_NONE;
    } else if (!ofm_port_from_wire(out_port, &f->out_port)) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_PORT), err,
                    errsize, "out_port 0x%x", out_port);
    }
    if (out_group != OFPG_ANY) {
        if (out_group > OFG_MAX_ID) {
            return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_MULTIPART),
                        err, errsize, "out_group 0x%x", out_group);
        }
        f->out_group = out_group;
        f->out_group_set = true;
    }
    f->priority = OF_DEFAULT_PRIORITY;
    return ofm_match_decode(body + 32, len - 32, &f->match, &mlen, err,
                            errsize);
}

static void
mp_open(struct ofm_mp *mp)
{
    mp->start = ofm_start(mp->b, OFPT_MULTIPART_REPLY, mp->xid);
    ofbuf_put_be16(mp->b, mp->type);
    ofbuf_put_be16(mp->b, 0);
    ofbuf_put(mp->b, NULL, 4);
}

void
ofm_mp_start(struct ofm_mp *mp, struct ofbuf *b, uint16_t type, uint32_t xid)
{
    mp->b = b;
    mp->type = type;
    mp->xid = xid;
    mp_open(mp);
    mp->entry = b->len;
}

void
ofm_mp_entry_begin(struct ofm_mp *mp)
{
    mp->entry = mp->b->len;
}

void
ofm_mp_entry_end(struct ofm_mp *mp)
{
    struct ofbuf *b = mp->b;
    size_t elen = b->len - mp->entry;
    uint8_t *tmp;

    if (b->oom || b->len - mp->start <= OFP_MAX_MSG_LEN) {
        return;
    }
    /* The entry does not fit: close the message before it with MORE and
     * move the entry into a new one. */
    tmp = malloc(elen);
    if (!tmp) {
        b->oom = true;
        return;
    }
    memcpy(tmp, b->data + mp->entry, elen);
    b->len = mp->entry;
    put16(b->data + mp->start + 10, OFPMPF_MORE);
    ofm_finish(b, mp->start);
    mp_open(mp);
    mp->entry = b->len;
    ofbuf_put(b, tmp, elen);
    free(tmp);
    if (!b->oom && b->len - mp->start > OFP_MAX_MSG_LEN) {
        b->oom = true;          /* One entry longer than a message. */
    }
}

void
ofm_mp_finish(struct ofm_mp *mp)
{
    ofm_finish(mp->b, mp->start);
}

void
ofm_flow_stats_encode(struct ofbuf *b, const struct ofproto_rule_info *r,
                      long long now_ms)
{
    size_t start = b->len;
    long long age = now_ms > r->created_ms ? now_ms - r->created_ms : 0;

    ofbuf_put_be16(b, 0);
    ofbuf_put_u8(b, r->table_id);
    ofbuf_put_u8(b, 0);
    ofbuf_put_be32(b, (uint32_t) (age / 1000));
    ofbuf_put_be32(b, (uint32_t) (age % 1000) * 1000000u);
    ofbuf_put_be16(b, (uint16_t) r->priority);
    ofbuf_put_be16(b, r->idle_timeout);
    ofbuf_put_be16(b, r->hard_timeout);
    ofbuf_put_be16(b, (r->send_flow_rem ? OFPFF_SEND_FLOW_REM : 0)
                      | (r->reset_counts ? OFPFF_RESET_COUNTS : 0));
    ofbuf_put(b, NULL, 4);
    ofbuf_put_be64(b, r->cookie);
    ofbuf_put_be64(b, r->n_packets);
    ofbuf_put_be64(b, r->n_bytes);
    ofm_match_encode(b, r->match);
    ofm_instructions_encode(b, r->actions, r->match);
    if (!b->oom) {
        put16(b->data + start, (uint16_t) (b->len - start));
    }
}

static void
put_string(struct ofbuf *b, const char *s, size_t n)
{
    uint8_t *p = ofbuf_put(b, NULL, n);

    if (p && s) {
        size_t l = strlen(s);

        memcpy(p, s, l < n - 1 ? l : n - 1);
    }
}

void
ofm_desc_encode(struct ofbuf *b, const struct ofm_desc *d)
{
    put_string(b, d->mfr, 256);
    put_string(b, d->hw, 256);
    put_string(b, d->sw, 256);
    put_string(b, d->serial, 32);
    put_string(b, d->dp, 256);
}

void
ofm_port_encode(struct ofbuf *b, const struct ofm_port *p)
{
    ofbuf_put_be32(b, ofm_port_to_wire(p->port_no));
    ofbuf_put(b, NULL, 4);
    ofbuf_put(b, p->hw_addr, 6);
    ofbuf_put(b, NULL, 2);
    put_string(b, p->name, 16);
    ofbuf_put_be32(b, p->config);
    ofbuf_put_be32(b, p->state);
    ofbuf_put_be32(b, p->curr);
    ofbuf_put_be32(b, p->advertised);
    ofbuf_put_be32(b, p->supported);
    ofbuf_put_be32(b, p->peer);
    ofbuf_put_be32(b, p->curr_speed);
    ofbuf_put_be32(b, p->max_speed);
}

void
ofm_port_stats_encode(struct ofbuf *b, const struct ofm_port_stats *s)
{
    ofbuf_put_be32(b, ofm_port_to_wire(s->port_no));
    ofbuf_put(b, NULL, 4);
    ofbuf_put_be64(b, s->rx_packets);
    ofbuf_put_be64(b, s->tx_packets);
    ofbuf_put_be64(b, s->rx_bytes);
    ofbuf_put_be64(b, s->tx_bytes);
    ofbuf_put_be64(b, s->rx_dropped);
    ofbuf_put_be64(b, s->tx_dropped);
    ofbuf_put_be64(b, s->rx_errors);
    ofbuf_put_be64(b, s->tx_errors);
    ofbuf_put_be64(b, 0);               /* rx_frame_err */
    ofbuf_put_be64(b, 0);               /* rx_over_err */
    ofbuf_put_be64(b, 0);               /* rx_crc_err */
    ofbuf_put_be64(b, 0);               /* collisions */
    ofbuf_put_be32(b, s->duration_sec);
    ofbuf_put_be32(b, s->duration_nsec);
}

void
ofm_table_stats_encode(struct ofbuf *b, const struct ofm_table_stats *t)
{
    ofbuf_put_u8(b, t->table_id);
    ofbuf_put(b, NULL, 3);
    ofbuf_put_be32(b, t->active_count);
    ofbuf_put_be64(b, t->lookup_count);
    ofbuf_put_be64(b, t->matched_count);
}

void
ofm_features_reply(struct ofbuf *b, uint32_t xid,
                   const struct ofm_features *f)
{
    size_t start = ofm_start(b, OFPT_FEATURES_REPLY, xid);

    ofbuf_put_be64(b, f->datapath_id);
    ofbuf_put_be32(b, f->n_buffers);
    ofbuf_put_u8(b, f->n_tables);
    ofbuf_put_u8(b, 0);                 /* auxiliary_id */
    ofbuf_put(b, NULL, 2);
    ofbuf_put_be32(b, f->capabilities);
    ofbuf_put_be32(b, 0);
    ofm_finish(b, start);
}

/* ---- Table features. ---- */

static void
tf_prop_start(struct ofbuf *b, uint16_t type, size_t *start)
{
    *start = b->len;
    ofbuf_put_be16(b, type);
    ofbuf_put_be16(b, 0);
}

static void
tf_prop_end(struct ofbuf *b, size_t start)
{
    if (!b->oom) {
        put16(b->data + start + 2, (uint16_t) (b->len - start));
    }
    ofbuf_pad8(b, start);
}

/* The OXM headers of the fields sluice matches ('writable': that
 * set_field writes), each once, in the forms this codec writes. */
static void
tf_put_fields(struct ofbuf *b, bool writable, bool masked_only)
{
    for (size_t i = 0; i < N_OXM_FIELDS; i++) {
        const struct oxm_field *f = &oxm_fields[i];
        const struct mf_field *mf = mf_from_id(f->id);
        bool dup = false;

        if (f->id == MFF_IN_PORT) {
            /* Matched as OXM_OF_IN_PORT; written (set_field) only as
             * NXM_OF_IN_PORT. */
            if (writable != (f->cls == OXM_CLASS_NXM0)) {
                continue;
            }
        } else {
            for (size_t k = 0; k < i; k++) {
                dup = dup || oxm_fields[k].id == f->id;
            }
        }
        if (dup || f->id == MFF_VLAN_TCI || f->id == MFF_NW_TOS) {
            continue;           /* Written in another form. */
        }
        if (writable && !mf->writable) {
            continue;
        }
        if (masked_only && !mf->maskable) {
            continue;
        }
        ofbuf_put_be32(b, (uint32_t) f->cls << 16 | (uint32_t) f->field << 9
                          | (f->width + (f->cls == OXM_CLASS_EXP ? 4 : 0)));
        if (f->cls == OXM_CLASS_EXP) {
            ofbuf_put_be32(b, f->exp);
        }
    }
}

void
ofm_table_features_encode(struct ofbuf *b, uint8_t table_id,
                          const char *name, uint32_t max_entries)
{
    static const uint16_t insts[] = { OFPIT_GOTO_TABLE, OFPIT_APPLY_ACTIONS };
    static const uint16_t acts[] = { OFPAT_OUTPUT, OFPAT_PUSH_VLAN,
                                     OFPAT_POP_VLAN, OFPAT_DEC_NW_TTL,
                                     OFPAT_SET_FIELD };
    size_t start = b->len, p;
    char tname[32];

    ofbuf_put_be16(b, 0);
    ofbuf_put_u8(b, table_id);
    ofbuf_put(b, NULL, 5);
    memset(tname, 0, sizeof tname);
    snprintf(tname, sizeof tname, "%s", name ? name : "");
    ofbuf_put(b, tname, sizeof tname);
    ofbuf_put_be64(b, 0);               /* metadata_match */
    ofbuf_put_be64(b, 0);               /* metadata_write */
    ofbuf_put_be32(b, 0);               /* config */
    ofbuf_put_be32(b, max_entries);
    for (uint16_t miss = 0; miss < 2; miss++) {
        tf_prop_start(b, 0 + miss, &p);         /* INSTRUCTIONS */
        for (size_t i = 0; i < sizeof insts / sizeof *insts; i++) {
            if (insts[i] == OFPIT_GOTO_TABLE && table_id + 1 >= OF_N_TABLES) {
                continue;
            }
            ofbuf_put_be16(b, insts[i]);
            ofbuf_put_be16(b, 4);
        }
        tf_prop_end(b, p);
        tf_prop_start(b, 2 + miss, &p);         /* NEXT_TABLES */
        for (unsigned t = table_id + 1u; t < OF_N_TABLES; t++) {
            ofbuf_put_u8(b, (uint8_t) t);
        }
        tf_prop_end(b, p);
        tf_prop_start(b, 4 + miss, &p);         /* WRITE_ACTIONS: none */
        tf_prop_end(b, p);
        tf_prop_start(b, 6 + miss, &p);         /* APPLY_ACTIONS */
        for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
            ofbuf_put_be16(b, acts[i]);
            ofbuf_put_be16(b, 4);
        }
        tf_prop_end(b, p);
    }
    tf_prop_start(b, 8, &p);                    /* MATCH */
    tf_put_fields(b, false, false);
    tf_prop_end(b, p);
    tf_prop_start(b, 10, &p);                   /* WILDCARDS */
    tf_put_fields(b, false, false);
    tf_prop_end(b, p);
    for (uint16_t miss = 0; miss < 2; miss++) {
        tf_prop_start(b, 12 + miss, &p);        /* WRITE_SETFIELD: none */
        tf_prop_end(b, p);
        tf_prop_start(b, 14 + miss, &p);        /* APPLY_SETFIELD */
        tf_put_fields(b, true, false);
        tf_prop_end(b, p);
    }
    if (!b->oom) {
        put16(b->data + start, (uint16_t) (b->len - start));
    }
}

/* ---- Packet-in and packet-out. ---- */

/* True for the fields a packet-in's match carries when nonzero, as Open
 * vSwitch's does: the metadata, the registers, the tunnel's id and
 * addresses, its GENEVE options (when present, whatever their value), the
 * conntrack fields, and the ethertype (set with the conntrack tuple: its
 * prerequisite). */
static bool
pktin_meta_field(enum mf_field_id id)
{
    return id == MFF_METADATA || id == MFF_DL_TYPE
           || (id >= MFF_REG0 && id <= MFF_REG15)
           || (id >= MFF_TUN_ID && id <= MFF_TUN_IPV6_DST)
           || mf_tun_metadata_slot(id) >= 0
           || (id >= MFF_CT_STATE && id <= MFF_CT_TP_DST);
}

void
ofm_packet_in(struct ofbuf *b, uint32_t xid, const struct ofm_packet_in *pi)
{
    size_t start = ofm_start(b, OFPT_PACKET_IN, xid);
    struct of_match m;
    const struct mf_field *mf = mf_from_id(MFF_IN_PORT);
    union mf_value v;

    ofbuf_put_be32(b, OFP_NO_BUFFER);
    ofbuf_put_be16(b, pi->total_len);
    ofbuf_put_u8(b, pi->reason);
    ofbuf_put_u8(b, pi->table_id);
    ofbuf_put_be64(b, pi->cookie);
    of_match_init_catchall(&m);
    mf_value_from_u32(mf, pi->in_port, &v);
    mf_set(mf, &v, NULL, &m.flow);
    mf_unwildcard(mf, &m.wc);
    for (size_t i = 0; pi->meta && i < sizeof encode_order
                                        / sizeof encode_order[0]; i++) {
        const struct mf_field *f = mf_from_id(encode_order[i]);
        static const union mf_value zero;

        if (!pktin_meta_field(encode_order[i])) {
            continue;
        }
        mf_get(f, pi->meta, &v);
        if (mf_tun_metadata_slot(encode_order[i]) >= 0
            ? pi->meta->tunnel.md_present
              & (1u << mf_tun_metadata_slot(encode_order[i]))
            : memcmp(&v, &zero, f->n_bytes) != 0) {
            mf_set(f, &v, NULL, &m.flow);
            mf_unwildcard(f, &m.wc);
        }
    }
    ofm_match_encode(b, &m);
    ofbuf_put(b, NULL, 2);
    ofbuf_put(b, pi->data, pi->len);
    ofm_finish(b, start);
}

ofperr
ofm_packet_out_decode(const uint8_t *msg, size_t len,
                      struct ofm_packet_out *po, char *err, size_t errsize)
{
    uint16_t alen;
    uint32_t in_port;
    ofperr e;

    memset(po, 0, sizeof *po);
    if (len < 24) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "packet_out: %zu bytes", len);
    }
    po->buffer_id = get32(msg + 8);
    in_port = get32(msg + 12);
    alen = get16(msg + 16);
    if (alen > len - 24) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "packet_out: actions_len %u exceeds the "
                    "message", alen);
    }
    if (!ofm_port_from_wire(in_port, &po->in_port)
        || (po->in_port >= OFPP_MAX && po->in_port != OFPP_CONTROLLER
            && po->in_port != OFPP_LOCAL)) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_PORT), err,
                    errsize, "packet_out: in_port 0x%x", in_port);
    }
    /* match NULL: a packet-out's list (output:TABLE allowed, set_field
     * prerequisites checked on the packet at run time). */
    e = ofm_actions_decode(msg + 24, alen, NULL, &po->actions, err,
                           errsize);
    if (e) {
        return e;
    }
    po->data = msg + 24 + alen;
    po->data_len = len - 24 - alen;
    return 0;
}

void
ofm_flow_removed(struct ofbuf *b, const struct ofproto_rule_info *r,
                 uint8_t reason, long long now_ms)
{
    size_t start = ofm_start(b, OFPT_FLOW_REMOVED, 0);
    long long age = now_ms > r->created_ms ? now_ms - r->created_ms : 0;

    ofbuf_put_be64(b, r->cookie);
    ofbuf_put_be16(b, (uint16_t) r->priority);
    ofbuf_put_u8(b, reason);
    ofbuf_put_u8(b, r->table_id);
    ofbuf_put_be32(b, (uint32_t) (age / 1000));
    ofbuf_put_be32(b, (uint32_t) (age % 1000) * 1000000u);
    ofbuf_put_be16(b, r->idle_timeout);
    ofbuf_put_be16(b, r->hard_timeout);
    ofbuf_put_be64(b, r->n_packets);
    ofbuf_put_be64(b, r->n_bytes);
    ofm_match_encode(b, r->match);
    ofm_finish(b, start);
}

/* ---- Groups. ---- */

#define OFPGC_ADD 0
#define OFPGC_MODIFY 1
#define OFPGC_DELETE 2

ofperr
ofm_group_mod_decode(const uint8_t *msg, size_t len,
                     struct ofm_group_mod *gm, char *err, size_t errsize)
{
    struct of_group_spec *g = &gm->spec;
    uint16_t command;
    size_t off = 16;
    ofperr e;

    memset(gm, 0, sizeof *gm);
    if (len < 16) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "group_mod: %zu bytes", len);
    }
    command = get16(msg + 8);
    g->type = msg[10];
    g->group_id = get32(msg + 12);
    switch (command) {
    case OFPGC_ADD:
        gm->cmd = OFGC_ADD;
        break;
    case OFPGC_MODIFY:
        gm->cmd = OFGC_MODIFY;
        break;
    case OFPGC_DELETE:
        gm->cmd = OFGC_DELETE;
        break;
    default:
        return fail(ofperr_make(OFPET_GROUP_MOD_FAILED, OFPGMFC_BAD_COMMAND),
                    err, errsize, "group_mod: command %u", command);
    }
    if (gm->cmd == OFGC_DELETE) {
        if (g->group_id > OFG_MAX_ID && g->group_id != OFG_ALL) {
            return fail(ofperr_make(OFPET_GROUP_MOD_FAILED,
                                    OFPGMFC_INVALID_GROUP), err, errsize,
                        "group_mod: group 0x%x", g->group_id);
        }
        return 0;
    }
    if (g->group_id > OFG_MAX_ID) {
        return fail(ofperr_make(OFPET_GROUP_MOD_FAILED,
                                OFPGMFC_INVALID_GROUP), err, errsize,
                    "group_mod: group 0x%x is reserved", g->group_id);
    }
    if (g->type > OFG_TYPE_FF) {
        return fail(ofperr_make(OFPET_GROUP_MOD_FAILED, OFPGMFC_BAD_TYPE),
                    err, errsize, "group_mod: type %u", g->type);
    }
    while (off < len) {
        const uint8_t *bp = msg + off;
        uint16_t blen;
        uint32_t watch_port;
        struct of_bucket *nb, *b;

        if (len - off < 16) {
            e = fail(ofperr_make(OFPET_GROUP_MOD_FAILED,
                                 OFPGMFC_BAD_BUCKET), err, errsize,
                     "bucket header truncated");
            goto error;
        }
        blen = get16(bp);
        if (blen < 16 || blen % 8 || blen > len - off) {
            e = fail(ofperr_make(OFPET_GROUP_MOD_FAILED,
                                 OFPGMFC_BAD_BUCKET), err, errsize,
                     "bucket length %u", blen);
            goto error;
        }
        if (g->n_buckets == OFG_MAX_BUCKETS) {
            e = fail(ofperr_make(OFPET_GROUP_MOD_FAILED,
                                 OFPGMFC_OUT_OF_BUCKETS), err, errsize,
                     "more than %d buckets", OFG_MAX_BUCKETS);
            goto error;
        }
        nb = realloc(g->buckets, (g->n_buckets + 1) * sizeof *nb);
        if (!nb) {
            e = fail(ofperr_make(OFPET_GROUP_MOD_FAILED,
                                 OFPGMFC_OUT_OF_BUCKETS), err, errsize,
                     "out of memory");
            goto error;
        }
        g->buckets = nb;
        b = &nb[g->n_buckets];
        memset(b, 0, sizeof *b);
        b->weight = get16(bp + 2);
        watch_port = get32(bp + 4);
        b->watch_group = get32(bp + 8);
        if (watch_port == 0xffffffffu) {
            b->watch_port = OFPP_NONE;
        } else if (!ofm_port_from_wire(watch_port, &b->watch_port)
                   || (b->watch_port >= OFPP_MAX
                       && b->watch_port != OFPP_LOCAL)) {
            e = fail(ofperr_make(OFPET_GROUP_MOD_FAILED, OFPGMFC_BAD_WATCH),
                     err, errsize, "watch_port 0x%x", watch_port);
            goto error;
        }
        if (g->type != OFG_TYPE_SELECT) {      /* Weights: select's. */
            b->weight = 1;
        }
        e = ofm_actions_decode(bp + 16, blen - 16, NULL, &b->actions, err,
                               errsize);
        if (e) {
            goto error;
        }
        g->n_buckets++;
        off += blen;
    }
    return 0;

error:
    of_group_spec_uninit(g);
    return e;
}

static void
put_buckets(struct ofbuf *b, const struct of_group_spec *g)
{
    for (size_t i = 0; i < g->n_buckets; i++) {
        const struct of_bucket *k = &g->buckets[i];
        size_t start = b->len;

        ofbuf_put_be16(b, 0);
        ofbuf_put_be16(b, g->type == OFG_TYPE_SELECT ? k->weight : 0);
        ofbuf_put_be32(b, k->watch_port == OFPP_NONE
                          ? 0xffffffffu : ofm_port_to_wire(k->watch_port));
        ofbuf_put_be32(b, k->watch_group);
        ofbuf_put(b, NULL, 4);
        ofm_actions_encode(b, k->actions, NULL);
        if (!b->oom) {
            put16(b->data + start, (uint16_t) (b->len - start));
        }
    }
}

void
ofm_group_mod_encode(struct ofbuf *b, uint32_t xid,
                     const struct ofm_group_mod *gm)
{
    size_t start = ofm_start(b, OFPT_GROUP_MOD, xid);

    ofbuf_put_be16(b, gm->cmd == OFGC_ADD ? OFPGC_ADD
                      : gm->cmd == OFGC_MODIFY ? OFPGC_MODIFY
                      : OFPGC_DELETE);
    ofbuf_put_u8(b, gm->spec.type);
    ofbuf_put_u8(b, 0);
    ofbuf_put_be32(b, gm->spec.group_id);
    if (gm->cmd != OFGC_DELETE) {
        put_buckets(b, &gm->spec);
    }
    ofm_finish(b, start);
}

void
ofm_group_desc_encode(struct ofbuf *b, const struct of_group_spec *g)
{
    size_t start = b->len;

    ofbuf_put_be16(b, 0);
    ofbuf_put_u8(b, g->type);
    ofbuf_put_u8(b, 0);
    ofbuf_put_be32(b, g->group_id);
    put_buckets(b, g);
    if (!b->oom) {
        put16(b->data + start, (uint16_t) (b->len - start));
    }
}

void
ofm_group_stats_encode(struct ofbuf *b, const struct of_group_spec *g,
                       const struct ofm_group_stats *st)
{
    size_t start = b->len;

    ofbuf_put_be16(b, 0);
    ofbuf_put(b, NULL, 2);
    ofbuf_put_be32(b, g->group_id);
    ofbuf_put_be32(b, st->ref_count);
    ofbuf_put(b, NULL, 4);
    ofbuf_put_be64(b, st->packets);
    ofbuf_put_be64(b, st->bytes);
    ofbuf_put_be32(b, (uint32_t) (st->age_ms / 1000));
    ofbuf_put_be32(b, (uint32_t) (st->age_ms % 1000) * 1000000u);
    for (size_t i = 0; i < g->n_buckets; i++) {
        ofbuf_put_be64(b, st->bucket_packets ? st->bucket_packets[i] : 0);
        ofbuf_put_be64(b, st->bucket_bytes ? st->bucket_bytes[i] : 0);
    }
    if (!b->oom) {
        put16(b->data + start, (uint16_t) (b->len - start));
    }
}

void
ofm_group_features_encode(struct ofbuf *b, uint32_t max_groups)
{
    uint32_t acts = (1u << OFPAT_OUTPUT) | (1u << OFPAT_PUSH_VLAN)
                    | (1u << OFPAT_POP_VLAN) | (1u << OFPAT_GROUP)
                    | (1u << OFPAT_DEC_NW_TTL) | (1u << OFPAT_SET_FIELD);

    ofbuf_put_be32(b, (1u << OFG_TYPE_ALL) | (1u << OFG_TYPE_SELECT)
                      | (1u << OFG_TYPE_INDIRECT) | (1u << OFG_TYPE_FF));
    /* SELECT_WEIGHT, SELECT_LIVENESS, CHAINING. */
    ofbuf_put_be32(b, 0x1 | 0x2 | 0x4);
    for (int i = 0; i < 4; i++) {
        ofbuf_put_be32(b, max_groups);
    }
    for (int i = 0; i < 4; i++) {
        ofbuf_put_be32(b, acts);
    }
}

/* ---- Meters. ---- */

#define OFPMC_ADD 0
#define OFPMC_MODIFY 1
#define OFPMC_DELETE 2

ofperr
ofm_meter_mod_decode(const uint8_t *msg, size_t len,
                     struct ofm_meter_mod *mm, char *err, size_t errsize)
{
    struct of_meter_spec *m = &mm->spec;
    uint16_t command;
    size_t off = 16;

    memset(mm, 0, sizeof *mm);
    if (len < 16) {
        return fail(ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), err,
                    errsize, "meter_mod: %zu bytes", len);
    }
    command = get16(msg + 8);
    m->flags = get16(msg + 10);
    m->meter_id = get32(msg + 12);
    switch (command) {
    case OFPMC_ADD:
        mm->cmd = OFGC_ADD;
        break;
    case OFPMC_MODIFY:
        mm->cmd = OFGC_MODIFY;
        break;
    case OFPMC_DELETE:
        mm->cmd = OFGC_DELETE;
        break;
    default:
        return fail(ofperr_make(OFPET_METER_MOD_FAILED, OFPMMFC_BAD_COMMAND),
                    err, errsize, "meter_mod: command %u", command);
    }
    if (mm->cmd == OFGC_DELETE) {
        if ((!m->meter_id || m->meter_id > OFM_MAX_ID)
            && m->meter_id != OFM_ALL) {
            return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                    OFPMMFC_INVALID_METER), err, errsize,
                        "meter_mod: meter 0x%x", m->meter_id);
        }
        return 0;
    }
    if (!m->meter_id || m->meter_id > OFM_MAX_ID) {
        return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                OFPMMFC_INVALID_METER), err, errsize,
                    "meter_mod: meter 0x%x (slowpath, controller and all "
                    "are not configurable)", m->meter_id);
    }
    if (m->flags & ~(OFM_F_KBPS | OFM_F_PKTPS | OFM_F_BURST | OFM_F_STATS)
        || !(m->flags & (OFM_F_KBPS | OFM_F_PKTPS))
        || ((m->flags & OFM_F_KBPS) && (m->flags & OFM_F_PKTPS))) {
        return fail(ofperr_make(OFPET_METER_MOD_FAILED, OFPMMFC_BAD_FLAGS),
                    err, errsize, "meter_mod: flags 0x%x", m->flags);
    }
    while (off < len) {
        const uint8_t *bp = msg + off;
        uint16_t type, blen;
        struct of_meter_band *b;

        if (len - off < 16) {
            return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                    OFPMMFC_BAD_BAND), err, errsize,
                        "band truncated");
        }
        type = get16(bp);
        blen = get16(bp + 2);
        if (blen != 16 || blen > len - off) {
            return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                    OFPMMFC_BAD_BAND), err, errsize,
                        "band length %u", blen);
        }
        if (type != OFM_BAND_DROP && type != OFM_BAND_DSCP_REMARK) {
            return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                    OFPMMFC_BAD_BAND), err, errsize,
                        "band type %u (drop and dscp_remark only)", type);
        }
        if (m->n_bands == OFM_MAX_BANDS) {
            return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                    OFPMMFC_OUT_OF_BANDS), err, errsize,
                        "more than %d bands", OFM_MAX_BANDS);
        }
        b = &m->bands[m->n_bands++];
        b->type = type;
        b->rate = get32(bp + 4);
        b->burst_size = get32(bp + 8);
        b->prec_level = type == OFM_BAND_DSCP_REMARK ? bp[12] : 0;
        if (!b->rate) {
            return fail(ofperr_make(OFPET_METER_MOD_FAILED,
                                    OFPMMFC_BAD_RATE), err, errsize,
                        "band rate 0");
        }
        off += blen;
    }
    if (!m->n_bands) {
        return fail(ofperr_make(OFPET_METER_MOD_FAILED, OFPMMFC_BAD_BAND),
                    err, errsize, "a meter needs a band");
    }
    return 0;
}

static void
put_bands(struct ofbuf *b, const struct of_meter_spec *m)
{
    for (size_t i = 0; i < m->n_bands; i++) {
        const struct of_meter_band *k = &m->bands[i];

        ofbuf_put_be16(b, k->type);
        ofbuf_put_be16(b, 16);
        ofbuf_put_be32(b, k->rate);
        ofbuf_put_be32(b, k->burst_size);
        ofbuf_put_u8(b, k->type == OFM_BAND_DSCP_REMARK ? k->prec_level : 0);
        ofbuf_put(b, NULL, 3);
    }
}

void
ofm_meter_mod_encode(struct ofbuf *b, uint32_t xid,
                     const struct ofm_meter_mod *mm)
{
    size_t start = ofm_start(b, OFPT_METER_MOD, xid);

    ofbuf_put_be16(b, mm->cmd == OFGC_ADD ? OFPMC_ADD
                      : mm->cmd == OFGC_MODIFY ? OFPMC_MODIFY
                      : OFPMC_DELETE);
    ofbuf_put_be16(b, mm->spec.flags);
    ofbuf_put_be32(b, mm->spec.meter_id);
    if (mm->cmd != OFGC_DELETE) {
        put_bands(b, &mm->spec);
    }
    ofm_finish(b, start);
}

void
ofm_meter_config_encode(struct ofbuf *b, const struct of_meter_spec *m)
{
    size_t start = b->len;

    ofbuf_put_be16(b, 0);
    ofbuf_put_be16(b, m->flags);
    ofbuf_put_be32(b, m->meter_id);
    put_bands(b, m);
    if (!b->oom) {
        put16(b->data + start, (uint16_t) (b->len - start));
    }
}

void
ofm_meter_stats_encode(struct ofbuf *b, const struct ofm_meter_stats *st)
{
    size_t start = b->len;

    ofbuf_put_be32(b, st->meter_id);
    ofbuf_put_be16(b, 0);
    ofbuf_put(b, NULL, 6);
    ofbuf_put_be32(b, st->flow_count);
    ofbuf_put_be64(b, st->packets_in);
    ofbuf_put_be64(b, st->bytes_in);
    ofbuf_put_be32(b, (uint32_t) (st->age_ms / 1000));
    ofbuf_put_be32(b, (uint32_t) (st->age_ms % 1000) * 1000000u);
    for (size_t i = 0; i < st->n_bands; i++) {
        ofbuf_put_be64(b, st->band_packets[i]);
        ofbuf_put_be64(b, st->band_bytes[i]);
    }
    if (!b->oom) {
        put16(b->data + start + 4, (uint16_t) (b->len - start));
    }
}

void
ofm_meter_features_encode(struct ofbuf *b, uint32_t max_meter)
{
    ofbuf_put_be32(b, max_meter);
    ofbuf_put_be32(b, (1u << OFM_BAND_DROP) | (1u << OFM_BAND_DSCP_REMARK));
    ofbuf_put_be32(b, OFM_F_KBPS | OFM_F_PKTPS | OFM_F_BURST | OFM_F_STATS);
    ofbuf_put_u8(b, OFM_MAX_BANDS);
    ofbuf_put_u8(b, 0);                 /* max_color */
    ofbuf_put(b, NULL, 2);
}
