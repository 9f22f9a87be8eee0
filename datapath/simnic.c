/* SPDX-License-Identifier: BSD-3-Clause */
/* simnic.c: the simulated SmartNIC, a software model of a NIC flow engine. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_flow.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_rwlock.h>

#include "cls.h"
#include "dp.h"
#include "packet-rewrite.h"
#include "port.h"
#include "port-provider.h"
#include "simnic.h"
#include "tnl.h"

#define SIMNIC_MAX_RW 16
#define SIMNIC_MAX_TNL_PORTS 8  /* Distinct UDP ports of decap rules. */

enum simnic_fate {
    SF_NONE,                    /* MARK/QUEUE/RSS: to software. */
    SF_DROP,
    SF_PORT,
};

enum simnic_op {
    SOP_REWRITE,                /* rw[i] as is. */
    SOP_DEC_TTL,                /* IPv4 TTL / IPv6 hop limit - 1. */
};

struct simnic_rule {
    struct cls_rule cr;
    struct flow mask;           /* cr.mask points here. */
    struct simnic_rule *next;   /* All rules of the NIC. */
    uint16_t owner;             /* Port it was created on. */
    enum simnic_fate fate;
    uint16_t out_port;
    bool has_mark;
    uint32_t mark;
    bool is_v6;
    uint32_t age_s;
    void *age_ctx;
    bool aged_reported;
    size_t n_rw;
    uint8_t ops[SIMNIC_MAX_RW];
    struct dp_action rw[SIMNIC_MAX_RW];
    struct tnl_layout encap_lay;    /* hdr_len 0: no encapsulation. */
    uint8_t encap[TNL_HDR_MAX];     /* Outer header template. */
    bool decap;                 /* In 'dcls', matched on decap keys. */
    uint16_t tnl_port;          /* be16: a decap rule's UDP port. */
    uint64_t packets, bytes;    /* Atomics. */
    long long last_hit_ms;      /* Atomic; creation time until a hit. */
};

struct simnic_port {
    struct port_rx_hook hook;   /* First: container-of. */
    struct simnic *nic;
    struct port *port;
    uint16_t id;
    bool attached;              /* Atomic. */
};

struct simnic {
    char name[64];
    unsigned refs;              /* Registry mutex. */
    struct simnic *next;        /* Registry. */

    rte_rwlock_t lock;
    struct cls *cls;
    struct cls *dcls;           /* Decapsulation rules (decap keys). */
    size_t n_decap;             /* Rules in 'dcls'. */
    struct {
        uint16_t port;          /* be16 */
        unsigned refs;          /* Decap rules on it. */
    } tnl_ports[SIMNIC_MAX_TNL_PORTS];
    unsigned n_tnl_ports;
    struct simnic_rule *rules;
    size_t n_rules;             /* Atomic for the lock-free fast check. */
    struct simnic_params params;
    unsigned fail_next;
    unsigned fail_destroy;
    struct simnic_port ports[SIMNIC_MAX_PORTS];
    struct simnic_stats stats;  /* Writer side under the write lock;
                                 * fast-path ones atomic. */
};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct simnic *registry;

static __thread char errbuf[200];

static int
set_error(struct rte_flow_error *error, int code,
          enum rte_flow_error_type type, const void *cause,
          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
set_error(struct rte_flow_error *error, int code,
          enum rte_flow_error_type type, const void *cause,
          const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, args);
    va_end(args);
    if (error) {
        error->type = type;
        error->cause = cause;
        error->message = errbuf;
    }
    return code;
}

/* ---- Registry. ---- */

struct simnic *
simnic_get(const char *name, const struct simnic_params *p)
{
    struct simnic *nic;

    pthread_mutex_lock(&registry_mutex);
    for (nic = registry; nic; nic = nic->next) {
        if (!strcmp(nic->name, name)) {
            nic->refs++;
            pthread_mutex_unlock(&registry_mutex);
            return nic;
        }
    }
    nic = calloc(1, sizeof *nic);
    if (nic) {
        nic->cls = cls_create(NULL, NULL);
        nic->dcls = cls_create(NULL, NULL);
        if (!nic->cls || !nic->dcls) {
            cls_destroy(nic->cls);
            cls_destroy(nic->dcls);
            free(nic);
            nic = NULL;
        }
    }
    if (nic) {
        snprintf(nic->name, sizeof nic->name, "%s", name);
        nic->refs = 1;
        rte_rwlock_init(&nic->lock);
        nic->params.capacity = p && p->capacity ? p->capacity : 4096;
        nic->params.insert_rate = p ? p->insert_rate : 0;
        nic->next = registry;
        registry = nic;
    }
    pthread_mutex_unlock(&registry_mutex);
    return nic;
}

void
simnic_put(struct simnic *nic)
{
    struct simnic **p;

    if (!nic) {
        return;
    }
    pthread_mutex_lock(&registry_mutex);
    if (--nic->refs) {
        pthread_mutex_unlock(&registry_mutex);
        return;
    }
    for (p = &registry; *p != nic; p = &(*p)->next) {
        continue;
    }
    *p = nic->next;
    pthread_mutex_unlock(&registry_mutex);
    nic->fail_destroy = 0;
    while (nic->rules) {
        simnic_flow_destroy(nic, nic->rules, NULL, NULL);
    }
    cls_destroy(nic->cls);
    cls_destroy(nic->dcls);
    free(nic);
}

const char *
simnic_name(const struct simnic *nic)
{
    return nic->name;
}

void
simnic_for_each(void (*cb)(struct simnic *, void *), void *aux)
{
    pthread_mutex_lock(&registry_mutex);
    for (struct simnic *nic = registry; nic; nic = nic->next) {
        cb(nic, aux);
    }
    pthread_mutex_unlock(&registry_mutex);
}

struct simnic *
simnic_find(const char *name)
{
    struct simnic *nic;

    pthread_mutex_lock(&registry_mutex);
    for (nic = registry; nic && strcmp(nic->name, name); nic = nic->next) {
        continue;
    }
    pthread_mutex_unlock(&registry_mutex);
    return nic;
}

void
simnic_set_params(struct simnic *nic, const struct simnic_params *p)
{
    rte_rwlock_write_lock(&nic->lock);
    if (p->capacity) {
        nic->params.capacity = p->capacity;
    }
    nic->params.insert_rate = p->insert_rate;
    rte_rwlock_write_unlock(&nic->lock);
}

void
simnic_fail_next(struct simnic *nic, unsigned n)
{
    rte_rwlock_write_lock(&nic->lock);
    nic->fail_next = n;
    rte_rwlock_write_unlock(&nic->lock);
}

void
simnic_fail_destroy(struct simnic *nic, unsigned n)
{
    rte_rwlock_write_lock(&nic->lock);
    nic->fail_destroy = n;
    rte_rwlock_write_unlock(&nic->lock);
}

/* ---- Ports. ---- */

static int
simnic_hook(const struct port_rx_hook *hook, struct port *port,
            unsigned qid, struct rte_mbuf **pkts, int n)
{
    const struct simnic_port *sp = (const struct simnic_port *) hook;

    (void) port;
    (void) qid;
    if (!__atomic_load_n(&sp->attached, __ATOMIC_ACQUIRE)) {
        return n;
    }
    return simnic_rx(sp->nic, sp->id, pkts, n);
}

int
simnic_port_attach(struct simnic *nic, struct port *port, uint16_t *id)
{
    rte_rwlock_write_lock(&nic->lock);
    for (uint16_t i = 0; i < SIMNIC_MAX_PORTS; i++) {
        struct simnic_port *sp = &nic->ports[i];

        if (!sp->port) {
            sp->hook.fn = simnic_hook;
            sp->nic = nic;
            sp->port = port;
            sp->id = i;
            __atomic_store_n(&sp->attached, true, __ATOMIC_RELEASE);
            nic->stats.n_ports++;
            rte_rwlock_write_unlock(&nic->lock);
            port_set_rx_hook(port, &sp->hook);
            *id = i;
            return 0;
        }
    }
    rte_rwlock_write_unlock(&nic->lock);
    return ENOSPC;
}

void
simnic_port_detach(struct simnic *nic, uint16_t id)
{
    struct simnic_port *sp;
    unsigned fail_destroy;

    if (id >= SIMNIC_MAX_PORTS || !nic->ports[id].port) {
        return;
    }
    sp = &nic->ports[id];
    /* Nothing may refer to a detached port: no refused destroy here. */
    rte_rwlock_write_lock(&nic->lock);
    fail_destroy = nic->fail_destroy;
    nic->fail_destroy = 0;
    rte_rwlock_write_unlock(&nic->lock);
    simnic_flow_flush(nic, id);
    rte_rwlock_write_lock(&nic->lock);
    nic->fail_destroy = fail_destroy;
    rte_rwlock_write_unlock(&nic->lock);
    port_set_rx_hook(sp->port, NULL);
    rte_rwlock_write_lock(&nic->lock);
    /* A PMD may still be in the hook for one burst: it sees 'attached'
     * false (after the lock it cannot be inside simnic_rx()), and the
     * struct stays in the NIC.  The slot is not reused. */
    __atomic_store_n(&sp->attached, false, __ATOMIC_RELEASE);
    nic->stats.n_ports--;
    rte_rwlock_write_unlock(&nic->lock);
}

/* ---- Rule compilation. ---- */

struct compiled {
    struct flow flow, mask;
    enum simnic_fate fate;
    uint16_t out_port;
    bool has_mark;
    uint32_t mark;
    uint32_t age_s;
    void *age_ctx;
    size_t n_rw;
    uint8_t ops[SIMNIC_MAX_RW];
    struct dp_action rw[SIMNIC_MAX_RW];
    struct tnl_layout encap_lay;    /* hdr_len 0: no encapsulation. */
    uint8_t encap[TNL_HDR_MAX];     /* Outer header template. */
    int l3;                     /* 0, 4, 6 (the inner items' after VXLAN) */
    uint8_t l4;                 /* IP protocol of the L4 item, or 0. */
    /* A VXLAN item: 'flow' and 'mask' hold the inner items (and the VNI),
     * 'outer' and 'outer_mask' the items before it, until decap_fold()
     * makes a decap key match of both. */
    bool decap_item;
    bool decap;                 /* VXLAN_DECAP or RAW_DECAP. */
    uint16_t decap_len;         /* RAW_DECAP's size; 0: VXLAN_DECAP. */
    int outer_l3;               /* 4, 6 */
    bool outer_vlan;            /* An outer VLAN item. */
    bool ihl5;                  /* The outer IPv4 item: no options. */
    struct flow outer, outer_mask;
};

