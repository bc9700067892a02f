#!/usr/bin/env bash
# The phone targets, checked on a Linux x86_64 machine (no Android NDK, no Apple SDK):
#
#   cargo check --lib   aarch64-linux-android, armv7-linux-androideabi, x86_64-linux-android
#                       (--features jni), aarch64-apple-ios (stable), aarch64-apple-ios-sim and
#                       aarch64-unknown-linux-ohos (nightly -Zbuild-std: rustup has no std for them)
#   cargo build         release libwxnet.so for x86_64 and aarch64-unknown-linux-gnu (linked
#                       with aarch64-linux-gnu-gcc); each must be at most 4.0 MB (stripped by the
#                       release profile)
#   run                 the C examples (examples-c/), cross-compiled for aarch64, under
#                       qemu-aarch64 against the local test server, over TLS and plain HTTP
#
# Installs what a fresh Debian machine lacks: clang, lld, gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, qemu-user (apt), the rustup targets, nightly + rust-src.
# A target whose toolchain cannot be downloaded is reported SKIPPED (and the script exits
# 77, never 0: a skip is never a pass). Prints one line per check and a final summary.
#
#   scripts/check-targets.sh                 everything
#   scripts/check-targets.sh --only NAME     one check (repeatable): android-arm64 android-armv7
#                                            android-x86_64 ios ios-sim ohos size aarch64-run
#
# Environment: CARGO (default cargo), NIGHTLY (default nightly), SIZE_LIMIT (bytes, default
# 4000000: "4.0 MB"). All checks share the project's target dir.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
NIGHTLY="${NIGHTLY:-nightly}"
SIZE_LIMIT="${SIZE_LIMIT:-4000000}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only+=("$2"); shift ;;
    -h|--help) sed -n "2,24p" "$0"; exit 0 ;;
    *) echo "check-targets.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
wanted() { [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $1 "* ]]; }

results=()
failed=0
skipped=0
record() { # name PASS|FAIL|SKIPPED detail
  results+=("$(printf '%-16s %-8s %s' "$1" "$2" "$3")")
  echo "=== $1: $2 $3"
  case "$2" in FAIL) failed=$((failed + 1)) ;; SKIPPED) skipped=$((skipped + 1)) ;; esac
}

