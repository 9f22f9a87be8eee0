/* SPDX-License-Identifier: BSD-3-Clause */
/* ofproto.h: one bridge's OpenFlow-style rule tables, flow mods and xlate. */
#ifndef SLUICE_OFPROTO_H
#define SLUICE_OFPROTO_H 1

/*
 * What
 *   The slow path of one bridge: tables 0..OF_N_TABLES-1 of rules (match,
 *   priority, cookie, timeouts, counters, of_actions), its ports (OpenFlow
 *   port number <-> datapath port number), a MAC learning table for NORMAL,
 *   OpenFlow flow-mod semantics (add, modify[_strict], delete[_strict],
 *   all-or-nothing batches, replace-flows), timeouts, and translation
 *   ("xlate") of one flow into datapath actions plus the wildcard mask of
 *   the fields the result depends on (the megaflow mask).
 *
 *   A new ofproto has one rule, "priority=0,actions=NORMAL" in table 0.
 *
 * Design
 *   Each table is a struct cls (created with defer_free NULL).  xlate starts
 *   with a lookup in table 0 and runs the hit rule's actions on a working
 *   copy of the flow; header changes are committed lazily: just before each
 *   output, every header group whose working value differs from what the
 *   packet carries at that point is emitted as one masked DPA_SET_* (only
 *   the differing bits in the mask).  Fields written by set_field/mod_* are
 *   un-wildcarded (the commit compares them with the packet), as are the
 *   prerequisite fields an action tests.  An action whose prerequisites
 *   the packet lacks (mod_nw_src on ARP or non-IP, mod_tp_dst on ICMP,
 *   rewrites no datapath action can express: ARP fields, ipv6_label, ICMP
 *   type/code...) is skipped and counted.  VLAN push/pop are emitted when
 *   executed; mod_vlan_vid/mod_vlan_pcp (the mod_* spelling) on an untagged
 *   packet push a tag first (set_field:...->vlan_vid does not).  At most two
 *   tags (vlan_tci, vlan_tci2).
 *
 *   Outputs: output:N to the input port is dropped (use in_port); flood and
 *   all go to every port but the input port, in increasing OpenFlow port
 *   order; an output to a port that is not attached is skipped and counted.
 *   NORMAL learns (dl_src, VID) -> in_port (never for multicast sources),
 *   then outputs to the learned port of (dl_dst, VID) if it is known and not
 *   the input port, drops if it is the input port, floods otherwise; it
 *   un-wildcards in_port, dl_src, dl_dst and vlan_tci.  resubmit(port,table)
 *   runs a nested lookup (looked up with in_port 'port' unless port is
 *   IN_PORT, as in Open vSwitch: the rule's actions see the pipeline's own
 *   in_port; a miss does nothing); nesting beyond OFPROTO_MAX_RESUBMIT_DEPTH
 *   or more than OFPROTO_MAX_RESUBMITS resubmits in total drops the packet
 *   (all actions discarded).  goto_table:T continues in table T > current;
 *   a miss in any table reached by goto_table (or in table 0) ends the
 *   pipeline.  dec_ttl on an IP packet with ttl <= 1 stops the whole
 *   pipeline (actions already emitted stay); on non-IP packets it is a
 *   no-op.
 *
 *   controller (and output:CONTROLLER) emits the header changes made so
 *   far, then a DPA_USERSPACE: a packet-in with the rule's table and
 *   cookie, reason "no match" for a table-miss flow (priority 0,
 *   matching everything), else "action".
 *
 *   Connection tracking: ct(...) emits the header changes made so far,
 *   then a datapath ct (zone, commit, mark/label, NAT); with table=T it
 *   adds recirc(ofproto_recirc_id(T)), and translation of that next pass
 *   (flow.recirc_id set, ct_* fields filled by the datapath) starts in
 *   table T.  Lookups later in the same pass keep seeing the ct_* fields
 *   the packet arrived with.  ct_clear zeroes them for the rest of the
 *   pass.
 *
 *   The mask written to 'wc' always includes in_port and recirc_id and is
 *   sound: every packet that agrees with 'flow' on the bits set in 'wc'
 *   translates to the same actions, for the same MAC table contents.
 *
 *   Flow mods follow OpenFlow: ADD replaces a rule with the same table,
 *   match and priority (the new rule starts with fresh counters and
 *   created time); MODIFY changes the actions (and, when the spec has a
 *   cookie without a mask, the cookie) of the selected rules, keeping
 *   counters and timeouts, and does nothing if none is selected; DELETE
 *   removes the selected rules.  Selection: table_id (0xff = all tables),
 *   cookie & cookie_mask, out_port (the rule has an output action to it,
 *   OFPP_NONE = any) and the match: strict = identical match and priority;
 *   non-strict = every rule whose match is at least as specific as the
 *   spec's (the spec's match "covers" the rule), any priority.  A batch is
 *   validated entirely (table ids, goto_table only forward, known writable
 *   set_field fields, push_vlan ethertype, priority 0..65535) and then
 *   applied in order, all or none (rolled back on ENOMEM).
 *
 *   Every change to rules or ports bumps ofproto_generation(); changes of
 *   the MAC table bump ml_generation(ofproto_ml()) instead (and xlate sets
 *   out->learned_changed when its own learning changed it).
 *
 * Thread-safety
 *   The caller (the datapath) serialises every mutating call (flow mods,
 *   replace, expire, port add/del, destroy, set_*) under the write side of
 *   its own rwlock and runs ofproto_xlate(), lookups and dumps under the
 *   read side, from any number of threads at once.  ofproto has no locks of
 *   its own except the MAC table's mutex (mac-learning.h) and the frozen
 *   states' ("Recirculation": taken by translations that recirculate to
 *   or resume from one, so not for packets a cached megaflow answers).  Rule refcounts
 *   and counters are atomic: ofproto_rule_ref/unref/credit/stats may be
 *   called from any thread at any time, with or without the rwlock, on any
 *   rule the caller holds a reference to (also after it left the tables).
 *
 * Ownership
 *   ofproto_create() returns a new ofproto, freed by ofproto_destroy().
 *   Flow-mod specs are borrowed (actions are copied).  A rule in the tables
 *   holds one reference of its own; ofproto_xlate() returns rules with a
 *   reference taken for the caller, released with ofproto_rule_unref(), the
 *   last of which frees the rule.  ofproto_destroy() drops the tables'
 *   references; rules the caller still holds stay valid (for credit/stats
 *   only) until unreffed.  *actions from ofproto_xlate() is new memory the
 *   caller frees with free().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actions.h"
#include "flow.h"
#include "mac-learning.h"
#include "ofp-parse.h"

struct ofproto;
struct ofproto_rule;
struct ml;

#define OFPROTO_MAX_RESUBMIT_DEPTH 64
#define OFPROTO_MAX_RESUBMITS 4096      /* Per xlate, in total. */
#define OFPROTO_MAX_XLATE_RULES 16      /* Rules reported per xlate. */
/* Action set (OpenFlow 1.3, 5.10).  write_actions(...) puts its actions
 * into the packet's action set, one of each kind (a later one replaces an
 * earlier: outputs count as one kind; set_field one per field, up to
 * OFPROTO_ASET_MAX_SETS fields), and clear_actions empties it.  When the
 * pipeline ends (a flow without goto_table, at the outermost level: a
 * resubmit's tables do not end it), the set runs in OpenFlow's order:
 * pop_vlan, push_vlan, dec_ttl, the set_fields, then the group, or else
 * the output.  A ct(table=N) freezes the set written so far for the next
 * pass (see "Recirculation"): it runs when that pass's pipeline ends, not
 * in this one (Open vSwitch 3.1 means to carry it over too, but aborts on
 * an assertion when it does). */
