/* SPDX-License-Identifier: BSD-3-Clause */
/* ofp-parse.c: Open vSwitch flow syntax: matches and actions, both ways. */
#include "ofp-parse.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKEN 256           /* Longest key or value accepted. */
#define MAX_ITEMS 128           /* Most field items in one match. */

/* ---------------------------------------------------------------------
 * Small helpers.
 */

static int __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err, errsize, fmt, args);
        va_end(args);
    }
    return EINVAL;
}

/* A bounded string builder: keeps what fits, always NUL-terminated. */



/* Parses all of 's' as a decimal or 0x-hex number <= max. */
static bool
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned int d;
        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            d = *s - 'a' + 10;
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            d = *s - 'A' + 10;
        } else {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned int v = 0;
        int n = 0;
        for (; n < 2; n++) {
            char c = s[n];
            if (c >= '0' && c <= '9') {
                v = v * 16 + (c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v = v * 16 + (c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v = v * 16 + (c - 'A' + 10);
            } else {
                break;
            }
        }
        if (!n) {
            return false;
        }
        mac[i] = v;
        s += n;
        if (i < 5) {
            if (*s != ':') {
                return false;
            }
            s++;
        }
    }
    return *s == '\0';
}

static bool
parse_ip4(const char *s, uint32_t *be)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        return false;
    }
    *be = a.s_addr;
    return true;
}

static uint32_t
prefix_to_mask4(unsigned int len)
{
    return len ? htonl(UINT32_MAX << (32 - len)) : 0;
}

/* Length of the prefix if 'mask' (n bytes) is a CIDR mask, else -1. */
static int
mask_prefix_len(const uint8_t *mask, size_t n)
{
    int len = 0;
    size_t i = 0;

    for (; i < n && mask[i] == 0xff; i++) {
        len += 8;
    }
    if (i < n) {
        uint8_t b = mask[i];
        while (b & 0x80) {
            len++;
            b <<= 1;
        }
        if (b) {
            return -1;
        }
        for (i++; i < n; i++) {
            if (mask[i]) {
                return -1;
            }
        }
    }
    return len;
}

static void
prefix_to_mask_bytes(unsigned int len, uint8_t *mask, size_t n)
{
    memset(mask, 0, n);
    for (size_t i = 0; i < n && len; i++) {
        unsigned int take = len >= 8 ? 8 : len;
        mask[i] = (uint8_t) (0xff00 >> take);
        len -= take;
    }
}

