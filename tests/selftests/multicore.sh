#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The multi-core receive path: packets are decrypted on another CPU than
# the one they arrive on, through per-CPU queues. Checks that tunnels keep
# order well enough for the replay window, that per-CPU counters add up,
# and that removing a tunnel, a device, a namespace or the module while
# the queues are full leaves the kernel clean (scripts/vm checks its log).
#
#   nsA                               nsB
#   veil0 100.64.0.1                  veil0 100.64.0.2
#   vA 192.0.2.1/24 ----------------- vB 192.0.2.2/24
#   id 1 -> remote 2                  id 2 -> remote 1
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe ping iperf3 python3 jq veil

ktap_plan 12

modprobe veil
tmp=$(mktemp -d /tmp/veil-multicore.XXXXXX)
trap 'cleanup_netns; rm -rf "$tmp"' EXIT
(umask 077
 head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/ab"
 head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/ba")

# setup: two fresh namespaces joined by veth, one tunnel between them.
setup()
{
	new_netns nsA
	new_netns nsB
	ip link add vA netns "$nsA" type veth peer name vB netns "$nsB"
	ip -n "$nsA" addr add 192.0.2.1/24 dev vA
	ip -n "$nsB" addr add 192.0.2.2/24 dev vB
	ip -n "$nsA" link set vA up
	ip -n "$nsB" link set vB up
	for n in "$nsA:1:2:ab:ba" "$nsB:2:1:ba:ab"; do
		IFS=: read -r ns me them tx rx <<<"$n"
		ip -n "$ns" link add veil0 type veil
		ip -n "$ns" addr add "100.64.0.$me/32" peer "100.64.0.$them/32" dev veil0
		ip -n "$ns" link set veil0 up
		veil -n "$ns" link set dev veil0 port 4500
		veil -n "$ns" peer add dev veil0 id "$me" remote-id "$them" \
			endpoint "192.0.2.$them:4500" tx-key "$tmp/$tx" rx-key "$tmp/$rx" \
			allowed "100.64.0.$them/32"
	done
}

pstat()	# NS ID JQ-PATH: one field of one peer's JSON
{
	veil -n "$1" -j peer show dev veil0 id "$2" | jq -r ".[0].$3"
}

# flood NS SECONDS: send 1200-byte UDP datagrams to 100.64.0.2 (discard
# port, nsB) as fast as one process can, for SECONDS, in the background.
flood()
{
	ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + float(sys.argv[1])
b = bytes(1200)
while time.monotonic() < end:
    try:
        s.sendto(b, ("100.64.0.2", 9))
    except OSError:
        pass
' "$2" >/dev/null 2>&1 &
	flooder=$!
}

setup
check "ping through the tunnel" ip netns exec "$nsA" ping -c 3 -i 0.2 -W 2 100.64.0.2

ip netns exec "$nsB" iperf3 -s -D -1 -B 100.64.0.2 >/dev/null 2>&1
slowwait 5 sh -c "ip netns exec $nsB ss -ltn | grep -q 100.64.0.2:5201"
check "iperf3 with 4 TCP streams through the tunnel" \
	sh -c "ip netns exec $nsA timeout 30 iperf3 -c 100.64.0.2 -P 4 -t 3 -J |
	       jq -e '.end.sum_received.bytes > 0'"
check "no packet of 4 streams fell outside the replay window" \
	test "$(pstat "$nsB" 2 drops.replay)" = 0
check "and none failed authentication" test "$(pstat "$nsB" 2 drops.auth)" = 0

tx=$(pstat "$nsA" 1 stats.tx_packets)
rx=$(pstat "$nsB" 2 stats.rx_packets)
ip netns exec "$nsA" ping -q -c 50 -i 0.01 -W 2 100.64.0.2 >/dev/null 2>&1
tx=$(($(pstat "$nsA" 1 stats.tx_packets) - tx))
rx=$(($(pstat "$nsB" 2 stats.rx_packets) - rx))
check "per-CPU counters add up: 50 pings sent and 50 received ($tx, $rx)" \
	test "$tx:$rx" = 50:50

flood "$nsA" 3
sleep 1
check "delete the receiving tunnel while it is flooded" veil -n "$nsB" peer del dev veil0 id 2
wait "$flooder"
check "the flood after the delete counted as unknown tunnels" \
	test "$(ip -n "$nsB" -j -s link show veil0 | jq '.[0].stats64.rx.errors')" -gt 0

flood "$nsA" 3
sleep 1
check "delete the receiving device while it is flooded" ip -n "$nsB" link del veil0
wait "$flooder"
check "the sender's device still works" ip -n "$nsA" link show veil0

cleanup_netns
setup
flood "$nsA" 3
sleep 1
check "delete the receiving namespace while it is flooded" ip netns del "$nsB"
wait "$flooder"

cleanup_netns
setup
flood "$nsA" 3
sleep 1
check "unload the module while a tunnel is flooded" modprobe -r veil
wait "$flooder"
check "and load it again" modprobe veil

ktap_finish
