#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up and runs sluice on its embedded default configuration (no NIC, no
# hugepages: DPDK with --no-huge, bridge br0 with dummy ports), sends
# traffic between two hosts through it for a few seconds with sluice-ofctl,
# and shows the counters moving.  Usage: tools/demo.sh [SECONDS] [--keep]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=10
keep=0
for a in "$@"; do
    case "$a" in
        --keep) keep=1 ;;
        [0-9]*) secs=$a ;;
        *) echo "usage: $0 [SECONDS] [--keep]" >&2; exit 2 ;;
    esac
done

bash tools/install-deps.sh
if [ ! -f build/Makefile ]; then
    [ -x configure ] || autoreconf -fi >/dev/null
    mkdir -p build
    (cd build && ../configure -q)
fi
make -C build -j2 >/dev/null
SLUICED=build/datapath/sluiced
OFCTL="build/ofctl/sluice-ofctl"
export SLUICE_SOCKET=/run/sluice/sluiced.sock

echo "== embedded default config (sluiced --print-default):"
$SLUICED --print-default
log=$(mktemp /tmp/sluiced-demo.XXXXXX.log)
$SLUICED >"$log" 2>&1 &
pid=$!
cleanup() {
    if [ $keep -eq 0 ] && kill -0 $pid 2>/dev/null; then
        kill -TERM $pid
        for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
        if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fi
    fi
    return 0
}
trap cleanup EXIT
for _ in $(seq 100); do
    $OFCTL show br0 >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
done
cat "$log"
echo "== sluice-ofctl show br0"
$OFCTL show br0

# Two hosts: A behind d1, B behind d2.  Frames built with scapy.
read -r A2B B2A BCAST < <(/usr/bin/python3 - <<'PY'
from scapy.all import Ether, IP, UDP, Raw
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
a2b = Ether(src=A, dst=B)/IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=1000, dport=2000)/Raw(b"x"*18)
b2a = Ether(src=B, dst=A)/IP(src="10.0.0.2", dst="10.0.0.1")/UDP(sport=2000, dport=1000)/Raw(b"y"*18)
bc = Ether(src=A, dst="ff:ff:ff:ff:ff:ff")/IP(src="10.0.0.1", dst="10.0.0.255")/UDP(sport=1, dport=2)/Raw(b"z"*18)
print(bytes(a2b).hex(), bytes(b2a).hex(), bytes(bc).hex())
PY
)
burst() { local h=$1 n=$2; printf "$h %.0s" $(seq "$n"); }

echo "== NORMAL: A broadcasts from d1, B answers from d2, then unicast both ways"
$OFCTL inject br0 d1 "$BCAST" >/dev/null
$OFCTL inject br0 d2 "$B2A" >/dev/null
end=$((SECONDS + secs))
while [ $SECONDS -lt $end ]; do
    for _ in 1 2 3 4 5; do
        # shellcheck disable=SC2046
        $OFCTL inject br0 d1 $(burst "$A2B" 64) >/dev/null
        # shellcheck disable=SC2046
        $OFCTL inject br0 d2 $(burst "$B2A" 64) >/dev/null
        $OFCTL capture br0 d1 >/dev/null
        $OFCTL capture br0 d2 >/dev/null
        sleep 0.2
    done
    echo "-- $(date +%T)"
    $OFCTL dump-ports br0
done
echo "== dump-flows br0"
$OFCTL dump-flows br0
echo "== program a flow: UDP to port 2000 from d1 gets its TOS rewritten"
$OFCTL add-flow br0 "priority=100,udp,in_port=1,tp_dst=2000,actions=mod_nw_tos:32,output:2"
# shellcheck disable=SC2046
$OFCTL inject br0 d1 $(burst "$A2B" 10) >/dev/null
sleep 0.3
$OFCTL dump-flows br0
echo "== dump-megaflows"
$OFCTL dump-megaflows
echo "== pmd-stats"
$OFCTL pmd-stats
if [ $keep -eq 1 ]; then
    echo "sluiced keeps running (pid $pid); stop it with: kill $pid"
fi
exit 0
