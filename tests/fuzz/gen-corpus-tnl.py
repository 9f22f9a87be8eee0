#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Seeds for tests/fuzz/corpus/tnl (fuzz-tnl.c), like gen-corpus.py does for
# the other targets: /usr/bin/python3 tests/fuzz/gen-corpus-tnl.py tests/fuzz/corpus
import os
import random
import struct
import sys

from scapy.all import Dot1Q, Ether, IP, IPv6, Raw, TCP, UDP
from scapy.contrib.geneve import GENEVE
from scapy.layers.vxlan import VXLAN

OUT = sys.argv[1]
rng = random.Random(6)


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gen_tnl():
    """fuzz-tnl.c: [l3_ofs][N entries][N x 40-byte records][frame]."""
    A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
    inner = (Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")
             / IP(src="192.168.1.1", dst="192.168.1.2")
             / TCP(sport=1234, dport=80) / Raw(b"p" * 12))

    def ip4(**kw):
        kw.setdefault("flags", "DF")
        return IP(src="10.0.0.1", dst="10.0.0.2", **kw)

    def ip6(**kw):
        return IPv6(src="2001:db8::1", dst="2001:db8::2", **kw)

    def udp(port, csum):
        return UDP(sport=50000, dport=port) if csum else UDP(
            sport=50000, dport=port, chksum=0)

    geneve_opts = (struct.pack(">HBB", 0x0102, 0x01, 1) + b"\x11" * 4
                   + struct.pack(">HBB", 0xffff, 0x7f, 0))
    geneve_crit = struct.pack(">HBB", 0x0102, 0x81, 0)
    frames = [
        Ether(src=A, dst=B) / ip4() / udp(4789, True)
        / VXLAN(vni=0x123456) / inner,
        Ether(src=A, dst=B) / ip4(tos=0xb8) / udp(4789, False)
        / VXLAN(vni=1) / inner,
        Ether(src=A, dst=B) / ip6(tc=0x20) / udp(4789, True)
        / VXLAN(vni=0xffffff) / inner,
        Ether(src=A, dst=B) / ip6() / udp(4789, False) / VXLAN(vni=7)
        / inner,
        Ether(src=A, dst=B) / ip4() / udp(6081, True)
        / GENEVE(vni=0xabcdef, proto=0x6558) / inner,
        Ether(src=A, dst=B) / ip6(hlim=3) / udp(6081, True)
        / GENEVE(vni=5, proto=0x6558, oam=1) / inner,
        Ether(src=A, dst=B) / ip4() / udp(6081, False)
        / GENEVE(vni=9, proto=0x6558, optionlen=3,
                 options=geneve_opts) / inner,
        Ether(src=A, dst=B) / ip6() / udp(6081, True)
        / GENEVE(vni=9, proto=0x6558, optionlen=1, critical=1,
                 options=geneve_crit) / inner,
        Ether(src=A, dst=B) / ip4(options=b"\x01" * 4) / udp(4789, True)
        / VXLAN(vni=42) / inner,
        Ether(src=A, dst=B) / ip4(flags="MF") / udp(4789, False)
        / VXLAN(vni=42) / inner,
    ]
    frames = [bytes(f) for f in frames]
    tagged = bytes(Ether(src=A, dst=B) / Dot1Q(vlan=10) / ip4()
                   / udp(4789, True) / VXLAN(vni=77) / inner)

    def rec(typ, flags, port, remote, local, key):
        return (bytes([typ, flags]) + struct.pack(">H", port)
                + remote.ljust(16, b"\0") + local.ljust(16, b"\0")
                + struct.pack(">I", key))

    r4, l4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    r6 = bytes.fromhex("20010db8000000000000000000000001")
    l6 = bytes.fromhex("20010db8000000000000000000000002")
    maps = [
        [],
        [rec(1, 0, 4789, r4, l4, 0x123456), rec(1, 2, 4789, b"", l4, 0),
         rec(1, 14, 4789, b"", b"", 0), rec(2, 6, 6081, b"", b"", 0xabcdef)],
        [rec(1, 1, 4789, r6, l6, 0xffffff), rec(1, 15, 4789, b"", b"", 0),
         rec(2, 9, 6081, r6, b"", 0), rec(2, 11, 6081, b"", b"", 5)],
        # A duplicate (EEXIST).
        [rec(1, 8, 4789, r4, l4, 1), rec(1, 8, 4789, r4, l4, 2)],
    ]
    i = 0
    for f in frames:
        m = maps[i % len(maps)]
        write("tnl", f"pkt{i:02d}", bytes([14, len(m)]) + b"".join(m) + f)
        i += 1
    write("tnl", f"pkt{i:02d}", bytes([18, len(maps[1])])
          + b"".join(maps[1]) + tagged)
    i += 1
    # Truncations.
    for f in frames[:4]:
        cut = rng.randint(0, len(f) - 1)
        write("tnl", f"pkt{i:02d}", bytes([14, 0]) + f[:cut])
        i += 1


gen_tnl()
