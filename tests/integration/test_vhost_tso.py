# SPDX-License-Identifier: BSD-3-Clause
"""Checksum and segmentation offload with virtio-user peers (issue 12).

tools/vtcp-peer stands in for two guests: its first virtio-user port sends
a TCP stream as 64,000-byte TSO frames with partial checksums, its second
receives what sluice delivers and checks every frame (TCP checksum unless
the frame says it is partial, every payload byte, order).  Sluice connects
to both (vhostuserclient ports) and forwards port 1 to port 2, or into a
VXLAN tunnel.

- The receiver takes TSO: the frames arrive whole (none cut in software).
- It does not: sluice cuts them into 1448-byte segments and completes
  their checksums; the receiver sees only frames of at most 1514 bytes.
- Into a VXLAN tunnel: the frames are cut at the uplink under the outer
  header, every checksum (outer IPv4 and UDP, inner IPv4 and TCP) right.
Every case: all bytes arrive, none missing, repeated or corrupt.
"""
import json
import os
import subprocess
import time

import pytest

from sltest import TOP_BUILDDIR, Switch

PEER = os.path.join(TOP_BUILDDIR, "tools", "vtcp-peer")
MIB = 1 << 20

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="DPDK needs root here"),
    pytest.mark.skipif(not os.path.exists(PEER),
                       reason="tools/vtcp-peer not built"),
]


class Peer:
    _n = 0

    def __init__(self, tmp_path, nbytes, rx_tso=True, extra=()):
        Peer._n += 1
        self.tx = str(tmp_path / "tx.sock")
        self.rx = str(tmp_path / "rx.sock")
        cpu = min(os.sched_getaffinity(0))
        cmd = ["timeout", "120", PEER, "--no-huge", "-m", "1024",
               "--single-file-segments",
               "--file-prefix", f"vtcp{os.getpid()}_{Peer._n}", "--no-pci",
               "--lcores", f"0@{cpu}", "--log-level", "*:notice", "--",
               "--tx-sock", self.tx, "--rx-sock", self.rx,
               "--bytes", str(nbytes), "--verify", "--wait", "60",
               *extra]
        if not rx_tso:
            cmd.append("--no-rx-tso")
        self.log_path = str(tmp_path / "vtcp-peer.log")
        self.err = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True,
                                     start_new_session=True)
        # Its probe waits for a connection on the first socket before it
        # makes the second: sluice (a client that retries) may start once
        # the first exists.
        deadline = time.time() + 30
        while not os.path.exists(self.tx):
            assert time.time() < deadline and self.proc.poll() is None, \
                self.read_log()
            time.sleep(0.05)

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def result(self, timeout=100):
        out, _ = self.proc.communicate(timeout=timeout)
        lines = [x for x in out.splitlines()
                 if x.startswith("{") and '"ready"' not in x]
        assert lines, f"no result from vtcp-peer:\n{self.read_log()}"
        return json.loads(lines[-1])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
        self.proc.wait(timeout=10)
        self.err.close()


def peer_ports(peer):
    """sluice's ports 1 and 2 on the peer's sending and receiving sides."""
    return [{"name": "v1", "ofport": 1, "type": "vhostuserclient",
             "path": peer.tx},
            {"name": "v2", "ofport": 2, "type": "vhostuserclient",
             "path": peer.rx}]


def ports_of(sw, bridge="br0"):
    return {p["name"]: p for p in sw.call("dump-ports", bridge=bridge)}


def check_stream(r, nbytes, diag):
    assert r["rx_next"] == nbytes, diag
    assert r["rx_payload"] == nbytes, diag
    for k in ("missing", "repeated", "bad_csum", "bad_payload", "not_tcp"):
        assert r[k] == 0, (k, diag)


@pytest.mark.parametrize("rx_tso", [True, False], ids=["rx_tso", "no_rx_tso"])
def test_tso_stream_through_switch(tmp_path, rx_tso):
    nbytes = 16 * MIB + 12345           # Ends in a short frame.
    peer = Peer(tmp_path, nbytes, rx_tso)
    sw = None
    try:
        sw = Switch(ports=peer_ports(peer),
                    flows=["in_port=1,actions=output:2",
                           "in_port=2,actions=output:1"])
        r = peer.result()
        ports = ports_of(sw)
        diag = f"\n{r}\n{ports}\n{peer.read_log()[-2000:]}"
        check_stream(r, nbytes, diag)
        # The sender's frames reached sluice as TSO frames.
        assert ports["v1"]["rx_bytes"] > ports["v1"]["rx_packets"] * 9000, \
            diag
        assert ports["v2"]["tx_offload_dropped"] == 0, diag
        if rx_tso:
            assert r["rx_large"] > 0, diag
            assert ports["v2"]["tx_sw_segments"] == 0, diag
            assert ports["v2"]["tx_sw_checksums"] == 0, diag
        else:
            assert r["rx_large"] == 0, diag
            assert r["rx_frames"] >= nbytes // 1448, diag
            assert ports["v2"]["tx_sw_segments"] == r["rx_frames"], diag
    finally:
        peer.stop()
        if sw:
            sw.stop()


