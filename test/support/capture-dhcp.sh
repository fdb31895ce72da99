#!/usr/bin/env bash
# Records the golden DHCP fixtures in test/fixtures/dhcp/ from REAL clients talking to a real server
# (dnsmasq), inside two network namespaces this script creates and deletes. Never touches the host's
# interfaces. Needs root, qemu-system-x86, ipxe, ipxe-qemu, ovmf, dnsmasq-base, tcpdump, busybox-static,
# isc-dhcp-client.
#
#   sudo bash test/support/capture-dhcp.sh [OUTDIR] [CASE...]
#   LOGS=/tmp/dhcp-logs sudo -E bash test/support/capture-dhcp.sh ...   # also keep dnsmasq/console logs
#
# CASE is one of: bios-ipxe-rom bios-undionly uefi-edk2-ipxe uefi-httpboot udhcpc dhclient (default: all).
# Layout: rbdh-srv holds rbdh-v0 (198.18.10.1/24, dnsmasq + tcpdump); rbdh-cli holds bridge rbdh-br0
# with rbdh-v1 (peer of rbdh-v0), rbdh-tap0 (QEMU) and rbdh-c1 (peer of rbdh-c0, where udhcpc and
# dhclient run). Every client runs under `timeout`; each case stops as soon as dnsmasq logged the
# ACKs it waits for.
set -euo pipefail

