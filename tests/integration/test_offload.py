# SPDX-License-Identifier: BSD-3-Clause
"""SmartNIC offload end to end with simnic on dummy ports: promotion, idle
aging with counters credited, del-flows stops hardware forwarding before it
returns, table-full fallback and eviction, injected insertion failures,
partial offload via MARK, no hardware rule left at shutdown (and a NIC
that refuses destroys reported at port removal and shutdown), MARK
delivery negotiated on ethdev ports, and hardware output at full rate
between ethdev ports (net_pcap -> net_null)."""
import json
import signal
import socket
import struct
import threading
import time

from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def pkt(dport=9, tag=b""):
    return Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") / \
        UDP(sport=7, dport=dport) / Raw(tag.ljust(24, b"."))


def offload_switch(flows, eviction="coldest", idle_ms=1000,
                   megaflow_idle_ms=3000, openflow=None):
    full = {"mode": "full", "provider": "simnic", "nic": "nic0"}
    ports = [
        {"name": "d1", "ofport": 1, "type": "dummy", "offload": full},
        {"name": "d2", "ofport": 2, "type": "dummy", "offload": full},
        {"name": "d3", "ofport": 3, "type": "dummy",
         "offload": {"mode": "partial", "nic": "nic1"}},
    ]
    sw = Switch(ports=ports, flows=flows, start=False,
                datapath={"megaflow_idle_ms": megaflow_idle_ms})
    sw.config["offload"] = {"min_packets": 10, "min_pps": 0, "check_ms": 20,
                            "stats_ms": 50, "idle_ms": idle_ms,
                            "eviction": eviction}
    if openflow:
        sw.config["bridges"][0]["openflow"] = openflow
    sw.start()
    return sw


