"""``lcm-conformance mutate``: measure the suite's power against mutants and variants."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..report.progress import Group, Progress

if TYPE_CHECKING:
    from ..mutants.driver import Run
    from ..mutants.targets import Target

HELP = ("run the suite against every mutant and correct variant of the reference server and the foreign "
        "target: the mutation score")
DESCRIPTION = """\
Serve each mutant (an implementation with one fault a real implementer could ship) and
each correct variant (an implementation the docs allow) on its own loopback port, in
parallel worker processes, and run the whole suite against it with a 0.5 s response
timeout and a token profile. A mutant is killed when at least one case FAILs; a variant
must get no FAIL at all.

There are two implementations: the reference server (its faults applied around it) and
the foreign target, written from the pages alone (its own deliberate faults and open
choices; names foreign.*). The score is given for each.

Prints the kill matrix (each mutant and the cases that caught it), the variants, the
score, the survivors and any variant that got a FAIL. `lcm-conformance mutants list`
names them all.

exit codes:
  0  every mutant killed, no variant FAILed
  1  a mutant survived, a variant FAILed, or a run broke
  2  usage error (an unknown mutant name, a bad option)

examples:
  lcm-conformance mutate
  lcm-conformance mutate --subset fast --jobs 2
  lcm-conformance mutate --mutant 'state.*' security.token-ignored --report-dir mutation
  lcm-conformance mutate --mutant 'foreign.*'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes (default: the number of CPUs, %(default)s)")
    parser.add_argument("--report-dir", type=Path, metavar="DIR",
                        help="write mutation.json and kill-matrix.csv here")
    parser.add_argument("--subset", choices=("fast", "full"), default="full",
                        help="fast: the CI subset; full: every mutant and variant (default)")
    parser.add_argument("--mutant", nargs="+", action="extend", default=[], metavar="NAME",
                        help="run only these mutants or variants (a trailing * matches a prefix); "
                             "overrides --subset")
    parser.add_argument("--quiet", action="store_true", help="no progress display: the results only")


LEGEND = {"K": "mutant killed", "S": "mutant survived", ".": "variant without FAIL", "F": "variant FAILed",
          "!": "the run broke"}
STYLES = {"K": "32", "S": "1;31", ".": "32", "F": "1;31", "!": "1;35"}


def outcome(target: Target, run: Run) -> str:
    """The progress mark of one target's run (as the score counts it)."""
    from ..mutants.driver import Score

    score = Score.of([target], {target.name: run})
    return ("!" if score.broken else "K" if score.killed else "S" if score.survivors
            else "F" if score.false_fails else ".")


def display(targets: list[Target], quiet: bool) -> Progress | None:
    """The progress display: a line per implementation's mutants and variants, in order."""
    if quiet:
        return None
    kinds = itertools.groupby(targets, key=lambda t: (t.implementation, type(t).__name__.lower()))
    groups = [Group(f"{implementation} {kind}s", len(list(members)), kind) for (implementation, kind), members in kinds]
    return Progress(len(targets), LEGEND, groups=groups, styles=STYLES, noun="target")


def run(args: argparse.Namespace) -> int:
    from ..mutants import select
    from ..mutants.driver import Score, Settings, run_targets, suite_cases
    from ..mutants.report import render, write

    if args.jobs < 1:
        print("lcm-conformance mutate: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        targets = select(args.mutant, fast=args.subset == "fast")
    except KeyError as exc:
        print(f"lcm-conformance mutate: {exc.args[0]}", file=sys.stderr)
        return 2
    jobs = min(args.jobs, len(targets))
    settings = Settings()
    print(f"running the suite against {len(targets)} target(s) on {jobs} process(es)", flush=True)
    progress = display(targets, args.quiet)
    slots = {t.name: i for i, t in enumerate(targets)}
    by_name = {t.name: t for t in targets}

    def done(run: Run) -> None:
        if progress is not None:
            progress.advance(outcome(by_name[run.name], run), slots[run.name])

    started = time.perf_counter()
    try:
        runs = run_targets(targets, jobs=jobs, settings=settings, done=done)
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - started
    score = Score.of(targets, runs)
    print(render(score, jobs=jobs, seconds=seconds))
    if args.report_dir:
        written = write(score, args.report_dir, [c.id for c in suite_cases()], jobs=jobs, seconds=seconds,
                        response_timeout=settings.response_timeout)
        print("reports: " + ", ".join(map(str, written)))
    return score.exit_code()
