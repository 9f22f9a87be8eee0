/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-handlers.c: control-socket methods; they parse, call sw_*, format. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mempool.h>

#include "bridge.h"
#include "ctl-handlers.h"
#include "ctl-conntrack.h"
#include "ctl-offload.h"
#include "offload.h"
#include "ctl.h"
#include "ctl-capture.h"
#include "ctl-mirror.h"
#include "ctl-tunnel.h"
#include "dp.h"
#include "log.h"
#include "port.h"
#include "port-dummy.h"

int
ctl_get_bridge(struct sw *sw, json_t *params, struct bridge **brp,
               char *err, size_t errsize)
{
    const char *name;

    CTL_CHECK(ctl_param_string(params, "bridge", true, &name, err, errsize));
    *brp = sw_find_bridge(sw, name);
    if (!*brp) {
        snprintf(err, errsize, "bridge \"%s\" not found", name);
        return ENOENT;
    }
    return 0;
}

/* ---- show, dump-ports. ---- */

static json_t *
options_json(const struct cfg_port *cp)
{
    json_t *opts = json_object();

    for (size_t i = 0; i < cp->n_options; i++) {
        json_object_set_new(opts, cp->options[i].key,
                            json_string(cp->options[i].value));
    }
    return opts;
}

static void
show_port_cb(const struct bridge_port_info *info, void *ports_)
{
    json_t *ports = ports_, *opts = options_json(info->cfg);

    json_array_append_new(ports, json_pack(
        "{s:s, s:I, s:s, s:s, s:i, s:I, s:o}",
        "name", info->name, "ofport", (json_int_t) info->ofport,
        "type", info->type,
        "link", port_link_up(info->port) ? "up" : "down",
        "mtu", port_get_mtu(info->port),
        "dp_port", (json_int_t) info->dp_port,
        "options", opts));
}

static void
show_failed_cb(const struct cfg_port *cp, const char *error, void *failed)
{
    json_array_append_new(failed, json_pack(
        "{s:s, s:I, s:s, s:s, s:o}", "name", cp->name,
        "ofport", (json_int_t) cp->ofport, "type", cp->type,
        "error", error, "options", options_json(cp)));
}

static int
h_show(json_t *params, json_t **result, char *err, size_t errsize, void *aux)
{
    static const char *const allowed[] = { "bridge", NULL };
    struct bridge *br;
    json_t *ports, *failed;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    ports = json_array();
    failed = json_array();
    bridge_port_dump(br, show_port_cb, ports);
    bridge_failed_port_dump(br, show_failed_cb, failed);
    *result = json_pack("{s:s, s:o, s:o}", "bridge", bridge_name(br),
                        "ports", ports, "failed_ports", failed);
    return 0;
}

static json_t *
port_stats_json(const struct bridge_port_info *info)
{
    struct port_custom_stat custom[128];
    size_t n_custom = port_get_custom_stats(info->port, custom,
                                            sizeof custom / sizeof *custom);
    json_t *cj = json_object();
    struct port_stats s;

    for (size_t i = 0; i < n_custom; i++) {
        json_object_set_new(cj, custom[i].name,
                            json_integer((json_int_t) custom[i].value));
    }
    port_get_stats(info->port, &s);
    return json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:I, s:I, s:I, s:I, s:s, s:o}",
                     "ofport", (json_int_t) info->ofport,
                     "name", info->name,
                     "rx_packets", (json_int_t) s.rx_packets,
                     "rx_bytes", (json_int_t) s.rx_bytes,
                     "rx_dropped", (json_int_t) s.rx_dropped,
                     "rx_errors", (json_int_t) s.rx_errors,
                     "tx_packets", (json_int_t) s.tx_packets,
                     "tx_bytes", (json_int_t) s.tx_bytes,
                     "tx_dropped", (json_int_t) s.tx_dropped,
                     "tx_errors", (json_int_t) s.tx_errors,
                     "hw_tx_packets", (json_int_t) s.hw_tx_packets,
                     "hw_tx_bytes", (json_int_t) s.hw_tx_bytes,
                     "tx_sw_segments", (json_int_t) s.tx_sw_segments,
                     "tx_sw_checksums", (json_int_t) s.tx_sw_checksums,
                     "tx_offload_dropped",
                     (json_int_t) s.tx_offload_dropped,
                     "link", port_link_up(info->port) ? "up" : "down",
                     "custom", cj);
}

static void
dump_port_cb(const struct bridge_port_info *info, void *arr)
{
    json_array_append_new(arr, port_stats_json(info));
}

/* Finds param "port" (a name or an ofport number). */
static int
get_port(struct bridge *br, json_t *params, bool required, bool *found,
         struct bridge_port_info *info, char *err, size_t errsize)
{
    json_t *p = json_object_get(params, "port");

