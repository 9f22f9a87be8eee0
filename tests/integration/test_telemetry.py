# SPDX-License-Identifier: BSD-3-Clause
"""DPDK telemetry: dpdk-telemetry.py (Debian's dpdk package) shows sluice's
own figures under /sluice/, next to DPDK's, and they agree with the
control socket's (they are at most about a second old)."""
import json
import shutil
import subprocess
import time

import pytest
from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch

FLOWS = ["priority=10,in_port=1,actions=output:2",
         "priority=10,in_port=3,actions=drop"]


def telemetry(sw, *cmds):
    """Runs dpdk-telemetry.py against sw's DPDK instance; {cmd: answer}."""
    exe = shutil.which("dpdk-telemetry.py")
    if exe is None:
        pytest.fail("dpdk-telemetry.py not found: Debian's dpdk package "
                    "(tools/install-deps.sh); this test must not skip")
    p = subprocess.run([exe, "-f", sw.prefix], input="\n".join(cmds) + "\n",
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def test_sluice_commands_agree_with_the_control_socket():
    sw = Switch(flows=FLOWS)
    try:
        pkts = [Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") /
                IP(src="10.0.0.1", dst="10.0.1.%d" % i) /
                UDP(sport=1000 + i, dport=53) / Raw(b"t" * 20)
                for i in range(30)]
        sw.send("d1", pkts)
        sw.send("d3", pkts[:4])
        time.sleep(1.5)         # the snapshot is refreshed once a second
        t = telemetry(sw, "/", "/sluice/pmds", "/sluice/ports",
                      "/sluice/port_stats,br0/d1", "/sluice/port_stats,br0/d2",
                      "/sluice/pmd_stats,0", "/sluice/drops",
                      "/sluice/conntrack", "/sluice/offload",
                      "/sluice/pmd_stats,99", "/ethdev/list")
        # Listed among DPDK's own commands.
        for c in ("/sluice/pmds", "/sluice/pmd_stats", "/sluice/ports",
                  "/sluice/port_stats", "/sluice/drops", "/sluice/offload",
                  "/sluice/conntrack"):
            assert c in t["/"], t["/"]
        pmds = sw.call("pmd-stats")
        assert t["/sluice/pmds"] == [p["pmd"] for p in pmds]
        assert t["/sluice/ports"] == ["br0/d1", "br0/d2", "br0/d3"]
        ports = {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}
        # Two port_stats answers: the later one (d2) is kept in the dict.
        d2 = t["/sluice/port_stats"]
        assert d2["ofport"] == 2 and d2["link_up"] == 1
        for k in ("rx_packets", "tx_packets", "tx_bytes", "tx_dropped"):
            assert d2[k] == ports["d2"][k], (k, d2, ports["d2"])
        assert d2["tx_packets"] == 30
        st = t["/sluice/pmd_stats"]
        assert st is None          # the last one asked: pmd 99 does not exist
        drops = t["/sluice/drops"]
        assert drops["action_drop"] == sum(p["drops"]["action_drop"]
                                           for p in pmds) == 4
        assert "ct_invalid" in drops and "port_tx_dropped" in drops
        ct = sw.call("conntrack-stats")
        assert t["/sluice/conntrack"]["connections"] == ct["connections"]
        assert t["/sluice/conntrack"]["max_conns"] == ct["max_conns"]
        assert t["/sluice/offload"]["enabled"] == 0
        # One command at a time, each answer whole.
        one = telemetry(sw, "/sluice/port_stats,br0/d1")["/sluice/port_stats"]
        assert one["rx_packets"] == ports["d1"]["rx_packets"] == 30
        st0 = telemetry(sw, "/sluice/pmd_stats,0")["/sluice/pmd_stats"]
        assert st0["packets"] == pmds[0]["packets"]
        assert st0["drop_action_drop"] == 4
        bad = telemetry(sw, "/sluice/port_stats,br0/nope",
                        "/sluice/pmd_stats,x")
        assert bad == {"/sluice/port_stats": None, "/sluice/pmd_stats": None}
    finally:
        assert sw.stop() == 0
