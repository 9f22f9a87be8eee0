/* SPDX-License-Identifier: BSD-3-Clause */
/* config.c: load and validate sluiced's JSON configuration (jansson). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conntrack.h"
#include "http.h"
#include "offload-provider.h"
#include "ofp-parse.h"
#include "port.h"
#include "tnl.h"

/* The embedded default configuration (sluiced without --config). */
static const char default_json[] =
    "{\n"
    "  \"dpdk\": {\"args\": [\"--no-huge\", \"-m\", \"512\", \"--no-pci\",\n"
    "                     \"--file-prefix\", \"sluice\",\n"
    "                     \"--log-level\", \"*:warning\"]},\n"
    "  \"control\": {\"socket\": \"" CFG_DEFAULT_SOCKET "\"},\n"
    "  \"pmd\": {\"cores\": [0], \"idle_sleep_us\": 100},\n"
    "  \"state\": {\"dir\": \"\"},\n"
    "  \"bridges\": [{\"name\": \"br0\", \"ports\": [\n"
    "    {\"name\": \"d1\", \"ofport\": 1, \"type\": \"dummy\"},\n"
    "    {\"name\": \"d2\", \"ofport\": 2, \"type\": \"dummy\"}\n"
    "  ]}]\n"
    "}\n";

static const char *const default_dpdk_args[] = { "--no-huge", "-m", "512" };
static const char default_flow[] = "priority=0,actions=NORMAL";

#define UNIX_PATH_MAX_LEN 107   /* sizeof sun_path - 1. */

const char *
cfg_default_json(void)
{
    return default_json;
}

/* ---- Errors and small helpers. ---- */

/* Formats "PATH: MESSAGE" into 'err' and returns EINVAL. An empty 'path'
 * gives "(root): MESSAGE". */
static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errsize, const char *path, const char *fmt, ...)
{
    if (err && errsize) {
        int n = snprintf(err, errsize, "%s: ", path[0] ? path : "(root)");
        if (n >= 0 && (size_t) n < errsize) {
            va_list args;

            va_start(args, fmt);
            vsnprintf(err + n, errsize - n, fmt, args);
            va_end(args);
        }
    }
    return EINVAL;
}

static int
nomem(char *err, size_t errsize)
{
    if (err && errsize) {
        snprintf(err, errsize, "out of memory");
    }
    return ENOMEM;
}

/* Appends 's' to the NUL-terminated 'buf' of 'size' bytes, truncating. */
static void
buf_cat(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);
    size_t n = strlen(s);

    if (len + 1 >= size) {
        return;
    }
    if (n > size - len - 1) {
        n = size - len - 1;
    }
    memcpy(buf + len, s, n);
    buf[len + n] = '\0';
}

/* Writes "PARENT.KEY" (or "KEY" at the root) into 'buf'. */
static const char *
path_key(char *buf, size_t size, const char *parent, const char *key)
{
    buf[0] = '\0';
    buf_cat(buf, size, parent);
    if (parent[0]) {
        buf_cat(buf, size, ".");
    }
    buf_cat(buf, size, key);
    return buf;
}

/* Writes "PARENT[I]" into 'buf'. */
static const char *
path_idx(char *buf, size_t size, const char *parent, size_t i)
{
    char idx[32];

    sprintf(idx, "[%zu]", i);
    buf[0] = '\0';
    buf_cat(buf, size, parent);
    buf_cat(buf, size, idx);
    return buf;
}

#define PATH_SIZE 256

/* Rejects members of 'obj' not in the NULL-terminated 'allowed'. */
static int
check_keys(const json_t *obj, const char *path, const char *const *allowed,
           char *err, size_t errsize)
{
    const char *key;
    json_t *value;

    json_object_foreach ((json_t *) obj, key, value) {
        const char *const *a;

        for (a = allowed; *a; a++) {
            if (!strcmp(*a, key)) {
                break;
            }
        }
        if (!*a) {
            char p[PATH_SIZE];

            return fail(err, errsize, path_key(p, sizeof p, path, key),
                        "unknown key");
        }
    }
    return 0;
}

/* Parses a decimal string without sign or spaces into '*out' if it lies in
 * min..max. */
static bool
parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    unsigned long long v = 0;

    if (!*s || strlen(s) > 10) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
        v = v * 10 + (unsigned) (*s - '0');
    }
    if (v < min || v > max) {
        return false;
    }
    *out = (uint32_t) v;
    return true;
}

/* Gets optional integer member 'key' of 'obj' in min..max, else 'dflt'. */
static int
get_uint(const json_t *obj, const char *path, const char *key,
         uint32_t min, uint32_t max, uint32_t dflt, uint32_t *out,
         char *err, size_t errsize)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    char p[PATH_SIZE];

    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t) min
        || json_integer_value(v) > (json_int_t) max) {
        return fail(err, errsize, path_key(p, sizeof p, path, key),
                    "must be an integer %"PRIu32"..%"PRIu32, min, max);
    }
    *out = (uint32_t) json_integer_value(v);
    return 0;
}

/* get_uint() for a cache size: 0 or a power of 2 up to 'max' (itself a
 * power of 2). */
static int
get_pow2_or_0(const json_t *obj, const char *path, const char *key,
              uint32_t max, uint32_t dflt, uint32_t *out, char *err,
              size_t errsize)
{
    char p[PATH_SIZE];
    int error = get_uint(obj, path, key, 0, max, dflt, out, err, errsize);

    if (!error && (*out & (*out - 1))) {
        return fail(err, errsize, path_key(p, sizeof p, path, key),
                    "must be 0 or a power of 2 up to %"PRIu32, max);
    }
    return error;
}

/* Gets optional object member 'key' of 'obj' into '*out' (NULL if absent)
 * and checks its keys against 'allowed'. */
static int
get_object(const json_t *obj, const char *path, const char *key,
           const char *const *allowed, const json_t **out,
           char *err, size_t errsize)
{
    const json_t *v = json_object_get(obj, key);
    char p[PATH_SIZE];

    *out = NULL;
    if (!v) {
        return 0;
    }
    path_key(p, sizeof p, path, key);
    if (!json_is_object(v)) {
        return fail(err, errsize, p, "must be an object");
    }
    *out = v;
    return check_keys(v, p, allowed, err, errsize);
}

