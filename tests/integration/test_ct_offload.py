# SPDX-License-Identifier: BSD-3-Clause
"""Conntrack session offload end to end, with simnic on dummy ports.

A stateful policy (ct() in table 0, commit of new connections from d1,
established traffic both ways) runs between two dummy ports on one
simulated NIC.  Once a connection is established and a direction has
carried "sessions.min_packets" packets in software, the switch installs
one simnic rule per direction (exact 5-tuple and in_port, no SYN/FIN/RST,
NAT rewrites then the output); the tests check that:

- an established TCP connection is then forwarded by the NIC both ways,
  software classifies none of those packets, and dump-conntrack's counts
  (once the manager folded the hardware counters in) are what was sent;
- a FIN still reaches software, is forwarded by it and tears the session
  down; the connection closes in software, tracked liberally (software
  never saw the sequence numbers the NIC carried);
- a session that goes idle ages out of the NIC and its connection is
  closed once, as "idle", with the true counts of both directions;
- SNAT is done by the NIC, byte for byte as software does it, both ways;
- flush-conntrack takes the session's rules out of the NIC;
- without the "sessions" configuration nothing of this happens.

Packets are scapy frames (ctseq's Tcp tracks the sequence numbers).  The
frames a dummy port transmits, by software or by the NIC, are read with
dummy-capture; the NIC's share is the output port's hw_tx_packets
(dump-ports) and simnic's hw_packets (offload-show).

The accessors of the session offload's observability (offload-sessions,
offload-stats "sessions", "offloaded" in dump-conntrack and
conntrack-events) are the small functions under "Accessors".
"""
import time

from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw

from ctseq import IN4, IN6, INSIDE, OUT4, OUT6, OUTSIDE, Tcp, frame
from sltest import Switch

ZONE = 5
NAT_IP = "10.9.9.9"
PORT = {INSIDE: "d1", OUTSIDE: "d2"}
OTHER = {INSIDE: OUTSIDE, OUTSIDE: INSIDE}
# The closing states dump-conntrack may show once a FIN was seen.
CLOSING = ("CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2",
           "TIME_WAIT", "CLOSED")

FLOWS = [
    f"table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone={ZONE})",
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE}),output:2",
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2",
    "table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1",
    "table=1,priority=1,actions=drop",
]

NAT_FLOWS = [
    "table=0,priority=100,ip,ct_state=-trk,"
    f"actions=ct(table=1,zone={ZONE},nat)",
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},nat(src={NAT_IP})),output:2",
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2",
    "table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1",
    "table=1,priority=1,actions=drop",
]

# Megaflow offload (the top-level offload policy) is kept out of the way
# unless a test asks for it: no megaflow is ever hot enough, so the NIC's
# rules are the sessions' alone.
NO_MEGAFLOW_OFFLOAD = 4294967295


def ct_switch(flows=FLOWS, sessions=None, timeouts=None,
              megaflow_min_packets=NO_MEGAFLOW_OFFLOAD):
    """d1 and d2: dummy ports in full offload on simnic nic0.  'sessions':
    the offload section's "sessions" object (None: left out, the default
    policy); 'timeouts': the conntrack section's timeouts (seconds)."""
    full = {"mode": "full", "provider": "simnic", "nic": "nic0"}
    ports = [
        {"name": "d1", "ofport": 1, "type": "dummy", "offload": full},
        {"name": "d2", "ofport": 2, "type": "dummy", "offload": full},
    ]
    # Software megaflows outlive every test's idle periods: a session's
    # rules are tied to the megaflows they were derived from.
    sw = Switch(ports=ports, flows=flows, start=False,
                datapath={"megaflow_idle_ms": 30000})
    off = {"min_packets": megaflow_min_packets, "min_pps": 0,
           "check_ms": 20, "stats_ms": 50}
    if sessions is not None:
        off["sessions"] = sessions
    sw.config["offload"] = off
    if timeouts:
        sw.config["conntrack"] = {"timeouts": timeouts}
    sw.start()
    return sw


def sessions_on(min_packets=8, idle_ms=0):
    return {"enabled": True, "min_packets": min_packets, "idle_ms": idle_ms}


