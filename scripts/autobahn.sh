#!/usr/bin/env bash
# Autobahn WebSocket client conformance run for wxnet's socket client, through the C ABI.
#
# Creates target/autobahn-venv with kosoku (PyPI; it serves the real Autobahn TestSuite
# case files) if needed, builds libwxnet, compiles tests/autobahn/driver.c, starts kosoku
# as the fuzzing server on 127.0.0.1 (ephemeral port), runs every case with the driver,
# stops the server and judges its report with tests/autobahn/check_report.py. Two passes:
# 1.*-11.* with perMessageDeflate off (agent wxnet), then the compression cases 12.*/13.*
# with perMessageDeflate: true (agent wxnet-deflate). Any case not OK / NON-STRICT /
# INFORMATIONAL (UNIMPLEMENTED included) fails the run.
#
#   scripts/autobahn.sh                 debug build, the whole suite (517 cases, two passes)
#   scripts/autobahn.sh --release       use a release build of libwxnet
#   scripts/autobahn.sh --no-build      skip cargo build (the caller built libwxnet)
#   scripts/autobahn.sh -i 'CASE' ...   only these cases (Autobahn ids or globs, e.g. 9.*;
#                                       repeatable), one pass; -x 'CASE' excludes (repeatable)
#   scripts/autobahn.sh --deflate -i 'CASE'   that pass with perMessageDeflate: true
#   scripts/autobahn.sh --case-timeout SEC   per-case limit in the driver (default 60)
#   scripts/autobahn.sh --verbose       one driver line per case
#   scripts/autobahn.sh --quick-deflate the whole plain pass, but of the compression pass only
#                                       cases N.M.1-N.M.6 of every 12.*/13.* group (every
#                                       parameter set, messages up to 1000 x 8 KiB: 72 of 216
#                                       cases): what scripts/test.sh runs, to stay inside CI's
#                                       60 minutes (the full pass takes 13-16 min here)
#
# Environment: CC (default gcc), CARGO (default cargo), PYTHON (default python3, for the
# venv), CARGO_TARGET_DIR (default target), AUTOBAHN_TIMEOUT (the driver run of the plain
# pass, seconds, default 900), AUTOBAHN_DEFLATE_TIMEOUT (of the compression pass, default 2700). Reports: target/autobahn/{plain,deflate}/reports/index.html.
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
# The compression pass: 216 cases of 1000 messages each, up to 256 KiB, compressed both ways
# (about 16 min on a loaded 2-core machine with a release build).
DEFLATE_TIMEOUT="${AUTOBAHN_DEFLATE_TIMEOUT:-2700}"
KOSOKU_VERSION=0.1.0

profile=debug
build=1
case_timeout=60
verbose=()
select=()
include_given=""
deflate=0
quick_deflate=0
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --no-build) build=0 ;;
    --case-timeout) case_timeout="$2"; shift ;;
    --verbose|-v) verbose=(--verbose) ;;
    -i|--include) select+=(-i "$2"); include_given=1; shift ;;
    --deflate) deflate=1 ;;
    --quick-deflate) quick_deflate=1 ;;
    -x|--exclude) select+=(-x "$2"); shift ;;
    -h|--help) sed -n "2,32p" "$0"; exit 0 ;;
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