    *found = false;
    if (!p) {
        if (required) {
            snprintf(err, errsize, "params.port: missing");
            return CTL_ERR_INVALID_PARAMS;
        }
        return 0;
    }
    if (json_is_string(p)) {
        if (!bridge_port_find(br, json_string_value(p), info)) {
            snprintf(err, errsize, "port \"%s\" not found on bridge %s",
                     json_string_value(p), bridge_name(br));
            return ENOENT;
        }
    } else if (json_is_integer(p)) {
        json_int_t v = json_integer_value(p);

        if (v < 0 || v > UINT32_MAX
            || !bridge_port_find_ofport(br, (uint32_t) v, info)) {
            snprintf(err, errsize, "port %lld not found on bridge %s",
                     (long long) v, bridge_name(br));
            return ENOENT;
        }
    } else {
        snprintf(err, errsize, "params.port: must be a string or integer");
        return CTL_ERR_INVALID_PARAMS;
    }
    *found = true;
    return 0;
}

static int
h_dump_ports(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    static const char *const allowed[] = { "bridge", "port", NULL };
    struct bridge_port_info info;
    struct bridge *br;
    bool found;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    CTL_CHECK(get_port(br, params, false, &found, &info, err, errsize));
    *result = json_array();
    if (found) {
        json_array_append_new(*result, port_stats_json(&info));
    } else {
        bridge_port_dump(br, dump_port_cb, *result);
    }
    return 0;
}

/* ---- Flow mods. ---- */

static void
free_specs(struct of_flow_spec *specs, enum of_flow_cmd *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        of_flow_spec_uninit(&specs[i]);
    }
    free(specs);
    free(cmds);
}

/* add-flows and replace-flows take a list; a long list comes in parts,
 * each request with "more": true staging its flows (parsed, so an error
 * is reported at once, by its index in the whole list) in the
 * connection's transaction, and the request without "more" applying the
 * whole list all or nothing.  A failed part, a part for another bridge or
 * method, or the connection going away discards the transaction. */
struct flow_txn {
    bool replace;
    char *bridge;
    struct of_flow_spec *specs;
    enum of_flow_cmd *cmds;
    size_t n, cap;
};

/* Flows in one transaction, and staged in all open transactions of all
 * connections together (parsed flows take memory until applied). */
#define FLOW_TXN_MAX_FLOWS 20000000

static size_t flows_staged;     /* In every open transaction.  Main thread. */

static void
flow_txn_free(void *txn_)
{
    struct flow_txn *txn = txn_;

    if (txn) {
        flows_staged -= txn->n;
        free_specs(txn->specs, txn->cmds, txn->n);
        free(txn->bridge);
        free(txn);
    }
}

/* Parses 'texts' onto the end of 'txn'. */
static int
flow_txn_parse(struct flow_txn *txn, json_t *texts, char *err,
               size_t errsize)
{
    size_t n = json_array_size(texts);
    char perr[256];

    if (txn->n + n > txn->cap) {
        size_t cap = txn->cap ? txn->cap : 64;
        struct of_flow_spec *specs;
        enum of_flow_cmd *cmds;

        while (cap < txn->n + n) {
            cap *= 2;
        }
        specs = realloc(txn->specs, cap * sizeof *specs);
        if (specs) {
            txn->specs = specs;
        }
        cmds = realloc(txn->cmds, cap * sizeof *cmds);
        if (cmds) {
            txn->cmds = cmds;
        }
        if (!specs || !cmds) {
            snprintf(err, errsize, "out of memory");
            return ENOMEM;
        }
        txn->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        int ret = of_flow_parse(&txn->specs[txn->n],
                                json_string_value(json_array_get(texts, i)),
                                OFFC_ADD, perr, sizeof perr);

        if (ret) {
            snprintf(err, errsize, "flows[%zu]: %s", txn->n, perr);
            return ret;
        }
        txn->cmds[txn->n++] = OFFC_ADD;
        flows_staged++;
    }
    return 0;
}

static int
flow_list_method(json_t *params, json_t **result, char *err, size_t errsize,
                 struct sw *sw, bool replace)
{
    static const char *const allowed[] = { "bridge", "flows", "more", NULL };
    const char *method = replace ? "replace-flows" : "add-flows";
    struct ctl_conn_slot *slot = ctl_conn_slot_current();
    struct flow_txn *txn = NULL;
    const char *name;
    struct bridge *br;
    json_t *texts;
    size_t count = 0;
    bool more;
    int ret;

