#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Encrypted tunnels between namespaces, configured by hand with the veil
# CLI: traffic (ping, curl to nginx, iperf3), the port filter, tampered and
# replayed packets, wrong keys, spoofed inner sources, roaming, an IPv6
# underlay, and removal under load.
#
#   nsC (client)            nsS (server)             nsD (2nd client)
#   veil0 100.64.0.1        veil0 100.64.0.2         veil0 100.64.0.3
#   vC 192.0.2.1/24 ------- vS 192.0.2.2/24
#      2001:db8::1/64       2001:db8::2/64
#                           vS2 198.51.100.2/24 ---- vD 198.51.100.3/24
#   id 1 -> remote 2        id 2 (C), id 4 (D)       id 3 -> remote 4
#   ports tcp/443, icmp     role server
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe ping curl nginx iperf3 python3 jq veil

ktap_plan 34

modprobe veil
new_netns nsC
new_netns nsS
new_netns nsD
tmp=$(mktemp -d /tmp/veil-tunnel.XXXXXX)
trap 'cleanup_netns; [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; rm -rf "$tmp"' EXIT

key()
{
	(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/$1")
}
key cs; key sc; key ds; key sd; key bad

ip link add vC netns "$nsC" type veth peer name vS netns "$nsS"
ip link add vD netns "$nsD" type veth peer name vS2 netns "$nsS"
ip -n "$nsC" addr add 192.0.2.1/24 dev vC
ip -n "$nsC" addr add 2001:db8::1/64 dev vC nodad
ip -n "$nsS" addr add 192.0.2.2/24 dev vS
ip -n "$nsS" addr add 2001:db8::2/64 dev vS nodad
ip -n "$nsS" addr add 198.51.100.2/24 dev vS2
ip -n "$nsD" addr add 198.51.100.3/24 dev vD
for l in "$nsC vC" "$nsS vS" "$nsS vS2" "$nsD vD"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

for n in "$nsC:1" "$nsS:2" "$nsD:3"; do
	ns=${n%:*}
	ip -n "$ns" link add veil0 type veil
	ip -n "$ns" addr add "100.64.0.${n#*:}/32" dev veil0
	ip -n "$ns" link set veil0 up
	veil -n "$ns" link set dev veil0 port 4500
done
ip -n "$nsC" route add 100.64.0.2/32 dev veil0
ip -n "$nsD" route add 100.64.0.2/32 dev veil0
ip -n "$nsS" route add 100.64.0.0/10 dev veil0

veil -n "$nsC" peer add dev veil0 id 1 remote-id 2 endpoint 192.0.2.2:4500 \
	tx-key "$tmp/cs" rx-key "$tmp/sc" allowed 100.64.0.2/32 ports tcp/443,tcp/5201,udp/5201,icmp
veil -n "$nsS" peer add dev veil0 id 2 remote-id 1 endpoint 192.0.2.1:4500 \
	tx-key "$tmp/sc" rx-key "$tmp/cs" allowed 100.64.0.1/32 \
	ports tcp/443,tcp/5201,udp/5201,icmp role server
veil -n "$nsD" peer add dev veil0 id 3 remote-id 4 endpoint 198.51.100.2:4500 \
	tx-key "$tmp/ds" rx-key "$tmp/sd" allowed 100.64.0.2/32
veil -n "$nsS" peer add dev veil0 id 4 remote-id 3 endpoint 198.51.100.3:4500 \
	tx-key "$tmp/sd" rx-key "$tmp/ds" allowed 100.64.0.3/32 role server

pstat()	# NS ID JQ-PATH: one field of one peer's JSON
{
	veil -n "$1" -j peer show dev veil0 id "$2" | jq -r ".[0].$3"
}

check "ping through the tunnel" ip netns exec "$nsC" ping -c 3 -i 0.2 -W 2 100.64.0.2
check "the server counts decrypted packets" test "$(pstat "$nsS" 2 stats.rx_packets)" -ge 3
check "a second client has its own tunnel" ip netns exec "$nsD" ping -c 2 -i 0.2 -W 2 100.64.0.2
check "peer show never prints keys" \
	sh -c "! veil -n $nsS -j peer show | grep -qiE \"$(cat "$tmp/cs")|$(cat "$tmp/sc")\""
check "peer show lists both tunnels of the server" \
	test "$(veil -n "$nsS" -j peer show | jq length)" = 2

cat >"$tmp/nginx.conf" <<NGINX
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp;
	uwsgi_temp_path $tmp; scgi_temp_path $tmp;
	server { listen 443; listen 22; location / { return 200 "veil-ok\n"; } }
}
NGINX
ip netns exec "$nsS" nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log"
slowwait 10 test -f "$tmp/nginx.pid"
check "curl to nginx on an allowed port (tcp/443)" \
	sh -c "ip netns exec $nsC curl -s --max-time 10 http://100.64.0.2:443/ | grep -q veil-ok"
