#!/usr/bin/env bash
# Writes DIR/pkgconfig/wxnet.pc for a libwxnet.so in DIR, so that SwiftPM on Linux links the
# `CWxnet` system-library target of Package.swift (pkgConfig "wxnet") against it without
# linker flags on the command line:
#
#   cargo build --release --lib
#   scripts/swift-pkgconfig.sh target/release      # prints the PKG_CONFIG_PATH to use
#   PKG_CONFIG_PATH=$PWD/target/release/pkgconfig swift build
#
# The header needs nothing: the module map uses the package's own include/wxnet.h. SwiftPM
# drops rpath flags that come from pkg-config ("prohibited flag"), so at run time the
# program finds libwxnet.so through LD_LIBRARY_PATH, an installed copy (ldconfig), or an
# rpath the app adds itself (swift build -Xlinker -rpath -Xlinker DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
[[ $# == 1 ]] || { echo "usage: scripts/swift-pkgconfig.sh DIR (the directory holding libwxnet.so)" >&2; exit 2; }
[[ -d $1 ]] || { echo "swift-pkgconfig.sh: no directory $1" >&2; exit 1; }
dir=$(cd "$1" && pwd -P)
[[ -f $dir/libwxnet.so ]] || { echo "swift-pkgconfig.sh: no libwxnet.so in $dir (build it first: cargo build --release --lib)" >&2; exit 1; }
version=$(awk -F'"' '/^version *=/ { print $2; exit }' "$ROOT/Cargo.toml")
mkdir -p "$dir/pkgconfig"
cat >"$dir/pkgconfig/wxnet.pc.tmp" <<PC
libdir=$dir

Name: wxnet
Description: wxnet network runtime for mini-program containers (C ABI, include/wxnet.h)
Version: $version
Libs: -L\${libdir} -lwxnet
Cflags:
PC
mv "$dir/pkgconfig/wxnet.pc.tmp" "$dir/pkgconfig/wxnet.pc"
echo "$dir/pkgconfig"
