/* SPDX-License-Identifier: BSD-3-Clause */
/* hkey.c: the header key of the common packet shape. */
#include "hkey.h"
#include "util.h"

#include <string.h>

#define L2_LEN 14
#define L3_LEN 20
#define L4_OFS (L2_LEN + L3_LEN)

static inline uint64_t
ld64(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, sizeof w);
    return w;
}

/* Per IP protocol: what the parser reads after the IP header, and how many
 * L4 bytes it needs to read it.  A table, not a switch: traffic mixes TCP
 * and UDP packet by packet, and a branch on the protocol would mispredict
 * about as often as not. */
enum l4_kind { L4_NONE, L4_PORTS, L4_TCP, L4_ICMP };

struct l4_shape {
    uint8_t kind;           /* enum l4_kind */
    uint8_t need;           /* Minimum L4 bytes for the parser to read it. */
};

static const struct l4_shape l4_shapes[256] = {
    [IPPROTO_TCP_] = { L4_TCP, 20 },
    [IPPROTO_UDP_] = { L4_PORTS, 8 },
    [IPPROTO_SCTP_] = { L4_PORTS, 12 },
    [IPPROTO_ICMP_] = { L4_ICMP, 4 },
    [IPPROTO_ICMPV6_] = { L4_ICMP, 4 },     /* The parser reads type/code. */
};

/* Per kind, which of the candidate L4 words the key takes (all ones or
 * zero), so that choosing costs no branch. */
static const struct {
    uint64_t ports, tcp, icmp;
} l4_select[4] = {
    [L4_NONE] = { 0, 0, 0 },
    [L4_PORTS] = { UINT64_MAX, 0, 0 },
    [L4_TCP] = { UINT64_MAX, UINT64_MAX, 0 },
    [L4_ICMP] = { 0, 0, UINT64_MAX },
};

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hkey.c composes key words for a little-endian host"
#endif

bool
hkey_extract(const void *pkt_, size_t len, uint32_t in_port,
             struct hkey *key)
{
    const uint8_t *p = pkt_;
    const struct l4_shape *sh;
    const __typeof__(l4_select[0]) *sel;
    uint64_t ports, tcp, icmp, l4;
    uint16_t tcpw;
    size_t tot, n, doff;

    if (__builtin_expect(len < L4_OFS, 0)) {
        return false;
    }
    if (len > 0xfffe) {
        len = 0xfffe;           /* As flow_extract(). */
    }
    /* Ethertype IPv4, version 4 with no options, whole and unfragmented. */
    tot = get_be16(p + 16);
    if (p[12] != 0x08 || p[13] != 0x00 || p[14] != 0x45
        || tot < L3_LEN || tot > len - L2_LEN
        || (get_be16(p + 20) & 0x3fff)) {
        return false;
    }
    n = tot - L3_LEN;           /* L4 bytes, as the parser bounds them. */
    sh = &l4_shapes[p[23]];
    if (n < sh->need) {
        return false;           /* The parser would leave them zero. */
    }

    /* Read what any kind could use (the frame holds it whenever that kind
     * is possible), then select without branching on the kind. */
    ports = len >= L4_OFS + 4
            ? (uint64_t) p[L4_OFS] | (uint64_t) p[L4_OFS + 1] << 8
              | (uint64_t) p[L4_OFS + 2] << 16
              | (uint64_t) p[L4_OFS + 3] << 24
            : 0;
    tcpw = len >= L4_OFS + 14 ? get_be16(p + L4_OFS + 12) : 0;
    doff = (size_t) (tcpw >> 12) * 4;
    sel = &l4_select[sh->kind];
    /* Masked, so that no branch depends on the protocol. */
    if (sel->tcp & ((doff < 20) | (doff > n))) {
        return false;           /* The parser would leave ports zero. */
    }
    /* tcp_flags as a be16 in bytes 4-5; ICMP type and code as be16s. */
    tcp = (uint64_t) to_be16(tcpw & 0x0fff) << 32;
    icmp = (ports & 0xff) << 8 | (ports & 0xff00) << 16;
    l4 = (ports & sel->ports) | (tcp & sel->tcp) | (icmp & sel->icmp);

    key->w[0] = ld64(p);
    key->w[1] = ld64(p + 8);
    key->w[2] = (uint64_t) in_port | (uint64_t) p[22] << 48
                | (uint64_t) p[23] << 56;
    key->w[3] = ld64(p + 26);
    key->w[4] = l4;
    return true;
}

void
hkey_to_flow(const struct hkey *key, struct flow *flow,
             struct flow_layers *layers)
{
    uint8_t b[5 * 8];

    memcpy(b, key->w, sizeof b);
    memset(flow, 0, sizeof *flow);
    memcpy(&flow->in_port, b + 16, 4);
    memcpy(flow->dl_dst, b, 6);
    memcpy(flow->dl_src, b + 6, 6);
    flow->dl_type = to_be16(ETH_TYPE_IP);
    flow->nw_tos = b[15];
    flow->nw_ttl = b[22];
    flow->nw_proto = b[23];
    memcpy(&flow->nw_src, b + 24, 4);
    memcpy(&flow->nw_dst, b + 28, 4);
    memcpy((uint8_t *) flow + offsetof(struct flow, tp_src), b + 32, 8);
    if (layers) {
        layers->l3 = L2_LEN;
        layers->l4 = L4_OFS;
        layers->n_vlans = 0;
    }
}