    if (slot && slot->data) {
        /* Parts staged before on this connection: this request completes
         * or extends them, or (on any error) discards them. */
        txn = slot->data;
        slot->data = NULL;
    }
    ret = ctl_params_check(params, allowed, err, errsize);
    ret = ret ? ret : ctl_param_string(params, "bridge", true, &name, err,
                                       errsize);
    ret = ret ? ret : ctl_param_strings(params, "flows", true, &texts, err,
                                        errsize);
    ret = ret ? ret : ctl_param_bool(params, "more", false, &more, err,
                                     errsize);
    if (ret) {
        goto out;
    }
    if (txn && (txn->replace != replace || strcmp(txn->bridge, name))) {
        snprintf(err, errsize, "a %s transaction for bridge \"%s\" "
                 "(%zu flows staged) was open on this connection: it is "
                 "discarded", txn->replace ? "replace-flows" : "add-flows",
                 txn->bridge, txn->n);
        ret = EINVAL;
        goto out;
    }
    if (more && !slot) {
        snprintf(err, errsize, "params.more: only on a control-socket "
                 "connection");
        ret = CTL_ERR_INVALID_PARAMS;
        goto out;
    }
    ret = ctl_get_bridge(sw, params, &br, err, errsize);
    if (ret) {
        goto out;
    }
    if (!txn) {
        txn = calloc(1, sizeof *txn);
        if (!txn || !(txn->bridge = strdup(name))) {
            snprintf(err, errsize, "out of memory");
            ret = ENOMEM;
            goto out;
        }
        txn->replace = replace;
    }
    if (json_array_size(texts) > FLOW_TXN_MAX_FLOWS - flows_staged) {
        snprintf(err, errsize, "%s: too many flows in one transaction, or "
                 "staged by all connections together (limit %d, "
                 "FLOW_TXN_MAX_FLOWS): nothing applied", method,
                 FLOW_TXN_MAX_FLOWS);
        ret = EFBIG;
        goto out;
    }
    ret = flow_txn_parse(txn, texts, err, errsize);
    if (ret) {
        goto out;
    }
    if (more) {
        slot->data = txn;
        slot->free_fn = flow_txn_free;
        *result = json_pack("{s:I}", "staged", (json_int_t) txn->n);
        return 0;
    }
    ret = replace
          ? sw_replace_flows(sw, br, txn->specs, txn->n, &count, err,
                             errsize)
          : sw_flow_mods(sw, br, txn->specs, txn->cmds, txn->n, &count, err,
                         errsize);
    if (!ret) {
        *result = json_pack("{s:I}", "count", (json_int_t) count);
    }
out:
    flow_txn_free(txn);
    return ret;
}

static int
h_add_flows(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    return flow_list_method(params, result, err, errsize, aux, false);
}

static int
h_replace_flows(json_t *params, json_t **result, char *err, size_t errsize,
                void *aux)
{
    return flow_list_method(params, result, err, errsize, aux, true);
}

/* mod-flows and del-flows: one spec. */
static int
flow_one_method(json_t *params, json_t **result, char *err, size_t errsize,
                struct sw *sw, bool del)
{
    static const char *const mod_allowed[] = { "bridge", "flow", "strict",
                                               NULL };
    static const char *const del_allowed[] = { "bridge", "match", "strict",
                                               NULL };
    struct of_flow_spec spec;
    enum of_flow_cmd cmd;
    struct bridge *br;
    const char *text;
    char perr[256];
    size_t count = 0;
    bool strict;
    int ret;

    CTL_CHECK(ctl_params_check(params, del ? del_allowed : mod_allowed, err,
                               errsize));
    CTL_CHECK(ctl_get_bridge(sw, params, &br, err, errsize));
    CTL_CHECK(ctl_param_string(params, del ? "match" : "flow", !del, &text,
                               err, errsize));
    CTL_CHECK(ctl_param_bool(params, "strict", false, &strict, err, errsize));
    cmd = del ? (strict ? OFFC_DELETE_STRICT : OFFC_DELETE)
              : (strict ? OFFC_MODIFY_STRICT : OFFC_MODIFY);
    ret = of_flow_parse(&spec, text ? text : "", cmd, perr, sizeof perr);
    if (ret) {
        snprintf(err, errsize, "%s", perr);
        return EINVAL;
    }
    ret = sw_flow_mods(sw, br, &spec, &cmd, 1, &count, err, errsize);
    of_flow_spec_uninit(&spec);
    if (!ret) {
        *result = json_pack("{s:I}", "count", (json_int_t) count);
    }
    return ret;
}

static int
h_mod_flows(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    return flow_one_method(params, result, err, errsize, aux, false);
}

static int
h_del_flows(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    return flow_one_method(params, result, err, errsize, aux, true);
}

/* Per OpenFlow rule: the megaflows it produced, by offload state, and
 * what hardware forwarded for them.  An open-addressing map keyed by the
 * rule pointer, built from one pass over the megaflows. */
struct rule_hw {
    const void *rule;
    uint32_t full, partial, software;
    uint64_t hw_packets, hw_bytes;
};

struct rule_hw_map {
    struct rule_hw *slots;
    size_t mask;                /* n_slots - 1 */
    struct offload *offload;
};

static struct rule_hw *
rule_hw_find(struct rule_hw_map *m, const void *rule, bool add)
{
    size_t i = ((uintptr_t) rule >> 4) * 0x9e3779b97f4a7c15ULL >> 7;

    for (;; i++) {
        struct rule_hw *e = &m->slots[i & m->mask];

        if (e->rule == rule) {
            return e;
        }
        if (!e->rule) {
            if (!add) {
                return NULL;
            }
            e->rule = rule;
            return e;
        }
    }
}

static void
rule_hw_cb(const struct dp_megaflow_info *info, void *m_)
{
    struct rule_hw_map *m = m_;
    struct offload_flow_info oi;
    enum offload_state st = OFFLOAD_STATE_SOFTWARE;

    if (m->offload && offload_flow_get(m->offload, info->handle, &oi)) {
        st = oi.state;
    }
    for (size_t i = 0; i < info->n_refs; i++) {
        struct rule_hw *e = rule_hw_find(m, info->refs[i], true);

        e->full += st == OFFLOAD_STATE_FULL;
        e->partial += st == OFFLOAD_STATE_PARTIAL;
        e->software += st != OFFLOAD_STATE_FULL
                       && st != OFFLOAD_STATE_PARTIAL;
        e->hw_packets += info->hw_packets;
        e->hw_bytes += info->hw_bytes;
    }
}

