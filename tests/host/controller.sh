#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# veil-controller's server on loopback: enrollment and its refusals, mTLS
# refusals, revocation of a live session, hostile input, admin sessions and
# policy updates. Everything runs in a temporary directory against a
# controller on 127.0.0.1 and a random high port; every step is bounded.
#
#   controller (127.0.0.1:PORT, STATE=$tmp/ctl)
#     |-- dev1 (client)   the witness session: must survive every attack
#     |-- dev2 (client)   revoked while it holds a session
#     |-- adm  (admin)    admin over mTLS
#     `-- other CA, expired certificate, no certificate, raw bytes, flood
#
# KTAP output; exit 0 pass, 1 fail, 4 skip.
set -u
plan=25
tmp_name=veil-ctl
. "$(dirname "$0")/controller-lib.bash"


# check NAME CMD...: one point, ok when CMD succeeds.
check()
{
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$name"; else fail "$name" "$tmp/out"; fi
}

# The test runs a second controller on port + 1.
start_controller 2

token()
{
	c enroll add "$1" --owner alice --role "${2:-client}" "${@:3}" 2>>"$tmp/token.log" |
		grep -o 'veil1-[A-Za-z0-9_-]*'
}

enroll()
{
	timeout 15 "$veil" enroll -d "$tmp/$1" "$2"
}