/* ---- Decapsulation keys. ----
 *
 * A decap rule is looked up in a classifier of its own by a key made of
 * the inner frame's key (flow_extract() of the frame after the outer
 * headers; in_port the NIC port it arrived on), the tunnel metadata
 * tnl_parse() gives in key.tunnel (VNI, outer addresses, TOS, TTL), and,
 * in the conntrack words that a received packet's key leaves zero, what
 * flow_tnl cannot hold of the outer headers (struct decap_outer).  The
 * rule's (flow, mask) is built the same way from its inner items, VNI
 * and outer items, so one classifier lookup finds the best rule that
 * matches all three, by priority as the main table. */
struct decap_outer {
    uint8_t l2[20];             /* dl_dst, dl_src, dl_type, vlan_tci,
                                 * vlan_tci2, pad1 */
    uint32_t ipv6_label;
    uint16_t tp_src, tp_dst;    /* Outer UDP ports. */
    uint8_t nw_proto, nw_frag;
    uint16_t hdr_len;           /* Outer header bytes (tnl_parse()'s);
                                 * exact for RAW_DECAP, which strips a
                                 * fixed length. */
};
_Static_assert(sizeof(struct decap_outer) == 32, "decap_outer size");
_Static_assert(offsetof(struct flow, ct_ipv6_dst)
               == offsetof(struct flow, ct_ipv6_src) + 16,
               "decap_outer needs 32 contiguous conntrack bytes");
_Static_assert(offsetof(struct flow, nw_src)
               == offsetof(struct flow, dl_dst) + 20, "L2 fields moved");

/* Stores the outer fields of 'outer' (a key, or a mask), with 'hdr_len',
 * in 'dst''s conntrack words. */
static void
decap_outer_put(struct flow *dst, const struct flow *outer,
                uint16_t hdr_len)
{
    struct decap_outer o;

    memcpy(o.l2, (const uint8_t *) outer + offsetof(struct flow, dl_dst),
           sizeof o.l2);
    o.ipv6_label = outer->ipv6_label;
    o.tp_src = outer->tp_src;
    o.tp_dst = outer->tp_dst;
    o.nw_proto = outer->nw_proto;
    o.nw_frag = outer->nw_frag;
    o.hdr_len = hdr_len;
    memcpy((uint8_t *) dst + offsetof(struct flow, ct_ipv6_src), &o,
           sizeof o);
}

/* Turns 'c''s inner match (with the VNI) and outer match into one decap
 * key match: the outer IP addresses, TOS and TTL as tunnel metadata,
 * the rest by decap_outer_put(). */
static void
decap_fold(struct compiled *c)
{
    struct flow *f[2] = { &c->flow, &c->mask };
    const struct flow *o[2] = { &c->outer, &c->outer_mask };

    for (int i = 0; i < 2; i++) {
        struct flow_tnl *t = &f[i]->tunnel;

        t->ip_src = o[i]->nw_src;
        t->ip_dst = o[i]->nw_dst;
        memcpy(t->ipv6_src, o[i]->ipv6_src, 16);
        memcpy(t->ipv6_dst, o[i]->ipv6_dst, 16);
        t->tos = o[i]->nw_tos;
        t->ttl = o[i]->nw_ttl;
    }
    decap_outer_put(&c->flow, &c->outer, c->decap_len);
    decap_outer_put(&c->mask, &c->outer_mask,
                    c->decap_len ? UINT16_MAX : 0);
}

/* Sets flow bits 'v' under mask 'm' (byte arrays of 'n'). */
static void
setm(void *fv, void *fm, const void *v, const void *m, size_t n)
{
    uint8_t *a = fv, *b = fm;
    const uint8_t *x = v, *y = m;

    for (size_t i = 0; i < n; i++) {
        b[i] |= y[i];
        a[i] = (uint8_t) ((a[i] & ~y[i]) | (x[i] & y[i]));
    }
}

#define SET_FIELD(C, FIELD, V, M)                                       \
    do {                                                                \
        __typeof__((C)->flow.FIELD) v_ = (V), m_ = (M);                 \
        setm(&(C)->flow.FIELD, &(C)->mask.FIELD, &v_, &m_, sizeof v_);  \
    } while (0)

static int
item_unsupported(const struct rte_flow_item *it, struct rte_flow_error *e,
                 const char *what)
{
    return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ITEM, it,
                     "simnic: %s", what);
}

/* What compile_items() tracks of one header stack (the outer headers,
 * or those of the frame a VXLAN item announces). */
struct header_state {
    bool have_vlan, eth_type_masked;
    uint16_t eth_type;
    int stage;                  /* 1 eth, 2 vlan, 3 l3, 4 l4 */
};

/* Checks the ETH item's type against the items after it, at the end of
 * a header stack. */
static int
end_headers(struct compiled *c, const struct header_state *hs,
            struct rte_flow_error *e)
{
    if (hs->eth_type_masked) {
        if (hs->have_vlan) {
            if (hs->eth_type != htons(ETH_TYPE_VLAN)
                && hs->eth_type != htons(ETH_TYPE_VLAN_8021AD)) {
                return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, NULL,
                                 "simnic: ETH type before VLAN must be a "
                                 "TPID");
            }
        } else {
            if (c->mask.dl_type && c->flow.dl_type != hs->eth_type) {
                return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, NULL,
                                 "simnic: ETH type contradicts the L3 "
                                 "item");
            }
            /* The outer ethertype: an untagged frame. */
            SET_FIELD(c, dl_type, hs->eth_type, UINT16_MAX);
            SET_FIELD(c, vlan_tci, 0, htons(FLOW_VLAN_CFI));
        }
    }
    return 0;
}

/* The VXLAN item 'it': ends the outer headers (moved to c->outer) and
 * starts the inner frame's, with the VNI. */
static int
compile_vxlan_item(const struct rte_flow_item *it, struct compiled *c,
                   struct header_state *hs, struct rte_flow_error *e)
{
    const struct rte_flow_item_vxlan *s = it->spec, *m = it->mask;
    int ret;

    if (c->decap_item) {
        return item_unsupported(it, e, "more than one tunnel item");
    }
    if (hs->stage != 4 || c->l4 != IPPROTO_UDP_) {
        return item_unsupported(it, e, "VXLAN must follow UDP");
    }
    ret = end_headers(c, hs, e);
    if (ret) {
        return ret;
    }
    /* The tunnel's UDP port: exact, or VXLAN's. */
    if (!c->mask.tp_dst) {
        SET_FIELD(c, tp_dst, htons(TNL_VXLAN_PORT), UINT16_MAX);
    } else if (c->mask.tp_dst != UINT16_MAX) {
        return item_unsupported(it, e, "partially masked tunnel UDP "
                                "port");
    }
    c->decap_item = true;
    c->outer_l3 = c->l3;
    c->outer_vlan = hs->have_vlan;
    c->outer = c->flow;
    c->outer_mask = c->mask;
    memset(&c->flow, 0, sizeof c->flow);
    memset(&c->mask, 0, sizeof c->mask);
    /* The input port is part of the inner key. */
    c->flow.in_port = c->outer.in_port;
    c->mask.in_port = c->outer_mask.in_port;
    c->outer.in_port = c->outer_mask.in_port = 0;
    memset(hs, 0, sizeof *hs);
    c->l3 = 0;
    c->l4 = 0;
    if (!s) {
        return 0;
    }
    if (!m) {
        m = &rte_flow_item_vxlan_mask;
    }
    if ((m->flags & ~0x08) || m->rsvd0[0] || m->rsvd0[1] || m->rsvd0[2]
        || m->rsvd1) {
        return item_unsupported(it, e, "VXLAN flags other than I and "
                                "reserved bits are not matchable");
    }
    if ((m->flags & 0x08) && !(s->flags & 0x08)) {
        /* Decapsulation takes only valid VXLAN (tnl_parse()). */
        return item_unsupported(it, e, "a VXLAN match without the I flag");
    }
    /* tun_id is be64 with the VNI in its low 24 bits. */
    setm((uint8_t *) &c->flow.tunnel.tun_id + 5,
         (uint8_t *) &c->mask.tunnel.tun_id + 5, s->vni, m->vni, 3);
    return 0;
}

static int
compile_items(struct simnic *nic, uint16_t owner,
              const struct rte_flow_attr *attr,
              const struct rte_flow_item *items, struct compiled *c,
              struct rte_flow_error *e)
{
    struct header_state hs = { .stage = 0 };
    int ret;

