#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# veil-controller's benchmark on loopback (make bench-controller runs it
# through scripts/bench, which draws the table and the chart).
#
#   controller (127.0.0.1:PORT, --heartbeat 5)  <---  ctl_load (one process)
#     devices: bench01..bench10 (client, owner bench), gw1 (server, owner ops)
#     policy:  users "bench" may reach web.bench.example, published by gw1
#
#   1. sessions held: for N in 1,000 5,000 10,000, a fresh controller, then
#      N sessions (TLS 1.3 mTLS, Hello, HelloAck, PolicyUpdate) held a few
#      seconds with heartbeats: time to establish them, controller RSS per
#      session, heartbeat round trips. Halfway through, `policy load` of a
#      new version: time until every session has it. At the end all
#      sessions close at once: time until the controller released them.
#      The N sessions share the ten client identities: the controller
#      allows several sessions per device.
#   2. full handshakes per second: connect, TLS 1.3 with the client
#      certificate, Hello, HelloAck, PolicyUpdate, close, for a fixed time.
#   3. resolves: 1,000 client sessions and gw1's session held, each client
#      keeping one ResolveRequest for web.bench.example in flight; answered
#      OK per second and their latency, gw1 accepting every ConnectRequest.
#      Then a light load (10 in flight) for the latency alone. Every reply
#      waits for the broker's floor of 50 ms plus 0-20 ms by design.
#
#   tests/bench/controller.sh [OUTDIR]     (default build/bench)
#   VEIL_BENCH_SESSIONS="1000 5000 10000" VEIL_BENCH_HOLD=5
#   VEIL_BENCH_HANDSHAKE=10 VEIL_BENCH_RESOLVE=10 VEIL_BENCH_RESOLVE_SESSIONS=1000
#
# Writes OUTDIR/controller.json and the timelines OUTDIR/controller-*.dat;
# every step is bounded, every process and the temporary directory are
# removed on exit. Exit 0 when every part measured (brokering that the
# controller does not offer yet is reported as such, not as a failure).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ctl=$top/build/veil-controller
veil=$top/build/veil
load=$top/build/tests/ctl_load
out=${1:-$top/build/bench}
steps=${VEIL_BENCH_SESSIONS:-"1000 5000 10000"}
hold_s=${VEIL_BENCH_HOLD:-5}
hs_s=${VEIL_BENCH_HANDSHAKE:-10}
res_s=${VEIL_BENCH_RESOLVE:-10}
res_n=${VEIL_BENCH_RESOLVE_SESSIONS:-1000}
heartbeat=5
name=web.bench.example

for b in "$ctl" "$veil" "$load"; do
	[ -x "$b" ] || { echo "bench: $b is not built (make userspace build/tests/ctl_load)" >&2
			 exit 1; }
done
command -v jq >/dev/null || { echo "bench: jq is not installed (scripts/deps)" >&2; exit 1; }
mkdir -p "$out"

tmp=$(mktemp -d /tmp/veil-ctl-bench.XXXXXX)
state=$tmp/ctl
tpid=
cpid=
lpid=
# stop_server: SIGTERM, then SIGKILL if the controller is still busy 10 s later.
stop_server()
{
	local i
	[ -n "$tpid" ] || return 0
	kill -TERM "$tpid" 2>/dev/null || true
	for i in $(seq 100); do
		[ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$cpid" ]; then kill -KILL "$cpid" 2>/dev/null || true; fi
	wait "$tpid" 2>/dev/null || true
	tpid=
	cpid=
}
cleanup()
{
	if [ -n "$lpid" ]; then
		kill -TERM "$lpid" 2>/dev/null || true
		wait "$lpid" 2>/dev/null || true
	fi
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log()
{
	echo "bench: $*" >&2
}

# A free port on 127.0.0.1 below the ephemeral range (32768 up, where the
# load generator's own connections take their ports).
port=
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 12000))
	if [ -z "$(ss -Htln "( sport = :$p )")" ]; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { log "no free port found on 127.0.0.1"; exit 1; }
addr=127.0.0.1:$port

