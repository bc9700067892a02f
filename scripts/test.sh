#!/usr/bin/env bash
# Runs every test of the project, in order of cost. Usage: bash scripts/test.sh
# Needs: cargo (with clippy, rustfmt), gcc, valgrind, python3, node + npm,
# java 17 + mvn, debootstrap (for the Swift chroot), clang + rustup targets for the phone
# checks, nginx, the nightly toolchain for ASan and fuzzing (with cargo-fuzz): a suite that
# cannot run exits 77 and is counted SKIPPED. `.ci/run` installs the rest.
# Exits non-zero if any suite fails; the last line counts passed, failed, skipped suites.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
skipped=0
failures=()
skips=()

suite() {
    local name="$1"
    shift
    echo
    echo "=== $name: $*"
    local start=$SECONDS rc=0
    "$@" || rc=$?
    if ((rc == 0)); then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - start)) s)"
    elif ((rc == 77)); then
        # 77: the suite could not run here (a missing tool or toolchain); never a pass.
        skipped=$((skipped + 1))
        skips+=("$name")
        echo "=== $name: SKIPPED ($((SECONDS - start)) s)"
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
# The phone targets compile (cargo check, stable toolchains). The rest of
# scripts/check-targets.sh (release size, aarch64 under qemu, aarch64-apple-ios-sim) and
# scripts/tsan.sh are not in this run yet: see the README.
suite targets bash scripts/check-targets.sh --only android-arm64 --only android-armv7 \
    --only android-x86_64 --only ios --only ohos
suite asan bash scripts/asan.sh
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
if ((skipped > 0)); then
    echo "skipped suites: ${skips[*]}"
fi
echo "suites: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
