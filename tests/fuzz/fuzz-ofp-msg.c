/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-ofp-msg.c: fuzz target for the OpenFlow 1.3 wire decoders
 * (ofm_flow_mod_decode(), ofm_match_decode(), ofm_instructions_decode(),
 * ofm_flow_stats_request_decode(), ofm_packet_out_decode()) and a
 * re-encoding round trip of what they accept. */

/*
 * Input: one OpenFlow message, as it would arrive (seeds: FLOW_MODs
 * written by ofm_flow_mod_encode() and by hand, flow stats
 * MULTIPART_REQUESTs and PACKET_OUTs; tests/test-ofp-msg.c writes them
 * with OFP_MSG_WRITE_CORPUS=DIR).
 * The same bytes go to every decoder, each at the offset its structure
 * has in the message:
 *   - ofm_flow_mod_decode() on the whole input;
 *   - ofm_match_decode() on the whole input, and at offset 48 (a flow
 *     mod's match); ofm_instructions_decode() and ofm_actions_decode() on
 *     what follows that match, with the match and without one;
 *   - ofm_mp_request_decode() on the whole input and
 *     ofm_flow_stats_request_decode() on its body (offset 16);
 *   - ofm_packet_out_decode() and ofm_hello_negotiate() on the whole
 *     input;
 *   - ofm_bundle_decode() and ofm_nx_decode() on the whole input (what
 *     the latter accepts as a TLV table mod re-encodes to the same
 *     bytes, less the header's version and xid);
 *   - ofm_group_mod_decode() on the whole input: what it accepts
 *     re-encodes (ofm_group_mod_encode()) to a GROUP_MOD that decodes to
 *     the same group mod; the same for ofm_meter_mod_decode() and
 *     METER_MODs.
 * Each range is copied to an exactly sized heap buffer so that ASan
 * catches any read outside it.
 *
 * Checked beyond "no crash" (a failed check traps):
 *   - a decoder that fails leaves nothing to free (the flow mod's actions
 *     NULL) and returns a real OpenFlow error (type and code set);
 *   - a decoded match is pre-masked, re-encodes to a match that decodes
 *     to an equal one, and that encoding is stable (encode(decode(
 *     encode(m))) == encode(m)) and padded to 8 bytes;
 *   - decoded instructions (or a packet-out's actions) re-encode to
 *     instructions (actions) that decode, with the same match, to an
 *     equal action list, stably; "equal" after the one spelling change
 *     the codec makes to what it decodes (set_field of nw_tos, from
 *     NXM_OF_IP_TOS, comes back as ip_dscp: normalise());
 *   - a decoded flow mod re-encodes to a FLOW_MOD whose header is right
 *     and that decodes to an equal flow mod, stably;
 *   - a packet-out's data is the rest of the message.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "ofp-msg.h"
#include "ofp-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

/* 'acts' as the encoder writes it, in the spelling the decoder gives
 * back: a set_field of nw_tos (decoded from NXM_OF_IP_TOS) is written as
 * ip_dscp (ofp-msg.h).  A new list (free()). */
static struct of_actions *
normalise(const struct of_actions *acts)
{
    size_t n = acts ? acts->n : 0;
    struct of_actions *c = of_actions_alloc(n);

    FUZZ_ASSERT(c);
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        struct of_action *a = &c->a[i];

        *a = acts->a[i];
        if (a->type == OFPACT_SET_FIELD
            && a->set_field.field == MFF_NW_TOS && !a->set_field.has_mask) {
            uint32_t tos = mf_value_to_u32(mf_from_id(MFF_NW_TOS),
                                           &a->set_field.value);

            memset(&a->set_field.value, 0, sizeof a->set_field.value);
            a->set_field.field = MFF_IP_DSCP;
            mf_value_from_u32(mf_from_id(MFF_IP_DSCP), tos >> 2,
                              &a->set_field.value);
        }
    }
    return c;
}

static bool
actions_equiv(const struct of_actions *orig, const struct of_actions *back)
{
    struct of_actions *n = normalise(orig);
    bool eq = of_actions_equal(n, back);

    free(n);
    return eq;
}

