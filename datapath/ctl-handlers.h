/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-handlers.h: the daemon's control-socket methods. */
#ifndef SLUICE_CTL_HANDLERS_H
#define SLUICE_CTL_HANDLERS_H 1

/*
 * What
 *   Registers every method of docs/control-protocol.md on a ctl server.
 *
 * Design
 *   Handlers only check params, call the sw_* / dp_* functions everything
 *   else uses, and format results; they hold no state of their own.
 *
 * Thread-safety
 *   Main thread (handlers run on the ctl server's event loop).
 *
 * Ownership
 *   'sw' is borrowed and must outlive the server.
 */

#include <stddef.h>

#include <jansson.h>

struct bridge;
struct ctl_server;
struct sw;

/* Returns 0 or an errno from ctl_register(). */
int ctl_handlers_register(struct ctl_server *server, struct sw *sw);

/* params.bridge (required): the bridge of that name, or ENOENT / a param
 * error with 'err' filled.  For handlers of other ctl-*.c files. */
int ctl_get_bridge(struct sw *sw, json_t *params, struct bridge **brp,
                   char *err, size_t errsize);

/* Resident set size of this process in KiB, or -1 (resources, metrics). */
long long ctl_rss_kib(void);

#endif /* ctl-handlers.h */
