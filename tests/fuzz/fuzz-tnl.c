/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-tnl.c: fuzz target for tnl_parse() (VXLAN and GENEVE), a
 * tnl_build()/tnl_finish() round trip of what it accepts, and the tunnel
 * port map (tnl_map_create(), tnl_map_lookup(), tnl_map_has_port()). */

/*
 * Input: byte 0 = l3_ofs (the frame's layer 3 offset; seeds use 14 or 18);
 * byte 1 = number of map entries N (mod 9); then N records of 40 bytes:
 *     [type (mod 3)] [flags: 1 is_ipv6, 2 remote_any, 4 local_any,
 *     8 key_any] [udp_port, be16] [remote 16] [local 16] [key, be32]
 * the rest is the frame, parsed both as VXLAN and as GENEVE.  The frame is
 * copied into an exactly sized heap buffer so that ASan catches any read
 * outside it.
 *
 * Checked beyond "no crash":
 *   - tnl_parse() is deterministic; what it accepts has hdr_len + 14 <=
 *     len, a 24-bit tun_id, FLOW_TNL_F_KEY, zero pad and addresses of the
 *     outer IP version only.
 *   - an accepted frame, re-encapsulated from its metadata with
 *     tnl_build() and tnl_finish(), parses back to the same metadata.
 *   - the map refuses entries exactly when two are duplicates, and
 *     tnl_map_lookup() / tnl_map_has_port() agree with a linear scan.
 */

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tnl.h"

#define MAX_ENTRIES 8
#define REC_SIZE 40

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

