/* SPDX-License-Identifier: BSD-3-Clause */
/* offload-rte-flow.c: the offload provider over DPDK's rte_flow API. */

/*
 * The probe at port start (offload_probe() in offload-xlate.c, shared with
 * simnic) validates one representative rule per capability
 * (rte_flow_validate, which installs nothing), so sluice adapts to what
 * the NIC takes instead of keeping a table of NIC models:
 *   full     ETH/IPV4/UDP -> DROP
 *   partial  ETH/IPV4/UDP -> MARK + QUEUE
 *   count    ... -> COUNT + DROP
 *   age      ... -> COUNT + AGE + DROP
 *   rewrite  ... -> SET_IPV4_SRC + DROP
 *   vlan     ... -> OF_POP_VLAN + DROP
 *   output   transfer REPRESENTED_PORT(self) / ETH -> REPRESENTED_PORT(self)
 *            (else the same with PORT_ID)
 * docs/OFFLOAD.md lists what mlx5, ice and i40e answer.
 *
 * Which ethdev each call goes to.  A transfer rule (full offload with an
 * output) is created on the port's transfer proxy
 * (rte_flow_pick_transfer_proxy(): on mlx5 the PF of the e-switch),
 * everything else on the port itself.  Each rule remembers that ethdev,
 * and its query and destroy go there.  rte_flow_get_aged_flows() is
 * asked on the port and on its proxy, and the AGE event callback
 * (RTE_ETH_EVENT_FLOW_AGED, which only wakes the offload thread; the
 * thread alone collects) is registered on both: the PMD raises the event
 * on the ethdev the rule lives on.  Ports that share a proxy share one
 * registration there (DPDK refuses a second identical callback, and
 * unregistering would remove it for both), counted over rf_ports.  The
 * proxy's aged list holds every port's transfer rules, so one port may
 * collect another's: the manager handles any of its records, whatever
 * port asked.
 *
 * Flush.  rte_flow_flush(proxy) would remove every port's transfer rules
 * on that e-switch, and rte_flow_flush(port) does too when the port is
 * itself the proxy of another port.  So the provider keeps every rule it
 * created per port (rf_priv.flows) and flush() destroys them one by one,
 * on the ethdev each was created on; then it calls rte_flow_flush() on
 * the port itself (rules not made by sluice) unless the port is the
 * transfer proxy of another port of this provider.  A destroy the NIC
 * refuses leaves the rule on the books: flush() tries again, and
 * port_rules_left() reports it (the manager logs it at port removal and
 * shutdown).
 *
 * MARK delivery.  Partial offload needs the NIC to hand the MARK to
 * software (RTE_MBUF_F_RX_FDIR_ID).  The dpdk port negotiated that before
 * its first configure (port_get_rx_metadata()); if the PMD refused
 * USER_MARK, the port has no partial capability (the probe summary says
 * why), and a port configured for partial offload runs in software.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

#include "offload.h"
#include "dpdk-errno.h"
#include "offload-provider.h"
#include "port.h"

/* One rule created through a port; on rf_priv.flows until destroyed. */
struct rf_flow {
    struct rte_flow *flow;
    uint16_t port_id;           /* Where it was created (port or proxy). */
    bool counted;
    bool stuck;                 /* A destroy failed: flush() retries. */
    struct rf_flow *prev, *next;
};

struct rf_priv {
    struct offload_port *op;
    uint16_t port_id;           /* The port's ethdev. */
    uint16_t proxy_id;          /* Where transfer rules go. */
    bool transfer;              /* May create transfer rules (output). */
    bool listed;                /* On rf_ports (port_init to uninit). */
    bool ev_port, ev_proxy;     /* Holds an AGE callback registration on
                                 * port_id / proxy_id. */
    struct rf_flow *flows;      /* Every rule not yet destroyed. */
    size_t n_flows;
    struct rf_priv *next;       /* rf_ports. */
};

/* Every initialised rte_flow port (shared proxies, callback counts). */
static pthread_mutex_t rf_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct rf_priv *rf_ports;

