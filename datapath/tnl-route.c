/* SPDX-License-Identifier: BSD-3-Clause */
/* tnl-route.c: a copy of the kernel's links, addresses, main-table routes
 * and neighbours, kept fresh from rtnetlink (libnl-3), for tunnels. */

/*
 * Tables
 *   Four arrays (links, addresses, routes, neighbours) in kernel order,
 *   behind 'rwlock'.  Lookups scan them linearly: they serve the slow path
 *   of a host's underlay (tens to hundreds of entries), and the scan is
 *   its own reference.
 *
 * Keeping them fresh (main thread)
 *   'mon' is a non-blocking netlink socket subscribed to the groups the
 *   header lists; its descriptor is a persistent libevent read event.  One
 *   wake-up drains up to TR_BATCH datagrams and then settles the batch:
 *
 *   - links, addresses and neighbours are applied one notification at a
 *     time (the kernel sends the full object, keyed by ifindex; family,
 *     ifindex, address, prefix; family, ifindex, address);
 *   - routes are re-dumped, once per batch, after any main-table route
 *     notification, any address deletion and any link notification.
 *     The kernel flushes the IPv4 routes of an interface that goes down,
 *     and those whose preferred source goes away, without notifying, so
 *     incremental route updates would drift;
 *   - ENOBUFS (the socket overflowed: notifications were lost) re-dumps
 *     everything.
 *
 *   Notifications queued before a dump and read after it replay changes
 *   the dump already holds; the last one for each key is the newest
 *   state, so the copy converges.  The generation is bumped, and
 *   'changed' called once per batch after the lock is released, only if
 *   an answer may differ: a neighbour going REACHABLE -> STALE (same MAC,
 *   still usable) or a re-dump that finds the same routes bumps nothing.
 *
 * Resolution requests
 *   A lookup on any thread that misses (or finds a STALE entry, which the
 *   kernel re-verifies only when the entry is used) records the address
 *   in 'reqs' under 'req_mutex', at most once per TR_REQ_INTERVAL_MS per
 *   address, and activates 'wake_ev' (event_active(): the daemon enables
 *   libevent's pthreads support before creating its base).  The main
 *   thread then sends RTM_NEWNEIGH with NTF_USE and NLM_F_CREATE for each
 *   (see tr_send_resolve()).
 *
 * Lock order: 'rwlock' and 'req_mutex' are never held together.
 */

#include "tnl-route.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <event2/event.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>

LOG_MODULE(tunnel);

#define TR_BATCH 256                /* Datagrams read per wake-up. */
#define TR_RCVBUF (4 * 1024 * 1024) /* Notification socket buffer. */
#define TR_DUMP_TRIES 5             /* Retries of an interrupted dump. */
#define TR_REQ_MAX 256              /* Addresses being resolved. */
#define TR_REQ_INTERVAL_MS 1000     /* Per address, between requests. */

/* Neighbour states whose MAC a lookup returns. */
#define TR_NUD_VALID                                                        \
    (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT      \
     | NUD_NOARP)

/* All structs below are zeroed before they are filled, so that whole
 * arrays compare with memcmp(). */
struct tr_link {
    int ifindex;
    char name[IF_NAMESIZE];
};

struct tr_addr {
    int ifindex;
    uint32_t flags;                 /* IFA_F_*. */
    uint8_t family;                 /* AF_INET or AF_INET6. */
    uint8_t prefixlen;
    uint8_t scope;                  /* RT_SCOPE_*. */
    uint8_t addr[16];               /* IFA_LOCAL (IPv4) or IFA_ADDRESS. */
};

struct tr_route {
    int ifindex;                    /* First nexthop's. */
    uint32_t priority;
    uint8_t family;
    uint8_t type;                   /* RTN_UNICAST, or a reject type. */
    uint8_t dst_len;
    bool has_gw;
    bool has_prefsrc;
    uint8_t dst[16];
    uint8_t gw[16];
    uint8_t prefsrc[16];
};

struct tr_neigh {
    int ifindex;
    uint16_t state;                 /* NUD_*. */
    uint8_t family;
    bool has_mac;
    uint8_t ip[16];
    uint8_t mac[6];
};

/* A growable array of one of the structs above. */
struct tr_vec {
    void *data;
    size_t n;
    size_t alloc;
};

struct tr_tables {
    struct tr_vec links;            /* struct tr_link */
    struct tr_vec addrs;            /* struct tr_addr */
    struct tr_vec routes;           /* struct tr_route */
    struct tr_vec neighs;           /* struct tr_neigh */
};

/* An address whose resolution was requested. */
struct tr_req {
    long long last_ms;              /* Last request; 0: free slot. */
    int ifindex;
    uint8_t family;
    bool pending;                   /* To be sent by the main thread. */
    uint8_t ip[16];
};

/* The dump in progress on the 'sync' socket. */
struct tr_dump_ctx {
    struct tr_tables *tables;
    int error;                      /* First parse error (errno). */
};

struct tnl_route {
    /* Set at creation, then constant. */
    struct event_base *base;        /* Borrowed. */
    void (*changed)(void *aux);
    void *aux;

    /* Main thread only. */
    struct nl_sock *mon;            /* Notifications. */
    struct nl_sock *sync;           /* Dumps and resolution requests. */
    struct event *mon_ev;
    struct event *wake_ev;          /* Activated when 'reqs' has work. */
    struct event *retry_ev;         /* Retries a failed re-dump. */
    struct tr_dump_ctx dump;        /* Target of 'sync' messages. */
    int msg_type;                   /* Of the notification being parsed. */
    bool batch_changed;             /* An answer may have changed. */
    bool routes_dirty;              /* Re-dump routes at batch end. */
    bool resync;                    /* ENOBUFS: re-dump everything. */

    pthread_rwlock_t rwlock;
    struct tr_tables tables;        /* Guarded by 'rwlock'. */

    uint64_t generation;            /* __atomic. */

    pthread_mutex_t req_mutex;
    struct tr_req reqs[TR_REQ_MAX]; /* Guarded by 'req_mutex'. */
    bool wake_pending;              /* Guarded by 'req_mutex'. */
};

