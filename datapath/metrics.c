/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.c: the Prometheus exposition (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <rte_cycles.h>
#include <rte_mempool.h>

#include "bridge.h"
#include "conntrack.h"
#include "ctl-handlers.h"
#include "dp.h"
#include "drop.h"
#include "offload.h"
#include "ofproto.h"
#include "port.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define MAX_CUSTOM 128

/* The conntrack TCP states are at most this old. */
#define METRICS_CT_WALK_MS 5000

/* Appends a string literal. */
#define ADD_LIT(B, S) evbuffer_add(B, S, sizeof S - 1)

/* The ports, read once per scrape so that every family sees the same
 * figures, with their providers' own counters. */
struct rows {
    struct sw_port_row *v;
    long n;
    struct port_custom_stat (*custom)[MAX_CUSTOM];
    size_t *n_custom;
};

/* Writes 's' as a label value: backslash, double quote and newline
 * escaped. */
static void
put_label_value(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            ADD_LIT(b, "\\\\");
            break;
        case '"':
            ADD_LIT(b, "\\\"");
            break;
        case '\n':
            ADD_LIT(b, "\\n");
            break;
        default:
            evbuffer_add(b, s, 1);
        }
    }
}

static void
family(struct evbuffer *b, const char *name, const char *type,
       const char *help)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                        type);
}

static void
port_labels(struct evbuffer *b, const struct sw_port_row *r)
{
    ADD_LIT(b, "{bridge=\"");
    put_label_value(b, r->bridge);
    ADD_LIT(b, "\",port=\"");
    put_label_value(b, r->name);
    evbuffer_add_printf(b, "\",ofport=\"%" PRIu32 "\"", r->ofport);
}

/* The per-port counters, in the order of dump-ports. */
#define PORT_COUNTERS                                                       \
    PC(rx_packets, "Packets received")                                     \
    PC(rx_bytes, "Bytes received")                                         \
    PC(rx_dropped, "Packets dropped on receive")                           \
    PC(rx_errors, "Receive errors")                                        \
    PC(tx_packets, "Packets sent by software")                             \
    PC(tx_bytes, "Bytes sent by software")                                 \
    PC(tx_dropped, "Packets dropped on transmit (ring full, NIC refusal)") \
    PC(tx_errors, "Transmit errors")                                       \
    PC(hw_tx_packets, "Packets a NIC forwarded out of the port in hardware") \
    PC(hw_tx_bytes, "Bytes a NIC forwarded out of the port in hardware") \
    PC(tx_sw_segments, "Segments sluice cut from TSO packets for the port") \
    PC(tx_sw_checksums, "Partial checksums sluice completed for the port") \
    PC(tx_offload_dropped, "Packets whose offload request could not be met")