def wait_for(cond, timeout=5.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def stats(sw):
    return sw.call("offload-stats")


def nic(sw, name="nic0"):
    return [n for n in sw.call("offload-show")["simnics"]
            if n["name"] == name][0]


def megaflow(sw, match):
    mfs = [m for m in sw.call("dump-megaflows") if m["match"] == match]
    assert len(mfs) == 1, sw.call("dump-megaflows")
    return mfs[0]


def promote(sw, port="d1", dport=9, n=20):
    before = stats(sw)["inserted"]
    sw.send(port, [pkt(dport)] * n)
    wait_for(lambda: stats(sw)["inserted"] > before, what="insertion")


def test_promotion_moves_the_flow_to_hardware():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        show = sw.call("offload-show")
        d1 = [p for p in show["ports"] if p["port"] == "d1"][0]
        assert d1["caps"]["full"] and d1["caps"]["output"], d1
        promote(sw)
        assert megaflow(sw, "udp,in_port=1")["offload"] == "full"
        sw_before = sw.pmd_packets()
        hw_before = nic(sw)["hw_packets"]
        sw.inject("d1", [pkt()] * 100)
        wait_for(lambda: nic(sw)["hw_packets"] >= hw_before + 100,
                 what="hardware packets")
        # Software saw none of them; the NIC forwarded all of them.
        assert sw.pmd_packets() == sw_before
        assert len(sw.capture("d2")) == 120
        # Hardware counters reach the megaflow and the OpenFlow rule.
        wait_for(lambda: megaflow(sw, "udp,in_port=1")["hw_packets"] == 100,
                 what="hw counters in dump-megaflows")
        wait_for(lambda: sw.dump_flows()[0]["n_packets"] == 120,
                 what="hw counters in dump-flows")


def test_idle_flow_ages_out_with_counters_credited():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        promote(sw)
        sw.inject("d1", [pkt()] * 50)
        wait_for(lambda: stats(sw)["aged"] == 1, timeout=6, what="aging")
        assert nic(sw)["rules"] == 0
        st = stats(sw)
        assert st["in_hardware"] == 0
        log = st["removed_flows"]
        assert log and log[-1]["reason"] == "aged"
        assert log[-1]["hw_packets"] == 50
        flow = sw.dump_flows()[0]
        assert flow["n_packets"] == 70, flow
        # Hot again in software: promoted again.
        sw.send("d1", [pkt()] * 20)
        wait_for(lambda: stats(sw)["inserted"] == 2, what="re-promotion")
        assert stats(sw)["requeued"] == 1
        assert megaflow(sw, "udp,in_port=1")["offload"] == "full"


def test_flow_removed_after_hardware_aging(tmp_path):
    """An OpenFlow flow with an idle timeout and send_flow_rem whose
    packets the NIC forwards: it does not idle out while the NIC forwards
    them (their counts keep it used), and once they stop the NIC ages the
    rule and the flow goes with a FLOW_REMOVED (reason idle) whose
    counters include the NIC's packets."""
    from test_openflow import Peer
    mgmt = str(tmp_path / "br0.mgmt")
    flows = ["priority=10,in_port=1,udp,idle_timeout=2,send_flow_rem,"
             "actions=output:2"]
    with offload_switch(flows, idle_ms=800,
                        openflow={"listen": [f"punix:{mgmt}"]}) as sw:
        c = Peer(mgmt)
        c.handshake()
        c.s.settimeout(0.05)
        promote(sw)                               # 20 in software
        hw = 0
        end = time.time() + 3.5                   # past the idle timeout
        while time.time() < end:
            sw.inject("d1", [pkt()] * 10)
            hw += 10
            time.sleep(0.1)
            try:
                m = c.recv_msg()
                assert m[1] != 11, "removed while the NIC forwards"
            except socket.timeout:
                pass
        wait_for(lambda: nic(sw)["hw_packets"] >= hw, what="hw packets")
        c.s.settimeout(10)
        m = c.wait_type(11)
        _cookie, prio, reason, _table = struct.unpack("!QHBB", m[8:20])
        assert (prio, reason) == (10, 0), (prio, reason)
        pkts, nbytes = struct.unpack("!QQ", m[32:48])
        assert pkts == 20 + hw, (pkts, hw)
        assert nbytes == pkts * len(pkt()), nbytes
        assert stats(sw)["aged"] >= 1
        assert not sw.dump_flows()


def test_del_flows_stops_hardware_forwarding_before_it_returns():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        promote(sw)
        stop = threading.Event()

        def traffic():
            while not stop.is_set():
                sw.inject("d1", [pkt(tag=b"before")] * 16)
                time.sleep(0.002)

        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        try:
            wait_for(lambda: nic(sw)["hw_forwarded"] > 200,
                     what="hardware forwarding under traffic")
            sw.del_flows("udp")
            # The forwarding rule left the NIC before del-flows returned:
            # hardware forwards nothing more (the table miss that follows
            # may be offloaded too, as a hardware DROP).
            forwarded = nic(sw)["hw_forwarded"]
            time.sleep(0.2)
            assert nic(sw)["hw_forwarded"] == forwarded
        finally:
            stop.set()
            t.join()
        # Now a table miss: a drop megaflow, which may itself be offloaded
        # (hardware DROP), so count both paths.
        sw.capture("d2")
        before = sw.pmd_packets() + nic(sw)["hw_dropped"]
        n = sw.inject("d1", [pkt(tag=b"after")] * 64)
        wait_for(lambda: sw.pmd_packets() + nic(sw)["hw_dropped"]
                 >= before + n, what="after-packets handled")
        time.sleep(0.05)
        got = sw.capture("d2")
        assert not [p for p in got if b"after" in p]
        assert stats(sw)["removed"] >= 1


def test_table_full_keeps_new_flow_in_software():
    flows = ["priority=10,in_port=1,udp,tp_dst=9,actions=output:2",
             "priority=10,in_port=1,udp,tp_dst=10,actions=output:2"]
    with offload_switch(flows, eviction="none") as sw:
        sw.call("offload-simnic-set", nic="nic0", capacity=1)
        promote(sw, dport=9)
        sw.send("d1", [pkt(10)] * 20)
        # "none" with no reason only means not offered yet: wait for the
        # manager's decision.
        m = wait_for(lambda: [x for x in sw.call("dump-megaflows")
                              if "tp_dst=10" in x["match"]
                              and x.get("offload") == "none"
                              and "offload_reason" in x],
                     what="second flow decided")[0]
        assert m["offload_reason"] == "table_full", m
        assert "full" in m["offload_message"], m
        assert nic(sw)["rules"] == 1
        assert nic(sw)["table_full"] >= 1
        assert stats(sw)["failed"]["table_full"] == 1


def test_table_full_evicts_the_coldest():
    flows = ["priority=10,in_port=1,udp,tp_dst=9,actions=output:2",
             "priority=10,in_port=1,udp,tp_dst=10,actions=output:2"]
    with offload_switch(flows, idle_ms=30000,
                        megaflow_idle_ms=60000) as sw:
        sw.call("offload-simnic-set", nic="nic0", capacity=1)
        promote(sw, dport=9)
        time.sleep(0.2)         # Flow 9 is idle: rate 0 in hardware.
        promote(sw, dport=10)
        st = stats(sw)
        assert st["evicted"] == 1, st
        assert nic(sw)["rules"] == 1
        mfs = {x["match"]: x for x in sw.call("dump-megaflows")}
        hot = [v for k, v in mfs.items() if "tp_dst=10" in k][0]
        cold = [v for k, v in mfs.items() if "tp_dst=9" in k][0]
        assert hot["offload"] == "full"
        assert cold["offload"] == "none"
        assert cold["offload_reason"] == "evicted"
        assert st["removed_flows"][-1]["reason"] == "evicted"


def test_injected_insertion_failure_is_recorded():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        sw.call("offload-simnic-set", nic="nic0", fail_next=2)
        sw.send("d1", [pkt()] * 20)
        m = wait_for(lambda: [x for x in sw.call("dump-megaflows")
                              if x.get("offload") == "none"
                              and x.get("offload_reason")],
                     what="failed insertion recorded")[0]
        assert m["offload_reason"] == "insert_failed", m
        assert "injected" in m["offload_message"]
        assert nic(sw)["insert_failed"] == 2
        # Still forwarded (in software).
        assert len(sw.capture("d2")) == 20


def test_partial_offload_marks_packets():
    with offload_switch(["priority=10,in_port=3,udp,actions=output:1"]) as sw:
        promote(sw, port="d3")
        assert megaflow(sw, "udp,in_port=3")["offload"] == "partial"
        marks = sw.call("pmd-stats")[0]["mark_hits"]
        sw.send("d3", [pkt()] * 50)
        assert sw.call("pmd-stats")[0]["mark_hits"] == marks + 50
        assert nic(sw, "nic1")["marked"] >= 50
        assert len(sw.capture("d1")) == 70


def test_partial_offload_of_a_conntrack_pass():
    """The first pass of a ct() pipeline is partially offloaded (the NIC
    marks its packets); the recirculated pass must not take the mark
    again (it would loop until the recirculation limit)."""
    flows = ["table=0,priority=10,in_port=3,udp,ct_state=-trk,"
             "actions=ct(table=1,zone=3)",
             "table=1,priority=10,udp,ct_state=+trk,"
             "actions=ct(commit,zone=3),output:1"]
    with offload_switch(flows) as sw:
        promote(sw, port="d3")
        m = megaflow(sw, "ct_state=-trk,udp,in_port=3")
        assert m["offload"] == "partial", m
        before = sw.call("pmd-stats")[0]
        sw.send("d3", [pkt()] * 50)
        after = sw.call("pmd-stats")[0]
        assert after["mark_hits"] == before["mark_hits"] + 50
        assert after["recirculations"] == before["recirculations"] + 50
        assert after["drops"]["recirc_depth"] == 0
        assert len(sw.capture("d1")) == 70


def test_full_falls_back_to_partial_for_output_to_another_nic():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:3"]) as sw:
        promote(sw)
        m = megaflow(sw, "udp,in_port=1")
        assert m["offload"] == "partial", m
        assert m["offload_reason"] == "output_to_other_nic", m


def test_shutdown_leaves_no_hardware_rule():
    sw = offload_switch(["priority=10,in_port=1,udp,actions=output:2"])
    try:
        promote(sw)
        assert nic(sw)["rules"] == 1
        sw.proc.send_signal(signal.SIGTERM)
        assert sw.proc.wait(15) == 0
        text = sw.read_log()
    finally:
        sw.stop()
    assert "offload: shutdown: 1 rules flushed, 0 left in hardware" in text, \
        text


def test_refused_destroy_is_reported_at_port_removal():
    """A NIC that keeps rules it was told to destroy: port removal says
    which port left how many, in offload-stats and at err level."""
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        promote(sw)
        assert stats(sw)["left_at_port_del"] == 0
        sw.call("offload-simnic-set", nic="nic0", fail_destroy=1000)
        sw.call("del-port", bridge="br0", name="d1")
        st = stats(sw)
        assert st["left_at_port_del"] == 1, st
        assert st["in_hardware"] == 0, st
        # Refused by the delete and by the flush; the model's detach
        # then drops the rule itself.
        assert nic(sw)["destroy_failed"] >= 2
        assert nic(sw)["rules"] == 0
        text = sw.read_log()
    assert "port d1: removal: 1 rules left in hardware" in text, text


def test_refused_destroy_is_reported_at_shutdown():
    sw = offload_switch(["priority=10,in_port=1,udp,actions=output:2"])
    try:
        promote(sw)
        assert stats(sw)["left_at_shutdown"] == 0
        sw.call("offload-simnic-set", nic="nic0", fail_destroy=1000)
        sw.proc.send_signal(signal.SIGTERM)
        assert sw.proc.wait(15) == 0
        text = sw.read_log()
    finally:
        sw.stop()
    assert "port d1: shutdown: 1 rules left in hardware" in text, text
    assert "offload: shutdown: 1 rules flushed, 1 left in hardware" in text, \
        text


def test_rte_flow_port_negotiates_mark_delivery():
    """A dpdk port negotiates MARK delivery before it is configured;
    net_null has no negotiation (ENOTSUP: the mark is assumed) and no
    rte_flow, so the port runs in software and offload-show says both."""
    ports = [
        {"name": "n1", "ofport": 1, "type": "dpdk",
         "devargs": "net_null_mk0,no-rx=1",
         "offload": {"mode": "partial", "provider": "rte_flow"}},
    ]
    sw = Switch(ports=ports, flows=["actions=drop"])
    with sw:
        p = sw.call("offload-show")["ports"][0]
        assert not p["active"], p
        assert "mark=assumed (PMD has no negotiation)" in p["probe"], p
        assert "mark_delivery" in p["caps"], p


def test_ofctl_offload_commands():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2",
                         "priority=10,in_port=3,udp,actions=output:1"]) as sw:
        promote(sw)
        promote(sw, port="d3")
        out = sw.ofctl("offload-show").stdout
        assert "port d1 (dp " in out and "simnic nic=nic0 mode=full" in out
        assert "simnic nic0: 1/4096 rules" in out, out
        out = sw.ofctl("offload-stats").stdout
        assert "inserted: 2" in out and "inserted_full: 1" in out, out
        out = sw.ofctl("dump-megaflows").stdout
        assert "offloaded:full" in out and "offloaded:partial" in out, out
        assert "offload_reason:port_mode_partial (port d3" in out, out
        js = sw.ofctl("--format=json", "offload-stats").stdout
        assert json.loads(js)["in_hardware"] == 2, js


