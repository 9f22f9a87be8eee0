/* SPDX-License-Identifier: BSD-3-Clause */
/* tunnel.c: encapsulation and decapsulation decisions in translation, the
 * tunnel port map (tunnel.h). */

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel.h"
#include "dp.h"
#include "log.h"
#include "ofproto.h"
#include "port.h"
#include "port-tunnel.h"
#include "tnl-route.h"
#include "tnl.h"

#include <rte_mbuf.h>

LOG_MODULE(tunnel);

struct tap_entry {
    char ifname[IF_NAMESIZE];
    char bridge[64];
    struct ofproto *ofp;
    uint32_t ofport;
    uint32_t dp_port;
    uint8_t mac[6];
};

struct tun_entry {
    struct tnl_port_cfg cfg;
    char name[64];
    uint32_t dp_port;
};

struct listen_entry {
    uint8_t type;
    uint16_t udp_port;                  /* be16 */
};

struct sw_tunnels {
    struct dp *dp;
    struct ofproto_output_hook hook;    /* Its container is this. */
    struct tnl_route *route;            /* NULL until attached. */

    /* Written under the slow-path write lock, read by translation. */
    struct tap_entry *taps;
    size_t n_taps;
    struct tun_entry *tuns;
    size_t n_tuns;
    struct listen_entry *listen;
    size_t n_listen;
    struct tnl_tlv_map tlv;             /* GENEVE options to send. */
};

/* Encapsulation does not nest: a tunnel's underlay bridge that outputs to
 * a tunnel port again drops. */
static __thread int encap_depth;

static struct sw_tunnels *
tunnels_of(const struct ofproto_output_hook *hook)
{
    return (struct sw_tunnels *) (void *) ((char *) hook
                                           - offsetof(struct sw_tunnels,
                                                      hook));
}

static const struct tap_entry *
find_tap_dp(const struct sw_tunnels *t, uint32_t dp_port)
{
    for (size_t i = 0; i < t->n_taps; i++) {
        if (t->taps[i].dp_port == dp_port) {
            return &t->taps[i];
        }
    }
    return NULL;
}

static const struct tap_entry *
find_tap_ifname(const struct sw_tunnels *t, const char *ifname)
{
    for (size_t i = 0; i < t->n_taps; i++) {
        if (!strcmp(t->taps[i].ifname, ifname)) {
            return &t->taps[i];
        }
    }
    return NULL;
}

static const struct tun_entry *
find_tun(const struct sw_tunnels *t, uint32_t dp_port)
{
    for (size_t i = 0; i < t->n_tuns; i++) {
        if (t->tuns[i].dp_port == dp_port) {
            return &t->tuns[i];
        }
    }
    return NULL;
}

/* ---- Decapsulation. ---- */

static enum ofproto_hook_result
decap(struct sw_tunnels *t, const struct tap_entry *tap,
      const struct flow *flow, struct flow *wc, struct ofproto_xctx *ctx)
{
    uint16_t dl_type = ntohs(flow->dl_type);
    const struct listen_entry *le = NULL;
    bool v6 = dl_type == ETH_TYPE_IPV6;
    struct dp_action *a;
    int ifindex;

    if (!t->n_listen || !t->route) {
        return OFPROTO_HOOK_PASS;
    }
    wc->dl_type = UINT16_MAX;
    if (dl_type != ETH_TYPE_IP && !v6) {
        return OFPROTO_HOOK_PASS;
    }
    wc->nw_proto = UINT8_MAX;
    wc->nw_frag = FLOW_NW_FRAG_MASK;
    if (flow->nw_proto != IPPROTO_UDP_ || flow->nw_frag) {
        return OFPROTO_HOOK_PASS;
    }
    wc->tp_dst = UINT16_MAX;
    for (size_t i = 0; i < t->n_listen; i++) {
        if (t->listen[i].udp_port == flow->tp_dst) {
            le = &t->listen[i];
            break;
        }
    }
    if (!le) {
        return OFPROTO_HOOK_PASS;
    }
    /* For the host: its MAC and one of its addresses. */
    memset(wc->dl_dst, 0xff, 6);
    if (memcmp(flow->dl_dst, tap->mac, 6)) {
        return OFPROTO_HOOK_PASS;
    }
    ifindex = tnl_route_ifindex(t->route, tap->ifname);
    if (v6) {
        memset(wc->ipv6_dst, 0xff, 16);
        if (!ifindex
            || !tnl_route_is_local(t->route, ifindex, true,
                                   flow->ipv6_dst)) {
            return OFPROTO_HOOK_PASS;
        }
    } else {
        wc->nw_dst = UINT32_MAX;
        if (!ifindex
            || !tnl_route_is_local(t->route, ifindex, false,
                                   (const uint8_t *) &flow->nw_dst)) {
            return OFPROTO_HOOK_PASS;
        }
    }
    a = ofproto_xctx_emit(ctx, DPA_TNL_POP);
    if (a) {
        a->tnl_pop.type = le->type;
        a->tnl_pop.udp_port = le->udp_port;
    }
    return OFPROTO_HOOK_DONE;
}