def wait_for(cond, timeout=5.0, what="condition", show=None):
    """cond()'s first true value within 'timeout' seconds; else an
    AssertionError saying what, with show()'s text."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() >= deadline:
            break
        time.sleep(0.02)
    extra = ""
    if show:
        try:
            extra = f"\n{show()}"
        except Exception as e:      # noqa: BLE001 (diagnostics only)
            extra = f"\n(show failed: {e!r})"
    raise AssertionError(f"timed out ({timeout} s) waiting for {what}"
                         + extra)


# ---------------------------------------------------------------------------
# Accessors.  Names of the session offload's control methods and fields are
# only here.

def offload_sessions(sw):
    """offload-sessions: [{"zone", "orig": tuple, "dirs": [{"dir":
    "orig"|"reply", "state": "full"|"queued"|"none", "reason", "in_port",
    "hw_packets", "hw_bytes"}]}]."""
    return sw.call("offload-sessions")["sessions"]


def session_stats(sw):
    """offload-stats "sessions": offered, installed, in_hw, torn_down,
    aged, closed_idle, failed."""
    return sw.call("offload-stats")["sessions"]


def conn_offloaded(c):
    """A dump-conntrack entry's "offloaded"."""
    return c["offloaded"]


def event_offloaded(e):
    """A conntrack-events record's "offloaded"."""
    return e["offloaded"]


def has_method(sw, name):
    return name in sw.call("list-methods")


def total(v):
    """A counter that may be a number or an object of counters by
    reason."""
    return sum(v.values()) if isinstance(v, dict) else v


# ---------------------------------------------------------------------------
# Switch state.

def nic(sw, name="nic0"):
    return [n for n in sw.call("offload-show")["simnics"]
            if n["name"] == name][0]


def hw_tx(sw, port):
    """Packets the NIC transmitted on 'port' (dump-ports hw_tx_packets)."""
    return [p for p in sw.call("dump-ports", bridge="br0")
            if p["name"] == port][0]["hw_tx_packets"]


def tuple_is(t, want):
    return all(t.get(k) == v for k, v in want.items())


def conns(sw):
    return sw.call("dump-conntrack", zone=ZONE)["connections"]


def conn(sw, orig):
    """orig's dump-conntrack entry, or None."""
    cs = [c for c in conns(sw) if tuple_is(c["orig"], orig)]
    assert len(cs) <= 1, cs
    return cs[0] if cs else None


def events(sw, orig):
    return [e for e in sw.call("conntrack-events")["events"]
            if e["zone"] == ZONE and tuple_is(e["orig"], orig)]


def session(sw, orig):
    """orig's entry in offload-sessions, or None."""
    ss = [s for s in offload_sessions(sw)
          if s["zone"] == ZONE and tuple_is(s["orig"], orig)]
    assert len(ss) <= 1, ss
    return ss[0] if ss else None


def dirs(s):
    return {d["dir"]: d for d in s["dirs"]}


def in_hw_both_ways(sw, orig):
    s = session(sw, orig)
    if s and {k: d["state"] for k, d in dirs(s).items()} \
            == {"orig": "full", "reply": "full"}:
        return s
    return None


def out_of_hw(sw, orig):
    """True when no direction of orig's session is in (or going to) the
    NIC."""
    s = session(sw, orig)
    return s is None or all(d["state"] == "none" for d in s["dirs"])


def state_text(sw, orig=None):
    """Everything worth seeing when a wait fails."""
    parts = []
    for what, fn in (("offload-sessions", lambda: offload_sessions(sw)),
                     ("offload-stats", lambda: sw.call("offload-stats")),
                     ("nic0", lambda: nic(sw)),
                     ("dump-megaflows", lambda: sw.call("dump-megaflows")),
                     ("conntrack", lambda: conns(sw))):
        try:
            parts.append(f"{what}: {fn()}")
        except Exception as e:      # noqa: BLE001 (diagnostics only)
            parts.append(f"{what}: ({e!r})")
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# Traffic.

