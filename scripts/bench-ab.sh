#!/usr/bin/env bash
# Interleaved A/B of wxnet builds or settings against Debian's nginx (scripts/bench.sh
# --server nginx's config and certificates): for each round, each scenario, each variant in
# turn, one run of target/bench/wxnet_bench (or curl_bench); prints per scenario the median
# of the per-round ratios of every variant to the first one, and to curl when it is listed.
# Only ratios inside one round are compared (these 2-core machines swing 30-45% between runs).
#
#   VARIANTS="curl= base=LD_LIBRARY_PATH=/tmp/old new=WXNET_WORKER_THREADS=1" \
#     ROUNDS=5 SCEN="seq_h1 c10_h1 c10_h2 c100_h2 dl1m_c4 big" scripts/bench-ab.sh
#
# A variant is NAME=ENV1=v1,ENV2=v2 (no env: NAME=); "curl" is the libcurl client. To compare
# library builds, copy each libwxnet.so into its own directory and point LD_LIBRARY_PATH
# there (the bench client's RUNPATH gives way to it). Also prints nginx's CPU per request
# (its worker processes' user+system time over the run, from /proc, 10 ms ticks): client and
# server share this machine's 2 CPUs, so req/s follows 2 / (client + server CPU per request)
# once both are busy. Needs target/bench/{wxnet,curl}_bench:
# run `scripts/bench.sh --server nginx --quick` once first. Raw lines: target/bench/ab.tsv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/bench"
for b in wxnet_bench curl_bench; do
  [ -x "$OUT/$b" ] || { echo "bench-ab.sh: $OUT/$b is missing: run scripts/bench.sh --server nginx --quick first" >&2; exit 1; }
done
: "${VARIANTS:?VARIANTS is required, e.g. VARIANTS=\"curl= base=LD_LIBRARY_PATH=/tmp/old\"}"
ROUNDS="${ROUNDS:-5}"
SCEN="${SCEN:-seq_h1 c10_h1 c10_h2}"
# shellcheck source=scripts/lib/bench-nginx.sh
source "$ROOT/scripts/lib/bench-nginx.sh"
start_bench_nginx "$OUT/nginx" "${NGINX_WORKERS:-1}"
declare -A ARGS=(
  [seq_h1]="--path /json --n 5000 --conc 1 --expect-proto HTTP/1.1 --port $NGINX_H1_PORT"
  [c10_h1]="--path /json --n 10000 --conc 10 --expect-proto HTTP/1.1 --port $NGINX_H1_PORT"
  [c10_h2]="--path /json --n 10000 --conc 10 --h2 --expect-proto HTTP/2.0 --port $NGINX_H2_PORT"
  [c100_h2]="--path /json --n 20000 --conc 100 --h2 --expect-proto HTTP/2.0 --port $NGINX_H2_PORT"
  [dl1m_c4]="--path /bytes/1048576 --n 400 --conc 4 --arraybuffer --expect-len 1048576 --expect-proto HTTP/1.1 --port $NGINX_H1_PORT"
  [big]="--path /bytes/10485760 --n 20 --conc 1 --warmup 2 --arraybuffer --expect-len 10485760 --expect-proto HTTP/1.1 --port $NGINX_H1_PORT"
)
RAW="$OUT/ab.tsv"
TICK_HZ="$(getconf CLK_TCK)"
nginx_ticks() { # user+system clock ticks of nginx's worker processes so far
  local t=0 p f
  for p in $(pgrep -P "$NGINX_PID"); do
    read -r -a f <"/proc/$p/stat" || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
: >"$RAW"
echo "bench-ab: $ROUNDS rounds of: $SCEN; variants: $VARIANTS; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for s in $SCEN; do
    [ -n "${ARGS[$s]:-}" ] || { echo "bench-ab.sh: unknown scenario $s" >&2; exit 1; }
    for v in $VARIANTS; do
      name="${v%%=*}" envs="${v#*=}" bin="$OUT/wxnet_bench"
      if [ "$name" = curl ]; then bin="$OUT/curl_bench"; envs=""; fi
      # shellcheck disable=SC2086
      t0="$(nginx_ticks)"
      res="$(env ${envs//,/ } timeout 120 "$bin" --scenario "$s" --ca "$NGINX_CA" ${ARGS[$s]} | grep '^RESULT')"
      t1="$(nginx_ticks)"
      field() { sed "s/.* $1=\([0-9.]*\).*/\1/" <<<"$res"; }
      server_us="$(python3 -c "print(f'{($t1 - $t0) * 1e6 / $TICK_HZ / $(field n):.1f}')")"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$name" "$(field rps)" "$(field cpu_us_per_req)" "$(field csw_per_req)" "$server_us" >>"$RAW"
    done
  done
  echo "  round $r/$ROUNDS done"
done
python3 - "$RAW" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(dict)
order = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    r, s, n = f[:3]
    # rps, client CPU us/req, ctx switches/req, nginx CPU us/req (absent in older files)
    rows[(s, r)][n] = tuple(float(x) for x in f[3:7]) + ((float("nan"),) if len(f) < 7 else ())
    if n not in order:
        order.append(n)
ref = next(n for n in order if n != "curl")
by = collections.defaultdict(list)
for (s, _), v in rows.items():
    by[s].append(v)
print(f"\nmedians of per-round ratios (speed = req/s ratio, CPU = CPU per request ratio); reference: {ref};")
print("client and nginx µs/req: medians of this run's absolute CPU per request")
print("| scenario | variant | speed / " + ref + " | CPU / " + ref + " | speed / curl | CPU / curl | ctx sw/req | client µs/req | nginx µs/req |")
print("|---|---|---|---|---|---|---|---|---|")
for s, vs in sorted(by.items()):
    for n in order:
        med = lambda f: statistics.median(f(v) for v in vs)
        absolute = f" | {med(lambda v: v[n][2]):.2f} | {med(lambda v: v[n][1]):.0f} | {med(lambda v: v[n][3]):.0f} |"
        if n == "curl":
            print(f"| {s} | curl | - | - | 1 | 1" + absolute)
            continue
        vs_curl = "curl" in order
        print(f"| {s} | {n} | {med(lambda v: v[n][0] / v[ref][0]):.2f} | {med(lambda v: v[n][1] / v[ref][1]):.2f} | "
              + (f"{med(lambda v: v[n][0] / v['curl'][0]):.2f} | {med(lambda v: v[n][1] / v['curl'][1]):.2f}" if vs_curl else "- | -")
              + absolute)
PY