/* Arrays. */

/* Appends a zeroed element of 'size' bytes and returns it, or NULL. */
static void *
tr_vec_push(struct tr_vec *v, size_t size)
{
    char *p;

    if (v->n == v->alloc) {
        size_t alloc = v->alloc ? v->alloc * 2 : 16;
        void *data = realloc(v->data, alloc * size);

        if (!data) {
            return NULL;
        }
        v->data = data;
        v->alloc = alloc;
    }
    p = (char *) v->data + v->n++ * size;
    memset(p, 0, size);
    return p;
}

static void
tr_vec_remove(struct tr_vec *v, size_t size, size_t i)
{
    char *p = (char *) v->data + i * size;

    memmove(p, p + size, (v->n - i - 1) * size);
    v->n--;
}

static bool
tr_vec_equal(const struct tr_vec *a, const struct tr_vec *b, size_t size)
{
    return a->n == b->n && (!a->n || !memcmp(a->data, b->data, a->n * size));
}

static void
tr_vec_free(struct tr_vec *v)
{
    free(v->data);
    memset(v, 0, sizeof *v);
}

static void
tr_tables_free(struct tr_tables *t)
{
    tr_vec_free(&t->links);
    tr_vec_free(&t->addrs);
    tr_vec_free(&t->routes);
    tr_vec_free(&t->neighs);
}

#define TR_LINKS(T) ((struct tr_link *) (T)->links.data)
#define TR_ADDRS(T) ((struct tr_addr *) (T)->addrs.data)
#define TR_ROUTES(T) ((struct tr_route *) (T)->routes.data)
#define TR_NEIGHS(T) ((struct tr_neigh *) (T)->neighs.data)

/* Helpers. */

static long long
tr_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
tr_addr_len(bool is_ipv6)
{
    return is_ipv6 ? 16 : 4;
}

/* libnl's -NLE_* to an errno. */
static int
tr_nl_errno(int nlerr)
{
    switch (nlerr < 0 ? -nlerr : nlerr) {
    case NLE_NOMEM:
        return ENOMEM;
    case NLE_PERM:
        return EPERM;
    case NLE_NOACCESS:
        return EACCES;
    case NLE_AGAIN:
        return EAGAIN;
    case NLE_INVAL:
        return EINVAL;
    case NLE_OBJ_NOTFOUND:
        return ENOENT;
    case NLE_NOADDR:
        return EADDRNOTAVAIL;
    case NLE_NODEV:
        return ENODEV;
    case NLE_OPNOTSUPP:
        return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
        return EAFNOSUPPORT;
    default:
        return EIO;
    }
}

/* Copies 'a' (NULL: none) into 'out' (16 bytes, zero-filled).  Returns
 * false if 'a' is absent or not of 'family'. */
static bool
tr_copy_nl_addr(struct nl_addr *a, int family, uint8_t out[16])
{
    unsigned len;

    memset(out, 0, 16);
    if (!a || nl_addr_get_family(a) != family) {
        return false;
    }
    len = nl_addr_get_len(a);
    if (len > 16) {
        len = 16;
    }
    memcpy(out, nl_addr_get_binary_addr(a), len);
    return len > 0;
}

static bool
tr_prefix_match(const uint8_t *a, const uint8_t *b, unsigned plen)
{
    unsigned bytes = plen / 8, bits = plen % 8;

    if (memcmp(a, b, bytes)) {
        return false;
    }
    if (bits) {
        uint8_t mask = (uint8_t) (0xff << (8 - bits));

        return ((a[bytes] ^ b[bytes]) & mask) == 0;
    }
    return true;
}

static bool
tr_is_ipv6_ll(const uint8_t *ip)
{
    return ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80;
}

static const char *
tr_ip_str(int family, const uint8_t *ip, char *buf, size_t size)
{
    if (!inet_ntop(family, ip, buf, size)) {
        snprintf(buf, size, "?");
    }
    return buf;
}

/* Conversions from libnl objects.  Each returns false for an object the
 * tables do not hold. */

static bool
tr_from_link(struct rtnl_link *l, struct tr_link *out)
{
    const char *name = rtnl_link_get_name(l);

    /* AF_BRIDGE messages describe bridge ports, not links: a DELLINK of
     * that family only means the port left its bridge. */
    if (rtnl_link_get_family(l) != AF_UNSPEC
        || rtnl_link_get_ifindex(l) <= 0) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->ifindex = rtnl_link_get_ifindex(l);
    if (name) {
        snprintf(out->name, sizeof out->name, "%s", name);
    }
    return true;
}

static bool
tr_from_addr(struct rtnl_addr *a, struct tr_addr *out)
{
    int family = rtnl_addr_get_family(a);
    struct nl_addr *local = rtnl_addr_get_local(a);

    if (family != AF_INET && family != AF_INET6) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->ifindex = rtnl_addr_get_ifindex(a);
    out->family = (uint8_t) family;
    out->prefixlen = (uint8_t) rtnl_addr_get_prefixlen(a);
    out->scope = (uint8_t) rtnl_addr_get_scope(a);
    out->flags = (uint32_t) rtnl_addr_get_flags(a);
    return tr_copy_nl_addr(local, family, out->addr);
}

