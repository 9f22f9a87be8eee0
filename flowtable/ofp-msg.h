/* SPDX-License-Identifier: BSD-3-Clause */
/* ofp-msg.h: OpenFlow 1.3 messages on the wire: decode and encode. */
#ifndef SLUICE_OFP_MSG_H
#define SLUICE_OFP_MSG_H 1

/*
 * What
 *   The binary side of OpenFlow 1.3 (wire version 0x04) for the switch:
 *   message headers, OXM matches, instructions and actions (the standard
 *   ones and the Nicira extensions Open vSwitch's tools send for what
 *   OpenFlow 1.3 lacks: resubmit, ct, ct_clear, nat), flow mods, the
 *   multipart requests the switch answers, bundles (ONF extension 230),
 *   and the replies it sends.
 *   Decoding turns a message into the structures the rest of sluice uses
 *   (struct of_match, struct of_actions, struct of_flow_spec); encoding
 *   turns them back.  ovs-ofctl and controllers read what this writes.
 *
 * Design
 *   Decoders read a byte range and never outside it; every length field
 *   is checked against the range before it is used.  A refusal is an
 *   OpenFlow error (type, code) as ofperr_make() packs it, plus a sentence
 *   for logs in 'err'.  The codes are the ones Open vSwitch 3.1 returns for
 *   the same fault where the two agree on the fault.
 *
 *   Matches: every OXM (OpenFlow basic class 0x8000) and NXM (classes
 *   0x0000 and 0x0001, Open vSwitch's extensions carried in OXM form) field
 *   that has a sluice field (meta-flow.h), and the ONF experimenter form of
 *   tcp_flags.  Values are pre-masked (OpenFlow says a value bit outside
 *   its mask is an error; Open vSwitch accepts and clears it, and so does
 *   sluice); a field twice is DUP_FIELD, an unknown one BAD_FIELD, a field
 *   whose prerequisites the match lacks BAD_PREREQ.  Encoding writes each
 *   field the match does not wildcard, in the form Open vSwitch 3.1 writes
 *   for OpenFlow 1.3 (OXM basic where it has one), prerequisites first.
 *
 *   Instructions: meter (as a meter:N first in the list), apply_actions,
 *   write_actions, clear_actions, write_metadata and goto_table.
 *   Actions: output (the
 *   reserved ports as sluice's in_port/flood/all/NORMAL/controller
 *   actions, max_len kept for CONTROLLER; TABLE only in a packet-out's
 *   list), set_field, push_vlan,
 *   pop_vlan, dec_nw_ttl, and the Nicira resubmit, resubmit_table, ct,
 *   ct_clear, nat (inside ct), dec_ttl and reg_load (of a field set_field
 *   cannot reach in OpenFlow 1.3, as Open vSwitch writes masked set_field).
 *
 *   Port numbers: OpenFlow 1.3 uses 32 bits; reserved ports are
 *   0xfffffff8..0xffffffff.  sluice's are 16-bit (actions.h OFPP_*):
 *   ofm_port_from_wire()/ofm_port_to_wire() map them.
 *
 *   Encoders append to a struct ofbuf (growable; an allocation failure is
 *   remembered in ofbuf.oom and later appends do nothing).  ofm_start()
 *   opens a message, ofm_finish() writes its length.  Multipart replies
 *   longer than a message can carry are split (struct ofm_mp).
 *
 * Thread-safety
 *   Reentrant; no global state.
 *
 * Ownership
 *   Decoded actions (in a spec or *out) are new memory the caller frees
 *   (of_flow_spec_uninit() / free()).  An ofbuf owns its data until
 *   ofbuf_uninit() or ofbuf_steal().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actions.h"
#include "ofp-parse.h"
#include "ofproto.h"

#define OFP13_VERSION 0x04
#define OFP_HEADER_LEN 8
#define OFP_MAX_MSG_LEN 65535
#define OFP_NO_BUFFER 0xffffffffu
#define OFPG_ANY 0xffffffffu
#define OFPTT_ALL 0xff
#define OFP_DEFAULT_MISS_SEND_LEN 128

enum ofp_type {
    OFPT_HELLO = 0,
    OFPT_ERROR = 1,
    OFPT_ECHO_REQUEST = 2,
    OFPT_ECHO_REPLY = 3,
    OFPT_EXPERIMENTER = 4,
    OFPT_FEATURES_REQUEST = 5,
    OFPT_FEATURES_REPLY = 6,
    OFPT_GET_CONFIG_REQUEST = 7,
    OFPT_GET_CONFIG_REPLY = 8,
    OFPT_SET_CONFIG = 9,
    OFPT_PACKET_IN = 10,
    OFPT_FLOW_REMOVED = 11,
    OFPT_PORT_STATUS = 12,
    OFPT_PACKET_OUT = 13,
    OFPT_FLOW_MOD = 14,
    OFPT_GROUP_MOD = 15,
    OFPT_PORT_MOD = 16,
    OFPT_TABLE_MOD = 17,
    OFPT_MULTIPART_REQUEST = 18,
    OFPT_MULTIPART_REPLY = 19,
    OFPT_BARRIER_REQUEST = 20,
    OFPT_BARRIER_REPLY = 21,
    OFPT_QUEUE_GET_CONFIG_REQUEST = 22,
    OFPT_QUEUE_GET_CONFIG_REPLY = 23,
    OFPT_ROLE_REQUEST = 24,
    OFPT_ROLE_REPLY = 25,
    OFPT_GET_ASYNC_REQUEST = 26,
    OFPT_GET_ASYNC_REPLY = 27,
    OFPT_SET_ASYNC = 28,
    OFPT_METER_MOD = 29,
};

enum ofp_multipart_type {
    OFPMP_DESC = 0,
    OFPMP_FLOW = 1,
    OFPMP_AGGREGATE = 2,
    OFPMP_TABLE = 3,
    OFPMP_PORT_STATS = 4,
    OFPMP_QUEUE = 5,
    OFPMP_GROUP = 6,
    OFPMP_GROUP_DESC = 7,
    OFPMP_GROUP_FEATURES = 8,
    OFPMP_METER = 9,
    OFPMP_METER_CONFIG = 10,
    OFPMP_METER_FEATURES = 11,
    OFPMP_TABLE_FEATURES = 12,
    OFPMP_PORT_DESC = 13,
    OFPMP_EXPERIMENTER = 0xffff,
};
#define OFPMPF_MORE 0x0001

/* Error types and the codes sluice uses. */
enum ofp_error_type {
    OFPET_HELLO_FAILED = 0,
    OFPET_BAD_REQUEST = 1,
    OFPET_BAD_ACTION = 2,
    OFPET_BAD_INSTRUCTION = 3,
    OFPET_BAD_MATCH = 4,
    OFPET_FLOW_MOD_FAILED = 5,
    OFPET_GROUP_MOD_FAILED = 6,
    OFPET_PORT_MOD_FAILED = 7,
    OFPET_TABLE_MOD_FAILED = 8,
    OFPET_QUEUE_OP_FAILED = 9,
    OFPET_SWITCH_CONFIG_FAILED = 10,
    OFPET_ROLE_REQUEST_FAILED = 11,
    OFPET_METER_MOD_FAILED = 12,
    OFPET_TABLE_FEATURES_FAILED = 13,
};
#define OFPHFC_INCOMPATIBLE 0
#define OFPBRC_BAD_VERSION 0
#define OFPBRC_BAD_TYPE 1
#define OFPBRC_BAD_MULTIPART 2
#define OFPBRC_BAD_EXPERIMENTER 3
#define OFPBRC_BAD_EXP_TYPE 4
#define OFPBRC_EPERM 5
#define OFPBRC_BAD_LEN 6
#define OFPBRC_BUFFER_UNKNOWN 8
#define OFPBRC_BAD_TABLE_ID 9
#define OFPBRC_IS_SLAVE 10
#define OFPBRC_BAD_PORT 11
#define OFPBRC_BAD_PACKET 12
#define OFPBRC_MULTIPART_BUFFER_OVERFLOW 13
#define OFPBAC_BAD_TYPE 0
#define OFPBAC_BAD_LEN 1
#define OFPBAC_BAD_EXPERIMENTER 2
#define OFPBAC_BAD_EXP_TYPE 3
#define OFPBAC_BAD_OUT_PORT 4
#define OFPBAC_BAD_ARGUMENT 5
#define OFPBAC_TOO_MANY 7
#define OFPBAC_UNSUPPORTED_ORDER 8
#define OFPBAC_BAD_OUT_GROUP 9
#define OFPBAC_MATCH_INCONSISTENT 10
#define OFPBAC_BAD_SET_TYPE 13
#define OFPBAC_BAD_SET_LEN 14
#define OFPBAC_BAD_SET_ARGUMENT 15
#define OFPBIC_UNKNOWN_INST 0
#define OFPBIC_UNSUP_INST 1
#define OFPBIC_BAD_TABLE_ID 2
#define OFPBIC_BAD_EXPERIMENTER 5
#define OFPBIC_BAD_LEN 7
#define OFPBMC_BAD_TYPE 0
#define OFPBMC_BAD_LEN 1
#define OFPBMC_BAD_WILDCARDS 5
#define OFPBMC_BAD_FIELD 6
#define OFPBMC_BAD_VALUE 7
#define OFPBMC_BAD_MASK 8
#define OFPBMC_BAD_PREREQ 9
#define OFPBMC_DUP_FIELD 10
#define OFPFMFC_UNKNOWN 0
#define OFPFMFC_TABLE_FULL 1
#define OFPFMFC_BAD_TABLE_ID 2
#define OFPFMFC_OVERLAP 3
#define OFPFMFC_EPERM 4
#define OFPFMFC_BAD_TIMEOUT 5
#define OFPFMFC_BAD_COMMAND 6
#define OFPFMFC_BAD_FLAGS 7
#define OFPSCFC_BAD_FLAGS 0
#define OFPRRFC_STALE 0
#define OFPRRFC_UNSUP 1
#define OFPRRFC_BAD_ROLE 2