static bool
valid_name(const char *s)
{
    size_t len = strlen(s);

    if (!len || len > CFG_MAX_NAME) {
        return false;
    }
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.'
              || c == ':' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* ---- Port options: checked against the port classes' tables. ---- */

/* control.socket is a Unix socket path too. */
static bool
check_sockpath(const char *v, char *msg, size_t msgsize)
{
    if (!*v || strlen(v) > UNIX_PATH_MAX_LEN) {
        snprintf(msg, msgsize, "must be a Unix socket path of 1..%d bytes",
                 UNIX_PATH_MAX_LEN);
        return false;
    }
    return true;
}

static int
bad_type(const char *path, char *err, size_t errsize)
{
    char types[128];

    port_opt_type_names(types, sizeof types);
    return fail(err, errsize, path, "must be one of %s", types);
}

static int
unknown_opt(const struct port_opt_def *table, const char *type,
            const char *path, char *err, size_t errsize)
{
    char keys[128];

    port_opt_names(table, keys, sizeof keys);
    return fail(err, errsize, path, "unknown key (type %s takes %s)", type,
                keys);
}

/* Appends option (key, value) to 'port', taking ownership of 'value'. */
static int
port_add_opt(struct cfg_port *port, const char *key, char *value)
{
    struct cfg_opt *opts;
    char *k;

    opts = realloc(port->options, (port->n_options + 1) * sizeof *opts);
    k = strdup(key);
    if (!opts || !k) {
        free(k);
        free(value);
        if (opts) {
            port->options = opts;
        }
        return ENOMEM;
    }
    port->options = opts;
    opts[port->n_options].key = k;
    opts[port->n_options].value = value;
    port->n_options++;
    return 0;
}

const char *
cfg_port_get(const struct cfg_port *port, const char *key)
{
    for (size_t i = 0; i < port->n_options; i++) {
        if (!strcmp(port->options[i].key, key)) {
            return port->options[i].value;
        }
    }
    return NULL;
}

/* Checks that every required option of 'table' is in 'port'. 'prefix' is
 * the port's key path ("" for kv). */
static int
check_required(const struct port_opt_def *table, const struct cfg_port *port,
               const char *prefix, char *err, size_t errsize)
{
    for (const struct port_opt_def *d = table; d->name; d++) {
        if (d->required && !cfg_port_get(port, d->name)) {
            char p[PATH_SIZE];

            return fail(err, errsize, path_key(p, sizeof p, prefix, d->name),
                        "missing (required for type %s)", port->type);
        }
    }
    return 0;
}

/* Checks the text 'value' of option 'd' (port_opt_check(), the one check
 * of types and ranges).  A bad list element is named "PATH[I]" when
 * 'index_elems'. */
static int
check_opt(const struct port_opt_def *d, const char *value, const char *path,
          bool index_elems, char *err, size_t errsize)
{
    char msg[256], p[PATH_SIZE];
    size_t bad;
    int error = port_opt_check(d, value, &bad, msg, sizeof msg);

    if (error == ENOMEM) {
        return nomem(err, errsize);
    }
    if (error) {
        if (index_elems && bad != SIZE_MAX) {
            path = path_idx(p, sizeof p, path, bad);
        }
        return fail(err, errsize, path, "%s", msg);
    }
    return 0;
}

/* Converts JSON value 'v' of option 'd' into a newly allocated text in
 * '*out' (integers in decimal, arrays comma-joined) and checks it. */
static int
opt_from_json(const struct port_opt_def *d, const json_t *v,
              const char *path, char **out, char *err, size_t errsize)
{
    char p[PATH_SIZE];
    size_t i, len = 1;
    const json_t *e;
    int error;

    *out = NULL;
    switch (d->type) {
    case PORT_OPT_STRING:
        /* An integer or a boolean stands for its text ("key": 42,
         * "csum": true, as Open vSwitch users write them). */
        if (json_is_integer(v)) {
            if (asprintf(out, "%lld", (long long) json_integer_value(v))
                < 0) {
                *out = NULL;
            }
            break;
        }
        if (json_is_boolean(v)) {
            *out = strdup(json_is_true(v) ? "true" : "false");
            break;
        }
        if (!json_is_string(v)) {
            return fail(err, errsize, path, "must be a string");
        }
        *out = strdup(json_string_value(v));
        break;

    case PORT_OPT_UINT:
        if (!json_is_integer(v)) {
            return fail(err, errsize, path,
                        "must be an integer %"PRIu32"..%"PRIu32,
                        d->min, d->max);
        }
        if (asprintf(out, "%lld", (long long) json_integer_value(v)) < 0) {
            *out = NULL;
        }
        break;

    case PORT_OPT_LIST:
        if (json_is_string(v)) {
            *out = strdup(json_string_value(v));   /* One element. */
            break;
        }
        if (!json_is_array(v)) {
            return fail(err, errsize, path, "must be an array of strings");
        }
        json_array_foreach ((json_t *) v, i, e) {
            path_idx(p, sizeof p, path, i);
            if (!json_is_string(e)) {
                return fail(err, errsize, p, "must be a string");
            }
            if (strchr(json_string_value(e), ',')) {
                return fail(err, errsize, p, "must not contain ','");
            }
            if (!json_string_value(e)[0]) {
                return fail(err, errsize, p, "must not be empty");
            }
            len += strlen(json_string_value(e)) + 1;
        }
        *out = malloc(len);
        if (*out) {
            char *q = *out;

            *q = '\0';
            json_array_foreach ((json_t *) v, i, e) {
                q += sprintf(q, "%s%s", i ? "," : "", json_string_value(e));
            }
        }
        break;
    }
    if (!*out) {
        return nomem(err, errsize);
    }
    error = check_opt(d, *out, path, json_is_array(v), err, errsize);
    if (error) {
        free(*out);
        *out = NULL;
    }
    return error;
}

/* ---- Offload (per port and the "offload" section). ---- */

/* Validates one offload setting 'key' ("mode", "provider", "nic") with
 * value 'v' for a port of type 'type' into 'o'. */
static int
offload_set(struct cfg_port_offload *o, const char *type, const char *key,
            const char *v, const char *path, char *err, size_t errsize)
{
    if (!strcmp(key, "mode")) {
        if (!strcmp(v, "none")) {
            o->mode = CFG_OFFLOAD_NONE;
        } else if (!strcmp(v, "partial")) {
            o->mode = CFG_OFFLOAD_PARTIAL;
        } else if (!strcmp(v, "full")) {
            o->mode = CFG_OFFLOAD_FULL;
        } else {
            return fail(err, errsize, path,
                        "must be \"none\", \"partial\" or \"full\"");
        }
    } else if (!strcmp(key, "provider")) {
        /* The registered providers (offload-provider.h) decide. */
        const struct offload_class *class = offload_class_lookup(v);

        if (!class) {
            char names[128];

            offload_class_names(names, sizeof names);
            return fail(err, errsize, path, "must be one of %s", names);
        }
        if (class->port_type && strcmp(type, class->port_type)) {
            return fail(err, errsize, path, "%s needs a %s port", v,
                        class->port_type);
        }
        snprintf(o->provider, sizeof o->provider, "%s", v);
    } else if (!strcmp(key, "nic")) {
        if (!valid_name(v)) {
            return fail(err, errsize, path, "must be a name of 1..%d "
                        "characters from A-Z a-z 0-9 _ . : -",
                        CFG_MAX_NAME);
        }
        snprintf(o->nic, sizeof o->nic, "%s", v);
    } else {
        return fail(err, errsize, path,
                    "unknown key (offload takes mode, provider, nic)");
    }
    return 0;
}

static int
parse_port_offload(const json_t *j, const char *path, const char *type,
                   struct cfg_port_offload *o, char *err, size_t errsize)
{
    const char *key;
    const json_t *v;
    char p[PATH_SIZE];

    if (!json_is_object(j)) {
        return fail(err, errsize, path, "must be an object");
    }
    json_object_foreach ((json_t *) j, key, v) {
        int error;

        path_key(p, sizeof p, path, key);
        if (!json_is_string(v)) {
            if (strcmp(key, "mode") && strcmp(key, "provider")
                && strcmp(key, "nic")) {
                return fail(err, errsize, p, "unknown key (offload takes "
                            "mode, provider, nic)");
            }
            return fail(err, errsize, p, "must be a string");
        }
        error = offload_set(o, type, key, json_string_value(v), p, err,
                            errsize);
        if (error) {
            return error;
        }
    }
    return 0;
}

static int
parse_conntrack_section(const json_t *root, struct cfg *cfg, char *err,
                        size_t errsize)
{
    static const char *const keys[] = {
        "max_conns", "zone_limits", "timeouts", NULL
    };
    struct cfg_conntrack *c = &cfg->conntrack;
    const json_t *sec, *obj, *v;
    const char *key;
    char p[PATH_SIZE];
    int error;

    error = get_object(root, "", "conntrack", keys, &sec, err, errsize);
    if (!error) {
        error = get_uint(sec, "conntrack", "max_conns", 1, 100000000,
                         3000000, &c->max_conns, err, errsize);
    }
    if (error || !sec) {
        return error;
    }
    obj = json_object_get(sec, "zone_limits");
    if (obj && !json_is_object(obj)) {
        return fail(err, errsize, "conntrack.zone_limits",
                    "must be an object of zone: limit");
    }
    if (obj && json_object_size(obj)) {
        c->zone_limits = calloc(json_object_size(obj),
                                sizeof *c->zone_limits);
        if (!c->zone_limits) {
            return nomem(err, errsize);
        }
        json_object_foreach((json_t *) obj, key, v) {
            char *end;
            unsigned long zone = strtoul(key, &end, 10);

            snprintf(p, sizeof p, "conntrack.zone_limits.%s", key);
            if (!*key || *end || zone > 65535) {
                return fail(err, errsize, p, "zone must be 0..65535");
            }
            if (!json_is_integer(v) || json_integer_value(v) < 0
                || json_integer_value(v) > 100000000) {
                return fail(err, errsize, p, "limit must be an integer "
                            "0..100000000 (0: none)");
            }
            c->zone_limits[c->n_zone_limits].zone = (uint16_t) zone;
            c->zone_limits[c->n_zone_limits].limit =
                (uint32_t) json_integer_value(v);
            c->n_zone_limits++;
        }
    }
    obj = json_object_get(sec, "timeouts");
    if (obj && !json_is_object(obj)) {
        return fail(err, errsize, "conntrack.timeouts",
                    "must be an object of name: seconds");
    }
    if (obj && json_object_size(obj)) {
        c->timeouts = calloc(json_object_size(obj), sizeof *c->timeouts);
        if (!c->timeouts) {
            return nomem(err, errsize);
        }
        json_object_foreach((json_t *) obj, key, v) {
            struct ct_timeouts scratch;

            snprintf(p, sizeof p, "conntrack.timeouts.%s", key);
            memset(&scratch, 0, sizeof scratch);
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > 86400 * 30) {
                return fail(err, errsize, p, "must be seconds, 1..2592000");
            }
            if (ct_timeouts_set_by_name(&scratch, key,
                                        (uint32_t) json_integer_value(v))) {
                return fail(err, errsize, p, "unknown timeout name");
            }
            c->timeouts[c->n_timeouts].name = strdup(key);
            if (!c->timeouts[c->n_timeouts].name) {
                return nomem(err, errsize);
            }
            c->timeouts[c->n_timeouts].seconds =
                (uint32_t) json_integer_value(v);
            c->n_timeouts++;
        }
    }
    return 0;
}

