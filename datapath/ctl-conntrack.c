/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-conntrack.c: control-socket methods of the connection tracker. */

#include "ctl-conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bridge.h"
#include "conntrack.h"
#include "ct-events.h"
#include "ctl.h"
#include "dp.h"
#include "util.h"

static const char *
proto_name(uint8_t p, bool v6)
{
    switch (p) {
    case IPPROTO_TCP_:
        return "tcp";
    case IPPROTO_UDP_:
        return "udp";
    case IPPROTO_SCTP_:
        return "sctp";
    case IPPROTO_ICMP_:
        return "icmp";
    case IPPROTO_ICMPV6_:
        return "icmp6";
    default:
        return v6 ? "ipv6" : "ip";
    }
}

json_t *
ctl_ct_tuple_json(const struct ct_tuple *t)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int af = t->is_ipv6 ? AF_INET6 : AF_INET;
    json_t *o;

    inet_ntop(af, t->src, src, sizeof src);
    inet_ntop(af, t->dst, dst, sizeof dst);
    o = json_pack("{s:s, s:s, s:i}", "src", src, "dst", dst, "proto",
                  (int) t->nw_proto);
    if (t->nw_proto == IPPROTO_ICMP_ || t->nw_proto == IPPROTO_ICMPV6_) {
        json_object_set_new(o, "id", json_integer(ntohs(t->src_port)));
        json_object_set_new(o, "type", json_integer(t->icmp_type));
        json_object_set_new(o, "code", json_integer(t->icmp_code));
    } else if (t->src_port || t->dst_port) {
        json_object_set_new(o, "sport", json_integer(ntohs(t->src_port)));
        json_object_set_new(o, "dport", json_integer(ntohs(t->dst_port)));
    }
    return o;
}

static json_t *
label_json(const uint8_t label[16])
{
    char hex[40];
    struct sbuf sb;

    sbuf_init(&sb, hex, sizeof hex);
    sbuf_put_hex128(&sb, label);
    return json_string(hex);
}

static json_t *
info_json(const struct ct_conn_info *ci, const char *proto_state)
{
    char line[1024];

    ct_conn_info_format(ci, line, sizeof line);
    return json_pack(
        "{s:s, s:s, s:i, s:o, s:o, s:s, s:I, s:o, s:[I,I], s:[I,I], s:I,"
        " s:I, s:b, s:b, s:b, s:b}",
        "line", line,
        "proto", proto_name(ci->orig.nw_proto, ci->orig.is_ipv6),
        "zone", (int) ci->orig.zone,
        "orig", ctl_ct_tuple_json(&ci->orig),
        "reply", ctl_ct_tuple_json(&ci->reply),
        "state", proto_state ? proto_state : "-",
        "mark", (json_int_t) ci->mark, "label", label_json(ci->label),
        "packets", (json_int_t) ci->packets[0],
        (json_int_t) ci->packets[1],
        "bytes", (json_int_t) ci->bytes[0], (json_int_t) ci->bytes[1],
        "age_ms", (json_int_t) (ci->last_ms - ci->created_ms),
        "expires_in_ms", (json_int_t) ci->expires_in_ms,
        "snat", (ci->nat_flags & CS_SRC_NAT) != 0,
        "dnat", (ci->nat_flags & CS_DST_NAT) != 0,
        "offloaded", ci->offloaded, "in_hw", ci->in_hw);
}

static int
get_zone(json_t *params, bool *has, uint16_t *zone, char *err,
         size_t errsize)
{
    long long z = -1;

    CTL_CHECK(ctl_param_int(params, "zone", false, 0, 65535, &z, err,
                            errsize));
    *has = z >= 0;
    *zone = *has ? (uint16_t) z : 0;
    return 0;
}

/* dump-conntrack's default and largest "limit": a reply of a million
 * connections would be hundreds of megabytes of JSON built on the main
 * thread. */
#define DUMP_LIMIT_DEFAULT 100000
#define DUMP_LIMIT_MAX 1000000

struct dump_ctx {
    json_t *arr;
    size_t n, limit;
};

