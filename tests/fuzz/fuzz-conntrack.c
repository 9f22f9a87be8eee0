/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-conntrack.c: fuzz target for the connection tracker: arbitrary
 * frames through conntrack_execute() with commits, NAT, zones, limits,
 * expiry and flushes in between. */

/*
 * Input: byte 0 configures the tracker (max_conns = 1 + (b & 31), so
 * commits soon find it full and evict; bit 7: checksum checks off).  Then
 * records: [op][len][len bytes of frame].  op bit 7 set: no frame is read;
 * bits 0-1 say what happens instead: flush the zone (bits 4-5), flush
 * everything, sweep with the clock 31 s later, or dump; with bit 2, a
 * session offload call on the last connection a ct() returned (by tuple
 * and uid): to hardware, back to software (bit 6: never installed),
 * credit hardware counts, close as idle.  Otherwise the frame goes
 * through one ct() with: bit 0 commit, bit 1 SNAT, bit 2 DNAT (bit 1
 * wins), bit 3 force, bits 4-5 the zone, bit 6 set ct_mark (with commit)
 * or claim the direction for offload (without).
 * Frames are copied into exactly sized heap buffers, so ASan catches any
 * access outside them.
 *
 * Checked beyond "no crash":
 *   - ct_state has +trk, and +inv never comes with +new, +est or +rel,
 *     nor with a request to tear an offloaded session down;
 *   - the frame's length never changes, and a valid IPv4 header checksum
 *     stays valid whatever NAT did;
 *   - the table's invariants hold (conntrack_check(), a walk of every
 *     bucket, so after every 16th record) and at the end, and a final
 *     flush empties it.
 */

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