#define OFPROTO_ASET_MAX_SETS 16
#define OFPROTO_MAX_DP_ACTIONS 4096     /* More: the packet is dropped. */

/* ---- Lifecycle. ---- */

/* Returns a new ofproto with the default NORMAL rule and an empty MAC table
 * (default aging ML_DEFAULT_AGING_S, ML_DEFAULT_MAX entries), or NULL on
 * ENOMEM.  'name' is copied (may be NULL). */
struct ofproto *ofproto_create(const char *name);
/* Frees 'ofp' (NULL is a no-op); see Ownership for rules still held. */
void ofproto_destroy(struct ofproto *ofp);
const char *ofproto_name(const struct ofproto *ofp);

/* Bumped by every change to rules or ports. */
uint64_t ofproto_generation(const struct ofproto *ofp);

/* The MAC learning table of NORMAL (for aging via ml_expire(), config and
 * dumps).  Owned by 'ofp'. */
struct ml *ofproto_ml(struct ofproto *ofp);
/* Enables (default) or disables learning in NORMAL (lookups still happen).
 * Writer side. */
void ofproto_set_mac_learning(struct ofproto *ofp, bool enable);

/* Fail-open: while on, translation ignores the tables and every packet
 * (first passes and recirculations alike) is switched by NORMAL; the
 * rules stay as they are.  For an OpenFlow bridge in fail_mode
 * standalone that lost its controllers.  Bumps the generation when it
 * changes.  Writer side. */
