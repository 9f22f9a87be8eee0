# SPDX-License-Identifier: BSD-3-Clause
"""The daemon's log: one "TIME|LEVEL|module: text" line per message, levels
changed at run time over the control socket and with sluice-ofctl."""
import re
import signal

import pytest

from sltest import CtlError, Switch

MODULES = ["main", "config", "state", "bridge", "ctl", "dp", "port",
           "vhost", "offload", "ct", "http", "tunnel", "openflow"]
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|"
                  r"(off|err|warn|info|dbg)\|([a-z]+): ")


def stopped_log(sw):
    """SIGTERM, wait, and the whole log (before stop() removes it)."""
    sw.proc.send_signal(signal.SIGTERM)
    assert sw.proc.wait(15) == 0
    return sw.read_log()


def test_line_format():
    with Switch(ports=[{"name": "d1", "ofport": 1, "type": "dummy"}]) as sw:
        text = stopped_log(sw)
    ours = [l for l in text.splitlines() if LINE.match(l)]
    assert any(re.search(r"\|info\|main: running, 1 PMD thread\(s\)", l)
               for l in ours), text
    assert any(l.endswith("|info|main: stopped") for l in ours), text
    assert any(l.endswith("|info|main: signal 15, shutting down")
               for l in ours), text


def test_log_level_method_and_ofctl():
    with Switch(ports=[{"name": "d1", "ofport": 1, "type": "dummy"}]) as sw:
        r = sw.call("log-level")
        assert r == {"modules": {m: "info" for m in MODULES}}

        r = sw.call("log-level", module="dp", level="dbg")
        assert r["modules"]["dp"] == "dbg"
        assert r["modules"]["main"] == "info"
        r = sw.call("log-level", level="warning")     # Open vSwitch's name.
        assert set(r["modules"].values()) == {"warn"}

        for bad in ({"module": "nosuch", "level": "dbg"},
                    {"level": "loud"}, {"module": "dp"},
                    {"module": 3, "level": "dbg"}, {"lvl": "dbg"}):
            with pytest.raises(CtlError):
                sw.call("log-level", **bad)
        # A refused request changed nothing.
        assert set(sw.call("log-level")["modules"].values()) == {"warn"}

        out = sw.ofctl("log-level", "offload", "err").stdout
        assert re.search(r"^offload +err$", out, re.M), out
        assert re.search(r"^dp +warn$", out, re.M), out
        out = sw.ofctl("log-level", "info").stdout
        assert len(out.splitlines()) == len(MODULES)
        assert all(l.split()[1] == "info" for l in out.splitlines()), out
        r = sw.ofctl("log-level", "nosuch", "dbg", check=False)
        assert r.returncode != 0 and "nosuch" in r.stderr, r

        # Off silences a module: the stop message is not written.
        sw.ofctl("log-level", "main", "off")
        text = stopped_log(sw)
        assert "main: stopped" not in text and "|info|" in text, text