/* Bundles in OpenFlow 1.3: ONF extension 230, as Open vSwitch speaks it
 * (OFPT_EXPERIMENTER with the ONF experimenter id; the body after the
 * experimenter header is OpenFlow 1.4's bundle message). */
#define OFP_ONF_EXPERIMENTER 0x4f4e4600u
#define ONFT_BUNDLE_CONTROL 2300
#define ONFT_BUNDLE_ADD_MESSAGE 2301
enum ofp_bundle_ctrl_type {
    OFPBCT_OPEN_REQUEST = 0,
    OFPBCT_OPEN_REPLY = 1,
    OFPBCT_CLOSE_REQUEST = 2,
    OFPBCT_CLOSE_REPLY = 3,
    OFPBCT_COMMIT_REQUEST = 4,
    OFPBCT_COMMIT_REPLY = 5,
    OFPBCT_DISCARD_REQUEST = 6,
    OFPBCT_DISCARD_REPLY = 7,
};
#define OFPBF_ATOMIC 0x1
#define OFPBF_ORDERED 0x2
/* Bundle failures (OpenFlow 1.4 OFPBFC_*).  In OpenFlow 1.3 they are ONF
 * experimenter errors whose exp_type is 2300 + the code: ofperr_bundle()
 * makes one, ofm_error() writes it so. */
