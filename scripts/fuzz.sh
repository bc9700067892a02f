#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for N seconds each (default 60), one after
# the other, growing fuzz/corpus/<target> (not committed) from fuzz/seeds/<target>.
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target...]
# Needs the nightly toolchain and cargo-fuzz (installed here when missing). Without
# nightly it prints SKIPPED and exits 77 (skipped, for scripts/test.sh). A crash stops the run with a non-zero status;
# libFuzzer leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(app_config options url_policy sandbox_paths multipart response_decoding h3_frames
        dns_answer alt_svc cache_entry cookie_jar ws_handshake)
fi
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz.sh: SKIPPED: no nightly toolchain (rustup toolchain install nightly)"
    exit 77
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    if ! cargo install cargo-fuzz --locked; then
        echo "fuzz.sh: SKIPPED: cargo-fuzz could not be installed"
        exit 77
    fi
fi
start=$SECONDS
# The fuzz workspace resolves against the main one's lock, so it builds the exact
# dependency versions the tests use (a fresh resolution can pick newer, different ones).
cp ../Cargo.lock Cargo.lock
# One build for all targets (release with debug assertions, AddressSanitizer).
cargo +nightly fuzz build -O
echo "fuzz.sh: build took $((SECONDS - start)) s"
# sandbox_paths builds its sandbox under the temp dir and grows it (every path accepted for
# writing gets its directories: up to 1 GB a run here); keep the fuzzers' temp files in one
# directory that goes away with this script.
fuzz_tmp="$(mktemp -d "${TMPDIR:-/tmp}/wxnet-fuzz.XXXXXX")"
trap 'rm -rf "$fuzz_tmp"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    t0=$SECONDS
    log="artifacts/$target.log"
    mkdir -p artifacts
    status=0
    TMPDIR="$fuzz_tmp" cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
    if ((status != 0)); then
        tail -n 60 "$log"
    fi
    echo "fuzz.sh: $target: $((SECONDS - t0)) s, corpus $(find "corpus/$target" -type f | wc -l) inputs, exit $status"
    if ((status != 0)); then
        echo "fuzz.sh: $target FAILED; the input is in fuzz/artifacts/$target/"
        exit 1
    fi
done
echo "fuzz.sh: all targets clean, $((SECONDS - start)) s in total"
