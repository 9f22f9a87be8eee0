# SPDX-License-Identifier: BSD-3-Clause
"""Recirculation shortcuts (dp-exec.c: recirc_shortcut()): a packet of an
established connection whose pass after ct(table=T) would find the same
megaflow as its direction's last one goes out without that pass.  These
tests check that the shortcut is taken, and that it never sends a packet
where a full pass would not: headers the megaflow's mask holds, rule
changes, connection state and metadata changes, NAT."""
import threading
import time

from scapy.all import IP, UDP, Ether, Raw

from sltest import Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def fwd(tag, tos=0, sport=1000):
    return Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2", tos=tos) \
        / UDP(sport=sport, dport=53) / Raw(tag.ljust(24, b"."))


def rev(tag, sport=1000):
    return Ether(src=B, dst=A) / IP(src="10.0.0.2", dst="10.0.0.1") / \
        UDP(sport=53, dport=sport) / Raw(tag.ljust(24, b"."))


BASE = [
    "table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=5)",
    "table=1,priority=100,ip,ct_state=+trk+new,in_port=1,"
    "actions=ct(commit,zone=5),output:2",
    "table=1,priority=100,udp,ct_state=+trk+est,in_port=1,nw_tos=0,"
    "actions=output:2",
    "table=1,priority=100,udp,ct_state=+trk+est,in_port=1,nw_tos=4,"
    "actions=output:3",
    "table=1,priority=100,udp,ct_state=+trk+est,in_port=2,actions=output:1",
    "table=1,priority=1,actions=drop",
]


def stats(sw):
    p = sw.call("pmd-stats")
    return (sum(x["recirculations"] for x in p),
            sum(x["recirc_shortcuts"] for x in p))


def tags(frames):
    return [bytes(f)[-24:].rstrip(b".") for f in frames]


def establish(sw, sport=1000):
    sw.send("d1", [fwd(b"syn", sport=sport)])
    sw.send("d2", [rev(b"ack", sport=sport)])
    sw.capture_all(["d1", "d2", "d3"])


def test_shortcut_taken_and_follows_headers():
    with Switch(flows=BASE) as sw:
        establish(sw)
        r0, s0 = stats(sw)
        # The first burst takes the pass and leaves the hint; later ones
        # go out by the shortcut, in order.
        for k in range(5):
            sw.send("d1", [fwd(b"a%d-%d" % (k, i)) for i in range(20)])
        out = sw.capture_all(["d1", "d2", "d3"])
        assert tags(out["d2"]) == [b"a%d-%d" % (k, i) for k in range(5)
                                   for i in range(20)]
        assert not out["d1"] and not out["d3"]
        r1, s1 = stats(sw)
        assert s1 - s0 >= 80, (r1 - r0, s1 - s0)
        assert (r1 - r0) + (s1 - s0) == 100
        # A header the megaflow's mask holds (nw_tos) differs: that
        # packet takes its pass and goes where its rule says, mixed with
        # shortcut ones in one burst.
        burst = [fwd(b"m%d" % i, tos=4 if i % 3 == 0 else 0)
                 for i in range(30)]
        sw.send("d1", burst)
        sw.send("d1", burst)
        out = sw.capture_all(["d1", "d2", "d3"])
        want3 = [b"m%d" % i for i in range(30) if i % 3 == 0] * 2
        want2 = [b"m%d" % i for i in range(30) if i % 3 != 0] * 2
        assert tags(out["d3"]) == want3
        assert tags(out["d2"]) == want2
        # The reply direction has its own hint.
        for k in range(3):
            sw.send("d2", [rev(b"r%d-%d" % (k, i)) for i in range(10)])
        out = sw.capture_all(["d1", "d2", "d3"])
        assert tags(out["d1"]) == [b"r%d-%d" % (k, i) for k in range(3)
                                   for i in range(10)]
        # Megaflow counts include the shortcut packets: the rule's
        # n_packets counts every packet it forwarded.
        f = [x for x in sw.dump_flows() if "nw_tos=0" in x["match"]]
        assert len(f) == 1, sw.dump_flows()
        assert f[0]["n_packets"] == 100 + 40


