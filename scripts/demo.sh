#!/usr/bin/env bash
# The wxnet demo: builds libwxnet and the local test server, compiles examples-c/demo.c,
# starts wxnet-testserver (it generates a fresh CA and a leaf for *.wxnet.test), runs the
# demo against it over HTTPS with the full domain policy, then stops the server.
# Needs only cargo and a C compiler.
#
#   scripts/demo.sh             debug build (fast to build)
#   scripts/demo.sh --release   release build
#   scripts/demo.sh --plain     plain HTTP with urlCheck off (WXNET_TEST_PLAIN=1)
#
# Environment: CC (default gcc), CARGO (default cargo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CC="${CC:-gcc}"
CARGO="${CARGO:-cargo}"
profile=debug
cargo_flags=()
plain=0
for arg in "$@"; do
  case "$arg" in
    --release) profile=release; cargo_flags=(--release) ;;
    --plain) plain=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# Two invocations, like scripts/c-examples.sh: building both packages at once would unify
# their dependencies' features and rebuild them.
"$CARGO" build "${cargo_flags[@]}" -p wxnet-testserver
"$CARGO" build "${cargo_flags[@]}" -p wxnet
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LIBDIR="$TARGET_DIR/$profile"
OUT="$TARGET_DIR/examples-c"
mkdir -p "$OUT"
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic -pthread -O2 -I "$ROOT/include" -I "$ROOT/examples-c" \
  -o "$OUT/demo-$profile" "$ROOT/examples-c/demo.c" "$ROOT/examples-c/demo_print.c" "$ROOT/examples-c/common.c" \
  -L "$LIBDIR" -Wl,-rpath,"$LIBDIR" -lwxnet

# shellcheck source=scripts/lib/test-server.sh
source "$ROOT/scripts/lib/test-server.sh"
start_test_server "$LIBDIR/wxnet-testserver" demo.sh
if [ "$plain" = 1 ]; then
  export WXNET_TEST_PLAIN=1
  echo "local test server: http://127.0.0.1:$WXNET_TEST_HTTP_PORT"
else
  echo "local test server: https://api.wxnet.test -> 127.0.0.1:$WXNET_TEST_HTTPS_PORT (CA $WXNET_TEST_CA)"
fi
"$OUT/demo-$profile" 3>&-
