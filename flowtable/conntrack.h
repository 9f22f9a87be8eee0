/* SPDX-License-Identifier: BSD-3-Clause */
/* conntrack.h: userspace connection tracker (Open vSwitch ct() semantics). */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H 1

/*
 * What
 *   The connection tracker behind the ct() action: for each packet it finds
 *   (or, on commit, creates) the connection the packet belongs to in a zone
 *   and reports ct_state (new/est/rel/rpl/inv/trk), ct_mark, ct_label and
 *   the original-direction tuple, with the same results as Open vSwitch's
 *   userspace conntrack (lib/conntrack*.c, OVS 3.1): TCP tracked by pf's
 *   sequence-window algorithm, UDP and other IP protocols by a
 *   first/multiple/bidirectional state, ICMP and ICMPv6 echo by id, ICMP
 *   errors related to the connection of the header they carry.
 *
 * Design
 *   One hash table of 2^21 chained buckets (16 MiB on transparent huge
 *   pages), keyed by the tuple hash; every connection is in it twice (its
 *   original and its reply tuple), so one lookup finds it from either
 *   direction and says which.  The hash reads a tuple's endpoints in a
 *   fixed order, so both tuples of a connection without NAT share a
 *   bucket: a commit writes the line its lookup brought in, under one
 *   lock.  Buckets are never resized (at 1,000,000
 *   connections a chain holds one entry on average, more beyond): nothing
 *   stalls.  conntrack_execute() works on a batch in stages: it parses and
 *   hashes every packet and prefetches their buckets, then the first
 *   entries, then looks each packet up in order, prefetching a few packets
 *   ahead the lines of the connection it will write, so the cache misses
 *   of a batch overlap instead of following one another.  Readers walk
 *   chains without locks (RCU); insert and remove
 *   take a striped mutex per bucket (both buckets of a connection, in index
 *   order, when NAT puts them apart).  A connection is removed by whoever first claims it (an atomic
 *   flag), so sweep, flush, eviction and re-open never race each other.
 *   Per connection: a read-mostly part (both tuples, zone, mark, label),
 *   a part that TCP writes under a tiny spinlock (peer states, sequence
 *   windows, expiry), and one cache line of counters per direction (the
 *   first thread to count a direction owns its counters and adds with
 *   plain stores, others add atomically beside them; the line also holds
 *   the caller's hint, conntrack_dir_hint()).  The
 *   expiry is refreshed only when it moved by more than min(1 s, 1 % of
 *   the timeout), so established traffic writes almost nothing shared.
 *   Connections that have not been answered (TCP not established, UDP
 *   single, ICMP without reply) sit on a FIFO; when the table is full a
 *   commit evicts the oldest of them, never an established connection.
 *   Expiry is lazy: an expired connection is invisible to lookups and is
 *   removed by conntrack_sweep(), which walks the buckets in slices.
 *
 * Thread-safety
 *   conntrack_execute(): any number of threads concurrently.  Everything
 *   else: one main thread at a time, concurrently with conntrack_execute().
 *   Removed connections are released through 'defer_free' (given at
 *   creation), which must wait for a grace period (RCU) before handing
 *   them back with conntrack_release(); with defer_free NULL they go back
 *   at once (single-threaded use).  Connections come from a pool of 2 MiB
 *   slabs (transparent huge pages) that conntrack_sweep() keeps 65,536
 *   connections ahead of demand, faulted in, so a commit takes neither
 *   malloc nor a page fault; each committing thread takes free ones 32 at
 *   a time, so a commit rarely takes the pool's lock.
 *   The event callback is called from the main thread (sweep, flush) and
 *   from execute threads (eviction, a TCP connection re-opened by a SYN):
 *   it must be thread-safe and must not call back into the tracker.
 *
 * Ownership
 *   The tracker owns its connections; struct ct_conn pointers handed out
 *   in struct ct_md are borrowed until the caller's next quiescent state.
 *   Packets are borrowed for the duration of the call.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"

/* ct_state bits: same values as Open vSwitch. */
#define CS_NEW 0x01
#define CS_ESTABLISHED 0x02
#define CS_RELATED 0x04
#define CS_REPLY_DIR 0x08
#define CS_INVALID 0x10
#define CS_TRACKED 0x20
#define CS_SRC_NAT 0x40
#define CS_DST_NAT 0x80

struct ct_conn;          /* opaque */
struct conntrack;        /* opaque */