static bool
all_zero(const void *p_, size_t n)
{
    const uint8_t *p = p_;
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* Re-encapsulates the inner frame of an accepted 'pkt' from 'md' and
 * checks that it parses back to 'md'. */
static void
check_round_trip(enum tnl_type type, const uint8_t *pkt, size_t len,
                 uint16_t l3, const struct flow_tnl *md, size_t hdr_len)
{
    struct tnl_spec spec;
    struct tnl_layout lay;
    struct flow_tnl md2, exp;
    size_t l4, udp_len, inner_len, h, hl2;
    uint16_t flags = be16toh(md->flags);
    uint8_t *buf;
    enum tnl_error err;

    memset(&spec, 0, sizeof spec);
    spec.type = type;
    memcpy(spec.eth_dst, pkt, 6);
    memcpy(spec.eth_src, pkt + 6, 6);
    spec.is_ipv6 = (pkt[l3] >> 4) == 6;
    l4 = l3 + (spec.is_ipv6 ? 40 : (size_t) (pkt[l3] & 0x0f) * 4);
    udp_len = be16_at(pkt + l4 + 4);
    FUZZ_ASSERT(l4 + udp_len <= len && hdr_len <= l4 + udp_len);
    inner_len = l4 + udp_len - hdr_len;

    spec.ip_src = md->ip_src;
    spec.ip_dst = md->ip_dst;
    memcpy(spec.ipv6_src, md->ipv6_src, 16);
    memcpy(spec.ipv6_dst, md->ipv6_dst, 16);
    spec.tos = md->tos;
    spec.ttl = md->ttl;
    spec.df = (flags & FLOW_TNL_F_DONT_FRAGMENT) != 0;
    spec.csum = (flags & FLOW_TNL_F_CSUM) != 0;
    memcpy(&spec.udp_dst, pkt + l4 + 2, 2);
    spec.vni = (uint32_t) be64toh(md->tun_id);
    spec.oam = (flags & FLOW_TNL_F_OAM) != 0;

    buf = malloc(TNL_HDR_MAX + inner_len);
    FUZZ_ASSERT(buf);
    h = tnl_build(&spec, buf, TNL_HDR_MAX);
    tnl_layout_of(&spec, &lay);
    FUZZ_ASSERT(h && h == lay.hdr_len);
    memcpy(buf + h, pkt + hdr_len, inner_len);
    FUZZ_ASSERT(tnl_finish(buf, h + inner_len, &lay, 0x1234,
                           tnl_udp_src_port((uint32_t) len)));
    err = tnl_parse(type, buf, h + inner_len, lay.l3_ofs, &md2, &hl2);
    FUZZ_ASSERT(err == TNL_OK && hl2 == h);
    exp = *md;
    if (!exp.ttl) {
        exp.ttl = 64;                   /* tnl_spec's default */
    }
    FUZZ_ASSERT(!memcmp(&md2, &exp, sizeof exp));
    FUZZ_ASSERT(!memcmp(buf + h, pkt + hdr_len, inner_len));
    free(buf);
}

static void
check_parse(enum tnl_type type, const uint8_t *pkt, size_t len, uint16_t l3,
            struct flow_tnl *md, bool *ok)
{
    struct flow_tnl again;
    size_t hl, hl2;
    enum tnl_error err, err2;

    err = tnl_parse(type, pkt, len, l3, md, &hl);
    FUZZ_ASSERT((unsigned int) err < TNL_N_ERRORS);
    FUZZ_ASSERT(tnl_error_name(err) != NULL);
    err2 = tnl_parse(type, pkt, len, l3, &again, &hl2);
    FUZZ_ASSERT(err == err2);
    *ok = err == TNL_OK;
    if (!*ok) {
        return;
    }
    FUZZ_ASSERT(hl == hl2 && !memcmp(md, &again, sizeof again));
    FUZZ_ASSERT(hl + 14 <= len && hl >= (size_t) l3 + 20 + 8 + 8);
    FUZZ_ASSERT(be64toh(md->tun_id) < (1u << 24));
    FUZZ_ASSERT(be16toh(md->flags) & FLOW_TNL_F_KEY);
    /* No TLV map: no tun_metadata; padding zero. */
    FUZZ_ASSERT(all_zero(md->pad, sizeof md->pad) && !md->md_present
                && all_zero((const uint8_t *) md->metadata,
                            sizeof md->metadata));
    if ((pkt[l3] >> 4) == 6) {
        FUZZ_ASSERT(!md->ip_src && !md->ip_dst);
    } else {
        FUZZ_ASSERT(all_zero(md->ipv6_src, 16)
                    && all_zero(md->ipv6_dst, 16));
    }
    check_round_trip(type, pkt, len, l3, md, hl);
}

/* ---- The map against a linear scan. ---- */

static bool
ref_same(const struct tnl_map_entry *a, const struct tnl_map_entry *b)
{
    size_t alen = a->is_ipv6 ? 16 : 4;

    return a->type == b->type && a->udp_port == b->udp_port
           && a->is_ipv6 == b->is_ipv6 && a->remote_any == b->remote_any
           && a->local_any == b->local_any && a->key_any == b->key_any
           && (a->remote_any || !memcmp(a->remote, b->remote, alen))
           && (a->local_any || !memcmp(a->local, b->local, alen))
           && (a->key_any || a->key == b->key);
}

static uint32_t
ref_lookup(const struct tnl_map_entry *es, size_t n, enum tnl_type type,
           uint16_t udp_port, const struct flow_tnl *md)
{
    bool v6 = !md->ip_src && !md->ip_dst;
    const uint8_t *src = v6 ? md->ipv6_src : (const uint8_t *) &md->ip_src;
    const uint8_t *dst = v6 ? md->ipv6_dst : (const uint8_t *) &md->ip_dst;
    size_t alen = v6 ? 16 : 4, i;
    uint64_t vni = be64toh(md->tun_id);
    uint32_t port = UINT32_MAX;
    int best = -1;

    for (i = 0; i < n; i++) {
        const struct tnl_map_entry *e = &es[i];
        int score;

        if (e->type != type || e->udp_port != udp_port || e->is_ipv6 != v6
            || (!e->remote_any && memcmp(e->remote, src, alen))
            || (!e->local_any && memcmp(e->local, dst, alen))
            || (!e->key_any && e->key != vni)) {
            continue;
        }
        score = (e->remote_any ? 0 : 4) + (e->key_any ? 0 : 2)
                + (e->local_any ? 0 : 1);
        FUZZ_ASSERT(score != best);     /* No duplicates in the map. */
        if (score > best) {
            best = score;
            port = e->port_no;
        }
    }
    return port;
}

static void
check_map(const struct tnl_map_entry *es, size_t n,
          const struct flow_tnl *mds, size_t n_mds, uint16_t frame_port)
{
    struct tnl_map *map;
    bool dup = false;
    size_t i, j, m;
    int err = -1;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            dup = dup || ref_same(&es[i], &es[j]);
        }
    }
    map = tnl_map_create(es, n, &err);
    if (!map) {
        FUZZ_ASSERT(err == EEXIST && dup);
        return;
    }
    FUZZ_ASSERT(err == 0 && !dup);

    for (m = 0; m < n_mds; m++) {
        for (i = 0; i <= n; i++) {
            uint16_t port = i < n ? es[i].udp_port : frame_port;
            int t;

            for (t = TNL_NONE; t <= TNL_GENEVE + 1; t++) {
                FUZZ_ASSERT(tnl_map_lookup(map, t, port, &mds[m])
                            == ref_lookup(es, n, t, port, &mds[m]));
            }
        }
    }
    for (i = 0; i <= n; i++) {
        uint16_t port = i < n ? es[i].udp_port : frame_port;
        int t;

        for (t = TNL_NONE; t <= TNL_GENEVE + 1; t++) {
            bool exp = false;

            for (j = 0; j < n; j++) {
                exp = exp || ((int) es[j].type == t
                             && es[j].udp_port == port);
            }
            FUZZ_ASSERT(tnl_map_has_port(map, t, port) == exp);
        }
    }
    tnl_map_destroy(map);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tnl_map_entry es[MAX_ENTRIES];
    struct flow_tnl mds[3];
    size_t n_es, n_mds = 0, i, len;
    uint16_t l3, frame_port = 0;
    uint8_t *frame;
    bool ok;

    if (size < 2) {
        return 0;
    }
    l3 = data[0];
    n_es = data[1] % (MAX_ENTRIES + 1);
    data += 2;
    size -= 2;
    if (size < n_es * REC_SIZE) {
        n_es = size / REC_SIZE;
    }
    for (i = 0; i < n_es; i++) {
        const uint8_t *r = data + i * REC_SIZE;
        struct tnl_map_entry *e = &es[i];

        memset(e, 0, sizeof *e);
        e->type = (enum tnl_type) (r[0] % 3);
        e->is_ipv6 = r[1] & 1;
        e->remote_any = r[1] & 2;
        e->local_any = r[1] & 4;
        e->key_any = r[1] & 8;
        memcpy(&e->udp_port, r + 2, 2);
        memcpy(e->remote, r + 4, 16);
        memcpy(e->local, r + 20, 16);
        e->key = (uint32_t) r[36] << 24 | (uint32_t) r[37] << 16
                 | (uint32_t) r[38] << 8 | r[39];
        e->port_no = (uint32_t) i;
    }
    data += n_es * REC_SIZE;
    size -= n_es * REC_SIZE;

    len = size;
    frame = malloc(len ? len : 1);      /* malloc(0) may give NULL. */
    if (!frame) {
        return 0;
    }
    if (len) {
        memcpy(frame, data, len);
    } else {
        frame[0] = 0;
    }

    check_parse(TNL_VXLAN, frame, len, l3, &mds[n_mds], &ok);
    n_mds += ok;
    check_parse(TNL_GENEVE, frame, len, l3, &mds[n_mds], &ok);
    n_mds += ok;
    /* Arbitrary metadata too: the frame's first bytes. */
    memset(&mds[n_mds], 0, sizeof mds[n_mds]);
    memcpy(&mds[n_mds], frame, len < sizeof mds[0] ? len : sizeof mds[0]);
    n_mds++;
    if (len >= (size_t) l3 + 24) {
        /* Where UDP's destination port is behind an option-less IPv4
         * header (or not: any value does). */
        memcpy(&frame_port, frame + l3 + 22, 2);
    }

    check_map(es, n_es, mds, n_mds, frame_port);
    free(frame);
    return 0;
}
