/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-offload.c: control-socket methods of the offload manager. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl-offload.h"

#include "bridge.h"
#include "ctl.h"
#include "ctl-conntrack.h"
#include "dp.h"
#include "offload.h"
#include "offload-provider.h"
#include "ofp-parse.h"
#include "simnic.h"

static void
show_port_cb(const struct offload_port *op, void *arr)
{
    const struct offload_caps *c = &op->caps;

    json_array_append_new(arr, json_pack(
        "{s:s, s:i, s:s, s:s, s:s, s:i, s:b, s:I, s:s,"
        " s:{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b,"
        " s:b}}",
        "port", op->name, "dp_port", (int) op->dp_port,
        "provider", op->class->name, "mode", offload_mode_name(op->mode),
        "nic", op->nic, "nic_port_id", (int) op->nic_port_id,
        "active", !op->dead, "flows", (json_int_t) op->n_flows,
        "probe", op->probe,
        "caps", "full", c->full, "partial", c->partial, "count", c->count,
        "age", c->age, "rewrite", c->rewrite, "vlan", c->vlan,
        "output", c->output, "represented_port", c->represented_port,
        "vxlan_encap", c->vxlan_encap, "raw_encap", c->raw_encap,
        "vxlan_decap", c->vxlan_decap, "raw_decap", c->raw_decap,
        "mark_delivery", c->mark_delivery));
}

static void
show_nic_cb(struct simnic *nic, void *arr)
{
    struct simnic_stats s;

    simnic_get_stats(nic, &s);
    json_array_append_new(arr, json_pack(
        "{s:s, s:I, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:I, s:I, s:I, s:I, s:I, s:I}",
        "name", simnic_name(nic), "rules", (json_int_t) s.rules,
        "capacity", (json_int_t) s.capacity,
        "insert_rate", (json_int_t) s.insert_rate, "ports", (int) s.n_ports,
        "inserted", (json_int_t) s.inserted,
        "insert_failed", (json_int_t) s.insert_failed,
        "table_full", (json_int_t) s.table_full,
        "rejected", (json_int_t) s.rejected,
        "removed", (json_int_t) s.removed,
        "destroy_failed", (json_int_t) s.destroy_failed,
        "hw_packets", (json_int_t) s.hw_packets,
        "hw_bytes", (json_int_t) s.hw_bytes,
        "hw_dropped", (json_int_t) s.hw_dropped,
        "hw_forwarded", (json_int_t) s.hw_forwarded,
        "hw_tx_failed", (json_int_t) s.hw_tx_failed,
        "marked", (json_int_t) s.marked, "misses", (json_int_t) s.misses,
        "occupancy_pct", (json_int_t) (s.capacity ? s.rules * 100
                                                    / s.capacity : 0)));
}

static int
h_offload_show(json_t *params, json_t **result, char *err, size_t errsize,
               void *aux)
{
    static const char *const allowed[] = { NULL };
    json_t *ports = json_array(), *nics = json_array();

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    offload_port_dump(sw_offload(aux), show_port_cb, ports);
    simnic_for_each(show_nic_cb, nics);
    *result = json_pack("{s:b, s:o, s:o}", "enabled",
                        sw_offload(aux) != NULL, "ports", ports,
                        "simnics", nics);
    return 0;
}

static json_t *sessions_stats_json(struct sw *);