static void
render_ports(struct evbuffer *b, const struct rows *rows)
{
#define PC(FIELD, HELP)                                                     \
    family(b, "sluice_port_" #FIELD "_total", "counter", HELP);            \
    for (long i = 0; i < rows->n; i++) {                                    \
        evbuffer_add_printf(b, "sluice_port_" #FIELD "_total");             \
        port_labels(b, &rows->v[i]);                                        \
        evbuffer_add_printf(b, "} %" PRIu64 "\n", rows->v[i].st.FIELD);     \
    }
    PORT_COUNTERS
#undef PC

    family(b, "sluice_port_link_up", "gauge",
           "1 if the port's link is up, else 0");
    for (long i = 0; i < rows->n; i++) {
        evbuffer_add_printf(b, "sluice_port_link_up");
        port_labels(b, &rows->v[i]);
        evbuffer_add_printf(b, "} %d\n", rows->v[i].link ? 1 : 0);
    }
    family(b, "sluice_port_provider_total", "counter",
           "The port provider's own counters (dump-ports custom)");
    for (long i = 0; i < rows->n; i++) {
        for (size_t k = 0; k < rows->n_custom[i]; k++) {
            evbuffer_add_printf(b, "sluice_port_provider_total");
            port_labels(b, &rows->v[i]);
            ADD_LIT(b, ",counter=\"");
            put_label_value(b, rows->custom[i][k].name);
            evbuffer_add_printf(b, "\"} %" PRIu64 "\n",
                                rows->custom[i][k].value);
        }
    }
}

static void
pmd_labels(struct evbuffer *b, const struct dp_pmd_stats *s)
{
    evbuffer_add_printf(b, "{pmd=\"%u\",core=\"%d\"", s->pmd, s->core);
}

/* Per-PMD figures: FIELD of struct dp_pmd_stats, metric suffix, type. */
#define PMD_SERIES                                                          \
    PS(packets, "packets_total", "counter",                                 \
       "Packets received (each once, whatever passes it took)")             \
    PS(busy_cycles, "busy_cycles_total", "counter",                         \
       "TSC cycles of iterations that handled packets")                     \
    PS(idle_cycles, "idle_cycles_total", "counter",                         \
       "TSC cycles of iterations that found no packet")                     \
    PS(sleep_cycles, "sleep_cycles_total", "counter",                       \
       "TSC cycles napping with little to do (pmd.idle_sleep_us)")          \
    PS(sleeps, "sleeps_total", "counter", "Naps taken")                     \
    PS(upcalls, "upcalls_total", "counter",                                 \
       "Packets that missed every cache and went to the slow path")         \
    PS(upcall_failures, "upcall_failures_total", "counter",                 \
       "Upcalls whose translation failed")                                  \
    PS(recirculations, "recirculations_total", "counter",                   \
       "Extra passes through the caches after ct(table=T)")                 \
    PS(recirc_shortcuts, "recirc_shortcuts_total", "counter",               \
       "Passes after ct(table=T) answered by the connection's hint")        \
    PS(exact_skipped, "exact_skipped_total", "counter",                     \
       "Lookups that skipped an exact-match cache that did not pay")        \
    PS(megaflow_not_installed, "megaflow_not_installed_total", "counter",   \
       "Upcall results executed without caching (flow or mask limit)")      \
    PS(n_megaflows, "megaflows", "gauge", "Megaflows cached by the PMD")    \
    PS(n_subtables, "megaflow_masks", "gauge",                              \
       "Megaflow masks (subtables) of the PMD")

static void
render_pmds(struct evbuffer *b, const struct dp_pmd_stats *p, unsigned n)
{
    static const struct {
        const char *tier;
    } tiers[] = { { "emc" }, { "header_key" }, { "megaflow" }, { "mark" },
                  { "simple" } };

#define PS(FIELD, SUFFIX, TYPE, HELP)                                       \
    family(b, "sluice_pmd_" SUFFIX, TYPE, HELP);                            \
    for (unsigned i = 0; i < n; i++) {                                      \
        evbuffer_add_printf(b, "sluice_pmd_" SUFFIX);                       \
        pmd_labels(b, &p[i]);                                               \
        evbuffer_add_printf(b, "} %" PRIu64 "\n", p[i].FIELD);              \
    }
    PMD_SERIES
#undef PS

    family(b, "sluice_pmd_lookups_total", "counter",
           "Lookups answered, by cache tier (every pass counts; the tiers "
           "are disjoint)");
    for (unsigned i = 0; i < n; i++) {
        uint64_t v[] = {
            p[i].emc_hits - p[i].hkc_hits, p[i].hkc_hits,
            p[i].megaflow_hits, p[i].mark_hits, p[i].simple_hits,
        };

        for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
            evbuffer_add_printf(b, "sluice_pmd_lookups_total");
            pmd_labels(b, &p[i]);
            evbuffer_add_printf(b, ",tier=\"%s\"} %" PRIu64 "\n",
                                tiers[t].tier, v[t]);
        }
    }
    /* Iteration lengths: buckets of every PMD, then the sums, then the
     * counts (a family's samples stay together per name). */
    family(b, "sluice_pmd_iteration_seconds", "histogram",
           "Length of PMD loop iterations (naps excluded): a long one is "
           "a stall of every queue the PMD polls");
    for (unsigned i = 0; i < n; i++) {
        uint64_t cum = 0;

        for (unsigned k = 0; k < DP_ITER_BUCKETS; k++) {
            cum += p[i].iteration_hist[k];
            evbuffer_add_printf(b, "sluice_pmd_iteration_seconds_bucket");
            pmd_labels(b, &p[i]);
            if (dp_iter_bounds_us[k] == UINT32_MAX) {
                evbuffer_add_printf(b, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
            } else {
                evbuffer_add_printf(b, ",le=\"%g\"} %" PRIu64 "\n",
                                    dp_iter_bounds_us[k] / 1e6, cum);
            }
        }
    }
    for (unsigned i = 0; i < n; i++) {
        evbuffer_add_printf(b, "sluice_pmd_iteration_seconds_sum");
        pmd_labels(b, &p[i]);
        evbuffer_add_printf(b, "} %.9g\n",
                            (double) (p[i].busy_cycles + p[i].idle_cycles)
                            / (double) rte_get_tsc_hz());
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t total = 0;

        for (unsigned k = 0; k < DP_ITER_BUCKETS; k++) {
            total += p[i].iteration_hist[k];
        }
        evbuffer_add_printf(b, "sluice_pmd_iteration_seconds_count");
        pmd_labels(b, &p[i]);
        evbuffer_add_printf(b, "} %" PRIu64 "\n", total);
    }
    family(b, "sluice_pmd_drops_total", "counter",
           "Packets the PMD dropped, by reason");
    for (unsigned i = 0; i < n; i++) {
        for (int r = 0; r < DP_N_DROP_REASONS; r++) {
            evbuffer_add_printf(b, "sluice_pmd_drops_total");
            pmd_labels(b, &p[i]);
            evbuffer_add_printf(b, ",reason=\"%s\"} %" PRIu64 "\n",
                                dp_drop_reason_name(r), p[i].drops[r]);
        }
    }
}

static void
gauge(struct evbuffer *b, const char *name, const char *help, double v)
{
    family(b, name, "gauge", help);
    evbuffer_add_printf(b, "%s %.17g\n", name, v);
}

/* PREFIX_seconds_total (a counter) and PREFIX_seconds_max (a gauge) from
 * nanoseconds. */
static void
seconds_total_max(struct evbuffer *b, const char *prefix,
                  const char *help_total, const char *help_max,
                  uint64_t ns_total, uint64_t ns_max)
{
    evbuffer_add_printf(b, "# HELP %s_seconds_total %s\n"
                        "# TYPE %s_seconds_total counter\n"
                        "%s_seconds_total %.9f\n"
                        "# HELP %s_seconds_max %s\n"
                        "# TYPE %s_seconds_max gauge\n"
                        "%s_seconds_max %.17g\n",
                        prefix, help_total, prefix, prefix,
                        (double) ns_total / 1e9, prefix, help_max, prefix,
                        prefix, (double) ns_max / 1e9);
}

static void
counter(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void
rules_cb(struct bridge *br, void *b_)
{
    struct evbuffer *b = b_;

    ADD_LIT(b, "sluice_rules{bridge=\"");
    put_label_value(b, bridge_name(br));
    evbuffer_add_printf(b, "\"} %zu\n",
                        ofproto_n_rules(bridge_ofproto(br)));
}

static void
count_failed_cb(const struct cfg_port *cp, const char *error, void *n)
{
    (void) cp;
    (void) error;
    (*(size_t *) n)++;
}

static void
failed_cb(struct bridge *br, void *b_)
{
    struct evbuffer *b = b_;
    size_t n = 0;

    bridge_failed_port_dump(br, count_failed_cb, &n);
    ADD_LIT(b, "sluice_ports_failed{bridge=\"");
    put_label_value(b, bridge_name(br));
    evbuffer_add_printf(b, "\"} %zu\n", n);
}

/* Port mirrors: one family at a time, every bridge's mirrors in it. */
enum mirror_field { MF_PACKETS, MF_BYTES, MF_DROPPED, MF_ACTIVE };

struct mirror_ctx {
    struct evbuffer *b;
    const char *bridge;
    enum mirror_field field;
};

static void
mirror_sample_cb(const struct bridge_mirror_info *info, void *ctx_)
{
    static const char *const names[] = {
        "sluice_mirror_tx_packets_total", "sluice_mirror_tx_bytes_total",
        "sluice_mirror_dropped_total", "sluice_mirror_active",
    };
    const struct mirror_ctx *ctx = ctx_;
    uint64_t v = ctx->field == MF_PACKETS ? info->packets
                 : ctx->field == MF_BYTES ? info->bytes
                 : ctx->field == MF_DROPPED ? info->dropped
                 : info->active;

    evbuffer_add_printf(ctx->b, "%s{bridge=\"", names[ctx->field]);
    put_label_value(ctx->b, ctx->bridge);
    ADD_LIT(ctx->b, "\",mirror=\"");
    put_label_value(ctx->b, info->cfg->name);
    ADD_LIT(ctx->b, "\",output_port=\"");
    put_label_value(ctx->b, info->cfg->output_port);
    evbuffer_add_printf(ctx->b, "\"} %" PRIu64 "\n", v);
}

static void
mirror_bridge_cb(struct bridge *br, void *ctx_)
{
    struct mirror_ctx *ctx = ctx_;

    ctx->bridge = bridge_name(br);
    bridge_mirror_dump(br, mirror_sample_cb, ctx);
}

static void
render_mirrors(struct evbuffer *b, struct sw *sw)
{
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        { "sluice_mirror_tx_packets_total", "counter",
          "Mirror copies sent to the mirror's output port" },
        { "sluice_mirror_tx_bytes_total", "counter",
          "Bytes of the mirror copies sent to its output port" },
        { "sluice_mirror_dropped_total", "counter",
          "Mirror copies not made for want of a packet buffer" },
        { "sluice_mirror_active", "gauge",
          "1 if the mirror's output port is open, else 0" },
    };

    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        struct mirror_ctx ctx = { b, NULL, (enum mirror_field) i };

        family(b, fams[i].name, fams[i].type, fams[i].help);
        sw_for_each_bridge(sw, mirror_bridge_cb, &ctx);
    }
}

static void
render_resources(struct evbuffer *b, struct sw *sw)
{
    struct rte_mempool *mp = sw_mempool(sw);
    long long rss = ctl_rss_kib();

    gauge(b, "sluice_megaflows",
          "Megaflows held, live and awaiting their grace period",
          (double) dp_megaflow_count(sw_dp(sw)));
    family(b, "sluice_rules", "gauge", "OpenFlow rules of the bridge");
    sw_for_each_bridge(sw, rules_cb, b);
    family(b, "sluice_ports_failed", "gauge",
           "Ports of the config or saved state that could not be opened at "
           "start (show: failed_ports)");
    sw_for_each_bridge(sw, failed_cb, b);
    gauge(b, "sluice_mbufs_capacity", "Packet buffers in the pool",
          mp ? (double) mp->size : 0);
    gauge(b, "sluice_mbufs_in_use",
          "Packet buffers held by queues, rings and packets in flight",
          mp ? (double) rte_mempool_in_use_count(mp) : 0);
    if (rss >= 0) {
        gauge(b, "sluice_resident_memory_bytes",
              "Resident memory of the daemon", (double) rss * 1024.0);
    }
}

/* Revalidation (dp.h: struct dp_reval_stats). */
static void
render_revalidation(struct evbuffer *b, struct sw *sw)
{
    struct dp_reval_stats rs;

    dp_get_reval_stats(sw_dp(sw), &rs);
    counter(b, "sluice_revalidations_total",
            "Walks of the cached megaflows after a change of what they "
            "were translated from (rules, groups, ports, MAC learning)",
            rs.walks);
    family(b, "sluice_revalidation_megaflows_total", "counter",
           "Megaflows those walks went through, by outcome");
    evbuffer_add_printf(b,
                        "sluice_revalidation_megaflows_total"
                        "{outcome=\"spared\"} %llu\n"
                        "sluice_revalidation_megaflows_total"
                        "{outcome=\"translated\"} %llu\n",
                        (unsigned long long) rs.spared,
                        (unsigned long long) rs.translated);
    counter(b, "sluice_revalidation_removed_total",
            "Megaflows revalidation removed (their result changed)",
            rs.removed);
    seconds_total_max(b, "sluice_revalidation",
                      "Time in revalidation walks (main thread)",
                      "The longest revalidation walk since start",
                      rs.walk_ns, rs.walk_ns_max);
}

static void
render_offload(struct evbuffer *b, struct sw *sw)
{
    struct offload *o = sw_offload(sw);
    struct offload_stats s;

    memset(&s, 0, sizeof s);
    if (o) {
        offload_get_stats(o, &s);
    }
    gauge(b, "sluice_offload_enabled", "1 if the offload manager runs",
          o ? 1 : 0);
    gauge(b, "sluice_offload_flows_in_hw",
          "Flows (megaflows and session directions) in NICs",
          (double) s.in_hw);
    gauge(b, "sluice_offload_queue_length",
          "Offload requests waiting for the offload thread",
          (double) s.queue_len);
    counter(b, "sluice_offload_offered_total",
            "Flows offered to the offload manager", s.offered);
    family(b, "sluice_offload_inserted_total", "counter",
           "Flows inserted into NICs, by kind");
    evbuffer_add_printf(b, "sluice_offload_inserted_total{kind=\"full\"} %"
                        PRIu64 "\n", s.full);
    evbuffer_add_printf(b, "sluice_offload_inserted_total{kind=\"partial\"}"
                        " %" PRIu64 "\n", s.partial);
    counter(b, "sluice_offload_removed_total", "Flows removed from NICs",
            s.removed);
    counter(b, "sluice_offload_aged_total",
            "Flows removed from NICs because they went idle", s.aged);
    counter(b, "sluice_offload_evicted_total",
            "Flows evicted from NICs for hotter ones", s.evicted);
    counter(b, "sluice_offload_queue_full_total",
            "Offers refused because the offload queue was full",
            s.queue_full);
    family(b, "sluice_offload_failures_total", "counter",
           "Flows kept in software, by reason");
    for (unsigned r = 1; r < OFFLOAD_N_REASONS; r++) {
        evbuffer_add_printf(b, "sluice_offload_failures_total{reason=\"%s\"}"
                            " %" PRIu64 "\n",
                            offload_reason_name((enum offload_reason) r),
                            s.failed[r]);
    }
    seconds_total_max(b, "sluice_offload_insert",
                      "Time the offload thread spent inserting flows into "
                      "NICs", "The longest insertion into a NIC so far",
                      s.insert_ns_total, s.insert_ns_max);
}

static void
render_conntrack(struct evbuffer *b, struct sw *sw)
{
    static const char *const protos[CT_N_PROTOS] = {
        [CT_PROTO_TCP] = "tcp", [CT_PROTO_UDP] = "udp",
        [CT_PROTO_ICMP] = "icmp", [CT_PROTO_OTHER] = "other",
    };
    /* The TCP states cost a walk of the table: at most one per
     * METRICS_CT_WALK_MS (the dashboard scrapes every second). */
    static uint64_t tcp_by_state[CT_TCP_N_STATES];
    static long long walked_ms = -METRICS_CT_WALK_MS;
    struct conntrack *ct = dp_conntrack(sw_dp(sw));
    long long now = dp_time_ms();
    struct ct_stats s;

    if (now - walked_ms >= METRICS_CT_WALK_MS) {
        conntrack_get_stats(ct, &s);
        memcpy(tcp_by_state, s.tcp_by_state, sizeof tcp_by_state);
        walked_ms = now;
    } else {
        conntrack_get_counters(ct, &s);
        memcpy(s.tcp_by_state, tcp_by_state, sizeof tcp_by_state);
    }
    gauge(b, "sluice_conntrack_connections",
          "Tracked connections (including expired ones not yet swept)",
          (double) s.n_conns);
    gauge(b, "sluice_conntrack_max_connections",
          "The connection limit (conntrack.max_conns)",
          (double) conntrack_get_max_conns(ct));
    family(b, "sluice_conntrack_connections_by_proto", "gauge",
           "Tracked connections by protocol");
    for (int p = 0; p < CT_N_PROTOS; p++) {
        evbuffer_add_printf(b, "sluice_conntrack_connections_by_proto"
                            "{proto=\"%s\"} %" PRIu64 "\n",
                            protos[p] ? protos[p] : "unknown",
                            s.by_proto[p]);
    }
    family(b, "sluice_conntrack_tcp_connections", "gauge",
           "Tracked TCP connections by state");
    for (unsigned i = 0; i < CT_TCP_N_STATES; i++) {
        evbuffer_add_printf(b, "sluice_conntrack_tcp_connections"
                            "{state=\"%s\"} %" PRIu64 "\n",
                            ct_tcp_state_name((uint8_t) i),
                            s.tcp_by_state[i]);
    }
    counter(b, "sluice_conntrack_created_total", "Connections committed",
            s.created);
    counter(b, "sluice_conntrack_removed_total",
            "Connections removed (closed, expired, flushed, evicted)",
            s.removed);
    family(b, "sluice_conntrack_drops_total", "counter",
           "Packets the tracker refused, by reason");
    for (int i = 0; i < CT_N_DROP_REASONS; i++) {
        evbuffer_add_printf(b, "sluice_conntrack_drops_total"
                            "{reason=\"%s\"} %" PRIu64 "\n",
                            ct_drop_reason_name(i), s.drops[i]);
    }
}

int
metrics_render(struct sw *sw, struct evbuffer *b)
{
    struct dp *dp = sw_dp(sw);
    unsigned n_pmds = dp_n_pmds(dp);
    struct dp_pmd_stats *pmds = calloc(n_pmds ? n_pmds : 1, sizeof *pmds);
    struct rows rows = { 0 };
    int ret = 0;

    rows.n = sw_port_rows(sw, &rows.v);
    if (rows.n >= 0) {
        rows.custom = calloc(rows.n ? (size_t) rows.n : 1,
                             sizeof *rows.custom);
        rows.n_custom = calloc(rows.n ? (size_t) rows.n : 1,
                               sizeof *rows.n_custom);
    }
    if (!pmds || rows.n < 0 || !rows.custom || !rows.n_custom) {
        ret = ENOMEM;
        goto out;
    }
    for (long i = 0; i < rows.n; i++) {
        rows.n_custom[i] = port_get_custom_stats(rows.v[i].port,
                                                 rows.custom[i], MAX_CUSTOM);
    }
    for (unsigned i = 0; i < n_pmds; i++) {
        dp_get_pmd_stats(dp, i, &pmds[i]);
    }
    family(b, "sluice_build_info", "gauge", "The running sluiced's version");
    evbuffer_add_printf(b, "sluice_build_info{version=\"%s\"} 1\n",
                        PACKAGE_VERSION);
    render_ports(b, &rows);
    render_pmds(b, pmds, n_pmds);
    render_resources(b, sw);
    render_revalidation(b, sw);
    render_mirrors(b, sw);
    render_offload(b, sw);
    render_conntrack(b, sw);
out:
    free(rows.v);
    free(rows.custom);
    free(rows.n_custom);
    free(pmds);
    return ret;
}