/* A connection's tuple in one direction.  Addresses in network order; for
 * IPv4 only the first 4 bytes of src/dst are used, the rest zero.  For
 * ICMP/ICMPv6 echo: src_port = dst_port = the echo id (network order) and
 * icmp_type/icmp_code record the type/code that packets of this direction
 * carry (so the reply tuple has the reply type); otherwise ports are
 * TCP/UDP/SCTP ports (0 for other protocols) and icmp_type/code are 0.
 * No padding: tuples compare with memcmp() once fully initialised. */
struct ct_tuple {
    uint8_t src[16], dst[16];
    uint16_t src_port, dst_port;   /* be16 */
    uint16_t zone;                 /* host order */
    uint8_t nw_proto;
    uint8_t is_ipv6;
    uint8_t icmp_type, icmp_code;
};

/* Per-packet conntrack metadata, carried with the packet from a ct() to the
 * next lookup pass (the datapath copies it into the flow key). */
struct ct_md {
    uint8_t state;            /* CS_* bits; 0 = never tracked */
    uint8_t hw_teardown;      /* Set by a ct(): the packet's connection is
                                 offloaded and the NIC must give it up
                                 (see "Session offload") */
    uint16_t zone;
    uint32_t mark;            /* host order */
    uint8_t label[16];        /* network order (big-endian 128-bit) */
    struct ct_tuple orig;     /* original-direction tuple of the conn (or,
                                 without one, of the packet), valid when
                                 has_orig */
    bool has_orig;
    struct ct_conn *conn;     /* what the last ct() found or created; valid
                                 only until the caller's next quiescent
                                 state (RCU) */
    uint8_t sess;             /* The datapath's own (session offload
                                 trace); the tracker never touches it */
};

/* NAT request of a ct(commit,nat(...)), or of a bare ct(nat) (flags
 * CT_NAT_REVERSE, or any nonzero flags on an existing connection: only
 * reverse what the connection has).  See conntrack_execute(). */
#define CT_NAT_SRC 0x01
#define CT_NAT_DST 0x02
#define CT_NAT_RANDOM 0x04
#define CT_NAT_HASH 0x08
#define CT_NAT_PERSISTENT 0x10
#define CT_NAT_REVERSE 0x20       /* bare "nat": only reverse existing */
struct ct_nat {
    uint8_t flags;                /* 0 = no NAT */
    uint8_t is_ipv6;
    uint8_t addr_min[16], addr_max[16];   /* network order */
    uint16_t port_min, port_max;          /* host order; 0,0 = keep */
};

/* One ct() action as the datapath executes it. */
#define CT_F_COMMIT 0x01
#define CT_F_FORCE 0x02
#define CT_F_SET_MARK 0x04
#define CT_F_SET_LABEL 0x08
struct ct_exec {
    uint16_t zone;
    uint8_t flags;                /* CT_F_* */
    uint32_t mark, mark_mask;     /* host order */
    uint8_t label[16], label_mask[16];
    struct ct_nat nat;
};

/* One packet handed to conntrack_execute(). */
struct ct_pkt {
    uint8_t *data;                 /* frame start (writable: NAT rewrites) */
    uint32_t len;
    struct flow_layers layers;     /* from flow_extract() of data */
    const struct flow *flow;       /* flow_extract() of data */
    struct ct_md *md;              /* in/out */
    bool l4_csum_unchecked;        /* The TCP/UDP checksum is not to be
                                    * verified: verified by the NIC, or
                                    * left to the output device (a guest's
                                    * partial checksum, port.h). */
};

/* Timeouts in seconds.  Defaults are OVS 3.1's default timeout policy
 * (lib/conntrack-tp.c); OVS times "other" protocols with the udp_*
 * values, here they have their own (same defaults).  Which one applies:
 *   tcp_syn_sent     first packet seen (one side opening)
 *   tcp_syn_recv     both sides seen, not both established
 *   tcp_established  both established
 *   tcp_fin_wait     one side closing (FIN sent)
 *   tcp_time_wait    both sides closing, not both acknowledged
 *   tcp_close        both closed (FINs acknowledged) or reset
 *   udp_first        one packet; udp_single more, all one way;
 *   udp_multiple     both ways (other_* likewise)
 *   icmp_first       request only; icmp_reply answered. */