def test_tso_frames_copied_to_two_outputs(tmp_path):
    """A TSO frame (larger than an mbuf: rte_vhost's external buffer)
    sent to two ports is copied (for the first) whole, into one buffer:
    the guest gets every byte, the dummy port gets the same frames cut in
    software, nothing is dropped."""
    nbytes = 4 * MIB + 99
    peer = Peer(tmp_path, nbytes, True)
    sw = None
    try:
        sw = Switch(ports=peer_ports(peer) + [
            {"name": "d3", "ofport": 3, "type": "dummy",
             "ring_size": 65536}],
            flows=["in_port=1,actions=output:2,output:3"])
        r = peer.result()
        ports = ports_of(sw)
        drops = [p.get("drops") for p in sw.call("pmd-stats")]
        diag = f"\n{r}\n{ports}\n{drops}\n{peer.read_log()[-2000:]}"
        check_stream(r, nbytes, diag)
        assert r["rx_large"] > 0, diag
        assert ports["d3"]["tx_sw_segments"] >= nbytes // 1448, diag
        assert ports["d3"]["tx_offload_dropped"] == 0, diag
        assert ports["d3"]["tx_bytes"] <= ports["d3"]["tx_packets"] * 1514, \
            diag
        assert not any(d and d.get("clone_nomem") for d in drops), diag
        assert not any(d and d.get("multiseg_unsupported") for d in drops), \
            diag
    finally:
        peer.stop()
        if sw:
            sw.stop()


def stream_pattern(n):
    """The bytes vtcp-peer sends: a 1021-byte xorshift32 table, repeated."""
    x, tab = 2463534242, []
    for _ in range(1021):
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        tab.append(x & 0xff)
    return bytes(tab[k % 1021] for k in range(n))


def sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check,
                          timeout=30)


def test_tso_stream_through_vxlan(tmp_path):
    """A guest's TSO frames into a VXLAN tunnel (outer UDP checksums on):
    sluice keeps the request under the outer header and cuts the frames
    at the uplink, which takes no offload.  Every segment on the wire is
    checked with scapy: both IP and UDP/TCP checksums recomputed, and the
    payload, reassembled by sequence number, is the stream."""
    scapy = pytest.importorskip("scapy.all")
    nbytes = 2 * MIB + 777
    tag = f"{os.getpid() % 100000}"
    ns, tap = f"sltso{tag}", f"sltso{tag}"
    sh("ip", "netns", "del", ns, check=False)
    sh("ip", "netns", "add", ns)
    peer, sw = None, None
    try:
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "ip", "tuntap", "add", "dev", tap,
           "mode", "tap")
        # A guest's MTU on an overlay leaves room for the outer 50 bytes:
        # segments of 1398 (1452-byte inner frames).
        peer = Peer(tmp_path, nbytes, True,
                    extra=("--window", str(4 * MIB), "--mss", "1398"))
        sw = Switch(bridges=[
            {"name": "br-phy", "ports": [
                {"name": "up", "ofport": 1, "type": "dummy",
                 "ring_size": 65536},
                {"name": "phy", "ofport": 2, "type": "tap",
                 "ifname": tap, "addresses": ["172.31.0.1/24"]}],
             "flows": ["in_port=1,actions=output:2",
                       "in_port=2,actions=output:1"]},
            {"name": "br-int", "ports": peer_ports(peer) + [
                {"name": "vx0", "ofport": 10, "type": "vxlan",
                 "remote_ip": "172.31.0.2", "local_ip": "172.31.0.1",
                 "key": "42", "csum": "true"}],
             "flows": ["in_port=1,actions=output:10"]}],
            state=False, netns=ns)
        sh("ip", "netns", "exec", ns, "ip", "neigh", "replace", "172.31.0.2",
           "lladdr", "02:00:00:00:00:02", "dev", tap, "nud", "permanent")
        frames = []
        deadline = time.time() + 90
        while time.time() < deadline and peer.proc.poll() is None:
            frames += sw.capture("up", bridge="br-phy")
            time.sleep(0.1)
        r = peer.result()
        frames += sw.capture("up", bridge="br-phy")
        ports = ports_of(sw, "br-phy")
        drops = [p.get("drops") for p in sw.call("pmd-stats")]
        diag = (f"\n{r}\n{ports}\n{drops}\n{len(frames)} frames\n"
                f"{sw.read_log()[-2000:]}")
        assert frames, diag
        Ether, IP, UDP, TCP, VXLAN = (scapy.Ether, scapy.IP, scapy.UDP,
                                      scapy.TCP, scapy.VXLAN)
        stream = {}
        for raw in frames:
            f = Ether(raw)
            if not f.haslayer(VXLAN):
                continue                        # (ARP and the like.)
            assert len(raw) <= 14 + 50 + 14 + 20 + 20 + 1398, diag
            ck = f.copy()
            del ck[IP].chksum
            del ck[UDP].chksum
            inner = ck[VXLAN].payload
            del inner[IP].chksum
            del inner[TCP].chksum
            ck = Ether(bytes(ck))
            assert ck[IP].chksum == f[IP].chksum, diag
            assert ck[UDP].chksum == f[UDP].chksum, diag
            assert f[UDP].chksum != 0, diag
            fi, ci = f[VXLAN].payload, ck[VXLAN].payload
            assert ci[IP].chksum == fi[IP].chksum, diag
            assert ci[TCP].chksum == fi[TCP].chksum, diag
            stream[fi[TCP].seq - 1000] = bytes(fi[TCP].payload)
        got = b"".join(stream[k] for k in sorted(stream))
        assert len(got) == nbytes, diag
        assert got == stream_pattern(nbytes), diag
        assert ports["up"]["tx_sw_segments"] == len(stream), diag
        assert ports["up"]["tx_offload_dropped"] == 0, diag
    finally:
        if peer:
            peer.stop()
        if sw:
            sw.stop()
        sh("ip", "netns", "del", ns, check=False)