    if (!attr->transfer) {
        SET_FIELD(c, in_port, owner, UINT32_MAX);
    }
    for (const struct rte_flow_item *it = items;
         it->type != RTE_FLOW_ITEM_TYPE_END; it++) {
        const void *spec = it->spec, *mask = it->mask;

        if (it->last) {
            return item_unsupported(it, e, "ranges (item last) are not "
                                    "supported");
        }
        switch (it->type) {
        case RTE_FLOW_ITEM_TYPE_VOID:
            break;

        case RTE_FLOW_ITEM_TYPE_PORT_ID:
        case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT: {
            uint32_t id;

            if (!attr->transfer) {
                return item_unsupported(it, e, "a port item needs a "
                                        "transfer rule");
            }
            if (!spec) {
                return item_unsupported(it, e, "port item without spec");
            }
            id = it->type == RTE_FLOW_ITEM_TYPE_PORT_ID
                 ? ((const struct rte_flow_item_port_id *) spec)->id
                 : ((const struct rte_flow_item_ethdev *) spec)->port_id;
            if (id >= SIMNIC_MAX_PORTS || !nic->ports[id].port
                || !nic->ports[id].attached) {
                return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_SPEC,
                                 it, "simnic %s: no port %u", nic->name, id);
            }
            SET_FIELD(c, in_port, id, UINT32_MAX);
            break;
        }
        case RTE_FLOW_ITEM_TYPE_ETH: {
            const struct rte_flow_item_eth *s = spec, *m = mask;

            if (hs.stage >= 1) {
                return item_unsupported(it, e, "ETH must come first");
            }
            hs.stage = 1;
            if (!s) {
                break;
            }
            if (!m) {
                m = &rte_flow_item_eth_mask;
            }
            setm(c->flow.dl_dst, c->mask.dl_dst, s->dst.addr_bytes,
                 m->dst.addr_bytes, 6);
            setm(c->flow.dl_src, c->mask.dl_src, s->src.addr_bytes,
                 m->src.addr_bytes, 6);
            if (m->type) {
                hs.eth_type_masked = true;
                hs.eth_type = s->type & m->type;
                if (m->type != UINT16_MAX) {
                    return item_unsupported(it, e, "masked ethertype");
                }
            }
            if (m->has_vlan) {
                SET_FIELD(c, vlan_tci, s->has_vlan ? htons(FLOW_VLAN_CFI)
                                                   : 0,
                          htons(FLOW_VLAN_CFI));
            }
            break;
        }
        case RTE_FLOW_ITEM_TYPE_VLAN: {
            const struct rte_flow_item_vlan *s = spec, *m = mask;

            if (hs.stage != 1) {
                return item_unsupported(it, e, "VLAN must follow ETH");
            }
            hs.stage = 2;
            hs.have_vlan = true;
            SET_FIELD(c, vlan_tci, htons(FLOW_VLAN_CFI),
                      htons(FLOW_VLAN_CFI));
            if (!s) {
                break;
            }
            if (!m) {
                m = &rte_flow_item_vlan_mask;
            }
            if (m->tci & htons(FLOW_VLAN_CFI)) {
                return item_unsupported(it, e, "match on the VLAN DEI bit");
            }
            if (m->has_more_vlan && s->has_more_vlan) {
                return item_unsupported(it, e, "QinQ (more than one VLAN)");
            }
            SET_FIELD(c, vlan_tci, s->tci, m->tci);
            if (m->has_more_vlan) {
                SET_FIELD(c, vlan_tci2, 0, htons(FLOW_VLAN_CFI));
            }
            if (m->inner_type) {
                if (m->inner_type != UINT16_MAX) {
                    return item_unsupported(it, e, "masked inner type");
                }
                SET_FIELD(c, dl_type, s->inner_type, UINT16_MAX);
            }
            break;
        }
        case RTE_FLOW_ITEM_TYPE_IPV4: {
            const struct rte_flow_item_ipv4 *s = spec, *m = mask;

            if (hs.stage < 1 || hs.stage > 2) {
                return item_unsupported(it, e, "IPV4 must follow ETH or "
                                        "VLAN");
            }
            hs.stage = 3;
            c->l3 = 4;
            SET_FIELD(c, dl_type, htons(ETH_TYPE_IP), UINT16_MAX);
            if (!s) {
                break;
            }
            if (!m) {
                m = &rte_flow_item_ipv4_mask;
            }
            if (m->hdr.version_ihl == 0xff && s->hdr.version_ihl == 0x45
                && !c->decap_item) {
                /* "No options": only in a decapsulation's outer header,
                 * where it fixes the outer length (compile_decap()). */
                c->ihl5 = true;
            } else if (m->hdr.version_ihl) {
                return item_unsupported(it, e, "IPV4 version/IHL match "
                                        "other than an outer 0x45");
            }
            if (m->hdr.total_length || m->hdr.packet_id
                || m->hdr.hdr_checksum) {
                return item_unsupported(it, e, "IPV4 length/id/checksum "
                                        "are not matchable");
            }
            if (m->hdr.fragment_offset) {
                if (m->hdr.fragment_offset != htons(0x3fff)
                    || s->hdr.fragment_offset) {
                    return item_unsupported(it, e, "IPV4 fragment match "
                                            "other than \"not a "
                                            "fragment\"");
                }
                SET_FIELD(c, nw_frag, 0, FLOW_NW_FRAG_MASK);
            }
            SET_FIELD(c, nw_src, s->hdr.src_addr, m->hdr.src_addr);
            SET_FIELD(c, nw_dst, s->hdr.dst_addr, m->hdr.dst_addr);
            SET_FIELD(c, nw_tos, s->hdr.type_of_service,
                      m->hdr.type_of_service);
            SET_FIELD(c, nw_ttl, s->hdr.time_to_live, m->hdr.time_to_live);
            SET_FIELD(c, nw_proto, s->hdr.next_proto_id,
                      m->hdr.next_proto_id);
            break;
        }
        case RTE_FLOW_ITEM_TYPE_IPV6: {
            const struct rte_flow_item_ipv6 *s = spec, *m = mask;
            uint32_t vtc, vtcm;

            if (hs.stage < 1 || hs.stage > 2) {
                return item_unsupported(it, e, "IPV6 must follow ETH or "
                                        "VLAN");
            }
            hs.stage = 3;
            c->l3 = 6;
            SET_FIELD(c, dl_type, htons(ETH_TYPE_IPV6), UINT16_MAX);
            if (!s) {
                break;
            }
            if (!m) {
                m = &rte_flow_item_ipv6_mask;
            }
            vtc = ntohl(s->hdr.vtc_flow);
            vtcm = ntohl(m->hdr.vtc_flow);
            if ((vtcm & 0xf0000000) || m->hdr.payload_len
                || m->has_hop_ext || m->has_route_ext || m->has_auth_ext
                || m->has_esp_ext || m->has_dest_ext || m->has_mobil_ext
                || m->has_hip_ext || m->has_shim6_ext) {
                return item_unsupported(it, e, "IPV6 version/length/"
                                        "extension headers are not "
                                        "matchable");
            }
            if (m->has_frag_ext) {
                SET_FIELD(c, nw_frag,
                          s->has_frag_ext ? FLOW_NW_FRAG_ANY : 0,
                          FLOW_NW_FRAG_ANY);
            }
            setm(c->flow.ipv6_src, c->mask.ipv6_src, s->hdr.src_addr,
                 m->hdr.src_addr, 16);
            setm(c->flow.ipv6_dst, c->mask.ipv6_dst, s->hdr.dst_addr,
                 m->hdr.dst_addr, 16);
            SET_FIELD(c, nw_tos, (uint8_t) (vtc >> 20),
                      (uint8_t) (vtcm >> 20));
            SET_FIELD(c, ipv6_label, htonl(vtc & 0xfffff),
                      htonl(vtcm & 0xfffff));
            SET_FIELD(c, nw_proto, s->hdr.proto, m->hdr.proto);
            SET_FIELD(c, nw_ttl, s->hdr.hop_limits, m->hdr.hop_limits);
            break;
        }
        case RTE_FLOW_ITEM_TYPE_TCP:
        case RTE_FLOW_ITEM_TYPE_UDP:
        case RTE_FLOW_ITEM_TYPE_SCTP:
        case RTE_FLOW_ITEM_TYPE_ICMP:
        case RTE_FLOW_ITEM_TYPE_ICMP6: {
            uint8_t proto = it->type == RTE_FLOW_ITEM_TYPE_TCP ? IPPROTO_TCP_
                : it->type == RTE_FLOW_ITEM_TYPE_UDP ? IPPROTO_UDP_
                : it->type == RTE_FLOW_ITEM_TYPE_SCTP ? IPPROTO_SCTP_
                : it->type == RTE_FLOW_ITEM_TYPE_ICMP ? IPPROTO_ICMP_
                : IPPROTO_ICMPV6_;

            if (hs.stage != 3) {
                return item_unsupported(it, e, "an L4 item must follow "
                                        "IPV4 or IPV6");
            }
            if ((proto == IPPROTO_ICMP_ && c->l3 != 4)
                || (proto == IPPROTO_ICMPV6_ && c->l3 != 6)) {
                return item_unsupported(it, e, "ICMP item on the wrong IP "
                                        "version");
            }
            hs.stage = 4;
            c->l4 = proto;
            SET_FIELD(c, nw_proto, proto, UINT8_MAX);
            if (!spec) {
                break;
            }
            if (it->type == RTE_FLOW_ITEM_TYPE_TCP) {
                const struct rte_flow_item_tcp *s = spec, *m = mask;

                if (!m) {
                    m = &rte_flow_item_tcp_mask;
                }
                if (m->hdr.sent_seq || m->hdr.recv_ack || m->hdr.data_off
                    || m->hdr.rx_win || m->hdr.cksum || m->hdr.tcp_urp) {
                    return item_unsupported(it, e, "TCP seq/ack/offset/"
                                            "window/checksum are not "
                                            "matchable");
                }
                SET_FIELD(c, tp_src, s->hdr.src_port, m->hdr.src_port);
                SET_FIELD(c, tp_dst, s->hdr.dst_port, m->hdr.dst_port);
                SET_FIELD(c, tcp_flags, htons(s->hdr.tcp_flags),
                          htons(m->hdr.tcp_flags));
            } else if (it->type == RTE_FLOW_ITEM_TYPE_UDP) {
                const struct rte_flow_item_udp *s = spec, *m = mask;

                if (!m) {
                    m = &rte_flow_item_udp_mask;
                }
                if (m->hdr.dgram_len || m->hdr.dgram_cksum) {
                    return item_unsupported(it, e, "UDP length/checksum "
                                            "are not matchable");
                }
                SET_FIELD(c, tp_src, s->hdr.src_port, m->hdr.src_port);
                SET_FIELD(c, tp_dst, s->hdr.dst_port, m->hdr.dst_port);
            } else if (it->type == RTE_FLOW_ITEM_TYPE_SCTP) {
                const struct rte_flow_item_sctp *s = spec, *m = mask;

                if (!m) {
                    m = &rte_flow_item_sctp_mask;
                }
                if (m->hdr.tag || m->hdr.cksum) {
                    return item_unsupported(it, e, "SCTP tag/checksum are "
                                            "not matchable");
                }
                SET_FIELD(c, tp_src, s->hdr.src_port, m->hdr.src_port);
                SET_FIELD(c, tp_dst, s->hdr.dst_port, m->hdr.dst_port);
            } else if (it->type == RTE_FLOW_ITEM_TYPE_ICMP) {
                const struct rte_flow_item_icmp *s = spec, *m = mask;

                if (!m) {
                    m = &rte_flow_item_icmp_mask;
                }
                if (m->hdr.icmp_cksum || m->hdr.icmp_ident
                    || m->hdr.icmp_seq_nb) {
                    return item_unsupported(it, e, "ICMP checksum/id/seq "
                                            "are not matchable");
                }
                SET_FIELD(c, tp_src, htons(s->hdr.icmp_type),
                          htons(m->hdr.icmp_type));
                SET_FIELD(c, tp_dst, htons(s->hdr.icmp_code),
                          htons(m->hdr.icmp_code));
            } else {
                const struct rte_flow_item_icmp6 *s = spec, *m = mask;

                if (!m) {
                    m = &rte_flow_item_icmp6_mask;
                }
                if (m->checksum) {
                    return item_unsupported(it, e, "ICMP6 checksum is not "
                                            "matchable");
                }
                SET_FIELD(c, tp_src, htons(s->type), htons(m->type));
                SET_FIELD(c, tp_dst, htons(s->code), htons(m->code));
            }
            break;
        }
        case RTE_FLOW_ITEM_TYPE_VXLAN:
            ret = compile_vxlan_item(it, c, &hs, e);
            if (ret) {
                return ret;
            }
            break;

        case RTE_FLOW_ITEM_TYPE_GENEVE:
            return item_unsupported(it, e, "GENEVE decapsulation is not "
                                    "supported");

        default: {
            char what[64];

            snprintf(what, sizeof what, "pattern item type %d is not "
                     "supported", (int) it->type);
            return item_unsupported(it, e, what);
        }
        }
    }
    return end_headers(c, &hs, e);
}

