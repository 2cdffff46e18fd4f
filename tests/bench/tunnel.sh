#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tunnel benchmark, run inside the VM (make bench-tunnel): the same two
# namespaces joined by veth, measured three ways in one boot:
#
#   plain   iperf3/ping straight over the veth (the ceiling)
#   wg      in-kernel WireGuard between the namespaces
#   veil    a veil tunnel between the namespaces
#
# Each case: iperf3 TCP with 1 and 4 streams, iperf3 UDP with 64-byte
# datagrams (packets per second received), ping RTT. Prints the results
# as one JSON line after "VEIL-BENCH-JSON " (the VM's files vanish with it;
# scripts/bench picks the line up). Absolute numbers under emulation mean
# little: compare the ratios.
set -eu
secs=${VEIL_BENCH_SECONDS:-5}
modprobe veil
modprobe wireguard

a=veilb-a-$$
b=veilb-b-$$
tmp=$(mktemp -d /tmp/veil-bench.XXXXXX)
cleanup() { ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add va netns "$a" type veth peer name vb netns "$b"
ip -n "$a" addr add 192.0.2.1/24 dev va
ip -n "$b" addr add 192.0.2.2/24 dev vb
for n in "$a" "$b"; do ip -n "$n" link set lo up; done
ip -n "$a" link set va up
ip -n "$b" link set vb up

# WireGuard: 10.10.0.1 <-> 10.10.0.2
umask 077
wg genkey >"$tmp/wa"; wg pubkey <"$tmp/wa" >"$tmp/pa"
wg genkey >"$tmp/wb"; wg pubkey <"$tmp/wb" >"$tmp/pb"
ip -n "$a" link add wg0 type wireguard
ip -n "$b" link add wg0 type wireguard
ip netns exec "$a" wg set wg0 listen-port 51820 private-key "$tmp/wa" \
	peer "$(cat "$tmp/pb")" endpoint 192.0.2.2:51820 allowed-ips 10.10.0.2/32
ip netns exec "$b" wg set wg0 listen-port 51820 private-key "$tmp/wb" \
	peer "$(cat "$tmp/pa")" endpoint 192.0.2.1:51820 allowed-ips 10.10.0.1/32
ip -n "$a" addr add 10.10.0.1/32 peer 10.10.0.2/32 dev wg0
ip -n "$b" addr add 10.10.0.2/32 peer 10.10.0.1/32 dev wg0
ip -n "$a" link set wg0 up
ip -n "$b" link set wg0 up

# veil: 100.64.0.1 <-> 100.64.0.2, same MTU as WireGuard (1420)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/k1"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/k2"
for n in "$a:1:2:$tmp/k1:$tmp/k2" "$b:2:1:$tmp/k2:$tmp/k1"; do
	IFS=: read -r ns me them tx rx <<<"$n"
	ip -n "$ns" link add veil0 type veil
	ip -n "$ns" addr add "100.64.0.$me/32" peer "100.64.0.$them/32" dev veil0
	ip -n "$ns" link set veil0 up
	veil -n "$ns" link set dev veil0 port 4500
	veil -n "$ns" peer add dev veil0 id "$me" remote-id "$them" \
		endpoint "192.0.2.$them:4500" tx-key "$tx" rx-key "$rx" \
		allowed "100.64.0.$them/32"
done

tcp()	# SERVER_IP STREAMS -> Mbit/s received
{
	ip netns exec "$b" iperf3 -s -1 -D -B "$1" >/dev/null 2>&1
	sleep 0.5
	ip netns exec "$a" iperf3 -c "$1" -P "$2" -t "$secs" -J |
		jq '.end.sum_received.bits_per_second / 1e6'
}

udp64()	# SERVER_IP -> packets per second received
{
	ip netns exec "$b" iperf3 -s -1 -D -B "$1" >/dev/null 2>&1
	sleep 0.5
	ip netns exec "$a" iperf3 -c "$1" -u -l 64 -b 0 -t "$secs" -J |
		jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds'
}

rtt()	# SERVER_IP -> average ms
{
	ip netns exec "$a" ping -q -c 50 -i 0.02 "$1" |
		sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p'
}

json="{"
sep=
for c in "plain:192.0.2.2" "wg:10.10.0.2" "veil:100.64.0.2"; do
	name=${c%%:*}
	ip=${c#*:}
	ip netns exec "$a" ping -c 2 -W 2 "$ip" >/dev/null
	t1=$(tcp "$ip" 1)
	t4=$(tcp "$ip" 4)
	u=$(udp64 "$ip")
	r=$(rtt "$ip")
	echo "# $name: tcp1 $t1 Mbit/s, tcp4 $t4 Mbit/s, udp64 $u pps, rtt $r ms" >&2
	json+="$sep\"$name\":{\"tcp1_mbps\":$t1,\"tcp4_mbps\":$t4,\"udp64_pps\":$u,\"rtt_ms\":$r}"
	sep=,
done
json+="}"
printf 'VEIL-BENCH-JSON '
jq -M -c -n --argjson r "$json" --arg k "$(uname -r)" --argjson s "$secs" --arg cpus "$(nproc)" \
	'{kernel: $k, seconds: $s, cpus: ($cpus|tonumber), results: $r,
	  ratio_veil_over_wg: {
	    tcp1: ($r.veil.tcp1_mbps / $r.wg.tcp1_mbps),
	    tcp4: ($r.veil.tcp4_mbps / $r.wg.tcp4_mbps),
	    udp64: ($r.veil.udp64_pps / $r.wg.udp64_pps),
	    rtt: ($r.veil.rtt_ms / $r.wg.rtt_ms)}}'
