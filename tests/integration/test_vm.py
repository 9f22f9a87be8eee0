# SPDX-License-Identifier: BSD-3-Clause
"""Real VMs over vhost-user: two QEMU guests (a Debian cloud kernel and a
busybox initramfs, built by tests/vm/build-guest.sh from Debian packages)
attached to sluice, one on a `vhostuser` port (sluice listens), one on a
`vhostuserclient` port (QEMU listens, sluice connects).  They ping each
other and move 4 MiB over TCP through the switch, once with NORMAL and
checksum and segmentation offload negotiated (TSO frames pass from guest
to guest whole), once with explicit flows and the offloads off.  TCP
(partial checksums from a Linux guest) is the point: ping alone would
pass with broken offloads.  A third test puts a network namespace on a
tap port between two guests: what a guest sends as TSO frames goes to the
kernel whole under a virtio-net header or, with the tap's tso=false, cut
into segments and checksummed in software; 4 MiB go each way with their
md5.

KVM is used only where the CPU has vmx/svm; TCG otherwise.  Skipped, with
the reason, where QEMU cannot run at all.
"""
import os
import subprocess
import sys

import pytest

from sltest import Switch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "vm"))
import vmlib  # noqa: E402

MIB = 4

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="DPDK needs root here"),
    pytest.mark.skipif(vmlib.why_no_qemu() is not None,
                       reason=str(vmlib.why_no_qemu())),
]


@pytest.fixture(scope="module")
def guest():
    try:
        return vmlib.build_guest()
    except (RuntimeError, OSError) as e:
        pytest.skip(f"cannot build the test guest from Debian packages: {e}")


def port_stats(sw):
    return {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}


def run_two_vms(tmp_path, guest, flows, tso):
    kernel, initrd = guest
    s1 = str(tmp_path / "vm1.sock")     # sluice listens (vhostuser)
    s2 = str(tmp_path / "vm2.sock")     # QEMU listens (vhostuserclient)
    ports = [{"name": "vm1", "ofport": 1, "type": "vhostuser", "path": s1},
             {"name": "vm2", "ofport": 2, "type": "vhostuserclient",
              "path": s2}]
    if not tso:
        for p in ports:
            p["tso"] = "false"
    vms = []
    sw = Switch(ports=ports, flows=flows)
    try:
        vm1 = vmlib.Vm(str(tmp_path), "vm1", kernel, initrd, s1, False,
                       "52:54:00:5c:00:01", "10.55.0.1", "10.55.0.2",
                       "server", MIB)
        vm2 = vmlib.Vm(str(tmp_path), "vm2", kernel, initrd, s2, True,
                       "52:54:00:5c:00:02", "10.55.0.2", "10.55.0.1",
                       "client", MIB)
        vms = [vm1, vm2]
        for vm in vms:
            vm.start()
        finished = vmlib.wait_all_done(vms, 100)
        r1, r2 = vm1.results(), vm2.results()
        stats = port_stats(sw)
        show = sw.call("show", bridge="br0")
        diag = (f"\nvm1: {r1}\nvm2: {r2}\nports: {stats}\n"
                f"--- vm1 serial ---\n{vm1.serial_text()[-3000:]}"
                f"\n--- vm2 serial ---\n{vm2.serial_text()[-3000:]}"
                f"\n--- qemu ---\n{vm1.qemu_log()[-1500:]}"
                f"{vm2.qemu_log()[-1500:]}"
                f"\n--- sluiced ---\n{sw.read_log()[-3000:]}")
        assert finished, "guests did not finish in time" + diag
        assert r1.get("ping", ("fail",))[0] == "ok", diag
        assert r2.get("ping", ("fail",))[0] == "ok", diag
        assert r2.get("tcp", (None,))[0] == "sent", diag
        assert r1.get("tcp", (None,))[0] == "recv", diag
        # Every byte arrived, unchanged.
        assert r1["tcp"][1] == MIB << 20, diag
        assert r1["tcp"][1:] == r2["tcp"][1:], diag
        # The data went through sluice: over MIB MiB.  With the offloads,
        # vm1 took vm2's partial checksums and TSO frames as they were
        # (nothing done in software; whether vm2's TCP made TSO frames
        # depends on its speed: test_vhost_tso.py makes them for sure);
        # without, every frame is at most 1514 bytes.
        assert stats["vm2"]["rx_bytes"] > MIB << 20, diag
        assert stats["vm1"]["tx_bytes"] > MIB << 20, diag
        if tso:
            assert stats["vm1"]["tx_sw_segments"] == 0, diag
            assert stats["vm1"]["tx_sw_checksums"] == 0, diag
        else:
            assert (stats["vm2"]["rx_bytes"]
                    <= stats["vm2"]["rx_packets"] * 1514), diag
        assert stats["vm1"]["tx_offload_dropped"] == 0, diag
        assert all(p["mtu"] > 0 for p in show["ports"])
        return sw
    finally:
        for vm in vms:
            vm.stop()
        sw.stop()


def test_two_vms_normal(tmp_path, guest):
    run_two_vms(tmp_path, guest, None, True)