static int
action_unsupported(const struct rte_flow_action *a, struct rte_flow_error *e,
                   const char *what)
{
    return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION, a,
                     "simnic: %s", what);
}

static struct dp_action *
add_rw(struct compiled *c, enum simnic_op op, uint16_t type)
{
    struct dp_action *a;

    if (c->n_rw >= SIMNIC_MAX_RW) {
        return NULL;
    }
    a = &c->rw[c->n_rw];
    memset(a, 0, sizeof *a);
    a->type = type;
    c->ops[c->n_rw++] = (uint8_t) op;
    return a;
}

/* True for the actions that rewrite the (inner) packet's headers. */
static bool
action_is_rewrite(enum rte_flow_action_type type)
{
    switch (type) {
    case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_MAC_DST:
    case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST:
    case RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP:
    case RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_IPV6_DST:
    case RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP:
    case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_TP_DST:
    case RTE_FLOW_ACTION_TYPE_SET_TTL:
    case RTE_FLOW_ACTION_TYPE_DEC_TTL:
    case RTE_FLOW_ACTION_TYPE_OF_POP_VLAN:
    case RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN:
    case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID:
    case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP:
        return true;
    default:
        return false;
    }
}

static int
bad_vxlan_definition(const struct rte_flow_action *a,
                     struct rte_flow_error *e)
{
    return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                     "simnic: VXLAN_ENCAP definition is not ETH / IPV4 or "
                     "IPV6 / UDP / VXLAN / END, each with a spec");
}

/* Builds the outer header template of VXLAN_ENCAP 'a' into 'c' from its
 * definition's specs (masks are ignored, as rte_flow documents). */
static int
compile_vxlan_encap(const struct rte_flow_action *a, struct compiled *c,
                    struct rte_flow_error *e)
{
    const struct rte_flow_action_vxlan_encap *conf = a->conf;
    struct tnl_spec ts;
    uint16_t ip_id = 0, udp_src = 0;
    uint32_t label = 0;
    int stage = 0;              /* Items seen: 1 eth, 2 ip, 3 udp, 4 vxlan */
    uint8_t *ip;
    size_t len;

    if (!conf || !conf->definition) {
        return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                         "simnic: VXLAN_ENCAP without a definition");
    }
    memset(&ts, 0, sizeof ts);
    ts.type = TNL_VXLAN;
    ts.udp_dst = htons(TNL_VXLAN_PORT);
    for (const struct rte_flow_item *it = conf->definition;
         it->type != RTE_FLOW_ITEM_TYPE_END; it++) {
        const void *spec = it->spec;

        if (it->type == RTE_FLOW_ITEM_TYPE_VOID) {
            continue;
        }
        if (it->type == RTE_FLOW_ITEM_TYPE_VLAN) {
            return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION_CONF,
                             a, "simnic: VLAN in an encapsulation header is "
                             "not supported");
        }
        if (!spec) {
            return bad_vxlan_definition(a, e);
        }
        switch (it->type) {
        case RTE_FLOW_ITEM_TYPE_ETH: {
            const struct rte_flow_item_eth *s = spec;

            if (stage != 0) {
                return bad_vxlan_definition(a, e);
            }
            /* The ethertype follows the IP item, whatever 's' says. */
            memcpy(ts.eth_dst, s->dst.addr_bytes, 6);
            memcpy(ts.eth_src, s->src.addr_bytes, 6);
            break;
        }
        case RTE_FLOW_ITEM_TYPE_IPV4: {
            const struct rte_flow_item_ipv4 *s = spec;
            uint16_t frag = ntohs(s->hdr.fragment_offset);

            if (stage != 1) {
                return bad_vxlan_definition(a, e);
            }
            if (s->hdr.version_ihl && s->hdr.version_ihl != 0x45) {
                return set_error(e, EOPNOTSUPP,
                                 RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                                 "simnic: VXLAN_ENCAP IPv4 header other "
                                 "than version 4 without options");
            }
            if (frag & ~0x4000) {
                return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF,
                                 a, "simnic: VXLAN_ENCAP IPv4 header is a "
                                 "fragment");
            }
            ts.ip_src = s->hdr.src_addr;
            ts.ip_dst = s->hdr.dst_addr;
            ts.tos = s->hdr.type_of_service;
            ts.ttl = s->hdr.time_to_live;
            ts.df = (frag & 0x4000) != 0;
            ip_id = s->hdr.packet_id;
            break;
        }
        case RTE_FLOW_ITEM_TYPE_IPV6: {
            const struct rte_flow_item_ipv6 *s = spec;
            uint32_t vtc = ntohl(s->hdr.vtc_flow);

            if (stage != 1) {
                return bad_vxlan_definition(a, e);
            }
            ts.is_ipv6 = true;
            memcpy(ts.ipv6_src, &s->hdr.src_addr, 16);
            memcpy(ts.ipv6_dst, &s->hdr.dst_addr, 16);
            ts.tos = (uint8_t) (vtc >> 20);
            ts.ttl = s->hdr.hop_limits;
            label = vtc & 0xfffff;
            break;
        }
        case RTE_FLOW_ITEM_TYPE_UDP: {
            const struct rte_flow_item_udp *s = spec;

            if (stage != 2) {
                return bad_vxlan_definition(a, e);
            }
            udp_src = s->hdr.src_port;
            if (s->hdr.dst_port) {
                ts.udp_dst = s->hdr.dst_port;
            }
            break;
        }
        case RTE_FLOW_ITEM_TYPE_VXLAN: {
            const struct rte_flow_item_vxlan *s = spec;

            if (stage != 3) {
                return bad_vxlan_definition(a, e);
            }
            /* The legacy field names: the same bytes as hdr.vx_vni. */
            ts.vni = (uint32_t) s->vni[0] << 16 | (uint32_t) s->vni[1] << 8
                     | s->vni[2];
            break;
        }
        default:
            return bad_vxlan_definition(a, e);
        }
        stage++;
    }
    if (stage != 4) {
        return bad_vxlan_definition(a, e);
    }
    len = tnl_build(&ts, c->encap, sizeof c->encap);
    tnl_layout_of(&ts, &c->encap_lay);
    if (!len || len != c->encap_lay.hdr_len) {
        return bad_vxlan_definition(a, e);   /* Not reached. */
    }
    /* What tnl_build() leaves zero: the IPv4 id (exec_encap() gives
     * tnl_finish() the template's, so it stays as defined), the IPv6 flow
     * label and the UDP source port (0: the entropy port, per packet). */
    ip = c->encap + c->encap_lay.l3_ofs;
    if (ts.is_ipv6) {
        ip[1] = (uint8_t) (ip[1] | label >> 16);
        ip[2] = (uint8_t) (label >> 8);
        ip[3] = (uint8_t) label;
    } else {
        memcpy(ip + 4, &ip_id, 2);
    }
    memcpy(c->encap + c->encap_lay.l4_ofs, &udp_src, 2);
    return 0;
}

/* Checks that the 'size' bytes at 'p' are an encapsulation header this
 * model can finish: Ethernet (no VLAN), IPv4 without options and not a
 * fragment or IPv6 followed directly by UDP, UDP, then at least 8 bytes
 * (VXLAN, GENEVE with options...).  Fills 'lay' and returns NULL, or
 * returns what is wrong. */
static const char *
raw_encap_check(const uint8_t *p, size_t size, struct tnl_layout *lay)
{
    uint16_t type;

    memset(lay, 0, sizeof *lay);
    if (size > TNL_HDR_MAX) {
        return "longer than the largest tunnel header";
    }
    if (size < 14) {
        return "too short";
    }
    type = (uint16_t) (p[12] << 8 | p[13]);
    lay->l3_ofs = 14;
    if (type == ETH_TYPE_IP) {
        if (size < 14 + 20 || p[14] != 0x45) {
            return "IPv4 header not version 4 with IHL 5";
        }
        if ((p[20] & 0x3f) || p[21]) {
            return "IPv4 fragment";
        }
        if (p[23] != IPPROTO_UDP_) {
            return "IPv4 protocol not UDP";
        }
        lay->l4_ofs = 14 + 20;
    } else if (type == ETH_TYPE_IPV6) {
        if (size < 14 + 40 || (p[14] >> 4) != 6) {
            return "IPv6 header not version 6";
        }
        if (p[20] != IPPROTO_UDP_) {
            return "IPv6 next header not UDP";
        }
        lay->is_ipv6 = true;
        lay->l4_ofs = 14 + 40;
    } else {
        return "ethertype not IPv4 or IPv6";
    }
    if (size < (size_t) lay->l4_ofs + 8 + 8) {
        return "no UDP and tunnel header";
    }
    lay->hdr_len = (uint16_t) size;
    return NULL;
}

