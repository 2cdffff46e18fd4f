# SPDX-License-Identifier: GPL-2.0
# Shared by the host tests that run a veil-controller on loopback
# (tests/host/controller.sh, tests/host/broker.sh); sourced, not run.
#
# The test sets, before sourcing:
#   plan	its number of points
#   tmp_name	the prefix of its temporary directory (/tmp/TMP_NAME.XXXXXX)
#   fail_lines	how many lines of each log a failed point shows (default 15)
#
# This prints the KTAP header, skips every point when a program is missing,
# makes $tmp (removed on exit, with every process in $pids killed) and
# defines ok, fail, wait_for, c (the controller on $state), start_controller,
# alive and finish.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ctl=$top/build/veil-controller
veil=$top/build/veil
cli=$top/build/tests/veil-ctl-client
n=0
fails=0

echo "TAP version 13"
echo "1..$plan"
skip_all()
{
	local i
	for i in $(seq "$plan"); do echo "ok $i # SKIP $1"; done
	exit 4
}
for b in "$ctl" "$veil" "$cli"; do
	[ -x "$b" ] || skip_all "$(basename "$b") not built (make userspace unit)"
done
command -v openssl >/dev/null || skip_all "openssl not installed"

tmp=$(mktemp -d "/tmp/$tmp_name.XXXXXX")
pids=()
cleanup()
{
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok()
{
	n=$((n + 1))
	echo "ok $n - $1"
}

# fail NAME [LOG...]: a failed point, with the end of each LOG.
fail()
{
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	shift
	local f
	for f in "$@"; do [ -f "$f" ] && sed 's/^/# /' "$f" | tail -n "${fail_lines:-15}"; done
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s.
wait_for()
{
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -le "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

state=$tmp/ctl
c()
{
	timeout 10 "$ctl" -d "$state" "$@"
}

# ports_free PORT COUNT: nothing listens on the COUNT ports from PORT up.
ports_free()
{
	local f="sport = :$1" i
	for ((i = 1; i < $2; i++)); do f+=" or sport = :$(($1 + i))"; done
	[ -z "$(ss -Htln "( $f )")" ]
}

# start_controller [COUNT]: the first point. Inits a controller in $state
# and serves it on $addr (127.0.0.1:$port, pid $server), with $port a random
# port below the ephemeral range (32768 up, where outgoing connections take
# theirs) found free with the COUNT - 1 ports after it (COUNT defaults to
# 1); another port if the controller does not come up. Without a controller
# every remaining point fails and the test ends.
start_controller()
{
	local try i

	for try in 1 2 3 4 5; do
		for _ in $(seq 20); do
			port=$((20000 + RANDOM % 12000))
			ports_free "$port" "${1:-1}" && break
		done
		addr=127.0.0.1:$port
		rm -rf "$state"
		c init --org test --hosts localhost,127.0.0.1 --address "$addr" >"$tmp/init.log" 2>&1
		timeout 120 "$ctl" -d "$state" serve --listen "$addr" --heartbeat 2 --idle 6 \
			>"$tmp/server.log" 2>&1 &
		server=$!
		wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" &&
			kill -0 "$server" 2>/dev/null && break
		kill "$server" 2>/dev/null
		wait "$server" 2>/dev/null
	done
	pids+=("$server")
	if kill -0 "$server" 2>/dev/null; then
		ok "controller serves on $addr"
	else
		fail "controller serves on $addr" "$tmp/init.log" "$tmp/server.log"
		for i in $(seq $((n + 1)) "$plan"); do echo "not ok $i # no controller"; done
		exit 1
	fi
}

alive()
{
	kill -0 "$server" 2>/dev/null
}

# finish: stops the controller; the test's exit status.
finish()
{
	kill -TERM "$server" 2>/dev/null
	wait "$server" 2>/dev/null
	[ "$n" = "$plan" ] || echo "# ran $n of $plan points"
	[ "$fails" = 0 ] && [ "$n" = "$plan" ]
}
