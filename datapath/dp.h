/* SPDX-License-Identifier: BSD-3-Clause */
/* dp.h: the datapath: ports, PMD threads, flow caches, upcalls. */
#ifndef SLUICE_DP_H
#define SLUICE_DP_H 1

/*
 * What
 *   The fast path of sluice.  A struct dp owns a set of datapath ports
 *   (numbered 0..DP_MAX_PORTS-1) and a set of PMD threads.  Each PMD polls
 *   its share of the ports' receive queues and runs each batch through:
 *   exact-match tier -> megaflow classifier -> upcall, then executes the
 *   megaflow's datapath actions per flow and sends per port.
 *
 * Design
 *   Every PMD has its own exact-match tier and its own megaflow classifier
 *   (struct cls), like Open vSwitch's dpif-netdev: no cache line is shared
 *   between PMDs on the hit path.  The exact-match tier has two caches.
 *   Untagged IPv4 packets without options (the common shape, hkey.h) are
 *   not parsed at all on a hit: their 40-byte header key is read straight
 *   off the frame and looked up in the header-key cache (hkc.h); only on
 *   a miss is the key turned into a struct flow for the classifier.  Every
 *   other packet is parsed in full (flow_extract()) and looked up in the
 *   EMC (emc.h).  Each cache has a gate (exact-gate.h) that skips it while
 *   it does not pay: while it thrashes (more flows than entries), or while
 *   its hits save less megaflow-tier work than its lookups cost (the PMD
 *   times both in one batch in EXACT_GATE_SAMPLE).  A skipped cache costs
 *   neither lookups nor insertions.  A megaflow keeps what a hit touches
 *   (the dead mark, counters, the output port of an output-only action
 *   list) in its first cache line, and packets of output-only megaflows
 *   are queued for their port without being grouped.  A port whose
 *   traffic is all answered by one megaflow that matches only in_port and
 *   only outputs (a "simple" megaflow) skips parsing and lookups
 *   altogether.  The misses of a burst call the
 *   registered upcall function (the slow path: the bridge layer's OpenFlow
 *   tables) under one acquisition of the slow-path read lock, and each
 *   megaflow (mask = the wildcards the slow path reported) is installed
 *   before the lock is released; a later miss of the same burst first
 *   checks the megaflows the burst installed.  Megaflows come from a
 *   per-PMD pool of pre-faulted slabs, so flow setup takes no page faults
 *   on the PMD.  Flow-table changes take the
 *   lock for writing, change the tables, release it, and call
 *   dp_revalidate(): every megaflow cached when the change was made is
 *   translated again and removed if its result changed.  Because an upcall
 *   holds the read lock from translation through installation, every
 *   megaflow translated against the old tables is in a classifier when
 *   the write lock is released, and every later one is translated against
 *   the new tables.  Revalidation takes the read lock only: PMDs keep
 *   making upcalls meanwhile.  It lists each PMD's megaflows under the
 *   PMD's flow mutex, translates them without it, and takes it again only
 *   to remove, a batch at a time; a PMD never waits for the flow mutex
 *   (it tries it, and runs a result it could not cache once, counted in
 *   megaflow_not_installed).  dp_synchronize() then waits one grace
 *   period: after it returns no PMD is still forwarding a packet with a
 *   stale megaflow (correctness rule of DESIGN.md).  A change whose
 *   regions are known (flow mods: dp_revalidate_change()) translates
 *   again only the megaflows it can concern, and a change that reads the
 *   rules' counters (a delete that reports them, a replacing add,
 *   reset_counts) first credits only those (dp_pull_stats_change()).
 *   The walks read the classifier's links and one line of each
 *   megaflow's key; what they cost is in struct dp_reval_stats.
 *
 *   Memory reclamation is quiescent-state based (rte_rcu_qsbr): each PMD
 *   reports a quiescent state at the top of every loop iteration.  A removed
 *   megaflow is marked dead (exact-match hits check the mark), and freed
 *   after two grace periods: after the first, every PMD has seen the
 *   removal and sweeps dead entries from both exact-match caches (and its
 *   simple-megaflow pointers) before its next batch; after the second,
 *   every sweep is done.  Megaflow statistics are kept by the owning
 *   PMD and credited to the slow path's rules by the main thread
 *   (dp_run()), finally when the megaflow is freed.
 *
 *   Recirculation: an action list may end a pass with recirc(N) (after a
 *   ct(), whose result the next pass matches on).  The packet, with its
 *   conntrack metadata (struct ct_md), joins the PMD's recirculation
 *   queue (a copy, when actions follow the recirc); once the burst is
 *   done, the queued packets run through every stage again as batches of
 *   up to DP_BATCH, their keys carrying recirc_id N and the ct_* fields,
 *   so a second pass is a cache hit (EMC, megaflow) like a first one.
 *   Every megaflow matches recirc_id exactly.  At most DP_MAX_RECIRC_DEPTH
 *   passes; beyond, or beyond DP_RECIRC_MAX queued packets, a packet is
 *   dropped and counted.  The connection tracker (conntrack.h) is one
 *   table shared by every PMD; the main thread expires its connections in
 *   slices (dp_run()).
 *
 *   Tunnels (docs/TUNNELS.md): tnl_pop strips a packet's outer headers
 *   and queues the inner packet the same way, its next pass's in_port the
 *   tunnel port that dp_set_tnl_map()'s map selects and its key carrying
 *   the tunnel metadata (recirc_id 0: the tunnel port's bridge starts in
 *   table 0).  tnl_push(header)(actions) encapsulates a copy of each
 *   packet and runs the block's actions (the underlay bridge's) on it.
 *   A queued packet keeps its input port and tunnel metadata from pass to
 *   pass.
 *
 *   A packet that misses every cache is never dropped for want of a cached
 *   flow: if the megaflow cannot be installed (flow limit, memory) the
 *   packet is still executed with the upcall's actions.  Every drop is
 *   counted under a reason of drop.h.
 *
 * Thread-safety
 *   dp_* functions other than the PMD loop are called from the main thread
 *   only.  The upcall callback runs with the slow-path lock held: the read
 *   side on PMD threads, the write side on the main thread (revalidation).
 *   Credit and release run on the main thread without the lock (stats
 *   crediting, megaflow freeing), and also on PMD threads: for an upcall
 *   whose megaflow was not installed (its packet is credited at once,
 *   without the lock), or whose translation failed (release, with the
 *   read side held).  Both must be safe from any thread.
 *
 * Ownership
 *   dp_port_add() steals the struct port; dp_port_del() closes it after a
 *   grace period.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actions.h"
#include "drop.h"
#include "conntrack.h"
#include "flow.h"
#include "tnl.h"

struct dp;
struct port;
struct capture;
struct rte_mempool;

#define DP_MAX_PORTS 256
#define DP_MAX_PMDS 16
#define DP_MAX_REFS 16

/* An upcall: translate 'flow' (in_port = datapath port) for the slow path. */
struct dp_upcall {
    const struct flow *flow;    /* In. */
    bool revalidating;          /* In: re-translation of an installed
                                 * megaflow; the slow path must not change
                                 * state (no MAC learning). */
    struct dp_actions *stub;    /* In: room for 'stub_cap' actions the slow
                                 * path may build the list in (no
                                 * allocation per upcall). */
    size_t stub_cap;
    struct flow wc;             /* Out: bits consulted (zeroed by caller). */
    struct dp_actions *actions; /* Out: 'stub', or new memory owned by the
                                 * datapath after. */
    void *refs[DP_MAX_REFS];    /* Out: references for stats crediting. */
    size_t n_refs;
    bool learned;               /* Out: slow-path state changed (MAC
                                 * learning): revalidate soon. */
    bool no_cache;              /* Out: the result rests on state whose
                                 * change gives no notice (a tunnel's next
                                 * hop being resolved): run it for this
                                 * packet, install no megaflow (and drop
                                 * one being revalidated). */
    const void *scope;          /* Out: whose rules it consulted (the
                                 * bridge); NULL: unknown. */
    bool key_lookups;           /* Out: it consulted only 'scope''s rules,
                                 * each time with the flow as given (no
                                 * field changed first): a rule change
                                 * elsewhere, or one whose match is
                                 * disjoint from the result's wildcarded
                                 * flow, leaves the result as it is (see
                                 * dp_revalidate_change()). */
};

