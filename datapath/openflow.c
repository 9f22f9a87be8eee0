/* SPDX-License-Identifier: BSD-3-Clause */
/* openflow.c: the bridges as OpenFlow 1.3 switches (see openflow.h). */
#include "openflow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "bridge.h"
#include "config.h"
#include "ctl.h"
#include "ctl-handlers.h"
#include "dp.h"
#include "log.h"
#include "ofp-msg.h"
#include "ofproto.h"
#include "port.h"
#include "tnl.h"

LOG_MODULE(openflow);

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define MSGS_PER_TURN 256               /* Then the loop polls again. */
#define OUT_HIGH_WATER (4u << 20)       /* Stop producing above this. */
#define WRITE_TIMEOUT_S 30              /* Unread output this long: drop. */
#define BACKOFF_MIN_MS 1000
#define BATCH_MAX 4096                  /* Flow mods applied together. */
#define BUNDLES_MAX 16                  /* Open bundles per connection. */
#define BUNDLE_BYTES_MAX (64u << 20)    /* Bundled flow mods' bytes, per
                                         * connection. */
#define BUNDLE_IDLE_MS 10000            /* Untouched this long: discarded. */
#define PORT_POLL_MS 1000               /* Link changes -> PORT_STATUS. */
#define SAVE_DELAY_MS 200               /* Flow mods saved this much later
                                         * (coalesced). */

struct ofb;
struct of_remote;

/* A flow mod waiting in the current batch. */
struct pend_fm {
    struct ofm_flow_mod fm;
    uint32_t xid;
    uint8_t head[64];           /* The request's first bytes, for ERROR. */
    size_t head_len;
};

/* A bundle (ONF extension 230): flow mods added to it, applied together
 * at its commit. */
struct of_bundle {
    uint32_t id;
    uint16_t flags;             /* OFPBF_*, as opened. */
    bool closed;
    long long used_ms;          /* Opened, or last added to or closed. */
    struct ofbuf raw;           /* Its flow mods as they came, one after */
    size_t n;                   /* another. */
};

struct of_conn {
    struct of_conn *next, *prev;
    struct ofb *ob;
    struct of_remote *remote;   /* NULL: accepted by a listener. */
    struct bufferevent *bev;
    char peer[128];
    bool hello_rx;
    bool closing;               /* Close once the output is flushed. */
    uint8_t role;               /* OFPCR_ROLE_* */
    uint16_t config_flags, miss_send_len;
    uint32_t async[6];          /* packet_in, port_status, flow_removed:
                                 * [master/equal, slave] each */
    long long last_rx_ms;
    bool probe_sent;
    struct event *turn;         /* The next turn of input handling. */
    struct ofbuf out;

    struct pend_fm *batch;
    size_t n_batch;

    struct of_bundle bundles[BUNDLES_MAX];
    size_t n_bundles;

    /* A flow stats reply being streamed. */
    struct ofproto_rule **rules;
    size_t n_rules, next_rule;
    struct ofm_mp mp;
    struct ofbuf dump;          /* Its messages not yet written. */
    bool dumping;

    uint64_t rx_msgs, tx_msgs;
};

struct of_listener {
    struct ofb *ob;
    struct evconnlistener *l;
    char *target;
    char *unix_path;            /* Removed at exit. */
};

struct of_remote {
    struct ofb *ob;
    char *target;
    struct cfg_of_target t;
    struct of_conn *conn;
    struct event *retry;
    unsigned backoff_ms;
};


struct ofb {
    struct ofsw *ofsw;
    char *name;
    uint64_t dpid;
    uint32_t probe_ms, max_backoff_ms;
    struct of_listener *ls;
    size_t n_ls;
    struct of_remote *rs;
    size_t n_rs;
    struct of_conn *conns;
    uint64_t generation_id;
    bool generation_set;
    struct ofm_port *ports;     /* As last told to the controllers. */
    size_t n_ports;
    bool standalone;            /* fail_mode standalone */
    bool fail_open;             /* NORMAL while no controller is there */
    long long alone_since;      /* No controller connected since (ms); 0:
                                 * one is */
};

struct ofsw {
    struct event_base *base;
    struct sw *sw;
    struct ofb *bridges;
    size_t n_bridges;
    struct event *timer;
    struct event *save;         /* Saves the flow mods' changes. */
    struct event *pktin;        /* The datapath's packet-in eventfd. */
    struct event *pktin_more;   /* The next turn of a long drain. */
    uint64_t pktin_sent, pktin_dropped;
};

static void conn_close(struct of_conn *c, const char *why);
static void change_begin(struct ofsw *);
static void change_end(struct ofsw *);
static void conn_schedule(struct of_conn *c);
static void remote_connect(struct of_remote *r);
static void fail_check(struct ofb *ob);

static struct bridge *
ofb_bridge(const struct ofb *ob)
{
    return sw_find_bridge(ob->ofsw->sw, ob->name);
}

/* ---- Output. ---- */

static void
conn_send(struct of_conn *c, struct ofbuf *b)
{
    if (b->oom) {
        LOG_ERR("%s %s: a reply could not be built (out of memory or too "
                "long): dropping the connection", c->ob->name, c->peer);
        ofbuf_clear(b);
        c->closing = true;
        return;
    }
    if (b->len) {
        if (bufferevent_write(c->bev, b->data, b->len)) {
            c->closing = true;
        }
        c->tx_msgs++;
    }
    ofbuf_clear(b);
}

static void
send_error(struct of_conn *c, uint32_t xid, ofperr e, const uint8_t *req,
           size_t req_len, const char *why)
{
    LOG_INFO_RL("%s %s: error type %u code %u: %s", c->ob->name, c->peer,
                ofperr_type(e), ofperr_code(e), why && why[0] ? why : "");
    ofm_error(&c->out, xid, e, req, req_len);
    conn_send(c, &c->out);
}

static size_t
out_pending(const struct of_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* ---- Roles. ---- */

static bool
is_slave(const struct of_conn *c)
{
    return c->role == OFPCR_ROLE_SLAVE;
}

static void
async_defaults(struct of_conn *c)
{
    /* OpenFlow 1.3.1 table 8 (7.3.10): master/equal get every packet-in
     * and flow-removed, everyone gets port status. */
    c->async[0] = 0x7;          /* packet_in, master/equal */
    c->async[1] = 0;            /* packet_in, slave */
    c->async[2] = 0x7;          /* port_status */
    c->async[3] = 0x7;
    c->async[4] = 0xf;          /* flow_removed */
    c->async[5] = 0;
}

/* ---- Flow mods. ---- */

static ofperr
errno_to_ofperr(int ret)
{
    switch (ret) {
    case ENOMEM:
    case ENOSPC:
    case EFBIG:
        return ofperr_make(OFPET_FLOW_MOD_FAILED, OFPFMFC_TABLE_FULL);
    case EPERM:
        return ofperr_make(OFPET_FLOW_MOD_FAILED, OFPFMFC_EPERM);
    case ENOENT:                /* Uses a group that does not exist. */
        return ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_OUT_GROUP);
    case ENXIO:                 /* Uses a meter that does not exist. */
        return ofperr_make(OFPET_METER_MOD_FAILED, OFPMMFC_INVALID_METER);
    case ENOKEY:                /* A tun_metadata no option maps to. */
        return ofperr_nx(NXFMFC_INVALID_TLV_FIELD);
    case ERANGE:                /* A value longer than its option. */
        return ofperr_make(OFPET_BAD_MATCH, OFPBMC_BAD_VALUE);
    case EOVERFLOW:             /* A set_field of one. */
        return ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_SET_ARGUMENT);
    default:
        return ofperr_make(OFPET_BAD_ACTION, OFPBAC_BAD_ARGUMENT);
    }
}

/* sw_flow_mods(), with the state saved a little later: a controller (or
 * ovs-ofctl, which sends a barrier after each flow mod) may send flows
 * one at a time, and saving the whole state after each would make a
 * burst quadratic.  Open vSwitch saves none of them. */
static int
ofsw_flow_mods(struct ofsw *ofsw, struct bridge *br,
               const struct of_flow_spec *specs, const enum of_flow_cmd *cmds,
               size_t n, size_t *count, char *err, size_t errsize)
{
    int ret;

    change_begin(ofsw);
    ret = sw_flow_mods(ofsw->sw, br, specs, cmds, n, count, err, errsize);
    change_end(ofsw);
    return ret;
}

/* Brackets a change made over OpenFlow: its saving is deferred (bridge.h
 * sw_defer_changes()) and done SAVE_DELAY_MS later, coalesced. */
static void
change_begin(struct ofsw *ofsw)
{
    sw_defer_changes(ofsw->sw, true);
}

static void
change_end(struct ofsw *ofsw)
{
    sw_defer_changes(ofsw->sw, false);
    if (sw_change_pending(ofsw->sw) && !evtimer_pending(ofsw->save, NULL)) {
        struct timeval tv = { 0, SAVE_DELAY_MS * 1000 };

        evtimer_add(ofsw->save, &tv);
    }
}

static void
save_cb(evutil_socket_t fd, short what, void *ofsw_)
{
    struct ofsw *ofsw = ofsw_;

    (void) fd;
    (void) what;
    sw_flush_changes(ofsw->sw);
}

/* True if a packet could match both (pre-masked) matches. */
static bool
matches_overlap(const struct of_match *a, const struct of_match *b)
{
    const uint64_t *fa = (const uint64_t *) &a->flow;
    const uint64_t *fb = (const uint64_t *) &b->flow;
    const uint64_t *wa = (const uint64_t *) &a->wc;
    const uint64_t *wb = (const uint64_t *) &b->wc;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((fa[i] ^ fb[i]) & wa[i] & wb[i]) {
            return false;
        }
    }
    return true;
}

struct overlap_ctx {
    const struct of_flow_spec *spec;
    bool found;
};

static void
overlap_cb(const struct ofproto_rule_info *r, void *ctx_)
{
    struct overlap_ctx *ctx = ctx_;

    if (r->priority == ctx->spec->priority
        && !of_match_equal(r->match, &ctx->spec->match)
        && matches_overlap(r->match, &ctx->spec->match)) {
        ctx->found = true;
    }
}

static bool
has_overlap(struct bridge *br, const struct of_flow_spec *spec)
{
    struct of_flow_spec filter;
    struct overlap_ctx ctx = { spec, false };

    memset(&filter, 0, sizeof filter);
    of_match_init_catchall(&filter.match);
    filter.table_id = spec->table_id;
    filter.table_set = true;
    filter.out_port = OFPP_NONE;
    ofproto_dump(bridge_ofproto(br), &filter, overlap_cb, &ctx);
    return ctx.found;
}

static void
batch_free(struct of_conn *c)
{
    for (size_t i = 0; i < c->n_batch; i++) {
        of_flow_spec_uninit(&c->batch[i].fm.spec);
    }
    c->n_batch = 0;
}

/* Applies one pending flow mod; sends its ERROR if refused. */
static void
apply_one(struct of_conn *c, struct bridge *br, struct pend_fm *p)
{
    enum of_flow_cmd cmd = p->fm.cmd;
    char err[256] = "";
    size_t count = 0;
    int ret;

    if (cmd == OFFC_ADD && (p->fm.flags & OFPFF_CHECK_OVERLAP)
        && has_overlap(br, &p->fm.spec)) {
        send_error(c, p->xid, ofperr_make(OFPET_FLOW_MOD_FAILED,
                                          OFPFMFC_OVERLAP),
                   p->head, p->head_len, "overlapping flow");
        return;
    }
    ret = ofsw_flow_mods(c->ob->ofsw, br, &p->fm.spec, &cmd, 1, &count,
                         err, sizeof err);
    if (ret) {
        send_error(c, p->xid, errno_to_ofperr(ret), p->head, p->head_len,
                   err);
    }
}