before=$(pstat "$nsC" 1 drops.port)
check "a port outside the list (tcp/22) is unreachable" \
	sh -c "! ip netns exec $nsC curl -s --max-time 3 http://100.64.0.2:22/"
check "and the client counted the port drop" test "$(pstat "$nsC" 1 drops.port)" -gt "$before"
check "the server reaches the same nginx on tcp/22 itself" \
	sh -c "ip netns exec $nsS curl -s --max-time 5 http://192.0.2.2:22/ | grep -q veil-ok"

ip netns exec "$nsS" iperf3 -s -D -1 -B 100.64.0.2 >/dev/null 2>&1
slowwait 10 sh -c "ip netns exec $nsS ss -ltn | grep -q ':5201'"
check "iperf3 TCP through the tunnel" \
	sh -c "ip netns exec $nsC iperf3 -c 100.64.0.2 -t 2 -J | jq -e '.end.sum_received.bytes > 0'"
ip netns exec "$nsS" iperf3 -s -D -1 -B 100.64.0.2 >/dev/null 2>&1
slowwait 10 sh -c "ip netns exec $nsS ss -ltn | grep -q ':5201'"
check "iperf3 UDP through the tunnel" \
	sh -c "ip netns exec $nsC iperf3 -u -b 20M -c 100.64.0.2 -t 2 -J |
	       jq -e '.end.sum.packets > 0 and .end.sum.lost_percent < 50'"

# Rekey in the middle of a TCP transfer: next keys on both ends, then swap.
key cs2; key sc2
authc=$(pstat "$nsC" 1 drops.auth)
auths=$(pstat "$nsS" 2 drops.auth)
ip netns exec "$nsS" iperf3 -s -D -1 -B 100.64.0.2 >/dev/null 2>&1
slowwait 10 sh -c "ip netns exec $nsS ss -ltn | grep -q ':5201'"
ip netns exec "$nsC" iperf3 -c 100.64.0.2 -t 6 -J >"$tmp/rekey.json" 2>&1 &
iperf=$!
sent=$(pstat "$nsC" 1 tx_counter)
slowwait 10 sh -c "[ \$(veil -n $nsC -j peer show dev veil0 id 1 | jq .[0].tx_counter) -gt $((sent + 200)) ]"
veil -n "$nsC" peer set dev veil0 id 1 next-tx-key "$tmp/cs2" next-rx-key "$tmp/sc2"
veil -n "$nsS" peer set dev veil0 id 2 next-tx-key "$tmp/sc2" next-rx-key "$tmp/cs2"
veil -n "$nsC" peer key-swap dev veil0 id 1
veil -n "$nsS" peer key-swap dev veil0 id 2
wait "$iperf"
rc=$?
check "a rekey under running iperf3 loses no connection" \
	sh -c "[ $rc = 0 ] && jq -e '.end.sum_received.bytes > 0' $tmp/rekey.json"
check "both ends now send in key phase 1" \
	test "$(pstat "$nsC" 1 key_phase)$(pstat "$nsS" 2 key_phase)" = 11
check "no packet failed authentication during the rekey" \
	test "$(pstat "$nsC" 1 drops.auth)$(pstat "$nsS" 2 drops.auth)" = "$authc$auths"
expect_fail "key-swap without next keys is refused" "no next keys" \
	veil -n "$nsC" peer key-swap dev veil0 id 1

auth=$(pstat "$nsS" 2 drops.auth)
replay=$(pstat "$nsS" 2 drops.replay)
check "a captured packet is re-sent, tampered and as is" \
	ip netns exec "$nsC" python3 "$(dirname "$0")/veil_inject.py" vC 192.0.2.2 4500 \
		ping -c 3 -i 0.2 -W 1 100.64.0.2
check "the tampered packet fails authentication and is counted" \
	test "$(pstat "$nsS" 2 drops.auth)" -gt "$auth"
check "the replayed packet is dropped and counted" \
	test "$(pstat "$nsS" 2 drops.replay)" -gt "$replay"

veil -n "$nsS" peer set dev veil0 id 2 tx-key "$tmp/sc" rx-key "$tmp/bad"
auth=$(pstat "$nsS" 2 drops.auth)
check "with a wrong key nothing is delivered" \
	sh -c "! ip netns exec $nsC ping -c 2 -i 0.2 -W 1 100.64.0.2"
check "and every packet fails authentication" test "$(pstat "$nsS" 2 drops.auth)" -ge $((auth + 2))
veil -n "$nsS" peer set dev veil0 id 2 tx-key "$tmp/sc" rx-key "$tmp/cs"
veil -n "$nsC" peer set dev veil0 id 1 tx-key "$tmp/cs" rx-key "$tmp/sc"

