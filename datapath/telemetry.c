/* SPDX-License-Identifier: BSD-3-Clause */
/* telemetry.c: /sluice/ commands on DPDK telemetry (see telemetry.h). */
#include "telemetry.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "bridge.h"
#include "conntrack.h"
#include "dp.h"
#include "drop.h"
#include "offload.h"
#include "offload-xlate.h"
#include "port.h"

struct tel_snapshot {
    unsigned n_pmds;
    struct dp_pmd_stats *pmds;
    long n_ports;
    struct sw_port_row *ports;
    bool offload;
    struct offload_stats off;
    struct ct_stats ct;
    uint64_t ct_max;
};

static pthread_mutex_t tel_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct tel_snapshot *tel_cur;        /* tel_mutex */

static void
snapshot_free(struct tel_snapshot *s)
{
    if (s) {
        free(s->pmds);
        free(s->ports);
        free(s);
    }
}

void
telemetry_refresh(struct sw *sw)
{
    struct tel_snapshot *s = calloc(1, sizeof *s), *old;
    struct dp *dp = sw_dp(sw);

    if (!s) {
        return;
    }
    s->n_pmds = dp_n_pmds(dp);
    s->pmds = calloc(s->n_pmds ? s->n_pmds : 1, sizeof *s->pmds);
    s->n_ports = sw_port_rows(sw, &s->ports);
    if (!s->pmds || s->n_ports < 0) {
        snapshot_free(s);
        return;
    }
    for (unsigned i = 0; i < s->n_pmds; i++) {
        dp_get_pmd_stats(dp, i, &s->pmds[i]);
    }
    if (sw_offload(sw)) {
        s->offload = true;
        offload_get_stats(sw_offload(sw), &s->off);
    }
    conntrack_get_counters(dp_conntrack(dp), &s->ct);
    s->ct_max = conntrack_get_max_conns(dp_conntrack(dp));

    pthread_mutex_lock(&tel_mutex);
    old = tel_cur;
    tel_cur = s;
    pthread_mutex_unlock(&tel_mutex);
    snapshot_free(old);
}

void
telemetry_fini(void)
{
    struct tel_snapshot *old;

    pthread_mutex_lock(&tel_mutex);
    old = tel_cur;
    tel_cur = NULL;
    pthread_mutex_unlock(&tel_mutex);
    snapshot_free(old);
}

/* ---- Commands (telemetry thread, under tel_mutex). ---- */

#define U64(D, NAME, V) rte_tel_data_add_dict_u64(D, NAME, (uint64_t) (V))

static int
cmd_pmds(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void) cmd;
    (void) params;
    rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
    pthread_mutex_lock(&tel_mutex);
    for (unsigned i = 0; tel_cur && i < tel_cur->n_pmds; i++) {
        rte_tel_data_add_array_int(d, (int) i);
    }
    pthread_mutex_unlock(&tel_mutex);
    return 0;
}

static int
cmd_pmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
    const struct dp_pmd_stats *p;
    char *end;
    unsigned long n;
    int ret = 0;

    (void) cmd;
    if (!params || !*params) {
        return -EINVAL;
    }
    n = strtoul(params, &end, 10);
    if (*end) {
        return -EINVAL;
    }
    pthread_mutex_lock(&tel_mutex);
    if (!tel_cur || n >= tel_cur->n_pmds) {
        ret = -EINVAL;
        goto out;
    }
    p = &tel_cur->pmds[n];
    rte_tel_data_start_dict(d);
    U64(d, "core", p->core);
    U64(d, "packets", p->packets);
    U64(d, "busy_cycles", p->busy_cycles);
    U64(d, "idle_cycles", p->idle_cycles);
    U64(d, "sleep_cycles", p->sleep_cycles);
    U64(d, "sleeps", p->sleeps);
    U64(d, "emc_hits", p->emc_hits);
    U64(d, "hkc_hits", p->hkc_hits);
    U64(d, "megaflow_hits", p->megaflow_hits);
    U64(d, "mark_hits", p->mark_hits);
    U64(d, "simple_hits", p->simple_hits);
    U64(d, "exact_skipped", p->exact_skipped);
    U64(d, "upcalls", p->upcalls);
    U64(d, "upcall_failures", p->upcall_failures);
    U64(d, "megaflow_not_installed", p->megaflow_not_installed);
    U64(d, "recirculations", p->recirculations);
    U64(d, "recirc_shortcuts", p->recirc_shortcuts);
    U64(d, "megaflows", p->n_megaflows);
    U64(d, "megaflow_masks", p->n_subtables);
    for (int r = 0; r < DP_N_DROP_REASONS; r++) {
        char name[64];

        snprintf(name, sizeof name, "drop_%s", dp_drop_reason_name(r));
        U64(d, name, p->drops[r]);
    }
out:
    pthread_mutex_unlock(&tel_mutex);
    return ret;
}

static int
cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void) cmd;
    (void) params;
    rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
    pthread_mutex_lock(&tel_mutex);
    for (long i = 0; tel_cur && i < tel_cur->n_ports; i++) {
        char name[RTE_TEL_MAX_STRING_LEN];

        snprintf(name, sizeof name, "%s/%s", tel_cur->ports[i].bridge,
                 tel_cur->ports[i].name);
        rte_tel_data_add_array_string(d, name);
    }
    pthread_mutex_unlock(&tel_mutex);
    return 0;
}

