# SPDX-License-Identifier: BSD-3-Clause
"""Port mirroring (config "mirrors", add-mirror / del-mirror /
dump-mirrors): copies by input port, output port and VLAN, once per mirror;
the output port carries the copies and nothing else; mirrors follow ports
that come and go, survive a restart, and feed tcpdump on a tap."""
import json
import os
import shutil
import subprocess
import time

import pytest
from scapy.all import Dot1Q, Ether, IP, UDP, Raw, rdpcap

from sltest import OFCTL, CtlError, Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def udp(tag, vlan=None, dst=B):
    e = Ether(src=A, dst=dst)
    if vlan is not None:
        e = e / Dot1Q(vlan=vlan)
    return e / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=9) / \
        Raw(tag.ljust(24, b"."))


def ports(n):
    return [{"name": f"d{i}", "ofport": i, "type": "dummy"}
            for i in range(1, n + 1)]


def mirrors(sw, bridge="br0"):
    return {m["name"]: m for m in sw.call("dump-mirrors", bridge=bridge)}


def drops(sw, reason):
    return sum(p["drops"].get(reason, 0) for p in sw.call("pmd-stats"))


def payloads(pkts):
    return sorted(bytes(Ether(p)[Raw].load).rstrip(b".") for p in pkts)


def settle(sw, n):
    sw.wait_processed(n)
    time.sleep(0.2)


def test_copies_by_source_and_destination_once():
    flows = ["priority=10,in_port=1,actions=output:2",
             "priority=10,in_port=4,actions=output:2",
             "priority=10,in_port=2,actions=output:4"]
    with Switch(ports=ports(4), flows=flows, state=False) as sw:
        sw.call("add-mirror", bridge="br0", name="m0", output_port="d3",
                select_src_port=["d1"], select_dst_port=["d2"])
        assert mirrors(sw)["m0"]["active"] is True
        # d1 -> d2: selected on both sides, copied once.  d4 -> d2: by
        # its destination.  d2 -> d4: not selected.
        sw.inject("d1", [udp(b"a1"), udp(b"a2")])
        sw.inject("d4", [udp(b"b1")])
        sw.inject("d2", [udp(b"c1")])
        settle(sw, 4)
        assert payloads(sw.capture("d3")) == [b"a1", b"a2", b"b1"]
        assert payloads(sw.capture("d2")) == [b"a1", b"a2", b"b1"]
        m = mirrors(sw)["m0"]
        assert m["tx_packets"] == 3 and m["dropped"] == 0
        assert m["tx_bytes"] == 3 * len(udp(b"a1"))

        # The copy is the packet as received (before a rewrite) for a
        # source port, as sent for a destination port.
        sw.call("add-flows", bridge="br0", flows=[
            "priority=20,in_port=1,ip,actions=mod_nw_tos:32,output:2",
            "priority=20,in_port=4,ip,actions=mod_nw_tos:64,output:2"])
        sw.inject("d1", [udp(b"r1")])
        sw.inject("d4", [udp(b"r2")])
        settle(sw, 6)
        tos = {bytes(Ether(p)[Raw].load).rstrip(b"."): Ether(p)[IP].tos
               for p in sw.capture("d3")}
        assert tos == {b"r1": 0, b"r2": 64}, tos
        sw.capture("d2")

        sw.call("del-mirror", bridge="br0", name="m0")
        sw.inject("d1", [udp(b"z")])
        settle(sw, 7)
        assert sw.capture("d3") == []
        assert sw.call("dump-mirrors", bridge="br0") == []


def test_vlan_selection():
    with Switch(ports=ports(3), flows=["in_port=1,actions=output:2"],
                state=False) as sw:
        sw.ofctl("add-mirror", "br0", "v", "output=d3", "src=d1",
                 "vlan=5,7")
        sw.inject("d1", [udp(b"v5", vlan=5), udp(b"v6", vlan=6),
                         udp(b"v7", vlan=7), udp(b"untagged")])
        settle(sw, 4)
        assert payloads(sw.capture("d3")) == [b"v5", b"v7"]
        assert len(sw.capture("d2")) == 4
        assert mirrors(sw)["v"]["select_vlan"] == [5, 7]