/* A decoded instruction list keeps actions.h's one order: meter first,
 * the applied actions, clear_actions, write_actions with a block that
 * fits the list and holds only what the action set takes,
 * write_metadata, goto_table last. */
static void
check_instruction_order(const struct of_actions *acts)
{
    int stage = 0;              /* 1 clear, 2 write, 3 metadata, 4 goto. */

    for (size_t i = 0; i < acts->n; i++) {
        uint16_t t = acts->a[i].type;
        int s = t == OFPACT_CLEAR_ACTIONS ? 1
                : t == OFPACT_WRITE_ACTIONS ? 2
                : t == OFPACT_WRITE_METADATA ? 3
                : t == OFPACT_GOTO_TABLE ? 4 : 0;

        FUZZ_ASSERT(t <= OFPACT_WRITE_ACTIONS);
        FUZZ_ASSERT(t != OFPACT_METER || i == 0);
        FUZZ_ASSERT(s > stage || (s == 0 && stage == 0));
        stage = s ? s : stage;
        if (t == OFPACT_WRITE_ACTIONS) {
            size_t n = acts->a[i].write_actions.n;

            FUZZ_ASSERT(n <= acts->n - i - 1);
            for (size_t k = 1; k <= n; k++) {
                FUZZ_ASSERT(of_action_set_allowed(acts->a[i + k].type));
            }
            i += n;
        }
    }
}

static uint8_t *
dup_range(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);

    if (c && n) {
        memcpy(c, p, n);
    }
    return c;
}

