/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-ofp-parse.c: fuzz target for the flow-syntax parser and formatter:
 * parse in every mode, format, re-parse; the round trip must be stable. */

/*
 * Input: byte 0 selects the command (mod 6: add, modify, modify-strict,
 * delete, delete-strict, match); the rest is the flow text (cut at the
 * first NUL).  Whatever parses must format to text that parses again (in
 * the same mode) to an equal spec, and whose formatting is identical
 * (parse(format(parse(x))) == parse(x), format idempotent).  The action
 * list alone goes through of_actions_parse()/of_actions_format() the same
 * way, and truncating format buffers must give a NUL-terminated prefix.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "ofp-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

#define TEXT_MAX 8192

static int
spec_equal(const struct of_flow_spec *a, const struct of_flow_spec *b)
{
    return of_match_equal(&a->match, &b->match)
           && a->priority == b->priority
           && a->table_id == b->table_id
           && a->cookie == b->cookie
           && a->cookie_mask == b->cookie_mask
           && a->idle_timeout == b->idle_timeout
           && a->hard_timeout == b->hard_timeout
           && a->out_port == b->out_port
           && !a->actions == !b->actions
           && (!a->actions || of_actions_equal(a->actions, b->actions));
}

/* The formatter must truncate safely: every buffer size gives a
 * NUL-terminated prefix of the full text. */
static void
check_truncation(const struct of_flow_spec *spec, const char *full,
                 size_t full_len, size_t cut)
{
    char small[64];
    size_t n, size = cut % sizeof small;

    memset(small, 'x', sizeof small);
    n = of_flow_format(small, size, spec);
    if (size == 0) {
        FUZZ_ASSERT(small[0] == 'x');
        return;
    }
    FUZZ_ASSERT(n == strlen(small));
    FUZZ_ASSERT(n == (full_len < size - 1 ? full_len : size - 1));
    FUZZ_ASSERT(!memcmp(small, full, n));
}

static void
check_actions_roundtrip(const struct of_actions *acts)
{
    static char t1[TEXT_MAX], t2[TEXT_MAX];
    struct of_actions *again = NULL;
    char err[256];
    size_t n1, n2;
    int error;

    n1 = of_actions_format(t1, sizeof t1, acts);
    FUZZ_ASSERT(n1 == strlen(t1));
    if (n1 >= sizeof t1 - 1) {
        return;                 /* Truncated: not comparable. */
    }
    error = of_actions_parse(t1, &again, err, sizeof err);
    FUZZ_ASSERT(!error);
    FUZZ_ASSERT(of_actions_equal(acts, again));
    n2 = of_actions_format(t2, sizeof t2, again);
    FUZZ_ASSERT(n1 == n2 && !strcmp(t1, t2));
    free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[TEXT_MAX], t1[TEXT_MAX], t2[TEXT_MAX];
    struct of_flow_spec spec, again;
    enum of_flow_cmd cmd;
    struct of_actions *acts;
    char err[256];
    size_t n1, n2;
    int error;

    if (size < 1 || size > TEXT_MAX - 1) {
        return 0;
    }
    cmd = (enum of_flow_cmd) (data[0] % (OFFC_MATCH + 1));
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    err[0] = '\0';
    error = of_flow_parse(&spec, text, cmd, err, sizeof err);
    if (error) {
        FUZZ_ASSERT(spec.actions == NULL);
        FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
        of_flow_spec_uninit(&spec);
    } else {
        /* Matches are pre-masked. */
        struct of_match m = spec.match;
        size_t i;

        for (i = 0; i < FLOW_U64S; i++) {
            FUZZ_ASSERT((flow_u64(&m.flow)[i] & ~flow_u64(&m.wc)[i]) == 0);
        }

        n1 = of_flow_format(t1, sizeof t1, &spec);
        FUZZ_ASSERT(n1 == strlen(t1));
        check_truncation(&spec, t1, n1, size);
        if (n1 < sizeof t1 - 1) {
            error = of_flow_parse(&again, t1, cmd, err, sizeof err);
            FUZZ_ASSERT(!error);
            FUZZ_ASSERT(spec_equal(&spec, &again));
            n2 = of_flow_format(t2, sizeof t2, &again);
            FUZZ_ASSERT(n1 == n2 && !strcmp(t1, t2));
            of_flow_spec_uninit(&again);
        }
        if (spec.actions) {
            check_actions_roundtrip(spec.actions);
        }
        n1 = of_match_format(t1, sizeof t1, &spec.match, spec.priority);
        FUZZ_ASSERT(n1 == strlen(t1));
        of_flow_spec_uninit(&spec);
        FUZZ_ASSERT(spec.actions == NULL);
    }

    /* The same text as a bare action list. */
    acts = NULL;
    error = of_actions_parse(text, &acts, err, sizeof err);
    if (error) {
        FUZZ_ASSERT(acts == NULL);
    } else {
        FUZZ_ASSERT(acts != NULL);
        check_actions_roundtrip(acts);
        free(acts);
    }

    /* And as a port name. */
    {
        uint32_t port;

        if (size - 1 < 64 && of_port_from_string(text, &port)) {
            uint32_t port2;

            n1 = of_port_format(t1, sizeof t1, port);
            FUZZ_ASSERT(n1 == strlen(t1));
            FUZZ_ASSERT(of_port_from_string(t1, &port2) && port2 == port);
        }
    }
    return 0;
}
