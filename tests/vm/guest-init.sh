#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
# /init of the sluice test guest: brings up eth0 from kernel command-line
# parameters (sl_ip, sl_peer, sl_role=server|client, sl_mib), pings the
# peer, moves sl_mib MiB over TCP (client -> server), prints result lines
# ("SLUICE-...") on the serial console and powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /tmp
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
         virtio_pci failover net_failover virtio_net; do
    [ -f "/lib/modules/$m.ko" ] && insmod "/lib/modules/$m.ko" 2>/dev/null
done
sl_ip=; sl_peer=; sl_role=client; sl_mib=4
for w in $(cat /proc/cmdline); do
    case "$w" in
        sl_ip=*) sl_ip=${w#sl_ip=} ;;
        sl_peer=*) sl_peer=${w#sl_peer=} ;;
        sl_role=*) sl_role=${w#sl_role=} ;;
        sl_mib=*) sl_mib=${w#sl_mib=} ;;
    esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
done
ip link set lo up
ip link set eth0 up
ip addr add "$sl_ip/24" dev eth0
echo "SLUICE-UP $sl_ip $(cat /sys/class/net/eth0/address)"

ok=0; i=0
while [ $i -lt 60 ]; do
    if ping -c 1 -W 1 "$sl_peer" >/dev/null 2>&1; then ok=1; break; fi
    i=$((i + 1))
done
if [ $ok = 1 ]; then
    ping -c 5 -i 0.2 -W 2 "$sl_peer" > /tmp/ping 2>&1
    echo "SLUICE-PING ok $(grep -c 'bytes from' /tmp/ping)"
else
    echo "SLUICE-PING fail"
fi

if [ "$sl_role" = server ]; then
    printf '#!/bin/sh\ncat > /tmp/recv\n' > /tmp/recv.sh
    chmod +x /tmp/recv.sh
    timeout 60 nc -l -p 5001 -e /tmp/recv.sh
    echo "SLUICE-TCP recv $(wc -c < /tmp/recv) $(md5sum < /tmp/recv | cut -d' ' -f1)"
else
    dd if=/dev/urandom of=/tmp/data bs=64k count=$((sl_mib * 16)) 2>/dev/null
    echo "SLUICE-TCP sent $(wc -c < /tmp/data) $(md5sum < /tmp/data | cut -d' ' -f1)"
    i=0
    while [ $i -lt 40 ]; do
        if timeout 60 nc -w 2 "$sl_peer" 5001 < /tmp/data; then break; fi
        sleep 0.5; i=$((i + 1))
    done
fi
echo "SLUICE-DONE"
sleep 1
poweroff -f
