#!/usr/bin/env bash
# AddressSanitizer (with LeakSanitizer) over the concurrency-heavy Rust suites: the
# stress test (thousands of requests, random aborts, an app freed mid-flight), task
# lifecycle, sockets and transfers. Needs the nightly toolchain (-Zsanitizer); without
# it, says so and exits 77 (skipped, for scripts/test.sh). Separate target dir: the instrumented build is its own.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "asan.sh: no nightly toolchain, AddressSanitizer run skipped"
  exit 77
fi
export RUSTFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export CARGO_TARGET_DIR=target/asan
# Instrumented code runs several times slower: the tests' wait bounds scale (tests/support `scaled`).
export WXNET_TEST_TIMEOUT_SCALE=5
cargo +nightly test -p wxnet --target x86_64-unknown-linux-gnu \
  --test stress --test tasks --test socket --test transfer