class Conv:
    """A TCP or UDP conversation: the client on d1 (10.0.0.1:sport), the
    server on d2 (10.0.0.2:dport), which answers 'reply_dst' (the client,
    or its SNAT address).  Counts the packets and bytes each side had
    delivered through the switch."""

    def __init__(self, proto, sport, dport=80, reply_dst=None, v6=False):
        a, b = (IN6, OUT6) if v6 else (IN4, OUT4)
        self.proto = proto
        self.v6 = v6
        self.sport, self.dport = sport, dport
        self.ends = {INSIDE: (INSIDE, a, b, sport, dport),
                     OUTSIDE: (OUTSIDE, b, reply_dst or a, dport, sport)}
        self.tcp = Tcp(sport, dport, v6=v6, ends=self.ends) \
            if proto == "tcp" else None
        self.sent = {INSIDE: [0, 0], OUTSIDE: [0, 0]}   # packets, bytes
        self.orig = {"src": a, "dst": b,
                     "proto": 6 if proto == "tcp" else 17,
                     "sport": sport, "dport": dport}
        self.n = 0

    def set_reply_port(self, port):
        """The server answers this port (the client's translated one)."""
        p, a, b, sp, _ = self.ends[OUTSIDE]
        self.ends[OUTSIDE] = (p, a, b, sp, port)

    def frames(self, side, n=1, flags="PA", size=64):
        """n frames from 'side', each with a distinct payload of 'size'
        bytes (TCP: consecutive sequence numbers, acking all the other
        side sent so far)."""
        out = []
        for _ in range(n):
            self.n += 1
            data = (b"%s%07d" % (b"c" if side == INSIDE else b"s",
                                 self.n)).ljust(size, b".") if size else b""
            if self.tcp:
                l3 = self.tcp.pkt(side, flags, data)
            else:
                _, a, b, sp, dp = self.ends[side]
                ip = IPv6(src=a, dst=b, hlim=64) if self.v6 else \
                    IP(src=a, dst=b, ttl=64, id=0)
                l3 = ip / UDP(sport=sp, dport=dp) / Raw(data)
            out.append(frame(side, l3))
        return out

    def counts(self):
        """(packets, bytes) as dump-conntrack gives them: [orig, reply]."""
        return ([self.sent[INSIDE][0], self.sent[OUTSIDE][0]],
                [self.sent[INSIDE][1], self.sent[OUTSIDE][1]])


def deliver(sw, conv, side, frames, timeout=5.0):
    """Injects 'frames' on side's port and waits until every one of them
    left the other port (by software or by the NIC); returns what left.
    They count as sent by 'side'."""
    dst = PORT[OTHER[side]]
    got = []
    sw.inject(PORT[side], frames)

    def done():
        got.extend(sw.capture(dst))
        return len(got) >= len(frames)

    wait_for(done, timeout,
             f"{len(frames)} frames from {PORT[side]} out of {dst}",
             show=lambda: f"{len(got)} left\n" + state_text(sw))
    time.sleep(0.02)
    got.extend(sw.capture(dst))
    assert len(got) == len(frames), (len(got), len(frames))
    conv.sent[side][0] += len(frames)
    conv.sent[side][1] += sum(len(f) for f in frames)
    return got


def through_software(sw, conv, side, frames):
    """deliver(), and software classified every frame (none went through
    the NIC)."""
    pmd, hw = sw.pmd_packets(), nic(sw)["hw_packets"]
    got = deliver(sw, conv, side, frames)
    assert nic(sw)["hw_packets"] == hw, "the NIC forwarded some of them"
    assert sw.pmd_packets() == pmd + len(frames)
    return got


def through_hardware(sw, conv, side, frames):
    """deliver(), and the NIC forwarded every frame: the output port counts
    them as hardware tx and software classified none of them."""
    out = PORT[OTHER[side]]
    pmd, tx = sw.pmd_packets(), hw_tx(sw, out)
    got = deliver(sw, conv, side, frames)
    wait_for(lambda: hw_tx(sw, out) >= tx + len(frames), 2,
             f"{out} hw_tx_packets +{len(frames)}",
             show=lambda: f"hw_tx {hw_tx(sw, out)} (was {tx})")
    assert hw_tx(sw, out) == tx + len(frames)
    assert sw.pmd_packets() == pmd, "software classified some of them"
    return got


