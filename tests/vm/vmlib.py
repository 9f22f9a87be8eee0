# SPDX-License-Identifier: BSD-3-Clause
"""vmlib: boot the tiny test guest (tests/vm/build-guest.sh) under QEMU,
attached to a vhost-user socket, and read its result lines.

Facts this relies on (docs/VM-TESTING.md): KVM only where the
CPU has vmx/svm, TCG otherwise; `vectors=0` on virtio-net-pci (QEMU 7.2
under TCG crashes with MSI-X on vhost-user); guest RAM must be a shared
memfd backend; a `vhostuser` port's socket is created by the switch (QEMU
connects), for `vhostuserclient` QEMU listens (server=on,wait=off).
"""
import os
import re
import shutil
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = shutil.which("qemu-system-x86_64")
CACHE = os.environ.get("SLUICE_VM_CACHE", "/var/tmp/sluice-vm")


def kvm_usable():
    """True only where hardware virtualisation really exists."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return (bool(re.search(r"\b(vmx|svm)\b", flags))
            and os.access("/dev/kvm", os.R_OK | os.W_OK))


def why_no_qemu():
    """None if QEMU can run guests here, else the reason."""
    if QEMU is None:
        return "qemu-system-x86_64 not installed (apt-get install " \
               "qemu-system-x86)"
    try:
        p = subprocess.run([QEMU, "-accel", "help"], capture_output=True,
                           text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"qemu-system-x86_64 does not run: {e}"
    if "tcg" not in p.stdout and not kvm_usable():
        return "QEMU has neither TCG nor usable KVM"
    return None


def build_guest(cache=CACHE):
    """Returns (kernel, initrd), building them once into 'cache'."""
    p = subprocess.run(["bash", os.path.join(HERE, "build-guest.sh"), cache],
                       capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise RuntimeError("build-guest.sh failed:\n" + p.stderr)
    return (os.path.join(cache, "vmlinuz"),
            os.path.join(cache, "initramfs.cpio.gz"))


class Vm:
    """One QEMU guest on a vhost-user socket."""

    def __init__(self, workdir, name, kernel, initrd, sock, qemu_server,
                 mac, ip, peer, role, mib=4, mem_mb=256, timeout=110):
        self.name = name
        self.serial = os.path.join(workdir, f"{name}-serial.log")
        self.log_path = os.path.join(workdir, f"{name}-qemu.log")
        chardev = f"socket,id=chr0,path={sock}"
        if qemu_server:
            chardev += ",server=on,wait=off"
        accel = ["-accel", "kvm", "-cpu", "host"] if kvm_usable() \
            else ["-accel", "tcg", "-cpu", "max"]
        append = (f"console=ttyS0 panic=-1 quiet sl_ip={ip} sl_peer={peer} "
                  f"sl_role={role} sl_mib={mib}")
        self.cmd = (["timeout", str(timeout), QEMU] + accel + [
            "-m", f"{mem_mb}M", "-smp", "1", "-nodefaults",
            "-display", "none", "-no-reboot",
            "-object", f"memory-backend-memfd,id=mem,size={mem_mb}M,"
                       "share=on",
            "-numa", "node,memdev=mem",
            "-chardev", chardev,
            "-netdev", "type=vhost-user,id=net0,chardev=chr0",
            "-device", f"virtio-net-pci,netdev=net0,mac={mac},vectors=0",
            "-kernel", kernel, "-initrd", initrd, "-append", append,
            "-serial", f"file:{self.serial}"])
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def serial_text(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def qemu_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def done(self):
        return "SLUICE-DONE" in self.serial_text() or \
            (self.proc is not None and self.proc.poll() is not None)

    def results(self):
        """{'up': ..., 'ping': ..., 'tcp': (kind, nbytes, md5)}"""
        out = {}
        for line in self.serial_text().splitlines():
            line = line.strip()
            m = re.match(r"SLUICE-PING (\w+)(?: (\d+))?", line)
            if m:
                out["ping"] = (m.group(1), int(m.group(2) or 0))
            m = re.match(r"SLUICE-TCP (\w+) (\d+) ([0-9a-f]+)", line)
            if m:
                out["tcp"] = (m.group(1), int(m.group(2)), m.group(3))
            if line.startswith("SLUICE-UP"):
                out["up"] = line
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


def wait_all_done(vms, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(vm.done() for vm in vms):
            return True
        time.sleep(0.2)
    return False