static bool
tr_from_route(struct rtnl_route *r, struct tr_route *out)
{
    int family = rtnl_route_get_family(r);
    uint8_t type = rtnl_route_get_type(r);
    struct nl_addr *dst = rtnl_route_get_dst(r);
    struct rtnl_nexthop *nh;
    unsigned plen;

    if ((family != AF_INET && family != AF_INET6)
        || rtnl_route_get_table(r) != RT_TABLE_MAIN || !dst
        || (rtnl_route_get_flags(r) & RTM_F_CLONED)) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->family = (uint8_t) family;
    out->type = type;
    out->priority = rtnl_route_get_priority(r);
    plen = nl_addr_get_prefixlen(dst);
    if (plen > (family == AF_INET ? 32u : 128u)) {
        return false;
    }
    out->dst_len = (uint8_t) plen;
    tr_copy_nl_addr(dst, family, out->dst);

    switch (type) {
    case RTN_UNICAST:
        break;
    case RTN_BLACKHOLE:
    case RTN_UNREACHABLE:
    case RTN_PROHIBIT:
    case RTN_THROW:
        /* A lookup that ends here fails (THROW: leaves the main table,
         * the only one looked at). */
        return true;
    default:
        return false;               /* Local, broadcast, multicast, ... */
    }

    /* Multipath: the first nexthop. */
    nh = rtnl_route_get_nnexthops(r) > 0 ? rtnl_route_nexthop_n(r, 0) : NULL;
    if (!nh || (rtnl_route_nh_get_flags(nh) & RTNH_F_DEAD)) {
        return false;
    }
    out->ifindex = rtnl_route_nh_get_ifindex(nh);
    if (out->ifindex <= 0) {
        return false;
    }
    if (rtnl_route_nh_get_gateway(nh)) {
        /* A gateway of the other family (RTA_VIA, IPv4 over an IPv6 next
         * hop) cannot be expressed in struct tnl_nexthop. */
        out->has_gw = tr_copy_nl_addr(rtnl_route_nh_get_gateway(nh),
                                      family, out->gw);
        if (!out->has_gw) {
            return false;
        }
    } else if (rtnl_route_nh_get_via(nh)) {
        return false;
    }
    out->has_prefsrc = tr_copy_nl_addr(rtnl_route_get_pref_src(r), family,
                                       out->prefsrc);
    return true;
}

static bool
tr_from_neigh(struct rtnl_neigh *n, struct tr_neigh *out)
{
    int family = rtnl_neigh_get_family(n);
    struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
    int state = rtnl_neigh_get_state(n);

    if ((family != AF_INET && family != AF_INET6)
        || (rtnl_neigh_get_flags(n) & NTF_PROXY)) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->ifindex = rtnl_neigh_get_ifindex(n);
    out->family = (uint8_t) family;
    out->state = (uint16_t) (state < 0 ? 0 : state);
    if (ll && nl_addr_get_len(ll) == 6) {
        out->has_mac = true;
        memcpy(out->mac, nl_addr_get_binary_addr(ll), 6);
    }
    return tr_copy_nl_addr(rtnl_neigh_get_dst(n), family, out->ip);
}

/* Searches.  Caller holds 'rwlock' (or owns 't'). */

static struct tr_link *
tr_find_link(const struct tr_tables *t, int ifindex, size_t *idx)
{
    for (size_t i = 0; i < t->links.n; i++) {
        if (TR_LINKS(t)[i].ifindex == ifindex) {
            if (idx) {
                *idx = i;
            }
            return &TR_LINKS(t)[i];
        }
    }
    return NULL;
}

static struct tr_addr *
tr_find_addr(const struct tr_tables *t, const struct tr_addr *key,
             size_t *idx)
{
    size_t len = tr_addr_len(key->family == AF_INET6);

    for (size_t i = 0; i < t->addrs.n; i++) {
        struct tr_addr *a = &TR_ADDRS(t)[i];

        if (a->family == key->family && a->ifindex == key->ifindex
            && a->prefixlen == key->prefixlen
            && !memcmp(a->addr, key->addr, len)) {
            if (idx) {
                *idx = i;
            }
            return a;
        }
    }
    return NULL;
}

static struct tr_neigh *
tr_find_neigh(const struct tr_tables *t, int ifindex, int family,
              const uint8_t *ip, size_t *idx)
{
    size_t len = tr_addr_len(family == AF_INET6);

    for (size_t i = 0; i < t->neighs.n; i++) {
        struct tr_neigh *n = &TR_NEIGHS(t)[i];

        if (n->family == family && n->ifindex == ifindex
            && !memcmp(n->ip, ip, len)) {
            if (idx) {
                *idx = i;
            }
            return n;
        }
    }
    return NULL;
}

/* The first suitable source address of 'family' on 'ifindex' for 'dst'. */
static const struct tr_addr *
tr_select_src(const struct tr_tables *t, int family, int ifindex,
              const uint8_t *dst)
{
    bool want_ll = family == AF_INET6 && tr_is_ipv6_ll(dst);
    const struct tr_addr *deprecated = NULL;

    for (size_t i = 0; i < t->addrs.n; i++) {
        const struct tr_addr *a = &TR_ADDRS(t)[i];

        if (a->family != family || a->ifindex != ifindex
            || (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))) {
            continue;
        }
        if (family == AF_INET && (a->flags & IFA_F_SECONDARY)) {
            continue;
        }
        if (family == AF_INET6 && tr_is_ipv6_ll(a->addr) != want_ll) {
            continue;
        }
        if (a->flags & IFA_F_DEPRECATED) {
            if (!deprecated) {
                deprecated = a;
            }
            continue;
        }
        return a;
    }
    return deprecated;
}

/* The route 'dst' takes, or NULL.  Caller holds 'rwlock'. */
static const struct tr_route *
tr_find_route(const struct tr_tables *t, int family, const uint8_t *dst)
{
    const struct tr_route *best = NULL;

    for (size_t i = 0; i < t->routes.n; i++) {
        const struct tr_route *r = &TR_ROUTES(t)[i];

        if (r->family != family || !tr_prefix_match(r->dst, dst, r->dst_len)) {
            continue;
        }
        if (!best || r->dst_len > best->dst_len
            || (r->dst_len == best->dst_len && r->priority < best->priority)) {
            best = r;
        }
    }
    return best;
}

static bool
tr_neigh_usable(const struct tr_neigh *n)
{
    return (n->state & TR_NUD_VALID)
           && (n->has_mac || (n->state & NUD_NOARP));
}

/* Whether lookups would answer differently for 'a' and 'b' (either may be
 * NULL: no entry). */
static bool
tr_neigh_answer_differs(const struct tr_neigh *a, const struct tr_neigh *b)
{
    bool ua = a && tr_neigh_usable(a);
    bool ub = b && tr_neigh_usable(b);

    return ua != ub || (ua && memcmp(a->mac, b->mac, 6));
}