void ofproto_set_fail_open(struct ofproto *ofp, bool on);
bool ofproto_get_fail_open(const struct ofproto *ofp);

/* ---- Ports. ---- */

/* Attaches a port: OpenFlow number 'ofport' (1..OFPP_MAX-1 or OFPP_LOCAL),
 * datapath number 'dp_port', 'name' (copied, non-empty, < 64 bytes).
 * Returns 0, EINVAL, EEXIST (ofport, dp_port or name already used) or
 * ENOMEM. */
int ofproto_port_add(struct ofproto *ofp, uint32_t ofport, uint32_t dp_port,
                     const char *name);
/* Detaches 'ofport' and flushes its MAC entries.  Returns 0 or ENOENT.
 * Rules that output to it stay (their outputs are skipped). */
int ofproto_port_del(struct ofproto *ofp, uint32_t ofport);
/* Lookups: return true and set *out when found. */
/* Leaves 'ofport' out of flooding (FLOOD, ALL and NORMAL's floods), or
 * puts it back: a mirror's output port (datapath/mirror.h).  Returns 0 or
 * ENOENT. */
int ofproto_port_set_no_flood(struct ofproto *ofp, uint32_t ofport,
                              bool on);
bool ofproto_port_to_dp(const struct ofproto *ofp, uint32_t ofport,
                        uint32_t *dp_port);

/* Output hooks: an output to a port marked with ofproto_port_set_hooked()
 * is offered to the ofproto's hook first (the header changes made so far
 * already emitted).  The hook either passes (the usual DPA_OUTPUT follows)
 * or translates the output itself, appending datapath actions with
 * ofproto_xctx_emit() and un-wildcarding in 'wc' every bit its decision
 * read.  The datapath's tunnels use it: an output to a tunnel port
 * becomes an encapsulation and the underlay bridge's actions, and an
 * output of a tunnel packet to the host port that holds the endpoint
 * address becomes a decapsulation (datapath/bridge.c).  The hook runs on
 * the reader side, like all of xlate; 'flow' is the packet as it stands.
 * Setting a hook or a port's mark bumps the generation.  The hook
 * (borrowed) must outlive the ofproto or be unset first. */
enum ofproto_hook_result {
    OFPROTO_HOOK_PASS,
    OFPROTO_HOOK_DONE,
};
struct ofproto_xctx;
struct ofproto_xlate_out;
struct ofproto_output_hook {
    enum ofproto_hook_result (*output)(
        const struct ofproto_output_hook *, struct ofproto *ofp,
        uint32_t ofport, uint32_t dp_port, const struct flow *flow,
        struct flow *wc, struct ofproto_xctx *ctx);
};
void ofproto_set_output_hook(struct ofproto *ofp,
                             const struct ofproto_output_hook *hook);
/* Returns 0 or ENOENT. */
int ofproto_port_set_hooked(struct ofproto *ofp, uint32_t ofport, bool on);
/* For a hook: appends an action (zeroed but for its type) and returns it,
 * or NULL when translation stopped (the limit of actions, ENOMEM).  The
 * pointer is valid until the next emit. */
struct dp_action *ofproto_xctx_emit(struct ofproto_xctx *,
                                    enum dp_action_type);
/* The number of actions emitted so far, and the one at 'idx' (NULL when
 * out of range; valid until the next emit). */
size_t ofproto_xctx_n_actions(const struct ofproto_xctx *);
struct dp_action *ofproto_xctx_action(struct ofproto_xctx *, size_t idx);
long long ofproto_xctx_now(const struct ofproto_xctx *);
/* Takes over what a nested translation (of another bridge) reported: its
 * rule references (stolen: 'sub' is left with none), learning and
 * counts. */
void ofproto_xctx_merge(struct ofproto_xctx *,
                        struct ofproto_xlate_out *sub);
