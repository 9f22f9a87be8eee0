/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-offload.h: control-socket methods of the offload manager. */
#ifndef SLUICE_CTL_OFFLOAD_H
#define SLUICE_CTL_OFFLOAD_H 1

/*
 * What
 *   The offload part of the control socket: offload-show (ports, probed
 *   capabilities, simnic tables), offload-stats (decisions by reason,
 *   occupancy, insert latency, the flow-removed log) and
 *   offload-simnic-set (a simnic's capacity, insertion rate, injected
 *   failures); and the offload fields of a dump-megaflows entry.
 *
 * Design
 *   Handlers only parse and format (ctl.h); they call the manager's
 *   (offload.h) and the simnic model's (simnic.h) public functions.
 *
 * Thread-safety
 *   Main thread (the control socket's event loop).
 *
 * Ownership
 *   'sw' is borrowed and must outlive the server's registration; 'obj' is
 *   borrowed and gains new references.
 */

struct ctl_server;
struct json_t;
struct sw;

/* Registers offload-show, offload-stats and offload-simnic-set on
 * 'server' for switch 'sw'.  Returns 0 or ctl_register()'s errno. */
int ctl_offload_register(struct ctl_server *, struct sw *);
/* Adds "offload", "offload_reason" and "offload_message" to the
 * dump-megaflows entry 'obj' of megaflow 'mf' (a struct dp_megaflow *),
 * if the manager has a record of it. */
void ctl_offload_megaflow_fields(struct sw *, const void *mf,
                                 struct json_t *obj);

#endif /* ctl-offload.h */
