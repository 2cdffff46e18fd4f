#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A daemon's UDP socket adopted by a veil device (VEIL_A_DEV_SOCK_FD):
# tunnels over it, what the daemon still receives on it (STUN, DTLS) and
# what it does not (veil data), refusals, the daemon closing it or dying,
# dual-stack and single-family sockets, and handing it back as a plain UDP
# socket on replace, port 0, device deletion and module unload.
#
#   nsC (client, module's own socket)     nsS (server, veil_sockfd's socket)
#   veil0 100.64.0.1, port 4500           veil0 100.64.0.2 (veil1: spare)
#   vC 192.0.2.1/24 --------------------- vS 192.0.2.2/24, 192.0.2.12/24
#      2001:db8::1/64                        2001:db8::2/64
#   id 1 -> remote 2                      id 2 -> remote 1
#                                         nsX: a namespace of its own
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe ping curl python3 jq veil veil_sockfd dmesg

ktap_plan 48

modprobe veil
new_netns nsC
new_netns nsS
new_netns nsX
tmp=$(mktemp -d /tmp/veil-sockfd.XXXXXX)
hpid=
cleanup()
{
	[ -z "$hpid" ] || kill -9 "$hpid" 2>/dev/null
	[ -f "$tmp/http.pid" ] && kill "$(cat "$tmp/http.pid")" 2>/dev/null
	cleanup_netns
	rm -rf "$tmp"
}
trap cleanup EXIT
dmesg_start=$(dmesg | wc -l)