static int
parse_offload_section(const json_t *root, struct cfg *cfg, char *err,
                      size_t errsize)
{
    static const char *const keys[] = {
        "min_packets", "min_pps", "check_ms", "max_flows", "queue_size",
        "idle_ms", "stats_ms", "eviction", "simnic_capacity",
        "simnic_insert_rate", "sessions", NULL
    };
    static const char *const sess_keys[] = {
        "enabled", "min_packets", "idle_ms", NULL
    };
    struct cfg_offload *o = &cfg->offload;
    const json_t *sec, *ev, *ss = NULL;
    int error;

    error = get_object(root, "", "offload", keys, &sec, err, errsize);
    if (!error) {
        error = get_uint(sec, "offload", "min_packets", 0, UINT32_MAX, 64,
                         &o->min_packets, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "min_pps", 0, UINT32_MAX, 1000,
                         &o->min_pps, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "check_ms", 10, 60000, 100,
                         &o->check_ms, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "max_flows", 1, 10000000, 65536,
                         &o->max_flows, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "queue_size", 1, 1000000, 4096,
                         &o->queue_size, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "idle_ms", 0, 3600000, 0,
                         &o->idle_ms, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "stats_ms", 10, 60000, 1000,
                         &o->stats_ms, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "simnic_capacity", 1, 10000000,
                         4096, &o->simnic_capacity, err, errsize);
    }
    if (!error) {
        error = get_uint(sec, "offload", "simnic_insert_rate", 0, 100000000,
                         0, &o->simnic_insert_rate, err, errsize);
    }
    if (!error && sec) {
        error = get_object(sec, "offload", "sessions", sess_keys, &ss, err,
                           errsize);
    }
    if (!error) {
        error = get_uint(ss, "offload.sessions", "min_packets", 1,
                         UINT32_MAX, 16, &o->session_min_packets, err,
                         errsize);
    }
    if (!error) {
        error = get_uint(ss, "offload.sessions", "idle_ms", 0, 86400000, 0,
                         &o->session_idle_ms, err, errsize);
    }
    if (error) {
        return error;
    }
    o->sessions = false;
    ev = ss ? json_object_get(ss, "enabled") : NULL;
    if (ev) {
        if (!json_is_boolean(ev)) {
            return fail(err, errsize, "offload.sessions.enabled",
                        "must be true or false");
        }
        o->sessions = json_is_true(ev);
    }
    o->evict = 1;
    ev = sec ? json_object_get(sec, "eviction") : NULL;
    if (ev) {
        const char *s = json_is_string(ev) ? json_string_value(ev) : "";

        if (!strcmp(s, "coldest")) {
            o->evict = 1;
        } else if (!strcmp(s, "none")) {
            o->evict = 0;
        } else {
            return fail(err, errsize, "offload.eviction",
                        "must be \"coldest\" or \"none\"");
        }
    }
    return 0;
}

/* ---- Ports and bridges from JSON. ---- */

static const char *const port_common_keys[] = { "name", "ofport", "type" };

static bool
is_common_port_key(const char *key)
{
    for (size_t i = 0; i < 3; i++) {
        if (!strcmp(key, port_common_keys[i])) {
            return true;
        }
    }
    return false;
}

static int
parse_port(const json_t *j, const char *path, struct cfg_port *port,
           char *err, size_t errsize)
{
    const struct port_opt_def *t;
    const json_t *name, *type, *v;
    const char *key;
    char p[PATH_SIZE];
    uint32_t ofport;
    int error;

    if (!json_is_object(j)) {
        return fail(err, errsize, path, "must be an object");
    }

    name = json_object_get(j, "name");
    path_key(p, sizeof p, path, "name");
    if (!name) {
        return fail(err, errsize, p, "missing");
    }
    if (!json_is_string(name) || !valid_name(json_string_value(name))) {
        return fail(err, errsize, p, "must be a string of 1..%d characters "
                    "from A-Z a-z 0-9 _ . : -", CFG_MAX_NAME);
    }

    type = json_object_get(j, "type");
    path_key(p, sizeof p, path, "type");
    if (!type) {
        return fail(err, errsize, p, "missing");
    }
    if (!json_is_string(type)
        || !(t = port_opt_table(json_string_value(type)))) {
        return bad_type(p, err, errsize);
    }

    error = get_uint(j, path, "ofport", 1, CFG_MAX_OFPORT, 0, &ofport,
                     err, errsize);
    if (error) {
        return error;
    }

    port->name = strdup(json_string_value(name));
    port->type = strdup(json_string_value(type));
    port->ofport = ofport;
    if (!port->name || !port->type) {
        return nomem(err, errsize);
    }

    json_object_foreach ((json_t *) j, key, v) {
        const struct port_opt_def *d;
        char *value;

        if (is_common_port_key(key)) {
            continue;
        }
        path_key(p, sizeof p, path, key);
        if (!strcmp(key, "offload")) {
            error = parse_port_offload(v, p, port->type, &port->offload,
                                       err, errsize);
            if (error) {
                return error;
            }
            continue;
        }
        d = port_opt_find(t, key);
        if (!d) {
            return unknown_opt(t, port->type, p, err, errsize);
        }
        error = opt_from_json(d, v, p, &value, err, errsize);
        if (!error) {
            error = port_add_opt(port, key, value);
            if (error) {
                return nomem(err, errsize);
            }
        }
        if (error) {
            return error;
        }
    }
    return check_required(t, port, path, err, errsize);
}

/* Port names must be unique across the file: looks for 'name' among the
 * ports parsed so far. */
static bool
find_port_name(const struct cfg *cfg, size_t n_bridges, size_t n_ports,
               const char *name, size_t *bi, size_t *pi)
{
    for (size_t b = 0; b <= n_bridges && b < cfg->n_bridges; b++) {
        const struct cfg_bridge *br = &cfg->bridges[b];
        size_t limit = b == n_bridges ? n_ports : br->n_ports;

        for (size_t i = 0; i < limit; i++) {
            if (br->ports[i].name && !strcmp(br->ports[i].name, name)) {
                *bi = b;
                *pi = i;
                return true;
            }
        }
    }
    return false;
}

/* ---- Mirrors. ---- */

static int
cmp_u16(const void *a, const void *b)
{
    return (int) *(const uint16_t *) a - (int) *(const uint16_t *) b;
}

static bool
name_in(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], name)) {
            return true;
        }
    }
    return false;
}

bool
cfg_mirror_names(const struct cfg_mirror *m, const char *name)
{
    return name_in(m->select_src, m->n_select_src, name)
           || name_in(m->select_dst, m->n_select_dst, name);
}

/* A list of distinct port names at member 'key' of 'j'. */
static int
get_port_names(const json_t *j, const char *path, const char *key,
               char ***out, size_t *n_out, char *err, size_t errsize)
{
    const json_t *v = json_object_get(j, key), *e;
    char p[PATH_SIZE], q[PATH_SIZE];
    size_t i;

    *out = NULL;
    *n_out = 0;
    if (!v) {
        return 0;
    }
    path_key(p, sizeof p, path, key);
    if (!json_is_array(v)) {
        return fail(err, errsize, p, "must be an array of port names");
    }
    *out = calloc(json_array_size(v) + 1, sizeof **out);
    if (!*out) {
        return nomem(err, errsize);
    }
    json_array_foreach ((json_t *) v, i, e) {
        path_idx(q, sizeof q, p, i);
        if (!json_is_string(e) || !valid_name(json_string_value(e))) {
            return fail(err, errsize, q, "must be a port name");
        }
        if (name_in(*out, *n_out, json_string_value(e))) {
            return fail(err, errsize, q, "port \"%s\" listed twice",
                        json_string_value(e));
        }
        (*out)[*n_out] = strdup(json_string_value(e));
        if (!(*out)[*n_out]) {
            return nomem(err, errsize);
        }
        ++*n_out;
    }
    return 0;
}

int
cfg_mirror_from_json(const json_t *j, const char *path,
                     const char *const *ignore, struct cfg_mirror *m,
                     char *err, size_t errsize)
{
    static const char *const keys[] = {
        "name", "output_port", "select_all", "select_src_port",
        "select_dst_port", "select_vlan", NULL
    };
    const json_t *v, *e;
    const char *key;
    char p[PATH_SIZE], q[PATH_SIZE];
    size_t i;
    int error;

    memset(m, 0, sizeof *m);
    if (!json_is_object(j)) {
        return fail(err, errsize, path, "must be an object");
    }
    json_object_foreach ((json_t *) j, key, v) {
        bool known = false;

        for (size_t k = 0; keys[k] && !known; k++) {
            known = !strcmp(key, keys[k]);
        }
        for (size_t k = 0; ignore && ignore[k] && !known; k++) {
            known = !strcmp(key, ignore[k]);
        }
        if (!known) {
            return fail(err, errsize, path_key(p, sizeof p, path, key),
                        "unknown key");
        }
    }
    v = json_object_get(j, "name");
    path_key(p, sizeof p, path, "name");
    if (!json_is_string(v) || !valid_name(json_string_value(v))) {
        return fail(err, errsize, p, v ? "must be a string of 1..%d "
                    "characters from A-Z a-z 0-9 _ . : -" : "missing",
                    CFG_MAX_NAME);
    }
    m->name = strdup(json_string_value(v));
    v = json_object_get(j, "output_port");
    path_key(p, sizeof p, path, "output_port");
    if (!json_is_string(v) || !valid_name(json_string_value(v))) {
        return fail(err, errsize, p, v ? "must be a port name"
                                       : "missing");
    }
    m->output_port = strdup(json_string_value(v));
    if (!m->name || !m->output_port) {
        return nomem(err, errsize);
    }
    v = json_object_get(j, "select_all");
    if (v && !json_is_boolean(v)) {
        return fail(err, errsize, path_key(p, sizeof p, path, "select_all"),
                    "must be true or false");
    }
    m->select_all = json_is_true(v);
    error = get_port_names(j, path, "select_src_port", &m->select_src,
                           &m->n_select_src, err, errsize);
    if (!error) {
        error = get_port_names(j, path, "select_dst_port", &m->select_dst,
                               &m->n_select_dst, err, errsize);
    }
    if (error) {
        return error;
    }
    v = json_object_get(j, "select_vlan");
    path_key(p, sizeof p, path, "select_vlan");
    if (v && !json_is_array(v)) {
        return fail(err, errsize, p, "must be an array of VLAN ids");
    }
    m->select_vlan = calloc(json_array_size(v) + 1, sizeof *m->select_vlan);
    if (!m->select_vlan) {
        return nomem(err, errsize);
    }
    json_array_foreach ((json_t *) v, i, e) {
        path_idx(q, sizeof q, p, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0
            || json_integer_value(e) > 4095) {
            return fail(err, errsize, q, "must be a VLAN id 0..4095");
        }
        m->select_vlan[m->n_select_vlan++] = (uint16_t) json_integer_value(e);
    }
    qsort(m->select_vlan, m->n_select_vlan, sizeof *m->select_vlan, cmp_u16);
    for (i = 1; i < m->n_select_vlan; i++) {
        if (m->select_vlan[i] == m->select_vlan[i - 1]) {
            return fail(err, errsize, p, "VLAN %u listed twice",
                        m->select_vlan[i]);
        }
    }
    if (!m->select_all && !m->n_select_src && !m->n_select_dst) {
        return fail(err, errsize, path, "selects nothing: give "
                    "select_all, select_src_port or select_dst_port");
    }
    if (name_in(m->select_src, m->n_select_src, m->output_port)
        || name_in(m->select_dst, m->n_select_dst, m->output_port)) {
        return fail(err, errsize, path_key(p, sizeof p, path,
                                           "output_port"),
                    "port \"%s\" is also selected: a mirror's output port "
                    "carries only its copies", m->output_port);
    }
    return 0;
}