def test_shortcut_keeps_order():
    """Packets of one direction that its hint's megaflow does not match
    take their pass; those after them in the burst go too, so nothing
    overtakes them on the way out."""
    flows = [f.replace("nw_tos=4,actions=output:3", "nw_tos=4,actions=output:2")
             for f in BASE]
    with Switch(flows=flows) as sw:
        establish(sw)
        # Both megaflows exist first (a burst with a miss is grouped by
        # megaflow, as Open vSwitch batches by flow).
        for k in range(3):
            sw.send("d1", [fwd(b"w%d" % k)] * 10 + [fwd(b"x", tos=4)])
        sw.capture_all(["d1", "d2", "d3"])
        burst = [fwd(b"o%d" % i, tos=4 if i in (3, 17) else 0)
                 for i in range(32)]
        for _ in range(3):
            sw.send("d1", burst)
        assert tags(sw.capture("d2")) == [b"o%d" % i for i in range(32)] * 3
        assert stats(sw)[1] > 0


def test_shortcut_follows_rule_changes_and_flush():
    with Switch(flows=BASE) as sw:
        establish(sw)
        for k in range(3):
            sw.send("d1", [fwd(b"w%d" % k)] * 10)
        sw.capture_all(["d1", "d2", "d3"])
        _, s0 = stats(sw)
        assert s0 > 0
        # The rule the hint's megaflow came from now outputs elsewhere.
        sw.call("mod-flows", bridge="br0", strict=True,
                flow="table=1,priority=100,udp,ct_state=+trk+est,"
                     "in_port=1,nw_tos=0,actions=output:3")
        sw.send("d1", [fwd(b"after-mod")] * 5)
        out = sw.capture_all(["d1", "d2", "d3"])
        assert tags(out["d3"]) == [b"after-mod"] * 5 and not out["d2"]
        # A rule above it that drops the connection's state class.
        sw.add_flows("table=1,priority=200,udp,ct_state=+trk+est,in_port=1,"
                     "actions=drop")
        sw.send("d1", [fwd(b"dropped")] * 5)
        out = sw.capture_all(["d1", "d2", "d3"])
        assert not any(out.values()), out
        sw.del_flows("table=1,priority=200,udp,ct_state=+trk+est,in_port=1",
                     strict=True)
        sw.send("d1", [fwd(b"back")] * 5)
        assert tags(sw.capture("d3")) == [b"back"] * 5
        # Flushed: the next packet is +new again (committed, to d2 by the
        # +new rule), not est.
        sw.call("flush-conntrack")
        sw.send("d1", [fwd(b"new-again")])
        out = sw.capture_all(["d1", "d2", "d3"])
        assert tags(out["d2"]) == [b"new-again"] and not out["d3"]


def test_shortcut_sees_mark_changes():
    """ct_mark is part of the next pass's flow: once a commit changes a
    connection's mark, its packets follow the rule for the new mark."""
    flows = [
        "table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=5)",
        "table=1,priority=100,ip,ct_state=+trk+new,in_port=1,"
        "actions=ct(commit,zone=5),output:2",
        "table=1,priority=100,udp,ct_state=+trk+est,in_port=1,ct_mark=0,"
        "actions=output:2",
        "table=1,priority=100,udp,ct_state=+trk+est,in_port=1,ct_mark=7,"
        "actions=output:3",
        "table=1,priority=100,udp,ct_state=+trk+est,in_port=2,"
        "actions=output:1",
        "table=1,priority=100,udp,ct_state=+trk+est,in_port=3,"
        "actions=ct(commit,zone=5,exec(set_field:7->ct_mark)),output:1",
    ]
    with Switch(flows=flows) as sw:
        establish(sw)
        for k in range(3):
            sw.send("d1", [fwd(b"before")] * 10)
        assert tags(sw.capture("d2")) == [b"before"] * 30
        # A reply through port 3 commits mark 7.
        sw.send("d3", [rev(b"mark")])
        assert tags(sw.capture("d1")) == [b"mark"]
        for k in range(3):
            sw.send("d1", [fwd(b"after")] * 10)
        out = sw.capture_all(["d2", "d3"])
        assert tags(out["d3"]) == [b"after"] * 30 and not out["d2"]


