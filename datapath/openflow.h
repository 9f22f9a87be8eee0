/* SPDX-License-Identifier: BSD-3-Clause */
/* openflow.h: the bridges as OpenFlow 1.3 switches (listeners, controllers). */
#ifndef SLUICE_OPENFLOW_H
#define SLUICE_OPENFLOW_H 1

/*
 * What
 *   Each bridge with an "openflow" config (config.h) listens on its
 *   "listen" targets (ptcp:, punix:) for clients such as ovs-ofctl and
 *   connects to its "controllers" (tcp:, unix:), speaking OpenFlow 1.3.
 *   Flows added over OpenFlow are the bridge's flows, the same as those of
 *   the control socket (bridge.h sw_flow_mods()): revalidation, offload
 *   and state saving apply to both.
 *
 *   Messages handled: HELLO (version bitmap), ERROR, ECHO, FEATURES,
 *   GET_CONFIG/SET_CONFIG, FLOW_MOD (all five commands, cookies and
 *   masks, out_port, timeouts, CHECK_OVERLAP), GROUP_MOD, METER_MOD,
 *   PACKET_OUT, BARRIER,
 *   ROLE_REQUEST (equal/master/slave with generation ids),
 *   GET_ASYNC/SET_ASYNC, and the multipart requests DESC, FLOW, AGGREGATE,
 *   TABLE, PORT_STATS, PORT_DESC, TABLE_FEATURES, GROUP, GROUP_DESC,
 *   GROUP_FEATURES, METER, METER_CONFIG, METER_FEATURES and QUEUE (no
 *   queues).  PACKET_IN is sent for the
 *   datapath's packet-ins (dp.h), PORT_STATUS when a port is added,
 *   removed, or its link changes (and the port's liveness for groups
 *   follows the link).  Everything else (PORT_MOD, TABLE_MOD,
 *   experimenter messages) is answered with an ERROR.  docs/OPENFLOW.md has the details and what is missing.
 *
 * Design
 *   One libevent bufferevent per connection, on the main thread.  Input is
 *   handled in order, a bounded number of messages per turn (the next turn
 *   after the loop's next poll), so one busy peer cannot hold the loop.
 *   Consecutive FLOW_MODs are applied as one batch (one revalidation and
 *   one synchronisation with the PMDs); if the batch is refused, they are
 *   applied one at a time so that each bad one gets its own ERROR and the
 *   good ones take effect, as OpenFlow requires.  A reply that would go
 *   out after them (a BARRIER, a stats request) is produced only after the
 *   batch took effect.
 *
 *   Flow stats replies stream: entries are encoded while the connection's
 *   output is below a watermark, the rest when it drains; input waits
 *   meanwhile.  A peer whose unread output stays above the limit for the
 *   write timeout, or who sends nothing for two inactivity probes (an
 *   ECHO_REQUEST is sent after one), is disconnected.  A malformed
 *   message gets an ERROR; a message whose length field is below 8 ends
 *   the connection (framing is lost).
 *
 *   Controllers: connected with exponential backoff (1 s doubling to
 *   max_backoff_ms) after a failure or a disconnection.  A bridge in
 *   fail_mode standalone whose controllers have all been away for three
 *   inactivity probes (15 s without probes) fails open (ofproto.h
 *   ofproto_set_fail_open(): NORMAL for every packet) until one connects.
 *   FLOW_REMOVED goes to every connection whose async config takes the
 *   reason (bridge.h sw_set_flow_removed_cb()).
 *
 *   Packet-ins: the datapath's eventfd wakes the loop; each is sent to
 *   every connection of its input port's bridge whose async config takes
 *   its reason, unless that connection's output is over the watermark
 *   (then it is dropped and counted).  Flow mods' state saving is delayed
 *   up to 200 ms and coalesced (bridge.h sw_defer_changes()).
 *
 * Thread-safety
 *   Main thread only.
 *
 * Ownership
 *   ofsw_create() returns a new object; ofsw_destroy() closes every
 *   listener and connection and frees it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sw;
struct cfg;
struct ofsw;

/* Sets up OpenFlow for every bridge of 'sw' that has OpenFlow settings
 * (bridge.h bridge_openflow()).  Returns NULL with 'err' filled when a
 * listener cannot be opened. */
struct ofsw *ofsw_create(struct event_base *base, struct sw *sw, char *err,
                         size_t errsize);
/* The control socket's set-openflow and get-openflow (control-protocol.md):
 * a bridge's settings changed at run time (applied at once, its
 * connections starting over, saved with the state) and read back with
 * the connections' state. */
struct ctl_server;
int ofsw_register_methods(struct ofsw *, struct ctl_server *);
void ofsw_destroy(struct ofsw *);

/* Connections right now, for status dumps. */
struct ofsw_conn_info {
    const char *bridge;
    const char *peer;           /* "tcp:127.0.0.1:40000", "unix", or the
                                 * controller target */
    bool is_controller;
    bool connected;             /* HELLO exchanged */
    const char *role;           /* "equal", "master", "slave" */
    uint64_t rx_msgs, tx_msgs;
};
void ofsw_dump(const struct ofsw *,
               void (*cb)(const struct ofsw_conn_info *, void *), void *aux);

#endif /* openflow.h */
