# SPDX-License-Identifier: BSD-3-Clause
"""After a flow-table change returns, no packet is forwarded by a stale
cache entry (EMC or megaflow), even while traffic keeps the caches hot."""
import threading
import time

import pytest
from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def pkt(tag):
    return Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") / \
        UDP(sport=7, dport=9) / Raw(tag.ljust(24, b"."))


class Traffic(threading.Thread):
    """Keeps injecting the same flow on d1 until stopped."""

    def __init__(self, sw):
        super().__init__(daemon=True)
        self.sw = sw
        self.stop_ev = threading.Event()
        self.sent = 0

    def run(self):
        burst = [pkt(b"bg")] * 32
        while not self.stop_ev.is_set():
            self.sent += self.sw.inject("d1", burst)
            time.sleep(0.002)


# Exact-match tier: both caches (IPv4 through the header-key cache), the
# struct flow EMC alone, or neither (every packet through the megaflows).
CACHES = {"hkc+emc": {"emc_entries": 8192, "hkc_entries": 32768},
          "emc": {"emc_entries": 8192, "hkc_entries": 0},
          "none": {"emc_entries": 0, "hkc_entries": 0}}


@pytest.mark.parametrize("caches", sorted(CACHES))
@pytest.mark.parametrize("change", ["mod", "add", "del"])
def test_no_stale_forwarding_under_traffic(change, caches):
    with Switch(pmd=CACHES[caches]) as sw:
        sw.add_flows("priority=10,in_port=1,udp,actions=output:2")
        bg = Traffic(sw)
        bg.start()
        expected = []
        where = {}
        try:
            for k in range(40):
                port = 3 if k % 2 == 0 else 2
                if change == "mod":
                    sw.call("mod-flows", bridge="br0",
                            flow=f"in_port=1,udp,actions=output:{port}")
                elif change == "add":
                    # A higher-priority rule shadows the old one, then goes.
                    if port == 3:
                        sw.add_flows("priority=20,in_port=1,udp,tp_dst=9,"
                                     "actions=output:3")
                    else:
                        sw.del_flows("priority=20,in_port=1,udp,tp_dst=9",
                                     strict=True)
                else:
                    if port == 3:
                        sw.del_flows("in_port=1")
                        sw.add_flows("priority=10,in_port=1,udp,"
                                     "actions=output:3")
                    else:
                        sw.del_flows("in_port=1")
                        sw.add_flows("priority=10,in_port=1,udp,"
                                     "actions=output:2")
                tag = f"m{k}".encode()
                sw.inject("d1", [pkt(tag)])
                expected.append((tag, port))
                # Wait for this marker before the next change, so it can
                # only have met the tables as they are now.
                deadline = time.time() + 10
                while tag not in where and time.time() < deadline:
                    for port_name, pkts in sw.capture_all(["d2",
                                                           "d3"]).items():
                        for p in pkts:
                            payload = bytes(Ether(p)[Raw].load).rstrip(b".")
                            if payload.startswith(b"m"):
                                where.setdefault(payload, []).append(
                                    int(port_name[1]))
                    time.sleep(0.002)
        finally:
            bg.stop_ev.set()
            bg.join(10)
        time.sleep(0.2)
        for port_name, pkts in sw.capture_all(["d2", "d3"]).items():
            for p in pkts:
                payload = bytes(Ether(p)[Raw].load).rstrip(b".")
                if payload.startswith(b"m"):
                    where.setdefault(payload, []).append(int(port_name[1]))
        for tag, port in expected:
            assert where.get(tag) == [port], (tag, where.get(tag), port)
        assert bg.sent > 100
        st = sw.call("pmd-stats")
        hits = {k: sum(p[k] for p in st)
                for k in ("emc_hits", "hkc_hits", "megaflow_hits")}
        if caches == "hkc+emc":
            # Untagged IPv4: all exact-match hits are header-key hits.
            assert hits["hkc_hits"] > 0
            assert hits["hkc_hits"] == hits["emc_hits"]
        elif caches == "emc":
            assert hits["emc_hits"] > 0 and hits["hkc_hits"] == 0
        else:
            assert hits["emc_hits"] == 0
            assert hits["megaflow_hits"] > 0


def test_revalidation_stats():
    """revalidation-stats counts each walk and what it did with every
    megaflow: a rule whose match no cached flow can meet spares them all
    (none translated again); one that concerns a flow has it translated
    and removed; a credit walk before a delete credits only what the
    deleted rule's match can reach.  sluice-ofctl prints the same."""
    with Switch() as sw:
        sw.add_flows("priority=10,ip,actions=output:2")
        sw.send("d1", [Ether(src=A, dst=B) / IP(src="10.0.0.1",
                                               dst=f"10.0.1.{i}") /
                       UDP(sport=7, dport=9) / Raw(b"r" * 16)
                       for i in range(1, 9)])
        n = sum(p["megaflows"] for p in sw.call("pmd-stats"))
        assert n >= 1
        s0 = sw.call("revalidation-stats")
        # Disjoint from every megaflow (an address none was made for,
        # behind an exact match every megaflow has: dl_type).
        sw.add_flows("priority=20,arp,arp_tpa=10.9.9.9,actions=drop")
        s1 = sw.call("revalidation-stats")
        assert s1["revalidations"] == s0["revalidations"] + 1
        walked = s1["megaflows_walked"] - s0["megaflows_walked"]
        assert walked == n
        assert s1["spared"] - s0["spared"] == n
        assert s1["translated"] == s0["translated"]
        assert s1["walk_ms_total"] >= s0["walk_ms_total"]
        assert s1["walk_ms_max"] >= s1["walk_ms_last"] >= 0
        # A rule every megaflow may meet: all translated, all removed
        # (their output changes).
        sw.add_flows("priority=30,ip,actions=output:3")
        s2 = sw.call("revalidation-stats")
        assert s2["translated"] - s1["translated"] == n
        assert s2["removed"] - s1["removed"] == n
        out = sw.ofctl("revalidation-stats").stdout
        assert f"revalidations: {s2['revalidations']}" in out
        assert f"removed {s2['removed']})" in out
        assert '"credit_walks"' in sw.ofctl("--format=json",
                                            "revalidation-stats").stdout