static void
dump_cb(const struct ct_conn_info *ci, void *ctx_)
{
    struct dump_ctx *ctx = ctx_;

    if (ctx->n++ < ctx->limit) {
        json_array_append_new(ctx->arr, info_json(ci, ci->proto_state));
    }
}

static int
h_dump_conntrack(json_t *params, json_t **result, char *err,
                 size_t errsize, void *aux)
{
    static const char *const allowed[] = { "zone", "limit", NULL };
    struct conntrack *ct = dp_conntrack(sw_dp(aux));
    struct dump_ctx ctx = { .limit = DUMP_LIMIT_DEFAULT };
    long long limit = DUMP_LIMIT_DEFAULT;
    uint16_t zone;
    bool has;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(get_zone(params, &has, &zone, err, errsize));
    CTL_CHECK(ctl_param_int(params, "limit", false, 0, DUMP_LIMIT_MAX, &limit,
                            err, errsize));
    ctx.limit = (size_t) limit;
    ctx.arr = json_array();
    conntrack_dump(ct, has ? &zone : NULL, (uint64_t) dp_time_ms(), dump_cb,
                   &ctx);
    *result = json_pack("{s:o, s:I, s:b}", "connections", ctx.arr,
                        "total", (json_int_t) ctx.n,
                        "truncated", ctx.n > ctx.limit);
    return 0;
}

static int
parse_addr(const char *v, bool v6, uint8_t out[16])
{
    memset(out, 0, 16);
    return inet_pton(v6 ? AF_INET6 : AF_INET, v, out) == 1 ? 0 : EINVAL;
}

/* "ct_nw_src=A,ct_nw_dst=B,ct_nw_proto=P,ct_tp_src=S,ct_tp_dst=D" (or
 * ct_ipv6_src/dst; ICMP: icmp_id, icmp_type, icmp_code), as ovs-dpctl's
 * flush-conntrack takes the original direction's tuple. */
static int
parse_tuple(const char *text, struct ct_tuple *t, char *err, size_t errsize)
{
    char *copy = strdup(text), *save = NULL, *item;
    bool have_src = false, have_dst = false, have_proto = false;
    int ret = 0;

    if (!copy) {
        return ENOMEM;
    }
    memset(t, 0, sizeof *t);
    for (item = strtok_r(copy, ",", &save); item && !ret;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        unsigned long n;
        char *end;

        if (!eq) {
            ret = EINVAL;
            break;
        }
        *eq++ = '\0';
        if (!strcmp(item, "ct_nw_src") || !strcmp(item, "ct_nw_dst")
            || !strcmp(item, "ct_ipv6_src") || !strcmp(item, "ct_ipv6_dst")) {
            bool v6 = item[3] == 'i';
            bool src = strstr(item, "src") != NULL;

            if ((have_src || have_dst) && v6 != (bool) t->is_ipv6) {
                ret = EINVAL;
                break;
            }
            t->is_ipv6 = v6;
            ret = parse_addr(eq, v6, src ? t->src : t->dst);
            have_src |= src;
            have_dst |= !src;
            continue;
        }
        n = strtoul(eq, &end, 0);
        if (!*eq || *end || n > 65535) {
            ret = EINVAL;
        } else if (!strcmp(item, "ct_nw_proto") && n <= 255) {
            t->nw_proto = (uint8_t) n;
            have_proto = true;
        } else if (!strcmp(item, "ct_tp_src")) {
            t->src_port = htons((uint16_t) n);
        } else if (!strcmp(item, "ct_tp_dst")) {
            t->dst_port = htons((uint16_t) n);
        } else if (!strcmp(item, "icmp_id")) {
            t->src_port = t->dst_port = htons((uint16_t) n);
        } else if (!strcmp(item, "icmp_type") && n <= 255) {
            t->icmp_type = (uint8_t) n;
        } else if (!strcmp(item, "icmp_code") && n <= 255) {
            t->icmp_code = (uint8_t) n;
        } else {
            ret = EINVAL;
        }
    }
    free(copy);
    if (ret || !have_src || !have_dst || !have_proto) {
        snprintf(err, errsize, "params.tuple: expected ct_nw_src=A,"
                 "ct_nw_dst=B,ct_nw_proto=P[,ct_tp_src=S,ct_tp_dst=D] (or "
                 "ct_ipv6_src/ct_ipv6_dst; ICMP: icmp_id, icmp_type, "
                 "icmp_code)");
        return CTL_ERR_INVALID_PARAMS;
    }
    return 0;
}

