#!/usr/bin/env bash
# wxnet vs libcurl: wx.request throughput, CPU per request and time to first request,
# against the same local test server in one interleaved run (see BENCHMARKS.md).
#
#   scripts/bench.sh                 install libcurl-dev if missing, build, run, print the table
#   scripts/bench.sh --rounds N      rounds per scenario (default 15)
#   scripts/bench.sh --quick         3 rounds, smaller N (a smoke test, not for BENCHMARKS.md)
#   scripts/bench.sh --only NAME     run only that scenario (repeatable): seq_h1 seq_h1_hops
#                                    c10_h1 c10_h1_thr c10_h1_hops c10_h2 big post64k
#                                    post64k_json post64k_opts ttfr ttfr_bundle
#   scripts/bench.sh --no-build      skip the cargo builds (the C programs are always rebuilt)
#   scripts/bench.sh --out FILE      also write the markdown report there
#                                    (default target/bench/report.md)
#   scripts/bench.sh --server nginx  against Debian's nginx instead of our test server
#                                    (installed with apt-get if missing): the script writes
#                                    a config, a CA and leaf certificate (openssl) and the
#                                    files under target/bench/nginx/; nginx listens on
#                                    127.0.0.1 only, one h1 port (ALPN http/1.1) and one h2
#                                    port; scenarios: seq_h1 seq_h1_hops c10_h1 c10_h1_hops
#                                    c10_h2 c100_h2 dl1m_c4 big (a 13-byte /json, 1 MiB and
#                                    10 MB files). --server own (the default) is the
#                                    wxnet-testserver run with the scenarios below.
#   scripts/bench.sh --instructions  instead of timing: client instructions per request
#                                    (valgrind callgrind, every thread, user space only) of
#                                    both clients per scenario: two runs of different N,
#                                    the difference divided by the difference of N, so the
#                                    setup and warm-up cancel out. Deterministic enough to
#                                    compare trees on a loaded machine (time is not).
#   scripts/bench.sh --profile NAME  instead of timing: profile the wxnet client of scenario
#                                    NAME (perf record -e cpu-clock --call-graph dwarf, or
#                                    valgrind --tool=callgrind without perf) and which threads
#                                    wake which (perf sched:sched_wakeup); reports in
#                                    target/bench/profile-NAME.txt (repeatable)
#   NGINX_WORKERS=N                  nginx worker processes (default 1: the client and
#                                    the server share the machine's CPUs)
#
# Every round runs each scenario once with each client, as separate processes (so each
# one's getrusage CPU is its own; the server is a third process), alternating which client
# goes first. Only ratios between the two runs of one round are reported: median of the
# per-round ratios with (p25-p75; min-max) and in how many rounds wxnet won. Raw RESULT
# lines: target/bench/results.tsv; the table is built by bench/report.py.
#
# Environment: CC (default gcc), CARGO (default cargo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CC="${CC:-gcc}"
CARGO="${CARGO:-cargo}"
rounds=15
quick=0
build=1
only=()
profile=()
server=own
instr=0
out_md="$ROOT/target/bench/report.md"
cmdline="scripts/bench.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift ;;
    --quick) quick=1; rounds=3 ;;
    --no-build) build=0 ;;
    --only) only+=("$2"); shift ;;
    --out) out_md="$2"; shift ;;
    --profile) profile+=("$2"); shift ;;
    --server) server="$2"; shift ;;
    --instructions) instr=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case "$server" in own|nginx) ;; *) echo "bench.sh: --server is own or nginx" >&2; exit 2 ;; esac
t_start=$(date +%s)

# ---- prerequisites: libcurl headers (OpenSSL flavour), python3 for the report ----
have_curl_dev() { echo '#include <curl/curl.h>' | "$CC" -E - >/dev/null 2>&1 && command -v curl-config >/dev/null; }
if ! have_curl_dev; then
  echo "bench.sh: libcurl headers missing: installing libcurl4-openssl-dev"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libcurl4-openssl-dev >/dev/null
  have_curl_dev || { echo "bench.sh: libcurl4-openssl-dev did not install" >&2; exit 1; }