struct ct_timeouts {
    uint32_t tcp_syn_sent;         /* 30 */
    uint32_t tcp_syn_recv;         /* 30 */
    uint32_t tcp_established;      /* 86400 */
    uint32_t tcp_fin_wait;         /* 900 */
    uint32_t tcp_time_wait;        /* 45 */
    uint32_t tcp_close;            /* 30 */
    uint32_t udp_first;            /* 60 */
    uint32_t udp_single;           /* 60 */
    uint32_t udp_multiple;         /* 30 */
    uint32_t icmp_first;           /* 60 */
    uint32_t icmp_reply;           /* 30 */
    uint32_t other_first;          /* 60 */
    uint32_t other_single;         /* 60 */
    uint32_t other_multiple;       /* 30 */
};

/* Hands 'ptr' (a removed connection) back after a grace period: the
 * function must see to it that conntrack_release(ct, ptr) is called once no
 * reader can still use it (not free(): connections live in the tracker's
 * pool). */
typedef void ct_defer_free_fn(void *ptr, void *aux);

/* TCP peer states (OVS's CT_DPIF_TCPS_*, pf's order: comparisons like
 * ">= CT_TCPS_FIN_WAIT_2" are meaningful). */
enum ct_tcp_state {
    CT_TCPS_CLOSED,
    CT_TCPS_LISTEN,
    CT_TCPS_SYN_SENT,
    CT_TCPS_SYN_RECV,
    CT_TCPS_ESTABLISHED,
    CT_TCPS_CLOSE_WAIT,
    CT_TCPS_FIN_WAIT_1,
    CT_TCPS_CLOSING,
    CT_TCPS_LAST_ACK,
    CT_TCPS_FIN_WAIT_2,
    CT_TCPS_TIME_WAIT,
    CT_TCP_N_STATES
};

/* Session-closed record, for events (the datapath logs them and shows them
 * in `sluice-ofctl conntrack-events`). */
enum ct_close_reason { CT_CLOSE_IDLE, CT_CLOSE_FIN, CT_CLOSE_RST,
                       CT_CLOSE_FLUSH, CT_CLOSE_EVICT };
struct ct_conn_info {
    struct ct_tuple orig, reply;   /* reply = the tuple replies carry
                                      (with NAT: translated) */
    uint32_t mark;
    uint8_t label[16];
    const char *proto_state;       /* TCP: the later of the two peer states
                                      ("ESTABLISHED", "SYN_SENT"...); else
                                      "-".  Static string. */
    uint8_t tcp_state_orig, tcp_state_reply; /* enum ct_tcp_state */
    uint64_t packets[2], bytes[2];  /* [0] original, [1] reply direction */
    uint64_t created_ms, last_ms;   /* last packet either way */
    int64_t expires_in_ms;
    bool committed;                 /* always true: only commits create */
    uint8_t nat_flags;              /* CS_SRC_NAT / CS_DST_NAT */
    bool offloaded;                 /* was offloaded to a NIC (its counts
                                       include the NIC's) */
    bool in_hw;                     /* is now */
};
typedef void ct_event_fn(const struct ct_conn_info *, enum ct_close_reason,
                         void *aux);

/* Returns a new tracker (max_conns 3,000,000, default timeouts, checksum
 * validation on), or NULL on allocation failure. */
struct conntrack *conntrack_create(ct_defer_free_fn *defer_free, void *aux);
/* The same with 2^bucket_bits bucket heads (4..26; conntrack_create():
 * 21), for small tables such as the fuzz target's. */
struct conntrack *conntrack_create_sized(ct_defer_free_fn *defer_free,
                                         void *aux, unsigned bucket_bits);
/* Frees 'ct' and every connection in it (no event is reported); NULL is a
 * no-op.  No reader may be left. */
void conntrack_destroy(struct conntrack *);
void conntrack_set_event_cb(struct conntrack *, ct_event_fn *, void *aux);