/* ---- Encapsulation. ---- */

static bool
is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static enum ofproto_hook_result
encap_fail(struct ofproto_xctx *ctx, const struct tun_entry *te,
           const char *why)
{
    LOG_WARN_RL("tunnel port %s: %s: dropped", te->name, why);
    ofproto_xctx_skipped(ctx);
    return OFPROTO_HOOK_DONE;
}

/* The longest inner frame whose encapsulation ('hdr_len' bytes of
 * header) fits the L3 MTU of every port the underlay bridge's actions
 * 'oacts' output to; 0 when none says (no limit). */
static uint16_t
underlay_max_inner(const struct sw_tunnels *t, const struct dp_actions *oacts,
                   size_t hdr_len)
{
    size_t outer = hdr_len - 14;    /* The outer L3 headers. */
    int limit = 0;

    for (size_t i = 0; i < oacts->n; i += dp_action_block_len(&oacts->a[i])) {
        const struct dp_action *a = &oacts->a[i];
        const struct port *port;
        int mtu;

        if (a->type != DPA_OUTPUT) {
            continue;
        }
        port = dp_port_get(t->dp, a->port);
        mtu = port ? port_get_mtu(port) : 0;
        if (mtu > (int) outer && (!limit || mtu - (int) outer < limit)) {
            limit = mtu - (int) outer;
        }
    }
    return (uint16_t) (limit > UINT16_MAX ? UINT16_MAX : limit);
}