def test_mod_flows_and_port_removal_update_hardware():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        promote(sw)
        sw.call("mod-flows", bridge="br0",
                flow="in_port=1,udp,actions=output:3")
        forwarded = nic(sw)["hw_forwarded"]
        sw.capture("d2")
        sw.send("d1", [pkt(tag=b"after")] * 20)
        # d3 is on another NIC: software (then partial) forwards there.
        assert len(sw.capture("d3")) == 20
        assert not sw.capture("d2")
        assert nic(sw)["hw_forwarded"] == forwarded
        # Back to d2, offloaded again, then d2 goes away.
        sw.call("mod-flows", bridge="br0",
                flow="in_port=1,udp,actions=output:2")
        promote(sw)
        assert nic(sw)["rules"] == 1
        sw.call("del-port", bridge="br0", name="d2")
        show = sw.call("offload-show")
        assert [p["port"] for p in show["ports"]] == ["d1", "d3"]
        assert nic(sw)["rules"] == 0
        assert nic(sw)["ports"] == 1


def test_rewrites_are_offloaded_as_whole_field_sets():
    """The slow path emits masked sets (only the changed bits); the
    megaflow matches those fields exactly, so the NIC gets whole-field sets
    and forwards rewritten packets byte for byte like software would."""
    flows = ["priority=10,in_port=1,udp,actions=mod_nw_src:10.9.9.1,"
             "mod_tp_dst:4444,mod_dl_dst:02:00:00:00:00:99,mod_nw_tos:32,"
             "output:2"]
    with offload_switch(flows) as sw:
        sw.send("d1", [pkt()])
        soft = sw.capture("d2")
        assert len(soft) == 1
        promote(sw)
        mf = [m for m in sw.call("dump-megaflows")
              if m["match"].startswith("udp,in_port=1")]
        assert len(mf) == 1 and mf[0]["offload"] == "full", mf
        sw.capture("d2")
        hw_before = nic(sw)["hw_packets"]
        sw.inject("d1", [pkt()] * 10)
        wait_for(lambda: nic(sw)["hw_packets"] >= hw_before + 10,
                 what="hardware packets")
        hard = sw.capture("d2")
        assert len(hard) == 10
        assert all(h == soft[0] for h in hard)
        e = Ether(hard[0])
        assert e[IP].src == "10.9.9.1" and e[UDP].dport == 4444
        assert e.dst == "02:00:00:00:00:99" and e[IP].tos == 32


