/**
 * The bootstrap the kernel runs as /init (POSIX sh): mounts, rackboot.* kernel arguments, agent, exec /sbin/init.
 * Generated from a plain .sh while writing it; edit here (a template literal: `\\`, `\${` and `\``
 * are the only escapes). test/unit/overlays-bootstrap.test.ts checks it with `sh -n` and runs it.
 */
export const INIT_SCRIPT = `#!/bin/sh
# Rackboot bootstrap, run by the kernel as /init of the merged initramfs (image + overlays).
# POSIX sh: runs under busybox ash, dash and bash. It mounts the API file systems, applies the
# rackboot.* kernel arguments, starts the agent in the background and execs the image's /sbin/init.
# Every failure prints one line saying what failed and what to do; a missing init drops to a rescue shell.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

say() { echo "rackboot-init: $*"; }
warn() { echo "rackboot-init: WARNING: $*" >&2; }

mounted() { grep -q "^[^ ]* $1 " /proc/mounts 2>/dev/null; }

mount_api() {
	# $1 type, $2 target, $3 options
	[ -d "$2" ] || mkdir -p "$2" || { warn "cannot create $2"; return 1; }
	mounted "$2" && return 0
	mount -t "$1" -o "$3" "$1" "$2" || { warn "mounting $1 on $2 failed; the image may not boot"; return 1; }
}

mount_api proc /proc nosuid,noexec,nodev
mount_api sysfs /sys nosuid,noexec,nodev
mount_api devtmpfs /dev mode=0755,nosuid
mount_api tmpfs /run mode=0755,nosuid,nodev
# Only when the kernel gave us no stdio (no /dev/console in the initramfs at boot).
if [ -c /dev/console ] && ! (: >&1) 2>/dev/null; then exec </dev/console >/dev/console 2>&1; fi

# Settings written by the server into the system overlay (shell assignments, single-quoted).
RACKBOOT_SERVER=
RACKBOOT_MAC=
RACKBOOT_NODE=
RACKBOOT_ASSETKEY=
RACKBOOT_IPV4=
RACKBOOT_PREFIX=
[ -r /etc/rackboot/agent.conf ] && . /etc/rackboot/agent.conf

CMDLINE=
[ -r /proc/cmdline ] && CMDLINE=$(cat /proc/cmdline)
ARG_TMPFS=
ARG_SELINUX=
ARG_INIT=/sbin/init
for arg in $CMDLINE; do
	case $arg in
	rackboot.tmpfs=*) ARG_TMPFS=\${arg#rackboot.tmpfs=} ;;
	rackboot.selinux=*) ARG_SELINUX=\${arg#rackboot.selinux=} ;;
	rackboot.server=*) RACKBOOT_SERVER=\${arg#rackboot.server=} ;;
	rackboot.init=*) ARG_INIT=\${arg#rackboot.init=} ;;
	esac
done

json_escape() { printf '%s' "$1" | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g' | tr -d '\\000-\\037'; }

# Reports a stage to the server; never blocks the boot for more than about 10 s, never fails it.
report() {
	[ -n "$RACKBOOT_SERVER" ] && [ -n "$RACKBOOT_MAC" ] || return 0
	body="{\\"stage\\":\\"$1\\",\\"message\\":\\"$(json_escape "$2")\\"}"
	url="$RACKBOOT_SERVER/agent/$RACKBOOT_MAC"
	[ -n "$RACKBOOT_ASSETKEY" ] && url="$url?assetkey=$RACKBOOT_ASSETKEY"
	# Busybox wget -T crashed on some builds: bound the time with timeout(1) instead.
	if command -v timeout >/dev/null 2>&1; then
		timeout 10 wget -q -O /dev/null --header 'Content-Type: application/json' --post-data "$body" "$url" >/dev/null 2>&1
	else
		wget -q -O /dev/null --header 'Content-Type: application/json' --post-data "$body" "$url" >/dev/null 2>&1
	fi || warn "could not report stage '$1' to $RACKBOOT_SERVER (network not up yet?)"
	return 0
}

say "node \${RACKBOOT_NODE:-unknown} (\${RACKBOOT_MAC:-no MAC}), server \${RACKBOOT_SERVER:-none}"

# rackboot.tmpfs=/tmp:512M,/var/tmp:10% mounts a tmpfs of that size on each path.
if [ -n "$ARG_TMPFS" ]; then
	old_ifs=$IFS
	IFS=,
	for spec in $ARG_TMPFS; do
		IFS=$old_ifs
		path=\${spec%%:*}
		size=\${spec#*:}
		case $path in /*) ;; *) warn "rackboot.tmpfs: '$spec' ignored: the path must be absolute"; continue ;; esac
		case $size in
		"$spec" | '' | *[!0-9kKmMgG%]*) warn "rackboot.tmpfs: '$spec' ignored: write PATH:SIZE, e.g. /tmp:512M"; continue ;;
		esac
		if mkdir -p "$path" && mount -t tmpfs -o "size=$size,mode=1777,nosuid,nodev" tmpfs "$path"; then
			say "tmpfs of $size on $path"
		else
			warn "rackboot.tmpfs: mounting a tmpfs on $path failed"
		fi
	done
	IFS=$old_ifs
fi

# SELinux: only touched when the image ships a config and a policy, and only as the kernel argument says.
if [ -n "$ARG_SELINUX" ]; then
	if [ ! -f /etc/selinux/config ]; then
		warn "rackboot.selinux=$ARG_SELINUX ignored: the image has no /etc/selinux/config"
	else
		se_type=$(sed -n 's/^SELINUXTYPE=//p' /etc/selinux/config | tr -d '"')
		if [ -z "$se_type" ] || [ ! -d "/etc/selinux/$se_type/policy" ]; then
			warn "rackboot.selinux=$ARG_SELINUX ignored: no policy under /etc/selinux/\${se_type:-<SELINUXTYPE unset>}/policy"
		else
			case $ARG_SELINUX in
			permissive | disabled)
				if sed -i "s/^SELINUX=.*/SELINUX=$ARG_SELINUX/" /etc/selinux/config; then
					say "SELinux set to $ARG_SELINUX"
				else
					warn "could not edit /etc/selinux/config"
				fi
				;;
			relabel) : >/.autorelabel && say "SELinux relabel requested (/.autorelabel)" ;;
			*) warn "rackboot.selinux=$ARG_SELINUX ignored: use permissive, disabled or relabel" ;;
			esac
		fi
	fi
fi

# The interface with the node's MAC: named in /etc/network/interfaces (systemd-networkd matches by MAC).
iface=
if [ -n "$RACKBOOT_MAC" ]; then
	for dev in /sys/class/net/*; do
		[ -r "$dev/address" ] && [ "$(cat "$dev/address")" = "$RACKBOOT_MAC" ] && iface=\${dev##*/} && break
	done
fi
if [ -f /etc/network/interfaces ] && grep -q '@RACKBOOT_IFACE@' /etc/network/interfaces; then
	if [ -n "$iface" ]; then
		sed -i "s/@RACKBOOT_IFACE@/$iface/g" /etc/network/interfaces
	else
		warn "no interface has MAC \${RACKBOOT_MAC:-<unset>}; /etc/network/interfaces keeps the placeholder name"
	fi
fi

report init "bootstrap ran; starting \${ARG_INIT}"

if [ -x /usr/sbin/rackboot-agent ]; then
	mkdir -p /run/rackboot
	if command -v setsid >/dev/null 2>&1; then
		setsid /usr/sbin/rackboot-agent </dev/null >/run/rackboot/agent.log 2>&1 &
	else
		/usr/sbin/rackboot-agent </dev/null >/run/rackboot/agent.log 2>&1 &
	fi
	say "agent started (log /run/rackboot/agent.log)"
else
	warn "/usr/sbin/rackboot-agent missing or not executable: the node will not report in"
fi

if [ -f "$ARG_INIT" ] && [ -x "$ARG_INIT" ]; then
	say "exec $ARG_INIT"
	exec "$ARG_INIT"
fi
if [ -e "$ARG_INIT" ]; then
	reason="$ARG_INIT is not an executable file"
else
	reason="$ARG_INIT does not exist in the image (is the image a full root file system with an init?)"
fi
echo "rackboot-init: FAILED: $reason" >&2
echo "rackboot-init: dropping to a rescue shell; fix the image or set rackboot.init=<path>" >&2
# The image's init would have brought the network up; do the minimum so the server hears of the failure.
if [ -n "$iface" ] && [ -n "$RACKBOOT_IPV4" ] && [ -n "$RACKBOOT_PREFIX" ] && command -v ip >/dev/null 2>&1; then
	ip link set "$iface" up && ip addr add "$RACKBOOT_IPV4/$RACKBOOT_PREFIX" dev "$iface" 2>/dev/null
fi
report init-failed "$reason"
exec /bin/sh
`