def test_output_port_carries_only_copies():
    """Open vSwitch's rule: the output port is dedicated to the mirror.
    What it receives is dropped, flooding leaves it out, and a flow's
    explicit output to it is dropped; each counted."""
    flows = ["priority=10,in_port=1,actions=NORMAL",
             "priority=10,in_port=2,actions=output:3",
             "priority=10,in_port=3,actions=output:1"]
    with Switch(ports=ports(4), flows=flows, state=False) as sw:
        sw.call("add-mirror", bridge="br0", name="m", output_port="d3",
                select_src_port=["d4"])
        base = drops(sw, "mirror_output_port")
        # A broadcast from d1 floods to d2 and d4, not d3.
        sw.inject("d1", [udp(b"bc", dst="ff:ff:ff:ff:ff:ff")])
        settle(sw, 1)
        assert len(sw.capture("d2")) == 1 and len(sw.capture("d4")) == 1
        assert sw.capture("d3") == []
        # Explicit output to d3 and what d3 receives: dropped, counted.
        sw.inject("d2", [udp(b"x1"), udp(b"x2")])
        sw.inject("d3", [udp(b"in")])
        settle(sw, 4)
        assert sw.capture("d3") == [] and sw.capture("d1") == []
        assert drops(sw, "mirror_output_port") - base == 3
        # Once the mirror is gone, d3 is an ordinary port again.
        sw.call("del-mirror", bridge="br0", name="m")
        sw.inject("d1", [udp(b"bc2", dst="ff:ff:ff:ff:ff:ff")])
        sw.inject("d2", [udp(b"x3")])
        settle(sw, 6)
        assert payloads(sw.capture("d3")) == [b"bc2", b"x3"]


def test_select_all():
    with Switch(ports=ports(4), flows=["priority=0,actions=NORMAL"],
                state=False) as sw:
        sw.ofctl("add-mirror", "br0", "all", "output=d4", "all")
        # Every port's traffic, each packet once, though it is received on
        # one selected port and sent on two.
        sw.inject("d1", [udp(b"f1", dst="ff:ff:ff:ff:ff:ff")])
        sw.inject("d2", [udp(b"f2", dst="ff:ff:ff:ff:ff:ff")])
        settle(sw, 2)
        assert payloads(sw.capture("d4")) == [b"f1", b"f2"]
        out = sw.ofctl("dump-mirrors", "br0").stdout
        assert "mirror all: output=d4 all" in out, out
        assert "tx pkts=2," in out, out


def test_ports_come_and_go_and_restart(tmp_path):
    sw = Switch(ports=ports(3), flows=["in_port=1,actions=output:2"])
    try:
        sw.call("add-mirror", bridge="br0", name="m", output_port="d3",
                select_src_port=["d1"])
        # The output port goes: the mirror stays, inactive, copies nothing
        # (and no copy meets a missing port).
        sw.call("del-port", bridge="br0", name="d3")
        assert mirrors(sw)["m"]["active"] is False
        sw.inject("d1", [udp(b"p1")])
        settle(sw, 1)
        assert drops(sw, "tx_port_gone") == 0
        assert mirrors(sw)["m"]["tx_packets"] == 0
        sw.call("add-port", bridge="br0", name="d3", type="dummy",
                options={"ofport": "3"})
        assert mirrors(sw)["m"]["active"] is True
        sw.inject("d1", [udp(b"p2")])
        settle(sw, 2)
        assert payloads(sw.capture("d3")) == [b"p2"]
        # A selected port goes and comes back likewise.
        sw.call("del-port", bridge="br0", name="d1")
        sw.call("add-port", bridge="br0", name="d1", type="dummy",
                options={"ofport": "1"})
        sw.inject("d1", [udp(b"p3")])
        settle(sw, 3)
        assert payloads(sw.capture("d3")) == [b"p3"]

        # Saved with the state and restored at the next start.
        sw.kill()
        sw.start()
        m = mirrors(sw)["m"]
        assert m["output_port"] == "d3" and m["select_src_port"] == ["d1"]
        sw.inject("d1", [udp(b"p4")])
        settle(sw, 1)
        assert payloads(sw.capture("d3")) == [b"p4"]
    finally:
        sw.stop()


