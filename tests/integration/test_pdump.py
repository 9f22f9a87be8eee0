# SPDX-License-Identifier: BSD-3-Clause
"""DPDK's own capture tool against sluiced: with its memory in hugepage
files, dpdk-dumpcap (a DPDK secondary process) attaches to the running
daemon and captures a DPDK ethdev port, received and sent packets, while
the switch forwards.  The test reserves the hugepages it needs and gives
them back, and removes the hugepage files the daemon leaves."""
import glob
import os
import shutil
import subprocess
import time

import pytest
from scapy.all import Ether, IP, UDP, Raw, rdpcap, wrpcap

from sltest import Switch, pmd_cpu

DUMPCAP = shutil.which("dpdk-dumpcap")
PAGES = 400                     # 800 MiB: the daemon's 256 MiB and more


@pytest.fixture
def hugepages():
    """hugetlbfs mounted and PAGES 2 MiB pages reserved, for this test."""
    if os.geteuid() != 0:
        pytest.fail("needs root (hugepages)")
    mounted = any(line.split()[2] == "hugetlbfs"
                  for line in open("/proc/mounts"))
    mnt = None
    if not mounted:
        mnt = "/dev/hugepages"
        os.makedirs(mnt, exist_ok=True)
        subprocess.run(["mount", "-t", "hugetlbfs", "nodev", mnt],
                       check=True, timeout=10)
    with open("/proc/sys/vm/nr_hugepages") as f:
        before = int(f.read())
    if before < PAGES:
        with open("/proc/sys/vm/nr_hugepages", "w") as f:
            f.write(str(PAGES))
    try:
        yield
    finally:
        if before < PAGES:
            with open("/proc/sys/vm/nr_hugepages", "w") as f:
                f.write(str(before))
        if mnt:
            subprocess.run(["umount", mnt], timeout=10)


def test_dpdk_dumpcap_captures_a_dpdk_port(hugepages, tmp_path):
    assert DUMPCAP, "dpdk-dumpcap (Debian dpdk) is missing"
    pkts = [Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") /
            IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i,
                                                      dport=53) /
            Raw(b"d" * 40) for i in range(8)]
    # A short path: a DPDK secondary sees the port's devargs cut at 64
    # bytes (and opens the file itself).
    src = f"/tmp/slpd{os.getpid()}.pcap"
    wrpcap(src, pkts)
    sw = Switch(ports=[
        {"name": "p1", "ofport": 1, "type": "dpdk",
         "devargs": f"net_pcap0,rx_pcap={src},infinite_rx=1"},
        {"name": "p2", "ofport": 2, "type": "dpdk",
         "devargs": "net_null0,no-rx=1"}],
        flows=["in_port=1,actions=mod_nw_tos:32,output:2"], start=False,
        state=False)
    args = sw.config["dpdk"]["args"]
    args.remove("--no-huge")        # Hugepage files: memory to share.
    # The PMD's core an EAL lcore: it then needs no rte_thread_register(),
    # which would turn multi-process off.
    args[args.index("-l") + 1] = f"0,{pmd_cpu()}"
    # dpdk-dumpcap maps the daemon's memory at the daemon's addresses; far
    # from both processes' libraries (and from AddressSanitizer's shadow
    # in a sanitizer build), so that the range is free in both.
    args += ["--base-virtaddr", "0x300000000000"]
    prefix = sw.prefix
    try:
        sw.start()
        assert "dpdk-dumpcap cannot attach" not in sw.read_log()
        out = {}
        for port in ("net_pcap0", "net_null0"):
            out[port] = str(tmp_path / f"{port}.pcapng")
            p = subprocess.run([DUMPCAP, f"--file-prefix={prefix}", "-i",
                                port, "-p", "-c", "20", "-q", "-w",
                                out[port]], capture_output=True, text=True,
                               timeout=60)
            assert p.returncode == 0, p.stderr + p.stdout
        rx = rdpcap(out["net_pcap0"])
        tx = rdpcap(out["net_null0"])
        assert len(rx) >= 20 and len(tx) >= 20
        # What p1 received, as received; what p2 sent, as rewritten.
        sent = {bytes(p) for p in pkts}
        assert all(bytes(p) in sent for p in rx)
        assert all(p[IP].tos == 32 and p[UDP].dport == 53 for p in tx)
        # The daemon forwarded on meanwhile, and still answers.
        stats = {p["name"]: p for p in sw.call("dump-ports", bridge="br0")}
        assert stats["p2"]["tx_packets"] > 20
        # The PMD on its EAL lcore stops cleanly.
        assert sw.stop() == 0
    finally:
        sw.stop()
        os.unlink(src)
        for f in glob.glob(f"/dev/hugepages/{prefix}map_*"):
            os.unlink(f)
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


def test_unshared_memory_is_reported():
    """With --no-huge (the tests' and the embedded default) the daemon says
    why dpdk-dumpcap cannot attach, and starts as usual."""
    with Switch(state=False) as sw:
        deadline = time.time() + 5
        while "dpdk-dumpcap cannot attach" not in sw.read_log() \
                and time.time() < deadline:
            time.sleep(0.1)
        assert "dpdk-dumpcap cannot attach" in sw.read_log()