# start_server: a fresh controller process; $cpid is its pid (for /proc),
# $tpid the timeout that bounds it.
start_server()
{
	local i
	timeout 900 "$ctl" -d "$state" serve --listen "$addr" --heartbeat "$heartbeat" \
		--idle $((3 * heartbeat)) >>"$tmp/server.log" 2>&1 &
	tpid=$!
	for i in $(seq 100); do
		cpid=$(pgrep -P "$tpid" -x veil-controller || true)
		if [ -n "$cpid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "the controller did not start:"
	tail -n 5 "$tmp/server.log" >&2
	exit 1
}

# run_load SECONDS OUTPUT ARGS...: ctl_load bounded by SECONDS, in the
# background so that a signal to this script stops it at once.
run_load()
{
	local secs=$1 output=$2 rc=0
	shift 2
	timeout "$secs" "$load" "$@" >"$output" &
	lpid=$!
	wait "$lpid" || rc=$?
	lpid=
	return "$rc"
}


# How busy the machine is before the run (other programs skew the numbers).
busy_pct()
{
	local a b
	read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ </proc/stat
	a=$((a1 + a2 + a3 + a5 + a6 + a7 + a8)); b=$((a + a4))
	sleep 1
	read -r _ c1 c2 c3 c4 c5 c6 c7 c8 _ </proc/stat
	c=$((c1 + c2 + c3 + c5 + c6 + c7 + c8)); d=$((c + c4))
	echo $(((c - a) * 100 / (d - b > 0 ? d - b : 1)))
}
busy=$(busy_pct)
cpus=$(nproc)
if [ "$busy" -gt 10 ]; then
	log "warning: the machine is already ${busy}% busy (of $cpus CPUs) before the run;" \
	    "rates will be lower than on an idle machine (see the controller_cpu_pct fields)"
fi

# Identities: ten client devices and one server node.
log "setting up a controller on $addr with 11 enrolled devices"
timeout 30 "$ctl" -d "$state" init --org bench --hosts 127.0.0.1 --address "$addr" \
	>"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; exit 1; }
start_server
enroll()	# NAME OWNER ROLE
{
	local t
	t=$(timeout 30 "$ctl" -d "$state" enroll add "$1" --owner "$2" --role "$3" 2>>"$tmp/enroll.log" |
	    grep -o 'veil1-[A-Za-z0-9_-]*') || true
	if [ -z "$t" ] || ! timeout 30 "$veil" enroll -d "$tmp/$1" "$t" >>"$tmp/enroll.log" 2>&1; then
		log "cannot enroll $1:"
		tail -n 5 "$tmp/enroll.log" >&2
		exit 1
	fi
}
ids=()
for i in $(seq -w 1 10); do
	enroll "bench$i" bench client
	ids+=(-i "$tmp/bench$i")
done
enroll gw1 ops server
cat >"$tmp/policy.json" <<EOF
{
  "version": 1,
  "zones": ["bench.example"],
  "apps": {
    "web": { "names": ["$name"], "server": "gw1", "target": "127.0.0.1",
             "ports": ["tcp/443"] }
  },
  "rules": [
    { "name": "bench-web", "users": ["bench"], "apps": ["web"] }
  ]
}
EOF
timeout 30 "$ctl" -d "$state" policy load "$tmp/policy.json" >"$tmp/policy.log" 2>&1 ||
	{ cat "$tmp/policy.log" >&2; exit 1; }
# The same policy with its rule renamed: a new version for the reload test.
sed 's/"bench-web"/"bench-web-2"/' "$tmp/policy.json" >"$tmp/policy-1.json"
cp "$tmp/policy.json" "$tmp/policy-0.json"

stop_server

# 1. Sessions held.
results=()
k=0
for n in $steps; do
	log "holding $n sessions for $hold_s s"
	start_server
	k=$((1 - k))
	run_load $((240 + hold_s)) "$tmp/hold-$n.json" -p "$cpid" -c 64 -T 150 "${ids[@]}" \
		-R "timeout 60 '$ctl' -d '$state' policy load '$tmp/policy-$k.json' >/dev/null" \
		-o "$out/controller-hold-$n.dat" hold "$n" "$hold_s" ||
		log "holding $n sessions: not all opened or held (see the JSON)"
	stop_server
	[ -s "$tmp/hold-$n.json" ] || { log "no result for $n sessions"; exit 1; }
	jq -c . "$tmp/hold-$n.json" >&2
	results+=("$tmp/hold-$n.json")
done

# 2. Full handshakes per second.
log "full handshakes for $hs_s s"
start_server
run_load $((hs_s + 60)) "$tmp/handshake.json" -p "$cpid" -c 32 "${ids[@]}" \
	-o "$out/controller-handshake.dat" handshake "$hs_s" || log "handshakes: none completed"
stop_server
[ -s "$tmp/handshake.json" ] || { log "no handshake result"; exit 1; }
jq -c . "$tmp/handshake.json" >&2

# 3. Resolves with sessions held.
log "resolving $name over $res_n sessions for $res_s s"
start_server
run_load $((res_s + 180)) "$tmp/resolve.json" -p "$cpid" -c 64 -w "$res_n" "${ids[@]}" \
	-s "$tmp/gw1" -o "$out/controller-resolve.dat" resolve "$res_n" "$res_s" "$name" ||
	log "resolves: none answered OK (see the JSON)"
[ -s "$tmp/resolve.json" ] || { log "no resolve result"; exit 1; }
jq -c . "$tmp/resolve.json" >&2
if jq -e .available "$tmp/resolve.json" >/dev/null; then
	log "resolving $name, 10 in flight, for 3 s"
	run_load 120 "$tmp/resolve-light.json" -p "$cpid" -c 64 -w 10 "${ids[@]}" -s "$tmp/gw1" \
		resolve 100 3 "$name" || true
	jq -c . "$tmp/resolve-light.json" >&2 || true
fi
stop_server
[ -s "$tmp/resolve-light.json" ] || echo '{"available":false}' >"$tmp/resolve-light.json"

refused=$(grep -c 'connection refused: .* the limit\|cannot accept a connection' \
	  "$tmp/server.log" || true)
jq -n --slurpfile h "$tmp/handshake.json" --slurpfile r "$tmp/resolve.json" \
	--slurpfile rl "$tmp/resolve-light.json" \
	--argjson busy "$busy" --argjson cpus "$cpus" --argjson refused "${refused:-0}" \
	--arg commit "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--argjson hb "$heartbeat" '
	{
	  sessions: (reduce inputs as $s ({}; . + {($s.sessions | tostring): $s})),
	  handshakes_per_s: $h[0].per_s,
	  handshake: $h[0],
	  resolve: $r[0],
	  resolve_light: $rl[0],
	  setup: { cpus: $cpus, machine_busy_before_pct: $busy, heartbeat_s: $hb,
		   client_identities: 10, accept_refusals_logged: $refused, commit: $commit }
	}' "${results[@]}" >"$out/controller.json"
log "wrote $out/controller.json"
