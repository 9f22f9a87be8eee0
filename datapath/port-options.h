/* SPDX-License-Identifier: BSD-3-Clause */
/* port-options.h: what options each port type takes, and their checker. */

#ifndef SLUICE_PORT_OPTIONS_H
#define SLUICE_PORT_OPTIONS_H 1

/*
 * What
 * ----
 * Every port class declares the options it takes in a table of struct
 * port_opt_def (name, type, range, required, default, description),
 * reachable from its struct port_class (port-provider.h, member
 * 'options').  The table is the only description of port options: the
 * config loader (config.c, for the file and for run-time add-port),
 * port_open()/port_set_config() (port.c), `sluiced --check-config` and
 * `sluiced --list-port-options` (the markdown table in
 * docs/control-protocol.md, checked by tests/test-config.c) all read it.
 *
 * Design
 * ------
 * A value is always text ("KEY=VALUE"; the config loader turns JSON
 * integers into decimal text and joins arrays with commas).
 * port_opt_check() is the one place that checks a value's type and range
 * (and calls the table's optional 'check' for what a range cannot say, e.g.
 * "ADDR/PREFIX").  Its message names neither port nor key, so each caller
 * prefixes it with its own key path ("bridges[0].ports[1].mtu: ...",
 * "p1: option mtu: ...").  A provider's set_config() only ever sees
 * options its table lists, each at most once, with values that passed:
 * it reads them with port_opt_get() and port_opt_get_u32() (which also
 * supplies the table's default) without checking again.
 *
 * This header does not include DPDK: the config loader uses it.
 *
 * Thread-safety
 * -------------
 * Tables are constant.  port_opt_table() and the functions that walk the
 * registered classes read the class registry (port.h): main thread, after
 * port_init_classes() and vhost_register_classes().  The others are pure.
 *
 * Ownership
 * ---------
 * Tables and their strings have static storage.  Messages are written
 * into caller buffers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct port_option;

enum port_opt_type {
    PORT_OPT_UINT,      /* Decimal integer in min..max, no sign.  In JSON:
                         * an integer. */
    PORT_OPT_STRING,    /* Text of min..max bytes.  In JSON: a string, or
                         * an integer or boolean taken as its text. */
    PORT_OPT_LIST,      /* min..max comma-separated elements, none empty
                         * ("" is no element).  In JSON: an array of
                         * strings (or one string). */
};

/* One configuration option, "key=value".  Both strings are borrowed for
 * the duration of the call only. */
struct port_option {
    const char *key;
    const char *value;
};

/* What a further check says about one value (one element of a list) that
 * passed the type and range check: true if good, else false with the
 * reason (naming the value, not the key) in 'msg'. */
typedef bool port_opt_check_fn(const char *value, char *msg,
                               size_t msgsize);

struct port_opt_def {
    const char *name;           /* NULL ends the table. */
    enum port_opt_type type;
    bool required;
    uint32_t min, max;          /* Value, bytes or elements (see type). */
    const char *dflt;           /* What applies when the option is absent,
                                 * for people ("1", "the port name");
                                 * NULL if required. */
    const char *doc;            /* One line, markdown, no final period. */
    port_opt_check_fn *check;   /* Optional. */
};

/* Booleans are PORT_OPT_STRING options of 4..5 bytes checked by
 * port_opt_check_bool ("true" or "false"); port_opt_parse_bool() reads
 * one (false if it is neither). */
bool port_opt_check_bool(const char *value, char *msg, size_t msgsize);
bool port_opt_parse_bool(const char *value, bool *b);

/* The entry 'name' of 'table', or NULL. */
const struct port_opt_def *port_opt_find(const struct port_opt_def *table,
                                         const char *name);

/* Writes the option names of 'table', "rxq, mtu, ring_size", or "no
 * options", into 'buf'. */
void port_opt_names(const struct port_opt_def *table, char *buf,
                    size_t size);

/* Checks 'value' against 'def'.  Returns 0, or EINVAL with the reason in
 * 'msg' (e.g. "must be an integer 68..9710 (9711 is out of range)") and,
 * for a list, the index of the offending element in '*bad_elem' (else
 * SIZE_MAX; 'bad_elem' may be NULL). */
int port_opt_check(const struct port_opt_def *def, const char *value,
                   size_t *bad_elem, char *msg, size_t msgsize);

/* Checks a complete option set for port 'name' of type 'type' against
 * 'table': every key known and given once, every value good, every
 * required option present.  Returns 0 or EINVAL with a message that names
 * the port and the key ("p1: option mtu: must be ...", "p1: unknown option
 * frob for type dpdk (expected one of: devargs, rxq, txq, mtu)", "p1:
 * missing required option devargs for type dpdk"). */
int port_opt_validate(const struct port_opt_def *table, const char *name,
                      const char *type, const struct port_option *opts,
                      size_t n_opts, char *err, size_t errsize);

/* Readers for providers' set_config(), for option sets that passed
 * port_opt_validate().
 *
 * port_opt_get(): the value of option 'name' in 'opts', or NULL if absent.
 *
 * port_opt_get_u32(): the value of PORT_OPT_UINT option 'name' of 'table';
 * if absent, the table's default when that is a decimal number, else 0
 * (a provider's "not set"). */
const char *port_opt_get(const struct port_option *opts, size_t n_opts,
                         const char *name);
uint32_t port_opt_get_u32(const struct port_opt_def *table,
                          const struct port_option *opts, size_t n_opts,
                          const char *name);

/* Appends 's' to the NUL-terminated 'buf' of 'size' bytes, truncating. */
void port_opt_cat(char *buf, size_t size, const char *s);

/* Describes the value 'def' takes, for people: "integer 68..9710",
 * "string, 1..15 bytes", "list, 0..16 elements (...)". */
void port_opt_describe(const struct port_opt_def *def, char *buf,
                       size_t size);

#endif /* port-options.h */