/* Applying notifications (main thread, takes 'rwlock'). */

static void
tr_apply_link(struct tnl_route *tr, bool is_new, const struct tr_link *l)
{
    struct tr_tables *t = &tr->tables;
    struct tr_link *cur;
    size_t idx;

    /* Flags or carrier may have changed: the kernel may have flushed
     * routes without telling. */
    tr->routes_dirty = true;

    pthread_rwlock_wrlock(&tr->rwlock);
    cur = tr_find_link(t, l->ifindex, &idx);
    if (is_new) {
        if (!cur) {
            cur = tr_vec_push(&t->links, sizeof *cur);
            if (!cur) {
                tr->resync = true;
            } else {
                *cur = *l;
                tr->batch_changed = true;
            }
        } else if (memcmp(cur, l, sizeof *l)) {
            *cur = *l;
            tr->batch_changed = true;
        }
    } else if (cur) {
        tr_vec_remove(&t->links, sizeof *cur, idx);
        /* Its addresses and neighbours went with it. */
        for (size_t i = t->addrs.n; i-- > 0;) {
            if (TR_ADDRS(t)[i].ifindex == l->ifindex) {
                tr_vec_remove(&t->addrs, sizeof(struct tr_addr), i);
            }
        }
        for (size_t i = t->neighs.n; i-- > 0;) {
            if (TR_NEIGHS(t)[i].ifindex == l->ifindex) {
                tr_vec_remove(&t->neighs, sizeof(struct tr_neigh), i);
            }
        }
        tr->batch_changed = true;
    }
    pthread_rwlock_unlock(&tr->rwlock);
}

static void
tr_apply_addr(struct tnl_route *tr, bool is_new, const struct tr_addr *a)
{
    struct tr_tables *t = &tr->tables;
    struct tr_addr *cur;
    size_t idx;

    pthread_rwlock_wrlock(&tr->rwlock);
    cur = tr_find_addr(t, a, &idx);
    if (is_new) {
        if (!cur) {
            cur = tr_vec_push(&t->addrs, sizeof *cur);
            if (!cur) {
                tr->resync = true;
            } else {
                *cur = *a;
                tr->batch_changed = true;
            }
        } else if (memcmp(cur, a, sizeof *a)) {
            *cur = *a;
            tr->batch_changed = true;
        }
    } else {
        if (cur) {
            tr_vec_remove(&t->addrs, sizeof *cur, idx);
            tr->batch_changed = true;
        }
        /* Routes using it as preferred source go silently. */
        tr->routes_dirty = true;
    }
    pthread_rwlock_unlock(&tr->rwlock);
}

static void
tr_apply_neigh(struct tnl_route *tr, bool is_new, const struct tr_neigh *n)
{
    struct tr_tables *t = &tr->tables;
    struct tr_neigh *cur;
    size_t idx;

    pthread_rwlock_wrlock(&tr->rwlock);
    cur = tr_find_neigh(t, n->ifindex, n->family, n->ip, &idx);
    if (is_new) {
        if (!cur) {
            cur = tr_vec_push(&t->neighs, sizeof *cur);
            if (!cur) {
                tr->resync = true;
            } else {
                *cur = *n;
                if (tr_neigh_usable(n)) {
                    tr->batch_changed = true;
                }
            }
        } else {
            if (tr_neigh_answer_differs(cur, n)) {
                tr->batch_changed = true;
            }
            *cur = *n;
        }
    } else if (cur) {
        if (tr_neigh_usable(cur)) {
            tr->batch_changed = true;
        }
        tr_vec_remove(&t->neighs, sizeof *cur, idx);
    }
    pthread_rwlock_unlock(&tr->rwlock);
}

/* Called by nl_msg_parse() for a notification's object. */
static void
tr_notify_obj(struct nl_object *obj, void *tr_)
{
    struct tnl_route *tr = tr_;
    const char *type = nl_object_get_type(obj);
    int mt = tr->msg_type;

    if (!type) {
        return;
    }
    if (!strcmp(type, "route/link")
        && (mt == RTM_NEWLINK || mt == RTM_DELLINK)) {
        struct tr_link l;

        if (tr_from_link((struct rtnl_link *) obj, &l)) {
            tr_apply_link(tr, mt == RTM_NEWLINK, &l);
        }
    } else if (!strcmp(type, "route/addr")
               && (mt == RTM_NEWADDR || mt == RTM_DELADDR)) {
        struct tr_addr a;

        if (tr_from_addr((struct rtnl_addr *) obj, &a)) {
            tr_apply_addr(tr, mt == RTM_NEWADDR, &a);
        }
    } else if (!strcmp(type, "route/route")
               && (mt == RTM_NEWROUTE || mt == RTM_DELROUTE)) {
        struct rtnl_route *r = (struct rtnl_route *) obj;

        if (rtnl_route_get_table(r) == RT_TABLE_MAIN) {
            tr->routes_dirty = true;
        }
    } else if (!strcmp(type, "route/neigh")
               && (mt == RTM_NEWNEIGH || mt == RTM_DELNEIGH)) {
        struct tr_neigh n;

        if (tr_from_neigh((struct rtnl_neigh *) obj, &n)) {
            tr_apply_neigh(tr, mt == RTM_NEWNEIGH, &n);
        }
    }
}

static int
tr_notify_msg(struct nl_msg *msg, void *tr_)
{
    struct tnl_route *tr = tr_;
    int err;

    tr->msg_type = nlmsg_hdr(msg)->nlmsg_type;
    err = nl_msg_parse(msg, tr_notify_obj, tr);
    if (err < 0 && err != -NLE_MSGTYPE_NOSUPPORT) {
        /* Cannot tell what changed: start over. */
        LOG_WARN_RL("route cache: cannot parse netlink message type %d "
                    "(%s), re-dumping", tr->msg_type, nl_geterror(err));
        tr->resync = true;
    }
    return NL_OK;
}

/* Dumps (main thread, 'sync' socket, into 'tr->dump.tables'). */