#define OFPBFC_UNKNOWN 0
#define OFPBFC_EPERM 1
#define OFPBFC_BAD_ID 2
#define OFPBFC_BUNDLE_EXIST 3
#define OFPBFC_BUNDLE_CLOSED 4
#define OFPBFC_OUT_OF_BUNDLES 5
#define OFPBFC_BAD_TYPE 6
#define OFPBFC_BAD_FLAGS 7
#define OFPBFC_MSG_BAD_LEN 8
#define OFPBFC_MSG_BAD_XID 9
#define OFPBFC_MSG_UNSUP 10
#define OFPBFC_MSG_CONFLICT 11
#define OFPBFC_MSG_TOO_MANY 12
#define OFPBFC_MSG_FAILED 13
#define OFPBFC_TIMEOUT 14
#define OFPBFC_BUNDLE_IN_PROGRESS 15

/* An OpenFlow error as one number: 0 = none. */
typedef uint32_t ofperr;
static inline ofperr
ofperr_make(uint16_t type, uint16_t code)
{
    return 0x80000000u | ((uint32_t) (type & 0x7fff) << 16) | code;
}
static inline uint16_t ofperr_type(ofperr e) { return (e >> 16) & 0x7fff; }
static inline uint16_t ofperr_code(ofperr e) { return e & 0xffff; }
/* The type ofperr_bundle() uses: an ONF experimenter error, whose
 * exp_type is the code. */