# 3-5. One pass: the fuzzing server on an ephemeral port (stopped on any exit), the
# driver (getCaseCount, every runCase, updateReports), the verdicts.
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_pass NAME AGENT DRIVER_FLAGS_WORD TIMEOUT SELECTION...: sets pass_rc, leaves
# $OUT/NAME/summary.txt (its last line "N passed, N failed").
run_pass() {
  local name="$1" agent="$2" driver_flag="$3" run_timeout="$4"
  shift 4
  local dir="$OUT/$name"
  local reports="$dir/reports"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$VENV/bin/kosoku" -m fuzzingserver 127.0.0.1:0 -o "$reports" "$@" >"$dir/server.log" 2>&1 &
  server_pid=$!
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's|.*listening on ws://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$dir/server.log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "autobahn.sh: kosoku did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
  fi
  echo "autobahn.sh: pass $name: kosoku $KOSOKU_VERSION on ws://127.0.0.1:$port, libwxnet from $LIBDIR"

  local driver_rc=0
  local run_errors=()
  local flags=(--agent "$agent")
  [ -n "$driver_flag" ] && flags+=("$driver_flag")
  timeout --kill-after=10 "$run_timeout" "$OUT/driver" "${flags[@]}" --case-timeout "$case_timeout" \
    --count-file "$dir/case-count" ${verbose[@]+"${verbose[@]}"} "127.0.0.1:$port" || driver_rc=$?
  if [ "$driver_rc" != 0 ]; then
    echo "autobahn.sh: the driver exited with status $driver_rc" >&2
    run_errors+=(--run-error "pass $name: the driver exited with status $driver_rc (see its output above)")
  fi

  # kosoku writes its reports and exits after updateReports (its own exit status is 1
  # when any case is not a pass: not used here, check_report.py judges).
  for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "autobahn.sh: kosoku did not finish after updateReports; stopping it" >&2
    run_errors+=(--run-error "pass $name: kosoku did not finish after updateReports (see $dir/server.log)")
  fi
  cleanup
  server_pid=""

  local expect=()
  [ -s "$dir/case-count" ] && expect=(--expect-count "$(cat "$dir/case-count")")
  pass_rc=0
  "$VENV/bin/python" "$ROOT/tests/autobahn/check_report.py" "$reports" --agent "$agent" \
    ${expect[@]+"${expect[@]}"} ${run_errors[@]+"${run_errors[@]}"} >"$dir/summary.txt" || pass_rc=$?
  sed '$d' "$dir/summary.txt"
  echo "autobahn.sh: pass $name: reports in $reports/index.html; $(tail -n 1 "$dir/summary.txt")"
}

rm -rf "$OUT/reports" "$OUT/server.log" "$OUT/case-count" "$OUT/summary.txt"
passes=()
if [ -n "$include_given" ]; then
  # The caller's selection, one pass.
  if [ "$deflate" = 1 ]; then run_pass deflate wxnet-deflate --deflate "$DEFLATE_TIMEOUT" "${select[@]}";
  else run_pass plain wxnet "" "$RUN_TIMEOUT" "${select[@]}"; fi
  passes+=("$([ "$deflate" = 1 ] && echo deflate || echo plain)")
  total_rc=$pass_rc
else
  # 1.*-11.* with perMessageDeflate off (no offer), then the compression cases
  # 12.*/13.* with it on.
  run_pass plain wxnet "" "$RUN_TIMEOUT" ${select[@]+"${select[@]}"} -x '12.*' -x '13.*'
  total_rc=$pass_rc
  passes+=(plain)
  deflate_cases=(-i '12.*' -i '13.*')
  if [ "$quick_deflate" = 1 ]; then
    deflate_cases=()
    for group in 12.1 12.2 12.3 12.4 12.5 13.1 13.2 13.3 13.4 13.5 13.6 13.7; do
      for n in 1 2 3 4 5 6; do deflate_cases+=(-i "$group.$n"); done
    done
  fi
  run_pass deflate wxnet-deflate --deflate "$DEFLATE_TIMEOUT" ${select[@]+"${select[@]}"} "${deflate_cases[@]}"
  [ "$pass_rc" = 0 ] || total_rc=$pass_rc
  passes+=(deflate)
fi

elapsed=$(( $(date +%s) - started ))
echo "autobahn.sh: total time ${elapsed}s"
# The last line: both passes' counts added up.
awk '/^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 } END { printf "%d passed, %d failed\n", p, f }' \
  $(for p in "${passes[@]}"; do echo "$OUT/$p/summary.txt"; done)
exit "$total_rc"
