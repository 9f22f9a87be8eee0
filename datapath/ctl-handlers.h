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

struct ctl_server;
struct sw;

/* Returns 0 or an errno from ctl_register(). */
int ctl_handlers_register(struct ctl_server *server, struct sw *sw);

/* Resident set size of this process in KiB, or -1 (resources, metrics). */
long long ctl_rss_kib(void);

#endif /* ctl-handlers.h */
