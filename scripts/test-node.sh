#!/usr/bin/env bash
# Packs the npm packages (scripts/build-node-packages.sh --debug: `wxnet` and the
# host's `@wxnet/wxnet-<os>-<cpu>` with the stripped debug library), installs the two
# tarballs into an EMPTY project, and runs the node:test suites (the Node App API, the
# wx layer scenarios, the seed documents' code samples, the idioms) against that
# installed package, without $WXNET_LIBRARY: the library must come from the platform
# package. The install is offline: koffi and its platform package are put in npm's
# cache first (the only registry look-ups), and the unpublished optional platform
# packages of other systems are skipped as npm skips any failed optional dependency.
# Then the wx layer package `wxnet-wx` (scripts/build-js-package.sh) is installed there
# too and its wx.js is run in QuickJS (bindings/js/test).
# Needs: cargo, node >= 20, npm, binutils. Extra arguments go to the first `node --test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build -p wxnet-testserver
mapfile -t TARBALLS < <(bash "$ROOT/scripts/build-node-packages.sh" --debug)
echo "test-node: packed ${TARBALLS[*]}"

cd "$ROOT/bindings/node"
npm ci --no-audit --no-fund --loglevel=error  # the checkout's own dependencies (koffi)

PROJECT="$(mktemp -d /tmp/wxnet-node-install-XXXXXX)"
trap 'rm -rf "$PROJECT"' EXIT
KOFFI="$(node -p 'require("./package.json").dependencies.koffi')"
npm cache add --loglevel=error "koffi@$KOFFI" "@koromix/koffi-$(node -p 'process.platform + "-" + process.arch')@$KOFFI"
(
  cd "$PROJECT"
  echo '{"name": "wxnet-install-test", "version": "1.0.0", "private": true}' > package.json
  npm install --offline --no-audit --no-fund --loglevel=error "${TARBALLS[@]}"
  # The installed package loads the platform package's library and its own wx.js.
  env -u WXNET_LIBRARY node -e '
    const wxnet = require("wxnet");
    const want = require.resolve(`${wxnet.PLATFORM_PACKAGE}/libwxnet.so`);
    if (wxnet.LIBRARY_PATH !== want) throw new Error(`loaded ${wxnet.LIBRARY_PATH}, not ${want}`);
    if (!require.resolve("wxnet/package.json").startsWith(process.cwd())) throw new Error("not the installed copy");
    if (typeof wxnet.wxLayer.createWx !== "function") throw new Error("no wx layer");
    console.log(`test-node: installed wxnet ${wxnet.version()} loads ${wxnet.LIBRARY_PATH}`);
  '
)

unset WXNET_LIBRARY
export WXNET_NODE_PACKAGE="$PROJECT/node_modules/wxnet"
# per-test deadline: a missing event fails its test instead of hanging the run.
node --test --test-timeout=60000 --test-force-exit "$@" test/*.test.js

# The wx layer on its own (`wxnet-wx`): packed, installed into the same empty project,
# and run in QuickJS (quickjs-emscripten, bindings/js's dev dependency).
WX_TARBALL="$(bash "$ROOT/scripts/build-js-package.sh" | tail -n 1)"
(cd "$PROJECT" && npm install --offline --no-audit --no-fund --loglevel=error "$WX_TARBALL")
cd "$ROOT/bindings/js"
npm ci --no-audit --no-fund --loglevel=error
WXNET_WX_JS="$PROJECT/node_modules/wxnet-wx/wx.js" node --test --test-timeout=60000 test/*.test.js