static void
rf_flow_link(struct rf_priv *rp, struct rf_flow *f)
{
    f->prev = NULL;
    f->next = rp->flows;
    if (rp->flows) {
        rp->flows->prev = f;
    }
    rp->flows = f;
    rp->n_flows++;
}

static void
rf_flow_unlink_free(struct rf_priv *rp, struct rf_flow *f)
{
    if (f->prev) {
        f->prev->next = f->next;
    } else {
        rp->flows = f->next;
    }
    if (f->next) {
        f->next->prev = f->prev;
    }
    rp->n_flows--;
    free(f);
}

/* Whether another listed port (of 'mgr', or any if NULL) holds an AGE
 * callback registration on ethdev 'id'.  rf_mutex held. */
static bool
rf_event_held(const struct rf_priv *self, uint16_t id,
              const struct offload *mgr)
{
    for (const struct rf_priv *o = rf_ports; o; o = o->next) {
        if (o != self && (!mgr || o->op->mgr == mgr)
            && ((o->ev_port && o->port_id == id)
                || (o->ev_proxy && o->proxy_id == id))) {
            return true;
        }
    }
    return false;
}

/* Whether another listed port creates its transfer rules on 'rp''s
 * ethdev.  rf_mutex held. */
static bool
rf_is_proxy_of_other(const struct rf_priv *rp)
{
    for (const struct rf_priv *o = rf_ports; o; o = o->next) {
        if (o != rp && o->transfer && o->proxy_id == rp->port_id
            && o->port_id != rp->port_id) {
            return true;
        }
    }
    return false;
}

static int
rf_age_event(uint16_t port_id, enum rte_eth_event_type type, void *mgr,
             void *ret_param)
{
    (void) port_id;
    (void) type;
    (void) ret_param;
    /* A DPDK interrupt thread: only wake the offload thread. */
    offload_wake(mgr);
    return 0;
}

static bool
rf_try(uint16_t port_id, const struct rte_flow_attr *attr,
       const struct rte_flow_item *pat, const struct rte_flow_action *act,
       char *why, size_t whysize)
{
    struct rte_flow_error e;
    int ret;

    memset(&e, 0, sizeof e);
    ret = rte_flow_validate(port_id, attr, pat, act, &e);
    if (ret && why && !why[0]) {
        snprintf(why, whysize, "%s", e.message ? e.message
                                               : strerror(-ret));
    }
    return ret == 0;
}

/* offload_probe()'s validator: transfer rules go to the transfer proxy. */
static bool
rf_validate(void *rp_, const struct rte_flow_attr *attr,
            const struct rte_flow_item *pat, const struct rte_flow_action *act,
            char *why, size_t whysize)
{
    const struct rf_priv *rp = rp_;

    return rf_try(attr->transfer ? rp->proxy_id : rp->port_id, attr, pat,
                  act, why, whysize);
}

/* Registers the AGE callback on ethdev 'id' unless another port of the
 * same manager already did.  rf_mutex held.  Returns 0 or an errno. */
static int
rf_event_get(struct rf_priv *rp, uint16_t id, bool *held)
{
    int ret = 0;

    if (!rf_event_held(rp, id, rp->op->mgr)) {
        ret = rte_eth_dev_callback_register(id, RTE_ETH_EVENT_FLOW_AGED,
                                            rf_age_event, rp->op->mgr);
    }
    *held = !ret;
    return ret;
}

/* Drops 'rp''s registration on 'id'; the last holder unregisters.
 * rf_mutex held. */
static void
rf_event_put(struct rf_priv *rp, uint16_t id, bool *held)
{
    if (!*held) {
        return;
    }
    *held = false;
    if (!rf_event_held(rp, id, rp->op->mgr)) {
        rte_eth_dev_callback_unregister(id, RTE_ETH_EVENT_FLOW_AGED,
                                        rf_age_event, rp->op->mgr);
    }
}

/* AGE events on the port and, for transfer rules, on its proxy.  Returns
 * false (nothing held) if one cannot be registered.  rf_mutex held. */
