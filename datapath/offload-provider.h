/* SPDX-License-Identifier: BSD-3-Clause */
/* offload-provider.h: the offload provider interface (struct offload_class)
 * and its registry. */
#ifndef SLUICE_OFFLOAD_PROVIDER_H
#define SLUICE_OFFLOAD_PROVIDER_H 1

/*
 * What
 *   The vtable a NIC flow engine implements so the offload manager
 *   (offload.h) can install translated megaflows in it, and the registry
 *   the manager finds providers in, by name or by port type.  Built-in
 *   providers: "rte_flow" (any ethdev with rte_flow: mlx5, ice, i40e...;
 *   offload-rte-flow.c) and "simnic" (the software SmartNIC of simnic.h;
 *   offload-simnic.c).
 *
 * Design
 *   Modelled on the port classes (port-provider.h): a const struct with
 *   designated initialisers, registered once by name
 *   (offload_class_register(); offload_init_classes() registers the
 *   built-in ones) and looked up by name (offload_class_lookup()) or, when
 *   a port's config names no provider, by the port's type
 *   (offload_class_default()).  The manager never names a provider.
 *   Every op consumes the rte_flow arrays of offload-xlate.h.  EOPNOTSUPP
 *   means "keep it in software": a counted state, not an error.
 *
 * Thread-safety
 *   Ops run on the manager's one offload thread only (port_init and
 *   port_uninit too; port_free on the main thread after that thread
 *   stopped).  The registry is for the main thread: register before the
 *   first offload_create().
 *
 * Ownership
 *   Classes are static and never freed.  struct offload_port belongs to
 *   the manager; the provider owns op->priv (freed by port_free) and the
 *   rule handles it returns until flow_del() or flush().  The rte_flow
 *   arrays are borrowed for the call.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offload-xlate.h"

struct offload;
struct offload_class;
struct offload_config;
struct port;

/* Counters of one hardware rule. */
struct offload_counters {
    uint64_t packets;
    uint64_t bytes;
};

/* One port under offload.  Created by the manager; the provider fills the
 * fields marked (P) in port_init(). */
struct offload_port {
    const struct offload_class *class;
    struct offload *mgr;            /* Opaque to providers. */
    const struct offload_config *cfg;   /* The manager's (offload.h):
                                         * provider settings. */
    char name[64];
    uint32_t dp_port;
    struct port *port;              /* Borrowed. */
    enum offload_mode mode;
    unsigned n_rxq;
    char nic[64];                   /* (P) NIC group: full offload may
                                     * output between ports of one NIC. */
    uint16_t nic_port_id;           /* (P) id in PORT_ID/REPRESENTED_PORT. */
    struct offload_caps caps;       /* (P) from the probe. */
    char probe[256];                /* (P) human summary of the probe. */
    void *priv;                     /* (P) provider state. */
    size_t n_flows;                 /* Rules installed (manager). */
    bool dead;                      /* Removed (kept until destroy). */
};

struct offload_class {
    /* Provider name, as in a port's "offload": {"provider": ...}.  Static
     * storage. */
    const char *name;

    /* The port type (port_type()) this provider is the default for, e.g.
     * "dpdk"; NULL: the default for any port no registered class claims.
     * Static storage. */
    const char *default_port_type;
    /* The only port type it can serve (config refuses others), or NULL:
     * any.  Static storage. */
    const char *port_type;

    /* Attaches to op->port, probes capabilities (rte_flow_validate on
     * representative rules), fills the (P) fields.  Returns 0 or an errno
     * with 'err' filled (the port then runs without offload). */
    int (*port_init)(struct offload_port *op, char *err, size_t errsize);
    /* Detaches (after flush()): no rule and no receive hook is left. */
    void (*port_uninit)(struct offload_port *op);
    /* Optional: frees op->priv (manager destruction, after the datapath
     * closed its ports). */
    void (*port_free)(struct offload_port *op);

    /* Creates a rule on 'op' and stores its handle in '*handle'.  Returns
     * 0; EOPNOTSUPP (the NIC cannot do it: keep in software), ENOSPC
     * (table full) or another errno, with 'error' filled. */
    int (*flow_put)(struct offload_port *op, const struct rte_flow_attr *,
                    const struct rte_flow_item *,
                    const struct rte_flow_action *, void **handle,
                    struct rte_flow_error *error);
    /* Destroys 'handle', storing its last counters (zeros without COUNT)
     * in '*last'.  The manager forgets the handle even on error; a
     * provider whose NIC refused the destroy keeps the rule on its books
     * (flush() tries it again, port_rules_left() counts it). */
    int (*flow_del)(struct offload_port *op, void *handle,
                    struct offload_counters *last);
    /* Reads the counters (totals since creation). */
    int (*flow_query)(struct offload_port *op, void *handle,
                      struct offload_counters *);
    /* Stores up to 'n' AGE contexts of aged rules; returns how many. */
    int (*aged_flows)(struct offload_port *op, void **contexts, int n);
    /* Removes every rule created through the port (on whatever ethdev it
     * went to: rte_flow's transfer rules live on the transfer proxy),
     * and the port's other rules where that touches no other port's;
     * never another port's rules.  Returns how many it removed (or 0 if
     * it cannot tell). */
    int (*flush)(struct offload_port *op);

    /* Optional: rules created through 'op' that are still in the NIC
     * (after flush(): the destroys the NIC refused).  The manager checks
     * it after every port flush (port removal, shutdown) and reports
     * what is left. */
    size_t (*port_rules_left)(struct offload_port *op);
    /* Optional: rules still installed in all of this provider's NICs,
     * known to sluice or not (shutdown checks that none is left). */
    size_t (*n_rules_left)(void);
};

/* Registry (main thread). */

/* Registers rte_flow and simnic (idempotent). */
void offload_init_classes(void);
/* Returns 0, EINVAL (a mandatory op missing), EEXIST or ENOSPC. */
int offload_class_register(const struct offload_class *);
/* The class called 'name', or NULL. */
const struct offload_class *offload_class_lookup(const char *name);
/* Writes the registered names, "\"rte_flow\", \"simnic\"", into 'buf'. */
void offload_class_names(char *buf, size_t size);
/* The class for a port of type 'port_type' whose config names no
 * provider: the one with that default_port_type, else the first one with
 * none; NULL if no class fits. */
const struct offload_class *offload_class_default(const char *port_type);
/* Sum of n_rules_left() over the registered classes that have it. */
size_t offload_classes_rules_left(void);

/* The built-in classes (registered by offload_init_classes()). */
extern const struct offload_class offload_rte_flow_class;
extern const struct offload_class offload_simnic_class;

#endif /* offload-provider.h */
