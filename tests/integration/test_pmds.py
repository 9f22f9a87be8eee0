# SPDX-License-Identifier: BSD-3-Clause
"""Several PMD threads: receive queues spread over them, each with its own
caches; what comes out must not depend on which thread handled a packet."""
import os

import pytest
from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def udp(i):
    return Ether(src=A, dst=B) / \
        IP(src="10.0.%d.%d" % (i // 250, i % 250), dst="10.1.0.1") / \
        UDP(sport=1000 + i, dport=53 if i % 3 == 0 else 80) / Raw(b"q" * 20)


FLOWS = ["priority=10,in_port=1,udp,tp_dst=53,actions=mod_nw_dst:10.9.9.9,"
         "output:3",
         "priority=5,in_port=1,ip,actions=output:2"]


def run(pmd_cores, rxq):
    ports = [{"name": "d1", "ofport": 1, "type": "dummy", "rxq": rxq},
             {"name": "d2", "ofport": 2, "type": "dummy"},
             {"name": "d3", "ofport": 3, "type": "dummy"}]
    with Switch(ports=ports, flows=FLOWS, pmd_cores=pmd_cores,
                pmd={"idle_sleep_us": 200}) as sw:
        pkts = [udp(i) for i in range(600)]
        for k in range(0, 600, 100):
            sw.send("d1", pkts[k:k + 100])
        got = sw.capture_all(["d2", "d3"])
        stats = sw.call("pmd-stats")
        flows = {f["match"]: f["n_packets"] for f in sw.dump_flows()}
    return ({p: sorted(v) for p, v in got.items()}, stats, flows)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")
def test_two_pmds_same_result_as_one():
    one, st1, f1 = run([1], 1)
    two, st2, f2 = run([0, 1], 2)
    assert len(st2) == 2
    # Both threads did work.
    assert all(p["packets"] > 0 for p in st2), st2
    assert one == two
    assert f1 == f2
    assert len(two["d3"]) == 200 and len(two["d2"]) == 400
