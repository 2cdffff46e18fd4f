#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A gateway in front of a private network: 1:1 inner address translation
# (the target sees the client under a local alias, the client talks to a
# secure IP), checksums of what is rewritten, ICMP errors quoting
# translated headers, TCP MSS clamping and path MTU over a small underlay.
#
#   nsC (client)                 nsG (gateway)                nsT (target)
#   veil0 100.64.0.1             veil0, forwarding            vT 10.9.0.2/24
#         fd00:64::1                                             fd00:9::2/64
#   vC 192.0.2.1/24 ------------ vG 192.0.2.2/24
#                                vG2 10.9.0.1/24 ------------ vT
#                                    fd00:9::1/64
#   talks to 100.64.7.1          translate-src 100.64.0.1=100.80.0.9
#                                translate-dst 100.64.7.1=10.9.0.2
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe ping curl nginx python3 jq veil

ktap_plan 31

modprobe veil
new_netns nsC
new_netns nsG
new_netns nsT
tmp=$(mktemp -d /tmp/veil-xlat.XXXXXX)
trap 'cleanup_netns; [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; rm -rf "$tmp"' EXIT
sniffer="python3 $(dirname "$0")/veil_sniff.py"

key()
{
	(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/$1")
}
key cg; key gc

ip link add vC netns "$nsC" type veth peer name vG netns "$nsG"
ip link add vG2 netns "$nsG" type veth peer name vT netns "$nsT"
ip -n "$nsC" addr add 192.0.2.1/24 dev vC
ip -n "$nsG" addr add 192.0.2.2/24 dev vG
ip -n "$nsG" addr add 10.9.0.1/24 dev vG2
ip -n "$nsG" addr add fd00:9::1/64 dev vG2 nodad
ip -n "$nsT" addr add 10.9.0.2/24 dev vT
ip -n "$nsT" addr add fd00:9::2/64 dev vT nodad
for l in "$nsC vC" "$nsG vG" "$nsG vG2" "$nsT vT"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip -n "$nsT" route add default via 10.9.0.1
ip -n "$nsT" -6 route add default via fd00:9::1
ip netns exec "$nsG" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

for ns in "$nsC" "$nsG"; do
	ip -n "$ns" link add veil0 type veil
	ip -n "$ns" link set veil0 up
	veil -n "$ns" link set dev veil0 port 4500
done
ip -n "$nsC" addr add 100.64.0.1/32 dev veil0
ip -n "$nsC" addr add fd00:64::1/128 dev veil0 nodad
ip -n "$nsC" route add 100.64.7.1/32 dev veil0
ip -n "$nsC" route add fd00:64:7::1/128 dev veil0
ip -n "$nsG" route add 100.80.0.0/16 dev veil0
ip -n "$nsG" route add fd00:80::/64 dev veil0

veil -n "$nsC" peer add dev veil0 id 1 remote-id 2 endpoint 192.0.2.2:4500 \
	tx-key "$tmp/cg" rx-key "$tmp/gc" allowed 100.64.7.1/32,fd00:64:7::1/128 \
	ports tcp/80,udp/9000-9999,icmp
veil -n "$nsG" peer add dev veil0 id 2 remote-id 1 endpoint 192.0.2.1:4500 \
	tx-key "$tmp/gc" rx-key "$tmp/cg" allowed 100.80.0.9/32,fd00:80::9/128 \
	ports tcp/80,udp/9000-9999,icmp role server \
	translate-src 100.64.0.1=100.80.0.9 translate-dst 100.64.7.1=10.9.0.2

pstat()	# NS ID JQ-PATH
{
	veil -n "$1" -j peer show dev veil0 id "$2" | jq -r ".[0].$3"
}

# sniff NS IFACE NAME: capture in the background into $tmp/NAME until
# sniff_stop (60 s at most)
sniffers=
sniff()
{
	ip netns exec "$1" $sniffer "$2" 60 "$tmp/$3" &
	sniffers="$sniffers $!"
	slowwait 5 test -f "$tmp/$3.ready"
}

sniff_stop()
{
	sleep 0.5	# what is in flight lands
	kill $sniffers 2>/dev/null
	wait $sniffers 2>/dev/null
	sniffers=
}

check "peer show prints the translation" \
	sh -c "veil -n $nsG peer show dev veil0 id 2 |
	       grep -q 'translate-src 100.64.0.1=100.80.0.9 translate-dst 100.64.7.1=10.9.0.2'"
check "and -j has it as an object" \
	test "$(pstat "$nsG" 2 translate.dst)" = "100.64.7.1=10.9.0.2"

cat >"$tmp/nginx.conf" <<NGINX
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 64; }
http {
	log_format who '\$remote_addr \$server_addr';
	access_log $tmp/access.log who;
	client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp;
	uwsgi_temp_path $tmp; scgi_temp_path $tmp;
	server {
		listen 80; listen [::]:80;
		location / { return 200 "target-ok\n"; }
		location /big { alias $tmp/big; }
	}
}
NGINX
head -c 2000000 /dev/urandom >"$tmp/big"
ip netns exec "$nsT" nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log"
slowwait 10 test -f "$tmp/nginx.pid"

