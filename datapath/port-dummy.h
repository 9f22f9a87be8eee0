/* SPDX-License-Identifier: BSD-3-Clause */
/* port-dummy.h: test hooks of the in-memory "dummy" port. */

#ifndef SLUICE_PORT_DUMMY_H
#define SLUICE_PORT_DUMMY_H 1

/*
 * What
 * ----
 * A dummy port (type "dummy", datapath/port-dummy.c) is a port with no
 * device behind it: tests and the control socket (dummy-inject,
 * dummy-capture) put frames into its receive side and take what it
 * transmitted.  Its options are in its class's table (port-options.h).
 *
 * Design
 * ------
 * port_dummy_inject() copies frames into mbufs of the port's mempool and
 * queues them on the rx rings, spread by a hash of the Ethernet (and
 * IPv4) addresses so that a flow keeps to one queue.  What the port
 * transmits waits in one bounded capture ring until port_dummy_capture()
 * drains it; when the ring is full the port refuses the excess (counted as
 * tx_dropped).
 *
 * Thread-safety
 * -------------
 * Both functions are for the main thread; a PMD may poll or transmit on
 * the port meanwhile.
 *
 * Ownership
 * ---------
 * 'port' is borrowed.  Injected frames are copied; a captured frame is
 * lent to the callback for the call only.
 */

#include <stddef.h>

struct port;

/* Copies each of the 'n' frames into an mbuf from the port's mempool and
 * queues it for receive; '*n_queued' (may be NULL) gets the number
 * queued.  Returns 0 if all were queued, EINVAL if 'port' is not a dummy
 * port or a frame is empty or too long for one mbuf, ENOBUFS if the
 * mempool or the rx ring ran out (frames before that are queued). */
int port_dummy_inject(struct port *, const void *const *frames,
                      const size_t *lens, size_t n, size_t *n_queued);

/* Drains the packets the port transmitted, calling 'cb' for each (the
 * frame is valid during the call only), in transmit order per tx queue.
 * '*n' (may be NULL) gets the count.  EINVAL if not a dummy port. */
int port_dummy_capture(struct port *,
                       void (*cb)(const void *frame, size_t len, void *aux),
                       void *aux, size_t *n);

#endif /* port-dummy.h */