struct dp_callbacks {
    /* Fills 'up'; returns 0 or an errno (the packet is then dropped under
     * DP_DROP_UPCALL_ERROR).  Called with the slow-path lock held. */
    int (*upcall)(struct dp_upcall *up, void *aux);
    /* Adds packets/bytes seen by a megaflow to the references it holds;
     * 'used_ms' is the last time it was hit (0 = never). */
    void (*credit)(void *const *refs, size_t n, uint64_t packets,
                   uint64_t bytes, long long used_ms, void *aux);
    /* Drops the references. */
    void (*release)(void *const *refs, size_t n, void *aux);
};

struct dp_config {
    unsigned n_pmds;
    int pmd_cores[DP_MAX_PMDS];     /* CPU to pin each PMD to; -1 = none. */
    unsigned emc_entries;           /* Power of 2; 0 disables the EMC. */
    unsigned hkc_entries;           /* Power of 2; 0 disables the
                                     * header-key cache. */
    unsigned megaflow_idle_ms;      /* Idle megaflows expire after this. */
    unsigned flow_limit;            /* Max megaflows over all PMDs. */
    unsigned max_masks;             /* Max megaflow masks (subtables) per
                                     * PMD; 0 = no limit.  Guards against
                                     * mask explosion: a megaflow with a new
                                     * mask beyond it is not cached (the
                                     * packet is still executed). */
    unsigned idle_sleep_us;         /* The longest nap of a PMD that
                                     * finds little to do (dp-input.c,
                                     * pmd_next_nap()); 0 = pure busy
                                     * polling. */
};

