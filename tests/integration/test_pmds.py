# SPDX-License-Identifier: BSD-3-Clause
"""Several PMD threads: receive queues spread over them, each with its own
caches; what comes out must not depend on which thread handled a packet."""
import json
import os

import pytest
from scapy.all import IP, UDP, Ether, Raw

from sltest import CtlError, Switch

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


def test_stage_profile():
    """pmd-profile: each stage's cycles are counted only while it is on,
    for exactly the packets received meanwhile, and the full path's stages
    are the ones that run (a simple in_port megaflow skips key..upcall)."""
    ports = [{"name": "d1", "ofport": 1, "type": "dummy"},
             {"name": "d2", "ofport": 2, "type": "dummy"},
             {"name": "d3", "ofport": 3, "type": "dummy"},
             {"name": "d4", "ofport": 4, "type": "dummy"}]
    flows = FLOWS + ["priority=5,in_port=4,actions=output:2"]
    with Switch(ports=ports, flows=flows) as sw:
        assert sw.call("pmd-profile") == {"enabled": False}
        sw.send("d1", [udp(i) for i in range(50)])
        sw.capture_all(["d2", "d3"])
        st = sw.call("pmd-stats")[0]
        assert st["profiled_packets"] == 0
        assert set(st["stage_cycles"]) == {"rx", "key", "exact", "megaflow",
                                           "upcall", "execute", "tx"}
        assert not any(st["stage_cycles"].values())

        assert sw.call("pmd-profile", enable=True) == {"enabled": True}
        assert sw.call("pmd-profile") == {"enabled": True}
        sw.send("d1", [udp(i) for i in range(50, 150)])
        assert len(sum(sw.capture_all(["d2", "d3"]).values(), [])) == 100
        st = sw.call("pmd-stats")[0]
        assert st["profiled_packets"] == 100
        cyc = st["stage_cycles"]
        # New flows: parsed, missed, classified, upcalled, executed, sent.
        for stage in ("rx", "key", "exact", "megaflow", "upcall",
                      "execute", "tx"):
            assert cyc[stage] > 0, (stage, cyc)

        # A port answered by its simple megaflow: no key..upcall cycles.
        sw.send("d4", [udp(i) for i in range(3)])      # installs it
        sw.capture("d2")
        before = sw.call("pmd-stats")[0]
        sw.send("d4", [udp(i) for i in range(20)])
        assert len(sw.capture("d2")) == 20
        after = sw.call("pmd-stats")[0]
        assert after["simple_hits"] - before["simple_hits"] == 20
        assert after["profiled_packets"] - before["profiled_packets"] == 20
        for stage in ("key", "exact", "megaflow", "upcall"):
            assert after["stage_cycles"][stage] == \
                before["stage_cycles"][stage], stage
        for stage in ("rx", "execute", "tx"):
            assert after["stage_cycles"][stage] > \
                before["stage_cycles"][stage], stage

        text = sw.ofctl("pmd-stats").stdout
        assert "cycles per packet by stage" in text and "megaflow:" in text

        assert sw.ofctl("pmd-profile", "off").stdout == "pmd profile: off\n"
        sw.send("d1", [udp(i) for i in range(30)])
        sw.capture_all(["d2", "d3"])
        st = sw.call("pmd-stats")[0]
        assert st["profiled_packets"] == 100 + 3 + 20
        assert st["packets"] == 50 + 100 + 3 + 20 + 30

        for bad in ({"enable": "yes"}, {"enable": 1}, {"on": True}):
            with pytest.raises(CtlError):
                sw.call("pmd-profile", **bad)
        # --format=json prints the reply once (and frees it once).
        r = sw.ofctl("--format=json", "pmd-profile", check=False)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"enabled": False}
        r = sw.ofctl("pmd-profile", "maybe", check=False)
        assert r.returncode == 2 and "on or off" in r.stderr
        assert sw.call("pmd-profile") == {"enabled": False}


def thread_cpu_s(pid, comm):
    """CPU seconds (user + system) of the thread of 'pid' named 'comm'."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != comm:
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    raise AssertionError(f"no thread {comm} in {pid}")


def test_idle_pmd_naps_and_wakes_for_traffic():
    """With pmd.idle_sleep_us an idle PMD spends most of its time napping
    (counted in pmd-stats sleeps and sleep_cycles, not as idle polling)
    and uses a fraction of a core; traffic still gets through, all of it.
    Without it the PMD never naps."""
    import time
    ports = [{"name": "d1", "ofport": 1, "type": "dummy"},
             {"name": "d2", "ofport": 2, "type": "dummy"}]
    flows = ["priority=5,in_port=1,actions=output:2"]
    with Switch(ports=ports, flows=flows,
                pmd={"idle_sleep_us": 1000}) as sw:
        time.sleep(0.5)
        c0, t0 = thread_cpu_s(sw.proc.pid, "pmd0"), time.time()
        s0 = sw.call("pmd-stats")[0]
        time.sleep(2)
        c1, t1 = thread_cpu_s(sw.proc.pid, "pmd0"), time.time()
        s1 = sw.call("pmd-stats")[0]
        share = (c1 - c0) / (t1 - t0)
        assert share < 0.3, f"idle PMD used {share:.0%} of a core"
        assert s1["sleeps"] - s0["sleeps"] > 100
        slept = s1["sleep_cycles"] - s0["sleep_cycles"]
        polled = s1["idle_cycles"] - s0["idle_cycles"]
        assert slept > 2 * polled, (slept, polled)
        # It wakes for traffic: every packet is forwarded.
        pkts = [udp(i) for i in range(300)]
        for k in range(0, 300, 50):
            sw.send("d1", pkts[k:k + 50])
        assert len(sw.capture("d2")) == 300
    with Switch(ports=ports, flows=flows, pmd={"idle_sleep_us": 0}) as sw:
        time.sleep(0.3)
        assert sw.call("pmd-stats")[0]["sleeps"] == 0