/* The per-packet path.  Any number of threads concurrently.  For each
 * packet, as OVS's conntrack_execute():
 *   - If md->conn is set, md->state has CS_TRACKED, md->zone ==
 *     exec->zone, CT_F_FORCE is not set and the connection is still in the
 *     table, the packet is not looked up again (OVS process_one_fast):
 *     md->state is kept, only mark/label are applied.
 *   - Else the packet is parsed and looked up in exec->zone and md is
 *     rewritten: state (CS_TRACKED plus new/est/rel/rpl or inv alone),
 *     zone, mark, label, orig, conn.
 *   - CT_F_COMMIT creates the connection of a valid new packet, subject to
 *     the limits: refused (full with nothing to evict, zone limit, no
 *     memory) the packet stays +trk+new without a connection and the
 *     refusal is counted, as OVS does.
 *   - CT_F_FORCE: a connection found in the reply direction is removed and
 *     the packet treated as new (it is committed afresh).
 *   - CT_F_SET_MARK / CT_F_SET_LABEL apply (masked) to the connection and
 *     md when there is a connection.
 * IP fragments, non-IP frames, truncated or malformed headers and bad
 * checksums are +trk+inv (each counted under its drop reason).
 * 'now_ms' is a monotonic clock in milliseconds, the same for every
 * caller.
 *
 * NAT (exec->nat.flags nonzero): a new connection committed with
 * CT_NAT_SRC or CT_NAT_DST (not CT_NAT_REVERSE, same address family) gets
 * a translated reply tuple: SNAT picks the address/port replies go to,
 * DNAT the address/port the original packets are sent to, from the
 * ranges (IPv6: ranges differing only in the last 32 bits; only TCP and
 * UDP ports are translated) in Open vSwitch 3.1's order: SNAT without a
 * port range keeps the source port while free, else takes the next free
 * one up in its class (1-511, 600-1023, 1024-65535); a port range is
 * walked from a hashed start; DNAT whose reply tuple clashes changes the
 * source port likewise (see ct-nat.c); never a reply tuple in use; none
 * free: the commit is refused ("nat_exhausted"), the packet goes on
 * untranslated.  Every packet
 * of a NATed connection that goes through a ct() with NAT flags is
 * rewritten once per zone, its reverse direction un-NATed and ICMP errors
 * about it (embedded header and outer addresses) too, with checksums
 * updated; md->state gets CS_SRC_NAT / CS_DST_NAT (the reply of a SNAT
 * connection: CS_DST_NAT).  Then the frame changed: the caller must
 * re-extract its flow.  RANDOM, HASH and PERSISTENT all pick by hash. */
void conntrack_execute(struct conntrack *, struct ct_pkt *pkts, size_t n,
                       const struct ct_exec *exec, uint64_t now_ms);

/* Main thread: examines up to 'budget' buckets and connections from where
 * the previous call stopped and removes the expired connections found
 * (each reported as CT_CLOSE_IDLE, or CT_CLOSE_FIN / CT_CLOSE_RST when the
 * TCP connection was closed by FINs / a reset), freed through defer_free.
 * Returns 'budget' while the walk has more to do, less than 'budget'
 * (the number examined) when it reached the end of the table (the next
 * call starts over), so a full pass is
 *   while (conntrack_sweep(ct, now, 1024) == 1024) { ... yield ... } */
size_t conntrack_sweep(struct conntrack *, uint64_t now_ms, size_t budget);
/* Returns a connection that went through defer_free to the pool, once no
 * reader can use it any more.  Any thread. */
void conntrack_release(struct conntrack *, void *conn);

/* Flush (main thread): zone NULL = all zones; tuple NULL = all; else the
 * connection whose original or reply tuple equals *tuple (in *zone if
 * nonnull, else in tuple->zone).  Returns the number removed (reported as
 * CT_CLOSE_FLUSH). */
size_t conntrack_flush(struct conntrack *, const uint16_t *zone,
                       const struct ct_tuple *tuple, uint64_t now_ms);

/* Dump (main thread): calls cb for each unexpired connection (zone NULL =
 * all zones), in bucket order. */
void conntrack_dump(struct conntrack *, const uint16_t *zone, uint64_t now_ms,
                    void (*cb)(const struct ct_conn_info *, void *),
                    void *aux);

/* Limits.  Global default 3,000,000 like OVS's ct-set-maxconns; per-zone
 * limit 0 = unlimited.  Lowering a limit removes nothing.
 * conntrack_set_zone_limit returns 0. */
#define CT_DEFAULT_MAX_CONNS 3000000u
void conntrack_set_max_conns(struct conntrack *, uint32_t);
uint32_t conntrack_get_max_conns(const struct conntrack *);
int conntrack_set_zone_limit(struct conntrack *, uint16_t zone, uint32_t);
/* The zone's limit (0 = none) and, in '*count' if nonnull, its count. */
uint32_t conntrack_get_zone_limit(const struct conntrack *, uint16_t zone,
                                  uint32_t *count);
void conntrack_set_timeouts(struct conntrack *, const struct ct_timeouts *);
void conntrack_get_timeouts(const struct conntrack *, struct ct_timeouts *);
/* The defaults. */
void ct_timeouts_default(struct ct_timeouts *);
/* Sets the field called 'name' ("tcp_established", ...: the member names
 * above).  Returns 0 or EINVAL on an unknown name. */