/* Counts an output the hook could not translate as skipped. */
void ofproto_xctx_skipped(struct ofproto_xctx *);
/* Marks the translation's result as not to be cached (out->no_cache). */
void ofproto_xctx_no_cache(struct ofproto_xctx *);
bool ofproto_port_from_dp(const struct ofproto *ofp, uint32_t dp_port,
                          uint32_t *ofport);
bool ofproto_port_by_name(const struct ofproto *ofp, const char *name,
                          uint32_t *ofport);
/* Name of 'ofport' (owned by 'ofp', valid until the port is deleted) or
 * NULL. */
const char *ofproto_port_name(const struct ofproto *ofp, uint32_t ofport);
size_t ofproto_n_ports(const struct ofproto *ofp);
/* Calls 'cb' for each port in increasing ofport order. */
void ofproto_port_dump(const struct ofproto *ofp,
                       void (*cb)(uint32_t ofport, uint32_t dp_port,
                                  const char *name, void *aux),
                       void *aux);

/* ---- Flow mods (writer side). ---- */

/* Applies one flow mod; same as a batch of one.  OFFC_MATCH is EINVAL. */
int ofproto_flow_mod(struct ofproto *ofp, const struct of_flow_spec *spec,
                     enum of_flow_cmd cmd, long long now_ms, char *err,
                     size_t errsize);
/* Validates all 'n' flow mods, then applies them in order, all or none.
 * Returns 0, EINVAL (invalid spec; message in 'err' names its index, which
 * is 0-based, e.g. "flow 3: goto_table:1 must be after table 2") or ENOMEM;
 * on error nothing changed.  'err' may be NULL. */
int ofproto_flow_mod_batch(struct ofproto *ofp,
                           const struct of_flow_spec *specs,
                           const enum of_flow_cmd *cmds, size_t n,
                           long long now_ms, char *err, size_t errsize);
/* Makes the tables hold exactly the rules of 'specs' (ADD specs; later
 * duplicates of a table+match+priority win).  Rules that already exist with
 * the same table, match, priority, cookie, timeouts and actions are kept as
 * they are (counters, created time); others are added fresh; the rest are
 * deleted.  All or nothing, like a batch.  Returns 0, EINVAL or ENOMEM. */
int ofproto_replace_flows(struct ofproto *ofp,
                          const struct of_flow_spec *specs, size_t n,
                          long long now_ms, char *err, size_t errsize);
/* Removal reports: for each rule added with send_flow_rem that leaves
 * the tables because it expired (hard before idle when both are due) or
 * a delete flow mod selected it (not when an add replaces it, or
 * replace_flows drops it), 'cb' gets its final information (counters as
 * credited so far) and the reason, on the writer side, once the change is
 * committed.  NULL: none. */
enum ofproto_removed_reason {
    OFPROTO_REMOVED_IDLE,       /* = OFPRR_IDLE_TIMEOUT */
    OFPROTO_REMOVED_HARD,       /* = OFPRR_HARD_TIMEOUT */
    OFPROTO_REMOVED_DELETE,     /* = OFPRR_DELETE */
    OFPROTO_REMOVED_GROUP_DELETE,   /* = OFPRR_GROUP_DELETE */
    OFPROTO_REMOVED_METER_DELETE,   /* = OFPRR_METER_DELETE (1.4) */
};
struct ofproto_rule_info;
void ofproto_set_removed_cb(struct ofproto *ofp,
                            void (*cb)(const struct ofproto_rule_info *,
                                       enum ofproto_removed_reason,
                                       void *aux),
                            void *aux);

/* Removes every rule that is past its hard_timeout (now >= created +
 * hard) or idle timeout (now >= used + idle, where used is the creation
 * time or the last credit that carried packets).  Returns how many. */
size_t ofproto_expire(struct ofproto *ofp, long long now_ms);
/* Earliest time at which ofproto_expire() could remove something, or
 * LLONG_MAX when no rule has a timeout.  (Credits may postpone it.) */
/* True if a rule of 'ofp' has an idle or hard timeout. */
bool ofproto_has_timeouts(const struct ofproto *ofp);
long long ofproto_next_expiry(const struct ofproto *ofp);

/* True if adding 'spec' would replace a rule (same table, match and
 * priority): the caller pulls the datapath's counts first, which the new
 * rule takes over. */
bool ofproto_add_replaces(const struct ofproto *ofp,
                          const struct of_flow_spec *spec);

/* How many rules a modify or delete spec selects (strict or not): what
 * ofproto_flow_mod() of it would change.  Unsorted, so cheaper than a
 * dump.  0 when out of memory. */
