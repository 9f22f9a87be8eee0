# SPDX-License-Identifier: BSD-3-Clause
"""Every rewrite action through the datapath, checked byte for byte against
scapy's own construction of the expected packet (checksums included)."""
import pytest
from scapy.all import (ICMP, IP, SCTP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPv6,
                       Raw)

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


@pytest.fixture(scope="module")
def sw():
    s = Switch()
    yield s
    assert s.stop() == 0


def through(sw, flow, pkt):
    """Installs 'flow' (in_port=1 ... actions=...,output:2) alone, sends
    'pkt' on d1, returns what d2 got."""
    sw.del_flows()
    sw.add_flows(flow)
    sw.capture("d2")
    sw.send("d1", pkt)
    got = sw.capture("d2")
    assert len(got) == 1, f"{flow}: got {len(got)} packets"
    return got[0]


def rebuilt(pkt):
    """The packet with every checksum and length recomputed by scapy."""
    p = pkt.copy()
    for layer in (IP, TCP, UDP, ICMP, SCTP):
        if layer in p:
            if hasattr(p[layer], "chksum"):
                p[layer].chksum = None
            if layer is IP:
                p[layer].len = None
    return bytes(p.__class__(bytes(p)))


def tcp4(**kw):
    return Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2",
                                    tos=0x20, ttl=64) / \
        TCP(sport=1111, dport=2222, flags="S") / Raw(b"payload" * 3)


def udp6():
    return Ether(src=A, dst=B) / IPv6(src="2001:db8::1", dst="2001:db8::2",
                                      hlim=9) / UDP(sport=5, dport=6) / \
        Raw(b"abc")


def expect(pkt, fn):
    p = pkt.copy()
    fn(p)
    for layer in (IP, TCP, UDP, ICMP, SCTP):
        if layer in p and hasattr(p[layer], "chksum"):
            p[layer].chksum = None
    return bytes(p)


@pytest.mark.parametrize("action,make,edit", [
    ("mod_dl_src:02:11:22:33:44:55", tcp4,
     lambda p: setattr(p[Ether], "src", "02:11:22:33:44:55")),
    ("mod_dl_dst:02:11:22:33:44:66", tcp4,
     lambda p: setattr(p[Ether], "dst", "02:11:22:33:44:66")),
    ("mod_nw_src:192.168.7.1", tcp4,
     lambda p: setattr(p[IP], "src", "192.168.7.1")),
    ("mod_nw_dst:192.168.7.2", tcp4,
     lambda p: setattr(p[IP], "dst", "192.168.7.2")),
    ("mod_nw_tos:0x48", tcp4, lambda p: setattr(p[IP], "tos", 0x48)),
    ("mod_tp_src:4444", tcp4, lambda p: setattr(p[TCP], "sport", 4444)),
    ("mod_tp_dst:5555", tcp4, lambda p: setattr(p[TCP], "dport", 5555)),
    ("dec_ttl", tcp4, lambda p: setattr(p[IP], "ttl", 63)),
    ("set_field:10.9.9.9->nw_dst", tcp4,
     lambda p: setattr(p[IP], "dst", "10.9.9.9")),
    ("set_field:2001:db8::99->ipv6_dst", udp6,
     lambda p: setattr(p[IPv6], "dst", "2001:db8::99")),
    ("mod_tp_dst:7777", udp6, lambda p: setattr(p[UDP], "dport", 7777)),
    ("dec_ttl", udp6, lambda p: setattr(p[IPv6], "hlim", 8)),
])
def test_rewrite(sw, action, make, edit):
    pkt = make()
    proto = "ipv6" if IPv6 in pkt else "ip"
    got = through(sw, f"priority=10,in_port=1,{proto},"
                      f"actions={action},output:2", pkt)
    assert got == expect(pkt, edit)
    # The checksums the switch left are the ones scapy computes.
    assert got == rebuilt(Ether(got))


def test_udp_zero_checksum_stays_zero(sw):
    pkt = Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") / \
        UDP(sport=1, dport=2, chksum=0) / Raw(b"zz")
    got = through(sw, "priority=10,in_port=1,ip,"
                      "actions=mod_nw_src:10.1.1.1,output:2", pkt)
    assert Ether(got)[UDP].chksum == 0
    assert Ether(got)[IP].src == "10.1.1.1"


def test_dec_ttl_expired_dropped(sw):
    pkt = tcp4()
    pkt[IP].ttl = 1
    sw.del_flows()
    sw.add_flows("priority=10,in_port=1,ip,actions=dec_ttl,output:2")
    sw.capture("d2")
    sw.send("d1", pkt)
    assert sw.capture("d2") == []


def test_push_vlan_and_mod_vid(sw):
    pkt = tcp4()
    got = through(sw, "priority=10,in_port=1,actions=push_vlan:0x8100,"
                      "mod_vlan_vid:10,mod_vlan_pcp:3,output:2", pkt)
    exp = Ether(src=A, dst=B) / Dot1Q(vlan=10, prio=3) / pkt[IP]
    assert got == bytes(exp)


def test_mod_vlan_vid_pushes_on_untagged(sw):
    pkt = tcp4()
    got = through(sw, "priority=10,in_port=1,actions=mod_vlan_vid:77,"
                      "output:2", pkt)
    assert Ether(got)[Dot1Q].vlan == 77
    assert bytes(Ether(got)[IP]) == bytes(pkt[IP])


def test_strip_and_rewrite_vlan(sw):
    tagged = Ether(src=A, dst=B) / Dot1Q(vlan=5, prio=1) / tcp4()[IP]
    got = through(sw, "priority=10,in_port=1,dl_vlan=5,actions=strip_vlan,"
                      "output:2", tagged)
    assert got == bytes(tcp4())
    got = through(sw, "priority=10,in_port=1,dl_vlan=5,"
                      "actions=mod_vlan_vid:6,output:2", tagged)
    assert Ether(got)[Dot1Q].vlan == 6 and Ether(got)[Dot1Q].prio == 1
    got = through(sw, "priority=10,in_port=1,dl_vlan=5,actions=pop_vlan,"
                      "output:2", tagged)
    assert got == bytes(tcp4())


def test_double_tag_push(sw):
    tagged = Ether(src=A, dst=B) / Dot1Q(vlan=5) / tcp4()[IP]
    got = through(sw, "priority=10,in_port=1,actions=push_vlan:0x88a8,"
                      "set_field:4196->vlan_vid,output:2", tagged)
    e = Ether(got)
    assert e.type == 0x88a8
    outer = int.from_bytes(got[14:16], "big") & 0xfff
    inner = int.from_bytes(got[18:20], "big") & 0xfff
    assert (outer, inner) == (100, 5)


def test_output_then_modify_then_output(sw):
    """Actions run in order: the first copy is unmodified."""
    pkt = tcp4()
    sw.del_flows()
    sw.add_flows("priority=10,in_port=1,ip,actions=output:3,"
                 "mod_nw_dst:10.7.7.7,output:2")
    sw.capture_all(["d2", "d3"])
    sw.send("d1", pkt)
    got = sw.capture_all(["d2", "d3"])
    assert got["d3"] == [bytes(pkt)]
    assert Ether(got["d2"][0])[IP].dst == "10.7.7.7"
    assert got["d2"][0] == rebuilt(Ether(got["d2"][0]))