#define OFPERR_TYPE_ONF 0x7fff
static inline ofperr
ofperr_bundle(uint16_t bfc)
{
    return ofperr_make(OFPERR_TYPE_ONF, (uint16_t) (ONFT_BUNDLE_CONTROL
                                                    + bfc));
}

/* The type ofperr_nx() uses: a Nicira experimenter error (type
 * OFPET_EXPERIMENTER, experimenter NX_VENDOR_ID), whose exp_type is the
 * code, as Open vSwitch sends its own errors in OpenFlow 1.2+. */
#define OFPERR_TYPE_NX 0x7ffe
static inline ofperr
ofperr_nx(uint16_t code)
{
    return ofperr_make(OFPERR_TYPE_NX, code);
}
#define NXFMFC_INVALID_TLV_FIELD 37     /* A tun_metadata field unmapped. */
#define NXTTMFC_BAD_COMMAND 16          /* TLV table mod failures. */
#define NXTTMFC_BAD_OPT_LEN 17
#define NXTTMFC_BAD_FIELD_IDX 18
#define NXTTMFC_TABLE_FULL 19
#define NXTTMFC_ALREADY_MAPPED 20
#define NXTTMFC_DUP_ENTRY 21
#define NXTTMFC_INVALID_TLV_DEL 38

/* An instruction given twice: OpenFlow 1.3 has no code for it; Open
 * vSwitch sends the ONF extension's (OpenFlow 1.4's OFPBIC_DUP_INST). */
#define OFPERR_DUP_INSTRUCTION ofperr_make(OFPERR_TYPE_ONF, 2600)

/* Flow mod flags. */
#define OFPFF_SEND_FLOW_REM 0x0001
#define OFPFF_CHECK_OVERLAP 0x0002
#define OFPFF_RESET_COUNTS 0x0004
#define OFPFF_NO_PKT_COUNTS 0x0008
#define OFPFF_NO_BYT_COUNTS 0x0010

/* Controller roles. */
#define OFPCR_ROLE_NOCHANGE 0
#define OFPCR_ROLE_EQUAL 1
#define OFPCR_ROLE_MASTER 2
#define OFPCR_ROLE_SLAVE 3

/* ---- A growable byte buffer. ---- */

struct ofbuf {
    uint8_t *data;
    size_t len, cap;
    bool oom;                   /* An append failed: the contents are
                                 * incomplete. */
};

void ofbuf_init(struct ofbuf *);
void ofbuf_uninit(struct ofbuf *);
void ofbuf_clear(struct ofbuf *);
/* Appends 'n' bytes ('p' NULL: zeros); returns where they start, or NULL
 * when out of memory (b->oom set). */
uint8_t *ofbuf_put(struct ofbuf *, const void *p, size_t n);
void ofbuf_put_u8(struct ofbuf *, uint8_t);
void ofbuf_put_be16(struct ofbuf *, uint16_t host);
void ofbuf_put_be32(struct ofbuf *, uint32_t host);
void ofbuf_put_be64(struct ofbuf *, uint64_t host);
/* Pads with zeros to a multiple of 8 bytes from 'start'. */
void ofbuf_pad8(struct ofbuf *, size_t start);

/* Big-endian fields of a message (the caller checked the length). */
static inline uint16_t
ofm_get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}
static inline uint32_t
ofm_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}
static inline uint64_t
ofm_get64(const uint8_t *p)
{
    return (uint64_t) ofm_get32(p) << 32 | ofm_get32(p + 4);
}

/* ---- Headers. ---- */

struct ofp_hdr {
    uint8_t version;
    uint8_t type;
    uint16_t length;
    uint32_t xid;
};

/* Reads the 8-byte header at 'p' (at least 8 bytes). */
void ofm_header_read(const uint8_t *p, struct ofp_hdr *);
/* Starts a message of 'type' with 'xid' at the end of 'b'; returns its
 * offset, which ofm_finish() takes. */
size_t ofm_start(struct ofbuf *b, uint8_t type, uint32_t xid);
/* Writes the length of the message started at 'start'.  Returns false
 * (and sets b->oom) when it is longer than OFP_MAX_MSG_LEN. */
