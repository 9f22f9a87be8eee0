# SPDX-License-Identifier: BSD-3-Clause
"""Faults the daemon must survive: SIGKILL mid-traffic and restart, a flow
batch with one bad line, 10,000 malformed packets, and hostile control
clients (garbage, wrong types, huge lines, many clients, a client that
never reads)."""
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest
from scapy.all import (ARP, Dot1AD, Dot1Q, Ether, ICMP, IP, IPv6,
                       IPv6ExtHdrFragment, Raw, SCTP, TCP, UDP)

from sltest import CtlError, Switch

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


def udp(tag=b"x"):
    return Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") / \
        UDP(sport=7, dport=9) / Raw(tag.ljust(24, b"."))


def port_stats(sw):
    return {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}


def pmd_drops(sw):
    total = {}
    for p in sw.call("pmd-stats"):
        for k, v in p["drops"].items():
            total[k] = total.get(k, 0) + v
    return total


def flow_set(sw):
    """The flow table without its timing fields."""
    return sorted(json.dumps({k: v for k, v in f.items()
                              if k not in ("duration_s", "idle_age_s")},
                             sort_keys=True) for f in sw.dump_flows())


# ---------------------------------------------------------------- SIGKILL

def test_sigkill_mid_traffic_then_restart():
    flows = ["priority=10,in_port=1,udp,actions=output:2",
             "priority=5,in_port=1,actions=output:3"]
    with Switch(flows=flows) as sw:
        before = flow_set(sw)
        stop = threading.Event()

        def traffic():
            burst = [bytes(udp(b"bg")).hex()] * 32
            while not stop.is_set():
                try:
                    sw.call("dummy-inject", bridge="br0", port="d1",
                            packets=burst, timeout=2)
                except (OSError, CtlError, ValueError):
                    pass

        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        time.sleep(0.5)
        assert sw.pmd_packets() > 0
        pid = sw.proc.pid
        os.kill(pid, signal.SIGKILL)
        sw.proc.wait(10)
        stop.set()
        t.join(10)
        # The killed daemon left its socket file behind: the restart must
        # not be blocked by it (nothing listens there any more).
        assert os.path.exists(sw.sock)

        t0 = time.time()
        sw.start()
        assert time.time() - t0 < 20
        assert sw.proc.pid != pid
        after = flow_set(sw)
        assert after == before       # the configured flows, nothing stale
        # Counters start from zero and forwarding works.
        assert sw.pmd_packets() == 0
        sw.capture("d2")
        sw.send("d1", [udp(b"after")])
        got = sw.capture("d2")
        assert [bytes(udp(b"after"))] == got


def test_sigkill_twice_and_clean_stop():
    """Repeated kills leave nothing that breaks the next start, and a
    normal stop afterwards removes the socket."""
    with Switch(flows=["priority=1,actions=output:2"]) as sw:
        for _ in range(2):
            os.kill(sw.proc.pid, signal.SIGKILL)
            sw.proc.wait(10)
            sw.start()
            sw.send("d1", [udp()])
            assert len(sw.capture("d2")) == 1
        sock = sw.sock
        sw.proc.send_signal(signal.SIGTERM)
        assert sw.proc.wait(15) == 0
        assert not os.path.exists(sock)


# ----------------------------------------------------------- bad flow line

GOOD = ["priority=10,in_port=1,udp,actions=output:2",
        "priority=20,in_port=1,tcp,tp_dst=80,actions=output:3",
        "priority=30,ip,nw_dst=10.9.0.0/16,actions=drop"]
BAD = [
    "priority=40,ip,nw_dstt=1.2.3.4,actions=drop",     # unknown field
    "priority=40,tcp,tp_dst=99999,actions=drop",        # out of range
    "priority=40,actions=output:2,goto_table:x",        # bad action arg
    "priority=40,nw_src=1.2.3.4,actions=drop",          # no prerequisite
    "priority=40,ip,actions=set_field:1->tp_dst",       # no L4 prereq
    "priority=40,in_port=1",                            # no actions
    "priority=40,\x00\xff,actions=drop",                # binary
]