def open_conn(sw, conv):
    """The TCP handshake, or a UDP datagram and its answer, in software."""
    if conv.tcp:
        through_software(sw, conv, INSIDE, conv.frames(INSIDE, flags="S",
                                                        size=0))
        through_software(sw, conv, OUTSIDE, conv.frames(OUTSIDE, flags="SA",
                                                         size=0))
        through_software(sw, conv, INSIDE, conv.frames(INSIDE, flags="A",
                                                        size=0))
    else:
        through_software(sw, conv, INSIDE, conv.frames(INSIDE))
        through_software(sw, conv, OUTSIDE, conv.frames(OUTSIDE))


def to_hardware(sw, conv, min_packets):
    """Opens the connection, then both sides send min_packets + 2 packets
    (software carries at least min_packets of them in each direction);
    waits until both directions are in the NIC.  Returns the session."""
    open_conn(sw, conv)
    c = conn(sw, conv.orig)
    assert c, conns(sw)
    if conv.tcp:
        assert c["state"] == "ESTABLISHED", c
    for side in (INSIDE, OUTSIDE):
        # One at a time: a direction may reach the NIC mid-burst.
        for f in conv.frames(side, min_packets + 2):
            deliver(sw, conv, side, [f])
    return wait_for(lambda: in_hw_both_ways(sw, conv.orig), 5,
                    "both directions of the session in the NIC",
                    show=lambda: state_text(sw))


def wait_counts(sw, conv, timeout=3.0):
    """Waits until dump-conntrack's counts (software plus what the manager
    folded in from the NIC) are what was sent; returns the entry."""
    want = conv.counts()
    return wait_for(
        lambda: (lambda c: c if c and (c["packets"], c["bytes"])
                 == (want[0], want[1]) else None)(conn(sw, conv.orig)),
        timeout, f"dump-conntrack counts {want}",
        show=lambda: conn(sw, conv.orig))


def rewritten(f, src=None, dst=None, sport=None, dport=None):
    """Frame 'f' as NAT leaves it: fields replaced, checksums
    recomputed."""
    p = Ether(f)
    ip = p[IP]
    if src:
        ip.src = src
    if dst:
        ip.dst = dst
    del ip.chksum
    l4 = p[TCP] if TCP in p else p[UDP]
    if sport is not None:
        l4.sport = sport
    if dport is not None:
        l4.dport = dport
    del l4.chksum
    return bytes(p)


# ---------------------------------------------------------------------------
# The tests.

def test_established_tcp_session_moves_to_hardware_both_ways():
    with ct_switch(sessions=sessions_on(min_packets=8)) as sw:
        conv = Conv("tcp", 40001)
        s = to_hardware(sw, conv, 8)
        d = dirs(s)
        assert d["orig"]["in_port"] != d["reply"]["in_port"], s
        assert nic(sw)["rules"] == 2, nic(sw)
        assert conn_offloaded(conn(sw, conv.orig))
        st = session_stats(sw)
        assert st["installed"] >= 1 and st["in_hw"] >= 1, st
        assert total(st["failed"]) == 0, st

        pmd = sw.pmd_packets()
        fwd = nic(sw)["hw_forwarded"]
        frames = {side: conv.frames(side, 100) for side in (INSIDE, OUTSIDE)}
        for side in (INSIDE, OUTSIDE):
            got = through_hardware(sw, conv, side, frames[side])
            assert got == frames[side]     # no rewrite: byte for byte
        assert sw.pmd_packets() == pmd
        assert nic(sw)["hw_forwarded"] == fwd + 200

        # The NIC's counters reach the session (each direction: what the
        # NIC transmitted on its output port, the session's rules being
        # the only ones; the last packets of the software phase may have
        # been the NIC's already) and, folded in, the connection: its
        # counts are everything sent, software and NIC.
        def hw_by_dir():
            d = dirs(session(sw, conv.orig))
            return [d["orig"]["hw_packets"], d["reply"]["hw_packets"]]

        wait_for(lambda: hw_by_dir() == [hw_tx(sw, "d2"), hw_tx(sw, "d1")],
                 3, "session hw_packets = hw tx each way",
                 show=lambda: (session(sw, conv.orig), hw_tx(sw, "d2"),
                               hw_tx(sw, "d1")))
        assert min(hw_by_dir()) >= 100
        c = wait_counts(sw, conv)
        assert c["state"] == "ESTABLISHED", c
        assert conn_offloaded(c), c
        # Still in hardware, and software still saw nothing.
        assert in_hw_both_ways(sw, conv.orig)
        assert sw.pmd_packets() == pmd