def test_shortcut_after_nat_takes_the_pass():
    """A ct() with NAT rewrites the packet: its key no longer describes
    it, so the next pass parses it again (never a shortcut), and what
    leaves is translated."""
    flows = [
        "table=0,priority=100,ip,ct_state=-trk,"
        "actions=ct(table=1,zone=5,nat)",
        "table=1,priority=100,ip,ct_state=+trk+new,in_port=1,"
        "actions=ct(commit,zone=5,nat(src=10.9.9.9)),output:2",
        "table=1,priority=100,udp,ct_state=+trk+est,in_port=1,"
        "actions=output:2",
        "table=1,priority=100,udp,ct_state=+trk+est,in_port=2,"
        "actions=output:1",
    ]
    with Switch(flows=flows) as sw:
        sw.send("d1", [fwd(b"first")])
        got = sw.capture("d2")
        assert Ether(got[0])[IP].src == "10.9.9.9"
        back = Ether(src=B, dst=A) / IP(src="10.0.0.2", dst="10.9.9.9") / \
            UDP(sport=53, dport=Ether(got[0])[UDP].sport) / Raw(b"x" * 24)
        sw.send("d2", [back])
        assert Ether(sw.capture("d1")[0])[IP].dst == "10.0.0.1"
        _, s0 = stats(sw)
        for k in range(3):
            sw.send("d1", [fwd(b"n%d" % k)] * 10)
        got = sw.capture("d2")
        assert len(got) == 30
        assert all(Ether(g)[IP].src == "10.9.9.9" for g in got)
        _, s1 = stats(sw)
        assert s1 == s0


class Traffic(threading.Thread):
    """Keeps one established connection's packets coming on d1."""

    def __init__(self, sw):
        super().__init__(daemon=True)
        self.sw = sw
        self.stop_ev = threading.Event()

    def run(self):
        burst = [fwd(b"bg")] * 32
        while not self.stop_ev.is_set():
            self.sw.inject("d1", burst)
            time.sleep(0.002)


def test_no_stale_shortcut_under_traffic():
    """While shortcuts keep an established direction hot, every rule
    change is followed by the first packet after it returns."""
    with Switch(flows=BASE) as sw:
        establish(sw)
        bg = Traffic(sw)
        bg.start()
        try:
            for k in range(30):
                port = 3 if k % 2 == 0 else 2
                sw.call("mod-flows", bridge="br0", strict=True,
                        flow="table=1,priority=100,udp,ct_state=+trk+est,"
                             f"in_port=1,nw_tos=0,actions=output:{port}")
                sw.inject("d1", [fwd(b"t%d" % k)])
                time.sleep(0.01)
                other = 2 if port == 3 else 3
                got = tags(sw.capture(f"d{port}"))
                stale = tags(sw.capture(f"d{other}"))
                assert b"t%d" % k not in stale, (k, port)
                # It may still be in flight: wait for it where it belongs.
                deadline = time.time() + 5
                while b"t%d" % k not in got and time.time() < deadline:
                    time.sleep(0.01)
                    got += tags(sw.capture(f"d{port}"))
                    stale += tags(sw.capture(f"d{other}"))
                    assert b"t%d" % k not in stale, (k, port)
                assert b"t%d" % k in got, (k, port)
        finally:
            bg.stop_ev.set()
            bg.join()
        assert stats(sw)[1] > 0