@pytest.mark.parametrize("bad", BAD)
def test_flow_batch_with_one_bad_line_changes_nothing(bad):
    with Switch(flows=["priority=0,actions=NORMAL"]) as sw:
        sw.add_flows(*GOOD)
        before = flow_set(sw)
        batch = ["priority=50,udp,tp_dst=1,actions=output:3",
                 "priority=51,udp,tp_dst=2,actions=output:2",
                 bad,
                 "priority=52,udp,tp_dst=3,actions=drop"]
        with pytest.raises(CtlError) as e:
            sw.add_flows(*batch)
        assert e.value.code in (22, -32602, -32700)
        if e.value.code == 22:
            assert "flows[2]" in e.value.message
        with pytest.raises(CtlError):
            sw.call("replace-flows", bridge="br0", flows=batch)
        assert flow_set(sw) == before


# ------------------------------------------------------ malformed packets

def valid_packets():
    e = Ether(src=A, dst=B)
    pay = Raw(b"p" * 20)
    return [bytes(p) for p in [
        e / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / pay,
        e / IP(src="10.0.0.1", dst="10.0.0.2", ihl=6,
               options=b"\x01" * 4) / TCP(flags="S") / pay,
        e / IP(frag=3, proto=6) / pay,
        e / IP() / ICMP() / pay,
        e / IP() / SCTP() / pay,
        e / IPv6() / TCP() / pay,
        e / IPv6() / IPv6ExtHdrFragment(m=1) / UDP() / pay,
        e / ARP(op=1, psrc="10.0.0.1", pdst="10.0.0.2"),
        Ether(src=A, dst=B) / Dot1Q(vlan=5) / IP() / UDP() / pay,
        Ether(src=A, dst=B) / Dot1AD(vlan=5) / Dot1Q(vlan=6) / IPv6() / pay,
        Ether(src=A, dst=B, type=0x0800) / Raw(b"\x45" + b"\xff" * 40),
    ]]


def mutate(rng, valid):
    kind = rng.randrange(3)
    if kind == 0:                                   # random bytes
        return bytes(rng.randrange(256)
                     for _ in range(rng.randint(14, 160)))
    p = bytearray(rng.choice(valid))
    if kind == 1:                                   # truncation
        return bytes(p[:rng.randint(14, len(p))])
    for _ in range(rng.randint(1, 8)):              # header bit flips
        i = rng.randrange(min(len(p), 64))
        p[i] ^= 1 << rng.randrange(8)
    return bytes(p)


def dl_type(p):
    """The ethertype flow_extract() reports (after up to two tags)."""
    t, ofs = p[12] << 8 | p[13], 12
    if t in (0x8100, 0x88a8):
        if len(p) - ofs < 6:
            return t
        ofs += 4
        t = p[ofs] << 8 | p[ofs + 1]
        if t == 0x8100:
            if len(p) - ofs < 6:
                return t
            ofs += 4
            t = p[ofs] << 8 | p[ofs + 1]
    return 0x05ff if t < 0x0600 else t