/* Creates a datapath and starts its PMD threads (they poll nothing until
 * ports are added).  'mp' is the packet mempool (borrowed). */
int dp_create(const struct dp_config *, struct rte_mempool *mp,
              const struct dp_callbacks *, void *aux, struct dp **dpp,
              char *err, size_t errsize);
/* Stops the PMDs, closes every port, frees everything.  NULL ok. */
void dp_destroy(struct dp *);

/* PMDs poll no port until dp_start() (so a whole configuration can be put
 * in place before the first packet is received); ports added later are
 * polled at once.  Returns 0 or ENOMEM. */
int dp_start(struct dp *);

/* Adds 'port' (stolen) and assigns its receive queues to PMDs.  Stores the
 * datapath port number in *port_no. */
int dp_port_add(struct dp *, struct port *port, uint32_t *port_no);
/* Removes a port: PMDs stop polling it, megaflows that output to it must
 * have been revalidated away by the caller; closes it after a grace
 * period. */
int dp_port_del(struct dp *, uint32_t port_no);
/* Applies a pending port reconfiguration (port_needs_reconfigure()): the
 * PMDs stop polling and transmitting on the port, port_reconfigure() runs,
 * and its (possibly changed) receive queues are spread over the PMDs again.
 * Returns port_reconfigure()'s result; the port is polled again either
 * way. */
int dp_port_reconfigure(struct dp *, uint32_t port_no, char *err,
                        size_t errsize);
struct port *dp_port_get(const struct dp *, uint32_t port_no);
struct tnl_map;
/* Publishes 'map' (NULL: none), the tunnel ports a decapsulated packet is
 * delivered to (DPA_TNL_POP), waits for a grace period and frees the map
 * it replaced.  Takes 'map'.  Main thread, without the slow-path write
 * lock. */
void dp_set_tnl_map(struct dp *, struct tnl_map *map);
/* Main thread: the tunnel port the map gives a packet of a 'type' tunnel
 * on UDP port 'udp_port' (be16) with metadata 'md' (tnl_map_lookup()),
 * or UINT32_MAX; and a count that changes with every new map. */
uint32_t dp_tnl_port_lookup(struct dp *, enum tnl_type type,
                            uint16_t udp_port, const struct flow_tnl *md);