fi
command -v python3 >/dev/null || { echo "bench.sh: python3 is needed for the report" >&2; exit 1; }
if [ "$server" = nginx ] && ! command -v nginx >/dev/null && ! [ -x /usr/sbin/nginx ]; then
  echo "bench.sh: nginx missing: installing Debian's nginx (its service is not started)"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  # Debian starts a freshly installed service on port 80 of every interface unless
  # policy-rc.d says no: say no for the length of the install if nothing else does.
  policy_added=0
  if ! [ -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
  [ "$policy_added" = 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ -x /usr/sbin/nginx ] || { echo "bench.sh: nginx did not install" >&2; exit 1; }
fi
if [ "$instr" = 1 ] && ! command -v valgrind >/dev/null; then
  echo "bench.sh: --instructions needs valgrind (apt-get install valgrind)" >&2
  exit 1
fi

# ---- build ----
if [ "$build" = 1 ]; then
  "$CARGO" build --release -p wxnet
  [ "$server" = nginx ] || "$CARGO" build --release -p wxnet-testserver
fi
LIBDIR="$ROOT/target/release"
SERVER_BIN="$LIBDIR/wxnet-testserver"
need=("$LIBDIR/libwxnet.so")
[ "$server" = nginx ] || need+=("$SERVER_BIN")
for f in "${need[@]}"; do
  [ -e "$f" ] || { echo "bench.sh: $f is missing (run without --no-build)" >&2; exit 1; }
done
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -pthread)
"$CC" "${CFLAGS[@]}" -I "$ROOT/include" -o "$OUT/wxnet_bench" bench/wxnet_bench.c \
  -L "$LIBDIR" -Wl,-rpath,"$LIBDIR" -lwxnet
# shellcheck disable=SC2046
"$CC" "${CFLAGS[@]}" $(curl-config --cflags) -o "$OUT/curl_bench" bench/curl_bench.c $(curl-config --libs)
echo "built $OUT/wxnet_bench and $OUT/curl_bench (gcc -O2)"

# ---- the server (stops with this script) ----
if [ "$server" = own ]; then
  # shellcheck source=scripts/lib/test-server.sh
  source "$ROOT/scripts/lib/test-server.sh"
  start_test_server "$SERVER_BIN" bench.sh
  PORT="$WXNET_TEST_HTTPS_PORT"
  H2PORT="$PORT"
  CA="$WXNET_TEST_CA"
  echo "test server: https port $PORT (ALPN h2 + http/1.1), ca $CA"
  SERVER_DESC="wxnet-testserver (hyper + rustls, release), one process"
else
  # shellcheck source=scripts/lib/bench-nginx.sh
  source "$ROOT/scripts/lib/bench-nginx.sh"
  start_bench_nginx "$OUT/nginx" "${NGINX_WORKERS:-1}"
  PORT="$NGINX_H1_PORT"
  H2PORT="$NGINX_H2_PORT"
  CA="$NGINX_CA"
  echo "nginx: h1 port $PORT (ALPN http/1.1), h2 port $H2PORT (ALPN h2 + http/1.1), ca $CA, config $OUT/nginx/nginx.conf"
  SERVER_DESC="$(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //') from Debian, ${NGINX_WORKERS:-1} worker(s), config target/bench/nginx/nginx.conf"
fi
# What a curl container that trusts the system roots plus the app's CA would load.
SYSTEM_BUNDLE=/etc/ssl/certs/ca-certificates.crt
BUNDLE=""
if [ -r "$SYSTEM_BUNDLE" ]; then
  BUNDLE="$TMP/bundle.pem"
  cat "$SYSTEM_BUNDLE" "$CA" >"$BUNDLE"
fi

# ---- scenarios: name | kind | title | args for both | wxnet-only args | curl-only args ----
q() { if [ "$quick" = 1 ]; then echo "$2"; else echo "$1"; fi; } # full / quick N
S_NAME=(); S_KIND=(); S_TITLE=(); S_ARGS=(); S_WX=(); S_CURL=()
scenario() {
  S_NAME+=("$1"); S_KIND+=("$2"); S_TITLE+=("$3"); S_ARGS+=("$4"); S_WX+=("$5"); S_CURL+=("$6")
}
if [ "$server" = nginx ]; then
  # The scenarios of issue 13: a 13-byte JSON file, 1 MiB and 10 MB files, from nginx.
  scenario seq_h1 tput "1a. sequential GET /json (13 B), 1 in flight, h1 (curl: easy handle reused, perform on the calling thread)" \
    "--path /json --n $(q 5000 1000) --conc 1 --expect-proto HTTP/1.1" "" ""
  scenario seq_h1_hops tput "1b. same, curl container-shaped (multi on a network thread, queues to and from the calling thread)" \
    "--path /json --n $(q 5000 1000) --conc 1 --expect-proto HTTP/1.1" "" "--hops"
  scenario c10_h1 tput "2a. GET /json, 10 in flight, h1 (curl: multi, 1 thread)" \
    "--path /json --n $(q 10000 2000) --conc 10 --expect-proto HTTP/1.1" "" ""
  scenario c10_h1_hops tput "2c. same, curl container-shaped (as 1b)" \
    "--path /json --n $(q 10000 2000) --conc 10 --expect-proto HTTP/1.1" "" "--hops"
  scenario c10_h2 tput "2d. GET /json, 10 in flight, h2, one multiplexed connection (curl: multi, 1 thread)" \
    "--path /json --n $(q 10000 2000) --conc 10 --h2 --expect-proto HTTP/2.0" "" ""
  scenario c100_h2 tput "2e. GET /json, 100 in flight, h2, one multiplexed connection (curl: multi, 1 thread)" \
    "--path /json --n $(q 20000 4000) --conc 100 --h2 --expect-proto HTTP/2.0" "" ""
  scenario dl1m_c4 tput "3a. GET 1 MiB file into memory (arraybuffer), 4 in flight, h1" \
    "--path /bytes/1048576 --n $(q 400 80) --conc 4 --arraybuffer --expect-len 1048576 --expect-proto HTTP/1.1" "" ""
  scenario big tput "3. GET 10 MB file ×20 into memory (arraybuffer), h1" \
    "--path /bytes/10485760 --n $(q 20 6) --conc 1 --warmup 2 --arraybuffer --expect-len 10485760 --expect-proto HTTP/1.1" "" ""