def test_fin_reaches_software_and_tears_the_session_down():
    with ct_switch(sessions=sessions_on(min_packets=8)) as sw:
        conv = Conv("tcp", 40002)
        to_hardware(sw, conv, 8)
        assert session_stats(sw)["torn_down"] == 0
        # 60 segments of 200 bytes in the NIC: 12,000 bytes, past the
        # 8,192-byte window software last saw, acked by the server.  A
        # tracker enforcing its windows would call what follows invalid.
        data, acks = [], []
        for _ in range(60):
            data += conv.frames(INSIDE, size=200)
            acks += conv.frames(OUTSIDE, flags="A", size=0)
        through_hardware(sw, conv, INSIDE, data)
        through_hardware(sw, conv, OUTSIDE, acks)
        drops = sw.call("conntrack-stats")["drops"]

        # The FIN misses in the NIC: software forwards it.
        fin = conv.frames(INSIDE, flags="FA", size=0)
        got = through_software(sw, conv, INSIDE, fin)
        assert got == fin
        assert Ether(got[0])[TCP].flags.F
        wait_for(lambda: out_of_hw(sw, conv.orig) and nic(sw)["rules"] == 0,
                 3, "the session out of the NIC", show=lambda: state_text(sw))
        assert session_stats(sw)["torn_down"] >= 1, session_stats(sw)
        c = conn(sw, conv.orig)
        assert c and c["state"] in CLOSING, c

        # The rest of the close, in software, every packet +est (the
        # policy drops anything else): the server ACKs the FIN, sends
        # more, the client ACKs it, then the server closes too.
        through_software(sw, conv, OUTSIDE,
                         conv.frames(OUTSIDE, flags="A", size=0))
        through_software(sw, conv, OUTSIDE, conv.frames(OUTSIDE, size=200))
        through_software(sw, conv, INSIDE,
                         conv.frames(INSIDE, flags="A", size=0))
        through_software(sw, conv, OUTSIDE,
                         conv.frames(OUTSIDE, flags="FA", size=0))
        through_software(sw, conv, INSIDE,
                         conv.frames(INSIDE, flags="A", size=0))
        assert sw.call("conntrack-stats")["drops"] == drops
        c = wait_counts(sw, conv)
        assert c["state"] in CLOSING, c
        assert nic(sw)["rules"] == 0, nic(sw)


def test_idle_session_is_closed_once_with_true_counts():
    # idle_ms 0: the session's idle time is the connection's timeout in
    # its state, udp_multiple (2 s).
    with ct_switch(sessions=sessions_on(min_packets=8, idle_ms=0),
                   timeouts={"udp_multiple": 2}) as sw:
        conv = Conv("udp", 40003, dport=53)
        to_hardware(sw, conv, 8)
        for side in (INSIDE, OUTSIDE):
            through_hardware(sw, conv, side, conv.frames(side, 50))
        stopped = time.time()
        assert events(sw, conv.orig) == []

        evs = wait_for(lambda: events(sw, conv.orig), 25,
                       "the connection's closed record",
                       show=lambda: state_text(sw))
        waited = time.time() - stopped
        # Not before the idle time (one second of slack for the NIC's
        # aging granularity).
        assert waited >= 1.0, waited
        assert len(evs) == 1, evs
        e = evs[0]
        assert e["reason"] == "idle", e
        assert event_offloaded(e), e
        packets, nbytes = conv.counts()
        assert e["packets"] == packets, (e, packets)
        assert e["bytes"] == nbytes, (e, nbytes)

        assert conn(sw, conv.orig) is None, conns(sw)
        wait_for(lambda: session(sw, conv.orig) is None, 2,
                 "the session gone", show=lambda: state_text(sw))
        assert nic(sw)["rules"] == 0, nic(sw)
        st = session_stats(sw)
        assert st["aged"] >= 1 and st["closed_idle"] == 1, st
        # Reported once.
        time.sleep(1.0)
        assert len(events(sw, conv.orig)) == 1, events(sw, conv.orig)