size_t ofproto_n_selected(struct ofproto *ofp,
                          const struct of_flow_spec *spec, bool strict);

/* True if a rule a modify or delete spec selects (strict or not) has
 * send_flow_rem, so that its deletion reports its counters (also true
 * when out of memory: the caller then pulls them anyway). */
bool ofproto_selects_reported(struct ofproto *ofp,
                              const struct of_flow_spec *spec, bool strict);

/* Number of rules in all tables / in 'table_id'. */
size_t ofproto_n_rules(const struct ofproto *ofp);
size_t ofproto_table_n_rules(const struct ofproto *ofp, uint8_t table_id);

/* ---- Groups (writer side, but the dump). ----
 *
 * OpenFlow groups, as ovs-ofctl add-group writes them (ofp-parse.h):
 * all (every bucket), select (one bucket by a hash of the packet's
 * Ethernet and IP addresses, IP protocol and TCP/UDP/SCTP ports, in
 * proportion to the buckets' weights, among the buckets whose watch port
 * (if any) is live; only the hashed fields are un-wildcarded), indirect
 * (its one bucket) and ff, fast failover (the first bucket whose watch
 * port is live).  A bucket's actions see the packet as the group found
 * it; their changes do not reach the actions after the group.  A group
 * action counts as a resubmit for the nesting limits.  Groups may use
 * other groups, but no group may lead back to itself (ELOOP, checked
 * when a group is added or modified); watch_group is refused.
 *
 * Counters: translation reports each group a packet reaches, and each
 * bucket whose actions run, among the hits of ofproto_xlate_out; the
 * datapath credits them with its megaflows' packets and bytes
 * (ofproto_group_dump() reads them).
 *
 * ofproto_group_mod(): OFGC_ADD (EEXIST if the id is taken), OFGC_MODIFY
 * (ENOENT if not), OFGC_DELETE (id OFG_ALL: every group; a missing group
 * is no error; a group another group uses is refused with EBUSY): the
 * flows that use a deleted group are deleted with it (reported with
 * OFPROTO_REMOVED_GROUP_DELETE).  Returns 0, EINVAL, ELOOP, ENOENT (a
 * bucket uses a missing group), EEXIST, EBUSY or ENOMEM with 'err'
 * filled.  A flow whose actions use a missing group is refused
 * with ENOENT.  Every change bumps the generation.
 *
 * Port liveness (for select and ff): every port is live until
 * ofproto_port_set_live() says otherwise (the bridge follows the
 * links). */
enum of_group_cmd {
    OFGC_ADD,
    OFGC_MODIFY,
    OFGC_DELETE,
};
int ofproto_group_mod(struct ofproto *ofp, enum of_group_cmd cmd,
                      const struct of_group_spec *spec, long long now_ms,
                      char *err, size_t errsize);
bool ofproto_group_exists(const struct ofproto *ofp, uint32_t id);
size_t ofproto_n_groups(const struct ofproto *ofp);
int ofproto_port_set_live(struct ofproto *ofp, uint32_t ofport, bool live);
struct ofproto_group_info {
    struct of_group_spec spec;  /* Borrowed: valid during the callback. */
    long long created_ms;
    uint32_t ref_count;         /* Flows using the group. */
    /* What the datapath has credited (megaflows translated through the
     * group, as of their last stats pull): packets that reached the group
     * (kept across a modify), and per bucket (spec.n_buckets of them)
     * packets its actions ran on (starting again when a modify replaced
     * the buckets). */
    uint64_t packets, bytes;
    uint64_t bucket_packets[OFG_MAX_BUCKETS];
    uint64_t bucket_bytes[OFG_MAX_BUCKETS];
};
/* Calls 'cb' for group 'id' (OFG_ALL: every group, in id order). */
void ofproto_group_dump(const struct ofproto *ofp, uint32_t id,
                        void (*cb)(const struct ofproto_group_info *,
                                   void *),
                        void *aux);

/* ---- Meters (writer side, but the dump). ----
 *
 * OpenFlow meters, as ovs-ofctl add-meter writes them (ofp-parse.h).
 * ofproto keeps their configuration: a flow's meter:N (its first action,
 * OpenFlow's meter instruction) must name one (else ENXIO), and deleting
 * a meter deletes its flows (OFPROTO_REMOVED_METER_DELETE).  Translation
 * emits DPA_METER; the datapath meters (dp.h "Meters"), and the bridge
 * keeps the two in step.  ofproto_meter_mod() takes OFGC_ADD (EEXIST),
 * OFGC_MODIFY (ENOENT), OFGC_DELETE (OFM_ALL: every meter; a missing one
 * is no error); EINVAL for a bad id, no band or more than OFM_MAX_BANDS,
 * both or neither of kbps and pktps, a band without a rate. */