def test_two_vms_explicit_flows(tmp_path, guest):
    run_two_vms(tmp_path, guest,
                ["priority=10,in_port=1,actions=output:2",
                 "priority=10,in_port=2,actions=output:1"], False)


NS = "sltvm-ns"
TAP = "sltvm0"
NS_IP = "10.55.0.3"

# In the namespace: receives one TCP stream, prints "<bytes> <md5>".
NS_RECV = r"""
import hashlib, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001))
s.listen(1)
s.settimeout(150)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(60)
h, n = hashlib.md5(), 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
"""

# In the namespace: sends argv[1] random bytes to argv[2]:5001 once the
# guest listens; prints "<bytes> <md5>".
NS_SEND = r"""
import hashlib, os, socket, sys, time
data = os.urandom(int(sys.argv[1]))
print("ready", flush=True)
deadline = time.time() + 150
while True:
    try:
        c = socket.create_connection((sys.argv[2], 5001), timeout=5)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.5)
c.settimeout(60)
c.sendall(data)
c.close()
print(len(data), hashlib.md5(data).hexdigest(), flush=True)
"""


def sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check,
                          timeout=30)


@pytest.mark.parametrize("tap_tso", [True, False],
                         ids=["tap_tso", "tap_no_tso"])
def test_vm_and_namespace_over_tap(tmp_path, guest, tap_tso):
    """vm1 sends 4 MiB to a namespace on a tap port, the namespace sends
    4 MiB to vm2; both arrive whole.  vm1's TSO frames go to the kernel
    whole, under a virtio-net header (tap option tso, the default), or,
    with tso=false, cut into segments in software."""
    kernel, initrd = guest
    s1 = str(tmp_path / "vm1.sock")
    s2 = str(tmp_path / "vm2.sock")
    ports = [{"name": "vm1", "ofport": 1, "type": "vhostuser", "path": s1},
             {"name": "vm2", "ofport": 2, "type": "vhostuser", "path": s2},
             {"name": "t0", "ofport": 3, "type": "tap", "ifname": TAP,
              "tso": "true" if tap_tso else "false"}]
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    vms, procs, sw = [], [], None
    try:
        sw = Switch(ports=ports)
        sh("ip", "link", "set", TAP, "netns", NS)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", f"{NS_IP}/24", "dev", TAP],
                    ["ip", "link", "set", TAP, "up"]):
            sh("ip", "netns", "exec", NS, *cmd)
        ns = ["ip", "netns", "exec", NS, "timeout", "170", "/usr/bin/python3",
              "-c"]
        recv = subprocess.Popen(ns + [NS_RECV], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        send = subprocess.Popen(ns + [NS_SEND, str(MIB << 20), "10.55.0.2"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        procs = [recv, send]
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        vm1 = vmlib.Vm(str(tmp_path), "vm1", kernel, initrd, s1, False,
                       "52:54:00:5c:00:01", "10.55.0.1", NS_IP, "client",
                       MIB)
        vm2 = vmlib.Vm(str(tmp_path), "vm2", kernel, initrd, s2, False,
                       "52:54:00:5c:00:02", "10.55.0.2", NS_IP, "server",
                       MIB)
        vms = [vm1, vm2]
        for vm in vms:
            vm.start()
        finished = vmlib.wait_all_done(vms, 150)
        got = [p.communicate(timeout=60) for p in procs]
        r1, r2 = vm1.results(), vm2.results()
        stats = port_stats(sw)
        diag = (f"\nvm1: {r1}\nvm2: {r2}\nns: {got}\nports: {stats}\n"
                f"--- vm1 serial ---\n{vm1.serial_text()[-2000:]}"
                f"\n--- vm2 serial ---\n{vm2.serial_text()[-2000:]}"
                f"\n--- sluiced ---\n{sw.read_log()[-3000:]}")
        assert finished, "guests did not finish in time" + diag
        ns_recv = got[0][0].split()
        ns_sent = got[1][0].split()
        # Guest -> namespace: what vm1 sent is what the namespace got.
        assert r1.get("tcp", (None,))[0] == "sent", diag
        assert [int(ns_recv[0]), ns_recv[1]] == list(r1["tcp"][1:]), diag
        # Namespace -> guest.
        assert r2.get("tcp", (None,))[0] == "recv", diag
        assert [int(ns_sent[0]), ns_sent[1]] == list(r2["tcp"][1:]), diag
        assert r2["tcp"][1] == MIB << 20, diag
        # vm1's partial checksums (a Linux guest leaves every TCP
        # checksum to the device) and TSO frames, if its TCP made any (it
        # does unless the run is slow: test_vhost_tso.py makes them for
        # sure), went to the kernel as they were, or were completed and
        # cut in software.
        assert stats["t0"]["tx_offload_dropped"] == 0, diag
        done = stats["t0"]["tx_sw_segments"] + stats["t0"]["tx_sw_checksums"]
        if tap_tso:
            assert done == 0, diag
        else:
            assert done > 0, diag
            assert (stats["t0"]["tx_bytes"]
                    <= stats["t0"]["tx_packets"] * 1514), diag
    finally:
        for vm in vms:
            vm.stop()
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        if sw:
            sw.stop()
        sh("ip", "netns", "del", NS, check=False)
