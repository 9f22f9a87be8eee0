/* SPDX-License-Identifier: BSD-3-Clause */
/* port-tunnel.c: the vxlan and geneve port classes (port-tunnel.h). */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port-tunnel.h"

struct port_tunnel {
    struct port up;
    struct tnl_port_cfg cfg;
    enum tnl_type type;         /* [const] The class's. */
};

static struct port_tunnel *
tunnel_cast(const struct port *port)
{
    return (struct port_tunnel *) (void *) port;
}

/* ---- Option values. ---- */

static bool
parse_addr(const char *v, bool *is_ipv6, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, v, addr) == 1) {
        *is_ipv6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, v, addr) == 1) {
        *is_ipv6 = true;
        return true;
    }
    return false;
}

static bool
check_remote(const char *v, char *msg, size_t msgsize)
{
    uint8_t a[16];
    bool v6;

    if (!strcmp(v, "flow")) {
        return true;
    }
    if (!parse_addr(v, &v6, a)) {
        snprintf(msg, msgsize, "'%s' is not an IPv4 or IPv6 address or "
                 "\"flow\"", v);
        return false;
    }
    return true;
}

static bool
check_local(const char *v, char *msg, size_t msgsize)
{
    uint8_t a[16];
    bool v6;

    if (!parse_addr(v, &v6, a)) {
        snprintf(msg, msgsize, "'%s' is not an IPv4 or IPv6 address", v);
        return false;
    }
    return true;
}

static bool
parse_vni(const char *v, uint32_t *vni)
{
    char *end;
    unsigned long long n;

    if (!*v || *v == '-' || *v == '+') {
        return false;
    }
    errno = 0;
    n = strtoull(v, &end, 0);
    if (errno || *end || n >= (1u << 24)) {
        return false;
    }
    *vni = (uint32_t) n;
    return true;
}

static bool
check_key(const char *v, char *msg, size_t msgsize)
{
    uint32_t vni;

    if (!strcmp(v, "flow") || parse_vni(v, &vni)) {
        return true;
    }
    snprintf(msg, msgsize, "'%s' is not a VNI 0..16777215 or \"flow\"", v);
    return false;
}

static bool
check_tos(const char *v, char *msg, size_t msgsize)
{
    uint32_t tos;

    if (!strcmp(v, "inherit")
        || (parse_vni(v, &tos) && tos <= 255 && !(tos & 3))) {
        return true;
    }
    snprintf(msg, msgsize, "'%s' is not a TOS 0..252 with the ECN bits "
             "clear, or \"inherit\"", v);
    return false;
}

#define TUNNEL_OPTIONS(DFLT_PORT)                                           \
    { "remote_ip", PORT_OPT_STRING, true, 1, 63, NULL,                    \
      "the remote endpoint: an IPv4 or IPv6 address, or `flow` (taken "   \
      "from `tun_dst`/`tun_ipv6_dst`, set by the flow)", check_remote },  \
    { "local_ip", PORT_OPT_STRING, false, 1, 63, "the route's source",    \
      "the local endpoint address (received packets must be addressed "   \
      "to it; sent ones come from it)", check_local },                    \
    { "key", PORT_OPT_STRING, false, 1, 15, "0",                          \
      "the VNI: 0..16777215, or `flow` (from `tun_id`; any VNI is "       \
      "received, in `tun_id`)", check_key },                              \
    { "dst_port", PORT_OPT_UINT, false, 1, 65535, DFLT_PORT,              \
      "the UDP destination port", NULL },                                 \
    { "tos", PORT_OPT_STRING, false, 1, 7, "0",                           \
      "the outer TOS: 0..252, or `inherit` (the inner IP packet's DSCP)", \
      check_tos },                                                        \
    { "ttl", PORT_OPT_UINT, false, 1, 255, "64",                          \
      "the outer TTL or hop limit", NULL },                               \
    { "csum", PORT_OPT_STRING, false, 4, 5, "false",                      \
      "`true`: send outer UDP checksums (received ones are always "       \
      "checked when present)", port_opt_check_bool },                     \
    { "df_default", PORT_OPT_STRING, false, 4, 5, "true",                 \
      "`true`: set DF in the outer IPv4 header",                          \
      port_opt_check_bool },                                              \
    { .name = NULL }

static const struct port_opt_def vxlan_options[] = {
    TUNNEL_OPTIONS("4789"),
};

static const struct port_opt_def geneve_options[] = {
    TUNNEL_OPTIONS("6081"),
};

/* ---- Class. ---- */

static struct port *
tunnel_alloc(void)
{
    struct port_tunnel *t = calloc(1, sizeof *t);

    return t ? &t->up : NULL;
}

static int
tunnel_construct(struct port *port)
{
    struct port_tunnel *t = tunnel_cast(port);

    t->type = port->class == &port_geneve_class ? TNL_GENEVE : TNL_VXLAN;
    return 0;
}

