#!/usr/bin/env bash
# Prepares the real-kernel VM the suite boots where this machine's kernel
# lacks what a test needs (autofs, the NFS client): Debian's own kernel,
# the one linux-image-amd64 depends on, unpacked with its modules (never
# installed: no initramfs-tools run, nothing in /boot), and a small
# initramfs (busybox, and the modules that mount the host's root over
# virtio-9p). Kept in $EFS_HOME_VM_DIR (default /var/cache/efs-home-test/vm)
# by kernel version: quick when done. Prints the directory it made.
#
# test/fixtures/vm.ts boots it with qemu-system-x86_64; without it (no
# package to download, another architecture), those tests are skipped with
# the reason.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${EFS_HOME_VM_DIR:-/var/cache/efs-home-test/vm}

arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || { echo "the VM is amd64 only (this machine is $arch)" >&2; exit 3; }
# linux-image-amd64 -> linux-image-6.1.0-NN-amd64: the kernel a Debian 12 host runs.
image=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
if [ -z "$image" ]; then
  apt-get update -qq
  image=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
fi
[ -n "$image" ] || { echo "no Debian kernel package (apt-cache depends linux-image-amd64 names none)" >&2; exit 3; }
kver=${image#linux-image-}
dir=$cache/$kver
if [ -f "$dir/ready" ] && [ "$dir/ready" -nt "$here/init" ]; then
  echo "$dir"
  exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$image" 2>/dev/null) || { echo "cannot download $image" >&2; exit 3; }
dpkg-deb -x "$work"/"$image"_*.deb "$dir/root"
depmod -b "$dir/root" "$kver"
cp "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinuz"

# The initramfs: busybox, our init, and the modules (with what they need, in
# order) for virtio-pci, 9p over virtio, and overlayfs.
initrd=$work/initrd
mkdir -p "$initrd"/bin "$initrd"/dev "$initrd"/proc "$initrd"/sys "$initrd"/lower "$initrd"/upper "$initrd"/newroot "$initrd"/modules
cp /bin/busybox "$initrd/bin/busybox"
cp "$here/init" "$initrd/init"
chmod 755 "$initrd/init"
for module in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -d "$dir/root" -S "$kver" --show-depends "$module" | sed -n 's/^insmod \([^ ]*\).*/\1/p'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$initrd/modules/"
  basename "$ko" >>"$initrd/modules/order"
done
(cd "$initrd" && find . | busybox cpio -o -H newc | gzip -1) >"$dir/initrd.gz"
echo "$kver" >"$dir/ready"
echo "$dir"