static enum ofproto_hook_result
encap(struct sw_tunnels *t, const struct tun_entry *te,
      const struct flow *flow, struct flow *wc, struct ofproto_xctx *ctx)
{
    const struct tnl_port_cfg *c = &te->cfg;
    struct {
        _Alignas(8) uint8_t buf[sizeof(struct dp_actions)
                                + 32 * sizeof(struct dp_action)];
    } stub;
    struct ofproto_xlate_out oout;
    struct dp_actions *oacts;
    const struct tap_entry *tap;
    uint8_t hdr[TNL_HDR_MAX + 14];
    uint8_t opts[TNL_GENEVE_OPT_MAX];
    struct tnl_nexthop nh;
    struct tnl_layout lay;
    struct tnl_spec spec;
    struct flow outer, owc;
    uint8_t remote[16];
    bool v6 = c->is_ipv6;
    size_t hdr_len, n_data;
    uint16_t max_inner;
    struct dp_action *a;
    int err;

    if (encap_depth) {
        return encap_fail(ctx, te, "a tunnel inside a tunnel");
    }
    if (!t->route) {
        return encap_fail(ctx, te, "no route table yet");
    }
    memset(remote, 0, sizeof remote);
    if (c->remote_flow) {
        if (flow->tunnel.ip_dst) {
            wc->tunnel.ip_dst = UINT32_MAX;
            memcpy(remote, &flow->tunnel.ip_dst, 4);
            v6 = false;
        } else {
            wc->tunnel.ip_dst = UINT32_MAX;
            memset(wc->tunnel.ipv6_dst, 0xff, 16);
            if (is_zero(flow->tunnel.ipv6_dst, 16)) {
                return encap_fail(ctx, te, "remote_ip=flow and the flow "
                                  "set no tun_dst");
            }
            memcpy(remote, flow->tunnel.ipv6_dst, 16);
            v6 = true;
        }
    } else {
        memcpy(remote, c->remote, 16);
    }

    memset(&spec, 0, sizeof spec);
    spec.type = c->type;
    spec.is_ipv6 = v6;
    spec.ttl = c->ttl;
    spec.df = c->df;
    spec.csum = c->csum;
    spec.udp_dst = htons(c->dst_port);
    if (c->key_flow) {
        wc->tunnel.tun_id = UINT64_MAX;
        spec.vni = (uint32_t) (be64toh(flow->tunnel.tun_id) & 0xffffff);
    } else {
        spec.vni = c->key;
    }
    if (c->tos_inherit) {
        uint16_t dl_type = ntohs(flow->dl_type);

        wc->dl_type = UINT16_MAX;
        if (dl_type == ETH_TYPE_IP || dl_type == ETH_TYPE_IPV6) {
            wc->nw_tos |= 0xfc;
            spec.tos = flow->nw_tos & 0xfc;
        }
    } else {
        spec.tos = c->tos;
    }

    err = tnl_route_lookup(t->route, v6, remote, &nh);
    if (err) {
        return encap_fail(ctx, te, err == ENETUNREACH
                                   ? "no route to the remote endpoint"
                                   : "no source address on the route");
    }
    tap = find_tap_ifname(t, nh.ifname);
    if (!tap) {
        LOG_WARN_RL("tunnel port %s: the route to the remote endpoint "
                    "leaves by %s, which is not a tap port of any bridge",
                    te->name, nh.ifname);
        ofproto_xctx_skipped(ctx);
        return OFPROTO_HOOK_DONE;
    }
    if (tnl_neigh_lookup(t->route, nh.ifindex, v6, nh.gw, spec.eth_dst)) {
        /* Resolution is under way (asked again at most once a second).
         * Not cached: a resolution that fails gives no notice, and a
         * cached drop would then never ask again. */
        LOG_DBG_RL("tunnel port %s: next hop not resolved yet", te->name);
        ofproto_xctx_skipped(ctx);
        ofproto_xctx_no_cache(ctx);
        return OFPROTO_HOOK_DONE;
    }
    memcpy(spec.eth_src, tap->mac, 6);
    if (c->has_local && c->is_ipv6 != v6) {
        return encap_fail(ctx, te, "local_ip is not of the remote "
                          "endpoint's family");
    }
    if (v6) {
        memcpy(spec.ipv6_dst, remote, 16);
        memcpy(spec.ipv6_src, c->has_local ? c->local : nh.src, 16);
    } else {
        memcpy(&spec.ip_dst, remote, 4);
        memcpy(&spec.ip_src, c->has_local ? c->local : nh.src, 4);
    }
    if (c->type == TNL_GENEVE && t->tlv.n) {
        /* The options of the present tun_metadata fields the map names:
         * what the flow set, or what a GENEVE tunnel delivered. */
        wc->tunnel.md_present = UINT8_MAX;
        for (size_t i = 0; i < t->tlv.n; i++) {
            if (flow->tunnel.md_present & (1u << t->tlv.tlv[i].slot)) {
                wc->tunnel.metadata[t->tlv.tlv[i].slot] = UINT64_MAX;
            }
        }
        spec.opts = opts;
        spec.opts_len = tnl_geneve_opts(&t->tlv, &flow->tunnel, opts,
                                        sizeof opts);
    }
    hdr_len = tnl_build(&spec, hdr, TNL_HDR_MAX);
    if (!hdr_len) {
        return encap_fail(ctx, te, "cannot build the header");
    }
    if (hdr_len > RTE_PKTMBUF_HEADROOM) {
        /* It could never be prepended (tunnel_no_headroom each time). */
        return encap_fail(ctx, te, "the outer header (GENEVE options) is "
                          "longer than a packet buffer's headroom");
    }
    tnl_layout_of(&spec, &lay);

    /* The underlay bridge translates the encapsulated packet as sent by
     * the host port: its flow, from the header and an empty inner
     * frame. */
    {
        uint8_t frame[sizeof hdr];

        memcpy(frame, hdr, hdr_len);
        memset(frame + hdr_len, 0, 14);
        tnl_finish(frame, hdr_len + 14, &lay, 0, tnl_udp_src_port(0));
        flow_extract(frame, hdr_len + 14, tap->ofport, &outer, NULL);
    }

    encap_depth++;
    err = ofproto_xlate_stub(tap->ofp, &outer, &owc,
                             (struct dp_actions *) (void *) stub.buf, 32,
                             &oacts, &oout, ofproto_xctx_now(ctx));
    encap_depth--;
    if (err) {
        return encap_fail(ctx, te, "out of memory");
    }
    ofproto_xctx_merge(ctx, &oout);
    if (!oacts->n) {
        /* The underlay bridge drops it. */
        ofproto_xlate_actions_free(oacts,
                                   (struct dp_actions *) (void *) stub.buf);
        return OFPROTO_HOOK_DONE;
    }

    n_data = (hdr_len + DPA_TNL_DATA_BYTES - 1) / DPA_TNL_DATA_BYTES;
    max_inner = underlay_max_inner(t, oacts, hdr_len);
    a = ofproto_xctx_emit(ctx, DPA_TNL_PUSH);
    if (a) {
        a->tnl_push.type = (uint8_t) c->type;
        a->tnl_push.is_ipv6 = v6;
        a->tnl_push.csum = c->csum;
        a->tnl_push.n_data = (uint8_t) n_data;
        a->tnl_push.hdr_len = (uint16_t) hdr_len;
        a->tnl_push.n_acts = (uint16_t) oacts->n;
        a->tnl_push.tnl_port = te->dp_port;
        a->tnl_push.outer_in_port = tap->dp_port;
        a->tnl_push.max_inner = max_inner;
        memcpy(a->tnl_push.remote, remote, 16);
    }
    for (size_t d = 0; a && d < n_data; d++) {
        size_t off = d * DPA_TNL_DATA_BYTES;
        size_t len = hdr_len - off < DPA_TNL_DATA_BYTES
                     ? hdr_len - off : DPA_TNL_DATA_BYTES;

        a = ofproto_xctx_emit(ctx, DPA_TNL_DATA);
        if (a) {
            memcpy(a->data, hdr + off, len);
        }
    }
    for (size_t i = 0; a && i < oacts->n; i++) {
        a = ofproto_xctx_emit(ctx, (enum dp_action_type) oacts->a[i].type);
        if (a) {
            *a = oacts->a[i];
        }
    }
    ofproto_xlate_actions_free(oacts, (struct dp_actions *) (void *) stub.buf);
    return OFPROTO_HOOK_DONE;
}