/* Takes VXLAN_DECAP or RAW_DECAP 'a' into 'c' (after its items). */
static int
compile_decap(const struct rte_flow_action *a, struct compiled *c,
              struct rte_flow_error *e)
{
    if (!c->decap_item) {
        return action_unsupported(a, e, "decapsulation without a VXLAN "
                                  "item");
    }
    if (c->decap) {
        return action_unsupported(a, e, "more than one decapsulation");
    }
    if (c->encap_lay.hdr_len) {
        return action_unsupported(a, e, "decapsulation and encapsulation "
                                  "in one rule");
    }
    if (a->type == RTE_FLOW_ACTION_TYPE_RAW_DECAP) {
        const struct rte_flow_action_raw_decap *conf = a->conf;
        /* Ethernet, the tag, IP, UDP, VXLAN. */
        size_t want = 14 + (c->outer_vlan ? 4 : 0)
                      + (c->outer_l3 == 4 ? 20 : 40) + 8 + 8;

        if (!conf) {
            return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                             "simnic: RAW_DECAP without conf");
        }
        if (conf->size != want) {
            return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                             "simnic: RAW_DECAP size %zu is not the %zu "
                             "bytes of the pattern's outer headers",
                             conf->size, want);
        }
        c->decap_len = (uint16_t) want;
    }
    if (c->ihl5) {
        /* An outer IPv4 header without options: the outer length is
         * fixed, if the tag's presence is. */
        bool tagged;
        uint16_t len;

        if (c->outer_vlan) {
            tagged = true;
        } else if (c->outer_mask.vlan_tci & htons(FLOW_VLAN_CFI)) {
            tagged = (c->outer.vlan_tci & htons(FLOW_VLAN_CFI)) != 0;
        } else {
            return action_unsupported(a, e, "an outer IHL match needs the "
                                      "outer tag's presence matched");
        }
        len = (uint16_t) (14 + (tagged ? 4 : 0) + 20 + 8 + 8);
        if (c->decap_len && c->decap_len != len) {
            return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                             "simnic: RAW_DECAP size %u is not the %u "
                             "bytes of the outer headers", c->decap_len,
                             len);
        }
        c->decap_len = len;
    }
    c->decap = true;
    return 0;
}

/* Takes RAW_ENCAP 'a''s header into 'c'. */
static int
compile_raw_encap(const struct rte_flow_action *a, struct compiled *c,
                  struct rte_flow_error *e)
{
    const struct rte_flow_action_raw_encap *conf = a->conf;
    const char *why;

    if (!conf || !conf->data) {
        return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                         "simnic: RAW_ENCAP without data");
    }
    if (conf->preserve) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                         "simnic: RAW_ENCAP preserve is not supported");
    }
    why = raw_encap_check(conf->data, conf->size, &c->encap_lay);
    if (why) {
        memset(&c->encap_lay, 0, sizeof c->encap_lay);
        return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a,
                         "simnic: RAW_ENCAP data is not Ethernet/IP/UDP/"
                         "VXLAN or GENEVE (%s)", why);
    }
    memcpy(c->encap, conf->data, conf->size);
    return 0;
}

static int
compile_actions(struct simnic *nic, const struct rte_flow_attr *attr,
                const struct rte_flow_action *actions, struct compiled *c,
                struct rte_flow_error *e)
{
    int n_fate = 0;
    bool queue = false;
    struct dp_action *pushed = NULL;

    for (const struct rte_flow_action *a = actions;
         a->type != RTE_FLOW_ACTION_TYPE_END; a++) {
        struct dp_action *d = NULL;
        int ret;

        if (c->encap_lay.hdr_len && action_is_rewrite(a->type)) {
            /* It would apply to the outer header. */
            return action_unsupported(a, e, "header rewrite after "
                                      "encapsulation");
        }
        if (c->decap_item && !c->decap && action_is_rewrite(a->type)) {
            /* The items describe the inner packet; so do the checks of
             * the rewrites (an IPV4 item for SET_IPV4...). */
            return action_unsupported(a, e, "header rewrite before "
                                      "decapsulation");
        }
        switch (a->type) {
        case RTE_FLOW_ACTION_TYPE_VOID:
        case RTE_FLOW_ACTION_TYPE_COUNT:
            continue;

        case RTE_FLOW_ACTION_TYPE_VXLAN_DECAP:
        case RTE_FLOW_ACTION_TYPE_RAW_DECAP:
            ret = compile_decap(a, c, e);
            if (ret) {
                return ret;
            }
            continue;

        case RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP:
        case RTE_FLOW_ACTION_TYPE_RAW_ENCAP:
            if (c->encap_lay.hdr_len) {
                return action_unsupported(a, e, "more than one "
                                          "encapsulation");
            }
            if (c->decap) {
                return action_unsupported(a, e, "decapsulation and "
                                          "encapsulation in one rule");
            }
            ret = a->type == RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP
                  ? compile_vxlan_encap(a, c, e)
                  : compile_raw_encap(a, c, e);
            if (ret) {
                return ret;
            }
            continue;

        case RTE_FLOW_ACTION_TYPE_DROP:
            c->fate = SF_DROP;
            n_fate++;
            continue;

        case RTE_FLOW_ACTION_TYPE_PORT_ID:
        case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT: {
            uint32_t id;

            if (!a->conf) {
                return action_unsupported(a, e, "output without conf");
            }
            if (!attr->transfer) {
                return action_unsupported(a, e, "output to a port needs a "
                                          "transfer rule");
            }
            id = a->type == RTE_FLOW_ACTION_TYPE_PORT_ID
                 ? ((const struct rte_flow_action_port_id *) a->conf)->id
                 : ((const struct rte_flow_action_ethdev *) a->conf)
                   ->port_id;
            if (id >= SIMNIC_MAX_PORTS || !nic->ports[id].port
                || !nic->ports[id].attached) {
                return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF,
                                 a, "simnic %s: no port %u", nic->name, id);
            }
            c->fate = SF_PORT;
            c->out_port = (uint16_t) id;
            n_fate++;
            continue;
        }
        case RTE_FLOW_ACTION_TYPE_QUEUE:
        case RTE_FLOW_ACTION_TYPE_RSS:
            if (!a->conf) {
                return action_unsupported(a, e, "queue without conf");
            }
            queue = true;
            n_fate++;
            continue;

        case RTE_FLOW_ACTION_TYPE_MARK:
            if (!a->conf) {
                return action_unsupported(a, e, "MARK without conf");
            }
            c->has_mark = true;
            c->mark = ((const struct rte_flow_action_mark *) a->conf)->id;
            continue;

        case RTE_FLOW_ACTION_TYPE_AGE: {
            const struct rte_flow_action_age *age = a->conf;

            if (!age || !age->timeout) {
                return action_unsupported(a, e, "AGE needs a timeout");
            }
            c->age_s = age->timeout;
            c->age_ctx = age->context;
            continue;
        }
        case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
        case RTE_FLOW_ACTION_TYPE_SET_MAC_DST: {
            const struct rte_flow_action_set_mac *m = a->conf;
            bool dst = a->type == RTE_FLOW_ACTION_TYPE_SET_MAC_DST;

            d = add_rw(c, SOP_REWRITE, DPA_SET_ETH);
            if (d && m) {
                memcpy(dst ? d->eth.dst : d->eth.src, m->mac_addr, 6);
                memset(dst ? d->eth.dst_mask : d->eth.src_mask, 0xff, 6);
            }
            break;
        }
        case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
        case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST:
        case RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP:
            if (c->l3 != 4) {
                return action_unsupported(a, e, "SET_IPV4 without an IPV4 "
                                          "item");
            }
            d = add_rw(c, SOP_REWRITE, DPA_SET_IPV4);
            if (d && a->conf) {
                if (a->type == RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP) {
                    const struct rte_flow_action_set_dscp *s = a->conf;

                    d->ipv4.tos = (uint8_t) (s->dscp << 2);
                    d->ipv4.tos_mask = 0xfc;
                } else {
                    const struct rte_flow_action_set_ipv4 *s = a->conf;

                    if (a->type == RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC) {
                        d->ipv4.src = s->ipv4_addr;
                        d->ipv4.src_mask = UINT32_MAX;
                    } else {
                        d->ipv4.dst = s->ipv4_addr;
                        d->ipv4.dst_mask = UINT32_MAX;
                    }
                }
            }
            break;

        case RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC:
        case RTE_FLOW_ACTION_TYPE_SET_IPV6_DST:
        case RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP:
            if (c->l3 != 6) {
                return action_unsupported(a, e, "SET_IPV6 without an IPV6 "
                                          "item");
            }
            d = add_rw(c, SOP_REWRITE, DPA_SET_IPV6);
            if (d && a->conf) {
                if (a->type == RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP) {
                    const struct rte_flow_action_set_dscp *s = a->conf;

                    d->ipv6.tclass = (uint8_t) (s->dscp << 2);
                    d->ipv6.tclass_mask = 0xfc;
                } else {
                    const struct rte_flow_action_set_ipv6 *s = a->conf;
                    bool src = a->type == RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC;

                    memcpy(src ? d->ipv6.src : d->ipv6.dst, s->ipv6_addr,
                           16);
                    memset(src ? d->ipv6.src_mask : d->ipv6.dst_mask, 0xff,
                           16);
                }
            }
            break;

        case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
        case RTE_FLOW_ACTION_TYPE_SET_TP_DST:
            if (c->l4 != IPPROTO_TCP_ && c->l4 != IPPROTO_UDP_
                && c->l4 != IPPROTO_SCTP_) {
                return action_unsupported(a, e, "SET_TP without a TCP, UDP "
                                          "or SCTP item");
            }
            d = add_rw(c, SOP_REWRITE, DPA_SET_L4);
            if (d && a->conf) {
                const struct rte_flow_action_set_tp *s = a->conf;

                d->l4.proto = c->l4;
                if (a->type == RTE_FLOW_ACTION_TYPE_SET_TP_SRC) {
                    d->l4.src = s->port;
                    d->l4.src_mask = UINT16_MAX;
                } else {
                    d->l4.dst = s->port;
                    d->l4.dst_mask = UINT16_MAX;
                }
            }
            break;

        case RTE_FLOW_ACTION_TYPE_SET_TTL:
        case RTE_FLOW_ACTION_TYPE_DEC_TTL:
            if (!c->l3) {
                return action_unsupported(a, e, "TTL action without an IP "
                                          "item");
            }
            d = add_rw(c, a->type == RTE_FLOW_ACTION_TYPE_DEC_TTL
                          ? SOP_DEC_TTL : SOP_REWRITE,
                       c->l3 == 4 ? DPA_SET_IPV4 : DPA_SET_IPV6);
            if (d && a->type == RTE_FLOW_ACTION_TYPE_SET_TTL) {
                const struct rte_flow_action_set_ttl *s = a->conf;

                if (!s) {
                    return action_unsupported(a, e, "SET_TTL without conf");
                }
                if (c->l3 == 4) {
                    d->ipv4.ttl = s->ttl_value;
                    d->ipv4.ttl_mask = 0xff;
                } else {
                    d->ipv6.hlimit = s->ttl_value;
                    d->ipv6.hlimit_mask = 0xff;
                }
            }
            break;

        case RTE_FLOW_ACTION_TYPE_OF_POP_VLAN:
            d = add_rw(c, SOP_REWRITE, DPA_POP_VLAN);
            pushed = NULL;
            break;

        case RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN: {
            const struct rte_flow_action_of_push_vlan *s = a->conf;

            if (!s) {
                return action_unsupported(a, e, "OF_PUSH_VLAN without "
                                          "conf");
            }
            d = add_rw(c, SOP_REWRITE, DPA_PUSH_VLAN);
            if (d) {
                d->push_vlan.tpid = s->ethertype;
                d->push_vlan.tci = 0;
                pushed = d;
            }
            break;
        }
        case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID:
        case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP: {
            bool vid = a->type == RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID;
            uint16_t bits, mask;

            if (!a->conf) {
                return action_unsupported(a, e, "VLAN set without conf");
            }
            if (vid) {
                bits = ntohs(((const struct rte_flow_action_of_set_vlan_vid *)
                              a->conf)->vlan_vid) & FLOW_VLAN_VID_MASK;
                mask = FLOW_VLAN_VID_MASK;
            } else {
                bits = (uint16_t) ((((const struct
                                      rte_flow_action_of_set_vlan_pcp *)
                                     a->conf)->vlan_pcp & 7)
                                   << FLOW_VLAN_PCP_SHIFT);
                mask = FLOW_VLAN_PCP_MASK;
            }
            if (pushed) {
                uint16_t tci = ntohs(pushed->push_vlan.tci);

                pushed->push_vlan.tci = htons((uint16_t) ((tci & ~mask)
                                                          | bits));
                continue;
            }
            d = add_rw(c, SOP_REWRITE, DPA_SET_VLAN);
            if (d) {
                d->set_vlan.tci = htons(bits);
                d->set_vlan.tci_mask = htons(mask);
            }
            break;
        }
        default: {
            char what[64];

            snprintf(what, sizeof what, "action type %d is not supported",
                     (int) a->type);
            return action_unsupported(a, e, what);
        }
        }
        if (!d) {
            return action_unsupported(a, e, "too many header rewrites");
        }
    }
    if (n_fate > 1) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
                         "simnic: more than one fate action");
    }
    if (c->ihl5 && !c->decap) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ITEM, NULL,
                         "simnic: an IPV4 IHL match outside a "
                         "decapsulation's outer header");
    }
    if (c->decap_item && !c->decap) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
                         "simnic: a VXLAN item without a decapsulation "
                         "(matching inner headers of a packet left "
                         "encapsulated)");
    }
    if (c->decap && (c->has_mark || queue)) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
                         "simnic: decapsulation with MARK, QUEUE or RSS");
    }
    if (!n_fate && !c->has_mark) {
        return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
                         "simnic: no fate action");
    }
    if (c->encap_lay.hdr_len && (!attr->transfer || c->fate != SF_PORT)) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
                         "simnic: encapsulation needs a transfer rule with "
                         "an output port");
    }
    if (c->n_rw && c->fate != SF_PORT) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
                         "simnic: header rewrites need an output port");
    }
    return 0;
}

