/* SPDX-License-Identifier: BSD-3-Clause */
/* ofp-parse.h: Open vSwitch flow syntax (matches, actions): parse, format. */
#ifndef SLUICE_OFP_PARSE_H
#define SLUICE_OFP_PARSE_H 1

/*
 * What
 *   The text a user gives ovs-ofctl ("priority=100,tcp,nw_src=10.0.0.0/8,
 *   tp_dst=80,actions=mod_nw_src:1.2.3.4,resubmit(,2)") turned into a match
 *   (struct flow value + struct flow mask), flow-mod parameters and an
 *   of_actions list; and the reverse, formatted the way ovs-ofctl
 *   dump-flows prints it.
 *
 * Design
 *   Items are "key=value" (or "key:value", "key(value)") separated by commas
 *   or white space; "actions=" ends the match part and everything after it
 *   is the action list.  Field names, widths, masks and prerequisites come
 *   from meta-flow.h.  Prerequisites are checked after the whole match is
 *   read (so "nw_src=1.2.3.4,ip" is fine), only for fields the match does
 *   not fully wildcard.  Matches are pre-masked (flow & wc == flow).
 *   Errors name the item and its 1-based column in the text given, e.g.
 *   "unknown field 'nw_srcx' at column 14".
 *
 *   Formatting: "priority=N,SHORTHAND,field=value,..." with a shorthand
 *   (ip, tcp, udp6, arp...) when dl_type/nw_proto make it so, ports and
 *   numeric fields in decimal, masks as value/mask, IPv4/IPv6 prefixes as
 *   /LEN; actions as "output:2,mod_nw_src:1.2.3.4,resubmit(,2),NORMAL",
 *   "drop" for an empty list.  parse(format(parse(x))) == parse(x).
 *
 *   The format functions truncate to 'size' - 1 characters, always
 *   NUL-terminate (when size > 0) and return strlen(buf).
 *
 * Thread-safety
 *   Reentrant; no global state.
 *
 * Ownership
 *   of_flow_parse() fills a caller-provided spec whose 'actions' are new
 *   memory owned by the spec (of_flow_spec_uninit() frees them; the spec's
 *   previous contents are not freed).  of_actions_parse() returns a new list
 *   the caller frees with free().  On error nothing needs freeing: the spec
 *   is left zeroed (actions NULL) and *out is NULL.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actions.h"
#include "flow.h"
#include "meta-flow.h"

struct of_match {
    struct flow flow;           /* Pre-masked: flow & wc == flow. */
    struct flow wc;             /* 1-bits matter. */
};

/* Matches everything: flow and wc all zero. */
void of_match_init_catchall(struct of_match *);
bool of_match_equal(const struct of_match *, const struct of_match *);

enum of_flow_cmd {
    OFFC_ADD,
    OFFC_MODIFY,
    OFFC_MODIFY_STRICT,
    OFFC_DELETE,
    OFFC_DELETE_STRICT,
    OFFC_MATCH                  /* dump-flows filter */
};

#define OF_DEFAULT_PRIORITY 32768

struct of_flow_spec {
    struct of_match match;
    int32_t priority;           /* Default OF_DEFAULT_PRIORITY. */
    bool priority_set;
    uint8_t table_id;           /* add: default 0; mod/del/dump: 0xff = all */
    bool table_set;             /*   tables unless set. */
    uint64_t cookie, cookie_mask;   /* cookie=V[/M]; M only for mod/del/ */
                                    /* dump; without /M the mask is 0 (for */
                                    /* add/modify: V is the new cookie). */
    uint16_t idle_timeout, hard_timeout;    /* add/modify only. */
    uint32_t out_port;          /* mod/del/dump filter, OFPP_NONE = any. */
    bool out_group_set;         /* mod/del/dump filter: rules whose */
    uint32_t out_group;         /*   actions use group 'out_group'. */
    bool send_flow_rem;         /* add: report the rule's removal. */
    bool reset_counts;          /* add/modify: the rule's counters start
                                 * at 0 (else a modify, and an add that
                                 * replaces an identical rule, keep them;
                                 * OFPFF_RESET_COUNTS). */
    struct of_actions *actions; /* Owned; NULL when not given. */
};

/* Parses 'text' for 'cmd' into 'spec' (fully overwritten).  Returns 0, or
 * EINVAL with a message in 'err' (may be NULL), or ENOMEM.  "actions=" is
 * required for OFFC_ADD/MODIFY*, refused for DELETE* and MATCH.
 * idle_timeout/hard_timeout are refused for DELETE* and MATCH, out_port and
 * a cookie mask for ADD.  As in Open vSwitch, "set_field:V->F" requires F's
 * prerequisites in the match ("mod_nw_src:" etc. do not: at run time they
 * do nothing to packets that lack the header). */
int of_flow_parse(struct of_flow_spec *spec, const char *text,
                  enum of_flow_cmd cmd, char *err, size_t errsize);
/* GENEVE options (tun_metadata0..7) against a bridge's TLV map: 'lens[i]'
 * is the length tun_metadata<i> is mapped to (0: unmapped).  Returns 0;
 * ENOKEY when the spec's match or a set_field names an unmapped one (Open
 * vSwitch's NXFMFC_INVALID_TLV_FIELD); ERANGE when a matched value needs
 * more bytes than the option has, EOVERFLOW when a set value does (Open
 * vSwitch keeps its leading bytes); each with a message in 'err'. */