static bool
same_bytes(const struct ofbuf *a, const struct ofbuf *b)
{
    return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

static void
check_error(ofperr e)
{
    FUZZ_ASSERT(e & 0x80000000u);
    FUZZ_ASSERT(ofperr_type(e) <= OFPET_TABLE_FEATURES_FAILED
                || e == OFPERR_DUP_INSTRUCTION
                || (ofperr_type(e) == OFPERR_TYPE_ONF
                    && ofperr_code(e) >= ONFT_BUNDLE_CONTROL
                    && ofperr_code(e) <= ONFT_BUNDLE_CONTROL
                                         + OFPBFC_BUNDLE_IN_PROGRESS)
                || (ofperr_type(e) == OFPERR_TYPE_NX
                    && ofperr_code(e) >= NXTTMFC_BAD_COMMAND
                    && ofperr_code(e) <= NXTTMFC_DUP_ENTRY));
}

/* flow & wc == flow. */
static void
check_premasked(const struct of_match *m)
{
    const uint8_t *f = (const uint8_t *) &m->flow;
    const uint8_t *w = (const uint8_t *) &m->wc;

    for (size_t i = 0; i < sizeof m->flow; i++) {
        FUZZ_ASSERT((f[i] & w[i]) == f[i]);
    }
}

/* Encodes 'm', decodes it, checks equality and a stable re-encoding. */
static void
check_match_round_trip(const struct of_match *m)
{
    struct ofbuf b1, b2;
    struct of_match m2;
    size_t consumed;
    ofperr e;

    check_premasked(m);
    ofbuf_init(&b1);
    ofbuf_init(&b2);
    ofm_match_encode(&b1, m);
    FUZZ_ASSERT(!b1.oom);
    FUZZ_ASSERT(b1.len % 8 == 0);
    e = ofm_match_decode(b1.data, b1.len, &m2, &consumed, NULL, 0);
    FUZZ_ASSERT(!e);
    FUZZ_ASSERT(consumed == b1.len);
    FUZZ_ASSERT(of_match_equal(m, &m2));
    ofm_match_encode(&b2, &m2);
    FUZZ_ASSERT(same_bytes(&b1, &b2));
    ofbuf_uninit(&b1);
    ofbuf_uninit(&b2);
}

/* Encodes 'acts' as instructions, decodes them with 'm', checks equality
 * and a stable re-encoding. */
static void
check_instructions_round_trip(const struct of_match *m,
                              const struct of_actions *acts)
{
    struct ofbuf b1, b2;
    struct of_actions *a2 = NULL;
    ofperr e;

    ofbuf_init(&b1);
    ofbuf_init(&b2);
    ofm_instructions_encode(&b1, acts, m);
    FUZZ_ASSERT(!b1.oom);
    e = ofm_instructions_decode(b1.data, b1.len, m, &a2, NULL, 0);
    FUZZ_ASSERT(!e);
    FUZZ_ASSERT(a2 != NULL);
    FUZZ_ASSERT(actions_equiv(acts, a2));
    ofm_instructions_encode(&b2, a2, m);
    FUZZ_ASSERT(same_bytes(&b1, &b2));
    free(a2);
    ofbuf_uninit(&b1);
    ofbuf_uninit(&b2);
}

/* The same for a bare action list (a packet-out's: no match). */
static void
check_actions_round_trip(const struct of_actions *acts)
{
    struct ofbuf b1, b2;
    struct of_actions *a2 = NULL;
    ofperr e;

    ofbuf_init(&b1);
    ofbuf_init(&b2);
    ofm_actions_encode(&b1, acts, NULL);
    FUZZ_ASSERT(!b1.oom);
    e = ofm_actions_decode(b1.data, b1.len, NULL, &a2, NULL, 0);
    FUZZ_ASSERT(!e);
    FUZZ_ASSERT(actions_equiv(acts, a2));
    ofm_actions_encode(&b2, a2, NULL);
    FUZZ_ASSERT(same_bytes(&b1, &b2));
    free(a2);
    ofbuf_uninit(&b1);
    ofbuf_uninit(&b2);
}

static bool
flow_mod_equal(const struct ofm_flow_mod *a, const struct ofm_flow_mod *b)
{
    const struct of_flow_spec *x = &a->spec, *y = &b->spec;

    return a->cmd == b->cmd && a->flags == b->flags
           && a->buffer_id == b->buffer_id && a->out_group == b->out_group
           && of_match_equal(&x->match, &y->match)
           && x->priority == y->priority && x->table_id == y->table_id
           && x->table_set == y->table_set && x->cookie == y->cookie
           && x->cookie_mask == y->cookie_mask
           && x->idle_timeout == y->idle_timeout
           && x->hard_timeout == y->hard_timeout
           && x->out_port == y->out_port && !x->actions == !y->actions
           && (!x->actions || actions_equiv(x->actions, y->actions));
}

static void
check_flow_mod_round_trip(const struct ofm_flow_mod *fm)
{
    struct ofbuf b1, b2;
    struct ofm_flow_mod fm2;
    struct ofp_hdr h;
    ofperr e;

    check_premasked(&fm->spec.match);
    ofbuf_init(&b1);
    ofbuf_init(&b2);
    ofm_flow_mod_encode(&b1, 42, fm);
    if (b1.oom) {
        /* Longer than a message: only possible with many actions. */
        FUZZ_ASSERT(fm->spec.actions && fm->spec.actions->n > 64);
        ofbuf_uninit(&b1);
        return;
    }
    FUZZ_ASSERT(b1.len >= 56);
    ofm_header_read(b1.data, &h);
    FUZZ_ASSERT(h.version == OFP13_VERSION && h.type == OFPT_FLOW_MOD
                && h.length == b1.len && h.xid == 42);
    e = ofm_flow_mod_decode(b1.data, b1.len, &fm2, NULL, 0);
    FUZZ_ASSERT(!e);
    FUZZ_ASSERT(flow_mod_equal(fm, &fm2));
    ofm_flow_mod_encode(&b2, 42, &fm2);
    FUZZ_ASSERT(same_bytes(&b1, &b2));
    of_flow_spec_uninit(&fm2.spec);
    ofbuf_uninit(&b1);
    ofbuf_uninit(&b2);
}

static void
fuzz_flow_mod(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_flow_mod fm;
    char err[128];
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_flow_mod_decode(p, size, &fm, err, sizeof err);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(!fm.spec.actions);
        FUZZ_ASSERT(memchr(err, '\0', sizeof err));
    } else {
        bool del = fm.cmd == OFFC_DELETE || fm.cmd == OFFC_DELETE_STRICT;

        FUZZ_ASSERT(del == !fm.spec.actions);
        FUZZ_ASSERT(fm.cmd <= OFFC_DELETE_STRICT);
        check_flow_mod_round_trip(&fm);
        of_flow_spec_uninit(&fm.spec);
    }
    free(p);
}