static int
h_flush_conntrack(json_t *params, json_t **result, char *err,
                  size_t errsize, void *aux)
{
    static const char *const allowed[] = { "zone", "tuple", NULL };
    struct conntrack *ct = dp_conntrack(sw_dp(aux));
    const char *tuple_text = NULL;
    struct ct_tuple tuple;
    uint16_t zone;
    bool has;
    size_t n;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(get_zone(params, &has, &zone, err, errsize));
    CTL_CHECK(ctl_param_string(params, "tuple", false, &tuple_text, err,
                               errsize));
    if (tuple_text) {
        CTL_CHECK(parse_tuple(tuple_text, &tuple, err, errsize));
        tuple.zone = zone;
    }
    n = conntrack_flush(ct, has ? &zone : NULL, tuple_text ? &tuple : NULL,
                        (uint64_t) dp_time_ms());
    *result = json_pack("{s:I}", "flushed", (json_int_t) n);
    return 0;
}

static int
h_conntrack_stats(json_t *params, json_t **result, char *err,
                  size_t errsize, void *aux)
{
    static const char *const allowed[] = { NULL };
    static uint64_t last_created;
    static long long last_ms;
    struct conntrack *ct = dp_conntrack(sw_dp(aux));
    json_t *by_proto, *tcp, *drops, *tmo;
    struct ct_timeouts t;
    struct ct_stats s;
    long long now = dp_time_ms();
    double rate = 0;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    conntrack_get_stats(ct, &s);
    if (last_ms && now > last_ms && s.created >= last_created) {
        rate = (double) (s.created - last_created) * 1000.0
               / (double) (now - last_ms);
    }
    last_created = s.created;
    last_ms = now;

    by_proto = json_pack("{s:I, s:I, s:I, s:I}",
                         "tcp", (json_int_t) s.by_proto[CT_PROTO_TCP],
                         "udp", (json_int_t) s.by_proto[CT_PROTO_UDP],
                         "icmp", (json_int_t) s.by_proto[CT_PROTO_ICMP],
                         "other", (json_int_t) s.by_proto[CT_PROTO_OTHER]);
    tcp = json_object();
    for (unsigned i = 0; i < CT_TCP_N_STATES; i++) {
        json_object_set_new(tcp, ct_tcp_state_name((uint8_t) i),
                            json_integer((json_int_t) s.tcp_by_state[i]));
    }
    drops = json_object();
    for (int i = 0; i < CT_N_DROP_REASONS; i++) {
        json_object_set_new(drops, ct_drop_reason_name(i),
                            json_integer((json_int_t) s.drops[i]));
    }
    conntrack_get_timeouts(ct, &t);
    tmo = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
                    " s:i, s:i, s:i, s:i}",
                    "tcp_syn_sent", (int) t.tcp_syn_sent,
                    "tcp_syn_recv", (int) t.tcp_syn_recv,
                    "tcp_established", (int) t.tcp_established,
                    "tcp_fin_wait", (int) t.tcp_fin_wait,
                    "tcp_time_wait", (int) t.tcp_time_wait,
                    "tcp_close", (int) t.tcp_close,
                    "udp_first", (int) t.udp_first,
                    "udp_single", (int) t.udp_single,
                    "udp_multiple", (int) t.udp_multiple,
                    "icmp_first", (int) t.icmp_first,
                    "icmp_reply", (int) t.icmp_reply,
                    "other_first", (int) t.other_first,
                    "other_single", (int) t.other_single,
                    "other_multiple", (int) t.other_multiple);
    *result = json_pack("{s:I, s:o, s:o, s:I, s:I, s:f, s:o, s:I, s:o}",
                        "connections", (json_int_t) s.n_conns,
                        "by_proto", by_proto, "tcp_by_state", tcp,
                        "created", (json_int_t) s.created,
                        "removed", (json_int_t) s.removed,
                        "new_per_second", rate, "drops", drops,
                        "max_conns",
                        (json_int_t) conntrack_get_max_conns(ct),
                        "timeouts", tmo);
    return 0;
}