static bool
rf_events_register(struct rf_priv *rp)
{
    if (rf_event_get(rp, rp->port_id, &rp->ev_port)) {
        return false;
    }
    if (rp->transfer && rp->proxy_id != rp->port_id
        && rf_event_get(rp, rp->proxy_id, &rp->ev_proxy)) {
        rf_event_put(rp, rp->port_id, &rp->ev_port);
        return false;
    }
    return true;
}

/* Whether the MARK of a partial rule will reach software; 'how' says so
 * in a few words. */
static bool
rf_mark_delivery(const struct offload_port *op, char *how, size_t howsize)
{
    uint64_t features = 0;
    int ret = port_get_rx_metadata(op->port, &features);
    bool ok = (!ret || ret == ENOTSUP)
              && (features & RTE_ETH_RX_METADATA_USER_MARK);

    if (ok) {
        snprintf(how, howsize, "%s", ret ? "assumed (PMD has no "
                 "negotiation)" : "negotiated");
    } else if (!ret || ret == ENOTSUP) {
        snprintf(how, howsize, "refused by the PMD "
                 "(rte_eth_rx_metadata_negotiate granted 0x%llx)",
                 (unsigned long long) features);
    } else {
        snprintf(how, howsize, "unknown (rte_eth_rx_metadata_negotiate: "
                 "%s)", strerror(ret));
    }
    return ok;
}

static int
rf_port_init(struct offload_port *op, char *err, size_t errsize)
{
    struct rte_eth_dev_info info;
    struct rte_flow_error e;
    struct rf_priv *rp;
    char why[160] = "";
    char mark[96];
    bool partial_validated;
    uint16_t id;
    int ret;

    ret = port_get_dpdk_port_id(op->port, &id);
    if (ret) {
        snprintf(err, errsize, "not an ethdev port (use provider simnic)");
        return ret == ENOTSUP ? EOPNOTSUPP : ret;
    }
    rp = calloc(1, sizeof *rp);
    if (!rp) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    rp->op = op;
    rp->port_id = rp->proxy_id = id;
    memset(&e, 0, sizeof e);
    if (rte_flow_pick_transfer_proxy(id, &rp->proxy_id, &e)) {
        rp->proxy_id = id;
    }
    op->priv = rp;
    op->nic_port_id = id;
    /* One NIC = one switch domain; without one, each port is alone. */
    if (!rte_eth_dev_info_get(id, &info)
        && info.switch_info.domain_id
           != RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID) {
        snprintf(op->nic, sizeof op->nic, "domain%u",
                 (unsigned) info.switch_info.domain_id);
    }

    offload_probe(&op->caps, id, rf_validate, rp, why, sizeof why);
    partial_validated = op->caps.partial;
    op->caps.mark_delivery = rf_mark_delivery(op, mark, sizeof mark);
    if (!op->caps.mark_delivery) {
        op->caps.partial = false;   /* MARK rules whose mark never
                                     * arrives would only cost. */
    }
    rp->transfer = op->caps.output;

    pthread_mutex_lock(&rf_mutex);
    if (op->caps.age && !rf_events_register(rp)) {
        op->caps.age = false;       /* COUNT polling instead. */
    }
    pthread_mutex_unlock(&rf_mutex);
    snprintf(op->probe, sizeof op->probe,
             "rte_flow port %u (proxy %u): full=%d partial=%d count=%d "
             "age=%d rewrite=%d vlan=%d output=%d encap=%s decap=%s "
             "mark=%s%s%s%s",
             id, rp->proxy_id, op->caps.full, op->caps.partial,
             op->caps.count, op->caps.age, op->caps.rewrite, op->caps.vlan,
             op->caps.output, offload_encap_caps(&op->caps),
             offload_decap_caps(&op->caps), mark, op->caps.full ? "" : " (DROP: ",
             op->caps.full ? "" : why, op->caps.full ? "" : ")");
    if ((!op->caps.full && !op->caps.partial)
        || (op->mode == OFFLOAD_MODE_PARTIAL && !op->caps.partial)) {
        if (op->mode == OFFLOAD_MODE_PARTIAL && op->caps.full) {
            snprintf(err, errsize, "partial offload unsupported: %s",
                     partial_validated ? "MARK delivery " : "MARK + QUEUE "
                     "refused by rte_flow_validate");
            if (partial_validated) {
                size_t len = strlen(err);

                snprintf(err + len, errsize - len, "%s", mark);
            }
        } else {
            snprintf(err, errsize, "%s", op->probe);
        }
        pthread_mutex_lock(&rf_mutex);
        rf_event_put(rp, rp->port_id, &rp->ev_port);
        rf_event_put(rp, rp->proxy_id, &rp->ev_proxy);
        pthread_mutex_unlock(&rf_mutex);
        /* Kept: the port runs in software; offload-show explains. */
        return EOPNOTSUPP;
    }
    pthread_mutex_lock(&rf_mutex);
    rp->next = rf_ports;
    rf_ports = rp;
    rp->listed = true;
    pthread_mutex_unlock(&rf_mutex);
    return 0;
}

