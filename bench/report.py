#!/usr/bin/env python3
"""Builds the markdown tables of scripts/bench.sh from its raw results.

usage: report.py SCENARIOS.tsv RESULTS.tsv

SCENARIOS.tsv: name <TAB> kind (tput | ttfr) <TAB> title
RESULTS.tsv:   round <TAB> scenario <TAB> the RESULT line of one client process

Only ratios of the two clients measured in the same round are compared (the machine's
speed drifts 30-45% between runs, and the rounds alternate which client goes first).
Each cell is the median over rounds of the per-round ratio, then (p25-p75; min-max) over
rounds, and the count of rounds in which wxnet was faster / used less CPU.
Absolute numbers are medians of this run only: never compare them across runs.
"""
import statistics
import sys


def parse_result(line):
    fields = {}
    for tok in line.split()[1:]:
        k, _, v = tok.partition("=")
        fields[k] = v
    return fields


def fmt_ratio(values, digits=2):
    """**median** (p25-p75 of the rounds; min-max)."""
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = med
    d = digits
    return f"**{med:.{d}f}** ({q1:.{d}f}-{q3:.{d}f}; {min(values):.{d}f}-{max(values):.{d}f})"


def verdict(speed, cpu):
    """In how many rounds wxnet was faster, and cheaper in CPU."""
    if not speed:
        return ""
    n = len(speed)
    faster = sum(1 for v in speed if v > 1.0)
    cheaper = sum(1 for v in cpu if v < 1.0)
    return f"faster {faster}/{n}, cheaper {cheaper}/{n}"


def med(values, fmt="{:.0f}"):
    return fmt.format(statistics.median(values)) if values else "n/a"


def main():
    scen_file, res_file = sys.argv[1], sys.argv[2]
    scenarios = []
    for line in open(scen_file):
        line = line.rstrip("\n")
        if not line:
            continue
        name, kind, title = line.split("\t", 2)
        scenarios.append((name, kind, title))

    # results[scenario][round][backend] = fields
    results = {}
    for line in open(res_file):
        parts = line.rstrip("\n").split("\t", 2)
        if len(parts) != 3 or not parts[2].startswith("RESULT"):
            continue
        rnd, scen, res = parts
        f = parse_result(res)
        results.setdefault(scen, {}).setdefault(int(rnd), {})[f["backend"]] = f

    out = []
    out.append(
        "| scenario | wxnet/curl speed | wxnet/curl CPU per request | rounds where wxnet was | "
        "req/s wxnet / curl | CPU µs/req wxnet / curl | ctx switches/req wxnet / curl | rounds |"
    )
    out.append("|---|---|---|---|---|---|---|---|")
    ttfr_rows = []
    for name, kind, title in scenarios:
        rounds = [r for r in results.get(name, {}).values() if "wxnet" in r and "curl" in r]
        if kind == "tput":
            speed = [float(r["wxnet"]["rps"]) / float(r["curl"]["rps"]) for r in rounds]
            cpu = [
                float(r["wxnet"]["cpu_us_per_req"]) / float(r["curl"]["cpu_us_per_req"])
                for r in rounds
            ]
            rps_w = [float(r["wxnet"]["rps"]) for r in rounds]
            rps_c = [float(r["curl"]["rps"]) for r in rounds]
            cpu_w = [float(r["wxnet"]["cpu_us_per_req"]) for r in rounds]
            cpu_c = [float(r["curl"]["cpu_us_per_req"]) for r in rounds]
            csw_w = [float(r["wxnet"].get("csw_per_req", "nan")) for r in rounds]
            csw_c = [float(r["curl"].get("csw_per_req", "nan")) for r in rounds]
            rate = "{:.0f}" if rps_w and statistics.median(rps_w) >= 100 else "{:.1f}"
            out.append(
                f"| {title} | {fmt_ratio(speed)} | {fmt_ratio(cpu)} | {verdict(speed, cpu)} | "
                f"{med(rps_w, rate)} / {med(rps_c, rate)} | {med(cpu_w)} / {med(cpu_c)} | "
                f"{med(csw_w, '{:.1f}')} / {med(csw_c, '{:.1f}')} | {len(rounds)} |"
            )
        else:
            speed = [
                float(r["curl"]["fresh_ms"]) / float(r["wxnet"]["fresh_ms"]) for r in rounds
            ]
            cpu = [
                float(r["wxnet"]["cpu_ms_per_fresh"]) / float(r["curl"]["cpu_ms_per_fresh"])
                for r in rounds
            ]
            cold = [float(r["curl"]["cold_ms"]) / float(r["wxnet"]["cold_ms"]) for r in rounds]
            fresh_w = [float(r["wxnet"]["fresh_ms"]) for r in rounds]
            fresh_c = [float(r["curl"]["fresh_ms"]) for r in rounds]
            cpu_w = [float(r["wxnet"]["cpu_ms_per_fresh"]) for r in rounds]
            cpu_c = [float(r["curl"]["cpu_ms_per_fresh"]) for r in rounds]
            out.append(
                f"| {title} | {fmt_ratio(speed)} | {fmt_ratio(cpu)} | {verdict(speed, cpu)} | "
                f"{med(fresh_w, '{:.2f}')} / {med(fresh_c, '{:.2f}')} ms | "
                f"{med(cpu_w, '{:.2f}')} / {med(cpu_c, '{:.2f}')} ms | | {len(rounds)} |"
            )
            ttfr_rows.append((title, rounds, cold))

    if ttfr_rows:
        out.append("")
        out.append(
            "Time to first request, split (medians of this run; fresh = median over the "
            "fresh apps/handles of one process, cold = the first one in a new process):"
        )
        out.append("")
        out.append(
            "| scenario | cold speed curl_ms/wxnet_ms | cold ms wxnet / curl | "
            "setup ms wxnet / curl | first request ms wxnet / curl |"
        )
        out.append("|---|---|---|---|---|")
        for title, rounds, cold in ttfr_rows:
            g = lambda b, k: [float(r[b][k]) for r in rounds]  # noqa: E731
            out.append(
                f"| {title} | {fmt_ratio(cold)} | "
                f"{med(g('wxnet', 'cold_ms'), '{:.2f}')} / {med(g('curl', 'cold_ms'), '{:.2f}')} | "
                f"{med(g('wxnet', 'fresh_setup_ms'), '{:.3f}')} / "
                f"{med(g('curl', 'fresh_setup_ms'), '{:.3f}')} | "
                f"{med(g('wxnet', 'fresh_first_ms'), '{:.3f}')} / "
                f"{med(g('curl', 'fresh_first_ms'), '{:.3f}')} |"
            )
    print("\n".join(out))


if __name__ == "__main__":
    main()