# In the namespace: reads frames from the tap with a packet socket until
# argv[2] bytes of TCP payload to port 5001 came; prints one JSON line.
NS_SNIFF = r"""
import json, socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
# Room for the whole stream: a burst must not overflow the socket.
s.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)      # SO_RCVBUFFORCE
s.bind((sys.argv[1], 0))
s.settimeout(1)
want, got, seen, largest = int(sys.argv[2]), {}, 0, 0
print("ready", flush=True)
deadline = time.time() + 60
while seen < want and time.time() < deadline:
    try:
        f = s.recv(1 << 17)
    except socket.timeout:
        continue
    if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != 6:
        continue
    ihl = (f[14] & 15) * 4
    tot = struct.unpack("!H", f[16:18])[0]
    th = 14 + ihl
    if struct.unpack("!H", f[th + 2:th + 4])[0] != 5001:
        continue
    doff = (f[th + 12] >> 4) * 4
    seq = struct.unpack("!I", f[th + 4:th + 8])[0] - 1000
    data = f[th + doff:14 + tot]
    if seq not in got:
        got[seq] = data
        seen += len(data)
    largest = max(largest, len(f))
out = b"".join(got[k] for k in sorted(got))
print(json.dumps({"bytes": len(out), "largest": largest,
                  "frames": len(got), "data": out.hex()}), flush=True)
"""


@pytest.mark.parametrize("tap_tso", [True, False],
                         ids=["tap_tso", "tap_no_tso"])
def test_tso_frames_to_a_tap(tmp_path, tap_tso):
    """TSO frames out of a tap port: under its virtio-net header the
    kernel takes them whole (a packet socket in the namespace sees frames
    of 64,000 bytes); with tso=false they arrive cut.  Either way the
    payload, reassembled, is the stream."""
    nbytes = 2 * MIB + 4321
    tag = f"{os.getpid() % 100000}"
    ns, tap = f"sltst{tag}", f"sltst{tag}"
    sh("ip", "netns", "del", ns, check=False)
    sh("ip", "netns", "add", ns)
    peer, sw, sniff = None, None, None
    try:
        peer = Peer(tmp_path, nbytes, True, extra=("--window", str(4 * MIB)))
        sw = Switch(ports=peer_ports(peer) + [
            {"name": "t3", "ofport": 3, "type": "tap", "ifname": tap,
             "tso": "true" if tap_tso else "false"}],
            flows=["in_port=1,actions=output:3"])
        sh("ip", "link", "set", tap, "netns", ns)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", tap, "up")
        sniff = subprocess.Popen(
            ["ip", "netns", "exec", ns, "timeout", "90", "/usr/bin/python3",
             "-c", NS_SNIFF, tap, str(nbytes)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert sniff.stdout.readline().strip() == "ready", \
            sniff.stderr.read()
        r = peer.result()
        out, err = sniff.communicate(timeout=90)
        got = json.loads(out.splitlines()[-1])
        ports = ports_of(sw)
        summary = {k: v for k, v in got.items() if k != "data"}
        diag = f"\n{r}\n{ports}\n{summary}\n{err}"
        assert got["bytes"] == nbytes, diag
        assert bytes.fromhex(got["data"]) == stream_pattern(nbytes), diag
        assert ports["t3"]["tx_offload_dropped"] == 0, diag
        if tap_tso:
            assert got["largest"] > 60000, diag
            assert ports["t3"]["tx_sw_segments"] == 0, diag
        else:
            assert got["largest"] <= 1514, diag
            assert ports["t3"]["tx_sw_segments"] > 0, diag
    finally:
        if sniff and sniff.poll() is None:
            sniff.kill()
            sniff.wait(timeout=10)
        if peer:
            peer.stop()
        if sw:
            sw.stop()
        sh("ip", "netns", "del", ns, check=False)