uint64_t dp_tnl_map_generation(struct dp *);
struct tnl_tlv_map;
/* Publishes a copy of 'map' (NULL or empty: none), the GENEVE options
 * decapsulation reads into tun_metadata, like dp_set_tnl_map().  Returns
 * 0 or ENOMEM (the old map stays). */
int dp_set_tlv_map(struct dp *, const struct tnl_tlv_map *map);
/* Attaches capture 'c' (capture.h) to a port, or detaches with NULL: the
 * PMDs then offer it every burst the port receives and sends.  After
 * detaching, dp_synchronize() before closing the capture.  Main thread. */
void dp_port_set_capture(struct dp *, uint32_t port_no, struct capture *c);
unsigned dp_n_pmds(const struct dp *);
/* The connection tracker every PMD shares (conntrack.h); the main thread
 * configures, dumps and flushes it. */
struct conntrack *dp_conntrack(const struct dp *);
unsigned dp_pmd_n_txq(const struct dp *);   /* tx queues a port needs. */

/* Slow-path lock (see Design). */
void dp_slow_rdlock(struct dp *);
void dp_slow_wrlock(struct dp *);
void dp_slow_unlock(struct dp *);     /* After dp_slow_rdlock(). */
/* After dp_slow_wrlock(): releases the lock, then completes the hardware
 * removals of the megaflows removed under it (see "Offload hooks"), all
 * in one batch.  Main thread. */
void dp_slow_wrunlock(struct dp *);

/* Re-translates every megaflow and removes the ones whose actions or
 * wildcards changed, then completes their hardware removals (as
 * dp_slow_wrunlock()).  Main thread, holding no slow-path lock (it takes
 * the read lock; see Design).  Returns how many it removed. */
size_t dp_revalidate(struct dp *);

/* What a change of rules touched: the rules of 'scope' (a bridge) whose
 * matches lie within the regions (vals[i], masks[i]) (every changed rule
 * within one of them).  in_port must be wildcarded (rules and megaflows
 * number ports differently). */
struct dp_change {
    const void *scope;
    const struct flow *vals, *masks;
    size_t n;
};
#define DP_CHANGE_MAX 64        /* More regions: dp_revalidate(). */

/* dp_revalidate() after a change of rules that 'chg' describes: a
 * megaflow whose upcall reported key_lookups is kept without being
 * translated again if its scope is another one, or if its key, under its
 * mask, is disjoint from every region (no packet it answers for matches
 * a changed rule, so none gets another answer).  Returns how many it
 * removed; '*skipped' (may be NULL) gets how many it kept untranslated. */
size_t dp_revalidate_change(struct dp *, const struct dp_change *chg,
                            size_t *skipped);
/* What revalidation cost (the main thread's walks of every megaflow after
 * a change of what they were translated from: rules, groups, ports,
 * MAC learning...; Open vSwitch's `upcall/show` dump duration in
 * spirit).  Since the datapath started. */
struct dp_reval_stats {
    uint64_t walks;                 /* Revalidations (each a walk). */
    uint64_t walked;                /* Megaflows they went through. */
    uint64_t translated;            /* ... translated again, */
    uint64_t spared;                /* ... kept untranslated (a change
                                     * that cannot concern them), */
    uint64_t removed;               /* ... removed (their result changed). */
    uint64_t walk_ns;               /* Time in them, in all. */
    uint64_t walk_ns_max;           /* The longest. */
    uint64_t walk_ns_last;
    uint64_t pulls;                 /* Credit walks before a change
                                     * (dp_pull_stats_change(); one that
                                     * could not tell credits all). */
    uint64_t pull_credited;         /* Megaflows they credited. */
    uint64_t pull_ns;               /* Time in them, in all. */
};
void dp_get_reval_stats(const struct dp *, struct dp_reval_stats *);

/* Credits all pending megaflow statistics now (before a dump). */
void dp_pull_stats(struct dp *);
/* dp_pull_stats() for the rules a change is about to concern: credits the
 * megaflows dp_revalidate_change() would translate again (with
 * key_lookups, a megaflow whose key under its mask is disjoint from every
 * region reached no rule of theirs, so it holds no count of theirs), not
 * the others.  A flow mod that deletes, replaces or resets the counters
 * of a few rules then walks the megaflows without crediting 100,000 of
 * them.  NULL 'chg' or too many regions: dp_pull_stats(). */
