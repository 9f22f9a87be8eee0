#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Overlay demo, two hosts: two sluiced instances, each in a network
# namespace of its own ("host A", "host B"), joined by a veth pair as the
# underlay, with a "VM" namespace behind each, in Open vSwitch's userspace
# tunnelling model:
#
#   VM A 10.20.0.1/24                                   VM B 10.20.0.2/24
#     | tap (MTU 1450)                                    | tap (MTU 1450)
#   host A: sluiced                               host B: sluiced
#     br-int: vm (ofport 1), vx0 (vxlan, VNI 42) ...  the same, remote A
#     br-phy: uplink (net_af_packet on the veth),
#             phy (tap, endpoint 172.31.0.1/24)   ... 172.31.0.2/24
#        `---------------- veth (underlay) -------------'
#
# Each sluiced runs with --no-huge, its own --file-prefix and control
# socket, and one PMD that naps when idle (pmd.idle_sleep_us), both on the
# same CPU.  It pings VM A -> VM B (and back), moves a few MiB over TCP
# from VM A to VM B and compares md5 sums, then shows the tunnel ports'
# counters (sluice-ofctl dump-ports), the tunnels' next hops and the
# megaflows of both hosts.  Everything it creates (daemons, namespaces,
# veths, temporary and DPDK runtime directories) is named after its PID
# and removed on exit, error or Ctrl-C, unless --keep leaves the demo
# running.  Exit status 0 only if the ping and the md5 check succeeded.
# Usage: tools/demo-overlay.sh [--builddir DIR] [--geneve] [--keep]
#        [--mib N]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$top/build
keep=0
tnl=vxlan
mib=4
args="$*"
usage() {
    echo "usage: $0 [--builddir DIR] [--geneve] [--keep] [--mib N]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --builddir) [ $# -ge 2 ] || usage; builddir=$2; shift ;;
        --builddir=*) builddir=${1#--builddir=} ;;
        --keep) keep=1 ;;
        --geneve) tnl=geneve ;;
        --mib) [ $# -ge 2 ] || usage; mib=$2; shift ;;
        -h|--help)
            sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'
            exit 0 ;;
        *) usage ;;
    esac
    shift
done
case "$mib" in ''|*[!0-9]*) usage ;; esac

if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root: it creates network namespaces, a veth" \
         "pair and tap devices (try: sudo bash $0${args:+ $args})" >&2
    exit 1
fi
d=$(cd "$builddir" 2>/dev/null && pwd) \
    || { echo "$0: no build directory $builddir" >&2; exit 1; }
builddir=$d
SLUICED=$builddir/datapath/sluiced
OFCTL=$builddir/ofctl/sluice-ofctl
for b in "$SLUICED" "$OFCTL"; do
    if [ ! -x "$b" ]; then
        echo "$0: $b is missing: build first (make -C $builddir)" >&2
        exit 1
    fi
done
for c in ip ethtool ping timeout; do
    command -v $c >/dev/null \
        || { echo "$0: '$c' is needed and not installed" >&2; exit 1; }
done
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) \
    || { echo "$0: python3 is needed" >&2; exit 1; }

# Names: unique to this run (its PID); interface names stay within 15
# characters.
id=$$
ns_a=slov-hostA-$id ns_b=slov-hostB-$id
ns_va=slov-vmA-$id ns_vb=slov-vmB-$id
veth_a=slovua$id veth_b=slovub$id   # underlay ends (the uplinks)
phy_a=slovpa$id phy_b=slovpb$id     # endpoint taps on br-phy
vm_a=slovva$id vm_b=slovvb$id       # VM taps on br-int
pfx_a=slovA$id pfx_b=slovB$id       # DPDK --file-prefix
ip_a=172.31.0.1 ip_b=172.31.0.2
tport=vx0
[ $tnl = geneve ] && tport=gnv0
# The PMDs (one per daemon) share the last CPU and nap when idle; the
# main threads are on CPU 0.
pmd_cpu=$($PY -c 'import os; print(max(os.sched_getaffinity(0)))')

