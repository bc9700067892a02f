#!/usr/bin/env bash
# Runs every test of the project, in order of cost. Usage: bash scripts/test.sh
# Needs: cargo (with clippy, rustfmt), gcc, valgrind, python3, node + npm,
# java 17 + mvn, debootstrap (for the Swift chroot), the nightly toolchain for ASan,
# TSan (with rust-src) and fuzzing (with cargo-fuzz), each skipped without nightly.
# `.ci/run` installs the rest.
# Exits non-zero if any suite fails; the last line counts suites.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()

suite() {
    local name="$1"
    shift
    echo
    echo "=== $name: $*"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
    fi
}

suite format cargo fmt --all -- --check
suite clippy cargo clippy --workspace --all-targets --all-features -- -D warnings
suite rust-tests cargo test --workspace
suite c-examples-valgrind bash scripts/c-examples.sh --valgrind
suite targets bash scripts/check-targets.sh
suite asan bash scripts/asan.sh
suite tsan bash scripts/tsan.sh
suite fuzz bash scripts/fuzz.sh 20
suite autobahn bash scripts/autobahn.sh
suite python bash scripts/test-python.sh
suite node bash scripts/test-node.sh
suite kotlin bash scripts/test-kotlin.sh
suite swift bash scripts/test-swift.sh

echo
if ((failed > 0)); then
    echo "failed suites: ${failures[*]}"
fi
echo "suites: $passed passed, $failed failed"
((failed == 0))
