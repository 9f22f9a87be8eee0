/* SPDX-License-Identifier: BSD-3-Clause */
/* port-ol.c: meets checksum and segmentation offload requests on the way
 * out (port.h, "Checksum and segmentation offload"). */

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "pkt-ol.h"
#include "port-io.h"

#define OL_BURST 64

bool port_ol_active;

void
port_ol_enable(void)
{
    __atomic_store_n(&port_ol_active, true, __ATOMIC_RELAXED);
}

static int ol_tunnel(uint64_t f);

static void
ext_buf_free(void *addr, void *opaque)
{
    (void) addr;
    rte_free(opaque);
}

/* Attaches to 'm' (direct, no buffer of its own in use) an external
 * buffer from rte_malloc on 'socket' with room for 'len' bytes after the
 * usual headroom, and sets its lengths to 'len'.  False if 'len' is too
 * large for an mbuf or there is no memory. */
static bool
ext_buf_attach(struct rte_mbuf *m, uint32_t len, int socket)
{
    struct rte_mbuf_ext_shared_info *shinfo;
    size_t total = (size_t) RTE_PKTMBUF_HEADROOM + len + sizeof *shinfo + 8;
    uint16_t buf_len;
    void *buf;

    if (total > UINT16_MAX) {
        return false;
    }
    buf = rte_malloc_socket(NULL, total, RTE_CACHE_LINE_SIZE, socket);
    if (!buf) {
        return false;
    }
    buf_len = (uint16_t) total;
    shinfo = rte_pktmbuf_ext_shinfo_init_helper(buf, &buf_len, ext_buf_free,
                                                buf);
    if (!shinfo) {
        rte_free(buf);
        return false;
    }
    rte_pktmbuf_attach_extbuf(m, buf, rte_malloc_virt2iova(buf), buf_len,
                              shinfo);
    rte_pktmbuf_reset_headroom(m);
    m->data_len = (uint16_t) len;
    m->pkt_len = len;
    return true;
}

struct rte_mbuf *
port_pkt_copy(struct rte_mbuf *m, struct rte_mempool *mp)
{
    uint32_t len = rte_pktmbuf_pkt_len(m);
    const void *src;
    struct rte_mbuf *c;

    if (len <= (uint32_t) (rte_pktmbuf_data_room_size(mp)
                           - RTE_PKTMBUF_HEADROOM)) {
        return rte_pktmbuf_copy(m, mp, 0, UINT32_MAX);
    }
    c = rte_pktmbuf_alloc(mp);
    if (!c) {
        return NULL;
    }
    if (!ext_buf_attach(c, len, mp->socket_id)) {
        rte_pktmbuf_free(c);
        return NULL;
    }
    src = rte_pktmbuf_read(m, 0, len, rte_pktmbuf_mtod(c, void *));
    if (src != rte_pktmbuf_mtod(c, void *)) {
        memcpy(rte_pktmbuf_mtod(c, void *), src, len);
    }
    __rte_pktmbuf_copy_hdr(c, m);
    c->ol_flags |= m->ol_flags & ~(RTE_MBUF_F_INDIRECT
                                   | RTE_MBUF_F_EXTERNAL);
    return c;
}

int
port_pkt_linearize(struct rte_mbuf *m)
{
    struct rte_mbuf *head;
    uint64_t flags;
    uint32_t len;

    if (m->nb_segs == 1 || !rte_pktmbuf_linearize(m)) {
        return 0;
    }
    /* More than the first buffer holds: the data goes into a new external
     * buffer, copied through a temporary head that keeps the chain. */
    len = rte_pktmbuf_pkt_len(m);
    head = rte_pktmbuf_alloc(m->pool);
    if (!head) {
        return -1;
    }
    if (!ext_buf_attach(head, len, m->pool->socket_id)) {
        rte_pktmbuf_free(head);
        return -1;
    }
    if (rte_pktmbuf_read(m, 0, len, rte_pktmbuf_mtod(head, void *))
        != rte_pktmbuf_mtod(head, void *)) {
        rte_pktmbuf_free(head);     /* A chain is never contiguous. */
        return -1;
    }
    /* 'm' keeps its identity (callers hold it): its segments go, it
     * takes the new buffer over from 'head'. */
    flags = m->ol_flags & ~(RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL);
    rte_pktmbuf_free(m->next);
    m->next = NULL;
    m->nb_segs = 1;
    if (RTE_MBUF_CLONED(m) || RTE_MBUF_HAS_EXTBUF(m)) {
        rte_pktmbuf_detach(m);
    }
    rte_pktmbuf_attach_extbuf(m, head->buf_addr, rte_mbuf_iova_get(head),
                              head->buf_len, head->shinfo);
    rte_mbuf_ext_refcnt_update(head->shinfo, 1);
    rte_pktmbuf_free(head);         /* The buffer stays: 'm' holds it. */
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->data_len = (uint16_t) len;
    m->pkt_len = len;
    m->ol_flags |= flags;
    return 0;
}

