/* SPDX-License-Identifier: BSD-3-Clause */
/* port-options.c: the one checker of port options, over the class tables. */

#include "port-options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "port.h"
#include "port-provider.h"

/* The table of a class that declares none. */
static const struct port_opt_def port_opt_none[] = { { .name = NULL } };

static const struct port_opt_def *
class_table(const struct port_class *class)
{
    return class->options ? class->options : port_opt_none;
}

const struct port_opt_def *
port_opt_table(const char *type)
{
    const struct port_class *class = type ? port_class_lookup(type) : NULL;

    return class ? class_table(class) : NULL;
}

/* Appends 's' to the NUL-terminated 'buf' of 'size' bytes, truncating. */
static void
port_opt_cat(char *buf, size_t size, const char *s)
{
    size_t len = strnlen(buf, size);

    if (len + 1 < size) {
        snprintf(buf + len, size - len, "%s", s);
    }
}

void
port_opt_type_names(char *buf, size_t size)
{
    const struct port_class *class;

    if (!size) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        port_opt_cat(buf, size, i ? ", " : "");
        port_opt_cat(buf, size, class->type);
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
            port_err_set(err, errsize, "%s: option %zu has no %s", name,
                         i, o->key ? "value" : "key");
            return EINVAL;
        }
        def = port_opt_find(table, o->key);
        if (!def) {
            port_opt_names(table, msg, sizeof msg);
            port_err_set(err, errsize, "%s: unknown option %s for type "
                         "%s (expected one of: %s)", name, o->key, type,
                         msg);
            return EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(opts[k].key, o->key)) {
                port_err_set(err, errsize, "%s: option %s: given twice",
                             name, o->key);
                return EINVAL;
            }
        }
        error = port_opt_check(def, o->value, NULL, msg, sizeof msg);
        if (error) {
            port_err_set(err, errsize, "%s: option %s: %s", name, o->key,
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
            port_err_set(err, errsize, "%s: missing required option %s "
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

/* ---- The markdown table (sluiced --list-port-options). ---- */

static void
port_opt_md_value(const struct port_opt_def *d, char *buf, size_t size)
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

int
port_opt_write_markdown(FILE *f)
{
    const struct port_class *class;

    fprintf(f, "| type | option | value | default | description |\n");
    fprintf(f, "|---|---|---|---|---|\n");
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        const struct port_opt_def *table = class_table(class);
        const struct port_class *other;
        char types[256] = "";
        bool seen = false;

        /* Classes that share a table share its rows. */
        for (size_t k = 0; (other = port_class_at(k)) != NULL; k++) {
            if (class_table(other) != table || table == port_opt_none) {
                continue;
            }
            if (k < i) {
                seen = true;
                break;
            }
            port_opt_cat(types, sizeof types, types[0] ? ", `" : "`");
            port_opt_cat(types, sizeof types, other->type);
            port_opt_cat(types, sizeof types, "`");
        }
        if (seen) {
            continue;
        }
        if (!table->name) {
            fprintf(f, "| `%s` | (none) | | | |\n", class->type);
        }
        for (const struct port_opt_def *d = table; d->name; d++) {
            char value[128];

            port_opt_md_value(d, value, sizeof value);
            fprintf(f, "| %s | `%s` | %s | %s | %s |\n", types, d->name,
                    value, d->required ? "required" : d->dflt ? d->dflt : "-",
                    d->doc);
        }
    }
    return ferror(f) ? EIO : 0;
}