int of_flow_spec_check_tlv(const struct of_flow_spec *spec,
                           const uint8_t lens[FLOW_TNL_MD_SLOTS], char *err,
                           size_t errsize);
/* The same for an action list alone (a group's bucket). */
int of_actions_check_tlv(const struct of_actions *acts,
                         const uint8_t lens[FLOW_TNL_MD_SLOTS], char *err,
                         size_t errsize);
/* The tun_metadata slots (bit i: tun_metadata<i>) a match (its mask) and
 * actions name; either may be NULL. */
uint8_t of_tlv_slots_used(const struct flow *mask,
                          const struct of_actions *acts);

/* Frees spec->actions and sets it NULL; NULL-safe. */
void of_flow_spec_uninit(struct of_flow_spec *spec);

/* "priority=N,tcp,nw_src=...": 'priority' INT32_MIN omits the priority.
 * An empty match is "" (or "priority=N"). */
size_t of_match_format(char *buf, size_t size, const struct of_match *,
                       int32_t priority);
/* "output:2,NORMAL" or "drop".  NULL formats as "drop". */
size_t of_actions_format(char *buf, size_t size, const struct of_actions *);
/* A whole spec as add-flow text: "[table=T,][cookie=0x..,]
 * [idle_timeout=..,][hard_timeout=..,]priority=N[,match] actions=..."
 * (the actions part omitted when spec->actions is NULL). */
size_t of_flow_format(char *buf, size_t size, const struct of_flow_spec *);

/* Parses an action list (the text after "actions=").  Returns 0 with a new
 * list in *out (caller frees with free()), or EINVAL/ENOMEM with *out NULL
 * and a message in 'err'.  Columns in errors are relative to 'text'. */
int of_actions_parse(const char *text, struct of_actions **out, char *err,
                     size_t errsize);

/* Port numbers as text: "LOCAL", "IN_PORT", "NORMAL", "FLOOD", "ALL",
 * "CONTROLLER", "TABLE", "NONE" (case-insensitive, "ANY" = NONE) or a number
 * 0..0xffff.  Returns true on success. */
bool of_port_from_string(const char *s, uint32_t *port);
/* Formats 'port' (names for the reserved ones); returns strlen(buf). */
size_t of_port_format(char *buf, size_t size, uint32_t port);

/* ---- Groups (ovs-ofctl add-group syntax). ----
 *
 * "group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=..."
 * A bucket is [weight:W,][watch_port:P,][watch_group:G,][bucket_id:I,]
 * then its actions, with or without "actions=" (goto_table is refused).
 * With 'buckets' false (a delete): only group_id, which may be "all". */
#define OFG_TYPE_ALL 0
#define OFG_TYPE_SELECT 1
#define OFG_TYPE_INDIRECT 2
#define OFG_TYPE_FF 3
#define OFG_MAX_ID 0xffffff00u      /* OFPG_MAX */
#define OFG_ALL 0xfffffffcu         /* OFPG_ALL: every group (delete) */
#define OFG_ANY 0xffffffffu         /* OFPG_ANY: none (watch_group) */
#define OFG_MAX_BUCKETS 32

struct of_bucket {
    uint16_t weight;            /* select; default 1 */
    uint32_t watch_port;        /* OFPP_NONE: none */
    uint32_t watch_group;       /* OFG_ANY: none */
    struct of_actions *actions; /* Owned. */
};

struct of_group_spec {
    uint32_t group_id;
    uint8_t type;               /* OFG_TYPE_* */
    size_t n_buckets;
    struct of_bucket *buckets;  /* Owned. */
};

/* Returns 0, or EINVAL/ENOMEM with 'err' filled (nothing to free). */
int of_group_parse(struct of_group_spec *g, const char *text, bool buckets,
                   char *err, size_t errsize);
void of_group_spec_uninit(struct of_group_spec *g);
/* As ovs-ofctl dump-groups prints it (without the leading space). */
size_t of_group_format(char *buf, size_t size, const struct of_group_spec *g);

/* ---- Meters (ovs-ofctl add-meter syntax). ----
 *
 * "meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100"
 * (pktps instead of kbps; a band of type dscp_remark takes prec_level;
 * more bands each start with type=).  kbps by default.  With 'bands'
 * false (a delete): only meter=, which may be "all". */
#define OFM_MAX_ID 0xffff0000u      /* OFPM_MAX */
#define OFM_ALL 0xffffffffu         /* OFPM_ALL */
#define OFM_MAX_BANDS 4
#define OFM_F_KBPS 0x1
#define OFM_F_PKTPS 0x2
#define OFM_F_BURST 0x4
#define OFM_F_STATS 0x8
#define OFM_BAND_DROP 1
#define OFM_BAND_DSCP_REMARK 2

struct of_meter_band {
    uint16_t type;              /* OFM_BAND_* */
    uint8_t prec_level;         /* dscp_remark */
    uint32_t rate;              /* kbps or packets/s */
    uint32_t burst_size;        /* kb or packets (with OFM_F_BURST) */
};

struct of_meter_spec {
    uint32_t meter_id;
    uint16_t flags;             /* OFM_F_* */
    size_t n_bands;
    struct of_meter_band bands[OFM_MAX_BANDS];
};

void of_meter_init(struct of_meter_spec *m);
/* Returns 0, or EINVAL with 'err' filled. */
int of_meter_parse(struct of_meter_spec *m, const char *text, bool bands,
                   char *err, size_t errsize);
size_t of_meter_format(char *buf, size_t size,
                       const struct of_meter_spec *m);

#endif /* ofp-parse.h */
