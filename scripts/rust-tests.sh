#!/usr/bin/env bash
# The Rust test suites (cargo test --workspace), for scripts/test.sh.
# The Rust harness has no "skipped" state: a test that cannot run here (no C compiler,
# no nginx, ...) writes `SKIPPED: <test>: <why>` to stderr and returns (tests/support's
# `skip`). This script collects those lines and appends them to $WXNET_SKIPPED_TESTS
# (when set) so that scripts/test.sh counts them as skipped tests, never as passed ones.
# With WXNET_REQUIRE_ALL=1 such a test fails instead.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if grep -q '^SKIPPED: ' "$log"; then
    echo "rust-tests: tests skipped on this machine (not passed):"
    grep '^SKIPPED: ' "$log" | sed 's/^/  /'
    if [ -n "${WXNET_SKIPPED_TESTS:-}" ]; then
        grep '^SKIPPED: ' "$log" | sed 's/^SKIPPED: /rust-tests: /' >>"$WXNET_SKIPPED_TESTS"
    fi
fi
exit "$rc"
