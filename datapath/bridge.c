/* SPDX-License-Identifier: BSD-3-Clause */
/* bridge.c: bridges over the datapath; the slow-path upcall; the switch. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mempool.h>

#include "bridge.h"
#include "capture.h"
#include "conntrack.h"
#include "ct-events.h"
#include "log.h"
#include "dp.h"
#include "mirror.h"
#include "offload.h"
#include "port.h"
#include "port-tunnel.h"
#include "tnl.h"
#include "tunnel.h"

LOG_MODULE(bridge);

struct bridge_port {
    char *name;
    uint32_t ofport;
    uint32_t dp_port;
    struct port *port;
    struct cfg_port cfg;            /* Deep copy of the configuration. */
};

/* A port of the config or the saved state that could not be opened at
 * start (its device, file or socket is gone): kept, with why, so that it
 * is shown, saved and tried again at the next start; its name and ofport
 * stay reserved until del-port removes it or add-port of the same name
 * opens it. */
struct failed_port {
    struct cfg_port cfg;            /* cfg.ofport is set */
    char *error;
};

/* A port mirror, by port names (mirror.h for the datapath side). */
struct bridge_mirror {
    struct cfg_mirror cfg;
    unsigned index;                 /* Its bit in the datapath. */
    struct dp_mirror_stats *stats;
};

struct bridge {
    char *name;
    struct ofproto *ofproto;
    struct bridge_port **ports;     /* Sorted by ofport. */
    size_t n_ports;
    struct failed_port *failed;
    size_t n_failed;
    struct bridge_mirror *mirrors;  /* In creation order. */
    size_t n_mirrors;
    struct tnl_tlv_map tlv;         /* GENEVE TLV mappings (tnl.h). */
    struct cfg_openflow openflow;   /* As configured or last set. */
    struct sw *sw;
    struct bridge *next;
};

/* What the slow path needs to know about a datapath port.  Written under
 * the slow-path write lock, read under the read lock. */
struct port_map_entry {
    struct bridge *br;
    uint32_t ofport;
};

/* Closed-connection records kept for conntrack-events. */
#define SW_CT_EVENTS 4096

struct sw {
    struct dp *dp;
    struct rte_mempool *mp;
    struct bridge *bridges;
    struct port_map_entry port_map[DP_MAX_PORTS];
    unsigned mac_aging_s;
    long long next_timeouts_ms;
    struct offload *offload;        /* NULL until a port wants offload. */
    /* Called after each change of bridges, ports or flows (main.c saves
     * the state there); NULL until sw_set_change_cb(). */
    void (*change_cb)(struct sw *, void *aux);
    void *change_aux;
    int defer_changes;          /* > 0: changes are only marked pending */
    bool change_pending;
    void (*removed_cb)(struct bridge *, const struct ofproto_rule_info *,
                       enum ofproto_removed_reason, void *aux);
    void *removed_aux;
    struct offload_config offload_cfg;
    struct ct_events *ct_events;    /* Closed connections. */
    struct capture_set *captures;   /* Packet captures (capture.h). */
    uint32_t mirror_bits;           /* Mirror indexes in use. */
    bool had_mirrors;               /* At the last rebuild_mirrors(). */
    struct sw_tunnels *tunnels;     /* Overlay tunnels (tunnel.h). */
};

static int rebuild_mirrors(struct sw *);
static void commit_and_unlock(struct sw *);
static void notify_change(struct sw *);

static void
bridge_mirror_release(struct bridge_mirror *m)
{
    cfg_mirror_uninit(&m->cfg);
    free(m->stats);
}

/* ---- Datapath callbacks (slow path). ---- */

static int
sw_upcall(struct dp_upcall *up, void *sw_)
{
    struct sw *sw = sw_;
    const struct port_map_entry *pm;
    struct ofproto_xlate_out out;
    struct flow flow;
    int err;

    if (up->flow->in_port >= DP_MAX_PORTS) {
        return EINVAL;
    }
    pm = &sw->port_map[up->flow->in_port];
    if (!pm->br) {
        /* The port is being added or removed. */
        return ENOENT;
    }
    flow = *up->flow;
    flow.in_port = pm->ofport;
    /* Re-translation must not learn (it runs beside upcalls that do). */
    err = (up->revalidating ? ofproto_xlate_stub_nolearn
                            : ofproto_xlate_stub)(
        pm->br->ofproto, &flow, &up->wc, up->stub, up->stub_cap,
        &up->actions, &out, dp_time_ms());
    if (err) {
        return err;
    }
    up->wc.in_port = UINT32_MAX;
    up->learned = out.learned_changed;
    up->no_cache = out.no_cache;
    up->scope = pm->br;
    up->key_lookups = out.key_lookups;
    _Static_assert(OFPROTO_MAX_XLATE_RULES <= DP_MAX_REFS,
                   "every rule hit must fit in an upcall's references");
    /* The rules hit, then the groups' and buckets' counters: all credited
     * and released through ofproto_hit_*(). */
    up->n_refs = out.n_rules + out.n_counters;
    memcpy(up->refs, out.rules, out.n_rules * sizeof out.rules[0]);
    memcpy(up->refs + out.n_rules, out.counters,
           out.n_counters * sizeof out.counters[0]);
    return 0;
}

static void
sw_credit(void *const *refs, size_t n, uint64_t packets, uint64_t bytes,
          long long used_ms, void *sw_)
{
    (void) sw_;
    for (size_t i = 0; i < n; i++) {
        ofproto_hit_credit(refs[i], packets, bytes, used_ms);
    }
}

static void
sw_release(void *const *refs, size_t n, void *sw_)
{
    (void) sw_;
    for (size_t i = 0; i < n; i++) {
        ofproto_hit_unref(refs[i]);
    }
}

/* ---- Packet-ins and packet-outs. ---- */

void
sw_set_fail_open(struct sw *sw, struct bridge *br, bool on)
{
    if (ofproto_get_fail_open(br->ofproto) == on) {
        return;
    }
    dp_slow_wrlock(sw->dp);
    ofproto_set_fail_open(br->ofproto, on);
    commit_and_unlock(sw);
}

bool
sw_port_of_dp(const struct sw *sw, uint32_t dp_port, struct bridge **br,
              uint32_t *ofport)
{
    if (dp_port >= DP_MAX_PORTS || !sw->port_map[dp_port].br) {
        return false;
    }
    *br = sw->port_map[dp_port].br;
    *ofport = sw->port_map[dp_port].ofport;
    return true;
}

int
sw_packet_out(struct sw *sw, struct bridge *br, const void *frame,
              size_t len, uint32_t in_port, const struct of_actions *acts,
              char *err, size_t errsize)
{
    struct ofproto_xlate_out out;
    struct dp_actions *dpa = NULL;
    uint32_t dp_in = DP_NO_PORT;
    struct flow flow;
    int ret;

    if (len < 14 || len > UINT16_MAX) {
        snprintf(err, errsize, "a packet of %zu bytes (14..65535)", len);
        return EINVAL;
    }
    if (in_port < OFPP_MAX
        && !ofproto_port_to_dp(br->ofproto, in_port, &dp_in)) {
        snprintf(err, errsize, "in_port %u is not a port of %s", in_port,
                 br->name);
        return ENOENT;
    }
    flow_extract(frame, len, in_port, &flow, NULL);
    dp_slow_rdlock(sw->dp);
    ret = ofproto_xlate_packet_out(br->ofproto, &flow, acts, &dpa, &out,
                                   dp_time_ms());
    dp_slow_unlock(sw->dp);
    if (ret) {
        snprintf(err, errsize, "translation failed: %s", strerror(ret));
        return ret;
    }
    /* Rules an output:TABLE went through, and groups, count the
     * packet. */
    for (size_t i = 0; i < out.n_rules; i++) {
        ofproto_rule_credit(out.rules[i], 1, len, dp_time_ms());
    }
    for (size_t i = 0; i < out.n_counters; i++) {
        ofproto_hit_credit(out.counters[i], 1, len, dp_time_ms());
    }
    ofproto_xlate_out_uninit(&out);
    if (out.learned_changed) {
        dp_revalidate(sw->dp);
    }
    ret = dp_packet_out(sw->dp, frame, len, dp_in, dpa);
    if (ret) {
        free(dpa);
        snprintf(err, errsize, "%s", ret == ENOBUFS
                 ? "the packet-out queue is full" : strerror(ret));
    }
    return ret;
}

/* ---- Helpers. ---- */

/* Gives the tunnels (tunnel.h) every port of every bridge.  Slow-path
 * write lock held. */
static int
tunnels_refresh(struct sw *sw)
{
    struct sw_tunnel_port *tp;
    size_t n = 0, cap = 0;
    int err;

    for (struct bridge *br = sw->bridges; br; br = br->next) {
        cap += br->n_ports;
    }
    tp = calloc(cap + 1, sizeof *tp);
    if (!tp) {
        return ENOMEM;
    }
    for (struct bridge *br = sw->bridges; br; br = br->next) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct bridge_port *bp = br->ports[i];
            bool tap = !strcmp(bp->cfg.type, "tap");
            const char *ifname = tap ? cfg_port_get(&bp->cfg, "ifname")
                                     : NULL;

            tp[n++] = (struct sw_tunnel_port) {
                .ofp = br->ofproto,
                .bridge = br->name,
                .ofport = bp->ofport,
                .dp_port = bp->dp_port,
                .port = bp->port,
                .ifname = tap ? (ifname ? ifname : bp->name) : NULL,
            };
        }
    }
    err = sw_tunnels_set_ports(sw->tunnels, tp, n);
    free(tp);
    return err;
}

