/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-mirror.h: control-socket methods of port mirroring. */
#ifndef SLUICE_CTL_MIRROR_H
#define SLUICE_CTL_MIRROR_H 1

/*
 * What
 *   add-mirror (a mirror of a bridge: its selection and output port, the
 *   same object as a "mirrors" entry of the config), del-mirror, and
 *   dump-mirrors (each mirror with whether it is active and what it
 *   copied).  docs/control-protocol.md has the params; mirror.h the
 *   mechanism.
 *
 * Thread-safety
 *   Main thread.
 *
 * Ownership
 *   'sw' is borrowed and outlives the registration.
 */

struct ctl_server;
struct sw;

int ctl_mirror_register(struct ctl_server *, struct sw *);

#endif /* ctl-mirror.h */