def test_10000_malformed_packets_counted():
    rng = random.Random(6)
    valid = valid_packets()
    pkts = [mutate(rng, valid) for _ in range(10000)]
    flows = ["priority=10,in_port=1,ip,actions=output:2",
             "priority=10,in_port=1,arp,actions=output:3",
             "priority=10,in_port=1,ipv6,actions=output:2,output:3",
             "priority=0,actions=drop"]
    with Switch(flows=flows) as sw:
        got = {"d2": [], "d3": []}
        sent = 0
        for i in range(0, len(pkts), 250):
            sent += sw.send("d1", pkts[i:i + 250])
            for p in ("d2", "d3"):
                got[p] += sw.capture(p)
        assert sent == len(pkts)
        assert sw.proc.poll() is None

        # Every packet went where the rules say, unchanged.
        want = {"d2": [], "d3": []}
        n_drop = 0
        for p in pkts:
            t = dl_type(p)
            if t == 0x0800:
                want["d2"].append(p)
            elif t == 0x0806:
                want["d3"].append(p)
            elif t == 0x86dd:
                want["d2"].append(p)
                want["d3"].append(p)
            else:
                n_drop += 1
        for port in ("d2", "d3"):
            assert sorted(got[port]) == sorted(want[port]), port

        # Counters: rx = forwarded + counted drops.
        st = port_stats(sw)
        drops = pmd_drops(sw)
        assert st["d1"]["rx_packets"] == len(pkts)
        assert st["d1"]["rx_errors"] == 0
        n_ipv6 = sum(1 for p in pkts if dl_type(p) == 0x86dd)
        tx = st["d2"]["tx_packets"] + st["d3"]["tx_packets"]
        assert st["d2"]["tx_dropped"] == st["d3"]["tx_dropped"] == 0
        assert drops["action_drop"] == n_drop
        # Each IPv6 packet is output twice (one copy).
        assert st["d1"]["rx_packets"] == tx - n_ipv6 + sum(drops.values())
        assert sum(v for k, v in drops.items() if k != "action_drop") == 0

        # Still alive and forwarding normally.
        sw.send("d1", [udp(b"alive")])
        assert sw.capture("d2") == [bytes(udp(b"alive"))]


def test_inject_refuses_bad_frames():
    with Switch() as sw:
        for bad in (["00" * 13], ["zz" * 20], ["0" * 29], [""], [1]):
            with pytest.raises(CtlError):
                sw.call("dummy-inject", bridge="br0", port="d1",
                        packets=bad)
        assert sw.call("list-methods")


# ------------------------------------------------ hostile control clients

def raw_client(sw, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sw.sock)
    return s


def read_lines(s, n, limit=1 << 20):
    buf = b""
    while buf.count(b"\n") < n:
        d = s.recv(limit)
        if not d:
            break
        buf += d
    return [json.loads(x) for x in buf.split(b"\n") if x.strip()]


def responsive(sw, within=3.0):
    t0 = time.time()
    sw.call("list-methods", timeout=within)
    return time.time() - t0 < within


def test_malformed_control_messages():
    with Switch() as sw:
        s = raw_client(sw)
        lines = [b"not json", b"{", b"[1,2,3]", b"42", b"\"s\"", b"null",
                 b"{\"id\":1}", b"{\"id\":2,\"method\":7}",
                 b"{\"id\":3,\"method\":\"nope\"}",
                 b"{\"id\":4,\"method\":\"dump-flows\",\"params\":[]}",
                 b"{\"id\":5,\"method\":\"dump-flows\",\"params\":{}}",
                 b"{\"id\":6,\"method\":\"dump-flows\","
                 b"\"params\":{\"bridge\":7}}",
                 b"{\"id\":7,\"method\":\"add-flows\",\"params\":"
                 b"{\"bridge\":\"br0\",\"flows\":\"x\"}}",
                 b"{\"id\":8,\"method\":\"add-flows\",\"params\":"
                 b"{\"bridge\":\"br0\",\"flows\":[1,2]}}",
                 b"{\"id\":9,\"method\":\"del-flows\",\"params\":"
                 b"{\"bridge\":\"br0\",\"strict\":\"yes\"}}",
                 b"{\"id\":10,\"method\":\"dummy-inject\",\"params\":"
                 b"{\"bridge\":\"br0\",\"port\":\"d1\",\"packets\":"
                 b"[\"00\"]}}",
                 b"{\"id\":11,\"method\":\"add-port\",\"params\":"
                 b"{\"bridge\":\"br0\",\"name\":\"\",\"type\":\"dummy\"}}",
                 b"{\"id\":12,\"method\":\"dump-ports\",\"params\":"
                 b"{\"bridge\":\"br0\",\"port\":-1}}",
                 b"{\"id\":13,\"method\":\"pmd-stats\",\"params\":"
                 b"{\"x\":1}}",
                 b"{\"id\":14,\"method\":\"show\",\"params\":"
                 b"{\"bridge\":\"" + b"b" * 5000 + b"\"}}",
                 b"\xff\xfe\x00\x01garbage",
                 b"{\"id\":15,\"method\":\"list-methods\"}"]
        s.sendall(b"\n".join(lines) + b"\n")
        replies = read_lines(s, len(lines))
        s.close()
        assert len(replies) == len(lines)
        assert all("error" in r for r in replies[:-1]), replies
        assert "result" in replies[-1]
        assert replies[0]["error"]["code"] == -32700
        assert replies[2]["error"]["code"] == -32600
        assert replies[8]["error"]["code"] == -32601
        assert responsive(sw)

        # Binary garbage without newlines, then a closed connection.
        s = raw_client(sw)
        s.sendall(bytes(random.Random(1).randrange(256)
                        for _ in range(100000)).replace(b"\n", b" "))
        s.close()
        assert responsive(sw)