int ofproto_meter_mod(struct ofproto *ofp, enum of_group_cmd cmd,
                      const struct of_meter_spec *spec, long long now_ms,
                      char *err, size_t errsize);
const struct of_meter_spec *ofproto_meter_get(const struct ofproto *ofp,
                                              uint32_t id);
size_t ofproto_n_meters(const struct ofproto *ofp);
struct ofproto_meter_info {
    const struct of_meter_spec *spec;
    long long created_ms;
    uint32_t flow_count;
};
void ofproto_meter_dump(const struct ofproto *ofp, uint32_t id,
                        void (*cb)(const struct ofproto_meter_info *, void *),
                        void *aux);

/* ---- Dump (reader side). ---- */

struct ofproto_rule_info {
    uint8_t table_id;
    int32_t priority;
    bool send_flow_rem;
    bool reset_counts;          /* Added with reset_counts. */
    uint64_t cookie;
    uint16_t idle_timeout, hard_timeout;
    long long created_ms;
    long long used_ms;          /* created_ms if never credited packets. */
    uint64_t n_packets, n_bytes;
    const struct of_match *match;       /* &match_buf. */
    struct of_match match_buf;
    const struct of_actions *actions;   /* Borrowed; never NULL. */
    struct ofproto_rule *rule;          /* Borrowed; ref it to keep it. */
};

/* Calls 'cb' for each rule selected by 'filter' (non-strict: table_id,
 * cookie/cookie_mask, out_port and a covering match; NULL = every rule),
 * ordered by table, then priority descending, then creation order.
 * 'cb' must not mutate 'ofp'. */
void ofproto_dump(struct ofproto *ofp, const struct of_flow_spec *filter,
                  void (*cb)(const struct ofproto_rule_info *, void *aux),
                  void *aux);

/* The rules ofproto_dump() would visit, in its order, each with a
 * reference for the caller to drop (ofproto_rule_unref()), in a new array
 * '*rules' (caller frees).  For dumps that outlive one call (a streamed
 * reply): a rule deleted meanwhile stays readable and reports
 * ofproto_rule_is_live() false.  Returns 0 or ENOMEM. */
int ofproto_dump_rules(struct ofproto *ofp, const struct of_flow_spec *filter,
                       struct ofproto_rule ***rules, size_t *n);
/* Fills 'info' for 'rule'.  Its match and actions are borrowed: valid
 * while the caller holds a reference and no flow mod runs (writer side). */
void ofproto_rule_get_info(const struct ofproto_rule *rule,
                           struct ofproto_rule_info *info);

/* ---- Rules: references and counters (any thread). ---- */

/* What ofproto_xlate_out reports, rules and counters alike, as 'void *'
 * (the datapath's references): credits 'hit' with 'packets' and 'bytes'
 * (a rule's used time too), and drops a reference. */
void ofproto_hit_credit(void *hit, uint64_t packets, uint64_t bytes,
                        long long used_ms);
void ofproto_hit_unref(void *hit);

void ofproto_rule_ref(struct ofproto_rule *rule);
/* Drops a reference; the last one frees the rule.  NULL is a no-op. */
void ofproto_rule_unref(struct ofproto_rule *rule);
/* Adds to the rule's counters; if packets > 0, used time becomes
 * max(used, used_ms).  Atomic. */
void ofproto_rule_credit(struct ofproto_rule *rule, uint64_t packets,
                         uint64_t bytes, long long used_ms);
void ofproto_rule_stats(const struct ofproto_rule *rule, uint64_t *packets,
                        uint64_t *bytes, long long *used_ms);
uint8_t ofproto_rule_table(const struct ofproto_rule *rule);
int32_t ofproto_rule_priority(const struct ofproto_rule *rule);
/* False once the rule was deleted, replaced or expired. */
bool ofproto_rule_is_live(const struct ofproto_rule *rule);

/* The tun_metadata slots (bit i: tun_metadata<i>) the rules match or
 * set, and the groups' buckets set (ofp-parse.h of_tlv_slots_used()).
 * Writer side. */
