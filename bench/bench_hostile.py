"""Benchmark whole runs against hostile targets (loopback only, bounded).

Runs ``lcm-conformance run --target URL`` with default settings (property runs on, the
default Hypothesis profile) against each misbehaving target of ``tests/hostile.py`` in
turn, each in a subprocess killed after ``--cap`` seconds, and prints a table: target,
wall time, exit code ("timed out" when killed), the verdict counts from results.json and
the first failure's detail. Goal (issue 9): every run ends within 60 s on 2 cores.

Run: python bench/bench_hostile.py [--only NAME ...] [--cap SECONDS]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile import TARGETS, CliRun, background, run_cli

GOAL = 60.0
"""Seconds a whole run may take against any target, on 2 cores."""
COUNTS = ("pass", "non_strict", "informational", "unimplemented", "fail", "error", "not_run")
SHORT = ("pass", "n-s", "info", "unimp", "fail", "err", "notrun")


def first_failure(results: dict[str, Any] | None) -> str:
    """The first FAIL's detail (else the first ERROR's), on one line."""
    if results is None:
        return "(no results.json)"
    for verdict in ("fail", "error"):
        for r in results.get("results", []):
            if r.get("verdict") == verdict:
                return f"{r['id']}: {' '.join(str(r.get('detail', '')).split())}"
    return "-"


def row(name: str, run: CliRun, width: int) -> str:
    summary = (run.results or {}).get("summary", {})
    exit_text = "timed out" if run.timed_out else str(run.returncode)
    counts = " ".join(f"{summary.get(key, '-')!s:>{len(short)}}" for key, short in zip(COUNTS, SHORT, strict=True))
    detail = first_failure(run.results)
    return f"{name:18} {run.seconds:7.1f} {exit_text:>9}  {counts}  {detail[:width]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(TARGETS), metavar="NAME",
                        help=f"run only this target (repeatable): {', '.join(TARGETS)}")
    parser.add_argument("--cap", type=float, default=120.0, help="kill a run after this many seconds (default 120)")
    parser.add_argument("--width", type=int, default=140, help="characters of the failure detail to print")
    args = parser.parse_args()
    names = args.only or list(TARGETS)
    print(f"{'target':18} {'wall s':>7} {'exit':>9}  {' '.join(SHORT)}  first failure")
    over = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp, background(TARGETS[name]()) as url:
            run = run_cli(url, Path(tmp), cap=args.cap)
        print(row(name, run, args.width), flush=True)
        if run.timed_out or run.seconds > GOAL:
            over.append(name)
    print(f"over the {GOAL:g} s goal: {', '.join(over) or 'none'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
