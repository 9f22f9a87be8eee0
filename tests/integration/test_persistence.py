# SPDX-License-Identifier: BSD-3-Clause
"""Bridges, ports and flows survive a restart with the same config, also
after SIGKILL; a corrupt state file is detected and never half-loaded."""
import json
import os
import signal

import pytest
from scapy.all import IP, UDP, Ether, Raw

from sltest import CtlError, Switch

FLOWS = ["table=0,priority=100,ip,in_port=1,nw_dst=10.0.0.0/8,"
         "actions=mod_nw_tos:16,output:2",
         "table=0,priority=50,cookie=0x1f,udp,tp_dst=53,actions=drop",
         "table=1,priority=7,idle_timeout=300,dl_vlan=10,actions=strip_vlan,"
         "output:3",
         "table=0,priority=10,in_port=2,actions=goto_table:1"]


def snapshot(sw):
    flows = sorted((f["table"], f["priority"], f["cookie"], f["match"],
                    f["actions"], f["idle_timeout"], f["hard_timeout"])
                   for f in sw.dump_flows())
    ports = [(p["name"], p["ofport"], p["type"], p["options"])
             for p in sw.call("show", bridge="br0")["ports"]]
    return flows, ports


def program(sw):
    sw.del_flows()
    sw.add_flows(*FLOWS)
    sw.call("add-port", bridge="br0", name="d7", type="dummy",
            options={"ofport": "7", "rxq": "2"})
    sw.call("del-port", bridge="br0", name="d3")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_restart_restores_everything(how):
    sw = Switch()
    try:
        program(sw)
        before = snapshot(sw)
        assert len(before[0]) == len(FLOWS)
        sw.kill(how)
        sw.start()
        assert snapshot(sw) == before
        # And it forwards with the restored flows.
        pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
            IP(src="1.1.1.1", dst="10.1.2.3") / UDP(sport=1, dport=2) / \
            Raw(b"r" * 10)
        sw.send("d1", pkt)
        got = sw.capture("d2")
        assert len(got) == 1 and Ether(got[0])[IP].tos == 16
    finally:
        assert sw.stop() == 0


def test_failed_change_leaves_state_alone():
    sw = Switch()
    try:
        program(sw)
        before = snapshot(sw)
        with pytest.raises(CtlError):
            sw.add_flows("priority=1,actions=output:1",
                         "priority=1,nw_src=1.2.3.4,actions=drop")
        sw.kill()
        sw.start()
        assert snapshot(sw) == before
    finally:
        sw.stop()


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_state_is_not_loaded(damage):
    sw = Switch()
    try:
        program(sw)
        sw.kill()
        path = os.path.join(sw.state_dir, "sluiced.state")
        data = open(path, "rb").read()
        if damage == "truncate":
            data = data[:len(data) // 2]
        elif damage == "flip":
            # Valid JSON, one flow changed: the checksum catches it.
            doc = json.loads(data)
            fl = doc["bridges"][0]["flows"]
            fl[0] = fl[0].replace("output:2", "output:3")
            data = json.dumps(doc).encode()
        elif damage == "garbage":
            data = os.urandom(300)
        else:
            data = b""
        open(path, "wb").write(data)
        sw.start()
        log = sw.read_log()
        assert "state file unusable" in log
        assert os.path.exists(path + ".bad")
        # Started from the config: the default table and the 3 dummy ports.
        flows, ports = snapshot(sw)
        assert [f[4] for f in flows] == ["NORMAL"]
        assert [p[0] for p in ports] == ["d1", "d2", "d3"]
    finally:
        sw.stop()


def test_state_disabled():
    sw = Switch(state=False)
    try:
        program(sw)
        sw.kill()
        sw.start()
        flows, ports = snapshot(sw)
        assert [f[4] for f in flows] == ["NORMAL"]
    finally:
        sw.stop()


def test_edited_config_wins_over_saved_state():
    sw = Switch()
    try:
        program(sw)
        sw.kill()
        # The operator edits the config's bridges: the saved state belonged
        # to the old configuration and is not applied.
        sw.config["bridges"][0]["ports"].append(
            {"name": "d8", "ofport": 8, "type": "dummy"})
        sw.start()
        assert "changed since the state was saved" in sw.read_log()
        flows, ports = snapshot(sw)
        assert [f[4] for f in flows] == ["NORMAL"]
        assert [p[0] for p in ports] == ["d1", "d2", "d3", "d8"]
        # From now on the new configuration's state is saved and restored.
        sw.add_flows("priority=9,actions=drop")
        before = snapshot(sw)
        sw.kill()
        sw.start()
        assert snapshot(sw) == before
    finally:
        sw.stop()
