# SPDX-License-Identifier: BSD-3-Clause
"""Resource accounting (buffers, rules, cached flows, memory) and the
control socket's permissions."""
import grp
import os
import stat

from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch


def udp(i):
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
        IP(src="10.0.0.1", dst="10.2.%d.%d" % (i // 250, i % 250)) / \
        UDP(sport=i, dport=9) / Raw(b"z" * 20)


def test_no_mbuf_leak_and_counts_agree():
    with Switch(flows=["priority=10,in_port=1,ip,nw_dst=10.2.0.0/16,"
                       "actions=output:2,output:3",
                       "priority=5,in_port=1,actions=drop"]) as sw:
        base = sw.call("resources")
        assert base["mbufs_in_use"] < base["mbufs_total"]
        for k in range(5):
            sw.send("d1", [udp(k * 400 + i) for i in range(400)])
            sw.capture_all(["d2", "d3"])
        r = sw.call("resources")
        # Every buffer came back: forwarded copies, drops, captures.
        assert r["mbufs_in_use"] == base["mbufs_in_use"], (base, r)
        assert r["rules"] == len(sw.dump_flows()) == 2
        assert r["megaflows"] == len(sw.call("dump-megaflows"))
        assert r["rss_kib"] > 0


def test_socket_private_by_default():
    with Switch() as sw:
        st = os.stat(sw.sock)
        assert stat.S_IMODE(st.st_mode) == 0o600


def test_socket_group():
    sw = Switch(start=False)
    try:
        group = grp.getgrgid(os.getgid()).gr_name
        sw.config["control"]["group"] = group
        sw.start()
        st = os.stat(sw.sock)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == os.getgid()
    finally:
        sw.stop()