def test_dump_flows_shows_offload_state_per_rule():
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2",
                         "priority=5,in_port=2,actions=output:1"]) as sw:
        promote(sw)
        hw_before = nic(sw)["hw_packets"]
        sw.inject("d1", [pkt()] * 30)
        wait_for(lambda: nic(sw)["hw_packets"] >= hw_before + 30,
                 what="hardware packets")
        sw.capture("d2")
        flows = {f["match"]: f for f in sw.dump_flows()}
        f = flows["udp,in_port=1"]
        assert f["offload"] == {"full": 1, "partial": 0, "software": 0}
        wait_for(lambda: {g["match"]: g for g in sw.dump_flows()}
                 ["udp,in_port=1"]["hw_packets"] >= 30, what="hw counters")
        # A rule nothing went through has no megaflow at all.
        assert flows["in_port=2"]["offload"] == {"full": 0, "partial": 0,
                                                 "software": 0}
        text = sw.ofctl("dump-flows", "br0").stdout
        assert "offload=full:1/partial:0/software:0" in text


def ports_by_name(sw):
    return {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}


def test_full_offload_from_pcap_to_null_at_rate(tmp_path):
    """Hardware output goes through the port layer for any port type: a
    net_pcap source replaying one flow at full rate into a net_null sink,
    both on one simnic NIC.  Once the flow is in hardware, software sees
    no packet and the sink counts them as hardware tx."""
    from scapy.all import wrpcap
    inp = tmp_path / "in.pcap"
    wrpcap(str(inp), [pkt(dport=9, tag=b"%d" % i) for i in range(16)])
    full = {"mode": "full", "provider": "simnic", "nic": "nic0"}
    ports = [
        {"name": "src", "ofport": 1, "type": "dpdk", "offload": full,
         "devargs": f"net_pcap_of0,rx_pcap={inp},infinite_rx=1"},
        {"name": "sink", "ofport": 2, "type": "dpdk", "offload": full,
         "devargs": "net_null_of0,no-rx=1"},
    ]
    sw = Switch(ports=ports, start=False,
                flows=["priority=10,in_port=1,udp,actions=output:2"])
    sw.config["offload"] = {"min_packets": 10, "min_pps": 0, "check_ms": 20,
                            "stats_ms": 50, "idle_ms": 10000}
    sw.start()
    with sw:
        wait_for(lambda: stats(sw)["inserted"] >= 1, what="insertion")
        assert megaflow(sw, "udp,in_port=1")["offload"] == "full"
        wait_for(lambda: ports_by_name(sw)["sink"]["hw_tx_packets"] > 10000,
                 what="hardware tx on the net_null sink")
        sw_before = sw.pmd_packets()
        hw_before = ports_by_name(sw)["sink"]["hw_tx_packets"]
        fwd_before = nic(sw)["hw_forwarded"]
        time.sleep(0.3)
        p = ports_by_name(sw)
        # Software handled nothing more; the NIC forwarded through the
        # sink's tx path, counted apart from software tx.
        assert sw.pmd_packets() == sw_before
        assert p["sink"]["hw_tx_packets"] > hw_before + 10000
        assert nic(sw)["hw_forwarded"] > fwd_before + 10000
        assert p["sink"]["tx_dropped"] == 0
        assert nic(sw)["hw_tx_failed"] == 0
        text = sw.ofctl("dump-ports", "br0", "sink").stdout
        assert "hw tx pkts=" in text


