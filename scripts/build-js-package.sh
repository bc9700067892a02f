#!/usr/bin/env bash
# Packs the wx layer on its own: bindings/js (wx.js + README) as the npm package
# `wxnet-wx`, for containers that embed wx.js in their own engine (QuickJS,
# JavaScriptCore) or use it from Node with their own bridge. The `wxnet` Node package
# carries its own copy (scripts/build-node-packages.sh).
#
#   scripts/build-js-package.sh [--out DIR]      # default target/npm; prints the tarball path
# Needs: node, npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/target/npm"
[ "${1:-}" = --out ] && OUT="$2"
mkdir -p "$OUT"
rm -f "$OUT"/wxnet-wx-*.tgz
(cd "$ROOT/bindings/js" && npm pack --silent --pack-destination "$OUT" >/dev/null)
ls "$OUT"/wxnet-wx-*.tgz
