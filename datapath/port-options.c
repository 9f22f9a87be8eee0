/* SPDX-License-Identifier: BSD-3-Clause */
/* port-options.c: the one checker of port options, over the class tables.
 * (The classes' registry is port.c's.) */

#include "port-options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Formats an error message into 'err'. */
static void __attribute__((format(printf, 3, 4)))
opt_err(char *err, size_t errsize, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(err, errsize, fmt, args);
    va_end(args);
}

void
port_opt_cat(char *buf, size_t size, const char *s)
{
    size_t len = strnlen(buf, size);

    if (len + 1 < size) {
        snprintf(buf + len, size - len, "%s", s);
    }
}

const struct port_opt_def *
port_opt_find(const struct port_opt_def *table, const char *name)
{
    for (const struct port_opt_def *d = table; d->name; d++) {
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

void
port_opt_names(const struct port_opt_def *table, char *buf, size_t size)
{
    if (!size) {
        return;
    }
    buf[0] = '\0';
    for (const struct port_opt_def *d = table; d->name; d++) {
        port_opt_cat(buf, size, d == table ? "" : ", ");
        port_opt_cat(buf, size, d->name);
    }
    if (!table->name) {
        port_opt_cat(buf, size, "no options");
    }
}

/* Parses decimal digits without sign or spaces; false if 's' is not
 * that.  A number too large for 64 bits gives UINT64_MAX. */
static bool
port_opt_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
        v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX
                                      : v * 10 + (uint64_t) (*s - '0');
    }
    *out = v;
    return true;
}

static int
port_opt_check_uint(const struct port_opt_def *def, const char *value,
                    char *msg, size_t msgsize)
{
    uint64_t v;

    if (!port_opt_parse_u64(value, &v)) {
        snprintf(msg, msgsize, "must be an integer %"PRIu32"..%"PRIu32
                 " (\"%s\" is not a number)", def->min, def->max, value);
        return EINVAL;
    }
    if (v < def->min || v > def->max) {
        snprintf(msg, msgsize, "must be an integer %"PRIu32"..%"PRIu32
                 " (%s is out of range)", def->min, def->max, value);
        return EINVAL;
    }
    return 0;
}

static int
port_opt_check_string(const struct port_opt_def *def, const char *value,
                      char *msg, size_t msgsize)
{
    size_t len = strlen(value);

    /* The check's message is the more specific one: it goes first. */
    if (def->check && !def->check(value, msg, msgsize)) {
        return EINVAL;
    }
    if (len < def->min || len > def->max) {
        if (def->min == 1) {
            snprintf(msg, msgsize, "must be a non-empty string of at most "
                     "%"PRIu32" bytes", def->max);
        } else {
            snprintf(msg, msgsize, "must be a string of %"PRIu32"..%"PRIu32
                     " bytes", def->min, def->max);
        }
        return EINVAL;
    }
    return 0;
}

static int
port_opt_check_list(const struct port_opt_def *def, const char *value,
                    size_t *bad_elem, char *msg, size_t msgsize)
{
    size_t n = 0;

    /* Elements end at a comma; a comma at the very end ends nothing. */
    for (const char *s = value; *s; n++) {
        size_t len = strcspn(s, ",");
        char *elem = strndup(s, len);
        bool ok;

        if (!elem) {
            snprintf(msg, msgsize, "out of memory");
            return ENOMEM;
        }
        ok = def->check ? def->check(elem, msg, msgsize) : len > 0;
        if (!ok && !def->check) {
            snprintf(msg, msgsize, "element %zu is empty", n);
        }
        free(elem);
        if (!ok) {
            *bad_elem = n;
            return EINVAL;
        }
        s += len + (s[len] == ',');
    }
    if (n < def->min || n > def->max) {
        snprintf(msg, msgsize, "must be a list of %"PRIu32"..%"PRIu32
                 " elements, not %zu", def->min, def->max, n);
        return EINVAL;
    }
    return 0;
}

