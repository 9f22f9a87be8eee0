# SPDX-License-Identifier: BSD-3-Clause
"""ctnat: NAT sequences and flows for the differential conntrack test.

The same harness as ctseq (ports 1 inside, 2 outside, one verdict port per
ct_state bit), with a NAT firewall:

  * table 0 sends every IP packet through ct(table=1,zone=5,nat): existing
    connections are translated (originals) or un-NATed (replies, ICMP
    errors about them) there;
  * tables 1..9 copy the packet to a verdict port per bit: ctseq's six,
    +snat, +dnat, and ct_mark=42;
  * table 10, the firewall: established and related pass to the other
    port, invalid is dropped, new connections from inside are committed
    with SNAT to 10.0.0.100 / fd00::100 (some clients to port ranges), new
    TCP connections from outside to 10.0.0.200:8080 / [fd00::200]:8080 are
    committed with DNAT to the inside server 10.0.0.1:80 / [fd00::1]:80
    (a port forward); other new connections from outside are dropped.

Exact sequences (NAT_SEQUENCES) are compared byte for byte with Open
vSwitch: their translated tuples are ones Open vSwitch picks
deterministically (a single address, the original source port while it is
free, the next port when it is not).  Where the server answers, it answers
the translated address and port that the sequence predicts; a switch that
picked another port shows up as a dropped (+new) reply.

Port-range sequences (RANGE_SEQUENCES) pick the port (and the address of an
address range) from a hash with a per-process random basis in Open vSwitch,
or at random (`random`), so they are run as property checks on each
switch: see test_ct_diff.py.
"""
from scapy.all import (ICMP, IP, TCP, UDP, Ether, ICMPv6DestUnreach,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig,
                       IPv6, Raw)

from ctseq import (IN4, IN6, INSIDE, OUT4, OUT6, OUTSIDE, ROUTER4, ROUTER6,
                   Sequence, Step, Tcp, _bit_tables, frame)

ZONE = 5
NAT4, NAT6 = "10.0.0.100", "fd00::100"          # SNAT address
VIP4, VIP6 = "10.0.0.200", "fd00::200"          # DNAT: outside address
VIP4_B = "10.0.0.201"                           # (also 10.0.0.201)
VIP_PORT, SERVICE_PORT = 8080, 80               # ... and port
IN4_B = "10.0.0.3"                              # a second inside client
MARK = 42

# Range SNAT clients and their ranges.
RANGE_NET, RANGE_NAT = "10.0.0.8/29", ("10.0.0.100", "10.0.0.101",
                                       40000, 40010)
SMALL_NET, SMALL_NAT = "10.0.0.16/29", ("10.0.0.102", "10.0.0.102",
                                        40000, 40001)
RANDOM_NET, RANDOM_NAT = "10.0.0.24/29", ("10.0.0.103", "10.0.0.103",
                                          50000, 50009)

BIT_PORTS = {"new": 10, "est": 11, "rel": 12, "rpl": 13, "inv": 14,
             "trk": 15, "snat": 16, "dnat": 17, f"mark{MARK}": 18}
BIT_MATCHES = {f"mark{MARK}": f"ct_mark={MARK}"}
PORTS = (INSIDE, OUTSIDE) + tuple(BIT_PORTS.values())
FW = len(BIT_PORTS) + 1


def _nat(rng, extra=""):
    lo, hi, plo, phi = rng
    return f"nat(src={lo}-{hi}:{plo}-{phi}{extra})"


