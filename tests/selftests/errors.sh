#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every bad input to the veil CLI gets a clear message and exit status 1.
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe setpriv veil

ktap_plan 15

modprobe veil
new_netns nsA
ip -n "$nsA" link add veil0 type veil

expect_fail "unknown device" '^Device "nosuch" does not exist\.$' \
	veil -n "$nsA" link show dev nosuch
expect_fail "a device that is not a veil device" 'not a veil device' \
	veil -n "$nsA" link show dev lo
expect_fail "a device of another namespace is not visible" 'does not exist' \
	veil link show dev veil0
expect_fail "a name longer than 15 characters" 'not a valid device name' \
	veil -n "$nsA" link show dev abcdefghijklmnopq
expect_fail "\"dev\" without a name" 'needs a device name' veil link show dev
expect_fail "two device names" 'duplicate|garbage' veil link show dev a b
expect_fail "unknown object" '^Object "frob" is unknown, try "veil help"\.$' veil frob
expect_fail "unknown verb" '^Command "frob" is unknown, try "veil link help"\.$' \
	veil link frob
expect_fail "unknown option" '^Option "-q" is unknown' veil -q link show
expect_fail "unknown namespace" 'Cannot open network namespace "veil-none-x"' \
	veil -n veil-none-x link show
expect_fail "no object at all prints usage" '^Usage: veil' veil

# An unprivileged user may neither read nor change veil state.
expect_fail "non-root user is refused (EPERM)" 'Operation not permitted.*CAP_NET_ADMIN' \
	setpriv --reuid=nobody --regid=nogroup --clear-groups veil link show
check "non-root user cannot create a veil device" \
	sh -c '! setpriv --reuid=nobody --regid=nogroup --clear-groups \
		ip link add veilx type veil 2>/dev/null'

check "help exits 0" sh -c 'veil help | grep -q "OBJECT :=" && veil link help | grep -q "link show"'

# With the module neither loaded nor loadable, the CLI says what to do.
block=/etc/modprobe.d/veil-selftest-block.conf
modprobe -r veil
echo "install veil /bin/false" >"$block"
expect_fail "module not loadable" 'veil kernel module is not loaded' veil link show
rm -f "$block"

ktap_finish