static json_t *
names_json(char *const *names, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        json_array_append_new(a, json_string(names[i]));
    }
    return a;
}

json_t *
cfg_mirror_to_json(const struct cfg_mirror *m)
{
    json_t *j = json_pack("{s:s, s:s}", "name", m->name, "output_port",
                          m->output_port);

    if (!j) {
        return NULL;
    }
    if (m->select_all) {
        json_object_set_new(j, "select_all", json_true());
    }
    if (m->n_select_src) {
        json_object_set_new(j, "select_src_port",
                            names_json(m->select_src, m->n_select_src));
    }
    if (m->n_select_dst) {
        json_object_set_new(j, "select_dst_port",
                            names_json(m->select_dst, m->n_select_dst));
    }
    if (m->n_select_vlan) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < m->n_select_vlan; i++) {
            json_array_append_new(a, json_integer(m->select_vlan[i]));
        }
        json_object_set_new(j, "select_vlan", a);
    }
    return j;
}

static void
names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static char **
names_copy(char *const *names, size_t n)
{
    char **c = calloc(n + 1, sizeof *c);

    for (size_t i = 0; c && i < n; i++) {
        if (!(c[i] = strdup(names[i]))) {
            names_free(c, i);
            return NULL;
        }
    }
    return c;
}

int
cfg_mirror_copy(struct cfg_mirror *dst, const struct cfg_mirror *src)
{
    memset(dst, 0, sizeof *dst);
    dst->name = strdup(src->name);
    dst->output_port = strdup(src->output_port);
    dst->select_all = src->select_all;
    dst->select_src = names_copy(src->select_src, src->n_select_src);
    dst->n_select_src = src->n_select_src;
    dst->select_dst = names_copy(src->select_dst, src->n_select_dst);
    dst->n_select_dst = src->n_select_dst;
    dst->select_vlan = malloc((src->n_select_vlan + 1)
                              * sizeof *dst->select_vlan);
    if (dst->select_vlan && src->n_select_vlan) {
        memcpy(dst->select_vlan, src->select_vlan,
               src->n_select_vlan * sizeof *dst->select_vlan);
    }
    dst->n_select_vlan = src->n_select_vlan;
    if (!dst->name || !dst->output_port || !dst->select_src
        || !dst->select_dst || !dst->select_vlan) {
        cfg_mirror_uninit(dst);
        return ENOMEM;
    }
    return 0;
}

void
cfg_mirror_uninit(struct cfg_mirror *m)
{
    if (!m) {
        return;
    }
    free(m->name);
    free(m->output_port);
    names_free(m->select_src, m->n_select_src);
    names_free(m->select_dst, m->n_select_dst);
    free(m->select_vlan);
    memset(m, 0, sizeof *m);
}

static bool
bridge_has_port(const struct cfg_bridge *br, const char *name)
{
    for (size_t i = 0; i < br->n_ports; i++) {
        if (!strcmp(br->ports[i].name, name)) {
            return true;
        }
    }
    return false;
}

/* bridges[i].mirrors: names distinct; no mirror names another's output
 * port; at most CFG_MAX_MIRRORS in all bridges.  Whether the ports exist
 * is checked for config files only (check_mirror_ports()): a saved state
 * keeps mirrors of ports deleted since. */
static int
parse_mirrors(struct cfg *cfg, struct cfg_bridge *br, const json_t *v,
              const char *path, char *err, size_t errsize)
{
    char p[PATH_SIZE], q[PATH_SIZE], r[PATH_SIZE];
    size_t i, total = 0;

    if (!v) {
        return 0;
    }
    path_key(p, sizeof p, path, "mirrors");
    if (!json_is_array(v)) {
        return fail(err, errsize, p, "must be an array of mirrors");
    }
    for (const struct cfg_bridge *b = cfg->bridges; b < br; b++) {
        total += b->n_mirrors;
    }
    if (total + json_array_size(v) > CFG_MAX_MIRRORS) {
        return fail(err, errsize, p, "more than %d mirrors in all bridges "
                    "(CFG_MAX_MIRRORS)", CFG_MAX_MIRRORS);
    }
    br->mirrors = calloc(json_array_size(v) + 1, sizeof *br->mirrors);
    if (!br->mirrors) {
        return nomem(err, errsize);
    }
    for (i = 0; i < json_array_size(v); i++) {
        struct cfg_mirror *m = &br->mirrors[i];
        int error;

        path_idx(q, sizeof q, p, i);
        error = cfg_mirror_from_json(json_array_get(v, i), q, NULL, m, err,
                                     errsize);
        br->n_mirrors++;            /* Freed by cfg_free() either way. */
        if (error) {
            return error;
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(br->mirrors[k].name, m->name)) {
                return fail(err, errsize, path_key(r, sizeof r, q, "name"),
                            "duplicate mirror name \"%s\"", m->name);
            }
        }
        for (size_t k = 0; k < i; k++) {
            const struct cfg_mirror *o = &br->mirrors[k];

            if (cfg_mirror_names(o, m->output_port)
                || cfg_mirror_names(m, o->output_port)) {
                return fail(err, errsize, q, "mirror output ports cannot "
                            "be selected by a mirror (%s and %s)", o->name,
                            m->name);
            }
        }
    }
    return 0;
}

/* A config file's mirrors name ports of their bridges. */
static int
check_mirror_ports(const struct cfg *cfg, char *err, size_t errsize)
{
    char p[PATH_SIZE], q[PATH_SIZE], r[PATH_SIZE];

    for (size_t b = 0; b < cfg->n_bridges; b++) {
        const struct cfg_bridge *br = &cfg->bridges[b];

        snprintf(p, sizeof p, "bridges[%zu].mirrors", b);
        for (size_t i = 0; i < br->n_mirrors; i++) {
            const struct cfg_mirror *m = &br->mirrors[i];

            path_idx(q, sizeof q, p, i);
            if (!bridge_has_port(br, m->output_port)) {
                return fail(err, errsize, path_key(r, sizeof r, q,
                                                   "output_port"),
                            "no port \"%s\" in bridge %s", m->output_port,
                            br->name);
            }
            for (size_t k = 0; k < m->n_select_src + m->n_select_dst; k++) {
                const char *n = k < m->n_select_src
                                ? m->select_src[k]
                                : m->select_dst[k - m->n_select_src];

                if (!bridge_has_port(br, n)) {
                    return fail(err, errsize, q, "selects \"%s\": no such "
                                "port in bridge %s", n, br->name);
                }
            }
        }
    }
    return 0;
}

/* bridges[].tlv_map: an array of mappings (config.h). */
static int
parse_tlv_map(struct cfg_bridge *br, const json_t *j, const char *path,
              char *err, size_t errsize)
{
    struct tnl_tlv_map map = { .n = 0 };
    char p[PATH_SIZE], q[PATH_SIZE];
    const json_t *v;
    size_t i;

    if (!j) {
        return 0;
    }
    path_key(p, sizeof p, path, "tlv_map");
    if (!json_is_array(j)) {
        return fail(err, errsize, p, "must be an array of strings");
    }
    br->tlv_map = calloc(json_array_size(j) + 1, sizeof *br->tlv_map);
    if (!br->tlv_map) {
        return nomem(err, errsize);
    }
    json_array_foreach (j, i, v) {
        struct tnl_tlv t;
        const char *why;

        path_idx(q, sizeof q, p, i);
        if (!json_is_string(v)) {
            return fail(err, errsize, q, "must be a string");
        }
        why = tnl_tlv_from_string(json_string_value(v), &t);
        if (why) {
            return fail(err, errsize, q, "%s", why);
        }
        if (tnl_tlv_map_add(&map, &t)) {
            return fail(err, errsize, q, "its option or tun_metadata field "
                        "is already mapped to something else");
        }
        br->tlv_map[br->n_tlv_map] = strdup(json_string_value(v));
        if (!br->tlv_map[br->n_tlv_map]) {
            return nomem(err, errsize);
        }
        br->n_tlv_map++;
    }
    return 0;
}