int ct_timeouts_set_by_name(struct ct_timeouts *, const char *name,
                            uint32_t seconds);
/* Software checksum validation of IPv4 headers and TCP/UDP/ICMP/ICMPv6
 * (on by default, as OVS without hardware offload); a datapath whose NIC
 * already verified them may turn it off. */
void conntrack_set_checksum_check(struct conntrack *, bool);

/* Drop reasons: every +inv verdict and every refused commit is counted
 * under exactly one of them. */
#define CT_DROP_REASONS                                                   \
    CT_DROP(FULL, "full")                  /* table full, none evictable */ \
    CT_DROP(ZONE_LIMIT, "zone_limit")      /* zone at its limit */         \
    CT_DROP(INVALID, "invalid")            /* TCP flags/window verdict */  \
    CT_DROP(INVALID_NEW, "invalid_new")    /* can't start a connection */  \
    CT_DROP(FRAGMENT, "fragment")          /* IP fragment */               \
    CT_DROP(MALFORMED, "malformed")        /* truncated / bad header */    \
    CT_DROP(BAD_CSUM, "bad_checksum")      /* L3 or L4 checksum */         \
    CT_DROP(ICMP_UNRELATED, "icmp_unrelated") /* error w/o connection */   \
    CT_DROP(UNSUPPORTED, "unsupported")    /* non-IP, ICMP type, ... */    \
    CT_DROP(NO_MEMORY, "no_memory")        /* allocation failed */         \
    CT_DROP(NAT_EXHAUSTED, "nat_exhausted") /* no free NAT tuple */        \
    CT_DROP(EVICTED_EMBRYONIC, "evicted_embryonic") /* not a drop: an   \
                                              unanswered conn evicted */
enum ct_drop_reason {
#define CT_DROP(ENUM, NAME) CT_DROP_##ENUM,
    CT_DROP_REASONS
#undef CT_DROP
    CT_N_DROP_REASONS
};

/* by_proto indexes. */
enum { CT_PROTO_TCP, CT_PROTO_UDP, CT_PROTO_ICMP, CT_PROTO_OTHER,
       CT_N_PROTOS };

struct ct_stats {
    uint64_t n_conns;                 /* now (including expired not yet
                                         swept) */
    uint64_t by_proto[CT_N_PROTOS];   /* tcp, udp, icmp(+v6), other */
    uint64_t tcp_by_state[CT_TCP_N_STATES]; /* by the later peer state */
    uint64_t created, removed;        /* cumulative (rate = delta/time) */
    uint64_t drops[CT_N_DROP_REASONS];
};
/* Main thread.  tcp_by_state is counted by walking the table (16 MiB of
 * bucket heads, and every TCP connection). */
void conntrack_get_stats(const struct conntrack *, struct ct_stats *);
/* The same without the walk: tcp_by_state all 0.  Any thread. */
void conntrack_get_counters(const struct conntrack *, struct ct_stats *);
const char *ct_drop_reason_name(int);
const char *ct_tcp_state_name(uint8_t);

/* ---- Session offload ----
 *
 * An established TCP or UDP connection may be handed to a NIC: one rule
 * per direction (datapath/offload.h, "Sessions").  The tracker's part:
 *   - conntrack_session_claim() (execute threads): true once per direction
 *     when the packet whose metadata is 'md' is +est (not new, related or
 *     invalid) on a TCP connection whose ends are both ESTABLISHED or on a
 *     UDP connection, and its direction carried at least 'min_packets'
 *     (and the back-off of an earlier unclaim).  The caller then offers
 *     the direction, or unclaims it.
 *   - While offloaded (set_hw(CT_SESSION_HW)) the connection does not
 *     expire in software: the NIC's aging ends it
 *     (conntrack_session_close_idle()), or the manager hands it back
 *     (CT_SESSION_SW: its expiry restarts from then; CT_SESSION_NEVER when
 *     no rule of it was ever installed).  From CT_SESSION_HW until
 *     CT_SESSION_NEVER its TCP windows are followed but not enforced (the
 *     NIC carried segments software never saw): a segment without SYN or
 *     RST is accepted, a RST if it does not go back before what software
 *     last saw of its sender; SYNs and invalid flag combinations are
 *     judged as always.
 *   - A packet software still sees of it flags md->hw_teardown (once) when
 *     it is a valid TCP FIN or RST or its ct() changes the mark or label:
 *     the caller must have the rules removed (software then follows the
 *     close).  conntrack_session_state() says ECANCELED until then.
 *   - conntrack_session_credit() adds the NIC's counts to a direction and
 *     refreshes the expiry from their last use.
 * The main-thread calls find the connection by its original tuple (zone
 * included) and its uid (conntrack_conn_uid(): a re-opened tuple is
 * another connection) and return ENOENT when it is gone. */