OUT=$(realpath -m "${1:-$(dirname "$0")/../fixtures/dhcp}")
shift || true
CASES=("$@")
[ ${#CASES[@]} -eq 0 ] && CASES=(bios-ipxe-rom bios-undionly uefi-edk2-ipxe uefi-httpboot udhcpc dhclient)

P=rbdh
SRV=$P-srv
CLI=$P-cli
WORK=$(mktemp -d /tmp/$P-capture.XXXXXX)
mkdir -p "$OUT" "$WORK/tftp"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  ip netns del $SRV 2>/dev/null || true
  ip netns del $CLI 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The TFTP root holds Debian's iPXE binaries (ipxe.efi is a symlink in the package: copy with -L).
cp -L /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi "$WORK/tftp/"

ip netns del $SRV 2>/dev/null || true
ip netns del $CLI 2>/dev/null || true
ip netns add $SRV
ip netns add $CLI
ip -n $SRV link add $P-v0 type veth peer name $P-v1 netns $CLI
ip -n $SRV addr add 198.18.10.1/24 dev $P-v0
ip -n $SRV link set lo up
ip -n $SRV link set $P-v0 up
ip -n $CLI link set lo up
ip -n $CLI link add $P-br0 type bridge
ip -n $CLI link set $P-br0 up
ip -n $CLI link set $P-v1 master $P-br0 up
ip -n $CLI tuntap add dev $P-tap0 mode tap
ip -n $CLI link set $P-tap0 master $P-br0 up
ip -n $CLI link add $P-c0 type veth peer name $P-c1
ip -n $CLI link set $P-c1 master $P-br0 up
ip -n $CLI link set $P-c0 address 02:00:c6:12:0a:c0 up

# Client-side hook scripts: put the leased address on rbdh-c0 (inside the client namespace only), so
# the clients' unicast RENEW and RELEASE can leave. Never the distribution scripts: the namespace
# shares /etc with the host, and they would rewrite /etc/resolv.conf.
cat >"$WORK/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
SCRIPT
cat >"$WORK/dhclient.script" <<'SCRIPT'
#!/bin/sh
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr flush dev "$interface"; ip addr add "$new_ip_address/24" dev "$interface" ;;
esac
exit 0
SCRIPT
chmod +x "$WORK/udhcpc.script" "$WORK/dhclient.script"

# Starts dnsmasq + tcpdump for one case. $1 = case name, $2 = boot mode for iPXE:
#   script : iPXE (user class iPXE) gets an HTTP script URL, firmware PXE gets the TFTP file
#   chain  : every BIOS client gets undionly.kpxe, so the ROM chains undionly, which asks again
#   httpboot: UEFI PXE gets no boot file (so EDK2 moves on to its HTTP boot entry); HTTPClient gets
#            a URL as the file and option 60 HTTPClient echoed (UEFI spec 2.x, HTTP Boot)
start_server() {
  local name=$1 mode=$2
  # With overlapping tags dnsmasq answered iPXE with the later tag:bios line, so firmware lines exclude iPXE.
  local boot=(--dhcp-boot=tag:ipxe,http://198.18.10.1:8080/ipxe/52-54-00-00-00-00
    --dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe --dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi)
  [ "$mode" = chain ] && boot=(--dhcp-boot=tag:bios,undionly.kpxe --dhcp-boot=tag:efi64,ipxe.efi)
  [ "$mode" = httpboot ] && boot=(--dhcp-vendorclass=set:http,HTTPClient
    --dhcp-boot=tag:http,http://198.18.10.1:8080/boot/ipxe.efi --dhcp-option-force=tag:http,60,HTTPClient)
  : >"$WORK/$name.dnsmasq.log"
  ip netns exec $SRV timeout 480 tcpdump -i $P-v0 -U -Z root -s 1500 -w "$OUT/$name.pcap" \
    'udp port 67 or udp port 68 or udp port 4011' 2>"$WORK/$name.tcpdump.log" &
  PIDS+=($!)
  ip netns exec $SRV timeout 480 dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
    --interface=$P-v0 --bind-interfaces --no-ping --log-dhcp \
    --log-facility="$WORK/$name.dnsmasq.log" --dhcp-leasefile="$WORK/$name.leases" \
    --pid-file="$WORK/$name.dnsmasq.pid" \
    --dhcp-range=198.18.10.100,198.18.10.199,255.255.255.0,1h \
    --dhcp-option=option:router,198.18.10.1 --dhcp-option=option:dns-server,198.18.10.1 \
    --domain=rack.test --dhcp-option=option:domain-search,rack.test,lab.rack.test \
    --enable-tftp --tftp-root="$WORK/tftp" \
    --dhcp-userclass=set:ipxe,iPXE \
    --dhcp-match=set:bios,option:client-arch,0 \
    --dhcp-match=set:efi64,option:client-arch,7 \
    --dhcp-match=set:efi64,option:client-arch,9 \
    "${boot[@]}" \
    --dhcp-option=encap:175,176,1 2>"$WORK/$name.dnsmasq-stderr.log" &
  PIDS+=($!)
  sleep 1.5
}

stop_server() {
  local name=$1
  sleep 1
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  if [ -n "${LOGS:-}" ]; then
    mkdir -p "$LOGS"
    cp "$WORK/$name".*.log "$LOGS/" 2>/dev/null || true
  fi
  echo "== $name: $(grep -c 'DHCPACK(' "$WORK/$name.dnsmasq.log" || true) ACKs; $(stat -c %s "$OUT/$name.pcap") bytes"
}

# Waits (bounded) until dnsmasq logged $2 DHCPACKs in case $1.
wait_acks() {
  local name=$1 want=$2 limit=$3 i
  for ((i = 0; i < limit; i++)); do
    [ "$(grep -c 'DHCPACK(' "$WORK/$name.dnsmasq.log" || true)" -ge "$want" ] && return 0
    sleep 1
  done
  echo "!! $name: fewer than $want ACKs within ${limit}s; dnsmasq log tail:" >&2
  tail -n 20 "$WORK/$name.dnsmasq.log" >&2
}

# $1 case, $2 seconds bound, $3 MAC, rest: extra QEMU args. The SMBIOS UUID ends in the MAC, so the
# fixtures show how each firmware puts it in option 97 (byte order).
run_qemu() {
  local name=$1 bound=$2 mac=$3
  shift 3
  ip netns exec $CLI timeout "$bound" qemu-system-x86_64 -accel tcg -m 256 -nographic -monitor none \
    -uuid "00112233-4455-6677-8899-${mac//:/}" \
    -serial file:"$WORK/$name.console.log" -no-reboot -boot n \
    -netdev tap,id=n0,ifname=$P-tap0,script=no,downscript=no "$@" &
  PIDS+=($!)
}

for c in "${CASES[@]}"; do
  case $c in
  bios-ipxe-rom)
    # SeaBIOS + the iPXE ROM QEMU ships for virtio-net (ipxe-qemu): one DISCOVER/OFFER/REQUEST/ACK.
    start_server $c script
    run_qemu $c 120 52:54:00:0a:00:01 -device virtio-net-pci,netdev=n0,mac=52:54:00:0a:00:01
    wait_acks $c 1 110
    stop_server $c
    ;;
  bios-undionly)
    # e1000 (its ROM is iPXE too) gets undionly.kpxe over TFTP; undionly asks again (second stage).
    start_server $c chain
    run_qemu $c 150 52:54:00:0a:00:02 -device e1000,netdev=n0,mac=52:54:00:0a:00:02
    wait_acks $c 2 140
    stop_server $c
    ;;
  uefi-edk2-ipxe)
    # OVMF with an empty romfile, so EDK2's own virtio-net driver and PXE run; it fetches ipxe.efi,
    # which asks again as iPXE (user class iPXE) and gets the script URL.
    start_server $c script
    run_qemu $c 240 52:54:00:0a:00:03 -bios /usr/share/ovmf/OVMF.fd \
      -device virtio-net-pci,netdev=n0,mac=52:54:00:0a:00:03,romfile=
    wait_acks $c 2 230
    stop_server $c
    ;;
  uefi-httpboot)
    # Same OVMF, no PXE boot file: EDK2 gives up on PXEv4 (and PXEv6), then tries HTTPv4 (arch 16).
    start_server $c httpboot
    run_qemu $c 420 52:54:00:0a:00:04 -bios /usr/share/ovmf/OVMF.fd \
      -device virtio-net-pci,netdev=n0,mac=52:54:00:0a:00:04,romfile=
    for ((i = 0; i < 410; i++)); do
      awk '/HTTPClient/ {h = 1} h && /DHCPACK\(/ {f = 1} END {exit !f}' "$WORK/$c.dnsmasq.log" && break
      sleep 1
    done
    stop_server $c
    ;;
  udhcpc)
    # DISCOVER/REQUEST, then SIGUSR1 = RENEW (unicast, ciaddr set), then SIGTERM with -R = RELEASE.
    start_server $c script
    ip netns exec $CLI timeout 40 busybox udhcpc -i $P-c0 -f -R -n -t 5 -s "$WORK/udhcpc.script" \
      >"$WORK/$c.console.log" 2>&1 &
    PIDS+=($!)
    wait_acks $c 1 20
    sleep 1
    kill -USR1 "$(pgrep -P "${PIDS[-1]}")" 2>/dev/null || true
    wait_acks $c 2 10
    sleep 1
    kill -TERM "$(pgrep -P "${PIDS[-1]}")" 2>/dev/null || true
    sleep 1
    stop_server $c
    ;;
  dhclient)
    # -sf: our hook, not dhclient-script (see above).
    start_server $c script
    ip netns exec $CLI timeout 30 dhclient -d -v -1 -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" \
      -sf "$WORK/dhclient.script" $P-c0 >"$WORK/$c.console.log" 2>&1 &
    PIDS+=($!)
    wait_acks $c 1 25
    kill "${PIDS[-1]}" 2>/dev/null || true
    sleep 0.5
    # A RELEASE from the same lease, for the decoder (dhclient -r reads the lease file).
    ip netns exec $CLI timeout 15 dhclient -v -r -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" \
      -sf "$WORK/dhclient.script" $P-c0 >>"$WORK/$c.console.log" 2>&1 || true
    stop_server $c
    ;;
  *) echo "unknown case $c" >&2 ;;
  esac
done
