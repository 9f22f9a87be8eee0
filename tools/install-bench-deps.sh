#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install what tools/bench needs on top of tools/install-deps.sh: Open vSwitch
# 3.1 with DPDK, dpdk-testpmd and Debian's scapy. Idempotent. Never starts the
# openvswitch-switch service: the bench starts its own private instance.
set -euo pipefail

PKGS=(
    openvswitch-switch-dpdk openvswitch-common dpdk python3-scapy procps
    util-linux
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-bench-deps: all packages present"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    echo "install-bench-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Package scripts would start the system openvswitch-switch service;
    # RUNLEVEL=1 makes invoke-rc.d skip it where no policy-rc.d exists.
    export RUNLEVEL=1
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The system service must not run during a benchmark: it would poll on our
# cores. Stop it if a package script started it anyway (it has its own pid
# files, so this only touches the system instance).
if [ -x /usr/share/openvswitch/scripts/ovs-ctl ] \
        && [ -e /var/run/openvswitch/ovs-vswitchd.pid ]; then
    /usr/share/openvswitch/scripts/ovs-ctl stop || true
fi

# Debian ships two vswitchd builds behind alternatives; the bench calls the
# DPDK one by path, so the system default is left as it is.
test -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
test -x /usr/bin/dpdk-testpmd
echo "install-bench-deps: ok"
