/* SPDX-License-Identifier: BSD-3-Clause */
/* hkey.c: the header key of the common packet shape. */
#include "hkey.h"
#include "util.h"

#include <string.h>

#define L2_LEN HKEY_L2_LEN
#define L4_OFS HKEY_L4_OFS

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
