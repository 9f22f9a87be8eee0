# SPDX-License-Identifier: BSD-3-Clause
"""Connection tracking with real kernel stacks on both sides.

Two network namespaces, "inside" and "outside", each holding one of
sluice's tap ports (created by sluiced, then moved into the namespace), run
the firewall a VM host uses: inside may open connections, outside may only
answer them.  TCP (several MiB, md5 checked), UDP and ping go out; an
unsolicited SYN, UDP datagram or ping from outside is dropped; FIN and RST
close the entry; dump, flush, stats and the closed-connection records are
read back through sluice-ofctl.

Every namespace is created with a unique name and deleted (after sluiced
has stopped and its taps are gone) even when a test fails.
"""
import hashlib
import json
import os
import subprocess
import time

import pytest

from sltest import OFCTL, Switch

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun"),
    reason="namespaces and tap ports need root and /dev/net/tun")

IN_IP, OUT_IP = "10.78.0.1", "10.78.0.2"
IN_IP6, OUT_IP6 = "fd78::1", "fd78::2"

FIREWALL = [
    "table=0,priority=100,arp,actions=NORMAL",
    "table=0,priority=100,icmp6,icmpv6_type=135,actions=NORMAL",
    "table=0,priority=100,icmp6,icmpv6_type=136,actions=NORMAL",
    "table=0,priority=90,ip,ct_state=-trk,actions=ct(table=1,zone=5)",
    "table=0,priority=90,ipv6,ct_state=-trk,actions=ct(table=1,zone=5)",
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+new,"
    "actions=ct(commit,zone=5),NORMAL",
    "table=1,priority=100,ipv6,in_port=1,ct_state=+trk+new,"
    "actions=ct(commit,zone=5),NORMAL",
    "table=1,priority=100,ct_state=+trk+est,actions=NORMAL",
    "table=1,priority=100,ct_state=+trk+rel,actions=NORMAL",
    "table=1,priority=1,actions=drop",
]


def sh(*args, check=True, timeout=30, **kw):
    return subprocess.run(list(args), check=check, timeout=timeout,
                          capture_output=True, text=True, **kw)


def nsx(ns, *args, **kw):
    return sh("ip", "netns", "exec", ns, *args, **kw)


SERVER = r"""
import hashlib, socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(float(sys.argv[3]))
print("ready", flush=True)
try:
    c, _ = s.accept()
except socket.timeout:
    print("timeout", flush=True)
    sys.exit(3)
c.settimeout(20)
h = hashlib.md5()
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
c.sendall(h.hexdigest().encode())
c.close()
"""

CLIENT = r"""
import hashlib, os, socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
data = os.urandom(int(sys.argv[3]))
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[4]))
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(100)
    if not b:
        break
    got += b
print(hashlib.md5(data).hexdigest(), got.decode())
"""

UDP_SERVER = r"""
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[3]))
print("ready", flush=True)
n = 0
try:
    while True:
        b, a = s.recvfrom(2048)
        n += 1
        s.sendto(b"re:" + b, a)
except socket.timeout:
    pass
print("got", n, flush=True)
"""

UDP_CLIENT = r"""
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1.0)
ok = 0
for i in range(int(sys.argv[3])):
    s.sendto(b"hello%d" % i, (sys.argv[1], int(sys.argv[2])))
    try:
        b, _ = s.recvfrom(2048)
        ok += b == b"re:hello%d" % i
    except socket.timeout:
        pass
print(ok)
"""


