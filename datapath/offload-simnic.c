/* SPDX-License-Identifier: BSD-3-Clause */
/* offload-simnic.c: the "simnic" offload provider: makes the software
 * SmartNIC model of simnic.h an offload_class (offload-provider.h). */

/*
 * One simnic per NIC group name (a port's "offload": {"nic": ...}, by
 * default the port's own name), shared by every port of that group, so a
 * full rule may output from one to another.  The probe is
 * offload_probe()'s with simnic_flow_validate(); the NIC's size and
 * insertion rate come from the manager's config (simnic_capacity,
 * simnic_insert_rate).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_flow.h>

#include "offload.h"
#include "offload-provider.h"
#include "simnic.h"

struct simnic_priv {
    struct simnic *nic;
    uint16_t id;
    bool attached;
};

/* offload_probe()'s validator. */
static bool
simnic_validate(void *sp_, const struct rte_flow_attr *attr,
                const struct rte_flow_item *pat,
                const struct rte_flow_action *act, char *why, size_t whysize)
{
    const struct simnic_priv *sp = sp_;
    struct rte_flow_error e;

    memset(&e, 0, sizeof e);
    if (!simnic_flow_validate(sp->nic, sp->id, attr, pat, act, &e)) {
        return true;
    }
    if (why && !why[0]) {
        snprintf(why, whysize, "%s", e.message ? e.message : "refused");
    }
    return false;
}

/* Probes with offload_probe()'s representative rules. */
static void
simnic_probe(struct offload_port *op, struct simnic_priv *sp)
{
    char why[160] = "";

    offload_probe(&op->caps, sp->id, simnic_validate, sp, why, sizeof why);
    snprintf(op->probe, sizeof op->probe,
             "simnic %s port %u: full=%d partial=%d count=%d age=%d "
             "rewrite=%d vlan=%d output=%d encap=%s decap=%s%s%s%s",
             simnic_name(sp->nic), sp->id,
             op->caps.full, op->caps.partial, op->caps.count, op->caps.age,
             op->caps.rewrite, op->caps.vlan, op->caps.output,
             offload_encap_caps(&op->caps), offload_decap_caps(&op->caps),
             op->caps.full ? "" : " (DROP: ", op->caps.full ? "" : why,
             op->caps.full ? "" : ")");
}

static int
sim_port_init(struct offload_port *op, char *err, size_t errsize)
{
    struct simnic_params params = {
        .capacity = 4096, .insert_rate = 0,
    };
    struct simnic_priv *sp = calloc(1, sizeof *sp);
    int ret;

    if (!sp) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    if (op->cfg) {
        params.capacity = op->cfg->simnic_capacity ? op->cfg->simnic_capacity
                                                   : 4096;
        params.insert_rate = op->cfg->simnic_insert_rate;
    }
    sp->nic = simnic_get(op->nic, &params);
    if (!sp->nic) {
        free(sp);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    ret = simnic_port_attach(sp->nic, op->port, &sp->id);
    if (ret) {
        simnic_put(sp->nic);
        free(sp);
        snprintf(err, errsize, "simnic %s: too many ports (%d)", op->nic,
                 SIMNIC_MAX_PORTS);
        return ret;
    }
    sp->attached = true;
    op->priv = sp;
    op->nic_port_id = sp->id;
    simnic_probe(op, sp);
    /* The model sets the mark in the mbuf itself. */
    op->caps.mark_delivery = true;
    return 0;
}

static void
sim_port_uninit(struct offload_port *op)
{
    struct simnic_priv *sp = op->priv;

    if (sp && sp->attached) {
        simnic_port_detach(sp->nic, sp->id);
        sp->attached = false;
    }
}

static void
sim_port_free(struct offload_port *op)
{
    struct simnic_priv *sp = op->priv;

    if (sp) {
        sim_port_uninit(op);
        simnic_put(sp->nic);
        free(sp);
        op->priv = NULL;
    }
}

static int
sim_flow_put(struct offload_port *op, const struct rte_flow_attr *attr,
             const struct rte_flow_item *items,
             const struct rte_flow_action *actions, void **handle,
             struct rte_flow_error *error)
{
    struct simnic_priv *sp = op->priv;
    struct simnic_rule *r;
    int ret = simnic_flow_create(sp->nic, sp->id, attr, items, actions, &r,
                                 error);

    *handle = r;
    return ret;
}

static int
sim_flow_del(struct offload_port *op, void *handle,
             struct offload_counters *last)
{
    struct simnic_priv *sp = op->priv;

    /* A refused destroy leaves the rule to the NIC (flush, port_detach). */
    return simnic_flow_destroy(sp->nic, handle, &last->packets,
                               &last->bytes);
}

static int
sim_flow_query(struct offload_port *op, void *handle,
               struct offload_counters *c)
{
    struct simnic_priv *sp = op->priv;

    simnic_flow_query(sp->nic, handle, &c->packets, &c->bytes);
    return 0;
}

static int
sim_aged_flows(struct offload_port *op, void **contexts, int n)
{
    struct simnic_priv *sp = op->priv;

    return simnic_get_aged_flows(sp->nic, sp->id, contexts, n);
}

static int
sim_flush(struct offload_port *op)
{
    struct simnic_priv *sp = op->priv;

    return sp && sp->attached ? simnic_flow_flush(sp->nic, sp->id) : 0;
}

static size_t
sim_port_rules_left(struct offload_port *op)
{
    struct simnic_priv *sp = op->priv;

    return sp && sp->attached ? simnic_port_n_rules(sp->nic, sp->id) : 0;
}

static void
count_rules_cb(struct simnic *nic, void *left)
{
    *(size_t *) left += simnic_n_rules(nic);
}

static size_t
sim_n_rules_left(void)
{
    size_t left = 0;

    simnic_for_each(count_rules_cb, &left);
    return left;
}

const struct offload_class offload_simnic_class = {
    .name = "simnic",
    .default_port_type = NULL,      /* Any port rte_flow does not take. */
    .port_init = sim_port_init,
    .port_uninit = sim_port_uninit,
    .port_free = sim_port_free,
    .flow_put = sim_flow_put,
    .flow_del = sim_flow_del,
    .flow_query = sim_flow_query,
    .aged_flows = sim_aged_flows,
    .flush = sim_flush,
    .port_rules_left = sim_port_rules_left,
    .n_rules_left = sim_n_rules_left,
};