int
port_rx_linearize(struct rte_mbuf **pkts, int n, uint64_t *dropped)
{
    int k = 0;

    for (int i = 0; i < n; i++) {
        if (pkts[i]->nb_segs > 1 && port_pkt_linearize(pkts[i])) {
            rte_pktmbuf_free(pkts[i]);
            (*dropped)++;
            continue;
        }
        pkts[k++] = pkts[i];
    }
    return k;
}

bool
port_ol_csum_now(struct rte_mbuf *m)
{
    struct pkt_ol_layout ly;
    int tunnel = ol_tunnel(m->ol_flags);

    if (tunnel < 0 || port_pkt_linearize(m)
        || !pkt_ol_parse(rte_pktmbuf_mtod(m, const uint8_t *),
                         rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                         (enum pkt_ol_tunnel) tunnel, &ly)) {
        return false;
    }
    pkt_ol_csum(rte_pktmbuf_mtod(m, uint8_t *), &ly,
                (m->ol_flags & RTE_MBUF_F_TX_OUTER_UDP_CKSUM) != 0);
    return true;
}

/* What port_send_ol() has queued and sent so far. */
struct ol_out {
    struct port *port;
    unsigned qid;
    struct rte_mbuf *pkts[OL_BURST];
    int n;
    int sent;
    uint64_t bytes;
    uint64_t dropped;           /* Refused by the device, or lost here. */
    uint64_t ol_dropped;        /* Lost here. */
};

static void
ol_flush(struct ol_out *o)
{
    uint64_t bytes = 0;
    int sent;

    if (!o->n) {
        return;
    }
    sent = port_send_qid(o->port, o->qid, o->pkts, o->n, &bytes);
    o->sent += sent;
    o->bytes += bytes;
    o->dropped += (uint64_t) (o->n - sent);
    o->n = 0;
}

static void
ol_emit(struct ol_out *o, struct rte_mbuf *m)
{
    o->pkts[o->n++] = m;
    if (o->n == OL_BURST) {
        ol_flush(o);
    }
}

/* The tunnel an mbuf's flags say it was encapsulated in, or -1 for one
 * pkt-ol does not know. */
static int
ol_tunnel(uint64_t f)
{
    switch (f & RTE_MBUF_F_TX_TUNNEL_MASK) {
    case 0:
        return PKT_OL_TNL_NONE;
    case RTE_MBUF_F_TX_TUNNEL_VXLAN:
        return PKT_OL_TNL_VXLAN;
    case RTE_MBUF_F_TX_TUNNEL_GENEVE:
        return PKT_OL_TNL_GENEVE;
    default:
        return -1;
    }
}

/* Hands 'm' (layout 'ly', not encapsulated) to a device that completes
 * checksums and, with 'tso', segments: the offsets and flags rte_vhost and
 * NIC drivers read, the pseudo-header sum in the checksum field.  False
 * if the headers do not fit the mbuf's offset fields. */
static bool
ol_to_device(struct rte_mbuf *m, const struct pkt_ol_layout *ly, bool tso)
{
    uint64_t f;

    if (ly->l3 > 127 || ly->l4 - ly->l3 > 511) {
        return false;
    }
    m->l2_len = ly->l3;
    m->l3_len = (uint64_t) (ly->l4 - ly->l3);
    m->l4_len = ly->l4_hlen;
    f = (ly->v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4)
        | (ly->proto == 6 ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
    if (tso) {
        f |= RTE_MBUF_F_TX_TCP_SEG;
    }
    m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_TX_OFFLOAD_MASK) | f;
    pkt_ol_csum_partial(rte_pktmbuf_mtod(m, uint8_t *), ly);
    return true;
}

/* A new mbuf from 'mp' holding 'hlen' bytes of 'hdr' then the 'plen'
 * bytes of (possibly chained) 'src' from offset 'off', in one buffer (an
 * external one when a jumbo segment is larger than an mbuf's), or NULL. */
static struct rte_mbuf *
ol_seg_alloc(struct rte_mempool *mp, const uint8_t *hdr, uint32_t hlen,
             const struct rte_mbuf *src, uint32_t off, uint32_t plen)
{
    struct rte_mbuf *s = rte_pktmbuf_alloc(mp);
    uint8_t *d;

    if (!s) {
        return NULL;
    }
    if (rte_pktmbuf_tailroom(s) >= hlen + plen) {
        s->data_len = (uint16_t) (hlen + plen);
        s->pkt_len = hlen + plen;
    } else if (!ext_buf_attach(s, hlen + plen, mp->socket_id)) {
        rte_pktmbuf_free(s);
        return NULL;
    }
    d = rte_pktmbuf_mtod(s, uint8_t *);
    memcpy(d, hdr, hlen);
    d += hlen;
    /* The payload, from whichever segments of 'src' hold it. */
    while (src && off >= src->data_len) {
        off -= src->data_len;
        src = src->next;
    }
    while (plen && src) {
        uint32_t c = src->data_len - off;

        if (c > plen) {
            c = plen;
        }
        memcpy(d, rte_pktmbuf_mtod_offset(src, const uint8_t *, off), c);
        d += c;
        plen -= c;
        off = 0;
        src = src->next;
    }
    if (plen) {
        rte_pktmbuf_free(s);        /* Shorter than its IP length said. */
        return NULL;
    }
    return s;
}