def test_snat_session_offload_rewrites_in_hardware():
    with ct_switch(flows=NAT_FLOWS,
                   sessions=sessions_on(min_packets=8)) as sw:
        conv = Conv("tcp", 40004, reply_dst=NAT_IP)
        syn = conv.frames(INSIDE, flags="S", size=0)
        got = through_software(sw, conv, INSIDE, syn)
        c = conn(sw, conv.orig)
        assert c and c["snat"] and c["reply"]["dst"] == NAT_IP, c
        nat_port = c["reply"]["dport"]
        conv.set_reply_port(nat_port)
        # What software's SNAT wrote.
        assert got == [rewritten(syn[0], src=NAT_IP, sport=nat_port)]
        through_software(sw, conv, OUTSIDE,
                         conv.frames(OUTSIDE, flags="SA", size=0))
        through_software(sw, conv, INSIDE,
                         conv.frames(INSIDE, flags="A", size=0))
        for side in (INSIDE, OUTSIDE):
            for f in conv.frames(side, 10):
                deliver(sw, conv, side, [f])
        wait_for(lambda: in_hw_both_ways(sw, conv.orig), 5,
                 "both directions of the NATed session in the NIC",
                 show=lambda: state_text(sw))

        # Out: the NIC translates the source like software.
        out = conv.frames(INSIDE, 50)
        got = through_hardware(sw, conv, INSIDE, out)
        assert got == [rewritten(f, src=NAT_IP, sport=nat_port)
                       for f in out]
        e = Ether(got[0])
        assert e[IP].src == NAT_IP and e[TCP].sport == nat_port
        # Back: replies to the NAT address reach the client untranslated.
        back = conv.frames(OUTSIDE, 50)
        assert Ether(back[0])[IP].dst == NAT_IP
        got = through_hardware(sw, conv, OUTSIDE, back)
        assert got == [rewritten(f, dst=IN4, dport=conv.sport)
                       for f in back]
        e = Ether(got[0])
        assert e[IP].dst == IN4 and e[TCP].dport == conv.sport
        c = wait_counts(sw, conv)
        assert conn_offloaded(c) and c["snat"], c


def test_flush_removes_session_rules():
    with ct_switch(sessions=sessions_on(min_packets=8)) as sw:
        conv = Conv("tcp", 40005)
        to_hardware(sw, conv, 8)
        for side in (INSIDE, OUTSIDE):
            through_hardware(sw, conv, side, conv.frames(side, 20))
        assert nic(sw)["rules"] == 2, nic(sw)

        assert sw.call("flush-conntrack", zone=ZONE)["flushed"] == 1
        wait_for(lambda: nic(sw)["rules"] == 0 and not offload_sessions(sw),
                 3, "the session and nic0's rules removed",
                 show=lambda: state_text(sw))
        assert conns(sw) == []
        evs = events(sw, conv.orig)
        assert len(evs) == 1 and evs[0]["reason"] == "flush", evs
        assert event_offloaded(evs[0]), evs

        # The server's next segment has no connection any more: software
        # classifies it (+new from d2: dropped), the NIC does not forward
        # it.
        fwd = nic(sw)["hw_forwarded"]
        pmd = sw.pmd_packets()
        sw.capture("d1")
        sw.inject("d2", conv.frames(OUTSIDE))
        wait_for(lambda: sw.pmd_packets() >= pmd + 1, 3,
                 "software to see the server's segment",
                 show=lambda: state_text(sw))
        time.sleep(0.05)
        assert sw.capture("d1") == []
        assert nic(sw)["hw_forwarded"] == fwd