else
  scenario seq_h1 tput "1a. sequential GET /json, 1 in flight, h1 (curl: easy handle reused, perform on the calling thread)" \
    "--path /json --n $(q 5000 1000) --conc 1 --expect-proto HTTP/1.1" "" ""
  scenario seq_h1_hops tput "1b. same, curl container-shaped (multi on a network thread, queues to and from the calling thread)" \
    "--path /json --n $(q 5000 1000) --conc 1 --expect-proto HTTP/1.1" "" "--hops"
  scenario c10_h1 tput "2a. GET /json, 10 in flight, h1 (curl: multi, 1 thread)" \
    "--path /json --n $(q 10000 2000) --conc 10 --expect-proto HTTP/1.1" "" ""
  scenario c10_h1_thr tput "2b. same, curl: 10 threads, one easy handle each" \
    "--path /json --n $(q 10000 2000) --conc 10 --expect-proto HTTP/1.1" "" "--threads"
  scenario c10_h1_hops tput "2c. same, curl container-shaped (as 1b)" \
    "--path /json --n $(q 10000 2000) --conc 10 --expect-proto HTTP/1.1" "" "--hops"
  scenario c10_h2 tput "2d. GET /json, 10 in flight, h2, one multiplexed connection (curl: multi, 1 thread)" \
    "--path /json --n $(q 10000 2000) --conc 10 --h2 --expect-proto HTTP/2.0" "" ""
  scenario big tput "3. GET /bytes/10485760 ×20 into memory (arraybuffer), h1" \
    "--path /bytes/10485760 --n $(q 20 6) --conc 1 --warmup 2 --arraybuffer --expect-len 10485760 --expect-proto HTTP/1.1" "" ""
  scenario post64k tput "4a. POST 64 KB JSON to /echo, like for like (wxnet: ArrayBuffer data, dataType text)" \
    "--path /echo --post 65536 --n $(q 600 150) --conc 1" '--wx-extra "dataType":"text"' ""
  scenario post64k_json tput "4b. same, wxnet dataType json (the wx default: validates the 80 KB answer as JSON)" \
    "--path /echo --post 65536 --n $(q 600 150) --conc 1" "" ""
  scenario post64k_opts tput "4c. same, wx default path: data object inside the options JSON, dataType json" \
    "--path /echo --post 65536 --n $(q 300 100) --conc 1" "--data-in-options" ""
  scenario ttfr ttfr "5a. time to first request, fresh app / easy handle (curl CAINFO: test CA)" \
    "--path /json --ttfr $(q 20 5)" "" ""
  if [ -n "$BUNDLE" ]; then
    scenario ttfr_bundle ttfr "5b. same, curl CAINFO: system bundle + test CA (as wxnet trusts)" \
      "--path /json --ttfr $(q 20 5)" "" "--ca $BUNDLE"
  fi
fi