void dp_pull_stats_change(struct dp *, const struct dp_change *chg);
/* Without the lock: waits until every PMD has finished the batch it was
 * processing (one grace period). */
void dp_synchronize(struct dp *);

/* Periodic main-thread work: credit megaflow stats, expire idle
 * megaflows, revalidate after MAC learning, reclaim memory, re-rank
 * subtables.  Call every few milliseconds; returns the suggested delay in
 * ms until the next call. */
unsigned dp_run(struct dp *, long long now_ms);

/* ---- Offload hooks. ----
 *
 * The offload manager learns here which megaflows are worth pushing into a
 * NIC and when one goes away.  The datapath offers a megaflow once it has
 * carried 'min_packets' packets or 'min_pps' packets per second (checked
 * every 'check_ms'); the manager translates it and installs it in hardware
 * on its own thread.  When a megaflow is removed from the datapath
 * (revalidation after a flow-table change, idle expiry, flush, port
 * removal, shutdown), the hardware rule must be gone before the call that
 * removed it returns (so a deleted OpenFlow rule is gone from hardware
 * before del-flows replies).  The removals of one such call go to the
 * manager as a batch, on the main thread, never while the slow-path write
 * lock is held (PMDs that miss would stall behind the NIC): 'remove' is
 * called for each megaflow with its reason and starts taking its rule out
 * (it must not wait for the NIC); then 'remove_wait' is called once and
 * returns when every rule started is out of the NIC, its last hardware
 * counters folded in with dp_megaflow_hw_stats(), and the megaflows
 * forgotten.  (A manager without 'remove_wait' must finish in 'remove'.)
 * Revalidation happens under the write lock, so its removals complete in
 * dp_slow_wrunlock(); idle expiry and shutdown complete theirs before
 * returning.  Hardware counters are credited to the
 * OpenFlow rules like software hits, and keep the megaflow alive for idle
 * expiry.
 *
 * Partial offload: dp_megaflow_id() gives a megaflow a small nonzero id to
 * use as the rte_flow MARK value; a received packet whose mbuf carries that
 * mark (RTE_MBUF_F_RX_FDIR_ID, hash.fdir.hi) skips the cache lookups and
 * goes straight to the megaflow's actions (on the PMD that owns it). */
struct dp_megaflow;
struct dp_megaflow_info;

/* Why a megaflow left the datapath (hooks.remove). */
enum dp_removal_reason {
    DP_REMOVED_REVALIDATE,      /* Its translation changed (flow-table
                                 * change or MAC learning). */
    DP_REMOVED_IDLE,            /* Not hit for megaflow_idle_ms. */
    DP_REMOVED_SHUTDOWN,        /* dp_destroy(). */
};
const char *dp_removal_reason_name(enum dp_removal_reason);

/* Sessions (conntrack session offload).  A packet of an established
 * connection that went through ct() and one more pass, with two cached
 * megaflows, tells how the whole pipeline treats its direction of the
 * connection: the first pass's megaflow (the one with ct(), and what it
 * rewrote before and with NAT), the second pass's (its actions, which must
 * contain no further ct()).  Once a direction has carried
 * 'session_min_packets' (conntrack_session_claim()), the PMD records its
 * first pass (megaflow, key) and, at its second, queues an offer for the
 * main thread; dp_run() hands it to 'offer_session' while both megaflows
 * are live.  Accepting it ties the session to both megaflows: they are
 * held for the manager ('remove' is called for them when they go, and
 * must take the session's rules out with them).  Declined or not
 * offloadable, the direction is offered again after more packets.
 * 'session_teardown' is called (main thread) for the original tuple of an
 * offloaded connection software saw a FIN or RST of (or whose mark or
 * label a ct() changed, or that the tracker removed): its rules must
 * leave the NIC.  It may only start the removal: after the drain's
 * teardowns, 'remove_wait' is called once. */
