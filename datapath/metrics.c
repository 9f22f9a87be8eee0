/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.c: the Prometheus exposition (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
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

/* One port, read once per scrape so that every family sees the same
 * figures. */
struct port_row {
    const char *bridge;
    char name[64];
    uint32_t ofport;
    bool link;
    struct port_stats st;
    struct port_custom_stat *custom;
    size_t n_custom;
};

struct rows {
    struct port_row *v;
    size_t n, cap;
    bool nomem;
    const char *bridge;
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
port_labels(struct evbuffer *b, const struct port_row *r)
{
    ADD_LIT(b, "{bridge=\"");
    put_label_value(b, r->bridge);
    ADD_LIT(b, "\",port=\"");
    put_label_value(b, r->name);
    evbuffer_add_printf(b, "\",ofport=\"%" PRIu32 "\"", r->ofport);
}

static void
port_cb(const struct bridge_port_info *info, void *rows_)
{
    struct rows *rows = rows_;
    struct port_row *r;

    if (rows->nomem) {
        return;
    }
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        struct port_row *v = realloc(rows->v, cap * sizeof *v);

        if (!v) {
            rows->nomem = true;
            return;
        }
        rows->v = v;
        rows->cap = cap;
    }
    r = &rows->v[rows->n];
    memset(r, 0, sizeof *r);
    r->custom = calloc(MAX_CUSTOM, sizeof *r->custom);
    if (!r->custom) {
        rows->nomem = true;
        return;
    }
    rows->n++;
    r->bridge = rows->bridge;
    snprintf(r->name, sizeof r->name, "%s", info->name);
    r->ofport = info->ofport;
    r->link = port_link_up(info->port);
    port_get_stats(info->port, &r->st);
    r->n_custom = port_get_custom_stats(info->port, r->custom, MAX_CUSTOM);
}

static void
bridge_cb(struct bridge *br, void *rows_)
{
    struct rows *rows = rows_;

    rows->bridge = bridge_name(br);
    bridge_port_dump(br, port_cb, rows);
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
    PC(hw_tx_bytes, "Bytes a NIC forwarded out of the port in hardware")

static void
render_ports(struct evbuffer *b, const struct rows *rows)
{
#define PC(FIELD, HELP)                                                     \
    family(b, "sluice_port_" #FIELD "_total", "counter", HELP);            \
    for (size_t i = 0; i < rows->n; i++) {                                  \
        evbuffer_add_printf(b, "sluice_port_" #FIELD "_total");             \
        port_labels(b, &rows->v[i]);                                        \
        evbuffer_add_printf(b, "} %" PRIu64 "\n", rows->v[i].st.FIELD);     \
    }
    PORT_COUNTERS
#undef PC

    family(b, "sluice_port_link_up", "gauge",
           "1 if the port's link is up, else 0");
    for (size_t i = 0; i < rows->n; i++) {
        evbuffer_add_printf(b, "sluice_port_link_up");
        port_labels(b, &rows->v[i]);
        evbuffer_add_printf(b, "} %d\n", rows->v[i].link ? 1 : 0);
    }
    family(b, "sluice_port_provider_total", "counter",
           "The port provider's own counters (dump-ports custom)");
    for (size_t i = 0; i < rows->n; i++) {
        for (size_t k = 0; k < rows->v[i].n_custom; k++) {
            evbuffer_add_printf(b, "sluice_port_provider_total");
            port_labels(b, &rows->v[i]);
            ADD_LIT(b, ",counter=\"");
            put_label_value(b, rows->v[i].custom[k].name);
            evbuffer_add_printf(b, "\"} %" PRIu64 "\n",
                                rows->v[i].custom[k].value);
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
    family(b, "sluice_offload_insert_seconds_total", "counter",
           "Time the offload thread spent inserting flows into NICs");
    evbuffer_add_printf(b, "sluice_offload_insert_seconds_total %.9f\n",
                        (double) s.insert_ns_total / 1e9);
    gauge(b, "sluice_offload_insert_seconds_max",
          "The longest insertion into a NIC so far",
          (double) s.insert_ns_max / 1e9);
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

    sw_for_each_bridge(sw, bridge_cb, &rows);
    if (!pmds || rows.nomem) {
        ret = ENOMEM;
        goto out;
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
    render_offload(b, sw);
    render_conntrack(b, sw);
out:
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.v[i].custom);
    }
    free(rows.v);
    free(pmds);
    return ret;
}
