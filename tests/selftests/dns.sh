#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DNS interception with real clients (dig, host, getent, Python) and a real
# resolver (unbound): names in a secure zone are answered by the kernel
# from its cache, whatever resolver is asked; every other query reaches the
# resolver and comes back byte for byte as without veil.
#
#   nsA (client) 10.53.0.1/24 ---- nsR (unbound) 10.53.0.53/24
#   nsB (client) 10.54.0.1/24 ---- nsR           10.54.0.53/24
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_cmd ip modprobe dig host getent unbound python3 jq veil veil_dnsd

ktap_plan 49

modprobe veil
new_netns nsA
new_netns nsB
new_netns nsR
tmp=$(mktemp -d /tmp/veil-dns.XXXXXX)
trap 'cleanup_netns; [ -f "$tmp/unbound.pid" ] && kill "$(cat "$tmp/unbound.pid")" 2>/dev/null;
      rm -rf "$tmp" "/etc/netns/$nsA"' EXIT

ip link add vA netns "$nsA" type veth peer name rA netns "$nsR"
ip link add vB netns "$nsB" type veth peer name rB netns "$nsR"
ip -n "$nsA" addr add 10.53.0.1/24 dev vA
ip -n "$nsB" addr add 10.54.0.1/24 dev vB
ip -n "$nsR" addr add 10.53.0.53/24 dev rA
ip -n "$nsR" addr add 10.54.0.53/24 dev rB
for l in "$nsA vA" "$nsB vB" "$nsR rA" "$nsR rB" "$nsA lo" "$nsB lo" "$nsR lo"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
# getent and host read resolv.conf; ip netns exec binds this one over it.
mkdir -p "/etc/netns/$nsA"
echo "nameserver 10.53.0.53" >"/etc/netns/$nsA/resolv.conf"

cat >"$tmp/unbound.conf" <<CONF
server:
	interface: 10.53.0.53
	interface: 10.54.0.53
	access-control: 10.0.0.0/8 allow
	do-ip6: no
	chroot: ""
	username: ""
	directory: "$tmp"
	pidfile: "$tmp/unbound.pid"
	use-syslog: no
	logfile: "$tmp/unbound.log"
	log-queries: yes
	verbosity: 1
	module-config: "iterator"
	local-zone: "example.org." static
	local-data: "www.example.org. 300 IN A 192.0.2.80"
	local-data: "www.example.org. 300 IN AAAA 2001:db8::80"
	local-data: "txt.example.org. 300 IN TXT \"plain\""
	local-zone: "corp.example." static
	local-data: "web.corp.example. 300 IN A 198.51.100.99"
	local-data: "alias.example.org. 300 IN CNAME web.corp.example."
	local-data: "gone-alias.example.org. 300 IN CNAME gone.corp.example."
	local-data: "late.example.org. 300 IN CNAME late.corp.example."
	local-data: "plain-alias.example.org. 300 IN CNAME www.example.org."
CONF
ip netns exec "$nsR" unbound -c "$tmp/unbound.conf"
slowwait 10 sh -c "ip netns exec $nsR ss -lun | grep -q 10.53.0.53:53"

# raw NS SERVER NAME TYPE: the resolver's answer to a fixed query, in hex
raw()
{
	ip netns exec "$1" python3 - "$2" "$3" "$4" <<'PY'
import socket, struct, sys
server, name, qtype = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 1)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack("!HH", qtype, 1) + bytes.fromhex("0000291000000000000000")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
print(s.recv(4096).hex())
PY
}

# d NS ARGS...: dig, one try, short timeout
d()
{
	local ns=$1
	shift
	ip netns exec "$ns" dig +tries=1 +time=3 "$@"
}

raw "$nsA" 10.53.0.53 www.example.org 1 >"$tmp/plain-a"
raw "$nsA" 10.53.0.53 txt.example.org 16 >"$tmp/plain-txt"
raw "$nsA" 10.53.0.53 plain-alias.example.org 1 >"$tmp/plain-alias"
check "before any zone, a name of the zone to be comes from the resolver" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -qx 198.51.100.99"

: >"$tmp/unbound.log"	# from here on, it must not see the secure names
check "add a secure zone and answers" \
	sh -c "veil -n $nsA zone add corp.example &&
	       veil -n $nsA cache add web.corp.example 100.64.7.1 fd00:64::7 ttl 3600 &&
	       veil -n $nsA cache add gone.corp.example nxdomain ttl 300"

check "ordinary names: the answer is byte for byte the resolver's (A)" \
	test "$(raw "$nsA" 10.53.0.53 www.example.org 1)" = "$(cat "$tmp/plain-a")"
