#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# veil-controller's brokering on loopback: resolves decided by the policy,
# relayed to the publishing server node and back; NXDOMAIN for denied and
# unknown names alike (answer and timing), SERVFAIL when the server node is
# offline, refuses, stays silent or goes away; stray ConnectReplies ignored;
# the bound on resolves pending per session;
# revocation (DropDevice to the server node, pending resolves dropped); the
# audit log. Everything runs in a temporary directory against a controller
# on 127.0.0.1 and a random high port; every step is bounded.
#
#   controller (127.0.0.1:PORT, policy tests/controller/policies/broker.json)
#     |-- gw1  (server)  publishes web.corp.example; played by
#     |                  "veil-ctl-client serve-connect" (accept/refuse/ignore)
#     |-- lap1 (client, alice)            allowed: rule staff-web
#     |-- lap2 (client, bob)              denied
#     `-- lap3 (client, carol, contractors) allowed through its enrollment group
#   gw2, the server of db.corp.example, never connects.
#
# KTAP output; exit 0 pass, 1 fail, 4 skip.
set -u
plan=27
tmp_name=veil-broker
fail_lines=20
. "$(dirname "$0")/controller-lib.bash"
policy=$top/tests/controller/policies/broker.json
floor_ms=50		# VEIL_BROKER_FLOOR_MS
timeout_s=5		# VEIL_BROKER_CONNECT_TIMEOUT_MS / 1000
tolerance_ms=10		# half the jitter (VEIL_BROKER_JITTER_MS)

start_controller

# enroll DEVICE OWNER ROLE [ARGS...]
enroll()
{
	local t
	t=$(c enroll add "$1" --owner "$2" --role "$3" "${@:4}" 2>>"$tmp/token.log" |
	    grep -o 'veil1-[A-Za-z0-9_-]*') &&
	timeout 15 "$veil" enroll -d "$tmp/$1" "$t" >>"$tmp/enroll.log" 2>&1
}

# 2: the devices and the policy.
if enroll gw1 ops server && enroll lap1 alice client && enroll lap2 bob client &&
   enroll lap3 carol client --groups contractors &&
   c policy load "$policy" >"$tmp/out" 2>&1; then
	ok "server node gw1, clients lap1 (alice), lap2 (bob), lap3 (contractors); policy loaded"
else
	fail "server node gw1, clients lap1 (alice), lap2 (bob), lap3 (contractors); policy loaded" \
		"$tmp/token.log" "$tmp/enroll.log" "$tmp/out"
fi