struct dp_session_offer {
    struct ct_tuple orig;               /* The connection (zone inside), */
    uint64_t uid;                       /* and its conntrack_conn_uid(). */
    bool reply;                         /* Its direction offered. */
    struct dp_megaflow *mf[2];          /* First and second pass. */
    struct flow key[2];                 /* The packet's key in each. */
    const struct flow *mask[2];         /* The megaflows' masks. */
    const struct dp_actions *actions[2];
};

struct dp_offload_hooks {
    bool (*offer)(struct dp_megaflow *mf, const struct dp_megaflow_info *,
                  void *aux);
    void (*remove)(struct dp_megaflow *mf, enum dp_removal_reason,
                   void *aux);
    void (*remove_wait)(void *aux);     /* Optional (see above). */
    bool (*offer_session)(const struct dp_session_offer *, void *aux);
    void (*session_teardown)(const struct ct_tuple *orig, uint64_t uid,
                             void *aux);
};

struct dp_offload_policy {
    uint64_t min_packets;       /* Offer after this many packets, */
    uint64_t min_pps;           /* or at this rate (0 = off), */
    unsigned check_ms;          /* checked this often (default 100). */
    uint64_t session_min_packets;   /* Sessions: 0 = not offered. */
};

/* Session offers and teardowns the PMDs queued (dp_run() drains them). */
struct dp_session_stats {
    uint64_t offers;            /* Queued by PMDs. */
    uint64_t offered;           /* Handed to offer_session. */
    uint64_t accepted;
    uint64_t not_offloadable;   /* Second pass with ct(), or uncached. */
    uint64_t stale;             /* A megaflow went before the offer. */
    uint64_t queue_full;
    uint64_t teardowns;
    uint64_t drain_nomem;       /* Drains put off: no memory. */
};
void dp_get_session_stats(struct dp *, struct dp_session_stats *);

/* Installs the hooks (main thread; NULL hooks = no offload). */
void dp_set_offload(struct dp *, const struct dp_offload_hooks *,
                    const struct dp_offload_policy *, void *aux);
/* Main thread: adds hardware-forwarded packets to a live megaflow (one
 * the manager was offered, or tied a session to, and has not been told
 * to remove). */
void dp_megaflow_hw_stats(struct dp *, struct dp_megaflow *,
                          uint64_t packets, uint64_t bytes,
                          long long used_ms);
/* Main thread: the megaflow's mark id (allocated on first call), or 0 if
 * none is free. */
uint32_t dp_megaflow_id(struct dp *, struct dp_megaflow *);
/* Main thread: withdraws an accepted offer, as if 'offer' had returned
 * false: the manager no longer holds 'mf' (it gets no 'remove' for it)
 * and the datapath offers it again at a later check if it is still hot.
 * For a manager that accepted 'mf' but had to give the hardware rule up
 * (aged out, evicted, table full) and wants it back later.  Must not be
 * called from inside a hook. */
void dp_megaflow_offload_reset(struct dp *, struct dp_megaflow *);
/* The datapath port a megaflow matches on (its in_port). */
uint32_t dp_megaflow_in_port(const struct dp_megaflow *);

/* Per-stage cycle profile of the PMD loop (off by default; the control
 * socket's pmd-profile turns it on).  While it is on, each PMD reads the
 * TSC at every stage boundary of a busy iteration (about 8 reads per
 * burst) and adds the cycles since the previous read to that stage:
 *   rx        the port's rx burst (polls that returned packets only)
 *   key       header key or parse, and the flow hash
 *   exact     hardware mark and exact-match tier (both caches)
 *   megaflow  the megaflow classifier, for exact-match misses
 *   upcall    the slow path, for megaflow misses
 *   execute   actions: accounting, grouping, rewrites, queueing (and any
 *             tx a full queue forces)
 *   tx        flushing the tx queues at the end of the iteration
 * A port answered by one simple megaflow skips key..upcall.  Cycles per
 * packet of a stage = its cycles / profiled_packets. */