static void
tunnels_changed(void *sw_)
{
    struct sw *sw = sw_;

    /* A route, address or neighbour changed: encapsulations and
     * decapsulations are translated again. */
    dp_slow_wrlock(sw->dp);
    commit_and_unlock(sw);
}

int
sw_attach_events(struct sw *sw, struct event_base *base, char *err,
                 size_t errsize)
{
    int ret = sw_tunnels_attach(sw->tunnels, base, tunnels_changed, sw, err,
                                errsize);

    if (!ret) {
        tunnels_changed(sw);
    }
    return ret;
}

void
sw_dump_tunnel_routes(struct sw *sw, bool neighbours,
                      void (*cb)(const char *line, void *aux), void *aux)
{
    sw_tunnels_dump(sw->tunnels, neighbours, cb, aux);
}

/* ---- GENEVE TLV maps. ---- */

/* The switch's map: every bridge's mappings ('skip' and 'extra' aside:
 * the bridge being changed and what it is to hold).  Returns 0 or EEXIST
 * with 'err' naming the clash. */
static int
tlv_union(const struct sw *sw, const struct bridge *skip,
          const struct tnl_tlv_map *extra, struct tnl_tlv_map *out,
          char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    for (const struct bridge *br = sw->bridges; br; br = br->next) {
        const struct tnl_tlv_map *m = br == skip ? extra : &br->tlv;

        for (size_t i = 0; m && i < m->n; i++) {
            char text[96];
            int ret = tnl_tlv_map_add(out, &m->tlv[i]);

            if (ret) {
                tnl_tlv_to_string(&m->tlv[i], text, sizeof text);
                snprintf(err, errsize, "%s: %s", text, ret == EEXIST
                         ? "its option or tun_metadata field is already "
                           "mapped to something else (TLV mappings are "
                           "the switch's: every bridge's must agree)"
                         : "too many mappings");
                return ret;
            }
        }
    }
    return 0;
}

/* Makes 'map' the TLV map of 'br' (the switch's must stay consistent):
 * the tunnels and the datapath take the union, megaflows are
 * revalidated.  Returns 0, EEXIST or ENOMEM with 'err' filled. */
static int
bridge_set_tlv(struct sw *sw, struct bridge *br,
               const struct tnl_tlv_map *map, char *err, size_t errsize)
{
    struct tnl_tlv_map all;
    int ret = tlv_union(sw, br, map, &all, err, errsize);

    if (ret) {
        return ret;
    }
    ret = dp_set_tlv_map(sw->dp, &all);
    if (ret) {
        snprintf(err, errsize, "out of memory");
        return ret;
    }
    dp_slow_wrlock(sw->dp);
    br->tlv = *map;
    sw_tunnels_set_tlv_map(sw->tunnels, &all);
    commit_and_unlock(sw);
    return 0;
}

/* Parses "MAP[,MAP...]" (commas between the mappings, as ovs-ofctl
 * add-tlv-map takes them) into 'maps'.  Returns 0 or EINVAL. */
static int
tlv_parse_list(const char *text, struct tnl_tlv *maps, size_t max,
               size_t *n, char *err, size_t errsize)
{
    const char *p = text;

    *n = 0;
    while (*p) {
        const char *end = strchr(p, '}');
        const char *why;
        char one[128];
        size_t len;

        end = end ? strchr(end, ',') : NULL;
        len = end ? (size_t) (end - p) : strlen(p);
        if (len >= sizeof one || *n >= max) {
            snprintf(err, errsize, "too long or too many mappings");
            return EINVAL;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        why = tnl_tlv_from_string(one, &maps[*n]);
        if (why) {
            snprintf(err, errsize, "\"%s\": %s", one, why);
            return EINVAL;
        }
        (*n)++;
        p += len + (end ? 1 : 0);
    }
    if (!*n) {
        snprintf(err, errsize, "no mapping given");
        return EINVAL;
    }
    return 0;
}

int
sw_add_tlv_map(struct sw *sw, struct bridge *br, const char *text,
               char *err, size_t errsize)
{
    struct tnl_tlv maps[FLOW_TNL_MD_SLOTS * 2];
    struct tnl_tlv_map m = br->tlv;
    size_t n;
    int ret = tlv_parse_list(text, maps, sizeof maps / sizeof maps[0], &n,
                             err, errsize);

    for (size_t i = 0; !ret && i < n; i++) {
        ret = tnl_tlv_map_add(&m, &maps[i]);
        if (ret) {
            char t[96];

            tnl_tlv_to_string(&maps[i], t, sizeof t);
            snprintf(err, errsize, "%s: %s", t, ret == EEXIST
                     ? "its option or tun_metadata field is already mapped "
                       "to something else"
                     : "too many mappings");
        }
    }
    ret = ret ? ret : bridge_set_tlv(sw, br, &m, err, errsize);
    if (!ret) {
        notify_change(sw);
    }
    return ret;
}

static bool
tlv_same(const struct tnl_tlv *a, const struct tnl_tlv *b)
{
    return a->opt_class == b->opt_class && a->type == b->type
           && a->len == b->len && a->slot == b->slot;
}

int
sw_del_tlv_map(struct sw *sw, struct bridge *br, const char *text,
               char *err, size_t errsize)
{
    struct tnl_tlv maps[FLOW_TNL_MD_SLOTS * 2];
    struct tnl_tlv_map m = { .n = 0 };
    size_t n = 0;
    int ret = 0;

    if (text && *text) {
        ret = tlv_parse_list(text, maps, sizeof maps / sizeof maps[0], &n,
                             err, errsize);
        if (ret) {
            return ret;
        }
        for (size_t i = 0; i < n; i++) {
            bool found = false;

            for (size_t k = 0; k < br->tlv.n; k++) {
                found |= tlv_same(&br->tlv.tlv[k], &maps[i]);
            }
            if (!found) {
                char t[96];

                tnl_tlv_to_string(&maps[i], t, sizeof t);
                snprintf(err, errsize, "%s: no such mapping on %s", t,
                         br->name);
                return ENOENT;
            }
        }
        for (size_t k = 0; k < br->tlv.n; k++) {
            bool gone = false;

            for (size_t i = 0; i < n; i++) {
                gone |= tlv_same(&br->tlv.tlv[k], &maps[i]);
            }
            if (!gone) {
                m.tlv[m.n++] = br->tlv.tlv[k];
            }
        }
    }
    {
        /* As Open vSwitch: not a mapping a flow still uses. */
        uint8_t used = ofproto_tlv_slots_used(br->ofproto);

        for (size_t k = 0; k < br->tlv.n; k++) {
            uint8_t slot = br->tlv.tlv[k].slot;
            bool kept = false;

            for (size_t i = 0; i < m.n; i++) {
                kept |= m.tlv[i].slot == slot;
            }
            if (!kept && (used >> slot & 1)) {
                snprintf(err, errsize, "tun_metadata%u is used by flows or "
                         "groups of %s: delete them first", slot, br->name);
                return EBUSY;
            }
        }
    }
    ret = bridge_set_tlv(sw, br, &m, err, errsize);
    if (!ret) {
        notify_change(sw);
    }
    return ret;
}

/* 'lens[i]': the length tun_metadata<i> is mapped to on 'br', 0 if not. */
static void
bridge_tlv_lens(const struct bridge *br, uint8_t lens[FLOW_TNL_MD_SLOTS])
{
    memset(lens, 0, FLOW_TNL_MD_SLOTS);
    for (size_t k = 0; k < br->tlv.n; k++) {
        lens[br->tlv.tlv[k].slot] = br->tlv.tlv[k].len;
    }
}

/* The flows' GENEVE options against the bridge's TLV map
 * (of_flow_spec_check_tlv()). */
static int
check_tlv_use(const struct bridge *br, const struct of_flow_spec *specs,
              size_t n, char *err, size_t errsize)
{
    uint8_t lens[FLOW_TNL_MD_SLOTS];

    bridge_tlv_lens(br, lens);
    for (size_t i = 0; i < n; i++) {
        int ret = of_flow_spec_check_tlv(&specs[i], lens, err, errsize);

        if (ret) {
            return ret;
        }
    }
    return 0;
}

const struct tnl_tlv_map *
bridge_tlv_map(const struct bridge *br)
{
    return &br->tlv;
}

void
bridge_tlv_map_dump(const struct bridge *br,
                    void (*cb)(const char *text, void *aux), void *aux)
{
    for (size_t i = 0; i < br->tlv.n; i++) {
        char t[96];

        tnl_tlv_to_string(&br->tlv.tlv[i], t, sizeof t);
        cb(t, aux);
    }
}

/* Makes the change the caller just applied under the write lock effective
 * everywhere: unlock, revalidate (under the read lock: PMDs keep making
 * upcalls, against the new tables), wait for a grace period. */
static void
commit_and_unlock(struct sw *sw)
{
    dp_slow_wrunlock(sw->dp);
    dp_revalidate(sw->dp);
    dp_synchronize(sw->dp);
}

/* commit_and_unlock() after flow mods of 'br' ('n' of them): megaflows
 * that no changed rule can concern are not translated again
 * (dp_revalidate_change(), flow_mods_change()). */
/* The regions of 'n' flow mods of 'br' as a struct dp_change in 'chg'
 * (free chg->vals after use).  Each mod's match bounds the rules it
 * changes: an add's rule is its match, a modify or delete selects rules
 * within its match.  Returns false if there are too many or no memory
 * (the caller then treats every megaflow as concerned). */
static bool
flow_mods_change(struct bridge *br, const struct of_flow_spec *specs,
                 size_t n, struct dp_change *chg)
{
    struct flow *r = n <= DP_CHANGE_MAX ? malloc(2 * n * sizeof *r) : NULL;

    if (!r) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        r[i] = specs[i].match.flow;
        r[n + i] = specs[i].match.wc;
        /* OpenFlow port numbers, not the datapath's. */
        r[i].in_port = r[n + i].in_port = 0;
    }
    *chg = (struct dp_change) { .scope = br, .vals = r, .masks = r + n,
                                .n = n };
    return true;
}