static void
fuzz_instructions(const uint8_t *data, size_t size, const struct of_match *m)
{
    uint8_t *p = dup_range(data, size);
    struct of_actions *acts = (struct of_actions *) 1;
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_instructions_decode(p, size, m, &acts, NULL, 0);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(!acts);
    } else {
        FUZZ_ASSERT(acts);
        check_instruction_order(acts);
        check_instructions_round_trip(m, acts);
        free(acts);
    }

    /* The same bytes as a bare action list. */
    acts = (struct of_actions *) 1;
    e = ofm_actions_decode(p, size, m, &acts, NULL, 0);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(!acts);
    } else {
        FUZZ_ASSERT(acts);
        free(acts);
    }
    free(p);
}

static void
fuzz_match(const uint8_t *data, size_t size, bool instructions)
{
    uint8_t *p = dup_range(data, size);
    struct of_match m;
    size_t consumed = SIZE_MAX;
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_match_decode(p, size, &m, &consumed, NULL, 0);
    if (e) {
        check_error(e);
    } else {
        FUZZ_ASSERT(consumed >= 8 && consumed <= size && consumed % 8 == 0);
        check_match_round_trip(&m);
        if (instructions) {
            fuzz_instructions(data + consumed, size - consumed, &m);
            fuzz_instructions(data + consumed, size - consumed, NULL);
        }
    }
    free(p);
}

static void
fuzz_stats_request(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_mp_request r;
    struct of_flow_spec f;
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_mp_request_decode(p, size, &r);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(size < 16);
    } else {
        FUZZ_ASSERT(r.body == p + 16 && r.body_len == size - 16);
    }
    free(p);
    if (size < 16) {
        return;
    }
    p = dup_range(data + 16, size - 16);
    if (!p) {
        return;
    }
    e = ofm_flow_stats_request_decode(p, size - 16, &f, NULL, 0);
    if (e) {
        check_error(e);
    } else {
        FUZZ_ASSERT(!f.actions);
        FUZZ_ASSERT(!f.table_set || f.table_id < OF_N_TABLES);
        check_match_round_trip(&f.match);
    }
    of_flow_spec_uninit(&f);
    free(p);
}

static void
fuzz_packet_out(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_packet_out po;
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_packet_out_decode(p, size, &po, NULL, 0);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(!po.actions);
    } else {
        FUZZ_ASSERT(po.actions);
        FUZZ_ASSERT(po.data >= p + 24 && po.data <= p + size);
        FUZZ_ASSERT(po.data + po.data_len == p + size);
        for (size_t i = 0; i < po.actions->n; i++) {
            FUZZ_ASSERT(po.actions->a[i].type <= OFPACT_METER
                        || po.actions->a[i].type == OFPACT_MOVE);
            FUZZ_ASSERT(po.actions->a[i].type != OFPACT_GOTO_TABLE);
        }
        check_actions_round_trip(po.actions);
        free(po.actions);
    }
    free(p);
}

static bool
group_mod_equal(const struct ofm_group_mod *a, const struct ofm_group_mod *b)
{
    const struct of_group_spec *x = &a->spec, *y = &b->spec;

    if (a->cmd != b->cmd || x->group_id != y->group_id
        || x->type != y->type || x->n_buckets != y->n_buckets) {
        return false;
    }
    for (size_t i = 0; i < x->n_buckets; i++) {
        const struct of_bucket *p = &x->buckets[i], *q = &y->buckets[i];

        if (p->weight != q->weight || p->watch_port != q->watch_port
            || p->watch_group != q->watch_group
            || !actions_equiv(p->actions, q->actions)) {
            return false;
        }
    }
    return true;
}