static int
compile(struct simnic *nic, uint16_t port, const struct rte_flow_attr *attr,
        const struct rte_flow_item *items,
        const struct rte_flow_action *actions, struct compiled *c,
        struct rte_flow_error *e)
{
    int ret;

    memset(c, 0, sizeof *c);
    if (!attr || !items || !actions) {
        return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
                         "simnic: NULL attr, pattern or actions");
    }
    if (port >= SIMNIC_MAX_PORTS || !nic->ports[port].port
        || !nic->ports[port].attached) {
        return set_error(e, ENODEV, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
                         "simnic %s: no port %u", nic->name, port);
    }
    if (attr->egress) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ATTR_EGRESS,
                         attr, "simnic: egress rules are not supported");
    }
    if (!attr->ingress && !attr->transfer) {
        return set_error(e, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, attr,
                         "simnic: ingress or transfer required");
    }
    if (attr->group) {
        return set_error(e, EOPNOTSUPP, RTE_FLOW_ERROR_TYPE_ATTR_GROUP,
                         attr, "simnic: only group 0");
    }
    ret = compile_items(nic, port, attr, items, c, e);
    if (!ret) {
        ret = compile_actions(nic, attr, actions, c, e);
    }
    if (!ret && c->decap) {
        decap_fold(c);
    }
    return ret;
}

/* ---- Rules. ---- */

/* Takes a reference on tunnel UDP port 'port' (be16) for a decap rule
 * (write lock held).  ENOSPC if the NIC has SIMNIC_MAX_TNL_PORTS others. */
static int
tnl_port_ref(struct simnic *nic, uint16_t port)
{
    unsigned i;

    for (i = 0; i < nic->n_tnl_ports; i++) {
        if (nic->tnl_ports[i].port == port) {
            nic->tnl_ports[i].refs++;
            return 0;
        }
    }
    if (i == SIMNIC_MAX_TNL_PORTS) {
        return ENOSPC;
    }
    nic->tnl_ports[i].port = port;
    nic->tnl_ports[i].refs = 1;
    nic->n_tnl_ports++;
    return 0;
}

/* Drops a reference tnl_port_ref() took (write lock held). */
static void
tnl_port_unref(struct simnic *nic, uint16_t port)
{
    for (unsigned i = 0; i < nic->n_tnl_ports; i++) {
        if (nic->tnl_ports[i].port == port) {
            if (!--nic->tnl_ports[i].refs) {
                nic->tnl_ports[i] = nic->tnl_ports[--nic->n_tnl_ports];
            }
            return;
        }
    }
}

int
simnic_flow_validate(struct simnic *nic, uint16_t port,
                     const struct rte_flow_attr *attr,
                     const struct rte_flow_item *items,
                     const struct rte_flow_action *actions,
                     struct rte_flow_error *e)
{
    struct compiled c;
    int ret;

    rte_rwlock_read_lock(&nic->lock);
    ret = compile(nic, port, attr, items, actions, &c, e);
    rte_rwlock_read_unlock(&nic->lock);
    return ret;
}

int
simnic_flow_create(struct simnic *nic, uint16_t port,
                   const struct rte_flow_attr *attr,
                   const struct rte_flow_item *items,
                   const struct rte_flow_action *actions,
                   struct simnic_rule **rulep, struct rte_flow_error *e)
{
    struct simnic_rule *r;
    struct compiled c;
    uint32_t rate;
    int ret;

    *rulep = NULL;
    rate = __atomic_load_n(&nic->params.insert_rate, __ATOMIC_RELAXED);
    if (rate) {
        /* The NIC's insertion time. */
        usleep(1000000u / rate);
    }
    rte_rwlock_write_lock(&nic->lock);
    ret = compile(nic, port, attr, items, actions, &c, e);
    if (ret) {
        nic->stats.rejected++;
        goto out;
    }
    if (nic->fail_next) {
        nic->fail_next--;
        nic->stats.insert_failed++;
        ret = set_error(e, EIO, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
                        "simnic %s: injected insertion failure", nic->name);
        goto out;
    }
    if (nic->n_rules >= nic->params.capacity) {
        nic->stats.table_full++;
        ret = set_error(e, ENOSPC, RTE_FLOW_ERROR_TYPE_HANDLE, NULL,
                        "simnic %s: flow table full (%u rules)", nic->name,
                        nic->params.capacity);
        goto out;
    }
    if (c.decap && tnl_port_ref(nic, c.outer.tp_dst)) {
        nic->stats.table_full++;
        ret = set_error(e, ENOSPC, RTE_FLOW_ERROR_TYPE_ITEM, NULL,
                        "simnic %s: decapsulation on more than %d UDP "
                        "ports", nic->name, SIMNIC_MAX_TNL_PORTS);
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        if (c.decap) {
            tnl_port_unref(nic, c.outer.tp_dst);
        }
        ret = set_error(e, ENOMEM, RTE_FLOW_ERROR_TYPE_HANDLE, NULL,
                        "simnic: out of memory");
        goto out;
    }
    r->mask = c.mask;
    cls_rule_init(&r->cr, &c.flow, &r->mask,
                  -(int32_t) (attr->priority & 0xffff));
    ret = cls_insert(c.decap ? nic->dcls : nic->cls, &r->cr);
    if (ret) {
        free(r);
        if (c.decap) {
            tnl_port_unref(nic, c.outer.tp_dst);
        }
        ret = set_error(e, ret, RTE_FLOW_ERROR_TYPE_HANDLE, NULL,
                        ret == EEXIST ? "simnic: an identical rule exists"
                                      : "simnic: out of memory");
        goto out;
    }
    r->owner = port;
    r->fate = c.fate;
    r->out_port = c.out_port;
    r->has_mark = c.has_mark;
    r->mark = c.mark;
    r->is_v6 = c.l3 == 6;
    r->age_s = c.age_s;
    r->age_ctx = c.age_ctx;
    r->n_rw = c.n_rw;
    memcpy(r->ops, c.ops, sizeof r->ops);
    memcpy(r->rw, c.rw, sizeof r->rw);
    r->encap_lay = c.encap_lay;
    memcpy(r->encap, c.encap, c.encap_lay.hdr_len);
    r->decap = c.decap;
    if (c.decap) {
        r->tnl_port = c.outer.tp_dst;
        nic->n_decap++;
    }
    r->last_hit_ms = dp_time_ms();
    r->next = nic->rules;
    nic->rules = r;
    __atomic_store_n(&nic->n_rules, nic->n_rules + 1, __ATOMIC_RELEASE);
    nic->stats.inserted++;
    *rulep = r;
out:
    rte_rwlock_write_unlock(&nic->lock);
    return ret;
}

