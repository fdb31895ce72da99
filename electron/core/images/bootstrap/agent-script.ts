/**
 * The node agent installed as /usr/sbin/rackboot-agent (POSIX sh + busybox tools): inventory, heartbeats, runtime.
 * Generated from a plain .sh while writing it; edit here (a template literal: `\\`, `\${` and `\``
 * are the only escapes). test/unit/overlays-bootstrap.test.ts checks it with `sh -n` and runs it.
 */
export const AGENT_SCRIPT = `#!/bin/sh
# Rackboot node agent: POSIX sh and busybox tools, no runtime on the node beyond the image's own.
# Waits (bounded) for the network, reports the node's inventory to POST /agent/<mac>, heartbeats every
# RACKBOOT_HEARTBEAT s (rackboot.heartbeat=) and polls /runtime/<mac> every RACKBOOT_POLL s (rackboot.poll=)
# from a privileged source port (only root on the node can bind one), unpacking a changed runtime overlay
# over the root file system.
# RACKBOOT_EXTRA_PATH goes first (tests put stand-ins there).
PATH=\${RACKBOOT_EXTRA_PATH:+$RACKBOOT_EXTRA_PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

CONF=\${RACKBOOT_AGENT_CONF:-/etc/rackboot/agent.conf}
RACKBOOT_SERVER=
RACKBOOT_MAC=
# shellcheck disable=SC2034 # set by agent.conf; kept so the config's variables are all declared here
RACKBOOT_NODE=
RACKBOOT_ASSETKEY=
if [ -r "$CONF" ]; then
	. "$CONF"
else
	echo "rackboot-agent: $CONF missing: the system overlay was not loaded; exiting" >&2
	exit 1
fi
ROOT=\${RACKBOOT_ROOT:-/}
PROC=\${RACKBOOT_PROC:-/proc}
# rackboot.server=<url> on the kernel command line wins over the config, as it does for /init;
# rackboot.heartbeat=<s> and rackboot.poll=<s> over RACKBOOT_HEARTBEAT / RACKBOOT_POLL (tests poll fast).
ARG_HEARTBEAT=
ARG_POLL=
# shellcheck disable=SC2013 # the command line is one line of space-separated words
for arg in $(cat "$PROC/cmdline" 2>/dev/null); do
	case $arg in
	rackboot.server=*) RACKBOOT_SERVER=\${arg#rackboot.server=} ;;
	rackboot.heartbeat=*) ARG_HEARTBEAT=\${arg#rackboot.heartbeat=} ;;
	rackboot.poll=*) ARG_POLL=\${arg#rackboot.poll=} ;;
	esac
done
STATE=\${RACKBOOT_STATE:-/run/rackboot}
SYS=\${RACKBOOT_SYS:-/sys}
# A whole number of seconds, at least 1, else the default ($2) with a note saying why.
seconds() {
	case $1 in
	'' ) echo "$2" ;;
	0 | *[!0-9]*) echo "rackboot-agent: interval '$1' ignored: give whole seconds >= 1; using $2" >&2; echo "$2" ;;
	*) echo "$1" ;;
	esac
}
HEARTBEAT=$(seconds "\${ARG_HEARTBEAT:-\${RACKBOOT_HEARTBEAT:-}}" 30)
POLL=$(seconds "\${ARG_POLL:-\${RACKBOOT_POLL:-}}" 60)
NET_WAIT=\${RACKBOOT_NET_WAIT:-120}
# Set to 1 (tests): report once, poll the runtime overlay once, exit.
ONCE=\${RACKBOOT_AGENT_ONCE:-0}
mkdir -p "$STATE" || { echo "rackboot-agent: cannot create $STATE; exiting" >&2; exit 1; }

log() { echo "rackboot-agent: $*" >&2; }
json_escape() { printf '%s' "$1" | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g' | tr -d '\\000-\\037'; }
num() { case $1 in '' | *[!0-9]*) echo null ;; *) echo "$1" ;; esac; }
readf() { [ -r "$1" ] && head -n 1 "$1" 2>/dev/null; }
bounded() { if command -v timeout >/dev/null 2>&1; then timeout "$@"; else shift; "$@"; fi; }

have_network() {
	# A default route, else any interface other than lo that is up.
	if [ -r "$PROC/net/route" ] && awk 'NR > 1 && $2 == "00000000" { f = 1 } END { exit !f }' "$PROC/net/route"; then
		return 0
	fi
	for dev in "$SYS"/class/net/*; do
		[ "\${dev##*/}" = lo ] && continue
		[ "$(readf "$dev/operstate")" = up ] && return 0
	done
	return 1
}

wait_network() {
	waited=0
	while ! have_network; do
		if [ "$waited" -ge "$NET_WAIT" ]; then
			log "no default route and no link up after \${NET_WAIT} s; trying anyway"
			return 1
		fi
		sleep 2
		waited=$((waited + 2))
	done
	return 0
}

inventory() {
	cpus=$(grep -c '^processor' "$PROC/cpuinfo" 2>/dev/null)
	model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' "$PROC/cpuinfo" 2>/dev/null | head -n 1)
	mem=$(awk '$1 == "MemTotal:" { print $2 }' "$PROC/meminfo" 2>/dev/null)
	disks=
	for b in "$SYS"/block/*; do
		[ -r "$b/size" ] || continue
		name=\${b##*/}
		case $name in loop* | ram* | zram* | dm-* | sr* | fd*) continue ;; esac
		sectors=$(readf "$b/size")
		dmodel=$(readf "$b/device/model")
		d="{\\"name\\":\\"$(json_escape "$name")\\",\\"sizeBytes\\":$(num "$((\${sectors:-0} * 512))"),\\"model\\":\\"$(json_escape "$dmodel")\\"}"
		disks="\${disks:+$disks,}$d"
	done
	nics=
	for n in "$SYS"/class/net/*; do
		name=\${n##*/}
		[ "$name" = lo ] || [ ! -r "$n/address" ] && continue
		speed=$(readf "$n/speed" 2>/dev/null)
		case $speed in -*) speed= ;; esac
		d="{\\"name\\":\\"$(json_escape "$name")\\",\\"mac\\":\\"$(json_escape "$(readf "$n/address")")\\",\\"speedMbps\\":$(num "$speed"),\\"operstate\\":\\"$(json_escape "$(readf "$n/operstate")")\\"}"
		nics="\${nics:+$nics,}$d"
	done
	dmi="$SYS/class/dmi/id"
	host=$(hostname 2>/dev/null || readf /etc/hostname)
	printf '"hostname":"%s","cpus":%s,"cpuModel":"%s","memoryKiB":%s,"disks":[%s],"nics":[%s],' \\
		"$(json_escape "$host")" "$(num "$cpus")" "$(json_escape "$model")" "$(num "$mem")" "$disks" "$nics"
	printf '"dmi":{"vendor":"%s","model":"%s","serial":"%s"}' \\
		"$(json_escape "$(readf "$dmi/sys_vendor")")" "$(json_escape "$(readf "$dmi/product_name")")" \\
		"$(json_escape "$(readf "$dmi/product_serial")")"
}

post() {
	# $1 JSON body
	url="$RACKBOOT_SERVER/agent/$RACKBOOT_MAC"
	[ -n "$RACKBOOT_ASSETKEY" ] && url="$url?assetkey=$RACKBOOT_ASSETKEY"
	bounded 10 wget -q -O /dev/null --header 'Content-Type: application/json' --post-data "$1" "$url" 2>/dev/null
}

# ,"runtimeSha256":"<sha>" of the runtime overlay last applied, or nothing before the first.
applied_runtime() {
	sha=$(cat "$STATE/runtime.sha256" 2>/dev/null)
	case $sha in '' | *[!0-9a-f]*) return 0 ;; esac
	[ \${#sha} -eq 64 ] && printf ',"runtimeSha256":"%s"' "$sha"
}

report() {
	# $1 stage, $2 message; the full inventory rides along so the server always has the latest.
	if post "{\\"stage\\":\\"$1\\",\\"message\\":\\"$(json_escape "$2")\\",$(inventory)$(applied_runtime)}"; then
		return 0
	fi
	log "reporting '$1' to $RACKBOOT_SERVER failed"
	return 1
}

# A TCP client that can bind a local port. busybox nc cannot (its -p works only with -l), so a busybox-only
# image needs socat, or netcat-openbsd / ncat, to fetch the runtime overlay. Prints the command, or nothing.
port_client() {
	if command -v socat >/dev/null 2>&1; then
		echo socat
		return 0
	fi
	for c in /usr/bin/nc.openbsd /bin/nc.openbsd /usr/bin/ncat /usr/bin/nc /bin/nc /usr/bin/netcat /bin/netcat; do
		[ -x "$c" ] || continue
		"$c" -h 2>&1 | grep -qi busybox && continue
		echo "$c"
		return 0
	done
	return 1
}

http_request() {
	printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "$1" "$2"
}

# GET over a privileged source port (987, as Warewulf's wwclient): the server serves runtime secrets only
# to such requests, and on the node only root can bind one. Writes the body to $1; non-zero on failure.
fetch_runtime() {
	client=$(port_client) || {
		log "runtime: no socat or netcat able to bind a source port (busybox nc cannot); install socat or netcat-openbsd in the image"
		return 1
	}
	hostport=\${RACKBOOT_SERVER#http://}
	hostport=\${hostport%%/*}
	host=\${hostport%:*}
	port=\${hostport##*:}
	[ "$host" = "$hostport" ] && port=80
	path="/runtime/$RACKBOOT_MAC"
	[ -n "$RACKBOOT_ASSETKEY" ] && path="$path?assetkey=$RACKBOOT_ASSETKEY"
	rm -f "$STATE/runtime.resp"
	# A port still in TIME_WAIT from the last poll cannot be bound again at once: try the next.
	for lport in 987 988 989; do
		# No half-close after the request (shut-none, --no-shutdown): servers that see the client's FIN
		# before answering may drop the request (Node's http server does). The server closes when done.
		case $client in
		socat)
			http_request "$path" "$hostport" |
				bounded 20 socat -t 10 - "TCP:$host:$port,sourceport=$lport,shut-none" >"$STATE/runtime.resp" 2>/dev/null
			;;
		*ncat)
			http_request "$path" "$hostport" |
				bounded 20 "$client" --no-shutdown -w 10 -p "$lport" "$host" "$port" >"$STATE/runtime.resp" 2>/dev/null
			;;
		*)
			http_request "$path" "$hostport" |
				bounded 20 "$client" -w 10 -p "$lport" "$host" "$port" >"$STATE/runtime.resp" 2>/dev/null
			;;
		esac
		[ -s "$STATE/runtime.resp" ] && break
	done
	[ -s "$STATE/runtime.resp" ] || { log "runtime: no answer from $hostport via $client"; return 1; }
	status=$(head -n 1 "$STATE/runtime.resp" | cut -d ' ' -f 2)
	if [ "$status" != 200 ]; then
		log "runtime: $hostport answered $(head -n 1 "$STATE/runtime.resp" | tr -d '\\r'): $(tail -n 1 "$STATE/runtime.resp")"
		return 1
	fi
	# Headers end at the first empty line; count their bytes, keep the rest.
	skip=0
	while IFS= read -r line; do
		skip=$((skip + \${#line} + 1))
		case $line in '' | "$(printf '\\r')") break ;; esac
	done <"$STATE/runtime.resp"
	tail -c +$((skip + 1)) "$STATE/runtime.resp" >"$1"
	rm -f "$STATE/runtime.resp"
}

poll_runtime() {
	fetch_runtime "$STATE/runtime.new" || return 1
	new=$(sha256sum "$STATE/runtime.new" | cut -d ' ' -f 1)
	old=$(cat "$STATE/runtime.sha256" 2>/dev/null)
	if [ "$new" = "$old" ]; then
		rm -f "$STATE/runtime.new"
		return 0
	fi
	if gzip -dc "$STATE/runtime.new" | (cd "$ROOT" && cpio -idmu 2>/dev/null); then
		echo "$new" >"$STATE/runtime.sha256"
		log "runtime overlay $new applied"
		report runtime "applied runtime overlay $new"
	else
		log "runtime: unpacking the overlay over $ROOT failed; will retry"
	fi
	rm -f "$STATE/runtime.new"
}

if [ -z "$RACKBOOT_SERVER" ] || [ -z "$RACKBOOT_MAC" ]; then
	log "$CONF sets no RACKBOOT_SERVER or RACKBOOT_MAC; nothing to report to"
	exit 1
fi
wait_network
report up "agent started"
poll_runtime
[ "$ONCE" = 1 ] && exit 0
# One tick of the shorter interval; each job runs when its own interval has passed.
TICK=$HEARTBEAT
[ "$POLL" -lt "$TICK" ] && TICK=$POLL
since_poll=0
since_heartbeat=0
while :; do
	sleep "$TICK"
	since_poll=$((since_poll + TICK))
	since_heartbeat=$((since_heartbeat + TICK))
	if [ "$since_heartbeat" -ge "$HEARTBEAT" ]; then
		since_heartbeat=0
		report heartbeat ""
	fi
	if [ "$since_poll" -ge "$POLL" ]; then
		since_poll=0
		poll_runtime
	fi
done
`