static void
batch_flush(struct of_conn *c)
{
    struct bridge *br;
    bool simple = true;

    if (!c->n_batch) {
        return;
    }
    br = ofb_bridge(c->ob);
    if (!br) {
        batch_free(c);
        return;
    }
    for (size_t i = 0; i < c->n_batch; i++) {
        if (c->batch[i].fm.flags & OFPFF_CHECK_OVERLAP) {
            simple = false;
        }
    }
    if (simple && c->n_batch > 1) {
        struct of_flow_spec *specs = malloc(c->n_batch * sizeof *specs);
        enum of_flow_cmd *cmds = malloc(c->n_batch * sizeof *cmds);
        char err[256];
        size_t count = 0;
        int ret = ENOMEM;

        if (specs && cmds) {
            for (size_t i = 0; i < c->n_batch; i++) {
                specs[i] = c->batch[i].fm.spec;
                cmds[i] = c->batch[i].fm.cmd;
            }
            ret = ofsw_flow_mods(c->ob->ofsw, br, specs, cmds, c->n_batch,
                                 &count, err, sizeof err);
        }
        free(specs);
        free(cmds);
        if (!ret) {
            batch_free(c);
            return;
        }
        /* Refused as a whole: one at a time, each its own answer. */
    }
    for (size_t i = 0; i < c->n_batch; i++) {
        apply_one(c, br, &c->batch[i]);
    }
    batch_free(c);
}

/* Decodes the FLOW_MOD 'msg' into 'p' (with its xid and head, for an
 * ERROR later); a flow mod that names a buffer is refused, as the switch
 * buffers no packets.  On error nothing needs freeing. */
static ofperr
pend_fm_decode(struct pend_fm *p, const uint8_t *msg, size_t len,
               uint32_t xid, char *err, size_t errsize)
{
    ofperr e = ofm_flow_mod_decode(msg, len, &p->fm, err, errsize);

    if (!e && p->fm.buffer_id != OFP_NO_BUFFER) {
        of_flow_spec_uninit(&p->fm.spec);
        e = ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BUFFER_UNKNOWN);
        snprintf(err, errsize, "buffer_id %u: the switch buffers no "
                 "packets", p->fm.buffer_id);
    }
    p->xid = xid;
    p->head_len = len < sizeof p->head ? len : sizeof p->head;
    memcpy(p->head, msg, p->head_len);
    return e;
}

static void
handle_flow_mod(struct of_conn *c, const uint8_t *msg, size_t len,
                uint32_t xid)
{
    struct pend_fm *p;
    char err[256] = "";
    ofperr e;

    if (c->n_batch == BATCH_MAX) {
        batch_flush(c);
    }
    p = &c->batch[c->n_batch];
    e = pend_fm_decode(p, msg, len, xid, err, sizeof err);
    if (e) {
        /* Flow mods before it take effect first, in order. */
        batch_flush(c);
        send_error(c, xid, e, msg, len, err);
        return;
    }
    c->n_batch++;
}

/* ---- Bundles (ONF extension 230: OpenFlow 1.4's bundles in 1.3). ---- */

static struct of_bundle *
bundle_find(struct of_conn *c, uint32_t id)
{
    for (size_t i = 0; i < c->n_bundles; i++) {
        if (c->bundles[i].id == id) {
            return &c->bundles[i];
        }
    }
    return NULL;
}

static struct of_bundle *
bundle_open(struct of_conn *c, uint32_t id, uint16_t flags)
{
    struct of_bundle *bd;

    if (c->n_bundles == BUNDLES_MAX) {
        return NULL;
    }
    bd = &c->bundles[c->n_bundles++];
    memset(bd, 0, sizeof *bd);
    bd->id = id;
    bd->flags = flags;
    bd->used_ms = dp_time_ms();
    ofbuf_init(&bd->raw);
    return bd;
}

/* The bytes of flow mods the bundles of 'c' hold. */
static size_t
bundles_bytes(const struct of_conn *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n_bundles; i++) {
        n += c->bundles[i].raw.len;
    }
    return n;
}

/* Frees 'bd' (whose flow mods are not applied) and closes the gap. */
static void
bundle_remove(struct of_conn *c, struct of_bundle *bd)
{
    ofbuf_uninit(&bd->raw);
    *bd = c->bundles[--c->n_bundles];
}

/* Answers 'msg' with 'e' and discards 'bd' (if any), as OpenFlow 1.4 has
 * it for a request a bundle refuses. */
static void
bundle_fail(struct of_conn *c, struct of_bundle *bd, uint32_t xid, ofperr e,
            const uint8_t *msg, size_t len, const char *why)
{
    send_error(c, xid, e, msg, len, why);
    if (bd) {
        bundle_remove(c, bd);
    }
}

/* A message added to a bundle: a flow mod is checked (decoded) and kept as
 * it came, to be decoded again at the commit, so that an open bundle
 * costs its bytes on the wire (BUNDLE_BYTES_MAX per connection), not
 * decoded rules.  Anything else is refused (MSG_UNSUP), as is a flow mod
 * that does not decode (its own error); a refused message leaves an open
 * bundle as it was and opens none.  A bundle that is not open is opened
 * with the add's flags, as OpenFlow 1.4 allows.  A bundle that refuses
 * the add itself (closed, other flags) is discarded. */
static void
bundle_add(struct of_conn *c, const struct ofm_bundle *bm,
           const uint8_t *msg, size_t len, uint32_t xid)
{
    struct of_bundle *bd = bundle_find(c, bm->bundle_id);
    char err[256] = "";
    struct pend_fm p;
    ofperr e;

    if (bm->flags & ~(OFPBF_ATOMIC | OFPBF_ORDERED)) {
        bundle_fail(c, bd, xid, ofperr_bundle(OFPBFC_BAD_FLAGS), msg, len,
                    "unknown bundle flags");
        return;
    }
    if (bd && bd->closed) {
        bundle_fail(c, bd, xid, ofperr_bundle(OFPBFC_BUNDLE_CLOSED), msg,
                    len, "the bundle is closed");
        return;
    }
    if (bd && bd->flags != bm->flags) {
        bundle_fail(c, bd, xid, ofperr_bundle(OFPBFC_BAD_FLAGS), msg, len,
                    "flags differ from the bundle's");
        return;
    }
    if (bm->msg[1] != OFPT_FLOW_MOD) {
        send_error(c, xid, ofperr_bundle(OFPBFC_MSG_UNSUP), msg, len,
                   "only flow mods go in a bundle");
        return;
    }
    e = pend_fm_decode(&p, bm->msg, bm->msg_len, xid, err, sizeof err);
    if (e) {
        /* The flow mod's own error, as for one sent alone. */
        send_error(c, xid, e, bm->msg, bm->msg_len, err);
        return;
    }
    of_flow_spec_uninit(&p.fm.spec);
    if (bundles_bytes(c) + bm->msg_len > BUNDLE_BYTES_MAX) {
        send_error(c, xid, ofperr_bundle(OFPBFC_MSG_TOO_MANY), msg, len,
                   "the connection's bundles are full");
        return;
    }
    if (!bd) {
        bd = bundle_open(c, bm->bundle_id, bm->flags);
        if (!bd) {
            send_error(c, xid, ofperr_bundle(OFPBFC_OUT_OF_BUNDLES), msg,
                       len, "too many open bundles");
            return;
        }
    }
    bd->used_ms = dp_time_ms();
    ofbuf_put(&bd->raw, bm->msg, bm->msg_len);
    if (bd->raw.oom) {
        bundle_fail(c, bd, xid, ofperr_bundle(OFPBFC_UNKNOWN), msg, len,
                    "out of memory");
        return;
    }
    bd->n++;
}

/* Decodes the flow mods of 'bd' again and applies them at once, all or
 * none (sw_flow_mods() is one transaction): atomic and ordered whatever
 * the flags ask.  Returns 0 or the error to answer the commit with (the
 * failing flow mod's own error has been sent). */
static ofperr
bundle_commit(struct of_conn *c, struct of_bundle *bd)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct pend_fm *fms = NULL;
    struct of_flow_spec *specs = NULL;
    enum of_flow_cmd *cmds = NULL;
    ofperr result = ofperr_bundle(OFPBFC_MSG_FAILED);
    char err[256] = "";
    size_t n = 0, count = 0, at = 0;
    int ret;

    if (!br) {
        return result;
    }
    if (!bd->n) {
        return 0;
    }
    fms = malloc(bd->n * sizeof *fms);
    specs = malloc(bd->n * sizeof *specs);
    cmds = malloc(bd->n * sizeof *cmds);
    if (!fms || !specs || !cmds) {
        goto out;
    }
    for (size_t off = 0; n < bd->n; n++) {
        const uint8_t *m = bd->raw.data + off;
        size_t mlen = ofm_get16(m + 2);

        /* (Each decoded when it was added: it decodes again.) */
        if (pend_fm_decode(&fms[n], m, mlen, ofm_get32(m + 4), err,
                           sizeof err)) {
            goto out;
        }
        off += mlen;
    }
    for (size_t i = 0; i < n; i++) {
        struct pend_fm *p = &fms[i];

        /* (Against the tables as they are: not against the bundle's own
         * earlier adds.) */
        if (p->fm.cmd == OFFC_ADD && (p->fm.flags & OFPFF_CHECK_OVERLAP)
            && has_overlap(br, &p->fm.spec)) {
            send_error(c, p->xid, ofperr_make(OFPET_FLOW_MOD_FAILED,
                                              OFPFMFC_OVERLAP),
                       p->head, p->head_len, "overlapping flow");
            goto out;
        }
        specs[i] = p->fm.spec;
        cmds[i] = p->fm.cmd;
    }
    ret = ofsw_flow_mods(c->ob->ofsw, br, specs, cmds, n, &count, err,
                         sizeof err);
    if (ret) {
        /* The flow mod the refusal names ("flow N: ..."), else the
         * first, answers with its own error. */
        if (sscanf(err, "flow %zu:", &at) != 1 || at >= n) {
            at = 0;
        }
        LOG_INFO_RL("%s %s: bundle 0x%x not committed: %s", c->ob->name,
                    c->peer, bd->id, err);
        send_error(c, fms[at].xid, errno_to_ofperr(ret), fms[at].head,
                   fms[at].head_len, err);
        goto out;
    }
    result = 0;
out:
    for (size_t i = 0; i < n; i++) {
        of_flow_spec_uninit(&fms[i].fm.spec);
    }
    free(fms);
    free(specs);
    free(cmds);
    return result;
}

