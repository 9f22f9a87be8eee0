#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs the integration tests (tests/integration/test_*.py) with pytest
# against the binaries of this build tree.  Called by `make check`.
set -euo pipefail
srcdir=$(cd "$(dirname "$0")" && pwd)
export SLUICE_BUILDDIR=${SLUICE_BUILDDIR:-$(pwd)}
PY=/usr/bin/python3       # Debian's python3 has scapy and pytest.
if ! $PY -c 'import pytest, scapy' 2>/dev/null; then
    echo "integration: python3-pytest and python3-scapy are required" \
         "(run tools/install-deps.sh)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "integration: DPDK needs root here; skipping" >&2
    exit 77
fi
cd "$srcdir/integration"
# PYTEST_ARGS may name files or -k expressions; without paths pytest
# collects this directory.
exec timeout 1800 $PY -m pytest -p no:cacheprovider -q ${PYTEST_ARGS:-}
