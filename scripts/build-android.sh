#!/usr/bin/env bash
# Builds libwxnet.so for Android with the NDK, ready for an app or the Kotlin AAR:
#
#   <out>/jniLibs/arm64-v8a/libwxnet.so
#   <out>/jniLibs/armeabi-v7a/libwxnet.so
#   <out>/jniLibs/x86_64/libwxnet.so
#
# Release profile, `--features jni` (the Kotlin binding's entry points; the C ABI, including
# wxnet_android_init, is there either way), minimum API level 24, 16 KB page alignment
# (from .cargo/config.toml; checked here on every library).
#
#   ANDROID_NDK_HOME=/path/to/ndk scripts/build-android.sh [--out DIR] [--api N] [--abi ABI]...
#
# --out DIR  where jniLibs/ goes (default target/android)
# --api N    minSdk the libraries are linked for (default 24; below 24 getifaddrs is missing)
# --abi ABI  only that ABI (repeatable): arm64-v8a, armeabi-v7a, x86_64
# Needs: ANDROID_NDK_HOME (or ANDROID_NDK_ROOT) pointing at an NDK (r23 or newer), rustup.
# cargo-ndk is not needed: this sets the NDK's clang as C compiler and linker itself.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
out="$ROOT/target/android"
api=24
abis=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --api) api="$2"; shift ;;
    --abi) abis+=("$2"); shift ;;
    -h|--help) sed -n "2,19p" "$0"; exit 0 ;;
    *) echo "build-android.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#abis[@]} -gt 0 ] || abis=(arm64-v8a armeabi-v7a x86_64)
if [ "$api" -lt 24 ]; then
  echo "build-android.sh: API level $api is below 24, the minimum (getifaddrs appeared in API 24)" >&2
  exit 2
fi

ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}"
if [ -z "$ndk" ]; then
  echo "build-android.sh: set ANDROID_NDK_HOME to an Android NDK (r23 or newer); none is set" >&2
  exit 1
fi
case "$(uname -s)" in
  Linux) host=linux-x86_64 ;;
  Darwin) host=darwin-x86_64 ;; # the NDK ships universal binaries under this name
  *) echo "build-android.sh: unsupported build host $(uname -s)" >&2; exit 1 ;;
esac
bin="$ndk/toolchains/llvm/prebuilt/$host/bin"
if [ ! -x "$bin/clang" ]; then
  echo "build-android.sh: $bin/clang not found: ANDROID_NDK_HOME=$ndk is not an NDK (r23 or newer)" >&2
  exit 1
fi

for abi in "${abis[@]}"; do
  case "$abi" in
    arm64-v8a) triple=aarch64-linux-android; clang_prefix=aarch64-linux-android ;;
    armeabi-v7a) triple=armv7-linux-androideabi; clang_prefix=armv7a-linux-androideabi ;;
    x86_64) triple=x86_64-linux-android; clang_prefix=x86_64-linux-android ;;
    *) echo "build-android.sh: unknown ABI $abi (arm64-v8a, armeabi-v7a, x86_64)" >&2; exit 2 ;;
  esac
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  cc="$bin/$clang_prefix$api-clang"
  [ -x "$cc" ] || { echo "build-android.sh: $cc not found (does this NDK support API $api?)" >&2; exit 1; }
  var="${triple//-/_}"
  upper="$(tr '[:lower:]' '[:upper:]' <<<"$var")"
  echo "=== $abi ($triple, API $api)"
  env "CC_$var=$cc" "AR_$var=$bin/llvm-ar" "CARGO_TARGET_${upper}_LINKER=$cc" \
    "$CARGO" build --release --lib -p wxnet --target "$triple" --features jni
  lib="${CARGO_TARGET_DIR:-$ROOT/target}/$triple/release/libwxnet.so"
  # 16 KB pages (Android 15+): every LOAD segment must be aligned to at least 0x4000.
  aligns="$("$bin/llvm-readelf" -lW "$lib" | awk '$1 == "LOAD" { print $NF }')"
  [ -n "$aligns" ] || { echo "build-android.sh: no LOAD segments in $lib?" >&2; exit 1; }
  for align in $aligns; do
    if [ $((align)) -lt 16384 ]; then
      echo "build-android.sh: $lib has a LOAD segment aligned to $align, below 16 KB" >&2
      exit 1
    fi
  done
  mkdir -p "$out/jniLibs/$abi"
  cp "$lib" "$out/jniLibs/$abi/libwxnet.so"
  echo "$out/jniLibs/$abi/libwxnet.so: $(stat -c %s "$out/jniLibs/$abi/libwxnet.so" 2>/dev/null || stat -f %z "$out/jniLibs/$abi/libwxnet.so") bytes"
done