static enum ofproto_hook_result
tunnels_output(const struct ofproto_output_hook *hook, struct ofproto *ofp,
               uint32_t ofport, uint32_t dp_port, const struct flow *flow,
               struct flow *wc, struct ofproto_xctx *ctx)
{
    struct sw_tunnels *t = tunnels_of(hook);
    const struct tun_entry *te;
    const struct tap_entry *tap;

    (void) ofp;
    (void) ofport;
    te = find_tun(t, dp_port);
    if (te) {
        return encap(t, te, flow, wc, ctx);
    }
    tap = find_tap_dp(t, dp_port);
    if (tap) {
        return decap(t, tap, flow, wc, ctx);
    }
    return OFPROTO_HOOK_PASS;
}

/* ---- Lifecycle and ports. ---- */

struct sw_tunnels *
sw_tunnels_create(struct dp *dp)
{
    struct sw_tunnels *t = calloc(1, sizeof *t);

    if (t) {
        t->dp = dp;
        t->hook.output = tunnels_output;
    }
    return t;
}

void
sw_tunnels_destroy(struct sw_tunnels *t)
{
    if (!t) {
        return;
    }
    tnl_route_destroy(t->route);
    free(t->taps);
    free(t->tuns);
    free(t->listen);
    free(t);
}

int
sw_tunnels_attach(struct sw_tunnels *t, struct event_base *base,
                  void (*changed)(void *aux), void *aux, char *err,
                  size_t errsize)
{
    struct tnl_route *route;
    int ret;

    if (t->route) {
        return 0;
    }
    ret = tnl_route_create(base, changed, aux, &route, err, errsize);
    if (!ret) {
        /* Translation (PMD threads, read lock) reads it. */
        dp_slow_wrlock(t->dp);
        t->route = route;
        dp_slow_wrunlock(t->dp);
    }
    return ret;
}

void
sw_tunnels_set_tlv_map(struct sw_tunnels *t, const struct tnl_tlv_map *map)
{
    t->tlv = *map;
}

const struct ofproto_output_hook *
sw_tunnels_hook(struct sw_tunnels *t)
{
    return &t->hook;
}

bool
sw_tunnels_hooks_port(const struct port *port)
{
    return port_tunnel_cfg(port, NULL) || !strcmp(port_type(port), "tap");
}

