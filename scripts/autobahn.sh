#!/usr/bin/env bash
# Autobahn WebSocket client conformance run for wxnet's socket client, through the C ABI.
#
# Creates target/autobahn-venv with kosoku (PyPI; it serves the real Autobahn TestSuite
# case files) if needed, builds libwxnet, compiles tests/autobahn/driver.c, starts kosoku
# as the fuzzing server on 127.0.0.1 (ephemeral port), runs every case with the driver,
# stops the server and judges its report with tests/autobahn/check_report.py.
#
#   scripts/autobahn.sh                 debug build, the whole suite (517 cases; 12.*/13.*
#                                       are expected UNIMPLEMENTED: no permessage-deflate)
#   scripts/autobahn.sh --release       use a release build of libwxnet
#   scripts/autobahn.sh --no-build      skip cargo build (the caller built libwxnet)
#   scripts/autobahn.sh -i 'CASE' ...   only these cases (Autobahn ids or globs, e.g. 9.*;
#                                       repeatable); -x 'CASE' excludes (repeatable)
#   scripts/autobahn.sh --case-timeout SEC   per-case limit in the driver (default 60)
#   scripts/autobahn.sh --verbose       one driver line per case
#
# Environment: CC (default gcc), CARGO (default cargo), PYTHON (default python3, for the
# venv), CARGO_TARGET_DIR (default target), AUTOBAHN_TIMEOUT (whole driver run, seconds,
# default 900). Reports: target/autobahn/reports/index.html (and index.json).
# Prints "N passed, N failed" last; exits non-zero on any failing case or run error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CC="${CC:-gcc}"
CARGO="${CARGO:-cargo}"
PYTHON="${PYTHON:-python3}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
RUN_TIMEOUT="${AUTOBAHN_TIMEOUT:-900}"
KOSOKU_VERSION=0.1.0

profile=debug
build=1
case_timeout=60
verbose=()
select=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --no-build) build=0 ;;
    --case-timeout) case_timeout="$2"; shift ;;
    --verbose|-v) verbose=(--verbose) ;;
    -i|--include) select+=(-i "$2"); shift ;;
    -x|--exclude) select+=(-x "$2"); shift ;;
    -h|--help) sed -n "2,22p" "$0"; exit 0 ;;
    *) echo "autobahn.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

started=$(date +%s)

# 1. kosoku in its own venv (pinned).
VENV="$TARGET/autobahn-venv"
if ! "$VENV/bin/python" -c "import kosoku, sys; from importlib.metadata import version; sys.exit(version('kosoku') != '$KOSOKU_VERSION')" 2>/dev/null; then
  echo "autobahn.sh: installing kosoku $KOSOKU_VERSION into $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "kosoku==$KOSOKU_VERSION"
fi

# 2. libwxnet and the driver.
if [ "$build" = 1 ]; then
  if [ "$profile" = release ]; then "$CARGO" build -p wxnet --release; else "$CARGO" build -p wxnet; fi
fi
LIBDIR="$TARGET/$profile"
[ -e "$LIBDIR/libwxnet.so" ] || { echo "autobahn.sh: $LIBDIR/libwxnet.so is missing (run without --no-build)" >&2; exit 1; }
OUT="$TARGET/autobahn"
mkdir -p "$OUT"
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic -O2 -g -I "$ROOT/include" \
  "$ROOT/tests/autobahn/driver.c" -L "$LIBDIR" -Wl,-rpath,"$LIBDIR" -lwxnet -o "$OUT/driver"

# 3. The fuzzing server, on an ephemeral port; stopped on any exit.
REPORTS="$OUT/reports"
rm -rf "$REPORTS" "$OUT/server.log" "$OUT/case-count"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$VENV/bin/kosoku" -m fuzzingserver 127.0.0.1:0 -o "$REPORTS" ${select[@]+"${select[@]}"} \
  >"$OUT/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*listening on ws://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$OUT/server.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "autobahn.sh: kosoku did not start:" >&2
  cat "$OUT/server.log" >&2
  exit 1
fi
echo "autobahn.sh: kosoku $KOSOKU_VERSION on ws://127.0.0.1:$port, libwxnet from $LIBDIR"

# 4. The driver: getCaseCount, every runCase, updateReports.
driver_rc=0
run_errors=()
timeout --kill-after=10 "$RUN_TIMEOUT" "$OUT/driver" --case-timeout "$case_timeout" \
  --count-file "$OUT/case-count" ${verbose[@]+"${verbose[@]}"} "127.0.0.1:$port" || driver_rc=$?
if [ "$driver_rc" != 0 ]; then
  echo "autobahn.sh: the driver exited with status $driver_rc" >&2
  run_errors+=(--run-error "the driver exited with status $driver_rc (see its output above)")
fi

# kosoku writes its reports and exits after updateReports (its own exit status is 1 when
# any case is not a pass, e.g. the expected UNIMPLEMENTED 12.*/13.*: not used here).
for _ in $(seq 1 600); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "autobahn.sh: kosoku did not finish after updateReports; stopping it" >&2
  run_errors+=(--run-error "kosoku did not finish after updateReports (see $OUT/server.log)")
fi
cleanup
server_pid=""

# 5. The verdicts.
expect=()
[ -s "$OUT/case-count" ] && expect=(--expect-count "$(cat "$OUT/case-count")")
check_rc=0
"$VENV/bin/python" "$ROOT/tests/autobahn/check_report.py" "$REPORTS" --agent wxnet \
  ${expect[@]+"${expect[@]}"} ${run_errors[@]+"${run_errors[@]}"} >"$OUT/summary.txt" || check_rc=$?
elapsed=$(( $(date +%s) - started ))
# The summary's last line ("N passed, N failed") stays the last line of the output.
sed '$d' "$OUT/summary.txt"
echo "autobahn.sh: reports in $REPORTS/index.html; total time ${elapsed}s"
tail -n 1 "$OUT/summary.txt"
exit "$check_rc"
