#!/usr/bin/env python3
"""Judges an Autobahn client report (index.json + per-case JSON) written by kosoku.

Accepted verdicts (Autobahn's own notion of a passing case, which kosoku's
`CaseResult.passed` also uses):
  behavior       OK, NON-STRICT, INFORMATIONAL
  behaviorClose  OK, INFORMATIONAL
Everything else fails: behavior FAILED / UNIMPLEMENTED / ERROR, behaviorClose
FAILED / FAILED BY CLIENT / WRONG CODE / UNCLEAN / NO_CLOSE.

UNIMPLEMENTED fails too: the compression cases (12.* and 13.*,
permessage-deflate) are run with perMessageDeflate on (scripts/autobahn.sh's
second pass) and must pass like every other case.

Prints the verdict counts, the accepted non-OK cases, every failing case with
its behaviour, and finally the line `N passed, N failed` alone. Exit status 1
when any case failed, when the report is missing, when it holds fewer cases
than the driver ran (--expect-count), or when the caller reports a run error
(--run-error, counted as one failure each).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

ACCEPTED_BEHAVIOR = {"OK", "NON-STRICT", "INFORMATIONAL"}
ACCEPTED_CLOSE = {"OK", "INFORMATIONAL"}


def case_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in case_id.split("."))


def short(value: object, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.replace("<br>", " ").split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", help="kosoku report directory (holds index.json)")
    parser.add_argument("--agent", default="wxnet")
    parser.add_argument("--expect-count", type=int, default=None,
                        help="number of cases the driver ran; fewer in the report is a failure")
    parser.add_argument("--run-error", action="append", default=[], metavar="MSG",
                        help="a failure of the run itself (driver, server), counted as a failed case")
    args = parser.parse_args()

    index_path = os.path.join(args.reports, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print(f"autobahn: no usable report at {index_path}: {e}")
        for message in args.run_error:
            print(f"FAILED run: {message}")
        print("0 passed, 1 failed")
        return 1
    cases = index.get(args.agent)
    if not cases:
        print(f"autobahn: {index_path} has no cases for agent {args.agent!r} "
              f"(agents: {', '.join(index) or 'none'})")
        print("0 passed, 1 failed")
        return 1

    passed, failed = [], []
    counts: collections.Counter[str] = collections.Counter()
    for case_id in sorted(cases, key=case_key):
        entry = cases[case_id]
        behavior, close = entry["behavior"], entry["behaviorClose"]
        counts[f"{behavior} / {close}"] += 1
        close_ok = close in ACCEPTED_CLOSE
        if behavior in ACCEPTED_BEHAVIOR and close_ok:
            passed.append(case_id)
        else:
            failed.append(case_id)

    total = len(cases)
    print(f"autobahn: {total} cases in {index_path} (agent {args.agent})")
    print("autobahn: verdicts (behavior / behaviorClose):")
    for verdict, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:4d}  {verdict}")

    accepted_not_ok = [c for c in passed
                       if (cases[c]["behavior"], cases[c]["behaviorClose"]) != ("OK", "OK")]
    if accepted_not_ok:
        print("autobahn: accepted but not OK: " + ", ".join(
            f"{c} ({cases[c]['behavior']}/{cases[c]['behaviorClose']})" for c in accepted_not_ok))

    for case_id in failed:
        entry = cases[case_id]
        print(f"FAILED {case_id}: behavior {entry['behavior']}, behaviorClose {entry['behaviorClose']}")
        path = os.path.join(args.reports, entry.get("reportfile", ""))
        try:
            with open(path) as f:
                detail = json.load(f)
        except (OSError, ValueError):
            print(f"    (no detail report at {path})")
            continue
        print(f"    description: {short(detail.get('description', ''))}")
        print(f"    expectation: {short(detail.get('expectation', ''))}")
        print(f"    result:      {short(detail.get('result', ''))} | {short(detail.get('resultClose', ''))}")
        print(f"    expected:    {short(detail.get('expected', {}))}")
        print(f"    received:    {short(detail.get('received', []))}")
        print(f"    expectedClose: {short(detail.get('expectedClose', {}))}")
        print("    close: closedByMe={} droppedByMe={} failedByMe={} wasClean={} ({}) "
              "localCloseCode={} remoteCloseCode={} remoteCloseReason={!r}".format(
                  detail.get("closedByMe"), detail.get("droppedByMe"), detail.get("failedByMe"),
                  detail.get("wasClean"), detail.get("wasNotCleanReason"),
                  detail.get("localCloseCode"), detail.get("remoteCloseCode"),
                  detail.get("remoteCloseReason")))

    for message in args.run_error:
        print(f"FAILED run: {message}")
    missing = len(args.run_error)
    if args.expect_count is not None and total < args.expect_count:
        missing += args.expect_count - total
        print(f"autobahn: the driver ran {args.expect_count} cases but the report has {total}")

    print(f"{len(passed)} passed, {len(failed) + missing} failed")
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
