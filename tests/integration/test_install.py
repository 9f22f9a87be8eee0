# SPDX-License-Identifier: BSD-3-Clause
"""make install for packagers: DESTDIR honoured; the daemon, the client,
their man pages, the systemd unit (with the configured paths) and an
example config land where the directory variables say; --version."""
import os
import re
import shutil
import subprocess

from sltest import TOP_BUILDDIR


def test_make_install_destdir(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    dest = tmp_path / "root"
    p = subprocess.run(["make", "-C", TOP_BUILDDIR, "install",
                        f"DESTDIR={dest}"], capture_output=True, text=True,
                       env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    # The configured prefix (and so sbindir, sysconfdir) from config.status.
    with open(os.path.join(TOP_BUILDDIR, "Makefile")) as f:
        mk = f.read()
    prefix = re.search(r"^prefix = (.*)$", mk, re.M).group(1).strip()
    root = str(dest) + prefix
    sluiced = os.path.join(root, "sbin", "sluiced")
    ofctl = os.path.join(root, "bin", "sluice-ofctl")
    for exe, name in ((sluiced, "sluiced"), (ofctl, "sluice-ofctl")):
        assert os.access(exe, os.X_OK), exe
        v = subprocess.run([exe, "--version"], capture_output=True,
                           text=True, timeout=30)
        assert v.returncode == 0
        assert re.fullmatch(rf"{name} \(sluice\) \d+\.\d+\.\d+\n", v.stdout), \
            v.stdout
    for page in ("sluiced.8", "sluice-ofctl.8"):
        path = os.path.join(root, "share", "man", "man8", page)
        assert os.path.exists(path), path
        if shutil.which("man"):
            r = subprocess.run(["man", "-l", path], capture_output=True,
                               text=True, env=dict(env, MANWIDTH="80"),
                               timeout=60)
            assert r.returncode == 0 and "SYNOPSIS" in r.stdout, r.stderr
            assert "warning" not in r.stderr.lower(), r.stderr
    unit = os.path.join(root, "lib", "systemd", "system", "sluiced.service")
    text = open(unit).read()
    assert f"ExecStart={prefix}/sbin/sluiced --config " \
           f"{prefix}/etc/sluice/sluiced.json" in text, text
    assert "@" not in text.split("[Service]")[1], text
    example = os.path.join(root, "etc", "sluice", "sluiced.json.example")
    c = subprocess.run([sluiced, "--check-config", example],
                       capture_output=True, text=True, timeout=60)
    assert c.returncode == 0, c.stdout + c.stderr
