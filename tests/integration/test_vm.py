# SPDX-License-Identifier: BSD-3-Clause
"""Real VMs over vhost-user: two QEMU guests (a Debian cloud kernel and a
busybox initramfs, built by tests/vm/build-guest.sh from Debian packages)
attached to sluice, one on a `vhostuser` port (sluice listens), one on a
`vhostuserclient` port (QEMU listens, sluice connects).  They ping each
other and move 4 MiB over TCP through the switch, once with NORMAL and
once with explicit flows.  TCP (partial checksums from a Linux guest) is
the point: ping alone would pass with broken offloads.

KVM is used only where the CPU has vmx/svm; TCG otherwise.  Skipped, with
the reason, where QEMU cannot run at all.
"""
import os
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


def run_two_vms(tmp_path, guest, flows):
    kernel, initrd = guest
    s1 = str(tmp_path / "vm1.sock")     # sluice listens (vhostuser)
    s2 = str(tmp_path / "vm2.sock")     # QEMU listens (vhostuserclient)
    ports = [{"name": "vm1", "ofport": 1, "type": "vhostuser", "path": s1},
             {"name": "vm2", "ofport": 2, "type": "vhostuserclient",
              "path": s2}]
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
        # The data went through sluice: well over MIB MiB each way in
        # frames of at most 1514 bytes (no TSO was negotiated).
        assert stats["vm2"]["rx_bytes"] > MIB << 20, diag
        assert stats["vm1"]["tx_bytes"] > MIB << 20, diag
        assert stats["vm2"]["rx_bytes"] <= stats["vm2"]["rx_packets"] * 1514
        assert all(p["mtu"] > 0 for p in show["ports"])
        return sw
    finally:
        for vm in vms:
            vm.stop()
        sw.stop()


def test_two_vms_normal(tmp_path, guest):
    run_two_vms(tmp_path, guest, None)


def test_two_vms_explicit_flows(tmp_path, guest):
    run_two_vms(tmp_path, guest,
                ["priority=10,in_port=1,actions=output:2",
                 "priority=10,in_port=2,actions=output:1"])
