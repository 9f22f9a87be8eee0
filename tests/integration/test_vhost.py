# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user ports: dpdk-testpmd with net_virtio_user ports as guests.

Each "guest" is a dpdk-testpmd process (--no-huge, its own --file-prefix,
both lcores on one CPU) with a net_virtio_user port on the other side of
sluice's vhost-user socket.  Traffic is testpmd's flowgen (64-byte UDP,
many flows) from one guest; the other runs rxonly, so every count has one
source: what testpmd A sent, sluice received on port a, transmitted (or
dropped) on port b, and testpmd B received must agree exactly.

Every process is started with a timeout and killed by pid.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from sltest import CtlError, Switch

TESTPMD = shutil.which("dpdk-testpmd")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="DPDK needs root here"),
    pytest.mark.skipif(TESTPMD is None, reason="dpdk-testpmd not installed"),
]


def guest_cpu():
    """Guests run on the first CPU; sluice's PMD on the last."""
    return min(os.sched_getaffinity(0))


class Guest:
    """One dpdk-testpmd with a net_virtio_user port, driven over stdin."""

    _n = 0

    def __init__(self, tmpdir, name, sock, mac, peer, server=True,
                 queues=1, start=True):
        Guest._n += 1
        self.name = name
        self.sock = sock
        self.mac = mac
        self.peer = peer
        self.server = server
        self.queues = queues
        self.prefix = f"vt{os.getpid()}{name}{Guest._n}"
        self.log_path = os.path.join(str(tmpdir), f"testpmd-{name}.log")
        self.proc = None
        self.groups = []        # Process groups started (start()).
        if start:
            self.start()

    def start(self):
        cpu = guest_cpu()
        vdev = (f"net_virtio_user0,path={self.sock},queues={self.queues},"
                f"mac={self.mac}" + (",server=1" if self.server else ""))
        cmd = ["timeout", "300", "stdbuf", "-oL", TESTPMD,
               "--no-huge", "-m", "512", "--single-file-segments",
               "--file-prefix", self.prefix, "--no-pci",
               "--lcores", f"0@{cpu},1@{cpu}", "--log-level", "*:notice",
               "--vdev", vdev, "--",
               "-i", "--total-num-mbufs", "16384",
               f"--rxq={self.queues}", f"--txq={self.queues}",
               f"--eth-peer=0,{self.peer}", "--flowgen-flows=64"]
        self.log = open(self.log_path, "ab")
        # This run's part of the log (a guest restarted appends to it).
        self.log_start = self.log.tell()
        # A session of its own: kill() and stop() end the whole group,
        # testpmd included.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.groups.append(self.proc.pid)

    def read_log(self, this_run=False):
        with open(self.log_path, "rb") as f:
            if this_run:
                f.seek(self.log_start)
            return f.read().decode(errors="replace")

    def wait_socket(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.sock):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"testpmd {self.name} did not create "
                             f"{self.sock}:\n{self.read_log()}")

    def wait_ready(self, timeout=30):
        """Waits until the port is configured and the prompt is up."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            log = self.read_log(this_run=True)
            if "Checking link statuses" in log and "testpmd>" in log:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"testpmd {self.name} not ready:\n"
                             + self.read_log())

    def cmd(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def stats(self, timeout=10):
        """Port 0's counters: (rx_packets, tx_packets)."""
        start = len(self.read_log())
        self.cmd("show port stats 0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            seg = self.read_log()[start:]
            rx = re.search(r"RX-packets:\s+(\d+)\s+RX-missed", seg)
            tx = re.search(r"TX-packets:\s+(\d+)\s+TX-errors", seg)
            if rx and tx and "Tx-bps" in seg[tx.end():]:
                return int(rx.group(1)), int(tx.group(1))
            time.sleep(0.05)
        raise AssertionError(f"no stats from testpmd {self.name}:\n"
                             + self.read_log()[start:])

    def kill(self):
        """The guest crashes: testpmd is killed (SIGKILL, no goodbye on
        the vhost-user socket).  A server's socket file stays behind, as
        after any crash; whatever restarts the guest removes it (QEMU and
        libvirt do), and so does restart() here."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)

    def restart(self):
        """Starts the guest again after kill() or stop()."""
        if self.server and os.path.exists(self.sock):
            os.unlink(self.sock)
        self.start()

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            try:
                self.cmd("stop")
                self.cmd("quit")
                self.proc.stdin.close()
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.groups = []


MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


@pytest.fixture
def procs():
    """Everything started here is stopped at the end, by pid."""
    started = []
    yield started
    for p in reversed(started):
        p.stop()


def port_stats(sw, name):
    for p in sw.call("dump-ports", bridge="br0"):
        if p["name"] == name:
            return p
    raise KeyError(name)


def link(sw, name):
    for p in sw.call("show", bridge="br0")["ports"]:
        if p["name"] == name:
            return p["link"]
    raise KeyError(name)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_settled(sw, names, timeout=10):
    """Waits until the named ports' counters stop moving."""
    last = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        cur = [port_stats(sw, n) for n in names]
        if cur == last:
            return cur
        last = cur
        time.sleep(0.3)
    raise AssertionError("counters never settled")


def start_pair(tmp_path, procs, flows=None, queues=1, extra_ports=()):
    """Guests a and b (testpmd servers), then sluice with two
    vhostuserclient ports (ofport 1 and 2)."""
    a = Guest(tmp_path, "a", str(tmp_path / "a.sock"), MAC_A, MAC_B,
                queues=queues)
    procs.append(a)
    b = Guest(tmp_path, "b", str(tmp_path / "b.sock"), MAC_B, MAC_A,
                queues=queues)
    procs.append(b)
    a.wait_socket()
    b.wait_socket()
    ports = [{"name": "a", "ofport": 1, "type": "vhostuserclient",
              "path": a.sock, "queues": queues},
             {"name": "b", "ofport": 2, "type": "vhostuserclient",
              "path": b.sock, "queues": queues}] + list(extra_ports)
    sw = Switch(ports=ports, flows=flows)
    procs.append(sw)
    a.wait_ready()
    b.wait_ready()
    wait_for(lambda: link(sw, "a") == "up" and link(sw, "b") == "up", 10,
             "links up")
    return sw, a, b


def attach_client_guests(tmp_path, procs, sw, sa, sb):
    """Two guests that connect as vhost-user clients to the switch's server
    sockets 'sa' (port a) and 'sb' (port b); returns them once both links
    are up."""
    a = Guest(tmp_path, "a", sa, MAC_A, MAC_B, server=False)
    procs.append(a)
    b = Guest(tmp_path, "b", sb, MAC_B, MAC_A, server=False)
    procs.append(b)
    a.wait_ready()
    b.wait_ready()
    wait_for(lambda: link(sw, "a") == "up" and link(sw, "b") == "up", 10,
             "links up")
    return a, b


def run_one_way(sw, src, dst, src_port, dst_port, secs=1.5):
    """src sends flowgen traffic for 'secs', dst receives; returns the
    settled counters after both stopped."""
    s0 = src.stats()
    d0 = dst.stats()
    p0 = {n: port_stats(sw, n) for n in (src_port, dst_port)}
    dst.cmd("set fwd rxonly")
    dst.cmd("start")
    src.cmd("set fwd flowgen")
    src.cmd("start")
    time.sleep(secs)
    src.cmd("stop")
    wait_settled(sw, [src_port, dst_port])
    time.sleep(0.3)           # dst drains its ring
    dst.cmd("stop")
    s1 = src.stats()
    d1 = dst.stats()
    p1 = {n: port_stats(sw, n) for n in (src_port, dst_port)}

    def delta(name, key):
        return p1[name][key] - p0[name][key]

    sent = s1[1] - s0[1]
    got = d1[0] - d0[0]
    assert sent > 1000, f"testpmd {src.name} sent only {sent}"
    # Everything the source transmitted was received by sluice...
    assert delta(src_port, "rx_packets") == sent
    # ...and either delivered to the destination guest or counted.
    assert (delta(dst_port, "tx_packets") + delta(dst_port, "tx_dropped")
            == sent)
    # What sluice handed to the guest ring is what the guest received.
    assert delta(dst_port, "tx_packets") == got
    assert got > 0
    return sent, got


def test_normal_both_directions_counts_agree(tmp_path, procs):
    sw, a, b = start_pair(tmp_path, procs)
    run_one_way(sw, a, b, "a", "b")
    run_one_way(sw, b, a, "b", "a")
    # NORMAL learned both guests' MACs from their traffic.
    assert sw.proc.poll() is None


def test_explicit_flows_counts_agree(tmp_path, procs):
    flows = ["priority=10,in_port=1,actions=output:2",
             "priority=10,in_port=2,actions=output:1"]
    sw, a, b = start_pair(tmp_path, procs, flows=flows)
    sent_ab, _ = run_one_way(sw, a, b, "a", "b")
    sent_ba, _ = run_one_way(sw, b, a, "b", "a")
    time.sleep(1.2)         # megaflow stats are pulled periodically
    dumped = {f["match"] if "match" in f else str(f): f
              for f in sw.dump_flows()}
    counts = sorted(f.get("n_packets", 0) for f in dumped.values())
    assert counts == sorted([sent_ab, sent_ba]), dumped


def test_server_mode_vhostuser(tmp_path, procs):
    """sluice creates the sockets (vhostuser); testpmd connects as a
    client."""
    sa, sb = str(tmp_path / "sa.sock"), str(tmp_path / "sb.sock")
    sw = Switch(ports=[{"name": "a", "ofport": 1, "type": "vhostuser",
                        "path": sa},
                       {"name": "b", "ofport": 2, "type": "vhostuser",
                        "path": sb}])
    procs.append(sw)
    assert os.path.exists(sa) and os.path.exists(sb)
    assert link(sw, "a") == "down"
    a, b = attach_client_guests(tmp_path, procs, sw, sa, sb)
    run_one_way(sw, a, b, "a", "b")
    # A guest that goes away takes the link down with it.
    a.kill()
    wait_for(lambda: link(sw, "a") == "down", 10, "link a down")
    sw.stop()
    assert not os.path.exists(sa), "server socket left behind"


def test_reconnect_and_vanishing_peers(tmp_path, procs):
    """Kill the receiving guest mid-traffic and restart it; kill the
    sending guest mid-burst.  sluice keeps running, counts what it drops,
    and dummy ports in the same bridge never stop forwarding."""
    flows = ["priority=10,in_port=1,actions=output:2",
             "priority=10,in_port=2,actions=output:1",
             "priority=10,in_port=3,actions=output:4"]
    dummies = [{"name": "d3", "ofport": 3, "type": "dummy"},
               {"name": "d4", "ofport": 4, "type": "dummy"}]
    sw, a, b = start_pair(tmp_path, procs, flows=flows, extra_ports=dummies)
    frame = bytes.fromhex("020000000004020000000003080045000014000100004011"
                          "0000c0a80001c0a80002") + bytes(26)

    def dummies_forward():
        sw.send("d3", [frame] * 10)
        assert len(sw.capture("d4")) == 10

    b.cmd("set fwd rxonly")
    b.cmd("start")
    a.cmd("set fwd flowgen")
    a.cmd("start")
    wait_for(lambda: port_stats(sw, "b")["tx_packets"] > 1000, 10,
             "traffic a->b")
    b.kill()                                    # receiver vanishes
    wait_for(lambda: link(sw, "b") == "down", 10, "link b down")
    dummies_forward()
    d0 = port_stats(sw, "b")["tx_dropped"]
    wait_for(lambda: port_stats(sw, "b")["tx_dropped"] > d0 + 1000, 10,
             "drops counted while b is gone")
    tx_before = port_stats(sw, "b")["tx_packets"]

    b.restart()                                 # it comes back
    b.wait_ready()
    wait_for(lambda: link(sw, "b") == "up", 15, "link b up again")
    b.cmd("set fwd rxonly")
    b.cmd("start")
    wait_for(lambda: port_stats(sw, "b")["tx_packets"] > tx_before + 1000,
             15, "traffic resumes after reconnect")
    wait_for(lambda: b.stats()[0] > 1000, 10, "new b receives")
    dummies_forward()

    a.kill()                                    # sender vanishes mid-burst
    wait_for(lambda: link(sw, "a") == "down", 10, "link a down")
    dummies_forward()
    assert sw.proc.poll() is None
    pmd = sw.call("pmd-stats")
    assert pmd, "no PMD stats"



def start_churn_traffic(tmp_path, procs):
    """Guests a and b on ports 1 and 2 with flows between them: a sends
    flowgen, b echoes (io), so sluice receives from and transmits to b."""
    flows = ["priority=10,in_port=1,actions=output:2",
             "priority=10,in_port=2,actions=output:1"]
    sw, a, b = start_pair(tmp_path, procs, flows=flows)
    a.cmd("set fwd flowgen")
    a.cmd("start")
    return sw, a, b


def wait_traffic_through(sw, name, what, timeout=15):
    """Waits until port 'name' both received and transmitted 1000 more
    packets."""
    p0 = port_stats(sw, name)

    def moving():
        p = port_stats(sw, name)
        return (p["rx_packets"] > p0["rx_packets"] + 1000
                and p["tx_packets"] > p0["tx_packets"] + 1000)
    wait_for(moving, timeout, what)


def assert_pmd_alive(sw):
    """The PMD still iterates: its cycle counters move."""
    def cycles():
        p = sw.call("pmd-stats")[0]
        return p["busy_cycles"] + p["idle_cycles"]
    c0 = cycles()
    wait_for(lambda: cycles() > c0, 5, "PMD iterating")


def test_guest_teardown_under_traffic_repeatedly(tmp_path, procs):
    """Guest b goes away while sluice forwards to and from it, six times,
    alternately quitting cleanly (the device is stopped over the protocol)
    and killed (the connection just closes), and comes back each time.
    rte_vhost frees the device when sluice's destroy callback returns, so
    the callback waits for the PMD first: no crash, no hang (a callback
    stuck waiting would keep the reconnection from ever coming up), and
    traffic resumes every time."""
    sw, a, b = start_churn_traffic(tmp_path, procs)
    for i in range(6):
        b.cmd("set fwd io")
        b.cmd("start")
        wait_traffic_through(sw, "b", f"traffic through b, round {i}")
        if i % 2:
            b.kill()
        else:
            b.stop()
        wait_for(lambda: link(sw, "b") == "down", 10, f"b down, round {i}")
        assert sw.proc.poll() is None, sw.read_log()
        b.restart()
        wait_for(lambda: link(sw, "b") == "up", 20, f"b up, round {i}")
    b.cmd("set fwd io")
    b.cmd("start")
    wait_traffic_through(sw, "b", "traffic through b at the end")
    assert_pmd_alive(sw)
    assert port_stats(sw, "b")["custom"]["link_changes"] >= 12
    a.cmd("stop")
    assert sw.stop() == 0


def test_port_delete_and_readd_under_traffic(tmp_path, procs):
    """del-port and add-port of vhost port b while both guests keep
    forwarding through it, five times: the device goes away with the port
    (on the main thread, after the datapath stopped polling it), the port
    comes back on the same ofport and traffic resumes."""
    sw, a, b = start_churn_traffic(tmp_path, procs)
    b.cmd("set fwd io")
    b.cmd("start")
    for i in range(5):
        wait_traffic_through(sw, "b", f"traffic through b, round {i}")
        sw.call("del-port", bridge="br0", name="b")
        assert sw.proc.poll() is None, sw.read_log()
        assert_pmd_alive(sw)
        sw.call("add-port", bridge="br0", name="b", type="vhostuserclient",
                options={"path": b.sock})
        wait_for(lambda: link(sw, "b") == "up", 20, f"b up, round {i}")
    wait_traffic_through(sw, "b", "traffic through b at the end")
    a.cmd("stop")
    assert sw.stop() == 0

def test_multiqueue_two_queue_pairs(tmp_path, procs):
    sw, a, b = start_pair(tmp_path, procs, queues=2)
    sent, got = run_one_way(sw, a, b, "a", "b")
    run_one_way(sw, b, a, "b", "a")
    # flowgen spreads its flows over both tx queues; both were polled
    # (otherwise the counts above would not agree).
    assert sent > 0 and got > 0


def test_no_guest_drops_counted_pmd_not_stuck(tmp_path):
    """A vhostuserclient port whose peer never appears: flooded packets
    are dropped and counted, the link is down, other ports forward."""
    ports = [{"name": "v1", "ofport": 1, "type": "vhostuserclient",
              "path": str(tmp_path / "nobody.sock")},
             {"name": "d2", "ofport": 2, "type": "dummy"},
             {"name": "d3", "ofport": 3, "type": "dummy"}]
    with Switch(ports=ports) as sw:
        assert link(sw, "v1") == "down"
        frame = bytes.fromhex("ffffffffffff020000000002080045000014000100"
                              "0040110000c0a80001c0a80002") + bytes(26)
        sw.send("d2", [frame] * 50)
        assert len(sw.capture("d3")) == 50
        assert port_stats(sw, "v1")["tx_dropped"] == 50
        assert port_stats(sw, "v1")["tx_packets"] == 0
        sw.send("d2", [frame] * 50)
        assert len(sw.capture("d3")) == 50
        assert port_stats(sw, "v1")["tx_dropped"] == 100
        # The provider's own counters say why: no guest, not a full ring.
        custom = port_stats(sw, "v1")["custom"]
        assert custom["tx_no_guest"] == 100
        assert custom["tx_ring_full"] == 0
        text = sw.ofctl("dump-ports", "br0", "v1").stdout
        assert "tx_no_guest=100" in text


def test_bad_paths_refused(tmp_path):
    regular = tmp_path / "not-a-socket"
    regular.write_text("x")
    with Switch(ports=[{"name": "d1", "ofport": 1, "type": "dummy"}]) as sw:
        with pytest.raises(CtlError) as e:
            sw.call("add-port", bridge="br0", name="v1", type="vhostuser",
                    options={"path": str(regular)})
        assert "not a socket" in e.value.message
        assert regular.read_text() == "x", "file was touched"
        # Two ports on one socket path.
        sock = str(tmp_path / "s.sock")
        sw.call("add-port", bridge="br0", name="v2", type="vhostuser",
                options={"path": sock})
        with pytest.raises(CtlError):
            sw.call("add-port", bridge="br0", name="v3", type="vhostuser",
                    options={"path": sock})
        # A live socket owned by this daemon is in use; a stale one left
        # by a dead process is replaced.
        sw.call("del-port", bridge="br0", name="v2")
        assert not os.path.exists(sock)
        import socket as so
        s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        s.bind(sock)
        s.close()                       # bound, nobody listens: stale
        sw.call("add-port", bridge="br0", name="v4", type="vhostuser",
                options={"path": sock})
        assert link(sw, "v4") == "down"
        bad = {"path": str(tmp_path / "q.sock"), "queues": "0"}
        with pytest.raises(CtlError):
            sw.call("add-port", bridge="br0", name="v5",
                    type="vhostuserclient", options=bad)
        assert sw.proc.poll() is None
    # At start-up the same refusal does not stop the daemon: the port is
    # kept as failed, with the reason, and the file is left alone.
    with Switch(ports=[{"name": "v1", "ofport": 1, "type": "vhostuser",
                        "path": str(regular)},
                       {"name": "d2", "ofport": 2, "type": "dummy"}]) as sw:
        show = sw.call("show", bridge="br0")
        assert [p["name"] for p in show["ports"]] == ["d2"]
        (f,) = show["failed_ports"]
        assert f["name"] == "v1" and "not a socket" in f["error"], f
        assert "port v1 cannot be opened" in sw.read_log()
    assert regular.read_text() == "x", "file was touched"


def test_peer_that_negotiates_nonsense(tmp_path, procs):
    """A front end that speaks garbage, or valid-looking vhost-user
    messages with absurd contents, is disconnected; the switch keeps
    forwarding on its other ports and a real guest can attach afterwards."""
    import socket
    import struct

    sa, sb = str(tmp_path / "sa.sock"), str(tmp_path / "sb.sock")
    sw = Switch(ports=[{"name": "a", "ofport": 1, "type": "vhostuser",
                        "path": sa},
                       {"name": "b", "ofport": 2, "type": "vhostuser",
                        "path": sb},
                       {"name": "d3", "ofport": 3, "type": "dummy"},
                       {"name": "d4", "ofport": 4, "type": "dummy"}])
    procs.append(sw)

    def hdr(req, size, flags=1):
        return struct.pack("<III", req, flags, size)

    nonsense = [
        os.urandom(64),                          # not a message at all
        hdr(0xdead, 8) + bytes(8),               # unknown request
        hdr(1, 0x7fffffff),                      # GET_FEATURES, huge size
        hdr(5, 8) + struct.pack("<Q", 1 << 63),  # SET_MEM_TABLE, no fds
        hdr(8, 8) + struct.pack("<Q", 1000),     # SET_VRING_NUM, bad vring
        hdr(2, 8) + struct.pack("<Q", ~0 & (2**64 - 1)),  # all features
        hdr(1, 0)[:6],                           # a truncated header
    ]
    for msg in nonsense:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(sa)
            s.sendall(msg)
            try:
                s.recv(4096)
            except (socket.timeout, OSError):
                pass
        finally:
            s.close()
        # Still alive, link still down, other ports forwarding.
        assert sw.proc.poll() is None, sw.read_log()
        assert link(sw, "a") == "down"
        frame = bytes.fromhex("ffffffffffff020000000002080045000014000100"
                              "0040110000c0a80001c0a80002") + bytes(26)
        sw.send("d3", [frame] * 5)
        assert len(sw.capture("d4")) == 5
    # A real guest attaches and forwards afterwards.
    a, b = attach_client_guests(tmp_path, procs, sw, sa, sb)
    run_one_way(sw, a, b, "a", "b")


def test_capture_pcap_on_vhost_ports(tmp_path, procs):
    """sluice-ofctl capture-pcap on a vhost-user port while it forwards at
    full rate: the pcapng file holds exactly the count asked for, every
    packet the guest's flowgen UDP as received, and forwarding counts still
    agree; a second capture of the sending side (tx) sees what leaves by
    b."""
    from scapy.all import IP, UDP, Ether, rdpcap
    from sltest import OFCTL

    sw, a, b = start_pair(tmp_path, procs,
                          flows=["priority=10,in_port=1,actions=output:2"])
    files = {d: str(tmp_path / f"{d}.pcapng") for d in ("rx", "tx")}
    caps = [subprocess.Popen(
        [OFCTL, "--socket", sw.sock, "capture-pcap", "br0", port, d, "-w",
         files[d], "-c", "500", "-d", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for port, d in (("a", "rx"), ("b", "tx"))]
    try:
        wait_for(lambda: len(sw.call("capture-list")) == 2, 10,
                 "two captures")
        run_one_way(sw, a, b, "a", "b")
        outs = [c.communicate(timeout=40) for c in caps]
    finally:
        for c in caps:
            if c.poll() is None:
                c.kill()
                c.wait()
    for c, (out, err) in zip(caps, outs):
        assert c.returncode == 0, err
        assert "500 packets captured" in err and "ended: count" in err, err
    for d in ("rx", "tx"):
        pkts = rdpcap(files[d])
        assert len(pkts) == 500, (d, len(pkts))
        for p in pkts:
            e = Ether(bytes(p))
            # testpmd's flowgen: 10.254.0.0:1000 -> 10.253.x.y:1001.
            assert UDP in e and e[IP].src == "10.254.0.0" \
                and e[UDP].sport == 1000 and e[UDP].dport == 1001, \
                e.summary()
    assert sw.call("capture-list") == []