static void
count_refs_cb(const struct dp_megaflow_info *info, void *n)
{
    *(size_t *) n += info->n_refs;
}

/* dump-flows: a stream (ctl.h) over the selected rules, referenced when
 * the dump began.  A rule deleted before its turn is left out; counters
 * are read when the rule's part is produced. */
struct dump_flows_ctx {
    struct ofproto_rule **rules;
    size_t n, next;
    long long now;
    bool text;                  /* Rows as ovs-ofctl lines. */
    struct rule_hw_map hw;
};

/* One rule as the line ovs-ofctl dump-flows prints (without the newline):
 * cheaper for both ends than an object, for dumps of a million rules. */
static json_t *
flow_line(const struct dump_flows_ctx *ctx,
          const struct ofproto_rule_info *info)
{
    char line[8192], timeouts[64] = "", hw[160] = "";
    size_t n;
    long long idle = ctx->now - info->used_ms;

    if (info->idle_timeout || info->hard_timeout) {
        n = 0;
        if (info->idle_timeout) {
            n = (size_t) snprintf(timeouts, sizeof timeouts,
                                  " idle_timeout=%d,", info->idle_timeout);
        }
        if (info->hard_timeout) {
            snprintf(timeouts + n, sizeof timeouts - n, " hard_timeout=%d,",
                     info->hard_timeout);
        }
    }
    if (ctx->hw.slots) {
        const struct rule_hw *e = rule_hw_find((struct rule_hw_map *) &ctx->hw,
                                               info->rule, false);
        struct rule_hw z = { 0 };

        e = e ? e : &z;
        snprintf(hw, sizeof hw, " hw_packets=%llu, hw_bytes=%llu, "
                 "offload=full:%u/partial:%u/software:%u,",
                 (unsigned long long) e->hw_packets,
                 (unsigned long long) e->hw_bytes, e->full, e->partial,
                 e->software);
    }
    n = (size_t) snprintf(line, sizeof line, " cookie=0x%llx, duration=%.3fs, "
                          "table=%d, n_packets=%llu, n_bytes=%llu,%s%s "
                          "idle_age=%lld, priority=%d",
                          (unsigned long long) info->cookie,
                          (ctx->now - info->created_ms) / 1000.0,
                          info->table_id,
                          (unsigned long long) info->n_packets,
                          (unsigned long long) info->n_bytes, timeouts, hw,
                          idle > 0 ? idle / 1000 : 0, info->priority);
    if (n < sizeof line - 1) {
        char *p = line + n;
        size_t m = of_match_format(p + 1, sizeof line - n - 1, info->match,
                                   INT32_MIN);

        if (m) {
            *p = ',';
            n += 1 + m;
        }
    }
    if (n < sizeof line - 9) {
        memcpy(line + n, " actions=", 9);
        n += 9;
        of_actions_format(line + n, sizeof line - n, info->actions);
    }
    return json_string(line);
}

static json_t *
flow_row(const struct dump_flows_ctx *ctx,
         const struct ofproto_rule_info *info)
{
    char match[2048], actions[4096], cookie[24];
    long long idle = ctx->now - info->used_ms;
    json_t *f;

    of_match_format(match, sizeof match, info->match, INT32_MIN);
    of_actions_format(actions, sizeof actions, info->actions);
    snprintf(cookie, sizeof cookie, "0x%llx",
             (unsigned long long) info->cookie);
    f = json_pack(
        "{s:i, s:i, s:s, s:f, s:I, s:I, s:i, s:i, s:I, s:s, s:s}",
        "table", info->table_id, "priority", info->priority,
        "cookie", cookie,
        "duration_s", (ctx->now - info->created_ms) / 1000.0,
        "n_packets", (json_int_t) info->n_packets,
        "n_bytes", (json_int_t) info->n_bytes,
        "idle_timeout", info->idle_timeout,
        "hard_timeout", info->hard_timeout,
        "idle_age_s", (json_int_t) (idle > 0 ? idle / 1000 : 0),
        "match", match, "actions", actions);
    if (f && ctx->hw.slots) {
        const struct rule_hw *e = rule_hw_find((struct rule_hw_map *) &ctx->hw,
                                               info->rule, false);

        json_object_set_new(f, "hw_packets",
                            json_integer(e ? (json_int_t) e->hw_packets : 0));
        json_object_set_new(f, "hw_bytes",
                            json_integer(e ? (json_int_t) e->hw_bytes : 0));
        json_object_set_new(f, "offload", json_pack(
            "{s:i, s:i, s:i}", "full", e ? (int) e->full : 0,
            "partial", e ? (int) e->partial : 0,
            "software", e ? (int) e->software : 0));
    }
    return f;
}

