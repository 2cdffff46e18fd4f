#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# veil-controller's command line on a scratch state directory (no server,
# no network): init and its refusal to run twice, file modes, enrollment
# tokens, device list/show/revoke, policy check/load/show, audit, and the
# exit codes (0 ok, 1 failure, 2 usage). KTAP; exit 0 pass, 1 fail, 4 skip.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build/veil-controller
tmp=$(mktemp -d /tmp/veil-ctl-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sd=$tmp/state
n=0
fail=0

echo "TAP version 13"
if [ ! -x "$bin" ]; then
	echo "1..0 # SKIP $bin not built (make userspace)"
	exit 4
fi

ok()	# CONDITION-STATUS NAME
{
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fail=$((fail + 1))
		[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | head -n 5
	fi
}

# run EXPECTED-STATUS ARGS...: veil-controller -d STATE ARGS, output in $tmp/out, $tmp/err
run()
{
	local want=$1 rc
	shift
	timeout 10 "$bin" -d "$sd" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "# veil-controller $*: exit $rc, want $want" >>"$tmp/err"
		return 1
	fi
}

mode()
{
	stat -c %a "$1"
}

umask 000
run 0 init --org example --hosts ctl.example.com,192.0.2.1 &&
	grep -q 'Devices will dial ctl.example.com:4443' "$tmp/out" &&
	grep -Eq 'CA fingerprint \(SHA-256\): [0-9a-f]{64}$' "$tmp/out"
ok $? "init creates the state directory and prints the CA fingerprint"
fpr=$(sed -n 's/^CA fingerprint (SHA-256): //p' "$tmp/out")

[ "$(mode "$sd")" = 700 ] && [ "$(mode "$sd/ca.key")" = 600 ] &&
	[ "$(mode "$sd/server.key")" = 600 ] && [ "$(mode "$sd/controller.db")" = 600 ] &&
	[ "$(mode "$sd/ca.crt")" = 600 ] && [ "$(mode "$sd/server.crt")" = 600 ] && [ "$(mode "$sd/controller.conf")" = 600 ]
ok $? "modes with umask 000: directory 700, keys and store 600, certificates and config 600 too"
umask 022

grep -qx 'address=ctl.example.com:4443' "$sd/controller.conf" &&
	grep -qx 'org=example' "$sd/controller.conf"
ok $? "controller.conf holds the address and the organization"

sum=$(cat "$sd"/ca.* "$sd"/server.* "$sd/controller.conf" | md5sum)
run 1 init --org other && grep -q 'already initialized' "$tmp/err" &&
	[ "$(cat "$sd"/ca.* "$sd"/server.* "$sd/controller.conf" | md5sum)" = "$sum" ]
ok $? "a second init is refused and changes nothing"

run 2 init --address ctl-without-port && grep -q -- '--address' "$tmp/err"
ok $? "init refuses an address without a port (usage, exit 2)"

run 0 device list && [ ! -s "$tmp/out" ]
ok $? "device list is empty at first"
run 0 -j device list && [ "$(cat "$tmp/out")" = "[]" ]
ok $? "device list -j is an empty array"

run 0 enroll add laptop1 --owner alice --role client --groups eng,ops --expires 2h &&
	grep -Eq '^veil1-[A-Za-z0-9_-]+$' "$tmp/out" && [ "$(wc -l <"$tmp/out")" = 1 ]
ok $? "enroll add prints one token line"
token=$(cat "$tmp/out")
payload=${token#veil1-}
pad=$(( (4 - ${#payload} % 4) % 4 ))
raw=$(printf '%s%s' "$payload" "$(printf '=%.0s' $(seq 1 $pad))" | tr '_-' '/+' | base64 -d 2>/dev/null)
[ "$(echo "$raw" | sed -n 1p)" = "ctl.example.com:4443" ] &&
	[ "$(echo "$raw" | sed -n 2p)" = "$fpr" ] &&
	echo "$raw" | sed -n 3p | grep -Eqx '[0-9a-f]{64}'
ok $? "the token holds the controller address, the CA fingerprint and a 64-digit secret"
! grep -q "$(echo "$raw" | sed -n 3p)" "$sd/controller.db"
ok $? "the store does not hold the secret itself"

run 1 enroll add laptop1 --owner alice --role client && grep -q 'laptop1' "$tmp/err" &&
	grep -q 'pending' "$tmp/err"
ok $? "enroll add for a device that has a token is refused, named"
run 0 -j enroll add srv.db-1 --owner ops --role server &&
	grep -q '"token":"veil1-' "$tmp/out" && grep -q '"role":"server"' "$tmp/out"
ok $? "enroll add -j prints the token in a JSON object"
run 2 enroll add Bad_Name --owner alice --role client && grep -q 'not a device name' "$tmp/err"
ok $? "an upper-case device name is a usage error"
run 2 enroll add x --owner alice --role root && grep -q 'not a role' "$tmp/err"
ok $? "an unknown role is a usage error"
run 2 enroll add x --owner alice
ok $? "enroll add without --role is a usage error"
run 2 enroll add x --owner alice --role client --expires soon
ok $? "a bad --expires is a usage error"

run 0 device list && [ "$(wc -l <"$tmp/out")" = 3 ] &&
	grep -Eq '^laptop1 +alice +client +eng,ops +- +[0-9T:Z-]+ +pending$' "$tmp/out"
ok $? "device list shows the pending devices in a table"
run 0 -j device list && grep -q '"name":"laptop1"' "$tmp/out" &&
	grep -q '"groups":\["eng","ops"\]' "$tmp/out" && grep -q '"state":"pending"' "$tmp/out"
ok $? "device list -j has the same fields"
run 0 device show laptop1 && grep -q 'state pending' "$tmp/out"
ok $? "device show of a pending device"
run 1 device show ghost && grep -q 'no device named "ghost"' "$tmp/err"
ok $? "device show of an unknown device fails, named"

run 1 device revoke ghost && grep -q '"ghost"' "$tmp/err"
ok $? "device revoke of an unknown device fails, named"
run 0 device revoke laptop1 && grep -q 'Cancelled' "$tmp/out"
ok $? "device revoke of a pending device cancels its token"
run 0 device list && ! grep -q laptop1 "$tmp/out"
ok $? "and the device is gone from the list"

run 0 audit show && grep -q 'REVOKE' "$tmp/out" && grep -q 'laptop1' "$tmp/out"
ok $? "audit show lists the revocation"
run 0 -j audit show --since 1h --device laptop1 && grep -q '"kind":"REVOKE"' "$tmp/out" &&
	[ "$(grep -o '"kind"' "$tmp/out" | wc -l)" = 1 ]
ok $? "audit show -j --since 1h --device filters"
run 0 audit show --since 2030-01-01T00:00:00Z && [ ! -s "$tmp/out" ]
ok $? "audit show --since a future ISO time is empty"
run 0 audit show --since "$(date +%s -d '1 day ago')" && grep -q REVOKE "$tmp/out"
ok $? "audit show --since unix seconds"
run 2 audit show --since yesterday && grep -q 'not a time' "$tmp/err"
ok $? "audit show --since garbage is a usage error"

run 1 policy check "$tmp/missing.json" && grep -q "cannot read $tmp/missing.json" "$tmp/err"
ok $? "policy check of a missing file says so"
run 1 policy show && grep -q 'No policy is loaded' "$tmp/err"
ok $? "policy show without a policy says so"

cat >"$tmp/policy.json" <<'EOF'
{
  "version": 1,
  "zones": ["corp.example"],
  "apps": {
    "wiki": { "names": ["wiki.corp.example"], "server": "srv1",
              "target": "192.0.2.10", "ports": ["tcp/443"] }
  }
}
EOF
printf '{\n  "apps": [1,\n' >"$tmp/broken.json"
run 0 policy check "$tmp/policy.json"
ok $? "policy check of a valid file"
run 1 policy check "$tmp/broken.json" &&
	grep -Eq "^$tmp/broken.json:[0-9]+:[0-9]+: " "$tmp/err"
ok $? "policy check of a broken file prints FILE:LINE:COLUMN: REASON"
run 0 policy load "$tmp/policy.json" && grep -q 'version 1' "$tmp/out"
ok $? "policy load stores a new version"
run 0 policy show && grep -q '# policy version 1' "$tmp/out" && grep -q wiki "$tmp/out"
ok $? "policy show prints it"
run 1 policy load "$tmp/broken.json" && run 0 policy show &&
	grep -q '# policy version 1' "$tmp/out"
ok $? "a broken policy load leaves the stored one"
run 0 app list && grep -q 'wiki.corp.example' "$tmp/out"
ok $? "app list"

run 2 frobnicate && grep -q 'unknown' "$tmp/err"
ok $? "an unknown command exits 2"
run 2 device frob
ok $? "an unknown device verb exits 2"
run 2 --bogus-option device list
ok $? "an unknown option exits 2"
run 2
ok $? "no command exits 2"
run 0 help && grep -q 'enroll add' "$tmp/out"
ok $? "help prints the commands"
run 0 version && grep -q '^veil-controller ' "$tmp/out"
ok $? "version"
timeout 10 "$bin" -d "$tmp/nothing" device list >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q 'not initialized' "$tmp/err"
ok $? "an uninitialized state directory says to run init"

echo "1..$n"
[ "$fail" = 0 ]
