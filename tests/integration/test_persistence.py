# SPDX-License-Identifier: BSD-3-Clause
"""Bridges, ports and flows survive a restart with the same config, also
after SIGKILL; a corrupt state file is detected and never half-loaded."""
import glob
import json
import os
import shutil
import signal
import subprocess

import pytest
from scapy.all import IP, UDP, Ether, Raw

from sltest import OFCTL, CtlError, Switch

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


def state_file(sw):
    """The one state file of 'sw' (sluiced-HASH.state, by control
    socket)."""
    files = glob.glob(os.path.join(sw.state_dir, "sluiced-*.state"))
    assert len(files) == 1, files
    return files[0]


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
        path = state_file(sw)
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


def write_pcap(path, n=3):
    """A pcap of n small UDP frames (for a net_pcap port)."""
    from scapy.all import wrpcap
    wrpcap(path, [Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") /
                  IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)
                  / Raw(b"p" * 8) for _ in range(n)])


def test_port_that_cannot_reopen_is_kept_as_failed():
    """A saved port whose device is gone (a net_pcap port whose file was
    removed) no longer stops the daemon: it starts with everything else,
    shows the port as failed with why, keeps it in the state (name and
    ofport reserved), and add-port of the same name once the file is back
    opens it again; del-port forgets it."""
    sw = Switch()
    pcap = os.path.join(sw.dir, "in.pcap")
    write_pcap(pcap)
    devargs = f"net_pcap_fail{os.getpid()},rx_pcap={pcap}"
    try:
        sw.add_flows("priority=5,in_port=1,actions=output:2")
        sw.call("add-port", bridge="br0", name="p9", type="dpdk",
                options={"ofport": "9", "devargs": devargs})
        before = snapshot(sw)
        sw.kill()
        os.unlink(pcap)
        sw.start()
        log = sw.read_log()
        assert "port p9 cannot be opened, kept as failed" in log, log
        show = sw.call("show", bridge="br0")
        assert [p["name"] for p in show["ports"]] == ["d1", "d2", "d3"]
        (f,) = show["failed_ports"]
        assert (f["name"], f["ofport"], f["type"]) == ("p9", 9, "dpdk")
        assert f["options"]["devargs"] == devargs and f["error"], f
        # The others forward; the flows came back.
        assert snapshot(sw)[0] == before[0]
        pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
            IP(src="1.1.1.1", dst="10.1.2.3") / UDP(sport=1, dport=2)
        sw.send("d1", pkt)
        assert len(sw.capture("d2")) == 1
        out = subprocess.run([OFCTL, "--socket", sw.sock, "show", "br0"],
                             capture_output=True, text=True, timeout=30)
        assert " 9(p9): type=dpdk FAILED: " in out.stdout, out.stdout
        # Its name and ofport stay reserved.
        with pytest.raises(CtlError, match="held by port p9"):
            sw.call("add-port", bridge="br0", name="p9x",
                    type="dummy", options={"ofport": "9"})
        ports = [p["ofport"] for p in sw.call("show", bridge="br0")["ports"]]
        assert 9 not in ports
        # Still saved: another restart still knows it.
        saved = json.load(open(state_file(sw)))
        assert "p9" in [p["name"] for p in saved["bridges"][0]["ports"]]
        sw.kill()
        sw.start()
        assert [f["name"] for f in
                sw.call("show", bridge="br0")["failed_ports"]] == ["p9"]
        # The file is back: add-port of the same name opens it, at its
        # saved ofport.
        write_pcap(pcap)
        sw.call("add-port", bridge="br0", name="p9", type="dpdk",
                options={"devargs": devargs})
        show = sw.call("show", bridge="br0")
        assert show["failed_ports"] == []
        assert [(p["name"], p["ofport"]) for p in show["ports"]][-1] == \
            ("p9", 9)
        sw.kill()
        os.unlink(pcap)
        sw.start()
        # del-port forgets a failed port, and that is saved too.
        sw.call("del-port", bridge="br0", name="p9")
        assert sw.call("show", bridge="br0")["failed_ports"] == []
        sw.kill()
        sw.start()
        show = sw.call("show", bridge="br0")
        assert show["failed_ports"] == [] and \
            "p9" not in [p["name"] for p in show["ports"]]
    finally:
        assert sw.stop() == 0


def test_state_belongs_to_its_instance():
    """Two daemons with the same config and state.dir but different control
    sockets keep separate state files and never restore each other's
    ports and flows."""
    a = Switch()
    b = Switch(start=False)
    try:
        b.config["state"]["dir"] = a.state_dir
        b.start()
        a.add_flows("priority=7,actions=drop")
        b.add_flows("priority=8,in_port=1,actions=output:3")
        b.call("add-port", bridge="br0", name="db", type="dummy",
               options={"ofport": "12"})
        fa, fb = snapshot(a), snapshot(b)
        assert fa != fb
        files = glob.glob(os.path.join(a.state_dir, "sluiced-*.state"))
        assert len(files) == 2, files
        owners = sorted(json.load(open(f))["instance"] for f in files)
        assert owners == sorted([a.sock, b.sock])
        a.kill()
        b.kill()
        b.start()
        a.start()
        assert snapshot(a) == fa
        assert snapshot(b) == fb
        # A file claimed by another socket is not loaded, even under our
        # name.
        a.kill()
        b.kill()
        fa_path = [f for f in files
                   if json.load(open(f))["instance"] == a.sock][0]
        fb_path = [f for f in files if f != fa_path][0]
        shutil.copy(fb_path, fa_path)
        a.start()
        assert "saved by the instance on control socket" in a.read_log()
        flows, ports = snapshot(a)
        assert [f[4] for f in flows] == ["NORMAL"]
    finally:
        a.stop()
        b.stop()


def test_legacy_state_file_is_adopted_only_on_the_default_socket():
    """A state file of the old name (sluiced.state, no owner) is not
    restored by a daemon on another control socket."""
    sw = Switch()
    try:
        program(sw)
        sw.kill()
        path = state_file(sw)
        os.rename(path, os.path.join(sw.state_dir, "sluiced.state"))
        sw.start()
        flows, ports = snapshot(sw)
        assert [f[4] for f in flows] == ["NORMAL"]
        assert os.path.exists(os.path.join(sw.state_dir, "sluiced.state"))
    finally:
        assert sw.stop() == 0
