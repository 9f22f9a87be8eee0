# SPDX-License-Identifier: BSD-3-Clause
"""ctseq: connection-tracking packet sequences and the verdict flows.

The differential conntrack test (test_ct_diff.py) sends every sequence here,
one frame at a time, through Open vSwitch (ovs_oracle) and through sluice,
and compares the verdict of each frame.

Ports: 1 is the inside (client, 10.0.0.1 / fd00::1), 2 the outside (server,
10.0.0.2 / fd00::2); 10..15 are verdict ports.  FLOWS sends every IP packet
through ct(zone=5) and then through one table per ct_state bit, each copying
the packet to that bit's verdict port when the bit is set, and ends in a
small stateful firewall (table 7): inside may open connections, outside may
only answer (established or related), invalid is dropped.

A frame's verdict is the set of ct_state bits it was seen with (from the
verdict ports) and the exact frames that left on ports 1 and 2.

Each sequence uses its own ports/ids, so sequences don't share connections
and their order does not matter, with one exception: the fragment sequences
come last and leave incomplete fragments behind, which Open vSwitch holds
for 15 s and then releases (as invalid) along with a later packet, so
nothing should run long after them on the same switch.
"""
import collections

from scapy.all import (ICMP, IP, TCP, UDP, Ether, ICMPv6DestUnreach,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig,
                       IPv6, IPv6ExtHdrFragment, Raw)

INSIDE, OUTSIDE = 1, 2
# ct_state bit -> verdict port.
BIT_PORTS = {"new": 10, "est": 11, "rel": 12, "rpl": 13, "inv": 14, "trk": 15}
PORTS = (INSIDE, OUTSIDE) + tuple(BIT_PORTS.values())
ZONE = 5


def _bit_tables(bit_ports=None, matches=None):
    """Tables 1..N, one per verdict bit, each copying a packet with the bit
    to its port; 'matches' gives a bit's match when it is not
    ct_state=+bit."""
    flows = []
    for i, (bit, port) in enumerate((bit_ports or BIT_PORTS).items()):
        table, nxt = i + 1, i + 2
        match = (matches or {}).get(bit, f"ct_state=+{bit}")
        flows += [
            f"table={table},priority=10,{match},"
            f"actions=output:{port},goto_table:{nxt}",
            f"table={table},priority=0,actions=goto_table:{nxt}",
        ]
    return flows

FLOWS = [
    f"table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone={ZONE})",
    f"table=0,priority=100,ipv6,ct_state=-trk,"
    f"actions=ct(table=1,zone={ZONE})",
    "table=0,priority=0,actions=drop",
] + _bit_tables() + [
    # The firewall.  ct(commit) needs an IP match (OVS refuses it with
    # OFPBAC_MATCH_INCONSISTENT otherwise), hence one flow per family.
    # Priorities keep it deterministic when several bits are set.
    "table=7,priority=40,ct_state=+trk+inv,actions=drop",
    "table=7,priority=30,in_port=1,ct_state=+trk+est,actions=output:2",
    "table=7,priority=30,in_port=2,ct_state=+trk+est,actions=output:1",
    "table=7,priority=20,in_port=1,ct_state=+trk+rel,actions=output:2",
    "table=7,priority=20,in_port=2,ct_state=+trk+rel,actions=output:1",
    "table=7,priority=10,ip,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE}),output:2",
    "table=7,priority=10,ipv6,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE}),output:2",
    "table=7,priority=10,in_port=2,ct_state=+trk+new,actions=drop",
    "table=7,priority=0,actions=drop",
]
assert len(BIT_PORTS) + 1 == 7      # the bit tables are 1..6

MAC_IN = "02:00:00:00:00:01"
MAC_OUT = "02:00:00:00:00:02"
IN4, OUT4, ROUTER4 = "10.0.0.1", "10.0.0.2", "10.0.0.254"
IN6, OUT6, ROUTER6 = "fd00::1", "fd00::2", "fd00::fe"


