# SPDX-License-Identifier: BSD-3-Clause
"""A short soak (tools/soak): traffic while rules are added and deleted
continuously; counters add up, no mbuf leak, RSS flat, forwarding never
stops.  SLUICE_SOAK_SECONDS sets the length (default 20)."""
import importlib.machinery
import importlib.util
import os

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "tools")


def load_soak():
    path = os.path.join(TOOLS, "soak")
    loader = importlib.machinery.SourceFileLoader("sluice_soak", path)
    spec = importlib.util.spec_from_loader("sluice_soak", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_soak_short():
    soak = load_soak()
    secs = float(os.environ.get("SLUICE_SOAK_SECONDS", "20"))
    fig = soak.run(secs)
    print({k: v for k, v in fig.items() if k != "failures"})
    assert not fig["failures"], "\n".join(fig["failures"])
    # The figures the checks rest on are real: traffic and churn happened.
    assert fig["rx"] > 0 and fig["rule_changes"] > 100
    assert fig["pmd_drops"]["action_drop"] > 0      # drop rules were hit