sniff "$nsT" vT target
sniff "$nsC" veil0 client
sniff "$nsG" vG2 gwin
check "ping the secure IP: the target answers through the gateway" \
	ip netns exec "$nsC" ping -c 2 -i 0.2 -W 2 100.64.7.1
check "curl to the secure IP reaches nginx on the private target" \
	sh -c "ip netns exec $nsC curl -s --max-time 10 http://100.64.7.1/ | grep -q target-ok"
check "the target sees the client's local alias and its own address" \
	grep -q '^100.80.0.9 10.9.0.2$' "$tmp/access.log"
# UDP to a closed port: the target's ICMP error quotes the translated
# header; translated back, it reaches the client's socket.
check "an ICMP error quoting a translated header reaches the client socket" \
	ip netns exec "$nsC" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("100.64.7.1", 9999))
for _ in range(3):
    s.send(b"x")
    try:
        s.recv(10)
    except ConnectionRefusedError:
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)'
sniff_stop
check "packets reaching the target have valid checksums" \
	jq -se 'map(select(.src == "100.80.0.9")) | length > 5 and all(.csum_ok)' "$tmp/target"
check "they carry TCP, UDP and ICMP" \
	jq -se '[.[] | select(.src == "100.80.0.9") | .proto] | unique == [1, 6, 17]' "$tmp/target"
check "packets the client receives have valid checksums" \
	jq -se 'map(select(.src == "100.64.7.1")) | length > 5 and all(.csum_ok)' "$tmp/client"
check "the client's ICMP error quotes its own addresses" \
	jq -se 'map(select(.quoted)) | .[0].quoted == ["100.64.0.1", "100.64.7.1"]' "$tmp/client"
check "the target's ICMP error quoted the translated addresses" \
	jq -se 'map(select(.quoted)) | .[0].quoted == ["100.80.0.9", "10.9.0.2"]' "$tmp/gwin"
check "nothing reached the target untranslated" \
	jq -se 'map(select(.src == "100.64.0.1" or .dst == "100.64.7.1")) | length == 0' \
	"$tmp/target"

# IPv6 inner addresses: the translation is replaced whole.
veil -n "$nsG" peer set dev veil0 id 2 \
	translate-src fd00:64::1=fd00:80::9 translate-dst fd00:64:7::1=fd00:9::2
sniff "$nsT" vT target6
check "IPv6: curl to the secure IP reaches the target" \
	sh -c "ip netns exec $nsC curl -s --max-time 10 'http://[fd00:64:7::1]/' | grep -q target-ok"
check "IPv6: the target sees the local alias" grep -q '^fd00:80::9 fd00:9::2$' "$tmp/access.log"
sniff_stop
check "IPv6: TCP checksums are valid after translation" \
	jq -se 'map(select(.src == "fd00:80::9" and .proto == 6)) | length > 3 and all(.csum_ok)' \
	"$tmp/target6"
check "IPv6 translation replaced the IPv4 one" \
	sh -c "! ip netns exec $nsC ping -c 1 -W 1 100.64.7.1"

