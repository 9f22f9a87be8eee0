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