static int
h_offload_stats(json_t *params, json_t **result, char *err, size_t errsize,
                void *aux)
{
    static const char *const allowed[] = { NULL };
    struct offload_removed log[OFFLOAD_LOG_SIZE];
    struct offload_stats s;
    json_t *failed = json_object(), *removed = json_array();
    long long now = dp_time_ms();
    size_t n;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    offload_get_stats(sw_offload(aux), &s);
    for (unsigned r = 1; r < OFFLOAD_N_REASONS; r++) {
        json_object_set_new(failed, offload_reason_name(r),
                            json_integer((json_int_t) s.failed[r]));
    }
    n = offload_removed_log(sw_offload(aux), log, OFFLOAD_LOG_SIZE);
    for (size_t i = 0; i < n; i++) {
        struct of_match m = { .flow = log[i].flow, .wc = log[i].mask };
        char match[2048];

        m.flow.in_port = 0;
        m.wc.in_port = 0;
        of_match_format(match, sizeof match, &m, INT32_MIN);
        json_array_append_new(removed, json_pack(
            "{s:I, s:s, s:i, s:s, s:I, s:I}",
            "ago_ms", (json_int_t) (now - log[i].when_ms),
            "reason", offload_reason_name(log[i].reason),
            "dp_in_port", (int) log[i].in_port, "match", match,
            "hw_packets", (json_int_t) log[i].packets,
            "hw_bytes", (json_int_t) log[i].bytes));
    }
    *result = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:f, s:f, s:f}, s:o}",
        "enabled", sw_offload(aux) != NULL,
        "offered", (json_int_t) s.offered, "queued", (json_int_t) s.queued,
        "inserted", (json_int_t) s.inserted,
        "inserted_full", (json_int_t) s.full,
        "inserted_partial", (json_int_t) s.partial,
        "removed", (json_int_t) s.removed, "aged", (json_int_t) s.aged,
        "evicted", (json_int_t) s.evicted,
        "queue_full", (json_int_t) s.queue_full,
        "capacity_kept_software", (json_int_t) s.capacity_kept_sw,
        "polls", (json_int_t) s.polls, "flushed", (json_int_t) s.flushed,
        "requeued", (json_int_t) s.requeued,
        "left_at_port_del", (json_int_t) s.left_at_port_del,
        "left_at_shutdown", (json_int_t) s.left_at_shutdown,
        "in_hardware", (json_int_t) s.in_hw,
        "queue_length", (json_int_t) s.queue_len,
        "records", (json_int_t) s.records,
        "failed", failed,
        "insert_latency_us",
        "avg", s.inserted ? (double) s.insert_ns_total / s.inserted / 1e3
                          : 0.0,
        "max", (double) s.insert_ns_max / 1e3,
        "last", (double) s.insert_ns_last / 1e3,
        "removed_flows", removed);
    json_object_set_new(*result, "sessions", sessions_stats_json(aux));
    json_object_set_new(*result, "decap_pairs",
                        json_pack("{s:I, s:I, s:I}",
                                  "paired", (json_int_t) s.decap_paired,
                                  "refused", (json_int_t) s.decap_refused,
                                  "now", (json_int_t) s.decap_now));
    return 0;
}

/* offload-stats "sessions": the manager's and the datapath's counts. */
static json_t *
sessions_stats_json(struct sw *sw)
{
    struct offload_session_stats s;
    struct dp_session_stats d;

    offload_get_session_stats(sw_offload(sw), &s);
    dp_get_session_stats(sw_dp(sw), &d);
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s,"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
        "offered", (json_int_t) s.offered, "refused", (json_int_t) s.refused,
        "queued", (json_int_t) s.queued,
        "installed", (json_int_t) s.installed,
        "failed", (json_int_t) s.failed, "aged", (json_int_t) s.aged,
        "torn_down", (json_int_t) s.torn_down,
        "closed_idle", (json_int_t) s.closed_idle,
        "returned", (json_int_t) s.returned,
        "sessions", (json_int_t) s.sessions, "in_hw", (json_int_t) s.in_hw,
        "last_refusal", s.last_refusal,
        "datapath",
        "offers", (json_int_t) d.offers, "accepted", (json_int_t) d.accepted,
        "not_offloadable", (json_int_t) d.not_offloadable,
        "stale", (json_int_t) d.stale, "queue_full", (json_int_t) d.queue_full,
        "teardowns", (json_int_t) d.teardowns);
}