def test_sessions_disabled_by_default():
    """No "sessions" in the configuration: connections stay in software.
    Megaflow offload is on and sees hot megaflows, but none with ct() or a
    recirculated pass goes to the NIC in full."""
    with ct_switch(megaflow_min_packets=10) as sw:
        conv = Conv("tcp", 40006)
        open_conn(sw, conv)
        for side in (INSIDE, OUTSIDE):
            through_software(sw, conv, side, conv.frames(side, 20))

        # The manager decides on every megaflow that got hot: a ct() pass
        # (no output: a hardware DROP would black-hole the connection) or
        # a recirculated pass never goes to the NIC in full.
        def decided():
            hot = [m for m in sw.call("dump-megaflows")
                   if m["packets"] >= 20]
            return hot if hot and all(
                m.get("offload") not in (None, "queued")
                and (m["offload"] != "none" or "offload_reason" in m)
                for m in hot) else None

        mfs = wait_for(decided, 5, "offload decisions on the megaflows",
                       show=lambda: sw.call("dump-megaflows"))
        for m in mfs:
            assert m.get("offload") != "full", \
                f"{m['match']} (actions {m['actions']}) is in the NIC " \
                f"in full: {m}"
            if m.get("offload_reason"):
                assert m["offload_reason"] in ("action_unsupported",
                                               "match_unsupported"), m
        for side in (INSIDE, OUTSIDE):
            through_software(sw, conv, side, conv.frames(side, 50))
        n = nic(sw)
        assert n["hw_forwarded"] == 0 and n["hw_dropped"] == 0, n

        c = wait_counts(sw, conv)
        assert c["state"] == "ESTABLISHED", c
        assert not c.get("offloaded"), c
        if has_method(sw, "offload-sessions"):
            assert offload_sessions(sw) == []
        st = sw.call("offload-stats")
        if "sessions" in st:
            assert st["sessions"]["installed"] == 0, st["sessions"]
            assert st["sessions"]["in_hw"] == 0, st["sessions"]


def test_sessions_win_over_megaflow_marks_and_bad_flags_reach_software():
    """Megaflow offload on too: the first pass's ct() megaflows get partial
    (MARK) rules in the same NIC, which match every packet of the
    sessions built on them.  The session rules take precedence (rte_flow
    priority), so established traffic still leaves through the NIC; a
    segment without ACK, which the tracker calls invalid, is not in the
    session rules' match and reaches software, whose policy drops it."""
    with ct_switch(sessions=sessions_on(min_packets=8),
                   megaflow_min_packets=4) as sw:
        conv = Conv("tcp", 40007)
        to_hardware(sw, conv, 8)

        def marked():
            return [m for m in sw.call("dump-megaflows")
                    if m.get("offload") == "partial"]

        wait_for(marked, 5, "a partial (MARK) megaflow rule",
                 show=lambda: sw.call("dump-megaflows"))
        assert nic(sw)["rules"] >= 3, nic(sw)
        for side in (INSIDE, OUTSIDE):
            frames = conv.frames(side, 40)
            assert through_hardware(sw, conv, side, frames) == frames

        # PSH alone: +inv in software (dropped by the policy), never
        # forwarded by the NIC.
        bad = conv.frames(INSIDE, flags="P", size=10)
        pmd, hw = sw.pmd_packets(), nic(sw)["hw_packets"]
        drops = sw.call("conntrack-stats")["drops"]["invalid"]
        sw.inject(PORT[INSIDE], bad)
        wait_for(lambda: sw.pmd_packets() == pmd + 1, 3,
                 "software sees the segment without ACK")
        time.sleep(0.05)
        assert sw.capture(PORT[OUTSIDE]) == []
        assert nic(sw)["hw_packets"] == hw
        assert sw.call("conntrack-stats")["drops"]["invalid"] == drops + 1
        # The session is still in the NIC (no teardown for an invalid
        # packet).
        assert in_hw_both_ways(sw, conv.orig)


def test_ipv6_sessions_tcp_and_udp():
    """The same policy over IPv6: TCP and UDP sessions go to the NIC both
    ways, carry the next packets there, and the counts stay true."""
    flows = [f.replace(",ip,", ",ipv6,") for f in FLOWS]
    with ct_switch(flows=flows, sessions=sessions_on(min_packets=8)) as sw:
        for conv in (Conv("tcp", 40008, v6=True),
                     Conv("udp", 40009, v6=True)):
            s = to_hardware(sw, conv, 8)
            assert dirs(s)["orig"]["in_port"] == 1, s
            for side in (INSIDE, OUTSIDE):
                frames = conv.frames(side, 30)
                assert through_hardware(sw, conv, side, frames) == frames
            c = wait_counts(sw, conv)
            assert conn_offloaded(c), c
            assert c["proto"] in ("tcp6", "udp6", "tcp", "udp"), c