#define DP_STAGES                                                           \
    DP_STAGE(RX, "rx")                                                      \
    DP_STAGE(KEY, "key")                                                    \
    DP_STAGE(EXACT, "exact")                                                \
    DP_STAGE(MEGAFLOW, "megaflow")                                          \
    DP_STAGE(UPCALL, "upcall")                                              \
    DP_STAGE(EXEC, "execute")                                               \
    DP_STAGE(TX, "tx")

enum dp_stage {
#define DP_STAGE(ENUM, NAME) DP_STAGE_##ENUM,
    DP_STAGES
#undef DP_STAGE
    DP_N_STAGES
};

const char *dp_stage_name(enum dp_stage);
/* Turns the stage profile on or off for every PMD (from the next loop
 * iteration); the counters keep their values. */
void dp_set_profile(struct dp *, bool on);
bool dp_get_profile(const struct dp *);

/* How long PMD loop iterations take (polling every queue once, running
 * what arrived, flushing tx; naps excluded): iteration_hist[k] counts
 * iterations that took at most dp_iter_bounds_us[k] microseconds and more
 * than the bound before; the last bucket has no bound (UINT32_MAX).  An
 * iteration is as long as the PMD's queues wait, so the histogram shows
 * stalls: a revalidation, a cache sweep or a preempted thread. */
#define DP_ITER_BUCKETS 12
extern const uint32_t dp_iter_bounds_us[DP_ITER_BUCKETS];

/* Introspection for the control socket. */
struct dp_pmd_stats {
    unsigned pmd;
    int core;
    uint64_t packets;
    uint64_t emc_hits;              /* Exact-match tier, both caches. */
    uint64_t hkc_hits;              /* ... of which header-key cache. */
    uint64_t exact_skipped;         /* Not looked up: the cache's gate
                                     * was closed (exact-gate.h). */
    uint64_t megaflow_hits;
    uint64_t mark_hits;             /* Partial offload: lookups skipped. */
    uint64_t simple_hits;           /* Port answered by one megaflow. */
    uint64_t n_subtables;           /* Megaflow masks (now). */
    uint64_t upcalls;
    uint64_t upcall_failures;       /* Translation failed: the same
                                     * count as drops[UPCALL_ERROR]. */
    uint64_t megaflow_not_installed;/* limit or ENOMEM: executed anyway */
    uint64_t megaflow_busy;         /* ... of which: the PMD's flow mutex
                                     * was held (main thread listing or
                                     * sweeping its megaflows). */
    uint64_t recirculations;        /* Extra passes (after ct()); the
                                     * hits above count every pass. */
    uint64_t recirc_shortcuts;      /* Passes a connection's hint made
                                     * unnecessary (dp-exec.c). */
    uint64_t tnl_ctx_resets;        /* Tunnel contexts ran out: the
                                     * header-key cache was cleared. */
    uint64_t mask_limited;          /* ... of which for max_masks. */
    uint64_t busy_cycles;
    uint64_t idle_cycles;
    uint64_t sleep_cycles;          /* Napping: neither busy nor idle. */
    uint64_t sleeps;
    uint64_t n_megaflows;
    uint64_t drops[DP_N_DROP_REASONS];
    uint64_t stage_cycles[DP_N_STAGES];
    uint64_t profiled_packets;      /* Packets of profiled iterations. */
    uint64_t iteration_hist[DP_ITER_BUCKETS];   /* dp_iter_bounds_us */
    uint64_t iteration_max_cycles;  /* Longest iteration. */
};
void dp_get_pmd_stats(struct dp *, unsigned pmd, struct dp_pmd_stats *);

struct dp_megaflow_info {
    unsigned pmd;
    struct flow flow;               /* Masked key. */
    struct flow mask;
    const struct dp_actions *actions;
    uint64_t packets, bytes;        /* Software hits. */
    uint64_t hw_packets, hw_bytes;  /* Hardware hits (offload). */
    bool offloaded;                 /* The offload manager holds it. */
    struct dp_megaflow *handle;     /* For the offload manager. */
    long long used_ms;              /* 0 = never hit. */
    void *const *refs;              /* The upcall's references (the rules
                                     * that produced it), borrowed. */
    size_t n_refs;
};
/* Calls 'cb' for every live megaflow (main thread; 'info' is valid only
 * during the call). */