/* Checks one line of bridges[].groups / bridges[].meters: 0 or EINVAL
 * with 'err' filled. */
static int
check_group_line(const char *text, char *err, size_t errsize)
{
    struct of_group_spec g;
    int ret = of_group_parse(&g, text, true, err, errsize);

    if (!ret) {
        of_group_spec_uninit(&g);
    }
    return ret;
}

static int
check_meter_line(const char *text, char *err, size_t errsize)
{
    struct of_meter_spec m;

    return of_meter_parse(&m, text, true, err, errsize);
}

/* bridges[].KEY: an array of lines in ovs-ofctl's syntax, each checked. */
static int
parse_checked_lines(const json_t *j, const char *path, const char *key,
                    int (*check)(const char *, char *, size_t),
                    char ***out, size_t *n, char *err, size_t errsize)
{
    char p[PATH_SIZE], q[PATH_SIZE];
    const json_t *v;
    size_t i;

    if (!j) {
        return 0;
    }
    path_key(p, sizeof p, path, key);
    if (!json_is_array(j)) {
        return fail(err, errsize, p, "must be an array of strings");
    }
    *out = calloc(json_array_size(j) + 1, sizeof **out);
    if (!*out) {
        return nomem(err, errsize);
    }
    json_array_foreach (j, i, v) {
        char perr[256];

        path_idx(q, sizeof q, p, i);
        if (!json_is_string(v)) {
            return fail(err, errsize, q, "must be a string");
        }
        if (check(json_string_value(v), perr, sizeof perr)) {
            return fail(err, errsize, q, "%s", perr);
        }
        (*out)[*n] = strdup(json_string_value(v));
        if (!(*out)[*n]) {
            return nomem(err, errsize);
        }
        (*n)++;
    }
    return 0;
}

const char *
cfg_of_target_parse(const char *text, struct cfg_of_target *t)
{
    const char *rest;
    char buf[128];
    char *colon;
    unsigned long port;
    char *end;

    memset(t, 0, sizeof *t);
    if (!strncmp(text, "punix:", 6) || !strncmp(text, "unix:", 5)) {
        t->passive = text[0] == 'p';
        t->is_unix = true;
        rest = text + (t->passive ? 6 : 5);
        if (!rest[0] || strlen(rest) >= sizeof t->path) {
            return "a unix socket path of 1..107 bytes is needed";
        }
        strcpy(t->path, rest);
        return NULL;
    }
    if (!strncmp(text, "ptcp:", 5)) {
        t->passive = true;
        rest = text + 5;
    } else if (!strncmp(text, "tcp:", 4)) {
        rest = text + 4;
    } else {
        return "must start with ptcp:, punix:, tcp: or unix:";
    }
    if (strlen(rest) >= sizeof buf) {
        return "too long";
    }
    strcpy(buf, rest);
    t->port = 6653;
    if (t->passive) {
        /* ptcp:PORT[:IP] */
        colon = strchr(buf, ':');
        if (colon) {
            *colon = '\0';
        }
        if (buf[0]) {
            errno = 0;
            port = strtoul(buf, &end, 10);
            if (errno || *end || port > 65535) {
                return "bad port (0..65535)";
            }
            t->port = (uint16_t) port;
        }
        if (colon && strlen(colon + 1) >= sizeof t->ip) {
            return "the address is too long";
        }
        snprintf(t->ip, sizeof t->ip, "%.45s", colon ? colon + 1 : "0.0.0.0");
    } else {
        /* tcp:IP[:PORT], tcp:[IPV6][:PORT] */
        char *ip = buf;

        if (buf[0] == '[') {
            char *close = strchr(buf, ']');

            if (!close) {
                return "unterminated [IPv6 address]";
            }
            *close = '\0';
            ip = buf + 1;
            colon = close[1] == ':' ? close + 1 : NULL;
            if (close[1] && !colon) {
                return "junk after ]";
            }
        } else {
            colon = strrchr(buf, ':');
            if (colon && strchr(buf, ':') != colon) {
                colon = NULL;   /* A bare IPv6 address. */
            }
        }
        if (colon) {
            *colon = '\0';
            errno = 0;
            port = strtoul(colon + 1, &end, 10);
            if (errno || *end || !colon[1] || port == 0 || port > 65535) {
                return "bad port (1..65535)";
            }
            t->port = (uint16_t) port;
        }
        if (strlen(ip) >= sizeof t->ip) {
            return "the address is too long";
        }
        snprintf(t->ip, sizeof t->ip, "%.45s", ip);
    }
    {
        struct in6_addr a6;
        struct in_addr a4;

        if (inet_pton(AF_INET, t->ip, &a4) != 1
            && inet_pton(AF_INET6, t->ip, &a6) != 1) {
            return "the address must be a numeric IPv4 or IPv6 address";
        }
    }
    return NULL;
}

static int
parse_of_targets(const json_t *j, const char *p, bool passive, char ***out,
                 size_t *n, char *err, size_t errsize)
{
    char q[PATH_SIZE];
    const json_t *v;
    size_t i;

    if (!j) {
        return 0;
    }
    if (!json_is_array(j) || json_array_size(j) > CFG_MAX_OF_TARGETS) {
        return fail(err, errsize, p, "must be an array of at most %d "
                    "strings", CFG_MAX_OF_TARGETS);
    }
    *out = calloc(json_array_size(j) + 1, sizeof **out);
    if (!*out) {
        return nomem(err, errsize);
    }
    json_array_foreach (j, i, v) {
        struct cfg_of_target t;
        const char *why;

        path_idx(q, sizeof q, p, i);
        if (!json_is_string(v)) {
            return fail(err, errsize, q, "must be a string");
        }
        why = cfg_of_target_parse(json_string_value(v), &t);
        if (!why && t.passive != passive) {
            why = passive ? "listen takes ptcp: or punix:"
                          : "controllers take tcp: or unix:";
        }
        if (why) {
            return fail(err, errsize, q, "\"%s\": %s", json_string_value(v),
                        why);
        }
        for (size_t k = 0; k < *n; k++) {
            if (!strcmp((*out)[k], json_string_value(v))) {
                return fail(err, errsize, q, "\"%s\" given twice",
                            json_string_value(v));
            }
        }
        (*out)[*n] = strdup(json_string_value(v));
        if (!(*out)[*n]) {
            return nomem(err, errsize);
        }
        (*n)++;
    }
    return 0;
}

/* bridges[].openflow (config.h). */
static int
parse_openflow(struct cfg_openflow *of, const json_t *j, const char *path,
               char *err, size_t errsize)
{
    static const char *const keys[] = { "listen", "controllers",
                                        "datapath_id", "fail_mode",
                                        "protocols", "inactivity_probe_ms",
                                        "max_backoff_ms", NULL };
    char p[PATH_SIZE], q[PATH_SIZE];
    const json_t *v;
    int error;

    of->inactivity_probe_ms = 5000;
    of->max_backoff_ms = 8000;
    if (!j) {
        return 0;
    }
    if (path[0]) {
        path_key(p, sizeof p, path, "openflow");
    } else {
        snprintf(p, sizeof p, "openflow");
    }
    if (!json_is_object(j)) {
        return fail(err, errsize, p, "must be an object");
    }
    error = check_keys(j, p, keys, err, errsize);
    if (error) {
        return error;
    }
    path_key(q, sizeof q, p, "listen");
    error = parse_of_targets(json_object_get(j, "listen"), q, true,
                             &of->listen, &of->n_listen, err, errsize);
    if (error) {
        return error;
    }
    path_key(q, sizeof q, p, "controllers");
    error = parse_of_targets(json_object_get(j, "controllers"), q, false,
                             &of->controllers, &of->n_controllers, err,
                             errsize);
    if (error) {
        return error;
    }
    v = json_object_get(j, "datapath_id");
    if (v) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        char *end;

        path_key(q, sizeof q, p, "datapath_id");
        errno = 0;
        of->datapath_id = strtoull(s, &end, 16);
        if (strlen(s) != 16 || errno || *end || !of->datapath_id) {
            return fail(err, errsize, q, "must be 16 hex digits, not all "
                        "zero (\"0000000000000001\")");
        }
    }
    v = json_object_get(j, "fail_mode");
    if (v) {
        path_key(q, sizeof q, p, "fail_mode");
        if (!json_is_string(v)
            || (strcmp(json_string_value(v), "secure")
                && strcmp(json_string_value(v), "standalone"))) {
            return fail(err, errsize, q, "must be \"secure\" or "
                        "\"standalone\"");
        }
        of->fail_standalone = !strcmp(json_string_value(v), "standalone");
    }
    v = json_object_get(j, "protocols");
    if (v) {
        size_t i;
        const json_t *e;

        path_key(q, sizeof q, p, "protocols");
        if (!json_is_array(v) || !json_array_size(v)) {
            return fail(err, errsize, q, "must be a non-empty array");
        }
        json_array_foreach ((json_t *) v, i, e) {
            if (!json_is_string(e)
                || strcmp(json_string_value(e), "OpenFlow13")) {
                return fail(err, errsize, q, "only \"OpenFlow13\" is "
                            "supported");
            }
        }
    }
    v = json_object_get(j, "inactivity_probe_ms");
    if (v) {
        path_key(q, sizeof q, p, "inactivity_probe_ms");
        if (!json_is_integer(v) || json_integer_value(v) < 0
            || (json_integer_value(v) && json_integer_value(v) < 100)
            || json_integer_value(v) > 3600000) {
            return fail(err, errsize, q, "must be 0 (none) or 100..3600000");
        }
        of->inactivity_probe_ms = (uint32_t) json_integer_value(v);
    }
    v = json_object_get(j, "max_backoff_ms");
    if (v) {
        path_key(q, sizeof q, p, "max_backoff_ms");
        if (!json_is_integer(v) || json_integer_value(v) < 100
            || json_integer_value(v) > 3600000) {
            return fail(err, errsize, q, "must be 100..3600000");
        }
        of->max_backoff_ms = (uint32_t) json_integer_value(v);
    }
    return 0;
}

