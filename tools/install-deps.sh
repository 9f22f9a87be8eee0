#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install every Debian package that sluice's build, tests and demo need.
# Idempotent: packages already present are skipped; safe to run repeatedly.
set -euo pipefail

PKGS=(
    build-essential autoconf automake libtool pkg-config
    libdpdk-dev dpdk dpdk-dev
    libnl-3-dev libnl-route-3-dev
    libjansson-dev libevent-dev libcmocka-dev
    python3 python3-scapy python3-pytest tcpdump iproute2 procps iputils-ping
    ethtool tshark
    qemu-system-x86 xz-utils zstd
    openvswitch-switch openvswitch-testcontroller python3-os-ken
    clang libclang-rt-dev
    prometheus chromium
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# openvswitch-switch is the reference switch of tests/integration/
# test_ct_diff.py, which starts its own private instance; RUNLEVEL=1 keeps
# the package scripts from starting the system service (and prometheus's:
# only its promtool is used, by tests/integration/test_http.py, which also
# renders the dashboard in headless chromium).  openvswitch-testcontroller
# and python3-os-ken (osken-manager) are the controllers of
# tests/integration/test_openflow.py, started there as private processes;
# the testcontroller's system service stays off the same way.
export RUNLEVEL=1
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
