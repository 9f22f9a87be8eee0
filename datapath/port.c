/* SPDX-License-Identifier: BSD-3-Clause */
/* port.c: generic port layer: class registry, life cycle, counters. */

#include "port.h"
#include "port-io.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rwlock.h>

#include "port-options.h"
#include "port-provider.h"
#include "port-tunnel.h"

#define PORT_MAX_CLASSES 16

/* The tx qid of the calling thread (port_set_thread_txq()). */
static __thread unsigned port_thread_txq;

/* Registered classes.  Main thread only. */
static const struct port_class *port_classes[PORT_MAX_CLASSES];
static size_t port_n_classes;

void
port_err_set(char *err, size_t errsize, const char *fmt, ...)
{
    va_list args;

    if (!err || !errsize) {
        return;
    }
    va_start(args, fmt);
    vsnprintf(err, errsize, fmt, args);
    va_end(args);
}

void
port_request_reconfigure(struct port *port)
{
    __atomic_store_n(&port->need_reconfigure, true, __ATOMIC_RELEASE);
}

/* Registry. */

const struct port_class *
port_class_lookup(const char *type)
{
    for (size_t i = 0; i < port_n_classes; i++) {
        if (!strcmp(port_classes[i]->type, type)) {
            return port_classes[i];
        }
    }
    return NULL;
}

const struct port_class *
port_class_at(size_t i)
{
    return i < port_n_classes ? port_classes[i] : NULL;
}

/* ---- Option tables of the registered classes. ---- */

/* The table of a class that declares none. */
static const struct port_opt_def port_opt_none[] = { { .name = NULL } };

static const struct port_opt_def *
class_table(const struct port_class *class)
{
    return class->options ? class->options : port_opt_none;
}

const struct port_opt_def *
port_opt_table(const char *type)
{
    const struct port_class *class = type ? port_class_lookup(type) : NULL;

    return class ? class_table(class) : NULL;
}

void
port_opt_type_names(char *buf, size_t size)
{
    const struct port_class *class;

    if (!size) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        port_opt_cat(buf, size, i ? ", " : "");
        port_opt_cat(buf, size, class->type);
    }
}

int
port_opt_write_markdown(FILE *f)
{
    const struct port_class *class;

    fprintf(f, "| type | option | value | default | description |\n");
    fprintf(f, "|---|---|---|---|---|\n");
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        const struct port_opt_def *table = class_table(class);
        const struct port_class *other;
        char types[256] = "";
        bool seen = false;

        /* Classes that share a table share its rows. */
        for (size_t k = 0; (other = port_class_at(k)) != NULL; k++) {
            if (class_table(other) != table || table == port_opt_none) {
                continue;
            }
            if (k < i) {
                seen = true;
                break;
            }
            port_opt_cat(types, sizeof types, types[0] ? ", `" : "`");
            port_opt_cat(types, sizeof types, other->type);
            port_opt_cat(types, sizeof types, "`");
        }
        if (seen) {
            continue;
        }
        if (!table->name) {
            fprintf(f, "| `%s` | (none) | | | |\n", class->type);
        }
        for (const struct port_opt_def *d = table; d->name; d++) {
            char value[128];

            port_opt_describe(d, value, sizeof value);
            fprintf(f, "| %s | `%s` | %s | %s | %s |\n", types, d->name,
                    value, d->required ? "required" : d->dflt ? d->dflt : "-",
                    d->doc);
        }
    }
    return ferror(f) ? EIO : 0;
}

int
port_register_class(const struct port_class *class)
{
    if (!class || !class->type || !class->alloc || !class->construct
        || !class->destruct || !class->dealloc || !class->set_config
        || !class->reconfigure || !class->rxq_recv || !class->send) {
        return EINVAL;
    }
    if (port_class_lookup(class->type)) {
        return EEXIST;
    }
    if (port_n_classes >= PORT_MAX_CLASSES) {
        return ENOSPC;
    }
    if (class->init) {
        int error = class->init();

        if (error) {
            return error;
        }
    }
    port_classes[port_n_classes++] = class;
    return 0;
}

void
port_init_classes(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    port_register_class(&port_dpdk_class);
    port_register_class(&port_tap_class);
    port_register_class(&port_dummy_class);
    port_register_class(&port_vxlan_class);
    port_register_class(&port_geneve_class);
}

/* Per-queue state. */

