#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the netlink fuzzer (nl_fuzz.c) in a fresh namespace holding one veil
# device; "lo" serves as the device that is not veil. The fuzzer starts its
# unprivileged half through setpriv. VEIL_FUZZ_SEED and VEIL_FUZZ_COUNT
# pass through to it.
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe setpriv nl_fuzz

modprobe veil
new_netns ns
ip -n "$ns" link add veil0 type veil
ip netns exec "$ns" nl_fuzz veil0 lo