bool ofm_finish(struct ofbuf *b, size_t start);

/* HELLO with a version bitmap element announcing OpenFlow 1.3. */
void ofm_hello(struct ofbuf *b, uint32_t xid);
/* The highest version both sides speak, from a received HELLO (its
 * header version and, if present, its version bitmap): OFP13_VERSION, or
 * 0 if the peer does not speak OpenFlow 1.3. */
uint8_t ofm_hello_negotiate(const uint8_t *msg, size_t len);
/* ERROR 'e' for the request 'req' (its first 64 bytes are echoed). */
void ofm_error(struct ofbuf *b, uint32_t xid, ofperr e, const uint8_t *req,
               size_t req_len);
/* A reply that is the request with another type (ECHO_REPLY, BARRIER). */
void ofm_simple(struct ofbuf *b, uint8_t type, uint32_t xid,
                const uint8_t *body, size_t body_len);

/* ---- Ports. ---- */

/* 32-bit wire port -> sluice port (actions.h), false if it has none. */
bool ofm_port_from_wire(uint32_t wire, uint32_t *port);
uint32_t ofm_port_to_wire(uint32_t port);

/* ---- Matches. ---- */

/* Decodes the ofp_match at 'p' ('len' bytes available) into 'm'; sets
 * *consumed to its length padded to 8.  Returns 0 or an error. */
ofperr ofm_match_decode(const uint8_t *p, size_t len, struct of_match *m,
                        size_t *consumed, char *err, size_t errsize);
/* Appends 'm' as an ofp_match (padded to 8). */
void ofm_match_encode(struct ofbuf *b, const struct of_match *m);

/* ---- Instructions and actions. ---- */

/* Decodes the instructions at 'p' (exactly 'len' bytes) of a flow in
 * 'table_id' into a new action list.  'match' is the flow's match (for the
 * prerequisites of set_field), may be NULL. */
ofperr ofm_instructions_decode(const uint8_t *p, size_t len,
                               const struct of_match *match,
                               struct of_actions **out, char *err,
                               size_t errsize);
/* Decodes a bare action list (PACKET_OUT, buckets). */
ofperr ofm_actions_decode(const uint8_t *p, size_t len,
                          const struct of_match *match,
                          struct of_actions **out, char *err,
                          size_t errsize);
/* Appends the instructions for 'acts' (apply_actions with the actions up
 * to a goto_table, then goto_table).  'match' (NULL: none) is the flow's:
 * a set_field of a field with a form per protocol (tp_src: TCP, UDP or
 * SCTP; icmp_type: ICMPv4 or ICMPv6) is written in the form of the
 * match's protocol, as Open vSwitch does. */
void ofm_instructions_encode(struct ofbuf *b, const struct of_actions *acts,
                             const struct of_match *match);
void ofm_actions_encode(struct ofbuf *b, const struct of_actions *acts,
                        const struct of_match *match);

/* ---- Flow mods. ---- */

struct ofm_flow_mod {
    struct of_flow_spec spec;   /* actions owned (NULL for deletes). */
    enum of_flow_cmd cmd;
    uint16_t flags;             /* OFPFF_* */
    uint32_t buffer_id;
    uint32_t out_group;
};

/* Decodes a FLOW_MOD message (header included, 'len' = its length).  On
 * error nothing needs freeing. */
ofperr ofm_flow_mod_decode(const uint8_t *msg, size_t len,
                           struct ofm_flow_mod *fm, char *err,
                           size_t errsize);
/* Appends a FLOW_MOD for 'fm' (for tests and tools). */
void ofm_flow_mod_encode(struct ofbuf *b, uint32_t xid,
                         const struct ofm_flow_mod *fm);

/* ---- Bundles (ONF extension 230). ---- */