# 2: happy path, files and modes.
t=$(token dev1)
if enroll dev1 "$t" >"$tmp/out" 2>&1 &&
   [ "$(stat -c %a "$tmp/dev1/key.pem" "$tmp/dev1/cert.pem" "$tmp/dev1/ca.pem" \
	"$tmp/dev1/controller" | sort -u)" = 600 ] &&
   [ -s "$tmp/dev1/cert.pem" ] && [ -s "$tmp/dev1/ca.pem" ] &&
   [ "$(cat "$tmp/dev1/controller")" = "$addr" ] &&
   cmp -s "$tmp/dev1/ca.pem" "$state/ca.crt" &&
   ! ls "$tmp/dev1"/*.tmp >/dev/null 2>&1; then
	ok "enroll writes key.pem, cert.pem, ca.pem and controller, all 0600"
else
	fail "enroll writes key.pem, cert.pem, ca.pem and controller, all 0600" "$tmp/out"
fi

# 3-4: a used token, an enrolled directory.
if ! enroll dev1b "$t" >"$tmp/out" 2>&1 && grep -q 'already used' "$tmp/out"; then
	ok "a used token is refused as used"
else
	fail "a used token is refused as used" "$tmp/out"
fi
t2=$(token dev9)
if ! enroll dev1 "$t2" >"$tmp/out" 2>&1 && grep -q -- '--force' "$tmp/out"; then
	ok "an enrolled directory is kept unless --force"
else
	fail "an enrolled directory is kept unless --force" "$tmp/out"
fi

# 5: an expired token. veil-controller takes --expires of 1m at least: when
# it refuses 1s, the token's expiry is moved into the past in the store.
t=$(token dev3 client --expires 1s)
if [ -z "$t" ] && command -v sqlite3 >/dev/null; then
	t=$(token dev3 client --expires 1m)
	sqlite3 "$state/controller.db" \
		"UPDATE enrollment_tokens SET expires = 1 WHERE device = 'dev3'" 2>>"$tmp/token.log"
fi
sleep 2
if ! enroll dev3 "$t" >"$tmp/out" 2>&1 && grep -q 'expired' "$tmp/out"; then
	ok "an expired token is refused as expired"
else
	fail "an expired token is refused as expired" "$tmp/out"
fi

# Rewrite a token's fields: field 1 fingerprint, 2 secret.
forge()
{
	python3 - "$1" "$2" "$3" <<'EOF'
import base64, sys
tok, field, value = sys.argv[1][6:], int(sys.argv[2]), sys.argv[3]
raw = base64.urlsafe_b64decode(tok + '=' * (-len(tok) % 4)).decode().split('\n')
raw[field] = value
print('veil1-' + base64.urlsafe_b64encode('\n'.join(raw).encode()).decode().rstrip('='))
EOF
}

# 6-8: a forged secret, a token for another CA, a malformed token.
t=$(token dev4)
f=$(forge "$t" 2 "$(openssl rand -hex 32)")
if ! enroll dev4 "$f" >"$tmp/out" 2>&1 && grep -q 'unknown' "$tmp/out"; then
	ok "a forged token secret is refused as unknown"
else
	fail "a forged token secret is refused as unknown" "$tmp/out"
fi
timeout 10 "$ctl" -d "$tmp/other" init --org other --hosts localhost,127.0.0.1 \
	--address "$addr" >/dev/null 2>&1
o=$(timeout 10 "$ctl" -d "$tmp/other" enroll add evil --owner eve --role client 2>/dev/null |
    grep -o 'veil1-[A-Za-z0-9_-]*')
if [ -n "$o" ] && ! enroll evil "$o" >"$tmp/out" 2>&1 &&
   grep -q 'not the one this token was made for' "$tmp/out" && [ ! -e "$tmp/evil/key.pem" ]; then
	ok "a token pinned to another CA is refused before the secret is sent"
else
	fail "a token pinned to another CA is refused before the secret is sent" "$tmp/out"
fi
if ! enroll dev5 veil1-garbage >"$tmp/out" 2>&1 && grep -q 'malformed' "$tmp/out"; then
	ok "a malformed token is refused"
else
	fail "a malformed token is refused" "$tmp/out"
fi

# The witness: dev1 holds a session through every attack below.
timeout 60 "$cli" hold "$tmp/dev1" 40 >"$tmp/witness.log" 2>&1 &
witness=$!
pids+=("$witness")
check "a device session opens: HelloAck, PolicyUpdate" \
	timeout 10 "$cli" hello "$tmp/dev1"

# 10: no certificate on a normal session.
fpr=$(openssl x509 -in "$state/ca.crt" -outform DER | sha256sum | cut -d' ' -f1)
if timeout 10 "$cli" nocert "$addr" "$fpr" >"$tmp/out" 2>&1 && grep -q 'may only enroll' "$tmp/out"; then
	ok "a session without a certificate may only enroll"
else
	fail "a session without a certificate may only enroll" "$tmp/out"
fi

# 11: a certificate from another CA (the other controller's device).
timeout 10 "$ctl" -d "$tmp/other" serve --listen 127.0.0.1:$((port + 1)) >/dev/null 2>&1 &
pids+=("$!")
mkdir -p "$tmp/foreign"
o=$(timeout 10 "$ctl" -d "$tmp/other" enroll add foreign --owner eve --role client 2>/dev/null |
    grep -o 'veil1-[A-Za-z0-9_-]*')
if wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$((port + 1))" &&
   timeout 15 "$veil" enroll -d "$tmp/foreign" --force "$(forge "$o" 0 127.0.0.1:$((port + 1)))" \
	>/dev/null 2>&1; then
	cp "$tmp/dev1/ca.pem" "$tmp/foreign/ca.pem"
	echo "$addr" >"$tmp/foreign/controller"
fi
if ! timeout 10 "$cli" hello "$tmp/foreign" >"$tmp/out" 2>&1 &&
   grep -q 'refused' "$tmp/out"; then
	ok "a certificate from another CA is refused"
else
	fail "a certificate from another CA is refused" "$tmp/out"
fi

# 12: an expired certificate, signed by the CA with a past notAfter.
e=$tmp/expired
mkdir -p "$e/ca"
: >"$e/ca/index.txt"
echo 01 >"$e/ca/serial"
cat >"$e/ca.cnf" <<EOF
[ ca ]
default_ca = c
[ c ]
database = $e/ca/index.txt
new_certs_dir = $e/ca
serial = $e/ca/serial
default_md = sha256
policy = p
unique_subject = no
[ p ]
commonName = supplied
[ ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
openssl ecparam -name prime256v1 -genkey -noout -out "$e/key.pem" 2>/dev/null
openssl req -new -key "$e/key.pem" -subj "/O=test/OU=client/UID=alice/CN=dev1" \
	-out "$e/csr.pem" 2>/dev/null
openssl ca -batch -config "$e/ca.cnf" -cert "$state/ca.crt" -keyfile "$state/ca.key" \
	-in "$e/csr.pem" -out "$e/cert.pem" -startdate 20200101000000Z \
	-enddate 20200102000000Z -extensions ext -notext >/dev/null 2>&1
cp "$tmp/dev1/ca.pem" "$tmp/dev1/controller" "$e/"
if ! timeout 10 "$cli" hello "$e" >"$tmp/out" 2>&1 && grep -q 'expired' "$tmp/out"; then
	ok "an expired certificate is refused as expired"
else
	fail "an expired certificate is refused as expired" "$tmp/out"
fi

# 13-14: revocation cuts a live session within 2 s; the certificate stays refused.
t=$(token dev2)
enroll dev2 "$t" >/dev/null 2>&1
timeout 30 "$cli" hold "$tmp/dev2" 25 >"$tmp/hold2.log" 2>&1 &
hold2=$!
pids+=("$hold2")
wait_for 5 grep -q hello_ack "$tmp/hold2.log"
c device revoke dev2 >"$tmp/out" 2>&1
start=$SECONDS
if wait_for 2 bash -c "! kill -0 $hold2" && grep -q 'revoked' "$tmp/hold2.log"; then
	ok "revoking a device ends its live session ($((SECONDS - start)) s)"
else
	fail "revoking a device ends its live session" "$tmp/hold2.log" "$tmp/out"
fi
if ! timeout 10 "$cli" hello "$tmp/dev2" >"$tmp/out" 2>&1 && grep -q 'revoked' "$tmp/out"; then
	ok "a revoked certificate is refused"
else
	fail "a revoked certificate is refused" "$tmp/out"
fi

# 15-20: hostile input over an authenticated session.
raw()
{
	local what=$1 expect=$2
	if timeout 10 "$cli" raw "$tmp/dev1" "$what" >"$tmp/out" 2>&1 &&
	   grep -q "$expect" "$tmp/out" && alive; then
		ok "raw $what: refused ($expect), controller alive"
	else
		fail "raw $what: refused ($expect), controller alive" "$tmp/out"
	fi
}
raw --garbage 'error: 2'
raw --oversize 'error: 3'
raw --empty 'error: 2'
raw --version 'error: 1'
raw 0000000408011a00 'error: 4'	# a HelloAck sent by a node
if timeout 10 "$cli" raw "$tmp/dev1" --truncated >"$tmp/out" 2>&1 && alive; then
	ok "a truncated message closes only its session"
else
	fail "a truncated message closes only its session" "$tmp/out"
fi

# 21: a client that never finishes its TLS handshake is cut (deadline 10 s).
if timeout 20 "$cli" no-handshake "$addr" 15 >"$tmp/out" 2>&1 && alive; then
	ok "a stalled handshake is cut: $(cat "$tmp/out")"
else
	fail "a stalled handshake is cut" "$tmp/out"
fi

# 22: admin over mTLS with an admin certificate; a client certificate is refused.
t=$(token adm admin)
enroll adm "$t" >/dev/null 2>&1
if timeout 10 "$cli" admin "$tmp/adm" -j session list >"$tmp/out" 2>&1 &&
   grep -q '"device":"dev1"' "$tmp/out" &&
   ! timeout 10 "$cli" admin "$tmp/dev1" device list >"$tmp/out2" 2>&1 &&
   grep -q 'admin certificate' "$tmp/out2"; then
	ok "admin sessions need an admin certificate; session list shows the witness"
else
	fail "admin sessions need an admin certificate; session list shows the witness" \
		"$tmp/out" "$tmp/out2"
fi

# 23: a loaded policy reaches a new session.
cat >"$tmp/policy.json" <<'EOF'
{
  "version": 1,
  "zones": ["corp.example"]
}
EOF
if c policy load "$tmp/policy.json" >"$tmp/out" 2>&1 &&
   timeout 10 "$cli" hello "$tmp/dev1" >"$tmp/out" 2>&1 &&
   grep -q 'policy_update: version [1-9]' "$tmp/out" && grep -q 'corp.example' "$tmp/out"; then
	ok "after policy load a session gets the new PolicyUpdate"
else
	fail "after policy load a session gets the new PolicyUpdate" "$tmp/out"
fi

# 24: a node that sends without reading is cut when its queue is full.
if timeout 30 "$cli" flood "$tmp/dev1" 64 >"$tmp/out" 2>&1 && grep -q '^cut' "$tmp/out" && alive &&
   grep -q 'output queue over its limit' "$tmp/server.log"; then
	ok "a node that does not read is cut: $(cat "$tmp/out")"
else
	fail "a node that does not read is cut" "$tmp/out"
fi

# 25: the witness lived through it all and heartbeats still answer.
acks_before=$(grep -c heartbeat_ack "$tmp/witness.log")
sleep 2.5
acks_after=$(grep -c heartbeat_ack "$tmp/witness.log")
if alive && kill -0 "$witness" 2>/dev/null && [ "$acks_after" -gt "$acks_before" ] &&
   ! grep -q '^error\|^closed' "$tmp/witness.log" &&
   grep -q 'policy_update: version [1-9]' "$tmp/witness.log"; then
	ok "the witness session kept its heartbeats and got the policy update"
else
	fail "the witness session kept its heartbeats and got the policy update" \
		"$tmp/witness.log" "$tmp/server.log"
fi

finish
