# SPDX-License-Identifier: BSD-3-Clause
"""sltest: start sluiced for a test, talk to its control socket, clean up.

Every daemon gets its own temporary directory, control socket and DPDK
--file-prefix, runs with --no-huge, and is stopped (SIGTERM, then SIGKILL
after a bounded wait) by pid when the test ends.
"""
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TOP_BUILDDIR = os.environ.get(
    "SLUICE_BUILDDIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SLUICED = os.path.join(TOP_BUILDDIR, "datapath", "sluiced")
OFCTL = os.path.join(TOP_BUILDDIR, "ofctl", "sluice-ofctl")

_counter = itertools.count()


class CtlError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def pmd_cpu():
    """The CPU for a test's single PMD: the last one (tests run on the
    others)."""
    return max(os.sched_getaffinity(0))


class Switch:
    """One sluiced process."""

    def __init__(self, bridges=None, ports=None, flows=None, pmd_cores=None,
                 datapath=None, pmd=None, start=True, state=True,
                 netns=None):
        if bridges is None:
            if ports is None:
                ports = [{"name": f"d{i}", "ofport": i, "type": "dummy"}
                         for i in (1, 2, 3)]
            bridges = [{"name": "br0", "ports": ports}]
            if flows is not None:
                # The bridge's whole table: the default NORMAL flow only if
                # listed.
                bridges[0]["flows"] = list(flows)
        self.dir = tempfile.mkdtemp(prefix="sltest-")
        self.prefix = f"sltest{os.getpid()}x{next(_counter)}"
        self.sock = os.path.join(self.dir, "sluiced.sock")
        pmd_cfg = {"cores": pmd_cores or [pmd_cpu()]}
        pmd_cfg.update(pmd or {})
        self.config = {
            "dpdk": {"args": ["--no-huge", "-m", "256", "--no-pci",
                              "--file-prefix", self.prefix, "-l", "0",
                              "--log-level", "*:warning"]},
            "control": {"socket": self.sock},
            "pmd": pmd_cfg,
            "bridges": bridges,
        }
        if datapath:
            self.config["datapath"] = datapath
        # Each daemon saves its state in its own directory (never in the
        # system-wide default), so restarts within a test restore it.
        self.state_dir = os.path.join(self.dir, "state")
        self.config["state"] = {"dir": self.state_dir if state else ""}
        self.proc = None
        # A network namespace to run in ("ip netns exec" execs the daemon:
        # the pid is its own).
        self.netns = netns
        self.log_path = os.path.join(self.dir, "sluiced.log")
        if start:
            self.start()

    # ---- process ----
    def start(self, timeout=30):
        cfg_path = os.path.join(self.dir, "sluiced.json")
        with open(cfg_path, "w") as f:
            json.dump(self.config, f)
        self.log = open(self.log_path, "w")
        cmd = [SLUICED, "--config", cfg_path]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                # DPDK leaves its runtime directory (megabytes of tmpfs)
                # behind a process that exits during start.
                shutil.rmtree(f"/var/run/dpdk/{self.prefix}",
                              ignore_errors=True)
                text = self.read_log()
                self.log.close()
                shutil.rmtree(self.dir, ignore_errors=True)
                raise RuntimeError(f"sluiced exited {self.proc.returncode}:\n"
                                   + text)
            if os.path.exists(self.sock):
                try:
                    self.call("list-methods")
                    return
                except (OSError, CtlError):
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("sluiced did not come up:\n" + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        """Kills the daemon (no cleanup by it); the directory stays, so
        start() brings it back with the saved state."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)
        self.proc = None

    def stop(self, timeout=15):
        """Stops the daemon; returns its exit status."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                rc = "killed"
        elif self.proc:
            rc = self.proc.returncode
        self.proc = None
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- control socket ----
    def call(self, method, timeout=30, **params):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            req = {"id": 1, "method": method, "params": params}
            s.sendall((json.dumps(req) + "\n").encode())
            parts = []
            while not parts or not parts[-1].endswith(b"\n"):
                d = s.recv(1 << 20)
                if not d:
                    break
                parts.append(d)
        finally:
            s.close()
        reply = json.loads(b"".join(parts))
        if "error" in reply:
            raise CtlError(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def call_stream(self, method, timeout=60, **params):
        """A streamed call: returns the list of reply parts (each the
        reply object, "more" on all but the last)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        replies = []
        try:
            s.connect(self.sock)
            req = {"id": 1, "method": method, "params": params,
                   "stream": True}
            s.sendall((json.dumps(req) + "\n").encode())
            f = s.makefile("rb")
            while not replies or replies[-1].get("more"):
                line = f.readline()
                if not line:
                    raise CtlError(0, "connection closed mid-stream")
                replies.append(json.loads(line))
                if "error" in replies[-1]:
                    e = replies[-1]["error"]
                    raise CtlError(e["code"], e["message"])
        finally:
            s.close()
        return replies

    def ofctl(self, *args, check=True, input=None):
        p = subprocess.run([OFCTL, "--socket", self.sock] + list(args),
                           capture_output=True, text=True, timeout=60,
                           input=input)
        if check and p.returncode:
            raise AssertionError(f"sluice-ofctl {args} failed "
                                 f"({p.returncode}): {p.stderr}")
        return p

    # ---- flows ----
    def add_flows(self, *flows, bridge="br0"):
        return self.call("add-flows", bridge=bridge, flows=list(flows))

    def del_flows(self, match=None, strict=False, bridge="br0"):
        params = {"bridge": bridge, "strict": strict}
        if match is not None:
            params["match"] = match
        return self.call("del-flows", **params)

    def dump_flows(self, bridge="br0", match=None):
        params = {"bridge": bridge}
        if match is not None:
            params["match"] = match
        return self.call("dump-flows", **params)

    # ---- dummy ports ----
    def inject(self, port, pkts, bridge="br0"):
        if not isinstance(pkts, (list, tuple)):
            pkts = [pkts]
        hexes = [bytes(p).hex() for p in pkts]
        return self.call("dummy-inject", bridge=bridge, port=port,
                         packets=hexes)["count"]

    def capture(self, port, bridge="br0"):
        r = self.call("dummy-capture", bridge=bridge, port=port)
        return [bytes.fromhex(h) for h in r["packets"]]

    def pmd_packets(self):
        return sum(p["packets"] for p in self.call("pmd-stats"))

    def wait_processed(self, n_total, timeout=10):
        """Waits until the PMDs have processed n_total packets in all."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.pmd_packets() >= n_total:
                # Let the batch finish transmitting.
                time.sleep(0.02)
                return
            time.sleep(0.005)
        raise AssertionError(f"PMDs processed {self.pmd_packets()} packets, "
                             f"expected {n_total}")

    def send(self, port, pkts, bridge="br0"):
        """Injects and waits until processed."""
        before = self.pmd_packets()
        n = self.inject(port, pkts, bridge)
        self.wait_processed(before + n)
        return n

    def capture_all(self, ports, bridge="br0"):
        return {p: self.capture(p, bridge) for p in ports}