/* A bundle control or add message. */
struct ofm_bundle {
    uint32_t exp_type;          /* ONFT_BUNDLE_CONTROL or _ADD_MESSAGE */
    uint32_t bundle_id;
    uint16_t type;              /* Control: OFPBCT_* */
    uint16_t flags;             /* OFPBF_* */
    const uint8_t *msg;         /* Add: the message added (its header */
    size_t msg_len;             /* length, checked: 8 <= it <= the rest). */
};
/* Decodes an OFPT_EXPERIMENTER message 'msg' of 'len' bytes if it is an
 * ONF bundle message: returns 0 and fills 'bm'; an ONF bundle message
 * that is malformed gives its OFPBFC_* error; another ONF message
 * BAD_EXP_TYPE, any other experimenter's BAD_EXPERIMENTER (or BAD_LEN).  Properties are ignored.  An
 * added message must have the add's version and xid (MSG_BAD_LEN,
 * MSG_BAD_XID); what it is, the caller checks. */
ofperr ofm_bundle_decode(const uint8_t *msg, size_t len,
                         struct ofm_bundle *bm, char *err, size_t errsize);
/* A bundle control message (the reply to a request, or for tests a
 * request). */
void ofm_bundle_ctrl(struct ofbuf *b, uint32_t xid, uint32_t bundle_id,
                     uint16_t type, uint16_t flags);
/* A bundle add message carrying the message 'm' ('m_len' bytes, its xid
 * rewritten to 'xid'), for tests. */
void ofm_bundle_add(struct ofbuf *b, uint32_t xid, uint32_t bundle_id,
                    uint16_t flags, const uint8_t *m, size_t m_len);

/* ---- Nicira messages: the GENEVE TLV table. ---- */

/* NXT_TLV_TABLE_MOD, _REQUEST and _REPLY, as ovs-ofctl add-tlv-map,
 * del-tlv-map and dump-tlv-map speak them: a mapping is (option class,
 * type, length) -> tun_metadata<index>. */
#define NXT_TLV_TABLE_MOD 24
#define NXT_TLV_TABLE_REQUEST 25
#define NXT_TLV_TABLE_REPLY 26
#define NXTTMC_ADD 0
#define NXTTMC_DELETE 1
#define NXTTMC_CLEAR 2
#define OFM_TLV_MAX_MAPS 64             /* Open vSwitch's field count. */

struct ofm_tlv_map {
    uint16_t opt_class;
    uint8_t type;
    uint8_t len;                /* Option data bytes. */
    uint16_t index;             /* tun_metadata<index> */
};
struct ofm_nx {
    uint32_t subtype;           /* NXT_* */
    uint16_t command;           /* TLV_TABLE_MOD: NXTTMC_* */
    size_t n_maps;
    struct ofm_tlv_map maps[OFM_TLV_MAX_MAPS];
};
/* Decodes an OFPT_EXPERIMENTER message 'msg' of 'len' bytes if it is a
 * Nicira TLV table mod or request, into 'nx': 0; as Open vSwitch checks
 * them: a command other than ADD, DELETE, CLEAR is NXTTMFC_BAD_COMMAND, an
 * option length not a multiple of 4 or above 124 NXTTMFC_BAD_OPT_LEN, an
 * index above 63 NXTTMFC_BAD_FIELD_IDX (what sluice itself can map, the
 * caller checks).  Another Nicira message is BAD_EXP_TYPE; a message of
 * another experimenter BAD_EXPERIMENTER; a body of the wrong size
 * BAD_LEN. */
ofperr ofm_nx_decode(const uint8_t *msg, size_t len, struct ofm_nx *nx,
                     char *err, size_t errsize);
/* True if 'msg' (an OFPT_EXPERIMENTER of at least 12 bytes) is
 * Nicira's. */
bool ofm_is_nx(const uint8_t *msg, size_t len);
/* NXT_TLV_TABLE_REPLY: the table's limits and its mappings. */
void ofm_tlv_table_reply(struct ofbuf *b, uint32_t xid,
                         uint32_t max_option_space, uint16_t max_fields,
                         const struct ofm_tlv_map *maps, size_t n);
/* NXT_TLV_TABLE_MOD (for tests): 'command' with 'n' mappings. */
void ofm_tlv_table_mod(struct ofbuf *b, uint32_t xid, uint16_t command,
                       const struct ofm_tlv_map *maps, size_t n);

/* ---- Multipart. ---- */

struct ofm_mp_request {
    uint16_t type;              /* OFPMP_* */
    uint16_t flags;
    const uint8_t *body;
    size_t body_len;
};
ofperr ofm_mp_request_decode(const uint8_t *msg, size_t len,
                             struct ofm_mp_request *);

