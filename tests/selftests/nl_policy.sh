#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the netlink policy test (nl_policy.c) in a fresh namespace holding
# one veil device; "lo" serves as the device that is not veil.
. "$(dirname "$0")/lib.sh"
require_cmd ip modprobe nl_policy

modprobe veil
new_netns ns
ip -n "$ns" link add veil0 type veil
ip netns exec "$ns" nl_policy veil0 lo
