#!/usr/bin/env bash
# Builds libwxnet and the test server, installs bindings/node's dependencies (koffi,
# from the lock file), and runs the node:test suites: the Node App API, the wx layer
# (bindings/js/wx.js) scenarios and the seed documents' code samples.
# Needs: cargo, node >= 20, npm. Extra arguments go to `node --test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build
cargo build -p wxnet-testserver

cd "$ROOT/bindings/node"
npm ci --no-audit --no-fund --loglevel=error
# The library is found in target/debug (see src/library.js) unless $WXNET_LIBRARY is set.
# per-test deadline: a missing event fails its test instead of hanging the run.
exec node --test --test-timeout=60000 --test-force-exit "$@" test/*.test.js