/* Flow and aggregate stats requests: a filter for ofproto_dump(). */
ofperr ofm_flow_stats_request_decode(const uint8_t *body, size_t len,
                                     struct of_flow_spec *filter,
                                     char *err, size_t errsize);

/* A multipart reply being built: entries are appended one at a time and
 * the reply is split into messages of at most OFP_MAX_MSG_LEN bytes, each
 * but the last with OFPMPF_MORE. */
struct ofm_mp {
    struct ofbuf *b;
    size_t start;               /* The open message. */
    uint16_t type;
    uint32_t xid;
    size_t entry;               /* Where the current entry starts. */
};
void ofm_mp_start(struct ofm_mp *, struct ofbuf *b, uint16_t type,
                  uint32_t xid);
/* Brackets one entry: the entry's bytes are appended to b between
 * ofm_mp_entry_begin() and ofm_mp_entry_end(). */
void ofm_mp_entry_begin(struct ofm_mp *);
void ofm_mp_entry_end(struct ofm_mp *);
void ofm_mp_finish(struct ofm_mp *);

/* One flow stats entry for 'r' at time 'now_ms'. */
void ofm_flow_stats_encode(struct ofbuf *b, const struct ofproto_rule_info *r,
                           long long now_ms);

struct ofm_desc {
    const char *mfr, *hw, *sw, *serial, *dp;
};
void ofm_desc_encode(struct ofbuf *b, const struct ofm_desc *);

struct ofm_port {
    uint32_t port_no;           /* sluice numbering */
    uint8_t hw_addr[6];
    char name[16];
    uint32_t config, state;     /* OFPPC_*, OFPPS_* */
    uint32_t curr, advertised, supported, peer;
    uint32_t curr_speed, max_speed;     /* kbps */
};
#define OFPPC_PORT_DOWN 0x01
#define OFPPS_LINK_DOWN 0x01
#define OFPPS_LIVE 0x04
#define OFPPF_10GB_FD 0x0040
#define OFPPF_OTHER 0x2000
void ofm_port_encode(struct ofbuf *b, const struct ofm_port *);

struct ofm_port_stats {
    uint32_t port_no;
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    uint64_t rx_dropped, tx_dropped, rx_errors, tx_errors;
    uint32_t duration_sec, duration_nsec;
};
void ofm_port_stats_encode(struct ofbuf *b, const struct ofm_port_stats *);

struct ofm_table_stats {
    uint8_t table_id;
    uint32_t active_count;
    uint64_t lookup_count, matched_count;
};
void ofm_table_stats_encode(struct ofbuf *b, const struct ofm_table_stats *);

/* One table's features (OFPMP_TABLE_FEATURES): what sluice's tables take
 * (apply_actions and goto_table; the fields this codec matches and
 * sets; the tables after it). */
void ofm_table_features_encode(struct ofbuf *b, uint8_t table_id,
                               const char *name, uint32_t max_entries);

/* PACKET_IN (never buffered): the match carries in_port. */
struct ofm_packet_in {
    uint32_t in_port;           /* sluice numbering */
    uint16_t total_len;
    uint8_t reason;             /* OFPR_*: 0 no match, 1 action */
    uint8_t table_id;
    uint64_t cookie;
    const uint8_t *data;
    size_t len;
    /* NULL, or the pipeline metadata for the match: its OpenFlow metadata,
     * registers and conntrack fields, each written when nonzero (as Open
     * vSwitch fills a packet-in's match); in_port always. */
    const struct flow *meta;
};
void ofm_packet_in(struct ofbuf *b, uint32_t xid,
                   const struct ofm_packet_in *);

/* PACKET_OUT: 'actions' new memory (free()), 'data' points into 'msg'. */
struct ofm_packet_out {
    uint32_t buffer_id;
    uint32_t in_port;           /* sluice numbering: a port, CONTROLLER or
                                 * LOCAL */
    struct of_actions *actions;
    const uint8_t *data;
    size_t data_len;
};
ofperr ofm_packet_out_decode(const uint8_t *msg, size_t len,
                             struct ofm_packet_out *po, char *err,
                             size_t errsize);

/* FLOW_REMOVED for 'r' (its final counters), reason OFPRR_*: 0 idle
 * timeout, 1 hard timeout, 2 delete. */