static int
cmd_port_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
    const struct sw_port_row *p = NULL;
    const char *slash = params ? strchr(params, '/') : NULL;
    int ret = 0;

    (void) cmd;
    if (!slash) {
        return -EINVAL;
    }
    pthread_mutex_lock(&tel_mutex);
    for (long i = 0; tel_cur && i < tel_cur->n_ports; i++) {
        const struct sw_port_row *r = &tel_cur->ports[i];

        if (strlen(r->bridge) == (size_t) (slash - params)
            && !strncmp(r->bridge, params, (size_t) (slash - params))
            && !strcmp(r->name, slash + 1)) {
            p = r;
            break;
        }
    }
    if (!p) {
        ret = -EINVAL;
        goto out;
    }
    rte_tel_data_start_dict(d);
    U64(d, "ofport", p->ofport);
    U64(d, "link_up", p->link);
    U64(d, "rx_packets", p->st.rx_packets);
    U64(d, "rx_bytes", p->st.rx_bytes);
    U64(d, "rx_dropped", p->st.rx_dropped);
    U64(d, "rx_errors", p->st.rx_errors);
    U64(d, "tx_packets", p->st.tx_packets);
    U64(d, "tx_bytes", p->st.tx_bytes);
    U64(d, "tx_dropped", p->st.tx_dropped);
    U64(d, "tx_errors", p->st.tx_errors);
    U64(d, "hw_tx_packets", p->st.hw_tx_packets);
    U64(d, "hw_tx_bytes", p->st.hw_tx_bytes);
out:
    pthread_mutex_unlock(&tel_mutex);
    return ret;
}

static int
cmd_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void) cmd;
    (void) params;
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&tel_mutex);
    if (tel_cur) {
        uint64_t rx = 0, tx = 0;

        for (int r = 0; r < DP_N_DROP_REASONS; r++) {
            uint64_t n = 0;

            for (unsigned i = 0; i < tel_cur->n_pmds; i++) {
                n += tel_cur->pmds[i].drops[r];
            }
            U64(d, dp_drop_reason_name(r), n);
        }
        for (long i = 0; i < tel_cur->n_ports; i++) {
            rx += tel_cur->ports[i].st.rx_dropped;
            tx += tel_cur->ports[i].st.tx_dropped;
        }
        U64(d, "port_rx_dropped", rx);
        U64(d, "port_tx_dropped", tx);
        for (int r = 0; r < CT_N_DROP_REASONS; r++) {
            char name[64];

            snprintf(name, sizeof name, "ct_%s", ct_drop_reason_name(r));
            U64(d, name, tel_cur->ct.drops[r]);
        }
    }
    pthread_mutex_unlock(&tel_mutex);
    return 0;
}

static int
cmd_offload(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void) cmd;
    (void) params;
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&tel_mutex);
    if (tel_cur) {
        const struct offload_stats *o = &tel_cur->off;

        U64(d, "enabled", tel_cur->offload);
        U64(d, "in_hw", o->in_hw);
        U64(d, "queue_len", o->queue_len);
        U64(d, "offered", o->offered);
        U64(d, "inserted", o->inserted);
        U64(d, "inserted_full", o->full);
        U64(d, "inserted_partial", o->partial);
        U64(d, "removed", o->removed);
        U64(d, "aged", o->aged);
        U64(d, "evicted", o->evicted);
        U64(d, "queue_full", o->queue_full);
        for (unsigned r = 1; r < OFFLOAD_N_REASONS; r++) {
            char name[64];

            snprintf(name, sizeof name, "failed_%s",
                     offload_reason_name((enum offload_reason) r));
            U64(d, name, o->failed[r]);
        }
    }
    pthread_mutex_unlock(&tel_mutex);
    return 0;
}

static int
cmd_conntrack(const char *cmd, const char *params, struct rte_tel_data *d)
{
    static const char *const protos[CT_N_PROTOS] = {
        [CT_PROTO_TCP] = "tcp", [CT_PROTO_UDP] = "udp",
        [CT_PROTO_ICMP] = "icmp", [CT_PROTO_OTHER] = "other",
    };

    (void) cmd;
    (void) params;
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&tel_mutex);
    if (tel_cur) {
        const struct ct_stats *c = &tel_cur->ct;

        U64(d, "connections", c->n_conns);
        U64(d, "max_conns", tel_cur->ct_max);
        for (int p = 0; p < CT_N_PROTOS; p++) {
            char name[32];

            snprintf(name, sizeof name, "connections_%s",
                     protos[p] ? protos[p] : "unknown");
            U64(d, name, c->by_proto[p]);
        }
        U64(d, "created", c->created);
        U64(d, "removed", c->removed);
    }
    pthread_mutex_unlock(&tel_mutex);
    return 0;
}

int
telemetry_init(void)
{
    static const struct {
        const char *cmd;
        telemetry_cb fn;
        const char *help;
    } cmds[] = {
        { "/sluice/pmds", cmd_pmds, "sluice's PMD threads. No parameters" },
        { "/sluice/pmd_stats", cmd_pmd_stats,
          "A PMD's counters (about 1 s old). Parameters: int pmd" },
        { "/sluice/ports", cmd_ports,
          "sluice's ports, as BRIDGE/PORT. No parameters" },
        { "/sluice/port_stats", cmd_port_stats,
          "A port's counters (about 1 s old). Parameters: BRIDGE/PORT" },
        { "/sluice/drops", cmd_drops,
          "Drops by reason: PMDs, ports, conntrack. No parameters" },
        { "/sluice/offload", cmd_offload,
          "The offload manager's counters. No parameters" },
        { "/sluice/conntrack", cmd_conntrack,
          "Connections and conntrack counters. No parameters" },
    };

    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int ret = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn,
                                             cmds[i].help);

        if (ret) {
            return ret;
        }
    }
    return 0;
}