# Without translation the client's own address is not allowed at the gateway.
veil -n "$nsG" peer set dev veil0 id 2 translate-src none translate-dst none
src=$(pstat "$nsG" 2 drops.source)
check "without translation nothing reaches the target" \
	sh -c "! ip netns exec $nsC curl -s --max-time 3 http://100.64.7.1/"
check "and the gateway counts the disallowed inner source" \
	test "$(pstat "$nsG" 2 drops.source)" -gt "$src"
check "peer show no longer prints a translation" \
	test "$(pstat "$nsG" 2 translate)" = null
expect_fail "a translation pair of two families is refused" "same family" \
	veil -n "$nsG" peer set dev veil0 id 2 translate-src 100.64.0.1=fd00:80::9
expect_fail "a half pair is refused" "ADDR=ADDR" \
	veil -n "$nsG" peer set dev veil0 id 2 translate-dst 100.64.7.1
veil -n "$nsG" peer set dev veil0 id 2 \
	translate-src 100.64.0.1=100.80.0.9 translate-dst 100.64.7.1=10.9.0.2

# A small underlay: 1300 bytes leave room for 1240-byte inner packets.
ip -n "$nsC" link set vC mtu 1300
ip -n "$nsG" link set vG mtu 1300
ip -n "$nsG" route flush cache
ip -n "$nsC" route flush cache
sniff "$nsT" vT mss
check "a download through the small underlay completes" \
	sh -c "ip netns exec $nsC curl -s --max-time 30 http://100.64.7.1/big |
	       cmp -s - $tmp/big"
sniff_stop
check "the client's SYN reaches the target with its MSS clamped to 1200" \
	jq -se 'map(select(.mss)) | .[0].mss == 1200' "$tmp/mss"
sniff "$nsC" veil0 mss-back
ip netns exec "$nsC" curl -s --max-time 10 -o /dev/null http://100.64.7.1/
sniff_stop
check "the target's SYN-ACK reaches the client clamped to 1200" \
	jq -se 'map(select(.mss)) | .[0].mss == 1200' "$tmp/mss-back"

ip netns exec "$nsC" ping -M do -s 1300 -c 2 -i 0.3 -W 1 100.64.7.1 >"$tmp/ping-big" 2>&1
check "a local sender of a too-big DF packet learns the tunnel's MTU" \
	grep -qE 'mtu ?= ?1240' "$tmp/ping-big"
check "the route to the secure IP now has a PMTU of 1240" \
	sh -c "ip -n $nsC route get 100.64.7.1 | grep -q 'mtu 1240'"
check "a packet of exactly that size passes" \
	ip netns exec "$nsC" ping -M do -s 1212 -c 2 -i 0.2 -W 2 100.64.7.1
ip netns exec "$nsT" ping -M do -s 1300 -c 2 -i 0.3 -W 1 100.80.0.9 >"$tmp/ping-fwd" 2>&1
check "a forwarded too-big DF packet gets ICMP fragmentation needed" \
	grep -qE 'mtu ?= ?1240' "$tmp/ping-fwd"
check "the target reaches the client's alias with packets that fit" \
	ip netns exec "$nsT" ping -M do -s 1212 -c 2 -i 0.2 -W 2 100.80.0.9
veil -n "$nsG" peer set dev veil0 id 2 \
	translate-src fd00:64::1=fd00:80::9 translate-dst fd00:64:7::1=fd00:9::2
ip netns exec "$nsT" ping -6 -M do -s 1300 -c 3 -i 0.3 -W 1 fd00:80::9 >"$tmp/ping6" 2>&1
check "IPv6: a too-big packet gets ICMPv6 packet too big (1280: the IPv6 minimum)" \
	sh -c "ip -n $nsT -6 route get fd00:80::9 | grep -q 'mtu 1280'"
check "IPv6: packets of 1280 bytes still pass (the outer packet fragments)" \
	ip netns exec "$nsT" ping -6 -M do -s 1232 -c 2 -i 0.2 -W 2 fd00:80::9

ktap_finish