FLOWS = [
    f"table=0,priority=100,ip,ct_state=-trk,"
    f"actions=ct(table=1,zone={ZONE},nat)",
    f"table=0,priority=100,ipv6,ct_state=-trk,"
    f"actions=ct(table=1,zone={ZONE},nat)",
    "table=0,priority=0,actions=drop",
] + _bit_tables(BIT_PORTS, BIT_MATCHES) + [
    f"table={FW},priority=40,ct_state=+trk+inv,actions=drop",
    f"table={FW},priority=30,in_port=1,ct_state=+trk+est,actions=output:2",
    f"table={FW},priority=30,in_port=2,ct_state=+trk+est,actions=output:1",
    f"table={FW},priority=20,in_port=1,ct_state=+trk+rel,actions=output:2",
    f"table={FW},priority=20,in_port=2,ct_state=+trk+rel,actions=output:1",
    # NAT and a mark in the same commit: UDP to port 7.
    f"table={FW},priority=14,udp,in_port=1,tp_dst=7,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},nat(src={NAT4}),"
    f"exec(set_field:{MARK}->ct_mark)),output:2",
    # Port ranges.
    f"table={FW},priority=13,ip,in_port=1,nw_src={RANGE_NET},"
    f"ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},{_nat(RANGE_NAT)}),output:2",
    f"table={FW},priority=13,ip,in_port=1,nw_src={SMALL_NET},"
    f"ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},{_nat(SMALL_NAT)}),output:2",
    f"table={FW},priority=13,ip,in_port=1,nw_src={RANDOM_NET},"
    f"ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},{_nat(RANDOM_NAT, ',random')}),"
    "output:2",
    # The port forward.
    f"table={FW},priority=12,tcp,in_port=2,nw_dst={VIP4}/31,"
    f"tp_dst={VIP_PORT},"
    f"ct_state=+trk+new,actions=ct(commit,zone={ZONE},"
    f"nat(dst={IN4}:{SERVICE_PORT})),output:1",
    f"table={FW},priority=12,tcp6,in_port=2,ipv6_dst={VIP6},"
    f"tp_dst={VIP_PORT},ct_state=+trk+new,actions=ct(commit,zone={ZONE},"
    f"nat(dst=[{IN6}]:{SERVICE_PORT})),output:1",
    # SNAT for everything else from inside.
    f"table={FW},priority=10,ip,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},nat(src={NAT4})),output:2",
    f"table={FW},priority=10,ipv6,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone={ZONE},nat(src={NAT6})),output:2",
    f"table={FW},priority=5,in_port=2,ct_state=+trk+new,actions=drop",
    f"table={FW},priority=0,actions=drop",
]


# ---------------------------------------------------------------------------
# Builders.

def snat_tcp(cport, sport=SERVICE_PORT, v6=False, client=None, nat=None,
             nport=None, **kw):
    """A TCP conversation from an inside client through SNAT: the server
    (outside) answers nat:nport (default: the SNAT address, the client's
    port)."""
    client = client or (IN6 if v6 else IN4)
    server = OUT6 if v6 else OUT4
    nat = nat or (NAT6 if v6 else NAT4)
    nport = cport if nport is None else nport
    return Tcp(cport, sport, v6=v6, ends={
        INSIDE: (INSIDE, client, server, cport, sport),
        OUTSIDE: (OUTSIDE, server, nat, sport, nport)}, **kw)


def dnat_tcp(cport, v6=False, vip=None, nport=None, **kw):
    """A TCP conversation from an outside client to the port forward: the
    client sends to the VIP, the inside server answers the client (at
    nport: the client's port unless given)."""
    client = OUT6 if v6 else OUT4
    server = IN6 if v6 else IN4
    vip = vip or (VIP6 if v6 else VIP4)
    return Tcp(cport, VIP_PORT, v6=v6, ends={
        INSIDE: (OUTSIDE, client, vip, cport, VIP_PORT),
        OUTSIDE: (INSIDE, server, client, SERVICE_PORT,
                  cport if nport is None else nport)}, **kw)


def _ipl(src, dst, v6, **kw):
    if v6:
        return IPv6(src=src, dst=dst, hlim=64)
    return IP(src=src, dst=dst, ttl=64, **kw)


def udp(side, src, dst, sport, dport, data=b"ping", v6=False, note="UDP"):
    l3 = _ipl(src, dst, v6, id=7) / UDP(sport=sport, dport=dport) / Raw(data)
    return Step(side, frame(side, l3), note)


def echo(side, src, dst, type_, id_, seq, note, v6=False):
    if v6:
        l4 = (ICMPv6EchoRequest if type_ == 8 else ICMPv6EchoReply)(
            id=id_, seq=seq)
    else:
        l4 = ICMP(type=type_, id=id_, seq=seq)
    return Step(side, frame(side, _ipl(src, dst, v6, id=1) / l4 /
                            Raw(b"abcdefgh")), note)