static void
tr_dump_obj(struct nl_object *obj, void *tr_)
{
    struct tnl_route *tr = tr_;
    struct tr_tables *t = tr->dump.tables;
    const char *type = nl_object_get_type(obj);
    void *slot = NULL;

    if (!type) {
        return;
    }
    if (!strcmp(type, "route/link")) {
        struct tr_link l;

        if (tr_from_link((struct rtnl_link *) obj, &l)) {
            slot = tr_vec_push(&t->links, sizeof l);
            if (slot) {
                memcpy(slot, &l, sizeof l);
            }
        } else {
            return;
        }
    } else if (!strcmp(type, "route/addr")) {
        struct tr_addr a;

        if (tr_from_addr((struct rtnl_addr *) obj, &a)) {
            slot = tr_vec_push(&t->addrs, sizeof a);
            if (slot) {
                memcpy(slot, &a, sizeof a);
            }
        } else {
            return;
        }
    } else if (!strcmp(type, "route/route")) {
        struct tr_route r;

        if (tr_from_route((struct rtnl_route *) obj, &r)) {
            slot = tr_vec_push(&t->routes, sizeof r);
            if (slot) {
                memcpy(slot, &r, sizeof r);
            }
        } else {
            return;
        }
    } else if (!strcmp(type, "route/neigh")) {
        struct tr_neigh n;

        if (tr_from_neigh((struct rtnl_neigh *) obj, &n)) {
            slot = tr_vec_push(&t->neighs, sizeof n);
            if (slot) {
                memcpy(slot, &n, sizeof n);
            }
        } else {
            return;
        }
    } else {
        return;
    }
    if (!slot && !tr->dump.error) {
        tr->dump.error = ENOMEM;
    }
}

static int
tr_dump_msg(struct nl_msg *msg, void *tr_)
{
    struct tnl_route *tr = tr_;
    int err = nl_msg_parse(msg, tr_dump_obj, tr);

    if (err < 0 && err != -NLE_MSGTYPE_NOSUPPORT && !tr->dump.error) {
        tr->dump.error = tr_nl_errno(err);
    }
    return NL_OK;
}

/* Dumps one kind of object (RTM_GETLINK, ...) into 't'.  Returns 0 or an
 * errno. */
static int
tr_dump_one(struct tnl_route *tr, int rtm_type, struct tr_tables *t,
            char *err, size_t errsize)
{
    int ret = 0;

    for (int try = 0; try < TR_DUMP_TRIES; try++) {
        /* Start over from an empty array for this kind. */
        switch (rtm_type) {
        case RTM_GETLINK:
            t->links.n = 0;
            break;
        case RTM_GETADDR:
            t->addrs.n = 0;
            break;
        case RTM_GETROUTE:
            t->routes.n = 0;
            break;
        default:
            t->neighs.n = 0;
            break;
        }
        tr->dump.tables = t;
        tr->dump.error = 0;
        ret = nl_rtgen_request(tr->sync, rtm_type, AF_UNSPEC, NLM_F_DUMP);
        if (ret >= 0) {
            ret = nl_recvmsgs_default(tr->sync);
        }
        tr->dump.tables = NULL;
        if (ret == -NLE_DUMP_INTR) {
            continue;               /* The tables changed meanwhile. */
        }
        if (ret < 0) {
            snprintf(err, errsize, "rtnetlink dump (type %d): %s",
                     rtm_type, nl_geterror(ret));
            return tr_nl_errno(ret);
        }
        if (tr->dump.error) {
            snprintf(err, errsize, "rtnetlink dump (type %d): %s",
                     rtm_type, strerror(tr->dump.error));
            return tr->dump.error;
        }
        return 0;
    }
    snprintf(err, errsize, "rtnetlink dump (type %d) interrupted %d times",
             rtm_type, TR_DUMP_TRIES);
    return EAGAIN;
}

/* Re-dumps the routes ('all': everything) and installs the result.
 * Returns 0 or an errno (the old tables stay). */
static int
tr_redump(struct tnl_route *tr, bool all, char *err, size_t errsize)
{
    static const int kinds[] = {RTM_GETLINK, RTM_GETADDR, RTM_GETNEIGH,
                                RTM_GETROUTE};
    struct tr_tables fresh;
    bool changed = false;
    int ret = 0;

    memset(&fresh, 0, sizeof fresh);
    for (size_t i = all ? 0 : 3; i < sizeof kinds / sizeof kinds[0]; i++) {
        ret = tr_dump_one(tr, kinds[i], &fresh, err, errsize);
        if (ret) {
            tr_tables_free(&fresh);
            return ret;
        }
    }

    pthread_rwlock_wrlock(&tr->rwlock);
    if (!tr_vec_equal(&fresh.routes, &tr->tables.routes,
                      sizeof(struct tr_route))) {
        changed = true;
    }
    if (all
        && (!tr_vec_equal(&fresh.links, &tr->tables.links,
                          sizeof(struct tr_link))
            || !tr_vec_equal(&fresh.addrs, &tr->tables.addrs,
                             sizeof(struct tr_addr))
            || !tr_vec_equal(&fresh.neighs, &tr->tables.neighs,
                             sizeof(struct tr_neigh)))) {
        changed = true;
    }
    if (all) {
        struct tr_tables old = tr->tables;

        tr->tables = fresh;
        pthread_rwlock_unlock(&tr->rwlock);
        tr_tables_free(&old);
    } else {
        struct tr_vec old = tr->tables.routes;

        tr->tables.routes = fresh.routes;
        pthread_rwlock_unlock(&tr->rwlock);
        tr_vec_free(&old);
    }
    if (changed) {
        tr->batch_changed = true;
    }
    return 0;
}

/* Ends a batch of notifications: re-dumps what needs it, then bumps the
 * generation and reports a change if there was one. */
static void
tr_settle(struct tnl_route *tr)
{
    char err[256];

    if (tr->resync || tr->routes_dirty) {
        bool all = tr->resync;

        if (tr_redump(tr, all, err, sizeof err)) {
            struct timeval tv = {.tv_sec = 1};

            /* Try again in a second, or at the next notification. */
            LOG_WARN_RL("route cache: re-dump failed: %s", err);
            event_add(tr->retry_ev, &tv);
        } else {
            if (all) {
                tr->resync = false;
            }
            tr->routes_dirty = false;
        }
    }
    if (tr->batch_changed) {
        tr->batch_changed = false;
        __atomic_add_fetch(&tr->generation, 1, __ATOMIC_RELEASE);
        if (tr->changed) {
            tr->changed(tr->aux);
        }
    }
}