static void
bundle_control(struct of_conn *c, const struct ofm_bundle *bm,
               const uint8_t *msg, size_t len, uint32_t xid)
{
    struct of_bundle *bd = bundle_find(c, bm->bundle_id);
    ofperr e = 0;
    uint16_t reply;

    if (bm->flags & ~(OFPBF_ATOMIC | OFPBF_ORDERED)) {
        e = ofperr_bundle(OFPBFC_BAD_FLAGS);
    } else if (bm->type == OFPBCT_OPEN_REQUEST) {
        if (bd) {
            /* OpenFlow 1.4: refused, and the bundle there discarded. */
            e = ofperr_bundle(OFPBFC_BAD_ID);
        } else if (!bundle_open(c, bm->bundle_id, bm->flags)) {
            e = ofperr_bundle(OFPBFC_OUT_OF_BUNDLES);
        }
    } else if (bm->type != OFPBCT_CLOSE_REQUEST
               && bm->type != OFPBCT_COMMIT_REQUEST
               && bm->type != OFPBCT_DISCARD_REQUEST) {
        e = ofperr_bundle(OFPBFC_BAD_TYPE);
    } else if (!bd) {
        e = ofperr_bundle(OFPBFC_BAD_ID);
    } else if (bm->type == OFPBCT_DISCARD_REQUEST) {
        bundle_remove(c, bd);
        bd = NULL;
    } else if (bd->flags != bm->flags) {
        e = ofperr_bundle(OFPBFC_BAD_FLAGS);
    } else if (bm->type == OFPBCT_CLOSE_REQUEST) {
        if (bd->closed) {
            e = ofperr_bundle(OFPBFC_BUNDLE_CLOSED);
        }
        bd->closed = true;
        bd->used_ms = dp_time_ms();
    } else {
        e = bundle_commit(c, bd);
        bundle_remove(c, bd);           /* Committed or not, it is done. */
        bd = NULL;
    }
    if (e) {
        /* A refused request discards the bundle it names (OpenFlow 1.4). */
        bundle_fail(c, bd, xid, e, msg, len, "bundle control");
        return;
    }
    reply = (uint16_t) (bm->type + 1);  /* OFPBCT_*_REPLY */
    ofm_bundle_ctrl(&c->out, xid, bm->bundle_id, reply, bm->flags);
    conn_send(c, &c->out);
}

/* Discards the bundles of 'c' untouched for BUNDLE_IDLE_MS, each with an
 * OFPBFC_TIMEOUT error (xid 0) that quotes a control message naming it. */
static void
bundles_expire(struct of_conn *c, long long now)
{
    for (size_t i = 0; i < c->n_bundles;) {
        struct of_bundle *bd = &c->bundles[i];
        struct ofbuf q;

        if (now - bd->used_ms < BUNDLE_IDLE_MS) {
            i++;
            continue;
        }
        ofbuf_init(&q);
        ofm_bundle_ctrl(&q, 0, bd->id, OFPBCT_DISCARD_REQUEST, bd->flags);
        bundle_fail(c, bd, 0, ofperr_bundle(OFPBFC_TIMEOUT),
                    q.oom ? NULL : q.data, q.oom ? 0 : q.len,
                    "an idle bundle discarded");  /* (The last moved to i.) */
        ofbuf_uninit(&q);
    }
}

/* ---- GENEVE TLV table (Nicira). ---- */

/* Appends 't' in add-tlv-map's syntax to the list in 'text' (length
 * '*tl'; at most FLOW_TNL_MD_SLOTS mappings of under 96 bytes fit). */
static void
tlv_text_append(char *text, size_t size, size_t *tl, const struct tnl_tlv *t)
{
    if (*tl && *tl + 1 < size) {
        text[(*tl)++] = ',';
        text[*tl] = '\0';
    }
    if (*tl < size) {
        *tl += tnl_tlv_to_string(t, text + *tl, size - *tl);
    }
}

/* NXT_TLV_TABLE_MOD 'nx': the bridge's map changed as Open vSwitch
 * changes its own (an index in use ALREADY_MAPPED, an option mapped twice
 * DUP_ENTRY, deleting an index that is not mapped is fine; one a flow or a
 * group uses INVALID_TLV_DEL), within what sluice holds
 * (FLOW_TNL_MD_SLOTS fields of 4 or 8 bytes: BAD_FIELD_IDX,
 * BAD_OPT_LEN). */
static void
tlv_table_mod(struct of_conn *c, struct bridge *br, const struct ofm_nx *nx,
              const uint8_t *msg, size_t len, uint32_t xid)
{
    const struct tnl_tlv_map *cur = bridge_tlv_map(br);
    char text[FLOW_TNL_MD_SLOTS * 96] = "", err[256] = "";
    uint8_t slots = 0;          /* Those named so far. */
    size_t tl = 0;
    int ret = 0;

    if (nx->command == NXTTMC_ADD && nx->n_maps > FLOW_TNL_MD_SLOTS) {
        send_error(c, xid, ofperr_nx(NXTTMFC_TABLE_FULL), msg, len,
                   "this switch has tun_metadata0..7 only");
        return;
    }
    for (size_t i = 0; i < nx->n_maps; i++) {
        const struct ofm_tlv_map *m = &nx->maps[i];

        if (m->index >= FLOW_TNL_MD_SLOTS) {
            if (nx->command != NXTTMC_ADD) {
                continue;       /* Not mapped, so nothing to delete. */
            }
            send_error(c, xid, ofperr_nx(NXTTMFC_BAD_FIELD_IDX), msg, len,
                       "this switch has tun_metadata0..7 only");
            return;
        }
        if (slots >> m->index & 1) {
            if (nx->command != NXTTMC_ADD) {
                continue;       /* Deleted once. */
            }
            send_error(c, xid, ofperr_nx(NXTTMFC_ALREADY_MAPPED), msg, len,
                       "the field is mapped twice in the message");
            return;
        }
        slots |= (uint8_t) (1u << m->index);
        if (nx->command == NXTTMC_ADD && m->len != 4 && m->len != 8) {
            send_error(c, xid, ofperr_nx(NXTTMFC_BAD_OPT_LEN), msg, len,
                       "this switch maps options of 4 or 8 bytes only");
            return;
        }
        for (size_t k = 0; nx->command == NXTTMC_ADD && k < cur->n; k++) {
            const struct tnl_tlv *t = &cur->tlv[k];

            if (t->slot == m->index || (t->opt_class == m->opt_class
                                        && t->type == m->type)) {
                send_error(c, xid, ofperr_nx(t->slot == m->index
                                             ? NXTTMFC_ALREADY_MAPPED
                                             : NXTTMFC_DUP_ENTRY),
                           msg, len, t->slot == m->index
                           ? "the field is mapped already"
                           : "the option is mapped already");
                return;
            }
        }
        if (nx->command == NXTTMC_ADD) {
            const struct tnl_tlv t = {
                .opt_class = m->opt_class, .type = m->type, .len = m->len,
                .slot = (uint8_t) m->index,
            };

            tlv_text_append(text, sizeof text, &tl, &t);
        } else if (nx->command == NXTTMC_DELETE) {
            /* By index, as Open vSwitch; an unmapped one is no error. */
            for (size_t k = 0; k < cur->n; k++) {
                if (cur->tlv[k].slot == m->index) {
                    tlv_text_append(text, sizeof text, &tl, &cur->tlv[k]);
                }
            }
        }
    }
    change_begin(c->ob->ofsw);
    if (nx->command == NXTTMC_ADD && tl) {
        ret = sw_add_tlv_map(c->ob->ofsw->sw, br, text, err, sizeof err);
    } else if (nx->command == NXTTMC_CLEAR
               || (nx->command == NXTTMC_DELETE && tl)) {
        ret = sw_del_tlv_map(c->ob->ofsw->sw, br,
                             nx->command == NXTTMC_CLEAR ? NULL : text, err,
                             sizeof err);
    }
    change_end(c->ob->ofsw);
    if (ret) {
        /* Within this message, or against another bridge's mappings
         * (the datapath uses them all together). */
        send_error(c, xid, ofperr_nx(ret == EBUSY ? NXTTMFC_INVALID_TLV_DEL
                                     : ret == ENOSPC ? NXTTMFC_TABLE_FULL
                                     : ret == EEXIST ? NXTTMFC_DUP_ENTRY
                                     : NXTTMFC_BAD_OPT_LEN),
                   msg, len, err);
    }
}

static void
tlv_table_reply(struct of_conn *c, struct bridge *br, uint32_t xid)
{
    const struct tnl_tlv_map *cur = bridge_tlv_map(br);
    struct ofm_tlv_map maps[FLOW_TNL_MD_SLOTS];

    for (size_t k = 0; k < cur->n; k++) {
        maps[k].opt_class = cur->tlv[k].opt_class;
        maps[k].type = cur->tlv[k].type;
        maps[k].len = cur->tlv[k].len;
        maps[k].index = cur->tlv[k].slot;
    }
    ofm_tlv_table_reply(&c->out, xid, FLOW_TNL_MD_SLOTS * FLOW_TNL_MD_LEN,
                        FLOW_TNL_MD_SLOTS, maps, cur->n);
    conn_send(c, &c->out);
}

static void
handle_nx(struct of_conn *c, const uint8_t *msg, size_t len, uint32_t xid)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_nx nx_, *nx = &nx_;
    char err[256] = "";
    ofperr e;

    e = ofm_nx_decode(msg, len, nx, err, sizeof err);
    if (e) {
        send_error(c, xid, e, msg, len, err);
    } else if (!br) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_EPERM),
                   msg, len, "bridge gone");
    } else if (nx->subtype == NXT_TLV_TABLE_REQUEST) {
        tlv_table_reply(c, br, xid);
    } else if (is_slave(c)) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_IS_SLAVE),
                   msg, len, "a TLV table mod from a slave");
    } else {
        tlv_table_mod(c, br, nx, msg, len, xid);
    }
}

static void
handle_experimenter(struct of_conn *c, const uint8_t *msg, size_t len,
                    uint32_t xid)
{
    struct ofm_bundle bm;
    char err[256] = "";
    ofperr e;

    if (ofm_is_nx(msg, len)) {
        handle_nx(c, msg, len, xid);
        return;
    }
    if (is_slave(c)) {
        /* As Open vSwitch: a slave has no bundles (and this switch no
         * other experimenter messages). */
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_IS_SLAVE),
                   msg, len, "an experimenter message from a slave");
        return;
    }
    e = ofm_bundle_decode(msg, len, &bm, err, sizeof err);
    if (e) {
        send_error(c, xid, e, msg, len, err);
    } else if (bm.exp_type == ONFT_BUNDLE_ADD_MESSAGE) {
        bundle_add(c, &bm, msg, len, xid);
    } else {
        bundle_control(c, &bm, msg, len, xid);
    }
}

/* ---- Multipart. ---- */

