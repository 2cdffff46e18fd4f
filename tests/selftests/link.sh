#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# veil devices and "veil link show": defaults, MTU, namespaces, counters,
# and agreement with ip(8) in both text and JSON output.
#
#   nsA: veil0 100.64.0.1/32, route 100.64.0.0/10 -> veil0 (pings are dropped
#        and counted: no tunnel exists)
#   nsB: veil0, veil1        nsC: 200 devices (multi-part dump)
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe ping jq veil

ktap_plan 15

modprobe veil
new_netns nsA
new_netns nsB
new_netns nsC

ip -n "$nsA" link add veil0 type veil
ip -n "$nsB" link add veil0 type veil
ip -n "$nsB" link add veil1 type veil

check "default MTU is 1420" \
	sh -c "[ \"\$(veil -n $nsA -j link show dev veil0 | jq '.[0].mtu')\" = 1420 ]"

ip -n "$nsA" link set veil0 mtu 1280
check "MTU set with ip link is shown" \
	sh -c "[ \"\$(veil -n $nsA -j link show veil0 | jq '.[0].mtu')\" = 1280 ]"
check "MTU below 68 is refused" sh -c "! ip -n $nsA link set veil0 mtu 67 2>/dev/null"
check "MTU above 65455 is refused" sh -c "! ip -n $nsA link set veil0 mtu 65456 2>/dev/null"
check "MTU 65455 is accepted" ip -n "$nsA" link set veil0 mtu 65455
ip -n "$nsA" link set veil0 mtu 1420

check "each namespace lists only its own devices" \
	sh -c "[ \"\$(veil -n $nsA -j link show | jq -c '[.[].ifname]')\" = '[\"veil0\"]' ] &&
	       [ \"\$(veil -n $nsB -j link show | jq -c '[.[].ifname] | sort')\" = '[\"veil0\",\"veil1\"]' ] &&
	       [ \"\$(veil -n $nsC -j link show | jq length)\" = 0 ]"

# Traffic routed into the device: no tunnel carries it, so it is dropped
# and counted as tx_dropped.
ip -n "$nsA" addr add 100.64.0.1/32 dev veil0
ip -n "$nsA" link set veil0 up
ip -n "$nsA" route add 100.64.0.0/10 dev veil0
ip netns exec "$nsA" ping -c 3 -i 0.2 -W 1 100.64.0.9 >/dev/null 2>&1
check "packets with no tunnel are counted as tx dropped" \
	sh -c "[ \"\$(veil -n $nsA -j link show veil0 | jq '.[0].stats64.tx.dropped')\" -ge 3 ]"

# The same fields from veil and from ip -j -s link must be identical.
norm='[.[] | {ifindex, ifname, mtu,
	rx: (.stats64.rx | {bytes, packets, errors, dropped}),
	tx: (.stats64.tx | {bytes, packets, errors, dropped})}] | sort_by(.ifindex)'
same_as_ip()
{
	local a b
	a=$(veil -n "$1" -j link show | jq -S "$norm") || return 1
	b=$(ip -n "$1" -j -s link show type veil | jq -S "$norm") || return 1
	[ "$a" = "$b" ] || { echo "veil: $a"; echo "ip: $b"; return 1; }
}
# The kernel's own IPv6 packets (router solicitations, MLD) may be dropped
# between the two reads, at its own pace: compare until a quiet moment.
check "veil -j link show agrees with ip -j -s link (nsA, with traffic)" \
	slowwait 10 same_as_ip "$nsA"
check "veil -j link show agrees with ip -j -s link (nsB, two devices)" \
	slowwait 10 same_as_ip "$nsB"

text_matches()
{
	local idx out
	idx=$(ip -n "$nsA" -j link show veil0 | jq '.[0].ifindex')
	out=$(veil -n "$nsA" link show veil0)
	grep -qE "^$idx: veil0: mtu 1420( |$)" <<<"$out" &&
	grep -qE '^    tx: [0-9]+ bytes [0-9]+ packets 0 errors [1-9][0-9]* dropped$' <<<"$out"
}
check "text output names index, device, MTU and counters" text_matches

check "veil -j -p output is valid JSON" sh -c "veil -n $nsB -j -p link show | jq -e 'length == 2'"

# 200 devices do not fit one netlink message: the dump must resume where
# it stopped, without losing or repeating a device.
for i in $(seq 0 199); do echo "link add vl$i type veil"; done | ip -n "$nsC" -batch -
check "a dump of 200 devices returns each exactly once" \
	sh -c "[ \"\$(veil -n $nsC -j link show | jq '[.[].ifindex] | unique | length')\" = 200 ] &&
	       [ \"\$(veil -n $nsC -j link show | jq 'length')\" = 200 ]"
check "veil link show (text) lists 200 devices" \
	sh -c "[ \"\$(veil -n $nsC link show | grep -c ': mtu ')\" = 200 ]"

ip -n "$nsB" link del veil1
check "a deleted device is no longer listed" \
	sh -c "[ \"\$(veil -n $nsB -j link show | jq -c '[.[].ifname]')\" = '[\"veil0\"]' ]"

ip netns del "$nsC"
check "deleting a namespace with 200 devices leaves the others intact" \
	sh -c "[ \"\$(veil -n $nsB -j link show | jq length)\" = 1 ]"

ktap_finish