static void
tr_retry_cb(evutil_socket_t fd, short what, void *tr_)
{
    tr_settle(tr_);
}

static void
tr_mon_cb(evutil_socket_t fd, short what, void *tr_)
{
    struct tnl_route *tr = tr_;

    for (int i = 0; i < TR_BATCH; i++) {
        int ret = nl_recvmsgs_default(tr->mon);

        if (ret == -NLE_AGAIN) {
            break;
        }
        if (ret == -NLE_NOMEM) {
            /* ENOBUFS: the kernel dropped notifications. */
            LOG_INFO_RL("route cache: lost netlink notifications, "
                        "re-dumping");
            tr->resync = true;
        } else if (ret < 0) {
            LOG_WARN_RL("route cache: netlink receive: %s",
                        nl_geterror(ret));
            tr->resync = true;
            break;
        }
    }
    tr_settle(tr);
}

/* Resolution requests. */

/* Asks the kernel to resolve 'r' as if it had a packet for it.  NTF_USE
 * makes neigh_add() call neigh_event_send() instead of updating the entry,
 * which starts (from none or FAILED: INCOMPLETE, broadcast probes) or
 * re-verifies (from STALE: DELAY, then unicast probes) the ARP or ND state
 * machine.  Without NLM_F_CREATE a missing entry fails with ENOENT;
 * NLM_F_REPLACE makes no difference.  No link-layer address and state
 * NUD_NONE: a created entry is an ordinary, garbage-collectable one (not
 * PERMANENT, which would exempt it from garbage collection). */
static void
tr_send_resolve(struct tnl_route *tr, const struct tr_req *r)
{
    struct ndmsg ndm;
    struct nl_msg *msg;
    char buf[INET6_ADDRSTRLEN];
    int ret;

    memset(&ndm, 0, sizeof ndm);
    ndm.ndm_family = r->family;
    ndm.ndm_ifindex = r->ifindex;
    ndm.ndm_state = NUD_NONE;
    ndm.ndm_flags = NTF_USE;

    msg = nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE);
    if (!msg) {
        return;
    }
    if (nlmsg_append(msg, &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0
        || nla_put(msg, NDA_DST, (int) tr_addr_len(r->family == AF_INET6),
                   r->ip) < 0) {
        nlmsg_free(msg);
        return;
    }
    LOG_DBG("route cache: resolving %s on ifindex %d",
            tr_ip_str(r->family, r->ip, buf, sizeof buf), r->ifindex);
    ret = nl_send_sync(tr->sync, msg);          /* Frees 'msg'. */
    if (ret < 0) {
        LOG_WARN_RL("route cache: cannot resolve %s on ifindex %d: %s",
                    tr_ip_str(r->family, r->ip, buf, sizeof buf),
                    r->ifindex, nl_geterror(ret));
    }
}

static void
tr_wake_cb(evutil_socket_t fd, short what, void *tr_)
{
    struct tnl_route *tr = tr_;
    struct tr_req todo[TR_REQ_MAX];
    size_t n = 0;

    pthread_mutex_lock(&tr->req_mutex);
    for (size_t i = 0; i < TR_REQ_MAX; i++) {
        if (tr->reqs[i].pending) {
            tr->reqs[i].pending = false;
            todo[n++] = tr->reqs[i];
        }
    }
    tr->wake_pending = false;
    pthread_mutex_unlock(&tr->req_mutex);

    for (size_t i = 0; i < n; i++) {
        tr_send_resolve(tr, &todo[i]);
    }
}

/* Queues a resolution request for 'ip' (any thread, no lock held). */
static void
tr_request(struct tnl_route *tr, int ifindex, int family, const uint8_t *ip)
{
    size_t len = tr_addr_len(family == AF_INET6);
    long long now = tr_now_ms();
    struct tr_req *slot = NULL, *free_slot = NULL;
    bool wake = false, full = false;

    pthread_mutex_lock(&tr->req_mutex);
    for (size_t i = 0; i < TR_REQ_MAX; i++) {
        struct tr_req *r = &tr->reqs[i];

        if (r->last_ms && r->family == family && r->ifindex == ifindex
            && !memcmp(r->ip, ip, len)) {
            slot = r;
            break;
        }
        if (!free_slot
            && (!r->last_ms
                || (!r->pending
                    && now - r->last_ms >= TR_REQ_INTERVAL_MS))) {
            free_slot = r;
        }
    }
    if (slot) {
        if (now - slot->last_ms < TR_REQ_INTERVAL_MS) {
            slot = NULL;                /* Asked recently enough. */
        }
    } else if (free_slot) {
        slot = free_slot;
        memset(slot, 0, sizeof *slot);
        slot->ifindex = ifindex;
        slot->family = (uint8_t) family;
        memcpy(slot->ip, ip, len);
    } else {
        full = true;
    }
    if (slot) {
        slot->last_ms = now ? now : 1;
        slot->pending = true;
        if (!tr->wake_pending) {
            tr->wake_pending = true;
            wake = true;
        }
    }
    pthread_mutex_unlock(&tr->req_mutex);

    if (wake) {
        event_active(tr->wake_ev, 0, 0);
    } else if (full) {
        LOG_WARN_RL("route cache: too many addresses being resolved");
    }
}

/* Creation and destruction. */

