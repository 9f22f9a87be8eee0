# SPDX-License-Identifier: BSD-3-Clause
"""Packet capture into pcapng (capture-start/-list/-stop, sluice-ofctl
capture-pcap) on dummy and tap ports: direction, count, filter, snaplen,
bad requests, a port removed under a capture; files read back with scapy
and tcpdump.  test_vhost.py captures a vhost-user port at full rate."""
import os
import shutil
import subprocess
import time

import pytest
from scapy.all import IP, TCP, UDP, Ether, Raw, rdpcap

from sltest import OFCTL, CtlError, Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"
FLOWS = ["priority=10,in_port=1,ip,actions=mod_nw_tos:32,output:2",
         "priority=5,in_port=1,actions=output:2"]


def udp(i, size=60):
    return (Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") /
            UDP(sport=1000 + i, dport=53) / Raw(b"u" * size))


def tcp(i):
    return (Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") /
            TCP(sport=2000 + i, dport=80, flags="S"))


@pytest.fixture
def sw():
    s = Switch(flows=FLOWS)
    yield s
    assert s.stop() == 0


def wait_ended(sw, cid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in sw.call("capture-list"):
            if c["id"] == cid and not c["active"]:
                return c
        time.sleep(0.05)
    raise AssertionError(f"capture {cid} did not end")


def test_both_directions_count_and_content(sw, tmp_path):
    """rx is what the port received, tx what it sent after the flow's
    rewrite; the capture ends by itself at its count, forwarding goes on
    and every packet is still delivered."""
    f1, f2 = str(tmp_path / "d1.pcapng"), str(tmp_path / "d2.pcapng")
    c1 = sw.call("capture-start", bridge="br0", port="d1", direction="rx",
                 file=f1)["id"]
    c2 = sw.call("capture-start", bridge="br0", port="d2", direction="tx",
                 file=f2, count=10)["id"]
    sw.send("d1", [udp(i) for i in range(25)])
    assert len(sw.capture("d2")) == 25
    ended = wait_ended(sw, c2)
    assert ended["ended"] == "count" and ended["packets"] == 10
    assert ended["seen"] == 25 and ended["dropped"] == 0
    r1 = sw.call("capture-stop", id=c1)
    assert (r1["packets"], r1["seen"], r1["ended"]) == (25, 25, "stopped")
    r2 = sw.call("capture-stop", id=c2)
    assert r2["packets"] == 10 and r2["ended"] == "count"
    assert sw.call("capture-list") == []
    rx, tx = rdpcap(f1), rdpcap(f2)
    assert len(rx) == 25 and len(tx) == 10
    for i, p in enumerate(rx):
        assert bytes(p) == bytes(udp(i))            # as received
    for i, p in enumerate(tx):
        e = Ether(bytes(p))
        assert e[IP].tos == 32 and e[UDP].sport == 1000 + i   # as sent
    # tcpdump (libpcap) reads the file too, and sees the direction.
    out = subprocess.run(["tcpdump", "-r", f2, "-nn", "-e"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("10.0.0.1.") == 10, out.stdout


def test_filter_snaplen_and_ofctl(sw, tmp_path):
    """sluice-ofctl capture-pcap with a match filter and a snaplen: only
    the matching packets, cut to the snaplen with their wire length
    kept; a relative -w path is the client's."""
    out = tmp_path / "f.pcapng"
    p = subprocess.Popen(
        [OFCTL, "--socket", sw.sock, "capture-pcap", "br0", "d1", "rx",
         "-w", "f.pcapng", "-c", "5", "-s", "64", "-d", "20",
         "udp,tp_src=1003"], cwd=str(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while not sw.call("capture-list") and time.time() < deadline:
            time.sleep(0.05)
        sw.send("d1", [tcp(i) for i in range(4)])
        sw.send("d1", [udp(i, 200) for i in range(8)])   # one matches
        sw.send("d1", [udp(3, 200)] * 4)                 # four more
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert "5 packets captured" in err and "11 filtered out" in err, err
    pkts = rdpcap(str(out))
    assert len(pkts) == 5
    for pk in pkts:
        assert len(bytes(pk)) == 64 and pk.wirelen == len(bytes(udp(3, 200)))
        assert Ether(bytes(pk))[UDP].sport == 1003


def test_bad_requests(sw, tmp_path):
    f = str(tmp_path / "x.pcapng")
    bad = [
        ({"bridge": "br0", "port": "d1", "file": "rel.pcapng"}, "absolute"),
        ({"bridge": "br0", "port": "nope", "file": f}, "not found"),
        ({"bridge": "nobr", "port": "d1", "file": f}, "not found"),
        ({"bridge": "br0", "port": "d1", "file": f, "direction": "up"},
         "rx, tx or both"),
        ({"bridge": "br0", "port": "d1", "file": f, "filter": "nw_src=1"},
         "filter"),
        ({"bridge": "br0", "port": "d1", "file": f,
          "filter": "table=1,ip"}, "a match only"),
        ({"bridge": "br0", "port": "d1", "file": f, "snaplen": 10},
         "snaplen"),
        ({"bridge": "br0", "port": "d1", "file": f, "count": -1}, "count"),
        ({"bridge": "br0", "port": "d1",
          "file": "/nonexistent-dir/x.pcapng"}, "No such file"),
        ({"bridge": "br0", "port": "d1", "file": f, "bogus": 1}, "bogus"),
    ]
    for params, msg in bad:
        with pytest.raises(CtlError, match=msg):
            sw.call("capture-start", **params)
    assert sw.call("capture-list") == []
    cid = sw.call("capture-start", bridge="br0", port="d1", file=f)["id"]
    with pytest.raises(CtlError, match="has a capture already"):
        sw.call("capture-start", bridge="br0", port="d1",
                file=str(tmp_path / "y.pcapng"))
    with pytest.raises(CtlError, match="no capture"):
        sw.call("capture-stop", id=cid + 100)
    sw.call("capture-stop", id=cid)


def test_port_removed_under_capture(sw, tmp_path):
    f = str(tmp_path / "gone.pcapng")
    cid = sw.call("capture-start", bridge="br0", port="d2", file=f)["id"]
    sw.send("d1", [udp(i) for i in range(3)])
    sw.call("del-port", bridge="br0", name="d2")
    (c,) = sw.call("capture-list")
    assert c["id"] == cid and not c["active"]
    assert c["ended"] == "port removed" and c["packets"] == 3
    assert len(rdpcap(f)) == 3
    # A new port may take the same datapath slot: it is not captured.
    sw.call("add-port", bridge="br0", name="d9", type="dummy",
            options={"ofport": "2"})
    sw.send("d1", [udp(i) for i in range(2)])
    assert sw.call("capture-stop", id=cid)["packets"] == 3
    assert len(rdpcap(f)) == 3


@pytest.mark.skipif(os.geteuid() != 0, reason="tap needs root")
def test_tap_port(tmp_path):
    """A tap port's traffic from the host kernel: a ping in a namespace
    behind the tap shows up in the capture."""
    ns = f"slcap{os.getpid()}"
    ifname = f"slcp{os.getpid() % 100000}"
    sw = Switch(ports=[{"name": "t1", "ofport": 1, "type": "tap",
                        "ifname": ifname},
                       {"name": "d2", "ofport": 2, "type": "dummy"}],
                flows=["priority=1,actions=drop"])
    f = str(tmp_path / "tap.pcapng")
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
        subprocess.run(["ip", "link", "set", ifname, "netns", ns],
                       check=True, timeout=10)
        ip = ["ip", "netns", "exec", ns, "ip"]
        subprocess.run(ip + ["addr", "add", "10.77.0.1/24", "dev", ifname],
                       check=True, timeout=10)
        subprocess.run(ip + ["link", "set", ifname, "up"], check=True,
                       timeout=10)
        cid = sw.call("capture-start", bridge="br0", port="t1",
                      direction="rx", file=f, filter="arp")["id"]
        subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "2", "-W",
                        "1", "10.77.0.2"], capture_output=True, timeout=20)
        deadline = time.time() + 10
        while time.time() < deadline:
            c = sw.call("capture-list")[0]
            if c["packets"] >= 1:
                break
            time.sleep(0.1)
        r = sw.call("capture-stop", id=cid)
        assert r["packets"] >= 1, r
        pkts = rdpcap(f)
        assert pkts and all(p.haslayer("ARP") for p in pkts)
    finally:
        subprocess.run(["ip", "netns", "del", ns], timeout=10)
        assert sw.stop() == 0