/* Cuts TCP packet 'm' (layout 'ly'; headers in its first segment, the
 * payload in any) into segments of 'mss' payload bytes and emits them;
 * frees 'm'.  Returns the segments made (those it could not make for lack
 * of buffers are counted lost), or -1 when there would be too many
 * (nothing made; the caller counts the packet). */
static int
ol_segment(struct ol_out *o, struct rte_mbuf *m,
           const struct pkt_ol_layout *ly, uint32_t mss, bool outer_csum)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    uint32_t n = pkt_ol_n_segs(ly, mss);
    uint32_t payload = ly->end - ly->hdr_len;
    uint32_t i;

    if (n > PORT_OL_MAX_SEGS) {
        rte_pktmbuf_free(m);
        return -1;
    }
    for (i = 0; i < n; i++) {
        uint32_t start = i * mss;
        uint32_t plen = payload - start < mss ? payload - start : mss;
        struct rte_mbuf *s = ol_seg_alloc(m->pool, p, ly->hdr_len, m,
                                          ly->hdr_len + start, plen);
        uint8_t *d;

        if (!s) {
            break;
        }
        d = rte_pktmbuf_mtod(s, uint8_t *);
        pkt_ol_seg_fix(d, ly, i, n, mss, d + ly->hdr_len, plen, outer_csum);
        s->port = m->port;
        ol_emit(o, s);
    }
    rte_pktmbuf_free(m);
    if (i < n) {
        /* Out of buffers: the segments not made are lost. */
        o->dropped += n - i;
        o->ol_dropped += n - i;
    }
    return (int) i;
}

int
port_send_ol(struct port *port, unsigned qid, struct rte_mbuf **pkts, int n,
             uint64_t *bytes, uint64_t *dropped)
{
    struct port_txq_stats *st = &port->txq_stats[qid];
    uint32_t caps = __atomic_load_n(&port->tx_ol, __ATOMIC_RELAXED);
    uint64_t segs = 0, csums = 0;
    struct ol_out o = { .port = port, .qid = qid };

    for (int i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        uint64_t f = m->ol_flags;
        struct pkt_ol_layout ly;
        bool outer_csum;
        int tunnel;

        if (!(f & PORT_OL_MBUF_FLAGS)) {
            ol_emit(&o, m);
            continue;
        }
        tunnel = ol_tunnel(f);
        if (tunnel < 0) {
            goto drop;
        }
        /* Headers from the first segment (packets arrive in one, but a
         * chain would do: a device that takes the request takes it as it
         * is, and segments are cut from any segment). */
        if (!pkt_ol_parse(rte_pktmbuf_mtod(m, const uint8_t *),
                          rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                          (enum pkt_ol_tunnel) tunnel, &ly)) {
            goto drop;
        }
        outer_csum = (f & RTE_MBUF_F_TX_OUTER_UDP_CKSUM) != 0;
        if ((f & RTE_MBUF_F_TX_TCP_SEG) && ly.proto == 6
            && ly.end - ly.hdr_len > m->tso_segsz) {
            uint32_t want = ly.v6 ? PORT_TX_OL_TSO6 : PORT_TX_OL_TSO4;
            int made;

            if (m->tso_segsz < PORT_OL_MIN_MSS) {
                goto drop;      /* 0, or a thousand segments for one. */
            }
            if (tunnel == PKT_OL_TNL_NONE && (caps & want)
                && (caps & PORT_TX_OL_CSUM) && ol_to_device(m, &ly, true)) {
                ol_emit(&o, m);
                continue;
            }
            made = ol_segment(&o, m, &ly, m->tso_segsz, outer_csum);
            if (made < 0) {
                o.ol_dropped++;
                o.dropped++;
            } else {
                segs += (uint64_t) made;
            }
            continue;
        }
        /* A checksum only (or a TSO packet that is one segment). */
        if (tunnel == PKT_OL_TNL_NONE && (caps & PORT_TX_OL_CSUM)
            && ol_to_device(m, &ly, false)) {
            ol_emit(&o, m);
            continue;
        }
        if (port_pkt_linearize(m)) {
            goto drop;
        }
        pkt_ol_csum(rte_pktmbuf_mtod(m, uint8_t *), &ly, outer_csum);
        m->ol_flags &= ~RTE_MBUF_F_TX_OFFLOAD_MASK;
        csums++;
        ol_emit(&o, m);
        continue;

    drop:
        rte_pktmbuf_free(m);
        o.ol_dropped++;
        o.dropped++;
    }
    ol_flush(&o);

    /* This qid's counters have one writer, this thread. */
    st->sw_segments += segs;
    st->sw_checksums += csums;
    st->ol_dropped += o.ol_dropped;
    *bytes = o.bytes;
    *dropped = o.dropped;
    return o.sent;
}