void ofm_flow_removed(struct ofbuf *b, const struct ofproto_rule_info *r,
                      uint8_t reason, long long now_ms);

/* ---- Groups. ---- */
#define OFPGMFC_GROUP_EXISTS 0
#define OFPGMFC_INVALID_GROUP 1
#define OFPGMFC_OUT_OF_BUCKETS 4
#define OFPGMFC_LOOP 7
#define OFPGMFC_UNKNOWN_GROUP 8
#define OFPGMFC_CHAINED_GROUP 9
#define OFPGMFC_BAD_TYPE 10
#define OFPGMFC_BAD_COMMAND 11
#define OFPGMFC_BAD_BUCKET 12
#define OFPGMFC_BAD_WATCH 13

struct ofm_group_mod {
    enum of_group_cmd cmd;
    struct of_group_spec spec;  /* Buckets owned (of_group_spec_uninit). */
};
/* GROUP_MOD -> 'gm' (a delete carries only the id, maybe OFG_ALL).  On
 * error nothing needs freeing. */
ofperr ofm_group_mod_decode(const uint8_t *msg, size_t len,
                            struct ofm_group_mod *gm, char *err,
                            size_t errsize);
void ofm_group_mod_encode(struct ofbuf *b, uint32_t xid,
                          const struct ofm_group_mod *gm);
/* Multipart entries: GROUP_DESC, GROUP (stats: ref_count, age and the
 * counters of 'st'), GROUP_FEATURES (the four types, weights, liveness,
 * chaining). */
struct ofm_group_stats {
    uint32_t ref_count;
    long long age_ms;
    uint64_t packets, bytes;
    /* g->n_buckets each; NULL: zero. */
    const uint64_t *bucket_packets, *bucket_bytes;
};
void ofm_group_desc_encode(struct ofbuf *b, const struct of_group_spec *g);
void ofm_group_stats_encode(struct ofbuf *b, const struct of_group_spec *g,
                            const struct ofm_group_stats *st);
void ofm_group_features_encode(struct ofbuf *b, uint32_t max_groups);

/* ---- Meters. ---- */
#define OFPMMFC_METER_EXISTS 1
#define OFPMMFC_INVALID_METER 2
#define OFPMMFC_UNKNOWN_METER 3
#define OFPMMFC_BAD_COMMAND 4
#define OFPMMFC_BAD_FLAGS 5
#define OFPMMFC_BAD_RATE 6
#define OFPMMFC_BAD_BAND 8
#define OFPMMFC_OUT_OF_METERS 10
#define OFPMMFC_OUT_OF_BANDS 11

struct ofm_meter_mod {
    enum of_group_cmd cmd;      /* ADD, MODIFY, DELETE */
    struct of_meter_spec spec;
};
/* METER_MOD -> 'mm' (a delete carries only the id, maybe OFM_ALL). */
ofperr ofm_meter_mod_decode(const uint8_t *msg, size_t len,
                            struct ofm_meter_mod *mm, char *err,
                            size_t errsize);
void ofm_meter_mod_encode(struct ofbuf *b, uint32_t xid,
                          const struct ofm_meter_mod *mm);
/* Multipart entries: METER_CONFIG, METER (stats), METER_FEATURES. */
void ofm_meter_config_encode(struct ofbuf *b, const struct of_meter_spec *m);
struct ofm_meter_stats {
    uint32_t meter_id;
    uint32_t flow_count;
    uint64_t packets_in, bytes_in;
    long long age_ms;
    size_t n_bands;
    uint64_t band_packets[OFM_MAX_BANDS], band_bytes[OFM_MAX_BANDS];
};
void ofm_meter_stats_encode(struct ofbuf *b, const struct ofm_meter_stats *);
void ofm_meter_features_encode(struct ofbuf *b, uint32_t max_meter);

struct ofm_features {
    uint64_t datapath_id;
    uint32_t n_buffers;
    uint8_t n_tables;
    uint32_t capabilities;      /* OFPC_* */
};
#define OFPC_FLOW_STATS 0x01
#define OFPC_TABLE_STATS 0x02
#define OFPC_PORT_STATS 0x04
void ofm_features_reply(struct ofbuf *b, uint32_t xid,
                        const struct ofm_features *);

#endif /* ofp-msg.h */
