/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-flow.c: fuzz target for flow_extract(), flow_hash*() and
 * pkt_rewrite() of random datapath actions on the parsed packet. */

/*
 * Input: byte 0 = in_port; byte 1 = number of actions N (mod 8); then N raw
 * struct dp_action images (the type reduced to a valid dp_action_type);
 * the rest is the frame.  The frame is copied into an exactly sized heap
 * buffer (with 32 bytes of headroom for VLAN pushes) so that ASan catches
 * any read or write outside it.
 *
 * Checked beyond "no crash":
 *   - flow_extract() is deterministic and leaves the pad fields zero;
 *     flow_hash() equals flow_hash_masked() with an all-ones mask.
 *   - the layer offsets are inside the frame.
 *   - a failed pkt_rewrite() leaves the frame unchanged.
 *   - the frame end never moves (push/pop only move the start).
 *   - a valid IPv4 header checksum stays valid across DPA_SET_IPV4.
 *   - where hkey_extract() accepts the frame, hkey_to_flow() of its key is
 *     exactly the parsed flow and layers (hkey.h's contract).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "flow.h"
#include "hkey.h"
#include "packet-rewrite.h"

#define HEADROOM 32
#define MAX_ACTIONS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

static uint16_t
be16_at(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

/* True if the frame has a complete IPv4 header at 'l3' whose checksum
 * verifies. */
static int
ipv4_csum_ok(const uint8_t *f, size_t len, size_t l3, int *present)
{
    const uint8_t *ip;
    size_t ihl, i;
    uint32_t s = 0;

    *present = 0;
    if (l3 == FLOW_OFS_NONE || l3 < 14 || len < l3 + 20
        || be16_at(f + l3 - 2) != ETH_TYPE_IP) {
        return 0;
    }
    ip = f + l3;
    ihl = (size_t) (ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || len < l3 + ihl
        || be16_at(ip + 2) < ihl || be16_at(ip + 2) > len - l3) {
        return 0;
    }
    *present = 1;
    for (i = 0; i < ihl; i += 2) {
        s += be16_at(ip + i);
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return s == 0xffff;
}

static void
check_extract(const uint8_t *pkt, size_t len, uint32_t in_port,
              struct flow *flow, struct flow_layers *ly)
{
    struct flow again, ones;
    struct flow_layers ly2;

    flow_extract(pkt, len, in_port, flow, ly);
    FUZZ_ASSERT(flow->in_port == in_port);
    FUZZ_ASSERT(flow->pad0 == 0 && flow->pad1 == 0 && flow->pad2 == 0);
    FUZZ_ASSERT(ly->n_vlans <= 2);
    FUZZ_ASSERT(ly->l3 == FLOW_OFS_NONE || ly->l3 <= len);
    FUZZ_ASSERT(ly->l4 == FLOW_OFS_NONE || ly->l4 <= len);
    FUZZ_ASSERT(ly->l4 == FLOW_OFS_NONE
                || (ly->l3 != FLOW_OFS_NONE && ly->l4 > ly->l3));

    flow_extract(pkt, len, in_port, &again, &ly2);
    FUZZ_ASSERT(!memcmp(flow, &again, sizeof again));
    FUZZ_ASSERT(ly->l3 == ly2.l3 && ly->l4 == ly2.l4
                && ly->n_vlans == ly2.n_vlans);
    flow_extract(pkt, len, in_port, &again, NULL);
    FUZZ_ASSERT(!memcmp(flow, &again, sizeof again));

    {
        struct hkey hk;

        if (hkey_extract(pkt, len, in_port, &hk)) {
            hkey_to_flow(&hk, &again, &ly2);
            FUZZ_ASSERT(!memcmp(flow, &again, sizeof again));
            FUZZ_ASSERT(ly->l3 == ly2.l3 && ly->l4 == ly2.l4
                        && ly->n_vlans == ly2.n_vlans);
        }
    }

    memset(&ones, 0xff, sizeof ones);
    FUZZ_ASSERT(flow_hash(flow, 7) == flow_hash_masked(flow, &ones, 7));
    FUZZ_ASSERT(flow_equal_masked(flow, &again, &ones));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dp_action acts[MAX_ACTIONS];
    struct flow_layers ly, ly_new;
    struct flow flow;
    size_t n_acts, i, len, len0;
    uint8_t *buf, *frame, *before;
    uint32_t in_port;

    if (size < 2) {
        return 0;
    }
    in_port = data[0];
    n_acts = data[1] % MAX_ACTIONS;
    data += 2;
    size -= 2;
    if (size < n_acts * sizeof acts[0]) {
        n_acts = size / sizeof acts[0];
    }
    for (i = 0; i < n_acts; i++) {
        memcpy(&acts[i], data, sizeof acts[i]);
        acts[i].type = (uint16_t) (acts[i].type % (DPA_SET_VLAN + 1));
        data += sizeof acts[i];
        size -= sizeof acts[i];
    }

    len0 = len = size;
    buf = malloc(HEADROOM + len + 1);   /* +1: malloc(0) may give NULL. */
    before = malloc(HEADROOM + len + 1);
    if (!buf || !before) {
        free(buf);
        free(before);
        return 0;
    }
    frame = buf + HEADROOM;
    if (len) {
        memcpy(frame, data, len);
    }
    check_extract(frame, len, in_port, &flow, &ly);

    for (i = 0; i < n_acts; i++) {
        size_t headroom = (size_t) (frame - buf);
        uint8_t *f0 = frame;
        size_t n0 = len;
        int had_ip, ok_before, ok_after, err;

        ok_before = ipv4_csum_ok(frame, len, ly.l3, &had_ip);
        memcpy(before, frame, len);
        err = pkt_rewrite(&frame, &len, headroom, &ly, &acts[i]);
        FUZZ_ASSERT(frame >= buf && frame + len == buf + HEADROOM + len0);
        if (err) {
            FUZZ_ASSERT(frame == f0 && len == n0);
            FUZZ_ASSERT(!memcmp(before, frame, len));
            continue;
        }
        FUZZ_ASSERT(acts[i].type != DPA_OUTPUT);
        if (acts[i].type == DPA_SET_IPV4 && had_ip && ok_before) {
            ok_after = ipv4_csum_ok(frame, len, ly.l3, &had_ip);
            FUZZ_ASSERT(had_ip && ok_after);
        }
        /* The parser must be safe on whatever the rewrite made; later
         * actions keep using the layers pkt_rewrite() maintains, as the
         * datapath does. */
        check_extract(frame, len, in_port, &flow, &ly_new);
    }
    free(before);
    free(buf);
    return 0;
}
