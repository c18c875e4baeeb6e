"""Benchmark the mutation run (loopback only, bounded).

Runs the suite against the fast subset, then against every mutant and correct variant,
in ``--jobs`` worker processes, and prints each run's wall time and score (goals on 2
cores: the fast subset within 30 s, the full run within 3 minutes). Exits 1 if a mutant
survives or a variant FAILs.

Run: python bench/bench_mutants.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import time

from conformance.mutants import select
from conformance.mutants.driver import Score, run_targets

GOALS = {"fast": 30.0, "full": 180.0}
"""Seconds each subset may take on 2 cores."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    worst = 0
    for subset, goal in GOALS.items():
        targets = select(fast=subset == "fast")
        started = time.perf_counter()
        score = Score.of(targets, run_targets(targets, jobs=args.jobs))
        seconds = time.perf_counter() - started
        print(f"{subset:5} {len(score.mutants)} mutants, {len(score.variants)} variants, {args.jobs} jobs: "
              f"{seconds:6.1f} s (goal {goal:g} s)  killed {len(score.killed)}/{len(score.mutants)}  "
              f"survivors {[m.name for m in score.survivors]}  false FAILs {[v.name for v in score.false_fails]}")
        worst = max(worst, score.exit_code())
    return worst


if __name__ == "__main__":  # worker processes are spawned: they import this module, not run it
    sys.exit(main())
