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
 * docs/OFFLOAD.md lists what mlx5, ice and i40e answer.  Transfer rules
 * are created on the port's transfer proxy (rte_flow_pick_transfer_proxy).
 * AGE events (RTE_ETH_EVENT_FLOW_AGED) only wake the offload thread,
 * which alone calls rte_flow_get_aged_flows().
 */

#include <errno.h>
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

struct rf_priv {
    uint16_t port_id;           /* The port's ethdev. */
    uint16_t proxy_id;          /* Where transfer rules go. */
    bool event_registered;
};

struct rf_flow {
    struct rte_flow *flow;
    uint16_t port_id;           /* Where it was created. */
    bool counted;
};

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

static int
rf_port_init(struct offload_port *op, char *err, size_t errsize)
{
    struct rte_eth_dev_info info;
    struct rte_flow_error e;
    struct rf_priv *rp;
    char why[160] = "";
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
    if (op->caps.age) {
        if (!rte_eth_dev_callback_register(id, RTE_ETH_EVENT_FLOW_AGED,
                                           rf_age_event, op->mgr)) {
            rp->event_registered = true;
        } else {
            op->caps.age = false;       /* COUNT polling instead. */
        }
    }
    snprintf(op->probe, sizeof op->probe,
             "rte_flow port %u (proxy %u): full=%d partial=%d count=%d "
             "age=%d rewrite=%d vlan=%d output=%d%s%s%s", id, rp->proxy_id,
             op->caps.full, op->caps.partial, op->caps.count, op->caps.age,
             op->caps.rewrite, op->caps.vlan, op->caps.output,
             op->caps.full ? "" : " (DROP: ", op->caps.full ? "" : why,
             op->caps.full ? "" : ")");
    if (!op->caps.full && !op->caps.partial) {
        snprintf(err, errsize, "%s", op->probe);
        /* Kept: the port runs in software; offload-show explains. */
        return EOPNOTSUPP;
    }
    return 0;
}

static void
rf_port_uninit(struct offload_port *op)
{
    struct rf_priv *rp = op->priv;

    if (rp && rp->event_registered) {
        rte_eth_dev_callback_unregister(rp->port_id, RTE_ETH_EVENT_FLOW_AGED,
                                        rf_age_event, op->mgr);
        rp->event_registered = false;
    }
}

static void
rf_port_free(struct offload_port *op)
{
    rf_port_uninit(op);
    free(op->priv);
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
    struct rf_flow *f = handle;
    struct rte_flow_error e;
    int ret;

    if (rf_flow_query(op, f, last)) {
        memset(last, 0, sizeof *last);
    }
    ret = rte_flow_destroy(f->port_id, f->flow, &e);
    free(f);
    return ret ? dpdk_errno(ret) : 0;
}

static int
rf_aged_flows(struct offload_port *op, void **contexts, int n)
{
    struct rf_priv *rp = op->priv;
    struct rte_flow_error e;
    int ret;

    ret = rte_flow_get_aged_flows(rp->port_id, contexts, (uint32_t) n, &e);
    return ret < 0 ? 0 : ret;
}

static int
rf_flush(struct offload_port *op)
{
    struct rf_priv *rp = op->priv;
    struct rte_flow_error e;

    if (!rp) {
        return 0;
    }
    rte_flow_flush(rp->port_id, &e);
    return 0;
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
};