uint8_t ofproto_tlv_slots_used(const struct ofproto *ofp);

/* ---- Translation (reader side; concurrent calls are fine). ---- */

/* Recirculation.  ct(table=T) ends a pass with recirc(ID); the datapath
 * looks the packet up again with flow.recirc_id = ID (and its ct_* fields
 * filled), and translation of that pass starts in table T instead of
 * table 0.  What a pass resumes with besides (in_port, the ct fields, the
 * headers as rewritten) is in the packet and its key, and the bridge is
 * the input port's.  Every megaflow matches recirc_id exactly, so passes
 * never share one.
 *
 * The registers and the OpenFlow metadata are the pipeline's, not the
 * packet's, and carry over as in Open vSwitch:
 *   - a pass whose registers and metadata are all zero recirculates with
 *     ofproto_recirc_id(T): the id names only the table;
 *   - otherwise the pass freezes them: the ofproto keeps one frozen state
 *     per distinct (T, registers, metadata), named by an id >=
 *     OFPROTO_FROZEN_ID_MIN, and the next pass starts with them.  The
 *     translation that made or found it reports it among its counters
 *     (ofproto_xlate_out), so the megaflow that recirculates to it holds
 *     a reference for as long as it lives (ofproto_hit_credit() does
 *     nothing for it; ofproto_hit_unref() releases it).
 *   - ofproto_recirc_sweep() drops a state once no result holds it and no
 *     translation used it for a whole OFPROTO_FROZEN_SWEEP_MS, so a
 *     packet on its way to it (a not-cached result releases its
 *     reference right after running) still finds it.  A result holds
 *     each state once, however many ct(table=T) name it; a full result
 *     lets a counter, or else a rule, go rather than a state.  Ids count up and
 *     are not given again while in use: a pass with an id no state has
 *     is dropped (bad_recirc_id).
 *   - At most OFPROTO_MAX_FROZEN states: a translation that would need
 *     another drops the packet (recirc_refused; counted in
 *     ofproto_recirc_stats()).
 * A frozen state also holds, when the pass had changed them from the
 * packet's: the in_port (a load or set_field of in_port; resubmit(PORT,T)
 * changes it for its lookup only, as in Open vSwitch), the tunnel metadata
 * (a set_field of tun_id, tun_metadata and the like; they have no
 * datapath action), and the action set, by value, which moves to the next
 * pass: the set written before the ct(table=T) runs once, when the next
 * pass's pipeline ends, merged with what it writes; this pass's pipeline
 * runs only what is written after the ct.  The next pass's megaflows
 * match the packet's own in_port and tunnel fields, a frozen state's
 * never. */
#define OFPROTO_FROZEN_ID_MIN 0x1000u
#define OFPROTO_MAX_FROZEN (1u << 18)
#define OFPROTO_FROZEN_SWEEP_MS 1000
static inline uint32_t
ofproto_recirc_id(uint8_t table)
{
    return (uint32_t) table + 1;
}
/* The table a pass with 'recirc_id' (nonzero) resumes in when the id names
 * only a table; >= OF_N_TABLES when it does not (a frozen state's, or
 * none). */
static inline uint32_t
ofproto_recirc_table(uint32_t recirc_id)
{
    return recirc_id - 1;
}
_Static_assert(OFPROTO_FROZEN_ID_MIN > OF_N_TABLES,
               "frozen ids above the table ids");

/* Drops the frozen states nothing has held or used since the last sweep
 * that found them so (at most one sweep per OFPROTO_FROZEN_SWEEP_MS: a
 * call sooner does nothing).  Returns how many went.  Any thread, either
 * side of the caller's lock. */
size_t ofproto_recirc_sweep(struct ofproto *ofp, long long now_ms);

struct ofproto_recirc_stats {
    size_t states;              /* Frozen states now. */
    size_t buckets;             /* Of each of their two maps: they grow
                                 * with the states, and a sweep that
                                 * leaves them under 1/8 full quarters
                                 * them. */
    uint64_t refused;           /* Translations refused for lack of one. */
};
void ofproto_recirc_stats(const struct ofproto *ofp,
                          struct ofproto_recirc_stats *);