static int
parse_bridge(struct cfg *cfg, size_t bidx, const json_t *j,
             const char *path, char *err, size_t errsize)
{
    static const char *const keys[] = { "name", "ports", "flows",
                                        "mirrors", "tlv_map", "openflow",
                                        "groups", "meters", NULL };
    struct cfg_bridge *br = &cfg->bridges[bidx];
    const json_t *name, *ports, *flows, *v;
    char p[PATH_SIZE], q[PATH_SIZE];
    size_t i;
    int error;

    if (!json_is_object(j)) {
        return fail(err, errsize, path, "must be an object");
    }
    error = check_keys(j, path, keys, err, errsize);
    if (error) {
        return error;
    }

    name = json_object_get(j, "name");
    path_key(p, sizeof p, path, "name");
    if (!name) {
        return fail(err, errsize, p, "missing");
    }
    if (!json_is_string(name) || !valid_name(json_string_value(name))) {
        return fail(err, errsize, p, "must be a string of 1..%d characters "
                    "from A-Z a-z 0-9 _ . : -", CFG_MAX_NAME);
    }
    for (i = 0; i < bidx; i++) {
        if (!strcmp(cfg->bridges[i].name, json_string_value(name))) {
            return fail(err, errsize, p, "duplicate bridge name \"%s\" "
                        "(also bridges[%zu])", json_string_value(name), i);
        }
    }
    br->name = strdup(json_string_value(name));
    if (!br->name) {
        return nomem(err, errsize);
    }

    ports = json_object_get(j, "ports");
    path_key(p, sizeof p, path, "ports");
    if (ports && !json_is_array(ports)) {
        return fail(err, errsize, p, "must be an array");
    }
    if (ports && json_array_size(ports)) {
        br->ports = calloc(json_array_size(ports), sizeof *br->ports);
        if (!br->ports) {
            return nomem(err, errsize);
        }
        br->n_ports = json_array_size(ports);
    }
    for (i = 0; i < br->n_ports; i++) {
        struct cfg_port *port = &br->ports[i];
        size_t ob, op;

        path_idx(q, sizeof q, p, i);
        error = parse_port(json_array_get(ports, i), q, port, err, errsize);
        if (error) {
            return error;
        }
        if (find_port_name(cfg, bidx, i, port->name, &ob, &op)) {
            char r[PATH_SIZE];

            return fail(err, errsize, path_key(r, sizeof r, q, "name"),
                        "duplicate port name \"%s\" (also "
                        "bridges[%zu].ports[%zu])", port->name, ob, op);
        }
        for (size_t k = 0; port->ofport && k < i; k++) {
            if (br->ports[k].ofport == port->ofport) {
                char r[PATH_SIZE];

                return fail(err, errsize, path_key(r, sizeof r, q, "ofport"),
                            "ofport %"PRIu32" already used by port \"%s\"",
                            port->ofport, br->ports[k].name);
            }
        }
    }
    /* Assign the lowest free ofport to ports without one. */
    for (i = 0; i < br->n_ports; i++) {
        uint32_t cand = 1;

        if (br->ports[i].ofport) {
            continue;
        }
        for (size_t k = 0; k < br->n_ports; k++) {
            if (br->ports[k].ofport == cand) {
                cand++;
                k = (size_t) -1;    /* Restart the scan. */
            }
        }
        br->ports[i].ofport = cand;
    }

    error = parse_mirrors(cfg, br, json_object_get(j, "mirrors"), path,
                          err, errsize);
    if (error) {
        return error;
    }
    error = parse_tlv_map(br, json_object_get(j, "tlv_map"), path, err,
                          errsize);
    if (error) {
        return error;
    }
    error = parse_openflow(&br->openflow, json_object_get(j, "openflow"),
                           path, err, errsize);
    if (error) {
        return error;
    }
    error = parse_checked_lines(json_object_get(j, "groups"), path,
                                "groups", check_group_line, &br->groups,
                                &br->n_groups, err, errsize);
    if (error) {
        return error;
    }
    error = parse_checked_lines(json_object_get(j, "meters"), path,
                                "meters", check_meter_line, &br->meters,
                                &br->n_meters, err, errsize);
    if (error) {
        return error;
    }

    flows = json_object_get(j, "flows");
    path_key(p, sizeof p, path, "flows");
    if (!flows) {
        br->flows = calloc(1, sizeof *br->flows);
        if (!br->flows || !(br->flows[0] = strdup(default_flow))) {
            return nomem(err, errsize);
        }
        br->n_flows = 1;
        return 0;
    }
    if (!json_is_array(flows)) {
        return fail(err, errsize, p, "must be an array of strings");
    }
    if (json_array_size(flows)) {
        br->flows = calloc(json_array_size(flows), sizeof *br->flows);
        if (!br->flows) {
            return nomem(err, errsize);
        }
        br->n_flows = json_array_size(flows);
    }
    json_array_foreach ((json_t *) flows, i, v) {
        path_idx(q, sizeof q, p, i);
        if (!json_is_string(v) || !json_string_value(v)[0]) {
            return fail(err, errsize, q, "must be a non-empty string");
        }
        br->flows[i] = strdup(json_string_value(v));
        if (!br->flows[i]) {
            return nomem(err, errsize);
        }
    }
    return 0;
}

static int
set_default_args(struct cfg *cfg)
{
    size_t n = sizeof default_dpdk_args / sizeof default_dpdk_args[0];

    cfg->dpdk_args = calloc(n, sizeof *cfg->dpdk_args);
    if (!cfg->dpdk_args) {
        return ENOMEM;
    }
    cfg->n_dpdk_args = n;
    for (size_t i = 0; i < n; i++) {
        cfg->dpdk_args[i] = strdup(default_dpdk_args[i]);
        if (!cfg->dpdk_args[i]) {
            return ENOMEM;
        }
    }
    return 0;
}