static void
fuzz_group_mod(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_group_mod gm, gm2;
    struct ofbuf b1, b2;
    char err[128];
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_group_mod_decode(p, size, &gm, err, sizeof err);
    free(p);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(!gm.spec.buckets && !gm.spec.n_buckets);
        FUZZ_ASSERT(memchr(err, '\0', sizeof err));
        return;
    }
    FUZZ_ASSERT(gm.cmd <= OFGC_DELETE);
    FUZZ_ASSERT(gm.cmd != OFGC_DELETE || !gm.spec.n_buckets);
    FUZZ_ASSERT(gm.spec.n_buckets <= OFG_MAX_BUCKETS);
    for (size_t i = 0; i < gm.spec.n_buckets; i++) {
        const struct of_actions *acts = gm.spec.buckets[i].actions;

        FUZZ_ASSERT(acts);
        for (size_t k = 0; k < acts->n; k++) {
            FUZZ_ASSERT((acts->a[k].type <= OFPACT_METER
                         || acts->a[k].type == OFPACT_MOVE)
                        && acts->a[k].type != OFPACT_GOTO_TABLE);
        }
    }
    ofbuf_init(&b1);
    ofbuf_init(&b2);
    ofm_group_mod_encode(&b1, 43, &gm);
    if (!b1.oom) {
        struct ofp_hdr h;

        ofm_header_read(b1.data, &h);
        FUZZ_ASSERT(h.version == OFP13_VERSION && h.type == OFPT_GROUP_MOD
                    && h.length == b1.len && h.xid == 43);
        p = dup_range(b1.data, b1.len);
        FUZZ_ASSERT(p);
        e = ofm_group_mod_decode(p, b1.len, &gm2, NULL, 0);
        free(p);
        FUZZ_ASSERT(!e);
        FUZZ_ASSERT(group_mod_equal(&gm, &gm2));
        ofm_group_mod_encode(&b2, 43, &gm2);
        FUZZ_ASSERT(same_bytes(&b1, &b2));
        of_group_spec_uninit(&gm2.spec);
    }
    of_group_spec_uninit(&gm.spec);
    ofbuf_uninit(&b1);
    ofbuf_uninit(&b2);
}

static bool
meter_mod_equal(const struct ofm_meter_mod *a, const struct ofm_meter_mod *b)
{
    const struct of_meter_spec *x = &a->spec, *y = &b->spec;

    if (a->cmd != b->cmd || x->meter_id != y->meter_id
        || x->flags != y->flags || x->n_bands != y->n_bands) {
        return false;
    }
    for (size_t i = 0; i < x->n_bands; i++) {
        const struct of_meter_band *p = &x->bands[i], *q = &y->bands[i];

        if (p->type != q->type || p->rate != q->rate
            || p->burst_size != q->burst_size
            || p->prec_level != q->prec_level) {
            return false;
        }
    }
    return true;
}

/* ofm_meter_mod_decode(): a refusal is a real OpenFlow error; what it
 * accepts is a meter of at most OFM_MAX_BANDS bands (none for a delete)
 * that re-encodes to a METER_MOD decoding to the same, stably. */