static int
dump_flows_next(void *ctx_, json_t *items, size_t max, bool *done,
                char *err, size_t errsize)
{
    struct dump_flows_ctx *ctx = ctx_;
    size_t n = 0;

    while (n < max && ctx->next < ctx->n) {
        struct ofproto_rule *r = ctx->rules[ctx->next++];
        struct ofproto_rule_info info;

        if (!ofproto_rule_is_live(r)) {
            continue;
        }
        ofproto_rule_get_info(r, &info);
        if (json_array_append_new(items, ctx->text ? flow_line(ctx, &info)
                                                   : flow_row(ctx, &info))) {
            snprintf(err, errsize, "out of memory");
            return ENOMEM;
        }
        n++;
    }
    *done = ctx->next >= ctx->n;
    return 0;
}

static void
dump_flows_destroy(void *ctx_)
{
    struct dump_flows_ctx *ctx = ctx_;

    for (size_t i = 0; i < ctx->n; i++) {
        ofproto_rule_unref(ctx->rules[i]);
    }
    free(ctx->rules);
    free(ctx->hw.slots);
    free(ctx);
}

static const struct ctl_stream_ops dump_flows_ops = {
    dump_flows_next, dump_flows_destroy,
};

static int
h_dump_flows(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    static const char *const allowed[] = { "bridge", "match", "text", NULL };
    struct dump_flows_ctx *ctx;
    struct of_flow_spec spec;
    struct bridge *br;
    const char *text;
    char perr[256];
    bool lines;
    int ret;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    CTL_CHECK(ctl_param_string(params, "match", false, &text, err, errsize));
    CTL_CHECK(ctl_param_bool(params, "text", false, &lines, err, errsize));
    if (text && of_flow_parse(&spec, text, OFFC_MATCH, perr, sizeof perr)) {
        snprintf(err, errsize, "%s", perr);
        return EINVAL;
    }
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        ret = ENOMEM;
        goto out;
    }
    ctx->now = dp_time_ms();
    ctx->text = lines;
    ctx->hw.offload = sw_offload(aux);
    if (ctx->hw.offload) {
        /* Offload state per rule, from the megaflows it produced. */
        size_t n = 64, n_refs = 0;

        dp_megaflow_dump(sw_dp(aux), count_refs_cb, &n_refs);
        while (n < 2 * n_refs + 64) {
            n *= 2;
        }
        ctx->hw.slots = calloc(n, sizeof *ctx->hw.slots);
        ctx->hw.mask = n - 1;
        if (ctx->hw.slots) {
            dp_megaflow_dump(sw_dp(aux), rule_hw_cb, &ctx->hw);
        }
    }
    ret = sw_dump_flow_rules(aux, br, text ? &spec : NULL, &ctx->rules,
                             &ctx->n);
    if (ret) {
        free(ctx->hw.slots);
        free(ctx);
    }
out:
    if (text) {
        of_flow_spec_uninit(&spec);
    }
    return ret ? ret : ctl_stream(&dump_flows_ops, ctx);
}

/* ---- Ports. ---- */