static void
reply_desc(struct of_conn *c, uint32_t xid)
{
    struct ofm_mp mp;
    struct ofm_desc d = {
        .mfr = "sluice project",
        .hw = "sluice userspace switch (DPDK)",
        .sw = PACKAGE_VERSION,
        .serial = "None",
        .dp = c->ob->name,
    };

    ofm_mp_start(&mp, &c->out, OFPMP_DESC, xid);
    ofm_desc_encode(&c->out, &d);
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

static void
dump_continue(struct of_conn *c)
{
    long long now = dp_time_ms();

    while (c->next_rule < c->n_rules && out_pending(c) < OUT_HIGH_WATER) {
        size_t stop = c->next_rule + 256;

        for (; c->next_rule < c->n_rules && c->next_rule < stop;
             c->next_rule++) {
            struct ofproto_rule *r = c->rules[c->next_rule];
            struct ofproto_rule_info info;

            if (!ofproto_rule_is_live(r)) {
                continue;
            }
            ofproto_rule_get_info(r, &info);
            ofm_mp_entry_begin(&c->mp);
            ofm_flow_stats_encode(&c->dump, &info, now);
            ofm_mp_entry_end(&c->mp);
        }
        /* Send what is complete: every message but the open one. */
        if (c->dump.oom) {
            break;
        }
        if (c->mp.start > 0) {
            if (bufferevent_write(c->bev, c->dump.data, c->mp.start)) {
                c->closing = true;
                break;
            }
            c->tx_msgs++;
            memmove(c->dump.data, c->dump.data + c->mp.start,
                    c->dump.len - c->mp.start);
            c->dump.len -= c->mp.start;
            c->mp.entry -= c->mp.start;
            c->mp.start = 0;
        }
    }
    if (c->next_rule < c->n_rules && !c->dump.oom && !c->closing) {
        return;                 /* The write callback goes on. */
    }
    ofm_mp_finish(&c->mp);
    conn_send(c, &c->dump);
    for (size_t i = 0; i < c->n_rules; i++) {
        ofproto_rule_unref(c->rules[i]);
    }
    free(c->rules);
    c->rules = NULL;
    c->n_rules = c->next_rule = 0;
    c->dumping = false;
    conn_schedule(c);
}

struct agg_ctx {
    uint64_t packets, bytes;
    uint32_t flows;
};

static void
agg_cb(const struct ofproto_rule_info *r, void *ctx_)
{
    struct agg_ctx *ctx = ctx_;

    ctx->packets += r->n_packets;
    ctx->bytes += r->n_bytes;
    ctx->flows++;
}

static void
reply_flow_stats(struct of_conn *c, uint32_t xid, const uint8_t *req,
                 size_t req_len, const struct ofm_mp_request *r,
                 bool aggregate)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct of_flow_spec filter;
    char err[256] = "";
    ofperr e;

    e = ofm_flow_stats_request_decode(r->body, r->body_len, &filter, err,
                                      sizeof err);
    if (e) {
        send_error(c, xid, e, req, req_len, err);
        return;
    }
    if (!br) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_EPERM),
                   req, req_len, "bridge gone");
        return;
    }
    if (aggregate) {
        struct agg_ctx ctx = { 0, 0, 0 };
        struct ofm_mp mp;

        sw_dump_flows(c->ob->ofsw->sw, br, &filter, agg_cb, &ctx);
        ofm_mp_start(&mp, &c->out, OFPMP_AGGREGATE, xid);
        ofbuf_put_be64(&c->out, ctx.packets);
        ofbuf_put_be64(&c->out, ctx.bytes);
        ofbuf_put_be32(&c->out, ctx.flows);
        ofbuf_put(&c->out, NULL, 4);
        ofm_mp_finish(&mp);
        conn_send(c, &c->out);
        return;
    }
    if (sw_dump_flow_rules(c->ob->ofsw->sw, br, &filter, &c->rules,
                           &c->n_rules)) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST,
                                       OFPBRC_MULTIPART_BUFFER_OVERFLOW),
                   req, req_len, "out of memory");
        return;
    }
    c->next_rule = 0;
    c->dumping = true;
    ofbuf_clear(&c->dump);
    ofm_mp_start(&c->mp, &c->dump, OFPMP_FLOW, xid);
    dump_continue(c);
}

static void
reply_tables(struct of_conn *c, uint32_t xid)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_mp mp;

    ofm_mp_start(&mp, &c->out, OFPMP_TABLE, xid);
    for (unsigned t = 0; t < OF_N_TABLES; t++) {
        struct ofm_table_stats ts = {
            .table_id = (uint8_t) t,
            .active_count = br ? (uint32_t) ofproto_table_n_rules(
                                     bridge_ofproto(br), (uint8_t) t) : 0,
        };

        ofm_mp_entry_begin(&mp);
        ofm_table_stats_encode(&c->out, &ts);
        ofm_mp_entry_end(&mp);
    }
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

static void
reply_table_features(struct of_conn *c, uint32_t xid)
{
    struct ofm_mp mp;

    ofm_mp_start(&mp, &c->out, OFPMP_TABLE_FEATURES, xid);
    for (unsigned t = 0; t < OF_N_TABLES; t++) {
        /* Unnamed, as Open vSwitch's tables are by default. */
        ofm_mp_entry_begin(&mp);
        ofm_table_features_encode(&c->out, (uint8_t) t, NULL, 1000000);
        ofm_mp_entry_end(&mp);
    }
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

static void
fill_port(const struct bridge_port_info *info, struct ofm_port *p)
{
    bool up = info->port && port_link_up(info->port);

    memset(p, 0, sizeof *p);
    p->port_no = info->ofport;
    if (info->port) {
        port_get_mac(info->port, p->hw_addr);
    }
    snprintf(p->name, sizeof p->name, "%s", info->name);
    /* Speeds and features are not known: left zero. */
    p->state = up ? OFPPS_LIVE : OFPPS_LINK_DOWN;
}

struct port_desc_ctx {
    struct ofm_mp *mp;
    struct ofbuf *b;
};

static void
port_desc_cb(const struct bridge_port_info *info, void *ctx_)
{
    struct port_desc_ctx *ctx = ctx_;
    struct ofm_port p;

    fill_port(info, &p);
    ofm_mp_entry_begin(ctx->mp);
    ofm_port_encode(ctx->b, &p);
    ofm_mp_entry_end(ctx->mp);
}

static void
reply_port_desc(struct of_conn *c, uint32_t xid)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_mp mp;
    struct port_desc_ctx ctx = { &mp, &c->out };

    ofm_mp_start(&mp, &c->out, OFPMP_PORT_DESC, xid);
    if (br) {
        bridge_port_dump(br, port_desc_cb, &ctx);
    }
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

static void
reply_port_stats(struct of_conn *c, uint32_t xid, const uint8_t *req,
                 size_t req_len, const struct ofm_mp_request *r)
{
    struct sw_port_row *rows = NULL;
    uint32_t want = OFPP_NONE;
    struct ofm_mp mp;
    long n;

    if (r->body_len < 8) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN),
                   req, req_len, "port stats request too short");
        return;
    }
    {
        uint32_t wire = ofm_get32(r->body);

        if (wire != 0xffffffffu && !ofm_port_from_wire(wire, &want)) {
            send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST,
                                           OFPBRC_BAD_PORT),
                       req, req_len, "port stats: bad port");
            return;
        }
    }
    n = sw_port_rows(c->ob->ofsw->sw, &rows);
    if (n < 0) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST,
                                       OFPBRC_MULTIPART_BUFFER_OVERFLOW),
                   req, req_len, "out of memory");
        return;
    }
    ofm_mp_start(&mp, &c->out, OFPMP_PORT_STATS, xid);
    for (long i = 0; i < n; i++) {
        const struct sw_port_row *row = &rows[i];
        struct ofm_port_stats s;

        if (strcmp(row->bridge, c->ob->name)
            || (want != OFPP_NONE && row->ofport != want)) {
            continue;
        }
        memset(&s, 0, sizeof s);
        s.port_no = row->ofport;
        s.rx_packets = row->st.rx_packets;
        s.tx_packets = row->st.tx_packets;
        s.rx_bytes = row->st.rx_bytes;
        s.tx_bytes = row->st.tx_bytes;
        s.rx_dropped = row->st.rx_dropped;
        s.tx_dropped = row->st.tx_dropped;
        s.rx_errors = row->st.rx_errors;
        s.tx_errors = row->st.tx_errors;
        ofm_mp_entry_begin(&mp);
        ofm_port_stats_encode(&c->out, &s);
        ofm_mp_entry_end(&mp);
    }
    free(rows);
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

static void
reply_empty(struct of_conn *c, uint32_t xid, uint16_t type)
{
    struct ofm_mp mp;

    ofm_mp_start(&mp, &c->out, type, xid);
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

struct groups_ctx {
    struct ofm_mp *mp;
    struct ofbuf *b;
    bool desc;
    long long now;
};

static void
group_reply_cb(const struct ofproto_group_info *g, void *ctx_)
{
    struct groups_ctx *ctx = ctx_;

    ofm_mp_entry_begin(ctx->mp);
    if (ctx->desc) {
        ofm_group_desc_encode(ctx->b, &g->spec);
    } else {
        struct ofm_group_stats st = {
            .ref_count = g->ref_count, .age_ms = ctx->now - g->created_ms,
            .packets = g->packets, .bytes = g->bytes,
            .bucket_packets = g->bucket_packets,
            .bucket_bytes = g->bucket_bytes,
        };

        ofm_group_stats_encode(ctx->b, &g->spec, &st);
    }
    ofm_mp_entry_end(ctx->mp);
}

/* GROUP (stats, body: group_id, pad) and GROUP_DESC (no body). */
static void
reply_groups(struct of_conn *c, uint32_t xid, const uint8_t *req,
             size_t req_len, const struct ofm_mp_request *r)
{
    struct bridge *br = ofb_bridge(c->ob);
    uint32_t id = OFG_ALL;
    struct ofm_mp mp;
    struct groups_ctx ctx = { &mp, &c->out, r->type == OFPMP_GROUP_DESC,
                              dp_time_ms() };

    if (r->type == OFPMP_GROUP) {
        if (r->body_len < 8) {
            send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST,
                                           OFPBRC_BAD_LEN),
                       req, req_len, "group stats request too short");
            return;
        }
        id = ofm_get32(r->body);
    }
    ofm_mp_start(&mp, &c->out, r->type, xid);
    if (br) {
        sw_dump_groups(c->ob->ofsw->sw, br, id, group_reply_cb, &ctx);
    }
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

struct meters_ctx {
    struct ofm_mp *mp;
    struct ofbuf *b;
    bool config;
    long long now;
};

static void
meter_reply_cb(const struct ofproto_meter_info *m,
               const struct dp_meter_stats *st, void *ctx_)
{
    struct meters_ctx *ctx = ctx_;

    ofm_mp_entry_begin(ctx->mp);
    if (ctx->config) {
        ofm_meter_config_encode(ctx->b, m->spec);
    } else {
        struct ofm_meter_stats ms = {
            .meter_id = m->spec->meter_id,
            .flow_count = m->flow_count,
            .packets_in = st->packets,
            .bytes_in = st->bytes,
            .age_ms = ctx->now - m->created_ms,
            .n_bands = m->spec->n_bands,
        };

        for (size_t i = 0; i < ms.n_bands && i < OFM_MAX_BANDS; i++) {
            ms.band_packets[i] = st->band_packets[i];
            ms.band_bytes[i] = st->band_bytes[i];
        }
        ofm_meter_stats_encode(ctx->b, &ms);
    }
    ofm_mp_entry_end(ctx->mp);
}

/* METER (stats) and METER_CONFIG: body meter_id (OFPM_ALL), pad. */
static void
reply_meters(struct of_conn *c, uint32_t xid, const uint8_t *req,
             size_t req_len, const struct ofm_mp_request *r)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_mp mp;
    struct meters_ctx ctx = { &mp, &c->out, r->type == OFPMP_METER_CONFIG,
                              dp_time_ms() };
    uint32_t id;

    if (r->body_len < 8) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN),
                   req, req_len, "meter request too short");
        return;
    }
    id = ofm_get32(r->body);
    ofm_mp_start(&mp, &c->out, r->type, xid);
    if (br) {
        sw_dump_meters(c->ob->ofsw->sw, br, id, meter_reply_cb, &ctx);
    }
    ofm_mp_finish(&mp);
    conn_send(c, &c->out);
}

static void
handle_meter_mod(struct of_conn *c, const uint8_t *msg, size_t len,
                 uint32_t xid)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_meter_mod mm;
    char err[256] = "";
    ofperr e;
    int ret;

    e = ofm_meter_mod_decode(msg, len, &mm, err, sizeof err);
    if (e) {
        send_error(c, xid, e, msg, len, err);
        return;
    }
    if (!br) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_EPERM),
                   msg, len, "bridge gone");
        return;
    }
    change_begin(c->ob->ofsw);
    ret = sw_meter_mod(c->ob->ofsw->sw, br, mm.cmd, &mm.spec, err,
                       sizeof err);
    change_end(c->ob->ofsw);
    if (ret) {
        uint16_t code = ret == EEXIST ? OFPMMFC_METER_EXISTS
                        : ret == ENOENT ? OFPMMFC_UNKNOWN_METER
                        : ret == ENOSPC ? OFPMMFC_OUT_OF_METERS
                        : OFPMMFC_INVALID_METER;

        send_error(c, xid, ofperr_make(OFPET_METER_MOD_FAILED, code), msg,
                   len, err);
    }
}