def translated(step, src=None, dst=None, sport=None, dport=None):
    """The IP packet of a step's frame as it looks after NAT ('src' etc.
    replaced, checksums recomputed): what an ICMP error embeds."""
    p = Ether(step.frame)
    ip = p[IPv6] if IPv6 in p else p[IP]
    ip = ip.copy()
    if src:
        ip.src = src
    if dst:
        ip.dst = dst
    if IP in ip:
        del ip[IP].chksum
    for cls in (TCP, UDP):
        if cls in ip:
            if sport is not None:
                ip[cls].sport = sport
            if dport is not None:
                ip[cls].dport = dport
            del ip[cls].chksum
    return bytes(ip)


def icmp_err(side, src, dst, inner, note, v6=False, type_=3, code=3, **kw):
    if v6:
        l4 = ICMPv6DestUnreach(code=code)
        l3 = IPv6(src=src, dst=dst, hlim=64)
    else:
        l4 = ICMP(type=type_, code=code, **kw)
        l3 = IP(src=src, dst=dst, ttl=64, id=3)
    return Step(side, frame(side, l3 / l4 / Raw(inner)), note)


# ---------------------------------------------------------------------------
# Exact sequences.

def _snat_tcp(base):
    t = snat_tcp(base)
    return t.handshake() + [
        t.c("PA", "data c->s", b"GET / HTTP/1.0\r\n\r\n"),
        t.s("A", "ACK s"),
        t.s("PA", "data s->c", b"HTTP/1.0 200 OK\r\n\r\nhello"),
        t.c("A", "ACK c"),
        t.c("FA", "FIN-ACK c"),
        t.s("A", "ACK of FIN s"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
        snat_tcp(base + 1).s("S", "SYN from outside to the SNAT address"),
        Tcp(base + 2).s("S", "SYN from outside to the inside address"),
    ]


def _snat_udp(base):
    return [
        udp(INSIDE, IN4, OUT4, base, 53, b"query", note="UDP c->s"),
        udp(OUTSIDE, OUT4, NAT4, 53, base, b"answer",
            note="reply to the SNAT address"),
        udp(INSIDE, IN4, OUT4, base, 53, b"query2", note="UDP c->s again"),
        udp(OUTSIDE, OUT4, NAT4, 53, base, b"answer2", note="reply again"),
        udp(OUTSIDE, OUT4, NAT4, 53, base + 1, b"x",
            note="UDP to the SNAT address, unused port"),
        udp(INSIDE, IN4, OUT4, base + 2, 53, bytes(0), note="empty UDP c->s"),
        udp(OUTSIDE, OUT4, NAT4, 53, base + 2, bytes(0), note="empty reply"),
    ]


def _snat_udp_nocsum(base):
    """An IPv4 UDP datagram without checksum (0) stays without one."""
    def nocsum(side, src, dst, sp, dp, note):
        l3 = IP(src=src, dst=dst, ttl=64, id=7) / \
            UDP(sport=sp, dport=dp, chksum=0) / Raw(b"nocsum")
        return Step(side, frame(side, l3), note)
    return [
        nocsum(INSIDE, IN4, OUT4, base, 53, "UDP c->s, checksum 0"),
        nocsum(OUTSIDE, OUT4, NAT4, 53, base, "reply, checksum 0"),
    ]


def _snat_icmp_echo(base):
    return [
        echo(INSIDE, IN4, OUT4, 8, base, 1, "echo request"),
        echo(OUTSIDE, OUT4, NAT4, 0, base, 1, "echo reply to SNAT address"),
        echo(INSIDE, IN4, OUT4, 8, base, 2, "echo request, same id"),
        echo(OUTSIDE, OUT4, NAT4, 0, base, 2, "echo reply"),
        echo(INSIDE, IN4_B, OUT4, 8, base + 1, 1,
             "echo request from a second client, other id"),
        echo(OUTSIDE, OUT4, NAT4, 0, base + 1, 1, "its reply"),
        echo(INSIDE, IN4_B, OUT4, 8, base, 1,
             "echo request from the second client, the first's id"),
        echo(OUTSIDE, OUT4, NAT4, 0, base, 3,
             "echo reply, first client's id"),
        echo(OUTSIDE, OUT4, NAT4, 8, base + 2, 1,
             "echo request from outside to the SNAT address"),
    ]


def _snat_icmp_errors(base):
    u = udp(INSIDE, IN4, OUT4, base, 5000, b"datagram", note="UDP c->s")
    u_nat = translated(u, src=NAT4)
    t = snat_tcp(base + 1)
    hs = t.handshake()
    data = t.c("PA", "TCP data c->s", b"x" * 40)
    data_nat = translated(data, src=NAT4)
    ghost = udp(INSIDE, IN4, OUT4, base + 2, 5001, b"never sent", note="-")
    reply = udp(OUTSIDE, OUT4, IN4, 5000, base, b"reply", note="-")
    return [
        u,
        icmp_err(OUTSIDE, OUT4, NAT4, u_nat,
                 "port unreachable from server, UDP conn"),
        icmp_err(OUTSIDE, ROUTER4, NAT4, u_nat,
                 "host unreachable from router, UDP conn", code=1),
        icmp_err(OUTSIDE, ROUTER4, NAT4, u_nat,
                 "time exceeded from router, UDP conn", type_=11, code=0),
    ] + hs + [
        data,
        icmp_err(OUTSIDE, ROUTER4, NAT4, data_nat,
                 "frag needed from router, TCP conn", code=4,
                 nexthopmtu=1400),
        icmp_err(OUTSIDE, ROUTER4, NAT4, data_nat[:28],
                 "frag needed, TCP conn, 8 bytes of TCP only", code=4,
                 nexthopmtu=1400),
        icmp_err(OUTSIDE, OUT4, NAT4, translated(ghost, src=NAT4),
                 "port unreachable, no such UDP conn"),
        icmp_err(OUTSIDE, OUT4, NAT4, bytes(Ether(u.frame)[IP]),
                 "port unreachable embedding the untranslated packet"),
        icmp_err(INSIDE, IN4, OUT4, bytes(Ether(reply.frame)[IP]),
                 "port unreachable from inside about the un-NATed reply"),
    ]


def _dnat_tcp(base):
    t = dnat_tcp(base)
    return t.handshake() + [
        t.c("PA", "data c->s", b"GET / HTTP/1.0\r\n\r\n"),
        t.s("PA", "data s->c", b"HTTP/1.0 200 OK\r\n\r\nhi"),
        t.c("A", "ACK c"),
        t.c("FA", "FIN-ACK c"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
        Tcp(base + 1, SERVICE_PORT, ends={
            INSIDE: (OUTSIDE, OUT4, IN4, base + 1, SERVICE_PORT),
            OUTSIDE: (INSIDE, IN4, OUT4, SERVICE_PORT, base + 1)}).c(
                "S", "SYN from outside straight to the inside server"),
        Tcp(base + 2, 8081, ends={
            INSIDE: (OUTSIDE, OUT4, VIP4, base + 2, 8081),
            OUTSIDE: (INSIDE, IN4, OUT4, 8081, base + 2)}).c(
                "S", "SYN to the VIP, other port"),
    ]


def _dnat_icmp_error(base):
    """A router's error about the server's (un-NATed) reply, and the
    client's error about it."""
    t = dnat_tcp(base)
    hs = t.handshake()
    data = t.s("PA", "data s->c", b"z" * 30)
    seen = translated(data, src=VIP4, sport=VIP_PORT)   # as the client saw it
    syn = hs[0]
    fwd = translated(syn, dst=IN4, dport=SERVICE_PORT)  # as the server saw it
    return hs + [
        data,
        icmp_err(OUTSIDE, OUT4, VIP4, seen,
                 "frag needed from the client about the reply", code=4,
                 nexthopmtu=1300),
        icmp_err(INSIDE, IN4, OUT4, fwd,
                 "port unreachable from the server about the forwarded SYN"),
        icmp_err(INSIDE, ROUTER4, OUT4, fwd,
                 "host unreachable from an inside router, same", code=1),
    ]


def _dnat_port_clash(base):
    """One outside client, the same source port, to both VIPs forwarded to
    the same inside server: the second connection's reply tuple would be
    the first's, so Open vSwitch changes its source port (the next one
    up, as SNAT without a range)."""
    a = dnat_tcp(base)
    b = dnat_tcp(base, vip=VIP4_B, nport=base + 1, cisn=5555)
    return a.handshake() + b.handshake() + [
        a.c("PA", "data a", b"to vip a"),
        b.c("PA", "data b", b"to vip b"),
        b.s("PA", "answer b", b"from b"),
        a.s("PA", "answer a", b"from a"),
    ]


def _snat_port_clash(base):
    """Two inside clients, the same source port, the same server: the
    second gets the next port (Open vSwitch: the original port first, then
    upwards in its class)."""
    a = snat_tcp(base)
    b = snat_tcp(base, client=IN4_B, nport=base + 1, cisn=77777)
    lo = snat_tcp(700)                  # a port of class 600-1023
    lo_b = snat_tcp(700, client=IN4_B, nport=701, cisn=88888)
    return a.handshake() + b.handshake() + [
        a.c("PA", "data a", b"from a"),
        b.c("PA", "data b", b"from b"),
        a.s("PA", "data to a", b"to a"),
        b.s("PA", "data to b", b"to b"),
        udp(INSIDE, IN4, OUT4, base + 2, 53, b"a", note="UDP a"),
        udp(INSIDE, IN4_B, OUT4, base + 2, 53, b"b",
            note="UDP b, same port"),
        udp(OUTSIDE, OUT4, NAT4, 53, base + 2, b"to a", note="reply to a"),
        udp(OUTSIDE, OUT4, NAT4, 53, base + 3, b"to b",
            note="reply to b (next port)"),
        udp(INSIDE, IN4, OUT4, 550, 53, b"a", note="UDP a from 550"),
        udp(INSIDE, IN4_B, OUT4, 550, 53, b"b",
            note="UDP b from 550 (512-599: no class)"),
        udp(OUTSIDE, OUT4, NAT4, 53, 600, b"to b", note="reply to b at 600"),
        lo.c("S", "SYN a from port 700"),
        lo_b.c("S", "SYN b from port 700"),
        lo_b.s("SA", "SYN-ACK to b at 701"),
    ]


def _snat_port_clash_top(base):
    """The clash at 65535 wraps to the bottom of 1024-65535."""
    a = udp(INSIDE, IN4, OUT4, 65535, base, b"a", note="UDP a from 65535")
    b = udp(INSIDE, IN4_B, OUT4, 65535, base, b"b", note="UDP b from 65535")
    return [a, b,
            udp(OUTSIDE, OUT4, NAT4, base, 1024, b"to b",
                note="reply to b at 1024")]


def _snat_low_ports(base):
    """Source ports below 1024 keep to their class: 53 clashes to 54, 511
    wraps to 1."""
    return [
        udp(INSIDE, IN4, OUT4, 53, base, b"a", note="UDP a from 53"),
        udp(INSIDE, IN4_B, OUT4, 53, base, b"b", note="UDP b from 53"),
        udp(OUTSIDE, OUT4, NAT4, base, 54, b"to b", note="reply to b at 54"),
        udp(INSIDE, IN4, OUT4, 511, base, b"a", note="UDP a from 511"),
        udp(INSIDE, IN4_B, OUT4, 511, base, b"b", note="UDP b from 511"),
        udp(OUTSIDE, OUT4, NAT4, base, 1, b"to b", note="reply to b at 1"),
    ]


def _snat_tcp_reopen(base):
    """A SYN re-opening a closed SNATed connection: a new connection on
    the same tuple, translated the same way."""
    t = snat_tcp(base)
    steps = t.handshake() + [
        t.c("FA", "FIN-ACK c"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
    ]
    t.next[INSIDE] += 100000
    t.next[OUTSIDE] += 700000
    return steps + t.handshake() + [t.c("PA", "data", b"second life"),
                                    t.s("R", "RST s")]


def _snat_mark(base):
    return [
        udp(INSIDE, IN4, OUT4, base, 7, b"echo me", note="UDP to 7: mark"),
        udp(OUTSIDE, OUT4, NAT4, 7, base, b"echo me", note="reply"),
        udp(INSIDE, IN4, OUT4, base, 7, b"again", note="again"),
    ]


def _snat6(base):
    t = snat_tcp(base, v6=True)
    u = udp(INSIDE, IN6, OUT6, base + 1, 5000, b"d6", v6=True,
            note="UDP6 c->s")
    t2 = snat_tcp(base + 3, v6=True)
    hs2 = t2.handshake()
    data2 = t2.c("PA", "TCP6 data", b"y" * 40)
    too_big = Step(OUTSIDE, frame(OUTSIDE, IPv6(src=ROUTER6, dst=NAT6,
                                                 hlim=64) /
                                  ICMPv6PacketTooBig(mtu=1280) /
                                  Raw(translated(data2, src=NAT6))),
                   "packet too big from router, TCP6 conn")
    tail = hs2 + [data2, too_big,
                  echo(INSIDE, "fd00::3", OUT6, 8, base, 1,
                       "echo6 from a second client, the first's id",
                       v6=True)]
    return t.handshake() + [
        t.c("PA", "data c->s", b"hello6"),
        t.s("PA", "data s->c", b"world6"),
        t.c("FA", "FIN-ACK c"),
        t.s("FA", "FIN-ACK s"),
        t.c("A", "last ACK c"),
        u,
        udp(OUTSIDE, OUT6, NAT6, 5000, base + 1, b"r6", v6=True,
            note="UDP6 reply"),
        icmp_err(OUTSIDE, OUT6, NAT6, translated(u, src=NAT6),
                 "port unreachable6, UDP6 conn", v6=True, code=4),
        echo(INSIDE, IN6, OUT6, 8, base, 1, "echo6 request", v6=True),
        echo(OUTSIDE, OUT6, NAT6, 0, base, 1, "echo6 reply", v6=True),
        udp(INSIDE, "fd00::3", OUT6, base + 1, 5000, b"b6", v6=True,
            note="UDP6 second client, same port"),
        udp(OUTSIDE, OUT6, NAT6, 5000, base + 2, b"rb6", v6=True,
            note="reply to it at the next port"),
    ] + tail


def _dnat6(base):
    t = dnat_tcp(base, v6=True)
    return t.handshake() + [
        t.c("PA", "data c->s", b"q6"),
        t.s("PA", "data s->c", b"a6"),
    ]


def _build():
    makers = [
        ("nat_snat_tcp", _snat_tcp,
         "TCP handshake, data, close through SNAT; unsolicited SYNs"),
        ("nat_snat_udp", _snat_udp, "UDP through SNAT"),
        ("nat_snat_udp_no_checksum", _snat_udp_nocsum,
         "UDP with checksum 0 through SNAT"),
        ("nat_snat_icmp_echo", _snat_icmp_echo,
         "ICMP echo through SNAT, two clients"),
        ("nat_snat_icmp_errors", _snat_icmp_errors,
         "ICMP errors about SNATed UDP/TCP connections"),
        ("nat_dnat_tcp", _dnat_tcp, "a TCP port forward both ways"),
        ("nat_dnat_icmp_error", _dnat_icmp_error,
         "ICMP error about a port-forwarded connection's reply"),
        ("nat_snat_port_clash", _snat_port_clash,
         "two clients with the same source port through one address"),
        ("nat_snat_port_clash_top", _snat_port_clash_top,
         "the same at port 65535"),
        ("nat_dnat_port_clash", _dnat_port_clash,
         "two port forwards to one server, same client port"),
        ("nat_snat_low_ports", _snat_low_ports,
         "port clashes below 1024"),
        ("nat_snat_mark", _snat_mark, "SNAT and ct_mark in one commit"),
        ("nat_ipv6_snat", _snat6, "IPv6 SNAT: TCP, UDP, ICMPv6"),
        ("nat_ipv6_dnat", _dnat6, "IPv6 port forward"),
    ]
    return [Sequence(name, make(30000 + 100 * i), doc)
            for i, (name, make, doc) in enumerate(makers)]


NAT_SEQUENCES = _build()
# Where sluice differs from Open vSwitch by design (test_ct_diff checks
# these against sluice's rule and Open vSwitch's documented behaviour).
REOPEN = Sequence("nat_snat_tcp_reopen", _snat_tcp_reopen(31900),
                  "a SYN after the close re-opens a SNATed tuple")
BY_NAME = {s.name: s for s in NAT_SEQUENCES + [REOPEN]}