int
port_opt_check(const struct port_opt_def *def, const char *value,
               size_t *bad_elem, char *msg, size_t msgsize)
{
    size_t dummy;

    bad_elem = bad_elem ? bad_elem : &dummy;
    *bad_elem = SIZE_MAX;
    switch (def->type) {
    case PORT_OPT_UINT:
        return port_opt_check_uint(def, value, msg, msgsize);
    case PORT_OPT_STRING:
        return port_opt_check_string(def, value, msg, msgsize);
    case PORT_OPT_LIST:
        return port_opt_check_list(def, value, bad_elem, msg, msgsize);
    }
    snprintf(msg, msgsize, "has an unknown option type");
    return EINVAL;
}

int
port_opt_validate(const struct port_opt_def *table, const char *name,
                  const char *type, const struct port_option *opts,
                  size_t n_opts, char *err, size_t errsize)
{
    char msg[256];

    for (size_t i = 0; i < n_opts; i++) {
        const struct port_option *o = &opts[i];
        const struct port_opt_def *def;
        int error;

        if (!o->key || !o->value) {
            opt_err(err, errsize, "%s: option %zu has no %s", name,
                         i, o->key ? "value" : "key");
            return EINVAL;
        }
        def = port_opt_find(table, o->key);
        if (!def) {
            port_opt_names(table, msg, sizeof msg);
            opt_err(err, errsize, "%s: unknown option %s for type "
                         "%s (expected one of: %s)", name, o->key, type,
                         msg);
            return EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(opts[k].key, o->key)) {
                opt_err(err, errsize, "%s: option %s: given twice",
                             name, o->key);
                return EINVAL;
            }
        }
        error = port_opt_check(def, o->value, NULL, msg, sizeof msg);
        if (error) {
            opt_err(err, errsize, "%s: option %s: %s", name, o->key,
                         msg);
            return error;
        }
    }
    for (const struct port_opt_def *d = table; d->name; d++) {
        bool given = false;

        for (size_t i = 0; i < n_opts && !given; i++) {
            given = !strcmp(opts[i].key, d->name);
        }
        if (d->required && !given) {
            opt_err(err, errsize, "%s: missing required option %s "
                         "for type %s", name, d->name, type);
            return EINVAL;
        }
    }
    return 0;
}

const char *
port_opt_get(const struct port_option *opts, size_t n_opts,
             const char *name)
{
    for (size_t i = 0; i < n_opts; i++) {
        if (!strcmp(opts[i].key, name)) {
            return opts[i].value;
        }
    }
    return NULL;
}

uint32_t
port_opt_get_u32(const struct port_opt_def *table,
                 const struct port_option *opts, size_t n_opts,
                 const char *name)
{
    const char *value = port_opt_get(opts, n_opts, name);
    const struct port_opt_def *def;
    uint64_t v;

    if (!value) {
        def = port_opt_find(table, name);
        value = def && def->dflt ? def->dflt : "";
    }
    return port_opt_parse_u64(value, &v) && v <= UINT32_MAX
           ? (uint32_t) v : 0;
}

void
port_opt_describe(const struct port_opt_def *d, char *buf, size_t size)
{
    switch (d->type) {
    case PORT_OPT_UINT:
        snprintf(buf, size, "integer %"PRIu32"..%"PRIu32, d->min, d->max);
        break;
    case PORT_OPT_STRING:
        snprintf(buf, size, "string, %"PRIu32"..%"PRIu32" bytes", d->min,
                 d->max);
        break;
    case PORT_OPT_LIST:
        snprintf(buf, size, "list, %"PRIu32"..%"PRIu32" elements "
                 "(comma-separated; JSON: array)", d->min, d->max);
        break;
    }
}

bool
port_opt_parse_bool(const char *v, bool *b)
{
    if (!strcmp(v, "true")) {
        *b = true;
        return true;
    }
    if (!strcmp(v, "false")) {
        *b = false;
        return true;
    }
    return false;
}

bool
port_opt_check_bool(const char *v, char *msg, size_t msgsize)
{
    bool b;

    if (port_opt_parse_bool(v, &b)) {
        return true;
    }
    snprintf(msg, msgsize, "'%s' is not true or false", v);
    return false;
}
