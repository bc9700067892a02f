#!/usr/bin/env bash
# Builds CWxnet.xcframework (static libwxnet.a + include/wxnet.h + a module map for module
# `CWxnet`) for iOS devices (arm64) and the simulator (arm64 + x86_64), on a Mac with Xcode.
# Its name is the binary target's in the root Package.swift, which uses it from the default
# --out directory.
#
#   scripts/build-ios.sh [--out DIR]      (default target/ios/CWxnet.xcframework)
#
# Needs: macOS with Xcode (xcodebuild, lipo) and rustup; the three iOS targets are added.
# Fails with a clear message anywhere else.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
out="$ROOT/target/ios"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    -h|--help) sed -n "2,8p" "$0"; exit 0 ;;
    *) echo "build-ios.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null || ! xcodebuild -version >/dev/null 2>&1; then
  echo "build-ios.sh: needs macOS with Xcode (xcodebuild); this machine has none." >&2
  echo "build-ios.sh: scripts/check-targets.sh checks that the iOS targets compile without it." >&2
  exit 1
fi
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-13.0}"
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
for t in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
  "$CARGO" build --release --lib -p wxnet --target "$t"
done
tdir="${CARGO_TARGET_DIR:-$ROOT/target}"
stage="$out/stage"
rm -rf "$stage" "$out/CWxnet.xcframework"
mkdir -p "$stage/device" "$stage/sim" "$stage/headers"
cp "$tdir/aarch64-apple-ios/release/libwxnet.a" "$stage/device/libwxnet.a"
lipo -create -output "$stage/sim/libwxnet.a" \
  "$tdir/aarch64-apple-ios-sim/release/libwxnet.a" "$tdir/x86_64-apple-ios/release/libwxnet.a"
cp "$ROOT/include/wxnet.h" "$stage/headers/"
cat >"$stage/headers/module.modulemap" <<'M'
module CWxnet [system] {
    header "wxnet.h"
    link "wxnet"
    export *
}
M
xcodebuild -create-xcframework \
  -library "$stage/device/libwxnet.a" -headers "$stage/headers" \
  -library "$stage/sim/libwxnet.a" -headers "$stage/headers" \
  -output "$out/CWxnet.xcframework"
rm -rf "$stage"
echo "built $out/CWxnet.xcframework"