static void
fuzz_meter_mod(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_meter_mod mm, mm2;
    struct ofbuf b1, b2;
    char err[128];
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_meter_mod_decode(p, size, &mm, err, sizeof err);
    free(p);
    if (e) {
        check_error(e);
        FUZZ_ASSERT(memchr(err, '\0', sizeof err));
        return;
    }
    FUZZ_ASSERT(mm.cmd <= OFGC_DELETE);
    FUZZ_ASSERT(mm.spec.n_bands <= OFM_MAX_BANDS);
    FUZZ_ASSERT(mm.cmd != OFGC_DELETE || !mm.spec.n_bands);
    ofbuf_init(&b1);
    ofbuf_init(&b2);
    ofm_meter_mod_encode(&b1, 44, &mm);
    FUZZ_ASSERT(!b1.oom);
    {
        struct ofp_hdr h;

        ofm_header_read(b1.data, &h);
        FUZZ_ASSERT(h.version == OFP13_VERSION && h.type == OFPT_METER_MOD
                    && h.length == b1.len && h.xid == 44);
    }
    p = dup_range(b1.data, b1.len);
    FUZZ_ASSERT(p);
    e = ofm_meter_mod_decode(p, b1.len, &mm2, NULL, 0);
    free(p);
    FUZZ_ASSERT(!e);
    FUZZ_ASSERT(meter_mod_equal(&mm, &mm2));
    ofm_meter_mod_encode(&b2, 44, &mm2);
    FUZZ_ASSERT(same_bytes(&b1, &b2));
    ofbuf_uninit(&b1);
    ofbuf_uninit(&b2);
}

/* A bundle message: an added message lies inside the input, with its
 * length as its header says and the add's version and xid. */
static void
fuzz_bundle(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_bundle bm;
    ofperr e;

    if (!p) {
        return;
    }
    e = ofm_bundle_decode(p, size, &bm, NULL, 0);
    if (e) {
        check_error(e);
    } else if (bm.exp_type == ONFT_BUNDLE_ADD_MESSAGE) {
        FUZZ_ASSERT(bm.msg == p + 24 && bm.msg_len >= 8);
        FUZZ_ASSERT(bm.msg_len <= size - 24);
        FUZZ_ASSERT(ofm_get16(bm.msg + 2) == bm.msg_len);
        FUZZ_ASSERT(bm.msg[0] == p[0]);
        FUZZ_ASSERT(ofm_get32(bm.msg + 4) == ofm_get32(p + 4));
    } else {
        FUZZ_ASSERT(bm.exp_type == ONFT_BUNDLE_CONTROL && size >= 24);
        FUZZ_ASSERT(!bm.msg);
    }
    free(p);
}

/* A Nicira message: a TLV table mod it takes has the input's mappings
 * and re-encodes to the input (less version and xid). */
static void
fuzz_nx(const uint8_t *data, size_t size)
{
    uint8_t *p = dup_range(data, size);
    struct ofm_nx *nx = malloc(sizeof *nx);
    ofperr e;

    if (!p || !nx) {
        free(p);
        free(nx);
        return;
    }
    e = ofm_nx_decode(p, size, nx, NULL, 0);
    if (e) {
        check_error(e);
    } else if (nx->subtype == NXT_TLV_TABLE_MOD) {
        struct ofbuf b;

        FUZZ_ASSERT(nx->command <= NXTTMC_CLEAR);
        FUZZ_ASSERT(nx->n_maps == (size - 24) / 8);
        ofbuf_init(&b);
        ofm_tlv_table_mod(&b, ofm_get32(p + 4), nx->command, nx->maps,
                          nx->n_maps);
        FUZZ_ASSERT(b.len == size);
        /* The same bytes but the header and the pads. */
        for (size_t off = 24; off < size; off += 8) {
            FUZZ_ASSERT(!memcmp(b.data + off, p + off, 6));
        }
        FUZZ_ASSERT(!memcmp(b.data + 8, p + 8, 10));
        ofbuf_uninit(&b);
    } else {
        FUZZ_ASSERT(nx->subtype == NXT_TLV_TABLE_REQUEST && size == 16);
    }
    free(nx);
    free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p;

    fuzz_flow_mod(data, size);
    fuzz_match(data, size, false);
    if (size >= 48) {
        fuzz_match(data + 48, size - 48, true);
    }
    fuzz_stats_request(data, size);
    fuzz_packet_out(data, size);
    fuzz_group_mod(data, size);
    fuzz_meter_mod(data, size);
    fuzz_bundle(data, size);
    fuzz_nx(data, size);

    p = dup_range(data, size);
    if (p) {
        uint8_t v = ofm_hello_negotiate(p, size);

        FUZZ_ASSERT(v == 0 || v == OFP13_VERSION);
        free(p);
    }
    return 0;
}
