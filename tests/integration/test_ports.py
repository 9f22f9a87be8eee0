# SPDX-License-Identifier: BSD-3-Clause
"""Ports other than dummy (net_pcap, net_null, tap), runtime ports, the
megaflow cache's limits and expiry."""
import json
import os
import subprocess
import time

import pytest
from scapy.all import ARP, IP, UDP, Ether, Raw, rdpcap, wrpcap

from sltest import SLUICED, CtlError, Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def udp(i, dst=B):
    return Ether(src=A, dst=dst) / IP(src="10.0.0.1", dst="10.0.1.%d" % (i % 250)) / \
        UDP(sport=1000 + i, dport=2000) / Raw(b"p" * 20)


def test_pcap_in_pcap_out(tmp_path):
    inp, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    pkts = [udp(i) for i in range(100)]
    wrpcap(str(inp), pkts)
    ports = [
        {"name": "p1", "ofport": 1, "type": "dpdk",
         "devargs": f"net_pcap_sl0,rx_pcap={inp}"},
        {"name": "p2", "ofport": 2, "type": "dpdk",
         "devargs": f"net_pcap_sl1,tx_pcap={out}"},
        {"name": "p3", "ofport": 3, "type": "dpdk",
         "devargs": "net_null_sl0,no-rx=1"},
    ]
    sw = Switch(ports=ports,
                flows=["priority=10,in_port=1,udp,tp_src=1000/0xfff0,"
                       "actions=output:3",
                       "priority=5,in_port=1,actions=mod_dl_dst:02:00:00:00:00:99,output:2"])
    try:
        deadline = time.time() + 10
        while sw.pmd_packets() < 100 and time.time() < deadline:
            time.sleep(0.05)
        ports = {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}
        assert ports["p1"]["rx_packets"] == 100
        # tp_src 1000 = 0x3e8: 0x3e0..0x3ef holds i = 0..7.
        assert ports["p3"]["tx_packets"] == 8
        assert ports["p2"]["tx_packets"] == 92
    finally:
        assert sw.stop() == 0
    got = rdpcap(str(out))
    assert len(got) == 92
    for i, p in enumerate(got):
        exp = udp(i + 8)
        exp[Ether].dst = "02:00:00:00:00:99"
        assert bytes(p) == bytes(exp)


def test_runtime_dpdk_port(tmp_path):
    with Switch() as sw:
        r = sw.call("add-port", bridge="br0", name="n1", type="dpdk",
                    options={"devargs": "net_null_rt0,no-rx=1",
                             "ofport": "7"})
        assert r["ofport"] == 7
        sw.add_flows("priority=10,in_port=1,actions=output:7")
        sw.send("d1", [udp(i) for i in range(10)])
        ports = {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}
        assert ports["n1"]["tx_packets"] == 10
        show = sw.call("show", bridge="br0")
        n1 = [p for p in show["ports"] if p["name"] == "n1"][0]
        assert n1["options"]["devargs"] == "net_null_rt0,no-rx=1"
        sw.call("del-port", bridge="br0", name="n1")
        # The same device can be added again.
        sw.call("add-port", bridge="br0", name="n1", type="dpdk",
                options={"devargs": "net_null_rt0,no-rx=1"})
        # Bad devargs: clear error, state unchanged.
        with pytest.raises(Exception) as e:
            sw.call("add-port", bridge="br0", name="bad", type="dpdk",
                    options={"devargs": "net_nosuchdriver0"})
        assert "bad" not in [p["name"] for p in
                             sw.call("show", bridge="br0")["ports"]]


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/net/tun"),
                    reason="tap ports need root and /dev/net/tun")
def test_tap_port_reaches_host_stack():
    ifname = f"slt{os.getpid() % 100000}"
    ports = [{"name": "d1", "ofport": 1, "type": "dummy"},
             {"name": "h0", "ofport": 2, "type": "tap", "ifname": ifname,
              "addresses": ["10.77.0.1/24"]}]
    with Switch(ports=ports) as sw:
        # The host answers an ARP request for its address.
        req = Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / \
            ARP(op=1, hwsrc=A, psrc="10.77.0.2", pdst="10.77.0.1")
        deadline = time.time() + 10
        reply = None
        while reply is None and time.time() < deadline:
            sw.send("d1", req)
            time.sleep(0.2)
            for p in sw.capture("d1"):
                e = Ether(p)
                if ARP in e and e[ARP].op == 2 and e[ARP].psrc == "10.77.0.1":
                    reply = e
        assert reply is not None, "no ARP reply from the host stack"
        assert reply.dst == A
    out = subprocess.run(["ip", "link", "show", ifname], capture_output=True)
    assert out.returncode != 0, "tap interface left behind"