static void
tunnel_destruct(struct port *port)
{
    (void) port;
}

static void
tunnel_dealloc(struct port *port)
{
    free(tunnel_cast(port));
}

static int
tunnel_set_config(struct port *port, const struct port_option *opts,
                  size_t n_opts, char *err, size_t errsize)
{
    struct port_tunnel *t = tunnel_cast(port);
    const struct port_opt_def *table = port->class->options;
    struct tnl_port_cfg c;
    const char *v;
    bool v6;

    memset(&c, 0, sizeof c);
    c.type = t->type;
    v = port_opt_get(opts, n_opts, "remote_ip");
    if (v && !strcmp(v, "flow")) {
        c.remote_flow = true;
        c.is_ipv6 = false;
    } else if (!v || !parse_addr(v, &c.is_ipv6, c.remote)) {
        port_err_set(err, errsize, "%s: option remote_ip: missing or bad",
                     port->name);
        return EINVAL;
    }
    v = port_opt_get(opts, n_opts, "local_ip");
    if (v) {
        if (!parse_addr(v, &v6, c.local)) {
            port_err_set(err, errsize, "%s: option local_ip: bad address",
                         port->name);
            return EINVAL;
        }
        if (!c.remote_flow && v6 != c.is_ipv6) {
            port_err_set(err, errsize, "%s: option local_ip: %s is not of "
                         "remote_ip's family", port->name, v);
            return EINVAL;
        }
        c.has_local = true;
        c.is_ipv6 = v6;
    }
    v = port_opt_get(opts, n_opts, "key");
    if (v && !strcmp(v, "flow")) {
        c.key_flow = true;
    } else if (v && !parse_vni(v, &c.key)) {
        port_err_set(err, errsize, "%s: option key: bad VNI", port->name);
        return EINVAL;
    }
    c.dst_port = (uint16_t) port_opt_get_u32(table, opts, n_opts,
                                             "dst_port");
    v = port_opt_get(opts, n_opts, "tos");
    if (v && !strcmp(v, "inherit")) {
        c.tos_inherit = true;
    } else if (v) {
        uint32_t tos = 0;

        parse_vni(v, &tos);
        c.tos = (uint8_t) tos;
    }
    c.ttl = (uint8_t) port_opt_get_u32(table, opts, n_opts, "ttl");
    v = port_opt_get(opts, n_opts, "csum");
    if (v) {
        port_opt_parse_bool(v, &c.csum);
    }
    c.df = true;
    v = port_opt_get(opts, n_opts, "df_default");
    if (v) {
        port_opt_parse_bool(v, &c.df);
    }
    t->cfg = c;
    return 0;
}

static int
tunnel_reconfigure(struct port *port, char *err, size_t errsize)
{
    (void) err;
    (void) errsize;
    /* Counters only (port-tunnel.h): one rx queue per PMD tx qid. */
    port->n_rxq = port->n_txq;
    port->n_dev_txq = port->n_txq;
    return 0;
}

static int
tunnel_rxq_recv(struct port *port, unsigned qid, struct rte_mbuf **pkts,
                int max)
{
    (void) port;
    (void) qid;
    (void) pkts;
    (void) max;
    return 0;
}

static int
tunnel_send(struct port *port, unsigned qid, struct rte_mbuf **pkts, int n,
            uint64_t *bytes)
{
    /* Outputs to a tunnel are encapsulations (bridge.c); nothing sends to
     * the port itself. */
    (void) port;
    (void) qid;
    port_free_burst(pkts, n);
    *bytes = 0;
    return 0;
}

bool
port_tunnel_cfg(const struct port *port, struct tnl_port_cfg *cfg)
{
    if (!port || (port->class != &port_vxlan_class
                  && port->class != &port_geneve_class)) {
        return false;
    }
    if (cfg) {
        *cfg = tunnel_cast(port)->cfg;
    }
    return true;
}

#define TUNNEL_CLASS(TYPE, OPTIONS)                                         \
    {                                                                       \
        .type = TYPE,                                                       \
        .options = OPTIONS,                                                 \
        .no_poll = true,                                                    \
        .alloc = tunnel_alloc,                                              \
        .construct = tunnel_construct,                                      \
        .destruct = tunnel_destruct,                                        \
        .dealloc = tunnel_dealloc,                                          \
        .set_config = tunnel_set_config,                                    \
        .reconfigure = tunnel_reconfigure,                                  \
        .rxq_recv = tunnel_rxq_recv,                                        \
        .send = tunnel_send,                                                \
    }

const struct port_class port_vxlan_class = TUNNEL_CLASS("vxlan",
                                                        vxlan_options);
const struct port_class port_geneve_class = TUNNEL_CLASS("geneve",
                                                         geneve_options);