static int
h_add_port(json_t *params, json_t **result, char *err, size_t errsize,
           void *aux)
{
    static const char *const allowed[] = { "bridge", "name", "type",
                                           "options", NULL };
    const char *name, *type, *key;
    struct cfg_port cp;
    struct bridge *br;
    json_t *opts, *val;
    const char **kv;
    char **bufs;
    size_t n = 0;
    uint32_t ofport;
    int ret;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    CTL_CHECK(ctl_param_string(params, "name", true, &name, err, errsize));
    CTL_CHECK(ctl_param_string(params, "type", true, &type, err, errsize));
    opts = json_object_get(params, "options");
    if (opts && !json_is_object(opts)) {
        snprintf(err, errsize, "params.options: must be an object");
        return CTL_ERR_INVALID_PARAMS;
    }
    kv = calloc(json_object_size(opts) + 1, sizeof *kv);
    bufs = calloc(json_object_size(opts) + 1, sizeof *bufs);
    if (!kv || !bufs) {
        free(kv);
        free(bufs);
        return ENOMEM;
    }
    ret = 0;
    json_object_foreach(opts, key, val) {
        if (!json_is_string(val)) {
            snprintf(err, errsize, "params.options.%s: must be a string",
                     key);
            ret = CTL_ERR_INVALID_PARAMS;
            break;
        }
        if (asprintf(&bufs[n], "%s=%s", key, json_string_value(val)) < 0) {
            bufs[n] = NULL;
            ret = ENOMEM;
            break;
        }
        kv[n] = bufs[n];
        n++;
    }
    if (!ret) {
        ret = cfg_port_from_kv(name, type, kv, n, &cp, err, errsize);
        if (!ret) {
            ret = sw_add_port(aux, br, &cp, &ofport, err, errsize);
            cfg_port_uninit(&cp);
            if (!ret) {
                *result = json_pack("{s:I}", "ofport", (json_int_t) ofport);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(bufs[i]);
    }
    free(bufs);
    free(kv);
    return ret;
}

static int
h_del_port(json_t *params, json_t **result, char *err, size_t errsize,
           void *aux)
{
    static const char *const allowed[] = { "bridge", "name", NULL };
    struct bridge *br;
    const char *name;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    CTL_CHECK(ctl_param_string(params, "name", true, &name, err, errsize));
    CTL_CHECK(sw_del_port(aux, br, name, err, errsize));
    *result = json_object();
    return 0;
}

/* ---- Datapath introspection. ---- */

struct mf_dump_ctx {
    json_t *arr;
    long long now;
    struct sw *sw;
};

static void
megaflow_cb(const struct dp_megaflow_info *info, void *ctx_)
{
    struct mf_dump_ctx *ctx = ctx_;
    struct of_match m = { .flow = info->flow, .wc = info->mask };
    char match[2048], actions[4096];

    of_match_format(match, sizeof match, &m, INT32_MIN);
    dp_actions_format(actions, sizeof actions, info->actions);
    json_array_append_new(ctx->arr, json_pack(
        "{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I}",
        "pmd", (int) info->pmd, "match", match, "actions", actions,
        "packets", (json_int_t) (info->packets + info->hw_packets),
        "bytes", (json_int_t) (info->bytes + info->hw_bytes),
        "hw_packets", (json_int_t) info->hw_packets,
        "hw_bytes", (json_int_t) info->hw_bytes,
        "offload", info->offloaded ? "offered" : "none",
        "used_ms_ago", (json_int_t) (info->used_ms
                                     ? ctx->now - info->used_ms : -1)));
    ctl_offload_megaflow_fields(ctx->sw, info->handle,
                                json_array_get(ctx->arr,
                                               json_array_size(ctx->arr)
                                               - 1));
}

static int
cmp_megaflow(const void *a_, const void *b_)
{
    json_t *a = *(json_t *const *) a_, *b = *(json_t *const *) b_;
    json_int_t pa = json_integer_value(json_object_get(a, "pmd"));
    json_int_t pb = json_integer_value(json_object_get(b, "pmd"));

    if (pa != pb) {
        return pa < pb ? -1 : 1;
    }
    return strcmp(json_string_value(json_object_get(a, "match")),
                  json_string_value(json_object_get(b, "match")));
}

static int
h_dump_megaflows(json_t *params, json_t **result, char *err, size_t errsize,
                 void *aux)
{
    static const char *const allowed[] = { NULL };
    struct mf_dump_ctx ctx = { json_array(), dp_time_ms(), aux };
    size_t n;
    json_t **items, *sorted;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    dp_megaflow_dump(sw_dp(aux), megaflow_cb, &ctx);
    n = json_array_size(ctx.arr);
    items = calloc(n + 1, sizeof *items);
    if (!items) {
        json_decref(ctx.arr);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = json_array_get(ctx.arr, i);
    }
    qsort(items, n, sizeof *items, cmp_megaflow);
    sorted = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append(sorted, items[i]);
    }
    free(items);
    json_decref(ctx.arr);
    *result = sorted;
    return 0;
}

static int
h_pmd_stats(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    static const char *const allowed[] = { NULL };
    struct dp *dp = sw_dp(aux);

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    *result = json_array();
    for (unsigned i = 0; i < dp_n_pmds(dp); i++) {
        struct dp_pmd_stats s;
        json_t *drops = json_object(), *stages = json_object();
        json_t *iters = json_array();
        double tsc_us = (double) rte_get_tsc_hz() / 1e6;

        dp_get_pmd_stats(dp, i, &s);
        for (unsigned k = 0; k < DP_ITER_BUCKETS; k++) {
            /* The last bucket's bound is null: no bound. */
            json_array_append_new(iters, json_pack(
                "{s:o, s:I}", "le_us",
                dp_iter_bounds_us[k] == UINT32_MAX
                ? json_null() : json_integer(dp_iter_bounds_us[k]),
                "count", (json_int_t) s.iteration_hist[k]));
        }
        for (unsigned st = 0; st < DP_N_STAGES; st++) {
            json_object_set_new(stages, dp_stage_name(st),
                                json_integer((json_int_t) s.stage_cycles[st]));
        }
        for (unsigned r = 0; r < DP_N_DROP_REASONS; r++) {
            json_object_set_new(drops, dp_drop_reason_name(r),
                                json_integer((json_int_t) s.drops[r]));
        }
        json_array_append_new(*result, json_pack(
            "{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
            " s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:o, s:o, s:I,"
            " s:o, s:f, s:I, s:I}",
            "pmd", (int) s.pmd, "core", s.core,
            "packets", (json_int_t) s.packets,
            "emc_hits", (json_int_t) s.emc_hits,
            "hkc_hits", (json_int_t) s.hkc_hits,
            "exact_skipped", (json_int_t) s.exact_skipped,
            "megaflow_hits", (json_int_t) s.megaflow_hits,
            "mark_hits", (json_int_t) s.mark_hits,
            "simple_hits", (json_int_t) s.simple_hits,
            "megaflow_subtables", (json_int_t) s.n_subtables,
            "upcalls", (json_int_t) s.upcalls,
            "upcall_failures", (json_int_t) s.upcall_failures,
            "megaflow_not_installed", (json_int_t) s.megaflow_not_installed,
            "mask_limited", (json_int_t) s.mask_limited,
            "recirculations", (json_int_t) s.recirculations,
            "recirc_shortcuts", (json_int_t) s.recirc_shortcuts,
            "megaflows", (json_int_t) s.n_megaflows,
            "cycles_per_packet",
            s.packets ? (double) s.busy_cycles / (double) s.packets : 0.0,
            "busy_cycles", (json_int_t) s.busy_cycles,
            "idle_cycles", (json_int_t) s.idle_cycles,
            "sleep_cycles", (json_int_t) s.sleep_cycles,
            "sleeps", (json_int_t) s.sleeps,
            "drops", drops, "stage_cycles", stages,
            "profiled_packets", (json_int_t) s.profiled_packets,
            "iterations", iters,
            "iteration_max_us", (double) s.iteration_max_cycles / tsc_us,
            "megaflow_busy", (json_int_t) s.megaflow_busy,
            "tnl_ctx_resets", (json_int_t) s.tnl_ctx_resets));
    }
    return 0;
}

/* revalidation-stats: what the main thread's walks of the megaflows after
 * rule changes cost (dp.h: struct dp_reval_stats). */
static int
h_revalidation_stats(json_t *params, json_t **result, char *err,
                     size_t errsize, void *aux)
{
    static const char *const allowed[] = { NULL };
    struct dp_reval_stats rs;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    dp_get_reval_stats(sw_dp(aux), &rs);
    *result = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:f}",
        "revalidations", (json_int_t) rs.walks,
        "megaflows_walked", (json_int_t) rs.walked,
        "translated", (json_int_t) rs.translated,
        "spared", (json_int_t) rs.spared,
        "removed", (json_int_t) rs.removed,
        "walk_ms_total", (double) rs.walk_ns / 1e6,
        "walk_ms_max", (double) rs.walk_ns_max / 1e6,
        "walk_ms_last", (double) rs.walk_ns_last / 1e6,
        "credit_walks", (json_int_t) rs.pulls,
        "credited", (json_int_t) rs.pull_credited,
        "credit_walk_ms_total", (double) rs.pull_ns / 1e6);
    return 0;
}

