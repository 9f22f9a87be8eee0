# SPDX-License-Identifier: BSD-3-Clause
"""The exact-match tier: untagged IPv4 packets are answered by the
header-key cache, everything else by the EMC, and both give the same
forwarding as the megaflows alone (every field the flow holds still
counts; fields it does not hold, such as the IP ID, do not)."""
import pytest
from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"

CACHES = {"hkc+emc": {"emc_entries": 8192, "hkc_entries": 32768},
          "none": {"emc_entries": 0, "hkc_entries": 0}}

# Each rule sends a packet to a port chosen by one field of the flow.
FLOWS = [
    "priority=50,ip,nw_ttl=9,actions=output:3",
    "priority=50,ip,nw_tos=0x20,actions=output:3",
    "priority=50,tcp,tcp_flags=+syn,actions=output:3",
    "priority=50,icmp,icmp_type=3,actions=output:3",
    "priority=50,ip,dl_src=02:00:00:00:00:0c,actions=output:3",
    "priority=40,udp,tp_src=7,actions=output:3",
    "priority=10,actions=output:2",
]


def l2(src=A):
    return Ether(src=src, dst=B)


# (packet, expected port): pairs differ from a packet to port 2 in one
# field of the flow, or in fields the flow does not hold.
CASES = [
    (l2() / IP(ttl=64) / UDP(sport=1, dport=2) / Raw(b"a" * 20), 2),
    (l2() / IP(ttl=9) / UDP(sport=1, dport=2) / Raw(b"a" * 20), 3),
    (l2() / IP(tos=0x20) / UDP(sport=1, dport=2) / Raw(b"a" * 20), 3),
    (l2() / IP(id=77, flags="DF") / UDP(sport=1, dport=2) / Raw(b"b"), 2),
    (l2() / IP() / UDP(sport=7, dport=2) / Raw(b"a" * 20), 3),
    (l2() / IP() / TCP(sport=1, dport=2, flags="A"), 2),
    (l2() / IP() / TCP(sport=1, dport=2, flags="S"), 3),
    (l2() / IP() / ICMP(type=8), 2),
    (l2() / IP() / ICMP(type=3, code=1), 3),
    (l2("02:00:00:00:00:0c") / IP() / UDP(sport=1, dport=2), 3),
    # Not the common shape: the EMC answers these.
    (l2() / Dot1Q(vlan=5) / IP(ttl=9) / UDP(sport=1, dport=2), 3),
    (l2() / Dot1Q(vlan=5) / IP() / UDP(sport=1, dport=2), 2),
    (l2() / IP(ttl=9, options=b"\x01\x01\x01\x00") / UDP(), 3),
    (l2() / IPv6() / UDP(sport=7, dport=2), 2),
]


@pytest.mark.parametrize("caches", sorted(CACHES))
def test_same_forwarding_with_and_without_caches(caches):
    with Switch(pmd=CACHES[caches]) as sw:
        sw.add_flows(*FLOWS)
        # Three rounds: the first installs megaflows, later ones hit the
        # caches (inserted with probability 1/20, so send each often).
        for rnd in range(3):
            for pkt, want in CASES:
                sw.send("d1", [pkt] * 40)
                got = {p: len(v) for p, v in
                       sw.capture_all(["d2", "d3"]).items()}
                assert got == {"d2": 40 if want == 2 else 0,
                               "d3": 40 if want == 3 else 0}, \
                    (rnd, pkt.summary(), got)
        st = sw.call("pmd-stats")
        emc = sum(p["emc_hits"] for p in st)
        hkc = sum(p["hkc_hits"] for p in st)
        if caches == "none":
            assert emc == 0 and hkc == 0
        else:
            assert hkc > 0
            assert emc > hkc            # VLAN, options and IPv6: the EMC


def test_header_key_cache_follows_flow_changes():
    with Switch() as sw:
        sw.add_flows("priority=10,udp,actions=output:2")
        pkt = l2() / IP() / UDP(sport=1, dport=2) / Raw(b"x" * 20)
        sw.send("d1", [pkt] * 200)
        assert len(sw.capture("d2")) == 200
        before = sum(p["hkc_hits"] for p in sw.call("pmd-stats"))
        sw.send("d1", [pkt] * 200)
        assert len(sw.capture("d2")) == 200
        assert sum(p["hkc_hits"] for p in sw.call("pmd-stats")) > before
        sw.call("mod-flows", bridge="br0", flow="udp,actions=output:3")
        sw.send("d1", [pkt] * 50)
        assert {p: len(v) for p, v in sw.capture_all(["d2", "d3"]).items()} \
            == {"d2": 0, "d3": 50}


def test_thrashing_cache_is_skipped_and_forwarding_stays_right():
    """More distinct flows than the header-key cache can profit from: the
    gate closes (exact_skipped grows), every packet is still forwarded,
    and a flow change still takes effect at once."""
    n = 70000                       # > one 65,536-lookup window
    with Switch(pmd={"hkc_entries": 1024}) as sw:
        sw.add_flows("priority=10,udp,actions=output:2")
        base = bytes(l2() / IP(src="10.0.0.1", dst="10.0.0.2")
                     / UDP(sport=1, dport=2) / Raw(b"t" * 18))
        sport = 14 + 20                 # UDP source port offset

        def flows(start, count):
            out = []
            for k in range(start, start + count):
                b = bytearray(base)
                b[sport:sport + 2] = (k % 65536).to_bytes(2, "big")
                b[29] = (k >> 16) & 0xff        # and the IP source
                out.append(b.hex())
            return out

        # Chunks the dummy port's 4,096-packet rings hold, each drained.
        got = 0
        for start in range(0, n, 2000):
            sent = sw.send("d1", [bytes.fromhex(h)
                                  for h in flows(start, 2000)])
            assert sent == 2000
            got += len(sw.capture("d2"))
        assert got == n
        st = sw.call("pmd-stats")
        assert sum(p["exact_skipped"] for p in st) > 0, st
        # With the gate closed, a flow change still holds at once.
        sw.call("mod-flows", bridge="br0", flow="udp,actions=output:3")
        sw.send("d1", [bytes.fromhex(h) for h in flows(0, 200)])
        assert {p: len(v) for p, v in sw.capture_all(["d2", "d3"]).items()} \
            == {"d2": 0, "d3": 200}
