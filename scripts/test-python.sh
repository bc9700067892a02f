#!/usr/bin/env bash
# Builds the Python wheel (scripts/build-python-wheel.sh --debug: the debug library,
# stripped, tagged py3-none-manylinux_*), installs it into a FRESH venv and runs the
# pytest suite from bindings/python/tests against that installed copy (not the source
# tree, without $WXNET_LIBRARY). Also checks that building with no library fails.
# Needs: cargo, python3 (venv), binutils. Extra pytest arguments pass through.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build -p wxnet-testserver
WHEEL="$(bash "$ROOT/scripts/build-python-wheel.sh" --debug | tail -n 1)"
echo "test-python: built $WHEEL ($(du -h "$WHEEL" | cut -f1))"

# A build with no library must fail, loudly: a copy of the package outside the
# workspace (so no target/ is found) and no $WXNET_BUNDLE_LIBRARY.
BUILD_VENV="$ROOT/target/python-build-venv"
NOLIB="$(mktemp -d)"
trap 'rm -rf "$NOLIB"' EXIT
cp -r "$ROOT/bindings/python/." "$NOLIB/pkg"
rm -rf "$NOLIB/pkg/build"
if (cd "$NOLIB" && env -u WXNET_BUNDLE_LIBRARY "$BUILD_VENV/bin/python" -m pip wheel --quiet \
      --disable-pip-version-check --no-deps --no-build-isolation --wheel-dir "$NOLIB/out" "$NOLIB/pkg" \
      >"$NOLIB/log" 2>&1); then
  echo "test-python: FAIL: a build with no library succeeded" >&2; exit 1
fi
grep -q "no libwxnet.so to bundle" "$NOLIB/log" || { cat "$NOLIB/log" >&2; echo "test-python: FAIL: no clear message" >&2; exit 1; }
[ ! -e "$NOLIB/out" ] || [ -z "$(ls -A "$NOLIB/out")" ] || { echo "test-python: FAIL: a wheel was written" >&2; exit 1; }
echo "test-python: a build with no library fails with: $(grep -o 'no libwxnet.so to bundle[^.]*' "$NOLIB/log" | head -1)"

VENV="$ROOT/target/python-venv"
rm -rf "$VENV"
python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check "pytest>=7" "mypy>=1.10" "$WHEEL"

# The package's annotations hold (the package ships py.typed): mypy over the source tree.
"$PY" -m mypy --no-incremental "$ROOT/bindings/python/src/wxnet"

# Run from the tests directory with the installed package (not the source tree), and
# without $WXNET_LIBRARY, so the bundled copy is what gets tested.
unset WXNET_LIBRARY
export WXNET_EXPECT_BUNDLED=1 WXNET_WHEEL="$WHEEL"
cd "$ROOT/bindings/python"
"$PY" -m pytest -p no:cacheprovider tests "$@"