/* Turns the PMDs' per-stage cycle profile (dp.h: DP_STAGES) on or off;
 * without "enable", only reports whether it is on. */
static int
h_pmd_profile(json_t *params, json_t **result, char *err, size_t errsize,
              void *aux)
{
    static const char *const allowed[] = { "enable", NULL };
    struct dp *dp = sw_dp(aux);
    bool on = dp_get_profile(dp);

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_bool(params, "enable", on, &on, err, errsize));
    dp_set_profile(dp, on);
    *result = json_pack("{s:b}", "enabled", on);
    return 0;
}

/* ---- Log levels. ---- */

static void
add_level_cb(const struct log_module *m, void *obj)
{
    json_object_set_new(obj, m->name,
                        json_string(log_level_name(log_get_level(m))));
}

/* log-level {"module": NAME or "*", "level": LEVEL}: sets, then reports
 * every module's level.  Both params are optional: without "level" it only
 * reports; without "module" the level applies to every module. */
static int
h_log_level(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    static const char *const allowed[] = { "module", "level", NULL };
    const char *module = NULL, *level_name = NULL;
    enum log_level level;
    json_t *levels;

    (void) aux;
    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_string(params, "module", false, &module, err,
                               errsize));
    CTL_CHECK(ctl_param_string(params, "level", false, &level_name, err,
                               errsize));
    if (module && strcmp(module, "*") && !log_module_find(module)) {
        snprintf(err, errsize, "params.module: no log module \"%s\"",
                 module);
        return CTL_ERR_INVALID_PARAMS;
    }
    if (level_name) {
        if (log_level_from_name(level_name, &level)) {
            snprintf(err, errsize, "params.level: no log level \"%s\" "
                     "(off, err, warn, info, dbg)", level_name);
            return CTL_ERR_INVALID_PARAMS;
        }
        log_set_level(module, level);
    } else if (module) {
        snprintf(err, errsize, "params.module: needs params.level");
        return CTL_ERR_INVALID_PARAMS;
    }
    levels = json_object();
    log_module_for_each(add_level_cb, levels);
    *result = json_pack("{s:o}", "modules", levels);
    return 0;
}

/* ---- Resources. ---- */

static void
count_rules_cb(struct bridge *br, void *n)
{
    *(size_t *) n += ofproto_n_rules(bridge_ofproto(br));
}

static void
count_recirc_cb(struct bridge *br, void *sum_)
{
    struct ofproto_recirc_stats *sum = sum_, st;

    ofproto_recirc_stats(bridge_ofproto(br), &st);
    sum->states += st.states;
    sum->refused += st.refused;
}

long long
ctl_rss_kib(void)
{
    long long pages = -1, rss = -1;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%lld %lld", &pages, &rss) != 2) {
            rss = -1;
        }
        fclose(f);
    }
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* What the daemon holds: packet buffers, rules, cached flows, memory.  A
 * soak test watches these stay flat under churn. */
static int
h_resources(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    static const char *const allowed[] = { NULL };
    struct rte_mempool *mp = sw_mempool(aux);
    struct ofproto_recirc_stats rc = { 0, 0 };
    size_t rules = 0;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    sw_for_each_bridge(aux, count_rules_cb, &rules);
    sw_for_each_bridge(aux, count_recirc_cb, &rc);
    *result = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                        "mbufs_total", (json_int_t) mp->size,
                        "mbufs_in_use",
                        (json_int_t) rte_mempool_in_use_count(mp),
                        "rules", (json_int_t) rules,
                        "megaflows",
                        (json_int_t) dp_megaflow_count(sw_dp(aux)),
                        "recirc_states", (json_int_t) rc.states,
                        "recirc_refused", (json_int_t) rc.refused,
                        "rss_kib", (json_int_t) ctl_rss_kib());
    return 0;
}

