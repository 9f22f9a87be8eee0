#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Quick start with two VMs: runs sluiced on its embedded default config (no
# hugepages), adds two vhost-user ports to br0 with sluice-ofctl add-port,
# and attaches two guests: real QEMU guests (a Debian kernel + busybox,
# built by tests/vm/build-guest.sh) that ping each other and move 8 MiB
# over TCP, or, where QEMU cannot run, two dpdk-testpmd processes with
# net_virtio_user ports as stand-ins that send traffic both ways.  Shows
# the counters while it runs.
# Usage: tools/demo-vms.sh [--standins] [--keep] [SECONDS (stand-ins, 10)]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=10
keep=0
mode=auto
for a in "$@"; do
    case "$a" in
        --keep) keep=1 ;;
        --standins) mode=standins ;;
        [0-9]*) secs=$a ;;
        *) echo "usage: $0 [--standins] [--keep] [SECONDS]" >&2; exit 2 ;;
    esac
done

bash tools/install-deps.sh
bdir=build
if [ -f Makefile ] && [ ! -f build/Makefile ]; then
    bdir=.                  # configured in the source tree
elif [ ! -f build/Makefile ]; then
    [ -x configure ] || autoreconf -fi >/dev/null
    mkdir -p build
    (cd build && ../configure -q)
fi
make -C $bdir -j2 >/dev/null
SLUICED=$bdir/datapath/sluiced
OFCTL=$bdir/ofctl/sluice-ofctl
export SLUICE_SOCKET=/run/sluice/sluiced.sock

if [ $mode = auto ]; then
    if command -v qemu-system-x86_64 >/dev/null \
            && qemu-system-x86_64 -accel help 2>/dev/null | grep -q tcg; then
        mode=vms
    else
        echo "== QEMU cannot run here: using dpdk-testpmd stand-ins"
        mode=standins
    fi
fi

work=$(mktemp -d /tmp/sluice-demo-vms.XXXXXX)
pids=()
cleanup() {
    local rc=$?
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        p=${pids[$i]}
        if [ $keep -eq 1 ] && [ "$p" = "${slpid:-}" ]; then
            continue
        fi
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    if [ $keep -eq 1 ]; then
        echo "== left running: sluiced pid ${slpid:-?}, files in $work"
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT

echo "== sluiced on the embedded default config"
$SLUICED >"$work/sluiced.log" 2>&1 &
slpid=$!
pids+=($slpid)
for _ in $(seq 100); do
    $OFCTL show br0 >/dev/null 2>&1 && break
    kill -0 $slpid 2>/dev/null || { cat "$work/sluiced.log"; exit 1; }
    sleep 0.1
done

# sluice listens on both sockets (vhostuser); the guests connect.
echo "== sluice-ofctl add-port br0 vm1 vhostuser path=$work/vm1.sock ofport=11"
$OFCTL add-port br0 vm1 vhostuser "path=$work/vm1.sock" ofport=11
echo "== sluice-ofctl add-port br0 vm2 vhostuser path=$work/vm2.sock ofport=12"
$OFCTL add-port br0 vm2 vhostuser "path=$work/vm2.sock" ofport=12
$OFCTL show br0

counters() {
    echo "-- $(date +%T)"
    $OFCTL dump-ports br0 | grep -A1 -E "port +1[12]:" || true
}

if [ $mode = vms ]; then
    echo "== building the guest (Debian cloud kernel + busybox, apt-get download)"
    cache=$(bash tests/vm/build-guest.sh)
    accel=(-accel tcg -cpu max)
    if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
        accel=(-accel kvm -cpu host)
    fi
    boot() { # name sock mac ip peer role
        timeout 120 qemu-system-x86_64 "${accel[@]}" -m 256M -smp 1 \
            -nodefaults -display none -no-reboot \
            -object memory-backend-memfd,id=mem,size=256M,share=on \
            -numa node,memdev=mem \
            -chardev "socket,id=chr0,path=$2" \
            -netdev type=vhost-user,id=net0,chardev=chr0 \
            -device "virtio-net-pci,netdev=net0,mac=$3,vectors=0" \
            -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" \
            -append "console=ttyS0 panic=-1 quiet sl_ip=$4 sl_peer=$5 sl_role=$6 sl_mib=8" \
            -serial "file:$work/$1.log" >"$work/$1-qemu.log" 2>&1 &
        pids+=($!)
    }
    echo "== booting vm1 (10.77.0.1) and vm2 (10.77.0.2) with ${accel[*]}"
    boot vm1 "$work/vm1.sock" 52:54:00:77:00:01 10.77.0.1 10.77.0.2 server
    boot vm2 "$work/vm2.sock" 52:54:00:77:00:02 10.77.0.2 10.77.0.1 client
    end=$((SECONDS + 110))
    while [ $SECONDS -lt $end ]; do
        sleep 2
        counters
        if grep -q SLUICE-DONE "$work/vm1.log" 2>/dev/null \
                && grep -q SLUICE-DONE "$work/vm2.log" 2>/dev/null; then
            break
        fi
    done
    echo "== vm1 console:"; grep SLUICE "$work/vm1.log" || true
    echo "== vm2 console:"; grep SLUICE "$work/vm2.log" || true
    sum1=$(awk '/SLUICE-TCP recv/ { print $3, $4 }' "$work/vm1.log")
    sum2=$(awk '/SLUICE-TCP sent/ { print $3, $4 }' "$work/vm2.log")
    if [ -n "$sum1" ] && [ "$sum1" = "$sum2" ]; then
        echo "== OK: vm2 sent and vm1 received the same $sum1 (bytes md5)"
    else
        echo "== FAILED: sent '$sum2', received '$sum1'"
        exit 1
    fi
else
    command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd missing"; exit 1; }
    cpu=$(cut -d, -f1 <<<"$(cut -d- -f1 /sys/devices/system/cpu/online)")
    standin() { # name sock mac peer mode
        mkfifo "$work/$1.in"
        timeout $((secs + 60)) dpdk-testpmd --no-huge -m 512 \
            --single-file-segments --file-prefix "demo$1$$" --no-pci \
            --lcores "0@$cpu,1@$cpu" --log-level '*:notice' \
            --vdev "net_virtio_user0,path=$2,queues=1,mac=$3" -- \
            -i --total-num-mbufs 16384 "--eth-peer=0,$4" \
            <"$work/$1.in" >"$work/$1.log" 2>&1 &
        pids+=($!)
    }
    echo "== stand-ins: dpdk-testpmd net_virtio_user on each socket (flowgen both ways)"
    standin vm1 "$work/vm1.sock" 02:00:00:77:00:01 02:00:00:77:00:02
    standin vm2 "$work/vm2.sock" 02:00:00:77:00:02 02:00:00:77:00:01
    exec 3>"$work/vm1.in" 4>"$work/vm2.in"
    sleep 3
    $OFCTL show br0
    for fd in 3 4; do
        echo "set fwd flowgen" >&$fd
        echo "start" >&$fd
    done
    end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        sleep 2
        counters
    done
    for fd in 3 4; do echo "stop" >&$fd; echo "quit" >&$fd; done
    exec 3>&- 4>&-
    sleep 2
    echo "== stand-in vm1 (testpmd) forward stats:"
    grep -E "RX-packets|TX-packets" "$work/vm1.log" | tail -2 || true
fi
echo "== sluice-ofctl dump-ports br0"
$OFCTL dump-ports br0
echo "== sluice-ofctl dump-flows br0"
$OFCTL dump-flows br0