# ---------------------------------------------------------------------------
# Steps, sequences, verdicts.

Step = collections.namedtuple("Step", "port frame note")


class Sequence:
    def __init__(self, name, steps, doc=""):
        self.name = name
        self.steps = list(steps)
        self.doc = doc

    def __repr__(self):
        return f"Sequence({self.name}, {len(self.steps)} steps)"


class Verdict(collections.namedtuple("Verdict", "bits out")):
    """bits: sorted tuple of ct_state bit names (a name is followed by
    '*N' if its verdict port got N != 1 copies, e.g. for fragments);
    out: ((port, (frame, ...)), ...) for ports 1 and 2, frames as bytes."""

    @classmethod
    def from_outputs(cls, outputs, bit_ports=None):
        bits = []
        for bit, port in (bit_ports or BIT_PORTS).items():
            n = len(outputs.get(port, ()))
            if n:
                bits.append(bit if n == 1 else f"{bit}*{n}")
        out = tuple((p, tuple(bytes(f) for f in outputs.get(p, ())))
                    for p in (INSIDE, OUTSIDE))
        return cls(tuple(sorted(bits)), out)

    def where(self):
        """'->2', '->1', '->1,2', '->2 x2', or 'drop'."""
        parts = []
        for port, frames in self.out:
            if frames:
                parts.append(f"{port}" + (f" x{len(frames)}"
                                          if len(frames) > 1 else ""))
        return "->" + ",".join(parts) if parts else "drop"

    def short(self):
        return f"{'+'.join(self.bits) or '-'} {self.where()}"


def run_sequence(switch, seq, bit_ports=None):
    """Sends seq's frames one at a time through 'switch' (anything with
    send(port, frame_bytes) -> {ofport: [frames]}); returns the verdicts
    (bit_ports: the verdict ports, BIT_PORTS unless given)."""
    return [Verdict.from_outputs(switch.send(st.port, st.frame), bit_ports)
            for st in seq.steps]


def describe(frame):
    """One line about a frame, for tables."""
    p = Ether(frame)
    s = p.summary()
    if TCP in p:
        t = p[TCP]
        s += f" seq={t.seq} ack={t.ack} win={t.window}"
        if len(t.payload):
            s += f" len={len(t.payload)}"
    return s.replace("Ether / ", "")


def compare(seq, expected, got, names=("ovs", "sluice")):
    """None when the verdict lists agree, else a readable per-packet table
    (mismatches marked '!!')."""
    if list(expected) == list(got) and len(expected) == len(seq.steps):
        return None
    rows = [f"sequence {seq.name}: verdicts differ "
            f"({names[0]} vs {names[1]})",
            f"   # in  {names[0]:<22} {names[1]:<22} packet / note"]
    for i, st in enumerate(seq.steps):
        a = expected[i] if i < len(expected) else None
        b = got[i] if i < len(got) else None
        mark = "  " if a == b else "!!"
        sa = a.short() if a else "(none)"
        sb = b.short() if b else "(none)"
        if a and b and a != b and a.short() == b.short():
            sb += " (bytes differ)"
        rows.append(f"{mark}{i:2} {st.port:>2}  {sa:<22} {sb:<22} "
                    f"{st.note}: {describe(st.frame)}")
    return "\n".join(rows)


# ---------------------------------------------------------------------------
# Frame builders.

def _eth(from_port):
    if from_port == INSIDE:
        return Ether(src=MAC_IN, dst=MAC_OUT)
    return Ether(src=MAC_OUT, dst=MAC_IN)


def frame(from_port, l3):
    """bytes of Ether/l3 with lengths and checksums computed by scapy."""
    return bytes(_eth(from_port) / l3)


