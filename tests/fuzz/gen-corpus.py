#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gen-corpus.py: writes the seed corpora in tests/fuzz/corpus/<target>/.

Deterministic (fixed random seed), so re-running it gives the same files.
Run with Debian's /usr/bin/python3 (it has scapy):
    /usr/bin/python3 tests/fuzz/gen-corpus.py [OUTDIR]
Input formats are documented at the top of each fuzz-*.c.
"""
import json
import os
import random
import shutil
import struct
import sys

from scapy.all import (ARP, Dot1AD, Dot1Q, Ether, ICMP, IP, IPv6,
                       ICMPv6EchoRequest, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, LLC, Raw, SCTP, TCP, UDP)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
rng = random.Random(6)

DP_ACTION_SIZE = 88                 # sizeof(struct dp_action)
(DPA_OUTPUT, DPA_SET_ETH, DPA_SET_IPV4, DPA_SET_IPV6, DPA_SET_L4,
 DPA_PUSH_VLAN, DPA_POP_VLAN, DPA_SET_VLAN) = range(8)


def action(kind, body=b""):
    a = struct.pack("<HH", kind, 0) + body
    return a.ljust(DP_ACTION_SIZE, b"\0")


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


ACTIONS = [
    action(DPA_OUTPUT, struct.pack("<I", 2)),
    action(DPA_SET_ETH, mac("02:00:00:00:00:01") + mac("02:00:00:00:00:02")
           + b"\xff" * 6 + b"\xff" * 6),
    action(DPA_SET_IPV4, ip4("1.2.3.4") + ip4("5.6.7.8") + b"\xff" * 4
           + b"\0" * 4 + bytes([0x10, 0xfc, 9, 0xff])),
    action(DPA_SET_IPV4, b"\0" * 8 + b"\0" * 4 + b"\xff\xff\xff\0"
           + bytes([0, 0, 0, 0])),
    action(DPA_SET_IPV6, bytes(range(16)) + bytes(16) + b"\xff" * 16
           + bytes(16) + bytes([0x20, 0xff, 7, 0xff])),
    action(DPA_SET_L4, struct.pack(">HHHH", 1000, 2000, 0xffff, 0xffff)
           + bytes([6])),
    action(DPA_SET_L4, struct.pack(">HHHH", 0, 53, 0, 0xffff) + bytes([17])),
    action(DPA_SET_L4, struct.pack(">HHHH", 7, 9, 0xffff, 0xffff)
           + bytes([132])),
    action(DPA_PUSH_VLAN, struct.pack(">HH", 0x8100, 0x1000 | 10)),
    action(DPA_PUSH_VLAN, struct.pack(">HH", 0x88a8, 20)),
    action(DPA_POP_VLAN),
    action(DPA_SET_VLAN, struct.pack(">HH", 0x2005, 0xefff)),
]

A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def packets():
    e = Ether(src=A, dst=B)
    pay = Raw(b"x" * 18)
    ps = [
        e / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=9) / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2", tos=0x11) / TCP(
            sport=1234, dport=80, flags="SA") / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01" * 4)
        / ICMP(type=8, code=0) / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=5, dport=6)
        / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", frag=0)
        / UDP(sport=7, dport=9) / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2", frag=100, proto=17) / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=9,
                                                      chksum=0) / pay,
        e / IPv6(src="2001:db8::1", dst="2001:db8::2", fl=0x12345)
        / TCP(sport=1, dport=2) / pay,
        e / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(dport=53) / pay,
        e / IPv6(src="fe80::1", dst="ff02::1") / ICMPv6EchoRequest() / pay,
        e / IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(
            offset=0, m=1) / UDP() / pay,
        e / IPv6() / IPv6ExtHdrFragment(offset=10, m=0, nh=6) / pay,
        e / IPv6() / SCTP(sport=10, dport=11) / pay,
        e / ARP(op=1, psrc="10.0.0.1", pdst="10.0.0.2", hwsrc=A),
        e / ARP(op=2, psrc="10.0.0.2", pdst="10.0.0.1", hwsrc=B, hwdst=A),
        Ether(src=A, dst=B) / Dot1Q(vlan=10, prio=3) / IP() / UDP() / pay,
        Ether(src=A, dst=B) / Dot1AD(vlan=100) / Dot1Q(vlan=10) / IP()
        / TCP() / pay,
        Ether(src=A, dst=B) / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3)
        / IP() / pay,
        Ether(src=A, dst=B) / LLC() / Raw(b"llc" * 10),
        Ether(src=A, dst="ff:ff:ff:ff:ff:ff", type=0x88cc) / Raw(b"z" * 40),
    ]
    return [bytes(p) for p in ps]


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gen_flow():
    pk = packets()
    i = 0
    for p in pk:
        # No actions: the parser alone.
        write("flow", f"pkt{i:02d}", bytes([1, 0]) + p)
        i += 1
    for p in pk:
        acts = rng.sample(ACTIONS, rng.randint(1, 5))
        write("flow", f"pkt{i:02d}",
              bytes([rng.randint(0, 255), len(acts)]) + b"".join(acts) + p)
        i += 1
    # Truncations of valid packets.
    for p in pk[:12]:
        cut = rng.randint(0, len(p) - 1)
        write("flow", f"pkt{i:02d}", bytes([2, 1]) + ACTIONS[2] + p[:cut])
        i += 1


FLOWS = [
    "priority=100,ip,in_port=1,nw_dst=10.0.0.0/8,actions=mod_nw_tos:16,"
    "output:2",
    "priority=200,udp,tp_dst=53,actions=drop",
    "table=0,priority=10,in_port=2,actions=push_vlan:0x8100,"
    "mod_vlan_vid:10,goto_table:1",
    "table=1,priority=10,dl_vlan=10,actions=output:3,resubmit(,2)",
    "cookie=0x5/0xf,tcp6,ipv6_src=2001:db8::/32,tcp_flags=+syn-ack,"
    "actions=set_field:2001:db8::1->ipv6_src",
    "arp,arp_op=1,arp_spa=10.0.0.1,arp_sha=00:11:22:33:44:55/"
    "ff:ff:ff:00:00:00,actions=NORMAL,flood,all,in_port,dec_ttl,strip_vlan",
    "idle_timeout=10,hard_timeout=20,dl_src=01:00:00:00:00:00/"
    "01:00:00:00:00:00,vlan_tci=0x1000/0x1000,ip_frag=later,"
    "actions=output:LOCAL",
    "icmp6,icmp_type=135,nw_ecn=3,ip_dscp=46,nw_ttl=5,ipv6_label=0x12345,"
    "actions=mod_dl_dst:00:00:00:00:00:01",
    "tcp,tp_src=0x100/0xff00,tp_dst=80,actions=mod_tp_src:99,"
    "mod_tp_dst:100,output:2",
    "sctp,nw_src=192.168.0.0/255.255.0.0,actions=pop_vlan,output:IN_PORT",
    "udp6,ipv6_dst=ff02::/16,actions=resubmit:3,resubmit(1,5)",
    "dl_type=0x88cc,dl_dst=01:80:c2:00:00:0e,actions=CONTROLLER",
    "in_port=LOCAL,dl_vlan_pcp=5,actions=mod_vlan_pcp:3,"
    "set_field:0x1005->vlan_tci",
    "ip,nw_proto=47,nw_tos=0x10,actions=mod_nw_src:1.2.3.4,"
    "mod_nw_dst:5.6.7.8",
    "icmp,icmp_type=8,icmp_code=0,actions=set_field:9->nw_ttl",
    "priority=0,actions=NORMAL",
    "priority=65535,actions=drop",
    "out_port=3,table=2,cookie=0x1/0x1",
    "in_port=1 actions=output:2",
    "ip nw_src=10.0.0.1 nw_dst=10.0.0.2 actions=output(port=2)",
    "arp,arp_tha=ff:ff:ff:ff:ff:ff,arp_tpa=10.1.0.0/16,actions=all",
    "vlan_tci=0,actions=push_vlan:0x88a8,set_field:4->vlan_vid",
    "dl_vlan=0xffff,actions=drop",
    "udp,tp_dst=0x35/0xffff,nw_frag=first,actions=output:1,output:2,"
    "output:3",
]


def gen_ofp():
    i = 0
    # Every flow as add-flow; a dozen as the other commands (their match
    # part only for delete and dump).
    picks = [(0, t) for t in FLOWS]
    picks += [(rng.randint(1, 5), rng.choice(FLOWS)) for _ in range(12)]
    for mode, text in picks:
        if mode >= 3:
            text = text.split("actions=")[0].rstrip(", ")
        write("ofp-parse", f"flow{i:02d}", bytes([mode]) + text.encode())
        i += 1
    for a in ["output:2,NORMAL", "drop", "mod_dl_src:02:00:00:00:00:01",
              "resubmit(,3),goto_table:4"]:
        write("ofp-parse", f"flow{i:02d}", b"\0" + a.encode())
        i += 1


def gen_cls():
    for i in range(24):
        n = rng.choice([16, 64, 200, 600, 1500])
        write("cls", f"prog{i:02d}", bytes(rng.randrange(256)
                                           for _ in range(n)))


def gen_config():
    top = os.path.dirname(os.path.dirname(HERE))
    i = 0
    for name in sorted(os.listdir(os.path.join(top, "tests", "data"))):
        if name.endswith(".json"):
            with open(os.path.join(top, "tests", "data", name), "rb") as f:
                write("config", f"cfg{i:02d}", f.read())
            i += 1
    base = {
        "dpdk": {"args": ["--no-huge", "-m", "512", "--file-prefix", "x"]},
        "control": {"socket": "/tmp/x.sock"},
        "pmd": {"cores": [1, 0], "emc_entries": 4096, "idle_sleep_us": 5},
        "datapath": {"megaflow_idle_ms": 100, "flow_limit": 10,
                     "mac_aging_s": 1},
        "bridges": [
            {"name": "br0", "ports": [
                {"name": "p1", "ofport": 1, "type": "dpdk",
                 "devargs": "net_null0,no-rx=1", "rxq": 2, "mtu": 1500},
                {"name": "h0", "type": "tap", "ifname": "sl-h0",
                 "addresses": ["10.9.0.1/24", "fd00::1/64"]},
                {"name": "d1", "type": "dummy"},
                {"name": "v1", "type": "vhostuser", "path": "/tmp/v1.sock",
                 "queues": 2}],
             "flows": ["priority=10,in_port=1,actions=output:2"]},
            {"name": "br1", "ports": [], "flows": []}],
    }
    write("config", f"cfg{i:02d}", json.dumps(base).encode())
    i += 1
    variants = [
        ("pmd", {"cores": []}),
        ("pmd", {"cores": [1, 1]}),
        ("pmd", {"emc_entries": 3}),
        ("datapath", {"flow_limit": 0}),
        ("control", {"socket": ""}),
        ("bridges", [{"name": "br0"}, {"name": "br0"}]),
        ("bridges", [{"name": "b" * 64}]),
        ("bridges", [{"name": "br0", "ports": [
            {"name": "a", "type": "dummy", "ofport": 5},
            {"name": "b", "type": "dummy", "ofport": 5}]}]),
        ("bridges", [{"name": "br0", "ports": [
            {"name": "a", "type": "dpdk"}]}]),
        ("bridges", [{"name": "br0", "ports": [
            {"name": "a", "type": "tap", "ifname": "x" * 16}]}]),
        ("bridges", [{"name": "br0", "ports": [
            {"name": "a", "type": "nope"}]}]),
        ("dpdk", {"args": "notalist"}),
        ("extra", 1),
    ]
    for key, val in variants:
        c = json.loads(json.dumps(base))
        c[key] = val
        write("config", f"cfg{i:02d}", json.dumps(c).encode())
        i += 1
    for text in [b"{}", b"[]", b"", b"{\"pmd\":", b"null",
                 b"{\"bridges\":[{\"name\":\"br0\",\"ports\":[{\"name\":"
                 b"\"p\",\"type\":\"dummy\",\"ofport\":65280}]}]}"]:
        write("config", f"cfg{i:02d}", text)
        i += 1
    for kv in [["p1", "dpdk", "devargs=net_null0", "rxq=2", "ofport=3"],
               ["t0", "tap", "ifname=sl-t0", "mtu=9000",
                "addresses=10.0.0.1/24,fd00::1/64"],
               ["d9", "dummy"], ["v", "vhostuserclient", "path=/tmp/v.sock",
                                 "queues=4"],
               ["x", "dpdk", "devarg=oops"], ["bad name", "dummy"],
               ["d1", "dummy", "ofport=0"], ["d1", "dummy", "ofport=abc"]]:
        write("config", f"kv{i:02d}", "\n".join(kv).encode())
        i += 1


def gen_ctl():
    reqs = [
        [{"id": 1, "method": "echo",
          "params": {"s": "x", "b": True, "i": 5, "list": ["a", "b"]}}],
        [{"id": 2, "method": "defer", "params": {"code": 0}},
         {"id": 3, "method": "defer", "params": {"code": 5}},
         {"id": 4, "method": "fail", "params": {"code": -32602}}],
        [{"id": "x", "method": "list-methods"}],
        [{"id": None, "method": "echo", "params": {"i": 1001}}],
        [{"id": 5, "method": "echo", "params": {"zz": 1}}],
        [{"id": 6, "method": "echo", "params": {"b": "yes"}}],
        [{"id": 7, "method": "echo", "params": {"list": ["a", 1]}}],
        [{"id": 8, "method": "echo", "params": {"req": None}}],
        [{"id": 9, "method": "echo", "params": []}],
        [{"id": 10, "method": "nope"}],
        [{"id": [1], "method": "echo"}],
        [{"method": "fail", "params": {"code": 13}}],
        [{"id": 1.5, "method": "fail", "params": {"code": 4}}],
        [{"id": 11, "method": "echo", "params": {"s": "\u00e9\n\u0000"}}],
    ]
    i = 0
    for r in reqs:
        write("ctl", f"req{i:02d}",
              "".join(json.dumps(x) + "\n" for x in r).encode())
        i += 1
    raw = [b"not json\n", b"\n\n  \n", b"[1,2]\n", b"{\"method\":7}\n",
           b"{\"id\":1,\"method\":\"echo\"", b"\x00\xff\xfe{}\n",
           b"{\"id\":1,\"method\":\"echo\",\"params\":{\"s\":\""
           + b"a" * 9000 + b"\"}}\n{\"id\":2,\"method\":\"echo\"}\n",
           b"{\"id\":1,\"method\":\"defer\"}\n" * 20,
           b"{}\n", b"\"str\"\n", b"{\"id\":1,\"method\":\"echo\","
           b"\"params\":{\"i\":1e3}}\n"]
    for r in raw:
        write("ctl", f"req{i:02d}", r)
        i += 1


def gen_conntrack():
    """fuzz-conntrack.c: byte 0 configures; records [op][len][frame]."""
    A = "02:00:00:00:00:01"
    B = "02:00:00:00:00:02"

    def rec(op, pkt):
        b = bytes(pkt)
        return bytes([op, len(b)]) + b

    def tcp(sport, dport, flags, seq, ack, fwd=True, v6=False, **kw):
        src, dst = ("10.0.0.1", "10.0.0.2") if fwd else ("10.0.0.2",
                                                        "10.0.0.1")
        if v6:
            src, dst = ("fd00::1", "fd00::2") if fwd else ("fd00::2",
                                                          "fd00::1")
            l3 = IPv6(src=src, dst=dst)
        else:
            l3 = IP(src=src, dst=dst)
        return Ether(src=A, dst=B) / l3 / TCP(sport=sport, dport=dport,
                                              flags=flags, seq=seq, ack=ack,
                                              window=8192, **kw)

    def udp(sport, dport, fwd=True):
        src, dst = ("10.0.0.1", "10.0.0.2") if fwd else ("10.0.0.2",
                                                        "10.0.0.1")
        return (Ether(src=A, dst=B) / IP(src=src, dst=dst)
                / UDP(sport=sport, dport=dport) / Raw(b"x" * 8))

    commit, snat, dnat = 0x01, 0x02, 0x04
    seqs = {
        "handshake": [
            rec(commit, tcp(1000, 80, "S", 100, 0)),
            rec(0, tcp(80, 1000, "SA", 500, 101, fwd=False)),
            rec(0, tcp(1000, 80, "A", 101, 501)),
            rec(0, tcp(1000, 80, "FA", 101, 501)),
            rec(0, tcp(80, 1000, "FA", 501, 102, fwd=False)),
            rec(0x80 | 2, b""),
        ],
        "snat": [
            rec(commit | snat, tcp(1000, 80, "S", 100, 0)),
            rec(commit | snat, tcp(1001, 80, "S", 100, 0)),
            rec(commit | snat, tcp(1002, 80, "S", 100, 0)),
            rec(0, tcp(80, 1000, "SA", 500, 101, fwd=False)),
            rec(0x80, b""),
        ],
        "dnat_udp": [rec(commit | dnat | 0x10, udp(5000 + i, 53))
                     for i in range(4)] + [rec(0x80 | 1, b"")],
        "v6": [
            rec(commit | snat, tcp(1000, 80, "S", 100, 0, v6=True)),
            rec(0, tcp(80, 1000, "SA", 500, 101, fwd=False, v6=True)),
        ],
        "flood": [rec(commit, tcp(2000 + i, 80, "S", i, 0))
                  for i in range(40)],
        "icmp": [
            rec(commit, Ether(src=A, dst=B) / IP(src="10.0.0.1",
                                                 dst="10.0.0.2")
                / ICMP(type=8, id=7, seq=1)),
            rec(0, Ether(src=B, dst=A) / IP(src="10.0.0.2", dst="10.0.0.1")
                / ICMP(type=0, id=7, seq=1)),
            rec(0, Ether(src=B, dst=A) / IP(src="10.0.0.9", dst="10.0.0.1")
                / ICMP(type=3, code=3) / IP(src="10.0.0.1",
                                            dst="10.0.0.2")
                / UDP(sport=5000, dport=53)),
        ],
    }
    for name, recs in seqs.items():
        for cfg in (0x03, 0x9f):
            write("conntrack", f"{name}-{cfg:02x}",
                  bytes([cfg]) + b"".join(recs))


def main():
    for t in ("flow", "ofp-parse", "cls", "config", "ctl", "conntrack"):
        shutil.rmtree(os.path.join(OUT, t), ignore_errors=True)
    gen_flow()
    gen_ofp()
    gen_cls()
    gen_config()
    gen_ctl()
    gen_conntrack()


if __name__ == "__main__":
    main()