struct ofproto_xlate_out {
    /* Rules hit, in order, each with a reference for the caller. */
    struct ofproto_rule *rules[OFPROTO_MAX_XLATE_RULES];
    size_t n_rules;
    /* Groups and buckets hit (their counters), each with a reference for
     * the caller: ofproto_hit_credit(), ofproto_hit_unref().  Rules and
     * counters together are at most OFPROTO_MAX_XLATE_RULES. */
    void *counters[OFPROTO_MAX_XLATE_RULES];
    size_t n_counters;          /* A rule hit when all are taken replaces
                                 * the last counter. */
    bool rules_truncated;       /* More than OFPROTO_MAX_XLATE_RULES hit
                                 * (rules and counters): some go
                                 * uncredited. */

    bool learned_changed;       /* NORMAL changed the MAC table. */
    bool table_miss;            /* Table 0 or a goto_table target missed. */
    bool resubmit_limit;        /* Too deep / too many: packet dropped. */
    bool too_many_actions;      /* > OFPROTO_MAX_DP_ACTIONS: dropped. */
    bool bad_recirc_id;         /* A pass with an unknown recirc_id. */
    bool recirc_refused;        /* No frozen state to be had: dropped. */
    uint32_t dec_ttl_drop;      /* 1 if dec_ttl stopped the pipeline. */
    uint32_t n_unknown_port;    /* Outputs to unattached/unsupported ports
                                 * (CONTROLLER, TABLE) skipped. */
    uint32_t n_in_port_drop;    /* Outputs to the input port dropped. */
    uint32_t n_skipped;         /* Actions skipped: missing prerequisites
                                 * or no datapath equivalent. */
    bool no_cache;              /* An output hook's result rests on state
                                 * that changes without notice: do not
                                 * cache it (ofproto_xctx_no_cache()). */
    bool key_lookups;           /* Every table lookup used the flow as
                                 * given (no action had changed a field
                                 * before it) and no output hook ran (it
                                 * may translate in another bridge).  Then
                                 * a change of this bridge's rules can only
                                 * change the result for flows that match
                                 * a changed rule: one whose match is
                                 * disjoint from the result's wildcards
                                 * and the flow leaves it as it is. */
};

/* Translates 'flow' (in_port = OpenFlow port) into *actions (new memory,
 * caller frees; an empty list = drop) and writes into 'wc' (overwritten)
 * the mask of every bit the result depends on.  Fills 'out' (overwritten).
 * 'now_ms' is used for MAC learning.  Returns 0, or ENOMEM (*actions NULL,
 * no references held in 'out'). */
int ofproto_xlate(struct ofproto *ofp, const struct flow *flow,
                  struct flow *wc, struct dp_actions **actions,
                  struct ofproto_xlate_out *out, long long now_ms);
/* The same, without an allocation when the result fits the caller's
 * buffer: 'stub' (room for 'stub_cap' actions; NULL or 0: none) is used
 * for the list first, so *actions is either 'stub' or new memory (when it
 * outgrew the stub).  Free it with ofproto_xlate_actions_free(), which
 * frees only the latter. */
int ofproto_xlate_stub(struct ofproto *ofp, const struct flow *flow,
                       struct flow *wc, struct dp_actions *stub,
                       size_t stub_cap, struct dp_actions **actions,
                       struct ofproto_xlate_out *out, long long now_ms);
/* ofproto_xlate_stub() that never changes the MAC table (NORMAL looks it
 * up but does not learn): for re-translating cached results, which may run
 * concurrently with translations that do learn. */
int ofproto_xlate_stub_nolearn(struct ofproto *ofp, const struct flow *flow,
                               struct flow *wc, struct dp_actions *stub,
                               size_t stub_cap, struct dp_actions **actions,
                               struct ofproto_xlate_out *out,
                               long long now_ms);
void ofproto_xlate_actions_free(struct dp_actions *actions,
                                const struct dp_actions *stub);
/* A PACKET_OUT: translates the action list 'acts' (not a table lookup)
 * for the packet 'flow' (in_port = its OpenFlow input port, or
 * OFPP_CONTROLLER/OFPP_LOCAL).  output:TABLE runs the pipeline from table
 * 0.  *actions is new memory (free()); 'out' as for ofproto_xlate(). */
int ofproto_xlate_packet_out(struct ofproto *ofp, const struct flow *flow,
                             const struct of_actions *acts,
                             struct dp_actions **actions,
                             struct ofproto_xlate_out *out, long long now_ms);
/* Unrefs every rule in 'out' and sets n_rules to 0. */
void ofproto_xlate_out_uninit(struct ofproto_xlate_out *out);

#endif /* ofproto.h */