class Tcp:
    """A TCP conversation between the client (inside) and server (outside),
    tracking each side's next sequence number so steps read like a trace.

    c(...) builds a step from the client (port 1), s(...) from the server
    (port 2).  seq/ack default to the side's next sequence number and the
    other side's; ack is 0 when the A flag is absent.  advance=False leaves
    the counters alone (retransmissions, out-of-window probes)."""

    def __init__(self, sport, dport=80, v6=False, cisn=1000, sisn=500000,
                 cwin=8192, swin=8192, ends=None):
        self.sport, self.dport, self.v6 = sport, dport, v6
        self.next = {INSIDE: cisn, OUTSIDE: sisn}
        self.win = {INSIDE: cwin, OUTSIDE: swin}
        # side (INSIDE: the client, OUTSIDE: the server) -> (switch port it
        # sends on, source address, destination address, source port,
        # destination port) of the packets it sends; NAT sequences give
        # them explicitly (the server answers the translated address).
        if ends is None:
            a, b = (IN6, OUT6) if v6 else (IN4, OUT4)
            ends = {INSIDE: (INSIDE, a, b, sport, dport),
                    OUTSIDE: (OUTSIDE, b, a, dport, sport)}
        self.ends = ends

    def _ip(self, side):
        _, a, b, _, _ = self.ends[side]
        if self.v6:
            return IPv6(src=a, dst=b, hlim=64)
        return IP(src=a, dst=b, ttl=64, id=0, flags="DF")

    def pkt(self, side, flags, data=b"", seq=None, ack=None, win=None,
            options=(), advance=True):
        other = OUTSIDE if side == INSIDE else INSIDE
        if seq is None:
            seq = self.next[side]
        if ack is None:
            ack = self.next[other] if "A" in flags else 0
        sp, dp = self.ends[side][3:]
        l4 = TCP(sport=sp, dport=dp, flags=flags, seq=seq % (1 << 32),
                 ack=ack % (1 << 32),
                 window=self.win[side] if win is None else win,
                 options=list(options))
        if data:
            l4 = l4 / Raw(data)
        if advance:
            n = len(data) + ("S" in flags) + ("F" in flags)
            self.next[side] = max(self.next[side], seq + n)
        return self._ip(side) / l4

    def c(self, flags, note, data=b"", **kw):
        port = self.ends[INSIDE][0]
        return Step(port, frame(port, self.pkt(INSIDE, flags, data, **kw)),
                    note)

    def s(self, flags, note, data=b"", **kw):
        port = self.ends[OUTSIDE][0]
        return Step(port, frame(port, self.pkt(OUTSIDE, flags, data, **kw)),
                    note)

    def handshake(self, syn_opts=(), synack_opts=()):
        return [self.c("S", "SYN", options=syn_opts),
                self.s("SA", "SYN-ACK", options=synack_opts),
                self.c("A", "ACK")]


def _ip4(side, **kw):
    a, b = (IN4, OUT4) if side == INSIDE else (OUT4, IN4)
    return IP(src=a, dst=b, ttl=64, **kw)


def _ip6(side):
    a, b = (IN6, OUT6) if side == INSIDE else (OUT6, IN6)
    return IPv6(src=a, dst=b, hlim=64)


def udp(side, sport, dport, data=b"ping", v6=False, note="UDP"):
    l3 = (_ip6(side) if v6 else _ip4(side, id=7)) / \
        UDP(sport=sport, dport=dport) / Raw(data)
    return Step(side, frame(side, l3), note)


# ---------------------------------------------------------------------------
# The sequences.

