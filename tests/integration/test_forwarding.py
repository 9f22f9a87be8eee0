# SPDX-License-Identifier: BSD-3-Clause
"""Forwarding through sluiced with dummy ports: NORMAL, flows, drops,
counters, multi-table pipelines, timeouts."""
import time

import pytest
from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw

from sltest import CtlError, Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"
C = "02:00:00:00:00:0c"
BCAST = "ff:ff:ff:ff:ff:ff"


def udp(src=A, dst=B, sip="10.0.0.1", dip="10.0.0.2", sport=1000,
        dport=2000, payload=b"x" * 18):
    return Ether(src=src, dst=dst) / IP(src=sip, dst=dip) / \
        UDP(sport=sport, dport=dport) / Raw(payload)


@pytest.fixture
def sw():
    s = Switch()
    yield s
    assert s.stop() == 0


def counts(sw, ports=("d1", "d2", "d3")):
    return {p: len(v) for p, v in sw.capture_all(ports).items()}


def test_normal_floods_then_learns(sw):
    sw.send("d1", udp(dst=BCAST))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}
    # Unknown unicast floods too.
    sw.send("d1", udp(dst=B))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}
    # B answers: A was learned on d1.
    sw.send("d2", udp(src=B, dst=A))
    assert counts(sw) == {"d1": 1, "d2": 0, "d3": 0}
    # Now B is known: A->B is unicast (after the learning revalidation).
    deadline = time.time() + 5
    while True:
        sw.send("d1", udp(dst=B))
        c = counts(sw)
        if c == {"d1": 0, "d2": 1, "d3": 0} or time.time() > deadline:
            break
        time.sleep(0.05)
    assert c == {"d1": 0, "d2": 1, "d3": 0}


def test_normal_does_not_hairpin(sw):
    sw.send("d1", udp(src=A, dst=BCAST))
    sw.capture_all(["d1", "d2", "d3"])
    # A and C both on d1: C->A must go nowhere.
    sw.send("d1", udp(src=C, dst=A))
    assert counts(sw) == {"d1": 0, "d2": 0, "d3": 0}


def test_explicit_flows_and_drop(sw):
    sw.add_flows("priority=100,in_port=1,actions=output:3",
                 "priority=200,in_port=1,udp,tp_dst=53,actions=drop",
                 "priority=100,in_port=2,actions=output:1,output:3")
    sw.send("d1", [udp(dport=80), udp(dport=53), udp(dport=81)])
    assert counts(sw) == {"d1": 0, "d2": 0, "d3": 2}
    sw.send("d2", udp(src=B, dst=A))
    got = sw.capture_all(["d1", "d2", "d3"])
    assert len(got["d1"]) == 1 and len(got["d3"]) == 1
    assert got["d1"][0] == bytes(udp(src=B, dst=A))
    stats = sw.call("pmd-stats")
    assert sum(p["drops"]["action_drop"] for p in stats) == 1


def test_output_to_input_port_is_a_named_drop(sw):
    """OpenFlow drops an output to the packet's own input port (only the
    in_port action sends a packet back): counted as output_to_self, apart
    from flows that say drop."""
    sw.add_flows("priority=100,in_port=1,actions=output:1",
                 "priority=100,in_port=2,actions=output:2,output:3",
                 "priority=100,in_port=3,actions=drop")
    sw.send("d1", [udp(sport=1000 + i) for i in range(4)])
    sw.send("d2", [udp(sport=2000 + i) for i in range(3)])
    sw.send("d3", [udp(sport=3000 + i) for i in range(2)])
    assert counts(sw) == {"d1": 0, "d2": 0, "d3": 3}
    drops = {}
    for p in sw.call("pmd-stats"):
        for k, v in p["drops"].items():
            drops[k] = drops.get(k, 0) + v
    assert drops["output_to_self"] == 4, drops
    assert drops["action_drop"] == 2, drops
    # in_port sends it back.
    sw.add_flows("priority=200,in_port=1,actions=in_port")
    sw.send("d1", udp(sport=1000))
    assert counts(sw) == {"d1": 1, "d2": 0, "d3": 0}


def test_counters_and_dump(sw):
    sw.add_flows("priority=10,ip,nw_src=10.0.0.0/8,actions=output:2")
    n = 25
    sw.send("d1", [udp(sport=1000 + i % 5) for i in range(n)])
    assert len(sw.capture("d2")) == n
    flows = {f["match"]: f for f in sw.dump_flows()}
    f = flows["ip,nw_src=10.0.0.0/8"]
    assert f["n_packets"] == n
    assert f["n_bytes"] == n * len(udp())
    assert f["priority"] == 10 and f["actions"] == "output:2"
    ports = {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}
    assert ports["d1"]["rx_packets"] == n
    assert ports["d2"]["tx_packets"] == n