int
simnic_flow_destroy(struct simnic *nic, struct simnic_rule *r,
                    uint64_t *packets, uint64_t *bytes)
{
    struct simnic_rule **p;

    rte_rwlock_write_lock(&nic->lock);
    for (p = &nic->rules; *p && *p != r; p = &(*p)->next) {
        continue;
    }
    if (*p && nic->fail_destroy) {
        nic->fail_destroy--;
        nic->stats.destroy_failed++;
        rte_rwlock_write_unlock(&nic->lock);
        if (packets) {
            *packets = __atomic_load_n(&r->packets, __ATOMIC_RELAXED);
        }
        if (bytes) {
            *bytes = __atomic_load_n(&r->bytes, __ATOMIC_RELAXED);
        }
        return EIO;
    }
    if (*p) {
        *p = r->next;
        if (r->decap) {
            cls_remove(nic->dcls, &r->cr);
            tnl_port_unref(nic, r->tnl_port);
            nic->n_decap--;
        } else {
            cls_remove(nic->cls, &r->cr);
        }
        __atomic_store_n(&nic->n_rules, nic->n_rules - 1, __ATOMIC_RELEASE);
        nic->stats.removed++;
    }
    rte_rwlock_write_unlock(&nic->lock);
    if (packets) {
        *packets = __atomic_load_n(&r->packets, __ATOMIC_RELAXED);
    }
    if (bytes) {
        *bytes = __atomic_load_n(&r->bytes, __ATOMIC_RELAXED);
    }
    free(r);
    return 0;
}

void
simnic_flow_query(struct simnic *nic, const struct simnic_rule *r,
                  uint64_t *packets, uint64_t *bytes)
{
    (void) nic;
    *packets = __atomic_load_n(&r->packets, __ATOMIC_RELAXED);
    *bytes = __atomic_load_n(&r->bytes, __ATOMIC_RELAXED);
}

int
simnic_get_aged_flows(struct simnic *nic, uint16_t port, void **contexts,
                      int n)
{
    long long now = dp_time_ms();
    int k = 0;

    rte_rwlock_write_lock(&nic->lock);
    for (struct simnic_rule *r = nic->rules; r && k < n; r = r->next) {
        long long last = __atomic_load_n(&r->last_hit_ms, __ATOMIC_RELAXED);

        if (r->owner == port && r->age_s && !r->aged_reported
            && now - last >= (long long) r->age_s * 1000) {
            r->aged_reported = true;
            contexts[k++] = r->age_ctx ? r->age_ctx : r;
        }
    }
    rte_rwlock_write_unlock(&nic->lock);
    return k;
}

int
simnic_flow_flush(struct simnic *nic, uint16_t port)
{
    struct simnic_rule *refused = NULL;     /* Skipped from now on. */
    int n = 0;

    for (;;) {
        struct simnic_rule *victim = NULL;
        bool past = !refused;

        rte_rwlock_read_lock(&nic->lock);
        for (struct simnic_rule *r = nic->rules; r; r = r->next) {
            if (!past) {
                past = r == refused;
                continue;
            }
            if (r->owner == port
                || (r->fate == SF_PORT && r->out_port == port)) {
                victim = r;
                break;
            }
        }
        rte_rwlock_read_unlock(&nic->lock);
        if (!victim) {
            return n;
        }
        if (simnic_flow_destroy(nic, victim, NULL, NULL)) {
            refused = victim;
        } else {
            n++;
        }
    }
}

size_t
simnic_port_n_rules(struct simnic *nic, uint16_t port)
{
    size_t n = 0;

    rte_rwlock_read_lock(&nic->lock);
    for (const struct simnic_rule *r = nic->rules; r; r = r->next) {
        n += r->owner == port;
    }
    rte_rwlock_read_unlock(&nic->lock);
    return n;
}

size_t
simnic_n_rules(struct simnic *nic)
{
    return __atomic_load_n(&nic->n_rules, __ATOMIC_ACQUIRE);
}

void
simnic_get_stats(struct simnic *nic, struct simnic_stats *s)
{
    rte_rwlock_read_lock(&nic->lock);
    *s = nic->stats;
    s->rules = nic->n_rules;
    s->capacity = nic->params.capacity;
    s->insert_rate = nic->params.insert_rate;
    rte_rwlock_read_unlock(&nic->lock);
    s->hw_packets = __atomic_load_n(&nic->stats.hw_packets,
                                    __ATOMIC_RELAXED);
    s->hw_bytes = __atomic_load_n(&nic->stats.hw_bytes, __ATOMIC_RELAXED);
    s->hw_dropped = __atomic_load_n(&nic->stats.hw_dropped,
                                    __ATOMIC_RELAXED);
    s->hw_forwarded = __atomic_load_n(&nic->stats.hw_forwarded,
                                      __ATOMIC_RELAXED);
    s->hw_tx_failed = __atomic_load_n(&nic->stats.hw_tx_failed,
                                      __ATOMIC_RELAXED);
    s->marked = __atomic_load_n(&nic->stats.marked, __ATOMIC_RELAXED);
    s->misses = __atomic_load_n(&nic->stats.misses, __ATOMIC_RELAXED);
}

/* ---- Receive path. ---- */

/* Executes the rewrites of 'r' on 'm'; false if the packet must die. */
static bool
exec_rewrites(const struct simnic_rule *r, struct rte_mbuf *m,
              struct flow *key, struct flow_layers *ly)
{
    for (size_t i = 0; i < r->n_rw; i++) {
        struct dp_action tmp = r->rw[i];
        uint8_t *frame, *old;
        size_t len, old_len;
        int err;

        if (r->ops[i] == SOP_DEC_TTL) {
            if (key->nw_ttl <= 1) {
                return false;   /* A NIC drops what would expire. */
            }
            if (tmp.type == DPA_SET_IPV4) {
                tmp.ipv4.ttl = (uint8_t) (key->nw_ttl - 1);
                tmp.ipv4.ttl_mask = 0xff;
            } else {
                tmp.ipv6.hlimit = (uint8_t) (key->nw_ttl - 1);
                tmp.ipv6.hlimit_mask = 0xff;
            }
            key->nw_ttl--;
        }
        if (m->nb_segs > 1 && rte_pktmbuf_linearize(m)) {
            return false;
        }
        frame = old = rte_pktmbuf_mtod(m, uint8_t *);
        len = old_len = rte_pktmbuf_data_len(m);
        err = pkt_rewrite(&frame, &len, rte_pktmbuf_headroom(m), ly, &tmp);
        if (err == ENOSPC) {
            return false;
        }
        if (!err && (frame != old || len != old_len)) {
            m->data_off = (uint16_t) (m->data_off + (frame - old));
            m->data_len = (uint16_t) len;
            m->pkt_len = (uint32_t) len;
        }
    }
    return true;
}

_Static_assert(offsetof(struct flow, dl_type)
               == offsetof(struct flow, dl_dst) + 12, "L2 fields moved");
_Static_assert(offsetof(struct flow, ipv6_dst) + 16
               == offsetof(struct flow, nw_src) + 40, "L3 fields moved");
_Static_assert(offsetof(struct flow, tp_dst)
               == offsetof(struct flow, tp_src) + 2, "L4 fields moved");

/* The entropy hash of an inner packet: its Ethernet addresses and type,
 * IP addresses, protocol and ports, from 'key'. */
static uint32_t
inner_hash(const struct flow *key)
{
    uint64_t w[8];              /* Aligned for rte_hash_crc()'s loads. */
    uint8_t *b = (uint8_t *) w;

    memset(w, 0, sizeof w);
    memcpy(b, key->dl_dst, 14);             /* dl_dst, dl_src, dl_type */
    memcpy(b + 16, &key->nw_src, 40);       /* nw_src .. ipv6_dst */
    b[56] = key->nw_proto;
    memcpy(b + 60, &key->tp_src, 4);        /* tp_src, tp_dst */
    return rte_hash_crc(w, sizeof w, 0);
}

/* Encapsulates 'm' (already rewritten) with 'r''s template; 'key' is its
 * key as received on NIC port 'port'.  False if the packet must die
 * (multi-segment and no memory to linearise it, no headroom, too long).
 * The IPv4 id stays the template's; a zero UDP source port becomes the
 * inner flow's entropy port; no outer UDP checksum. */
static bool
exec_encap(const struct simnic_rule *r, struct rte_mbuf *m, uint16_t port,
           const struct flow *key)
{
    const struct tnl_layout *lay = &r->encap_lay;
    uint16_t ip_id = 0, udp_src;
    bool reparse = r->n_rw > 0;
    uint8_t *p;

    if (m->nb_segs > 1) {
        if (rte_pktmbuf_linearize(m)) {
            return false;
        }
        reparse = true;         /* 'key' saw the first segment only. */
    }
    memcpy(&udp_src, r->encap + lay->l4_ofs, 2);
    if (!udp_src) {
        struct flow inner;

        if (reparse) {
            /* The NIC hashes the packet it sends, rewritten. */
            flow_extract(rte_pktmbuf_mtod(m, void *),
                         rte_pktmbuf_data_len(m), port, &inner, NULL);
            key = &inner;
        }
        udp_src = tnl_udp_src_port(inner_hash(key));
    }
    if (!lay->is_ipv6) {
        memcpy(&ip_id, r->encap + lay->l3_ofs + 4, 2);
    }
    p = (uint8_t *) rte_pktmbuf_prepend(m, lay->hdr_len);
    if (!p) {
        return false;
    }
    memcpy(p, r->encap, lay->hdr_len);
    if (!tnl_finish(p, rte_pktmbuf_pkt_len(m), lay, ip_id, udp_src)) {
        return false;
    }
    /* A new packet: the inner one's offload requests do not describe
     * it. */
    m->ol_flags &= ~RTE_MBUF_F_TX_OFFLOAD_MASK;
    return true;
}