static bool
is_all_ones(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xff) {
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------------
 * Ports.
 */

static const struct {
    const char *name;
    uint32_t port;
} port_names[] = {
    {"IN_PORT", OFPP_IN_PORT}, {"TABLE", OFPP_TABLE},
    {"NORMAL", OFPP_NORMAL},   {"FLOOD", OFPP_FLOOD},
    {"ALL", OFPP_ALL},         {"CONTROLLER", OFPP_CONTROLLER},
    {"LOCAL", OFPP_LOCAL},     {"NONE", OFPP_NONE},
    {"ANY", OFPP_NONE},
};

bool
of_port_from_string(const char *s, uint32_t *port)
{
    uint64_t v;

    for (size_t i = 0; i < sizeof port_names / sizeof *port_names; i++) {
        if (!strcasecmp(s, port_names[i].name)) {
            *port = port_names[i].port;
            return true;
        }
    }
    if (parse_uint(s, 0xffff, &v)) {
        *port = v;
        return true;
    }
    return false;
}

static void
fmt_port(struct sbuf *s, uint32_t port)
{
    for (size_t i = 0; i < sizeof port_names / sizeof *port_names; i++) {
        if (port == port_names[i].port) {
            sbuf_printf(s, "%s", port_names[i].name);
            return;
        }
    }
    sbuf_printf(s, "%" PRIu32, port);
}

size_t
of_port_format(char *buf, size_t size, uint32_t port)
{
    struct sbuf s;
    sbuf_init(&s, buf, size);
    fmt_port(&s, port);
    return s.len;
}

/* ---------------------------------------------------------------------
 * Tokenizer: "key", "key=value", "key:value", "key(value)", separated by
 * commas and white space.
 */

struct kv {
    char key[MAX_TOKEN];
    char val[MAX_TOKEN];
    size_t key_col;             /* 1-based, relative to the whole text. */
    size_t val_col;
    bool has_val;
    bool paren;                 /* key(value) form */
    const char *val_start;      /* in the text, for "actions=" */
};

static bool
is_delim(char c)
{
    return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads the next item at *pos.  Returns 1 with 'kv' filled, 0 at the end,
 * or -EINVAL with 'err' set.  'base' is the column of text[0] minus 1,
 * 'text' the start of the string columns count from.  With 'actions_rest',
 * an "actions=" item takes the rest of the text (kv->val_start) and its
 * kv->val is left empty. */
static int
next_kv(const char *text, const char **pos, size_t base, bool actions_rest,
        struct kv *kv, char *err, size_t errsize)
{
    const char *p = *pos;
    const char *k, *v;
    size_t klen, vlen;

    while (*p && is_delim(*p)) {
        p++;
    }
    if (!*p) {
        *pos = p;
        return 0;
    }
    kv->key[0] = kv->val[0] = '\0';
    kv->has_val = false;
    kv->paren = false;
    kv->val_start = NULL;

    k = p;
    while (*p && !is_delim(*p) && *p != '=' && *p != ':' && *p != '('
           && *p != ')') {
        p++;
    }
    klen = p - k;
    kv->key_col = base + (k - text) + 1;
    if (!klen) {
        return -set_err(err, errsize, "missing name before '%c' at column "
                        "%zu", *p, kv->key_col);
    }
    if (klen >= MAX_TOKEN) {
        return -set_err(err, errsize, "name too long at column %zu",
                        kv->key_col);
    }
    memcpy(kv->key, k, klen);
    kv->key[klen] = '\0';

    if (*p == ')') {
        return -set_err(err, errsize, "unbalanced ')' at column %zu",
                        base + (p - text) + 1);
    }
    if ((*p == '=' || *p == ':') && actions_rest
        && (!strcmp(kv->key, "actions") || !strcmp(kv->key, "action"))) {
        /* The rest of the text is the action list: not tokenized here. */
        kv->val_start = p + 1;
        kv->val_col = base + (p + 1 - text) + 1;
        kv->has_val = true;
        *pos = p + strlen(p);
        return 1;
    }
    if (*p == '=' || *p == ':') {
        int depth = 0;
        p++;
        v = p;
        kv->val_start = v;
        while (*p && (depth || !is_delim(*p))) {
            if (*p == '(') {
                depth++;
            } else if (*p == ')') {
                if (!depth) {
                    return -set_err(err, errsize, "unbalanced ')' at column "
                                    "%zu", base + (p - text) + 1);
                }
                depth--;
            }
            p++;
        }
        if (depth) {
            return -set_err(err, errsize, "unbalanced '(' in value of '%s' "
                            "at column %zu", kv->key, base + (v - text) + 1);
        }
        vlen = p - v;
        kv->has_val = true;
    } else if (*p == '(') {
        int depth = 1;
        p++;
        v = p;
        kv->val_start = v;
        kv->paren = true;
        while (*p && depth) {
            if (*p == '(') {
                depth++;
            } else if (*p == ')') {
                depth--;
            }
            p++;
        }
        if (depth) {
            return -set_err(err, errsize, "unbalanced '(' after '%s' at "
                            "column %zu", kv->key, kv->key_col);
        }
        vlen = p - 1 - v;
        kv->has_val = true;
        if (*p && !is_delim(*p)) {
            return -set_err(err, errsize, "garbage '%c' after ')' at column "
                            "%zu", *p, base + (p - text) + 1);
        }
    } else {
        v = p;
        vlen = 0;
    }
    kv->val_col = base + (v - text) + 1;
    if (vlen >= MAX_TOKEN) {
        return -set_err(err, errsize, "value of '%s' too long at column %zu",
                        kv->key, kv->val_col);
    }
    memcpy(kv->val, v, vlen);
    kv->val[vlen] = '\0';
    *pos = p;
    return 1;
}

/* ---------------------------------------------------------------------
 * Field values.
 */

/* A flag's name and bit, for "+name-name" syntax. */
struct flag_name {
    const char *name;
    uint16_t bit;
};

static const struct flag_name tcp_flag_names[] = {
    {"fin", 0x001}, {"syn", 0x002}, {"rst", 0x004},
    {"psh", 0x008}, {"ack", 0x010}, {"urg", 0x020},
    {"ece", 0x040}, {"cwr", 0x080}, {"ns", 0x100},
};
#define TCP_FLAGS_NAMED 0x1ff

static const struct {
    const char *name;
    uint8_t value, mask;
} frag_names[] = {
    {"no", 0, FLOW_NW_FRAG_ANY},
    {"yes", FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_ANY},
    {"first", FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_MASK},
    {"later", FLOW_NW_FRAG_MASK, FLOW_NW_FRAG_MASK},
    {"not_later", 0, FLOW_NW_FRAG_LATER},
};

/* "+name-name..." over a table of flag names (each flag at most once,
 * compared case-insensitively when 'nocase'): the bits named, and which of
 * them are set. */
static bool
parse_flag_list(const char *s, const struct flag_name *names, size_t n_names,
                bool nocase, uint32_t *value, uint32_t *mask)
{
    *value = *mask = 0;
    while (*s) {
        char sign = *s++;
        size_t n = strcspn(s, "+-");
        size_t i;

        if (sign != '+' && sign != '-') {
            return false;
        }
        for (i = 0; i < n_names; i++) {
            if (strlen(names[i].name) == n
                && !(nocase ? strncasecmp(s, names[i].name, n)
                            : strncmp(s, names[i].name, n))) {
                break;
            }
        }
        if (i == n_names) {
            return false;
        }
        uint16_t bit = names[i].bit;
        if ((*mask & bit) && ((sign == '+') != !!(*value & bit))) {
            return false;       /* "+syn-syn" */
        }
        *mask |= bit;
        if (sign == '+') {
            *value |= bit;
        }
        s += n;
    }
    return *mask != 0;
}

static bool
parse_tcp_flags(const char *s, uint32_t *value, uint32_t *mask)
{
    return parse_flag_list(s, tcp_flag_names,
                           sizeof tcp_flag_names / sizeof *tcp_flag_names,
                           true, value, mask);
}

static bool
is_ip4_field(const struct mf_field *mf)
{
    switch (mf->id) {
    case MFF_NW_SRC:
    case MFF_NW_DST:
    case MFF_ARP_SPA:
    case MFF_ARP_TPA:
    case MFF_CT_NW_SRC:
    case MFF_CT_NW_DST:
    case MFF_TUN_SRC:
    case MFF_TUN_DST:
        return true;
    default:
        return false;
    }
}

/* tun_flags names (FLOW_TNL_F_* bits a flow may match). */
static const struct flag_name tun_flag_names[] = {
    {"oam", FLOW_TNL_F_OAM},
};

/* A 64-bit number, decimal or 0x hex, into 8 bytes in network order. */
static bool
parse_u64_bytes(const char *s, uint8_t out[8])
{
    uint64_t v;

    if (!parse_uint(s, UINT64_MAX, &v)) {
        return false;
    }
    for (int i = 0; i < 8; i++) {
        out[7 - i] = (uint8_t) (v >> (8 * i));
    }
    return true;
}

static uint64_t
u64_from_bytes(const uint8_t b[8])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

/* ct_state flag names, in bit order (conntrack.h's CS_* values). */
static const struct flag_name ct_state_names[] = {
    {"new", 0x01}, {"est", 0x02}, {"rel", 0x04}, {"rpl", 0x08},
    {"inv", 0x10}, {"trk", 0x20}, {"snat", 0x40}, {"dnat", 0x80},
};

/* "+trk+new-inv" (each flag at most once). */
static bool
parse_ct_state_flags(const char *s, uint32_t *value, uint32_t *mask)
{
    return parse_flag_list(s, ct_state_names,
                           sizeof ct_state_names / sizeof *ct_state_names,
                           false, value, mask);
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* A 128-bit number, decimal up to 2^64 - 1 or 0x hex with up to 32
 * digits, into 16 bytes in network order. */
static bool
parse_u128(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        size_t n = strlen(s + 2);

        if (!n || n > 32) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            int d = hex_digit(s[2 + n - 1 - i]);

            if (d < 0) {
                return false;
            }
            out[15 - i / 2] |= (uint8_t) (i % 2 ? d << 4 : d);
        }
        return true;
    }
    uint64_t v;
    if (!parse_uint(s, UINT64_MAX, &v)) {
        return false;
    }
    for (int i = 0; i < 8; i++) {
        out[15 - i] = (uint8_t) (v >> (8 * i));
    }
    return true;
}

/* ct_label and the xxreg views: 128-bit numbers, where the other 16-byte
 * fields are IPv6 addresses. */
static bool
is_u128_field(const struct mf_field *mf)
{
    return mf->id == MFF_CT_LABEL
           || (mf_is_register(mf->id) && mf->n_bytes == 16);
}

/* Parses the text 's' of a value for 'mf' into view coordinates.  Without a
 * "/mask", *has_mask is false and 'mask' all ones over the view.  In a match
 * (in_match), dl_vlan accepts 0xffff ("no tag") and ip_frag its names.
 * Returns NULL or a reason for the error. */
static const char *
parse_field_value(const struct mf_field *mf, const char *s, bool in_match,
                  union mf_value *value, union mf_value *mask,
                  bool *has_mask)
{
    char buf[MAX_TOKEN];
    const char *slash;
    const char *ms = NULL;

    memset(value, 0, sizeof *value);
    memset(mask, 0, sizeof *mask);
    *has_mask = false;

    if (!*s) {
        return "empty value";
    }

    if (mf->id == MFF_IP_FRAG && in_match) {
        for (size_t i = 0; i < sizeof frag_names / sizeof *frag_names; i++) {
            if (!strcmp(s, frag_names[i].name)) {
                value->u8 = frag_names[i].value;
                mask->u8 = frag_names[i].mask;
                *has_mask = true;
                return NULL;
            }
        }
    }
    if (mf->id == MFF_CT_STATE && (s[0] == '+' || s[0] == '-')) {
        uint32_t v, m;
        if (!parse_ct_state_flags(s, &v, &m)) {
            return "expected flags like +trk+new-inv (new, est, rel, rpl, "
                   "inv, trk, snat, dnat)";
        }
        mf_value_from_u32(mf, v, value);
        mf_value_from_u32(mf, m, mask);
        *has_mask = true;
        return NULL;
    }
    if (mf->id == MFF_TUN_FLAGS && (s[0] == '+' || s[0] == '-')) {
        uint32_t v, m;
        if (!parse_flag_list(s, tun_flag_names,
                             sizeof tun_flag_names / sizeof *tun_flag_names,
                             true, &v, &m)) {
            return "expected flags like +oam or -oam";
        }
        mf_value_from_u32(mf, v, value);
        mf_value_from_u32(mf, m, mask);
        *has_mask = true;
        return NULL;
    }
    if (mf->id == MFF_TCP_FLAGS && (s[0] == '+' || s[0] == '-')) {
        uint32_t v, m;
        if (!parse_tcp_flags(s, &v, &m)) {
            return "expected flags like +syn-ack (fin, syn, rst, psh, ack, "
                   "urg, ece, cwr, ns)";
        }
        mf_value_from_u32(mf, v, value);
        mf_value_from_u32(mf, m, mask);
        *has_mask = true;
        return NULL;
    }

    slash = strchr(s, '/');
    if (slash) {
        if (!mf->maskable) {
            return "field does not take a mask";
        }
        memcpy(buf, s, slash - s);
        buf[slash - s] = '\0';
        s = buf;
        ms = slash + 1;
        *has_mask = true;
    }

    if (mf->n_bytes == 8) {
        if (!parse_u64_bytes(s, value->bytes)) {
            return "expected a 64-bit number (decimal or 0x hex)";
        }
        if (ms) {
            if (!parse_u64_bytes(ms, mask->bytes)) {
                return "expected a 64-bit mask (decimal or 0x hex)";
            }
        } else {
            memset(mask->bytes, 0xff, 8);
        }
    } else if (is_u128_field(mf)) {
        if (!parse_u128(s, value->bytes)) {
            return "expected a 128-bit number (decimal or 0x hex)";
        }
        if (ms) {
            if (!parse_u128(ms, mask->bytes)) {
                return "expected a 128-bit mask (decimal or 0x hex)";
            }
        } else {
            memset(mask->bytes, 0xff, 16);
        }
    } else if (mf->n_bytes == 6) {
        if (!parse_mac(s, value->mac)) {
            return "expected a MAC address xx:xx:xx:xx:xx:xx";
        }
        if (ms) {
            if (!parse_mac(ms, mask->mac)) {
                return "expected a MAC address mask";
            }
        } else {
            memset(mask->mac, 0xff, 6);
        }
    } else if (mf->n_bytes == 16) {
        struct in6_addr a;
        if (inet_pton(AF_INET6, s, &a) != 1) {
            return "expected an IPv6 address";
        }
        memcpy(value->ipv6, &a, 16);
        if (ms) {
            uint64_t len;
            if (!strchr(ms, ':') && parse_uint(ms, 128, &len)) {
                prefix_to_mask_bytes(len, mask->ipv6, 16);
            } else if (inet_pton(AF_INET6, ms, &a) == 1) {
                memcpy(mask->ipv6, &a, 16);
            } else {
                return "expected a prefix length 0..128 or an IPv6 mask";
            }
        } else {
            memset(mask->ipv6, 0xff, 16);
        }
    } else if (is_ip4_field(mf)) {
        if (!parse_ip4(s, &value->be32)) {
            return "expected an IPv4 address a.b.c.d";
        }
        if (ms) {
            uint64_t len;
            if (!strchr(ms, '.') && parse_uint(ms, 32, &len)) {
                mask->be32 = prefix_to_mask4(len);
            } else if (!parse_ip4(ms, &mask->be32)) {
                return "expected a prefix length 0..32 or a mask a.b.c.d";
            }
        } else {
            mask->be32 = 0xffffffffu;
        }
    } else if (mf->id == MFF_IN_PORT) {
        uint32_t port;
        if (!of_port_from_string(s, &port) || port == OFPP_NONE) {
            return "expected a port number 0..65534 or a port name";
        }
        mf_value_from_u32(mf, port, value);
        mf_value_from_u32(mf, UINT32_MAX, mask);
    } else {
        uint64_t v, m = mf_view_max(mf);
        uint32_t max = mf_view_max(mf);
        if (mf->id == MFF_DL_VLAN && in_match && parse_uint(s, 0xffff, &v)
            && v == 0xffff) {
            mf_value_from_u32(mf, 0xffff, value);
            mf_value_from_u32(mf, 0xffff, mask);
            return NULL;
        }
        if (!parse_uint(s, UINT64_MAX, &v)) {
            return "expected a number (decimal or 0x hex)";
        }
        if (v > max) {
            switch (mf->id) {
            case MFF_DL_VLAN:
                return "out of range 0..4095";
            case MFF_DL_VLAN_PCP:
                return "out of range 0..7";
            case MFF_IP_DSCP:
                return "out of range 0..63";
            case MFF_NW_ECN:
                return "out of range 0..3";
            case MFF_VLAN_VID:
                return "out of range 0..0x1fff";
            case MFF_IPV6_LABEL:
                return "out of range 0..0xfffff";
            case MFF_TCP_FLAGS:
                return "out of range 0..0xfff";
            case MFF_IP_FRAG:
                return "expected no, yes, first, later, not_later or 0..3";
            case MFF_NW_TOS:
                return "out of range 0..255";
            default:
                return max == 0xff ? "out of range 0..255"
                                   : "out of range 0..65535";
            }
        }
        if (mf->id == MFF_NW_TOS && (v & 3)) {
            return "the low 2 (ECN) bits of nw_tos must be zero";
        }
        if (ms) {
            if (!parse_uint(ms, UINT64_MAX, &m)) {
                return "expected a numeric mask";
            }
            if (m > max) {
                return "mask out of range";
            }
        }
        mf_value_from_u32(mf, v, value);
        mf_value_from_u32(mf, m, mask);
    }

    /* Pre-mask. */
    for (size_t i = 0; i < sizeof value->bytes; i++) {
        value->bytes[i] &= mask->bytes[i];
    }
    return NULL;
}

/* Formats a value of 'mf' (view coordinates) with an optional mask (NULL
 * or all ones: none shown). */
static void
fmt_field_value(struct sbuf *s, const struct mf_field *mf,
                const union mf_value *value, const union mf_value *mask)
{
    char tmp[INET6_ADDRSTRLEN];

    if (mf->id == MFF_TUN_FLAGS) {
        /* Its only bit, as Open vSwitch writes it. */
        sbuf_printf(s, "%coam", mf_value_to_u32(mf, value) & FLOW_TNL_F_OAM
                                ? '+' : '-');
        return;
    }
    if (mf->n_bytes == 8) {
        sbuf_printf(s, "0x%" PRIx64, u64_from_bytes(value->bytes));
        if (mask && !is_all_ones(mask->bytes, 8)) {
            sbuf_printf(s, "/0x%" PRIx64, u64_from_bytes(mask->bytes));
        }
    } else if (is_u128_field(mf)) {
        sbuf_put_hex128(s, value->bytes);
        if (mask && !is_all_ones(mask->bytes, 16)) {
            sbuf_printf(s, "/");
            sbuf_put_hex128(s, mask->bytes);
        }
    } else if (mf->n_bytes == 6) {
        const uint8_t *m = value->mac;
        sbuf_printf(s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
                    m[3], m[4], m[5]);
        if (mask && !is_all_ones(mask->mac, 6)) {
            m = mask->mac;
            sbuf_printf(s, "/%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                        m[2], m[3], m[4], m[5]);
        }
    } else if (mf->n_bytes == 16) {
        sbuf_printf(s, "%s", inet_ntop(AF_INET6, value->ipv6, tmp,
                                       sizeof tmp));
        if (mask && !is_all_ones(mask->ipv6, 16)) {
            int len = mask_prefix_len(mask->ipv6, 16);
            if (len >= 0) {
                sbuf_printf(s, "/%d", len);
            } else {
                sbuf_printf(s, "/%s", inet_ntop(AF_INET6, mask->ipv6, tmp,
                                                sizeof tmp));
            }
        }
    } else if (is_ip4_field(mf)) {
        const uint8_t *b = (const uint8_t *) &value->be32;
        sbuf_printf(s, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        if (mask && mask->be32 != 0xffffffffu) {
            int len = mask_prefix_len((const uint8_t *) &mask->be32, 4);
            b = (const uint8_t *) &mask->be32;
            if (len >= 0) {
                sbuf_printf(s, "/%d", len);
            } else {
                sbuf_printf(s, "/%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
            }
        }
    } else if (mf->id == MFF_IN_PORT) {
        fmt_port(s, mf_value_to_u32(mf, value));
    } else {
        uint32_t v = mf_value_to_u32(mf, value);
        uint32_t max = mf_view_max(mf);
        bool masked = mask && mf_value_to_u32(mf, mask) != max;

        switch (mf->id) {
        case MFF_DL_TYPE:
        case MFF_VLAN_TCI:
            sbuf_printf(s, "0x%04" PRIx32, v);
            break;
        case MFF_IPV6_LABEL:
            sbuf_printf(s, "0x%05" PRIx32, v);
            break;
        case MFF_TCP_FLAGS:
        case MFF_VLAN_VID:
            sbuf_printf(s, "0x%03" PRIx32, v);
            break;
        case MFF_CT_MARK:
        case MFF_RECIRC_ID:
            sbuf_printf(s, "0x%" PRIx32, v);
            break;
        default:
            if (mf_is_register(mf->id)) {
                sbuf_printf(s, "%#" PRIx32, v);    /* As Open vSwitch. */
                break;
            }
            sbuf_printf(s, masked ? "0x%" PRIx32 : "%" PRIu32, v);
            break;
        }
        if (masked) {
            sbuf_printf(s, "/0x%" PRIx32, mf_value_to_u32(mf, mask));
        }
    }
}

/* ---------------------------------------------------------------------
 * Matches.
 */

void
of_match_init_catchall(struct of_match *m)
{
    memset(m, 0, sizeof *m);
}

bool
of_match_equal(const struct of_match *a, const struct of_match *b)
{
    return !memcmp(&a->wc, &b->wc, sizeof a->wc)
           && flow_equal_masked(&a->flow, &b->flow, &a->wc);
}

/* Prerequisites that depend on the name a field was given by. */
enum {
    PRQ_UDP = 100,              /* udp_src, udp_dst */
    PRQ_SCTP,                   /* sctp_src, sctp_dst */
};

static const struct {
    const char *name;
    int prereq;
} name_prereqs[] = {
    {"tcp_src", MFP_TCP},        {"tcp_dst", MFP_TCP},
    {"udp_src", PRQ_UDP},        {"udp_dst", PRQ_UDP},
    {"sctp_src", PRQ_SCTP},      {"sctp_dst", PRQ_SCTP},
    /* As in Open vSwitch, icmp_type/icmp_code and icmpv6_type/icmpv6_code
     * name the same match under icmp and icmp6 ("icmp6,icmp_type=135" is
     * neighbour solicitation; ovs-ofctl prints icmp_type for both). */
    {"icmp_type", MFP_ICMP_ANY},    {"icmp_code", MFP_ICMP_ANY},
    {"icmpv6_type", MFP_ICMP_ANY},  {"icmpv6_code", MFP_ICMP_ANY},
};

static bool
prereq_ok(int prereq, const struct flow *flow)
{
    uint16_t t = ntohs(flow->dl_type);
    bool ip_any = t == ETH_TYPE_IP || t == ETH_TYPE_IPV6;

    switch (prereq) {
    case PRQ_UDP:
        return ip_any && flow->nw_proto == IPPROTO_UDP_;
    case PRQ_SCTP:
        return ip_any && flow->nw_proto == IPPROTO_SCTP_;
    default:
        return mf_prereq_ok(prereq, flow, NULL);
    }
}

static const char *
prereq_string(int prereq)
{
    switch (prereq) {
    case PRQ_UDP:
        return "udp or udp6";
    case PRQ_SCTP:
        return "sctp or sctp6";
    default:
        return mf_prereq_string(prereq);
    }
}

struct match_item {
    enum mf_field_id id;
    int prereq;
    size_t col;
    char name[24];
};

struct match_parser {
    struct of_match m;
    struct match_item items[MAX_ITEMS];
    size_t n_items;
};

/* Merges (tf, tw) into the match unless a bit both constrain differs. */
static int
match_merge(struct match_parser *mp, const struct flow *tf,
            const struct flow *tw, const char *name, size_t col, char *err,
            size_t errsize)
{
    const uint64_t *f = flow_u64(&mp->m.flow), *w = flow_u64(&mp->m.wc);
    const uint64_t *nf = flow_u64(tf), *nw = flow_u64(tw);
    uint64_t *of = (uint64_t *) (void *) &mp->m.flow;
    uint64_t *ow = (uint64_t *) (void *) &mp->m.wc;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((f[i] ^ nf[i]) & w[i] & nw[i]) {
            return set_err(err, errsize, "conflicting values for %s at "
                           "column %zu", name, col);
        }
    }
    for (size_t i = 0; i < FLOW_U64S; i++) {
        of[i] |= nf[i] & nw[i];
        ow[i] |= nw[i];
    }
    return 0;
}

static const struct {
    const char *name;
    uint16_t dl_type;
    uint8_t nw_proto;           /* 0: none */
} shorthands[] = {
    {"ip", ETH_TYPE_IP, 0},
    {"ipv6", ETH_TYPE_IPV6, 0},
    {"arp", ETH_TYPE_ARP, 0},
    {"icmp", ETH_TYPE_IP, IPPROTO_ICMP_},
    {"tcp", ETH_TYPE_IP, IPPROTO_TCP_},
    {"udp", ETH_TYPE_IP, IPPROTO_UDP_},
    {"sctp", ETH_TYPE_IP, IPPROTO_SCTP_},
    {"icmp6", ETH_TYPE_IPV6, IPPROTO_ICMPV6_},
    {"tcp6", ETH_TYPE_IPV6, IPPROTO_TCP_},
    {"udp6", ETH_TYPE_IPV6, IPPROTO_UDP_},
    {"sctp6", ETH_TYPE_IPV6, IPPROTO_SCTP_},
};
#define N_SHORTHANDS (sizeof shorthands / sizeof *shorthands)

static int
match_shorthand(struct match_parser *mp, size_t i, const struct kv *kv,
                char *err, size_t errsize)
{
    struct flow tf, tw;

    if (kv->has_val) {
        return set_err(err, errsize, "'%s' takes no value at column %zu",
                       kv->key, kv->key_col);
    }
    memset(&tf, 0, sizeof tf);
    memset(&tw, 0, sizeof tw);
    tf.dl_type = htons(shorthands[i].dl_type);
    tw.dl_type = 0xffff;
    if (shorthands[i].nw_proto) {
        tf.nw_proto = shorthands[i].nw_proto;
        tw.nw_proto = 0xff;
    }
    return match_merge(mp, &tf, &tw, kv->key, kv->key_col, err, errsize);
}

static int
match_field(struct match_parser *mp, const struct mf_field *mf,
            const struct kv *kv, char *err, size_t errsize)
{
    union mf_value value, mask;
    struct flow tf, tw;
    const char *why;
    bool has_mask;

    if (!kv->has_val || kv->paren) {
        return set_err(err, errsize, "%s needs a value (%s=VALUE) at column "
                       "%zu", kv->key, kv->key, kv->key_col);
    }
    why = parse_field_value(mf, kv->val, true, &value, &mask, &has_mask);
    if (why) {
        return set_err(err, errsize, "bad value '%s' for %s at column %zu: "
                       "%s", kv->val, kv->key, kv->val_col, why);
    }

    memset(&tf, 0, sizeof tf);
    memset(&tw, 0, sizeof tw);
    if (mf->id == MFF_DL_VLAN || mf->id == MFF_DL_VLAN_PCP) {
        uint32_t v = mf_value_to_u32(mf, &value);
        if (mf->id == MFF_DL_VLAN && v == 0xffff) {
            tw.vlan_tci = 0xffff;           /* No tag: vlan_tci=0/0xffff. */
        } else if (mf->id == MFF_DL_VLAN) {
            tf.vlan_tci = htons(v | FLOW_VLAN_CFI);
            tw.vlan_tci = htons(FLOW_VLAN_VID_MASK | FLOW_VLAN_CFI);
        } else {
            tf.vlan_tci = htons((v << FLOW_VLAN_PCP_SHIFT) | FLOW_VLAN_CFI);
            tw.vlan_tci = htons(FLOW_VLAN_PCP_MASK | FLOW_VLAN_CFI);
        }
    } else {
        mf_set(mf, &value, &mask, &tf);
        mf_set(mf, &mask, NULL, &tw);
    }
    if (mf_tun_metadata_slot(mf->id) >= 0 && !mf_is_wildcarded(mf, &tw)) {
        /* Matching an option's value means it is present (a zero mask
         * matches nothing of it: no presence either, as it formats to
         * nothing). */
        uint8_t bit = (uint8_t) (1u << mf_tun_metadata_slot(mf->id));

        tf.tunnel.md_present |= bit;
        tw.tunnel.md_present |= bit;
    }
    flow_apply_mask(&tf, &tf, &tw);

    if (mp->n_items >= MAX_ITEMS) {
        return set_err(err, errsize, "too many fields at column %zu",
                       kv->key_col);
    }
    struct match_item *it = &mp->items[mp->n_items];
    it->id = mf->id;
    it->prereq = mf->prereq;
    it->col = kv->key_col;
    snprintf(it->name, sizeof it->name, "%.23s", kv->key);
    for (size_t i = 0; i < sizeof name_prereqs / sizeof *name_prereqs; i++) {
        if (!strcmp(kv->key, name_prereqs[i].name)) {
            it->prereq = name_prereqs[i].prereq;
        }
    }
    mp->n_items++;
    return match_merge(mp, &tf, &tw, kv->key, kv->key_col, err, errsize);
}

static int
match_check_prereqs(const struct match_parser *mp, char *err, size_t errsize)
{
    for (size_t i = 0; i < mp->n_items; i++) {
        const struct match_item *it = &mp->items[i];
        const struct mf_field *mf = mf_from_id(it->id);

        if (mf_is_wildcarded(mf, &mp->m.wc)) {
            continue;
        }
        if (!prereq_ok(it->prereq, &mp->m.flow)) {
            return set_err(err, errsize, "%s requires %s (at column %zu)",
                           it->name, prereq_string(it->prereq), it->col);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Actions.
 */

static const struct {
    const char *name;
    enum mf_field_id id;
} mod_actions[] = {
    {"mod_dl_src", MFF_DL_SRC},      {"mod_dl_dst", MFF_DL_DST},
    {"mod_nw_src", MFF_NW_SRC},      {"mod_nw_dst", MFF_NW_DST},
    {"mod_nw_tos", MFF_NW_TOS},      {"mod_nw_ecn", MFF_NW_ECN},
    {"mod_nw_ttl", MFF_NW_TTL},      {"mod_tp_src", MFF_TP_SRC},
    {"mod_tp_dst", MFF_TP_DST},      {"mod_vlan_vid", MFF_DL_VLAN},
    {"mod_vlan_pcp", MFF_DL_VLAN_PCP},
};
#define N_MOD_ACTIONS (sizeof mod_actions / sizeof *mod_actions)

static const char *
mod_name(enum mf_field_id id)
{
    for (size_t i = 0; i < N_MOD_ACTIONS; i++) {
        if (mod_actions[i].id == id) {
            return mod_actions[i].name;
        }
    }
    return NULL;
}

/* Ports an output action may name: a number below OFPP_MAX, LOCAL or
 * CONTROLLER (IN_PORT, NORMAL, FLOOD and ALL become their own actions). */
static bool
parse_output_port(const char *s, struct of_action *a)
{
    uint32_t port;

    if (!of_port_from_string(s, &port)) {
        return false;
    }
    switch (port) {
    case OFPP_IN_PORT:
        a->type = OFPACT_IN_PORT;
        return true;
    case OFPP_NORMAL:
        a->type = OFPACT_NORMAL;
        return true;
    case OFPP_FLOOD:
        a->type = OFPACT_FLOOD;
        return true;
    case OFPP_ALL:
        a->type = OFPACT_ALL;
        return true;
    case OFPP_CONTROLLER:
        a->type = OFPACT_CONTROLLER;
        a->controller.max_len = UINT16_MAX;
        return true;
    case OFPP_LOCAL:
        break;
    default:
        if (port >= OFPP_MAX) {
            return false;
        }
        break;
    }
    a->type = OFPACT_OUTPUT;
    a->output.port = port;
    return true;
}

/* Port of a resubmit: any port number or name except NONE/TABLE. */
static bool
parse_resubmit_port(const char *s, uint32_t *port)
{
    return of_port_from_string(s, port) && *port != OFPP_NONE
           && *port != OFPP_TABLE;
}

static bool
parse_table(const char *s, uint8_t *table)
{
    uint64_t v;
    if (!parse_uint(s, OF_N_TABLES - 1, &v)) {
        return false;
    }
    *table = v;
    return true;
}

/* "NAME[a..b]", "NAME[a]", "NAME[]" or "NAME" (the whole field) into
 * 'sf'; NULL, or what is wrong. */
static const char *
parse_subfield(const char *s, struct of_subfield *sf)
{
    char name[MAX_TOKEN];
    const char *br = strchr(s, '[');
    size_t n = br ? (size_t) (br - s) : strlen(s);
    const struct mf_nxm *nxm;
    unsigned width, lo, hi;
    int i;

    if (!n || n >= sizeof name) {
        return "expected a field name";
    }
    memcpy(name, s, n);
    name[n] = '\0';
    i = mf_nxm_from_name(name);
    if (i < 0) {
        return "unknown field (NXM_NX_REG0, OXM_OF_PKT_REG0, "
               "NXM_OF_ETH_SRC, reg0 ...)";
    }
    nxm = mf_nxm_get(i);
    width = nxm->width * 8u;
    if (!br || !strcmp(br, "[]")) {
        lo = 0;
        hi = width - 1;
    } else {
        /* "[a]" or "[a..b]", decimal bit numbers below 1000. */
        const char *q = br + 1;
        unsigned *dst = &lo;

        lo = hi = 0;
        for (int part = 0; part < 2; part++) {
            int digits = 0;

            *dst = 0;
            while (*q >= '0' && *q <= '9' && digits < 4) {
                *dst = *dst * 10u + (unsigned) (*q++ - '0');
                digits++;
            }
            if (!digits || (*q >= '0' && *q <= '9')) {
                return "expected [], [BIT] or [LOW..HIGH] after the field";
            }
            if (part == 0 && q[0] == '.' && q[1] == '.') {
                q += 2;
                dst = &hi;
                continue;
            }
            if (part == 0) {
                hi = lo;
            }
            break;
        }
        if (*q != ']') {
            return "expected [], [BIT] or [LOW..HIGH] after the field";
        }
        if (q[1]) {
            return "text after ']'";
        }
    }
    if (lo > hi || hi >= width) {
        return "bits outside the field";
    }
    sf->nxm = (uint8_t) i;
    sf->ofs = (uint8_t) lo;
    sf->n_bits = (uint8_t) (hi - lo + 1);
    return NULL;
}

/* "SRC->DST": the text before the last "->" in 'a' (NUL-terminated in
 * 'buf') and 'arrow', or false. */
static bool
split_arrow(const char *val, char *buf, size_t size, const char **dst)
{
    const char *arrow = NULL, *p;

    for (p = val; (p = strstr(p, "->")) != NULL; p += 2) {
        arrow = p;
    }
    if (!arrow || (size_t) (arrow - val) >= size) {
        return false;
    }
    memcpy(buf, val, (size_t) (arrow - val));
    buf[arrow - val] = '\0';
    *dst = arrow + 2;
    return true;
}

/* load:VALUE->DST[a..b]: a set_field of those bits (OFSF_LOAD). */
static int
parse_load(const struct kv *kv, struct of_action *a, char *err,
           size_t errsize)
{
    char vbuf[MAX_TOKEN];
    const char *dst, *why;
    struct of_subfield sf;
    const struct mf_field *mf;
    const struct mf_nxm *nxm;
    uint64_t v;

    if (!split_arrow(kv->val, vbuf, sizeof vbuf, &dst)) {
        return set_err(err, errsize, "load needs VALUE->FIELD[BITS] at "
                       "column %zu", kv->val_col);
    }
    why = parse_subfield(dst, &sf);
    if (why) {
        return set_err(err, errsize, "bad destination '%s' for load at "
                       "column %zu: %s", dst, kv->val_col, why);
    }
    nxm = mf_nxm_get(sf.nxm);
    mf = mf_from_id(nxm->id);
    if (!mf->writable) {
        return set_err(err, errsize, "field '%s' is not writable in load "
                       "at column %zu", dst, kv->val_col);
    }
    if (!parse_uint(vbuf, UINT64_MAX, &v)
        || (sf.n_bits < 64 && v >> sf.n_bits)) {
        return set_err(err, errsize, "bad value '%s' for load at column "
                       "%zu: expected a number of at most %u bits", vbuf,
                       kv->val_col, sf.n_bits);
    }
    memset(a, 0, sizeof *a);
    a->type = OFPACT_SET_FIELD;
    a->set_field.field = mf->id;
    a->set_field.syntax = OFSF_LOAD;
    a->set_field.nxm = sf.nxm;
    a->set_field.has_mask = true;
    /* The bits past 64 (a wide field) are loaded with 0. */
    mf_nxm_mask_bits(nxm, &a->set_field.mask, sf.ofs, sf.n_bits);
    mf_nxm_put_bits(nxm, &a->set_field.value, &a->set_field.mask, sf.ofs,
                    sf.n_bits > 64 ? 64 : sf.n_bits, v);
    return 0;
}

/* move:SRC[a..b]->DST[c..d]. */
static int
parse_move(const struct kv *kv, struct of_action *a, char *err,
           size_t errsize)
{
    char sbuf_[MAX_TOKEN];
    const char *dst, *why;
    struct of_subfield src, dsf;

    if (!split_arrow(kv->val, sbuf_, sizeof sbuf_, &dst)) {
        return set_err(err, errsize, "move needs SRC[BITS]->DST[BITS] at "
                       "column %zu", kv->val_col);
    }
    if ((why = parse_subfield(sbuf_, &src)) != NULL) {
        return set_err(err, errsize, "bad source '%s' for move at column "
                       "%zu: %s", sbuf_, kv->val_col, why);
    }
    if ((why = parse_subfield(dst, &dsf)) != NULL) {
        return set_err(err, errsize, "bad destination '%s' for move at "
                       "column %zu: %s", dst, kv->val_col, why);
    }
    if (src.n_bits != dsf.n_bits) {
        return set_err(err, errsize, "move at column %zu: source and "
                       "destination differ in width (%u and %u bits)",
                       kv->val_col, src.n_bits, dsf.n_bits);
    }
    if (!mf_from_id(mf_nxm_get(dsf.nxm)->id)->writable) {
        return set_err(err, errsize, "field '%s' is not writable in move "
                       "at column %zu", dst, kv->val_col);
    }
    memset(a, 0, sizeof *a);
    a->type = OFPACT_MOVE;
    a->move.src = src;
    a->move.dst = dsf;
    return 0;
}

static int
parse_set_field(const struct kv *kv, struct of_action *a, char *err,
                size_t errsize)
{
    char vbuf[MAX_TOKEN];
    const char *arrow = NULL, *p;
    const struct mf_field *mf;
    const char *why;
    bool has_mask;

    for (p = kv->val; (p = strstr(p, "->")) != NULL; p += 2) {
        arrow = p;
    }
    if (!arrow) {
        return set_err(err, errsize, "set_field needs VALUE->FIELD at column "
                       "%zu", kv->val_col);
    }
    mf = mf_from_name(arrow + 2);
    if (!mf) {
        return set_err(err, errsize, "unknown field '%s' in set_field at "
                       "column %zu", arrow + 2,
                       kv->val_col + (arrow + 2 - kv->val));
    }
    if (!mf->writable) {
        return set_err(err, errsize, "field '%s' is not writable in "
                       "set_field at column %zu", arrow + 2,
                       kv->val_col + (arrow + 2 - kv->val));
    }
    memcpy(vbuf, kv->val, arrow - kv->val);
    vbuf[arrow - kv->val] = '\0';
    a->type = OFPACT_SET_FIELD;
    a->set_field.field = mf->id;
    a->set_field.syntax = OFSF_SET_FIELD;
    why = parse_field_value(mf, vbuf, false, &a->set_field.value,
                            &a->set_field.mask, &has_mask);
    if (why) {
        return set_err(err, errsize, "bad value '%s' for set_field %s at "
                       "column %zu: %s", vbuf, arrow + 2, kv->val_col, why);
    }
    a->set_field.has_mask = has_mask;
    if (!has_mask) {
        memset(&a->set_field.mask, 0, sizeof a->set_field.mask);
    }
    return 0;
}

/* One NAT address: a.b.c.d, [v6] or a bare v6 (as ovs-ofctl: the longest
 * run of hex digits, ':' and '.', so a port needs the brackets); returns
 * the rest of the text after it, or NULL. */
static const char *
parse_nat_addr(const char *p, uint8_t out[16], bool *v6)
{
    char buf[INET6_ADDRSTRLEN + 1];
    size_t n;

    memset(out, 0, 16);
    if (*p == '[') {
        const char *e = strchr(p, ']');
        struct in6_addr a;

        if (!e || (size_t) (e - p - 1) >= sizeof buf) {
            return NULL;
        }
        memcpy(buf, p + 1, e - p - 1);
        buf[e - p - 1] = '\0';
        if (inet_pton(AF_INET6, buf, &a) != 1) {
            return NULL;
        }
        memcpy(out, &a, 16);
        *v6 = true;
        return e + 1;
    }
    n = strspn(p, "0123456789.");
    if (n && n < sizeof buf) {
        uint32_t be;

        memcpy(buf, p, n);
        buf[n] = '\0';
        if (parse_ip4(buf, &be)) {
            memcpy(out, &be, 4);    /* 'out' may be unaligned. */
            *v6 = false;
            return p + n;
        }
    }
    n = strspn(p, "0123456789abcdefABCDEF:.");
    if (!n || n >= sizeof buf) {
        return NULL;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    {
        struct in6_addr a;

        if (inet_pton(AF_INET6, buf, &a) != 1) {
            return NULL;
        }
        memcpy(out, &a, 16);
    }
    *v6 = true;
    return p + n;
}

static int
cmp_addr(const uint8_t *a, const uint8_t *b, size_t n)
{
    return memcmp(a, b, n);
}

/* "src=A[-B][:P[-Q]]" or "dst=..." (the value part after the '='). */
static const char *
parse_nat_range(const char *p, struct ct_nat *nat)
{
    bool v6, v6b;
    uint64_t lo, hi;
    char num[8];
    size_t n;

    p = parse_nat_addr(p, nat->addr_min, &v6);
    if (!p) {
        return "expected an address a.b.c.d, IPv6 or [IPv6]";
    }
    memcpy(nat->addr_max, nat->addr_min, 16);
    if (*p == '-') {
        p = parse_nat_addr(p + 1, nat->addr_max, &v6b);
        if (!p || v6b != v6) {
            return "expected a second address of the same family after '-'";
        }
        if (cmp_addr(nat->addr_min, nat->addr_max, v6 ? 16 : 4) > 0) {
            return "address range is backwards";
        }
    }
    nat->is_ipv6 = v6;
    if (*p == ':') {
        p++;
        n = strspn(p, "0123456789");
        if (!n || n >= sizeof num) {
            return "expected a port after ':'";
        }
        memcpy(num, p, n);
        num[n] = '\0';
        if (!parse_uint(num, 65535, &lo) || !lo) {
            return "port out of range 1..65535";
        }
        p += n;
        hi = lo;
        if (*p == '-') {
            p++;
            n = strspn(p, "0123456789");
            if (!n || n >= sizeof num) {
                return "expected a port after '-'";
            }
            memcpy(num, p, n);
            num[n] = '\0';
            if (!parse_uint(num, 65535, &hi) || hi < lo) {
                return "port range out of order or out of range";
            }
            p += n;
        }
        nat->port_min = lo;
        nat->port_max = hi;
    }
    if (*p) {
        return "garbage after the range";
    }
    return NULL;
}

static int
parse_ct_nat(const struct kv *kv, struct ct_nat *nat, char *err,
             size_t errsize)
{
    const char *pos = kv->val;
    struct kv sub;
    int ret;

    memset(nat, 0, sizeof *nat);
    if (!kv->has_val) {
        nat->flags = CT_NAT_REVERSE;
        return 0;
    }
    if (!kv->paren) {
        return set_err(err, errsize, "nat takes nat(src=..|dst=..,...) at "
                       "column %zu", kv->key_col);
    }
    while ((ret = next_kv(kv->val, &pos, kv->val_col - 1, false, &sub, err,
                          errsize)) > 0) {
        if (!strcmp(sub.key, "src") || !strcmp(sub.key, "dst")) {
            const char *why;

            if (nat->flags & (CT_NAT_SRC | CT_NAT_DST)) {
                return set_err(err, errsize, "nat takes one of src and dst "
                               "(column %zu)", sub.key_col);
            }
            if (!sub.has_val || sub.paren) {
                return set_err(err, errsize, "nat %s needs =ADDRESS[-ADDRESS]"
                               "[:PORT[-PORT]] at column %zu", sub.key,
                               sub.key_col);
            }
            nat->flags |= sub.key[0] == 's' ? CT_NAT_SRC : CT_NAT_DST;
            why = parse_nat_range(sub.val, nat);
            if (why) {
                return set_err(err, errsize, "bad nat range '%s' at column "
                               "%zu: %s", sub.val, sub.val_col, why);
            }
        } else if (!strcmp(sub.key, "random") && !sub.has_val) {
            nat->flags |= CT_NAT_RANDOM;
        } else if (!strcmp(sub.key, "hash") && !sub.has_val) {
            nat->flags |= CT_NAT_HASH;
        } else if (!strcmp(sub.key, "persistent") && !sub.has_val) {
            nat->flags |= CT_NAT_PERSISTENT;
        } else {
            return set_err(err, errsize, "unknown nat argument '%s' at "
                           "column %zu (src=, dst=, random, hash, "
                           "persistent)", sub.key, sub.key_col);
        }
    }
    if (ret < 0) {
        return -ret;
    }
    if ((nat->flags & CT_NAT_RANDOM) && (nat->flags & CT_NAT_HASH)) {
        return set_err(err, errsize, "nat takes random or hash, not both "
                       "(column %zu)", kv->key_col);
    }
    if (!(nat->flags & (CT_NAT_SRC | CT_NAT_DST))) {
        if (nat->flags) {
            return set_err(err, errsize, "nat flags need src= or dst= "
                           "(column %zu)", kv->key_col);
        }
        nat->flags = CT_NAT_REVERSE;
    }
    return 0;
}

/* exec(set_field:V[/M]->ct_mark,set_field:V[/M]->ct_label) */
static int
parse_ct_exec(const struct kv *kv, struct ct_exec *e, char *err,
              size_t errsize)
{
    const char *pos = kv->val;
    struct kv sub;
    int ret;

    while ((ret = next_kv(kv->val, &pos, kv->val_col - 1, false, &sub, err,
                          errsize)) > 0) {
        char vbuf[MAX_TOKEN];
        const char *arrow = NULL, *p, *why;
        const struct mf_field *mf;
        union mf_value v, m;
        bool has_mask;

        if (strcmp(sub.key, "set_field") || !sub.has_val || sub.paren) {
            return set_err(err, errsize, "ct exec() takes only "
                           "set_field:VALUE->ct_mark or ->ct_label (column "
                           "%zu)", sub.key_col);
        }
        for (p = sub.val; (p = strstr(p, "->")) != NULL; p += 2) {
            arrow = p;
        }
        mf = arrow ? mf_from_name(arrow + 2) : NULL;
        if (!mf || (mf->id != MFF_CT_MARK && mf->id != MFF_CT_LABEL)) {
            return set_err(err, errsize, "ct exec() can set only ct_mark and "
                           "ct_label (column %zu)", sub.val_col);
        }
        memcpy(vbuf, sub.val, arrow - sub.val);
        vbuf[arrow - sub.val] = '\0';
        why = parse_field_value(mf, vbuf, false, &v, &m, &has_mask);
        if (why) {
            return set_err(err, errsize, "bad value '%s' for %s at column "
                           "%zu: %s", vbuf, mf->name, sub.val_col, why);
        }
        if (mf->id == MFF_CT_MARK) {
            e->flags |= CT_F_SET_MARK;
            e->mark = ntohl(v.be32);
            e->mark_mask = ntohl(m.be32);
        } else {
            e->flags |= CT_F_SET_LABEL;
            memcpy(e->label, v.bytes, 16);
            memcpy(e->label_mask, m.bytes, 16);
        }
    }
    return ret < 0 ? -ret : 0;
}

/* ct(commit,force,zone=N,table=T,nat(...),exec(...)) */
static int
parse_ct(const struct kv *kv, struct of_action *a, char *err,
         size_t errsize)
{
    struct of_ct *ct = &a->ct;
    const char *pos = kv->val;
    struct kv sub;
    uint64_t v;
    int ret;

    a->type = OFPACT_CT;
    memset(ct, 0, sizeof *ct);
    ct->table = OF_CT_NO_TABLE;
    if (kv->has_val && !kv->paren) {
        return set_err(err, errsize, "ct takes ct(ARG,...) at column %zu",
                       kv->key_col);
    }
    while (kv->has_val
           && (ret = next_kv(kv->val, &pos, kv->val_col - 1, false, &sub,
                             err, errsize)) != 0) {
        if (ret < 0) {
            return -ret;
        }
        if (!strcmp(sub.key, "commit") && !sub.has_val) {
            ct->exec.flags |= CT_F_COMMIT;
        } else if (!strcmp(sub.key, "force") && !sub.has_val) {
            ct->exec.flags |= CT_F_FORCE;
        } else if (!strcmp(sub.key, "zone") && sub.has_val && !sub.paren) {
            if (isalpha((unsigned char) sub.val[0])) {
                const char *why = parse_subfield(sub.val, &ct->zone_src);

                if (!why && ct->zone_src.n_bits != 16) {
                    why = "a zone is 16 bits";
                }
                if (why) {
                    memset(&ct->zone_src, 0, sizeof ct->zone_src);
                    return set_err(err, errsize, "bad zone '%s' at column "
                                   "%zu: %s", sub.val, sub.val_col, why);
                }
            } else if (!parse_uint(sub.val, 65535, &v)) {
                return set_err(err, errsize, "bad zone '%s' at column %zu: "
                               "expected 0..65535 or FIELD[a..b] (16 bits)",
                               sub.val, sub.val_col);
            } else {
                ct->exec.zone = v;
            }
        } else if (!strcmp(sub.key, "table") && sub.has_val && !sub.paren) {
            if (!parse_table(sub.val, &ct->table)) {
                return set_err(err, errsize, "bad table '%s' for ct at "
                               "column %zu: expected 0..%d", sub.val,
                               sub.val_col, OF_N_TABLES - 1);
            }
        } else if (!strcmp(sub.key, "nat")) {
            if (ct->has_nat) {
                return set_err(err, errsize, "ct takes one nat (column "
                               "%zu)", sub.key_col);
            }
            ret = parse_ct_nat(&sub, &ct->exec.nat, err, errsize);
            if (ret) {
                return ret;
            }
            ct->has_nat = true;
        } else if (!strcmp(sub.key, "exec") && sub.paren) {
            ret = parse_ct_exec(&sub, &ct->exec, err, errsize);
            if (ret) {
                return ret;
            }
        } else if (!strcmp(sub.key, "alg")) {
            return set_err(err, errsize, "ct alg= (application helpers) is "
                           "not supported (column %zu)", sub.key_col);
        } else {
            return set_err(err, errsize, "unknown ct argument '%s' at column "
                           "%zu (commit, force, zone=, table=, nat, "
                           "exec())", sub.key, sub.key_col);
        }
    }
    if ((ct->exec.flags & CT_F_FORCE) && !(ct->exec.flags & CT_F_COMMIT)) {
        return set_err(err, errsize, "ct force needs commit (column %zu)",
                       kv->key_col);
    }
    if ((ct->exec.flags & (CT_F_SET_MARK | CT_F_SET_LABEL))
        && !(ct->exec.flags & CT_F_COMMIT)) {
        return set_err(err, errsize, "ct exec() needs commit (column %zu)",
                       kv->key_col);
    }
    if (ct->has_nat && (ct->exec.nat.flags & (CT_NAT_SRC | CT_NAT_DST))
        && !(ct->exec.flags & CT_F_COMMIT)) {
        return set_err(err, errsize, "ct nat with a range needs commit "
                       "(column %zu)", kv->key_col);
    }
    return 0;
}

/* Parses one action item into 'a' (zeroed by the caller). */
static int
parse_action(const struct kv *kv, struct of_action *a, bool *drop,
             char *err, size_t errsize)
{
    const char *k = kv->key;
    uint64_t v;

    if (!kv->has_val) {
        if (!strcasecmp(k, "drop")) {
            *drop = true;
            return 0;
        } else if (!strcasecmp(k, "in_port")) {
            a->type = OFPACT_IN_PORT;
        } else if (!strcasecmp(k, "flood")) {
            a->type = OFPACT_FLOOD;
        } else if (!strcasecmp(k, "all")) {
            a->type = OFPACT_ALL;
        } else if (!strcasecmp(k, "normal")) {
            a->type = OFPACT_NORMAL;
        } else if (!strcasecmp(k, "local")) {
            a->type = OFPACT_OUTPUT;
            a->output.port = OFPP_LOCAL;
        } else if (!strcmp(k, "dec_ttl")) {
            a->type = OFPACT_DEC_TTL;
        } else if (!strcmp(k, "strip_vlan")) {
            a->type = OFPACT_STRIP_VLAN;
        } else if (!strcmp(k, "pop_vlan")) {
            a->type = OFPACT_POP_VLAN;
        } else if (!strcmp(k, "ct_clear")) {
            a->type = OFPACT_CT_CLEAR;
        } else if (!strcasecmp(k, "controller")) {
            a->type = OFPACT_CONTROLLER;
            a->controller.max_len = UINT16_MAX;
        } else if (!strcmp(k, "ct")) {
            return parse_ct(kv, a, err, errsize);
        } else if (k[0] >= '0' && k[0] <= '9') {
            if (!parse_uint(k, OFPP_MAX - 1, &v)) {
                return set_err(err, errsize, "bad port '%s' at column %zu",
                               k, kv->key_col);
            }
            a->type = OFPACT_OUTPUT;
            a->output.port = v;
        } else {
            for (size_t i = 0; i < N_MOD_ACTIONS; i++) {
                if (!strcmp(k, mod_actions[i].name)) {
                    return set_err(err, errsize, "%s needs a value at "
                                   "column %zu", k, kv->key_col);
                }
            }
            if (!strcmp(k, "output") || !strcmp(k, "resubmit")
                || !strcmp(k, "goto_table") || !strcmp(k, "push_vlan")
                || !strcmp(k, "set_field")) {
                return set_err(err, errsize, "%s needs a value at column "
                               "%zu", k, kv->key_col);
            }
            return set_err(err, errsize, "unknown action '%s' at column %zu",
                           k, kv->key_col);
        }
        return 0;
    }

    if (!strcasecmp(k, "controller")) {
        const char *val = kv->val;

        /* controller:N, controller(max_len=N) */
        if (kv->paren) {
            if (strncmp(val, "max_len=", 8)) {
                return set_err(err, errsize, "controller(...) takes only "
                               "max_len=N here (column %zu)", kv->val_col);
            }
            val += 8;
        }
        if (!parse_uint(val, UINT16_MAX, &v)) {
            return set_err(err, errsize, "bad max_len '%s' for controller "
                           "at column %zu", kv->val, kv->val_col);
        }
        a->type = OFPACT_CONTROLLER;
        a->controller.max_len = (uint16_t) v;
        return 0;
    }
    if (!strcmp(k, "meter") && !kv->paren) {
        if (!parse_uint(kv->val, OFM_MAX_ID, &v) || !v) {
            return set_err(err, errsize, "bad meter id '%s' at column %zu "
                           "(1..%u)", kv->val, kv->val_col, OFM_MAX_ID);
        }
        a->type = OFPACT_METER;
        a->meter.meter_id = (uint32_t) v;
        return 0;
    }
    if (!strcmp(k, "group") && !kv->paren) {
        if (!parse_uint(kv->val, OFG_MAX_ID, &v)) {
            return set_err(err, errsize, "bad group id '%s' at column %zu "
                           "(0..%u)", kv->val, kv->val_col, OFG_MAX_ID);
        }
        a->type = OFPACT_GROUP;
        a->group.group_id = (uint32_t) v;
        return 0;
    }
    if (!strcmp(k, "output") && !kv->paren) {
        if (!parse_output_port(kv->val, a)) {
            return set_err(err, errsize, "bad port '%s' for output at "
                           "column %zu", kv->val, kv->val_col);
        }
        return 0;
    }
    if (!strcmp(k, "set_field") && !kv->paren) {
        return parse_set_field(kv, a, err, errsize);
    }
    if (!strcmp(k, "load") && !kv->paren) {
        return parse_load(kv, a, err, errsize);
    }
    if (!strcmp(k, "move") && !kv->paren) {
        return parse_move(kv, a, err, errsize);
    }
    if (!strcmp(k, "ct")) {
        return parse_ct(kv, a, err, errsize);
    }
    if (!strcmp(k, "push_vlan") && !kv->paren) {
        if (!parse_uint(kv->val, 0xffff, &v)
            || (v != ETH_TYPE_VLAN && v != ETH_TYPE_VLAN_8021AD)) {
            return set_err(err, errsize, "bad ethertype '%s' for push_vlan "
                           "at column %zu: expected 0x8100 or 0x88a8",
                           kv->val, kv->val_col);
        }
        a->type = OFPACT_PUSH_VLAN;
        a->push_vlan.ethertype = v;
        return 0;
    }
    if (!strcmp(k, "write_metadata") && !kv->paren) {
        const char *slash = strchr(kv->val, '/');
        char vbuf[MAX_TOKEN];
        uint64_t mv = UINT64_MAX;

        if (slash && (size_t) (slash - kv->val) < sizeof vbuf) {
            memcpy(vbuf, kv->val, (size_t) (slash - kv->val));
            vbuf[slash - kv->val] = '\0';
        } else {
            snprintf(vbuf, sizeof vbuf, "%s", kv->val);
        }
        if (!parse_uint(vbuf, UINT64_MAX, &v)
            || (slash && !parse_uint(slash + 1, UINT64_MAX, &mv))) {
            return set_err(err, errsize, "bad value '%s' for write_metadata "
                           "at column %zu: expected VALUE[/MASK]", kv->val,
                           kv->val_col);
        }
        a->type = OFPACT_WRITE_METADATA;
        a->write_metadata.value = v;   /* Bits outside the mask: ignored. */
        a->write_metadata.mask = mv;
        return 0;
    }
    if (!strcmp(k, "goto_table") && !kv->paren) {
        if (!parse_table(kv->val, &a->goto_table.table)) {
            return set_err(err, errsize, "bad table '%s' for goto_table at "
                           "column %zu: expected 0..%d", kv->val,
                           kv->val_col, OF_N_TABLES - 1);
        }
        a->type = OFPACT_GOTO_TABLE;
        return 0;
    }
    if (!strcmp(k, "resubmit")) {
        a->type = OFPACT_RESUBMIT;
        a->resubmit.port = OFPP_IN_PORT;
        a->resubmit.table = OF_TABLE_NONE;
        if (!kv->paren) {
            if (!parse_resubmit_port(kv->val, &a->resubmit.port)) {
                return set_err(err, errsize, "bad port '%s' for resubmit at "
                               "column %zu", kv->val, kv->val_col);
            }
            return 0;
        }
        char pbuf[MAX_TOKEN];
        const char *comma = strchr(kv->val, ',');
        const char *ts = comma ? comma + 1 : "";
        size_t plen = comma ? (size_t) (comma - kv->val) : strlen(kv->val);

        memcpy(pbuf, kv->val, plen);
        pbuf[plen] = '\0';
        if (!plen && !*ts) {
            return set_err(err, errsize, "resubmit needs a port or a table "
                           "at column %zu", kv->val_col);
        }
        if (plen && !parse_resubmit_port(pbuf, &a->resubmit.port)) {
            return set_err(err, errsize, "bad port '%s' for resubmit at "
                           "column %zu", pbuf, kv->val_col);
        }
        if (*ts && !parse_table(ts, &a->resubmit.table)) {
            return set_err(err, errsize, "bad table '%s' for resubmit at "
                           "column %zu: expected 0..%d", ts,
                           kv->val_col + plen + 1, OF_N_TABLES - 1);
        }
        return 0;
    }
    for (size_t i = 0; i < N_MOD_ACTIONS && !kv->paren; i++) {
        if (!strcmp(k, mod_actions[i].name)) {
            const struct mf_field *mf = mf_from_id(mod_actions[i].id);
            bool has_mask;
            const char *why;

            a->type = OFPACT_SET_FIELD;
            a->set_field.field = mf->id;
            a->set_field.syntax = OFSF_MOD;
            if (strchr(kv->val, '/')) {
                why = "no mask allowed";
            } else {
                why = parse_field_value(mf, kv->val, false,
                                        &a->set_field.value,
                                        &a->set_field.mask, &has_mask);
            }
            if (why) {
                return set_err(err, errsize, "bad value '%s' for %s at "
                               "column %zu: %s", kv->val, k, kv->val_col,
                               why);
            }
            memset(&a->set_field.mask, 0, sizeof a->set_field.mask);
            return 0;
        }
    }
    if (!strcasecmp(k, "drop") || !strcasecmp(k, "in_port")
        || !strcasecmp(k, "flood") || !strcasecmp(k, "all")
        || !strcasecmp(k, "normal") || !strcmp(k, "dec_ttl")
        || !strcmp(k, "strip_vlan") || !strcmp(k, "pop_vlan")
        || !strcmp(k, "ct_clear")) {
        return set_err(err, errsize, "%s takes no value at column %zu", k,
                       kv->key_col);
    }
    return set_err(err, errsize, "unknown action '%s' at column %zu", k,
                   kv->key_col);
}

static int actions_parse__(const char *full, const char *text,
                           const struct of_match *match,
                           struct of_actions **out, char *err,
                           size_t errsize);

/* write_actions(LIST): appends the block's head and LIST's actions to
 * 'acts' (room for them is reserved by the caller's count of delimiters
 * and parentheses). */
static int
parse_write_actions(const struct kv *kv, const struct of_match *match,
                    struct of_actions *acts, char *err, size_t errsize)
{
    struct of_actions *inner = NULL;
    char e2[256] = "";
    int ret;

    ret = actions_parse__(kv->val, kv->val, match, &inner, e2, sizeof e2);
    if (ret) {
        return set_err(err, errsize, "in write_actions at column %zu: %s",
                       kv->val_col, e2);
    }
    for (size_t i = 0; i < inner->n; i++) {
        if (!of_action_set_allowed(inner->a[i].type)) {
            free(inner);
            return set_err(err, errsize, "write_actions at column %zu: "
                           "action %zu may not go into the action set "
                           "(outputs, group, set_field, push_vlan, "
                           "pop_vlan, dec_ttl may)", kv->key_col, i + 1);
        }
    }
    memset(&acts->a[acts->n], 0, sizeof acts->a[acts->n]);
    acts->a[acts->n].type = OFPACT_WRITE_ACTIONS;
    acts->a[acts->n].write_actions.n = (uint16_t) inner->n;
    acts->n++;
    memcpy(&acts->a[acts->n], inner->a, inner->n * sizeof inner->a[0]);
    acts->n += inner->n;
    free(inner);
    return 0;
}

/* Parses the action list 'text', a suffix of 'full' (columns in errors
 * count from full[0]).  With 'match', set_field prerequisites are checked
 * against it.  OpenFlow's instructions keep their order: meter first,
 * then the actions, then write_metadata (once), then goto_table. */
static int
actions_parse__(const char *full, const char *text,
                const struct of_match *match, struct of_actions **out,
                char *err, size_t errsize)
{
    size_t cap = 1;
    struct of_actions *acts;
    size_t drop_col = 0, goto_col = 0, wmd_col = 0, set_col = 0;
    int set_stage = 0;          /* 1: clear_actions seen, 2: write_. */
    const char *pos = text;
    struct of_match cur;        /* The match as the actions change it. */
    struct kv kv;
    int ret;

    *out = NULL;
    for (const char *p = text; *p; p++) {
        cap += is_delim(*p) + (*p == '(');  /* '(': a write_actions head. */
    }
    acts = of_actions_alloc(cap);
    if (!acts) {
        return ENOMEM;
    }
    while ((ret = next_kv(full, &pos, 0, false, &kv, err, errsize)) > 0) {
        struct of_action *a = &acts->a[acts->n];
        bool drop = false;

        if (goto_col) {
            ret = -set_err(err, errsize, "goto_table must be the last action"
                           " (at column %zu)", goto_col);
            break;
        }
        if (wmd_col && strcmp(kv.key, "goto_table")) {
            /* Instructions in OpenFlow's order, as Open vSwitch asks. */
            ret = -set_err(err, errsize, "write_metadata may only be "
                           "followed by goto_table (at column %zu)",
                           wmd_col);
            break;
        }
        if (set_col && (!strcmp(kv.key, "clear_actions")
                        ? set_stage >= 1
                        : !strcmp(kv.key, "write_actions")
                        ? set_stage >= 2
                        : strcmp(kv.key, "write_metadata")
                          && strcmp(kv.key, "goto_table"))) {
            ret = -set_err(err, errsize, "%s may only be followed by the "
                           "instructions after it (at column %zu): meter, "
                           "actions, clear_actions, write_actions(...), "
                           "write_metadata, goto_table, in that order",
                           set_stage == 1 ? "clear_actions"
                                          : "write_actions", set_col);
            break;
        }
        if (!strcmp(kv.key, "clear_actions") && !kv.has_val && !kv.paren) {
            memset(a, 0, sizeof *a);
            a->type = OFPACT_CLEAR_ACTIONS;
            acts->n++;
            set_stage = 1;
            set_col = kv.key_col;
            continue;
        }
        if (!strcmp(kv.key, "write_actions") && kv.paren) {
            ret = -parse_write_actions(&kv, match, acts, err, errsize);
            if (ret) {
                break;
            }
            set_stage = 2;
            set_col = kv.key_col;
            continue;
        }
        memset(a, 0, sizeof *a);
        ret = -parse_action(&kv, a, &drop, err, errsize);
        if (ret) {
            break;
        }
        if (drop) {
            if (!drop_col) {
                drop_col = kv.key_col;
            }
            continue;
        }
        if (a->type == OFPACT_GOTO_TABLE) {
            goto_col = kv.key_col;
        }
        if (a->type == OFPACT_WRITE_METADATA) {
            wmd_col = kv.key_col;
        }
        if (a->type == OFPACT_METER && acts->n) {
            /* OpenFlow's meter instruction runs before the actions. */
            ret = -set_err(err, errsize, "meter must be the first action "
                           "(at column %zu)", kv.key_col);
            break;
        }
        if (match && (a->type == OFPACT_PUSH_VLAN
                      || a->type == OFPACT_POP_VLAN
                      || a->type == OFPACT_STRIP_VLAN)) {
            /* As Open vSwitch: after a push, the packet has a tag. */
            if (match != &cur) {
                cur = *match;
                match = &cur;
            }
            if (a->type == OFPACT_PUSH_VLAN) {
                cur.flow.vlan_tci |= htons(FLOW_VLAN_CFI);
            } else {
                cur.flow.vlan_tci &= ~htons(FLOW_VLAN_CFI);
            }
            cur.wc.vlan_tci |= htons(FLOW_VLAN_CFI);
        }
        if (match && a->type == OFPACT_SET_FIELD
            && a->set_field.syntax != OFSF_MOD) {
            /* As Open vSwitch: set_field and load need their field's
             * prerequisites in the match (mod_* actions do not). */
            const struct mf_field *mf = mf_from_id(a->set_field.field);
            if (!mf_prereqs_ok(mf, &match->flow, NULL)) {
                ret = -set_err(err, errsize, "%s of %s requires %s "
                               "in the match (at column %zu)",
                               a->set_field.syntax == OFSF_LOAD ? "load"
                                                                : "set_field",
                               mf->name, mf_prereq_string(mf->prereq),
                               kv.key_col);
                break;
            }
        }
        if (match && (a->type == OFPACT_MOVE
                      || (a->type == OFPACT_CT && a->ct.zone_src.n_bits))) {
            /* Likewise the fields a move or a ct zone reads and writes
             * (the wire's reg_move_decode() checks the same). */
            const struct of_subfield *sf[2] = {
                a->type == OFPACT_MOVE ? &a->move.src : &a->ct.zone_src,
                a->type == OFPACT_MOVE ? &a->move.dst : NULL,
            };
            const struct mf_field *bad = NULL;

            for (int k = 0; k < 2 && !bad; k++) {
                const struct mf_field *mf = sf[k] ? mf_from_id(
                    mf_nxm_get(sf[k]->nxm)->id) : NULL;

                if (mf && !mf_prereqs_ok(mf, &match->flow, NULL)) {
                    bad = mf;
                }
            }
            if (bad) {
                ret = -set_err(err, errsize, "%s of %s requires %s in the "
                               "match (at column %zu)",
                               a->type == OFPACT_MOVE ? "move" : "ct zone",
                               bad->name, mf_prereq_string(bad->prereq),
                               kv.key_col);
                break;
            }
        }
        if (match && a->type == OFPACT_CT
            && ((a->ct.exec.flags & CT_F_COMMIT) || a->ct.has_nat)
            && !(match->wc.dl_type == 0xffff
                 && (match->flow.dl_type == htons(ETH_TYPE_IP)
                     || match->flow.dl_type == htons(ETH_TYPE_IPV6)))) {
            /* As Open vSwitch: committing (or NAT) needs the match to
             * say the packet is IP. */
            ret = -set_err(err, errsize, "ct with commit or nat requires ip "
                           "or ipv6 in the match (at column %zu)",
                           kv.key_col);
            break;
        }
        acts->n++;
    }
    if (!ret && drop_col && acts->n) {
        ret = -set_err(err, errsize, "drop must be the only action (at "
                       "column %zu)", drop_col);
    }
    if (ret) {
        free(acts);
        return -ret;
    }
    *out = acts;
    return 0;
}

int
of_actions_parse(const char *text, struct of_actions **out, char *err,
                 size_t errsize)
{
    return actions_parse__(text, text, NULL, out, err, errsize);
}

/* ---------------------------------------------------------------------
 * Flow specs.
 */

static int
parse_u16_item(const struct kv *kv, uint16_t *out, char *err, size_t errsize)
{
    uint64_t v;

    if (!kv->has_val || kv->paren || !parse_uint(kv->val, 0xffff, &v)) {
        return set_err(err, errsize, "bad value '%s' for %s at column %zu: "
                       "expected 0..65535", kv->val, kv->key, kv->val_col);
    }
    *out = v;
    return 0;
}

static int
of_flow_parse__(struct of_flow_spec *spec, const char *text,
                enum of_flow_cmd cmd, struct match_parser *mp, char *err,
                size_t errsize)
{
    const char *pos = text;
    const char *actions_text = NULL;
    bool is_add = cmd == OFFC_ADD;
    bool is_mod = cmd == OFFC_MODIFY || cmd == OFFC_MODIFY_STRICT;
    struct kv kv;
    int ret;

    while ((ret = next_kv(text, &pos, 0, true, &kv, err, errsize)) > 0) {
        const char *k = kv.key;
        const struct mf_field *mf;
        uint64_t v;
        size_t i;

        ret = 0;
        if (!strcmp(k, "actions") || !strcmp(k, "action")) {
            if (!kv.has_val || kv.paren) {
                return set_err(err, errsize, "expected '%s=' at column %zu",
                               k, kv.key_col);
            }
            actions_text = kv.val_start;
            if (!is_add && !is_mod) {
                return set_err(err, errsize, "actions are not allowed in "
                               "this command (at column %zu)", kv.key_col);
            }
            break;
        }
        for (i = 0; i < N_SHORTHANDS; i++) {
            if (!strcmp(k, shorthands[i].name)) {
                break;
            }
        }
        if (i < N_SHORTHANDS) {
            ret = match_shorthand(mp, i, &kv, err, errsize);
        } else if (!strcmp(k, "priority")) {
            uint16_t prio;
            ret = parse_u16_item(&kv, &prio, err, errsize);
            spec->priority = prio;
            spec->priority_set = true;
        } else if (!strcmp(k, "table")) {
            if (!kv.has_val || kv.paren
                || !parse_table(kv.val, &spec->table_id)) {
                return set_err(err, errsize, "bad value '%s' for table at "
                               "column %zu: expected 0..%d", kv.val,
                               kv.val_col, OF_N_TABLES - 1);
            }
            spec->table_set = true;
        } else if (!strcmp(k, "cookie")) {
            char buf[MAX_TOKEN];
            char *slash = strchr(kv.val, '/');
            uint64_t m = 0;

            snprintf(buf, sizeof buf, "%s", kv.val);
            if (slash) {
                buf[slash - kv.val] = '\0';
            }
            if (!kv.has_val || kv.paren || !parse_uint(buf, UINT64_MAX, &v)
                || (slash && !parse_uint(slash + 1, UINT64_MAX, &m))) {
                return set_err(err, errsize, "bad value '%s' for cookie at "
                               "column %zu", kv.val, kv.val_col);
            }
            if (slash && is_add) {
                return set_err(err, errsize, "cookie mask not allowed when "
                               "adding a flow (at column %zu)", kv.val_col);
            }
            spec->cookie = v;
            spec->cookie_mask = m;
        } else if ((!strcmp(k, "send_flow_rem")
                    || !strcmp(k, "reset_counts")) && !kv.has_val) {
            /* Flow mod flags, for add and modify. */
            if (!is_add && !is_mod) {
                return set_err(err, errsize, "%s is not allowed in this "
                               "command (at column %zu)", k, kv.key_col);
            }
            *(k[0] == 's' ? &spec->send_flow_rem : &spec->reset_counts)
                = true;
        } else if (!strcmp(k, "out_group")) {
            uint64_t g;

            if (is_add) {
                return set_err(err, errsize, "out_group is not allowed when "
                               "adding a flow (at column %zu)", kv.key_col);
            }
            if (!kv.has_val || kv.paren
                || !parse_uint(kv.val, OFG_MAX_ID, &g)) {
                return set_err(err, errsize, "bad value '%s' for out_group "
                               "at column %zu", kv.val, kv.val_col);
            }
            spec->out_group = (uint32_t) g;
            spec->out_group_set = true;
        } else if (!strcmp(k, "idle_timeout") || !strcmp(k, "hard_timeout")) {
            if (!is_add && !is_mod) {
                return set_err(err, errsize, "%s is not allowed in this "
                               "command (at column %zu)", k, kv.key_col);
            }
            ret = parse_u16_item(&kv, k[0] == 'i' ? &spec->idle_timeout
                                                  : &spec->hard_timeout,
                                 err, errsize);
        } else if (!strcmp(k, "out_port")) {
            uint32_t port;
            if (is_add) {
                return set_err(err, errsize, "out_port is not allowed when "
                               "adding a flow (at column %zu)", kv.key_col);
            }
            if (!kv.has_val || kv.paren
                || !of_port_from_string(kv.val, &port)) {
                return set_err(err, errsize, "bad value '%s' for out_port at "
                               "column %zu", kv.val, kv.val_col);
            }
            spec->out_port = port;
        } else if ((mf = mf_from_name(k)) != NULL
                   && mf->id == MFF_RECIRC_ID) {
            return set_err(err, errsize, "recirc_id is the datapath's; a "
                           "flow cannot match it (column %zu)", kv.key_col);
        } else if (mf) {
            ret = match_field(mp, mf, &kv, err, errsize);
        } else {
            return set_err(err, errsize, "unknown field '%s' at column %zu",
                           k, kv.key_col);
        }
        if (ret) {
            return ret;
        }
    }
    if (ret < 0) {
        return -ret;
    }

    ret = match_check_prereqs(mp, err, errsize);
    if (ret) {
        return ret;
    }
    flow_apply_mask(&mp->m.flow, &mp->m.flow, &mp->m.wc);
    spec->match = mp->m;

    if (actions_text) {
        return actions_parse__(text, actions_text, &spec->match,
                               &spec->actions, err, errsize);
    }
    if (is_add || is_mod) {
        return set_err(err, errsize, "missing 'actions=' (use actions=drop "
                       "to drop)");
    }
    return 0;
}

int
of_flow_parse(struct of_flow_spec *spec, const char *text,
              enum of_flow_cmd cmd, char *err, size_t errsize)
{
    struct match_parser *mp;
    int error;

    memset(spec, 0, sizeof *spec);
    if (err && errsize) {
        err[0] = '\0';
    }
    mp = calloc(1, sizeof *mp);
    if (!mp) {
        return ENOMEM;
    }
    spec->priority = OF_DEFAULT_PRIORITY;
    spec->table_id = cmd == OFFC_ADD ? 0 : 0xff;
    spec->out_port = OFPP_NONE;
    error = of_flow_parse__(spec, text ? text : "", cmd, mp, err, errsize);
    free(mp);
    if (error) {
        of_flow_spec_uninit(spec);
        memset(spec, 0, sizeof *spec);
    }
    return error;
}

/* The tun_metadata slot 'a' sets, or -1. */
static int
action_tlv_slot(const struct of_action *a)
{
    return a->type == OFPACT_SET_FIELD
           ? mf_tun_metadata_slot(a->set_field.field) : -1;
}

uint8_t
of_tlv_slots_used(const struct flow *mask, const struct of_actions *acts)
{
    uint8_t slots = 0;

    for (int i = 0; mask && i < FLOW_TNL_MD_SLOTS; i++) {
        if (mask->tunnel.metadata[i] || (mask->tunnel.md_present >> i & 1)) {
            slots |= (uint8_t) (1u << i);
        }
    }
    for (size_t k = 0; acts && k < acts->n; k++) {
        const struct of_action *a = &acts->a[k];
        int slot = action_tlv_slot(a);

        if (slot >= 0) {
            slots |= (uint8_t) (1u << slot);
        }
    }
    return slots;
}

/* True if the 8 big-endian bytes at 'p' (an option's value, right-aligned)
 * fit in 'len' bytes. */
static bool
tlv_fits(const uint8_t *p, unsigned len)
{
    for (unsigned i = 0; len < 8 && i < 8 - len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

int
of_actions_check_tlv(const struct of_actions *acts,
                     const uint8_t lens[FLOW_TNL_MD_SLOTS], char *err,
                     size_t errsize)
{
    for (size_t k = 0; acts && k < acts->n; k++) {
        const struct of_action *a = &acts->a[k];
        int slot = action_tlv_slot(a);

        if (slot < 0) {
            continue;
        }
        if (!lens[slot]) {
            set_err(err, errsize, "tun_metadata%d: no GENEVE option is "
                    "mapped to it (add-tlv-map)", slot);
            return ENOKEY;
        }
        if (!tlv_fits(a->set_field.value.bytes, lens[slot])) {
            set_err(err, errsize, "set_field of tun_metadata%d: more than "
                    "the %u bytes of its option", slot, lens[slot]);
            return EOVERFLOW;
        }
    }
    return 0;
}

int
of_flow_spec_check_tlv(const struct of_flow_spec *spec,
                       const uint8_t lens[FLOW_TNL_MD_SLOTS], char *err,
                       size_t errsize)
{
    const struct of_actions *acts = spec->actions;
    uint8_t used = of_tlv_slots_used(&spec->match.wc, acts);

    for (int i = 0; i < FLOW_TNL_MD_SLOTS; i++) {
        const struct flow_tnl *v = &spec->match.flow.tunnel;

        if (!(used >> i & 1)) {
            continue;
        }
        if (!lens[i]) {
            set_err(err, errsize, "tun_metadata%d: no GENEVE option is "
                    "mapped to it (add-tlv-map)", i);
            return ENOKEY;
        }
        /* The value (a mask's bits beyond the option see zeros, as the
         * value has there: an exact match is all ones). */
        if (!tlv_fits((const uint8_t *) &v->metadata[i], lens[i])) {
            set_err(err, errsize, "tun_metadata%d: the value needs more "
                    "than the %u bytes of its option", i, lens[i]);
            return ERANGE;
        }
    }
    return of_actions_check_tlv(acts, lens, err, errsize);
}

void
of_flow_spec_uninit(struct of_flow_spec *spec)
{
    if (spec) {
        free(spec->actions);
        spec->actions = NULL;
    }
}

/* ---------------------------------------------------------------------
 * Formatting.
 */

static void
fmt_item(struct sbuf *s, bool *first, const char *name)
{
    sbuf_printf(s, "%s%s", *first ? "" : ",", name);
    *first = false;
}

/* ",name=value[/mask]" for field 'id' unless wildcarded. */
static void
fmt_match_field(struct sbuf *s, bool *first, const struct of_match *m,
                enum mf_field_id id, const char *name)
{
    const struct mf_field *mf = mf_from_id(id);
    union mf_value v, mask;

    mf_get(mf, &m->wc, &mask);
    if (mf_is_wildcarded(mf, &m->wc)) {
        return;
    }
    mf_get(mf, &m->flow, &v);
    fmt_item(s, first, name ? name : mf->name);
    sbuf_printf(s, "=");
    fmt_field_value(s, mf, &v, &mask);
}

static void
fmt_vlan(struct sbuf *s, bool *first, const struct of_match *m)
{
    uint16_t v = ntohs(m->flow.vlan_tci), w = ntohs(m->wc.vlan_tci);
    uint16_t rest = w & ~FLOW_VLAN_CFI;

    if (!w) {
        return;
    }
    if ((w & FLOW_VLAN_CFI) && (v & FLOW_VLAN_CFI)
        && (rest == FLOW_VLAN_VID_MASK || rest == FLOW_VLAN_PCP_MASK
            || rest == (FLOW_VLAN_VID_MASK | FLOW_VLAN_PCP_MASK))) {
        if (rest & FLOW_VLAN_VID_MASK) {
            fmt_item(s, first, "dl_vlan");
            sbuf_printf(s, "=%u", v & FLOW_VLAN_VID_MASK);
        }
        if (rest & FLOW_VLAN_PCP_MASK) {
            fmt_item(s, first, "dl_vlan_pcp");
            sbuf_printf(s, "=%u", v >> FLOW_VLAN_PCP_SHIFT);
        }
        return;
    }
    fmt_item(s, first, "vlan_tci");
    sbuf_printf(s, "=0x%04x", v);
    if (w != 0xffff) {
        sbuf_printf(s, "/0x%04x", w);
    }
}

static void
fmt_frag(struct sbuf *s, bool *first, const struct of_match *m)
{
    uint8_t v = m->flow.nw_frag, w = m->wc.nw_frag & FLOW_NW_FRAG_MASK;

    if (!w) {
        return;
    }
    fmt_item(s, first, "ip_frag");
    for (size_t i = 0; i < sizeof frag_names / sizeof *frag_names; i++) {
        if (frag_names[i].value == (v & w) && frag_names[i].mask == w) {
            sbuf_printf(s, "=%s", frag_names[i].name);
            return;
        }
    }
    sbuf_printf(s, "=0x%x/0x%x", v & w, w);
}

static void
fmt_tcp_flags(struct sbuf *s, bool *first, const struct of_match *m)
{
    uint16_t v = ntohs(m->flow.tcp_flags) & 0x0fff;
    uint16_t w = ntohs(m->wc.tcp_flags) & 0x0fff;

    if (!w) {
        return;
    }
    fmt_item(s, first, "tcp_flags");
    sbuf_printf(s, "=");
    if (w & ~TCP_FLAGS_NAMED) {
        sbuf_printf(s, "0x%03x", v);
        if (w != 0x0fff) {
            sbuf_printf(s, "/0x%03x", w);
        }
        return;
    }
    for (size_t i = 0; i < sizeof tcp_flag_names / sizeof *tcp_flag_names;
         i++) {
        uint16_t bit = tcp_flag_names[i].bit;
        if (w & bit) {
            sbuf_printf(s, "%c%s", v & bit ? '+' : '-',
                        tcp_flag_names[i].name);
        }
    }
}

static void
fmt_ct_state(struct sbuf *s, bool *first, const struct of_match *m)
{
    uint8_t v = m->flow.ct_state, w = m->wc.ct_state;

    if (!w) {
        return;
    }
    fmt_item(s, first, "ct_state");
    sbuf_printf(s, "=");
    for (size_t i = 0; i < sizeof ct_state_names / sizeof *ct_state_names;
         i++) {
        uint8_t bit = ct_state_names[i].bit;
        if (w & bit) {
            sbuf_printf(s, "%c%s", v & bit ? '+' : '-',
                        ct_state_names[i].name);
        }
    }
}

static void
fmt_match(struct sbuf *s, const struct of_match *m, int32_t priority)
{
    bool first = true;
    bool dl_exact = m->wc.dl_type == 0xffff;
    bool proto_exact = m->wc.nw_proto == 0xff;
    uint16_t dl_type = ntohs(m->flow.dl_type);
    bool is_arp = dl_exact && dl_type == ETH_TYPE_ARP;
    bool proto_done = false;
    bool shorthand = false;
    bool icmp4 = false, icmp6 = false;
    uint8_t tos_w = m->wc.nw_tos;

    if (priority != INT32_MIN) {
        fmt_item(s, &first, "");
        sbuf_printf(s, "priority=%" PRId32, priority);
    }

    /* Metadata first, as Open vSwitch prints it.  Every megaflow matches
     * recirc_id; only a recirculated pass's (nonzero) is worth showing. */
    if (m->flow.recirc_id) {
        fmt_match_field(s, &first, m, MFF_RECIRC_ID, NULL);
    }
    fmt_ct_state(s, &first, m);
    fmt_match_field(s, &first, m, MFF_CT_ZONE, NULL);
    fmt_match_field(s, &first, m, MFF_CT_MARK, NULL);
    fmt_match_field(s, &first, m, MFF_CT_LABEL, NULL);
    fmt_match_field(s, &first, m, MFF_CT_NW_SRC, NULL);
    fmt_match_field(s, &first, m, MFF_CT_NW_DST, NULL);
    fmt_match_field(s, &first, m, MFF_CT_IPV6_SRC, NULL);
    fmt_match_field(s, &first, m, MFF_CT_IPV6_DST, NULL);
    fmt_match_field(s, &first, m, MFF_CT_NW_PROTO, NULL);
    fmt_match_field(s, &first, m, MFF_CT_TP_SRC, NULL);
    fmt_match_field(s, &first, m, MFF_CT_TP_DST, NULL);
    /* Shorthand or dl_type. */
    if (dl_exact && (dl_type == ETH_TYPE_IP || dl_type == ETH_TYPE_IPV6
                     || dl_type == ETH_TYPE_ARP)) {
        const char *name = NULL;
        for (size_t i = 0; i < N_SHORTHANDS; i++) {
            if (shorthands[i].dl_type == dl_type && proto_exact
                && shorthands[i].nw_proto
                && shorthands[i].nw_proto == m->flow.nw_proto) {
                name = shorthands[i].name;
                proto_done = true;
                break;
            }
        }
        if (!name) {
            name = dl_type == ETH_TYPE_IP ? "ip"
                   : dl_type == ETH_TYPE_IPV6 ? "ipv6" : "arp";
        }
        fmt_item(s, &first, name);
        shorthand = true;
        icmp4 = dl_type == ETH_TYPE_IP && proto_done
                && m->flow.nw_proto == IPPROTO_ICMP_;
        icmp6 = dl_type == ETH_TYPE_IPV6 && proto_done
                && m->flow.nw_proto == IPPROTO_ICMPV6_;
    }

    /* The registers, each 32 bits (a match written on xreg or xxreg
     * shows as its registers, as Open vSwitch writes it). */
    for (int i = 0; i < FLOW_N_REGS; i++) {
        uint32_t v = ntohl(m->flow.regs[i]), w = ntohl(m->wc.regs[i]);

        if (w) {
            fmt_item(s, &first, "");
            sbuf_printf(s, v ? "reg%d=%#" PRIx32 : "reg%d=%" PRIu32, i, v);
            if (w != UINT32_MAX) {
                sbuf_printf(s, "/%#" PRIx32, w);
            }
        }
    }

    /* Then the tunnel fields and the OpenFlow metadata, and the rest; a
     * dl_type without a shorthand follows the Ethernet addresses (Open
     * vSwitch's order). */
    {
        static const struct flow_tnl no_tnl;

        /* Most matches have no tunnel field: one compare skips them all
         * (dumps of many rules format every match). */
        if (memcmp(&m->wc.tunnel, &no_tnl, sizeof no_tnl)) {
            fmt_match_field(s, &first, m, MFF_TUN_ID, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_SRC, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_DST, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_IPV6_SRC, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_IPV6_DST, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_FLAGS, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_TOS, NULL);
            fmt_match_field(s, &first, m, MFF_TUN_TTL, NULL);
            for (int i = 0; i < FLOW_TNL_MD_SLOTS; i++) {
                fmt_match_field(s, &first, m, MFF_TUN_METADATA0 + i, NULL);
            }
        }
    }

    fmt_match_field(s, &first, m, MFF_METADATA, NULL);
    fmt_match_field(s, &first, m, MFF_IN_PORT, NULL);
    fmt_vlan(s, &first, m);
    fmt_match_field(s, &first, m, MFF_DL_SRC, NULL);
    fmt_match_field(s, &first, m, MFF_DL_DST, NULL);
    if (!shorthand) {
        fmt_match_field(s, &first, m, MFF_DL_TYPE, NULL);
    }
    fmt_match_field(s, &first, m, MFF_IPV6_SRC, NULL);
    fmt_match_field(s, &first, m, MFF_IPV6_DST, NULL);
    fmt_match_field(s, &first, m, MFF_IPV6_LABEL, NULL);
    fmt_match_field(s, &first, m, MFF_NW_SRC, is_arp ? "arp_spa" : NULL);
    fmt_match_field(s, &first, m, MFF_NW_DST, is_arp ? "arp_tpa" : NULL);
    if (!proto_done) {
        fmt_match_field(s, &first, m, MFF_NW_PROTO,
                        is_arp ? "arp_op" : NULL);
    }
    if (tos_w & 0xfc) {
        fmt_match_field(s, &first, m, MFF_NW_TOS, NULL);
    }
    if (tos_w & 0x03) {
        fmt_match_field(s, &first, m, MFF_NW_ECN, NULL);
    }
    fmt_match_field(s, &first, m, MFF_NW_TTL, NULL);
    fmt_frag(s, &first, m);
    fmt_match_field(s, &first, m, MFF_ARP_SHA, NULL);
    fmt_match_field(s, &first, m, MFF_ARP_THA, NULL);
    if ((icmp4 || icmp6) && (m->wc.tp_src == htons(0x00ff)
                             || !m->wc.tp_src)
        && (m->wc.tp_dst == htons(0x00ff) || !m->wc.tp_dst)) {
        /* icmp_type for ICMPv6 too, as ovs-ofctl prints it. */
        fmt_match_field(s, &first, m, MFF_ICMP_TYPE, "icmp_type");
        fmt_match_field(s, &first, m, MFF_ICMP_CODE, "icmp_code");
    } else {
        fmt_match_field(s, &first, m, MFF_TP_SRC, NULL);
        fmt_match_field(s, &first, m, MFF_TP_DST, NULL);
    }
    fmt_tcp_flags(s, &first, m);
}

size_t
of_match_format(char *buf, size_t size, const struct of_match *m,
                int32_t priority)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);
    fmt_match(&s, m, priority);
    return s.len;
}

/* "NXM_NX_REG0[0..15]" as Open vSwitch writes a subfield. */
static void
fmt_subfield(struct sbuf *s, const struct of_subfield *sf)
{
    const struct mf_nxm *nxm = mf_nxm_get(sf->nxm);

    if (!nxm) {
        sbuf_printf(s, "?");
        return;
    }
    sbuf_printf(s, "%s", nxm->name);
    if (sf->ofs == 0 && sf->n_bits == nxm->width * 8u) {
        sbuf_printf(s, "[]");
    } else if (sf->n_bits == 1) {
        sbuf_printf(s, "[%u]", sf->ofs);
    } else {
        sbuf_printf(s, "[%u..%u]", sf->ofs, sf->ofs + sf->n_bits - 1u);
    }
}

/* load:VALUE->NAME[BITS], the bits the action's mask covers (lowest to
 * highest set bit). */
static void
fmt_load(struct sbuf *s, const struct of_action *a)
{
    const struct mf_nxm *nxm = mf_nxm_get(a->set_field.nxm);
    struct of_subfield sf = { a->set_field.nxm, 0, 0 };
    unsigned ofs, n_bits;

    if (!nxm) {
        sbuf_printf(s, "load:?");
        return;
    }
    mf_nxm_mask_range(nxm, &a->set_field.mask, &ofs, &n_bits);
    sf.ofs = (uint8_t) ofs;
    sf.n_bits = (uint8_t) (n_bits ? n_bits : 1);
    if (sf.n_bits <= 64) {
        uint64_t v = mf_nxm_get_bits(nxm, &a->set_field.value, sf.ofs,
                                     sf.n_bits);

        sbuf_printf(s, v ? "load:%#" PRIx64 "->" : "load:%" PRIu64 "->", v);
    } else {
        uint8_t be[16];

        memset(be, 0, sizeof be);
        for (unsigned i = 0; i < sf.n_bits; i++) {
            if (mf_nxm_get_bits(nxm, &a->set_field.value, sf.ofs + i, 1)) {
                be[15 - i / 8] |= (uint8_t) (1u << (i % 8));
            }
        }
        sbuf_printf(s, "load:");
        sbuf_put_hex128(s, be);
        sbuf_printf(s, "->");
    }
    fmt_subfield(s, &sf);
}

static void
fmt_action(struct sbuf *s, const struct of_action *a)
{
    switch ((enum of_action_type) a->type) {
    case OFPACT_OUTPUT:
        sbuf_printf(s, "output:");
        fmt_port(s, a->output.port);
        return;
    case OFPACT_IN_PORT:
        sbuf_printf(s, "IN_PORT");
        return;
    case OFPACT_FLOOD:
        sbuf_printf(s, "FLOOD");
        return;
    case OFPACT_ALL:
        sbuf_printf(s, "ALL");
        return;
    case OFPACT_NORMAL:
        sbuf_printf(s, "NORMAL");
        return;
    case OFPACT_CONTROLLER:
        sbuf_printf(s, "CONTROLLER:%u", a->controller.max_len);
        return;
    case OFPACT_GROUP:
        sbuf_printf(s, "group:%" PRIu32, a->group.group_id);
        return;
    case OFPACT_METER:
        sbuf_printf(s, "meter:%" PRIu32, a->meter.meter_id);
        return;
    case OFPACT_CLEAR_ACTIONS:
        sbuf_printf(s, "clear_actions");
        return;
    case OFPACT_WRITE_ACTIONS:
        return;                 /* fmt_actions() writes the block. */
    case OFPACT_WRITE_METADATA:
        sbuf_printf(s, "write_metadata:0x%" PRIx64,
                    a->write_metadata.value);
        if (a->write_metadata.mask != UINT64_MAX) {
            sbuf_printf(s, "/0x%" PRIx64, a->write_metadata.mask);
        }
        return;
    case OFPACT_SET_FIELD: {
        const struct mf_field *mf = mf_from_id(a->set_field.field);
        const char *mod = mod_name(a->set_field.field);

        if (!mf) {
            break;
        }
        if (a->set_field.syntax == OFSF_LOAD) {
            fmt_load(s, a);
        } else if (a->set_field.syntax == OFSF_MOD && mod
            && !a->set_field.has_mask) {
            sbuf_printf(s, "%s:", mod);
            fmt_field_value(s, mf, &a->set_field.value, NULL);
        } else {
            sbuf_printf(s, "set_field:");
            fmt_field_value(s, mf, &a->set_field.value,
                            a->set_field.has_mask ? &a->set_field.mask
                                                  : NULL);
            sbuf_printf(s, "->%s", mf->name);
        }
        return;
    }
    case OFPACT_DEC_TTL:
        sbuf_printf(s, "dec_ttl");
        return;
    case OFPACT_STRIP_VLAN:
        sbuf_printf(s, "strip_vlan");
        return;
    case OFPACT_POP_VLAN:
        sbuf_printf(s, "pop_vlan");
        return;
    case OFPACT_PUSH_VLAN:
        sbuf_printf(s, "push_vlan:0x%04x", a->push_vlan.ethertype);
        return;
    case OFPACT_RESUBMIT:
        if (a->resubmit.table == OF_TABLE_NONE) {
            sbuf_printf(s, "resubmit:");
            fmt_port(s, a->resubmit.port);
        } else {
            sbuf_printf(s, "resubmit(");
            if (a->resubmit.port != OFPP_IN_PORT) {
                fmt_port(s, a->resubmit.port);
            }
            sbuf_printf(s, ",%u)", a->resubmit.table);
        }
        return;
    case OFPACT_GOTO_TABLE:
        sbuf_printf(s, "goto_table:%u", a->goto_table.table);
        return;
    case OFPACT_CT: {
        char buf[512], zbuf[64];
        struct sbuf zs;

        if (a->ct.zone_src.n_bits) {
            sbuf_init(&zs, zbuf, sizeof zbuf);
            fmt_subfield(&zs, &a->ct.zone_src);
        }
        ct_exec_format(buf, sizeof buf, &a->ct.exec, a->ct.table,
                       a->ct.has_nat, a->ct.zone_src.n_bits ? zbuf : NULL);
        sbuf_printf(s, "ct(%s)", buf);
        return;
    }
    case OFPACT_MOVE:
        sbuf_printf(s, "move:");
        fmt_subfield(s, &a->move.src);
        sbuf_printf(s, "->");
        fmt_subfield(s, &a->move.dst);
        return;
    case OFPACT_CT_CLEAR:
        sbuf_printf(s, "ct_clear");
        return;
    }
    sbuf_printf(s, "unknown(%u)", a->type);
}

static void
fmt_actions(struct sbuf *s, const struct of_actions *acts)
{
    if (!acts || !acts->n) {
        sbuf_printf(s, "drop");
        return;
    }
    for (size_t i = 0; i < acts->n; i++) {
        const struct of_action *a = &acts->a[i];

        if (i) {
            sbuf_printf(s, ",");
        }
        if (a->type == OFPACT_WRITE_ACTIONS) {
            size_t n = a->write_actions.n;

            sbuf_printf(s, "write_actions(");
            for (size_t k = 1; k <= n && i + k < acts->n; k++) {
                if (k > 1) {
                    sbuf_printf(s, ",");
                }
                fmt_action(s, &acts->a[i + k]);
            }
            sbuf_printf(s, ")");
            i += n;
            continue;
        }
        fmt_action(s, a);
    }
}

size_t
of_actions_format(char *buf, size_t size, const struct of_actions *acts)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);
    fmt_actions(&s, acts);
    return s.len;
}

size_t
of_flow_format(char *buf, size_t size, const struct of_flow_spec *spec)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);
    if (spec->table_set) {
        sbuf_printf(&s, "table=%u,", spec->table_id);
    }
    if (spec->cookie || spec->cookie_mask) {
        sbuf_printf(&s, "cookie=0x%" PRIx64, spec->cookie);
        if (spec->cookie_mask) {
            sbuf_printf(&s, "/0x%" PRIx64, spec->cookie_mask);
        }
        sbuf_printf(&s, ",");
    }
    if (spec->idle_timeout) {
        sbuf_printf(&s, "idle_timeout=%u,", spec->idle_timeout);
    }
    if (spec->hard_timeout) {
        sbuf_printf(&s, "hard_timeout=%u,", spec->hard_timeout);
    }
    if (spec->send_flow_rem) {
        sbuf_printf(&s, "send_flow_rem,");
    }
    if (spec->reset_counts) {
        sbuf_printf(&s, "reset_counts,");
    }
    if (spec->out_group_set) {
        sbuf_printf(&s, "out_group=%" PRIu32 ",", spec->out_group);
    }
    if (spec->out_port != OFPP_NONE) {
        sbuf_printf(&s, "out_port=");
        fmt_port(&s, spec->out_port);
        sbuf_printf(&s, ",");
    }
    fmt_match(&s, &spec->match, spec->priority);
    if (spec->actions) {
        sbuf_printf(&s, " actions=");
        fmt_actions(&s, spec->actions);
    }
    return s.len;
}

/* ---------------------------------------------------------------------
 * Groups.
 */

static const char *const group_type_names[] = {
    [OFG_TYPE_ALL] = "all", [OFG_TYPE_SELECT] = "select",
    [OFG_TYPE_INDIRECT] = "indirect", [OFG_TYPE_FF] = "ff",
};

void
of_group_spec_uninit(struct of_group_spec *g)
{
    for (size_t i = 0; g && i < g->n_buckets; i++) {
        free(g->buckets[i].actions);
    }
    if (g) {
        free(g->buckets);
        g->buckets = NULL;
        g->n_buckets = 0;
    }
}

/* Where the next top-level ",bucket=" starts in 's' (or the end). */
static const char *
next_bucket(const char *s)
{
    int depth = 0;

    for (const char *p = s; *p; p++) {
        if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            depth--;
        } else if (!depth && *p == ',' && !strncmp(p + 1, "bucket=", 7)) {
            return p;
        }
    }
    return s + strlen(s);
}

static int
parse_bucket(const char *text, size_t len, size_t base, struct of_bucket *b,
             char *err, size_t errsize)
{
    char *copy = strndup(text, len), *p;
    int ret = 0;

    if (!copy) {
        return ENOMEM;
    }
    b->weight = 1;
    b->watch_port = OFPP_NONE;
    b->watch_group = OFG_ANY;
    p = copy;
    for (;;) {
        static const char *const keys[] = { "weight:", "watch_port:",
                                            "watch_group:", "bucket_id:" };
        size_t k;
        uint64_t v;
        char *comma;

        for (k = 0; k < 4 && strncmp(p, keys[k], strlen(keys[k])); k++) {
        }
        if (k == 4) {
            break;
        }
        p += strlen(keys[k]);
        comma = strchr(p, ',');
        if (comma) {
            *comma = '\0';
        }
        if (k == 1) {
            uint32_t port;

            if (!of_port_from_string(p, &port)) {
                ret = set_err(err, errsize, "bad watch_port '%s' at column "
                              "%zu", p, base + (size_t) (p - copy) + 1);
                goto out;
            }
            b->watch_port = port;
        } else if (!parse_uint(p, k == 0 ? 0xffff : UINT32_MAX, &v)) {
            ret = set_err(err, errsize, "bad %.*s value '%s' at column %zu",
                          (int) strlen(keys[k]) - 1, keys[k], p,
                          base + (size_t) (p - copy) + 1);
            goto out;
        } else if (k == 0) {
            b->weight = (uint16_t) v;
        } else if (k == 2) {
            b->watch_group = (uint32_t) v;
        }                               /* bucket_id: OpenFlow 1.5's. */
        if (!comma) {
            p += strlen(p);
            break;
        }
        p = comma + 1;
    }
    if (!strncmp(p, "actions=", 8)) {
        p += 8;
    }
    ret = actions_parse__(copy, p, NULL, &b->actions, err, errsize);
    if (!ret) {
        for (size_t i = 0; i < b->actions->n; i++) {
            if (b->actions->a[i].type == OFPACT_GOTO_TABLE) {
                free(b->actions);
                b->actions = NULL;
                ret = set_err(err, errsize, "goto_table is not an action a "
                              "bucket can take (column %zu)", base + 1);
                break;
            }
        }
    }
out:
    free(copy);
    return ret;
}

int
of_group_parse(struct of_group_spec *g, const char *text, bool buckets,
               char *err, size_t errsize)
{
    const char *pos = text, *end = next_bucket(text);
    bool have_id = false, have_type = false;
    char *head = strndup(text, (size_t) (end - text));
    const char *hp;
    struct kv kv;
    int ret;

    memset(g, 0, sizeof *g);
    if (!head) {
        return ENOMEM;
    }
    hp = head;
    (void) pos;
    while ((ret = next_kv(head, &hp, 0, false, &kv, err, errsize)) > 0) {
        uint64_t v;

        if (!strcmp(kv.key, "group_id") && kv.has_val) {
            if (!strcmp(kv.val, "all") && !buckets) {
                v = OFG_ALL;
            } else if (!parse_uint(kv.val, OFG_MAX_ID, &v)) {
                ret = -set_err(err, errsize, "bad group_id '%s' at column "
                               "%zu (0..%u)", kv.val, kv.val_col,
                               OFG_MAX_ID);
                break;
            }
            g->group_id = (uint32_t) v;
            have_id = true;
        } else if (!strcmp(kv.key, "type") && kv.has_val && buckets) {
            size_t t;

            for (t = 0; t < 4 && strcmp(kv.val, group_type_names[t]); t++) {
            }
            if (t == 4) {
                ret = -set_err(err, errsize, "bad group type '%s' at column "
                               "%zu (all, select, indirect, ff)", kv.val,
                               kv.val_col);
                break;
            }
            g->type = (uint8_t) t;
            have_type = true;
        } else {
            ret = -set_err(err, errsize, "unknown group item '%s' at column "
                           "%zu", kv.key, kv.key_col);
            break;
        }
    }
    free(head);
    if (ret < 0) {
        return -ret;
    }
    if (!have_id) {
        return set_err(err, errsize, "group_id is required");
    }
    if (!buckets) {
        if (*end) {
            return set_err(err, errsize, "buckets are not allowed here");
        }
        return 0;
    }
    if (!have_type) {
        return set_err(err, errsize, "type is required (all, select, "
                       "indirect, ff)");
    }
    while (*end) {
        const char *b = end + 8;        /* past ",bucket=" */
        const char *e = next_bucket(b);
        struct of_bucket *nb;

        if (g->n_buckets == OFG_MAX_BUCKETS) {
            of_group_spec_uninit(g);
            return set_err(err, errsize, "more than %d buckets",
                           OFG_MAX_BUCKETS);
        }
        nb = realloc(g->buckets, (g->n_buckets + 1) * sizeof *nb);
        if (!nb) {
            of_group_spec_uninit(g);
            return ENOMEM;
        }
        g->buckets = nb;
        memset(&nb[g->n_buckets], 0, sizeof *nb);
        ret = parse_bucket(b, (size_t) (e - b), (size_t) (b - text),
                           &nb[g->n_buckets], err, errsize);
        if (ret) {
            of_group_spec_uninit(g);
            return ret;
        }
        g->n_buckets++;
        end = e;
    }
    if (g->type != OFG_TYPE_SELECT) {
        for (size_t i = 0; i < g->n_buckets; i++) {
            g->buckets[i].weight = 1;       /* Weights are select's. */
        }
    }
    return 0;
}

size_t
of_group_format(char *buf, size_t size, const struct of_group_spec *g)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);
    sbuf_printf(&s, "group_id=%" PRIu32 ",type=%s", g->group_id,
                g->type < 4 ? group_type_names[g->type] : "?");
    for (size_t i = 0; i < g->n_buckets; i++) {
        const struct of_bucket *b = &g->buckets[i];

        sbuf_printf(&s, ",bucket=");
        if (g->type == OFG_TYPE_SELECT) {
            sbuf_printf(&s, "weight:%u,", b->weight);
        }
        if (b->watch_port != OFPP_NONE) {
            sbuf_printf(&s, "watch_port:");
            fmt_port(&s, b->watch_port);
            sbuf_printf(&s, ",");
        }
        if (b->watch_group != OFG_ANY) {
            sbuf_printf(&s, "watch_group:%" PRIu32 ",", b->watch_group);
        }
        sbuf_printf(&s, "actions=");
        fmt_actions(&s, b->actions);
    }
    return s.len;
}

