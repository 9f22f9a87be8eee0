# SPDX-License-Identifier: BSD-3-Clause
"""ovs_oracle: a private Open vSwitch instance as a reference switch.

Starts Debian's Open vSwitch (ovsdb-server and ovs-vswitchd) as an oracle
for differential tests: the same flows and frames through Open vSwitch's
userspace datapath and through sluice should give the same verdicts.

Isolation (nothing here touches a system-wide Open vSwitch):
  * every instance lives in its own temporary directory: its own conf.db
    (ovsdb-tool create from the installed schema), database socket, unixctl
    sockets, pidfiles, logs and the bridge's OpenFlow management socket;
    OVS_RUNDIR / OVS_DBDIR / OVS_LOGDIR / OVS_SYSCONFDIR point at it for
    every command, and each command is also given its socket explicitly
    (ovs-vsctl --db=unix:DIR/db.sock, ovs-appctl --target=DIR/X.ctl,
    ovs-ofctl unix:DIR/br0.mgmt), so /var/run/openvswitch is never used;
  * ovs-vswitchd runs with --enable-dummy=override --disable-system
    --disable-system-route, like Open vSwitch's own testsuite: the bridge is
    datapath_type=dummy (the userspace datapath, with its userspace
    conntrack) and every port is type=dummy, so no kernel module, no DPDK and
    no real device is involved;
  * both daemons run in the foreground as children of this process (no
    --detach, no --monitor) and are stopped by pid (SIGTERM, then SIGKILL
    after a bounded wait); the directory is removed afterwards, also when
    start-up fails half way.  Every command has a timeout.

Frames go in with `ovs-appctl netdev-dummy/receive pN HEX`.  What leaves a
port is read from the port's tx pcap (options:tx_pcap, flushed per packet by
netdev-dummy); a step is complete once the input port's rx counter (from
ovs-ofctl dump-ports) has counted the frame: dummy ports are polled by
ovs-vswitchd's main thread, which receives, translates (upcalls and
recirculation are inline in dpif-netdev), executes and flushes a batch before
it serves the next request.
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

OVS_BINARIES = {
    "ovsdb-tool": ["/usr/bin/ovsdb-tool"],
    "ovsdb-server": ["/usr/sbin/ovsdb-server"],
    "ovs-vswitchd": ["/usr/sbin/ovs-vswitchd"],
    "ovs-vsctl": ["/usr/bin/ovs-vsctl"],
    "ovs-ofctl": ["/usr/bin/ovs-ofctl"],
    "ovs-appctl": ["/usr/bin/ovs-appctl"],
}
SCHEMA_PATHS = ["/usr/share/openvswitch/vswitch.ovsschema"]
INSTALL_HINT = ("install Debian's openvswitch-switch package "
                "(tools/install-deps.sh lists it)")

CMD_TIMEOUT = 20


class OvsMissing(RuntimeError):
    pass


def _find(name):
    for p in OVS_BINARIES[name]:
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name, path=os.environ.get("PATH", "") +
                     ":/usr/sbin:/sbin")
    if p:
        return p
    raise OvsMissing(f"Open vSwitch's {name} not found: {INSTALL_HINT}")


def find_ovs():
    """Returns {name: path} for every binary and 'schema'; raises OvsMissing
    (with an install hint) when any is missing."""
    paths = {name: _find(name) for name in OVS_BINARIES}
    for s in SCHEMA_PATHS:
        if os.path.exists(s):
            paths["schema"] = s
            break
    else:
        raise OvsMissing("Open vSwitch's vswitch.ovsschema not found: "
                         + INSTALL_HINT)
    return paths


class OvsError(RuntimeError):
    pass


class _PcapReader:
    """Reads the records appended to a pcap file since the last call."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.endian = None

    def read_new(self):
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        if self.endian is None:
            if len(data) < 24:
                return []
            magic = data[:4]
            if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
                self.endian = "<"
            elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
                self.endian = ">"
            else:
                raise OvsError(f"{self.path}: not a pcap file")
            self.offset = 24
        frames = []
        off = self.offset
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(self.endian + "IIII",
                                          data[off:off + 16])
            if off + 16 + incl > len(data):
                break       # a record still being written
            frames.append(data[off + 16:off + 16 + incl])
            off += 16 + incl
        self.offset = off
        return frames