static void
session_cb(const struct offload_session_info *si, void *arr)
{
    json_t *dirs = json_array();

    for (int d = 0; d < 2; d++) {
        if (!si->dir[d].present) {
            continue;
        }
        json_array_append_new(dirs, json_pack(
            "{s:s, s:s, s:s, s:s, s:i, s:s?, s:I, s:I, s:i}",
            "dir", d ? "reply" : "orig",
            "state", offload_state_name(si->dir[d].state),
            "reason", offload_reason_name(si->dir[d].reason),
            "message", si->dir[d].message,
            "in_port", (int) si->dir[d].in_port,
            "port", si->dir[d].port,
            "hw_packets", (json_int_t) si->dir[d].hw_packets,
            "hw_bytes", (json_int_t) si->dir[d].hw_bytes,
            "idle_ms", (int) si->dir[d].idle_ms));
    }
    json_array_append_new(arr, json_pack(
        "{s:i, s:o, s:o}", "zone", (int) si->orig.zone,
        "orig", ctl_ct_tuple_json(&si->orig), "dirs", dirs));
}

/* Connections offloaded to NICs, per direction. */
static int
h_offload_sessions(json_t *params, json_t **result, char *err,
                   size_t errsize, void *aux)
{
    static const char *const allowed[] = { NULL };
    json_t *arr;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    arr = json_array();
    offload_session_dump(sw_offload(aux), session_cb, arr);
    *result = json_pack("{s:b, s:o}", "enabled",
                        sw_offload(aux) != NULL, "sessions", arr);
    return 0;
}

/* Test and tuning knobs of a simulated NIC. */
static int
h_offload_simnic_set(json_t *params, json_t **result, char *err,
                     size_t errsize, void *aux)
{
    static const char *const allowed[] = { "nic", "capacity", "insert_rate",
                                           "fail_next", "fail_destroy",
                                           NULL };
    struct simnic_params p;
    struct simnic_stats s;
    struct simnic *nic;
    const char *name;
    long long cap = 0, rate = -1, fail = -1, fail_destroy = -1;

    (void) aux;
    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_string(params, "nic", true, &name, err, errsize));
    CTL_CHECK(ctl_param_int(params, "capacity", false, 1, 10000000, &cap, err,
                            errsize));
    CTL_CHECK(ctl_param_int(params, "insert_rate", false, 0, 100000000, &rate,
                            err, errsize));
    CTL_CHECK(ctl_param_int(params, "fail_next", false, 0, 1000000, &fail, err,
                            errsize));
    CTL_CHECK(ctl_param_int(params, "fail_destroy", false, 0, 1000000,
                            &fail_destroy, err, errsize));
    nic = simnic_find(name);
    if (!nic) {
        snprintf(err, errsize, "no simnic \"%s\"", name);
        return ENOENT;
    }
    simnic_get_stats(nic, &s);
    p.capacity = (uint32_t) cap;
    p.insert_rate = rate >= 0 ? (uint32_t) rate : (uint32_t) s.insert_rate;
    simnic_set_params(nic, &p);
    if (fail >= 0) {
        simnic_fail_next(nic, (unsigned) fail);
    }
    if (fail_destroy >= 0) {
        simnic_fail_destroy(nic, (unsigned) fail_destroy);
    }
    *result = json_object();
    return 0;
}

void
ctl_offload_megaflow_fields(struct sw *sw, const void *mf,
                            struct json_t *obj)
{
    struct offload_flow_info info;

    if (!offload_flow_get(sw_offload(sw), mf, &info)) {
        return;
    }
    json_object_set_new(obj, "offload",
                        json_string(offload_state_name(info.state)));
    if (info.reason != OFFLOAD_R_NONE) {
        json_object_set_new(obj, "offload_reason",
                            json_string(offload_reason_name(info.reason)));
        json_object_set_new(obj, "offload_message",
                            json_string(info.message));
    }
}

int
ctl_offload_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "offload-show", h_offload_show, CTL_READ_ONLY },
        { "offload-stats", h_offload_stats, CTL_READ_ONLY },
        { "offload-sessions", h_offload_sessions, CTL_READ_ONLY },
        { "offload-simnic-set", h_offload_simnic_set },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], sw);
}