# gw MODE...: (re)start the server node gw1 with serve-connect MODE; its
# output goes to $tmp/gw1.log.
gw_pid=
gw()
{
	[ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
	: >"$tmp/gw1.log"	# here, not in the child: the wait below must not see the old one
	timeout 60 "$cli" serve-connect "$tmp/gw1" "$@" >>"$tmp/gw1.log" 2>&1 &
	gw_pid=$!
	pids+=("$gw_pid")
	wait_for 5 grep -q '^ready' "$tmp/gw1.log"
}

# resolve DEVICE NAME [--count N]: output in $tmp/r.log
resolve()
{
	timeout 30 "$cli" resolve "$tmp/$1" "${@:2}" >"$tmp/r.log" 2>&1
}

field()
{
	sed -n "s/^$1: //p" "${2:-$tmp/r.log}" | head -n 1
}

sha()
{
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# 3-4: allowed: OK with gw1's secure address and tunnel; gw1 saw the request.
gw --accept --ip 100.64.7.7 || fail "gw1 starts" "$tmp/gw1.log"
key5e=$(printf '5e%.0s' $(seq 32))
keyc1=$(printf 'c1%.0s' $(seq 32))
if resolve lap1 web.corp.example && [ "$(field status)" = OK ] &&
   [ "$(field addresses)" = 100.64.7.7 ] && [ "$(field ttl)" -gt 0 ] &&
   [ "$(field tunnel_peer)" = gw1 ] && [ "$(field tunnel_key)" = "$key5e" ] &&
   [ "$(field tunnel_candidates)" = "203.0.113.5:51820/0/200" ] &&
   [ "$(field tunnel_ports)" = "tcp/443,tcp/8000-8100" ]; then
	ok "allowed: OK with gw1's secure address, key, candidates and the granted ports"
else
	fail "allowed: OK with gw1's secure address, key, candidates and the granted ports" \
		"$tmp/r.log" "$tmp/gw1.log"
fi
g=$tmp/gw1.log
if grep -q '^connect_request: [0-9]* client lap1 app web$' "$g" &&
   [ "$(field client_cert_sha256 "$g")" = "$(sha "$tmp/lap1/cert.pem")" ] &&
   [ "$(field client_cert_cn "$g")" = lap1 ] &&
   [ "$(field ports "$g")" = "tcp/443,tcp/8000-8100" ] &&
   [ "$(field client_candidates "$g")" = "198.51.100.7:40000/0/100" ] &&
   [ "$(field client_nat "$g")" = "1 198.51.100.7:40000" ] &&
   [ "$(field client_key "$g")" = "$keyc1" ]; then
	ok "gw1 got the ConnectRequest: lap1's certificate, NAT, candidates, key and ports"
else
	fail "gw1 got the ConnectRequest: lap1's certificate, NAT, candidates, key and ports" "$g"
fi

# 5: enrollment groups count: lap3 (contractors) gets only tcp/443.
if resolve lap3 web.corp.example && [ "$(field status)" = OK ] &&
   [ "$(field tunnel_ports)" = "tcp/443" ] &&
   grep -q '^connect_request: [0-9]* client lap3 app web$' "$g" &&
   [ "$(sed -n 's/^ports: //p' "$g" | tail -n 1)" = tcp/443 ]; then
	ok "an enrollment group grants its rule's ports only (lap3: tcp/443)"
else
	fail "an enrollment group grants its rule's ports only (lap3: tcp/443)" "$tmp/r.log" "$g"
fi

# 6-8: denied and unknown names: the same NXDOMAIN, nothing sent to gw1.
if resolve lap2 web.corp.example && [ "$(field status)" = NXDOMAIN ] &&
   grep -q '^resolve_reply: 1 status 1 reason no such name$' "$tmp/r.log" &&
   [ "$(field addresses)" = - ] && ! grep -q 'tunnel' "$tmp/r.log"; then
	ok "denied (lap2, bob): NXDOMAIN \"no such name\", no address, no tunnel"
else
	fail "denied (lap2, bob): NXDOMAIN \"no such name\", no address, no tunnel" "$tmp/r.log"
fi
if ! grep -q 'client lap2' "$g"; then
	ok "denied: gw1 was not asked"
else
	fail "denied: gw1 was not asked" "$g"
fi
cp "$tmp/r.log" "$tmp/denied.log"
if resolve lap1 nosuch.corp.example && [ "$(field status)" = NXDOMAIN ] &&
   diff <(grep -v '^time_ms\|_ms:' "$tmp/denied.log") \
	<(grep -v '^time_ms\|_ms:' "$tmp/r.log") >"$tmp/diff" 2>&1; then
	ok "unknown name: NXDOMAIN, the very same answer as for a denied name"
else
	fail "unknown name: NXDOMAIN, the very same answer as for a denied name" \
		"$tmp/r.log" "$tmp/diff"
fi

# 9: the audit tells them apart.
c -j audit show >"$tmp/audit.json" 2>&1
aud()
{
	grep -q "\"kind\":\"RESOLVE\",\"device\":\"$1\",\"user\":\"$2\",\"name\":\"$3\",\"allowed\":$4,\"reason\":\"$5" \
		"$tmp/audit.json"
}
if aud lap1 alice web.corp.example true 'staff-web"' &&
   aud lap3 carol web.corp.example true 'contractors-web"' &&
   aud lap2 bob web.corp.example false 'no rule allows user bob on device lap2' &&
   aud lap1 alice nosuch.corp.example false 'no such name"' &&
   ! aud lap2 bob web.corp.example false 'no such name'; then
	ok "audit: allowed with the rule, denied with its reason, unknown as \"no such name\""
else
	fail "audit: allowed with the rule, denied with its reason, unknown as \"no such name\"" \
		"$tmp/audit.json"
fi

# 10: the server node of db.corp.example (gw2) is offline: SERVFAIL.
if resolve lap1 db.corp.example && [ "$(field status)" = SERVFAIL ] &&
   grep -q 'reason server node gw2 of db is not connected' "$tmp/r.log"; then
	ok "allowed, server node offline: SERVFAIL (not NXDOMAIN) with the reason"
else
	fail "allowed, server node offline: SERVFAIL (not NXDOMAIN) with the reason" "$tmp/r.log"
fi

# 11-13: timing. Denied and unknown names answer after the same floor.
median()
{
	field median_ms "$1" | cut -d. -f1
}
resolve lap2 web.corp.example --count 40 && cp "$tmp/r.log" "$tmp/t-denied.log"
resolve lap1 nosuch.corp.example --count 40 && cp "$tmp/r.log" "$tmp/t-unknown.log"
resolve lap1 web.corp.example --count 10 && cp "$tmp/r.log" "$tmp/t-allowed.log"
md=$(median "$tmp/t-denied.log")
mu=$(median "$tmp/t-unknown.log")
ma=$(median "$tmp/t-allowed.log")
mind=$(field min_ms "$tmp/t-denied.log" | cut -d. -f1)
minu=$(field min_ms "$tmp/t-unknown.log" | cut -d. -f1)
mina=$(field min_ms "$tmp/t-allowed.log" | cut -d. -f1)
echo "# reply time ms (median/min/max): denied $md/$mind/$(field max_ms "$tmp/t-denied.log")," \
	"unknown $mu/$minu/$(field max_ms "$tmp/t-unknown.log")," \
	"allowed $ma/$mina/$(field max_ms "$tmp/t-allowed.log")"
if [ -n "$md" ] && [ -n "$mu" ] && [ "$mind" -ge "$floor_ms" ] && [ "$minu" -ge "$floor_ms" ]; then
	ok "no NXDOMAIN before the ${floor_ms} ms floor (denied min $mind ms, unknown min $minu ms)"
else
	fail "no NXDOMAIN before the ${floor_ms} ms floor" "$tmp/t-denied.log" "$tmp/t-unknown.log"
fi
d=$((md - mu))
if [ -n "$md" ] && [ -n "$mu" ] && [ "${d#-}" -le "$tolerance_ms" ]; then
	ok "denied and unknown names: medians $md ms and $mu ms (within $tolerance_ms ms)"
else
	fail "denied and unknown names: medians ${md:-?} ms and ${mu:-?} ms (within $tolerance_ms ms)"
fi
# The two distributions overlap: each one's minimum lies below the other's maximum.
maxd=$(field max_ms "$tmp/t-denied.log" | cut -d. -f1)
maxu=$(field max_ms "$tmp/t-unknown.log" | cut -d. -f1)
if [ -n "$maxd" ] && [ -n "$maxu" ] && [ "$mind" -lt "$maxu" ] && [ "$minu" -lt "$maxd" ]; then
	ok "denied and unknown reply times overlap ($mind-$maxd ms, $minu-$maxu ms)"
else
	fail "denied and unknown reply times overlap (${mind:-?}-${maxd:-?} ms, ${minu:-?}-${maxu:-?} ms)"
fi
if [ -n "$ma" ] && [ -n "$md" ] && [ "$mina" -ge "$floor_ms" ] &&
   [ "$(grep -c '^status: OK' "$tmp/t-allowed.log")" = 10 ] &&
   { [ "$ma" -ge "$md" ] || [ $((md - ma)) -le "$tolerance_ms" ]; }; then
	ok "an allowed name is not answered faster: median $ma ms, min $mina ms"
else
	fail "an allowed name is not answered faster: median ${ma:-?} ms" "$tmp/t-allowed.log"
fi

# 14: gw1 refuses (its own recheck): SERVFAIL with its reason.
gw --refuse "client not allowed here" || fail "gw1 restarts" "$tmp/gw1.log"
if resolve lap1 web.corp.example && [ "$(field status)" = SERVFAIL ] &&
   grep -q 'reason server node gw1 refused: client not allowed here' "$tmp/r.log" &&
   grep -q '^connect_refused:' "$tmp/gw1.log"; then
	ok "server node refuses: SERVFAIL with its reason"
else
	fail "server node refuses: SERVFAIL with its reason" "$tmp/r.log" "$tmp/gw1.log"
fi

# 15-17: gw1 stays silent: SERVFAIL after the timeout. Meanwhile a reply
# from a session that was not asked, and one for an unknown id, are ignored.
gw --ignore || fail "gw1 restarts" "$tmp/gw1.log"
# lap3 meanwhile sends 70 resolves at once: 64 wait for gw1, 6 are refused.
timeout 30 "$cli" resolve "$tmp/lap3" web.corp.example --count 70 --burst \
	>"$tmp/burst.log" 2>&1 &
bpid=$!
pids+=("$bpid")
start=$(date +%s%N)
timeout 30 "$cli" resolve "$tmp/lap1" web.corp.example >"$tmp/r.log" 2>&1 &
rpid=$!
pids+=("$rpid")
wait_for 5 grep -q '^connect_ignored:' "$tmp/gw1.log"
id=$(sed -n 's/^connect_ignored: //p' "$tmp/gw1.log" | head -n 1)
timeout 10 "$cli" connect-reply "$tmp/lap2" "${id:-1}" >"$tmp/cr1.log" 2>&1
timeout 10 "$cli" connect-reply "$tmp/lap2" 12345 >"$tmp/cr2.log" 2>&1
wait "$rpid"
el=$(( ($(date +%s%N) - start) / 1000000 ))
if [ -n "$id" ] &&
   grep -q "device lap2: ConnectReply for request $id ignored: the request was sent to gw1" \
	"$tmp/server.log" &&
   grep -q "device lap2: ConnectReply for request 12345 ignored: no such request" \
	"$tmp/server.log"; then
	ok "ConnectReplies from a session not asked, or for an unknown id, are ignored and logged"
else
	fail "ConnectReplies from a session not asked, or for an unknown id, are ignored and logged" \
		"$tmp/server.log" "$tmp/cr1.log"
fi
if [ "$(field status)" = SERVFAIL ] && grep -q "did not answer in $timeout_s s" "$tmp/r.log" &&
   ! grep -q 100.64.66.66 "$tmp/r.log"; then
	ok "server node silent: SERVFAIL, the stray reply was not relayed"
else
	fail "server node silent: SERVFAIL, the stray reply was not relayed" "$tmp/r.log"
fi
if [ "$el" -ge $((timeout_s * 1000)) ] && [ "$el" -lt $((timeout_s * 1000 + 3000)) ]; then
	ok "the silent server's SERVFAIL came after the ${timeout_s} s timeout ($el ms)"
else
	fail "the silent server's SERVFAIL came after the ${timeout_s} s timeout ($el ms)"
fi

wait "$bpid"
busy=$(grep -c 'reason too many resolves pending: retry later' "$tmp/burst.log")
late=$(grep -c "reason server node gw1 did not answer in $timeout_s s" "$tmp/burst.log")
if [ "$busy" = 6 ] && [ "$late" = 64 ]; then
	ok "a burst of 70 resolves on one session: 64 held, 6 refused (SERVFAIL, retry later)"
else
	fail "a burst of 70 resolves on one session: 64 held, 6 refused ($late held, $busy refused)" \
		"$tmp/burst.log"
fi
# The refused ones did not wait; lap1's session was not limited by lap3's burst.
fast=$(awk '/reason too many resolves/ { f = 1 } /^time_ms:/ { if (f && $2 < 1000) n++; f = 0 }
	    END { print n + 0 }' "$tmp/burst.log")
if [ "$fast" = 6 ] && [ "$(field status)" = SERVFAIL ] && ! grep -q 'too many' "$tmp/r.log"; then
	ok "refused resolves are answered at once; other sessions are not limited"
else
	fail "refused resolves are answered at once; other sessions are not limited ($fast fast)" \
		"$tmp/burst.log" "$tmp/r.log"
fi

# gw1 goes away while a resolve waits for it: SERVFAIL at once.
before=$(grep -c '^connect_ignored:' "$tmp/gw1.log")
timeout 30 "$cli" resolve "$tmp/lap1" web.corp.example >"$tmp/r.log" 2>&1 &
rpid=$!
pids+=("$rpid")
wait_for 5 bash -c "[ \$(grep -c '^connect_ignored:' '$tmp/gw1.log') -gt $before ]"
start=$(date +%s%N)
kill "$gw_pid" 2>/dev/null
wait "$gw_pid" 2>/dev/null
gw_pid=
wait "$rpid"
el=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$(field status)" = SERVFAIL ] && grep -q 'server node gw1 went away' "$tmp/r.log" &&
   [ "$el" -lt 2000 ]; then
	ok "server node goes away: its pending resolve fails at once ($el ms)"
else
	fail "server node goes away: its pending resolve fails at once ($el ms)" "$tmp/r.log"
fi

# 19-20: tunnel reports land in the audit; not before Hello.
if timeout 10 "$cli" report "$tmp/lap1" gw1 web 1234 5678 --down >"$tmp/out" 2>&1 &&
   c -j audit show >"$tmp/audit.json" 2>&1 &&
   grep -q '"kind":"TUNNEL_DOWN","device":"lap1","user":"alice","name":"gw1","allowed":true,"reason":"web","rx_bytes":1234,"tx_bytes":5678' \
	"$tmp/audit.json"; then
	ok "a tunnel report lands in the audit with its byte counts"
else
	fail "a tunnel report lands in the audit with its byte counts" "$tmp/out" "$tmp/audit.json"
fi
# Message{version 1, tunnel_report {}} before any Hello.
if timeout 10 "$cli" raw "$tmp/lap1" 0000000508018a0100 >"$tmp/out" 2>&1 &&
   grep -q 'error: 4 TunnelReport before Hello' "$tmp/out" &&
   [ "$(grep -c TUNNEL "$tmp/audit.json")" = \
     "$(c -j audit show 2>/dev/null | grep -c TUNNEL)" ] && alive; then
	ok "a tunnel report before Hello is refused and not audited"
else
	fail "a tunnel report before Hello is refused and not audited" "$tmp/out"
fi

# 21-23: revocation. lap1 holds a session and waits on a resolve that gw1
# ignores; lap2 holds a session too.
gw --ignore || fail "gw1 restarts" "$tmp/gw1.log"
timeout 30 "$cli" hold "$tmp/lap1" 20 >"$tmp/hold1.log" 2>&1 &
hold1=$!
timeout 30 "$cli" hold "$tmp/lap2" 20 >"$tmp/hold2.log" 2>&1 &
hold2=$!
pids+=("$hold1" "$hold2")
timeout 30 "$cli" resolve "$tmp/lap1" web.corp.example >"$tmp/r.log" 2>&1 &
rpid=$!
pids+=("$rpid")
wait_for 5 grep -q '^connect_ignored:' "$tmp/gw1.log"
wait_for 5 grep -q hello_ack "$tmp/hold1.log"
wait_for 5 grep -q hello_ack "$tmp/hold2.log"
c device revoke lap1 >"$tmp/out" 2>&1
if wait_for 3 bash -c "! kill -0 $hold1 && ! kill -0 $rpid" &&
   grep -q 'error: 6' "$tmp/hold1.log" && ! grep -q '^status:' "$tmp/r.log"; then
	ok "revoking lap1 closes its sessions; its pending resolve is dropped unanswered"
else
	fail "revoking lap1 closes its sessions; its pending resolve is dropped unanswered" \
		"$tmp/hold1.log" "$tmp/r.log"
fi
serial=$(openssl x509 -in "$tmp/lap1/cert.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
if wait_for 3 grep -q "^drop_device: lap1 " "$tmp/gw1.log" &&
   grep -qi "^drop_device: lap1 0*${serial#0}" "$tmp/gw1.log" &&
   grep -q '^drop_device: lap1' "$tmp/hold2.log" && kill -0 "$gw_pid" && kill -0 "$hold2"; then
	ok "gw1 and lap2 get DropDevice lap1 and stay connected"
else
	fail "gw1 and lap2 get DropDevice lap1 and stay connected" "$tmp/gw1.log" "$tmp/hold2.log"
fi
# lap3 has no session: the server nodes are told all the same.
c device revoke lap3 >"$tmp/out" 2>&1
if wait_for 3 grep -q "^drop_device: lap3 " "$tmp/gw1.log" &&
   ! grep -q '^drop_device: lap2' "$tmp/gw1.log"; then
	ok "revoking an offline device (lap3) still sends DropDevice to gw1"
else
	fail "revoking an offline device (lap3) still sends DropDevice to gw1" "$tmp/gw1.log" \
		"$tmp/server.log"
fi

# 24: the revoked client's resolve is audited; the controller lived through it all.
c -j audit show >"$tmp/audit.json" 2>&1
if aud lap1 alice web.corp.example true 'staff-web; SERVFAIL: the client was revoked' &&
   aud lap1 alice web.corp.example true 'staff-web; SERVFAIL: server node gw1 refused' &&
   aud lap1 alice web.corp.example true 'staff-web; SERVFAIL: server node gw1 did not answer' &&
   alive; then
	ok "the audit keeps each allowed resolve's outcome; the controller is alive"
else
	fail "the audit keeps each allowed resolve's outcome; the controller is alive" \
		"$tmp/audit.json" "$tmp/server.log"
fi

finish
