# SPDX-License-Identifier: BSD-3-Clause
"""sluice-ofctl against a real sluiced: the commands a user types."""
import json

from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def test_ofctl_session(tmp_path):
    with Switch() as sw:
        p = sw.ofctl("show", "br0")
        assert " 1(d1): type=dummy" in p.stdout
        flows = tmp_path / "flows.txt"
        flows.write_text("# web to d2, dns dropped\n"
                         "priority=100,tcp,tp_dst=80,actions=output:2\n\n"
                         "priority=200,udp,tp_dst=53,actions=drop\n")
        sw.ofctl("add-flows", "br0", str(flows))
        out = sw.ofctl("dump-flows", "br0").stdout.splitlines()
        assert any(l.endswith("priority=100,tcp,tp_dst=80 actions=output:2")
                   for l in out), out
        assert any(l.endswith("priority=200,udp,tp_dst=53 actions=drop")
                   for l in out), out
        # A bad line anywhere: nothing applied, the line is named.
        bad = tmp_path / "bad.txt"
        bad.write_text("priority=1,ip,actions=output:3\n"
                       "priority=1,ip,nw_dstt=1.2.3.4,actions=drop\n")
        r = sw.ofctl("add-flows", "br0", str(bad), check=False)
        assert r.returncode == 1
        assert ":2:" in r.stderr and "nw_dstt" in r.stderr
        assert len(sw.dump_flows()) == 3
        # Traffic, then counters in text and JSON.
        pkt = Ether(src=A, dst=B) / IP() / UDP(dport=53) / Raw(b"x" * 10)
        sw.ofctl("inject", "br0", "d1", bytes(pkt).hex(), bytes(pkt).hex())
        sw.wait_processed(2)
        j = json.loads(sw.ofctl("--format=json", "dump-flows", "br0",
                                "udp").stdout)
        assert [f["n_packets"] for f in j] == [2]
        ports = sw.ofctl("dump-ports", "br0", "d1").stdout
        assert "port  1: rx pkts=2" in ports
        st = sw.ofctl("pmd-stats").stdout
        assert "packets received: 2" in st
        mf = sw.ofctl("dump-megaflows").stdout
        assert "actions:drop" in mf
        # mod, strict del, replace.
        sw.ofctl("mod-flows", "br0", "tcp,actions=output:3")
        assert "actions=output:3" in sw.ofctl("dump-flows", "br0",
                                               "tcp").stdout
        sw.ofctl("del-flows", "br0", "--strict",
                 "priority=200,udp,tp_dst=53")
        assert "tp_dst=53" not in sw.ofctl("dump-flows", "br0").stdout
        flows.write_text("priority=7,actions=NORMAL\n")
        sw.ofctl("replace-flows", "br0", str(flows))
        assert len(sw.dump_flows()) == 1
        # Ports at run time.
        sw.ofctl("add-port", "br0", "d5", "dummy", "ofport=5")
        assert " 5(d5)" in sw.ofctl("show", "br0").stdout
        sw.ofctl("del-port", "br0", "d5")
        r = sw.ofctl("del-port", "br0", "d5", check=False)
        assert r.returncode == 1 and "d5" in r.stderr
        r = sw.ofctl("dump-flows", "nosuchbr", check=False)
        assert r.returncode == 1 and "nosuchbr" in r.stderr


def test_config_without_flows_drops():
    with Switch(flows=None, bridges=[{
            "name": "br0", "flows": [],
            "ports": [{"name": "d1", "ofport": 1, "type": "dummy"},
                      {"name": "d2", "ofport": 2, "type": "dummy"}]}]) as sw:
        assert sw.dump_flows() == []
        pkt = Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / IP() / UDP()
        sw.send("d1", pkt)
        assert sw.capture("d2") == []
