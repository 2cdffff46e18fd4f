#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms add, build and install of veil.ko against every installed kernel's
# headers, then removal. Runs on the build host: it builds and installs
# there, loading is tested in the VM.
. "$(dirname "$0")/../selftests/lib.sh"
require_cmd dkms modinfo git

top=$(cd "$(dirname "$0")/../.." && pwd)
# A version of its own, so a veil the administrator installed is untouched.
ver="$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")~selftest"
src=/usr/src/veil-$ver
kvers=()
for d in /lib/modules/*/build; do
	[ -d "$d" ] && kvers+=("$(basename "$(dirname "$d")")")
done
[ "${#kvers[@]}" -gt 0 ] || require_cmd linux-headers-for-any-kernel

cleanup()
{
	dkms remove -m veil -v "$ver" --all >/dev/null 2>&1
	rm -rf "$src"
}
trap cleanup EXIT
cleanup

ktap_plan $((2 + 3 * ${#kvers[@]}))

# The source as DKMS gets it from a release tarball: tracked files only.
mkdir -p "$src"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$src")
sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "$src/dkms.conf"

check "dkms add" dkms add -m veil -v "$ver"
for k in "${kvers[@]}"; do
	check "dkms build for $k" dkms build -m veil -v "$ver" -k "$k"
	check "dkms install for $k" dkms install -m veil -v "$ver" -k "$k" --force
	mod=$(find "/lib/modules/$k/updates/dkms" -name 'veil.ko*' 2>/dev/null | head -n 1)
	check "installed module for $k has vermagic $k" \
		sh -c "[ -n '$mod' ] && modinfo -F vermagic '$mod' | grep -q '^$k '"
done
dkms remove -m veil -v "$ver" --all >/dev/null 2>&1
check "dkms remove leaves no veil module behind" \
	sh -c "! find /lib/modules/*/updates/dkms -name 'veil.ko*' 2>/dev/null | grep -q ."

ktap_finish
