# SPDX-License-Identifier: BSD-3-Clause
"""tools/demo-overlay.sh, the two-host overlay demo: it succeeds (ping and
the md5 of a TCP transfer between the two VM namespaces, through two
sluiced joined by vxlan or geneve tunnels), and leaves nothing of its own
behind: no namespace, no link, no sluiced, no DPDK runtime or temporary
directory.
"""
import os
import re
import shutil
import subprocess

import pytest

from sltest import TOP_BUILDDIR

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip")
    or not shutil.which("ethtool"),
    reason="namespaces, veths and taps need root")

SCRIPT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                      "tools", "demo-overlay.sh"))


def netns_names():
    out = subprocess.run(["ip", "netns", "list"], check=True, timeout=20,
                         capture_output=True, text=True).stdout
    return {ln.split()[0] for ln in out.splitlines() if ln.strip()}


def link_names():
    out = subprocess.run(["ip", "-o", "link"], check=True, timeout=20,
                         capture_output=True, text=True).stdout
    # "7: name@peer: <...>" -> name
    return {ln.split(":")[1].strip().split("@")[0]
            for ln in out.splitlines() if ln.strip()}


def processes_with(text):
    """The pids whose command line contains 'text'."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


@pytest.mark.parametrize("tnl", ["vxlan", "geneve"])
def test_demo_overlay(tnl):
    ns_before, links_before = netns_names(), link_names()
    cmd = ["bash", SCRIPT, "--builddir", TOP_BUILDDIR]
    if tnl == "geneve":
        cmd.append("--geneve")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        # SIGTERM: the script's trap removes what it made.
        p.terminate()
        out, _ = p.communicate(timeout=60)
        raise AssertionError("demo-overlay.sh took over 180 s:\n" + out)
    tag = str(p.pid)     # the script names everything after its pid

    assert p.returncode == 0, out
    assert "md5 OK" in out and f"across sluice's {tnl} overlay" in out, out
    port = "gnv0" if tnl == "geneve" else "vx0"
    assert f"dump-ports br-int {port}" in out, out
    assert f"tnl_pop({tnl}," in out and f"tnl_push({tnl}," in out, out

    # Nothing of its own is left.
    new_ns = netns_names() - ns_before
    assert not {n for n in new_ns if tag in n}, new_ns
    assert not any(n.startswith("slov") and n.endswith(tag)
                   for n in netns_names()), netns_names()
    new_links = link_names() - links_before
    assert not {n for n in new_links if tag in n}, new_links
    assert len(re.findall(r"host [AB]: pid \d+", out)) == 2, out
    work = re.search(r"socket (/tmp/sluice-demo-overlay\.[^/]+)/", out)
    assert work, out
    # The daemons' command lines name the demo's directory (--config).
    left = processes_with(work.group(1))
    assert not left, f"still running: {left}"
    assert not os.path.exists(work.group(1)), work.group(1)
    for pfx in (f"slovA{tag}", f"slovB{tag}"):
        assert not os.path.exists(f"/var/run/dpdk/{pfx}"), pfx