/* ---------------------------------------------------------------------
 * Meters.
 */

void
of_meter_init(struct of_meter_spec *m)
{
    memset(m, 0, sizeof *m);
}

static int
parse_band_item(struct of_meter_band *b, const struct kv *kv, char *err,
                size_t errsize)
{
    uint64_t v;

    if (!strcmp(kv->key, "type") && kv->has_val) {
        if (!strcmp(kv->val, "drop")) {
            b->type = OFM_BAND_DROP;
        } else if (!strcmp(kv->val, "dscp_remark")) {
            b->type = OFM_BAND_DSCP_REMARK;
        } else {
            return set_err(err, errsize, "bad band type '%s' at column %zu "
                           "(drop, dscp_remark)", kv->val, kv->val_col);
        }
        return 0;
    }
    if (!kv->has_val || !parse_uint(kv->val, UINT32_MAX, &v)) {
        return set_err(err, errsize, "bad band item '%s' at column %zu",
                       kv->key, kv->key_col);
    }
    if (!strcmp(kv->key, "rate")) {
        b->rate = (uint32_t) v;
    } else if (!strcmp(kv->key, "burst_size")) {
        b->burst_size = (uint32_t) v;
    } else if (!strcmp(kv->key, "prec_level") && v <= 0xff) {
        b->prec_level = (uint8_t) v;
    } else {
        return set_err(err, errsize, "unknown band item '%s' at column %zu",
                       kv->key, kv->key_col);
    }
    return 0;
}

