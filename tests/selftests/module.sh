#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# veil.ko load and unload: autoloading by link kind and by genl family, and
# repeated unloads with devices alive in several namespaces.
#
#   init ns        nsA            nsB            nsC
#   veil0          veil0 (up,     veil0          veil0, veil1
#                  addr, route)
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe ping jq veil

ktap_plan 7

veil_unload
ip link add veil0 type veil 2>/dev/null
check "ip link add type veil autoloads veil.ko" veil_loaded
check "the autoloaded device is a veil device" \
	sh -c '[ "$(ip -j -d link show veil0 | jq -r ".[0].linkinfo.info_kind")" = veil ]'
ip link del veil0 2>/dev/null

veil_unload
check "veil link show autoloads veil.ko through its genl family" \
	sh -c 'veil link show && [ -d /sys/module/veil ]'

# One load/unload cycle with devices in four namespaces, traffic sent into
# one of them. Every step must succeed and the devices must be gone after.
cycle()
{
	local ns
	modprobe veil || return 1
	ip link add veil0 type veil || return 1
	for ns in "$nsA" "$nsB" "$nsC"; do
		ip -n "$ns" link add veil0 type veil || return 1
	done
	ip -n "$nsC" link add veil1 type veil || return 1
	ip -n "$nsA" addr add 100.64.0.1/32 dev veil0 || return 1
	ip -n "$nsA" link set veil0 up || return 1
	ip -n "$nsA" route add 100.64.0.0/10 dev veil0 || return 1
	ip netns exec "$nsA" ping -c 1 -W 1 100.64.0.9 >/dev/null 2>&1
	modprobe -r veil || return 1
	! ip link show veil0 >/dev/null 2>&1 || return 1
	for ns in "$nsA" "$nsB" "$nsC"; do
		! ip -n "$ns" link show veil0 >/dev/null 2>&1 || return 1
	done
	return 0
}

new_netns nsA
new_netns nsB
new_netns nsC
veil_unload
fails=0
for i in $(seq 20); do
	cycle || { fails=$((fails + 1)); diag "cycle $i failed"; veil_unload; }
done
check "20 load/unload cycles with devices in 4 namespaces" test "$fails" = 0

# Unload while a flood of packets is being sent into a device.
modprobe veil
ip -n "$nsA" link add veil0 type veil
ip -n "$nsA" addr add 100.64.0.1/32 dev veil0
ip -n "$nsA" link set veil0 up
ip -n "$nsA" route add 100.64.0.0/10 dev veil0
ip netns exec "$nsA" ping -q -c 2000 -i 0.001 -W 1 100.64.0.9 >/dev/null 2>&1 &
pinger=$!
sleep 0.5
check "unload while a device is transmitting" modprobe -r veil
wait "$pinger"
check "the device went away with the module" \
	sh -c "! ip -n $nsA link show veil0 2>/dev/null"

# A namespace deleted while it holds a veil device takes the device along;
# the module then unloads and a new namespace gets a fresh device.
modprobe veil
new_netns nsD
ip -n "$nsD" link add veil0 type veil
ip netns del "$nsD"
check "delete a namespace holding a device, then unload and reload" \
	sh -c 'modprobe -r veil && modprobe veil && ip netns add veil-reuse-$$ &&
	       ip -n veil-reuse-$$ link add veil0 type veil &&
	       ip netns del veil-reuse-$$'

ktap_finish
