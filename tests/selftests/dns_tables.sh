#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Secure zones and the answer cache: veil zone and veil cache, per network
# namespace, with their limits, expiry and eviction.
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe jq veil setpriv

ktap_plan 33

modprobe veil
new_netns nsA
new_netns nsB
trap 'cleanup_netns; echo 4096 >/sys/module/veil/parameters/dns_cache_size' EXIT
A="veil -n $nsA"
B="veil -n $nsB"

check "add a zone" $A zone add corp.example
check "zones are names without regard to case or final dot" \
	sh -c "$A zone add Lab.Example. && $A -j zone show | jq -e 'map(.zone) | sort == [\"corp.example\", \"lab.example\"]'"
expect_fail "the same zone twice is refused" "exists already" $A zone add CORP.example
expect_fail "an empty label is refused" "empty label" $A zone add bad..example
expect_fail "a label of 64 characters is refused" "longer than 63" \
	$A zone add "$(printf 'a%.0s' $(seq 64)).example"
expect_fail "odd characters are refused" "letters, digits" $A zone add 'sp ace.example'
expect_fail "deleting a zone that does not exist is refused" "no such zone" \
	$A zone del nope.example
check "zones belong to their namespace" test "$($B -j zone show | jq length)" = 0

check "cache an answer with IPv4 and IPv6 addresses" \
	$A cache add web.corp.example 100.64.7.1 100.64.7.2 fd00:64::7 ttl 60
check "show it" \
	sh -c "$A cache show web.corp.example | grep -q '^web.corp.example 100.64.7.1 100.64.7.2 fd00:64::7 ttl 60 expires'"
check "and as JSON" \
	sh -c "$A -j cache show | jq -e '.[0] | .name == \"web.corp.example\" and .addrs == [\"100.64.7.1\", \"100.64.7.2\", \"fd00:64::7\"] and .nxdomain == false and .ttl == 60 and .expires <= 60'"
check "a negative answer" $A cache add gone.corp.example nxdomain ttl 30
check "shows as nxdomain" \
	sh -c "$A -j cache show gone.corp.example | jq -e '.[0].nxdomain == true and .[0].addrs == []'"
check "a deeper name and mixed case are inside the zone" \
	sh -c "$A cache add A.B.Corp.Example 100.64.7.3 ttl 60 && $A cache show a.b.corp.example | grep -q 100.64.7.3"
check "adding again replaces the answer" \
	sh -c "$A cache add web.corp.example 100.64.7.9 ttl 60 && [ \"\$($A -j cache show web.corp.example | jq -c .[0].addrs)\" = '[\"100.64.7.9\"]' ]"
expect_fail "a name outside every zone is refused" "not inside any secure zone" \
	$A cache add web.other.example 100.64.7.1 ttl 60
expect_fail "a suffix that is not on a label boundary is outside" "not inside any secure zone" \
	$A cache add xcorp.example 100.64.7.1 ttl 60
expect_fail "addresses and nxdomain together are refused" "not both" \
	$A cache add x.corp.example 100.64.7.1 nxdomain ttl 60
expect_fail "a TTL of 0 is refused" "ttl" $A cache add x.corp.example 100.64.7.1 ttl 0
expect_fail "a TTL over a day is refused" "ttl" $A cache add x.corp.example 100.64.7.1 ttl 86401
expect_fail "nine IPv4 addresses are refused" "at most 8" \
	$A cache add x.corp.example $(seq -f '100.64.8.%g' 9) ttl 60
expect_fail "a missing TTL is refused" "ttl SECONDS" $A cache add x.corp.example 100.64.7.1
expect_fail "an unprivileged user cannot add" "CAP_NET_ADMIN" \
	ip netns exec "$nsA" setpriv --reuid 65534 --regid 65534 --clear-groups veil cache add y.corp.example 100.64.7.1 ttl 60

$A cache add short.corp.example 100.64.7.4 ttl 1
check "an answer expires on time" slowwait 5 sh -c "! $A cache show short.corp.example 2>/dev/null"
check "del forgets one name" \
	sh -c "$A cache del gone.corp.example && ! $A cache show gone.corp.example 2>/dev/null"
check "deleting a zone forgets its answers" \
	sh -c "$A zone del corp.example && [ \"\$($A -j cache show | jq length)\" = 0 ]"

$A zone add corp.example
echo 3 >/sys/module/veil/parameters/dns_cache_size
for i in 1 2 3 4; do $A cache add "n$i.corp.example" "100.64.9.$i" ttl 60; done
check "a full cache evicts its oldest answer" \
	sh -c "[ \"\$($A -j cache show | jq -c 'map(.name) | sort')\" = '[\"n2.corp.example\",\"n3.corp.example\",\"n4.corp.example\"]' ]"
check "flush forgets everything" sh -c "$A cache flush && [ \"\$($A -j cache show | jq length)\" = 0 ]"

check "300 zones list in a multi-part dump" \
	sh -c "for i in \$(seq 1 300); do $A zone add z\$i.example || exit 1; done; [ \"\$($A -j zone show | jq length)\" = 302 ]"
printf '%s\n' "# zones for the batch test" "zone add b1.example" "  zone add 'b2.example' # quoted" \
	"cache add x.b1.example 100.64.9.2 ttl 60" >"/tmp/veil-batch-$$"
check "-batch runs every line in one process" \
	sh -c "$A -batch /tmp/veil-batch-$$ && $A zone show | grep -qx b2.example &&
	       $A -j cache show x.b1.example | jq -e '.[0].addrs == [\"100.64.9.2\"]'"
printf '%s\n' "zone add b3.example" "zone add bad..name" "zone add b4.example" >"/tmp/veil-batch-$$"
check "a failing line stops the batch and is named" \
	sh -c "! $A -batch /tmp/veil-batch-$$ 2>/tmp/veil-batch-err-$$ &&
	       grep -q 'line 2 failed' /tmp/veil-batch-err-$$ && $A zone show | grep -qx b3.example &&
	       ! $A zone show | grep -qx b4.example"
check "-force goes on after it, and still exits 1" \
	sh -c "! $A -force -batch /tmp/veil-batch-$$ 2>/dev/null && $A zone show | grep -qx b4.example"
rm -f "/tmp/veil-batch-$$" "/tmp/veil-batch-err-$$"
check "deleting the namespace with zones and answers is clean" \
	sh -c "$A cache add n1.corp.example 100.64.9.1 ttl 60 && ip netns del $nsA"

ktap_finish
