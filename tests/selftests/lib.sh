# SPDX-License-Identifier: GPL-2.0
# Shared helpers for veil's shell selftests: KTAP output, bounded waits,
# throwaway network namespaces. Source it; then call ktap_plan N, the
# checks, and ktap_finish (which exits 0 pass, 1 fail, 4 all skipped).

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

_ktap_n=0
_ktap_fail=0
_ktap_skip=0
_ktap_planned=0
_netns_list=()

ktap_plan()
{
	_ktap_planned=$1
	echo "TAP version 13"
	echo "1..$1"
}

ktap_ok()
{
	_ktap_n=$((_ktap_n + 1))
	echo "ok $_ktap_n $*"
}

ktap_fail()
{
	_ktap_n=$((_ktap_n + 1))
	_ktap_fail=$((_ktap_fail + 1))
	echo "not ok $_ktap_n $*"
}

ktap_skip()
{
	_ktap_n=$((_ktap_n + 1))
	_ktap_skip=$((_ktap_skip + 1))
	echo "ok $_ktap_n $1 # SKIP ${2:-}"
}

# check "description" command...: one test point, its output shown as
# diagnostics only when it fails.
check()
{
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$desc"
	else
		ktap_fail "$desc"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

diag()
{
	printf '%s\n' "$*" | sed 's/^/# /'
}

ktap_finish()
{
	if [ "$_ktap_n" != "$_ktap_planned" ]; then
		diag "planned $_ktap_planned tests, ran $_ktap_n"
		exit $KSFT_FAIL
	fi
	echo "# totals: pass:$((_ktap_n - _ktap_fail - _ktap_skip)) fail:$_ktap_fail skip:$_ktap_skip"
	[ "$_ktap_fail" = 0 ] || exit $KSFT_FAIL
	[ "$_ktap_skip" != "$_ktap_n" ] || exit $KSFT_SKIP
	exit $KSFT_PASS
}

# require_cmd tool...: skip the whole file when a tool is missing.
require_cmd()
{
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "TAP version 13"
			echo "1..0 # SKIP $c is not installed"
			exit $KSFT_SKIP
		fi
	done
}

# slowwait SECONDS command...: retry until it succeeds or time runs out.
slowwait()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# new_netns VAR: create a namespace with a random suffix, removed on exit.
new_netns()
{
	local name
	name="veil-$1-$(mktemp -u XXXXXX)"
	ip netns add "$name" || return 1
	ip -n "$name" link set lo up
	_netns_list+=("$name")
	printf -v "$1" '%s' "$name"
}

cleanup_netns()
{
	local ns
	for ns in "${_netns_list[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	_netns_list=()
}
trap cleanup_netns EXIT

# veil_loaded: is veil.ko in the kernel?
veil_loaded()
{
	[ -d /sys/module/veil ]
}

# veil_unload: remove veil.ko if loaded (devices go with it).
veil_unload()
{
	! veil_loaded || modprobe -r veil
}

# expect_fail "description" "stderr pattern" command...: the command must
# exit 1 and say something matching the pattern on stderr.
expect_fail()
{
	local desc=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = 1 ] && grep -qE -- "$pat" <<<"$out"; then
		ktap_ok "$desc"
	else
		ktap_fail "$desc"
		diag "exit $rc, expected 1; stderr: $out"
		diag "expected stderr to match: $pat"
	fi
}