def test_flood_all_in_port(sw):
    sw.add_flows("priority=5,in_port=1,udp,tp_dst=1,actions=flood",
                 "priority=5,in_port=1,udp,tp_dst=2,actions=all",
                 "priority=5,in_port=1,udp,tp_dst=3,actions=in_port",
                 "priority=5,in_port=1,udp,tp_dst=4,actions=output:1")
    sw.send("d1", udp(dport=1))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}
    sw.send("d1", udp(dport=2))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}
    sw.send("d1", udp(dport=3))
    assert counts(sw) == {"d1": 1, "d2": 0, "d3": 0}
    sw.send("d1", udp(dport=4))   # output to the input port: dropped
    assert counts(sw) == {"d1": 0, "d2": 0, "d3": 0}


def test_multi_table_resubmit_goto(sw):
    sw.add_flows("table=0,priority=10,in_port=1,actions=goto_table:5",
                 "table=5,priority=10,udp,tp_dst=7,actions=output:2",
                 "table=5,priority=5,actions=resubmit(,9),output:3",
                 "table=9,priority=1,actions=output:2")
    sw.send("d1", udp(dport=7))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 0}
    sw.send("d1", udp(dport=8))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}
    # Miss in a goto_table target drops.
    sw.del_flows("table=5")
    sw.send("d1", udp(dport=7))
    assert counts(sw) == {"d1": 0, "d2": 0, "d3": 0}


def test_mod_and_del_flows_semantics(sw):
    sw.add_flows("priority=10,in_port=1,udp,actions=output:2",
                 "priority=20,in_port=1,udp,tp_dst=9,actions=output:2")
    r = sw.call("mod-flows", bridge="br0", flow="in_port=1,actions=output:3")
    assert r["count"] == 2
    sw.send("d1", [udp(dport=9), udp(dport=10)])
    assert counts(sw) == {"d1": 0, "d2": 0, "d3": 2}
    r = sw.call("del-flows", bridge="br0", strict=True,
                match="priority=20,in_port=1,udp,tp_dst=9")
    assert r["count"] == 1
    r = sw.call("del-flows", bridge="br0", match="in_port=1")
    assert r["count"] == 1
    # Only the default NORMAL flow of table 0 is... gone too? No: its match
    # (catch-all) is not covered by in_port=1.
    assert [f["actions"] for f in sw.dump_flows()] == ["NORMAL"]


def test_replace_flows_keeps_counters(sw):
    sw.add_flows("priority=10,in_port=1,actions=output:2")
    sw.send("d1", udp())
    r = sw.call("replace-flows", bridge="br0",
                flows=["priority=10,in_port=1,actions=output:2",
                       "priority=10,in_port=2,actions=output:1"])
    assert r["count"] == 2
    flows = {f["match"]: f for f in sw.dump_flows()}
    assert flows["in_port=1"]["n_packets"] == 1
    assert flows["in_port=2"]["n_packets"] == 0
    assert len(flows) == 2


def test_timeouts(sw):
    sw.add_flows("priority=10,in_port=1,idle_timeout=1,actions=output:2",
                 "priority=10,in_port=2,hard_timeout=2,actions=output:1")
    # Keep the idle one busy for a while: it must not expire.
    for _ in range(6):
        sw.send("d1", udp())
        time.sleep(0.3)
    names = {f["match"] for f in sw.dump_flows()}
    assert "in_port=1" in names
    time.sleep(2.5)
    names = {f["match"] for f in sw.dump_flows()}
    assert "in_port=1" not in names and "in_port=2" not in names
    # Traffic now takes the NORMAL path.
    sw.capture_all(["d1", "d2", "d3"])
    sw.send("d1", udp(dst=BCAST))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}


def test_syntax_errors_apply_nothing(sw):
    with pytest.raises(CtlError) as e:
        sw.add_flows("priority=10,in_port=1,actions=output:2",
                     "priority=10,nw_srcx=1.2.3.4,actions=drop")
    assert "nw_srcx" in e.value.message and "flows[1]" in e.value.message
    assert [f["actions"] for f in sw.dump_flows()] == ["NORMAL"]
    with pytest.raises(CtlError) as e:
        sw.add_flows("priority=10,in_port=1,actions=mod_foo:1")
    assert "mod_foo" in e.value.message
    with pytest.raises(CtlError) as e:
        sw.call("dump-flows", bridge="nope")
    assert e.value.code == 2


def test_many_new_flows_none_lost(sw):
    """A burst of new flows: every packet is handled by the slow path and
    forwarded; no drop, no failed upcall."""
    sw.add_flows("priority=10,in_port=1,ip,actions=output:2")
    total = 0
    for base in range(0, 2000, 250):
        pkts = [udp(sport=base + i, dport=(base + i) * 7 % 65536)
                for i in range(250)]
        total += sw.inject("d1", pkts)
    sw.wait_processed(total)
    got = sw.capture("d2")
    assert len(got) == total
    st = sw.call("pmd-stats")
    assert sum(p["upcall_failures"] for p in st) == 0
    assert all(v == 0 for p in st for v in p["drops"].values())
    # The rule consults in_port and dl_type only: one megaflow suffices.
    assert len(sw.call("dump-megaflows")) == 1