static void
handle_group_mod(struct of_conn *c, const uint8_t *msg, size_t len,
                 uint32_t xid)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_group_mod gm;
    char err[256] = "";
    ofperr e;
    int ret;

    e = ofm_group_mod_decode(msg, len, &gm, err, sizeof err);
    if (e) {
        send_error(c, xid, e, msg, len, err);
        return;
    }
    if (!br) {
        of_group_spec_uninit(&gm.spec);
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_EPERM),
                   msg, len, "bridge gone");
        return;
    }
    change_begin(c->ob->ofsw);
    ret = sw_group_mod(c->ob->ofsw->sw, br, gm.cmd, &gm.spec, err,
                       sizeof err);
    change_end(c->ob->ofsw);
    of_group_spec_uninit(&gm.spec);
    if (ret == ENOKEY || ret == EOVERFLOW) {
        send_error(c, xid, errno_to_ofperr(ret), msg, len, err);
    } else if (ret) {
        uint16_t code = ret == EEXIST ? OFPGMFC_GROUP_EXISTS
                        : ret == ENOENT ? OFPGMFC_UNKNOWN_GROUP
                        : ret == ELOOP ? OFPGMFC_LOOP
                        : ret == EBUSY ? OFPGMFC_CHAINED_GROUP
                        : ret == ENOMEM ? OFPGMFC_OUT_OF_BUCKETS
                        : OFPGMFC_INVALID_GROUP;

        send_error(c, xid, ofperr_make(OFPET_GROUP_MOD_FAILED, code), msg,
                   len, err);
    }
}

static void
handle_multipart(struct of_conn *c, const uint8_t *msg, size_t len,
                 uint32_t xid)
{
    struct ofm_mp_request r;
    ofperr e = ofm_mp_request_decode(msg, len, &r);

    if (e) {
        send_error(c, xid, e, msg, len, "multipart request too short");
        return;
    }
    if (r.flags & OFPMPF_MORE) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST,
                                       OFPBRC_MULTIPART_BUFFER_OVERFLOW),
                   msg, len, "multipart requests in parts are not "
                   "supported");
        return;
    }
    switch (r.type) {
    case OFPMP_DESC:
        reply_desc(c, xid);
        break;
    case OFPMP_FLOW:
    case OFPMP_AGGREGATE:
        reply_flow_stats(c, xid, msg, len, &r, r.type == OFPMP_AGGREGATE);
        break;
    case OFPMP_TABLE:
        reply_tables(c, xid);
        break;
    case OFPMP_PORT_STATS:
        reply_port_stats(c, xid, msg, len, &r);
        break;
    case OFPMP_PORT_DESC:
        reply_port_desc(c, xid);
        break;
    case OFPMP_TABLE_FEATURES:
        if (r.body_len) {
            send_error(c, xid, ofperr_make(OFPET_TABLE_FEATURES_FAILED,
                                           5 /* OFPTFFC_EPERM */),
                       msg, len, "table features cannot be changed");
            break;
        }
        reply_table_features(c, xid);
        break;
    case OFPMP_GROUP:
    case OFPMP_GROUP_DESC:
        reply_groups(c, xid, msg, len, &r);
        break;
    case OFPMP_METER:
    case OFPMP_METER_CONFIG:
        reply_meters(c, xid, msg, len, &r);
        break;
    case OFPMP_QUEUE:
        reply_empty(c, xid, r.type);    /* None exist. */
        break;
    case OFPMP_GROUP_FEATURES: {
        struct ofm_mp mp;

        ofm_mp_start(&mp, &c->out, r.type, xid);
        ofm_group_features_encode(&c->out, OFG_MAX_ID);
        ofm_mp_finish(&mp);
        conn_send(c, &c->out);
        break;
    }
    case OFPMP_METER_FEATURES: {
        struct ofm_mp mp;

        ofm_mp_start(&mp, &c->out, r.type, xid);
        ofm_meter_features_encode(&c->out, DP_MAX_METERS - 1);
        ofm_mp_finish(&mp);
        conn_send(c, &c->out);
        break;
    }
    default:
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST,
                                       OFPBRC_BAD_MULTIPART),
                   msg, len, "multipart type not supported");
        break;
    }
}

/* ---- Other messages. ---- */

static void
handle_role(struct of_conn *c, const uint8_t *msg, size_t len, uint32_t xid)
{
    struct ofb *ob = c->ob;
    uint32_t role;
    uint64_t gen;
    size_t start;

    if (len != 24) {
        send_error(c, xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN),
                   msg, len, "role request length");
        return;
    }
    role = ofm_get32(msg + 8);
    gen = ofm_get64(msg + 16);
    if (role > OFPCR_ROLE_SLAVE) {
        send_error(c, xid, ofperr_make(OFPET_ROLE_REQUEST_FAILED,
                                       OFPRRFC_BAD_ROLE),
                   msg, len, "unknown role");
        return;
    }
    if (role == OFPCR_ROLE_MASTER || role == OFPCR_ROLE_SLAVE) {
        /* Stale if older than the last one seen (wrapping compare). */
        if (ob->generation_set
            && (int64_t) (gen - ob->generation_id) < 0) {
            send_error(c, xid, ofperr_make(OFPET_ROLE_REQUEST_FAILED,
                                           OFPRRFC_STALE),
                       msg, len, "stale generation id");
            return;
        }
        ob->generation_id = gen;
        ob->generation_set = true;
    }
    if (role == OFPCR_ROLE_MASTER) {
        for (struct of_conn *o = ob->conns; o; o = o->next) {
            if (o != c && o->role == OFPCR_ROLE_MASTER) {
                o->role = OFPCR_ROLE_SLAVE;
            }
        }
    }
    if (role != OFPCR_ROLE_NOCHANGE) {
        c->role = (uint8_t) role;
    }
    start = ofm_start(&c->out, OFPT_ROLE_REPLY, xid);
    ofbuf_put_be32(&c->out, c->role);
    ofbuf_put(&c->out, NULL, 4);
    ofbuf_put_be64(&c->out, ob->generation_set ? ob->generation_id : 0);
    ofm_finish(&c->out, start);
    conn_send(c, &c->out);
}

static void
handle_packet_out(struct of_conn *c, const uint8_t *msg, size_t len,
                  uint32_t xid)
{
    struct bridge *br = ofb_bridge(c->ob);
    struct ofm_packet_out po;
    char err[256] = "";
    ofperr e;
    int ret;

    e = ofm_packet_out_decode(msg, len, &po, err, sizeof err);
    if (e) {
        send_error(c, xid, e, msg, len, err);
        return;
    }
    if (po.buffer_id != OFP_NO_BUFFER) {
        e = ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BUFFER_UNKNOWN);
        snprintf(err, sizeof err, "buffer_id %u: the switch buffers no "
                 "packets", po.buffer_id);
    } else if (!br) {
        e = ofperr_make(OFPET_BAD_REQUEST, OFPBRC_EPERM);
        snprintf(err, sizeof err, "bridge gone");
    } else {
        ret = sw_packet_out(c->ob->ofsw->sw, br, po.data, po.data_len,
                            po.in_port, po.actions, err, sizeof err);
        if (ret) {
            e = ofperr_make(OFPET_BAD_REQUEST,
                            ret == ENOENT ? OFPBRC_BAD_PORT
                            : ret == EINVAL ? OFPBRC_BAD_PACKET
                            : OFPBRC_EPERM);
        }
    }
    free(po.actions);
    if (e) {
        send_error(c, xid, e, msg, len, err);
    }
}

static void
handle_message(struct of_conn *c, const uint8_t *msg, size_t len)
{
    struct ofp_hdr h;
    size_t start;

    ofm_header_read(msg, &h);
    c->rx_msgs++;
    if (h.type != OFPT_FLOW_MOD) {
        batch_flush(c);
    }
    if (!c->hello_rx) {
        if (h.type != OFPT_HELLO) {
            send_error(c, h.xid, ofperr_make(OFPET_HELLO_FAILED,
                                             OFPHFC_INCOMPATIBLE),
                       msg, len, "the first message must be HELLO");
            c->closing = true;
            return;
        }
        if (ofm_hello_negotiate(msg, len) != OFP13_VERSION) {
            send_error(c, h.xid, ofperr_make(OFPET_HELLO_FAILED,
                                             OFPHFC_INCOMPATIBLE),
                       msg, len, "the peer does not speak OpenFlow 1.3");
            c->closing = true;
            return;
        }
        c->hello_rx = true;
        LOG_INFO("%s: %s connected (OpenFlow 1.3)", c->ob->name, c->peer);
        if (c->remote) {
            c->remote->backoff_ms = 0;
            fail_check(c->ob);
        }
        return;
    }
    if (h.version != OFP13_VERSION) {
        send_error(c, h.xid, ofperr_make(OFPET_BAD_REQUEST,
                                         OFPBRC_BAD_VERSION),
                   msg, len, "version is not OpenFlow 1.3");
        return;
    }
    if (is_slave(c) && (h.type == OFPT_FLOW_MOD || h.type == OFPT_PACKET_OUT
                        || h.type == OFPT_GROUP_MOD
                        || h.type == OFPT_METER_MOD
                        || h.type == OFPT_PORT_MOD
                        || h.type == OFPT_TABLE_MOD)) {
        /* OpenFlow 1.3, 6.3.4: a slave may not change the switch. */
        send_error(c, h.xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_IS_SLAVE),
                   msg, len, "a state change from a slave");
        return;
    }
    switch (h.type) {
    case OFPT_HELLO:
        break;
    case OFPT_ERROR:
        LOG_INFO_RL("%s %s: peer sent an error", c->ob->name, c->peer);
        break;
    case OFPT_ECHO_REQUEST:
        ofm_simple(&c->out, OFPT_ECHO_REPLY, h.xid, msg + 8, len - 8);
        conn_send(c, &c->out);
        break;
    case OFPT_ECHO_REPLY:
        break;
    case OFPT_FEATURES_REQUEST: {
        struct ofm_features f = {
            .datapath_id = c->ob->dpid,
            .n_buffers = 0,
            .n_tables = OF_N_TABLES,
            .capabilities = OFPC_FLOW_STATS | OFPC_TABLE_STATS
                            | OFPC_PORT_STATS,
        };

        ofm_features_reply(&c->out, h.xid, &f);
        conn_send(c, &c->out);
        break;
    }
    case OFPT_GET_CONFIG_REQUEST:
        start = ofm_start(&c->out, OFPT_GET_CONFIG_REPLY, h.xid);
        ofbuf_put_be16(&c->out, c->config_flags);
        ofbuf_put_be16(&c->out, c->miss_send_len);
        ofm_finish(&c->out, start);
        conn_send(c, &c->out);
        break;
    case OFPT_SET_CONFIG:
        if (len != 12) {
            send_error(c, h.xid, ofperr_make(OFPET_BAD_REQUEST,
                                             OFPBRC_BAD_LEN),
                       msg, len, "set_config length");
        } else if (msg[8] || msg[9]) {
            send_error(c, h.xid, ofperr_make(OFPET_SWITCH_CONFIG_FAILED,
                                             OFPSCFC_BAD_FLAGS),
                       msg, len, "fragment handling other than normal");
        } else {
            c->miss_send_len = ofm_get16(msg + 10);
        }
        break;
    case OFPT_FLOW_MOD:
        handle_flow_mod(c, msg, len, h.xid);
        break;
    case OFPT_MULTIPART_REQUEST:
        handle_multipart(c, msg, len, h.xid);
        break;
    case OFPT_BARRIER_REQUEST:
        ofm_simple(&c->out, OFPT_BARRIER_REPLY, h.xid, NULL, 0);
        conn_send(c, &c->out);
        break;
    case OFPT_ROLE_REQUEST:
        handle_role(c, msg, len, h.xid);
        break;
    case OFPT_GET_ASYNC_REQUEST:
        start = ofm_start(&c->out, OFPT_GET_ASYNC_REPLY, h.xid);
        for (int i = 0; i < 6; i++) {
            ofbuf_put_be32(&c->out, c->async[i]);
        }
        ofm_finish(&c->out, start);
        conn_send(c, &c->out);
        break;
    case OFPT_SET_ASYNC:
        if (len != 32) {
            send_error(c, h.xid, ofperr_make(OFPET_BAD_REQUEST,
                                             OFPBRC_BAD_LEN),
                       msg, len, "set_async length");
            break;
        }
        for (int i = 0; i < 6; i++) {
            c->async[i] = ofm_get32(msg + 8 + 4 * i);
        }
        break;
    case OFPT_PACKET_OUT:
        handle_packet_out(c, msg, len, h.xid);
        break;
    case OFPT_GROUP_MOD:
        handle_group_mod(c, msg, len, h.xid);
        break;
    case OFPT_METER_MOD:
        handle_meter_mod(c, msg, len, h.xid);
        break;
    case OFPT_PORT_MOD:
    case OFPT_TABLE_MOD:
        send_error(c, h.xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_TYPE),
                   msg, len, h.type == OFPT_PORT_MOD
                   ? "port_mod is not supported"
                   : "table_mod is not supported");
        break;
    case OFPT_EXPERIMENTER:
        handle_experimenter(c, msg, len, h.xid);
        break;
    default:
        send_error(c, h.xid, ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_TYPE),
                   msg, len, "message type not supported");
        break;
    }
}

