# SPDX-License-Identifier: BSD-3-Clause
"""The control path at scale: flow lists over the 4 MiB request limit go in
parts and apply all or nothing; dumps stream in parts as the client reads;
a reply over the output limit is refused with an error naming the limit,
never a dropped connection (docs/control-protocol.md, "Long lists")."""
import json
import re
import socket
import subprocess
import time

from scapy.all import Ether, IP, UDP, Raw

from sltest import OFCTL, CtlError, Switch


def rule(i, prio=10, port=2):
    return (f"priority={prio},ip,nw_dst=10.{i >> 16}.{(i >> 8) & 255}."
            f"{i & 255},actions=output:{port}")


def write_rules(path, rules):
    with open(path, "w") as f:
        for r in rules:
            f.write(r + "\n")


def ofctl(sw, *args, timeout=300):
    p = subprocess.run([OFCTL, "--socket", sw.sock, "--timeout", "300"]
                       + list(args), capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def raw(sw, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sw.sock)
    return s, s.makefile("rb")


def request(s, f, method, rid=1, **params):
    s.sendall((json.dumps({"id": rid, "method": method, "params": params})
               + "\n").encode())
    return json.loads(f.readline())


def streamed_rules(sw, **params):
    """Every row of a streamed dump-flows, and the parts' sizes."""
    parts = sw.call_stream("dump-flows", bridge="br0", **params)
    rows = [row for p in parts for row in p["result"]]
    return rows, [len(p["result"]) for p in parts]


def test_ofctl_lists_over_the_request_limit(tmp_path):
    """add-flows and replace-flows of 120,000-rule files (over 4 MiB)
    succeed through sluice-ofctl, which sends them in parts; a dump of
    them streams; a plain (unstreamed) dump is refused by name."""
    n = 120000
    path = tmp_path / "flows.txt"
    write_rules(path, [rule(i) for i in range(n)])
    assert path.stat().st_size > (4 << 20)
    with Switch(flows=["priority=0,actions=NORMAL"], state=False) as sw:
        ofctl(sw, "add-flows", "br0", str(path))
        rows, sizes = streamed_rules(sw)
        assert len(rows) == n + 1
        assert len(sizes) > 100 and max(sizes) == 1000
        assert sorted(r["match"] for r in rows if r["priority"] == 10) == \
            sorted(rule(i).split(",", 1)[1].rsplit(",", 1)[0]
                   for i in range(n))

        text = ofctl(sw, "dump-flows", "br0").splitlines()
        assert len(text) == n + 1
        assert sum("actions=output:2" in t for t in text) == n

        # Without a stream, a reply this long is an error that names the
        # limit, and the daemon goes on answering.
        try:
            sw.call("dump-flows", bridge="br0")
            raise AssertionError("a 24 MB reply was sent unstreamed")
        except CtlError as e:
            assert e.code == 27 and "CTL_MAX_OUTPUT" in e.message, e.message
        assert sw.call("list-methods")

        # Replace with a set that keeps half and changes the other half.
        write_rules(path, [rule(i, port=2 if i % 2 else 3)
                           for i in range(n)])
        ofctl(sw, "replace-flows", "br0", str(path))
        rows, _ = streamed_rules(sw)
        assert len(rows) == n
        assert sum(r["actions"] == "output:3" for r in rows) == n // 2

        # A filtered dump streams only the selection.
        rows, _ = streamed_rules(sw, match="ip,nw_dst=10.1.0.0/16")
        assert len(rows) == n - 65536


def table(sw):
    return sorted((r["table"], r["priority"], r["match"], r["actions"])
                  for r in sw.dump_flows())


def test_parts_apply_all_or_nothing():
    with Switch(flows=["priority=0,actions=NORMAL"], state=False) as sw:
        before = table(sw)
        s, f = raw(sw)
        r = request(s, f, "add-flows", bridge="br0", more=True,
                    flows=[rule(i) for i in range(3)])
        assert r["result"] == {"staged": 3}
        # Staged flows are not in the table yet.
        assert table(sw) == before
        r = request(s, f, "add-flows", bridge="br0", more=True,
                    flows=[rule(3), "priority=5,ip,nw_dstt=1,actions=drop"])
        # The index counts from the start of the whole list.
        assert r["error"]["code"] == 22 and "flows[4]" in \
            r["error"]["message"], r
        # The failed part discarded the transaction: a last part now
        # applies only itself.
        r = request(s, f, "add-flows", bridge="br0", flows=[rule(9)])
        assert r["result"] == {"count": 1}
        assert len(sw.dump_flows()) == len(before) + 1
        sw.del_flows("ip")

        # Parts of a replace, then the last one: exactly the whole list.
        r = request(s, f, "replace-flows", bridge="br0", more=True,
                    flows=[rule(i) for i in range(1000)])
        assert r["result"] == {"staged": 1000}
        r = request(s, f, "replace-flows", bridge="br0",
                    flows=[rule(i) for i in range(1000, 1500)])
        assert r["result"] == {"count": 1500}
        assert len(sw.dump_flows()) == 1500

        # A part for another method or bridge discards what was staged.
        r = request(s, f, "add-flows", bridge="br0", more=True,
                    flows=[rule(5000)])
        assert r["result"] == {"staged": 1}
        r = request(s, f, "replace-flows", bridge="br0", flows=[])
        assert r["error"]["code"] == 22
        assert "add-flows transaction for bridge \"br0\" (1 flows staged)" \
            in r["error"]["message"] and "discarded" in r["error"]["message"]
        assert len(sw.dump_flows()) == 1500
        r = request(s, f, "add-flows", bridge="br0", more=True,
                    flows=[rule(5000)])
        r = request(s, f, "add-flows", bridge="br9", flows=[rule(5001)])
        assert r["error"]["code"] == 22
        r = request(s, f, "add-flows", bridge="br9", flows=[rule(5001)])
        assert r["error"]["code"] == 2          # no such bridge
        # 'more' must be a boolean.
        r = request(s, f, "add-flows", bridge="br0", more=1, flows=[])
        assert r["error"]["code"] == -32602

        # A malformed part discards what was staged, too.
        r = request(s, f, "add-flows", bridge="br0", more=True,
                    flows=[rule(i) for i in range(7000, 7010)])
        assert r["result"] == {"staged": 10}
        r = request(s, f, "add-flows", bridge="br0", flows="not a list")
        assert r["error"]["code"] == -32602
        r = request(s, f, "add-flows", bridge="br0", flows=[rule(7100)])
        assert r["result"] == {"count": 1}
        assert len(sw.dump_flows()) == 1501
        sw.del_flows("ip,nw_dst=10.0.27.188", strict=False)

        # A connection that goes away drops its staged parts.
        r = request(s, f, "add-flows", bridge="br0", more=True,
                    flows=[rule(i) for i in range(6000, 7000)])
        assert r["result"] == {"staged": 1000}
        s.close()
        time.sleep(0.2)
        assert len(sw.dump_flows()) == 1500
        assert sw.call("list-methods")


def test_stream_reflects_changes_and_waits_for_the_reader():
    """Rules deleted while a dump streams are left out (none twice, none
    invented); parts are produced only as the client reads, and other
    clients are served meanwhile."""
    n = 20000
    with Switch(flows=[], state=False) as sw:
        sw.call("add-flows", bridge="br0",
                flows=[rule(i, prio=100) for i in range(n // 2)]
                + ["cookie=0x7," + rule(i, prio=7)
                   for i in range(n // 2, n)])
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sw.sock)
        s.sendall(b'{"id":5,"method":"dump-flows","stream":true,'
                  b'"params":{"bridge":"br0"}}\n'
                  b'{"id":6,"method":"list-methods"}\n')
        f = s.makefile("rb")
        first = json.loads(f.readline())
        assert first["id"] == 5 and first["more"] is True
        # The reader stalls: the daemon serves others, and the rules at
        # the end of the dump (lowest priority) go away meanwhile.
        t0 = time.time()
        assert sw.call("list-methods", timeout=3)
        assert time.time() - t0 < 3
        assert sw.del_flows("cookie=0x7/0xffffffffffffffff")["count"] == \
            n // 2
        rows = list(first["result"])
        while True:
            part = json.loads(f.readline())
            assert part["id"] == 5
            rows.extend(part["result"])
            if not part.get("more"):
                break
        # The request queued behind the stream is answered after it.
        assert json.loads(f.readline())["id"] == 6
        s.close()
        matches = [r["match"] for r in rows]
        assert len(matches) == len(set(matches))
        assert sum(r["priority"] == 100 for r in rows) == n // 2
        # What was produced before the delete may hold low-priority rules
        # (at most the socket's and the daemon's buffers' worth), the
        # rest none.
        low = sum(r["priority"] == 7 for r in rows)
        assert low < n // 2, low


TIMING = re.compile(r"duration=[0-9.]+s|idle_age=[0-9]+")


def ofctl_line(r):
    """What ovs-ofctl prints for the dump-flows row 'r'."""
    s = (f" cookie={r['cookie']}, duration={r['duration_s']:.3f}s, "
         f"table={r['table']}, n_packets={r['n_packets']}, "
         f"n_bytes={r['n_bytes']},")
    if r["idle_timeout"]:
        s += f" idle_timeout={r['idle_timeout']},"
    if r["hard_timeout"]:
        s += f" hard_timeout={r['hard_timeout']},"
    s += f" idle_age={r['idle_age_s']}, priority={r['priority']}"
    if r["match"]:
        s += "," + r["match"]
    return s + " actions=" + r["actions"]


def test_text_lines_equal_the_rows():
    """The daemon's text lines (what sluice-ofctl prints) say what the JSON
    rows say, in the same order."""
    flows = ["priority=0,actions=NORMAL",
             "table=0,priority=200,cookie=0x1f,udp,tp_dst=9,actions=output:2",
             "table=0,priority=150,idle_timeout=300,hard_timeout=600,"
             "ip,nw_src=10.0.0.0/8,actions=resubmit(,3)",
             "table=3,priority=10,hard_timeout=900,arp,actions=drop",
             "table=3,priority=5,cookie=0xffffffffffffffff,actions="
             "output:1,output:3"]
    with Switch(flows=flows, state=False) as sw:
        pkt = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / \
            IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=9) / \
            Raw(b"x" * 20)
        sw.inject("d1", [pkt] * 3)
        sw.wait_processed(3)
        time.sleep(0.3)
        rows = json.loads(ofctl(sw, "--format=json", "dump-flows", "br0"))
        lines = ofctl(sw, "dump-flows", "br0").splitlines()
        assert [TIMING.sub("", ln) for ln in lines] == \
            [TIMING.sub("", ofctl_line(r)) for r in rows]
        assert any("n_packets=3" in ln and "cookie=0x1f" in ln
                   for ln in lines), lines
        # --format=json streams one valid array, also when filtered.
        sel = json.loads(ofctl(sw, "--format=json", "dump-flows", "br0",
                               "table=3"))
        assert [r["priority"] for r in sel] == [10, 5]
        assert json.loads(ofctl(sw, "--format=json", "dump-flows", "br0",
                                "table=9")) == []