void dp_megaflow_dump(struct dp *,
                      void (*cb)(const struct dp_megaflow_info *, void *),
                      void *aux);
/* Megaflows counted against flow_limit: the live ones and the removed
 * ones not yet freed (two grace periods, dp_run()); pmd-stats' n_megaflows
 * counts the live ones only. */
size_t dp_megaflow_count(const struct dp *);

/* Monotonic milliseconds since about process start (never 0). */
long long dp_time_ms(void);

/* ---- Packet-ins and packet-outs (OpenFlow, openflow.h). ----
 *
 * A DPA_USERSPACE action queues a copy of its packet (all of it, up to
 * DP_PKTIN_MAX_LEN bytes: nothing is buffered, so max_len does not
 * truncate) for the main thread: at most DP_PKTIN_QUEUE wait; beyond, the
 * copy is dropped and counted (packet_in_queue_full).  dp_pktin_fd() is
 * readable (an eventfd: read and discard its counter) when some may wait;
 * dp_pktin_recv() takes up to 'max' of them, each new memory the caller
 * frees with free().
 *
 * dp_packet_out() has PMD 0 execute 'acts' (translated by the caller, for
 * input port 'in_port', DP_NO_PORT for none) on a copy of 'frame'
 * between two bursts.  It takes 'acts' (freed by the datapath) when it
 * returns 0; else ENOMEM or ENOBUFS (the queue of DP_PKTOUT_QUEUE is full)
 * and the caller keeps them.  Main thread. */
#define DP_NO_PORT UINT32_MAX
#define DP_PKTIN_QUEUE 4096
#define DP_PKTIN_MAX_LEN 65000      /* Room for the message's headers. */
#define DP_PKTOUT_QUEUE 1024
struct dp_pktin {
    uint32_t in_port;           /* Datapath port the packet came in on. */
    uint16_t total_len;         /* The frame's length. */
    uint16_t len;               /* Bytes in data (<= max_len). */
    uint8_t reason;             /* 0 no match (table-miss flow), 1 action */
    uint8_t table_id;
    uint64_t cookie;
    /* The pipeline's metadata and registers at the controller action, its
     * in_port (OpenFlow: a load or a frozen state may have changed it), the
     * tunnel metadata the packet came with and its conntrack fields then
     * (a ct() earlier in the same actions included); every other field
     * zero. */
    struct flow meta;
    uint8_t data[];
};
int dp_pktin_fd(const struct dp *);
size_t dp_pktin_recv(struct dp *, struct dp_pktin **out, size_t max);
int dp_packet_out(struct dp *, const void *frame, size_t len,
                  uint32_t in_port, struct dp_actions *acts);

/* ---- Meters. ----
 *
 * DPA_METER(id) puts each packet through meter 'id' (ids 1..65535): every
 * band is a token bucket (a generic cell rate algorithm on the TSC, one
 * atomic per band shared by all PMDs: no lock), in bits (kbps) or
 * packets (pktps), its burst the band's burst_size (kb or packets; the
 * rate's second's worth without OFM_F_BURST).  Of the bands the packet
 * exceeds, the one with the highest rate applies: drop (counted as
 * meter_drop), or dscp_remark (the IP DSCP's drop precedence raised by
 * prec_level, AF style, capped at 3).  A missing meter passes packets.
 * Statistics are kept per PMD.  dp_meter_set() replaces a meter (its
 * buckets start full); dp_meter_del() removes one (OFM_ALL: all); both
 * return once no PMD can see the old one.  Main thread. */
#define DP_MAX_METERS 65536         /* Ids 1..DP_MAX_METERS - 1. */
struct of_meter_spec;
int dp_meter_set(struct dp *, const struct of_meter_spec *spec);
void dp_meter_del(struct dp *, uint32_t id);
struct dp_meter_stats {
    uint64_t packets, bytes;
    size_t n_bands;
    uint64_t band_packets[4], band_bytes[4];
};
bool dp_meter_stats(const struct dp *, uint32_t id, struct dp_meter_stats *);

#endif /* dp.h */