static void
rf_port_uninit(struct offload_port *op)
{
    struct rf_priv *rp = op->priv;

    if (!rp) {
        return;
    }
    pthread_mutex_lock(&rf_mutex);
    rf_event_put(rp, rp->port_id, &rp->ev_port);
    rf_event_put(rp, rp->proxy_id, &rp->ev_proxy);
    if (rp->listed) {
        struct rf_priv **p = &rf_ports;

        while (*p != rp) {
            p = &(*p)->next;
        }
        *p = rp->next;
        rp->listed = false;
    }
    pthread_mutex_unlock(&rf_mutex);
}

static void
rf_port_free(struct offload_port *op)
{
    struct rf_priv *rp = op->priv;

    rf_port_uninit(op);
    if (rp) {
        /* Rules the NIC refused to destroy: the ethdev is closed by now
         * (which removes them); only the memory is left. */
        while (rp->flows) {
            rf_flow_unlink_free(rp, rp->flows);
        }
    }
    free(rp);
    op->priv = NULL;
}

static int
rf_flow_put(struct offload_port *op, const struct rte_flow_attr *attr,
            const struct rte_flow_item *items,
            const struct rte_flow_action *actions, void **handle,
            struct rte_flow_error *error)
{
    struct rf_priv *rp = op->priv;
    struct rf_flow *f;
    uint16_t port_id = attr->transfer ? rp->proxy_id : rp->port_id;

    *handle = NULL;
    f = calloc(1, sizeof *f);
    if (!f) {
        error->message = "out of memory";
        return ENOMEM;
    }
    rte_errno = 0;
    f->flow = rte_flow_create(port_id, attr, items, actions, error);
    if (!f->flow) {
        int ret = dpdk_errno(0);

        free(f);
        /* Table full is ENOSPC (or ENOMEM on some PMDs). */
        return ret == ENOMEM ? ENOSPC : ret;
    }
    f->port_id = port_id;
    rf_flow_link(rp, f);
    for (const struct rte_flow_action *a = actions;
         a->type != RTE_FLOW_ACTION_TYPE_END; a++) {
        if (a->type == RTE_FLOW_ACTION_TYPE_COUNT) {
            f->counted = true;
        }
    }
    *handle = f;
    return 0;
}

static int
rf_flow_query(struct offload_port *op, void *handle,
              struct offload_counters *c)
{
    static const struct rte_flow_action count[] = {
        { .type = RTE_FLOW_ACTION_TYPE_COUNT },
        { .type = RTE_FLOW_ACTION_TYPE_END },
    };
    struct rf_flow *f = handle;
    struct rte_flow_query_count q;
    struct rte_flow_error e;
    int ret;