def test_flow_limit_executes_anyway():
    with Switch(datapath={"flow_limit": 8}) as sw:
        sw.add_flows("priority=10,in_port=1,udp,actions=output:2",
                     "priority=20,in_port=1,udp,tp_src=5,actions=output:3")
        # tp_src is consulted exactly: every packet needs its own megaflow.
        pkts = [udp(i) for i in range(200)]
        sw.send("d1", pkts)
        got = sw.capture_all(["d2", "d3"])
        assert len(got["d2"]) + len(got["d3"]) == 200
        st = sw.call("pmd-stats")
        assert sum(p["megaflows"] for p in st) <= 8
        assert sum(p["megaflow_not_installed"] for p in st) > 0
        flows = {f["match"]: f for f in sw.dump_flows()}
        assert sum(f["n_packets"] for f in flows.values()) == 200


def test_megaflow_idle_expiry_credits_counters():
    with Switch(datapath={"megaflow_idle_ms": 300}) as sw:
        sw.add_flows("priority=10,in_port=1,actions=output:2")
        sw.send("d1", [udp(i) for i in range(5)])
        assert len(sw.call("dump-megaflows")) >= 1
        deadline = time.time() + 5
        while sw.call("dump-megaflows") and time.time() < deadline:
            time.sleep(0.1)
        assert sw.call("dump-megaflows") == []
        f = [f for f in sw.dump_flows() if f["match"] == "in_port=1"][0]
        assert f["n_packets"] == 5


# Each bad option once, as add-port over the control socket and as a config
# file under --check-config: (type, options, message).  Both go through the
# port classes' option tables, so they name the same key the same way.
BAD_PORT_OPTIONS = [
    ("dummy", {"rxq": "65"}, "rxq: must be an integer 1..64"),
    ("dummy", {"ring_size": "lots"}, "ring_size: must be an integer 1..65536"),
    ("dummy", {"frob": "1"},
     "frob: unknown key (type dummy takes rxq, mtu, ring_size)"),
    ("dpdk", {"devargs": "net_null_bad0", "mtu": "9711"},
     "mtu: must be an integer 68..9710"),
    ("dpdk", {"rxq": "2"}, "devargs: missing (required for type dpdk)"),
    ("tap", {"addresses": "10.0.0.1/24,10.0.0.300/24"},
     "\"10.0.0.300/24\" is not ADDR/PREFIX"),
    ("vhostuser", {}, "path: missing (required for type vhostuser)"),
]


def test_runtime_add_port_refuses_bad_options():
    with Switch() as sw:
        before = sw.call("show", bridge="br0")["ports"]
        for type_, opts, msg in BAD_PORT_OPTIONS:
            with pytest.raises(CtlError) as e:
                sw.call("add-port", bridge="br0", name="bad", type=type_,
                        options=opts)
            assert msg in e.value.message, (type_, opts, e.value.message)
        assert sw.call("show", bridge="br0")["ports"] == before
        # A good one still goes in.
        r = sw.call("add-port", bridge="br0", name="d9", type="dummy",
                    options={"rxq": "64", "ring_size": "65536"})
        assert r["ofport"] >= 1


def test_check_config_refuses_bad_options(tmp_path):
    for i, (type_, opts, msg) in enumerate(BAD_PORT_OPTIONS):
        port = {"name": "bad", "type": type_}
        for k, v in opts.items():
            if k == "addresses":
                port[k] = v.split(",")
            elif v.isdigit():
                port[k] = int(v)
            else:
                port[k] = v
        path = tmp_path / f"c{i}.json"
        path.write_text(json.dumps({"bridges": [{"name": "br0",
                                                 "ports": [port]}]}))
        out = subprocess.run([SLUICED, "--check-config", str(path)],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 1, (port, out.stdout)
        key = msg.split(":")[0] if not msg.startswith('"') else "addresses[1]"
        assert f"bridges[0].ports[0].{key}" in out.stderr, out.stderr
        assert msg.split(": ", 1)[-1] in out.stderr, (msg, out.stderr)


def test_list_port_options_matches_the_docs():
    out = subprocess.run([SLUICED, "--list-port-options"],
                         capture_output=True, text=True, timeout=30,
                         check=True).stdout
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                            "control-protocol.md")).read()
    assert out in doc
    for t in ("dpdk", "tap", "dummy", "vhostuser", "vhostuserclient"):
        assert f"`{t}`" in out