def test_huge_request_is_refused():
    """A request over the limit gets an error naming the limit; the rest of
    its line is discarded and the same connection answers the next one
    (the sender never sees a broken pipe)."""
    with Switch() as sw:
        s = raw_client(sw, timeout=20)
        big = b"{\"id\":1,\"method\":\"show\",\"params\":{\"x\":\"" + \
            b"a" * (5 << 20) + b"\"}}\n"
        s.sendall(big + b"{\"id\":2,\"method\":\"list-methods\"}\n")
        replies = read_lines(s, 2)
        s.close()
        assert replies[0]["error"]["code"] == -32600
        assert "limit 4194304 bytes" in replies[0]["error"]["message"]
        assert replies[1]["id"] == 2 and "show" in replies[1]["result"]
        assert responsive(sw)


def test_many_concurrent_clients():
    with Switch() as sw:
        errors = []

        def client(k):
            try:
                for _ in range(10):
                    r = sw.call("dump-flows", bridge="br0", timeout=20)
                    assert isinstance(r, list)
            except Exception as e:      # noqa: BLE001 (reported below)
                errors.append(repr(e))

        ts = [threading.Thread(target=client, args=(k,)) for k in range(64)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors[:3]

        # More idle connections than the server accepts: it must refuse or
        # close the extra ones, not fall over; when they go, it serves.
        idle = []
        for _ in range(300):
            try:
                idle.append(raw_client(sw, timeout=1))
            except OSError:
                break
        for s in idle:
            s.close()
        time.sleep(0.2)
        assert responsive(sw)


def test_stalled_clients_do_not_block():
    with Switch() as sw:
        sw.add_flows(*[f"priority={i},ip,nw_dst=10.1.{i >> 8}.{i & 255},"
                       f"actions=output:2" for i in range(1, 2000)])
        # A client that sends requests with big replies and never reads.
        hog = raw_client(sw)
        hog.setblocking(False)
        req = b"{\"id\":1,\"method\":\"dump-flows\",\"params\":" \
              b"{\"bridge\":\"br0\"}}\n"
        sent = 0
        t0 = time.time()
        while time.time() - t0 < 5:
            try:
                sent += hog.send(req * 50)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break               # the server dropped it: fine
            assert responsive(sw, within=3)
        # A client that sends half a request and stalls.
        slow = raw_client(sw)
        slow.sendall(b"{\"id\":1,\"method\":")
        assert responsive(sw)
        # Traffic still flows while both hang around.
        sw.send("d1", [udp(b"during")])
        assert sw.proc.poll() is None
        hog.close()
        slow.close()
        assert responsive(sw)
