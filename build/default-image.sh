#!/usr/bin/env bash
# Builds Rackboot's default image, `rackboot-rescue`, from Debian packages only: the unsigned Debian kernel,
# a handful of NIC and disk modules, and busybox-static as the whole root file system. Packages are fetched
# with `apt-get download` and unpacked with `dpkg -x`; nothing is installed on this machine.
#
# Output in resources/default-image/ (or $1): vmlinuz (the kernel) and rackboot-rescue.tar.gz (the root file
# system, with the drivers under /lib/modules/<version>/), which the image store's rootfs import turns into
# kernel + rootfs.cpio.gz + modules.cpio.gz (electron/core/images/default-image.ts); and build-info.txt.
# Usage: build/default-image.sh [OUT_DIR]     (env RACKBOOT_KERNEL_PACKAGE picks another kernel package)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/resources/default-image}
debs=$out/.debs
mkdir -p "$out" "$debs"
work=$(mktemp -d "${TMPDIR:-/tmp}/rackboot-default-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# NIC and disk drivers the rescue image loads; dependencies are added from each module's depends=.
# virtio_pci is the transport the virtio devices sit on (not a depends= of virtio_net, so listed here).
MODULES=(virtio_pci virtio_net net_failover failover e1000 e1000e virtio_blk ahci nvme)

# The newest versioned generic kernel: linux-image-<abi>-amd64-unsigned (not -cloud, -rt or the signed one,
# whose payload is the same kernel but whose package carries a signature we do not need).
kpkg=${RACKBOOT_KERNEL_PACKAGE:-$(apt-cache pkgnames linux-image- | grep -E '^linux-image-[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64-unsigned$' | sort -V | tail -n 1 || true)}
if [ -z "$kpkg" ]; then
  echo "default-image: no linux-image-<version>-amd64-unsigned package known to apt; run 'apt-get update' (Debian amd64 sources needed)" >&2
  exit 1
fi

fetch() {
  # $1 package; reuses a .deb already in the cache directory.
  local found
  found=$(find "$debs" -maxdepth 1 -name "${1}_*.deb" | sort -V | tail -n 1)
  if [ -z "$found" ]; then
    echo "default-image: downloading $1" >&2
    (cd "$debs" && apt-get download -q "$1" >&2) || {
      echo "default-image: 'apt-get download $1' failed; check network and apt sources" >&2
      exit 1
    }
    found=$(find "$debs" -maxdepth 1 -name "${1}_*.deb" | sort -V | tail -n 1)
  fi
  printf '%s\n' "$found"
}

kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)
dpkg -x "$kdeb" "$work/kernel"
dpkg -x "$bdeb" "$work/busybox"

kver=$(find "$work/kernel/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | head -n 1)
[ -n "$kver" ] || { echo "default-image: $kdeb has no /boot/vmlinuz-*" >&2; exit 1; }
kmods=$work/kernel/lib/modules/$kver

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/udhcpc,proc,sys,dev,run,tmp,root,var/log,lib/modules/"$kver"}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"