/* Adds the counters held in the per-queue arrays to '*s'. */
static void
port_sum_queues(const struct port *port, struct port_stats *s)
{
    if (port->rxq_stats) {
        for (unsigned i = 0; i < port->n_rxq; i++) {
            const struct port_rxq_stats *q = &port->rxq_stats[i];

            s->rx_packets += __atomic_load_n(&q->packets, __ATOMIC_RELAXED)
                             + __atomic_load_n(&q->hw_packets,
                                               __ATOMIC_RELAXED);
            s->rx_bytes += __atomic_load_n(&q->bytes, __ATOMIC_RELAXED)
                           + __atomic_load_n(&q->hw_bytes, __ATOMIC_RELAXED);
        }
    }
    if (port->txq_stats) {
        for (unsigned i = 0; i < port->n_txq; i++) {
            const struct port_txq_stats *q = &port->txq_stats[i];

            s->tx_packets += __atomic_load_n(&q->packets, __ATOMIC_RELAXED);
            s->tx_bytes += __atomic_load_n(&q->bytes, __ATOMIC_RELAXED);
            s->tx_dropped += __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
            s->hw_tx_packets += __atomic_load_n(&q->hw_packets,
                                                __ATOMIC_RELAXED);
            s->hw_tx_bytes += __atomic_load_n(&q->hw_bytes,
                                              __ATOMIC_RELAXED);
            s->tx_sw_segments += __atomic_load_n(&q->sw_segments,
                                                 __ATOMIC_RELAXED);
            s->tx_sw_checksums += __atomic_load_n(&q->sw_checksums,
                                                  __ATOMIC_RELAXED);
            s->tx_offload_dropped += __atomic_load_n(&q->ol_dropped,
                                                     __ATOMIC_RELAXED);
        }
    }
}

static void
port_free_queues(struct port *port)
{
    rte_free(port->rxq_stats);
    rte_free(port->txq_stats);
    rte_free(port->txq_locks);
    port->rxq_stats = NULL;
    port->txq_stats = NULL;
    port->txq_locks = NULL;
}

/* (Re)sizes the per-queue arrays after the provider set n_rxq and
 * n_dev_txq, folding the old counters into port->base.  'old_n_rxq' is
 * the n_rxq the current arrays were sized for. */
static int
port_size_queues(struct port *port, unsigned old_n_rxq, char *err,
                 size_t errsize)
{
    struct port_rxq_stats *rxq;
    struct port_txq_stats *txq;
    struct port_txq_lock *locks;
    unsigned new_n_rxq = port->n_rxq;
    int socket = port->env.socket_id;

    if (port->n_rxq < 1 || port->n_dev_txq < 1) {
        port_err_set(err, errsize, "%s: provider %s reported no queues",
                     port->name, port->class->type);
        return EINVAL;
    }
    if (port->n_dev_txq > port->n_txq) {
        port->n_dev_txq = port->n_txq;
    }

    rxq = rte_zmalloc_socket("port_rxq", new_n_rxq * sizeof *rxq,
                             RTE_CACHE_LINE_SIZE, socket);
    txq = rte_zmalloc_socket("port_txq", port->n_txq * sizeof *txq,
                             RTE_CACHE_LINE_SIZE, socket);
    locks = rte_zmalloc_socket("port_txq_lock",
                               port->n_dev_txq * sizeof *locks,
                               RTE_CACHE_LINE_SIZE, socket);
    if (!rxq || !txq || !locks) {
        rte_free(rxq);
        rte_free(txq);
        rte_free(locks);
        port_err_set(err, errsize, "%s: out of memory for queue state",
                     port->name);
        return ENOMEM;
    }
    for (unsigned i = 0; i < port->n_dev_txq; i++) {
        rte_spinlock_init(&locks[i].lock);
    }

    /* Fold the old arrays' counts into the base, sized as they were. */
    port->n_rxq = old_n_rxq;
    port_sum_queues(port, &port->base);
    port->n_rxq = new_n_rxq;
    port_free_queues(port);

    port->rxq_stats = rxq;
    port->txq_stats = txq;
    port->txq_locks = locks;
    port->txq_shared = port->n_dev_txq < port->n_txq;
    return 0;
}

/* Life cycle. */

int
port_open(const char *name, const char *type,
          const struct port_option *opts, size_t n_opts,
          const struct port_env *env, struct port **portp,
          char *err, size_t errsize)
{
    const struct port_class *class;
    struct port *port;
    int error;

    *portp = NULL;
    if (err && errsize) {
        err[0] = '\0';
    }
    if (!name || !name[0]) {
        port_err_set(err, errsize, "port name must not be empty");
        return EINVAL;
    }
    if (!env || !env->mp || env->n_txq < 1) {
        port_err_set(err, errsize, "%s: invalid port environment", name);
        return EINVAL;
    }
    class = type ? port_class_lookup(type) : NULL;
    if (!class) {
        port_err_set(err, errsize, "%s: unknown port type \"%s\"", name,
                     type ? type : "(null)");
        return ENOENT;
    }
    error = port_opt_validate(port_opt_table(type), name, type, opts,
                              n_opts, err, errsize);
    if (error) {
        return error;
    }

    port = class->alloc();
    if (!port) {
        port_err_set(err, errsize, "%s: out of memory", name);
        return ENOMEM;
    }
    port->class = class;
    port->name = strdup(name);
    port->env = *env;
    port->n_txq = env->n_txq;
    rte_rwlock_init(&port->hw_tx_lock);
    if (!port->name) {
        class->dealloc(port);
        port_err_set(err, errsize, "%s: out of memory", name);
        return ENOMEM;
    }

    error = class->construct(port);
    if (error) {
        port_err_set(err, errsize, "%s: cannot create %s port: %s", name,
                     type, strerror(error));
        free(port->name);
        class->dealloc(port);
        return error;
    }
    error = class->set_config(port, opts, n_opts, err, errsize);
    if (!error) {
        error = class->reconfigure(port, err, errsize);
        if (!error) {
            error = port_size_queues(port, 0, err, errsize);
        }
    }
    if (error) {
        if (err && errsize && !err[0]) {
            port_err_set(err, errsize, "%s: %s", name, strerror(error));
        }
        class->destruct(port);
        port_free_queues(port);
        free(port->name);
        class->dealloc(port);
        return error;
    }
    *portp = port;
    return 0;
}