key()
{
	(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/$1")
}
key cs; key sc

ip link add vC netns "$nsC" type veth peer name vS netns "$nsS"
ip -n "$nsC" addr add 192.0.2.1/24 dev vC
ip -n "$nsC" addr add 2001:db8::1/64 dev vC nodad
ip -n "$nsS" addr add 192.0.2.2/24 dev vS
ip -n "$nsS" addr add 192.0.2.12/24 dev vS
ip -n "$nsS" addr add 2001:db8::2/64 dev vS nodad
ip -n "$nsC" link set vC up
ip -n "$nsS" link set vS up

devs()	# create veil0 on both ends (and veil1 in nsS), the client on port 4500
{
	ip -n "$nsC" link add veil0 type veil
	ip -n "$nsC" addr add 100.64.0.1/32 dev veil0
	ip -n "$nsC" link set veil0 up
	ip -n "$nsC" route add 100.64.0.2/32 dev veil0
	veil -n "$nsC" link set dev veil0 port 4500
	ip -n "$nsS" link add veil0 type veil
	ip -n "$nsS" addr add 100.64.0.2/32 dev veil0
	ip -n "$nsS" link set veil0 up
	ip -n "$nsS" route add 100.64.0.1/32 dev veil0
	ip -n "$nsS" link add veil1 type veil
}

# peers SERVER_EP CLIENT_EP: one tunnel between nsC and nsS.
peers()
{
	veil -n "$nsC" peer del dev veil0 id 1 2>/dev/null
	veil -n "$nsC" peer add dev veil0 id 1 remote-id 2 endpoint "$1" \
		tx-key "$tmp/cs" rx-key "$tmp/sc" allowed 100.64.0.2/32 || return 1
	veil -n "$nsS" peer add dev veil0 id 2 remote-id 1 endpoint "$2" \
		tx-key "$tmp/sc" rx-key "$tmp/cs" allowed 100.64.0.1/32
}

# The helper: commands on a fifo, one reply line each.
helper_start()
{
	rm -f "$tmp/in" "$tmp/out"
	mkfifo "$tmp/in" "$tmp/out"
	ip netns exec "$nsS" veil_sockfd <"$tmp/in" >"$tmp/out" 2>"$tmp/helper.err" &
	hpid=$!
	disown "$hpid"	# killed on purpose below: no job notice
	exec {hin}>"$tmp/in" {hout}<"$tmp/out"
	read -r -t 10 -u "$hout" reply && [ "$reply" = ready ]
}

h()	# COMMAND...: send one command, print its reply
{
	echo "$*" >&"$hin" || return 1
	reply=
	read -r -t 120 -u "$hout" reply
	echo "$reply"
	[ -n "$reply" ]
}

hfd()	# COMMAND...: the fd of an "ok FD" reply
{
	local r
	r=$(h "$@") || return 1
	[ "${r%% *}" = ok ] || { echo "helper: $r" >&2; return 1; }
	echo "${r#ok }"
}

# expect_err DESC ENAME PATTERN COMMAND...: the helper's request is refused
# with that errno and a kernel message matching PATTERN.
expect_err()
{
	local desc=$1 e=$2 pat=$3 r
	shift 3
	r=$(h "$@")
	if [[ $r == "err $e "* ]] && grep -qE -- "$pat" <<<"$r"; then
		ktap_ok "$desc"
		diag "$r"
	else
		ktap_fail "$desc"
		diag "got: $r; expected: err $e, message matching $pat"
	fi
}

link()	# NS JQ: a field of veil0's JSON
{
	veil -n "$1" -j link show dev veil0 | jq -r ".[0].$2"
}

pstat()	# NS ID JQ
{
	veil -n "$1" -j peer show dev veil0 id "$2" | jq -r ".[0].$3"
}

npeers()	# NS
{
	veil -n "$1" -j peer show dev veil0 | jq length
}

tunnel_up()
{
	ip netns exec "$nsC" ping -c 2 -i 0.2 -W 2 100.64.0.2
}

tunnel_down()
{
	! ip netns exec "$nsC" ping -c 2 -i 0.2 -W 1 100.64.0.2
}

send()	# ADDR PORT HEX: one datagram from nsC
{
	ip netns exec "$nsC" veil_sockfd send "$@"
}

gone()	# the daemon's socket went away: no tunnel, no port
{
	slowwait 10 sh -c "[ \$(veil -n $nsS -j peer show dev veil0 | jq length) = 0 ]" &&
	[ "$(link "$nsS" listen_port)" = null ] && [ "$(link "$nsS" socket)" = null ]
}

devs
helper_start || { diag "veil_sockfd did not start: $(cat "$tmp/helper.err")"; exit 1; }

# --- a tunnel over the adopted socket -------------------------------------
fd=$(hfd udp4 192.0.2.12 5000)
check "the daemon's bound UDP socket is adopted" test "$(h adopt veil0 "$fd")" = ok
check "veil -j link show: its port, socket adopted" \
	test "$(link "$nsS" listen_port) $(link "$nsS" socket)" = "5000 adopted"
check "veil link show (text) says socket adopted" \
	sh -c "veil -n $nsS link show veil0 | grep -qE ': mtu 1420 listen-port 5000 socket adopted( |$)'"
check "the module's own socket shows as socket own" \
	test "$(link "$nsC" socket)" = own
peers 192.0.2.12:5000 192.0.2.1:4500
check "ping through a tunnel over the adopted socket" tunnel_up
mkdir -p "$tmp/www" && echo veil-ok >"$tmp/www/index.html"
ip netns exec "$nsS" python3 -m http.server -b 100.64.0.2 -d "$tmp/www" 8080 \
	>/dev/null 2>&1 &
echo $! >"$tmp/http.pid"
slowwait 30 sh -c "ip netns exec $nsS ss -ltn | grep -q '100.64.0.2:8080'"
curl_ok()
{
	local out
	out=$(ip netns exec "$nsC" curl -sS --max-time 20 http://100.64.0.2:8080/ 2>&1)
	echo "$out"
	grep -q veil-ok <<<"$out"
}
check "curl through the tunnel" curl_ok
check "replies leave from the socket's bound address (no roaming)" \
	test "$(pstat "$nsC" 1 endpoint)" = "192.0.2.12:5000"
check "the daemon received none of the veil data" test "$(h pending "$fd")" = "count 0 veil 0"
send 192.0.2.12 5000 000100002112a442
check "a STUN-like datagram (first byte 0) reaches the daemon" \
	test "$(h recv "$fd" 3000)" = "got 0 8"
send 192.0.2.12 5000 16fefd0000
check "a DTLS-like datagram (first byte 22) reaches the daemon" \
	test "$(h recv "$fd" 3000)" = "got 22 5"
errs=$(link "$nsS" stats64.rx.errors)
send 192.0.2.12 5000 80000000deadbeef00000000000000010000000000000000000000000000000000
check "a forged veil packet (first byte 128) does not reach the daemon" \
	test "$(h recv "$fd" 1000)" = none
check "the kernel took it and counted it as an rx error" \
	test "$(link "$nsS" stats64.rx.errors)" -gt "$errs"

# --- refusals -------------------------------------------------------------
expect_err "an fd that is not open: EBADF" EBADF "no such open file descriptor" adopt veil0 999
expect_err "an fd that is not a socket: ENOTSOCK" ENOTSOCK "not a socket" adopt veil0 0
tcp=$(hfd tcp4)
expect_err "a TCP socket: EPROTONOSUPPORT" EPROTONOSUPPORT "not a UDP socket" adopt veil0 "$tcp"
lite=$(hfd udplite4 192.0.2.2 5005)
expect_err "a UDP-Lite socket: EPROTONOSUPPORT" EPROTONOSUPPORT "not a UDP socket" \
	adopt veil0 "$lite"
unb=$(hfd udp4 - 0)
expect_err "an unbound UDP socket: EINVAL" EINVAL "not bound to a port" adopt veil0 "$unb"
h netns "/run/netns/$nsX" >/dev/null
other=$(hfd udp4 0.0.0.0 5000)
h netns - >/dev/null
expect_err "a socket of another namespace: EINVAL" EINVAL "another network namespace" \
	adopt veil0 "$other"
expect_err "the socket of veil0 for veil1: EBUSY" EBUSY "already used for encapsulation" \
	adopt veil1 "$fd"
esp=$(hfd udp4 192.0.2.2 5006)
h espinudp "$esp" >/dev/null
expect_err "an ESP-in-UDP socket: EBUSY" EBUSY "already used for encapsulation" adopt veil0 "$esp"
plain=$(hfd udp4 192.0.2.2 5007)
expect_err "SOCK_FD together with LISTEN_PORT: EINVAL" EINVAL "not both" \
	adopt veil0 "$plain" port 4600
expect_err "the reply-only SOCK_ADOPTED in a request: EINVAL" EINVAL "." \
	adopt veil0 "$plain" adopted
check "after the refusals the tunnel still works" tunnel_up
check "adopting the device's own socket again changes nothing" \
	test "$(h adopt veil0 "$fd") $(npeers "$nsS")" = "ok 1"
for f in $tcp $lite $unb $other $esp $plain; do h close "$f" >/dev/null; done

# --- the daemon closes its socket, or dies --------------------------------
check "the daemon closes its socket" test "$(h close "$fd")" = ok
check "its tunnels are gone and the device has no port" gone
check "no traffic flows any more" tunnel_down
fd=$(hfd udp4 192.0.2.12 5000)
h adopt veil0 "$fd" >/dev/null
peers 192.0.2.12:5000 192.0.2.1:4500
check "a new socket from the daemon carries a new tunnel" tunnel_up
kill -9 "$hpid"
slowwait 10 sh -c "! kill -0 $hpid"
hpid=
check "the daemon is killed: its tunnels are gone, no port" gone
check "no traffic flows any more" tunnel_down

# --- address families -----------------------------------------------------
helper_start
fd=$(hfd udp6 :: 5001 0)
h adopt veil0 "$fd" >/dev/null
check "a dual-stack socket carries an IPv4 endpoint" peers 192.0.2.2:5001 192.0.2.1:4500
check "ping over IPv4 through the dual-stack socket" tunnel_up
veil -n "$nsC" peer set dev veil0 id 1 endpoint "[2001:db8::2]:5001"
check "ping over IPv6 through the same socket" tunnel_up
check "the server followed the client to its IPv6 endpoint" \
	test "$(pstat "$nsS" 2 endpoint)" = "[2001:db8::1]:4500"
v6=$(hfd udp6 :: 5002 1)
h adopt veil0 "$v6" >/dev/null
expect_fail "an IPV6_V6ONLY socket refuses an IPv4 endpoint" "cannot send to this address family" \
	veil -n "$nsS" peer add dev veil0 id 2 remote-id 1 endpoint 192.0.2.1:4500 \
		tx-key "$tmp/sc" rx-key "$tmp/cs"
check "and accepts an IPv6 one" \
	veil -n "$nsS" peer add dev veil0 id 2 remote-id 1 endpoint "[2001:db8::1]:4500" \
		tx-key "$tmp/sc" rx-key "$tmp/cs" allowed 100.64.0.1/32
v4=$(hfd udp4 0.0.0.0 5003)
h adopt veil0 "$v4" >/dev/null
expect_fail "an AF_INET socket refuses an IPv6 endpoint" "cannot send to this address family" \
	veil -n "$nsS" peer add dev veil0 id 2 remote-id 1 endpoint "[2001:db8::1]:4500" \
		tx-key "$tmp/sc" rx-key "$tmp/cs"

# --- handing the socket back ----------------------------------------------
# A veil-looking datagram reaches a socket only once it is plain UDP again.
send 2001:db8::2 5002 80aa
check "a replaced socket is plain UDP again: its owner gets a veil-looking datagram" \
	test "$(h recv "$v6" 3000)" = "got 128 2"
veil -n "$nsS" link set dev veil0 port 0
send 192.0.2.2 5003 80bb
check "after port 0 the socket is plain UDP again" test "$(h recv "$v4" 3000)" = "got 128 2"
h adopt veil0 "$v4" >/dev/null
peers 192.0.2.2:5003 192.0.2.1:4500
check "the socket is adopted again and carries a tunnel" tunnel_up
check "the device is deleted while the daemon holds the socket" ip -n "$nsS" link del veil0
send 192.0.2.2 5003 80cc
check "the daemon still owns a plain UDP socket" test "$(h recv "$v4" 3000)" = "got 128 2"

ip -n "$nsS" link add veil0 type veil
ip -n "$nsS" addr add 100.64.0.2/32 dev veil0
ip -n "$nsS" link set veil0 up
ip -n "$nsS" route add 100.64.0.1/32 dev veil0
h adopt veil0 "$v4" >/dev/null
peers 192.0.2.2:5003 192.0.2.1:4500
tunnel_up >/dev/null 2>&1

# Churn: adopt and close in a loop while the port is moved under it.
ip -n "$nsS" link add veil2 type veil
(for i in $(seq 40); do veil -n "$nsS" link set dev veil2 port $((4700 + i % 2)); \
	veil -n "$nsS" link set dev veil2 port 0; done) >/dev/null 2>&1 &
churn=$!
r=$(h churn veil2 50 5100)
wait "$churn"
churned()
{
	echo "helper: $r"
	[ "$r" != "ok 0" ] && [ "${r%% *}" = ok ] || return 1
	slowwait 10 sh -c "[ \"\$(veil -n $nsS -j link show dev veil2 | jq -r .[0].socket)\" != adopted ]" ||
		{ veil -n "$nsS" link show dev veil2; return 1; }
}
check "50 adopt-and-close cycles racing port changes" churned
ip -n "$nsS" link add veil3 type veil
(sleep 1; ip -n "$nsS" link del veil3) &
deleter=$!
r=$(h churn veil3 50 5200)
wait "$deleter"
check "adopt-and-close cycles racing the device's deletion" \
	sh -c "[ \"${r%% *}\" = ok ] && ! ip -n $nsS link show veil3 2>/dev/null"

ip netns exec "$nsC" ping -q -c 2000 -i 0.002 -W 1 100.64.0.2 >/dev/null 2>&1 &
pinger=$!
sleep 0.5
check "unload the module while a daemon's socket carries traffic" modprobe -r veil
wait "$pinger"
send 192.0.2.2 5003 80dd
check "after unloading, the daemon's socket is plain UDP" test "$(h recv "$v4" 3000)" = "got 128 2"
check "and closing it is clean" test "$(h close "$v4")" = ok
check "the kernel log shows no warning" \
	sh -c "! dmesg | tail -n +$((dmesg_start + 1)) | grep -E 'WARNING|BUG|Oops|refcount_t|general protection|unregister_netdevice: waiting'"

ktap_finish