/* ---- Input. ---- */

static void
conn_process(struct of_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    unsigned n = 0;

    while (!c->closing && !c->dumping && n < MSGS_PER_TURN
           && out_pending(c) < OUT_HIGH_WATER) {
        uint8_t hdr[OFP_HEADER_LEN];
        size_t avail = evbuffer_get_length(in);
        uint16_t len;
        uint8_t *msg;

        if (avail < OFP_HEADER_LEN) {
            break;
        }
        evbuffer_copyout(in, hdr, sizeof hdr);
        len = ofm_get16(hdr + 2);
        if (len < OFP_HEADER_LEN) {
            batch_flush(c);
            send_error(c, ofm_get32(hdr + 4), ofperr_make(OFPET_BAD_REQUEST, OFPBRC_BAD_LEN), hdr,
                       sizeof hdr, "message length below 8: closing");
            c->closing = true;
            break;
        }
        if (!c->hello_rx && hdr[1] != OFPT_HELLO) {
            /* Not an OpenFlow peer: no need to wait for the body. */
            batch_flush(c);
            send_error(c, 0, ofperr_make(OFPET_HELLO_FAILED,
                                         OFPHFC_INCOMPATIBLE), hdr,
                       sizeof hdr, "the first message must be HELLO");
            c->closing = true;
            break;
        }
        if (avail < len) {
            break;
        }
        msg = evbuffer_pullup(in, len);
        if (!msg) {
            conn_close(c, "out of memory");
            return;
        }
        c->last_rx_ms = dp_time_ms();
        c->probe_sent = false;
        handle_message(c, msg, len);
        evbuffer_drain(in, len);
        n++;
    }
    batch_flush(c);
    if (c->closing) {
        bufferevent_disable(c->bev, EV_READ);
        if (!out_pending(c)) {
            conn_close(c, NULL);
        }
        return;
    }
    if (c->dumping) {
        return;
    }
    if (out_pending(c) >= OUT_HIGH_WATER) {
        /* The write callback resumes once the peer has read. */
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
    if (n == MSGS_PER_TURN
        && evbuffer_get_length(in) >= OFP_HEADER_LEN) {
        conn_schedule(c);
    }
}

static void
turn_cb(evutil_socket_t fd, short what, void *c_)
{
    (void) fd;
    (void) what;
    conn_process(c_);
}

static void
conn_schedule(struct of_conn *c)
{
    static const struct timeval zero = { 0, 0 };

    event_add(c->turn, &zero);
}

static void
read_cb(struct bufferevent *bev, void *c_)
{
    (void) bev;
    conn_process(c_);
}

static void
write_cb(struct bufferevent *bev, void *c_)
{
    struct of_conn *c = c_;

    (void) bev;
    if (c->closing) {
        if (!out_pending(c)) {
            conn_close(c, NULL);
        }
        return;
    }
    if (c->dumping) {
        dump_continue(c);
        return;
    }
    conn_schedule(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *c_)
{
    struct of_conn *c = c_;

    (void) bev;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;

        if (c->remote && !c->remote->t.is_unix) {
            setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY,
                       &one, sizeof one);
        }
        LOG_INFO("%s: connected to controller %s", c->ob->name, c->peer);
        return;
    }
    conn_close(c, what & BEV_EVENT_EOF ? "closed by peer"
                  : what & BEV_EVENT_TIMEOUT ? "write timeout (peer does "
                                               "not read)"
                  : "connection error");
}

/* ---- Connections. ---- */

static struct of_conn *
conn_new(struct ofb *ob, evutil_socket_t fd, const char *peer)
{
    struct ofsw *ofsw = ob->ofsw;
    struct of_conn *c = calloc(1, sizeof *c);
    struct timeval wt = { WRITE_TIMEOUT_S, 0 };

    if (!c) {
        return NULL;
    }
    c->batch = calloc(BATCH_MAX, sizeof *c->batch);
    c->bev = bufferevent_socket_new(ofsw->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->turn = evtimer_new(ofsw->base, turn_cb, c);
    if (!c->batch || !c->bev || !c->turn) {
        if (c->bev) {
            bufferevent_free(c->bev);
        } else if (fd >= 0) {
            close(fd);
        }
        if (c->turn) {
            event_free(c->turn);
        }
        free(c->batch);
        free(c);
        return NULL;
    }
    c->ob = ob;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->role = OFPCR_ROLE_EQUAL;
    c->miss_send_len = OFP_DEFAULT_MISS_SEND_LEN;
    async_defaults(c);
    c->last_rx_ms = dp_time_ms();
    ofbuf_init(&c->out);
    ofbuf_init(&c->dump);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_setwatermark(c->bev, EV_WRITE, OUT_HIGH_WATER / 2, 0);
    c->next = ob->conns;
    if (ob->conns) {
        ob->conns->prev = c;
    }
    ob->conns = c;
    ofm_hello(&c->out, 0);
    conn_send(c, &c->out);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
}

static void
conn_close(struct of_conn *c, const char *why)
{
    struct ofb *ob = c->ob;
    struct of_remote *r = c->remote;

    if (why) {
        LOG_INFO("%s: %s disconnected: %s", ob->name, c->peer, why);
    } else {
        LOG_INFO("%s: %s disconnected", ob->name, c->peer);
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        ob->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    batch_free(c);
    free(c->batch);
    while (c->n_bundles) {
        bundle_remove(c, &c->bundles[0]);       /* Discarded. */
    }
    for (size_t i = 0; i < c->n_rules; i++) {
        ofproto_rule_unref(c->rules[i]);
    }
    free(c->rules);
    bufferevent_free(c->bev);
    event_free(c->turn);
    ofbuf_uninit(&c->out);
    ofbuf_uninit(&c->dump);
    free(c);
    if (r) {
        unsigned ms;

        r->conn = NULL;
        r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (r->backoff_ms > ob->max_backoff_ms) {
            r->backoff_ms = ob->max_backoff_ms;
        }
        ms = r->backoff_ms;
        {
            struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

            event_add(r->retry, &tv);
        }
    }
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd,
          struct sockaddr *sa, int salen, void *ls_)
{
    struct of_listener *ls = ls_;
    char peer[128], addr[INET6_ADDRSTRLEN] = "?";

    (void) l;
    (void) salen;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) sa;

        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
        snprintf(peer, sizeof peer, "tcp:%s:%u", addr, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
        snprintf(peer, sizeof peer, "tcp:[%s]:%u", addr,
                 ntohs(in6->sin6_port));
    } else {
        snprintf(peer, sizeof peer, "%s", ls->target);
    }
    if (sa->sa_family != AF_UNIX) {
        int one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (!conn_new(ls->ob, fd, peer)) {
        LOG_ERR("%s: %s: out of memory", ls->ob->name, peer);
    }
}

static void
accept_error_cb(struct evconnlistener *l, void *ls_)
{
    struct of_listener *ls = ls_;

    (void) l;
    LOG_WARN_RL("%s: accept on %s: %s", ls->ob->name, ls->target,
                strerror(errno));
}

/* The socket address of a (parsed, valid) target; returns its length. */
static socklen_t
target_sockaddr(const struct cfg_of_target *t, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (t->is_unix) {
        struct sockaddr_un *un = (struct sockaddr_un *) ss;

        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof un->sun_path, "%s", t->path);
        return sizeof *un;
    } else if (strchr(t->ip, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(t->port);
        inet_pton(AF_INET6, t->ip, &in6->sin6_addr);
        return sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;

        in->sin_family = AF_INET;
        in->sin_port = htons(t->port);
        inet_pton(AF_INET, t->ip, &in->sin_addr);
        return sizeof *in;
    }
}

static int
listener_open(struct ofb *ob, struct of_listener *ls, const char *target,
              char *err, size_t errsize)
{
    struct cfg_of_target t;
    const char *why = cfg_of_target_parse(target, &t);
    evutil_socket_t fd = -1;
    int ret;

    ls->ob = ob;
    ls->target = strdup(target);
    if (!ls->target) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    if (why || !t.passive) {
        snprintf(err, errsize, "%s: %s", target, why ? why : "not ptcp:/"
                 "punix:");
        return EINVAL;
    }
    if (t.is_unix) {
        ret = ctl_unix_listen_fd(t.path, &fd, err, errsize);
        if (ret) {
            return ret;
        }
        ls->unix_path = strdup(t.path);
    } else {
        struct sockaddr_storage ss;
        socklen_t sl = target_sockaddr(&t, &ss);
        int one = 1;

        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
            ret = errno;
            snprintf(err, errsize, "%s: socket: %s", target, strerror(ret));
            return ret;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &ss, sl)) {
            ret = errno;
            snprintf(err, errsize, "%s: bind: %s", target, strerror(ret));
            close(fd);
            return ret;
        }
    }
    ls->l = evconnlistener_new(ob->ofsw->base, accept_cb, ls,
                               LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                               64, fd);
    if (!ls->l) {
        ret = errno ? errno : ENOMEM;
        snprintf(err, errsize, "%s: listen: %s", target, strerror(ret));
        close(fd);
        return ret;
    }
    evconnlistener_set_error_cb(ls->l, accept_error_cb);
    LOG_INFO("%s: OpenFlow listening on %s", ob->name, target);
    return 0;
}

static void
retry_cb(evutil_socket_t fd, short what, void *r_)
{
    (void) fd;
    (void) what;
    remote_connect(r_);
}

static void
remote_connect(struct of_remote *r)
{
    struct ofb *ob = r->ob;
    struct sockaddr_storage ss;
    socklen_t sl = target_sockaddr(&r->t, &ss);
    struct of_conn *c;

    c = conn_new(ob, -1, r->target);
    if (!c) {
        struct timeval tv = { 1, 0 };

        event_add(r->retry, &tv);
        return;
    }
    c->remote = r;
    r->conn = c;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *) &ss,
                                   (int) sl)) {
        conn_close(c, "connect failed");
    }
}