class OvsOracle:
    """One private ovsdb-server + ovs-vswitchd with bridge br0 whose ports
    are dummy ports pN at OpenFlow port N, for N in 'ports'.

    Use as a context manager, or call start() and stop() (stop() is safe to
    call any number of times, and start() cleans up after itself when it
    fails).
    """

    def __init__(self, ports=(1, 2), bridge="br0", start=True):
        self.ports = tuple(ports)
        self.bridge = bridge
        self.bin = find_ovs()
        self.dir = None
        self.procs = {}
        self.pcaps = {}
        self._log_files = []
        if start:
            self.start()

    # ---- process ----
    def _env(self):
        env = dict(os.environ)
        for var in ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR",
                    "OVS_SYSCONFDIR"):
            env[var] = self.dir
        env["OVS_PKGDATADIR"] = os.path.dirname(self.bin["schema"])
        return env

    def _path(self, name):
        return os.path.join(self.dir, name)

    def run(self, tool, *args, input=None, timeout=CMD_TIMEOUT, check=True):
        """Runs one Open vSwitch utility in this instance's environment."""
        argv = [self.bin[tool]] + [str(a) for a in args]
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               input=input, timeout=timeout, env=self._env(),
                               cwd=self.dir)
        except subprocess.TimeoutExpired:
            raise OvsError(f"{' '.join(argv)}: timed out after {timeout}s\n"
                           + self.logs())
        if check and p.returncode:
            raise OvsError(f"{' '.join(argv)}: exit {p.returncode}: "
                           f"{p.stderr.strip()}")
        return p.stdout

    def _spawn(self, name, argv):
        log = open(self._path(name + ".out"), "w")
        self._log_files.append(log)
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self._env(), cwd=self.dir)

    def _wait_for(self, what, cond, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise OvsError(f"{name} exited {p.returncode} while "
                                   f"waiting for {what}\n" + self.logs())
            try:
                if cond():
                    return
            except OvsError:
                pass
            time.sleep(0.05)
        raise OvsError(f"timed out waiting for {what}\n" + self.logs())

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="ovs-oracle-")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    # How ovs-vswitchd runs: prefix (e.g. "ip netns exec NS") and options.
    VSWITCHD_PREFIX = ()
    VSWITCHD_OPTIONS = ("--enable-dummy=override", "--disable-system",
                        "--disable-system-route")

    def _start_daemons(self):
        db = self._path("conf.db")
        self.run("ovsdb-tool", "create", db, self.bin["schema"])
        self._spawn("ovsdb-server", [
            self.bin["ovsdb-server"], db,
            "--remote=punix:" + self._path("db.sock"),
            "--unixctl=" + self._path("ovsdb-server.ctl"),
            "--pidfile=" + self._path("ovsdb-server.pid"),
            "--log-file=" + self._path("ovsdb-server.log"),
            "--no-chdir", "-vconsole:off"])
        self._wait_for("ovsdb-server's socket",
                       lambda: os.path.exists(self._path("db.sock")))
        self.vsctl("--no-wait", "init")
        self._spawn("ovs-vswitchd", list(self.VSWITCHD_PREFIX) + [
            self.bin["ovs-vswitchd"], "unix:" + self._path("db.sock")]
            + list(self.VSWITCHD_OPTIONS) + [
            "--unixctl=" + self._path("ovs-vswitchd.ctl"),
            "--pidfile=" + self._path("ovs-vswitchd.pid"),
            "--log-file=" + self._path("ovs-vswitchd.log"),
            "--no-chdir", "-vconsole:off"])
        self._wait_for("ovs-vswitchd's control socket",
                       lambda: os.path.exists(self._path("ovs-vswitchd.ctl")))

    def _start(self):
        self._start_daemons()
        args = ["add-br", self.bridge, "--", "set", "bridge", self.bridge,
                "datapath_type=dummy", "fail-mode=secure",
                "protocols=OpenFlow10,OpenFlow13"]
        for n in self.ports:
            name = f"p{n}"
            pcap = self._path(f"{name}-tx.pcap")
            args += ["--", "add-port", self.bridge, name,
                     "--", "set", "interface", name, "type=dummy",
                     f"ofport_request={n}", f"options:tx_pcap={pcap}"]
            self.pcaps[n] = _PcapReader(pcap)
        # ovs-vsctl waits until ovs-vswitchd has applied the change.
        self.vsctl(*args)
        for n in self.ports:
            got = self.vsctl("get", "interface", f"p{n}", "ofport").strip()
            if got != str(n):
                raise OvsError(f"p{n} got OpenFlow port {got}")
        self._wait_for("the bridge's OpenFlow socket",
                       lambda: self.port_stats() is not None)

    def stop(self, timeout=10):
        """Stops both daemons by pid and removes the directory."""
        for name in ("ovs-vswitchd", "ovsdb-server"):
            p = self.procs.pop(name, None)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in self._log_files:
            f.close()
        self._log_files = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def logs(self, tail=40):
        out = []
        for name in ("ovs-vswitchd.log", "ovsdb-server.log",
                     "ovs-vswitchd.out", "ovsdb-server.out"):
            try:
                with open(self._path(name)) as f:
                    lines = f.read().splitlines()[-tail:]
            except (OSError, TypeError):
                continue
            out.append(f"--- {name} ---\n" + "\n".join(lines))
        return "\n".join(out)

    # ---- utilities ----
    def vsctl(self, *args):
        return self.run("ovs-vsctl", "--db=unix:" + self._path("db.sock"),
                        f"--timeout={CMD_TIMEOUT}", *args)

    def ofctl(self, *args, input=None):
        return self.run("ovs-ofctl", "-O", "OpenFlow13", *args, input=input)

    def appctl(self, *args):
        return self.run("ovs-appctl", f"--timeout={CMD_TIMEOUT}",
                        "--target=" + self._path("ovs-vswitchd.ctl"), *args)

    @property
    def mgmt(self):
        return "unix:" + self._path(f"{self.bridge}.mgmt")

    # ---- flows ----
    def set_flows(self, flows):
        """Replaces the bridge's whole flow table with 'flows' (ovs-ofctl
        flow syntax, one flow a string)."""
        self.ofctl("del-flows", self.mgmt)
        self.ofctl("add-flows", self.mgmt, "-", input="\n".join(flows) + "\n")

    def dump_flows(self):
        return self.ofctl("dump-flows", self.mgmt)

    # ---- conntrack ----
    def flush_conntrack(self, zone=None):
        args = ["dpctl/flush-conntrack"]
        if zone is not None:
            args.append(f"zone={zone}")
        self.appctl(*args)

    def dump_conntrack(self, zone=None):
        args = ["dpctl/dump-conntrack"]
        if zone is not None:
            args.append(f"zone={zone}")
        return self.appctl(*args)

    # ---- ports ----
    _PORT_RE = re.compile(r"port\s+(\w+):\s+rx pkts=(\d+),.*?\n\s+"
                          r"tx pkts=(\d+),", re.S)

    def port_stats(self):
        """{ofport: (rx_packets, tx_packets)} for the dummy ports, or None
        when the bridge does not answer yet."""
        try:
            out = self.ofctl("dump-ports", self.mgmt)
        except OvsError:
            return None
        stats = {}
        for name, rx, tx in self._PORT_RE.findall(out):
            if name.isdigit():
                stats[int(name)] = (int(rx), int(tx))
        return stats

    def drain(self):
        """{ofport: [frame bytes]}: what each port sent since the last
        call."""
        return {n: self.pcaps[n].read_new() for n in self.ports}

    def send(self, port, frame, timeout=10):
        """Receives 'frame' (bytes, or anything bytes() accepts) on OpenFlow
        port 'port', waits until ovs-vswitchd has processed it and returns
        what every port sent as a result ({ofport: [bytes]})."""
        frame = bytes(frame)
        self.drain()
        base = self.port_stats()
        before = base[port][0]
        self.appctl("netdev-dummy/receive", f"p{port}", frame.hex())
        deadline = time.monotonic() + timeout
        while True:
            stats = self.port_stats()
            if stats and stats[port][0] > before:
                break
            if time.monotonic() > deadline:
                raise OvsError(f"p{port} did not receive the frame within "
                               f"{timeout}s\n" + self.logs())
            time.sleep(0.01)
        # Received and processed in one main-loop iteration; the pcaps are
        # flushed per packet.  Read them until they hold as many frames as
        # the tx counters have counted since the step began.
        out = {n: [] for n in self.ports}
        while True:
            for n, frames in self.drain().items():
                out[n] += frames
            tx = self.port_stats()
            if all(len(out[n]) == tx[n][1] - base[n][1] for n in self.ports):
                break
            if time.monotonic() > deadline:
                raise OvsError("tx pcaps disagree with tx counters\n"
                               + self.logs())
            time.sleep(0.01)
        return out
