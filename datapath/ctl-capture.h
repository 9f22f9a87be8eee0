/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-capture.h: control-socket methods of packet capture. */
#ifndef SLUICE_CTL_CAPTURE_H
#define SLUICE_CTL_CAPTURE_H 1

/*
 * What
 *   capture-start (a port's received and/or sent packets into a pcapng
 *   file, optionally filtered by a match and bounded by a count),
 *   capture-list (every capture with its figures) and capture-stop (ends
 *   one and gives its final figures).  docs/control-protocol.md has the
 *   params; capture.h the mechanism.
 *
 * Thread-safety
 *   Main thread.
 *
 * Ownership
 *   'sw' is borrowed and outlives the registration.
 */

struct ctl_server;
struct sw;

int ctl_capture_register(struct ctl_server *, struct sw *);

#endif /* ctl-capture.h */