enum ct_session_hw { CT_SESSION_NEVER, CT_SESSION_SW, CT_SESSION_HW };
bool conntrack_session_claim(struct ct_conn *, const struct ct_md *md,
                             uint64_t min_packets);
/* Any thread: direction 'reply' may be claimed again once it carried
 * 'backoff' more packets. */
void conntrack_session_unclaim(struct ct_conn *, bool reply,
                               uint64_t backoff);
/* A word per direction of a connection for the caller: 0 at creation,
 * never read by the tracker, read and written atomically by any thread.
 * The datapath keeps there the megaflow that the direction's
 * recirculated pass found (dp-exec.c: recirc_shortcut()).  It sits in the
 * cache line that the direction's packets count themselves in, which a
 * lookup has just brought in. */
uintptr_t conntrack_dir_hint(const struct ct_conn *, bool reply);
void conntrack_dir_hint_set(struct ct_conn *, bool reply, uintptr_t hint);
/* The connection's original tuple and uid ('conn' as in struct ct_md). */
void conntrack_conn_orig(const struct ct_conn *, struct ct_tuple *orig);
uint64_t conntrack_conn_uid(const struct ct_conn *);
/* 0, ENOENT (gone) or ECANCELED (a teardown was asked for). */
int conntrack_session_state(const struct conntrack *,
                            const struct ct_tuple *orig, uint64_t uid);
/* The timeout of the connection's current state. */
int conntrack_session_timeout(const struct conntrack *,
                              const struct ct_tuple *orig, uint64_t uid,
                              uint64_t *timeout_ms);
/* To software, both directions may be claimed again after 'backoff'
 * packets. */
int conntrack_session_set_hw(struct conntrack *, const struct ct_tuple *orig,
                             uint64_t uid, enum ct_session_hw,
                             uint64_t backoff, uint64_t now_ms);
int conntrack_session_unclaim_dir(struct conntrack *,
                                  const struct ct_tuple *orig, uint64_t uid,
                                  bool reply, uint64_t backoff);
int conntrack_session_credit(struct conntrack *, const struct ct_tuple *orig,
                             uint64_t uid, bool reply, uint64_t packets,
                             uint64_t bytes, uint64_t used_ms);
/* Called (from the thread that removes it: main thread or an execute
 * thread) for a connection removed while offloaded, other than by
 * conntrack_session_close_idle(): its rules must leave the NIC.  Must be
 * thread-safe and must not call back into the tracker. */
typedef void ct_offload_gone_fn(const struct ct_tuple *orig, uint64_t uid,
                                void *aux);
void conntrack_set_offload_cb(struct conntrack *, ct_offload_gone_fn *,
                              void *aux);
/* Closes the connection as idle (CT_CLOSE_IDLE, reported with its counts)
 * unless software saw a packet of it after 'hw_last_ms' (EBUSY). */
int conntrack_session_close_idle(struct conntrack *,
                                 const struct ct_tuple *orig, uint64_t uid,
                                 uint64_t hw_last_ms, uint64_t now_ms);

/* Formats like `ovs-appctl dpctl/dump-conntrack` prints one entry, e.g.
 * "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=1234,dport=80),reply=(src=
 * 10.0.0.2,dst=10.0.0.1,sport=80,dport=1234),zone=5,mark=3,protoinfo=(
 * state=ESTABLISHED)" (zone, mark and labels only when nonzero; ICMP as
 * "id=N,type=T,code=C"). */
void ct_conn_info_format(const struct ct_conn_info *, char *buf, size_t);

/* The tuple of the other direction ('out' may be 'in'). */
void ct_tuple_reverse(const struct ct_tuple *in, struct ct_tuple *out);

/* Checks the table's invariants (every connection in the chains of both
 * of its tuples' buckets, counts consistent).  Main thread, no concurrent
 * execute.  Returns 0 or EINVAL (printing what is wrong). */
int conntrack_check(const struct conntrack *);

#endif /* conntrack.h */