# ---- tools ----
need_apt=()
command -v clang >/dev/null || need_apt+=(clang)
command -v llvm-ar >/dev/null || need_apt+=(llvm)
command -v ld.lld >/dev/null || need_apt+=(lld)
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need_apt+=(libc6-arm64-cross)
[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || need_apt+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
if ((${#need_apt[@]} > 0)); then
  echo "installing: ${need_apt[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"; } >/dev/null ||
    echo "check-targets.sh: apt-get install ${need_apt[*]} failed" >&2
fi

# `rustup target add` for the stable targets; a refused download leaves the target out.
has_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }
add_target() {
  has_target "$1" || rustup target add "$1" >/dev/null 2>&1 || true
  has_target "$1"
}
# Nightly with rust-src (for -Zbuild-std).
nightly_ready=unknown
nightly_ok() {
  if [ "$nightly_ready" = unknown ]; then
    nightly_ready=no
    if { rustup toolchain list | grep -q "^$NIGHTLY" || rustup toolchain install "$NIGHTLY" --profile minimal >/dev/null 2>&1; } &&
      { rustup +"$NIGHTLY" component list --installed 2>/dev/null | grep -q '^rust-src' ||
        rustup component add rust-src --toolchain "$NIGHTLY" >/dev/null 2>&1; }; then
      nightly_ready=yes
    fi
  fi
  [ "$nightly_ready" = yes ]
}

# ring compiles C for every target; clang with its own headers only (no NDK or SDK here).
RING_CFLAGS="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
FAKE_SDK="$TARGET_DIR/check-targets/fake-sdk"
mkdir -p "$FAKE_SDK/include"
# iOS: ring includes <TargetConditionals.h>; a minimal one, selected by IOS_SIM.
cat >"$FAKE_SDK/include/TargetConditionals.h" <<'H'
#pragma once
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 0
#define TARGET_OS_IPHONE 1
#define TARGET_OS_IOS 1
#ifdef IOS_SIM
#define TARGET_OS_SIMULATOR 1
#else
#define TARGET_OS_SIMULATOR 0
#endif
H

check_target() { # name triple toolchain(stable|nightly) cflags [cargo args...]
  local name="$1" triple="$2" toolchain="$3" cflags="$4" log start
  shift 4
  wanted "$name" || return 0
  local -a cmd=("$CARGO")
  if [ "$toolchain" = nightly ]; then
    if ! nightly_ok; then
      record "$name" SKIPPED "($triple: could not install $NIGHTLY + rust-src)"
      return 0
    fi
    cmd+=("+$NIGHTLY" check -Zbuild-std=std,panic_abort)
  else
    if ! add_target "$triple"; then
      record "$name" SKIPPED "($triple: rustup target add refused)"
      return 0
    fi
    cmd+=(check)
  fi
  local var="${triple//-/_}"
  log="$TARGET_DIR/check-targets/$name.log"
  start=$SECONDS
  if env "CC_$var=clang" "AR_$var=llvm-ar" "CFLAGS_$var=$RING_CFLAGS $cflags" SDKROOT="$FAKE_SDK" \
    "${cmd[@]}" --lib --target "$triple" "$@" >"$log" 2>&1; then
    record "$name" PASS "(cargo check --target $triple $*, $((SECONDS - start)) s)"
  else
    tail -n 40 "$log"
    record "$name" FAIL "(cargo check --target $triple $*: see $log)"
  fi
}

# ---- cargo check: Android, iOS, HarmonyOS ----
check_target android-arm64 aarch64-linux-android stable "--target=aarch64-linux-android24" --features jni
check_target android-armv7 armv7-linux-androideabi stable \
  "--target=armv7a-linux-androideabi24 -march=armv7-a -mthumb -mfpu=vfpv3-d16 -mfloat-abi=softfp" --features jni
check_target android-x86_64 x86_64-linux-android stable "--target=x86_64-linux-android24 -ffreestanding" --features jni
check_target ios aarch64-apple-ios stable "--target=arm64-apple-ios13.0 -I$FAKE_SDK/include"
check_target ios-sim aarch64-apple-ios-sim nightly "--target=arm64-apple-ios13.0-simulator -DIOS_SIM -I$FAKE_SDK/include"
check_target ohos aarch64-unknown-linux-ohos nightly "--target=aarch64-linux-gnu"

# ---- release libraries and their size ----
size_of() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
build_release() { # triple(or host) [profile] -> prints the library path
  local triple="$1" profile="${2:-release}"
  local log="$TARGET_DIR/check-targets/$profile-$triple.log"
  local -a args=(build --profile "$profile" --lib -p wxnet)
  [ "$triple" = host ] || args+=(--target "$triple")
  if "$CARGO" "${args[@]}" >"$log" 2>&1; then
    if [ "$triple" = host ]; then echo "$TARGET_DIR/$profile/libwxnet.so"; else echo "$TARGET_DIR/$triple/$profile/libwxnet.so"; fi
  else
    tail -n 40 "$log" >&2
    return 1
  fi
}
aarch64_lib=""
if wanted size || wanted aarch64-run; then
  if add_target aarch64-unknown-linux-gnu && command -v aarch64-linux-gnu-gcc >/dev/null; then
    start=$SECONDS
    # Only the qemu run wanted: the same code without LTO (Cargo.toml, profile cross-run).
    aarch64_profile=release
    wanted size || aarch64_profile=cross-run
    if aarch64_lib="$(build_release aarch64-unknown-linux-gnu "$aarch64_profile")"; then
      echo "built $aarch64_lib in $((SECONDS - start)) s"
    else
      aarch64_lib=""
      record aarch64-build FAIL "(cargo build --profile $aarch64_profile --target aarch64-unknown-linux-gnu)"
    fi
  else
    record aarch64-build SKIPPED "(aarch64-unknown-linux-gnu target or aarch64-linux-gnu-gcc missing)"
  fi
fi
if wanted size; then
  start=$SECONDS
  if host_lib="$(build_release host release)"; then
    s="$(size_of "$host_lib")"
    if [ "$s" -le "$SIZE_LIMIT" ]; then
      record size-x86_64 PASS "($(mb "$s") <= $(mb "$SIZE_LIMIT"), $s bytes, built in $((SECONDS - start)) s)"
    else
      record size-x86_64 FAIL "($(mb "$s") > $(mb "$SIZE_LIMIT"), $s bytes)"
    fi
  else
    record size-x86_64 FAIL "(cargo build --release failed)"
  fi
  if [ -n "$aarch64_lib" ]; then
    s="$(size_of "$aarch64_lib")"
    if [ "$s" -le "$SIZE_LIMIT" ]; then
      record size-aarch64 PASS "($(mb "$s") <= $(mb "$SIZE_LIMIT"), $s bytes)"
    else
      record size-aarch64 FAIL "($(mb "$s") > $(mb "$SIZE_LIMIT"), $s bytes)"
    fi
  fi
fi

# ---- the C examples on aarch64, under qemu-user ----
if wanted aarch64-run && [ -n "$aarch64_lib" ]; then
  if ! command -v qemu-aarch64 >/dev/null; then
    record aarch64-run SKIPPED "(qemu-aarch64 missing)"
  elif ! "$CARGO" build -p wxnet-testserver >"$TARGET_DIR/check-targets/testserver.log" 2>&1; then
    tail -n 40 "$TARGET_DIR/check-targets/testserver.log"
    record aarch64-run FAIL "(building the host test server failed)"
  else
    start=$SECONDS
    log="$TARGET_DIR/check-targets/aarch64-run.log"
    # qemu is ~10x slower than native: the examples' timeouts scale as under valgrind.
    if CC=aarch64-linux-gnu-gcc WXNET_LIBDIR="$(dirname "$aarch64_lib")" \
      WXNET_EXAMPLES_OUT="$TARGET_DIR/aarch64-unknown-linux-gnu/examples-c" \
      WXNET_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" WXNET_TEST_TIMEOUT_SCALE=10 \
      bash scripts/c-examples.sh --no-build >"$log" 2>&1; then
      record aarch64-run PASS "(C examples under qemu-aarch64: $(tail -n 1 "$log"), $((SECONDS - start)) s)"
    else
      tail -n 60 "$log"
      record aarch64-run FAIL "(C examples under qemu-aarch64: $(tail -n 1 "$log"); see $log)"
    fi
  fi
fi

echo
printf '%s\n' "${results[@]}"
echo "check-targets: ${#results[@]} checks, $failed failed, $skipped SKIPPED"
if ((failed > 0)); then exit 1; fi
# 77: something could not be checked here (scripts/test.sh reports the suite SKIPPED).
if ((skipped > 0)); then exit 77; fi