def test_saved_mirrors_survive_a_deleted_port_and_all():
    """A saved mirror may name a port deleted since: the state still loads
    (flows, ports and mirrors), the mirror inactive.  A select_all mirror
    leaves other mirrors' outputs alone, so it and others coexist."""
    sw = Switch(ports=ports(4), flows=["in_port=1,actions=output:2"])
    try:
        sw.ofctl("add-mirror", "br0", "web", "output=d4", "all")
        sw.call("add-mirror", bridge="br0", name="m", output_port="d3",
                select_src_port=["d1"])
        sw.inject("d1", [udp(b"a1")])
        settle(sw, 1)
        assert payloads(sw.capture("d3")) == [b"a1"]
        assert payloads(sw.capture("d4")) == [b"a1"]
        sw.call("add-flows", bridge="br0",
                flows=["priority=5,in_port=2,actions=drop"])
        sw.call("del-port", bridge="br0", name="d3")
        sw.kill()
        sw.start()
        ms = mirrors(sw)
        assert ms["m"]["active"] is False and ms["web"]["active"] is True
        assert len(sw.dump_flows()) == 2
        assert "mirror m names port d3" in sw.read_log()
        sw.inject("d1", [udp(b"a2")])
        settle(sw, 1)
        assert payloads(sw.capture("d4")) == [b"a2"]
    finally:
        sw.stop()


def test_bad_mirrors_are_refused(tmp_path):
    with Switch(ports=ports(3), state=False) as sw:
        bad = [
            ({"output_port": "d3", "select_src_port": ["d1"]}, 22, "name"),
            ({"name": "m", "select_src_port": ["d1"]}, 22, "output_port"),
            ({"name": "m", "output_port": "d3"}, 22, "selects nothing"),
            ({"name": "m", "output_port": "d9", "select_all": True}, 2,
             "output_port: \"d9\": no such port"),
            ({"name": "m", "output_port": "d3", "select_src_port": ["d9"]},
             2, "\"d9\""),
            ({"name": "m", "output_port": "d3", "select_src_port": ["d3"]},
             22, "also selected"),
            ({"name": "m", "output_port": "d3", "select_all": 1}, 22,
             "true or false"),
            ({"name": "m", "output_port": "d3", "select_src_port": ["d1"],
              "select_vlan": [4096]}, 22, "0..4095"),
            ({"name": "m", "output_port": "d3", "select_src_port": ["d1"],
              "select_vlan": [5, 5]}, 22, "twice"),
            ({"name": "m", "output_port": "d3", "select_src_port": ["d1"],
              "frob": 1}, 22, "unknown key"),
        ]
        for params, code, text in bad:
            with pytest.raises(CtlError) as e:
                sw.call("add-mirror", bridge="br0", **params)
            assert e.value.code == code and text in e.value.message, \
                (params, e.value.message)
        sw.call("add-mirror", bridge="br0", name="m", output_port="d3",
                select_src_port=["d1"])
        with pytest.raises(CtlError) as e:
            sw.call("add-mirror", bridge="br0", name="m", output_port="d2",
                    select_src_port=["d1"])
        assert e.value.code == 17
        # Another mirror may not select this one's output, nor output to a
        # port this one selects.
        for params in ({"output_port": "d2", "select_src_port": ["d3"]},
                       {"output_port": "d1", "select_src_port": ["d2"]}):
            with pytest.raises(CtlError) as e:
                sw.call("add-mirror", bridge="br0", name="n", **params)
            assert "cannot be selected" in e.value.message
        with pytest.raises(CtlError) as e:
            sw.call("del-mirror", bridge="br0", name="nope")
        assert e.value.code == 2
        p = sw.ofctl("add-mirror", "br0", "x", "src=d1", check=False)
        assert p.returncode == 2 and "output=PORT is required" in p.stderr

    # The config file: the same checks, by path.
    cfgs = [
        ({"name": "m", "output_port": "d9", "select_all": True},
         "bridges[0].mirrors[0].output_port: no port \"d9\""),
        ({"name": "m", "output_port": "d2", "select_dst_port": ["d7"]},
         "selects \"d7\""),
    ]
    for m, text in cfgs:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"bridges": [
            {"name": "br0", "ports": ports(2), "mirrors": [m]}]}))
        p = subprocess.run([os.path.join(os.path.dirname(OFCTL), "..",
                                         "datapath", "sluiced"),
                            "--check-config", str(path)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and text in p.stderr, p.stderr
    many = [{"name": f"m{i}", "output_port": "d2",
             "select_src_port": ["d1"]} for i in range(33)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"bridges": [
        {"name": "br0", "ports": ports(2), "mirrors": many}]}))
    p = subprocess.run([os.path.join(os.path.dirname(OFCTL), "..",
                                     "datapath", "sluiced"),
                        "--check-config", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "CFG_MAX_MIRRORS" in p.stderr, p.stderr


def test_config_mirrors():
    m = {"name": "cfg", "output_port": "d3", "select_dst_port": ["d2"]}
    with Switch(bridges=[{"name": "br0", "ports": ports(3),
                          "flows": ["in_port=1,actions=output:2"],
                          "mirrors": [m]}], state=False) as sw:
        sw.inject("d1", [udp(b"c1")])
        settle(sw, 1)
        assert payloads(sw.capture("d3")) == [b"c1"]
        assert mirrors(sw)["cfg"]["select_dst_port"] == ["d2"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tcpdump"),
                    reason="tap and tcpdump need root")
def test_tcpdump_on_a_tap(tmp_path):
    """The use case: copies to a tap port, tcpdump reading them in the
    kernel (in a namespace of the test's own)."""
    ns = f"slmir{os.getpid()}"
    ifname = f"slmr{os.getpid() % 100000}"
    pcap = str(tmp_path / "tap.pcap")
    sw = Switch(ports=[{"name": "d1", "ofport": 1, "type": "dummy"},
                       {"name": "d2", "ofport": 2, "type": "dummy"},
                       {"name": "t3", "ofport": 3, "type": "tap",
                        "ifname": ifname}],
                flows=["in_port=1,actions=output:2"], state=False)
    dump = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
        subprocess.run(["ip", "link", "set", ifname, "netns", ns],
                       check=True, timeout=10)
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set",
                        ifname, "up"], check=True, timeout=10)
        sw.ofctl("add-mirror", "br0", "tap", "output=t3", "src=d1")
        dump = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-n",
                                 "-i", ifname, "-w", pcap, "-c", "5",
                                 "udp port 9"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(1.5)                 # tcpdump opens the interface
        sw.inject("d1", [udp(b"t%d" % i) for i in range(5)])
        dump.wait(timeout=20)
        pkts = rdpcap(pcap)
        assert payloads(bytes(p) for p in pkts) == \
            [b"t%d" % i for i in range(5)]
        assert len(sw.capture("d2")) == 5
        assert mirrors(sw)["tap"]["tx_packets"] == 5
    finally:
        if dump and dump.poll() is None:
            dump.kill()
            dump.wait()
        subprocess.run(["ip", "netns", "del", ns], timeout=10)
        sw.stop()