static void
commit_flow_mods_and_unlock(struct sw *sw, struct bridge *br,
                            const struct of_flow_spec *specs, size_t n)
{
    struct dp_change chg;

    dp_slow_wrunlock(sw->dp);
    if (flow_mods_change(br, specs, n, &chg)) {
        dp_revalidate_change(sw->dp, &chg, NULL);
        free((void *) chg.vals);
    } else {
        dp_revalidate(sw->dp);
    }
    dp_synchronize(sw->dp);
}

static int
cfg_port_copy(const struct cfg_port *src, struct cfg_port *dst, char *err,
              size_t errsize)
{
    const char **kv = calloc(src->n_options + 1, sizeof *kv);
    char **bufs = calloc(src->n_options + 1, sizeof *bufs);
    int ret = ENOMEM;

    if (!kv || !bufs) {
        snprintf(err, errsize, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < src->n_options; i++) {
        size_t len = strlen(src->options[i].key)
                     + strlen(src->options[i].value) + 2;

        bufs[i] = malloc(len);
        if (!bufs[i]) {
            snprintf(err, errsize, "out of memory");
            goto out;
        }
        snprintf(bufs[i], len, "%s=%s", src->options[i].key,
                 src->options[i].value);
        kv[i] = bufs[i];
    }
    ret = cfg_port_from_kv(src->name, src->type, kv, src->n_options, dst,
                           err, errsize);
    if (!ret) {
        dst->ofport = src->ofport;
        dst->offload = src->offload;
    }
out:
    for (size_t i = 0; bufs && i < src->n_options; i++) {
        free(bufs[i]);
    }
    free(bufs);
    free(kv);
    return ret;
}

static struct bridge_port *
find_port(const struct bridge *br, const char *name)
{
    for (size_t i = 0; i < br->n_ports; i++) {
        if (!strcmp(br->ports[i]->name, name)) {
            return br->ports[i];
        }
    }
    return NULL;
}

static struct failed_port *
find_failed(const struct bridge *br, const char *name)
{
    for (size_t i = 0; i < br->n_failed; i++) {
        if (!strcmp(br->failed[i].cfg.name, name)) {
            return &br->failed[i];
        }
    }
    return NULL;
}

static const struct failed_port *
find_failed_ofport(const struct bridge *br, uint32_t ofport)
{
    for (size_t i = 0; i < br->n_failed; i++) {
        if (br->failed[i].cfg.ofport == ofport) {
            return &br->failed[i];
        }
    }
    return NULL;
}

static void
drop_failed(struct bridge *br, struct failed_port *f)
{
    size_t i = (size_t) (f - br->failed);

    cfg_port_uninit(&f->cfg);
    free(f->error);
    memmove(&br->failed[i], &br->failed[i + 1],
            (br->n_failed - i - 1) * sizeof br->failed[0]);
    br->n_failed--;
}

/* True if 'name' is a port of any bridge, or a failed port of any bridge
 * but 'except'. */
static bool
port_name_in_use(const struct sw *sw, const char *name,
                 const struct bridge *except)
{
    for (const struct bridge *b = sw->bridges; b; b = b->next) {
        if (find_port(b, name) || (b != except && find_failed(b, name))) {
            return true;
        }
    }
    return false;
}

/* The lowest ofport no port of 'br', live or failed, has. */
static uint32_t
lowest_free_ofport(const struct bridge *br)
{
    uint32_t ofport = 0;
    bool taken;

    do {
        ofport++;
        taken = find_failed_ofport(br, ofport) != NULL;
        for (size_t i = 0; i < br->n_ports && !taken; i++) {
            taken = br->ports[i]->ofport == ofport;
        }
    } while (taken);
    return ofport;
}

/* Keeps 'cp', which failed to open with 'error', as a failed port of
 * 'br' (sw_create()), with the lowest free ofport if it asked for none. */
static int
keep_failed(struct bridge *br, const struct cfg_port *cp,
            const char *error, char *err, size_t errsize)
{
    struct failed_port *v = realloc(br->failed,
                                    (br->n_failed + 1) * sizeof *v);
    struct failed_port *f;
    int ret;

    if (!v) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    br->failed = v;
    f = &br->failed[br->n_failed];
    memset(f, 0, sizeof *f);
    ret = cfg_port_copy(cp, &f->cfg, err, errsize);
    if (ret) {
        return ret;
    }
    f->cfg.ofport = cp->ofport ? cp->ofport : lowest_free_ofport(br);
    f->error = strdup(error);
    if (!f->error) {
        cfg_port_uninit(&f->cfg);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    br->n_failed++;
    return 0;
}

static void
port_info(const struct bridge_port *p, struct bridge_port_info *info)
{
    info->name = p->name;
    info->type = p->cfg.type;
    info->ofport = p->ofport;
    info->dp_port = p->dp_port;
    info->port = p->port;
    info->cfg = &p->cfg;
}

/* Tells the change callback about a change of bridges, ports or flows
 * that has taken effect. */
static void
notify_change(struct sw *sw)
{
    if (sw->defer_changes) {
        sw->change_pending = true;
    } else if (sw->change_cb) {
        sw->change_cb(sw, sw->change_aux);
    }
}

void
sw_defer_changes(struct sw *sw, bool defer)
{
    sw->defer_changes += defer ? 1 : -1;
}

bool
sw_change_pending(const struct sw *sw)
{
    return sw->change_pending;
}

void
sw_flush_changes(struct sw *sw)
{
    if (sw->change_pending) {
        sw->change_pending = false;
        if (sw->change_cb) {
            sw->change_cb(sw, sw->change_aux);
        }
    }
}

void
sw_set_change_cb(struct sw *sw, void (*cb)(struct sw *, void *aux),
                 void *aux)
{
    sw->change_cb = cb;
    sw->change_aux = aux;
}

/* ---- Ports. ---- */

/* port_env.synchronize: one datapath grace period. */
static void
sw_port_synchronize(void *dp)
{
    dp_synchronize(dp);
}

int
sw_add_port(struct sw *sw, struct bridge *br, const struct cfg_port *cp,
            uint32_t *ofportp, char *err, size_t errsize)
{
    struct failed_port *replaces = find_failed(br, cp->name);
    const struct failed_port *holder;
    struct port_option *opts = NULL;
    struct port_env env = {
        .mp = sw->mp, .socket_id = -1, .n_txq = dp_pmd_n_txq(sw->dp),
        .synchronize = sw_port_synchronize, .sync_aux = sw->dp,
    };
    struct bridge_port *p, **ports;
    uint32_t ofport = cp->ofport;
    int ret;

    /* Adding a failed port's name again replaces it once it opens. */
    if (port_name_in_use(sw, cp->name, br)) {
        snprintf(err, errsize, "port \"%s\" already exists", cp->name);
        return EEXIST;
    }
    if (!ofport && replaces) {
        ofport = replaces->cfg.ofport;
    }
    if (ofport) {
        for (size_t i = 0; i < br->n_ports; i++) {
            if (br->ports[i]->ofport == ofport) {
                snprintf(err, errsize, "ofport %u already in use on %s",
                         ofport, br->name);
                return EEXIST;
            }
        }
        holder = find_failed_ofport(br, ofport);
        if (holder && holder != replaces) {
            snprintf(err, errsize, "ofport %u is held by port %s, which "
                     "failed to open (del-port it first)", ofport,
                     holder->cfg.name);
            return EEXIST;
        }
    } else {
        ofport = lowest_free_ofport(br);
    }

    p = calloc(1, sizeof *p);
    ports = realloc(br->ports, (br->n_ports + 1) * sizeof *ports);
    if (!p || !ports) {
        free(p);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    br->ports = ports;
    ret = cfg_port_copy(cp, &p->cfg, err, errsize);
    if (ret) {
        free(p);
        return ret;
    }
    p->cfg.ofport = ofport;
    p->name = p->cfg.name;
    p->ofport = ofport;

    opts = calloc(cp->n_options + 1, sizeof *opts);
    if (!opts) {
        cfg_port_uninit(&p->cfg);
        free(p);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    for (size_t i = 0; i < cp->n_options; i++) {
        opts[i].key = cp->options[i].key;
        opts[i].value = cp->options[i].value;
    }
    ret = port_open(cp->name, cp->type, opts, cp->n_options, &env, &p->port,
                    err, errsize);
    free(opts);
    if (ret) {
        cfg_port_uninit(&p->cfg);
        free(p);
        return ret;
    }

    dp_slow_wrlock(sw->dp);
    ret = dp_port_add(sw->dp, p->port, &p->dp_port);
    if (ret) {
        dp_slow_wrunlock(sw->dp);
        snprintf(err, errsize, "port %s: datapath full: %s", cp->name,
                 strerror(ret));
        port_close(p->port);
        cfg_port_uninit(&p->cfg);
        free(p);
        return ret;
    }
    ret = ofproto_port_add(br->ofproto, ofport, p->dp_port, p->name);
    if (ret) {
        dp_slow_wrunlock(sw->dp);
        snprintf(err, errsize, "port %s: %s", cp->name, strerror(ret));
        dp_port_del(sw->dp, p->dp_port);
        cfg_port_uninit(&p->cfg);
        free(p);
        return ret;
    }
    sw->port_map[p->dp_port] = (struct port_map_entry) { br, ofport };
    if (sw_tunnels_hooks_port(p->port)) {
        ofproto_port_set_hooked(br->ofproto, ofport, true);
    }
    /* Keep sorted by ofport. */
    {
        size_t i = br->n_ports;

        while (i > 0 && br->ports[i - 1]->ofport > ofport) {
            br->ports[i] = br->ports[i - 1];
            i--;
        }
        br->ports[i] = p;
        br->n_ports++;
    }
    if (tunnels_refresh(sw)) {
        LOG_WARN("port %s: out of memory for the tunnels' view of the "
                 "ports", cp->name);
    }
    /* Flooding megaflows must now include the new port. */
    commit_and_unlock(sw);
    if (port_tunnel_cfg(p->port, NULL) && sw_tunnels_publish(sw->tunnels)
        == ENOMEM) {
        LOG_WARN("port %s: out of memory for the tunnel port map",
                 cp->name);
    }
    /* A mirror may name it. */
    if (rebuild_mirrors(sw)) {
        LOG_WARN("port %s: out of memory for the mirrors: mirroring off",
                 cp->name);
        dp_set_mirrors(sw->dp, NULL);
    }
    if (cp->offload.mode != CFG_OFFLOAD_NONE) {
        char oerr[256] = "";

        if (!sw->offload
            && offload_create(sw->dp, &sw->offload_cfg, &sw->offload, oerr,
                              sizeof oerr)) {
            LOG_WARN("port %s: %s", cp->name, oerr);
        } else if (offload_port_add(sw->offload, p->dp_port, p->port,
                                    p->name, &cp->offload, oerr,
                                    sizeof oerr)) {
            LOG_WARN("port %s: %s", cp->name, oerr);
        }
    }
    if (replaces) {
        LOG_INFO("bridge %s: port %s opened, no longer failed", br->name,
                 cp->name);
        drop_failed(br, replaces);
    }
    if (ofportp) {
        *ofportp = ofport;
    }
    notify_change(sw);
    return 0;
}

int
sw_del_port(struct sw *sw, struct bridge *br, const char *name, char *err,
            size_t errsize)
{
    struct bridge_port *p = find_port(br, name);
    struct failed_port *f = p ? NULL : find_failed(br, name);
    size_t i;

    if (f) {
        drop_failed(br, f);
        notify_change(sw);
        return 0;
    }
    if (!p) {
        snprintf(err, errsize, "port \"%s\" not found on bridge %s", name,
                 br->name);
        return ENOENT;
    }
    dp_slow_wrlock(sw->dp);
    ofproto_port_del(br->ofproto, p->ofport);
    sw->port_map[p->dp_port] = (struct port_map_entry) { NULL, 0 };
    for (i = 0; br->ports[i] != p; i++) {
        continue;
    }
    memmove(&br->ports[i], &br->ports[i + 1],
            (br->n_ports - i - 1) * sizeof br->ports[0]);
    br->n_ports--;
    if (tunnels_refresh(sw)) {
        LOG_WARN("port %s: out of memory for the tunnels' view of the "
                 "ports", name);
    }
    commit_and_unlock(sw);
    if (port_tunnel_cfg(p->port, NULL)
        && sw_tunnels_publish(sw->tunnels) == ENOMEM) {
        /* No map may name its number once it can be reused. */
        LOG_WARN("port %s: out of memory for the tunnel port map: "
                 "decapsulation off", name);
        dp_set_tnl_map(sw->dp, NULL);
    }
    /* No mirror copies to it or of it, before its number can be reused. */
    if (rebuild_mirrors(sw)) {
        /* No table naming its number may outlive it. */
        LOG_WARN("port %s: out of memory for the mirrors: mirroring off",
                 name);
        dp_set_mirrors(sw->dp, NULL);
    }
    /* A capture of it ends, its file complete. */
    capture_set_port_gone(sw->captures, p->dp_port);
    /* Its hardware rules go first (the megaflows are gone already). */
    offload_port_del(sw->offload, p->dp_port);
    /* Stops polling, waits for the PMDs, closes the device. */
    dp_port_del(sw->dp, p->dp_port);
    cfg_port_uninit(&p->cfg);
    free(p);
    notify_change(sw);
    return 0;
}

void
bridge_port_dump(const struct bridge *br,
                 void (*cb)(const struct bridge_port_info *, void *),
                 void *aux)
{
    for (size_t i = 0; i < br->n_ports; i++) {
        struct bridge_port_info info;

        port_info(br->ports[i], &info);
        cb(&info, aux);
    }
}

long
sw_port_rows(const struct sw *sw, struct sw_port_row **rowsp)
{
    struct sw_port_row *rows;
    size_t n = 0;

    for (const struct bridge *br = sw->bridges; br; br = br->next) {
        n += br->n_ports;
    }
    rows = calloc(n ? n : 1, sizeof *rows);
    *rowsp = rows;
    if (!rows) {
        return -1;
    }
    n = 0;
    for (const struct bridge *br = sw->bridges; br; br = br->next) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct bridge_port *p = br->ports[i];
            struct sw_port_row *r = &rows[n++];

            snprintf(r->bridge, sizeof r->bridge, "%s", br->name);
            snprintf(r->name, sizeof r->name, "%s", p->name);
            r->ofport = p->ofport;
            r->link = port_link_up(p->port);
            port_get_stats(p->port, &r->st);
            r->port = p->port;
        }
    }
    return (long) n;
}

void
bridge_failed_port_dump(const struct bridge *br,
                        void (*cb)(const struct cfg_port *,
                                   const char *error, void *),
                        void *aux)
{
    for (size_t i = 0; i < br->n_failed; i++) {
        cb(&br->failed[i].cfg, br->failed[i].error, aux);
    }
}

bool
bridge_port_find(const struct bridge *br, const char *name,
                 struct bridge_port_info *info)
{
    struct bridge_port *p = find_port(br, name);

    if (p) {
        port_info(p, info);
    }
    return p != NULL;
}

bool
bridge_port_find_ofport(const struct bridge *br, uint32_t ofport,
                        struct bridge_port_info *info)
{
    for (size_t i = 0; i < br->n_ports; i++) {
        if (br->ports[i]->ofport == ofport) {
            port_info(br->ports[i], info);
            return true;
        }
    }
    return false;
}

/* ---- Flows. ---- */

int
sw_flow_mods(struct sw *sw, struct bridge *br,
             const struct of_flow_spec *specs, const enum of_flow_cmd *cmds,
             size_t n, size_t *count, char *err, size_t errsize)
{
    size_t total = 0;
    int ret = check_tlv_use(br, specs, n, err, errsize);

    if (ret) {
        return ret;
    }
    /* Counts still in the datapath first, where a flow mod reads them: a
     * deleted rule's removal report carries its final counters (only a
     * rule with send_flow_rem is reported); an add that replaces a rule
     * takes its counts over; reset_counts zeroes them.  Only the
     * megaflows that can hold counts of the rules the mods concern are
     * credited (dp_pull_stats_change()). */
    for (size_t i = 0; i < n; i++) {
        bool del = cmds[i] == OFFC_DELETE || cmds[i] == OFFC_DELETE_STRICT;

        if ((del && sw->removed_cb
             && ofproto_selects_reported(br->ofproto, &specs[i],
                                         cmds[i] == OFFC_DELETE_STRICT))
            || specs[i].reset_counts
            || (cmds[i] == OFFC_ADD
                && ofproto_add_replaces(br->ofproto, &specs[i]))) {
            struct dp_change chg;

            if (flow_mods_change(br, specs, n, &chg)) {
                dp_pull_stats_change(sw->dp, &chg);
                free((void *) chg.vals);
            } else {
                dp_pull_stats_change(sw->dp, NULL);     /* Every one. */
            }
            break;
        }
    }
    dp_slow_wrlock(sw->dp);
    for (size_t i = 0; i < n; i++) {
        if (cmds[i] == OFFC_ADD) {
            total++;
        } else {
            total += ofproto_n_selected(br->ofproto, &specs[i],
                                        cmds[i] == OFFC_MODIFY_STRICT
                                        || cmds[i] == OFFC_DELETE_STRICT);
        }
    }
    ret = ofproto_flow_mod_batch(br->ofproto, specs, cmds, n, dp_time_ms(),
                                 err, errsize);
    if (ret) {
        dp_slow_wrunlock(sw->dp);
        return ret;
    }
    commit_flow_mods_and_unlock(sw, br, specs, n);
    sw->next_timeouts_ms = 0;
    if (count) {
        *count = total;
    }
    notify_change(sw);
    return 0;
}

/* sw_replace_flows(), with the flows' GENEVE options checked against the
 * bridge's TLV map or not. */
static int
replace_flows(struct sw *sw, struct bridge *br,
              const struct of_flow_spec *specs, size_t n, bool check_tlv,
              size_t *count, char *err, size_t errsize)
{
    int ret = check_tlv ? check_tlv_use(br, specs, n, err, errsize) : 0;

    if (ret) {
        return ret;
    }
    /* Counters of kept rules must include what the caches saw. */
    dp_pull_stats(sw->dp);
    dp_slow_wrlock(sw->dp);
    ret = ofproto_replace_flows(br->ofproto, specs, n, dp_time_ms(), err,
                                errsize);
    if (ret) {
        dp_slow_wrunlock(sw->dp);
        return ret;
    }
    if (count) {
        *count = ofproto_n_rules(br->ofproto);
    }
    commit_and_unlock(sw);
    sw->next_timeouts_ms = 0;
    notify_change(sw);
    return 0;
}

int
sw_replace_flows(struct sw *sw, struct bridge *br,
                 const struct of_flow_spec *specs, size_t n, size_t *count,
                 char *err, size_t errsize)
{
    return replace_flows(sw, br, specs, n, true, count, err, errsize);
}

void
sw_dump_flows(struct sw *sw, struct bridge *br,
              const struct of_flow_spec *filter,
              void (*cb)(const struct ofproto_rule_info *, void *),
              void *aux)
{
    dp_pull_stats(sw->dp);
    dp_slow_rdlock(sw->dp);
    ofproto_dump(br->ofproto, filter, cb, aux);
    dp_slow_unlock(sw->dp);
}

int
sw_dump_flow_rules(struct sw *sw, struct bridge *br,
                   const struct of_flow_spec *filter,
                   struct ofproto_rule ***rules, size_t *n)
{
    int ret;

    dp_pull_stats(sw->dp);
    dp_slow_rdlock(sw->dp);
    ret = ofproto_dump_rules(br->ofproto, filter, rules, n);
    dp_slow_unlock(sw->dp);
    return ret;
}

/* ---- Port mirrors. ---- */

static bool
port_known(const struct bridge *br, const char *name)
{
    return find_port(br, name) || find_failed(br, name);
}

/* True if 'name' is the output port of a mirror of 'br' other than
 * 'skip'. */
static bool
is_mirror_output(const struct bridge *br, const char *name,
                 const struct bridge_mirror *skip)
{
    for (size_t i = 0; i < br->n_mirrors; i++) {
        if (&br->mirrors[i] != skip
            && !strcmp(br->mirrors[i].cfg.output_port, name)) {
            return true;
        }
    }
    return false;
}

/* The datapath ports of the live ports 'names' ('all': every live port of
 * 'br' that is no mirror's output) into 'out'. */
static size_t
mirror_ports(const struct bridge *br, bool all, char *const *names,
             size_t n, uint32_t *out)
{
    size_t k = 0;

    if (all) {
        for (size_t i = 0; i < br->n_ports; i++) {
            if (!is_mirror_output(br, br->ports[i]->name, NULL)) {
                out[k++] = br->ports[i]->dp_port;
            }
        }
        return k;
    }
    for (size_t i = 0; i < n; i++) {
        const struct bridge_port *p = find_port(br, names[i]);

        if (p) {
            out[k++] = p->dp_port;
        }
    }
    return k;
}

/* Makes the datapath's mirror table and the ports' flooding match the
 * mirrors of every bridge and the ports open now.  A mirror whose output
 * port is not open copies nothing. */
static int
rebuild_mirrors(struct sw *sw)
{
    struct dp_mirror_def defs[DP_MAX_MIRRORS];
    uint32_t *ports = NULL;
    struct dp_mirrors *mt = NULL;
    bool any = false;
    size_t n = 0, used = 0;

    for (struct bridge *br = sw->bridges; br; br = br->next) {
        any = any || br->n_mirrors;
    }
    if (any) {
        /* Room for every mirror's sources and destinations. */
        ports = malloc(2 * DP_MAX_MIRRORS * DP_MAX_PORTS * sizeof *ports);
        if (!ports) {
            return ENOMEM;
        }
    }
    for (struct bridge *br = sw->bridges; br; br = br->next) {
        for (size_t i = 0; i < br->n_mirrors; i++) {
            const struct bridge_mirror *m = &br->mirrors[i];
            const struct bridge_port *out = find_port(br,
                                                      m->cfg.output_port);
            struct dp_mirror_def *d = &defs[n];

            if (!out) {
                continue;
            }
            *d = (struct dp_mirror_def) {
                .index = m->index,
                .out_port = out->dp_port,
                .vlans = m->cfg.select_vlan,
                .n_vlans = m->cfg.n_select_vlan,
                .stats = m->stats,
            };
            d->src = ports + used;
            d->n_src = mirror_ports(br, m->cfg.select_all, m->cfg.select_src,
                                    m->cfg.n_select_src, ports + used);
            used += d->n_src;
            d->dst = ports + used;
            d->n_dst = mirror_ports(br, m->cfg.select_all, m->cfg.select_dst,
                                    m->cfg.n_select_dst, ports + used);
            used += d->n_dst;
            n++;
        }
    }
    if (n) {
        mt = dp_mirrors_build(defs, n);
        if (!mt) {
            free(ports);
            return ENOMEM;
        }
    }
    free(ports);
    dp_set_mirrors(sw->dp, mt);

    /* A mirror's output port floods nothing; others flood again.  The
     * revalidation also takes out of the NIC the megaflows a mirror now
     * concerns (dp.c: the offload side never offers them).  Nothing to
     * do where there was no mirror and is none. */
    if (!any && !sw->had_mirrors) {
        return 0;
    }
    sw->had_mirrors = any;
    dp_slow_wrlock(sw->dp);
    for (struct bridge *br = sw->bridges; br; br = br->next) {
        for (size_t i = 0; i < br->n_ports; i++) {
            ofproto_port_set_no_flood(br->ofproto, br->ports[i]->ofport,
                                      is_mirror_output(br,
                                                       br->ports[i]->name,
                                                       NULL));
        }
    }
    commit_and_unlock(sw);
    return 0;
}

/* Adds 'cm' to 'br' after checking it against the bridge's mirrors and,
 * if 'strict' (add-mirror), its ports; else a port it names that the
 * bridge does not have is logged (a saved mirror of a port deleted
 * since).  Does not rebuild. */
static int
bridge_mirror_insert(struct sw *sw, struct bridge *br,
                     const struct cfg_mirror *cm, bool strict, char *err,
                     size_t errsize)
{
    struct bridge_mirror *mirrors, *m;
    unsigned index;

    {
        const struct bridge_port *op = find_port(br, cm->output_port);

        if (op && op->port && port_tunnel_cfg(op->port, NULL)) {
            /* Copies would have nowhere to go: a tunnel port sends only
             * what the flows encapsulate. */
            snprintf(err, errsize, "output_port \"%s\" is a tunnel port; "
                     "mirror to a device", cm->output_port);
            return EINVAL;
        }
    }
    for (size_t i = 0; i < br->n_mirrors; i++) {
        const struct cfg_mirror *o = &br->mirrors[i].cfg;

        if (!strcmp(o->name, cm->name)) {
            snprintf(err, errsize, "bridge %s already has a mirror \"%s\"",
                     br->name, cm->name);
            return EEXIST;
        }
        if (cfg_mirror_names(o, cm->output_port)
            || cfg_mirror_names(cm, o->output_port)) {
            snprintf(err, errsize, "mirror output ports cannot be selected "
                     "by a mirror (%s and %s)", o->name, cm->name);
            return EINVAL;
        }
    }
    for (size_t k = 0; k <= cm->n_select_src + cm->n_select_dst; k++) {
        const char *n = k == 0 ? cm->output_port
                        : k <= cm->n_select_src
                        ? cm->select_src[k - 1]
                        : cm->select_dst[k - 1 - cm->n_select_src];

        if (port_known(br, n)) {
            continue;
        }
        if (strict) {
            snprintf(err, errsize, "%s\"%s\": no such port in bridge %s",
                     k ? "selects " : "output_port: ", n, br->name);
            return ENOENT;
        }
        LOG_WARN("bridge %s: mirror %s names port %s, which the bridge does "
                 "not have (%s until a port of that name is added)",
                 br->name, cm->name, n, k ? "left out" : "inactive");
    }
    if (sw->mirror_bits == UINT32_MAX) {
        snprintf(err, errsize, "the switch has %d mirrors already "
                 "(CFG_MAX_MIRRORS)", CFG_MAX_MIRRORS);
        return ENOSPC;
    }
    for (index = 0; sw->mirror_bits & (1u << index); index++) {
        continue;
    }
    mirrors = realloc(br->mirrors, (br->n_mirrors + 1) * sizeof *mirrors);
    if (!mirrors) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    br->mirrors = mirrors;
    m = &mirrors[br->n_mirrors];
    memset(m, 0, sizeof *m);
    m->stats = calloc(1, sizeof *m->stats);
    if (!m->stats || cfg_mirror_copy(&m->cfg, cm)) {
        free(m->stats);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    m->index = index;
    sw->mirror_bits |= 1u << index;
    br->n_mirrors++;
    return 0;
}

int
sw_add_mirror(struct sw *sw, struct bridge *br, const struct cfg_mirror *cm,
              char *err, size_t errsize)
{
    int ret = bridge_mirror_insert(sw, br, cm, true, err, errsize);

    if (ret) {
        return ret;
    }
    ret = rebuild_mirrors(sw);
    if (ret) {
        struct bridge_mirror *m = &br->mirrors[--br->n_mirrors];

        sw->mirror_bits &= ~(1u << m->index);
        bridge_mirror_release(m);
        rebuild_mirrors(sw);
        snprintf(err, errsize, "out of memory");
        return ret;
    }
    LOG_INFO("bridge %s: mirror %s to %s", br->name, cm->name,
             cm->output_port);
    notify_change(sw);
    return 0;
}

int
sw_del_mirror(struct sw *sw, struct bridge *br, const char *name, char *err,
              size_t errsize)
{
    struct bridge_mirror gone;
    size_t i;

    for (i = 0; i < br->n_mirrors; i++) {
        if (!strcmp(br->mirrors[i].cfg.name, name)) {
            break;
        }
    }
    if (i == br->n_mirrors) {
        snprintf(err, errsize, "no mirror \"%s\" in bridge %s", name,
                 br->name);
        return ENOENT;
    }
    gone = br->mirrors[i];
    memmove(&br->mirrors[i], &br->mirrors[i + 1],
            (br->n_mirrors - i - 1) * sizeof br->mirrors[0]);
    br->n_mirrors--;
    /* The PMDs stop using its stats before they go (a grace period). */
    if (rebuild_mirrors(sw)) {
        /* No memory for a table without it: no mirror at all, rather
         * than one whose stats are freed. */
        dp_set_mirrors(sw->dp, NULL);
    }
    sw->mirror_bits &= ~(1u << gone.index);
    LOG_INFO("bridge %s: mirror %s deleted", br->name, name);
    bridge_mirror_release(&gone);
    notify_change(sw);
    return 0;
}

void
bridge_mirror_dump(const struct bridge *br,
                   void (*cb)(const struct bridge_mirror_info *, void *),
                   void *aux)
{
    for (size_t i = 0; i < br->n_mirrors; i++) {
        const struct bridge_mirror *m = &br->mirrors[i];
        struct bridge_mirror_info info = {
            .cfg = &m->cfg,
            .active = find_port(br, m->cfg.output_port) != NULL,
            .packets = atomic_load_explicit(&m->stats->packets,
                                            memory_order_relaxed),
            .bytes = atomic_load_explicit(&m->stats->bytes,
                                          memory_order_relaxed),
            .dropped = atomic_load_explicit(&m->stats->dropped,
                                            memory_order_relaxed),
        };

        cb(&info, aux);
    }
}

/* ---- The switch. ---- */

static void
bridge_removed_cb(const struct ofproto_rule_info *info,
                  enum ofproto_removed_reason reason, void *br_)
{
    struct bridge *br = br_;

    if (br->sw->removed_cb) {
        br->sw->removed_cb(br, info, reason, br->sw->removed_aux);
    }
}

void
sw_set_flow_removed_cb(struct sw *sw,
                       void (*cb)(struct bridge *,
                                  const struct ofproto_rule_info *,
                                  enum ofproto_removed_reason, void *aux),
                       void *aux)
{
    sw->removed_cb = cb;
    sw->removed_aux = aux;
}

static struct bridge *
bridge_create(struct sw *sw, const char *name, char *err, size_t errsize)
{
    struct bridge *br = calloc(1, sizeof *br), **tail;

    if (br) {
        br->name = strdup(name);
        br->ofproto = ofproto_create(name);
    }
    if (!br || !br->name || !br->ofproto) {
        if (br) {
            ofproto_destroy(br->ofproto);
            free(br->name);
            free(br);
        }
        snprintf(err, errsize, "bridge %s: out of memory", name);
        return NULL;
    }
    br->sw = sw;
    ml_set_aging(ofproto_ml(br->ofproto), sw->mac_aging_s);
    ofproto_set_output_hook(br->ofproto, sw_tunnels_hook(sw->tunnels));
    ofproto_set_removed_cb(br->ofproto, bridge_removed_cb, br);
    for (tail = &sw->bridges; *tail; tail = &(*tail)->next) {
        continue;
    }
    *tail = br;
    return br;
}

/* ---- Groups. ---- */

int
sw_group_mod(struct sw *sw, struct bridge *br, enum of_group_cmd cmd,
             const struct of_group_spec *spec, char *err, size_t errsize)
{
    int ret;

    if (cmd != OFGC_DELETE) {
        uint8_t lens[FLOW_TNL_MD_SLOTS];

        bridge_tlv_lens(br, lens);
        for (size_t b = 0; b < spec->n_buckets; b++) {
            ret = of_actions_check_tlv(spec->buckets[b].actions, lens, err,
                                       errsize);
            if (ret) {
                return ret;
            }
        }
    }
    if (cmd == OFGC_DELETE && sw->removed_cb) {
        dp_pull_stats(sw->dp);      /* The group's flows' final counts. */
    }
    dp_slow_wrlock(sw->dp);
    ret = ofproto_group_mod(br->ofproto, cmd, spec, dp_time_ms(), err,
                            errsize);
    if (ret) {
        dp_slow_wrunlock(sw->dp);
        return ret;
    }
    commit_and_unlock(sw);
    notify_change(sw);
    return 0;
}

void
sw_dump_groups(struct sw *sw, struct bridge *br, uint32_t id,
               void (*cb)(const struct ofproto_group_info *, void *),
               void *aux)
{
    dp_pull_stats(sw->dp);      /* The megaflows' counts so far. */
    ofproto_group_dump(br->ofproto, id, cb, aux);
}

/* ---- Meters. ---- */

struct meter_dump_ctx {
    struct sw *sw;
    void (*cb)(const struct ofproto_meter_info *,
               const struct dp_meter_stats *, void *);
    void *aux;
};

static void
meter_dump_cb(const struct ofproto_meter_info *info, void *ctx_)
{
    struct meter_dump_ctx *ctx = ctx_;
    struct dp_meter_stats st;

    dp_meter_stats(ctx->sw->dp, info->spec->meter_id, &st);
    ctx->cb(info, &st, ctx->aux);
}

int
sw_meter_mod(struct sw *sw, struct bridge *br, enum of_group_cmd cmd,
             const struct of_meter_spec *spec, char *err, size_t errsize)
{
    int ret;

    if (cmd != OFGC_DELETE && spec->meter_id >= DP_MAX_METERS) {
        snprintf(err, errsize, "meter %" PRIu32 ": the datapath meters ids "
                 "1..%d", spec->meter_id, DP_MAX_METERS - 1);
        return ENOSPC;
    }
    /* The datapath's meters are the switch's: one id is one meter, in
     * whichever bridge defined it. */
    if (cmd == OFGC_ADD) {
        for (struct bridge *o = sw->bridges; o; o = o->next) {
            if (o != br && ofproto_meter_get(o->ofproto, spec->meter_id)) {
                snprintf(err, errsize, "meter %" PRIu32 " belongs to bridge "
                         "%s", spec->meter_id, o->name);
                return EEXIST;
            }
        }
    }
    if (cmd == OFGC_DELETE && sw->removed_cb) {
        dp_pull_stats(sw->dp);
    }
    dp_slow_wrlock(sw->dp);
    ret = ofproto_meter_mod(br->ofproto, cmd, spec, dp_time_ms(), err,
                            errsize);
    if (ret) {
        dp_slow_wrunlock(sw->dp);
        return ret;
    }
    commit_and_unlock(sw);
    if (cmd == OFGC_DELETE) {
        if (spec->meter_id == OFM_ALL) {
            /* Only this bridge's. */
            for (uint32_t id = 1; id < DP_MAX_METERS; id++) {
                bool other = false;

                for (struct bridge *o = sw->bridges; o && !other;
                     o = o->next) {
                    other = o != br && ofproto_meter_get(o->ofproto, id);
                }
                if (!other) {
                    dp_meter_del(sw->dp, id);
                }
            }
        } else {
            dp_meter_del(sw->dp, spec->meter_id);
        }
    } else {
        ret = dp_meter_set(sw->dp, spec);
        if (ret) {
            snprintf(err, errsize, "meter %" PRIu32 ": %s", spec->meter_id,
                     strerror(ret));
        }
    }
    notify_change(sw);
    return ret;
}

void
sw_dump_meters(struct sw *sw, struct bridge *br, uint32_t id,
               void (*cb)(const struct ofproto_meter_info *,
                          const struct dp_meter_stats *, void *),
               void *aux)
{
    struct meter_dump_ctx ctx = { sw, cb, aux };

    ofproto_meter_dump(br->ofproto, id, meter_dump_cb, &ctx);
}

void
sw_set_port_live(struct sw *sw, struct bridge *br, uint32_t ofport,
                 bool live)
{
    dp_slow_wrlock(sw->dp);
    if (ofproto_port_set_live(br->ofproto, ofport, live)) {
        dp_slow_wrunlock(sw->dp);
        return;
    }
    commit_and_unlock(sw);
}

static int
add_config_meters(struct sw *sw, struct bridge *br,
                  const struct cfg_bridge *cb, char *err, size_t errsize)
{
    for (size_t i = 0; i < cb->n_meters; i++) {
        struct of_meter_spec m;
        char perr[256];
        int ret = of_meter_parse(&m, cb->meters[i], true, perr, sizeof perr);

        ret = ret ? ret : sw_meter_mod(sw, br, OFGC_ADD, &m, perr,
                                       sizeof perr);
        if (ret) {
            snprintf(err, errsize, "bridge %s: meters[%zu]: %s", br->name, i,
                     perr);
            return ret;
        }
    }
    return 0;
}

/* Groups may use groups listed after them: passes until none is left
 * or a pass adds none. */
static int
add_config_groups(struct sw *sw, struct bridge *br,
                  const struct cfg_bridge *cb, char *err, size_t errsize)
{
    bool *done = calloc(cb->n_groups + 1, sizeof *done);
    size_t left = cb->n_groups;
    int ret = 0;

    if (!done) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    while (left && !ret) {
        size_t added = 0;

        for (size_t i = 0; i < cb->n_groups && !ret; i++) {
            struct of_group_spec g;
            char perr[256];

            if (done[i]) {
                continue;
            }
            ret = of_group_parse(&g, cb->groups[i], true, perr, sizeof perr);
            if (!ret) {
                dp_slow_wrlock(sw->dp);
                ret = ofproto_group_mod(br->ofproto, OFGC_ADD, &g,
                                        dp_time_ms(), perr, sizeof perr);
                dp_slow_wrunlock(sw->dp);
                of_group_spec_uninit(&g);
            }
            if (!ret) {
                done[i] = true;
                added++;
                left--;
            } else if (ret == ENOENT) {
                ret = 0;            /* Uses a group not added yet. */
                if (!added && i == cb->n_groups - 1) {
                    snprintf(err, errsize, "bridge %s: groups[%zu]: %s",
                             br->name, i, perr);
                }
            } else {
                snprintf(err, errsize, "bridge %s: groups[%zu]: %s",
                         br->name, i, perr);
            }
        }
        if (!ret && left && !added) {
            ret = ENOENT;
            if (!err[0]) {
                snprintf(err, errsize, "bridge %s: groups use groups that "
                         "do not exist", br->name);
            }
        }
    }
    free(done);
    return ret;
}

static int
add_config_flows(struct sw *sw, struct bridge *br,
                 const struct cfg_bridge *cb, char *err, size_t errsize)
{
    struct of_flow_spec *specs;
    char perr[256];
    int ret = 0;

    specs = calloc(cb->n_flows + 1, sizeof *specs);
    if (!specs) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    for (size_t i = 0; i < cb->n_flows; i++) {
        ret = of_flow_parse(&specs[i], cb->flows[i], OFFC_ADD, perr,
                            sizeof perr);
        if (ret) {
            snprintf(err, errsize, "bridge %s: flows[%zu]: %s", br->name, i,
                     perr);
            for (size_t k = 0; k < i; k++) {
                of_flow_spec_uninit(&specs[k]);
            }
            goto out;
        }
    }
    /* A flow that uses a tun_metadata field the bridge does not map (or
     * a value longer than its option) was taken before the check came:
     * it is kept, and said, rather than keep the switch from starting
     * with the state it saved. */
    {
        uint8_t lens[FLOW_TNL_MD_SLOTS];

        bridge_tlv_lens(br, lens);
        for (size_t i = 0; i < cb->n_flows; i++) {
            if (of_flow_spec_check_tlv(&specs[i], lens, perr,
                                       sizeof perr)) {
                LOG_WARN("bridge %s: flows[%zu] kept, but %s", br->name, i,
                         perr);
            }
        }
    }
    /* The tables become exactly the configured set ([] = no flow at all,
     * not even the default NORMAL one). */
    ret = replace_flows(sw, br, specs, cb->n_flows, false, NULL, perr,
                        sizeof perr);
    if (ret) {
        snprintf(err, errsize, "bridge %s: %s", br->name, perr);
    }
    for (size_t k = 0; k < cb->n_flows; k++) {
        of_flow_spec_uninit(&specs[k]);
    }
out:
    free(specs);
    return ret;
}

/* The "conntrack" section (config.h) applied to the datapath's tracker,
 * whose closed connections go to the switch's event log. */
static int
sw_conntrack_config(struct sw *sw, const struct cfg_conntrack *c, char *err,
                    size_t errsize)
{
    struct conntrack *ct = dp_conntrack(sw->dp);
    struct ct_timeouts t;

    conntrack_set_event_cb(ct, ct_events_record, sw->ct_events);
    conntrack_set_max_conns(ct, c->max_conns ? c->max_conns
                                             : CT_DEFAULT_MAX_CONNS);
    for (size_t i = 0; i < c->n_zone_limits; i++) {
        if (conntrack_set_zone_limit(ct, c->zone_limits[i].zone,
                                     c->zone_limits[i].limit)) {
            snprintf(err, errsize, "conntrack.zone_limits: cannot set zone "
                     "%u", c->zone_limits[i].zone);
            return ENOMEM;
        }
    }
    conntrack_get_timeouts(ct, &t);
    for (size_t i = 0; i < c->n_timeouts; i++) {
        if (ct_timeouts_set_by_name(&t, c->timeouts[i].name,
                                    c->timeouts[i].seconds)) {
            snprintf(err, errsize, "conntrack.timeouts.%s: unknown",
                     c->timeouts[i].name);
            return EINVAL;
        }
    }
    conntrack_set_timeouts(ct, &t);
    return 0;
}

int
sw_create(const struct cfg *cfg, struct rte_mempool *mp, struct sw **swp,
          char *err, size_t errsize)
{
    struct dp_config dcfg = {
        .n_pmds = (unsigned) cfg->n_pmd_cores,
        .emc_entries = cfg->emc_entries,
        .hkc_entries = cfg->hkc_entries,
        .megaflow_idle_ms = cfg->megaflow_idle_ms,
        .flow_limit = cfg->flow_limit,
        .max_masks = cfg->max_masks,
        .idle_sleep_us = cfg->pmd_idle_sleep_us,
    };
    struct dp_callbacks cbs = {
        .upcall = sw_upcall, .credit = sw_credit, .release = sw_release,
    };
    struct sw *sw;
    int ret;

    *swp = NULL;
    if (cfg->n_pmd_cores > DP_MAX_PMDS) {
        snprintf(err, errsize, "pmd.cores: at most %d PMD threads",
                 DP_MAX_PMDS);
        return EINVAL;
    }
    for (size_t i = 0; i < cfg->n_pmd_cores; i++) {
        dcfg.pmd_cores[i] = (int) cfg->pmd_cores[i];
    }
    sw = calloc(1, sizeof *sw);
    if (!sw) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    sw->mp = mp;
    sw->mac_aging_s = cfg->mac_aging_s;
    offload_config_from_cfg(cfg, &sw->offload_cfg);
    sw->ct_events = ct_events_create(SW_CT_EVENTS);
    if (!sw->ct_events) {
        snprintf(err, errsize, "out of memory");
        free(sw);
        return ENOMEM;
    }
    ret = dp_create(&dcfg, mp, &cbs, sw, &sw->dp, err, errsize);
    if (ret) {
        ct_events_destroy(sw->ct_events);
        free(sw);
        return ret;
    }
    sw->tunnels = sw_tunnels_create(sw->dp);
    if (!sw->tunnels) {
        snprintf(err, errsize, "out of memory");
        sw_destroy(sw);
        return ENOMEM;
    }
    sw->captures = capture_set_create(sw->dp);
    if (!sw->captures) {
        snprintf(err, errsize, "out of memory");
        sw_destroy(sw);
        return ENOMEM;
    }
    ret = sw_conntrack_config(sw, &cfg->conntrack, err, errsize);
    if (ret) {
        sw_destroy(sw);
        return ret;
    }
    for (size_t b = 0; b < cfg->n_bridges; b++) {
        const struct cfg_bridge *cb = &cfg->bridges[b];
        struct bridge *br = bridge_create(sw, cb->name, err, errsize);

        if (!br || cfg_openflow_copy(&br->openflow, &cb->openflow)) {
            snprintf(err, errsize, "bridge %s: out of memory", cb->name);
            sw_destroy(sw);
            return ENOMEM;
        }
        if (cb->n_tlv_map) {
            char terr[256];
            char *joined = NULL;
            size_t len = 1;

            for (size_t t = 0; t < cb->n_tlv_map; t++) {
                len += strlen(cb->tlv_map[t]) + 1;
            }
            joined = calloc(1, len);
            for (size_t t = 0; joined && t < cb->n_tlv_map; t++) {
                strcat(joined, t ? "," : "");
                strcat(joined, cb->tlv_map[t]);
            }
            ret = joined ? sw_add_tlv_map(sw, br, joined, terr, sizeof terr)
                         : ENOMEM;
            free(joined);
            if (ret) {
                snprintf(err, errsize, "bridge %s: tlv_map: %s", cb->name,
                         ret == ENOMEM ? "out of memory" : terr);
                sw_destroy(sw);
                return ret;
            }
        }
        /* Nothing is polled before dp_start(), so the order of flows and
         * ports does not matter for the first packets. */
        err[0] = '\0';
        ret = add_config_meters(sw, br, cb, err, errsize);
        ret = ret ? ret : add_config_groups(sw, br, cb, err, errsize);
        ret = ret ? ret : add_config_flows(sw, br, cb, err, errsize);
        if (ret) {
            sw_destroy(sw);
            return ret;
        }
        for (size_t p = 0; p < cb->n_ports; p++) {
            const struct cfg_port *cp = &cb->ports[p];
            char perr[256];

            ret = sw_add_port(sw, br, cp, NULL, perr, sizeof perr);
            if (ret == ENOMEM) {
                snprintf(err, errsize, "bridge %s: port %s: %s", cb->name,
                         cp->name, perr);
                sw_destroy(sw);
                return ret;
            }
            if (ret) {
                /* Its device, file or socket may be gone: start with the
                 * rest, and keep it (shown, saved, tried at next start). */
                LOG_ERR("bridge %s: port %s cannot be opened, kept as "
                        "failed (add-port it again once fixed, or "
                        "del-port it): %s", cb->name, cp->name, perr);
                ret = keep_failed(br, cp, perr, err, errsize);
                if (ret) {
                    sw_destroy(sw);
                    return ret;
                }
            }
        }
        for (size_t m = 0; m < cb->n_mirrors; m++) {
            char merr[256];

            ret = bridge_mirror_insert(sw, br, &cb->mirrors[m], false, merr,
                                       sizeof merr);
            if (ret) {
                snprintf(err, errsize, "bridge %s: mirror %s: %s", cb->name,
                         cb->mirrors[m].name, merr);
                sw_destroy(sw);
                return ret;
            }
        }
    }
    ret = rebuild_mirrors(sw);
    if (ret) {
        snprintf(err, errsize, "mirrors: out of memory");
        sw_destroy(sw);
        return ret;
    }
    ret = dp_start(sw->dp);
    if (ret) {
        snprintf(err, errsize, "cannot start polling: %s", strerror(ret));
        sw_destroy(sw);
        return ret;
    }
    *swp = sw;
    return 0;
}

void
sw_destroy(struct sw *sw)
{
    struct bridge *br, *next;

    if (!sw) {
        return;
    }
    /* Captures end first, their files complete. */
    capture_set_destroy(sw->captures);
    /* No hardware rule outlives the switch; the megaflows' last hardware
     * counters are folded in as dp_destroy() removes them. */
    offload_shutdown(sw->offload);
    /* Stops the PMDs and closes every port; megaflows release their rule
     * references, so the ofprotos can go after. */
    dp_destroy(sw->dp);
    sw_tunnels_destroy(sw->tunnels);
    ct_events_destroy(sw->ct_events);
    offload_destroy(sw->offload);
    for (br = sw->bridges; br; br = next) {
        next = br->next;
        for (size_t i = 0; i < br->n_ports; i++) {
            cfg_port_uninit(&br->ports[i]->cfg);
            free(br->ports[i]);
        }
        free(br->ports);
        while (br->n_failed) {
            drop_failed(br, &br->failed[br->n_failed - 1]);
        }
        free(br->failed);
        for (size_t i = 0; i < br->n_mirrors; i++) {
            bridge_mirror_release(&br->mirrors[i]);
        }
        free(br->mirrors);
        ofproto_destroy(br->ofproto);
        cfg_openflow_uninit(&br->openflow);
        free(br->name);
        free(br);
    }
    free(sw);
}

const struct cfg_openflow *
bridge_openflow(const struct bridge *br)
{
    return &br->openflow;
}

int
sw_set_openflow(struct sw *sw, struct bridge *br,
                const struct cfg_openflow *of)
{
    struct cfg_openflow copy;

    if (cfg_openflow_copy(&copy, of)) {
        return ENOMEM;
    }
    cfg_openflow_uninit(&br->openflow);
    br->openflow = copy;
    notify_change(sw);
    return 0;
}

struct capture_set *
sw_captures(const struct sw *sw)
{
    return sw->captures;
}

struct ct_events *
sw_ct_events(const struct sw *sw)
{
    return sw->ct_events;
}

struct dp *
sw_dp(const struct sw *sw)
{
    return sw->dp;
}

struct rte_mempool *
sw_mempool(const struct sw *sw)
{
    return sw->mp;
}

struct offload *
sw_offload(const struct sw *sw)
{
    return sw->offload;
}

/* Ports whose provider asked for it (from any thread, e.g. a vhost
 * callback) are reconfigured here, on the main thread. */
static void
reconfigure_ports(struct sw *sw)
{
    for (struct bridge *br = sw->bridges; br; br = br->next) {
        for (size_t i = 0; i < br->n_ports; i++) {
            struct bridge_port *p = br->ports[i];
            char err[256];

            if (port_needs_reconfigure(p->port)
                && dp_port_reconfigure(sw->dp, p->dp_port, err,
                                       sizeof err)) {
                LOG_WARN("port %s: reconfigure: %s", p->name, err);
            }
        }
    }
}

unsigned
sw_run(struct sw *sw)
{
    long long now = dp_time_ms();
    unsigned delay = dp_run(sw->dp, now);

    if (sw->offload) {
        unsigned od = offload_run(sw->offload);

        delay = od < delay ? od : delay;
    }
    reconfigure_ports(sw);
    capture_set_run(sw->captures);

    if (now >= sw->next_timeouts_ms) {
        bool changed = false, timed = false;
        long long next = now + 1000;

        for (struct bridge *br = sw->bridges; br && !timed; br = br->next) {
            timed = ofproto_has_timeouts(br->ofproto);
        }
        if (timed) {
            /* Idle timeouts need fresh 'used' times (a walk of every
             * megaflow: only when a rule has a timeout). */
            dp_pull_stats(sw->dp);
        }
        dp_slow_wrlock(sw->dp);
        for (struct bridge *br = sw->bridges; br; br = br->next) {
            long long ne;

            if (ofproto_expire(br->ofproto, now)) {
                changed = true;
            }
            if (ml_expire(ofproto_ml(br->ofproto), now)) {
                changed = true;
            }
            ne = ofproto_next_expiry(br->ofproto);
            if (ne < next) {
                next = ne > now ? ne : now + 10;
            }
        }
        sw->next_timeouts_ms = next;
        if (changed) {
            commit_and_unlock(sw);
            notify_change(sw);
        } else {
            dp_slow_wrunlock(sw->dp);
        }
        /* Frozen recirculation states nothing holds: under their own
         * mutex, not the write lock, so upcalls go on meanwhile.  (No
         * megaflow holds a state it drops: nothing to revalidate.) */
        for (struct bridge *br = sw->bridges; br; br = br->next) {
            ofproto_recirc_sweep(br->ofproto, now);
        }
    }
    return delay;
}

struct bridge *
sw_find_bridge(const struct sw *sw, const char *name)
{
    for (struct bridge *br = sw->bridges; br; br = br->next) {
        if (!strcmp(br->name, name)) {
            return br;
        }
    }
    return NULL;
}

void
sw_for_each_bridge(const struct sw *sw, void (*cb)(struct bridge *, void *),
                   void *aux)
{
    for (struct bridge *br = sw->bridges; br; br = br->next) {
        cb(br, aux);
    }
}

const char *
bridge_name(const struct bridge *br)
{
    return br->name;
}

struct ofproto *
bridge_ofproto(const struct bridge *br)
{
    return br->ofproto;
}
