#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DNS benchmark, inside the VM (tests/bench/run-vm dns): dnsperf in client
# namespaces against unbound in another, joined by veth.
#
# The hook's cost on ordinary names. Under software emulation two runs of
# the same case, one after the other, differ by up to a factor of two, far
# more than the few percent being measured. So every run is a pair run at
# the same time on the same vCPU (unbound has the other): a reference
# stream from a namespace that never has zones and the measured stream
# from one that may. Both see the same machine at the same moment; the
# scheduler gives them the same CPU time, so the measured stream's share
# of the queries is its cost per query against the reference's. Cases:
#
#   unloaded      veil.ko not loaded (the pair's own asymmetry)
#   no_zones      veil.ko loaded, no zone anywhere (no hook is registered)
#   nft_empty     veil.ko loaded, no zone; instead an nftables table in the
#                 measured namespace with empty base chains on the same
#                 hooks: what any netfilter hook costs there, the floor
#                 for veil's
#   zones_1000    1001 secure zones in the measured namespace, none of
#                 which holds the names: every query and response there
#                 goes through the hooks
#
# Each pair runs flat out (queries per second) and at a fixed rate
# (average latency). A case's ratio in a round is measured/reference,
# divided by the same in that round's unloaded case; the result is the
# median over the rounds (VEIL_BENCH_ROUNDS, default 5).
#
#   secure_unbound  1000 names of a zone served from unbound's memory
#   secure_kernel   the same names answered by veil from its cache
#
# These two run alone, one after the other (their difference is large).
#
#   send_ns         nanoseconds per send() of one query into a dummy device
#                   (build/tests/dns_send, no resolver): the sending path
#                   alone, in each case of hook_round (unloaded, no zone,
#                   empty nftables chains, 1001 zones)
# Prints one line "VEIL-BENCH-JSON {...}".
set -eu
secs=${VEIL_BENCH_SECONDS:-5}
rounds=${VEIL_BENCH_ROUNDS:-5}
names=1000
tmp=$(mktemp -d /tmp/veil-bench-dns.XXXXXX)
nsC=vbc-$$
nsZ=vbz-$$
nsR=vbr-$$
nsS=vbs-$$
top=$(cd "$(dirname "$0")/../.." && pwd)
cleanup()
{
	[ -f "$tmp/unbound.pid" ] && kill "$(cat "$tmp/unbound.pid")" 2>/dev/null
	ip netns del "$nsC" 2>/dev/null
	ip netns del "$nsZ" 2>/dev/null
	ip netns del "$nsR" 2>/dev/null
	ip netns del "$nsS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

modprobe -r veil 2>/dev/null || true
ip netns add "$nsC"
ip netns add "$nsZ"
ip netns add "$nsR"
ip link add vC netns "$nsC" type veth peer name vR netns "$nsR"
ip link add vZ netns "$nsZ" type veth peer name vRz netns "$nsR"
ip -n "$nsC" addr add 10.53.0.1/24 dev vC
ip -n "$nsR" addr add 10.53.0.53/24 dev vR
ip -n "$nsZ" addr add 10.54.0.1/24 dev vZ
ip -n "$nsR" addr add 10.54.0.53/24 dev vRz
for l in "$nsC vC" "$nsZ vZ" "$nsR vR" "$nsR vRz" "$nsC lo" "$nsZ lo" "$nsR lo"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

{
	cat <<CONF
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
	verbosity: 0
	num-threads: 1
	module-config: "iterator"
	local-zone: "example.org." static
	local-zone: "corp.example." static
CONF
	for i in $(seq 1 $names); do
		echo "	local-data: \"n$i.example.org. 300 IN A 192.0.2.$((i % 250 + 1))\""
		echo "	local-data: \"s$i.corp.example. 300 IN A 100.64.$((i / 250)).$((i % 250 + 1))\""
	done
} >"$tmp/unbound.conf"
ip netns exec "$nsR" taskset -c 1 unbound -c "$tmp/unbound.conf"
for _ in $(seq 100); do
	ip netns exec "$nsR" ss -lun | grep -q 10.53.0.53:53 && break
	sleep 0.1
done

for i in $(seq 1 $names); do echo "n$i.example.org A"; done >"$tmp/plain.txt"
for i in $(seq 1 $names); do echo "s$i.corp.example A"; done >"$tmp/secure.txt"

# perf NS FILE [QPS]: "QPS LATENCY_MS" of a dnsperf run against unbound,
# flat out or limited to QPS queries per second, on vCPU $pin (empty: any).
perf()
{
	local server=10.53.0.53 out=$tmp/out.$1
	[ "$1" = "$nsZ" ] && server=10.54.0.53
	ip netns exec "$1" ${pin:+taskset -c $pin} dnsperf -s "$server" -d "$2" -l "$secs" -T 1 \
		-c 4 -q 64 ${3:+-Q "$3"} >"$out" 2>&1
	awk '/Queries per second:/ { q = $4 } /Average Latency \(s\):/ { l = $4 * 1000 }
	     END { if (q == "" || l == "") exit 1; printf "%s %s\n", q, l }' "$out"
}

# pair CASE [QPS]: the reference ($nsC) and measured ($nsZ) streams at
# once, appended to $tmp/CASE.flat (or .fixed with QPS) as
# "REF_QPS REF_LAT QPS LAT"
pair()
{
	local f=$tmp/$1.flat

	if [ -n "${2:-}" ]; then
		f=$tmp/$1.fixed
	fi
	perf "$nsC" "$tmp/plain.txt" "${2:-}" >"$tmp/ref" &
	perf "$nsZ" "$tmp/plain.txt" "${2:-}" >"$tmp/mes"
	wait $! || { echo "bench-dns: the reference dnsperf failed" >&2; exit 1; }
	echo "$(cat "$tmp/ref") $(cat "$tmp/mes")" >>"$f"
	sleep 1		# let the resolver drain before the next run
}

measure()	# CASE: a flat-out and a fixed-rate pair
{
	pair "$1"
	pair "$1" "$rate"
}

# hook_round NS RUN: one round of the hook cases in NS, each measured by
# "RUN CASE": veil.ko unloaded, loaded with no zone, empty nftables chains
# on the same hooks instead, then 1001 zones (left in place)
hook_round()
{
	modprobe -r veil 2>/dev/null || true
	$2 unloaded
	modprobe veil
	$2 no_zones
	ip netns exec "$1" nft -f - <<-NFT
	table inet veilbench {
		chain out { type filter hook output priority raw - 1; }
		chain in { type filter hook input priority filter + 1; }
	}
	NFT
	$2 nft_empty
	ip netns exec "$1" nft delete table inet veilbench
	veil -n "$1" -batch "$tmp/zones.batch"
	$2 zones_1000
}

for i in $(seq 1 $names); do echo "zone add z$i.example"; done >"$tmp/zones.batch"
echo "zone add corp.example" >>"$tmp/zones.batch"
for i in $(seq 1 $names); do
	echo "cache add s$i.corp.example 100.64.$((i / 250)).$((i % 250 + 1)) ttl 3600"
done >"$tmp/cache.batch"

# The hook's cost: both dnsperf streams on vCPU 0, unbound on vCPU 1.
pin=0
perf "$nsC" "$tmp/plain.txt" >"$tmp/probe"	# warm unbound's cache and find the rate
perf "$nsZ" "$tmp/plain.txt" >/dev/null
# Each stream of a fixed-rate pair: an eighth of what one stream alone does.
rate=$(awk '{ printf "%d", $1 / 8 }' "$tmp/probe")
echo "# fixed rate: $rate queries/s per stream (one stream alone: $(cut -d' ' -f1 "$tmp/probe"))"
for r in $(seq 1 "$rounds"); do
	hook_round "$nsZ" measure
done
veil -n "$nsZ" -batch "$tmp/cache.batch"
echo "# $(veil -n "$nsZ" zone show | wc -l) zones," \
	"$(veil -n "$nsZ" cache show | wc -l) cached names in the measured namespace"

# Secure names: unbound answering from its memory against veil answering
# from the kernel's cache, each alone with the whole machine (the kernel
# answers in the querier's context, unbound in its own).
pin=
for r in $(seq 1 "$rounds"); do
	perf "$nsC" "$tmp/secure.txt" >>"$tmp/secure_unbound.flat"
	sleep 1
	perf "$nsZ" "$tmp/secure.txt" >>"$tmp/secure_kernel.flat"
	sleep 1
	perf "$nsC" "$tmp/secure.txt" "$rate" >>"$tmp/secure_unbound.fixed"
	sleep 1
	perf "$nsZ" "$tmp/secure.txt" "$rate" >>"$tmp/secure_kernel.fixed"
	sleep 1
done

# The sending path alone: queries into a dummy device, nothing answers.
ip netns add "$nsS"
ip -n "$nsS" link add d0 type dummy
ip -n "$nsS" addr add 10.55.0.1/24 dev d0
ip -n "$nsS" link set d0 up
send()	# CASE: nanoseconds per send, appended to $tmp/CASE.send
{
	ip netns exec "$nsS" taskset -c 0 "$top/build/tests/dns_send" 10.55.0.2 100000 \
		>>"$tmp/$1.send"
}
send unloaded >/dev/null && : >"$tmp/unloaded.send"	# warm up
for r in $(seq 1 "$rounds"); do
	hook_round "$nsS" send
done
modprobe -r veil
echo "# ns per send: unloaded $(paste -sd' ' "$tmp/unloaded.send"); no zones" \
	"$(paste -sd' ' "$tmp/no_zones.send"); empty nftables chains" \
	"$(paste -sd' ' "$tmp/nft_empty.send"); 1001 zones $(paste -sd' ' "$tmp/zones_1000.send")"

for c in unloaded no_zones nft_empty zones_1000; do
	echo "# $c (reference:measured qps/ms per round): flat out" \
		"$(awk '{ printf "%s%.0f/%.2f:%.0f/%.2f", (NR > 1 ? " " : ""), $1, $2, $3, $4 }' "$tmp/$c.flat");" \
		"at $rate/s $(awk '{ printf "%s%.0f/%.3f:%.0f/%.3f", (NR > 1 ? " " : ""), $1, $2, $3, $4 }' "$tmp/$c.fixed")"
done
for c in secure_unbound secure_kernel; do
	echo "# $c (qps/ms per round): flat out $(awk '{ printf "%s%.0f/%.2f", (NR > 1 ? " " : ""), $1, $2 }' "$tmp/$c.flat");" \
		"at $rate/s $(awk '{ printf "%s%.0f/%.3f", (NR > 1 ? " " : ""), $1, $2 }' "$tmp/$c.fixed")"
done

# runs CASE KIND: the runs of a case as a JSON array of arrays of numbers
runs()
{
	jq -cRs 'split("\n") | map(select(length > 0) | split(" ") | map(tonumber))' "$tmp/$1.$2"
}

data=$(jq -cn --argjson u "$(runs unloaded flat)" --argjson uf "$(runs unloaded fixed)" \
	--argjson n "$(runs no_zones flat)" --argjson nf "$(runs no_zones fixed)" \
	--argjson e "$(runs nft_empty flat)" --argjson ef "$(runs nft_empty fixed)" \
	--argjson z "$(runs zones_1000 flat)" --argjson zf "$(runs zones_1000 fixed)" \
	--argjson su "$(runs secure_unbound flat)" --argjson suf "$(runs secure_unbound fixed)" \
	--argjson sk "$(runs secure_kernel flat)" --argjson skf "$(runs secure_kernel fixed)" \
	--argjson su0 "$(runs unloaded send)" --argjson sn "$(runs no_zones send)" --argjson se "$(runs nft_empty send)" \
	--argjson sz "$(runs zones_1000 send)" \
	'{unloaded: {flat: $u, fixed: $uf}, no_zones: {flat: $n, fixed: $nf},
	  nft_empty: {flat: $e, fixed: $ef}, zones_1000: {flat: $z, fixed: $zf}, secure_unbound: {flat: $su, fixed: $suf},
	  secure_kernel: {flat: $sk, fixed: $skf},
	  send: {unloaded: [$su0[][0]], no_zones: [$sn[][0]], nft_empty: [$se[][0]], zones_1000: [$sz[][0]]}}')
printf 'VEIL-BENCH-JSON %s\n' "$(jq -cn --argjson d "$data" --arg k "$(uname -r)" \
	--argjson secs "$secs" --argjson names "$names" --argjson rate "$rate" \
	--argjson rounds "$rounds" '
	def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
	# a paired case: per round, measured/reference queries per second
	# (flat out) and reference/measured latency (fixed rate), over the
	# unloaded round
	def paired($c):
	  [range(0; $rounds) as $i |
	   {qps: (($d[$c].flat[$i][2] / $d[$c].flat[$i][0]) /
		  ($d.unloaded.flat[$i][2] / $d.unloaded.flat[$i][0])),
	    latency: (($d[$c].fixed[$i][1] / $d[$c].fixed[$i][3]) /
		      ($d.unloaded.fixed[$i][1] / $d.unloaded.fixed[$i][3]))}];
	def case($c): {qps: ([$d[$c].flat[][2]] | median),
		       fixed_rate_latency_ms: ([$d[$c].fixed[][3]] | median),
		       reference_qps: ([$d[$c].flat[][0]] | median),
		       reference_fixed_rate_latency_ms: ([$d[$c].fixed[][1]] | median)};
	def alone($c): {qps: ([$d[$c].flat[][0]] | median),
			fixed_rate_latency_ms: ([$d[$c].fixed[][1]] | median)};
	{kernel: $k, seconds: $secs, names: $names, rounds: $rounds, fixed_rate_qps: $rate,
	 method: "paired: measured and reference dnsperf streams at once on one vCPU",
	 results: {unloaded: case("unloaded"), no_zones: case("no_zones"),
		   nft_empty: case("nft_empty"), zones_1000: case("zones_1000"), secure_unbound: alone("secure_unbound"),
		   secure_kernel: alone("secure_kernel"),
		   send_ns: {unloaded: ($d.send.unloaded | median),
			     no_zones: ($d.send.no_zones | median),
			     nft_empty: ($d.send.nft_empty | median),
			     zones_1000: ($d.send.zones_1000 | median)}},
	 rounds_ratio: {no_zones: paired("no_zones"), nft_empty: paired("nft_empty"),
			zones_1000: paired("zones_1000")},
	 ratio: {
	   no_zones: {qps: ([paired("no_zones")[].qps] | median),
		      latency: ([paired("no_zones")[].latency] | median)},
	   nft_empty: {qps: ([paired("nft_empty")[].qps] | median),
			latency: ([paired("nft_empty")[].latency] | median)},
	   zones_1000: {qps: ([paired("zones_1000")[].qps] | median),
			latency: ([paired("zones_1000")[].latency] | median)},
	   send_extra_ns: {
	     nft_empty: ([range(0; $rounds) as $i | $d.send.nft_empty[$i] - $d.send.unloaded[$i]]
			 | median),
	     zones_1000: ([range(0; $rounds) as $i | $d.send.zones_1000[$i] - $d.send.unloaded[$i]]
			  | median)},
	   kernel_over_unbound: (([$d.secure_kernel.flat[][0]] | median) /
				 ([$d.secure_unbound.flat[][0]] | median))},
	 runs: $d}')"