check "ordinary names: byte for byte (TXT)" \
	test "$(raw "$nsA" 10.53.0.53 txt.example.org 16)" = "$(cat "$tmp/plain-txt")"
check "dig +short of an ordinary name" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 www.example.org | grep -qx 192.0.2.80"

d "$nsA" @10.53.0.53 web.corp.example A >"$tmp/a"
check "a secure name is answered by veil, not the resolver" grep -qE 'IN	A	100\.64\.7\.1$' "$tmp/a"
check "as an authoritative NOERROR" grep -q 'status: NOERROR' "$tmp/a"
check "with a TTL no longer than what is left" \
	sh -c "awk '/IN	A	100.64.7.1/ { exit !(\$2 <= 3600 && \$2 > 0) }' $tmp/a"
check "the resolver never saw the secure name" sh -c "! grep -q 'web.corp.example' $tmp/unbound.log"
check "AAAA" sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example AAAA | grep -qx fd00:64::7"
d "$nsA" @10.53.0.53 web.corp.example MX >"$tmp/mx"
check "MX: NOERROR with no data" \
	sh -c "grep -q 'status: NOERROR' $tmp/mx && grep -q 'ANSWER: 0' $tmp/mx"
check "and the zone's SOA in the authority section" grep -qE '^corp\.example\..*SOA' "$tmp/mx"
d "$nsA" @10.53.0.53 gone.corp.example A >"$tmp/nx"
check "a negative entry answers NXDOMAIN" grep -q 'status: NXDOMAIN' "$tmp/nx"
check "with the SOA, shaped like a name that does not exist" \
	sh -c "grep -q 'AUTHORITY: 1' $tmp/nx && grep -qE '^corp\.example\..*SOA.*ns\.corp\.example\. hostmaster\.corp\.example\.' $tmp/nx"
d "$nsA" @10.53.0.53 WeB.CoRp.ExAmPlE A >"$tmp/case"
check "the question keeps the letter case it was asked with" grep -q '^;WeB.CoRp.ExAmPlE.' "$tmp/case"
check "EDNS is echoed with veil's UDP size" grep -q 'udp: 1232' "$tmp/a"
check "no EDNS in, no EDNS out" \
	sh -c "ip netns exec $nsA dig +noedns +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -q 'ADDITIONAL: 0'"
check "a query to a loopback resolver (127.0.0.53) is answered too" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @127.0.0.53 web.corp.example | grep -qx 100.64.7.1"
check "and to any remote address, even one no server has" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.99 web.corp.example | grep -qx 100.64.7.1"
check "over IPv6 to ::1" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @::1 web.corp.example | grep -qx 100.64.7.1"
check "getent hosts through the system resolver" \
	sh -c "ip netns exec $nsA getent ahostsv4 web.corp.example | grep -q '^100.64.7.1 '"
check "host" sh -c "ip netns exec $nsA host -t A web.corp.example | grep -q 'has address 100.64.7.1'"
check "Python's getaddrinfo" \
	sh -c "ip netns exec $nsA python3 -c 'import socket; print(socket.gethostbyname(\"web.corp.example\"))' | grep -qx 100.64.7.1"
d "$nsA" @10.53.0.53 unknown.corp.example A >"$tmp/miss"
check "with no listener, a name with nothing cached gets SERVFAIL at once" \
	sh -c "grep -q 'status: SERVFAIL' $tmp/miss && ! grep -q 'unknown.corp.example' $tmp/unbound.log"

# A listener decides what nothing in the cache says yet.
ip netns exec "$nsA" veil_dnsd 120 new.corp.example=100.64.7.21,fd00:64::21 \
	nx.corp.example=nxdomain sf.corp.example=servfail slow.corp.example=ignore \
	twice.corp.example=100.64.7.22 late.corp.example=100.64.7.30 >"$tmp/dnsd" 2>&1 &
dnsd=$!
slowwait 10 grep -q ready "$tmp/dnsd"
check "a miss is held and answered by the listener's verdict" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=5 @10.53.0.53 new.corp.example | grep -qx 100.64.7.21"
check "the event named the name, the type and the querier" \
	grep -qE '^query [0-9]+ new.corp.example 1 10.53.0.1$' "$tmp/dnsd"
check "the verdict filled the cache" \
	sh -c "veil -n $nsA -j cache show new.corp.example | jq -e '.[0].addrs == [\"100.64.7.21\", \"fd00:64::21\"]'"
check "so the next query (AAAA) is answered without an event" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=5 @10.53.0.53 new.corp.example AAAA | grep -qx fd00:64::21 &&
	       [ \$(grep -c ' new.corp.example ' $tmp/dnsd) = 1 ]"
