#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the tiny test guest from Debian packages only: the kernel that
# linux-image-cloud-amd64 depends on and busybox-static, fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` (nothing is installed
# on the host).  Output, in CACHE (default $SLUICE_VM_CACHE or
# /var/tmp/sluice-vm): vmlinuz and initramfs.cpio.gz.  Idempotent.
# Usage: build-guest.sh [CACHE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${SLUICE_VM_CACHE:-/var/tmp/sluice-vm}}
mkdir -p "$cache"
cd "$cache"

if [ -s vmlinuz ] && [ -s initramfs.cpio.gz ] \
        && [ initramfs.cpio.gz -nt "$here/guest-init.sh" ] \
        && [ initramfs.cpio.gz -nt "$here/build-guest.sh" ]; then
    echo "$cache"
    exit 0
fi

kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
       | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$kpkg" ]; then
    echo "build-guest: cannot resolve linux-image-cloud-amd64" \
         "(apt-get update?)" >&2
    exit 1
fi
chmod 777 "$cache"       # apt-get download runs as _apt where it can
if ! ls "$kpkg"_*.deb >/dev/null 2>&1; then
    apt-get download "$kpkg" >&2
fi
if ! ls busybox-static_*.deb >/dev/null 2>&1; then
    apt-get download busybox-static >&2
fi

rm -rf kroot bbroot initroot
dpkg-deb -x "$(ls "$kpkg"_*.deb | head -1)" kroot
dpkg-deb -x "$(ls busybox-static_*.deb | head -1)" bbroot
cp "$(ls kroot/boot/vmlinuz-* | head -1)" vmlinuz

mkdir -p initroot/bin initroot/dev initroot/proc initroot/sys \
         initroot/tmp initroot/lib/modules
cp bbroot/bin/busybox initroot/bin/busybox
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
         virtio_pci failover net_failover virtio_net; do
    f=$(find kroot/lib/modules -name "$m.ko*" | head -1)
    if [ -z "$f" ]; then
        continue            # built into the kernel
    fi
    case "$f" in
        *.ko.xz) xz -dc "$f" > "initroot/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" > "initroot/lib/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "$f" > "initroot/lib/modules/$m.ko" ;;
        *) cp "$f" "initroot/lib/modules/$m.ko" ;;
    esac
done
cp "$here/guest-init.sh" initroot/init
chmod 755 initroot/init initroot/bin/busybox
# Device nodes the kernel needs before devtmpfs is mounted.
mknod -m 600 initroot/dev/console c 5 1
mknod -m 666 initroot/dev/null c 1 3
(cd initroot && find . | ../bbroot/bin/busybox cpio -o -H newc 2>/dev/null) \
    | gzip -1 > initramfs.cpio.gz.tmp
mv initramfs.cpio.gz.tmp initramfs.cpio.gz
rm -rf kroot bbroot initroot
echo "$cache"