/* ---- Fail mode. ---- */

/* How long a standalone bridge waits for its controllers before it
 * switches by itself: three inactivity probes, 15 s without probes. */
static long long
fail_open_delay(const struct ofb *ob)
{
    return ob->probe_ms ? 3LL * ob->probe_ms : 15000;
}

/* Standalone bridges with controllers: fail open once none has been
 * connected for fail_open_delay(), back as soon as one is. */
static void
fail_check(struct ofb *ob)
{
    long long now = dp_time_ms();
    bool connected = false;
    struct bridge *br;

    if (!ob->standalone || !ob->n_rs || !(br = ofb_bridge(ob))) {
        return;
    }
    for (size_t i = 0; i < ob->n_rs; i++) {
        connected = connected || (ob->rs[i].conn && ob->rs[i].conn->hello_rx
                                  && !ob->rs[i].conn->closing);
    }
    if (connected) {
        ob->alone_since = 0;
    } else if (!ob->alone_since) {
        ob->alone_since = now;
    }
    bool open = !connected && now - ob->alone_since >= fail_open_delay(ob);
    if (open != ob->fail_open) {
        ob->fail_open = open;
        LOG_WARN("%s: %s fail-open mode: %s", ob->name,
                 open ? "entering" : "leaving",
                 open ? "no controller for a while, switching by NORMAL"
                      : "a controller is back");
        sw_set_fail_open(ob->ofsw->sw, br, open);
    }
}

/* ---- Periodic work: probes, port status. ---- */

static void
send_port_status(struct ofb *ob, uint8_t reason, const struct ofm_port *p)
{
    for (struct of_conn *c = ob->conns; c; c = c->next) {
        size_t start;
        uint32_t mask = c->async[is_slave(c) ? 3 : 2];

        if (!c->hello_rx || c->closing || !(mask & (1u << reason))) {
            continue;
        }
        start = ofm_start(&c->out, OFPT_PORT_STATUS, 0);
        ofbuf_put_u8(&c->out, reason);
        ofbuf_put(&c->out, NULL, 7);
        ofm_port_encode(&c->out, p);
        ofm_finish(&c->out, start);
        conn_send(c, &c->out);
    }
}

struct snap_ctx {
    struct ofm_port *v;         /* The ports as PORT_STATUS describes them. */
    size_t n, cap;
    bool oom;
};

static void
snap_cb(const struct bridge_port_info *info, void *ctx_)
{
    struct snap_ctx *ctx = ctx_;

    if (ctx->n == ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap * 2 : 16;
        struct ofm_port *v = realloc(ctx->v, cap * sizeof *v);

        if (!v) {
            ctx->oom = true;
            return;
        }
        ctx->v = v;
        ctx->cap = cap;
    }
    fill_port(info, &ctx->v[ctx->n++]);
}

static bool
port_live(const struct ofm_port *p)
{
    return p->state & OFPPS_LIVE;
}

#define OFPPR_ADD 0
#define OFPPR_DELETE 1
#define OFPPR_MODIFY 2

static void
ports_poll(struct ofb *ob)
{
    struct bridge *br = ofb_bridge(ob);
    struct snap_ctx ctx = { 0 };

    if (!br) {
        return;
    }
    bridge_port_dump(br, snap_cb, &ctx);
    if (ctx.oom) {
        free(ctx.v);
        return;
    }
    /* Both lists are in ofport order. */
    for (size_t i = 0, k = 0; i < ctx.n || k < ob->n_ports;) {
        const struct ofm_port *now = i < ctx.n ? &ctx.v[i] : NULL;
        const struct ofm_port *was = k < ob->n_ports ? &ob->ports[k] : NULL;

        if (!was || (now && now->port_no < was->port_no)) {
            send_port_status(ob, OFPPR_ADD, now);
            if (!port_live(now)) {
                sw_set_port_live(ob->ofsw->sw, br, now->port_no, false);
            }
            i++;
        } else if (!now || now->port_no > was->port_no) {
            struct ofm_port gone = *was;

            gone.state = OFPPS_LINK_DOWN;
            send_port_status(ob, OFPPR_DELETE, &gone);
            k++;
        } else {
            if (port_live(now) != port_live(was)
                || memcmp(now->hw_addr, was->hw_addr, 6)
                || memcmp(now->name, was->name, sizeof now->name)) {
                send_port_status(ob, OFPPR_MODIFY, now);
            }
            if (port_live(now) != port_live(was)) {
                /* Select and fast-failover buckets follow the link. */
                sw_set_port_live(ob->ofsw->sw, br, now->port_no,
                                 port_live(now));
            }
            i++;
            k++;
        }
    }
    free(ob->ports);
    ob->ports = ctx.v;
    ob->n_ports = ctx.n;
}

static void
probe_conns(struct ofb *ob)
{
    long long now = dp_time_ms();
    struct of_conn *next;

    if (!ob->probe_ms) {
        return;
    }
    for (struct of_conn *c = ob->conns; c; c = next) {
        next = c->next;
        if (c->closing || now - c->last_rx_ms < ob->probe_ms) {
            continue;
        }
        if (!c->probe_sent) {
            if (c->hello_rx) {
                ofm_simple(&c->out, OFPT_ECHO_REQUEST, 0, NULL, 0);
                conn_send(c, &c->out);
            }
            c->probe_sent = true;
            c->last_rx_ms = now;
        } else {
            conn_close(c, "no reply to an inactivity probe");
        }
    }
}

static void
timer_cb(evutil_socket_t fd, short what, void *ofsw_)
{
    struct ofsw *ofsw = ofsw_;
    struct timeval tv = { PORT_POLL_MS / 1000, (PORT_POLL_MS % 1000) * 1000 };

    (void) fd;
    (void) what;
    for (size_t i = 0; i < ofsw->n_bridges; i++) {
        long long now = dp_time_ms();

        ports_poll(&ofsw->bridges[i]);
        /* (Sending never frees a connection: conn_send() only marks it
         * closing.) */
        for (struct of_conn *c = ofsw->bridges[i].conns; c; c = c->next) {
            bundles_expire(c, now);
        }
        probe_conns(&ofsw->bridges[i]);
        fail_check(&ofsw->bridges[i]);
    }
    event_add(ofsw->timer, &tv);
}

/* ---- Packet-ins. ---- */

#define PKTIN_PER_TURN 512

static void
send_packet_in(struct ofsw *ofsw, const struct dp_pktin *pi)
{
    struct bridge *br;
    uint32_t ofport;
    struct ofb *ob = NULL;

    if (!sw_port_of_dp(ofsw->sw, pi->in_port, &br, &ofport)) {
        /* The port went away meanwhile, or the packet came from a
         * packet-out with in_port CONTROLLER or LOCAL (no datapath port
         * names its bridge): counted, not sent. */
        ofsw->pktin_dropped++;
        return;
    }
    for (size_t i = 0; i < ofsw->n_bridges; i++) {
        if (ofsw->bridges[i].name
            && !strcmp(ofsw->bridges[i].name, bridge_name(br))) {
            ob = &ofsw->bridges[i];
        }
    }
    if (!ob) {
        ofsw->pktin_dropped++;  /* No OpenFlow on that bridge. */
        return;
    }
    for (struct of_conn *c = ob->conns; c; c = c->next) {
        struct ofm_packet_in m = {
            .in_port = pi->meta.in_port,       /* The pipeline's. */
            .total_len = pi->total_len,
            .reason = pi->reason,
            .table_id = pi->table_id,
            .cookie = pi->cookie,
            .data = pi->data,
            .len = pi->len,
            .meta = &pi->meta,
        };

        if (!c->hello_rx || c->closing
            || !(c->async[is_slave(c) ? 1 : 0] & (1u << pi->reason))) {
            continue;
        }
        if (out_pending(c) >= OUT_HIGH_WATER) {
            ofsw->pktin_dropped++;      /* A controller that does not read
                                         * loses packet-ins, not memory. */
            continue;
        }
        ofm_packet_in(&c->out, 0, &m);
        conn_send(c, &c->out);
        ofsw->pktin_sent++;
    }
}