int
sw_tunnels_set_ports(struct sw_tunnels *t, const struct sw_tunnel_port *ports,
                     size_t n)
{
    struct tap_entry *taps = calloc(n + 1, sizeof *taps);
    struct tun_entry *tuns = calloc(n + 1, sizeof *tuns);
    struct listen_entry *listen = calloc(n + 1, sizeof *listen);
    size_t n_taps = 0, n_tuns = 0, n_listen = 0;

    if (!taps || !tuns || !listen) {
        free(taps);
        free(tuns);
        free(listen);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct sw_tunnel_port *p = &ports[i];
        struct tnl_port_cfg c;

        if (port_tunnel_cfg(p->port, &c)) {
            struct tun_entry *te = &tuns[n_tuns++];
            uint16_t udp = htons(c.dst_port);
            size_t k;

            te->cfg = c;
            te->dp_port = p->dp_port;
            snprintf(te->name, sizeof te->name, "%s", port_name(p->port));
            for (k = 0; k < n_listen; k++) {
                if (listen[k].udp_port == udp) {
                    break;
                }
            }
            if (k == n_listen) {
                listen[n_listen].type = (uint8_t) c.type;
                listen[n_listen].udp_port = udp;
                n_listen++;
            } else if (listen[k].type != c.type) {
                LOG_WARN("tunnel port %s: UDP port %u is already a %s "
                         "tunnel's: its packets are decapsulated as that",
                         te->name, c.dst_port,
                         listen[k].type == TNL_GENEVE ? "geneve" : "vxlan");
            }
        } else if (p->ifname) {
            struct tap_entry *tap = &taps[n_taps++];

            snprintf(tap->ifname, sizeof tap->ifname, "%s", p->ifname);
            snprintf(tap->bridge, sizeof tap->bridge, "%s", p->bridge);
            tap->ofp = p->ofp;
            tap->ofport = p->ofport;
            tap->dp_port = p->dp_port;
            port_get_mac(p->port, tap->mac);
        }
    }
    free(t->taps);
    free(t->tuns);
    free(t->listen);
    t->taps = taps;
    t->n_taps = n_taps;
    t->tuns = tuns;
    t->n_tuns = n_tuns;
    t->listen = listen;
    t->n_listen = n_listen;
    return 0;
}

int
sw_tunnels_publish(struct sw_tunnels *t)
{
    struct tnl_map_entry *e;
    struct tnl_map *map = NULL;
    int err = 0;

    if (!t->n_tuns) {
        dp_set_tnl_map(t->dp, NULL);
        return 0;
    }
    /* Up to two entries a port: one whose family nothing fixes
     * (remote_ip=flow without local_ip) receives over both. */
    e = calloc(2 * t->n_tuns, sizeof *e);
    if (!e) {
        return ENOMEM;
    }
    size_t n_e = 0;
    for (size_t i = 0; i < t->n_tuns; i++) {
        const struct tnl_port_cfg *c = &t->tuns[i].cfg;
        bool both = c->remote_flow && !c->has_local;

        for (int f = 0; f < (both ? 2 : 1); f++) {
            struct tnl_map_entry *x = &e[n_e++];

            x->type = c->type;
            x->udp_port = htons(c->dst_port);
            x->is_ipv6 = both ? f == 1 : c->is_ipv6;
            x->remote_any = c->remote_flow;
            x->local_any = !c->has_local;
            x->key_any = c->key_flow;
            memcpy(x->remote, c->remote, 16);
            memcpy(x->local, c->local, 16);
            x->key = c->key;
            x->port_no = t->tuns[i].dp_port;
        }
    }
    {
        size_t n = 0;

        /* Two ports that receive the same packets: the first keeps them. */
        for (size_t i = 0; i < n_e; i++) {
            size_t k;

            for (k = 0; k < n; k++) {
                if (e[k].type == e[i].type && e[k].udp_port == e[i].udp_port
                    && e[k].is_ipv6 == e[i].is_ipv6
                    && e[k].remote_any == e[i].remote_any
                    && e[k].local_any == e[i].local_any
                    && e[k].key_any == e[i].key_any
                    && (e[k].remote_any
                        || !memcmp(e[k].remote, e[i].remote, 16))
                    && (e[k].local_any
                        || !memcmp(e[k].local, e[i].local, 16))
                    && (e[k].key_any || e[k].key == e[i].key)) {
                    break;
                }
            }
            if (k < n) {
                LOG_WARN("tunnel port %s receives the same packets as "
                         "tunnel port %s: it receives nothing",
                         find_tun(t, e[i].port_no)->name,
                         find_tun(t, e[k].port_no)->name);
                err = EEXIST;
                continue;
            }
            e[n++] = e[i];
        }
        map = tnl_map_create(e, n, NULL);
    }
    free(e);
    if (!map) {
        return ENOMEM;
    }
    dp_set_tnl_map(t->dp, map);
    return err;
}

void
sw_tunnels_dump(struct sw_tunnels *t, bool neighbours,
                void (*cb)(const char *line, void *aux), void *aux)
{
    if (t->route) {
        tnl_route_dump(t->route, neighbours, cb, aux);
    }
}