static void
event_cb(const struct ct_event *e, void *arr)
{
    json_t *o = info_json(&e->info, e->proto_state);

    json_object_set_new(o, "seq", json_integer((json_int_t) e->seq));
    json_object_set_new(o, "reason",
                        json_string(ct_close_reason_name(e->reason)));
    json_object_set_new(o, "duration_ms",
                        json_integer((json_int_t) (e->info.last_ms
                                                   - e->info.created_ms)));
    json_array_append_new(arr, o);
}

static int
h_conntrack_events(json_t *params, json_t **result, char *err,
                   size_t errsize, void *aux)
{
    static const char *const allowed[] = { "after", NULL };
    json_t *arr = json_array();
    long long after = 0;
    uint64_t newest;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_int(params, "after", false, 0, INT64_MAX, &after, err,
                            errsize));
    newest = ct_events_dump(sw_ct_events(aux), (uint64_t) after, event_cb,
                            arr);
    *result = json_pack("{s:I, s:o}", "newest", (json_int_t) newest,
                        "events", arr);
    return 0;
}

static int
h_conntrack_set(json_t *params, json_t **result, char *err,
                size_t errsize, void *aux)
{
    static const char *const allowed[] = { "max_conns", "zone", "limit",
                                           "timeouts", NULL };
    struct conntrack *ct = dp_conntrack(sw_dp(aux));
    long long max = -1, zone = -1, limit = -1;
    json_t *tmo = json_object_get(params, "timeouts");
    struct ct_timeouts t;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_int(params, "max_conns", false, 1, 100000000, &max,
                            err, errsize));
    CTL_CHECK(ctl_param_int(params, "zone", false, 0, 65535, &zone, err,
                            errsize));
    CTL_CHECK(ctl_param_int(params, "limit", false, 0, 100000000, &limit, err,
                            errsize));
    if ((zone >= 0) != (limit >= 0)) {
        snprintf(err, errsize, "params: zone and limit go together");
        return CTL_ERR_INVALID_PARAMS;
    }
    conntrack_get_timeouts(ct, &t);
    if (tmo) {
        const char *key;
        json_t *v;

        if (!json_is_object(tmo)) {
            snprintf(err, errsize, "params.timeouts: must be an object of "
                     "name: seconds");
            return CTL_ERR_INVALID_PARAMS;
        }
        json_object_foreach(tmo, key, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > 86400 * 30
                || ct_timeouts_set_by_name(&t, key,
                                           (uint32_t) json_integer_value(v))) {
                snprintf(err, errsize, "params.timeouts.%s: unknown name or "
                         "not seconds 1..2592000", key);
                return CTL_ERR_INVALID_PARAMS;
            }
        }
    }
    /* Everything checked: apply. */
    if (max >= 0) {
        conntrack_set_max_conns(ct, (uint32_t) max);
    }
    if (zone >= 0 && conntrack_set_zone_limit(ct, (uint16_t) zone,
                                              (uint32_t) limit)) {
        snprintf(err, errsize, "cannot set the limit of zone %lld", zone);
        return CTL_ERR_INTERNAL;
    }
    if (tmo) {
        conntrack_set_timeouts(ct, &t);
    }
    *result = json_pack("{s:I}", "max_conns",
                        (json_int_t) conntrack_get_max_conns(ct));
    return 0;
}

int
ctl_conntrack_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "dump-conntrack", h_dump_conntrack, CTL_READ_ONLY },
        { "flush-conntrack", h_flush_conntrack },
        { "conntrack-stats", h_conntrack_stats, CTL_READ_ONLY },
        { "conntrack-events", h_conntrack_events, CTL_READ_ONLY },
        { "conntrack-set", h_conntrack_set },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], sw);
}