# nsD claims nsC's secure address: the server refuses the inner source.
ip -n "$nsD" addr add 100.64.0.1/32 dev veil0
src=$(pstat "$nsS" 4 drops.source)
ip netns exec "$nsD" ping -c 2 -i 0.2 -W 1 -I 100.64.0.1 100.64.0.2 >/dev/null 2>&1
check "a spoofed inner source is dropped and counted" \
	test "$(pstat "$nsS" 4 drops.source)" -ge $((src + 2))

# Roaming: the client's underlay address changes; the server follows.
veil -n "$nsS" -j monitor >"$tmp/events-s" &
monitor_s=$!
slowwait 5 sh -c "ip netns exec $nsS ss -f netlink -p | grep -q veil"
ip -n "$nsC" addr add 192.0.2.11/24 dev vC
ip -n "$nsC" route add 192.0.2.2/32 dev vC src 192.0.2.11
check "after roaming, traffic still flows" \
	ip netns exec "$nsC" ping -c 2 -i 0.2 -W 2 100.64.0.2
check "the server learned the new endpoint" \
	test "$(pstat "$nsS" 2 endpoint)" = "192.0.2.11:4500"
check "veil monitor reported the move" \
	slowwait 5 sh -c "jq -e 'select(.event == \"endpoint\" and .id == 2 and
		.endpoint == \"192.0.2.11:4500\")' $tmp/events-s"
kill "$monitor_s"

# IPv6 underlay.
veil -n "$nsC" peer set dev veil0 id 1 endpoint "[2001:db8::2]:4500"
check "ping through a tunnel over IPv6" \
	ip netns exec "$nsC" ping -c 2 -i 0.2 -W 2 100.64.0.2
check "the server sees the client's IPv6 endpoint" \
	test "$(pstat "$nsS" 2 endpoint)" = "[2001:db8::1]:4500"

# Keepalives: an idle tunnel sends empty authenticated packets.
slowwait 15 sh -c "[ \$(veil -n $nsS -j peer show dev veil0 id 4 | jq .[0].last_rx_ms) -gt 2500 ]"
rx=$(pstat "$nsS" 4 stats.rx_packets)
veil -n "$nsD" peer set dev veil0 id 3 keepalive 1
check "keepalives refresh an idle tunnel's last receive time" \
	slowwait 10 sh -c "[ \$(veil -n $nsS -j peer show dev veil0 id 4 | jq .[0].last_rx_ms) -lt 2000 ]"
check "and deliver no packet" test "$(pstat "$nsS" 4 stats.rx_packets)" = "$rx"

# Key exhaustion: a rekey event past rekey_after, no sending past reject_after.
params=/sys/module/veil/parameters
veil -n "$nsD" -j monitor >"$tmp/events-d" &
monitor_d=$!
slowwait 5 sh -c "ip netns exec $nsD ss -f netlink -p | grep -q veil"
echo $(($(pstat "$nsD" 3 tx_counter) + 2)) >"$params/rekey_after"
ip netns exec "$nsD" ping -c 4 -i 0.2 -W 1 100.64.0.2 >/dev/null 2>&1
check "a key past rekey_after raises one rekey event" \
	slowwait 5 sh -c "[ \$(jq -s 'map(select(.event == \"rekey\" and .id == 3)) | length' \
		$tmp/events-d) = 1 ]"
kill "$monitor_d"
nokey=$(pstat "$nsD" 3 drops.nokey)
# tx_counter is the next counter to use: from now on nothing may be sent,
# whether a ping or a keepalive comes first.
pstat "$nsD" 3 tx_counter >"$params/reject_after"
check "a key at reject_after sends nothing more" \
	sh -c "! ip netns exec $nsD ping -c 3 -i 0.2 -W 1 100.64.0.2"
check "and counts what it refused" test "$(pstat "$nsD" 3 drops.nokey)" -ge $((nokey + 2))
echo $((1 << 59)) >"$params/rekey_after"
echo $((1 << 60)) >"$params/reject_after"
check "after resetting the limits the tunnel works again" \
	sh -c "veil -n $nsD peer set dev veil0 id 3 tx-key $tmp/ds rx-key $tmp/sd &&
	       veil -n $nsS peer set dev veil0 id 4 tx-key $tmp/sd rx-key $tmp/ds &&
	       ip netns exec $nsD ping -c 2 -i 0.2 -W 2 100.64.0.2"

veil -n "$nsC" peer del dev veil0 id 1
check "after peer del the destination is unreachable" \
	sh -c "! ip netns exec $nsC ping -c 1 -W 1 100.64.0.2"

# Unload with tunnels alive and packets in flight.
ip netns exec "$nsD" ping -q -c 3000 -i 0.001 -W 1 100.64.0.2 >/dev/null 2>&1 &
pinger=$!
sleep 0.5
check "unload the module while a tunnel carries traffic" modprobe -r veil
wait "$pinger"

ktap_finish