def _tcp_close(base):
    t = Tcp(base)
    return t.handshake() + [
        t.c("PA", "data c->s", b"GET / HTTP/1.0\r\n\r\n"),
        t.s("A", "ACK s"),
        t.s("PA", "data s->c", b"HTTP/1.0 200 OK\r\n\r\nhello"),
        t.c("A", "ACK c"),
        t.c("FA", "FIN-ACK c"),
        t.s("A", "ACK of FIN s"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
        t.c("PA", "data c after close", b"late", advance=False),
        t.s("PA", "data s after close", b"late", advance=False),
    ]


def _tcp_rst(base):
    t = Tcp(base)
    steps = t.handshake() + [
        t.c("PA", "data c->s", b"hello"),
        t.s("R", "RST s"),
        t.c("PA", "data c after RST", b"again", advance=False),
    ]
    u = Tcp(base + 1)
    steps += u.handshake() + [
        u.s("PA", "data s->c", b"hi"),
        u.c("RA", "RST-ACK c"),
        u.s("PA", "data s after RST", b"more", advance=False),
    ]
    return steps


def _tcp_unsolicited(base):
    t = Tcp(base)
    return [
        t.s("S", "unsolicited SYN from outside"),
        t.s("S", "its retransmission", advance=False),
        t.c("SA", "SYN-ACK from inside (would accept it)"),
    ]


def _tcp_out_of_window(base):
    t = Tcp(base)
    nxt = lambda side: t.next[side]
    return t.handshake() + [
        t.c("PA", "data in window", b"a" * 10),
        t.s("A", "ACK s"),
        t.c("PA", "data seq +1e9", b"b" * 10,
            seq=nxt(INSIDE) + 1000000000, advance=False),
        t.c("PA", "data seq -1e9", b"b" * 10,
            seq=nxt(INSIDE) - 1000000000, advance=False),
        t.c("PA", "data ack +1e9", b"c" * 10,
            ack=nxt(OUTSIDE) + 1000000000, advance=False),
        t.s("PA", "data s seq +3e9", b"d" * 10,
            seq=nxt(OUTSIDE) + 3000000000, advance=False),
        t.c("PA", "valid data after", b"e" * 10),
        t.s("A", "ACK s"),
    ]


def _tcp_bad_flags(base):
    steps = []
    # As the first packet of a connection (each its own tuple).
    for k, (flags, note) in enumerate([
            ("SF", "SYN+FIN, no connection"),
            ("SR", "SYN+RST, no connection"),
            ("", "no flags, no connection"),
            ("F", "FIN without ACK, no connection"),
            ("FPU", "FIN+PSH+URG (xmas), no connection"),
            ("SA", "SYN-ACK, no connection")]):
        steps.append(Tcp(base + 1 + k).c(flags, note, advance=False))
    # Inside an established connection.
    t = Tcp(base)
    steps += t.handshake()
    for flags, note in [("SF", "SYN+FIN in conn"),
                        ("SR", "SYN+RST in conn"),
                        ("", "no flags in conn"),
                        ("F", "FIN without ACK in conn"),
                        ("SFPU", "SYN+FIN+PSH+URG in conn")]:
        steps.append(t.c(flags, note, advance=False))
    steps.append(t.c("PA", "valid data after", b"ok"))
    return steps


def _tcp_retrans_syn(base):
    t = Tcp(base)
    return [
        t.c("S", "SYN"),
        t.c("S", "retransmitted SYN", seq=t.next[INSIDE] - 1),
        t.s("SA", "SYN-ACK"),
        t.s("SA", "retransmitted SYN-ACK", seq=t.next[OUTSIDE] - 1),
        t.c("A", "ACK"),
        t.c("S", "SYN again on the open connection", seq=t.next[INSIDE] - 1,
            advance=False),
        t.c("PA", "data", b"x"),
    ]


def _tcp_simultaneous_open(base):
    t = Tcp(base, dport=base + 50)
    return [
        t.c("S", "SYN from inside"),
        t.s("S", "SYN from outside (crossing)"),
        t.c("SA", "SYN-ACK from inside", seq=t.next[INSIDE] - 1),
        t.s("SA", "SYN-ACK from outside", seq=t.next[OUTSIDE] - 1),
        t.c("PA", "data c->s", b"hi"),
        t.s("PA", "data s->c", b"ho"),
    ]


def _tcp_wscale(base, synack_scales=True):
    """Windows of 16 in every segment; with window scaling 7 on both SYNs
    the windows after the handshake are 16 << 7 = 2048 bytes."""
    t = Tcp(base, cwin=16, swin=16)
    ws = [("WScale", 7)]
    steps = t.handshake(syn_opts=ws, synack_opts=ws if synack_scales else ())
    steps.append(t.s("A", "window update s (16<<7 if scaled)"))
    start_c, start_s = t.next[INSIDE], t.next[OUTSIDE]
    steps += [
        t.c("PA", "data c at +1000 (in window only if scaled)", b"x" * 100,
            seq=start_c + 1000, advance=False),
        t.s("PA", "data s at +1000 (in window only if scaled)", b"y" * 100,
            seq=start_s + 1000, advance=False),
        t.c("PA", "data c ending at +2100 (past 2048)", b"z" * 100,
            seq=start_c + 2000, advance=False),
        t.c("PA", "data c ending at +2048 (last byte in window)",
            b"w" * 48, seq=start_c + 2000, advance=False),
        t.s("PA", "data s ending at +2100 (past 2048)", b"v" * 100,
            seq=start_s + 2000, advance=False),
        t.c("PA", "data c at the window's start", b"u" * 10),
    ]
    return steps


def _tcp_reopen(base):
    t = Tcp(base)
    steps = t.handshake() + [
        t.c("FA", "FIN-ACK c"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
    ]
    t.next[INSIDE] += 100000      # a new ISN, above the old one
    t.next[OUTSIDE] += 700000
    steps += [t.c("S", "SYN re-opening the tuple"),
              t.s("SA", "SYN-ACK"),
              t.c("A", "ACK"),
              t.c("PA", "data", b"second life")]
    return steps


def _tcp_ack_no_conn(base):
    t = Tcp(base)
    u = Tcp(base + 1)
    return [
        t.c("A", "ACK from inside, no connection", advance=False),
        t.s("A", "ACK reply from outside", advance=False),
        t.c("PA", "data from inside", b"mid", advance=False),
        u.s("A", "ACK from outside, no connection", advance=False),
        u.c("A", "ACK from inside on that tuple", advance=False),
    ]


def _udp(base):
    return [
        udp(INSIDE, base, 53, b"query", note="UDP c->s"),
        udp(OUTSIDE, 53, base, b"answer", note="UDP reply s->c"),
        udp(INSIDE, base, 53, b"query2", note="UDP c->s again"),
        udp(OUTSIDE, 7777, base + 1, b"unsolicited",
            note="unsolicited UDP from outside"),
        udp(OUTSIDE, 53, base + 2, b"unsolicited",
            note="UDP from outside to an unused port"),
    ]


def _udp_one_way(base):
    """One-way traffic stays +new until the first reply (Open vSwitch 3.1
    gives every packet of an unanswered UDP flow +new)."""
    return [udp(INSIDE, base, 5353, b"q%d" % i, note=f"one-way UDP #{i}")
            for i in range(5)] + [
        udp(OUTSIDE, 5353, base, b"answer", note="the first reply"),
        udp(INSIDE, base, 5353, b"after", note="UDP c->s after the reply"),
        udp(INSIDE, base, 5353, b"after2", note="and again"),
    ]


def _other_proto(base):
    """An IP protocol the tracker knows no state machine for (GRE)."""
    def gre(side, note):
        return Step(side, frame(side, _ip4(side, id=9, proto=47)
                                / Raw(b"\x00\x00\x08\x00" + bytes(20))),
                    note)
    return [gre(INSIDE, f"GRE c->s #{i}") for i in range(3)] + [
        gre(OUTSIDE, "GRE s->c"),
        gre(INSIDE, "GRE c->s after the reply"),
    ]


def _icmp_echo(base):
    def echo(side, type_, id_, seq, note):
        return Step(side, frame(side, _ip4(side, id=1) /
                                ICMP(type=type_, id=id_, seq=seq) /
                                Raw(b"abcdefgh")), note)
    return [
        echo(INSIDE, 8, base, 1, "echo request"),
        echo(OUTSIDE, 0, base, 1, "echo reply"),
        echo(INSIDE, 8, base, 2, "echo request, same id"),
        echo(OUTSIDE, 0, base, 2, "echo reply"),
        echo(OUTSIDE, 0, base + 1, 1, "unsolicited echo reply (other id)"),
        echo(OUTSIDE, 8, base + 2, 1, "echo request from outside"),
        echo(INSIDE, 0, base + 2, 1, "echo reply from inside"),
    ]


def _embedded(step):
    """The IP packet inside a step's frame (for ICMP errors)."""
    p = Ether(step.frame)
    return bytes(p[IPv6] if IPv6 in p else p[IP])


def _icmp_error(base):
    t = Tcp(base)
    u_out = udp(INSIDE, base, 5000, b"datagram", note="UDP c->s")
    tcp_steps = t.handshake()
    data = t.c("PA", "TCP data c->s", b"x" * 40)
    ghost = udp(INSIDE, base + 1, 5001, b"never sent", note="-")
    ghost_tcp = Tcp(base + 2).c("S", "-", advance=False)

    def err(src, type_, code, inner, note, **kw):
        l3 = IP(src=src, dst=IN4, ttl=64, id=3) / \
            ICMP(type=type_, code=code, **kw) / Raw(inner)
        return Step(OUTSIDE, frame(OUTSIDE, l3), note)

    return [u_out,
            err(OUT4, 3, 3, _embedded(u_out),
                "port unreachable from server, UDP conn"),
            err(ROUTER4, 3, 1, _embedded(u_out),
                "host unreachable from router, UDP conn"),
            err(ROUTER4, 11, 0, _embedded(u_out),
                "time exceeded from router, UDP conn"),
            ] + tcp_steps + [data,
            err(ROUTER4, 3, 4, _embedded(data),
                "frag needed from router, TCP conn", nexthopmtu=1400),
            err(ROUTER4, 3, 4, _embedded(data)[:28],
                "frag needed, TCP conn, 8 bytes of TCP only",
                nexthopmtu=1400),
            err(OUT4, 3, 3, _embedded(ghost),
                "port unreachable, no such UDP conn"),
            err(ROUTER4, 3, 1, _embedded(ghost_tcp),
                "host unreachable, no such TCP conn"),
            Step(INSIDE, frame(INSIDE, IP(src=IN4, dst=OUT4, ttl=64, id=4) /
                               ICMP(type=3, code=3) / Raw(_embedded(
                                   udp(OUTSIDE, 5000, base, b"reply",
                                       note="-")))),
                 "port unreachable from inside about the conn's reply dir"),
            ]


def _tcp6(base):
    t = Tcp(base, v6=True)
    return t.handshake() + [
        t.c("PA", "data c->s", b"hello6"),
        t.s("PA", "data s->c", b"world6"),
        t.c("FA", "FIN-ACK c"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
        Tcp(base + 1, v6=True).s("S", "unsolicited SYN from outside"),
    ]


def _udp6(base):
    return [
        udp(INSIDE, base, 53, b"q6", v6=True, note="UDP6 c->s"),
        udp(OUTSIDE, 53, base, b"a6", v6=True, note="UDP6 reply"),
        udp(OUTSIDE, 9999, base + 1, b"x", v6=True,
            note="unsolicited UDP6 from outside"),
    ]


def _icmp6(base):
    def echo(side, cls, id_, note):
        return Step(side, frame(side, _ip6(side) / cls(id=id_, seq=1) /
                                Raw(b"abcdefgh")), note)
    u = udp(INSIDE, base, 5000, b"datagram6", v6=True, note="UDP6 c->s")
    t = Tcp(base + 1, v6=True)
    tsteps = t.handshake()
    data = t.c("PA", "TCP6 data", b"y" * 40)
    ghost = udp(INSIDE, base + 2, 5000, b"never", v6=True, note="-")

    def err(src, l4, inner, note):
        return Step(OUTSIDE, frame(OUTSIDE, IPv6(src=src, dst=IN6, hlim=64) /
                                   l4 / Raw(inner)), note)
    return [
        echo(INSIDE, ICMPv6EchoRequest, base, "echo6 request"),
        echo(OUTSIDE, ICMPv6EchoReply, base, "echo6 reply"),
        echo(OUTSIDE, ICMPv6EchoReply, base + 1,
             "unsolicited echo6 reply (other id)"),
        u,
        err(OUT6, ICMPv6DestUnreach(code=4), _embedded(u),
            "port unreachable from server, UDP6 conn"),
        err(ROUTER6, ICMPv6DestUnreach(code=3), _embedded(ghost),
            "address unreachable, no such UDP6 conn"),
    ] + tsteps + [
        data,
        err(ROUTER6, ICMPv6PacketTooBig(mtu=1280), _embedded(data),
            "packet too big from router, TCP6 conn"),
    ]


def _frags(payload, ip_id, sizes, proto=17, side=INSIDE, dst=None):
    """Fragments of an IPv4 packet whose L4 bytes are 'payload': a list of
    (offset_bytes, length) -> frames, in the order given."""
    out = []
    for off, n in sizes:
        last = off + n >= len(payload)
        l3 = IP(src=IN4 if side == INSIDE else OUT4,
                dst=dst or (OUT4 if side == INSIDE else IN4), ttl=64,
                id=ip_id, proto=proto, flags=0 if last else "MF",
                frag=off // 8) / Raw(payload[off:off + n])
        out.append(frame(side, l3))
    return out


def _udp_payload(sport, dport, n, side=INSIDE):
    a, b = (IN4, OUT4) if side == INSIDE else (OUT4, IN4)
    whole = IP(src=a, dst=b, proto=17) / UDP(sport=sport, dport=dport) / \
        Raw(bytes(range(256)) * (n // 256) + bytes(n % 256))
    return bytes(IP(bytes(whole)).payload)     # UDP header + data, checksum


def _fragments(base):
    big = _udp_payload(base, 6000, 2000)       # 2008 bytes of L4
    in_order = _frags(big, 100, [(0, 1400), (1400, 608)])
    rev = _frags(_udp_payload(base + 1, 6000, 2000), 101,
                 [(1400, 608), (0, 1400)])
    first_only = _frags(_udp_payload(base + 2, 6000, 2000), 102,
                        [(0, 1400)])
    later_only = _frags(_udp_payload(base + 3, 6000, 2000), 103,
                        [(1400, 608)])
    small = _udp_payload(base + 4, 6000, 40)   # 48 bytes of L4
    tiny = _frags(small, 104, [(0, 16), (16, 16), (32, 16)])
    reply_frags = _frags(_udp_payload(6000, base, 2000, side=OUTSIDE), 105,
                         [(0, 1400), (1400, 608)], side=OUTSIDE)
    return [
        Step(INSIDE, in_order[0], "UDP first fragment (1400)"),
        Step(INSIDE, in_order[1], "UDP last fragment"),
        udp(OUTSIDE, 6000, base, b"reply", note="unfragmented UDP reply"),
        Step(OUTSIDE, reply_frags[0], "reply first fragment"),
        Step(OUTSIDE, reply_frags[1], "reply last fragment"),
        Step(INSIDE, rev[0], "other datagram: last fragment first"),
        Step(INSIDE, rev[1], "then its first fragment"),
        Step(INSIDE, first_only[0], "a first fragment never completed"),
        Step(INSIDE, later_only[0], "a later fragment never completed"),
        Step(INSIDE, tiny[0], "16-byte first fragment"),
        Step(INSIDE, tiny[1], "16-byte middle fragment"),
        Step(INSIDE, tiny[2], "16-byte last fragment"),
    ]


def _fragments6(base):
    """IPv6 fragments (Open vSwitch's minimum for a non-last one is 1280
    bytes)."""
    def l4(sport, dport, n, side=INSIDE):
        whole = _ip6(side) / UDP(sport=sport, dport=dport) / \
            Raw(bytes(range(256)) * (n // 256) + bytes(n % 256))
        return bytes(IPv6(bytes(whole)).payload)

    def frags(payload, ident, sizes, side=INSIDE):
        out = []
        for off, n in sizes:
            last = off + n >= len(payload)
            l3 = _ip6(side) / IPv6ExtHdrFragment(
                nh=17, offset=off // 8, m=0 if last else 1, id=ident) / \
                Raw(payload[off:off + n])
            out.append(frame(side, l3))
        return out

    in_order = frags(l4(base, 6000, 2000), 200, [(0, 1400), (1400, 608)])
    first_only = frags(l4(base + 1, 6000, 2000), 201, [(0, 1400)])
    small = frags(l4(base + 2, 6000, 40), 202, [(0, 24), (24, 24)])
    return [
        Step(INSIDE, in_order[0], "UDP6 first fragment (1400)"),
        Step(INSIDE, in_order[1], "UDP6 last fragment"),
        udp(OUTSIDE, 6000, base, b"reply", v6=True,
            note="unfragmented UDP6 reply"),
        Step(INSIDE, first_only[0], "a first fragment never completed"),
        Step(INSIDE, small[0], "24-byte first fragment"),
        Step(INSIDE, small[1], "24-byte last fragment"),
    ]


def _build():
    makers = [
        ("tcp_handshake_data_close", _tcp_close,
         "3-way handshake, data both ways, FIN/ACK close, data after close"),
        ("tcp_rst_close", _tcp_rst, "RST from server, RST-ACK from client"),
        ("tcp_unsolicited_inbound_syn", _tcp_unsolicited,
         "SYN from the outside with no connection"),
        ("tcp_out_of_window", _tcp_out_of_window,
         "data and ACKs far outside the window"),
        ("tcp_bad_flags", _tcp_bad_flags,
         "invalid flag combinations, with and without a connection"),
        ("tcp_retransmitted_syn", _tcp_retrans_syn,
         "SYN and SYN-ACK retransmissions"),
        ("tcp_simultaneous_open", _tcp_simultaneous_open,
         "both sides send SYN"),
        ("tcp_window_scaling", _tcp_wscale,
         "data in window only because of window scaling, and just outside"),
        ("tcp_window_scaling_one_sided",
         lambda b: _tcp_wscale(b, synack_scales=False),
         "wscale on the SYN only: no scaling"),
        ("tcp_syn_after_close", _tcp_reopen,
         "a SYN after the close re-opens the tuple"),
        ("tcp_ack_without_connection", _tcp_ack_no_conn,
         "mid-stream ACKs with no connection"),
        ("udp", _udp, "UDP both ways, unsolicited UDP inbound"),
        ("icmp_echo", _icmp_echo, "echo request/reply by id, unsolicited"),
        ("icmp_errors", _icmp_error,
         "ICMP errors about existing UDP/TCP connections and missing ones"),
        ("ipv6_tcp", _tcp6, "IPv6 TCP handshake, data, close"),
        ("ipv6_udp", _udp6, "IPv6 UDP both ways and unsolicited"),
        ("ipv6_icmp", _icmp6, "ICMPv6 echo and errors"),
        ("udp_one_way", _udp_one_way,
         "unanswered UDP, then a reply and more"),
        ("other_proto_one_way", _other_proto,
         "GRE (no state machine) one way, then both"),
        ("ipv4_fragments", _fragments, "IPv4 fragments, first and later"),
        ("ipv6_fragments", _fragments6, "IPv6 fragments"),
    ]
    seqs = []
    for i, (name, make, doc) in enumerate(makers):
        # Distinct ports per sequence: 20000, 20100, ...
        seqs.append(Sequence(name, make(20000 + 100 * i), doc))
    return seqs


SEQUENCES = _build()
BY_NAME = {s.name: s for s in SEQUENCES}
