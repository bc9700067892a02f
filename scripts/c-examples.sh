#!/usr/bin/env bash
# Builds libwxnet and the test server, compiles the C examples (examples-c/*.c) into
# target/examples-c/, starts wxnet-testserver and runs every example except the demo,
# over TLS (full policy, pinned hostnames) and over plain HTTP (WXNET_TEST_PLAIN=1).
#
#   scripts/c-examples.sh              build, compile, run
#   scripts/c-examples.sh --valgrind   run each example under valgrind (TLS and plain HTTP),
#                                      requiring 0 errors and 0 bytes definitely lost; the
#                                      TLS runs use examples-c/valgrind.supp, the plain-HTTP
#                                      runs no suppressions at all
#   scripts/c-examples.sh --no-build   skip the cargo builds (the caller built them)
#   scripts/c-examples.sh --only NAME  run only that example (repeatable)
#
# Environment: CC (default gcc), CARGO (default cargo), VALGRIND (default valgrind).
# Cross runs (scripts/check-targets.sh): WXNET_LIBDIR (where libwxnet.so is, default
# target/debug), WXNET_SERVER_BIN (the host's test server), WXNET_EXAMPLES_OUT (where the
# examples are compiled), WXNET_RUNNER (a command prefix, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu").
# Prints a final line "N passed, N failed" and exits non-zero if anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CC="${CC:-gcc}"
CARGO="${CARGO:-cargo}"
VALGRIND="${VALGRIND:-valgrind}"
use_valgrind=0
build=1
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --valgrind) use_valgrind=1 ;;
    --no-build) build=0 ;;
    --only) only+=("$2"); shift ;;
    -h|--help) sed -n "2,15p" "$0"; exit 0 ;;
    *) echo "c-examples.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$use_valgrind" = 1 ] && ! command -v "$VALGRIND" >/dev/null; then
  echo "c-examples.sh: --valgrind needs valgrind ($VALGRIND not found)" >&2
  exit 2
fi
if [ "$build" = 1 ]; then
  "$CARGO" build -p wxnet-testserver
  "$CARGO" build -p wxnet
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LIBDIR="${WXNET_LIBDIR:-$TARGET_DIR/debug}"
SERVER_BIN="${WXNET_SERVER_BIN:-$TARGET_DIR/debug/wxnet-testserver}"
for f in "$LIBDIR/libwxnet.so" "$SERVER_BIN"; do
  [ -e "$f" ] || { echo "c-examples.sh: $f is missing (run without --no-build)" >&2; exit 1; }
done

OUT="${WXNET_EXAMPLES_OUT:-$TARGET_DIR/examples-c}"
mkdir -p "$OUT/valgrind"
CFLAGS=(-std=c11 -Wall -Wextra -Werror -pedantic -pthread -g -O1 -I "$ROOT/include" -I "$ROOT/examples-c")
LDFLAGS=(-L "$LIBDIR" -Wl,-rpath,"$LIBDIR" -lwxnet)
examples=()
for src in "$ROOT"/examples-c/*.c; do
  name="$(basename "$src" .c)"
  # Helpers, not programs: common.c is linked into every example, demo_print.c into the demo.
  case "$name" in common|demo_print) continue ;; esac
  extra=()
  [ "$name" = demo ] && extra=("$ROOT/examples-c/demo_print.c")
  examples+=("$name")
  "$CC" "${CFLAGS[@]}" -o "$OUT/$name" "$src" "${extra[@]}" "$ROOT/examples-c/common.c" "${LDFLAGS[@]}"
done
echo "compiled ${examples[*]} into $OUT"

# shellcheck source=scripts/lib/test-server.sh
source "$ROOT/scripts/lib/test-server.sh"
start_test_server "$SERVER_BIN" c-examples.sh
echo "test server: https $WXNET_TEST_HTTPS_PORT, http $WXNET_TEST_HTTP_PORT, ca $WXNET_TEST_CA"

passed=0
failed=0
failures=()
run_one() { # name mode
  local name="$1" mode="$2" log="$TMP/$1.$2" rc=0
  local -a cmd=("$OUT/$name")
  # shellcheck disable=SC2206 # WXNET_RUNNER is a command line: split on purpose
  [ -n "${WXNET_RUNNER:-}" ] && cmd=(${WXNET_RUNNER} "${cmd[@]}")
  local -a envs=()
  [ "$mode" = plain ] && envs+=(WXNET_TEST_PLAIN=1)
  if [ "$use_valgrind" = 1 ]; then
    envs+=(WXNET_TEST_TIMEOUT_SCALE=10)
    local -a supp=()
    # The plain-HTTP run must be clean with no suppressions at all (see valgrind.supp).
    [ "$mode" = tls ] && supp=(--suppressions="$ROOT/examples-c/valgrind.supp")
    cmd=("$VALGRIND" --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
         --show-leak-kinds=definite,indirect "${supp[@]}" --gen-suppressions=all
         --num-callers=40 --log-file="$OUT/valgrind/$name.$mode.log" "${cmd[@]}")
  fi
  local label="$mode"
  [ "$use_valgrind" = 1 ] && label+=", valgrind"
  echo "=== $name ($label)"
  local vglog="$OUT/valgrind/$name.$mode.log"
  rm -f "$vglog"
  env "${envs[@]}" timeout 600 "${cmd[@]}" >"$log.out" 2>&1 3>&- || rc=$?
  if [ "$use_valgrind" = 1 ]; then
    local errors definite indirect
    errors="$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$vglog" | tr -d ,)"
    definite="$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$vglog" | tr -d ,)"
    indirect="$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$vglog" | tr -d ,)"
    echo "    valgrind: ${errors:-?} errors, ${definite:-0} bytes definitely lost, ${indirect:-0} bytes indirectly lost"
    if [ "${errors:-1}" != 0 ] || [ "${definite:-0}" != 0 ]; then
      [ "$rc" = 0 ] && rc=1
      cat "$vglog"
    fi
    if [ "$rc" != 0 ]; then
      echo "    valgrind log: $vglog"
    fi
  fi
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    tail -n 1 "$log.out"
  else
    failed=$((failed + 1))
    failures+=("$name ($mode): exit $rc")
    cat "$log.out"
    echo "--- FAILED: $name ($mode), exit $rc"
  fi
}

for name in "${examples[@]}"; do
  [ "$name" = demo ] && continue
  if [ ${#only[@]} -gt 0 ] && ! [[ " ${only[*]} " == *" $name "* ]]; then continue; fi
  run_one "$name" tls
  run_one "$name" plain
done

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
