#!/usr/bin/env bash
# Builds libwxnet and the test server, installs bindings/python into a venv under
# target/ (bundling the freshly built library), and runs its pytest suite.
# Needs: cargo, python3 (with the venv module). Extra pytest arguments pass through.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build
cargo build -p wxnet-testserver

VENV="$ROOT/target/python-venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check "pytest>=7"
# --force-reinstall: the package bundles target/debug/libwxnet.so at build time, so
# reinstall every run to pick up the library just built.
WXNET_REQUIRE_BUNDLE=1 "$PY" -m pip install --quiet --disable-pip-version-check \
  --force-reinstall --no-deps "$ROOT/bindings/python"

# Run from the tests directory with the installed package (not the source tree), and
# without $WXNET_LIBRARY, so the bundled copy is what gets tested.
unset WXNET_LIBRARY
export WXNET_EXPECT_BUNDLED=1
cd "$ROOT/bindings/python"
exec "$PY" -m pytest -p no:cacheprovider tests "$@"