selected=()
for i in "${!S_NAME[@]}"; do
  if [ ${#only[@]} -gt 0 ] && ! [[ " ${only[*]} " == *" ${S_NAME[$i]} "* ]]; then continue; fi
  selected+=("$i")
done
[ ${#selected[@]} -gt 0 ] || { echo "bench.sh: no scenario selected (names: ${S_NAME[*]})" >&2; exit 2; }
: >"$OUT/scenarios.tsv"
for i in "${selected[@]}"; do printf '%s\t%s\t%s\n' "${S_NAME[$i]}" "${S_KIND[$i]}" "${S_TITLE[$i]}" >>"$OUT/scenarios.tsv"; done

client_cmd() { # index backend: the client's command line, one word per line
  local i="$1" backend="$2" extra
  if [ "$backend" = wxnet ]; then extra="${S_WX[$i]}"; else extra="${S_CURL[$i]}"; fi
  # shellcheck disable=SC2086
  local port="$PORT"
  [[ " ${S_ARGS[$i]} " != *" --h2 "* ]] || port="$H2PORT"
  printf '%s\n' "$OUT/${backend}_bench" --scenario "${S_NAME[$i]}" --port "$port" --ca "$CA" \
    ${S_ARGS[$i]} $extra
}

if [ "$instr" = 1 ]; then
  # Instructions per request: callgrind counts every thread's user-space instructions the
  # same way however loaded the machine is. Two runs with N and 3N (quick: 2N) requests;
  # (I(3N) - I(N)) / 2N leaves out the process start, the app, the TLS handshakes and the
  # warm-up. Kernel work (syscalls, context switches) is not counted.
  report_i="$OUT/instructions.md"
  total_ir() { sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$1" | head -n 1; }
  {
    echo "Client instructions per request (valgrind callgrind, user space, all threads), \`$cmdline\`, tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), server: $SERVER_DESC."
    echo
    echo "| scenario | wxnet instr/req | curl instr/req | wxnet/curl |"
    echo "|---|---|---|---|"
  } >"$report_i"
  for i in "${selected[@]}"; do
    [ "${S_KIND[$i]}" = tput ] || continue
    n_full="$(sed -n 's/.*--n \([0-9]*\).*/\1/p' <<<"${S_ARGS[$i]}")"
    n_lo=$(( n_full / 10 )); [ "$n_lo" -ge 2 ] || n_lo=2
    n_hi=$(( n_lo * 3 )); [ "$quick" = 0 ] || n_hi=$(( n_lo * 2 ))
    declare -A per_req=()
    for backend in wxnet curl; do
      irs=()
      for n in "$n_lo" "$n_hi"; do
        mapfile -t cmd < <(client_cmd "$i" "$backend")
        for k in "${!cmd[@]}"; do [ "${cmd[$k]}" != --n ] || cmd[k+1]="$n"; done
        cg="$OUT/callgrind-${S_NAME[$i]}-$backend-$n.out"
        if ! timeout 900 valgrind --tool=callgrind --callgrind-out-file="$cg" "${cmd[@]}" 3>&- >"$TMP/res" 2>"$TMP/cg.err" \
          || ! grep -q '^RESULT.* errors=0' "$TMP/res"; then
          cat "$TMP/cg.err" "$TMP/res" >&2
          echo "bench.sh: $backend under callgrind failed in ${S_NAME[$i]}" >&2
          exit 1
        fi
        irs+=("$(total_ir "$cg")")
      done
      per_req[$backend]=$(( (irs[1] - irs[0]) / (n_hi - n_lo) ))
      echo "  ${S_NAME[$i]} $backend: ${irs[0]} instructions for N=$n_lo, ${irs[1]} for N=$n_hi: ${per_req[$backend]} per request"
    done
    ratio="$(python3 -c "print(f'{${per_req[wxnet]} / ${per_req[curl]}:.2f}')")"
    echo "| ${S_NAME[$i]} | ${per_req[wxnet]} | ${per_req[curl]} | **$ratio** |" >>"$report_i"
    unset per_req
  done
  echo
  cat "$report_i"
  echo
  echo "report: $report_i; callgrind files (callgrind_annotate --inclusive=yes FILE): $OUT/callgrind-*.out"
  exit 0
fi

if [ ${#profile[@]} -gt 0 ]; then
  set +o pipefail # head closes the report pipes early
  for i in "${!S_NAME[@]}"; do
    [[ " ${profile[*]} " == *" ${S_NAME[$i]} "* ]] || continue
    mapfile -t cmd < <(client_cmd "$i" wxnet)
    report="$OUT/profile-${S_NAME[$i]}.txt"
    if command -v perf >/dev/null && perf record -q -e cpu-clock -o "$TMP/probe.data" true >/dev/null 2>&1; then
      perf record -q -e cpu-clock -F 4000 --call-graph dwarf,16384 -o "$TMP/perf.data" "${cmd[@]}" 3>&- >"$TMP/res" 2>/dev/null
      {
        echo "# ${S_TITLE[$i]}"
        echo "# ${cmd[*]}"
        grep '^RESULT' "$TMP/res"
        echo
        echo "## where the client's CPU goes (perf, cpu-clock, inclusive %, wxnet/tokio/hyper/rustls frames and syscalls)"
        perf report -i "$TMP/perf.data" --children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
          | grep -v '(inlined)' | grep -E 'wxnet|tokio::runtime|hyper::proto|rustls::conn|ring::aead|std::sync::mpmc|serde_json|rustls_native_certs|\[k\] (do_syscall_64|__x64_sys_futex|schedule|__x64_sys_epoll_wait)$|memmove' \
          | head -60
        echo
        echo "## hottest functions (self %)"
        perf report -i "$TMP/perf.data" --no-children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
        if perf record -q -e sched:sched_wakeup -o "$TMP/sched.data" "${cmd[@]}" 3>&- >/dev/null 2>&1; then
          echo
          echo "## thread wakeups during the run (waker -> wakee: count)"
          perf script -i "$TMP/sched.data" -F comm,trace 2>/dev/null \
            | awk '{ w=$1; sub(/.*comm=/, ""); print w " -> " $1 }' | sort | uniq -c | sort -rn | head -8
        fi
      } >"$report"
    else
      command -v valgrind >/dev/null || { echo "bench.sh: --profile needs perf or valgrind" >&2; exit 1; }
      valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "${cmd[@]}" 3>&- >"$TMP/res" 2>/dev/null
      { echo "# ${S_TITLE[$i]} (callgrind, instructions, inclusive)"; echo "# ${cmd[*]}"; grep '^RESULT' "$TMP/res"
        callgrind_annotate --inclusive=yes "$TMP/cg.out" 2>/dev/null | head -80; } >"$report"
    fi
    echo "profile of ${S_NAME[$i]}: $report"
  done
  exit 0
fi

RESULTS="$OUT/results.tsv"
: >"$RESULTS"
run_client() { # round index backend
  local r="$1" i="$2" backend="$3" log="$TMP/run.err" res
  local -a cmd
  mapfile -t cmd < <(client_cmd "$i" "$backend")
  if ! res="$(timeout 120 "${cmd[@]}" 2>"$log" 3>&-)"; then
    cat "$log" >&2
    echo "bench.sh: $backend failed in ${S_NAME[$i]} (round $r)" >&2
    exit 1
  fi
  res="$(grep '^RESULT' <<<"$res")"
  printf '%s\t%s\t%s\n' "$r" "${S_NAME[$i]}" "$res" >>"$RESULTS"
}
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "running ${#selected[@]} scenarios x $rounds rounds, wxnet and curl alternating ..."
for r in $(seq 1 "$rounds"); do
  for i in "${selected[@]}"; do
    if [ $((r % 2)) = 1 ]; then
      run_client "$r" "$i" wxnet; run_client "$r" "$i" curl
    else
      run_client "$r" "$i" curl; run_client "$r" "$i" wxnet
    fi
  done
  echo "  round $r/$rounds done ($(( $(date +%s) - t_start )) s)"
done

# ---- report ----
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): \`$cmdline\`, $rounds rounds."
  echo
  echo "- machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)"
  rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  dirty="$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | wc -l)"
  echo "- wxnet: $("$OUT/wxnet_bench" --version), tree at $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted change(s) under src/ or Cargo.*"), release profile ($(sed -n "/^\[profile.release\]/,/^\[/{/^opt-level\|^lto\|^codegen-units/p}" "$ROOT/Cargo.toml" | tr "\n" " " | sed "s/ $//")), rustls 0.23 + ring, hyper 1 / hyper-util legacy client, tokio ${WXNET_WORKER_THREADS:-1} worker(s)"
  echo "- curl: \`curl-config --version\` $(curl-config --version); runtime $("$OUT/curl_bench" --version)"
  echo "- server: $SERVER_DESC"
  echo "- compiler: $("$CC" --version | head -n 1), -O2"
  echo "- load average (1/5/15 min) at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg) (anything above ~0.5 is other work sharing the 2 CPUs)"
  echo
  echo "speed = wxnet/curl of req/s (or curl_ms/wxnet_ms for time to first request): above 1 wxnet is faster."
  echo "CPU = wxnet/curl of client CPU (user+sys, getrusage) per request: below 1 wxnet is cheaper."
  echo "Cells: **median** (p25-p75; min-max) of the per-round ratios. Absolute numbers: medians of this run only."
  echo
  python3 "$ROOT/bench/report.py" "$OUT/scenarios.tsv" "$RESULTS"
  echo
  echo "Total run time: $(( $(date +%s) - t_start )) s."
} >"$out_md"
echo
cat "$out_md"
echo
echo "report: $out_md; raw results: $RESULTS"