work=$(mktemp -d /tmp/sluice-demo-overlay.XXXXXX)
sock_a=$work/hostA.sock sock_b=$work/hostB.sock
pid_a='' pid_b=''
helpers=()
demo_done=0

stop_pid() { # pid: SIGTERM, then SIGKILL after 10 s
    local p=$1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "== pid $p ignored SIGTERM for 10 s: SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

write_teardown() {
    cat >"$work/teardown.sh" <<EOF
#!/usr/bin/env bash
# Tears down the overlay demo of pid $id (tools/demo-overlay.sh --keep).
for p in $pid_a $pid_b; do
    grep -qa sluiced /proc/\$p/cmdline 2>/dev/null || continue
    kill -TERM \$p
    for _ in \$(seq 100); do kill -0 \$p 2>/dev/null || break; sleep 0.1; done
    kill -0 \$p 2>/dev/null && kill -KILL \$p
done
for ns in $ns_va $ns_vb $ns_a $ns_b; do ip netns del \$ns 2>/dev/null; done
ip link del $veth_a 2>/dev/null
rm -rf /var/run/dpdk/$pfx_a /var/run/dpdk/$pfx_b "$work"
echo "overlay demo $id torn down"
EOF
}

cleanup() {
    local rc=$?
    set +e
    trap - INT TERM
    if [ $keep -eq 1 ] && [ $demo_done -eq 1 ]; then
        write_teardown
        cat <<EOF

== left running (--keep):
  host A: sluiced pid $pid_a in netns $ns_a, log $work/hostA.log
  host B: sluiced pid $pid_b in netns $ns_b, log $work/hostB.log
  VMs:    netns $ns_va (10.20.0.1), $ns_vb (10.20.0.2)
Poke at it:
  ip netns exec $ns_va ping 10.20.0.2
  $OFCTL --socket $sock_a dump-ports br-int $tport
  $OFCTL --socket $sock_b dump-megaflows
  $OFCTL --socket $sock_a tnl-neigh-show
  ip netns exec $ns_a ip neigh; ip netns exec $ns_a tcpdump -ni $phy_a
Tear it down:
  bash $work/teardown.sh
EOF
        exit $rc
    fi
    for p in "${helpers[@]}"; do stop_pid "$p"; done
    stop_pid "$pid_a"
    stop_pid "$pid_b"
    for ns in "$ns_va" "$ns_vb" "$ns_a" "$ns_b"; do
        ip netns del "$ns" 2>/dev/null
    done
    # Still in the root namespace if setup stopped before moving it.
    ip link del "$veth_a" 2>/dev/null
    rm -rf "/var/run/dpdk/$pfx_a" "/var/run/dpdk/$pfx_b" "$work"
    [ $demo_done -eq 1 ] || [ $rc -eq 0 ] \
        || echo "== stopped (status $rc); everything removed" >&2
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { ip netns exec "$@"; }

echo "== underlay: namespaces $ns_a and $ns_b, veth $veth_a <-> $veth_b"
for ns in "$ns_a" "$ns_b" "$ns_va" "$ns_vb"; do
    ip netns add "$ns"
    nsx "$ns" ip link set lo up
done
ip link add "$veth_a" type veth peer name "$veth_b"
ip link set "$veth_a" netns "$ns_a"
ip link set "$veth_b" netns "$ns_b"
for x in "$ns_a $veth_a" "$ns_b $veth_b"; do
    set -- $x
    # The uplinks belong to sluice, as a NIC would: the host's kernel
    # must not speak on them.  Else it answers ARP for its tap's address
    # from the veth too (Linux's weak host model), and the other host
    # may send the tunnel to the veth's MAC, where nothing takes it.
    nsx "$1" ip link set "$2" arp off
    nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
    nsx "$1" ip link set "$2" up
    # A veth leaves checksums to the receiver (CHECKSUM_PARTIAL), which
    # net_af_packet cannot tell sluice: the kernel completes them, as a
    # NIC would.
    nsx "$1" ethtool -K "$2" tx off >/dev/null
done

config() { # prefix sock veth phytap local vmtap remote
    cat <<EOF
{
  "dpdk": {"args": ["--no-huge", "-m", "256", "--no-pci",
                    "--file-prefix", "$1", "-l", "0",
                    "--log-level", "*:warning"]},
  "control": {"socket": "$2"},
  "pmd": {"cores": [$pmd_cpu], "idle_sleep_us": 100},
  "state": {"dir": ""},
  "bridges": [
    {"name": "br-phy", "ports": [
      {"name": "uplink", "ofport": 1, "type": "dpdk",
       "devargs": "net_af_packet0,iface=$3"},
      {"name": "phy", "ofport": 2, "type": "tap", "ifname": "$4",
       "addresses": ["$5/24"]}]},
    {"name": "br-int", "ports": [
      {"name": "vm", "ofport": 1, "type": "tap", "ifname": "$6",
       "mtu": 1450},
      {"name": "$tport", "ofport": 10, "type": "$tnl",
       "remote_ip": "$7", "key": 42}]}]
}
EOF
}
config "$pfx_a" "$sock_a" "$veth_a" "$phy_a" $ip_a "$vm_a" $ip_b \
    >"$work/hostA.json"
config "$pfx_b" "$sock_b" "$veth_b" "$phy_b" $ip_b "$vm_b" $ip_a \
    >"$work/hostB.json"

echo "== sluiced in $ns_a (endpoint $ip_a) and $ns_b (endpoint $ip_b)," \
     "$tnl VNI 42, PMDs on CPU $pmd_cpu (idle_sleep_us 100)"
# Not through nsx: a function in the background is a subshell, and its
# pid would not be the daemon's.  "ip netns exec" execs sluiced.
ip netns exec "$ns_a" "$SLUICED" --config "$work/hostA.json" \
    >"$work/hostA.log" 2>&1 &
pid_a=$!
ip netns exec "$ns_b" "$SLUICED" --config "$work/hostB.json" \
    >"$work/hostB.log" 2>&1 &
pid_b=$!

wait_up() { # name pid sock log
    local end=$((SECONDS + 30))
    while [ $SECONDS -lt $end ]; do
        if ! kill -0 "$2" 2>/dev/null; then
            echo "== $1: sluiced exited during start:" >&2
            cat "$4" >&2
            exit 1
        fi
        if [ -S "$3" ] && "$OFCTL" --socket "$3" --timeout 2 show br-int \
                >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "== $1: no control socket after 30 s:" >&2
    cat "$4" >&2
    exit 1
}
wait_up "host A" "$pid_a" "$sock_a" "$work/hostA.log"
wait_up "host B" "$pid_b" "$sock_b" "$work/hostB.log"
echo "   host A: pid $pid_a, socket $sock_a"
echo "   host B: pid $pid_b, socket $sock_b"

ofa() { timeout --foreground 30 "$OFCTL" --socket "$sock_a" "$@"; }
ofb() { timeout --foreground 30 "$OFCTL" --socket "$sock_b" "$@"; }
# Before the VM taps move: from then on sluice's namespace no longer sees
# them, and show lists them as link=down mtu=0 (they forward all the same).
echo "== sluice-ofctl show br-int (host A)"
ofa show br-int

echo "== VMs: tap $vm_a -> $ns_va (10.20.0.1/24)," \
     "tap $vm_b -> $ns_vb (10.20.0.2/24), MTU 1450"
for x in "$ns_a $vm_a $ns_va 10.20.0.1" "$ns_b $vm_b $ns_vb 10.20.0.2"; do
    set -- $x
    nsx "$1" ip link set "$2" netns "$3"
    nsx "$3" ip link set "$2" mtu 1450 up
    nsx "$3" ip addr add "$4/24" dev "$2"
done


ping_ok=0
ping_vm() { # from-ns to-ip: the first packets may go while the tunnel's
            # next hop is being resolved, so a few tries
    local r
    for try in 1 2 3 4 5; do
        if r=$(timeout --foreground 20 ip netns exec "$1" \
                ping -c 3 -i 0.2 -W 2 "$2" 2>&1); then
            echo "$r" | tail -3
            return 0
        fi
        echo "   (try $try: no full answer yet)"
        sleep 0.5
    done
    echo "$r"
    return 1
}
echo "== ping VM A -> VM B (10.20.0.2), across the $tnl tunnel"
if ping_vm "$ns_va" 10.20.0.2; then
    echo "== ping VM B -> VM A (10.20.0.1)"
    ping_vm "$ns_vb" 10.20.0.1 && ping_ok=1
fi

tcp_ok=0
echo "== TCP: $mib MiB of random data VM A -> VM B, md5 checked"
head -c $((mib << 20)) /dev/urandom >"$work/payload"
sent=$(md5sum <"$work/payload" | cut -d' ' -f1)
tmo=$((60 + mib))           # seconds; about 10 MiB/s here
timeout $tmo ip netns exec "$ns_vb" "$PY" -c '
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.20.0.2", 5201))
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(30)
h, n = hashlib.md5(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
c.close()
print(n, h.hexdigest())
' >"$work/server.out" 2>&1 &
srv=$!
helpers+=("$srv")
t0=$(date +%s.%N)
# In the background, so that a signal ends the wait at once.
timeout $tmo ip netns exec "$ns_va" "$PY" -c '
import socket, sys, time
end = time.time() + 15
while True:        # until the server listens
    try:
        s = socket.create_connection(("10.20.0.2", 5201), timeout=30)
        break
    except OSError:
        if time.time() > end:
            raise
        time.sleep(0.2)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
s.recv(1)          # the server closes once it has it all
s.close()
' <"$work/payload" &
cli=$!
helpers+=("$cli")
if wait $cli && wait $srv; then
    t1=$(date +%s.%N)
    read -r n got <"$work/server.out" || true
    echo "   sent $((mib << 20)) bytes md5 $sent"
    echo "   got  ${n:-?} bytes md5 ${got:-?}" \
         "($(awk -v b=$((mib << 20)) -v t0="$t0" -v t1="$t1" \
             'BEGIN { printf "%.1f s, %.0f Mbit/s", t1 - t0,
                      b * 8 / (t1 - t0) / 1e6 }'))"
    if [ "${n:-}" = $((mib << 20)) ] && [ "${got:-}" = "$sent" ]; then
        tcp_ok=1
        echo "   md5 OK"
    else
        echo "   md5 MISMATCH"
    fi
else
    echo "   transfer failed:"
    cat "$work/server.out"
fi

for h in A B; do
    of=ofa; [ $h = B ] && of=ofb
    echo "== host $h: sluice-ofctl dump-ports br-int $tport"
    $of dump-ports br-int $tport || true
    echo "== host $h: sluice-ofctl dump-ports br-phy uplink"
    $of dump-ports br-phy uplink || true
done
for h in A B; do
    of=ofa; [ $h = B ] && of=ofb
    echo "== host $h: the tunnel's next hop (sluice-ofctl tnl-neigh-show)"
    $of tnl-neigh-show 2>/dev/null || $of call tnl-neigh-show || true
done
for h in A B; do
    of=ofa; [ $h = B ] && of=ofb
    echo "== host $h: sluice-ofctl dump-megaflows"
    $of dump-megaflows || true
done

demo_done=1
if [ $ping_ok -eq 1 ] && [ $tcp_ok -eq 1 ]; then
    echo "== OK: ping and TCP (md5) across sluice's $tnl overlay"
    exit 0
fi
echo "== FAILED: ping ok=$ping_ok, tcp md5 ok=$tcp_ok; logs:"
tail -20 "$work/hostA.log" "$work/hostB.log"
exit 1