/* ---- Dummy ports. ---- */

static int
get_dummy(struct sw *sw, json_t *params, struct bridge_port_info *info,
          char *err, size_t errsize)
{
    struct bridge *br;
    bool found;

    CTL_CHECK(ctl_get_bridge(sw, params, &br, err, errsize));
    CTL_CHECK(get_port(br, params, true, &found, info, err, errsize));
    if (strcmp(info->type, "dummy")) {
        snprintf(err, errsize, "port \"%s\" is not a dummy port",
                 info->name);
        return EOPNOTSUPP;
    }
    return 0;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int
h_dummy_inject(json_t *params, json_t **result, char *err, size_t errsize,
               void *aux)
{
    static const char *const allowed[] = { "bridge", "port", "packets",
                                           NULL };
    struct bridge_port_info info;
    json_t *pkts;
    size_t n, queued = 0;
    uint8_t **frames;
    size_t *lens;
    int ret = 0;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(get_dummy(aux, params, &info, err, errsize));
    CTL_CHECK(ctl_param_strings(params, "packets", true, &pkts, err, errsize));
    n = json_array_size(pkts);
    frames = calloc(n + 1, sizeof *frames);
    lens = calloc(n + 1, sizeof *lens);
    if (!frames || !lens) {
        free(frames);
        free(lens);
        return ENOMEM;
    }
    for (size_t i = 0; i < n && !ret; i++) {
        const char *hex = json_string_value(json_array_get(pkts, i));
        size_t len = strlen(hex);

        if (len % 2 || len / 2 < 14 || len / 2 > 65535) {
            snprintf(err, errsize, "packets[%zu]: need an even number of hex "
                     "digits for 14..65535 bytes", i);
            ret = EINVAL;
            break;
        }
        frames[i] = malloc(len / 2);
        if (!frames[i]) {
            ret = ENOMEM;
            break;
        }
        lens[i] = len / 2;
        for (size_t k = 0; k < len / 2; k++) {
            int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);

            if (hi < 0 || lo < 0) {
                snprintf(err, errsize, "packets[%zu]: bad hex digit at %zu",
                         i, 2 * k + (hi < 0 ? 0 : 1));
                ret = EINVAL;
                break;
            }
            frames[i][k] = (uint8_t) (hi << 4 | lo);
        }
    }
    if (!ret) {
        ret = port_dummy_inject(info.port, (const void *const *) frames,
                                lens, n, &queued);
        if (ret) {
            snprintf(err, errsize, "port %s: %s", info.name, strerror(ret));
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(frames[i]);
    }
    free(frames);
    free(lens);
    if (!ret) {
        *result = json_pack("{s:I}", "count", (json_int_t) queued);
    }
    return ret;
}

static void
capture_cb(const void *frame, size_t len, void *arr)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = frame;
    char *hex = malloc(2 * len + 1);

    if (!hex) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[2 * len] = '\0';
    json_array_append_new(arr, json_string(hex));
    free(hex);
}

static int
h_dummy_capture(json_t *params, json_t **result, char *err, size_t errsize,
                void *aux)
{
    static const char *const allowed[] = { "bridge", "port", NULL };
    struct bridge_port_info info;
    json_t *arr;
    size_t n;
    int ret;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(get_dummy(aux, params, &info, err, errsize));
    arr = json_array();
    ret = port_dummy_capture(info.port, capture_cb, arr, &n);
    if (ret) {
        json_decref(arr);
        snprintf(err, errsize, "port %s: %s", info.name, strerror(ret));
        return ret;
    }
    *result = json_pack("{s:o}", "packets", arr);
    return 0;
}

int
ctl_handlers_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "show", h_show, CTL_READ_ONLY },
        { "dump-ports", h_dump_ports, CTL_READ_ONLY },
        { "add-flows", h_add_flows },
        { "mod-flows", h_mod_flows },
        { "del-flows", h_del_flows },
        { "replace-flows", h_replace_flows },
        { "dump-flows", h_dump_flows, CTL_READ_ONLY },
        { "add-port", h_add_port },
        { "del-port", h_del_port },
        { "dump-megaflows", h_dump_megaflows, CTL_READ_ONLY },
        { "pmd-stats", h_pmd_stats, CTL_READ_ONLY },
        { "pmd-profile", h_pmd_profile },
        { "revalidation-stats", h_revalidation_stats, CTL_READ_ONLY },
        { "log-level", h_log_level },
        { "resources", h_resources, CTL_READ_ONLY },
        { "dummy-inject", h_dummy_inject },
        { "dummy-capture", h_dummy_capture },
    };
    int ret = ctl_register_all(server, methods,
                               sizeof methods / sizeof methods[0], sw);

    ret = ret ? ret : ctl_offload_register(server, sw);
    ret = ret ? ret : ctl_capture_register(server, sw);
    ret = ret ? ret : ctl_mirror_register(server, sw);
    ret = ret ? ret : ctl_tunnel_register(server, sw);
    return ret ? ret : ctl_conntrack_register(server, sw);
}
