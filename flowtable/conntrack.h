/* SPDX-License-Identifier: BSD-3-Clause */
/* conntrack.h: connection tracking shared by every PMD (API contract; the
 * implementation lands with flowtable/conntrack.c). */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

/* ct_state bits: same values as Open vSwitch. */
#define CS_NEW 0x01
#define CS_ESTABLISHED 0x02
#define CS_RELATED 0x04
#define CS_REPLY_DIR 0x08
#define CS_INVALID 0x10
#define CS_TRACKED 0x20
#define CS_SRC_NAT 0x40
#define CS_DST_NAT 0x80

struct ct_conn;
struct conntrack;

struct ct_tuple {
    uint8_t src[16], dst[16];
    uint16_t src_port, dst_port;   /* be16 */
    uint16_t zone;                 /* host order */
    uint8_t nw_proto;
    uint8_t is_ipv6;
    uint8_t icmp_type, icmp_code;
};

struct ct_md {
    uint8_t state;
    uint16_t zone;
    uint32_t mark;
    uint8_t label[16];
    struct ct_tuple orig;
    bool has_orig;
    struct ct_conn *conn;
};

#define CT_NAT_SRC 0x01
#define CT_NAT_DST 0x02
#define CT_NAT_RANDOM 0x04
#define CT_NAT_HASH 0x08
#define CT_NAT_PERSISTENT 0x10
#define CT_NAT_REVERSE 0x20
struct ct_nat {
    uint8_t flags;
    uint8_t is_ipv6;
    uint8_t addr_min[16], addr_max[16];
    uint16_t port_min, port_max;
};

#define CT_F_COMMIT 0x01
#define CT_F_FORCE 0x02
#define CT_F_SET_MARK 0x04
#define CT_F_SET_LABEL 0x08
struct ct_exec {
    uint16_t zone;
    uint8_t flags;
    uint32_t mark, mark_mask;
    uint8_t label[16], label_mask[16];
    struct ct_nat nat;
};

struct ct_pkt {
    uint8_t *data;
    uint32_t len;
    struct flow_layers layers;
    const struct flow *flow;
    struct ct_md *md;
};

typedef void ct_defer_free_fn(void *ptr, void *aux);

struct conntrack *conntrack_create(ct_defer_free_fn *defer_free, void *aux);
void conntrack_destroy(struct conntrack *);
void conntrack_execute(struct conntrack *, struct ct_pkt *pkts, size_t n,
                       const struct ct_exec *exec, uint64_t now_ms);
size_t conntrack_sweep(struct conntrack *, uint64_t now_ms, size_t budget);

enum ct_close_reason { CT_CLOSE_IDLE, CT_CLOSE_FIN, CT_CLOSE_RST,
                       CT_CLOSE_FLUSH, CT_CLOSE_EVICT };
struct ct_conn_info {
    struct ct_tuple orig, reply;
    uint32_t mark;
    uint8_t label[16];
    const char *proto_state;
    uint8_t tcp_state_orig, tcp_state_reply;
    uint64_t packets[2], bytes[2];
    uint64_t created_ms, last_ms;
    int64_t expires_in_ms;
    bool committed;
    uint8_t nat_flags;
};
typedef void ct_event_fn(const struct ct_conn_info *, enum ct_close_reason,
                         void *aux);
void conntrack_set_event_cb(struct conntrack *, ct_event_fn *, void *aux);
size_t conntrack_flush(struct conntrack *, const uint16_t *zone,
                       const struct ct_tuple *tuple, uint64_t now_ms);
void conntrack_dump(struct conntrack *, const uint16_t *zone, uint64_t now_ms,
                    void (*cb)(const struct ct_conn_info *, void *),
                    void *aux);
void conntrack_set_max_conns(struct conntrack *, uint32_t);
int conntrack_set_zone_limit(struct conntrack *, uint16_t zone, uint32_t);
void ct_conn_info_format(const struct ct_conn_info *, char *buf, size_t);

#endif /* conntrack.h */