static void
pktin_cb(evutil_socket_t fd, short what, void *ofsw_)
{
    struct ofsw *ofsw = ofsw_;
    struct dp *dp = sw_dp(ofsw->sw);
    struct dp_pktin *pis[64];
    uint64_t cnt;
    size_t total = 0, n;

    (void) what;
    if (fd >= 0 && read(fd, &cnt, sizeof cnt) < 0) {
        /* EAGAIN: woken for what an earlier drain took. */
    }
    while (total < PKTIN_PER_TURN
           && (n = dp_pktin_recv(dp, pis, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            send_packet_in(ofsw, pis[i]);
            free(pis[i]);
        }
        total += n;
    }
    if (total >= PKTIN_PER_TURN) {
        /* More may wait: after the loop's next poll. */
        static const struct timeval zero = { 0, 0 };

        event_add(ofsw->pktin_more, &zero);
    }
}

/* ---- Flow removed. ---- */

static void
flow_removed_cb(struct bridge *br, const struct ofproto_rule_info *info,
                enum ofproto_removed_reason reason, void *ofsw_)
{
    struct ofsw *ofsw = ofsw_;
    long long now = dp_time_ms();

    for (size_t i = 0; i < ofsw->n_bridges; i++) {
        struct ofb *ob = &ofsw->bridges[i];

        if (!ob->name || strcmp(ob->name, bridge_name(br))) {
            continue;
        }
        for (struct of_conn *c = ob->conns; c; c = c->next) {
            if (!c->hello_rx || c->closing
                || !(c->async[is_slave(c) ? 5 : 4] & (1u << reason))) {
                continue;
            }
            ofm_flow_removed(&c->out, info, (uint8_t) reason, now);
            conn_send(c, &c->out);
        }
    }
}

/* ---- Lifecycle. ---- */

static uint64_t
default_dpid(const char *name)
{
    /* FNV-1a of the name in the low 48 bits, like a MAC. */
    uint64_t h = 0xcbf29ce484222325ull;

    for (const char *p = name; *p; p++) {
        h = (h ^ (uint8_t) *p) * 0x100000001b3ull;
    }
    return (h & 0xffffffffffffull) | 0x020000000000ull;
}

static int
ofb_init(struct ofsw *ofsw, struct ofb *ob, const char *name,
         const struct cfg_openflow *of, char *err, size_t errsize)
{
    int ret;

    memset(ob, 0, sizeof *ob);
    ob->ofsw = ofsw;
    ob->name = strdup(name);
    ob->ls = calloc(of->n_listen + 1, sizeof *ob->ls);
    ob->rs = calloc(of->n_controllers + 1, sizeof *ob->rs);
    if (!ob->name || !ob->ls || !ob->rs) {
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    ob->dpid = of->datapath_id ? of->datapath_id : default_dpid(name);
    ob->standalone = of->fail_standalone;
    ob->alone_since = dp_time_ms();
    ob->probe_ms = of->inactivity_probe_ms;
    ob->max_backoff_ms = of->max_backoff_ms ? of->max_backoff_ms : 8000;
    for (size_t i = 0; i < of->n_listen; i++) {
        char e[256];

        ret = listener_open(ob, &ob->ls[i], of->listen[i], e, sizeof e);
        ob->n_ls = i + 1;
        if (ret) {
            snprintf(err, errsize, "bridge %s: openflow.listen: %s",
                     name, e);
            return ret;
        }
    }
    for (size_t i = 0; i < of->n_controllers; i++) {
        struct of_remote *r = &ob->rs[i];

        r->ob = ob;
        r->target = strdup(of->controllers[i]);
        r->retry = evtimer_new(ofsw->base, retry_cb, r);
        ob->n_rs = i + 1;
        if (!r->target || !r->retry
            || cfg_of_target_parse(r->target, &r->t)) {
            snprintf(err, errsize, "bridge %s: controller %s: out of memory "
                     "or bad target", name, of->controllers[i]);
            return ENOMEM;
        }
        remote_connect(r);
    }
    ports_poll(ob);
    return 0;
}

static void
ofb_uninit(struct ofb *ob)
{
    if (ob->fail_open) {
        struct bridge *br = ofb_bridge(ob);

        if (br) {
            sw_set_fail_open(ob->ofsw->sw, br, false);
        }
        ob->fail_open = false;
    }
    while (ob->conns) {
        struct of_conn *c = ob->conns;

        c->remote = NULL;       /* No reconnect. */
        conn_close(c, "shutting down");
    }
    for (size_t i = 0; i < ob->n_ls; i++) {
        struct of_listener *ls = &ob->ls[i];

        if (ls->l) {
            evconnlistener_free(ls->l);
        }
        if (ls->unix_path) {
            unlink(ls->unix_path);
            free(ls->unix_path);
        }
        free(ls->target);
    }
    for (size_t i = 0; i < ob->n_rs; i++) {
        if (ob->rs[i].retry) {
            event_free(ob->rs[i].retry);
        }
        free(ob->rs[i].target);
    }
    free(ob->ls);
    free(ob->rs);
    free(ob->ports);
    free(ob->name);
    memset(ob, 0, sizeof *ob);      /* An empty slot (name NULL). */
}

static void
count_bridge_cb(struct bridge *br, void *n)
{
    (void) br;
    (*(size_t *) n)++;
}

struct init_ctx {
    struct ofsw *ofsw;
    int error;
    char *err;
    size_t errsize;
};

static void
init_bridge_cb(struct bridge *br, void *ctx_)
{
    struct init_ctx *ctx = ctx_;
    struct ofsw *ofsw = ctx->ofsw;
    struct ofb *ob = &ofsw->bridges[ofsw->n_bridges];

    if (ctx->error) {
        return;
    }
    ofsw->n_bridges++;
    ctx->error = ofb_init(ofsw, ob, bridge_name(br), bridge_openflow(br),
                          ctx->err, ctx->errsize);
}

struct ofsw *
ofsw_create(struct event_base *base, struct sw *sw, char *err,
            size_t errsize)
{
    struct ofsw *ofsw = calloc(1, sizeof *ofsw);
    struct init_ctx ctx = { ofsw, 0, err, errsize };
    size_t n = 0;

    if (!ofsw) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    ofsw->base = base;
    ofsw->sw = sw;
    /* One slot per bridge (bridges are not added at run time): those
     * without OpenFlow settings have no listener and no controller until
     * set-openflow gives them some. */
    sw_for_each_bridge(sw, count_bridge_cb, &n);
    ofsw->bridges = calloc(n + 1, sizeof *ofsw->bridges);
    ofsw->timer = evtimer_new(base, timer_cb, ofsw);
    ofsw->save = evtimer_new(base, save_cb, ofsw);
    ofsw->pktin = event_new(base, dp_pktin_fd(sw_dp(sw)),
                            EV_READ | EV_PERSIST, pktin_cb, ofsw);
    ofsw->pktin_more = evtimer_new(base, pktin_cb, ofsw);
    if (!ofsw->bridges || !ofsw->timer || !ofsw->save || !ofsw->pktin
        || !ofsw->pktin_more || event_add(ofsw->pktin, NULL)) {
        snprintf(err, errsize, "out of memory");
        ofsw_destroy(ofsw);
        return NULL;
    }
    sw_for_each_bridge(sw, init_bridge_cb, &ctx);
    if (ctx.error) {
        ofsw_destroy(ofsw);
        return NULL;
    }
    sw_set_flow_removed_cb(sw, flow_removed_cb, ofsw);
    timer_cb(-1, 0, ofsw);
    return ofsw;
}

static struct ofb *
ofsw_find(struct ofsw *ofsw, const char *name)
{
    for (size_t i = 0; i < ofsw->n_bridges; i++) {
        if (ofsw->bridges[i].name && !strcmp(ofsw->bridges[i].name, name)) {
            return &ofsw->bridges[i];
        }
    }
    return NULL;
}

/* Applies new settings to a bridge: every listener and connection of it
 * is closed and opened again.  On failure the old settings come back. */
static int
ofsw_reconfigure(struct ofsw *ofsw, struct bridge *br,
                 const struct cfg_openflow *of, char *err, size_t errsize)
{
    struct ofb *ob = ofsw_find(ofsw, bridge_name(br));
    char e2[256];
    int ret;

    if (!ob) {
        snprintf(err, errsize, "bridge %s: no OpenFlow slot",
                 bridge_name(br));
        return ENOENT;
    }
    ofb_uninit(ob);
    ret = ofb_init(ofsw, ob, bridge_name(br), of, err, errsize);
    if (ret) {
        ofb_uninit(ob);
        if (ofb_init(ofsw, ob, bridge_name(br), bridge_openflow(br), e2,
                     sizeof e2)) {
            LOG_ERR("%s: the previous OpenFlow settings could not be "
                    "restored either: %s", bridge_name(br), e2);
        }
        return ret;
    }
    ret = sw_set_openflow(ofsw->sw, br, of);
    if (ret) {
        snprintf(err, errsize, "out of memory");
    }
    return ret;
}

void
ofsw_destroy(struct ofsw *ofsw)
{
    if (!ofsw) {
        return;
    }
    sw_set_flow_removed_cb(ofsw->sw, NULL, NULL);
    for (size_t i = 0; ofsw->bridges && i < ofsw->n_bridges; i++) {
        ofb_uninit(&ofsw->bridges[i]);
    }
    free(ofsw->bridges);
    if (ofsw->timer) {
        event_free(ofsw->timer);
    }
    if (ofsw->pktin) {
        event_free(ofsw->pktin);
    }
    if (ofsw->pktin_more) {
        event_free(ofsw->pktin_more);
    }
    if (ofsw->save) {
        event_free(ofsw->save);
        sw_flush_changes(ofsw->sw);     /* What the timer had yet to save. */
    }
    free(ofsw);
}

void
ofsw_dump(const struct ofsw *ofsw,
          void (*cb)(const struct ofsw_conn_info *, void *), void *aux)
{
    static const char *const roles[] = { "nochange", "equal", "master",
                                         "slave" };

    for (size_t i = 0; ofsw && i < ofsw->n_bridges; i++) {
        const struct ofb *ob = &ofsw->bridges[i];

        for (const struct of_conn *c = ob->conns; c; c = c->next) {
            struct ofsw_conn_info info = {
                .bridge = ob->name,
                .peer = c->peer,
                .is_controller = c->remote != NULL,
                .connected = c->hello_rx,
                .role = roles[c->role & 3],
                .rx_msgs = c->rx_msgs,
                .tx_msgs = c->tx_msgs,
            };

            cb(&info, aux);
        }
        for (size_t k = 0; k < ob->n_rs; k++) {
            if (!ob->rs[k].conn) {
                struct ofsw_conn_info info = {
                    .bridge = ob->name,
                    .peer = ob->rs[k].target,
                    .is_controller = true,
                    .connected = false,
                    .role = "equal",
                };

                cb(&info, aux);
            }
        }
    }
}

/* ---- Control-socket methods. ---- */

/* set-openflow {bridge, listen?, controllers?, fail_mode?, datapath_id?,
 * inactivity_probe_ms?, max_backoff_ms?}: the keys given replace the
 * bridge's settings (the config's syntax and checks), the others stay;
 * applied at once (the bridge's OpenFlow connections start over) and
 * saved with the state. */
static int
h_set_openflow(json_t *params, json_t **result, char *err, size_t errsize,
               void *ofsw_)
{
    static const char *const allowed[] = {
        "bridge", "listen", "controllers", "fail_mode", "datapath_id",
        "inactivity_probe_ms", "max_backoff_ms", NULL };
    struct ofsw *ofsw = ofsw_;
    struct cfg_openflow of;
    struct bridge *br;
    const char *key;
    json_t *cur, *v;
    int ret;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(ofsw->sw, params, &br, err, errsize));
    cur = cfg_openflow_to_json(bridge_openflow(br));
    if (!cur) {
        return ENOMEM;
    }
    json_object_foreach (params, key, v) {
        if (strcmp(key, "bridge")) {
            json_object_set(cur, key, v);
        }
    }
    if (!json_object_get(cur, "datapath_id")
        || json_is_null(json_object_get(cur, "datapath_id"))) {
        json_object_del(cur, "datapath_id");
    }
    ret = cfg_openflow_from_json(cur, &of, err, errsize);
    json_decref(cur);
    if (ret) {
        return CTL_ERR_INVALID_PARAMS;
    }
    ret = ofsw_reconfigure(ofsw, br, &of, err, errsize);
    cfg_openflow_uninit(&of);
    if (!ret) {
        *result = json_object();
    }
    return ret;
}

struct conns_ctx {
    const char *bridge;
    json_t *arr;
};

static void
conn_json_cb(const struct ofsw_conn_info *info, void *ctx_)
{
    struct conns_ctx *ctx = ctx_;

    if (strcmp(info->bridge, ctx->bridge)) {
        return;
    }
    json_array_append_new(ctx->arr, json_pack(
        "{s:s, s:b, s:b, s:s, s:I, s:I}", "peer", info->peer,
        "controller", info->is_controller, "connected", info->connected,
        "role", info->role, "rx_msgs", (json_int_t) info->rx_msgs,
        "tx_msgs", (json_int_t) info->tx_msgs));
}

/* get-openflow {bridge}: the settings, the connections, fail-open. */
static int
h_get_openflow(json_t *params, json_t **result, char *err, size_t errsize,
               void *ofsw_)
{
    static const char *const allowed[] = { "bridge", NULL };
    struct ofsw *ofsw = ofsw_;
    struct conns_ctx ctx;
    struct bridge *br;
    struct ofb *ob;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(ofsw->sw, params, &br, err, errsize));
    ob = ofsw_find(ofsw, bridge_name(br));
    ctx.bridge = bridge_name(br);
    ctx.arr = json_array();
    *result = cfg_openflow_to_json(bridge_openflow(br));
    if (!*result || !ctx.arr) {
        json_decref(*result);
        json_decref(ctx.arr);
        *result = NULL;
        return ENOMEM;
    }
    ofsw_dump(ofsw, conn_json_cb, &ctx);
    json_object_set_new(*result, "connections", ctx.arr);
    json_object_set_new(*result, "fail_open", json_boolean(ob
                                                          && ob->fail_open));
    if (ob) {
        char dpid[17];

        snprintf(dpid, sizeof dpid, "%016" PRIx64, ob->dpid);
        json_object_set_new(*result, "datapath_id_in_use",
                            json_string(dpid));
    }
    json_object_set_new(*result, "packet_ins_sent",
                        json_integer((json_int_t) ofsw->pktin_sent));
    json_object_set_new(*result, "packet_ins_dropped",
                        json_integer((json_int_t) ofsw->pktin_dropped));
    return 0;
}

int
ofsw_register_methods(struct ofsw *ofsw, struct ctl_server *server)
{
    static const struct ctl_method_def methods[] = {
        { "set-openflow", h_set_openflow, 0 },
        { "get-openflow", h_get_openflow, CTL_READ_ONLY },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], ofsw);
}