/* Packets forwarded by full rules during one simnic_rx(), sent in
 * bursts: a run of packets to one output port goes out in one
 * port_hw_tx_burst(). */
#define SIMNIC_TX_BURST 32
struct simnic_txbuf {
    uint16_t port;                  /* NIC port id of the run. */
    int n;
    struct rte_mbuf *pkts[SIMNIC_TX_BURST];
};

/* Sends what 'tb' holds (read lock held: the output port stays attached
 * and open until the call returns). */
static void
hw_tx_flush(struct simnic *nic, struct simnic_txbuf *tb)
{
    struct simnic_port *sp;
    int n = tb->n, sent = 0;

    if (!n) {
        return;
    }
    tb->n = 0;
    sp = &nic->ports[tb->port];
    if (__atomic_load_n(&sp->attached, __ATOMIC_ACQUIRE)) {
        sent = port_hw_tx_burst(sp->port, tb->pkts, n);
    } else {
        rte_pktmbuf_free_bulk(tb->pkts, (unsigned) n);
    }
    if (sent) {
        __atomic_fetch_add(&nic->stats.hw_forwarded, (uint64_t) sent,
                           __ATOMIC_RELAXED);
    }
    if (n - sent) {
        __atomic_fetch_add(&nic->stats.hw_tx_failed, (uint64_t) (n - sent),
                           __ATOMIC_RELAXED);
    }
}

/* Queues 'm' for output on NIC port 'out'. */
static void
hw_tx_add(struct simnic *nic, struct simnic_txbuf *tb, uint16_t out,
          struct rte_mbuf *m)
{
    if (tb->n && (tb->port != out || tb->n == SIMNIC_TX_BURST)) {
        hw_tx_flush(nic, tb);
    }
    tb->port = out;
    tb->pkts[tb->n++] = m;
}

/* The UDP destination port (be16) of multi-segment 'm', an IPv4 or
 * IPv6 ('v6') packet whose IP header starts at 'l3', read across its
 * segments (its key, of the first segment, lacks the IP fields when the
 * IP length runs past it); 0 if it is not UDP or too short. */
static uint16_t
peek_udp_dst(const struct rte_mbuf *m, uint16_t l3, bool v6)
{
    uint8_t buf[20];
    const uint8_t *ip, *udp;
    uint32_t l4;
    uint16_t dst;

    ip = rte_pktmbuf_read(m, l3, v6 ? 8 : 20, buf);
    if (!ip || (ip[0] >> 4) != (v6 ? 6 : 4)
        || ip[v6 ? 6 : 9] != IPPROTO_UDP_) {
        return 0;
    }
    l4 = l3 + (v6 ? 40u : (ip[0] & 0x0fu) * 4u);
    udp = rte_pktmbuf_read(m, l4, 4, buf);
    if (!udp) {
        return 0;
    }
    memcpy(&dst, udp + 2, 2);
    return dst;
}

/* The decap rule for 'm', an IPv4 or IPv6 packet ('key', 'ly') received
 * on NIC port 'port': NULL unless it is UDP to one of the decap rules'
 * ports, tnl_parse() takes it as VXLAN and a decap rule matches.  Then
 * '*hdr_len' gets the outer header length and 'ikey', 'ily' the inner
 * frame's decap key and layout.  A multi-segment packet to such a port
 * is linearised first (and 'key', 'ly' parsed again); one that cannot be
 * is no match.  Read lock held. */
static struct simnic_rule *
decap_lookup(const struct simnic *nic, uint16_t port, struct rte_mbuf *m,
             struct flow *key, struct flow_layers *ly, struct flow *ikey,
             struct flow_layers *ily, size_t *hdr_len)
{
    const struct cls_rule *cr;
    uint16_t udp_dst = 0;
    struct flow_tnl md;
    const uint8_t *p;
    uint32_t len;
    unsigned i;

    if (m->nb_segs > 1) {
        if (ly->l3 != FLOW_OFS_NONE) {
            udp_dst = peek_udp_dst(m, ly->l3,
                                   key->dl_type == htons(ETH_TYPE_IPV6));
        }
    } else if (key->nw_proto == IPPROTO_UDP_) {
        udp_dst = key->tp_dst;
    }
    for (i = 0; i < nic->n_tnl_ports; i++) {
        if (nic->tnl_ports[i].port == udp_dst) {
            break;
        }
    }
    if (!udp_dst || i == nic->n_tnl_ports) {
        return NULL;
    }
    if (m->nb_segs > 1) {
        if (rte_pktmbuf_linearize(m)) {
            return NULL;
        }
        flow_extract(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m),
                     port, key, ly);
    }
    p = rte_pktmbuf_mtod(m, const uint8_t *);
    len = rte_pktmbuf_data_len(m);
    if (ly->l3 == FLOW_OFS_NONE
        || tnl_parse(TNL_VXLAN, p, len, ly->l3, &md, hdr_len) != TNL_OK) {
        return NULL;
    }
    flow_extract(p + *hdr_len, len - *hdr_len, port, ikey, ily);
    ikey->tunnel = md;
    decap_outer_put(ikey, key, (uint16_t) *hdr_len);
    cr = cls_lookup(nic->dcls, ikey, NULL);
    return cr ? CLS_CONTAINER_OF(cr, struct simnic_rule, cr) : NULL;
}

int
simnic_rx(struct simnic *nic, uint16_t port, struct rte_mbuf **pkts, int n)
{
    uint64_t hw_packets = 0, hw_bytes = 0, dropped = 0, marked = 0;
    uint64_t misses = 0;
    struct simnic_txbuf tb;
    long long now;
    bool decap;
    int kept = 0;

    if (!__atomic_load_n(&nic->n_rules, __ATOMIC_ACQUIRE)) {
        return n;
    }
    now = dp_time_ms();
    tb.n = 0;
    rte_rwlock_read_lock(&nic->lock);
    decap = nic->n_decap > 0;
    for (int i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        uint32_t len = rte_pktmbuf_pkt_len(m);
        struct flow_layers ly, ily, *l = &ly;
        struct simnic_rule *r = NULL;
        struct flow key, ikey, *k = &key;
        size_t hdr_len = 0;

        flow_extract(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m),
                     port, &key, &ly);
        if (decap && (key.dl_type == htons(ETH_TYPE_IP)
                      || key.dl_type == htons(ETH_TYPE_IPV6))) {
            /* Decap rules first; a packet none takes goes on to the
             * main table (by the key of the whole packet, had it to be
             * linearised). */
            r = decap_lookup(nic, port, m, &key, &ly, &ikey, &ily,
                             &hdr_len);
            if (r) {
                k = &ikey;
                l = &ily;
            }
        }
        if (!r) {
            const struct cls_rule *cr = cls_lookup(nic->cls, &key, NULL);

            if (!cr) {
                misses++;
                pkts[kept++] = m;
                continue;
            }
            r = CLS_CONTAINER_OF(cr, struct simnic_rule, cr);
        }
        __atomic_fetch_add(&r->packets, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&r->bytes, len, __ATOMIC_RELAXED);
        if (__atomic_load_n(&r->last_hit_ms, __ATOMIC_RELAXED) != now) {
            __atomic_store_n(&r->last_hit_ms, now, __ATOMIC_RELAXED);
        }
        switch (r->fate) {
        case SF_DROP:
            hw_packets++;
            hw_bytes += len;
            dropped++;
            rte_pktmbuf_free(m);
            break;
        case SF_PORT:
            hw_packets++;
            hw_bytes += len;
            if (r->decap) {
                /* The inner frame (linear: decap_lookup()); 'ily' is
                 * relative to its start.  No offload flag of the outer
                 * packet applies, as after software's tunnel pop. */
                rte_pktmbuf_adj(m, (uint16_t) hdr_len);
                m->ol_flags &= ~(RTE_MBUF_F_RX_L4_CKSUM_MASK
                                 | RTE_MBUF_F_RX_IP_CKSUM_MASK
                                 | RTE_MBUF_F_RX_VLAN
                                 | RTE_MBUF_F_RX_VLAN_STRIPPED);
            }
            if (!exec_rewrites(r, m, k, l)
                || (r->encap_lay.hdr_len && !exec_encap(r, m, port, k))) {
                dropped++;
                rte_pktmbuf_free(m);
            } else {
                hw_tx_add(nic, &tb, r->out_port, m);
            }
            break;
        case SF_NONE:
        default:
            if (r->has_mark) {
                m->ol_flags |= RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID;
                m->hash.fdir.hi = r->mark;
                marked++;
            }
            pkts[kept++] = m;
            break;
        }
    }
    hw_tx_flush(nic, &tb);
    rte_rwlock_read_unlock(&nic->lock);
    if (hw_packets) {
        __atomic_fetch_add(&nic->stats.hw_packets, hw_packets,
                           __ATOMIC_RELAXED);
        __atomic_fetch_add(&nic->stats.hw_bytes, hw_bytes, __ATOMIC_RELAXED);
    }
    if (dropped) {
        __atomic_fetch_add(&nic->stats.hw_dropped, dropped,
                           __ATOMIC_RELAXED);
    }
    if (marked) {
        __atomic_fetch_add(&nic->stats.marked, marked, __ATOMIC_RELAXED);
    }
    if (misses) {
        __atomic_fetch_add(&nic->stats.misses, misses, __ATOMIC_RELAXED);
    }
    return kept;
}