/* -1: no complete IPv4 header at 'l3'; else whether its checksum holds. */
static int
ipv4_csum_ok(const uint8_t *f, size_t len, uint16_t l3)
{
    uint32_t s = 0;
    size_t ihl;

    if (l3 == FLOW_OFS_NONE || len < (size_t) l3 + 20 || (f[l3] >> 4) != 4) {
        return -1;
    }
    ihl = (size_t) (f[l3] & 0x0f) * 4;
    if (ihl < 20 || len < l3 + ihl) {
        return -1;
    }
    for (size_t i = 0; i < ihl; i += 2) {
        s += (uint32_t) (f[l3 + i] << 8 | f[l3 + i + 1]);
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return s == 0xffff;
}

static void
count_cb(const struct ct_conn_info *ci, void *n_)
{
    size_t *n = n_;

    (void) ci;
    (*n)++;
}

static void
event_cb(const struct ct_conn_info *ci, enum ct_close_reason reason,
         void *n_)
{
    size_t *n = n_;
    char line[512];

    ct_conn_info_format(ci, line, sizeof line);
    FUZZ_ASSERT(reason <= CT_CLOSE_EVICT);
    (*n)++;
}

static void
set_nat(struct ct_exec *e, bool src, bool v6)
{
    struct ct_nat *n = &e->nat;

    memset(n, 0, sizeof *n);
    n->flags = src ? CT_NAT_SRC : CT_NAT_DST;
    n->is_ipv6 = v6;
    if (v6) {
        inet_pton(AF_INET6, "fd00::100", n->addr_min);
        inet_pton(AF_INET6, "fd00::101", n->addr_max);
    } else if (src) {
        inet_pton(AF_INET, "10.9.0.1", n->addr_min);
        inet_pton(AF_INET, "10.9.0.2", n->addr_max);
    } else {
        inet_pton(AF_INET, "10.0.0.5", n->addr_min);
        memcpy(n->addr_max, n->addr_min, 16);
    }
    n->port_min = src ? 1000 : 80;
    n->port_max = src ? 1001 : 80;
}

static size_t n_gone;

static void
gone_cb(const struct ct_tuple *orig, uint64_t uid, void *aux)
{
    (void) orig;
    (void) uid;
    ++*(size_t *) aux;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conntrack *ct;
    uint64_t now = 1000, last_uid = 0;
    size_t n_events = 0, n_records = 0, pos = 1;
    struct ct_tuple last;
    bool has_last = false;

    if (!size) {
        return 0;
    }
    /* A small table (its size is not what is fuzzed): thousands of runs
     * a second instead of a few, each allocating 16 MiB. */
    ct = conntrack_create_sized(NULL, NULL, 8);
    FUZZ_ASSERT(ct);
    conntrack_set_event_cb(ct, event_cb, &n_events);
    conntrack_set_offload_cb(ct, gone_cb, &n_gone);
    conntrack_set_max_conns(ct, 1 + (data[0] & 31));
    FUZZ_ASSERT(conntrack_set_zone_limit(ct, 1, 3) == 0);
    conntrack_set_checksum_check(ct, !(data[0] & 0x80));

    while (pos + 2 <= size) {
        uint8_t op = data[pos];
        uint16_t zone = (op >> 4) & 3;

        if (op & 0x80) {
            size_t n = 0;

            pos += 1;
            if ((op & 4) && has_last) {
                /* Session offload calls on the last connection seen (by
                 * tuple and uid: it may be gone or re-opened). */
                switch (op & 3) {
                case 0:
                    conntrack_session_set_hw(ct, &last, last_uid,
                                             CT_SESSION_HW, 0, now);
                    break;
                case 1:
                    conntrack_session_set_hw(ct, &last, last_uid,
                                             op & 0x40 ? CT_SESSION_NEVER
                                                       : CT_SESSION_SW,
                                             op & 0x0f, now);
                    break;
                case 2:
                    conntrack_session_credit(ct, &last, last_uid, op & 0x40,
                                             op & 0x0f, 64 * (op & 0x0f),
                                             now);
                    break;
                default:
                    conntrack_session_close_idle(ct, &last, last_uid,
                                                 now - (op & 0x40 ? 0 : 50),
                                                 now);
                    break;
                }
                (void) conntrack_session_state(ct, &last, last_uid);
                goto next;
            }
            switch (op & 3) {
            case 0:
                conntrack_flush(ct, &zone, NULL, now);
                break;
            case 1:
                conntrack_flush(ct, NULL, NULL, now);
                break;
            case 2:
                now += 31000;
                conntrack_sweep(ct, now, 16);
                break;
            default:
                conntrack_dump(ct, NULL, now, count_cb, &n);
                break;
            }
        } else {
            size_t len = data[pos + 1];
            struct ct_exec e;
            struct ct_md md;
            struct ct_pkt p = { 0 };
            struct flow f;
            uint8_t *frame;
            int before;

            pos += 2;
            if (len > size - pos) {
                len = size - pos;
            }
            frame = malloc(len ? len : 1);
            FUZZ_ASSERT(frame);
            memcpy(frame, data + pos, len);
            pos += len;

            memset(&e, 0, sizeof e);
            e.zone = zone;
            e.flags = (op & 1 ? CT_F_COMMIT : 0)
                      | (op & 8 && op & 1 ? CT_F_FORCE : 0);
            if (op & 0x40 && op & 1) {
                e.flags |= CT_F_SET_MARK;
                e.mark = 0x2a;
                e.mark_mask = 0xff;
            }
            flow_extract(frame, len, 1, &f, &p.layers);
            if (op & 6 && op & 1) {
                set_nat(&e, op & 2,
                        f.dl_type == htons(ETH_TYPE_IPV6));
            }
            memset(&md, 0, sizeof md);
            p.data = frame;
            p.len = (uint32_t) len;
            p.flow = &f;
            p.md = &md;
            before = ipv4_csum_ok(frame, len, p.layers.l3);
            conntrack_execute(ct, &p, 1, &e, now);

            FUZZ_ASSERT(p.len == len);
            FUZZ_ASSERT(md.state & CS_TRACKED);
            if (md.state & CS_INVALID) {
                FUZZ_ASSERT(!(md.state & (CS_NEW | CS_ESTABLISHED
                                          | CS_RELATED)));
            }
            if (before == 1) {
                FUZZ_ASSERT(ipv4_csum_ok(frame, len, p.layers.l3) == 1);
            }
            if (md.hw_teardown) {
                FUZZ_ASSERT(!(md.state & CS_INVALID));
            }
            if (md.conn) {
                conntrack_conn_orig(md.conn, &last);
                last_uid = conntrack_conn_uid(md.conn);
                has_last = true;
                if ((op & 0x40) && !(op & 1)) {
                    (void) conntrack_session_claim(md.conn, &md, 1);
                }
            }
            free(frame);
            now += 7;
        }
next:
        if (!(++n_records & 15)) {
            FUZZ_ASSERT(conntrack_check(ct) == 0);
        }
    }

    conntrack_flush(ct, NULL, NULL, now);
    FUZZ_ASSERT(conntrack_check(ct) == 0);
    {
        size_t n = 0;

        conntrack_dump(ct, NULL, now, count_cb, &n);
        FUZZ_ASSERT(n == 0);
    }
    conntrack_destroy(ct);
    return 0;
}