static struct nl_sock *
tr_socket(char *err, size_t errsize, int *errnum)
{
    struct nl_sock *sk = nl_socket_alloc();
    int ret;

    if (!sk) {
        snprintf(err, errsize, "cannot allocate netlink socket");
        *errnum = ENOMEM;
        return NULL;
    }
    ret = nl_connect(sk, NETLINK_ROUTE);
    if (ret < 0) {
        snprintf(err, errsize, "netlink connect: %s", nl_geterror(ret));
        *errnum = tr_nl_errno(ret);
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

int
tnl_route_create(struct event_base *base, void (*changed)(void *aux),
                 void *aux, struct tnl_route **out, char *err,
                 size_t errsize)
{
    struct tnl_route *tr;
    int ret = 0, fd, rcvbuf = TR_RCVBUF;

    *out = NULL;
    tr = calloc(1, sizeof *tr);
    if (!tr) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    tr->base = base;
    tr->changed = changed;
    tr->aux = aux;
    pthread_rwlock_init(&tr->rwlock, NULL);
    pthread_mutex_init(&tr->req_mutex, NULL);

    /* Subscribe first, then dump: nothing falls in between. */
    tr->mon = tr_socket(err, errsize, &ret);
    if (!tr->mon) {
        goto error;
    }
    nl_socket_disable_seq_check(tr->mon);
    nl_socket_modify_cb(tr->mon, NL_CB_VALID, NL_CB_CUSTOM, tr_notify_msg,
                        tr);
    ret = nl_socket_add_memberships(tr->mon, RTNLGRP_LINK,
                                    RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                    RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
                                    RTNLGRP_NEIGH, 0);
    if (ret < 0) {
        snprintf(err, errsize, "netlink subscribe: %s", nl_geterror(ret));
        ret = tr_nl_errno(ret);
        goto error;
    }
    ret = nl_socket_set_nonblocking(tr->mon);
    if (ret < 0) {
        snprintf(err, errsize, "netlink non-blocking: %s", nl_geterror(ret));
        ret = tr_nl_errno(ret);
        goto error;
    }
    /* A large buffer makes ENOBUFS (and its re-dump) rare: beyond
     * rmem_max if we may (CAP_NET_ADMIN), else as much as allowed. */
    fd = nl_socket_get_fd(tr->mon);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf)) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }

    tr->sync = tr_socket(err, errsize, &ret);
    if (!tr->sync) {
        goto error;
    }
    nl_socket_modify_cb(tr->sync, NL_CB_VALID, NL_CB_CUSTOM, tr_dump_msg, tr);

    ret = tr_redump(tr, true, err, errsize);
    if (ret) {
        goto error;
    }
    tr->batch_changed = false;

    tr->mon_ev = event_new(base, fd, EV_READ | EV_PERSIST, tr_mon_cb, tr);
    tr->wake_ev = event_new(base, -1, 0, tr_wake_cb, tr);
    tr->retry_ev = evtimer_new(base, tr_retry_cb, tr);
    if (!tr->mon_ev || !tr->wake_ev || !tr->retry_ev
        || event_add(tr->mon_ev, NULL)) {
        snprintf(err, errsize, "cannot create events");
        ret = ENOMEM;
        goto error;
    }
    *out = tr;
    return 0;

error:
    tnl_route_destroy(tr);
    return ret ? ret : EIO;
}

void
tnl_route_destroy(struct tnl_route *tr)
{
    if (!tr) {
        return;
    }
    if (tr->mon_ev) {
        event_free(tr->mon_ev);
    }
    if (tr->wake_ev) {
        event_free(tr->wake_ev);
    }
    if (tr->retry_ev) {
        event_free(tr->retry_ev);
    }
    if (tr->mon) {
        nl_socket_free(tr->mon);
    }
    if (tr->sync) {
        nl_socket_free(tr->sync);
    }
    tr_tables_free(&tr->tables);
    pthread_rwlock_destroy(&tr->rwlock);
    pthread_mutex_destroy(&tr->req_mutex);
    free(tr);
}

uint64_t
tnl_route_generation(const struct tnl_route *tr)
{
    return __atomic_load_n(&tr->generation, __ATOMIC_ACQUIRE);
}

/* Lookups (any thread). */

int
tnl_route_lookup(struct tnl_route *tr, bool is_ipv6, const uint8_t *dst,
                 struct tnl_nexthop *nh)
{
    int family = is_ipv6 ? AF_INET6 : AF_INET;
    size_t len = tr_addr_len(is_ipv6);
    uint8_t dst16[16] = {0};
    const struct tr_route *r;
    const struct tr_link *l;
    int ret = 0;

    memcpy(dst16, dst, len);
    memset(nh, 0, sizeof *nh);

    pthread_rwlock_rdlock(&tr->rwlock);
    r = tr_find_route(&tr->tables, family, dst16);
    if (!r || r->type != RTN_UNICAST) {
        ret = ENETUNREACH;
        goto out;
    }
    nh->ifindex = r->ifindex;
    nh->is_ipv6 = is_ipv6;
    memcpy(nh->gw, r->has_gw ? r->gw : dst16, len);
    l = tr_find_link(&tr->tables, r->ifindex, NULL);
    if (l) {
        memcpy(nh->ifname, l->name, sizeof nh->ifname);
    }
    if (r->has_prefsrc) {
        memcpy(nh->src, r->prefsrc, len);
    } else {
        const struct tr_addr *a = tr_select_src(&tr->tables, family,
                                                r->ifindex, dst16);

        if (!a) {
            ret = EADDRNOTAVAIL;
            goto out;
        }
        memcpy(nh->src, a->addr, len);
    }

out:
    pthread_rwlock_unlock(&tr->rwlock);
    return ret;
}

int
tnl_neigh_lookup(struct tnl_route *tr, int ifindex, bool is_ipv6,
                 const uint8_t *ip, uint8_t mac[6])
{
    int family = is_ipv6 ? AF_INET6 : AF_INET;
    const struct tr_neigh *n;
    bool found = false, refresh = false;

    pthread_rwlock_rdlock(&tr->rwlock);
    n = tr_find_neigh(&tr->tables, ifindex, family, ip, NULL);
    if (n && tr_neigh_usable(n)) {
        memcpy(mac, n->mac, 6);
        found = true;
        /* The kernel re-verifies a STALE entry only when it is used; our
         * packets bypass it, so say we use it. */
        refresh = n->state == NUD_STALE;
    }
    pthread_rwlock_unlock(&tr->rwlock);

    if (!found || refresh) {
        tr_request(tr, ifindex, family, ip);
    }
    return found ? 0 : ENOENT;
}