int
port_set_config(struct port *port, const struct port_option *opts,
                size_t n_opts, char *err, size_t errsize)
{
    int error = port_opt_validate(port_opt_table(port->class->type),
                                  port->name, port->class->type, opts,
                                  n_opts, err, errsize);

    if (error) {
        return error;
    }
    return port->class->set_config(port, opts, n_opts, err, errsize);
}

int
port_reconfigure(struct port *port, char *err, size_t errsize)
{
    unsigned old_n_rxq = port->n_rxq;
    unsigned old_n_dev_txq = port->n_dev_txq;
    int error;

    __atomic_store_n(&port->need_reconfigure, false, __ATOMIC_RELAXED);
    /* The datapath quiesced its own polling and transmits; hardware
     * transmits (port_hw_tx_burst()) wait here. */
    rte_rwlock_write_lock(&port->hw_tx_lock);
    error = port->class->reconfigure(port, err, errsize);
    if (!error
        && (port->n_rxq != old_n_rxq || port->n_dev_txq != old_n_dev_txq)) {
        error = port_size_queues(port, old_n_rxq, err, errsize);
        if (error) {
            /* Keep the old arrays; clamp the queue counts to them. */
            port->n_rxq = old_n_rxq < port->n_rxq ? old_n_rxq : port->n_rxq;
            port->n_dev_txq = old_n_dev_txq;
        }
    }
    rte_rwlock_write_unlock(&port->hw_tx_lock);
    return error;
}

bool
port_needs_reconfigure(const struct port *port)
{
    return __atomic_load_n(&port->need_reconfigure, __ATOMIC_ACQUIRE);
}

void
port_close(struct port *port)
{
    if (!port) {
        return;
    }
    port->class->destruct(port);
    port_free_queues(port);
    free(port->name);
    port->class->dealloc(port);
}

/* Getters. */

const char *
port_name(const struct port *port)
{
    return port->name;
}

const char *
port_type(const struct port *port)
{
    return port->class->type;
}

unsigned
port_n_rxq(const struct port *port)
{
    return port->n_rxq;
}

unsigned
port_polled_rxqs(const struct port *port)
{
    return port->class->no_poll ? 0 : port->n_rxq;
}

unsigned
port_n_txq(const struct port *port)
{
    return port->n_txq;
}

void
port_get_stats(const struct port *port, struct port_stats *stats)
{
    *stats = port->base;
    port_sum_queues(port, stats);
    if (port->class->get_stats) {
        port->class->get_stats(port, stats);
    }
}

bool
port_link_up(const struct port *port)
{
    return port->class->get_link ? port->class->get_link(port) : true;
}

size_t
port_get_custom_stats(const struct port *port,
                      struct port_custom_stat *stats, size_t max)
{
    if (!port->class->get_custom_stats || !max) {
        return 0;
    }
    return port->class->get_custom_stats(port, stats, max);
}

int
port_get_mtu(const struct port *port)
{
    return port->class->get_mtu ? port->class->get_mtu(port) : 0;
}

void
port_get_mac(const struct port *port, uint8_t mac[6])
{
    memset(mac, 0, 6);
    if (port->class->get_mac) {
        port->class->get_mac(port, mac);
    }
}

int
port_get_dpdk_port_id(const struct port *port, uint16_t *id)
{
    if (!port->class->get_dpdk_port_id) {
        return ENOTSUP;
    }
    return port->class->get_dpdk_port_id(port, id);
}

int
port_get_rx_metadata(const struct port *port, uint64_t *features)
{
    *features = 0;
    if (!port->class->get_rx_metadata) {
        return ENODEV;
    }
    return port->class->get_rx_metadata(port, features);
}

/* Hardware transmit. */

void
port_set_thread_txq(unsigned qid)
{
    port_thread_txq = qid;
}

int
port_hw_tx_burst(struct port *port, struct rte_mbuf **pkts, int n)
{
    /* Every port has one qid per PMD (port_env.n_txq), so the modulo
     * only guards against a caller that broke that rule. */
    unsigned qid = port_thread_txq % port->n_txq;
    struct port_txq_stats *s;
    uint64_t bytes = 0, dropped;
    int sent;

    if (n <= 0) {
        return 0;
    }
    rte_rwlock_read_lock(&port->hw_tx_lock);
    s = &port->txq_stats[qid];
    sent = port_send_any(port, qid, pkts, n, &bytes, &dropped);
    s->hw_packets += (uint64_t) sent;
    s->hw_bytes += bytes;
    s->dropped += dropped;
    rte_rwlock_read_unlock(&port->hw_tx_lock);
    return sent;
}