static int
parse_root(const json_t *root, struct cfg *cfg, char *err, size_t errsize)
{
    static const char *const root_keys[] = {
        "dpdk", "control", "pmd", "datapath", "bridges", "offload", "state",
        "conntrack", "http", NULL
    };
    static const char *const http_keys[] = { "listen", NULL };
    static const char *const state_keys[] = { "dir", NULL };
    static const char *const dpdk_keys[] = { "args", "mbufs", NULL };
    static const char *const control_keys[] = { "socket", "group", NULL };
    static const char *const pmd_keys[] = { "cores", "emc_entries",
                                            "hkc_entries", "idle_sleep_us",
                                            NULL };
    static const char *const dp_keys[] = {
        "megaflow_idle_ms", "flow_limit", "mac_aging_s", "max_masks", NULL
    };
    const json_t *dpdk, *control, *pmd, *dp, *state, *http, *v, *e;
    char p[PATH_SIZE];
    size_t i;
    int error;

    if (!json_is_object(root)) {
        return fail(err, errsize, "", "must be an object");
    }
    error = check_keys(root, "", root_keys, err, errsize);
    if (error) {
        return error;
    }

    /* dpdk */
    error = get_object(root, "", "dpdk", dpdk_keys, &dpdk, err, errsize);
    if (error) {
        return error;
    }
    v = dpdk ? json_object_get(dpdk, "args") : NULL;
    if (!v) {
        if (set_default_args(cfg)) {
            return nomem(err, errsize);
        }
    } else if (!json_is_array(v)) {
        return fail(err, errsize, "dpdk.args", "must be an array of strings");
    } else {
        if (json_array_size(v)) {
            cfg->dpdk_args = calloc(json_array_size(v),
                                    sizeof *cfg->dpdk_args);
            if (!cfg->dpdk_args) {
                return nomem(err, errsize);
            }
            cfg->n_dpdk_args = json_array_size(v);
        }
        json_array_foreach ((json_t *) v, i, e) {
            if (!json_is_string(e)) {
                return fail(err, errsize,
                            path_idx(p, sizeof p, "dpdk.args", i),
                            "must be a string");
            }
            cfg->dpdk_args[i] = strdup(json_string_value(e));
            if (!cfg->dpdk_args[i]) {
                return nomem(err, errsize);
            }
        }
    }

    error = get_uint(dpdk, "dpdk", "mbufs", 1024, 16777215,
                     CFG_DEFAULT_MBUFS, &cfg->n_mbufs, err, errsize);
    if (error) {
        return error;
    }

    /* control */
    error = get_object(root, "", "control", control_keys, &control,
                       err, errsize);
    if (error) {
        return error;
    }
    v = control ? json_object_get(control, "socket") : NULL;
    if (v) {
        char msg[160];

        if (!json_is_string(v)) {
            return fail(err, errsize, "control.socket", "must be a string");
        }
        if (!check_sockpath(json_string_value(v), msg, sizeof msg)) {
            return fail(err, errsize, "control.socket", "%s", msg);
        }
    }
    cfg->control_socket = strdup(v ? json_string_value(v)
                                   : CFG_DEFAULT_SOCKET);
    if (!cfg->control_socket) {
        return nomem(err, errsize);
    }
    v = control ? json_object_get(control, "group") : NULL;
    if (v && (!json_is_string(v) || !json_string_value(v)[0]
              || strlen(json_string_value(v)) > 32)) {
        return fail(err, errsize, "control.group",
                    "must be a group name (1..32 bytes)");
    }
    cfg->control_group = strdup(v ? json_string_value(v) : "");
    if (!cfg->control_group) {
        return nomem(err, errsize);
    }

    /* http */
    error = get_object(root, "", "http", http_keys, &http, err, errsize);
    if (error) {
        return error;
    }
    v = http ? json_object_get(http, "listen") : NULL;
    if (v) {
        char host[HTTP_HOST_SIZE], msg[160];
        uint16_t port;

        if (!json_is_string(v)) {
            return fail(err, errsize, "http.listen", "must be a string "
                        "\"HOST:PORT\" (\"\": off)");
        }
        if (json_string_value(v)[0]
            && !http_parse_listen(json_string_value(v), host, &port, msg,
                                  sizeof msg)) {
            return fail(err, errsize, "http.listen", "%s", msg);
        }
    }
    cfg->http_listen = strdup(v ? json_string_value(v) : "");
    if (!cfg->http_listen) {
        return nomem(err, errsize);
    }

    /* state */
    error = get_object(root, "", "state", state_keys, &state, err, errsize);
    if (error) {
        return error;
    }
    v = state ? json_object_get(state, "dir") : NULL;
    if (v && (!json_is_string(v)
              || strlen(json_string_value(v)) > CFG_MAX_STATE_DIR)) {
        return fail(err, errsize, "state.dir",
                    "must be a directory path of at most %d bytes (\"\" "
                    "disables saving state)", CFG_MAX_STATE_DIR);
    }
    cfg->state_dir = strdup(v ? json_string_value(v) : CFG_DEFAULT_STATE_DIR);
    if (!cfg->state_dir) {
        return nomem(err, errsize);
    }

    /* pmd */
    error = get_object(root, "", "pmd", pmd_keys, &pmd, err, errsize);
    if (error) {
        return error;
    }
    v = pmd ? json_object_get(pmd, "cores") : NULL;
    if (v && (!json_is_array(v) || !json_array_size(v))) {
        return fail(err, errsize, "pmd.cores",
                    "must be a non-empty array of core numbers");
    }
    cfg->pmd_cores = calloc(v ? json_array_size(v) : 1,
                            sizeof *cfg->pmd_cores);
    if (!cfg->pmd_cores) {
        return nomem(err, errsize);
    }
    if (!v) {
        cfg->pmd_cores[0] = 0;
        cfg->n_pmd_cores = 1;
    }
    json_array_foreach ((json_t *) v, i, e) {
        path_idx(p, sizeof p, "pmd.cores", i);
        if (!json_is_integer(e) || json_integer_value(e) < 0
            || json_integer_value(e) > CFG_MAX_CORE) {
            return fail(err, errsize, p, "must be an integer 0..%d",
                        CFG_MAX_CORE);
        }
        for (size_t k = 0; k < i; k++) {
            if (cfg->pmd_cores[k] == (unsigned) json_integer_value(e)) {
                return fail(err, errsize, p, "duplicate core %u",
                            cfg->pmd_cores[k]);
            }
        }
        cfg->pmd_cores[i] = (unsigned) json_integer_value(e);
        cfg->n_pmd_cores = i + 1;
    }
    error = get_pow2_or_0(pmd, "pmd", "emc_entries", 1u << 20, 8192,
                          &cfg->emc_entries, err, errsize);
    if (error) {
        return error;
    }
    error = get_pow2_or_0(pmd, "pmd", "hkc_entries", 1u << 22, 32768,
                          &cfg->hkc_entries, err, errsize);
    if (error) {
        return error;
    }
    error = get_uint(pmd, "pmd", "idle_sleep_us", 0, 100000, 0,
                     &cfg->pmd_idle_sleep_us, err, errsize);
    if (error) {
        return error;
    }

    /* datapath */
    error = get_object(root, "", "datapath", dp_keys, &dp, err, errsize);
    if (!error) {
        error = get_uint(dp, "datapath", "megaflow_idle_ms", 1, 3600000,
                         10000, &cfg->megaflow_idle_ms, err, errsize);
    }
    if (!error) {
        error = get_uint(dp, "datapath", "flow_limit", 1, 10000000, 200000,
                         &cfg->flow_limit, err, errsize);
    }
    if (!error) {
        error = get_uint(dp, "datapath", "mac_aging_s", 1, 86400, 300,
                         &cfg->mac_aging_s, err, errsize);
    }
    if (!error) {
        error = get_uint(dp, "datapath", "max_masks", 0, 65536, 1024,
                         &cfg->max_masks, err, errsize);
    }
    if (error) {
        return error;
    }

    error = parse_offload_section(root, cfg, err, errsize);
    if (error) {
        return error;
    }
    error = parse_conntrack_section(root, cfg, err, errsize);
    if (error) {
        return error;
    }

    /* bridges */
    v = json_object_get(root, "bridges");
    {
        /* Identifies the configured bridges (see state.h). */
        char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)
                       : NULL;

        cfg->bridges_checksum = cfg_checksum(text ? text : "[]");
        free(text);
    }
    if (v && !json_is_array(v)) {
        return fail(err, errsize, "bridges", "must be an array");
    }
    if (v && json_array_size(v)) {
        cfg->bridges = calloc(json_array_size(v), sizeof *cfg->bridges);
        if (!cfg->bridges) {
            return nomem(err, errsize);
        }
        cfg->n_bridges = json_array_size(v);
    }
    for (i = 0; i < cfg->n_bridges; i++) {
        error = parse_bridge(cfg, i, json_array_get(v, i),
                             path_idx(p, sizeof p, "bridges", i),
                             err, errsize);
        if (error) {
            return error;
        }
    }
    return 0;
}

static int
load_json(json_t *root, struct cfg **out, char *err, size_t errsize)
{
    struct cfg *cfg = calloc(1, sizeof *cfg);
    int error;

    if (!cfg) {
        json_decref(root);
        return nomem(err, errsize);
    }
    error = parse_root(root, cfg, err, errsize);
    json_decref(root);
    if (error) {
        cfg_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return error;
}

int
cfg_load_string(const char *json, struct cfg **out, char *err,
                size_t errsize)
{
    json_error_t jerr;
    json_t *root;

    *out = NULL;
    root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (err && errsize) {
            snprintf(err, errsize, "line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        }
        return EINVAL;
    }
    return load_json(root, out, err, errsize);
}

int
cfg_load_file(const char *path, struct cfg **out, char *err,
              size_t errsize)
{
    json_error_t jerr;
    json_t *root;
    FILE *f;
    int error;

    *out = NULL;
    f = fopen(path, "r");
    if (!f) {
        error = errno;
        if (err && errsize) {
            snprintf(err, errsize, "%s: %s", path, strerror(error));
        }
        return error;
    }
    root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!root) {
        if (err && errsize) {
            snprintf(err, errsize, "%s: line %d column %d: %s", path,
                     jerr.line, jerr.column, jerr.text);
        }
        return EINVAL;
    }

    char msg[1024];

    error = load_json(root, out, msg, sizeof msg);
    if (!error) {
        error = check_mirror_ports(*out, msg, sizeof msg);
        if (error) {
            cfg_free(*out);
            *out = NULL;
        }
    }
    if (error && err && errsize) {
        snprintf(err, errsize, "%s: %s", path, msg);
    }
    return error;
}

void
cfg_port_uninit(struct cfg_port *port)
{
    if (!port) {
        return;
    }
    free(port->name);
    free(port->type);
    for (size_t i = 0; i < port->n_options; i++) {
        free(port->options[i].key);
        free(port->options[i].value);
    }
    free(port->options);
    memset(port, 0, sizeof *port);
}

void
cfg_free(struct cfg *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < cfg->n_dpdk_args; i++) {
        free(cfg->dpdk_args[i]);
    }
    free(cfg->dpdk_args);
    free(cfg->control_socket);
    free(cfg->control_group);
    free(cfg->http_listen);
    free(cfg->state_dir);
    free(cfg->pmd_cores);
    for (size_t b = 0; b < cfg->n_bridges; b++) {
        struct cfg_bridge *br = &cfg->bridges[b];

        free(br->name);
        for (size_t i = 0; i < br->n_ports; i++) {
            cfg_port_uninit(&br->ports[i]);
        }
        free(br->ports);
        for (size_t i = 0; i < br->n_flows; i++) {
            free(br->flows[i]);
        }
        free(br->flows);
        for (size_t i = 0; i < br->n_mirrors; i++) {
            cfg_mirror_uninit(&br->mirrors[i]);
        }
        free(br->mirrors);
        cfg_openflow_uninit(&br->openflow);
        for (size_t i = 0; i < br->n_groups; i++) {
            free(br->groups[i]);
        }
        free(br->groups);
        for (size_t i = 0; i < br->n_meters; i++) {
            free(br->meters[i]);
        }
        free(br->meters);
        for (size_t i = 0; i < br->n_tlv_map; i++) {
            free(br->tlv_map[i]);
        }
        free(br->tlv_map);
    }
    free(cfg->bridges);
    for (size_t i = 0; i < cfg->conntrack.n_timeouts; i++) {
        free(cfg->conntrack.timeouts[i].name);
    }
    free(cfg->conntrack.timeouts);
    free(cfg->conntrack.zone_limits);
    free(cfg);
}

