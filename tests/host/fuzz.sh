#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The libFuzzer targets (tests/fuzz/run), run on the host by tests/run:
# VEIL_FUZZ_SECONDS (default 20) per target.
exec "$(dirname "$0")/../fuzz/run"