def test_metrics():
    """/metrics has each mirror's counters (test_http.py checks the
    families' shape on a switch without mirrors)."""
    from test_http import Exposition, promtool_check, scrape
    sw = Switch(ports=ports(3), flows=["in_port=1,actions=output:2"],
                start=False, state=False)
    sw.config["http"] = {"listen": "127.0.0.1:0"}
    sw.start()
    try:
        sw.call("add-mirror", bridge="br0", name="m", output_port="d3",
                select_src_port=["d1"])
        sw.call("add-mirror", bridge="br0", name="gone", output_port="d2",
                select_src_port=["d1"])
        sw.call("del-port", bridge="br0", name="d1")
        sw.call("add-port", bridge="br0", name="d1", type="dummy",
                options={"ofport": "1"})
        sw.call("del-mirror", bridge="br0", name="gone")
        sw.inject("d1", [udp(b"m1"), udp(b"m2")])
        settle(sw, 2)
        body = scrape(sw)
        promtool_check(body)
        ex = Exposition(body.decode("utf-8"))
        labels = {"bridge": "br0", "mirror": "m", "output_port": "d3"}
        m = mirrors(sw)["m"]
        for fam, want in (("sluice_mirror_tx_packets_total", 2),
                          ("sluice_mirror_tx_bytes_total", m["tx_bytes"]),
                          ("sluice_mirror_dropped_total", 0),
                          ("sluice_mirror_active", 1)):
            got = ex.series(fam)
            assert len(got) == 1, (fam, got)
            assert got[0][0] == labels and got[0][1] == want, (fam, got)
    finally:
        sw.stop()
