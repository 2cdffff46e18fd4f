#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DNS benchmark, inside the VM (tests/bench/run-vm dns): dnsperf in a
# client namespace against unbound in another, joined by veth. For the
# hook's cost unbound runs on one vCPU and dnsperf on the other, so the
# hook's work (done in the client's context) and the resolver's do not
# steal from each other.
#
#   unloaded      ordinary names, veil.ko not loaded
#   no_zones      the same, veil.ko loaded, client namespace without zones
#   zones_1000    the same from a namespace with 1001 secure zones: every
#                 query and response goes through the hooks
#   secure_unbound  1000 names of a zone served from unbound's memory
#   secure_kernel   the same names answered by veil from its cache
#
# Each case is measured twice: at a fixed rate of half what the unloaded
# resolver sustains (average latency, where a per-packet cost shows) and
# flat out (queries per second). Three rounds, each running every case
# (the module is unloaded and loaded again in each; VEIL_BENCH_ROUNDS);
# each case reports its median run. Prints one line "VEIL-BENCH-JSON {...}".
set -eu
secs=${VEIL_BENCH_SECONDS:-5}
rounds=${VEIL_BENCH_ROUNDS:-3}
names=1000
tmp=$(mktemp -d /tmp/veil-bench-dns.XXXXXX)
nsC=vbc-$$
nsZ=vbz-$$
nsR=vbr-$$
cleanup()
{
	[ -f "$tmp/unbound.pid" ] && kill "$(cat "$tmp/unbound.pid")" 2>/dev/null
	ip netns del "$nsC" 2>/dev/null
	ip netns del "$nsZ" 2>/dev/null
	ip netns del "$nsR" 2>/dev/null
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
# flat out or limited to QPS queries per second. $pin: the CPU for dnsperf,
# or empty to let it use both.
perf()
{
	local server=10.53.0.53
	[ "$1" = "$nsZ" ] && server=10.54.0.53
	ip netns exec "$1" ${pin:+taskset -c $pin} dnsperf -s "$server" -d "$2" -l "$secs" -T 1 \
		-c 4 -q 64 ${3:+-Q "$3"} >"$tmp/out" 2>&1
	awk '/Queries per second:/ { q = $4 } /Average Latency \(s\):/ { l = $4 * 1000 }
	     END { printf "%s %s\n", q, l }' "$tmp/out"
	sleep 1		# let the resolver drain before the next run
}

# median FIELD RUN...: the run ("QPS LAT") with the median FIELD (1: queries
# per second, for flat-out runs; 2: latency, for fixed-rate runs, whose
# queries per second are all the rate)
median()
{
	local k=$1
	shift
	printf '%s\n' "$@" | sort -g -k"$k","$k" | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'
}

# measure CASE NS FILE: one fixed-rate and one flat-out run, appended to
# $tmp/CASE.lat and $tmp/CASE.qps
measure()
{
	perf "$2" "$3" "$rate" >>"$tmp/$1.lat"
	perf "$2" "$3" >>"$tmp/$1.qps"
}

load()	# veil.ko with 1001 zones and 1000 cached names in $nsZ
{
	modprobe veil
	veil -n "$nsZ" -batch "$tmp/zones.batch"
	veil -n "$nsZ" -batch "$tmp/cache.batch"
}

for i in $(seq 1 $names); do echo "zone add z$i.example"; done >"$tmp/zones.batch"
echo "zone add corp.example" >>"$tmp/zones.batch"
for i in $(seq 1 $names); do
	echo "cache add s$i.corp.example 100.64.$((i / 250)).$((i % 250 + 1)) ttl 3600"
done >"$tmp/cache.batch"

# The hook's cost: dnsperf on vCPU 0, unbound on vCPU 1, every case in
# every round.
pin=0
rate=
perf "$nsC" "$tmp/plain.txt" >"$tmp/probe"	# warm unbound's cache and find the rate
rate=$(awk '{ printf "%d", $1 / 4 }' "$tmp/probe")
echo "# fixed rate: $rate queries/s (a quarter of $(cut -d' ' -f1 "$tmp/probe"))"
for r in $(seq 1 "$rounds"); do
	modprobe -r veil 2>/dev/null || true
	measure unloaded "$nsC" "$tmp/plain.txt"
	load
	[ "$r" = 1 ] && echo "# $(veil -n "$nsZ" zone show | wc -l) zones," \
		"$(veil -n "$nsZ" cache show | wc -l) cached names in the hooked namespace"
	measure no_zones "$nsC" "$tmp/plain.txt"
	measure zones_1000 "$nsZ" "$tmp/plain.txt"
done

# Secure names: unbound answering from its memory against veil answering
# from the kernel's cache, each with the whole machine (the kernel answers
# in the querier's context, unbound in its own).
pin=
for r in $(seq 1 "$rounds"); do
	measure secure_unbound "$nsC" "$tmp/secure.txt"
	measure secure_kernel "$nsZ" "$tmp/secure.txt"
done
modprobe -r veil

for c in unloaded no_zones zones_1000 secure_unbound secure_kernel; do
	echo "# $c: flat out $(paste -sd'/' "$tmp/$c.qps" | tr ' ' ':'); at $rate/s $(paste -sd'/' "$tmp/$c.lat" | tr ' ' ':')"
done

# case_json CASE: its median flat-out queries per second and latency, and
# the median latency at the fixed rate
case_json()
{
	local flat fixed
	mapfile -t runs <"$tmp/$1.qps"
	flat=$(median 1 "${runs[@]}")
	mapfile -t runs <"$tmp/$1.lat"
	fixed=$(median 2 "${runs[@]}")
	set -- "$1" $flat $fixed
	printf '"%s":{"qps":%s,"latency_ms":%s,"fixed_rate_latency_ms":%s}' "$1" "$2" "$3" "$5"
}

results="{$(case_json unloaded),$(case_json no_zones),$(case_json zones_1000),$(case_json secure_unbound),$(case_json secure_kernel)}"
# Ratios to the unloaded resolver: queries per second flat out, and latency
# at the fixed rate as unloaded/case (so 1.0 is "no cost", lower is worse).
printf 'VEIL-BENCH-JSON %s\n' "$(jq -cn --argjson r "$results" --arg k "$(uname -r)" \
	--argjson secs "$secs" --argjson names "$names" --argjson rate "$rate" '
	{kernel: $k, seconds: $secs, names: $names, fixed_rate_qps: $rate, results: $r,
	 ratio: {
	   no_zones: {qps: ($r.no_zones.qps / $r.unloaded.qps),
		      latency: ($r.unloaded.fixed_rate_latency_ms / $r.no_zones.fixed_rate_latency_ms)},
	   zones_1000: {qps: ($r.zones_1000.qps / $r.unloaded.qps),
			latency: ($r.unloaded.fixed_rate_latency_ms / $r.zones_1000.fixed_rate_latency_ms)},
	   kernel_over_unbound: ($r.secure_kernel.qps / $r.secure_unbound.qps)}}')"
