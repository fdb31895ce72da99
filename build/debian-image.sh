#!/usr/bin/env bash
# Builds `debian-systemd`, a real Debian bookworm root file system with systemd as /sbin/init, for the end-to-end
# tests (a node boots it through Rackboot's DHCP/TFTP/HTTP, the agent reports, the runtime overlay reaches it).
# mmdebstrap from the Debian archive (variant minbase plus what systemd and the agent need); the kernel and its
# NIC/disk modules are the default image's (resources/default-image, built by build/default-image.sh, which
# this script runs when they are missing), with a modules.dep from depmod so udev loads the drivers.
#
# Output in .cache/debian-image/ (or $1; gitignored, reused while present):
#   vmlinuz                     the kernel (the default image's)
#   debian-systemd.tar.gz       the root file system, /lib/modules/<version>/ included, no /dev nodes
#   build-info.txt              suite, packages, kernel version, kernel arguments, build seconds
#   .debs/                      the downloaded packages, reused by the next build
# Import: rackboot images import debian-systemd --rootfs OUT/debian-systemd.tar.gz --kernel OUT/vmlinuz \
#           --args "console=tty0 console=ttyS0,115200"
# Usage: build/debian-image.sh [OUT_DIR]   (env RACKBOOT_DEBIAN_SUITE, default bookworm; RACKBOOT_DEBIAN_MIRROR)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/debian-image}
suite=${RACKBOOT_DEBIAN_SUITE:-bookworm}
mirror=${RACKBOOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debs=$out/.debs
started=$(date +%s)

if [ "$(id -u)" -ne 0 ]; then
  echo "debian-image: run as root (mmdebstrap's root mode keeps file owners and setuid bits exact)" >&2
  exit 1
fi
command -v mmdebstrap >/dev/null || {
  echo "debian-image: mmdebstrap is not installed (apt-get install mmdebstrap, or bash .ci/install)" >&2
  exit 1
}

default=$root/resources/default-image
if [ ! -s "$default/vmlinuz" ] || [ ! -s "$default/rackboot-rescue.tar.gz" ]; then
  echo "debian-image: the default image's kernel is missing; building it first" >&2
  bash "$root/build/default-image.sh"
fi
kver=$(sed -n 's/^kernel-version: //p' "$default/build-info.txt")
[ -n "$kver" ] || { echo "debian-image: no kernel-version in $default/build-info.txt; rebuild the default image" >&2; exit 1; }

mkdir -p "$out" "$debs"
work=$(mktemp -d "${TMPDIR:-/tmp}/rackboot-debian-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

# What the node runs: systemd (init, udev, networkd for the overlay's 10-rackboot.network), kmod (udev loads
# the NIC driver by modalias), and the agent's tools beyond minbase: wget (reports), cpio (runtime overlay),
# netcat-openbsd (the runtime fetch from privileged source port 987; busybox nc cannot bind one), iproute2.
# No ifupdown: udev renames the NIC (ens3) after /init ran, so its interfaces file could not name it; networkd
# matches the overlay's 10-rackboot.network by MAC instead.
# usr-is-merged: mmdebstrap already merged /usr; apt still picks usrmerge for init-system-helpers while
# installing the required set, so a hook below purges it and the 35 MB of perl it brought (perl-base stays).
packages=systemd,systemd-sysv,udev,kmod,wget,cpio,netcat-openbsd,iproute2,procps,usr-is-merged
# Documentation, manuals and translations are dead weight in a RAM root file system.
excludes=(
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)

echo "debian-image: mmdebstrap $suite (minbase + $packages)" >&2
# Hooks are shell snippets mmdebstrap runs with the chroot as $1: single quotes are meant.
# shellcheck disable=SC2016
mmdebstrap --mode=root --variant=minbase --include="$packages" "${excludes[@]}" \
  --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in '$debs' /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives '$debs'" \
  --customize-hook='chroot "$1" apt-get purge -qq -y usrmerge perl perl-modules-5.36 libperl5.36 libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl libgdbm-compat4 >/dev/null' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
  --customize-hook='chroot "$1" systemctl mask systemd-networkd-wait-online.service systemd-firstboot.service e2scrub_reap.service' \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
  "$suite" "$rootfs" "$mirror"

# The default image's kernel modules, with modules.dep and modalias maps made by the image's own depmod.
mkdir -p "$rootfs/lib/modules"
tar -xzf "$default/rackboot-rescue.tar.gz" -C "$work" "./lib/modules/$kver"
cp -a "$work/lib/modules/$kver" "$rootfs/lib/modules/"
rm -f "$rootfs/lib/modules/$kver/rackboot.order"
chroot "$rootfs" depmod -a "$kver"

# Identity comes from the system overlay (/etc/hostname, /etc/hosts); machine-id is made at each boot (an
# empty file: systemd generates a transient one and does not treat the boot as a first boot).
echo debian-systemd >"$rootfs/etc/hostname"
: >"$rootfs/etc/machine-id"
# No password: the serial console is a root shell for debugging in the lab; real deployments add SSH keys.
chroot "$rootfs" passwd -d root >/dev/null

tmp_tar=$out/.debian-systemd.tar.gz.tmp
# Device nodes stay out: the image import refuses them, and the bootstrap mounts devtmpfs on /dev.
tar -C "$rootfs" --numeric-owner --sort=name --mtime=@0 --exclude='./dev/*' --exclude='./proc/*' \
  --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' -czf "$tmp_tar" .
cp "$default/vmlinuz" "$out/.vmlinuz.tmp"
mv -f "$out/.vmlinuz.tmp" "$out/vmlinuz"
mv -f "$tmp_tar" "$out/debian-systemd.tar.gz"
seconds=$(($(date +%s) - started))
{
  echo "suite: $suite"
  echo "mirror: $mirror"
  echo "variant: minbase"
  echo "packages: $packages"
  echo "kernel-version: $kver (from resources/default-image)"
  echo "kernel-args: console=tty0 console=ttyS0,115200"
  echo "rootfs-bytes: $(du -sb "$rootfs" | cut -f 1)"
  echo "build-seconds: $seconds"
} >"$out/build-info.txt"
echo "debian-image: wrote $out/debian-systemd.tar.gz ($(du -h "$out/debian-systemd.tar.gz" | cut -f 1)) and $out/vmlinuz in ${seconds} s" >&2
