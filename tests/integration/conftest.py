# SPDX-License-Identifier: BSD-3-Clause
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from ovs_oracle import OvsMissing, OvsOracle  # noqa: E402


@pytest.fixture
def ovs():
    """A private Open vSwitch 3.1 bridge with dummy ports 1-3 (skipped
    when Open vSwitch is not installed)."""
    try:
        o = OvsOracle(ports=(1, 2, 3))
    except OvsMissing as e:
        pytest.skip(str(e))
    with o:
        yield o