bool
tnl_route_is_local(struct tnl_route *tr, int ifindex, bool is_ipv6,
                   const uint8_t *ip)
{
    int family = is_ipv6 ? AF_INET6 : AF_INET;
    size_t len = tr_addr_len(is_ipv6);
    bool found = false;

    pthread_rwlock_rdlock(&tr->rwlock);
    for (size_t i = 0; i < tr->tables.addrs.n; i++) {
        const struct tr_addr *a = &TR_ADDRS(&tr->tables)[i];

        if (a->family == family && (!ifindex || a->ifindex == ifindex)
            && !memcmp(a->addr, ip, len)) {
            found = true;
            break;
        }
    }
    pthread_rwlock_unlock(&tr->rwlock);
    return found;
}

int
tnl_route_ifindex(struct tnl_route *tr, const char *name)
{
    int ifindex = 0;

    pthread_rwlock_rdlock(&tr->rwlock);
    for (size_t i = 0; i < tr->tables.links.n; i++) {
        const struct tr_link *l = &TR_LINKS(&tr->tables)[i];

        if (!strncmp(l->name, name, sizeof l->name)) {
            ifindex = l->ifindex;
            break;
        }
    }
    pthread_rwlock_unlock(&tr->rwlock);
    return ifindex;
}

/* Dumps. */

#define TR_LINE 256

static const char *
tr_route_type_name(uint8_t type)
{
    switch (type) {
    case RTN_BLACKHOLE:
        return "blackhole ";
    case RTN_UNREACHABLE:
        return "unreachable ";
    case RTN_PROHIBIT:
        return "prohibit ";
    case RTN_THROW:
        return "throw ";
    default:
        return "";
    }
}

static const char *
tr_nud_name(uint16_t state)
{
    static const struct {
        uint16_t state;
        const char *name;
    } names[] = {
        {NUD_INCOMPLETE, "INCOMPLETE"}, {NUD_REACHABLE, "REACHABLE"},
        {NUD_STALE, "STALE"},           {NUD_DELAY, "DELAY"},
        {NUD_PROBE, "PROBE"},           {NUD_FAILED, "FAILED"},
        {NUD_NOARP, "NOARP"},           {NUD_PERMANENT, "PERMANENT"},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (state & names[i].state) {
            return names[i].name;
        }
    }
    return "NONE";
}

static void
tr_format_route(const struct tr_tables *t, const struct tr_route *r,
                char *line)
{
    int family = r->family;
    char dst[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN];
    const struct tr_link *l = tr_find_link(t, r->ifindex, NULL);
    const struct tr_addr *a;
    size_t n;

    n = (size_t) snprintf(line, TR_LINE, "%s%s/%u",
                          tr_route_type_name(r->type),
                          tr_ip_str(family, r->dst, dst, sizeof dst),
                          r->dst_len);
    if (r->type == RTN_UNICAST) {
        if (r->has_gw && n < TR_LINE) {
            n += (size_t) snprintf(line + n, TR_LINE - n, " via %s",
                                   tr_ip_str(family, r->gw, buf, sizeof buf));
        }
        if (n < TR_LINE) {
            if (l) {
                n += (size_t) snprintf(line + n, TR_LINE - n, " dev %s",
                                       l->name);
            } else {
                n += (size_t) snprintf(line + n, TR_LINE - n,
                                       " dev if%d", r->ifindex);
            }
        }
        /* The source a lookup would give. */
        a = r->has_prefsrc ? NULL
                           : tr_select_src(t, family, r->ifindex, r->dst);
        if (n < TR_LINE && (r->has_prefsrc || a)) {
            n += (size_t) snprintf(line + n, TR_LINE - n, " src %s",
                                   tr_ip_str(family,
                                             a ? a->addr : r->prefsrc,
                                             buf, sizeof buf));
        }
    }
    if (r->priority && n < TR_LINE) {
        snprintf(line + n, TR_LINE - n, " metric %u",
                 (unsigned) r->priority);
    }
}

static void
tr_format_neigh(const struct tr_tables *t, const struct tr_neigh *ne,
                char *line)
{
    char ip[INET6_ADDRSTRLEN];
    const struct tr_link *l = tr_find_link(t, ne->ifindex, NULL);
    char dev[IF_NAMESIZE + 8];
    char ll[32] = "";

    if (l) {
        snprintf(dev, sizeof dev, "%s", l->name);
    } else {
        snprintf(dev, sizeof dev, "if%d", ne->ifindex);
    }
    if (ne->has_mac) {
        snprintf(ll, sizeof ll, " lladdr %02x:%02x:%02x:%02x:%02x:%02x",
                 ne->mac[0], ne->mac[1], ne->mac[2], ne->mac[3], ne->mac[4],
                 ne->mac[5]);
    }
    snprintf(line, TR_LINE, "%s dev %s%s %s",
             tr_ip_str(ne->family, ne->ip, ip, sizeof ip), dev, ll,
             tr_nud_name(ne->state));
}

void
tnl_route_dump(struct tnl_route *tr, bool neighbours,
               void (*cb)(const char *line, void *aux), void *aux)
{
    const struct tr_tables *t = &tr->tables;
    char *lines;
    size_t n;

    /* Format under the lock, call back without it ('cb' may look up). */
    pthread_rwlock_rdlock(&tr->rwlock);
    n = neighbours ? t->neighs.n : t->routes.n;
    lines = n ? malloc(n * TR_LINE) : NULL;
    if (n && !lines) {
        pthread_rwlock_unlock(&tr->rwlock);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (neighbours) {
            tr_format_neigh(t, &TR_NEIGHS(t)[i], lines + i * TR_LINE);
        } else {
            tr_format_route(t, &TR_ROUTES(t)[i], lines + i * TR_LINE);
        }
    }
    pthread_rwlock_unlock(&tr->rwlock);

    for (size_t i = 0; i < n; i++) {
        cb(lines + i * TR_LINE, aux);
    }
    free(lines);
}