    (void) op;
    memset(c, 0, sizeof *c);
    if (!f->counted) {
        return 0;
    }
    memset(&q, 0, sizeof q);
    ret = rte_flow_query(f->port_id, f->flow, count, &q, &e);
    if (ret) {
        return dpdk_errno(ret);
    }
    c->packets = q.hits_set ? q.hits : 0;
    c->bytes = q.bytes_set ? q.bytes : 0;
    return 0;
}

static int
rf_flow_del(struct offload_port *op, void *handle,
            struct offload_counters *last)
{
    struct rf_priv *rp = op->priv;
    struct rf_flow *f = handle;
    struct rte_flow_error e;
    int ret;

    if (rf_flow_query(op, f, last)) {
        memset(last, 0, sizeof *last);
    }
    ret = rte_flow_destroy(f->port_id, f->flow, &e);
    if (ret) {
        /* Still in the NIC: kept for flush() and port_rules_left(). */
        f->stuck = true;
        return dpdk_errno(ret);
    }
    rf_flow_unlink_free(rp, f);
    return 0;
}

/* Aged rules live on the ethdev they were created on: the port for
 * ingress rules, the proxy for transfer rules. */
static int
rf_aged_flows(struct offload_port *op, void **contexts, int n)
{
    struct rf_priv *rp = op->priv;
    struct rte_flow_error e;
    int k = 0, ret;

    ret = rte_flow_get_aged_flows(rp->port_id, contexts, (uint32_t) n, &e);
    if (ret > 0) {
        k = ret;
    }
    if (rp->transfer && rp->proxy_id != rp->port_id && k < n) {
        ret = rte_flow_get_aged_flows(rp->proxy_id, contexts + k,
                                      (uint32_t) (n - k), &e);
        if (ret > 0) {
            k += ret;
        }
    }
    return k;
}

/* The provider's rules one by one, each on its own ethdev; then
 * rte_flow_flush() of the port unless it is another port's proxy (see
 * the top of the file). */
static int
rf_flush(struct offload_port *op)
{
    struct rf_priv *rp = op->priv;
    struct rte_flow_error e;
    struct rf_flow *f, *next;
    bool proxy_of_other;
    int n = 0;

    if (!rp) {
        return 0;
    }
    for (f = rp->flows; f; f = next) {
        next = f->next;
        memset(&e, 0, sizeof e);
        if (!rte_flow_destroy(f->port_id, f->flow, &e)) {
            rf_flow_unlink_free(rp, f);
            n++;
        } else {
            f->stuck = true;
        }
    }
    pthread_mutex_lock(&rf_mutex);
    proxy_of_other = rf_is_proxy_of_other(rp);
    pthread_mutex_unlock(&rf_mutex);
    memset(&e, 0, sizeof e);
    if (!proxy_of_other && !rte_flow_flush(rp->port_id, &e)) {
        /* Whatever was still on the port itself is gone with it. */
        for (f = rp->flows; f; f = next) {
            next = f->next;
            if (f->port_id == rp->port_id) {
                rf_flow_unlink_free(rp, f);
                n++;
            }
        }
    }
    return n;
}

static size_t
rf_port_rules_left(struct offload_port *op)
{
    const struct rf_priv *rp = op->priv;

    return rp ? rp->n_flows : 0;
}

static size_t
rf_n_rules_left(void)
{
    size_t n = 0;

    pthread_mutex_lock(&rf_mutex);
    for (const struct rf_priv *rp = rf_ports; rp; rp = rp->next) {
        n += rp->n_flows;
    }
    pthread_mutex_unlock(&rf_mutex);
    return n;
}

const struct offload_class offload_rte_flow_class = {
    .name = "rte_flow",
    .default_port_type = "dpdk",
    .port_type = "dpdk",
    .port_init = rf_port_init,
    .port_uninit = rf_port_uninit,
    .port_free = rf_port_free,
    .flow_put = rf_flow_put,
    .flow_del = rf_flow_del,
    .flow_query = rf_flow_query,
    .aged_flows = rf_aged_flows,
    .flush = rf_flush,
    .port_rules_left = rf_port_rules_left,
    .n_rules_left = rf_n_rules_left,
};
