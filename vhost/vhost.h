/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost.h: vhost-user port provider (types vhostuser, vhostuserclient). */

#ifndef SLUICE_VHOST_H
#define SLUICE_VHOST_H 1

/*
 * What
 * ----
 * Ports that connect sluice to virtual machines (QEMU, libvirt) or any
 * vhost-user front end (e.g. DPDK's net_virtio_user), over DPDK's
 * rte_vhost library:
 *
 *   vhostuser        sluice creates and listens on the socket 'path'; the
 *                    front end connects.  A path that exists and is not a
 *                    socket is refused (EEXIST); a stale socket nobody
 *                    listens on is replaced; a live one is EADDRINUSE.
 *   vhostuserclient  the front end owns the socket; sluice connects and
 *                    reconnects by itself whenever the peer goes away and
 *                    comes back.
 *
 * Options: path (required) and queues, described by the classes' option
 * table (port-vhost.c; `sluiced --list-port-options`).
 *
 * Design
 * ------
 * rte_vhost calls back from its own threads (new_device, destroy_device,
 * vring_state_changed, connection events).  Callbacks only record state
 * (the device id, masks of enabled vrings, link) and call
 * port_request_reconfigure(); the main loop then reconfigures the port with
 * no PMD polling it: the number of rx queues follows the guest's enabled
 * transmit rings (highest enabled + 1), the device tx queues are the
 * guest's enabled receive rings.  destroy_device() alone also waits
 * until no PMD is inside an rte_vhost call on the device, because
 * rte_vhost frees the device and unmaps the guest memory when it returns:
 * it publishes "no device" and waits for one datapath grace period
 * (port_env.synchronize; PMDs report quiescent states between loop
 * iterations, and the offload wing's hardware transmit into a vhost port
 * runs inside such an iteration), so the PMDs' rx and tx calls do a plain
 * acquire load per call and no atomic read-modify-write.  A port opened
 * without a datapath (synchronize NULL) falls back to per-queue busy flags
 * (a sequentially consistent store and load per call).  The callback never
 * waits holding a lock a PMD may wait for; port-vhost.c says which.
 *
 * Offloads: sluice does not offer checksum offload, TSO, UFO or ECN to
 * the guest in either direction, so every frame it receives is complete and
 * correct, whatever port it leaves on.
 *
 * Transmit never blocks: up to VHOST_TX_RETRIES enqueue attempts while
 * the guest keeps making room; the rest is freed and counted (ring full, or
 * no guest).  Counters: the generic per-queue rx/tx counters, plus
 * provider counters (port_get_custom_stats()): per queue tx_ring_full,
 * tx_no_guest, guest notifications (from rte_vhost's ring statistics), and
 * link changes.
 *
 * Thread-safety
 * -------------
 * vhost_register_classes(): main thread, once, after the EAL is up.  The
 * provider follows port-provider.h.
 *
 * Ownership
 * ---------
 * A port owns its rte_vhost driver registration (unregistered, and a
 * server socket removed, by port_close()).
 */

/* Registers the "vhostuser" and "vhostuserclient" port classes.  Call right
 * after port_init_classes(). */
void vhost_register_classes(void);

#endif /* vhost.h */