def test_malformed_packets_counted_not_fatal(sw):
    sw.add_flows("priority=10,in_port=1,actions=output:2")
    good = bytes(udp())
    pkts = [good[:n] for n in range(14, len(good))]
    pkts.append(bytes(Ether(src=A, dst=B, type=0x0800)) + b"\x4f" + b"\0" * 3)
    pkts.append(bytes(Ether(src=A, dst=B) / IPv6())[:-20] + b"\x00\xff")
    sw.send("d1", pkts)
    assert len(sw.capture("d2")) == len(pkts)
    assert sw.call("list-methods")


def test_runtime_add_del_port(sw):
    r = sw.call("add-port", bridge="br0", name="d9", type="dummy",
                options={"ofport": "9"})
    assert r["ofport"] == 9
    sw.send("d1", udp(dst=BCAST))
    got = sw.capture_all(["d2", "d3", "d9"])
    assert all(len(v) == 1 for v in got.values())
    with pytest.raises(CtlError) as e:
        sw.call("add-port", bridge="br0", name="d9", type="dummy")
    assert e.value.code == 17
    sw.call("del-port", bridge="br0", name="d9")
    sw.send("d1", udp(dst=BCAST))
    assert counts(sw) == {"d1": 0, "d2": 1, "d3": 1}
    names = [p["name"] for p in sw.call("show", bridge="br0")["ports"]]
    assert names == ["d1", "d2", "d3"]


def test_burst_of_new_flows_sharing_megaflows():
    """One burst holds many new flows that fall into a few megaflows (the
    rules consult tp_dst only): every packet is forwarded by its own rule,
    exactly one megaflow is installed per tp_dst, and the counters agree
    -- the upcalls of a burst share the slow-path lock and must find the
    megaflows installed earlier in the same burst."""
    with Switch(flows=["priority=10,in_port=1,udp,tp_dst=1,actions=output:2",
                       "priority=10,in_port=1,udp,tp_dst=2,actions=output:3",
                       "priority=5,in_port=1,udp,actions=drop"]) as sw:
        pkts = [udp(sport=5000 + i, dport=1 + i % 4) for i in range(32)]
        sw.send("d1", pkts)              # one burst of 32
        got = sw.capture_all(["d2", "d3"])
        assert len(got["d2"]) == 8 and len(got["d3"]) == 8
        assert got["d2"] == [bytes(p) for p in pkts if p[UDP].dport == 1]
        assert got["d3"] == [bytes(p) for p in pkts if p[UDP].dport == 2]
        mfs = sw.call("dump-megaflows")
        assert len(mfs) == 4, mfs        # tp_dst 1, 2, 3, 4
        assert sorted(m["packets"] for m in mfs) == [8, 8, 8, 8]
        st = sw.call("pmd-stats")
        assert sum(p["upcalls"] for p in st) == 4
        assert sum(p["drops"]["action_drop"] for p in st) == 16
        flows = {f["match"]: f["n_packets"] for f in sw.dump_flows()}
        assert flows["udp,in_port=1,tp_dst=1"] == 8
        assert flows["udp,in_port=1"] == 16


def test_mask_limit_guards_against_mask_explosion():
    """Traffic that would need more megaflow masks than datapath.max_masks
    is still forwarded by its rules; only the megaflows with new masks are
    not cached (counted), so the masks stay bounded."""
    flows = ["priority=40,in_port=1,udp,tp_dst=1,actions=output:2",
             "priority=30,in_port=1,tcp,tp_src=2,actions=output:3",
             "priority=20,in_port=1,ip,nw_dst=10.9.9.9,actions=output:2",
             "priority=10,in_port=1,actions=output:3"]
    with Switch(flows=flows, datapath={"max_masks": 2}) as sw:
        pkts = [udp(dport=1), udp(dport=7),
                Ether(src=A, dst=B) / IP(src="1.1.1.1", dst="10.9.9.9") /
                TCP(sport=2, dport=5),
                Ether(src=A, dst=B, type=0x88b5) / Raw(b"x" * 46)]
        for _ in range(3):
            sw.send("d1", pkts)
        got = sw.capture_all(["d2", "d3"])
        # udp tp_dst=1 -> d2; everything else (udp 7 to 10.0.0.2, tcp
        # tp_src=2, non-IP) -> d3.
        assert len(got["d2"]) == 3 and len(got["d3"]) == 9
        st = sw.call("pmd-stats")
        assert sum(p["megaflow_subtables"] for p in st) <= 2
        assert sum(p["mask_limited"] for p in st) > 0
        assert all(v == 0 for p in st for v in p["drops"].values())
