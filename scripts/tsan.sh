#!/usr/bin/env bash
# ThreadSanitizer over the concurrency-heavy Rust suites: the stress test (thousands
# of requests, random aborts, an app freed mid-flight) and the socket suite. Needs
# the nightly toolchain with rust-src (-Zbuild-std: the standard library must be
# instrumented too, or every std synchronisation is a false report). Without them
# it prints SKIPPED and exits 77 (skipped, for scripts/test.sh). Separate target dir: the instrumented build is its own.
# Suppressions: scripts/tsan.supp (each line says why it is not a bug of ours).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "tsan.sh: SKIPPED: no nightly toolchain, ThreadSanitizer run skipped"
    exit 77
fi
if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    if ! rustup component add rust-src --toolchain nightly; then
        echo "tsan.sh: SKIPPED: the nightly rust-src component could not be installed"
        exit 77
    fi
fi
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
export CARGO_TARGET_DIR=target/tsan
# Instrumented code runs 5-20x slower: the tests' wait bounds scale (tests/support `scaled`).
export WXNET_TEST_TIMEOUT_SCALE=10
# Two tokio workers, not the default one: a host setting WXNET_WORKER_THREADS gets tasks of
# one app running on two cores at once, and those races need the sanitizer most; the host,
# dispatcher and worker threads race as they do with one.
export WXNET_WORKER_THREADS=2
# The test binaries run their tests one at a time so that a report names one test.
cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu -p wxnet \
    --test stress --test socket -- --test-threads=1