d "$nsA" @10.53.0.53 nx.corp.example A >"$tmp/nx2"
check "an NXDOMAIN verdict answers NXDOMAIN with the SOA" \
	sh -c "grep -q 'status: NXDOMAIN' $tmp/nx2 && grep -qE '^corp\.example\..*SOA' $tmp/nx2"
d "$nsA" @10.53.0.53 sf.corp.example A >"$tmp/sf"
check "a SERVFAIL verdict answers SERVFAIL and caches nothing" \
	sh -c "grep -q 'status: SERVFAIL' $tmp/sf && ! veil -n $nsA cache show sf.corp.example 2>/dev/null"
start=$(date +%s%N)
d "$nsA" @10.53.0.53 slow.corp.example A >"$tmp/slow"
ms=$((($(date +%s%N) - start) / 1000000))
check "a query without a verdict gets SERVFAIL after the timeout" \
	sh -c "grep -q 'status: SERVFAIL' $tmp/slow && [ $ms -ge 1500 ]"
ip netns exec "$nsA" dig +short +tries=1 +time=5 @10.53.0.53 twice.corp.example >"$tmp/t1" &
first=$!
ip netns exec "$nsA" dig +short +tries=1 +time=5 @10.53.0.53 twice.corp.example >"$tmp/t2"
wait "$first"
check "queries held for one name are all answered by one verdict" \
	sh -c "grep -qx 100.64.7.22 $tmp/t1 && grep -qx 100.64.7.22 $tmp/t2"
check "a verdict for a query that is not held is refused (ENOENT)" \
	sh -c "ip netns exec $nsA veil_dnsd verdict 999999 | grep -q 'error 2 .*no query is held'"
# CNAME aliases: a public name whose chain ends in a secure zone.
d "$nsA" @10.53.0.53 alias.example.org A >"$tmp/alias"
check "an alias into a secure zone is rewritten to the secure address" \
	sh -c "grep -qE 'CNAME	web\.corp\.example\.$' $tmp/alias && grep -qE 'IN	A	100\.64\.7\.1$' $tmp/alias"
check "and the resolver's address for the target never reaches the client" \
	sh -c "! grep -q 198.51.100.99 $tmp/alias"
check "AAAA through an alias" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=5 @10.53.0.53 alias.example.org AAAA | tail -1 | grep -qx fd00:64::7"
d "$nsA" @10.53.0.53 gone-alias.example.org A >"$tmp/galias"
check "an alias of a name cached as NXDOMAIN becomes NXDOMAIN, with the CNAME and the SOA" \
	sh -c "grep -q 'status: NXDOMAIN' $tmp/galias && grep -q 'CNAME' $tmp/galias && grep -qE '^corp\.example\..*SOA' $tmp/galias"
check "an alias of a name not cached yet waits for the verdict" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=5 @10.53.0.53 late.example.org | tail -1 | grep -qx 100.64.7.30 &&
	       grep -qE '^query [0-9]+ late.corp.example 1 ' $tmp/dnsd"
check "an alias that stays outside the zones is byte for byte the resolver's" \
	test "$(raw "$nsA" 10.53.0.53 plain-alias.example.org 1)" = "$(cat "$tmp/plain-alias")"

echo 0 >/sys/module/veil/parameters/dns_pending_max
d "$nsA" @10.53.0.53 full.corp.example A >"$tmp/full"
check "with the table full, SERVFAIL at once" grep -q 'status: SERVFAIL' "$tmp/full"
echo 256 >/sys/module/veil/parameters/dns_pending_max
kill "$dnsd" 2>/dev/null
wait "$dnsd" 2>/dev/null

# Malformed queries: passed to the resolver unless they name a secure name.
ip netns exec "$nsA" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hdr = bytes.fromhex("424301000001000000000000")
bad = [b"\x00", hdr[:5], hdr + b"\x01",                   # truncated
       hdr + b"\xc0\x0c\x00\x01\x00\x01",                # pointer loop in the question
       hdr + b"\x01a" * 200 + b"\x00\x00\x01\x00\x01",   # 200 labels
       hdr + b"\x3fcorp" + b"\x00" * 60]                 # label past the end
for b in bad:
    s.sendto(b, ("10.53.0.53", 53))
PY
check "malformed queries do not stop veil answering" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -qx 100.64.7.1"

# Broken and hostile responses to the response hook: each reaches the
# client exactly as the resolver sent it.
ip -n "$nsR" addr add 10.53.0.54/24 dev rA
ip netns exec "$nsR" python3 "$here/veil_dns_evil.py" serve 10.53.0.54 60 >"$tmp/evil" 2>&1 &
evil=$!
slowwait 10 grep -q ready "$tmp/evil"
ip netns exec "$nsA" python3 "$here/veil_dns_evil.py" ask 10.53.0.54 >"$tmp/evil-ask" 2>&1
check "12 malformed responses (truncated, pointer loops, 200 labels, CNAME loops, bad lengths) pass untouched" \
	sh -c "[ \$(grep -c '^same ' $tmp/evil-ask) = 12 ]"