def test_a_mirror_keeps_its_traffic_in_software():
    """A NIC that forwards a flow skips the mirror's copies: a mirror on
    the flow's port takes it out of hardware, and it is not promoted again
    while the mirror lasts (docs/OPERATIONS.md, "Port mirroring")."""
    with offload_switch(["priority=10,in_port=1,udp,actions=output:2"]) as sw:
        promote(sw)
        assert megaflow(sw, "udp,in_port=1")["offload"] == "full"
        sw.capture("d2")
        sw.call("add-mirror", bridge="br0", name="m", output_port="d3",
                select_src_port=["d1"])
        assert nic(sw)["rules"] == 0
        hw_before = nic(sw)["hw_packets"]
        sw.send("d1", [pkt(tag=b"m%d" % i) for i in range(30)])
        time.sleep(0.3)                 # several offer checks (20 ms)
        assert nic(sw)["hw_packets"] == hw_before
        assert megaflow(sw, "udp,in_port=1")["offload"] != "full"
        assert len(sw.capture("d3")) == 30 and len(sw.capture("d2")) == 30
        # Without the mirror, the flow (hot already) goes back to the NIC.
        before = stats(sw)["inserted"]
        sw.call("del-mirror", bridge="br0", name="m")
        wait_for(lambda: stats(sw)["inserted"] > before, what="re-promotion")
        assert megaflow(sw, "udp,in_port=1")["offload"] == "full"