const struct cfg_bridge *
cfg_find_bridge(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_bridges; i++) {
        if (!strcmp(cfg->bridges[i].name, name)) {
            return &cfg->bridges[i];
        }
    }
    return NULL;
}

/* ---- add-port: KEY=VALUE lists. ---- */

int
cfg_port_from_kv(const char *name, const char *type,
                 const char *const *kv, size_t n_kv,
                 struct cfg_port *out, char *err, size_t errsize)
{
    const struct port_opt_def *t;
    int error = 0;

    memset(out, 0, sizeof *out);
    if (!name || !valid_name(name)) {
        return fail(err, errsize, "name", "must be 1..%d characters from "
                    "A-Z a-z 0-9 _ . : -", CFG_MAX_NAME);
    }
    t = port_opt_table(type);
    if (!t) {
        return bad_type("type", err, errsize);
    }
    out->name = strdup(name);
    out->type = strdup(type);
    if (!out->name || !out->type) {
        error = nomem(err, errsize);
        goto out;
    }

    for (size_t i = 0; i < n_kv; i++) {
        const char *eq = kv[i] ? strchr(kv[i], '=') : NULL;
        const struct port_opt_def *d;
        char key[64];
        size_t klen;

        if (!eq || eq == kv[i] || (klen = (size_t) (eq - kv[i]))
            >= sizeof key) {
            error = fail(err, errsize, kv[i] ? kv[i] : "(null)",
                         "expected KEY=VALUE");
            goto out;
        }
        memcpy(key, kv[i], klen);
        key[klen] = '\0';

        if (!strcmp(key, "ofport")) {
            if (out->ofport) {
                error = fail(err, errsize, key, "given twice");
                goto out;
            }
            if (!parse_uint(eq + 1, 1, CFG_MAX_OFPORT, &out->ofport)) {
                error = fail(err, errsize, key, "must be an integer 1..%d",
                             CFG_MAX_OFPORT);
                goto out;
            }
            continue;
        }
        if (!strcmp(key, "name") || !strcmp(key, "type")) {
            error = fail(err, errsize, key, "is an argument, not an option");
            goto out;
        }
        if (!strcmp(key, "offload") || !strcmp(key, "offload_provider")
            || !strcmp(key, "offload_nic")) {
            const char *sub = !strcmp(key, "offload") ? "mode"
                              : !strcmp(key, "offload_nic") ? "nic"
                              : "provider";

            error = offload_set(&out->offload, out->type, sub, eq + 1, key,
                                err, errsize);
            if (error) {
                goto out;
            }
            continue;
        }
        d = port_opt_find(t, key);
        if (!d) {
            error = unknown_opt(t, out->type, key, err, errsize);
            goto out;
        }
        if (cfg_port_get(out, key)) {
            error = fail(err, errsize, key, "given twice");
            goto out;
        }
        error = check_opt(d, eq + 1, key, false, err, errsize);
        if (error) {
            goto out;
        }
        char *value = strdup(eq + 1);

        if (!value || port_add_opt(out, key, value)) {
            error = nomem(err, errsize);
            goto out;
        }
    }
    error = check_required(t, out, "", err, errsize);

out:
    if (error) {
        cfg_port_uninit(out);
    }
    return error;
}

uint64_t
cfg_checksum(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL;        /* FNV-1a, 64 bits. */

    for (; *text; text++) {
        h ^= (unsigned char) *text;
        h *= 0x100000001b3ULL;
    }
    return h;
}

json_t *
cfg_port_to_json(const struct cfg_port *port)
{
    const struct port_opt_def *t = port_opt_table(port->type);
    json_t *j = json_pack("{s:s, s:s, s:I}", "name", port->name,
                          "type", port->type, "ofport",
                          (json_int_t) port->ofport);
    const struct cfg_port_offload *o = &port->offload;

    if (!j) {
        return NULL;
    }
    for (size_t i = 0; i < port->n_options; i++) {
        const struct cfg_opt *opt = &port->options[i];
        const struct port_opt_def *d = t ? port_opt_find(t, opt->key)
                                         : NULL;
        json_t *v;

        if (d && d->type == PORT_OPT_UINT) {
            v = json_integer(strtoll(opt->value, NULL, 10));
        } else if (d && d->type == PORT_OPT_LIST) {
            char *copy = strdup(opt->value), *save = NULL;

            v = json_array();
            for (char *e = copy ? strtok_r(copy, ",", &save) : NULL; e;
                 e = strtok_r(NULL, ",", &save)) {
                json_array_append_new(v, json_string(e));
            }
            free(copy);
        } else {
            v = json_string(opt->value);
        }
        json_object_set_new(j, opt->key, v);
    }
    if (o->mode != CFG_OFFLOAD_NONE) {
        json_t *off = json_pack("{s:s}", "mode",
                                o->mode == CFG_OFFLOAD_FULL ? "full"
                                                            : "partial");

        if (o->provider[0]) {
            json_object_set_new(off, "provider", json_string(o->provider));
        }
        if (o->nic[0]) {
            json_object_set_new(off, "nic", json_string(o->nic));
        }
        json_object_set_new(j, "offload", off);
    }
    return j;
}

/* ---- bridges[].openflow as a value (openflow.h, state.c). ---- */

int
cfg_openflow_from_json(const json_t *j, struct cfg_openflow *of, char *err,
                       size_t errsize)
{
    int error;

    memset(of, 0, sizeof *of);
    error = parse_openflow(of, j ? j : NULL, "", err, errsize);
    if (error) {
        cfg_openflow_uninit(of);
    }
    if (!j) {
        of->inactivity_probe_ms = 5000;
        of->max_backoff_ms = 8000;
    }
    return error;
}

void
cfg_openflow_uninit(struct cfg_openflow *of)
{
    for (size_t i = 0; i < of->n_listen; i++) {
        free(of->listen[i]);
    }
    free(of->listen);
    for (size_t i = 0; i < of->n_controllers; i++) {
        free(of->controllers[i]);
    }
    free(of->controllers);
    memset(of, 0, sizeof *of);
}

static char **
strv_copy(char *const *v, size_t n)
{
    char **c = calloc(n + 1, sizeof *c);

    for (size_t i = 0; c && i < n; i++) {
        if (!(c[i] = strdup(v[i]))) {
            for (size_t k = 0; k < i; k++) {
                free(c[k]);
            }
            free(c);
            return NULL;
        }
    }
    return c;
}

int
cfg_openflow_copy(struct cfg_openflow *dst, const struct cfg_openflow *src)
{
    *dst = *src;
    dst->listen = strv_copy(src->listen, src->n_listen);
    dst->controllers = strv_copy(src->controllers, src->n_controllers);
    if (!dst->listen || !dst->controllers) {
        free(dst->listen);
        free(dst->controllers);
        memset(dst, 0, sizeof *dst);
        return ENOMEM;
    }
    return 0;
}

json_t *
cfg_openflow_to_json(const struct cfg_openflow *of)
{
    json_t *j = json_object(), *l = json_array(), *c = json_array();
    char dpid[17];

    if (!j || !l || !c) {
        json_decref(j);
        json_decref(l);
        json_decref(c);
        return NULL;
    }
    for (size_t i = 0; i < of->n_listen; i++) {
        json_array_append_new(l, json_string(of->listen[i]));
    }
    for (size_t i = 0; i < of->n_controllers; i++) {
        json_array_append_new(c, json_string(of->controllers[i]));
    }
    json_object_set_new(j, "listen", l);
    json_object_set_new(j, "controllers", c);
    if (of->datapath_id) {
        snprintf(dpid, sizeof dpid, "%016" PRIx64, of->datapath_id);
        json_object_set_new(j, "datapath_id", json_string(dpid));
    }
    json_object_set_new(j, "fail_mode", json_string(of->fail_standalone
                                                    ? "standalone"
                                                    : "secure"));
    json_object_set_new(j, "inactivity_probe_ms",
                        json_integer(of->inactivity_probe_ms));
    json_object_set_new(j, "max_backoff_ms",
                        json_integer(of->max_backoff_ms));
    return j;
}