# --- modules: find each .ko, read depends= from its .modinfo strings (NUL-separated key=value) ---
module_file() {
  # $1 module name; module names treat - and _ alike.
  local alt=${1//_/-} und=${1//-/_}
  find "$kmods/kernel" \( -name "$und.ko" -o -name "$alt.ko" -o -name "$und.ko.xz" -o -name "$alt.ko.xz" \) | head -n 1
}
module_depends() {
  local f=$1
  if [[ $f == *.xz ]]; then xz -dc "$f"; else cat "$f"; fi | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}
declare -A seen=()
order=()
visit() {
  local m=${1//-/_} f dep
  [ -n "${seen[$m]:-}" ] && return 0
  seen[$m]=1
  f=$(module_file "$1")
  if [ -z "$f" ]; then
    if grep -qE "/${m//_/[-_]}\.ko" "$kmods/modules.builtin"; then return 0; fi
    echo "default-image: module $1 is neither in $kpkg nor built in" >&2
    exit 1
  fi
  for dep in $(module_depends "$f"); do visit "$dep"; done
  order+=("${f#"$kmods"/}")
}
for m in "${MODULES[@]}"; do visit "$m"; done
for rel in "${order[@]}"; do
  mkdir -p "$rootfs/lib/modules/$kver/$(dirname "$rel")"
  if [[ $rel == *.xz ]]; then
    xz -dc "$kmods/$rel" >"$rootfs/lib/modules/$kver/${rel%.xz}"
  else
    cp "$kmods/$rel" "$rootfs/lib/modules/$kver/$rel"
  fi
done
# Load order, dependencies first: the rescue init insmods these (the .deb has no modules.dep).
printf '%s\n' "${order[@]%.xz}" >"$rootfs/lib/modules/$kver/rackboot.order"
cp "$kmods/modules.builtin" "$kmods/modules.order" "$rootfs/lib/modules/$kver/" 2>/dev/null || true

# --- busybox: the binary and one link per applet ---
cp "$work/busybox/bin/busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  [ -e "$rootfs/$applet" ] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -s /bin/busybox "$rootfs/$applet"
done
ln -sf /bin/busybox "$rootfs/sbin/init"

# /init for a node without a system overlay (an unknown MAC booting the default image): the kernel may have
# found no /dev/console in the archive, so give init one. With an overlay, Rackboot's bootstrap replaces this.
cat >"$rootfs/init" <<'EOF'
#!/bin/sh
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
exec /sbin/init
EOF

cat >"$rootfs/etc/inittab" <<'EOF'
# busybox init: bring the node up, then a shell on the console.
::sysinit:/etc/init.d/rcS
::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
EOF

cat >"$rootfs/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# rackboot-rescue: mounts, NIC and disk drivers, DHCP on every NIC, then the marker the tests look for.
# The Rackboot agent, when the system overlay is loaded, was started by /init and reports on its own.
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
mountpoint -q /proc || mount -t proc -o nosuid,noexec,nodev proc /proc
mountpoint -q /sys || mount -t sysfs -o nosuid,noexec,nodev sysfs /sys
mountpoint -q /dev || mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
mountpoint -q /run || mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
[ -s /etc/hostname ] && hostname -F /etc/hostname || hostname rackboot-rescue
echo "rackboot-rescue: kernel $(uname -r)"
mods=/lib/modules/$(uname -r)
if [ -r "$mods/rackboot.order" ]; then
  while read -r ko; do
    insmod "$mods/$ko" 2>/dev/null || true
  done <"$mods/rackboot.order"
else
  echo "rackboot-rescue: no drivers for kernel $(uname -r) (modules initrd missing or for another kernel)"
fi
ip link set lo up
up=0
for dev in /sys/class/net/*; do
  nic=${dev##*/}
  [ "$nic" = lo ] && continue
  ip link set "$nic" up
  # Bounded: 5 discovers 2 s apart, then give up on this NIC.
  if udhcpc -i "$nic" -n -q -t 5 -T 2 -s /etc/udhcpc/default.script >/dev/null 2>&1; then
    up=$((up + 1))
    echo "rackboot-rescue: $nic $(cat "$dev/address") up: $(ip -4 -o addr show dev "$nic" | awk '{print $4}')"
  else
    echo "rackboot-rescue: no DHCP answer on $nic"
  fi
done
[ "$up" -gt 0 ] || echo "rackboot-rescue: WARNING: no network"
echo "RACKBOOT-DEFAULT-IMAGE-UP"
EOF

cat >"$rootfs/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: $interface, $ip, $mask (prefix length), $router, $dns, $domain come from udhcpc.
case $1 in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound | renew)
  ip -4 addr flush dev "$interface"
  ip addr add "$ip/${mask:-24}" dev "$interface"
  for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
  : >/etc/resolv.conf
  [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
  for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
  ;;
esac
exit 0
EOF
chmod 0755 "$rootfs/init" "$rootfs/etc/init.d/rcS" "$rootfs/etc/udhcpc/default.script"
echo rackboot-rescue >"$rootfs/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
printf '127.0.0.1 localhost\n' >"$rootfs/etc/hosts"

tmp_tar=$out/.rackboot-rescue.tar.gz.tmp
tar -C "$rootfs" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -czf "$tmp_tar" .
cp "$work/kernel/boot/vmlinuz-$kver" "$out/.vmlinuz.tmp"
mv -f "$out/.vmlinuz.tmp" "$out/vmlinuz"
mv -f "$tmp_tar" "$out/rackboot-rescue.tar.gz"
{
  echo "kernel-package: $(basename "$kdeb")"
  echo "kernel-version: $kver"
  echo "busybox-package: $(basename "$bdeb")"
  echo "modules: ${order[*]%.xz}"
  echo "kernel-args: console=tty0 console=ttyS0,115200"
} >"$out/build-info.txt"
echo "default-image: wrote $out/vmlinuz and $out/rackboot-rescue.tar.gz (kernel $kver, ${#order[@]} modules)" >&2