kill "$evil" 2>/dev/null
wait "$evil" 2>/dev/null
check "and veil still answers and rewrites" \
	sh -c "ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -qx 100.64.7.1 &&
	       ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 alias.example.org | tail -1 | grep -qx 100.64.7.1"

# The whole flow in two namespaces at once: each has its own zone, cache,
# listener and verdicts for the same names, and both run concurrently.
check "another namespace has its own zones and answers" \
	sh -c "veil -n $nsB zone add corp.example &&
	       veil -n $nsB cache add web.corp.example 100.64.9.9 ttl 60 &&
	       veil -n $nsB cache add gone.corp.example nxdomain ttl 300 &&
	       ip netns exec $nsB dig +short +tries=1 +time=3 @10.54.0.53 web.corp.example | grep -qx 100.64.9.9 &&
	       ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -qx 100.64.7.1"
veil -n "$nsA" cache add gone.corp.example nxdomain ttl 300
ip netns exec "$nsA" veil_dnsd 60 both.corp.example=100.64.7.50 both2.corp.example=nxdomain \
	>"$tmp/dnsdA" 2>&1 &
dA=$!
ip netns exec "$nsB" veil_dnsd 60 both.corp.example=100.64.9.50 both2.corp.example=100.64.9.51 \
	>"$tmp/dnsdB" 2>&1 &
dB=$!
slowwait 10 grep -q ready "$tmp/dnsdA"
slowwait 10 grep -q ready "$tmp/dnsdB"
flow()	# NS SERVER: the flow's answers, one per line
{
	local q
	for q in web.corp.example both.corp.example both2.corp.example gone.corp.example \
		 alias.example.org www.example.org; do
		echo "$q $(ip netns exec "$1" dig +tries=1 +time=5 @"$2" "$q" A |
			awk '/status:/ { s = $6 } /^[^;].*IN	A	/ { a = a " " $5 }
			     END { sub(",", "", s); print s a }')"
	done
}
for i in 1 2 3; do
	flow "$nsA" 10.53.0.53 >"$tmp/flowA$i" &
	flow "$nsB" 10.54.0.53 >"$tmp/flowB$i" &
done
wait $(jobs -p | grep -vx -e "$dA" -e "$dB") 2>/dev/null
cat >"$tmp/wantA" <<W
web.corp.example NOERROR 100.64.7.1
both.corp.example NOERROR 100.64.7.50
both2.corp.example NXDOMAIN
gone.corp.example NXDOMAIN
alias.example.org NOERROR 100.64.7.1
www.example.org NOERROR 192.0.2.80
W
cat >"$tmp/wantB" <<W
web.corp.example NOERROR 100.64.9.9
both.corp.example NOERROR 100.64.9.50
both2.corp.example NOERROR 100.64.9.51
gone.corp.example NXDOMAIN
alias.example.org NOERROR 100.64.9.9
www.example.org NOERROR 192.0.2.80
W
check "both namespaces at once, three rounds each: cache, verdicts, NXDOMAIN, alias, plain names" \
	sh -c "for i in 1 2 3; do diff $tmp/wantA $tmp/flowA\$i && diff $tmp/wantB $tmp/flowB\$i || exit 1; done"
check "each listener heard only its own namespace's misses" \
	sh -c "for x in 'A 10.53.0.1' 'B 10.54.0.1'; do set -- \$x;
	         grep -q '^query [0-9]* both.corp.example 1 '\$2\$ $tmp/dnsd\$1 &&
	         grep -q '^query [0-9]* both2.corp.example 1 '\$2\$ $tmp/dnsd\$1 &&
	         ! grep '^query ' $tmp/dnsd\$1 | grep -v ' both2*.corp.example 1 '\$2\$ || exit 1; done"
kill "$dA" "$dB" 2>/dev/null
wait "$dA" "$dB" 2>/dev/null
check "a zone deleted in one namespace stays in the other" \
	sh -c "veil -n $nsB zone del corp.example &&
	       ip netns exec $nsB dig +short +tries=1 +time=3 @10.54.0.53 web.corp.example | grep -qx 198.51.100.99 &&
	       ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -qx 100.64.7.1"
check "with no zone left, the resolver answers everything again" \
	sh -c "veil -n $nsA zone del corp.example &&
	       ip netns exec $nsA dig +short +tries=1 +time=3 @10.53.0.53 web.corp.example | grep -qx 198.51.100.99"
check "unload the module with zones in place" \
	sh -c "veil -n $nsA zone add corp.example && modprobe -r veil"

ktap_finish