class Net:
    """sluiced with tap ports t<k> (ofport 1 = inside, 2 = outside), each
    moved into its own namespace."""

    def __init__(self, flows=FIREWALL, extra_config=None):
        tag = os.getpid() % 100000
        self.ns = {"in": f"slctin{tag}", "out": f"slctout{tag}"}
        self.ifs = {"in": f"slci{tag}", "out": f"slco{tag}"}
        self.sw = None
        self.procs = []
        try:
            self._setup(flows, extra_config)
        except BaseException:
            # Nothing it made outlives a failed set-up (the namespaces, the
            # daemon and its taps).
            self.close()
            raise

    def _setup(self, flows, extra_config):
        for ns in self.ns.values():
            sh("ip", "netns", "del", ns, check=False)
            sh("ip", "netns", "add", ns)
        ports = [{"name": "tin", "ofport": 1, "type": "tap",
                  "ifname": self.ifs["in"]},
                 {"name": "tout", "ofport": 2, "type": "tap",
                  "ifname": self.ifs["out"]}]
        sw = Switch(ports=ports, flows=flows, start=False)
        if extra_config:
            sw.config.update(extra_config)
        sw.start()
        self.sw = sw
        for side, ip, ip6 in (("in", IN_IP, IN_IP6), ("out", OUT_IP,
                                                      OUT_IP6)):
            ns, ifn = self.ns[side], self.ifs[side]
            sh("ip", "link", "set", ifn, "netns", ns)
            nsx(ns, "ip", "link", "set", "lo", "up")
            nsx(ns, "ip", "addr", "add", f"{ip}/24", "dev", ifn)
            nsx(ns, "ip", "-6", "addr", "add", f"{ip6}/64", "dev", ifn,
                "nodad")
            nsx(ns, "ip", "link", "set", ifn, "up")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        if self.sw:
            self.sw.stop()
        for ns in self.ns.values():
            sh("ip", "netns", "del", ns, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def spawn(self, side, script, *args):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[side],
                              "/usr/bin/python3", "-c", script,
                              *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        assert line.strip() == "ready", (line, p.stderr.read())
        return p

    def run(self, side, script, *args, timeout=60):
        return nsx(self.ns[side], "/usr/bin/python3", "-c", script,
                   *map(str, args), check=False, timeout=timeout)

    def ping(self, side, dst, count=2):
        r = nsx(self.ns[side], "ping", "-c", str(count), "-i", "0.2", "-W",
                "1", dst, check=False)
        return r.returncode == 0

    def ofctl(self, *args):
        return sh(OFCTL, "--socket", self.sw.sock, *args).stdout

    def ofctl_json(self, *args):
        return json.loads(self.ofctl("--format=json", *args))

    def conns(self, **kw):
        args = [f"zone={kw['zone']}"] if "zone" in kw else []
        return self.ofctl_json("dump-conntrack", *args)["connections"]


@pytest.fixture
def net():
    n = Net()
    try:
        yield n
    finally:
        n.close()


def tcp_transfer(net, client, server, ip, port, size=4 << 20,
                 accept_timeout=10):
    srv = net.spawn(server, SERVER, ip, port, accept_timeout)
    r = net.run(client, CLIENT, ip, port, size, 10)
    srv.wait(timeout=30)
    return r, srv


def test_outbound_tcp_md5_and_unsolicited_inbound_dropped(net):
    # Neighbours first (ARP is NORMAL): the first pings prime them.
    assert net.ping("in", OUT_IP), "ping inside -> outside"
    r, srv = tcp_transfer(net, "in", "out", OUT_IP, 5001)
    assert r.returncode == 0, r.stderr
    sent, echoed = r.stdout.split()
    assert sent == echoed, "the md5 the server computed differs"

    conns = net.conns(zone=5)
    tcp = [c for c in conns if c["proto"] == "tcp"
           and c["orig"]["dport"] == 5001]
    assert len(tcp) == 1, conns
    c = tcp[0]
    assert c["orig"]["src"] == IN_IP and c["orig"]["dst"] == OUT_IP
    assert c["reply"]["src"] == OUT_IP
    # The 4 MiB went through the tracker (as segments, or as the GSO
    # frames the kernel hands a tap with offloads: fewer, larger packets).
    assert c["bytes"][0] > 4 << 20 and c["packets"][1] > 10
    # Both sides closed (FIN): the entry is in a closing state.
    assert c["state"] in ("TIME_WAIT", "CLOSED", "CLOSING", "LAST_ACK",
                          "FIN_WAIT_2"), c
    assert "zone=5" in c["line"] and c["line"].startswith("tcp,orig=(")

    # Outside cannot open a connection to inside.
    r, srv = tcp_transfer(net, "out", "in", IN_IP, 5002, size=1000,
                          accept_timeout=3)
    assert r.returncode != 0, "unsolicited inbound TCP got through"
    assert srv.returncode == 3, "the inside server accepted a connection"
    stats = net.ofctl_json("conntrack-stats")
    assert stats["connections"] >= 1
    assert stats["created"] >= 2       # the ping and the transfer


def test_ping_and_udp(net):
    assert net.ping("in", OUT_IP)
    assert not net.ping("out", IN_IP), "unsolicited inbound ping answered"
    icmp = [c for c in net.conns() if c["proto"] == "icmp"]
    assert icmp and icmp[0]["orig"]["src"] == IN_IP

    srv = net.spawn("out", UDP_SERVER, OUT_IP, 6000, 3)
    r = net.run("in", UDP_CLIENT, OUT_IP, 6000, 5)
    assert r.stdout.strip() == "5", (r.stdout, r.stderr)
    srv.wait(timeout=10)
    srv2 = net.spawn("in", UDP_SERVER, IN_IP, 6001, 2)
    r = net.run("out", UDP_CLIENT, IN_IP, 6001, 2)
    assert r.stdout.strip() == "0", "unsolicited inbound UDP answered"
    srv2.wait(timeout=10)
    assert "got 0" in srv2.stdout.read()
    # Every IP packet took a second pass; received packets count once.
    pmds = net.sw.call("pmd-stats")
    rx = sum(p["rx_packets"] for p in net.sw.call("dump-ports", bridge="br0"))
    assert sum(p["packets"] for p in pmds) == rx
    assert 0 < sum(p["recirculations"] for p in pmds) <= rx


def test_ipv6_tcp_and_ping(net):
    assert net.ping("in", OUT_IP6)
    assert not net.ping("out", IN_IP6)
    r, srv = tcp_transfer(net, "in", "out", OUT_IP6, 5003, size=1 << 20)
    assert r.returncode == 0, r.stderr
    sent, echoed = r.stdout.split()
    assert sent == echoed
    v6 = [c for c in net.conns() if c["orig"]["src"] == IN_IP6]
    assert {c["proto"] for c in v6} >= {"tcp", "icmp6"}


def test_flush_and_closed_records(net):
    assert net.ping("in", OUT_IP)
    r, srv = tcp_transfer(net, "in", "out", OUT_IP, 5004, size=200000)
    assert r.returncode == 0, r.stderr
    n = len(net.conns(zone=5))
    assert n >= 2
    assert len(net.conns(zone=6)) == 0
    r = net.sw.call("dump-conntrack", limit=1)
    assert len(r["connections"]) == 1 and r["truncated"]
    assert r["total"] == n and not net.sw.call("dump-conntrack")["truncated"]
    # Flush one connection by its tuple, then the rest of the zone.
    tcp = [c for c in net.conns() if c["proto"] == "tcp"][0]
    tuple_ = (f"ct_nw_src={IN_IP},ct_nw_dst={OUT_IP},ct_nw_proto=6,"
              f"ct_tp_src={tcp['orig']['sport']},ct_tp_dst=5004")
    out = net.ofctl("flush-conntrack", "zone=5", tuple_)
    assert "flushed 1 " in out
    assert len(net.conns(zone=5)) == n - 1
    net.ofctl("flush-conntrack", "zone=5")
    assert net.conns(zone=5) == []
    ev = net.ofctl_json("conntrack-events")["events"]
    flushed = [e for e in ev if e["reason"] == "flush"]
    assert len(flushed) == n
    t = [e for e in flushed if e["proto"] == "tcp"][0]
    # Every byte the transfer sent is in the record (headers included).
    assert t["bytes"][0] > 200000 and t["packets"][1] > 0
    text = net.ofctl("conntrack-events")
    assert "closed(flush) tcp,orig=(" in text
    # After the flush the established flow's packets are new again: the
    # inside can reconnect.
    r, srv = tcp_transfer(net, "in", "out", OUT_IP, 5005, size=1000)
    assert r.returncode == 0, r.stderr


def test_rst_closes(net):
    assert net.ping("in", OUT_IP)
    # Nobody listens on 5009 outside: the SYN is committed and answered by
    # a RST, which closes the entry.
    r = net.run("in", CLIENT, OUT_IP, 5009, 10, 3)
    assert r.returncode != 0 and "refused" in r.stderr.lower(), r.stderr
    c = [c for c in net.conns() if c["proto"] == "tcp"]
    assert c and c[0]["state"] in ("CLOSED", "TIME_WAIT"), c


# ---- NAT: SNAT out, a DNAT port-forward in. ----

SNAT_IP, DNAT_IP = "10.78.0.100", "10.78.0.200"

NAT_FLOWS = [
    "table=0,priority=100,arp,actions=NORMAL",
    "table=0,priority=90,ip,ct_state=-trk,actions=ct(table=1,zone=7,nat)",
    # Inside opens: source translated to SNAT_IP.
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+new,"
    f"actions=ct(commit,zone=7,nat(src={SNAT_IP}),"
    "exec(set_field:0x2a->ct_mark)),NORMAL",
    # Outside reaches the inside web server at DNAT_IP:8080.
    f"table=1,priority=100,tcp,in_port=2,nw_dst={DNAT_IP},tp_dst=8080,"
    f"ct_state=+trk+new,actions=ct(commit,zone=7,nat(dst={IN_IP}:80)),"
    "NORMAL",
    "table=1,priority=100,ct_state=+trk+est,actions=NORMAL",
    "table=1,priority=100,ct_state=+trk+rel,actions=NORMAL",
    "table=1,priority=1,actions=drop",
]

ECHO_PEER = r"""
import socket, sys
fam = socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(float(sys.argv[3]))
print("ready", flush=True)
c, peer = s.accept()
c.settimeout(10)
data = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    data += b
c.sendall(("%s %d %d" % (peer[0], peer[1], len(data))).encode())
c.close()
"""

PEER_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(5)
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(b"x" * int(sys.argv[3]))
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(200)
    if not b:
        break
    got += b
print(got.decode(), s.getsockname()[1])
"""


def _mac(net, side):
    out = nsx(net.ns[side], "ip", "-j", "link", "show",
              net.ifs[side]).stdout
    return json.loads(out)[0]["address"]


@pytest.fixture
def nat_net():
    n = Net(flows=NAT_FLOWS)    # cleans up after itself if it fails
    try:
        # The outside host reaches the NAT addresses at the inside tap's
        # MAC (no one answers ARP for them).
        mac = _mac(n, "in")
        for ip in (SNAT_IP, DNAT_IP):
            nsx(n.ns["out"], "ip", "neigh", "replace", ip, "lladdr", mac,
                "dev", n.ifs["out"], "nud", "permanent")
        yield n
    finally:
        n.close()


def test_snat_seen_from_outside(nat_net):
    net = nat_net
    assert net.ping("in", OUT_IP), "ping through SNAT"
    srv = net.spawn("out", ECHO_PEER, OUT_IP, 7001, 10)
    r = net.run("in", PEER_CLIENT, OUT_IP, 7001, 300000)
    assert r.returncode == 0, r.stderr
    peer_ip, peer_port, n, local_port = r.stdout.split()
    # The outside saw the translated source, and every byte arrived.
    assert peer_ip == SNAT_IP
    assert int(n) == 300000
    srv.wait(timeout=10)
    conns = [c for c in net.conns(zone=7) if c["proto"] == "tcp"]
    assert len(conns) == 1, conns
    c = conns[0]
    assert c["snat"] and not c["dnat"]
    assert c["orig"]["src"] == IN_IP and c["reply"]["dst"] == SNAT_IP
    assert c["mark"] == 0x2a
    assert int(peer_port) == c["reply"]["dport"]
    assert int(local_port) == c["orig"]["sport"]


def test_dnat_port_forward(nat_net):
    net = nat_net
    assert net.ping("in", OUT_IP)       # neighbours both ways
    srv = net.spawn("in", ECHO_PEER, IN_IP, 80, 10)
    r = net.run("out", PEER_CLIENT, DNAT_IP, 8080, 5000)
    assert r.returncode == 0, r.stderr
    peer_ip, peer_port, n, local_port = r.stdout.split()
    # The inside server saw the real client; the client talked to
    # DNAT_IP:8080 throughout (its connect() would fail otherwise).
    assert peer_ip == OUT_IP and int(n) == 5000
    srv.wait(timeout=10)
    c = [c for c in net.conns(zone=7) if c["proto"] == "tcp"
         and c["orig"]["dport"] == 8080][0]
    assert c["dnat"] and c["reply"]["src"] == IN_IP
    assert c["reply"]["sport"] == 80
    # Anything else from outside is still dropped.
    assert not net.ping("out", IN_IP)