int
of_meter_parse(struct of_meter_spec *m, const char *text, bool bands,
               char *err, size_t errsize)
{
    const char *pos = text;
    bool in_bands = false, have_id = false;
    struct kv kv;
    int ret;

    of_meter_init(m);
    while ((ret = next_kv(text, &pos, 0, false, &kv, err, errsize)) > 0) {
        uint64_t v;

        if (in_bands) {
            if (!strcmp(kv.key, "type")) {
                if (m->n_bands == OFM_MAX_BANDS) {
                    return set_err(err, errsize, "more than %d bands",
                                   OFM_MAX_BANDS);
                }
                m->n_bands++;
            } else if (!m->n_bands) {
                return set_err(err, errsize, "a band starts with type= "
                               "(column %zu)", kv.key_col);
            }
            ret = parse_band_item(&m->bands[m->n_bands - 1], &kv, err,
                                  errsize);
            if (ret) {
                return ret;
            }
            continue;
        }
        if (!strcmp(kv.key, "meter") && kv.has_val) {
            if (!strcmp(kv.val, "all") && !bands) {
                v = OFM_ALL;
            } else if (!parse_uint(kv.val, OFM_MAX_ID, &v) || !v) {
                return set_err(err, errsize, "bad meter id '%s' at column "
                               "%zu (1..%u)", kv.val, kv.val_col,
                               OFM_MAX_ID);
            }
            m->meter_id = (uint32_t) v;
            have_id = true;
        } else if (!kv.has_val && bands && (!strcmp(kv.key, "kbps")
                                            || !strcmp(kv.key, "pktps")
                                            || !strcmp(kv.key, "burst")
                                            || !strcmp(kv.key, "stats"))) {
            m->flags |= kv.key[0] == 'k' ? OFM_F_KBPS
                        : kv.key[0] == 'p' ? OFM_F_PKTPS
                        : kv.key[0] == 'b' ? OFM_F_BURST : OFM_F_STATS;
        } else if (!strcmp(kv.key, "bands") && kv.has_val && bands) {
            /* "bands=type=drop,...": the value is the first band item. */
            const char *eq = strchr(kv.val, '=');
            struct kv first = kv;

            in_bands = true;
            if (!eq || (size_t) (eq - kv.val) != 4
                || strncmp(kv.val, "type", 4)) {
                return set_err(err, errsize, "a band starts with type= "
                               "(column %zu)", kv.val_col);
            }
            snprintf(first.key, sizeof first.key, "type");
            snprintf(first.val, sizeof first.val, "%s", eq + 1);
            m->n_bands = 1;
            ret = parse_band_item(&m->bands[0], &first, err, errsize);
            if (ret) {
                return ret;
            }
        } else {
            return set_err(err, errsize, "unknown meter item '%s' at column "
                           "%zu", kv.key, kv.key_col);
        }
    }
    if (ret < 0) {
        return -ret;
    }
    if (!have_id) {
        return set_err(err, errsize, "meter= is required");
    }
    if (bands && (m->flags & OFM_F_KBPS) && (m->flags & OFM_F_PKTPS)) {
        return set_err(err, errsize, "kbps and pktps");
    }
    if (bands && !(m->flags & (OFM_F_KBPS | OFM_F_PKTPS))) {
        m->flags |= OFM_F_KBPS;
    }
    for (size_t i = 0; i < m->n_bands; i++) {
        if (!m->bands[i].rate) {
            return set_err(err, errsize, "band %zu: rate must be > 0", i);
        }
    }
    return 0;
}

size_t
of_meter_format(char *buf, size_t size, const struct of_meter_spec *m)
{
    struct sbuf s;

    sbuf_init(&s, buf, size);
    sbuf_printf(&s, "meter=%" PRIu32 ",%s", m->meter_id,
                m->flags & OFM_F_PKTPS ? "pktps" : "kbps");
    if (m->flags & OFM_F_BURST) {
        sbuf_printf(&s, ",burst");
    }
    if (m->flags & OFM_F_STATS) {
        sbuf_printf(&s, ",stats");
    }
    for (size_t i = 0; i < m->n_bands; i++) {
        const struct of_meter_band *b = &m->bands[i];

        sbuf_printf(&s, "%stype=%s,rate=%" PRIu32, i ? "," : ",bands=",
                    b->type == OFM_BAND_DSCP_REMARK ? "dscp_remark"
                                                    : "drop", b->rate);
        if (b->burst_size) {
            sbuf_printf(&s, ",burst_size=%" PRIu32, b->burst_size);
        }
        if (b->type == OFM_BAND_DSCP_REMARK) {
            sbuf_printf(&s, ",prec_level=%u", b->prec_level);
        }
    }
    return s.len;
}
